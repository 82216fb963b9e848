/* test_input.c — bad input to the store gets a specific error naming what
 * is wrong, never a crash, and leaves the write unchanged: NULL records and
 * fields, oversized fields, malformed hashes, enums out of range, misuse of
 * writes, bad page cursors and limits, bad read arguments. */
#include "tests/unit/store/fixture.h"

#include <stdlib.h>

static void expect(ck_err got, ck_err want, const ck_errctx *e,
                   const char *needle) {
  if (got != want || (needle != NULL && strstr(e->msg, needle) == NULL))
    print_error("got %s '%s', want %s '%s'\n", ck_err_name(got), e->msg,
                ck_err_name(want), needle ? needle : "");
  assert_int_equal(got, want);
  if (needle != NULL)
    assert_non_null(strstr(e->msg, needle));
}

#define EXPECT(call, want, needle)                                             \
  do {                                                                         \
    ck_errctx e_ = CK_ERRCTX_INIT;                                             \
    ck_err rc_ = (call);                                                       \
    expect(rc_, (want), &e_, (needle));                                        \
  } while (0)

/* The call must use &e_ as its error context. */
#define E (&e_)

static void cert_fields(void **state) {
  fx f;
  ck_store_write *w = ck_store_write_new();
  ck_store_cert c;
  char *big = malloc(CK_STORE_SANS_MAX + 2);
  uint8_t *bigder = calloc(1, CK_STORE_BLOB_MAX + 1);

  (void)state;
  fx_setup(&f);
  assert_non_null(big);
  assert_non_null(bigder);
  memset(big, 'a', CK_STORE_SANS_MAX + 1);
  big[CK_STORE_SANS_MAX + 1] = '\0';

  EXPECT(ck_store_write_cert_put(w, NULL, E), CK_ERR_INVAL, "NULL");
  EXPECT(ck_store_write_cert_put(NULL, &c, E), CK_ERR_INVAL, "write");
  fx_cert(&f, &c, 1);
  c.fingerprint[0] = '\0';
  EXPECT(ck_store_write_cert_put(w, &c, E), CK_ERR_INVAL,
         "cert.fingerprint is required");
  fx_cert(&f, &c, 1);
  c.fingerprint[10] = 'x';
  EXPECT(ck_store_write_cert_put(w, &c, E), CK_ERR_PARSE,
         "cert.fingerprint is not a SHA-256");
  fx_cert(&f, &c, 1);
  c.spki_sha256[63] = '\0'; /* 63 digits */
  EXPECT(ck_store_write_cert_put(w, &c, E), CK_ERR_PARSE, "cert.spki_sha256");
  fx_cert(&f, &c, 1);
  c.serial_hex = NULL;
  EXPECT(ck_store_write_cert_put(w, &c, E), CK_ERR_INVAL,
         "cert.serial_hex is required");
  fx_cert(&f, &c, 1);
  c.subject = big;
  EXPECT(ck_store_write_cert_put(w, &c, E), CK_ERR_LIMIT,
         "cert.subject is longer than 16384");
  fx_cert(&f, &c, 1);
  c.sans = big;
  EXPECT(ck_store_write_cert_put(w, &c, E), CK_ERR_LIMIT, "cert.sans");
  fx_cert(&f, &c, 1);
  c.der = NULL;
  EXPECT(ck_store_write_cert_put(w, &c, E), CK_ERR_INVAL,
         "cert.der is required");
  fx_cert(&f, &c, 1);
  c.der = bigder;
  c.der_len = CK_STORE_BLOB_MAX + 1;
  EXPECT(ck_store_write_cert_put(w, &c, E), CK_ERR_LIMIT, "cert.der");
  fx_cert(&f, &c, 1);
  c.status = (ck_cert_status)9;
  EXPECT(ck_store_write_cert_put(w, &c, E), CK_ERR_INVAL, "cert.status 9");
  fx_cert(&f, &c, 1);
  c.source = (ck_cert_source)-1;
  EXPECT(ck_store_write_cert_put(w, &c, E), CK_ERR_INVAL, "cert.source");
  fx_cert(&f, &c, 1);
  c.not_after = c.not_before - 1;
  EXPECT(ck_store_write_cert_put(w, &c, E), CK_ERR_INVAL, "not_after");
  fx_cert(&f, &c, 1);
  c.ca_id = -5;
  EXPECT(ck_store_write_cert_put(w, &c, E), CK_ERR_INVAL, "cert.ca_id");
  /* none of that left an operation behind */
  assert_int_equal(ck_store_write_count(w), 0);
  {
    ck_store_cert_patch p = {NULL, NULL, 7, -1};
    EXPECT(ck_store_write_cert_set(w, c.fingerprint, &p, E), CK_ERR_INVAL,
           "status 7");
    EXPECT(ck_store_write_cert_set(w, "nope", &p, E), CK_ERR_PARSE,
           "fingerprint");
    EXPECT(ck_store_write_cert_set(w, c.fingerprint, NULL, E), CK_ERR_INVAL,
           "patch");
  }
  assert_int_equal(ck_store_write_count(w), 0);
  free(big);
  free(bigder);
  ck_store_write_free(w);
  fx_teardown(&f);
}

static void other_records(void **state) {
  fx f;
  ck_store_write *w = ck_store_write_new();
  ck_store_install in = {0};
  ck_store_agent a = {0};
  ck_store_owner o = {0};
  ck_store_profile p = {0};
  ck_store_request r = {0};
  ck_store_revocation rv = {0};
  ck_store_etoken t = {0};
  ck_store_apitoken at = {0};
  ck_store_ca ca = {0};
  ck_audit_event ev = {0};
  char name[CK_STORE_NAME_MAX + 2];

  (void)state;
  fx_setup(&f);
  memset(name, 'n', sizeof name - 1);
  name[sizeof name - 1] = '\0';

  EXPECT(ck_store_write_install_put(w, &in, E), CK_ERR_INVAL,
         "install.cert_fp is required");
  fx_hex("fp", 1, in.cert_fp);
  EXPECT(ck_store_write_install_put(w, &in, E), CK_ERR_INVAL,
         "install.agent_id is required");
  in.agent_id = name;
  EXPECT(ck_store_write_install_del(w, &in, E), CK_ERR_LIMIT,
         "install.agent_id is longer than 256");
  EXPECT(ck_store_write_agent_put(w, &a, E), CK_ERR_INVAL, "agent.id");
  a.id = "x";
  a.status = (ck_agent_status)3;
  EXPECT(ck_store_write_agent_put(w, &a, E), CK_ERR_INVAL, "agent.status");
  a.status = CK_AGENT_ACTIVE;
  memcpy(a.identity_fp, "zz", 3);
  EXPECT(ck_store_write_agent_put(w, &a, E), CK_ERR_PARSE, "agent.identity_fp");
  EXPECT(ck_store_write_agent_seen(w, NULL, 0, NULL, NULL, E), CK_ERR_INVAL,
         "agent.id");
  EXPECT(ck_store_write_owner_put(w, &o, E), CK_ERR_INVAL, "owner.name");
  EXPECT(ck_store_write_owner_del(w, "", E), CK_ERR_INVAL, "owner.name");
  p.name = "x";
  EXPECT(ck_store_write_profile_put(w, &p, -1, E), CK_ERR_INVAL,
         "profile.body is required");
  p.body = "{}";
  EXPECT(ck_store_write_profile_put(w, &p, -1, E), CK_ERR_INVAL,
         "profile.actor");
  r.actor = "a";
  EXPECT(ck_store_write_request_put(w, &r, E), CK_ERR_INVAL, "request.profile");
  r.profile = "p";
  r.state = (ck_request_state)5;
  EXPECT(ck_store_write_request_put(w, &r, E), CK_ERR_INVAL, "request.state");
  EXPECT(ck_store_write_request_set(w, 0, CK_REQ_ISSUED, NULL, NULL, E),
         CK_ERR_INVAL, "request.id");
  EXPECT(ck_store_write_request_set(w, 1, CK_REQ_PENDING, NULL, NULL, E),
         CK_ERR_INVAL, "request.state");
  EXPECT(ck_store_write_revoke(w, &rv, E), CK_ERR_INVAL, "cert_fp");
  fx_hex("fp", 1, rv.cert_fp);
  rv.actor = "x";
  rv.reason = 7;
  EXPECT(ck_store_write_revoke(w, &rv, E), CK_ERR_INVAL, "CRLReason");
  EXPECT(ck_store_write_etoken_put(w, &t, E), CK_ERR_INVAL, "etoken.id");
  t.id = "t";
  fx_hex("h", 1, t.hash);
  t.actor = "x";
  EXPECT(ck_store_write_etoken_put(w, &t, E), CK_ERR_INVAL,
         "etoken.expires_at");
  EXPECT(ck_store_write_etoken_use(w, "abc", "agent", 0, E), CK_ERR_PARSE,
         "etoken.hash");
  EXPECT(ck_store_write_etoken_use(w, t.hash, NULL, 0, E), CK_ERR_INVAL,
         "etoken.used_by");
  at.name = "n";
  EXPECT(ck_store_write_apitoken_put(w, &at, E), CK_ERR_INVAL, "apitoken.hash");
  EXPECT(ck_store_write_apitoken_revoke(w, NULL, E), CK_ERR_INVAL,
         "apitoken.name");
  ca.name = "ca";
  ca.key_path = "/k";
  EXPECT(ck_store_write_ca_put(w, &ca, E), CK_ERR_INVAL,
         "ca.cert_der is required");
  EXPECT(ck_store_write_ca_crl_number(w, 0, E), CK_ERR_INVAL, "ca.id");
  EXPECT(ck_store_write_audit(w, NULL, E), CK_ERR_INVAL, "NULL");
  EXPECT(ck_store_write_audit(w, &ev, E), CK_ERR_INVAL, "audit.actor");
  ev.actor = "me";
  EXPECT(ck_store_write_audit(w, &ev, E), CK_ERR_INVAL, "audit.action");
  ev.action = "x.y";
  {
    char *huge = malloc(CK_STORE_BODY_MAX + 2);
    assert_non_null(huge);
    memset(huge, '{', CK_STORE_BODY_MAX + 1);
    huge[CK_STORE_BODY_MAX + 1] = '\0';
    ev.details = huge;
    EXPECT(ck_store_write_audit(w, &ev, E), CK_ERR_LIMIT, "audit.details");
    free(huge);
  }
  ev.details = NULL; /* absent details are fine */
  EXPECT(ck_store_write_audit(w, &ev, E), CK_OK, NULL);
  assert_int_equal(ck_store_write_count(w), 1);
  ck_store_write_free(w);
  fx_teardown(&f);
}

static void write_misuse(void **state) {
  fx f;
  ck_store_write *w = ck_store_write_new();
  ck_store_cert c;

  (void)state;
  fx_setup(&f);
  /* an empty write is refused, synchronously, callback never called */
  assert_int_equal(ck_store_submit(f.s, w, NULL, NULL), CK_ERR_INVAL);
  EXPECT(ck_store_submit_wait(f.s, w, E), CK_ERR_INVAL, "empty");
  assert_int_equal(ck_store_submit(NULL, w, NULL, NULL), CK_ERR_INVAL);
  assert_int_equal(ck_store_submit(f.s, NULL, NULL, NULL), CK_ERR_INVAL);
  /* results of a write never submitted are 0; out-of-range index too */
  fx_cert(&f, &c, 1);
  assert_int_equal(ck_store_write_cert_put(w, &c, NULL), CK_OK);
  assert_int_equal(ck_store_write_result(w, 5), 0);
  fx_commit(&f, w, CK_OK);
  assert_true(ck_store_write_result(w, 0) > 0);
  assert_int_equal(ck_store_write_result(w, 1), 0);
  assert_int_equal(ck_store_write_status(w), CK_OK);
  assert_string_equal(ck_store_write_errmsg(w), "");
  ck_store_write_free(w);
  ck_store_write_free(NULL);
  ck_store_write_reset(NULL);
  assert_int_equal(ck_store_write_count(NULL), 0);
  fx_teardown(&f);
}

static void read_arguments(void **state) {
  fx f;
  ck_store_cert got, *items = NULL;
  ck_store_page pg = {0};
  ck_cert_filter q = {0};
  size_t n = 0;

  (void)state;
  fx_setup(&f);
  EXPECT(ck_store_cert_get(f.s, "12", 0, f.a, &got, E), CK_ERR_PARSE,
         "not a SHA-256");
  EXPECT(ck_store_cert_get(f.s, NULL, 0, f.a, &got, E), CK_ERR_INVAL,
         "required");
  EXPECT(ck_store_cert_get(f.s, "00", 0, NULL, &got, E), CK_ERR_INVAL,
         "missing");
  pg.limit = CK_STORE_PAGE_MAX + 1;
  EXPECT(ck_store_cert_list(f.s, &q, &pg, f.a, &items, &n, E), CK_ERR_LIMIT,
         "page limit");
  pg.limit = 10;
  pg.cursor = "12abc";
  EXPECT(ck_store_cert_list(f.s, &q, &pg, f.a, &items, &n, E), CK_ERR_PARSE,
         "cursor");
  pg.cursor = "-1";
  EXPECT(ck_store_cert_list(f.s, &q, &pg, f.a, &items, &n, E), CK_ERR_PARSE,
         "cursor");
  q.by = CK_CERTQ_EXPIRING;
  pg.cursor = "123";
  EXPECT(ck_store_cert_list(f.s, &q, &pg, f.a, &items, &n, E), CK_ERR_PARSE,
         "cursor");
  pg.cursor = "99999999999999999999999:1";
  EXPECT(ck_store_cert_list(f.s, &q, &pg, f.a, &items, &n, E), CK_ERR_PARSE,
         "cursor");
  pg.cursor = NULL;
  q.from = 10;
  q.until = 5;
  EXPECT(ck_store_cert_list(f.s, &q, &pg, f.a, &items, &n, E), CK_ERR_INVAL,
         "window");
  q.by = CK_CERTQ_OWNER;
  EXPECT(ck_store_cert_list(f.s, &q, &pg, f.a, &items, &n, E), CK_ERR_INVAL,
         "owner is required");
  q.by = CK_CERTQ_SPKI;
  q.key = "zz";
  EXPECT(ck_store_cert_list(f.s, &q, &pg, f.a, &items, &n, E), CK_ERR_PARSE,
         "SPKI");
  q.by = CK_CERTQ_CA;
  EXPECT(ck_store_cert_list(f.s, &q, &pg, f.a, &items, &n, E), CK_ERR_INVAL,
         "CA id");
  q.by = (ck_cert_query)77;
  EXPECT(ck_store_cert_list(f.s, &q, &pg, f.a, &items, &n, E), CK_ERR_INVAL,
         "unknown certificate query");
  EXPECT(ck_store_cert_list(f.s, NULL, &pg, f.a, &items, &n, E), CK_ERR_INVAL,
         NULL);
  {
    ck_store_install *ins = NULL;
    ck_store_request *reqs = NULL;
    EXPECT(ck_store_install_list(f.s, NULL, NULL, &pg, f.a, &ins, &n, E),
           CK_ERR_INVAL, "not both");
    EXPECT(ck_store_request_list(f.s, 9, &pg, f.a, &reqs, &n, E), CK_ERR_INVAL,
           "state 9");
  }
  {
    ck_store_profile pr;
    EXPECT(ck_store_profile_get(f.s, "p", -1, f.a, &pr, E), CK_ERR_INVAL,
           "version");
  }
  {
    char name[CK_STORE_NAME_MAX + 2];
    ck_store_agent ag;
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    EXPECT(ck_store_agent_get(f.s, name, f.a, &ag, E), CK_ERR_LIMIT,
           "agent id");
  }
  fx_teardown(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(cert_fields),
      cmocka_unit_test(other_records),
      cmocka_unit_test(write_misuse),
      cmocka_unit_test(read_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
