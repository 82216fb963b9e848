/* test_cert.c — certificate parsing into ck_cert_info, bundles, key match.
 *
 * Field values are compared with what the openssl CLI printed when the
 * fixtures were made (the .expect files in tests/data/crypto/), so both
 * backends are checked against an independent reader. */
#include "tests/unit/crypto/cryptotest.h"

static void check_expect(const char *expect, const ck_cert_info *in) {
  char hex[CK_SHA256_HEX_LEN], num[32];

  ct_assert_expect(expect, "sha256", in->sha256_hex);
  assert_ck_ok(
      ck_crypto_hex(in->spki_sha256, CK_SHA256_LEN, 0, hex, sizeof hex));
  ct_assert_expect(expect, "spki_sha256", hex);
  ct_assert_expect(expect, "serial", in->serial_hex);
  ct_assert_expect(expect, "subject", in->subject);
  ct_assert_expect(expect, "issuer", in->issuer);
  snprintf(num, sizeof num, "%lld", (long long)in->not_before);
  ct_assert_expect(expect, "not_before", num);
  snprintf(num, sizeof num, "%lld", (long long)in->not_after);
  ct_assert_expect(expect, "not_after", num);
  ct_assert_expect(expect, "ski", in->ski_hex);
  ct_assert_expect(expect, "aki", in->aki_hex);
}

static void test_leaf_fields(void **state) {
  static const struct {
    ck_san_type type;
    const char *value;
  } sans[] = {
      {CK_SAN_DNS, "www.example.com"},
      {CK_SAN_DNS, "example.com"},
      {CK_SAN_IP, "192.0.2.10"},
      {CK_SAN_IP, "2001:db8::1"},
      {CK_SAN_URI, "https://example.com/id"},
      {CK_SAN_EMAIL, "admin@example.com"},
  };
  ck_cert *c = ct_cert("leaf.crt");
  const ck_cert_info *in = ck_cert_get_info(c);
  size_t i;

  (void)state;
  check_expect("leaf.expect", in);
  assert_int_equal(in->version, 3);
  assert_string_equal(in->subject_cn, "www.example.com");
  assert_string_equal(in->sig_alg, "ecdsa-with-SHA256");
  assert_int_equal(in->key.type, CK_KEY_EC);
  assert_int_equal(in->key.bits, 256);
  assert_string_equal(in->key.curve, "P-256");
  assert_string_equal(in->key.desc, "EC P-256");
  assert_int_equal(in->n_sans, sizeof sans / sizeof sans[0]);
  for (i = 0; i < in->n_sans; i++) {
    assert_int_equal(in->sans[i].type, sans[i].type);
    assert_string_equal(in->sans[i].value, sans[i].value);
  }
  assert_int_equal(in->n_eku, 2);
  assert_string_equal(in->eku[0], "serverAuth");
  assert_string_equal(in->eku[1], "clientAuth");
  assert_true(in->has_basic_constraints);
  assert_false(in->is_ca);
  assert_int_equal(in->path_len, -1);
  assert_true(in->has_key_usage);
  assert_int_equal(in->key_usage, CK_KU_DIGITAL_SIGNATURE);
  assert_false(in->self_signed);
  ck_cert_free(c);
}

static void test_ca_fields(void **state) {
  ck_cert *root = ct_cert("root.crt"), *inter = ct_cert("inter.crt");
  const ck_cert_info *r = ck_cert_get_info(root), *i = ck_cert_get_info(inter);

  (void)state;
  check_expect("root.expect", r);
  check_expect("inter.expect", i);
  assert_true(r->self_signed);
  assert_true(r->is_ca);
  assert_int_equal(r->path_len, -1);
  assert_int_equal(r->key.type, CK_KEY_RSA);
  assert_int_equal(r->key.bits, 2048);
  assert_string_equal(r->key.desc, "RSA 2048");
  assert_string_equal(r->sig_alg, "sha256WithRSAEncryption");
  assert_int_equal(r->key_usage, CK_KU_KEY_CERT_SIGN | CK_KU_CRL_SIGN);
  assert_int_equal(r->n_sans, 0);
  assert_int_equal(r->n_eku, 0);

  assert_false(i->self_signed);
  assert_true(i->is_ca);
  assert_int_equal(i->path_len, 0);
  assert_string_equal(i->key.desc, "EC P-384");
  assert_int_equal(i->key.bits, 384);
  assert_string_equal(i->sig_alg, "sha256WithRSAEncryption");
  /* the intermediate's AKI is the root's SKI */
  assert_string_equal(i->aki_hex, r->ski_hex);
  ck_cert_free(root);
  ck_cert_free(inter);
}

static void test_other_key_types(void **state) {
  ck_cert *rsa = ct_cert("rsa.crt"), *ed = ct_cert("ed25519.crt");
  const ck_cert_info *r = ck_cert_get_info(rsa), *e = ck_cert_get_info(ed);

  (void)state;
  check_expect("rsa.expect", r);
  assert_string_equal(r->serial_hex, "ff01");
  assert_true(r->self_signed);
  assert_false(r->is_ca);
  assert_int_equal(r->n_sans, 1);
  assert_string_equal(r->sans[0].value, "self.example.com");
  /* Ed25519 certificates are inventoried by both builds (the fields come
   * from the neutral parser), even where the backend cannot use the key. */
  check_expect("ed25519.expect", e);
  assert_int_equal(e->key.type, CK_KEY_ED25519);
  assert_string_equal(e->key.desc, "Ed25519");
  assert_string_equal(e->sig_alg, "ED25519");
  assert_true(e->self_signed);
  ck_cert_free(rsa);
  ck_cert_free(ed);
}

/* UTF-8, RFC 4514 escaping, a multi-valued RDN, an unknown critical
 * extension: names print like `openssl x509 -nameopt RFC2253,-esc_msb`;
 * the certificate parses (inventory) but does not verify. */
static void test_awkward_names(void **state) {
  ck_cert *c = ct_cert("names.crt");
  const ck_cert_info *in = ck_cert_get_info(c);
  ck_cert_list self = {0};
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  check_expect("names.expect", in);
  assert_string_equal(in->subject, "emailAddress=a@b.c,CN=x.example.com+UID=42,"
                                   "OU=a\\+b\\;c,O=M\xc3\xbcller GmbH,C=DE");
  assert_string_equal(in->subject_cn, "x.example.com");
  assert_true(in->self_signed);
  assert_ck_ok(ck_cert_list_add(&self, ck_cert_dup(c)));
  assert_int_equal(ck_cert_verify(c, NULL, &self, in->not_before + 1, &err),
                   CK_ERR_VERIFY);
  ck_cert_list_clear(&self);
  ck_cert_free(c);
}

static void test_der_equals_pem(void **state) {
  ck_cert *pem = ct_cert("leaf.crt"), *der = ct_cert("leaf.der"), *dup;
  size_t a, b;

  (void)state;
  assert_string_equal(ck_cert_get_info(pem)->sha256_hex,
                      ck_cert_get_info(der)->sha256_hex);
  assert_int_equal(ck_cert_get_info(pem)->not_after,
                   ck_cert_get_info(der)->not_after);
  assert_memory_equal(ck_cert_der(pem, &a), ck_cert_der(der, &b), a);
  assert_int_equal(a, b);
  dup = ck_cert_dup(pem);
  assert_non_null(dup);
  assert_string_equal(ck_cert_get_info(dup)->subject,
                      ck_cert_get_info(pem)->subject);
  ck_cert_free(dup);
  ck_cert_free(pem);
  ck_cert_free(der);
  ck_cert_free(NULL);
}

static void test_bundle(void **state) {
  ck_cert_list l = {0};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_cert *first;
  size_t len;
  uint8_t *data = ct_load("chain.pem", &len);

  (void)state;
  assert_ck_ok(ck_cert_list_parse(&l, data, len, &err));
  assert_int_equal(l.n, 2);
  assert_string_equal(ck_cert_get_info(l.certs[0])->subject_cn,
                      "www.example.com");
  assert_string_equal(ck_cert_get_info(l.certs[1])->subject_cn,
                      "certkeeper Test Intermediate CA");
  /* single-cert parse takes the first block */
  assert_ck_ok(ck_cert_parse(data, len, &first, &err));
  ct_assert_expect("leaf.expect", "sha256",
                   ck_cert_get_info(first)->sha256_hex);
  ck_cert_free(first);
  free(data);

  /* appending a DER certificate */
  data = ct_load("leaf.der", &len);
  assert_ck_ok(ck_cert_list_parse(&l, data, len, &err));
  assert_int_equal(l.n, 3);
  free(data);

  /* the certificate of a combined cert+key file */
  data = ct_load("combined.pem", &len);
  assert_ck_ok(ck_cert_list_parse(&l, data, len, &err));
  assert_int_equal(l.n, 4);
  free(data);
  ck_cert_list_clear(&l);
  assert_int_equal(l.n, 0);
  ck_cert_list_clear(&l);
}

static void test_bundle_bad_member(void **state) {
  ck_cert_list l = {0};
  ck_errctx err = CK_ERRCTX_INIT;
  size_t len, n;
  uint8_t *leaf = ct_load("leaf.crt", &len);
  char *bundle;
  static const char bad[] = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n"
                            "-----END CERTIFICATE-----\n";

  (void)state;
  n = len + sizeof bad;
  bundle = malloc(n);
  memcpy(bundle, leaf, len);
  memcpy(bundle + len, bad, sizeof bad);
  assert_int_equal(ck_cert_list_parse(&l, (uint8_t *)bundle, n - 1, &err),
                   CK_ERR_BAD_CERT);
  assert_non_null(strstr(ck_errctx_msg(&err), "#2"));
  assert_int_equal(l.n, 0); /* unchanged on failure */
  free(bundle);
  free(leaf);
}

static void test_garbage(void **state) {
  static const char no_cert[] =
      "-----BEGIN FOO-----\nAQID\n-----END FOO-----\n";
  static const char bad_b64[] = "-----BEGIN CERTIFICATE-----\n!!!!\n"
                                "-----END CERTIFICATE-----\n";
  static const uint8_t not_der[] = "hello, world";
  static const uint8_t not_cert[] = {0x30, 0x03, 0x02, 0x01, 0x01};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_cert *c = NULL;
  size_t len, i;
  uint8_t *der = ct_load("leaf.der", &len), *copy;

  (void)state;
  assert_int_equal(ck_cert_parse(not_der, sizeof not_der - 1, &c, &err),
                   CK_ERR_BAD_DER);
  assert_int_equal(ck_cert_parse(not_der, 0, &c, &err), CK_ERR_BAD_DER);
  assert_int_equal(ck_cert_parse(not_cert, sizeof not_cert, &c, &err),
                   CK_ERR_BAD_CERT);
  assert_int_equal(
      ck_cert_parse((const uint8_t *)no_cert, sizeof no_cert - 1, &c, &err),
      CK_ERR_BAD_PEM);
  assert_int_equal(
      ck_cert_parse((const uint8_t *)bad_b64, sizeof bad_b64 - 1, &c, &err),
      CK_ERR_BAD_PEM);
  /* every truncation of a valid certificate fails cleanly */
  for (i = 0; i < len; i += 7) {
    ck_err rc = ck_cert_parse(der, i, &c, &err);
    assert_true(rc == CK_ERR_BAD_DER || rc == CK_ERR_BAD_CERT);
  }
  /* every single-byte corruption either parses or fails with a code */
  copy = malloc(len);
  for (i = 0; i < len; i++) {
    ck_err rc;
    memcpy(copy, der, len);
    copy[i] ^= 0x5a;
    rc = ck_cert_parse(copy, len, &c, &err);
    if (rc == CK_OK)
      ck_cert_free(c);
    else
      assert_true(rc == CK_ERR_BAD_DER || rc == CK_ERR_BAD_CERT);
    c = NULL;
  }
  assert_null(c);
  free(copy);
  free(der);
}

static void test_key_match(void **state) {
  ck_cert *leaf = ct_cert("leaf.crt"), *root = ct_cert("root.crt"),
          *rsa = ct_cert("rsa.crt");
  ck_key *leaf_key = ct_key("leaf.key"), *rsa_key = ct_key("rsa.key"),
         *rsa8 = ct_key("rsa-pkcs8.key");
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  assert_ck_ok(ck_key_match_cert(leaf_key, leaf, &err));
  assert_ck_ok(ck_key_match_cert(rsa_key, rsa, &err));
  assert_ck_ok(ck_key_match_cert(rsa8, rsa, &err));
  assert_int_equal(ck_key_match_cert(leaf_key, root, &err),
                   CK_ERR_KEY_MISMATCH);
  assert_int_equal(ck_key_match_cert(rsa_key, root, &err), CK_ERR_KEY_MISMATCH);
  assert_int_equal(ck_key_match_cert(rsa_key, leaf, &err), CK_ERR_KEY_MISMATCH);
  ck_key_free(leaf_key);
  ck_key_free(rsa_key);
  ck_key_free(rsa8);
  ck_cert_free(leaf);
  ck_cert_free(root);
  ck_cert_free(rsa);
}

static void test_key_match_ed25519(void **state) {
  ck_cert *ed, *leaf;
  ck_key *k;
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  CK_SKIP_UNLESS(CK_CAP_ED25519, "no Ed25519 keys in mbedTLS 2.28");
  ed = ct_cert("ed25519.crt");
  leaf = ct_cert("leaf.crt");
  k = ct_key("ed25519.key");
  assert_ck_ok(ck_key_match_cert(k, ed, &err));
  assert_int_equal(ck_key_match_cert(k, leaf, &err), CK_ERR_KEY_MISMATCH);
  ck_key_free(k);
  ck_cert_free(ed);
  ck_cert_free(leaf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_leaf_fields),
      cmocka_unit_test(test_ca_fields),
      cmocka_unit_test(test_other_key_types),
      cmocka_unit_test(test_awkward_names),
      cmocka_unit_test(test_der_equals_pem),
      cmocka_unit_test(test_bundle),
      cmocka_unit_test(test_bundle_bad_member),
      cmocka_unit_test(test_garbage),
      cmocka_unit_test(test_key_match),
      cmocka_unit_test(test_key_match_ed25519),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
