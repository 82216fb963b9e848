/* upstream_parse.c — reading what an upstream ACME CA answers: the
 * directory, orders, authorizations, problem documents and Retry-After.
 *
 * The CA is a remote party, so its answers are untrusted input: every
 * field is type-checked, URLs must be https, lists are bounded, and a
 * problem's detail is reduced to printable ASCII before it reaches a log or
 * an error message. Parsed structures borrow their strings from the jansson
 * tree they keep (root), released by the matching _clear. The fuzz target
 * tests/fuzz/fuzz_upstream_acme.c drives every function here. */
#include "coordinator/ca/upstream_acme_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/util/clock.h"

static const char *const STATUS_NAMES[] = {
    "",      "pending", "ready",       "processing", "valid",
    "invalid", "deactivated", "expired", "revoked", NULL};

ck__acme_status ck__acme_status_parse(const char *s) {
  size_t i;
  for (i = 1; s != NULL && STATUS_NAMES[i] != NULL; i++)
    if (strcmp(s, STATUS_NAMES[i]) == 0)
      return (ck__acme_status)i;
  return CK_ACME_ST_UNKNOWN;
}

/* Copies printable ASCII of s into buf (others become '?'). */
static void printable(const char *s, char *buf, size_t len) {
  size_t i;
  for (i = 0; s != NULL && s[i] != '\0' && i + 1 < len; i++)
    buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
  buf[i] = '\0';
}

static ck_err load(const char *body, size_t len, const char *what,
                   json_t **root, ck_errctx *err) {
  json_error_t je;

  *root = NULL;
  if (body == NULL || len == 0)
    return ck_failf(err, CK_ERR_PARSE, "%s: empty answer", what);
  if (len > CK_ACME_BODY_MAX)
    return ck_failf(err, CK_ERR_PARSE, "%s: answer too large", what);
  *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
  if (*root == NULL)
    return ck_failf(err, CK_ERR_PARSE, "%s: not JSON (line %d column %d)",
                    what, je.line, je.column);
  if (!json_is_object(*root)) {
    json_decref(*root);
    *root = NULL;
    return ck_failf(err, CK_ERR_PARSE, "%s: not a JSON object", what);
  }
  return CK_OK;
}

/* A string member; NULL when absent or not a string (or has a NUL). */
static const char *str(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
    return NULL;
  return json_string_value(v);
}

static int https_url(const char *s) {
  size_t i;
  if (s == NULL || strncmp(s, "https://", 8) != 0 || s[8] == '\0' ||
      strlen(s) >= 2048)
    return 0;
  for (i = 0; s[i] != '\0'; i++)
    if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
      return 0;
  return 1;
}

/* A required https URL member. */
static ck_err url_field(json_t *o, const char *key, const char *what,
                        const char **out, ck_errctx *err) {
  *out = str(o, key);
  if (*out == NULL)
    return ck_failf(err, CK_ERR_PARSE, "%s: missing '%s'", what, key);
  if (!https_url(*out))
    return ck_failf(err, CK_ERR_PARSE, "%s: '%s' is not an https URL", what, key);
  return CK_OK;
}

static void problem_from(json_t *o, ck__acme_problem *out) {
  memset(out, 0, sizeof *out);
  if (!json_is_object(o))
    return;
  printable(str(o, "type"), out->type, sizeof out->type);
  printable(str(o, "detail"), out->detail, sizeof out->detail);
}

int ck__acme_parse_problem(const char *body, size_t len, ck__acme_problem *out) {
  json_t *root = NULL;

  memset(out, 0, sizeof *out);
  if (body == NULL || len == 0 || len > CK_ACME_BODY_MAX)
    return 0;
  root = json_loadb(body, len, 0, NULL);
  if (!json_is_object(root) || str(root, "type") == NULL) {
    json_decref(root);
    return 0;
  }
  problem_from(root, out);
  json_decref(root);
  return 1;
}

ck_err ck__acme_parse_dir(const char *body, size_t len, ck__acme_dir *out,
                          ck_errctx *err) {
  json_t *meta, *v;
  ck_err rc;

  memset(out, 0, sizeof *out);
  if ((rc = load(body, len, "ACME directory", &out->root, err)) != CK_OK)
    return rc;
  if ((rc = url_field(out->root, "newNonce", "ACME directory", &out->new_nonce, err)) != CK_OK ||
      (rc = url_field(out->root, "newAccount", "ACME directory", &out->new_account, err)) != CK_OK ||
      (rc = url_field(out->root, "newOrder", "ACME directory", &out->new_order, err)) != CK_OK)
    return rc;
  meta = json_object_get(out->root, "meta");
  if (meta != NULL && !json_is_object(meta))
    return ck_failf(err, CK_ERR_PARSE, "ACME directory: 'meta' is not an object");
  v = meta != NULL ? json_object_get(meta, "externalAccountRequired") : NULL;
  if (v != NULL && !json_is_boolean(v))
    return ck_failf(err, CK_ERR_PARSE,
                    "ACME directory: 'meta.externalAccountRequired' is not a boolean");
  out->eab_required = json_is_true(v);
  return CK_OK;
}

void ck__acme_dir_clear(ck__acme_dir *d) {
  if (d == NULL)
    return;
  json_decref(d->root);
  memset(d, 0, sizeof *d);
}

static ck_err status_field(json_t *o, const char *what, ck__acme_status *out,
                           ck_errctx *err) {
  const char *s = str(o, "status");
  char buf[40];

  if (s == NULL)
    return ck_failf(err, CK_ERR_PARSE, "%s: missing 'status'", what);
  *out = ck__acme_status_parse(s);
  if (*out == CK_ACME_ST_UNKNOWN) {
    printable(s, buf, sizeof buf);
    return ck_failf(err, CK_ERR_PARSE, "%s: unknown status '%s'", what, buf);
  }
  return CK_OK;
}

ck_err ck__acme_parse_order(const char *body, size_t len, ck__acme_order *out,
                            ck_errctx *err) {
  json_t *arr, *v;
  size_t i;
  ck_err rc;

  memset(out, 0, sizeof *out);
  if ((rc = load(body, len, "ACME order", &out->root, err)) != CK_OK ||
      (rc = status_field(out->root, "ACME order", &out->status, err)) != CK_OK ||
      (rc = url_field(out->root, "finalize", "ACME order", &out->finalize, err)) != CK_OK)
    return rc;
  arr = json_object_get(out->root, "authorizations");
  if (!json_is_array(arr))
    return ck_failf(err, CK_ERR_PARSE, "ACME order: 'authorizations' is not an array");
  if (json_array_size(arr) > CK_ACME_MAX_AUTHZ)
    return ck_failf(err, CK_ERR_PARSE, "ACME order: more than %d authorizations",
                    CK_ACME_MAX_AUTHZ);
  json_array_foreach(arr, i, v) {
    if (!json_is_string(v) || !https_url(json_string_value(v)))
      return ck_failf(err, CK_ERR_PARSE, "ACME order: authorizations[%zu] is not an https URL", i);
    out->authz[out->n_authz++] = json_string_value(v);
  }
  if (json_object_get(out->root, "certificate") != NULL &&
      (rc = url_field(out->root, "certificate", "ACME order", &out->certificate, err)) != CK_OK)
    return rc;
  if (out->status == CK_ACME_ST_VALID && out->certificate == NULL)
    return ck_failf(err, CK_ERR_PARSE, "ACME order: valid but no 'certificate' URL");
  problem_from(json_object_get(out->root, "error"), &out->error);
  return CK_OK;
}

void ck__acme_order_clear(ck__acme_order *o) {
  if (o == NULL)
    return;
  json_decref(o->root);
  memset(o, 0, sizeof *o);
}

int ck__acme_token_ok(const char *t) {
  size_t i;
  if (t == NULL || t[0] == '\0')
    return 0;
  for (i = 0; t[i] != '\0'; i++) {
    char c = t[i];
    if (i >= 256 || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                      (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return 0;
  }
  return 1;
}

ck_err ck__acme_parse_authz(const char *body, size_t len, ck__acme_authz *out,
                            ck_errctx *err) {
  json_t *id, *arr, *v, *w;
  size_t i;
  ck_err rc;

  memset(out, 0, sizeof *out);
  if ((rc = load(body, len, "ACME authorization", &out->root, err)) != CK_OK ||
      (rc = status_field(out->root, "ACME authorization", &out->status, err)) != CK_OK)
    return rc;
  id = json_object_get(out->root, "identifier");
  if (!json_is_object(id) || (out->ident_type = str(id, "type")) == NULL ||
      (out->ident_value = str(id, "value")) == NULL)
    return ck_failf(err, CK_ERR_PARSE, "ACME authorization: missing 'identifier'");
  w = json_object_get(out->root, "wildcard");
  if (w != NULL && !json_is_boolean(w))
    return ck_failf(err, CK_ERR_PARSE, "ACME authorization: 'wildcard' is not a boolean");
  out->wildcard = json_is_true(w);
  arr = json_object_get(out->root, "challenges");
  if (!json_is_array(arr))
    return ck_failf(err, CK_ERR_PARSE, "ACME authorization: 'challenges' is not an array");
  json_array_foreach(arr, i, v) {
    ck__acme_chall *c;
    if (out->n_chall >= CK_ACME_MAX_CHALL)
      break; /* more than we could use; the rest is ignored */
    if (!json_is_object(v))
      return ck_failf(err, CK_ERR_PARSE, "ACME authorization: challenges[%zu] is not an object", i);
    c = &out->chall[out->n_chall];
    if ((c->type = str(v, "type")) == NULL)
      return ck_failf(err, CK_ERR_PARSE, "ACME authorization: challenges[%zu] has no type", i);
    if ((rc = url_field(v, "url", "ACME challenge", &c->url, err)) != CK_OK ||
        (rc = status_field(v, "ACME challenge", &c->status, err)) != CK_OK)
      return rc;
    c->token = str(v, "token");
    if (c->token != NULL && !ck__acme_token_ok(c->token))
      return ck_failf(err, CK_ERR_PARSE, "ACME challenge: token is not base64url");
    if (out->error.type[0] == '\0')
      problem_from(json_object_get(v, "error"), &out->error);
    out->n_chall++;
  }
  return CK_OK;
}

void ck__acme_authz_clear(ck__acme_authz *a) {
  if (a == NULL)
    return;
  json_decref(a->root);
  memset(a, 0, sizeof *a);
}

const ck__acme_chall *ck__acme_authz_find(const ck__acme_authz *a,
                                          const char *type) {
  size_t i;
  for (i = 0; i < a->n_chall; i++)
    if (strcmp(a->chall[i].type, type) == 0)
      return &a->chall[i];
  return NULL;
}

/* "Sun, 06 Nov 1994 08:49:37 GMT" -> epoch, -1 when it does not parse. */
static int64_t imf_fixdate(const char *s) {
  static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char wd[4], mn[4], tz[4];
  int d, y, hh, mm, ss, m;
  char iso[32];
  int64_t t;

  if (sscanf(s, "%3s, %d %3s %d %d:%d:%d %3s", wd, &d, mn, &y, &hh, &mm, &ss, tz) != 8 ||
      strcmp(tz, "GMT") != 0)
    return -1;
  for (m = 0; m < 12 && strcmp(mn, mon[m]) != 0; m++)
    ;
  if (m == 12 || d < 1 || d > 31 || y < 1970 || y > 9999 || hh < 0 || hh > 23 ||
      mm < 0 || mm > 59 || ss < 0 || ss > 60)
    return -1;
  snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m + 1, d, hh, mm,
           ss > 59 ? 59 : ss);
  if (ck_time_parse_rfc3339(iso, &t) != CK_OK)
    return -1;
  return t;
}

int64_t ck__acme_retry_after(const char *value, int64_t now, int64_t default_s,
                             int64_t min_s, int64_t max_s) {
  int64_t v = -1;
  size_t i;

  if (value != NULL && value[0] != '\0') {
    for (i = 0; value[i] >= '0' && value[i] <= '9' && i < 10; i++)
      v = (v < 0 ? 0 : v) * 10 + (value[i] - '0');
    if (value[i] != '\0' && value[i] != ' ')
      v = -1;
    if (v < 0) {
      int64_t t = imf_fixdate(value);
      if (t >= 0)
        v = t > now ? t - now : 0;
    }
  }
  if (v < 0)
    v = default_s;
  if (v < min_s)
    v = min_s;
  if (v > max_s)
    v = max_s;
  return v;
}
