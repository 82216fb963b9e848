/* net_est.c — the net process of an agent in EST mode ([est] in the
 * config, docs/internals/agent.md "EST mode"): instead of a session with
 * the coordinator's agent gateway it answers priv's `csr` messages with
 * EST simpleenroll (agent/link/est.h). Its credentials (the fleet secret or
 * the IDevID certificate and key) are read while still privileged, like
 * the identity of the gateway mode; then it drops to the [agent] user and
 * enters the same sandbox. It never sees a managed certificate's key:
 * simplereenroll, which authenticates with that key, runs in priv
 * (priv_est.c). Events are logged and acknowledged (there is no outbox to
 * a coordinator), inventories dropped. */
#include "agent/run/net_est.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "agent/link/est.h"
#include "agent/run/ipc.h"
#include "common/crypto/crypto.h"
#include "common/util/fs.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "platforms/sandbox.h"

#define CK__SECRET_MAX 4096u

typedef struct ck__nest {
  uv_loop_t loop;
  uv_signal_t sig_term, sig_int, sig_hup;
  ck_ipc *ipc;
  ck_est_client *est;
  int status;
  int stopping;
} ck__nest;

/* One simpleenroll in flight: priv's id and the CSR. */
typedef struct ck__nest_job {
  ck__nest *n;
  uint64_t priv_id;
  char cert_id[72];
  uint8_t *csr;
  size_t csr_len;
} ck__nest_job;

static void ck__nest_to_priv(ck__nest *n, const ck_wire_msg *m) {
  ck_errctx err = CK_ERRCTX_INIT;

  if (n->ipc != NULL && ck_ipc_send(n->ipc, m, &err) != CK_OK)
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.net.to_priv",
           CK_S("type", ck_wire_type_name(m->type)),
           CK_E(err.code, ck_errctx_msg(&err)));
}

static void ck__nest_stop(ck__nest *n, int status) {
  if (n->stopping)
    return;
  n->stopping = 1;
  n->status = status;
  ck_est_client_close(n->est);
  n->est = NULL;
  ck_ipc_close(n->ipc);
  n->ipc = NULL;
  uv_close((uv_handle_t *)&n->sig_term, NULL);
  uv_close((uv_handle_t *)&n->sig_int, NULL);
  uv_close((uv_handle_t *)&n->sig_hup, NULL);
}

static void ck__nest_done(ck_est_client *c, ck_est_result *res, void *arg) {
  ck__nest_job *j = arg;
  ck__nest *n = j->n;
  ck_arena *a = ck_arena_new(16384);
  ck_errctx err = CK_ERRCTX_INIT;
  const uint8_t *ca;
  size_t ca_len = 0;
  ck_wire_msg m;

  ca = ck_est_client_ca_pem(c, &ca_len);
  if (a == NULL) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "agent.est.answer",
           CK_S("msg", "out of memory"));
    goto out;
  }
  if (ck_est_answer(res, j->csr, j->csr_len, ca, ca_len, a, &m, &err) !=
      CK_OK)
    ck_log(CK_LOG_SEC, CK_LOG_WARN, "agent.est.bad_answer",
           CK_S("cert", j->cert_id), CK_E(err.code, ck_errctx_msg(&err)));
  m.id = j->priv_id;
  if (m.type == CK_WIRE_CERT) {
    m.u.cert.cert_id = j->cert_id;
    ck_log(CK_LOG_OPS, CK_LOG_INFO, "agent.est.enrolled",
           CK_S("cert", j->cert_id), CK_S("op", "simpleenroll"),
           CK_I("chain", m.u.cert.chain.n));
  } else {
    ck_log(res->rc == CK_ERR_AGAIN ? CK_LOG_OPS : CK_LOG_SEC,
           res->rc == CK_ERR_AGAIN ? CK_LOG_NOTICE : CK_LOG_WARN,
           "agent.est.refused", CK_S("cert", j->cert_id),
           CK_S("op", "simpleenroll"), CK_I("status", res->status),
           CK_E((ck_err)m.u.error.code,
                m.u.error.message ? m.u.error.message : ""));
  }
  ck__nest_to_priv(n, &m);
out:
  ck_arena_free(a);
  free(j->csr);
  free(j);
}

static void ck__nest_csr(ck__nest *n, const ck_wire_msg *m) {
  ck__nest_job *j = calloc(1, sizeof *j);
  ck_errctx err = CK_ERRCTX_INIT;
  ck_wire_msg e;

  if (j == NULL || (j->csr = malloc(m->u.csr.csr.len + 1)) == NULL) {
    free(j);
    ck_setf(&err, CK_ERR_NOMEM, "out of memory");
    goto fail;
  }
  j->n = n;
  j->priv_id = m->id;
  ck_strlcpy(j->cert_id, m->u.csr.cert_id ? m->u.csr.cert_id : "",
             sizeof j->cert_id);
  memcpy(j->csr, m->u.csr.csr.data, m->u.csr.csr.len);
  j->csr_len = m->u.csr.csr.len;
  if (n->est == NULL ||
      ck_est_enroll(n->est, 0, j->csr, j->csr_len, ck__nest_done, j, &err) !=
          CK_OK) {
    free(j->csr);
    free(j);
    goto fail;
  }
  return;
fail:
  memset(&e, 0, sizeof e);
  e.type = CK_WIRE_ERROR;
  e.id = m->id;
  e.u.error.code = err.code != CK_OK ? err.code : CK_ERR_CLOSED;
  e.u.error.message = ck_errctx_msg(&err);
  e.u.error.retry_after = 60;
  e.u.error.has_retry_after = true;
  ck__nest_to_priv(n, &e);
}

static void ck__nest_on_priv(ck_ipc *ipc, const ck_wire_msg *m, void *arg) {
  ck__nest *n = arg;
  ck_wire_msg f;

  (void)ipc;
  switch (m->type) {
  case CK_WIRE_CSR:
    ck__nest_csr(n, m);
    return;
  case CK_WIRE_EVENT: /* no coordinator: the log is the record */
    ck_log(CK_LOG_OPS, CK_LOG_INFO, "agent.est.event",
           CK_S("cert", m->u.event.cert_id ? m->u.event.cert_id : ""),
           CK_S("state", m->u.event.new_state ? m->u.event.new_state : ""),
           CK_S("reason", m->u.event.reason ? m->u.event.reason : ""));
    memset(&f, 0, sizeof f);
    f.type = CK_WIRE_ACK;
    f.id = m->id;
    ck__nest_to_priv(n, &f);
    return;
  default: /* inventories, acks: nobody to send them to */
    return;
  }
}

static void ck__nest_on_priv_close(ck_ipc *ipc, ck_err why, void *arg) {
  ck__nest *n = arg;

  (void)ipc;
  ck_log(CK_LOG_OPS, why == CK_ERR_CLOSED ? CK_LOG_NOTICE : CK_LOG_ERR,
         "agent.net.priv_gone", CK_S("err", ck_err_name(why)),
         CK_S("action", "net exits; the supervisor restarts the workers"));
  ck__nest_stop(n, 1);
}

static void ck__nest_signal(uv_signal_t *h, int signum) {
  ck__nest *n = h->data;

  if (signum == SIGHUP)
    return;
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "agent.net.stop", CK_I("signal", signum));
  ck__nest_stop(n, 0);
}

/* Reads the fleet secret: a regular file that only its owner can read.
 * Trailing CR/LF are not part of it. */
static ck_err ck__nest_secret(const char *path, uint8_t **out, size_t *len,
                              size_t *alloc_len, ck_errctx *err) {
  struct stat st;
  ck_err rc;

  if (stat(path, &st) != 0)
    return ck_failf(err, CK_ERR_NOENT, "[est] secret_file %s: cannot read",
                    path);
  if ((st.st_mode & 077) != 0)
    return ck_failf(err, CK_ERR_PERM,
                    "[est] secret_file %s: mode %03o, must not be readable "
                    "by group or others (chmod 600)",
                    path, (unsigned)(st.st_mode & 0777));
  if ((rc = ck_fs_read_file(path, CK__SECRET_MAX, out, len, err)) != CK_OK)
    return ck_failf(err, rc, "[est] secret_file");
  *alloc_len = *len + 1;
  while (*len > 0 && ((*out)[*len - 1] == '\n' || (*out)[*len - 1] == '\r'))
    (*len)--;
  if (*len == 0)
    return ck_failf(err, CK_ERR_CONFIG, "[est] secret_file %s is empty",
                    path);
  return CK_OK;
}

int ck_net_est_main(const ck_agentconf *cfg, int fd) {
  ck__nest *n = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t *secret = NULL, *cert = NULL, *key = NULL;
  size_t secret_len = 0, secret_alloc = 0, cert_len = 0, key_len = 0;
  int loop_ok = 0, status = 1;
  ck_est_conf ec;
  ck_err rc;

  signal(SIGPIPE, SIG_IGN);
  if ((n = calloc(1, sizeof *n)) == NULL) {
    ck_setf(&err, CK_ERR_NOMEM, "out of memory");
    goto fail;
  }
  /* credentials, while still privileged */
  if (cfg->est_secret_file != NULL &&
      (rc = ck__nest_secret(cfg->est_secret_file, &secret, &secret_len,
                            &secret_alloc, &err)) != CK_OK)
    goto fail;
  if (cfg->est_idevid_cert != NULL &&
      ((rc = ck_fs_read_file(cfg->est_idevid_cert, 1 << 20, &cert, &cert_len,
                             &err)) != CK_OK ||
       (rc = ck_fs_read_file(cfg->est_idevid_key, 65536, &key, &key_len,
                             &err)) != CK_OK)) {
    ck_failf(&err, rc, "[est] idevid");
    goto fail;
  }
  if (uv_loop_init(&n->loop) != 0) {
    ck_setf(&err, CK_ERR_INTERNAL, "cannot create the event loop");
    goto fail;
  }
  loop_ok = 1;
  memset(&ec, 0, sizeof ec);
  ec.url = cfg->est_url;
  ec.ca_fingerprint = cfg->est_ca_fingerprint;
  ec.user = cfg->est_fleet;
  ec.password = secret;
  ec.password_len = secret_len;
  ec.cert_pem = cert;
  ec.cert_pem_len = cert_len;
  ec.key_pem = key;
  ec.key_pem_len = key_len;
  ec.timeout_ms = (unsigned)(cfg->est_timeout > 0 ? cfg->est_timeout : 30) *
                  1000u;
  /* the TLS contexts (and the IDevID key in them) are built here */
  if ((rc = ck_est_client_new(&n->loop, &ec, &n->est, &err)) != CK_OK)
    goto fail;
  if (secret != NULL)
    ck_crypto_free_secret(secret, secret_alloc);
  if (key != NULL)
    ck_crypto_free_secret(key, key_len + 1);
  secret = key = NULL;

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
  rc = ck_ipc_open(&n->loop, fd, CK_WIRE_TO_COORD, ck__nest_on_priv,
                   ck__nest_on_priv_close, n, &n->ipc, &err);
  fd = -1;
  if (rc != CK_OK)
    goto fail;
  uv_signal_init(&n->loop, &n->sig_term);
  uv_signal_init(&n->loop, &n->sig_int);
  uv_signal_init(&n->loop, &n->sig_hup);
  n->sig_term.data = n->sig_int.data = n->sig_hup.data = n;
  uv_signal_start(&n->sig_term, ck__nest_signal, SIGTERM);
  uv_signal_start(&n->sig_int, ck__nest_signal, SIGINT);
  uv_signal_start(&n->sig_hup, ck__nest_signal, SIGHUP);
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "agent.net.start", CK_S("mode", "est"),
         CK_S("server", cfg->est_url),
         CK_S("auth", cfg->est_fleet != NULL ? "basic" : "idevid"));
  uv_run(&n->loop, UV_RUN_DEFAULT);
  status = n->status;
  goto out;
fail:
  ck_log(CK_LOG_OPS, CK_LOG_ERR, "agent.net.fail",
         CK_E(err.code, ck_errctx_msg(&err)));
  status = 1;
  if (n != NULL) {
    ck_est_client_close(n->est);
    n->est = NULL;
  }
out:
  if (loop_ok) {
    uv_run(&n->loop, UV_RUN_DEFAULT); /* let closes finish */
    (void)uv_loop_close(&n->loop);
  }
  if (fd >= 0)
    close(fd);
  if (secret != NULL)
    ck_crypto_free_secret(secret, secret_alloc);
  if (key != NULL)
    ck_crypto_free_secret(key, key_len + 1);
  free(cert);
  free(n);
  return status;
}
