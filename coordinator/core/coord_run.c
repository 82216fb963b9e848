/* coord_run.c — `certkeeper-coordinator run`: opens the data directory and
 * serves every service on one libuv loop until SIGTERM/SIGINT.
 *
 * Start-up order: settings and logging, the store (its writer thread),
 * CAs and profiles, validation (OCSP responders, first CRLs), then
 * listeners: plain HTTP (health, CA certificates, OCSP, CRLs),
 * HTTPS (REST API), the agent gateway. /healthz answers 200 only once all
 * are listening. SIGTERM stops accepting, lets in-flight requests finish
 * (bounded by [coordinator] shutdown_grace), then closes the store, which
 * commits everything queued. SIGHUP reloads [log], the profiles and the
 * HTTPS TLS context (EST IDevID anchors), which EST fleet changes also
 * rebuild (rt.https_trust_reload). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto/tls.h"
#include "common/net/conn.h"
#include "common/net/http.h"
#include "common/net/tls.h"
#include "common/util/log.h"
#include "common/util/log_config.h"
#include "coordinator/ca/ca.h"
#include "coordinator/core/coord_rt.h"
#include "coordinator/gateway/gateway.h"
#include "coordinator/http/rest.h"
#include "coordinator/http/svc_ca.h"
#include "coordinator/sched/sched.h"
#include "coordinator/est/est.h"
#include "coordinator/http/svc_est.h"
#include "coordinator/acme/acme.h"
#include "coordinator/http/svc_acme.h"
#include "coordinator/validation/validation.h"
#include "platforms/notify.h" /* systemd readiness (issue 9) */
#include "coordinator/workflow/profile_cache.h"
#include "coordinator/workflow/revoke_plan.h"
#include "coordinator/workflow/request.h"

typedef struct run_state {
  ck_coord_rt rt;
  ck_coord_overrides ov;     /* command-line overrides, kept for SIGHUP */
  ck_http_server *http;
  ck_http_server *https;
  ck_listener *https_l;
  ck_tls_ctx *tls;
  ck_tls_ctx *tls_https; /* HTTPS: any client certificate purpose, plus the
                            EST fleets' IDevID anchors (est/tls_trust.c);
                            replaced on the loop only (take_https_tls) */
  /* HTTPS trust rebuilt off the loop (rt.https_trust_reload): the newest
   * build waits in tls_next until the loop's next accept takes it. */
  pthread_mutex_t tls_lock;  /* guards tls_next and the generations */
  ck_tls_ctx *tls_next;      /* owned; NULL none */
  uint64_t tls_gen_seq;      /* last generation handed out */
  uint64_t tls_gen;          /* generation of tls_https */
  uint64_t tls_next_gen;     /* generation of tls_next */
  ck_gateway *gw;
  uv_signal_t sigterm, sigint, sighup;
  uv_timer_t grace;
  int closing;  /* servers still closing */
  int stopped;
} run_state;

static void on_https_handshake(ck_conn *c, ck_err status, const ck_errctx *err,
                               void *arg) {
  run_state *st = arg;
  ck_errctx e2 = CK_ERRCTX_INIT;

  if (status != CK_OK) {
    ck_log(CK_LOG_SEC, CK_LOG_INFO, "https.handshake.failed",
           CK_E(status, err ? ck_errctx_msg(err) : ""));
    return;
  }
  if (st->rt.draining) {
    ck_conn_close(c, NULL);
    return;
  }
  ck_http_server_attach(st->https, c, &e2);
}

/* Loop only: installs a context rebuilt off the loop, if any, and returns
 * the current one. The replaced context is released here; connections
 * that use it hold their own reference (ck_tls_session). */
static ck_tls_ctx *take_https_tls(run_state *st) {
  ck_tls_ctx *old = NULL;

  pthread_mutex_lock(&st->tls_lock);
  if (st->tls_next != NULL) {
    old = st->tls_https;
    st->tls_https = st->tls_next;
    st->tls_gen = st->tls_next_gen;
    st->tls_next = NULL;
  }
  pthread_mutex_unlock(&st->tls_lock);
  ck_tls_ctx_free(old);
  return st->tls_https;
}

static void on_https_accept(ck_listener *l, ck_conn *c) {
  run_state *st = ck_listener_data(l);
  ck_errctx err = CK_ERRCTX_INIT;

  if (ck_tls_conn_wrap(c, take_https_tls(st), CK_TLS_SERVER, on_https_handshake, st, &err) != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "https.accept.failed", CK_E(err.code, ck_errctx_msg(&err)));
    ck_conn_close(c, NULL);
  }
}

static void close_signals(run_state *st) {
  uv_close((uv_handle_t *)&st->sigterm, NULL);
  uv_close((uv_handle_t *)&st->sigint, NULL);
  uv_close((uv_handle_t *)&st->sighup, NULL);
  uv_close((uv_handle_t *)&st->grace, NULL);
}

static void on_server_closed(void *arg) {
  run_state *st = arg;

  if (--st->closing == 0 && !st->stopped) {
    st->stopped = 1;
    uv_timer_stop(&st->grace);
    close_signals(st);
  }
}

static void on_grace(uv_timer_t *t) {
  run_state *st = t->data;

  ck_log(CK_LOG_OPS, CK_LOG_WARN, "coordinator.shutdown.forced",
         CK_I("still_closing", st->closing));
  st->stopped = 1;
  close_signals(st);
  uv_stop(st->rt.loop);
}

static void begin_shutdown(run_state *st, const char *why) {
  if (st->rt.draining)
    return;
  st->rt.draining = 1;
  ck_log(CK_LOG_OPS, CK_LOG_NOTICE, "coordinator.shutdown", CK_S("signal", why));
  (void)ck_notify("STOPPING=1");
  if (st->https_l != NULL) {
    ck_listener_close(st->https_l, NULL);
    st->https_l = NULL;
  }
  ck_validation_close(st->rt.validation);
  ck_revoke_plans_close(st->rt.plans);
  ck_sched_close(st->rt.sched); /* no new scans; workers finish */
  ck_acme_close(st->rt.acme); /* no new challenge validations */
  ck_wf_timer_close(st->rt.wf_timer);
  st->closing = 1; /* held until every close below has been started */
  if (st->http != NULL) {
    st->closing++;
    ck_http_server_close(st->http, on_server_closed, st);
  }
  if (st->https != NULL) {
    st->closing++;
    ck_http_server_close(st->https, on_server_closed, st);
  }
  if (st->gw != NULL) {
    st->closing++;
    ck_gateway_close(st->gw, on_server_closed, st);
  }
  on_server_closed(st);
  if (st->stopped)
    return;
  uv_timer_start(&st->grace, on_grace, (uint64_t)st->rt.set.shutdown_grace * 1000 + 1, 0);
}

/* SIGHUP: re-reads coordinator.conf and applies what can change while
 * running — the [log] section — and drops the parsed profiles so the next
 * request reads the current versions. Listener addresses, the store and the
 * gateway limits need a restart; a change to them is logged as such. A
 * configuration that does not load is reported and the old one kept. */
/* The shared TLS server configuration (paths filled into certp/keyp). */
static void server_tls_config(const ck_coord_rt *rt, const char *data_dir, ck_tls_config *tc,
                              char *certp, size_t certp_len, char *keyp, size_t keyp_len) {
  ck_coord_path(data_dir, "tls/server.crt", certp, certp_len);
  ck_coord_path(data_dir, "tls/server.key", keyp, keyp_len);
  memset(tc, 0, sizeof *tc);
  tc->role = CK_TLS_SERVER;
  tc->cert_file = certp;
  tc->key_file = keyp;
  tc->ca_pem = (const uint8_t *)rt->chain_pem;
  tc->ca_pem_len = rt->chain_pem_len;
  tc->verify = CK_TLS_VERIFY_OPTIONAL;
}

/* A new HTTPS TLS context from the store (EST fleets' IDevID anchors as
 * they are now), offered to the loop: it is taken at the next accept;
 * connections keep the context they started with. Any thread. Builds are
 * numbered before they read the store, and only a newer one replaces the
 * context, so racing rebuilds (two fleet changes, a SIGHUP) end with the
 * one that saw every change. */
static ck_err https_trust_reload(ck_coord_rt *rt, ck_errctx *err) {
  run_state *st = (run_state *)(void *)rt; /* rt is run_state's first member */
  char certp[4200], keyp[4200];
  ck_tls_config tc;
  ck_tls_ctx *fresh = NULL, *drop;
  uint64_t gen;
  ck_err rc;

  pthread_mutex_lock(&st->tls_lock);
  gen = ++st->tls_gen_seq;
  pthread_mutex_unlock(&st->tls_lock);
  server_tls_config(rt, rt->set.data_dir, &tc, certp, sizeof certp, keyp, sizeof keyp);
  if ((rc = ck_estd_https_tls(rt, &tc, &fresh, err)) != CK_OK)
    return rc;
  pthread_mutex_lock(&st->tls_lock);
  if (gen > st->tls_gen && gen > st->tls_next_gen) {
    drop = st->tls_next; /* never used by a connection */
    st->tls_next = fresh;
    st->tls_next_gen = gen;
  } else {
    drop = fresh;
  }
  pthread_mutex_unlock(&st->tls_lock);
  ck_tls_ctx_free(drop);
  return CK_OK;
}

/* SIGHUP: the same rebuild, taken at once (we are on the loop). */
static void reload_https_tls(run_state *st) {
  ck_errctx err = CK_ERRCTX_INIT;

  if (https_trust_reload(&st->rt, &err) != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "coordinator.reload.https_tls", CK_E(err.code, ck_errctx_msg(&err)));
    return;
  }
  (void)take_https_tls(st);
}

static void reload(run_state *st) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_coord_settings set;
  ck_config *cfg = NULL;

  (void)ck_notify("RELOADING=1"); /* READY=1 below, even on failure */
  if (ck_coord_load_settings(st->rt.set.data_dir, &st->ov, &cfg, &set, &err) != CK_OK ||
      ck_log_config_apply(cfg, &err) != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "coordinator.reload.failed",
           CK_E(err.code, ck_errctx_msg(&err)));
    ck_config_free(cfg);
    (void)ck_notify("READY=1");
    return;
  }
  if (strcmp(set.listen_http, st->rt.set.listen_http) != 0 ||
      strcmp(set.listen_https, st->rt.set.listen_https) != 0 ||
      strcmp(set.listen_gateway, st->rt.set.listen_gateway) != 0 ||
      strcmp(set.public_http, st->rt.set.public_http) != 0 ||
      set.store_sync_full != st->rt.set.store_sync_full || set.backdate != st->rt.set.backdate)
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "coordinator.reload.restart_needed",
           CK_S("msg", "listen, urls, store and issuance settings change on restart"));
  ck_config_free(cfg);
  ck_profile_cache_clear(st->rt.profiles);
  reload_https_tls(st);
  ck_log(CK_LOG_OPS, CK_LOG_NOTICE, "coordinator.reload",
         CK_S("what", "log, profiles, EST IDevID anchors"));
  (void)ck_notify("READY=1");
}

static void on_signal(uv_signal_t *h, int signum) {
  run_state *st = h->data;
  ck_errctx err = CK_ERRCTX_INIT;

  if (signum == SIGHUP) {
    reload(st);
    (void)err;
    return;
  }
  begin_shutdown(st, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static ck_err start(run_state *st, const char *data_dir, const ck_coord_overrides *ov,
                    ck_errctx *err) {
  ck_coord_rt *rt = &st->rt;
  ck_http_config hc;
  ck_gateway_opts go;
  ck_tls_config tc;
  ck_store_opts so;
  char dbpath[4200], certp[4200], keyp[4200];
  const ck_ca *def;
  ck_err rc;

  if ((rc = ck_coord_load_settings(data_dir, ov, &rt->cfg, &rt->set, err)) != CK_OK)
    return rc;
  if ((rc = ck_log_config_apply(rt->cfg, err)) != CK_OK)
    return rc;
  memset(&so, 0, sizeof so);
  ck_coord_path(data_dir, CK_COORD_DB, dbpath, sizeof dbpath);
  so.path = dbpath;
  so.sync_full = rt->set.store_sync_full;
  if ((rc = ck_store_open(&so, &rt->store, err)) != CK_OK)
    return ck_failf(err, rc, "store %s", dbpath);
  if ((rc = ck_ca_set_load(rt->store, data_dir, &rt->cas, err)) != CK_OK)
    return rc;
  def = ck_ca_set_default(rt->cas);
  rt->chain_pem = def->chain_pem;
  rt->chain_pem_len = def->chain_pem_len;
  if ((rc = ck_profile_cache_new(rt->store, &rt->profiles, err)) != CK_OK)
    return rc;
  /* OCSP responders and the first CRLs, before anything listens */
  if ((rc = ck_validation_new(rt, &rt->validation, err)) != CK_OK ||
      (rc = ck_revoke_plans_new(rt, 1000, &rt->plans, err)) != CK_OK)
    return rc;
  /* escalation of pending approval requests (workflow/request.h) */
  if ((rc = ck_wf_timer_start(rt, 1000, &rt->wf_timer, err)) != CK_OK)
    return rc;

  /* TLS: one server context for HTTPS and the gateway; client certificates
   * are optional here (the gateway requires them after enrollment, EST
   * uses them for re-enrollment) and must chain to one of our CAs. */
  server_tls_config(rt, data_dir, &tc, certp, sizeof certp, keyp, sizeof keyp);
  if ((rc = ck_tls_ctx_new(&tc, &st->tls, err)) != CK_OK)
    return ck_failf(err, rc, "TLS server certificate");
  if ((rc = ck_estd_https_tls(rt, &tc, &st->tls_https, err)) != CK_OK)
    return rc;
  rt->https_trust_reload = https_trust_reload; /* EST fleet changes (REST) */

  ck_http_config_defaults(&hc);
  if ((rc = ck_http_server_new(rt->loop, &hc, &st->http, err)) != CK_OK ||
      (rc = ck_svc_ca_register(st->http, rt, err)) != CK_OK ||
      (rc = ck_validation_register(rt->validation, st->http, err)) != CK_OK)
    return rc;
  if ((rc = ck_http_server_listen(st->http, rt->set.listen_http, err)) != CK_OK)
    return ck_failf(err, rc, "listen http %s", rt->set.listen_http);
  if ((rc = ck_http_server_new(rt->loop, &hc, &st->https, err)) != CK_OK ||
      (rc = ck_svc_rest_register(st->https, rt, err)) != CK_OK ||
      (rc = ck_svc_acme_register(st->https, rt, err)) != CK_OK ||
      (rc = ck_svc_est_register(st->https, rt, err)) != CK_OK)
    return rc;
  if ((rc = ck_listener_start(rt->loop, rt->set.listen_https, on_https_accept, st,
                              &st->https_l, err)) != CK_OK)
    return ck_failf(err, rc, "listen https %s", rt->set.listen_https);
  memset(&go, 0, sizeof go);
  go.max_sessions = (unsigned)rt->set.gw.max_sessions;
  go.idle_timeout_ms = (unsigned)(rt->set.gw.idle_timeout * 1000);
  go.ping_interval_ms = (unsigned)(rt->set.gw.ping_interval * 1000);
  go.max_inflight = (unsigned)rt->set.gw.max_inflight;
  go.identity_validity = rt->set.gw.identity_validity;
  go.limits.max_frame = (size_t)rt->set.gw.max_frame;
  if ((rc = ck_gateway_start_opts(rt, st->tls, rt->set.listen_gateway, &go, &st->gw,
                                  err)) != CK_OK)
    return ck_failf(err, rc, "listen gateway %s", rt->set.listen_gateway);
  rt->gateway = st->gw; /* before the loop runs: REST posts commands to it */
  /* the scheduler posts renewals to the gateway: started after it */
  if ((rc = ck_sched_start(rt, &rt->sched, err)) != CK_OK)
    return rc;
  return CK_OK;
}

ck_err ck_coord_run(const char *data_dir, const ck_coord_overrides *ov,
                    ck_errctx *err) {
  run_state *st = calloc(1, sizeof *st);
  uv_loop_t loop;
  ck_err rc;

  if (st == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "run");
  /* Signing and store waits run on the pool: give it room (before first use). */
  setenv("UV_THREADPOOL_SIZE", "16", 0);
  uv_loop_init(&loop);
  pthread_mutex_init(&st->tls_lock, NULL);
  st->rt.loop = &loop;
  uv_signal_init(&loop, &st->sigterm);
  uv_signal_init(&loop, &st->sigint);
  uv_signal_init(&loop, &st->sighup);
  uv_timer_init(&loop, &st->grace);
  st->sigterm.data = st->sigint.data = st->sighup.data = st->grace.data = st;
  uv_signal_start(&st->sigterm, on_signal, SIGTERM);
  uv_signal_start(&st->sigint, on_signal, SIGINT);
  uv_signal_start(&st->sighup, on_signal, SIGHUP);

  if (ov != NULL)
    st->ov = *ov;
  rc = start(st, data_dir, ov, err);
  if (rc == CK_OK) {
    st->rt.ready = 1;
    ck_log(CK_LOG_OPS, CK_LOG_NOTICE, "coordinator.ready",
           CK_S("http", st->rt.set.listen_http), CK_S("https", st->rt.set.listen_https),
           CK_S("gateway", st->rt.set.listen_gateway),
           CK_S("store", ck_store_backend_name(st->rt.store)));
    (void)ck_notify("READY=1"); /* Type=notify: every listener is up */
  } else {
    begin_shutdown(st, "startup-failure");
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_run(&loop, UV_RUN_NOWAIT); /* close callbacks after a forced stop */
  ck_gateway_free(st->gw);
  if (st->rt.store != NULL) {
    ck_store_stats ss;
    ck_store_get_stats(st->rt.store, &ss);
    ck_log(CK_LOG_OPS, CK_LOG_INFO, "store.stats", CK_I("writes", (int64_t)ss.writes),
           CK_I("failed", (int64_t)ss.failed), CK_I("batches", (int64_t)ss.batches),
           CK_I("max_batch", (int64_t)ss.max_batch));
  }
  ck_sched_free(st->rt.sched); /* joins the delivery workers */
  ck_validation_free(st->rt.validation); /* its pool jobs are done */
  ck_revoke_plans_free(st->rt.plans);
  ck_acme_free(st->rt.acme); /* its validations ran before the loop ended */
  ck_wf_timer_free(st->rt.wf_timer);
  ck_store_close(st->rt.store); /* commits what is queued */
  ck_profile_cache_free(st->rt.profiles);
  ck_ca_set_free(st->rt.cas);
  ck_tls_ctx_free(st->tls);
  ck_tls_ctx_free(st->tls_https);
  ck_tls_ctx_free(st->tls_next);
  pthread_mutex_destroy(&st->tls_lock);
  ck_config_free(st->rt.cfg);
  if (uv_loop_close(&loop) != 0 && rc == CK_OK)
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "coordinator.exit.handles", CK_S("msg", "handles left open"));
  if (rc == CK_OK)
    ck_log(CK_LOG_OPS, CK_LOG_NOTICE, "coordinator.stopped");
  free(st);
  return rc;
}
