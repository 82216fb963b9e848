/* test_enroll.c — `certkeeper-agent enroll` failure paths that need no
 * coordinator (the real exchange is tested by
 * tests/integration/test_agent_enroll.sh): argument checks, refusal over an
 * existing enrollment before any network use, connection refused, and the
 * bounded timeout against a listener that never answers. Nothing is written
 * to the state directory on any failure, and the token is never in the
 * message. */
#include "tests/testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/link/enroll.h"
#include "agent/link/state.h"
#include "common/util/clock.h"
#include "common/util/fs.h"

#define FP "AB:CD:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD"
#define TOKEN "cke_secret-token-value-1234"

/* A listening socket on 127.0.0.1:0 that never accepts; returns the fd. */
static int silent_listener(int *port) {
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  assert_true(fd >= 0);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(listen(fd, 8), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
  *port = ntohs(sa.sin_port);
  return fd;
}

static void opts(ck_enroll_opts *o, const char *server, const char *dir) {
  memset(o, 0, sizeof *o);
  o->server = server;
  o->token = TOKEN;
  o->ca_fingerprint = FP;
  o->state_dir = dir;
  o->timeout_ms = 400;
}

static void test_bad_args(void **state) {
  char *tmp = ck_test_tmpdir();
  ck_enroll_opts o;
  ck_errctx err = CK_ERRCTX_INIT;
  (void)state;

  opts(&o, "127.0.0.1:1", tmp);
  o.ca_fingerprint = "not-a-fingerprint";
  assert_int_equal(ck_enroll_run(&o, NULL, 0, &err), CK_ERR_INVAL);
  assert_non_null(strstr(ck_errctx_msg(&err), "--ca-fingerprint"));
  opts(&o, "127.0.0.1:1", tmp);
  o.token = "";
  assert_int_equal(ck_enroll_run(&o, NULL, 0, NULL), CK_ERR_INVAL);
  opts(&o, "127.0.0.1:1", tmp);
  o.key_spec = "dsa-512";
  assert_int_equal(ck_enroll_run(&o, NULL, 0, NULL), CK_ERR_PARSE);
  assert_int_equal(ck_state_enrolled(tmp), 0);
  ck_test_rmtree(tmp);
  free(tmp);
}

static void test_refuses_existing(void **state) {
  char *tmp = ck_test_tmpdir();
  char p[4096];
  ck_enroll_opts o;
  ck_errctx err = CK_ERRCTX_INIT;
  (void)state;

  snprintf(p, sizeof p, "%s/%s", tmp, CK_STATE_CONF_FILE);
  assert_int_equal(ck_fs_write_atomic(p, "x", 1, 0644, NULL), CK_OK);
  opts(&o, "127.0.0.1:1", tmp); /* never contacted */
  assert_int_equal(ck_enroll_run(&o, NULL, 0, &err), CK_ERR_EXIST);
  assert_non_null(strstr(ck_errctx_msg(&err), "--force"));
  ck_test_rmtree(tmp);
  free(tmp);
}

static void test_connection_refused(void **state) {
  char *tmp = ck_test_tmpdir();
  char server[64];
  ck_enroll_opts o;
  ck_errctx err = CK_ERRCTX_INIT;
  int port, fd = silent_listener(&port);
  (void)state;

  close(fd); /* now nobody listens there */
  snprintf(server, sizeof server, "127.0.0.1:%d", port);
  opts(&o, server, tmp);
  assert_int_not_equal(ck_enroll_run(&o, NULL, 0, &err), CK_OK);
  assert_non_null(strstr(ck_errctx_msg(&err), "cannot connect"));
  assert_null(strstr(ck_errctx_msg(&err), TOKEN));
  assert_int_equal(ck_state_enrolled(tmp), 0);
  ck_test_rmtree(tmp);
  free(tmp);
}

static void test_timeout(void **state) {
  char *tmp = ck_test_tmpdir();
  char server[64];
  ck_enroll_opts o;
  ck_errctx err = CK_ERRCTX_INIT;
  int port, fd = silent_listener(&port);
  uint64_t t0, dt;
  (void)state;

  snprintf(server, sizeof server, "127.0.0.1:%d", port);
  opts(&o, server, tmp);
  t0 = ck_clock_mono_ms();
  assert_int_equal(ck_enroll_run(&o, NULL, 0, &err), CK_ERR_TIMEOUT);
  dt = ck_clock_mono_ms() - t0;
  assert_true(dt >= 300 && dt < 10000); /* + the TLS layer's close linger */
  assert_non_null(strstr(ck_errctx_msg(&err), "timed out"));
  assert_null(strstr(ck_errctx_msg(&err), TOKEN));
  assert_int_equal(ck_state_enrolled(tmp), 0);
  close(fd);
  ck_test_rmtree(tmp);
  free(tmp);
}

static void test_main_usage(void **state) {
  char *argv1[] = {"--server", "127.0.0.1:1", NULL};
  char *argv2[] = {"--bogus", NULL};
  char *argv3[] = {"--token", NULL};
  (void)state;

  assert_int_equal(ck_enroll_main(2, argv1), 2);
  assert_int_equal(ck_enroll_main(1, argv2), 2);
  assert_int_equal(ck_enroll_main(1, argv3), 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_args),
      cmocka_unit_test(test_refuses_existing),
      cmocka_unit_test(test_connection_refused),
      cmocka_unit_test(test_timeout),
      cmocka_unit_test(test_main_usage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
