/* test_notify.c — the service-manager seam (platforms/notify.h): on Linux
 * ck_notify sends exactly the given state as one datagram to the socket
 * named by NOTIFY_SOCKET (a path or an '@' abstract name) and reports 1;
 * without NOTIFY_SOCKET it reports 0; a malformed or dead socket gives -1
 * without blocking. Elsewhere every call is a no-op (0). */
#include "tests/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "platforms/notify.h"
#include "platforms/platform.h"

/* Binds a datagram socket at name (a path, or "@x" abstract); returns fd. */
static int bind_dgram(const char *name) {
  struct sockaddr_un sa;
  size_t len = strlen(name);
  socklen_t salen;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

  assert_true(fd >= 0);
  assert_true(len < sizeof sa.sun_path);
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, name, len);
  if (name[0] == '@')
    sa.sun_path[0] = '\0';
  salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
                      (name[0] == '@' ? 0 : 1));
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, salen), 0);
  return fd;
}

/* Receives one datagram (non-blocking: it was sent before) into buf. */
static ssize_t recv_one(int fd, char *buf, size_t len) {
  ssize_t n = recv(fd, buf, len - 1, MSG_DONTWAIT);

  if (n >= 0)
    buf[n] = '\0';
  return n;
}

static int is_linux(void) { return strcmp(ck_platform_name(), "linux") == 0; }

static void test_unset(void **state) {
  (void)state;
  unsetenv("NOTIFY_SOCKET");
  assert_int_equal(ck_notify("READY=1"), 0);
  setenv("NOTIFY_SOCKET", "", 1);
  assert_int_equal(ck_notify("READY=1"), 0);
  unsetenv("NOTIFY_SOCKET");
}

static void test_path_socket(void **state) {
  char *dir = ck_test_tmpdir(), path[512], buf[256];
  int fd;

  (void)state;
  snprintf(path, sizeof path, "%s/notify", dir);
  fd = bind_dgram(path);
  setenv("NOTIFY_SOCKET", path, 1);
  if (is_linux()) {
    assert_int_equal(ck_notify("READY=1"), 1);
    assert_int_equal(recv_one(fd, buf, sizeof buf), 7);
    assert_string_equal(buf, "READY=1");
    assert_int_equal(ck_notify("RELOADING=1\nSTATUS=reloading"), 1);
    assert_true(recv_one(fd, buf, sizeof buf) > 0);
    assert_string_equal(buf, "RELOADING=1\nSTATUS=reloading");
  } else {
    assert_int_equal(ck_notify("READY=1"), 0);
  }
  close(fd);
  /* the manager went away: an error, not a hang */
  if (is_linux())
    assert_int_equal(ck_notify("STOPPING=1"), -1);
  unsetenv("NOTIFY_SOCKET");
  ck_test_rmtree(dir);
  free(dir);
}

static void test_abstract_socket(void **state) {
  char name[64], buf[64];
  int fd;

  (void)state;
  if (!is_linux())
    skip();
  snprintf(name, sizeof name, "@ck-test-notify-%ld", (long)getpid());
  fd = bind_dgram(name);
  setenv("NOTIFY_SOCKET", name, 1);
  assert_int_equal(ck_notify("STOPPING=1"), 1);
  assert_int_equal(recv_one(fd, buf, sizeof buf), 10);
  assert_string_equal(buf, "STOPPING=1");
  close(fd);
  unsetenv("NOTIFY_SOCKET");
}

static void test_malformed(void **state) {
  char longname[200];

  (void)state;
  if (!is_linux())
    skip();
  setenv("NOTIFY_SOCKET", "relative/path", 1);
  assert_int_equal(ck_notify("READY=1"), -1);
  memset(longname, 'a', sizeof longname - 1);
  longname[0] = '/';
  longname[sizeof longname - 1] = '\0';
  setenv("NOTIFY_SOCKET", longname, 1);
  assert_int_equal(ck_notify("READY=1"), -1);
  setenv("NOTIFY_SOCKET", "/nonexistent-dir/notify", 1);
  assert_int_equal(ck_notify("READY=1"), -1);
  unsetenv("NOTIFY_SOCKET");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unset),
      cmocka_unit_test(test_path_socket),
      cmocka_unit_test(test_abstract_socket),
      cmocka_unit_test(test_malformed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
