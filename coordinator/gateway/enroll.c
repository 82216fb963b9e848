/* enroll.c — `enroll`: a one-time token and a CSR in, an agent identity
 * out.
 *
 * Checks, in this order, each refusal answered with a specific error and a
 * security-log event, and nothing written:
 *   token   SHA-256 looked up in the store: unknown, already used or
 *           expired -> fatal CK_ERR_AUTH (the session closes, which also
 *           slows down guessing);
 *   host    hostname, os, arch printable and short -> CK_ERR_INVAL;
 *   csr     parses, its signature verifies, its key is strong enough ->
 *           CK_ERR_BAD_CSR / CK_ERR_WEAK_KEY (the session stays open).
 * Then the agent id is drawn (16 hex digits, 64 random bits: unguessable,
 * and free of host names that may be private), the identity certificate
 * issued (identity.c), and ONE store write consumes the token, creates the
 * agent (group from the token, identity fingerprint), stores the
 * certificate (profile agent-identity) and appends the audit event. The
 * token is consumed inside that write, so two agents racing with the same
 * token cannot both succeed: the loser's write fails as "already used". */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/log.h"
#include "coordinator/core/secret.h"
#include "coordinator/gateway/gw_int.h"

int ck__gw_fact_ok(const char *v, size_t max, int required) {
  size_t i, n;

  if (v == NULL)
    return !required;
  n = strlen(v);
  if (n == 0 || n > max)
    return 0;
  for (i = 0; i < n; i++)
    if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
      return 0;
  return 1;
}

static void refuse(gw_work *w, const char *token_id, const char *reason,
                   ck_err code, int fatal, const char *msg) {
  gw_session *s = w->s;
  const ck_wire_host *h = &w->msg.u.enroll.host;

  ck_log(CK_LOG_SEC, CK_LOG_WARN, "gateway.enroll.refused",
         CK_S("session", s->sid), CK_S("peer", s->peer),
         CK_S("enroll_id", token_id != NULL ? token_id : ""),
         CK_S("hostname", h->hostname != NULL ? h->hostname : ""),
         CK_S("reason", reason), CK_E(code, msg));
  ck__gw_reply_error(w, code, fatal, msg);
}

static char *details_json(const ck_wire_enroll *e, const ck_store_etoken *t,
                          const char *fp, const char *peer) {
  json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "group", t->group,
                        "token_id", t->id, "hostname", e->host.hostname, "os",
                        e->host.os, "arch", e->host.arch, "identity", fp);
  char *out;

  if (o == NULL)
    return NULL;
  if (e->host.fqdn != NULL)
    json_object_set_new(o, "fqdn", json_string(e->host.fqdn));
  if (e->host.machine_id != NULL)
    json_object_set_new(o, "machine_id", json_string(e->host.machine_id));
  json_object_set_new(o, "peer", json_string(peer));
  out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(o);
  return out;
}

void ck__gw_enroll_run(gw_work *w) {
  gw_session *s = w->s;
  ck_coord_rt *rt = s->gw->rt;
  const ck_wire_enroll *e = &w->msg.u.enroll;
  ck_errctx err = CK_ERRCTX_INIT;
  char hash[CK_SHA256_HEX_LEN], agent_id[CK_GW_AGENT_ID_LEN + 1];
  char msg[512], platform[160], actor[64], when[32];
  uint8_t rnd[CK_GW_AGENT_ID_LEN / 2];
  ck_store_etoken tok;
  ck_store_agent ag;
  ck_audit_event ev;
  gw_identity id;
  ck_store_write *sw = NULL;
  ck_csr *csr = NULL;
  char *details = NULL;
  int64_t now = ck_clock_now();
  ck_err rc;

  memset(&id, 0, sizeof id);
  /* token */
  if (ck_secret_hash(e->token, hash) != CK_OK) {
    refuse(w, NULL, "token", CK_ERR_AUTH, 1, "unknown enrollment token");
    goto out;
  }
  rc = ck_store_etoken_get(rt->store, hash, w->arena, &tok, &err);
  if (rc == CK_ERR_NOT_FOUND) {
    refuse(w, NULL, "token unknown", CK_ERR_AUTH, 1,
           "unknown enrollment token");
    goto out;
  }
  if (rc != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "gateway.enroll.store",
           CK_S("session", s->sid), CK_E(rc, ck_errctx_msg(&err)));
    ck__gw_reply_error(w, CK_ERR_AGAIN, 0, "coordinator store unavailable");
    goto out;
  }
  if (tok.used_at != 0) {
    snprintf(msg, sizeof msg, "enrollment token %s was already used", tok.id);
    refuse(w, tok.id, "token used", CK_ERR_AUTH, 1, msg);
    goto out;
  }
  if (tok.expires_at <= now) {
    ck_time_format_rfc3339(tok.expires_at, when, sizeof when);
    snprintf(msg, sizeof msg, "enrollment token %s expired at %s", tok.id,
             when);
    refuse(w, tok.id, "token expired", CK_ERR_AUTH, 1, msg);
    goto out;
  }
  /* host facts */
  if (!ck__gw_fact_ok(e->host.hostname, 253, 1) ||
      !ck__gw_fact_ok(e->host.os, 64, 1) ||
      !ck__gw_fact_ok(e->host.arch, 64, 1) ||
      !ck__gw_fact_ok(e->host.fqdn, 253, 0) ||
      !ck__gw_fact_ok(e->host.machine_id, 128, 0)) {
    refuse(w, tok.id, "host facts", CK_ERR_INVAL, 0,
           "enroll.host: hostname, os and arch must be printable ASCII "
           "(hostname and fqdn at most 253 bytes, os and arch 64, "
           "machine_id 128)");
    goto out;
  }
  /* csr */
  rc = ck__gw_identity_csr(e->csr.data, e->csr.len, &csr, &err);
  if (rc != CK_OK) {
    snprintf(msg, sizeof msg, "enroll.csr: %s", ck_errctx_msg(&err));
    refuse(w, tok.id, "csr", rc, 0, msg);
    goto out;
  }
  /* agent id and certificate */
  if ((rc = ck_random(rnd, sizeof rnd)) != CK_OK) {
    ck__gw_reply_error(w, CK_ERR_INTERNAL, 0, "random source failed");
    goto out;
  }
  ck_hex_encode(rnd, sizeof rnd, agent_id);
  ck_errctx_clear(&err);
  rc = ck__gw_identity_issue(rt, ck__gw_opts(s), agent_id, csr, w->arena, &id,
                             &err);
  if (rc != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "gateway.enroll.issue",
           CK_S("session", s->sid), CK_E(rc, ck_errctx_msg(&err)));
    ck__gw_reply_error(w, CK_ERR_INTERNAL, 0,
                       "the coordinator could not issue the identity");
    goto out;
  }
  /* one write: token, agent, certificate, audit */
  snprintf(platform, sizeof platform, "%s-%s", e->host.os, e->host.arch);
  snprintf(actor, sizeof actor, "etoken:%s", tok.id);
  memset(&ag, 0, sizeof ag);
  ag.id = agent_id;
  ag.name = e->host.hostname;
  ag.group = tok.group;
  memcpy(ag.identity_fp, id.row.fingerprint, sizeof ag.identity_fp);
  ag.status = CK_AGENT_ACTIVE;
  ag.enrolled_at = now;
  ag.last_seen = now;
  ag.platform = platform;
  ag.version = s->agent.version != NULL ? s->agent.version : ""; /* hello */
  details = details_json(e, &tok, id.row.fingerprint, s->peer);
  memset(&ev, 0, sizeof ev);
  ev.actor = actor;
  ev.action = "agent.enroll";
  ev.object_type = "agent";
  ev.object_id = agent_id;
  ev.details = details != NULL ? details : "";
  ck_errctx_clear(&err);
  sw = ck_store_write_new();
  if (sw == NULL) {
    ck__gw_reply_error(w, CK_ERR_NOMEM, 0, "coordinator out of memory");
    goto out;
  }
  if ((rc = ck_store_write_etoken_use(sw, hash, agent_id, now, &err)) != CK_OK ||
      (rc = ck_store_write_agent_put(sw, &ag, &err)) != CK_OK ||
      (rc = ck_store_write_cert_put(sw, &id.row, &err)) != CK_OK ||
      (rc = ck_store_write_audit(sw, &ev, &err)) != CK_OK ||
      (rc = ck_store_submit_wait(rt->store, sw, &err)) != CK_OK) {
    if (rc == CK_ERR_CONFLICT || rc == CK_ERR_EXPIRED ||
        rc == CK_ERR_NOT_FOUND) {
      /* Lost a race for the token (or it expired meanwhile). */
      snprintf(msg, sizeof msg, "enrollment token %s: %s", tok.id,
               rc == CK_ERR_EXPIRED ? "expired" : "was already used");
      refuse(w, tok.id, "token race", CK_ERR_AUTH, 1, msg);
    } else {
      ck_log(CK_LOG_OPS, CK_LOG_ERR, "gateway.enroll.store",
             CK_S("session", s->sid), CK_E(rc, ck_errctx_msg(&err)));
      ck__gw_reply_error(w, CK_ERR_AGAIN, 0, "coordinator store unavailable");
    }
    goto out;
  }
  ck_log(CK_LOG_SEC, CK_LOG_NOTICE, "gateway.enroll", CK_S("session", s->sid),
         CK_S("peer", s->peer), CK_S("agent", agent_id),
         CK_S("hostname", e->host.hostname), CK_S("group", tok.group),
         CK_S("enroll_id", tok.id), CK_S("identity", id.row.fingerprint));
  ck__gw_identity_reply(w, &id, NULL, agent_id);
out:
  ck_wipe(hash, sizeof hash);
  free(details);
  ck_store_write_free(sw);
  ck_csr_free(csr);
  ck__gw_identity_clear(&id);
}
