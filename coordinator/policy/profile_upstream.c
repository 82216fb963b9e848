/* profile_upstream.c — the "upstream" block of a profile: which external
 * CA fulfils the profile and how the coordinator talks to it (today one
 * type, an RFC 8555 ACME CA; the connector is coordinator/ca/
 * upstream_acme.c). Parsed as strictly as the rest of the profile, since a
 * typo here sends requests to the wrong place; docs/profiles.md documents
 * every field. */
#include "coordinator/policy/profile_upstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"

#define URL_MAX 2048
#define PATH_MAX_BYTES 4096
#define KID_MAX 512
#define TIMEOUT_DEFAULT 120
#define TIMEOUT_MIN 10
#define TIMEOUT_MAX 3600

void ck_profile_upstream_free(ck_profile_upstream *u) {
  if (u == NULL)
    return;
  free(u->type);
  free(u->directory);
  free(u->ca_bundle);
  free(u->account_key);
  free(u->eab_kid);
  free(u->eab_hmac_file);
  free(u->http01_listen);
  free(u->dns01_hook);
  free(u->contact);
  free(u);
}

static int seq(const char *a, const char *b) {
  return strcmp(a ? a : "", b ? b : "") == 0;
}

int ck_profile_upstream_equal(const ck_profile_upstream *a,
                              const ck_profile_upstream *b) {
  if (a == NULL || b == NULL)
    return a == b;
  return seq(a->type, b->type) && seq(a->directory, b->directory) &&
         seq(a->ca_bundle, b->ca_bundle) &&
         seq(a->account_key, b->account_key) && seq(a->eab_kid, b->eab_kid) &&
         seq(a->eab_hmac_file, b->eab_hmac_file) &&
         seq(a->http01_listen, b->http01_listen) &&
         seq(a->dns01_hook, b->dns01_hook) && seq(a->contact, b->contact) &&
         a->timeout == b->timeout;
}

/* Printable ASCII without spaces, quotes or backslashes (URLs, paths,
 * ids: they go into JSON audit details and log lines as they are). */
static int plain(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || *s == '"' ||
        *s == '\\')
      return 0;
  return 1;
}

/* Reads string field `name` of obj into *out (strdup'ed; "" when absent
 * and not required). */
static ck_err str_field(const char *profile, json_t *obj, const char *name,
                        int required, size_t max, char **out,
                        ck_errctx *err) {
  json_t *v = json_object_get(obj, name);
  const char *s = "";

  if (v == NULL && required)
    return ck__profile_fail(err, profile, "upstream", "", "missing field '%s'",
                            name);
  if (v != NULL) {
    if (!json_is_string(v))
      return ck__profile_fail(err, profile, "upstream", name,
                              "expected a string");
    s = json_string_value(v);
    if (strlen(s) != json_string_length(v))
      return ck__profile_fail(err, profile, "upstream", name,
                              "contains a NUL character");
    if (strlen(s) > max)
      return ck__profile_fail(err, profile, "upstream", name,
                              "longer than %zu bytes", max);
    if (!plain(s))
      return ck__profile_fail(err, profile, "upstream", name,
                              "contains a space, a quote, a backslash or a "
                              "non-printable character");
    if (*s == '\0' && required)
      return ck__profile_fail(err, profile, "upstream", name,
                              "must not be empty");
  }
  if ((*out = strdup(s)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "profile: out of memory");
  return CK_OK;
}

/* A plain file name: [A-Za-z0-9._-], 1..128 bytes, not starting with '.'
 * (so neither "..", nor a hidden file, nor a path). */
static int file_name_ok(const char *s) {
  size_t i;
  if (s[0] == '\0' || s[0] == '.' || strlen(s) > 128)
    return 0;
  for (i = 0; s[i] != '\0'; i++)
    if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
          (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
      return 0;
  return 1;
}

/* "host:port" or "[v6]:port" with a port in 1..65535. */
static int listen_ok(const char *s) {
  const char *colon = strrchr(s, ':');
  long port = 0;
  const char *p;

  if (colon == NULL || colon == s || colon[1] == '\0' || strlen(colon + 1) > 5)
    return 0;
  for (p = colon + 1; *p; p++) {
    if (*p < '0' || *p > '9')
      return 0;
    port = port * 10 + (*p - '0');
  }
  if (s[0] == '[' && colon[-1] != ']')
    return 0;
  return port >= 1 && port <= 65535;
}

ck_err ck__profile_upstream_from_json(const char *profile, json_t *v,
                                      ck_profile_upstream **out,
                                      ck_errctx *err) {
  static const char *const fields[] = {
      "type",          "directory",     "ca_bundle",  "account_key",
      "eab_kid",       "eab_hmac_file", "http01_listen", "dns01_hook",
      "contact",       "timeout",       NULL};
  ck_profile_upstream *u = NULL;
  const char *key;
  json_t *m;
  ck_err rc;

  if (!json_is_object(v)) {
    rc = ck__profile_fail(err, profile, "upstream", "", "expected an object");
    goto out;
  }
  json_object_foreach(v, key, m) {
    size_t i;
    int ok = 0;
    for (i = 0; fields[i] != NULL; i++)
      ok |= strcmp(key, fields[i]) == 0;
    if (!ok) {
      rc = ck__profile_fail(err, profile, "upstream", "",
                            "unknown field '%.64s'", key);
      goto out;
    }
  }
  if ((u = calloc(1, sizeof *u)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "profile: out of memory");
    goto out;
  }
  if ((rc = str_field(profile, v, "type", 1, 16, &u->type, err)) != CK_OK ||
      (rc = str_field(profile, v, "directory", 1, URL_MAX, &u->directory,
                      err)) != CK_OK ||
      (rc = str_field(profile, v, "ca_bundle", 0, PATH_MAX_BYTES,
                      &u->ca_bundle, err)) != CK_OK ||
      (rc = str_field(profile, v, "account_key", 1, PATH_MAX_BYTES,
                      &u->account_key, err)) != CK_OK ||
      (rc = str_field(profile, v, "eab_kid", 0, KID_MAX, &u->eab_kid, err)) !=
          CK_OK ||
      (rc = str_field(profile, v, "eab_hmac_file", 0, PATH_MAX_BYTES,
                      &u->eab_hmac_file, err)) != CK_OK ||
      (rc = str_field(profile, v, "http01_listen", 0, 300, &u->http01_listen,
                      err)) != CK_OK ||
      (rc = str_field(profile, v, "contact", 0, 320, &u->contact, err)) !=
          CK_OK)
    goto out;
  if ((rc = str_field(profile, v, "dns01_hook", 0, PATH_MAX_BYTES, &u->dns01_hook,
                      err)) != CK_OK)
    goto out;
  /* Secrets and the hook are files inside the data directory, never a
   * path: whoever may edit profiles over the API must not thereby make the
   * coordinator run a program of their choice, write a file anywhere, or
   * use another file as a key. */
  if (!file_name_ok(u->account_key)) {
    rc = ck__profile_fail(
        err, profile, "upstream", "account_key",
        "'%.64s' is not a file name (1..128 of A-Z a-z 0-9 . _ -, not starting "
        "with '.'); the key lives in DATA_DIR/upstream/",
        u->account_key);
    goto out;
  }
  if (u->eab_hmac_file[0] != '\0' && !file_name_ok(u->eab_hmac_file)) {
    rc = ck__profile_fail(
        err, profile, "upstream", "eab_hmac_file",
        "'%.64s' is not a file name (1..128 of A-Z a-z 0-9 . _ -, not starting "
        "with '.'); the EAB key lives in DATA_DIR/upstream/",
        u->eab_hmac_file);
    goto out;
  }
  if (u->dns01_hook[0] != '\0' && !file_name_ok(u->dns01_hook)) {
    rc = ck__profile_fail(
        err, profile, "upstream", "dns01_hook",
        "'%.64s' is not a file name (1..128 of A-Z a-z 0-9 . _ -, not starting "
        "with '.'); hooks live in DATA_DIR/hooks/",
        u->dns01_hook);
    goto out;
  }
  if (strcmp(u->type, "acme") != 0) {
    rc = ck__profile_fail(err, profile, "upstream", "type",
                          "'%.32s' is not one of acme", u->type);
    goto out;
  }
  if (strncmp(u->directory, "https://", 8) != 0 || u->directory[8] == '\0') {
    rc = ck__profile_fail(
        err, profile, "upstream", "directory",
        "'%.80s' is not an https:// URL (RFC 8555 requires HTTPS)",
        u->directory);
    goto out;
  }
  if ((u->eab_kid[0] == '\0') != (u->eab_hmac_file[0] == '\0')) {
    rc = ck__profile_fail(
        err, profile, "upstream", "eab_kid",
        "eab_kid and eab_hmac_file go together (both or neither)");
    goto out;
  }
  if (u->http01_listen[0] != '\0' && !listen_ok(u->http01_listen)) {
    rc = ck__profile_fail(
        err, profile, "upstream", "http01_listen",
        "'%.64s' is not HOST:PORT (e.g. 127.0.0.1:5002, [::]:80)",
        u->http01_listen);
    goto out;
  }
  if (u->http01_listen[0] == '\0' && u->dns01_hook[0] == '\0') {
    rc = ck__profile_fail(
        err, profile, "upstream", "",
        "needs http01_listen or dns01_hook to answer challenges");
    goto out;
  }
  if (u->contact[0] != '\0' && strncmp(u->contact, "mailto:", 7) != 0) {
    rc = ck__profile_fail(err, profile, "upstream", "contact",
                          "'%.64s' is not a mailto: URL", u->contact);
    goto out;
  }
  u->timeout = TIMEOUT_DEFAULT;
  if ((m = json_object_get(v, "timeout")) != NULL) {
    int64_t t = -1;
    if (json_is_integer(m))
      t = (int64_t)json_integer_value(m);
    else if (json_is_string(m) &&
             ck_duration_parse(json_string_value(m), &t) != CK_OK)
      t = -1;
    if (t < TIMEOUT_MIN || t > TIMEOUT_MAX) {
      rc = ck__profile_fail(err, profile, "upstream", "timeout",
                            "expected a duration from %ds to %ds (e.g. \"2m\")",
                            TIMEOUT_MIN, TIMEOUT_MAX);
      goto out;
    }
    u->timeout = t;
  }
  *out = u;
  u = NULL;
  rc = CK_OK;
out:
  ck_profile_upstream_free(u);
  return rc;
}

json_t *ck__profile_upstream_to_json(const ck_profile_upstream *u) {
  json_t *o = json_object();
  int bad = o == NULL;

  if (bad)
    return NULL;
  bad |= json_object_set_new(o, "type", json_string(u->type));
  bad |= json_object_set_new(o, "directory", json_string(u->directory));
  bad |= json_object_set_new(o, "ca_bundle", json_string(u->ca_bundle));
  bad |= json_object_set_new(o, "account_key", json_string(u->account_key));
  bad |= json_object_set_new(o, "eab_kid", json_string(u->eab_kid));
  bad |= json_object_set_new(o, "eab_hmac_file", json_string(u->eab_hmac_file));
  bad |= json_object_set_new(o, "http01_listen", json_string(u->http01_listen));
  bad |= json_object_set_new(o, "dns01_hook", json_string(u->dns01_hook));
  bad |= json_object_set_new(o, "contact", json_string(u->contact));
  bad |= json_object_set_new(o, "timeout", json_integer(u->timeout));
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}
