/* store_write.c — building writes: each builder validates one operation's
 * input (required fields, lengths, enums, hex hashes) and copies it into the
 * write's arena, so the caller's record may be freed at once and the
 * backend only ever sees checked data. */
#include "coordinator/store/store_int.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 4096

ck_store_write *ck_store_write_new(void) {
  ck_store_write *w = calloc(1, sizeof *w);

  if (w == NULL)
    return NULL;
  w->arena = ck_arena_new(ARENA_BLOCK);
  if (w->arena == NULL) {
    free(w);
    return NULL;
  }
  return w;
}

void ck_store_write_free(ck_store_write *w) {
  if (w == NULL)
    return;
  ck_arena_free(w->arena);
  free(w->ops);
  free(w);
}

void ck_store_write_reset(ck_store_write *w) {
  if (w == NULL || w->submitted)
    return;
  ck_arena_reset(w->arena);
  w->n_ops = 0;
  w->rc = CK_OK;
  w->failed_op = 0;
  ck_errctx_clear(&w->err);
}

size_t ck_store_write_count(const ck_store_write *w) {
  return w != NULL ? w->n_ops : 0;
}

int64_t ck_store_write_result(const ck_store_write *w, size_t idx) {
  if (w == NULL || w->submitted || w->rc != CK_OK || idx >= w->n_ops)
    return 0;
  return w->ops[idx].result;
}

ck_err ck_store_write_status(const ck_store_write *w) {
  return w != NULL ? w->rc : CK_ERR_INVAL;
}

const char *ck_store_write_errmsg(const ck_store_write *w) {
  if (w == NULL || w->rc == CK_OK)
    return "";
  return ck_errctx_msg(&w->err);
}

size_t ck_store_write_failed_op(const ck_store_write *w) {
  return w != NULL ? w->failed_op : 0;
}

const char *ck__store_op_name(ck__store_op_kind kind) {
  static const char *const names[CK__OP__MAX] = {
      [CK__OP_CERT_PUT] = "cert.put",
      [CK__OP_CERT_SET] = "cert.set",
      [CK__OP_EXPIRE_SWEEP] = "cert.expire_sweep",
      [CK__OP_INSTALL_PUT] = "install.put",
      [CK__OP_INSTALL_DEL] = "install.delete",
      [CK__OP_AGENT_PUT] = "agent.put",
      [CK__OP_AGENT_SEEN] = "agent.seen",
      [CK__OP_OWNER_PUT] = "owner.put",
      [CK__OP_OWNER_DEL] = "owner.delete",
      [CK__OP_PROFILE_PUT] = "profile.put",
      [CK__OP_REQUEST_PUT] = "request.put",
      [CK__OP_REQUEST_SET] = "request.set",
      [CK__OP_REVOKE] = "cert.revoke",
      [CK__OP_ETOKEN_PUT] = "etoken.put",
      [CK__OP_ETOKEN_USE] = "etoken.use",
      [CK__OP_APITOKEN_PUT] = "apitoken.put",
      [CK__OP_APITOKEN_REVOKE] = "apitoken.revoke",
      [CK__OP_CA_PUT] = "ca.put",
      [CK__OP_CA_CRL_NUMBER] = "ca.crl_number",
      [CK__OP_AUDIT] = "audit.append",
      [CK__OP_AGENT_REPORT] = "agent.report",
      [CK__OP_AGENT_HOST] = "agent.host",
      [CK__OP_PLAN_PUT] = "plan.put",
      [CK__OP_DOC_PUT] = "doc.put",
      [CK__OP_DOC_DEL] = "doc.delete",
  };
  if ((unsigned)kind >= CK__OP__MAX || names[kind] == NULL)
    return "?";
  return names[kind];
}

/* ------------------------------------------------------------- helpers */

/* Returns a zeroed slot for a new operation (not yet counted), or NULL. */
static ck__store_op *slot(ck_store_write *w, ck__store_op_kind kind,
                          ck_errctx *err, ck_err *rc) {
  ck__store_op *op;

  if (w == NULL || w->submitted) {
    *rc = ck_failf(err, CK_ERR_INVAL,
                   "store: write is NULL or already submitted");
    return NULL;
  }
  if (w->n_ops == w->cap_ops) {
    size_t cap = w->cap_ops ? w->cap_ops * 2 : 4;
    ck__store_op *ops = realloc(w->ops, cap * sizeof *ops);
    if (ops == NULL) {
      *rc = ck_failf(err, CK_ERR_NOMEM, "store: out of memory");
      return NULL;
    }
    w->ops = ops;
    w->cap_ops = cap;
  }
  op = &w->ops[w->n_ops];
  memset(op, 0, sizeof *op);
  op->kind = kind;
  *rc = CK_OK;
  return op;
}

/* Copies a string field: NULL and "" are refused when required, else NULL
 * becomes "". Returns CK_OK or the error (message names the field). */
static ck_err str(ck_store_write *w, const char *field, const char *src,
                  size_t max, int required, const char **dst, ck_errctx *err) {
  size_t len;
  char *copy;

  if (src == NULL || src[0] == '\0') {
    if (required)
      return ck_failf(err, CK_ERR_INVAL, "store: %s is required", field);
    *dst = "";
    return CK_OK;
  }
  len = strnlen(src, max + 1);
  if (len > max)
    return ck_failf(err, CK_ERR_LIMIT, "store: %s is longer than %zu bytes",
                    field, max);
  copy = ck_arena_strndup(w->arena, src, len);
  if (copy == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "store: out of memory");
  *dst = copy;
  return CK_OK;
}

static ck_err blob(ck_store_write *w, const char *field, const uint8_t *src,
                   size_t len, size_t max, int required, const uint8_t **dst,
                   size_t *dst_len, ck_errctx *err) {
  uint8_t *copy;

  if (src == NULL || len == 0) {
    if (required)
      return ck_failf(err, CK_ERR_INVAL, "store: %s is required", field);
    *dst = NULL;
    *dst_len = 0;
    return CK_OK;
  }
  if (len > max)
    return ck_failf(err, CK_ERR_LIMIT, "store: %s is %zu bytes, more than %zu",
                    field, len, max);
  copy = ck_arena_alloc(w->arena, len);
  if (copy == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "store: out of memory");
  memcpy(copy, src, len);
  *dst = copy;
  *dst_len = len;
  return CK_OK;
}

/* Validates a SHA-256 hex field and stores it lower-cased; "" allowed when
 * not required. */
static ck_err hash(const char *field, const char *src, int required,
                   char dst[CK_SHA256_HEX_LEN], ck_errctx *err) {
  uint8_t raw[CK_SHA256_LEN];

  if (src == NULL || src[0] == '\0') {
    if (required)
      return ck_failf(err, CK_ERR_INVAL, "store: %s is required", field);
    dst[0] = '\0';
    return CK_OK;
  }
  if (ck__store_hex32(src, raw) != 0)
    return ck_failf(err, CK_ERR_PARSE,
                    "store: %s is not a SHA-256 (64 hex digits)", field);
  ck__store_hex32_fmt(raw, dst);
  return CK_OK;
}

static ck_err range(const char *field, int64_t v, int64_t lo, int64_t hi,
                    ck_errctx *err) {
  if (v < lo || v > hi)
    return ck_failf(err, CK_ERR_INVAL, "store: %s %lld is out of range", field,
                    (long long)v);
  return CK_OK;
}

static void lower(char *s) {
  for (; *s != '\0'; s++)
    if (*s >= 'A' && *s <= 'Z')
      *s = (char)(*s - 'A' + 'a');
}

#define TRY(x)                                                                 \
  do {                                                                         \
    if ((rc = (x)) != CK_OK)                                                   \
      return rc;                                                               \
  } while (0)

#define NAME CK_STORE_NAME_MAX
#define TEXT CK_STORE_TEXT_MAX

/* ------------------------------------------------------------- builders */

ck_err ck_store_write_cert_put(ck_store_write *w, const ck_store_cert *c,
                               ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, CK__OP_CERT_PUT, err, &rc);
  ck_store_cert *d;

  if (op == NULL)
    return rc;
  if (c == NULL)
    return ck_failf(err, CK_ERR_INVAL, "store: certificate is NULL");
  d = &op->u.cert;
  TRY(hash("cert.fingerprint", c->fingerprint, 1, d->fingerprint, err));
  TRY(hash("cert.spki_sha256", c->spki_sha256, 1, d->spki_sha256, err));
  TRY(str(w, "cert.serial_hex", c->serial_hex, NAME, 1, &d->serial_hex, err));
  lower((char *)d->serial_hex);
  TRY(str(w, "cert.subject", c->subject, TEXT, 0, &d->subject, err));
  TRY(str(w, "cert.issuer", c->issuer, TEXT, 0, &d->issuer, err));
  TRY(str(w, "cert.sans", c->sans, CK_STORE_SANS_MAX, 0, &d->sans, err));
  TRY(str(w, "cert.key_type", c->key_type, NAME, 1, &d->key_type, err));
  TRY(str(w, "cert.sig_alg", c->sig_alg, NAME, 1, &d->sig_alg, err));
  TRY(str(w, "cert.profile", c->profile, NAME, 0, &d->profile, err));
  TRY(str(w, "cert.owner", c->owner, NAME, 0, &d->owner, err));
  TRY(str(w, "cert.weak_reason", c->weak_reason, TEXT, 0, &d->weak_reason,
          err));
  TRY(blob(w, "cert.der", c->der, c->der_len, CK_STORE_BLOB_MAX, 1, &d->der,
           &d->der_len, err));
  TRY(range("cert.status", c->status, CK_CERT_ACTIVE, CK_CERT_SUPERSEDED, err));
  TRY(range("cert.source", c->source, CK_CERT_SRC_ISSUED,
            CK_CERT_SRC_DISCOVERED, err));
  TRY(range("cert.ca_id", c->ca_id, 0, INT64_MAX, err));
  TRY(range("cert.weak_flags", c->weak_flags, 0, 0xffff, err));
  if (c->not_after < c->not_before)
    return ck_failf(err, CK_ERR_INVAL,
                    "store: cert.not_after is before cert.not_before");
  d->not_before = c->not_before;
  d->not_after = c->not_after;
  d->key_bits = c->key_bits;
  d->ca_id = c->ca_id;
  d->status = c->status;
  d->source = c->source;
  d->weak_flags = c->weak_flags & ~(unsigned)CK_WEAK_SHARED_KEY;
  w->n_ops++;
  return CK_OK;
}

ck_err ck_store_write_cert_set(ck_store_write *w, const char *fingerprint,
                               const ck_store_cert_patch *p, ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, CK__OP_CERT_SET, err, &rc);

  if (op == NULL)
    return rc;
  if (p == NULL)
    return ck_failf(err, CK_ERR_INVAL, "store: certificate patch is NULL");
  TRY(hash("fingerprint", fingerprint, 1, op->u.cert_set.fp, err));
  op->u.cert_set.patch.owner = NULL;
  op->u.cert_set.patch.profile = NULL;
  if (p->owner != NULL)
    TRY(str(w, "owner", p->owner, NAME, 0, &op->u.cert_set.patch.owner, err));
  if (p->profile != NULL)
    TRY(str(w, "profile", p->profile, NAME, 0, &op->u.cert_set.patch.profile,
            err));
  TRY(range("status", p->status, -1, CK_CERT_SUPERSEDED, err));
  TRY(range("managed", p->managed, -1, 1, err));
  op->u.cert_set.patch.status = p->status;
  op->u.cert_set.patch.managed = p->managed;
  w->n_ops++;
  return CK_OK;
}

ck_err ck_store_write_expire_sweep(ck_store_write *w, int64_t now,
                                   unsigned limit, ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, CK__OP_EXPIRE_SWEEP, err, &rc);

  if (op == NULL)
    return rc;
  op->u.sweep.now = now;
  op->u.sweep.limit = limit ? limit : 10000;
  w->n_ops++;
  return CK_OK;
}

static ck_err install(ck_store_write *w, ck__store_op_kind kind,
                      const ck_store_install *in, ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, kind, err, &rc);
  ck_store_install *d;

  if (op == NULL)
    return rc;
  if (in == NULL)
    return ck_failf(err, CK_ERR_INVAL, "store: installation is NULL");
  d = &op->u.install;
  TRY(hash("install.cert_fp", in->cert_fp, 1, d->cert_fp, err));
  TRY(str(w, "install.agent_id", in->agent_id, NAME, 1, &d->agent_id, err));
  TRY(str(w, "install.path", in->path, TEXT, 0, &d->path, err));
  TRY(str(w, "install.service", in->service, NAME, 0, &d->service, err));
  TRY(str(w, "install.endpoint", in->endpoint, NAME, 0, &d->endpoint, err));
  w->n_ops++;
  return CK_OK;
}

ck_err ck_store_write_install_put(ck_store_write *w, const ck_store_install *in,
                                  ck_errctx *err) {
  return install(w, CK__OP_INSTALL_PUT, in, err);
}

ck_err ck_store_write_install_del(ck_store_write *w, const ck_store_install *in,
                                  ck_errctx *err) {
  return install(w, CK__OP_INSTALL_DEL, in, err);
}

ck_err ck_store_write_agent_put(ck_store_write *w, const ck_store_agent *a,
                                ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, CK__OP_AGENT_PUT, err, &rc);
  ck_store_agent *d;

  if (op == NULL)
    return rc;
  if (a == NULL)
    return ck_failf(err, CK_ERR_INVAL, "store: agent is NULL");
  d = &op->u.agent;
  TRY(str(w, "agent.id", a->id, NAME, 1, &d->id, err));
  TRY(str(w, "agent.name", a->name, NAME, 0, &d->name, err));
  TRY(str(w, "agent.group", a->group, NAME, 0, &d->group, err));
  TRY(hash("agent.identity_fp", a->identity_fp, 0, d->identity_fp, err));
  TRY(str(w, "agent.platform", a->platform, NAME, 0, &d->platform, err));
  TRY(str(w, "agent.version", a->version, NAME, 0, &d->version, err));
  TRY(range("agent.status", a->status, CK_AGENT_ACTIVE, CK_AGENT_REVOKED, err));
  d->status = a->status;
  d->enrolled_at = a->enrolled_at;
  d->last_seen = a->last_seen;
  w->n_ops++;
  return CK_OK;
}

ck_err ck_store_write_agent_seen(ck_store_write *w, const char *id, int64_t at,
                                 const char *platform, const char *version,
                                 ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, CK__OP_AGENT_SEEN, err, &rc);
  ck_store_agent *d;

  if (op == NULL)
    return rc;
  d = &op->u.agent;
  TRY(str(w, "agent.id", id, NAME, 1, &d->id, err));
  d->platform = NULL;
  d->version = NULL;
  if (platform != NULL)
    TRY(str(w, "agent.platform", platform, NAME, 0, &d->platform, err));
  if (version != NULL)
    TRY(str(w, "agent.version", version, NAME, 0, &d->version, err));
  d->last_seen = at;
  w->n_ops++;
  return CK_OK;
}

ck_err ck_store_write_agent_report(ck_store_write *w, const char *id,
                                   uint64_t seq, ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, CK__OP_AGENT_REPORT, err, &rc);
  ck_store_agent *d;

  if (op == NULL)
    return rc;
  if (seq == 0 || seq > (uint64_t)INT64_MAX)
    return ck_failf(err, CK_ERR_INVAL,
                    "store: agent.report_seq must be 1..2^63-1");
  d = &op->u.agent;
  TRY(str(w, "agent.id", id, NAME, 1, &d->id, err));
  d->report_seq = (int64_t)seq;
  w->n_ops++;
  return CK_OK;
}

ck_err ck_store_write_agent_host(ck_store_write *w, const char *id,
                                 const char *host, int64_t at,
                                 ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, CK__OP_AGENT_HOST, err, &rc);
  ck_store_agent *d;

  if (op == NULL)
    return rc;
  d = &op->u.agent;
  TRY(str(w, "agent.id", id, NAME, 1, &d->id, err));
  TRY(str(w, "agent.host", host, CK_STORE_BODY_MAX, 1, &d->host, err));
  d->host_at = at;
  w->n_ops++;
  return CK_OK;
}

ck_err ck_store_write_owner_put(ck_store_write *w, const ck_store_owner *o,
                                ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, CK__OP_OWNER_PUT, err, &rc);
  ck_store_owner *d;

  if (op == NULL)
    return rc;
  if (o == NULL)
    return ck_failf(err, CK_ERR_INVAL, "store: owner is NULL");
  d = &op->u.owner;
  TRY(str(w, "owner.name", o->name, NAME, 1, &d->name, err));
  TRY(str(w, "owner.email", o->email, NAME, 0, &d->email, err));
  TRY(str(w, "owner.webhook", o->webhook, TEXT, 0, &d->webhook, err));
  w->n_ops++;
  return CK_OK;
}

ck_err ck_store_write_owner_del(ck_store_write *w, const char *name,
                                ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, CK__OP_OWNER_DEL, err, &rc);

  if (op == NULL)
    return rc;
  TRY(str(w, "owner.name", name, NAME, 1, &op->u.owner.name, err));
  w->n_ops++;
  return CK_OK;
}

ck_err ck_store_write_profile_put(ck_store_write *w, const ck_store_profile *p,
                                  int64_t expect_version, ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, CK__OP_PROFILE_PUT, err, &rc);
  ck_store_profile *d;

  if (op == NULL)
    return rc;
  if (p == NULL)
    return ck_failf(err, CK_ERR_INVAL, "store: profile is NULL");
  d = &op->u.profile.p;
  TRY(str(w, "profile.name", p->name, NAME, 1, &d->name, err));
  TRY(str(w, "profile.body", p->body, CK_STORE_BODY_MAX, !p->deleted, &d->body,
          err));
  TRY(str(w, "profile.actor", p->actor, NAME, 1, &d->actor, err));
  TRY(range("profile.ca_id", p->ca_id, 0, INT64_MAX, err));
  d->ca_id = p->ca_id;
  d->deleted = p->deleted ? 1 : 0;
  op->u.profile.expect_version = expect_version < 0 ? -1 : expect_version;
  w->n_ops++;
  return CK_OK;
}

ck_err ck_store_write_request_put(ck_store_write *w, const ck_store_request *r,
                                  ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, CK__OP_REQUEST_PUT, err, &rc);
  ck_store_request *d;

  if (op == NULL)
    return rc;
  if (r == NULL)
    return ck_failf(err, CK_ERR_INVAL, "store: request is NULL");
  d = &op->u.request;
  TRY(str(w, "request.agent_id", r->agent_id, NAME, 0, &d->agent_id, err));
  TRY(str(w, "request.token_id", r->token_id, NAME, 0, &d->token_id, err));
  TRY(str(w, "request.actor", r->actor, NAME, 1, &d->actor, err));
  TRY(str(w, "request.profile", r->profile, NAME, 1, &d->profile, err));
  TRY(str(w, "request.reason", r->reason, TEXT, 0, &d->reason, err));
  TRY(blob(w, "request.csr", r->csr, r->csr_len, CK_STORE_BLOB_MAX, 0, &d->csr,
           &d->csr_len, err));
  TRY(hash("request.cert_fp", r->cert_fp, 0, d->cert_fp, err));
  TRY(range("request.state", r->state, CK_REQ_PENDING, CK_REQ_REFUSED, err));
  d->state = r->state;
  d->profile_version = r->profile_version;
  w->n_ops++;
  return CK_OK;
}

ck_err ck_store_write_request_set(ck_store_write *w, int64_t id,
                                  ck_request_state state, const char *reason,
                                  const char *cert_fp, ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, CK__OP_REQUEST_SET, err, &rc);
  ck_store_request *d;

  if (op == NULL)
    return rc;
  d = &op->u.request;
  TRY(range("request.id", id, 1, INT64_MAX, err));
  TRY(range("request.state", state, CK_REQ_ISSUED, CK_REQ_REFUSED, err));
  TRY(str(w, "request.reason", reason, TEXT, 0, &d->reason, err));
  TRY(hash("request.cert_fp", cert_fp, 0, d->cert_fp, err));
  d->id = id;
  d->state = state;
  w->n_ops++;
  return CK_OK;
}

ck_err ck_store_write_revoke(ck_store_write *w, const ck_store_revocation *r,
                             ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, CK__OP_REVOKE, err, &rc);
  ck_store_revocation *d;

  if (op == NULL)
    return rc;
  if (r == NULL)
    return ck_failf(err, CK_ERR_INVAL, "store: revocation is NULL");
  d = &op->u.revoke;
  TRY(hash("revocation.cert_fp", r->cert_fp, 1, d->cert_fp, err));
  TRY(str(w, "revocation.actor", r->actor, NAME, 1, &d->actor, err));
  /* CRLReason: 0..10, 7 is unused */
  if (r->reason < 0 || r->reason > 10 || r->reason == 7)
    return ck_failf(err, CK_ERR_INVAL,
                    "store: revocation.reason %d is not a CRLReason code",
                    r->reason);
  d->reason = r->reason;
  d->revoked_at = r->revoked_at;
  w->n_ops++;
  return CK_OK;
}

ck_err ck_store_write_etoken_put(ck_store_write *w, const ck_store_etoken *t,
                                 ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, CK__OP_ETOKEN_PUT, err, &rc);
  ck_store_etoken *d;

  if (op == NULL)
    return rc;
  if (t == NULL)
    return ck_failf(err, CK_ERR_INVAL, "store: enrollment token is NULL");
  d = &op->u.etoken;
  TRY(str(w, "etoken.id", t->id, NAME, 1, &d->id, err));
  TRY(hash("etoken.hash", t->hash, 1, d->hash, err));
  TRY(str(w, "etoken.group", t->group, NAME, 0, &d->group, err));
  TRY(str(w, "etoken.profiles", t->profiles, TEXT, 0, &d->profiles, err));
  TRY(str(w, "etoken.san_patterns", t->san_patterns, TEXT, 0, &d->san_patterns,
          err));
  TRY(str(w, "etoken.actor", t->actor, NAME, 1, &d->actor, err));
  if (t->expires_at <= 0)
    return ck_failf(err, CK_ERR_INVAL, "store: etoken.expires_at is required");
  d->created_at = t->created_at;
  d->expires_at = t->expires_at;
  w->n_ops++;
  return CK_OK;
}

ck_err ck_store_write_etoken_use(ck_store_write *w, const char *hash_hex,
                                 const char *agent_id, int64_t now,
                                 ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, CK__OP_ETOKEN_USE, err, &rc);
  ck_store_etoken *d;

  if (op == NULL)
    return rc;
  d = &op->u.etoken;
  TRY(hash("etoken.hash", hash_hex, 1, d->hash, err));
  TRY(str(w, "etoken.used_by", agent_id, NAME, 1, &d->used_by, err));
  d->used_at = now;
  w->n_ops++;
  return CK_OK;
}

ck_err ck_store_write_apitoken_put(ck_store_write *w,
                                   const ck_store_apitoken *t, ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, CK__OP_APITOKEN_PUT, err, &rc);
  ck_store_apitoken *d;

  if (op == NULL)
    return rc;
  if (t == NULL)
    return ck_failf(err, CK_ERR_INVAL, "store: API token is NULL");
  d = &op->u.apitoken;
  TRY(str(w, "apitoken.name", t->name, NAME, 1, &d->name, err));
  TRY(hash("apitoken.hash", t->hash, 1, d->hash, err));
  TRY(str(w, "apitoken.role", t->role, NAME, 1, &d->role, err));
  TRY(str(w, "apitoken.owner", t->owner, NAME, 0, &d->owner, err));
  TRY(range("apitoken.expires_at", t->expires_at, 0, INT64_MAX, err));
  d->created_at = t->created_at;
  d->expires_at = t->expires_at;
  d->revoked = t->revoked ? 1 : 0;
  w->n_ops++;
  return CK_OK;
}

ck_err ck_store_write_apitoken_revoke(ck_store_write *w, const char *name,
                                      ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, CK__OP_APITOKEN_REVOKE, err, &rc);

  if (op == NULL)
    return rc;
  TRY(str(w, "apitoken.name", name, NAME, 1, &op->u.apitoken.name, err));
  w->n_ops++;
  return CK_OK;
}

ck_err ck_store_write_ca_put(ck_store_write *w, const ck_store_ca *ca,
                             ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, CK__OP_CA_PUT, err, &rc);
  ck_store_ca *d;

  if (op == NULL)
    return rc;
  if (ca == NULL)
    return ck_failf(err, CK_ERR_INVAL, "store: CA is NULL");
  d = &op->u.ca;
  TRY(str(w, "ca.name", ca->name, NAME, 1, &d->name, err));
  TRY(str(w, "ca.key_path", ca->key_path, TEXT, 0, &d->key_path, err));
  TRY(blob(w, "ca.cert_der", ca->cert_der, ca->cert_der_len, CK_STORE_BLOB_MAX,
           1, &d->cert_der, &d->cert_der_len, err));
  TRY(range("ca.parent_id", ca->parent_id, 0, INT64_MAX, err));
  d->parent_id = ca->parent_id;
  d->is_default = ca->is_default ? 1 : 0;
  d->next_crl_number = ca->next_crl_number > 0 ? ca->next_crl_number : 1;
  w->n_ops++;
  return CK_OK;
}

ck_err ck_store_write_plan_put(ck_store_write *w, const ck_store_plan *p,
                               ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, CK__OP_PLAN_PUT, err, &rc);
  ck_store_plan *d;

  if (op == NULL)
    return rc;
  if (p == NULL)
    return ck_failf(err, CK_ERR_INVAL, "store: plan is NULL");
  d = &op->u.plan;
  TRY(range("plan.id", p->id, 1, INT64_MAX, err));
  TRY(range("plan.state", p->state, 0, 100, err));
  if (strnlen(p->cert_fp, sizeof p->cert_fp) != CK_SHA256_LEN * 2)
    return ck_failf(err, CK_ERR_INVAL, "store: plan.cert_fp is not a SHA-256 hex digest");
  TRY(str(w, "plan.doc", p->doc, CK_STORE_PLAN_DOC_MAX, 1, &d->doc, err));
  d->id = p->id;
  memcpy(d->cert_fp, p->cert_fp, sizeof d->cert_fp);
  d->state = p->state;
  d->updated_at = p->updated_at;
  w->n_ops++;
  return CK_OK;
}

/* Copies a document's kind and id (both required) into d. */
static ck_err doc_ref(ck_store_write *w, const char *kind, const char *id,
                      ck_store_doc *d, ck_errctx *err) {
  ck_err rc;

  TRY(ck__store_doc_kind_check(kind, err));
  TRY(str(w, "doc.kind", kind, CK_STORE_DOC_KIND_MAX, 1, &d->kind, err));
  TRY(str(w, "doc.id", id, NAME, 1, &d->id, err));
  return CK_OK;
}

ck_err ck_store_write_doc_put(ck_store_write *w, const ck_store_doc *doc,
                              int64_t expect_version, ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, CK__OP_DOC_PUT, err, &rc);
  ck_store_doc *d;

  if (op == NULL)
    return rc;
  if (doc == NULL)
    return ck_failf(err, CK_ERR_INVAL, "store: document is NULL");
  d = &op->u.doc.d;
  TRY(doc_ref(w, doc->kind, doc->id, d, err));
  TRY(str(w, "doc.key", doc->key, TEXT, 0, &d->key, err));
  TRY(str(w, "doc.state", doc->state, CK_STORE_DOC_STATE_MAX, 0, &d->state,
          err));
  TRY(str(w, "doc.doc", doc->doc, CK_STORE_BODY_MAX, 1, &d->doc, err));
  TRY(range("doc.due_at", doc->due_at, 0, INT64_MAX, err));
  d->due_at = doc->due_at;
  op->u.doc.expect_version = expect_version < 0 ? -1 : expect_version;
  w->n_ops++;
  return CK_OK;
}

ck_err ck_store_write_doc_del(ck_store_write *w, const char *kind,
                              const char *id, int64_t expect_version,
                              ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, CK__OP_DOC_DEL, err, &rc);

  if (op == NULL)
    return rc;
  if (expect_version == 0)
    return ck_failf(err, CK_ERR_INVAL,
                    "store: doc.delete with expect_version 0");
  TRY(doc_ref(w, kind, id, &op->u.doc.d, err));
  op->u.doc.expect_version = expect_version < 0 ? -1 : expect_version;
  w->n_ops++;
  return CK_OK;
}

ck_err ck_store_write_ca_crl_number(ck_store_write *w, int64_t ca_id,
                                    ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, CK__OP_CA_CRL_NUMBER, err, &rc);

  if (op == NULL)
    return rc;
  TRY(range("ca.id", ca_id, 1, INT64_MAX, err));
  op->u.ca.id = ca_id;
  w->n_ops++;
  return CK_OK;
}

ck_err ck_store_write_audit(ck_store_write *w, const ck_audit_event *ev,
                            ck_errctx *err) {
  ck_err rc;
  ck__store_op *op = slot(w, CK__OP_AUDIT, err, &rc);
  ck_audit_event *d;

  if (op == NULL)
    return rc;
  if (ev == NULL)
    return ck_failf(err, CK_ERR_INVAL, "store: audit event is NULL");
  d = &op->u.audit;
  TRY(str(w, "audit.actor", ev->actor, NAME, 1, &d->actor, err));
  TRY(str(w, "audit.action", ev->action, NAME, 1, &d->action, err));
  TRY(str(w, "audit.object_type", ev->object_type, NAME, 0, &d->object_type,
          err));
  TRY(str(w, "audit.object_id", ev->object_id, TEXT, 0, &d->object_id, err));
  TRY(str(w, "audit.details", ev->details, CK_STORE_BODY_MAX, 0, &d->details,
          err));
  TRY(range("audit.time", ev->time, 0, INT64_MAX, err));
  d->time = ev->time;
  w->n_ops++;
  return CK_OK;
}
