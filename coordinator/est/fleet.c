/* fleet.c — EST fleets as "est.fleet" documents: validation, the salted
 * secret hash, JSON encoding for the store and the API, lookups by name
 * and label. Name patterns are in pattern.c, one-time passwords and device
 * records in otp.c. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/mem.h"
#include "coordinator/est/fleet.h"

static const char *const reserved[] = {"cacerts",        "simpleenroll",
                                       "simplereenroll", "csrattrs",
                                       "serverkeygen",   "fullcmc"};

void ck_estd_fleet_clear(ck_estd_fleet *f) {
  if (f == NULL)
    return;
  free(f->idevid_pem);
  ck_wipe(f, sizeof *f);
}

int ck_estd_name_ok(const char *name) {
  size_t i, n = name != NULL ? strlen(name) : 0;

  if (n == 0 || n >= CK_ESTD_NAME_MAX)
    return 0;
  for (i = 0; i < n; i++) {
    char c = name[i];
    int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '-' && c != '_' && c != '.')))
      return 0;
  }
  for (i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (strcmp(name, reserved[i]) == 0)
      return 0;
  return 1;
}

ck_err ck_estd_fleet_validate(const ck_estd_fleet *f, ck_errctx *err) {
  const char *p = f->patterns;
  char one[300];

  if (!ck_estd_name_ok(f->name))
    return ck_failf(
        err, CK_ERR_INVAL,
        "fleet name '%s': 1..63 of a-z 0-9 . _ -, starting with a letter or "
        "digit, not an EST operation name",
        f->name);
  if (f->label[0] != '\0' && !ck_estd_name_ok(f->label))
    return ck_failf(err, CK_ERR_INVAL, "label '%s': same rules as fleet names",
                    f->label);
  if (f->profile[0] == '\0')
    return ck_failf(err, CK_ERR_INVAL, "a fleet needs a profile");
  if (f->rate_per_min > 1000000)
    return ck_failf(err, CK_ERR_INVAL, "rate %u per minute is out of range",
                    f->rate_per_min);
  while (*p != '\0') {
    size_t n = strcspn(p, "\n");
    if (n == 0 || n >= sizeof one)
      return ck_failf(err, CK_ERR_INVAL, "empty or over-long name pattern");
    memcpy(one, p, n);
    one[n] = '\0';
    if (!ck_estd_pattern_valid(one))
      return ck_failf(
          err, CK_ERR_INVAL,
          "name pattern '%s': use DNS labels, '*' and {serial} (e.g. "
          "'*.sensors.example' or '{serial}.dev.example')",
          one);
    p += n;
    if (*p == '\n')
      p++;
  }
  if (f->idevid_pem != NULL && f->idevid_pem[0] != '\0') {
    ck_cert_list l = {0};
    ck_errctx e2 = CK_ERRCTX_INIT;
    size_t i;
    ck_err rc = ck_cert_list_parse(&l, (const uint8_t *)f->idevid_pem,
                                   strlen(f->idevid_pem), &e2);
    if (rc == CK_OK)
      for (i = 0; i < l.n; i++)
        if (!ck_cert_get_info(l.certs[i])->is_ca)
          rc =
              ck_failf(&e2, CK_ERR_INVAL, "certificate %zu is not a CA", i + 1);
    ck_cert_list_clear(&l);
    if (rc != CK_OK)
      return ck_failf(err, CK_ERR_INVAL, "IDevID trust anchor: %s",
                      ck_errctx_msg(&e2));
  }
  return CK_OK;
}

ck_err ck_estd_secret_hash(const char *salt_hex, const char *secret,
                           char out[CK_SHA256_HEX_LEN]) {
  uint8_t h[CK_SHA256_LEN], *buf;
  size_t sl = strlen(salt_hex), kl = strlen(secret),
         n = sl + kl + CK_SHA256_LEN;
  unsigned i;
  ck_err rc;

  if ((buf = malloc(n)) == NULL)
    return CK_ERR_NOMEM;
  memcpy(buf, salt_hex, sl);
  memcpy(buf + sl, secret, kl);
  rc = ck_crypto_sha256(buf, sl + kl, h);
  /* each round hashes the previous digest with the secret again */
  for (i = 1; rc == CK_OK && i < CK_ESTD_SECRET_ITER; i++) {
    memcpy(buf + sl + kl, h, CK_SHA256_LEN);
    rc = ck_crypto_sha256(buf + sl, kl + CK_SHA256_LEN, h);
  }
  ck_wipe(buf, n);
  free(buf);
  if (rc == CK_OK)
    rc = ck_crypto_hex(h, CK_SHA256_LEN, 0, out, CK_SHA256_HEX_LEN);
  ck_wipe(h, sizeof h);
  return rc;
}

ck_err ck_estd_fleet_set_secret(ck_estd_fleet *f, const char *secret,
                                ck_errctx *err) {
  uint8_t salt[16];
  size_t n = secret != NULL ? strlen(secret) : 0;
  ck_err rc;

  if (n < CK_ESTD_SECRET_MIN || n > CK_ESTD_SECRET_MAX)
    return ck_failf(err, CK_ERR_INVAL,
                    "the fleet secret must be %d..%d characters",
                    CK_ESTD_SECRET_MIN, CK_ESTD_SECRET_MAX);
  if (strchr(secret, '\n') != NULL || strchr(secret, '\r') != NULL)
    return ck_failf(err, CK_ERR_INVAL, "the fleet secret must be one line");
  if ((rc = ck_random(salt, sizeof salt)) != CK_OK ||
      (rc = ck_crypto_hex(salt, sizeof salt, 0, f->salt_hex,
                          sizeof f->salt_hex)) != CK_OK ||
      (rc = ck_estd_secret_hash(f->salt_hex, secret, f->secret_hash)) != CK_OK)
    return ck_failf(err, rc, "fleet secret");
  return CK_OK;
}

int ck_estd_fleet_check_secret(const ck_estd_fleet *f, const char *secret) {
  char h[CK_SHA256_HEX_LEN];
  int ok;

  if (secret == NULL || strlen(secret) > CK_ESTD_SECRET_MAX ||
      f->secret_hash[0] == '\0' ||
      ck_estd_secret_hash(f->salt_hex, secret, h) != CK_OK)
    return 0;
  ok = ck_ct_equal(h, f->secret_hash, CK_SHA256_HEX_LEN - 1);
  ck_wipe(h, sizeof h);
  return ok;
}

/* ------------------------------------------------------------------ JSON */

static json_t *lines_array(const char *text) {
  json_t *arr = json_array();
  const char *p = text;

  while (arr != NULL && *p != '\0') {
    size_t n = strcspn(p, "\n");
    if (n > 0)
      json_array_append_new(arr, json_stringn(p, n));
    p += n;
    if (*p == '\n')
      p++;
  }
  return arr;
}

static void lines_from(json_t *arr, char *out, size_t cap) {
  size_t i, off = 0;
  json_t *v;

  out[0] = '\0';
  json_array_foreach(arr, i, v) {
    const char *s = json_string_value(v);
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || off + n + 2 > cap)
      continue;
    if (off > 0)
      out[off++] = '\n';
    memcpy(out + off, s, n);
    off += n;
    out[off] = '\0';
  }
}

static json_t *fleet_json(const ck_estd_fleet *f, int stored, int with_idevid) {
  char created[32];
  json_t *o;

  ck_time_format_rfc3339(f->created_at, created, sizeof created);
  o = json_pack("{s:s,s:s,s:s,s:o,s:I,s:o,s:s,s:s,s:b}", "name", f->name,
                "label", f->label, "profile", f->profile, "patterns",
                lines_array(f->patterns), "rate_per_minute",
                (json_int_t)f->rate_per_min, "owners", lines_array(f->owners),
                "created_by", f->created_by, "created_at", created, "idevid",
                f->idevid_pem != NULL);
  if (o == NULL)
    return NULL;
  if (stored) {
    json_object_set_new(o, "salt", json_string(f->salt_hex));
    json_object_set_new(o, "secret_sha256i", json_string(f->secret_hash));
    json_object_set_new(o, "created", json_integer(f->created_at));
  }
  if ((stored || with_idevid) && f->idevid_pem != NULL)
    json_object_set_new(o, "idevid_pem", json_string(f->idevid_pem));
  if (!stored)
    json_object_set_new(o, "version", json_integer(f->version));
  return o;
}

char *ck_estd_fleet_to_json(const ck_estd_fleet *f, int with_idevid) {
  json_t *o = fleet_json(f, 0, with_idevid);
  char *s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

  json_decref(o);
  return s;
}

ck_err ck_estd_fleet_from_doc(const ck_store_doc *d, ck_estd_fleet *out,
                              ck_errctx *err) {
  json_error_t je;
  json_t *o = json_loads(d->doc, 0, &je), *v;
  const char *s;

  memset(out, 0, sizeof *out);
  if (o == NULL || !json_is_object(o)) {
    json_decref(o);
    return ck_failf(err, CK_ERR_PARSE, "fleet document '%s' does not decode",
                    d->id);
  }
#define STR(key, dst)                                                          \
  do {                                                                         \
    s = json_string_value(json_object_get(o, key));                            \
    ck_strlcpy(dst, s != NULL ? s : "", sizeof dst);                           \
  } while (0)
  STR("name", out->name);
  STR("label", out->label);
  STR("profile", out->profile);
  STR("salt", out->salt_hex);
  STR("secret_sha256i", out->secret_hash);
  STR("created_by", out->created_by);
#undef STR
  lines_from(json_object_get(o, "patterns"), out->patterns,
             sizeof out->patterns);
  lines_from(json_object_get(o, "owners"), out->owners, sizeof out->owners);
  v = json_object_get(o, "rate_per_minute");
  out->rate_per_min = json_is_integer(v) && json_integer_value(v) > 0
                          ? (unsigned)json_integer_value(v)
                          : 0;
  out->created_at = json_integer_value(json_object_get(o, "created"));
  s = json_string_value(json_object_get(o, "idevid_pem"));
  if (s != NULL && (out->idevid_pem = strdup(s)) == NULL) {
    json_decref(o);
    return ck_failf(err, CK_ERR_NOMEM, "fleet");
  }
  out->version = d->version;
  json_decref(o);
  if (out->name[0] == '\0' || out->profile[0] == '\0') {
    ck_estd_fleet_clear(out);
    return ck_failf(err, CK_ERR_PARSE,
                    "fleet document '%s' lacks name or profile", d->id);
  }
  return CK_OK;
}

ck_err ck_estd_fleet_put(ck_store_write *w, const ck_estd_fleet *f,
                         int64_t expect_version, ck_errctx *err) {
  json_t *o = fleet_json(f, 1, 1);
  char *text = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  ck_store_doc d;
  ck_err rc;

  json_decref(o);
  if (text == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "fleet");
  memset(&d, 0, sizeof d);
  d.kind = CK_ESTD_KIND_FLEET;
  d.id = f->name;
  d.key = f->label;
  d.state = "";
  d.doc = text;
  rc = ck_store_write_doc_put(w, &d, expect_version, err);
  free(text);
  return rc;
}

/* ----------------------------------------------------------------- reads */

ck_err ck_estd_fleet_get(ck_store *s, const char *name, ck_estd_fleet *out,
                         ck_errctx *err) {
  ck_arena *a = ck_arena_new(4096);
  ck_store_doc d;
  ck_err rc;

  if (a == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "fleet");
  rc = ck_store_doc_get(s, CK_ESTD_KIND_FLEET, name, a, &d, err);
  if (rc == CK_OK)
    rc = ck_estd_fleet_from_doc(&d, out, err);
  ck_arena_free(a);
  return rc;
}

ck_err ck_estd_fleet_by_label(ck_store *s, const char *label,
                              ck_estd_fleet *out, ck_errctx *err) {
  ck_arena *a = ck_arena_new(4096);
  ck_doc_filter f;
  ck_store_page pg;
  ck_store_doc *items = NULL;
  size_t n = 0;
  ck_err rc;

  if (a == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "fleet");
  memset(&f, 0, sizeof f);
  memset(&pg, 0, sizeof pg);
  f.kind = CK_ESTD_KIND_FLEET;
  f.key = label;
  pg.limit = 1;
  rc = ck_store_doc_list(s, &f, &pg, a, &items, &n, err);
  if (rc == CK_OK && n > 0)
    rc = ck_estd_fleet_from_doc(&items[0], out, err);
  ck_arena_free(a);
  if (rc == CK_OK && n == 0)
    rc = ck_estd_fleet_get(s, label, out, err);
  return rc;
}
