/* test_agentconf_est.c — the [est] section of the agent configuration
 * (agent/run/agentconf.c, docs/configuration.md "[est]"): a full valid
 * section, the defaults, EST mode without an enrollment, and each mistake
 * refused with file:line, the key and what to do. */
#include "tests/testutil.h"

#include <stdio.h>
#include <string.h>

#include "agent/run/agentconf.h"

#define PIN "3f9a00112233445566778899aabbccddeeff00112233445566778899aabbccdd"

static ck_err load(const char *est, ck_agentconf **c, ck_errctx *err) {
  char *dir = ck_test_tmpdir();
  char text[4096];
  ck_err rc;

  snprintf(text, sizeof text,
           "[agent]\nstate_dir = %s\n[est]\n%s"
           "[cert:dev]\nprofile = tls-server\nsans = DNS:dev.test\n"
           "cert_file = /tmp/x/cert.pem\nkey_file = /tmp/x/key.pem\n",
           dir, est);
  rc = ck_agentconf_load_string("e.conf", text, c, err);
  ck_test_rmtree(dir);
  free(dir);
  return rc;
}

static void test_valid(void **state) {
  ck_agentconf *c = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  (void)state;

  assert_int_equal(load("url = https://127.0.0.1:8443/.well-known/est/a\n"
                        "ca_fingerprint = " PIN "\nfleet = sensors\n"
                        "secret_file = /etc/ck/est.secret\n"
                        "idevid_cert = /etc/ck/idevid.pem\n"
                        "idevid_key = /etc/ck/idevid.key\ntimeout = 5s\n",
                        &c, &err),
                   CK_OK);
  assert_string_equal(c->est_url, "https://127.0.0.1:8443/.well-known/est/a");
  assert_string_equal(c->est_ca_fingerprint, PIN);
  assert_string_equal(c->est_fleet, "sensors");
  assert_string_equal(c->est_secret_file, "/etc/ck/est.secret");
  assert_string_equal(c->est_idevid_cert, "/etc/ck/idevid.pem");
  assert_string_equal(c->est_idevid_key, "/etc/ck/idevid.key");
  assert_int_equal(c->est_timeout, 5);
  assert_int_equal(c->enrolled, 0); /* EST mode needs no enrollment */
  ck_agentconf_free(c);
  /* IDevID alone, default timeout */
  assert_int_equal(load("url = https://h/.well-known/est\n"
                        "ca_fingerprint = " PIN "\n"
                        "idevid_cert = /a.pem\nidevid_key = /a.key\n",
                        &c, &err),
                   CK_OK);
  assert_null(c->est_fleet);
  assert_int_equal(c->est_timeout, 30);
  ck_agentconf_free(c);
}

static void test_absent(void **state) {
  ck_agentconf *c = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  (void)state;

  assert_int_equal(load("", &c, &err), CK_OK);
  assert_null(c->est_url);
  ck_agentconf_free(c);
}

static void refused(const char *est, const char *key, const char *what) {
  ck_agentconf *c = NULL;
  ck_errctx err = CK_ERRCTX_INIT;

  assert_int_equal(load(est, &c, &err), CK_ERR_CONFIG);
  assert_null(c);
  if (strstr(err.msg, "e.conf:") == NULL || strstr(err.msg, key) == NULL ||
      strstr(err.msg, what) == NULL) {
    print_error("unclear: %s (wanted %s, %s)\n", err.msg, key, what);
    fail();
  }
}

static void test_refusals(void **state) {
  (void)state;

  refused("fleet = a\nsecret_file = /s\n", "url", "required");
  refused("url = http://h/.well-known/est\nca_fingerprint = " PIN
          "\nfleet = a\nsecret_file = /s\n",
          "url", "https://");
  refused("url = https://h/est\nca_fingerprint = " PIN
          "\nfleet = a\nsecret_file = /s\n",
          "url", "/.well-known/est");
  refused("url = https://h/.well-known/est\nfleet = a\nsecret_file = /s\n",
          "ca_fingerprint", "required");
  refused("url = https://h/.well-known/est\nca_fingerprint = abcd\n"
          "fleet = a\nsecret_file = /s\n",
          "ca_fingerprint", "64 hex");
  refused("url = https://h/.well-known/est\nca_fingerprint = " PIN
          "\nfleet = a\n",
          "secret_file", "go together");
  refused("url = https://h/.well-known/est\nca_fingerprint = " PIN
          "\nidevid_cert = /a.pem\n",
          "idevid_key", "go together");
  refused("url = https://h/.well-known/est\nca_fingerprint = " PIN "\n",
          "fleet", "idevid_cert");
  refused("url = https://h/.well-known/est\nca_fingerprint = " PIN
          "\nfleet = a:b\nsecret_file = /s\n",
          "fleet", "':'");
  refused("url = https://h/.well-known/est\nca_fingerprint = " PIN
          "\nfleet = a\nsecret_file = rel/s\n",
          "secret_file", "absolute");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid),
      cmocka_unit_test(test_absent),
      cmocka_unit_test(test_refusals),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
