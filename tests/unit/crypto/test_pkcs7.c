/* test_pkcs7.c — certs-only SignedData (build and strict parse) and the
 * base64 transfer encoding of EST bodies. Neutral code, run in both
 * builds. chain.p7b was written by `openssl crl2pkcs7 -nocrl` (make.sh):
 * we must read it, and our encoding of the same certificates must be the
 * same bytes. */
#include <stdlib.h>

#include "common/crypto/pkcs7.h"
#include "tests/unit/crypto/cryptotest.h"

/* The DER of the certificates in chain.pem; caller clears the list. */
static void load_chain(ck_cert_list *l, ck_pkcs7_cert *slices) {
  size_t len, i;
  uint8_t *pem = ct_load("chain.pem", &len);

  assert_int_equal(ck_cert_list_parse(l, pem, len, NULL), CK_OK);
  assert_int_equal(l->n, 2);
  for (i = 0; i < l->n; i++)
    slices[i].der = ck_cert_der(l->certs[i], &slices[i].len);
  free(pem);
}

static void test_build_matches_openssl(void **state) {
  ck_cert_list l = {0};
  ck_pkcs7_cert in[2], got[4];
  uint8_t *der = NULL, *ref;
  size_t len, rlen, n = 0;

  (void)state;
  load_chain(&l, in);
  ref = ct_load("chain.p7b", &rlen);
  assert_int_equal(ck_pkcs7_certs_only_build(in, 2, &der, &len, NULL), CK_OK);
  assert_int_equal(len, rlen);
  assert_memory_equal(der, ref, len);
  /* and back */
  assert_int_equal(ck_pkcs7_certs_only_parse(ref, rlen, got, 4, &n, NULL),
                   CK_OK);
  assert_int_equal(n, 2);
  assert_int_equal(got[0].len, in[0].len);
  assert_memory_equal(got[0].der, in[0].der, in[0].len);
  assert_memory_equal(got[1].der, in[1].der, in[1].len);
  free(der);
  free(ref);
  ck_cert_list_clear(&l);
}

static void test_parse_list_and_empty(void **state) {
  ck_cert_list l = {0}, out = {0};
  ck_pkcs7_cert in[2], got[1];
  uint8_t *der = NULL;
  size_t len, n = 9;
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  load_chain(&l, in);
  assert_int_equal(ck_pkcs7_certs_only_build(in, 2, &der, &len, NULL), CK_OK);
  assert_int_equal(ck_pkcs7_certs_only_parse_list(der, len, &out, NULL), CK_OK);
  assert_int_equal(out.n, 2);
  assert_string_equal(ck_cert_get_info(out.certs[0])->subject_cn,
                      "www.example.com");
  /* a capacity of 1 is a limit, not a crash */
  assert_int_equal(ck_pkcs7_certs_only_parse(der, len, got, 1, &n, &err),
                   CK_ERR_LIMIT);
  assert_int_equal(n, 9);
  free(der);
  /* an empty bag is valid */
  assert_int_equal(ck_pkcs7_certs_only_build(NULL, 0, &der, &len, NULL), CK_OK);
  n = 9;
  assert_int_equal(ck_pkcs7_certs_only_parse(der, len, got, 1, &n, NULL),
                   CK_OK);
  assert_int_equal(n, 0);
  free(der);
  ck_cert_list_clear(&out);
  ck_cert_list_clear(&l);
}

static void test_build_refuses_non_der(void **state) {
  ck_pkcs7_cert bad = {(const uint8_t *)"\x30\x05\x01", 3};
  uint8_t *der = NULL;
  size_t len;
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  assert_int_equal(ck_pkcs7_certs_only_build(&bad, 1, &der, &len, &err),
                   CK_ERR_INVAL);
  assert_non_null(strstr(ck_errctx_msg(&err), "certificate 0"));
  assert_null(der);
}

static void test_truncated_and_trailing(void **state) {
  ck_pkcs7_cert got[4];
  uint8_t *ref, *buf;
  size_t rlen, i, n;

  (void)state;
  ref = ct_load("chain.p7b", &rlen);
  for (i = 0; i < rlen; i++) {
    buf = malloc(i ? i : 1); /* exact size: ASan catches over-reads */
    memcpy(buf, ref, i);
    assert_int_not_equal(ck_pkcs7_certs_only_parse(buf, i, got, 4, &n, NULL),
                         CK_OK);
    free(buf);
  }
  buf = malloc(rlen + 1);
  memcpy(buf, ref, rlen);
  buf[rlen] = 0;
  assert_int_equal(ck_pkcs7_certs_only_parse(buf, rlen + 1, got, 4, &n, NULL),
                   CK_ERR_BAD_DER);
  free(buf);
  free(ref);
}

/* Returns a copy of chain.p7b with byte at off replaced by v. */
static uint8_t *patched(size_t off, uint8_t v, size_t *len) {
  uint8_t *ref = ct_load("chain.p7b", len);

  ref[off] = v;
  return ref;
}

static void test_garbage(void **state) {
  ck_pkcs7_cert got[4];
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t *b;
  size_t len, n;
  /* a minimal certs-only message, no certificates (what build(NULL, 0) gives)
   */
  static const uint8_t empty[] = {
      0x30, 0x23, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
      0x01, 0x07, 0x02, 0xa0, 0x16, 0x30, 0x14, 0x02, 0x01, 0x01,
      0x31, 0x00, 0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
      0xf7, 0x0d, 0x01, 0x07, 0x01, 0x31, 0x00};
  /* the same with a signerInfos SET holding a NULL */
  static const uint8_t signers[] = {
      0x30, 0x25, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
      0x01, 0x07, 0x02, 0xa0, 0x18, 0x30, 0x16, 0x02, 0x01, 0x01,
      0x31, 0x00, 0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
      0xf7, 0x0d, 0x01, 0x07, 0x01, 0x31, 0x02, 0x05, 0x00};
  uint8_t m[sizeof empty + 1], *built = NULL;
  size_t blen;

  (void)state;
  assert_int_equal(
      ck_pkcs7_certs_only_parse(empty, sizeof empty, got, 4, &n, NULL), CK_OK);
  assert_int_equal(n, 0);
  /* signedData OID changed to envelopedData (…07 03) */
  b = patched(14, 0x03, &len);
  assert_int_equal(ck_pkcs7_certs_only_parse(b, len, got, 4, &n, &err),
                   CK_ERR_PARSE);
  assert_non_null(strstr(ck_errctx_msg(&err), "signedData"));
  free(b);
  /* version 3 */
  b = patched(0x19, 0x03, &len);
  assert_int_equal(ck_pkcs7_certs_only_parse(b, len, got, 4, &n, NULL),
                   CK_ERR_PARSE);
  free(b);
  /* indefinite length on the outer SEQUENCE (BER) */
  b = patched(1, 0x80, &len);
  assert_int_equal(ck_pkcs7_certs_only_parse(b, len, got, 4, &n, NULL),
                   CK_ERR_BAD_DER);
  free(b);
  assert_int_equal(ck_pkcs7_certs_only_build(NULL, 0, &built, &blen, NULL),
                   CK_OK);
  assert_int_equal(blen, sizeof empty);
  assert_memory_equal(built, empty, blen);
  free(built);
  /* signers present */
  assert_int_equal(
      ck_pkcs7_certs_only_parse(signers, sizeof signers, got, 4, &n, &err),
      CK_ERR_PARSE);
  assert_non_null(strstr(ck_errctx_msg(&err), "signers"));
  /* non-minimal length: 0x81 0x23 for a 35-byte SEQUENCE */
  m[0] = 0x30;
  m[1] = 0x81;
  m[2] = 0x23;
  memcpy(m + 3, empty + 2, sizeof empty - 2);
  assert_int_equal(ck_pkcs7_certs_only_parse(m, sizeof m, got, 4, &n, &err),
                   CK_ERR_BAD_DER);
  /* not DER at all */
  assert_int_equal(
      ck_pkcs7_certs_only_parse((const uint8_t *)"hello", 5, got, 4, &n, NULL),
      CK_ERR_PARSE);
  assert_int_equal(ck_pkcs7_certs_only_parse(NULL, 0, got, 4, &n, NULL),
                   CK_ERR_BAD_DER);
}

static void test_b64(void **state) {
  static const char *const ok[][2] = {
      {"", ""},
      {"QQ==", "A"},
      {"QUI=", "AB"},
      {"QUJD", "ABC"},
      {"QUJD\r\nRA==\r\n", "ABCD"},
      {" QU JD\nRA ==", "ABCD"},
  };
  static const char *const bad[] = {
      "Q", "QQ=", "QQ=A", "Q===", "QUJD!", "QR==", "QQ==QQ==", "QUJ-"};
  uint8_t *out = NULL, data[300];
  char *text = NULL;
  size_t i, len, tl;
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    assert_int_equal(
        ck_b64_decode(ok[i][0], strlen(ok[i][0]), &out, &len, NULL), CK_OK);
    assert_int_equal(len, strlen(ok[i][1]));
    assert_memory_equal(out, ok[i][1], len);
    free(out);
  }
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    out = NULL;
    assert_int_equal(ck_b64_decode(bad[i], strlen(bad[i]), &out, &len, &err),
                     CK_ERR_PARSE);
    assert_null(out);
  }
  for (i = 0; i < sizeof data; i++)
    data[i] = (uint8_t)(i * 7 + 3);
  for (i = 0; i <= sizeof data; i += 37) {
    int lb;
    for (lb = 0; lb < 2; lb++) {
      assert_int_equal(ck_b64_encode(data, i, lb, &text, &tl, NULL), CK_OK);
      assert_int_equal(strlen(text), tl);
      if (!lb)
        assert_null(strchr(text, '\n'));
      else if (i > 48)
        assert_non_null(strstr(text, "\r\n"));
      assert_int_equal(ck_b64_decode(text, tl, &out, &len, NULL), CK_OK);
      assert_int_equal(len, i);
      if (i > 0)
        assert_memory_equal(out, data, i);
      free(out);
      free(text);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_build_matches_openssl),
      cmocka_unit_test(test_parse_list_and_empty),
      cmocka_unit_test(test_build_refuses_non_der),
      cmocka_unit_test(test_truncated_and_trailing),
      cmocka_unit_test(test_garbage),
      cmocka_unit_test(test_b64),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
