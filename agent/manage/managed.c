/* managed.c — the managed-certificate state machine (managed.h): one step
 * function per state, one setter (log, invariants, event, persistence),
 * libuv timers, thread-pool work for the blocking phases (keycsr.c,
 * deploy.c) and the answers of the coordinator. */
#include "agent/manage/managed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/manage/deploy.h"
#include "agent/manage/keycsr.h"
#include "agent/manage/mstate.h"
#include "common/crypto/crypto.h"
#include "common/util/clock.h"
#include "common/util/fs.h"
#include "common/util/log.h"
#include "common/util/mem.h"

#define CK__WAIT ((int64_t)-1) /* step result: wait for work or a message */
#define CK__NOW ((int64_t)0)   /* step result: run the next step at once */
#define CK__MAX_TIMER_S 3600   /* timers re-evaluate at least hourly */
#define CK__MAX_STEPS 32       /* steps per run, a guard against cycles */
#define CK__PENDING_MIN_S 5    /* floor of a pending answer's retry_after */
#define CK__REFUSED_MIN_S 3600 /* a refused certificate (its chain does not
                                  verify): ask again no sooner (capped at
                                  retry_max), not at every backoff step */

static const struct {
  const char *name;
  int stable;
} ck__states[] = {
#define CK__MSTATE_ROW(name, stable) {#name, stable},
    CK_MANAGED_STATE_MAP(CK__MSTATE_ROW)
#undef CK__MSTATE_ROW
};

const char *ck_managed_state_name(ck_managed_state s) {
  if ((int)s < 0 || s >= CK_MS__COUNT)
    return NULL;
  return ck__states[s].name;
}

int ck_managed_state_from_name(const char *name) {
  int i;
  for (i = 0; i < (int)CK_MS__COUNT; i++)
    if (strcmp(ck__states[i].name, name) == 0)
      return i;
  return -1;
}

int ck_managed_state_stable(ck_managed_state s) {
  return (int)s >= 0 && s < CK_MS__COUNT && ck__states[s].stable;
}

typedef struct ck__mc ck__mc;

typedef enum ck__wkind {
  CK__W_KEYGEN,
  CK__W_INSTALL,
  CK__W_RELOAD,
  CK__W_VERIFY,
  CK__W_ROLLBACK
} ck__wkind;

/* One blocking phase on the thread pool. Inputs are the certificate's
 * immutable settings; outputs are written by the worker and read by the
 * loop thread in ck__after_work. */
typedef struct ck__work {
  uv_work_t req;
  ck__mc *m;
  ck__wkind kind;
  int64_t now;
  uint8_t fp[32]; /* in: verify's wanted fp; out: install's new fp */
  int bad_pair;
  ck_err rc;
  ck_errctx err;
} ck__work;

/* One managed certificate. Settings (owned copies) do not change after
 * ck_managed_add, so thread-pool work may read them. */
struct ck__mc {
  ck_managed_set *set;
  char *id, *profile, *cn, *key_spec, **sans;
  size_t n_sans;
  char *cert_file, *key_file, *chain_file, *fullchain_file, *owner, *group;
  char *verify, *verify_sni;
  ck_reload reload;
  int has_reload;
  double fraction;
  int64_t renew_before, jitter;
  char *dir, *state_path, *next_key, *next_crt, *journal;
  char *next_csr;   /* the CSR of next.key as sent: asking again after
                       `pending` must send the same bytes */
  char *next_roots; /* anchors delivered with next.crt (deploy.h) */
  ck_deploy dep;

  /* the machine (loop thread only) */
  ck_managed_state st;
  uv_timer_t timer;
  int busy;           /* thread-pool work in flight */
  int64_t next_at;    /* deadline of the current wait (epoch s), 0 none */
  int renew_now;      /* `command renew` seen */
  const char *reason; /* of the renewal under way: "expiring", ... */
  uint64_t csr_id;    /* id of the csr in flight */
  int has_csr_id;
  int has_fp;         /* installed certificate */
  uint8_t fp[32];
  int64_t not_before, not_after;
  uint8_t new_fp[32]; /* the certificate being installed */
  int64_t renew_at;   /* coordinator's renew_at for it, 0 none */
  char ticket[128];
  uint32_t attempt;
  char last_error[256];
  ck_err fail_code;   /* why ROLLING_BACK */
  char fail_reason[256];
  int removed;        /* ck_managed_remove: out of the set, freed once its
                         timer is closed and no work is in flight */
  int timer_closed;
};

struct ck_managed_set {
  uv_loop_t *loop;
  char *dir;
  char *trust; /* DIR/ca.pem */
  ck_managed_ops ops;
  ck_managed_opts opts;
  ck__mc **v;
  size_t n;
  int started;
  int closing;
  int refs; /* open timers + work in flight, while closing */
};

/* ------------------------------------------------------------ helpers */

static char *ck__dup(const char *s) {
  char *d;
  size_t n;
  if (s == NULL)
    return NULL;
  n = strlen(s) + 1;
  if ((d = malloc(n)) != NULL)
    memcpy(d, s, n);
  return d;
}

static char *ck__join(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *p = malloc(la + lb + 2);
  if (p == NULL)
    return NULL;
  memcpy(p, a, la);
  p[la] = '/';
  memcpy(p + la + 1, b, lb + 1);
  return p;
}

static int ck__exists(const char *path) { return access(path, F_OK) == 0; }

/* A uniform random number in [0,1). */
static double ck__rnd(void) {
  uint32_t r = 0;
  if (ck_random(&r, sizeof r) != CK_OK)
    return 0.5;
  return (double)r / 4294967296.0;
}

/* at minus a random jitter of at most `jitter`, capped at 5% of the
 * certificate's remaining life; never before now. */
static int64_t ck__jittered(int64_t at, int64_t jitter, int64_t not_after,
                            int64_t now, double rnd) {
  int64_t cap = not_after > now ? (not_after - now) / 20 : 0;

  if (jitter > cap)
    jitter = cap;
  if (jitter > 0 && rnd >= 0.0 && rnd < 1.0)
    at -= (int64_t)(rnd * (double)jitter);
  return at < now ? now : at;
}

int64_t ck_managed_renewal_time(int64_t not_before, int64_t not_after,
                                double fraction, int64_t renew_before,
                                int64_t jitter, int64_t now, double rnd) {
  int64_t life = not_after - not_before, t;

  if (life < 0)
    life = 0;
  if (!(fraction > 0.0 && fraction < 1.0))
    fraction = 1.0 / 3.0;
  t = not_after - (int64_t)(fraction * (double)life);
  if (renew_before > 0 && not_after - renew_before < t)
    t = not_after - renew_before;
  return ck__jittered(t, jitter, not_after, now, rnd);
}

/* Exponential backoff with up to +25% jitter for failure number attempt. */
static int64_t ck__backoff(const ck_managed_set *s, uint32_t attempt) {
  int64_t d = s->opts.retry_base;
  uint32_t i;

  for (i = 1; i < attempt && d < s->opts.retry_max; i++)
    d *= 2;
  if (d > s->opts.retry_max)
    d = s->opts.retry_max;
  return d + (int64_t)(ck__rnd() * (double)(d / 4));
}

/* --------------------------------------------------- invariants, setter */

/* Per-state invariants (SQLite's assert_pager_state):
 *   GENERATING_KEY, INSTALLING, RELOADING, VERIFYING, ROLLING_BACK:
 *       work is in flight (busy); all other states: none is.
 *   HAVE_KEY, NEED_CSR, SUBMITTED, PENDING_APPROVAL: next.key exists.
 *   HAVE_CERT: next.crt exists.
 *   SUBMITTED, PENDING_APPROVAL: a deadline (next_at) is set (the
 *       answer's timeout; when to ask again).
 *   MONITORING, FAILED: a deadline (renewal or retry) is set.
 *   FAILED: attempt > 0. */
static int ck__invariants_hold(const ck__mc *m, const char **what) {
  int work = m->st == CK_MS_GENERATING_KEY || m->st == CK_MS_INSTALLING ||
             m->st == CK_MS_RELOADING || m->st == CK_MS_VERIFYING ||
             m->st == CK_MS_ROLLING_BACK;

  *what = NULL;
  if (work != m->busy)
    *what = work ? "no work in flight" : "work in flight";
  else if ((m->st == CK_MS_HAVE_KEY || m->st == CK_MS_NEED_CSR ||
            m->st == CK_MS_SUBMITTED || m->st == CK_MS_PENDING_APPROVAL) &&
           !ck__exists(m->next_key))
    *what = "next.key missing";
  else if (m->st == CK_MS_HAVE_CERT && !ck__exists(m->next_crt))
    *what = "next.crt missing";
  else if ((m->st == CK_MS_SUBMITTED || m->st == CK_MS_MONITORING ||
            m->st == CK_MS_FAILED || m->st == CK_MS_PENDING_APPROVAL) &&
           m->next_at <= 0)
    *what = "no deadline";
  else if (m->st == CK_MS_FAILED && m->attempt == 0)
    *what = "attempt is 0";
  return *what == NULL;
}

static void ck__assert_state(const ck__mc *m) {
  const char *what;
  if (ck__invariants_hold(m, &what))
    return;
  ck_log(CK_LOG_OPS, CK_LOG_CRIT, "agent.managed.invariant", CK_S("id", m->id),
         CK_S("state", ck_managed_state_name(m->st)), CK_S("broken", what));
#ifndef NDEBUG
  abort();
#endif
}

static void ck__persist(ck__mc *m) {
  ck_mstate ms;
  ck_errctx err = CK_ERRCTX_INIT;

  memset(&ms, 0, sizeof ms);
  ck_strlcpy(ms.state, ck_managed_state_name(m->st), sizeof ms.state);
  ms.has_fingerprint = m->has_fp;
  memcpy(ms.fingerprint, m->fp, 32);
  ms.not_after = m->has_fp ? m->not_after : 0;
  ms.next_renewal = m->next_at;
  ck_strlcpy(ms.ticket, m->ticket, sizeof ms.ticket);
  ms.attempt = m->attempt;
  ck_strlcpy(ms.last_error, m->last_error, sizeof ms.last_error);
  ms.updated_at = ck_clock_now();
  if (ck_mstate_save(m->state_path, &ms, &err) != CK_OK)
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "agent.managed.persist", CK_S("id", m->id),
           CK_E(err.code, ck_errctx_msg(&err)));
}

static void ck__emit_event(ck__mc *m, ck_managed_state from, ck_err code,
                           const char *reason) {
  ck_wire_msg msg;
  ck_wire_event *e = &msg.u.event;
  ck_err rc;

  if (m->set->ops.send == NULL || m->set->closing)
    return;
  memset(&msg, 0, sizeof msg);
  msg.type = CK_WIRE_EVENT;
  e->kind = code != CK_OK ? CK_WIRE_EVENT_FAILURE : CK_WIRE_EVENT_STATE;
  e->cert_id = m->id;
  e->old_state = ck_managed_state_name(from);
  e->new_state = ck_managed_state_name(m->st);
  e->at = ck_clock_now();
  if (code != CK_OK) {
    e->reason = reason;
    e->code = (int32_t)code;
    e->has_code = true;
    e->attempt = m->attempt;
    e->has_attempt = true;
  }
  if (m->has_fp) {
    e->fingerprint.data = m->fp;
    e->fingerprint.len = 32;
  }
  if ((rc = m->set->ops.send(&msg, m->set->ops.arg)) != CK_OK)
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.managed.event_send",
           CK_S("id", m->id), CK_E(rc, ck_strerror(rc)));
}

/* The one state setter: logs old -> new, checks the new state's
 * invariants, persists stable states and sends the event (kind failure
 * when code != CK_OK, with reason and attempt). */
static void ck__set(ck__mc *m, ck_managed_state to, ck_err code,
                    const char *reason) {
  ck_managed_state from = m->st;

  m->st = to;
  if (code != CK_OK)
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.managed.state", CK_S("id", m->id),
           CK_S("from", ck_managed_state_name(from)),
           CK_S("to", ck_managed_state_name(to)), CK_I("attempt", m->attempt),
           CK_E(code, reason != NULL ? reason : ck_strerror(code)));
  else
    ck_log(CK_LOG_OPS, CK_LOG_INFO, "agent.managed.state", CK_S("id", m->id),
           CK_S("from", ck_managed_state_name(from)),
           CK_S("to", ck_managed_state_name(to)));
  ck__assert_state(m);
  if (ck_managed_state_stable(to))
    ck__persist(m);
  ck__emit_event(m, from, code, reason);
}

/* A step failed: FAILED, retried after a backoff (at least min_delay). */
static void ck__fail(ck__mc *m, ck_err code, const char *reason,
                     int64_t min_delay) {
  int64_t d;

  if (code == CK_OK)
    code = CK_ERR_INTERNAL;
  m->attempt++;
  ck_strlcpy(m->last_error, reason != NULL ? reason : ck_strerror(code),
             sizeof m->last_error);
  d = ck__backoff(m->set, m->attempt);
  if (d < min_delay)
    d = min_delay;
  m->next_at = ck_clock_now() + d;
  m->has_csr_id = 0;
  ck__set(m, CK_MS_FAILED, code, m->last_error);
}

/* ------------------------------------------------------ thread-pool work */

static void ck__run(ck__mc *m);

static void ck__work_cb(uv_work_t *req) {
  ck__work *w = req->data;
  ck__mc *m = w->m;

  switch (w->kind) {
  case CK__W_KEYGEN:
    w->rc = ck_managed_keygen(m->key_spec, m->next_key, &w->err);
    break;
  case CK__W_INSTALL:
    w->rc = ck_deploy_install(&m->dep, w->now, w->fp, &w->bad_pair, &w->err);
    break;
  case CK__W_RELOAD:
    w->rc = ck_deploy_reload(&m->dep, &w->err);
    break;
  case CK__W_VERIFY:
    w->rc = ck_deploy_verify(&m->dep, w->fp, &w->err);
    break;
  case CK__W_ROLLBACK:
    w->rc = ck_deploy_rollback(&m->dep, &w->err);
    break;
  }
}

static void ck__set_unref(ck_managed_set *s);
static void ck__mc_free(ck__mc *m);
static void ck__after_work(uv_work_t *req, int status);

/* Queues kind for m (m->busy until it is done). */
static ck_err ck__queue(ck__mc *m, ck__wkind kind) {
  ck__work *w = calloc(1, sizeof *w);
  int r;

  if (w == NULL)
    return CK_ERR_NOMEM;
  w->m = m;
  w->kind = kind;
  w->now = ck_clock_now();
  w->req.data = w;
  if (kind == CK__W_VERIFY)
    memcpy(w->fp, m->new_fp, 32);
  if ((r = uv_queue_work(m->set->loop, &w->req, ck__work_cb,
                         ck__after_work)) != 0) {
    free(w);
    return ck_err_from_errno(r);
  }
  m->busy = 1;
  m->set->refs++;
  return CK_OK;
}

/* Reads the installed certificate into m (has_fp = 0 when absent or
 * unreadable). */
static ck_err ck__read_current(ck__mc *m, ck_errctx *err) {
  ck_err rc = ck_target_current(&m->dep.files, m->fp, &m->not_before,
                                &m->not_after, err);
  m->has_fp = rc == CK_OK;
  return rc;
}

static void ck__schedule_renewal(ck__mc *m) {
  m->next_at = ck_managed_renewal_time(m->not_before, m->not_after,
                                       m->fraction, m->renew_before,
                                       m->jitter, ck_clock_now(), ck__rnd());
}

static void ck__discard_next(ck__mc *m) {
  unlink(m->next_crt);
  unlink(m->next_roots);
  unlink(m->next_key);
  unlink(m->next_csr);
  m->has_csr_id = 0;
  m->ticket[0] = '\0';
}

/* The new pair is in place and (if configured) served: MONITORING. */
static void ck__done(ck__mc *m) {
  ck_errctx err = CK_ERRCTX_INIT;

  if (ck__read_current(m, &err) != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.managed.read_installed",
           CK_S("id", m->id), CK_E(err.code, ck_errctx_msg(&err)));
    m->has_fp = 0;
  }
  if (m->renew_at > 0 && m->has_fp) /* the profile's window: minus jitter */
    m->next_at = ck__jittered(m->renew_at, m->jitter, m->not_after,
                              ck_clock_now(), ck__rnd());
  else if (m->has_fp)
    ck__schedule_renewal(m);
  else
    m->next_at = ck_clock_now();
  m->renew_at = 0;
  m->attempt = 0;
  m->last_error[0] = '\0';
  ck__discard_next(m);
  ck__set(m, CK_MS_MONITORING, CK_OK, NULL);
}

static void ck__start_rollback(ck__mc *m, ck_err code, const char *reason) {
  ck_err rc;

  m->fail_code = code;
  ck_strlcpy(m->fail_reason, reason, sizeof m->fail_reason);
  if ((rc = ck__queue(m, CK__W_ROLLBACK)) != CK_OK) {
    ck__fail(m, rc, "cannot queue the rollback", 0);
    return;
  }
  ck__set(m, CK_MS_ROLLING_BACK, CK_OK, NULL);
}

static void ck__after_work(uv_work_t *req, int status) {
  ck__work *w = req->data;
  ck__mc *m = w->m;
  ck_managed_set *s = m->set;
  const char *msg = ck_errctx_msg(&w->err);
  char reason[300];
  ck_err rc;

  m->busy = 0;
  if (m->removed) { /* ck_managed_remove: the result is dropped */
    free(w);
    if (m->timer_closed)
      ck__mc_free(m);
    if (s->closing)
      ck__set_unref(s);
    else
      s->refs--;
    return;
  }
  if (s->closing || status == UV_ECANCELED) {
    free(w);
    ck__set_unref(s);
    return;
  }
  s->refs--;
  switch (w->kind) {
  case CK__W_KEYGEN:
    if (w->rc != CK_OK)
      ck__fail(m, w->rc, msg, 0);
    else
      ck__set(m, CK_MS_HAVE_KEY, CK_OK, NULL);
    break;
  case CK__W_INSTALL:
    if (w->rc != CK_OK) {
      int64_t min = 0;
      if (w->bad_pair) { /* can never be installed: renew afresh, later */
        ck__discard_next(m);
        min = CK__REFUSED_MIN_S < s->opts.retry_max ? CK__REFUSED_MIN_S
                                                     : s->opts.retry_max;
      }
      ck__fail(m, w->rc, msg, min);
      break;
    }
    memcpy(m->new_fp, w->fp, 32);
    if ((rc = ck__queue(m, CK__W_RELOAD)) != CK_OK) {
      ck__start_rollback(m, rc, "cannot queue the reload");
      break;
    }
    ck__set(m, CK_MS_RELOADING, CK_OK, NULL);
    break;
  case CK__W_RELOAD:
    if (w->rc != CK_OK) {
      snprintf(reason, sizeof reason, "reload failed: %s", msg);
      ck__start_rollback(m, w->rc, reason);
    } else if (m->verify != NULL) {
      if ((rc = ck__queue(m, CK__W_VERIFY)) != CK_OK)
        ck__start_rollback(m, rc, "cannot queue the served check");
      else
        ck__set(m, CK_MS_VERIFYING, CK_OK, NULL);
    } else {
      ck__done(m);
    }
    break;
  case CK__W_VERIFY:
    if (w->rc != CK_OK) {
      snprintf(reason, sizeof reason, "served certificate check failed: %s",
               msg);
      ck__start_rollback(m, w->rc, reason);
    } else {
      ck__done(m);
    }
    break;
  case CK__W_ROLLBACK:
    if (w->rc != CK_OK && w->rc != CK_ERR_NOENT) {
      snprintf(reason, sizeof reason, "rollback failed: %s (after: %s)", msg,
               m->fail_reason);
      ck__fail(m, w->rc, reason, 0); /* next.crt kept: reinstall later */
      break;
    }
    {
      ck_errctx err = CK_ERRCTX_INIT;
      if (ck__read_current(m, &err) != CK_OK)
        m->has_fp = 0;
    }
    ck__discard_next(m);
    m->attempt++;
    /* NOENT: a first install has no previous pair; the new one stays */
    snprintf(reason, sizeof reason, "%s; %s", m->fail_reason,
             w->rc == CK_OK ? "previous certificate restored"
                            : "no previous certificate to restore");
    ck_strlcpy(m->last_error, reason, sizeof m->last_error);
    m->next_at = ck_clock_now() + ck__backoff(s, m->attempt);
    ck__set(m, CK_MS_MONITORING, m->fail_code, m->last_error);
    break;
  }
  free(w);
  ck__run(m);
}

/* ---------------------------------------------------------------- steps */

/* Each returns CK__NOW (run the next step), CK__WAIT (work or a message
 * will continue), or the epoch second at which to run again. */

static int64_t ck__step_NEED_KEY(ck__mc *m) {
  ck_err rc;

  unlink(m->next_csr); /* a new key gets a new CSR */
  unlink(m->next_roots);
  if ((rc = ck__queue(m, CK__W_KEYGEN)) != CK_OK) {
    ck__fail(m, rc, "cannot queue key generation", 0);
    return CK__NOW;
  }
  ck__set(m, CK_MS_GENERATING_KEY, CK_OK, NULL);
  return CK__WAIT;
}

static int64_t ck__step_GENERATING_KEY(ck__mc *m) {
  (void)m;
  return CK__WAIT;
}

static int64_t ck__step_HAVE_KEY(ck__mc *m) {
  ck__set(m, CK_MS_NEED_CSR, CK_OK, NULL);
  return CK__NOW;
}

/* Sends the csr of next.key (ck_managed_csr_kept); on success m->csr_id is the
 * message id its answer will carry. An unreadable next.key is removed (the
 * retry starts over with a fresh key). */
static ck_err ck__send_csr(ck__mc *m, ck_errctx *err) {
  uint8_t *der = NULL;
  size_t len = 0;
  ck_wire_msg msg;
  ck_err rc;

  if ((rc = ck_managed_csr_kept(m->next_key, m->next_csr, m->cn,
                                (const char *const *)m->sans, m->n_sans, &der,
                                &len, err)) != CK_OK) {
    unlink(m->next_key);
    unlink(m->next_csr);
    return rc;
  }
  memset(&msg, 0, sizeof msg);
  msg.type = CK_WIRE_CSR;
  msg.u.csr.cert_id = m->id;
  msg.u.csr.profile = m->profile;
  msg.u.csr.csr.data = der;
  msg.u.csr.csr.len = len;
  msg.u.csr.reason = m->reason != NULL ? m->reason : "expiring";
  if (m->has_fp) {
    msg.u.csr.replaces.data = m->fp;
    msg.u.csr.replaces.len = 32;
  }
  rc = m->set->ops.send != NULL ? m->set->ops.send(&msg, m->set->ops.arg)
                                : CK_ERR_CLOSED;
  free(der);
  if (rc != CK_OK)
    return ck_failf(err, rc, "cannot send the CSR");
  m->csr_id = msg.id;
  m->has_csr_id = 1;
  return CK_OK;
}

static int64_t ck__step_NEED_CSR(ck__mc *m) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc;

  if ((rc = ck__send_csr(m, &err)) != CK_OK) {
    ck__fail(m, rc, ck_errctx_msg(&err), 0);
    return CK__NOW;
  }
  m->next_at = ck_clock_now() + m->set->opts.submit_timeout;
  ck__set(m, CK_MS_SUBMITTED, CK_OK, NULL);
  return m->next_at;
}

static int64_t ck__step_SUBMITTED(ck__mc *m) {
  char reason[96];
  if (ck_clock_now() < m->next_at)
    return m->next_at;
  snprintf(reason, sizeof reason, "no answer to the CSR within %llds",
           (long long)m->set->opts.submit_timeout);
  ck__fail(m, CK_ERR_TIMEOUT, reason, 0);
  return CK__NOW;
}

/* Waits for the approved `cert` (pushed, or the answer to asking again);
 * at next_at (the coordinator's retry_after, persisted) sends the same CSR
 * again and stays here: the answer is `pending` again (a new retry time),
 * the issued `cert`, or an `error` (FAILED, retried with backoff). No
 * answer within submit_timeout: asks again. */
static int64_t ck__step_PENDING_APPROVAL(ck__mc *m) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc;

  if (ck_clock_now() < m->next_at)
    return m->next_at;
  if ((rc = ck__send_csr(m, &err)) != CK_OK) {
    ck__fail(m, rc, ck_errctx_msg(&err), 0);
    return CK__NOW;
  }
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "agent.managed.pending_ask",
         CK_S("id", m->id), CK_S("ticket", m->ticket));
  m->next_at = ck_clock_now() + m->set->opts.submit_timeout;
  return m->next_at;
}

static int64_t ck__step_HAVE_CERT(ck__mc *m) {
  ck_err rc;
  if ((rc = ck__queue(m, CK__W_INSTALL)) != CK_OK) {
    ck__fail(m, rc, "cannot queue the install", 0);
    return CK__NOW;
  }
  ck__set(m, CK_MS_INSTALLING, CK_OK, NULL);
  return CK__WAIT;
}

static int64_t ck__step_INSTALLING(ck__mc *m) {
  (void)m;
  return CK__WAIT;
}

static int64_t ck__step_RELOADING(ck__mc *m) {
  (void)m;
  return CK__WAIT;
}

static int64_t ck__step_VERIFYING(ck__mc *m) {
  (void)m;
  return CK__WAIT;
}

static int64_t ck__step_ROLLING_BACK(ck__mc *m) {
  (void)m;
  return CK__WAIT;
}

static int64_t ck__step_MONITORING(ck__mc *m) {
  if (!m->renew_now && ck_clock_now() < m->next_at)
    return m->next_at;
  m->reason = m->renew_now ? "command" : m->has_fp ? "expiring" : "missing";
  m->renew_now = 0;
  ck__set(m, CK_MS_NEED_KEY, CK_OK, NULL);
  return CK__NOW;
}

static int64_t ck__step_FAILED(ck__mc *m) {
  if (!m->renew_now && ck_clock_now() < m->next_at)
    return m->next_at;
  if (m->renew_now)
    m->reason = "command";
  m->renew_now = 0;
  /* retry the failed step: install again, re-send the CSR, or start over */
  if (ck__exists(m->next_crt) && ck__exists(m->next_key))
    ck__set(m, CK_MS_HAVE_CERT, CK_OK, NULL);
  else if (ck__exists(m->next_key))
    ck__set(m, CK_MS_NEED_CSR, CK_OK, NULL);
  else
    ck__set(m, CK_MS_NEED_KEY, CK_OK, NULL);
  return CK__NOW;
}

typedef int64_t (*ck__step_fn)(ck__mc *m);

static const ck__step_fn ck__steps[] = {
#define CK__MSTATE_STEP(name, stable) ck__step_##name,
    CK_MANAGED_STATE_MAP(CK__MSTATE_STEP)
#undef CK__MSTATE_STEP
};

static void ck__timer_cb(uv_timer_t *t) { ck__run(t->data); }

/* Runs steps until one waits, then arms the timer for its deadline. */
static void ck__run(ck__mc *m) {
  int64_t when = CK__WAIT, delay;
  int i;

  if (m->set->closing || !m->set->started)
    return;
  for (i = 0; i < CK__MAX_STEPS; i++) {
    when = ck__steps[m->st](m);
    if (when != CK__NOW)
      break;
  }
  if (i == CK__MAX_STEPS) /* a cycle: should not happen; back off */
    when = ck_clock_now() + 60;
  uv_timer_stop(&m->timer);
  if (when == CK__WAIT)
    return;
  delay = when - ck_clock_now();
  if (delay < 0)
    delay = 0;
  if (delay > CK__MAX_TIMER_S)
    delay = CK__MAX_TIMER_S;
  uv_timer_start(&m->timer, ck__timer_cb, (uint64_t)delay * 1000u, 0);
}

/* ------------------------------------------------------------ messages */

static ck__mc *ck__find(const ck_managed_set *s, const char *id) {
  size_t i;
  if (id == NULL)
    return NULL;
  for (i = 0; i < s->n; i++)
    if (strcmp(s->v[i]->id, id) == 0)
      return s->v[i];
  return NULL;
}

static int ck__waiting(const ck__mc *m) {
  return m->st == CK_MS_SUBMITTED || m->st == CK_MS_PENDING_APPROVAL;
}

/* The certificate waiting on the csr with this message id. */
static ck__mc *ck__by_csr_id(const ck_managed_set *s, uint64_t id) {
  size_t i;
  for (i = 0; i < s->n; i++)
    if (s->v[i]->has_csr_id && s->v[i]->csr_id == id && ck__waiting(s->v[i]))
      return s->v[i];
  return NULL;
}

/* When to ask again after `pending`: its retry_after (retry_base when
 * absent), at least CK__PENDING_MIN_S, at most retry_max, plus up to 10%
 * jitter so a fleet does not ask in step. */
static int64_t ck__pending_delay(const ck_managed_set *s,
                                 const ck_wire_pending *p) {
  int64_t d = p->retry_after > 0 ? (int64_t)p->retry_after : s->opts.retry_base;

  if (d < CK__PENDING_MIN_S)
    d = CK__PENDING_MIN_S;
  if (d > s->opts.retry_max)
    d = s->opts.retry_max;
  return d + (int64_t)(ck__rnd() * (double)(d / 10));
}

static void ck__ack(ck_managed_set *s, uint64_t id, const char *detail) {
  ck_wire_msg a;
  if (s->ops.send == NULL)
    return;
  memset(&a, 0, sizeof a);
  a.type = CK_WIRE_ACK;
  a.u.ack.detail = detail;
  a.id = id; /* echoes the cert (0 would get a fresh id) */
  (void)s->ops.send(&a, s->ops.arg);
}

static void ck__on_cert(ck_managed_set *s, ck__mc *m, const ck_wire_msg *msg,
                        int solicited) {
  const ck_wire_cert *c = &msg->u.cert;
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t kspki[32];
  ck_cert *leaf = NULL;
  ck_err rc;

  if ((rc = ck_cert_parse_fields(c->cert.data, c->cert.len, &leaf, &err)) !=
          CK_OK ||
      (rc = ck_managed_key_spki(m->next_key, kspki, &err)) != CK_OK)
    goto bad;
  if (!ck_ct_equal(kspki, ck_cert_get_info(leaf)->spki_sha256, 32)) {
    rc = ck_failf(&err, CK_ERR_KEY_MISMATCH,
                  "the certificate is not for the key of the CSR (next.key)");
    goto bad;
  }
  /* the anchors first: next.crt is what makes HAVE_CERT durable */
  if ((rc = ck_deploy_write_roots(m->next_roots, c->roots.v, c->roots.n,
                                  &err)) != CK_OK ||
      (rc = ck_deploy_write_next(m->next_crt, &c->cert, c->chain.v,
                                 c->chain.n, &err)) != CK_OK)
    goto bad;
  if (c->roots.n > 0)
    ck_log(CK_LOG_OPS, CK_LOG_INFO, "agent.managed.cert_roots",
           CK_S("id", m->id), CK_I("roots", (int64_t)c->roots.n));
  m->renew_at = c->has_renew_at && c->renew_at > 0 ? c->renew_at : 0;
  m->has_csr_id = 0;
  ck__set(m, CK_MS_HAVE_CERT, CK_OK, NULL);
  ck__ack(s, msg->id, "stored");
  ck_cert_free(leaf);
  ck__run(m);
  return;
bad:
  ck_cert_free(leaf);
  if (!solicited) {
    /* an unsolicited cert for another key (an older request): ignore */
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.managed.cert_ignored",
           CK_S("id", m->id), CK_E(rc, ck_errctx_msg(&err)));
    return;
  }
  ck__fail(m, rc, ck_errctx_msg(&err), 0);
  ck__run(m);
}

int ck_managed_on_msg(ck_managed_set *s, const ck_wire_msg *msg) {
  ck__mc *m;

  if (s->closing || !s->started)
    return 0;
  switch (msg->type) {
  case CK_WIRE_CERT:
    if ((m = ck__by_csr_id(s, msg->id)) != NULL) {
      ck__on_cert(s, m, msg, 1);
      return 1;
    }
    m = ck__find(s, msg->u.cert.cert_id);
    if (m == NULL)
      return 0;
    /* a late answer to a request given up on (FAILED) is still welcome
     * when it is for next.key, which the retry would reuse */
    if (!ck__waiting(m) &&
        !(m->st == CK_MS_FAILED && ck__exists(m->next_key) &&
          !ck__exists(m->next_crt))) {
      ck_log(CK_LOG_OPS, CK_LOG_NOTICE, "agent.managed.cert_ignored",
             CK_S("id", m->id), CK_S("state", ck_managed_state_name(m->st)),
             CK_S("why", "no request waiting"));
      return 1;
    }
    ck__on_cert(s, m, msg, 0);
    return 1;
  case CK_WIRE_PENDING:
    if ((m = ck__by_csr_id(s, msg->id)) == NULL)
      return 0;
    ck_strlcpy(m->ticket,
               msg->u.pending.ticket != NULL ? msg->u.pending.ticket : "",
               sizeof m->ticket);
    m->next_at = ck_clock_now() + ck__pending_delay(s, &msg->u.pending);
    if (m->st == CK_MS_SUBMITTED)
      ck__set(m, CK_MS_PENDING_APPROVAL, CK_OK, NULL);
    else
      ck__persist(m); /* a new ticket */
    ck__run(m);
    return 1;
  case CK_WIRE_ERROR:
    if ((m = ck__by_csr_id(s, msg->id)) == NULL)
      return 0;
    /* refused for what it is (policy, a rejected request, a bad CSR): the
     * retry starts over with a new key and CSR, not the same one again */
    if (msg->u.error.code == CK_ERR_DENIED ||
        msg->u.error.code == CK_ERR_BAD_CSR) {
      unlink(m->next_key);
      unlink(m->next_csr);
      m->ticket[0] = '\0';
    }
    ck__fail(m, msg->u.error.code != 0 ? (ck_err)msg->u.error.code
                                       : CK_ERR_INTERNAL,
             msg->u.error.message,
             msg->u.error.has_retry_after ? msg->u.error.retry_after : 0);
    ck__run(m);
    return 1;
  default:
    return 0;
  }
}

ck_err ck_managed_renew(ck_managed_set *s, const char *id, ck_errctx *err) {
  ck__mc *m = ck__find(s, id);

  if (m == NULL)
    return ck_failf(err, CK_ERR_NOT_FOUND, "no managed certificate '%s'",
                    id != NULL ? id : "");
  if (m->st == CK_MS_PENDING_APPROVAL) { /* ask again now (same CSR) */
    m->next_at = ck_clock_now();
    ck__run(m);
    return CK_OK;
  }
  if (m->st != CK_MS_MONITORING && m->st != CK_MS_FAILED)
    return ck_failf(err, CK_ERR_BUSY, "%s: a renewal is under way (%s)", id,
                    ck_managed_state_name(m->st));
  m->renew_now = 1;
  ck__run(m);
  return CK_OK;
}

void ck_managed_file_changed(ck_managed_set *s, const char *path) {
  size_t i;

  for (i = 0; i < s->n && !s->closing; i++) {
    ck__mc *m = s->v[i];
    ck_errctx err = CK_ERRCTX_INIT;
    uint8_t old[32];
    int had = m->has_fp;

    if (strcmp(m->cert_file, path) != 0 || m->st != CK_MS_MONITORING ||
        m->busy)
      continue;
    memcpy(old, m->fp, 32);
    if (ck__read_current(m, &err) != CK_OK) {
      ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.managed.external_change",
             CK_S("id", m->id), CK_S("path", path),
             CK_E(err.code, ck_errctx_msg(&err)));
      m->next_at = ck_clock_now(); /* renew now */
    } else if (had && memcmp(old, m->fp, 32) == 0) {
      continue; /* same certificate (our own install, a touch) */
    } else {
      ck_log(CK_LOG_OPS, CK_LOG_NOTICE, "agent.managed.external_change",
             CK_S("id", m->id), CK_S("path", path));
      ck__schedule_renewal(m);
    }
    ck__persist(m);
    ck__run(m);
  }
}

void ck_managed_set_recheck(ck_managed_set *s) {
  size_t i;
  for (i = 0; i < s->n; i++)
    if (!s->v[i]->busy)
      ck__run(s->v[i]);
}

int ck_managed_get(const ck_managed_set *s, const char *id, int64_t *next_at) {
  const ck__mc *m = ck__find(s, id);
  if (m == NULL)
    return -1;
  if (next_at != NULL)
    *next_at = m->next_at;
  return (int)m->st;
}

size_t ck_managed_count(const ck_managed_set *s) { return s->n; }

const char *ck_managed_cert_file(const ck_managed_set *s, size_t i) {
  return i < s->n ? s->v[i]->cert_file : NULL;
}

const char *ck_managed_id(const ck_managed_set *s, size_t i) {
  return i < s->n ? s->v[i]->id : NULL;
}

int ck_managed_leaf_file(const ck_managed_set *s, size_t i,
                         const char *path) {
  const char *f[2];
  if (i >= s->n || path == NULL)
    return 0;
  f[0] = s->v[i]->cert_file;
  f[1] = s->v[i]->fullchain_file;
  for (size_t k = 0; k < 2; k++)
    if (f[k] != NULL && strcmp(f[k], path) == 0)
      return 1;
  return 0;
}

/* ------------------------------------------------------- set, start-up */

ck_err ck_managed_set_new(uv_loop_t *loop, const char *state_dir,
                          const ck_managed_ops *ops,
                          const ck_managed_opts *opts, ck_managed_set **out,
                          ck_errctx *err) {
  ck_managed_set *s = calloc(1, sizeof *s);

  *out = NULL;
  if (s == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  s->loop = loop;
  if (ops != NULL)
    s->ops = *ops;
  if (opts != NULL)
    s->opts = *opts;
  if (s->opts.retry_base <= 0)
    s->opts.retry_base = 60;
  if (s->opts.retry_max <= 0)
    s->opts.retry_max = 6 * 3600;
  if (s->opts.retry_max < s->opts.retry_base)
    s->opts.retry_max = s->opts.retry_base;
  if (s->opts.submit_timeout <= 0)
    s->opts.submit_timeout = 600;
  s->dir = ck__dup(state_dir);
  s->trust = s->dir != NULL ? ck__join(s->dir, "ca.pem") : NULL;
  if (s->trust == NULL) {
    free(s->dir);
    free(s);
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  }
  *out = s;
  return CK_OK;
}

static void ck__mc_free(ck__mc *m) {
  size_t i;
  if (m == NULL)
    return;
  for (i = 0; i < m->n_sans; i++)
    free(m->sans[i]);
  free(m->sans);
  if (m->has_reload)
    ck_reload_free(&m->reload);
  free(m->id);
  free(m->profile);
  free(m->cn);
  free(m->key_spec);
  free(m->cert_file);
  free(m->key_file);
  free(m->chain_file);
  free(m->fullchain_file);
  free(m->owner);
  free(m->group);
  free(m->verify);
  free(m->verify_sni);
  free(m->dir);
  free(m->state_path);
  free(m->next_key);
  free(m->next_crt);
  free(m->journal);
  free(m->next_csr);
  free(m->next_roots);
  free(m);
}

static int ck__id_ok(const char *id) {
  size_t i, n = id != NULL ? strlen(id) : 0;
  if (n == 0 || n > 64 || id[0] == '.')
    return 0;
  for (i = 0; i < n; i++) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

/* Copies c into a new ck__mc with its paths (no file access). */
static ck_err ck__mc_new(ck_managed_set *s, const ck_managed_conf *c,
                         ck__mc **out, ck_errctx *err) {
  ck__mc *m = NULL;
  char *mdir = NULL;
  size_t i;
  ck_err rc = CK_OK;

  *out = NULL;
  if (!ck__id_ok(c->id))
    return ck_failf(err, CK_ERR_INVAL, "managed certificate id '%s': use "
                    "1..64 of [A-Za-z0-9._-]", c->id != NULL ? c->id : "");
  if (c->profile == NULL || c->cert_file == NULL || c->key_file == NULL ||
      c->n_sans == 0)
    return ck_failf(err, CK_ERR_CONFIG, "[cert:%s]: profile, sans, cert_file "
                    "and key_file are required", c->id);
  if ((m = calloc(1, sizeof *m)) == NULL ||
      (m->sans = calloc(c->n_sans, sizeof *m->sans)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  m->set = s;
  m->n_sans = c->n_sans;
  for (i = 0; i < c->n_sans; i++)
    if ((m->sans[i] = ck__dup(c->sans[i])) == NULL)
      rc = CK_ERR_NOMEM;
  m->id = ck__dup(c->id);
  m->profile = ck__dup(c->profile);
  m->cn = ck__dup(c->cn);
  m->key_spec = ck__dup(c->key != NULL ? c->key : "ec-p256");
  m->cert_file = ck__dup(c->cert_file);
  m->key_file = ck__dup(c->key_file);
  m->chain_file = ck__dup(c->chain_file);
  m->fullchain_file = ck__dup(c->fullchain_file);
  m->owner = ck__dup(c->owner);
  m->group = ck__dup(c->group);
  m->verify = ck__dup(c->verify);
  m->verify_sni = ck__dup(c->verify_sni);
  if ((mdir = ck__join(s->dir, "managed")) != NULL)
    m->dir = ck__join(mdir, c->id);
  if (m->dir != NULL) {
    m->state_path = ck__join(m->dir, CK_MSTATE_FILE);
    m->next_key = ck__join(m->dir, "next.key");
    m->next_crt = ck__join(m->dir, "next.crt");
    m->journal = ck__join(m->dir, "journal");
    m->next_csr = ck__join(m->dir, "next.csr");
    m->next_roots = ck__join(m->dir, "next.roots");
  }
  if (rc != CK_OK || m->id == NULL || m->profile == NULL ||
      m->key_spec == NULL || m->cert_file == NULL || m->key_file == NULL ||
      (c->cn != NULL && m->cn == NULL) || m->journal == NULL ||
      m->state_path == NULL || m->next_key == NULL || m->next_crt == NULL ||
      m->next_csr == NULL || m->next_roots == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  if (c->reload != NULL && strcmp(c->reload, "none") != 0) {
    if ((rc = ck_reload_parse(c->reload, &m->reload, err)) != CK_OK) {
      ck_failf(err, rc, "[cert:%s] reload", c->id);
      goto out;
    }
    m->has_reload = 1;
  }
  m->fraction = c->renew_fraction > 0.0 && c->renew_fraction < 1.0
                    ? c->renew_fraction
                    : 1.0 / 3.0;
  m->renew_before = c->renew_before > 0 ? c->renew_before : 0;
  m->jitter = c->jitter < 0 ? 0 : c->jitter == 0 ? 3600 : c->jitter;
  m->dep.files.cert_file = m->cert_file;
  m->dep.files.key_file = m->key_file;
  m->dep.files.chain_file = m->chain_file;
  m->dep.files.fullchain_file = m->fullchain_file;
  m->dep.files.owner = m->owner;
  m->dep.files.group = m->group;
  m->dep.files.cert_mode = c->mode;
  m->dep.files.key_mode = c->key_mode;
  m->dep.files.journal = m->journal;
  m->dep.reload = m->has_reload ? &m->reload : NULL;
  m->dep.reload_timeout_ms =
      (unsigned)((c->reload_timeout > 0 ? c->reload_timeout : 30) * 1000);
  m->dep.verify = m->verify;
  m->dep.verify_sni = m->verify_sni;
  m->dep.verify_timeout_ms =
      (unsigned)((c->verify_timeout > 0 ? c->verify_timeout : 30) * 1000);
  m->dep.trust_pem = s->trust;
  m->dep.next_key = m->next_key;
  m->dep.next_crt = m->next_crt;
  m->dep.next_roots = m->next_roots;
  *out = m;
  m = NULL;
out:
  free(mdir);
  ck__mc_free(m);
  return rc;
}

/* Sets the state restored from disk (no event: nothing happened). */
static void ck__restore(ck__mc *m, ck_managed_state st, const char *why) {
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "agent.managed.restore", CK_S("id", m->id),
         CK_S("state", ck_managed_state_name(st)), CK_S("why", why));
  m->st = st;
}

/* Start-up: recover the files, load the persisted state, roll back what
 * was in progress (see managed.h). */
static ck_err ck__load(ck__mc *m, ck_errctx *err) {
  ck_target_recovery rec = CK_TARGET_CLEAN;
  ck_errctx e2 = CK_ERRCTX_INIT;
  ck_mstate ms;
  int st;
  ck_err rc;

  if ((rc = ck_fs_mkdir_p(m->dir, 0700, err)) != CK_OK)
    return rc;
  if ((rc = ck_target_recover(&m->dep.files, &rec, err)) != CK_OK) {
    ck_failf(err, rc, "[cert:%s] recovering the install", m->id);
    return rc;
  }
  if (rec == CK_TARGET_RESTORED)
    ck_log(CK_LOG_OPS, CK_LOG_NOTICE, "agent.managed.recovered",
           CK_S("id", m->id),
           CK_S("what", "interrupted install: previous pair restored"));
  (void)ck__read_current(m, &e2);

  rc = ck_mstate_load(m->state_path, &ms, &e2);
  st = rc == CK_OK ? ck_managed_state_from_name(ms.state) : -1;
  if (rc != CK_OK && rc != CK_ERR_NOENT)
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.managed.state_unreadable",
           CK_S("id", m->id), CK_E(rc, ck_errctx_msg(&e2)));
  if (st >= 0) {
    m->attempt = ms.attempt;
    ck_strlcpy(m->last_error, ms.last_error, sizeof m->last_error);
    ck_strlcpy(m->ticket, ms.ticket, sizeof m->ticket);
    m->next_at = ms.next_renewal;
  }
  /* in-progress names are never written, but map them as the design says */
  if (st == CK_MS_GENERATING_KEY || st == CK_MS_HAVE_KEY)
    st = CK_MS_NEED_KEY;
  else if (st == CK_MS_INSTALLING || st == CK_MS_RELOADING ||
           st == CK_MS_VERIFYING || st == CK_MS_ROLLING_BACK)
    st = CK_MS_HAVE_CERT;

  switch (st) {
  case CK_MS_SUBMITTED:
  case CK_MS_NEED_CSR:
    if (ck__exists(m->next_key)) {
      ck__restore(m, CK_MS_NEED_CSR, "re-sending the CSR of next.key");
      m->reason = "restart";
      return CK_OK;
    }
    break;
  case CK_MS_PENDING_APPROVAL:
    if (ck__exists(m->next_key)) {
      if (m->next_at <= 0) /* written before retry times were kept */
        m->next_at = ck_clock_now();
      m->reason = "restart";
      ck__restore(m, CK_MS_PENDING_APPROVAL,
                  "waiting for approval: asks again with next.csr");
      return CK_OK;
    }
    break;
  case CK_MS_HAVE_CERT: {
    uint8_t nfp[32];
    if (!ck__exists(m->next_crt) || !ck__exists(m->next_key))
      break;
    if (m->has_fp && ck_deploy_read_next(m->next_crt, nfp, NULL, NULL, NULL,
                                         &e2) == CK_OK &&
        memcmp(nfp, m->fp, 32) == 0) {
      /* died in RELOADING/VERIFYING/ROLLING_BACK: previous pair back */
      ck_errctx e3 = CK_ERRCTX_INIT;
      rc = ck_target_rollback(&m->dep.files, &e3);
      ck_log(CK_LOG_OPS, rc == CK_OK ? CK_LOG_NOTICE : CK_LOG_WARN,
             "agent.managed.recovered", CK_S("id", m->id),
             CK_S("what", "unverified install rolled back"),
             CK_S("result", rc == CK_OK ? "ok" : ck_errctx_msg(&e3)));
      (void)ck__read_current(m, &e2);
    }
    ck__restore(m, CK_MS_HAVE_CERT, "installing next.crt");
    return CK_OK;
  }
  case CK_MS_FAILED:
    if (m->attempt == 0)
      m->attempt = 1;
    if (m->next_at <= 0)
      m->next_at = ck_clock_now();
    ck__restore(m, CK_MS_FAILED, "retry pending");
    return CK_OK;
  case CK_MS_MONITORING:
    if (m->has_fp) {
      if (!(ms.has_fingerprint && memcmp(ms.fingerprint, m->fp, 32) == 0 &&
            m->next_at > 0))
        ck__schedule_renewal(m); /* replaced behind our back */
      ck__restore(m, CK_MS_MONITORING, "certificate installed");
      return CK_OK;
    }
    break;
  default:
    break;
  }
  /* no usable state: monitor what is installed, or renew at once */
  unlink(m->next_crt);
  unlink(m->next_roots);
  m->ticket[0] = '\0';
  if (m->has_fp) {
    ck__schedule_renewal(m);
    ck__restore(m, CK_MS_MONITORING, "certificate installed");
  } else {
    m->next_at = ck_clock_now();
    ck__restore(m, CK_MS_MONITORING, "no certificate installed: renew now");
  }
  return CK_OK;
}

ck_err ck_managed_add(ck_managed_set *s, const ck_managed_conf *c,
                      ck_errctx *err) {
  ck__mc *m = NULL, **nv;
  ck_err rc;

  if (ck__find(s, c->id) != NULL)
    return ck_failf(err, CK_ERR_EXIST, "managed certificate '%s' twice",
                    c->id);
  if ((rc = ck__mc_new(s, c, &m, err)) != CK_OK)
    return rc;
  if ((rc = ck__load(m, err)) != CK_OK)
    goto out;
  if ((nv = realloc(s->v, (s->n + 1) * sizeof *nv)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  s->v = nv;
  uv_timer_init(s->loop, &m->timer);
  m->timer.data = m;
  s->v[s->n++] = m;
  if (s->started) /* added while running (agent/run/assign.h) */
    ck__run(m);
  m = NULL;
out:
  ck__mc_free(m);
  return rc;
}

static void ck__removed_closed(uv_handle_t *h) {
  ck__mc *m = h->data;

  m->timer_closed = 1;
  if (!m->busy)
    ck__mc_free(m);
}

ck_err ck_managed_remove(ck_managed_set *s, const char *id, ck_errctx *err) {
  ck__mc *m = ck__find(s, id);
  size_t i;

  if (m == NULL)
    return ck_failf(err, CK_ERR_NOT_FOUND, "no managed certificate '%s'",
                    id != NULL ? id : "");
  if (s->closing)
    return ck_failf(err, CK_ERR_CLOSED, "stopping");
  for (i = 0; i < s->n && s->v[i] != m; i++)
    ;
  memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof *s->v);
  s->n--;
  ck_log(CK_LOG_OPS, CK_LOG_NOTICE, "agent.managed.removed",
         CK_S("id", m->id), CK_S("state", ck_managed_state_name(m->st)),
         CK_S("files", "kept"));
  m->removed = 1;
  uv_timer_stop(&m->timer);
  uv_close((uv_handle_t *)&m->timer, ck__removed_closed);
  return CK_OK;
}

void ck_managed_set_start(ck_managed_set *s) {
  size_t i;
  s->started = 1;
  for (i = 0; i < s->n; i++)
    ck__run(s->v[i]);
}

static void ck__set_free(ck_managed_set *s) {
  size_t i;
  for (i = 0; i < s->n; i++)
    ck__mc_free(s->v[i]);
  free(s->v);
  free(s->dir);
  free(s->trust);
  free(s);
}

static void ck__set_unref(ck_managed_set *s) {
  if (--s->refs == 0)
    ck__set_free(s);
}

static void ck__timer_closed(uv_handle_t *h) {
  ck__mc *m = h->data;
  ck__set_unref(m->set);
}

void ck_managed_set_close(ck_managed_set *s) {
  size_t i;

  if (s == NULL || s->closing)
    return;
  s->closing = 1;
  s->refs++; /* held while closing the timers */
  for (i = 0; i < s->n; i++) {
    s->refs++;
    uv_close((uv_handle_t *)&s->v[i]->timer, ck__timer_closed);
  }
  ck__set_unref(s);
}
