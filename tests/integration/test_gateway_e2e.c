/* test_gateway_e2e.c — the agent gateway end to end, with the real
 * binaries: `certkeeper-coordinator init` and `run` as child processes on
 * free loopback ports, the `certkeeper` CLI for the operator's side, and
 * this test acting as the agent with our own TLS (common/net/tls) and wire
 * codec (common/wire) — no coordinator code linked in.
 *
 * Steps: init (plus a [gateway] section in coordinator.conf); run; /healthz (bounded retry by curl); GET /ca/chain.pem;
 * `certkeeper token create`; enroll over server-authenticated TLS pinning
 * the root CA's SHA-256 -> identity certificate; the same token again ->
 * refused; mutual TLS with the identity -> hello/welcome; an inventory with
 * a discovered certificate (with its DER) -> ack; a renewal CSR for a name
 * under .test -> `cert` that `openssl verify` accepts against the served
 * chain; a name outside policy -> error naming the rule; `certkeeper cert
 * list --unmanaged --json` shows the discovered certificate, `cert list
 * --json` the issued one; `certkeeper audit verify`; SIGTERM -> exit 0.
 *
 * Skipped (with the reason printed) when the build has no coordinator
 * (mbedTLS builds) or the openssl/curl CLIs are missing. Every wait is
 * bounded: libuv timers for the agent and the child's exit, curl's own
 * retry limit for /healthz, no sleeps. */
#include "tests/testutil.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/crypto/certgen.h"
#include "common/crypto/crypto.h"
#include "common/crypto/tls.h"
#include "common/net/tls.h"
#include "common/util/clock.h"
#include "common/util/fs.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "common/wire/framer.h"
#include "common/wire/wire.h"

#define WAIT_MS 20000u
#define QMAX 16

/* ---- the coordinator process ---------------------------------------------- */

typedef struct coord {
  uv_loop_t loop;
  char *tmp;          /* temporary directory (removed at teardown) */
  char bin[1024];     /* certkeeper-coordinator */
  char cli[1024];     /* certkeeper */
  char data[1100];    /* data directory */
  int http, https, gw; /* ports */
  uv_process_t proc;
  int running;        /* proc is alive */
  volatile int exited;
  int64_t exit_status;
  int term_signal;
  char *chain_pem;    /* GET /ca/chain.pem */
  size_t chain_len;
  char root_pin[CK_SHA256_HEX_LEN];
} coord;

static coord co;

static void on_exit_cb(uv_process_t *p, int64_t status, int sig) {
  co.exit_status = status;
  co.term_signal = sig;
  co.exited = 1;
  co.running = 0;
  uv_close((uv_handle_t *)p, NULL);
}

/* A port on 127.0.0.1 that was free a moment ago (bound to 0, released). */
static int free_port(void) {
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  int fd = socket(AF_INET, SOCK_STREAM, 0), port;

  assert_true(fd >= 0);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
  port = ntohs(sa.sin_port);
  close(fd);
  return port;
}

/* Prints the coordinator's log tail (on failures). */
static void show_log(void) {
  char *out = NULL;

  ck_test_sh(&out, "tail -n 40 '%s/coord.log'", co.tmp);
  fprintf(stderr, "---- coordinator log ----\n%s-------------------------\n",
          out != NULL ? out : "");
  free(out);
}

/* Runs a shell command that must succeed; returns its output (caller
 * frees). */
static char *must_sh(const char *what, const char *cmd) {
  char *out = NULL;
  int st = ck_test_sh(&out, "%s", cmd);

  if (st != 0) {
    show_log();
    fail_msg("%s failed (status %d): %s\n%s", what, st, cmd,
             out != NULL ? out : "");
  }
  return out;
}

static void start_coordinator(void) {
  char cmd[8192], a1[64], a2[64], a3[64], logp[4200];
  char *args[16];
  uv_process_options_t po;
  uv_stdio_container_t stdio[3];
  int fd, r;

  snprintf(cmd, sizeof cmd,
           "'%s' init --data-dir '%s' --admin-token-out '%s/admin.token'",
           co.bin, co.data, co.tmp);
  free(must_sh("init", cmd));
  /* [gateway] settings reach the gateway: checked in welcome and in the
   * identity certificate's lifetime */
  snprintf(cmd, sizeof cmd,
           "printf '\\n[gateway]\\nping_interval = 17s\\n"
           "identity_validity = 10d\\n' >> '%s/coordinator.conf'",
           co.data);
  free(must_sh("config", cmd));
  co.http = free_port();
  co.https = free_port();
  co.gw = free_port();
  snprintf(a1, sizeof a1, "127.0.0.1:%d", co.http);
  snprintf(a2, sizeof a2, "127.0.0.1:%d", co.https);
  snprintf(a3, sizeof a3, "127.0.0.1:%d", co.gw);
  snprintf(logp, sizeof logp, "%s/coord.log", co.tmp);
  fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  args[0] = co.bin;
  args[1] = "run";
  args[2] = "--data-dir";
  args[3] = co.data;
  args[4] = "--listen-http";
  args[5] = a1;
  args[6] = "--listen-https";
  args[7] = a2;
  args[8] = "--listen-gateway";
  args[9] = a3;
  args[10] = NULL;
  memset(&po, 0, sizeof po);
  memset(stdio, 0, sizeof stdio);
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_INHERIT_FD;
  stdio[1].data.fd = fd;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = fd;
  po.file = co.bin;
  po.args = args;
  po.exit_cb = on_exit_cb;
  po.stdio = stdio;
  po.stdio_count = 3;
  r = uv_spawn(&co.loop, &co.proc, &po);
  close(fd);
  if (r != 0)
    fail_msg("spawn %s: %s", co.bin, uv_strerror(r));
  co.running = 1;

  /* /healthz: curl retries refused connections and 503 for at most 30 s */
  snprintf(cmd, sizeof cmd,
           "curl -sf --retry 300 --retry-connrefused --retry-delay 0 "
           "--retry-max-time 30 -o /dev/null http://127.0.0.1:%d/healthz",
           co.http);
  free(must_sh("/healthz", cmd));
  snprintf(cmd, sizeof cmd,
           "curl -sf --max-time 10 -o '%s/chain.pem' "
           "http://127.0.0.1:%d/ca/chain.pem",
           co.tmp, co.http);
  free(must_sh("GET /ca/chain.pem", cmd));

  /* the CLI's environment: server, CA (the root, last in the chain), token */
  snprintf(cmd, sizeof cmd, "%s/admin.token", co.tmp);
  {
    uint8_t *tok = NULL;
    size_t tl = 0;
    assert_int_equal(ck_fs_read_file(cmd, 4096, &tok, &tl, NULL), CK_OK);
    while (tl > 0 && (tok[tl - 1] == '\n' || tok[tl - 1] == '\r'))
      tl--;
    tok[tl] = '\0';
    setenv("CERTKEEPER_TOKEN", (char *)tok, 1);
    ck_wipe(tok, tl);
    free(tok);
  }
  snprintf(cmd, sizeof cmd, "https://127.0.0.1:%d", co.https);
  setenv("CERTKEEPER_SERVER", cmd, 1);
  snprintf(cmd, sizeof cmd, "%s/root.pem", co.tmp);
  setenv("CERTKEEPER_CACERT", cmd, 1);
}

/* Reads chain.pem, writes root.pem (its last certificate) and the pin. */
static void load_chain(void) {
  ck_cert_list l;
  char path[4200], *pem = NULL;
  size_t pem_len = 0, der_len;
  const uint8_t *der;
  uint8_t *buf = NULL;
  const ck_cert *root;

  snprintf(path, sizeof path, "%s/chain.pem", co.tmp);
  assert_int_equal(ck_fs_read_file(path, 1 << 20, &buf, &co.chain_len, NULL),
                   CK_OK);
  co.chain_pem = (char *)buf;
  memset(&l, 0, sizeof l);
  assert_int_equal(ck_cert_list_parse(&l, buf, co.chain_len, NULL), CK_OK);
  assert_int_equal(l.n, 2); /* issuing, root */
  root = l.certs[l.n - 1];
  assert_true(ck_cert_get_info(root)->self_signed);
  memcpy(co.root_pin, ck_cert_get_info(root)->sha256_hex, sizeof co.root_pin);
  der = ck_cert_der(root, &der_len);
  assert_int_equal(ck_pem_encode("CERTIFICATE", der, der_len, &pem, &pem_len),
                   CK_OK);
  snprintf(path, sizeof path, "%s/root.pem", co.tmp);
  assert_int_equal(ck_fs_write_atomic(path, pem, pem_len, 0644, NULL), CK_OK);
  free(pem);
  ck_cert_list_clear(&l);
}

/* ---- the test agent --------------------------------------------------------- */

typedef struct agent {
  ck_tls_ctx *ctx;
  ck_conn *conn;
  volatile int hs_done;
  ck_err hs;
  char hs_msg[512];
  ck_wire_framer fr;
  ck_wire_msg q[QMAX];
  ck_arena *qa[QMAX];
  size_t qn;
  volatile int ready; /* qn > 0 or ended */
  volatile int ended;
  volatile int closed;
  uint64_t next_id;
} agent;

/* An enrolled identity, as an agent keeps it. */
typedef struct ident {
  char agent_id[64];
  char *cert_pem, *key_pem;
  size_t cert_pem_len, key_pem_len;
} ident;

static void ag_update(agent *a) { a->ready = a->qn > 0 || a->ended; }

static void ag_on_closed(ck_conn *conn) {
  agent *a = conn->data;
  a->closed = 1;
  a->conn = NULL;
}

static void ag_send(agent *a, ck_wire_msg *m);

static void ag_on_read(ck_conn *conn, const uint8_t *data, size_t len,
                       ck_err status) {
  agent *a = conn->data;
  ck_errctx err = CK_ERRCTX_INIT;
  const uint8_t *body;
  size_t blen;

  if (status != CK_OK) {
    a->ended = 1;
    ck_conn_close(conn, ag_on_closed);
    ag_update(a);
    return;
  }
  assert_int_equal(ck_wire_framer_feed(&a->fr, data, len, &err), CK_OK);
  while (ck_wire_framer_next(&a->fr, &body, &blen, &err) == CK_OK) {
    ck_arena *ar = ck_arena_new(4096);
    ck_wire_msg m;

    memset(&m, 0, sizeof m);
    if (ck_wire_decode(body, blen, NULL, ar, &m, &err) != CK_OK)
      fail_msg("agent decode: %s", ck_errctx_msg(&err));
    if (m.type == CK_WIRE_PING) {
      ck_wire_msg p;
      memset(&p, 0, sizeof p);
      p.type = CK_WIRE_PONG;
      p.id = m.id;
      p.u.pong.time = ck_clock_now();
      ck_arena_free(ar);
      ag_send(a, &p);
      continue;
    }
    assert_true(a->qn < QMAX);
    a->q[a->qn] = m;
    a->qa[a->qn++] = ar;
  }
  ag_update(a);
}

static void ag_on_hs(ck_conn *conn, ck_err status, const ck_errctx *err,
                     void *arg) {
  agent *a = arg;

  a->hs = status;
  if (status == CK_OK) {
    a->conn = conn;
    conn->data = a;
    assert_int_equal(ck_conn_read_start(conn, ag_on_read), CK_OK);
  } else {
    snprintf(a->hs_msg, sizeof a->hs_msg, "%s", err ? ck_errctx_msg(err) : "");
    a->ended = a->closed = 1;
    ag_update(a);
  }
  a->hs_done = 1;
}

/* Connects to the gateway: id NULL = enrollment (pinning the root CA by
 * its SHA-256), else mutual TLS with id trusting the served chain. The
 * server name 127.0.0.1 is checked against the coordinator's certificate. */
static void ag_open(agent *a, const ident *id) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_tls_config tc;
  char addr[64];

  memset(a, 0, sizeof *a);
  a->next_id = 1;
  ck_wire_framer_init(&a->fr, 0);
  memset(&tc, 0, sizeof tc);
  tc.role = CK_TLS_CLIENT;
  tc.server_name = "127.0.0.1";
  if (id == NULL) {
    tc.ca_pin_sha256 = co.root_pin;
  } else {
    tc.ca_pem = (const uint8_t *)co.chain_pem;
    tc.ca_pem_len = co.chain_len;
    tc.cert_pem = (const uint8_t *)id->cert_pem;
    tc.cert_pem_len = id->cert_pem_len;
    tc.key_pem = (const uint8_t *)id->key_pem;
    tc.key_pem_len = id->key_pem_len;
  }
  if (ck_tls_ctx_new(&tc, &a->ctx, &err) != CK_OK)
    fail_msg("agent TLS context: %s", ck_errctx_msg(&err));
  snprintf(addr, sizeof addr, "127.0.0.1:%d", co.gw);
  assert_int_equal(ck_tls_connect(&co.loop, addr, a->ctx, ag_on_hs, a, &err),
                   CK_OK);
  ck_test_run_until(&co.loop, &a->hs_done, WAIT_MS);
  if (a->hs != CK_OK) {
    show_log();
    fail_msg("gateway handshake: %s", a->hs_msg);
  }
}

static void ag_close(agent *a) {
  size_t i;

  if (a->conn != NULL && !a->ended)
    ck_conn_close(a->conn, ag_on_closed);
  ck_test_run_until(&co.loop, &a->closed, WAIT_MS);
  for (i = 0; i < a->qn; i++)
    ck_arena_free(a->qa[i]);
  a->qn = 0;
  ck_wire_framer_free(&a->fr);
  ck_tls_ctx_free(a->ctx);
  a->ctx = NULL;
}

static void ag_send(agent *a, ck_wire_msg *m) {
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t *buf = NULL;
  size_t len = 0;
  uv_buf_t b;

  if (m->id == 0)
    m->id = a->next_id++;
  if (ck_wire_encode(m, NULL, &buf, &len, &err) != CK_OK)
    fail_msg("agent encode: %s", ck_errctx_msg(&err));
  assert_non_null(a->conn);
  b = uv_buf_init((char *)buf, (unsigned)len);
  assert_int_equal(ck_conn_write(a->conn, &b, 1, NULL, NULL), CK_OK);
  free(buf);
}

/* Waits for the answer to id, of type t; *ar (caller frees) owns *m. */
static void ag_expect(agent *a, ck_wire_type t, uint64_t id, ck_wire_msg *m,
                      ck_arena **ar) {
  ck_test_run_until(&co.loop, &a->ready, WAIT_MS);
  if (a->qn == 0) {
    show_log();
    fail_msg("the gateway closed the session while we waited for '%s'",
             ck_wire_type_name(t));
  }
  *m = a->q[0];
  *ar = a->qa[0];
  memmove(a->q, a->q + 1, (a->qn - 1) * sizeof a->q[0]);
  memmove(a->qa, a->qa + 1, (a->qn - 1) * sizeof a->qa[0]);
  a->qn--;
  ag_update(a);
  if (m->type != t) {
    if (m->type == CK_WIRE_ERROR)
      fail_msg("expected '%s', got error %s: %s", ck_wire_type_name(t),
               ck_err_name((ck_err)m->u.error.code), m->u.error.message);
    fail_msg("expected '%s', got '%s'", ck_wire_type_name(t),
             ck_wire_type_name(m->type));
  }
  assert_int_equal(m->id, id);
}

static ck_key *new_key(void) {
  ck_key_spec ks;
  ck_key *k = NULL;

  assert_int_equal(ck_key_spec_parse("ec-p256", &ks, NULL), CK_OK);
  assert_int_equal(ck_key_generate(&ks, &k, NULL), CK_OK);
  return k;
}

/* A CSR (DER, malloc'ed) for key with CN and one DNS SAN = name. */
static uint8_t *make_csr(const ck_key *key, const char *name, size_t *len) {
  ck_name_attr subj = {"CN", name};
  ck_san san = {CK_SAN_DNS, name};
  ck_csr_req req;
  ck_csr *csr = NULL;
  const uint8_t *d;
  uint8_t *out;

  memset(&req, 0, sizeof req);
  req.subject = &subj;
  req.n_subject = 1;
  req.sans = &san;
  req.n_sans = 1;
  assert_int_equal(ck_csr_create(key, &req, &csr, NULL), CK_OK);
  d = ck_csr_der(csr, len);
  out = malloc(*len);
  assert_non_null(out);
  memcpy(out, d, *len);
  ck_csr_free(csr);
  return out;
}

static uint64_t send_enroll(agent *a, const char *token, const uint8_t *csr,
                            size_t csr_len) {
  ck_wire_msg m;

  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_ENROLL;
  m.u.enroll.token = token;
  m.u.enroll.csr.data = csr;
  m.u.enroll.csr.len = csr_len;
  m.u.enroll.host.hostname = "e2e-host";
  m.u.enroll.host.os = "linux";
  m.u.enroll.host.arch = "x86_64";
  ag_send(a, &m);
  return m.id;
}

static uint64_t send_csr(agent *a, const char *profile, const uint8_t *csr,
                         size_t len) {
  ck_wire_msg m;

  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_CSR;
  m.u.csr.cert_id = "managed-e2e";
  m.u.csr.profile = profile;
  m.u.csr.csr.data = csr;
  m.u.csr.csr.len = len;
  ag_send(a, &m);
  return m.id;
}

/* Appends the PEM of der to the file at path (created when absent). */
static void append_pem(const char *path, const uint8_t *der, size_t len) {
  char *pem = NULL;
  size_t pl = 0;
  FILE *f = fopen(path, "a");

  assert_non_null(f);
  assert_int_equal(ck_pem_encode("CERTIFICATE", der, len, &pem, &pl), CK_OK);
  assert_int_equal(fwrite(pem, 1, pl, f), pl);
  fclose(f);
  free(pem);
}

/* ---- the test ----------------------------------------------------------------- */

static int setup(void **state) {
  const char *b = getenv("CK_BUILD_DIR");

  (void)state;
  memset(&co, 0, sizeof co);
  snprintf(co.bin, sizeof co.bin, "%s/coordinator/certkeeper-coordinator",
           b != NULL ? b : ".");
  snprintf(co.cli, sizeof co.cli, "%s/coordinator/certkeeper",
           b != NULL ? b : ".");
  assert_int_equal(uv_loop_init(&co.loop), 0);
  co.tmp = ck_test_tmpdir();
  snprintf(co.data, sizeof co.data, "%s/data", co.tmp);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  if (co.running) {
    uv_process_kill(&co.proc, SIGKILL);
    while (!co.exited)
      uv_run(&co.loop, UV_RUN_ONCE);
  }
  uv_run(&co.loop, UV_RUN_DEFAULT);
  uv_loop_close(&co.loop);
  free(co.chain_pem);
  ck_test_rmtree(co.tmp);
  free(co.tmp);
  return 0;
}

static void test_gateway_e2e(void **state) {
  char cmd[8192], path[1200], leafp[1200], chainp[1200], *out, *tok, *nl;
  char issued_fp[CK_SHA256_HEX_LEN], disc_fp[CK_SHA256_HEX_LEN];
  ck_key *idkey = NULL, *key2 = NULL, *leafkey = NULL, *disckey = NULL;
  uint8_t *csr = NULL, serial[CK_CERTGEN_SERIAL_LEN];
  size_t csr_len = 0, i, der_len;
  ck_cert *cert = NULL, *disc = NULL;
  ck_wire_msg m;
  ck_arena *ar = NULL;
  uint64_t rid;
  ident id;
  agent a;

  (void)state;
  if (access(co.bin, X_OK) != 0) {
    printf("skipped: %s not built (the coordinator needs -DCK_CRYPTO=openssl)"
           "\n", co.bin);
    skip();
  }
  if (!ck_test_have("openssl") || !ck_test_have("curl")) {
    printf("skipped: needs the openssl and curl CLIs\n");
    skip();
  }
  memset(&id, 0, sizeof id);
  start_coordinator();
  load_chain();

  /* the operator creates a one-time enrollment token */
  snprintf(cmd, sizeof cmd,
           "'%s' token create --group web --profile tls-server --ttl 1h",
           co.cli);
  out = must_sh("token create", cmd);
  tok = strstr(out, "cke_");
  if (tok == NULL)
    fail_msg("token create printed no token: %s", out);
  if ((nl = strpbrk(tok, " \r\n")) != NULL)
    *nl = '\0';

  /* enroll: server-authenticated TLS, CA pinned by fingerprint */
  idkey = new_key();
  csr = make_csr(idkey, "ignored", &csr_len);
  ag_open(&a, NULL);
  rid = send_enroll(&a, tok, csr, csr_len);
  ag_expect(&a, CK_WIRE_CERT, rid, &m, &ar);
  assert_non_null(m.u.cert.agent_id);
  ck_strlcpy(id.agent_id, m.u.cert.agent_id, sizeof id.agent_id);
  assert_int_equal(ck_cert_parse(m.u.cert.cert.data, m.u.cert.cert.len, &cert,
                                 NULL),
                   CK_OK);
  {
    const ck_cert_info *ci = ck_cert_get_info(cert);
    char urn[128];
    int found = 0;
    snprintf(urn, sizeof urn, "urn:certkeeper:agent:%s", id.agent_id);
    for (i = 0; i < ci->n_sans; i++)
      if (strcmp(ci->sans[i].value, urn) == 0)
        found = 1;
    assert_true(found);
    /* [gateway] identity_validity = 10d (plus the 5 min backdate) */
    if (ci->not_after - ci->not_before < 10 * 86400 ||
        ci->not_after - ci->not_before > 10 * 86400 + 3600)
      fail_msg("identity certificate valid %lld s, expected 10 days",
               (long long)(ci->not_after - ci->not_before));
  }
  assert_int_equal(ck_pem_encode("CERTIFICATE", m.u.cert.cert.data,
                                 m.u.cert.cert.len, &id.cert_pem,
                                 &id.cert_pem_len),
                   CK_OK);
  assert_int_equal(ck_key_export_pem(idkey, CK_KEY_PEM_PKCS8, &id.key_pem,
                                     &id.key_pem_len, NULL),
                   CK_OK);
  ck_cert_free(cert);
  cert = NULL;
  ck_arena_free(ar);
  ag_close(&a);
  free(csr);

  /* the same token again: refused, fatal */
  key2 = new_key();
  csr = make_csr(key2, "ignored", &csr_len);
  ag_open(&a, NULL);
  rid = send_enroll(&a, tok, csr, csr_len);
  ag_expect(&a, CK_WIRE_ERROR, rid, &m, &ar);
  assert_int_equal(m.u.error.code, CK_ERR_AUTH);
  if (strstr(m.u.error.message, "already used") == NULL)
    fail_msg("reused token: '%s'", m.u.error.message);
  assert_true(m.u.error.fatal);
  ck_arena_free(ar);
  ag_close(&a);
  free(csr);
  csr = NULL;
  free(out);

  /* mutual TLS with the identity: hello -> welcome */
  ag_open(&a, &id);
  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_HELLO;
  m.u.hello.agent_id = id.agent_id;
  m.u.hello.version = "0.1.0";
  m.u.hello.platform = "linux-x86_64";
  ag_send(&a, &m);
  rid = m.id;
  ag_expect(&a, CK_WIRE_WELCOME, rid, &m, &ar);
  assert_non_null(m.u.welcome.agent_id);
  assert_string_equal(m.u.welcome.agent_id, id.agent_id);
  assert_true(m.u.welcome.has_ping_interval);
  assert_int_equal(m.u.welcome.ping_interval, 17); /* from [gateway] */
  ck_arena_free(ar);

  /* inventory: a self-signed certificate found on the host, with its DER */
  disckey = new_key();
  {
    ck_name_attr subj = {"CN", "legacy.e2e.test"};
    ck_san san = {CK_SAN_DNS, "legacy.e2e.test"};
    ck_certgen_tmpl t;
    assert_int_equal(ck_certgen_random_serial(serial), CK_OK);
    memset(&t, 0, sizeof t);
    t.subject = &subj;
    t.n_subject = 1;
    t.sans = &san;
    t.n_sans = 1;
    t.serial = serial;
    t.serial_len = sizeof serial;
    t.not_before = ck_clock_now() - 60;
    t.not_after = ck_clock_now() + 30 * 86400;
    t.path_len = -1;
    assert_int_equal(ck_certgen_sign(&t, NULL, disckey, &disc, NULL), CK_OK);
  }
  memcpy(disc_fp, ck_cert_get_info(disc)->sha256_hex, sizeof disc_fp);
  {
    ck_wire_finding f;
    const char *svc[] = {"nginx"};
    const char *eps[] = {"0.0.0.0:443"};

    memset(&f, 0, sizeof f);
    f.path = "/etc/nginx/legacy.pem";
    f.format = "pem";
    f.der.data = ck_cert_der(disc, &der_len);
    f.der.len = der_len;
    f.services.v = svc;
    f.services.n = 1;
    f.endpoints.v = eps;
    f.endpoints.n = 1;
    memset(&m, 0, sizeof m);
    m.type = CK_WIRE_INVENTORY;
    m.u.inventory.mode = CK_WIRE_INV_FULL;
    m.u.inventory.seq = 1;
    m.u.inventory.findings = &f;
    m.u.inventory.n_findings = 1;
    ag_send(&a, &m);
    rid = m.id;
  }
  ag_expect(&a, CK_WIRE_ACK, rid, &m, &ar);
  assert_non_null(m.u.ack.detail);
  if (strstr(m.u.ack.detail, "1 certificates recorded") == NULL ||
      strstr(m.u.ack.detail, "stored 1 installations") == NULL)
    fail_msg("inventory ack: %s", m.u.ack.detail);
  ck_arena_free(ar);

  /* renewal: a name under .test -> cert + chain that openssl verifies */
  leafkey = new_key();
  csr = make_csr(leafkey, "www.e2e.test", &csr_len);
  rid = send_csr(&a, "tls-server", csr, csr_len);
  ag_expect(&a, CK_WIRE_CERT, rid, &m, &ar);
  assert_true(m.u.cert.chain.n >= 1);
  assert_int_equal(ck_cert_parse(m.u.cert.cert.data, m.u.cert.cert.len, &cert,
                                 NULL),
                   CK_OK);
  memcpy(issued_fp, ck_cert_get_info(cert)->sha256_hex, sizeof issued_fp);
  assert_int_equal(ck_key_match_cert(leafkey, cert, NULL), CK_OK);
  snprintf(leafp, sizeof leafp, "%s/leaf.pem", co.tmp);
  snprintf(chainp, sizeof chainp, "%s/leaf-chain.pem", co.tmp);
  append_pem(leafp, m.u.cert.cert.data, m.u.cert.cert.len);
  for (i = 0; i < m.u.cert.chain.n; i++)
    append_pem(chainp, m.u.cert.chain.v[i].data, m.u.cert.chain.v[i].len);
  ck_arena_free(ar);
  free(csr);
  csr = NULL;
  snprintf(cmd, sizeof cmd,
           "openssl verify -CAfile '%s/root.pem' -untrusted '%s' '%s'",
           co.tmp, chainp, leafp);
  free(must_sh("openssl verify of the renewed certificate", cmd));
  snprintf(cmd, sizeof cmd,
           "openssl x509 -in '%s' -noout -ext subjectAltName | "
           "grep -q 'DNS:www.e2e.test'",
           leafp);
  free(must_sh("SAN of the renewed certificate", cmd));

  /* a name outside policy: refused, naming the rule; the session goes on */
  key2 = key2 != NULL ? key2 : new_key();
  csr = make_csr(key2, "evil.example.com", &csr_len);
  rid = send_csr(&a, "tls-server", csr, csr_len);
  ag_expect(&a, CK_WIRE_ERROR, rid, &m, &ar);
  assert_int_equal(m.u.error.code, CK_ERR_DENIED);
  if (strstr(m.u.error.message, "evil.example.com") == NULL ||
      strstr(m.u.error.message, "not allowed") == NULL)
    fail_msg("refusal does not name the rule: '%s'", m.u.error.message);
  assert_false(m.u.error.has_fatal && m.u.error.fatal);
  ck_arena_free(ar);
  free(csr);
  csr = NULL;
  ag_close(&a);

  /* the operator's view */
  snprintf(cmd, sizeof cmd, "'%s' cert list --unmanaged --json", co.cli);
  out = must_sh("cert list --unmanaged", cmd);
  if (strstr(out, disc_fp) == NULL || strstr(out, "legacy.e2e.test") == NULL)
    fail_msg("unmanaged list lacks the discovered certificate %s:\n%s",
             disc_fp, out);
  if (strstr(out, issued_fp) != NULL)
    fail_msg("unmanaged list shows the issued certificate:\n%s", out);
  free(out);
  snprintf(cmd, sizeof cmd, "'%s' cert list --json", co.cli);
  out = must_sh("cert list", cmd);
  if (strstr(out, issued_fp) == NULL || strstr(out, "www.e2e.test") == NULL)
    fail_msg("certificate list lacks the renewed certificate %s:\n%s",
             issued_fp, out);
  free(out);
  snprintf(cmd, sizeof cmd, "'%s' audit verify", co.cli);
  free(must_sh("audit verify", cmd));

  /* SIGTERM: drains and exits 0 */
  assert_int_equal(uv_process_kill(&co.proc, SIGTERM), 0);
  ck_test_run_until(&co.loop, &co.exited, WAIT_MS);
  if (co.term_signal != 0 || co.exit_status != 0) {
    show_log();
    fail_msg("coordinator exit: status %lld, signal %d",
             (long long)co.exit_status, co.term_signal);
  }
  snprintf(path, sizeof path, "grep -q coordinator.stopped '%s/coord.log'",
           co.tmp);
  free(must_sh("clean-stop record", path));

  ck_cert_free(cert);
  ck_cert_free(disc);
  ck_key_free(idkey);
  ck_key_free(key2);
  ck_key_free(leafkey);
  ck_key_free(disckey);
  free(id.cert_pem);
  ck_crypto_free_secret(id.key_pem, id.key_pem_len);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_gateway_e2e, setup, teardown),
  };

  signal(SIGPIPE, SIG_IGN);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
