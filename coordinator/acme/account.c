/* account.c — ACME accounts (RFC 8555 §7.3): newAccount (with
 * onlyReturnExisting and External Account Binding §7.3.4), account
 * read/update/deactivation, the account's orders list, keyChange §7.3.5,
 * and the EAB keys operators create for owners.
 *
 * EAB keys are never stored: the HMAC key of kid K is
 * HMAC-SHA256(master, "certkeeper-acme-eab" || 0 || K), with the 32-byte
 * master in DIR/acme-eab.key (0600). The "acme.eab" document only says who
 * the key is for and whether an account is bound to it (one account per
 * key). A database copy therefore leaks no usable key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/acme/acme_int.h"
#include "coordinator/acme/acme_util.h"

#define EAB_LABEL "certkeeper-acme-eab"

static ck_err eab_key(const ck_acme *a, const char *kid, uint8_t out[32]) {
  char msg[128];
  size_t n = strlen(EAB_LABEL) + 1, kl = strlen(kid);

  if (n + kl > sizeof msg)
    return CK_ERR_LIMIT;
  memcpy(msg, EAB_LABEL, n); /* the NUL separates label and kid */
  memcpy(msg + n, kid, kl);
  return ck_hmac_sha256(a->eab_master, sizeof a->eab_master, msg, n + kl, out);
}

ck_err ck_acme_eab_create(ck_acme *a, const char *owner, const char *dir,
                          const char *actor, char kid[64], char hmac_b64[64],
                          ck_errctx *err) {
  ck_store_write *w = NULL;
  uint8_t key[32];
  char id[ACME_ID_LEN];
  json_t *doc = NULL;
  ck_err rc;

  kid[0] = hmac_b64[0] = '\0';
  if (owner == NULL || owner[0] == '\0' || strlen(owner) > 128)
    return ck_failf(err, CK_ERR_INVAL,
                    "an EAB key needs an owner (at most 128 characters)");
  if (dir != NULL && dir[0] != '\0' && !acme_dir_name_ok(dir))
    return ck_failf(err, CK_ERR_INVAL, "'%s' is not a valid directory name",
                    dir);
  if ((rc = acme_new_id(id)) != CK_OK)
    return ck_failf(err, rc, "random");
  snprintf(kid, 64, "kid-%s", id);
  doc = json_pack("{s:s,s:s,s:s,s:I}", "owner", owner, "dir",
                  dir != NULL ? dir : "", "created_by", actor, "created_at",
                  (json_int_t)ck_clock_now());
  if (doc == NULL || (w = ck_store_write_new()) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "acme eab");
    goto out;
  }
  if ((rc = acme_doc_put(w, ACME_K_EAB, kid, owner, "unused", 0, doc, 0,
                         err)) != CK_OK ||
      (rc = acme_audit(w, actor, "acme.eab.create", "acme.eab", kid,
                       json_pack("{s:s,s:s}", "owner", owner, "dir",
                                 dir != NULL ? dir : ""),
                       err)) != CK_OK ||
      (rc = ck_store_submit_wait(a->rt->store, w, err)) != CK_OK)
    goto out;
  if ((rc = eab_key(a, kid, key)) != CK_OK)
    goto out;
  ck_b64u_encode(key, sizeof key, hmac_b64, 64);
out:
  ck_wipe(key, sizeof key);
  if (rc != CK_OK)
    kid[0] = hmac_b64[0] = '\0';
  json_decref(doc);
  ck_store_write_free(w);
  return rc;
}

/* ------------------------------------------------------------ accounts */

static json_t *account_json(ck_acme_call *c, const char *id,
                            const json_t *acct) {
  char u[900];
  json_t *o = json_pack(
      "{s:s,s:O,s:s,s:o}", "status", acme_str(acct, "status"), "contact",
      json_object_get(acct, "contact") != NULL
          ? json_object_get(acct, "contact")
          : json_null(),
      "orders", acme_url(c, u, sizeof u, "acct/%s/orders", id), "createdAt",
      acme_time(acme_int(acct, "created_at")));
  if (o != NULL && json_is_true(json_object_get(acct, "tos")))
    json_object_set_new(o, "termsOfServiceAgreed", json_true());
  return o;
}

/* Finds the account of this directory whose key has thumbprint thumb. */
static ck_err find_by_key(ck_acme_call *c, const char *thumb, char *id,
                          size_t idlen, json_t **acct, int64_t *version,
                          ck_errctx *err) {
  ck_arena *ar = ck_arena_new(8192);
  ck_doc_filter f = {ACME_K_ACCOUNT, NULL, thumb, 0};
  ck_store_page pg;
  ck_store_doc *items = NULL;
  size_t n = 0, i;
  json_error_t je;
  ck_err rc;

  *acct = NULL;
  if (ar == NULL)
    return CK_ERR_NOMEM;
  memset(&pg, 0, sizeof pg);
  pg.limit = 100;
  rc = ck_store_doc_list(c->a->rt->store, &f, &pg, ar, &items, &n, err);
  for (i = 0; rc == CK_OK && i < n && *acct == NULL; i++) {
    json_t *d = json_loads(items[i].doc, 0, &je);
    if (d != NULL && strcmp(acme_str(d, "dir"), c->dir.name) == 0) {
      *acct = d;
      *version = items[i].version;
      ck_strlcpy(id, items[i].id, idlen);
    } else {
      json_decref(d);
    }
  }
  if (rc == CK_OK && *acct == NULL)
    rc = CK_ERR_NOT_FOUND;
  ck_arena_free(ar);
  return rc;
}

static int contacts_ok(ck_acme_call *c, const json_t *contact) {
  size_t i;
  json_t *v;

  if (contact == NULL)
    return 1;
  if (!json_is_array(contact) || json_array_size(contact) > 10)
    return acme_problem(c, 400, "malformed",
                        "contact must be an array of at most 10 URLs");
  for (i = 0;
       i < json_array_size(contact) && (v = json_array_get(contact, i)) != NULL;
       i++) {
    const char *s = json_string_value(v);
    if (s == NULL || strncmp(s, "mailto:", 7) != 0)
      return acme_problem(c, 400, "unsupportedContact",
                          "only mailto: contacts are supported");
    if (strlen(s) > 320 || strchr(s, '?') != NULL || strchr(s, ',') != NULL ||
        strchr(s + 7, '@') == NULL)
      return acme_problem(c, 400, "invalidContact",
                          "contact %.100s is not one mail address", s);
  }
  return 1;
}

void acme_new_account(ck_acme_call *c) {
  ck_errctx err = CK_ERRCTX_INIT;
  const json_t *jwk = c->jws.jwk;
  json_t *existing = NULL, *eab, *eab_hdr = NULL, *eab_doc = NULL, *acct = NULL;
  json_t *contact =
      c->payload != NULL ? json_object_get(c->payload, "contact") : NULL;
  ck_store_write *w = NULL;
  char thumb[CK_ACME_THUMB_LEN], id[ACME_ID_LEN + 8], u[900], url[1100];
  const char *kid = NULL, *owner = "";
  int64_t version = 0, eab_version = 0;
  uint8_t key[32];
  ck_err rc;

  memset(key, 0, sizeof key);
  if (c->payload == NULL) {
    acme_problem(c, 400, "malformed", "newAccount needs a JSON payload");
    goto out;
  }
  if (ck_acme_jwk_thumbprint(jwk, thumb) != CK_OK) {
    acme_problem(c, 400, "badPublicKey", "cannot compute the jwk thumbprint");
    goto out;
  }
  rc = find_by_key(c, thumb, id, sizeof id, &existing, &version, &err);
  if (rc == CK_OK) {
    if (strcmp(acme_str(existing, "status"), "valid") != 0) {
      acme_problem(c, 401, "unauthorized", "the account of this key is %s",
                   acme_str(existing, "status"));
      goto out;
    }
    snprintf(c->location, sizeof c->location, "%s",
             acme_url(c, u, sizeof u, "acct/%s", id));
    acme_json(c, 200, account_json(c, id, existing));
    goto out;
  }
  if (rc != CK_ERR_NOT_FOUND) {
    acme_internal(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  if (json_is_true(json_object_get(c->payload, "onlyReturnExisting"))) {
    acme_problem(c, 400, "accountDoesNotExist",
                 "no account exists with this key");
    goto out;
  }
  if (!contacts_ok(c, contact))
    goto out;
  eab = json_object_get(c->payload, "externalAccountBinding");
  if (eab == NULL && c->dir.eab_required) {
    acme_problem(c, 403, "externalAccountRequired",
                 "directory %s requires External Account Binding: ask the PKI "
                 "team for an "
                 "EAB key (certkeeper acme eab create)",
                 c->dir.name);
    goto out;
  }
  if (eab != NULL) {
    if (!ck_acme_eab_kid(eab, &eab_hdr, &kid, &c->pb)) {
      acme_answer_pb(c);
      goto out;
    }
    rc = strlen(kid) < 64 ? acme_doc_load(c->a, ACME_K_EAB, kid, &eab_doc,
                                          &eab_version, &err)
                          : CK_ERR_NOT_FOUND;
    if (rc == CK_ERR_NOT_FOUND) {
      acme_problem(c, 403, "unauthorized", "unknown EAB key id '%.64s'", kid);
      goto out;
    }
    if (rc != CK_OK) {
      acme_internal(c, rc, ck_errctx_msg(&err));
      goto out;
    }
    if (acme_str(eab_doc, "account")[0] != '\0') {
      acme_problem(c, 403, "unauthorized",
                   "EAB key '%.64s' is already bound to an account", kid);
      goto out;
    }
    if (acme_str(eab_doc, "dir")[0] != '\0' &&
        strcmp(acme_str(eab_doc, "dir"), c->dir.name)) {
      acme_problem(c, 403, "unauthorized",
                   "EAB key '%.64s' is for directory %s, not %s", kid,
                   acme_str(eab_doc, "dir"), c->dir.name);
      goto out;
    }
    snprintf(url, sizeof url, "%s/new-account", c->base);
    if (eab_key(c->a, kid, key) != CK_OK ||
        !ck_acme_eab_verify(eab, key, sizeof key, url, jwk, &c->pb)) {
      if (c->pb.status == 0)
        ck_acme_fail(&c->pb, 403, "unauthorized", "EAB key derivation failed");
      acme_answer_pb(c);
      goto out;
    }
    owner = acme_str(eab_doc, "owner");
  }
  if ((rc = acme_new_id(id)) != CK_OK) {
    acme_internal(c, rc, "random");
    goto out;
  }
  acct = json_pack(
      "{s:s,s:s,s:O,s:s,s:O,s:s,s:s,s:I,s:b}", "dir", c->dir.name, "status",
      "valid", "jwk", jwk, "thumbprint", thumb, "contact",
      contact != NULL ? contact : json_null(), "owner", owner, "eab_kid",
      kid != NULL ? kid : "", "created_at", (json_int_t)ck_clock_now(), "tos",
      json_is_true(json_object_get(c->payload, "termsOfServiceAgreed")));
  if (acct == NULL || (w = ck_store_write_new()) == NULL) {
    acme_internal(c, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  snprintf(c->actor, sizeof c->actor, "acme:%s/%s", c->dir.name, id);
  rc = acme_doc_put(w, ACME_K_ACCOUNT, id, thumb, "valid", 0, acct, 0, &err);
  if (rc == CK_OK && eab_doc != NULL) {
    json_object_set_new(eab_doc, "account", json_string(id));
    json_object_set_new(eab_doc, "bound_at",
                        json_integer((json_int_t)ck_clock_now()));
    rc = acme_doc_put(w, ACME_K_EAB, kid, owner, "bound", 0, eab_doc,
                      eab_version, &err);
  }
  if (rc == CK_OK)
    rc = acme_audit(w, c->actor, "acme.account.create", "acme.account", id,
                    json_pack("{s:s,s:s,s:s,s:s}", "dir", c->dir.name, "owner",
                              owner, "eab_kid", kid != NULL ? kid : "",
                              "thumbprint", thumb),
                    &err);
  if (rc == CK_OK)
    rc = ck_store_submit_wait(c->a->rt->store, w, &err);
  if (rc == CK_ERR_CONFLICT) {
    acme_problem(
        c, 403, "unauthorized",
        "EAB key '%.64s' was bound to another account at the same time", kid);
    goto out;
  }
  if (rc != CK_OK) {
    acme_internal(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "acme.account.created",
         CK_S("dir", c->dir.name), CK_S("account", id), CK_S("owner", owner));
  snprintf(c->location, sizeof c->location, "%s",
           acme_url(c, u, sizeof u, "acct/%s", id));
  acme_json(c, 201, account_json(c, id, acct));
out:
  ck_wipe(key, sizeof key);
  json_decref(existing);
  json_decref(eab_hdr);
  json_decref(eab_doc);
  json_decref(acct);
  ck_store_write_free(w);
}

/* Writes c->acct back (CAS on its version) with an audit event. */
static int save_account(ck_acme_call *c, const char *action, json_t *details) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_write *w = ck_store_write_new();
  ck_err rc = w != NULL ? CK_OK : CK_ERR_NOMEM;

  if (rc == CK_OK)
    rc = acme_doc_put(
        w, ACME_K_ACCOUNT, c->acct_id, acme_str(c->acct, "thumbprint"),
        acme_str(c->acct, "status"), 0, c->acct, c->acct_version, &err);
  if (rc == CK_OK)
    rc = acme_audit(w, c->actor, action, "acme.account", c->acct_id, details,
                    &err);
  else
    json_decref(details);
  if (rc == CK_OK)
    rc = ck_store_submit_wait(c->a->rt->store, w, &err);
  ck_store_write_free(w);
  if (rc == CK_ERR_CONFLICT)
    return acme_problem(c, 409, "malformed",
                        "account %s changed meanwhile; retry", c->acct_id);
  if (rc != CK_OK)
    return acme_internal(c, rc, ck_errctx_msg(&err));
  return 1;
}

void acme_account(ck_acme_call *c, const char *id) {
  json_t *st, *contact;
  char u[900];

  if (strcmp(id, c->acct_id) != 0) {
    acme_problem(c, 403, "unauthorized",
                 "the JWS is signed for account %s, not %.64s", c->acct_id, id);
    return;
  }
  if (c->payload != NULL) {
    st = json_object_get(c->payload, "status");
    contact = json_object_get(c->payload, "contact");
    if (st != NULL &&
        (!json_is_string(st) || strcmp(json_string_value(st), "deactivated"))) {
      acme_problem(c, 400, "malformed",
                   "an account's status can only be set to deactivated");
      return;
    }
    if (contact != NULL && !contacts_ok(c, contact))
      return;
    if (contact != NULL)
      json_object_set(c->acct, "contact", contact);
    if (st != NULL)
      json_object_set_new(c->acct, "status", json_string("deactivated"));
    if ((st != NULL || contact != NULL) &&
        !save_account(
            c, st != NULL ? "acme.account.deactivate" : "acme.account.update",
            json_pack("{s:s}", "dir", c->dir.name)))
      return;
  }
  snprintf(c->location, sizeof c->location, "%s",
           acme_url(c, u, sizeof u, "acct/%s", id));
  acme_json(c, 200, account_json(c, id, c->acct));
}

void acme_account_orders(ck_acme_call *c, const char *id) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *ar = NULL;
  ck_doc_filter f = {ACME_K_ORDER, NULL, NULL, 0};
  ck_store_page pg;
  ck_store_doc *items = NULL;
  size_t n = 0, i;
  json_t *list;
  char u[900];
  ck_err rc;

  if (strcmp(id, c->acct_id) != 0) {
    acme_problem(c, 403, "unauthorized",
                 "these are not the orders of account %s", c->acct_id);
    return;
  }
  if ((ar = ck_arena_new(16384)) == NULL || (list = json_array()) == NULL) {
    ck_arena_free(ar);
    acme_internal(c, CK_ERR_NOMEM, "out of memory");
    return;
  }
  f.key = id;
  memset(&pg, 0, sizeof pg);
  pg.limit = CK_STORE_PAGE_MAX;
  rc = ck_store_doc_list(c->a->rt->store, &f, &pg, ar, &items, &n, &err);
  for (i = 0; rc == CK_OK && i < n; i++)
    if (strcmp(items[i].state, "invalid") != 0)
      json_array_append_new(
          list, json_string(acme_url(c, u, sizeof u, "order/%s", items[i].id)));
  ck_arena_free(ar);
  if (rc != CK_OK) {
    json_decref(list);
    acme_internal(c, rc, ck_errctx_msg(&err));
    return;
  }
  acme_json(c, 200, json_pack("{s:o}", "orders", list));
}

void acme_key_change(ck_acme_call *c) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_acme_jws inner;
  json_t *ipl = NULL, *other = NULL;
  char *text = NULL, kid[900], thumb[CK_ACME_THUMB_LEN], oid[ACME_ID_LEN + 8],
       u[900];
  char old_thumb[CK_ACME_THUMB_LEN];
  json_error_t je;
  int64_t ov = 0;
  ck_err rc;

  memset(&inner, 0, sizeof inner);
  if (c->payload == NULL ||
      (text = json_dumps(c->payload, JSON_COMPACT)) == NULL ||
      !ck_acme_jws_parse((const uint8_t *)text, strlen(text), 8192, &inner,
                         &c->pb)) {
    if (c->payload == NULL)
      acme_problem(c, 400, "malformed",
                   "keyChange needs an inner JWS as payload");
    else
      acme_answer_pb(c);
    goto out;
  }
  if (inner.jwk == NULL || inner.nonce != NULL ||
      strcmp(inner.url, c->jws.url) != 0) {
    acme_problem(c, 400, "malformed",
                 "the inner JWS must carry the new key as jwk, no nonce, and "
                 "the outer url");
    goto out;
  }
  if (!ck_acme_jws_verify(&inner, inner.jwk, &c->pb)) {
    acme_answer_pb(c);
    goto out;
  }
  ipl = json_loadb((const char *)inner.payload, inner.payload_len, 0, &je);
  snprintf(kid, sizeof kid, "%s/acct/%s", c->base, c->acct_id);
  if (!json_is_object(ipl) || strcmp(acme_str(ipl, "account"), kid) != 0) {
    acme_problem(c, 400, "malformed", "the inner payload's account must be %s",
                 kid);
    goto out;
  }
  if (ck_acme_jwk_thumbprint(json_object_get(ipl, "oldKey"), old_thumb) !=
          CK_OK ||
      strcmp(old_thumb, acme_str(c->acct, "thumbprint")) != 0) {
    acme_problem(c, 400, "malformed",
                 "the inner payload's oldKey is not the account's key");
    goto out;
  }
  if (ck_acme_jwk_thumbprint(inner.jwk, thumb) != CK_OK) {
    acme_problem(c, 400, "badPublicKey",
                 "cannot compute the new key's thumbprint");
    goto out;
  }
  rc = find_by_key(c, thumb, oid, sizeof oid, &other, &ov, &err);
  if (rc == CK_OK) {
    snprintf(c->location, sizeof c->location, "%s",
             acme_url(c, u, sizeof u, "acct/%s", oid));
    acme_problem(c, 409, "malformed",
                 "the new key is already used by an account");
    goto out;
  }
  json_object_set(c->acct, "jwk", inner.jwk);
  json_object_set_new(c->acct, "thumbprint", json_string(thumb));
  if (!save_account(c, "acme.account.keychange",
                    json_pack("{s:s,s:s}", "old", old_thumb, "new", thumb)))
    goto out;
  snprintf(c->location, sizeof c->location, "%s", kid);
  acme_json(c, 200, account_json(c, c->acct_id, c->acct));
out:
  free(text);
  json_decref(ipl);
  json_decref(other);
  ck_acme_jws_clear(&inner);
}
