/* sqlite_write.c — one function per write operation, run by the writer
 * thread inside the group-commit transaction (store_sqlite.c). Each returns
 * CK_OK with op->result set, or a specific error (CK_ERR_NOT_FOUND,
 * CK_ERR_CONFLICT, CK_ERR_EXIST, CK_ERR_EXPIRED, CK_ERR_STORE ...) whose
 * message names the object; the caller then rolls the write back.
 *
 * SQL strings are static arrays: their addresses key the statement cache. */
#include "coordinator/store/sqlite_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"

/* ---------------------------------------------------------------- binding */

int ck__sq_bind_text(sqlite3_stmt *st, int i, const char *s) {
  if (s == NULL)
    return sqlite3_bind_null(st, i);
  return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

int ck__sq_bind_text_or_null(sqlite3_stmt *st, int i, const char *s) {
  if (s == NULL || s[0] == '\0')
    return sqlite3_bind_null(st, i);
  return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

int ck__sq_bind_hash_raw(sqlite3_stmt *st, int i, const uint8_t *h) {
  if (h == NULL)
    return sqlite3_bind_null(st, i);
  return sqlite3_bind_blob(st, i, h, CK_SHA256_LEN, SQLITE_TRANSIENT);
}

int ck__sq_bind_hash(sqlite3_stmt *st, int i, const char *hex) {
  uint8_t raw[CK_SHA256_LEN];

  if (hex == NULL || hex[0] == '\0')
    return sqlite3_bind_null(st, i);
  if (ck__store_hex32(hex, raw) != 0)
    return SQLITE_MISUSE; /* builders validated it: cannot happen */
  return sqlite3_bind_blob(st, i, raw, CK_SHA256_LEN, SQLITE_TRANSIENT);
}

int ck__sq_bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n) {
  if (p == NULL)
    return sqlite3_bind_null(st, i);
  return sqlite3_bind_blob64(st, i, p, n, SQLITE_STATIC);
}

int ck__sq_bind_id_or_null(sqlite3_stmt *st, int i, int64_t id) {
  if (id <= 0)
    return sqlite3_bind_null(st, i);
  return sqlite3_bind_int64(st, i, id);
}

/* ---------------------------------------------------------------- helpers */

#define PREP(var, sql)                                                         \
  do {                                                                         \
    (var) = ck__sq_stmt(q->w, (sql), err);                                     \
    if ((var) == NULL)                                                         \
      return err != NULL && err->code != CK_OK ? err->code : CK_ERR_STORE;     \
  } while (0)

/* Steps st once; returns SQLITE_ROW, SQLITE_DONE or the error code. A bind
 * failure recorded in `bound` is returned as is. */
static int step(sqlite3_stmt *st, int bound) {
  if (bound != SQLITE_OK)
    return bound;
  return sqlite3_step(st);
}

/* Runs st to completion expecting no row; maps failures. */
static ck_err exec_done(ck__sq *q, sqlite3_stmt *st, int bound,
                        const char *what, ck_errctx *err) {
  int src = step(st, bound);

  ck__sq_done(st);
  if (src != SQLITE_DONE && src != SQLITE_ROW)
    return ck__sq_fail(q->w, src, what, err);
  return CK_OK;
}

/* Runs st expecting one row whose first column is an integer (*out);
 * SQLITE_DONE gives CK_ERR_NOT_FOUND without a message (the caller adds
 * one). */
static ck_err exec_int(ck__sq *q, sqlite3_stmt *st, int bound, const char *what,
                       int64_t *out, ck_errctx *err) {
  int src = step(st, bound);
  ck_err rc = CK_OK;

  if (src == SQLITE_ROW)
    *out = sqlite3_column_int64(st, 0);
  else if (src == SQLITE_DONE)
    rc = CK_ERR_NOT_FOUND;
  else
    rc = ck__sq_fail(q->w, src, what, err);
  ck__sq_done(st);
  return rc;
}

static ck_err not_found(ck_errctx *err, const char *what, const char *key) {
  return ck_failf(err, CK_ERR_NOT_FOUND, "store: %s %s not found", what, key);
}

static int64_t now_or(const ck__sq *q, int64_t t) {
  return t > 0 ? t : q->now;
}

/* ------------------------------------------------------------ certificates */

static const char SQL_CERT_FIND[] =
    "SELECT id, source FROM certs WHERE fingerprint = ?1";
static const char SQL_CERT_INSERT[] =
    "INSERT INTO certs (fingerprint, serial, subject, issuer, sans,"
    " not_before, not_after, key_type, key_bits, spki, sig_alg, ca_id,"
    " profile, owner, status, source, managed, weak_flags, weak_reason,"
    " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
    " ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?20)";
static const char SQL_DER_INSERT[] =
    "INSERT INTO cert_der (cert_id, der) VALUES (?1, ?2)";
static const char SQL_CERT_ADOPT[] =
    "UPDATE certs SET source = 0, managed = 1, ca_id = ?2,"
    " profile = coalesce(?3, profile), owner = coalesce(?4, owner),"
    " updated_at = ?5 WHERE id = ?1";

/* Looks a certificate up by fingerprint: *id and *source, or
 * CK_ERR_NOT_FOUND (no message). */
static ck_err cert_find(ck__sq *q, const char *fp, int64_t *id, int *source,
                        ck_errctx *err) {
  sqlite3_stmt *st;
  int src;
  ck_err rc = CK_OK;

  PREP(st, SQL_CERT_FIND);
  src = step(st, ck__sq_bind_hash(st, 1, fp));
  if (src == SQLITE_ROW) {
    *id = sqlite3_column_int64(st, 0);
    if (source != NULL)
      *source = sqlite3_column_int(st, 1);
  } else if (src == SQLITE_DONE) {
    rc = CK_ERR_NOT_FOUND;
  } else {
    rc = ck__sq_fail(q->w, src, "looking up a certificate", err);
  }
  ck__sq_done(st);
  return rc;
}

static ck_err cert_put(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  const ck_store_cert *c = &op->u.cert;
  sqlite3_stmt *st;
  int64_t id = 0;
  int source = 0, b = SQLITE_OK, src;
  ck_err rc;

  /* discovered certificates are usually known already: look first */
  if (c->source == CK_CERT_SRC_DISCOVERED) {
    rc = cert_find(q, c->fingerprint, &id, NULL, err);
    if (rc == CK_OK) {
      op->result = id;
      return CK_OK;
    }
    if (rc != CK_ERR_NOT_FOUND)
      return rc;
  }
  PREP(st, SQL_CERT_INSERT);
  b |= ck__sq_bind_hash(st, 1, c->fingerprint);
  b |= ck__sq_bind_text(st, 2, c->serial_hex);
  b |= ck__sq_bind_text(st, 3, c->subject);
  b |= ck__sq_bind_text(st, 4, c->issuer);
  b |= ck__sq_bind_text(st, 5, c->sans);
  b |= sqlite3_bind_int64(st, 6, c->not_before);
  b |= sqlite3_bind_int64(st, 7, c->not_after);
  b |= ck__sq_bind_text(st, 8, c->key_type);
  b |= sqlite3_bind_int64(st, 9, c->key_bits);
  b |= ck__sq_bind_hash(st, 10, c->spki_sha256);
  b |= ck__sq_bind_text(st, 11, c->sig_alg);
  b |= ck__sq_bind_id_or_null(st, 12, c->ca_id);
  b |= ck__sq_bind_text_or_null(st, 13, c->profile);
  b |= ck__sq_bind_text_or_null(st, 14, c->owner);
  b |= sqlite3_bind_int(st, 15, (int)c->status);
  b |= sqlite3_bind_int(st, 16, (int)c->source);
  b |= sqlite3_bind_int(st, 17, c->source == CK_CERT_SRC_ISSUED);
  b |= sqlite3_bind_int64(st, 18, c->weak_flags);
  b |= ck__sq_bind_text(st, 19, c->weak_reason);
  b |= sqlite3_bind_int64(st, 20, q->now);
  src = step(st, b);
  ck__sq_done(st);
  if (src == SQLITE_DONE) {
    id = sqlite3_last_insert_rowid(q->w->db);
    PREP(st, SQL_DER_INSERT);
    b = sqlite3_bind_int64(st, 1, id);
    b |= ck__sq_bind_blob(st, 2, c->der, c->der_len);
    if ((rc = exec_done(q, st, b, "storing certificate DER", err)) != CK_OK)
      return rc;
    op->result = id;
    return CK_OK;
  }
  if (src != SQLITE_CONSTRAINT_UNIQUE)
    return ck__sq_fail(q->w, src, "inserting a certificate", err);

  /* the fingerprint is known: reconcile */
  if ((rc = cert_find(q, c->fingerprint, &id, &source, err)) != CK_OK)
    return rc == CK_ERR_NOT_FOUND ? ck__sq_fail(q->w, src, "certificate", err)
                                  : rc;
  op->result = id;
  if (c->source == CK_CERT_SRC_DISCOVERED)
    return CK_OK;
  if (source == CK_CERT_SRC_ISSUED)
    return ck_failf(err, CK_ERR_EXIST,
                    "store: certificate %s is already stored as issued",
                    c->fingerprint);
  PREP(st, SQL_CERT_ADOPT);
  b = sqlite3_bind_int64(st, 1, id);
  b |= ck__sq_bind_id_or_null(st, 2, c->ca_id);
  b |= ck__sq_bind_text_or_null(st, 3, c->profile);
  b |= ck__sq_bind_text_or_null(st, 4, c->owner);
  b |= sqlite3_bind_int64(st, 5, q->now);
  return exec_done(q, st, b, "adopting a discovered certificate", err);
}

static const char SQL_CERT_SET[] =
    "UPDATE certs SET owner = iif(?2, ?3, owner),"
    " profile = iif(?4, ?5, profile),"
    " status = iif(?6 >= 0, ?6, status),"
    " managed = iif(?7 >= 0, ?7, managed), updated_at = ?8"
    " WHERE fingerprint = ?1 RETURNING id";

static ck_err cert_set(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  const ck_store_cert_patch *p = &op->u.cert_set.patch;
  sqlite3_stmt *st;
  int b;
  ck_err rc;

  PREP(st, SQL_CERT_SET);
  b = ck__sq_bind_hash(st, 1, op->u.cert_set.fp);
  b |= sqlite3_bind_int(st, 2, p->owner != NULL);
  b |= ck__sq_bind_text_or_null(st, 3, p->owner);
  b |= sqlite3_bind_int(st, 4, p->profile != NULL);
  b |= ck__sq_bind_text_or_null(st, 5, p->profile);
  b |= sqlite3_bind_int(st, 6, p->status);
  b |= sqlite3_bind_int(st, 7, p->managed);
  b |= sqlite3_bind_int64(st, 8, q->now);
  rc = exec_int(q, st, b, "updating a certificate", &op->result, err);
  if (rc == CK_ERR_NOT_FOUND)
    return not_found(err, "certificate", op->u.cert_set.fp);
  return rc;
}

static const char SQL_EXPIRE[] =
    "UPDATE certs SET status = 2, weak_flags = weak_flags | 4,"
    " weak_reason = CASE WHEN weak_flags & 4 THEN weak_reason"
    " WHEN weak_reason = '' THEN 'expired'"
    " ELSE weak_reason || '; expired' END, updated_at = ?2"
    " WHERE id IN (SELECT id FROM certs WHERE status = 0 AND not_after < ?1"
    " ORDER BY not_after LIMIT ?3)";

static ck_err expire_sweep(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  sqlite3_stmt *st;
  int b;
  ck_err rc;

  PREP(st, SQL_EXPIRE);
  b = sqlite3_bind_int64(st, 1, op->u.sweep.now);
  b |= sqlite3_bind_int64(st, 2, q->now);
  b |= sqlite3_bind_int64(st, 3, op->u.sweep.limit);
  rc = exec_done(q, st, b, "expiring certificates", err);
  if (rc == CK_OK)
    op->result = sqlite3_changes(q->w->db);
  return rc;
}

/* ------------------------------------------------------------ installations */

static const char SQL_CERT_SPKI[] = "SELECT spki FROM certs WHERE id = ?1";
static const char SQL_SPKI_HOSTS[] =
    "SELECT count(DISTINCT i.agent_id) FROM certs c"
    " JOIN installs i ON i.cert_id = c.id WHERE c.spki = ?1";
static const char SQL_SHARED_SET[] =
    "UPDATE certs SET weak_flags = weak_flags | 16, updated_at = ?2"
    " WHERE spki = ?1 AND (weak_flags & 16) = 0";
static const char SQL_SHARED_CLEAR[] =
    "UPDATE certs SET weak_flags = weak_flags & ~16, updated_at = ?2"
    " WHERE spki = ?1 AND (weak_flags & 16) != 0";

void ck__sq_shared_begin(ck__sq *q) { q->n_shared = 0; }

/* Queues cert_id's key for the recount at the end of the write. */
static ck_err shared_key_touch(ck__sq *q, int64_t cert_id, ck_errctx *err) {
  if (q->n_shared > 0 && q->shared_ids[q->n_shared - 1] == cert_id)
    return CK_OK; /* the endpoints of one finding: the same certificate */
  if (q->n_shared == q->cap_shared) {
    size_t cap = q->cap_shared ? q->cap_shared * 2 : 256;
    int64_t *v = realloc(q->shared_ids, cap * sizeof *v);
    if (v == NULL)
      return ck_failf(err, CK_ERR_NOMEM, "store: out of memory");
    q->shared_ids = v;
    q->cap_shared = cap;
  }
  q->shared_ids[q->n_shared++] = cert_id;
  return CK_OK;
}

static int cmp_id(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static int cmp_spki(const void *a, const void *b) {
  return memcmp(a, b, CK_SHA256_LEN);
}

/* Sets or clears CK_WEAK_SHARED_KEY on every certificate with this public
 * key (raw SPKI hash), from the number of distinct hosts it is installed
 * on. */
static ck_err shared_key_update(ck__sq *q, const uint8_t *spki,
                                ck_errctx *err) {
  sqlite3_stmt *st;
  int64_t hosts = 0;
  ck_err rc;
  int b;

  PREP(st, SQL_SPKI_HOSTS);
  rc = exec_int(q, st, ck__sq_bind_hash_raw(st, 1, spki),
                "counting hosts sharing a key", &hosts, err);
  if (rc != CK_OK)
    return rc;
  PREP(st, hosts > 1 ? SQL_SHARED_SET : SQL_SHARED_CLEAR);
  b = ck__sq_bind_hash_raw(st, 1, spki);
  b |= sqlite3_bind_int64(st, 2, q->now);
  return exec_done(q, st, b, "flagging shared keys", err);
}

ck_err ck__sq_shared_flush(ck__sq *q, ck_errctx *err) {
  uint8_t *keys = NULL;
  size_t i, n = 0, k = 0;
  sqlite3_stmt *st;
  ck_err rc = CK_OK;
  int src;

  if (q->n_shared == 0)
    return CK_OK;
  if (q->n_shared > 1)
    qsort(q->shared_ids, q->n_shared, sizeof *q->shared_ids, cmp_id);
  keys = malloc(q->n_shared * CK_SHA256_LEN);
  if (keys == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "store: out of memory");
    goto out;
  }
  for (i = 0; i < q->n_shared; i++) {
    if (i > 0 && q->shared_ids[i] == q->shared_ids[i - 1])
      continue;
    st = ck__sq_stmt(q->w, SQL_CERT_SPKI, err);
    if (st == NULL) {
      rc = err != NULL && err->code != CK_OK ? err->code : CK_ERR_STORE;
      goto out;
    }
    src = step(st, sqlite3_bind_int64(st, 1, q->shared_ids[i]));
    if (src == SQLITE_ROW &&
        sqlite3_column_bytes(st, 0) == CK_SHA256_LEN)
      memcpy(keys + n++ * CK_SHA256_LEN, sqlite3_column_blob(st, 0),
             CK_SHA256_LEN);
    ck__sq_done(st);
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
      rc = ck__sq_fail(q->w, src, "reading a certificate's key", err);
      goto out;
    }
  }
  if (n > 1)
    qsort(keys, n, CK_SHA256_LEN, cmp_spki);
  for (i = 0; i < n; i++) {
    if (i > 0 && memcmp(keys + i * CK_SHA256_LEN, keys + k * CK_SHA256_LEN,
                        CK_SHA256_LEN) == 0)
      continue;
    k = i;
    if ((rc = shared_key_update(q, keys + i * CK_SHA256_LEN, err)) != CK_OK)
      goto out;
  }
out:
  free(keys);
  q->n_shared = 0;
  return rc;
}

static const char SQL_INSTALL_PUT[] =
    "INSERT INTO installs (cert_id, agent_id, path, service, endpoint,"
    " first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)"
    " ON CONFLICT (agent_id, cert_id, path, endpoint) DO UPDATE SET"
    " service = excluded.service, last_seen = excluded.last_seen"
    " RETURNING id";
static const char SQL_INSTALL_DEL[] =
    "DELETE FROM installs WHERE agent_id = ?1 AND cert_id = ?2"
    " AND path = ?3 AND endpoint = ?4";

static ck_err install_put(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  const ck_store_install *in = &op->u.install;
  sqlite3_stmt *st;
  int64_t cert_id = 0;
  ck_err rc;
  int b;

  rc = cert_find(q, in->cert_fp, &cert_id, NULL, err);
  if (rc == CK_ERR_NOT_FOUND)
    return not_found(err, "certificate", in->cert_fp);
  if (rc != CK_OK)
    return rc;
  PREP(st, SQL_INSTALL_PUT);
  /* rowids are >= 1: a non-zero value after the upsert means it inserted
   * (an update of a known installation leaves it alone) */
  sqlite3_set_last_insert_rowid(q->w->db, 0);
  b = sqlite3_bind_int64(st, 1, cert_id);
  b |= ck__sq_bind_text(st, 2, in->agent_id);
  b |= ck__sq_bind_text(st, 3, in->path);
  b |= ck__sq_bind_text(st, 4, in->service);
  b |= ck__sq_bind_text(st, 5, in->endpoint);
  b |= sqlite3_bind_int64(st, 6, q->now);
  rc = exec_int(q, st, b, "storing an installation", &op->result, err);
  if (rc != CK_OK)
    return rc == CK_ERR_NOT_FOUND
               ? ck_failf(err, CK_ERR_STORE, "store: installation not stored")
               : rc;
  /* a new installation may change the hosts holding the key; refreshing
   * one that exists cannot */
  if (sqlite3_last_insert_rowid(q->w->db) == 0)
    return CK_OK;
  return shared_key_touch(q, cert_id, err);
}

static ck_err install_del(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  const ck_store_install *in = &op->u.install;
  sqlite3_stmt *st;
  int64_t cert_id = 0;
  ck_err rc;
  int b;

  rc = cert_find(q, in->cert_fp, &cert_id, NULL, err);
  if (rc == CK_ERR_NOT_FOUND) {
    op->result = 0;
    return CK_OK;
  }
  if (rc != CK_OK)
    return rc;
  PREP(st, SQL_INSTALL_DEL);
  b = ck__sq_bind_text(st, 1, in->agent_id);
  b |= sqlite3_bind_int64(st, 2, cert_id);
  b |= ck__sq_bind_text(st, 3, in->path);
  b |= ck__sq_bind_text(st, 4, in->endpoint);
  if ((rc = exec_done(q, st, b, "deleting an installation", err)) != CK_OK)
    return rc;
  op->result = sqlite3_changes(q->w->db);
  return op->result > 0 ? shared_key_touch(q, cert_id, err) : CK_OK;
}

/* ---------------------------------------------------------------- agents */

static const char SQL_AGENT_PUT[] =
    "INSERT INTO agents (agent_id, name, grp, identity_fp, status,"
    " enrolled_at, last_seen, platform, version)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    " ON CONFLICT (agent_id) DO UPDATE SET name = excluded.name,"
    " grp = excluded.grp, identity_fp = excluded.identity_fp,"
    " status = excluded.status,"
    " last_seen = max(last_seen, excluded.last_seen),"
    " platform = excluded.platform, version = excluded.version"
    " RETURNING id";
static const char SQL_AGENT_SEEN[] =
    "UPDATE agents SET last_seen = ?2, platform = coalesce(?3, platform),"
    " version = coalesce(?4, version) WHERE agent_id = ?1 RETURNING id";

static ck_err agent_put(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  const ck_store_agent *a = &op->u.agent;
  sqlite3_stmt *st;
  ck_err rc;
  int b;

  PREP(st, SQL_AGENT_PUT);
  b = ck__sq_bind_text(st, 1, a->id);
  b |= ck__sq_bind_text(st, 2, a->name);
  b |= ck__sq_bind_text(st, 3, a->group);
  b |= ck__sq_bind_hash(st, 4, a->identity_fp);
  b |= sqlite3_bind_int(st, 5, (int)a->status);
  b |= sqlite3_bind_int64(st, 6, now_or(q, a->enrolled_at));
  b |= sqlite3_bind_int64(st, 7, a->last_seen);
  b |= ck__sq_bind_text(st, 8, a->platform);
  b |= ck__sq_bind_text(st, 9, a->version);
  rc = exec_int(q, st, b, "storing an agent", &op->result, err);
  return rc == CK_ERR_NOT_FOUND ? CK_ERR_STORE : rc;
}

static ck_err agent_seen(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  const ck_store_agent *a = &op->u.agent;
  sqlite3_stmt *st;
  ck_err rc;
  int b;

  PREP(st, SQL_AGENT_SEEN);
  b = ck__sq_bind_text(st, 1, a->id);
  b |= sqlite3_bind_int64(st, 2, now_or(q, a->last_seen));
  b |= ck__sq_bind_text(st, 3, a->platform);
  b |= ck__sq_bind_text(st, 4, a->version);
  rc = exec_int(q, st, b, "updating an agent", &op->result, err);
  return rc == CK_ERR_NOT_FOUND ? not_found(err, "agent", a->id) : rc;
}

/* Exactly-once reports: the mark only moves forward, in the same
 * transaction as what the report records. */
static const char SQL_AGENT_REPORT[] =
    "UPDATE agents SET report_seq = ?2 WHERE agent_id = ?1"
    " AND report_seq < ?2 RETURNING id";
static const char SQL_AGENT_REPORT_MARK[] =
    "SELECT report_seq FROM agents WHERE agent_id = ?1";

static ck_err agent_report(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  const ck_store_agent *a = &op->u.agent;
  sqlite3_stmt *st;
  int64_t mark = 0;
  ck_err rc;
  int b;

  PREP(st, SQL_AGENT_REPORT_MARK);
  rc = exec_int(q, st, ck__sq_bind_text(st, 1, a->id),
                "reading an agent's report mark", &mark, err);
  if (rc == CK_ERR_NOT_FOUND)
    return not_found(err, "agent", a->id);
  if (rc != CK_OK)
    return rc;
  if (a->report_seq <= mark)
    return ck_failf(err, CK_ERR_EXIST,
                    "store: duplicate: agent %s report %lld is not after "
                    "%lld", a->id, (long long)a->report_seq, (long long)mark);
  PREP(st, SQL_AGENT_REPORT);
  b = ck__sq_bind_text(st, 1, a->id);
  b |= sqlite3_bind_int64(st, 2, a->report_seq);
  rc = exec_int(q, st, b, "advancing an agent's report mark", &op->result,
                err);
  if (rc == CK_ERR_NOT_FOUND)
    return ck_failf(err, CK_ERR_STORE, "store: agent %s report mark moved",
                    a->id);
  op->result = mark;
  return rc;
}

static const char SQL_AGENT_HOST[] =
    "UPDATE agents SET host = ?2, host_at = ?3 WHERE agent_id = ?1"
    " RETURNING id";

static ck_err agent_host(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  const ck_store_agent *a = &op->u.agent;
  sqlite3_stmt *st;
  ck_err rc;
  int b;

  PREP(st, SQL_AGENT_HOST);
  b = ck__sq_bind_text(st, 1, a->id);
  b |= ck__sq_bind_text(st, 2, a->host);
  b |= sqlite3_bind_int64(st, 3, now_or(q, a->host_at));
  rc = exec_int(q, st, b, "recording an agent's host facts", &op->result,
                err);
  return rc == CK_ERR_NOT_FOUND ? not_found(err, "agent", a->id) : rc;
}

/* ---------------------------------------------------------------- owners */

static const char SQL_OWNER_PUT[] =
    "INSERT INTO owners (name, email, webhook, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (name) DO UPDATE SET"
    " email = excluded.email, webhook = excluded.webhook,"
    " updated_at = excluded.updated_at RETURNING id";
static const char SQL_OWNER_DEL[] =
    "DELETE FROM owners WHERE name = ?1 RETURNING id";

static ck_err owner_put(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  const ck_store_owner *o = &op->u.owner;
  sqlite3_stmt *st;
  ck_err rc;
  int b;

  PREP(st, SQL_OWNER_PUT);
  b = ck__sq_bind_text(st, 1, o->name);
  b |= ck__sq_bind_text(st, 2, o->email);
  b |= ck__sq_bind_text(st, 3, o->webhook);
  b |= sqlite3_bind_int64(st, 4, q->now);
  rc = exec_int(q, st, b, "storing an owner", &op->result, err);
  return rc == CK_ERR_NOT_FOUND ? CK_ERR_STORE : rc;
}

static ck_err owner_del(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  sqlite3_stmt *st;
  ck_err rc;

  PREP(st, SQL_OWNER_DEL);
  rc = exec_int(q, st, ck__sq_bind_text(st, 1, op->u.owner.name),
                "deleting an owner", &op->result, err);
  if (rc == CK_OK)
    op->result = 1;
  return rc == CK_ERR_NOT_FOUND ? not_found(err, "owner", op->u.owner.name)
                                : rc;
}

/* ---------------------------------------------------------------- profiles */

static const char SQL_PROFILE_MAX[] =
    "SELECT coalesce(max(version), 0) FROM profiles WHERE name = ?1";
static const char SQL_PROFILE_INSERT[] =
    "INSERT INTO profiles (name, version, ca_id, body, deleted, actor,"
    " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

static ck_err profile_put(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  const ck_store_profile *p = &op->u.profile.p;
  int64_t expect = op->u.profile.expect_version, cur = 0;
  sqlite3_stmt *st;
  ck_err rc;
  int b;

  PREP(st, SQL_PROFILE_MAX);
  rc = exec_int(q, st, ck__sq_bind_text(st, 1, p->name),
                "reading a profile version", &cur, err);
  if (rc != CK_OK)
    return rc;
  if (expect >= 0 && expect != cur)
    return ck_failf(err, CK_ERR_CONFLICT,
                    "store: profile %s is at version %lld, not %lld", p->name,
                    (long long)cur, (long long)expect);
  if (p->deleted && cur == 0)
    return not_found(err, "profile", p->name);
  PREP(st, SQL_PROFILE_INSERT);
  b = ck__sq_bind_text(st, 1, p->name);
  b |= sqlite3_bind_int64(st, 2, cur + 1);
  b |= sqlite3_bind_int64(st, 3, p->ca_id);
  b |= ck__sq_bind_text(st, 4, p->body);
  b |= sqlite3_bind_int(st, 5, p->deleted);
  b |= ck__sq_bind_text(st, 6, p->actor);
  b |= sqlite3_bind_int64(st, 7, q->now);
  if ((rc = exec_done(q, st, b, "storing a profile", err)) != CK_OK)
    return rc;
  op->result = cur + 1;
  return CK_OK;
}

/* ---------------------------------------------------------------- requests */

static const char SQL_REQUEST_PUT[] =
    "INSERT INTO requests (agent_id, token_id, actor, profile,"
    " profile_version, csr, state, reason, cert_fp, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)";
static const char SQL_REQUEST_STATE[] =
    "SELECT state FROM requests WHERE id = ?1";
static const char SQL_REQUEST_SET[] =
    "UPDATE requests SET state = ?2, reason = ?3, cert_fp = ?4,"
    " updated_at = ?5 WHERE id = ?1";

static ck_err request_put(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  const ck_store_request *r = &op->u.request;
  sqlite3_stmt *st;
  ck_err rc;
  int b;

  PREP(st, SQL_REQUEST_PUT);
  b = ck__sq_bind_text(st, 1, r->agent_id);
  b |= ck__sq_bind_text(st, 2, r->token_id);
  b |= ck__sq_bind_text(st, 3, r->actor);
  b |= ck__sq_bind_text(st, 4, r->profile);
  b |= sqlite3_bind_int64(st, 5, r->profile_version);
  b |= ck__sq_bind_blob(st, 6, r->csr, r->csr_len);
  b |= sqlite3_bind_int(st, 7, (int)r->state);
  b |= ck__sq_bind_text(st, 8, r->reason);
  b |= ck__sq_bind_hash(st, 9, r->cert_fp);
  b |= sqlite3_bind_int64(st, 10, q->now);
  if ((rc = exec_done(q, st, b, "storing a request", err)) != CK_OK)
    return rc;
  op->result = sqlite3_last_insert_rowid(q->w->db);
  return CK_OK;
}

static ck_err request_set(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  const ck_store_request *r = &op->u.request;
  sqlite3_stmt *st;
  int64_t state = 0;
  ck_err rc;
  int b;

  PREP(st, SQL_REQUEST_STATE);
  rc = exec_int(q, st, sqlite3_bind_int64(st, 1, r->id), "reading a request",
                &state, err);
  if (rc == CK_ERR_NOT_FOUND)
    return ck_failf(err, CK_ERR_NOT_FOUND, "store: request %lld not found",
                    (long long)r->id);
  if (rc != CK_OK)
    return rc;
  if (state != CK_REQ_PENDING)
    return ck_failf(err, CK_ERR_CONFLICT,
                    "store: request %lld is %s, not pending", (long long)r->id,
                    ck_request_state_name((ck_request_state)state));
  PREP(st, SQL_REQUEST_SET);
  b = sqlite3_bind_int64(st, 1, r->id);
  b |= sqlite3_bind_int(st, 2, (int)r->state);
  b |= ck__sq_bind_text(st, 3, r->reason);
  b |= ck__sq_bind_hash(st, 4, r->cert_fp);
  b |= sqlite3_bind_int64(st, 5, q->now);
  if ((rc = exec_done(q, st, b, "updating a request", err)) != CK_OK)
    return rc;
  op->result = r->id;
  return CK_OK;
}

/* ------------------------------------------------------------- revocation */

static const char SQL_REVOKE_FIND[] =
    "SELECT id, serial, coalesce(ca_id, 0), status FROM certs"
    " WHERE fingerprint = ?1";
static const char SQL_REVOKE_CERT[] =
    "UPDATE certs SET status = 1, updated_at = ?2 WHERE id = ?1";
static const char SQL_REVOKE_INSERT[] =
    "INSERT INTO revocations (cert_id, serial, ca_id, reason, revoked_at,"
    " actor) SELECT id, serial, coalesce(ca_id, 0), ?2, ?3, ?4 FROM certs"
    " WHERE id = ?1";

static ck_err revoke(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  const ck_store_revocation *r = &op->u.revoke;
  sqlite3_stmt *st;
  int64_t id = 0;
  int status = 0, src, b;
  ck_err rc;

  PREP(st, SQL_REVOKE_FIND);
  src = step(st, ck__sq_bind_hash(st, 1, r->cert_fp));
  if (src == SQLITE_ROW) {
    id = sqlite3_column_int64(st, 0);
    status = sqlite3_column_int(st, 3);
  }
  ck__sq_done(st);
  if (src == SQLITE_DONE)
    return not_found(err, "certificate", r->cert_fp);
  if (src != SQLITE_ROW)
    return ck__sq_fail(q->w, src, "looking up a certificate", err);
  if (status == CK_CERT_REVOKED)
    return ck_failf(err, CK_ERR_CONFLICT,
                    "store: certificate %s is already revoked", r->cert_fp);
  PREP(st, SQL_REVOKE_CERT);
  b = sqlite3_bind_int64(st, 1, id);
  b |= sqlite3_bind_int64(st, 2, q->now);
  if ((rc = exec_done(q, st, b, "revoking a certificate", err)) != CK_OK)
    return rc;
  PREP(st, SQL_REVOKE_INSERT);
  b = sqlite3_bind_int64(st, 1, id);
  b |= sqlite3_bind_int(st, 2, r->reason);
  b |= sqlite3_bind_int64(st, 3, now_or(q, r->revoked_at));
  b |= ck__sq_bind_text(st, 4, r->actor);
  if ((rc = exec_done(q, st, b, "recording a revocation", err)) != CK_OK)
    return rc;
  op->result = sqlite3_last_insert_rowid(q->w->db);
  return CK_OK;
}

/* ---------------------------------------------------------------- tokens */

static const char SQL_ETOKEN_PUT[] =
    "INSERT INTO enroll_tokens (token_id, hash, grp, profiles, san_patterns,"
    " actor, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char SQL_ETOKEN_FIND[] =
    "SELECT used_at, expires_at, token_id FROM enroll_tokens WHERE hash = ?1";
static const char SQL_ETOKEN_USE[] =
    "UPDATE enroll_tokens SET used_at = ?2, used_by = ?3 WHERE hash = ?1"
    " AND used_at = 0";
static const char SQL_APITOKEN_PUT[] =
    "INSERT INTO api_tokens (name, hash, role, owner, created_at,"
    " expires_at, revoked) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_APITOKEN_REVOKE[] =
    "UPDATE api_tokens SET revoked = 1 WHERE name = ?1 RETURNING id";

static ck_err etoken_put(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  const ck_store_etoken *t = &op->u.etoken;
  sqlite3_stmt *st;
  ck_err rc;
  int b;

  PREP(st, SQL_ETOKEN_PUT);
  b = ck__sq_bind_text(st, 1, t->id);
  b |= ck__sq_bind_hash(st, 2, t->hash);
  b |= ck__sq_bind_text(st, 3, t->group);
  b |= ck__sq_bind_text(st, 4, t->profiles);
  b |= ck__sq_bind_text(st, 5, t->san_patterns);
  b |= ck__sq_bind_text(st, 6, t->actor);
  b |= sqlite3_bind_int64(st, 7, now_or(q, t->created_at));
  b |= sqlite3_bind_int64(st, 8, t->expires_at);
  rc = exec_done(q, st, b, "storing an enrollment token", err);
  if (rc == CK_ERR_EXIST)
    return ck_failf(err, rc, "store: enrollment token %s exists", t->id);
  op->result = 1;
  return rc;
}

static ck_err etoken_use(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  const ck_store_etoken *t = &op->u.etoken;
  int64_t now = now_or(q, t->used_at), used_at, expires_at;
  sqlite3_stmt *st;
  int src, b;

  PREP(st, SQL_ETOKEN_FIND);
  src = step(st, ck__sq_bind_hash(st, 1, t->hash));
  if (src != SQLITE_ROW) {
    ck__sq_done(st);
    if (src == SQLITE_DONE)
      return ck_failf(err, CK_ERR_NOT_FOUND, "store: unknown enrollment token");
    return ck__sq_fail(q->w, src, "looking up an enrollment token", err);
  }
  used_at = sqlite3_column_int64(st, 0);
  expires_at = sqlite3_column_int64(st, 1);
  if (used_at != 0) {
    ck_failf(err, CK_ERR_CONFLICT,
             "store: enrollment token %s was already used",
             (const char *)sqlite3_column_text(st, 2));
    ck__sq_done(st);
    return CK_ERR_CONFLICT;
  }
  if (expires_at <= now) {
    ck_failf(err, CK_ERR_EXPIRED, "store: enrollment token %s has expired",
             (const char *)sqlite3_column_text(st, 2));
    ck__sq_done(st);
    return CK_ERR_EXPIRED;
  }
  ck__sq_done(st);
  PREP(st, SQL_ETOKEN_USE);
  b = ck__sq_bind_hash(st, 1, t->hash);
  b |= sqlite3_bind_int64(st, 2, now);
  b |= ck__sq_bind_text(st, 3, t->used_by);
  op->result = 1;
  return exec_done(q, st, b, "consuming an enrollment token", err);
}

static ck_err apitoken_put(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  const ck_store_apitoken *t = &op->u.apitoken;
  sqlite3_stmt *st;
  ck_err rc;
  int b;

  PREP(st, SQL_APITOKEN_PUT);
  b = ck__sq_bind_text(st, 1, t->name);
  b |= ck__sq_bind_hash(st, 2, t->hash);
  b |= ck__sq_bind_text(st, 3, t->role);
  b |= ck__sq_bind_text(st, 4, t->owner);
  b |= sqlite3_bind_int64(st, 5, now_or(q, t->created_at));
  b |= sqlite3_bind_int64(st, 6, t->expires_at);
  b |= sqlite3_bind_int(st, 7, t->revoked);
  rc = exec_done(q, st, b, "storing an API token", err);
  if (rc == CK_ERR_EXIST)
    return ck_failf(err, rc, "store: API token %s exists", t->name);
  if (rc == CK_OK)
    op->result = sqlite3_last_insert_rowid(q->w->db);
  return rc;
}

static ck_err apitoken_revoke(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  sqlite3_stmt *st;
  ck_err rc;

  PREP(st, SQL_APITOKEN_REVOKE);
  rc = exec_int(q, st, ck__sq_bind_text(st, 1, op->u.apitoken.name),
                "revoking an API token", &op->result, err);
  return rc == CK_ERR_NOT_FOUND
             ? not_found(err, "API token", op->u.apitoken.name)
             : rc;
}

/* ---------------------------------------------------------------- CAs */

static const char SQL_CA_UNDEFAULT[] =
    "UPDATE cas SET is_default = 0 WHERE is_default = 1";
static const char SQL_CA_PUT[] =
    "INSERT INTO cas (name, cert_der, key_path, parent_id, is_default,"
    " next_crl_number, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_CA_CRL[] =
    "UPDATE cas SET next_crl_number = next_crl_number + 1 WHERE id = ?1"
    " RETURNING next_crl_number - 1";

static ck_err ca_put(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  const ck_store_ca *ca = &op->u.ca;
  sqlite3_stmt *st;
  ck_err rc;
  int b;

  if (ca->is_default) {
    PREP(st, SQL_CA_UNDEFAULT);
    if ((rc = exec_done(q, st, SQLITE_OK, "updating CAs", err)) != CK_OK)
      return rc;
  }
  PREP(st, SQL_CA_PUT);
  b = ck__sq_bind_text(st, 1, ca->name);
  b |= ck__sq_bind_blob(st, 2, ca->cert_der, ca->cert_der_len);
  b |= ck__sq_bind_text(st, 3, ca->key_path);
  b |= ck__sq_bind_id_or_null(st, 4, ca->parent_id);
  b |= sqlite3_bind_int(st, 5, ca->is_default);
  b |= sqlite3_bind_int64(st, 6, ca->next_crl_number);
  b |= sqlite3_bind_int64(st, 7, q->now);
  rc = exec_done(q, st, b, "storing a CA", err);
  if (rc == CK_ERR_EXIST)
    return ck_failf(err, rc, "store: CA %s exists", ca->name);
  if (rc == CK_OK)
    op->result = sqlite3_last_insert_rowid(q->w->db);
  return rc;
}

static ck_err ca_crl_number(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  sqlite3_stmt *st;
  ck_err rc;

  PREP(st, SQL_CA_CRL);
  rc = exec_int(q, st, sqlite3_bind_int64(st, 1, op->u.ca.id),
                "taking a CRL number", &op->result, err);
  if (rc == CK_ERR_NOT_FOUND)
    return ck_failf(err, rc, "store: CA %lld not found",
                    (long long)op->u.ca.id);
  return rc;
}

/* ---------------------------------------------------------------- plans */

static const char SQL_PLAN_PUT[] =
    "INSERT INTO revoke_plans (id, cert_fp, state, doc, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO UPDATE SET"
    " cert_fp = excluded.cert_fp, state = excluded.state, doc = excluded.doc,"
    " updated_at = excluded.updated_at";

static ck_err plan_put(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  const ck_store_plan *p = &op->u.plan;
  sqlite3_stmt *st;
  int b;

  PREP(st, SQL_PLAN_PUT);
  b = sqlite3_bind_int64(st, 1, p->id);
  b |= ck__sq_bind_text(st, 2, p->cert_fp);
  b |= sqlite3_bind_int(st, 3, p->state);
  b |= ck__sq_bind_text(st, 4, p->doc);
  b |= sqlite3_bind_int64(st, 5, now_or(q, p->updated_at));
  op->result = p->id;
  return exec_done(q, st, b, "storing a revocation plan", err);
}

/* ---------------------------------------------------------------- audit */

static const char SQL_AUDIT_INSERT[] =
    "INSERT INTO audit (seq, time, actor, action, object_type, object_id,"
    " details, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char SQL_HEAD_SAVE[] =
    "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?1, ?2)"
    " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash";
static const char SQL_HEAD_LOAD[] =
    "SELECT seq, hash FROM audit_head WHERE id = 1";
static const char SQL_LAST_EVENT[] =
    "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";

static ck_err audit_append(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  ck_audit_event ev = op->u.audit;
  sqlite3_stmt *st;
  ck_err rc;
  int b;

  ev.seq = q->head_seq + 1;
  ev.time = now_or(q, ev.time);
  memcpy(ev.prev_hash, q->head_hash, CK_SHA256_LEN);
  if ((rc = ck_audit_hash(ev.prev_hash, &ev, ev.hash)) != CK_OK)
    return ck_failf(err, rc, "store: hashing audit event");
  PREP(st, SQL_AUDIT_INSERT);
  b = sqlite3_bind_int64(st, 1, ev.seq);
  b |= sqlite3_bind_int64(st, 2, ev.time);
  b |= ck__sq_bind_text(st, 3, ev.actor);
  b |= ck__sq_bind_text(st, 4, ev.action);
  b |= ck__sq_bind_text(st, 5, ev.object_type);
  b |= ck__sq_bind_text(st, 6, ev.object_id);
  b |= ck__sq_bind_text(st, 7, ev.details);
  b |= ck__sq_bind_hash_raw(st, 8, ev.prev_hash);
  b |= ck__sq_bind_hash_raw(st, 9, ev.hash);
  if ((rc = exec_done(q, st, b, "appending an audit event", err)) != CK_OK)
    return rc;
  q->head_seq = ev.seq;
  memcpy(q->head_hash, ev.hash, CK_SHA256_LEN);
  op->result = ev.seq;
  return CK_OK;
}

ck_err ck__sq_save_head(ck__sq *q, ck_errctx *err) {
  sqlite3_stmt *st;
  int b;

  PREP(st, SQL_HEAD_SAVE);
  b = sqlite3_bind_int64(st, 1, q->head_seq);
  b |= ck__sq_bind_hash_raw(st, 2, q->head_hash);
  return exec_done(q, st, b, "saving the audit head", err);
}

/* The head to chain from: audit_head when present — so rows deleted from
 * the tail leave a gap the verifier sees instead of being papered over —
 * else the last event, else the empty chain. */
ck_err ck__sq_load_head(ck__sq *q, ck_errctx *err) {
  const char *const sqls[] = {SQL_HEAD_LOAD, SQL_LAST_EVENT};
  size_t i;

  q->head_seq = 0;
  memset(q->head_hash, 0, sizeof q->head_hash);
  for (i = 0; i < 2; i++) {
    sqlite3_stmt *st;
    int src;

    PREP(st, sqls[i]);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
      const void *h = sqlite3_column_blob(st, 1);
      if (sqlite3_column_bytes(st, 1) != CK_SHA256_LEN || h == NULL) {
        ck__sq_done(st);
        return ck_failf(err, CK_ERR_STORE,
                        "store: the audit chain head is malformed");
      }
      q->head_seq = sqlite3_column_int64(st, 0);
      memcpy(q->head_hash, h, CK_SHA256_LEN);
    }
    ck__sq_done(st);
    if (src == SQLITE_ROW)
      return CK_OK;
    if (src != SQLITE_DONE)
      return ck__sq_fail(q->w, src, "loading the audit head", err);
  }
  return CK_OK;
}

/* ---------------------------------------------------------------- dispatch */

ck_err ck__sq_apply_op(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  switch (op->kind) {
  case CK__OP_CERT_PUT:
    return cert_put(q, op, err);
  case CK__OP_CERT_SET:
    return cert_set(q, op, err);
  case CK__OP_EXPIRE_SWEEP:
    return expire_sweep(q, op, err);
  case CK__OP_INSTALL_PUT:
    return install_put(q, op, err);
  case CK__OP_INSTALL_DEL:
    return install_del(q, op, err);
  case CK__OP_AGENT_PUT:
    return agent_put(q, op, err);
  case CK__OP_AGENT_SEEN:
    return agent_seen(q, op, err);
  case CK__OP_OWNER_PUT:
    return owner_put(q, op, err);
  case CK__OP_OWNER_DEL:
    return owner_del(q, op, err);
  case CK__OP_PROFILE_PUT:
    return profile_put(q, op, err);
  case CK__OP_REQUEST_PUT:
    return request_put(q, op, err);
  case CK__OP_REQUEST_SET:
    return request_set(q, op, err);
  case CK__OP_REVOKE:
    return revoke(q, op, err);
  case CK__OP_ETOKEN_PUT:
    return etoken_put(q, op, err);
  case CK__OP_ETOKEN_USE:
    return etoken_use(q, op, err);
  case CK__OP_APITOKEN_PUT:
    return apitoken_put(q, op, err);
  case CK__OP_APITOKEN_REVOKE:
    return apitoken_revoke(q, op, err);
  case CK__OP_CA_PUT:
    return ca_put(q, op, err);
  case CK__OP_CA_CRL_NUMBER:
    return ca_crl_number(q, op, err);
  case CK__OP_AUDIT:
    return audit_append(q, op, err);
  case CK__OP_AGENT_REPORT:
    return agent_report(q, op, err);
  case CK__OP_AGENT_HOST:
    return agent_host(q, op, err);
  case CK__OP_PLAN_PUT:
    return plan_put(q, op, err);
  case CK__OP_DOC_PUT:
    return ck__sq_doc_put(q, op, err);
  case CK__OP_DOC_DEL:
    return ck__sq_doc_del(q, op, err);
  default:
    return ck_failf(err, CK_ERR_INTERNAL, "store: unknown operation %d",
                    (int)op->kind);
  }
}
