/* ocsp.c — OCSP requests and responses (ocsp.h), backend-neutral: the DER
 * reader and writer of der.c, signatures through certgen_int.h. The parser
 * is the part hostile input reaches; tests/fuzz/fuzz_ocsp.c runs it. */
#include <stdlib.h>
#include <string.h>

#include "common/crypto/certgen_int.h"
#include "common/crypto/ocsp.h"

struct ck_ocsp_responder {
  ck_certgen_issuer *iss; /* self-signed handle on the responder key */
  const ck_cert *cert;    /* borrowed */
};

#define OID_SHA1 "\x2b\x0e\x03\x02\x1a"
#define OID_SHA256 "\x60\x86\x48\x01\x65\x03\x04\x02\x01"
#define OID_NONCE "\x2b\x06\x01\x05\x05\x07\x30\x01\x02"
#define OID_BASIC "\x2b\x06\x01\x05\x05\x07\x30\x01\x01"

#define BAD(what) ck_failf(err, CK_ERR_BAD_DER, "OCSP request: malformed %s", what)

static int oid_is(const ck__tlv *t, const char *oid, size_t n) {
  return t->len == n && memcmp(t->v, oid, n) == 0;
}

/* Extensions ::= SEQUENCE OF Extension, inside [n] EXPLICIT. Records the
 * nonce; refuses unknown critical ones. */
static ck_err parse_exts(const ck__tlv *wrap, ck_ocsp_request *out, int allow_nonce,
                         ck_errctx *err) {
  ck__der d, sd, ed;
  ck__tlv seq, ext, oid, v, crit;
  int critical;

  ck__der_init(&d, wrap->v, wrap->len);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &seq) != 0 || ck__der_more(&d))
    return BAD("extensions");
  ck__der_init(&sd, seq.v, seq.len);
  while (ck__der_more(&sd)) {
    if (ck__der_expect(&sd, CK__T_SEQUENCE, &ext) != 0)
      return BAD("extension");
    ck__der_init(&ed, ext.v, ext.len);
    critical = 0;
    if (ck__der_expect(&ed, CK__T_OID, &oid) != 0)
      return BAD("extension id");
    switch (ck__der_optional(&ed, CK__T_BOOLEAN, &crit)) {
    case 1:
      if (ck__der_bool(&crit, &critical) != 0)
        return BAD("extension critical flag");
      break;
    case 0:
      break;
    default:
      return BAD("extension");
    }
    if (ck__der_expect(&ed, CK__T_OCTETSTRING, &v) != 0 || ck__der_more(&ed))
      return BAD("extension value");
    if (allow_nonce && oid_is(&oid, OID_NONCE, sizeof OID_NONCE - 1)) {
      if (out->nonce != NULL)
        return BAD("request: two nonces");
      if (v.len == 0 || v.len > CK_OCSP_NONCE_MAX + 4)
        return ck_failf(err, CK_ERR_LIMIT,
                        "OCSP request: nonce of %zu bytes (1..%d allowed)", v.len,
                        CK_OCSP_NONCE_MAX);
      out->nonce = v.v;
      out->nonce_len = v.len;
    } else if (critical) {
      return ck_failf(err, CK_ERR_UNSUPPORTED,
                      "OCSP request: unsupported critical extension");
    }
  }
  return CK_OK;
}

static ck_err parse_cert_id(const ck__tlv *cid, ck_ocsp_request *out, ck_errctx *err) {
  ck__der d, ad;
  ck__tlv alg, oid, nh, kh, serial, params;

  out->cert_id = cid->raw;
  out->cert_id_len = cid->raw_len;
  ck__der_init(&d, cid->v, cid->len);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &alg) != 0)
    return BAD("CertID hashAlgorithm");
  ck__der_init(&ad, alg.v, alg.len);
  if (ck__der_expect(&ad, CK__T_OID, &oid) != 0)
    return BAD("CertID hashAlgorithm");
  if (ck__der_more(&ad) &&
      (ck__der_expect(&ad, CK__T_NULL, &params) != 0 || params.len != 0 ||
       ck__der_more(&ad)))
    return BAD("CertID hashAlgorithm parameters");
  if (oid_is(&oid, OID_SHA1, sizeof OID_SHA1 - 1))
    out->hash = CK_OCSP_HASH_SHA1;
  else if (oid_is(&oid, OID_SHA256, sizeof OID_SHA256 - 1))
    out->hash = CK_OCSP_HASH_SHA256;
  else
    out->hash = CK_OCSP_HASH_OTHER;
  if (ck__der_expect(&d, CK__T_OCTETSTRING, &nh) != 0 ||
      ck__der_expect(&d, CK__T_OCTETSTRING, &kh) != 0)
    return BAD("CertID hashes");
  if (ck__der_expect(&d, CK__T_INTEGER, &serial) != 0 || serial.len == 0 ||
      ck__der_more(&d))
    return BAD("CertID serialNumber");
  if (serial.len > 64)
    return ck_failf(err, CK_ERR_LIMIT, "OCSP request: serial of %zu bytes", serial.len);
  out->name_hash = nh.v;
  out->name_hash_len = nh.len;
  out->key_hash = kh.v;
  out->key_hash_len = kh.len;
  out->serial = serial.v;
  out->serial_len = serial.len;
  return CK_OK;
}

ck_err ck_ocsp_request_parse(const uint8_t *der, size_t len,
                             ck_ocsp_request *out, ck_errctx *err) {
  ck__der d, td, ld, rd;
  ck__tlv req, tbs, t, list, one, cid;
  ck_err rc;
  int r;

  if (der == NULL || out == NULL)
    return ck_failf(err, CK_ERR_INVAL, "ck_ocsp_request_parse: NULL argument");
  memset(out, 0, sizeof *out);
  if (len > CK_OCSP_REQUEST_MAX)
    return ck_failf(err, CK_ERR_LIMIT, "OCSP request of %zu bytes (at most %d)", len,
                    CK_OCSP_REQUEST_MAX);
  ck__der_init(&d, der, len);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &req) != 0 || ck__der_more(&d))
    return BAD("OCSPRequest");
  ck__der_init(&d, req.v, req.len);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &tbs) != 0)
    return BAD("tbsRequest");
  /* optionalSignature [0]: accepted and ignored */
  if (ck__der_more(&d) &&
      (ck__der_expect(&d, CK__T_CTXC | 0, &t) != 0 || ck__der_more(&d)))
    return BAD("optionalSignature");
  ck__der_init(&td, tbs.v, tbs.len);
  if ((r = ck__der_optional(&td, CK__T_CTXC | 0, &t)) < 0)
    return BAD("version");
  if (r == 1) {
    ck__der vd;
    ck__tlv ver;
    long v;
    ck__der_init(&vd, t.v, t.len);
    if (ck__der_expect(&vd, CK__T_INTEGER, &ver) != 0 || ck__der_more(&vd) ||
        ck__der_small_uint(&ver, 10, &v) != 0 || v != 0)
      return BAD("version (only v1 exists)");
  }
  if (ck__der_optional(&td, CK__T_CTXC | 1, &t) < 0) /* requestorName */
    return BAD("requestorName");
  if (ck__der_expect(&td, CK__T_SEQUENCE, &list) != 0)
    return BAD("requestList");
  if ((r = ck__der_optional(&td, CK__T_CTXC | 2, &t)) < 0 || ck__der_more(&td))
    return BAD("requestExtensions");
  if (r == 1 && (rc = parse_exts(&t, out, 1, err)) != CK_OK)
    return rc;
  ck__der_init(&ld, list.v, list.len);
  if (ck__der_expect(&ld, CK__T_SEQUENCE, &one) != 0)
    return BAD("requestList (empty)");
  if (ck__der_more(&ld))
    return ck_failf(err, CK_ERR_LIMIT,
                    "OCSP request: asks about several certificates; send one "
                    "request per certificate (RFC 5019 2.1.1)");
  ck__der_init(&rd, one.v, one.len);
  if (ck__der_expect(&rd, CK__T_SEQUENCE, &cid) != 0)
    return BAD("reqCert");
  if ((r = ck__der_optional(&rd, CK__T_CTXC | 0, &t)) < 0 || ck__der_more(&rd))
    return BAD("singleRequestExtensions");
  if (r == 1 && (rc = parse_exts(&t, out, 0, err)) != CK_OK)
    return rc;
  return parse_cert_id(&cid, out, err);
}

ck_err ck_ocsp_issuer_hashes(const ck_cert *issuer, ck_ocsp_hash h,
                             uint8_t name[CK_SHA256_LEN],
                             uint8_t key[CK_SHA256_LEN], size_t *len,
                             ck_errctx *err) {
  ck__der d;
  ck__tlv seq, alg, bits;
  ck_err rc;

  ck__der_init(&d, issuer->spki, issuer->spki_len);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &seq) != 0)
    return ck_failf(err, CK_ERR_BAD_CERT, "issuer: bad public key");
  ck__der_enter(&d, &seq);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &alg) != 0 ||
      ck__der_expect(&d, CK__T_BITSTRING, &bits) != 0 || bits.len < 1)
    return ck_failf(err, CK_ERR_BAD_CERT, "issuer: bad public key");
  if (h == CK_OCSP_HASH_SHA1) {
    *len = CK_SHA1_LEN;
    rc = ck_crypto_sha1(issuer->subject, issuer->subject_len, name);
    if (rc == CK_OK)
      rc = ck_crypto_sha1(bits.v + 1, bits.len - 1, key);
  } else if (h == CK_OCSP_HASH_SHA256) {
    *len = CK_SHA256_LEN;
    rc = ck_crypto_sha256(issuer->subject, issuer->subject_len, name);
    if (rc == CK_OK)
      rc = ck_crypto_sha256(bits.v + 1, bits.len - 1, key);
  } else {
    return ck_failf(err, CK_ERR_UNSUPPORTED, "OCSP: unsupported CertID hash");
  }
  if (rc != CK_OK)
    return ck_failf(err, rc, "hashing the issuer failed");
  return CK_OK;
}

const uint8_t *ck_ocsp_status_response(ck_ocsp_resp_status st, size_t *len) {
  static const uint8_t r[7][5] = {
      {0x30, 0x03, 0x0a, 0x01, 0x00}, {0x30, 0x03, 0x0a, 0x01, 0x01},
      {0x30, 0x03, 0x0a, 0x01, 0x02}, {0x30, 0x03, 0x0a, 0x01, 0x03},
      {0x30, 0x03, 0x0a, 0x01, 0x04}, {0x30, 0x03, 0x0a, 0x01, 0x05},
      {0x30, 0x03, 0x0a, 0x01, 0x06}};
  unsigned i = (unsigned)st < 7 ? (unsigned)st : 2;

  *len = 5;
  return r[i];
}

ck_err ck_ocsp_responder_new(const ck_cert *cert, const ck_key *key,
                             ck_ocsp_responder **out, ck_errctx *err) {
  ck_ocsp_responder *r;
  ck_err rc;

  if (cert == NULL || key == NULL || out == NULL)
    return ck_failf(err, CK_ERR_INVAL, "ck_ocsp_responder_new: NULL argument");
  if ((rc = ck_key_match_cert(key, cert, err)) != CK_OK)
    return rc;
  r = calloc(1, sizeof *r);
  if (r == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  rc = ck_certgen_issuer_new(NULL, key, &r->iss, err);
  if (rc != CK_OK) {
    free(r);
    return rc;
  }
  r->cert = cert;
  *out = r;
  return CK_OK;
}

void ck_ocsp_responder_free(ck_ocsp_responder *r) {
  if (r == NULL)
    return;
  ck_certgen_issuer_free(r->iss);
  free(r);
}

ck_err ck_ocsp_response_build(const ck_ocsp_responder *r,
                              const ck_ocsp_single *s, uint8_t **out,
                              size_t *out_len, ck_errctx *err) {
  static const uint8_t zero = 0, success = 0;
  uint8_t sig[CK__CERTGEN_SIG_MAX], reason;
  uint8_t *tbs = NULL, *basic = NULL;
  size_t tbs_len = 0, basic_len = 0, sig_len = 0, alg_len, cert_len;
  const uint8_t *alg, *cert_der;
  ck__derw w;
  ck_err rc;

  ck__derw_init(&w);
  if (r == NULL || s == NULL || out == NULL || out_len == NULL ||
      s->cert_id == NULL) {
    rc = ck_failf(err, CK_ERR_INVAL, "ck_ocsp_response_build: NULL argument");
    goto out;
  }
  ck__derw_begin(&w, CK__T_SEQUENCE); /* ResponseData */
  ck__derw_tlv(&w, CK__T_CTXC | 1, r->cert->subject, r->cert->subject_len);
  ck__certgen_write_time(&w, s->produced_at, 1);
  ck__derw_begin(&w, CK__T_SEQUENCE); /* responses */
  ck__derw_begin(&w, CK__T_SEQUENCE); /* SingleResponse */
  ck__derw_raw(&w, s->cert_id, s->cert_id_len);
  if (s->status == CK_OCSP_GOOD) {
    ck__derw_tlv(&w, CK__T_CTX | 0, NULL, 0);
  } else if (s->status == CK_OCSP_REVOKED) {
    ck__derw_begin(&w, CK__T_CTXC | 1);
    ck__certgen_write_time(&w, s->revoked_at, 1);
    if (s->reason >= 0 && s->reason <= 10 && s->reason != 7) {
      reason = (uint8_t)s->reason;
      ck__derw_begin(&w, CK__T_CTXC | 0);
      ck__derw_tlv(&w, 0x0a, &reason, 1);
      ck__derw_end(&w);
    }
    ck__derw_end(&w);
  } else {
    ck__derw_tlv(&w, CK__T_CTX | 2, NULL, 0);
  }
  ck__certgen_write_time(&w, s->this_update, 1);
  if (s->next_update != 0) {
    ck__derw_begin(&w, CK__T_CTXC | 0);
    ck__certgen_write_time(&w, s->next_update, 1);
    ck__derw_end(&w);
  }
  ck__derw_end(&w);
  ck__derw_end(&w);
  if (s->nonce != NULL && s->nonce_len > 0) {
    ck__derw_begin(&w, CK__T_CTXC | 1); /* responseExtensions */
    ck__derw_begin(&w, CK__T_SEQUENCE);
    ck__derw_begin(&w, CK__T_SEQUENCE);
    ck__derw_tlv(&w, CK__T_OID, OID_NONCE, sizeof OID_NONCE - 1);
    ck__derw_tlv(&w, CK__T_OCTETSTRING, s->nonce, s->nonce_len);
    ck__derw_end(&w);
    ck__derw_end(&w);
    ck__derw_end(&w);
  }
  ck__derw_end(&w);
  if ((rc = ck__derw_finish(&w, &tbs, &tbs_len)) != CK_OK) {
    ck_failf(err, rc, "encoding the OCSP response failed");
    goto out;
  }
  rc = ck__certgen_sign_raw(r->iss, tbs, tbs_len, sig, &sig_len, &alg, &alg_len, err);
  if (rc != CK_OK)
    goto out;
  cert_der = ck_cert_der(r->cert, &cert_len);
  ck__derw_begin(&w, CK__T_SEQUENCE); /* BasicOCSPResponse */
  ck__derw_raw(&w, tbs, tbs_len);
  ck__derw_raw(&w, alg, alg_len);
  ck__derw_begin(&w, CK__T_BITSTRING);
  ck__derw_raw(&w, &zero, 1);
  ck__derw_raw(&w, sig, sig_len);
  ck__derw_end(&w);
  ck__derw_begin(&w, CK__T_CTXC | 0);
  ck__derw_begin(&w, CK__T_SEQUENCE);
  ck__derw_raw(&w, cert_der, cert_len);
  ck__derw_end(&w);
  ck__derw_end(&w);
  ck__derw_end(&w);
  if ((rc = ck__derw_finish(&w, &basic, &basic_len)) != CK_OK) {
    ck_failf(err, rc, "encoding the OCSP response failed");
    goto out;
  }
  ck__derw_begin(&w, CK__T_SEQUENCE); /* OCSPResponse */
  ck__derw_tlv(&w, 0x0a, &success, 1);
  ck__derw_begin(&w, CK__T_CTXC | 0);
  ck__derw_begin(&w, CK__T_SEQUENCE);
  ck__derw_tlv(&w, CK__T_OID, OID_BASIC, sizeof OID_BASIC - 1);
  ck__derw_tlv(&w, CK__T_OCTETSTRING, basic, basic_len);
  ck__derw_end(&w);
  ck__derw_end(&w);
  ck__derw_end(&w);
  if ((rc = ck__derw_finish(&w, out, out_len)) != CK_OK)
    ck_failf(err, rc, "encoding the OCSP response failed");
out:
  ck__derw_free(&w);
  free(tbs);
  free(basic);
  return rc;
}
