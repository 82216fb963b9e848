/* test_invindex.c — the compact index priv keeps of the last inventory
 * (agent/run/invindex.h): built from a scan, diffed against a later scan
 * it must find what ck_inventory_delta finds between the two full scans
 * (new, changed in any sent field, removed paths), and nothing when nothing
 * changed. */
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/discover/inventory.h"
#include "agent/run/invindex.h"

static char *dup_s(const char *s) { return s != NULL ? strdup(s) : NULL; }

/* Appends a certificate finding (path, index, fingerprint digit fp). */
static void add_cert(ck_discover *d, const char *path, unsigned index,
                     char fp) {
  ck_finding f;

  memset(&f, 0, sizeof f);
  f.path = (char *)path;
  f.kind = "certificate";
  f.format = "pem";
  f.index = index;
  f.has_cert = 1;
  memset(f.fingerprint, fp, 64);
  f.subject = (char *)"CN=x";
  f.issuer = (char *)"CN=ca";
  f.serial = (char *)"01";
  f.not_before = 1000;
  f.not_after = 2000;
  f.key_match = -1;
  f.has_stat = 1;
  f.mode = 0644;
  assert_int_equal(ck_discover_append_copy(d, &f), CK_OK);
}

static void add_key(ck_discover *d, const char *path) {
  ck_finding f;

  memset(&f, 0, sizeof f);
  f.path = (char *)path;
  f.kind = "key";
  f.format = "pem";
  assert_int_equal(ck_discover_append_copy(d, &f), CK_OK);
}

static void base_scan(ck_discover *d) {
  memset(d, 0, sizeof *d);
  add_cert(d, "/etc/ssl/b.pem", 0, 'b');
  add_cert(d, "/etc/ssl/a.pem", 0, 'a');
  add_cert(d, "/etc/ssl/bundle.pem", 0, 'c');
  add_cert(d, "/etc/ssl/bundle.pem", 1, 'd');
  add_key(d, "/etc/ssl/a.key");
}

/* Compares ck_invindex_delta(index of old, cur) with
 * ck_inventory_delta(old, cur): same changed (path, index) and removed. */
static void same_as_inventory(const ck_discover *old, const ck_discover *cur,
                              size_t want_changed, size_t want_removed) {
  ck_invindex ix;
  ck_discover c1, c2;
  char **r1 = NULL, **r2 = NULL;
  size_t n1 = 0, n2 = 0, i;
  ck_errctx err = CK_ERRCTX_INIT;

  memset(&ix, 0, sizeof ix);
  memset(&c1, 0, sizeof c1);
  memset(&c2, 0, sizeof c2);
  assert_int_equal(ck_invindex_build(&ix, old, &err), CK_OK);
  assert_int_equal(ck_invindex_delta(&ix, cur, &c1, &r1, &n1, &err), CK_OK);
  assert_int_equal(ck_inventory_delta(old, cur, &c2, &r2, &n2, &err), CK_OK);
  if (want_changed != (size_t)-1)
    assert_int_equal(c1.n, want_changed);
  if (want_removed != (size_t)-1)
    assert_int_equal(n1, want_removed);
  assert_int_equal(c1.n, c2.n);
  assert_int_equal(n1, n2);
  for (i = 0; i < c1.n; i++) {
    assert_string_equal(c1.f[i].path, c2.f[i].path);
    assert_int_equal(c1.f[i].index, c2.f[i].index);
  }
  for (i = 0; i < n1; i++)
    assert_string_equal(r1[i], r2[i]);
  ck_inventory_removed_free(r1, n1);
  ck_inventory_removed_free(r2, n2);
  ck_discover_free(&c1);
  ck_discover_free(&c2);
  ck_invindex_free(&ix);
}

static void test_build(void **state) {
  ck_discover d;
  ck_invindex ix;
  size_t i;
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  base_scan(&d);
  memset(&ix, 0, sizeof ix);
  assert_int_equal(ck_invindex_build(&ix, &d, &err), CK_OK);
  assert_int_equal(ix.n, 4); /* the key is not sent */
  /* sorted by (path, index); each path stored once */
  for (i = 0; i < 4; i++) {
    static const char *const want[] = {"/etc/ssl/a.pem", "/etc/ssl/b.pem",
                                       "/etc/ssl/bundle.pem",
                                       "/etc/ssl/bundle.pem"};
    char *p = ck_invindex_path(&ix, i);
    assert_non_null(p);
    assert_string_equal(p, want[i]);
    free(p);
  }
  assert_null(ck_invindex_path(&ix, 4));
  assert_int_equal(ix.v[2].index, 0);
  assert_int_equal(ix.v[3].index, 1);
  assert_int_equal(ix.v[2].path, ix.v[3].path);
  /* front-coded: "/etc/ssl/a.pem" whole (1 + 14 + 1), then "b.pem" after
   * 9 shared bytes (1 + 5 + 1), then "undle.pem" after 10 (1 + 9 + 1) */
  assert_int_equal(ix.paths_len, 16 + 7 + 11);
  assert_true(ck_invindex_bytes(&ix) < 4 * 16 + 64);
  /* rebuilding replaces */
  add_cert(&d, "/etc/ssl/z.pem", 0, 'e');
  assert_int_equal(ck_invindex_build(&ix, &d, &err), CK_OK);
  assert_int_equal(ix.n, 5);
  ck_invindex_free(&ix);
  ck_invindex_free(&ix); /* twice is fine */
  ck_discover_free(&d);
}

static void test_unchanged(void **state) {
  ck_discover a, b;

  (void)state;
  base_scan(&a);
  base_scan(&b);
  same_as_inventory(&a, &b, 0, 0);
  ck_discover_free(&a);
  ck_discover_free(&b);
}

static void test_changes(void **state) {
  ck_discover a, b;
  ck_finding_svc svc = {"nginx", (char *)"/etc/nginx/nginx.conf", 12};
  size_t i;

  (void)state;
  base_scan(&a);
  /* new file, one changed fingerprint, one changed mode, a removed file,
   * a bundle that lost its second certificate */
  memset(&b, 0, sizeof b);
  add_cert(&b, "/etc/ssl/a.pem", 0, 'A');
  add_cert(&b, "/etc/ssl/bundle.pem", 0, 'c');
  add_cert(&b, "/etc/ssl/new.pem", 0, 'n');
  add_key(&b, "/etc/ssl/a.key");
  same_as_inventory(&a, &b, 2, 1);
  ck_discover_free(&b);

  /* fields that are not the fingerprint */
  for (i = 0; i < 5; i++) {
    base_scan(&b);
    switch (i) {
    case 0:
      b.f[0].mode = 0600;
      break;
    case 1:
      b.f[0].key_match = 1;
      free(b.f[0].key_path);
      b.f[0].key_path = dup_s("/etc/ssl/b.key");
      break;
    case 2:
      b.f[0].risks = 1;
      break;
    case 3:
      b.f[0].svcs = calloc(1, sizeof *b.f[0].svcs);
      assert_non_null(b.f[0].svcs);
      b.f[0].svcs[0] = svc;
      b.f[0].svcs[0].conf = dup_s(svc.conf);
      b.f[0].n_svcs = 1;
      break;
    default:
      b.f[0].endpoints = calloc(1, sizeof *b.f[0].endpoints);
      assert_non_null(b.f[0].endpoints);
      b.f[0].endpoints[0] = dup_s("127.0.0.1:443");
      b.f[0].n_endpoints = 1;
      break;
    }
    same_as_inventory(&a, &b, 1, 0);
    ck_discover_free(&b);
  }
  /* a renewed leaf in a bundle: the whole file is sent (both findings) */
  memset(&b, 0, sizeof b);
  add_cert(&b, "/etc/ssl/b.pem", 0, 'b');
  add_cert(&b, "/etc/ssl/a.pem", 0, 'a');
  add_cert(&b, "/etc/ssl/bundle.pem", 0, 'C');
  add_cert(&b, "/etc/ssl/bundle.pem", 1, 'd');
  add_key(&b, "/etc/ssl/a.key");
  same_as_inventory(&a, &b, 2, 0);
  ck_discover_free(&b);
  /* everything gone */
  memset(&b, 0, sizeof b);
  same_as_inventory(&a, &b, 0, 3);
  ck_discover_free(&a);
}

/* Random old/new scans over paths sharing prefixes of all lengths (one over
 * 128 bytes: a two-byte shared-length prefix code) against
 * ck_inventory_delta, the reference. */
static void random_scan(ck_discover *d, uint32_t *seed, int salt) {
  static const char *const dirs[] = {
      "/etc/ssl/", "/etc/ssl/certs/", "/etc/ssl2/", "/e/",
      "/srv/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"};
  static char paths[40][256];
  size_t k;

  memset(d, 0, sizeof *d);
  for (k = 0; k < 40; k++) {
    (void)snprintf(paths[k], sizeof paths[k], "%s%s%zu.pem", dirs[k % 5],
                   k % 3 == 0 ? "x" : "", k / 5);
    *seed = *seed * 1103515245u + 12345u;
    if ((*seed >> 16) % 3 == 0)
      continue; /* absent from this scan */
    add_cert(d, paths[k], 0, (char)('a' + (int)((*seed >> 20) % 2) * salt));
    if ((*seed >> 24) % 4 == 0)
      add_cert(d, paths[k], 1, (char)('b' + (int)((*seed >> 26) % 2) * salt));
  }
}

static void test_random_vs_inventory(void **state) {
  uint32_t seed = 7;
  int round;

  (void)state;
  for (round = 0; round < 200; round++) {
    ck_discover a, b;

    random_scan(&a, &seed, 1);
    random_scan(&b, &seed, round % 2);
    same_as_inventory(&a, &b, (size_t)-1, (size_t)-1);
    ck_discover_free(&a);
    ck_discover_free(&b);
  }
}

static void test_digest_separates(void **state) {
  ck_finding f, g;

  (void)state;
  memset(&f, 0, sizeof f);
  f.kind = "certificate";
  f.subject = (char *)"ab";
  f.issuer = (char *)"c";
  g = f;
  g.subject = (char *)"a";
  g.issuer = (char *)"bc";
  assert_true(ck_invindex_digest(&f) != ck_invindex_digest(&g));
  g = f;
  g.issuer = NULL;
  assert_true(ck_invindex_digest(&f) != ck_invindex_digest(&g));
  g = f;
  assert_true(ck_invindex_digest(&f) == ck_invindex_digest(&g));
}

static void test_bad_args(void **state) {
  ck_discover d, c;
  ck_invindex ix;
  char **r = NULL;
  size_t n = 0;
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  memset(&d, 0, sizeof d);
  memset(&c, 0, sizeof c);
  memset(&ix, 0, sizeof ix);
  assert_int_equal(ck_invindex_build(NULL, &d, &err), CK_ERR_INVAL);
  assert_int_equal(ck_invindex_delta(&ix, NULL, &c, &r, &n, &err),
                   CK_ERR_INVAL);
  /* empty index, empty scan */
  assert_int_equal(ck_invindex_build(&ix, &d, &err), CK_OK);
  assert_int_equal(ck_invindex_delta(&ix, &d, &c, &r, &n, &err), CK_OK);
  assert_int_equal(c.n, 0);
  assert_int_equal(n, 0);
  assert_null(r);
  ck_invindex_free(&ix);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_build),
      cmocka_unit_test(test_unchanged),
      cmocka_unit_test(test_changes),
      cmocka_unit_test(test_random_vs_inventory),
      cmocka_unit_test(test_digest_separates),
      cmocka_unit_test(test_bad_args),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
