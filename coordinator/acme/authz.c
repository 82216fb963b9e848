/* authz.c — ACME authorizations and challenges (RFC 8555 §7.5, §8):
 * reading and deactivating an authorization, answering a challenge (which
 * queues its validation), and the validation job itself, which runs
 * validate.h's ck_acme_validate on a thread-pool worker and records the
 * outcome: challenge and authorization valid or invalid, then the order's
 * status refreshed.
 *
 * Authorization states: pending -> valid | invalid, pending|valid ->
 * deactivated. Challenge states: pending -> processing -> valid | invalid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/acme/acme_int.h"

static const char *const CHAL_NAMES[] = {"http-01", "dns-01", "tls-alpn-01"};

const char *acme_chal_name(int type) {
  return type >= 0 && type < 3 ? CHAL_NAMES[type] : "?";
}

int acme_chal_parse(const char *name) {
  int i;
  for (i = 0; i < 3; i++)
    if (strcmp(name, CHAL_NAMES[i]) == 0)
      return i;
  return -1;
}

static json_t *chal_json(ck_acme_call *c, const char *authz_id,
                         const json_t *ch) {
  char u[900];
  json_t *o = json_pack(
      "{s:s,s:s,s:s,s:s}", "type", acme_str(ch, "type"), "url",
      acme_url(c, u, sizeof u, "chall/%s/%s", authz_id, acme_str(ch, "type")),
      "token", acme_str(ch, "token"), "status", acme_str(ch, "status"));
  if (o != NULL && acme_int(ch, "validated") > 0)
    json_object_set_new(o, "validated", acme_time(acme_int(ch, "validated")));
  if (o != NULL && json_object_get(ch, "error") != NULL)
    json_object_set(o, "error", json_object_get(ch, "error"));
  return o;
}

static json_t *authz_json(ck_acme_call *c, const char *id, const json_t *az) {
  json_t *chals = json_array(), *v, *o;
  size_t i;

  for (i = 0;
       i < json_array_size(json_object_get(az, "challenges")) &&
       (v = json_array_get(json_object_get(az, "challenges"), i)) != NULL;
       i++)
    json_array_append_new(chals, chal_json(c, id, v));
  o = json_pack("{s:s,s:o,s:O,s:o}", "status", acme_str(az, "status"),
                "expires", acme_time(acme_int(az, "expires")), "identifier",
                json_object_get(az, "identifier"), "challenges", chals);
  if (o != NULL && json_is_true(json_object_get(az, "wildcard")))
    json_object_set_new(o, "wildcard", json_true());
  return o;
}

/* Loads an authorization of the signing account. 1, or 0 answered. */
static int load_own(ck_acme_call *c, const char *id, json_t **az,
                    int64_t *ver) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc = strlen(id) < ACME_ID_LEN + 4
                  ? acme_doc_load(c->a, ACME_K_AUTHZ, id, az, ver, &err)
                  : CK_ERR_NOT_FOUND;

  if (rc == CK_ERR_NOT_FOUND ||
      (rc == CK_OK && strcmp(acme_str(*az, "account"), c->acct_id) != 0)) {
    json_decref(*az);
    *az = NULL;
    return acme_problem(c, 404, "malformed",
                        "no authorization %.64s for this account", id);
  }
  if (rc != CK_OK)
    return acme_internal(c, rc, ck_errctx_msg(&err));
  /* an unanswered authorization past its expiry is expired */
  if (strcmp(acme_str(*az, "status"), "pending") == 0 &&
      acme_int(*az, "expires") < ck_clock_now())
    json_object_set_new(*az, "status", json_string("expired"));
  return 1;
}

static ck_err store_authz(ck_acme *a, const char *id, json_t *az, int64_t ver,
                          const char *actor, const char *action,
                          json_t *details, ck_errctx *err) {
  ck_store_write *w = ck_store_write_new();
  ck_err rc = w != NULL ? CK_OK : CK_ERR_NOMEM;

  if (rc == CK_OK)
    rc = acme_doc_put(w, ACME_K_AUTHZ, id, acme_str(az, "order"),
                      acme_str(az, "status"), acme_int(az, "expires"), az, ver,
                      err);
  if (rc == CK_OK)
    rc = acme_audit(w, actor, action, "acme.authz", id, details, err);
  else
    json_decref(details);
  if (rc == CK_OK)
    rc = ck_store_submit_wait(a->rt->store, w, err);
  ck_store_write_free(w);
  return rc;
}

void acme_authz(ck_acme_call *c, const char *id) {
  ck_errctx err = CK_ERRCTX_INIT;
  json_t *az = NULL, *st;
  int64_t ver = 0;
  ck_err rc;

  if (!load_own(c, id, &az, &ver))
    return;
  if (c->payload != NULL) {
    st = json_object_get(c->payload, "status");
    if (!json_is_string(st) ||
        strcmp(json_string_value(st), "deactivated") != 0) {
      acme_problem(c, 400, "malformed",
                   "an authorization can only be set to deactivated");
      goto out;
    }
    if (strcmp(acme_str(az, "status"), "pending") != 0 &&
        strcmp(acme_str(az, "status"), "valid") != 0) {
      acme_problem(c, 400, "malformed", "authorization %s is %s", id,
                   acme_str(az, "status"));
      goto out;
    }
    json_object_set_new(az, "status", json_string("deactivated"));
    rc = store_authz(c->a, id, az, ver, c->actor, "acme.authz.deactivate", NULL,
                     &err);
    if (rc != CK_OK) {
      acme_internal(c, rc, ck_errctx_msg(&err));
      goto out;
    }
  }
  if (strcmp(acme_str(az, "status"), "pending") == 0)
    c->retry_after = (int)c->a->retry_after;
  acme_json(c, 200, authz_json(c, id, az));
out:
  json_decref(az);
}

/* The challenge of the given type name in authorization az (borrowed
 * from az), or NULL; with several of one type, the last. */
static json_t *find_chal(json_t *az, const char *type) {
  json_t *chals = json_object_get(az, "challenges"), *v, *ch = NULL;
  size_t i;

  for (i = 0;
       i < json_array_size(chals) && (v = json_array_get(chals, i)) != NULL;
       i++)
    if (strcmp(acme_str(v, "type"), type) == 0)
      ch = v;
  return ch;
}

void acme_challenge(ck_acme_call *c, const char *authz_id, const char *type) {
  ck_errctx err = CK_ERRCTX_INIT;
  json_t *az = NULL, *ch = NULL;
  int t = acme_chal_parse(type);
  int64_t ver = 0;
  char u[900];
  ck_err rc;

  if (!load_own(c, authz_id, &az, &ver))
    return;
  ch = find_chal(az, type);
  if (ch == NULL || t < 0) {
    acme_problem(c, 404, "malformed", "authorization %s has no %.32s challenge",
                 authz_id, type);
    goto out;
  }
  snprintf(c->link_up, sizeof c->link_up, "%s",
           acme_url(c, u, sizeof u, "authz/%s", authz_id));
  if (c->payload != NULL &&
      (strcmp(acme_str(ch, "status"), "pending") == 0 ||
       (strcmp(acme_str(ch, "status"), "processing") == 0 &&
        acme_int(ch, "started") + ACME_STALE_PROCESSING < ck_clock_now()))) {
    if (strcmp(acme_str(az, "status"), "pending") != 0) {
      acme_problem(c, 400, "malformed", "authorization %s is %s", authz_id,
                   acme_str(az, "status"));
      goto out;
    }
    json_object_set_new(ch, "status", json_string("processing"));
    json_object_set_new(ch, "started",
                        json_integer((json_int_t)ck_clock_now()));
    rc = store_authz(c->a, authz_id, az, ver, c->actor, "acme.challenge.start",
                     json_pack("{s:s}", "type", type), &err);
    if (rc == CK_ERR_CONFLICT) {
      acme_problem(c, 400, "malformed",
                   "authorization %s changed meanwhile; retry", authz_id);
      goto out;
    }
    if (rc != CK_OK) {
      acme_internal(c, rc, ck_errctx_msg(&err));
      goto out;
    }
    ck_strlcpy(c->validate_authz, authz_id, sizeof c->validate_authz);
    c->validate_type = t;
  }
  if (strcmp(acme_str(ch, "status"), "processing") == 0)
    c->retry_after = (int)c->a->retry_after;
  acme_json(c, 200, chal_json(c, authz_id, ch));
out:
  json_decref(az);
}

/* ------------------------------------------------------------ the job */

void acme_validate_job(ck_acme *a, const char *authz_id, int type) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_acme_validation res;
  json_t *az = NULL, *acct = NULL, *ch = NULL, *order = NULL;
  char keyauthz[200], ident[300], token[64], order_id[64], actor[200];
  int64_t ver = 0, order_ver = 0;
  int tries, ok;
  ck_err rc;

  memset(&res, 0, sizeof res);
  if ((rc = acme_doc_load(a, ACME_K_AUTHZ, authz_id, &az, &ver, &err)) != CK_OK)
    goto fail;
  ch = find_chal(az, acme_chal_name(type));
  if (ch == NULL)
    goto out;
  if ((rc = acme_doc_load(a, ACME_K_ACCOUNT, acme_str(az, "account"), &acct,
                          NULL, &err)) != CK_OK)
    goto fail;
  ck_strlcpy(token, acme_str(ch, "token"), sizeof token);
  ck_strlcpy(ident, acme_str(json_object_get(az, "identifier"), "value"),
             sizeof ident);
  ck_strlcpy(order_id, acme_str(az, "order"), sizeof order_id);
  snprintf(keyauthz, sizeof keyauthz, "%s.%s", token,
           acme_str(acct, "thumbprint"));
  snprintf(actor, sizeof actor, "acme:%s/%s", acme_str(az, "dir"),
           acme_str(az, "account"));
  ck_acme_validate(a->validator, (ck_acme_chal_type)type, ident, token,
                   keyauthz, &res);
  ok = res.rc == CK_OK;
  ck_log(ok ? CK_LOG_OPS : CK_LOG_SEC, CK_LOG_INFO, "acme.challenge.result",
         CK_S("authz", authz_id), CK_S("type", acme_chal_name(type)),
         CK_S("identifier", ident), CK_B("valid", ok),
         CK_S("problem", res.problem), CK_S("detail", res.detail),
         CK_S("address", res.address));
  for (tries = 0; tries < 5; tries++) {
    if (tries > 0) {
      json_decref(az);
      az = NULL;
      ch = NULL;
      if ((rc = acme_doc_load(a, ACME_K_AUTHZ, authz_id, &az, &ver, &err)) !=
          CK_OK)
        goto fail;
      ch = find_chal(az, acme_chal_name(type));
      if (ch == NULL)
        goto out;
    }
    if (strcmp(acme_str(az, "status"), "pending") != 0)
      break; /* deactivated or decided meanwhile */
    json_object_set_new(ch, "status", json_string(ok ? "valid" : "invalid"));
    json_object_set_new(az, "status", json_string(ok ? "valid" : "invalid"));
    if (ok) {
      json_object_set_new(ch, "validated",
                          json_integer((json_int_t)ck_clock_now()));
      json_object_set_new(
          az, "expires",
          json_integer((json_int_t)(ck_clock_now() + a->authz_lifetime)));
    } else {
      const char *pt =
          res.problem[0] != '\0' ? res.problem : "incorrectResponse";
      if (strncmp(pt, CK_ACME_ERR_PREFIX, strlen(CK_ACME_ERR_PREFIX)) == 0)
        pt += strlen(CK_ACME_ERR_PREFIX);
      json_object_set_new(ch, "error", ck_acme_problem_obj(pt, res.detail));
    }
    rc = store_authz(a, authz_id, az, ver, actor,
                     ok ? "acme.authz.valid" : "acme.authz.invalid",
                     json_pack("{s:s,s:s,s:s}", "type", acme_chal_name(type),
                               "identifier", ident, "address", res.address),
                     &err);
    if (rc != CK_ERR_CONFLICT)
      break;
    ck_errctx_clear(&err);
  }
  if (rc != CK_OK)
    goto fail;
  if ((rc = acme_order_refresh(a, order_id, &order, &order_ver, &err)) != CK_OK)
    goto fail;
  goto out;
fail:
  ck_log(CK_LOG_OPS, CK_LOG_ERR, "acme.validation.error",
         CK_S("authz", authz_id), CK_E(rc, ck_errctx_msg(&err)));
out:
  json_decref(order);
  json_decref(acct);
  json_decref(az);
}
