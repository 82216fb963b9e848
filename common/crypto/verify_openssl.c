/* verify_openssl.c — chain verification with X509_verify_cert.
 *
 * Every trusted certificate goes into a fresh X509_STORE (and counts as an
 * anchor: X509_V_FLAG_PARTIAL_CHAIN, matching mbedTLS), the untrusted ones
 * into the chain stack, and the verification time is the caller's, not the
 * system clock (X509_VERIFY_PARAM_set_time). OpenSSL's first error is
 * mapped to a certkeeper code and a message naming the certificate. */
#include <stdio.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "common/crypto/backend_openssl.h"
#include "common/util/clock.h"

static ck_err map_error(int e) {
  switch (e) {
  case X509_V_ERR_CERT_HAS_EXPIRED:
    return CK_ERR_EXPIRED;
  case X509_V_ERR_CERT_NOT_YET_VALID:
    return CK_ERR_NOT_YET_VALID;
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
  case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
  case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
  case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
  case X509_V_ERR_CERT_UNTRUSTED:
  case X509_V_ERR_CERT_REJECTED:
    return CK_ERR_UNTRUSTED;
  case X509_V_ERR_CERT_SIGNATURE_FAILURE:
  case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    return CK_ERR_BAD_SIGNATURE;
  default:
    return CK_ERR_VERIFY;
  }
}

/* Adds the when-part of a time failure to the message. */
static void time_detail(int e, X509 *cur, int64_t at, char *buf, size_t len) {
  char when[32], now[32];
  const ASN1_TIME *t;
  struct tm tm;

  buf[0] = '\0';
  if (cur == NULL ||
      (e != X509_V_ERR_CERT_HAS_EXPIRED && e != X509_V_ERR_CERT_NOT_YET_VALID))
    return;
  t = e == X509_V_ERR_CERT_HAS_EXPIRED ? X509_get0_notAfter(cur)
                                       : X509_get0_notBefore(cur);
  if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
    return;
  ck_time_format_rfc3339(ck__civil_to_epoch(tm.tm_year + 1900, tm.tm_mon + 1,
                                            tm.tm_mday, tm.tm_hour, tm.tm_min,
                                            tm.tm_sec),
                         when, sizeof when);
  ck_time_format_rfc3339(at, now, sizeof now);
  snprintf(buf, len, " (%s %s, checked at %s)",
           e == X509_V_ERR_CERT_HAS_EXPIRED ? "not after" : "not before", when,
           now);
}

ck_err ck__be_cert_verify(const ck_cert *leaf, const ck_cert_list *untrusted,
                          const ck_cert_list *trusted, int64_t at,
                          ck_errctx *err) {
  X509_STORE *store = NULL;
  X509_STORE_CTX *ctx = NULL;
  STACK_OF(X509) *chain = NULL;
  X509_VERIFY_PARAM *param;
  X509 *cur;
  char subject[256], detail[128];
  int e, depth;
  size_t i;
  ck_err rc;

  store = X509_STORE_new();
  chain = sk_X509_new_null();
  ctx = X509_STORE_CTX_new();
  if (store == NULL || chain == NULL || ctx == NULL) {
    rc = ck__ossl_fail(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  for (i = 0; i < trusted->n; i++)
    if (trusted->certs[i]->be != NULL &&
        X509_STORE_add_cert(store, trusted->certs[i]->be) != 1) {
      rc = ck__ossl_fail(err, CK_ERR_CRYPTO, "cannot add a trust anchor");
      goto out;
    }
  for (i = 0; i < untrusted->n; i++)
    if (untrusted->certs[i]->be != NULL &&
        sk_X509_push(chain, untrusted->certs[i]->be) <= 0) {
      rc = ck__ossl_fail(err, CK_ERR_NOMEM, "out of memory");
      goto out;
    }
  if (X509_STORE_CTX_init(ctx, store, leaf->be, chain) != 1) {
    rc = ck__ossl_fail(err, CK_ERR_CRYPTO, "cannot set up verification");
    goto out;
  }
  param = X509_STORE_CTX_get0_param(ctx);
  X509_VERIFY_PARAM_set_time(param, (time_t)at);
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);

  if (X509_verify_cert(ctx) == 1) {
    rc = CK_OK;
    goto out;
  }
  e = X509_STORE_CTX_get_error(ctx);
  depth = X509_STORE_CTX_get_error_depth(ctx);
  cur = X509_STORE_CTX_get_current_cert(ctx);
  if (cur != NULL)
    ck__ossl_name(X509_get_subject_name(cur), subject, sizeof subject);
  else
    snprintf(subject, sizeof subject, "%s", leaf->info.subject);
  time_detail(e, cur, at, detail, sizeof detail);
  rc = ck_failf(err, map_error(e), "certificate '%s' (depth %d): %s%s", subject,
                depth, X509_verify_cert_error_string(e), detail);
out:
  ERR_clear_error();
  X509_STORE_CTX_free(ctx);
  sk_X509_free(chain); /* the X509s belong to the ck_certs */
  X509_STORE_free(store);
  return rc;
}
