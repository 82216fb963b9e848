/* enroll.c — `certkeeper-agent enroll`: key + CSR on the host, CA-pinned TLS
 * to the agent gateway, `enroll` -> `cert`, verification of the answer, and
 * the state directory (state.c). One libuv loop, bounded by a timer. */
#include "agent/link/enroll.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "agent/link/hostfacts.h"
#include "agent/link/state.h"
#include "common/crypto/crypto.h"
#include "common/net/tls.h"
#include "common/util/clock.h"
#include "common/util/fs.h"
#include "common/util/mem.h"
#include "common/wire/framer.h"
#include "common/wire/wire.h"
#include "platforms/platform.h"

#define CK_ENROLL_TIMEOUT_MS 30000u
/* Largest --token-file accepted (a token is ~50 characters). */
#define CK_ENROLL_TOKEN_FILE_MAX 4096u

#ifndef CK_VERSION
#define CK_VERSION "0.1.0"
#endif

/* The exchange in flight. */
typedef struct ck__enr {
  uv_loop_t loop;
  uv_timer_t timer;
  ck_conn *conn;
  ck_wire_framer fr;
  const ck_wire_enroll *req;
  const char *platform; /* hello.platform: "linux-x86_64" */
  uint64_t req_id;
  int done;       /* a result (or failure) is known */
  int closing;    /* conn close requested, not finished */
  ck_err rc;      /* result */
  ck_errctx err;  /* its message */
  uint8_t *ca_der; /* the pinned CA presented by the server (malloc) */
  size_t ca_len;
  uint8_t *cert_der; /* answer: leaf (malloc) */
  size_t cert_len;
  ck_cert_list chain; /* answer: chain */
  char agent_id[128];
} ck__enr;

static void ck__enr_closed(ck_conn *c) {
  ck__enr *e = c->data;
  e->conn = NULL;
  e->closing = 0;
}

static void ck__enr_finish(ck__enr *e) {
  e->done = 1;
  uv_timer_stop(&e->timer);
  if (e->conn != NULL && !e->closing) {
    e->closing = 1;
    ck_conn_close(e->conn, ck__enr_closed);
  }
}

static void ck__enr_fail(ck__enr *e, ck_err code, const char *msg) {
  if (e->done)
    return;
  e->rc = ck_setf(&e->err, code, "%s", msg);
  ck__enr_finish(e);
}

static void ck__enr_timeout(uv_timer_t *t) {
  ck__enr *e = t->data;
  ck__enr_fail(e, CK_ERR_TIMEOUT,
               "timed out waiting for the coordinator's answer");
}

static ck_err ck__enr_send(ck__enr *e, const ck_wire_msg *m) {
  uint8_t *buf = NULL;
  size_t len = 0;
  uv_buf_t b;
  ck_err rc;

  if ((rc = ck_wire_encode(m, NULL, &buf, &len, &e->err)) != CK_OK)
    goto out;
  b = uv_buf_init((char *)buf, (unsigned)len);
  rc = ck_conn_write(e->conn, &b, 1, NULL, NULL);
  if (rc != CK_OK)
    ck_failf(&e->err, rc, "sending '%s'", ck_wire_type_name(m->type));
out:
  if (buf != NULL) {
    ck_wipe(buf, len); /* an enroll frame holds the token */
    free(buf);
  }
  return rc;
}

/* Handles one decoded frame. */
static void ck__enr_frame(ck__enr *e, const ck_wire_msg *m) {
  char msg[600];
  size_t i;

  switch (m->type) {
  case CK_WIRE_PING: {
    ck_wire_msg p;
    memset(&p, 0, sizeof p);
    p.type = CK_WIRE_PONG;
    p.id = m->id;
    p.u.pong.time = ck_clock_now();
    if (ck__enr_send(e, &p) != CK_OK)
      ck__enr_fail(e, e->err.code, ck_errctx_msg(&e->err));
    return;
  }
  case CK_WIRE_CERT:
    if (m->id != e->req_id)
      return;
    if (m->u.cert.cert.data == NULL || m->u.cert.cert.len == 0 ||
        m->u.cert.agent_id == NULL || m->u.cert.agent_id[0] == '\0') {
      ck__enr_fail(e, CK_ERR_WIRE_MISSING,
                   "the coordinator's answer has no certificate or agent id");
      return;
    }
    e->cert_der = malloc(m->u.cert.cert.len);
    if (e->cert_der == NULL) {
      ck__enr_fail(e, CK_ERR_NOMEM, "out of memory");
      return;
    }
    memcpy(e->cert_der, m->u.cert.cert.data, m->u.cert.cert.len);
    e->cert_len = m->u.cert.cert.len;
    for (i = 0; i < m->u.cert.chain.n; i++) {
      if (ck_cert_list_parse(&e->chain, m->u.cert.chain.v[i].data,
                             m->u.cert.chain.v[i].len, &e->err) != CK_OK) {
        ck__enr_fail(e, e->err.code, "the returned chain does not parse");
        return;
      }
    }
    ck_strlcpy(e->agent_id, m->u.cert.agent_id, sizeof e->agent_id);
    e->rc = CK_OK;
    ck__enr_finish(e);
    return;
  case CK_WIRE_ERROR:
    snprintf(msg, sizeof msg, "the coordinator refused the enrollment: %s",
             m->u.error.message != NULL ? m->u.error.message : "no reason");
    ck__enr_fail(e, m->u.error.code < 0 ? (ck_err)m->u.error.code
                                        : CK_ERR_DENIED,
                 msg);
    return;
  case CK_WIRE_PENDING:
    snprintf(msg, sizeof msg,
             "the enrollment is pending (%s%s%s); run enroll again later",
             m->u.pending.reason != NULL ? m->u.pending.reason : "pending",
             m->u.pending.ticket != NULL ? ", ticket " : "",
             m->u.pending.ticket != NULL ? m->u.pending.ticket : "");
    ck__enr_fail(e, CK_ERR_AGAIN, msg);
    return;
  default:
    return; /* ignore anything else */
  }
}

static void ck__enr_read(ck_conn *c, const uint8_t *data, size_t len,
                         ck_err status) {
  ck__enr *e = c->data;
  const uint8_t *body;
  size_t blen;
  ck_errctx derr = CK_ERRCTX_INIT;

  if (e->done)
    return;
  if (status != CK_OK) {
    ck__enr_fail(e, status == CK_ERR_CLOSED ? CK_ERR_CLOSED : status,
                 "the coordinator closed the connection without answering");
    return;
  }
  if (ck_wire_framer_feed(&e->fr, data, len, &derr) != CK_OK) {
    ck__enr_fail(e, derr.code, ck_errctx_msg(&derr));
    return;
  }
  while (!e->done && ck_wire_framer_next(&e->fr, &body, &blen, &derr) == CK_OK) {
    ck_arena *a = ck_arena_new(4096);
    ck_wire_msg m;

    if (a == NULL) {
      ck__enr_fail(e, CK_ERR_NOMEM, "out of memory");
      return;
    }
    memset(&m, 0, sizeof m);
    if (ck_wire_decode(body, blen, NULL, a, &m, &derr) != CK_OK) {
      ck_arena_free(a);
      ck__enr_fail(e, derr.code, ck_errctx_msg(&derr));
      return;
    }
    ck__enr_frame(e, &m);
    ck_arena_free(a);
  }
}

static void ck__enr_hs(ck_conn *c, ck_err status, const ck_errctx *err,
                       void *arg) {
  ck__enr *e = arg;
  const uint8_t *ca;
  size_t ca_len = 0;
  ck_wire_msg m;

  if (status != CK_OK) {
    char msg[600];
    if (status == CK_ERR_PIN_MISMATCH)
      snprintf(msg, sizeof msg,
               "the server's CA does not match --ca-fingerprint (pin "
               "mismatch): %s",
               err ? ck_errctx_msg(err) : "");
    else if (status == CK_ERR_NET || status == CK_ERR_ADDR)
      snprintf(msg, sizeof msg,
               "cannot connect to the coordinator (connection refused or "
               "unreachable; check --server): %s",
               err ? ck_errctx_msg(err) : ck_strerror(status));
    else
      snprintf(msg, sizeof msg, "cannot connect: %s",
               err ? ck_errctx_msg(err) : ck_strerror(status));
    ck__enr_fail(e, status, msg);
    return;
  }
  e->conn = c;
  c->data = e;
  if (e->done) { /* timed out meanwhile */
    e->closing = 1;
    ck_conn_close(c, ck__enr_closed);
    return;
  }
  ca = ck_tls_conn_pinned_ca(c, &ca_len);
  if (ca == NULL || ca_len == 0 || (e->ca_der = malloc(ca_len)) == NULL) {
    ck__enr_fail(e, CK_ERR_PIN_MISMATCH,
                 "the server did not present the pinned CA certificate");
    return;
  }
  memcpy(e->ca_der, ca, ca_len);
  e->ca_len = ca_len;
  if (ck_conn_read_start(c, ck__enr_read) != CK_OK) {
    ck__enr_fail(e, CK_ERR_NET, "cannot read from the connection");
    return;
  }
  /* hello first (the protocol's opening: it carries our version, which the
   * coordinator records on the agent), then enroll without waiting for the
   * welcome: the gateway takes frames in order. */
  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_HELLO;
  m.id = e->req_id - 1;
  m.u.hello.version = CK_VERSION;
  m.u.hello.platform = e->platform;
  if (ck__enr_send(e, &m) != CK_OK) {
    ck__enr_fail(e, e->err.code, ck_errctx_msg(&e->err));
    return;
  }
  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_ENROLL;
  m.id = e->req_id;
  m.u.enroll = *e->req;
  if (ck__enr_send(e, &m) != CK_OK)
    ck__enr_fail(e, e->err.code, ck_errctx_msg(&e->err));
}

/* Runs the network exchange; fills e. */
static ck_err ck__enr_exchange(ck__enr *e, const ck_enroll_opts *o,
                               const ck_wire_enroll *req) {
  ck_tls_config tc;
  ck_tls_ctx *ctx = NULL;
  ck_errctx cerr = CK_ERRCTX_INIT;
  ck_err rc;
  int loop_ok = 0, timer_ok = 0;

  ck_wire_framer_init(&e->fr, 0);
  e->req = req;
  e->req_id = 2; /* 1 is the hello */
  e->rc = CK_ERR_INTERNAL;
  memset(&tc, 0, sizeof tc);
  tc.role = CK_TLS_CLIENT;
  tc.ca_pin_sha256 = o->ca_fingerprint;
  /* the handshake is bounded by the same deadline, so the loop ends soon
   * after the timer even while a connect is still in progress */
  tc.handshake_timeout_ms = o->timeout_ms ? o->timeout_ms : CK_ENROLL_TIMEOUT_MS;
  if ((rc = ck_tls_ctx_new(&tc, &ctx, &cerr)) != CK_OK) {
    e->rc = ck_setf(&e->err, rc, "--ca-fingerprint: %s", ck_errctx_msg(&cerr));
    goto out;
  }
  if (uv_loop_init(&e->loop) != 0) {
    e->rc = ck_setf(&e->err, CK_ERR_INTERNAL, "cannot create the event loop");
    goto out;
  }
  loop_ok = 1;
  uv_timer_init(&e->loop, &e->timer);
  e->timer.data = e;
  timer_ok = 1;
  uv_timer_start(&e->timer, ck__enr_timeout,
                 o->timeout_ms ? o->timeout_ms : CK_ENROLL_TIMEOUT_MS, 0);
  if ((rc = ck_tls_connect(&e->loop, o->server, ctx, ck__enr_hs, e, &cerr)) !=
      CK_OK) {
    e->rc = ck_setf(&e->err, rc, "--server %s: %s", o->server,
                    ck_errctx_msg(&cerr));
    goto out;
  }
  uv_run(&e->loop, UV_RUN_DEFAULT);
out:
  if (timer_ok) {
    uv_timer_stop(&e->timer);
    uv_close((uv_handle_t *)&e->timer, NULL);
  }
  if (loop_ok) {
    uv_run(&e->loop, UV_RUN_DEFAULT);
    uv_loop_close(&e->loop);
  }
  ck_tls_ctx_free(ctx);
  ck_wire_framer_free(&e->fr);
  return e->rc;
}

/* PEM of one DER certificate appended to buf (realloc'ed). */
static ck_err ck__enr_pem_append(char **buf, size_t *len, const uint8_t *der,
                                 size_t der_len) {
  char *pem = NULL, *nb;
  size_t plen = 0;
  ck_err rc;

  if ((rc = ck_pem_encode("CERTIFICATE", der, der_len, &pem, &plen)) != CK_OK)
    return rc;
  nb = realloc(*buf, *len + plen + 1);
  if (nb == NULL) {
    free(pem);
    return CK_ERR_NOMEM;
  }
  memcpy(nb + *len, pem, plen);
  *len += plen;
  nb[*len] = '\0';
  *buf = nb;
  free(pem);
  return CK_OK;
}

ck_err ck_enroll_run(const ck_enroll_opts *o, char *agent_id, size_t idlen,
                     ck_errctx *err) {
  const char *dir;
  ck_key_spec ks;
  ck_key *key = NULL;
  ck_csr *csr = NULL;
  ck_cert *leaf = NULL, *ca = NULL;
  ck_cert_list trusted = {0};
  ck__enr *e = NULL;
  char *key_pem = NULL, *cert_pem = NULL, *ca_pem = NULL;
  size_t key_pem_len = 0, cert_pem_len = 0, ca_pem_len = 0;
  char platform[160];
  ck_hostfacts hf;
  ck_name_attr subj;
  ck_csr_req creq;
  ck_wire_enroll req;
  ck_state_files sf;
  const uint8_t *csr_der;
  size_t csr_len = 0, i;
  uint8_t fp[CK_SHA256_LEN];
  ck_err rc = CK_OK;

  if (o == NULL || o->server == NULL || o->token == NULL ||
      o->ca_fingerprint == NULL || o->token[0] == '\0')
    return ck_failf(err, CK_ERR_INVAL,
                    "--server, --token and --ca-fingerprint are required");
  if (ck_crypto_fingerprint_parse(o->ca_fingerprint, fp) != CK_OK)
    return ck_failf(err, CK_ERR_INVAL,
                    "--ca-fingerprint: not a SHA-256 fingerprint (64 hex "
                    "digits)");
  dir = o->state_dir != NULL ? o->state_dir : CK_STATE_DEFAULT_DIR;
  if (!o->force && ck_state_enrolled(dir))
    return ck_failf(err, CK_ERR_EXIST,
                    "%s already holds an enrollment (use --force to replace "
                    "it)",
                    dir);

  /* host facts (no hardware key stores: the agent reports those later) */
  ck_hostfacts_read(&hf, o->name);

  /* the identity key, generated here */
  if ((rc = ck_key_spec_parse(o->key_spec ? o->key_spec : "ec-p256", &ks,
                              err)) != CK_OK) {
    ck_failf(err, rc, "--key");
    goto out;
  }
  if ((rc = ck_key_generate(&ks, &key, err)) != CK_OK)
    goto out;
  subj.type = "CN";
  subj.value = hf.hostname;
  memset(&creq, 0, sizeof creq);
  creq.subject = &subj;
  creq.n_subject = 1;
  if ((rc = ck_csr_create(key, &creq, &csr, err)) != CK_OK)
    goto out;
  csr_der = ck_csr_der(csr, &csr_len);

  memset(&req, 0, sizeof req);
  req.token = o->token;
  req.csr.data = csr_der;
  req.csr.len = csr_len;
  ck_hostfacts_wire(&hf, &req.host);

  if ((e = calloc(1, sizeof *e)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  snprintf(platform, sizeof platform, "%s-%s", ck_platform_name(),
           hf.arch[0] ? hf.arch : "unknown");
  e->platform = platform;
  if ((rc = ck__enr_exchange(e, o, &req)) != CK_OK) {
    rc = ck_failf(err, rc, "%s", ck_errctx_msg(&e->err));
    goto out;
  }

  /* verify the answer: our key, chains to the pinned CA */
  if ((rc = ck_cert_parse(e->cert_der, e->cert_len, &leaf, err)) != CK_OK) {
    ck_failf(err, rc, "the returned identity certificate");
    goto out;
  }
  if ((rc = ck_key_match_cert(key, leaf, err)) != CK_OK) {
    ck_failf(err, rc, "the returned identity certificate is not for our key");
    goto out;
  }
  if ((rc = ck_cert_parse(e->ca_der, e->ca_len, &ca, err)) != CK_OK)
    goto out;
  if ((rc = ck_cert_list_add(&trusted, ca)) != CK_OK) {
    ca = NULL;
    ck_failf(err, rc, "out of memory");
    goto out;
  }
  ca = NULL;
  if ((rc = ck_cert_verify(leaf, &e->chain, &trusted, 0, err)) != CK_OK) {
    ck_failf(err, rc,
             "the returned identity certificate does not chain to the "
             "pinned CA");
    goto out;
  }

  /* the state directory */
  if ((rc = ck_key_export_pem(key, CK_KEY_PEM_PKCS8, &key_pem, &key_pem_len,
                              err)) != CK_OK)
    goto out;
  if ((rc = ck__enr_pem_append(&cert_pem, &cert_pem_len, e->cert_der,
                               e->cert_len)) != CK_OK)
    goto pem_fail;
  for (i = 0; i < e->chain.n; i++) {
    size_t dl = 0;
    const uint8_t *d = ck_cert_der(e->chain.certs[i], &dl);
    if ((rc = ck__enr_pem_append(&cert_pem, &cert_pem_len, d, dl)) != CK_OK)
      goto pem_fail;
  }
  if ((rc = ck__enr_pem_append(&ca_pem, &ca_pem_len, e->ca_der, e->ca_len)) !=
      CK_OK)
    goto pem_fail;
  memset(&sf, 0, sizeof sf);
  sf.agent_id = e->agent_id;
  sf.server = o->server;
  sf.ca_fingerprint = ck_cert_get_info(trusted.certs[0])->sha256_hex;
  sf.enrolled_at = ck_clock_now();
  sf.key_pem = key_pem;
  sf.key_pem_len = key_pem_len;
  sf.cert_pem = cert_pem;
  sf.cert_pem_len = cert_pem_len;
  sf.ca_pem = ca_pem;
  sf.ca_pem_len = ca_pem_len;
  if ((rc = ck_state_write(dir, &sf, o->force, err)) != CK_OK)
    goto out;
  if (agent_id != NULL && idlen > 0)
    ck_strlcpy(agent_id, e->agent_id, idlen);
  goto out;
pem_fail:
  ck_failf(err, rc, "encoding PEM");
out:
  if (key_pem != NULL) {
    ck_wipe(key_pem, key_pem_len);
    free(key_pem);
  }
  free(cert_pem);
  free(ca_pem);
  if (e != NULL) {
    free(e->ca_der);
    free(e->cert_der);
    ck_cert_list_clear(&e->chain);
    free(e);
  }
  ck_cert_list_clear(&trusted);
  ck_cert_free(ca);
  ck_cert_free(leaf);
  ck_csr_free(csr);
  ck_key_free(key);
  return rc;
}

static void ck__enr_usage(FILE *f) {
  fprintf(f,
          "usage: certkeeper-agent enroll --server HOST:PORT\n"
          "         (--token-file FILE | --token TOKEN) --ca-fingerprint SHA256\n"
          "         [--state-dir DIR] [--name HOSTNAME] [--key ec-p256] [--force]\n"
          "  --token-file is preferred: --token shows in the process list\n");
}

/* Reads the token from the file at path (keeps it out of the process list
 * and shell history): its first line, surrounding blanks removed. *out is
 * malloc'ed (wipe and free it). */
static ck_err ck__enr_token_file(const char *path, char **out,
                                 ck_errctx *err) {
  uint8_t *buf = NULL;
  size_t len = 0, start = 0, end;
  char *tok;
  ck_err rc;

  *out = NULL;
  rc = ck_fs_read_file(path, CK_ENROLL_TOKEN_FILE_MAX, &buf, &len, err);
  if (rc != CK_OK)
    return ck_failf(err, rc, "--token-file %s", path);
  while (start < len && (buf[start] == ' ' || buf[start] == '\t'))
    start++;
  end = start;
  while (end < len && buf[end] != '\n' && buf[end] != '\r')
    end++;
  while (end > start && (buf[end - 1] == ' ' || buf[end - 1] == '\t'))
    end--;
  if (end == start) {
    rc = ck_failf(err, CK_ERR_INVAL, "--token-file %s: no token on its first "
                  "line", path);
    goto out;
  }
  if ((tok = malloc(end - start + 1)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  memcpy(tok, buf + start, end - start);
  tok[end - start] = '\0';
  *out = tok;
out:
  ck_wipe(buf, len);
  free(buf);
  return rc;
}

int ck_enroll_main(int argc, char **argv) {
  ck_enroll_opts o;
  ck_errctx err = CK_ERRCTX_INIT;
  const char *token_file = NULL;
  char id[128], *file_token = NULL;
  int i, status;

  memset(&o, 0, sizeof o);
  for (i = 0; i < argc; i++) {
    const char *a = argv[i];
    const char **dst = NULL;
    if (strcmp(a, "--force") == 0) {
      o.force = 1;
      continue;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      ck__enr_usage(stdout);
      return 0;
    }
    if (strcmp(a, "--server") == 0)
      dst = &o.server;
    else if (strcmp(a, "--token") == 0)
      dst = &o.token;
    else if (strcmp(a, "--token-file") == 0)
      dst = &token_file;
    else if (strcmp(a, "--ca-fingerprint") == 0)
      dst = &o.ca_fingerprint;
    else if (strcmp(a, "--state-dir") == 0)
      dst = &o.state_dir;
    else if (strcmp(a, "--name") == 0)
      dst = &o.name;
    else if (strcmp(a, "--key") == 0)
      dst = &o.key_spec;
    if (dst == NULL || i + 1 >= argc) {
      fprintf(stderr, "certkeeper-agent enroll: %s '%s'\n",
              dst == NULL ? "unknown option" : "missing value for", a);
      ck__enr_usage(stderr);
      return 2;
    }
    *dst = argv[++i];
  }
  if (o.token != NULL && token_file != NULL) {
    fprintf(stderr, "certkeeper-agent enroll: give --token or --token-file, "
                    "not both\n");
    ck__enr_usage(stderr);
    return 2;
  }
  if (o.server == NULL || (o.token == NULL && token_file == NULL) ||
      o.ca_fingerprint == NULL) {
    fprintf(stderr, "certkeeper-agent enroll: --server, --token-file (or "
                    "--token) and --ca-fingerprint are required\n");
    ck__enr_usage(stderr);
    return 2;
  }
  if (token_file != NULL) {
    if (ck__enr_token_file(token_file, &file_token, &err) != CK_OK) {
      fprintf(stderr, "certkeeper-agent enroll: %s\n", ck_errctx_msg(&err));
      return 1;
    }
    o.token = file_token;
  }
  status = 0;
  if (ck_enroll_run(&o, id, sizeof id, &err) != CK_OK) {
    fprintf(stderr, "certkeeper-agent enroll: %s\n", ck_errctx_msg(&err));
    status = 1;
  } else {
    printf("enrolled as agent %s with %s; state in %s\n", id, o.server,
           o.state_dir != NULL ? o.state_dir : CK_STATE_DEFAULT_DIR);
  }
  if (file_token != NULL) {
    ck_wipe(file_token, strlen(file_token));
    free(file_token);
  }
  return status;
}
