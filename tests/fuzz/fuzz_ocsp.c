/* fuzz_ocsp.c — libFuzzer target for the OCSP request parser
 * (common/crypto/ocsp.h), the part of the responder hostile clients reach.
 *
 * Parses the bytes as an OCSPRequest; on success touches every field it
 * returned (so a pointer outside the input shows up under ASan) and builds
 * the unsigned error answers. Error returns are expected; a crash, leak or
 * sanitizer report is a bug. Seeds: tests/fuzz/corpus/ocsp/ (requests from
 * `openssl ocsp -reqout`: SHA-1 and SHA-256 CertIDs, with and without a
 * nonce, two certificates). */
#include <stdlib.h>
#include <string.h>

#include "common/crypto/ocsp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void touch(const uint8_t *p, size_t n) {
  size_t i;

  for (i = 0; p != NULL && i < n; i++)
    sink += p[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_ocsp_request rq;
  size_t len;

  if (ck_ocsp_request_parse(data, size, &rq, &err) == CK_OK) {
    sink += (size_t)rq.hash;
    touch(rq.name_hash, rq.name_hash_len);
    touch(rq.key_hash, rq.key_hash_len);
    touch(rq.serial, rq.serial_len);
    touch(rq.cert_id, rq.cert_id_len);
    touch(rq.nonce, rq.nonce_len);
  } else {
    sink += strlen(ck_errctx_msg(&err));
  }
  touch(ck_ocsp_status_response(CK_OCSP_MALFORMED, &len), len);
  return 0;
}
