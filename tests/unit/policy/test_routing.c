/* test_routing.c — issuance routing (policy/routing.h) and the routing
 * members of a profile (profile_approval.c): purpose derivation, blast
 * radius factors, the high blast radius override in every mode, identity
 * strength in mode policy, internal/external names, and strict parsing
 * with a canonical round trip. */
#include "tests/testutil.h"

#include <stdlib.h>
#include <string.h>

#include "coordinator/policy/profile.h"
#include "coordinator/policy/routing.h"

static ck_profile *load(const char *json) {
  ck_profile *p = NULL;
  ck_errctx e = CK_ERRCTX_INIT;
  if (ck_profile_from_json(json, strlen(json), &p, &e) != CK_OK)
    fail_msg("profile: %s", e.msg);
  return p;
}

/* A profile with the given workflow, EKU and extra members. */
static ck_profile *make(const char *workflow, const char *eku, const char *extra) {
  char buf[2048];
  snprintf(buf, sizeof buf,
           "{\"name\": \"p\", \"workflow\": \"%s\", \"key_types\": [\"ec-p256\"],"
           " \"validity\": {\"max\": \"800d\", \"default\": \"30d\"},"
           " \"san\": {\"dns\": [\".test\"], \"max\": 200},"
           " \"ext_key_usage\": [%s],"
           " \"access\": {\"roles\": [\"operator\"]}%s%s}",
           workflow, eku, extra[0] ? ", " : "", extra);
  return load(buf);
}

static void route(const ck_profile *p, const char *const *names, size_t n,
                  ck_id_strength st, ck_route *out) {
  ck_san sans[128];
  ck_route_in in;
  size_t i;
  assert_true(n <= 128);
  for (i = 0; i < n; i++) {
    sans[i].type = strchr(names[i], ':') != NULL || (names[i][0] >= '0' && names[i][0] <= '9') ? CK_SAN_IP : CK_SAN_DNS;
    sans[i].value = names[i];
  }
  memset(&in, 0, sizeof in);
  in.profile = p;
  in.sans = sans;
  in.n_sans = n;
  in.strength = st;
  ck_route_classify(&in, out);
}

static void names_internal(void **state) {
  static const struct {
    ck_san_type t;
    const char *v;
    int internal;
  } cases[] = {
      {CK_SAN_DNS, "a.test", 1},        {CK_SAN_DNS, "localhost", 1},
      {CK_SAN_DNS, "x.corp", 1},        {CK_SAN_DNS, "h.home.arpa", 1},
      {CK_SAN_DNS, "test", 1},          {CK_SAN_DNS, "a.test.", 1},
      {CK_SAN_DNS, "example.com", 0},   {CK_SAN_DNS, "atest", 0},
      {CK_SAN_DNS, "test.com", 0},      {CK_SAN_DNS, "", 0},
      {CK_SAN_IP, "10.1.2.3", 1},       {CK_SAN_IP, "192.168.0.1", 1},
      {CK_SAN_IP, "172.16.0.1", 1},     {CK_SAN_IP, "172.32.0.1", 0},
      {CK_SAN_IP, "127.0.0.1", 1},      {CK_SAN_IP, "8.8.8.8", 0},
      {CK_SAN_IP, "::1", 1},            {CK_SAN_IP, "fd00::1", 1},
      {CK_SAN_IP, "2001:db8::1", 0},    {CK_SAN_URI, "https://x.com", 1},
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ck_san s = {cases[i].t, cases[i].v};
    if (ck_route_name_internal(&s) != cases[i].internal)
      fail_msg("%s: expected internal=%d", cases[i].v, cases[i].internal);
  }
}

static void purposes(void **state) {
  static const struct {
    const char *eku;
    const char *name;
    ck_purpose want;
  } cases[] = {
      {"\"serverAuth\"", "a.test", CK_PURPOSE_TLS_INTERNAL},
      {"\"serverAuth\"", "a.example.com", CK_PURPOSE_TLS_EXTERNAL},
      {"\"serverAuth\", \"clientAuth\"", "a.test", CK_PURPOSE_MTLS},
      {"\"clientAuth\"", "a.test", CK_PURPOSE_CLIENT_AUTH},
      {"\"codeSigning\"", "a.test", CK_PURPOSE_CODE_SIGNING},
      {"\"emailProtection\"", "a.test", CK_PURPOSE_SMIME},
      {"\"timeStamping\"", "a.test", CK_PURPOSE_DOCUMENT_SIGNING},
  };
  size_t i;
  ck_route r;
  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ck_profile *p = make("automatic", cases[i].eku, "");
    const char *n[] = {cases[i].name};
    route(p, n, 1, CK_IDS_API_TOKEN, &r);
    assert_string_equal(ck_purpose_name(r.purpose), ck_purpose_name(cases[i].want));
    ck_profile_free(p);
  }
  /* clientAuth from an EST device with an IDevID: device */
  {
    ck_profile *p = make("automatic", "\"clientAuth\"", "");
    const char *n[] = {"d.test"};
    route(p, n, 1, CK_IDS_EST_IDEVID, &r);
    assert_int_equal(r.purpose, CK_PURPOSE_DEVICE);
    ck_profile_free(p);
  }
  /* the profile's purpose wins */
  {
    ck_profile *p = make("automatic", "\"serverAuth\"", "\"purpose\": \"device\"");
    const char *n[] = {"d.test"};
    route(p, n, 1, CK_IDS_API_TOKEN, &r);
    assert_int_equal(r.purpose, CK_PURPOSE_DEVICE);
    ck_profile_free(p);
  }
}

static void blast_factors(void **state) {
  ck_profile *p = make("automatic", "\"serverAuth\"", "");
  const char *one[] = {"a.test"};
  const char *wild[] = {"*.a.test"};
  const char *ext_wild[] = {"*.example.com"};
  const char *many[30];
  char buf[30][32];
  ck_route r;
  size_t i;
  (void)state;

  route(p, one, 1, CK_IDS_API_TOKEN, &r);
  assert_int_equal(r.blast, CK_BLAST_LOW);
  assert_int_equal(r.decision, CK_ROUTE_AUTO);
  assert_string_equal(r.blast_why, "no risk factor");
  route(p, wild, 1, CK_IDS_API_TOKEN, &r);
  assert_int_equal(r.blast, CK_BLAST_MEDIUM);
  assert_non_null(strstr(r.blast_why, "1 wildcard name"));
  assert_int_equal(r.decision, CK_ROUTE_AUTO); /* mode auto: medium is fine */
  route(p, ext_wild, 1, CK_IDS_AGENT_MTLS, &r);
  assert_int_equal(r.blast, CK_BLAST_HIGH); /* wildcard + external */
  assert_int_equal(r.decision, CK_ROUTE_ADMIN);
  assert_non_null(strstr(r.reason, "overrides"));
  for (i = 0; i < 30; i++) {
    snprintf(buf[i], sizeof buf[i], "h%zu.a.test", i);
    many[i] = buf[i];
  }
  route(p, many, 21, CK_IDS_AGENT_MTLS, &r);
  assert_int_equal(r.blast, CK_BLAST_MEDIUM);
  route(p, many, 20, CK_IDS_AGENT_MTLS, &r);
  assert_int_equal(r.blast, CK_BLAST_LOW);
  ck_profile_free(p);
  /* validity over 398 days is a factor; with an external name: high */
  p = make("automatic", "\"serverAuth\"", "");
  {
    const char *ext[] = {"www.example.com"};
    ck_route_in in;
    ck_san s = {CK_SAN_DNS, "www.example.com"};
    (void)ext;
    memset(&in, 0, sizeof in);
    in.profile = p;
    in.sans = &s;
    in.n_sans = 1;
    in.validity = 400LL * 86400;
    in.strength = CK_IDS_AGENT_MTLS;
    ck_route_classify(&in, &r);
    assert_int_equal(r.blast, CK_BLAST_HIGH);
    in.validity = 0; /* the profile default, 30d */
    ck_route_classify(&in, &r);
    assert_int_equal(r.blast, CK_BLAST_MEDIUM);
    assert_int_equal(r.validity, 30 * 86400);
  }
  ck_profile_free(p);
}

static void override_every_mode(void **state) {
  static const char *const extras[] = {
      "\"approval\": {\"mode\": \"auto\"}",
      "\"approval\": {\"mode\": \"policy\"}",
      "\"blast_radius\": \"low\"",
  };
  const char *n[] = {"a.test"};
  size_t i;
  ck_route r;
  (void)state;
  for (i = 0; i < 3; i++) {
    char extra[256];
    ck_profile *p;
    snprintf(extra, sizeof extra, "%s, \"purpose\": \"code-signing\"", extras[i]);
    p = make("automatic", "\"serverAuth\"", extra);
    route(p, n, 1, CK_IDS_AGENT_MTLS, &r);
    assert_int_equal(r.blast, CK_BLAST_HIGH);
    assert_int_equal(r.decision, CK_ROUTE_ADMIN);
    ck_profile_free(p);
  }
  /* a profile's blast_radius is a floor */
  {
    ck_profile *p = make("automatic", "\"serverAuth\"", "\"blast_radius\": \"high\"");
    route(p, n, 1, CK_IDS_AGENT_MTLS, &r);
    assert_int_equal(r.decision, CK_ROUTE_ADMIN);
    assert_non_null(strstr(r.blast_why, "profile says high"));
    ck_profile_free(p);
  }
}

static void modes(void **state) {
  const char *n[] = {"a.test"};
  const char *wild[] = {"*.a.test"};
  ck_profile *p;
  ck_route r;
  (void)state;

  p = make("approval", "\"serverAuth\"", "");
  route(p, n, 1, CK_IDS_AGENT_MTLS, &r);
  assert_int_equal(r.mode, CK_APPROVAL_ALWAYS);
  assert_int_equal(r.decision, CK_ROUTE_ADMIN);
  ck_profile_free(p);

  p = make("automatic", "\"serverAuth\"", "\"approval\": {\"mode\": \"policy\"}");
  route(p, n, 1, CK_IDS_HUMAN, &r);
  assert_int_equal(r.decision, CK_ROUTE_ADMIN); /* humans always */
  route(p, n, 1, CK_IDS_API_TOKEN, &r);
  assert_int_equal(r.decision, CK_ROUTE_AUTO); /* low, tls */
  route(p, wild, 1, CK_IDS_API_TOKEN, &r);
  assert_int_equal(r.decision, CK_ROUTE_ADMIN); /* medium, weak identity */
  route(p, wild, 1, CK_IDS_ACME_EAB, &r);
  assert_int_equal(r.decision, CK_ROUTE_ADMIN);
  route(p, wild, 1, CK_IDS_EST_IDEVID, &r);
  assert_int_equal(r.decision, CK_ROUTE_AUTO); /* strong identity */
  route(p, wild, 1, CK_IDS_AGENT_MTLS, &r);
  assert_int_equal(r.decision, CK_ROUTE_AUTO);
  ck_profile_free(p);

  /* high-assurance purposes need more than a token even at low blast */
  p = make("automatic", "\"emailProtection\"",
           "\"approval\": {\"mode\": \"policy\"}, \"blast_radius\": \"low\"");
  route(p, n, 1, CK_IDS_API_TOKEN, &r);
  assert_int_equal(r.purpose, CK_PURPOSE_SMIME);
  assert_int_equal(r.decision, CK_ROUTE_ADMIN);
  route(p, n, 1, CK_IDS_AGENT_MTLS, &r);
  assert_int_equal(r.decision, CK_ROUTE_AUTO);
  ck_profile_free(p);
}

static void parse_and_round_trip(void **state) {
  ck_profile *p = make("approval", "\"codeSigning\"",
                       "\"approval\": {\"approvers\": {\"roles\": [\"approver\"],"
                       " \"named\": [\"alice\", \"bob\"], \"required\": 2},"
                       " \"criteria\": [\"identity-verified\"],"
                       " \"escalate_after\": \"24h\", \"escalate_to\": [\"security\"]},"
                       " \"purpose\": \"code-signing\", \"blast_radius\": \"medium\"");
  ck_profile *q = NULL;
  ck_errctx e = CK_ERRCTX_INIT;
  char *t = NULL;
  (void)state;

  assert_non_null(p->routing);
  assert_int_equal(p->routing->mode, CK_APPROVAL_ALWAYS);
  assert_int_equal(p->routing->required, 2);
  assert_int_equal(p->routing->n_named, 2);
  assert_int_equal(p->routing->escalate_after, 86400);
  assert_int_equal(ck_profile_to_json(p, 0, &t, &e), CK_OK);
  assert_non_null(strstr(t, "\"escalate_after\":\"1d\""));
  assert_int_equal(ck_profile_from_json(t, strlen(t), &q, &e), CK_OK);
  assert_true(ck_profile_equal(p, q));
  free(t);
  ck_profile_free(q);
  ck_profile_free(p);

  /* without routing members: none written (old profiles stay canonical) */
  p = make("automatic", "\"serverAuth\"", "");
  assert_null(p->routing);
  assert_int_equal(ck_profile_approval_mode(p), CK_APPROVAL_AUTO);
  assert_int_equal(ck_profile_to_json(p, 0, &t, &e), CK_OK);
  assert_null(strstr(t, "approval"));
  free(t);
  ck_profile_free(p);
  /* only approvers by name: no default roles */
  p = make("automatic", "\"serverAuth\"",
           "\"approval\": {\"mode\": \"always\", \"approvers\": {\"named\": [\"x\"]}}");
  assert_int_equal(p->routing->n_roles, 0);
  ck_profile_free(p);
  /* defaults: approver and admin, one approval */
  p = make("automatic", "\"serverAuth\"", "\"approval\": {\"mode\": \"always\"}");
  assert_int_equal(p->routing->n_roles, 2);
  assert_string_equal(p->routing->roles[0], "approver");
  assert_int_equal(p->routing->required, 1);
  ck_profile_free(p);
}

static void parse_errors(void **state) {
  static const struct {
    const char *extra;
    const char *msg;
  } cases[] = {
      {"\"approval\": 1", "approval: expected an object"},
      {"\"approval\": {\"mode\": \"maybe\"}", "approval.mode: 'maybe' is not one of"},
      {"\"approval\": {\"mod\": \"auto\"}", "approval: unknown field 'mod'"},
      {"\"approval\": {\"approvers\": {\"roles\": [\"boss\"]}}", "'boss' is not a role"},
      {"\"approval\": {\"approvers\": {\"named\": [\"a\"], \"required\": 2}}",
       "2 is more than the 1 named approvers"},
      {"\"approval\": {\"approvers\": {\"required\": 11}}", "expected an integer 1..10"},
      {"\"approval\": {\"approvers\": {\"required\": 0}}", "expected an integer 1..10"},
      {"\"approval\": {\"criteria\": [\"a\", \"a\"]}", "'a' is listed twice"},
      {"\"approval\": {\"criteria\": [\"a b\"]}", "is not a valid name"},
      {"\"approval\": {\"escalate_after\": \"soon\"}", "approval.escalate_after"},
      {"\"approval\": {\"escalate_to\": [\"x\"]}", "needs approval.escalate_after"},
      {"\"purpose\": \"tls\"", "purpose: 'tls' is not one of"},
      {"\"blast_radius\": \"huge\"", "blast_radius: 'huge' is not one of low"},
      {"\"blast_radius\": 3", "blast_radius: expected a string"},
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[2048];
    ck_profile *p = NULL;
    ck_errctx e = CK_ERRCTX_INIT;
    snprintf(buf, sizeof buf,
             "{\"name\": \"p\", \"workflow\": \"automatic\", \"key_types\": [\"ec-p256\"],"
             " \"validity\": {\"max\": \"90d\", \"default\": \"30d\"},"
             " \"san\": {\"dns\": [\".test\"]}, \"ext_key_usage\": [\"serverAuth\"],"
             " \"access\": {\"roles\": [\"operator\"]}, %s}",
             cases[i].extra);
    assert_int_equal(ck_profile_from_json(buf, strlen(buf), &p, &e), CK_ERR_PARSE);
    assert_null(p);
    if (strstr(e.msg, cases[i].msg) == NULL)
      fail_msg("case %zu: '%s' not in '%s'", i, cases[i].msg, e.msg);
  }
  /* workflow approval contradicts mode auto/policy */
  {
    const char *t = "{\"name\": \"p\", \"workflow\": \"approval\", \"key_types\": [\"ec-p256\"],"
                    " \"validity\": {\"max\": \"90d\", \"default\": \"30d\"},"
                    " \"san\": {\"dns\": [\".test\"]}, \"ext_key_usage\": [\"serverAuth\"],"
                    " \"access\": {\"roles\": [\"operator\"]}, \"approval\": {\"mode\": \"policy\"}}";
    ck_profile *p = NULL;
    ck_errctx e = CK_ERRCTX_INIT;
    assert_int_equal(ck_profile_from_json(t, strlen(t), &p, &e), CK_ERR_PARSE);
    assert_non_null(strstr(e.msg, "needs workflow"));
  }
}

static void names_tables(void **state) {
  ck_purpose pu;
  ck_blast b;
  ck_id_strength st;
  (void)state;
  assert_int_equal(ck_purpose_parse("smime", &pu), CK_OK);
  assert_int_equal(pu, CK_PURPOSE_SMIME);
  assert_int_equal(ck_purpose_parse("SMIME", &pu), CK_ERR_PARSE);
  assert_int_equal(ck_blast_parse("medium", &b), CK_OK);
  assert_int_equal(ck_id_strength_parse("est-idevid", &st), CK_OK);
  assert_int_equal(st, CK_IDS_EST_IDEVID);
  assert_string_equal(ck_purpose_name((ck_purpose)99), "?");
  assert_string_equal(ck_blast_name((ck_blast)-1), "?");
  assert_string_equal(ck_route_decision_name(CK_ROUTE_ADMIN), "admin");
  assert_string_equal(ck_approval_mode_name(CK_APPROVAL_POLICY), "policy");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(names_internal),      cmocka_unit_test(purposes),
      cmocka_unit_test(blast_factors),       cmocka_unit_test(override_every_mode),
      cmocka_unit_test(modes),               cmocka_unit_test(parse_and_round_trip),
      cmocka_unit_test(parse_errors),        cmocka_unit_test(names_tables),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
