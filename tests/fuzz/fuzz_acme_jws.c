/* fuzz_acme_jws.c — libFuzzer target for the ACME server's request parsing
 * (coordinator/acme/jws.h): the bytes are a request body as a client would
 * POST it. It is parsed as a flattened JWS (protected header rules, payload
 * limit); on success the signature is checked against the header's jwk (or
 * a fixed key for kid requests), the jwk's thumbprint and SPKI are built,
 * the payload is parsed as JSON the way the resources do, and an
 * externalAccountBinding member, if any, is checked with a fixed key.
 * Base64url and the certID split of ARI get the raw bytes too. Refusals are
 * expected; a crash, leak or sanitizer report is a bug. Seeds:
 * tests/fuzz/corpus/acme_jws/ (real requests of lego/certbot-like shape). */
#include <stdlib.h>
#include <string.h>

#include "common/util/log.h"
#include "coordinator/acme/acme_util.h"
#include "coordinator/acme/jws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const uint8_t KEY[32] = {1, 2, 3};
  static int init;
  ck_acme_problem p;
  ck_acme_jws j;
  char thumb[CK_ACME_THUMB_LEN];
  uint8_t spki[CK_ACME_SPKI_MAX], out[512];
  size_t len = 0;
  json_t *fixed, *payload, *eab, *hdr = NULL;
  json_error_t je;
  const char *kid;

  if (!init) {
    ck_log_configure(CK_LOG_SEC, "none", CK_LOG_FMT_KV, CK_LOG_DEBUG, NULL);
    ck_log_configure(CK_LOG_OPS, "none", CK_LOG_FMT_KV, CK_LOG_DEBUG, NULL);
    init = 1;
  }
  memset(&p, 0, sizeof p);
  ck_b64u_decode((const char *)data, size < 600 ? size : 600, out, sizeof out,
                 &len);
  sink += len;
  if (!ck_acme_jws_parse(data, size, 4096, &j, &p)) {
    sink += strlen(p.detail) + (size_t)p.status;
    return 0;
  }
  fixed = json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "x",
                    "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y",
                    "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0");
  sink += (size_t)ck_acme_jws_verify(&j, j.jwk != NULL ? j.jwk : fixed, &p);
  if (j.jwk != NULL) {
    if (ck_acme_jwk_thumbprint(j.jwk, thumb) == CK_OK)
      sink += strlen(thumb);
    if (ck_acme_jwk_spki(j.jwk, spki, sizeof spki, &len) == CK_OK)
      sink += len;
  }
  payload = j.post_as_get ? NULL
                          : json_loadb((const char *)j.payload, j.payload_len,
                                       JSON_REJECT_DUPLICATES, &je);
  eab = json_object_get(payload, "externalAccountBinding");
  if (eab != NULL) {
    if (ck_acme_eab_kid(eab, &hdr, &kid, &p))
      sink += strlen(kid);
    json_decref(hdr);
    sink += (size_t)ck_acme_eab_verify(eab, KEY, sizeof KEY, j.url,
                                       j.jwk != NULL ? j.jwk : fixed, &p);
  }
  json_decref(payload);
  json_decref(fixed);
  ck_acme_jws_clear(&j);
  return 0;
}
