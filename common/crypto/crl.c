/* crl.c — X.509 v2 CRLs (crl.h), backend-neutral: entries are streamed
 * into a DER buffer as they come; finish wraps them in the TBSCertList and
 * signs it through the CA's ck_certgen_issuer (certgen_int.h). */
#include <stdlib.h>
#include <string.h>

#include "common/crypto/certgen_int.h"
#include "common/crypto/crl.h"

struct ck_crl_builder {
  const ck_certgen_issuer *iss; /* borrowed */
  ck_crl_opts o;
  ck__derw entries; /* the revokedCertificates content, entry after entry */
  size_t n;
  char idp[CK_CERTGEN_MAX_URL_LEN]; /* o.idp_url copied; "" = none */
};

#define OID_AKI "\x55\x1d\x23"
#define OID_CRL_NUMBER "\x55\x1d\x14"
#define OID_DELTA_CRL "\x55\x1d\x1b"
#define OID_REASON "\x55\x1d\x15"
#define OID_IDP "\x55\x1d\x1c"

static const char *const reason_names[] = {
    "unspecified",   "keyCompromise",        "cACompromise",
    "affiliationChanged", "superseded",      "cessationOfOperation",
    "certificateHold", NULL,                 "removeFromCRL",
    "privilegeWithdrawn", "aACompromise"};

const char *ck_crl_reason_name(int code) {
  if (code < 0 || code >= (int)(sizeof reason_names / sizeof reason_names[0]))
    return NULL;
  return reason_names[code];
}

int ck_crl_reason_parse(const char *name) {
  int i;

  for (i = 0; name != NULL && i < (int)(sizeof reason_names / sizeof reason_names[0]); i++)
    if (reason_names[i] != NULL && strcmp(reason_names[i], name) == 0)
      return i;
  return -1;
}

/* Writes v as a minimal non-negative DER INTEGER. */
static void write_uint(ck__derw *w, uint64_t v) {
  uint8_t b[9];
  size_t n = 0, i;

  b[n++] = 0;
  for (i = 0; i < 8; i++)
    b[n++] = (uint8_t)(v >> (8 * (7 - i)));
  i = 0;
  while (i < n - 1 && b[i] == 0 && !(b[i + 1] & 0x80))
    i++;
  ck__derw_tlv(w, CK__T_INTEGER, b + i, n - i);
}

ck_err ck_crl_builder_new(const ck_certgen_issuer *iss, const ck_crl_opts *o,
                          ck_crl_builder **out, ck_errctx *err) {
  ck_crl_builder *b;
  size_t len;

  if (iss == NULL || o == NULL || out == NULL)
    return ck_failf(err, CK_ERR_INVAL, "ck_crl_builder_new: NULL argument");
  if (ck__certgen_issuer_name(iss, &len) == NULL)
    return ck_failf(err, CK_ERR_INVAL, "a CRL needs an issuer certificate");
  if (o->next_update <= o->this_update)
    return ck_failf(err, CK_ERR_INVAL, "CRL nextUpdate must follow thisUpdate");
  if (o->number == 0 || (o->delta_base != 0 && o->delta_base >= o->number))
    return ck_failf(err, CK_ERR_INVAL,
                    "CRL number must be >= 1 and above a delta CRL's base");
  if (o->idp_url != NULL) {
    size_t i, n = strlen(o->idp_url);
    if (n == 0 || n >= CK_CERTGEN_MAX_URL_LEN)
      return ck_failf(err, CK_ERR_INVAL, "issuingDistributionPoint URL: empty or too long");
    for (i = 0; i < n; i++) /* IA5String, no controls or spaces */
      if ((unsigned char)o->idp_url[i] <= 0x20 || (unsigned char)o->idp_url[i] >= 0x7f)
        return ck_failf(err, CK_ERR_INVAL,
                        "issuingDistributionPoint URL: byte %zu is not printable ASCII", i);
  }
  b = calloc(1, sizeof *b);
  if (b == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  b->iss = iss;
  b->o = *o;
  if (o->idp_url != NULL)
    memcpy(b->idp, o->idp_url, strlen(o->idp_url) + 1);
  b->o.idp_url = NULL; /* b->idp holds it */
  ck__derw_init(&b->entries);
  *out = b;
  return CK_OK;
}

ck_err ck_crl_builder_add(ck_crl_builder *b, const uint8_t *serial,
                          size_t serial_len, int64_t revoked_at, int reason,
                          ck_errctx *err) {
  uint8_t enumv;

  if (serial == NULL || serial_len == 0 || serial_len > 21 ||
      (serial[0] & 0x80) ||
      (serial_len > 1 && serial[0] == 0 && !(serial[1] & 0x80)))
    return ck_failf(err, CK_ERR_RANGE,
                    "CRL entry: the serial is not a positive minimal INTEGER");
  if (ck_crl_reason_name(reason) == NULL)
    return ck_failf(err, CK_ERR_RANGE, "CRL entry: reason %d is not RFC 5280's",
                    reason);
  if (revoked_at < 0)
    return ck_failf(err, CK_ERR_RANGE, "CRL entry: bad revocation time");
  ck__derw_begin(&b->entries, CK__T_SEQUENCE);
  ck__derw_tlv(&b->entries, CK__T_INTEGER, serial, serial_len);
  ck__certgen_write_time(&b->entries, revoked_at, 0);
  if (reason != CK_CRL_UNSPECIFIED) {
    enumv = (uint8_t)reason;
    ck__derw_begin(&b->entries, CK__T_SEQUENCE); /* crlEntryExtensions */
    ck__derw_begin(&b->entries, CK__T_SEQUENCE);
    ck__derw_tlv(&b->entries, CK__T_OID, OID_REASON, sizeof OID_REASON - 1);
    ck__derw_begin(&b->entries, CK__T_OCTETSTRING);
    ck__derw_tlv(&b->entries, 0x0a, &enumv, 1); /* ENUMERATED */
    ck__derw_end(&b->entries);
    ck__derw_end(&b->entries);
    ck__derw_end(&b->entries);
  }
  ck__derw_end(&b->entries);
  if (b->entries.failed)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory building the CRL");
  b->n++;
  return CK_OK;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

ck_err ck_crl_builder_add_hex(ck_crl_builder *b, const char *serial_hex,
                              int64_t revoked_at, int reason, ck_errctx *err) {
  uint8_t buf[22];
  size_t n = strlen(serial_hex != NULL ? serial_hex : ""), k = 1, i = 0;
  int hi, lo;

  if (n == 0 || n > 40)
    return ck_failf(err, CK_ERR_RANGE, "CRL entry: bad serial '%s'",
                    serial_hex != NULL ? serial_hex : "");
  buf[0] = 0;
  if (n % 2 == 1) { /* odd number of digits: a leading nibble */
    if ((lo = hexval(serial_hex[0])) < 0)
      return ck_failf(err, CK_ERR_RANGE, "CRL entry: bad serial '%s'", serial_hex);
    buf[k++] = (uint8_t)lo;
    i = 1;
  }
  for (; i < n; i += 2) {
    hi = hexval(serial_hex[i]);
    lo = hexval(serial_hex[i + 1]);
    if (hi < 0 || lo < 0)
      return ck_failf(err, CK_ERR_RANGE, "CRL entry: bad serial '%s'", serial_hex);
    buf[k++] = (uint8_t)(hi << 4 | lo);
  }
  /* minimal: drop leading zero octets, keep one when the top bit is set */
  i = 1;
  while (i + 1 < k && buf[i] == 0)
    i++;
  if (buf[i] & 0x80)
    i--;
  return ck_crl_builder_add(b, buf + i, k - i, revoked_at, reason, err);
}

size_t ck_crl_builder_count(const ck_crl_builder *b) { return b->n; }

unsigned ck_crl_shard_of(const uint8_t *serial, size_t len, unsigned shards) {
  uint32_t r = 0;
  size_t i;

  if (shards <= 1)
    return 0;
  for (i = 0; i < len; i++)
    r = (r * 256u + serial[i]) % shards;
  return r;
}

int ck_crl_shard_of_hex(const char *serial_hex, unsigned shards) {
  uint32_t r = 0;
  size_t i;
  int d;

  if (serial_hex == NULL || serial_hex[0] == '\0')
    return -1;
  for (i = 0; serial_hex[i] != '\0'; i++) {
    char ch = serial_hex[i];
    if (ch >= '0' && ch <= '9')
      d = ch - '0';
    else if (ch >= 'a' && ch <= 'f')
      d = ch - 'a' + 10;
    else if (ch >= 'A' && ch <= 'F')
      d = ch - 'A' + 10;
    else
      return -1;
    if (shards > 1)
      r = (r * 16u + (uint32_t)d) % shards;
  }
  return (int)r;
}

static void ext_begin(ck__derw *w, const char *oid, size_t oid_len, int critical) {
  static const uint8_t t = 0xff;

  ck__derw_begin(w, CK__T_SEQUENCE);
  ck__derw_tlv(w, CK__T_OID, oid, oid_len);
  if (critical)
    ck__derw_tlv(w, CK__T_BOOLEAN, &t, 1);
  ck__derw_begin(w, CK__T_OCTETSTRING);
}

static void ext_end(ck__derw *w) {
  ck__derw_end(w);
  ck__derw_end(w);
}

ck_err ck_crl_builder_finish(ck_crl_builder *b, uint8_t **der, size_t *len,
                             ck_errctx *err) {
  static const uint8_t v2 = 1, zero = 0;
  uint8_t sig[CK__CERTGEN_SIG_MAX];
  uint8_t *ents = NULL, *tbs = NULL;
  size_t ents_len = 0, tbs_len = 0, sig_len = 0, name_len, kid_len, alg_len;
  const uint8_t *name, *kid, *alg;
  ck__derw w;
  ck_err rc;

  ck__derw_init(&w);
  if (der == NULL || len == NULL) {
    rc = ck_failf(err, CK_ERR_INVAL, "ck_crl_builder_finish: NULL argument");
    goto out;
  }
  if (b->n > 0 && (rc = ck__derw_finish(&b->entries, &ents, &ents_len)) != CK_OK) {
    ck_failf(err, rc, "encoding the CRL entries failed");
    goto out;
  }
  name = ck__certgen_issuer_name(b->iss, &name_len);
  kid = ck__certgen_issuer_key_id(b->iss, &kid_len);
  alg = ck__certgen_issuer_alg(b->iss, &alg_len);
  ck__derw_begin(&w, CK__T_SEQUENCE); /* TBSCertList */
  ck__derw_tlv(&w, CK__T_INTEGER, &v2, 1);
  ck__derw_raw(&w, alg, alg_len);
  ck__derw_raw(&w, name, name_len);
  ck__certgen_write_time(&w, b->o.this_update, 0);
  ck__certgen_write_time(&w, b->o.next_update, 0);
  if (b->n > 0)
    ck__derw_tlv(&w, CK__T_SEQUENCE, ents, ents_len);
  ck__derw_begin(&w, CK__T_CTXC | 0); /* crlExtensions */
  ck__derw_begin(&w, CK__T_SEQUENCE);
  ext_begin(&w, OID_AKI, sizeof OID_AKI - 1, 0);
  ck__derw_begin(&w, CK__T_SEQUENCE);
  ck__derw_tlv(&w, CK__T_CTX | 0, kid, kid_len);
  ck__derw_end(&w);
  ext_end(&w);
  ext_begin(&w, OID_CRL_NUMBER, sizeof OID_CRL_NUMBER - 1, 0);
  write_uint(&w, b->o.number);
  ext_end(&w);
  if (b->o.delta_base != 0) {
    ext_begin(&w, OID_DELTA_CRL, sizeof OID_DELTA_CRL - 1, 1);
    write_uint(&w, b->o.delta_base);
    ext_end(&w);
  }
  if (b->idp[0] != '\0') { /* RFC 5280 5.2.5: critical, fullName = one URI */
    ext_begin(&w, OID_IDP, sizeof OID_IDP - 1, 1);
    ck__derw_begin(&w, CK__T_SEQUENCE);  /* IssuingDistributionPoint */
    ck__derw_begin(&w, CK__T_CTXC | 0);  /* distributionPoint */
    ck__derw_begin(&w, CK__T_CTXC | 0);  /* fullName: GeneralNames */
    ck__derw_tlv(&w, CK__T_CTX | 6, b->idp, strlen(b->idp)); /* URI */
    ck__derw_end(&w);
    ck__derw_end(&w);
    ck__derw_end(&w);
    ext_end(&w);
  }
  ck__derw_end(&w);
  ck__derw_end(&w);
  ck__derw_end(&w);
  if ((rc = ck__derw_finish(&w, &tbs, &tbs_len)) != CK_OK) {
    ck_failf(err, rc, "encoding the CRL failed");
    goto out;
  }
  free(ents); /* the entries now live in tbs */
  ents = NULL;
  rc = ck__certgen_sign_raw(b->iss, tbs, tbs_len, sig, &sig_len, &alg, &alg_len, err);
  if (rc != CK_OK) {
    ck_failf(err, rc, "signing the CRL failed");
    goto out;
  }
  ck__derw_begin(&w, CK__T_SEQUENCE);
  ck__derw_raw(&w, tbs, tbs_len);
  ck__derw_raw(&w, alg, alg_len);
  ck__derw_begin(&w, CK__T_BITSTRING);
  ck__derw_raw(&w, &zero, 1);
  ck__derw_raw(&w, sig, sig_len);
  ck__derw_end(&w);
  ck__derw_end(&w);
  if ((rc = ck__derw_finish(&w, der, len)) != CK_OK)
    ck_failf(err, rc, "encoding the CRL failed");
out:
  ck__derw_free(&w);
  free(ents);
  free(tbs);
  return rc;
}

void ck_crl_builder_free(ck_crl_builder *b) {
  if (b == NULL)
    return;
  ck__derw_free(&b->entries);
  free(b);
}
