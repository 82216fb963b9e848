/* acme_alpn.h — the X.509 side of the ACME tls-alpn-01 challenge (RFC 8737):
 * checking the self-signed certificate a host presents on the "acme-tls/1"
 * ALPN protocol (the coordinator's validator), and making one (tests, and an
 * ACME client answering a tls-alpn-01 challenge).
 *
 * The certificate carries exactly one subjectAltName, the dNSName being
 * validated, and the critical acmeIdentifier extension (id-pe-acmeIdentifier,
 * 1.3.6.1.5.5.7.1.31) whose value is the DER OCTET STRING of the SHA-256
 * digest of the key authorization. Its signature and validity are not
 * checked: the proof is the extension.
 *
 * Backends: OpenSSL. The mbedTLS build (agents only) returns
 * CK_ERR_UNSUPPORTED. */
#ifndef CK_CRYPTO_ACME_ALPN_H
#define CK_CRYPTO_ACME_ALPN_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto/crypto.h"
#include "common/util/err.h"

#define CK_ACME_ALPN_PROTO "acme-tls/1"
#define CK_ACME_ALPN_OID "1.3.6.1.5.5.7.1.31"

/* Checks the DER certificate der[0..len) for name (a DNS name, compared
 * case-insensitively) and digest (SHA-256 of the key authorization).
 * Returns CK_OK, CK_ERR_BAD_CERT (not a certificate), or CK_ERR_VERIFY with
 * a message fit for an ACME client saying what is wrong (no or non-critical
 * acmeIdentifier, wrong digest, SANs other than the one name). */
ck_err ck_acme_alpn_cert_check(const uint8_t *der, size_t len,
                               const char *name,
                               const uint8_t digest[CK_SHA256_LEN],
                               ck_errctx *err);

/* Makes a fresh P-256 key and a self-signed tls-alpn-01 certificate for
 * name and digest, valid from one hour ago for 7 days. With bad_critical 1
 * the acmeIdentifier extension is left non-critical (for negative tests).
 * On success *cert_pem and *key_pem are NUL-terminated PEM owned by the
 * caller: free cert_pem with free(), key_pem with ck_crypto_free_secret(p,
 * strlen(p)). */
ck_err ck_acme_alpn_cert_make(const char *name,
                              const uint8_t digest[CK_SHA256_LEN],
                              int bad_critical, char **cert_pem,
                              char **key_pem, ck_errctx *err);

#endif
