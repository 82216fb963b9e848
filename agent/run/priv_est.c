/* priv_est.c — EST simplereenroll for priv (see priv_est.h). A renewal's
 * TLS client certificate is the certificate being renewed, so the handshake
 * needs its private key, which only priv may read; and priv neither talks
 * to the network nor parses what comes from it. So priv reads the pair,
 * starts `certkeeper-agent est-reenroll` (est_helper.c) with the inputs on
 * its stdin, and reads the answer — one wire frame, the decoder every
 * frame from net goes through — from its stdout. The helper drops to the
 * [agent] user and enters the net sandbox before it connects. docs/
 * internals/agent.md "EST mode". */
#include "agent/run/priv_est.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/run/est_helper.h"
#include "common/crypto/crypto.h"
#include "common/util/clock.h"
#include "common/util/fs.h"
#include "common/util/log.h"
#include "common/util/mem.h"

struct ck_priv_est {
  uv_loop_t *loop;
  const ck_agentconf *cfg; /* borrowed */
  ck_priv_est_deliver_fn deliver;
  void *arg;
  char *ca_pem; /* anchors learned by an earlier request (PEM) */
  size_t ca_len;
  struct ck__pest_job *jobs; /* in flight */
};

typedef struct ck__pest_job {
  struct ck__pest_job *next;
  ck_priv_est *pe; /* NULL once pe is closed: nothing is delivered */
  uint64_t id;
  char cert_id[72];
  uv_process_t proc;
  uv_pipe_t in, out;
  uv_write_t wr;
  uv_timer_t timer;
  uint8_t *input; /* packed inputs (holds the key: wiped once written) */
  size_t input_len;
  uint8_t *output; /* the helper's stdout */
  size_t out_len, out_cap;
  int handles;  /* libuv handles not yet closed */
  int exited, eof, finished;
  int64_t exit_status;
  int term_signal;
} ck__pest_job;

ck_err ck_priv_est_new(uv_loop_t *loop, const ck_agentconf *cfg,
                       ck_priv_est_deliver_fn deliver, void *arg,
                       ck_priv_est **out, ck_errctx *err) {
  ck_priv_est *pe = calloc(1, sizeof *pe);

  *out = NULL;
  if (pe == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  pe->loop = loop;
  pe->cfg = cfg;
  pe->deliver = deliver;
  pe->arg = arg;
  *out = pe;
  return CK_OK;
}

/* ---- a job's handles -------------------------------------------------------- */

static void ck__job_closed(uv_handle_t *h) {
  ck__pest_job *j = h->data;

  if (--j->handles > 0)
    return;
  if (j->input != NULL)
    ck_crypto_free_secret(j->input, j->input_len);
  free(j->output);
  free(j);
}

static void ck__job_close(uv_handle_t *h) {
  if (!uv_is_closing(h))
    uv_close(h, ck__job_closed);
}

static void ck__job_unlink(ck__pest_job *j) {
  ck__pest_job **pp;

  if (j->pe == NULL)
    return;
  for (pp = &j->pe->jobs; *pp != NULL; pp = &(*pp)->next)
    if (*pp == j) {
      *pp = j->next;
      break;
    }
  j->pe = NULL;
}

/* The answer (or the helper's failure) to the machine. */
static void ck__job_deliver(ck__pest_job *j) {
  ck_priv_est *pe = j->pe;
  ck_wire_bytes f[CK_EST_HELPER_OUT];
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *a = ck_arena_new(16384);
  ck_wire_msg m;
  ck_err rc = CK_ERR_INTERNAL;

  memset(&m, 0, sizeof m);
  if (a == NULL) {
    ck_setf(&err, CK_ERR_NOMEM, "out of memory");
  } else if (j->exit_status != 0 || j->term_signal != 0) {
    ck_setf(&err, CK_ERR_INTERNAL,
            "the EST re-enrollment helper failed (exit %lld, signal %d); "
            "see the log (agent.est.helper)",
            (long long)j->exit_status, j->term_signal);
  } else if ((rc = ck_est_fields_unpack(j->output, j->out_len, f,
                                        CK_EST_HELPER_OUT, &err)) == CK_OK) {
    const uint8_t *fr = f[0].data;
    uint32_t flen = f[0].len >= CK_WIRE_HEADER_LEN
                        ? (uint32_t)fr[0] << 24 | (uint32_t)fr[1] << 16 |
                              (uint32_t)fr[2] << 8 | fr[3]
                        : 0;
    if (f[0].len < CK_WIRE_HEADER_LEN ||
        flen != f[0].len - CK_WIRE_HEADER_LEN)
      rc = ck_setf(&err, CK_ERR_PARSE, "the helper's answer is not a frame");
    else
      rc = ck_wire_decode(fr + CK_WIRE_HEADER_LEN, flen, NULL, a, &m, &err);
    if (rc == CK_OK && m.type != CK_WIRE_CERT && m.type != CK_WIRE_ERROR)
      rc = ck_setf(&err, CK_ERR_PARSE, "the helper answered '%s'",
                   ck_wire_type_name(m.type));
    if (rc == CK_OK && f[1].len > 0 && pe->ca_pem == NULL &&
        (pe->ca_pem = malloc(f[1].len + 1)) != NULL) {
      memcpy(pe->ca_pem, f[1].data, f[1].len);
      pe->ca_pem[f[1].len] = '\0';
      pe->ca_len = f[1].len;
    }
  }
  if (rc != CK_OK || a == NULL) {
    memset(&m, 0, sizeof m);
    m.type = CK_WIRE_ERROR;
    m.u.error.code = err.code != CK_OK ? err.code : CK_ERR_INTERNAL;
    m.u.error.message = ck_errctx_msg(&err);
    m.u.error.retry_after = 60;
    m.u.error.has_retry_after = true;
  }
  m.id = j->id;
  if (m.type == CK_WIRE_CERT) {
    m.u.cert.cert_id = j->cert_id;
    ck_log(CK_LOG_OPS, CK_LOG_INFO, "agent.est.enrolled",
           CK_S("cert", j->cert_id), CK_S("op", "simplereenroll"),
           CK_I("chain", m.u.cert.chain.n));
  } else {
    ck_log(m.u.error.code == CK_ERR_AGAIN ? CK_LOG_OPS : CK_LOG_SEC,
           m.u.error.code == CK_ERR_AGAIN ? CK_LOG_NOTICE : CK_LOG_WARN,
           "agent.est.refused", CK_S("cert", j->cert_id),
           CK_S("op", "simplereenroll"),
           CK_E((ck_err)m.u.error.code,
                m.u.error.message ? m.u.error.message : ""));
  }
  pe->deliver(&m, pe->arg);
  ck_arena_free(a);
}

/* Both the exit and the end of stdout are in: deliver, then close. */
static void ck__job_maybe_finish(ck__pest_job *j) {
  if (j->finished || !j->exited || !j->eof)
    return;
  j->finished = 1;
  if (j->pe != NULL)
    ck__job_deliver(j);
  ck__job_unlink(j);
  uv_timer_stop(&j->timer);
  ck__job_close((uv_handle_t *)&j->timer);
}

static void ck__job_exit(uv_process_t *p, int64_t status, int sig) {
  ck__pest_job *j = p->data;

  j->exited = 1;
  j->exit_status = status;
  j->term_signal = sig;
  ck__job_close((uv_handle_t *)p);
  ck__job_maybe_finish(j);
}

static void ck__job_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  ck__pest_job *j = h->data;

  (void)hint;
  if (j->out_cap - j->out_len < 4096) {
    size_t cap = j->out_cap ? j->out_cap * 2 : 16384;
    uint8_t *nb = cap <= CK_EST_HELPER_MAX ? realloc(j->output, cap) : NULL;
    if (nb == NULL) {
      *buf = uv_buf_init(NULL, 0); /* UV_ENOBUFS: ends the read */
      return;
    }
    j->output = nb;
    j->out_cap = cap;
  }
  *buf = uv_buf_init((char *)j->output + j->out_len,
                     (unsigned)(j->out_cap - j->out_len));
}

static void ck__job_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  ck__pest_job *j = s->data;

  (void)buf;
  if (n > 0) {
    j->out_len += (size_t)n;
    return;
  }
  if (n == 0)
    return;
  if (n != UV_EOF)
    j->out_len = 0; /* unusable: reported as a helper failure */
  j->eof = 1;
  ck__job_close((uv_handle_t *)s);
  ck__job_maybe_finish(j);
}

static void ck__job_written(uv_write_t *w, int status) {
  ck__pest_job *j = w->data;

  (void)status;
  ck_crypto_free_secret(j->input, j->input_len);
  j->input = NULL;
  ck__job_close((uv_handle_t *)&j->in); /* EOF for the helper */
}

static void ck__job_timeout(uv_timer_t *t) {
  ck__pest_job *j = t->data;

  ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.est.helper_timeout",
         CK_S("cert", j->cert_id), CK_S("action", "killed"));
  if (!j->exited)
    (void)uv_process_kill(&j->proc, SIGKILL);
}

/* The certificate being renewed, when it can authenticate a
 * simplereenroll: it is the one the csr replaces and still valid. *pem
 * (cert_file, then chain_file) and *key are malloc'ed. */
static int ck__pest_current(const ck_agentconf_cert *ac, const uint8_t *fp,
                            uint8_t **pem, size_t *pem_len, uint8_t **key,
                            size_t *key_len) {
  ck_cert_list l = {0};
  uint8_t *chain = NULL;
  size_t chain_len = 0;
  int ok = 0, use_full = 0;

  *pem = *key = NULL;
  if (ck_fs_read_file(ac->cert_file, 1 << 20, pem, pem_len, NULL) != CK_OK ||
      ck_cert_list_parse(&l, *pem, *pem_len, NULL) != CK_OK || l.n == 0)
    goto out;
  {
    const ck_cert_info *ci = ck_cert_get_info(l.certs[0]);
    int64_t now = ck_clock_now();
    if (memcmp(ci->sha256, fp, CK_SHA256_LEN) != 0 || now >= ci->not_after ||
        now < ci->not_before)
      goto out;
  }
  /* the server needs the intermediates to verify us: the fullchain file
   * (its leaf is the one just checked) or cert_file + chain_file */
  if (ac->fullchain_file != NULL &&
      ck_fs_read_file(ac->fullchain_file, 1 << 20, &chain, &chain_len, NULL) ==
          CK_OK) {
    ck_cert_list fl = {0};
    size_t l0 = 0, l1 = 0;
    int same = ck_cert_list_parse(&fl, chain, chain_len, NULL) == CK_OK &&
               fl.n > 0 &&
               memcmp(ck_cert_der(fl.certs[0], &l0),
                      ck_cert_der(l.certs[0], &l1), l0 < l1 ? l0 : l1) == 0 &&
               l0 == l1;
    ck_cert_list_clear(&fl);
    if (same) {
      free(*pem);
      *pem = chain;
      *pem_len = chain_len;
      chain = NULL;
      use_full = 1;
    } else {
      free(chain);
      chain = NULL;
    }
  }
  if (!use_full && ac->chain_file != NULL && *pem != NULL &&
      ck_fs_read_file(ac->chain_file, 1 << 20, &chain, &chain_len, NULL) ==
          CK_OK) {
    uint8_t *nb = realloc(*pem, *pem_len + 1 + chain_len + 1);
    if (nb == NULL)
      goto out;
    *pem = nb;
    (*pem)[(*pem_len)++] = '\n';
    memcpy(*pem + *pem_len, chain, chain_len);
    *pem_len += chain_len;
    (*pem)[*pem_len] = '\0';
  }
  if (ck_fs_read_file(ac->key_file, 65536, key, key_len, NULL) != CK_OK)
    goto out;
  ok = 1;
out:
  if (!ok) {
    free(*pem);
    *pem = NULL;
    if (*key != NULL)
      ck_crypto_free_secret(*key, *key_len + 1);
    *key = NULL;
  }
  free(chain);
  ck_cert_list_clear(&l);
  return ok;
}

int ck_priv_est_take(ck_priv_est *pe, const ck_wire_msg *m) {
  const ck_agentconf *cfg;
  const ck_agentconf_cert *ac;
  ck__pest_job *j = NULL;
  uint8_t *pem = NULL, *key = NULL;
  size_t pem_len = 0, key_len = 0, exe_len = 0;
  char exe[4096], tmo[24];
  char *args[3];
  ck_wire_bytes f[CK_EST_HELPER_IN];
  uv_process_options_t po;
  uv_stdio_container_t io[3];
  uv_buf_t b;
  int rc;

  if (pe == NULL || m->type != CK_WIRE_CSR ||
      m->u.csr.replaces.len != CK_SHA256_LEN || m->u.csr.cert_id == NULL ||
      (ac = ck_agentconf_find(pe->cfg, m->u.csr.cert_id)) == NULL)
    return 0;
  cfg = pe->cfg;
  if (!ck__pest_current(ac, m->u.csr.replaces.data, &pem, &pem_len, &key,
                        &key_len)) {
    ck_log(CK_LOG_OPS, CK_LOG_NOTICE, "agent.est.reenroll_skipped",
           CK_S("cert", m->u.csr.cert_id),
           CK_S("why", "the installed certificate is missing, expired or "
                       "not the one renewed: simpleenroll instead"));
    return 0;
  }
  exe_len = sizeof exe;
  if (uv_exepath(exe, &exe_len) != 0 || (j = calloc(1, sizeof *j)) == NULL)
    goto fail;
  j->id = m->id;
  ck_strlcpy(j->cert_id, m->u.csr.cert_id, sizeof j->cert_id);
  snprintf(tmo, sizeof tmo, "%lld",
           (long long)(cfg->est_timeout > 0 ? cfg->est_timeout : 30));
  f[0].data = (const uint8_t *)cfg->est_url;
  f[0].len = strlen(cfg->est_url);
  f[1].data = (const uint8_t *)cfg->est_ca_fingerprint;
  f[1].len = strlen(cfg->est_ca_fingerprint);
  f[2].data = (const uint8_t *)pe->ca_pem;
  f[2].len = pe->ca_pem != NULL ? pe->ca_len : 0;
  f[3].data = pem;
  f[3].len = pem_len;
  f[4].data = key;
  f[4].len = key_len;
  f[5] = m->u.csr.csr;
  f[6].data = (const uint8_t *)(cfg->user != NULL ? cfg->user : "");
  f[6].len = strlen((const char *)f[6].data);
  f[7].data = (const uint8_t *)tmo;
  f[7].len = strlen(tmo);
  if (ck_est_fields_pack(f, CK_EST_HELPER_IN, &j->input, &j->input_len) !=
      CK_OK)
    goto fail;
  uv_pipe_init(pe->loop, &j->in, 0);
  uv_pipe_init(pe->loop, &j->out, 0);
  uv_timer_init(pe->loop, &j->timer);
  j->in.data = j->out.data = j->timer.data = j->proc.data = j->wr.data = j;
  j->handles = 4; /* in, out, timer, proc (closed even when spawn fails) */
  memset(io, 0, sizeof io);
  io[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
  io[0].data.stream = (uv_stream_t *)&j->in;
  io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  io[1].data.stream = (uv_stream_t *)&j->out;
  io[2].flags = UV_INHERIT_FD; /* its log lines go where priv's go */
  io[2].data.fd = 2;
  args[0] = exe;
  args[1] = "est-reenroll";
  args[2] = NULL;
  memset(&po, 0, sizeof po);
  po.file = exe;
  po.args = args;
  po.stdio = io;
  po.stdio_count = 3;
  po.exit_cb = ck__job_exit;
  if ((rc = uv_spawn(pe->loop, &j->proc, &po)) != 0) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "agent.est.helper",
           CK_S("cert", j->cert_id), CK_S("msg", uv_strerror(rc)));
    /* libuv still wants the failed process handle closed */
    ck__job_close((uv_handle_t *)&j->proc);
    ck__job_close((uv_handle_t *)&j->in);
    ck__job_close((uv_handle_t *)&j->out);
    ck__job_close((uv_handle_t *)&j->timer);
    j = NULL; /* freed by the close callbacks */
    goto fail;
  }
  j->pe = pe;
  j->next = pe->jobs;
  pe->jobs = j;
  b = uv_buf_init((char *)j->input, (unsigned)j->input_len);
  if (uv_write(&j->wr, (uv_stream_t *)&j->in, &b, 1, ck__job_written) != 0)
    ck__job_close((uv_handle_t *)&j->in);
  uv_read_start((uv_stream_t *)&j->out, ck__job_alloc, ck__job_read);
  /* the helper bounds its own request (bootstrap + request); this is the
   * backstop */
  uv_timer_start(&j->timer, ck__job_timeout,
                 (uint64_t)(2 * (cfg->est_timeout > 0 ? cfg->est_timeout : 30) +
                            30) *
                     1000u,
                 0);
  free(pem);
  ck_crypto_free_secret(key, key_len + 1);
  return 1;
fail:
  if (j != NULL) {
    if (j->input != NULL)
      ck_crypto_free_secret(j->input, j->input_len);
    free(j);
  }
  free(pem);
  if (key != NULL)
    ck_crypto_free_secret(key, key_len + 1);
  return 0;
}

void ck_priv_est_close(ck_priv_est *pe) {
  if (pe == NULL)
    return;
  while (pe->jobs != NULL) { /* answers dropped, helpers killed */
    ck__pest_job *j = pe->jobs;
    pe->jobs = j->next;
    j->pe = NULL;
    if (!j->exited)
      (void)uv_process_kill(&j->proc, SIGKILL);
    uv_timer_stop(&j->timer);
    ck__job_close((uv_handle_t *)&j->timer);
    ck__job_close((uv_handle_t *)&j->in);
    ck__job_close((uv_handle_t *)&j->out);
    /* the process handle closes in its exit callback */
  }
  free(pe->ca_pem);
  free(pe);
}
