/* test_session.c — enrolled agents on the gateway (mutual TLS).
 *
 * Each test starts its own coordinator (ck_coord_init in a temporary
 * directory, gateway on 127.0.0.1:0) and enrolls agents through the
 * gateway itself. Covered: hello/welcome and a hello claiming another
 * agent; a certificate from our CA that is no agent's identity, a revoked
 * agent; inventory full (in parts), delta, removals and a delta against an
 * unknown base; events audited; renewal CSRs issued for names the binding
 * allows, refused with the rule for names it does not, for a profile
 * outside the binding, pending under an approval profile; identity
 * renewal (the new identity works, the old one no longer does); commands
 * pushed and acknowledged; pings; idle timeout; the session limit; a
 * session closed with work in flight; and a gateway close that lets
 * in-flight work answer first. */
#include "tests/unit/gateway/gw_fixture.h"

#include "coordinator/policy/profile.h"

/* Agent "web" binding: tls-server and approval-web for names under
 * web.test. */
static void enroll_web(gw_ident *id) {
  gw_enroll_agent(&fx, "web", "tls-server\napproval-web", ".web.test", id);
}

static uint64_t send_csr(gwc *c, const char *profile, const char *cert_id,
                         const uint8_t *csr, size_t len) {
  return ck_tagent_send_csr(c, cert_id, profile, csr, len, NULL);
}

static uint64_t csr_for(gwc *c, const char *profile, const char *name,
                        ck_key **keep) {
  const char *dns[] = {name, NULL};
  ck_key *key = gw_key("ec-p256");
  uint8_t *der = NULL;
  size_t len = 0;
  uint64_t id;

  gw_csr(key, name, dns, &der, &len);
  id = send_csr(c, profile, "managed-1", der, len);
  free(der);
  if (keep != NULL)
    *keep = key;
  else
    ck_key_free(key);
  return id;
}

/* Checks a `cert` answer: chain verifies to the root; returns the leaf. */
static ck_cert *check_cert(const ck_wire_msg *m) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_cert_list chain = {0}, trusted = {0};
  ck_cert *leaf = NULL;
  size_t i;

  assert_int_equal(ck_cert_parse(m->u.cert.cert.data, m->u.cert.cert.len,
                                 &leaf, NULL),
                   CK_OK);
  for (i = 0; i < m->u.cert.chain.n; i++)
    assert_int_equal(ck_cert_list_parse(&chain, m->u.cert.chain.v[i].data,
                                        m->u.cert.chain.v[i].len, NULL),
                     CK_OK);
  assert_int_equal(ck_cert_list_add(&trusted, ck_cert_dup(fx.root)), CK_OK);
  if (ck_cert_verify(leaf, &chain, &trusted, 0, &err) != CK_OK)
    fail_msg("chain does not verify: %s", ck_errctx_msg(&err));
  ck_cert_list_clear(&chain);
  ck_cert_list_clear(&trusted);
  return leaf;
}

static void welcome(gwc *c, const char *agent_id) {
  ck_wire_msg m;
  ck_arena *a = NULL;
  uint64_t id = gwc_hello(c, agent_id);

  gwc_expect(c, CK_WIRE_WELCOME, id, &m, &a);
  assert_non_null(m.u.welcome.agent_id);
  assert_string_equal(m.u.welcome.agent_id, agent_id);
  ck_arena_free(a);
}

static void test_hello(void **state) {
  gw_ident id;
  gwc c;

  (void)state;
  enroll_web(&id);
  assert_int_equal(gwc_open(&fx, &c, &id), CK_OK);
  welcome(&c, id.agent_id);
  /* claiming to be another agent ends the session */
  gwc_hello(&c, "0123456789abcdef");
  gwc_expect_error(&c, CK_ERR_AUTH, 0, "does not match", 1);
  gwc_expect_end(&c);
  gwc_close(&c);
  gw_ident_clear(&id);
}

static void test_unknown_agent_cert(void **state) {
  const ck_ca *ca = ck_ca_set_default(fx.rt.cas);
  const char *eku[] = {"clientAuth"};
  ck_name_attr cn = {"CN", "not-an-agent"};
  ck_key *key = gw_key("ec-p256");
  ck_csr *csr = NULL;
  ck_csr_req req;
  ck_ca_issue_req r;
  ck_cert *cert = NULL;
  gw_ident id;
  const uint8_t *der;
  size_t len;
  gwc c;

  (void)state;
  memset(&req, 0, sizeof req);
  req.subject = &cn;
  req.n_subject = 1;
  assert_int_equal(ck_csr_create(key, &req, &csr, NULL), CK_OK);
  memset(&r, 0, sizeof r);
  r.csr = csr;
  r.subject_from_csr = 1;
  r.not_before = ck_clock_now() - 60;
  r.not_after = ck_clock_now() + 3600;
  r.key_usage = CK_KU_DIGITAL_SIGNATURE;
  r.eku = eku;
  r.n_eku = 1;
  {
    ck_errctx err = CK_ERRCTX_INIT;
    if (ck_ca_issue(ca, &r, &cert, &err) != CK_OK)
      fail_msg("issue: %s", ck_errctx_msg(&err));
  }
  memset(&id, 0, sizeof id);
  der = ck_cert_der(cert, &len);
  assert_int_equal(ck_pem_encode("CERTIFICATE", der, len, &id.cert_pem,
                                 &id.cert_pem_len),
                   CK_OK);
  assert_int_equal(ck_key_export_pem(key, CK_KEY_PEM_PKCS8, &id.key_pem,
                                     &id.key_pem_len, NULL),
                   CK_OK);
  /* the TLS handshake succeeds (our CA), the gateway then refuses */
  assert_int_equal(gwc_open(&fx, &c, &id), CK_OK);
  gwc_expect_error(&c, CK_ERR_AUTH, 0, "not the identity of any", 1);
  gwc_expect_end(&c);
  gwc_close(&c);
  gw_ident_clear(&id);
  ck_cert_free(cert);
  ck_csr_free(csr);
  ck_key_free(key);
}

static void test_revoked_agent(void **state) {
  ck_arena *a = ck_arena_new(2048);
  ck_store_write *w = ck_store_write_new();
  ck_store_agent ag;
  gw_ident id;
  gwc c;

  (void)state;
  enroll_web(&id);
  assert_int_equal(ck_store_agent_get(fx.rt.store, id.agent_id, a, &ag, NULL),
                   CK_OK);
  ag.status = CK_AGENT_REVOKED;
  assert_int_equal(ck_store_write_agent_put(w, &ag, NULL), CK_OK);
  assert_int_equal(ck_store_submit_wait(fx.rt.store, w, NULL), CK_OK);
  assert_int_equal(gwc_open(&fx, &c, &id), CK_OK);
  gwc_expect_error(&c, CK_ERR_AUTH, 0, "revoked", 1);
  gwc_expect_end(&c);
  gwc_close(&c);
  ck_store_write_free(w);
  ck_arena_free(a);
  gw_ident_clear(&id);
}

/* ---- inventory ---------------------------------------------------------- */

static void installs(const char *agent_id, size_t expect, const char *path0) {
  ck_arena *a = ck_arena_new(4096);
  ck_store_install *items;
  ck_store_page pg;
  size_t n;

  memset(&pg, 0, sizeof pg);
  assert_int_equal(ck_store_install_list(fx.rt.store, NULL, agent_id, &pg, a,
                                         &items, &n, NULL),
                   CK_OK);
  if (n != expect)
    fail_msg("%zu installations, expected %zu", n, expect);
  if (path0 != NULL)
    assert_string_equal(items[0].path, path0);
  ck_arena_free(a);
}

static void inventory(gwc *c, ck_wire_inv_mode mode, uint64_t seq,
                      uint64_t base, int part, int final,
                      const ck_wire_finding *f, size_t n, const char *removed,
                      const char *detail_needle) {
  ck_wire_msg m, r;
  ck_arena *a = NULL;

  gw_inventory_msg(&m, mode, seq, base);
  if (part >= 0) {
    m.u.inventory.part = (uint32_t)part;
    m.u.inventory.has_part = true;
    m.u.inventory.final = final != 0;
    m.u.inventory.has_final = true;
  }
  m.u.inventory.findings = f;
  m.u.inventory.n_findings = n;
  if (removed != NULL) {
    m.u.inventory.removed.v = &removed;
    m.u.inventory.removed.n = 1;
  }
  gwc_send(c, &m);
  gwc_expect(c, CK_WIRE_ACK, m.id, &r, &a);
  if (detail_needle != NULL) {
    assert_non_null(r.u.ack.detail);
    if (strstr(r.u.ack.detail, detail_needle) == NULL)
      fail_msg("ack '%s' does not mention '%s'", r.u.ack.detail, detail_needle);
  }
  ck_arena_free(a);
}

static void test_inventory(void **state) {
  gw_ident id;
  gwc c;
  ck_wire_finding f[3];
  uint8_t fp[CK_SHA256_LEN], unknown[CK_SHA256_LEN];
  const char *svc[] = {"nginx"}, *eps[] = {"0.0.0.0:443", "[::]:443"};
  ck_wire_msg m;
  size_t i;

  (void)state;
  enroll_web(&id);
  assert_int_equal(gwc_open(&fx, &c, &id), CK_OK);
  welcome(&c, id.agent_id);
  /* the identity certificate is one the store knows */
  for (i = 0; i < CK_SHA256_LEN; i++) {
    unsigned v;
    sscanf(id.fp + 2 * i, "%2x", &v);
    fp[i] = (uint8_t)v;
  }
  memset(unknown, 0xab, sizeof unknown);
  memset(f, 0, sizeof f);
  f[0].path = "/etc/ssl/a.pem";
  f[0].fingerprint.data = fp;
  f[0].fingerprint.len = sizeof fp;
  f[0].services.v = svc;
  f[0].services.n = 1;
  f[0].endpoints.v = eps;
  f[0].endpoints.n = 2;
  f[1].path = "/etc/ssl/b.pem";
  f[1].fingerprint.data = fp;
  f[1].fingerprint.len = sizeof fp;
  f[2].path = "/etc/ssl/unknown.pem";
  f[2].fingerprint.data = unknown;
  f[2].fingerprint.len = sizeof unknown;

  /* full, two parts: a.pem on two endpoints, then b.pem and an unknown */
  inventory(&c, CK_WIRE_INV_FULL, 1, 0, 0, 0, f, 1, NULL, "stored 2");
  inventory(&c, CK_WIRE_INV_FULL, 1, 0, 1, 1, f + 1, 2, NULL,
            "1 findings of certificates this coordinator does not hold");
  installs(id.agent_id, 3, NULL);
  /* a new full inventory with only b.pem replaces the rest */
  inventory(&c, CK_WIRE_INV_FULL, 2, 0, -1, 1, f + 1, 1, NULL, "removed 2");
  installs(id.agent_id, 1, "/etc/ssl/b.pem");
  /* delta on generation 2: a.pem back (no endpoints), b.pem removed */
  f[0].endpoints.n = 0;
  inventory(&c, CK_WIRE_INV_DELTA, 3, 2, -1, 1, f, 1, "/etc/ssl/b.pem",
            "removed 1");
  installs(id.agent_id, 1, "/etc/ssl/a.pem");
  /* a delta against a generation we do not hold */
  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_INVENTORY;
  m.u.inventory.mode = CK_WIRE_INV_DELTA;
  m.u.inventory.seq = 9;
  m.u.inventory.base = 7;
  m.u.inventory.has_base = true;
  gwc_send(&c, &m);
  gwc_expect_error(&c, CK_ERR_CONFLICT, m.id, "send a full inventory", 0);
  /* a part out of order */
  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_INVENTORY;
  m.u.inventory.mode = CK_WIRE_INV_FULL;
  m.u.inventory.seq = 10;
  m.u.inventory.part = 3;
  m.u.inventory.has_part = true;
  gwc_send(&c, &m);
  gwc_expect_error(&c, CK_ERR_CONFLICT, m.id, "does not follow", 0);
  gwc_close(&c);
  gw_ident_clear(&id);
}

static void test_event(void **state) {
  ck_arena *a = ck_arena_new(4096), *ra = NULL;
  ck_audit_event ev;
  ck_wire_msg m, r;
  gw_ident id;
  gwc c;

  (void)state;
  enroll_web(&id);
  assert_int_equal(gwc_open(&fx, &c, &id), CK_OK);
  welcome(&c, id.agent_id); /* records agent_seen (before the event's write) */
  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_EVENT;
  m.u.event.kind = CK_WIRE_EVENT_FAILURE;
  m.u.event.cert_id = "managed-7";
  m.u.event.old_state = "RELOADING";
  m.u.event.new_state = "FAILED";
  m.u.event.reason = "nginx -s reload exited with 1";
  m.u.event.at = 1700000000;
  gwc_send(&c, &m);
  gwc_expect(&c, CK_WIRE_ACK, m.id, &r, &ra);
  ck_arena_free(ra);
  memset(&ev, 0, sizeof ev);
  assert_true(gw_fx_audit_find(&fx, "managed.failure", a, &ev));
  assert_string_equal(ev.object_id, "managed-7");
  assert_non_null(strstr(ev.actor, id.agent_id));
  assert_non_null(strstr(ev.details, "nginx -s reload exited with 1"));
  /* the hello's version was stored (group commit keeps submission order) */
  {
    ck_store_agent ag;
    assert_int_equal(ck_store_agent_get(fx.rt.store, id.agent_id, a, &ag, NULL),
                     CK_OK);
    assert_string_equal(ag.version, "0.1.0");
    assert_true(ag.last_seen > 0);
  }
  gwc_close(&c);
  ck_arena_free(a);
  gw_ident_clear(&id);
}

/* ---- renewal ------------------------------------------------------------ */

static void add_profile(const char *name, const char *workflow) {
  const char *base = ck_profile_default_json("tls-server");
  char body[4096], *p;
  ck_store_profile pr;
  ck_store_write *w = ck_store_write_new();
  ck_errctx err = CK_ERRCTX_INIT;

  ck_strlcpy(body, base, sizeof body);
  p = strstr(body, "\"tls-server\"");
  assert_non_null(p);
  /* same length names keep the text aligned: replace in a copy */
  {
    char out[4096];
    size_t pre = (size_t)(p - body);
    snprintf(out, sizeof out, "%.*s\"%s\"%s", (int)pre, body, name,
             p + strlen("\"tls-server\""));
    ck_strlcpy(body, out, sizeof body);
  }
  p = strstr(body, "\"automatic\"");
  assert_non_null(p);
  {
    char out[4096];
    size_t pre = (size_t)(p - body);
    snprintf(out, sizeof out, "%.*s\"%s\"%s", (int)pre, body, workflow,
             p + strlen("\"automatic\""));
    ck_strlcpy(body, out, sizeof body);
  }
  memset(&pr, 0, sizeof pr);
  pr.name = name;
  pr.body = body;
  pr.actor = "test";
  assert_int_equal(ck_store_write_profile_put(w, &pr, 0, &err), CK_OK);
  if (ck_store_submit_wait(fx.rt.store, w, &err) != CK_OK)
    fail_msg("profile: %s", ck_errctx_msg(&err));
  ck_store_write_free(w);
}

static void test_renew(void **state) {
  gw_ident id;
  gwc c;
  ck_wire_msg m;
  ck_arena *a = NULL;
  ck_cert *leaf;
  const ck_cert_info *ci;
  uint64_t rid;

  (void)state;
  add_profile("approval-web", "approval");
  add_profile("other-team", "automatic");
  enroll_web(&id);
  assert_int_equal(gwc_open(&fx, &c, &id), CK_OK);
  welcome(&c, id.agent_id);

  /* a name the binding allows */
  rid = csr_for(&c, "tls-server", "app.web.test", NULL);
  gwc_expect(&c, CK_WIRE_CERT, rid, &m, &a);
  assert_non_null(m.u.cert.cert_id);
  assert_string_equal(m.u.cert.cert_id, "managed-1");
  leaf = check_cert(&m);
  ci = ck_cert_get_info(leaf);
  assert_int_equal(ci->n_sans, 1);
  assert_string_equal(ci->sans[0].value, "app.web.test");
  ck_cert_free(leaf);
  ck_arena_free(a);

  /* a name the profile allows but the binding does not: the rule is named */
  rid = csr_for(&c, "tls-server", "db.other.test", NULL);
  gwc_expect_error(&c, CK_ERR_DENIED, rid, "db.other.test", 0);
  /* a profile outside the binding */
  rid = csr_for(&c, "other-team", "app.web.test", NULL);
  gwc_expect_error(&c, CK_ERR_DENIED, rid, "other-team", 0);
  /* an unknown profile */
  rid = csr_for(&c, "no-such-profile", "app.web.test", NULL);
  gwc_expect(&c, CK_WIRE_ERROR, rid, &m, &a);
  assert_true(m.u.error.code == CK_ERR_NOT_FOUND ||
              m.u.error.code == CK_ERR_DENIED);
  ck_arena_free(a);
  /* an approval profile leaves it pending */
  rid = csr_for(&c, "approval-web", "app.web.test", NULL);
  gwc_expect(&c, CK_WIRE_PENDING, rid, &m, &a);
  assert_true(m.u.pending.retry_after > 0);
  assert_non_null(m.u.pending.ticket);
  ck_arena_free(a);
  /* a CSR that is not one */
  rid = send_csr(&c, "tls-server", "managed-1", (const uint8_t *)"junk", 4);
  gwc_expect_error(&c, CK_ERR_BAD_CSR, rid, NULL, 0);
  /* several renewals in flight at once all come back */
  {
    uint64_t ids[8];
    int seen[8] = {0};
    size_t i, j;
    for (i = 0; i < 8; i++)
      ids[i] = csr_for(&c, "tls-server", "many.web.test", NULL);
    for (i = 0; i < 8; i++) {
      gwc_expect(&c, CK_WIRE_CERT, 0, &m, &a);
      for (j = 0; j < 8; j++)
        if (ids[j] == m.id)
          seen[j]++;
      ck_arena_free(a);
    }
    for (i = 0; i < 8; i++)
      assert_int_equal(seen[i], 1);
  }
  gwc_close(&c);
  gw_ident_clear(&id);
}

static void test_identity_renew(void **state) {
  gw_ident id, id2;
  gwc c;
  ck_wire_msg m;
  ck_arena *a = NULL, *sa = ck_arena_new(4096);
  ck_key *key = NULL;
  ck_cert *leaf;
  ck_store_agent ag;
  ck_store_cert old;
  uint64_t rid;

  (void)state;
  enroll_web(&id);
  assert_int_equal(gwc_open(&fx, &c, &id), CK_OK);
  rid = csr_for(&c, "agent-identity", "ignored.web.test", &key);
  gwc_expect(&c, CK_WIRE_CERT, rid, &m, &a);
  leaf = check_cert(&m);
  assert_string_equal(ck_cert_get_info(leaf)->subject_cn, id.agent_id);
  assert_int_equal(ck_cert_get_info(leaf)->sans[0].type, CK_SAN_URI);
  memset(&id2, 0, sizeof id2);
  ck_strlcpy(id2.agent_id, id.agent_id, sizeof id2.agent_id);
  memcpy(id2.fp, ck_cert_get_info(leaf)->sha256_hex, sizeof id2.fp);
  assert_int_equal(ck_pem_encode("CERTIFICATE", m.u.cert.cert.data,
                                 m.u.cert.cert.len, &id2.cert_pem,
                                 &id2.cert_pem_len),
                   CK_OK);
  assert_int_equal(ck_key_export_pem(key, CK_KEY_PEM_PKCS8, &id2.key_pem,
                                     &id2.key_pem_len, NULL),
                   CK_OK);
  ck_cert_free(leaf);
  ck_arena_free(a);
  gwc_close(&c);

  /* the store points at the new identity; the old one is superseded */
  assert_int_equal(ck_store_agent_get(fx.rt.store, id.agent_id, sa, &ag, NULL),
                   CK_OK);
  assert_string_equal(ag.identity_fp, id2.fp);
  assert_string_equal(ag.group, "web");
  assert_int_equal(ck_store_cert_get(fx.rt.store, id.fp, 0, sa, &old, NULL),
                   CK_OK);
  assert_int_equal(old.status, CK_CERT_SUPERSEDED);

  assert_int_equal(gwc_open(&fx, &c, &id2), CK_OK);
  welcome(&c, id.agent_id);
  /* the binding came along: renewals still work with the new identity */
  rid = csr_for(&c, "tls-server", "app.web.test", NULL);
  gwc_expect(&c, CK_WIRE_CERT, rid, &m, &a);
  ck_arena_free(a);
  gwc_close(&c);
  assert_int_equal(gwc_open(&fx, &c, &id), CK_OK);
  gwc_expect_error(&c, CK_ERR_AUTH, 0, NULL, 1);
  gwc_close(&c);

  ck_key_free(key);
  ck_arena_free(sa);
  gw_ident_clear(&id);
  gw_ident_clear(&id2);
}

/* ---- commands, keep-alive, limits, closing ---------------------------- */

typedef struct cmd_result {
  volatile int done;
  ck_err status;
  char detail[128];
} cmd_result;

static void on_cmd(ck_err status, const char *detail, void *arg) {
  cmd_result *r = arg;

  r->status = status;
  snprintf(r->detail, sizeof r->detail, "%s", detail ? detail : "");
  r->done = 1;
}

static void test_commands(void **state) {
  ck_wire_command cmd;
  ck_wire_kv kv = {"force", "true"};
  cmd_result r1, r2;
  ck_wire_msg m, ack;
  ck_arena *a = NULL;
  gw_ident id;
  uint64_t cid = 0;
  gwc c;

  (void)state;
  memset(&r1, 0, sizeof r1);
  memset(&r2, 0, sizeof r2);
  enroll_web(&id);
  memset(&cmd, 0, sizeof cmd);
  cmd.action = CK_WIRE_ACT_RESCAN;
  /* not connected */
  assert_int_equal(ck_gateway_send_command(fx.gw, id.agent_id, &cmd, on_cmd,
                                           &r1, &cid, NULL),
                   CK_ERR_NOT_FOUND);
  assert_int_equal(gwc_open(&fx, &c, &id), CK_OK);
  welcome(&c, id.agent_id);
  assert_int_equal(ck_gateway_send_command(fx.gw, id.agent_id, &cmd, on_cmd,
                                           &r1, &cid, NULL),
                   CK_OK);
  gwc_expect(&c, CK_WIRE_COMMAND, cid, &m, &a);
  assert_int_equal(m.u.command.action, CK_WIRE_ACT_RESCAN);
  ck_arena_free(a);
  memset(&ack, 0, sizeof ack);
  ack.type = CK_WIRE_ACK;
  ack.id = cid;
  ack.u.ack.detail = "scanning";
  gwc_send(&c, &ack);
  ck_test_run_until(&fx.loop, &r1.done, GW_WAIT_MS);
  assert_int_equal(r1.status, CK_OK);
  assert_string_equal(r1.detail, "scanning");
  /* a command the agent refuses, then one left unanswered at close */
  cmd.action = CK_WIRE_ACT_RENEW;
  cmd.target = "managed-1";
  cmd.args.v = &kv;
  cmd.args.n = 1;
  memset(&r1, 0, sizeof r1);
  assert_int_equal(ck_gateway_send_command(fx.gw, id.agent_id, &cmd, on_cmd,
                                           &r1, &cid, NULL),
                   CK_OK);
  gwc_expect(&c, CK_WIRE_COMMAND, cid, &m, &a);
  assert_string_equal(m.u.command.target, "managed-1");
  assert_int_equal(m.u.command.args.n, 1);
  ck_arena_free(a);
  memset(&ack, 0, sizeof ack);
  ack.type = CK_WIRE_ERROR;
  ack.id = cid;
  ack.u.error.code = CK_ERR_UNSUPPORTED;
  ack.u.error.message = "no such managed certificate here";
  gwc_send(&c, &ack);
  ck_test_run_until(&fx.loop, &r1.done, GW_WAIT_MS);
  assert_int_equal(r1.status, CK_ERR_UNSUPPORTED);
  assert_int_equal(ck_gateway_send_command(fx.gw, id.agent_id, &cmd, on_cmd,
                                           &r2, NULL, NULL),
                   CK_OK);
  gwc_close(&c);
  ck_test_run_until(&fx.loop, &r2.done, GW_WAIT_MS);
  assert_int_equal(r2.status, CK_ERR_CLOSED);
  /* an action the protocol does not have */
  cmd.action = CK_WIRE_ACT_UNKNOWN;
  assert_int_equal(ck_gateway_send_command(fx.gw, id.agent_id, &cmd, NULL,
                                           NULL, NULL, NULL),
                   CK_ERR_INVAL);
  gw_ident_clear(&id);
}

/* Work in flight when the agent hangs up: the answer is dropped, nothing
 * crashes, the session is freed once the work is back (checked by the
 * gateway close in teardown and by ASan). */
static void test_close_with_work_in_flight(void **state) {
  gw_ident id;
  gwc c;
  int i;

  (void)state;
  enroll_web(&id);
  assert_int_equal(gwc_open(&fx, &c, &id), CK_OK);
  for (i = 0; i < 6; i++)
    (void)csr_for(&c, "tls-server", "bye.web.test", NULL);
  (void)csr_for(&c, "agent-identity", "x", NULL);
  gwc_close(&c);
  gw_ident_clear(&id);
}

/* A gateway close lets in-flight work answer before the session closes.
 * The hello sent after the CSR is answered at once on the loop while the
 * CSR is on the pool, so when the welcome comes first the CSR is in flight
 * as the gateway closes (if the issuance was quicker, the close finds the
 * session idle: both orders must end with the cert delivered). */
static void test_drain_on_close(void **state) {
  gw_ident id;
  gwc c;
  ck_wire_msg m;
  ck_arena *a = NULL;
  uint64_t rid, hid;

  (void)state;
  enroll_web(&id);
  assert_int_equal(gwc_open(&fx, &c, &id), CK_OK);
  rid = csr_for(&c, "tls-server", "last.web.test", NULL);
  hid = gwc_hello(&c, id.agent_id);
  assert_true(gwc_recv(&c, &m, &a));
  if (m.type == CK_WIRE_WELCOME) {
    assert_int_equal(m.id, hid);
    ck_arena_free(a);
    ck_gateway_close(fx.gw, gw_fx_on_closed, &fx);
    gwc_expect(&c, CK_WIRE_CERT, rid, &m, &a);
  } else {
    assert_int_equal(m.type, CK_WIRE_CERT);
    assert_int_equal(m.id, rid);
    ck_arena_free(a);
    gwc_expect(&c, CK_WIRE_WELCOME, hid, &m, &a);
    ck_gateway_close(fx.gw, gw_fx_on_closed, &fx);
  }
  ck_arena_free(a);
  gwc_expect_end(&c);
  ck_test_run_until(&fx.loop, &fx.gw_closed, GW_WAIT_MS);
  assert_int_equal(ck_gateway_sessions(fx.gw), 0);
  gwc_close(&c);
  gw_ident_clear(&id);
}

/* ---- tests with their own gateway options ------------------------------- */

static void test_ping_and_idle(void **state) {
  gw_fx f2;
  ck_gateway_opts o;
  gw_ident id;
  gwc c, idle;
  uint64_t start;

  (void)state;
  memset(&o, 0, sizeof o);
  o.ping_interval_ms = 100;
  o.idle_timeout_ms = 600;
  gw_fx_start(&f2, &o);
  gw_enroll_agent(&f2, "web", "tls-server", ".web.test", &id);
  /* an enrolled agent is pinged and, answering, stays connected */
  assert_int_equal(gwc_open(&f2, &c, &id), CK_OK);
  /* an unenrolled session that says nothing is closed */
  assert_int_equal(gwc_open(&f2, &idle, NULL), CK_OK);
  start = ck_clock_mono_ms();
  gwc_expect_error(&idle, CK_ERR_TIMEOUT, 0, "idle", 1);
  gwc_expect_end(&idle);
  assert_true(ck_clock_mono_ms() - start >= 400);
  gwc_close(&idle);
  assert_true(c.pings >= 3);
  assert_false(c.ended);
  gwc_close(&c);
  gw_ident_clear(&id);
  gw_fx_stop(&f2);
}

static void test_max_sessions(void **state) {
  gw_fx f2;
  ck_gateway_opts o;
  gwc c1, c2, c3;
  ck_wire_msg m;
  ck_arena *a = NULL;
  uint64_t id;

  (void)state;
  memset(&o, 0, sizeof o);
  o.max_sessions = 1;
  gw_fx_start(&f2, &o);
  assert_int_equal(gwc_open(&f2, &c1, NULL), CK_OK);
  assert_int_not_equal(gwc_open(&f2, &c2, NULL), CK_OK);
  gwc_close(&c2);
  /* the first one is still served */
  id = gwc_hello(&c1, NULL);
  gwc_expect(&c1, CK_WIRE_WELCOME, id, &m, &a);
  ck_arena_free(a);
  gwc_close(&c1);
  /* and its place is free again once it is gone */
  while (ck_gateway_sessions(f2.gw) > 0)
    uv_run(&f2.loop, UV_RUN_ONCE);
  assert_int_equal(gwc_open(&f2, &c3, NULL), CK_OK);
  gwc_close(&c3);
  gw_fx_stop(&f2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_hello, gw_setup, gw_teardown),
      cmocka_unit_test_setup_teardown(test_unknown_agent_cert, gw_setup, gw_teardown),
      cmocka_unit_test_setup_teardown(test_revoked_agent, gw_setup, gw_teardown),
      cmocka_unit_test_setup_teardown(test_inventory, gw_setup, gw_teardown),
      cmocka_unit_test_setup_teardown(test_event, gw_setup, gw_teardown),
      cmocka_unit_test_setup_teardown(test_renew, gw_setup, gw_teardown),
      cmocka_unit_test_setup_teardown(test_identity_renew, gw_setup, gw_teardown),
      cmocka_unit_test_setup_teardown(test_commands, gw_setup, gw_teardown),
      cmocka_unit_test_setup_teardown(test_close_with_work_in_flight, gw_setup,
                                      gw_teardown),
      cmocka_unit_test_setup_teardown(test_drain_on_close, gw_setup, gw_teardown),
      cmocka_unit_test(test_ping_and_idle),
      cmocka_unit_test(test_max_sessions),
  };

  ck_log_configure(CK_LOG_OPS, "none", CK_LOG_FMT_KV, CK_LOG_DEBUG, NULL);
  ck_log_configure(CK_LOG_SEC, "none", CK_LOG_FMT_KV, CK_LOG_DEBUG, NULL);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
