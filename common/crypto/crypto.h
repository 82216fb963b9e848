/* crypto.h — certkeeper's one crypto API, with two backends.
 *
 * Everything certkeeper does with keys, CSRs and certificates goes through
 * this header; nothing outside common/crypto/ includes OpenSSL or mbedTLS
 * headers. The types here are either opaque handles (ck_key, ck_cert,
 * ck_csr) or plain C structs, so agent and coordinator code is the same for
 * the OpenSSL 3 build (-DCK_CRYPTO=openssl, servers) and the mbedTLS 2.28
 * build (-DCK_CRYPTO=mbedtls, constrained devices).
 *
 * Division of labour (see docs/internals/crypto.md):
 *   - backend-neutral: PEM/DER detection and decoding, X.509/PKCS#10 field
 *     extraction (so both builds print names, SANs, times identically), CSR
 *     encoding, DN/SAN formatting;
 *   - backend: key generation/parsing/signing, signature checks, chain
 *     verification, SHA-256, PKCS#12.
 * What a backend cannot do is reported as CK_ERR_UNSUPPORTED, and
 * ck_crypto_has() says so up front (mbedTLS 2.28: no Ed25519, no PKCS#12).
 *
 * Conventions: fallible functions return ck_err and fill the ck_errctx (which
 * may be NULL) with a human message; out-parameters are written only on
 * success. "Caller owns" results are freed with the named *_free function,
 * every *_free(NULL) is a no-op. All functions are thread-safe on distinct
 * objects; parsed objects are immutable and may be shared read-only. */
#ifndef CK_CRYPTO_CRYPTO_H
#define CK_CRYPTO_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/err.h"

#define CK_SHA256_LEN 32
#define CK_SHA256_HEX_LEN 65 /* 64 lower-case hex digits + NUL */

/* ---------------------------------------------------------------- backend */

typedef enum ck_crypto_cap {
  CK_CAP_ED25519 = 1, /* Ed25519 keys, CSRs, certificate signatures */
  CK_CAP_PKCS12 = 2,  /* reading PKCS#12 (detection works everywhere) */
} ck_crypto_cap;

/* Returns 1 when this build's backend can do cap, 0 otherwise. */
int ck_crypto_has(ck_crypto_cap cap);

/* Returns "openssl" or "mbedtls" (static string). */
const char *ck_crypto_backend(void);

/* Returns the backend's version text, e.g. "OpenSSL 3.0.19 27 Jan 2026" or
 * "mbed TLS 2.28.3" (static string). */
const char *ck_crypto_backend_version(void);

/* ----------------------------------------------------------------- hashes */

/* Computes SHA-256 of len bytes at data into out. Returns CK_OK, or
 * CK_ERR_CRYPTO if the backend fails (it should not). */
ck_err ck_crypto_sha256(const void *data, size_t len,
                        uint8_t out[CK_SHA256_LEN]);

/* SHA-1, for interoperability only: OCSP CertIDs (RFC 6960, which clients
 * such as `openssl ocsp` still send with SHA-1). Never for signatures or
 * fingerprints. Same returns as ck_crypto_sha256. */
#define CK_SHA1_LEN 20
ck_err ck_crypto_sha1(const void *data, size_t len, uint8_t out[CK_SHA1_LEN]);

/* Formats n bytes as hex into out (outlen bytes incl. NUL). colons=0 gives
 * lower-case "ab01..."; colons=1 gives upper-case "AB:01:..." as printed by
 * `openssl x509 -fingerprint`. Returns CK_ERR_RANGE (and writes "") when out
 * is too small: 2n+1 bytes without colons, 3n with. */
ck_err ck_crypto_hex(const uint8_t *in, size_t n, int colons, char *out,
                     size_t outlen);

/* Parses a SHA-256 fingerprint given as 64 hex digits, optionally separated
 * by ':' (any case), as used for pinning. Returns CK_ERR_PARSE otherwise. */
ck_err ck_crypto_fingerprint_parse(const char *text,
                                   uint8_t out[CK_SHA256_LEN]);

/* ------------------------------------------------------ PEM and detection */

/* One PEM block, as returned by ck_pem_next(). */
typedef struct ck_pem_block {
  char label[64]; /* text after "BEGIN ", e.g. "CERTIFICATE" */
  uint8_t *der;   /* decoded body, caller owns (ck_pem_block_clear) */
  size_t der_len; /* bytes at der */
  int encrypted;  /* "Proc-Type: 4,ENCRYPTED" header seen */
  size_t offset;  /* where "-----BEGIN" starts in the input */
} ck_pem_block;

/* Finds the next PEM block in data[*pos..len) and decodes it. Text outside
 * blocks (comments, "Bag Attributes", junk) is skipped; CRLF and trailing
 * spaces are accepted. On success fills *blk (caller clears it with
 * ck_pem_block_clear) and advances *pos past the END line. Returns
 * CK_ERR_NOENT when no further "-----BEGIN " exists, CK_ERR_BAD_PEM when a
 * block is malformed (bad base64, missing or mismatched END line, label too
 * long) — *pos is then moved past the bad BEGIN so iteration can go on,
 * and blk->label holds the label when it could be read (der is NULL). */
ck_err ck_pem_next(const uint8_t *data, size_t len, size_t *pos,
                   ck_pem_block *blk, ck_errctx *err);

/* Wipes and frees blk->der and zeroes blk. NULL is a no-op. */
void ck_pem_block_clear(ck_pem_block *blk);

/* Encodes der as PEM with the given label and 64-column lines ending in
 * "\n". On success *out is a malloc'ed NUL-terminated string (caller frees;
 * wipe it first if it holds a key: ck_crypto_free_secret) and *out_len its
 * length. */
ck_err ck_pem_encode(const char *label, const uint8_t *der, size_t der_len,
                     char **out, size_t *out_len);

/* Returns 1 when data looks like PEM (contains "-----BEGIN "), else 0. */
int ck_pem_looks_like(const uint8_t *data, size_t len);

/* Wipes len bytes at p and frees p. NULL is a no-op. For buffers that held
 * private keys (ck_key_export_pem) or passwords. */
void ck_crypto_free_secret(void *p, size_t len);

/* What a file holds, as found by ck_crypto_detect(). */
typedef enum ck_content_kind {
  CK_CONTENT_UNKNOWN = 0,  /* none of the below */
  CK_CONTENT_CERT,         /* one or more certificates, no key */
  CK_CONTENT_CERT_AND_KEY, /* certificates and a private key (combined PEM) */
  CK_CONTENT_KEY,          /* a private key (possibly encrypted) */
  CK_CONTENT_CSR,          /* a PKCS#10 certificate request */
  CK_CONTENT_PKCS12,       /* a PKCS#12 / PFX file (always DER) */
  CK_CONTENT_PUBKEY,       /* a bare SubjectPublicKeyInfo */
  CK_CONTENT_CRL,          /* a certificate revocation list */
} ck_content_kind;

typedef enum ck_encoding {
  CK_ENC_NONE = 0, /* neither PEM nor recognisable DER */
  CK_ENC_PEM,
  CK_ENC_DER,
} ck_encoding;

typedef struct ck_content {
  ck_content_kind kind;      /* summary, see above */
  ck_encoding encoding;      /* PEM or DER */
  unsigned n_certs;          /* certificate blocks (PEM) or 1 (DER) */
  unsigned n_keys;           /* private keys, encrypted ones included */
  unsigned n_encrypted_keys; /* of which encrypted (PKCS#8 or Proc-Type) */
  unsigned n_csrs;
  unsigned n_other; /* PEM blocks of other or malformed kinds */
} ck_content;

/* Classifies arbitrary bytes without fully parsing them: PEM blocks are
 * counted by label; DER is recognised by its ASN.1 shape (certificate, CSR,
 * CRL, PKCS#8 / encrypted PKCS#8 / traditional RSA or EC key, SPKI,
 * PKCS#12). Never fails; garbage gives CK_CONTENT_UNKNOWN. Use the parsers
 * below to read what was found. */
void ck_crypto_detect(const uint8_t *data, size_t len, ck_content *out);

/* Returns a static name for kind ("certificate", "PKCS#12", ...). */
const char *ck_content_kind_name(ck_content_kind kind);

/* ------------------------------------------------------------------- keys */

typedef enum ck_key_type {
  CK_KEY_UNKNOWN = 0,
  CK_KEY_RSA,
  CK_KEY_EC,
  CK_KEY_ED25519,
  CK_KEY_ED448,   /* recognised in certificates, not generated */
  CK_KEY_RSA_PSS, /* recognised in certificates, not generated */
  CK_KEY_DSA,     /* recognised in certificates, not generated */
} ck_key_type;

/* What to generate. */
typedef struct ck_key_spec {
  ck_key_type type; /* CK_KEY_RSA, CK_KEY_EC or CK_KEY_ED25519 */
  unsigned bits;    /* RSA: 2048..4096, multiple of 8; EC: 256 or 384 (the
                       curve P-256 or P-384); Ed25519: ignored */
} ck_key_spec;

/* Describes a public key (from a private key, certificate or CSR). */
typedef struct ck_key_info {
  ck_key_type type;
  unsigned bits;  /* RSA modulus bits; EC field bits (256, 384, 521);
                     Ed25519 256; Ed448 456; 0 if unknown */
  char curve[24]; /* "P-256", "P-384", "P-521", "secp256k1",
                     "brainpoolP256r1", ... or "" when not EC */
  char desc[64];  /* "RSA 2048", "EC P-256", "Ed25519", "unknown 1.2.3" */
} ck_key_info;

typedef struct ck_key ck_key; /* a private key; opaque */

/* Parses "ec-p256", "ec-p384", "rsa-2048" (any multiple of 8 in
 * 2048..4096), "ed25519" (case-insensitive) into *out. Returns
 * CK_ERR_PARSE for anything else. Does not check backend support. */
ck_err ck_key_spec_parse(const char *text, ck_key_spec *out, ck_errctx *err);

/* Generates a new private key. On success *out is caller-owned
 * (ck_key_free). Returns CK_ERR_INVAL for a bad spec (RSA size out of
 * range, unknown curve), CK_ERR_UNSUPPORTED for Ed25519 on mbedTLS,
 * CK_ERR_CRYPTO if the backend fails. RSA 4096 takes seconds: run it off
 * the event loop. */
ck_err ck_key_generate(const ck_key_spec *spec, ck_key **out, ck_errctx *err);

/* Reads the first private key in data: PEM ("PRIVATE KEY" = PKCS#8, "RSA
 * PRIVATE KEY", "EC PRIVATE KEY"; other blocks such as certificates in a
 * combined file are skipped) or DER (PKCS#8 or traditional). Encrypted keys
 * ("ENCRYPTED PRIVATE KEY", "Proc-Type: 4,ENCRYPTED", encrypted PKCS#8 DER)
 * are not decrypted: CK_ERR_KEY_ENCRYPTED. Other failures: CK_ERR_BAD_PEM,
 * CK_ERR_BAD_KEY, CK_ERR_UNSUPPORTED (e.g. Ed25519 on mbedTLS). On success
 * *out is caller-owned. Decoded key bytes are wiped before returning. */
ck_err ck_key_parse(const uint8_t *data, size_t len, ck_key **out,
                    ck_errctx *err);

typedef enum ck_key_pem_format {
  CK_KEY_PEM_PKCS8 = 0,   /* "BEGIN PRIVATE KEY" (default, all key types) */
  CK_KEY_PEM_TRADITIONAL, /* "BEGIN RSA/EC PRIVATE KEY"; not for Ed25519 */
} ck_key_pem_format;

/* Exports the private key as unencrypted PEM. On success *out is a malloc'ed
 * NUL-terminated string of *out_len bytes; the caller must release it with
 * ck_crypto_free_secret(*out, *out_len). Returns CK_ERR_UNSUPPORTED for the
 * traditional format of an Ed25519 key. */
ck_err ck_key_export_pem(const ck_key *key, ck_key_pem_format fmt, char **out,
                         size_t *out_len, ck_errctx *err);

/* Fills *out with the key's type, size and description. */
void ck_key_get_info(const ck_key *key, ck_key_info *out);

/* Returns the DER SubjectPublicKeyInfo of key: *out is malloc'ed (caller
 * frees with free()), *out_len its length. */
ck_err ck_key_spki_der(const ck_key *key, uint8_t **out, size_t *out_len,
                       ck_errctx *err);

/* Computes SHA-256 of the key's DER SubjectPublicKeyInfo (the value pinned
 * and compared across certificates and CSRs). */
ck_err ck_key_spki_sha256(const ck_key *key, uint8_t out[CK_SHA256_LEN],
                          ck_errctx *err);

/* Cheap path for discovery (keypeek.c, the same in both backends): the
 * SHA-256 of the SubjectPublicKeyInfo of the private key in data (PEM or
 * DER; PKCS#8, PKCS#1 RSA, SEC1 EC), rebuilt from the public part the key
 * encoding carries, without loading the key (~100x cheaper than
 * ck_key_parse with OpenSSL 3). Gives the same hash as ck_key_spki_sha256
 * would, plus the key type and bits. The private part is not looked at, so
 * this does not prove the key is valid or consistent. CK_ERR_UNSUPPORTED
 * when the public key would have to be derived (EC without its public point
 * or with a compressed one, Ed25519/Ed448 without the v2 public key, other
 * algorithms, explicit EC parameters): use ck_key_parse then.
 * CK_ERR_KEY_ENCRYPTED, CK_ERR_BAD_KEY / CK_ERR_BAD_PEM for malformed
 * input, CK_ERR_LIMIT over 16 MiB. */
ck_err ck_key_peek_spki_sha256(const uint8_t *data, size_t len,
                               ck_key_type *type, unsigned *bits,
                               uint8_t out[CK_SHA256_LEN], ck_errctx *err);

/* Frees key and wipes its material. NULL is a no-op. */
void ck_key_free(ck_key *key);

/* ------------------------------------------------------------ names, SANs */

typedef enum ck_san_type {
  CK_SAN_DNS = 1, /* dNSName, e.g. "www.example.com" or "*.example.com" */
  CK_SAN_IP,      /* iPAddress as text, "192.0.2.1" or "2001:db8::1" */
  CK_SAN_URI,     /* uniformResourceIdentifier */
  CK_SAN_EMAIL,   /* rfc822Name */
  CK_SAN_OTHER,   /* parsed only: otherName, directoryName, registeredID...
                     value is "otherName:<oid>", "dirName:<DN>", ... */
} ck_san_type;

/* One subjectAltName entry. In parsed certificates and CSRs, values are
 * printable: bytes outside printable ASCII (including NUL) appear as
 * "\xHH", so they never compare equal to a clean name. */
typedef struct ck_san {
  ck_san_type type;
  const char *value;
} ck_san;

/* Returns "DNS", "IP", "URI", "email" or "other" (static). */
const char *ck_san_type_name(ck_san_type type);

/* One subject attribute for CSR creation. */
typedef struct ck_name_attr {
  const char *type;  /* "CN", "O", "OU", "C", "L", "ST", "street", "DC",
                        "UID", "emailAddress", "serialNumber", "SN", "GN",
                        "title", "postalCode" (case-insensitive) */
  const char *value; /* UTF-8; "C" must be two letters */
} ck_name_attr;

/* ------------------------------------------------------------ certificates */

enum {
  /* ck_cert_info.key_usage bits (RFC 5280 KeyUsage) */
  CK_KU_DIGITAL_SIGNATURE = 1 << 0,
  CK_KU_NON_REPUDIATION = 1 << 1,
  CK_KU_KEY_ENCIPHERMENT = 1 << 2,
  CK_KU_DATA_ENCIPHERMENT = 1 << 3,
  CK_KU_KEY_AGREEMENT = 1 << 4,
  CK_KU_KEY_CERT_SIGN = 1 << 5,
  CK_KU_CRL_SIGN = 1 << 6,
  CK_KU_ENCIPHER_ONLY = 1 << 7,
  CK_KU_DECIPHER_ONLY = 1 << 8,
};

/* The fields of a certificate, as plain data. All strings are NUL-terminated
 * UTF-8 owned by the ck_cert they came from; absent values are "" (strings),
 * 0/NULL (lists) or as noted. */
typedef struct ck_cert_info {
  int version;            /* 1, 2 or 3 */
  const char *serial_hex; /* lower-case hex of the serial's bytes without
                             leading zero bytes, as openssl -serial: "01" */
  const char *subject; /* RFC 4514: "CN=www.example.com,O=Example\, Inc.,C=DE"
                          (most specific RDN first) */
  const char *issuer;  /* same format */
  const char *subject_cn; /* first commonName value, "" if none */
  int64_t not_before;     /* epoch seconds, UTC */
  int64_t not_after;      /* epoch seconds, UTC */
  ck_key_info key;        /* subject public key */
  const char *sig_alg;    /* "sha256WithRSAEncryption", "ecdsa-with-SHA256",
                             "ED25519", ... or the dotted OID */
  uint8_t sha256[CK_SHA256_LEN]; /* fingerprint: SHA-256 of the DER */
  char sha256_hex[CK_SHA256_HEX_LEN];
  uint8_t spki_sha256[CK_SHA256_LEN]; /* SHA-256 of the DER SPKI */
  const char *ski_hex;                /* subjectKeyIdentifier, lower-case hex */
  const char *aki_hex;                /* authorityKeyIdentifier keyIdentifier */
  const ck_san *sans; /* subjectAltName entries in certificate order */
  size_t n_sans;
  const char *const *eku; /* extKeyUsage: "serverAuth", "clientAuth",
                             "codeSigning", "emailProtection",
                             "timeStamping", "OCSPSigning",
                             "anyExtendedKeyUsage" or dotted OIDs */
  size_t n_eku;
  int has_basic_constraints;
  int is_ca;    /* basicConstraints cA */
  int path_len; /* pathLenConstraint, -1 when absent */
  int has_key_usage;
  unsigned key_usage; /* CK_KU_* bits */
  int self_signed;    /* issuer == subject and the signature verifies with
                         the certificate's own key (where the backend
                         cannot check the signature: names equal and
                         AKI absent or equal to SKI) */
} ck_cert_info;

typedef struct ck_cert ck_cert; /* a parsed certificate; opaque, immutable */

/* Parses one certificate: DER, or the first CERTIFICATE block of PEM input.
 * Returns CK_ERR_BAD_PEM (PEM without a valid certificate block),
 * CK_ERR_BAD_DER (not DER at all), CK_ERR_BAD_CERT (DER but not a
 * certificate the parser accepts). On success *out is caller-owned. */
ck_err ck_cert_parse(const uint8_t *data, size_t len, ck_cert **out,
                     ck_errctx *err);

/* Parses one DER certificate into its fields only, without the backend's
 * object: ck_cert_get_info, ck_cert_der and ck_cert_spki work, but the
 * result cannot be verified or chained (ck_cert_verify says
 * CK_ERR_UNSUPPORTED, and lists skip it, as for key types a backend cannot
 * read), and self_signed is decided by the names and key identifiers
 * without checking the signature. Meant for certificates this process has
 * just signed and only stores or sends (ck_certgen_issue_der): OpenSSL
 * 3.0's own parse costs ~200 us and shared locks. Same errors as
 * ck_cert_parse for DER; *out caller-owned. */
ck_err ck_cert_parse_fields(const uint8_t *der, size_t len, ck_cert **out,
                            ck_errctx *err);

/* Frees cert. NULL is a no-op. */
void ck_cert_free(ck_cert *cert);

/* Returns the parsed fields (borrowed, valid until ck_cert_free). */
const ck_cert_info *ck_cert_get_info(const ck_cert *cert);

/* Returns the DER encoding (borrowed) and stores its length in *len. */
const uint8_t *ck_cert_der(const ck_cert *cert, size_t *len);

/* Returns the DER SubjectPublicKeyInfo inside the certificate (borrowed). */
const uint8_t *ck_cert_spki(const ck_cert *cert, size_t *len);

/* Returns an independent copy of cert (caller owns), or NULL on OOM. */
ck_cert *ck_cert_dup(const ck_cert *cert);

/* A growable list of certificates, e.g. a chain or trust bundle. Declare as
 * `ck_cert_list l = {0};` and release with ck_cert_list_clear(). */
typedef struct ck_cert_list {
  ck_cert **certs; /* owned by the list */
  size_t n;
  size_t cap;
} ck_cert_list;

/* Appends every certificate in data to list: all CERTIFICATE blocks of a PEM
 * bundle (other blocks — keys, junk — skipped; CRLF accepted) or one DER
 * certificate. Returns CK_ERR_BAD_PEM when the PEM holds no certificate or a
 * certificate block does not decode, CK_ERR_BAD_CERT when one does not
 * parse (the message names its position); on failure list is unchanged. */
ck_err ck_cert_list_parse(ck_cert_list *list, const uint8_t *data, size_t len,
                          ck_errctx *err);

/* Appends cert to list, which takes ownership (also on failure: cert is
 * freed then). Returns CK_ERR_NOMEM. */
ck_err ck_cert_list_add(ck_cert_list *list, ck_cert *cert);

/* Frees all certificates and the array; list can be reused. */
void ck_cert_list_clear(ck_cert_list *list);

/* Returns CK_OK when key is the private key for cert's public key,
 * CK_ERR_KEY_MISMATCH otherwise (CK_ERR_UNSUPPORTED if the backend cannot
 * read the certificate's key type). */
ck_err ck_key_match_cert(const ck_key *key, const ck_cert *cert,
                         ck_errctx *err);

/* -------------------------------------------------------- verification */

/* Verifies that leaf chains to a certificate in trusted, using untrusted
 * (may be NULL or contain the leaf itself) for intermediates, at time `at`
 * (epoch seconds; 0 means ck_clock_now()). Every certificate in trusted is a
 * trust anchor, including intermediates. Checks signatures, validity
 * periods, CA basic constraints and key usage; not revocation, names or EKU.
 * Returns CK_OK, or CK_ERR_EXPIRED, CK_ERR_NOT_YET_VALID, CK_ERR_UNTRUSTED
 * (no path to an anchor), CK_ERR_BAD_SIGNATURE, CK_ERR_VERIFY (anything
 * else); the message names the failing certificate's subject and depth. */
ck_err ck_cert_verify(const ck_cert *leaf, const ck_cert_list *untrusted,
                      const ck_cert_list *trusted, int64_t at, ck_errctx *err);

/* ------------------------------------------------------------------- CSRs */

/* What to put in a CSR. */
typedef struct ck_csr_req {
  const ck_name_attr *subject; /* RDNs in DER order (usually C, O, OU, CN) */
  size_t n_subject;            /* may be 0 (empty subject, SANs only) */
  const ck_san *sans;          /* DNS, IP, URI, email; not CK_SAN_OTHER */
  size_t n_sans;
} ck_csr_req;

/* Fields of a CSR; strings owned by the ck_csr. */
typedef struct ck_csr_info {
  const char *subject;    /* RFC 4514 as in ck_cert_info */
  const char *subject_cn; /* "" if none */
  ck_key_info key;
  const char *sig_alg;
  uint8_t spki_sha256[CK_SHA256_LEN];
  const ck_san *sans; /* from the extensionRequest attribute */
  size_t n_sans;
} ck_csr_info;

typedef struct ck_csr ck_csr; /* a parsed CSR; opaque, immutable */

/* Builds a PKCS#10 request for key's public key with req's subject and a
 * subjectAltName extension (when n_sans > 0), signed with SHA-256 (Ed25519:
 * pure). Returns CK_ERR_INVAL for a bad attribute type, value or SAN (the
 * message names which). On success *out is the parsed result, caller-owned:
 * ck_csr_der() gives the bytes, ck_pem_encode("CERTIFICATE REQUEST", ...)
 * the PEM. */
ck_err ck_csr_create(const ck_key *key, const ck_csr_req *req, ck_csr **out,
                     ck_errctx *err);

/* Parses a CSR (DER, or the first CERTIFICATE REQUEST block of PEM). Does
 * NOT check the signature: call ck_csr_verify before trusting it. Returns
 * CK_ERR_BAD_PEM, CK_ERR_BAD_DER or CK_ERR_BAD_CSR; *out caller-owned. */
ck_err ck_csr_parse(const uint8_t *data, size_t len, ck_csr **out,
                    ck_errctx *err);

/* Checks the CSR's signature with its own public key (proof of possession).
 * Returns CK_OK or CK_ERR_BAD_SIGNATURE (CK_ERR_UNSUPPORTED when the backend
 * cannot handle the key type). */
ck_err ck_csr_verify(const ck_csr *csr, ck_errctx *err);

const ck_csr_info *ck_csr_get_info(const ck_csr *csr);
const uint8_t *ck_csr_der(const ck_csr *csr, size_t *len);
/* The DER SubjectPublicKeyInfo inside the CSR (borrowed). */
const uint8_t *ck_csr_spki(const ck_csr *csr, size_t *len);
void ck_csr_free(ck_csr *csr);

/* Returns CK_OK when key is the private key for the CSR's public key,
 * CK_ERR_KEY_MISMATCH otherwise. */
ck_err ck_key_match_csr(const ck_key *key, const ck_csr *csr, ck_errctx *err);

/* ---------------------------------------------------------------- PKCS#12 */

/* Reads a DER PKCS#12 file with password (NULL or "" both mean "no
 * password" and try the empty and the absent password). On success, *key
 * (may be NULL when the file holds none), *cert (the certificate matching
 * the key, or the first one; may be NULL) and the remaining certificates
 * appended to chain (may be NULL to discard) are caller-owned. Returns
 * CK_ERR_BAD_PKCS12 (not PKCS#12), CK_ERR_BAD_PASSWORD, CK_ERR_UNSUPPORTED
 * (the mbedTLS build: detection still reports CK_CONTENT_PKCS12, or an
 * algorithm OpenSSL cannot load). */
ck_err ck_pkcs12_read(const uint8_t *data, size_t len, const char *password,
                      ck_key **key, ck_cert **cert, ck_cert_list *chain,
                      ck_errctx *err);

#endif
