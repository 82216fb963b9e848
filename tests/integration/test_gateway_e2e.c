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
 * (mbedTLS builds) or the openssl/curl CLIs are missing. The coordinator
 * process and the test agent are tests/integration/itest.h and
 * tests/testagent.h. Every wait is bounded: libuv timers for the agent, a
 * bounded poll of waitpid for the child's exit, curl's own retry limit for
 * /healthz. */
#include "tests/integration/itest.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto/certgen.h"
#include "common/crypto/crypto.h"
#include "common/util/clock.h"
#include "common/util/mem.h"
#include "common/wire/wire.h"

static ck_itest co;

static char *must_sh(const char *what, const char *cmd) {
  return ck_itest_sh(&co, what, cmd);
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

static void test_gateway_e2e(void **state) {
  char cmd[8192], path[1200], leafp[1200], chainp[1200], *out, *tok;
  char issued_fp[CK_SHA256_HEX_LEN], disc_fp[CK_SHA256_HEX_LEN];
  const char *www[] = {"www.e2e.test", NULL}, *evil[] = {"evil.example.com",
                                                         NULL};
  ck_key *key2 = NULL, *leafkey = NULL, *disckey = NULL;
  uint8_t *csr = NULL, serial[CK_CERTGEN_SERIAL_LEN];
  size_t csr_len = 0, i, der_len;
  ck_cert *cert = NULL, *disc = NULL;
  ck_wire_msg m;
  ck_arena *ar = NULL;
  uint64_t rid;
  ck_tagent_ident id;
  ck_tagent_peer peer;
  ck_tagent a;

  (void)state;
  ck_itest_require(&co, 0);
  memset(&id, 0, sizeof id);
  /* [gateway] settings reach the gateway: checked in welcome and in the
   * identity certificate's lifetime */
  ck_itest_init(&co, "\n[gateway]\nping_interval = 17s\n"
                     "identity_validity = 10d\n");
  ck_itest_start(&co);
  ck_itest_client_env(&co);
  ck_itest_peer(&co, &peer);

  /* the operator creates a one-time enrollment token */
  tok = ck_itest_token(&co, "--group web --profile tls-server --ttl 1h");

  /* enroll: server-authenticated TLS, CA pinned by fingerprint */
  ck_tagent_enroll_new(&peer, tok, "e2e-host", NULL, &id);
  assert_int_equal(ck_cert_parse((const uint8_t *)id.cert_pem,
                                 id.cert_pem_len, &cert, NULL),
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
  ck_cert_free(cert);
  cert = NULL;

  /* the same token again: refused, fatal */
  key2 = ck_tagent_key("ec-p256");
  ck_tagent_csr(key2, "ignored", NULL, &csr, &csr_len);
  ck_tagent_connect(&a, &peer, NULL);
  rid = ck_tagent_enroll(&a, tok, csr, csr_len, "e2e-host", NULL);
  ck_tagent_expect_error(&a, CK_ERR_AUTH, rid, "already used", 1);
  ck_tagent_close(&a);
  free(csr);
  csr = NULL;
  free(tok);

  /* mutual TLS with the identity: hello -> welcome */
  ck_tagent_connect(&a, &peer, &id);
  rid = ck_tagent_hello(&a, id.agent_id);
  ck_tagent_expect(&a, CK_WIRE_WELCOME, rid, &m, &ar);
  assert_non_null(m.u.welcome.agent_id);
  assert_string_equal(m.u.welcome.agent_id, id.agent_id);
  assert_true(m.u.welcome.has_ping_interval);
  assert_int_equal(m.u.welcome.ping_interval, 17); /* from [gateway] */
  ck_arena_free(ar);

  /* inventory: a self-signed certificate found on the host, with its DER */
  disckey = ck_tagent_key("ec-p256");
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
    ck_tagent_send(&a, &m);
    rid = m.id;
  }
  ck_tagent_expect(&a, CK_WIRE_ACK, rid, &m, &ar);
  assert_non_null(m.u.ack.detail);
  if (strstr(m.u.ack.detail, "1 certificates recorded") == NULL ||
      strstr(m.u.ack.detail, "stored 1 installations") == NULL)
    fail_msg("inventory ack: %s", m.u.ack.detail);
  ck_arena_free(ar);

  /* renewal: a name under .test -> cert + chain that openssl verifies */
  leafkey = ck_tagent_key("ec-p256");
  ck_tagent_csr(leafkey, www[0], www, &csr, &csr_len);
  rid = ck_tagent_send_csr(&a, "managed-e2e", "tls-server", csr, csr_len,
                           NULL);
  ck_tagent_expect(&a, CK_WIRE_CERT, rid, &m, &ar);
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
  ck_tagent_csr(key2, evil[0], evil, &csr, &csr_len);
  rid = ck_tagent_send_csr(&a, "managed-e2e", "tls-server", csr, csr_len,
                           NULL);
  ck_tagent_expect(&a, CK_WIRE_ERROR, rid, &m, &ar);
  assert_int_equal(m.u.error.code, CK_ERR_DENIED);
  if (strstr(m.u.error.message, "evil.example.com") == NULL ||
      strstr(m.u.error.message, "not allowed") == NULL)
    fail_msg("refusal does not name the rule: '%s'", m.u.error.message);
  assert_false(m.u.error.has_fatal && m.u.error.fatal);
  ck_arena_free(ar);
  free(csr);
  csr = NULL;
  ck_tagent_close(&a);

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
  ck_itest_stop(&co);
  snprintf(path, sizeof path, "grep -q coordinator.stopped '%s/coord.log'",
           co.tmp);
  free(must_sh("clean-stop record", path));

  ck_cert_free(cert);
  ck_cert_free(disc);
  ck_key_free(key2);
  ck_key_free(leafkey);
  ck_key_free(disckey);
  ck_tagent_ident_clear(&id);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_prestate_setup_teardown(
          test_gateway_e2e, ck_itest_cm_setup, ck_itest_cm_teardown, &co),
  };

  signal(SIGPIPE, SIG_IGN);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
