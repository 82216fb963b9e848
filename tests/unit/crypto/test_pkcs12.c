/* test_pkcs12.c — PKCS#12 detection (both builds) and reading (OpenSSL;
 * the mbedTLS build must refuse with CK_ERR_UNSUPPORTED, which is checked
 * before the reading tests are skipped there). */
#include "tests/unit/crypto/cryptotest.h"

static void test_detected_everywhere(void **state) {
  static const char *files[] = {"leaf.p12", "nopass.p12", "legacy.p12"};
  ck_content c;
  size_t i, len;
  uint8_t *data;

  (void)state;
  for (i = 0; i < 3; i++) {
    data = ct_load(files[i], &len);
    ck_crypto_detect(data, len, &c);
    assert_int_equal(c.kind, CK_CONTENT_PKCS12);
    assert_int_equal(c.encoding, CK_ENC_DER);
    free(data);
  }
}

static void read_ok(const char *file, const char *password) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_key *k = NULL;
  ck_cert *c = NULL;
  ck_cert_list chain = {0};
  size_t len;
  uint8_t *data = ct_load(file, &len);
  ck_err rc = ck_pkcs12_read(data, len, password, &k, &c, &chain, &err);

  if (rc != CK_OK) {
    print_error("%s: %s\n", file, ck_errctx_msg(&err));
    fail();
  }
  assert_non_null(k);
  assert_non_null(c);
  ct_assert_expect("leaf.expect", "sha256", ck_cert_get_info(c)->sha256_hex);
  assert_ck_ok(ck_key_match_cert(k, c, &err));
  assert_int_equal(chain.n, 1);
  ct_assert_expect("inter.expect", "sha256",
                   ck_cert_get_info(chain.certs[0])->sha256_hex);
  ck_cert_list_clear(&chain);
  ck_cert_free(c);
  ck_key_free(k);
  free(data);
}

static void test_read(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_key *k = NULL;
  ck_cert *c = NULL;
  size_t len;
  uint8_t *data;

  (void)state;
  if (!ck_crypto_has(CK_CAP_PKCS12)) {
    data = ct_load("leaf.p12", &len);
    assert_int_equal(ck_pkcs12_read(data, len, "secret", &k, &c, NULL, &err),
                     CK_ERR_UNSUPPORTED);
    assert_null(k);
    assert_null(c);
    free(data);
  }
  CK_SKIP_UNLESS(CK_CAP_PKCS12,
                 "PKCS#12 is detected but not read (refusal checked)");
  read_ok("leaf.p12", "secret");
  read_ok("nopass.p12", NULL);
  read_ok("nopass.p12", "");
  read_ok("legacy.p12", "secret");
}

static void test_wrong_password(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_key *k = NULL;
  ck_cert *c = NULL;
  size_t len;
  uint8_t *data;

  (void)state;
  CK_SKIP_UNLESS(CK_CAP_PKCS12, "PKCS#12 is detected but not read");
  data = ct_load("leaf.p12", &len);
  assert_int_equal(ck_pkcs12_read(data, len, "wrong", &k, &c, NULL, &err),
                   CK_ERR_BAD_PASSWORD);
  assert_int_equal(ck_pkcs12_read(data, len, NULL, &k, &c, NULL, &err),
                   CK_ERR_BAD_PASSWORD);
  assert_null(k);
  assert_null(c);
  free(data);
  data = ct_load("nopass.p12", &len);
  assert_int_equal(ck_pkcs12_read(data, len, "secret", &k, &c, NULL, &err),
                   CK_ERR_BAD_PASSWORD);
  free(data);
}

static void test_not_pkcs12(void **state) {
  static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x03};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_key *k = NULL;
  size_t len;
  uint8_t *data;

  (void)state;
  /* both builds: input that is not PKCS#12 is BAD_PKCS12 */
  assert_int_equal(
      ck_pkcs12_read(junk, sizeof junk, NULL, &k, NULL, NULL, &err),
      CK_ERR_BAD_PKCS12);
  data = ct_load("leaf.der", &len);
  assert_int_equal(ck_pkcs12_read(data, len, NULL, &k, NULL, NULL, &err),
                   CK_ERR_BAD_PKCS12);
  free(data);
  assert_null(k);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_detected_everywhere),
      cmocka_unit_test(test_read),
      cmocka_unit_test(test_wrong_password),
      cmocka_unit_test(test_not_pkcs12),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
