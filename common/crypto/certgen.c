/* certgen.c — issuing X.509 v3 certificates (the backend-neutral part).
 *
 * The TBSCertificate is encoded here with der.c, exactly as certgen.h
 * describes, so the OpenSSL and mbedTLS builds write identical structures;
 * the backend only signs (certgen_openssl.c / certgen_mbedtls.c behind
 * certgen_int.h). ck_certgen_issue parses the result back through the same
 * path as any other certificate (ck__cert_from_der: neutral fields +
 * backend object); ck_certgen_issue_der stops at the bytes, because with
 * OpenSSL 3.0 decoding the subject's public key inside d2i_X509 costs about
 * seven signatures and takes locks every thread shares.
 *
 * An issuer is prepared once — key/certificate match, CA checks, the issuer
 * Name bytes, the key identifier, the signature algorithm, the backend
 * signer — and is read-only afterwards, which is what makes concurrent
 * ck_certgen_issue calls safe without locks (the mbedTLS signer locks
 * internally). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/crypto/certgen.h"
#include "common/crypto/certgen_int.h"
#include "common/util/clock.h"

#define KEY_ID_LEN 20 /* RFC 7093 method 1: leftmost 160 bits of SHA-256 */
#define MAX_KEY_ID 64 /* an imported issuer's SKI may be longer */

struct ck_certgen_issuer {
  const ck_key *key;      /* borrowed */
  const ck_cert *cert;    /* borrowed; NULL = self-signed */
  void *signer;           /* backend signer, owned */
  const char *sig_name;   /* "ecdsa-with-SHA256", ... (static) */
  const uint8_t *sig_alg; /* DER AlgorithmIdentifier (static) */
  size_t sig_alg_len;
  uint8_t *name; /* issuer Name DER (owned copy); NULL when self-signed */
  size_t name_len;
  uint8_t ski[MAX_KEY_ID]; /* the issuer's key identifier, for AKI */
  size_t ski_len;          /* 0 when self-signed (each cert's own SKI) */
  int path_len;            /* issuer's pathLenConstraint, -1 = none */
};

/* ------------------------------------------------------- static tables */

#define OID(s) (const uint8_t *)(s), sizeof(s) - 1

static const uint8_t alg_rsa_sha256[] =
    "\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b\x05\x00";
static const uint8_t alg_ecdsa_sha256[] =
    "\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02";
static const uint8_t alg_ecdsa_sha384[] =
    "\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x03";
static const uint8_t alg_ecdsa_sha512[] =
    "\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x04";
static const uint8_t alg_ed25519[] = "\x30\x05\x06\x03\x2b\x65\x70";

#define OID_AIA "\x2b\x06\x01\x05\x05\x07\x01\x01"
#define OID_AD_OCSP "\x2b\x06\x01\x05\x05\x07\x30\x01"
#define OID_AD_CA_ISSUERS "\x2b\x06\x01\x05\x05\x07\x30\x02"
#define OID_OCSP_NOCHECK "\x2b\x06\x01\x05\x05\x07\x30\x01\x05"
#define OID_CDP "\x55\x1d\x1f"
#define OID_FRESHEST_CRL "\x55\x1d\x2e"
#define OID_EKU_OCSP_SIGNING "\x2b\x06\x01\x05\x05\x07\x03\x09"

static const struct {
  const char *name;
  const char *oid; /* DER value bytes */
  size_t len;
} eku_names[] = {
    {"serverAuth", "\x2b\x06\x01\x05\x05\x07\x03\x01", 8},
    {"clientAuth", "\x2b\x06\x01\x05\x05\x07\x03\x02", 8},
    {"codeSigning", "\x2b\x06\x01\x05\x05\x07\x03\x03", 8},
    {"emailProtection", "\x2b\x06\x01\x05\x05\x07\x03\x04", 8},
    {"timeStamping", "\x2b\x06\x01\x05\x05\x07\x03\x08", 8},
    {"OCSPSigning", OID_EKU_OCSP_SIGNING, 8},
    {"anyExtendedKeyUsage", "\x55\x1d\x25\x00", 4},
};

/* ---------------------------------------------------------------- helpers */

/* RFC 7093 section 2 method 1 over a DER SubjectPublicKeyInfo. 0 or -1. */
static int key_id(const uint8_t *spki, size_t len, uint8_t out[KEY_ID_LEN]) {
  uint8_t h[CK_SHA256_LEN];
  ck__der d;
  ck__tlv seq, alg, bits;

  ck__der_init(&d, spki, len);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &seq) != 0)
    return -1;
  ck__der_enter(&d, &seq);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &alg) != 0 ||
      ck__der_expect(&d, CK__T_BITSTRING, &bits) != 0 || bits.len < 1)
    return -1;
  if (ck_crypto_sha256(bits.v + 1, bits.len - 1, h) != CK_OK)
    return -1;
  memcpy(out, h, KEY_ID_LEN);
  return 0;
}

/* Days since 1970-01-01 to a civil date (H. Hinnant's algorithm). */
static void civil_from_days(int64_t z, int *y, int *m, int *d) {
  int64_t era, doe, yoe, doy, mp;

  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = z - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int time_in_range(int64_t t) {
  return t >= ck__civil_to_epoch(1950, 1, 1, 0, 0, 0) &&
         t <= ck__civil_to_epoch(9999, 12, 31, 23, 59, 59);
}

/* RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
static void write_time(ck__derw *w, int64_t t) {
  ck__certgen_write_time(w, t, 0);
}

void ck__certgen_write_time(ck__derw *w, int64_t t, int generalized) {
  int64_t days = t / 86400, secs = t % 86400;
  int y, m, d;
  char buf[32];
  int n;

  if (secs < 0) {
    secs += 86400;
    days--;
  }
  civil_from_days(days, &y, &m, &d);
  if (!generalized && y >= 1950 && y <= 2049) {
    n = snprintf(buf, sizeof buf, "%02d%02d%02d%02d%02d%02dZ", y % 100, m, d,
                 (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
    ck__derw_tlv(w, CK__T_UTCTIME, buf, (size_t)n);
  } else {
    n = snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02dZ", y, m, d,
                 (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
    ck__derw_tlv(w, CK__T_GENTIME, buf, (size_t)n);
  }
}

/* Encodes a dotted OID ("1.3.6.1.5.5.7.3.1") as DER value bytes into out.
 * Returns the length, or 0 when text is not an OID. */
static size_t oid_encode(const char *text, uint8_t *out, size_t cap) {
  unsigned long long arc, first = 0;
  size_t n = 0, k, i, narcs = 0;
  uint8_t tmp[10];
  const char *p = text;

  for (;;) {
    if (*p < '0' || *p > '9' || (*p == '0' && p[1] >= '0' && p[1] <= '9'))
      return 0;
    arc = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
      if (arc > (0xffffffffffffffffULL - 9) / 10)
        return 0;
      arc = arc * 10 + (unsigned long long)(*p - '0');
    }
    if (narcs == 0) {
      if (arc > 2)
        return 0;
      first = arc;
    } else {
      if (narcs == 1) {
        if (first < 2 && arc > 39)
          return 0;
        if (arc > 0xffffffffffffffffULL - 80)
          return 0;
        arc += first * 40;
      }
      k = 0;
      do {
        tmp[k++] = (uint8_t)(arc & 0x7f);
        arc >>= 7;
      } while (arc > 0);
      if (n + k > cap)
        return 0;
      for (i = k; i > 0; i--)
        out[n++] = (uint8_t)(tmp[i - 1] | (i > 1 ? 0x80 : 0));
    }
    narcs++;
    if (*p == '\0')
      break;
    if (*p != '.')
      return 0;
    p++;
  }
  return narcs >= 2 ? n : 0;
}

/* A URL for AIA/CDP: "scheme:" + printable ASCII without spaces. */
static int url_ok(const char *s) {
  size_t i, n;

  if (s == NULL ||
      !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
    return 0;
  for (i = 1; s[i] != ':'; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
      return 0;
  }
  n = strlen(s);
  if (n > CK_CERTGEN_MAX_URL_LEN || n == i + 1)
    return 0;
  for (; i < n; i++)
    if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
      return 0;
  return 1;
}

static ck_err check_urls(const char *what, const char *const *urls, size_t n,
                         ck_errctx *err) {
  size_t i;

  if (n > 0 && urls == NULL)
    return ck_failf(err, CK_ERR_INVAL, "%s: NULL list", what);
  if (n > CK_CERTGEN_MAX_URLS)
    return ck_failf(err, CK_ERR_LIMIT, "%s: %zu URLs, at most %d", what, n,
                    CK_CERTGEN_MAX_URLS);
  for (i = 0; i < n; i++)
    if (!url_ok(urls[i]))
      return ck_failf(err, CK_ERR_INVAL, "%s URL '%s' is not a URL", what,
                      urls[i] ? urls[i] : "(null)");
  return CK_OK;
}

static ck_err check_serial(const uint8_t *s, size_t n, ck_errctx *err) {
  if (s == NULL || n == 0)
    return ck_failf(err, CK_ERR_RANGE, "serial number missing");
  if (n > CK_CERTGEN_SERIAL_MAX)
    return ck_failf(err, CK_ERR_RANGE,
                    "serial number of %zu bytes, at most %d allowed", n,
                    CK_CERTGEN_SERIAL_MAX);
  if (s[0] & 0x80)
    return ck_failf(err, CK_ERR_RANGE,
                    "serial number is negative (first byte 0x%02x)", s[0]);
  if (n > 1 && s[0] == 0 && !(s[1] & 0x80))
    return ck_failf(err, CK_ERR_RANGE,
                    "serial number has a superfluous leading zero byte");
  if (n == 1 && s[0] == 0)
    return ck_failf(err, CK_ERR_RANGE, "serial number is zero");
  return CK_OK;
}

/* Opens an Extension: SEQUENCE { extnID, [critical TRUE], OCTET STRING {. */
static void ext_begin(ck__derw *w, const uint8_t *oid, size_t oid_len,
                      int critical) {
  static const uint8_t true_ = 0xff;

  ck__derw_begin(w, CK__T_SEQUENCE);
  ck__derw_tlv(w, CK__T_OID, oid, oid_len);
  if (critical)
    ck__derw_tlv(w, CK__T_BOOLEAN, &true_, 1);
  ck__derw_begin(w, CK__T_OCTETSTRING);
}

static void ext_end(ck__derw *w) {
  ck__derw_end(w);
  ck__derw_end(w);
}

static void write_uris(ck__derw *w, const char *const *urls, size_t n) {
  size_t i;

  for (i = 0; i < n; i++) /* GeneralName uniformResourceIdentifier [6] */
    ck__derw_tlv(w, CK__T_CTX | 6, urls[i], strlen(urls[i]));
}

/* keyUsage as a DER BIT STRING: named bit i is bit 7-(i%8) of byte i/8,
 * trailing zero bits dropped (X.690 11.2.2). */
static void write_key_usage(ck__derw *w, unsigned ku) {
  uint8_t v[3] = {0, 0, 0};
  int i, hi = -1;

  for (i = 0; i < 9; i++)
    if (ku & (1u << i)) {
      v[1 + i / 8] |= (uint8_t)(0x80 >> (i % 8));
      hi = i;
    }
  v[0] = (uint8_t)(7 - hi % 8);
  ck__derw_tlv(w, CK__T_BITSTRING, v, (size_t)(1 + hi / 8 + 1));
}

/* --------------------------------------------------------------- issuer */

void ck_certgen_issuer_free(ck_certgen_issuer *iss) {
  if (iss == NULL)
    return;
  ck__certgen_be_free(iss->signer);
  free(iss->name);
  free(iss);
}

const char *ck_certgen_issuer_sig_alg(const ck_certgen_issuer *iss) {
  return iss->sig_name;
}

/* Picks the signature algorithm for the issuer key. */
static ck_err pick_alg(ck_certgen_issuer *iss, ck__certgen_md *md,
                       ck_errctx *err) {
  const ck_key_info *k = &iss->key->info;

  switch (k->type) {
  case CK_KEY_RSA:
    *md = CK__CERTGEN_SHA256;
    iss->sig_name = "sha256WithRSAEncryption";
    iss->sig_alg = alg_rsa_sha256;
    iss->sig_alg_len = sizeof alg_rsa_sha256 - 1;
    return CK_OK;
  case CK_KEY_EC:
    if (strcmp(k->curve, "P-256") == 0) {
      *md = CK__CERTGEN_SHA256;
      iss->sig_name = "ecdsa-with-SHA256";
      iss->sig_alg = alg_ecdsa_sha256;
      iss->sig_alg_len = sizeof alg_ecdsa_sha256 - 1;
      return CK_OK;
    }
    if (strcmp(k->curve, "P-384") == 0) {
      *md = CK__CERTGEN_SHA384;
      iss->sig_name = "ecdsa-with-SHA384";
      iss->sig_alg = alg_ecdsa_sha384;
      iss->sig_alg_len = sizeof alg_ecdsa_sha384 - 1;
      return CK_OK;
    }
    if (strcmp(k->curve, "P-521") == 0) {
      *md = CK__CERTGEN_SHA512;
      iss->sig_name = "ecdsa-with-SHA512";
      iss->sig_alg = alg_ecdsa_sha512;
      iss->sig_alg_len = sizeof alg_ecdsa_sha512 - 1;
      return CK_OK;
    }
    break;
  case CK_KEY_ED25519:
    *md = CK__CERTGEN_PURE;
    iss->sig_name = "ED25519";
    iss->sig_alg = alg_ed25519;
    iss->sig_alg_len = sizeof alg_ed25519 - 1;
    return CK_OK;
  default:
    break;
  }
  return ck_failf(err, CK_ERR_UNSUPPORTED,
                  "cannot issue certificates with a %s issuer key", k->desc);
}

ck_err ck_certgen_issuer_new(const ck_cert *cert, const ck_key *key,
                             ck_certgen_issuer **out, ck_errctx *err) {
  ck_certgen_issuer *iss = NULL;
  const ck_cert_info *ci;
  ck__certgen_md md = CK__CERTGEN_SHA256;
  ck_err rc;

  if (key == NULL || out == NULL) {
    rc = ck_failf(err, CK_ERR_INVAL, "ck_certgen_issuer_new: NULL argument");
    goto out;
  }
  iss = calloc(1, sizeof *iss);
  if (iss == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  iss->key = key;
  iss->cert = cert;
  iss->path_len = -1;
  rc = pick_alg(iss, &md, err);
  if (rc != CK_OK)
    goto out;
  if (cert != NULL) {
    ci = ck_cert_get_info(cert);
    rc = ck_key_match_cert(key, cert, err);
    if (rc != CK_OK) {
      ck_failf(err, rc, "issuer '%s'", ci->subject);
      goto out;
    }
    if (!ci->has_basic_constraints || !ci->is_ca) {
      rc = ck_failf(err, CK_ERR_INVAL,
                    "issuer '%s' is not a CA certificate (basicConstraints "
                    "cA is not set)",
                    ci->subject);
      goto out;
    }
    if (ci->has_key_usage && !(ci->key_usage & CK_KU_KEY_CERT_SIGN)) {
      rc = ck_failf(err, CK_ERR_INVAL,
                    "issuer '%s' may not sign certificates (keyUsage lacks "
                    "keyCertSign)",
                    ci->subject);
      goto out;
    }
    iss->name = malloc(cert->subject_len);
    if (iss->name == NULL) {
      rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
      goto out;
    }
    memcpy(iss->name, cert->subject, cert->subject_len);
    iss->name_len = cert->subject_len;
    if (cert->ski != NULL && cert->ski_len > 0 &&
        cert->ski_len <= sizeof iss->ski) {
      memcpy(iss->ski, cert->ski, cert->ski_len);
      iss->ski_len = cert->ski_len;
    } else {
      if (key_id(cert->spki, cert->spki_len, iss->ski) != 0) {
        rc = ck_failf(err, CK_ERR_BAD_CERT,
                      "issuer '%s': cannot read its public key", ci->subject);
        goto out;
      }
      iss->ski_len = KEY_ID_LEN;
    }
    iss->path_len = ci->path_len;
  }
  rc = ck__certgen_be_new(key, md, &iss->signer, err);
  if (rc != CK_OK)
    goto out;
  *out = iss;
  iss = NULL;
out:
  ck_certgen_issuer_free(iss);
  return rc;
}

/* --------------------------------------------------------------- issuing */

/* Resolves the template's public key to DER SPKI bytes (borrowed). */
static ck_err pick_spki(const ck_certgen_issuer *iss, const ck_certgen_tmpl *t,
                        const uint8_t **spki, size_t *len, ck_errctx *err) {
  int sources = (t->csr != NULL) + (t->pubkey != NULL) + (t->spki != NULL);
  ck_key_info info;
  ck_err rc;

  if (sources > 1)
    return ck_failf(err, CK_ERR_INVAL,
                    "give one public key (csr, pubkey or spki), not %d",
                    sources);
  if (t->csr != NULL) {
    *spki = ck_csr_spki(t->csr, len);
  } else if (t->pubkey != NULL) {
    *spki = t->pubkey->spki;
    *len = t->pubkey->spki_len;
  } else if (t->spki != NULL) {
    if (t->spki_len == 0 ||
        ck__der_element_len(t->spki, t->spki_len) != t->spki_len ||
        ck__spki_info(t->spki, t->spki_len, &info) != 0)
      return ck_failf(err, CK_ERR_BAD_KEY,
                      "spki is not a DER SubjectPublicKeyInfo");
    *spki = t->spki;
    *len = t->spki_len;
  } else if (iss->cert == NULL) {
    *spki = iss->key->spki;
    *len = iss->key->spki_len;
  } else {
    return ck_failf(err, CK_ERR_INVAL,
                    "no public key to certify (csr, pubkey or spki)");
  }
  if (iss->cert == NULL && !(*len == iss->key->spki_len &&
                             memcmp(*spki, iss->key->spki, *len) == 0)) {
    rc = ck__be_key_match_spki(iss->key, *spki, *len, err);
    if (rc != CK_OK)
      return ck_failf(err, CK_ERR_KEY_MISMATCH,
                      "a self-signed certificate must certify the signing "
                      "key");
  }
  return CK_OK;
}

/* The CSR's subject Name element (borrowed from the CSR). */
static ck_err csr_subject(const ck_csr *csr, ck__tlv *name, ck_errctx *err) {
  ck__der d;
  ck__tlv cri, ver;

  ck__der_init(&d, csr->cri, csr->cri_len);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &cri) != 0)
    goto bad;
  ck__der_enter(&d, &cri);
  if (ck__der_expect(&d, CK__T_INTEGER, &ver) != 0 ||
      ck__der_expect(&d, CK__T_SEQUENCE, name) != 0)
    goto bad;
  return CK_OK;
bad:
  return ck_failf(err, CK_ERR_BAD_CSR, "cannot read the CSR's subject");
}

/* Checks everything that does not need encoding. */
static ck_err check_tmpl(const ck_certgen_issuer *iss, const ck_certgen_tmpl *t,
                         ck_errctx *err) {
  ck_err rc;

  rc = check_serial(t->serial, t->serial_len, err);
  if (rc != CK_OK)
    return rc;
  if (!time_in_range(t->not_before) || !time_in_range(t->not_after))
    return ck_failf(err, CK_ERR_RANGE,
                    "validity must lie within the years 1950..9999");
  if (t->not_after <= t->not_before)
    return ck_failf(err, CK_ERR_INVAL,
                    "notAfter (%lld) is not after notBefore (%lld)",
                    (long long)t->not_after, (long long)t->not_before);
  if (t->subject_from_csr && t->n_subject > 0)
    return ck_failf(err, CK_ERR_INVAL,
                    "give subject attributes or subject_from_csr, not both");
  if (t->subject_from_csr && t->csr == NULL)
    return ck_failf(err, CK_ERR_INVAL, "subject_from_csr without a csr");
  if ((t->n_subject > 0 && t->subject == NULL) ||
      (t->n_sans > 0 && t->sans == NULL) || (t->n_eku > 0 && t->eku == NULL))
    return ck_failf(err, CK_ERR_INVAL, "ck_certgen_issue: NULL list");
  if (t->n_sans > CK__MAX_SANS)
    return ck_failf(err, CK_ERR_LIMIT, "%zu SANs, at most %d", t->n_sans,
                    CK__MAX_SANS);
  if (t->n_eku > CK__MAX_EKUS)
    return ck_failf(err, CK_ERR_LIMIT, "%zu EKUs, at most %d", t->n_eku,
                    CK__MAX_EKUS);
  if (t->key_usage & ~0x1ffu)
    return ck_failf(err, CK_ERR_INVAL, "unknown keyUsage bits 0x%x",
                    t->key_usage & ~0x1ffu);
  if ((t->key_usage & CK_KU_KEY_CERT_SIGN) && !t->is_ca)
    return ck_failf(err, CK_ERR_INVAL,
                    "keyUsage keyCertSign needs a CA certificate (is_ca); "
                    "RFC 5280 4.2.1.9");
  if (t->is_ca && !(t->key_usage & CK_KU_KEY_CERT_SIGN))
    return ck_failf(err, CK_ERR_INVAL,
                    "a CA certificate needs keyUsage keyCertSign (RFC 5280 "
                    "4.2.1.3)");
  if (t->is_ca && t->path_len < -1)
    return ck_failf(err, CK_ERR_INVAL, "path_len %d: use -1 for no limit",
                    t->path_len);
  if (t->is_ca && t->path_len > 127)
    return ck_failf(err, CK_ERR_RANGE, "path_len %d: at most 127", t->path_len);
  if (t->is_ca && iss->path_len == 0)
    return ck_failf(err, CK_ERR_INVAL,
                    "issuer '%s' has pathLenConstraint 0: it cannot issue CA "
                    "certificates",
                    ck_cert_get_info(iss->cert)->subject);
  rc = check_urls("OCSP", t->ocsp_urls, t->n_ocsp_urls, err);
  if (rc == CK_OK)
    rc = check_urls("caIssuers", t->ca_issuers_urls, t->n_ca_issuers_urls, err);
  if (rc == CK_OK)
    rc = check_urls("CRL", t->crl_urls, t->n_crl_urls, err);
  if (rc == CK_OK)
    rc = check_urls("freshest CRL", t->freshest_crl_urls, t->n_freshest_crl_urls,
                    err);
  return rc;
}

/* Writes extKeyUsage; sets *ocsp_signing when OCSPSigning is among them. */
static ck_err write_eku(ck__derw *w, const ck_certgen_tmpl *t,
                        int *ocsp_signing, ck_errctx *err) {
  static const uint8_t oid_eku[] = CK__OID_EKU;
  uint8_t buf[64];
  const uint8_t *oid;
  size_t i, j, n;

  ext_begin(w, oid_eku, sizeof oid_eku - 1, 0);
  ck__derw_begin(w, CK__T_SEQUENCE);
  for (i = 0; i < t->n_eku; i++) {
    if (t->eku[i] == NULL)
      return ck_failf(err, CK_ERR_INVAL, "EKU %zu is NULL", i);
    oid = NULL;
    n = 0;
    for (j = 0; j < sizeof eku_names / sizeof eku_names[0]; j++)
      if (strcasecmp(t->eku[i], eku_names[j].name) == 0) {
        oid = (const uint8_t *)eku_names[j].oid;
        n = eku_names[j].len;
        break;
      }
    if (oid == NULL) {
      n = oid_encode(t->eku[i], buf, sizeof buf);
      if (n == 0)
        return ck_failf(err, CK_ERR_INVAL,
                        "EKU '%s' is neither a known purpose nor an OID",
                        t->eku[i]);
      oid = buf;
    }
    if (n == sizeof OID_EKU_OCSP_SIGNING - 1 &&
        memcmp(oid, OID_EKU_OCSP_SIGNING, n) == 0)
      *ocsp_signing = 1;
    ck__derw_tlv(w, CK__T_OID, oid, n);
  }
  ck__derw_end(w);
  ext_end(w);
  return CK_OK;
}

/* Writes the [3] Extensions of the TBSCertificate. */
static ck_err write_extensions(ck__derw *w, const ck_certgen_issuer *iss,
                               const ck_certgen_tmpl *t, const uint8_t *spki,
                               size_t spki_len, int empty_subject,
                               ck_errctx *err) {
  static const uint8_t oid_bc[] = CK__OID_BC, oid_ku[] = CK__OID_KU,
                       oid_ski[] = CK__OID_SKI, oid_aki[] = CK__OID_AKI,
                       oid_san[] = CK__OID_SAN, true_ = 0xff, none = 0;
  uint8_t ski[KEY_ID_LEN], pl;
  int ocsp_signing = 0;
  ck_err rc;

  if (key_id(spki, spki_len, ski) != 0)
    return ck_failf(err, CK_ERR_BAD_KEY, "cannot read the public key");

  ck__derw_begin(w, CK__T_CTXC | 3);
  ck__derw_begin(w, CK__T_SEQUENCE);

  ext_begin(w, oid_bc, sizeof oid_bc - 1, 1);
  ck__derw_begin(w, CK__T_SEQUENCE);
  if (t->is_ca) {
    ck__derw_tlv(w, CK__T_BOOLEAN, &true_, 1);
    if (t->path_len >= 0) { /* 0..127 (check_tmpl): one content octet */
      pl = (uint8_t)t->path_len;
      ck__derw_tlv(w, CK__T_INTEGER, &pl, 1);
    }
  }
  ck__derw_end(w);
  ext_end(w);

  if (t->key_usage != 0) {
    ext_begin(w, oid_ku, sizeof oid_ku - 1, 1);
    write_key_usage(w, t->key_usage);
    ext_end(w);
  }

  if (t->n_eku > 0) {
    rc = write_eku(w, t, &ocsp_signing, err);
    if (rc != CK_OK)
      return rc;
  }
  if (t->ocsp_nocheck && !ocsp_signing)
    return ck_failf(err, CK_ERR_INVAL,
                    "ocsp_nocheck belongs in an OCSP responder certificate: "
                    "add the OCSPSigning EKU");

  ext_begin(w, oid_ski, sizeof oid_ski - 1, 0);
  ck__derw_tlv(w, CK__T_OCTETSTRING, ski, sizeof ski);
  ext_end(w);

  ext_begin(w, oid_aki, sizeof oid_aki - 1, 0);
  ck__derw_begin(w, CK__T_SEQUENCE);
  if (iss->cert == NULL)
    ck__derw_tlv(w, CK__T_CTX | 0, ski, sizeof ski);
  else
    ck__derw_tlv(w, CK__T_CTX | 0, iss->ski, iss->ski_len);
  ck__derw_end(w);
  ext_end(w);

  if (t->n_sans > 0) {
    /* RFC 5280 4.2.1.6: critical when the subject is empty. */
    ext_begin(w, oid_san, sizeof oid_san - 1, empty_subject);
    rc = ck__san_write(w, t->sans, t->n_sans, err);
    if (rc != CK_OK)
      return rc;
    ext_end(w);
  }

  if (t->n_ocsp_urls + t->n_ca_issuers_urls > 0) {
    size_t i;

    ext_begin(w, OID(OID_AIA), 0);
    ck__derw_begin(w, CK__T_SEQUENCE);
    for (i = 0; i < t->n_ocsp_urls; i++) {
      ck__derw_begin(w, CK__T_SEQUENCE);
      ck__derw_tlv(w, CK__T_OID, OID(OID_AD_OCSP));
      write_uris(w, &t->ocsp_urls[i], 1);
      ck__derw_end(w);
    }
    for (i = 0; i < t->n_ca_issuers_urls; i++) {
      ck__derw_begin(w, CK__T_SEQUENCE);
      ck__derw_tlv(w, CK__T_OID, OID(OID_AD_CA_ISSUERS));
      write_uris(w, &t->ca_issuers_urls[i], 1);
      ck__derw_end(w);
    }
    ck__derw_end(w);
    ext_end(w);
  }

  if (t->n_crl_urls > 0) {
    ext_begin(w, OID(OID_CDP), 0);
    ck__derw_begin(w, CK__T_SEQUENCE); /* CRLDistributionPoints */
    ck__derw_begin(w, CK__T_SEQUENCE); /* DistributionPoint */
    ck__derw_begin(w, CK__T_CTXC | 0); /* distributionPoint */
    ck__derw_begin(w, CK__T_CTXC | 0); /* fullName GeneralNames */
    write_uris(w, t->crl_urls, t->n_crl_urls);
    ck__derw_end(w);
    ck__derw_end(w);
    ck__derw_end(w);
    ck__derw_end(w);
    ext_end(w);
  }

  if (t->n_freshest_crl_urls > 0) { /* same syntax as the CDP (RFC 5280 4.2.1.15) */
    ext_begin(w, OID(OID_FRESHEST_CRL), 0);
    ck__derw_begin(w, CK__T_SEQUENCE);
    ck__derw_begin(w, CK__T_SEQUENCE);
    ck__derw_begin(w, CK__T_CTXC | 0);
    ck__derw_begin(w, CK__T_CTXC | 0);
    write_uris(w, t->freshest_crl_urls, t->n_freshest_crl_urls);
    ck__derw_end(w);
    ck__derw_end(w);
    ck__derw_end(w);
    ck__derw_end(w);
    ext_end(w);
  }

  if (t->ocsp_nocheck) {
    ext_begin(w, OID(OID_OCSP_NOCHECK), 0);
    ck__derw_tlv(w, CK__T_NULL, &none, 0);
    ext_end(w);
  }

  ck__derw_end(w);
  ck__derw_end(w);
  return CK_OK;
}

ck_err ck_certgen_issue_der(const ck_certgen_issuer *iss,
                            const ck_certgen_tmpl *t, uint8_t **out,
                            size_t *out_len, ck_errctx *err) {
  static const uint8_t v3 = 2, zero = 0;
  uint8_t sig[CK__CERTGEN_SIG_MAX];
  uint8_t *tbs = NULL, *der = NULL, *subj = NULL;
  size_t tbs_len = 0, der_len = 0, subj_len = 0, spki_len = 0, sig_len = 0;
  const uint8_t *spki = NULL;
  ck__tlv csr_name;
  ck__derw w;
  int empty_subject;
  ck_err rc;

  ck__derw_init(&w);
  if (iss == NULL || t == NULL || out == NULL || out_len == NULL) {
    rc = ck_failf(err, CK_ERR_INVAL, "ck_certgen_issue: NULL argument");
    goto out;
  }
  rc = check_tmpl(iss, t, err);
  if (rc != CK_OK)
    goto out;
  rc = pick_spki(iss, t, &spki, &spki_len, err);
  if (rc != CK_OK)
    goto out;

  /* The subject Name, encoded once: self-signed certificates use it twice. */
  if (t->subject_from_csr) {
    rc = csr_subject(t->csr, &csr_name, err);
    if (rc != CK_OK)
      goto out;
    ck__derw_raw(&w, csr_name.raw, csr_name.raw_len);
    empty_subject = csr_name.len == 0;
  } else {
    rc = ck__name_write(&w, t->subject, t->n_subject, err);
    if (rc != CK_OK)
      goto out;
    empty_subject = t->n_subject == 0;
  }
  rc = ck__derw_finish(&w, &subj, &subj_len);
  if (rc != CK_OK) {
    ck_failf(err, rc, "encoding the subject failed");
    goto out;
  }
  if (empty_subject && t->n_sans == 0) {
    rc = ck_failf(err, CK_ERR_INVAL,
                  "the certificate needs a subject or a subjectAltName");
    goto out;
  }
  if (empty_subject && iss->cert == NULL) {
    rc = ck_failf(err, CK_ERR_INVAL,
                  "a self-signed certificate needs a subject (it is also "
                  "the issuer name)");
    goto out;
  }

  ck__derw_begin(&w, CK__T_SEQUENCE); /* TBSCertificate */
  ck__derw_begin(&w, CK__T_CTXC | 0);
  ck__derw_tlv(&w, CK__T_INTEGER, &v3, 1);
  ck__derw_end(&w);
  ck__derw_tlv(&w, CK__T_INTEGER, t->serial, t->serial_len);
  ck__derw_raw(&w, iss->sig_alg, iss->sig_alg_len);
  if (iss->cert == NULL)
    ck__derw_raw(&w, subj, subj_len);
  else
    ck__derw_raw(&w, iss->name, iss->name_len);
  ck__derw_begin(&w, CK__T_SEQUENCE);
  write_time(&w, t->not_before);
  write_time(&w, t->not_after);
  ck__derw_end(&w);
  ck__derw_raw(&w, subj, subj_len);
  ck__derw_raw(&w, spki, spki_len);
  rc = write_extensions(&w, iss, t, spki, spki_len, empty_subject, err);
  if (rc != CK_OK)
    goto out;
  ck__derw_end(&w);
  rc = ck__derw_finish(&w, &tbs, &tbs_len);
  if (rc != CK_OK) {
    ck_failf(err, rc, "encoding the certificate failed");
    goto out;
  }

  rc = ck__certgen_be_sign(iss->signer, tbs, tbs_len, sig, &sig_len, err);
  if (rc != CK_OK)
    goto out;

  ck__derw_begin(&w, CK__T_SEQUENCE);
  ck__derw_raw(&w, tbs, tbs_len);
  ck__derw_raw(&w, iss->sig_alg, iss->sig_alg_len);
  ck__derw_begin(&w, CK__T_BITSTRING);
  ck__derw_raw(&w, &zero, 1);
  ck__derw_raw(&w, sig, sig_len);
  ck__derw_end(&w);
  ck__derw_end(&w);
  rc = ck__derw_finish(&w, &der, &der_len);
  if (rc != CK_OK) {
    ck_failf(err, rc, "encoding the certificate failed");
    goto out;
  }
  *out = der;
  *out_len = der_len;
  der = NULL;
out:
  ck__derw_free(&w);
  free(subj);
  free(tbs);
  free(der);
  return rc;
}

ck_err ck_certgen_issue(const ck_certgen_issuer *iss, const ck_certgen_tmpl *t,
                        ck_cert **out, ck_errctx *err) {
  uint8_t *der = NULL;
  size_t len = 0;
  ck_err rc;

  if (out == NULL)
    return ck_failf(err, CK_ERR_INVAL, "ck_certgen_issue: NULL argument");
  rc = ck_certgen_issue_der(iss, t, &der, &len, err);
  if (rc != CK_OK)
    return rc;
  rc = ck__cert_from_der(der, len, out, err);
  if (rc != CK_OK)
    ck_failf(err, rc, "the issued certificate does not parse");
  free(der);
  return rc;
}

ck_err ck_certgen_sign(const ck_certgen_tmpl *t, const ck_cert *issuer_cert,
                       const ck_key *issuer_key, ck_cert **out,
                       ck_errctx *err) {
  ck_certgen_issuer *iss = NULL;
  ck_err rc;

  rc = ck_certgen_issuer_new(issuer_cert, issuer_key, &iss, err);
  if (rc == CK_OK)
    rc = ck_certgen_issue(iss, t, out, err);
  ck_certgen_issuer_free(iss);
  return rc;
}

ck_err ck_certgen_random_serial(uint8_t out[CK_CERTGEN_SERIAL_LEN]) {
  ck_err rc = ck_random(out, CK_CERTGEN_SERIAL_LEN);

  if (rc != CK_OK)
    return rc;
  out[0] = (uint8_t)((out[0] & 0x3f) | 0x40);
  return CK_OK;
}

/* ------------------------------------------- other signed structures */

ck_err ck__certgen_sign_raw(const ck_certgen_issuer *iss, const uint8_t *tbs,
                            size_t len, uint8_t sig[CK__CERTGEN_SIG_MAX],
                            size_t *sig_len, const uint8_t **alg,
                            size_t *alg_len, ck_errctx *err) {
  *alg = iss->sig_alg;
  *alg_len = iss->sig_alg_len;
  return ck__certgen_be_sign(iss->signer, tbs, len, sig, sig_len, err);
}

const uint8_t *ck__certgen_issuer_name(const ck_certgen_issuer *iss,
                                       size_t *len) {
  *len = iss->name_len;
  return iss->name;
}

const uint8_t *ck__certgen_issuer_key_id(const ck_certgen_issuer *iss,
                                         size_t *len) {
  *len = iss->ski_len;
  return iss->ski;
}

const uint8_t *ck__certgen_issuer_alg(const ck_certgen_issuer *iss,
                                      size_t *len) {
  *len = iss->sig_alg_len;
  return iss->sig_alg;
}
