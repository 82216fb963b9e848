/* sqlite_schema.c — the SQLite schema as an ordered list of forward
 * migrations. migrations[i] takes a database from user_version i to i+1;
 * all pending ones run in ONE transaction at open, so a crash or a failing
 * step leaves the previous version intact. Never edit a released migration:
 * append a new one and bump CK_STORE_SCHEMA_VERSION.
 *
 * Index choices (every listed query is a range scan that stops at the page
 * limit; see docs/internals/store.md):
 *   certs_expiring  partial on active certificates, ordered by not_after
 *   certs_owner/profile/ca  (column, rowid): equality + id cursor
 *   certs_unmanaged/weak    partial indexes on id: only the flagged rows
 *   certs_spki      shared-key search; certs_serial  lookup by serial
 *   installs unique (agent_id, cert_id, path, endpoint): "on this host"
 *   installs_cert   "where is this certificate"
 *   enroll_tokens_used_by  partial: the token an agent enrolled with
 * Every index on a random key (fingerprint, SPKI, serial) costs about one
 * dirty page per insert at commit; an audit (object_type, object_id) index
 * cost the most of all (64-character keys) and no query needs it yet: add
 * it with a migration together with the API that filters on it. */
#include "coordinator/store/sqlite_int.h"

#include <string.h>

/* 'CKst': marks the file as a certkeeper store (PRAGMA application_id). */
#define CK_SQ_APPLICATION_ID 0x434b7374

static const char *const migrations[] = {
    /* 1: the initial schema */
    "CREATE TABLE cas ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " cert_der BLOB NOT NULL,"
    " key_path TEXT NOT NULL,"
    " parent_id INTEGER REFERENCES cas(id),"
    " is_default INTEGER NOT NULL DEFAULT 0,"
    " next_crl_number INTEGER NOT NULL DEFAULT 1,"
    " created_at INTEGER NOT NULL);"

    "CREATE TABLE owners ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " email TEXT NOT NULL DEFAULT '',"
    " webhook TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"

    "CREATE TABLE agents ("
    " id INTEGER PRIMARY KEY,"
    " agent_id TEXT NOT NULL UNIQUE,"
    " name TEXT NOT NULL DEFAULT '',"
    " grp TEXT NOT NULL DEFAULT '',"
    " identity_fp BLOB,"
    " status INTEGER NOT NULL DEFAULT 0,"
    " enrolled_at INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL DEFAULT 0,"
    " platform TEXT NOT NULL DEFAULT '',"
    " version TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX agents_identity ON agents(identity_fp)"
    " WHERE identity_fp IS NOT NULL;"

    "CREATE TABLE certs ("
    " id INTEGER PRIMARY KEY,"
    " fingerprint BLOB NOT NULL UNIQUE,"
    " serial TEXT NOT NULL,"
    " subject TEXT NOT NULL,"
    " issuer TEXT NOT NULL,"
    " sans TEXT NOT NULL,"
    " not_before INTEGER NOT NULL,"
    " not_after INTEGER NOT NULL,"
    " key_type TEXT NOT NULL,"
    " key_bits INTEGER NOT NULL,"
    " spki BLOB NOT NULL,"
    " sig_alg TEXT NOT NULL,"
    " ca_id INTEGER,"
    " profile TEXT,"
    " owner TEXT,"
    " status INTEGER NOT NULL,"
    " source INTEGER NOT NULL,"
    " managed INTEGER NOT NULL,"
    " weak_flags INTEGER NOT NULL,"
    " weak_reason TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    /* the DER apart, so list scans never page through certificate bytes */
    "CREATE TABLE cert_der ("
    " cert_id INTEGER PRIMARY KEY REFERENCES certs(id),"
    " der BLOB NOT NULL);"
    "CREATE INDEX certs_serial ON certs(serial);"
    "CREATE INDEX certs_expiring ON certs(not_after) WHERE status = 0;"
    "CREATE INDEX certs_owner ON certs(owner) WHERE owner IS NOT NULL;"
    "CREATE INDEX certs_profile ON certs(profile) WHERE profile IS NOT NULL;"
    "CREATE INDEX certs_ca ON certs(ca_id) WHERE ca_id IS NOT NULL;"
    "CREATE INDEX certs_spki ON certs(spki);"
    "CREATE INDEX certs_unmanaged ON certs(id) WHERE managed = 0;"
    "CREATE INDEX certs_weak ON certs(id) WHERE weak_flags != 0;"

    "CREATE TABLE installs ("
    " id INTEGER PRIMARY KEY,"
    " cert_id INTEGER NOT NULL REFERENCES certs(id),"
    " agent_id TEXT NOT NULL,"
    " path TEXT NOT NULL,"
    " service TEXT NOT NULL,"
    " endpoint TEXT NOT NULL,"
    " first_seen INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL,"
    " UNIQUE (agent_id, cert_id, path, endpoint));"
    "CREATE INDEX installs_cert ON installs(cert_id);"

    "CREATE TABLE profiles ("
    " name TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " ca_id INTEGER NOT NULL DEFAULT 0,"
    " body TEXT NOT NULL,"
    " deleted INTEGER NOT NULL DEFAULT 0,"
    " actor TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " PRIMARY KEY (name, version)) WITHOUT ROWID;"

    "CREATE TABLE requests ("
    " id INTEGER PRIMARY KEY,"
    " agent_id TEXT NOT NULL,"
    " token_id TEXT NOT NULL,"
    " actor TEXT NOT NULL,"
    " profile TEXT NOT NULL,"
    " profile_version INTEGER NOT NULL,"
    " csr BLOB,"
    " state INTEGER NOT NULL,"
    " reason TEXT NOT NULL,"
    " cert_fp BLOB,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE INDEX requests_state ON requests(state);"

    "CREATE TABLE revocations ("
    " id INTEGER PRIMARY KEY,"
    " cert_id INTEGER NOT NULL UNIQUE REFERENCES certs(id),"
    " serial TEXT NOT NULL,"
    " ca_id INTEGER NOT NULL,"
    " reason INTEGER NOT NULL,"
    " revoked_at INTEGER NOT NULL,"
    " actor TEXT NOT NULL);"
    "CREATE INDEX revocations_ca ON revocations(ca_id);"

    "CREATE TABLE enroll_tokens ("
    " id INTEGER PRIMARY KEY,"
    " token_id TEXT NOT NULL UNIQUE,"
    " hash BLOB NOT NULL UNIQUE,"
    " grp TEXT NOT NULL,"
    " profiles TEXT NOT NULL,"
    " san_patterns TEXT NOT NULL,"
    " actor TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " used_at INTEGER NOT NULL DEFAULT 0,"
    " used_by TEXT NOT NULL DEFAULT '');"

    "CREATE TABLE api_tokens ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " hash BLOB NOT NULL UNIQUE,"
    " role TEXT NOT NULL,"
    " owner TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " revoked INTEGER NOT NULL DEFAULT 0);"

    /* the audit trail: append-only (triggers), hash-chained (audit.h) */
    "CREATE TABLE audit ("
    " seq INTEGER PRIMARY KEY,"
    " time INTEGER NOT NULL,"
    " actor TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " object_type TEXT NOT NULL,"
    " object_id TEXT NOT NULL,"
    " details TEXT NOT NULL,"
    " prev_hash BLOB NOT NULL,"
    " hash BLOB NOT NULL);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;"
    /* the chain head at the last commit, checked by ck_audit_verify */
    "CREATE TABLE audit_head ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " seq INTEGER NOT NULL,"
    " hash BLOB NOT NULL);",

    /* 2: exactly-once agent reports and the binding lookup by agent.
     * report_seq is the highest outbox sequence number (the wire id of an
     * `event`) committed for the agent; enroll_tokens_used_by serves
     * ck_store_etoken_by_agent (the gateway's binding, once per session). */
    "ALTER TABLE agents ADD COLUMN report_seq INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX enroll_tokens_used_by ON enroll_tokens(used_by)"
    " WHERE used_by != '';",

    /* 3: host facts an agent reports after enrollment (inventory `host`):
     * a JSON object (docs/api.md "Agents") and when it was recorded. */
    ("ALTER TABLE agents ADD COLUMN host TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE agents ADD COLUMN host_at INTEGER NOT NULL DEFAULT 0;"),

    /* 4: replace-then-revoke plans (coordinator/workflow/revoke_plan.h),
     * so a restart resumes the waiting ones: one row per plan, rewritten at
     * each transition; doc is the plan (holders included) as JSON, owned
     * by revoke_plan.c. */
    "CREATE TABLE revoke_plans ("
    " id INTEGER PRIMARY KEY,"
    " cert_fp TEXT NOT NULL,"
    " state INTEGER NOT NULL,"
    " doc TEXT NOT NULL,"
    " updated_at INTEGER NOT NULL);",

    /* 5: module-owned documents (ck_store_doc: EST, ACME, approvals,
     * scheduler, notices), one row per (kind, id), doc opaque JSON.
     * A rowid table, not WITHOUT ROWID: documents are mostly larger than
     * the ~1/20 page SQLite recommends for WITHOUT ROWID rows. Indexes
     * serve the filters of ck_store_doc_list/_count: by key, by state (in
     * id order), and the due scans (partial: only documents with a due
     * time), alone or with a state, in (due_at, id) order. An update that
     * keeps key, state and due_at touches none of them. */
    ("CREATE TABLE docs ("
     " kind TEXT NOT NULL,"
     " id TEXT NOT NULL,"
     " key TEXT NOT NULL DEFAULT '',"
     " state TEXT NOT NULL DEFAULT '',"
     " due_at INTEGER NOT NULL DEFAULT 0,"
     " doc TEXT NOT NULL,"
     " version INTEGER NOT NULL,"
     " created_at INTEGER NOT NULL,"
     " updated_at INTEGER NOT NULL,"
     " PRIMARY KEY (kind, id));"
     "CREATE INDEX docs_key ON docs(kind, key, id);"
     "CREATE INDEX docs_state ON docs(kind, state, id);"
     "CREATE INDEX docs_due ON docs(kind, due_at, id) WHERE due_at != 0;"
     "CREATE INDEX docs_state_due ON docs(kind, state, due_at, id)"
     " WHERE due_at != 0;"),
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

_Static_assert(N_MIGRATIONS == CK_STORE_SCHEMA_VERSION,
               "one migration per schema version");

static ck_err pragma_int(ck__sq_conn *c, const char *sql, int64_t *out,
                         ck_errctx *err) {
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);

  if (src == SQLITE_OK)
    src = sqlite3_step(st);
  if (src != SQLITE_ROW) {
    ck_err rc = ck__sq_fail(c, src, "reading the schema version", err);
    sqlite3_finalize(st);
    return rc;
  }
  *out = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return CK_OK;
}

/* Reads user_version and refuses databases that are not ours or newer. */
static ck_err check_version(ck__sq_conn *c, int64_t *version, ck_errctx *err) {
  int64_t app = 0, tables = 0;
  ck_err rc;

  if ((rc = pragma_int(c, "PRAGMA user_version", version, err)) != CK_OK ||
      (rc = pragma_int(c, "PRAGMA application_id", &app, err)) != CK_OK ||
      (rc = pragma_int(c, "SELECT count(*) FROM sqlite_schema", &tables,
                       err)) != CK_OK)
    return rc;
  if (app != 0 && app != CK_SQ_APPLICATION_ID)
    return ck_failf(err, CK_ERR_STORE,
                    "store: %s is another program's database "
                    "(application_id 0x%llx)",
                    sqlite3_db_filename(c->db, "main"), (long long)app);
  if (*version == 0 && tables > 0)
    return ck_failf(err, CK_ERR_STORE,
                    "store: %s holds tables but no certkeeper schema version",
                    sqlite3_db_filename(c->db, "main"));
  if (*version > N_MIGRATIONS)
    return ck_failf(err, CK_ERR_STORE_SCHEMA,
                    "store: database schema version %lld is newer than this "
                    "program's %d: upgrade certkeeper",
                    (long long)*version, N_MIGRATIONS);
  return CK_OK;
}

ck_err ck__sq_migrate(ck__sq_conn *c, ck_errctx *err) {
  int64_t version = 0;
  ck_err rc;
  char sql[96];
  int v;

  if ((rc = check_version(c, &version, err)) != CK_OK)
    return rc;
  if (version == N_MIGRATIONS)
    return CK_OK;
  if ((rc = ck__sq_exec(c, "BEGIN IMMEDIATE", err)) != CK_OK)
    return rc;
  /* another process may have migrated while we waited for the lock */
  if ((rc = check_version(c, &version, err)) != CK_OK)
    goto fail;
  for (v = (int)version; v < N_MIGRATIONS; v++) {
    if ((rc = ck__sq_exec(c, migrations[v], err)) != CK_OK) {
      ck_failf(err, rc, "store: migration to schema version %d", v + 1);
      goto fail;
    }
  }
  snprintf(sql, sizeof sql,
           "PRAGMA user_version = %d; "
           "PRAGMA application_id = %d",
           N_MIGRATIONS, CK_SQ_APPLICATION_ID);
  if ((rc = ck__sq_exec(c, sql, err)) != CK_OK)
    goto fail;
  if ((rc = ck__sq_exec(c, "COMMIT", err)) != CK_OK)
    goto fail;
  return CK_OK;
fail:
  ck__sq_exec(c, "ROLLBACK", NULL);
  return rc;
}
