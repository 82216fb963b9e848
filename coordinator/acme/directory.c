/* directory.c — ACME directories: each /acme/<name>/ maps to a profile and
 * an EAB rule. Where they come from, first match wins: a config section
 * [acme-directory:<name>], a store document ("acme.directory", made over
 * REST), and the built-in "default" (profile tls-server, EAB required).
 * Also the directory object itself (RFC 8555 §7.1.1, RFC 9773 §3). */
#include <string.h>

#include "common/util/mem.h"
#include "coordinator/acme/acme_int.h"

int acme_dir_name_ok(const char *name) {
  size_t i, n = strlen(name);

  if (n == 0 || n > 64)
    return 0;
  for (i = 0; i < n; i++) {
    char ch = name[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
          (i > 0 && (ch == '-' || ch == '_' || ch == '.'))))
      return 0;
  }
  return 1;
}

static int from_config(ck_acme *a, const char *name, ck_acme_dir *out) {
  const char *const *names = NULL;
  const char *prof = NULL;
  char sec[100];
  size_t n = 0, i;
  int b;

  if (a->rt->cfg == NULL ||
      ck_config_sections(a->rt->cfg, "acme-directory:*", &names, &n) != CK_OK)
    return 0;
  snprintf(sec, sizeof sec, "acme-directory:%s", name);
  for (i = 0; i < n; i++) {
    if (strcmp(names[i], sec) != 0)
      continue;
    ck_strlcpy(out->name, name, sizeof out->name);
    if (ck_config_str(a->rt->cfg, sec, "profile", &prof) != CK_OK ||
        prof == NULL || prof[0] == '\0')
      prof = "tls-server";
    ck_strlcpy(out->profile, prof, sizeof out->profile);
    out->eab_required =
        ck_config_bool(a->rt->cfg, sec, "eab_required", &b) == CK_OK ? b : 1;
    out->alt_chains =
        ck_config_bool(a->rt->cfg, sec, "alternate_chains", &b) == CK_OK ? b
                                                                         : 0;
    return 1;
  }
  return 0;
}

int acme_dir_find(ck_acme *a, const char *name, ck_acme_dir *out) {
  ck_errctx err = CK_ERRCTX_INIT;
  json_t *d = NULL;
  json_t *v;

  memset(out, 0, sizeof *out);
  if (!acme_dir_name_ok(name))
    return 0;
  if (from_config(a, name, out))
    return 1;
  if (acme_doc_load(a, ACME_K_DIR, name, &d, NULL, &err) == CK_OK) {
    ck_strlcpy(out->name, name, sizeof out->name);
    ck_strlcpy(out->profile,
               acme_str(d, "profile")[0] ? acme_str(d, "profile")
                                         : "tls-server",
               sizeof out->profile);
    v = json_object_get(d, "eab_required");
    out->eab_required = json_is_boolean(v) ? json_is_true(v) : 1;
    out->alt_chains = json_is_true(json_object_get(d, "alternate_chains"));
    json_decref(d);
    return 1;
  }
  if (strcmp(name, "default") == 0) {
    ck_strlcpy(out->name, name, sizeof out->name);
    ck_strlcpy(out->profile, "tls-server", sizeof out->profile);
    out->eab_required = 1;
    return 1;
  }
  return 0;
}

void acme_directory(ck_acme_call *c) {
  char u[6][900];
  json_t *d;

  d = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:{s:b,s:s}}", "newNonce",
                acme_url(c, u[0], sizeof u[0], "new-nonce"), "newAccount",
                acme_url(c, u[1], sizeof u[1], "new-account"), "newOrder",
                acme_url(c, u[2], sizeof u[2], "new-order"), "revokeCert",
                acme_url(c, u[3], sizeof u[3], "revoke-cert"), "keyChange",
                acme_url(c, u[4], sizeof u[4], "key-change"), "renewalInfo",
                acme_url(c, u[5], sizeof u[5], "renewal-info"), "meta",
                "externalAccountRequired", c->dir.eab_required, "profile",
                c->dir.profile);
  acme_json(c, 200, d);
}
