/* est_answer.c — turns an EST answer into what the managed-certificate
 * state machine takes from any source (agent/manage/managed.h): a `cert`
 * with the leaf for the CSR's key and its chain, or an `error` carrying the
 * EST status's meaning and Retry-After. Used by net (simpleenroll) and
 * priv (simplereenroll), see docs/internals/agent.md "EST mode". */
#include "agent/link/est.h"

#include <stdlib.h>
#include <string.h>

/* ---- answers ------------------------------------------------------------------- */

int ck_est_pick_leaf(const ck_cert_list *certs,
                     const uint8_t spki_sha256[CK_SHA256_LEN]) {
  size_t i;

  for (i = 0; i < certs->n; i++)
    if (memcmp(ck_cert_get_info(certs->certs[i])->spki_sha256, spki_sha256,
               CK_SHA256_LEN) == 0)
      return (int)i;
  return -1;
}

static const ck_cert *ck__issuer_of(const ck_cert *c, const ck_cert_list *a,
                                    const ck_cert_list *b) {
  const char *iss = ck_cert_get_info(c)->issuer;
  size_t i;

  for (i = 0; a != NULL && i < a->n; i++)
    if (a->certs[i] != c && strcmp(ck_cert_get_info(a->certs[i])->subject,
                                   iss) == 0)
      return a->certs[i];
  for (i = 0; b != NULL && i < b->n; i++)
    if (b->certs[i] != c && strcmp(ck_cert_get_info(b->certs[i])->subject,
                                   iss) == 0)
      return b->certs[i];
  return NULL;
}

size_t ck_est_chain(const ck_cert_list *certs, size_t leaf,
                    const ck_cert_list *anchors, const ck_cert **chain,
                    size_t cap) {
  const ck_cert *cur;
  size_t n = 0;

  if (leaf >= certs->n)
    return 0;
  cur = certs->certs[leaf];
  while (n < cap && !ck_cert_get_info(cur)->self_signed) {
    const ck_cert *up = ck__issuer_of(cur, certs, anchors);
    if (up == NULL || ck_cert_get_info(up)->self_signed)
      break;
    chain[n++] = up;
    cur = up;
  }
  return n;
}

ck_err ck_est_answer(const ck_est_result *res, const uint8_t *csr,
                     size_t csr_len, const uint8_t *ca_pem, size_t ca_len,
                     ck_arena *a, ck_wire_msg *out, ck_errctx *err) {
  ck_csr *req = NULL;
  ck_cert_list anchors = {0};
  const ck_cert *chain[8];
  ck_wire_bytes *bv = NULL;
  size_t n = 0, i, len;
  int leaf;
  ck_err rc = CK_OK;

  memset(out, 0, sizeof *out);
  if (res->rc != CK_OK) {
    out->type = CK_WIRE_ERROR;
    out->u.error.code = res->rc;
    out->u.error.message = ck_arena_strdup(a, ck_errctx_msg(&res->err));
    if (res->retry_after >= 0) {
      out->u.error.retry_after = (uint32_t)res->retry_after;
      out->u.error.has_retry_after = true;
    } else if (res->rc == CK_ERR_AGAIN) {
      out->u.error.retry_after = 60;
      out->u.error.has_retry_after = true;
    }
    goto out;
  }
  if ((rc = ck_csr_parse(csr, csr_len, &req, err)) != CK_OK)
    goto out;
  leaf = ck_est_pick_leaf(&res->certs, ck_csr_get_info(req)->spki_sha256);
  if (leaf < 0) {
    rc = ck_failf(err, CK_ERR_KEY_MISMATCH,
                  "the EST answer (%zu certificates) holds none for the "
                  "CSR's key",
                  res->certs.n);
    goto out;
  }
  if (ca_pem != NULL && ca_len > 0)
    (void)ck_cert_list_parse(&anchors, ca_pem, ca_len, NULL);
  n = ck_est_chain(&res->certs, (size_t)leaf, &anchors, chain,
                   sizeof chain / sizeof chain[0]);
  if (n > 0 && (bv = ck_arena_alloc(a, n * sizeof *bv)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  out->type = CK_WIRE_CERT;
  for (i = 0; i < n; i++) {
    const uint8_t *d = ck_cert_der(chain[i], &len);
    uint8_t *copy = ck_arena_alloc(a, len);
    if (copy == NULL) {
      rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
      goto out;
    }
    memcpy(copy, d, len);
    bv[i].data = copy;
    bv[i].len = len;
  }
  out->u.cert.chain.v = bv;
  out->u.cert.chain.n = n;
  {
    const uint8_t *d = ck_cert_der(res->certs.certs[leaf], &len);
    uint8_t *copy = ck_arena_alloc(a, len);
    if (copy == NULL) {
      rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
      goto out;
    }
    memcpy(copy, d, len);
    out->u.cert.cert.data = copy;
    out->u.cert.cert.len = len;
  }
out:
  if (rc != CK_OK) { /* the answer itself is unusable: an error for the csr */
    memset(out, 0, sizeof *out);
    out->type = CK_WIRE_ERROR;
    out->u.error.code = rc;
    out->u.error.message = ck_arena_strdup(a, ck_errctx_msg(err));
  }
  ck_csr_free(req);
  ck_cert_list_clear(&anchors);
  return rc;
}
