/* issue.c — the one issuance path (issue.h): parse and verify the CSR,
 * decide under the profile, sign with the profile's CA, store the
 * certificate, the request and the audit event in one group-committed
 * write, and hand back the PEM chain. Runs on a worker thread. */
#include "coordinator/workflow/issue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/ca/ca.h"
#include "coordinator/ca/upstream_acme.h"
#include "coordinator/policy/profile.h"
#include "coordinator/workflow/profile_cache.h"
#include "coordinator/workflow/request_int.h"

void ck_issue_out_clear(ck_issue_out *out) {
  if (out == NULL)
    return;
  free(out->leaf_pem);
  free(out->chain_pem);
  free(out->leaf_der);
  out->leaf_pem = out->chain_pem = NULL;
  out->leaf_der = NULL;
  out->leaf_der_len = 0;
}

/* Splits newline-separated names into an arena array. */
static const char **split_lines(ck_arena *a, const char *text, size_t *n) {
  const char **v;
  const char *p = text, *nl;
  size_t cap = 1, k = 0;

  *n = 0;
  if (text == NULL || *text == '\0')
    return NULL;
  for (p = text; *p; p++)
    cap += *p == '\n';
  v = ck_arena_alloc(a, cap * sizeof *v);
  if (v == NULL)
    return NULL;
  for (p = text; p != NULL && *p != '\0'; p = nl ? nl + 1 : NULL) {
    nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    if (len > 0)
      v[k++] = ck_arena_strndup(a, p, len);
  }
  *n = k;
  return v;
}

static ck_err audit_issue(ck_store_write *w, const ck_issue_in *in,
                          const ck_store_cert *sc, const char *profile,
                          int64_t version, const char *upstream, ck_errctx *err) {
  char details[4096];
  ck_audit_event ev;

  snprintf(details, sizeof details,
           "{\"serial\":\"%s\",\"profile\":\"%s\",\"profile_version\":%lld,"
           "\"not_after\":%lld%s%.2048s%s}",
           sc->serial_hex, profile, (long long)version, (long long)sc->not_after,
           upstream != NULL ? ",\"upstream\":\"" : "", upstream != NULL ? upstream : "",
           upstream != NULL ? "\"" : "");
  memset(&ev, 0, sizeof ev);
  ev.actor = in->who.actor;
  ev.action = "cert.issue";
  ev.object_type = "cert";
  ev.object_id = sc->fingerprint;
  ev.details = details;
  return ck_store_write_audit(w, &ev, err);
}

/* The committed row, for callers that answer with it: what
 * ck_store_write_cert_put stored for an issued certificate (managed, and
 * active since it was just signed), strings copied into a. */
static ck_err copy_record(ck_arena *a, const ck_store_cert *sc, int64_t id,
                          ck_store_cert *out) {
  *out = *sc;
  out->id = id;
  out->managed = 1;
  out->der = NULL;
  out->der_len = 0;
  out->created_at = out->updated_at = ck_clock_now();
  if ((out->serial_hex = ck_arena_strdup(a, sc->serial_hex)) == NULL ||
      (out->subject = ck_arena_strdup(a, sc->subject)) == NULL ||
      (out->issuer = ck_arena_strdup(a, sc->issuer)) == NULL ||
      (out->sans = ck_arena_strdup(a, sc->sans)) == NULL ||
      (out->key_type = ck_arena_strdup(a, sc->key_type)) == NULL ||
      (out->sig_alg = ck_arena_strdup(a, sc->sig_alg)) == NULL ||
      (out->profile = ck_arena_strdup(a, sc->profile)) == NULL ||
      (out->owner = ck_arena_strdup(a, sc->owner)) == NULL ||
      (out->weak_reason = ck_arena_strdup(a, sc->weak_reason)) == NULL)
    return CK_ERR_NOMEM;
  return CK_OK;
}

ck_err ck_issue_run(ck_coord_rt *rt, const ck_issue_in *in, ck_issue_out *out,
                    ck_errctx *err) {
  ck_csr *csr = NULL;
  const ck_profile *prof = NULL;
  ck_profile_verdict v;
  ck_profile_request req;
  ck_route route;
  ck__wf_ctx wf;
  int done = 0;
  ck_sanset *binding = NULL;
  ck_arena *a = NULL;
  ck_store_write *w = NULL;
  ck_cert *cert = NULL;
  ck_store_cert sc;
  ck_store_request sr;
  const ck_ca *ca;
  ck_ca upca;          /* stands in for the CA of an upstream profile */
  char *up_chain = NULL; /* the upstream's chain (leaf first), owned */
  const char *owner, *eku[8];
  ck_name_attr cn;
  size_t n_eku = 0, i, der_len, plen;
  const uint8_t *der;
  int64_t now = ck_clock_now();
  ck_err rc;

  memset(out, 0, sizeof *out);
  memset(&upca, 0, sizeof upca);
  memset(&v, 0, sizeof v);
  memset(&req, 0, sizeof req);
  if ((a = ck_arena_new(8192)) == NULL || (w = ck_store_write_new()) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "issuance");
    goto out;
  }
  rc = ck_csr_parse(in->csr, in->csr_len, &csr, err);
  if (rc == CK_OK)
    rc = ck_csr_verify(csr, err);
  if (rc != CK_OK) {
    rc = ck_failf(err, CK_ERR_BAD_CSR, "bad CSR");
    ck_log(CK_LOG_SEC, CK_LOG_WARN, "issue.bad_csr", CK_S("actor", in->who.actor),
           CK_S("msg", ck_errctx_msg(err)));
    goto out;
  }
  if ((rc = ck_profile_cache_get(rt->profiles, in->profile, &prof, err)) != CK_OK)
    goto out;

  req.csr = ck_csr_get_info(csr);
  req.validity = in->validity;
  if (in->who.kind == CK_WHO_AGENT) {
    req.who.kind = CK_PROFILE_REQ_AGENT;
    req.who.id = in->who.agent_id;
    req.who.group = in->who.group;
    if (in->who.san_patterns != NULL && in->who.san_patterns[0] != '\0') {
      if ((rc = ck_sanset_parse_lines(in->who.san_patterns, &binding, err)) != CK_OK)
        goto out;
      req.who.binding = binding;
    }
    req.who.binding_profiles = split_lines(a, in->who.profiles, &req.who.n_binding_profiles);
  } else {
    req.who.kind = CK_PROFILE_REQ_TOKEN;
    req.who.id = in->who.actor;
    req.who.role = in->who.role;
    req.who.owner = in->who.owner;
  }
  rc = ck_profile_check(prof, &req, &v, err);
  if (rc != CK_OK)
    goto out; /* refusal: logged to the security log by the check */
  /* routing (policy/routing.h): admin-mediated requests wait as pending */
  ck__wf_route(in, prof, &v, &route);
  memset(&wf, 0, sizeof wf);
  wf.rt = rt;
  wf.in = in;
  wf.prof = prof;
  wf.route = &route;
  wf.csr = csr;
  if (in->fulfil == NULL && route.decision == CK_ROUTE_ADMIN)
    v.outcome = CK_PROFILE_PENDING;
  else if (in->fulfil != NULL)
    v.outcome = CK_PROFILE_ALLOW;
  if (v.outcome == CK_PROFILE_PENDING &&
      ((rc = ck__wf_find_open(&wf, out, &done, err)) != CK_OK || done))
    goto out; /* the same request again: its state, or its certificate */

  /* a profile with an upstream is fulfilled by that CA (upstream_acme.h);
   * upca stands in for the local CA below: id 0, the issuers returned */
  ca = prof->upstream != NULL ? &upca : ck_ca_set_find(rt->cas, prof->ca);
  if (ca == NULL || (ca->iss == NULL && prof->upstream == NULL)) {
    rc = ck_failf(err, CK_ERR_CONFIG, "profile '%s' names CA '%s', which is not loaded",
                  prof->name, prof->ca);
    goto out;
  }
  owner = in->owner != NULL ? in->owner : (in->who.owner != NULL ? in->who.owner : "");

  memset(&sr, 0, sizeof sr);
  sr.agent_id = in->who.agent_id != NULL ? in->who.agent_id : "";
  sr.token_id = "";
  sr.actor = in->who.actor;
  sr.profile = prof->name;
  sr.profile_version = prof->version;
  sr.csr = ck_csr_der(csr, &sr.csr_len);

  if (v.outcome == CK_PROFILE_PENDING) {
    ck_audit_event ev;
    sr.state = CK_REQ_PENDING;
    sr.reason = route.reason;
    memset(&ev, 0, sizeof ev);
    ev.actor = in->who.actor;
    ev.action = "request.pending";
    ev.object_type = "request";
    ev.object_id = prof->name;
    ev.details = "";
    if ((rc = ck_store_write_request_put(w, &sr, err)) != CK_OK ||
        (rc = ck_store_write_audit(w, &ev, err)) != CK_OK ||
        (rc = ck__wf_record(&wf, w, NULL, NULL, out, err)) != CK_OK ||
        (rc = ck_store_submit_wait(rt->store, w, err)) != CK_OK)
      goto out;
    out->outcome = CK_ISSUE_PENDING;
    out->request_id = ck_store_write_result(w, 0);
    ck_strlcpy(out->reason, route.reason, sizeof out->reason);
    ck__wf_link_row(rt, out->wf_id, out->request_id);
    goto out;
  }

  for (i = 0; i < 8 && n_eku < 8; i++) {
    const char *name = ck_profile_eku_name(1u << i);
    if ((v.eku & (1u << i)) && name != NULL)
      eku[n_eku++] = name;
  }
  if (prof->upstream != NULL) {
    ck_upstream_acme_req ur;
    ck_upstream_acme_out uo;
    memset(&ur, 0, sizeof ur);
    ur.cfg = prof->upstream;
    ur.profile = prof->name;
    ur.data_dir = rt->set.data_dir;
    ur.store = rt->store;
    ur.actor = in->who.actor;
    ur.csr_der = sr.csr;
    ur.csr_der_len = sr.csr_len;
    ur.names = v.sans;
    ur.n_names = v.n_sans;
    if ((rc = ck_upstream_acme_issue(&ur, &uo, err)) != CK_OK)
      goto out; /* nothing recorded; the connector logged the failure */
    cert = uo.leaf;
    up_chain = uo.chain_pem;
    upca.chain_pem = up_chain + uo.leaf_pem_len;
    upca.chain_pem_len = upca.bundle_pem_len = uo.chain_pem_len - uo.leaf_pem_len;
  } else {
    ck_ca_issue_req ir;
    memset(&ir, 0, sizeof ir);
    ir.csr = csr;
    if (v.subject_cn != NULL && v.subject_cn[0] != '\0') {
      cn.type = "CN";
      cn.value = v.subject_cn;
      ir.subject = &cn;
      ir.n_subject = 1;
    }
    ir.sans = v.sans;
    ir.n_sans = v.n_sans;
    ir.not_before = now - rt->set.backdate;
    ir.not_after = now + v.validity;
    ir.key_usage = v.key_usage;
    ir.eku = eku;
    ir.n_eku = n_eku;
    ir.base_url = rt->set.public_http;
    ir.crl_shards = (int)rt->set.val.crl_shards;
    if ((rc = ck_ca_issue_fields(ca, &ir, &cert, err)) != CK_OK)
      goto out;
  }
  if ((rc = ck_store_cert_from(cert, now, a, &sc, err)) != CK_OK)
    goto out;
  sc.ca_id = ca->id;
  sc.profile = prof->name;
  sc.owner = owner;
  sc.source = CK_CERT_SRC_ISSUED;
  sr.state = CK_REQ_ISSUED;
  sr.reason = in->fulfil != NULL ? "approved" : route.reason;
  ck_strlcpy(out->reason, sr.reason, sizeof out->reason);
  memcpy(sr.cert_fp, sc.fingerprint, sizeof sr.cert_fp);
  if ((rc = ck_store_write_cert_put(w, &sc, err)) != CK_OK ||
      (rc = (in->fulfil != NULL && in->fulfil_row > 0
                 ? ck_store_write_request_set(w, in->fulfil_row, CK_REQ_ISSUED,
                                              sr.reason, sc.fingerprint, err)
                 : ck_store_write_request_put(w, &sr, err))) != CK_OK ||
      (rc = audit_issue(w, in, &sc, prof->name, prof->version,
                        prof->upstream != NULL ? prof->upstream->directory : NULL,
                        err)) != CK_OK ||
      (in->on_issue != NULL &&
       (rc = in->on_issue(w, &sc, ca->chain_pem, in->on_issue_arg, err)) != CK_OK) ||
      (in->on_issue == NULL && in->always_record &&
       (rc = ck__wf_record(&wf, w, &sc, ca->chain_pem, out, err)) != CK_OK) ||
      (rc = ck_store_submit_wait(rt->store, w, err)) != CK_OK)
    goto out;

  out->outcome = CK_ISSUE_ISSUED;
  out->request_id = ck_store_write_result(w, 1);
  if (in->record_arena != NULL &&
      (rc = copy_record(in->record_arena, &sc, ck_store_write_result(w, 0),
                        &out->record)) != CK_OK) {
    rc = ck_failf(err, rc, "issued certificate record");
    goto out;
  }
  memcpy(out->fingerprint, sc.fingerprint, sizeof out->fingerprint);
  ck_strlcpy(out->serial_hex, sc.serial_hex, sizeof out->serial_hex);
  out->not_before = sc.not_before;
  out->not_after = sc.not_after;
  der = ck_cert_der(cert, &der_len);
  if ((out->leaf_der = malloc(der_len)) == NULL ||
      (rc = ck_pem_encode("CERTIFICATE", der, der_len, &out->leaf_pem, &plen)) != CK_OK ||
      (out->chain_pem = malloc(plen + ca->bundle_pem_len + 1)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "issued certificate output");
    goto out;
  }
  memcpy(out->leaf_der, der, der_len);
  out->leaf_der_len = der_len;
  memcpy(out->chain_pem, out->leaf_pem, plen);
  memcpy(out->chain_pem + plen, ca->chain_pem, ca->bundle_pem_len);
  out->chain_pem[plen + ca->bundle_pem_len] = '\0';
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "cert.issued", CK_S("actor", in->who.actor),
         CK_S("profile", prof->name), CK_S("serial", sc.serial_hex),
         CK_S("subject", sc.subject));
out:
  if (rc != CK_OK)
    ck_issue_out_clear(out);
  ck_cert_free(cert);
  free(up_chain);
  ck_store_write_free(w);
  ck_profile_verdict_clear(&v);
  ck_sanset_free(binding);
  if (prof != NULL)
    ck_profile_cache_put(rt->profiles, prof);
  ck_csr_free(csr);
  ck_arena_free(a);
  return rc;
}
