/* test_keypeek.c — ck_key_peek_spki_sha256 (common/crypto/keypeek.c), the
 * cheap public-key hash discovery uses for key files: for every private key
 * under tests/data and for fresh keys of each type in each encoding it
 * must give exactly what ck_key_parse + ck_key_spki_sha256 give (or decline
 * with CK_ERR_UNSUPPORTED), and refuse garbage and encrypted keys. */
#define _GNU_SOURCE
#include "tests/testutil.h"

#include <dirent.h>
#include <string.h>

#include "common/crypto/crypto.h"

static int peeked, declined;

/* Compares peek with the full parse for data; returns 1 when peek gave a
 * result. */
static int compare(const uint8_t *data, size_t len, const char *what) {
  ck_key *key = NULL;
  ck_key_info ki;
  uint8_t full[CK_SHA256_LEN], fast[CK_SHA256_LEN];
  ck_key_type t;
  unsigned bits;
  ck_errctx e = CK_ERRCTX_INIT;
  ck_err pr = ck_key_peek_spki_sha256(data, len, &t, &bits, fast, &e);
  ck_err kr = ck_key_parse(data, len, &key, &e);

  if (kr == CK_ERR_KEY_ENCRYPTED) {
    assert_int_equal(pr, CK_ERR_KEY_ENCRYPTED);
    return 0;
  }
  if (kr != CK_OK) { /* the backend cannot read it: peek must not claim */
    if (pr == CK_OK)
      print_message("note: %s peeked but not parseable by %s\n", what,
                    ck_crypto_backend());
    return 0;
  }
  assert_int_equal(ck_key_spki_sha256(key, full, &e), CK_OK);
  ck_key_get_info(key, &ki);
  ck_key_free(key);
  if (pr == CK_ERR_UNSUPPORTED) {
    declined++;
    return 0;
  }
  if (pr != CK_OK)
    fail_msg("%s: peek failed: %s", what, ck_errctx_msg(&e));
  if (memcmp(full, fast, sizeof(full)) != 0)
    fail_msg("%s: public key hashes differ", what);
  assert_int_equal(t, ki.type);
  assert_int_equal(bits, ki.bits);
  peeked++;
  return 1;
}

static void scan_dir(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *de;
  assert_non_null(d);
  while ((de = readdir(d)) != NULL) {
    char p[1024];
    size_t n = strlen(de->d_name), len = 0;
    char *data;
    if (n < 5 || strcmp(de->d_name + n - 4, ".key") != 0)
      continue;
    snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
    assert_int_equal(ck_test_sh(NULL, "test -r '%s'", p), 0);
    {
      FILE *fp = fopen(p, "rb");
      assert_non_null(fp);
      data = malloc(1 << 20);
      assert_non_null(data);
      len = fread(data, 1, 1 << 20, fp);
      fclose(fp);
    }
    compare((const uint8_t *)data, len, p);
    free(data);
  }
  closedir(d);
}

static void test_fixture_keys(void **state) {
  char dir[600];
  (void)state;
  peeked = declined = 0;
  snprintf(dir, sizeof(dir), "%s", ck_test_data("tls"));
  scan_dir(dir);
  snprintf(dir, sizeof(dir), "%s", ck_test_data("discover/tree/keys"));
  scan_dir(dir);
  snprintf(dir, sizeof(dir), "%s", ck_test_data("discover/tree/weak"));
  scan_dir(dir);
  print_message("peeked %d, declined %d\n", peeked, declined);
  assert_true(peeked >= 10);
}

/* Fresh keys of every type, exported in each PEM form, and as DER. */
static void test_generated(void **state) {
  static const char *const specs[] = {"ec-p256", "ec-p384", "rsa-2048",
                                      "ed25519"};
  (void)state;
  peeked = 0;
  for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
    ck_key_spec spec;
    ck_key *key = NULL;
    ck_errctx e = CK_ERRCTX_INIT;
    assert_int_equal(ck_key_spec_parse(specs[i], &spec, &e), CK_OK);
    if (ck_key_generate(&spec, &key, &e) != CK_OK) {
      print_message("skip %s: %s\n", specs[i], ck_errctx_msg(&e));
      continue;
    }
    for (int f = 0; f < 2; f++) {
      char *pem = NULL;
      size_t len = 0;
      ck_pem_block b;
      size_t pos = 0;
      if (ck_key_export_pem(key, f ? CK_KEY_PEM_TRADITIONAL : CK_KEY_PEM_PKCS8,
                            &pem, &len, &e) != CK_OK)
        continue;
      compare((const uint8_t *)pem, len, specs[i]);
      /* and the same as DER */
      memset(&b, 0, sizeof(b));
      assert_int_equal(
          ck_pem_next((const uint8_t *)pem, len, &pos, &b, &e), CK_OK);
      compare(b.der, b.der_len, specs[i]);
      ck_pem_block_clear(&b);
      ck_crypto_free_secret(pem, len);
    }
    ck_key_free(key);
  }
  assert_true(peeked >= 6); /* EC and RSA in both forms, PEM and DER */
}

static void test_bad_input(void **state) {
  static const char *const bad[] = {
      "",
      "garbage",
      "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
      "-----BEGIN EC PRIVATE KEY-----\nMAA=\n-----END EC PRIVATE KEY-----\n",
      "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
  };
  static const uint8_t der_trunc[] = {0x30, 0x82, 0x01, 0x00, 0x02, 0x01};
  uint8_t out[CK_SHA256_LEN];
  ck_key_type t;
  unsigned bits;
  ck_errctx e = CK_ERRCTX_INIT;
  char *enc = ck_test_slurp("discover/tree/keys/encrypted.key", NULL);
  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_not_equal(ck_key_peek_spki_sha256((const uint8_t *)bad[i],
                                                 strlen(bad[i]), &t, &bits,
                                                 out, &e),
                         CK_OK);
  assert_int_not_equal(ck_key_peek_spki_sha256(der_trunc, sizeof(der_trunc),
                                               &t, &bits, out, &e),
                       CK_OK);
  assert_int_equal(ck_key_peek_spki_sha256((const uint8_t *)enc, strlen(enc),
                                           &t, &bits, out, &e),
                   CK_ERR_KEY_ENCRYPTED);
  assert_int_equal(ck_key_peek_spki_sha256(NULL, 0, &t, &bits, out, &e),
                   CK_ERR_INVAL);
  free(enc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fixture_keys),
      cmocka_unit_test(test_generated),
      cmocka_unit_test(test_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
