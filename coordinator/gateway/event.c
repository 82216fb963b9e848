/* event.c — `event`: a managed certificate on the agent changed state or a
 * step failed. Recorded as an audit event (actor agent:<id>, action
 * managed.state or managed.failure, object the managed certificate id,
 * details as JSON) and acknowledged once committed, so the agent's outbox
 * can drop it.
 *
 * Exactly once: the frame's id is the agent's outbox sequence number. The
 * same store write that appends the audit event advances the agent's report
 * mark (ck_store_write_agent_report), so an event whose id is not above the
 * mark (resent after a reconnect, or raced by the session it replaced) is
 * refused by the store as a whole and answered `ack` "duplicate" without a
 * second record. Events of one session run one at a time in arrival order
 * (session.c); a store failure is fatal for the session, so the agent
 * reconnects and resends from that event instead of sending later ones
 * first (which would push the mark past it). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/log.h"
#include "coordinator/gateway/gw_int.h"

void ck__gw_event_run(gw_work *w) {
  gw_session *s = w->s;
  const ck_wire_event *e = &w->msg.u.event;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_write *sw = NULL;
  ck_audit_event ev;
  ck_wire_msg ack;
  char actor[64], fp[CK_SHA256_HEX_LEN], msg[160];
  char *details = NULL;
  json_t *o = NULL;
  ck_err rc;

  if (w->msg.id == 0) {
    ck__gw_reply_error(w, CK_ERR_INVAL, 0,
                       "event.id must be the agent's outbox sequence number "
                       "(1 or more)");
    return;
  }
  if (e->kind == CK_WIRE_EVENT_UNKNOWN) {
    ck__gw_reply_error(w, CK_ERR_UNSUPPORTED, 0,
                       "event.kind: this coordinator knows 'state' and "
                       "'failure'");
    return;
  }
  if (strlen(e->cert_id) == 0 || strlen(e->cert_id) > CK_STORE_NAME_MAX) {
    snprintf(msg, sizeof msg, "event.cert_id must be 1..%d bytes",
             CK_STORE_NAME_MAX);
    ck__gw_reply_error(w, CK_ERR_INVAL, 0, msg);
    return;
  }
  o = json_pack("{s:s,s:I}", "new_state", e->new_state, "at",
                (json_int_t)e->at);
  if (o == NULL) {
    ck__gw_reply_error(w, CK_ERR_INVAL, 0,
                       "event: fields are not valid UTF-8 text");
    return;
  }
  if (e->old_state != NULL)
    json_object_set_new(o, "old_state", json_string(e->old_state));
  if (e->reason != NULL)
    json_object_set_new(o, "reason", json_string(e->reason));
  if (e->has_code)
    json_object_set_new(o, "code", json_integer(e->code));
  if (e->has_attempt)
    json_object_set_new(o, "attempt", json_integer(e->attempt));
  if (e->fingerprint.data != NULL && e->fingerprint.len == CK_SHA256_LEN) {
    ck_hex_encode(e->fingerprint.data, CK_SHA256_LEN, fp);
    json_object_set_new(o, "fingerprint", json_string(fp));
  }
  details = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  snprintf(actor, sizeof actor, "agent:%s", s->agent.id);
  memset(&ev, 0, sizeof ev);
  ev.actor = actor;
  ev.action = e->kind == CK_WIRE_EVENT_STATE ? "managed.state"
                                              : "managed.failure";
  ev.object_type = "managed";
  ev.object_id = e->cert_id;
  ev.details = details != NULL ? details : "";
  sw = ck_store_write_new();
  if (sw == NULL) {
    ck__gw_reply_error(w, CK_ERR_NOMEM, 1, "coordinator out of memory");
    goto out;
  }
  /* op 0: the report mark (a duplicate fails here), op 1: the record */
  if ((rc = ck_store_write_agent_report(sw, s->agent.id, w->msg.id, &err)) !=
          CK_OK ||
      (rc = ck_store_write_audit(sw, &ev, &err)) != CK_OK) {
    ck__gw_reply_error(w, rc, 0, ck_errctx_msg(&err));
    goto out;
  }
  memset(&ack, 0, sizeof ack);
  ack.type = CK_WIRE_ACK;
  ack.id = w->msg.id;
  rc = ck_store_submit_wait(s->gw->rt->store, sw, &err);
  if (rc == CK_ERR_EXIST && ck_store_write_failed_op(sw) == 0) {
    ck_log(CK_LOG_OPS, CK_LOG_DEBUG, "gateway.event.duplicate",
           CK_S("session", s->sid), CK_S("agent", s->agent.id),
           CK_I("id", w->msg.id));
    ack.u.ack.detail = "duplicate";
  } else if (rc != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "gateway.event.store",
           CK_S("session", s->sid), CK_E(rc, ck_errctx_msg(&err)));
    /* fatal: the agent resends from this event on its next session */
    ck__gw_reply_error(w, CK_ERR_AGAIN, 1, "coordinator store unavailable");
    goto out;
  }
  ck__gw_reply(w, &ack);
out:
  json_decref(o);
  free(details);
  ck_store_write_free(sw);
}
