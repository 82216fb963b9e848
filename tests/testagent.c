/* testagent.c — the test agent of testagent.h: a TLS client of the agent
 * gateway speaking the wire protocol, for the gateway tests. */
#include "tests/testagent.h"

#include <string.h>

#include "common/util/clock.h"
#include "common/util/mem.h"

/* Calls the on_fail hook, then fails the test with the message. */
#define TA_FAIL(a, ...)                                                       \
  do {                                                                        \
    if ((a)->on_fail != NULL)                                                 \
      (a)->on_fail((a)->fail_arg);                                            \
    fail_msg(__VA_ARGS__);                                                    \
  } while (0)

/* ---- identities, keys, CSRs ------------------------------------------------ */

void ck_tagent_ident_clear(ck_tagent_ident *id) {
  free(id->cert_pem);
  if (id->key_pem != NULL)
    ck_crypto_free_secret(id->key_pem, id->key_pem_len);
  memset(id, 0, sizeof *id);
}

void ck_tagent_ident_set(ck_tagent_ident *id, const char *agent_id,
                         const ck_wire_msg *m, const ck_key *key) {
  ck_cert *cert = NULL;

  ck_tagent_ident_clear(id);
  assert_int_equal(m->type, CK_WIRE_CERT);
  if (agent_id == NULL)
    agent_id = m->u.cert.agent_id;
  assert_non_null(agent_id);
  ck_strlcpy(id->agent_id, agent_id, sizeof id->agent_id);
  assert_int_equal(ck_cert_parse(m->u.cert.cert.data, m->u.cert.cert.len,
                                 &cert, NULL),
                   CK_OK);
  memcpy(id->fp, ck_cert_get_info(cert)->sha256_hex, sizeof id->fp);
  ck_cert_free(cert);
  assert_int_equal(ck_pem_encode("CERTIFICATE", m->u.cert.cert.data,
                                 m->u.cert.cert.len, &id->cert_pem,
                                 &id->cert_pem_len),
                   CK_OK);
  assert_int_equal(ck_key_export_pem(key, CK_KEY_PEM_PKCS8, &id->key_pem,
                                     &id->key_pem_len, NULL),
                   CK_OK);
}

ck_key *ck_tagent_key(const char *spec) {
  ck_key_spec ks;
  ck_key *k = NULL;

  assert_int_equal(ck_key_spec_parse(spec, &ks, NULL), CK_OK);
  assert_int_equal(ck_key_generate(&ks, &k, NULL), CK_OK);
  return k;
}

void ck_tagent_csr(const ck_key *key, const char *cn, const char *const *dns,
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

/* ---- the connection ---------------------------------------------------------- */

static void ta_update(ck_tagent *a) { a->ready = a->qn > 0 || a->ended; }

static void ta_on_closed(ck_conn *conn) {
  ck_tagent *a = conn->data;

  a->closed = 1;
  a->conn = NULL;
}

static void ta_on_read(ck_conn *conn, const uint8_t *data, size_t len,
                       ck_err status) {
  ck_tagent *a = conn->data;
  ck_errctx err = CK_ERRCTX_INIT;
  const uint8_t *body;
  size_t blen;

  if (status != CK_OK) {
    a->ended = 1;
    a->end_status = status;
    ck_conn_close(conn, ta_on_closed);
    ta_update(a);
    return;
  }
  assert_int_equal(ck_wire_framer_feed(&a->fr, data, len, &err), CK_OK);
  while (ck_wire_framer_next(&a->fr, &body, &blen, &err) == CK_OK) {
    ck_arena *ar = ck_arena_new(4096);
    ck_wire_msg m;

    memset(&m, 0, sizeof m);
    if (ck_wire_decode(body, blen, NULL, ar, &m, &err) != CK_OK)
      TA_FAIL(a, "test agent decode: %s", ck_errctx_msg(&err));
    if (m.type == CK_WIRE_PING) {
      ck_wire_msg p;
      memset(&p, 0, sizeof p);
      p.type = CK_WIRE_PONG;
      p.id = m.id;
      p.u.pong.time = ck_clock_now();
      a->pings++;
      ck_arena_free(ar);
      ck_tagent_send(a, &p);
      continue;
    }
    assert_true(a->qn < CK_TAGENT_QMAX);
    a->q[a->qn] = m;
    a->qa[a->qn++] = ar;
  }
  ta_update(a);
}

static void ta_on_hs(ck_conn *conn, ck_err status, const ck_errctx *err,
                     void *arg) {
  ck_tagent *a = arg;

  a->hs = status;
  if (status == CK_OK) {
    a->conn = conn;
    conn->data = a;
    assert_int_equal(ck_conn_read_start(conn, ta_on_read), CK_OK);
  } else {
    snprintf(a->hs_msg, sizeof a->hs_msg, "%s", err ? ck_errctx_msg(err) : "");
    a->ended = 1;
    a->closed = 1;
    ta_update(a);
  }
  a->hs_done = 1;
}

ck_err ck_tagent_open(ck_tagent *a, const ck_tagent_peer *p,
                      const ck_tagent_ident *id) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_tls_config tc;
  char addr[64];

  memset(a, 0, sizeof *a);
  a->loop = p->loop;
  a->wait_ms = p->wait_ms;
  a->on_fail = p->on_fail;
  a->fail_arg = p->fail_arg;
  a->next_id = 1;
  ck_wire_framer_init(&a->fr, 0);
  memset(&tc, 0, sizeof tc);
  tc.role = CK_TLS_CLIENT;
  tc.server_name = p->server_name;
  if (id == NULL) {
    tc.ca_pin_sha256 = p->root_pin;
  } else {
    tc.ca_pem = (const uint8_t *)p->chain_pem;
    tc.ca_pem_len = p->chain_len;
    tc.cert_pem = (const uint8_t *)id->cert_pem;
    tc.cert_pem_len = id->cert_pem_len;
    tc.key_pem = (const uint8_t *)id->key_pem;
    tc.key_pem_len = id->key_pem_len;
  }
  if (ck_tls_ctx_new(&tc, &a->ctx, &err) != CK_OK)
    TA_FAIL(a, "test agent TLS context: %s", ck_errctx_msg(&err));
  snprintf(addr, sizeof addr, "127.0.0.1:%d", p->port);
  assert_int_equal(ck_tls_connect(a->loop, addr, a->ctx, ta_on_hs, a, &err),
                   CK_OK);
  ck_test_run_until(a->loop, &a->hs_done, a->wait_ms);
  return a->hs;
}

void ck_tagent_connect(ck_tagent *a, const ck_tagent_peer *p,
                       const ck_tagent_ident *id) {
  if (ck_tagent_open(a, p, id) != CK_OK)
    TA_FAIL(a, "gateway handshake: %s", a->hs_msg);
}

void ck_tagent_close(ck_tagent *a) {
  size_t i;

  if (a->conn != NULL && !a->ended)
    ck_conn_close(a->conn, ta_on_closed);
  ck_test_run_until(a->loop, &a->closed, a->wait_ms);
  for (i = 0; i < a->qn; i++)
    ck_arena_free(a->qa[i]);
  a->qn = 0;
  ck_wire_framer_free(&a->fr);
  ck_tls_ctx_free(a->ctx);
  a->ctx = NULL;
}

void ck_tagent_send_raw(ck_tagent *a, const uint8_t *buf, size_t len) {
  uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);

  assert_non_null(a->conn);
  assert_int_equal(ck_conn_write(a->conn, &b, 1, NULL, NULL), CK_OK);
}

void ck_tagent_send(ck_tagent *a, ck_wire_msg *m) {
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t *buf = NULL;
  size_t len = 0;

  if (m->id == 0)
    m->id = a->next_id++;
  if (ck_wire_encode(m, NULL, &buf, &len, &err) != CK_OK)
    TA_FAIL(a, "test agent encode: %s", ck_errctx_msg(&err));
  ck_tagent_send_raw(a, buf, len);
  free(buf);
}

int ck_tagent_recv(ck_tagent *a, ck_wire_msg *m, ck_arena **ar) {
  ck_test_run_until(a->loop, &a->ready, a->wait_ms);
  if (a->qn == 0)
    return 0;
  *m = a->q[0];
  *ar = a->qa[0];
  memmove(a->q, a->q + 1, (a->qn - 1) * sizeof a->q[0]);
  memmove(a->qa, a->qa + 1, (a->qn - 1) * sizeof a->qa[0]);
  a->qn--;
  ta_update(a);
  return 1;
}

void ck_tagent_expect(ck_tagent *a, ck_wire_type t, uint64_t id,
                      ck_wire_msg *m, ck_arena **ar) {
  if (!ck_tagent_recv(a, m, ar))
    TA_FAIL(a, "the connection ended (%s) while waiting for '%s'",
            ck_err_name(a->end_status), ck_wire_type_name(t));
  if (m->type != t) {
    if (m->type == CK_WIRE_ERROR)
      TA_FAIL(a, "expected '%s', got error %s: %s", ck_wire_type_name(t),
              ck_err_name((ck_err)m->u.error.code), m->u.error.message);
    TA_FAIL(a, "expected '%s', got '%s'", ck_wire_type_name(t),
            ck_wire_type_name(m->type));
  }
  if (id != 0)
    assert_int_equal(m->id, id);
}

void ck_tagent_expect_error(ck_tagent *a, ck_err code, uint64_t id,
                            const char *needle, int fatal) {
  ck_wire_msg m;
  ck_arena *ar = NULL;

  ck_tagent_expect(a, CK_WIRE_ERROR, id, &m, &ar);
  if (m.u.error.code != (int32_t)code)
    TA_FAIL(a, "expected error %s, got %s: %s", ck_err_name(code),
            ck_err_name((ck_err)m.u.error.code), m.u.error.message);
  if (needle != NULL && strstr(m.u.error.message, needle) == NULL)
    TA_FAIL(a, "error message '%s' does not mention '%s'", m.u.error.message,
            needle);
  assert_int_equal(m.u.error.fatal ? 1 : 0, fatal ? 1 : 0);
  ck_arena_free(ar);
}

void ck_tagent_expect_end(ck_tagent *a) {
  ck_wire_msg m;
  ck_arena *ar = NULL;

  if (ck_tagent_recv(a, &m, &ar))
    TA_FAIL(a, "expected the end of the connection, got '%s'",
            ck_wire_type_name(m.type));
  assert_true(a->ended);
}

/* ---- messages ------------------------------------------------------------------ */

uint64_t ck_tagent_hello(ck_tagent *a, const char *agent_id) {
  ck_wire_msg m;

  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_HELLO;
  m.u.hello.agent_id = agent_id;
  m.u.hello.version = "0.1.0";
  m.u.hello.platform = "linux-x86_64";
  ck_tagent_send(a, &m);
  return m.id;
}

void ck_tagent_welcome(ck_tagent *a, const char *agent_id) {
  ck_wire_msg m;
  ck_arena *ar = NULL;
  uint64_t id = ck_tagent_hello(a, agent_id);

  ck_tagent_expect(a, CK_WIRE_WELCOME, id, &m, &ar);
  ck_arena_free(ar);
}

uint64_t ck_tagent_enroll(ck_tagent *a, const char *token, const uint8_t *csr,
                          size_t csr_len, const char *hostname,
                          const char *fqdn) {
  ck_wire_msg m;

  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_ENROLL;
  m.u.enroll.token = token;
  m.u.enroll.csr.data = csr;
  m.u.enroll.csr.len = csr_len;
  m.u.enroll.host.hostname = hostname;
  m.u.enroll.host.os = "linux";
  m.u.enroll.host.arch = "x86_64";
  m.u.enroll.host.fqdn = fqdn;
  ck_tagent_send(a, &m);
  return m.id;
}

uint64_t ck_tagent_send_csr(ck_tagent *a, const char *cert_id,
                            const char *profile, const uint8_t *csr,
                            size_t csr_len, const char *reason) {
  ck_wire_msg m;

  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_CSR;
  m.u.csr.cert_id = cert_id;
  m.u.csr.profile = profile;
  m.u.csr.csr.data = csr;
  m.u.csr.csr.len = csr_len;
  m.u.csr.reason = reason;
  ck_tagent_send(a, &m);
  return m.id;
}

void ck_tagent_enroll_new(const ck_tagent_peer *p, const char *token,
                          const char *hostname, const char *fqdn,
                          ck_tagent_ident *id) {
  ck_key *key = ck_tagent_key("ec-p256");
  uint8_t *csr = NULL;
  size_t csr_len = 0;
  ck_tagent a;
  ck_wire_msg m;
  ck_arena *ar = NULL;
  uint64_t rid;

  ck_tagent_csr(key, "ignored", NULL, &csr, &csr_len);
  ck_tagent_connect(&a, p, NULL);
  rid = ck_tagent_enroll(&a, token, csr, csr_len, hostname, fqdn);
  ck_tagent_expect(&a, CK_WIRE_CERT, rid, &m, &ar);
  memset(id, 0, sizeof *id);
  ck_tagent_ident_set(id, NULL, &m, key);
  ck_arena_free(ar);
  ck_tagent_close(&a);
  free(csr);
  ck_key_free(key);
}
