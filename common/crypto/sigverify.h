/* sigverify.h — verifying a raw signature with a public key given as DER
 * SubjectPublicKeyInfo, for protocol layers whose JOSE library lacks an
 * algorithm (the ACME server's EdDSA JWS, RFC 8037). Backend files:
 * sigverify_openssl.c, sigverify_mbedtls.c (Ed25519 unsupported there). */
#ifndef CK_CRYPTO_SIGVERIFY_H
#define CK_CRYPTO_SIGVERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/err.h"

/* Verifies the Ed25519 signature sig (64 bytes) over msg with the public
 * key spki (DER SubjectPublicKeyInfo of an Ed25519 key). Returns CK_OK,
 * CK_ERR_BAD_SIGNATURE, CK_ERR_BAD_KEY for a key that does not parse or is
 * not Ed25519, CK_ERR_UNSUPPORTED on a backend without Ed25519. */
ck_err ck_crypto_ed25519_verify(const uint8_t *spki, size_t spki_len,
                                const void *msg, size_t msg_len,
                                const uint8_t *sig, size_t sig_len);

#endif
