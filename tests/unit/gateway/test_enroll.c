/* test_enroll.c — agent enrollment over the gateway, and what an
 * unauthenticated session may and may not do.
 *
 * A real coordinator data directory (ck_coord_init), the gateway on
 * 127.0.0.1:0, and a test agent pinning the root CA: enrollment with a
 * token gives an identity certificate that verifies against the CA and is
 * recorded in one write (token used, agent, certificate, audit event); a
 * used, expired or unknown token, a malformed CSR or one whose signature
 * does not verify are refused with a specific error and nothing written;
 * frames: unknown type (error, session goes on), wrong direction, too big
 * (error, then closed); anything but hello/enroll without a client
 * certificate closes the session. */
#include "tests/unit/gateway/gw_fixture.h"

static char sec_log[16384]; /* security-stream lines since the last reset */

static void on_log(ck_log_stream st, ck_log_level lvl, const char *line,
                   void *arg) {
  size_t n = strlen(sec_log);

  (void)lvl;
  (void)arg;
  if (st == CK_LOG_SEC && n + strlen(line) + 2 < sizeof sec_log)
    snprintf(sec_log + n, sizeof sec_log - n, "%s\n", line);
}

static int setup(void **state) {
  ck_gateway_opts o;

  (void)state;
  memset(&o, 0, sizeof o);
  o.limits.max_frame = 65536;
  gw_fx_start(&fx, &o);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  gw_fx_stop(&fx);
  return 0;
}

static void token_state(const char *hash, int64_t *used_at, char *used_by,
                        size_t len) {
  ck_arena *a = ck_arena_new(1024);
  ck_store_etoken t;

  assert_int_equal(ck_store_etoken_get(fx.rt.store, hash, a, &t, NULL), CK_OK);
  *used_at = t.used_at;
  ck_strlcpy(used_by, t.used_by, len);
  ck_arena_free(a);
}

static void test_enroll_ok(void **state) {
  ck_secret sec;
  ck_key *key = gw_key("ec-p256");
  uint8_t *csr = NULL;
  size_t csr_len = 0, i;
  gwc c;
  ck_wire_msg m;
  ck_arena *a = NULL, *sa = ck_arena_new(4096);
  ck_cert *leaf = NULL;
  ck_cert_list chain = {0}, trusted = {0};
  const ck_cert_info *ci;
  ck_store_agent ag;
  ck_store_cert sc;
  ck_audit_event ev;
  char urn[128], used_by[64];
  int64_t used_at, now = ck_clock_now();
  const char *dns[] = {"not-honoured.test", NULL};
  uint64_t id;
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  gw_fx_token(&fx, "web", "tls-server", ".web.test", 3600, &sec);
  gw_csr(key, "whatever-the-agent-says", dns, &csr, &csr_len);
  assert_int_equal(gwc_open(&fx, &c, NULL), CK_OK);

  /* hello before enrolling: welcome without an agent id */
  id = gwc_hello(&c, NULL);
  gwc_expect(&c, CK_WIRE_WELCOME, id, &m, &a);
  assert_null(m.u.welcome.agent_id);
  assert_int_equal(strlen(m.u.welcome.session), 16);
  assert_true(m.u.welcome.has_max_frame);
  assert_int_equal(m.u.welcome.max_frame, 65536);
  assert_true(m.u.welcome.server_time >= now - 5);
  ck_arena_free(a);

  id = gwc_enroll(&c, sec.token, csr, csr_len, "web-01");
  gwc_expect(&c, CK_WIRE_CERT, id, &m, &a);
  assert_non_null(m.u.cert.agent_id);
  assert_int_equal(strlen(m.u.cert.agent_id), 16);
  assert_int_equal(strspn(m.u.cert.agent_id, "0123456789abcdef"), 16);
  assert_true(m.u.cert.chain.n >= 1);

  /* the identity verifies against the root with the chain sent */
  assert_int_equal(ck_cert_parse(m.u.cert.cert.data, m.u.cert.cert.len, &leaf,
                                 NULL),
                   CK_OK);
  for (i = 0; i < m.u.cert.chain.n; i++)
    assert_int_equal(ck_cert_list_parse(&chain, m.u.cert.chain.v[i].data,
                                        m.u.cert.chain.v[i].len, NULL),
                     CK_OK);
  assert_int_equal(ck_cert_list_add(&trusted, ck_cert_dup(fx.root)), CK_OK);
  if (ck_cert_verify(leaf, &chain, &trusted, 0, &err) != CK_OK)
    fail_msg("identity does not verify: %s", ck_errctx_msg(&err));
  ci = ck_cert_get_info(leaf);
  assert_string_equal(ci->subject_cn, m.u.cert.agent_id);
  assert_int_equal(ci->n_sans, 1);
  assert_int_equal(ci->sans[0].type, CK_SAN_URI);
  snprintf(urn, sizeof urn, "urn:certkeeper:agent:%s", m.u.cert.agent_id);
  assert_string_equal(ci->sans[0].value, urn);
  assert_int_equal(ci->n_eku, 1);
  assert_string_equal(ci->eku[0], "clientAuth");
  assert_false(ci->is_ca);
  assert_true(ci->not_after >= now + 89 * 86400);
  assert_true(ci->not_after <= now + 91 * 86400);

  /* one write: token used, agent, certificate, audit */
  token_state(sec.hash_hex, &used_at, used_by, sizeof used_by);
  assert_true(used_at > 0);
  assert_string_equal(used_by, m.u.cert.agent_id);
  assert_int_equal(ck_store_agent_get(fx.rt.store, m.u.cert.agent_id, sa, &ag,
                                      NULL),
                   CK_OK);
  assert_string_equal(ag.group, "web");
  assert_string_equal(ag.name, "web-01");
  assert_string_equal(ag.platform, "linux-x86_64");
  assert_string_equal(ag.identity_fp, ci->sha256_hex);
  assert_int_equal(ag.status, CK_AGENT_ACTIVE);
  assert_int_equal(ck_store_cert_get(fx.rt.store, ci->sha256_hex, 0, sa, &sc,
                                     NULL),
                   CK_OK);
  assert_string_equal(sc.profile, "agent-identity");
  assert_int_equal(sc.source, CK_CERT_SRC_ISSUED);
  assert_true(sc.ca_id > 0);
  memset(&ev, 0, sizeof ev);
  assert_true(gw_fx_audit_find(&fx, "agent.enroll", sa, &ev));
  assert_string_equal(ev.object_id, m.u.cert.agent_id);
  assert_string_equal(ev.actor + strlen("etoken:"), sec.id);
  assert_non_null(strstr(ev.details, "\"group\":\"web\""));
  assert_null(strstr(ev.details, sec.token)); /* the secret is never stored */

  ck_arena_free(a);
  ck_arena_free(sa);
  ck_cert_free(leaf);
  ck_cert_list_clear(&chain);
  ck_cert_list_clear(&trusted);
  gwc_close(&c);
  ck_secret_wipe(&sec);
  free(csr);
  ck_key_free(key);
}

/* Enrolls once with a fresh token, then presents it (or junk) again. */
static void refused_token(const char *token, int64_t ttl, int use_first,
                          const char *needle) {
  ck_secret sec;
  ck_key *key = gw_key("ec-p256");
  uint8_t *csr = NULL;
  size_t csr_len = 0;
  gwc c;
  ck_wire_msg m;
  ck_arena *a = NULL;
  int64_t seq, used_at;
  char used_by[64];
  uint64_t id;

  gw_fx_token(&fx, "web", "tls-server", "", ttl, &sec);
  gw_csr(key, "x", NULL, &csr, &csr_len);
  if (use_first) {
    assert_int_equal(gwc_open(&fx, &c, NULL), CK_OK);
    id = gwc_enroll(&c, sec.token, csr, csr_len, "first");
    gwc_expect(&c, CK_WIRE_CERT, id, &m, &a);
    ck_arena_free(a);
    gwc_close(&c);
  }
  seq = gw_fx_audit_seq(&fx);
  sec_log[0] = '\0';
  assert_int_equal(gwc_open(&fx, &c, NULL), CK_OK);
  id = gwc_enroll(&c, token != NULL ? token : sec.token, csr, csr_len, "second");
  gwc_expect_error(&c, CK_ERR_AUTH, id, needle, 1);
  gwc_expect_end(&c);
  gwc_close(&c);
  /* the security log has the refusal, never the token */
  assert_non_null(strstr(sec_log, "gateway.enroll.refused"));
  assert_null(strstr(sec_log, token != NULL ? token : sec.token));
  /* nothing written */
  assert_int_equal(gw_fx_audit_seq(&fx), seq);
  token_state(sec.hash_hex, &used_at, used_by, sizeof used_by);
  assert_int_equal(used_at != 0, use_first);
  ck_secret_wipe(&sec);
  free(csr);
  ck_key_free(key);
}

static void test_token_reused(void **state) {
  (void)state;
  refused_token(NULL, 3600, 1, "already used");
}

static void test_token_expired(void **state) {
  (void)state;
  refused_token(NULL, -60, 0, "expired");
}

static void test_token_unknown(void **state) {
  (void)state;
  refused_token("cke_0000000000000000000000000000000000000000000000000000000"
                "000000000",
                3600, 0, "unknown enrollment token");
}

/* A CSR problem is answered, the session goes on, the token stays unused. */
static void bad_csr(const uint8_t *csr, size_t len, const char *needle) {
  ck_secret sec;
  gwc c;
  ck_wire_msg m;
  ck_arena *a = NULL;
  int64_t seq = gw_fx_audit_seq(&fx), used_at;
  char used_by[64];
  uint64_t id;

  gw_fx_token(&fx, "web", "tls-server", "", 3600, &sec);
  assert_int_equal(gwc_open(&fx, &c, NULL), CK_OK);
  id = gwc_enroll(&c, sec.token, csr, len, "web-02");
  gwc_expect_error(&c, CK_ERR_BAD_CSR, id, needle, 0);
  id = gwc_hello(&c, NULL);
  gwc_expect(&c, CK_WIRE_WELCOME, id, &m, &a);
  ck_arena_free(a);
  gwc_close(&c);
  assert_int_equal(gw_fx_audit_seq(&fx), seq);
  token_state(sec.hash_hex, &used_at, used_by, sizeof used_by);
  assert_int_equal(used_at, 0);
  ck_secret_wipe(&sec);
}

static void test_csr_malformed(void **state) {
  static const uint8_t junk[] = "-----BEGIN CERTIFICATE REQUEST-----\nnope\n";

  (void)state;
  bad_csr(junk, sizeof junk - 1, "enroll.csr");
}

static void test_csr_bad_signature(void **state) {
  ck_key *key = gw_key("ec-p256");
  uint8_t *csr = NULL;
  size_t len = 0;

  (void)state;
  gw_csr(key, "x", NULL, &csr, &len);
  csr[len - 1] ^= 0x01; /* last byte of the signature's s value */
  bad_csr(csr, len, "signature");
  free(csr);
  ck_key_free(key);
}

static void test_host_facts(void **state) {
  ck_secret sec;
  ck_key *key = gw_key("ec-p256");
  uint8_t *csr = NULL;
  size_t len = 0;
  gwc c;
  uint64_t id;

  (void)state;
  gw_fx_token(&fx, "web", "tls-server", "", 3600, &sec);
  gw_csr(key, "x", NULL, &csr, &len);
  assert_int_equal(gwc_open(&fx, &c, NULL), CK_OK);
  id = gwc_enroll(&c, sec.token, csr, len, "bad\x01host");
  gwc_expect_error(&c, CK_ERR_INVAL, id, "enroll.host", 0);
  gwc_close(&c);
  ck_secret_wipe(&sec);
  free(csr);
  ck_key_free(key);
}

static void test_enroll_first(void **state) {
  gwc c;
  ck_wire_msg m;

  (void)state;
  assert_int_equal(gwc_open(&fx, &c, NULL), CK_OK);
  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_INVENTORY;
  m.u.inventory.mode = CK_WIRE_INV_FULL;
  m.u.inventory.seq = 1;
  gwc_send(&c, &m);
  gwc_expect_error(&c, CK_ERR_AUTH, m.id, "enroll first", 1);
  gwc_expect_end(&c);
  gwc_close(&c);
}

static void test_unknown_type_continues(void **state) {
  /* {"v":1,"t":"helo","id":7} */
  static const uint8_t frame[] = {0, 0, 0, 15, 0x83, 0xa1, 'v', 0x01,
                                  0xa1, 't', 0xa4, 'h', 'e', 'l', 'o',
                                  0xa2, 'i', 'd', 0x07};
  gwc c;
  ck_wire_msg m;
  ck_arena *a = NULL;
  uint64_t id;

  (void)state;
  assert_int_equal(gwc_open(&fx, &c, NULL), CK_OK);
  gwc_send_raw(&c, frame, sizeof frame);
  gwc_expect_error(&c, CK_ERR_WIRE_UNKNOWN_TYPE, 7, "helo", 0);
  /* a message the coordinator never receives: error, session goes on */
  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_PING;
  m.u.ping.time = 1;
  gwc_send(&c, &m);
  gwc_expect_error(&c, CK_ERR_WIRE_UNKNOWN_TYPE, m.id, "ping", 0);
  id = gwc_hello(&c, NULL);
  gwc_expect(&c, CK_WIRE_WELCOME, id, &m, &a);
  ck_arena_free(a);
  gwc_close(&c);
}

static void test_frame_too_big(void **state) {
  /* a length prefix of 65537 with a 65536-byte limit */
  static const uint8_t head[] = {0x00, 0x01, 0x00, 0x01, 0x83, 0xa1, 'v'};
  gwc c;

  (void)state;
  assert_int_equal(gwc_open(&fx, &c, NULL), CK_OK);
  gwc_send_raw(&c, head, sizeof head);
  gwc_expect_error(&c, CK_ERR_WIRE_TOO_BIG, 0, NULL, 1);
  gwc_expect_end(&c);
  gwc_close(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_enroll_ok),
      cmocka_unit_test(test_token_reused),
      cmocka_unit_test(test_token_expired),
      cmocka_unit_test(test_token_unknown),
      cmocka_unit_test(test_csr_malformed),
      cmocka_unit_test(test_csr_bad_signature),
      cmocka_unit_test(test_host_facts),
      cmocka_unit_test(test_enroll_first),
      cmocka_unit_test(test_unknown_type_continues),
      cmocka_unit_test(test_frame_too_big),
  };

  ck_log_configure(CK_LOG_OPS, "none", CK_LOG_FMT_KV, CK_LOG_DEBUG, NULL);
  ck_log_configure(CK_LOG_SEC, "none", CK_LOG_FMT_KV, CK_LOG_DEBUG, NULL);
  ck_log_set_hook(on_log, NULL);
  return cmocka_run_group_tests(tests, setup, teardown);
}
