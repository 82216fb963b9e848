/* test_csr.c — CSR creation (subject + DNS/IP/URI/email SANs), parsing,
 * proof-of-possession check, key-to-CSR match. CSRs we create are also
 * handed to `openssl req -verify` when the CLI is installed, as an outside
 * opinion on the encoding. */
#include "tests/unit/crypto/cryptotest.h"

static const ck_name_attr subject[] = {
    {"C", "DE"},
    {"O", "Example, Inc."},
    {"OU", "Web"},
    {"CN", "host.example.com"},
};
static const ck_san sans[] = {
    {CK_SAN_DNS, "host.example.com"},
    {CK_SAN_DNS, "*.example.com"},
    {CK_SAN_IP, "192.0.2.1"},
    {CK_SAN_IP, "2001:db8::42"},
    {CK_SAN_URI, "spiffe://example.com/ns/web"},
    {CK_SAN_EMAIL, "pki@example.com"},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static uint8_t *find(uint8_t *hay, size_t n, const char *needle) {
  size_t m = strlen(needle), i;

  for (i = 0; i + m <= n; i++)
    if (memcmp(hay + i, needle, m) == 0)
      return hay + i;
  return NULL;
}

/* Writes the CSR as PEM to a temp file and asks openssl to verify it. */
static void openssl_cross_check(const ck_csr *csr) {
  char *dir, path[512], *out = NULL, *pem;
  const uint8_t *der;
  size_t der_len, pem_len;
  FILE *f;

  if (!ck_test_have("openssl"))
    return;
  der = ck_csr_der(csr, &der_len);
  assert_ck_ok(
      ck_pem_encode("CERTIFICATE REQUEST", der, der_len, &pem, &pem_len));
  dir = ck_test_tmpdir();
  snprintf(path, sizeof path, "%s/req.pem", dir);
  f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fwrite(pem, 1, pem_len, f), pem_len);
  fclose(f);
  assert_int_equal(
      ck_test_sh(&out, "openssl req -in %s -noout -verify -text 2>&1", path),
      0);
  assert_non_null(strstr(out, "verify OK"));
  if (ck_csr_get_info(csr)->n_sans > 0)
    assert_non_null(strstr(out, "DNS:host.example.com"));
  free(out);
  free(pem);
  ck_test_rmtree(dir);
  free(dir);
}

static void create_and_check(ck_key *k, const char *sig_alg) {
  ck_csr_req req = {subject, N(subject), sans, N(sans)};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_csr *csr = NULL, *back = NULL;
  const ck_csr_info *in;
  ck_key_info ki;
  uint8_t md[CK_SHA256_LEN];
  const uint8_t *der, *der2;
  size_t i, der_len, der2_len, pem_len;
  char *pem;

  assert_ck_ok(ck_csr_create(k, &req, &csr, &err));
  in = ck_csr_get_info(csr);
  assert_string_equal(in->subject,
                      "CN=host.example.com,OU=Web,O=Example\\, Inc.,C=DE");
  assert_string_equal(in->subject_cn, "host.example.com");
  assert_string_equal(in->sig_alg, sig_alg);
  ck_key_get_info(k, &ki);
  assert_string_equal(in->key.desc, ki.desc);
  assert_ck_ok(ck_key_spki_sha256(k, md, &err));
  assert_memory_equal(in->spki_sha256, md, sizeof md);
  assert_int_equal(in->n_sans, N(sans));
  for (i = 0; i < N(sans); i++) {
    assert_int_equal(in->sans[i].type, sans[i].type);
    assert_string_equal(in->sans[i].value, sans[i].value);
  }
  assert_ck_ok(ck_csr_verify(csr, &err));
  assert_ck_ok(ck_key_match_csr(k, csr, &err));

  /* PEM round trip gives the same bytes */
  der = ck_csr_der(csr, &der_len);
  assert_ck_ok(
      ck_pem_encode("CERTIFICATE REQUEST", der, der_len, &pem, &pem_len));
  assert_ck_ok(ck_csr_parse((uint8_t *)pem, pem_len, &back, &err));
  der2 = ck_csr_der(back, &der2_len);
  assert_int_equal(der_len, der2_len);
  assert_memory_equal(der, der2, der_len);
  assert_ck_ok(ck_csr_verify(back, &err));
  free(pem);
  ck_csr_free(back);

  openssl_cross_check(csr);
  ck_csr_free(csr);
}

static void test_create_ec(void **state) {
  static const ck_key_spec p384 = {CK_KEY_EC, 384};
  ck_key *k = ct_key("leaf.key"), *k384 = NULL;

  (void)state;
  create_and_check(k, "ecdsa-with-SHA256");
  assert_ck_ok(ck_key_generate(&p384, &k384, NULL));
  create_and_check(k384, "ecdsa-with-SHA256");
  ck_key_free(k);
  ck_key_free(k384);
}

static void test_create_rsa(void **state) {
  ck_key *k = ct_key("rsa.key");

  (void)state;
  create_and_check(k, "sha256WithRSAEncryption");
  ck_key_free(k);
}

static void test_create_ed25519(void **state) {
  ck_key *k;

  (void)state;
  CK_SKIP_UNLESS(CK_CAP_ED25519, "no Ed25519 keys in mbedTLS 2.28");
  k = ct_key("ed25519.key");
  create_and_check(k, "ED25519");
  ck_key_free(k);
}

static void test_san_only(void **state) {
  ck_csr_req req = {NULL, 0, sans, 1};
  ck_key *k = ct_key("leaf.key");
  ck_csr *csr = NULL;
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  assert_ck_ok(ck_csr_create(k, &req, &csr, &err));
  assert_string_equal(ck_csr_get_info(csr)->subject, "");
  assert_string_equal(ck_csr_get_info(csr)->subject_cn, "");
  assert_int_equal(ck_csr_get_info(csr)->n_sans, 1);
  assert_ck_ok(ck_csr_verify(csr, &err));
  openssl_cross_check(csr);
  ck_csr_free(csr);
  ck_key_free(k);
}

static void test_bad_requests(void **state) {
  static const ck_name_attr bad_type[] = {{"XX", "v"}};
  static const ck_name_attr bad_c[] = {{"C", "DEU"}};
  static const ck_name_attr empty_v[] = {{"CN", ""}};
  static const ck_name_attr ctrl[] = {{"CN", "a\nb"}};
  static const ck_name_attr long_cn[] = {
      {"CN",
       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}};
  static const ck_san bad_dns[] = {{CK_SAN_DNS, "bad name"}};
  static const ck_san bad_ip[] = {{CK_SAN_IP, "300.1.1.1"}};
  static const ck_san bad_mail[] = {{CK_SAN_EMAIL, "nobody"}};
  static const ck_san bad_uri[] = {{CK_SAN_URI, "no scheme"}};
  static const ck_san other[] = {{CK_SAN_OTHER, "x"}};
  static const ck_san null_v[] = {{CK_SAN_DNS, NULL}};
  const ck_csr_req cases[] = {
      {bad_type, 1, NULL, 0}, {bad_c, 1, NULL, 0},    {empty_v, 1, NULL, 0},
      {ctrl, 1, NULL, 0},     {long_cn, 1, NULL, 0},  {NULL, 0, bad_dns, 1},
      {NULL, 0, bad_ip, 1},   {NULL, 0, bad_mail, 1}, {NULL, 0, bad_uri, 1},
      {NULL, 0, other, 1},    {NULL, 0, null_v, 1},   {NULL, 0, NULL, 0},
  };
  ck_key *k = ct_key("leaf.key");
  ck_csr *csr = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  size_t i;

  (void)state;
  for (i = 0; i < N(cases); i++) {
    ck_errctx_clear(&err);
    if (ck_csr_create(k, &cases[i], &csr, &err) != CK_ERR_INVAL) {
      print_error("case %zu: not refused (%s)\n", i, ck_errctx_msg(&err));
      fail();
    }
    assert_true(strlen(ck_errctx_msg(&err)) > 0);
  }
  assert_null(csr);
  ck_key_free(k);
}

static void test_parse_openssl_csr(void **state) {
  ck_csr *csr = NULL;
  ck_key *k = ct_key("leaf.key"), *other = ct_key("rsa.key");
  ck_errctx err = CK_ERRCTX_INIT;
  const ck_csr_info *in;
  char hex[CK_SHA256_HEX_LEN];
  size_t len;
  uint8_t *data = ct_load("leaf.csr", &len);

  (void)state;
  assert_ck_ok(ck_csr_parse(data, len, &csr, &err));
  in = ck_csr_get_info(csr);
  ct_assert_expect("leaf-csr.expect", "subject", in->subject);
  assert_ck_ok(
      ck_crypto_hex(in->spki_sha256, CK_SHA256_LEN, 0, hex, sizeof hex));
  ct_assert_expect("leaf-csr.expect", "spki_sha256", hex);
  assert_string_equal(in->key.desc, "EC P-256");
  assert_int_equal(in->n_sans, 5);
  assert_int_equal(in->sans[0].type, CK_SAN_DNS);
  assert_string_equal(in->sans[0].value, "csr.example.com");
  assert_string_equal(in->sans[1].value, "198.51.100.7");
  assert_string_equal(in->sans[2].value, "2001:db8::7");
  assert_int_equal(in->sans[3].type, CK_SAN_URI);
  assert_string_equal(in->sans[3].value, "spiffe://example.com/web");
  assert_int_equal(in->sans[4].type, CK_SAN_EMAIL);
  assert_string_equal(in->sans[4].value, "ops@example.com");
  assert_ck_ok(ck_csr_verify(csr, &err));
  assert_ck_ok(ck_key_match_csr(k, csr, &err));
  assert_int_equal(ck_key_match_csr(other, csr, &err), CK_ERR_KEY_MISMATCH);
  ck_csr_free(csr);
  ck_key_free(k);
  ck_key_free(other);
  free(data);
}

/* A changed byte in the signed part must fail the signature check. */
static void test_tampered(void **state) {
  ck_csr_req req = {subject, N(subject), sans, N(sans)};
  ck_key *keys[2] = {ct_key("leaf.key"), ct_key("rsa.key")};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_csr *csr = NULL, *bad = NULL;
  const uint8_t *der;
  uint8_t *copy, *at;
  size_t len, i;

  (void)state;
  for (i = 0; i < 2; i++) {
    assert_ck_ok(ck_csr_create(keys[i], &req, &csr, &err));
    der = ck_csr_der(csr, &len);
    copy = malloc(len);
    memcpy(copy, der, len);
    at = find(copy, len, "host.example.com");
    assert_non_null(at);
    at[0] = 'H'; /* still a valid name, different bytes */
    assert_ck_ok(ck_csr_parse(copy, len, &bad, &err));
    assert_string_equal(ck_csr_get_info(bad)->subject_cn, "Host.example.com");
    assert_int_equal(ck_csr_verify(bad, &err), CK_ERR_BAD_SIGNATURE);
    ck_csr_free(bad);
    /* and a flipped signature byte */
    memcpy(copy, der, len);
    copy[len - 1] ^= 0x01;
    assert_ck_ok(ck_csr_parse(copy, len, &bad, &err));
    assert_int_equal(ck_csr_verify(bad, &err), CK_ERR_BAD_SIGNATURE);
    ck_csr_free(bad);
    free(copy);
    ck_csr_free(csr);
    ck_key_free(keys[i]);
  }
}

static void test_garbage(void **state) {
  static const uint8_t junk[] = "definitely not a CSR";
  static const char bad_pem[] = "-----BEGIN CERTIFICATE REQUEST-----\n@@@\n"
                                "-----END CERTIFICATE REQUEST-----\n";
  ck_csr *csr = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  size_t len, i;
  uint8_t *data;

  (void)state;
  assert_int_equal(ck_csr_parse(junk, sizeof junk - 1, &csr, &err),
                   CK_ERR_BAD_DER);
  assert_int_equal(
      ck_csr_parse((const uint8_t *)bad_pem, sizeof bad_pem - 1, &csr, &err),
      CK_ERR_BAD_PEM);
  data = ct_load("leaf.crt", &len); /* PEM, but a certificate */
  assert_int_equal(ck_csr_parse(data, len, &csr, &err), CK_ERR_BAD_PEM);
  free(data);
  data = ct_load("leaf.der", &len); /* DER, but a certificate */
  assert_int_equal(ck_csr_parse(data, len, &csr, &err), CK_ERR_BAD_CSR);
  free(data);
  data = ct_load("leaf.csr", &len);
  {
    ck_pem_block blk = {0};
    size_t pos = 0;
    assert_ck_ok(ck_pem_next(data, len, &pos, &blk, NULL));
    for (i = 0; i < blk.der_len; i += 3) {
      ck_err rc = ck_csr_parse(blk.der, i, &csr, &err);
      assert_true(rc == CK_ERR_BAD_DER || rc == CK_ERR_BAD_CSR);
    }
    ck_pem_block_clear(&blk);
  }
  free(data);
  assert_null(csr);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_ec),
      cmocka_unit_test(test_create_rsa),
      cmocka_unit_test(test_create_ed25519),
      cmocka_unit_test(test_san_only),
      cmocka_unit_test(test_bad_requests),
      cmocka_unit_test(test_parse_openssl_csr),
      cmocka_unit_test(test_tampered),
      cmocka_unit_test(test_garbage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
