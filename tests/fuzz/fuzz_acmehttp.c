/* fuzz_acmehttp.c — the http-01 validator's parsers (coordinator/acme/
 * http01_parse.c): an HTTP response from a challenged host, fed whole and
 * in two pieces (as reads arrive), and redirect Location values resolved
 * against a base URL. Input: response bytes; the part after the last NUL
 * is also used as a Location. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/acme/http01.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint8_t body[CK_ACME_HTTP_MAX_BODY];
  ck_acme_http_resp r;
  ck_acme_url base, out;
  const uint8_t *nul;
  char *loc;
  size_t split = size / 2, llen;
  ck_err rc;

  rc = ck_acme_http_resp_parse(data, size, 1, body, sizeof body, &r);
  if (rc == CK_OK && r.body_len > sizeof body)
    __builtin_trap();
  rc = ck_acme_http_resp_parse(data, split, 0, body, sizeof body, &r);
  if (rc == CK_OK && r.body_len > sizeof body)
    __builtin_trap();
  ck_acme_http_resp_parse(data, size, 0, body, sizeof body, &r);

  memset(&base, 0, sizeof base);
  memcpy(base.host, "app.example.test", sizeof "app.example.test");
  memcpy(base.path, "/.well-known/acme-challenge/tok",
         sizeof "/.well-known/acme-challenge/tok");
  nul = memchr(data, 0, size);
  llen = nul != NULL ? size - (size_t)(nul - data) - 1 : size;
  loc = malloc(llen + 1);
  if (loc == NULL)
    return 0;
  memcpy(loc, data + size - llen, llen);
  loc[llen] = '\0';
  if (ck_acme_url_resolve(&base, loc, &out) == CK_OK &&
      (strlen(out.host) >= sizeof out.host ||
       strlen(out.path) >= sizeof out.path || out.path[0] != '/'))
    __builtin_trap();
  free(loc);
  return 0;
}
