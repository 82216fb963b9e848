/* upstream_account.c — the ACME account of the upstream connector (RFC 8555
 * 7.3): registered once per (directory, account key) with the CA's terms
 * agreed, the configured contact and External Account Binding, and its URL
 * cached in the store as a document of kind "ca.upstream" (audited
 * "ca.upstream.account"), so later orders sign with the kid directly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto/crypto.h"
#include "common/util/fs.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/audit/audit.h"
#include "coordinator/ca/upstream_session.h"

#define DOC_KIND "ca.upstream"
#define EAB_FILE_MAX 4096

/* The store id of this (directory, account key) pair. */
ck_err ck__acme_account_id(ck__acme_session *s, char *out) {
  char buf[2200 + 64];
  uint8_t h[CK_SHA256_LEN];
  int n = snprintf(buf, sizeof buf, "%s\n%s", s->cfg->directory, s->key.thumbprint);
  ck_err rc;

  if (n < 0 || (size_t)n >= sizeof buf)
    return ck_failf(s->err, CK_ERR_CONFIG, "directory URL too long");
  if ((rc = ck_crypto_sha256(buf, (size_t)n, h)) != CK_OK)
    return rc;
  return ck_crypto_hex(h, sizeof h, 0, out, CK_SHA256_HEX_LEN);
}

ck_err ck__acme_account_cached(ck__acme_session *s, const char *id) {
  ck_arena *a = NULL;
  ck_store_doc d;
  json_t *root = NULL;
  const char *url;
  ck_errctx e2 = CK_ERRCTX_INIT;
  ck_err rc;

  if (s->req->store == NULL)
    return CK_ERR_NOT_FOUND;
  if ((a = ck_arena_new(4096)) == NULL)
    return ck_failf(s->err, CK_ERR_NOMEM, "account cache");
  rc = ck_store_doc_get(s->req->store, DOC_KIND, id, a, &d, &e2);
  if (rc == CK_OK) {
    root = json_loads(d.doc, 0, NULL);
    url = json_is_object(root) ? json_string_value(json_object_get(root, "account_url")) : NULL;
    if (url == NULL || strncmp(url, "https://", 8) != 0) {
      rc = CK_ERR_NOT_FOUND; /* unreadable: register again */
    } else if ((s->kid = strdup(url)) == NULL) {
      rc = ck_failf(s->err, CK_ERR_NOMEM, "account cache");
    }
  } else if (rc != CK_ERR_NOT_FOUND) {
    rc = ck_failf(s->err, rc, "account cache: %s", ck_errctx_msg(&e2));
  }
  json_decref(root);
  ck_arena_free(a);
  return rc;
}

static ck_err account_save(ck__acme_session *s, const char *id) {
  ck_store_write *w = NULL;
  ck_store_doc d;
  ck_audit_event ev;
  json_t *o = NULL;
  char *text = NULL, details[2600];
  ck_err rc = CK_OK;

  if (s->req->store == NULL)
    return CK_OK;
  o = json_pack("{s:s,s:s,s:s,s:s}", "directory", s->cfg->directory, "account_url", s->kid,
                "thumbprint", s->key.thumbprint, "profile", s->req->profile);
  if (o == NULL || (text = json_dumps(o, JSON_COMPACT)) == NULL ||
      (w = ck_store_write_new()) == NULL) {
    rc = ck_failf(s->err, CK_ERR_NOMEM, "account cache");
    goto out;
  }
  memset(&d, 0, sizeof d);
  d.kind = DOC_KIND;
  d.id = id;
  d.key = s->req->profile;
  d.state = "registered";
  d.doc = text;
  snprintf(details, sizeof details, "{\"directory\":\"%.2000s\",\"profile\":\"%s\"}",
           s->cfg->directory, s->req->profile);
  memset(&ev, 0, sizeof ev);
  ev.actor = s->req->actor != NULL ? s->req->actor : "coordinator";
  ev.action = "ca.upstream.account";
  ev.object_type = "ca.upstream";
  ev.object_id = s->kid;
  ev.details = details;
  if ((rc = ck_store_write_doc_put(w, &d, -1, s->err)) != CK_OK ||
      (rc = ck_store_write_audit(w, &ev, s->err)) != CK_OK ||
      (rc = ck_store_submit_wait(s->req->store, w, s->err)) != CK_OK)
    rc = ck_failf(s->err, rc, "account cache");
out:
  ck_store_write_free(w);
  free(text);
  json_decref(o);
  return rc;
}

static ck_err eab_object(ck__acme_session *s, json_t **out) {
  char path[4200];
  uint8_t *raw = NULL, *key = NULL;
  size_t raw_len = 0, key_len = 0;
  ck_err rc;

  *out = NULL;
  if (strchr(s->cfg->eab_hmac_file, '/') != NULL ||
      (size_t)snprintf(path, sizeof path, "%s/upstream/%s", s->req->data_dir,
                       s->cfg->eab_hmac_file) >= sizeof path)
    return ck_failf(s->err, CK_ERR_CONFIG, "EAB HMAC key file name");
  if ((rc = ck_fs_read_file(path, EAB_FILE_MAX, &raw, &raw_len, s->err)) != CK_OK) {
    rc = ck_failf(s->err, CK_ERR_CONFIG, "EAB HMAC key file %s", path);
    goto out;
  }
  if ((rc = ck__acme_b64url_decode((const char *)raw, raw_len, &key, &key_len, s->err)) !=
          CK_OK ||
      key_len == 0) {
    rc = ck_failf(s->err, CK_ERR_CONFIG, "EAB HMAC key file %s: not a base64url key", path);
    goto out;
  }
  rc = ck__acme_eab(&s->key, s->cfg->eab_kid, key, key_len, s->dir.new_account, out, s->err);
out:
  if (raw != NULL)
    ck_crypto_free_secret(raw, raw_len);
  if (key != NULL)
    ck_crypto_free_secret(key, key_len);
  return rc;
}

ck_err ck__acme_account_register(ck__acme_session *s, const char *id) {
  json_t *p = NULL, *eab = NULL;
  char *payload = NULL;
  ck__acme_resp r;
  ck_err rc;

  memset(&r, 0, sizeof r);
  free(s->kid);
  s->kid = NULL;
  p = json_pack("{s:b}", "termsOfServiceAgreed", 1);
  if (p == NULL) {
    rc = ck_failf(s->err, CK_ERR_NOMEM, "newAccount");
    goto out;
  }
  if (s->cfg->contact[0] != '\0' &&
      json_object_set_new(p, "contact", json_pack("[s]", s->cfg->contact)) != 0) {
    rc = ck_failf(s->err, CK_ERR_NOMEM, "newAccount");
    goto out;
  }
  if (s->cfg->eab_kid[0] != '\0') {
    if ((rc = eab_object(s, &eab)) != CK_OK)
      goto out;
    json_object_set_new(p, "externalAccountBinding", eab);
  } else if (s->dir.eab_required) {
    rc = ck__acme_sfail(s, CK_ERR_CONFIG, "newAccount",
               "the CA requires External Account Binding; set upstream.eab_kid and "
               "upstream.eab_hmac_file in profile '%s'",
               s->req->profile);
    goto out;
  }
  if ((payload = json_dumps(p, JSON_COMPACT)) == NULL) {
    rc = ck_failf(s->err, CK_ERR_NOMEM, "newAccount");
    goto out;
  }
  if ((rc = ck__acme_signed_post(s, s->dir.new_account, payload, NULL, &r)) != CK_OK)
    goto out;
  if (r.status != 200 && r.status != 201) {
    rc = ck__acme_problem_fail(s, "newAccount", &r);
    goto out;
  }
  if (strncmp(r.location, "https://", 8) != 0) {
    rc = ck__acme_sfail(s, CK_ERR_UPSTREAM, "newAccount", "no account URL (Location) in the answer");
    goto out;
  }
  if ((s->kid = strdup(r.location)) == NULL) {
    rc = ck_failf(s->err, CK_ERR_NOMEM, "newAccount");
    goto out;
  }
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "upstream.account", CK_S("profile", s->req->profile),
         CK_S("directory", s->cfg->directory), CK_S("account", s->kid));
  rc = account_save(s, id);
out:
  ck__acme_resp_clear(&r);
  free(payload);
  json_decref(p);
  return rc;
}

