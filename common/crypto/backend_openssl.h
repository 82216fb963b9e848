/* backend_openssl.h — the OpenSSL side of common/crypto/, for the files of
 * this room only (the TLS engine in tls_openssl.c included).
 *
 * Gives borrowed access to the OpenSSL objects behind the opaque handles,
 * so the TLS layer can hand a ck_key / ck_cert to an SSL_CTX and turn a peer
 * X509 back into a ck_cert, plus the helper that turns the OpenSSL error
 * queue into a ck_errctx message. Never include this outside
 * common/crypto/. */
#ifndef CK_CRYPTO_BACKEND_OPENSSL_H
#define CK_CRYPTO_BACKEND_OPENSSL_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/crypto/crypto_int.h"

/* The key's EVP_PKEY (borrowed: EVP_PKEY_up_ref it to keep it longer). */
EVP_PKEY *ck__key_evp(const ck_key *key);

/* The certificate's X509 (borrowed; never NULL in the OpenSSL build). */
X509 *ck__cert_x509(const ck_cert *cert);

/* Builds a ck_cert from an X509 (e.g. the TLS peer's); x is not consumed.
 * *out caller-owned. */
ck_err ck__cert_from_x509(X509 *x, ck_cert **out, ck_errctx *err);

/* Records code and a message in err, followed by the most relevant reason
 * from the OpenSSL error queue; clears the queue. Returns code. */
ck_err ck__ossl_fail(ck_errctx *err, ck_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats an X509_NAME as the same RFC 4514 text as ck_cert_info.subject
 * into buf (truncated to buflen). */
void ck__ossl_name(const X509_NAME *name, char *buf, size_t buflen);

#endif
