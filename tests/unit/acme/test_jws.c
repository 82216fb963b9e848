/* test_jws.c — the ACME JWS layer (coordinator/acme/jws.h): request JWS
 * parsing and header rules, signatures made by libjose (ES256, ES384,
 * RS256) verified or refused when tampered, RFC 7638 thumbprints, JWK ->
 * SPKI, base64url and HMAC-SHA256 vectors. Every refusal is checked for
 * its RFC 8555 problem type and HTTP status. */
#include "tests/testutil.h"

#include <jose/jose.h>
#include <string.h>

#include "common/crypto/crypto.h"
#include "common/util/mem.h"
#include "coordinator/acme/acme_util.h"
#include "coordinator/acme/jws.h"

/* Signs payload (NULL = POST-as-GET) with a fresh key of alg; the
 * protected header gets alg, nonce, url and the public jwk (or kid). */
static char *make_jws(const char *alg, const char *payload, const char *kid,
                      json_t **jwk_out, json_t *extra_hdr) {
  json_t *jwk = json_pack("{s:s}", "alg", alg), *pub, *jws, *sig, *prot;
  char *out;

  assert_true(jose_jwk_gen(NULL, jwk));
  pub = json_deep_copy(jwk);
  assert_true(jose_jwk_pub(NULL, pub));
  json_object_del(pub, "alg");
  json_object_del(pub, "key_ops");
  prot = json_pack("{s:s,s:s,s:s}", "alg", alg, "nonce", "n0nce", "url",
                   "https://ca.test/acme/default/new-order");
  if (kid != NULL)
    json_object_set_new(prot, "kid", json_string(kid));
  else
    json_object_set(prot, "jwk", pub);
  if (extra_hdr != NULL)
    json_object_update(prot, extra_hdr);
  jws = payload != NULL ? json_pack("{s:o}", "payload",
                                    jose_b64_enc(payload, strlen(payload)))
                        : json_pack("{s:s}", "payload", "");
  sig = json_pack("{s:o}", "protected", prot);
  assert_true(jose_jws_sig(NULL, jws, sig, jwk));
  out = json_dumps(jws, JSON_COMPACT);
  json_decref(jws);
  json_decref(sig);
  json_decref(jwk);
  if (jwk_out != NULL)
    *jwk_out = pub;
  else
    json_decref(pub);
  return out;
}

static void roundtrip(const char *alg, ck_acme_alg want) {
  ck_acme_problem p = {0};
  ck_acme_jws j;
  json_t *jwk = NULL;
  char *s = make_jws(alg, "{\"identifiers\":[]}", NULL, &jwk, NULL);

  assert_int_equal(
      ck_acme_jws_parse((const uint8_t *)s, strlen(s), 65536, &j, &p), 1);
  assert_int_equal(j.alg, want);
  assert_string_equal(j.url, "https://ca.test/acme/default/new-order");
  assert_string_equal(j.nonce, "n0nce");
  assert_null(j.kid);
  assert_non_null(j.jwk);
  assert_int_equal(j.payload_len, strlen("{\"identifiers\":[]}"));
  assert_int_equal(ck_acme_jws_verify(&j, j.jwk, &p), 1);
  ck_acme_jws_clear(&j);
  /* the same JWS with one payload byte changed does not verify */
  {
    json_t *o = json_loads(s, 0, NULL);
    const char *pl = json_string_value(json_object_get(o, "payload"));
    char *t = strdup(pl), *txt;
    t[0] = t[0] == 'e' ? 'f' : 'e';
    json_object_set_new(o, "payload", json_string(t));
    txt = json_dumps(o, 0);
    memset(&p, 0, sizeof p);
    assert_int_equal(
        ck_acme_jws_parse((const uint8_t *)txt, strlen(txt), 65536, &j, &p), 1);
    assert_int_equal(ck_acme_jws_verify(&j, jwk, &p), 0);
    assert_string_equal(p.type, "malformed");
    assert_string_equal(p.detail, "JWS signature does not verify");
    ck_acme_jws_clear(&j);
    free(t);
    free(txt);
    json_decref(o);
  }
  free(s);
  json_decref(jwk);
}

static void algorithms(void **state) {
  (void)state;
  roundtrip("ES256", CK_ACME_ALG_ES256);
  roundtrip("ES384", CK_ACME_ALG_ES384);
  roundtrip("RS256", CK_ACME_ALG_RS256);
}

/* Parses text and expects a refusal with status and type. */
static void refused(const char *text, int status, const char *type,
                    const char *detail_part) {
  ck_acme_problem p = {0};
  ck_acme_jws j;

  assert_int_equal(
      ck_acme_jws_parse((const uint8_t *)text, strlen(text), 1024, &j, &p), 0);
  assert_int_equal(p.status, status);
  assert_string_equal(p.type, type);
  if (strstr(p.detail, detail_part) == NULL)
    fail_msg("detail '%s' lacks '%s'", p.detail, detail_part);
  assert_null(j.root);
}

static void header_rules(void **state) {
  char big[3000];
  char *s;
  json_t *x;

  (void)state;
  refused("", 400, "malformed", "not a JSON object");
  refused("[1]", 400, "malformed", "not a JSON object");
  refused("{\"protected\":\"e30\",\"payload\":\"\"}", 400, "malformed",
          "protected, payload");
  refused("{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"\","
          "\"header\":{}}",
          400, "malformed", "unprotected header");
  refused("{\"signatures\":[],\"payload\":\"\"}", 400, "malformed",
          "flattened");
  refused("{\"protected\":\"e30=\",\"payload\":\"\",\"signature\":\"\"}", 400,
          "malformed", "base64url");
  refused("{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"\"}", 400,
          "malformed", "no alg");
  /* {"alg":"none","url":"u","nonce":"n"} */
  refused("{\"protected\":\"eyJhbGciOiJub25lIiwidXJsIjoidSIsIm5vbmNlIjoibiJ9\","
          "\"payload\":"
          "\"\",\"signature\":\"\"}",
          400, "badSignatureAlgorithm", "'none'");
  /* {"alg":"ES256","nonce":"n"}: no url */
  refused("{\"protected\":\"eyJhbGciOiJFUzI1NiIsIm5vbmNlIjoibiJ9\",\"payload\":"
          "\"\","
          "\"signature\":\"\"}",
          400, "malformed", "no url");
  /* {"alg":"ES256","url":"u","nonce":"n"}: neither jwk nor kid */
  refused("{\"protected\":"
          "\"eyJhbGciOiJFUzI1NiIsInVybCI6InUiLCJub25jZSI6Im4ifQ\",\"payload\":"
          "\"\",\"signature\":\"\"}",
          400, "malformed", "exactly one of jwk and kid");
  /* both jwk and kid */
  x = json_pack("{s:s}", "kid", "https://ca.test/acct/1");
  s = make_jws("ES256", "{}", NULL, NULL, x);
  refused(s, 400, "malformed", "exactly one of jwk and kid");
  free(s);
  json_decref(x);
  /* crit */
  x = json_pack("{s:[s]}", "crit", "b64");
  s = make_jws("ES256", "{}", "https://ca.test/acct/1", NULL, x);
  refused(s, 400, "malformed", "crit");
  free(s);
  json_decref(x);
  /* a payload over the limit (1024 here) is 413 */
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  s = make_jws("ES256", big, "https://ca.test/acct/1", NULL, NULL);
  refused(s, 413, "malformed", "larger than 1024");
  free(s);
  /* duplicate members are refused */
  refused("{\"protected\":\"e30\",\"protected\":\"e30\",\"payload\":\"\","
          "\"signature\":\"\"}",
          400, "malformed", "not a JSON object");
}

static void jwk_rules(void **state) {
  ck_acme_problem p = {0};
  json_t *k;

  (void)state;
  k = json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "x",
                "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y",
                "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0");
  assert_int_equal(ck_acme_jwk_check(k, CK_ACME_ALG_ES256, &p), 1);
  assert_int_equal(ck_acme_jwk_check(k, CK_ACME_ALG_ES384, &p), 0);
  assert_string_equal(p.type, "badSignatureAlgorithm");
  assert_int_equal(ck_acme_jwk_check(k, CK_ACME_ALG_RS256, &p), 0);
  json_object_set_new(k, "d", json_string("secret"));
  assert_int_equal(ck_acme_jwk_check(k, CK_ACME_ALG_ES256, &p), 0);
  assert_string_equal(p.detail, "jwk contains private key material");
  json_decref(k);
  k = json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-521", "x", "a", "y",
                "b");
  assert_int_equal(ck_acme_jwk_check(k, CK_ACME_ALG_NONE, &p), 0);
  assert_string_equal(p.type, "badPublicKey");
  json_decref(k);
  k = json_pack("{s:s,s:s,s:s}", "kty", "RSA", "n", "AQAB", "e", "AQAB");
  assert_int_equal(ck_acme_jwk_check(k, CK_ACME_ALG_RS256, &p), 0);
  assert_string_equal(p.detail, "RSA keys must have at least 2048 bits");
  json_decref(k);
  k = json_pack("{s:s,s:s}", "kty", "oct", "k", "c2VjcmV0");
  assert_int_equal(ck_acme_jwk_check(k, CK_ACME_ALG_NONE, &p), 0);
  json_decref(k);
}

/* RFC 7638 §3.1 example key and thumbprint. */
static const char *RFC7638_N = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78"
                               "LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
                               "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-"
                               "5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"
                               "65YGjQR0_"
                               "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6q"
                               "MQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
                               "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_"
                               "xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

/* Writes the DER to a file and has openssl print it: must show want. */
static void spki_is_key(const uint8_t *der, size_t len, const char *want) {
  char *dir = ck_test_tmpdir(), path[512], *out = NULL;
  FILE *f;

  snprintf(path, sizeof path, "%s/spki.der", dir);
  assert_non_null(f = fopen(path, "wb"));
  assert_int_equal(fwrite(der, 1, len, f), len);
  fclose(f);
  assert_int_equal(
      ck_test_sh(&out, "openssl pkey -pubin -inform DER -in '%s' -noout -text",
                 path),
      0);
  if (strstr(out, want) == NULL)
    fail_msg("openssl shows no '%s' in: %s", want, out);
  free(out);
  ck_test_rmtree(dir);
  free(dir);
}

static void thumbprint_and_spki(void **state) {
  char t[CK_ACME_THUMB_LEN];
  uint8_t spki[CK_ACME_SPKI_MAX];
  size_t len = 0;
  json_t *k = json_pack("{s:s,s:s,s:s,s:s}", "kty", "RSA", "n", RFC7638_N, "e",
                        "AQAB", "alg", "RS256");

  (void)state;
  assert_int_equal(ck_acme_jwk_thumbprint(k, t), CK_OK);
  assert_string_equal(t, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  /* the SPKI we build is a public key openssl reads back with the same n */
  assert_int_equal(ck_acme_jwk_spki(k, spki, sizeof spki, &len), CK_OK);
  spki_is_key(spki, len, "Modulus");
  json_decref(k);
  k = json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "x",
                "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y",
                "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0");
  assert_int_equal(ck_acme_jwk_spki(k, spki, sizeof spki, &len), CK_OK);
  assert_int_equal(len, 91u);
  spki_is_key(spki, len, "NIST CURVE: P-256");
  json_decref(k);
  k = json_pack("{s:s,s:s,s:s}", "kty", "OKP", "crv", "Ed25519", "x",
                "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
  assert_int_equal(ck_acme_jwk_thumbprint(k, t), CK_OK); /* RFC 8037 A.3 */
  assert_string_equal(t, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
  assert_int_equal(ck_acme_jwk_spki(k, spki, sizeof spki, &len), CK_OK);
  assert_int_equal(len, 44u);
  spki_is_key(spki, len, "ED25519 Public-Key");
  json_decref(k);
  k = json_pack("{s:s}", "kty", "EC");
  assert_int_equal(ck_acme_jwk_thumbprint(k, t), CK_ERR_PARSE);
  json_decref(k);
}

static void base64url_hmac(void **state) {
  uint8_t out[64], mac[32];
  char enc[64], hex[65];
  size_t n = 0;
  /* RFC 4231 test case 2 */
  static const char *want =
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

  (void)state;
  assert_int_equal(ck_b64u_encode((const uint8_t *)"fo", 2, enc, sizeof enc),
                   3);
  assert_string_equal(enc, "Zm8");
  assert_int_equal(
      ck_b64u_encode((const uint8_t *)"\xfb\xff", 2, enc, sizeof enc), 3);
  assert_string_equal(enc, "-_8");
  assert_int_equal(ck_b64u_encode((const uint8_t *)"foo", 3, enc, 4), 0);
  assert_int_equal(ck_b64u_decode("Zm9vYg", 6, out, sizeof out, &n), CK_OK);
  assert_int_equal(n, 4);
  assert_memory_equal(out, "foob", 4);
  assert_int_equal(ck_b64u_decode("Zm9vY", 5, out, sizeof out, &n),
                   CK_ERR_PARSE);
  assert_int_equal(ck_b64u_decode("Zm9v+g", 6, out, sizeof out, &n),
                   CK_ERR_PARSE);
  assert_int_equal(ck_b64u_decode("Zm9vYg==", 8, out, sizeof out, &n),
                   CK_ERR_PARSE);
  assert_int_equal(ck_b64u_decode("Zm9vYmFy", 8, out, 3, &n), CK_ERR_LIMIT);
  assert_int_equal(ck_hmac_sha256((const uint8_t *)"Jefe", 4,
                                  "what do ya want for nothing?", 28, mac),
                   CK_OK);
  ck_hex_encode(mac, sizeof mac, hex);
  assert_string_equal(hex, want);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(algorithms),     cmocka_unit_test(header_rules),
      cmocka_unit_test(jwk_rules),      cmocka_unit_test(thumbprint_and_spki),
      cmocka_unit_test(base64url_hmac),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
