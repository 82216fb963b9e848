/* rest_certs.c — /api/v1/certificates: list with filters, show, issue from
 * a CSR (through the one issuance path, workflow/issue.h) and revoke
 * (docs/api.md). Runs on the thread pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/ca/ca.h"
#include "coordinator/http/rest.h"
#include "coordinator/validation/validation.h"
#include "coordinator/workflow/issue.h"

static const char *const reason_names[] = {
    "unspecified",  "keyCompromise",       "cACompromise",   "affiliationChanged",
    "superseded",   "cessationOfOperation", "certificateHold", NULL,
    "removeFromCRL", "privilegeWithdrawn",  "aACompromise"};

static int reason_parse(const char *s) {
  int i;

  for (i = 0; i < 11; i++)
    if (reason_names[i] != NULL && strcmp(s, reason_names[i]) == 0)
      return i;
  return -1;
}

json_t *ck__rest_cert_json(rest_call *c, const ck_store_cert *sc, int full) {
  const ck_ca *ca = sc->ca_id ? ck_ca_set_by_id(c->rt->cas, sc->ca_id) : NULL;
  json_t *o = json_pack(
      "{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:o}",
      "serial", sc->serial_hex, "fingerprint", sc->fingerprint, "subject",
      sc->subject, "issuer", sc->issuer, "sans", rest_split(sc->sans, "\n"), "not_before",
      rest_time(sc->not_before), "not_after", rest_time(sc->not_after), "key_type",
      sc->key_type, "key_bits", (int)sc->key_bits, "sig_alg", sc->sig_alg, "ca",
      ca ? ca->name : "", "profile", sc->profile, "owner", sc->owner, "status",
      ck_cert_status_name(sc->status), "source", ck_cert_source_name(sc->source),
      "managed", sc->managed, "weak", rest_split(sc->weak_reason, "; "));

  if (o == NULL || !full)
    return o;
  if (sc->der != NULL) {
    char *pem = NULL;
    size_t len;
    if (ck_pem_encode("CERTIFICATE", sc->der, sc->der_len, &pem, &len) == CK_OK)
      json_object_set_new(o, "pem", json_stringn(pem, len));
    free(pem);
  }
  {
    ck_errctx err = CK_ERRCTX_INIT;
    ck_store_page pg;
    ck_store_install *ins;
    size_t n, i;
    json_t *arr = json_array();
    memset(&pg, 0, sizeof pg);
    pg.limit = CK_STORE_PAGE_MAX;
    if (ck_store_install_list(c->rt->store, sc->fingerprint, NULL, &pg,
                              ck_http_req_arena(c->req), &ins, &n, &err) == CK_OK)
      for (i = 0; i < n; i++)
        json_array_append_new(
            arr, json_pack("{s:s,s:s,s:s,s:s,s:o}", "agent", ins[i].agent_id, "path",
                           ins[i].path, "service", ins[i].service, "endpoint",
                           ins[i].endpoint, "last_seen", rest_time(ins[i].last_seen)));
    json_object_set_new(o, "installs", arr);
  }
  return o;
}

/* Finds a certificate by fingerprint (64 hex) or serial (hex). */
static ck_err find_cert(rest_call *c, const char *key, ck_store_cert *out,
                        ck_errctx *err) {
  ck_arena *a = ck_http_req_arena(c->req);
  ck_cert_filter f;
  ck_store_page pg;
  ck_store_cert *items;
  size_t n, i, len = strlen(key);
  char *lower;
  ck_err rc;

  if (len == 64 && ck_store_cert_get(c->rt->store, key, 1, a, out, err) == CK_OK)
    return CK_OK;
  lower = ck_arena_strdup(a, key);
  if (lower == NULL)
    return CK_ERR_NOMEM;
  for (i = 0; i < len; i++) {
    char ch = lower[i];
    if (ch >= 'A' && ch <= 'F')
      lower[i] = (char)(ch - 'A' + 'a');
    else if (ch == ':')
      return ck_failf(err, CK_ERR_NOT_FOUND, "no certificate %s", key);
  }
  memset(&f, 0, sizeof f);
  memset(&pg, 0, sizeof pg);
  f.by = CK_CERTQ_SERIAL;
  f.key = lower;
  f.with_der = 1;
  pg.limit = 2;
  rc = ck_store_cert_list(c->rt->store, &f, &pg, a, &items, &n, err);
  if (rc != CK_OK)
    return rc;
  if (n == 0)
    return ck_setf(err, CK_ERR_NOT_FOUND, "no certificate with serial or fingerprint %s", key);
  if (n > 1)
    return ck_setf(err, CK_ERR_CONFLICT,
                   "serial %s is ambiguous (several CAs); use the fingerprint", key);
  *out = items[0];
  return CK_OK;
}

static void list_certs(rest_call *c) {
  ck_arena *a = ck_http_req_arena(c->req);
  ck_errctx err = CK_ERRCTX_INIT;
  ck_cert_filter f;
  ck_store_page pg;
  ck_store_cert *items;
  const char *v;
  size_t n, i;
  int64_t secs;
  json_t *arr;
  ck_err rc;
  int set = 0;

  memset(&f, 0, sizeof f);
  if (!rest_page(c, &pg))
    return;
  if ((v = rest_query(c, "expiring")) != NULL) {
    if (ck_duration_parse(v, &secs) != CK_OK) {
      rest_problemf(c, 400, "bad-request", "expiring '%s' is not a duration (e.g. 30d)", v);
      return;
    }
    f.by = CK_CERTQ_EXPIRING;
    f.from = ck_clock_now();
    f.until = f.from + secs;
    set++;
  }
  if ((v = rest_query(c, "owner")) != NULL) {
    f.by = CK_CERTQ_OWNER;
    f.key = v;
    set++;
  }
  if ((v = rest_query(c, "host")) != NULL) {
    f.by = CK_CERTQ_AGENT;
    f.key = v;
    set++;
  }
  if ((v = rest_query(c, "profile")) != NULL) {
    f.by = CK_CERTQ_PROFILE;
    f.key = v;
    set++;
  }
  if ((v = rest_query(c, "ca")) != NULL) {
    const ck_ca *ca = ck_ca_set_find(c->rt->cas, v);
    if (ca == NULL) {
      rest_problemf(c, 404, "not-found", "no CA named '%s'", v);
      return;
    }
    f.by = CK_CERTQ_CA;
    f.ca_id = ca->id;
    set++;
  }
  if ((v = rest_query(c, "unmanaged")) != NULL && strcmp(v, "0") != 0) {
    f.by = CK_CERTQ_UNMANAGED;
    set++;
  }
  if ((v = rest_query(c, "weak")) != NULL && strcmp(v, "0") != 0) {
    f.by = CK_CERTQ_WEAK;
    set++;
  }
  if (set > 1) {
    rest_problem(c, 400, "bad-request",
                 "use one of expiring, owner, host, profile, ca, unmanaged, weak per query");
    return;
  }
  if (c->role == CK_API_OWNER && (f.by != CK_CERTQ_OWNER || strcmp(f.key, c->owner) != 0)) {
    f.by = CK_CERTQ_OWNER; /* owners see their own certificates only */
    f.key = c->owner;
  }
  rc = ck_store_cert_list(c->rt->store, &f, &pg, a, &items, &n, &err);
  if (rc != CK_OK) {
    rest_problem_err(c, rc == CK_ERR_PARSE ? CK_ERR_INVAL : rc, ck_errctx_msg(&err));
    return;
  }
  arr = json_array();
  for (i = 0; i < n; i++) {
    const char *status = rest_query(c, "status");
    if (status != NULL && strcmp(status, ck_cert_status_name(items[i].status)) != 0)
      continue;
    json_array_append_new(arr, ck__rest_cert_json(c, &items[i], 0));
  }
  rest_json(c, 200, json_pack("{s:o,s:o}", "items", arr, "next_cursor",
                              pg.next_cursor ? json_string(pg.next_cursor) : json_null()));
}

int ck__rest_issue_read(rest_call *c, json_t *body, ck_issue_in *in,
                        const char **validity, const char **just) {
  const char *csr;
  int bad = 0;

  in->profile = rest_str(c, body, "profile", &bad);
  csr = rest_str(c, body, "csr", &bad);
  *validity = rest_str(c, body, "validity", &bad);
  in->owner = rest_str(c, body, "owner", &bad);
  if (just != NULL)
    *just = rest_str(c, body, "justification", &bad);
  in->csr = (const uint8_t *)csr;
  in->csr_len = csr != NULL ? strlen(csr) : 0;
  return !bad;
}

int ck__rest_issue_who(rest_call *c, const char *validity, ck_issue_in *in) {
  if (validity != NULL &&
      (ck_duration_parse(validity, &in->validity) != CK_OK ||
       in->validity <= 0)) {
    rest_problemf(c, 400, "bad-request",
                  "validity '%s' is not a duration (e.g. 30d)", validity);
    return 0;
  }
  in->who.kind = CK_WHO_TOKEN;
  in->who.actor = c->actor;
  in->who.role = ck_role_name(c->role);
  in->who.owner = c->role == CK_API_OWNER ? c->owner : NULL;
  return 1;
}

static void issue_cert(rest_call *c) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_issue_in in;
  ck_issue_out out;
  const char *validity;
  json_t *body, *res;
  ck_err rc;

  memset(&in, 0, sizeof in);
  memset(&out, 0, sizeof out);
  if (!rest_allow(c, CK_R_OPS | CK_R(CK_API_OWNER)))
    return;
  if ((body = rest_body_object(c)) == NULL)
    return;
  if (!ck__rest_issue_read(c, body, &in, &validity, NULL))
    goto out;
  if (in.profile == NULL || in.csr == NULL) {
    rest_problem(c, 400, "bad-request", "fields 'profile' and 'csr' are required");
    goto out;
  }
  if (!ck__rest_issue_who(c, validity, &in))
    goto out;
  in.record_arena = ck_http_req_arena(c->req); /* answer without a re-read */
  rc = ck_issue_run(c->rt, &in, &out, &err);
  if (rc != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  if (out.outcome == CK_ISSUE_PENDING) {
    rest_json(c, 202, json_pack("{s:{s:I,s:s,s:s}}", "request", "id",
                                (json_int_t)out.request_id, "state", "pending", "reason",
                                out.reason));
    goto out;
  }
  res = ck__rest_cert_json(c, &out.record, 0);
  snprintf(c->location, sizeof c->location, "/api/v1/certificates/%s", out.fingerprint);
  rest_json(c, 201, json_pack("{s:o,s:s,s:s,s:I}", "certificate", res, "pem", out.leaf_pem,
                              "chain_pem", out.chain_pem, "request_id",
                              (json_int_t)out.request_id));
out:
  ck_issue_out_clear(&out);
  json_decref(body);
}

static void revoke_cert(rest_call *c, const char *key) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_write *w = NULL;
  ck_store_revocation r;
  ck_store_cert sc;
  const char *reason;
  json_t *body, *d, *replace, *res, *first, *force;
  const char *deadline_s;
  int64_t deadline = 86400;
  int bad = 0, code, do_replace;
  ck_err rc;

  if (!rest_allow(c, CK_R_OPS))
    return;
  if ((body = rest_body_object(c)) == NULL)
    return;
  reason = rest_str(c, body, "reason", &bad);
  if (bad)
    goto out;
  replace = json_object_get(body, "replace");
  first = json_object_get(body, "replace_first");
  force = json_object_get(body, "force");
  deadline_s = rest_str(c, body, "deadline", &bad);
  if (bad)
    goto out;
  if ((replace != NULL && !json_is_boolean(replace)) ||
      (first != NULL && !json_is_boolean(first)) || (force != NULL && !json_is_boolean(force))) {
    rest_problem(c, 400, "bad-request",
                 "fields 'replace', 'replace_first' and 'force' must be true or false");
    goto out;
  }
  if (deadline_s != NULL &&
      (ck_duration_parse(deadline_s, &deadline) != CK_OK || deadline <= 0)) {
    rest_problemf(c, 400, "bad-request", "deadline '%s' is not a duration (e.g. 24h)",
                  deadline_s);
    goto out;
  }
  code = reason_parse(reason != NULL ? reason : "unspecified");
  if (code < 0) {
    rest_problemf(c, 400, "bad-request",
                  "reason '%s' is not an RFC 5280 reason (unspecified, keyCompromise, "
                  "cACompromise, affiliationChanged, superseded, cessationOfOperation, "
                  "certificateHold, removeFromCRL, privilegeWithdrawn, aACompromise)",
                  reason);
    goto out;
  }
  if ((rc = find_cert(c, key, &sc, &err)) != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  /* replace-then-revoke: wait for the holders, unless the key is
   * compromised (then revoke now and replace at once, below) */
  if (json_is_true(first) && code != 1 && code != 2 && code != 10) {
    ck__rest_plan_create(c, &sc, code, deadline, json_is_true(force));
    goto out;
  }
  /* the holders get a replacement unless the certificate is simply retired
   * (or on hold): RFC 5280 reasons that mean "no successor" */
  do_replace = replace != NULL ? json_is_true(replace)
                               : code != 5 && code != 6 && code != 8 && code != 9;
  memset(&r, 0, sizeof r);
  memcpy(r.cert_fp, sc.fingerprint, sizeof r.cert_fp);
  r.reason = code;
  r.actor = c->actor;
  if ((w = ck_store_write_new()) == NULL) {
    rest_problem_err(c, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  d = json_pack("{s:s,s:s}", "serial", sc.serial_hex, "reason", reason_names[code]);
  rc = ck_store_write_revoke(w, &r, &err);
  if (rc == CK_OK)
    rc = rest_audit(w, c, "cert.revoke", "cert", sc.fingerprint, d, &err);
  json_decref(d);
  if (rc == CK_OK)
    rc = ck_store_submit_wait(c->rt->store, w, &err);
  if (rc != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  /* OCSP and the CRL reflect it now, not at the next refresh */
  ck_validation_revoked(c->rt->validation, sc.ca_id, sc.serial_hex);
  ck_log(CK_LOG_SEC, CK_LOG_NOTICE, "cert.revoke", CK_S("actor", c->actor),
         CK_S("serial", sc.serial_hex), CK_S("fingerprint", sc.fingerprint),
         CK_S("reason", reason_names[code]));
  {
    ck_store_cert now;
    if ((rc = ck_store_cert_get(c->rt->store, r.cert_fp, 0, ck_http_req_arena(c->req), &now,
                                &err)) == CK_OK) {
      res = ck__rest_cert_json(c, &now, 0);
      /* revoked first, then the holders are told to replace it: key
       * compromise cannot wait; replace-then-revoke is docs/validation.md */
      if (res != NULL && do_replace)
        json_object_set_new(res, "replacement",
                            ck__rest_replace_holders(c, &sc, code == 1, reason_names[code]));
      rest_json(c, 200, res);
    } else {
      rest_problem_err(c, rc, ck_errctx_msg(&err));
    }
  }
out:
  ck_store_write_free(w);
  json_decref(body);
}

void ck__rest_certs(rest_call *c, char **segs, int nsegs) {
  const char *m = ck_http_req_method_name(c->req);
  int is_get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_cert sc;
  ck_err rc;

  if (nsegs == 1 && is_get) {
    if (rest_allow(c, CK_R_ANY))
      list_certs(c);
  } else if (nsegs == 1 && strcmp(m, "POST") == 0) {
    issue_cert(c);
  } else if (nsegs == 2 && is_get) {
    if (!rest_allow(c, CK_R_ANY))
      return;
    if ((rc = find_cert(c, segs[1], &sc, &err)) != CK_OK)
      rest_problem_err(c, rc, ck_errctx_msg(&err));
    else if (c->role == CK_API_OWNER && strcmp(sc.owner, c->owner) != 0)
      rest_problemf(c, 404, "not-found", "no certificate %s", segs[1]);
    else
      rest_json(c, 200, ck__rest_cert_json(c, &sc, 1));
  } else if (nsegs == 3 && strcmp(segs[2], "blast-radius") == 0 && is_get) {
    /* not for owners: other teams' certificates may share the key */
    if (!rest_allow(c, CK_R_ANY & ~CK_R(CK_API_OWNER)))
      return;
    if ((rc = find_cert(c, segs[1], &sc, &err)) != CK_OK)
      rest_problem_err(c, rc, ck_errctx_msg(&err));
    else
      ck__rest_blast_radius(c, &sc);
  } else if (nsegs == 3 && strcmp(segs[2], "validation") == 0 && is_get) {
    if (!rest_allow(c, CK_R_ANY))
      return;
    if ((rc = find_cert(c, segs[1], &sc, &err)) != CK_OK)
      rest_problem_err(c, rc, ck_errctx_msg(&err));
    else if (c->role == CK_API_OWNER && strcmp(sc.owner, c->owner) != 0)
      rest_problemf(c, 404, "not-found", "no certificate %s", segs[1]);
    else
      ck__rest_cert_validation(c, &sc);
  } else if (nsegs == 3 && strcmp(segs[2], "revoke") == 0 && strcmp(m, "POST") == 0) {
    revoke_cert(c, segs[1]);
  } else {
    rest_problemf(c, 405, "bad-request", "%s is not supported on %s", m,
                  ck_http_req_path(c->req));
  }
}
