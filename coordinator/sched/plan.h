/* plan.h — the scheduler's decisions, pure: no store, no clock, no I/O.
 *
 * The runtime (sched.c) reads the estate and the scheduler's durable state
 * into an array of ck_sched_item, asks ck_sched_plan_run what to do at time
 * `now`, and carries the answers out (store writes, agent commands,
 * notices). The simulation test drives the very same functions with a fake
 * clock through hundreds of days, which is why nothing here reads the time
 * or touches the store.
 *
 * Rules (docs/notices.md "How the scheduler decides"):
 *   - superseded: a certificate with a successor — another active one with
 *     the same subject, SANs and key type that expires later — needs
 *     nothing more; the renewal is recorded once.
 *   - renewal: an agent-managed certificate is renewed at renew_at plus a
 *     per-certificate jitter (a hash of its fingerprint, so every restart
 *     agrees) and re-triggered every `retry` seconds while no successor
 *     appears. Candidates are taken soonest expiry first while the rate
 *     window allows (at most `rate` triggers in any 60 seconds).
 *   - incident: any certificate without a successor once half of the time
 *     between renew_at and not_after has passed ("late"), raised once.
 *   - notice: certificates not under automation (and automated ones too
 *     when notify_automated) get the most urgent cadence step reached,
 *     once per step. */
#ifndef CK_COORD_SCHED_PLAN_H
#define CK_COORD_SCHED_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/err.h"

#define CK_SCHED_CADENCE_MAX 16
#define CK_SCHED_RATE_MAX 100000 /* renewals per minute, upper bound */

/* Who renews a certificate. */
typedef enum ck_sched_kind {
  CK_SCHED_AGENT = 0, /* issued here and installed by an agent: the
                         scheduler triggers its renewal */
  CK_SCHED_CLIENT,    /* issued here under a profile renewed by its own
                         client (EST, ACME: [sched] client_profiles) */
  CK_SCHED_MANUAL,    /* issued here, renewed by a person (REST/CLI) */
  CK_SCHED_UNMANAGED, /* discovered, from another CA */
  CK_SCHED_KIND__MAX
} ck_sched_kind;

/* "agent", "client", "manual", "unmanaged" (static), "?" out of range. */
const char *ck_sched_kind_name(ck_sched_kind k);

/* 1 when certificates of kind k renew without a person. */
int ck_sched_kind_automated(ck_sched_kind k);

/* Notice cadence: seconds before expiry, strictly descending. */
typedef struct ck_sched_cadence {
  size_t n;
  int64_t before[CK_SCHED_CADENCE_MAX];
} ck_sched_cadence;

/* Parses "90d,30d,7d,1d" (comma or space separated durations, any order,
 * duplicates merged) into *out, sorted descending. CK_ERR_PARSE for a bad
 * duration, CK_ERR_RANGE for none, more than CK_SCHED_CADENCE_MAX or a
 * value outside 1 minute..3650 days; err names the item. */
ck_err ck_sched_cadence_parse(const char *text, ck_sched_cadence *out,
                              ck_errctx *err);

/* The default cadence: 90, 30, 7 and 1 days. */
void ck_sched_cadence_default(ck_sched_cadence *out);

/* The most urgent step reached at now for a certificate expiring at
 * not_after: the index i of the smallest before[i] with now >= not_after -
 * before[i]; -1 when no step is reached yet. An expired certificate gives
 * the last step. */
int ck_sched_cadence_step(const ck_sched_cadence *c, int64_t not_after,
                          int64_t now);

/* Exact sliding-window rate limit: at most cap events in any window of
 * `window` seconds. The caller owns the struct; ck_sched_rate_free. */
typedef struct ck_sched_rate {
  int64_t *ring; /* times of the last cap events */
  size_t cap, head, n;
  int64_t window;
} ck_sched_rate;

/* cap 1..CK_SCHED_RATE_MAX events per window seconds (> 0). CK_ERR_RANGE,
 * CK_ERR_NOMEM. */
ck_err ck_sched_rate_init(ck_sched_rate *r, size_t cap, int64_t window);
void ck_sched_rate_free(ck_sched_rate *r);
/* How many events may happen at now. */
size_t ck_sched_rate_available(const ck_sched_rate *r, int64_t now);
/* Records one event at now if allowed (time never goes backwards for the
 * limiter: an earlier now counts as the latest time seen). Returns 1 when
 * recorded, 0 when the window is full. */
int ck_sched_rate_take(ck_sched_rate *r, int64_t now);

/* Tunables of the decisions. */
typedef struct ck_sched_policy {
  int64_t jitter;       /* renewals spread over [renew_at, renew_at +
                           min(jitter, window/4)) */
  int64_t retry;        /* seconds between triggers of one certificate */
  int notify_automated; /* notices for automated certificates too */
  ck_sched_cadence cadence;
} ck_sched_policy;

/* One certificate as the planner sees it. The runtime fills the inputs;
 * ck_sched_plan_run fills the outputs. */
typedef struct ck_sched_item {
  /* inputs: the certificate */
  const char *fp;     /* fingerprint (hex), borrowed */
  uint64_t name_hash; /* ck_sched_name_hash(subject, sans, key_type) */
  int64_t not_before, not_after;
  int64_t renew_at; /* when its profile's renewal window opens */
  ck_sched_kind kind;
  /* inputs: the scheduler's durable state */
  int64_t triggered_at; /* last renewal trigger, 0 none */
  int incident_raised;  /* an incident exists for it */
  int noticed_step;     /* most urgent cadence step already noticed, -1
                           none (steps only go up in urgency) */
  const ck_sched_cadence *cadence; /* its owner's or profile's cadence,
                                      NULL = the policy's */
  /* outputs */
  int superseded;   /* a successor exists (index in succ) */
  size_t succ;      /* the successor's index when superseded */
  int renew;        /* trigger its renewal now */
  int renew_wanted; /* due, but the rate window was full */
  int incident;     /* raise the late-renewal incident now */
  int notice_step;  /* cadence step to notice now, -1 none */
} ck_sched_item;

/* Hash identifying "the same certificate, renewed": FNV-1a 64 of subject,
 * SANs and key type. */
uint64_t ck_sched_name_hash(const char *subject, const char *sans,
                            const char *key_type);

/* When the scheduler triggers the renewal of fp: renew_at plus
 * hash(fp) mod min(jitter, (not_after - renew_at) / 4). */
int64_t ck_sched_renew_due(const char *fp, int64_t renew_at, int64_t not_after,
                           int64_t jitter);

/* When a renewal is late: halfway between renew_at and not_after. */
int64_t ck_sched_late_at(int64_t renew_at, int64_t not_after);

/* Working memory of ck_sched_plan_run, kept between calls by callers that
 * plan often (the simulation, the runtime); zero it before first use and
 * release it with ck_sched_scratch_free. */
typedef struct ck_sched_scratch {
  void *order;
  size_t *slot;
  size_t order_cap, slot_cap;
} ck_sched_scratch;
void ck_sched_scratch_free(ck_sched_scratch *scr);

/* Decides for every item at now (see the rules above), taking renewal
 * tokens from rate (NULL: unlimited); scr may be NULL (memory is then
 * allocated and freed in the call). Returns the number of renewals
 * triggered, or -1 on allocation failure (then nothing is decided). */
long ck_sched_plan_run(const ck_sched_policy *p, ck_sched_rate *rate,
                       ck_sched_item *v, size_t n, int64_t now,
                       ck_sched_scratch *scr);

#endif
