/* test_profile_upstream.c — the "upstream" block of a profile (an external
 * ACME CA fulfilling it): parsed strictly with the field named in every
 * refusal, written canonically, compared by ck_profile_equal, and absent
 * from profiles that do not have one. */
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/policy/profile.h"

#define HEAD                                                                   \
  "{\"name\": \"pub\", \"workflow\": \"automatic\","                          \
  " \"key_types\": [\"ec-p256\"], \"validity\": {\"max\": \"90d\", "          \
  "\"default\": \"60d\"}, \"san\": {\"dns\": [\".example.test\"]},"          \
  " \"ext_key_usage\": [\"serverAuth\"], \"access\": {\"roles\": "            \
  "[\"operator\"]}"

static ck_err parse(const char *upstream, ck_profile **p, ck_errctx *e) {
  char buf[4096];
  if (upstream == NULL)
    snprintf(buf, sizeof buf, "%s}", HEAD);
  else
    snprintf(buf, sizeof buf, "%s, \"upstream\": %s}", HEAD, upstream);
  *p = NULL;
  return ck_profile_from_json(buf, strlen(buf), p, e);
}

static void full_block_roundtrip(void **state) {
  ck_profile *p = NULL, *q = NULL;
  ck_errctx e = CK_ERRCTX_INIT;
  char *text = NULL;
  (void)state;

  assert_int_equal(parse("{\"type\": \"acme\", \"directory\": \"https://acme.example/dir\","
                         " \"ca_bundle\": \"/etc/ssl/ca.pem\", \"account_key\": \"a.key\","
                         " \"eab_kid\": \"kid-1\", \"eab_hmac_file\": \"ca.eab\","
                         " \"http01_listen\": \"[::]:80\", \"contact\": \"mailto:pki@example\","
                         " \"timeout\": \"5m\"}",
                         &p, &e),
                   CK_OK);
  assert_non_null(p->upstream);
  assert_string_equal(p->upstream->directory, "https://acme.example/dir");
  assert_string_equal(p->upstream->eab_kid, "kid-1");
  assert_string_equal(p->upstream->http01_listen, "[::]:80");
  assert_int_equal(p->upstream->timeout, 300);
  assert_int_equal(ck_profile_to_json(p, 0, &text, &e), CK_OK);
  assert_non_null(strstr(text, "\"upstream\":{\"type\":\"acme\""));
  assert_int_equal(ck_profile_from_json(text, strlen(text), &q, &e), CK_OK);
  assert_true(ck_profile_equal(p, q));
  free(q->upstream->contact);
  q->upstream->contact = strdup("mailto:other@example");
  assert_false(ck_profile_equal(p, q));
  free(text);
  ck_profile_free(p);
  ck_profile_free(q);
}

static void defaults_and_absent(void **state) {
  ck_profile *p = NULL;
  ck_errctx e = CK_ERRCTX_INIT;
  char *text = NULL;
  (void)state;

  assert_int_equal(parse("{\"type\": \"acme\", \"directory\": \"https://a/dir\", "
                         "\"account_key\": \"k\", \"http01_listen\": \"127.0.0.1:5002\"}",
                         &p, &e),
                   CK_OK);
  assert_int_equal(p->upstream->timeout, 120);
  assert_string_equal(p->upstream->ca_bundle, "");
  assert_string_equal(p->upstream->eab_kid, "");
  ck_profile_free(p);
  assert_int_equal(parse(NULL, &p, &e), CK_OK);
  assert_null(p->upstream);
  assert_int_equal(ck_profile_to_json(p, 0, &text, &e), CK_OK);
  assert_null(strstr(text, "upstream"));
  free(text);
  ck_profile_free(p);
}

static void refusals_name_the_field(void **state) {
  static const struct {
    const char *block, *msg;
  } cases[] = {
      {"[]", "profile 'pub': upstream: expected an object"},
      {"{\"type\": \"acme\", \"directory\": \"https://a/d\", \"account_key\": \"k\","
       " \"http01_listen\": \"127.0.0.1:1\", \"dirctory\": \"x\"}",
       "profile 'pub': upstream: unknown field 'dirctory'"},
      {"{\"type\": \"est\", \"directory\": \"https://a/d\", \"account_key\": \"k\","
       " \"http01_listen\": \"127.0.0.1:1\"}",
       "profile 'pub': upstream.type: 'est' is not one of acme"},
      {"{\"type\": \"acme\", \"directory\": \"http://a/d\", \"account_key\": \"k\","
       " \"http01_listen\": \"127.0.0.1:1\"}",
       "profile 'pub': upstream.directory: 'http://a/d' is not an https:// URL"},
      {"{\"type\": \"acme\", \"directory\": \"https://a/d\", \"http01_listen\": \"127.0.0.1:1\"}",
       "profile 'pub': upstream: missing field 'account_key'"},
      {"{\"type\": \"acme\", \"directory\": \"https://a/d\", \"account_key\": \"k\","
       " \"http01_listen\": \"127.0.0.1:1\", \"eab_kid\": \"x\"}",
       "profile 'pub': upstream.eab_kid: eab_kid and eab_hmac_file go together"},
      {"{\"type\": \"acme\", \"directory\": \"https://a/d\", \"account_key\": \"k\"}",
       "profile 'pub': upstream: needs http01_listen or dns01_hook"},
      {"{\"type\": \"acme\", \"directory\": \"https://a/d\", \"account_key\": \"k\","
       " \"http01_listen\": \"127.0.0.1:99999\"}",
       "profile 'pub': upstream.http01_listen: '127.0.0.1:99999' is not HOST:PORT"},
      {"{\"type\": \"acme\", \"directory\": \"https://a/d\", \"account_key\": \"k\","
       " \"http01_listen\": \"127.0.0.1:80\", \"contact\": \"pki@example\"}",
       "profile 'pub': upstream.contact: 'pki@example' is not a mailto: URL"},
      {"{\"type\": \"acme\", \"directory\": \"https://a/d\", \"account_key\": \"k\","
       " \"http01_listen\": \"127.0.0.1:80\", \"timeout\": \"2s\"}",
       "profile 'pub': upstream.timeout: expected a duration from 10s to 3600s"},
      {"{\"type\": \"acme\", \"directory\": \"https://a/d\\\"x\", \"account_key\": \"k\","
       " \"http01_listen\": \"127.0.0.1:80\"}",
       "profile 'pub': upstream.directory: contains a space, a quote"},
      {"{\"type\": \"acme\", \"directory\": \"https://a/d\", \"account_key\": \"../ca/issuing.key\","
       " \"http01_listen\": \"127.0.0.1:80\"}",
       "profile 'pub': upstream.account_key: '../ca/issuing.key' is not a file name"},
      {"{\"type\": \"acme\", \"directory\": \"https://a/d\", \"account_key\": \"/etc/k.pem\","
       " \"http01_listen\": \"127.0.0.1:80\"}",
       "profile 'pub': upstream.account_key: '/etc/k.pem' is not a file name"},
      {"{\"type\": \"acme\", \"directory\": \"https://a/d\", \"account_key\": \"k\","
       " \"http01_listen\": \"127.0.0.1:80\", \"eab_kid\": \"x\", \"eab_hmac_file\": \"/etc/shadow\"}",
       "profile 'pub': upstream.eab_hmac_file: '/etc/shadow' is not a file name"},
      {"{\"type\": \"acme\", \"directory\": \"https://a/d\", \"account_key\": \"k\","
       " \"dns01_hook\": \"/bin/sh\"}",
       "profile 'pub': upstream.dns01_hook: '/bin/sh' is not a file name"},
      {"{\"type\": \"acme\", \"directory\": \"https://a/d\", \"account_key\": 7,"
       " \"http01_listen\": \"127.0.0.1:80\"}",
       "profile 'pub': upstream.account_key: expected a string"},
  };
  size_t i;
  (void)state;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ck_profile *p = NULL;
    ck_errctx e = CK_ERRCTX_INIT;
    assert_int_equal(parse(cases[i].block, &p, &e), CK_ERR_PARSE);
    assert_null(p);
    if (strstr(e.msg, cases[i].msg) == NULL)
      fail_msg("case %zu: got '%s', want '%s'", i, e.msg, cases[i].msg);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(full_block_roundtrip),
      cmocka_unit_test(defaults_and_absent),
      cmocka_unit_test(refusals_name_the_field),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
