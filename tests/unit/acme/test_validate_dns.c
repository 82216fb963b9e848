/* test_validate_dns.c — dns-01 validation against a tiny DNS responder on
 * 127.0.0.1 (UDP and TCP): the right TXT record (also for a wildcard
 * identifier), a wrong one, none, NXDOMAIN, SERVFAIL, a silent server
 * (timeout), a truncated UDP reply answered over TCP; plus the validator's
 * options: from the configuration file, the `run` overrides, bad values. */
#include "tests/unit/acme/acme_fixture.h"

#include "common/crypto/crypto.h"
#include "common/util/clock.h"
#include "coordinator/core/coord.h"

#define KA "tok_1.thumbprint-xyz"

typedef struct env {
  afx_dns dns;
  ck_acme_validator_opts o;
  ck_acme_validator *v;
  char want[64]; /* base64url(SHA-256(KA)) */
} env;

static void b64url(const uint8_t *in, size_t n, char *out) {
  static const char t[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0;

  for (size_t i = 0; i < n; i++) {
    acc = acc << 8 | in[i];
    bits += 8;
    while (bits >= 6) {
      out[o++] = t[(acc >> (bits - 6)) & 63];
      bits -= 6;
    }
  }
  if (bits > 0)
    out[o++] = t[(acc << (6 - bits)) & 63];
  out[o] = '\0';
}

static int setup(void **state) {
  env *e = calloc(1, sizeof *e);
  uint8_t d[32];

  assert_int_equal(ck_crypto_sha256(KA, strlen(KA), d), CK_OK);
  b64url(d, sizeof d, e->want);
  assert_int_equal(strlen(e->want), 43);
  afx_dns_add(&e->dns, "_acme-challenge.good.test", 16, "decoy-value");
  afx_dns_add(&e->dns, "_acme-challenge.good.test", 16, e->want);
  afx_dns_add(&e->dns, "_acme-challenge.wrong.test", 16, "not-the-digest");
  afx_dns_add(&e->dns, "_acme-challenge.empty.test", 1, "127.0.0.1");
  afx_dns_start(&e->dns);
  afx_opts(&e->o, e->dns.port, 1, 1);
  *state = e;
  return 0;
}

static int teardown(void **state) {
  env *e = *state;

  afx_dns_stop(&e->dns);
  ck_acme_validator_free(e->v);
  free(e);
  return 0;
}

static ck_err run(env *e, const char *name, ck_acme_validation *r) {
  ck_errctx err = CK_ERRCTX_INIT;

  if (e->v == NULL)
    assert_int_equal(ck_acme_validator_new(&e->o, &e->v, &err), CK_OK);
  return ck_acme_validate(e->v, CK_ACME_CHAL_DNS01, name, NULL, KA, r);
}

static void assert_problem(const ck_acme_validation *r, const char *type,
                           const char *in_detail) {
  char want[128];

  snprintf(want, sizeof want, "urn:ietf:params:acme:error:%s", type);
  if (strcmp(r->problem, want) != 0 || strstr(r->detail, in_detail) == NULL)
    fail_msg("want %s / '%s', got %s / '%s'", want, in_detail, r->problem,
             r->detail);
}

static void test_ok(void **state) {
  env *e = *state;
  ck_acme_validation r;

  assert_int_equal(run(e, "good.test", &r), CK_OK);
  assert_string_equal(r.problem, "");
  assert_int_equal(run(e, "*.good.test", &r), CK_OK);
  assert_int_equal(run(e, "GOOD.test.", &r), CK_OK);
}

static void test_wrong_and_missing(void **state) {
  env *e = *state;
  ck_acme_validation r;

  assert_int_equal(run(e, "wrong.test", &r), CK_ERR_DENIED);
  assert_problem(&r, "incorrectResponse", "not-the-digest");
  assert_true(strstr(r.detail, e->want) != NULL);
  assert_int_equal(run(e, "empty.test", &r), CK_ERR_NOENT);
  assert_problem(&r, "unauthorized", "No TXT record found at "
                                     "_acme-challenge.empty.test");
  assert_int_equal(run(e, "nowhere.test", &r), CK_ERR_NOENT);
  assert_problem(&r, "dns", "NXDOMAIN");
}

static void test_servfail(void **state) {
  env *e = *state;
  ck_acme_validation r;

  e->dns.mode = AFX_DNS_SERVFAIL;
  assert_int_equal(run(e, "good.test", &r), CK_ERR_NET);
  assert_problem(&r, "dns", "SERVFAIL");
}

static void test_silent(void **state) {
  env *e = *state;
  ck_acme_validation r;
  uint64_t t0 = ck_clock_mono_ms(), dt;

  e->dns.mode = AFX_DNS_SILENT;
  e->o.timeout_ms = 400;
  assert_int_equal(run(e, "good.test", &r), CK_ERR_TIMEOUT);
  dt = ck_clock_mono_ms() - t0;
  assert_problem(&r, "dns", "timeout");
  assert_true(dt >= 350 && dt < 3000);
}

static void test_truncated_over_tcp(void **state) {
  env *e = *state;
  ck_acme_validation r;

  e->dns.mode = AFX_DNS_TRUNCATE;
  assert_int_equal(run(e, "good.test", &r), CK_OK);
  afx_dns_stop(&e->dns);
  assert_true(e->dns.tcp_queries >= 1);
  e->dns.stop = 0;
  assert_int_equal(pthread_create(&e->dns.th, NULL, afx_dns_main, &e->dns), 0);
}

static void test_refused_resolver(void **state) {
  env *e = *state;
  ck_acme_validation r;

  /* nothing on that UDP port: ICMP port unreachable -> an error, quickly */
  snprintf(e->o.dns_resolver, sizeof e->o.dns_resolver, "127.0.0.1:%d",
           afx_dead_port());
  e->o.timeout_ms = 1000;
  assert_int_not_equal(run(e, "good.test", &r), CK_OK);
  assert_problem(&r, "dns", "_acme-challenge.good.test");
}

static void test_options(void **state) {
  ck_acme_validator_opts o;
  ck_acme_validator *v = NULL;
  ck_config *cfg = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  (void)state;

  assert_int_equal(ck_config_load_string("t.conf",
                                         "[acme]\n"
                                         "dns_resolver = 10.0.0.53:5353\n"
                                         "http01_port = 8080\n"
                                         "tlsalpn01_port = 8443\n"
                                         "validation_timeout = 20s\n"
                                         "validation_attempts = 5\n"
                                         "validation_retry_delay = 2s\n",
                                         ck_coord_cfg_keys, &cfg, &err),
                   CK_OK);
  ck_acme_validator_set_run_overrides(NULL, 0);
  assert_int_equal(ck_acme_validator_opts_from_config(cfg, &o, &err), CK_OK);
  assert_string_equal(o.dns_resolver, "10.0.0.53:5353");
  assert_int_equal(o.http01_port, 8080);
  assert_int_equal(o.tlsalpn01_port, 8443);
  assert_int_equal(o.timeout_ms, 20000);
  assert_int_equal(o.attempts, 5);
  assert_int_equal(o.retry_delay_ms, 2000);
  ck_acme_validator_set_run_overrides("127.0.0.1:9053", 5002);
  assert_int_equal(ck_acme_validator_opts_from_config(cfg, &o, &err), CK_OK);
  assert_string_equal(o.dns_resolver, "127.0.0.1:9053");
  assert_int_equal(o.http01_port, 5002);
  assert_int_equal(o.tlsalpn01_port, 8443);
  ck_acme_validator_set_run_overrides(NULL, 0);
  ck_config_free(cfg);

  /* defaults */
  assert_int_equal(ck_config_new_empty(ck_coord_cfg_keys, &cfg), CK_OK);
  assert_int_equal(ck_acme_validator_opts_from_config(cfg, &o, &err), CK_OK);
  assert_string_equal(o.dns_resolver, "");
  assert_int_equal(o.http01_port, 80);
  assert_int_equal(o.tlsalpn01_port, 443);
  assert_int_equal(o.timeout_ms, 10000);
  assert_int_equal(o.attempts, 3);
  ck_config_free(cfg);
  /* the system resolver works without configuration */
  assert_int_equal(ck_acme_validator_new(&o, &v, &err), CK_OK);
  ck_acme_validator_free(v);
  v = NULL;

  /* refused values */
  assert_int_not_equal(ck_config_load_string("t.conf",
                                             "[acme]\nhttp01_port = 0\n",
                                             ck_coord_cfg_keys, &cfg, &err),
                       CK_OK);
  snprintf(o.dns_resolver, sizeof o.dns_resolver, "not an address");
  assert_int_equal(ck_acme_validator_new(&o, &v, &err), CK_ERR_CONFIG);
  assert_null(v);
  ck_acme_validator_opts_defaults(&o);
  o.attempts = 0;
  assert_int_equal(ck_acme_validator_new(&o, &v, &err), CK_ERR_CONFIG);
  snprintf(o.dns_resolver, sizeof o.dns_resolver, "::1");
  o.attempts = 1;
  assert_int_equal(ck_acme_validator_new(&o, &v, &err), CK_OK); /* port 53 */
  ck_acme_validator_free(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_ok, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_and_missing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_servfail, setup, teardown),
      cmocka_unit_test_setup_teardown(test_silent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_truncated_over_tcp, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused_resolver, setup, teardown),
      cmocka_unit_test(test_options),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
