/* test_upstream_acme.c — the upstream ACME connector's pieces that need no
 * network: the account key as a JWK, JWS and EAB signatures (verified back
 * with libjose), and the parsers for what a CA answers (directory, order,
 * authorization, problem, Retry-After). The full conversation is tested
 * against pebble in tests/integration/test_acme_upstream_pebble.sh. */
#include "tests/testutil.h"

#include <jose/b64.h>
#include <jose/jws.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/crypto/crypto.h"
#include "common/util/fs.h"
#include "coordinator/ca/upstream_acme_int.h"

static char *pem_of(const char *spec_text) {
  ck_key_spec spec;
  ck_key *k = NULL;
  char *pem = NULL;
  size_t len = 0;
  assert_int_equal(ck_key_spec_parse(spec_text, &spec, NULL), CK_OK);
  assert_int_equal(ck_key_generate(&spec, &k, NULL), CK_OK);
  assert_int_equal(ck_key_export_pem(k, CK_KEY_PEM_PKCS8, &pem, &len, NULL), CK_OK);
  ck_key_free(k);
  return pem;
}

/* The protected header of a flattened JWS, decoded. */
static json_t *protected_of(json_t *jws) {
  json_t *p = jose_b64_dec_load(json_object_get(jws, "protected"));
  assert_non_null(p);
  return p;
}

static void jws_signs_and_verifies(void **state) {
  ck__acme_key k;
  ck_errctx e = CK_ERRCTX_INIT;
  char *pem = pem_of("ec-p256"), *text = NULL;
  json_t *jws, *hdr, *payload;
  (void)state;

  assert_int_equal(ck__acme_key_from_pem((const uint8_t *)pem, strlen(pem), &k, &e), CK_OK);
  assert_string_equal(k.alg, "ES256");
  assert_null(json_object_get(k.pub, "d"));
  assert_non_null(json_object_get(k.jwk, "d"));

  /* newAccount style: jwk in the header, no kid */
  assert_int_equal(ck__acme_jws(&k, NULL, "nonce-1", "https://ca.test/new-acct",
                                "{\"termsOfServiceAgreed\":true}", &text, &e),
                   CK_OK);
  jws = json_loads(text, 0, NULL);
  assert_non_null(jws);
  assert_true(jose_jws_ver(NULL, jws, NULL, k.pub, false));
  hdr = protected_of(jws);
  assert_string_equal(json_string_value(json_object_get(hdr, "alg")), "ES256");
  assert_string_equal(json_string_value(json_object_get(hdr, "nonce")), "nonce-1");
  assert_string_equal(json_string_value(json_object_get(hdr, "url")), "https://ca.test/new-acct");
  assert_null(json_object_get(hdr, "kid"));
  assert_true(json_equal(json_object_get(hdr, "jwk"), k.pub));
  assert_null(json_object_get(json_object_get(hdr, "jwk"), "d")); /* never the private part */
  payload = jose_b64_dec_load(json_object_get(jws, "payload"));
  assert_true(json_is_true(json_object_get(payload, "termsOfServiceAgreed")));
  json_decref(payload);
  json_decref(hdr);
  json_decref(jws);
  free(text);

  /* later requests: kid, no jwk; POST-as-GET has an empty payload */
  assert_int_equal(ck__acme_jws(&k, "https://ca.test/acct/7", "n2", "https://ca.test/order/1",
                                NULL, &text, &e),
                   CK_OK);
  jws = json_loads(text, 0, NULL);
  assert_true(jose_jws_ver(NULL, jws, NULL, k.pub, false));
  hdr = protected_of(jws);
  assert_string_equal(json_string_value(json_object_get(hdr, "kid")), "https://ca.test/acct/7");
  assert_null(json_object_get(hdr, "jwk"));
  assert_string_equal(json_string_value(json_object_get(jws, "payload")), "");
  /* another key does not verify it */
  {
    ck__acme_key k2;
    char *pem2 = pem_of("ec-p256");
    assert_int_equal(ck__acme_key_from_pem((const uint8_t *)pem2, strlen(pem2), &k2, &e), CK_OK);
    assert_false(jose_jws_ver(NULL, jws, NULL, k2.pub, false));
    ck__acme_key_clear(&k2);
    ck_crypto_free_secret(pem2, strlen(pem2));
  }
  json_decref(hdr);
  json_decref(jws);
  free(text);

  assert_int_equal(ck__acme_jws(&k, NULL, NULL, "https://x", NULL, &text, &e), CK_ERR_INVAL);
  ck__acme_key_clear(&k);
  ck_crypto_free_secret(pem, strlen(pem));
}

static void jws_p384_and_thumbprint(void **state) {
  ck__acme_key k;
  char *pem = pem_of("ec-p384"), *canon, *thp;
  uint8_t h[CK_SHA256_LEN];
  (void)state;

  assert_int_equal(ck__acme_key_from_pem((const uint8_t *)pem, strlen(pem), &k, NULL), CK_OK);
  assert_string_equal(k.alg, "ES384");
  /* RFC 7638: SHA-256 over the required members in lexicographic order */
  canon = malloc(512);
  assert_non_null(canon);
  snprintf(canon, 512, "{\"crv\":\"P-384\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
           json_string_value(json_object_get(k.pub, "x")),
           json_string_value(json_object_get(k.pub, "y")));
  assert_int_equal(ck_crypto_sha256(canon, strlen(canon), h), CK_OK);
  thp = ck__acme_b64url(h, sizeof h);
  assert_string_equal(k.thumbprint, thp);
  free(thp);
  free(canon);
  ck__acme_key_clear(&k);
  ck_crypto_free_secret(pem, strlen(pem));
}

static void key_types_refused(void **state) {
  ck__acme_key k;
  ck_errctx e = CK_ERRCTX_INIT;
  char *pem = pem_of("rsa-2048");
  (void)state;

  assert_int_equal(ck__acme_key_from_pem((const uint8_t *)pem, strlen(pem), &k, &e),
                   CK_ERR_UNSUPPORTED);
  assert_non_null(strstr(e.msg, "EC P-256 or P-384"));
  assert_null(k.jwk);
  ck_crypto_free_secret(pem, strlen(pem));
  assert_int_not_equal(ck__acme_key_from_pem((const uint8_t *)"junk", 4, &k, NULL), CK_OK);
}

static void key_file_created_0600(void **state) {
  char *dir = ck_test_tmpdir(), path[512];
  ck__acme_key a, b;
  struct stat st;
  int created = 0;
  (void)state;

  snprintf(path, sizeof path, "%s/acct.key", dir);
  assert_int_equal(ck__acme_key_load(path, 0, &a, &created, NULL), CK_ERR_NOENT);
  assert_int_equal(ck__acme_key_load(path, 1, &a, &created, NULL), CK_OK);
  assert_int_equal(created, 1);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(ck__acme_key_load(path, 1, &b, &created, NULL), CK_OK);
  assert_int_equal(created, 0);
  assert_string_equal(a.thumbprint, b.thumbprint); /* the same key again */
  ck__acme_key_clear(&a);
  ck__acme_key_clear(&b);
  ck_test_rmtree(dir);
  free(dir);
}

static void eab_binds_account_key(void **state) {
  ck__acme_key k;
  static const uint8_t hmac[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  char *pem = pem_of("ec-p256");
  json_t *eab = NULL, *hdr, *payload, *oct, *wrong;
  (void)state;

  assert_int_equal(ck__acme_key_from_pem((const uint8_t *)pem, strlen(pem), &k, NULL), CK_OK);
  assert_int_equal(ck__acme_eab(&k, "kid-1", hmac, sizeof hmac, "https://ca.test/new-acct", &eab,
                                NULL),
                   CK_OK);
  oct = json_pack("{s:s,s:o}", "kty", "oct", "k", jose_b64_enc(hmac, sizeof hmac));
  assert_true(jose_jws_ver(NULL, eab, NULL, oct, false));
  wrong = json_pack("{s:s,s:s}", "kty", "oct", "k", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  assert_false(jose_jws_ver(NULL, eab, NULL, wrong, false));
  hdr = protected_of(eab);
  assert_string_equal(json_string_value(json_object_get(hdr, "alg")), "HS256");
  assert_string_equal(json_string_value(json_object_get(hdr, "kid")), "kid-1");
  assert_string_equal(json_string_value(json_object_get(hdr, "url")), "https://ca.test/new-acct");
  assert_null(json_object_get(hdr, "nonce")); /* RFC 8555 7.3.4: no nonce */
  payload = jose_b64_dec_load(json_object_get(eab, "payload"));
  assert_true(json_equal(payload, k.pub));
  {
    json_t *none = NULL;
    assert_int_equal(ck__acme_eab(&k, "kid-1", hmac, 0, "https://x", &none, NULL), CK_ERR_INVAL);
    assert_null(none);
  }
  json_decref(payload);
  json_decref(hdr);
  json_decref(oct);
  json_decref(wrong);
  json_decref(eab);
  ck__acme_key_clear(&k);
  ck_crypto_free_secret(pem, strlen(pem));
}

static void b64url_decode(void **state) {
  uint8_t *out = NULL;
  size_t n = 0;
  (void)state;
  assert_int_equal(ck__acme_b64url_decode("aGVsbG8\n", 8, &out, &n, NULL), CK_OK);
  assert_int_equal(n, 5);
  assert_memory_equal(out, "hello", 5);
  free(out);
  assert_int_equal(ck__acme_b64url_decode("aGVsbG8=", 8, &out, &n, NULL), CK_OK);
  free(out);
  assert_int_equal(ck__acme_b64url_decode("a+/b", 4, &out, &n, NULL), CK_ERR_PARSE);
  assert_null(out);
}

/* ------------------------------------------------------------- parsing */

#define S(x) x, strlen(x)

static void parse_directory(void **state) {
  ck__acme_dir d;
  ck_errctx e = CK_ERRCTX_INIT;
  (void)state;

  assert_int_equal(ck__acme_parse_dir(S("{\"newNonce\":\"https://ca/nonce\",\"newAccount\":"
                                        "\"https://ca/acct\",\"newOrder\":\"https://ca/order\","
                                        "\"meta\":{\"externalAccountRequired\":true}}"),
                                      &d, &e),
                   CK_OK);
  assert_string_equal(d.new_order, "https://ca/order");
  assert_int_equal(d.eab_required, 1);
  ck__acme_dir_clear(&d);
  assert_int_equal(ck__acme_parse_dir(S("{\"newNonce\":\"https://ca/n\",\"newAccount\":"
                                        "\"https://ca/a\",\"newOrder\":\"https://ca/o\"}"),
                                      &d, &e),
                   CK_OK);
  assert_int_equal(d.eab_required, 0);
  ck__acme_dir_clear(&d);
  /* a plain-HTTP URL, a missing member, not JSON, wrong meta type */
  assert_int_equal(ck__acme_parse_dir(S("{\"newNonce\":\"http://ca/n\",\"newAccount\":"
                                        "\"https://ca/a\",\"newOrder\":\"https://ca/o\"}"),
                                      &d, &e),
                   CK_ERR_PARSE);
  assert_non_null(strstr(e.msg, "'newNonce' is not an https URL"));
  ck__acme_dir_clear(&d);
  assert_int_equal(ck__acme_parse_dir(S("{\"newNonce\":\"https://ca/n\",\"newAccount\":"
                                        "\"https://ca/a\"}"),
                                      &d, &e),
                   CK_ERR_PARSE);
  assert_non_null(strstr(e.msg, "missing 'newOrder'"));
  ck__acme_dir_clear(&d);
  assert_int_equal(ck__acme_parse_dir(S("<html>"), &d, &e), CK_ERR_PARSE);
  ck__acme_dir_clear(&d);
  assert_int_equal(ck__acme_parse_dir(S("[1]"), &d, &e), CK_ERR_PARSE);
  ck__acme_dir_clear(&d);
  assert_int_equal(ck__acme_parse_dir(S("{\"newNonce\":\"https://ca/n\",\"newAccount\":"
                                        "\"https://ca/a\",\"newOrder\":\"https://ca/o\","
                                        "\"meta\":{\"externalAccountRequired\":\"yes\"}}"),
                                      &d, &e),
                   CK_ERR_PARSE);
  ck__acme_dir_clear(&d);
  assert_int_equal(ck__acme_parse_dir(NULL, 0, &d, &e), CK_ERR_PARSE);
  ck__acme_dir_clear(&d);
}

static void parse_order(void **state) {
  ck__acme_order o;
  ck_errctx e = CK_ERRCTX_INIT;
  (void)state;

  assert_int_equal(ck__acme_parse_order(S("{\"status\":\"pending\",\"identifiers\":[],"
                                          "\"authorizations\":[\"https://ca/authz/1\","
                                          "\"https://ca/authz/2\"],\"finalize\":"
                                          "\"https://ca/fin/1\"}"),
                                        &o, &e),
                   CK_OK);
  assert_int_equal(o.status, CK_ACME_ST_PENDING);
  assert_int_equal(o.n_authz, 2);
  assert_string_equal(o.authz[1], "https://ca/authz/2");
  assert_null(o.certificate);
  ck__acme_order_clear(&o);
  assert_int_equal(ck__acme_parse_order(S("{\"status\":\"valid\",\"authorizations\":[],"
                                          "\"finalize\":\"https://ca/f\",\"certificate\":"
                                          "\"https://ca/cert/9\"}"),
                                        &o, &e),
                   CK_OK);
  assert_string_equal(o.certificate, "https://ca/cert/9");
  ck__acme_order_clear(&o);
  assert_int_equal(ck__acme_parse_order(S("{\"status\":\"invalid\",\"authorizations\":[],"
                                          "\"finalize\":\"https://ca/f\",\"error\":{\"type\":"
                                          "\"urn:ietf:params:acme:error:badCSR\",\"detail\":"
                                          "\"bad\\u0007csr\"}}"),
                                        &o, &e),
                   CK_OK);
  assert_string_equal(o.error.type, "urn:ietf:params:acme:error:badCSR");
  assert_string_equal(o.error.detail, "bad?csr"); /* control characters never pass */
  ck__acme_order_clear(&o);
  /* valid without a certificate, an unknown status, an authz that is not
   * a URL, a non-array */
  assert_int_equal(ck__acme_parse_order(S("{\"status\":\"valid\",\"authorizations\":[],"
                                          "\"finalize\":\"https://ca/f\"}"),
                                        &o, &e),
                   CK_ERR_PARSE);
  ck__acme_order_clear(&o);
  assert_int_equal(ck__acme_parse_order(S("{\"status\":\"done\",\"authorizations\":[],"
                                          "\"finalize\":\"https://ca/f\"}"),
                                        &o, &e),
                   CK_ERR_PARSE);
  assert_non_null(strstr(e.msg, "unknown status 'done'"));
  ck__acme_order_clear(&o);
  assert_int_equal(ck__acme_parse_order(S("{\"status\":\"pending\",\"authorizations\":[1],"
                                          "\"finalize\":\"https://ca/f\"}"),
                                        &o, &e),
                   CK_ERR_PARSE);
  ck__acme_order_clear(&o);
  assert_int_equal(ck__acme_parse_order(S("{\"status\":\"pending\",\"authorizations\":{},"
                                          "\"finalize\":\"https://ca/f\"}"),
                                        &o, &e),
                   CK_ERR_PARSE);
  ck__acme_order_clear(&o);
}

static void parse_authz(void **state) {
  ck__acme_authz a;
  const ck__acme_chall *c;
  ck_errctx e = CK_ERRCTX_INIT;
  (void)state;

  assert_int_equal(
      ck__acme_parse_authz(
          S("{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":\"a.test\"},"
            "\"challenges\":[{\"type\":\"dns-01\",\"url\":\"https://ca/c/1\",\"status\":"
            "\"pending\",\"token\":\"tok_1-A\"},{\"type\":\"http-01\",\"url\":"
            "\"https://ca/c/2\",\"status\":\"pending\",\"token\":\"tok2\"},{\"type\":"
            "\"tls-alpn-01\",\"url\":\"https://ca/c/3\",\"status\":\"pending\"}]}"),
          &a, &e),
      CK_OK);
  assert_string_equal(a.ident_value, "a.test");
  assert_int_equal(a.n_chall, 3);
  c = ck__acme_authz_find(&a, "http-01");
  assert_non_null(c);
  assert_string_equal(c->token, "tok2");
  assert_string_equal(c->url, "https://ca/c/2");
  assert_null(ck__acme_authz_find(&a, "dns-account-01"));
  ck__acme_authz_clear(&a);
  /* a token that could walk a path, a missing identifier */
  assert_int_equal(
      ck__acme_parse_authz(
          S("{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":\"a.test\"},"
            "\"challenges\":[{\"type\":\"http-01\",\"url\":\"https://ca/c/2\",\"status\":"
            "\"pending\",\"token\":\"../../etc/passwd\"}]}"),
          &a, &e),
      CK_ERR_PARSE);
  ck__acme_authz_clear(&a);
  assert_int_equal(ck__acme_parse_authz(S("{\"status\":\"valid\",\"challenges\":[]}"), &a, &e),
                   CK_ERR_PARSE);
  ck__acme_authz_clear(&a);
  assert_int_equal(ck__acme_token_ok("abc-_09"), 1);
  assert_int_equal(ck__acme_token_ok(""), 0);
  assert_int_equal(ck__acme_token_ok("a/b"), 0);
}

static void parse_problem_and_retry(void **state) {
  ck__acme_problem p;
  (void)state;

  assert_int_equal(ck__acme_parse_problem(S("{\"type\":\"urn:ietf:params:acme:error:badNonce\","
                                            "\"detail\":\"stale\"}"),
                                          &p),
                   1);
  assert_string_equal(p.type, "urn:ietf:params:acme:error:badNonce");
  assert_string_equal(p.detail, "stale");
  assert_int_equal(ck__acme_parse_problem(S("{\"detail\":\"x\"}"), &p), 0);
  assert_int_equal(ck__acme_parse_problem(S("oops"), &p), 0);
  assert_int_equal(ck__acme_parse_problem(NULL, 0, &p), 0);

  assert_int_equal(ck__acme_retry_after("3", 1000, 1, 1, 10), 3);
  assert_int_equal(ck__acme_retry_after("120", 1000, 1, 1, 10), 10);  /* clamped */
  assert_int_equal(ck__acme_retry_after("0", 1000, 5, 1, 10), 1);     /* at least min */
  assert_int_equal(ck__acme_retry_after("", 1000, 5, 1, 10), 5);      /* default */
  assert_int_equal(ck__acme_retry_after("soon", 1000, 5, 1, 10), 5);
  assert_int_equal(ck__acme_retry_after("99999999999999", 0, 5, 1, 10), 5);
  /* IMF-fixdate: 784111777 is Sun, 06 Nov 1994 08:49:37 GMT */
  assert_int_equal(ck__acme_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111770, 1, 1, 60), 7);
  assert_int_equal(ck__acme_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111800, 4, 1, 60), 1);
  assert_int_equal(ck__acme_status_parse("processing"), CK_ACME_ST_PROCESSING);
  assert_int_equal(ck__acme_status_parse("Valid"), CK_ACME_ST_UNKNOWN);
}

/* ------------------------------------------------------------- dns-01 */

static void dns01_value_and_hook(void **state) {
  char *dir = ck_test_tmpdir(), hook[512], calls[512], v[64], *out = NULL, *b64;
  uint8_t h[CK_SHA256_LEN];
  ck_errctx e = CK_ERRCTX_INIT;
  FILE *f;
  (void)state;

  /* value = base64url(SHA-256(key authorization)), RFC 8555 8.4 */
  assert_int_equal(ck__acme_dns01_value("tok.thumb", v, sizeof v, &e), CK_OK);
  assert_int_equal(ck_crypto_sha256("tok.thumb", 9, h), CK_OK);
  b64 = ck__acme_b64url(h, sizeof h);
  assert_string_equal(v, b64);
  assert_int_equal(strlen(v), 43);
  free(b64);

  snprintf(hook, sizeof hook, "%s/hook", dir);
  snprintf(calls, sizeof calls, "%s/calls", dir);
  f = fopen(hook, "w");
  assert_non_null(f);
  fprintf(f, "#!/bin/sh\necho \"$@\" >>%s\n[ \"$1\" = add ] || exit 3\n"
             "[ \"$2\" = _acme-challenge.slow.test ] && exec sleep 30\nexit 0\n",
          calls);
  fclose(f);
  assert_int_equal(chmod(hook, 0755), 0);
  assert_int_equal(ck__acme_dns01_hook(hook, "add", "_acme-challenge.a.test", v, 10000, &e), CK_OK);
  assert_int_equal(ck_test_sh(&out, "cat %s", calls), 0);
  assert_non_null(strstr(out, "add _acme-challenge.a.test "));
  assert_non_null(strstr(out, v));
  free(out);
  /* a failing hook, a hook that hangs, a hook that does not exist */
  assert_int_equal(ck__acme_dns01_hook(hook, "del", "_acme-challenge.a.test", v, 10000, &e),
                   CK_ERR_UPSTREAM);
  assert_non_null(strstr(e.msg, "exit status 3"));
  assert_int_equal(ck__acme_dns01_hook(hook, "add", "_acme-challenge.slow.test", v, 300, &e),
                   CK_ERR_UPSTREAM);
  assert_non_null(strstr(e.msg, "killed after 300 ms"));
  snprintf(hook, sizeof hook, "%s/missing", dir);
  assert_int_equal(ck__acme_dns01_hook(hook, "add", "_acme-challenge.a.test", v, 1000, &e),
                   CK_ERR_CONFIG);
  assert_non_null(strstr(e.msg, "cannot run it"));
  ck_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(jws_signs_and_verifies),
      cmocka_unit_test(jws_p384_and_thumbprint),
      cmocka_unit_test(key_types_refused),
      cmocka_unit_test(key_file_created_0600),
      cmocka_unit_test(eab_binds_account_key),
      cmocka_unit_test(b64url_decode),
      cmocka_unit_test(parse_directory),
      cmocka_unit_test(parse_order),
      cmocka_unit_test(parse_authz),
      cmocka_unit_test(parse_problem_and_retry),
      cmocka_unit_test(dns01_value_and_hook),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
