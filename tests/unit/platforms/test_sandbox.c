/* test_sandbox.c — the net process's sandbox, each case in a forked child
 * (the filter and the user switch cannot be undone). After
 * ck_sandbox_enter_net the child must still write and rename files in a
 * temporary directory, connect to a 127.0.0.1 listener (plain socket and
 * through libuv, with its thread pool started after the filter), and exit
 * normally (under ASan the leak checker runs then), and resolve
 * "localhost" like the TLS client would; execve, fork,
 * socket(AF_NETLINK), bind, setuid and unknown ioctls must fail with EPERM.
 * The user switch is checked as root (to nobody) and as non-root. */
#include "tests/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pwd.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <netinet/in.h>
#include <unistd.h>

#include "platforms/platform.h"
#include "platforms/sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZER 1
#endif
#endif

/* Runs fn in a child; returns its exit status (a failed check's number). */
static int in_child(int (*fn)(void *), void *arg) {
  pid_t pid;
  int st = 0;

  fflush(NULL);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    exit(fn(arg)); /* normal exit: atexit handlers (LSan) run sandboxed */
  assert_int_equal(waitpid(pid, &st, 0), pid);
  if (!WIFEXITED(st)) {
    print_error("child died with signal %d\n", WTERMSIG(st));
    return 255;
  }
  return WEXITSTATUS(st);
}

typedef struct net_case {
  char dir[512];
  unsigned short port; /* a listening socket on 127.0.0.1 */
} net_case;

#define CHECK(n, cond)                                                         \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "sandboxed check %d failed: %s (errno %d %s)\n", n,      \
              #cond, errno, strerror(errno));                                  \
      return n;                                                                \
    }                                                                          \
  } while (0)

static volatile int g_work_done, g_connected;

static void on_work(uv_work_t *req) {
  g_work_done = 1;
}
static void on_after_work(uv_work_t *req, int status) {}
static void on_connect(uv_connect_t *req, int status) {
  g_connected = status == 0 ? 1 : -1;
  uv_close((uv_handle_t *)req->handle, NULL);
}

static int sandboxed(void *arg) {
  const net_case *c = arg;
  ck_errctx err = CK_ERRCTX_INIT;
  char p[600], q[600];
  struct sockaddr_in sin;
  int fd, s;
  char *argv[] = {"/bin/false", NULL}; /* if it ran: exit status 1 */
  uv_loop_t loop;
  uv_work_t work;
  uv_tcp_t tcp;
  uv_connect_t creq;
  uv_getaddrinfo_t gai;
  struct addrinfo hints;

  if (ck_sandbox_enter_net(&err) != CK_OK) {
    fprintf(stderr, "enter_net: %s\n", err.msg);
    return 1;
  }
  /* (a) files: create, write, fsync, rename, mkdir, unlink */
  snprintf(p, sizeof p, "%s/outbox.tmp", c->dir);
  snprintf(q, sizeof q, "%s/outbox.0001", c->dir);
  fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  CHECK(2, fd >= 0);
  CHECK(3, write(fd, "event\n", 6) == 6);
  CHECK(4, fsync(fd) == 0 && close(fd) == 0);
  CHECK(5, rename(p, q) == 0);
  snprintf(p, sizeof p, "%s/sub", c->dir);
  CHECK(6, mkdir(p, 0700) == 0);
  /* (a) a TCP client connection to 127.0.0.1 */
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons(c->port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(7, s >= 0);
  CHECK(8, connect(s, (struct sockaddr *)&sin, sizeof sin) == 0);
  CHECK(9, ioctl(s, FIONBIO, &(int){1}) == 0);
  close(s);
  /* (b) no new programs, no new processes */
  errno = 0;
  CHECK(10, execve(argv[0], argv, NULL) == -1 && errno == EPERM);
#ifndef SANITIZER
  errno = 0;
  CHECK(11, fork() == -1 && errno == EPERM);
#endif
  /* (c) other socket families, servers, identity changes, other ioctls */
  errno = 0;
  CHECK(12, socket(AF_NETLINK, SOCK_RAW, 0) == -1 && errno == EPERM);
  errno = 0;
  CHECK(13, socket(AF_PACKET, SOCK_RAW, 0) == -1 && errno == EPERM);
  s = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(14, s >= 0);
  errno = 0;
  sin.sin_port = 0;
  CHECK(15,
        bind(s, (struct sockaddr *)&sin, sizeof sin) == -1 && errno == EPERM);
  close(s);
  errno = 0;
  CHECK(16, setuid(65534) == -1 && errno == EPERM); /* we are root here */
  errno = 0;
  CHECK(17, ioctl(0, TIOCSTI, "x") == -1 && errno == EPERM);
  /* libuv: a loop, the thread pool started now (clone3 -> clone), a TCP
   * connection through epoll */
  CHECK(18, uv_loop_init(&loop) == 0);
  CHECK(19, uv_queue_work(&loop, &work, on_work, on_after_work) == 0);
  CHECK(20, uv_tcp_init(&loop, &tcp) == 0);
  sin.sin_port = htons(c->port);
  CHECK(21,
        uv_tcp_connect(&creq, &tcp, (struct sockaddr *)&sin, on_connect) == 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(22, g_work_done == 1 && g_connected == 1);
  /* name resolution as the TLS client does it (files, no DNS needed) */
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  CHECK(23, uv_getaddrinfo(&loop, &gai, NULL, "localhost", "443", &hints) == 0);
  uv_freeaddrinfo(gai.addrinfo);
  CHECK(24, uv_loop_close(&loop) == 0);
  return 0;
}

static void sandbox_net_allows_client_denies_rest(void **state) {
  net_case c;
  char *dir = ck_test_tmpdir();
  struct sockaddr_in sin;
  socklen_t len = sizeof sin;
  int lfd, rc;
  char p[600];

  (void)state;
  snprintf(c.dir, sizeof c.dir, "%s", dir);
  lfd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(lfd >= 0);
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof sin), 0);
  assert_int_equal(listen(lfd, 8), 0);
  assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
  c.port = ntohs(sin.sin_port);
  rc = in_child(sandboxed, &c);
  assert_int_equal(rc, 0);
  snprintf(p, sizeof p, "%s/outbox.0001", dir);
  assert_int_equal(access(p, F_OK), 0); /* the child really wrote it */
  close(lfd);
  ck_test_rmtree(dir);
  free(dir);
}

static int drop_to_nobody(void *arg) {
  ck_errctx err = CK_ERRCTX_INIT;
  struct passwd *pw = getpwnam("nobody");

  if (pw == NULL)
    return 2;
  if (ck_sandbox_drop_user("nobody", &err) != CK_OK) {
    fprintf(stderr, "drop: %s\n", err.msg);
    return 3;
  }
  if (getuid() != pw->pw_uid || geteuid() != pw->pw_uid ||
      getgid() != pw->pw_gid || getegid() != pw->pw_gid)
    return 4;
  if (setuid(0) == 0 || seteuid(0) == 0)
    return 5;
  if (getgroups(0, NULL) > 1)
    return 6; /* supplementary groups dropped */
  /* now not root: the same user or NULL is fine, another is refused */
  if (ck_sandbox_drop_user("nobody", &err) != CK_OK ||
      ck_sandbox_drop_user(NULL, &err) != CK_OK)
    return 7;
  if (ck_sandbox_drop_user("root", &err) != CK_ERR_PERM ||
      strstr(err.msg, "not running as root") == NULL)
    return 8;
  return 0;
}

static void sandbox_drop_user(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  assert_int_equal(ck_sandbox_drop_user("no-such-user-ck", &err), CK_ERR_NOENT);
  assert_non_null(strstr(err.msg, "no-such-user-ck"));
  assert_int_equal(ck_sandbox_drop_user(NULL, &err), CK_OK);
  if (geteuid() != 0 || getpwnam("nobody") == NULL) {
    ck_errctx_clear(&err);
    if (getpwnam("root") != NULL && geteuid() != 0)
      assert_int_equal(ck_sandbox_drop_user("root", &err), CK_ERR_PERM);
    skip();
  }
  assert_int_equal(in_child(drop_to_nobody, NULL), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sandbox_net_allows_client_denies_rest),
      cmocka_unit_test(sandbox_drop_user),
  };
  if (strcmp(ck_platform_name(), "linux") != 0)
    return 0; /* test_posix checks CK_ERR_UNSUPPORTED */
  return cmocka_run_group_tests(tests, NULL, NULL);
}
