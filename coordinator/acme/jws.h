/* jws.h — the JWS layer of the ACME server (RFC 8555 §6.2, RFC 7515):
 * parse a flattened JWS request body, check its protected header, verify
 * its signature with libjose (ES256, ES384, RS256; EdDSA through the crypto
 * seam), JWK thumbprints (RFC 7638), the DER public key (SPKI) of a JWK, and
 * External Account Binding MACs (RFC 8555 §7.3.4, HS256).
 *
 * Pure functions on caller data, no I/O: the fuzz target
 * (tests/fuzz/fuzz_acme_jws.c) drives them with arbitrary bytes. Refusals
 * fill a ck_acme_problem with the RFC 8555 type and a clear detail. */
#ifndef CK_COORD_ACME_JWS_H
#define CK_COORD_ACME_JWS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util/err.h"
#include "coordinator/acme/problem.h"

#define CK_ACME_THUMB_LEN 44       /* 43 base64url characters + NUL */
#define CK_ACME_PROTECTED_MAX 8192 /* decoded protected header */
#define CK_ACME_SPKI_MAX 1200      /* RSA up to 8192 bits */

typedef enum ck_acme_alg {
  CK_ACME_ALG_NONE = 0,
  CK_ACME_ALG_ES256,
  CK_ACME_ALG_ES384,
  CK_ACME_ALG_RS256,
  CK_ACME_ALG_EDDSA,
} ck_acme_alg;

/* A parsed request JWS. Everything is owned by the struct
 * (ck_acme_jws_clear); string fields point into hdr. */
typedef struct ck_acme_jws {
  json_t *root; /* the flattened JWS object */
  json_t *hdr;  /* decoded protected header */
  ck_acme_alg alg;
  const char *alg_name;
  const char *nonce; /* NULL when absent (the caller decides: request
                        JWS need one, keyChange's inner one must not) */
  const char *url;
  const char *kid;  /* NULL when the key is given as jwk */
  json_t *jwk;      /* borrowed from hdr; NULL when kid */
  uint8_t *payload; /* decoded payload, NUL-terminated; len 0 for
                       POST-as-GET */
  size_t payload_len;
  int post_as_get; /* payload was "" */
} ck_acme_jws;

/* Parses body (len bytes) as a flattened JWS whose payload decodes to at
 * most max_payload bytes. Checks: JSON object with string protected,
 * payload, signature; no unprotected header, no general serialization, no
 * "crit"; protected header an object with alg (ES256, ES384, RS256, EdDSA),
 * url, a nonce if any as a string, and exactly one of jwk (a valid public key
 * matching alg) and kid. Returns 1 with *out filled, or 0 with p set
 * (malformed, badSignatureAlgorithm, badPublicKey, 413 for an oversized
 * body/payload); *out is then cleared. */
int ck_acme_jws_parse(const uint8_t *body, size_t len, size_t max_payload,
                      ck_acme_jws *out, ck_acme_problem *p);

void ck_acme_jws_clear(ck_acme_jws *j);

/* Checks that jwk is a public key usable with alg (alg NONE: any we
 * support): kty/crv/size, no private part. Returns 1, or 0 with p set. */
int ck_acme_jwk_check(const json_t *jwk, ck_acme_alg alg, ck_acme_problem *p);

/* Verifies j's signature with jwk (the header's own jwk, or the account
 * key). Returns 1, or 0 with p set (malformed "JWS signature does not
 * verify", badSignatureAlgorithm when alg does not fit the key). */
int ck_acme_jws_verify(const ck_acme_jws *j, const json_t *jwk,
                       ck_acme_problem *p);

/* RFC 7638 thumbprint (SHA-256, base64url) of a public jwk. CK_ERR_PARSE
 * for a key without its required members. */
ck_err ck_acme_jwk_thumbprint(const json_t *jwk, char out[CK_ACME_THUMB_LEN]);

/* The DER SubjectPublicKeyInfo of a public jwk (EC P-256/P-384, RSA,
 * Ed25519) into out (cap bytes), *len bytes. CK_ERR_PARSE / CK_ERR_LIMIT. */
ck_err ck_acme_jwk_spki(const json_t *jwk, uint8_t *out, size_t cap,
                        size_t *len);

/* Reads the kid of an externalAccountBinding object (a flattened JWS)
 * without verifying it. Returns 1 with kid (borrowed from a new object
 * in *hdr_out, caller decrefs), or 0 with p set (malformed). */
int ck_acme_eab_kid(const json_t *eab, json_t **hdr_out, const char **kid,
                    ck_acme_problem *p);

/* Verifies an externalAccountBinding JWS: alg HS256, kid, url equal to
 * url, no nonce, payload equal to outer_jwk, MAC under key (keylen bytes)
 * right (compared in constant time). Returns 1, or 0 with p set
 * (malformed / unauthorized). */
int ck_acme_eab_verify(const json_t *eab, const uint8_t *key, size_t keylen,
                       const char *url, const json_t *outer_jwk,
                       ck_acme_problem *p);

#endif
