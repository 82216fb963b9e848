/* tls_internal.h — what the two TLS engine backends share (tls.c).
 *
 * Only tls_openssl.c, tls_mbedtls.c and tls.c include this. It holds the
 * backend-neutral half of a context: the configuration checked and resolved
 * once (effective verification mode, decoded pins, ALPN in wire format), and
 * small helpers both backends need (loading PEM from file or buffer, IP
 * literal detection, the constant-time pin compares, the store of the peer's
 * presented chain). */
#ifndef CK_CRYPTO_TLS_INTERNAL_H
#define CK_CRYPTO_TLS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto/tls.h"

#define CK__TLS_PIN_LEN 32
#define CK__TLS_DEFAULT_HANDSHAKE_MS 10000u
#define CK__TLS_MAX_PEM (1024u * 1024u)
#define CK__TLS_EXPORTER_LABEL "EXPORTER-Channel-Binding"
#define CK__TLS_EXPORTER_LEN 32

/* The resolved, backend-neutral part of a configuration. */
typedef struct ck__tls_opts {
  ck_tls_role role;
  ck_tls_verify verify;            /* resolved: never DEFAULT */
  int have_cert;                   /* own certificate + key configured */
  int have_trust;                  /* trust bundle configured */
  int have_pin;                    /* pin[] is set */
  uint8_t pin[CK__TLS_PIN_LEN];    /* SHA-256 of the expected peer leaf */
  int have_ca_pin;                 /* ca_pin[] is set (clients only) */
  uint8_t ca_pin[CK__TLS_PIN_LEN]; /* SHA-256 of the pinned CA certificate */
  char *server_name;               /* malloc'ed, or NULL */
  uint8_t *alpn_wire;              /* length-prefixed list, malloc'ed or NULL */
  size_t alpn_wire_len;
  ck_tls_version min_version;    /* resolved: V12 or V13 */
  ck_tls_version max_version;    /* resolved: V12 or V13 */
  unsigned handshake_timeout_ms; /* resolved */
} ck__tls_opts;

/* Checks cfg and fills o (caller frees with ck__tls_opts_clear). max_backend
 * is the highest version the backend speaks. Returns CK_ERR_CONFIG with a
 * message naming the field, CK_ERR_UNSUPPORTED, or CK_ERR_NOMEM. */
ck_err ck__tls_opts_init(ck__tls_opts *o, const ck_tls_config *cfg,
                         ck_tls_version max_backend, ck_errctx *err);
void ck__tls_opts_clear(ck__tls_opts *o);

/* Loads one PEM input given as a file or a buffer into a malloc'ed copy with
 * a NUL after *len bytes (mbedTLS wants the NUL counted: use *len + 1).
 * what names the input in messages ("certificate"). Returns CK_ERR_NOENT
 * when neither is given. The caller wipes and frees *out. */
ck_err ck__tls_load_pem(const char *file, const uint8_t *buf, size_t buflen,
                        const char *what, uint8_t **out, size_t *len,
                        ck_errctx *err);
/* Wipes and frees a buffer from ck__tls_load_pem. NULL is a no-op. */
void ck__tls_free_pem(uint8_t *p, size_t len);

/* Returns 4 or 16 and fills out when name is an IPv4 / IPv6 literal, else 0. */
size_t ck__tls_parse_ip(const char *name, uint8_t out[16]);

/* Compares a leaf's SHA-256 with the pin in constant time: 1 on match. */
int ck__tls_pin_equal(const ck__tls_opts *o,
                      const uint8_t digest[CK__TLS_PIN_LEN]);

/* Records a pin mismatch in err, quoting the peer's fingerprint. */
ck_err ck__tls_pin_fail(const uint8_t digest[CK__TLS_PIN_LEN], ck_errctx *err);

/* Compares a certificate's SHA-256 with the CA pin in constant time: 1 on
 * match. */
int ck__tls_ca_pin_equal(const ck__tls_opts *o,
                         const uint8_t digest[CK__TLS_PIN_LEN]);

/* Records (CK_ERR_PIN_MISMATCH) that none of the n presented certificates
 * after the leaf matched the CA pin; leaf_matched says the leaf did (a leaf
 * fingerprint given as a CA pin), top is the SHA-256 of the last certificate
 * presented. */
ck_err ck__tls_ca_pin_fail(size_t n, int leaf_matched,
                           const uint8_t top[CK__TLS_PIN_LEN], ck_errctx *err);

/* The certificates a peer presented, DER back to back. */
typedef struct ck__tls_chain {
  uint8_t *der; /* malloc'ed, all certificates in presented order */
  size_t len;   /* bytes used in der */
  size_t *end;  /* end[i]: offset just past certificate i, malloc'ed */
  size_t n;     /* number of certificates */
} ck__tls_chain;

/* Appends a copy of one certificate. CK_OK or CK_ERR_NOMEM (ch unchanged). */
ck_err ck__tls_chain_add(ck__tls_chain *ch, const uint8_t *der, size_t len,
                         ck_errctx *err);
/* Certificate i (borrowed from ch) or NULL with *len = 0. */
const uint8_t *ck__tls_chain_get(const ck__tls_chain *ch, size_t i,
                                 size_t *len);
/* Frees the contents; the struct is left empty. */
void ck__tls_chain_clear(ck__tls_chain *ch);

#endif
