/* issue.h — the one issuance path: CSR in, policy check, sign, store,
 * audit, certificate out. REST, the agent gateway (and later EST and ACME)
 * all call ck_issue_run, so policy applies the same way whatever the
 * protocol.
 *
 * ck_issue_run blocks (signing, and waiting for the store's group commit):
 * call it from the thread pool, never the loop. A refusal writes nothing
 * but a security-log event. */
#ifndef CK_COORD_WORKFLOW_ISSUE_H
#define CK_COORD_WORKFLOW_ISSUE_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto/crypto.h"
#include "coordinator/core/coord_rt.h"

/* Who asks. */
typedef enum ck_who_kind {
  CK_WHO_TOKEN = 0, /* a REST API token (role, owner) */
  CK_WHO_AGENT,     /* an enrolled agent (group, binding) */
} ck_who_kind;

typedef struct ck_issue_who {
  ck_who_kind kind;
  const char *actor;        /* "token:admin", "agent:<id>": audit and logs */
  const char *role;         /* CK_WHO_TOKEN: admin, operator, owner, ... */
  const char *owner;        /* role owner: the owner it acts for; else NULL */
  const char *agent_id;     /* CK_WHO_AGENT */
  const char *group;        /* CK_WHO_AGENT: enrollment group */
  const char *san_patterns; /* CK_WHO_AGENT: binding SAN patterns, one per
                               line; NULL/"" = only the profile's rules */
  const char *profiles;     /* CK_WHO_AGENT: profiles the binding allows, one
                               per line; NULL/"" = any the profile allows */
} ck_issue_who;

typedef struct ck_issue_in {
  const uint8_t *csr; /* PEM or DER */
  size_t csr_len;
  const char *profile;  /* profile name (required) */
  int64_t validity;     /* seconds; 0 = the profile's default */
  const char *owner;    /* owner recorded on the certificate; NULL = none
                           (role owner: its own owner) */
  ck_issue_who who;
  ck_arena *record_arena; /* optional: when set, an issued certificate's
                             store record is copied into out->record, its
                             strings in this arena (saves reading it back) */
  /* Routing and the admin-mediated workflow (policy/routing.h,
   * workflow/request.h). All optional; zero = the defaults. */
  const char *strength;      /* identity strength name ("human", "acme-eab",
                                "est-idevid"); NULL: agent-mtls for agents,
                                api-token for tokens */
  const char *justification; /* why the certificate is needed */
  int always_record;         /* 1: keep a wf.request even when issued at
                                once (`request submit`) */
  const char *fulfil;        /* request.c only: the approved request being
                                fulfilled (routing is skipped) */
  int64_t fulfil_row;        /* request.c only: its pending row in the
                                requests table, moved to issued (0: a new
                                row is written) */
  /* Optional: called with the issuance write just before it is submitted,
   * only when this call issues a certificate (not when it goes pending,
   * nor when a pending request's approved certificate is handed back);
   * what it adds commits with the certificate, or nothing does. Users:
   * request.c (the approved request's update) and EST (est/enroll.c: the
   * device record, the one-time password's consumption with
   * expect_version, the est.enroll audit event). An error aborts the
   * issuance; a put whose expect_version no longer holds makes
   * ck_issue_run return CK_ERR_CONFLICT with nothing committed. When set,
   * always_record's wf.request is not written. */
  ck_err (*on_issue)(ck_store_write *w, const ck_store_cert *sc,
                     const char *ca_chain_pem, void *arg, ck_errctx *err);
  void *on_issue_arg;
} ck_issue_in;

typedef enum ck_issue_outcome {
  CK_ISSUE_ISSUED = 0,
  CK_ISSUE_PENDING, /* the profile's workflow needs approval */
} ck_issue_outcome;

typedef struct ck_issue_out {
  ck_issue_outcome outcome;
  char fingerprint[CK_SHA256_HEX_LEN]; /* issued certificate */
  char serial_hex[48];
  int64_t not_before, not_after;
  int64_t request_id;   /* the stored request (pending or issued) */
  char *leaf_pem;       /* malloc'ed; NULL when pending */
  char *chain_pem;      /* leaf + issuing CA chain, malloc'ed */
  uint8_t *leaf_der;    /* malloc'ed */
  size_t leaf_der_len;
  char reason[512];     /* why pending; when issued: the routing reason */
  char wf_id[48];       /* the wf.request id (pending, or recorded), "" */
  ck_store_cert record; /* ISSUED with in->record_arena: the row as
                           committed (id, fields, active, managed); der
                           NULL (leaf_der has it); else zeroed */
} ck_issue_out;

/* Runs one issuance. Returns CK_OK with out filled (ISSUED or PENDING), or:
 * CK_ERR_BAD_CSR (not a CSR, malformed, or its signature does not verify),
 * CK_ERR_NOT_FOUND (no such profile), CK_ERR_DENIED (refused by policy; the
 * message names the rule and the value), CK_ERR_CONFIG (the profile's CA is
 * missing), or a store error. err carries the human message. */
ck_err ck_issue_run(ck_coord_rt *rt, const ck_issue_in *in, ck_issue_out *out,
                    ck_errctx *err);

/* Frees what ck_issue_run allocated in out. */
void ck_issue_out_clear(ck_issue_out *out);

#endif
