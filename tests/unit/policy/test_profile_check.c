/* test_profile_check.c — policy refusals rule by rule. Every rule of
 * ck_profile_check has a request it allows and one it refuses, and each
 * refusal is asserted with its rule, offending value and exact message
 * (also in the error context and on the security log). */
#include "tests/testutil.h"

#include <stdlib.h>
#include <string.h>

#include "common/util/log.h"
#include "coordinator/policy/profile.h"

/* Most tests use this profile. */
static const char WEB[] =
    "{\"name\": \"web\", \"workflow\": \"automatic\","
    " \"key_types\": [\"ec-p256\", \"rsa-3072\", \"ed25519\"],"
    " \"validity\": {\"max\": \"90d\", \"default\": \"30d\"},"
    " \"san\": {\"dns\": [\".web.test\", \"api.test\", \"*.svc.test\"],"
    "   \"ip\": [\"10.0.0.0/8\"], \"uri\": [\"spiffe://cluster.test/ns/web\"],"
    "   \"email\": [\"example.test\"], \"max\": 5},"
    " \"cn\": \"require_san\","
    " \"ext_key_usage\": [\"serverAuth\", \"clientAuth\"],"
    " \"access\": {\"agent_groups\": [\"web\", \"api\"],"
    "   \"roles\": [\"operator\", \"admin\"], \"owners\": [\"team-web\"]}}";

static ck_profile *load(const char *json) {
  ck_profile *p = NULL;
  ck_errctx e = CK_ERRCTX_INIT;
  if (ck_profile_from_json(json, strlen(json), &p, &e) != CK_OK)
    fail_msg("profile: %s", e.msg);
  return p;
}

/* A request under construction: CSR fields plus requester. */
typedef struct rq {
  ck_csr_info ci;
  ck_san sans[16];
  ck_profile_request req;
} rq;

/* An operator token asking for cn with an EC P-256 key and no SANs. */
static void rq_init(rq *r, const char *cn) {
  memset(r, 0, sizeof *r);
  r->ci.subject = "";
  r->ci.subject_cn = cn ? cn : "";
  r->ci.key.type = CK_KEY_EC;
  r->ci.key.bits = 256;
  snprintf(r->ci.key.curve, sizeof r->ci.key.curve, "P-256");
  r->ci.sans = r->sans;
  r->req.csr = &r->ci;
  r->req.who.kind = CK_PROFILE_REQ_TOKEN;
  r->req.who.id = "tok-1";
  r->req.who.role = "operator";
}

static void rq_san(rq *r, ck_san_type t, const char *v) {
  assert_true(r->ci.n_sans < 16);
  r->sans[r->ci.n_sans].type = t;
  r->sans[r->ci.n_sans].value = v;
  r->ci.n_sans++;
}

static void rq_key(rq *r, ck_key_type t, unsigned bits, const char *curve) {
  r->ci.key.type = t;
  r->ci.key.bits = bits;
  snprintf(r->ci.key.curve, sizeof r->ci.key.curve, "%s", curve);
}

static void rq_agent(rq *r, const char *group) {
  r->req.who.kind = CK_PROFILE_REQ_AGENT;
  r->req.who.id = "agent-1";
  r->req.who.group = group;
  r->req.who.role = NULL;
}

/* Security-log capture. */
static int n_refuse_logs;
static char last_log[2048];

static void hook(ck_log_stream s, ck_log_level lvl, const char *line,
                 void *arg) {
  (void)arg;
  if (s == CK_LOG_SEC && lvl == CK_LOG_WARN &&
      strstr(line, "policy.refuse") != NULL) {
    n_refuse_logs++;
    snprintf(last_log, sizeof last_log, "%s", line);
  }
}

static void expect_refuse(const ck_profile *p, const rq *r,
                          ck_profile_rule rule, const char *value,
                          const char *msg) {
  ck_profile_verdict v;
  ck_errctx e = CK_ERRCTX_INIT;
  int before = n_refuse_logs;

  memset(&v, 0, sizeof v);
  assert_int_equal(ck_profile_check(p, &r->req, &v, &e), CK_ERR_DENIED);
  assert_int_equal(v.outcome, CK_PROFILE_REFUSE);
  assert_string_equal(v.reason, msg);
  assert_string_equal(ck_profile_rule_name(v.rule), ck_profile_rule_name(rule));
  assert_int_equal(v.rule, rule);
  assert_string_equal(v.value, value);
  assert_string_equal(e.msg, msg);
  assert_int_equal(e.code, CK_ERR_DENIED);
  /* nothing to issue from a refusal */
  assert_int_equal(v.n_sans, 0);
  assert_null(v.sans);
  assert_int_equal(v.validity, 0);
  /* and the refusal is on the security log, once */
  assert_int_equal(n_refuse_logs, before + 1);
  assert_non_null(strstr(last_log, ck_profile_rule_name(rule)));
  assert_non_null(strstr(last_log, p->name));
  ck_profile_verdict_clear(&v);
}

/* Checks r under p, expecting ALLOW; the caller clears *v. */
static void expect_allow(const ck_profile *p, const rq *r,
                         ck_profile_verdict *v) {
  ck_errctx e = CK_ERRCTX_INIT;
  memset(v, 0, sizeof *v);
  if (ck_profile_check(p, &r->req, v, &e) != CK_OK)
    fail_msg("refused: %s", e.msg);
  assert_int_equal(v->outcome, CK_PROFILE_ALLOW);
  assert_int_equal(v->rule, CK_PROFILE_RULE_NONE);
  assert_string_equal(v->reason, "");
}

static void allowed(const ck_profile *p, const rq *r) {
  ck_profile_verdict v;
  expect_allow(p, r, &v);
  ck_profile_verdict_clear(&v);
}

static int setup(void **state) {
  (void)state;
  ck_log_configure(CK_LOG_SEC, "none", CK_LOG_FMT_KV, CK_LOG_DEBUG, NULL);
  ck_log_set_hook(hook, NULL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  ck_log_set_hook(NULL, NULL);
  return 0;
}

/* ---------------------------------------------------------------- access */

static void access_agent_group(void **state) {
  ck_profile *p = load(WEB), *any;
  rq r;

  (void)state;
  rq_init(&r, "h.web.test");
  rq_san(&r, CK_SAN_DNS, "h.web.test");
  rq_agent(&r, "web");
  allowed(p, &r);
  rq_agent(&r, "api");
  allowed(p, &r);
  rq_agent(&r, "db");
  expect_refuse(p, &r, CK_PROFILE_RULE_ACCESS, "db",
                "group 'db' may not use profile 'web' (allowed groups: web, "
                "api)");
  rq_agent(&r, NULL);
  expect_refuse(p, &r, CK_PROFILE_RULE_ACCESS, "",
                "group '' may not use profile 'web' (allowed groups: web, "
                "api)");
  rq_agent(&r, "Web"); /* group names are exact */
  expect_refuse(p, &r, CK_PROFILE_RULE_ACCESS, "Web",
                "group 'Web' may not use profile 'web' (allowed groups: web, "
                "api)");
  ck_profile_free(p);

  p = load("{\"name\": \"nobody\", \"workflow\": \"automatic\","
           " \"key_types\": [\"ec-p256\"], \"validity\": {\"max\": \"1d\"},"
           " \"san\": {\"dns\": [\".test\"]},"
           " \"ext_key_usage\": [\"serverAuth\"], \"access\": {}}");
  rq_agent(&r, "web");
  r.ci.subject_cn = "h.test";
  r.sans[0].value = "h.test";
  expect_refuse(p, &r, CK_PROFILE_RULE_ACCESS, "web",
                "group 'web' may not use profile 'nobody' (no agent groups "
                "allowed)");
  any = load("{\"name\": \"any\", \"workflow\": \"automatic\","
             " \"key_types\": [\"ec-p256\"], \"validity\": {\"max\": \"1d\"},"
             " \"san\": {\"dns\": [\".test\"]},"
             " \"ext_key_usage\": [\"serverAuth\"],"
             " \"access\": {\"agent_groups\": [\"*\"]}}");
  rq_agent(&r, "whatever-group");
  allowed(any, &r);
  rq_agent(&r, "");
  expect_refuse(any, &r, CK_PROFILE_RULE_ACCESS, "",
                "group '' may not use profile 'any' (allowed groups: *)");
  ck_profile_free(p);
  ck_profile_free(any);
}

static void access_role(void **state) {
  ck_profile *p = load(WEB), *none;
  rq r;

  (void)state;
  rq_init(&r, "h.web.test");
  rq_san(&r, CK_SAN_DNS, "h.web.test");
  allowed(p, &r);
  r.req.who.role = "admin";
  allowed(p, &r);
  r.req.who.role = "auditor";
  expect_refuse(p, &r, CK_PROFILE_RULE_ACCESS, "auditor",
                "requester role 'auditor' may not use profile 'web' (allowed "
                "roles: admin, operator)");
  r.req.who.role = "approver";
  expect_refuse(p, &r, CK_PROFILE_RULE_ACCESS, "approver",
                "requester role 'approver' may not use profile 'web' "
                "(allowed roles: admin, operator)");
  r.req.who.role = "root";
  expect_refuse(p, &r, CK_PROFILE_RULE_ACCESS, "root",
                "requester role 'root' may not use profile 'web' (allowed "
                "roles: admin, operator)");
  r.req.who.role = NULL;
  expect_refuse(p, &r, CK_PROFILE_RULE_ACCESS, "",
                "requester role '' may not use profile 'web' (allowed roles: "
                "admin, operator)");
  none = load("{\"name\": \"agents-only\", \"workflow\": \"automatic\","
              " \"key_types\": [\"ec-p256\"], \"validity\": {\"max\": \"1d\"},"
              " \"san\": {\"dns\": [\".test\"]},"
              " \"ext_key_usage\": [\"serverAuth\"],"
              " \"access\": {\"agent_groups\": [\"*\"]}}");
  r.req.who.role = "admin";
  expect_refuse(none, &r, CK_PROFILE_RULE_ACCESS, "admin",
                "requester role 'admin' may not use profile 'agents-only' (no "
                "API roles allowed)");
  /* an unknown requester kind is refused, not guessed */
  r.req.who.kind = (ck_profile_requester_kind)9;
  expect_refuse(p, &r, CK_PROFILE_RULE_ACCESS, "",
                "unknown requester kind 9 may not use profile 'web'");
  ck_profile_free(p);
  ck_profile_free(none);
}

static void access_owner(void **state) {
  ck_profile *p = load(WEB), *any, *none;
  rq r;

  (void)state;
  rq_init(&r, "h.web.test");
  rq_san(&r, CK_SAN_DNS, "h.web.test");
  r.req.who.role = "owner";
  r.req.who.owner = "team-web";
  allowed(p, &r);
  r.req.who.owner = "team-db";
  expect_refuse(p, &r, CK_PROFILE_RULE_ACCESS, "team-db",
                "owner 'team-db' may not use profile 'web' (allowed owners: "
                "team-web)");
  r.req.who.owner = NULL;
  expect_refuse(p, &r, CK_PROFILE_RULE_ACCESS, "",
                "owner '' may not use profile 'web' (allowed owners: "
                "team-web)");
  /* an owner acting directly (not through a token) */
  r.req.who.kind = CK_PROFILE_REQ_OWNER;
  r.req.who.role = NULL;
  r.req.who.owner = "team-web";
  allowed(p, &r);
  r.req.who.owner = "team-db";
  expect_refuse(p, &r, CK_PROFILE_RULE_ACCESS, "team-db",
                "owner 'team-db' may not use profile 'web' (allowed owners: "
                "team-web)");

  any = load("{\"name\": \"owners\", \"workflow\": \"automatic\","
             " \"key_types\": [\"ec-p256\"], \"validity\": {\"max\": \"1d\"},"
             " \"san\": {\"dns\": [\".web.test\"]},"
             " \"ext_key_usage\": [\"serverAuth\"],"
             " \"access\": {\"owners\": [\"*\"]}}");
  allowed(any, &r);
  none = load("{\"name\": \"no-owners\", \"workflow\": \"automatic\","
              " \"key_types\": [\"ec-p256\"], \"validity\": {\"max\": \"1d\"},"
              " \"san\": {\"dns\": [\".web.test\"]},"
              " \"ext_key_usage\": [\"serverAuth\"],"
              " \"access\": {\"roles\": [\"admin\"]}}");
  expect_refuse(none, &r, CK_PROFILE_RULE_ACCESS, "team-db",
                "owner 'team-db' may not use profile 'no-owners' (no owners "
                "allowed)");
  ck_profile_free(p);
  ck_profile_free(any);
  ck_profile_free(none);
}

static void binding_profiles(void **state) {
  static const char *const other[] = {"tls-server", "db"};
  static const char *const mine[] = {"tls-server", "web"};
  ck_profile *p = load(WEB);
  rq r;

  (void)state;
  rq_init(&r, "h.web.test");
  rq_san(&r, CK_SAN_DNS, "h.web.test");
  rq_agent(&r, "web");
  r.req.who.binding_profiles = other;
  r.req.who.n_binding_profiles = 2;
  expect_refuse(p, &r, CK_PROFILE_RULE_BINDING_PROFILE, "web",
                "the agent's binding does not allow profile 'web' (allowed: "
                "tls-server, db)");
  r.req.who.binding_profiles = mine;
  allowed(p, &r);
  r.req.who.n_binding_profiles = 0; /* a binding without a profile list */
  allowed(p, &r);
  ck_profile_free(p);
}

/* ------------------------------------------------------------------- key */

static void key_type(void **state) {
  ck_profile *p = load(WEB);
  rq r;
  ck_profile_verdict v;

  (void)state;
  rq_init(&r, "h.web.test");
  rq_san(&r, CK_SAN_DNS, "h.web.test");
  allowed(p, &r);
  rq_key(&r, CK_KEY_ED25519, 256, "");
  expect_allow(p, &r, &v);
  assert_int_equal(v.key_usage, CK_KU_DIGITAL_SIGNATURE);
  ck_profile_verdict_clear(&v);
  rq_key(&r, CK_KEY_EC, 384, "P-384");
  expect_refuse(p, &r, CK_PROFILE_RULE_KEY_TYPE, "ec-p384",
                "key ec-p384 is not allowed by profile 'web' (allowed: "
                "ec-p256, rsa-3072, ed25519)");
  /* a 256-bit curve that is not P-256 */
  rq_key(&r, CK_KEY_EC, 256, "secp256k1");
  expect_refuse(p, &r, CK_PROFILE_RULE_KEY_TYPE, "ec-secp256k1",
                "key ec-secp256k1 is not allowed by profile 'web' (allowed: "
                "ec-p256, rsa-3072, ed25519)");
  rq_key(&r, CK_KEY_EC, 256, "brainpoolP256r1");
  expect_refuse(p, &r, CK_PROFILE_RULE_KEY_TYPE, "ec-brainpoolp256r1",
                "key ec-brainpoolp256r1 is not allowed by profile 'web' "
                "(allowed: ec-p256, rsa-3072, ed25519)");
  rq_key(&r, CK_KEY_DSA, 2048, "");
  expect_refuse(p, &r, CK_PROFILE_RULE_KEY_TYPE, "dsa-2048",
                "key dsa-2048 is not allowed by profile 'web' (allowed: "
                "ec-p256, rsa-3072, ed25519)");
  rq_key(&r, CK_KEY_RSA_PSS, 3072, "");
  expect_refuse(p, &r, CK_PROFILE_RULE_KEY_TYPE, "rsa-pss-3072",
                "key rsa-pss-3072 is not allowed by profile 'web' (allowed: "
                "ec-p256, rsa-3072, ed25519)");
  rq_key(&r, CK_KEY_ED448, 456, "");
  expect_refuse(p, &r, CK_PROFILE_RULE_KEY_TYPE, "ed448",
                "key ed448 is not allowed by profile 'web' (allowed: ec-p256, "
                "rsa-3072, ed25519)");
  rq_key(&r, CK_KEY_UNKNOWN, 0, "");
  expect_refuse(p, &r, CK_PROFILE_RULE_KEY_TYPE, "unknown",
                "key unknown is not allowed by profile 'web' (allowed: "
                "ec-p256, rsa-3072, ed25519)");
  ck_profile_free(p);
  p = load("{\"name\": \"ec-only\", \"workflow\": \"automatic\","
           " \"key_types\": [\"ec-p256\"], \"validity\": {\"max\": \"1d\"},"
           " \"san\": {\"dns\": [\".web.test\"]},"
           " \"ext_key_usage\": [\"serverAuth\"],"
           " \"access\": {\"roles\": [\"operator\"]}}");
  rq_key(&r, CK_KEY_RSA, 4096, "");
  expect_refuse(p, &r, CK_PROFILE_RULE_KEY_TYPE, "rsa-4096",
                "key rsa-4096 is not allowed by profile 'ec-only' (allowed: "
                "ec-p256)");
  ck_profile_free(p);
}

static void key_size(void **state) {
  ck_profile *p = load(WEB);
  rq r;
  ck_profile_verdict v;

  (void)state;
  rq_init(&r, "h.web.test");
  rq_san(&r, CK_SAN_DNS, "h.web.test");
  rq_key(&r, CK_KEY_RSA, 1024, "");
  expect_refuse(p, &r, CK_PROFILE_RULE_KEY_SIZE, "rsa-1024",
                "key rsa-1024 is below the minimum rsa-3072");
  rq_key(&r, CK_KEY_RSA, 3071, "");
  expect_refuse(p, &r, CK_PROFILE_RULE_KEY_SIZE, "rsa-3071",
                "key rsa-3071 is below the minimum rsa-3072");
  rq_key(&r, CK_KEY_RSA, 3072, "");
  expect_allow(p, &r, &v);
  /* RSA keeps keyEncipherment */
  assert_int_equal(v.key_usage,
                   CK_KU_DIGITAL_SIGNATURE | CK_KU_KEY_ENCIPHERMENT);
  ck_profile_verdict_clear(&v);
  rq_key(&r, CK_KEY_RSA, 4096, "");
  allowed(p, &r);
  ck_profile_free(p);
}

static void key_usage_fit(void **state) {
  ck_profile *ke, *ka;
  rq r;
  ck_profile_verdict v;

  (void)state;
  ke = load("{\"name\": \"kx\", \"workflow\": \"automatic\","
            " \"key_types\": [\"ec-p256\", \"rsa-2048\", \"ed25519\"],"
            " \"validity\": {\"max\": \"1d\"},"
            " \"san\": {\"dns\": [\".web.test\"]},"
            " \"key_usage\": [\"keyEncipherment\"],"
            " \"ext_key_usage\": [\"serverAuth\"],"
            " \"access\": {\"roles\": [\"operator\"]}}");
  ka = load("{\"name\": \"ka\", \"workflow\": \"automatic\","
            " \"key_types\": [\"ec-p256\", \"rsa-2048\", \"ed25519\"],"
            " \"validity\": {\"max\": \"1d\"},"
            " \"san\": {\"dns\": [\".web.test\"]},"
            " \"key_usage\": [\"keyAgreement\", \"digitalSignature\"],"
            " \"ext_key_usage\": [\"serverAuth\"],"
            " \"access\": {\"roles\": [\"operator\"]}}");
  rq_init(&r, "h.web.test");
  rq_san(&r, CK_SAN_DNS, "h.web.test");
  /* EC keys may not encipher keys (RFC 5480) */
  expect_refuse(ke, &r, CK_PROFILE_RULE_KEY_USAGE, "ec-p256",
                "key ec-p256 cannot serve the key usage of profile 'kx' "
                "(keyEncipherment)");
  rq_key(&r, CK_KEY_ED25519, 256, "");
  expect_refuse(ke, &r, CK_PROFILE_RULE_KEY_USAGE, "ed25519",
                "key ed25519 cannot serve the key usage of profile 'kx' "
                "(keyEncipherment)");
  rq_key(&r, CK_KEY_RSA, 2048, "");
  expect_allow(ke, &r, &v);
  assert_int_equal(v.key_usage, CK_KU_KEY_ENCIPHERMENT);
  ck_profile_verdict_clear(&v);
  /* RSA cannot do key agreement: only the signature bit stays */
  expect_allow(ka, &r, &v);
  assert_int_equal(v.key_usage, CK_KU_DIGITAL_SIGNATURE);
  ck_profile_verdict_clear(&v);
  rq_key(&r, CK_KEY_EC, 256, "P-256");
  expect_allow(ka, &r, &v);
  assert_int_equal(v.key_usage, CK_KU_DIGITAL_SIGNATURE | CK_KU_KEY_AGREEMENT);
  ck_profile_verdict_clear(&v);
  ck_profile_free(ke);
  ck_profile_free(ka);
}

/* -------------------------------------------------------------- validity */

static void validity(void **state) {
  ck_profile *p = load(WEB);
  rq r;
  ck_profile_verdict v;

  (void)state;
  rq_init(&r, "h.web.test");
  rq_san(&r, CK_SAN_DNS, "h.web.test");
  expect_allow(p, &r, &v);
  assert_int_equal(v.validity, 30 * 86400); /* the default */
  ck_profile_verdict_clear(&v);
  r.req.validity = 90 * 86400;
  expect_allow(p, &r, &v);
  assert_int_equal(v.validity, 90 * 86400);
  ck_profile_verdict_clear(&v);
  r.req.validity = 3600;
  expect_allow(p, &r, &v);
  assert_int_equal(v.validity, 3600);
  ck_profile_verdict_clear(&v);
  r.req.validity = 90 * 86400 + 1;
  expect_refuse(p, &r, CK_PROFILE_RULE_VALIDITY, "7776001s",
                "validity 7776001s exceeds the profile maximum 90d");
  r.req.validity = 400 * 86400;
  expect_refuse(p, &r, CK_PROFILE_RULE_VALIDITY, "400d",
                "validity 400d exceeds the profile maximum 90d");
  r.req.validity = -5;
  expect_refuse(p, &r, CK_PROFILE_RULE_VALIDITY, "-5s",
                "validity -5s is not positive");
  ck_profile_free(p);
}

/* ----------------------------------------------------------------- names */

static void names_present(void **state) {
  ck_profile *p = load(WEB);
  rq r;

  (void)state;
  rq_init(&r, NULL);
  expect_refuse(p, &r, CK_PROFILE_RULE_NAMES, "",
                "the request names nothing: no CN and no SANs");
  rq_san(&r, CK_SAN_DNS, "h.web.test");
  allowed(p, &r); /* SANs without a CN are fine */
  ck_profile_free(p);
}

static void san_type(void **state) {
  ck_profile *p = load(WEB);
  rq r;

  (void)state;
  rq_init(&r, "h.web.test");
  rq_san(&r, CK_SAN_DNS, "h.web.test");
  rq_san(&r, CK_SAN_OTHER, "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:x@y");
  expect_refuse(p, &r, CK_PROFILE_RULE_SAN_TYPE,
                "other:otherName:1.3.6.1.4.1.311.20.2.3;UTF8:x@y",
                "san other:otherName:1.3.6.1.4.1.311.20.2.3;UTF8:x@y is not "
                "allowed: only DNS, IP, URI and email names can be issued");
  r.ci.n_sans = 1;
  allowed(p, &r);
  ck_profile_free(p);
}

static void san_syntax(void **state) {
  ck_profile *p = load(WEB);
  rq r;

  (void)state;
  rq_init(&r, NULL);
  rq_san(&r, CK_SAN_DNS, "a..web.test");
  expect_refuse(p, &r, CK_PROFILE_RULE_SAN_SYNTAX, "dns:a..web.test",
                "san dns:a..web.test is not a valid DNS name (empty label)");
  r.sans[0].value = "h.web.test\\x00.evil.example"; /* as the parser prints */
  expect_refuse(p, &r, CK_PROFILE_RULE_SAN_SYNTAX,
                "dns:h.web.test\\x00.evil.example",
                "san dns:h.web.test\\x00.evil.example is not a valid DNS name "
                "(character '\\' is not allowed (letters, digits and '-' "
                "only; IDNs in their xn-- form))");
  r.sans[0].value = "h\x01.web.test"; /* raw bytes are shown escaped */
  expect_refuse(p, &r, CK_PROFILE_RULE_SAN_SYNTAX, "dns:h\\x01.web.test",
                "san dns:h\\x01.web.test is not a valid DNS name (character "
                "'\\x01' is not allowed (letters, digits and '-' only; IDNs in "
                "their xn-- form))");
  r.sans[0].type = CK_SAN_IP;
  r.sans[0].value = "10.0.0.300";
  expect_refuse(p, &r, CK_PROFILE_RULE_SAN_SYNTAX, "ip:10.0.0.300",
                "san ip:10.0.0.300 is not a valid IP address (not an IPv4 or "
                "IPv6 address)");
  r.sans[0].type = CK_SAN_URI;
  r.sans[0].value = "spiffe://cluster.test/ns/web/../admin";
  expect_refuse(p, &r, CK_PROFILE_RULE_SAN_SYNTAX,
                "uri:spiffe://cluster.test/ns/web/../admin",
                "san uri:spiffe://cluster.test/ns/web/../admin is not a valid "
                "URI (the path has a '.' or '..' segment)");
  r.sans[0].type = CK_SAN_EMAIL;
  r.sans[0].value = "bob";
  expect_refuse(p, &r, CK_PROFILE_RULE_SAN_SYNTAX, "email:bob",
                "san email:bob is not a valid email address (exactly one '@' "
                "is needed)");
  r.sans[0].value = "bob@example.test";
  allowed(p, &r);
  ck_profile_free(p);
}

static void san_count(void **state) {
  ck_profile *p = load(WEB), *copy;
  rq r;
  ck_profile_verdict v;

  (void)state;
  rq_init(&r, NULL);
  rq_san(&r, CK_SAN_DNS, "a.web.test");
  rq_san(&r, CK_SAN_DNS, "b.web.test");
  rq_san(&r, CK_SAN_DNS, "c.web.test");
  rq_san(&r, CK_SAN_DNS, "d.web.test");
  rq_san(&r, CK_SAN_DNS, "e.web.test");
  allowed(p, &r); /* exactly the maximum */
  rq_san(&r, CK_SAN_DNS, "f.web.test");
  expect_refuse(p, &r, CK_PROFILE_RULE_SAN_COUNT, "6",
                "the request has 6 SANs; profile 'web' allows at most 5");
  ck_profile_free(p);

  /* a CN copied into the SANs counts too */
  copy = load("{\"name\": \"copy\", \"workflow\": \"automatic\","
              " \"key_types\": [\"ec-p256\"], \"validity\": {\"max\": \"1d\"},"
              " \"san\": {\"dns\": [\".web.test\"], \"max\": 2},"
              " \"cn\": \"copy_to_san\", \"ext_key_usage\": [\"serverAuth\"],"
              " \"access\": {\"roles\": [\"operator\"]}}");
  rq_init(&r, "x.web.test");
  rq_san(&r, CK_SAN_DNS, "a.web.test");
  rq_san(&r, CK_SAN_DNS, "b.web.test");
  expect_refuse(copy, &r, CK_PROFILE_RULE_SAN_COUNT, "3",
                "the request has 3 SANs; profile 'copy' allows at most 2");
  /* duplicates collapse before counting the copy */
  r.sans[1].value = "A.Web.Test.";
  expect_allow(copy, &r, &v);
  assert_int_equal(v.n_sans, 2);
  assert_string_equal(v.sans[0].value, "a.web.test");
  assert_string_equal(v.sans[1].value, "x.web.test");
  ck_profile_verdict_clear(&v);
  ck_profile_free(copy);
}

static void wildcard(void **state) {
  ck_profile *p = load(WEB), *w;
  rq r;
  ck_profile_verdict v;

  (void)state;
  rq_init(&r, NULL);
  rq_san(&r, CK_SAN_DNS, "*.svc.test");
  expect_refuse(p, &r, CK_PROFILE_RULE_WILDCARD, "dns:*.svc.test",
                "san dns:*.svc.test is a wildcard; wildcard names are not "
                "allowed by profile 'web'");
  r.sans[0].value = "x.svc.test";
  allowed(p, &r);
  ck_profile_free(p);

  w = load("{\"name\": \"wild\", \"workflow\": \"automatic\","
           " \"key_types\": [\"ec-p256\"], \"validity\": {\"max\": \"1d\"},"
           " \"san\": {\"dns\": [\".web.test\", \"api.test\", \"*.svc.test\"],"
           "   \"wildcards\": true},"
           " \"ext_key_usage\": [\"serverAuth\"],"
           " \"access\": {\"roles\": [\"operator\"]}}");
  r.sans[0].value = "*.SVC.test";
  expect_allow(w, &r, &v);
  assert_string_equal(v.sans[0].value, "*.svc.test");
  ck_profile_verdict_clear(&v);
  r.sans[0].value = "*.a.web.test";
  allowed(w, &r);
  r.sans[0].value = "*.web.test";
  allowed(w, &r);
  /* a wildcard is allowed only where every name it covers is */
  r.sans[0].value = "*.api.test";
  expect_refuse(w, &r, CK_PROFILE_RULE_SAN_PATTERN, "dns:*.api.test",
                "san dns:*.api.test is not allowed by profile 'wild' (allowed: "
                ".web.test, api.test, *.svc.test)");
  r.sans[0].value = "*.test";
  expect_refuse(w, &r, CK_PROFILE_RULE_SAN_PATTERN, "dns:*.test",
                "san dns:*.test is not allowed by profile 'wild' (allowed: "
                ".web.test, api.test, *.svc.test)");
  r.sans[0].value = "*.x.svc.test";
  expect_refuse(w, &r, CK_PROFILE_RULE_SAN_PATTERN, "dns:*.x.svc.test",
                "san dns:*.x.svc.test is not allowed by profile 'wild' "
                "(allowed: .web.test, api.test, *.svc.test)");
  ck_profile_free(w);
}

static void san_pattern(void **state) {
  static const char *const bad_dns[] = {"evil.example.com", "evilweb.test",
                                        "web.test",         "a.b.svc.test",
                                        "api.test.evil",    "web.test.evil"};
  ck_profile *p = load(WEB), *dns_only;
  rq r;
  size_t i;
  char value[128], msg[256];

  (void)state;
  rq_init(&r, NULL);
  rq_san(&r, CK_SAN_DNS, "h.web.test");
  rq_san(&r, CK_SAN_DNS, "API.test");
  rq_san(&r, CK_SAN_DNS, "x.svc.test");
  rq_san(&r, CK_SAN_IP, "10.20.30.40");
  rq_san(&r, CK_SAN_URI, "spiffe://cluster.test/ns/web/sa/x");
  allowed(p, &r);
  r.ci.n_sans = 1;
  for (i = 0; i < sizeof bad_dns / sizeof bad_dns[0]; i++) {
    r.sans[0].value = bad_dns[i];
    snprintf(value, sizeof value, "dns:%s", bad_dns[i]);
    snprintf(msg, sizeof msg,
             "san dns:%s is not allowed by profile 'web' (allowed: "
             ".web.test, api.test, *.svc.test)",
             bad_dns[i]);
    expect_refuse(p, &r, CK_PROFILE_RULE_SAN_PATTERN, value, msg);
  }
  r.sans[0].type = CK_SAN_IP;
  r.sans[0].value = "192.168.1.1";
  expect_refuse(p, &r, CK_PROFILE_RULE_SAN_PATTERN, "ip:192.168.1.1",
                "san ip:192.168.1.1 is not allowed by profile 'web' (allowed: "
                "10.0.0.0/8)");
  r.sans[0].type = CK_SAN_URI;
  r.sans[0].value = "spiffe://cluster.test/ns/db";
  expect_refuse(p, &r, CK_PROFILE_RULE_SAN_PATTERN,
                "uri:spiffe://cluster.test/ns/db",
                "san uri:spiffe://cluster.test/ns/db is not allowed by profile "
                "'web' (allowed: spiffe://cluster.test/ns/web)");
  r.sans[0].type = CK_SAN_EMAIL;
  r.sans[0].value = "eve@evil.test";
  expect_refuse(p, &r, CK_PROFILE_RULE_SAN_PATTERN, "email:eve@evil.test",
                "san email:eve@evil.test is not allowed by profile 'web' "
                "(allowed: example.test)");
  ck_profile_free(p);

  dns_only = load("{\"name\": \"dns-only\", \"workflow\": \"automatic\","
                  " \"key_types\": [\"ec-p256\"],"
                  " \"validity\": {\"max\": \"1d\"},"
                  " \"san\": {\"dns\": [\".web.test\"]},"
                  " \"ext_key_usage\": [\"serverAuth\"],"
                  " \"access\": {\"roles\": [\"operator\"]}}");
  r.sans[0].type = CK_SAN_IP;
  r.sans[0].value = "10.0.0.1";
  expect_refuse(dns_only, &r, CK_PROFILE_RULE_SAN_PATTERN, "ip:10.0.0.1",
                "san ip:10.0.0.1 is not allowed by profile 'dns-only' (no IP "
                "addresses allowed)");
  r.sans[0].type = CK_SAN_URI;
  r.sans[0].value = "urn:x";
  expect_refuse(dns_only, &r, CK_PROFILE_RULE_SAN_PATTERN, "uri:urn:x",
                "san uri:urn:x is not allowed by profile 'dns-only' (no URIs "
                "allowed)");
  r.sans[0].type = CK_SAN_EMAIL;
  r.sans[0].value = "a@web.test";
  expect_refuse(dns_only, &r, CK_PROFILE_RULE_SAN_PATTERN, "email:a@web.test",
                "san email:a@web.test is not allowed by profile 'dns-only' (no "
                "email addresses allowed)");
  ck_profile_free(dns_only);
}

static void san_binding(void **state) {
  ck_profile *p = load(WEB);
  ck_sanset *b = NULL, *empty = NULL;
  rq r;

  (void)state;
  assert_int_equal(ck_sanset_parse_lines(".a.web.test\nip:10.1.0.0/16\n"
                                         "dns:h.evil.test\n",
                                         &b, NULL),
                   CK_OK);
  rq_init(&r, NULL);
  rq_agent(&r, "web");
  r.req.who.binding = b;
  rq_san(&r, CK_SAN_DNS, "x.a.web.test");
  rq_san(&r, CK_SAN_IP, "10.1.2.3");
  allowed(p, &r);
  r.sans[0].value = "x.b.web.test";
  expect_refuse(p, &r, CK_PROFILE_RULE_SAN_BINDING, "dns:x.b.web.test",
                "san dns:x.b.web.test is not allowed by the agent's binding "
                "(allowed: .a.web.test, h.evil.test)");
  r.sans[0].value = "x.a.web.test";
  r.sans[1].value = "10.2.0.1";
  expect_refuse(p, &r, CK_PROFILE_RULE_SAN_BINDING, "ip:10.2.0.1",
                "san ip:10.2.0.1 is not allowed by the agent's binding "
                "(allowed: 10.1.0.0/16)");
  /* allowed by the profile, but the binding has no URIs */
  r.sans[1].type = CK_SAN_URI;
  r.sans[1].value = "spiffe://cluster.test/ns/web";
  expect_refuse(p, &r, CK_PROFILE_RULE_SAN_BINDING,
                "uri:spiffe://cluster.test/ns/web",
                "san uri:spiffe://cluster.test/ns/web is not allowed by the "
                "agent's binding (no URIs allowed)");
  /* the binding cannot widen the profile: intersection */
  r.ci.n_sans = 1;
  r.sans[0].value = "h.evil.test";
  expect_refuse(p, &r, CK_PROFILE_RULE_SAN_PATTERN, "dns:h.evil.test",
                "san dns:h.evil.test is not allowed by profile 'web' (allowed: "
                ".web.test, api.test, *.svc.test)");
  /* a binding without patterns leaves the profile alone */
  assert_int_equal(ck_sanset_parse_lines("", &empty, NULL), CK_OK);
  r.req.who.binding = empty;
  r.sans[0].value = "x.b.web.test";
  allowed(p, &r);
  r.req.who.binding = NULL;
  allowed(p, &r);
  /* bindings restrict agents only */
  r.req.who.kind = CK_PROFILE_REQ_TOKEN;
  r.req.who.role = "operator";
  r.req.who.binding = b;
  allowed(p, &r);
  ck_sanset_free(b);
  ck_sanset_free(empty);
  ck_profile_free(p);
}

static void names_from_binding(void **state) {
  ck_profile *p = NULL;
  ck_sanset *b = NULL;
  rq r;
  ck_profile_verdict v;

  (void)state;
  assert_int_equal(ck_profile_default_agent_identity(&p, NULL), CK_OK);
  rq_init(&r, "agent 6f1c"); /* the CN is an id, not a name */
  rq_agent(&r, "edge");
  expect_allow(p, &r, &v);
  assert_string_equal(v.subject_cn, "agent 6f1c");
  assert_int_equal(v.n_sans, 0);
  assert_int_equal(v.eku, CK_EKU_CLIENT_AUTH);
  ck_profile_verdict_clear(&v);
  rq_san(&r, CK_SAN_DNS, "h1.test");
  expect_refuse(p, &r, CK_PROFILE_RULE_SAN_BINDING, "dns:h1.test",
                "san dns:h1.test is not allowed: profile 'agent-identity' "
                "takes names only from the agent's binding, and there is "
                "none");
  assert_int_equal(ck_sanset_parse_lines("h1.test\n", &b, NULL), CK_OK);
  r.req.who.binding = b;
  expect_allow(p, &r, &v);
  assert_int_equal(v.n_sans, 1);
  assert_string_equal(v.sans[0].value, "h1.test");
  ck_profile_verdict_clear(&v);
  r.sans[0].value = "h2.test";
  expect_refuse(p, &r, CK_PROFILE_RULE_SAN_BINDING, "dns:h2.test",
                "san dns:h2.test is not allowed by the agent's binding "
                "(allowed: h1.test)");
  ck_sanset_free(b);
  ck_profile_free(p);
}

/* -------------------------------------------------------------------- CN */

static void cn_rules(void **state) {
  ck_profile *p = load(WEB), *copy, *unchecked;
  rq r;
  ck_profile_verdict v;

  (void)state;
  /* require_san */
  rq_init(&r, "WWW.Web.Test");
  rq_san(&r, CK_SAN_DNS, "www.web.test");
  expect_allow(p, &r, &v);
  assert_string_equal(v.subject_cn, "www.web.test");
  ck_profile_verdict_clear(&v);
  r.ci.subject_cn = "other.web.test";
  expect_refuse(p, &r, CK_PROFILE_RULE_CN, "other.web.test",
                "CN 'other.web.test' is not among the SANs (profile 'web' "
                "requires the CN to be one of them)");
  r.ci.subject_cn = "10.0.0.5";
  r.sans[0].type = CK_SAN_IP;
  r.sans[0].value = "10.0.0.5";
  expect_allow(p, &r, &v);
  assert_string_equal(v.subject_cn, "10.0.0.5");
  ck_profile_verdict_clear(&v);
  rq_init(&r, "h.web.test"); /* a CN alone is not enough here */
  expect_refuse(p, &r, CK_PROFILE_RULE_CN, "h.web.test",
                "CN 'h.web.test' is not among the SANs (profile 'web' requires "
                "the CN to be one of them)");

  /* copy_to_san */
  copy = load("{\"name\": \"copy\", \"workflow\": \"automatic\","
              " \"key_types\": [\"ec-p256\"], \"validity\": {\"max\": \"1d\"},"
              " \"san\": {\"dns\": [\".web.test\"], \"ip\": [\"10.0.0.0/8\"]},"
              " \"cn\": \"copy_to_san\", \"ext_key_usage\": [\"serverAuth\"],"
              " \"access\": {\"roles\": [\"operator\"]}}");
  rq_init(&r, "H.web.test");
  expect_allow(copy, &r, &v);
  assert_int_equal(v.n_sans, 1);
  assert_int_equal(v.sans[0].type, CK_SAN_DNS);
  assert_string_equal(v.sans[0].value, "h.web.test");
  assert_string_equal(v.subject_cn, "h.web.test");
  ck_profile_verdict_clear(&v);
  r.ci.subject_cn = "10.0.0.5";
  expect_allow(copy, &r, &v);
  assert_int_equal(v.sans[0].type, CK_SAN_IP);
  assert_string_equal(v.sans[0].value, "10.0.0.5");
  ck_profile_verdict_clear(&v);
  r.ci.subject_cn = "My Server";
  expect_refuse(copy, &r, CK_PROFILE_RULE_CN, "My Server",
                "CN 'My Server' is neither a DNS name nor an IP address, so "
                "profile 'copy' cannot copy it to the SANs");
  /* the copied name is checked like any SAN */
  r.ci.subject_cn = "evil.example";
  expect_refuse(copy, &r, CK_PROFILE_RULE_SAN_PATTERN, "dns:evil.example",
                "san dns:evil.example is not allowed by profile 'copy' "
                "(allowed: .web.test)");

  /* unchecked: the CN is carried as written, SANs still checked */
  unchecked =
      load("{\"name\": \"ids\", \"workflow\": \"automatic\","
           " \"key_types\": [\"ec-p256\"],"
           " \"validity\": {\"max\": \"1d\"},"
           " \"san\": {\"dns\": [\".web.test\"]},"
           " \"cn\": \"unchecked\", \"ext_key_usage\": [\"clientAuth\"],"
           " \"access\": {\"roles\": [\"operator\"]}}");
  rq_init(&r, "svc-account 42");
  expect_allow(unchecked, &r, &v);
  assert_string_equal(v.subject_cn, "svc-account 42");
  assert_int_equal(v.n_sans, 0);
  ck_profile_verdict_clear(&v);
  rq_san(&r, CK_SAN_DNS, "evil.example");
  expect_refuse(unchecked, &r, CK_PROFILE_RULE_SAN_PATTERN, "dns:evil.example",
                "san dns:evil.example is not allowed by profile 'ids' "
                "(allowed: .web.test)");
  ck_profile_free(p);
  ck_profile_free(copy);
  ck_profile_free(unchecked);
}

/* ----------------------------------------------------- outcome and output */

static void verdict_output(void **state) {
  ck_profile *p = load(WEB);
  rq r;
  ck_profile_verdict v;

  (void)state;
  rq_init(&r, "www.web.test");
  rq_san(&r, CK_SAN_DNS, "WWW.Web.Test.");
  rq_san(&r, CK_SAN_DNS, "www.web.test");
  rq_san(&r, CK_SAN_IP, "10.0.0.1");
  rq_san(&r, CK_SAN_DNS, "API.test");
  rq_san(&r, CK_SAN_EMAIL, "Ops@Example.Test");
  r.req.validity = 7 * 86400;
  expect_allow(p, &r, &v);
  assert_int_equal(v.validity, 7 * 86400);
  assert_int_equal(v.n_sans, 4);
  assert_int_equal(v.sans[0].type, CK_SAN_DNS);
  assert_string_equal(v.sans[0].value, "www.web.test");
  assert_int_equal(v.sans[1].type, CK_SAN_IP);
  assert_string_equal(v.sans[1].value, "10.0.0.1");
  assert_string_equal(v.sans[2].value, "api.test");
  assert_int_equal(v.sans[3].type, CK_SAN_EMAIL);
  assert_string_equal(v.sans[3].value, "Ops@example.test");
  assert_string_equal(v.subject_cn, "www.web.test");
  assert_int_equal(v.key_usage, CK_KU_DIGITAL_SIGNATURE);
  assert_int_equal(v.eku, CK_EKU_SERVER_AUTH | CK_EKU_CLIENT_AUTH);
  assert_string_equal(v.value, "");
  /* checking again into the same verdict releases the old one */
  assert_int_equal(ck_profile_check(p, &r.req, &v, NULL), CK_OK);
  ck_profile_verdict_clear(&v);
  ck_profile_verdict_clear(&v);
  ck_profile_verdict_clear(NULL);
  ck_profile_free(p);
}

static void approval_pending(void **state) {
  ck_profile *p = load("{\"name\": \"gated\", \"workflow\": \"approval\","
                       " \"key_types\": [\"ec-p256\"],"
                       " \"validity\": {\"max\": \"1d\"},"
                       " \"san\": {\"dns\": [\".web.test\"]},"
                       " \"ext_key_usage\": [\"serverAuth\"],"
                       " \"access\": {\"roles\": [\"operator\"]}}");
  rq r;
  ck_profile_verdict v;
  ck_errctx e = CK_ERRCTX_INIT;

  (void)state;
  rq_init(&r, "h.web.test");
  rq_san(&r, CK_SAN_DNS, "h.web.test");
  memset(&v, 0, sizeof v);
  assert_int_equal(ck_profile_check(p, &r.req, &v, &e), CK_OK);
  assert_int_equal(v.outcome, CK_PROFILE_PENDING);
  assert_string_equal(v.reason, "profile 'gated' requires approval");
  /* what would be issued once approved */
  assert_int_equal(v.n_sans, 1);
  assert_int_equal(v.validity, 86400);
  assert_string_equal(e.msg, "");
  ck_profile_verdict_clear(&v);
  /* a request that breaks a rule is refused, not queued */
  r.sans[0].value = "evil.example";
  expect_refuse(p, &r, CK_PROFILE_RULE_CN, "h.web.test",
                "CN 'h.web.test' is not among the SANs (profile 'gated' "
                "requires the CN to be one of them)");
  r.ci.subject_cn = "";
  expect_refuse(p, &r, CK_PROFILE_RULE_SAN_PATTERN, "dns:evil.example",
                "san dns:evil.example is not allowed by profile 'gated' "
                "(allowed: .web.test)");
  ck_profile_free(p);
}

static void security_log_record(void **state) {
  ck_profile *p = load(WEB);
  rq r;
  ck_profile_verdict v;
  int before = n_refuse_logs;

  (void)state;
  rq_init(&r, NULL);
  rq_agent(&r, "web");
  rq_san(&r, CK_SAN_DNS, "evil.example.com");
  memset(&v, 0, sizeof v);
  assert_int_equal(ck_profile_check(p, &r.req, &v, NULL), CK_ERR_DENIED);
  assert_int_equal(n_refuse_logs, before + 1);
  assert_non_null(strstr(last_log, "policy.refuse"));
  assert_non_null(strstr(last_log, "profile=web"));
  assert_non_null(strstr(last_log, "requester=agent"));
  assert_non_null(strstr(last_log, "requester_id=agent-1"));
  assert_non_null(strstr(last_log, "rule=san.pattern"));
  assert_non_null(strstr(last_log, "value=dns:evil.example.com"));
  ck_profile_verdict_clear(&v);
  /* allowed requests are not security events */
  r.sans[0].value = "ok.web.test";
  assert_int_equal(ck_profile_check(p, &r.req, &v, NULL), CK_OK);
  assert_int_equal(n_refuse_logs, before + 1);
  ck_profile_verdict_clear(&v);
  ck_profile_free(p);
}

static void bad_arguments(void **state) {
  ck_profile *p = load(WEB);
  rq r;
  ck_profile_verdict v;
  ck_errctx e = CK_ERRCTX_INIT;

  (void)state;
  rq_init(&r, "h.web.test");
  memset(&v, 0, sizeof v);
  assert_int_equal(ck_profile_check(NULL, &r.req, &v, &e), CK_ERR_INVAL);
  assert_int_equal(v.outcome, CK_PROFILE_REFUSE);
  assert_int_equal(ck_profile_check(p, NULL, &v, NULL), CK_ERR_INVAL);
  assert_int_equal(ck_profile_check(p, &r.req, NULL, NULL), CK_ERR_INVAL);
  r.req.csr = NULL;
  assert_int_equal(ck_profile_check(p, &r.req, &v, NULL), CK_ERR_INVAL);
  assert_string_equal(ck_profile_rule_name(CK_PROFILE_RULE_SAN_BINDING),
                      "san.binding");
  assert_string_equal(ck_profile_rule_name((ck_profile_rule)99), "none");
  ck_profile_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(access_agent_group),
      cmocka_unit_test(access_role),
      cmocka_unit_test(access_owner),
      cmocka_unit_test(binding_profiles),
      cmocka_unit_test(key_type),
      cmocka_unit_test(key_size),
      cmocka_unit_test(key_usage_fit),
      cmocka_unit_test(validity),
      cmocka_unit_test(names_present),
      cmocka_unit_test(san_type),
      cmocka_unit_test(san_syntax),
      cmocka_unit_test(san_count),
      cmocka_unit_test(wildcard),
      cmocka_unit_test(san_pattern),
      cmocka_unit_test(san_binding),
      cmocka_unit_test(names_from_binding),
      cmocka_unit_test(cn_rules),
      cmocka_unit_test(verdict_output),
      cmocka_unit_test(approval_pending),
      cmocka_unit_test(security_log_record),
      cmocka_unit_test(bad_arguments),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
