/* test_inventory.c — inventory findings that carry the certificate itself
 * (`findings[].der`), so the coordinator records certificates it never
 * issued.
 *
 * Each test starts its own coordinator (gw_fixture.h) and enrolls agents
 * through the gateway. Covered: an unknown self-signed RSA-1024 certificate
 * is stored unmanaged, source discovered, with both weak reasons, and shows
 * up in the unmanaged and weak lists, with its installation; a DER that does
 * not parse and a fingerprint that is not the DER's are refused per finding
 * (counted in the ack) while the rest of the inventory is stored and the
 * session goes on; a der next to a fingerprint the store already holds is
 * not parsed again; a certificate the coordinator issued (the agent's own
 * identity) reported with its DER stays managed and issued; one key in two
 * certificates on two agents gets the shared-key flag on both; a second
 * identical full inventory in parts changes nothing (no row, no audit event
 * beyond its own inventory.full) and a later one without a finding removes
 * only that installation; a delta naming a path replaces the agent's
 * installations at that path (a renewed file) and nothing else. */
#include "tests/unit/gateway/gw_fixture.h"

#include "common/crypto/certgen.h"

/* A self-signed leaf for key: CN cn, SAN DNS:cn, valid a year from now. */
static ck_cert *self_signed(const ck_key *key, const char *cn) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_name_attr subj = {"CN", cn};
  ck_san san = {CK_SAN_DNS, cn};
  uint8_t serial[CK_CERTGEN_SERIAL_LEN];
  ck_certgen_tmpl t;
  ck_cert *cert = NULL;

  assert_int_equal(ck_certgen_random_serial(serial), CK_OK);
  memset(&t, 0, sizeof t);
  t.subject = &subj;
  t.n_subject = 1;
  t.sans = &san;
  t.n_sans = 1;
  t.serial = serial;
  t.serial_len = sizeof serial;
  t.not_before = ck_clock_now() - 3600;
  t.not_after = ck_clock_now() + 365 * 86400;
  t.path_len = -1;
  if (ck_certgen_sign(&t, NULL, key, &cert, &err) != CK_OK)
    fail_msg("self-signed %s: %s", cn, ck_errctx_msg(&err));
  return cert;
}

/* Hex fingerprint to the 32 bytes of a finding. */
static void fp_bytes(const char *hex, uint8_t out[CK_SHA256_LEN]) {
  size_t i;

  for (i = 0; i < CK_SHA256_LEN; i++) {
    unsigned v;
    assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
    out[i] = (uint8_t)v;
  }
}

/* Sends a full inventory of n findings and returns the ack's detail
 * (malloc'ed). */
static char *send_inventory(gwc *c, uint64_t seq, const ck_wire_finding *f,
                            size_t n) {
  ck_wire_msg m, r;
  ck_arena *a = NULL;
  char *detail;

  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_INVENTORY;
  m.u.inventory.mode = CK_WIRE_INV_FULL;
  m.u.inventory.seq = seq;
  m.u.inventory.findings = f;
  m.u.inventory.n_findings = n;
  gwc_send(c, &m);
  gwc_expect(c, CK_WIRE_ACK, m.id, &r, &a);
  assert_non_null(r.u.ack.detail);
  detail = strdup(r.u.ack.detail);
  assert_non_null(detail);
  ck_arena_free(a);
  return detail;
}

static void expect_in(const char *hay, const char *needle) {
  if (strstr(hay, needle) == NULL)
    fail_msg("'%s' does not mention '%s'", hay, needle);
}

/* Whether fingerprint fp is in the first page of list `by`. */
static int listed(ck_cert_query by, const char *fp) {
  ck_arena *a = ck_arena_new(65536);
  ck_cert_filter f;
  ck_store_page pg;
  ck_store_cert *items;
  size_t n, i;
  int found = 0;

  memset(&f, 0, sizeof f);
  f.by = by;
  memset(&pg, 0, sizeof pg);
  pg.limit = CK_STORE_PAGE_MAX;
  assert_int_equal(
      ck_store_cert_list(fx.rt.store, &f, &pg, a, &items, &n, NULL), CK_OK);
  for (i = 0; i < n; i++)
    if (strcmp(items[i].fingerprint, fp) == 0)
      found = 1;
  ck_arena_free(a);
  return found;
}

static size_t installs_of(const char *fp, const char *agent_id) {
  ck_arena *a = ck_arena_new(16384);
  ck_store_install *items;
  ck_store_page pg;
  size_t n, i, hits = 0;

  memset(&pg, 0, sizeof pg);
  assert_int_equal(ck_store_install_list(fx.rt.store, fp, NULL, &pg, a, &items,
                                         &n, NULL),
                   CK_OK);
  for (i = 0; i < n; i++)
    if (strcmp(items[i].agent_id, agent_id) == 0)
      hits++;
  ck_arena_free(a);
  return hits;
}

static void test_unknown_weak(void **state) {
  static const uint8_t junk[] = {0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x00};
  size_t keylen = 0;
  char *keypem = ck_test_slurp("gateway/rsa1024.key", &keylen);
  ck_key *key = NULL, *other = gw_key("ec-p256");
  ck_cert *weak, *decoy;
  ck_arena *a = ck_arena_new(8192);
  ck_store_cert row;
  ck_wire_finding f[3];
  const char *svc[] = {"nginx"};
  uint8_t wrong_fp[CK_SHA256_LEN];
  const uint8_t *der;
  size_t der_len;
  char *detail;
  gw_ident id;
  gwc c;

  (void)state;
  assert_int_equal(ck_key_parse((const uint8_t *)keypem, keylen, &key, NULL),
                   CK_OK);
  weak = self_signed(key, "legacy.example.test");
  decoy = self_signed(other, "decoy.example.test");
  gw_enroll_agent(&fx, "web", "tls-server", ".example.test", &id);
  assert_int_equal(gwc_open(&fx, &c, &id), CK_OK);
  gwc_welcome(&c, id.agent_id);

  memset(f, 0, sizeof f);
  der = ck_cert_der(weak, &der_len);
  f[0].path = "/etc/legacy/server.pem";
  f[0].der.data = der;
  f[0].der.len = der_len;
  f[0].services.v = svc;
  f[0].services.n = 1;
  f[1].path = "/etc/legacy/broken.pem";
  f[1].der.data = junk;
  f[1].der.len = sizeof junk;
  /* a fingerprint that is not the SHA-256 of the DER sent with it */
  fp_bytes(ck_cert_get_info(weak)->sha256_hex, wrong_fp);
  der = ck_cert_der(decoy, &der_len);
  f[2].path = "/etc/legacy/decoy.pem";
  f[2].der.data = der;
  f[2].der.len = der_len;
  f[2].fingerprint.data = wrong_fp;
  f[2].fingerprint.len = sizeof wrong_fp;
  detail = send_inventory(&c, 1, f, 3);
  expect_in(detail, "stored 1 installations");
  expect_in(detail, "1 certificates recorded from der");
  expect_in(detail, "2 findings refused (first: findings[1]: der:");
  free(detail);

  assert_int_equal(ck_store_cert_get(fx.rt.store,
                                     ck_cert_get_info(weak)->sha256_hex, 1, a,
                                     &row, NULL),
                   CK_OK);
  assert_int_equal(row.managed, 0);
  assert_int_equal(row.source, CK_CERT_SRC_DISCOVERED);
  assert_int_equal(row.ca_id, 0);
  assert_int_equal(row.key_bits, 1024);
  assert_true(row.weak_flags & CK_WEAK_RSA_SMALL);
  assert_true(row.weak_flags & CK_WEAK_SELF_SIGNED);
  assert_false(row.weak_flags & CK_WEAK_SHARED_KEY);
  expect_in(row.weak_reason, "RSA key of 1024 bits (< 2048)");
  expect_in(row.weak_reason, "self-signed leaf");
  assert_non_null(row.der);
  ck_cert_der(weak, &der_len);
  assert_int_equal(row.der_len, der_len);
  assert_true(listed(CK_CERTQ_UNMANAGED, row.fingerprint));
  assert_true(listed(CK_CERTQ_WEAK, row.fingerprint));
  assert_int_equal(installs_of(row.fingerprint, id.agent_id), 1);
  /* the refused ones left nothing behind */
  assert_false(listed(CK_CERTQ_ALL, ck_cert_get_info(decoy)->sha256_hex));

  /* the session goes on; the same certificate again changes nothing */
  detail = send_inventory(&c, 2, f, 1);
  expect_in(detail, "stored 1 installations");
  free(detail);
  assert_int_equal(installs_of(ck_cert_get_info(weak)->sha256_hex, id.agent_id),
                   1);
  /* once the store holds the fingerprint, the der is not parsed again */
  f[1].fingerprint.data = wrong_fp; /* = the weak certificate's */
  f[1].fingerprint.len = sizeof wrong_fp;
  detail = send_inventory(&c, 3, f + 1, 1);
  expect_in(detail, "stored 1 installations");
  expect_in(detail, "0 certificates recorded from der");
  expect_in(detail, "0 findings refused");
  free(detail);
  assert_int_equal(ck_store_cert_get(fx.rt.store,
                                     ck_cert_get_info(weak)->sha256_hex, 0, a,
                                     &row, NULL),
                   CK_OK);
  assert_int_equal(row.managed, 0);

  gwc_close(&c);
  gw_ident_clear(&id);
  ck_arena_free(a);
  ck_cert_free(weak);
  ck_cert_free(decoy);
  ck_key_free(key);
  ck_key_free(other);
  free(keypem);
}

static void test_issued_stays_managed(void **state) {
  ck_arena *a = ck_arena_new(8192);
  ck_pem_block blk;
  ck_store_cert row;
  ck_wire_finding f;
  size_t pos = 0;
  char *detail;
  gw_ident id;
  gwc c;

  (void)state;
  gw_enroll_agent(&fx, "web", "tls-server", ".example.test", &id);
  memset(&blk, 0, sizeof blk);
  assert_int_equal(ck_pem_next((const uint8_t *)id.cert_pem, id.cert_pem_len,
                               &pos, &blk, NULL),
                   CK_OK);
  assert_int_equal(gwc_open(&fx, &c, &id), CK_OK);
  gwc_welcome(&c, id.agent_id);
  /* the agent reports its own identity certificate, which we issued */
  memset(&f, 0, sizeof f);
  f.path = "/var/lib/certkeeper/identity.crt";
  f.der.data = blk.der;
  f.der.len = blk.der_len;
  detail = send_inventory(&c, 1, &f, 1);
  expect_in(detail, "stored 1 installations");
  expect_in(detail, "0 findings refused");
  free(detail);
  assert_int_equal(ck_store_cert_get(fx.rt.store, id.fp, 0, a, &row, NULL),
                   CK_OK);
  assert_int_equal(row.managed, 1);
  assert_int_equal(row.source, CK_CERT_SRC_ISSUED);
  assert_true(row.ca_id > 0);
  assert_string_equal(row.profile, "agent-identity");
  assert_false(listed(CK_CERTQ_UNMANAGED, id.fp));
  assert_int_equal(installs_of(id.fp, id.agent_id), 1);
  gwc_close(&c);
  ck_pem_block_clear(&blk);
  gw_ident_clear(&id);
  ck_arena_free(a);
}

/* One agent reports cert under path; returns after the ack. */
static void report(const gw_ident *id, const ck_cert *cert, const char *path) {
  ck_wire_finding f;
  const uint8_t *der;
  size_t der_len;
  char *detail;
  gwc c;

  assert_int_equal(gwc_open(&fx, &c, id), CK_OK);
  gwc_welcome(&c, id->agent_id);
  der = ck_cert_der(cert, &der_len);
  memset(&f, 0, sizeof f);
  f.path = path;
  f.der.data = der;
  f.der.len = der_len;
  detail = send_inventory(&c, 1, &f, 1);
  expect_in(detail, "1 certificates recorded from der");
  free(detail);
  gwc_close(&c);
}

static unsigned weak_of(const char *fp, char *reason, size_t len) {
  ck_arena *a = ck_arena_new(8192);
  ck_store_cert row;
  unsigned flags;

  assert_int_equal(ck_store_cert_get(fx.rt.store, fp, 0, a, &row, NULL),
                   CK_OK);
  flags = row.weak_flags;
  if (reason != NULL)
    ck_strlcpy(reason, row.weak_reason, len);
  ck_arena_free(a);
  return flags;
}

static void test_shared_key(void **state) {
  ck_key *key = gw_key("ec-p256");
  ck_cert *c1 = self_signed(key, "a.example.test");
  ck_cert *c2 = self_signed(key, "b.example.test");
  const char *fp1 = ck_cert_get_info(c1)->sha256_hex;
  const char *fp2 = ck_cert_get_info(c2)->sha256_hex;
  char reason[512];
  gw_ident a, b;

  (void)state;
  assert_string_not_equal(fp1, fp2);
  gw_enroll_agent(&fx, "web", "tls-server", ".example.test", &a);
  gw_enroll_agent(&fx, "web", "tls-server", ".example.test", &b);
  assert_string_not_equal(a.agent_id, b.agent_id);
  report(&a, c1, "/etc/ssl/a.pem");
  /* on one host only: not shared (yet) */
  assert_false(weak_of(fp1, NULL, 0) & CK_WEAK_SHARED_KEY);
  report(&b, c2, "/etc/ssl/b.pem");
  assert_true(weak_of(fp1, reason, sizeof reason) & CK_WEAK_SHARED_KEY);
  expect_in(reason, "key shared across hosts");
  assert_true(weak_of(fp2, NULL, 0) & CK_WEAK_SHARED_KEY);
  assert_true(listed(CK_CERTQ_WEAK, fp2));
  gw_ident_clear(&a);
  gw_ident_clear(&b);
  ck_cert_free(c1);
  ck_cert_free(c2);
  ck_key_free(key);
}

/* Sends findings f[0..n) as full inventory seq in parts of two. */
static void send_parts(gwc *c, uint64_t seq, const ck_wire_finding *f,
                       size_t n) {
  size_t off = 0;
  uint32_t part = 0;

  while (off < n) {
    size_t k = n - off < 2 ? n - off : 2;
    ck_wire_msg m, r;
    ck_arena *a = NULL;

    memset(&m, 0, sizeof m);
    m.type = CK_WIRE_INVENTORY;
    m.u.inventory.mode = CK_WIRE_INV_FULL;
    m.u.inventory.seq = seq;
    m.u.inventory.part = part++;
    m.u.inventory.has_part = true;
    m.u.inventory.final = off + k == n;
    m.u.inventory.has_final = true;
    m.u.inventory.findings = f + off;
    m.u.inventory.n_findings = k;
    gwc_send(c, &m);
    gwc_expect(c, CK_WIRE_ACK, m.id, &r, &a);
    ck_arena_free(a);
    off += k;
  }
}

/* Sends a delta of n findings onto generation base. */
static void send_delta(gwc *c, uint64_t seq, uint64_t base,
                       const ck_wire_finding *f, size_t n) {
  ck_wire_msg m, r;
  ck_arena *a = NULL;

  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_INVENTORY;
  m.u.inventory.mode = CK_WIRE_INV_DELTA;
  m.u.inventory.seq = seq;
  m.u.inventory.base = base;
  m.u.inventory.has_base = true;
  m.u.inventory.findings = f;
  m.u.inventory.n_findings = n;
  gwc_send(c, &m);
  gwc_expect(c, CK_WIRE_ACK, m.id, &r, &a);
  ck_arena_free(a);
}

static int64_t updated_at(const char *fp) {
  ck_arena *a = ck_arena_new(8192);
  ck_store_cert row;
  int64_t t;

  assert_int_equal(ck_store_cert_get(fx.rt.store, fp, 0, a, &row, NULL),
                   CK_OK);
  t = row.updated_at;
  ck_arena_free(a);
  return t;
}

/* A second identical full inventory (in parts) stores no new certificate
 * or installation and appends only its own `inventory.full` events; the
 * shared-key flag set by another agent's installation stays; a later full
 * inventory without a finding removes only that installation. */
static void test_same_inventory_again(void **state) {
  ck_key *key = gw_key("ec-p256");
  ck_cert *certs[3];
  ck_wire_finding f[3];
  uint8_t fps[3][CK_SHA256_LEN];
  const char *paths[3] = {"/etc/ssl/a.pem", "/etc/ssl/b.pem",
                          "/etc/ssl/c.pem"};
  const char *eps[2] = {"0.0.0.0:443", "[::]:443"};
  int64_t seq0, upd[3];
  size_t i, inst[3];
  gw_ident a, b;
  gwc c;

  (void)state;
  gw_enroll_agent(&fx, "web", "tls-server", ".example.test", &a);
  gw_enroll_agent(&fx, "web", "tls-server", ".example.test", &b);
  memset(f, 0, sizeof f);
  for (i = 0; i < 3; i++) {
    char cn[64];
    const uint8_t *der;
    size_t len;

    snprintf(cn, sizeof cn, "s%zu.example.test", i);
    certs[i] = self_signed(key, cn); /* one key in all three */
    der = ck_cert_der(certs[i], &len);
    fp_bytes(ck_cert_get_info(certs[i])->sha256_hex, fps[i]);
    f[i].path = paths[i];
    f[i].der.data = der;
    f[i].der.len = len;
    f[i].fingerprint.data = fps[i];
    f[i].fingerprint.len = CK_SHA256_LEN;
  }
  f[1].endpoints.v = eps;
  f[1].endpoints.n = 2;
  /* b holds the first certificate too: the key is shared */
  report(&b, certs[0], "/srv/a.pem");

  assert_int_equal(gwc_open(&fx, &c, &a), CK_OK);
  gwc_welcome(&c, a.agent_id);
  send_parts(&c, 1, f, 3);
  for (i = 0; i < 3; i++) {
    const char *fp = ck_cert_get_info(certs[i])->sha256_hex;
    assert_true(weak_of(fp, NULL, 0) & CK_WEAK_SHARED_KEY);
    inst[i] = installs_of(fp, a.agent_id);
    upd[i] = updated_at(fp);
  }
  assert_int_equal(inst[0], 1);
  assert_int_equal(inst[1], 2); /* one per endpoint */
  assert_int_equal(inst[2], 1);
  seq0 = gw_fx_audit_seq(&fx);

  send_parts(&c, 2, f, 3);
  /* two parts: two inventory.full events, nothing else */
  assert_int_equal(gw_fx_audit_seq(&fx), seq0 + 2);
  for (i = 0; i < 3; i++) {
    const char *fp = ck_cert_get_info(certs[i])->sha256_hex;
    assert_int_equal(installs_of(fp, a.agent_id), inst[i]);
    assert_true(weak_of(fp, NULL, 0) & CK_WEAK_SHARED_KEY);
    assert_int_equal(updated_at(fp), upd[i]); /* no row rewritten */
  }
  assert_int_equal(installs_of(ck_cert_get_info(certs[0])->sha256_hex,
                               b.agent_id),
                   1);

  /* the third certificate is gone: only its installation goes */
  send_parts(&c, 3, f, 2);
  assert_int_equal(installs_of(ck_cert_get_info(certs[2])->sha256_hex,
                               a.agent_id),
                   0);
  assert_int_equal(installs_of(ck_cert_get_info(certs[1])->sha256_hex,
                               a.agent_id),
                   2);
  assert_int_equal(installs_of(ck_cert_get_info(certs[0])->sha256_hex,
                               b.agent_id),
                   1);

  /* a delta: a.pem now holds the third certificate (a renewal): the path's
   * old installation goes, the other path and agent b keep theirs */
  f[2].path = paths[0];
  send_delta(&c, 4, 3, &f[2], 1);
  assert_int_equal(installs_of(ck_cert_get_info(certs[0])->sha256_hex,
                               a.agent_id),
                   0);
  assert_int_equal(installs_of(ck_cert_get_info(certs[2])->sha256_hex,
                               a.agent_id),
                   1);
  assert_int_equal(installs_of(ck_cert_get_info(certs[1])->sha256_hex,
                               a.agent_id),
                   2);
  assert_int_equal(installs_of(ck_cert_get_info(certs[0])->sha256_hex,
                               b.agent_id),
                   1);
  gwc_close(&c);
  gw_ident_clear(&a);
  gw_ident_clear(&b);
  for (i = 0; i < 3; i++)
    ck_cert_free(certs[i]);
  ck_key_free(key);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_unknown_weak, gw_setup, gw_teardown),
      cmocka_unit_test_setup_teardown(test_issued_stays_managed, gw_setup,
                                      gw_teardown),
      cmocka_unit_test_setup_teardown(test_shared_key, gw_setup, gw_teardown),
      cmocka_unit_test_setup_teardown(test_same_inventory_again, gw_setup,
                                      gw_teardown),
  };

  ck_log_configure(CK_LOG_OPS, "none", CK_LOG_FMT_KV, CK_LOG_DEBUG, NULL);
  ck_log_configure(CK_LOG_SEC, "none", CK_LOG_FMT_KV, CK_LOG_DEBUG, NULL);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
