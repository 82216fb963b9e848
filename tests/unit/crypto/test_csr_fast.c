/* test_csr_fast.c — the issuance hot path's cheaper parses: CSR signature
 * checks for every key and digest the OpenSSL backend's fast path handles
 * (and the fallback for what it does not), a public key that is not a
 * point of its curve, and ck_cert_parse_fields (the fields of a
 * certificate without the backend's object). Runs in both builds: the
 * behaviour is the contract, whichever path a backend takes. */
#include "tests/unit/crypto/cryptotest.h"

#include <stdlib.h>
#include <string.h>

static const ck_name_attr subject[] = {{"CN", "fast.example.test"}};
static const ck_san sans[] = {{CK_SAN_DNS, "fast.example.test"}};

static ck_csr *make_csr(const char *spec_text, ck_key **key_out) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_key_spec spec;
  ck_key *key = NULL;
  ck_csr *csr = NULL;
  ck_csr_req req = {subject, 1, sans, 1};

  assert_int_equal(ck_key_spec_parse(spec_text, &spec, &err), CK_OK);
  if (ck_key_generate(&spec, &key, &err) != CK_OK ||
      ck_csr_create(key, &req, &csr, &err) != CK_OK)
    fail_msg("%s: %s", spec_text, ck_errctx_msg(&err));
  if (key_out != NULL)
    *key_out = key;
  else
    ck_key_free(key);
  return csr;
}

/* Parses a modified copy of csr's DER; returns the verify outcome. */
static ck_err verify_modified(const ck_csr *csr, size_t at, uint8_t xor_mask) {
  ck_errctx err = CK_ERRCTX_INIT;
  const uint8_t *der;
  uint8_t *copy;
  size_t len;
  ck_csr *bad = NULL;
  ck_err rc;

  der = ck_csr_der(csr, &len);
  assert_true(at < len);
  copy = malloc(len);
  assert_non_null(copy);
  memcpy(copy, der, len);
  copy[at] ^= xor_mask;
  rc = ck_csr_parse(copy, len, &bad, &err);
  if (rc == CK_OK) {
    rc = ck_csr_verify(bad, &err);
    ck_csr_free(bad);
  }
  free(copy);
  return rc;
}

static void check_spec(const char *spec) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_csr *csr = make_csr(spec, NULL), *again = NULL;
  const uint8_t *der, *spki;
  size_t len, spki_len, key_at;

  der = ck_csr_der(csr, &len);
  /* a fresh parse of the bytes verifies (the path the coordinator takes) */
  assert_int_equal(ck_csr_parse(der, len, &again, &err), CK_OK);
  if (ck_csr_verify(again, &err) != CK_OK)
    fail_msg("%s: %s", spec, ck_errctx_msg(&err));
  assert_string_equal(ck_csr_get_info(again)->subject_cn, "fast.example.test");
  ck_csr_free(again);
  /* last signature byte */
  assert_int_not_equal(verify_modified(csr, len - 1, 0x01), CK_OK);
  /* a byte of the public key (its last: an EC point's y, the RSA
   * exponent's, an Ed25519 key's) */
  spki = ck_csr_spki(csr, &spki_len);
  key_at = (size_t)(spki - der) + spki_len - 1;
  assert_int_not_equal(verify_modified(csr, key_at, 0x04), CK_OK);
  ck_csr_free(csr);
}

static void test_ec_p256(void **state) {
  (void)state;
  check_spec("ec-p256");
}

static void test_ec_p384(void **state) {
  (void)state;
  check_spec("ec-p384");
}

static void test_rsa(void **state) {
  (void)state;
  check_spec("rsa-2048");
}

static void test_ed25519(void **state) {
  (void)state;
  CK_SKIP_UNLESS(CK_CAP_ED25519, "no Ed25519");
  check_spec("ed25519");
}

/* A P-256 "point" that is not on the curve: the key cannot be used, the
 * signature never verifies (whichever error says so). */
static void test_point_off_curve(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_csr *csr = make_csr("ec-p256", NULL), *bad = NULL;
  const uint8_t *der, *spki;
  uint8_t *copy;
  size_t len, spki_len, x_at;

  (void)state;
  der = ck_csr_der(csr, &len);
  spki = ck_csr_spki(csr, &spki_len);
  /* the SPKI ends with 04 || x (32) || y (32): change x, keep y */
  x_at = (size_t)(spki - der) + spki_len - 64;
  assert_int_equal(der[x_at - 1], 0x04);
  copy = malloc(len);
  assert_non_null(copy);
  memcpy(copy, der, len);
  memset(copy + x_at, 0x11, 32);
  if (ck_csr_parse(copy, len, &bad, &err) == CK_OK) {
    assert_int_not_equal(ck_csr_verify(bad, &err), CK_OK);
    ck_csr_free(bad);
  }
  free(copy);
  ck_csr_free(csr);
}

/* CSRs from the openssl CLI with digests and curves our own builder does
 * not choose: other digests on the fast path, and secp256k1 (a curve the
 * fast path leaves to the backend's full parser). */
static void test_openssl_cli_variants(void **state) {
  static const struct {
    const char *keyopt, *digest;
  } cases[] = {
      {"ec -pkeyopt ec_paramgen_curve:P-256", "sha384"},
      {"ec -pkeyopt ec_paramgen_curve:P-384", "sha512"},
      {"ec -pkeyopt ec_paramgen_curve:P-521", "sha512"},
      {"rsa:2048", "sha512"},
      {"ec -pkeyopt ec_paramgen_curve:secp256k1", "sha256"},
  };
  ck_errctx err = CK_ERRCTX_INIT;
  char *dir, *out = NULL;
  size_t i, len;
  uint8_t *data;

  (void)state;
  if (!ck_test_have("openssl"))
    skip();
  dir = ck_test_tmpdir();
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ck_csr *csr = NULL;
    ck_err rc;
    int st = ck_test_sh(&out,
                        "openssl req -new -newkey %s -nodes -keyout %s/k.pem "
                        "-subj /CN=cli.example.test -%s -outform DER -out %s/r.der",
                        cases[i].keyopt, dir, cases[i].digest, dir);
    if (st != 0)
      fail_msg("openssl req (%s): %s", cases[i].keyopt, out ? out : "");
    free(out);
    out = NULL;
    {
      char path[4200];
      FILE *f;
      snprintf(path, sizeof path, "%s/r.der", dir);
      f = fopen(path, "rb");
      assert_non_null(f);
      data = malloc(8192);
      assert_non_null(data);
      len = fread(data, 1, 8192, f);
      fclose(f);
    }
    rc = ck_csr_parse(data, len, &csr, &err);
    if (rc != CK_OK)
      fail_msg("parse (%s, %s): %s", cases[i].keyopt, cases[i].digest,
               ck_errctx_msg(&err));
    rc = ck_csr_verify(csr, &err);
    if (rc != CK_OK && !(rc == CK_ERR_UNSUPPORTED && strstr(cases[i].keyopt, "secp256k1")))
      fail_msg("verify (%s, %s): %s", cases[i].keyopt, cases[i].digest,
               ck_errctx_msg(&err));
    /* and the same request with its last signature byte changed */
    ck_csr_free(csr);
    data[len - 1] ^= 0x01;
    csr = NULL;
    if (ck_csr_parse(data, len, &csr, &err) == CK_OK) {
      assert_int_not_equal(ck_csr_verify(csr, &err), CK_OK);
      ck_csr_free(csr);
    }
    free(data);
  }
  ck_test_rmtree(dir);
  free(dir);
}

/* ck_cert_parse_fields gives the same fields as ck_cert_parse, and a
 * certificate that cannot be verified. */
static void test_parse_fields(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_cert *full = NULL, *fields = NULL, *root = ct_cert("root.crt");
  ck_cert_list trusted = {0};
  const ck_cert_info *a, *b;
  const uint8_t *d1, *d2;
  size_t len, l1, l2, i;
  uint8_t *der = ct_load("leaf.der", &len);

  (void)state;
  assert_int_equal(ck_cert_parse(der, len, &full, &err), CK_OK);
  assert_int_equal(ck_cert_parse_fields(der, len, &fields, &err), CK_OK);
  a = ck_cert_get_info(full);
  b = ck_cert_get_info(fields);
  assert_string_equal(a->serial_hex, b->serial_hex);
  assert_string_equal(a->subject, b->subject);
  assert_string_equal(a->issuer, b->issuer);
  assert_string_equal(a->sig_alg, b->sig_alg);
  assert_string_equal(a->key.desc, b->key.desc);
  assert_string_equal(a->sha256_hex, b->sha256_hex);
  assert_memory_equal(a->spki_sha256, b->spki_sha256, CK_SHA256_LEN);
  assert_true(a->not_before == b->not_before && a->not_after == b->not_after);
  assert_int_equal(a->self_signed, b->self_signed);
  assert_int_equal(a->n_sans, b->n_sans);
  for (i = 0; i < a->n_sans; i++)
    assert_string_equal(a->sans[i].value, b->sans[i].value);
  d1 = ck_cert_der(full, &l1);
  d2 = ck_cert_der(fields, &l2);
  assert_int_equal(l1, l2);
  assert_memory_equal(d1, d2, l1);
  /* fields only: no chain verification */
  assert_int_equal(ck_cert_list_add(&trusted, root), CK_OK);
  assert_int_equal(ck_cert_verify(fields, NULL, &trusted, 0, &err),
                   CK_ERR_UNSUPPORTED);
  /* the same refusals as a DER parse */
  assert_int_equal(ck_cert_parse_fields(der, 3, &fields, &err), CK_ERR_BAD_DER);
  assert_int_equal(ck_cert_parse_fields(NULL, 3, &fields, &err), CK_ERR_INVAL);
  {
    ck_csr *csr = make_csr("ec-p256", NULL);
    ck_cert *none = NULL;
    const uint8_t *cd = ck_csr_der(csr, &l1);
    assert_int_equal(ck_cert_parse_fields(cd, l1, &none, &err), CK_ERR_BAD_CERT);
    assert_null(none);
    ck_csr_free(csr);
  }
  ck_cert_list_clear(&trusted);
  ck_cert_free(full);
  ck_cert_free(fields);
  free(der);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ec_p256),
      cmocka_unit_test(test_ec_p384),
      cmocka_unit_test(test_rsa),
      cmocka_unit_test(test_ed25519),
      cmocka_unit_test(test_point_off_curve),
      cmocka_unit_test(test_openssl_cli_variants),
      cmocka_unit_test(test_parse_fields),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
