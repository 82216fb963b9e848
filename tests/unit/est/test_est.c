/* test_est.c — the EST server's pure parts (coordinator/est/): fleet name
 * patterns, names and labels, the salted secret hash, HTTP Basic and path
 * decoding, the body/CSR decoding with its status codes, and the fleet and
 * one-time password documents in a real store — including the
 * exactly-once consumption of a password. */
#include "tests/unit/store/fixture.h"

#include <stdlib.h>
#include <string.h>

#include "common/crypto/pkcs7.h"
#include "coordinator/core/secret.h"
#include "coordinator/est/est.h"

static void test_patterns(void **state) {
  (void)state;
  assert_true(ck_estd_pattern_match("*.sensors.test", "a1.sensors.test", NULL));
  assert_true(ck_estd_pattern_match("*.sensors.test", "A1.Sensors.TEST", NULL));
  assert_false(ck_estd_pattern_match("*.sensors.test", "sensors.test", NULL));
  assert_false(
      ck_estd_pattern_match("*.sensors.test", "a.b.sensors.test", NULL));
  assert_false(
      ck_estd_pattern_match("*.sensors.test", "a1.sensors.test.evil", NULL));
  assert_true(ck_estd_pattern_match("dev-*.lab.test", "dev-42.lab.test", NULL));
  assert_false(ck_estd_pattern_match("dev-*.lab.test", "dev-.lab.test", NULL));
  assert_true(
      ck_estd_pattern_match("{serial}.dev.test", "sn123.dev.test", NULL));
  assert_true(
      ck_estd_pattern_match("{serial}.dev.test", "sn123.dev.test", "SN123"));
  assert_false(
      ck_estd_pattern_match("{serial}.dev.test", "sn124.dev.test", "sn123"));
  assert_false(
      ck_estd_pattern_match("*.sensors.test", "a b.sensors.test", NULL));
  assert_false(ck_estd_pattern_match("*.sensors.test", "", NULL));
  assert_true(ck_estd_patterns_match("", "anything.example", NULL));
  assert_true(
      ck_estd_patterns_match("x.test\n*.sensors.test", "b.sensors.test", NULL));
  assert_false(
      ck_estd_patterns_match("x.test\n*.sensors.test", "y.test", NULL));
  assert_true(ck_estd_pattern_valid("{serial}.dev.test"));
  assert_false(ck_estd_pattern_valid("{serialx}.dev.test"));
  assert_false(ck_estd_pattern_valid("a..b"));
  assert_false(ck_estd_pattern_valid("*a*b*c*d*e.test")); /* too many stars */
  assert_false(ck_estd_pattern_valid("a/b"));
}

static void test_names(void **state) {
  (void)state;
  assert_true(ck_estd_name_ok("sensors"));
  assert_true(ck_estd_name_ok("fleet-1.a_b"));
  assert_false(ck_estd_name_ok(""));
  assert_false(ck_estd_name_ok("-x"));
  assert_false(ck_estd_name_ok("Upper"));
  assert_false(ck_estd_name_ok("cacerts"));
  assert_false(ck_estd_name_ok("a/b"));
}

static void test_secret(void **state) {
  ck_estd_fleet a, b;
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  assert_int_equal(ck_estd_fleet_set_secret(&a, "short", &err), CK_ERR_INVAL);
  assert_int_equal(ck_estd_fleet_set_secret(&a, "correct horse", NULL), CK_OK);
  assert_int_equal(ck_estd_fleet_set_secret(&b, "correct horse", NULL), CK_OK);
  assert_string_not_equal(a.salt_hex, b.salt_hex);
  assert_string_not_equal(a.secret_hash, b.secret_hash); /* salted */
  assert_true(ck_estd_fleet_check_secret(&a, "correct horse"));
  assert_false(ck_estd_fleet_check_secret(&a, "correct horsE"));
  assert_false(ck_estd_fleet_check_secret(&a, ""));
}

static void test_basic_and_path(void **state) {
  char user[64], pass[64], label[CK_ESTD_NAME_MAX];
  ck_estd_op op;

  (void)state;
  /* "sensors:s3cr:et" */
  assert_int_equal(ck_estd_parse_basic("Basic c2Vuc29yczpzM2NyOmV0", user,
                                       sizeof user, pass, sizeof pass),
                   CK_OK);
  assert_string_equal(user, "sensors");
  assert_string_equal(pass, "s3cr:et");
  assert_int_equal(
      ck_estd_parse_basic(NULL, user, sizeof user, pass, sizeof pass),
      CK_ERR_NOENT);
  assert_int_equal(
      ck_estd_parse_basic("Bearer x", user, sizeof user, pass, sizeof pass),
      CK_ERR_NOENT);
  /* no colon; bad base64; a control character ("a:\x01") */
  assert_int_equal(ck_estd_parse_basic("Basic c2Vuc29ycw==", user, sizeof user,
                                       pass, sizeof pass),
                   CK_ERR_PARSE);
  assert_int_equal(
      ck_estd_parse_basic("Basic !!!", user, sizeof user, pass, sizeof pass),
      CK_ERR_PARSE);
  assert_int_equal(
      ck_estd_parse_basic("Basic YToB", user, sizeof user, pass, sizeof pass),
      CK_ERR_PARSE);
  assert_string_equal(pass, "");

  assert_int_equal(ck_estd_parse_path("cacerts", label, &op, NULL), CK_OK);
  assert_int_equal(op, CK_ESTD_OP_CACERTS);
  assert_string_equal(label, "");
  assert_int_equal(ck_estd_parse_path("cams/simplereenroll", label, &op, NULL),
                   CK_OK);
  assert_int_equal(op, CK_ESTD_OP_SIMPLEREENROLL);
  assert_string_equal(label, "cams");
  assert_int_equal(ck_estd_parse_path("cams/x/simpleenroll", label, &op, NULL),
                   CK_ERR_NOT_FOUND);
  assert_int_equal(ck_estd_parse_path("/simpleenroll", label, &op, NULL),
                   CK_ERR_NOT_FOUND);
  assert_int_equal(ck_estd_parse_path("bogus", label, &op, NULL),
                   CK_ERR_NOT_FOUND);
  assert_int_equal(ck_estd_parse_path("", label, &op, NULL), CK_ERR_NOT_FOUND);
}

/* A base64 CSR for CN; caller frees. */
static char *b64_csr(const char *cn, int line_breaks, int break_sig) {
  ck_key_spec spec = {CK_KEY_EC, 256};
  ck_name_attr attr = {"CN", cn};
  ck_csr_req req = {&attr, 1, NULL, 0};
  ck_key *key = NULL;
  ck_csr *csr = NULL;
  const uint8_t *der;
  uint8_t *copy;
  size_t len, tl;
  char *text = NULL;

  assert_int_equal(ck_key_generate(&spec, &key, NULL), CK_OK);
  assert_int_equal(ck_csr_create(key, &req, &csr, NULL), CK_OK);
  der = ck_csr_der(csr, &len);
  copy = malloc(len);
  memcpy(copy, der, len);
  if (break_sig)
    copy[len - 1] ^= 1;
  assert_int_equal(ck_b64_encode(copy, len, line_breaks, &text, &tl, NULL),
                   CK_OK);
  free(copy);
  ck_csr_free(csr);
  ck_key_free(key);
  return text;
}

static void test_decode_csr(void **state) {
  char *a = b64_csr("a.test", 1, 0), *b = b64_csr("b.test", 0, 0),
       *bad = b64_csr("c.test", 1, 1);
  ck_csr *csr = NULL;
  int status = 0;

  (void)state;
  assert_int_equal(ck_estd_decode_csr("application/pkcs10", "base64",
                                      (const uint8_t *)a, strlen(a), &csr,
                                      &status, NULL),
                   CK_OK);
  assert_int_equal(status, 200);
  assert_string_equal(ck_csr_get_info(csr)->subject_cn, "a.test");
  ck_csr_free(csr);
  assert_int_equal(ck_estd_decode_csr("Application/PKCS10 ; x=y", NULL,
                                      (const uint8_t *)b, strlen(b), &csr,
                                      &status, NULL),
                   CK_OK);
  ck_csr_free(csr);
  csr = NULL;
  assert_int_not_equal(ck_estd_decode_csr("application/json", NULL,
                                          (const uint8_t *)a, strlen(a), &csr,
                                          &status, NULL),
                       CK_OK);
  assert_int_equal(status, 415);
  assert_null(csr);
  assert_int_not_equal(ck_estd_decode_csr(NULL, NULL, (const uint8_t *)a,
                                          strlen(a), &csr, &status, NULL),
                       CK_OK);
  assert_int_equal(status, 415);
  assert_int_not_equal(ck_estd_decode_csr("application/pkcs10", NULL,
                                          (const uint8_t *)"@@", 2, &csr,
                                          &status, NULL),
                       CK_OK);
  assert_int_equal(status, 400);
  assert_int_not_equal(ck_estd_decode_csr("application/pkcs10", NULL,
                                          (const uint8_t *)bad, strlen(bad),
                                          &csr, &status, NULL),
                       CK_OK);
  assert_int_equal(status, 400);
  assert_int_not_equal(ck_estd_decode_csr("application/pkcs10", NULL,
                                          (const uint8_t *)"", 0, &csr, &status,
                                          NULL),
                       CK_OK);
  assert_int_equal(status, 400);
  free(a);
  free(b);
  free(bad);
}

static void commit(fx *f, ck_store_write *w, ck_err want) {
  assert_int_equal(ck_store_submit_wait(f->s, w, NULL), want);
}

static void test_fleet_docs(void **state) {
  fx f;
  ck_estd_fleet fl, got;
  ck_store_write *w;
  char *json;

  (void)state;
  fx_setup(&f);
  memset(&fl, 0, sizeof fl);
  ck_strlcpy(fl.name, "sensors", sizeof fl.name);
  ck_strlcpy(fl.label, "cams", sizeof fl.label);
  ck_strlcpy(fl.profile, "tls-server", sizeof fl.profile);
  ck_strlcpy(fl.patterns, "*.sensors.test\n{serial}.dev.test",
             sizeof fl.patterns);
  ck_strlcpy(fl.owners, "ops\nsecurity", sizeof fl.owners);
  fl.rate_per_min = 30;
  assert_int_equal(ck_estd_fleet_validate(&fl, NULL), CK_OK);
  assert_int_equal(ck_estd_fleet_set_secret(&fl, "a fleet secret", NULL),
                   CK_OK);
  w = ck_store_write_new();
  assert_int_equal(ck_estd_fleet_put(w, &fl, 0, NULL), CK_OK);
  commit(&f, w, CK_OK);
  ck_store_write_free(w);
  /* a second create of the same name conflicts */
  w = ck_store_write_new();
  assert_int_equal(ck_estd_fleet_put(w, &fl, 0, NULL), CK_OK);
  commit(&f, w, CK_ERR_CONFLICT);
  ck_store_write_free(w);

  assert_int_equal(ck_estd_fleet_get(f.s, "sensors", &got, NULL), CK_OK);
  assert_string_equal(got.patterns, fl.patterns);
  assert_string_equal(got.owners, fl.owners);
  assert_int_equal(got.rate_per_min, 30);
  assert_true(ck_estd_fleet_check_secret(&got, "a fleet secret"));
  json = ck_estd_fleet_to_json(&got, 1);
  assert_null(strstr(json, got.secret_hash));
  assert_null(strstr(json, got.salt_hex));
  free(json);
  ck_estd_fleet_clear(&got);
  assert_int_equal(ck_estd_fleet_by_label(f.s, "cams", &got, NULL), CK_OK);
  assert_string_equal(got.name, "sensors");
  ck_estd_fleet_clear(&got);
  assert_int_equal(ck_estd_fleet_by_label(f.s, "sensors", &got, NULL),
                   CK_OK); /* by name */
  ck_estd_fleet_clear(&got);
  assert_int_equal(ck_estd_fleet_by_label(f.s, "nope", &got, NULL),
                   CK_ERR_NOT_FOUND);
  assert_int_equal(ck_estd_fleet_get(f.s, "nope", &got, NULL),
                   CK_ERR_NOT_FOUND);
  /* invalid fleets */
  ck_strlcpy(fl.patterns, "a..b", sizeof fl.patterns);
  assert_int_equal(ck_estd_fleet_validate(&fl, NULL), CK_ERR_INVAL);
  ck_strlcpy(fl.patterns, "", sizeof fl.patterns);
  fl.idevid_pem = strdup("not a certificate");
  assert_int_equal(ck_estd_fleet_validate(&fl, NULL), CK_ERR_INVAL);
  ck_estd_fleet_clear(&fl);
  fx_teardown(&f);
}

static void test_otp_once(void **state) {
  fx f;
  ck_estd_otp o, got, used;
  ck_store_write *w1, *w2;
  const char *pw = "ckd_0123456789abcdef";

  (void)state;
  fx_setup(&f);
  memset(&o, 0, sizeof o);
  assert_int_equal(ck_secret_hash(pw, o.hash), CK_OK);
  ck_strlcpy(o.fleet, "sensors", sizeof o.fleet);
  ck_strlcpy(o.device, "d1", sizeof o.device);
  o.created_at = FX_NOW;
  o.expires_at = FX_NOW + FX_DAY;
  w1 = ck_store_write_new();
  assert_int_equal(ck_estd_otp_put(w1, &o, 0, NULL), CK_OK);
  commit(&f, w1, CK_OK);
  ck_store_write_free(w1);
  assert_int_equal(ck_estd_otp_get(f.s, pw, &got, NULL), CK_OK);
  assert_string_equal(got.device, "d1");
  assert_int_equal(got.used_at, 0);
  assert_int_equal(ck_estd_otp_get(f.s, "ckd_other", &used, NULL),
                   CK_ERR_NOT_FOUND);
  /* two consumers read the same version; only the first commit wins */
  used = got;
  used.used_at = FX_NOW + 1;
  w1 = ck_store_write_new();
  w2 = ck_store_write_new();
  assert_int_equal(ck_estd_otp_put(w1, &used, got.version, NULL), CK_OK);
  assert_int_equal(ck_estd_otp_put(w2, &used, got.version, NULL), CK_OK);
  commit(&f, w1, CK_OK);
  commit(&f, w2, CK_ERR_CONFLICT);
  ck_store_write_free(w1);
  ck_store_write_free(w2);
  assert_int_equal(ck_estd_otp_get(f.s, pw, &got, NULL), CK_OK);
  assert_int_equal(got.used_at, FX_NOW + 1);
  fx_teardown(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_patterns),   cmocka_unit_test(test_names),
      cmocka_unit_test(test_secret),     cmocka_unit_test(test_basic_and_path),
      cmocka_unit_test(test_decode_csr), cmocka_unit_test(test_fleet_docs),
      cmocka_unit_test(test_otp_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
