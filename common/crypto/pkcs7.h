/* pkcs7.h — PKCS#7 / CMS "certs-only" messages and the base64 transfer
 * encoding EST uses (RFC 7030 §4.1.3, RFC 8951 §3).
 *
 * A certs-only message is a degenerate SignedData (RFC 5652 §5): no
 * content, no signers, just a bag of certificates. EST answers /cacerts,
 * /simpleenroll and /simplereenroll with one, base64-encoded. Both ends of
 * certkeeper's EST use this module: the coordinator builds the answers,
 * the agent's EST client reads them. It is pure DER on the neutral reader
 * and writer of common/crypto/der.c, so it works the same in the OpenSSL
 * and the mbedTLS build.
 *
 * The parser is strict: definite minimal-length DER only (BER indefinite
 * lengths are refused), exactly the SignedData layout RFC 5652 gives,
 * version 1, no signers, every certificate a SEQUENCE, at most
 * CK_PKCS7_MAX_CERTS of them and at most CK_PKCS7_MAX_LEN bytes in all.
 * Certificates are returned as DER slices; ck_pkcs7_certs_only_parse_list
 * also parses them. */
#ifndef CK_CRYPTO_PKCS7_H
#define CK_CRYPTO_PKCS7_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto/crypto.h"
#include "common/util/err.h"

#define CK_PKCS7_MAX_CERTS 64            /* certificates in one message */
#define CK_PKCS7_MAX_LEN (1024u * 1024u) /* bytes of one message (DER) */

/* One certificate's DER, as a slice. */
typedef struct ck_pkcs7_cert {
  const uint8_t *der; /* borrowed (see each function) */
  size_t len;
} ck_pkcs7_cert;

/* Builds the DER of a certs-only SignedData holding the n certificates in
 * the order given (leaf first is what EST clients expect; the coordinator
 * puts the issued certificate first, then its CA chain). n may be 0 (an
 * empty bag is valid CMS). Each certs[i].der must be one DER certificate
 * (a SEQUENCE; it is copied as is, not re-encoded). On success *out is
 * malloc'ed (caller frees) and *out_len its length. Returns CK_ERR_INVAL
 * for an element that is not a single DER SEQUENCE, CK_ERR_LIMIT over
 * CK_PKCS7_MAX_CERTS or CK_PKCS7_MAX_LEN, CK_ERR_NOMEM. */
ck_err ck_pkcs7_certs_only_build(const ck_pkcs7_cert *certs, size_t n,
                                 uint8_t **out, size_t *out_len,
                                 ck_errctx *err);

/* Reads a DER certs-only SignedData (ContentInfo) of len bytes. On success
 * certs[0..*n) are slices of der (borrowed: valid while der is), in message
 * order; cap is the capacity of certs (at most CK_PKCS7_MAX_CERTS are ever
 * returned). Bytes after the ContentInfo are refused. Returns
 * CK_ERR_BAD_DER (not DER, truncated, indefinite or non-minimal lengths:
 * the message says where), CK_ERR_PARSE (DER, but not a certs-only
 * SignedData: wrong content type, version, signers present, a certificate
 * choice other than X.509), CK_ERR_LIMIT (more certificates than cap or
 * CK_PKCS7_MAX_CERTS, or a message over CK_PKCS7_MAX_LEN). Certificates are
 * not parsed here. */
ck_err ck_pkcs7_certs_only_parse(const uint8_t *der, size_t len,
                                 ck_pkcs7_cert *certs, size_t cap, size_t *n,
                                 ck_errctx *err);

/* Like ck_pkcs7_certs_only_parse, then parses every certificate
 * (ck_cert_parse) and appends them to list in message order. On failure
 * list is unchanged; CK_ERR_BAD_CERT names the position of a certificate
 * that does not parse. */
ck_err ck_pkcs7_certs_only_parse_list(const uint8_t *der, size_t len,
                                      ck_cert_list *list, ck_errctx *err);

/* ------------------------------------------------ CSR challengePassword */

/* The challengePassword attribute (PKCS#9, 1.2.840.113549.1.9.7) of a
 * parsed CSR, where EST clients put the base64 tls-unique value for
 * channel binding (RFC 7030 §3.5). Copies the value (PrintableString,
 * UTF8String or IA5String) NUL-terminated into out (cap bytes). Returns
 * CK_OK, CK_ERR_NOENT when the CSR has none, CK_ERR_PARSE when the
 * attribute is malformed or has several values, CK_ERR_RANGE when it does
 * not fit. */
ck_err ck_csr_challenge_password(const ck_csr *csr, char *out, size_t cap,
                                 ck_errctx *err);

/* ------------------------------------------- base64 transfer encoding */

/* Decodes the base64 body of an EST message (RFC 8951 §3: "base64"
 * Content-Transfer-Encoding, RFC 4648 §4 alphabet with padding). Line
 * breaks (CRLF or LF) and spaces/tabs anywhere are ignored, so bodies with
 * or without 64/76-column lines both work; anything else (other
 * characters, misplaced or missing '=' padding, data after padding, non-
 * zero trailing bits) is refused with CK_ERR_PARSE naming the offset.
 * Inputs over 4 * CK_PKCS7_MAX_LEN / 3 + slack give CK_ERR_LIMIT. On
 * success *out is malloc'ed (caller frees; it may hold a private key:
 * ck_crypto_free_secret) and *out_len its length (possibly 0). */
ck_err ck_b64_decode(const void *in, size_t len, uint8_t **out, size_t *out_len,
                     ck_errctx *err);

/* Encodes len bytes as base64 with "\r\n" after every 64 characters and
 * at the end when line_breaks is 1 (the layout `openssl base64` and EST
 * servers use), or as one unbroken line when 0. On success *out is a
 * malloc'ed NUL-terminated string (caller frees; wipe it when it holds a
 * key) of *out_len bytes. CK_ERR_LIMIT when len is over CK_PKCS7_MAX_LEN
 * * 4; CK_ERR_NOMEM. */
ck_err ck_b64_encode(const uint8_t *in, size_t len, int line_breaks, char **out,
                     size_t *out_len, ck_errctx *err);

#endif
