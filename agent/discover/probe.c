/* probe.c — TLS handshakes against local listening sockets to learn which
 * certificate each serves (see probe.h). One private loop; every probe is a
 * ck_tls_connect (common/net/tls.h) with verification off, bounded by the
 * context's handshake timeout; a loop-wide deadline guards the TCP connect,
 * which has no timeout of its own. */
#include "agent/discover/probe.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/crypto/tls.h"
#include "common/net/tls.h"
#include "common/util/log.h"
#include "common/util/mem.h"

#define PROBE_DEF_TIMEOUT 3000u
#define PROBE_SLACK_MS 2000u

typedef struct probe_run probe_run;

/* One endpoint. */
typedef struct probe_one {
  probe_run *run;
  char addr[80]; /* what is connected to, "127.0.0.1:443" */
  uint8_t *der;  /* served leaf (owned) */
  size_t der_len;
  int state; /* 0 waiting, 1 connecting, 2 finished */
} probe_one;

/* One ck_probe_endpoints call: heap allocated so that it can be abandoned
 * with its loop should a connect outlive the deadline (see probe_wait). */
struct probe_run {
  uv_loop_t loop;
  uv_timer_t deadline;
  ck_tls_ctx *ctx;
  probe_one *p;
  size_t n, next;
  size_t active;  /* connects and handshakes under way */
  size_t closing; /* TLS conns whose close has not completed */
  int expired;
  int timer_closed;
  ck_err fatal; /* CK_ERR_NOMEM from a callback */
};

static void start_more(probe_run *r);

static void conn_closed(ck_conn *c) {
  probe_run *r = c->data;
  r->closing--;
}

static void on_handshake(ck_conn *c, ck_err status, const ck_errctx *err,
                         void *arg) {
  probe_one *p = arg;
  probe_run *r = p->run;
  p->state = 2;
  r->active--;
  if (status == CK_OK) {
    const ck_tls_session *s = ck_tls_conn_session(c);
    size_t len = 0;
    const uint8_t *der = s ? ck_tls_session_peer_cert(s, &len, NULL) : NULL;
    if (der && len) {
      p->der = malloc(len);
      if (p->der) {
        memcpy(p->der, der, len);
        p->der_len = len;
      } else {
        r->fatal = CK_ERR_NOMEM;
      }
    }
    c->data = r;
    r->closing++;
    ck_conn_close(c, conn_closed);
  } else {
    ck_log(CK_LOG_OPS, CK_LOG_DEBUG, "probe.skipped", CK_S("addr", p->addr),
           CK_E(status, err ? ck_errctx_msg(err) : ck_strerror(status)));
  }
  start_more(r);
}

/* Starts probes until CK_PROBE_PARALLEL are under way. */
static void start_more(probe_run *r) {
  while (!r->expired && r->active < CK_PROBE_PARALLEL && r->next < r->n) {
    probe_one *p = &r->p[r->next++];
    ck_errctx e = CK_ERRCTX_INIT;
    if (ck_tls_connect(&r->loop, p->addr, r->ctx, on_handshake, p, &e) !=
        CK_OK) {
      p->state = 2;
      ck_log(CK_LOG_OPS, CK_LOG_DEBUG, "probe.skipped", CK_S("addr", p->addr),
             CK_E(CK_ERR_ADDR, ck_errctx_msg(&e)));
      continue;
    }
    p->state = 1;
    r->active++;
  }
}

static void on_deadline(uv_timer_t *t) {
  probe_run *r = t->data;
  r->expired = 1;
}

static void timer_closed(uv_handle_t *h) {
  probe_run *r = h->data;
  r->timer_closed = 1;
}

/* Maps a listening address to the one to connect to: wildcards become
 * loopback. Returns 0 when it cannot be used. */
static int connect_addr(const char *listen, char *out, size_t len) {
  const char *port;
  if (!strncmp(listen, "0.0.0.0:", 8))
    return (size_t)snprintf(out, len, "127.0.0.1:%s", listen + 8) < len;
  if (!strncmp(listen, "[::]:", 5))
    return (size_t)snprintf(out, len, "[::1]:%s", listen + 5) < len;
  port = strrchr(listen, ':');
  if (!port || !port[1])
    return 0;
  return ck_strlcpy(out, listen, len) < len;
}

/* Adds ep to f's endpoints unless present; 0 on OOM. */
static int add_endpoint(ck_finding *f, const char *ep) {
  char **v;
  for (size_t i = 0; i < f->n_endpoints; i++)
    if (!strcmp(f->endpoints[i], ep))
      return 1;
  v = realloc(f->endpoints, (f->n_endpoints + 1) * sizeof(*v));
  if (!v)
    return 0;
  f->endpoints = v;
  v[f->n_endpoints] = strdup(ep);
  if (!v[f->n_endpoints])
    return 0;
  f->n_endpoints++;
  return 1;
}

/* Adds addr to the endpoints of the first nfiles findings of d (file
 * findings) whose certificate has fingerprint fp; 0 on OOM. */
static int mark_endpoint(ck_discover *d, size_t nfiles, const char *fp,
                         const char *addr) {
  for (size_t k = 0; k < nfiles; k++) {
    ck_finding *f = &d->f[k];
    if (f->has_cert && strncmp(f->path, "tcp://", 6) != 0 &&
        !strcmp(f->fingerprint, fp) && !add_endpoint(f, addr))
      return 0;
  }
  return 1;
}

/* Records what the probes found into d. */
static ck_err record(probe_run *r, ck_discover *d, ck_errctx *err) {
  size_t nfiles = d->n;
  for (size_t i = 0; i < r->n; i++) {
    probe_one *p = &r->p[i];
    char path[96];
    ck_errctx e = CK_ERRCTX_INIT;
    ck_err rc;
    const char *fp;
    if (!p->der)
      continue;
    snprintf(path, sizeof(path), "tcp://%s", p->addr);
    rc = ck_discover_add_der(d, path, NULL, p->der, p->der_len, 0, &e);
    if (rc == CK_ERR_NOMEM)
      return ck_failf(err, rc, "probe: out of memory");
    if (rc != CK_OK) {
      ck_log(CK_LOG_OPS, CK_LOG_INFO, "probe.bad_cert", CK_S("addr", p->addr),
             CK_E(rc, ck_errctx_msg(&e)));
      continue;
    }
    fp = d->f[d->n - 1].fingerprint;
    if (!mark_endpoint(d, nfiles, fp, p->addr))
      return ck_failf(err, CK_ERR_NOMEM, "probe: out of memory");
  }
  return CK_OK;
}

ck_err ck_probe_apply(const ck_discover *probed, ck_discover *d,
                      ck_errctx *err) {
  size_t nfiles;

  if (probed == NULL || d == NULL)
    return ck_failf(err, CK_ERR_INVAL, "probe: missing argument");
  nfiles = d->n;
  for (size_t i = 0; i < probed->n; i++) {
    const ck_finding *t = &probed->f[i];
    int dup = 0;
    if (!t->has_cert || strncmp(t->path, "tcp://", 6) != 0)
      continue;
    for (size_t k = 0; k < d->n && !dup; k++) /* one per endpoint */
      dup = !strcmp(d->f[k].path, t->path);
    if (dup)
      continue;
    if (ck_discover_append_copy(d, t) != CK_OK ||
        !mark_endpoint(d, nfiles, t->fingerprint, t->path + 6))
      return ck_failf(err, CK_ERR_NOMEM, "probe: out of memory");
  }
  return CK_OK;
}

ck_err ck_probe_endpoints(const ck_listen_addr *a, size_t n,
                          unsigned timeout_ms, ck_discover *d,
                          ck_errctx *err) {
  probe_run *r = NULL;
  ck_tls_config cfg;
  ck_err rc = CK_OK;
  uint64_t deadline;
  int loop_ok = 0, abandon = 0;
  if (!d || (n && !a))
    return ck_failf(err, CK_ERR_INVAL, "probe: missing argument");
  if (!n)
    return CK_OK;
  if (!timeout_ms)
    timeout_ms = PROBE_DEF_TIMEOUT;
  r = calloc(1, sizeof(*r));
  if (!r || !(r->p = calloc(n, sizeof(*r->p)))) {
    rc = ck_failf(err, CK_ERR_NOMEM, "probe: out of memory");
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    char ad[80];
    int dup = 0;
    if (!connect_addr(a[i].addr, ad, sizeof(ad)))
      continue;
    for (size_t k = 0; k < r->n && !dup; k++)
      dup = !strcmp(r->p[k].addr, ad);
    if (dup)
      continue;
    memcpy(r->p[r->n].addr, ad, sizeof(ad));
    r->p[r->n].run = r;
    r->n++;
  }
  memset(&cfg, 0, sizeof(cfg));
  cfg.role = CK_TLS_CLIENT;
  cfg.verify = CK_TLS_VERIFY_NONE;
  cfg.handshake_timeout_ms = timeout_ms;
  rc = ck_tls_ctx_new(&cfg, &r->ctx, err);
  if (rc != CK_OK)
    goto out;
  if (uv_loop_init(&r->loop) != 0) {
    rc = ck_failf(err, CK_ERR_INTERNAL, "probe: cannot create a loop");
    goto out;
  }
  loop_ok = 1;
  uv_timer_init(&r->loop, &r->deadline);
  r->deadline.data = r;
  /* every probe ends within timeout_ms of its connect, CK_PROBE_PARALLEL at
   * a time; the slack covers the connects themselves */
  deadline = ((uint64_t)timeout_ms + PROBE_SLACK_MS) *
             ((r->n + CK_PROBE_PARALLEL - 1) / CK_PROBE_PARALLEL);
  uv_timer_start(&r->deadline, on_deadline, deadline, 0);
  start_more(r);
  while ((r->active || r->closing || r->next < r->n) && !r->expired)
    uv_run(&r->loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&r->deadline, timer_closed);
  if (r->active || r->closing) {
    /* A connect that never completes (SYN dropped by a full backlog) has
     * no timeout of its own and cannot be cancelled through the conn
     * layer: leave the loop and this run behind rather than block. */
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "probe.abandoned",
           CK_I("pending", r->active + r->closing));
    abandon = 1;
  } else {
    (void)uv_run(&r->loop, UV_RUN_DEFAULT); /* closes still lingering */
  }
  if (r->fatal != CK_OK) {
    rc = ck_failf(err, r->fatal, "probe: out of memory");
    goto out;
  }
  rc = record(r, d, err);
out:
  if (r) {
    for (size_t i = 0; r->p && i < r->n; i++) {
      free(r->p[i].der);
      r->p[i].der = NULL;
    }
    if (!abandon) {
      if (loop_ok)
        (void)uv_loop_close(&r->loop);
      ck_tls_ctx_free(r->ctx);
      free(r->p);
      free(r);
    }
  }
  return rc;
}
