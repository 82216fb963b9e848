/* keycsr.h — the key and CSR phase of a renewal: a fresh private key on the
 * host, written 0600 from creation (DIR/managed/<id>/next.key), and a
 * PKCS#10 request for it with the managed certificate's CN and SANs, kept
 * next to the key (DIR/managed/<id>/next.csr) until the renewal ends.
 * Blocking (RSA 4096 takes seconds): the state machine runs
 * ck_managed_keygen on the libuv thread pool. */
#ifndef CK_AGENT_MANAGE_KEYCSR_H
#define CK_AGENT_MANAGE_KEYCSR_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/err.h"

/* Generates a key for spec ("ec-p256", "rsa-2048", ...; NULL: ec-p256) and
 * replaces path with it (PKCS#8 PEM, mode 0600 before any byte is written).
 * Errors: CK_ERR_PARSE (spec), CK_ERR_UNSUPPORTED (e.g. ed25519 with
 * mbedTLS), CK_ERR_CRYPTO, file errors naming path. */
ck_err ck_managed_keygen(const char *spec, const char *path, ck_errctx *err);

/* Builds a DER CSR for the key in key_path: subject CN=cn (omitted when cn
 * is NULL or ""), subjectAltName from sans ("DNS:name", "IP:addr", also
 * "URI:..", "email:.."). *der is malloc'ed (caller frees). Errors:
 * CK_ERR_CONFIG for a SAN without a known prefix, key read errors,
 * CK_ERR_INVAL from ck_csr_create. */
ck_err ck_managed_csr(const char *key_path, const char *cn,
                      const char *const *sans, size_t n_sans, uint8_t **der,
                      size_t *der_len, ck_errctx *err);

/* The CSR for the key in key_path, kept in csr_path (DER, 0644): the bytes
 * of csr_path when it holds a CSR for that key — asking again after
 * `pending` or a restart must send the same bytes (the coordinator finds
 * its open request by their SHA-256; ECDSA signatures differ each time) —
 * else a new one (ck_managed_csr) written there (a failed write is
 * logged, the CSR is still returned). *der is malloc'ed (caller frees).
 * Errors: those of ck_managed_csr. */
ck_err ck_managed_csr_kept(const char *key_path, const char *csr_path,
                           const char *cn, const char *const *sans,
                           size_t n_sans, uint8_t **der, size_t *der_len,
                           ck_errctx *err);

/* SHA-256 of the public key of the private key in key_path (to match an
 * issued certificate's spki_sha256). */
ck_err ck_managed_key_spki(const char *key_path, uint8_t out[32],
                           ck_errctx *err);

#endif
