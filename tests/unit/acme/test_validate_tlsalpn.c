/* test_validate_tlsalpn.c — tls-alpn-01 validation (RFC 8737) against a
 * TLS server on 127.0.0.1 presenting certificates made by
 * ck_acme_alpn_cert_make: the right one, a wrong digest, a non-critical
 * acmeIdentifier, another name, a server without the acme-tls/1 protocol,
 * connection refused; and ck_acme_alpn_cert_check on an ordinary
 * certificate and on garbage. */
#include "tests/unit/acme/acme_fixture.h"

#include "common/crypto/acme_alpn.h"
#include "common/crypto/crypto.h"

#define KA "tok_9.thumbprint-abc"

typedef struct env {
  afx_dns dns;
  afx_tls tls;
  ck_acme_validator_opts o;
  ck_acme_validator *v;
  uint8_t digest[32];
  char *cert, *key;
} env;

static int setup(void **state) {
  env *e = calloc(1, sizeof *e);

  assert_int_equal(ck_crypto_sha256(KA, strlen(KA), e->digest), CK_OK);
  afx_dns_add(&e->dns, "alpn.test", 1, "127.0.0.1");
  afx_dns_add(&e->dns, "other.test", 1, "127.0.0.1");
  afx_dns_start(&e->dns);
  *state = e;
  return 0;
}

static int teardown(void **state) {
  env *e = *state;

  if (e->tls.ctx != NULL) {
    afx_tls_stop(&e->tls);
    ck_tls_ctx_free(e->tls.ctx);
  }
  afx_dns_stop(&e->dns);
  ck_acme_validator_free(e->v);
  free(e->cert);
  if (e->key != NULL)
    ck_crypto_free_secret(e->key, strlen(e->key));
  free(e);
  return 0;
}

/* Starts the TLS server with a certificate for name (digest of dkey) and
 * the ALPN list alpn, then validates `alpn.test`. */
static ck_err run(env *e, const char *name, const char *dkey, int noncrit,
                  const char *alpn, ck_acme_validation *r) {
  uint8_t d[32];
  ck_errctx err = CK_ERRCTX_INIT;

  assert_int_equal(ck_crypto_sha256(dkey, strlen(dkey), d), CK_OK);
  assert_int_equal(
      ck_acme_alpn_cert_make(name, d, noncrit, &e->cert, &e->key, &err), CK_OK);
  e->tls.ctx = afx_tls_ctx(e->cert, e->key, alpn);
  afx_tls_start(&e->tls);
  afx_opts(&e->o, e->dns.port, 1, e->tls.port);
  assert_int_equal(ck_acme_validator_new(&e->o, &e->v, &err), CK_OK);
  return ck_acme_validate(e->v, CK_ACME_CHAL_TLSALPN01, "alpn.test", NULL, KA,
                          r);
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

  assert_int_equal(run(e, "alpn.test", KA, 0, "acme-tls/1", &r), CK_OK);
  assert_string_equal(r.problem, "");
  afx_tls_stop(&e->tls);
  assert_int_equal(e->tls.handshakes, 1);
  afx_tls_start(&e->tls);
}

static void test_wrong_digest(void **state) {
  env *e = *state;
  ck_acme_validation r;

  assert_int_equal(run(e, "alpn.test", "other.key-authz", 0, "acme-tls/1", &r),
                   CK_ERR_DENIED);
  assert_problem(&r, "incorrectResponse", "SHA-256");
}

static void test_not_critical(void **state) {
  env *e = *state;
  ck_acme_validation r;

  assert_int_equal(run(e, "alpn.test", KA, 1, "acme-tls/1", &r),
                   CK_ERR_DENIED);
  assert_problem(&r, "incorrectResponse", "not critical");
}

static void test_other_name(void **state) {
  env *e = *state;
  ck_acme_validation r;

  assert_int_equal(run(e, "other.test", KA, 0, "acme-tls/1", &r),
                   CK_ERR_DENIED);
  assert_problem(&r, "incorrectResponse", "another name");
}

static void test_no_alpn(void **state) {
  env *e = *state;
  ck_acme_validation r;

  /* the server has only http/1.1: it refuses the handshake */
  assert_int_not_equal(run(e, "alpn.test", KA, 0, "http/1.1", &r), CK_OK);
  assert_problem(&r, "tls", "alpn.test");
}

static void test_refused(void **state) {
  env *e = *state;
  ck_acme_validation r;
  ck_errctx err = CK_ERRCTX_INIT;

  afx_opts(&e->o, e->dns.port, 1, afx_dead_port());
  assert_int_equal(ck_acme_validator_new(&e->o, &e->v, &err), CK_OK);
  assert_int_equal(ck_acme_validate(e->v, CK_ACME_CHAL_TLSALPN01, "alpn.test",
                                    NULL, KA, &r),
                   CK_ERR_NET);
  assert_problem(&r, "connection", "refused");
  assert_int_equal(ck_acme_validate(e->v, CK_ACME_CHAL_TLSALPN01,
                                    "missing.test", NULL, KA, &r),
                   CK_ERR_NOENT);
  assert_problem(&r, "dns", "NXDOMAIN");
}

static void test_cert_check(void **state) {
  env *e = *state;
  ck_errctx err = CK_ERRCTX_INIT;
  size_t len = 0;
  char *pem = ck_test_slurp("crypto/leaf.crt", &len);
  ck_cert *c = NULL;
  const uint8_t *der;
  static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};

  assert_int_equal(ck_cert_parse((const uint8_t *)pem, len, &c, &err), CK_OK);
  der = ck_cert_der(c, &len);
  assert_int_equal(ck_acme_alpn_cert_check(der, len, "alpn.test", e->digest,
                                           &err),
                   CK_ERR_VERIFY);
  assert_non_null(strstr(err.msg, "no acmeIdentifier"));
  ck_errctx_clear(&err);
  assert_int_equal(ck_acme_alpn_cert_check(junk, sizeof junk, "alpn.test",
                                           e->digest, &err),
                   CK_ERR_BAD_CERT);
  ck_cert_free(c);
  free(pem);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_ok, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_digest, setup, teardown),
      cmocka_unit_test_setup_teardown(test_not_critical, setup, teardown),
      cmocka_unit_test_setup_teardown(test_other_name, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_alpn, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cert_check, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
