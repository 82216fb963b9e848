/* test_pem.c — PEM splitting and encoding, content detection, SHA-256 and
 * fingerprint formatting. Backend-neutral code, run in both builds. */
#include "common/util/clock.h"
#include "tests/unit/crypto/cryptotest.h"

static void test_pem_bundle_crlf_junk(void **state) {
  ck_pem_block blk = {0};
  size_t len, pos = 0;
  uint8_t *data = ct_load("chain.pem", &len);
  int n = 0;
  ck_err rc;

  (void)state;
  while ((rc = ck_pem_next(data, len, &pos, &blk, NULL)) == CK_OK) {
    assert_string_equal(blk.label, "CERTIFICATE");
    assert_true(blk.der_len > 300);
    assert_int_equal(blk.der[0], 0x30);
    assert_int_equal(blk.encrypted, 0);
    ck_pem_block_clear(&blk);
    n++;
  }
  assert_int_equal(rc, CK_ERR_NOENT);
  assert_int_equal(n, 2);
  free(data);
}

static void test_pem_encode_roundtrip(void **state) {
  uint8_t buf[200];
  ck_pem_block blk = {0};
  char *pem = NULL;
  size_t n, pem_len, pos, i;

  (void)state;
  for (i = 0; i < sizeof buf; i++)
    buf[i] = (uint8_t)(i * 37 + 11);
  for (n = 1; n <= sizeof buf; n++) {
    assert_ck_ok(ck_pem_encode("TEST DATA", buf, n, &pem, &pem_len));
    assert_int_equal(strlen(pem), pem_len);
    assert_true(strncmp(pem, "-----BEGIN TEST DATA-----\n", 26) == 0);
    pos = 0;
    assert_ck_ok(ck_pem_next((uint8_t *)pem, pem_len, &pos, &blk, NULL));
    assert_int_equal(pos, pem_len);
    assert_int_equal(blk.der_len, n);
    assert_memory_equal(blk.der, buf, n);
    ck_pem_block_clear(&blk);
    free(pem);
  }
  /* 64-column lines */
  assert_ck_ok(ck_pem_encode("X", buf, 100, &pem, &pem_len));
  assert_int_equal(strchr(pem + 18, '\n') - (pem + 18), 64);
  free(pem);
}

static void test_pem_bad_blocks(void **state) {
  static const char bad_b64[] =
      "-----BEGIN CERTIFICATE-----\nAB$C\n"
      "-----END CERTIFICATE-----\n"
      "-----BEGIN GOOD-----\nAQID\n-----END GOOD-----\n";
  static const char mismatch[] = "-----BEGIN A-----\nAQID\n-----END B-----\n";
  static const char no_end[] = "-----BEGIN A-----\nAQID\n";
  static const char bad_pad[] = "-----BEGIN A-----\nAQ=D\n-----END A-----\n";
  static const char empty[] = "-----BEGIN A-----\n-----END A-----\n";
  ck_pem_block blk = {0};
  ck_errctx err = CK_ERRCTX_INIT;
  size_t pos = 0;

  (void)state;
  assert_int_equal(ck_pem_next((const uint8_t *)bad_b64, sizeof bad_b64 - 1,
                               &pos, &blk, &err),
                   CK_ERR_BAD_PEM);
  assert_string_equal(blk.label, "CERTIFICATE");
  assert_null(blk.der);
  assert_non_null(strstr(ck_errctx_msg(&err), "base64"));
  /* iteration continues with the next block */
  assert_ck_ok(ck_pem_next((const uint8_t *)bad_b64, sizeof bad_b64 - 1, &pos,
                           &blk, NULL));
  assert_string_equal(blk.label, "GOOD");
  assert_int_equal(blk.der_len, 3);
  ck_pem_block_clear(&blk);

  pos = 0;
  assert_int_equal(ck_pem_next((const uint8_t *)mismatch, sizeof mismatch - 1,
                               &pos, &blk, NULL),
                   CK_ERR_BAD_PEM);
  pos = 0;
  assert_int_equal(
      ck_pem_next((const uint8_t *)no_end, sizeof no_end - 1, &pos, &blk, NULL),
      CK_ERR_BAD_PEM);
  pos = 0;
  assert_int_equal(ck_pem_next((const uint8_t *)bad_pad, sizeof bad_pad - 1,
                               &pos, &blk, NULL),
                   CK_ERR_BAD_PEM);
  pos = 0;
  assert_int_equal(
      ck_pem_next((const uint8_t *)empty, sizeof empty - 1, &pos, &blk, NULL),
      CK_ERR_BAD_PEM);
  pos = 0;
  assert_int_equal(
      ck_pem_next((const uint8_t *)"no pem here", 11, &pos, &blk, NULL),
      CK_ERR_NOENT);
  ck_pem_block_clear(NULL);
}

static void test_pem_proc_type(void **state) {
  ck_pem_block blk = {0};
  size_t len, pos = 0;
  uint8_t *data = ct_load("enc-trad.key", &len);

  (void)state;
  assert_ck_ok(ck_pem_next(data, len, &pos, &blk, NULL));
  assert_string_equal(blk.label, "RSA PRIVATE KEY");
  assert_int_equal(blk.encrypted, 1);
  ck_pem_block_clear(&blk);
  free(data);
}

/* Many BEGINs without END (one per line, with header-like lines, and all
 * on one line) must be handled in linear time, not rescanned per BEGIN. */
static void test_pem_hostile_is_linear(void **state) {
  static const char *units[] = {"-----BEGIN X-----\n", "a:-----BEGIN X-----\n",
                                "-----BEGIN "};
  const size_t count = 200000;
  size_t u, i, ulen, len;
  uint64_t t0;
  uint8_t *buf;
  ck_content c;

  (void)state;
  for (u = 0; u < 3; u++) {
    ulen = strlen(units[u]);
    len = ulen * count;
    buf = malloc(len);
    assert_non_null(buf);
    for (i = 0; i < count; i++)
      memcpy(buf + i * ulen, units[u], ulen);
    t0 = ck_clock_mono_ms();
    ck_crypto_detect(buf, len, &c);
    assert_int_equal(c.kind, CK_CONTENT_UNKNOWN);
    assert_int_equal(c.n_other, count);
    /* quadratic behaviour would take hours; linear takes milliseconds */
    assert_true(ck_clock_mono_ms() - t0 < 10000);
    free(buf);
  }
}

typedef struct detect_case {
  const char *file;
  ck_content_kind kind;
  ck_encoding enc;
  unsigned certs, keys, encrypted;
} detect_case;

static void test_detect_fixtures(void **state) {
  static const detect_case cases[] = {
      {"root.crt", CK_CONTENT_CERT, CK_ENC_PEM, 1, 0, 0},
      {"chain.pem", CK_CONTENT_CERT, CK_ENC_PEM, 2, 0, 0},
      {"combined.pem", CK_CONTENT_CERT_AND_KEY, CK_ENC_PEM, 1, 1, 0},
      {"leaf.der", CK_CONTENT_CERT, CK_ENC_DER, 1, 0, 0},
      {"leaf.key", CK_CONTENT_KEY, CK_ENC_PEM, 0, 1, 0},
      {"rsa-pkcs8.key", CK_CONTENT_KEY, CK_ENC_PEM, 0, 1, 0},
      {"ed25519.key", CK_CONTENT_KEY, CK_ENC_PEM, 0, 1, 0},
      {"enc-pkcs8.key", CK_CONTENT_KEY, CK_ENC_PEM, 0, 1, 1},
      {"enc-trad.key", CK_CONTENT_KEY, CK_ENC_PEM, 0, 1, 1},
      {"enc-pkcs8.der", CK_CONTENT_KEY, CK_ENC_DER, 0, 1, 1},
      {"leaf.csr", CK_CONTENT_CSR, CK_ENC_PEM, 0, 0, 0},
      {"leaf.p12", CK_CONTENT_PKCS12, CK_ENC_DER, 0, 0, 0},
      {"nopass.p12", CK_CONTENT_PKCS12, CK_ENC_DER, 0, 0, 0},
      {"legacy.p12", CK_CONTENT_PKCS12, CK_ENC_DER, 0, 0, 0},
      {"make.sh", CK_CONTENT_UNKNOWN, CK_ENC_NONE, 0, 0, 0},
  };
  ck_content c;
  size_t i, len;
  uint8_t *data;

  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    data = ct_load(cases[i].file, &len);
    ck_crypto_detect(data, len, &c);
    if (c.kind != cases[i].kind || c.encoding != cases[i].enc ||
        c.n_certs != cases[i].certs || c.n_keys != cases[i].keys ||
        c.n_encrypted_keys != cases[i].encrypted) {
      print_error("%s: kind %s enc %d certs %u keys %u enc %u\n", cases[i].file,
                  ck_content_kind_name(c.kind), c.encoding, c.n_certs, c.n_keys,
                  c.n_encrypted_keys);
      fail();
    }
    free(data);
  }
}

/* DER forms of keys, CSRs and SPKIs, decoded from the PEM fixtures. */
static ck_content_kind detect_der_of(const char *file) {
  ck_pem_block blk = {0};
  ck_content c;
  size_t len, pos = 0;
  uint8_t *data = ct_load(file, &len);

  assert_ck_ok(ck_pem_next(data, len, &pos, &blk, NULL));
  ck_crypto_detect(blk.der, blk.der_len, &c);
  assert_int_equal(c.encoding, CK_ENC_DER);
  ck_pem_block_clear(&blk);
  free(data);
  return c.kind;
}

static void test_detect_der(void **state) {
  static const uint8_t garbage[] = {0x30, 0x82, 0xff, 0xff, 0x01};
  static const char spki_pem[] =
      "-----BEGIN PUBLIC KEY-----\n"
      "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
      "-----END PUBLIC KEY-----\n";
  ck_pem_block blk = {0};
  ck_content c;
  size_t pos = 0;

  (void)state;
  assert_int_equal(detect_der_of("rsa.key"), CK_CONTENT_KEY);
  assert_int_equal(detect_der_of("leaf.key"), CK_CONTENT_KEY);
  assert_int_equal(detect_der_of("rsa-pkcs8.key"), CK_CONTENT_KEY);
  assert_int_equal(detect_der_of("leaf.csr"), CK_CONTENT_CSR);
  assert_int_equal(detect_der_of("root.crt"), CK_CONTENT_CERT);

  ck_crypto_detect((const uint8_t *)spki_pem, sizeof spki_pem - 1, &c);
  assert_int_equal(c.kind, CK_CONTENT_PUBKEY);
  assert_ck_ok(ck_pem_next((const uint8_t *)spki_pem, sizeof spki_pem - 1, &pos,
                           &blk, NULL));
  ck_crypto_detect(blk.der, blk.der_len, &c);
  assert_int_equal(c.kind, CK_CONTENT_PUBKEY);
  ck_pem_block_clear(&blk);

  ck_crypto_detect(garbage, sizeof garbage, &c);
  assert_int_equal(c.kind, CK_CONTENT_UNKNOWN);
  assert_int_equal(c.encoding, CK_ENC_NONE);
  ck_crypto_detect(NULL, 0, &c);
  assert_int_equal(c.kind, CK_CONTENT_UNKNOWN);
  assert_string_equal(ck_content_kind_name(CK_CONTENT_PKCS12), "PKCS#12");
}

static void test_sha256_and_hex(void **state) {
  uint8_t md[CK_SHA256_LEN], back[CK_SHA256_LEN];
  char hex[CK_SHA256_HEX_LEN], colons[3 * CK_SHA256_LEN], small[4];

  (void)state;
  assert_ck_ok(ck_crypto_sha256("abc", 3, md));
  assert_ck_ok(ck_crypto_hex(md, sizeof md, 0, hex, sizeof hex));
  assert_string_equal(
      hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert_ck_ok(ck_crypto_hex(md, sizeof md, 1, colons, sizeof colons));
  assert_true(strncmp(colons, "BA:78:16:BF:", 12) == 0);
  assert_int_equal(strlen(colons), 95);
  assert_int_equal(ck_crypto_hex(md, sizeof md, 0, small, sizeof small),
                   CK_ERR_RANGE);
  assert_string_equal(small, "");

  assert_ck_ok(ck_crypto_fingerprint_parse(hex, back));
  assert_memory_equal(back, md, sizeof md);
  memset(back, 0, sizeof back);
  assert_ck_ok(ck_crypto_fingerprint_parse(colons, back));
  assert_memory_equal(back, md, sizeof md);
  assert_int_equal(ck_crypto_fingerprint_parse("abcd", back), CK_ERR_PARSE);
  assert_int_equal(ck_crypto_fingerprint_parse(NULL, back), CK_ERR_PARSE);
  hex[10] = 'x';
  assert_int_equal(ck_crypto_fingerprint_parse(hex, back), CK_ERR_PARSE);
}

static void test_backend_identity(void **state) {
  const char *want = getenv("CK_CRYPTO");

  (void)state;
  if (want != NULL)
    assert_string_equal(ck_crypto_backend(), want);
  assert_true(strlen(ck_crypto_backend_version()) > 0);
  print_message("backend %s (%s): Ed25519 %s, PKCS#12 %s\n",
                ck_crypto_backend(), ck_crypto_backend_version(),
                ck_crypto_has(CK_CAP_ED25519) ? "yes" : "no",
                ck_crypto_has(CK_CAP_PKCS12) ? "yes" : "no");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pem_bundle_crlf_junk),
      cmocka_unit_test(test_pem_encode_roundtrip),
      cmocka_unit_test(test_pem_bad_blocks),
      cmocka_unit_test(test_pem_proc_type),
      cmocka_unit_test(test_pem_hostile_is_linear),
      cmocka_unit_test(test_detect_fixtures),
      cmocka_unit_test(test_detect_der),
      cmocka_unit_test(test_sha256_and_hex),
      cmocka_unit_test(test_backend_identity),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
