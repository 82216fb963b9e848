/* sqlite_read.c — the SQLite backend's reads. Each borrows a read
 * connection from the pool, runs one cached statement (plus DER lookups
 * when asked), decodes rows into the caller's arena and returns the
 * connection. Lists fetch limit+1 rows to know whether a next page exists
 * and page by keyset (id > cursor, or (not_after, id) for expiry), so a page
 * costs the same at row 10 and at row 1,000,000. */
#include "coordinator/store/sqlite_int.h"

#include <ctype.h>
#include <string.h>

/* ------------------------------------------- shared with sqlite_docs.c */

const char *ck__sq_col_str(ck__sq_dec *d, sqlite3_stmt *st, int i) {
  const unsigned char *t = sqlite3_column_text(st, i);
  int n = sqlite3_column_bytes(st, i);
  char *s;

  if (t == NULL)
    return "";
  s = ck_arena_strndup(d->a, (const char *)t, (size_t)n);
  if (s == NULL) {
    d->oom = 1;
    return "";
  }
  return s;
}

ck_err ck__sq_rd_begin(ck__sq_rd *r, ck__sq *q, const char *sql,
                       ck_errctx *err) {
  r->q = q;
  r->b = SQLITE_OK;
  r->st = NULL;
  r->c = ck__sq_reader_get(q, err);
  if (r->c == NULL)
    return err != NULL && err->code != CK_OK ? err->code : CK_ERR_STORE;
  r->st = ck__sq_stmt(r->c, sql, err);
  if (r->st == NULL) {
    ck__sq_reader_put(q, r->c);
    return err != NULL && err->code != CK_OK ? err->code : CK_ERR_STORE;
  }
  return CK_OK;
}

void ck__sq_rd_end(ck__sq_rd *r) {
  ck__sq_done(r->st);
  ck__sq_reader_put(r->q, r->c);
}

static const uint8_t *col_blob(ck__sq_dec *d, sqlite3_stmt *st, int i,
                               size_t *len) {
  const void *b = sqlite3_column_blob(st, i);
  int n = sqlite3_column_bytes(st, i);
  uint8_t *copy;

  *len = 0;
  if (b == NULL || n <= 0)
    return NULL;
  copy = ck_arena_alloc(d->a, (size_t)n);
  if (copy == NULL) {
    d->oom = 1;
    return NULL;
  }
  memcpy(copy, b, (size_t)n);
  *len = (size_t)n;
  return copy;
}

static void col_hex(sqlite3_stmt *st, int i, char out[CK_SHA256_HEX_LEN]) {
  const void *b = sqlite3_column_blob(st, i);

  if (b == NULL || sqlite3_column_bytes(st, i) != CK_SHA256_LEN) {
    out[0] = '\0';
    return;
  }
  ck__store_hex32_fmt(b, out);
}

#define I64(st, i) sqlite3_column_int64((st), (i))
#define INT(st, i) sqlite3_column_int((st), (i))

/* ---------------------------------------------------------------- rows */

#define CERT_COLS                                                              \
  "c.id, c.fingerprint, c.spki, c.serial, c.subject, c.issuer, c.sans,"        \
  " c.not_before, c.not_after, c.key_type, c.key_bits, c.sig_alg,"             \
  " coalesce(c.ca_id, 0), coalesce(c.profile, ''), coalesce(c.owner, ''),"     \
  " c.status, c.source, c.managed, c.weak_flags, c.weak_reason,"               \
  " c.created_at, c.updated_at"

#define SHARED_REASON "key shared across hosts"

static int64_t row_cert(ck__sq_dec *d, sqlite3_stmt *st, void *item) {
  ck_store_cert *c = item;
  const char *reason;

  memset(c, 0, sizeof *c);
  c->id = I64(st, 0);
  col_hex(st, 1, c->fingerprint);
  col_hex(st, 2, c->spki_sha256);
  c->serial_hex = ck__sq_col_str(d, st, 3);
  c->subject = ck__sq_col_str(d, st, 4);
  c->issuer = ck__sq_col_str(d, st, 5);
  c->sans = ck__sq_col_str(d, st, 6);
  c->not_before = I64(st, 7);
  c->not_after = I64(st, 8);
  c->key_type = ck__sq_col_str(d, st, 9);
  c->key_bits = (unsigned)INT(st, 10);
  c->sig_alg = ck__sq_col_str(d, st, 11);
  c->ca_id = I64(st, 12);
  c->profile = ck__sq_col_str(d, st, 13);
  c->owner = ck__sq_col_str(d, st, 14);
  c->status = (ck_cert_status)INT(st, 15);
  c->source = (ck_cert_source)INT(st, 16);
  c->managed = INT(st, 17);
  c->weak_flags = (unsigned)INT(st, 18);
  reason = ck__sq_col_str(d, st, 19);
  if (c->weak_flags & CK_WEAK_SHARED_KEY) {
    size_t l = strlen(reason);
    char *r = ck_arena_alloc(d->a, l + sizeof SHARED_REASON + 2);
    if (r == NULL) {
      d->oom = 1;
    } else {
      memcpy(r, reason, l);
      if (l > 0) {
        memcpy(r + l, "; ", 2);
        l += 2;
      }
      memcpy(r + l, SHARED_REASON, sizeof SHARED_REASON);
      reason = r;
    }
  }
  c->weak_reason = reason;
  c->created_at = I64(st, 20);
  c->updated_at = I64(st, 21);
  return c->id;
}

static int64_t row_install(ck__sq_dec *d, sqlite3_stmt *st, void *item) {
  ck_store_install *in = item;

  memset(in, 0, sizeof *in);
  in->id = I64(st, 0);
  col_hex(st, 1, in->cert_fp);
  in->agent_id = ck__sq_col_str(d, st, 2);
  in->path = ck__sq_col_str(d, st, 3);
  in->service = ck__sq_col_str(d, st, 4);
  in->endpoint = ck__sq_col_str(d, st, 5);
  in->first_seen = I64(st, 6);
  in->last_seen = I64(st, 7);
  return in->id;
}

#define AGENT_COLS                                                             \
  "id, agent_id, name, grp, identity_fp, status, enrolled_at, last_seen,"      \
  " platform, version, report_seq, host, host_at"

static int64_t row_agent(ck__sq_dec *d, sqlite3_stmt *st, void *item) {
  ck_store_agent *a = item;

  memset(a, 0, sizeof *a);
  a->rowid = I64(st, 0);
  a->id = ck__sq_col_str(d, st, 1);
  a->name = ck__sq_col_str(d, st, 2);
  a->group = ck__sq_col_str(d, st, 3);
  col_hex(st, 4, a->identity_fp);
  a->status = (ck_agent_status)INT(st, 5);
  a->enrolled_at = I64(st, 6);
  a->last_seen = I64(st, 7);
  a->platform = ck__sq_col_str(d, st, 8);
  a->version = ck__sq_col_str(d, st, 9);
  a->report_seq = I64(st, 10);
  a->host = ck__sq_col_str(d, st, 11);
  a->host_at = I64(st, 12);
  return a->rowid;
}

#define OWNER_COLS "id, name, email, webhook, created_at, updated_at"

static int64_t row_owner(ck__sq_dec *d, sqlite3_stmt *st, void *item) {
  ck_store_owner *o = item;

  memset(o, 0, sizeof *o);
  o->id = I64(st, 0);
  o->name = ck__sq_col_str(d, st, 1);
  o->email = ck__sq_col_str(d, st, 2);
  o->webhook = ck__sq_col_str(d, st, 3);
  o->created_at = I64(st, 4);
  o->updated_at = I64(st, 5);
  return o->id;
}

#define PROFILE_COLS "name, version, ca_id, body, deleted, actor, created_at"

static int64_t row_profile(ck__sq_dec *d, sqlite3_stmt *st, void *item) {
  ck_store_profile *p = item;

  memset(p, 0, sizeof *p);
  p->name = ck__sq_col_str(d, st, 0);
  p->version = I64(st, 1);
  p->ca_id = I64(st, 2);
  p->body = ck__sq_col_str(d, st, 3);
  p->deleted = INT(st, 4);
  p->actor = ck__sq_col_str(d, st, 5);
  p->created_at = I64(st, 6);
  return p->version;
}

#define REQUEST_COLS                                                           \
  "id, agent_id, token_id, actor, profile, profile_version, csr, state,"       \
  " reason, cert_fp, created_at, updated_at"

static int64_t row_request(ck__sq_dec *d, sqlite3_stmt *st, void *item) {
  ck_store_request *r = item;

  memset(r, 0, sizeof *r);
  r->id = I64(st, 0);
  r->agent_id = ck__sq_col_str(d, st, 1);
  r->token_id = ck__sq_col_str(d, st, 2);
  r->actor = ck__sq_col_str(d, st, 3);
  r->profile = ck__sq_col_str(d, st, 4);
  r->profile_version = I64(st, 5);
  r->csr = col_blob(d, st, 6, &r->csr_len);
  r->state = (ck_request_state)INT(st, 7);
  r->reason = ck__sq_col_str(d, st, 8);
  col_hex(st, 9, r->cert_fp);
  r->created_at = I64(st, 10);
  r->updated_at = I64(st, 11);
  return r->id;
}

#define REVOCATION_COLS                                                        \
  "r.id, c.fingerprint, r.serial, r.ca_id, r.reason, r.revoked_at, r.actor"

static int64_t row_revocation(ck__sq_dec *d, sqlite3_stmt *st, void *item) {
  ck_store_revocation *r = item;

  memset(r, 0, sizeof *r);
  r->id = I64(st, 0);
  col_hex(st, 1, r->cert_fp);
  r->serial_hex = ck__sq_col_str(d, st, 2);
  r->ca_id = I64(st, 3);
  r->reason = INT(st, 4);
  r->revoked_at = I64(st, 5);
  r->actor = ck__sq_col_str(d, st, 6);
  return r->id;
}

#define ETOKEN_COLS                                                            \
  "id, token_id, hash, grp, profiles, san_patterns, actor, created_at,"        \
  " expires_at, used_at, used_by"

static int64_t row_etoken(ck__sq_dec *d, sqlite3_stmt *st, void *item) {
  ck_store_etoken *t = item;

  memset(t, 0, sizeof *t);
  t->id = ck__sq_col_str(d, st, 1);
  col_hex(st, 2, t->hash);
  t->group = ck__sq_col_str(d, st, 3);
  t->profiles = ck__sq_col_str(d, st, 4);
  t->san_patterns = ck__sq_col_str(d, st, 5);
  t->actor = ck__sq_col_str(d, st, 6);
  t->created_at = I64(st, 7);
  t->expires_at = I64(st, 8);
  t->used_at = I64(st, 9);
  t->used_by = ck__sq_col_str(d, st, 10);
  return I64(st, 0);
}

#define APITOKEN_COLS                                                          \
  "id, name, hash, role, owner, created_at, expires_at, revoked"

static int64_t row_apitoken(ck__sq_dec *d, sqlite3_stmt *st, void *item) {
  ck_store_apitoken *t = item;

  memset(t, 0, sizeof *t);
  t->id = I64(st, 0);
  t->name = ck__sq_col_str(d, st, 1);
  col_hex(st, 2, t->hash);
  t->role = ck__sq_col_str(d, st, 3);
  t->owner = ck__sq_col_str(d, st, 4);
  t->created_at = I64(st, 5);
  t->expires_at = I64(st, 6);
  t->revoked = INT(st, 7);
  return t->id;
}

#define CA_COLS                                                                \
  "id, name, cert_der, key_path, coalesce(parent_id, 0), is_default,"          \
  " next_crl_number, created_at"

static int64_t row_ca(ck__sq_dec *d, sqlite3_stmt *st, void *item) {
  ck_store_ca *ca = item;

  memset(ca, 0, sizeof *ca);
  ca->id = I64(st, 0);
  ca->name = ck__sq_col_str(d, st, 1);
  ca->cert_der = col_blob(d, st, 2, &ca->cert_der_len);
  ca->key_path = ck__sq_col_str(d, st, 3);
  ca->parent_id = I64(st, 4);
  ca->is_default = INT(st, 5);
  ca->next_crl_number = I64(st, 6);
  ca->created_at = I64(st, 7);
  return ca->id;
}

#define AUDIT_COLS                                                             \
  "seq, time, actor, action, object_type, object_id, details, prev_hash, hash"

static int64_t row_audit(ck__sq_dec *d, sqlite3_stmt *st, void *item) {
  ck_audit_event *ev = item;
  const void *h;

  memset(ev, 0, sizeof *ev);
  ev->seq = I64(st, 0);
  ev->time = I64(st, 1);
  ev->actor = ck__sq_col_str(d, st, 2);
  ev->action = ck__sq_col_str(d, st, 3);
  ev->object_type = ck__sq_col_str(d, st, 4);
  ev->object_id = ck__sq_col_str(d, st, 5);
  ev->details = ck__sq_col_str(d, st, 6);
  /* a malformed hash column decodes as zeros: verify reports the row */
  h = sqlite3_column_blob(st, 7);
  if (h != NULL && sqlite3_column_bytes(st, 7) == CK_SHA256_LEN)
    memcpy(ev->prev_hash, h, CK_SHA256_LEN);
  h = sqlite3_column_blob(st, 8);
  if (h != NULL && sqlite3_column_bytes(st, 8) == CK_SHA256_LEN)
    memcpy(ev->hash, h, CK_SHA256_LEN);
  return ev->seq;
}

/* ---------------------------------------------------------------- running */

/* Steps the statement for one row into item: CK_ERR_NOT_FOUND (no message)
 * when there is none. Ends the read. */
static ck_err rd_one(ck__sq_rd *r, ck__sq_row_fn fn, void *item, ck_arena *a,
                     ck_errctx *err) {
  ck__sq_dec d = {a, 0};
  int src = r->b != SQLITE_OK ? r->b : sqlite3_step(r->st);
  ck_err rc = CK_OK;

  if (src == SQLITE_ROW)
    fn(&d, r->st, item);
  else if (src == SQLITE_DONE)
    rc = CK_ERR_NOT_FOUND;
  else
    rc = ck__sq_fail(r->c, src, "reading", err);
  if (rc == CK_OK && d.oom)
    rc = ck_failf(err, CK_ERR_NOMEM, "store: out of memory");
  ck__sq_rd_end(r);
  return rc;
}

ck_err ck__sq_rd_many(ck__sq_rd *r, ck__sq_row_fn fn, size_t elem,
                      unsigned limit, ck_arena *a, void **items, size_t *n,
                      int *more, int64_t *last_key, const char *what,
                      ck_errctx *err) {
  ck__sq_dec d = {a, 0};
  uint8_t *arr = ck_arena_alloc(a, elem * (limit ? limit : 1));
  size_t k = 0;
  int src = r->b;

  *more = 0;
  if (arr == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "store: out of memory");
  while (src == SQLITE_OK || src == SQLITE_ROW) {
    src = sqlite3_step(r->st);
    if (src != SQLITE_ROW)
      break;
    if (k == limit) {
      *more = 1;
      src = SQLITE_DONE;
      break;
    }
    *last_key = fn(&d, r->st, arr + k * elem);
    k++;
  }
  if (src != SQLITE_DONE)
    return ck__sq_fail(r->c, src, what, err);
  if (d.oom)
    return ck_failf(err, CK_ERR_NOMEM, "store: out of memory");
  *items = arr;
  *n = k;
  return CK_OK;
}

/* Runs a list with an integer keyset cursor and sets pg->next_cursor. */
static ck_err rd_list(ck__sq_rd *r, ck__sq_row_fn fn, size_t elem,
                      unsigned limit, ck_store_page *pg, ck_arena *a,
                      void **items, size_t *n, ck_errctx *err) {
  int more = 0;
  int64_t last = 0;
  ck_err rc = ck__sq_rd_many(r, fn, elem, limit, a, items, n, &more, &last,
                             "reading a list", err);

  ck__sq_rd_end(r);
  if (rc == CK_OK && more) {
    pg->next_cursor = ck__store_cursor_fmt(a, last, NULL);
    if (pg->next_cursor == NULL)
      rc = ck_failf(err, CK_ERR_NOMEM, "store: out of memory");
  }
  return rc;
}

#define BIND(r, call) ((r).b |= (call))

/* ---------------------------------------------------------------- certs */

static const char SQL_CERT_GET[] =
    "SELECT " CERT_COLS " FROM certs c WHERE c.fingerprint = ?1";
static const char SQL_DER_GET[] = "SELECT der FROM cert_der WHERE cert_id = ?1";

/* Fills c->der for each certificate (same connection). */
static ck_err attach_der(ck__sq_conn *conn, ck_store_cert *certs, size_t n,
                         ck_arena *a, ck_errctx *err) {
  sqlite3_stmt *st = ck__sq_stmt(conn, SQL_DER_GET, err);
  ck__sq_dec d = {a, 0};
  size_t i;

  if (st == NULL)
    return err != NULL && err->code != CK_OK ? err->code : CK_ERR_STORE;
  for (i = 0; i < n; i++) {
    int src;
    sqlite3_bind_int64(st, 1, certs[i].id);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW)
      certs[i].der = col_blob(&d, st, 0, &certs[i].der_len);
    ck__sq_done(st);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
      return ck__sq_fail(conn, src, "reading certificate DER", err);
  }
  if (d.oom)
    return ck_failf(err, CK_ERR_NOMEM, "store: out of memory");
  return CK_OK;
}

static ck_err sq_cert_get(void *be, const uint8_t fp[CK_SHA256_LEN],
                          int with_der, ck_arena *a, ck_store_cert *out,
                          ck_errctx *err) {
  ck__sq *q = be;
  ck__sq_rd r;
  ck_err rc;
  char hex[CK_SHA256_HEX_LEN];
  ck__sq_conn *conn;

  if ((rc = ck__sq_rd_begin(&r, q, SQL_CERT_GET, err)) != CK_OK)
    return rc;
  BIND(r, ck__sq_bind_hash_raw(r.st, 1, fp));
  conn = r.c;
  /* keep the connection for the DER: end the statement by hand */
  {
    ck__sq_dec d = {a, 0};
    int src = r.b != SQLITE_OK ? r.b : sqlite3_step(r.st);
    if (src == SQLITE_ROW)
      row_cert(&d, r.st, out);
    ck__sq_done(r.st);
    if (src == SQLITE_DONE) {
      rc = CK_ERR_NOT_FOUND;
    } else if (src != SQLITE_ROW) {
      rc = ck__sq_fail(conn, src, "reading a certificate", err);
    } else if (d.oom) {
      rc = ck_failf(err, CK_ERR_NOMEM, "store: out of memory");
    } else if (with_der) {
      rc = attach_der(conn, out, 1, a, err);
    }
  }
  ck__sq_reader_put(q, conn);
  if (rc == CK_ERR_NOT_FOUND) {
    ck__store_hex32_fmt(fp, hex);
    return ck_failf(err, rc, "store: certificate %s not found", hex);
  }
  return rc;
}

static const char SQL_CERTS_ALL[] =
    "SELECT " CERT_COLS " FROM certs c WHERE c.id > ?1"
    " ORDER BY c.id LIMIT ?2";
static const char SQL_CERTS_EXPIRING[] =
    "SELECT " CERT_COLS " FROM certs c WHERE c.status = 0"
    " AND c.not_after >= ?1 AND c.not_after < ?2"
    " AND (c.not_after, c.id) > (?3, ?4)"
    " ORDER BY c.not_after, c.id LIMIT ?5";
static const char SQL_CERTS_OWNER[] =
    "SELECT " CERT_COLS " FROM certs c WHERE c.owner = ?1"
    " AND c.id > ?2 ORDER BY c.id LIMIT ?3";
static const char SQL_CERTS_PROFILE[] =
    "SELECT " CERT_COLS " FROM certs c WHERE c.profile = ?1"
    " AND c.id > ?2 ORDER BY c.id LIMIT ?3";
static const char SQL_CERTS_CA[] =
    "SELECT " CERT_COLS " FROM certs c WHERE c.ca_id = ?1"
    " AND c.id > ?2 ORDER BY c.id LIMIT ?3";
static const char SQL_CERTS_SPKI[] =
    "SELECT " CERT_COLS " FROM certs c WHERE c.spki = ?1"
    " AND c.id > ?2 ORDER BY c.id LIMIT ?3";
static const char SQL_CERTS_SERIAL[] =
    "SELECT " CERT_COLS " FROM certs c WHERE c.serial = ?1"
    " AND (?4 = 0 OR c.ca_id = ?4) AND c.id > ?2 ORDER BY c.id LIMIT ?3";
static const char SQL_CERTS_UNMANAGED[] =
    "SELECT " CERT_COLS " FROM certs c WHERE c.managed = 0"
    " AND c.id > ?1 ORDER BY c.id LIMIT ?2";
static const char SQL_CERTS_WEAK[] =
    "SELECT " CERT_COLS " FROM certs c WHERE c.weak_flags != 0"
    " AND c.id > ?1 ORDER BY c.id LIMIT ?2";
static const char SQL_CERTS_AGENT[] =
    "SELECT " CERT_COLS " FROM (SELECT DISTINCT cert_id FROM installs"
    " WHERE agent_id = ?1 AND cert_id > ?2 ORDER BY cert_id LIMIT ?3) i"
    " JOIN certs c ON c.id = i.cert_id ORDER BY c.id";

static ck_err sq_cert_list(void *be, const ck_cert_filter *f, ck_store_page *pg,
                           unsigned limit, ck_arena *a, ck_store_cert **items,
                           size_t *n, ck_errctx *err) {
  static const char *const sqls[CK_CERTQ__MAX] = {
      [CK_CERTQ_ALL] = SQL_CERTS_ALL,
      [CK_CERTQ_EXPIRING] = SQL_CERTS_EXPIRING,
      [CK_CERTQ_OWNER] = SQL_CERTS_OWNER,
      [CK_CERTQ_AGENT] = SQL_CERTS_AGENT,
      [CK_CERTQ_PROFILE] = SQL_CERTS_PROFILE,
      [CK_CERTQ_CA] = SQL_CERTS_CA,
      [CK_CERTQ_UNMANAGED] = SQL_CERTS_UNMANAGED,
      [CK_CERTQ_WEAK] = SQL_CERTS_WEAK,
      [CK_CERTQ_SPKI] = SQL_CERTS_SPKI,
      [CK_CERTQ_SERIAL] = SQL_CERTS_SERIAL,
  };
  ck__sq *q = be;
  int64_t after = 0, after_na = 0, last = 0;
  char serial[CK_STORE_NAME_MAX + 1];
  void *arr = NULL;
  int more = 0;
  ck_err rc;
  ck__sq_rd r;

  if (f->by == CK_CERTQ_EXPIRING)
    rc = ck__store_cursor_pair(pg->cursor, &after_na, &after, err);
  else
    rc = ck__store_cursor_int(pg->cursor, &after, err);
  if (rc != CK_OK)
    return rc;
  if (f->by == CK_CERTQ_EXPIRING && (pg->cursor == NULL || !pg->cursor[0]))
    after_na = INT64_MIN;
  if ((rc = ck__sq_rd_begin(&r, q, sqls[f->by], err)) != CK_OK)
    return rc;
  switch (f->by) {
  case CK_CERTQ_EXPIRING:
    BIND(r, sqlite3_bind_int64(r.st, 1, f->from));
    BIND(r, sqlite3_bind_int64(r.st, 2, f->until));
    BIND(r, sqlite3_bind_int64(r.st, 3, after_na));
    BIND(r, sqlite3_bind_int64(r.st, 4, after));
    BIND(r, sqlite3_bind_int64(r.st, 5, (int64_t)limit + 1));
    break;
  case CK_CERTQ_ALL:
  case CK_CERTQ_UNMANAGED:
  case CK_CERTQ_WEAK:
    BIND(r, sqlite3_bind_int64(r.st, 1, after));
    BIND(r, sqlite3_bind_int64(r.st, 2, (int64_t)limit + 1));
    break;
  case CK_CERTQ_CA:
    BIND(r, sqlite3_bind_int64(r.st, 1, f->ca_id));
    BIND(r, sqlite3_bind_int64(r.st, 2, after));
    BIND(r, sqlite3_bind_int64(r.st, 3, (int64_t)limit + 1));
    break;
  case CK_CERTQ_SPKI:
    BIND(r, ck__sq_bind_hash(r.st, 1, f->key));
    BIND(r, sqlite3_bind_int64(r.st, 2, after));
    BIND(r, sqlite3_bind_int64(r.st, 3, (int64_t)limit + 1));
    break;
  case CK_CERTQ_SERIAL: {
    size_t i;
    for (i = 0; i < CK_STORE_NAME_MAX && f->key[i] != '\0'; i++)
      serial[i] = (char)tolower((unsigned char)f->key[i]);
    serial[i] = '\0';
    BIND(r, sqlite3_bind_text(r.st, 1, serial, -1, SQLITE_STATIC));
    BIND(r, sqlite3_bind_int64(r.st, 2, after));
    BIND(r, sqlite3_bind_int64(r.st, 3, (int64_t)limit + 1));
    BIND(r, sqlite3_bind_int64(r.st, 4, f->ca_id > 0 ? f->ca_id : 0));
    break;
  }
  default: /* owner, agent, profile: a text key */
    BIND(r, ck__sq_bind_text(r.st, 1, f->key));
    BIND(r, sqlite3_bind_int64(r.st, 2, after));
    BIND(r, sqlite3_bind_int64(r.st, 3, (int64_t)limit + 1));
    break;
  }
  rc = ck__sq_rd_many(&r, row_cert, sizeof(ck_store_cert), limit, a, &arr, n,
                      &more, &last, "reading a list", err);
  ck__sq_done(r.st);
  if (rc == CK_OK && f->with_der)
    rc = attach_der(r.c, arr, *n, a, err);
  ck__sq_reader_put(q, r.c);
  if (rc != CK_OK)
    return rc;
  *items = arr;
  if (more && *n > 0) {
    const ck_store_cert *lastc = &(*items)[*n - 1];
    pg->next_cursor =
        f->by == CK_CERTQ_EXPIRING
            ? ck__store_cursor_fmt(a, lastc->not_after, &lastc->id)
            : ck__store_cursor_fmt(a, lastc->id, NULL);
    if (pg->next_cursor == NULL)
      return ck_failf(err, CK_ERR_NOMEM, "store: out of memory");
  }
  return CK_OK;
}

/* ---------------------------------------------------------------- installs */

static const char SQL_INSTALLS_CERT[] =
    "SELECT i.id, c.fingerprint, i.agent_id, i.path, i.service, i.endpoint,"
    " i.first_seen, i.last_seen FROM installs i JOIN certs c"
    " ON c.id = i.cert_id WHERE i.cert_id ="
    " (SELECT id FROM certs WHERE fingerprint = ?1) AND i.id > ?2"
    " ORDER BY i.id LIMIT ?3";
static const char SQL_INSTALLS_AGENT[] =
    "SELECT i.id, c.fingerprint, i.agent_id, i.path, i.service, i.endpoint,"
    " i.first_seen, i.last_seen FROM installs i JOIN certs c"
    " ON c.id = i.cert_id WHERE i.agent_id = ?1 AND i.id > ?2"
    " ORDER BY i.id LIMIT ?3";

static ck_err sq_install_list(void *be, const uint8_t *cert_fp,
                              const char *agent_id, ck_store_page *pg,
                              unsigned limit, ck_arena *a,
                              ck_store_install **items, size_t *n,
                              ck_errctx *err) {
  int64_t after = 0;
  ck_err rc;
  ck__sq_rd r;

  if ((rc = ck__store_cursor_int(pg->cursor, &after, err)) != CK_OK)
    return rc;
  rc = ck__sq_rd_begin(
      &r, be, cert_fp != NULL ? SQL_INSTALLS_CERT : SQL_INSTALLS_AGENT, err);
  if (rc != CK_OK)
    return rc;
  if (cert_fp != NULL)
    BIND(r, ck__sq_bind_hash_raw(r.st, 1, cert_fp));
  else
    BIND(r, ck__sq_bind_text(r.st, 1, agent_id));
  BIND(r, sqlite3_bind_int64(r.st, 2, after));
  BIND(r, sqlite3_bind_int64(r.st, 3, (int64_t)limit + 1));
  return rd_list(&r, row_install, sizeof(ck_store_install), limit, pg, a,
                 (void **)items, n, err);
}

/* ---------------------------------------------------------------- agents */

static const char SQL_AGENT_GET[] =
    "SELECT " AGENT_COLS " FROM agents WHERE agent_id = ?1";
static const char SQL_AGENT_BY_FP[] =
    "SELECT " AGENT_COLS " FROM agents WHERE identity_fp = ?1";
static const char SQL_AGENTS[] =
    "SELECT " AGENT_COLS " FROM agents WHERE id > ?1"
    " ORDER BY id LIMIT ?2";

static ck_err sq_agent_get(void *be, const char *id, const uint8_t *identity_fp,
                           ck_arena *a, ck_store_agent *out, ck_errctx *err) {
  ck_err rc;
  ck__sq_rd r;

  rc = ck__sq_rd_begin(&r, be, id != NULL ? SQL_AGENT_GET : SQL_AGENT_BY_FP,
                       err);
  if (rc != CK_OK)
    return rc;
  if (id != NULL)
    BIND(r, ck__sq_bind_text(r.st, 1, id));
  else
    BIND(r, ck__sq_bind_hash_raw(r.st, 1, identity_fp));
  rc = rd_one(&r, row_agent, out, a, err);
  if (rc == CK_ERR_NOT_FOUND)
    return id != NULL ? ck_failf(err, rc, "store: agent %s not found", id)
                      : ck_failf(err, rc, "store: no agent has this identity");
  return rc;
}

static ck_err sq_agent_list(void *be, ck_store_page *pg, unsigned limit,
                            ck_arena *a, ck_store_agent **items, size_t *n,
                            ck_errctx *err) {
  int64_t after = 0;
  ck_err rc;
  ck__sq_rd r;

  if ((rc = ck__store_cursor_int(pg->cursor, &after, err)) != CK_OK ||
      (rc = ck__sq_rd_begin(&r, be, SQL_AGENTS, err)) != CK_OK)
    return rc;
  BIND(r, sqlite3_bind_int64(r.st, 1, after));
  BIND(r, sqlite3_bind_int64(r.st, 2, (int64_t)limit + 1));
  return rd_list(&r, row_agent, sizeof(ck_store_agent), limit, pg, a,
                 (void **)items, n, err);
}

/* ---------------------------------------------------------------- owners */

static const char SQL_OWNER_GET[] =
    "SELECT " OWNER_COLS " FROM owners WHERE name = ?1";
static const char SQL_OWNERS[] =
    "SELECT " OWNER_COLS " FROM owners WHERE id > ?1"
    " ORDER BY id LIMIT ?2";

static ck_err sq_owner_get(void *be, const char *name, ck_arena *a,
                           ck_store_owner *out, ck_errctx *err) {
  ck_err rc;
  ck__sq_rd r;

  if ((rc = ck__sq_rd_begin(&r, be, SQL_OWNER_GET, err)) != CK_OK)
    return rc;
  BIND(r, ck__sq_bind_text(r.st, 1, name));
  rc = rd_one(&r, row_owner, out, a, err);
  if (rc == CK_ERR_NOT_FOUND)
    return ck_failf(err, rc, "store: owner %s not found", name);
  return rc;
}

static ck_err sq_owner_list(void *be, ck_store_page *pg, unsigned limit,
                            ck_arena *a, ck_store_owner **items, size_t *n,
                            ck_errctx *err) {
  int64_t after = 0;
  ck_err rc;
  ck__sq_rd r;

  if ((rc = ck__store_cursor_int(pg->cursor, &after, err)) != CK_OK ||
      (rc = ck__sq_rd_begin(&r, be, SQL_OWNERS, err)) != CK_OK)
    return rc;
  BIND(r, sqlite3_bind_int64(r.st, 1, after));
  BIND(r, sqlite3_bind_int64(r.st, 2, (int64_t)limit + 1));
  return rd_list(&r, row_owner, sizeof(ck_store_owner), limit, pg, a,
                 (void **)items, n, err);
}

/* ---------------------------------------------------------------- profiles */

static const char SQL_PROFILE_LATEST[] =
    "SELECT " PROFILE_COLS " FROM profiles WHERE name = ?1"
    " ORDER BY version DESC LIMIT 1";
static const char SQL_PROFILE_VERSION[] =
    "SELECT " PROFILE_COLS " FROM profiles WHERE name = ?1 AND version = ?2";
static const char SQL_PROFILES_LATEST[] =
    "SELECT " PROFILE_COLS " FROM profiles p WHERE p.name > ?1"
    " AND p.version = (SELECT max(version) FROM profiles WHERE name = p.name)"
    " AND p.deleted = 0 ORDER BY p.name LIMIT ?2";
static const char SQL_PROFILE_HISTORY[] =
    "SELECT " PROFILE_COLS " FROM profiles WHERE name = ?1 AND version > ?2"
    " ORDER BY version LIMIT ?3";

static ck_err sq_profile_get(void *be, const char *name, int64_t version,
                             ck_arena *a, ck_store_profile *out,
                             ck_errctx *err) {
  ck_err rc;
  ck__sq_rd r;

  rc = ck__sq_rd_begin(
      &r, be, version > 0 ? SQL_PROFILE_VERSION : SQL_PROFILE_LATEST, err);
  if (rc != CK_OK)
    return rc;
  BIND(r, ck__sq_bind_text(r.st, 1, name));
  if (version > 0)
    BIND(r, sqlite3_bind_int64(r.st, 2, version));
  rc = rd_one(&r, row_profile, out, a, err);
  if (rc == CK_ERR_NOT_FOUND)
    return version > 0
               ? ck_failf(err, rc, "store: profile %s version %lld not found",
                          name, (long long)version)
               : ck_failf(err, rc, "store: profile %s not found", name);
  return rc;
}

static ck_err sq_profile_list(void *be, const char *name, ck_store_page *pg,
                              unsigned limit, ck_arena *a,
                              ck_store_profile **items, size_t *n,
                              ck_errctx *err) {
  int64_t after = 0, last = 0;
  void *arr = NULL;
  int more = 0;
  ck_err rc;
  ck__sq_rd r;

  if (name != NULL) { /* history: version cursor */
    if ((rc = ck__store_cursor_int(pg->cursor, &after, err)) != CK_OK ||
        (rc = ck__sq_rd_begin(&r, be, SQL_PROFILE_HISTORY, err)) != CK_OK)
      return rc;
    BIND(r, ck__sq_bind_text(r.st, 1, name));
    BIND(r, sqlite3_bind_int64(r.st, 2, after));
    BIND(r, sqlite3_bind_int64(r.st, 3, (int64_t)limit + 1));
    return rd_list(&r, row_profile, sizeof(ck_store_profile), limit, pg, a,
                   (void **)items, n, err);
  }
  /* latest of each: the cursor is the last name */
  if ((rc = ck__sq_rd_begin(&r, be, SQL_PROFILES_LATEST, err)) != CK_OK)
    return rc;
  BIND(r, sqlite3_bind_text(r.st, 1, pg->cursor != NULL ? pg->cursor : "", -1,
                            SQLITE_STATIC));
  BIND(r, sqlite3_bind_int64(r.st, 2, (int64_t)limit + 1));
  rc = ck__sq_rd_many(&r, row_profile, sizeof(ck_store_profile), limit, a, &arr,
                      n, &more, &last, "reading a list", err);
  ck__sq_rd_end(&r);
  if (rc != CK_OK)
    return rc;
  *items = arr;
  if (more && *n > 0) {
    pg->next_cursor = ck_arena_strdup(a, (*items)[*n - 1].name);
    if (pg->next_cursor == NULL)
      return ck_failf(err, CK_ERR_NOMEM, "store: out of memory");
  }
  return CK_OK;
}

/* ---------------------------------------------------------------- requests */

static const char SQL_REQUEST_GET[] =
    "SELECT " REQUEST_COLS " FROM requests WHERE id = ?1";
static const char SQL_REQUESTS_ALL[] =
    "SELECT " REQUEST_COLS " FROM requests WHERE id > ?1"
    " ORDER BY id LIMIT ?2";
static const char SQL_REQUESTS_STATE[] =
    "SELECT " REQUEST_COLS " FROM requests WHERE state = ?3 AND id > ?1"
    " ORDER BY id LIMIT ?2";

static ck_err sq_request_get(void *be, int64_t id, ck_arena *a,
                             ck_store_request *out, ck_errctx *err) {
  ck_err rc;
  ck__sq_rd r;

  if ((rc = ck__sq_rd_begin(&r, be, SQL_REQUEST_GET, err)) != CK_OK)
    return rc;
  BIND(r, sqlite3_bind_int64(r.st, 1, id));
  rc = rd_one(&r, row_request, out, a, err);
  if (rc == CK_ERR_NOT_FOUND)
    return ck_failf(err, rc, "store: request %lld not found", (long long)id);
  return rc;
}

static ck_err sq_request_list(void *be, int state, ck_store_page *pg,
                              unsigned limit, ck_arena *a,
                              ck_store_request **items, size_t *n,
                              ck_errctx *err) {
  int64_t after = 0;
  ck_err rc;
  ck__sq_rd r;

  if ((rc = ck__store_cursor_int(pg->cursor, &after, err)) != CK_OK ||
      (rc = ck__sq_rd_begin(&r, be,
                            state < 0 ? SQL_REQUESTS_ALL : SQL_REQUESTS_STATE,
                            err)) != CK_OK)
    return rc;
  BIND(r, sqlite3_bind_int64(r.st, 1, after));
  BIND(r, sqlite3_bind_int64(r.st, 2, (int64_t)limit + 1));
  if (state >= 0)
    BIND(r, sqlite3_bind_int(r.st, 3, state));
  return rd_list(&r, row_request, sizeof(ck_store_request), limit, pg, a,
                 (void **)items, n, err);
}

/* ---------------------------------------------------------------- revocations
 */

static const char SQL_REVOCATION_GET[] =
    "SELECT " REVOCATION_COLS " FROM revocations r JOIN certs c"
    " ON c.id = r.cert_id WHERE r.cert_id ="
    " (SELECT id FROM certs WHERE fingerprint = ?1)";
static const char SQL_REVOCATIONS_ALL[] =
    "SELECT " REVOCATION_COLS " FROM revocations r JOIN certs c"
    " ON c.id = r.cert_id WHERE r.id > ?1 ORDER BY r.id LIMIT ?2";
static const char SQL_REVOCATIONS_CA[] =
    "SELECT " REVOCATION_COLS " FROM revocations r JOIN certs c"
    " ON c.id = r.cert_id WHERE r.ca_id = ?3 AND r.id > ?1"
    " ORDER BY r.id LIMIT ?2";

static ck_err sq_revocation_get(void *be, const uint8_t fp[CK_SHA256_LEN],
                                ck_arena *a, ck_store_revocation *out,
                                ck_errctx *err) {
  ck_err rc;
  ck__sq_rd r;

  if ((rc = ck__sq_rd_begin(&r, be, SQL_REVOCATION_GET, err)) != CK_OK)
    return rc;
  BIND(r, ck__sq_bind_hash_raw(r.st, 1, fp));
  rc = rd_one(&r, row_revocation, out, a, err);
  if (rc == CK_ERR_NOT_FOUND)
    return ck_failf(err, rc, "store: certificate is not revoked");
  return rc;
}

static ck_err sq_revocation_list(void *be, int64_t ca_id, ck_store_page *pg,
                                 unsigned limit, ck_arena *a,
                                 ck_store_revocation **items, size_t *n,
                                 ck_errctx *err) {
  int64_t after = 0;
  ck_err rc;
  ck__sq_rd r;

  if ((rc = ck__store_cursor_int(pg->cursor, &after, err)) != CK_OK ||
      (rc = ck__sq_rd_begin(
           &r, be, ca_id > 0 ? SQL_REVOCATIONS_CA : SQL_REVOCATIONS_ALL,
           err)) != CK_OK)
    return rc;
  BIND(r, sqlite3_bind_int64(r.st, 1, after));
  BIND(r, sqlite3_bind_int64(r.st, 2, (int64_t)limit + 1));
  if (ca_id > 0)
    BIND(r, sqlite3_bind_int64(r.st, 3, ca_id));
  return rd_list(&r, row_revocation, sizeof(ck_store_revocation), limit, pg, a,
                 (void **)items, n, err);
}

/* ---------------------------------------------------------------- plans */

static const char SQL_PLANS_ALL[] =
    "SELECT id, cert_fp, state, doc, updated_at FROM revoke_plans"
    " WHERE id > ?1 ORDER BY id LIMIT ?2";
static const char SQL_PLANS_STATE[] =
    "SELECT id, cert_fp, state, doc, updated_at FROM revoke_plans"
    " WHERE id > ?1 AND state = ?3 ORDER BY id LIMIT ?2";

static int64_t row_plan(ck__sq_dec *d, sqlite3_stmt *st, void *item) {
  ck_store_plan *p = item;
  const char *fp;

  memset(p, 0, sizeof *p);
  p->id = I64(st, 0);
  fp = ck__sq_col_str(d, st, 1);
  if (fp != NULL)
    ck_strlcpy(p->cert_fp, fp, sizeof p->cert_fp);
  p->state = INT(st, 2);
  p->doc = ck__sq_col_str(d, st, 3);
  p->updated_at = I64(st, 4);
  return p->id;
}

static ck_err sq_plan_list(void *be, int state, ck_store_page *pg, unsigned limit,
                           ck_arena *a, ck_store_plan **items, size_t *n,
                           ck_errctx *err) {
  int64_t after = 0;
  ck_err rc;
  ck__sq_rd r;

  if ((rc = ck__store_cursor_int(pg->cursor, &after, err)) != CK_OK ||
      (rc = ck__sq_rd_begin(
           &r, be, state >= 0 ? SQL_PLANS_STATE : SQL_PLANS_ALL, err)) != CK_OK)
    return rc;
  BIND(r, sqlite3_bind_int64(r.st, 1, after));
  BIND(r, sqlite3_bind_int64(r.st, 2, (int64_t)limit + 1));
  if (state >= 0)
    BIND(r, sqlite3_bind_int(r.st, 3, state));
  return rd_list(&r, row_plan, sizeof(ck_store_plan), limit, pg, a, (void **)items, n, err);
}

/* ---------------------------------------------------------------- tokens */

static const char SQL_ETOKEN_GET[] =
    "SELECT " ETOKEN_COLS " FROM enroll_tokens WHERE hash = ?1";
static const char SQL_ETOKENS[] =
    "SELECT " ETOKEN_COLS " FROM enroll_tokens WHERE id > ?1"
    " ORDER BY id LIMIT ?2";
static const char SQL_ETOKEN_BY_AGENT[] =
    "SELECT " ETOKEN_COLS " FROM enroll_tokens WHERE used_by = ?1"
    " AND used_by != '' ORDER BY used_at DESC, id DESC LIMIT 1";
static const char SQL_APITOKEN_GET[] =
    "SELECT " APITOKEN_COLS " FROM api_tokens WHERE hash = ?1";
static const char SQL_APITOKENS[] =
    "SELECT " APITOKEN_COLS " FROM api_tokens WHERE id > ?1"
    " ORDER BY id LIMIT ?2";

static ck_err sq_etoken_get(void *be, const uint8_t hash[CK_SHA256_LEN],
                            ck_arena *a, ck_store_etoken *out, ck_errctx *err) {
  ck_err rc;
  ck__sq_rd r;

  if ((rc = ck__sq_rd_begin(&r, be, SQL_ETOKEN_GET, err)) != CK_OK)
    return rc;
  BIND(r, ck__sq_bind_hash_raw(r.st, 1, hash));
  rc = rd_one(&r, row_etoken, out, a, err);
  if (rc == CK_ERR_NOT_FOUND)
    return ck_failf(err, rc, "store: unknown enrollment token");
  return rc;
}

static ck_err sq_etoken_by_agent(void *be, const char *agent_id, ck_arena *a,
                                 ck_store_etoken *out, ck_errctx *err) {
  ck_err rc;
  ck__sq_rd r;

  if ((rc = ck__sq_rd_begin(&r, be, SQL_ETOKEN_BY_AGENT, err)) != CK_OK)
    return rc;
  BIND(r, ck__sq_bind_text(r.st, 1, agent_id));
  rc = rd_one(&r, row_etoken, out, a, err);
  if (rc == CK_ERR_NOT_FOUND)
    return ck_failf(err, rc, "store: agent %s has no enrollment token on "
                    "record", agent_id);
  return rc;
}

static ck_err sq_etoken_list(void *be, ck_store_page *pg, unsigned limit,
                             ck_arena *a, ck_store_etoken **items, size_t *n,
                             ck_errctx *err) {
  int64_t after = 0;
  ck_err rc;
  ck__sq_rd r;

  if ((rc = ck__store_cursor_int(pg->cursor, &after, err)) != CK_OK ||
      (rc = ck__sq_rd_begin(&r, be, SQL_ETOKENS, err)) != CK_OK)
    return rc;
  BIND(r, sqlite3_bind_int64(r.st, 1, after));
  BIND(r, sqlite3_bind_int64(r.st, 2, (int64_t)limit + 1));
  return rd_list(&r, row_etoken, sizeof(ck_store_etoken), limit, pg, a,
                 (void **)items, n, err);
}

static ck_err sq_apitoken_get(void *be, const uint8_t hash[CK_SHA256_LEN],
                              ck_arena *a, ck_store_apitoken *out,
                              ck_errctx *err) {
  ck_err rc;
  ck__sq_rd r;

  if ((rc = ck__sq_rd_begin(&r, be, SQL_APITOKEN_GET, err)) != CK_OK)
    return rc;
  BIND(r, ck__sq_bind_hash_raw(r.st, 1, hash));
  rc = rd_one(&r, row_apitoken, out, a, err);
  if (rc == CK_ERR_NOT_FOUND)
    return ck_failf(err, rc, "store: unknown API token");
  return rc;
}

static ck_err sq_apitoken_list(void *be, ck_store_page *pg, unsigned limit,
                               ck_arena *a, ck_store_apitoken **items,
                               size_t *n, ck_errctx *err) {
  int64_t after = 0;
  ck_err rc;
  ck__sq_rd r;

  if ((rc = ck__store_cursor_int(pg->cursor, &after, err)) != CK_OK ||
      (rc = ck__sq_rd_begin(&r, be, SQL_APITOKENS, err)) != CK_OK)
    return rc;
  BIND(r, sqlite3_bind_int64(r.st, 1, after));
  BIND(r, sqlite3_bind_int64(r.st, 2, (int64_t)limit + 1));
  return rd_list(&r, row_apitoken, sizeof(ck_store_apitoken), limit, pg, a,
                 (void **)items, n, err);
}

/* ---------------------------------------------------------------- CAs */

static const char SQL_CA_BY_ID[] = "SELECT " CA_COLS " FROM cas WHERE id = ?1";
static const char SQL_CA_BY_NAME[] =
    "SELECT " CA_COLS " FROM cas WHERE name = ?1";
static const char SQL_CA_DEFAULT[] =
    "SELECT " CA_COLS " FROM cas WHERE is_default = 1"
    " ORDER BY id LIMIT 1";
static const char SQL_CAS[] = "SELECT " CA_COLS " FROM cas WHERE id > ?1"
                              " ORDER BY id LIMIT ?2";

static ck_err sq_ca_get(void *be, int64_t id, const char *name, ck_arena *a,
                        ck_store_ca *out, ck_errctx *err) {
  const char *sql =
      id > 0 ? SQL_CA_BY_ID
             : (name != NULL && name[0] ? SQL_CA_BY_NAME : SQL_CA_DEFAULT);
  ck_err rc;
  ck__sq_rd r;

  if ((rc = ck__sq_rd_begin(&r, be, sql, err)) != CK_OK)
    return rc;
  if (sql == SQL_CA_BY_ID)
    BIND(r, sqlite3_bind_int64(r.st, 1, id));
  else if (sql == SQL_CA_BY_NAME)
    BIND(r, ck__sq_bind_text(r.st, 1, name));
  rc = rd_one(&r, row_ca, out, a, err);
  if (rc == CK_ERR_NOT_FOUND) {
    if (sql == SQL_CA_BY_ID)
      return ck_failf(err, rc, "store: CA %lld not found", (long long)id);
    if (sql == SQL_CA_BY_NAME)
      return ck_failf(err, rc, "store: CA %s not found", name);
    return ck_failf(err, rc, "store: no default CA");
  }
  return rc;
}

static ck_err sq_ca_list(void *be, ck_store_page *pg, unsigned limit,
                         ck_arena *a, ck_store_ca **items, size_t *n,
                         ck_errctx *err) {
  int64_t after = 0;
  ck_err rc;
  ck__sq_rd r;

  if ((rc = ck__store_cursor_int(pg->cursor, &after, err)) != CK_OK ||
      (rc = ck__sq_rd_begin(&r, be, SQL_CAS, err)) != CK_OK)
    return rc;
  BIND(r, sqlite3_bind_int64(r.st, 1, after));
  BIND(r, sqlite3_bind_int64(r.st, 2, (int64_t)limit + 1));
  return rd_list(&r, row_ca, sizeof(ck_store_ca), limit, pg, a, (void **)items,
                 n, err);
}

/* ---------------------------------------------------------------- audit */

static const char SQL_AUDIT_LIST[] =
    "SELECT " AUDIT_COLS " FROM audit WHERE seq > ?1"
    " ORDER BY seq LIMIT ?2";
static const char SQL_AUDIT_HEAD[] =
    "SELECT seq, hash FROM audit_head WHERE id = 1";

static ck_err sq_audit_list(void *be, int64_t after_seq, unsigned limit,
                            ck_arena *a, ck_audit_event **items, size_t *n,
                            ck_errctx *err) {
  ck_store_page pg = {0, NULL, NULL};
  ck_err rc;
  ck__sq_rd r;

  if ((rc = ck__sq_rd_begin(&r, be, SQL_AUDIT_LIST, err)) != CK_OK)
    return rc;
  BIND(r, sqlite3_bind_int64(r.st, 1, after_seq));
  BIND(r, sqlite3_bind_int64(r.st, 2, (int64_t)limit + 1));
  return rd_list(&r, row_audit, sizeof(ck_audit_event), limit, &pg, a,
                 (void **)items, n, err);
}

static ck_err sq_audit_head(void *be, int64_t *seq, uint8_t hash[CK_SHA256_LEN],
                            ck_errctx *err) {
  ck_err rc;
  ck__sq_rd r;
  int src;

  if ((rc = ck__sq_rd_begin(&r, be, SQL_AUDIT_HEAD, err)) != CK_OK)
    return rc;
  *seq = 0;
  memset(hash, 0, CK_SHA256_LEN);
  src = sqlite3_step(r.st);
  if (src == SQLITE_ROW) {
    const void *h = sqlite3_column_blob(r.st, 1);
    *seq = sqlite3_column_int64(r.st, 0);
    if (h != NULL && sqlite3_column_bytes(r.st, 1) == CK_SHA256_LEN)
      memcpy(hash, h, CK_SHA256_LEN);
  } else if (src != SQLITE_DONE) {
    rc = ck__sq_fail(r.c, src, "reading the audit head", err);
  }
  ck__sq_rd_end(&r);
  return rc;
}

void ck__sq_read_ops(ck__store_backend *ops) {
  ops->cert_get = sq_cert_get;
  ops->cert_list = sq_cert_list;
  ops->install_list = sq_install_list;
  ops->agent_get = sq_agent_get;
  ops->agent_list = sq_agent_list;
  ops->owner_get = sq_owner_get;
  ops->owner_list = sq_owner_list;
  ops->profile_get = sq_profile_get;
  ops->profile_list = sq_profile_list;
  ops->request_get = sq_request_get;
  ops->request_list = sq_request_list;
  ops->revocation_get = sq_revocation_get;
  ops->revocation_list = sq_revocation_list;
  ops->plan_list = sq_plan_list;
  ck__sq_doc_read_ops(ops);
  ops->etoken_get = sq_etoken_get;
  ops->etoken_list = sq_etoken_list;
  ops->etoken_by_agent = sq_etoken_by_agent;
  ops->apitoken_get = sq_apitoken_get;
  ops->apitoken_list = sq_apitoken_list;
  ops->ca_get = sq_ca_get;
  ops->ca_list = sq_ca_list;
  ops->audit_list = sq_audit_list;
  ops->audit_head = sq_audit_head;
}
