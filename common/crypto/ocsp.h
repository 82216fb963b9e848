/* ocsp.h — OCSP (RFC 6960) messages for a responder: parsing requests and
 * building signed responses, backend-neutral (the signature comes from a
 * ck_certgen_issuer, certgen.h).
 *
 * Requests: one certificate per request (the RFC 5019 lightweight profile;
 * a request listing several is refused with CK_ERR_LIMIT so the responder
 * answers malformedRequest), CertID with SHA-1 or SHA-256 (others are
 * reported as CK_OCSP_HASH_OTHER), an optional nonce (RFC 8954, 1..128
 * bytes; other request extensions are ignored unless critical), an
 * optional requestor signature (ignored: we answer anyone). Anything that
 * is not such DER is CK_ERR_BAD_DER with a message naming the part.
 *
 * Responses: BasicOCSPResponse signed by a delegated responder (its own key
 * and a certificate with id-kp-OCSPSigning issued by the CA), responderID
 * byName, the CertID echoed byte for byte from the request, the responder
 * certificate in certs, the nonce echoed when given. */
#ifndef CK_CRYPTO_OCSP_H
#define CK_CRYPTO_OCSP_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto/certgen.h"
#include "common/crypto/crypto.h"
#include "common/util/err.h"

#define CK_OCSP_REQUEST_MAX 8192 /* bytes of one request we accept */
#define CK_OCSP_NONCE_MAX 128    /* RFC 8954: 1..32 recommended; allowed up to this */

typedef enum ck_ocsp_hash {
  CK_OCSP_HASH_OTHER = 0,
  CK_OCSP_HASH_SHA1 = 1,
  CK_OCSP_HASH_SHA256 = 2,
} ck_ocsp_hash;

/* A parsed request; pointers borrow the DER given to the parser. */
typedef struct ck_ocsp_request {
  ck_ocsp_hash hash;
  const uint8_t *name_hash; /* issuerNameHash */
  size_t name_hash_len;
  const uint8_t *key_hash;  /* issuerKeyHash */
  size_t key_hash_len;
  const uint8_t *serial;    /* serialNumber INTEGER content octets */
  size_t serial_len;
  const uint8_t *cert_id;   /* the whole CertID element */
  size_t cert_id_len;
  const uint8_t *nonce;     /* the nonce extension's extnValue content */
  size_t nonce_len;         /* 0: no nonce */
} ck_ocsp_request;

/* Parses an OCSPRequest. CK_ERR_BAD_DER (malformed), CK_ERR_LIMIT (more
 * than one certificate, too large, nonce too long), CK_ERR_UNSUPPORTED (an
 * unknown critical extension). Never reads outside [der, der+len). */
ck_err ck_ocsp_request_parse(const uint8_t *der, size_t len,
                             ck_ocsp_request *out, ck_errctx *err);

/* issuerNameHash and issuerKeyHash of a CA certificate for hash h (SHA-1:
 * 20 bytes, SHA-256: 32): what requests about its certificates carry. */
ck_err ck_ocsp_issuer_hashes(const ck_cert *issuer, ck_ocsp_hash h,
                             uint8_t name[CK_SHA256_LEN],
                             uint8_t key[CK_SHA256_LEN], size_t *len,
                             ck_errctx *err);

/* OCSPResponseStatus values. */
typedef enum ck_ocsp_resp_status {
  CK_OCSP_SUCCESSFUL = 0,
  CK_OCSP_MALFORMED = 1,
  CK_OCSP_INTERNAL_ERROR = 2,
  CK_OCSP_TRY_LATER = 3,
  CK_OCSP_SIG_REQUIRED = 5,
  CK_OCSP_UNAUTHORIZED = 6,
} ck_ocsp_resp_status;

/* The 5-byte unsigned response for a non-successful status (static). */
const uint8_t *ck_ocsp_status_response(ck_ocsp_resp_status st, size_t *len);

typedef enum ck_ocsp_cert_status {
  CK_OCSP_GOOD = 0,
  CK_OCSP_REVOKED = 1,
  CK_OCSP_UNKNOWN = 2,
} ck_ocsp_cert_status;

/* What one response says. */
typedef struct ck_ocsp_single {
  const uint8_t *cert_id;   /* CertID DER to echo (from the request) */
  size_t cert_id_len;
  ck_ocsp_cert_status status;
  int64_t revoked_at;       /* CK_OCSP_REVOKED */
  int reason;               /* CRLReason, -1 = none */
  int64_t this_update;
  int64_t next_update;      /* 0 = none */
  int64_t produced_at;
  const uint8_t *nonce;     /* echoed, NULL none */
  size_t nonce_len;
} ck_ocsp_single;

/* A delegated responder: signer + its certificate. */
typedef struct ck_ocsp_responder ck_ocsp_responder;

/* cert (id-kp-OCSPSigning, issued by the CA) and its key; both borrowed,
 * must outlive the responder. CK_ERR_KEY_MISMATCH, CK_ERR_UNSUPPORTED. */
ck_err ck_ocsp_responder_new(const ck_cert *cert, const ck_key *key,
                             ck_ocsp_responder **out, ck_errctx *err);
void ck_ocsp_responder_free(ck_ocsp_responder *r);

/* Builds and signs a successful OCSPResponse; *out malloc'ed (free()).
 * Thread-safe for one responder. */
ck_err ck_ocsp_response_build(const ck_ocsp_responder *r,
                              const ck_ocsp_single *s, uint8_t **out,
                              size_t *out_len, ck_errctx *err);

#endif
