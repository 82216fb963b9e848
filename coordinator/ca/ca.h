/* ca.h — the coordinator's certificate authorities: creating them at init,
 * loading them (certificate + private key + prepared signer) at run, and
 * issuing end-entity certificates.
 *
 * Several CAs coexist; profiles choose among them by name and one is the
 * default. A CA's private key lives in a file of the data directory (mode
 * 0600; PKCS#11 later); the store holds its certificate and the key's path
 * relative to the data directory. Issuing is thread-safe: the thread pool
 * signs with a ck_certgen_issuer prepared once per CA. */
#ifndef CK_COORD_CA_CA_H
#define CK_COORD_CA_CA_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto/certgen.h"
#include "common/crypto/crypto.h"
#include "coordinator/store/store.h"

typedef struct ck_ca {
  int64_t id;               /* store id */
  char name[64];            /* "issuing", "root", ... (used in URLs) */
  int is_default;
  int64_t parent_id;        /* 0 for a root or an imported CA */
  ck_cert *cert;
  ck_key *key;              /* NULL when only the certificate is known */
  ck_certgen_issuer *iss;   /* NULL without key */
  char *pem;                /* the certificate, PEM */
  size_t pem_len;
  char *chain_pem;          /* this CA then its parents up to the root */
  size_t chain_pem_len;
  size_t bundle_pem_len;    /* prefix of chain_pem without a self-signed
                               root: what servers send after their leaf */
} ck_ca;

typedef struct ck_ca_set ck_ca_set;

/* Loads every CA of the store, reading keys relative to data_dir. */
ck_err ck_ca_set_load(ck_store *s, const char *data_dir, ck_ca_set **out,
                      ck_errctx *err);
void ck_ca_set_free(ck_ca_set *set);
const ck_ca *ck_ca_set_default(const ck_ca_set *set);
/* By name; NULL or "" gives the default. NULL when unknown. */
const ck_ca *ck_ca_set_find(const ck_ca_set *set, const char *name);
const ck_ca *ck_ca_set_by_id(const ck_ca_set *set, int64_t id);
size_t ck_ca_set_count(const ck_ca_set *set);
const ck_ca *ck_ca_set_at(const ck_ca_set *set, size_t i);

/* What to issue. URLs are derived from base_url ("http://host:port"):
 * OCSP base/ocsp, caIssuers base/ca/<ca>.crt, CRL base/crl/<ca>.crl,
 * freshest (delta) CRL base/crl/<ca>-delta.crl. */
typedef struct ck_ca_issue_req {
  const ck_csr *csr;        /* verified by the caller */
  const ck_name_attr *subject; /* subject attributes (may be empty) ... */
  size_t n_subject;
  int subject_from_csr;     /* ... or 1: the CSR's subject as is */
  const ck_san *sans;       /* approved SANs */
  size_t n_sans;
  int64_t not_before;
  int64_t not_after;
  unsigned key_usage;       /* CK_KU_* */
  const char *const *eku;
  size_t n_eku;
  const char *base_url;
  int crl_shards;           /* > 1: the CDP and freshest CRL name the
                               serial's shard, base/crl/<ca>-s<k>.crl and
                               base/crl/<ca>-s<k>-delta.crl, k =
                               ck_crl_shard_of(serial) (crl.h); not for a
                               self-signed CA (the validation service
                               shards only intermediates) */
} ck_ca_issue_req;

/* Issues an end-entity certificate from ca with a fresh random serial. */
ck_err ck_ca_issue(const ck_ca *ca, const ck_ca_issue_req *r, ck_cert **out,
                   ck_errctx *err);

/* Same certificate, same errors, but *out holds only the parsed fields
 * (ck_cert_parse_fields: DER, info, SPKI; no backend object, so it cannot
 * be verified or used for TLS). The issuance hot path, which only stores
 * and sends the certificate: about one signature per call instead of the
 * ~200 us OpenSSL 3.0 spends parsing a certificate back. */
ck_err ck_ca_issue_fields(const ck_ca *ca, const ck_ca_issue_req *r,
                          ck_cert **out, ck_errctx *err);

/* Creates a CA key and certificate for init: a self-signed root when
 * parent is NULL, else an intermediate signed by parent (cert+key).
 * key_spec e.g. "ec-p384"; cn/org name it; lifetime in seconds. Writes
 * DIR/ca/<name>.key (0600) and DIR/ca/<name>.crt (0644) and returns the
 * certificate and key (caller-owned). */
ck_err ck_ca_create(const char *data_dir, const char *name,
                    const char *key_spec, const char *cn, const char *org,
                    int64_t lifetime, const ck_cert *parent_cert,
                    const ck_key *parent_key, ck_cert **cert_out,
                    ck_key **key_out, ck_errctx *err);

/* Writes a PEM file atomically (helper shared by init). */
ck_err ck_ca_write_pem(const char *path, const char *label, const uint8_t *der,
                       size_t len, ck_errctx *err);

#endif
