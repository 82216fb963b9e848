/* auth.c — who is behind a client certificate.
 *
 * The TLS layer has already verified the certificate against our CAs; here
 * the SHA-256 of its DER must be the identity fingerprint of an agent in the
 * store, and that agent must be active. Anything else (a certificate our CA
 * issued for something else, a superseded identity, a disabled or revoked
 * agent) gets a fatal CK_ERR_AUTH error and a security-log event. The
 * lookup and the binding load are store reads, so this runs on the pool;
 * the session does not read frames until it is done. */
#include <stdlib.h>
#include <string.h>

#include "common/util/log.h"
#include "coordinator/gateway/gw_int.h"

void ck__gw_auth_run(gw_work *w) {
  gw_session *s = w->s;
  ck_store *store = s->gw->rt->store;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *a = ck_arena_new(4096);
  ck_store_agent ag;
  const char *why = NULL;
  char msg[256];
  ck_err rc;

  if (a == NULL) {
    ck__gw_reply_error(w, CK_ERR_NOMEM, 1, "coordinator out of memory");
    return;
  }
  rc = ck_store_agent_by_identity(store, s->cert_fp, a, &ag, &err);
  if (rc == CK_ERR_NOT_FOUND) {
    why = "unknown";
  } else if (rc != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "gateway.auth.store",
           CK_S("session", s->sid), CK_E(rc, ck_errctx_msg(&err)));
    ck__gw_reply_error(w, CK_ERR_AGAIN, 1, "coordinator store unavailable");
    goto out;
  } else if (ag.status != CK_AGENT_ACTIVE) {
    why = ck_agent_status_name(ag.status);
  }
  if (why != NULL) {
    ck_log(CK_LOG_SEC, CK_LOG_WARN, "gateway.auth.refused",
           CK_S("session", s->sid), CK_S("peer", s->peer),
           CK_S("cert_sha256", s->cert_fp),
           CK_S("agent", rc == CK_OK ? ag.id : ""), CK_S("reason", why));
    if (rc == CK_OK)
      snprintf(msg, sizeof msg, "agent %s is %s", ag.id, why);
    else
      snprintf(msg, sizeof msg,
               "client certificate %.16s... is not the identity of any "
               "enrolled agent", s->cert_fp);
    ck__gw_reply_error(w, CK_ERR_AUTH, 1, msg);
    goto out;
  }
  s->agent.id = strdup(ag.id);
  s->agent.name = strdup(ag.name);
  s->agent.group = strdup(ag.group);
  s->agent.platform = strdup(ag.platform);
  s->agent.version = strdup(ag.version);
  memcpy(s->agent.identity_fp, ag.identity_fp, sizeof ag.identity_fp);
  if (s->agent.id == NULL || s->agent.name == NULL || s->agent.group == NULL ||
      s->agent.platform == NULL || s->agent.version == NULL) {
    ck__gw_reply_error(w, CK_ERR_NOMEM, 1, "coordinator out of memory");
    goto out;
  }
  rc = ck__gw_binding_load(store, ag.id, &s->agent, &err);
  if (rc != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "gateway.auth.binding",
           CK_S("session", s->sid), CK_S("agent", ag.id),
           CK_E(rc, ck_errctx_msg(&err)));
    ck__gw_reply_error(w, CK_ERR_AGAIN, 1, "coordinator store unavailable");
    goto out;
  }
out:
  ck_arena_free(a);
}

void ck__gw_auth_after(gw_work *w) {
  gw_session *s = w->s;

  if (w->close_after) {
    ck__gw_agent_clear(&s->agent);
    s->state = GW_UNENROLLED; /* closing right after the error is sent */
    return;
  }
  s->state = GW_AGENT;
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "gateway.session.open",
         CK_S("session", s->sid), CK_S("peer", s->peer),
         CK_S("agent", s->agent.id), CK_S("group", s->agent.group));
}
