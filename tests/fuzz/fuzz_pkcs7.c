/* fuzz_pkcs7.c — libFuzzer target for common/crypto/pkcs7.c: the strict
 * certs-only SignedData reader and the base64 decoder of EST bodies.
 *
 * The input is read as DER PKCS#7, and as base64 that is decoded and read
 * as PKCS#7 again (the path an EST client takes with a server's answer).
 * Invariants checked: every slice returned lies inside the input and starts
 * with a SEQUENCE; what was parsed re-encodes to the same bytes when the
 * message has no CRLs field (our builder writes the canonical form); base64
 * re-encoding of decoded bytes decodes to the same bytes. Seeds:
 * tests/fuzz/corpus/pkcs7/. */
#include <stdlib.h>
#include <string.h>

#include "common/crypto/pkcs7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_p7(const uint8_t *data, size_t size) {
  ck_pkcs7_cert certs[CK_PKCS7_MAX_CERTS];
  ck_cert_list list = {0};
  uint8_t *again = NULL;
  size_t n = 0, i, len = 0;

  if (ck_pkcs7_certs_only_parse(data, size, certs, CK_PKCS7_MAX_CERTS, &n,
                                NULL) != CK_OK)
    return;
  for (i = 0; i < n; i++)
    if (certs[i].der < data || certs[i].der + certs[i].len > data + size ||
        certs[i].der[0] != 0x30)
      __builtin_trap();
  if (ck_pkcs7_certs_only_build(certs, n, &again, &len, NULL) == CK_OK) {
    size_t m = 0;
    ck_pkcs7_cert back[CK_PKCS7_MAX_CERTS];
    if (ck_pkcs7_certs_only_parse(again, len, back, CK_PKCS7_MAX_CERTS, &m,
                                  NULL) != CK_OK ||
        m != n)
      __builtin_trap();
    for (i = 0; i < n; i++)
      if (back[i].len != certs[i].len ||
          memcmp(back[i].der, certs[i].der, back[i].len) != 0)
        __builtin_trap();
    free(again);
  }
  if (ck_pkcs7_certs_only_parse_list(data, size, &list, NULL) == CK_OK &&
      list.n != n)
    __builtin_trap();
  ck_cert_list_clear(&list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *dec = NULL, *dec2 = NULL;
  size_t dlen = 0, d2len = 0, tlen = 0;
  char *text = NULL;

  check_p7(data, size);
  if (ck_b64_decode(data, size, &dec, &dlen, NULL) == CK_OK) {
    check_p7(dec, dlen);
    if (ck_b64_encode(dec, dlen, (int)(size & 1), &text, &tlen, NULL) !=
            CK_OK ||
        ck_b64_decode(text, tlen, &dec2, &d2len, NULL) != CK_OK ||
        d2len != dlen || (dlen > 0 && memcmp(dec, dec2, dlen) != 0))
      __builtin_trap();
    free(text);
    free(dec2);
    free(dec);
  }
  return 0;
}
