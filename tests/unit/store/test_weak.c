/* test_weak.c — the weakness rules, rule by rule on hand-made field sets,
 * then on real certificates through ck_store_cert_from: the test PKI's
 * leaf (clean), its root (a CA: not a "self-signed leaf"), a self-signed
 * leaf, an expired certificate, and an RSA-1024/SHA-1 certificate made by
 * the openssl CLI (`openssl req -x509` marks it CA:TRUE, but it carries a
 * SAN: it is a leaf in use). */
#include "tests/unit/store/fixture.h"

#include <stdlib.h>

static ck_cert_info clean(void) {
  ck_cert_info ci;

  memset(&ci, 0, sizeof ci);
  ci.key.type = CK_KEY_EC;
  ci.key.bits = 256;
  ci.sig_alg = "ecdsa-with-SHA256";
  ci.not_before = FX_NOW - FX_DAY;
  ci.not_after = FX_NOW + 90 * FX_DAY;
  ci.subject = "CN=a";
  ci.issuer = "CN=ca";
  return ci;
}

static void rules(void **state) {
  ck_cert_info ci;
  char reason[512];
  static const ck_san sans[] = {{CK_SAN_DNS, "a.example.com"}};
  static const char *const eku[] = {"serverAuth"};

  (void)state;
  ci = clean();
  assert_int_equal(ck_store_weak_eval(&ci, FX_NOW, reason, sizeof reason), 0);
  assert_string_equal(reason, "");

  ci.key.type = CK_KEY_RSA;
  ci.key.bits = 2048;
  assert_int_equal(ck_store_weak_eval(&ci, FX_NOW, reason, sizeof reason), 0);
  ci.key.bits = 1024;
  assert_int_equal(ck_store_weak_eval(&ci, FX_NOW, reason, sizeof reason),
                   CK_WEAK_RSA_SMALL);
  assert_string_equal(reason, "RSA key of 1024 bits (< 2048)");
  ci.key.type = CK_KEY_DSA;
  assert_int_equal(ck_store_weak_eval(&ci, FX_NOW, reason, sizeof reason),
                   CK_WEAK_RSA_SMALL);
  assert_string_equal(reason, "DSA key of 1024 bits (< 2048)");
  ci.key.type = CK_KEY_EC; /* 1024 "bits" of EC is not an RSA rule */
  assert_int_equal(ck_store_weak_eval(&ci, FX_NOW, reason, sizeof reason), 0);

  ci = clean();
  ci.sig_alg = "sha1WithRSAEncryption";
  assert_int_equal(ck_store_weak_eval(&ci, FX_NOW, reason, sizeof reason),
                   CK_WEAK_SHA1);
  assert_string_equal(reason, "weak signature hash (sha1WithRSAEncryption)");
  ci.sig_alg = "ecdsa-with-SHA1";
  assert_int_equal(ck_store_weak_eval(&ci, FX_NOW, NULL, 0), CK_WEAK_SHA1);
  ci.sig_alg = "md5WithRSAEncryption";
  assert_int_equal(ck_store_weak_eval(&ci, FX_NOW, NULL, 0), CK_WEAK_SHA1);
  ci.sig_alg = "1.2.840.113549.1.1.5";
  assert_int_equal(ck_store_weak_eval(&ci, FX_NOW, NULL, 0), CK_WEAK_SHA1);
  ci.sig_alg = "sha256WithRSAEncryption";
  assert_int_equal(ck_store_weak_eval(&ci, FX_NOW, NULL, 0), 0);
  ci.sig_alg = "ED25519";
  assert_int_equal(ck_store_weak_eval(&ci, FX_NOW, NULL, 0), 0);

  ci = clean();
  ci.not_after = FX_NOW - 1;
  assert_int_equal(ck_store_weak_eval(&ci, FX_NOW, reason, sizeof reason),
                   CK_WEAK_EXPIRED);
  assert_string_equal(reason, "expired 2030-03-17T17:46:39Z");
  ci.not_after = FX_NOW; /* valid through its last second */
  assert_int_equal(ck_store_weak_eval(&ci, FX_NOW, NULL, 0), 0);

  ci = clean();
  ci.self_signed = 1;
  assert_int_equal(ck_store_weak_eval(&ci, FX_NOW, reason, sizeof reason),
                   CK_WEAK_SELF_SIGNED);
  assert_string_equal(reason, "self-signed leaf");
  ci.is_ca = 1; /* a root CA */
  assert_int_equal(ck_store_weak_eval(&ci, FX_NOW, NULL, 0), 0);
  ci.sans = sans; /* ... that carries a SAN is served as a leaf */
  ci.n_sans = 1;
  assert_int_equal(ck_store_weak_eval(&ci, FX_NOW, NULL, 0),
                   CK_WEAK_SELF_SIGNED);
  ci.n_sans = 0;
  ci.eku = eku;
  ci.n_eku = 1;
  assert_int_equal(ck_store_weak_eval(&ci, FX_NOW, NULL, 0),
                   CK_WEAK_SELF_SIGNED);
  ci.n_eku = 0;
  ci.has_key_usage = 1;
  ci.key_usage = CK_KU_DIGITAL_SIGNATURE;
  assert_int_equal(ck_store_weak_eval(&ci, FX_NOW, NULL, 0),
                   CK_WEAK_SELF_SIGNED);
  ci.key_usage |= CK_KU_KEY_CERT_SIGN;
  assert_int_equal(ck_store_weak_eval(&ci, FX_NOW, NULL, 0), 0);

  /* all at once, reasons joined in a fixed order; a short buffer
   * truncates but stays terminated */
  ci = clean();
  ci.key.type = CK_KEY_RSA;
  ci.key.bits = 512;
  ci.sig_alg = "sha1WithRSAEncryption";
  ci.not_after = FX_NOW - FX_DAY;
  ci.self_signed = 1;
  assert_int_equal(ck_store_weak_eval(&ci, FX_NOW, reason, sizeof reason),
                   CK_WEAK_RSA_SMALL | CK_WEAK_SHA1 | CK_WEAK_EXPIRED |
                       CK_WEAK_SELF_SIGNED);
  assert_string_equal(reason, "RSA key of 512 bits (< 2048); weak signature "
                              "hash (sha1WithRSAEncryption); expired "
                              "2030-03-16T17:46:40Z; self-signed leaf");
  assert_int_equal(ck_store_weak_eval(&ci, FX_NOW, reason, 20), 15);
  assert_true(strlen(reason) < 20);
  assert_int_equal(ck_store_weak_eval(NULL, FX_NOW, reason, sizeof reason), 0);
}

/* Parses a certificate file from tests/data into a record at time now. */
static ck_cert *load(const char *rel, fx *f, int64_t now, ck_store_cert *c) {
  size_t len = 0;
  char *data = ck_test_slurp(rel, &len);
  ck_cert *cert = NULL;
  ck_errctx e = CK_ERRCTX_INIT;

  assert_int_equal(ck_cert_parse((const uint8_t *)data, len, &cert, &e), CK_OK);
  free(data);
  assert_int_equal(ck_store_cert_from(cert, now, f->a, c, &e), CK_OK);
  return cert;
}

static void real_certificates(void **state) {
  fx f;
  ck_store_cert c, got;
  ck_cert *cert;
  ck_errctx e = CK_ERRCTX_INIT;
  int64_t now = 1900000000;

  (void)state;
  fx_setup(&f);
  /* the test PKI's leaf: clean; stored and read back unchanged */
  cert = load("crypto/leaf.crt", &f, now, &c);
  assert_int_equal(c.weak_flags, 0);
  assert_string_equal(c.weak_reason, "");
  assert_string_equal(c.key_type, "EC");
  assert_int_equal(c.key_bits, 256);
  assert_string_equal(c.sig_alg, "ecdsa-with-SHA256");
  assert_int_equal(c.status, CK_CERT_ACTIVE);
  assert_non_null(strstr(c.subject, "CN=www.example.com"));
  assert_non_null(strstr(c.sans, "DNS:www.example.com"));
  assert_string_equal(c.fingerprint, ck_cert_get_info(cert)->sha256_hex);
  c.owner = "web";
  fx_put_cert(&f, &c);
  assert_int_equal(ck_store_cert_get(f.s, c.fingerprint, 1, f.a, &got, &e),
                   CK_OK);
  assert_string_equal(got.sans, c.sans);
  assert_string_equal(got.spki_sha256, c.spki_sha256);
  assert_int_equal(got.der_len, c.der_len);
  assert_memory_equal(got.der, c.der, c.der_len);
  {
    ck_cert *again = NULL;
    assert_int_equal(ck_cert_parse(got.der, got.der_len, &again, &e), CK_OK);
    assert_string_equal(ck_cert_get_info(again)->sha256_hex, c.fingerprint);
    ck_cert_free(again);
  }
  ck_cert_free(cert);

  /* a root CA is self-signed but not a leaf */
  cert = load("crypto/root.crt", &f, now, &c);
  assert_int_equal(c.weak_flags, 0);
  ck_cert_free(cert);
  /* a self-signed leaf */
  cert = load("crypto/rsa.crt", &f, now, &c);
  assert_int_equal(c.weak_flags, CK_WEAK_SELF_SIGNED);
  assert_string_equal(c.key_type, "RSA");
  assert_int_equal(c.key_bits, 2048);
  ck_cert_free(cert);
  /* expired */
  cert = load("crypto/expired.crt", &f, now, &c);
  assert_int_equal(c.weak_flags, CK_WEAK_EXPIRED);
  assert_int_equal(c.status, CK_CERT_EXPIRED);
  assert_non_null(strstr(c.weak_reason, "expired "));
  ck_cert_free(cert);
  fx_teardown(&f);
}

static void openssl_weak_certificate(void **state) {
  fx f;
  ck_store_cert c;
  ck_cert *cert = NULL;
  ck_errctx e = CK_ERRCTX_INIT;
  char *out = NULL, path[600];
  uint8_t *data = NULL;
  size_t len = 0;
  FILE *fp;
  long n;

  (void)state;
  if (!ck_test_have("openssl")) {
    skip();
    return;
  }
  fx_setup(&f);
  snprintf(path, sizeof path, "%s/weak.pem", f.dir);
  if (ck_test_sh(&out,
                 "openssl req -x509 -newkey rsa:1024 -sha1 -nodes -keyout "
                 "%s/weak.key -out %s -subj /CN=weak.example.com -days 30 "
                 "-addext subjectAltName=DNS:weak.example.com",
                 f.dir, path) != 0) {
    print_message("openssl cannot make an RSA-1024/SHA-1 cert: %s\n", out);
    free(out);
    fx_teardown(&f);
    skip();
    return;
  }
  free(out);
  fp = fopen(path, "rb");
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  data = malloc((size_t)n);
  assert_non_null(data);
  len = fread(data, 1, (size_t)n, fp);
  fclose(fp);
  assert_int_equal(ck_cert_parse(data, len, &cert, &e), CK_OK);
  assert_int_equal(
      ck_store_cert_from(cert, ck_cert_get_info(cert)->not_before, f.a, &c, &e),
      CK_OK);
  assert_int_equal(c.weak_flags,
                   CK_WEAK_RSA_SMALL | CK_WEAK_SHA1 | CK_WEAK_SELF_SIGNED);
  assert_string_equal(c.weak_reason,
                      "RSA key of 1024 bits (< 2048); weak signature hash "
                      "(sha1WithRSAEncryption); self-signed leaf");
  /* stored as discovered, it shows up under "weak" and "unmanaged" */
  c.source = CK_CERT_SRC_DISCOVERED;
  fx_put_cert(&f, &c);
  {
    ck_cert_filter q = {0};
    ck_store_page pg = {0};
    ck_store_cert *items = NULL;
    size_t k = 0;
    q.by = CK_CERTQ_WEAK;
    assert_int_equal(ck_store_cert_list(f.s, &q, &pg, f.a, &items, &k, &e),
                     CK_OK);
    assert_int_equal(k, 1);
    assert_string_equal(items[0].fingerprint, c.fingerprint);
    q.by = CK_CERTQ_UNMANAGED;
    assert_int_equal(ck_store_cert_list(f.s, &q, &pg, f.a, &items, &k, &e),
                     CK_OK);
    assert_int_equal(k, 1);
  }
  ck_cert_free(cert);
  free(data);
  fx_teardown(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(rules),
      cmocka_unit_test(real_certificates),
      cmocka_unit_test(openssl_weak_certificate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
