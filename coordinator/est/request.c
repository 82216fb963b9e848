/* request.c — decoding an EST request (RFC 7030 §3.2, RFC 8951 §3): the
 * path after /.well-known/est/, the media type, the base64 body and the
 * PKCS#10 request in it, HTTP Basic credentials. Pure functions: no store,
 * no I/O, so tests/fuzz/fuzz_est.c can throw anything at them. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/crypto/pkcs7.h"
#include "common/util/mem.h"
#include "coordinator/est/est.h"

static const char *const op_names[] = {
    "",         "cacerts",      "simpleenroll", "simplereenroll",
    "csrattrs", "serverkeygen", "fullcmc"};

const char *ck_estd_op_name(ck_estd_op op) {
  return (unsigned)op < sizeof op_names / sizeof op_names[0] ? op_names[op]
                                                             : "";
}

ck_err ck_estd_parse_path(const char *rest, char label[CK_ESTD_NAME_MAX],
                          ck_estd_op *op, ck_errctx *err) {
  const char *slash = strchr(rest, '/'), *opname = rest;
  size_t i;

  label[0] = '\0';
  *op = CK_ESTD_OP_NONE;
  if (slash != NULL) {
    size_t n = (size_t)(slash - rest);
    if (n == 0 || n >= CK_ESTD_NAME_MAX)
      return ck_failf(err, CK_ERR_NOT_FOUND, "malformed EST label");
    memcpy(label, rest, n);
    label[n] = '\0';
    if (!ck_estd_name_ok(label)) {
      label[0] = '\0';
      return ck_failf(err, CK_ERR_NOT_FOUND, "malformed EST label");
    }
    opname = slash + 1;
  }
  for (i = 1; i < sizeof op_names / sizeof op_names[0]; i++) {
    if (strcmp(opname, op_names[i]) == 0) {
      *op = (ck_estd_op)i;
      return CK_OK;
    }
  }
  return ck_failf(err, CK_ERR_NOT_FOUND, "no such EST operation '%.64s'",
                  opname);
}

/* 1 when the media type (before any ';', spaces trimmed) equals want,
 * case-insensitively (RFC 9110 §8.3.1). */
static int media_is(const char *ct, const char *want) {
  size_t n, wl = strlen(want);

  if (ct == NULL)
    return 0;
  while (*ct == ' ' || *ct == '\t')
    ct++;
  n = strcspn(ct, ";");
  while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
    n--;
  return n == wl && strncasecmp(ct, want, wl) == 0;
}

ck_err ck_estd_decode_csr(const char *content_type, const char *cte,
                          const uint8_t *body, size_t len, ck_csr **csr,
                          int *status, ck_errctx *err) {
  ck_errctx e2 = CK_ERRCTX_INIT;
  uint8_t *der = NULL;
  size_t der_len = 0;
  ck_csr *r = NULL;
  ck_err rc;

  *csr = NULL;
  if (!media_is(content_type, "application/pkcs10")) {
    *status = 415;
    return ck_failf(err, CK_ERR_INVAL,
                    "Content-Type must be application/pkcs10 (got '%.80s')",
                    content_type != NULL ? content_type : "none");
  }
  if (cte != NULL && !media_is(cte, "base64")) {
    *status = 400;
    return ck_failf(
        err, CK_ERR_INVAL,
        "Content-Transfer-Encoding '%.40s': EST bodies are base64 (RFC 8951)",
        cte);
  }
  if (len > CK_ESTD_BODY_MAX) {
    *status = 413;
    return ck_failf(err, CK_ERR_LIMIT, "request body over %u bytes",
                    CK_ESTD_BODY_MAX);
  }
  if (len == 0) {
    *status = 400;
    return ck_failf(err, CK_ERR_INVAL,
                    "empty body: expected a base64 PKCS#10 request");
  }
  if ((rc = ck_b64_decode(body, len, &der, &der_len, &e2)) != CK_OK) {
    *status = rc == CK_ERR_NOMEM ? 503 : 400;
    return ck_failf(err, rc, "body is not base64 (RFC 8951 §3): %s",
                    ck_errctx_msg(&e2));
  }
  if (der_len == 0 || der[0] != 0x30) {
    free(der);
    *status = 400;
    return ck_failf(err, CK_ERR_BAD_CSR,
                    "body does not hold a DER PKCS#10 request");
  }
  rc = ck_csr_parse(der, der_len, &r, &e2);
  free(der);
  if (rc != CK_OK) {
    *status = rc == CK_ERR_NOMEM ? 503 : 400;
    return ck_failf(err, CK_ERR_BAD_CSR, "not a PKCS#10 request: %s",
                    ck_errctx_msg(&e2));
  }
  if ((rc = ck_csr_verify(r, &e2)) != CK_OK) {
    ck_csr_free(r);
    *status = 400;
    return ck_failf(
        err, CK_ERR_BAD_CSR,
        "the CSR's signature does not verify (no proof of possession): %s",
        ck_errctx_msg(&e2));
  }
  *csr = r;
  *status = 200;
  return CK_OK;
}

ck_err ck_estd_parse_basic(const char *header, char *user, size_t user_len,
                           char *pass, size_t pass_len) {
  uint8_t *dec = NULL;
  size_t n = 0, i;
  const char *p;
  uint8_t *colon;
  ck_err rc = CK_ERR_PARSE;

  user[0] = pass[0] = '\0';
  if (header == NULL)
    return CK_ERR_NOENT;
  while (*header == ' ')
    header++;
  if (strncasecmp(header, "Basic", 5) != 0 ||
      (header[5] != ' ' && header[5] != '\t'))
    return CK_ERR_NOENT;
  p = header + 6;
  while (*p == ' ' || *p == '\t')
    p++;
  if (strlen(p) > 4096 || ck_b64_decode(p, strlen(p), &dec, &n, NULL) != CK_OK)
    return CK_ERR_PARSE;
  colon = memchr(dec, ':', n);
  if (colon == NULL || memchr(dec, '\0', n) != NULL)
    goto out;
  for (i = 0; i < n; i++)
    if (dec[i] < 0x20 || dec[i] == 0x7f)
      goto out;
  if ((size_t)(colon - dec) >= user_len ||
      n - (size_t)(colon - dec) - 1 >= pass_len)
    goto out;
  memcpy(user, dec, (size_t)(colon - dec));
  user[colon - dec] = '\0';
  memcpy(pass, colon + 1, n - (size_t)(colon - dec) - 1);
  pass[n - (size_t)(colon - dec) - 1] = '\0';
  rc = CK_OK;
out:
  if (dec != NULL) {
    ck_wipe(dec, n);
    free(dec);
  }
  if (rc != CK_OK) {
    ck_wipe(user, user_len);
    ck_wipe(pass, pass_len);
    user[0] = pass[0] = '\0';
  }
  return rc;
}
