/* order.c — ACME orders (RFC 8555 §7.4): newOrder with identifiers checked
 * against the directory's profile (rejectedIdentifier) and RFC 9773
 * "replaces", the order object, and its status refresh from its
 * authorizations or its approval request (order_state.h holds the rules;
 * finalize.c the finalize and download).
 *
 * Order states: pending -> ready (every authorization valid) ->
 * processing (finalize accepted) -> valid (certificate issued); invalid
 * from pending (an authorization failed, or the order expired) or from
 * processing (policy refused the CSR). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/acme/acme_int.h"
#include "coordinator/acme/acme_util.h"
#include "coordinator/acme/order_state.h"
#include "coordinator/ca/ca.h"
#include "coordinator/policy/profile.h"
#include "coordinator/policy/sanset.h"
#include "coordinator/workflow/issue.h"
#include "coordinator/workflow/profile_cache.h"
#include "coordinator/workflow/request.h"

#define ORDER_IDS_MAX 100

json_t *acme_order_json(ck_acme_call *c, const char *id, const json_t *o) {
  char u[900];
  json_t *authz = json_array(), *v, *r;
  size_t i;

  for (i = 0; i < json_array_size(json_object_get(o, "authzs")) &&
              (v = json_array_get(json_object_get(o, "authzs"), i)) != NULL;
       i++)
    json_array_append_new(authz,
                          json_string(acme_url(c, u, sizeof u, "authz/%s",
                                               json_string_value(v))));
  r = json_pack("{s:s,s:o,s:O,s:o,s:s}", "status", acme_str(o, "status"),
                "expires", acme_time(acme_int(o, "expires")), "identifiers",
                json_object_get(o, "identifiers"), "authorizations", authz,
                "finalize", acme_url(c, u, sizeof u, "order/%s/finalize", id));
  if (r == NULL)
    return NULL;
  if (strcmp(acme_str(o, "status"), "valid") == 0)
    json_object_set_new(r, "certificate",
                        json_string(acme_url(c, u, sizeof u, "cert/%s", id)));
  if (json_object_get(o, "error") != NULL)
    json_object_set(r, "error", json_object_get(o, "error"));
  return r;
}

/* -------------------------------------------------------------- newOrder */

/* Checks one identifier against the profile; writes the normalized name.
 * Returns 1, or 0 with the problem answered. */
static int check_identifier(ck_acme_call *c, const ck_profile *prof,
                            const json_t *idf, char *norm, size_t nlen,
                            int *wildcard) {
  ck_errctx err = CK_ERRCTX_INIT;
  const char *type = acme_str(idf, "type"), *value = acme_str(idf, "value");
  char shown[200], allowed[300];

  snprintf(shown, sizeof shown, "%.120s", value);
  if (!json_is_object(idf) || value[0] == '\0')
    return acme_problem(c, 400, "malformed",
                        "each identifier needs a type and a value");
  if (strcmp(type, "dns") != 0) {
    ck_strlcpy(c->pb.identifier, shown, sizeof c->pb.identifier);
    return acme_problem(c, 400, "rejectedIdentifier",
                        "identifier type '%.20s' is not supported (only dns)",
                        type);
  }
  if (ck_sanset_normalize(CK_SAN_DNS, value, norm, nlen, wildcard, &err) !=
      CK_OK) {
    ck_strlcpy(c->pb.identifier, shown, sizeof c->pb.identifier);
    return acme_problem(c, 400, "rejectedIdentifier",
                        "'%s' is not a valid DNS name: %s", shown,
                        ck_errctx_msg(&err));
  }
  if (*wildcard && !prof->wildcards) {
    ck_strlcpy(c->pb.identifier, shown, sizeof c->pb.identifier);
    return acme_problem(c, 400, "rejectedIdentifier",
                        "wildcard '%s' is not allowed by profile %s", shown,
                        prof->name);
  }
  if (!ck_sanset_match(prof->sans, CK_SAN_DNS, norm)) {
    ck_strlcpy(c->pb.identifier, shown, sizeof c->pb.identifier);
    return acme_problem(
        c, 400, "rejectedIdentifier",
        "'%s' is outside profile %s of directory %s (allowed: %s)", shown,
        prof->name, c->dir.name,
        ck_sanset_describe(prof->sans, CK_SAN_DNS, allowed, sizeof allowed));
  }
  return 1;
}

static json_t *new_authz(ck_acme_call *c, const char *order_id,
                         const char *name, int wildcard, int64_t expires) {
  static const int types[] = {CK_ACME_CHAL_HTTP01, CK_ACME_CHAL_DNS01,
                              CK_ACME_CHAL_TLSALPN01};
  json_t *chals = json_array();
  uint8_t r[32];
  char tok[50];
  size_t i;

  for (i = 0; i < sizeof types / sizeof types[0]; i++) {
    if (wildcard && types[i] != CK_ACME_CHAL_DNS01)
      continue; /* RFC 8555 §7.1.3: wildcards only by dns-01 */
    if (ck_random(r, sizeof r) != CK_OK) {
      json_decref(chals);
      return NULL;
    }
    ck_b64u_encode(r, sizeof r, tok, sizeof tok);
    json_array_append_new(chals, json_pack("{s:s,s:s,s:s}", "type",
                                           acme_chal_name(types[i]), "token",
                                           tok, "status", "pending"));
  }
  return json_pack(
      "{s:s,s:s,s:s,s:{s:s,s:s},s:b,s:s,s:I,s:o}", "dir", c->dir.name,
      "account", c->acct_id, "order", order_id, "identifier", "type", "dns",
      "value", wildcard ? name + 2 : name, "wildcard", wildcard, "status",
      "pending", "expires", (json_int_t)expires, "challenges", chals);
}

/* RFC 9773 §5: newOrder "replaces" names the certificate this order
 * renews. It must have been obtained by this account and not be replaced
 * by another live order yet. Appends the acme.cert update (replaced_by,
 * CAS on its version) to w and records the fingerprint in order. 1, or 0
 * with the problem answered. */
static int take_replaces(ck_acme_call *c, const json_t *v, const char *oid,
                         json_t *order, ck_store_write *w) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *ar = ck_arena_new(4096);
  json_t *cd = NULL, *prev = NULL;
  ck_store_cert sc;
  int64_t ver = 0;
  int ok = 0;
  ck_err rc;

  if (ar == NULL)
    return acme_internal(c, CK_ERR_NOMEM, "out of memory");
  if (!json_is_string(v)) {
    acme_problem(c, 400, "malformed", "replaces must be a certID string");
    goto out;
  }
  if (!acme_cert_by_id(c, json_string_value(v), ar, &sc))
    goto out;
  rc = acme_doc_load(c->a, ACME_K_CERT, sc.fingerprint, &cd, &ver, &err);
  if (rc == CK_ERR_NOT_FOUND ||
      (rc == CK_OK && strcmp(acme_str(cd, "account"), c->acct_id) != 0)) {
    acme_problem(c, 403, "unauthorized",
                 "certificate %s was not obtained by this account",
                 sc.serial_hex);
    goto out;
  }
  if (rc != CK_OK) {
    acme_internal(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  if (acme_str(cd, "replaced_by")[0] != '\0' &&
      acme_doc_load(c->a, ACME_K_ORDER, acme_str(cd, "replaced_by"), &prev,
                    NULL, &err) == CK_OK &&
      strcmp(acme_str(prev, "status"), "invalid") != 0) {
    acme_problem(c, 409, "alreadyReplaced",
                 "certificate %s is already replaced by order %s",
                 sc.serial_hex, acme_str(cd, "replaced_by"));
    goto out;
  }
  json_object_set_new(cd, "replaced_by", json_string(oid));
  json_object_set_new(order, "replaces", json_string(sc.fingerprint));
  if ((rc = acme_doc_put(w, ACME_K_CERT, sc.fingerprint, c->acct_id, "", 0, cd,
                         ver, &err)) != CK_OK) {
    acme_internal(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  ok = 1;
out:
  json_decref(prev);
  json_decref(cd);
  ck_arena_free(ar);
  return ok;
}

void acme_new_order(ck_acme_call *c) {
  ck_errctx err = CK_ERRCTX_INIT;
  const ck_profile *prof = NULL;
  json_t *ids =
      c->payload != NULL ? json_object_get(c->payload, "identifiers") : NULL;
  json_t *idf, *norm_ids = NULL, *authz_ids = NULL, *order = NULL, *az = NULL;
  ck_store_write *w = NULL;
  char oid[ACME_ID_LEN], aid[ACME_ID_LEN], norm[CK_SANSET_VALUE_MAX], u[900];
  int64_t now = ck_clock_now(), expires = now + c->a->order_lifetime;
  size_t i, j;
  int wild;
  ck_err rc;

  if (c->payload == NULL || !json_is_array(ids) || json_array_size(ids) == 0) {
    acme_problem(c, 400, "malformed",
                 "newOrder needs a non-empty identifiers array");
    goto out;
  }
  if (json_object_get(c->payload, "notBefore") != NULL ||
      json_object_get(c->payload, "notAfter") != NULL) {
    acme_problem(
        c, 400, "malformed",
        "notBefore/notAfter are not supported: the profile sets the validity");
    goto out;
  }
  if ((rc = ck_profile_cache_get(c->a->rt->profiles, c->dir.profile, &prof,
                                 &err)) != CK_OK) {
    acme_internal(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  if (json_array_size(ids) > ORDER_IDS_MAX ||
      json_array_size(ids) > prof->max_sans) {
    acme_problem(c, 400, "rejectedIdentifier",
                 "at most %u identifiers per order (profile %s)",
                 prof->max_sans < ORDER_IDS_MAX ? prof->max_sans
                                                : ORDER_IDS_MAX,
                 prof->name);
    goto out;
  }
  norm_ids = json_array();
  authz_ids = json_array();
  if ((rc = acme_new_id(oid)) != CK_OK || norm_ids == NULL ||
      authz_ids == NULL || (w = ck_store_write_new()) == NULL) {
    acme_internal(c, rc != CK_OK ? rc : CK_ERR_NOMEM, "new order");
    goto out;
  }
  for (i = 0;
       i < json_array_size(ids) && (idf = json_array_get(ids, i)) != NULL;
       i++) {
    int dup = 0;
    json_t *v;
    if (!check_identifier(c, prof, idf, norm, sizeof norm, &wild))
      goto out;
    for (j = 0; j < json_array_size(norm_ids) &&
                (v = json_array_get(norm_ids, j)) != NULL;
         j++)
      dup |= strcmp(acme_str(v, "value"), norm) == 0;
    if (dup)
      continue;
    json_array_append_new(norm_ids,
                          json_pack("{s:s,s:s}", "type", "dns", "value", norm));
    if ((rc = acme_new_id(aid)) != CK_OK ||
        (az = new_authz(c, oid, norm, wild, expires)) == NULL) {
      acme_internal(c, rc != CK_OK ? rc : CK_ERR_NOMEM, "new authorization");
      goto out;
    }
    rc = acme_doc_put(w, ACME_K_AUTHZ, aid, oid, "pending", expires, az, 0,
                      &err);
    json_decref(az);
    az = NULL;
    if (rc != CK_OK) {
      acme_internal(c, rc, ck_errctx_msg(&err));
      goto out;
    }
    json_array_append_new(authz_ids, json_string(aid));
  }
  order = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:O,s:O}", "dir", c->dir.name,
                    "account", c->acct_id, "owner", acme_str(c->acct, "owner"),
                    "profile", prof->name, "status", "pending", "expires",
                    (json_int_t)expires, "created_at", (json_int_t)now,
                    "identifiers", norm_ids, "authzs", authz_ids);
  if (order == NULL) {
    acme_internal(c, CK_ERR_NOMEM, "new order");
    goto out;
  }
  if (json_object_get(c->payload, "replaces") != NULL &&
      !take_replaces(c, json_object_get(c->payload, "replaces"), oid, order, w))
    goto out;
  if ((rc = acme_doc_put(w, ACME_K_ORDER, oid, c->acct_id, "pending", expires,
                         order, 0, &err)) != CK_OK ||
      (rc = acme_audit(w, c->actor, "acme.order.create", "acme.order", oid,
                       json_pack("{s:s,s:s,s:O}", "dir", c->dir.name, "profile",
                                 prof->name, "identifiers", norm_ids),
                       &err)) != CK_OK ||
      (rc = ck_store_submit_wait(c->a->rt->store, w, &err)) != CK_OK) {
    if (rc == CK_ERR_CONFLICT) /* another order took "replaces" meanwhile */
      acme_problem(c, 409, "alreadyReplaced",
                   "the certificate was replaced by another order meanwhile");
    else
      acme_internal(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  snprintf(c->location, sizeof c->location, "%s",
           acme_url(c, u, sizeof u, "order/%s", oid));
  acme_json(c, 201, acme_order_json(c, oid, order));
out:
  if (prof != NULL)
    ck_profile_cache_put(c->a->rt->profiles, prof);
  json_decref(norm_ids);
  json_decref(authz_ids);
  json_decref(order);
  json_decref(az);
  ck_store_write_free(w);
}

/* -------------------------------------------------------------- refresh */

/* Appends the "acme.cert" document (which account obtained a
 * certificate: revokeCert asks) to w. */
ck_err acme_put_cert_doc(ck_store_write *w, const char *fp, const char *order,
                         const char *dir, const char *acct, ck_errctx *err) {
  json_t *d =
      json_pack("{s:s,s:s,s:s}", "order", order, "dir", dir, "account", acct);
  ck_err rc = d != NULL
                  ? acme_doc_put(w, ACME_K_CERT, fp, acct, "", 0, d, -1, err)
                  : CK_ERR_NOMEM;
  json_decref(d);
  return rc;
}

/* The status an order should have now (from its authorizations, expiry
 * and its issuance request); the current one when nothing changed. */
static const char *derive_status(ck_acme *a, json_t *o, ck_errctx *err,
                                 ck_err *rc) {
  const char *st = acme_str(o, "status");
  json_t *v, *az;
  size_t i;

  *rc = CK_OK;
  if (strcmp(st, "pending") == 0) {
    const char *sts[ORDER_IDS_MAX];
    json_t *loaded[ORDER_IDS_MAX];
    const char *next;
    size_t n = 0;
    for (i = 0; i < json_array_size(json_object_get(o, "authzs")) &&
                (v = json_array_get(json_object_get(o, "authzs"), i)) != NULL;
         i++) {
      if (n == ORDER_IDS_MAX)
        break;
      *rc =
          acme_doc_load(a, ACME_K_AUTHZ, json_string_value(v), &az, NULL, err);
      if (*rc != CK_OK)
        break;
      loaded[n] = az;
      sts[n] = acme_str(az, "status");
      /* an unanswered authorization past its expiry counts as expired */
      if (strcmp(sts[n], "pending") == 0 &&
          acme_int(az, "expires") < ck_clock_now())
        sts[n] = "expired";
      n++;
    }
    next = *rc != CK_OK
               ? st
               : ck_acme_order_next(st, sts, n,
                                    acme_int(o, "expires") < ck_clock_now());
    for (i = 0; i < n; i++)
      json_decref(loaded[i]);
    if (strcmp(next, "invalid") == 0)
      json_object_set_new(
          o, "error",
          ck_acme_problem_obj("unauthorized",
                              "an authorization of this order failed or the "
                              "order expired"));
    return next;
  }
  if (strcmp(st, "processing") == 0 && acme_str(o, "wf_id")[0] != '\0') {
    /* waiting for approval (workflow/request.h): follow the request */
    char *text = NULL;
    json_t *rq;
    json_error_t je;
    const char *next = st, *rs;
    if (ck_wf_request_get(a->rt->store, acme_str(o, "wf_id"), &text, err) !=
        CK_OK) {
      ck_errctx_clear(err);
      return st;
    }
    rq = json_loads(text, 0, &je);
    free(text);
    rs = acme_str(rq, "state");
    if ((strcmp(rs, "issued") == 0 || strcmp(rs, "closed") == 0) &&
        acme_str(rq, "cert_fingerprint")[0] != '\0') {
      json_object_set_new(o, "cert_fp",
                          json_string(acme_str(rq, "cert_fingerprint")));
      next = "valid";
    } else if (strcmp(rs, "rejected") == 0 || strcmp(rs, "closed") == 0) {
      json_object_set_new(
          o, "error",
          ck_acme_problem_obj("unauthorized", acme_str(rq, "reason")[0]
                                                  ? acme_str(rq, "reason")
                                                  : "the request was "
                                                    "rejected"));
      next = "invalid";
    }
    json_decref(rq);
    return next;
  }
  if (strcmp(st, "processing") == 0 && acme_int(o, "request_id") > 0) {
    ck_arena *ar = ck_arena_new(4096);
    ck_store_request r;
    const char *next = st;
    if (ar == NULL)
      return st;
    if (ck_store_request_get(a->rt->store, acme_int(o, "request_id"), ar, &r,
                             err) == CK_OK) {
      if (r.state == CK_REQ_ISSUED && r.cert_fp[0] != '\0') {
        json_object_set_new(o, "cert_fp", json_string(r.cert_fp));
        next = "valid";
      } else if (r.state == CK_REQ_REFUSED) {
        json_object_set_new(o, "error",
                            ck_acme_problem_obj("unauthorized", r.reason));
        next = "invalid";
      }
    }
    ck_arena_free(ar);
    return next;
  }
  return st;
}

ck_err acme_order_refresh(ck_acme *a, const char *order_id, json_t **order_out,
                          int64_t *version_out, ck_errctx *err) {
  json_t *o = NULL;
  ck_store_write *w = NULL;
  int64_t ver = 0;
  const char *next;
  char prev[32];
  ck_err rc;
  int tries;

  *order_out = NULL;
  for (tries = 0; tries < 5; tries++) {
    json_decref(o);
    o = NULL;
    if ((rc = acme_doc_load(a, ACME_K_ORDER, order_id, &o, &ver, err)) != CK_OK)
      goto out;
    ck_strlcpy(prev, acme_str(o, "status"), sizeof prev);
    next = derive_status(a, o, err, &rc);
    if (rc != CK_OK)
      goto out;
    if (strcmp(next, prev) == 0)
      break;
    json_object_set_new(o, "status", json_string(next));
    ck_store_write_free(w);
    if ((w = ck_store_write_new()) == NULL) {
      rc = CK_ERR_NOMEM;
      goto out;
    }
    rc = acme_doc_put(w, ACME_K_ORDER, order_id, acme_str(o, "account"), next,
                      acme_int(o, "expires"), o, ver, err);
    if (rc == CK_OK && strcmp(next, "valid") == 0)
      rc = acme_put_cert_doc(w, acme_str(o, "cert_fp"), order_id,
                             acme_str(o, "dir"), acme_str(o, "account"), err);
    if (rc == CK_OK)
      rc = acme_audit(w, "system", "acme.order.status", "acme.order", order_id,
                      json_pack("{s:s,s:s}", "from", prev, "to", next), err);
    if (rc == CK_OK)
      rc = ck_store_submit_wait(a->rt->store, w, err);
    if (rc == CK_OK) {
      ver++;
      break;
    }
    if (rc != CK_ERR_CONFLICT)
      goto out;
    ck_errctx_clear(err);
  }
  *order_out = o;
  o = NULL;
  if (version_out != NULL)
    *version_out = ver;
  rc = CK_OK;
out:
  json_decref(o);
  ck_store_write_free(w);
  return rc;
}

/* Loads an order of the signing account (refreshed). 1, or 0 answered. */
int acme_load_own_order(ck_acme_call *c, const char *id, json_t **o,
                        int64_t *ver) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc = strlen(id) < ACME_ID_LEN + 4
                  ? acme_order_refresh(c->a, id, o, ver, &err)
                  : CK_ERR_NOT_FOUND;

  if (rc == CK_ERR_NOT_FOUND ||
      (rc == CK_OK && strcmp(acme_str(*o, "account"), c->acct_id))) {
    json_decref(*o);
    *o = NULL;
    return acme_problem(c, 404, "malformed", "no order %.64s for this account",
                        id);
  }
  if (rc != CK_OK)
    return acme_internal(c, rc, ck_errctx_msg(&err));
  return 1;
}

void acme_order(ck_acme_call *c, const char *id) {
  json_t *o = NULL;
  int64_t ver;

  if (!acme_load_own_order(c, id, &o, &ver))
    return;
  if (strcmp(acme_str(o, "status"), "processing") == 0)
    c->retry_after = (int)c->a->retry_after;
  acme_json(c, 200, acme_order_json(c, id, o));
  json_decref(o);
}
