/* test_profile_json.c — profile documents: strict reading (unknown fields,
 * types, values, duplicates; each error names the field), defaults for
 * optional fields, and canonical writing that round-trips. */
#include "tests/testutil.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/policy/profile.h"

static const char BASE[] =
    "{\"name\": \"web\", \"workflow\": \"automatic\","
    " \"key_types\": [\"ec-p256\", \"rsa-3072\"],"
    " \"validity\": {\"max\": \"90d\", \"default\": \"30d\"},"
    " \"san\": {\"dns\": [\".web.test\", \"api.test\"]},"
    " \"ext_key_usage\": [\"serverAuth\"],"
    " \"access\": {\"agent_groups\": [\"web\"], \"roles\": [\"operator\"]}}";

/* BASE with the member at dotted path replaced by the JSON value (NULL
 * removes it). Returns a malloc'ed document. */
static char *mutate(const char *path, const char *value) {
  json_error_t je;
  json_t *root = json_loads(BASE, 0, &je), *obj = root;
  char buf[128], *dot, *key = buf;
  char *out;

  assert_non_null(root);
  snprintf(buf, sizeof buf, "%s", path);
  while ((dot = strchr(key, '.')) != NULL) {
    *dot = '\0';
    obj = json_object_get(obj, key);
    assert_non_null(obj);
    key = dot + 1;
  }
  if (value == NULL) {
    json_object_del(obj, key);
  } else {
    json_t *v = json_loads(value, JSON_DECODE_ANY, &je);
    if (v == NULL)
      fail_msg("bad test value %s: %s", value, je.text);
    json_object_set_new(obj, key, v);
  }
  out = json_dumps(root, 0);
  json_decref(root);
  return out;
}

/* Parses text; returns "" on success or the error message. */
static const char *parse_msg(const char *text, ck_err *code) {
  static ck_errctx e;
  ck_profile *p = NULL;
  ck_err rc;
  ck_errctx_clear(&e);
  rc = ck_profile_from_json(text, strlen(text), &p, &e);
  if (code != NULL)
    *code = rc;
  if (rc == CK_OK) {
    assert_non_null(p);
    ck_profile_free(p);
    return "";
  }
  assert_null(p);
  return e.msg;
}

/* The error for BASE with path set to value. */
static const char *mut_msg(const char *path, const char *value) {
  char *doc = mutate(path, value);
  const char *m = parse_msg(doc, NULL);
  free(doc);
  return m;
}

static ck_profile *parse_ok(const char *text) {
  ck_profile *p = NULL;
  ck_errctx e = CK_ERRCTX_INIT;
  if (ck_profile_from_json(text, strlen(text), &p, &e) != CK_OK)
    fail_msg("parse failed: %s", e.msg);
  return p;
}

static void base_and_defaults(void **state) {
  ck_profile *p = parse_ok(BASE);

  (void)state;
  assert_string_equal(p->name, "web");
  assert_int_equal(p->version, 0);
  assert_string_equal(p->description, "");
  assert_string_equal(p->ca, "");
  assert_int_equal(p->workflow, CK_PROFILE_AUTOMATIC);
  assert_int_equal(p->n_keys, 2);
  assert_int_equal(p->keys[0].type, CK_KEY_EC);
  assert_int_equal(p->keys[0].bits, 256);
  assert_int_equal(p->keys[1].type, CK_KEY_RSA);
  assert_int_equal(p->keys[1].bits, 3072);
  assert_int_equal(p->max_validity, 90 * 86400);
  assert_int_equal(p->default_validity, 30 * 86400);
  /* optional fields take their documented defaults */
  assert_true(p->renew_fraction == 0.3333);
  assert_int_equal(p->renew_before, 0);
  assert_int_equal(p->wildcards, 0);
  assert_int_equal(p->sans_from_binding, 0);
  assert_int_equal(p->max_sans, 100);
  assert_int_equal(p->cn, CK_PROFILE_CN_REQUIRE_SAN);
  assert_int_equal(p->key_usage,
                   CK_KU_DIGITAL_SIGNATURE | CK_KU_KEY_ENCIPHERMENT);
  assert_int_equal(p->eku, CK_EKU_SERVER_AUTH);
  assert_int_equal(p->n_agent_groups, 1);
  assert_string_equal(p->agent_groups[0], "web");
  assert_int_equal(p->roles, CK_PROFILE_ROLE_OPERATOR);
  assert_int_equal(p->n_owners, 0);
  assert_int_equal(ck_sanset_count(p->sans, CK_SAN_DNS), 2);
  ck_profile_free(p);
  ck_profile_free(NULL);

  /* validity.default falls back to the maximum */
  {
    char *doc = mutate("validity", "{\"max\": 3600}");
    p = parse_ok(doc);
    assert_int_equal(p->max_validity, 3600);
    assert_int_equal(p->default_validity, 3600);
    ck_profile_free(p);
    free(doc);
  }
}

static void round_trip(void **state) {
  static const char FULL[] =
      "{\"name\": \"full.profile_1\", \"version\": 7,"
      " \"description\": \"All the fields, \\u00e9t\\u00e9\","
      " \"ca\": \"Issuing-2\", \"workflow\": \"approval\","
      " \"key_types\": [\"ed25519\", \"ec-p521\", \"EC-P384\", \"rsa-4096\"],"
      " \"validity\": {\"max\": 7776000, \"default\": \"36h\"},"
      " \"renewal\": {\"fraction\": 0.25, \"before\": \"90m\"},"
      " \"san\": {\"dns\": [\".Web.test.\", \"*.svc.test\", \"localhost\"],"
      "   \"ip\": [\"10.0.0.0/8\", \"2001:DB8::/32\", \"192.0.2.1\"],"
      "   \"uri\": [\"spiffe://cluster.test/ns/web\", \"urn:\"],"
      "   \"email\": [\"example.test\", \".corp.test\", \"ops@x.test\"],"
      "   \"wildcards\": true, \"from_binding\": false, \"max\": 7},"
      " \"cn\": \"copy_to_san\","
      " \"key_usage\": [\"keyAgreement\", \"digitalSignature\"],"
      " \"ext_key_usage\": [\"clientAuth\", \"serverAuth\", \"OCSPSigning\"],"
      " \"access\": {\"agent_groups\": [\"web\", \"db-1\"],"
      "   \"roles\": [\"auditor\", \"admin\", \"approver\", \"operator\"],"
      "   \"owners\": [\"team-web\", \"alice@example.test\"]}}";
  const char *docs[] = {BASE, FULL, ck_profile_default_json("tls-server"),
                        ck_profile_default_json("agent-identity")};
  size_t i;

  (void)state;
  for (i = 0; i < sizeof docs / sizeof docs[0]; i++) {
    ck_profile *a = parse_ok(docs[i]), *b;
    char *t1 = NULL, *t2 = NULL, *pretty = NULL;
    ck_errctx e = CK_ERRCTX_INIT;

    assert_int_equal(ck_profile_to_json(a, 0, &t1, &e), CK_OK);
    b = parse_ok(t1);
    assert_true(ck_profile_equal(a, b));
    assert_int_equal(ck_profile_to_json(b, 0, &t2, &e), CK_OK);
    assert_string_equal(t1, t2); /* canonical: stable text */
    assert_int_equal(ck_profile_to_json(a, CK_PROFILE_JSON_PRETTY, &pretty, &e),
                     CK_OK);
    assert_non_null(strstr(pretty, "\n  \"name\""));
    ck_profile_free(b);
    b = parse_ok(pretty);
    assert_true(ck_profile_equal(a, b));
    ck_profile_free(a);
    ck_profile_free(b);
    free(t1);
    free(t2);
    free(pretty);
  }

  /* the canonical text of FULL, field by field */
  {
    ck_profile *p = parse_ok(FULL), *q;
    char *t = NULL;
    assert_int_equal(ck_profile_to_json(p, 0, &t, NULL), CK_OK);
    assert_string_equal(
        t, "{\"name\":\"full.profile_1\",\"version\":7,"
           "\"description\":\"All the fields, \xc3\xa9t\xc3\xa9\","
           "\"ca\":\"Issuing-2\",\"workflow\":\"approval\","
           "\"key_types\":[\"ed25519\",\"ec-p521\",\"ec-p384\",\"rsa-4096\"],"
           "\"validity\":{\"max\":\"90d\",\"default\":\"36h\"},"
           "\"renewal\":{\"fraction\":0.25,\"before\":\"90m\"},"
           "\"san\":{\"dns\":[\".web.test\",\"*.svc.test\",\"localhost\"],"
           "\"ip\":[\"10.0.0.0/8\",\"2001:db8::/32\",\"192.0.2.1/32\"],"
           "\"uri\":[\"spiffe://cluster.test/ns/web\",\"urn:\"],"
           "\"email\":[\"example.test\",\".corp.test\",\"ops@x.test\"],"
           "\"wildcards\":true,\"from_binding\":false,\"max\":7},"
           "\"cn\":\"copy_to_san\","
           "\"key_usage\":[\"digitalSignature\",\"keyAgreement\"],"
           "\"ext_key_usage\":[\"serverAuth\",\"clientAuth\",\"OCSPSigning\"],"
           "\"access\":{\"agent_groups\":[\"web\",\"db-1\"],"
           "\"roles\":[\"admin\",\"operator\",\"approver\",\"auditor\"],"
           "\"owners\":[\"team-web\",\"alice@example.test\"]}}");
    /* a different version is a different profile */
    q = parse_ok(FULL);
    q->version = 8;
    assert_false(ck_profile_equal(p, q));
    assert_true(ck_profile_equal(NULL, NULL));
    assert_false(ck_profile_equal(p, NULL));
    ck_profile_free(q);
    ck_profile_free(p);
    free(t);
  }
}

static void not_a_profile(void **state) {
  ck_err code;
  char big[CK_PROFILE_JSON_MAX + 2];
  ck_profile *p = NULL;

  (void)state;
  assert_string_equal(parse_msg("[1,2]", &code),
                      "profile: expected a JSON object, got an array");
  assert_int_equal(code, CK_ERR_PARSE);
  assert_string_equal(parse_msg("{\"name\": \"web\",", &code),
                      "profile: not valid JSON: line 1 column 15: string or "
                      "'}' expected near end of file");
  assert_int_equal(code, CK_ERR_PARSE);
  assert_string_equal(parse_msg("", &code),
                      "profile: not valid JSON: line 1 column 0: '[' or '{' "
                      "expected near end of file");
  assert_non_null(strstr(parse_msg("{\"name\": \"a\", \"name\": \"b\"}", &code),
                         "duplicate object key"));
  assert_string_equal(parse_msg("{}", &code), "profile: missing field 'name'");
  assert_string_equal(parse_msg("{\"name\": 5}", &code),
                      "profile: name: expected a string, got an integer");
  assert_string_equal(parse_msg("{\"name\": \"Web Server\"}", &code),
                      "profile: name: 'Web Server' is not a valid profile "
                      "name (1..64 of a-z 0-9 . _ -, starting with a letter "
                      "or digit)");
  assert_string_equal(parse_msg("{\"name\": \"-web\"}", &code),
                      "profile: name: '-web' is not a valid profile name "
                      "(1..64 of a-z 0-9 . _ -, starting with a letter or "
                      "digit)");
  /* jansson refuses NUL in strings and keys before we see them */
  assert_non_null(strstr(parse_msg("{\"name\": \"w\\u0000b\"}", &code),
                         "profile: not valid JSON: line 1 column 19: \\u0000 "
                         "is not allowed"));
  assert_non_null(strstr(parse_msg("{\"na\\u0000me\": \"w\"}", &code),
                         "NUL byte in object key not supported"));
  memset(big, ' ', sizeof big);
  big[sizeof big - 1] = '\0';
  assert_int_equal(ck_profile_from_json(big, strlen(big), &p, NULL),
                   CK_ERR_LIMIT);
  assert_int_equal(ck_profile_from_json(NULL, 0, &p, NULL), CK_ERR_INVAL);
  assert_null(p);
}

static void unknown_fields(void **state) {
  (void)state;
  assert_string_equal(mut_msg("colour", "\"blue\""),
                      "profile 'web': unknown field 'colour'");
  assert_string_equal(mut_msg("san.dsn", "[\".test\"]"),
                      "profile 'web': san: unknown field 'dsn'");
  assert_string_equal(mut_msg("validity.min", "\"1d\""),
                      "profile 'web': validity: unknown field 'min'");
  assert_string_equal(mut_msg("renewal", "{\"days\": 10}"),
                      "profile 'web': renewal: unknown field 'days'");
  assert_string_equal(mut_msg("access.groups", "[\"*\"]"),
                      "profile 'web': access: unknown field 'groups'");
}

static void required_fields(void **state) {
  (void)state;
  assert_string_equal(mut_msg("workflow", NULL),
                      "profile 'web': missing field 'workflow'");
  assert_string_equal(mut_msg("key_types", NULL),
                      "profile 'web': missing field 'key_types'");
  assert_string_equal(mut_msg("validity", NULL),
                      "profile 'web': missing field 'validity'");
  assert_string_equal(mut_msg("validity.max", NULL),
                      "profile 'web': validity: missing field 'max'");
  assert_string_equal(mut_msg("san", NULL),
                      "profile 'web': missing field 'san'");
  assert_string_equal(mut_msg("ext_key_usage", NULL),
                      "profile 'web': missing field 'ext_key_usage'");
  assert_string_equal(mut_msg("access", NULL),
                      "profile 'web': missing field 'access'");
}

static void wrong_types(void **state) {
  (void)state;
  assert_string_equal(mut_msg("version", "\"3\""),
                      "profile 'web': version: expected an integer, got a "
                      "string");
  assert_string_equal(mut_msg("version", "-1"),
                      "profile 'web': version: must not be negative");
  assert_string_equal(mut_msg("description", "null"),
                      "profile 'web': description: expected a string, got "
                      "null");
  assert_string_equal(mut_msg("workflow", "true"),
                      "profile 'web': workflow: expected a string, got a "
                      "boolean");
  assert_string_equal(mut_msg("key_types", "\"ec-p256\""),
                      "profile 'web': key_types: expected an array, got a "
                      "string");
  assert_string_equal(mut_msg("key_types", "[256]"),
                      "profile 'web': key_types[0]: expected a string, got "
                      "an integer");
  assert_string_equal(mut_msg("validity", "[]"),
                      "profile 'web': validity: expected an object, got an "
                      "array");
  assert_string_equal(mut_msg("validity.max", "1.5"),
                      "profile 'web': validity.max: expected a duration "
                      "(\"90d\") or seconds, got a number");
  assert_string_equal(mut_msg("san.wildcards", "\"no\""),
                      "profile 'web': san.wildcards: expected true or false, "
                      "got a string");
  assert_string_equal(mut_msg("san.max", "2.0"),
                      "profile 'web': san.max: expected an integer, got a "
                      "number");
  assert_string_equal(mut_msg("san.dns", "[\".test\", 7]"),
                      "profile 'web': san.dns[1]: expected a string, got an "
                      "integer");
  assert_string_equal(mut_msg("renewal", "{\"fraction\": \"1/3\"}"),
                      "profile 'web': renewal.fraction: expected a number, "
                      "got a string");
  assert_string_equal(mut_msg("access.roles", "{}"),
                      "profile 'web': access.roles: expected an array, got "
                      "an object");
  assert_string_equal(mut_msg("description", "\"a\\nb\""),
                      "profile 'web': description: contains a control "
                      "character");
}

static void bad_values(void **state) {
  (void)state;
  /* workflow, ca, description */
  assert_string_equal(mut_msg("workflow", "\"auto\""),
                      "profile 'web': workflow: 'auto' is not one of "
                      "automatic, approval");
  assert_string_equal(mut_msg("ca", "\"../root\""),
                      "profile 'web': ca: '../root' is not a valid CA name "
                      "(1..64 of A-Z a-z 0-9 . _ -, starting with a letter or "
                      "digit; \"\" for the default CA)");
  {
    char d[1100];
    char *doc;
    memset(d, 'x', sizeof d);
    d[0] = '"';
    d[1026] = '"';
    d[1027] = '\0';
    doc = mutate("description", d);
    assert_string_equal(parse_msg(doc, NULL),
                        "profile 'web': description: longer than 1024 bytes");
    free(doc);
  }
  /* key types */
  assert_string_equal(mut_msg("key_types", "[]"),
                      "profile 'web': key_types: at least one key type is "
                      "required");
  assert_string_equal(mut_msg("key_types", "[\"ec-p256\", \"dsa\"]"),
                      "profile 'web': key_types[1]: 'dsa' is not a key type "
                      "(ec-p256, ec-p384, ec-p521, rsa-<bits>, ed25519)");
  assert_string_equal(mut_msg("key_types", "[\"rsa-1024\"]"),
                      "profile 'web': key_types[0]: 'rsa-1024' is below the "
                      "smallest RSA minimum a profile may set, rsa-2048");
  assert_string_equal(mut_msg("key_types", "[\"rsa-99999\"]"),
                      "profile 'web': key_types[0]: 'rsa-99999' is above "
                      "rsa-16384, the largest RSA minimum");
  assert_string_equal(mut_msg("key_types", "[\"rsa-02048\"]"),
                      "profile 'web': key_types[0]: 'rsa-02048' is not a key "
                      "type (rsa-<bits>, e.g. rsa-2048)");
  assert_string_equal(mut_msg("key_types", "[\"rsa\"]"),
                      "profile 'web': key_types[0]: 'rsa' is not a key type "
                      "(ec-p256, ec-p384, ec-p521, rsa-<bits>, ed25519)");
  assert_string_equal(mut_msg("key_types", "[\"ec-p256\", \"EC-P256\"]"),
                      "profile 'web': key_types[1]: 'ec-p256' is listed "
                      "twice");
  assert_string_equal(mut_msg("key_types", "[\"rsa-2048\", \"rsa-3072\"]"),
                      "profile 'web': key_types[1]: 'rsa-3072': RSA already "
                      "has the minimum 'rsa-2048' (one RSA entry)");
  /* validity */
  assert_string_equal(mut_msg("validity.max", "\"soon\""),
                      "profile 'web': validity.max: 'soon' is not a duration "
                      "(e.g. 90d, 12h, 15m, 3600s)");
  assert_string_equal(mut_msg("validity.max", "0"),
                      "profile 'web': validity.max: must be positive");
  assert_string_equal(mut_msg("validity.max", "-86400"),
                      "profile 'web': validity.max: must be positive");
  assert_string_equal(mut_msg("validity.max", "\"36501d\""),
                      "profile 'web': validity.max: 36501d is longer than "
                      "36500d");
  assert_string_equal(mut_msg("validity.default", "\"91d\""),
                      "profile 'web': validity.default: 91d exceeds "
                      "validity.max 90d");
  /* renewal */
  assert_string_equal(mut_msg("renewal", "{\"fraction\": 1.5}"),
                      "profile 'web': renewal.fraction: 1.5 is not between 0 "
                      "and 1 (exclusive)");
  assert_string_equal(mut_msg("renewal", "{\"fraction\": 1}"),
                      "profile 'web': renewal.fraction: 1 is not between 0 "
                      "and 1 (exclusive)");
  assert_string_equal(mut_msg("renewal", "{\"fraction\": -0.1}"),
                      "profile 'web': renewal.fraction: -0.1 is not between 0 "
                      "and 1 (exclusive)");
  assert_string_equal(mut_msg("renewal", "{}"),
                      "profile 'web': renewal: set fraction, before or both "
                      "(e.g. {\"fraction\": 0.3333})");
  assert_string_equal(mut_msg("renewal", "{\"fraction\": 0, \"before\": 0}"),
                      "profile 'web': renewal: set fraction, before or both "
                      "(e.g. {\"fraction\": 0.3333})");
  assert_string_equal(mut_msg("renewal", "{\"before\": \"30d\"}"),
                      "profile 'web': renewal.before: 30d is not shorter than "
                      "validity.default 30d");
  assert_string_equal(mut_msg("renewal", "{\"before\": \"10d\"}"), "");
  /* SAN patterns: the message says which entry and why */
  assert_string_equal(
      mut_msg("san.dns", "[\".test\", \"localhost\", \"*.*.test\"]"),
      "profile 'web': san.dns[2]: '*.*.test' is not a valid DNS pattern ('*' "
      "may only appear as the leading '*.')");
  assert_string_equal(mut_msg("san.dns", "[\".test\", \".TEST\"]"),
                      "profile 'web': san.dns[1]: '.test' is listed twice");
  assert_string_equal(mut_msg("san.ip", "[\"10.0.0.1/8\"]"),
                      "profile 'web': san.ip[0]: '10.0.0.1/8' is not a valid "
                      "IP pattern (host bits are set; the network is "
                      "10.0.0.0/8)");
  assert_string_equal(mut_msg("san.ip", "[\"10.0.0.0/40\"]"),
                      "profile 'web': san.ip[0]: '10.0.0.0/40' is not a valid "
                      "IP pattern (prefix length 40 is out of range 0..32)");
  assert_string_equal(mut_msg("san.uri", "[\"example.test\"]"),
                      "profile 'web': san.uri[0]: 'example.test' is not a "
                      "valid URI pattern (no scheme (use scheme:, "
                      "scheme://host or scheme://host/path))");
  assert_string_equal(mut_msg("san.email", "[\"*.example.test\"]"),
                      "profile 'web': san.email[0]: '*.example.test' is not "
                      "a valid email pattern ('*.' is not valid here (use "
                      "'.domain'))");
  assert_string_equal(mut_msg("san.max", "0"),
                      "profile 'web': san.max: 0 is not in 1..1000");
  assert_string_equal(mut_msg("san.max", "1001"),
                      "profile 'web': san.max: 1001 is not in 1..1000");
  assert_string_equal(mut_msg("san.from_binding", "true"),
                      "profile 'web': san.from_binding: names come from the "
                      "agent's binding, so san.dns, san.ip, san.uri and "
                      "san.email must be empty");
  {
    /* lists are bounded */
    json_t *a = json_array();
    char *list, *doc;
    int i;
    for (i = 0; i < 1001; i++) {
      char n[32];
      snprintf(n, sizeof n, "h%d.test", i);
      json_array_append_new(a, json_string(n));
    }
    list = json_dumps(a, 0);
    doc = mutate("san.dns", list);
    assert_string_equal(parse_msg(doc, NULL),
                        "profile 'web': san.dns: has 1001 entries; at most "
                        "1000");
    free(doc);
    free(list);
    json_decref(a);
  }
  /* CN rule, key usage, EKU */
  assert_string_equal(mut_msg("cn", "\"copy\""),
                      "profile 'web': cn: 'copy' is not one of require_san, "
                      "copy_to_san, unchecked");
  assert_string_equal(mut_msg("key_usage", "[\"keyCertSign\"]"),
                      "profile 'web': key_usage[0]: 'keyCertSign' is for CA "
                      "certificates, not in an end-entity profile");
  assert_string_equal(mut_msg("key_usage", "[\"cRLSign\"]"),
                      "profile 'web': key_usage[0]: 'cRLSign' is for CA "
                      "certificates, not in an end-entity profile");
  assert_string_equal(mut_msg("key_usage", "[\"signing\"]"),
                      "profile 'web': key_usage[0]: 'signing' is not one of "
                      "digitalSignature, nonRepudiation, keyEncipherment, "
                      "dataEncipherment, keyAgreement");
  assert_string_equal(mut_msg("key_usage", "[]"),
                      "profile 'web': key_usage: at least one entry is "
                      "required");
  assert_string_equal(mut_msg("ext_key_usage", "[\"serverAuth\", "
                                               "\"serverAuth\"]"),
                      "profile 'web': ext_key_usage[1]: 'serverAuth' is "
                      "listed twice");
  assert_string_equal(mut_msg("ext_key_usage", "[\"anyExtendedKeyUsage\"]"),
                      "profile 'web': ext_key_usage[0]: 'anyExtendedKeyUsage' "
                      "is not one of serverAuth, clientAuth, codeSigning, "
                      "emailProtection, timeStamping, OCSPSigning");
  assert_string_equal(mut_msg("ext_key_usage", "[]"),
                      "profile 'web': ext_key_usage: at least one entry is "
                      "required");
  /* access */
  assert_string_equal(mut_msg("access.roles", "[\"owner\"]"),
                      "profile 'web': access.roles[0]: 'owner' is not listed "
                      "here: owner tokens are allowed by access.owners ('*' "
                      "for any owner)");
  assert_string_equal(mut_msg("access.roles", "[\"root\"]"),
                      "profile 'web': access.roles[0]: 'root' is not one of "
                      "admin, operator, approver, auditor");
  assert_string_equal(mut_msg("access.agent_groups", "[\"web\", \"*\"]"),
                      "profile 'web': access.agent_groups[1]: '*' already "
                      "means any, list it alone");
  assert_string_equal(mut_msg("access.agent_groups", "[\"web\", \"web\"]"),
                      "profile 'web': access.agent_groups[1]: 'web' is listed "
                      "twice");
  assert_string_equal(mut_msg("access.owners", "[\"team web\"]"),
                      "profile 'web': access.owners[0]: 'team web' is not a "
                      "valid name (1..128 of A-Z a-z 0-9 . _ @ + -, or '*' "
                      "for any)");
  assert_string_equal(mut_msg("access.owners", "[\"\"]"),
                      "profile 'web': access.owners[0]: '' is not a valid "
                      "name (1..128 of A-Z a-z 0-9 . _ @ + -, or '*' for "
                      "any)");
}

static void approval_and_values(void **state) {
  char *doc = mutate("workflow", "\"approval\"");
  ck_profile *p = parse_ok(doc);
  (void)state;
  assert_int_equal(p->workflow, CK_PROFILE_APPROVAL);
  ck_profile_free(p);
  free(doc);
  doc = mutate("renewal", "{\"fraction\": 0.33333333333333331}");
  p = parse_ok(doc);
  /* kept to 15 significant digits, so it survives a round trip */
  assert_true(p->renew_fraction == 0.333333333333333);
  ck_profile_free(p);
  free(doc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(base_and_defaults),
      cmocka_unit_test(round_trip),
      cmocka_unit_test(not_a_profile),
      cmocka_unit_test(unknown_fields),
      cmocka_unit_test(required_fields),
      cmocka_unit_test(wrong_types),
      cmocka_unit_test(bad_values),
      cmocka_unit_test(approval_and_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
