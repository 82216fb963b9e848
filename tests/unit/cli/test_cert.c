/* test_cert.c — `certkeeper cert issue|list|show|revoke` against the fake
 * API (fake_api.h): the request each sends (method, path, query, exact JSON
 * body, bearer token), what it prints and writes, and its exit code for
 * issued, pending, refused, malformed and failed answers. */
#include "tests/unit/cli/fake_api.h"

#include "common/crypto/crypto.h"

#define CHAIN                                                                  \
  "-----BEGIN CERTIFICATE-----\\nMIIleaf\\n-----END CERTIFICATE-----\\n"       \
  "-----BEGIN CERTIFICATE-----\\nMIIissuing\\n-----END CERTIFICATE-----\\n"
#define CHAIN_TEXT                                                             \
  "-----BEGIN CERTIFICATE-----\nMIIleaf\n-----END CERTIFICATE-----\n"          \
  "-----BEGIN CERTIFICATE-----\nMIIissuing\n-----END CERTIFICATE-----\n"

#define CERT_OBJ                                                               \
  "{\"serial\":\"5f0c1d2e3f405162\",\"fingerprint\":\"ab12\","                 \
  "\"subject\":\"CN=www.app1.test\",\"issuer\":\"CN=certkeeper Issuing CA\"," \
  "\"sans\":[\"DNS:www.app1.test\",\"DNS:app1.test\"],"                        \
  "\"not_before\":\"2026-11-23T02:00:00Z\","                                   \
  "\"not_after\":\"2099-12-23T02:00:00Z\",\"key_type\":\"EC\","                \
  "\"key_bits\":256,\"sig_alg\":\"ecdsa-with-SHA256\",\"ca\":\"issuing\","     \
  "\"profile\":\"tls-server\",\"owner\":\"\",\"status\":\"active\","           \
  "\"source\":\"issued\",\"managed\":true,\"weak\":[],\"installs\":[]}"

static int setup(void **state) {
  *state = fake_start();
  return 0;
}

static int teardown(void **state) {
  fake_stop(*state);
  return 0;
}

/* The JSON string form of a text: newlines as \n (what jansson writes). */
static char *json_escaped(const char *s) {
  char *o = malloc(strlen(s) * 2 + 1), *p = o;

  assert_non_null(o);
  for (; *s != '\0'; s++) {
    if (*s == '\n') {
      *p++ = '\\';
      *p++ = 'n';
    } else {
      *p++ = *s;
    }
  }
  *p = '\0';
  return o;
}

static char *path_in(fake *f, const char *name) {
  char *p = malloc(700);
  assert_non_null(p);
  snprintf(p, 700, "%s/%s", f->dir, name);
  return p;
}

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static void test_issue_writes_chain(void **state) {
  fake *f = *state;
  char *csr_pem = ck_test_slurp("crypto/leaf.csr", NULL);
  char *esc = json_escaped(csr_pem), *out = path_in(f, "app1.pem"), *got;
  char want[4096];
  struct stat st;
  cli_run r;

  fake_answer(f, "POST", "/api/v1/certificates", 201,
              "{\"certificate\":" CERT_OBJ ",\"pem\":\"leaf\",\"chain_pem\":\"" CHAIN
              "\",\"request_id\":7}");
  r = cli(f, "cert issue --profile tls-server --csr '%s' --out '%s' "
             "--validity 30d --owner team-a",
          ck_test_data("crypto/leaf.csr"), out);
  assert_rc(r, 0);
  /* one line: serial, subject, names, expiry, profile, file */
  assert_non_null(strstr(r.out, "issued 5f0c1d2e3f405162 for CN=www.app1.test"));
  assert_non_null(strstr(r.out, "DNS:www.app1.test, DNS:app1.test"));
  assert_non_null(strstr(r.out, "expires 2099-12-23"));
  assert_non_null(strstr(r.out, out));
  assert_ptr_equal(strchr(r.out, '\n'), r.out + strlen(r.out) - 1);
  assert_string_equal(r.err, "");
  /* the request: POST, bearer token, JSON body with sorted keys */
  assert_int_equal(fake_nrecs(f), 1);
  assert_string_equal(f->recs[0].method, "POST");
  assert_string_equal(f->recs[0].path, "/api/v1/certificates");
  assert_string_equal(f->recs[0].auth, "Bearer " TEST_TOKEN);
  assert_string_equal(f->recs[0].ctype, "application/json");
  snprintf(want, sizeof want,
           "{\"csr\":\"%s\",\"owner\":\"team-a\",\"profile\":\"tls-server\","
           "\"validity\":\"30d\"}",
           esc);
  assert_string_equal(f->recs[0].body, want);
  /* the chain, exactly, mode 0644 */
  got = fake_slurp(out);
  assert_string_equal(got, CHAIN_TEXT);
  assert_int_equal(stat(out, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0644);
  free(got);
  cli_run_free(&r);

  /* --json: the API's answer, and the file is still written */
  assert_int_equal(unlink(out), 0);
  r = cli(f, "cert issue --profile tls-server --csr '%s' --out '%s' --json",
          ck_test_data("crypto/leaf.csr"), out);
  assert_rc(r, 0);
  assert_non_null(strstr(r.out, "\"chain_pem\""));
  assert_non_null(strstr(r.out, "\"serial\": \"5f0c1d2e3f405162\""));
  assert_true(exists(out));
  /* no validity/owner given: not sent */
  assert_null(strstr(f->recs[1].body, "validity"));
  assert_null(strstr(f->recs[1].body, "owner"));
  cli_run_free(&r);
  free(csr_pem);
  free(esc);
  free(out);
}

/* A DER CSR is sent as the same PEM text. */
static void test_issue_der_csr(void **state) {
  fake *f = *state;
  size_t len, der_len;
  char *pem = ck_test_slurp("crypto/leaf.csr", &len), *esc = json_escaped(pem);
  char *der_path = path_in(f, "leaf.der"), *out = path_in(f, "der.pem");
  ck_csr *csr = NULL;
  const uint8_t *der;
  ck_errctx err = CK_ERRCTX_INIT;
  cli_run r;

  assert_int_equal(ck_csr_parse((const uint8_t *)pem, len, &csr, &err), CK_OK);
  der = ck_csr_der(csr, &der_len);
  assert_int_equal(ck_fs_write_atomic(der_path, der, der_len, 0644, &err),
                   CK_OK);
  fake_answer(f, "POST", "/api/v1/certificates", 201,
              "{\"certificate\":" CERT_OBJ ",\"chain_pem\":\"" CHAIN "\"}");
  r = cli(f, "cert issue --profile tls-server --csr '%s' --out '%s'",
          der_path, out);
  assert_rc(r, 0);
  assert_non_null(strstr(f->recs[0].body, esc));
  cli_run_free(&r);
  ck_csr_free(csr);
  free(pem);
  free(esc);
  free(der_path);
  free(out);
}

static void test_issue_pending(void **state) {
  fake *f = *state;
  char *out = path_in(f, "pending.pem");
  cli_run r;

  fake_answer(f, "POST", "/api/v1/certificates", 202,
              "{\"request\":{\"id\":42,\"state\":\"pending\",\"reason\":"
              "\"profile 'manual' needs approval\"}}");
  r = cli(f, "cert issue --profile manual --csr '%s' --out '%s'",
          ck_test_data("crypto/leaf.csr"), out);
  assert_rc(r, 3);
  assert_non_null(strstr(r.out, "pending: request 42"));
  assert_non_null(strstr(r.out, "needs approval"));
  assert_false(exists(out));
  cli_run_free(&r);
  r = cli(f, "cert issue --profile manual --csr '%s' --out '%s' --json",
          ck_test_data("crypto/leaf.csr"), out);
  assert_rc(r, 3);
  assert_non_null(strstr(r.out, "\"id\": 42"));
  assert_false(exists(out));
  cli_run_free(&r);
  free(out);
}

static void test_issue_refused(void **state) {
  fake *f = *state;
  char *out = path_in(f, "evil.pem");
  cli_run r;

  fake_answer(f, "POST", "/api/v1/certificates", 403,
              "{\"type\":\"urn:certkeeper:problem:policy-violation\",\"title\":"
              "\"Forbidden by policy\",\"status\":403,\"detail\":\"san "
              "dns:evil.example.com is not allowed by profile 'tls-server' "
              "(allowed: .test, localhost)\"}");
  r = cli(f, "cert issue --profile tls-server --csr '%s' --out '%s'",
          ck_test_data("crypto/leaf.csr"), out);
  assert_rc(r, 4);
  assert_string_equal(r.out, "");
  assert_non_null(strstr(r.err, "refused by policy"));
  assert_non_null(strstr(r.err, "san dns:evil.example.com is not allowed by "
                                "profile 'tls-server' (allowed: .test, "
                                "localhost)"));
  assert_null(strstr(r.err, TEST_TOKEN));
  assert_false(exists(out));
  cli_run_free(&r);
  free(out);
}

/* The server's verdicts on a bad CSR, and problems without a problem
 * document. */
static void test_issue_server_errors(void **state) {
  fake *f = *state;
  char *out = path_in(f, "x.pem");
  cli_run r;

  fake_answer(f, "POST", "/api/v1/certificates", 400,
              "{\"type\":\"urn:certkeeper:problem:bad-csr\",\"title\":\"Bad "
              "CSR\",\"status\":400,\"detail\":\"CSR signature does not "
              "verify\"}");
  r = cli(f, "cert issue --profile tls-server --csr '%s' --out '%s'",
          ck_test_data("crypto/leaf.csr"), out);
  assert_rc(r, 11);
  assert_non_null(strstr(r.err, "CSR signature does not verify"));
  assert_false(exists(out));
  cli_run_free(&r);

  /* 2xx with something that is not a certificate: exit 8, nothing written */
  fake_reset(f);
  fake_answer(f, "POST", "/api/v1/certificates", 201, "{\"certificate\":{}}");
  r = cli(f, "cert issue --profile tls-server --csr '%s' --out '%s'",
          ck_test_data("crypto/leaf.csr"), out);
  assert_rc(r, 8);
  assert_false(exists(out));
  cli_run_free(&r);

  /* a proxy's HTML error page: exit 8, its first line shown */
  fake_reset(f);
  fake_answer(f, "POST", "/api/v1/certificates", 502,
              "<html>Bad Gateway</html>\n<body></body>");
  r = cli(f, "cert issue --profile tls-server --csr '%s' --out '%s'",
          ck_test_data("crypto/leaf.csr"), out);
  assert_rc(r, 8);
  assert_non_null(strstr(r.err, "HTTP 502"));
  assert_non_null(strstr(r.err, "<html>Bad Gateway</html>"));
  cli_run_free(&r);
  free(out);
}

/* Local problems stop before anything is sent. */
static void test_issue_local_errors(void **state) {
  fake *f = *state;
  char *out = path_in(f, "y.pem");
  cli_run r;

  r = cli(f, "cert issue --profile tls-server --csr '%s' --out '%s'",
          ck_test_data("crypto/leaf.crt"), out);
  assert_rc(r, 9);
  assert_non_null(strstr(r.err, "not a certificate signing request"));
  cli_run_free(&r);
  r = cli(f, "cert issue --profile tls-server --csr /nonexistent.csr "
             "--out '%s'", out);
  assert_rc(r, 9);
  assert_non_null(strstr(r.err, "/nonexistent.csr"));
  cli_run_free(&r);
  r = cli(f, "cert issue --profile tls-server --csr '%s' "
             "--out /nonexistent-dir/out.pem",
          ck_test_data("crypto/leaf.csr"));
  assert_rc(r, 9);
  cli_run_free(&r);
  r = cli(f, "cert issue --profile tls-server --csr '%s' --out '%s' "
             "--validity soon",
          ck_test_data("crypto/leaf.csr"), out);
  assert_rc(r, 1);
  assert_non_null(strstr(r.err, "--validity"));
  cli_run_free(&r);
  r = cli(f, "cert issue --csr '%s' --out '%s'",
          ck_test_data("crypto/leaf.csr"), out);
  assert_rc(r, 1);
  assert_non_null(strstr(r.err, "--profile"));
  cli_run_free(&r);
  assert_int_equal(fake_nrecs(f), 0);
  assert_false(exists(out));
  free(out);
}

#define LIST_PAGE1                                                             \
  "{\"items\":[" CERT_OBJ ",{\"serial\":\"77aa\",\"subject\":\"CN=old\","      \
  "\"not_after\":\"2001-01-01T00:00:00Z\",\"status\":\"active\","              \
  "\"profile\":\"\",\"owner\":\"team a\",\"managed\":false,"                   \
  "\"weak\":[\"rsa<2048\",\"sha1\"]}],\"next_cursor\":\"c2\"}"
#define LIST_PAGE2                                                             \
  "{\"items\":[{\"serial\":\"99bb\",\"subject\":\"CN=third\","                 \
  "\"status\":\"revoked\"}],\"next_cursor\":null}"

static void test_list_filters_and_table(void **state) {
  fake *f = *state;
  cli_run r;

  fake_answer(f, "GET", "/api/v1/certificates", 200, LIST_PAGE1);
  r = cli(f, "cert list --expiring 30d --owner 'team a' --host agent-1 "
             "--profile tls-server --ca issuing --status active --unmanaged "
             "--weak --limit 50");
  assert_rc(r, 0);
  assert_string_equal(f->recs[0].method, "GET");
  assert_string_equal(f->recs[0].query,
                      "expiring=30d&owner=team%20a&host=agent-1&profile=tls-"
                      "server&ca=issuing&status=active&unmanaged=1&weak=1&"
                      "limit=50");
  assert_string_equal(f->recs[0].auth, "Bearer " TEST_TOKEN);
  assert_string_equal(f->recs[0].body, "");
  /* a header and one row per certificate */
  assert_true(strncmp(r.out, "SERIAL", 6) == 0);
  assert_non_null(strstr(r.out, "5f0c1d2e3f405162"));
  assert_non_null(strstr(r.out, "2099-12-23 (in "));
  assert_non_null(strstr(r.out, "expired"));
  assert_non_null(strstr(r.out, "unmanaged weak(rsa<2048, sha1)"));
  assert_null(strstr(r.out, "99bb"));
  /* the next page is announced, not fetched */
  assert_non_null(strstr(r.err, "--cursor c2"));
  assert_int_equal(fake_nrecs(f), 1);
  cli_run_free(&r);

  r = cli(f, "cert list --limit 5000");
  assert_rc(r, 1);
  cli_run_free(&r);
  r = cli(f, "cert list --expiring soon");
  assert_rc(r, 1);
  cli_run_free(&r);
  assert_int_equal(fake_nrecs(f), 1);
}

static void test_list_all_follows_cursor(void **state) {
  fake *f = *state;
  char *path = path_in(f, "stdout.txt");
  cli_run r;

  fake_answer_q(f, "GET", "/api/v1/certificates", "weak=1&cursor=c2", 200,
                LIST_PAGE2);
  fake_answer_q(f, "GET", "/api/v1/certificates", "weak=1", 200, LIST_PAGE1);
  r = cli(f, "cert list --weak --all");
  assert_rc(r, 0);
  assert_int_equal(fake_nrecs(f), 2);
  assert_string_equal(f->recs[1].query, "weak=1&cursor=c2");
  assert_non_null(strstr(r.out, "5f0c1d2e3f405162"));
  assert_non_null(strstr(r.out, "99bb"));
  assert_string_equal(r.err, "");
  cli_run_free(&r);

  /* --json --all: one JSON document holding every item */
  r = cli(f, "cert list --weak --all --json");
  assert_rc(r, 0);
  assert_non_null(strstr(r.out, "\"99bb\""));
  assert_non_null(strstr(r.out, "\"next_cursor\": null"));
  if (ck_test_have("python3")) {
    assert_int_equal(
        ck_test_sh(NULL,
                   "python3 -c 'import json,sys; d=json.load(open(sys.argv[1]));"
                   " assert len(d[\"items\"])==3' '%s'",
                   path),
        0);
  }
  cli_run_free(&r);

  /* --json without --all: the page exactly as the API gave it */
  r = cli(f, "cert list --weak --json");
  assert_rc(r, 0);
  assert_non_null(strstr(r.out, "\"next_cursor\": \"c2\""));
  assert_null(strstr(r.out, "99bb"));
  cli_run_free(&r);

  /* a server that repeats its cursor does not loop forever */
  fake_reset(f);
  fake_answer(f, "GET", "/api/v1/certificates", 200, LIST_PAGE1);
  r = cli(f, "cert list --all");
  assert_rc(r, 8);
  assert_non_null(strstr(r.err, "repeated cursor"));
  cli_run_free(&r);
  free(path);
}

static void test_show(void **state) {
  fake *f = *state;
  cli_run r;

  fake_answer(f, "GET", "/api/v1/certificates/5f0c1d2e3f405162", 200,
              "{\"serial\":\"5f0c1d2e3f405162\",\"subject\":\"CN=www."
              "app1.test\",\"sans\":[\"DNS:www.app1.test\"],\"status\":"
              "\"active\",\"revoked_reason\":\"\",\"pem\":\"-----BEGIN "
              "CERTIFICATE-----\\nMIIleaf\\n-----END CERTIFICATE-----\\n\","
              "\"installs\":[{\"agent\":\"web-1\",\"path\":\"/etc/ssl/a."
              "pem\"}]}");
  r = cli(f, "cert show 5f0c1d2e3f405162");
  assert_rc(r, 0);
  assert_non_null(strstr(r.out, "serial:"));
  assert_non_null(strstr(r.out, "5f0c1d2e3f405162"));
  assert_non_null(strstr(r.out, "DNS:www.app1.test"));
  assert_non_null(strstr(r.out, "installs:"));
  assert_non_null(strstr(r.out, "/etc/ssl/a.pem"));
  assert_non_null(strstr(r.out, "revoked reason:")); /* unknown keys too */
  assert_null(strstr(r.out, "BEGIN CERTIFICATE"));
  cli_run_free(&r);
  r = cli(f, "cert show 5f0c1d2e3f405162 --pem");
  assert_rc(r, 0);
  assert_string_equal(r.out, "-----BEGIN CERTIFICATE-----\nMIIleaf\n"
                             "-----END CERTIFICATE-----\n");
  cli_run_free(&r);
  /* fingerprints with ':' and other reserved characters are encoded */
  r = cli(f, "cert show 'AB:CD/x y'");
  assert_rc(r, 6);
  assert_string_equal(f->recs[2].path, "/api/v1/certificates/AB%3ACD%2Fx%20y");
  assert_non_null(strstr(r.err, "not found"));
  cli_run_free(&r);
  r = cli(f, "cert show");
  assert_rc(r, 1);
  cli_run_free(&r);
}

static void test_revoke(void **state) {
  fake *f = *state;
  cli_run r;

  fake_answer(f, "POST", "/api/v1/certificates/5f0c/revoke", 200,
              "{\"status\":\"revoked\"}");
  r = cli(f, "cert revoke 5f0c --reason keyCompromise");
  assert_rc(r, 0);
  assert_string_equal(f->recs[0].method, "POST");
  assert_string_equal(f->recs[0].path, "/api/v1/certificates/5f0c/revoke");
  assert_string_equal(f->recs[0].body, "{\"reason\":\"keyCompromise\"}");
  assert_non_null(strstr(r.out, "revoked 5f0c (reason keyCompromise)"));
  cli_run_free(&r);
  r = cli(f, "cert revoke 5f0c --reason superseded --force");
  assert_rc(r, 0);
  cli_run_free(&r);
  /* not an RFC 5280 reason: refused locally */
  r = cli(f, "cert revoke 5f0c --reason becauseIsaidso");
  assert_rc(r, 1);
  assert_non_null(strstr(r.err, "keyCompromise"));
  cli_run_free(&r);
  r = cli(f, "cert revoke 5f0c");
  assert_rc(r, 1);
  cli_run_free(&r);
  assert_int_equal(fake_nrecs(f), 2);
  /* already revoked */
  fake_reset(f);
  fake_answer(f, "POST", "/api/v1/certificates/5f0c/revoke", 409,
              "{\"type\":\"urn:certkeeper:problem:conflict\",\"title\":"
              "\"Conflict\",\"status\":409,\"detail\":\"certificate 5f0c is "
              "already revoked\"}");
  r = cli(f, "cert revoke 5f0c --reason superseded");
  assert_rc(r, 7);
  assert_non_null(strstr(r.err, "already revoked"));
  cli_run_free(&r);
}

/* Status to exit code, and the detail on stderr, for every problem. */
static void test_status_mapping(void **state) {
  fake *f = *state;
  static const struct {
    int status;
    const char *type;
    int rc;
  } cases[] = {{401, "unauthorized", 5}, {403, "forbidden", 5},
               {403, "policy-violation", 4}, {404, "not-found", 6},
               {409, "conflict", 7}, {400, "bad-request", 11},
               {413, "payload-too-large", 11}, {415, "unsupported-media-type", 11},
               {500, "internal", 8}, {503, "internal", 8}};
  char body[512];
  size_t i;
  cli_run r;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fake_reset(f);
    snprintf(body, sizeof body,
             "{\"type\":\"urn:certkeeper:problem:%s\",\"title\":\"T\","
             "\"status\":%d,\"detail\":\"detail-%zu\"}",
             cases[i].type, cases[i].status, i);
    fake_answer(f, "GET", "/api/v1/certificates/x", cases[i].status, body);
    r = cli(f, "cert show x");
    assert_rc(r, cases[i].rc);
    snprintf(body, sizeof body, "detail-%zu", i);
    assert_non_null(strstr(r.err, body));
    assert_string_equal(r.out, "");
    assert_null(strstr(r.err, TEST_TOKEN));
    cli_run_free(&r);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_issue_writes_chain, setup, teardown),
      cmocka_unit_test_setup_teardown(test_issue_der_csr, setup, teardown),
      cmocka_unit_test_setup_teardown(test_issue_pending, setup, teardown),
      cmocka_unit_test_setup_teardown(test_issue_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_issue_server_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_issue_local_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_list_filters_and_table, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_list_all_follows_cursor, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_show, setup, teardown),
      cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
      cmocka_unit_test_setup_teardown(test_status_mapping, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
