/* test_listening.c — the /proc/net/tcp{,6} parser on sample texts (LISTEN
 * rows, other states, duplicates, malformed lines, the entry limit) and a
 * live check that a listener opened here is listed. Sample addresses are
 * encoded like the kernel does (each 32-bit word of the network-order bytes
 * printed as a host integer), so the test holds on any byte order. */
#include "tests/testutil.h"

#include <arpa/inet.h>
#include <string.h>

#include "platforms/listening.h"
#include "platforms/platform.h"

/* The kernel's hex for an address of nbytes (4 or 16) network-order bytes. */
static void kernel_hex(const unsigned char *b, size_t nbytes, char *out) {
  for (size_t i = 0; i < nbytes; i += 4) {
    uint32_t w;
    memcpy(&w, b + i, 4);
    snprintf(out + 2 * i, 9, "%08X", (unsigned)w);
  }
}

/* Appends one row "sl: ADDR:PORT 00..:0000 ST rest" to buf. */
static void row(char *buf, size_t size, int v6, const char *ip, unsigned port,
                const char *st) {
  unsigned char b[16];
  char hex[33];
  size_t len = strlen(buf);

  assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, ip, b), 1);
  kernel_hex(b, v6 ? 16 : 4, hex);
  snprintf(buf + len, size - len,
           "%4d: %s:%04X %s:0000 %s 00000000:00000000 00:00000000 00000000"
           "     0        0 12345 1 0000000000000000 100 0 0 10 0\n",
           3, hex, port, v6 ? "00000000000000000000000000000000" : "00000000",
           st);
}

static int has(const ck_listen_addr *a, size_t n, const char *addr,
               unsigned port) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(a[i].addr, addr) == 0)
      return a[i].port == port;
  return 0;
}

static const char k_header[] =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
    "retrnsmt   uid  timeout inode\n";

static void parse_v4_rows(void **state) {
  char text[4096];
  ck_listen_addr *a = NULL;
  size_t n = 0;
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  snprintf(text, sizeof text, "%s", k_header);
  row(text, sizeof text, 0, "127.0.0.1", 443, "0A");
  row(text, sizeof text, 0, "0.0.0.0", 22, "0a");     /* lower case hex */
  row(text, sizeof text, 0, "127.0.0.1", 443, "0A");  /* SO_REUSEPORT twin */
  row(text, sizeof text, 0, "10.1.2.3", 50000, "01"); /* ESTABLISHED */
  row(text, sizeof text, 0, "192.0.2.7", 65535, "0A");
  assert_int_equal(ck_listening_parse(text, strlen(text), 0, &a, &n, &err),
                   CK_OK);
  assert_int_equal(n, 3);
  assert_true(has(a, n, "127.0.0.1:443", 443));
  assert_true(has(a, n, "0.0.0.0:22", 22));
  assert_true(has(a, n, "192.0.2.7:65535", 65535));
  assert_false(has(a, n, "10.1.2.3:50000", 50000));
  free(a);
}

static void parse_v6_rows_append(void **state) {
  char v4[1024] = "", v6[2048];
  ck_listen_addr *a = NULL;
  size_t n = 0;
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  row(v4, sizeof v4, 0, "127.0.0.1", 8443, "0A");
  snprintf(v6, sizeof v6, "%s", k_header);
  row(v6, sizeof v6, 1, "::1", 443, "0A");
  row(v6, sizeof v6, 1, "::", 22, "0A");
  row(v6, sizeof v6, 1, "::ffff:127.0.0.1", 8443, "0A");
  row(v6, sizeof v6, 1, "2001:db8::1", 80, "06"); /* TIME_WAIT */
  assert_int_equal(ck_listening_parse(v4, strlen(v4), 0, &a, &n, &err), CK_OK);
  assert_int_equal(ck_listening_parse(v6, strlen(v6), 1, &a, &n, &err), CK_OK);
  assert_int_equal(n, 4);
  assert_true(has(a, n, "127.0.0.1:8443", 8443));
  assert_true(has(a, n, "[::1]:443", 443));
  assert_true(has(a, n, "[::]:22", 22));
  assert_true(has(a, n, "[::ffff:127.0.0.1]:8443", 8443));
  /* the same text again adds nothing */
  assert_int_equal(ck_listening_parse(v6, strlen(v6), 1, &a, &n, &err), CK_OK);
  assert_int_equal(n, 4);
  free(a);
}

static void parse_malformed_lines(void **state) {
  static const char *const bad[] = {
      "",
      "\n\n\n",
      "garbage\n",
      "   0: 0100007G:01BB 00000000:0000 0A x\n",  /* bad hex */
      "   0: 0100007F:1BB 00000000:0000 0A x\n",   /* short port */
      "   0: 0100007F01BB 00000000:0000 0A x\n",   /* no colon */
      "   0: 0100007F:01BB 00000000:0000\n",       /* no state */
      "   0: 0100007F:01BB 00000000:0000 0A0 x\n", /* long state */
      "   0: 0100007F:01BB 00000000:0000 ZZ x\n",  /* bad state */
      "   x: 0100007F:01BB 00000000:0000 0A x\n",  /* bad sl */
      "   0 0100007F:01BB 00000000:0000 0A x\n",   /* sl without colon */
      ":\n",
      "   0: 0100007F:01BB",                                /* truncated */
      "   0: 000000000000000000000000010000:01BB 0:0 0A\n", /* v4 text, v6 */
  };
  ck_listen_addr *a = NULL;
  size_t n = 0;
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(
        ck_listening_parse(bad[i], strlen(bad[i]), 0, &a, &n, &err), CK_OK);
    assert_int_equal(
        ck_listening_parse(bad[i], strlen(bad[i]), 1, &a, &n, &err), CK_OK);
  }
  assert_int_equal(n, 0);
  assert_null(a);
  /* not NUL-terminated: only len bytes are read */
  {
    char buf[256];
    size_t len;
    buf[0] = '\0';
    row(buf, sizeof buf, 0, "127.0.0.1", 443, "0A");
    len = strlen(buf);
    memset(buf + len, 'A', sizeof buf - len); /* no terminator after */
    assert_int_equal(ck_listening_parse(buf, len, 0, &a, &n, &err), CK_OK);
    assert_int_equal(n, 1);
    /* an IPv4 row in a v6 text is malformed there */
    assert_int_equal(ck_listening_parse(buf, len, 1, &a, &n, &err), CK_OK);
    assert_int_equal(n, 1);
  }
  free(a);
}

static void parse_limit(void **state) {
  size_t size = (CK_LISTENING_MAX + 2) * 160, n = 0;
  char *text = calloc(1, size);
  ck_listen_addr *a = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  char ip[32];

  (void)state;
  assert_non_null(text);
  for (unsigned i = 0; i < CK_LISTENING_MAX + 1; i++) {
    snprintf(ip, sizeof ip, "10.0.%u.%u", i / 256, i % 256);
    row(text, size, 0, ip, 443, "0A");
  }
  assert_int_equal(ck_listening_parse(text, strlen(text), 0, &a, &n, &err),
                   CK_ERR_LIMIT);
  assert_int_equal(n, CK_LISTENING_MAX);
  assert_non_null(strstr(err.msg, "listening sockets"));
  free(a);
  free(text);
}

static void live_listener_is_listed(void **state) {
  uv_loop_t loop;
  uv_tcp_t tcp;
  struct sockaddr_in sin;
  struct sockaddr_storage ss;
  int len = sizeof ss;
  char want[64];
  ck_listen_addr *a = NULL;
  size_t n = 0;
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  if (strcmp(ck_platform_name(), "linux") != 0)
    skip();
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(uv_tcp_init(&loop, &tcp), 0);
  assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &sin), 0);
  assert_int_equal(uv_tcp_bind(&tcp, (const struct sockaddr *)&sin, 0), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&tcp, 8, NULL), 0);
  assert_int_equal(uv_tcp_getsockname(&tcp, (struct sockaddr *)&ss, &len), 0);
  snprintf(want, sizeof want, "127.0.0.1:%u",
           (unsigned)ntohs(((struct sockaddr_in *)&ss)->sin_port));
  assert_int_equal(ck_platform_listening(&a, &n, &err), CK_OK);
  assert_true(has(a, n, want, ntohs(((struct sockaddr_in *)&ss)->sin_port)));
  free(a);
  uv_close((uv_handle_t *)&tcp, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parse_v4_rows),
      cmocka_unit_test(parse_v6_rows_append),
      cmocka_unit_test(parse_malformed_lines),
      cmocka_unit_test(parse_limit),
      cmocka_unit_test(live_listener_is_listed),
  };
  if (strcmp(ck_platform_name(), "linux") != 0)
    return 0; /* the /proc format is Linux's; test_posix covers the rest */
  return cmocka_run_group_tests(tests, NULL, NULL);
}
