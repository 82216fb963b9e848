/* verify_mbedtls.c — chain verification with mbedTLS 2.28, at a given time.
 *
 * mbedtls_x509_crt_verify checks validity against the system clock and has
 * no way to pass a time, so the verify callback (called for every
 * certificate of the built chain, root first) clears mbedTLS's EXPIRED /
 * FUTURE flags and judges each certificate's validity period against the
 * caller's time itself. mbedTLS also reports a signature that does not
 * verify as "not trusted"; to give the same answer as the OpenSSL build the
 * callback looks for an issuer candidate (same name) among the given
 * certificates and, if there is one whose key does not verify the
 * signature, reports CK_ERR_BAD_SIGNATURE instead.
 *
 * Problems are ranked like OpenSSL reports them: a missing path to an
 * anchor first, then from the root down, per certificate the signature
 * before the validity period. Every trusted certificate is an anchor. A
 * permissive profile (SHA-1 and up, RSA >= 1024, any curve) matches what
 * OpenSSL accepts by default; key-strength policy belongs to the caller. */
#include <stdio.h>
#include <string.h>

#include <mbedtls/x509_crt.h>

#include "common/crypto/backend_mbedtls.h"
#include "common/util/clock.h"

enum { P_NONE = 0, P_UNTRUSTED, P_BADSIG, P_EXPIRED, P_FUTURE, P_OTHER };

typedef struct vstate {
  int64_t at;
  const ck_cert_list *lists[2]; /* untrusted, trusted: issuer candidates */
  int problem, untrusted;       /* first problem; any untrusted seen */
  int depth, u_depth;
  char subject[256], u_subject[256];
  char detail[160], u_detail[160];
} vstate;

static const mbedtls_x509_crt_profile profile = {
    MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA1) |
        MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA224) |
        MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA256) |
        MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA384) |
        MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA512),
    0x0fffffff, /* any public key algorithm */
    0x0fffffff, /* any curve */
    1024,
};

static void subject_of(const mbedtls_x509_crt *crt, char *buf, size_t len) {
  ck__der d;
  ck__tlv t;
  ck__sb sb = {0};

  buf[0] = '\0';
  ck__der_init(&d, crt->subject_raw.p, crt->subject_raw.len);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &t) == 0 &&
      ck__name_format(t.v, t.len, &sb, NULL, NULL) == 0 && !sb.failed)
    snprintf(buf, len, "%s", sb.s != NULL ? sb.s : "");
  ck__sb_free(&sb);
}

/* 1 when some certificate named like crt's issuer exists among the given
 * ones and none of them verifies crt's signature. */
static int bad_signature(const vstate *st, const mbedtls_x509_crt *crt) {
  const mbedtls_x509_crt *cand;
  size_t k, i;
  int seen = 0;

  for (k = 0; k < 2; k++)
    for (i = 0; i < st->lists[k]->n; i++) {
      cand = st->lists[k]->certs[i]->be;
      if (cand == NULL || cand->subject_raw.len != crt->issuer_raw.len ||
          memcmp(cand->subject_raw.p, crt->issuer_raw.p, crt->issuer_raw.len) !=
              0)
        continue;
      seen = 1;
      if (ck__mbed_check_sig(crt->sig_md, crt->sig_pk, crt->sig_opts,
                             (mbedtls_pk_context *)&cand->pk, crt->tbs.p,
                             crt->tbs.len, crt->sig.p, crt->sig.len) == 0)
        return 0;
    }
  return seen;
}

static void note(vstate *st, int problem, const mbedtls_x509_crt *crt,
                 int depth, const char *detail) {
  if (problem == P_UNTRUSTED) {
    if (!st->untrusted) {
      st->untrusted = 1;
      st->u_depth = depth;
      subject_of(crt, st->u_subject, sizeof st->u_subject);
      snprintf(st->u_detail, sizeof st->u_detail, "%s", detail);
    }
    return;
  }
  if (st->problem != P_NONE)
    return;
  st->problem = problem;
  st->depth = depth;
  subject_of(crt, st->subject, sizeof st->subject);
  snprintf(st->detail, sizeof st->detail, "%s", detail);
}

static int on_cert(void *arg, mbedtls_x509_crt *crt, int depth,
                   uint32_t *flags) {
  vstate *st = arg;
  int64_t from = ck__mbed_time(&crt->valid_from),
          to = ck__mbed_time(&crt->valid_to);
  char a[32], b[32], detail[160];
  uint32_t other;

  *flags &=
      ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
  if (*flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) {
    if (bad_signature(st, crt))
      note(st, P_BADSIG, crt, depth, "certificate signature failure");
    else
      note(st, P_UNTRUSTED, crt, depth,
           "unable to get local issuer certificate");
  }
  other = *flags & ~(uint32_t)MBEDTLS_X509_BADCERT_NOT_TRUSTED;
  if (other != 0) {
    char info[128];
    mbedtls_x509_crt_verify_info(info, sizeof info, "", other);
    info[strcspn(info, "\n")] = '\0';
    note(st, P_OTHER, crt, depth, info);
  }
  ck_time_format_rfc3339(st->at, b, sizeof b);
  if (st->at < from) {
    ck_time_format_rfc3339(from, a, sizeof a);
    snprintf(detail, sizeof detail,
             "certificate is not yet valid (not before %s, checked at %s)", a,
             b);
    note(st, P_FUTURE, crt, depth, detail);
  } else if (st->at > to) {
    ck_time_format_rfc3339(to, a, sizeof a);
    snprintf(detail, sizeof detail,
             "certificate has expired (not after %s, checked at %s)", a, b);
    note(st, P_EXPIRED, crt, depth, detail);
  }
  return 0;
}

/* Parses certificates into an mbedTLS chain strictly (unknown critical
 * extensions refused); the ones mbedTLS cannot use are left out. */
static int add_all(mbedtls_x509_crt *chain, const ck_cert_list *l) {
  size_t i;
  int n = 0;

  for (i = 0; i < l->n; i++)
    if (l->certs[i]->be != NULL &&
        mbedtls_x509_crt_parse_der(chain, l->certs[i]->der,
                                   l->certs[i]->der_len) == 0)
      n++;
  return n;
}

ck_err ck__be_cert_verify(const ck_cert *leaf, const ck_cert_list *untrusted,
                          const ck_cert_list *trusted, int64_t at,
                          ck_errctx *err) {
  mbedtls_x509_crt chain, trust;
  vstate st;
  uint32_t flags = 0;
  int ret, n_trust;
  ck_err rc;

  memset(&st, 0, sizeof st);
  st.at = at;
  st.lists[0] = untrusted;
  st.lists[1] = trusted;
  mbedtls_x509_crt_init(&chain);
  mbedtls_x509_crt_init(&trust);
  ret = mbedtls_x509_crt_parse_der(&chain, leaf->der, leaf->der_len);
  if (ret != 0) {
    rc = ck__mbed_fail(err, CK_ERR_VERIFY, ret,
                       "certificate '%s': mbedTLS cannot verify it",
                       leaf->info.subject);
    goto out;
  }
  add_all(&chain, untrusted);
  n_trust = add_all(&trust, trusted);
  ret = mbedtls_x509_crt_verify_with_profile(&chain, n_trust ? &trust : NULL,
                                             NULL, &profile, NULL, &flags,
                                             on_cert, &st);
  if (st.untrusted) {
    rc = ck_failf(err, CK_ERR_UNTRUSTED, "certificate '%s' (depth %d): %s",
                  st.u_subject, st.u_depth, st.u_detail);
  } else if (st.problem != P_NONE) {
    rc = ck_failf(err,
                  st.problem == P_BADSIG    ? CK_ERR_BAD_SIGNATURE
                  : st.problem == P_EXPIRED ? CK_ERR_EXPIRED
                  : st.problem == P_FUTURE  ? CK_ERR_NOT_YET_VALID
                                            : CK_ERR_VERIFY,
                  "certificate '%s' (depth %d): %s", st.subject, st.depth,
                  st.detail);
  } else if (ret != 0 || flags != 0) {
    rc = ck__mbed_fail(err, CK_ERR_VERIFY, ret,
                       "certificate '%s': verification failed (flags %#x)",
                       leaf->info.subject, (unsigned)flags);
  } else {
    rc = CK_OK;
  }
out:
  mbedtls_x509_crt_free(&chain);
  mbedtls_x509_crt_free(&trust);
  return rc;
}
