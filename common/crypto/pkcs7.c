/* pkcs7.c — certs-only SignedData (RFC 5652 §5, RFC 7030 §4.1.3) and the
 * base64 transfer encoding of EST bodies (RFC 8951 §3).
 *
 * The message is
 *   ContentInfo ::= SEQUENCE {
 *     contentType  OID 1.2.840.113549.1.7.2 (signedData),
 *     content [0] EXPLICIT SignedData ::= SEQUENCE {
 *       version INTEGER 1,
 *       digestAlgorithms SET {} ,
 *       encapContentInfo SEQUENCE { OID 1.2.840.113549.1.7.1 (data) },
 *       certificates [0] IMPLICIT SET OF Certificate,
 *       crls [1] IMPLICIT ... OPTIONAL,
 *       signerInfos SET {} } }
 * Built with the DER writer of der.c and read with its reader, plus a
 * minimal-length check the X.509 readers do not need. Certificates are
 * copied as given (OpenSSL also keeps the given order rather than sorting
 * the SET OF, and EST clients take the first one as the leaf). */
#include <stdlib.h>
#include <string.h>

#include "common/crypto/crypto_int.h"
#include "common/crypto/pkcs7.h"
#include "common/util/base64.h"

/* ------------------------------------------------------------ strict DER */

/* Reads the next element and checks its length is in minimal form. Returns
 * 0, or -1 with a message in err naming what was read. */
static ck_err get_strict(ck__der *d, ck__tlv *t, const uint8_t *base,
                         const char *what, ck_errctx *err) {
  size_t nlen;

  if (ck__der_get(d, t) != 0) {
    return ck_failf(
        err, CK_ERR_BAD_DER,
        "PKCS#7: %s at offset %zu is truncated or not definite-length DER",
        what, (size_t)(d->p - base));
  }
  if (t->raw[1] & 0x80) {
    nlen = t->raw[1] & 0x7f;
    if (t->len < 0x80 || t->raw[2] == 0 ||
        (nlen > 1 && t->len < ((size_t)1 << (8 * (nlen - 1))))) {
      return ck_failf(err, CK_ERR_BAD_DER,
                      "PKCS#7: %s at offset %zu has a non-minimal length", what,
                      (size_t)(t->raw - base));
    }
  }
  return CK_OK;
}

static ck_err expect_strict(ck__der *d, unsigned tag, ck__tlv *t,
                            const uint8_t *base, const char *what,
                            ck_errctx *err) {
  int pk = ck__der_peek(d);

  if (pk < 0) {
    return ck_failf(err, CK_ERR_BAD_DER, "PKCS#7: %s missing at offset %zu",
                    what, (size_t)(d->p - base));
  }
  if ((unsigned)pk != tag) {
    return ck_failf(
        err, CK_ERR_PARSE,
        "PKCS#7: expected %s (tag 0x%02x) at offset %zu, found tag 0x%02x",
        what, tag, (size_t)(d->p - base), (unsigned)pk);
  }
  return get_strict(d, t, base, what, err);
}

/* ------------------------------------------------------------------ build */

ck_err ck_pkcs7_certs_only_build(const ck_pkcs7_cert *certs, size_t n,
                                 uint8_t **out, size_t *out_len,
                                 ck_errctx *err) {
  static const uint8_t version1 = 1;
  ck__derw w;
  size_t i, total = 0;
  ck_err rc;

  if (n > CK_PKCS7_MAX_CERTS)
    return ck_failf(err, CK_ERR_LIMIT, "PKCS#7: %zu certificates (at most %d)",
                    n, CK_PKCS7_MAX_CERTS);
  for (i = 0; i < n; i++) {
    if (certs[i].der == NULL || certs[i].len < 2 ||
        certs[i].der[0] != CK__T_SEQUENCE ||
        ck__der_element_len(certs[i].der, certs[i].len) != certs[i].len)
      return ck_failf(err, CK_ERR_INVAL,
                      "PKCS#7: certificate %zu is not one DER SEQUENCE", i);
    total += certs[i].len;
    if (total > CK_PKCS7_MAX_LEN - 64)
      return ck_failf(err, CK_ERR_LIMIT, "PKCS#7: certificates exceed %u bytes",
                      CK_PKCS7_MAX_LEN);
  }
  ck__derw_init(&w);
  ck__derw_begin(&w, CK__T_SEQUENCE); /* ContentInfo */
  ck__derw_tlv(&w, CK__T_OID, CK__OID_PKCS7_SIGNED,
               sizeof CK__OID_PKCS7_SIGNED - 1);
  ck__derw_begin(&w, CK__T_CTXC | 0); /* [0] EXPLICIT */
  ck__derw_begin(&w, CK__T_SEQUENCE); /* SignedData */
  ck__derw_tlv(&w, CK__T_INTEGER, &version1, 1);
  ck__derw_tlv(&w, CK__T_SET, NULL, 0); /* digestAlgorithms */
  ck__derw_begin(&w, CK__T_SEQUENCE);   /* encapContentInfo */
  ck__derw_tlv(&w, CK__T_OID, CK__OID_PKCS7_DATA,
               sizeof CK__OID_PKCS7_DATA - 1);
  ck__derw_end(&w);
  if (n > 0) {
    ck__derw_begin(&w, CK__T_CTXC | 0); /* certificates [0] IMPLICIT SET OF */
    for (i = 0; i < n; i++)
      ck__derw_raw(&w, certs[i].der, certs[i].len);
    ck__derw_end(&w);
  }
  ck__derw_tlv(&w, CK__T_SET, NULL, 0); /* signerInfos */
  ck__derw_end(&w);
  ck__derw_end(&w);
  ck__derw_end(&w);
  rc = ck__derw_finish(&w, out, out_len);
  if (rc != CK_OK)
    return ck_failf(err, rc, "PKCS#7: encoding failed");
  return CK_OK;
}

/* ------------------------------------------------------------------ parse */

ck_err ck_pkcs7_certs_only_parse(const uint8_t *der, size_t len,
                                 ck_pkcs7_cert *certs, size_t cap, size_t *n,
                                 ck_errctx *err) {
  ck__der top, ci, sd, enc, set;
  ck__tlv t_ci, t_oid, t_exp, t_sd, t_ver, t_dig, t_enc, t_eoid, t_certs,
      t_crls, t_sig, t_c, t_x;
  size_t count = 0;
  long ver;
  int has;
  ck_err rc;

  if (der == NULL || len == 0)
    return ck_failf(err, CK_ERR_BAD_DER, "PKCS#7: empty input");
  if (len > CK_PKCS7_MAX_LEN)
    return ck_failf(err, CK_ERR_LIMIT, "PKCS#7: %zu bytes (at most %u)", len,
                    CK_PKCS7_MAX_LEN);
  ck__der_init(&top, der, len);
  if ((rc = expect_strict(&top, CK__T_SEQUENCE, &t_ci, der, "ContentInfo",
                          err)) != CK_OK)
    return rc;
  if (ck__der_more(&top))
    return ck_failf(err, CK_ERR_BAD_DER,
                    "PKCS#7: %zu bytes after the ContentInfo",
                    (size_t)(top.end - top.p));
  ck__der_enter(&ci, &t_ci);
  if ((rc = expect_strict(&ci, CK__T_OID, &t_oid, der, "contentType", err)) !=
      CK_OK)
    return rc;
  if (!ck__oid_eq(&t_oid, CK__OID(CK__OID_PKCS7_SIGNED)))
    return ck_failf(err, CK_ERR_PARSE,
                    "PKCS#7: content type is not signedData");
  if ((rc = expect_strict(&ci, CK__T_CTXC | 0, &t_exp, der, "content [0]",
                          err)) != CK_OK)
    return rc;
  if (ck__der_more(&ci))
    return ck_failf(err, CK_ERR_PARSE,
                    "PKCS#7: extra fields in the ContentInfo");
  ck__der_enter(&sd, &t_exp);
  if ((rc = expect_strict(&sd, CK__T_SEQUENCE, &t_sd, der, "SignedData",
                          err)) != CK_OK)
    return rc;
  if (ck__der_more(&sd))
    return ck_failf(err, CK_ERR_PARSE,
                    "PKCS#7: extra data after the SignedData");
  ck__der_enter(&sd, &t_sd);
  if ((rc = expect_strict(&sd, CK__T_INTEGER, &t_ver, der, "version", err)) !=
      CK_OK)
    return rc;
  if (ck__der_small_uint(&t_ver, 5, &ver) != 0 || t_ver.len != 1 || ver != 1)
    return ck_failf(err, CK_ERR_PARSE,
                    "PKCS#7: SignedData version is not 1 (certs-only)");
  if ((rc = expect_strict(&sd, CK__T_SET, &t_dig, der, "digestAlgorithms",
                          err)) != CK_OK)
    return rc;
  if ((rc = expect_strict(&sd, CK__T_SEQUENCE, &t_enc, der, "encapContentInfo",
                          err)) != CK_OK)
    return rc;
  ck__der_enter(&enc, &t_enc);
  if ((rc = expect_strict(&enc, CK__T_OID, &t_eoid, der, "eContentType",
                          err)) != CK_OK)
    return rc;
  if (!ck__oid_eq(&t_eoid, CK__OID(CK__OID_PKCS7_DATA)))
    return ck_failf(err, CK_ERR_PARSE,
                    "PKCS#7: encapsulated content type is not data");
  if (ck__der_more(&enc))
    return ck_failf(err, CK_ERR_PARSE,
                    "PKCS#7: a certs-only message carries no content");
  has = ck__der_peek(&sd) == (int)(CK__T_CTXC | 0);
  if (has) {
    if ((rc = get_strict(&sd, &t_certs, der, "certificates [0]", err)) != CK_OK)
      return rc;
    ck__der_init(&set, t_certs.v, t_certs.len);
    while (ck__der_more(&set)) {
      int tag = ck__der_peek(&set);
      if (tag != CK__T_SEQUENCE)
        return ck_failf(
            err, CK_ERR_PARSE,
            "PKCS#7: certificate %zu is not an X.509 certificate (tag 0x%02x)",
            count, (unsigned)tag);
      if ((rc = get_strict(&set, &t_c, der, "certificate", err)) != CK_OK)
        return rc;
      /* the certificate's own first element must be well-formed too */
      {
        ck__der inner;
        ck__der_enter(&inner, &t_c);
        if ((rc = get_strict(&inner, &t_x, der, "tbsCertificate", err)) !=
            CK_OK)
          return rc;
      }
      if (count >= cap || count >= CK_PKCS7_MAX_CERTS)
        return ck_failf(err, CK_ERR_LIMIT, "PKCS#7: more than %zu certificates",
                        cap < CK_PKCS7_MAX_CERTS ? cap
                                                 : (size_t)CK_PKCS7_MAX_CERTS);
      certs[count].der = t_c.raw;
      certs[count].len = t_c.raw_len;
      count++;
    }
  }
  if (ck__der_peek(&sd) == (int)(CK__T_CTXC | 1) &&
      (rc = get_strict(&sd, &t_crls, der, "crls [1]", err)) != CK_OK)
    return rc;
  if ((rc = expect_strict(&sd, CK__T_SET, &t_sig, der, "signerInfos", err)) !=
      CK_OK)
    return rc;
  if (t_sig.len != 0)
    return ck_failf(err, CK_ERR_PARSE,
                    "PKCS#7: has signers; not a certs-only message");
  if (ck__der_more(&sd))
    return ck_failf(err, CK_ERR_PARSE,
                    "PKCS#7: extra fields after signerInfos");
  *n = count;
  return CK_OK;
}

ck_err ck_pkcs7_certs_only_parse_list(const uint8_t *der, size_t len,
                                      ck_cert_list *list, ck_errctx *err) {
  ck_pkcs7_cert slices[CK_PKCS7_MAX_CERTS];
  ck_cert_list tmp = {0};
  ck_errctx cerr = CK_ERRCTX_INIT;
  ck_cert *c = NULL;
  size_t n = 0, i;
  ck_err rc;

  rc = ck_pkcs7_certs_only_parse(der, len, slices, CK_PKCS7_MAX_CERTS, &n, err);
  if (rc != CK_OK)
    return rc;
  for (i = 0; i < n; i++) {
    rc = ck_cert_parse(slices[i].der, slices[i].len, &c, &cerr);
    if (rc != CK_OK) {
      rc = ck_failf(err, CK_ERR_BAD_CERT, "PKCS#7: certificate %zu: %s", i,
                    ck_errctx_msg(&cerr));
      goto out;
    }
    if ((rc = ck_cert_list_add(&tmp, c)) != CK_OK) {
      rc = ck_failf(err, rc, "PKCS#7: certificate list");
      goto out;
    }
  }
  /* grow list once so moving the certificates over cannot fail halfway */
  if (list->n + tmp.n > list->cap) {
    ck_cert **grown = realloc(list->certs, (list->n + tmp.n) * sizeof *grown);
    if (grown == NULL) {
      rc = ck_failf(err, CK_ERR_NOMEM, "PKCS#7: certificate list");
      goto out;
    }
    list->certs = grown;
    list->cap = list->n + tmp.n;
  }
  if (tmp.n > 0)
    memcpy(list->certs + list->n, tmp.certs, tmp.n * sizeof *tmp.certs);
  list->n += tmp.n;
  tmp.n = 0;
out:
  ck_cert_list_clear(&tmp);
  return rc;
}

/* ------------------------------------------------- challengePassword */

#define OID_CHALLENGE_PASSWORD "\x2a\x86\x48\x86\xf7\x0d\x01\x09\x07"

ck_err ck_csr_challenge_password(const ck_csr *csr, char *out, size_t cap,
                                 ck_errctx *err) {
  ck__der d, ad, vd;
  ck__tlv cri, t, attrs, attr, oid, values, v;
  int found = 0;

  if (cap > 0)
    out[0] = '\0';
  ck__der_init(&d, csr->cri, csr->cri_len);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &cri) != 0)
    return ck_failf(err, CK_ERR_PARSE,
                    "CSR: malformed CertificationRequestInfo");
  ck__der_enter(&d, &cri);
  /* version, subject, subjectPKInfo, then [0] attributes */
  if (ck__der_expect(&d, CK__T_INTEGER, &t) != 0 ||
      ck__der_expect(&d, CK__T_SEQUENCE, &t) != 0 ||
      ck__der_expect(&d, CK__T_SEQUENCE, &t) != 0)
    return ck_failf(err, CK_ERR_PARSE,
                    "CSR: malformed CertificationRequestInfo");
  if (ck__der_optional(&d, CK__T_CTXC | 0, &attrs) != 1)
    return CK_ERR_NOENT;
  ck__der_enter(&d, &attrs);
  while (ck__der_more(&d)) {
    if (ck__der_expect(&d, CK__T_SEQUENCE, &attr) != 0)
      return ck_failf(err, CK_ERR_PARSE, "CSR: malformed attribute");
    ck__der_enter(&ad, &attr);
    if (ck__der_expect(&ad, CK__T_OID, &oid) != 0 ||
        ck__der_expect(&ad, CK__T_SET, &values) != 0 || ck__der_more(&ad))
      return ck_failf(err, CK_ERR_PARSE, "CSR: malformed attribute");
    if (!ck__oid_eq(&oid, CK__OID(OID_CHALLENGE_PASSWORD)))
      continue;
    if (found++)
      return ck_failf(err, CK_ERR_PARSE, "CSR: challengePassword given twice");
    ck__der_enter(&vd, &values);
    if (ck__der_get(&vd, &v) != 0 || ck__der_more(&vd) ||
        (v.tag != CK__T_PRINTABLE && v.tag != CK__T_UTF8 && v.tag != CK__T_IA5))
      return ck_failf(err, CK_ERR_PARSE,
                      "CSR: challengePassword must be one string");
    if (v.len >= cap)
      return ck_failf(err, CK_ERR_RANGE,
                      "CSR: challengePassword of %zu bytes is too long", v.len);
    if (memchr(v.v, 0, v.len) != NULL)
      return ck_failf(err, CK_ERR_PARSE, "CSR: challengePassword holds a NUL");
    memcpy(out, v.v, v.len);
    out[v.len] = '\0';
  }
  return found ? CK_OK : CK_ERR_NOENT;
}

/* ----------------------------------------------------------------- base64 */

/* The EST transfer encoding on the shared codec (common/util/base64.h):
 * standard alphabet, strict '=' padding, whitespace skipped, non-zero
 * trailing bits refused; each refusal named with its offset. */
ck_err ck_b64_decode(const void *in, size_t len, uint8_t **out, size_t *out_len,
                     ck_errctx *err) {
  ck_base64_fault why;
  uint8_t *buf = NULL;
  size_t cap = ck_base64_decoded_max(len), n = 0;

  if (len > (size_t)CK_PKCS7_MAX_LEN / 3 * 4 + CK_PKCS7_MAX_LEN / 16 + 64)
    return ck_failf(err, CK_ERR_LIMIT, "base64 body of %zu bytes is too large",
                    len);
  if ((buf = malloc(cap)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "base64");
  if (ck_base64_decode_into(in, len, CK_BASE64_SPACE | CK_BASE64_BITS, buf, cap,
                            &n, &why) != CK_OK) {
    ck_crypto_free_secret(buf, cap);
    switch (why.kind) {
    case CK_BASE64_FAULT_PAD_EARLY:
      return ck_failf(err, CK_ERR_PARSE, "base64: misplaced '=' at offset %zu",
                      why.at);
    case CK_BASE64_FAULT_AFTER_PAD:
      return ck_failf(err, CK_ERR_PARSE,
                      "base64: data after '=' padding at offset %zu", why.at);
    case CK_BASE64_FAULT_CHAR:
      return ck_failf(err, CK_ERR_PARSE,
                      "base64: character outside the alphabet at offset %zu",
                      why.at);
    case CK_BASE64_FAULT_TRUNCATED:
      return ck_failf(
          err, CK_ERR_PARSE,
          "base64: truncated (%zu characters left over, no padding)", why.at);
    case CK_BASE64_FAULT_BITS:
      return ck_failf(err, CK_ERR_PARSE,
                      "base64: non-zero bits in the last character");
    default:
      return ck_failf(err, CK_ERR_PARSE, "base64: bad padding");
    }
  }
  *out = buf;
  *out_len = n;
  return CK_OK;
}

ck_err ck_b64_encode(const uint8_t *in, size_t len, int line_breaks, char **out,
                     size_t *out_len, ck_errctx *err) {
  size_t wrap = line_breaks ? 64 : 0, cap;
  char *s;

  if (len > (size_t)CK_PKCS7_MAX_LEN * 4)
    return ck_failf(err, CK_ERR_LIMIT, "base64: %zu bytes is too large", len);
  cap = ck_base64_encoded_len(len, 0, wrap, 2) + 1;
  if ((s = malloc(cap)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "base64");
  *out_len = ck_base64_encode_into(in, len, 0, wrap, "\r\n", s);
  *out = s;
  return CK_OK;
}
