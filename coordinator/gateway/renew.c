/* renew.c — `csr`: a renewal request from an authenticated agent.
 *
 * Two cases:
 *   profile "agent-identity"  the agent renews its own identity: handled
 *       here like enrollment (identity.c: the names come from the
 *       authenticated agent id, never from the CSR), then one store write
 *       points the agent at the new identity, stores the certificate, marks
 *       the previous identity superseded and appends the audit event. The
 *       session that asked stays authenticated with the old certificate;
 *       the next connection must use the new one.
 *   any other profile  the one issuance path, ck_issue_run, with the agent
 *       as requester: its group and the profiles and SAN patterns of its
 *       enrollment binding (binding.c) narrow what the profile allows.
 *       The answer is `cert` (certificate + chain; for a profile with an
 *       upstream CA also `roots`: the top of the CA's chain, the agent's
 *       anchor for it), `pending` (approval
 *       workflow; ticket = the request id) or `error` naming the policy rule
 *       (CK_ERR_DENIED), the CSR problem (CK_ERR_BAD_CSR) or the unknown
 *       profile (CK_ERR_NOT_FOUND). ck_issue_run logs refusals to the
 *       security stream itself.
 * An agent whose binding is not on record may renew its identity only. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/log.h"
#include "coordinator/gateway/gw_int.h"
#include "coordinator/workflow/issue.h"
#include "coordinator/workflow/request.h"
#include "coordinator/workflow/profile_cache.h"

int64_t ck__gw_renew_at(ck_coord_rt *rt, const char *profile,
                        int64_t not_before, int64_t not_after) {
  ck_errctx err = CK_ERRCTX_INIT;
  const ck_profile *p = NULL;
  int64_t at;

  if (rt->profiles != NULL &&
      ck_profile_cache_get(rt->profiles, profile, &p, &err) == CK_OK) {
    at = ck_profile_renew_at(p, not_before, not_after);
    ck_profile_cache_put(rt->profiles, p);
    return at;
  }
  if (not_after <= not_before)
    return not_after;
  return not_after - (not_after - not_before) / 3;
}

int ck__gw_is_identity_csr(const ck_wire_msg *m) {
  return m->type == CK_WIRE_CSR && m->u.csr.profile != NULL &&
         strcmp(m->u.csr.profile, CK_GW_IDENTITY_PROFILE) == 0;
}

static void renew_identity(gw_work *w) {
  gw_session *s = w->s;
  ck_coord_rt *rt = s->gw->rt;
  const ck_wire_csr *c = &w->msg.u.csr;
  const gw_agent *ag = &s->agent;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_write *sw = NULL;
  ck_store_cert old;
  ck_store_cert_patch patch;
  ck_store_agent row;
  ck_audit_event ev;
  gw_identity id;
  ck_csr *csr = NULL;
  char msg[512], actor[64], *details = NULL;
  int have_old;
  ck_err rc;

  memset(&id, 0, sizeof id);
  rc = ck__gw_identity_csr(c->csr.data, c->csr.len, &csr, &err);
  if (rc != CK_OK) {
    snprintf(msg, sizeof msg, "csr.csr: %s", ck_errctx_msg(&err));
    ck_log(CK_LOG_SEC, CK_LOG_WARN, "gateway.identity.refused",
           CK_S("session", s->sid), CK_S("agent", ag->id), CK_E(rc, msg));
    ck__gw_reply_error(w, rc, 0, msg);
    goto out;
  }
  ck_errctx_clear(&err);
  rc = ck__gw_identity_issue(rt, ck__gw_opts(s), ag->id, csr, w->arena, &id,
                             &err);
  if (rc != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "gateway.identity.issue",
           CK_S("session", s->sid), CK_E(rc, ck_errctx_msg(&err)));
    ck__gw_reply_error(w, CK_ERR_INTERNAL, 0,
                       "the coordinator could not issue the identity");
    goto out;
  }
  have_old = ag->identity_fp[0] != '\0' &&
             ck_store_cert_get(rt->store, ag->identity_fp, 0, w->arena, &old,
                               NULL) == CK_OK;
  memset(&row, 0, sizeof row);
  row.id = ag->id;
  row.name = ag->name;
  row.group = ag->group;
  memcpy(row.identity_fp, id.row.fingerprint, sizeof row.identity_fp);
  row.status = CK_AGENT_ACTIVE;
  row.platform = ag->platform;
  row.version = ag->version;
  memset(&patch, 0, sizeof patch);
  patch.status = CK_CERT_SUPERSEDED;
  patch.managed = -1;
  snprintf(actor, sizeof actor, "agent:%s", ag->id);
  {
    json_t *o = json_pack("{s:s,s:s,s:s}", "old", ag->identity_fp, "new",
                          id.row.fingerprint, "cert_id", c->cert_id);
    details = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
  }
  memset(&ev, 0, sizeof ev);
  ev.actor = actor;
  ev.action = "agent.identity.renew";
  ev.object_type = "agent";
  ev.object_id = ag->id;
  ev.details = details != NULL ? details : "";
  sw = ck_store_write_new();
  ck_errctx_clear(&err);
  if (sw == NULL) {
    ck__gw_reply_error(w, CK_ERR_NOMEM, 0, "coordinator out of memory");
    goto out;
  }
  if ((rc = ck_store_write_agent_put(sw, &row, &err)) != CK_OK ||
      (rc = ck_store_write_cert_put(sw, &id.row, &err)) != CK_OK ||
      (have_old && (rc = ck_store_write_cert_set(sw, ag->identity_fp, &patch,
                                                 &err)) != CK_OK) ||
      (rc = ck_store_write_audit(sw, &ev, &err)) != CK_OK ||
      (rc = ck_store_submit_wait(rt->store, sw, &err)) != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "gateway.identity.store",
           CK_S("session", s->sid), CK_E(rc, ck_errctx_msg(&err)));
    ck__gw_reply_error(w, CK_ERR_AGAIN, 0, "coordinator store unavailable");
    goto out;
  }
  memcpy(w->fp, id.row.fingerprint, sizeof w->fp);
  ck_log(CK_LOG_SEC, CK_LOG_NOTICE, "gateway.identity.renewed",
         CK_S("session", s->sid), CK_S("agent", ag->id),
         CK_S("old", ag->identity_fp), CK_S("new", id.row.fingerprint));
  ck__gw_identity_reply(w, &id, c->cert_id, ag->id);
out:
  free(details);
  ck_store_write_free(sw);
  ck_csr_free(csr);
  ck__gw_identity_clear(&id);
}

/* Loop: the session now knows its agent's new identity. */
static void renew_identity_after(gw_work *w) {
  if (w->fp[0] != '\0')
    memcpy(w->s->agent.identity_fp, w->fp, sizeof w->fp);
}

/* 1 when profile is fulfilled by an upstream CA (its chain does not end at
 * our CA: the agent needs the anchor, docs/internals/agent.md). */
static int upstream_profile(ck_coord_rt *rt, const char *profile) {
  ck_errctx err = CK_ERRCTX_INIT;
  const ck_profile *p = NULL;
  int up = 0;

  if (rt->profiles != NULL &&
      ck_profile_cache_get(rt->profiles, profile, &p, &err) == CK_OK) {
    up = p->upstream != NULL;
    ck_profile_cache_put(rt->profiles, p);
  }
  return up;
}

static void reply_issued(gw_work *w, const ck_issue_out *out) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_wire_bytes *chain = NULL;
  size_t n = 0;
  ck_wire_msg m;

  /* chain_pem is the leaf followed by the issuing CA's chain. */
  if (out->chain_pem != NULL &&
      ck__gw_chain_der(out->chain_pem, strlen(out->chain_pem), 1, w->arena,
                       &chain, &n, &err) != CK_OK) {
    ck__gw_reply_error(w, CK_ERR_INTERNAL, 0, "CA chain unavailable");
    return;
  }
  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_CERT;
  m.id = w->msg.id;
  m.u.cert.cert.data = out->leaf_der;
  m.u.cert.cert.len = out->leaf_der_len;
  m.u.cert.chain.v = chain;
  m.u.cert.chain.n = n;
  m.u.cert.cert_id = w->msg.u.csr.cert_id;
  m.u.cert.renew_at = ck__gw_renew_at(w->s->gw->rt, w->msg.u.csr.profile,
                                      out->not_before, out->not_after);
  m.u.cert.has_renew_at = true;
  /* an upstream CA's chain: its top certificate, as the CA returned it,
   * is the anchor the agent checks this certificate against (sent over
   * this mutually authenticated session only) */
  if (n > 0 && upstream_profile(w->s->gw->rt, w->msg.u.csr.profile)) {
    m.u.cert.roots.v = &chain[n - 1];
    m.u.cert.roots.n = 1;
  }
  ck__gw_reply(w, &m);
}

void ck__gw_renew_run(gw_work *w) {
  gw_session *s = w->s;
  const ck_wire_csr *c = &w->msg.u.csr;
  const gw_agent *ag = &s->agent;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_issue_in in;
  ck_issue_out out;
  ck_wire_msg m;
  char actor[64], ticket[CK_WF_ID_MAX + 16], msg[600];
  ck_err rc;

  if (ck__gw_is_identity_csr(&w->msg)) {
    w->after = renew_identity_after;
    renew_identity(w);
    return;
  }
  if (ag->token_id == NULL || ag->token_id[0] == '\0') {
    snprintf(msg, sizeof msg,
             "agent %s has no enrollment binding on record: it may only "
             "renew its identity (profile %s)", ag->id, CK_GW_IDENTITY_PROFILE);
    ck_log(CK_LOG_SEC, CK_LOG_WARN, "gateway.csr.refused",
           CK_S("session", s->sid), CK_S("agent", ag->id),
           CK_S("profile", c->profile), CK_E(CK_ERR_DENIED, msg));
    ck__gw_reply_error(w, CK_ERR_DENIED, 0, msg);
    return;
  }
  snprintf(actor, sizeof actor, "agent:%s", ag->id);
  memset(&in, 0, sizeof in);
  memset(&out, 0, sizeof out);
  in.csr = c->csr.data;
  in.csr_len = c->csr.len;
  in.profile = c->profile;
  in.who.kind = CK_WHO_AGENT;
  in.who.actor = actor;
  in.who.agent_id = ag->id;
  in.who.group = ag->group;
  in.who.profiles = ag->profiles;
  in.who.san_patterns = ag->san_patterns;
  rc = ck_issue_run(s->gw->rt, &in, &out, &err);
  if (rc != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_INFO, "gateway.csr.refused",
           CK_S("session", s->sid), CK_S("agent", ag->id),
           CK_S("cert_id", c->cert_id), CK_S("profile", c->profile),
           CK_E(rc, ck_errctx_msg(&err)));
    ck__gw_reply_error(w, rc, 0, ck_errctx_msg(&err));
    goto out;
  }
  if (out.outcome == CK_ISSUE_PENDING) {
    if (out.wf_id[0] != '\0') /* the approval request (workflow/request.h) */
      snprintf(ticket, sizeof ticket, "%s", out.wf_id);
    else
      snprintf(ticket, sizeof ticket, "%lld", (long long)out.request_id);
    memset(&m, 0, sizeof m);
    m.type = CK_WIRE_PENDING;
    m.id = w->msg.id;
    m.u.pending.reason = out.reason[0] != '\0' ? out.reason : "approval";
    m.u.pending.retry_after = CK_GW_RETRY_AFTER;
    m.u.pending.ticket = ticket;
    ck__gw_reply(w, &m);
    ck_log(CK_LOG_OPS, CK_LOG_INFO, "gateway.csr.pending",
           CK_S("session", s->sid), CK_S("agent", ag->id),
           CK_S("cert_id", c->cert_id), CK_S("profile", c->profile),
           CK_I("request", out.request_id));
    goto out;
  }
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "gateway.csr.issued", CK_S("session", s->sid),
         CK_S("agent", ag->id), CK_S("cert_id", c->cert_id),
         CK_S("profile", c->profile), CK_S("fingerprint", out.fingerprint));
  reply_issued(w, &out);
out:
  ck_issue_out_clear(&out);
}
