/* test_key.c — key specs, generation, PEM import/export, encrypted-key
 * detection, SPKI hashing. Same file for both backends; Ed25519 is skipped
 * (after checking the refusal is CK_ERR_UNSUPPORTED) where the backend
 * lacks it. */
#include "tests/unit/crypto/cryptotest.h"

static void test_spec_parse(void **state) {
  ck_key_spec s;
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  assert_ck_ok(ck_key_spec_parse("ec-p256", &s, &err));
  assert_int_equal(s.type, CK_KEY_EC);
  assert_int_equal(s.bits, 256);
  assert_ck_ok(ck_key_spec_parse("EC-P384", &s, &err));
  assert_int_equal(s.bits, 384);
  assert_ck_ok(ck_key_spec_parse("rsa-3072", &s, &err));
  assert_int_equal(s.type, CK_KEY_RSA);
  assert_int_equal(s.bits, 3072);
  assert_ck_ok(ck_key_spec_parse("ed25519", &s, &err));
  assert_int_equal(s.type, CK_KEY_ED25519);
  assert_int_equal(ck_key_spec_parse("rsa-1024", &s, &err), CK_ERR_PARSE);
  assert_int_equal(ck_key_spec_parse("rsa-8192", &s, &err), CK_ERR_PARSE);
  assert_int_equal(ck_key_spec_parse("rsa-2049", &s, &err), CK_ERR_PARSE);
  assert_int_equal(ck_key_spec_parse("rsa-2048x", &s, &err), CK_ERR_PARSE);
  assert_int_equal(ck_key_spec_parse("rsa-", &s, &err), CK_ERR_PARSE);
  assert_int_equal(ck_key_spec_parse("ec-p521", &s, &err), CK_ERR_PARSE);
  assert_int_equal(ck_key_spec_parse("", &s, &err), CK_ERR_PARSE);
}

/* Exports key in both PEM formats (where defined), re-imports, compares. */
static void roundtrip(const ck_key *k, int traditional_ok) {
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t a[CK_SHA256_LEN], b[CK_SHA256_LEN];
  ck_key *back = NULL;
  char *pem = NULL;
  size_t len;
  ck_pem_block blk = {0};
  size_t pos = 0;
  const char *label;
  ck_key_info info;

  assert_ck_ok(ck_key_spki_sha256(k, a, &err));
  assert_ck_ok(ck_key_export_pem(k, CK_KEY_PEM_PKCS8, &pem, &len, &err));
  assert_true(strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
  assert_ck_ok(ck_key_parse((uint8_t *)pem, len, &back, &err));
  assert_ck_ok(ck_key_spki_sha256(back, b, &err));
  assert_memory_equal(a, b, sizeof a);
  ck_key_free(back);
  /* the DER inside parses too */
  assert_ck_ok(ck_pem_next((uint8_t *)pem, len, &pos, &blk, &err));
  assert_ck_ok(ck_key_parse(blk.der, blk.der_len, &back, &err));
  assert_ck_ok(ck_key_spki_sha256(back, b, &err));
  assert_memory_equal(a, b, sizeof a);
  ck_key_free(back);
  ck_pem_block_clear(&blk);
  ck_crypto_free_secret(pem, len);

  if (!traditional_ok) {
    assert_int_equal(
        ck_key_export_pem(k, CK_KEY_PEM_TRADITIONAL, &pem, &len, &err),
        CK_ERR_UNSUPPORTED);
    return;
  }
  assert_ck_ok(ck_key_export_pem(k, CK_KEY_PEM_TRADITIONAL, &pem, &len, &err));
  ck_key_get_info(k, &info);
  label = info.type == CK_KEY_RSA ? "-----BEGIN RSA PRIVATE KEY-----\n"
                                  : "-----BEGIN EC PRIVATE KEY-----\n";
  assert_true(strncmp(pem, label, strlen(label)) == 0);
  assert_ck_ok(ck_key_parse((uint8_t *)pem, len, &back, &err));
  assert_ck_ok(ck_key_spki_sha256(back, b, &err));
  assert_memory_equal(a, b, sizeof a);
  ck_key_free(back);
  ck_crypto_free_secret(pem, len);
}

static void test_generate_ec(void **state) {
  static const ck_key_spec p256 = {CK_KEY_EC, 256}, p384 = {CK_KEY_EC, 384};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_key *k = NULL, *k2 = NULL;
  ck_key_info info;
  uint8_t a[CK_SHA256_LEN], b[CK_SHA256_LEN];
  uint8_t *spki;
  size_t spki_len;

  (void)state;
  assert_ck_ok(ck_key_generate(&p256, &k, &err));
  ck_key_get_info(k, &info);
  assert_int_equal(info.type, CK_KEY_EC);
  assert_int_equal(info.bits, 256);
  assert_string_equal(info.curve, "P-256");
  assert_string_equal(info.desc, "EC P-256");
  roundtrip(k, 1);
  /* two keys differ */
  assert_ck_ok(ck_key_generate(&p256, &k2, &err));
  assert_ck_ok(ck_key_spki_sha256(k, a, &err));
  assert_ck_ok(ck_key_spki_sha256(k2, b, &err));
  assert_memory_not_equal(a, b, sizeof a);
  /* SPKI DER hash is what ck_key_spki_sha256 returns */
  assert_ck_ok(ck_key_spki_der(k, &spki, &spki_len, &err));
  assert_ck_ok(ck_crypto_sha256(spki, spki_len, b));
  assert_memory_equal(a, b, sizeof a);
  free(spki);
  ck_key_free(k);
  ck_key_free(k2);

  assert_ck_ok(ck_key_generate(&p384, &k, &err));
  ck_key_get_info(k, &info);
  assert_string_equal(info.desc, "EC P-384");
  assert_int_equal(info.bits, 384);
  roundtrip(k, 1);
  ck_key_free(k);
}

static void test_generate_rsa(void **state) {
  static const ck_key_spec rsa = {CK_KEY_RSA, 2048};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_key *k = NULL;
  ck_key_info info;

  (void)state;
  assert_ck_ok(ck_key_generate(&rsa, &k, &err));
  ck_key_get_info(k, &info);
  assert_int_equal(info.type, CK_KEY_RSA);
  assert_int_equal(info.bits, 2048);
  assert_string_equal(info.desc, "RSA 2048");
  assert_string_equal(info.curve, "");
  roundtrip(k, 1);
  ck_key_free(k);
}

static void test_generate_bad_spec(void **state) {
  static const ck_key_spec small = {CK_KEY_RSA, 1024}, big = {CK_KEY_RSA, 8192},
                           odd = {CK_KEY_RSA, 2050}, p521 = {CK_KEY_EC, 521},
                           dsa = {CK_KEY_DSA, 2048};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_key *k = NULL;

  (void)state;
  assert_int_equal(ck_key_generate(&small, &k, &err), CK_ERR_INVAL);
  assert_int_equal(ck_key_generate(&big, &k, &err), CK_ERR_INVAL);
  assert_int_equal(ck_key_generate(&odd, &k, &err), CK_ERR_INVAL);
  assert_int_equal(ck_key_generate(&p521, &k, &err), CK_ERR_INVAL);
  assert_int_equal(ck_key_generate(&dsa, &k, &err), CK_ERR_INVAL);
  assert_null(k);
}

static void test_generate_ed25519(void **state) {
  static const ck_key_spec ed = {CK_KEY_ED25519, 0};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_key *k = NULL;
  ck_key_info info;

  (void)state;
  if (!ck_crypto_has(CK_CAP_ED25519)) {
    assert_int_equal(ck_key_generate(&ed, &k, &err), CK_ERR_UNSUPPORTED);
    assert_null(k);
  }
  CK_SKIP_UNLESS(CK_CAP_ED25519,
                 "no Ed25519 in mbedTLS 2.28 (refusal checked)");
  assert_ck_ok(ck_key_generate(&ed, &k, &err));
  ck_key_get_info(k, &info);
  assert_int_equal(info.type, CK_KEY_ED25519);
  assert_string_equal(info.desc, "Ed25519");
  roundtrip(k, 0);
  ck_key_free(k);
}

static void test_parse_fixtures(void **state) {
  static const struct {
    const char *file;
    const char *desc;
  } cases[] = {
      {"rsa.key", "RSA 2048"},       /* traditional RSA */
      {"rsa-pkcs8.key", "RSA 2048"}, /* PKCS#8 RSA */
      {"root.key", "RSA 2048"},      /* PKCS#8 from genpkey */
      {"leaf.key", "EC P-256"},      /* traditional EC */
      {"inter.key", "EC P-384"},     /* PKCS#8 EC */
      {"combined.pem", "EC P-256"},  /* key after a certificate */
  };
  ck_key *k;
  ck_key_info info;
  uint8_t md[CK_SHA256_LEN];
  char hex[CK_SHA256_HEX_LEN];
  size_t i;

  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    k = ct_key(cases[i].file);
    ck_key_get_info(k, &info);
    assert_string_equal(info.desc, cases[i].desc);
    ck_key_free(k);
  }
  k = ct_key("leaf.key");
  assert_ck_ok(ck_key_spki_sha256(k, md, NULL));
  assert_ck_ok(ck_crypto_hex(md, sizeof md, 0, hex, sizeof hex));
  ct_assert_expect("leaf.expect", "spki_sha256", hex);
  ck_key_free(k);
  ck_key_free(NULL);
}

static void test_parse_ed25519(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_key *k = NULL;
  size_t len;
  uint8_t *data = ct_load("ed25519.key", &len);
  ck_err rc = ck_key_parse(data, len, &k, &err);

  (void)state;
  free(data);
  if (!ck_crypto_has(CK_CAP_ED25519)) {
    assert_int_equal(rc, CK_ERR_UNSUPPORTED);
    assert_null(k);
  }
  CK_SKIP_UNLESS(CK_CAP_ED25519,
                 "no Ed25519 in mbedTLS 2.28 (refusal checked)");
  assert_ck_ok(rc);
  {
    ck_key_info info;
    ck_key_get_info(k, &info);
    assert_string_equal(info.desc, "Ed25519");
  }
  ck_key_free(k);
}

static void test_encrypted(void **state) {
  static const char *files[] = {"enc-pkcs8.key", "enc-trad.key",
                                "enc-pkcs8.der"};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_key *k = NULL;
  size_t i, len;
  uint8_t *data;

  (void)state;
  for (i = 0; i < sizeof files / sizeof files[0]; i++) {
    data = ct_load(files[i], &len);
    ck_errctx_clear(&err);
    assert_int_equal(ck_key_parse(data, len, &k, &err), CK_ERR_KEY_ENCRYPTED);
    assert_non_null(strstr(ck_errctx_msg(&err), "encrypted"));
    assert_null(k);
    free(data);
  }
}

static void test_bad_keys(void **state) {
  static const char junk_key[] = "-----BEGIN PRIVATE KEY-----\nMAMCAQE=\n"
                                 "-----END PRIVATE KEY-----\n";
  static const char bad_b64[] = "-----BEGIN EC PRIVATE KEY-----\n*\n"
                                "-----END EC PRIVATE KEY-----\n";
  static const uint8_t random_bytes[] = {0x01, 0x02, 0x03, 0xff, 0x00};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_key *k = NULL;
  size_t len, i;
  uint8_t *data;

  (void)state;
  assert_int_equal(
      ck_key_parse((const uint8_t *)junk_key, sizeof junk_key - 1, &k, &err),
      CK_ERR_BAD_KEY);
  assert_int_equal(
      ck_key_parse((const uint8_t *)bad_b64, sizeof bad_b64 - 1, &k, &err),
      CK_ERR_BAD_PEM);
  assert_int_equal(ck_key_parse(random_bytes, sizeof random_bytes, &k, &err),
                   CK_ERR_BAD_KEY);
  assert_int_equal(ck_key_parse(random_bytes, 0, &k, &err), CK_ERR_BAD_KEY);
  data = ct_load("root.crt", &len); /* PEM without a key */
  assert_int_equal(ck_key_parse(data, len, &k, &err), CK_ERR_BAD_PEM);
  free(data);
  /* truncated key DER */
  data = ct_load("leaf.key", &len);
  {
    ck_pem_block blk = {0};
    size_t pos = 0;
    assert_ck_ok(ck_pem_next(data, len, &pos, &blk, NULL));
    for (i = 0; i < blk.der_len; i += 5)
      assert_int_equal(ck_key_parse(blk.der, i, &k, &err), CK_ERR_BAD_KEY);
    ck_pem_block_clear(&blk);
  }
  free(data);
  assert_null(k);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spec_parse),
      cmocka_unit_test(test_generate_ec),
      cmocka_unit_test(test_generate_rsa),
      cmocka_unit_test(test_generate_bad_spec),
      cmocka_unit_test(test_generate_ed25519),
      cmocka_unit_test(test_parse_fixtures),
      cmocka_unit_test(test_parse_ed25519),
      cmocka_unit_test(test_encrypted),
      cmocka_unit_test(test_bad_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
