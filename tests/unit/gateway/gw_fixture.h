/* gw_fixture.h — an in-process coordinator with its agent gateway on
 * 127.0.0.1:0, and a test agent client built from our own ck_tls_connect
 * and wire codec, all on one libuv loop.
 *
 * The coordinator is made the way `certkeeper-coordinator run` makes it: a
 * data directory created by ck_coord_init, settings, store, CAs, profile
 * cache, the TLS server context (client certificates optional, trusting the
 * default CA chain), then ck_gateway_start_opts. Tests drive the client
 * with gwc_send / gwc_recv, which run the loop until the answer arrived
 * (bounded); pings from the gateway are answered automatically. */
#ifndef CK_TESTS_GW_FIXTURE_H
#define CK_TESTS_GW_FIXTURE_H

#include "tests/testutil.h"

#include <string.h>

#include "common/crypto/crypto.h"
#include "common/net/tls.h"
#include "common/util/clock.h"
#include "common/util/fs.h"
#include "common/util/log.h"
#include "common/wire/framer.h"
#include "common/wire/wire.h"
#include "coordinator/ca/ca.h"
#include "coordinator/core/coord.h"
#include "coordinator/core/coord_rt.h"
#include "coordinator/core/secret.h"
#include "coordinator/gateway/gateway.h"
#include "coordinator/store/store.h"
#include "coordinator/workflow/profile_cache.h"

#define GW_WAIT_MS 15000u
#define GWC_QMAX 64

typedef struct gw_fx {
  uv_loop_t loop;
  char *dir;
  ck_coord_rt rt;
  ck_tls_ctx *tls;
  ck_gateway *gw;
  int port;
  ck_cert *root;
  char root_pin[CK_SHA256_HEX_LEN];
  int gw_closed;
} gw_fx;

/* A test agent connection. */
typedef struct gwc {
  gw_fx *fx;
  ck_tls_ctx *ctx;
  ck_conn *conn;
  volatile int hs_done;
  ck_err hs;
  char hs_msg[512];
  ck_wire_framer fr;
  ck_wire_msg q[GWC_QMAX]; /* received, not yet taken */
  ck_arena *qa[GWC_QMAX];
  size_t qn;
  volatile int ready; /* qn > 0 or ended */
  volatile int ended;
  ck_err end_status;
  volatile int closed;
  int pings;
  uint64_t next_id;
} gwc;

/* An agent identity: key and certificate (PEM), as the agent keeps them. */
typedef struct gw_ident {
  char agent_id[64];
  char *cert_pem;
  size_t cert_pem_len;
  char *key_pem;
  size_t key_pem_len;
  char fp[CK_SHA256_HEX_LEN];
} gw_ident;

static inline void gw_ident_clear(gw_ident *id) {
  free(id->cert_pem);
  if (id->key_pem != NULL)
    ck_crypto_free_secret(id->key_pem, id->key_pem_len);
  memset(id, 0, sizeof *id);
}

/* ---- coordinator ---------------------------------------------------------- */

static inline void gw_fx_start(gw_fx *fx, const ck_gateway_opts *opts) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_coord_init_opts io;
  ck_store_opts so;
  ck_tls_config tc;
  char path[4200], certp[4200], keyp[4200], tokp[4200];
  uint8_t *buf = NULL;
  size_t len = 0;
  const ck_ca *def;

  memset(fx, 0, sizeof *fx);
  assert_int_equal(uv_loop_init(&fx->loop), 0);
  fx->rt.loop = &fx->loop;
  fx->dir = ck_test_tmpdir();
  snprintf(path, sizeof path, "%s/data", fx->dir);
  snprintf(tokp, sizeof tokp, "%s/admin.token", fx->dir);
  memset(&io, 0, sizeof io);
  io.data_dir = path;
  io.admin_token_out = tokp;
  if (ck_coord_init(&io, &err) != CK_OK)
    fail_msg("init: %s", ck_errctx_msg(&err));
  if (ck_coord_load_settings(path, NULL, &fx->rt.cfg, &fx->rt.set, &err) != CK_OK)
    fail_msg("settings: %s", ck_errctx_msg(&err));
  memset(&so, 0, sizeof so);
  ck_coord_path(path, CK_COORD_DB, certp, sizeof certp);
  so.path = certp;
  if (ck_store_open(&so, &fx->rt.store, &err) != CK_OK ||
      ck_ca_set_load(fx->rt.store, path, &fx->rt.cas, &err) != CK_OK ||
      ck_profile_cache_new(fx->rt.store, &fx->rt.profiles, &err) != CK_OK)
    fail_msg("open: %s", ck_errctx_msg(&err));
  def = ck_ca_set_default(fx->rt.cas);
  assert_non_null(def);
  fx->rt.chain_pem = def->chain_pem;
  fx->rt.chain_pem_len = def->chain_pem_len;

  ck_coord_path(path, "tls/server.crt", certp, sizeof certp);
  ck_coord_path(path, "tls/server.key", keyp, sizeof keyp);
  memset(&tc, 0, sizeof tc);
  tc.role = CK_TLS_SERVER;
  tc.cert_file = certp;
  tc.key_file = keyp;
  tc.ca_pem = (const uint8_t *)fx->rt.chain_pem;
  tc.ca_pem_len = fx->rt.chain_pem_len;
  tc.verify = CK_TLS_VERIFY_OPTIONAL;
  if (ck_tls_ctx_new(&tc, &fx->tls, &err) != CK_OK)
    fail_msg("tls: %s", ck_errctx_msg(&err));
  if (ck_gateway_start_opts(&fx->rt, fx->tls, "127.0.0.1:0", opts, &fx->gw,
                            &err) != CK_OK)
    fail_msg("gateway: %s", ck_errctx_msg(&err));
  fx->port = ck_gateway_port(fx->gw);
  assert_true(fx->port > 0);

  /* The root CA: the agent pins its fingerprint to enroll. */
  ck_coord_path(path, "ca/root.crt", certp, sizeof certp);
  assert_int_equal(ck_fs_read_file(certp, 1 << 20, &buf, &len, &err), CK_OK);
  assert_int_equal(ck_cert_parse(buf, len, &fx->root, &err), CK_OK);
  free(buf);
  memcpy(fx->root_pin, ck_cert_get_info(fx->root)->sha256_hex,
         sizeof fx->root_pin);
  fx->rt.ready = 1;
}

static inline void gw_fx_on_closed(void *arg) { ((gw_fx *)arg)->gw_closed = 1; }

static inline void gw_fx_stop(gw_fx *fx) {
  ck_gateway_close(fx->gw, gw_fx_on_closed, fx);
  ck_test_run_until(&fx->loop, &fx->gw_closed, GW_WAIT_MS);
  uv_run(&fx->loop, UV_RUN_DEFAULT); /* remaining close callbacks */
  ck_gateway_free(fx->gw);
  ck_store_close(fx->rt.store);
  ck_profile_cache_free(fx->rt.profiles);
  ck_ca_set_free(fx->rt.cas);
  ck_tls_ctx_free(fx->tls);
  ck_config_free(fx->rt.cfg);
  ck_cert_free(fx->root);
  assert_int_equal(uv_loop_close(&fx->loop), 0);
  ck_test_rmtree(fx->dir);
  free(fx->dir);
}

/* Stores an enrollment token and returns its secret in sec. */
static inline void gw_fx_token(gw_fx *fx, const char *group, const char *profiles,
                        const char *sans, int64_t ttl, ck_secret *sec) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_write *w = ck_store_write_new();
  ck_store_etoken t;

  assert_int_equal(ck_secret_new("cke_", sec), CK_OK);
  memset(&t, 0, sizeof t);
  t.id = sec->id;
  memcpy(t.hash, sec->hash_hex, sizeof t.hash);
  t.group = group;
  t.profiles = profiles;
  t.san_patterns = sans;
  t.actor = "test";
  t.created_at = ck_clock_now() - 7200;
  t.expires_at = ck_clock_now() + ttl;
  assert_non_null(w);
  assert_int_equal(ck_store_write_etoken_put(w, &t, &err), CK_OK);
  if (ck_store_submit_wait(fx->rt.store, w, &err) != CK_OK)
    fail_msg("token: %s", ck_errctx_msg(&err));
  ck_store_write_free(w);
}

static inline int64_t gw_fx_audit_seq(gw_fx *fx) {
  uint8_t h[CK_SHA256_LEN];
  int64_t seq = -1;

  assert_int_equal(ck_store_audit_head(fx->rt.store, &seq, h, NULL), CK_OK);
  return seq;
}

/* The last audit event with this action (copied into ev's arena a). */
static inline int gw_fx_audit_find(gw_fx *fx, const char *action, ck_arena *a,
                            ck_audit_event *out) {
  ck_store_page pg;
  ck_audit_event *items;
  size_t n, i;
  int64_t after = 0;
  int found = 0;

  for (;;) {
    memset(&pg, 0, sizeof pg);
    pg.limit = CK_STORE_PAGE_MAX;
    assert_int_equal(ck_store_audit_list(fx->rt.store, after, &pg, a, &items,
                                         &n, NULL),
                     CK_OK);
    for (i = 0; i < n; i++)
      if (strcmp(items[i].action, action) == 0) {
        *out = items[i];
        found = 1;
      }
    if (n < CK_STORE_PAGE_MAX)
      return found;
    after = items[n - 1].seq;
  }
}

/* ---- keys and CSRs -------------------------------------------------------- */

static inline ck_key *gw_key(const char *spec) {
  ck_key_spec ks;
  ck_key *k = NULL;

  assert_int_equal(ck_key_spec_parse(spec, &ks, NULL), CK_OK);
  assert_int_equal(ck_key_generate(&ks, &k, NULL), CK_OK);
  return k;
}

/* A CSR for key with CN cn and DNS SANs (NULL-terminated list, may be
 * NULL); *der malloc'ed. */
static inline void gw_csr(const ck_key *key, const char *cn, const char *const *dns,
                   uint8_t **der, size_t *len) {
  ck_name_attr subj = {"CN", cn};
  ck_san sans[8];
  ck_csr_req req;
  ck_csr *csr = NULL;
  const uint8_t *d;
  size_t n = 0;

  while (dns != NULL && dns[n] != NULL && n < 8) {
    sans[n].type = CK_SAN_DNS;
    sans[n].value = dns[n];
    n++;
  }
  memset(&req, 0, sizeof req);
  req.subject = &subj;
  req.n_subject = 1;
  req.sans = sans;
  req.n_sans = n;
  assert_int_equal(ck_csr_create(key, &req, &csr, NULL), CK_OK);
  d = ck_csr_der(csr, len);
  *der = malloc(*len);
  assert_non_null(*der);
  memcpy(*der, d, *len);
  ck_csr_free(csr);
}

/* ---- the client ----------------------------------------------------------- */

static inline void gwc_update(gwc *c) { c->ready = c->qn > 0 || c->ended; }

static inline void gwc_on_closed(ck_conn *conn) {
  gwc *c = conn->data;
  c->closed = 1;
  c->conn = NULL;
}

static inline void gwc_send(gwc *c, ck_wire_msg *m);

static inline void gwc_on_read(ck_conn *conn, const uint8_t *data, size_t len,
                        ck_err status) {
  gwc *c = conn->data;
  ck_errctx err = CK_ERRCTX_INIT;
  const uint8_t *body;
  size_t blen;

  if (status != CK_OK) {
    c->ended = 1;
    c->end_status = status;
    ck_conn_close(conn, gwc_on_closed);
    gwc_update(c);
    return;
  }
  assert_int_equal(ck_wire_framer_feed(&c->fr, data, len, &err), CK_OK);
  while (ck_wire_framer_next(&c->fr, &body, &blen, &err) == CK_OK) {
    ck_arena *a = ck_arena_new(4096);
    ck_wire_msg m;
    memset(&m, 0, sizeof m);
    if (ck_wire_decode(body, blen, NULL, a, &m, &err) != CK_OK)
      fail_msg("client decode: %s", ck_errctx_msg(&err));
    if (m.type == CK_WIRE_PING) {
      ck_wire_msg p;
      memset(&p, 0, sizeof p);
      p.type = CK_WIRE_PONG;
      p.id = m.id;
      p.u.pong.time = ck_clock_now();
      c->pings++;
      ck_arena_free(a);
      gwc_send(c, &p);
      continue;
    }
    assert_true(c->qn < GWC_QMAX);
    c->q[c->qn] = m;
    c->qa[c->qn] = a;
    c->qn++;
  }
  gwc_update(c);
}

static inline void gwc_on_hs(ck_conn *conn, ck_err status, const ck_errctx *err,
                      void *arg) {
  gwc *c = arg;

  c->hs = status;
  if (status == CK_OK) {
    c->conn = conn;
    conn->data = c;
    assert_int_equal(ck_conn_read_start(conn, gwc_on_read), CK_OK);
  } else {
    snprintf(c->hs_msg, sizeof c->hs_msg, "%s", err ? ck_errctx_msg(err) : "");
    c->ended = 1;
    c->closed = 1;
    gwc_update(c);
  }
  c->hs_done = 1;
}

/* Connects: id NULL = enrollment (CA pin only), else mutual TLS with id.
 * Returns the handshake status (c is usable only on CK_OK). */
static inline ck_err gwc_open(gw_fx *fx, gwc *c, const gw_ident *id) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_tls_config tc;
  char addr[64];

  memset(c, 0, sizeof *c);
  c->fx = fx;
  c->next_id = 1;
  ck_wire_framer_init(&c->fr, 0);
  memset(&tc, 0, sizeof tc);
  tc.role = CK_TLS_CLIENT;
  if (id == NULL) {
    tc.ca_pin_sha256 = fx->root_pin;
  } else {
    tc.ca_pem = (const uint8_t *)fx->rt.chain_pem;
    tc.ca_pem_len = fx->rt.chain_pem_len;
    tc.cert_pem = (const uint8_t *)id->cert_pem;
    tc.cert_pem_len = id->cert_pem_len;
    tc.key_pem = (const uint8_t *)id->key_pem;
    tc.key_pem_len = id->key_pem_len;
  }
  if (ck_tls_ctx_new(&tc, &c->ctx, &err) != CK_OK)
    fail_msg("client ctx: %s", ck_errctx_msg(&err));
  snprintf(addr, sizeof addr, "127.0.0.1:%d", fx->port);
  assert_int_equal(ck_tls_connect(&fx->loop, addr, c->ctx, gwc_on_hs, c, &err),
                   CK_OK);
  ck_test_run_until(&fx->loop, &c->hs_done, GW_WAIT_MS);
  return c->hs;
}

static inline void gwc_close(gwc *c) {
  size_t i;

  if (c->conn != NULL && !c->ended)
    ck_conn_close(c->conn, gwc_on_closed);
  ck_test_run_until(&c->fx->loop, &c->closed, GW_WAIT_MS);
  for (i = 0; i < c->qn; i++)
    ck_arena_free(c->qa[i]);
  c->qn = 0;
  ck_wire_framer_free(&c->fr);
  ck_tls_ctx_free(c->ctx);
  c->ctx = NULL;
}

static inline void gwc_send_raw(gwc *c, const uint8_t *buf, size_t len) {
  uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);

  assert_non_null(c->conn);
  assert_int_equal(ck_conn_write(c->conn, &b, 1, NULL, NULL), CK_OK);
}

/* Sends m; when m->id is 0 a fresh id is given (and left in m->id). */
static inline void gwc_send(gwc *c, ck_wire_msg *m) {
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t *buf = NULL;
  size_t len = 0;

  if (m->id == 0)
    m->id = c->next_id++;
  if (ck_wire_encode(m, NULL, &buf, &len, &err) != CK_OK)
    fail_msg("client encode: %s", ck_errctx_msg(&err));
  gwc_send_raw(c, buf, len);
  free(buf);
}

/* Waits for the next frame; *a (caller frees) owns *m. Returns 0 when the
 * connection ended first. */
static inline int gwc_recv(gwc *c, ck_wire_msg *m, ck_arena **a) {
  ck_test_run_until(&c->fx->loop, &c->ready, GW_WAIT_MS);
  if (c->qn == 0)
    return 0;
  *m = c->q[0];
  *a = c->qa[0];
  memmove(c->q, c->q + 1, (c->qn - 1) * sizeof c->q[0]);
  memmove(c->qa, c->qa + 1, (c->qn - 1) * sizeof c->qa[0]);
  c->qn--;
  gwc_update(c);
  return 1;
}

/* Waits for a frame of type t with id (0 = any id); fails otherwise. */
static inline void gwc_expect(gwc *c, ck_wire_type t, uint64_t id, ck_wire_msg *m,
                       ck_arena **a) {
  if (!gwc_recv(c, m, a))
    fail_msg("connection ended (%s) while waiting for '%s'",
             ck_err_name(c->end_status), ck_wire_type_name(t));
  if (m->type != t) {
    if (m->type == CK_WIRE_ERROR)
      fail_msg("expected '%s', got error %s: %s", ck_wire_type_name(t),
               ck_err_name((ck_err)m->u.error.code), m->u.error.message);
    fail_msg("expected '%s', got '%s'", ck_wire_type_name(t),
             ck_wire_type_name(m->type));
  }
  if (id != 0)
    assert_int_equal(m->id, id);
}

/* Waits for an error with code (and a message containing needle). */
static inline void gwc_expect_error(gwc *c, ck_err code, uint64_t id,
                             const char *needle, int fatal) {
  ck_wire_msg m;
  ck_arena *a = NULL;

  gwc_expect(c, CK_WIRE_ERROR, id, &m, &a);
  if (m.u.error.code != (int32_t)code)
    fail_msg("expected error %s, got %s: %s", ck_err_name(code),
             ck_err_name((ck_err)m.u.error.code), m.u.error.message);
  if (needle != NULL && strstr(m.u.error.message, needle) == NULL)
    fail_msg("error message '%s' does not mention '%s'", m.u.error.message,
             needle);
  assert_int_equal(m.u.error.fatal ? 1 : 0, fatal ? 1 : 0);
  ck_arena_free(a);
}

/* Waits until the gateway closed the connection. */
static inline void gwc_expect_end(gwc *c) {
  ck_wire_msg m;
  ck_arena *a = NULL;

  if (gwc_recv(c, &m, &a))
    fail_msg("expected the end of the connection, got '%s'",
             ck_wire_type_name(m.type));
  assert_true(c->ended);
}

static inline uint64_t gwc_hello(gwc *c, const char *agent_id) {
  ck_wire_msg m;

  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_HELLO;
  m.u.hello.agent_id = agent_id;
  m.u.hello.version = "0.1.0";
  m.u.hello.platform = "linux-x86_64";
  gwc_send(c, &m);
  return m.id;
}

static inline uint64_t gwc_enroll(gwc *c, const char *token, const uint8_t *csr,
                           size_t csr_len, const char *hostname) {
  ck_wire_msg m;

  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_ENROLL;
  m.u.enroll.token = token;
  m.u.enroll.csr.data = csr;
  m.u.enroll.csr.len = csr_len;
  m.u.enroll.host.hostname = hostname;
  m.u.enroll.host.os = "linux";
  m.u.enroll.host.arch = "x86_64";
  m.u.enroll.host.fqdn = "web-01.example.test";
  gwc_send(c, &m);
  return m.id;
}

/* Enrolls a new agent with a fresh token of group/profiles/sans; fills id. */
static inline void gw_enroll_agent(gw_fx *fx, const char *group, const char *profiles,
                            const char *sans, gw_ident *id) {
  ck_secret sec;
  ck_key *key = gw_key("ec-p256");
  uint8_t *csr = NULL;
  size_t csr_len = 0;
  gwc c;
  ck_wire_msg m;
  ck_arena *a = NULL;
  uint64_t rid;
  ck_cert *cert = NULL;

  memset(id, 0, sizeof *id);
  gw_fx_token(fx, group, profiles, sans, 3600, &sec);
  gw_csr(key, "ignored", NULL, &csr, &csr_len);
  assert_int_equal(gwc_open(fx, &c, NULL), CK_OK);
  rid = gwc_enroll(&c, sec.token, csr, csr_len, "web-01");
  gwc_expect(&c, CK_WIRE_CERT, rid, &m, &a);
  assert_non_null(m.u.cert.agent_id);
  ck_strlcpy(id->agent_id, m.u.cert.agent_id, sizeof id->agent_id);
  assert_int_equal(ck_cert_parse(m.u.cert.cert.data, m.u.cert.cert.len, &cert,
                                 NULL),
                   CK_OK);
  memcpy(id->fp, ck_cert_get_info(cert)->sha256_hex, sizeof id->fp);
  assert_int_equal(ck_pem_encode("CERTIFICATE", m.u.cert.cert.data,
                                 m.u.cert.cert.len, &id->cert_pem,
                                 &id->cert_pem_len),
                   CK_OK);
  assert_int_equal(ck_key_export_pem(key, CK_KEY_PEM_PKCS8, &id->key_pem,
                                     &id->key_pem_len, NULL),
                   CK_OK);
  ck_cert_free(cert);
  ck_arena_free(a);
  gwc_close(&c);
  ck_secret_wipe(&sec);
  free(csr);
  ck_key_free(key);
}

#endif
