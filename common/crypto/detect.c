/* detect.c — "what is this file?" for discovery.
 *
 * The agent walks directories full of .pem, .crt, .key, .p12 and files with
 * no telling extension. ck_crypto_detect() answers from the bytes alone:
 * PEM blocks are counted by label (and Proc-Type headers), DER is recognised
 * by its ASN.1 shape without a backend — so the mbedTLS build, which cannot
 * read PKCS#12, still says "PKCS#12". Shapes, outermost SEQUENCE first:
 *   certificate  SEQ{ SEQ{[0]? INT SEQ SEQ SEQ(validity)...} SEQ BITSTR }
 *   CRL          SEQ{ SEQ{INT? SEQ SEQ TIME ...} SEQ BITSTR }
 *   CSR          SEQ{ SEQ{INT(0) SEQ SEQ [0]} SEQ BITSTR }
 *   PKCS#12      SEQ{ INT(3) SEQ{OID pkcs7-data|signedData ...} ... }
 *                (BER indefinite lengths allowed: many tools write them)
 *   PKCS#8       SEQ{ INT(0|1) SEQ(alg) OCTETSTR ... }
 *   enc. PKCS#8  SEQ{ SEQ(alg) OCTETSTR }
 *   RSA key      SEQ{ INT(0) INT INT INT ... } (9 integers)
 *   EC key       SEQ{ INT(1) OCTETSTR ... }
 *   SPKI         SEQ{ SEQ(alg) BITSTR } */
#include <string.h>

#include "common/crypto/crypto_int.h"

int ck__pem_is_cert_label(const char *label) {
  return strcmp(label, "CERTIFICATE") == 0 ||
         strcmp(label, "X509 CERTIFICATE") == 0 ||
         strcmp(label, "TRUSTED CERTIFICATE") == 0;
}

int ck__pem_is_key_label(const char *label) {
  return strcmp(label, "PRIVATE KEY") == 0 ||
         strcmp(label, "RSA PRIVATE KEY") == 0 ||
         strcmp(label, "EC PRIVATE KEY") == 0 ||
         strcmp(label, "DSA PRIVATE KEY") == 0 ||
         strcmp(label, "ENCRYPTED PRIVATE KEY") == 0;
}

const char *ck_content_kind_name(ck_content_kind kind) {
  switch (kind) {
  case CK_CONTENT_CERT:
    return "certificate";
  case CK_CONTENT_CERT_AND_KEY:
    return "certificate and key";
  case CK_CONTENT_KEY:
    return "private key";
  case CK_CONTENT_CSR:
    return "certificate request";
  case CK_CONTENT_PKCS12:
    return "PKCS#12";
  case CK_CONTENT_PUBKEY:
    return "public key";
  case CK_CONTENT_CRL:
    return "CRL";
  case CK_CONTENT_UNKNOWN:
    break;
  }
  return "unknown";
}

/* PKCS#12 prefix, tolerant of BER indefinite lengths: 30 L 02 01 03 30 L 06
 * 09 <pkcs7 data or signedData>. */
static int is_pkcs12(const uint8_t *p, size_t n) {
  size_t i = 0, skip;

  if (n < 2 || p[i++] != 0x30)
    return 0;
  skip = p[i] < 0x80 ? 1 : 1 + (p[i] & 0x7f);
  if (p[i] > 0x84)
    return 0;
  i += skip;
  if (i + 5 > n || memcmp(p + i, "\x02\x01\x03\x30", 4) != 0)
    return 0;
  i += 4;
  skip = p[i] < 0x80 ? 1 : 1 + (p[i] & 0x7f);
  if (p[i] > 0x84)
    return 0;
  i += skip;
  if (i + 11 > n || p[i] != 0x06 || p[i + 1] != 0x09)
    return 0;
  return memcmp(p + i + 2, CK__OID_PKCS7_DATA, 9) == 0 ||
         memcmp(p + i + 2, CK__OID_PKCS7_SIGNED, 9) == 0;
}

static int is_time(int tag) {
  return tag == CK__T_UTCTIME || tag == CK__T_GENTIME;
}

/* Classifies one DER element (signed structures and keys). */
static ck_content_kind der_kind(const uint8_t *p, size_t n, int *encrypted) {
  ck__der d, in;
  ck__tlv outer, a, b, c, t;
  int tags[5], k;

  *encrypted = 0;
  if (is_pkcs12(p, n))
    return CK_CONTENT_PKCS12;
  ck__der_init(&d, p, n);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &outer) != 0)
    return CK_CONTENT_UNKNOWN;
  ck__der_enter(&d, &outer);
  if (ck__der_get(&d, &a) != 0 || ck__der_get(&d, &b) != 0)
    return CK_CONTENT_UNKNOWN;

  if (a.tag == CK__T_SEQUENCE && b.tag == CK__T_BITSTRING && !ck__der_more(&d))
    return CK_CONTENT_PUBKEY;
  if (a.tag == CK__T_SEQUENCE && b.tag == CK__T_OCTETSTRING &&
      !ck__der_more(&d)) {
    *encrypted = 1;
    return CK_CONTENT_KEY;
  }
  if (a.tag == CK__T_INTEGER) {
    long v;
    int has_c = ck__der_get(&d, &c) == 0;
    if (ck__der_small_uint(&a, 1, &v) != 0)
      return CK_CONTENT_UNKNOWN;
    if (v == 1 && b.tag == CK__T_OCTETSTRING)
      return CK_CONTENT_KEY; /* ECPrivateKey */
    if (has_c && b.tag == CK__T_SEQUENCE && c.tag == CK__T_OCTETSTRING)
      return CK_CONTENT_KEY; /* PKCS#8 */
    if (has_c && v == 0 && b.tag == CK__T_INTEGER && c.tag == CK__T_INTEGER)
      return CK_CONTENT_KEY; /* RSAPrivateKey */
    return CK_CONTENT_UNKNOWN;
  }
  /* Signed structures: SEQ{ tbs, alg, BITSTRING }. */
  if (a.tag != CK__T_SEQUENCE || b.tag != CK__T_SEQUENCE ||
      ck__der_get(&d, &c) != 0 || c.tag != CK__T_BITSTRING || ck__der_more(&d))
    return CK_CONTENT_UNKNOWN;
  ck__der_enter(&in, &a);
  for (k = 0; k < 5; k++)
    tags[k] = ck__der_get(&in, &t) == 0 ? (int)t.tag : -1;
  if (tags[0] == (CK__T_CTXC | 0) && tags[1] == CK__T_INTEGER)
    return CK_CONTENT_CERT; /* v2/v3 certificate */
  if (tags[0] == CK__T_INTEGER && tags[1] == CK__T_SEQUENCE &&
      tags[2] == CK__T_SEQUENCE && tags[3] == CK__T_SEQUENCE &&
      tags[4] == CK__T_SEQUENCE)
    return CK_CONTENT_CERT; /* v1 certificate */
  if (tags[0] == CK__T_INTEGER && tags[1] == CK__T_SEQUENCE &&
      tags[2] == CK__T_SEQUENCE && (tags[3] == (CK__T_CTXC | 0) || tags[3] < 0))
    return CK_CONTENT_CSR;
  if ((tags[0] == CK__T_INTEGER && tags[1] == CK__T_SEQUENCE &&
       tags[2] == CK__T_SEQUENCE && is_time(tags[3])) ||
      (tags[0] == CK__T_SEQUENCE && tags[1] == CK__T_SEQUENCE &&
       is_time(tags[2])))
    return CK_CONTENT_CRL;
  return CK_CONTENT_UNKNOWN;
}

static void summarize(ck_content *out) {
  if (out->n_certs > 0 && out->n_keys > 0)
    out->kind = CK_CONTENT_CERT_AND_KEY;
  else if (out->n_certs > 0)
    out->kind = CK_CONTENT_CERT;
  else if (out->n_keys > 0)
    out->kind = CK_CONTENT_KEY;
  else if (out->n_csrs > 0)
    out->kind = CK_CONTENT_CSR;
}

void ck_crypto_detect(const uint8_t *data, size_t len, ck_content *out) {
  ck_pem_block blk = {0};
  size_t pos = 0;
  ck_content_kind kind;
  ck_err rc;
  int encrypted, any = 0;

  memset(out, 0, sizeof *out);
  if (data == NULL || len == 0)
    return;
  if (len > CK__MAX_INPUT)
    len = CK__MAX_INPUT;
  if (!ck_pem_looks_like(data, len)) {
    kind = der_kind(data, len, &encrypted);
    if (kind == CK_CONTENT_UNKNOWN)
      return;
    out->encoding = CK_ENC_DER;
    out->kind = kind;
    out->n_certs = kind == CK_CONTENT_CERT;
    out->n_keys = kind == CK_CONTENT_KEY;
    out->n_encrypted_keys = (unsigned)encrypted;
    out->n_csrs = kind == CK_CONTENT_CSR;
    return;
  }

  out->encoding = CK_ENC_PEM;
  for (;;) {
    rc = ck_pem_next(data, len, &pos, &blk, NULL);
    if (rc == CK_ERR_NOENT)
      break;
    any = 1;
    if (rc != CK_OK) {
      out->n_other++;
    } else if (ck__pem_is_cert_label(blk.label)) {
      out->n_certs++;
    } else if (ck__pem_is_key_label(blk.label)) {
      out->n_keys++;
      if (blk.encrypted || strcmp(blk.label, "ENCRYPTED PRIVATE KEY") == 0)
        out->n_encrypted_keys++;
    } else if (strcmp(blk.label, "CERTIFICATE REQUEST") == 0 ||
               strcmp(blk.label, "NEW CERTIFICATE REQUEST") == 0) {
      out->n_csrs++;
    } else if (strcmp(blk.label, "PUBLIC KEY") == 0) {
      if (out->kind == CK_CONTENT_UNKNOWN)
        out->kind = CK_CONTENT_PUBKEY;
    } else if (strcmp(blk.label, "X509 CRL") == 0) {
      if (out->kind == CK_CONTENT_UNKNOWN)
        out->kind = CK_CONTENT_CRL;
    } else if (strcmp(blk.label, "PKCS12") == 0) {
      if (out->kind == CK_CONTENT_UNKNOWN)
        out->kind = CK_CONTENT_PKCS12;
    } else {
      out->n_other++;
    }
    ck_pem_block_clear(&blk);
  }
  ck_pem_block_clear(&blk);
  summarize(out);
  if (!any)
    out->encoding = CK_ENC_NONE;
}
