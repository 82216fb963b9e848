/* test_eab.c — External Account Binding verification (RFC 8555 §7.3.4,
 * coordinator/acme/jws.h): the MAC over protected.payload with the EAB
 * key, the url, no nonce, HS256 only, the payload equal to the account's
 * jwk; each refusal with its problem type. */
#include "tests/testutil.h"

#include <string.h>

#include "coordinator/acme/acme_util.h"
#include "coordinator/acme/jws.h"

static const uint8_t KEY[32] = "0123456789abcdef0123456789abcde";
static const char *URL = "https://ca.test/acme/default/new-account";

static json_t *account_jwk(void) {
  return json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "x",
                   "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y",
                   "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0");
}

/* An EAB object over payload_jwk with header hdr, MAC'ed with key. */
static json_t *make_eab(json_t *hdr, const json_t *payload_jwk,
                        const uint8_t *key) {
  char *h = json_dumps(hdr, JSON_COMPACT),
       *p = json_dumps(payload_jwk, JSON_COMPACT);
  char hb[1024], pb[1024], sb[64], msg[2100];
  uint8_t mac[32];

  ck_b64u_encode((const uint8_t *)h, strlen(h), hb, sizeof hb);
  ck_b64u_encode((const uint8_t *)p, strlen(p), pb, sizeof pb);
  snprintf(msg, sizeof msg, "%s.%s", hb, pb);
  assert_int_equal(ck_hmac_sha256(key, 32, msg, strlen(msg), mac), CK_OK);
  ck_b64u_encode(mac, sizeof mac, sb, sizeof sb);
  free(h);
  free(p);
  json_decref(hdr);
  return json_pack("{s:s,s:s,s:s}", "protected", hb, "payload", pb, "signature",
                   sb);
}

static void verify(void **state) {
  ck_acme_problem p = {0};
  json_t *jwk = account_jwk(), *other, *eab, *hdr;
  const char *kid;
  uint8_t bad[32];

  (void)state;
  eab = make_eab(
      json_pack("{s:s,s:s,s:s}", "alg", "HS256", "kid", "kid-1", "url", URL),
      jwk, KEY);
  assert_int_equal(ck_acme_eab_kid(eab, &hdr, &kid, &p), 1);
  assert_string_equal(kid, "kid-1");
  json_decref(hdr);
  assert_int_equal(ck_acme_eab_verify(eab, KEY, 32, URL, jwk, &p), 1);
  /* another key */
  memcpy(bad, KEY, 32);
  bad[0] ^= 1;
  assert_int_equal(ck_acme_eab_verify(eab, bad, 32, URL, jwk, &p), 0);
  assert_int_equal(p.status, 403);
  assert_string_equal(p.type, "unauthorized");
  /* bound to another account key */
  other = json_deep_copy(jwk);
  json_object_set_new(
      other, "x", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
  assert_int_equal(ck_acme_eab_verify(eab, KEY, 32, URL, other, &p), 0);
  assert_string_equal(
      p.detail, "externalAccountBinding payload must be the account's jwk");
  /* for another URL */
  assert_int_equal(
      ck_acme_eab_verify(eab, KEY, 32, "https://other/new-account", jwk, &p),
      0);
  assert_string_equal(p.type, "malformed");
  json_decref(eab);
  /* a nonce is not allowed */
  eab = make_eab(json_pack("{s:s,s:s,s:s,s:s}", "alg", "HS256", "kid", "kid-1",
                           "url", URL, "nonce", "n"),
                 jwk, KEY);
  assert_int_equal(ck_acme_eab_verify(eab, KEY, 32, URL, jwk, &p), 0);
  assert_string_equal(p.detail,
                      "externalAccountBinding must not carry a nonce");
  json_decref(eab);
  /* HS512 is refused */
  eab = make_eab(
      json_pack("{s:s,s:s,s:s}", "alg", "HS512", "kid", "kid-1", "url", URL),
      jwk, KEY);
  assert_int_equal(ck_acme_eab_verify(eab, KEY, 32, URL, jwk, &p), 0);
  assert_string_equal(p.type, "badSignatureAlgorithm");
  json_decref(eab);
  /* no kid */
  eab = make_eab(json_pack("{s:s,s:s}", "alg", "HS256", "url", URL), jwk, KEY);
  assert_int_equal(ck_acme_eab_kid(eab, &hdr, &kid, &p), 0);
  assert_null(hdr);
  json_decref(eab);
  /* not a JWS at all */
  eab = json_pack("{s:s}", "protected", "x");
  assert_int_equal(ck_acme_eab_kid(eab, &hdr, &kid, &p), 0);
  assert_string_equal(p.detail,
                      "externalAccountBinding must be a flattened JWS object");
  json_decref(eab);
  json_decref(other);
  json_decref(jwk);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(verify)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
