/* profile_json.c — reading and writing profiles as JSON (jansson).
 *
 * Reading is strict because a profile is security policy typed by a person:
 * an unknown field is far more likely a typo ("dsn" for "dns") that would
 * silently widen or narrow issuance than a harmless extra. So unknown
 * fields, wrong types, duplicate keys, bad values and repeated list entries
 * are all errors that name the field: "profile 'web': san.dns[2]: ...".
 * Writing is canonical: every field in a fixed order with normalized values,
 * so a stored profile reads back equal and diffs between versions are
 * meaningful. docs/profiles.md documents the format. */
#include "coordinator/policy/profile.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "coordinator/policy/profile_approval.h"
#include "coordinator/policy/profile_upstream.h"

#define LIST_MAX 1000                    /* entries in one list */
#define DESC_MAX 1024                    /* bytes of description */
#define NAME_MAX_CHARS 64                /* profile and CA names */
#define WHO_MAX_CHARS 128                /* agent group and owner names */
#define VALIDITY_MAX_S (36500LL * 86400) /* 100 years */
#define MAX_SANS_LIMIT 1000
#define DEFAULT_MAX_SANS 100
#define DEFAULT_FRACTION 0.3333

typedef struct pctx {
  ck_errctx *err;
  const char *name; /* the profile's name once read, for messages */
} pctx;

ck_err ck__profile_failv(ck_errctx *err, ck_err code, const char *profile,
                         const char *section, const char *field,
                         const char *fmt, va_list ap) {
  char msg[400];
  const char *dot = *section && *field ? "." : "";
  const char *colon = *section || *field ? ": " : "";

  vsnprintf(msg, sizeof msg, fmt, ap);
  if (profile != NULL)
    return ck_failf(err, code, "profile '%s': %s%s%s%s%s", profile, section,
                    dot, field, colon, msg);
  return ck_failf(err, code, "profile: %s%s%s%s%s", section, dot, field, colon,
                  msg);
}

ck_err ck__profile_fail(ck_errctx *err, const char *profile,
                        const char *section, const char *field, const char *fmt,
                        ...) {
  va_list ap;
  ck_err rc;

  va_start(ap, fmt);
  rc = ck__profile_failv(err, CK_ERR_PARSE, profile, section, field, fmt, ap);
  va_end(ap);
  return rc;
}

/* Records "profile 'NAME': PATH: message" (or "profile: ...") and returns
 * code. */
static ck_err fail(pctx *c, ck_err code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static ck_err fail(pctx *c, ck_err code, const char *path, const char *fmt,
                   ...) {
  va_list ap;
  ck_err rc;

  va_start(ap, fmt);
  rc = ck__profile_failv(c->err, code, c->name, "", path, fmt, ap);
  va_end(ap);
  return rc;
}

static const char *jtype(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    return "an object";
  case JSON_ARRAY:
    return "an array";
  case JSON_STRING:
    return "a string";
  case JSON_INTEGER:
    return "an integer";
  case JSON_REAL:
    return "a number";
  case JSON_TRUE:
  case JSON_FALSE:
    return "a boolean";
  default:
    return "null";
  }
}

/* Copies s into buf for a message: printable ASCII kept, the rest as \xHH,
 * at most ~60 characters. */
static const char *shown(const char *s, char *buf, size_t len) {
  size_t i, k = 0;
  buf[0] = '\0';
  for (i = 0; s[i] != '\0' && k + 8 < len && i < 60; i++) {
    unsigned char u = (unsigned char)s[i];
    if (u >= 0x20 && u < 0x7f)
      buf[k++] = (char)u;
    else
      k += (size_t)snprintf(buf + k, len - k, "\\x%02x", u);
    buf[k] = '\0';
  }
  if (s[i] != '\0' && k + 4 < len)
    snprintf(buf + k, len - k, "...");
  return buf;
}

static ck_err check_fields(pctx *c, json_t *obj, const char *path,
                           const char *const *allowed) {
  const char *key;
  json_t *v;

  json_object_foreach(obj, key, v) {
    size_t i;
    int ok = 0;
    for (i = 0; allowed[i] != NULL; i++)
      if (strcmp(key, allowed[i]) == 0)
        ok = 1;
    if (!ok) {
      char sb[96];
      return fail(c, CK_ERR_PARSE, path, "unknown field '%s'",
                  shown(key, sb, sizeof sb));
    }
  }
  return CK_OK;
}

/* The member key of obj, or NULL; fails when required and missing. */
static ck_err member(pctx *c, json_t *obj, const char *parent, const char *key,
                     int required, json_t **out) {
  *out = json_object_get(obj, key);
  if (*out == NULL && required)
    return fail(c, CK_ERR_PARSE, parent, "missing field '%s'", key);
  return CK_OK;
}

/* A string value with no NUL and no control characters. */
static ck_err as_string(pctx *c, json_t *v, const char *path,
                        const char **out) {
  const char *s;
  size_t i, n;

  if (!json_is_string(v))
    return fail(c, CK_ERR_PARSE, path, "expected a string, got %s", jtype(v));
  s = json_string_value(v);
  n = json_string_length(v);
  if (strlen(s) != n)
    return fail(c, CK_ERR_PARSE, path, "contains a NUL character");
  for (i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      return fail(c, CK_ERR_PARSE, path, "contains a control character");
  *out = s;
  return CK_OK;
}

static ck_err as_bool(pctx *c, json_t *v, const char *path, int *out) {
  if (!json_is_boolean(v))
    return fail(c, CK_ERR_PARSE, path, "expected true or false, got %s",
                jtype(v));
  *out = json_is_true(v);
  return CK_OK;
}

static ck_err as_array(pctx *c, json_t *v, const char *path) {
  if (!json_is_array(v))
    return fail(c, CK_ERR_PARSE, path, "expected an array, got %s", jtype(v));
  if (json_array_size(v) > LIST_MAX)
    return fail(c, CK_ERR_PARSE, path, "has %zu entries; at most %d",
                json_array_size(v), LIST_MAX);
  return CK_OK;
}

/* A duration: integer seconds or a string "90d", "12h", "15m", "30s",
 * "2w". Must be in 1..VALIDITY_MAX_S (0 allowed when zero_ok). */
static ck_err as_duration(pctx *c, json_t *v, const char *path, int zero_ok,
                          int64_t *out) {
  int64_t s;
  char sb[96];

  if (json_is_integer(v)) {
    s = (int64_t)json_integer_value(v);
  } else if (json_is_string(v)) {
    const char *t = json_string_value(v);
    if (strlen(t) != json_string_length(v) || ck_duration_parse(t, &s) != CK_OK)
      return fail(c, CK_ERR_PARSE, path,
                  "'%s' is not a duration (e.g. 90d, 12h, 15m, 3600s)",
                  shown(t, sb, sizeof sb));
  } else {
    return fail(c, CK_ERR_PARSE, path,
                "expected a duration (\"90d\") or seconds, got %s", jtype(v));
  }
  if (s < 0 || (s == 0 && !zero_ok))
    return fail(c, CK_ERR_PARSE, path, "must be positive");
  if (s > VALIDITY_MAX_S)
    return fail(c, CK_ERR_PARSE, path, "%s is longer than 36500d",
                ck_profile_duration_format(s, sb, sizeof sb));
  *out = s;
  return CK_OK;
}

/* Names of profiles and CAs: [a-z0-9][a-z0-9._-]*, 1..64. */
static int name_ok(const char *s, int upper_ok) {
  size_t i, n = strlen(s);
  if (n == 0 || n > NAME_MAX_CHARS)
    return 0;
  for (i = 0; i < n; i++) {
    char ch = s[i];
    int alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                (upper_ok && ch >= 'A' && ch <= 'Z');
    if (!alnum && (i == 0 || (ch != '-' && ch != '.' && ch != '_')))
      return 0;
  }
  return 1;
}

int ck__profile_word_ok(const char *s, size_t max, const char *punct) {
  size_t i, n = strlen(s);

  if (n == 0 || n > max)
    return 0;
  for (i = 0; i < n; i++) {
    char ch = s[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
          (ch >= '0' && ch <= '9') || strchr(punct, ch) != NULL))
      return 0;
  }
  return 1;
}

/* Agent groups and owners: [A-Za-z0-9._@+-], 1..128, or "*". */
static int who_ok(const char *s) {
  return strcmp(s, "*") == 0 || ck__profile_word_ok(s, WHO_MAX_CHARS, "._@+-");
}

/* Finds name in the NULL-terminated names table; returns its index or -1. */
static int lookup(const char *name, const char *const *names) {
  int i;
  for (i = 0; names[i] != NULL; i++)
    if (strcmp(name, names[i]) == 0)
      return i;
  return -1;
}

/* ------------------------------------------------------------ the sections */

static ck_err parse_keys(pctx *c, json_t *v, ck_profile *p) {
  size_t i, j;
  ck_err rc;

  if ((rc = as_array(c, v, "key_types")) != CK_OK)
    return rc;
  if (json_array_size(v) == 0)
    return fail(c, CK_ERR_PARSE, "key_types",
                "at least one key type is required");
  for (i = 0; i < json_array_size(v); i++) {
    char path[32], a[24], b[24];
    const char *s;
    ck_profile_key k;
    ck_errctx e = CK_ERRCTX_INIT;

    snprintf(path, sizeof path, "key_types[%zu]", i);
    if ((rc = as_string(c, json_array_get(v, i), path, &s)) != CK_OK)
      return rc;
    if (ck_profile_key_parse(s, &k, &e) != CK_OK)
      return fail(c, CK_ERR_PARSE, path, "%s", e.msg);
    for (j = 0; j < p->n_keys; j++) {
      if (p->keys[j].type != k.type)
        continue;
      if (k.type == CK_KEY_RSA && p->keys[j].bits != k.bits)
        return fail(c, CK_ERR_PARSE, path,
                    "'%s': RSA already has the minimum '%s' (one RSA entry)",
                    ck_profile_key_name(&k, a, sizeof a),
                    ck_profile_key_name(&p->keys[j], b, sizeof b));
      if (p->keys[j].bits == k.bits)
        return fail(c, CK_ERR_PARSE, path, "'%s' is listed twice",
                    ck_profile_key_name(&k, a, sizeof a));
    }
    if (p->n_keys == CK_PROFILE_MAX_KEYS)
      return fail(c, CK_ERR_PARSE, path, "too many key types");
    p->keys[p->n_keys++] = k;
  }
  return CK_OK;
}

static ck_err parse_validity(pctx *c, json_t *v, ck_profile *p) {
  static const char *const fields[] = {"max", "default", NULL};
  json_t *m;
  char a[32], b[32];
  ck_err rc;

  if (!json_is_object(v))
    return fail(c, CK_ERR_PARSE, "validity", "expected an object, got %s",
                jtype(v));
  if ((rc = check_fields(c, v, "validity", fields)) != CK_OK ||
      (rc = member(c, v, "validity", "max", 1, &m)) != CK_OK ||
      (rc = as_duration(c, m, "validity.max", 0, &p->max_validity)) != CK_OK ||
      (rc = member(c, v, "validity", "default", 0, &m)) != CK_OK)
    return rc;
  p->default_validity = p->max_validity;
  if (m != NULL && (rc = as_duration(c, m, "validity.default", 0,
                                     &p->default_validity)) != CK_OK)
    return rc;
  if (p->default_validity > p->max_validity)
    return fail(c, CK_ERR_PARSE, "validity.default",
                "%s exceeds validity.max %s",
                ck_profile_duration_format(p->default_validity, a, sizeof a),
                ck_profile_duration_format(p->max_validity, b, sizeof b));
  return CK_OK;
}

static ck_err parse_renewal(pctx *c, json_t *v, ck_profile *p) {
  static const char *const fields[] = {"fraction", "before", NULL};
  json_t *m;
  char a[32], b[32];
  ck_err rc;

  if (v == NULL) {
    p->renew_fraction = DEFAULT_FRACTION;
    return CK_OK;
  }
  if (!json_is_object(v))
    return fail(c, CK_ERR_PARSE, "renewal", "expected an object, got %s",
                jtype(v));
  if ((rc = check_fields(c, v, "renewal", fields)) != CK_OK ||
      (rc = member(c, v, "renewal", "fraction", 0, &m)) != CK_OK)
    return rc;
  if (m != NULL) {
    double f;
    char buf[40];
    if (!json_is_number(m))
      return fail(c, CK_ERR_PARSE, "renewal.fraction",
                  "expected a number, got %s", jtype(m));
    f = json_number_value(m);
    if (f != 0 && !(f > 0 && f < 1))
      return fail(c, CK_ERR_PARSE, "renewal.fraction",
                  "%g is not between 0 and 1 (exclusive)", f);
    /* keep 15 significant digits so the value survives a round trip */
    snprintf(buf, sizeof buf, "%.15g", f);
    p->renew_fraction = strtod(buf, NULL);
  }
  if ((rc = member(c, v, "renewal", "before", 0, &m)) != CK_OK)
    return rc;
  if (m != NULL &&
      (rc = as_duration(c, m, "renewal.before", 1, &p->renew_before)) != CK_OK)
    return rc;
  if (p->renew_fraction == 0 && p->renew_before == 0)
    return fail(c, CK_ERR_PARSE, "renewal",
                "set fraction, before or both (e.g. {\"fraction\": 0.3333})");
  if (p->renew_before >= p->default_validity)
    return fail(c, CK_ERR_PARSE, "renewal.before",
                "%s is not shorter than validity.default %s",
                ck_profile_duration_format(p->renew_before, a, sizeof a),
                ck_profile_duration_format(p->default_validity, b, sizeof b));
  return CK_OK;
}

static ck_err parse_san(pctx *c, json_t *v, ck_profile *p) {
  static const char *const fields[] = {
      "dns", "ip", "uri", "email", "wildcards", "max", "from_binding", NULL};
  static const struct {
    const char *key;
    ck_san_type type;
  } lists[] = {{"dns", CK_SAN_DNS},
               {"ip", CK_SAN_IP},
               {"uri", CK_SAN_URI},
               {"email", CK_SAN_EMAIL}};
  json_t *m;
  size_t li, i;
  ck_err rc;

  if (!json_is_object(v))
    return fail(c, CK_ERR_PARSE, "san", "expected an object, got %s", jtype(v));
  if ((rc = check_fields(c, v, "san", fields)) != CK_OK)
    return rc;
  if ((rc = ck_sanset_new(&p->sans)) != CK_OK)
    return fail(c, rc, "san", "out of memory");
  for (li = 0; li < sizeof lists / sizeof lists[0]; li++) {
    char lpath[16];
    snprintf(lpath, sizeof lpath, "san.%s", lists[li].key);
    m = json_object_get(v, lists[li].key);
    if (m == NULL)
      continue;
    if ((rc = as_array(c, m, lpath)) != CK_OK)
      return rc;
    for (i = 0; i < json_array_size(m); i++) {
      char path[48];
      const char *s;
      ck_errctx e = CK_ERRCTX_INIT;
      snprintf(path, sizeof path, "%s[%zu]", lpath, i);
      if ((rc = as_string(c, json_array_get(m, i), path, &s)) != CK_OK)
        return rc;
      if ((rc = ck_sanset_add(p->sans, lists[li].type, s, &e)) != CK_OK)
        return fail(c, rc == CK_ERR_NOMEM ? rc : CK_ERR_PARSE, path, "%s",
                    e.msg);
    }
  }
  if ((rc = member(c, v, "san", "wildcards", 0, &m)) != CK_OK ||
      (m != NULL &&
       (rc = as_bool(c, m, "san.wildcards", &p->wildcards)) != CK_OK) ||
      (rc = member(c, v, "san", "from_binding", 0, &m)) != CK_OK ||
      (m != NULL && (rc = as_bool(c, m, "san.from_binding",
                                  &p->sans_from_binding)) != CK_OK) ||
      (rc = member(c, v, "san", "max", 0, &m)) != CK_OK)
    return rc;
  p->max_sans = DEFAULT_MAX_SANS;
  if (m != NULL) {
    json_int_t n;
    if (!json_is_integer(m))
      return fail(c, CK_ERR_PARSE, "san.max", "expected an integer, got %s",
                  jtype(m));
    n = json_integer_value(m);
    if (n < 1 || n > MAX_SANS_LIMIT)
      return fail(c, CK_ERR_PARSE, "san.max", "%lld is not in 1..%d",
                  (long long)n, MAX_SANS_LIMIT);
    p->max_sans = (unsigned)n;
  }
  if (p->sans_from_binding && ck_sanset_count(p->sans, 0) > 0)
    return fail(c, CK_ERR_PARSE, "san.from_binding",
                "names come from the agent's binding, so san.dns, san.ip, "
                "san.uri and san.email must be empty");
  return CK_OK;
}

/* Reads a list of names from table into a bit mask. bad[] optionally gives
 * a specific message for names that exist but may not be used. */
static ck_err parse_bits(pctx *c, json_t *v, const char *path,
                         const char *const *names, const char *const *refused,
                         const char *refusal, int need_one, unsigned *out) {
  size_t i;
  ck_err rc;

  *out = 0;
  if ((rc = as_array(c, v, path)) != CK_OK)
    return rc;
  if (need_one && json_array_size(v) == 0)
    return fail(c, CK_ERR_PARSE, path, "at least one entry is required");
  for (i = 0; i < json_array_size(v); i++) {
    char ipath[40], sb[96];
    const char *s;
    int bit;
    snprintf(ipath, sizeof ipath, "%s[%zu]", path, i);
    if ((rc = as_string(c, json_array_get(v, i), ipath, &s)) != CK_OK)
      return rc;
    if (refused != NULL && lookup(s, refused) >= 0)
      return fail(c, CK_ERR_PARSE, ipath, "'%s' %s", s, refusal);
    if ((bit = lookup(s, names)) < 0) {
      char all[200];
      size_t k = 0, j;
      all[0] = '\0';
      for (j = 0; names[j] != NULL && k < sizeof all; j++)
        if (names[j][0] != '\0')
          k += (size_t)snprintf(all + k, sizeof all - k, "%s%s", k ? ", " : "",
                                names[j]);
      return fail(c, CK_ERR_PARSE, ipath, "'%s' is not one of %s",
                  shown(s, sb, sizeof sb), all);
    }
    if (*out & (1u << bit))
      return fail(c, CK_ERR_PARSE, ipath, "'%s' is listed twice", s);
    *out |= 1u << bit;
  }
  return CK_OK;
}

/* Reads a list of group or owner names into a malloc'ed array. */
static ck_err parse_who(pctx *c, json_t *v, const char *path, char ***out,
                        size_t *n) {
  size_t i, j, cnt;
  ck_err rc;

  if (v == NULL)
    return CK_OK;
  if ((rc = as_array(c, v, path)) != CK_OK)
    return rc;
  cnt = json_array_size(v);
  if (cnt == 0)
    return CK_OK;
  if ((*out = calloc(cnt, sizeof **out)) == NULL)
    return fail(c, CK_ERR_NOMEM, path, "out of memory");
  for (i = 0; i < cnt; i++) {
    char ipath[48], sb[96];
    const char *s;
    snprintf(ipath, sizeof ipath, "%s[%zu]", path, i);
    if ((rc = as_string(c, json_array_get(v, i), ipath, &s)) != CK_OK)
      return rc;
    if (!who_ok(s))
      return fail(c, CK_ERR_PARSE, ipath,
                  "'%s' is not a valid name (1..128 of A-Z a-z 0-9 . _ @ + "
                  "-, or '*' for any)",
                  shown(s, sb, sizeof sb));
    for (j = 0; j < *n; j++) {
      if (strcmp((*out)[j], s) == 0)
        return fail(c, CK_ERR_PARSE, ipath, "'%s' is listed twice", s);
      if (strcmp((*out)[j], "*") == 0 || strcmp(s, "*") == 0)
        return fail(c, CK_ERR_PARSE, ipath,
                    "'*' already means any, list it alone");
    }
    if (((*out)[*n] = strdup(s)) == NULL)
      return fail(c, CK_ERR_NOMEM, path, "out of memory");
    (*n)++;
  }
  return CK_OK;
}

static const char *const KU_TABLE[] = {"digitalSignature", "nonRepudiation",
                                       "keyEncipherment",  "dataEncipherment",
                                       "keyAgreement",     NULL};
static const char *const KU_CA[] = {"keyCertSign", "cRLSign", NULL};
static const char *const EKU_TABLE[] = {
    "serverAuth",   "clientAuth",  "codeSigning", "emailProtection",
    "timeStamping", "OCSPSigning", NULL};
static const char *const ROLE_TABLE[] = {"admin", "operator", "approver",
                                         "auditor", NULL};
static const char *const ROLE_OWNER[] = {"owner", NULL};
static const char *const CN_TABLE[] = {"require_san", "copy_to_san",
                                       "unchecked", NULL};

static ck_err parse_access(pctx *c, json_t *v, ck_profile *p) {
  static const char *const fields[] = {"agent_groups", "roles", "owners", NULL};
  json_t *m;
  ck_err rc;

  if (!json_is_object(v))
    return fail(c, CK_ERR_PARSE, "access", "expected an object, got %s",
                jtype(v));
  if ((rc = check_fields(c, v, "access", fields)) != CK_OK ||
      (rc = parse_who(c, json_object_get(v, "agent_groups"),
                      "access.agent_groups", &p->agent_groups,
                      &p->n_agent_groups)) != CK_OK)
    return rc;
  m = json_object_get(v, "roles");
  if (m != NULL &&
      (rc = parse_bits(c, m, "access.roles", ROLE_TABLE, ROLE_OWNER,
                       "is not listed here: owner tokens are allowed by "
                       "access.owners ('*' for any owner)",
                       0, &p->roles)) != CK_OK)
    return rc;
  return parse_who(c, json_object_get(v, "owners"), "access.owners", &p->owners,
                   &p->n_owners);
}

ck_err ck_profile_from_json(const char *text, size_t len, ck_profile **out,
                            ck_errctx *err) {
  static const char *const fields[] = {
      "name",      "version",       "description", "ca",  "workflow",
      "key_types", "validity",      "renewal",     "san", "cn",
      "key_usage", "ext_key_usage", "access",
      "approval", "purpose", "blast_radius", /* profile_approval.c */
      "upstream", /* profile_upstream.c */
      NULL};
  pctx c = {err, NULL};
  json_t *root = NULL, *m;
  json_error_t je;
  ck_profile *p = NULL;
  const char *s;
  char sb[96];
  ck_err rc;

  if (text == NULL || out == NULL)
    return ck_failf(err, CK_ERR_INVAL, "profile: no input");
  if (len > CK_PROFILE_JSON_MAX) {
    rc = ck_failf(err, CK_ERR_LIMIT,
                  "profile: %zu bytes exceed the limit "
                  "of %d",
                  len, CK_PROFILE_JSON_MAX);
    goto out;
  }
  root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (root == NULL) {
    rc = ck_failf(err, CK_ERR_PARSE,
                  "profile: not valid JSON: line %d column %d: %s", je.line,
                  je.column, je.text);
    goto out;
  }
  if (!json_is_object(root)) {
    rc = fail(&c, CK_ERR_PARSE, "", "expected a JSON object, got %s",
              jtype(root));
    goto out;
  }
  if ((p = calloc(1, sizeof *p)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "profile: out of memory");
    goto out;
  }
  /* the name first, so every later message can say which profile */
  if ((rc = member(&c, root, "", "name", 1, &m)) != CK_OK ||
      (rc = as_string(&c, m, "name", &s)) != CK_OK)
    goto out;
  if (!name_ok(s, 0)) {
    rc = fail(&c, CK_ERR_PARSE, "name",
              "'%s' is not a valid profile name (1..64 of a-z 0-9 . _ -, "
              "starting with a letter or digit)",
              shown(s, sb, sizeof sb));
    goto out;
  }
  if ((p->name = strdup(s)) == NULL) {
    rc = fail(&c, CK_ERR_NOMEM, "", "out of memory");
    goto out;
  }
  c.name = p->name;
  if ((rc = check_fields(&c, root, "", fields)) != CK_OK)
    goto out;

  if ((m = json_object_get(root, "version")) != NULL) {
    if (!json_is_integer(m)) {
      rc = fail(&c, CK_ERR_PARSE, "version", "expected an integer, got %s",
                jtype(m));
      goto out;
    }
    if (json_integer_value(m) < 0) {
      rc = fail(&c, CK_ERR_PARSE, "version", "must not be negative");
      goto out;
    }
    p->version = (int64_t)json_integer_value(m);
  }

  s = "";
  if ((m = json_object_get(root, "description")) != NULL &&
      (rc = as_string(&c, m, "description", &s)) != CK_OK)
    goto out;
  if (strlen(s) > DESC_MAX) {
    rc =
        fail(&c, CK_ERR_PARSE, "description", "longer than %d bytes", DESC_MAX);
    goto out;
  }
  if ((p->description = strdup(s)) == NULL) {
    rc = fail(&c, CK_ERR_NOMEM, "", "out of memory");
    goto out;
  }

  s = "";
  if ((m = json_object_get(root, "ca")) != NULL &&
      (rc = as_string(&c, m, "ca", &s)) != CK_OK)
    goto out;
  if (*s != '\0' && !name_ok(s, 1)) {
    rc = fail(&c, CK_ERR_PARSE, "ca",
              "'%s' is not a valid CA name (1..64 of A-Z a-z 0-9 . _ -, "
              "starting with a letter or digit; \"\" for the default CA)",
              shown(s, sb, sizeof sb));
    goto out;
  }
  if ((p->ca = strdup(s)) == NULL) {
    rc = fail(&c, CK_ERR_NOMEM, "", "out of memory");
    goto out;
  }

  if ((rc = member(&c, root, "", "workflow", 1, &m)) != CK_OK ||
      (rc = as_string(&c, m, "workflow", &s)) != CK_OK)
    goto out;
  if (strcmp(s, "automatic") == 0) {
    p->workflow = CK_PROFILE_AUTOMATIC;
  } else if (strcmp(s, "approval") == 0) {
    p->workflow = CK_PROFILE_APPROVAL;
  } else {
    rc =
        fail(&c, CK_ERR_PARSE, "workflow",
             "'%s' is not one of automatic, approval", shown(s, sb, sizeof sb));
    goto out;
  }

  if ((rc = member(&c, root, "", "key_types", 1, &m)) != CK_OK ||
      (rc = parse_keys(&c, m, p)) != CK_OK ||
      (rc = member(&c, root, "", "validity", 1, &m)) != CK_OK ||
      (rc = parse_validity(&c, m, p)) != CK_OK ||
      (rc = parse_renewal(&c, json_object_get(root, "renewal"), p)) != CK_OK ||
      (rc = member(&c, root, "", "san", 1, &m)) != CK_OK ||
      (rc = parse_san(&c, m, p)) != CK_OK)
    goto out;

  p->cn = CK_PROFILE_CN_REQUIRE_SAN;
  if ((m = json_object_get(root, "cn")) != NULL) {
    int i;
    if ((rc = as_string(&c, m, "cn", &s)) != CK_OK)
      goto out;
    if ((i = lookup(s, CN_TABLE)) < 0) {
      rc = fail(&c, CK_ERR_PARSE, "cn",
                "'%s' is not one of require_san, copy_to_san, unchecked",
                shown(s, sb, sizeof sb));
      goto out;
    }
    p->cn = i == 0   ? CK_PROFILE_CN_REQUIRE_SAN
            : i == 1 ? CK_PROFILE_CN_COPY
                     : CK_PROFILE_CN_UNCHECKED;
  }

  p->key_usage = CK_KU_DIGITAL_SIGNATURE | CK_KU_KEY_ENCIPHERMENT;
  if ((m = json_object_get(root, "key_usage")) != NULL &&
      (rc = parse_bits(&c, m, "key_usage", KU_TABLE, KU_CA,
                       "is for CA certificates, not in an end-entity "
                       "profile",
                       1, &p->key_usage)) != CK_OK)
    goto out;
  if ((rc = member(&c, root, "", "ext_key_usage", 1, &m)) != CK_OK ||
      (rc = parse_bits(&c, m, "ext_key_usage", EKU_TABLE, NULL, NULL, 1,
                       &p->eku)) != CK_OK ||
      (rc = member(&c, root, "", "access", 1, &m)) != CK_OK ||
      (rc = parse_access(&c, m, p)) != CK_OK)
    goto out;
  if ((rc = ck__profile_routing_from_json(p, root, err)) != CK_OK)
    goto out;
  if ((m = json_object_get(root, "upstream")) != NULL && !json_is_null(m) &&
      (rc = ck__profile_upstream_from_json(p->name, m, &p->upstream, err)) !=
          CK_OK)
    goto out;

  *out = p;
  p = NULL;
  rc = CK_OK;
out:
  json_decref(root);
  ck_profile_free(p);
  return rc;
}

/* ----------------------------------------------------------------- writing */

static int add_str(json_t *o, const char *k, const char *v) {
  return json_object_set_new(o, k, json_string(v ? v : ""));
}

static int add_dur(json_t *o, const char *k, int64_t s) {
  char b[32];
  return add_str(o, k, ck_profile_duration_format(s, b, sizeof b));
}

json_t *ck__profile_str_list(char **v, size_t n) {
  json_t *a = json_array();
  size_t i;
  for (i = 0; a != NULL && i < n; i++)
    if (json_array_append_new(a, json_string(v[i])) != 0) {
      json_decref(a);
      return NULL;
    }
  return a;
}

static json_t *bit_list(unsigned bits, const char *const *names) {
  json_t *a = json_array();
  int i;
  for (i = 0; a != NULL && names[i] != NULL; i++)
    if ((bits & (1u << i)) &&
        json_array_append_new(a, json_string(names[i])) != 0) {
      json_decref(a);
      return NULL;
    }
  return a;
}

static json_t *san_list(const ck_sanset *s, ck_san_type t) {
  json_t *a = json_array();
  size_t i, n = ck_sanset_count(s, t);
  for (i = 0; a != NULL && i < n; i++)
    if (json_array_append_new(a, json_string(ck_sanset_get(s, t, i))) != 0) {
      json_decref(a);
      return NULL;
    }
  return a;
}

ck_err ck_profile_to_json(const ck_profile *p, unsigned flags, char **out,
                          ck_errctx *err) {
  json_t *o = NULL, *keys = NULL, *val = NULL, *ren = NULL, *san = NULL,
         *acc = NULL;
  char *text = NULL;
  size_t i;
  int bad = 0;
  ck_err rc = CK_OK;

  if (p == NULL || out == NULL)
    return ck_failf(err, CK_ERR_INVAL, "profile: nothing to write");
  o = json_object();
  keys = json_array();
  val = json_object();
  ren = json_object();
  san = json_object();
  acc = json_object();
  if (o == NULL || keys == NULL || val == NULL || ren == NULL || san == NULL ||
      acc == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "profile: out of memory");
    goto out;
  }
  bad |= add_str(o, "name", p->name);
  bad |= json_object_set_new(o, "version", json_integer(p->version));
  bad |= add_str(o, "description", p->description);
  bad |= add_str(o, "ca", p->ca);
  bad |= add_str(o, "workflow",
                 p->workflow == CK_PROFILE_APPROVAL ? "approval" : "automatic");
  for (i = 0; i < p->n_keys; i++) {
    char b[24];
    bad |= json_array_append_new(
        keys, json_string(ck_profile_key_name(&p->keys[i], b, sizeof b)));
  }
  bad |= json_object_set(o, "key_types", keys);
  bad |= add_dur(val, "max", p->max_validity);
  bad |= add_dur(val, "default", p->default_validity);
  bad |= json_object_set(o, "validity", val);
  if (p->renew_fraction > 0)
    bad |= json_object_set_new(ren, "fraction", json_real(p->renew_fraction));
  if (p->renew_before > 0)
    bad |= add_dur(ren, "before", p->renew_before);
  bad |= json_object_set(o, "renewal", ren);
  bad |= json_object_set_new(san, "dns", san_list(p->sans, CK_SAN_DNS));
  bad |= json_object_set_new(san, "ip", san_list(p->sans, CK_SAN_IP));
  bad |= json_object_set_new(san, "uri", san_list(p->sans, CK_SAN_URI));
  bad |= json_object_set_new(san, "email", san_list(p->sans, CK_SAN_EMAIL));
  bad |= json_object_set_new(san, "wildcards", json_boolean(p->wildcards));
  bad |= json_object_set_new(san, "from_binding",
                             json_boolean(p->sans_from_binding));
  bad |= json_object_set_new(san, "max", json_integer(p->max_sans));
  bad |= json_object_set(o, "san", san);
  bad |= add_str(o, "cn",
                 CN_TABLE[p->cn == CK_PROFILE_CN_COPY        ? 1
                          : p->cn == CK_PROFILE_CN_UNCHECKED ? 2
                                                             : 0]);
  bad |= json_object_set_new(o, "key_usage", bit_list(p->key_usage, KU_TABLE));
  bad |= json_object_set_new(o, "ext_key_usage", bit_list(p->eku, EKU_TABLE));
  bad |= json_object_set_new(
      acc, "agent_groups",
      ck__profile_str_list(p->agent_groups, p->n_agent_groups));
  bad |= json_object_set_new(acc, "roles", bit_list(p->roles, ROLE_TABLE));
  bad |= json_object_set_new(acc, "owners",
                             ck__profile_str_list(p->owners, p->n_owners));
  bad |= json_object_set(o, "access", acc);
  if (p->upstream != NULL) {
    json_t *up = ck__profile_upstream_to_json(p->upstream);
    bad |= up == NULL || json_object_set_new(o, "upstream", up) != 0;
  }
  bad |= ck__profile_routing_to_json(p->routing, o);
  if (bad) {
    rc = ck_failf(err, CK_ERR_NOMEM, "profile: out of memory");
    goto out;
  }
  text = json_dumps(o, JSON_REAL_PRECISION(15) |
                           ((flags & CK_PROFILE_JSON_PRETTY) ? JSON_INDENT(2)
                                                             : JSON_COMPACT));
  if (text == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "profile: out of memory");
    goto out;
  }
  *out = text; /* json_dumps memory is released with free() */
  text = NULL;
out:
  free(text);
  json_decref(o);
  json_decref(keys);
  json_decref(val);
  json_decref(ren);
  json_decref(san);
  json_decref(acc);
  return rc;
}
