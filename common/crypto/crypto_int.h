/* crypto_int.h — internals shared by the files of common/crypto/.
 *
 * Not for use outside common/crypto/ (the fuzzer and unit tests excepted,
 * which exercise the neutral parsers directly). It declares:
 *   - a bounds-checked DER reader and a small DER writer (der.c);
 *   - OID tables and text helpers (oid.c, format.c);
 *   - the neutral X.509 / PKCS#10 field extraction (x509_*.c);
 *   - the layout of ck_key, ck_cert and ck_csr, whose backend half is a
 *     `void *be` pointer (EVP_PKEY* / X509* / X509_REQ* for OpenSSL,
 *     mbedtls_pk_context* / mbedtls_x509_crt* / mbedtls_x509_csr* for
 *     mbedTLS);
 *   - the hooks every backend implements (ck__be_*), in *_openssl.c and
 *     *_mbedtls.c.
 * This header includes no backend header, so neutral files stay neutral. */
#ifndef CK_CRYPTO_CRYPTO_INT_H
#define CK_CRYPTO_CRYPTO_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto/crypto.h"
#include "common/util/err.h"
#include "common/util/mem.h"

/* Limits that keep hostile input cheap. */
#define CK__MAX_INPUT (16u * 1024u * 1024u) /* bytes of one file */
#define CK__MAX_SANS 1024                   /* SAN entries per cert/CSR */
#define CK__MAX_EKUS 64
#define CK__MAX_CERTS 4096 /* certificates in one bundle */

/* ------------------------------------------------------------ DER reader */

/* ASN.1 universal tags and classes used here (single-byte tags only). */
enum {
  CK__T_BOOLEAN = 0x01,
  CK__T_INTEGER = 0x02,
  CK__T_BITSTRING = 0x03,
  CK__T_OCTETSTRING = 0x04,
  CK__T_NULL = 0x05,
  CK__T_OID = 0x06,
  CK__T_UTF8 = 0x0c,
  CK__T_NUMERIC = 0x12,
  CK__T_PRINTABLE = 0x13,
  CK__T_T61 = 0x14,
  CK__T_IA5 = 0x16,
  CK__T_UTCTIME = 0x17,
  CK__T_GENTIME = 0x18,
  CK__T_VISIBLE = 0x1a,
  CK__T_UNIVERSAL = 0x1c,
  CK__T_BMP = 0x1e,
  CK__T_SEQUENCE = 0x30,
  CK__T_SET = 0x31,
  CK__T_CTX = 0x80,  /* context-specific, primitive: 0x80 | n */
  CK__T_CTXC = 0xa0, /* context-specific, constructed: 0xa0 | n */
};

/* A read cursor over [p, end). */
typedef struct ck__der {
  const uint8_t *p;
  const uint8_t *end;
} ck__der;

/* One decoded element. */
typedef struct ck__tlv {
  unsigned tag;       /* the identifier octet */
  const uint8_t *v;   /* value */
  size_t len;         /* value length */
  const uint8_t *raw; /* whole element, header included */
  size_t raw_len;
} ck__tlv;

void ck__der_init(ck__der *d, const uint8_t *p, size_t n);
/* Enters a constructed element: *d covers t's value. */
void ck__der_enter(ck__der *d, const ck__tlv *t);
/* 1 when bytes remain. */
int ck__der_more(const ck__der *d);
/* Next identifier octet without consuming, or -1 at the end. */
int ck__der_peek(const ck__der *d);
/* Reads the next element. Returns 0, or -1 when truncated, on a multi-byte
 * tag, an indefinite length or a length over 4 octets. */
int ck__der_get(ck__der *d, ck__tlv *t);
/* Like ck__der_get but also requires the tag. */
int ck__der_expect(ck__der *d, unsigned tag, ck__tlv *t);
/* Reads an element with the tag if it is next (returns 1), leaves the
 * cursor alone if another tag is next or at the end (returns 0); -1 when
 * malformed. */
int ck__der_optional(ck__der *d, unsigned tag, ck__tlv *t);
/* Reads a BOOLEAN / small non-negative INTEGER value. 0 or -1. */
int ck__der_bool(const ck__tlv *t, int *out);
int ck__der_small_uint(const ck__tlv *t, long max, long *out);
/* Length of a whole DER element starting at p (header + value), or 0 when
 * p does not start a well-formed element within n bytes. */
size_t ck__der_element_len(const uint8_t *p, size_t n);

/* ------------------------------------------------------------ DER writer */

/* A growing output buffer; nested elements are opened with begin and
 * closed with end, which back-patches the length. Errors (OOM, bad
 * nesting) are sticky and reported by finish. */
typedef struct ck__derw {
  uint8_t *buf;
  size_t len, cap;
  size_t open[16]; /* offsets of open elements' length octet */
  int depth;
  int failed;
} ck__derw;

void ck__derw_init(ck__derw *w);
void ck__derw_begin(ck__derw *w, unsigned tag);
void ck__derw_end(ck__derw *w);
void ck__derw_tlv(ck__derw *w, unsigned tag, const void *v, size_t n);
void ck__derw_raw(ck__derw *w, const void *v, size_t n);
/* Hands the bytes to the caller (*out malloc'ed) or returns CK_ERR_NOMEM /
 * CK_ERR_INTERNAL; the writer is reset either way. */
ck_err ck__derw_finish(ck__derw *w, uint8_t **out, size_t *len);
/* Wipes and frees whatever the writer holds. */
void ck__derw_free(ck__derw *w);

/* ------------------------------------------------------- OIDs and names */

/* Well-known OIDs as DER value bytes. */
typedef struct ck__oid {
  const uint8_t *b;
  size_t n;
} ck__oid;

#define CK__OID(lit) ((ck__oid){(const uint8_t *)(lit), sizeof(lit) - 1})
#define CK__OID_RSA "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"
#define CK__OID_RSA_PSS "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0a"
#define CK__OID_SHA256_RSA "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b"
#define CK__OID_EC "\x2a\x86\x48\xce\x3d\x02\x01"
#define CK__OID_ECDSA_SHA256 "\x2a\x86\x48\xce\x3d\x04\x03\x02"
#define CK__OID_ED25519 "\x2b\x65\x70"
#define CK__OID_ED448 "\x2b\x65\x71"
#define CK__OID_DSA "\x2a\x86\x48\xce\x38\x04\x01"
#define CK__OID_P256 "\x2a\x86\x48\xce\x3d\x03\x01\x07"
#define CK__OID_P384 "\x2b\x81\x04\x00\x22"
#define CK__OID_CN "\x55\x04\x03"
#define CK__OID_EXT_REQUEST "\x2a\x86\x48\x86\xf7\x0d\x01\x09\x0e"
#define CK__OID_SAN "\x55\x1d\x11"
#define CK__OID_SKI "\x55\x1d\x0e"
#define CK__OID_AKI "\x55\x1d\x23"
#define CK__OID_KU "\x55\x1d\x0f"
#define CK__OID_EKU "\x55\x1d\x25"
#define CK__OID_BC "\x55\x1d\x13"
#define CK__OID_PKCS7_DATA "\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01"
#define CK__OID_PKCS7_SIGNED "\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02"

int ck__oid_eq(const ck__tlv *t, ck__oid oid);
/* Writes the dotted form of an OID value into buf ("1.2.840.113549");
 * returns -1 (buf = "?") when malformed or too long. */
int ck__oid_dotted(const uint8_t *v, size_t n, char *buf, size_t buflen);
/* Names for signature algorithms, EKU purposes and DN attributes: returns a
 * static name or NULL when the OID is not in the table. */
const char *ck__oid_sig_name(const uint8_t *v, size_t n);
const char *ck__oid_eku_name(const uint8_t *v, size_t n);
const char *ck__oid_attr_name(const uint8_t *v, size_t n);
const char *ck__oid_curve_name(const uint8_t *v, size_t n, unsigned *bits);
/* Looks up a DN attribute by short name (case-insensitive) for CSR
 * building: OID and the string tag to encode its value with. 0 or -1. */
int ck__oid_attr_lookup(const char *name, ck__oid *oid, unsigned *str_tag,
                        size_t *max_len);

/* ------------------------------------------------------- text building */

/* A growing NUL-terminated string; OOM is sticky (failed). */
typedef struct ck__sb {
  char *s;
  size_t len, cap;
  int failed;
} ck__sb;

void ck__sb_putn(ck__sb *sb, const char *s, size_t n);
void ck__sb_puts(ck__sb *sb, const char *s);
void ck__sb_putc(ck__sb *sb, char c);
void ck__sb_printf(ck__sb *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ck__sb_free(ck__sb *sb);
/* Copies the string into the arena (NULL on OOM, also when sb failed). */
const char *ck__sb_to_arena(ck__sb *sb, ck_arena *a);

/* Appends bytes, escaping everything but printable ASCII as "\xHH". */
void ck__sb_put_printable(ck__sb *sb, const uint8_t *v, size_t n);

/* Converts a civil UTC date to epoch seconds (proleptic Gregorian). */
int64_t ck__civil_to_epoch(int year, int mon, int day, int hour, int min,
                           int sec);
/* Parses an ASN.1 UTCTime/GeneralizedTime element (DER "Z" forms). 0/-1. */
int ck__asn1_time(const ck__tlv *t, int64_t *out);

/* Formats an X.509 Name (the SEQUENCE element's value) as RFC 4514 text
 * into sb, most specific RDN first; also returns the first CN (arena copy)
 * in *cn when cn is not NULL. 0 or -1 when malformed. */
int ck__name_format(const uint8_t *v, size_t n, ck__sb *sb, ck_arena *a,
                    const char **cn);
/* Writes a Name for the given attributes into w (DER order as given).
 * Returns CK_ERR_INVAL with a message for unknown types or bad values. */
ck_err ck__name_write(ck__derw *w, const ck_name_attr *attrs, size_t n,
                      ck_errctx *err);

/* ------------------------------------------------------ neutral parsing */

/* Describes a DER SubjectPublicKeyInfo element. 0, or -1 when malformed. */
int ck__spki_info(const uint8_t *spki, size_t len, ck_key_info *out);

/* Decodes a GeneralNames SEQUENCE element value into an arena array. */
int ck__san_parse(const uint8_t *v, size_t n, ck_arena *a, const ck_san **out,
                  size_t *count);

/* Encodes sans as a GeneralNames SEQUENCE into w; CK_ERR_INVAL on a bad
 * value (the message names it). */
ck_err ck__san_write(ck__derw *w, const ck_san *sans, size_t n, ck_errctx *err);

/* Builds a PKCS#8 PrivateKeyInfo around a traditional private key, taking
 * the AlgorithmIdentifier from the key's SPKI. *out malloc'ed (wipe). */
ck_err ck__pkcs8_wrap(const uint8_t *spki, size_t spki_len,
                      const uint8_t *inner, size_t inner_len, uint8_t **out,
                      size_t *out_len);

/* ----------------------------------------------------- object layouts */

struct ck_key {
  void *be;      /* backend key */
  uint8_t *spki; /* DER SubjectPublicKeyInfo, owned */
  size_t spki_len;
  ck_key_info info;
};

struct ck_cert {
  uint8_t *der; /* owned copy of the encoding */
  size_t der_len;
  ck_arena *arena; /* strings and arrays of info */
  ck_cert_info info;
  const uint8_t *tbs, *spki, *subject, *issuer, *sig; /* into der */
  size_t tbs_len, spki_len, subject_len, issuer_len, sig_len;
  const uint8_t *ski, *aki; /* key identifiers, into der (or NULL) */
  size_t ski_len, aki_len;
  void *be; /* backend certificate; NULL when the backend cannot read it
               (mbedTLS and Ed25519): info only, no verification */
};

struct ck_csr {
  uint8_t *der;
  size_t der_len;
  ck_arena *arena;
  ck_csr_info info;
  const uint8_t *cri, *spki, *sig_alg, *sig; /* into der */
  size_t cri_len, spki_len, sig_alg_len, sig_len;
  void *be; /* backend request, NULL when info only */
};

/* Fills c->info and the pointers from c->der (c->arena set). Returns
 * CK_ERR_BAD_DER / CK_ERR_BAD_CERT with a message. */
ck_err ck__cert_parse_fields(ck_cert *c, ck_errctx *err);
/* Same for a CSR: CK_ERR_BAD_DER / CK_ERR_BAD_CSR. */
ck_err ck__csr_parse_fields(ck_csr *r, ck_errctx *err);

/* Builds a certificate from DER (copied; trailing bytes after the first
 * element ignored): neutral fields, backend object, self-signed flag. */
ck_err ck__cert_from_der(const uint8_t *der, size_t len, ck_cert **out,
                         ck_errctx *err);

/* 1 when label names a certificate / private key block. */
int ck__pem_is_cert_label(const char *label);
int ck__pem_is_key_label(const char *label);

/* Creates a ck_key around a backend key (taking it over): fills spki and
 * info. On failure the backend key is freed. */
ck_err ck__key_wrap(void *be, ck_key **out, ck_errctx *err);

/* ------------------------------------------------------ backend hooks */

ck_err ck__be_key_generate(const ck_key_spec *spec, void **be, ck_errctx *err);
/* Reads an unencrypted PKCS#8 or traditional DER key. */
ck_err ck__be_key_from_der(const uint8_t *der, size_t len, void **be,
                           ck_errctx *err);
ck_err ck__be_key_spki(const void *be, uint8_t **out, size_t *len,
                       ck_errctx *err);
/* Private key DER in the given format; *out malloc'ed, caller wipes. */
ck_err ck__be_key_to_der(const ck_key *key, ck_key_pem_format fmt,
                         uint8_t **out, size_t *len, ck_errctx *err);
/* Signs tbs with SHA-256 (RSA PKCS#1 v1.5, ECDSA DER) or pure Ed25519. */
ck_err ck__be_key_sign(const ck_key *key, const uint8_t *tbs, size_t len,
                       uint8_t **sig, size_t *sig_len, ck_errctx *err);
/* CK_OK when the public half of key equals the DER SPKI, else
 * CK_ERR_KEY_MISMATCH (or CK_ERR_UNSUPPORTED). */
ck_err ck__be_key_match_spki(const ck_key *key, const uint8_t *spki, size_t len,
                             ck_errctx *err);
void ck__be_key_free(void *be);

/* Loads c->der into c->be. CK_ERR_UNSUPPORTED means "the backend cannot
 * handle this algorithm" and leaves c->be NULL (info-only certificate);
 * anything else is a parse failure. */
ck_err ck__be_cert_load(ck_cert *c, ck_errctx *err);
/* 1 when c's signature verifies with its own key, 0 when not, -1 when the
 * backend cannot tell. */
int ck__be_cert_self_sig(const ck_cert *c);
void ck__be_cert_free(void *be);

/* Chain verification at time at (already defaulted); see ck_cert_verify. */
ck_err ck__be_cert_verify(const ck_cert *leaf, const ck_cert_list *untrusted,
                          const ck_cert_list *trusted, int64_t at,
                          ck_errctx *err);

ck_err ck__be_csr_load(ck_csr *r, ck_errctx *err);
ck_err ck__be_csr_verify(const ck_csr *r, ck_errctx *err);
void ck__be_csr_free(void *be);

int ck__be_has(ck_crypto_cap cap);

#endif
