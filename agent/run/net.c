/* net.c — the net process (see net.h): identity and trust read while still
 * privileged, privileges dropped, then the priv channel, the coordinator
 * session and the outbox on one loop, with the id mapping between them. */
#include "agent/run/net.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "agent/link/outbox.h"
#include "agent/link/session.h"
#include "agent/link/state.h"
#include "agent/run/ipc.h"
#include "agent/run/net_est.h"
#include "common/crypto/crypto.h"
#include "common/util/clock.h"
#include "common/util/fs.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "platforms/platform.h"
#include "platforms/sandbox.h"

#define CK_NET_MAP 256u /* requests in flight each way */
#define CK_NET_HELD 16u /* csrs held while (re)connecting */
#define CK_NET_HOLD_MS 20000u

/* A csr that arrived while the session was not up, kept (encoded, with
 * priv's id) until the session is up or the hold expires. */
typedef struct ck__net_held {
  uint8_t *frame; /* malloc'ed frame */
  size_t len;
  uint64_t priv_id;
  uint64_t until_ms; /* monotonic deadline */
} ck__net_held;

typedef struct ck__net_map {
  uint64_t a, b; /* csr: coordinator id -> priv id; cmd: local -> coord */
} ck__net_map;

typedef struct ck__net {
  uv_loop_t loop;
  uv_signal_t sig_term, sig_int, sig_hup;
  uv_timer_t hold_timer;
  ck_ipc *ipc;
  ck_session *ses;
  ck_outbox *outbox;
  int status;   /* exit status */
  int stopping;
  uint64_t next_local; /* ids of net -> priv messages net originates */
  ck__net_map csr[CK_NET_MAP];
  size_t n_csr;
  ck__net_map cmd[CK_NET_MAP];
  size_t n_cmd;
  ck__net_held held[CK_NET_HELD];
  size_t n_held;
} ck__net;

/* ---- id maps ------------------------------------------------------------- */

static int ck__map_put(ck__net_map *v, size_t *n, uint64_t a, uint64_t b) {
  if (*n >= CK_NET_MAP) { /* forget the oldest: its answer is long overdue */
    memmove(v, v + 1, (CK_NET_MAP - 1) * sizeof *v);
    (*n)--;
  }
  v[*n].a = a;
  v[*n].b = b;
  (*n)++;
  return 1;
}

/* Removes the entry keyed a; returns its b through *b. */
static int ck__map_take(ck__net_map *v, size_t *n, uint64_t a, uint64_t *b) {
  size_t i;

  for (i = 0; i < *n; i++)
    if (v[i].a == a) {
      *b = v[i].b;
      memmove(v + i, v + i + 1, (*n - i - 1) * sizeof *v);
      (*n)--;
      return 1;
    }
  return 0;
}

/* ---- helpers ------------------------------------------------------------- */

static void ck__net_to_priv(ck__net *n, const ck_wire_msg *m) {
  ck_errctx err = CK_ERRCTX_INIT;

  if (n->ipc != NULL && ck_ipc_send(n->ipc, m, &err) != CK_OK)
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.net.to_priv",
           CK_S("type", ck_wire_type_name(m->type)),
           CK_E(err.code, ck_errctx_msg(&err)));
}

static void ck__net_priv_error(ck__net *n, uint64_t id, ck_err code,
                               const char *msg, uint32_t retry_after) {
  ck_wire_msg e;

  memset(&e, 0, sizeof e);
  e.type = CK_WIRE_ERROR;
  e.id = id;
  e.u.error.code = code;
  e.u.error.message = msg;
  if (retry_after > 0) {
    e.u.error.retry_after = retry_after;
    e.u.error.has_retry_after = true;
  }
  ck__net_to_priv(n, &e);
}

static void ck__net_stop(ck__net *n, int status) {
  if (n->stopping)
    return;
  n->stopping = 1;
  n->status = status;
  ck_session_close(n->ses);
  n->ses = NULL;
  ck_ipc_close(n->ipc);
  n->ipc = NULL;
  uv_close((uv_handle_t *)&n->sig_term, NULL);
  uv_close((uv_handle_t *)&n->sig_int, NULL);
  uv_close((uv_handle_t *)&n->sig_hup, NULL);
  uv_close((uv_handle_t *)&n->hold_timer, NULL);
  while (n->n_held > 0)
    free(n->held[--n->n_held].frame);
}

/* ---- csrs held while connecting --------------------------------------------- */

static void ck__net_hold_tick(uv_timer_t *t);

/* Arms the one-shot hold timer for the earliest held csr's deadline, or
 * stops it when none is held: no wake-up while nothing is pending. */
static void ck__net_hold_arm(ck__net *n) {
  uint64_t now, first = UINT64_MAX;
  size_t i;

  if (n->stopping)
    return;
  if (n->n_held == 0) {
    uv_timer_stop(&n->hold_timer);
    return;
  }
  for (i = 0; i < n->n_held; i++)
    if (n->held[i].until_ms < first)
      first = n->held[i].until_ms;
  now = ck_clock_mono_ms();
  uv_timer_start(&n->hold_timer, ck__net_hold_tick,
                 first > now ? first - now : 0, 0);
}

/* Keeps a csr for up to CK_NET_HOLD_MS (a session is usually being set up
 * when priv starts); answers CK_ERR_AGAIN at once when full. */
static void ck__net_hold(ck__net *n, const ck_wire_msg *m) {
  ck__net_held *h;

  if (n->n_held >= CK_NET_HELD) {
    ck__net_priv_error(n, m->id, CK_ERR_AGAIN,
                       "not connected to the coordinator", 60);
    return;
  }
  h = &n->held[n->n_held];
  if (ck_wire_encode(m, NULL, &h->frame, &h->len, NULL) != CK_OK) {
    ck__net_priv_error(n, m->id, CK_ERR_INTERNAL, "cannot hold the csr", 60);
    return;
  }
  h->priv_id = m->id;
  h->until_ms = ck_clock_mono_ms() + CK_NET_HOLD_MS;
  n->n_held++;
  ck__net_hold_arm(n);
}

/* Session up: sends the held csrs. */
static void ck__net_release(ck__net *n) {
  ck_arena *a = ck_arena_new(8192);
  size_t i;

  for (i = 0; i < n->n_held; i++) {
    ck__net_held *h = &n->held[i];
    ck_wire_msg m;
    ck_errctx err = CK_ERRCTX_INIT;

    memset(&m, 0, sizeof m);
    if (a != NULL &&
        ck_wire_decode(h->frame + CK_WIRE_HEADER_LEN,
                       h->len - CK_WIRE_HEADER_LEN, NULL, a, &m, &err) ==
            CK_OK) {
      m.id = ck_session_next_id(n->ses);
      if (ck_session_send(n->ses, &m, &err) == CK_OK)
        ck__map_put(n->csr, &n->n_csr, m.id, h->priv_id);
      else
        ck__net_priv_error(n, h->priv_id, CK_ERR_AGAIN, ck_errctx_msg(&err),
                           60);
    } else {
      ck__net_priv_error(n, h->priv_id, CK_ERR_AGAIN, "cannot send the csr",
                         60);
    }
    ck_arena_reset(a);
    free(h->frame);
  }
  n->n_held = 0;
  ck_arena_free(a);
  ck__net_hold_arm(n);
}

/* Answers held csrs whose hold expired. */
static void ck__net_hold_tick(uv_timer_t *t) {
  ck__net *n = t->data;
  uint64_t now = ck_clock_mono_ms();
  size_t i, k = 0;

  for (i = 0; i < n->n_held; i++) {
    if (n->held[i].until_ms <= now) {
      ck__net_priv_error(n, n->held[i].priv_id, CK_ERR_AGAIN,
                         "not connected to the coordinator", 60);
      free(n->held[i].frame);
    } else {
      n->held[k++] = n->held[i];
    }
  }
  n->n_held = k;
  ck__net_hold_arm(n);
}

/* ---- priv -> net ---------------------------------------------------------- */

static void ck__net_on_priv(ck_ipc *ipc, const ck_wire_msg *m, void *arg) {
  ck__net *n = arg;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_wire_msg f;
  uint64_t seq = 0, coord = 0;

  (void)ipc;
  switch (m->type) {
  case CK_WIRE_EVENT:
    if (ck_outbox_append(n->outbox, &m->u.event, &seq, &err) != CK_OK) {
      ck_log(CK_LOG_OPS, CK_LOG_ERR, "agent.outbox.append",
             CK_E(err.code, ck_errctx_msg(&err)));
      ck__net_priv_error(n, m->id, err.code, ck_errctx_msg(&err), 0);
      return;
    }
    memset(&f, 0, sizeof f);
    f.type = CK_WIRE_ACK;
    f.id = m->id;
    ck__net_to_priv(n, &f);
    ck_session_kick(n->ses);
    return;
  case CK_WIRE_INVENTORY:
    if (!ck_session_up(n->ses)) {
      ck_log(CK_LOG_OPS, CK_LOG_DEBUG, "agent.net.inventory_offline",
             CK_S("action", "dropped; a full one follows the next connect"));
      return;
    }
    f = *m;
    f.id = ck_session_next_id(n->ses);
    if (ck_session_send(n->ses, &f, &err) != CK_OK)
      ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.net.inventory",
             CK_E(err.code, ck_errctx_msg(&err)));
    return;
  case CK_WIRE_CSR:
    if (!ck_session_up(n->ses)) {
      ck__net_hold(n, m);
      return;
    }
    f = *m;
    f.id = ck_session_next_id(n->ses);
    if (ck_session_send(n->ses, &f, &err) != CK_OK) {
      ck__net_priv_error(n, m->id, CK_ERR_AGAIN, ck_errctx_msg(&err), 60);
      return;
    }
    ck__map_put(n->csr, &n->n_csr, f.id, m->id);
    return;
  case CK_WIRE_ACK:
  case CK_WIRE_ERROR:
    /* priv answers a command or a cert we relayed */
    if (!ck__map_take(n->cmd, &n->n_cmd, m->id, &coord))
      return;
    f = *m;
    f.id = coord;
    if (ck_session_up(n->ses))
      (void)ck_session_send(n->ses, &f, NULL);
    return;
  default:
    return;
  }
}

static void ck__net_on_priv_close(ck_ipc *ipc, ck_err why, void *arg) {
  ck__net *n = arg;

  (void)ipc;
  ck_log(CK_LOG_OPS, why == CK_ERR_CLOSED ? CK_LOG_NOTICE : CK_LOG_ERR,
         "agent.net.priv_gone", CK_S("err", ck_err_name(why)),
         CK_S("action", "net exits; the supervisor restarts the workers"));
  ck__net_stop(n, 1);
}

/* ---- coordinator -> net --------------------------------------------------- */

static void ck__net_on_up(ck_session *s, const ck_wire_welcome *w, void *arg) {
  ck__net *n = arg;
  ck_wire_msg c;
  char mf[24];
  ck_wire_kv kv[2] = {{"reason", "connect"}, {"max_frame", mf}};

  (void)s;
  /* max_frame: the largest frame the coordinator takes, so priv splits its
   * inventory accordingly */
  snprintf(mf, sizeof mf, "%lu",
           (unsigned long)(w->has_max_frame ? w->max_frame
                                            : ck_wire_limits_default()
                                                  .max_frame));
  memset(&c, 0, sizeof c);
  c.type = CK_WIRE_COMMAND;
  c.id = n->next_local++;
  c.u.command.action = CK_WIRE_ACT_RESCAN;
  c.u.command.args.v = kv;
  c.u.command.args.n = 2;
  ck__net_to_priv(n, &c);
  ck__net_release(n);
}

static void ck__net_on_down(ck_session *s, ck_err why, const char *msg,
                            void *arg) {
  ck__net *n = arg;
  size_t i;

  (void)s;
  (void)why;
  /* requests in flight will never be answered by this session */
  for (i = 0; i < n->n_csr; i++)
    ck__net_priv_error(n, n->csr[i].b, CK_ERR_AGAIN, msg, 30);
  n->n_csr = 0;
  n->n_cmd = 0;
}

static void ck__net_on_coord(ck_session *s, const ck_wire_msg *m, void *arg) {
  ck__net *n = arg;
  ck_wire_msg f;
  uint64_t priv_id = 0;

  (void)s;
  switch (m->type) {
  case CK_WIRE_CERT:
  case CK_WIRE_PENDING:
  case CK_WIRE_ERROR:
    if (ck__map_take(n->csr, &n->n_csr, m->id, &priv_id)) {
      f = *m;
      f.id = priv_id;
      ck__net_to_priv(n, &f);
      return;
    }
    if (m->type == CK_WIRE_CERT) { /* unsolicited, after an approval */
      f = *m;
      f.id = n->next_local++;
      ck__map_put(n->cmd, &n->n_cmd, f.id, m->id);
      ck__net_to_priv(n, &f);
      return;
    }
    if (m->type == CK_WIRE_ERROR)
      ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.net.coord_error",
             CK_I("id", m->id), CK_I("code", m->u.error.code),
             CK_S("msg", m->u.error.message ? m->u.error.message : ""));
    return;
  case CK_WIRE_COMMAND:
    f = *m;
    f.id = n->next_local++;
    ck__map_put(n->cmd, &n->n_cmd, f.id, m->id);
    ck__net_to_priv(n, &f);
    return;
  default:
    /* acks of inventories: their frames are gone; give the memory the
     * parts took back to the system */
    if (m->type == CK_WIRE_ACK)
      ck_platform_mem_trim();
    return;
  }
}

/* ---- signals ---------------------------------------------------------------- */

static void ck__net_signal(uv_signal_t *h, int signum) {
  ck__net *n = h->data;

  if (signum == SIGHUP)
    return; /* configuration is reloaded by restarting the workers */
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "agent.net.stop", CK_I("signal", signum));
  ck__net_stop(n, 0);
}

/* ---- start-up ----------------------------------------------------------------- */

static ck_err ck__net_read(const char *dir, const char *name, size_t max,
                           uint8_t **out, size_t *len, ck_errctx *err) {
  char p[4096];

  if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p)
    return ck_failf(err, CK_ERR_INVAL, "state_dir path too long");
  return ck_fs_read_file(p, max, out, len, err);
}

/* DIR/outbox and DIR/link.state, owned by the net user. */
static ck_err ck__net_prepare(const ck_agentconf *cfg, int *link_fd,
                              char *obdir, size_t oblen, ck_errctx *err) {
  char p[4096];
  ck_err rc;
  int as_root = geteuid() == 0 && cfg->user != NULL;

  if (snprintf(obdir, oblen, "%s/outbox", cfg->state_dir) >= (int)oblen ||
      snprintf(p, sizeof p, "%s/%s", cfg->state_dir, CK_LINK_STATE_FILE) >=
          (int)sizeof p)
    return ck_failf(err, CK_ERR_INVAL, "state_dir path too long");
  if ((rc = ck_fs_mkdir_p(obdir, 0700, err)) != CK_OK)
    return rc;
  if (as_root && (rc = ck_fs_set_owner(obdir, cfg->user, NULL, err)) != CK_OK)
    return rc;
  *link_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (*link_fd < 0)
    return ck_failf(err, ck_err_from_errno(-errno), "%s: %s", p,
                    strerror(errno));
  if (as_root && (rc = ck_fs_set_owner(p, cfg->user, NULL, err)) != CK_OK)
    return rc;
  return CK_OK;
}

int ck_net_main(const ck_agentconf *cfg, int fd) {
  ck__net *n = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t *key = NULL, *cert = NULL, *ca = NULL;
  size_t key_len = 0, cert_len = 0, ca_len = 0;
  char obdir[4096];
  int link_fd = -1, loop_ok = 0, status = 1;
  ck_session_opts so;
  ck_session_cbs cb;
  ck_err rc;

  signal(SIGPIPE, SIG_IGN);
  if (cfg->est_url != NULL) /* EST mode: no gateway session (net_est.c) */
    return ck_net_est_main(cfg, fd);
  if (!cfg->enrolled || cfg->server == NULL) {
    ck_setf(&err, CK_ERR_CONFIG, "%s: not enrolled (run certkeeper-agent "
                                 "enroll)", cfg->state_dir);
    goto fail;
  }
  if ((n = calloc(1, sizeof *n)) == NULL) {
    ck_setf(&err, CK_ERR_NOMEM, "out of memory");
    goto fail;
  }
  n->next_local = CK_SESSION_ID_BASE;
  /* identity and trust, while still privileged */
  if ((rc = ck__net_read(cfg->state_dir, CK_STATE_KEY_FILE, 65536, &key,
                         &key_len, &err)) != CK_OK ||
      (rc = ck__net_read(cfg->state_dir, CK_STATE_CERT_FILE, 1 << 20, &cert,
                         &cert_len, &err)) != CK_OK ||
      (rc = ck__net_read(cfg->state_dir, CK_STATE_CA_FILE, 1 << 20, &ca,
                         &ca_len, &err)) != CK_OK)
    goto fail;
  if ((rc = ck__net_prepare(cfg, &link_fd, obdir, sizeof obdir, &err)) !=
      CK_OK)
    goto fail;
  /* work inside the outbox: after the switch to [agent] user the state
   * directory (0700 root) can no longer be traversed, "." still works */
  if (chdir(obdir) != 0) {
    rc = ck_setf(&err, ck_err_from_errno(-errno), "%s: %s", obdir,
                 strerror(errno));
    goto fail;
  }
  if ((rc = ck_outbox_open(".", (size_t)cfg->outbox_max_events,
                           (size_t)cfg->outbox_max_bytes, &n->outbox,
                           &err)) != CK_OK)
    goto fail;
  if (uv_loop_init(&n->loop) != 0) {
    ck_setf(&err, CK_ERR_INTERNAL, "cannot create the event loop");
    goto fail;
  }
  loop_ok = 1;

  memset(&so, 0, sizeof so);
  so.server = cfg->server;
  so.agent_id = cfg->agent_id;
  so.cert_pem = cert;
  so.cert_pem_len = cert_len;
  so.key_pem = key;
  so.key_pem_len = key_len;
  so.ca_pem = ca;
  so.ca_pem_len = ca_len;
  so.reconnect_max_s = (unsigned)cfg->reconnect_max;
  so.outbox = n->outbox;
  so.link_state_fd = link_fd;
  memset(&cb, 0, sizeof cb);
  cb.up = ck__net_on_up;
  cb.down = ck__net_on_down;
  cb.msg = ck__net_on_coord;
  cb.arg = n;
  /* the TLS context is built here, before the sandbox */
  if ((rc = ck_session_new(&n->loop, &so, &cb, &n->ses, &err)) != CK_OK)
    goto fail;
  ck_crypto_free_secret(key, key_len + 1);
  key = NULL;

  /* from here on: the [agent] user and the sandbox */
  if ((rc = ck_sandbox_drop_user(cfg->user, &err)) != CK_OK)
    goto fail;
  rc = ck_sandbox_enter_net(&err);
  if (rc == CK_ERR_UNSUPPORTED) {
    ck_log(CK_LOG_OPS, CK_LOG_NOTICE, "agent.net.sandbox",
           CK_S("msg", ck_errctx_msg(&err)),
           CK_S("action", "running without the system-call filter"));
    ck_errctx_clear(&err);
  } else if (rc != CK_OK) {
    goto fail;
  }

  if ((rc = ck_ipc_open(&n->loop, fd, CK_WIRE_TO_COORD, ck__net_on_priv,
                        ck__net_on_priv_close, n, &n->ipc, &err)) != CK_OK) {
    fd = -1;
    goto fail;
  }
  fd = -1;
  uv_timer_init(&n->loop, &n->hold_timer);
  n->hold_timer.data = n; /* armed by ck__net_hold_arm when a csr is held */
  uv_signal_init(&n->loop, &n->sig_term);
  uv_signal_init(&n->loop, &n->sig_int);
  uv_signal_init(&n->loop, &n->sig_hup);
  n->sig_term.data = n->sig_int.data = n->sig_hup.data = n;
  uv_signal_start(&n->sig_term, ck__net_signal, SIGTERM);
  uv_signal_start(&n->sig_int, ck__net_signal, SIGINT);
  uv_signal_start(&n->sig_hup, ck__net_signal, SIGHUP);
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "agent.net.start", CK_S("server", cfg->server),
         CK_S("agent", cfg->agent_id),
         CK_I("outbox", ck_outbox_count(n->outbox)));
  uv_run(&n->loop, UV_RUN_DEFAULT);
  status = n->status;
  goto out;
fail:
  ck_log(CK_LOG_OPS, CK_LOG_ERR, "agent.net.fail",
         CK_E(err.code, ck_errctx_msg(&err)));
  status = 1;
  if (n != NULL && n->ses != NULL) {
    ck_session_close(n->ses);
    n->ses = NULL;
  }
out:
  if (loop_ok) {
    uv_run(&n->loop, UV_RUN_DEFAULT); /* let closes finish */
    (void)uv_loop_close(&n->loop);
  }
  if (fd >= 0)
    close(fd);
  if (link_fd >= 0)
    close(link_fd);
  if (key != NULL)
    ck_crypto_free_secret(key, key_len + 1);
  free(cert);
  free(ca);
  if (n != NULL) {
    ck_outbox_close(n->outbox);
    free(n);
  }
  return status;
}
