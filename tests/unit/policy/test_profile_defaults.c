/* test_profile_defaults.c — the profiles created at init, checked against
 * the operator contract (../shared/conformance: `tls-server` issues DNS
 * names under .test and localhost automatically to agents and operator
 * tokens) with real CSRs; plus renewal timing and the small helpers. */
#include "tests/testutil.h"

#include <stdlib.h>
#include <string.h>

#include "common/util/log.h"
#include "coordinator/policy/profile.h"

/* A real CSR for key spec with CN cn and DNS SANs. */
static ck_csr *make_csr(const char *spec, const char *cn,
                        const char *const *dns, size_t n) {
  ck_key_spec ks;
  ck_key *key = NULL;
  ck_csr *csr = NULL;
  ck_name_attr subj = {"CN", cn};
  ck_san sans[8];
  ck_csr_req req;
  ck_errctx e = CK_ERRCTX_INIT;
  size_t i;

  assert_true(n <= 8);
  for (i = 0; i < n; i++) {
    sans[i].type = CK_SAN_DNS;
    sans[i].value = dns[i];
  }
  memset(&req, 0, sizeof req);
  req.subject = cn ? &subj : NULL;
  req.n_subject = cn ? 1 : 0;
  req.sans = sans;
  req.n_sans = n;
  assert_int_equal(ck_key_spec_parse(spec, &ks, &e), CK_OK);
  if (ck_key_generate(&ks, &key, &e) != CK_OK ||
      ck_csr_create(key, &req, &csr, &e) != CK_OK ||
      ck_csr_verify(csr, &e) != CK_OK)
    fail_msg("csr: %s", e.msg);
  ck_key_free(key);
  return csr;
}

static ck_err check(const ck_profile *p, const ck_csr *csr,
                    ck_profile_requester who, ck_profile_verdict *v,
                    ck_errctx *e) {
  ck_profile_request req;
  memset(&req, 0, sizeof req);
  req.csr = ck_csr_get_info(csr);
  req.who = who;
  memset(v, 0, sizeof *v);
  return ck_profile_check(p, &req, v, e);
}

static ck_profile_requester operator_token(void) {
  ck_profile_requester w;
  memset(&w, 0, sizeof w);
  w.kind = CK_PROFILE_REQ_TOKEN;
  w.id = "ops";
  w.role = "operator";
  return w;
}

static ck_profile_requester agent(const char *group) {
  ck_profile_requester w;
  memset(&w, 0, sizeof w);
  w.kind = CK_PROFILE_REQ_AGENT;
  w.id = "agent-7";
  w.group = group;
  return w;
}

static int setup(void **state) {
  (void)state;
  /* refusals are expected here; keep the security stream quiet */
  ck_log_configure(CK_LOG_SEC, "none", CK_LOG_FMT_KV, CK_LOG_DEBUG, NULL);
  return 0;
}

static void tls_server_fields(void **state) {
  ck_profile *p = NULL;
  ck_errctx e = CK_ERRCTX_INIT;
  char buf[64];

  (void)state;
  assert_int_equal(ck_profile_default_tls_server(&p, &e), CK_OK);
  assert_string_equal(p->name, "tls-server");
  assert_string_equal(p->ca, "");
  assert_int_equal(p->workflow, CK_PROFILE_AUTOMATIC);
  assert_int_equal(p->n_keys, 3);
  assert_string_equal(ck_profile_key_name(&p->keys[0], buf, sizeof buf),
                      "ec-p256");
  assert_string_equal(ck_profile_key_name(&p->keys[1], buf, sizeof buf),
                      "ec-p384");
  assert_string_equal(ck_profile_key_name(&p->keys[2], buf, sizeof buf),
                      "rsa-2048");
  assert_int_equal(p->max_validity, 90 * 86400);
  assert_int_equal(p->default_validity, 60 * 86400);
  assert_true(p->renew_fraction == 0.3333);
  assert_int_equal(ck_sanset_count(p->sans, 0), 2);
  assert_string_equal(ck_sanset_get(p->sans, CK_SAN_DNS, 0), ".test");
  assert_string_equal(ck_sanset_get(p->sans, CK_SAN_DNS, 1), "localhost");
  assert_int_equal(p->wildcards, 0);
  assert_int_equal(p->cn, CK_PROFILE_CN_COPY);
  assert_int_equal(p->key_usage,
                   CK_KU_DIGITAL_SIGNATURE | CK_KU_KEY_ENCIPHERMENT);
  assert_int_equal(p->eku, CK_EKU_SERVER_AUTH);
  assert_int_equal(p->n_agent_groups, 1);
  assert_string_equal(p->agent_groups[0], "*");
  assert_int_equal(p->roles, CK_PROFILE_ROLE_ADMIN | CK_PROFILE_ROLE_OPERATOR);
  ck_profile_free(p);
}

static void tls_server_contract(void **state) {
  static const char *const app1[] = {"app1.test", "www.app1.test"};
  static const char *const local[] = {"localhost"};
  static const char *const evil[] = {"evil.example.com"};
  static const char *const sub_local[] = {"foo.localhost"};
  static const char *const wild[] = {"*.app1.test"};
  ck_profile *p = NULL;
  ck_csr *csr;
  ck_profile_verdict v;
  ck_errctx e = CK_ERRCTX_INIT;
  ck_profile_requester who;

  (void)state;
  assert_int_equal(ck_profile_default_tls_server(&p, &e), CK_OK);

  /* the conformance request: CN app1.test, SANs app1.test, www.app1.test */
  csr = make_csr("ec-p256", "app1.test", app1, 2);
  assert_int_equal(check(p, csr, operator_token(), &v, &e), CK_OK);
  assert_int_equal(v.outcome, CK_PROFILE_ALLOW);
  assert_int_equal(v.n_sans, 2);
  assert_string_equal(v.sans[0].value, "app1.test");
  assert_string_equal(v.sans[1].value, "www.app1.test");
  assert_string_equal(v.subject_cn, "app1.test");
  assert_int_equal(v.validity, 60 * 86400);
  assert_int_equal(v.key_usage, CK_KU_DIGITAL_SIGNATURE);
  assert_int_equal(v.eku, CK_EKU_SERVER_AUTH);
  ck_profile_verdict_clear(&v);
  /* agents of any group */
  assert_int_equal(check(p, csr, agent("web"), &v, &e), CK_OK);
  ck_profile_verdict_clear(&v);
  assert_int_equal(check(p, csr, agent("db-eu-1"), &v, &e), CK_OK);
  ck_profile_verdict_clear(&v);
  who = operator_token();
  who.role = "admin";
  assert_int_equal(check(p, csr, who, &v, &e), CK_OK);
  ck_profile_verdict_clear(&v);
  who.role = "auditor";
  assert_int_equal(check(p, csr, who, &v, &e), CK_ERR_DENIED);
  assert_string_equal(e.msg, "requester role 'auditor' may not use profile "
                             "'tls-server' (allowed roles: admin, operator)");
  ck_profile_verdict_clear(&v);
  ck_csr_free(csr);

  /* localhost, CN only (copied to the SANs) */
  csr = make_csr("ec-p384", "localhost", local, 0);
  assert_int_equal(check(p, csr, operator_token(), &v, &e), CK_OK);
  assert_int_equal(v.n_sans, 1);
  assert_string_equal(v.sans[0].value, "localhost");
  ck_profile_verdict_clear(&v);
  ck_csr_free(csr);

  /* the conformance refusal */
  csr = make_csr("ec-p256", "evil.example.com", evil, 1);
  ck_errctx_clear(&e);
  assert_int_equal(check(p, csr, operator_token(), &v, &e), CK_ERR_DENIED);
  assert_int_equal(v.rule, CK_PROFILE_RULE_SAN_PATTERN);
  assert_string_equal(e.msg, "san dns:evil.example.com is not allowed by "
                             "profile 'tls-server' (allowed: .test, "
                             "localhost)");
  ck_profile_verdict_clear(&v);
  ck_csr_free(csr);

  csr = make_csr("ec-p256", NULL, sub_local, 1);
  ck_errctx_clear(&e);
  assert_int_equal(check(p, csr, agent("web"), &v, &e), CK_ERR_DENIED);
  assert_string_equal(e.msg, "san dns:foo.localhost is not allowed by profile "
                             "'tls-server' (allowed: .test, localhost)");
  ck_profile_verdict_clear(&v);
  ck_csr_free(csr);

  csr = make_csr("ec-p256", NULL, wild, 1);
  ck_errctx_clear(&e);
  assert_int_equal(check(p, csr, agent("web"), &v, &e), CK_ERR_DENIED);
  assert_string_equal(e.msg, "san dns:*.app1.test is a wildcard; wildcard "
                             "names are not allowed by profile 'tls-server'");
  ck_profile_verdict_clear(&v);
  ck_csr_free(csr);

  /* RSA 2048 is the minimum, and RSA keeps keyEncipherment */
  csr = make_csr("rsa-2048", "rsa.app1.test", NULL, 0);
  assert_int_equal(check(p, csr, operator_token(), &v, &e), CK_OK);
  assert_int_equal(v.key_usage,
                   CK_KU_DIGITAL_SIGNATURE | CK_KU_KEY_ENCIPHERMENT);
  ck_profile_verdict_clear(&v);
  ck_csr_free(csr);

  if (ck_crypto_has(CK_CAP_ED25519)) {
    csr = make_csr("ed25519", "ed.app1.test", NULL, 0);
    ck_errctx_clear(&e);
    assert_int_equal(check(p, csr, operator_token(), &v, &e), CK_ERR_DENIED);
    assert_string_equal(e.msg, "key ed25519 is not allowed by profile "
                               "'tls-server' (allowed: ec-p256, ec-p384, "
                               "rsa-2048)");
    ck_profile_verdict_clear(&v);
    ck_csr_free(csr);
  }
  ck_profile_free(p);
}

static void agent_identity(void **state) {
  static const char *const host[] = {"h1.edge.test"};
  ck_profile *p = NULL;
  ck_csr *csr;
  ck_profile_verdict v;
  ck_errctx e = CK_ERRCTX_INIT;
  ck_sanset *b = NULL;
  ck_profile_requester w;

  (void)state;
  assert_int_equal(ck_profile_default_agent_identity(&p, &e), CK_OK);
  assert_string_equal(p->name, "agent-identity");
  assert_int_equal(p->workflow, CK_PROFILE_AUTOMATIC);
  assert_int_equal(p->eku, CK_EKU_CLIENT_AUTH);
  assert_int_equal(p->key_usage, CK_KU_DIGITAL_SIGNATURE);
  assert_int_equal(p->sans_from_binding, 1);
  assert_int_equal(p->cn, CK_PROFILE_CN_UNCHECKED);
  assert_int_equal(p->roles, 0);
  assert_int_equal(p->max_validity, 90 * 86400);
  assert_int_equal(p->default_validity, 30 * 86400);

  /* at enrollment: CN is the agent id, names from the binding */
  csr = make_csr("ec-p256", "8d3e2b6c-agent", host, 1);
  assert_int_equal(ck_sanset_parse_lines(".edge.test", &b, &e), CK_OK);
  w = agent("edge");
  w.binding = b;
  assert_int_equal(check(p, csr, w, &v, &e), CK_OK);
  assert_string_equal(v.subject_cn, "8d3e2b6c-agent");
  assert_int_equal(v.n_sans, 1);
  assert_int_equal(v.eku, CK_EKU_CLIENT_AUTH);
  ck_profile_verdict_clear(&v);
  /* not for API tokens */
  assert_int_equal(check(p, csr, operator_token(), &v, &e), CK_ERR_DENIED);
  assert_string_equal(e.msg, "requester role 'operator' may not use profile "
                             "'agent-identity' (no API roles allowed)");
  ck_profile_verdict_clear(&v);
  ck_csr_free(csr);
  ck_sanset_free(b);
  ck_profile_free(p);
}

static void default_table(void **state) {
  const char *const *names = ck_profile_default_names();
  size_t i;

  (void)state;
  assert_string_equal(names[0], "tls-server");
  assert_string_equal(names[1], "agent-identity");
  assert_null(names[2]);
  for (i = 0; names[i] != NULL; i++) {
    const char *json = ck_profile_default_json(names[i]);
    ck_profile *p = NULL;
    assert_non_null(json);
    assert_int_equal(ck_profile_from_json(json, strlen(json), &p, NULL), CK_OK);
    assert_string_equal(p->name, names[i]);
    ck_profile_free(p);
  }
  assert_null(ck_profile_default_json("nope"));
  assert_null(ck_profile_default_json(NULL));
}

static void renewal_time(void **state) {
  ck_profile *p = NULL;
  const char *j = "{\"name\": \"r\", \"workflow\": \"automatic\","
                  " \"key_types\": [\"ec-p256\"],"
                  " \"validity\": {\"max\": \"30d\"},"
                  " \"renewal\": {\"fraction\": 0.1, \"before\": \"10d\"},"
                  " \"san\": {}, \"ext_key_usage\": [\"serverAuth\"],"
                  " \"access\": {}}";
  const int64_t d = 86400, nb = 1700000000;

  (void)state;
  assert_int_equal(ck_profile_default_tls_server(&p, NULL), CK_OK);
  /* a third of the lifetime left: 60d certificate renews after ~40d */
  assert_int_equal(ck_profile_renew_at(p, nb, nb + 60 * d),
                   nb + 60 * d - (int64_t)(60.0 * d * 0.3333));
  assert_int_equal(ck_profile_renew_at(p, nb, nb), nb);
  assert_int_equal(ck_profile_renew_at(NULL, nb, nb + d), nb + d);
  ck_profile_free(p);

  p = NULL;
  assert_int_equal(ck_profile_from_json(j, strlen(j), &p, NULL), CK_OK);
  /* the earlier wins: 10 days before beats a tenth (3 days) */
  assert_int_equal(ck_profile_renew_at(p, nb, nb + 30 * d), nb + 20 * d);
  /* a 60h certificate: 10 days before its end is before its start, so it
   * is due at once (never earlier than not_before) */
  assert_int_equal(ck_profile_renew_at(p, nb, nb + 60 * 3600), nb);
  /* long certificate: a tenth of 200d (20d) beats 10 days */
  assert_int_equal(ck_profile_renew_at(p, nb, nb + 200 * d), nb + 180 * d);
  ck_profile_free(p);
}

static void helpers(void **state) {
  char b[32];
  ck_profile_key k;
  ck_errctx e = CK_ERRCTX_INIT;

  (void)state;
  assert_string_equal(ck_profile_duration_format(0, b, sizeof b), "0s");
  assert_string_equal(ck_profile_duration_format(90, b, sizeof b), "90s");
  assert_string_equal(ck_profile_duration_format(120, b, sizeof b), "2m");
  assert_string_equal(ck_profile_duration_format(7200, b, sizeof b), "2h");
  assert_string_equal(ck_profile_duration_format(90000, b, sizeof b), "25h");
  assert_string_equal(ck_profile_duration_format(3 * 86400, b, sizeof b), "3d");
  assert_string_equal(ck_profile_duration_format(-5, b, sizeof b), "-5s");
  assert_string_equal(ck_profile_eku_name(CK_EKU_SERVER_AUTH), "serverAuth");
  assert_string_equal(ck_profile_eku_name(CK_EKU_OCSP_SIGNING), "OCSPSigning");
  assert_null(ck_profile_eku_name(CK_EKU_SERVER_AUTH | CK_EKU_CLIENT_AUTH));
  assert_null(ck_profile_eku_name(0));
  assert_string_equal(ck_profile_ku_name(CK_KU_KEY_AGREEMENT), "keyAgreement");
  assert_string_equal(ck_profile_role_name(CK_PROFILE_ROLE_AUDITOR), "auditor");
  assert_null(ck_profile_role_name(1u << 4));
  assert_int_equal(ck_profile_key_parse("RSA-3072", &k, &e), CK_OK);
  assert_int_equal(k.type, CK_KEY_RSA);
  assert_int_equal(k.bits, 3072);
  assert_string_equal(ck_profile_key_name(&k, b, sizeof b), "rsa-3072");
  assert_int_equal(ck_profile_key_parse("ec-p521", &k, &e), CK_OK);
  assert_string_equal(ck_profile_key_name(&k, b, sizeof b), "ec-p521");
  assert_int_equal(ck_profile_key_parse("rsa-", &k, &e), CK_ERR_PARSE);
  assert_string_equal(e.msg,
                      "'rsa-' is not a key type (rsa-<bits>, e.g. rsa-2048)");
  assert_int_equal(ck_profile_key_parse(NULL, &k, NULL), CK_ERR_PARSE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(tls_server_fields),
      cmocka_unit_test(tls_server_contract),
      cmocka_unit_test(agent_identity),
      cmocka_unit_test(default_table),
      cmocka_unit_test(renewal_time),
      cmocka_unit_test(helpers),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
