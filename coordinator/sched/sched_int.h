/* sched_int.h — internals shared by the scheduler's files: the settings,
 * the ck_sched struct, the document kinds and the functions one file
 * calls in another. Not for use outside coordinator/sched/. */
#ifndef CK_COORD_SCHED_SCHED_INT_H
#define CK_COORD_SCHED_SCHED_INT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "coordinator/sched/sched.h"

/* Document kinds (docs/notices.md "What is stored"). */
#define CK_SCHED_DOC_RENEW "sched.renew"       /* a triggered renewal */
#define CK_SCHED_DOC_RENEWAL "sched.renewal"   /* a renewal seen (KPIs) */
#define CK_SCHED_DOC_INCIDENT "sched.incident" /* a late renewal raised */
#define CK_SCHED_DOC_ITEM "sched.item"         /* a notice that is due */
#define CK_SCHED_DOC_DELIVERY "sched.delivery" /* one message to send */
#define CK_SCHED_DOC_MANAGED "sched.managed"   /* fp -> agent, cert id */
#define CK_SCHED_DOC_CURSOR "sched.cursor"     /* audit events read */

#define CK_SCHED_ACTOR "system:scheduler"

/* Per-owner or per-profile overrides ([notices-owner:NAME],
 * [notices-profile:NAME]). */
typedef struct ck__sched_ovr {
  char *name;
  int has_cadence;
  ck_sched_cadence cadence;
  char *secret; /* webhook HMAC key (owner sections), NULL none */
  size_t secret_len;
} ck__sched_ovr;

typedef struct ck__sched_opts {
  int enabled;
  int64_t tick;           /* seconds */
  int64_t rate;           /* renewals per minute */
  int64_t horizon;        /* scan certificates expiring within */
  char **client_profiles; /* renewed by their own clients (EST, ACME) */
  size_t nclient;
  ck_sched_policy pol; /* jitter, retry, cadence, notify_automated */
  /* notices */
  int notices;        /* enabled */
  int digest;         /* daily digests (else one message per notice) */
  int64_t digest_max; /* certificates per digest message */
  int64_t retry_base, retry_cap, retry_max, lease;
  int64_t workers;
  char *smtp_url, *smtp_from, *smtp_user, *smtp_cacert;
  char *smtp_password; /* from smtp_password_file; wiped at free */
  int smtp_tls;        /* 0 none, 1 try, 2 all (CURLUSESSL_*) */
  int64_t smtp_timeout, webhook_timeout;
  char *secret; /* global webhook HMAC key, NULL none */
  size_t secret_len;
  char *fallback_email, *fallback_webhook;
  ck__sched_ovr *owners, *profiles;
  size_t nowners, nprofiles;
} ck__sched_opts;

struct ck_sched {
  ck_coord_rt *rt;
  ck__sched_opts o;
  uv_timer_t timer;
  uv_work_t work;
  int busy;    /* a scan is on the pool (loop thread) */
  int closing; /* loop thread */
  ck_sched_rate rate;
  /* what earlier scans learnt (scan thread only: one scan at a time) */
  struct ck__sched_seen *seen;
  int64_t audit_seq; /* audit read up to this event; -1 until loaded */
  /* status and worker control */
  uv_mutex_t mu;
  uv_cond_t cond;
  ck_sched_status st;
  int stop;           /* workers: leave (under mu) */
  int kick;           /* workers: new deliveries (under mu) */
  uv_mutex_t scan_mu; /* one scan at a time (timer and tick_now) */
  uv_thread_t *threads;
  size_t nthreads;
};

ck_err ck__sched_opts_load(const ck_config *cfg, ck__sched_opts *o,
                           ck_errctx *err);
void ck__sched_opts_clear(ck__sched_opts *o);
/* The cadence for a certificate of owner/profile (owner wins). */
const ck_sched_cadence *ck__sched_cadence_for(const ck__sched_opts *o,
                                              const char *owner,
                                              const char *profile);
/* The webhook key for owner (its own, else the global one; NULL none). */
const char *ck__sched_secret_for(const ck__sched_opts *o, const char *owner,
                                 size_t *len);

/* The scan (sched_scan.c): one tick's reads, decisions and records. */
ck_err ck__sched_scan(ck_sched *s, int64_t now, ck_errctx *err);
void ck__sched_seen_free(struct ck__sched_seen *seen);

/* Pending notice items -> deliveries (notice.c). */
ck_err ck__notice_queue(ck_sched *s, int64_t now, ck_errctx *err);

/* Delivery workers (deliver.c). */
void ck__deliver_main(void *arg);

/* Adds d to a status counter under the mutex. */
void ck__sched_count(ck_sched *s, int64_t *field, int64_t d);

#endif
