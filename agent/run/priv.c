/* priv.c — the privileged worker (priv.h): one loop with the ipc to net,
 * the managed-certificate machines, discovery on the thread pool, watching,
 * hardware key facts and the trust target. */
#include "agent/run/priv.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "agent/discover/discover.h"
#include "agent/discover/inventory.h"
#include "agent/discover/probe.h"
#include "agent/manage/managed.h"
#include "agent/manage/reload.h"
#include "agent/run/assign.h"
#include "agent/run/invindex.h"
#include "agent/run/ipc.h"
#include "agent/run/priv_est.h"
#include "common/crypto/crypto.h"
#include "common/util/clock.h"
#include "common/util/fs.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "platforms/hwkeys.h"
#include "platforms/listening.h"
#include "platforms/platform.h"
#include "platforms/watch.h"

#define CK__PRIV_PROBE_MS 2000u
#define CK__PRIV_DELTA_MS 200u      /* gather watched changes this long */
#define CK__PRIV_MAX_DIRTY 1024u    /* more changed paths: full scan */
#define CK__PRIV_TRUST_MAX (1024u * 1024u)
#define CK__PRIV_P12PW_MAX 1024u
/* Room kept in part 0 of a full inventory for the `host` map: the facts
 * are bounded (hostfacts.h: 64 hardware key stores of 200 bytes, names of
 * 256) to well under this. */
#define CK__PRIV_HOST_ROOM (16u * 1024u)
#define CK__PRIV_FRAME_MAX (1024u * 1024u - CK__PRIV_HOST_ROOM)

typedef struct ck__priv ck__priv;

/* A scan of the roots on the pool; its result is sent as a full inventory
 * or as a delta against the index of the last one sent. */
typedef struct ck__scan {
  uv_work_t req;
  ck__priv *p;
  ck_discover d; /* result */
  int probe;          /* full: probe every listening endpoint */
  ck_listen_addr *tls_eps; /* else: re-probe only these (the TLS endpoints
                              of the last full run), NULL when none */
  size_t n_tls_eps;
  ck_discover probed; /* the tcp:// findings of this run */
  ck_err rc;
  ck_errctx err;
} ck__scan;

/* The trust command on the pool. */
typedef struct ck__trustjob {
  uv_work_t req;
  ck__priv *p;
  ck_reload cmd;
  ck_err rc;
  ck_errctx err;
} ck__trustjob;

struct ck__priv {
  uv_loop_t loop;
  const ck_agentconf *cfg;
  ck_ipc *ipc;
  ck_managed_set *ms;
  ck_assign *asg; /* coordinator-assigned [cert:ID] (assign.h) */
  ck_priv_est *est; /* [est] mode: simplereenroll helper (priv_est.h) */
  ck_watch *watch;
  ck_hwkeys *hw;
  ck_hostfacts host; /* facts sent in inventories (hwkeys kept current) */
  uv_signal_t sig_term, sig_int;
  uv_timer_t rescan_timer, delta_timer;
  int stopping;
  int exit_code;
  uint64_t next_id;

  ck_discover_opts dopts;
  char *p12pw; /* secret */
  size_t p12pw_len;

  const char **exclude; /* cfg's exclude + our own leftovers (malloc) */
  const char **mpaths; /* managed cert/key files, borrowed from cfg (malloc'ed
                          array): examined by every scan, also outside the
                          roots, so the inventory shows what is installed */
  size_t n_mpaths;
  ck_invindex sent; /* index of the view last sent (full + deltas); the
                       findings themselves are freed once sent */
  int have_last;     /* sent is valid */
  ck_discover probed; /* tcp:// findings of the last probe run, applied to
                         scans caused by watched changes (no probe wait) */
  int have_probed;
  uint64_t seq; /* generation of `sent` */
  int scanning; /* a ck__scan in flight */
  int rescan_wanted; /* start another scan when this one is done */
  int scan_deferred; /* a scan waits for an install to settle */
  int full_wanted;   /* send the next scan's result as a full inventory */
  char **dirty; /* watched paths changed since the last delta */
  size_t n_dirty;
  int dirty_overflow;
  int jobs; /* thread-pool work in flight */
};

/* ------------------------------------------------------------- sending */

static ck_err ck__send(ck__priv *p, ck_wire_msg *m) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc;

  if (m->id == 0)
    m->id = p->next_id++;
  if (p->ipc == NULL)
    return CK_ERR_CLOSED;
  if ((rc = ck_ipc_send(p->ipc, m, &err)) != CK_OK)
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.priv.send",
           CK_S("type", ck_wire_type_name(m->type)),
           CK_E(rc, ck_errctx_msg(&err)));
  return rc;
}

static void ck__scan_start(ck__priv *p);

/* The managed machines' messages. A state event may end an install: a scan
 * deferred meanwhile (ck__scan_start) runs now. */
static ck_err ck__ms_send(ck_wire_msg *m, void *arg) {
  ck__priv *p = arg;
  ck_err rc;

  if (m->type == CK_WIRE_CSR && p->est != NULL) { /* EST re-enrollment */
    if (m->id == 0)
      m->id = p->next_id++;
    if (ck_priv_est_take(p->est, m))
      return CK_OK;
  }
  rc = ck__send(p, m);

  if (m->type == CK_WIRE_EVENT && p->scan_deferred)
    ck__scan_start(p);
  return rc;
}

/* The answer to a csr priv_est.c took: to the machines, as net's would. */
static void ck__est_deliver(const ck_wire_msg *m, void *arg) {
  ck__priv *p = arg;

  if (!p->stopping && p->ms != NULL && !ck_managed_on_msg(p->ms, m))
    ck_log(CK_LOG_OPS, CK_LOG_NOTICE, "agent.priv.unmatched",
           CK_S("type", ck_wire_type_name(m->type)), CK_I("id", m->id));
}

/* Whether a managed certificate is being installed, reloaded, checked or
 * rolled back. Its files are in flux then: an inventory showing the
 * successor before it is verified as served would let the coordinator
 * revoke the old certificate too early (replace-then-revoke counts a holder
 * as replaced once its inventory no longer lists the old one). */
static int ck__installing(const ck__priv *p) {
  size_t i;
  int st;

  for (i = 0; p->ms != NULL && i < ck_managed_count(p->ms); i++) {
    st = ck_managed_get(p->ms, ck_managed_id(p->ms, i), NULL);
    if (st == CK_MS_INSTALLING || st == CK_MS_RELOADING ||
        st == CK_MS_VERIFYING || st == CK_MS_ROLLING_BACK)
      return 1;
  }
  return 0;
}

static void ck__reply(ck__priv *p, uint64_t id, ck_err code,
                      const char *text) {
  ck_wire_msg r;

  memset(&r, 0, sizeof r);
  r.id = id;
  if (code == CK_OK) {
    r.type = CK_WIRE_ACK;
    r.u.ack.detail = text;
  } else {
    r.type = CK_WIRE_ERROR;
    r.u.error.code = (int32_t)code;
    r.u.error.message = text != NULL ? text : ck_strerror(code);
  }
  (void)ck__send(p, &r);
}

/* Sends one inventory part; part 0 of a full one also carries the host
 * facts (room for them was kept: CK__PRIV_FRAME_MAX). */
static int ck__emit_inv(const ck_wire_msg *m, void *arg) {
  ck__priv *p = arg;
  ck_wire_msg copy = *m;

  copy.id = 0;
  if (copy.u.inventory.mode == CK_WIRE_INV_FULL &&
      (!copy.u.inventory.has_part || copy.u.inventory.part == 0)) {
    ck_hostfacts_wire(&p->host, &copy.u.inventory.host);
    copy.u.inventory.has_host = true;
  }
  return ck__send(p, &copy) == CK_OK ? 0 : 1;
}

static void ck__send_full(ck__priv *p, const ck_discover *d) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc;

  p->seq++;
  rc = ck_inventory_frames(d, CK_WIRE_INV_FULL, p->seq, 0, NULL, 0,
                           CK__PRIV_FRAME_MAX, ck__emit_inv, p, &err);
  ck_log(CK_LOG_OPS, rc == CK_OK ? CK_LOG_INFO : CK_LOG_WARN,
         "agent.priv.inventory", CK_S("mode", "full"), CK_I("seq", p->seq),
         CK_I("findings", d->n),
         CK_S("result", rc == CK_OK ? "sent" : ck_errctx_msg(&err)));
}

/* --------------------------------------------------------------- trust */

static void ck__trust_work(uv_work_t *req) {
  ck__trustjob *j = req->data;
  j->rc = ck_reload_run(&j->cmd, 120000, &j->err);
}

static void ck__trust_done(uv_work_t *req, int status) {
  ck__trustjob *j = req->data;

  (void)status;
  j->p->jobs--;
  ck_log(CK_LOG_OPS, j->rc == CK_OK ? CK_LOG_INFO : CK_LOG_ERR,
         "agent.trust.command",
         CK_S("result", j->rc == CK_OK ? "ok" : ck_errctx_msg(&j->err)));
  ck_reload_free(&j->cmd);
  free(j);
}

/* Runs [trust] command (argv split on spaces; a bare program name is
 * looked up in the usual system directories) on the thread pool. */
static void ck__trust_command(ck__priv *p) {
  static const char *const dirs[] = {"/usr/local/sbin", "/usr/local/bin",
                                     "/usr/sbin", "/usr/bin", "/sbin", "/bin"};
  const char *cmd = p->cfg->trust_command, *sp;
  char text[PATH_MAX + 1024], prog[PATH_MAX];
  ck_errctx err = CK_ERRCTX_INIT;
  ck__trustjob *j;
  size_t pl, i;

  if (cmd == NULL || cmd[0] == '\0')
    return;
  while (*cmd == ' ')
    cmd++;
  sp = strchr(cmd, ' ');
  pl = sp != NULL ? (size_t)(sp - cmd) : strlen(cmd);
  if (pl == 0 || pl >= sizeof prog)
    return;
  memcpy(prog, cmd, pl);
  prog[pl] = '\0';
  if (strchr(prog, '/') == NULL) {
    for (i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
      snprintf(text, sizeof text, "%s/%s", dirs[i], prog);
      if (access(text, X_OK) == 0)
        break;
    }
    if (i == sizeof dirs / sizeof dirs[0]) {
      ck_log(CK_LOG_OPS, CK_LOG_ERR, "agent.trust.command",
             CK_S("program", prog), CK_S("result", "not found"));
      return;
    }
    snprintf(text, sizeof text, "command:%s/%s%s", dirs[i], prog,
             sp != NULL ? sp : "");
  } else {
    snprintf(text, sizeof text, "command:%s", cmd);
  }
  if ((j = calloc(1, sizeof *j)) == NULL)
    return;
  if (ck_reload_parse(text, &j->cmd, &err) != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "agent.trust.command",
           CK_E(err.code, ck_errctx_msg(&err)));
    free(j);
    return;
  }
  j->p = p;
  j->req.data = j;
  if (uv_queue_work(&p->loop, &j->req, ck__trust_work, ck__trust_done) != 0) {
    ck_reload_free(&j->cmd);
    free(j);
    return;
  }
  p->jobs++;
}

/* Writes pem to [trust] bundle when it differs from what is there and runs
 * the command. pem must hold certificates only. */
static ck_err ck__trust_apply(ck__priv *p, const uint8_t *pem, size_t len,
                              ck_errctx *err) {
  ck_cert_list l = {0};
  uint8_t *cur = NULL;
  size_t cur_len = 0;
  ck_err rc;

  if (p->cfg->trust_bundle == NULL)
    return CK_OK;
  if ((rc = ck_cert_list_parse(&l, pem, len, err)) != CK_OK)
    goto out;
  if (ck_fs_read_file(p->cfg->trust_bundle, CK__PRIV_TRUST_MAX, &cur,
                      &cur_len, NULL) == CK_OK &&
      cur_len == len && memcmp(cur, pem, len) == 0)
    goto out; /* unchanged: no write, no command */
  if ((rc = ck_fs_write_atomic(p->cfg->trust_bundle, pem, len, 0644, err)) !=
      CK_OK)
    goto out;
  ck_log(CK_LOG_OPS, CK_LOG_NOTICE, "agent.trust.bundle",
         CK_S("path", p->cfg->trust_bundle), CK_I("certificates", l.n));
  ck__trust_command(p);
out:
  free(cur);
  ck_cert_list_clear(&l);
  return rc;
}

/* Start-up: the last trust-update, else the enrollment's ca.pem. */
static void ck__trust_startup(ck__priv *p) {
  const char *names[] = {"trust.pem", "ca.pem"};
  char path[PATH_MAX];
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t *buf = NULL;
  size_t len = 0, i;

  if (p->cfg->trust_bundle == NULL)
    return;
  for (i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/%s", p->cfg->state_dir, names[i]);
    if (ck_fs_read_file(path, CK__PRIV_TRUST_MAX, &buf, &len, NULL) == CK_OK)
      break;
  }
  if (buf == NULL)
    return;
  if (ck__trust_apply(p, buf, len, &err) != CK_OK)
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "agent.trust.bundle",
           CK_S("path", p->cfg->trust_bundle),
           CK_E(err.code, ck_errctx_msg(&err)));
  free(buf);
}

static void ck__trust_update(ck__priv *p, const ck_wire_msg *m) {
  const ck_wire_bytes *d = &m->u.command.data;
  char path[PATH_MAX];
  ck_errctx err = CK_ERRCTX_INIT;
  ck_cert_list l = {0};
  ck_err rc;

  if (d->data == NULL || d->len == 0) {
    ck__reply(p, m->id, CK_ERR_INVAL, "trust-update needs data (PEM)");
    return;
  }
  if ((rc = ck_cert_list_parse(&l, d->data, d->len, &err)) != CK_OK)
    goto out;
  snprintf(path, sizeof path, "%s/trust.pem", p->cfg->state_dir);
  if ((rc = ck_fs_write_atomic(path, d->data, d->len, 0644, &err)) != CK_OK)
    goto out;
  rc = ck__trust_apply(p, d->data, d->len, &err);
out:
  ck_cert_list_clear(&l);
  ck__reply(p, m->id, rc, rc == CK_OK ? "trust bundle updated"
                                      : ck_errctx_msg(&err));
}

/* ------------------------------------------------------------ discovery */

static void ck__scan_start(ck__priv *p);

static void ck__free_paths(char **v, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static void ck__scan_work(uv_work_t *req) {
  ck__scan *s = req->data;
  ck__priv *p = s->p;

  s->rc = ck_discover_run(&p->dopts, &s->d, &s->err);
  if (s->rc == CK_OK && p->n_mpaths > 0) {
    ck_discover extra;

    memset(&extra, 0, sizeof extra);
    s->rc = ck_discover_paths(&p->dopts, p->mpaths, p->n_mpaths, &extra,
                              &s->err);
    if (s->rc == CK_OK)
      s->rc = ck_inventory_merge(&s->d, p->mpaths, p->n_mpaths, &extra,
                                 &s->err);
    ck_discover_free(&extra);
  }
  if (s->rc == CK_OK && p->cfg->probe_endpoints) {
    ck_listen_addr *la = NULL;
    size_t n = 0;
    ck_errctx e2 = CK_ERRCTX_INIT;
    ck_err prc = CK_OK;
    /* full scans probe every listening socket; a scan for a watched change
     * re-probes only the endpoints that spoke TLS last time, so silent
     * ports never delay its report while a renewed certificate's endpoint
     * is still seen serving the new one */
    if (s->probe) {
      if (ck_platform_listening(&la, &n, &e2) == CK_OK && n > 0)
        prc = ck_probe_endpoints(la, n, CK__PRIV_PROBE_MS, &s->probed, &e2);
      free(la);
    } else if (s->n_tls_eps > 0) {
      prc = ck_probe_endpoints(s->tls_eps, s->n_tls_eps, CK__PRIV_PROBE_MS,
                               &s->probed, &e2);
    }
    if (prc != CK_OK)
      ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.priv.probe",
             CK_E(e2.code, ck_errctx_msg(&e2)));
    s->rc = ck_probe_apply(&s->probed, &s->d, &s->err);
  }
}

static void ck__watch_dir(ck__priv *p, const char *dir) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc;
  if (p->watch == NULL || dir[0] == '\0')
    return;
  if ((rc = ck_watch_add(p->watch, dir, &err)) != CK_OK && rc != CK_ERR_NOENT)
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.priv.watch", CK_S("dir", dir),
           CK_E(rc, ck_errctx_msg(&err)));
}

static void ck__watch_parent(ck__priv *p, const char *path) {
  char dir[PATH_MAX];
  char *slash;

  if (path == NULL || strncmp(path, "tcp://", 6) == 0 ||
      ck_strlcpy(dir, path, sizeof dir) >= sizeof dir)
    return;
  if ((slash = strrchr(dir, '/')) == NULL)
    return;
  if (slash == dir)
    slash[1] = '\0';
  else
    *slash = '\0';
  ck__watch_dir(p, dir);
}

/* Watches the roots, every directory holding a finding and the parents of
 * the managed files (adding one twice is a no-op). */
static void ck__watch_all(ck__priv *p, const ck_discover *d) {
  size_t i;

  if (p->watch == NULL)
    return;
  for (i = 0; i < p->cfg->n_roots; i++)
    ck__watch_dir(p, p->cfg->roots[i]);
  for (i = 0; d != NULL && i < d->n; i++)
    ck__watch_parent(p, d->f[i].path);
  for (i = 0; i < p->cfg->n_certs; i++) {
    ck__watch_parent(p, p->cfg->certs[i].cert_file);
    ck__watch_parent(p, p->cfg->certs[i].key_file);
  }
}

/* Sends the result of a scan: a full inventory when one is wanted (start-up,
 * a new session, a rescan) or no index exists, else a delta against the
 * index of what was sent; then indexes it. d is freed here: only the index
 * outlives the send. */
static void ck__scan_result(ck__priv *p, ck_discover *d) {
  ck_discover changed;
  ck_errctx err = CK_ERRCTX_INIT;
  char **removed = NULL;
  size_t n_removed = 0;
  uint64_t base = p->seq;
  ck_err rc;

  memset(&changed, 0, sizeof changed);
  ck__watch_all(p, d);
  if (p->full_wanted || !p->have_last) {
    p->full_wanted = 0;
    ck__send_full(p, d);
  } else if ((rc = ck_invindex_delta(&p->sent, d, &changed, &removed,
                                     &n_removed, &err)) != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.priv.delta",
           CK_E(rc, ck_errctx_msg(&err)));
    ck__send_full(p, d);
  } else if (changed.n > 0 || n_removed > 0) {
    p->seq++;
    rc = ck_inventory_frames(&changed, CK_WIRE_INV_DELTA, p->seq, base,
                             (const char *const *)removed, n_removed, 0,
                             ck__emit_inv, p, &err);
    ck_log(CK_LOG_OPS, rc == CK_OK ? CK_LOG_INFO : CK_LOG_WARN,
           "agent.priv.inventory", CK_S("mode", "delta"), CK_I("seq", p->seq),
           CK_I("changed", changed.n), CK_I("removed", n_removed),
           CK_S("result", rc == CK_OK ? "sent" : ck_errctx_msg(&err)));
  }
  ck_errctx_clear(&err);
  if (ck_invindex_build(&p->sent, d, &err) == CK_OK) {
    p->have_last = 1;
  } else { /* the next scan sends a full inventory */
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.priv.index",
           CK_E(err.code, ck_errctx_msg(&err)));
    ck_invindex_free(&p->sent);
    p->have_last = 0;
  }
  ck_log(CK_LOG_OPS, CK_LOG_DEBUG, "agent.priv.index",
         CK_I("entries", p->sent.n), CK_I("bytes", ck_invindex_bytes(&p->sent)));
  ck_inventory_removed_free(removed, n_removed);
  ck_discover_free(&changed);
  ck_discover_free(d);
}

static void ck__scan_done(uv_work_t *req, int status) {
  ck__scan *s = req->data;
  ck__priv *p = s->p;

  (void)status;
  p->jobs--;
  p->scanning = 0;
  if (!p->stopping) {
    if (s->rc != CK_OK)
      ck_log(CK_LOG_OPS, CK_LOG_ERR, "agent.priv.scan",
             CK_E(s->rc, ck_errctx_msg(&s->err)));
    else
      ck__scan_result(p, &s->d);
    if (s->rc == CK_OK && s->probe) { /* keep this run's endpoints */
      ck_discover_free(&p->probed);
      p->probed = s->probed;
      memset(&s->probed, 0, sizeof s->probed);
      p->have_probed = 1;
    }
    if (p->rescan_wanted || p->n_dirty > 0 || p->dirty_overflow)
      ck__scan_start(p);
  }
  ck_discover_free(&s->d);
  ck_discover_free(&s->probed);
  free(s->tls_eps);
  free(s);
  ck_platform_mem_trim(); /* the scan's memory goes back to the system */
}

/* Starts the next scan of the roots (a watched change, a rescan, start-up):
 * every change is found by scanning again and comparing with the index, so
 * a delta is exact (key pairing, services, endpoints) without keeping the
 * findings. */
/* The TLS endpoints of the last full probe run (its tcp:// findings), for
 * a scan that re-probes only those. Out of memory: none (the scan then
 * reports no endpoints until the next full scan). */
static void ck__tls_endpoints(ck__priv *p, ck__scan *s) {
  size_t i, n = 0;

  if (p->probed.n == 0 ||
      (s->tls_eps = calloc(p->probed.n, sizeof *s->tls_eps)) == NULL)
    return;
  for (i = 0; i < p->probed.n; i++) {
    const char *path = p->probed.f[i].path;
    const char *colon;
    if (strncmp(path, "tcp://", 6) != 0 ||
        ck_strlcpy(s->tls_eps[n].addr, path + 6, sizeof s->tls_eps[n].addr) >=
            sizeof s->tls_eps[n].addr)
      continue;
    colon = strrchr(s->tls_eps[n].addr, ':');
    s->tls_eps[n].port =
        colon != NULL ? (unsigned)strtoul(colon + 1, NULL, 10) : 0;
    n++;
  }
  s->n_tls_eps = n;
}

static void ck__scan_start(ck__priv *p) {
  ck__scan *s;

  if (p->stopping || p->scanning)
    return;
  if (!p->rescan_wanted && !p->dirty_overflow && p->n_dirty == 0 &&
      p->have_last)
    return;
  /* an install under way: scan once it settled (its next state event) */
  p->scan_deferred = ck__installing(p);
  if (p->scan_deferred)
    return;
  if ((s = calloc(1, sizeof *s)) == NULL)
    return;
  s->p = p;
  s->req.data = s;
  if (p->rescan_wanted)
    p->full_wanted = 1;
  /* endpoints are probed on full scans only: a watched change is reported
   * without waiting for probe timeouts */
  s->probe = p->full_wanted || !p->have_last || !p->have_probed;
  if (!s->probe && p->cfg->probe_endpoints)
    ck__tls_endpoints(p, s);
  p->rescan_wanted = 0;
  p->dirty_overflow = 0;
  ck__free_paths(p->dirty, p->n_dirty);
  p->dirty = NULL;
  p->n_dirty = 0;
  if (uv_queue_work(&p->loop, &s->req, ck__scan_work, ck__scan_done) != 0) {
    free(s);
    return;
  }
  p->scanning = 1;
  p->jobs++;
}

static void ck__rescan_cb(uv_timer_t *t) {
  ck__priv *p = t->data;
  p->rescan_wanted = 1;
  ck__scan_start(p);
}

static void ck__delta_cb(uv_timer_t *t) { ck__scan_start(t->data); }

static void ck__watch_cb(ck_watch *w, const char *path, unsigned flags,
                         void *arg) {
  ck__priv *p = arg;
  char **nv;
  size_t i;

  (void)w;
  if (p->stopping)
    return;
  if (flags & CK_WATCH_OVERFLOW || path == NULL) {
    p->dirty_overflow = 1;
  } else {
    ck_managed_file_changed(p->ms, path);
    for (i = 0; i < p->n_dirty; i++)
      if (strcmp(p->dirty[i], path) == 0)
        break;
    if (i == p->n_dirty) {
      if (p->n_dirty >= CK__PRIV_MAX_DIRTY ||
          (nv = realloc(p->dirty, (p->n_dirty + 1) * sizeof *nv)) == NULL) {
        p->dirty_overflow = 1;
      } else {
        p->dirty = nv;
        if ((p->dirty[p->n_dirty] = strdup(path)) != NULL)
          p->n_dirty++;
        else
          p->dirty_overflow = 1;
      }
    }
  }
  uv_timer_start(&p->delta_timer, ck__delta_cb, CK__PRIV_DELTA_MS, 0);
}

ck_err ck__priv_hwkey_delta(ck_hostfacts *hf, const char *kind,
                            const char *action, const char *devpath,
                            const char *name, uint64_t seq, ck_wire_msg *m,
                            int *built, ck_errctx *err) {
  int changed = 0;
  ck_err rc;

  *built = 0;
  if ((rc = ck_hostfacts_hwkey(hf, kind, action, devpath, name, &changed,
                               err)) != CK_OK ||
      !changed)
    return rc;
  memset(m, 0, sizeof *m);
  m->type = CK_WIRE_INVENTORY;
  m->u.inventory.mode = CK_WIRE_INV_DELTA;
  m->u.inventory.seq = seq;
  m->u.inventory.base = seq;
  m->u.inventory.has_base = true;
  ck_hostfacts_wire(hf, &m->u.inventory.host);
  m->u.inventory.has_host = true;
  *built = 1;
  return CK_OK;
}

/* A hardware key store appeared or left: a host fact. Before the first
 * full inventory nothing is sent (that one carries the facts); net drops
 * the delta while offline, and the full inventory of the next connect
 * carries them. */
static void ck__hw_cb(const char *kind, const char *action,
                      const char *devpath, const char *name, void *arg) {
  ck__priv *p = arg;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_wire_msg m;
  int built = 0;
  ck_err rc;

  ck_log(CK_LOG_OPS, CK_LOG_INFO, "agent.hwkey", CK_S("kind", kind),
         CK_S("action", action), CK_S("name", name),
         CK_S("devpath", devpath));
  if (p->stopping)
    return;
  rc = ck__priv_hwkey_delta(&p->host, kind, action, devpath, name, p->seq, &m,
                            &built, &err);
  if (rc != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.hwkey",
           CK_E(rc, ck_errctx_msg(&err)));
    return;
  }
  if (!built || !p->have_last)
    return;
  rc = ck__send(p, &m);
  ck_log(CK_LOG_OPS, rc == CK_OK ? CK_LOG_INFO : CK_LOG_WARN,
         "agent.priv.inventory", CK_S("mode", "host"), CK_I("seq", p->seq),
         CK_I("hwkeys", p->host.n_keys),
         CK_S("result", rc == CK_OK ? "sent" : ck_strerror(rc)));
}

/* ------------------------------------------------------------ messages */

static void ck__stop(ck__priv *p);

/* `command replace-before-revoke`: the coordinator is about to revoke the
 * certificate at target (a file path, or a managed id): renew the managed
 * certificate installed there now, so the service has its successor before
 * the old one is revoked. A certificate this agent does not manage is
 * answered with an error the coordinator shows in the revocation plan. */
static void ck__replace(ck__priv *p, const ck_wire_msg *m) {
  const char *target = m->u.command.target;
  const char *id = NULL, *f;
  char want[PATH_MAX], have[PATH_MAX];
  ck_errctx err = CK_ERRCTX_INIT;
  char msg[PATH_MAX + 96];
  ck_err rc;

  if (target == NULL || target[0] == '\0') {
    ck__reply(p, m->id, CK_ERR_INVAL,
              "replace-before-revoke needs a target (path or managed id)");
    return;
  }
  if (realpath(target, want) == NULL)
    snprintf(want, sizeof want, "%s", target);
  for (size_t i = 0; i < ck_managed_count(p->ms) && id == NULL; i++) {
    f = ck_managed_cert_file(p->ms, i);
    /* the certificate file, or the fullchain/chain file holding it too */
    if (strcmp(ck_managed_id(p->ms, i), target) == 0 ||
        ck_managed_leaf_file(p->ms, i, target) ||
        ck_managed_leaf_file(p->ms, i, want) ||
        (realpath(f, have) != NULL && strcmp(have, want) == 0))
      id = ck_managed_id(p->ms, i);
  }
  if (id == NULL) {
    snprintf(msg, sizeof msg,
             "%s is not a certificate this agent manages; replace it by hand",
             target);
    ck__reply(p, m->id, CK_ERR_NOT_FOUND, msg);
    return;
  }
  rc = ck_managed_renew(p->ms, id, &err);
  if (rc == CK_ERR_BUSY)
    rc = CK_OK; /* a renewal is already under way: that is the successor */
  snprintf(msg, sizeof msg, "replacing managed certificate %s", id);
  ck_log(CK_LOG_OPS, CK_LOG_NOTICE, "agent.priv.replace", CK_S("id", id),
         CK_S("target", target), CK_S("result", ck_strerror(rc)));
  ck__reply(p, m->id, rc, rc == CK_OK ? msg : ck_errctx_msg(&err));
}

static void ck__on_command(ck__priv *p, const ck_wire_msg *m) {
  const ck_wire_command *c = &m->u.command;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc;
  size_t i;
  int connect = 0;

  switch (c->action) {
  case CK_WIRE_ACT_RENEW:
    rc = ck_managed_renew(p->ms, c->target, &err);
    ck__reply(p, m->id, rc, rc == CK_OK ? "renewal started"
                                        : ck_errctx_msg(&err));
    break;
  case CK_WIRE_ACT_RESCAN:
    for (i = 0; i < c->args.n; i++)
      if (strcmp(c->args.v[i].key, "reason") == 0 &&
          strcmp(c->args.v[i].value, "connect") == 0)
        connect = 1;
    if (connect && p->scanning) {
      /* start-up: the scan under way is sent in full, once */
      p->full_wanted = 1;
      ck__reply(p, m->id, CK_OK, "scan under way; a full inventory follows");
    } else {
      p->rescan_wanted = 1;
      ck__scan_start(p);
      ck__reply(p, m->id, CK_OK, "scan started");
    }
    break;
  case CK_WIRE_ACT_TRUST_UPDATE:
    ck__trust_update(p, m);
    break;
  case CK_WIRE_ACT_REPLACE_BEFORE_REVOKE:
    ck__replace(p, m);
    break;
  case CK_WIRE_ACT_CONFIG: {
    char detail[512];
    rc = ck_assign_command(p->asg, c, detail, sizeof detail, &err);
    ck__reply(p, m->id, rc, rc == CK_OK ? detail : ck_errctx_msg(&err));
    break;
  }
  default:
    ck__reply(p, m->id, CK_ERR_UNSUPPORTED,
              "command not supported by this agent");
    break;
  }
}

static void ck__on_msg(ck_ipc *ipc, const ck_wire_msg *m, void *arg) {
  ck__priv *p = arg;

  (void)ipc;
  if (p->stopping)
    return;
  switch (m->type) {
  case CK_WIRE_CERT:
  case CK_WIRE_PENDING:
  case CK_WIRE_ERROR:
    if (!ck_managed_on_msg(p->ms, m))
      ck_log(CK_LOG_OPS, CK_LOG_NOTICE, "agent.priv.unmatched",
             CK_S("type", ck_wire_type_name(m->type)), CK_I("id", m->id));
    break;
  case CK_WIRE_COMMAND:
    ck__on_command(p, m);
    break;
  case CK_WIRE_ACK: /* net stored an event */
    break;
  default:
    ck_log(CK_LOG_OPS, CK_LOG_NOTICE, "agent.priv.unexpected",
           CK_S("type", ck_wire_type_name(m->type)));
    break;
  }
}

static void ck__on_close(ck_ipc *ipc, ck_err why, void *arg) {
  ck__priv *p = arg;
  (void)ipc;
  ck_log(CK_LOG_OPS, why == CK_ERR_CLOSED ? CK_LOG_NOTICE : CK_LOG_ERR,
         "agent.priv.channel_closed", CK_S("why", ck_strerror(why)));
  ck__stop(p);
}

/* -------------------------------------------------------- start, stop */

static void ck__sig_cb(uv_signal_t *h, int signum) {
  ck__priv *p = h->data;
  ck_log(CK_LOG_OPS, CK_LOG_NOTICE, "agent.priv.stop", CK_I("signal", signum));
  ck__stop(p);
}

/* Closes everything; uv_run returns once work in flight is done. */
static void ck__stop(ck__priv *p) {
  if (p->stopping)
    return;
  p->stopping = 1;
  ck_ipc_close(p->ipc);
  p->ipc = NULL;
  ck_priv_est_close(p->est);
  p->est = NULL;
  ck_managed_set_close(p->ms);
  p->ms = NULL;
  ck_watch_close(p->watch);
  p->watch = NULL;
  ck_hwkeys_stop(p->hw);
  p->hw = NULL;
  uv_close((uv_handle_t *)&p->rescan_timer, NULL);
  uv_close((uv_handle_t *)&p->delta_timer, NULL);
  uv_close((uv_handle_t *)&p->sig_term, NULL);
  uv_close((uv_handle_t *)&p->sig_int, NULL);
}

/* Sets everything up; on failure the caller runs ck__stop. *fd_owned is
 * cleared once fd belongs to the ipc. */
static ck_err ck__setup(ck__priv *p, int fd, int *fd_owned, ck_errctx *err) {
  const ck_agentconf *cfg = p->cfg;
  ck_managed_ops ops;
  ck_managed_conf mc;
  ck_err rc;
  size_t i;

  if ((rc = ck_fs_mkdir_p(cfg->state_dir, 0700, err)) != CK_OK)
    return rc;
  /* the managed files first: recovery before anything else */
  ops.send = ck__ms_send;
  ops.arg = p;
  if ((rc = ck_managed_set_new(&p->loop, cfg->state_dir, &ops, NULL, &p->ms,
                               err)) != CK_OK)
    return rc;
  if (cfg->est_url != NULL &&
      (rc = ck_priv_est_new(&p->loop, cfg, ck__est_deliver, p, &p->est,
                            err)) != CK_OK)
    return rc;
  for (i = 0; i < cfg->n_certs; i++) {
    ck_assign_conf_of(&cfg->certs[i], &mc);
    if ((rc = ck_managed_add(p->ms, &mc, err)) != CK_OK)
      return rc;
  }
  if ((rc = ck_assign_start(cfg, p->ms, &p->asg, err)) != CK_OK)
    return rc;
  *fd_owned = 0; /* ck_ipc_open closes fd also when it fails */
  if ((rc = ck_ipc_open(&p->loop, fd, CK_WIRE_TO_AGENT, ck__on_msg,
                        ck__on_close, p, &p->ipc, err)) != CK_OK)
    return rc;

  /* discovery options (borrowed from cfg) */
  p->dopts.roots = (const char *const *)cfg->roots;
  p->dopts.n_roots = cfg->n_roots;
  p->dopts.include = (const char *const *)cfg->include;
  p->dopts.n_include = cfg->n_include;
  /* install leftovers (target.c, fs.c) are never findings */
  if ((p->exclude = calloc(cfg->n_exclude + 5, sizeof *p->exclude)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  for (i = 0; i < cfg->n_exclude; i++)
    p->exclude[i] = cfg->exclude[i];
  p->exclude[i++] = "*.ck-new";
  p->exclude[i++] = "*.ck-prev";
  p->exclude[i++] = "*.ck-prev.tmp";
  p->exclude[i++] = "*.ck-*.tmp";
  p->exclude[i++] = "*.ck-journal";
  p->dopts.exclude = p->exclude;
  p->dopts.n_exclude = i;
  if ((p->mpaths = calloc(2 * cfg->n_certs + 1, sizeof *p->mpaths)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  for (i = 0; i < cfg->n_certs; i++) {
    if (cfg->certs[i].cert_file != NULL)
      p->mpaths[p->n_mpaths++] = cfg->certs[i].cert_file;
    if (cfg->certs[i].key_file != NULL)
      p->mpaths[p->n_mpaths++] = cfg->certs[i].key_file;
  }
  p->dopts.max_depth = cfg->max_depth;
  p->dopts.has_max_depth = 1;
  p->dopts.expiring_days = (int)(cfg->expiring / 86400);
  p->dopts.keep_der = 1;
  if (cfg->p12_password_file != NULL) {
    uint8_t *pw = NULL;
    size_t n = 0;
    ck_errctx e2 = CK_ERRCTX_INIT;
    if (ck_fs_read_file(cfg->p12_password_file, CK__PRIV_P12PW_MAX, &pw, &n,
                        &e2) == CK_OK) {
      while (n > 0 && (pw[n - 1] == '\n' || pw[n - 1] == '\r'))
        pw[--n] = '\0';
      p->p12pw = (char *)pw;
      p->p12pw_len = n;
      p->dopts.p12_password = p->p12pw;
    } else {
      ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.priv.p12_password",
             CK_E(e2.code, ck_errctx_msg(&e2)));
    }
  }

  uv_signal_start(&p->sig_term, ck__sig_cb, SIGTERM);
  uv_signal_start(&p->sig_int, ck__sig_cb, SIGINT);

  if (cfg->watch) {
    ck_errctx e2 = CK_ERRCTX_INIT;
    if (ck_watch_new(&p->loop, ck__watch_cb, p, &p->watch, &e2) != CK_OK)
      ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.priv.watch",
             CK_E(e2.code, ck_errctx_msg(&e2)));
    else
      ck_log(CK_LOG_OPS, CK_LOG_INFO, "agent.priv.watch",
             CK_S("backend", ck_watch_backend()));
  }
  {
    ck_errctx e2 = CK_ERRCTX_INIT;
    ck_err r2 = ck_hwkeys_start(&p->loop, ck__hw_cb, p, &p->hw, &e2);
    if (r2 != CK_OK && r2 != CK_ERR_UNSUPPORTED)
      ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.hwkey",
             CK_E(r2, ck_errctx_msg(&e2)));
  }
  ck__trust_startup(p);
  ck_managed_set_start(p->ms);
  if (cfg->rescan > 0)
    uv_timer_start(&p->rescan_timer, ck__rescan_cb,
                   (uint64_t)cfg->rescan * 1000u, (uint64_t)cfg->rescan * 1000u);
  if (cfg->n_roots > 0)
    ck__scan_start(p);
  else
    ck__watch_all(p, NULL);
  return CK_OK;
}

int ck_priv_main(const ck_agentconf *cfg, int fd) {
  ck__priv *p = calloc(1, sizeof *p);
  ck_errctx err = CK_ERRCTX_INIT;
  int code = 1, fd_owned = 1;

  if (p == NULL || uv_loop_init(&p->loop) != 0) {
    close(fd);
    free(p);
    return 1;
  }
  p->cfg = cfg;
  ck_hostfacts_read(&p->host, NULL);
  p->next_id = ((uint64_t)ck_clock_now_ms() << 8) | 1u; /* fresh per run */
  p->seq = (uint64_t)ck_clock_now();
  uv_timer_init(&p->loop, &p->rescan_timer);
  p->rescan_timer.data = p;
  uv_timer_init(&p->loop, &p->delta_timer);
  p->delta_timer.data = p;
  uv_signal_init(&p->loop, &p->sig_term);
  p->sig_term.data = p;
  uv_signal_init(&p->loop, &p->sig_int);
  p->sig_int.data = p;
  if (ck__setup(p, fd, &fd_owned, &err) != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "agent.priv.start",
           CK_E(err.code, ck_errctx_msg(&err)));
    if (fd_owned)
      close(fd);
    ck__stop(p);
  } else {
    ck_log(CK_LOG_OPS, CK_LOG_INFO, "agent.priv.started",
           CK_I("managed", cfg->n_certs), CK_I("roots", cfg->n_roots));
    code = 0;
  }
  uv_run(&p->loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&p->loop) != 0)
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.priv.loop_busy",
           CK_S("what", "handles left open"));
  ck_invindex_free(&p->sent);
  ck_discover_free(&p->probed);
  ck_assign_free(p->asg);
  ck_hostfacts_free(&p->host);
  ck__free_paths(p->dirty, p->n_dirty);
  free(p->exclude);
  free(p->mpaths);
  if (p->p12pw != NULL)
    ck_crypto_free_secret(p->p12pw, p->p12pw_len);
  free(p);
  return code;
}
