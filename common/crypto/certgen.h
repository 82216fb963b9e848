/* certgen.h — issuing X.509 v3 certificates: the signing primitive of the
 * coordinator's built-in CA.
 *
 * The caller describes the certificate in a ck_certgen_tmpl (subject, the
 * SANs it has approved, public key, serial, validity, CA flags, key usage,
 * EKU, AIA/CDP URLs) and signs it with an issuer. A ck_certgen_issuer is
 * prepared once from the issuing CA's certificate and private key (checks,
 * issuer Name, key identifier, signature algorithm and the backend signer
 * are cached) and then used for every certificate, from any number of
 * threads at once: issuing touches no shared mutable state.
 * ck_certgen_issue() returns a parsed ck_cert, ck_certgen_issue_der() just
 * the bytes (much faster with OpenSSL 3.0, see there); ck_certgen_sign() is
 * the one-shot form for rare uses (creating a CA at `init`).
 *
 * What is written (RFC 5280): version 3; signature SHA-256 (RSA PKCS#1
 * v1.5, ECDSA P-256), SHA-384 (ECDSA P-384), SHA-512 (ECDSA P-521) or pure
 * Ed25519, chosen by the issuer key; UTCTime up to 2049, GeneralizedTime
 * after. Extensions, in this order:
 *   basicConstraints   always, critical (cA FALSE for end entities)
 *   keyUsage           when key_usage != 0, critical
 *   extKeyUsage        when n_eku > 0
 *   subjectKeyIdentifier  RFC 7093 section 2 method 1: the leftmost 160 bits
 *                      of the SHA-256 of the subjectPublicKey BIT STRING
 *                      value (not SHA-1)
 *   authorityKeyIdentifier  keyIdentifier = the issuer's SKI as found in
 *                      its certificate (computed as above when it has none;
 *                      self-signed: its own SKI)
 *   subjectAltName     when n_sans > 0; critical when the subject is empty
 *   authorityInfoAccess  OCSP and caIssuers URIs, when given
 *   cRLDistributionPoints  one distribution point with the URIs as its
 *                      fullName (alternative locations of one CRL)
 *   freshestCRL        the same for the delta CRL, when given
 *   id-pkix-ocsp-nocheck  when ocsp_nocheck (delegated OCSP responders)
 *
 * The library checks structure, not policy: it refuses what can never make
 * a valid certificate (see ck_certgen_issue) but takes the SANs, lifetime
 * and key the caller approved. It does not check the CSR's signature (call
 * ck_csr_verify first), key strength, or whether the validity fits inside
 * the issuer's (clamping not_after is the caller's policy).
 *
 * Backends: OpenSSL 3 all of the above; mbedTLS 2.28 the same except
 * Ed25519 (CK_ERR_UNSUPPORTED, as everywhere in that build) — thread-safe
 * there too, but signatures of one issuer are serialised by a mutex. */
#ifndef CK_CRYPTO_CERTGEN_H
#define CK_CRYPTO_CERTGEN_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto/crypto.h"
#include "common/util/err.h"

#define CK_CERTGEN_SERIAL_LEN 16 /* bytes made by ck_certgen_random_serial */
#define CK_CERTGEN_SERIAL_MAX 20 /* RFC 5280 4.1.2.2: at most 20 octets */
#define CK_CERTGEN_MAX_URLS 16   /* per URL list (OCSP, caIssuers, CRL) */
#define CK_CERTGEN_MAX_URL_LEN 2048

/* What to put in a certificate. Zero-initialise it and set what you need;
 * every pointer is borrowed for the duration of the call only. */
typedef struct ck_certgen_tmpl {
  /* Subject: attributes in DER order (usually C, O, OU, CN), or — with
   * subject_from_csr — the csr's subject Name copied byte for byte. May be
   * empty when there are SANs (the SAN extension is then critical). */
  const ck_name_attr *subject;
  size_t n_subject;
  int subject_from_csr; /* 1: take the subject from csr (n_subject == 0) */

  /* Public key: at most one of csr, pubkey, spki. None is allowed only for
   * a self-signed certificate, which then certifies the issuer key. */
  const ck_csr *csr;    /* the request's key (verify it before!) */
  const ck_key *pubkey; /* the public half of a key we hold */
  const uint8_t *spki;  /* a DER SubjectPublicKeyInfo */
  size_t spki_len;

  /* subjectAltName entries, written in this order: DNS, IP, URI, email
   * (CK_SAN_OTHER is refused). Pass the SANs you approved, e.g. a checked
   * copy of ck_csr_get_info(csr)->sans. */
  const ck_san *sans;
  size_t n_sans;

  /* Serial number: the content octets of a DER INTEGER, i.e. big-endian,
   * positive (first byte < 0x80), minimal (no leading 0x00 unless the next
   * byte is >= 0x80), not zero, 1..20 bytes. ck_certgen_random_serial()
   * makes one. */
  const uint8_t *serial;
  size_t serial_len;

  int64_t not_before; /* epoch seconds UTC; backdating is the caller's */
  int64_t not_after;  /* must be > not_before; years 1950..9999 */

  int is_ca;    /* basicConstraints cA */
  int path_len; /* pathLenConstraint when is_ca; -1 = none. Beware: 0 (the
                   zero-initialised value) means "end entities only" */

  unsigned key_usage; /* CK_KU_* bits from crypto.h; 0 = no extension. A CA
                         needs CK_KU_KEY_CERT_SIGN, and only a CA may have it */

  /* extKeyUsage purposes, by name ("serverAuth", "clientAuth",
   * "codeSigning", "emailProtection", "timeStamping", "OCSPSigning",
   * "anyExtendedKeyUsage") or dotted OID ("1.3.6.1.5.5.7.3.1"). */
  const char *const *eku;
  size_t n_eku;

  /* authorityInfoAccess and cRLDistributionPoints URLs (printable ASCII
   * with a scheme, e.g. "http://ocsp.example.com"). */
  const char *const *ocsp_urls;
  size_t n_ocsp_urls;
  const char *const *ca_issuers_urls;
  size_t n_ca_issuers_urls;
  const char *const *crl_urls;
  size_t n_crl_urls;

  int ocsp_nocheck; /* add id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1); needs
                       the OCSPSigning EKU */

  /* freshestCRL (RFC 5280 4.2.1.15): where the delta CRL is, same rules as
   * crl_urls. */
  const char *const *freshest_crl_urls;
  size_t n_freshest_crl_urls;
} ck_certgen_tmpl;

/* A prepared issuer; opaque, immutable once made, shareable across threads. */
typedef struct ck_certgen_issuer ck_certgen_issuer;

/* Prepares an issuer from the CA certificate cert and its private key.
 * cert NULL means self-signed: each certificate issued names itself as
 * issuer and is signed by key, which must then be its public key too.
 * Both are borrowed: they must outlive the issuer and stay unchanged.
 * Returns CK_ERR_KEY_MISMATCH when key is not cert's key, CK_ERR_INVAL when
 * cert is not a CA (basicConstraints cA unset, or keyUsage without
 * keyCertSign), CK_ERR_UNSUPPORTED for a key type this build cannot sign
 * with (Ed25519 on mbedTLS, RSA-PSS, DSA, unusual curves). On success *out
 * is caller-owned (ck_certgen_issuer_free). */
ck_err ck_certgen_issuer_new(const ck_cert *cert, const ck_key *key,
                             ck_certgen_issuer **out, ck_errctx *err);

/* Frees iss (not the borrowed certificate and key). NULL is a no-op. */
void ck_certgen_issuer_free(ck_certgen_issuer *iss);

/* Returns the signature algorithm iss writes ("ecdsa-with-SHA256",
 * "ecdsa-with-SHA384", "sha256WithRSAEncryption", "ED25519", ...; static). */
const char *ck_certgen_issuer_sig_alg(const ck_certgen_issuer *iss);

/* Builds and signs the certificate t describes. Safe to call from several
 * threads at once with the same iss. Refuses, with a message naming the
 * field:
 *   CK_ERR_RANGE  serial empty, zero, negative, non-minimal or over 20
 *                 bytes; a time outside 1950..9999; path_len over 127;
 *   CK_ERR_INVAL  not_after <= not_before; empty subject and no SAN; both
 *                 subject attributes and subject_from_csr; two public keys;
 *                 no public key (unless self-signed); a bad attribute, SAN,
 *                 EKU or URL; keyCertSign without is_ca or is_ca without
 *                 keyCertSign; a CA certificate under an issuer whose
 *                 pathLenConstraint is 0; path_len < -1; ocsp_nocheck
 *                 without the OCSPSigning EKU;
 *   CK_ERR_KEY_MISMATCH  a self-signed certificate for another key;
 *   CK_ERR_BAD_KEY  spki is not a SubjectPublicKeyInfo;
 *   CK_ERR_LIMIT  too many SANs (1024), EKUs (64) or URLs (16 per list).
 * On success *out is the parsed certificate, caller-owned (ck_cert_free);
 * ck_cert_der() gives its bytes.
 *
 * Cost: parsing the result back creates the backend's certificate object;
 * with OpenSSL 3.0 decoding the subject public key inside d2i_X509 takes
 * ~200 us and shared locks, about seven P-256 signatures. Hot paths that
 * only store and send the certificate use ck_certgen_issue_der. */
ck_err ck_certgen_issue(const ck_certgen_issuer *iss, const ck_certgen_tmpl *t,
                        ck_cert **out, ck_errctx *err);

/* Like ck_certgen_issue (same checks, same errors, identical encoding) but
 * returns only the DER bytes: *out is malloc'ed, caller frees with free(),
 * *out_len its length. Not parsed back: the encoder is the one whose output
 * ck_certgen_issue checks. The fast path, ~ one signature per call. */
ck_err ck_certgen_issue_der(const ck_certgen_issuer *iss,
                            const ck_certgen_tmpl *t, uint8_t **out,
                            size_t *out_len, ck_errctx *err);

/* One-shot: ck_certgen_issuer_new(issuer_cert, issuer_key) +
 * ck_certgen_issue(t) + free. issuer_cert NULL = self-signed. Same errors
 * as both; *out caller-owned. */
ck_err ck_certgen_sign(const ck_certgen_tmpl *t, const ck_cert *issuer_cert,
                       const ck_key *issuer_key, ck_cert **out, ck_errctx *err);

/* Fills out with a fresh random serial from ck_random(): 16 bytes whose
 * first byte is 0x40..0x7f (top bit clear: positive; next bit set: never
 * zero and always exactly 16 octets in DER), i.e. 126 random bits. Returns
 * the error of ck_random (CK_OK normally). */
ck_err ck_certgen_random_serial(uint8_t out[CK_CERTGEN_SERIAL_LEN]);

#endif
