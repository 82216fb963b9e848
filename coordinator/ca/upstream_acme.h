/* upstream_acme.h — the upstream ACME connector: a profile whose
 * "upstream" names an external RFC 8555 CA (pebble, Let's Encrypt, a
 * corporate ACME CA) is fulfilled by that CA instead of the local one.
 *
 * ck_upstream_acme_issue runs one order end to end: account (registered
 * once, with External Account Binding when configured, its URL cached in
 * the store as document kind "ca.upstream"), newOrder for the names policy
 * approved, http-01 answered by a responder on the configured address (or
 * dns-01 through the configured hook), finalize with the requester's CSR
 * (the private key never leaves where it was made), and the certificate
 * chain as the CA returns it. The result is checked: the leaf must carry
 * the CSR's public key.
 *
 * It blocks for up to the profile's upstream timeout (network round trips,
 * polling with Retry-After): call it from the thread pool, as the issuance
 * path (workflow/issue.c) does. Nothing is recorded here except the account
 * document; the caller stores and audits the certificate like any other.
 * docs/acme.md "Upstream ACME CAs" is the operator's page. */
#ifndef CK_COORD_CA_UPSTREAM_ACME_H
#define CK_COORD_CA_UPSTREAM_ACME_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto/crypto.h"
#include "coordinator/policy/profile.h"
#include "coordinator/store/store.h"

typedef struct ck_upstream_acme_req {
  const ck_profile_upstream *cfg; /* the profile's upstream (borrowed) */
  const char *profile;            /* profile name, for messages and logs */
  const char *data_dir;           /* relative paths in cfg resolve here */
  ck_store *store;                /* account URL cache; NULL: none (tests) */
  const char *actor;              /* who asked, for the account's audit */
  const uint8_t *csr_der;         /* the verified CSR */
  size_t csr_der_len;
  const ck_san *names;            /* identifiers to order: DNS and IP */
  size_t n_names;
} ck_upstream_acme_req;

typedef struct ck_upstream_acme_out {
  ck_cert *leaf;       /* the issued certificate, parsed; caller owns */
  char *chain_pem;     /* leaf then its issuers as the CA returned them,
                          NUL-terminated, malloc'ed */
  size_t chain_pem_len;
  size_t leaf_pem_len; /* chain_pem + leaf_pem_len: the issuers only */
  char order_url[512]; /* the order at the CA, for the audit trail */
} ck_upstream_acme_out;

/* Obtains a certificate for req from the upstream CA. Returns CK_OK with
 * out filled (release with ck_upstream_acme_out_clear), or
 * CK_ERR_UPSTREAM with a message naming the step and the CA's problem
 * ("upstream ACME CA https://...: newOrder: HTTP 400 rejectedIdentifier:
 * ..."), also for transport failures and the profile's upstream timeout;
 * or CK_ERR_CONFIG (unusable account key, EAB key file, http-01 address,
 * an identifier type ACME cannot order). */
ck_err ck_upstream_acme_issue(const ck_upstream_acme_req *req,
                              ck_upstream_acme_out *out, ck_errctx *err);

/* Frees what out holds and zeroes it. NULL is a no-op. */
void ck_upstream_acme_out_clear(ck_upstream_acme_out *out);

#endif
