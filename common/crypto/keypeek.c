/* keypeek.c — the public key of a private key file without the backend's
 * key parser (see ck_key_peek_spki_sha256 in crypto.h).
 *
 * Discovery compares keys with certificates by the SHA-256 of the
 * SubjectPublicKeyInfo; loading a key through OpenSSL 3's decoders costs
 * ~0.5-0.7 ms, most of a scan of many keys. RSA private keys carry n and e,
 * and EC private keys written by common tools carry their public point, so
 * the SPKI can be rebuilt from the DER directly (the same bytes a
 * certificate holds: rsaEncryption + NULL, or id-ecPublicKey + named
 * curve). Backend-neutral: one implementation serves both builds. */
#include <stdlib.h>
#include <string.h>

#include "common/crypto/crypto.h"
#include "common/crypto/crypto_int.h"

/* A DER INTEGER value that is positive and minimally encoded. */
static int good_uint(const ck__tlv *t) {
  if (t->len == 0 || (t->v[0] & 0x80))
    return 0;
  return !(t->len > 1 && t->v[0] == 0 && !(t->v[1] & 0x80));
}

static unsigned uint_bits(const ck__tlv *t) {
  size_t i = 0;
  unsigned b;
  while (i < t->len && t->v[i] == 0)
    i++;
  if (i == t->len)
    return 0;
  b = (unsigned)(t->len - i - 1) * 8;
  for (uint8_t c = t->v[i]; c; c >>= 1)
    b++;
  return b;
}

/* Hashes the SPKI SEQUENCE { SEQUENCE { alg, params }, BIT STRING bits }
 * (params: NULL when p is NULL and null_params, none when p is NULL). */
static ck_err spki_hash(ck__oid alg, const uint8_t *p, size_t pn,
                        int null_params, const uint8_t *bits, size_t bn,
                        uint8_t out[CK_SHA256_LEN]) {
  ck__derw w;
  uint8_t *der = NULL;
  size_t len = 0;
  ck_err rc;
  ck__derw_init(&w);
  ck__derw_begin(&w, CK__T_SEQUENCE);
  ck__derw_begin(&w, CK__T_SEQUENCE);
  ck__derw_tlv(&w, CK__T_OID, alg.b, alg.n);
  if (p)
    ck__derw_tlv(&w, CK__T_OID, p, pn);
  else if (null_params)
    ck__derw_tlv(&w, CK__T_NULL, NULL, 0);
  ck__derw_end(&w);
  ck__derw_tlv(&w, CK__T_BITSTRING, bits, bn);
  ck__derw_end(&w);
  rc = ck__derw_finish(&w, &der, &len);
  if (rc == CK_OK)
    rc = ck_crypto_sha256(der, len, out);
  ck__derw_free(&w);
  free(der);
  return rc;
}

/* RSAPrivateKey (PKCS#1) in v[0..n). */
static ck_err from_pkcs1(const uint8_t *v, size_t n, ck_key_type *type,
                         unsigned *bits, uint8_t out[CK_SHA256_LEN]) {
  ck__der d;
  ck__tlv seq, ver, mod, exp;
  ck__derw w;
  uint8_t *pub = NULL;
  size_t plen = 0;
  long version;
  ck_err rc;
  ck__der_init(&d, v, n);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &seq) != 0 || ck__der_more(&d))
    return CK_ERR_BAD_KEY;
  ck__der_enter(&d, &seq);
  if (ck__der_expect(&d, CK__T_INTEGER, &ver) != 0 ||
      ck__der_small_uint(&ver, 1, &version) != 0 ||
      ck__der_expect(&d, CK__T_INTEGER, &mod) != 0 ||
      ck__der_expect(&d, CK__T_INTEGER, &exp) != 0 ||
      ck__der_get(&d, &ver) != 0) /* d follows: it is a private key */
    return CK_ERR_BAD_KEY;
  if (!good_uint(&mod) || !good_uint(&exp))
    return CK_ERR_UNSUPPORTED; /* let the backend judge odd encodings */
  /* BIT STRING content: no unused bits, then RSAPublicKey { n, e } */
  ck__derw_init(&w);
  ck__derw_raw(&w, "\0", 1);
  ck__derw_begin(&w, CK__T_SEQUENCE);
  ck__derw_tlv(&w, CK__T_INTEGER, mod.v, mod.len);
  ck__derw_tlv(&w, CK__T_INTEGER, exp.v, exp.len);
  ck__derw_end(&w);
  rc = ck__derw_finish(&w, &pub, &plen);
  if (rc == CK_OK)
    rc = spki_hash(CK__OID(CK__OID_RSA), NULL, 0, 1, pub, plen, out);
  ck__derw_free(&w);
  free(pub);
  if (rc == CK_OK) {
    *type = CK_KEY_RSA;
    *bits = uint_bits(&mod);
  }
  return rc;
}

/* ECPrivateKey (SEC1) in v[0..n); curve: the named curve OID value from a
 * PKCS#8 wrapper, or NULL. */
static ck_err from_sec1(const uint8_t *v, size_t n, const ck__tlv *curve,
                        ck_key_type *type, unsigned *bits,
                        uint8_t out[CK_SHA256_LEN]) {
  ck__der d, in;
  ck__tlv seq, ver, priv, params, oid, pubw, pub;
  long version;
  int r;
  unsigned cbits = 0;
  ck_err rc;
  ck__der_init(&d, v, n);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &seq) != 0 || ck__der_more(&d))
    return CK_ERR_BAD_KEY;
  ck__der_enter(&d, &seq);
  if (ck__der_expect(&d, CK__T_INTEGER, &ver) != 0 ||
      ck__der_small_uint(&ver, 1, &version) != 0 || version != 1 ||
      ck__der_expect(&d, CK__T_OCTETSTRING, &priv) != 0)
    return CK_ERR_BAD_KEY;
  r = ck__der_optional(&d, CK__T_CTXC | 0, &params);
  if (r < 0)
    return CK_ERR_BAD_KEY;
  if (r == 1) {
    in = d;
    ck__der_enter(&in, &params);
    if (ck__der_expect(&in, CK__T_OID, &oid) != 0)
      return CK_ERR_UNSUPPORTED; /* explicit parameters */
    curve = &oid;
  }
  r = ck__der_optional(&d, CK__T_CTXC | 1, &pubw);
  if (r < 0)
    return CK_ERR_BAD_KEY;
  if (r == 0 || !curve)
    return CK_ERR_UNSUPPORTED; /* no public point / curve: derive it */
  in = d;
  ck__der_enter(&in, &pubw);
  if (ck__der_expect(&in, CK__T_BITSTRING, &pub) != 0 || ck__der_more(&in))
    return CK_ERR_BAD_KEY;
  /* uncompressed points only: what certificates carry */
  if (pub.len < 3 || pub.v[0] != 0 || pub.v[1] != 0x04)
    return CK_ERR_UNSUPPORTED;
  if (!ck__oid_curve_name(curve->v, curve->len, &cbits))
    return CK_ERR_UNSUPPORTED;
  rc = spki_hash(CK__OID(CK__OID_EC), curve->v, curve->len, 0, pub.v, pub.len,
                 out);
  if (rc == CK_OK) {
    *type = CK_KEY_EC;
    *bits = cbits;
  }
  return rc;
}

/* PrivateKeyInfo / OneAsymmetricKey (PKCS#8, RFC 5958) in v[0..n). */
static ck_err from_pkcs8(const uint8_t *v, size_t n, ck_key_type *type,
                         unsigned *bits, uint8_t out[CK_SHA256_LEN]) {
  ck__der d, a;
  ck__tlv seq, ver, alg, oid, params, pk, attrs, pub;
  long version;
  int r, has_params;
  ck__der_init(&d, v, n);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &seq) != 0 || ck__der_more(&d))
    return CK_ERR_BAD_KEY;
  ck__der_enter(&d, &seq);
  if (ck__der_expect(&d, CK__T_INTEGER, &ver) != 0 ||
      ck__der_small_uint(&ver, 1, &version) != 0 ||
      ck__der_expect(&d, CK__T_SEQUENCE, &alg) != 0)
    return CK_ERR_BAD_KEY;
  a = d;
  ck__der_enter(&a, &alg);
  if (ck__der_expect(&a, CK__T_OID, &oid) != 0)
    return CK_ERR_BAD_KEY;
  has_params = ck__der_more(&a) && ck__der_get(&a, &params) == 0;
  if (ck__der_expect(&d, CK__T_OCTETSTRING, &pk) != 0)
    return CK_ERR_BAD_KEY;
  if (ck__oid_eq(&oid, CK__OID(CK__OID_RSA)))
    return from_pkcs1(pk.v, pk.len, type, bits, out);
  if (ck__oid_eq(&oid, CK__OID(CK__OID_EC))) {
    if (!has_params || params.tag != CK__T_OID)
      return CK_ERR_UNSUPPORTED;
    return from_sec1(pk.v, pk.len, &params, type, bits, out);
  }
  if (ck__oid_eq(&oid, CK__OID(CK__OID_ED25519)) ||
      ck__oid_eq(&oid, CK__OID(CK__OID_ED448))) {
    int ed448 = ck__oid_eq(&oid, CK__OID(CK__OID_ED448));
    size_t want = ed448 ? 57 : 32;
    ck_err rc;
    if ((r = ck__der_optional(&d, CK__T_CTXC | 0, &attrs)) < 0)
      return CK_ERR_BAD_KEY;
    /* [1] IMPLICIT BIT STRING publicKey (v2 only); else it is derived */
    if ((r = ck__der_optional(&d, CK__T_CTX | 1, &pub)) < 0)
      return CK_ERR_BAD_KEY;
    if (r == 0 || pub.len != want + 1 || pub.v[0] != 0)
      return CK_ERR_UNSUPPORTED;
    rc = spki_hash(ed448 ? CK__OID(CK__OID_ED448) : CK__OID(CK__OID_ED25519),
                   NULL, 0, 0, pub.v, pub.len, out);
    if (rc == CK_OK) {
      *type = ed448 ? CK_KEY_ED448 : CK_KEY_ED25519;
      *bits = ed448 ? 456 : 256;
    }
    return rc;
  }
  return CK_ERR_UNSUPPORTED;
}

/* A DER key of unknown kind: PKCS#8, then PKCS#1, then SEC1. */
static ck_err from_der(const uint8_t *v, size_t n, ck_key_type *type,
                       unsigned *bits, uint8_t out[CK_SHA256_LEN]) {
  ck_err rc = from_pkcs8(v, n, type, bits, out);
  if (rc == CK_ERR_BAD_KEY)
    rc = from_pkcs1(v, n, type, bits, out);
  if (rc == CK_ERR_BAD_KEY)
    rc = from_sec1(v, n, NULL, type, bits, out);
  return rc;
}

ck_err ck_key_peek_spki_sha256(const uint8_t *data, size_t len,
                               ck_key_type *type, unsigned *bits,
                               uint8_t out[CK_SHA256_LEN], ck_errctx *err) {
  ck_pem_block blk;
  ck_errctx perr = CK_ERRCTX_INIT;
  size_t pos = 0;
  ck_key_type t = CK_KEY_UNKNOWN;
  unsigned b = 0;
  ck_err rc;
  if (!data || !type || !bits || !out)
    return ck_failf(err, CK_ERR_INVAL, "key peek: NULL argument");
  if (len > CK__MAX_INPUT)
    return ck_failf(err, CK_ERR_LIMIT, "key input over %u bytes",
                    CK__MAX_INPUT);
  if (!ck_pem_looks_like(data, len)) {
    rc = from_der(data, len, &t, &b, out);
  } else {
    for (;;) {
      memset(&blk, 0, sizeof(blk));
      rc = ck_pem_next(data, len, &pos, &blk, &perr);
      if (rc == CK_ERR_NOENT) {
        rc = CK_ERR_BAD_PEM;
        break;
      }
      if (rc != CK_OK || !ck__pem_is_key_label(blk.label)) {
        ck_pem_block_clear(&blk);
        ck_errctx_clear(&perr);
        if (rc != CK_OK) {
          rc = CK_ERR_UNSUPPORTED; /* the parser reports it properly */
          break;
        }
        continue;
      }
      if (blk.encrypted || !strcmp(blk.label, "ENCRYPTED PRIVATE KEY"))
        rc = CK_ERR_KEY_ENCRYPTED;
      else if (!strcmp(blk.label, "PRIVATE KEY"))
        rc = from_pkcs8(blk.der, blk.der_len, &t, &b, out);
      else if (!strcmp(blk.label, "RSA PRIVATE KEY"))
        rc = from_pkcs1(blk.der, blk.der_len, &t, &b, out);
      else if (!strcmp(blk.label, "EC PRIVATE KEY"))
        rc = from_sec1(blk.der, blk.der_len, NULL, &t, &b, out);
      else
        rc = CK_ERR_UNSUPPORTED;
      ck_pem_block_clear(&blk);
      break;
    }
  }
  if (rc != CK_OK) {
    memset(out, 0, CK_SHA256_LEN);
    return ck_failf(err, rc, "key peek: %s", ck_strerror(rc));
  }
  *type = t;
  *bits = b;
  return CK_OK;
}
