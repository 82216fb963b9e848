/* test_queries.c — the inventory queries return exactly the right rows, in
 * order, page by page: expiring within a window, by owner / host / profile
 * / CA / serial / shared key, unmanaged, weak; installations and the
 * shared-key flag (recounted once per key at the end of a write); the
 * expiry sweep. */
#include "tests/unit/store/fixture.h"

#include "common/util/clock.h"

#define N 40

/* Certificate i: owner team-(i%3), profile p-(i%2), CA 1 + (i%2), expires
 * i+1 days after FX_NOW; every 5th discovered (unmanaged); every 7th weak;
 * certificates 30..32 share one key. */
static void build(fx *f) {
  ck_store_write *w = ck_store_write_new();
  char owner[3][16], profile[2][16];
  long i;

  assert_non_null(w);
  for (i = 0; i < 3; i++)
    snprintf(owner[i], sizeof owner[i], "team-%ld", i);
  for (i = 0; i < 2; i++)
    snprintf(profile[i], sizeof profile[i], "p-%ld", i);
  for (i = 0; i < N; i++) {
    ck_store_cert c;
    fx_cert(f, &c, i);
    c.owner = owner[i % 3];
    c.profile = profile[i % 2];
    c.ca_id = 1 + i % 2;
    if (i % 5 == 0) {
      c.source = CK_CERT_SRC_DISCOVERED;
      c.ca_id = 0;
      c.owner = "";
      c.profile = "";
    }
    if (i % 7 == 0) {
      c.weak_flags = CK_WEAK_RSA_SMALL;
      c.weak_reason = "RSA key of 1024 bits (< 2048)";
    }
    if (i >= 30 && i <= 32)
      fx_hex("spki", 30, c.spki_sha256);
    assert_int_equal(ck_store_write_cert_put(w, &c, NULL), CK_OK);
  }
  fx_commit(f, w, CK_OK);
  ck_store_write_free(w);
}

/* Index of certificate c in the build (from its subject). */
static long which(const ck_store_cert *c) {
  long i = -1;
  assert_int_equal(sscanf(c->subject, "CN=host%ld.", &i), 1);
  return i;
}

/* Lists every page of filter q with the given page size and checks the
 * returned indexes equal want[0..nwant) in order. */
static void expect_rows(fx *f, const ck_cert_filter *q, unsigned limit,
                        const long *want, size_t nwant) {
  ck_store_page pg = {limit, NULL, NULL};
  ck_errctx e = CK_ERRCTX_INIT;
  size_t got = 0, pages = 0;

  do {
    ck_store_cert *items = NULL;
    size_t n = 0, i;
    ck_err rc = ck_store_cert_list(f->s, q, &pg, f->a, &items, &n, &e);
    if (rc != CK_OK)
      print_error("list: %s\n", e.msg);
    assert_int_equal(rc, CK_OK);
    assert_true(n <= limit);
    for (i = 0; i < n; i++) {
      assert_true(got < nwant);
      if (which(&items[i]) != want[got])
        print_error("row %zu: got host%ld, want host%ld\n", got,
                    which(&items[i]), want[got]);
      assert_int_equal(which(&items[i]), want[got]);
      assert_null(items[i].der);
      got++;
    }
    pg.cursor = pg.next_cursor;
    pages++;
    assert_true(pages < 100);
  } while (pg.cursor != NULL);
  assert_int_equal(got, nwant);
}

static void each_query(void **state) {
  fx f;
  ck_cert_filter q;
  long want[N];
  size_t n;
  long i;
  unsigned limit;

  (void)state;
  fx_setup(&f);
  build(&f);
  for (limit = 1; limit <= 7; limit += 3) {
    /* all */
    memset(&q, 0, sizeof q);
    for (i = 0, n = 0; i < N; i++)
      want[n++] = i;
    expect_rows(&f, &q, limit, want, n);
    /* expiring within 10 days: 0..8 (not_after = now + (i+1) days) */
    q.by = CK_CERTQ_EXPIRING;
    q.from = FX_NOW;
    q.until = FX_NOW + 10 * FX_DAY;
    for (i = 0, n = 0; i < 9; i++)
      want[n++] = i;
    expect_rows(&f, &q, limit, want, n);
    /* a window that starts later: days 20..24 */
    q.from = FX_NOW + 20 * FX_DAY;
    q.until = FX_NOW + 25 * FX_DAY;
    for (i = 19, n = 0; i < 24; i++)
      want[n++] = i;
    expect_rows(&f, &q, limit, want, n);
    /* by owner */
    memset(&q, 0, sizeof q);
    q.by = CK_CERTQ_OWNER;
    q.key = "team-1";
    for (i = 0, n = 0; i < N; i++)
      if (i % 3 == 1 && i % 5 != 0)
        want[n++] = i;
    expect_rows(&f, &q, limit, want, n);
    /* by profile */
    q.by = CK_CERTQ_PROFILE;
    q.key = "p-0";
    for (i = 0, n = 0; i < N; i++)
      if (i % 2 == 0 && i % 5 != 0)
        want[n++] = i;
    expect_rows(&f, &q, limit, want, n);
    /* by CA */
    memset(&q, 0, sizeof q);
    q.by = CK_CERTQ_CA;
    q.ca_id = 2;
    for (i = 0, n = 0; i < N; i++)
      if (i % 2 == 1 && i % 5 != 0)
        want[n++] = i;
    expect_rows(&f, &q, limit, want, n);
    /* unmanaged */
    memset(&q, 0, sizeof q);
    q.by = CK_CERTQ_UNMANAGED;
    for (i = 0, n = 0; i < N; i++)
      if (i % 5 == 0)
        want[n++] = i;
    expect_rows(&f, &q, limit, want, n);
    /* weak */
    q.by = CK_CERTQ_WEAK;
    for (i = 0, n = 0; i < N; i++)
      if (i % 7 == 0)
        want[n++] = i;
    expect_rows(&f, &q, limit, want, n);
    /* sharing a key */
    q.by = CK_CERTQ_SPKI;
    {
      char spki[65];
      fx_hex("spki", 30, spki);
      q.key = spki;
      want[0] = 30, want[1] = 31, want[2] = 32;
      expect_rows(&f, &q, limit, want, 3);
    }
  }
  /* by serial (any case), with and without the CA */
  memset(&q, 0, sizeof q);
  q.by = CK_CERTQ_SERIAL;
  q.key = "100D0A"; /* certificate 13: 0x1000 + 13 = 0x100d, then "0a" */
  want[0] = 13;
  expect_rows(&f, &q, 10, want, 1);
  q.ca_id = 2;
  expect_rows(&f, &q, 10, want, 1);
  q.ca_id = 1;
  expect_rows(&f, &q, 10, want, 0);
  /* an owner nobody has */
  memset(&q, 0, sizeof q);
  q.by = CK_CERTQ_OWNER;
  q.key = "nobody";
  expect_rows(&f, &q, 10, want, 0);
  fx_teardown(&f);
}

static void expiring_order_and_status(void **state) {
  fx f;
  ck_store_write *w = ck_store_write_new();
  ck_cert_filter q = {0};
  ck_store_cert c;
  long want[4];
  long i;

  (void)state;
  fx_setup(&f);
  /* same expiry for 3 certificates: the cursor must not lose any */
  for (i = 0; i < 5; i++) {
    fx_cert(&f, &c, i);
    c.not_after = FX_NOW + (i < 3 ? 5 : 2) * FX_DAY;
    if (i == 4)
      c.status = CK_CERT_REVOKED; /* revoked: not "expiring" */
    assert_int_equal(ck_store_write_cert_put(w, &c, NULL), CK_OK);
  }
  fx_commit(&f, w, CK_OK);
  q.by = CK_CERTQ_EXPIRING;
  q.from = FX_NOW;
  q.until = FX_NOW + 30 * FX_DAY;
  want[0] = 3, want[1] = 0, want[2] = 1, want[3] = 2;
  expect_rows(&f, &q, 1, want, 4);
  expect_rows(&f, &q, 2, want, 4);
  expect_rows(&f, &q, 100, want, 4);
  ck_store_write_free(w);
  fx_teardown(&f);
}

static void installs_and_shared_keys(void **state) {
  fx f;
  ck_store_write *w = ck_store_write_new();
  ck_errctx e = CK_ERRCTX_INIT;
  ck_store_cert a, b, got;
  ck_store_install in = {0}, *ins = NULL;
  ck_store_page pg = {0};
  ck_cert_filter q = {0};
  size_t n = 0;
  long want[2];

  (void)state;
  fx_setup(&f);
  fx_cert(&f, &a, 1);
  fx_cert(&f, &b, 2);
  memcpy(b.spki_sha256, a.spki_sha256, 65); /* same key, two certificates */
  a.source = b.source = CK_CERT_SRC_DISCOVERED;
  a.weak_flags = CK_WEAK_SELF_SIGNED;
  a.weak_reason = "self-signed leaf";
  fx_put_cert(&f, &a);
  fx_put_cert(&f, &b);

  /* a on host-1 twice (file and endpoint): one host, no shared key */
  memcpy(in.cert_fp, a.fingerprint, 65);
  in.agent_id = "host-1";
  in.path = "/etc/nginx/tls/a.pem";
  in.service = "nginx";
  assert_int_equal(ck_store_write_install_put(w, &in, &e), CK_OK);
  in.path = "";
  in.endpoint = "10.0.0.1:443";
  assert_int_equal(ck_store_write_install_put(w, &in, &e), CK_OK);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(ck_store_cert_get(f.s, a.fingerprint, 0, f.a, &got, &e),
                   CK_OK);
  assert_int_equal(got.weak_flags, CK_WEAK_SELF_SIGNED);
  /* b (same key) on host-2: both flagged */
  ck_store_write_reset(w);
  memcpy(in.cert_fp, b.fingerprint, 65);
  in.agent_id = "host-2";
  in.path = "/etc/haproxy/b.pem";
  in.endpoint = "";
  in.service = "haproxy";
  assert_int_equal(ck_store_write_install_put(w, &in, &e), CK_OK);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(ck_store_cert_get(f.s, a.fingerprint, 0, f.a, &got, &e),
                   CK_OK);
  assert_int_equal(got.weak_flags, CK_WEAK_SELF_SIGNED | CK_WEAK_SHARED_KEY);
  assert_string_equal(got.weak_reason,
                      "self-signed leaf; key shared across hosts");
  assert_int_equal(ck_store_cert_get(f.s, b.fingerprint, 0, f.a, &got, &e),
                   CK_OK);
  assert_int_equal(got.weak_flags, CK_WEAK_SHARED_KEY);
  assert_string_equal(got.weak_reason, "key shared across hosts");
  q.by = CK_CERTQ_WEAK;
  want[0] = 1, want[1] = 2;
  expect_rows(&f, &q, 10, want, 2);

  /* where is a installed; what is on host-1 */
  assert_int_equal(
      ck_store_install_list(f.s, a.fingerprint, NULL, &pg, f.a, &ins, &n, &e),
      CK_OK);
  assert_int_equal(n, 2);
  assert_string_equal(ins[0].agent_id, "host-1");
  assert_string_equal(ins[0].path, "/etc/nginx/tls/a.pem");
  assert_string_equal(ins[0].service, "nginx");
  assert_string_equal(ins[0].cert_fp, a.fingerprint);
  assert_string_equal(ins[1].endpoint, "10.0.0.1:443");
  assert_true(ins[0].first_seen > 0);
  memset(&q, 0, sizeof q);
  q.by = CK_CERTQ_AGENT;
  q.key = "host-1";
  want[0] = 1;
  expect_rows(&f, &q, 10, want, 1); /* two installs, one certificate */
  q.key = "host-2";
  want[0] = 2;
  expect_rows(&f, &q, 10, want, 1);

  /* b leaves host-2: the key is on one host again */
  ck_store_write_reset(w);
  assert_int_equal(ck_store_write_install_del(w, &in, &e), CK_OK);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(ck_store_write_result(w, 0), 1);
  assert_int_equal(ck_store_cert_get(f.s, a.fingerprint, 0, f.a, &got, &e),
                   CK_OK);
  assert_int_equal(got.weak_flags, CK_WEAK_SELF_SIGNED);
  assert_string_equal(got.weak_reason, "self-signed leaf");

  /* installing an unknown certificate */
  ck_store_write_reset(w);
  fx_hex("fp", 99, in.cert_fp);
  assert_int_equal(ck_store_write_install_put(w, &in, &e), CK_OK);
  fx_commit(&f, w, CK_ERR_NOT_FOUND);
  ck_store_write_free(w);
  fx_teardown(&f);
}

/* Puts (del 0) or deletes (del 1) installation fp on agent at path in w. */
static void inst_op(ck_store_write *w, const char *fp, const char *agent,
                    const char *path, int del) {
  ck_store_install in = {0};

  memcpy(in.cert_fp, fp, 65);
  in.agent_id = agent;
  in.path = path;
  assert_int_equal(del ? ck_store_write_install_del(w, &in, NULL)
                       : ck_store_write_install_put(w, &in, NULL),
                   CK_OK);
}

static unsigned flags_of(fx *f, const char *fp) {
  ck_store_cert got;

  assert_int_equal(ck_store_cert_get(f->s, fp, 0, f->a, &got, NULL), CK_OK);
  return got.weak_flags;
}

/* The shared-key flag is recounted once per key at the end of each write
 * (not per installation): what counts is the write's net effect, and a
 * write that only refreshes known installations leaves the flag alone. */
static void shared_key_per_write(void **state) {
  fx f;
  ck_store_write *w = ck_store_write_new();
  ck_store_cert a, b, c;

  (void)state;
  fx_setup(&f);
  fx_cert(&f, &a, 1);
  fx_cert(&f, &b, 2);
  fx_cert(&f, &c, 3);
  memcpy(b.spki_sha256, a.spki_sha256, 65);
  memcpy(c.spki_sha256, a.spki_sha256, 65);
  a.source = b.source = c.source = CK_CERT_SRC_DISCOVERED;
  fx_put_cert(&f, &a);
  fx_put_cert(&f, &b);
  fx_put_cert(&f, &c);
  inst_op(w, a.fingerprint, "host-1", "/a.pem", 0);
  inst_op(w, c.fingerprint, "host-1", "/c.pem", 0);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(flags_of(&f, a.fingerprint) & CK_WEAK_SHARED_KEY, 0);
  /* put on a second host and removed again in one write: not shared */
  ck_store_write_reset(w);
  inst_op(w, b.fingerprint, "host-2", "/b.pem", 0);
  inst_op(w, b.fingerprint, "host-2", "/b.pem", 1);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(flags_of(&f, a.fingerprint) & CK_WEAK_SHARED_KEY, 0);
  assert_int_equal(flags_of(&f, b.fingerprint) & CK_WEAK_SHARED_KEY, 0);
  /* b on host-2, with a refresh of a known installation: all three */
  ck_store_write_reset(w);
  inst_op(w, a.fingerprint, "host-1", "/a.pem", 0);
  inst_op(w, b.fingerprint, "host-2", "/b.pem", 0);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(flags_of(&f, a.fingerprint) & CK_WEAK_SHARED_KEY,
                   CK_WEAK_SHARED_KEY);
  assert_int_equal(flags_of(&f, b.fingerprint) & CK_WEAK_SHARED_KEY,
                   CK_WEAK_SHARED_KEY);
  assert_int_equal(flags_of(&f, c.fingerprint) & CK_WEAK_SHARED_KEY,
                   CK_WEAK_SHARED_KEY);
  /* the same installations again: nothing changes */
  ck_store_write_reset(w);
  inst_op(w, a.fingerprint, "host-1", "/a.pem", 0);
  inst_op(w, c.fingerprint, "host-1", "/c.pem", 0);
  inst_op(w, b.fingerprint, "host-2", "/b.pem", 0);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(flags_of(&f, c.fingerprint) & CK_WEAK_SHARED_KEY,
                   CK_WEAK_SHARED_KEY);
  /* host-2 lets go (next to a refresh on host-1): cleared everywhere */
  ck_store_write_reset(w);
  inst_op(w, a.fingerprint, "host-1", "/a.pem", 0);
  inst_op(w, b.fingerprint, "host-2", "/b.pem", 1);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(flags_of(&f, a.fingerprint) & CK_WEAK_SHARED_KEY, 0);
  assert_int_equal(flags_of(&f, b.fingerprint) & CK_WEAK_SHARED_KEY, 0);
  assert_int_equal(flags_of(&f, c.fingerprint) & CK_WEAK_SHARED_KEY, 0);
  /* a write that fails is rolled back with what it queued; the next one
   * recounts only its own */
  ck_store_write_reset(w);
  inst_op(w, b.fingerprint, "host-2", "/b.pem", 0);
  {
    ck_store_install in = {0};
    fx_hex("fp", 99, in.cert_fp); /* unknown certificate */
    in.agent_id = "host-2";
    in.path = "/x.pem";
    assert_int_equal(ck_store_write_install_put(w, &in, NULL), CK_OK);
  }
  fx_commit(&f, w, CK_ERR_NOT_FOUND);
  assert_int_equal(flags_of(&f, a.fingerprint) & CK_WEAK_SHARED_KEY, 0);
  ck_store_write_free(w);
  fx_teardown(&f);
}

static int64_t fake_now_ms(void *arg) {
  (void)arg;
  return (int64_t)FX_NOW * 1000;
}

static void expire_sweep(void **state) {
  fx f;
  ck_store_write *w = ck_store_write_new();
  ck_errctx e = CK_ERRCTX_INIT;
  ck_store_cert c, got;
  long i;

  (void)state;
  ck_clock_set_source(fake_now_ms, NULL);
  fx_setup(&f);
  for (i = 0; i < 6; i++) {
    fx_cert(&f, &c, i);
    c.not_after = FX_NOW + (i - 3) * FX_DAY; /* 0,1,2 expired */
    if (i == 1) {
      c.weak_flags = CK_WEAK_SHA1;
      c.weak_reason = "weak signature hash (sha1WithRSAEncryption)";
    }
    c.not_before = c.not_after - 90 * FX_DAY;
    assert_int_equal(ck_store_write_cert_put(w, &c, NULL), CK_OK);
  }
  fx_commit(&f, w, CK_OK);
  ck_store_write_reset(w);
  assert_int_equal(ck_store_write_expire_sweep(w, FX_NOW, 2, &e), CK_OK);
  assert_int_equal(ck_store_write_expire_sweep(w, FX_NOW, 0, &e), CK_OK);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(ck_store_write_result(w, 0), 2); /* the limit */
  assert_int_equal(ck_store_write_result(w, 1), 1);
  for (i = 0; i < 6; i++) {
    fx_cert(&f, &c, i);
    assert_int_equal(ck_store_cert_get(f.s, c.fingerprint, 0, f.a, &got, &e),
                     CK_OK);
    assert_int_equal(got.status, i < 3 ? CK_CERT_EXPIRED : CK_CERT_ACTIVE);
    assert_int_equal(!!(got.weak_flags & CK_WEAK_EXPIRED), i < 3);
    assert_int_equal(got.updated_at, FX_NOW);
  }
  fx_cert(&f, &c, 1);
  assert_int_equal(ck_store_cert_get(f.s, c.fingerprint, 0, f.a, &got, &e),
                   CK_OK);
  assert_string_equal(got.weak_reason,
                      "weak signature hash (sha1WithRSAEncryption); expired");
  ck_store_write_free(w);
  fx_teardown(&f);
  ck_clock_set_source(NULL, NULL);
}

static void with_der_in_lists(void **state) {
  fx f;
  ck_cert_filter q = {0};
  ck_store_page pg = {0};
  ck_store_cert *items = NULL;
  ck_errctx e = CK_ERRCTX_INIT;
  size_t n = 0;

  (void)state;
  fx_setup(&f);
  build(&f);
  q.by = CK_CERTQ_OWNER;
  q.key = "team-2";
  q.with_der = 1;
  pg.limit = 3;
  assert_int_equal(ck_store_cert_list(f.s, &q, &pg, f.a, &items, &n, &e),
                   CK_OK);
  assert_int_equal(n, 3);
  assert_int_equal(items[1].der_len, 300);
  assert_int_equal(items[1].der[1], (uint8_t)which(&items[1]));
  fx_teardown(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(each_query),
      cmocka_unit_test(expiring_order_and_status),
      cmocka_unit_test(installs_and_shared_keys),
      cmocka_unit_test(shared_key_per_write),
      cmocka_unit_test(expire_sweep),
      cmocka_unit_test(with_der_in_lists),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
