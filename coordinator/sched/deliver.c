/* deliver.c — the delivery workers: threads of their own (a hanging SMTP
 * server or webhook holds a worker, never the loop or the libuv pool).
 *
 * A worker lists due deliveries ("sched.delivery" in state pending, or
 * sending whose claim expired), claims one by putting state "sending"
 * with the version it read (expect_version: of several workers, or
 * coordinators, one wins), sends it, and records the outcome with the
 * next version: "sent" (audited notice.sent), "pending" again with
 * due_at moved by exponential backoff ([notices] retry_base doubling up
 * to retry_cap; audited notice.retry), or "failed" after retry_max
 * attempts or a refusal that retrying cannot fix (audited notice.failed,
 * logged on the operational stream). A sent delivery is never sent again;
 * the claim lease ([notices] timeouts x 2 + 60 s) only matters when a
 * coordinator died in the middle of a send — then that one message may be
 * sent a second time after the lease (docs/notices.md). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/sched/notice.h"
#include "coordinator/sched/sched_int.h"
#include "coordinator/sched/smtp.h"
#include "coordinator/sched/webhook.h"

#define BATCH 16
#define IDLE_WAIT_NS (2ULL * 1000 * 1000 * 1000) /* re-check due times */

/* Puts delivery d with doc o and state at expect; audits action. */
static ck_err put_state(ck_sched *s, const ck_store_doc *d, json_t *o,
                        const char *state, int64_t due, int64_t expect,
                        const char *action, json_t *details, ck_errctx *err) {
  ck_store_write *w = ck_store_write_new();
  char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  char *dtext = details != NULL
                    ? json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS)
                    : NULL;
  ck_store_doc nd = *d;
  ck_audit_event ev;
  ck_err rc;

  nd.state = state;
  nd.due_at = due;
  nd.doc = text;
  memset(&ev, 0, sizeof ev);
  ev.actor = CK_SCHED_ACTOR;
  ev.action = action;
  ev.object_type = "delivery";
  ev.object_id = d->id;
  ev.details = dtext != NULL ? dtext : "";
  if (w == NULL || text == NULL)
    rc = ck_failf(err, CK_ERR_NOMEM, "delivery");
  else if ((rc = ck_store_write_doc_put(w, &nd, expect, err)) == CK_OK &&
           (action == NULL ||
            (rc = ck_store_write_audit(w, &ev, err)) == CK_OK))
    rc = ck_store_submit_wait(s->rt->store, w, err);
  free(text);
  free(dtext);
  ck_store_write_free(w);
  return rc;
}

/* Sends the message of delivery o. */
static ck_err send_one(ck_sched *s, const char *id, const json_t *o,
                       int64_t now, ck_errctx *err) {
  const char *channel = json_string_value(json_object_get(o, "channel"));
  const char *to = json_string_value(json_object_get(o, "to"));
  const char *owner = json_string_value(json_object_get(o, "owner"));
  char *subject = NULL, *body = NULL, *msg = NULL;
  size_t len = 0;
  ck_err rc;

  if (channel == NULL || to == NULL)
    return ck_failf(err, CK_ERR_PARSE, "delivery %s: no channel", id);
  if (strcmp(channel, "webhook") == 0) {
    size_t klen = 0;
    const char *key = ck__sched_secret_for(&s->o, owner, &klen);
    long status = 0;
    if (key == NULL)
      return ck_failf(err, CK_ERR_CONFIG,
                      "no webhook key: set [notices] webhook_secret_file (or "
                      "[notices-owner:%s] webhook_secret_file)",
                      owner != NULL ? owner : "");
    if ((body = ck_notice_webhook(o, id)) == NULL)
      return ck_failf(err, CK_ERR_NOMEM, "delivery");
    rc = ck_webhook_post(to, id, key, klen, body, strlen(body),
                         (long)s->o.webhook_timeout, &status, err);
    free(body);
    return rc;
  }
  if (s->o.smtp_url[0] == '\0')
    return ck_failf(err, CK_ERR_CONFIG, "[notices] smtp_url is not set");
  if (ck_notice_email(o, now, &subject, &body) != 0 ||
      (msg = ck_smtp_message(s->o.smtp_from, to, subject, id, now, body,
                             &len)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "delivery");
  } else {
    ck_smtp_opts so;
    memset(&so, 0, sizeof so);
    so.url = s->o.smtp_url;
    so.tls = s->o.smtp_tls;
    so.cacert = s->o.smtp_cacert;
    so.user = s->o.smtp_user;
    so.password = s->o.smtp_password;
    so.timeout_s = (long)s->o.smtp_timeout;
    rc = ck_smtp_send(&so, s->o.smtp_from, to, msg, len, err);
  }
  free(subject);
  free(body);
  free(msg);
  return rc;
}

static int64_t backoff(const ck__sched_opts *o, int64_t attempts) {
  int64_t d = o->retry_base;

  while (--attempts > 0 && d < o->retry_cap)
    d *= 2;
  return d < o->retry_cap ? d : o->retry_cap;
}

/* Claims, sends and records one delivery. */
static void deliver(ck_sched *s, const ck_store_doc *d) {
  ck_errctx err = CK_ERRCTX_INIT;
  int64_t now = ck_clock_now(), attempts;
  json_t *o = json_loads(d->doc, 0, NULL), *det = NULL;
  const char *state, *channel;
  ck_err rc;

  if (!json_is_object(o))
    goto out;
  /* claim: the version read must still be the stored one */
  if (put_state(s, d, o, "sending", now + s->o.lease, d->version, NULL, NULL,
                &err) != CK_OK)
    goto out; /* another worker has it */
  attempts = json_integer_value(json_object_get(o, "attempts")) + 1;
  json_object_set_new(o, "attempts", json_integer(attempts));
  channel = json_string_value(json_object_get(o, "channel"));
  if (channel == NULL)
    channel = "";
  rc = send_one(s, d->id, o, now, &err);
  now = ck_clock_now();
  if (rc == CK_OK) {
    json_object_set_new(o, "sent_at", json_integer(now));
    json_object_set_new(o, "last_error", json_string(""));
    state = "sent";
  } else {
    json_object_set_new(o, "last_error", json_string(ck_errctx_msg(&err)));
    /* given up: too many attempts, or what retrying cannot fix (a webhook
     * that refuses with 4xx, no key, a bad address); a mail server's
     * refusal is retried (it may be a full mailbox or a greylist) */
    if (attempts >= s->o.retry_max || rc == CK_ERR_CONFIG ||
        rc == CK_ERR_INVAL ||
        (rc == CK_ERR_DENIED && strcmp(channel, "webhook") == 0))
      state = "failed";
    else
      state = "pending";
  }
  det = json_pack("{s:s,s:s,s:I,s:s}", "channel", channel, "owner", d->key,
                  "attempt", (json_int_t)attempts, "error",
                  rc == CK_OK ? "" : ck_errctx_msg(&err));
  {
    ck_errctx e2 = CK_ERRCTX_INIT;
    const char *action = rc == CK_OK                    ? "notice.sent"
                         : strcmp(state, "failed") == 0 ? "notice.failed"
                                                        : "notice.retry";
    ck_err wr = put_state(
        s, d, o, state,
        strcmp(state, "pending") == 0 ? now + backoff(&s->o, attempts) : 0,
        d->version + 1, action, det, &e2);
    if (wr != CK_OK)
      ck_log(CK_LOG_OPS, CK_LOG_ERR, "notice.record.failed",
             CK_S("delivery", d->id), CK_E(wr, ck_errctx_msg(&e2)));
  }
  if (rc == CK_OK) {
    ck__sched_count(s, &s->st.deliveries_sent, 1);
    ck_log(CK_LOG_OPS, CK_LOG_INFO, "notice.sent", CK_S("delivery", d->id),
           CK_S("owner", d->key), CK_I("attempt", attempts));
  } else if (strcmp(state, "failed") == 0) {
    ck__sched_count(s, &s->st.deliveries_failed, 1);
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "notice.failed", CK_S("delivery", d->id),
           CK_S("owner", d->key), CK_I("attempt", attempts),
           CK_E(rc, ck_errctx_msg(&err)));
  } else {
    ck__sched_count(s, &s->st.deliveries_retried, 1);
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "notice.retry", CK_S("delivery", d->id),
           CK_S("owner", d->key), CK_I("attempt", attempts),
           CK_I("next_in", backoff(&s->o, attempts)),
           CK_E(rc, ck_errctx_msg(&err)));
  }
out:
  json_decref(o);
  json_decref(det);
}

/* One pass: every due delivery in state `state`. Returns how many. */
static size_t pass(ck_sched *s, const char *state) {
  ck_arena *a = ck_arena_new(1 << 16);
  ck_doc_filter f;
  ck_store_page pg;
  ck_store_doc *d = NULL;
  size_t n = 0, i;

  if (a == NULL)
    return 0;
  memset(&f, 0, sizeof f);
  f.kind = CK_SCHED_DOC_DELIVERY;
  f.state = state;
  f.due_before = ck_clock_now() + 1;
  memset(&pg, 0, sizeof pg);
  pg.limit = BATCH;
  if (ck_store_doc_list(s->rt->store, &f, &pg, a, &d, &n, NULL) != CK_OK)
    n = 0;
  for (i = 0; i < n; i++) {
    int stop;
    uv_mutex_lock(&s->mu);
    stop = s->stop;
    uv_mutex_unlock(&s->mu);
    if (stop)
      break;
    deliver(s, &d[i]);
  }
  ck_arena_free(a);
  return n;
}

void ck__deliver_main(void *arg) {
  ck_sched *s = arg;

  for (;;) {
    size_t n;
    int stop;

    uv_mutex_lock(&s->mu);
    stop = s->stop;
    uv_mutex_unlock(&s->mu);
    if (stop)
      break;
    n = pass(s, "pending") + pass(s, "sending");
    uv_mutex_lock(&s->mu);
    if (n == 0 && !s->stop && !s->kick)
      (void)uv_cond_timedwait(&s->cond, &s->mu, IDLE_WAIT_NS);
    s->kick = 0;
    uv_mutex_unlock(&s->mu);
  }
}
