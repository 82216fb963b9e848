/* fuzz_est_http.c — libFuzzer target for the agent's EST client response
 * reader (agent/link/est_http.c): the HTTP/1.1 response parser at every
 * split point (a complete response must parse the same whether or not the
 * connection has ended, and a prefix must never be "complete" with a body
 * longer than what it holds), Retry-After, and the PKCS#7 certs reader on
 * whatever body came out (agent/link/est_http.h ck_est_resp_certs). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/link/est_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ck_est_resp r, r2;
  ck_cert_list l = {0};
  ck_errctx err = CK_ERRCTX_INIT;
  char text[200];
  ck_err rc;

  if (size > 256 * 1024)
    return 0;
  (void)ck_est_retry_after((const char *)data, size < 64 ? size : 64, 1000);
  rc = ck_est_resp_parse(data, size, 0, 1000, &r, &err);
  if (rc == CK_OK) {
    /* the body lies inside the input (or the de-chunked copy) */
    if (r.owned == NULL && (r.body < data || r.body + r.body_len > data + size))
      __builtin_trap();
    if (r.status < 100 || r.status > 599)
      __builtin_trap();
    /* complete without eof means complete with eof too, same body */
    if (ck_est_resp_parse(data, size, 1, 1000, &r2, NULL) != CK_OK ||
        r2.body_len != r.body_len || r2.status != r.status)
      __builtin_trap();
    ck_est_resp_clear(&r2);
    ck_est_body_excerpt(r.body, r.body_len, text, sizeof text);
    if (ck_est_resp_certs(&r, &l, NULL) == CK_OK && l.n == 0)
      __builtin_trap();
    ck_cert_list_clear(&l);
    ck_est_resp_clear(&r);
  } else if (rc == CK_ERR_AGAIN) {
    if (ck_est_resp_parse(data, size, 1, 1000, &r, NULL) == CK_OK)
      ck_est_resp_clear(&r); /* ends at eof: fine */
  }
  return 0;
}
