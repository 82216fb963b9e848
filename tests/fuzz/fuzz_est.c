/* fuzz_est.c — libFuzzer target for the decoding of EST requests
 * (coordinator/est/request.c): the path after /.well-known/est/, the
 * media type, the base64 body and the PKCS#10 request inside it (parse and
 * signature check), HTTP Basic credentials, and the fleet name patterns
 * (pattern.c) the decoded names are matched against.
 *
 * Input layout: byte 0 picks which header values are fed, the rest is
 * split at the first two NUL bytes into path-rest, Authorization header
 * and body (missing parts are empty). Invariants: a decoded CSR has a
 * verified signature (ck_csr_verify again is CK_OK) and a status of 200;
 * every refusal has a 4xx/5xx status. Seeds: tests/fuzz/corpus/est/. */
#include <stdlib.h>
#include <string.h>

#include "common/util/mem.h"
#include "coordinator/est/est.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const cts[] = {
    "application/pkcs10", "Application/PKCS10; charset=x", "text/plain", NULL};
static const char *const ctes[] = {NULL, "base64", "binary", " BASE64 "};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char label[CK_ESTD_NAME_MAX], path[256], auth[512], user[128], pass[256];
  const uint8_t *p, *body, *nul;
  size_t left, n;
  ck_estd_op op;
  ck_csr *csr = NULL;
  int status = 0;
  unsigned sel;

  if (size < 1)
    return 0;
  sel = data[0];
  p = data + 1;
  left = size - 1;
  /* path */
  nul = memchr(p, 0, left);
  n = nul != NULL ? (size_t)(nul - p) : left;
  if (n >= sizeof path)
    n = sizeof path - 1;
  memcpy(path, p, n);
  path[n] = '\0';
  p = nul != NULL ? nul + 1 : p + left;
  left = size - (size_t)(p - data);
  /* authorization */
  nul = memchr(p, 0, left);
  n = nul != NULL ? (size_t)(nul - p) : left;
  if (n >= sizeof auth)
    n = sizeof auth - 1;
  memcpy(auth, p, n);
  auth[n] = '\0';
  body = nul != NULL ? nul + 1 : p + left;
  left = size - (size_t)(body - data);

  if (ck_estd_parse_path(path, label, &op, NULL) == CK_OK &&
      (op == CK_ESTD_OP_NONE || (label[0] != '\0' && !ck_estd_name_ok(label))))
    __builtin_trap();
  if (ck_estd_parse_basic(auth, user, sizeof user, pass, sizeof pass) ==
          CK_OK &&
      (strlen(user) >= sizeof user || strlen(pass) >= sizeof pass))
    __builtin_trap();
  ck_wipe(pass, sizeof pass);
  if (ck_estd_decode_csr(cts[sel & 3], ctes[(sel >> 2) & 3], body, left, &csr,
                         &status, NULL) == CK_OK) {
    const ck_csr_info *ri = ck_csr_get_info(csr);
    size_t i;
    if (status != 200 || ck_csr_verify(csr, NULL) != CK_OK)
      __builtin_trap();
    /* the names a CSR carries go through the fleet patterns */
    (void)ck_estd_patterns_match(
        "*.sensors.example\n{serial}.dev.example\nd-*-x*.lab", ri->subject_cn,
        (sel & 16) ? "dev1" : NULL);
    for (i = 0; i < ri->n_sans; i++)
      (void)ck_estd_patterns_match("*.sensors.example\n{serial}.dev.example",
                                   ri->sans[i].value, NULL);
    ck_csr_free(csr);
  } else if (status < 400 || csr != NULL) {
    __builtin_trap();
  }
  /* patterns taken from the input: validity and matching must not crash */
  if (ck_estd_pattern_valid(path))
    (void)ck_estd_pattern_match(path, auth, (sel & 32) ? user : NULL);
  return 0;
}
