/* x509_fields.c — reading certificates and CSRs into plain structs.
 *
 * The backend decides whether a certificate is acceptable (and checks its
 * signatures); this file extracts what certkeeper shows and stores — names,
 * serial, validity, key description, SANs, key identifiers, EKU, basic
 * constraints, key usage — straight from the DER with the bounded reader in
 * der.c. Doing it once here means the OpenSSL and the mbedTLS build report
 * byte-identical fields, and a certificate whose key the backend cannot use
 * (Ed25519 under mbedTLS) can still be inventoried.
 *
 * Every malformed element gives CK_ERR_BAD_CERT / CK_ERR_BAD_CSR with the
 * name of the part that failed; nothing here trusts a length it has not
 * checked against the bytes that remain. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto/crypto_int.h"

/* -------------------------------------------------------- public key info */

static unsigned int_bits(const ck__tlv *t) {
  const uint8_t *p = t->v;
  size_t n = t->len;
  unsigned bits;
  uint8_t top;

  while (n > 0 && p[0] == 0) {
    p++;
    n--;
  }
  if (n == 0 || n > 4096)
    return 0;
  bits = (unsigned)(n - 1) * 8;
  for (top = p[0]; top != 0; top >>= 1)
    bits++;
  return bits;
}

int ck__spki_info(const uint8_t *spki, size_t len, ck_key_info *out) {
  ck__der d, alg_d, key_d;
  ck__tlv seq, alg, oid, param, bits, rsa, n;
  char dotted[96];
  const char *curve;
  unsigned cbits = 0;
  int has_param;

  memset(out, 0, sizeof *out);
  ck__der_init(&d, spki, len);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &seq) != 0)
    return -1;
  ck__der_enter(&d, &seq);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &alg) != 0 ||
      ck__der_expect(&d, CK__T_BITSTRING, &bits) != 0 || ck__der_more(&d) ||
      bits.len < 1 || bits.v[0] != 0)
    return -1;
  ck__der_enter(&alg_d, &alg);
  if (ck__der_expect(&alg_d, CK__T_OID, &oid) != 0)
    return -1;
  has_param = ck__der_more(&alg_d);
  if (has_param && ck__der_get(&alg_d, &param) != 0)
    return -1;

  if (ck__oid_eq(&oid, CK__OID(CK__OID_RSA)) ||
      ck__oid_eq(&oid, CK__OID(CK__OID_RSA_PSS))) {
    int pss = ck__oid_eq(&oid, CK__OID(CK__OID_RSA_PSS));
    ck__der_init(&key_d, bits.v + 1, bits.len - 1);
    if (ck__der_expect(&key_d, CK__T_SEQUENCE, &rsa) != 0)
      return -1;
    ck__der_enter(&key_d, &rsa);
    if (ck__der_expect(&key_d, CK__T_INTEGER, &n) != 0)
      return -1;
    out->type = pss ? CK_KEY_RSA_PSS : CK_KEY_RSA;
    out->bits = int_bits(&n);
    snprintf(out->desc, sizeof out->desc, "%s %u", pss ? "RSA-PSS" : "RSA",
             out->bits);
  } else if (ck__oid_eq(&oid, CK__OID(CK__OID_EC))) {
    out->type = CK_KEY_EC;
    curve = NULL;
    if (has_param && param.tag == CK__T_OID)
      curve = ck__oid_curve_name(param.v, param.len, &cbits);
    if (curve != NULL) {
      snprintf(out->curve, sizeof out->curve, "%s", curve);
      out->bits = cbits;
      snprintf(out->desc, sizeof out->desc, "EC %s", curve);
    } else if (has_param && param.tag == CK__T_OID &&
               ck__oid_dotted(param.v, param.len, dotted, sizeof dotted) == 0) {
      snprintf(out->curve, sizeof out->curve, "%.23s", dotted);
      snprintf(out->desc, sizeof out->desc, "EC %.60s", dotted);
    } else {
      snprintf(out->desc, sizeof out->desc, "EC (explicit parameters)");
    }
  } else if (ck__oid_eq(&oid, CK__OID(CK__OID_ED25519))) {
    out->type = CK_KEY_ED25519;
    out->bits = 256;
    snprintf(out->desc, sizeof out->desc, "Ed25519");
  } else if (ck__oid_eq(&oid, CK__OID(CK__OID_ED448))) {
    out->type = CK_KEY_ED448;
    out->bits = 456;
    snprintf(out->desc, sizeof out->desc, "Ed448");
  } else if (ck__oid_eq(&oid, CK__OID(CK__OID_DSA))) {
    out->type = CK_KEY_DSA;
    if (has_param && param.tag == CK__T_SEQUENCE) {
      ck__der_enter(&key_d, &param);
      if (ck__der_expect(&key_d, CK__T_INTEGER, &n) == 0)
        out->bits = int_bits(&n);
    }
    snprintf(out->desc, sizeof out->desc, "DSA %u", out->bits);
  } else {
    out->type = CK_KEY_UNKNOWN;
    ck__oid_dotted(oid.v, oid.len, dotted, sizeof dotted);
    snprintf(out->desc, sizeof out->desc, "unknown %.55s", dotted);
  }
  return 0;
}

/* ------------------------------------------------------------ helpers */

static const char *hex_to_arena(ck_arena *a, const uint8_t *v, size_t n) {
  char *s;

  if (n > CK__MAX_INPUT)
    return NULL;
  s = ck_arena_alloc(a, 2 * n + 1);
  if (s != NULL)
    ck_crypto_hex(v, n, 0, s, 2 * n + 1);
  return s;
}

static const char *name_to_arena(ck_arena *a, const ck__tlv *name,
                                 const char **cn) {
  ck__sb sb = {0};
  const char *s = NULL;

  if (ck__name_format(name->v, name->len, &sb, a, cn) == 0)
    s = ck__sb_to_arena(&sb, a);
  ck__sb_free(&sb);
  return s;
}

static const char *alg_name(ck_arena *a, const ck__tlv *alg) {
  ck__der d;
  ck__tlv oid;
  const char *name;
  char dotted[128];

  ck__der_enter(&d, alg);
  if (ck__der_expect(&d, CK__T_OID, &oid) != 0)
    return NULL;
  name = ck__oid_sig_name(oid.v, oid.len);
  if (name != NULL)
    return name;
  if (ck__oid_dotted(oid.v, oid.len, dotted, sizeof dotted) != 0)
    return NULL;
  return ck_arena_strdup(a, dotted);
}

/* Serial: hex of the INTEGER content without leading zero octets. */
static const char *serial_to_arena(ck_arena *a, const ck__tlv *t) {
  const uint8_t *p = t->v;
  size_t n = t->len;

  while (n > 1 && p[0] == 0) {
    p++;
    n--;
  }
  return hex_to_arena(a, p, n);
}

/* ------------------------------------------------------------ extensions */

typedef struct ext_state {
  ck_arena *a;
  const char *part; /* for messages */
  unsigned seen;    /* bit per known extension, to refuse duplicates */
  const ck_san *sans;
  size_t n_sans;
  const uint8_t *ski, *aki;
  size_t ski_len, aki_len;
  const char **eku;
  size_t n_eku;
  int has_bc, is_ca, path_len, has_ku;
  unsigned ku;
} ext_state;

enum {
  SEEN_SAN = 1,
  SEEN_SKI = 2,
  SEEN_AKI = 4,
  SEEN_EKU = 8,
  SEEN_BC = 16,
  SEEN_KU = 32
};

static int once(ext_state *st, unsigned bit) {
  if (st->seen & bit)
    return -1;
  st->seen |= bit;
  return 0;
}

static int ext_eku(ext_state *st, const ck__tlv *seq) {
  ck__der d;
  ck__tlv oid;
  size_t k = 0, i;
  char dotted[128];
  const char *name;

  ck__der_enter(&d, seq);
  while (ck__der_more(&d))
    if (ck__der_expect(&d, CK__T_OID, &oid) != 0 || ++k > CK__MAX_EKUS)
      return -1;
  if (k == 0)
    return -1;
  st->eku = ck_arena_alloc(st->a, k * sizeof *st->eku);
  if (st->eku == NULL)
    return -1;
  ck__der_enter(&d, seq);
  for (i = 0; i < k; i++) {
    if (ck__der_get(&d, &oid) != 0)
      return -1;
    name = ck__oid_eku_name(oid.v, oid.len);
    if (name == NULL) {
      if (ck__oid_dotted(oid.v, oid.len, dotted, sizeof dotted) != 0)
        return -1;
      name = ck_arena_strdup(st->a, dotted);
      if (name == NULL)
        return -1;
    }
    st->eku[i] = name;
  }
  st->n_eku = k;
  return 0;
}

static int ext_bc(ext_state *st, const ck__tlv *seq) {
  ck__der d;
  ck__tlv t;
  long pl;
  int r;

  ck__der_enter(&d, seq);
  st->has_bc = 1;
  st->path_len = -1;
  r = ck__der_optional(&d, CK__T_BOOLEAN, &t);
  if (r < 0 || (r == 1 && ck__der_bool(&t, &st->is_ca) != 0))
    return -1;
  r = ck__der_optional(&d, CK__T_INTEGER, &t);
  if (r < 0 || (r == 1 && ck__der_small_uint(&t, 1L << 30, &pl) != 0))
    return -1;
  if (r == 1)
    st->path_len = (int)pl;
  return ck__der_more(&d) ? -1 : 0;
}

static int ext_ku(ext_state *st, const ck__tlv *bits) {
  unsigned v = 0, i;

  if (bits->tag != CK__T_BITSTRING || bits->len < 1 || bits->v[0] > 7)
    return -1;
  for (i = 0; i < 9 && i / 8 + 1 < bits->len; i++)
    if (bits->v[1 + i / 8] & (0x80 >> (i % 8)))
      v |= 1u << i;
  st->has_ku = 1;
  st->ku = v;
  return 0;
}

/* Parses one Extension; unknown ones are skipped. 0 or -1. */
static int parse_extension(ext_state *st, const ck__tlv *ext) {
  ck__der d, vd;
  ck__tlv oid, crit, val, inner, t;
  int critical = 0, r;

  ck__der_enter(&d, ext);
  if (ck__der_expect(&d, CK__T_OID, &oid) != 0)
    return -1;
  r = ck__der_optional(&d, CK__T_BOOLEAN, &crit);
  if (r < 0 || (r == 1 && ck__der_bool(&crit, &critical) != 0))
    return -1;
  if (ck__der_expect(&d, CK__T_OCTETSTRING, &val) != 0 || ck__der_more(&d))
    return -1;
  ck__der_init(&vd, val.v, val.len);

  if (ck__oid_eq(&oid, CK__OID(CK__OID_SAN))) {
    if (once(st, SEEN_SAN) != 0 ||
        ck__der_expect(&vd, CK__T_SEQUENCE, &inner) != 0 || ck__der_more(&vd))
      return -1;
    return ck__san_parse(inner.v, inner.len, st->a, &st->sans, &st->n_sans);
  }
  if (ck__oid_eq(&oid, CK__OID(CK__OID_SKI))) {
    if (once(st, SEEN_SKI) != 0 ||
        ck__der_expect(&vd, CK__T_OCTETSTRING, &inner) != 0 ||
        ck__der_more(&vd))
      return -1;
    st->ski = inner.v;
    st->ski_len = inner.len;
    return 0;
  }
  if (ck__oid_eq(&oid, CK__OID(CK__OID_AKI))) {
    if (once(st, SEEN_AKI) != 0 ||
        ck__der_expect(&vd, CK__T_SEQUENCE, &inner) != 0 || ck__der_more(&vd))
      return -1;
    ck__der_enter(&vd, &inner);
    r = ck__der_optional(&vd, CK__T_CTX | 0, &t);
    if (r < 0)
      return -1;
    if (r == 1) {
      st->aki = t.v;
      st->aki_len = t.len;
    }
    while (ck__der_more(&vd)) /* authorityCertIssuer, serial: checked only */
      if (ck__der_get(&vd, &t) != 0 ||
          (t.tag != (CK__T_CTXC | 1) && t.tag != (CK__T_CTX | 2)))
        return -1;
    return 0;
  }
  if (ck__oid_eq(&oid, CK__OID(CK__OID_EKU))) {
    if (once(st, SEEN_EKU) != 0 ||
        ck__der_expect(&vd, CK__T_SEQUENCE, &inner) != 0 || ck__der_more(&vd))
      return -1;
    return ext_eku(st, &inner);
  }
  if (ck__oid_eq(&oid, CK__OID(CK__OID_BC))) {
    if (once(st, SEEN_BC) != 0 ||
        ck__der_expect(&vd, CK__T_SEQUENCE, &inner) != 0 || ck__der_more(&vd))
      return -1;
    return ext_bc(st, &inner);
  }
  if (ck__oid_eq(&oid, CK__OID(CK__OID_KU))) {
    if (once(st, SEEN_KU) != 0 || ck__der_get(&vd, &inner) != 0 ||
        ck__der_more(&vd))
      return -1;
    return ext_ku(st, &inner);
  }
  return 0;
}

/* Parses an Extensions SEQUENCE value. */
static int parse_extensions(ext_state *st, const ck__tlv *seq) {
  ck__der d;
  ck__tlv ext;

  ck__der_enter(&d, seq);
  while (ck__der_more(&d))
    if (ck__der_expect(&d, CK__T_SEQUENCE, &ext) != 0 ||
        parse_extension(st, &ext) != 0)
      return -1;
  return 0;
}

/* ---------------------------------------------------------- certificates */

#define BAD(what)                                                              \
  do {                                                                         \
    part = (what);                                                             \
    goto bad;                                                                  \
  } while (0)

ck_err ck__cert_parse_fields(ck_cert *c, ck_errctx *err) {
  ck_cert_info *in = &c->info;
  ck__der d, tbs_d, v_d;
  ck__tlv outer, tbs, sigalg, sig, ver, serial, alg, issuer, validity, nb, na,
      subject, spki, t;
  ext_state st;
  const char *part = "structure";
  long version = 0;
  int r;

  memset(&st, 0, sizeof st);
  st.a = c->arena;
  st.path_len = -1;
  ck__der_init(&d, c->der, c->der_len);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &outer) != 0)
    return ck_failf(err, CK_ERR_BAD_DER, "not a DER SEQUENCE");
  ck__der_enter(&d, &outer);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &tbs) != 0)
    BAD("tbsCertificate");
  if (ck__der_expect(&d, CK__T_SEQUENCE, &sigalg) != 0)
    BAD("signatureAlgorithm");
  if (ck__der_expect(&d, CK__T_BITSTRING, &sig) != 0 || sig.len < 1 ||
      sig.v[0] != 0 || ck__der_more(&d))
    BAD("signature");

  ck__der_enter(&tbs_d, &tbs);
  r = ck__der_optional(&tbs_d, CK__T_CTXC | 0, &ver);
  if (r < 0)
    BAD("version");
  if (r == 1) {
    ck__der_enter(&v_d, &ver);
    if (ck__der_expect(&v_d, CK__T_INTEGER, &t) != 0 || ck__der_more(&v_d) ||
        ck__der_small_uint(&t, 2, &version) != 0)
      BAD("version");
  }
  if (ck__der_expect(&tbs_d, CK__T_INTEGER, &serial) != 0 || serial.len == 0 ||
      serial.len > 64)
    BAD("serialNumber");
  if (ck__der_expect(&tbs_d, CK__T_SEQUENCE, &alg) != 0)
    BAD("signature algorithm");
  if (alg.raw_len != sigalg.raw_len ||
      memcmp(alg.raw, sigalg.raw, alg.raw_len) != 0)
    BAD("signature algorithm (inner and outer differ)");
  if (ck__der_expect(&tbs_d, CK__T_SEQUENCE, &issuer) != 0)
    BAD("issuer");
  if (ck__der_expect(&tbs_d, CK__T_SEQUENCE, &validity) != 0)
    BAD("validity");
  ck__der_enter(&v_d, &validity);
  if (ck__der_get(&v_d, &nb) != 0 || ck__asn1_time(&nb, &in->not_before) != 0)
    BAD("notBefore");
  if (ck__der_get(&v_d, &na) != 0 || ck__asn1_time(&na, &in->not_after) != 0 ||
      ck__der_more(&v_d))
    BAD("notAfter");
  if (ck__der_expect(&tbs_d, CK__T_SEQUENCE, &subject) != 0)
    BAD("subject");
  if (ck__der_expect(&tbs_d, CK__T_SEQUENCE, &spki) != 0 ||
      ck__spki_info(spki.raw, spki.raw_len, &in->key) != 0)
    BAD("subjectPublicKeyInfo");
  if (ck__der_optional(&tbs_d, CK__T_CTX | 1, &t) < 0 ||
      ck__der_optional(&tbs_d, CK__T_CTX | 2, &t) < 0)
    BAD("unique identifiers");
  r = ck__der_optional(&tbs_d, CK__T_CTXC | 3, &t);
  if (r < 0)
    BAD("extensions");
  if (r == 1) {
    ck__der_enter(&v_d, &t);
    if (ck__der_expect(&v_d, CK__T_SEQUENCE, &t) != 0 || ck__der_more(&v_d))
      BAD("extensions");
    if (parse_extensions(&st, &t) != 0)
      BAD("extensions");
  }
  if (ck__der_more(&tbs_d))
    BAD("data after extensions");

  in->version = (int)version + 1;
  in->serial_hex = serial_to_arena(c->arena, &serial);
  in->subject = name_to_arena(c->arena, &subject, &in->subject_cn);
  if (in->subject == NULL)
    BAD("subject");
  in->issuer = name_to_arena(c->arena, &issuer, NULL);
  if (in->issuer == NULL)
    BAD("issuer");
  in->sig_alg = alg_name(c->arena, &sigalg);
  if (in->sig_alg == NULL)
    BAD("signatureAlgorithm");
  in->ski_hex = hex_to_arena(c->arena, st.ski, st.ski_len);
  in->aki_hex = hex_to_arena(c->arena, st.aki, st.aki_len);
  if (in->serial_hex == NULL || in->ski_hex == NULL || in->aki_hex == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory parsing certificate");
  in->sans = st.sans;
  in->n_sans = st.n_sans;
  in->eku = st.eku;
  in->n_eku = st.n_eku;
  in->has_basic_constraints = st.has_bc;
  in->is_ca = st.is_ca;
  in->path_len = st.path_len;
  in->has_key_usage = st.has_ku;
  in->key_usage = st.ku;
  if (ck_crypto_sha256(c->der, c->der_len, in->sha256) != CK_OK ||
      ck_crypto_sha256(spki.raw, spki.raw_len, in->spki_sha256) != CK_OK)
    return ck_failf(err, CK_ERR_CRYPTO, "SHA-256 failed");
  ck_crypto_hex(in->sha256, CK_SHA256_LEN, 0, in->sha256_hex,
                sizeof in->sha256_hex);

  c->tbs = tbs.raw;
  c->tbs_len = tbs.raw_len;
  c->spki = spki.raw;
  c->spki_len = spki.raw_len;
  c->subject = subject.raw;
  c->subject_len = subject.raw_len;
  c->issuer = issuer.raw;
  c->issuer_len = issuer.raw_len;
  c->sig = sig.v + 1;
  c->sig_len = sig.len - 1;
  c->ski = st.ski;
  c->ski_len = st.ski_len;
  c->aki = st.aki;
  c->aki_len = st.aki_len;
  return CK_OK;
bad:
  return ck_failf(err, CK_ERR_BAD_CERT, "certificate: bad %s", part);
}

/* ------------------------------------------------------------------ CSRs */

/* Finds the SAN extension in the CSR attributes ([0] SET OF Attribute). */
static int csr_attributes(ext_state *st, const ck__tlv *attrs) {
  ck__der d, ad, vd;
  ck__tlv attr, oid, values, ext;

  ck__der_enter(&d, attrs);
  while (ck__der_more(&d)) {
    if (ck__der_expect(&d, CK__T_SEQUENCE, &attr) != 0)
      return -1;
    ck__der_enter(&ad, &attr);
    if (ck__der_expect(&ad, CK__T_OID, &oid) != 0 ||
        ck__der_expect(&ad, CK__T_SET, &values) != 0 || ck__der_more(&ad))
      return -1;
    if (!ck__oid_eq(&oid, CK__OID(CK__OID_EXT_REQUEST)))
      continue;
    ck__der_enter(&vd, &values);
    if (ck__der_expect(&vd, CK__T_SEQUENCE, &ext) != 0 || ck__der_more(&vd) ||
        parse_extensions(st, &ext) != 0)
      return -1;
  }
  return 0;
}

ck_err ck__csr_parse_fields(ck_csr *r, ck_errctx *err) {
  ck_csr_info *in = &r->info;
  ck__der d, cri_d;
  ck__tlv outer, cri, sigalg, sig, ver, subject, spki, attrs;
  ext_state st;
  const char *part = "structure";
  long version;
  int rc;

  memset(&st, 0, sizeof st);
  st.a = r->arena;
  ck__der_init(&d, r->der, r->der_len);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &outer) != 0)
    return ck_failf(err, CK_ERR_BAD_DER, "not a DER SEQUENCE");
  ck__der_enter(&d, &outer);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &cri) != 0)
    BAD("certificationRequestInfo");
  if (ck__der_expect(&d, CK__T_SEQUENCE, &sigalg) != 0)
    BAD("signatureAlgorithm");
  if (ck__der_expect(&d, CK__T_BITSTRING, &sig) != 0 || sig.len < 1 ||
      sig.v[0] != 0 || ck__der_more(&d))
    BAD("signature");
  ck__der_enter(&cri_d, &cri);
  if (ck__der_expect(&cri_d, CK__T_INTEGER, &ver) != 0 ||
      ck__der_small_uint(&ver, 0, &version) != 0)
    BAD("version");
  if (ck__der_expect(&cri_d, CK__T_SEQUENCE, &subject) != 0)
    BAD("subject");
  if (ck__der_expect(&cri_d, CK__T_SEQUENCE, &spki) != 0 ||
      ck__spki_info(spki.raw, spki.raw_len, &in->key) != 0)
    BAD("subjectPublicKeyInfo");
  rc = ck__der_optional(&cri_d, CK__T_CTXC | 0, &attrs);
  if (rc < 0 || (rc == 1 && csr_attributes(&st, &attrs) != 0))
    BAD("attributes");
  if (ck__der_more(&cri_d))
    BAD("data after attributes");

  in->subject = name_to_arena(r->arena, &subject, &in->subject_cn);
  if (in->subject == NULL)
    BAD("subject");
  in->sig_alg = alg_name(r->arena, &sigalg);
  if (in->sig_alg == NULL)
    BAD("signatureAlgorithm");
  in->sans = st.sans;
  in->n_sans = st.n_sans;
  if (ck_crypto_sha256(spki.raw, spki.raw_len, in->spki_sha256) != CK_OK)
    return ck_failf(err, CK_ERR_CRYPTO, "SHA-256 failed");
  r->spki = spki.raw;
  r->spki_len = spki.raw_len;
  r->cri = cri.raw;
  r->cri_len = cri.raw_len;
  r->sig_alg = sigalg.raw;
  r->sig_alg_len = sigalg.raw_len;
  r->sig = sig.v + 1;
  r->sig_len = sig.len - 1;
  return CK_OK;
bad:
  return ck_failf(err, CK_ERR_BAD_CSR, "certificate request: bad %s", part);
}

/* --------------------------------------------------------------- PKCS#8 */

ck_err ck__pkcs8_wrap(const uint8_t *spki, size_t spki_len,
                      const uint8_t *inner, size_t inner_len, uint8_t **out,
                      size_t *out_len) {
  static const uint8_t zero = 0;
  ck__der d;
  ck__tlv seq, alg;
  ck__derw w;

  ck__der_init(&d, spki, spki_len);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &seq) != 0)
    return CK_ERR_INTERNAL;
  ck__der_enter(&d, &seq);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &alg) != 0)
    return CK_ERR_INTERNAL;
  ck__derw_init(&w);
  ck__derw_begin(&w, CK__T_SEQUENCE);
  ck__derw_tlv(&w, CK__T_INTEGER, &zero, 1);
  ck__derw_raw(&w, alg.raw, alg.raw_len);
  ck__derw_tlv(&w, CK__T_OCTETSTRING, inner, inner_len);
  ck__derw_end(&w);
  return ck__derw_finish(&w, out, out_len);
}
