/* crl.h — building X.509 v2 certificate revocation lists (RFC 5280 §5).
 *
 * A builder streams entries into memory (no sorting, no per-entry object),
 * so a CRL of a million entries costs one pass and ~40 bytes per entry;
 * finish encodes the TBSCertList around them and signs it with the CA's
 * prepared ck_certgen_issuer (certgen.h). Backend-neutral: both builds
 * write the same bytes.
 *
 * What is written: version v2; the issuer's signature algorithm; issuer =
 * the CA's subject; thisUpdate / nextUpdate (UTCTime through 2049); each
 * entry's serial, revocation date and reasonCode (left out for
 * unspecified, as RFC 5280 §5.3.1 asks); CRL extensions
 * authorityKeyIdentifier (the CA's key identifier), cRLNumber, for a
 * delta CRL a critical deltaCRLIndicator naming its base CRL number, and
 * for a partitioned (sharded) CRL a critical issuingDistributionPoint
 * (RFC 5280 5.2.5) whose fullName is the one URI the certificates' CDP
 * names. */
#ifndef CK_CRYPTO_CRL_H
#define CK_CRYPTO_CRL_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto/certgen.h"
#include "common/util/err.h"

/* RFC 5280 CRLReason codes (7 is not used). */
typedef enum ck_crl_reason {
  CK_CRL_UNSPECIFIED = 0,
  CK_CRL_KEY_COMPROMISE = 1,
  CK_CRL_CA_COMPROMISE = 2,
  CK_CRL_AFFILIATION_CHANGED = 3,
  CK_CRL_SUPERSEDED = 4,
  CK_CRL_CESSATION = 5,
  CK_CRL_CERTIFICATE_HOLD = 6,
  CK_CRL_REMOVE_FROM_CRL = 8,
  CK_CRL_PRIVILEGE_WITHDRAWN = 9,
  CK_CRL_AA_COMPROMISE = 10,
} ck_crl_reason;

/* The RFC 5280 name ("keyCompromise") of a reason code, NULL when not one. */
const char *ck_crl_reason_name(int code);
/* The code of an RFC 5280 reason name (exact case), -1 when unknown. */
int ck_crl_reason_parse(const char *name);

typedef struct ck_crl_opts {
  int64_t this_update; /* epoch seconds */
  int64_t next_update; /* > this_update */
  uint64_t number;     /* cRLNumber, >= 1 */
  uint64_t delta_base; /* 0: a full CRL; else a delta CRL on top of the
                          full CRL with this number (< number) */
  const char *idp_url; /* NULL: none; else the issuingDistributionPoint
                          URI (printable ASCII; copied by _new). A delta
                          CRL carries its base's (the CDP URL). */
} ck_crl_opts;

typedef struct ck_crl_builder ck_crl_builder;

/* Starts a CRL signed by iss (which must have a certificate: not a
 * self-signed issuer handle). iss is borrowed until finish/free.
 * CK_ERR_INVAL for bad options. *out caller-owned (ck_crl_builder_free). */
ck_err ck_crl_builder_new(const ck_certgen_issuer *iss, const ck_crl_opts *o,
                          ck_crl_builder **out, ck_errctx *err);

/* Appends one revoked certificate: serial as INTEGER content octets
 * (big-endian, 1..20 bytes) or as hex digits (serial_hex, "0a1b...";
 * leading zero octet added when needed). reason a ck_crl_reason.
 * CK_ERR_RANGE for a bad serial, time or reason; CK_ERR_NOMEM. */
ck_err ck_crl_builder_add(ck_crl_builder *b, const uint8_t *serial,
                          size_t serial_len, int64_t revoked_at, int reason,
                          ck_errctx *err);
ck_err ck_crl_builder_add_hex(ck_crl_builder *b, const char *serial_hex,
                              int64_t revoked_at, int reason, ck_errctx *err);

/* CRL sharding: the shard (0..shards-1) of a serial, the big-endian
 * serial number modulo shards (so leading zero octets do not matter).
 * shards <= 1 gives 0. _hex takes hex digits; -1 when not hex. The CA
 * puts the shard's URL in the CDP at issuance, the CRL builder sorts
 * revocations by it: both must use these. */
unsigned ck_crl_shard_of(const uint8_t *serial, size_t len, unsigned shards);
int ck_crl_shard_of_hex(const char *serial_hex, unsigned shards);

/* Entries added so far. */
size_t ck_crl_builder_count(const ck_crl_builder *b);

/* Encodes and signs: *der malloc'ed (free()), *len its length. The builder
 * is spent afterwards (free it). Thread-safe with respect to other
 * builders sharing iss. */
ck_err ck_crl_builder_finish(ck_crl_builder *b, uint8_t **der, size_t *len,
                             ck_errctx *err);

/* NULL is a no-op. */
void ck_crl_builder_free(ck_crl_builder *b);

#endif
