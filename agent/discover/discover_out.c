/* discover_out.c — renders a ck_discover as JSON (jansson) or as a table.
 * The JSON field names follow ck_wire_finding so the same findings can be
 * sent in an inventory message; the format is documented in docs/agent.md.
 * Endpoints serving a certificate (probe.h) are listed in both.
 * Paths and other strings that are not valid UTF-8 (or hold control bytes,
 * in the table) are shown with bytes escaped as \xHH. */
#include "agent/discover/discover.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/crypto/crypto.h"

/* Returns a malloc'ed copy of s where bytes outside printable ASCII (all of
 * them when ascii_only, plus '\\', else only control bytes) become \xHH. */
static char *escape(const char *s, int ascii_only) {
  size_t n = strlen(s), o = 0;
  char *out = malloc(n * 4 + 1);
  if (!out)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f || (ascii_only && (c >= 0x80 || c == '\\'))) {
      snprintf(out + o, 5, "\\x%02x", c);
      o += 4;
    } else {
      out[o++] = (char)c;
    }
  }
  out[o] = '\0';
  return out;
}

/* A JSON string for s: as is when valid UTF-8, escaped otherwise. */
static json_t *jstr(const char *s) {
  json_t *j;
  char *e;
  if (!s)
    return json_null();
  j = json_string(s);
  if (j)
    return j;
  e = escape(s, 1);
  if (!e)
    return NULL;
  j = json_string(e);
  free(e);
  return j;
}

static void fmt_time(int64_t t, char *buf, size_t n) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (!gmtime_r(&tt, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
    snprintf(buf, n, "%lld", (long long)t);
}

static json_t *finding_json(const ck_finding *f) {
  json_t *o = json_object(), *a;
  char tb[40];
  if (!o)
    return NULL;
  json_object_set_new(o, "path", jstr(f->path));
  json_object_set_new(o, "kind", json_string(f->kind));
  if (f->format)
    json_object_set_new(o, "format", json_string(f->format));
  json_object_set_new(o, "index", json_integer(f->index));
  if (f->error)
    json_object_set_new(o, "error", jstr(f->error));
  if (f->has_cert) {
    json_object_set_new(o, "fingerprint", json_string(f->fingerprint));
    json_object_set_new(o, "subject", jstr(f->subject));
    json_object_set_new(o, "issuer", jstr(f->issuer));
    json_object_set_new(o, "serial", jstr(f->serial));
    json_object_set_new(o, "not_before", json_integer(f->not_before));
    json_object_set_new(o, "not_after", json_integer(f->not_after));
    fmt_time(f->not_after, tb, sizeof(tb));
    json_object_set_new(o, "not_after_text", json_string(tb));
    a = json_array();
    for (size_t i = 0; i < f->n_sans; i++)
      json_array_append_new(a, jstr(f->sans[i]));
    json_object_set_new(o, "sans", a);
    json_object_set_new(o, "sig_alg", jstr(f->sig_alg));
    json_object_set_new(o, "self_signed", json_boolean(f->self_signed));
    json_object_set_new(o, "is_ca", json_boolean(f->is_ca));
    if (f->key_path)
      json_object_set_new(o, "key_path", jstr(f->key_path));
    if (f->key_match >= 0)
      json_object_set_new(o, "key_match", json_boolean(f->key_match));
  }
  if (f->key_type[0]) {
    json_object_set_new(o, "key_type", json_string(f->key_type));
    json_object_set_new(o, "key_bits", json_integer(f->key_bits));
  }
  if (!strcmp(f->kind, "key")) {
    json_object_set_new(o, "encrypted", json_boolean(f->key_encrypted));
    if (f->cert_path)
      json_object_set_new(o, "cert_path", jstr(f->cert_path));
  }
  if (f->has_stat) {
    json_object_set_new(o, "owner", jstr(f->owner));
    json_object_set_new(o, "group", jstr(f->group));
    json_object_set_new(o, "mode", json_integer(f->mode));
  }
  a = json_array();
  for (size_t i = 0; i < f->n_svcs; i++) {
    int dup = 0;
    for (size_t k = 0; k < i; k++)
      dup |= strcmp(f->svcs[k].service, f->svcs[i].service) == 0;
    if (!dup)
      json_array_append_new(a, json_string(f->svcs[i].service));
  }
  json_object_set_new(o, "services", a);
  a = json_array();
  for (size_t i = 0; i < f->n_svcs; i++)
    json_array_append_new(
        a, json_pack("{s:s, s:o, s:i}", "service", f->svcs[i].service, "config",
                     jstr(f->svcs[i].conf), "line", (int)f->svcs[i].line));
  json_object_set_new(o, "service_refs", a);
  a = json_array();
  for (size_t i = 0; i < f->n_endpoints; i++)
    json_array_append_new(a, jstr(f->endpoints[i]));
  json_object_set_new(o, "endpoints", a);
  a = json_array();
  for (unsigned i = 0; i < CK_RISK_COUNT; i++)
    if (f->risks & (1u << i))
      json_array_append_new(a, json_string(ck_risk_name(1u << i)));
  json_object_set_new(o, "risks", a);
  return o;
}

ck_err ck_discover_write_json(const ck_discover *d, FILE *fp, ck_errctx *err) {
  json_t *root = NULL, *arr = NULL, *st = NULL;
  ck_err rc = CK_OK;
  root = json_object();
  arr = json_array();
  st = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "files",
                 (json_int_t)d->stats.files, "dirs", (json_int_t)d->stats.dirs,
                 "skipped", (json_int_t)d->stats.skipped, "errors",
                 (json_int_t)d->stats.errors, "configs",
                 (json_int_t)d->stats.configs, "elapsed_ms",
                 (json_int_t)d->stats.elapsed_ms);
  if (!root || !arr || !st) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  json_object_set_new(root, "version", json_integer(1));
  json_object_set_new(root, "backend", json_string(ck_crypto_backend()));
  json_object_set_new(root, "scanned_at", json_integer(d->scanned_at));
  json_object_set(root, "stats", st);
  for (size_t i = 0; i < d->n; i++) {
    json_t *f = finding_json(&d->f[i]);
    if (!f || json_array_append_new(arr, f) != 0) {
      rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
      goto out;
    }
  }
  json_object_set(root, "findings", arr);
  if (json_dumpf(root, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
      fputc('\n', fp) == EOF) {
    rc = ck_failf(err, CK_ERR_IO, "cannot write JSON output");
    goto out;
  }
out:
  json_decref(st);
  json_decref(arr);
  json_decref(root);
  return rc;
}

ck_err ck_discover_write_table(const ck_discover *d, FILE *fp, ck_errctx *err) {
  unsigned long certs = 0, keys = 0, risky = 0;
  fprintf(fp, "%-11s %-20s %-6s %-40s %s\n", "KIND", "NOT_AFTER", "MODE",
          "SUBJECT / ERROR", "PATH  [services] @endpoints {risks}");
  for (size_t i = 0; i < d->n; i++) {
    const ck_finding *f = &d->f[i];
    char tb[40] = "-", mode[8] = "-";
    char *path = escape(f->path, 0);
    char *what = escape(f->error         ? f->error
                        : f->subject     ? f->subject
                        : f->key_type[0] ? f->key_type
                                         : "-",
                        0);
    if (!path || !what) {
      free(path);
      free(what);
      return ck_failf(err, CK_ERR_NOMEM, "out of memory");
    }
    if (f->has_cert) {
      fmt_time(f->not_after, tb, sizeof(tb));
      certs++;
    }
    if (!strcmp(f->kind, "key"))
      keys++;
    if (f->risks)
      risky++;
    if (f->has_stat)
      snprintf(mode, sizeof(mode), "%04o", f->mode);
    fprintf(fp, "%-11s %-20s %-6s %-40s %s", f->kind, tb, mode, what, path);
    if (f->has_cert && f->index)
      fprintf(fp, "#%u", f->index);
    for (size_t k = 0; k < f->n_svcs; k++) {
      char *c = escape(f->svcs[k].conf, 0);
      fprintf(fp, " [%s %s:%u]", f->svcs[k].service, c ? c : "?",
              f->svcs[k].line);
      free(c);
    }
    for (size_t k = 0; k < f->n_endpoints; k++)
      fprintf(fp, " @%s", f->endpoints[k]);
    if (f->risks) {
      const char *sep = " {";
      for (unsigned b = 0; b < CK_RISK_COUNT; b++)
        if (f->risks & (1u << b)) {
          fprintf(fp, "%s%s", sep, ck_risk_name(1u << b));
          sep = ",";
        }
      fputc('}', fp);
    }
    fputc('\n', fp);
    free(path);
    free(what);
  }
  fprintf(fp,
          "\n%lu certificates, %lu keys, %lu with risks; %lu files, %lu "
          "dirs, %lu errors, %lu configs in %lld ms\n",
          certs, keys, risky, d->stats.files, d->stats.dirs, d->stats.errors,
          d->stats.configs, (long long)d->stats.elapsed_ms);
  if (ferror(fp))
    return ck_failf(err, CK_ERR_IO, "cannot write output");
  return CK_OK;
}
