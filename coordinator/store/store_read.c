/* store_read.c — the read half of the store interface: argument checks,
 * hex and cursor parsing, page limits, then the backend's read function.
 * Also the enum names and the small helpers backends share. */
#include "coordinator/store/store_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPS(s) ck__store_ops(s)
#define BE(s) ck__store_be(s)

/* ---------------------------------------------------------------- names */

static const char *const cert_status_names[] = {"active", "revoked", "expired",
                                                "superseded"};
static const char *const source_names[] = {"issued", "discovered"};
static const char *const req_names[] = {"pending", "issued", "refused"};
static const char *const agent_names[] = {"active", "disabled", "revoked"};

#define NAME_OF(tab, v)                                                        \
  ((unsigned)(v) < sizeof(tab) / sizeof(tab)[0] ? (tab)[(unsigned)(v)] : "?")

const char *ck_cert_status_name(ck_cert_status st) {
  return NAME_OF(cert_status_names, st);
}

ck_err ck_cert_status_parse(const char *text, ck_cert_status *out) {
  unsigned i;

  for (i = 0; text != NULL && i < 4; i++) {
    if (strcmp(text, cert_status_names[i]) == 0) {
      *out = (ck_cert_status)i;
      return CK_OK;
    }
  }
  return CK_ERR_PARSE;
}

const char *ck_cert_source_name(ck_cert_source src) {
  return NAME_OF(source_names, src);
}

const char *ck_request_state_name(ck_request_state st) {
  return NAME_OF(req_names, st);
}

const char *ck_agent_status_name(ck_agent_status st) {
  return NAME_OF(agent_names, st);
}

/* ---------------------------------------------------------------- helpers */

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int ck__store_hex32(const char *text, uint8_t out[CK_SHA256_LEN]) {
  size_t i;

  if (text == NULL || strnlen(text, 65) != 64)
    return -1;
  for (i = 0; i < CK_SHA256_LEN; i++) {
    int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return -1;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return 0;
}

void ck__store_hex32_fmt(const uint8_t in[CK_SHA256_LEN],
                         char out[CK_SHA256_HEX_LEN]) {
  static const char digits[] = "0123456789abcdef";
  size_t i;

  for (i = 0; i < CK_SHA256_LEN; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[64] = '\0';
}

static int parse_i64(const char *p, char **end, int64_t *out) {
  long long v;

  if (*p < '0' || *p > '9')
    return -1;
  errno = 0;
  v = strtoll(p, end, 10);
  if (errno != 0)
    return -1;
  *out = v;
  return 0;
}

ck_err ck__store_cursor_int(const char *cursor, int64_t *out, ck_errctx *err) {
  char *end = NULL;

  *out = 0;
  if (cursor == NULL || cursor[0] == '\0')
    return CK_OK;
  if (parse_i64(cursor, &end, out) != 0 || *end != '\0')
    return ck_failf(err, CK_ERR_PARSE, "store: bad page cursor '%.40s'",
                    cursor);
  return CK_OK;
}

ck_err ck__store_cursor_pair(const char *cursor, int64_t *a, int64_t *b,
                             ck_errctx *err) {
  char *end = NULL;
  const char *p = cursor;
  int neg = 0;

  *a = 0;
  *b = 0;
  if (cursor == NULL || cursor[0] == '\0')
    return CK_OK;
  if (*p == '-') {
    neg = 1;
    p++;
  }
  if (parse_i64(p, &end, a) != 0 || *end != ':' ||
      parse_i64(end + 1, &end, b) != 0 || *end != '\0')
    return ck_failf(err, CK_ERR_PARSE, "store: bad page cursor '%.40s'",
                    cursor);
  if (neg)
    *a = -*a;
  return CK_OK;
}

const char *ck__store_cursor_fmt(ck_arena *a, int64_t x, const int64_t *y) {
  char buf[48];

  if (y != NULL)
    snprintf(buf, sizeof buf, "%" PRId64 ":%" PRId64, x, *y);
  else
    snprintf(buf, sizeof buf, "%" PRId64, x);
  return ck_arena_strdup(a, buf);
}

ck_err ck__store_doc_kind_check(const char *kind, ck_errctx *err) {
  size_t i, len;

  if (kind == NULL || kind[0] == '\0')
    return ck_failf(err, CK_ERR_INVAL, "store: doc.kind is required");
  len = strnlen(kind, CK_STORE_DOC_KIND_MAX + 1);
  if (len > CK_STORE_DOC_KIND_MAX)
    return ck_failf(err, CK_ERR_LIMIT,
                    "store: doc.kind is longer than %d bytes",
                    CK_STORE_DOC_KIND_MAX);
  for (i = 0; i < len; i++) {
    char c = kind[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-'))
      return ck_failf(err, CK_ERR_INVAL,
                      "store: doc.kind '%.64s' has a character outside "
                      "[a-z0-9._-]",
                      kind);
  }
  return CK_OK;
}

const char *ck__store_doc_cursor_fmt(ck_arena *a, int by_due, int64_t due_at,
                                     const char *id) {
  static const char digits[] = "0123456789abcdef";
  size_t len = strlen(id), i, off;
  char *buf = ck_arena_alloc(a, 2 * len + 32);

  if (buf == NULL)
    return NULL;
  if (by_due)
    off = (size_t)snprintf(buf, 32, "d%" PRId64 ".", due_at);
  else
    off = (size_t)snprintf(buf, 32, "i");
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)id[i];
    buf[off++] = digits[c >> 4];
    buf[off++] = digits[c & 15];
  }
  buf[off] = '\0';
  return buf;
}

ck_err ck__store_doc_cursor_parse(const char *cursor, int by_due, ck_arena *a,
                                  int64_t *due_at, const char **id,
                                  ck_errctx *err) {
  const char *p = cursor;
  char *end = NULL, *out;
  size_t len, i;

  *due_at = 0;
  *id = NULL;
  if (cursor == NULL || cursor[0] == '\0')
    return CK_OK;
  if (*p++ != (by_due ? 'd' : 'i'))
    goto bad;
  if (by_due) {
    if (parse_i64(p, &end, due_at) != 0 || *end != '.')
      goto bad;
    p = end + 1;
  }
  len = strnlen(p, 2 * CK_STORE_NAME_MAX + 1);
  if (len == 0 || len % 2 != 0 || len > 2 * CK_STORE_NAME_MAX)
    goto bad;
  out = ck_arena_alloc(a, len / 2 + 1);
  if (out == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "store: out of memory");
  for (i = 0; i < len / 2; i++) {
    int hi = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
      goto bad;
    out[i] = (char)(hi << 4 | lo);
  }
  out[len / 2] = '\0';
  *id = out;
  return CK_OK;
bad:
  return ck_failf(err, CK_ERR_PARSE, "store: bad page cursor '%.40s'", cursor);
}

/* Checks the common read arguments and returns the page limit to use. */
static ck_err page_args(ck_store *s, ck_store_page *pg, ck_arena *a,
                        const void *items, const size_t *n, unsigned *limit,
                        ck_errctx *err) {
  if (s == NULL || pg == NULL || a == NULL || items == NULL || n == NULL)
    return ck_failf(err, CK_ERR_INVAL, "store: missing argument");
  if (pg->limit > CK_STORE_PAGE_MAX)
    return ck_failf(err, CK_ERR_LIMIT, "store: page limit %u is over %d",
                    pg->limit, CK_STORE_PAGE_MAX);
  *limit = pg->limit ? pg->limit : CK_STORE_PAGE_DEFAULT;
  pg->next_cursor = NULL;
  return CK_OK;
}

static ck_err fp_arg(const char *what, const char *hex,
                     uint8_t out[CK_SHA256_LEN], ck_errctx *err) {
  if (hex == NULL || hex[0] == '\0')
    return ck_failf(err, CK_ERR_INVAL, "store: %s is required", what);
  if (ck__store_hex32(hex, out) != 0)
    return ck_failf(err, CK_ERR_PARSE,
                    "store: %s is not a SHA-256 (64 hex digits)", what);
  return CK_OK;
}

static ck_err name_arg(const char *what, const char *name, ck_errctx *err) {
  if (name == NULL || name[0] == '\0')
    return ck_failf(err, CK_ERR_INVAL, "store: %s is required", what);
  if (strnlen(name, CK_STORE_NAME_MAX + 1) > CK_STORE_NAME_MAX)
    return ck_failf(err, CK_ERR_LIMIT, "store: %s is longer than %d bytes",
                    what, CK_STORE_NAME_MAX);
  return CK_OK;
}

#define TRY(x)                                                                 \
  do {                                                                         \
    ck_err rc_ = (x);                                                          \
    if (rc_ != CK_OK)                                                          \
      return rc_;                                                              \
  } while (0)

#define OUT_ARGS(s, a, out)                                                    \
  do {                                                                         \
    if ((s) == NULL || (a) == NULL || (out) == NULL)                           \
      return ck_failf(err, CK_ERR_INVAL, "store: missing argument");           \
  } while (0)

/* ---------------------------------------------------------------- reads */

ck_err ck_store_cert_get(ck_store *s, const char *fingerprint, int with_der,
                         ck_arena *a, ck_store_cert *out, ck_errctx *err) {
  uint8_t fp[CK_SHA256_LEN];

  OUT_ARGS(s, a, out);
  TRY(fp_arg("fingerprint", fingerprint, fp, err));
  return OPS(s)->cert_get(BE(s), fp, with_der, a, out, err);
}

ck_err ck_store_cert_list(ck_store *s, const ck_cert_filter *f,
                          ck_store_page *pg, ck_arena *a, ck_store_cert **items,
                          size_t *n, ck_errctx *err) {
  unsigned limit = 0;
  uint8_t raw[CK_SHA256_LEN];

  TRY(page_args(s, pg, a, items, n, &limit, err));
  if (f == NULL || (unsigned)f->by >= CK_CERTQ__MAX)
    return ck_failf(err, CK_ERR_INVAL, "store: unknown certificate query");
  switch (f->by) {
  case CK_CERTQ_OWNER:
    TRY(name_arg("owner", f->key, err));
    break;
  case CK_CERTQ_AGENT:
    TRY(name_arg("agent id", f->key, err));
    break;
  case CK_CERTQ_PROFILE:
    TRY(name_arg("profile", f->key, err));
    break;
  case CK_CERTQ_SERIAL:
    TRY(name_arg("serial", f->key, err));
    break;
  case CK_CERTQ_SPKI:
    TRY(fp_arg("SPKI SHA-256", f->key, raw, err));
    break;
  case CK_CERTQ_CA:
    if (f->ca_id <= 0)
      return ck_failf(err, CK_ERR_INVAL, "store: CA id is required");
    break;
  case CK_CERTQ_EXPIRING:
    if (f->until < f->from)
      return ck_failf(err, CK_ERR_INVAL,
                      "store: expiring window ends before it starts");
    break;
  default:
    break;
  }
  return OPS(s)->cert_list(BE(s), f, pg, limit, a, items, n, err);
}

ck_err ck_store_install_list(ck_store *s, const char *cert_fp,
                             const char *agent_id, ck_store_page *pg,
                             ck_arena *a, ck_store_install **items, size_t *n,
                             ck_errctx *err) {
  unsigned limit = 0;
  uint8_t fp[CK_SHA256_LEN];
  int by_cert = cert_fp != NULL && cert_fp[0] != '\0';
  int by_agent = agent_id != NULL && agent_id[0] != '\0';

  TRY(page_args(s, pg, a, items, n, &limit, err));
  if (by_cert == by_agent)
    return ck_failf(err, CK_ERR_INVAL,
                    "store: give a certificate or an agent, not both");
  if (by_cert)
    TRY(fp_arg("certificate fingerprint", cert_fp, fp, err));
  else
    TRY(name_arg("agent id", agent_id, err));
  return OPS(s)->install_list(BE(s), by_cert ? fp : NULL,
                              by_cert ? NULL : agent_id, pg, limit, a, items, n,
                              err);
}

ck_err ck_store_agent_get(ck_store *s, const char *id, ck_arena *a,
                          ck_store_agent *out, ck_errctx *err) {
  OUT_ARGS(s, a, out);
  TRY(name_arg("agent id", id, err));
  return OPS(s)->agent_get(BE(s), id, NULL, a, out, err);
}

ck_err ck_store_agent_by_identity(ck_store *s, const char *fingerprint,
                                  ck_arena *a, ck_store_agent *out,
                                  ck_errctx *err) {
  uint8_t fp[CK_SHA256_LEN];

  OUT_ARGS(s, a, out);
  TRY(fp_arg("identity fingerprint", fingerprint, fp, err));
  return OPS(s)->agent_get(BE(s), NULL, fp, a, out, err);
}

ck_err ck_store_agent_list(ck_store *s, ck_store_page *pg, ck_arena *a,
                           ck_store_agent **items, size_t *n, ck_errctx *err) {
  unsigned limit = 0;

  TRY(page_args(s, pg, a, items, n, &limit, err));
  return OPS(s)->agent_list(BE(s), pg, limit, a, items, n, err);
}

ck_err ck_store_owner_get(ck_store *s, const char *name, ck_arena *a,
                          ck_store_owner *out, ck_errctx *err) {
  OUT_ARGS(s, a, out);
  TRY(name_arg("owner name", name, err));
  return OPS(s)->owner_get(BE(s), name, a, out, err);
}

ck_err ck_store_owner_list(ck_store *s, ck_store_page *pg, ck_arena *a,
                           ck_store_owner **items, size_t *n, ck_errctx *err) {
  unsigned limit = 0;

  TRY(page_args(s, pg, a, items, n, &limit, err));
  return OPS(s)->owner_list(BE(s), pg, limit, a, items, n, err);
}

ck_err ck_store_profile_get(ck_store *s, const char *name, int64_t version,
                            ck_arena *a, ck_store_profile *out,
                            ck_errctx *err) {
  OUT_ARGS(s, a, out);
  TRY(name_arg("profile name", name, err));
  if (version < 0)
    return ck_failf(err, CK_ERR_INVAL, "store: negative profile version");
  return OPS(s)->profile_get(BE(s), name, version, a, out, err);
}

ck_err ck_store_profile_list(ck_store *s, ck_store_page *pg, ck_arena *a,
                             ck_store_profile **items, size_t *n,
                             ck_errctx *err) {
  unsigned limit = 0;

  TRY(page_args(s, pg, a, items, n, &limit, err));
  return OPS(s)->profile_list(BE(s), NULL, pg, limit, a, items, n, err);
}

ck_err ck_store_profile_history(ck_store *s, const char *name,
                                ck_store_page *pg, ck_arena *a,
                                ck_store_profile **items, size_t *n,
                                ck_errctx *err) {
  unsigned limit = 0;

  TRY(page_args(s, pg, a, items, n, &limit, err));
  TRY(name_arg("profile name", name, err));
  return OPS(s)->profile_list(BE(s), name, pg, limit, a, items, n, err);
}

ck_err ck_store_request_get(ck_store *s, int64_t id, ck_arena *a,
                            ck_store_request *out, ck_errctx *err) {
  OUT_ARGS(s, a, out);
  return OPS(s)->request_get(BE(s), id, a, out, err);
}

ck_err ck_store_request_list(ck_store *s, int state, ck_store_page *pg,
                             ck_arena *a, ck_store_request **items, size_t *n,
                             ck_errctx *err) {
  unsigned limit = 0;

  TRY(page_args(s, pg, a, items, n, &limit, err));
  if (state > CK_REQ_REFUSED)
    return ck_failf(err, CK_ERR_INVAL, "store: unknown request state %d",
                    state);
  return OPS(s)->request_list(BE(s), state < 0 ? -1 : state, pg, limit, a,
                              items, n, err);
}

ck_err ck_store_revocation_get(ck_store *s, const char *cert_fp, ck_arena *a,
                               ck_store_revocation *out, ck_errctx *err) {
  uint8_t fp[CK_SHA256_LEN];

  OUT_ARGS(s, a, out);
  TRY(fp_arg("certificate fingerprint", cert_fp, fp, err));
  return OPS(s)->revocation_get(BE(s), fp, a, out, err);
}

ck_err ck_store_revocation_list(ck_store *s, int64_t ca_id, ck_store_page *pg,
                                ck_arena *a, ck_store_revocation **items,
                                size_t *n, ck_errctx *err) {
  unsigned limit = 0;

  TRY(page_args(s, pg, a, items, n, &limit, err));
  return OPS(s)->revocation_list(BE(s), ca_id < 0 ? 0 : ca_id, pg, limit, a,
                                 items, n, err);
}

ck_err ck_store_plan_list(ck_store *s, int state, ck_store_page *pg, ck_arena *a,
                          ck_store_plan **items, size_t *n, ck_errctx *err) {
  unsigned limit = 0;

  TRY(page_args(s, pg, a, items, n, &limit, err));
  return OPS(s)->plan_list(BE(s), state, pg, limit, a, items, n, err);
}

/* Checks a document filter's fields (kind required). */
static ck_err doc_filter_args(const ck_doc_filter *f, ck_errctx *err) {
  if (f == NULL)
    return ck_failf(err, CK_ERR_INVAL, "store: missing document filter");
  TRY(ck__store_doc_kind_check(f->kind, err));
  if (f->key != NULL && strnlen(f->key, CK_STORE_TEXT_MAX + 1) >
                            CK_STORE_TEXT_MAX)
    return ck_failf(err, CK_ERR_LIMIT, "store: doc.key is longer than %d bytes",
                    CK_STORE_TEXT_MAX);
  if (f->state != NULL && strnlen(f->state, CK_STORE_DOC_STATE_MAX + 1) >
                              CK_STORE_DOC_STATE_MAX)
    return ck_failf(err, CK_ERR_LIMIT,
                    "store: doc.state is longer than %d bytes",
                    CK_STORE_DOC_STATE_MAX);
  if (f->due_before < 0)
    return ck_failf(err, CK_ERR_INVAL, "store: due_before %lld is negative",
                    (long long)f->due_before);
  return CK_OK;
}

ck_err ck_store_doc_get(ck_store *s, const char *kind, const char *id,
                        ck_arena *a, ck_store_doc *out, ck_errctx *err) {
  OUT_ARGS(s, a, out);
  TRY(ck__store_doc_kind_check(kind, err));
  TRY(name_arg("doc.id", id, err));
  return OPS(s)->doc_get(BE(s), kind, id, a, out, err);
}

ck_err ck_store_doc_list(ck_store *s, const ck_doc_filter *f,
                         ck_store_page *pg, ck_arena *a, ck_store_doc **items,
                         size_t *n, ck_errctx *err) {
  unsigned limit = 0;
  int64_t after_due = 0;
  const char *after_id = NULL;

  TRY(page_args(s, pg, a, items, n, &limit, err));
  TRY(doc_filter_args(f, err));
  TRY(ck__store_doc_cursor_parse(pg->cursor, f->due_before != 0, a,
                                 &after_due, &after_id, err));
  return OPS(s)->doc_list(BE(s), f, after_due, after_id, pg, limit, a, items,
                          n, err);
}

ck_err ck_store_doc_count(ck_store *s, const ck_doc_filter *f, int64_t *n,
                          ck_errctx *err) {
  if (s == NULL || n == NULL)
    return ck_failf(err, CK_ERR_INVAL, "store: missing argument");
  TRY(doc_filter_args(f, err));
  return OPS(s)->doc_count(BE(s), f, n, err);
}

ck_err ck_store_etoken_get(ck_store *s, const char *hash, ck_arena *a,
                           ck_store_etoken *out, ck_errctx *err) {
  uint8_t h[CK_SHA256_LEN];

  OUT_ARGS(s, a, out);
  TRY(fp_arg("token hash", hash, h, err));
  return OPS(s)->etoken_get(BE(s), h, a, out, err);
}

ck_err ck_store_etoken_list(ck_store *s, ck_store_page *pg, ck_arena *a,
                            ck_store_etoken **items, size_t *n,
                            ck_errctx *err) {
  unsigned limit = 0;

  TRY(page_args(s, pg, a, items, n, &limit, err));
  return OPS(s)->etoken_list(BE(s), pg, limit, a, items, n, err);
}

ck_err ck_store_etoken_by_agent(ck_store *s, const char *agent_id, ck_arena *a,
                                ck_store_etoken *out, ck_errctx *err) {
  OUT_ARGS(s, a, out);
  TRY(name_arg("agent id", agent_id, err));
  return OPS(s)->etoken_by_agent(BE(s), agent_id, a, out, err);
}

ck_err ck_store_apitoken_get(ck_store *s, const char *hash, ck_arena *a,
                             ck_store_apitoken *out, ck_errctx *err) {
  uint8_t h[CK_SHA256_LEN];

  OUT_ARGS(s, a, out);
  TRY(fp_arg("token hash", hash, h, err));
  return OPS(s)->apitoken_get(BE(s), h, a, out, err);
}

ck_err ck_store_apitoken_list(ck_store *s, ck_store_page *pg, ck_arena *a,
                              ck_store_apitoken **items, size_t *n,
                              ck_errctx *err) {
  unsigned limit = 0;

  TRY(page_args(s, pg, a, items, n, &limit, err));
  return OPS(s)->apitoken_list(BE(s), pg, limit, a, items, n, err);
}

ck_err ck_store_ca_get(ck_store *s, int64_t id, const char *name, ck_arena *a,
                       ck_store_ca *out, ck_errctx *err) {
  OUT_ARGS(s, a, out);
  if (name != NULL && name[0] != '\0')
    TRY(name_arg("CA name", name, err));
  return OPS(s)->ca_get(BE(s), id, name, a, out, err);
}

ck_err ck_store_ca_list(ck_store *s, ck_store_page *pg, ck_arena *a,
                        ck_store_ca **items, size_t *n, ck_errctx *err) {
  unsigned limit = 0;

  TRY(page_args(s, pg, a, items, n, &limit, err));
  return OPS(s)->ca_list(BE(s), pg, limit, a, items, n, err);
}

ck_err ck_store_audit_list(ck_store *s, int64_t after_seq, ck_store_page *pg,
                           ck_arena *a, ck_audit_event **items, size_t *n,
                           ck_errctx *err) {
  unsigned limit = 0;

  TRY(page_args(s, pg, a, items, n, &limit, err));
  return OPS(s)->audit_list(BE(s), after_seq, limit, a, items, n, err);
}

ck_err ck_store_audit_head(ck_store *s, int64_t *seq,
                           uint8_t hash[CK_SHA256_LEN], ck_errctx *err) {
  if (s == NULL || seq == NULL || hash == NULL)
    return ck_failf(err, CK_ERR_INVAL, "store: missing argument");
  return OPS(s)->audit_head(BE(s), seq, hash, err);
}
