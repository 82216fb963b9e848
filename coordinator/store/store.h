/* store.h — the coordinator's inventory store: one interface, pluggable
 * backends (SQLite now, PostgreSQL later).
 *
 * Everything the coordinator persists goes through this header: issued and
 * discovered certificates, where they are installed, agents, owners,
 * versioned profiles, requests, revocations, enrollment and API tokens, CAs,
 * module-owned documents (ck_store_doc) and the hash-chained audit trail.
 * Callers never see SQL; a backend is a ck__store_backend vtable
 * (store_int.h) chosen by ck_store_open().
 *
 * Writes are built as a ck_store_write — an ordered list of operations that
 * commit atomically together (a state change and the audit event describing
 * it) — and submitted to one writer thread that GROUP-COMMITS: it takes all
 * queued writes (up to batch_max) and commits them in one transaction; a
 * write that fails is rolled back alone and reported, the others commit.
 * Completion is reported by callback: on the writer thread
 * (ck_store_submit), on a libuv loop (ck_store_submit_loop) or by blocking
 * (ck_store_submit_wait, for worker threads).
 *
 * Reads are synchronous, thread-safe, and run on a small pool of read
 * connections; they see every write whose completion has been reported.
 * Read results live in a caller-supplied arena (strings and arrays), freed
 * with it. Lists are paginated with opaque cursors and never load more than
 * one page (at most CK_STORE_PAGE_MAX rows).
 *
 * SHA-256 values (fingerprints, SPKI hashes, token hashes) travel as 64
 * lower-case hex digits; builders also accept upper case. See
 * docs/internals/store.md. */
#ifndef CK_COORD_STORE_H
#define CK_COORD_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/crypto/crypto.h"
#include "common/util/err.h"
#include "common/util/mem.h"
#include "coordinator/audit/audit.h"

/* The schema version this program writes (PRAGMA user_version). A database
 * with a higher version is refused with CK_ERR_STORE_SCHEMA. */
#define CK_STORE_SCHEMA_VERSION 5

/* Input limits, checked by the write builders (CK_ERR_LIMIT beyond). */
#define CK_STORE_NAME_MAX 256    /* ids, names, roles, actors, actions */
#define CK_STORE_TEXT_MAX 16384  /* subjects, paths, reasons, SAN patterns */
#define CK_STORE_SANS_MAX 65536  /* the SAN list of one certificate */
#define CK_STORE_BLOB_MAX 65536  /* one DER certificate or CSR */
#define CK_STORE_BODY_MAX 262144 /* a profile body, audit details */
#define CK_STORE_PAGE_MAX 1000   /* rows per list page */
#define CK_STORE_DOC_KIND_MAX 64  /* ck_store_doc.kind */
#define CK_STORE_DOC_STATE_MAX 64 /* ck_store_doc.state */
#define CK_STORE_PAGE_DEFAULT 100

typedef struct ck_store ck_store;
typedef struct ck_store_write ck_store_write;
typedef struct ck_store_loop ck_store_loop;

/* ---------------------------------------------------------------- opening */

typedef struct ck_store_opts {
  const char *path;          /* SQLite database file; created when missing */
  int sync_full;             /* 1: synchronous=FULL (fsync at each group
                                commit, survives power loss); 0 (default):
                                NORMAL, durable across process crashes */
  unsigned busy_timeout_ms;  /* wait for locks held by other processes;
                                0 = 5000 */
  unsigned batch_max;        /* writes per group commit; 0 = 4096 */
  unsigned queue_max;        /* queued writes before submit says CK_ERR_BUSY
                                (waiting submitters block); 0 = 65536 */
  unsigned readers;          /* read connections in the pool; 0 = 4 */
  unsigned writer_cache_kib; /* writer page cache; 0 = 16384 */
  unsigned reader_cache_kib; /* page cache per reader; 0 = 2048 */
  unsigned checkpoint_kib;   /* WAL size at which a background thread
                                copies it back into the database;
                                0 = 16384 */
} ck_store_opts;

/* Opens (creating if needed) the store described by opts, migrates its
 * schema forward in one transaction, and starts the writer thread. Returns
 * CK_ERR_STORE_SCHEMA for a database written by a newer program,
 * CK_ERR_STORE for a file that is not a certkeeper database or cannot be
 * opened, CK_ERR_INVAL for bad opts. On success *out is caller-owned
 * (ck_store_close). */
ck_err ck_store_open(const ck_store_opts *opts, ck_store **out, ck_errctx *err);

/* Stops accepting writes, commits everything already queued (their
 * callbacks run), stops the writer thread and closes every connection.
 * NULL is a no-op. Loop channels must be closed before (ck_store_loop_close)
 * or their pending callbacks are lost. */
void ck_store_close(ck_store *s);

/* Returns the backend name ("sqlite"), static. */
const char *ck_store_backend_name(const ck_store *s);

typedef struct ck_store_stats {
  uint64_t writes;    /* writes completed (committed or failed) */
  uint64_t failed;    /* of which failed */
  uint64_t batches;   /* group-commit transactions */
  uint64_t max_batch; /* largest batch so far */
  uint64_t queued;    /* writes waiting right now */
} ck_store_stats;

/* Copies the writer's counters into *out. */
void ck_store_get_stats(ck_store *s, ck_store_stats *out);

/* ---------------------------------------------------------------- records */

typedef enum ck_cert_status {
  CK_CERT_ACTIVE = 0,
  CK_CERT_REVOKED = 1,
  CK_CERT_EXPIRED = 2,
  CK_CERT_SUPERSEDED = 3,
} ck_cert_status;

typedef enum ck_cert_source {
  CK_CERT_SRC_ISSUED = 0,     /* signed by one of our CAs */
  CK_CERT_SRC_DISCOVERED = 1, /* reported by an agent */
} ck_cert_source;

/* Weakness flags (ck_store_cert.weak_flags). */
enum {
  CK_WEAK_RSA_SMALL = 1 << 0,   /* RSA (or DSA) key under 2048 bits */
  CK_WEAK_SHA1 = 1 << 1,        /* SHA-1 (or MD5/MD4/MD2) signature */
  CK_WEAK_EXPIRED = 1 << 2,     /* not_after in the past */
  CK_WEAK_SELF_SIGNED = 1 << 3, /* self-signed certificate that is not a CA */
  CK_WEAK_SHARED_KEY = 1 << 4,  /* same public key installed on >1 host;
                                   maintained by the store from installs */
};

/* A certificate, issued here or discovered. Strings are never NULL in read
 * results ("" when absent). */
typedef struct ck_store_cert {
  int64_t id;                          /* store id; set by reads */
  char fingerprint[CK_SHA256_HEX_LEN]; /* SHA-256 of the DER: the key */
  char spki_sha256[CK_SHA256_HEX_LEN]; /* SHA-256 of the public key (SPKI) */
  const char *serial_hex;              /* lower-case hex */
  const char *subject;                 /* RFC 4514 */
  const char *issuer;                  /* RFC 4514 */
  const char *sans;                    /* one "DNS:x" / "IP:y" per line */
  int64_t not_before;                  /* epoch seconds */
  int64_t not_after;                   /* epoch seconds */
  const char *key_type;                /* "RSA", "EC", "Ed25519", ... */
  unsigned key_bits;                   /* RSA modulus / EC field bits */
  const char *sig_alg;                 /* "ecdsa-with-SHA256", ... */
  int64_t ca_id;                       /* issuing CA (ck_store_ca.id),
                                          0 = not one of ours */
  const char *profile;                 /* profile name, "" none */
  const char *owner;                   /* owner name, "" none */
  ck_cert_status status;
  ck_cert_source source;
  int managed;         /* 1 when issued here (reconciled by fingerprint); set
                          by the store on put, changeable by cert_set */
  unsigned weak_flags; /* CK_WEAK_* */
  const char *weak_reason; /* "; "-joined reasons ("" none); reads append
                              the shared-key reason when that flag is set */
  const uint8_t *der;      /* DER; required on put; reads give it only when
                              asked (with_der), else NULL */
  size_t der_len;
  int64_t created_at; /* set by the store (ck_clock_now) */
  int64_t updated_at;
} ck_store_cert;

/* Where a certificate is installed or served. Unique per (agent, cert,
 * path, endpoint); putting it again refreshes service and last_seen. */
typedef struct ck_store_install {
  int64_t id;
  char cert_fp[CK_SHA256_HEX_LEN]; /* the certificate (must exist) */
  const char *agent_id;            /* host it was found on */
  const char *path;                /* file on the host, "" none */
  const char *service;             /* "nginx", "haproxy", "" unknown */
  const char *endpoint;            /* "10.0.0.5:443", "" none */
  int64_t first_seen;              /* set by the store */
  int64_t last_seen;               /* set by the store */
} ck_store_install;

typedef enum ck_agent_status {
  CK_AGENT_ACTIVE = 0,
  CK_AGENT_DISABLED = 1,
  CK_AGENT_REVOKED = 2,
} ck_agent_status;

typedef struct ck_store_agent {
  int64_t rowid;                       /* store id; set by reads */
  const char *id;                      /* agent id (from enrollment) */
  const char *name;                    /* host name */
  const char *group;                   /* enrollment group */
  char identity_fp[CK_SHA256_HEX_LEN]; /* identity certificate, "" none */
  ck_agent_status status;
  int64_t enrolled_at; /* 0 on put = now; kept when the agent exists */
  int64_t last_seen;
  const char *platform; /* "linux-x86_64", "" unknown */
  const char *version;  /* agent version */
  int64_t report_seq;   /* set by reads: highest report sequence committed
                           (ck_store_write_agent_report); ignored by put */
  const char *host;     /* set by reads: the host facts last reported, a
                           JSON object (docs/api.md), "" none; ignored by
                           put (ck_store_write_agent_host) */
  int64_t host_at;      /* set by reads: when host was recorded, 0 never */
} ck_store_agent;

/* An owner (person or team) with the contacts notices go to. */
typedef struct ck_store_owner {
  int64_t id;
  const char *name;    /* unique key */
  const char *email;   /* "" none */
  const char *webhook; /* URL, "" none */
  int64_t created_at;
  int64_t updated_at;
} ck_store_owner;

/* One version of a profile; every change is a new version row. */
typedef struct ck_store_profile {
  const char *name;
  int64_t version;   /* 1, 2, ...; assigned by the store on put */
  int64_t ca_id;     /* CA it issues from, 0 = default CA */
  const char *body;  /* the policy, JSON text (coordinator/policy parses) */
  int deleted;       /* 1: this version marks the profile deleted */
  const char *actor; /* who made this version */
  int64_t created_at;
} ck_store_profile;

typedef enum ck_request_state {
  CK_REQ_PENDING = 0,
  CK_REQ_ISSUED = 1,
  CK_REQ_REFUSED = 2,
} ck_request_state;

typedef struct ck_store_request {
  int64_t id;           /* assigned by the store */
  const char *agent_id; /* "" when not from an agent */
  const char *token_id; /* enrollment token id, "" none */
  const char *actor;    /* "agent:<id>", "token:<name>", ... */
  const char *profile;
  int64_t profile_version;
  const uint8_t *csr; /* DER; may be empty (reads give it) */
  size_t csr_len;
  ck_request_state state;
  const char *reason;              /* refusal / pending reason, "" none */
  char cert_fp[CK_SHA256_HEX_LEN]; /* issued certificate, "" none */
  int64_t created_at;
  int64_t updated_at;
} ck_store_request;

typedef struct ck_store_revocation {
  int64_t id;
  char cert_fp[CK_SHA256_HEX_LEN];
  const char *serial_hex; /* copied from the certificate */
  int64_t ca_id;          /* copied from the certificate */
  int reason;             /* RFC 5280 CRLReason code 0..10 (not 7) */
  int64_t revoked_at;     /* 0 on put = now */
  const char *actor;
} ck_store_revocation;

/* A replace-then-revoke plan as kept for restarts (revoke_plan.c owns the
 * JSON in doc; the store only keeps it). id is the plan's own id. */
#define CK_STORE_PLAN_DOC_MAX (4 * 1024 * 1024)
typedef struct ck_store_plan {
  int64_t id;
  char cert_fp[CK_SHA256_HEX_LEN]; /* lower-case hex */
  int state;                       /* ck_plan_state */
  const char *doc;
  int64_t updated_at;
} ck_store_plan;

/* A one-time enrollment token: only the SHA-256 of the token is stored. */
typedef struct ck_store_etoken {
  const char *id;               /* public id, for listing and audit */
  char hash[CK_SHA256_HEX_LEN]; /* SHA-256 of the secret token */
  const char *group;            /* group the agent joins */
  const char *profiles;         /* allowed profile names, one per line */
  const char *san_patterns;     /* allowed SAN patterns, one per line */
  const char *actor;            /* who created it */
  int64_t created_at;           /* 0 on put = now */
  int64_t expires_at;           /* required */
  int64_t used_at;              /* 0 = unused */
  const char *used_by;          /* agent id, "" unused */
} ck_store_etoken;

/* A REST API bearer token: only its SHA-256 is stored. */
typedef struct ck_store_apitoken {
  int64_t id;
  const char *name;             /* unique */
  char hash[CK_SHA256_HEX_LEN]; /* SHA-256 of the secret token */
  const char *role;             /* admin, operator, approver, auditor, owner */
  const char *owner;            /* for role owner: owner name, else "" */
  int64_t created_at;           /* 0 on put = now */
  int64_t expires_at;           /* 0 = never */
  int revoked;
} ck_store_apitoken;

typedef struct ck_store_ca {
  int64_t id;              /* assigned by the store */
  const char *name;        /* unique, used in URLs (/crl/<name>.crl) */
  const uint8_t *cert_der; /* the CA certificate */
  size_t cert_der_len;
  const char *key_path; /* private key file (or a PKCS#11 URI later); "" when
                           the key is not held here (an imported CA's parents) */
  int64_t parent_id;    /* issuing CA in this store, 0 = root/external */
  int is_default;       /* the CA profiles without ca_id use */
  int64_t next_crl_number;
  int64_t created_at;
} ck_store_ca;

/* A module-owned document: the durable state of rooms whose records are a
 * JSON document their module owns (EST fleets and one-time passwords, ACME
 * accounts/orders/authorizations, approval requests, scheduled actions,
 * notice deliveries, ...). The store keeps them in one table (migration 5)
 * and never parses doc.
 *   kind   the module's namespace, e.g. "est.fleet", "acme.order",
 *          "wf.request", "sched.notice": 1..64 bytes of [a-z0-9._-].
 *   id     unique within kind: 1..CK_STORE_NAME_MAX bytes, no NUL.
 *   key    one secondary lookup ("" none), <= CK_STORE_TEXT_MAX: an ACME
 *          account's key thumbprint, a request's requester, an owner.
 *   state  a short label the module filters on ("" none), <= 64 bytes.
 *   due_at when the module must next act on it (unix seconds, 0 none):
 *          what schedulers scan by.
 *   doc    JSON text (not checked), 1..CK_STORE_BODY_MAX bytes.
 *   version 1 after the first put, +1 at every put; reads give it.
 * Keep each document bounded: a growing list belongs in many documents,
 * not in one (e.g. one "acme.authz" per authorization, not an array in the
 * order). */
typedef struct ck_store_doc {
  const char *kind;
  const char *id;
  const char *key;
  const char *state;
  int64_t due_at;
  const char *doc;
  int64_t version;    /* reads */
  int64_t created_at; /* reads; set by the store at the first put */
  int64_t updated_at; /* reads; set by the store at every put */
} ck_store_doc;

/* Filter for ck_store_doc_list/_count: kind is required; state and key
 * NULL = any; due_before 0 = any, else only due_at != 0 && due_at <
 * due_before. */
typedef struct ck_doc_filter {
  const char *kind;
  const char *state;
  const char *key;
  int64_t due_before;
} ck_doc_filter;

/* Static names for enums ("active", "discovered", "pending", ...); "?" for
 * values out of range. The *_parse functions map them back and return
 * CK_ERR_PARSE for unknown text. */
const char *ck_cert_status_name(ck_cert_status st);
ck_err ck_cert_status_parse(const char *text, ck_cert_status *out);
const char *ck_cert_source_name(ck_cert_source src);
const char *ck_request_state_name(ck_request_state st);
const char *ck_agent_status_name(ck_agent_status st);

/* ------------------------------------------------ weakness and cert fields */

/* Evaluates the intrinsic weaknesses of a parsed certificate at time now:
 * RSA/DSA under 2048 bits, a SHA-1 (or MD5/MD4/MD2) signature, expiry,
 * self-signed leaf. Returns the CK_WEAK_* flags and writes the "; "-joined
 * reasons into reason (reasonlen bytes, "" when none; truncated to fit).
 * Shared keys need the whole inventory and are flagged by the store. */
unsigned ck_store_weak_eval(const ck_cert_info *ci, int64_t now, char *reason,
                            size_t reasonlen);

/* Fills *out from a parsed certificate: fingerprint, SPKI hash, serial,
 * names, SANs (formatted into a, one per line), validity, key, signature
 * algorithm, DER (borrowed from cert), weakness (at now) and status
 * (expired when not_after < now, else active). ca_id, profile, owner and
 * source are left for the caller (zero / "" / issued). Returns CK_ERR_NOMEM.
 * Strings point into cert or a: both must outlive *out. */
ck_err ck_store_cert_from(const ck_cert *cert, int64_t now, ck_arena *a,
                          ck_store_cert *out, ck_errctx *err);

/* ---------------------------------------------------------------- writes */

/* Creates an empty write (caller owns; ck_store_write_free). NULL on OOM. */
ck_store_write *ck_store_write_new(void);

/* Frees w and everything it copied. Never call it while w is submitted and
 * not yet completed. NULL is a no-op. */
void ck_store_write_free(ck_store_write *w);

/* Empties w so it can be reused (after completion). */
void ck_store_write_reset(ck_store_write *w);

/* Number of operations in w. */
size_t ck_store_write_count(const ck_store_write *w);

/* The builders below append one operation to w; its index is
 * ck_store_write_count(w) before the call (0, 1, 2, ... in call order).
 * Each validates its input and copies everything it needs (the record may be
 * freed right after). They return CK_OK, CK_ERR_INVAL (a required field
 * missing, an enum out of range, w already submitted: the message names the
 * field), CK_ERR_LIMIT (a field over its CK_STORE_*_MAX), CK_ERR_PARSE (a
 * hash that is not 64 hex digits) or CK_ERR_NOMEM; on failure w is
 * unchanged. After completion ck_store_write_result(w, index) gives the
 * value named per builder. */

/* Upserts a certificate by fingerprint and reconciles: a new certificate is
 * inserted (managed when issued); an issued one whose fingerprint was
 * discovered before adopts that row (source issued, managed, CA, profile,
 * owner); a discovered one already known changes nothing. Putting an
 * issued certificate twice fails with CK_ERR_EXIST. Result: the cert id. */
ck_err ck_store_write_cert_put(ck_store_write *w, const ck_store_cert *c,
                               ck_errctx *err);

/* Changes fields of an existing certificate (CK_ERR_NOT_FOUND if none):
 * owner when non-NULL ("" clears), profile when non-NULL, status when >= 0,
 * managed when >= 0. Result: the cert id. */
typedef struct ck_store_cert_patch {
  const char *owner;
  const char *profile;
  int status;  /* ck_cert_status or -1 */
  int managed; /* 0/1 or -1 */
} ck_store_cert_patch;
ck_err ck_store_write_cert_set(ck_store_write *w, const char *fingerprint,
                               const ck_store_cert_patch *p, ck_errctx *err);

/* Marks active certificates with not_after < now expired (status and weak
 * flag), at most limit of them (0 = 10000). Result: how many changed. */
ck_err ck_store_write_expire_sweep(ck_store_write *w, int64_t now,
                                   unsigned limit, ck_errctx *err);

/* Upserts an installation; the certificate must exist (CK_ERR_NOT_FOUND).
 * A new installation re-evaluates the shared-key flag of every certificate
 * with the same public key, once per key at the end of the write (a
 * refreshed one cannot change it). Result: the install id. */
ck_err ck_store_write_install_put(ck_store_write *w, const ck_store_install *in,
                                  ck_errctx *err);

/* Deletes the installation with in's (cert_fp, agent_id, path, endpoint);
 * none is not an error. Re-evaluates the shared-key flag (at the end of the
 * write, as for install_put). Result: rows deleted. */
ck_err ck_store_write_install_del(ck_store_write *w, const ck_store_install *in,
                                  ck_errctx *err);

/* Upserts an agent by id (enrolled_at kept on update). Result: rowid. */
ck_err ck_store_write_agent_put(ck_store_write *w, const ck_store_agent *a,
                                ck_errctx *err);

/* Records that agent id was seen at time `at` (0 = now) with platform and
 * version (NULL keeps them). CK_ERR_NOT_FOUND for an unknown agent. */
ck_err ck_store_write_agent_seen(ck_store_write *w, const char *id, int64_t at,
                                 const char *platform, const char *version,
                                 ck_errctx *err);

/* Advances agent id's report mark to seq, the sequence number of the
 * report (an agent's outbox entry) this write records: exactly-once
 * delivery of resent reports. Put it in the same write as what the report
 * changes, so both commit or neither. CK_ERR_EXIST when seq is not above
 * the mark (a duplicate: the whole write rolls back and the message says
 * "duplicate"), CK_ERR_NOT_FOUND for an unknown agent, CK_ERR_INVAL for
 * seq 0. Result: the previous mark. */
ck_err ck_store_write_agent_report(ck_store_write *w, const char *id,
                                   uint64_t seq, ck_errctx *err);

/* Records the host facts of agent id: host is a JSON object text (at most
 * CK_STORE_BODY_MAX bytes; the caller builds it), at the time `at` (0 =
 * now). CK_ERR_NOT_FOUND for an unknown agent. Result: rowid. */
ck_err ck_store_write_agent_host(ck_store_write *w, const char *id,
                                 const char *host, int64_t at,
                                 ck_errctx *err);

/* Upserts an owner by name. Result: owner id. */
ck_err ck_store_write_owner_put(ck_store_write *w, const ck_store_owner *o,
                                ck_errctx *err);

/* Deletes an owner by name (CK_ERR_NOT_FOUND if none); certificates keep
 * the name. Result: 1. */
ck_err ck_store_write_owner_del(ck_store_write *w, const char *name,
                                ck_errctx *err);

/* Stores a new version of profile p->name (p->version is ignored). When
 * expect_version >= 0 the current latest version must equal it (0: the
 * profile must not exist yet), else CK_ERR_CONFLICT. Result: the new
 * version. */
ck_err ck_store_write_profile_put(ck_store_write *w, const ck_store_profile *p,
                                  int64_t expect_version, ck_errctx *err);

/* Inserts a request. Result: the request id. */
ck_err ck_store_write_request_put(ck_store_write *w, const ck_store_request *r,
                                  ck_errctx *err);

/* Moves pending request id to state (issued/refused) with reason and the
 * issued fingerprint (may be NULL/""). CK_ERR_NOT_FOUND, or CK_ERR_CONFLICT
 * when the request is not pending. Result: the request id. */
ck_err ck_store_write_request_set(ck_store_write *w, int64_t id,
                                  ck_request_state state, const char *reason,
                                  const char *cert_fp, ck_errctx *err);

/* Revokes the certificate r->cert_fp: status revoked plus a revocation row
 * (serial and CA copied from the certificate). CK_ERR_NOT_FOUND, or
 * CK_ERR_CONFLICT when already revoked. Result: the revocation id. */
ck_err ck_store_write_revoke(ck_store_write *w, const ck_store_revocation *r,
                             ck_errctx *err);

/* Inserts an enrollment token (CK_ERR_EXIST for a duplicate id or hash).
 * Result: 1. */
ck_err ck_store_write_etoken_put(ck_store_write *w, const ck_store_etoken *t,
                                 ck_errctx *err);

/* Consumes the token with this hash for agent_id at time now: CK_ERR_NOT_FOUND
 * (unknown), CK_ERR_CONFLICT (already used), CK_ERR_EXPIRED. Result: 1. */
ck_err ck_store_write_etoken_use(ck_store_write *w, const char *hash,
                                 const char *agent_id, int64_t now,
                                 ck_errctx *err);

/* Inserts an API token (CK_ERR_EXIST for a duplicate name or hash).
 * Result: the token id. */
ck_err ck_store_write_apitoken_put(ck_store_write *w,
                                   const ck_store_apitoken *t, ck_errctx *err);

/* Revokes the API token called name (CK_ERR_NOT_FOUND). Result: its id. */
ck_err ck_store_write_apitoken_revoke(ck_store_write *w, const char *name,
                                      ck_errctx *err);

/* Inserts a CA (CK_ERR_EXIST for a duplicate name); is_default clears the
 * flag on the others. Result: the CA id. */
ck_err ck_store_write_ca_put(ck_store_write *w, const ck_store_ca *ca,
                             ck_errctx *err);

/* Takes the next CRL number of CA ca_id (CK_ERR_NOT_FOUND). Result: the
 * number to put in the CRL being built. */
/* Inserts or replaces plan p (by p->id >= 1). */
ck_err ck_store_write_plan_put(ck_store_write *w, const ck_store_plan *p,
                               ck_errctx *err);
ck_err ck_store_write_ca_crl_number(ck_store_write *w, int64_t ca_id,
                                    ck_errctx *err);

/* Puts document d (copied). expect_version < 0: insert or replace
 * unconditionally. expect_version == 0: only if no document (kind, id)
 * exists. expect_version > 0: only if the stored version equals it. When
 * the condition fails the whole write fails with CK_ERR_CONFLICT and
 * nothing of it commits: this is how modules get exactly-once (a one-time
 * password used once, a notice delivered once, an approval counted once).
 * Result: the document's new version. */
ck_err ck_store_write_doc_put(ck_store_write *w, const ck_store_doc *d,
                              int64_t expect_version, ck_errctx *err);
/* Deletes document (kind, id), with the same expect_version rule (< 0:
 * delete if present; 0 is invalid; > 0: only if the version matches, and
 * CK_ERR_CONFLICT if it does not or the document is absent). Result: 1
 * when a document was deleted, 0 when there was none. */
ck_err ck_store_write_doc_del(ck_store_write *w, const char *kind,
                              const char *id, int64_t expect_version,
                              ck_errctx *err);

/* Appends an audit event; seq, hashes (and time when 0) are assigned at
 * commit, chained after the previous event. actor and action are required.
 * Result: the event's seq. */
ck_err ck_store_write_audit(ck_store_write *w, const ck_audit_event *ev,
                            ck_errctx *err);

/* After completion: the result of operation idx (see each builder), 0 when
 * the write failed or idx is out of range. */
int64_t ck_store_write_result(const ck_store_write *w, size_t idx);

/* After completion: the write's outcome and, on failure, the message (which
 * names the failing operation) and its index (ck_store_write_failed_op). */
ck_err ck_store_write_status(const ck_store_write *w);
const char *ck_store_write_errmsg(const ck_store_write *w);
size_t ck_store_write_failed_op(const ck_store_write *w);

/* Called once per submitted write with its outcome. */
typedef void (*ck_store_done_fn)(ck_store_write *w, ck_err rc, void *arg);

/* Queues w for the writer. cb (may be NULL) runs ON THE WRITER THREAD after
 * the group commit: keep it short, do not block in it and do not call
 * ck_store_submit_wait from it. Returns CK_ERR_INVAL (empty write, or one
 * already submitted), CK_ERR_BUSY (queue full), CK_ERR_CLOSED (store
 * closing); then cb is not called and w is untouched. */
ck_err ck_store_submit(ck_store *s, ck_store_write *w, ck_store_done_fn cb,
                       void *arg);

/* Queues w and blocks until it completed (waiting for queue space first).
 * For worker threads, never the loop thread. Returns the write's outcome;
 * on failure err gets its message. */
ck_err ck_store_submit_wait(ck_store *s, ck_store_write *w, ck_errctx *err);

/* A completion channel onto a libuv loop: callbacks of writes submitted
 * through it run on that loop's thread (via uv_async). Created and closed on
 * the loop thread. */
ck_err ck_store_loop_open(ck_store *s, uv_loop_t *loop, ck_store_loop **out,
                          ck_errctx *err);

/* Like ck_store_submit, but cb runs on l's loop thread. */
ck_err ck_store_submit_loop(ck_store_loop *l, ck_store_write *w,
                            ck_store_done_fn cb, void *arg);

/* Closes the channel; it is freed in its close callback once the loop runs.
 * Returns CK_ERR_BUSY (and closes nothing) while writes submitted through it
 * have not had their callbacks yet. NULL is a no-op. */
ck_err ck_store_loop_close(ck_store_loop *l);

/* ---------------------------------------------------------------- reads */

/* Pagination for every list: limit 1..CK_STORE_PAGE_MAX (0 = default 100),
 * cursor NULL/"" for the first page, else the previous page's next_cursor.
 * next_cursor is NULL on the last page. A cursor that does not parse gives
 * CK_ERR_PARSE. */
typedef struct ck_store_page {
  unsigned limit;          /* in */
  const char *cursor;      /* in, borrowed */
  const char *next_cursor; /* out, in the arena */
} ck_store_page;

typedef enum ck_cert_query {
  CK_CERTQ_ALL = 0,   /* every certificate, by id */
  CK_CERTQ_EXPIRING,  /* ACTIVE ones with from <= not_after < until, soonest
                         first */
  CK_CERTQ_OWNER,     /* key = owner name */
  CK_CERTQ_AGENT,     /* key = agent id: installed on that host */
  CK_CERTQ_PROFILE,   /* key = profile name */
  CK_CERTQ_CA,        /* ca_id */
  CK_CERTQ_UNMANAGED, /* managed = 0 */
  CK_CERTQ_WEAK,      /* weak_flags != 0 */
  CK_CERTQ_SPKI,      /* key = SPKI SHA-256 hex: certificates sharing a key */
  CK_CERTQ_SERIAL,    /* key = serial hex (ca_id too when non-zero) */
  CK_CERTQ__MAX
} ck_cert_query;

typedef struct ck_cert_filter {
  ck_cert_query by;
  const char *key; /* see ck_cert_query */
  int64_t ca_id;   /* CK_CERTQ_CA, CK_CERTQ_SERIAL */
  int64_t from;    /* CK_CERTQ_EXPIRING */
  int64_t until;   /* CK_CERTQ_EXPIRING */
  int with_der;    /* include DER in results */
} ck_cert_filter;

/* Looks a certificate up by fingerprint (hex, any case). CK_ERR_NOT_FOUND
 * when absent, CK_ERR_PARSE for a malformed fingerprint. *out's strings
 * live in a. */
ck_err ck_store_cert_get(ck_store *s, const char *fingerprint, int with_der,
                         ck_arena *a, ck_store_cert *out, ck_errctx *err);

/* Lists one page of certificates matching f. *items (in a) has *n rows.
 * CK_ERR_INVAL for a filter missing its key or with an unknown kind. */
ck_err ck_store_cert_list(ck_store *s, const ck_cert_filter *f,
                          ck_store_page *pg, ck_arena *a, ck_store_cert **items,
                          size_t *n, ck_errctx *err);

/* Where a certificate is installed (key cert_fp), or what is installed on
 * an agent (agent_id; set exactly one of the two). */
ck_err ck_store_install_list(ck_store *s, const char *cert_fp,
                             const char *agent_id, ck_store_page *pg,
                             ck_arena *a, ck_store_install **items, size_t *n,
                             ck_errctx *err);

ck_err ck_store_agent_get(ck_store *s, const char *id, ck_arena *a,
                          ck_store_agent *out, ck_errctx *err);
/* The agent whose identity certificate has this fingerprint. */
ck_err ck_store_agent_by_identity(ck_store *s, const char *fingerprint,
                                  ck_arena *a, ck_store_agent *out,
                                  ck_errctx *err);
ck_err ck_store_agent_list(ck_store *s, ck_store_page *pg, ck_arena *a,
                           ck_store_agent **items, size_t *n, ck_errctx *err);

ck_err ck_store_owner_get(ck_store *s, const char *name, ck_arena *a,
                          ck_store_owner *out, ck_errctx *err);
ck_err ck_store_owner_list(ck_store *s, ck_store_page *pg, ck_arena *a,
                           ck_store_owner **items, size_t *n, ck_errctx *err);

/* Version `version` of profile name, or the latest when version is 0
 * (a latest version marked deleted is returned as such). */
ck_err ck_store_profile_get(ck_store *s, const char *name, int64_t version,
                            ck_arena *a, ck_store_profile *out, ck_errctx *err);
/* The latest version of every profile not deleted, by name. */
ck_err ck_store_profile_list(ck_store *s, ck_store_page *pg, ck_arena *a,
                             ck_store_profile **items, size_t *n,
                             ck_errctx *err);
/* Every version of profile name, oldest first. */
ck_err ck_store_profile_history(ck_store *s, const char *name,
                                ck_store_page *pg, ck_arena *a,
                                ck_store_profile **items, size_t *n,
                                ck_errctx *err);

ck_err ck_store_request_get(ck_store *s, int64_t id, ck_arena *a,
                            ck_store_request *out, ck_errctx *err);
/* Requests in state (or every request when state < 0), by id. */
ck_err ck_store_request_list(ck_store *s, int state, ck_store_page *pg,
                             ck_arena *a, ck_store_request **items, size_t *n,
                             ck_errctx *err);

/* The revocation of a certificate, CK_ERR_NOT_FOUND when not revoked. */
ck_err ck_store_revocation_get(ck_store *s, const char *cert_fp, ck_arena *a,
                               ck_store_revocation *out, ck_errctx *err);
/* Revocations of CA ca_id (0 = all), by id: what a CRL lists. The cursor
 * is the decimal id of the last revocation seen, so a reader may start
 * after a known id (delta CRLs: coordinator/validation/). */
ck_err ck_store_revocation_list(ck_store *s, int64_t ca_id, ck_store_page *pg,
                                ck_arena *a, ck_store_revocation **items,
                                size_t *n, ck_errctx *err);

/* Stored revocation plans in state (every plan when state < 0), by id;
 * the cursor is the last id seen. */
ck_err ck_store_plan_list(ck_store *s, int state, ck_store_page *pg,
                          ck_arena *a, ck_store_plan **items, size_t *n,
                          ck_errctx *err);

/* Document (kind, id); CK_ERR_NOT_FOUND when absent. */
ck_err ck_store_doc_get(ck_store *s, const char *kind, const char *id,
                        ck_arena *a, ck_store_doc *out, ck_errctx *err);
/* Documents matching f: ordered by (due_at, id) when f->due_before != 0
 * (soonest first: what a scheduler wants), else by id. Paginated. */
ck_err ck_store_doc_list(ck_store *s, const ck_doc_filter *f,
                         ck_store_page *pg, ck_arena *a, ck_store_doc **items,
                         size_t *n, ck_errctx *err);
/* How many documents match f. */
ck_err ck_store_doc_count(ck_store *s, const ck_doc_filter *f, int64_t *n,
                          ck_errctx *err);

/* The enrollment token with this hash (used or not). */
ck_err ck_store_etoken_get(ck_store *s, const char *hash, ck_arena *a,
                           ck_store_etoken *out, ck_errctx *err);
ck_err ck_store_etoken_list(ck_store *s, ck_store_page *pg, ck_arena *a,
                            ck_store_etoken **items, size_t *n, ck_errctx *err);
/* The enrollment token agent_id enrolled with (used_by = agent_id; the
 * newest one should there be several). CK_ERR_NOT_FOUND when none. */
ck_err ck_store_etoken_by_agent(ck_store *s, const char *agent_id, ck_arena *a,
                                ck_store_etoken *out, ck_errctx *err);

/* The API token with this hash (revoked/expired ones too: callers check). */
ck_err ck_store_apitoken_get(ck_store *s, const char *hash, ck_arena *a,
                             ck_store_apitoken *out, ck_errctx *err);
ck_err ck_store_apitoken_list(ck_store *s, ck_store_page *pg, ck_arena *a,
                              ck_store_apitoken **items, size_t *n,
                              ck_errctx *err);

/* CAs: by id, by name (id 0 and name NULL: the default CA), all of them. */
ck_err ck_store_ca_get(ck_store *s, int64_t id, const char *name, ck_arena *a,
                       ck_store_ca *out, ck_errctx *err);
ck_err ck_store_ca_list(ck_store *s, ck_store_page *pg, ck_arena *a,
                        ck_store_ca **items, size_t *n, ck_errctx *err);

/* Audit events with seq > after_seq, ascending (at most pg->limit; the page
 * cursor is ignored: pass the last seq seen). */
ck_err ck_store_audit_list(ck_store *s, int64_t after_seq, ck_store_page *pg,
                           ck_arena *a, ck_audit_event **items, size_t *n,
                           ck_errctx *err);

/* The chain head recorded with the last commit: seq (0 when empty) and
 * hash. Kept in a separate table (meta) so truncating the audit table shows
 * up in ck_audit_verify. */
ck_err ck_store_audit_head(ck_store *s, int64_t *seq,
                           uint8_t hash[CK_SHA256_LEN], ck_errctx *err);

#endif
