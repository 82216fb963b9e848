/* test_inventory.c — discovery results as inventory messages
 * (agent/discover/inventory.h): frames split to the limit and decoded back
 * (every sendable finding exactly once, parts numbered, final on the last,
 * DER carried, oversized DER dropped, removed paths in deltas), the delta
 * between two scans of a changing tree, and a partial rescan
 * (ck_discover_paths) folded into a full scan with ck_inventory_merge. */
#define _GNU_SOURCE
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/discover/inventory.h"
#include "common/wire/wire.h"

#define NOW 1767225600 /* 2026-01-01 */

static int sendable(const ck_finding *f) {
  return (f->has_cert && !strcmp(f->kind, "certificate")) ||
         !strcmp(f->kind, "pkcs12");
}

static void scan_opts(ck_discover_opts *o, const char *const *roots,
                      size_t n) {
  memset(o, 0, sizeof(*o));
  o->roots = roots;
  o->n_roots = n;
  o->now = NOW;
  o->keep_der = 1;
}

static void scan(const char *root, ck_discover *d) {
  const char *roots[] = {root};
  ck_discover_opts o;
  ck_errctx e = CK_ERRCTX_INIT;
  scan_opts(&o, roots, 1);
  memset(d, 0, sizeof(*d));
  assert_int_equal(ck_discover_run(&o, d, &e), CK_OK);
}

static void copy_all(const ck_discover *src, ck_discover *dst) {
  memset(dst, 0, sizeof(*dst));
  for (size_t i = 0; i < src->n; i++)
    assert_int_equal(ck_discover_append_copy(dst, &src->f[i]), CK_OK);
  dst->scanned_at = src->scanned_at;
}

static char *make_tree(void) {
  char *tmp = ck_test_tmpdir();
  assert_int_equal(ck_test_sh(NULL, "cp -r '%s' '%s/tree'",
                              ck_test_data("discover/tree"), tmp),
                   0);
  return tmp;
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = s ? strlen(s) : 0, b = strlen(suffix);
  return s && a >= b && !strcmp(s + a - b, suffix);
}

static const ck_finding *find(const ck_discover *d, const char *suffix,
                              const char *kind, unsigned index) {
  for (size_t i = 0; i < d->n; i++)
    if (ends_with(d->f[i].path, suffix) && !strcmp(d->f[i].kind, kind) &&
        d->f[i].index == index)
      return &d->f[i];
  return NULL;
}

/* ---- frames ------------------------------------------------------------- */

typedef struct collect {
  const ck_discover *d;
  size_t max_frame;
  uint32_t parts;
  int saw_final;
  unsigned *seen;    /* per finding of d: times received */
  unsigned *with_der; /* per finding: received with der */
  size_t removed_seen;
  uint64_t seq, base;
  ck_wire_inv_mode mode;
  int stop_after; /* emit returns 1 after this many parts (0: never) */
} collect;

static int on_frame(const ck_wire_msg *m, void *arg) {
  collect *c = arg;
  ck_wire_limits lim = ck_wire_limits_default();
  uint8_t *buf = NULL;
  size_t len = 0;
  ck_errctx e = CK_ERRCTX_INIT;
  ck_arena *a = ck_arena_new(65536);
  ck_wire_msg dm;
  const ck_wire_inventory *inv;

  lim.max_frame = c->max_frame;
  assert_false(c->saw_final); /* nothing after the final part */
  if (ck_wire_encode(m, &lim, &buf, &len, &e) != CK_OK)
    fail_msg("part %u does not encode: %s", c->parts, ck_errctx_msg(&e));
  assert_true(len - CK_WIRE_HEADER_LEN <= c->max_frame);
  memset(&dm, 0, sizeof(dm));
  if (ck_wire_decode(buf + CK_WIRE_HEADER_LEN, len - CK_WIRE_HEADER_LEN, &lim,
                     a, &dm, &e) != CK_OK)
    fail_msg("part %u does not decode: %s", c->parts, ck_errctx_msg(&e));
  assert_int_equal(dm.type, CK_WIRE_INVENTORY);
  inv = &dm.u.inventory;
  assert_int_equal(inv->mode, c->mode);
  assert_int_equal(inv->seq, c->seq);
  assert_true(inv->has_part);
  assert_int_equal(inv->part, c->parts);
  if (c->mode == CK_WIRE_INV_DELTA) {
    assert_true(inv->has_base);
    assert_int_equal(inv->base, c->parts == 0 ? c->base : c->seq);
  } else {
    assert_int_equal(inv->removed.n, 0);
  }
  assert_true(inv->has_final);
  c->saw_final = inv->final;
  c->removed_seen += inv->removed.n;
  for (size_t i = 0; i < inv->n_findings; i++) {
    const ck_wire_finding *wf = &inv->findings[i];
    size_t k;
    for (k = 0; k < c->d->n; k++) {
      const ck_finding *f = &c->d->f[k];
      if (!strcmp(f->path, wf->path) && f->index == wf->index &&
          sendable(f))
        break;
    }
    assert_true(k < c->d->n);
    c->seen[k]++;
    if (c->d->f[k].has_cert) {
      char hex[65];
      assert_int_equal(wf->fingerprint.len, 32);
      ck_hex_encode(wf->fingerprint.data, 32, hex);
      assert_string_equal(hex, c->d->f[k].fingerprint);
      assert_non_null(wf->subject);
      assert_true(wf->has_not_after);
    } else {
      assert_null(wf->fingerprint.data); /* unread PKCS#12 */
      assert_string_equal(wf->risks.v[wf->risks.n - 1], "unread");
    }
    if (wf->der.data) {
      assert_int_equal(wf->der.len, c->d->f[k].der_len);
      assert_memory_equal(wf->der.data, c->d->f[k].der, wf->der.len);
      c->with_der[k]++;
    }
  }
  free(buf);
  ck_arena_free(a);
  c->parts++;
  return c->stop_after && c->parts >= (uint32_t)c->stop_after;
}

static void collect_init(collect *c, const ck_discover *d, size_t max_frame,
                         ck_wire_inv_mode mode, uint64_t seq, uint64_t base) {
  memset(c, 0, sizeof(*c));
  c->d = d;
  c->max_frame = max_frame;
  c->mode = mode;
  c->seq = seq;
  c->base = base;
  c->seen = calloc(d->n + 1, sizeof(unsigned));
  c->with_der = calloc(d->n + 1, sizeof(unsigned));
  assert_non_null(c->seen);
  assert_non_null(c->with_der);
}

static void collect_free(collect *c) {
  free(c->seen);
  free(c->with_der);
}

/* Every sendable finding exactly once, nothing else. */
static size_t assert_all_once(const collect *c) {
  size_t n = 0;
  for (size_t k = 0; k < c->d->n; k++) {
    if (sendable(&c->d->f[k])) {
      assert_int_equal(c->seen[k], 1);
      n++;
    } else {
      assert_int_equal(c->seen[k], 0);
    }
  }
  return n;
}

static void test_frames_split(void **state) {
  char *tmp = make_tree(), root[600];
  ck_discover base, d;
  ck_errctx e = CK_ERRCTX_INIT;
  collect c;
  size_t nsend, n_with_der = 0;
  int have_key = 0;

  (void)state;
  snprintf(root, sizeof(root), "%s/tree", tmp);
  scan(root, &base);
  /* blow the scan up: 40 copies of each finding under other paths */
  memset(&d, 0, sizeof(d));
  for (int r = 0; r < 40; r++)
    for (size_t i = 0; i < base.n; i++) {
      char p[700];
      assert_int_equal(ck_discover_append_copy(&d, &base.f[i]), CK_OK);
      snprintf(p, sizeof(p), "%s.copy%d", base.f[i].path, r);
      free(d.f[d.n - 1].path);
      d.f[d.n - 1].path = strdup(p);
      have_key |= !strcmp(base.f[i].kind, "key");
    }
  assert_true(have_key); /* keys exist and must not be sent */
  d.scanned_at = NOW;

  /* one frame with the default limit */
  collect_init(&c, &d, 0, CK_WIRE_INV_FULL, 7, 0);
  c.max_frame = 1024 * 1024;
  assert_int_equal(ck_inventory_frames(&d, CK_WIRE_INV_FULL, 7, 0, NULL, 0, 0,
                                       on_frame, &c, &e),
                   CK_OK);
  assert_int_equal(c.parts, 1);
  assert_true(c.saw_final);
  nsend = assert_all_once(&c);
  assert_true(nsend > 100);
  for (size_t k = 0; k < d.n; k++)
    if (d.f[k].has_cert) {
      assert_non_null(d.f[k].der);
      assert_int_equal(c.with_der[k], 1); /* DER always carried */
      n_with_der++;
    }
  assert_true(n_with_der > 0);
  collect_free(&c);

  /* 16 KiB frames: many parts, each within the limit */
  collect_init(&c, &d, 16384, CK_WIRE_INV_FULL, 8, 0);
  assert_int_equal(ck_inventory_frames(&d, CK_WIRE_INV_FULL, 8, 0, NULL, 0,
                                       16384, on_frame, &c, &e),
                   CK_OK);
  assert_true(c.parts > 5);
  assert_true(c.saw_final);
  assert_all_once(&c);
  for (size_t k = 0; k < d.n; k++)
    if (d.f[k].has_cert)
      assert_int_equal(c.with_der[k], 1);
  collect_free(&c);

  /* the sender stops after 2 parts */
  collect_init(&c, &d, 16384, CK_WIRE_INV_FULL, 9, 0);
  c.stop_after = 2;
  assert_int_equal(ck_inventory_frames(&d, CK_WIRE_INV_FULL, 9, 0, NULL, 0,
                                       16384, on_frame, &c, &e),
                   CK_ERR_CANCELED);
  assert_int_equal(c.parts, 2);
  collect_free(&c);

  /* bad arguments */
  assert_int_equal(ck_inventory_frames(&d, CK_WIRE_INV_FULL, 1, 0, NULL, 0,
                                       1000, on_frame, &c, &e),
                   CK_ERR_INVAL);
  assert_int_equal(ck_inventory_frames(&d, CK_WIRE_INV_UNKNOWN, 1, 0, NULL, 0,
                                       0, on_frame, &c, &e),
                   CK_ERR_INVAL);
  ck_discover_free(&d);
  ck_discover_free(&base);
  ck_test_rmtree(tmp);
  free(tmp);
}

static void test_frames_big_der_and_removed(void **state) {
  ck_discover d;
  ck_errctx e = CK_ERRCTX_INIT;
  collect c;
  char *removed[300];
  size_t der_len = 0;
  char *der = ck_test_slurp("tls/server-ec.der", &der_len);

  (void)state;
  memset(&d, 0, sizeof(d));
  assert_int_equal(ck_discover_add_der(&d, "/x/small.der", "der",
                                       (const uint8_t *)der, der_len, NOW, &e),
                   CK_OK);
  assert_int_equal(ck_discover_add_der(&d, "/x/big.der", "der",
                                       (const uint8_t *)der, der_len, NOW, &e),
                   CK_OK);
  /* pretend the second one's DER is 20 KiB: too large for an 8 KiB frame */
  free(d.f[1].der);
  d.f[1].der = calloc(1, 20000);
  assert_non_null(d.f[1].der);
  d.f[1].der_len = 20000;
  for (int i = 0; i < 300; i++) {
    char p[64];
    snprintf(p, sizeof(p), "/etc/ssl/gone/%03d-some-longer-name.pem", i);
    removed[i] = strdup(p);
  }
  collect_init(&c, &d, 8192, CK_WIRE_INV_DELTA, 12, 11);
  assert_int_equal(ck_inventory_frames(&d, CK_WIRE_INV_DELTA, 12, 11,
                                       (const char *const *)removed, 300, 8192,
                                       on_frame, &c, &e),
                   CK_OK);
  assert_true(c.parts >= 2); /* 300 paths of ~40 bytes do not fit 8 KiB */
  assert_true(c.saw_final);
  assert_int_equal(c.removed_seen, 300);
  assert_int_equal(c.seen[0], 1);
  assert_int_equal(c.seen[1], 1);
  assert_int_equal(c.with_der[0], 1);
  assert_int_equal(c.with_der[1], 0); /* sent without its DER */
  collect_free(&c);

  /* a FULL inventory ignores removed; an empty scan is one empty part */
  ck_discover_free(&d);
  collect_init(&c, &d, 8192, CK_WIRE_INV_FULL, 1, 0);
  assert_int_equal(ck_inventory_frames(&d, CK_WIRE_INV_FULL, 1, 0,
                                       (const char *const *)removed, 300, 8192,
                                       on_frame, &c, &e),
                   CK_OK);
  assert_int_equal(c.parts, 1);
  assert_true(c.saw_final);
  assert_int_equal(c.removed_seen, 0);
  collect_free(&c);
  for (int i = 0; i < 300; i++)
    free(removed[i]);
  free(der);
}

/* ---- delta -------------------------------------------------------------- */

static int in_list(char **v, size_t n, const char *suffix) {
  for (size_t i = 0; i < n; i++)
    if (ends_with(v[i], suffix))
      return 1;
  return 0;
}

static void test_delta(void **state) {
  char *tmp = ck_test_tmpdir();
  ck_discover d1, d2, ch;
  char **rm = NULL;
  size_t nrm = 9;
  ck_errctx e = CK_ERRCTX_INIT;

  (void)state;
  assert_int_equal(
      ck_test_sh(NULL,
                 "mkdir '%s/t' && cd '%s/t' && cp '%s' a.pem && cp '%s' b.pem "
                 "&& cp '%s' c.pem && cp '%s' keep.pem && chmod 644 *.pem",
                 tmp, tmp, ck_test_data("tls/server-ec.pem"),
                 ck_test_data("tls/server-rsa.pem"),
                 ck_test_data("tls/root-ca.pem"),
                 ck_test_data("tls/int-ca.pem")),
      0);
  char root[600];
  snprintf(root, sizeof(root), "%s/t", tmp);
  scan(root, &d1);

  /* identical scans: no delta */
  scan(root, &d2);
  memset(&ch, 0, sizeof(ch));
  assert_int_equal(ck_inventory_delta(&d1, &d2, &ch, &rm, &nrm, &e), CK_OK);
  assert_int_equal(ch.n, 0);
  assert_int_equal(nrm, 0);
  assert_null(rm);
  ck_discover_free(&d2);

  /* a.pem replaced, b.pem mode changed, c.pem gone, d.pem new */
  assert_int_equal(
      ck_test_sh(NULL,
                 "cd '%s/t' && cp '%s' a.pem && chmod 600 b.pem && rm c.pem && "
                 "cp '%s' d.pem && echo junk > e.key",
                 tmp, ck_test_data("tls/other-server.pem"),
                 ck_test_data("tls/client.pem")),
      0);
  scan(root, &d2);
  assert_int_equal(ck_inventory_delta(&d1, &d2, &ch, &rm, &nrm, &e), CK_OK);
  /* every file holds leaf + CA: two findings each */
  assert_int_equal(ch.n, 6);
  assert_non_null(find(&ch, "/a.pem", "certificate", 1));
  assert_non_null(find(&ch, "/d.pem", "certificate", 1));
  assert_non_null(find(&ch, "/a.pem", "certificate", 0));
  assert_non_null(find(&ch, "/b.pem", "certificate", 0));
  assert_non_null(find(&ch, "/d.pem", "certificate", 0));
  assert_int_equal(find(&ch, "/b.pem", "certificate", 0)->mode, 0600);
  assert_int_equal(nrm, 1);
  assert_true(in_list(rm, nrm, "/c.pem"));
  ck_inventory_removed_free(rm, nrm);
  ck_discover_free(&ch);

  /* the other way round: c.pem new again, d.pem removed */
  assert_int_equal(ck_inventory_delta(&d2, &d1, &ch, &rm, &nrm, &e), CK_OK);
  assert_non_null(find(&ch, "/c.pem", "certificate", 0));
  assert_null(find(&ch, "/keep.pem", "certificate", 0));
  assert_int_equal(nrm, 1);
  assert_true(in_list(rm, nrm, "/d.pem"));
  ck_inventory_removed_free(rm, nrm);
  ck_discover_free(&ch);

  assert_int_equal(ck_inventory_delta(NULL, &d1, &ch, &rm, &nrm, &e),
                   CK_ERR_INVAL);
  ck_discover_free(&d1);
  ck_discover_free(&d2);
  ck_test_rmtree(tmp);
  free(tmp);
}

/* ---- partial rescans ---------------------------------------------------- */

static void rescan(const char *const *paths, size_t n, ck_discover *out) {
  ck_discover_opts o;
  ck_errctx e = CK_ERRCTX_INIT;
  scan_opts(&o, NULL, 0);
  memset(out, 0, sizeof(*out));
  assert_int_equal(ck_discover_paths(&o, paths, n, out, &e), CK_OK);
}

static void test_paths_and_merge(void **state) {
  char *tmp = make_tree(), root[600], p1[700], p2[700], p3[700];
  ck_discover full, fresh, merged, ch;
  const ck_finding *f;
  char **rm = NULL;
  size_t nrm = 0;
  ck_errctx e = CK_ERRCTX_INIT;

  (void)state;
  snprintf(root, sizeof(root), "%s/tree", tmp);
  scan(root, &full);

  /* one file alone: its findings only, no key match within it */
  snprintf(p1, sizeof(p1), "%s/chain/fullchain-crlf.pem", root);
  {
    const char *paths[] = {p1};
    rescan(paths, 1, &fresh);
  }
  assert_int_equal(fresh.n, 2);
  assert_int_equal(fresh.stats.files, 1);
  f = find(&fresh, "chain/fullchain-crlf.pem", "certificate", 0);
  assert_non_null(f);
  assert_int_equal(f->key_match, -1);
  assert_int_equal(f->n_svcs, 0);
  assert_non_null(f->der);

  /* merged into a copy of the full scan: key and services come back and
   * nothing changed */
  copy_all(&full, &merged);
  {
    const char *paths[] = {p1};
    assert_int_equal(ck_inventory_merge(&merged, paths, 1, &fresh, &e), CK_OK);
  }
  assert_int_equal(fresh.n, 0);
  assert_int_equal(merged.n, full.n);
  f = find(&merged, "chain/fullchain-crlf.pem", "certificate", 0);
  assert_int_equal(f->key_match, 1);
  assert_true(ends_with(f->key_path, "keys/leaf-pkcs8.key"));
  assert_int_equal(f->n_svcs, 1);
  memset(&ch, 0, sizeof(ch));
  assert_int_equal(ck_inventory_delta(&full, &merged, &ch, &rm, &nrm, &e),
                   CK_OK);
  assert_int_equal(ch.n, 0);
  assert_int_equal(nrm, 0);
  ck_discover_free(&fresh);

  /* a directory: direct entries only (keys/ has no subdirectory; chain/ is
   * given with a new subdirectory that is skipped) */
  snprintf(p2, sizeof(p2), "%s/chain", root);
  assert_int_equal(ck_test_sh(NULL, "mkdir '%s/sub' && cp '%s' '%s/sub/x.pem'",
                              p2, ck_test_data("tls/server-ec.pem"), p2),
                   0);
  {
    const char *paths[] = {p2};
    rescan(paths, 1, &fresh);
  }
  assert_null(find(&fresh, "sub/x.pem", "certificate", 0));
  assert_non_null(find(&fresh, "chain/ca.crt", "certificate", 0));
  assert_non_null(find(&fresh, "chain/fullchain-crlf.pem", "certificate", 1));
  for (size_t i = 0; i < fresh.n; i++)
    assert_string_not_equal(fresh.f[i].kind, "error");
  ck_discover_free(&fresh);

  /* the key file is replaced by another key, the der file removed: the
   * certificate loses its key, der/server.der goes */
  snprintf(p2, sizeof(p2), "%s/keys/leaf-pkcs8.key", root);
  snprintf(p3, sizeof(p3), "%s/der/server.der", root);
  assert_int_equal(ck_test_sh(NULL, "cp '%s' '%s' && rm '%s'",
                              ck_test_data("tls/client.key"), p2, p3),
                   0);
  {
    const char *paths[] = {p2, p3};
    rescan(paths, 2, &fresh);
    assert_int_equal(fresh.n, 1); /* the new key; nothing for the gone file */
    assert_int_equal(ck_inventory_merge(&merged, paths, 2, &fresh, &e), CK_OK);
  }
  f = find(&merged, "chain/fullchain-crlf.pem", "certificate", 0);
  assert_int_equal(f->key_match, -1);
  assert_null(f->key_path);
  assert_null(find(&merged, "der/server.der", "certificate", 0));
  assert_int_equal(ck_inventory_delta(&full, &merged, &ch, &rm, &nrm, &e),
                   CK_OK);
  assert_int_equal(ch.n, 2); /* a changed file is sent whole */
  assert_non_null(find(&ch, "chain/fullchain-crlf.pem", "certificate", 0));
  assert_non_null(find(&ch, "chain/fullchain-crlf.pem", "certificate", 1));
  assert_int_equal(nrm, 1);
  assert_true(in_list(rm, nrm, "der/server.der"));
  ck_inventory_removed_free(rm, nrm);
  ck_discover_free(&ch);
  ck_discover_free(&fresh);

  /* the original key comes back: matched again from the rescan alone */
  assert_int_equal(ck_test_sh(NULL, "cp '%s/discover/tree/keys/leaf-pkcs8.key' "
                                    "'%s'",
                              getenv("CK_TEST_DATA"), p2),
                   0);
  {
    const char *paths[] = {p2};
    rescan(paths, 1, &fresh);
    assert_int_equal(ck_inventory_merge(&merged, paths, 1, &fresh, &e), CK_OK);
  }
  f = find(&merged, "chain/fullchain-crlf.pem", "certificate", 0);
  assert_int_equal(f->key_match, 1);
  assert_true(ends_with(f->key_path, "keys/leaf-pkcs8.key"));
  ck_discover_free(&fresh);
  ck_discover_free(&merged);
  ck_discover_free(&full);
  ck_test_rmtree(tmp);
  free(tmp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_frames_split),
      cmocka_unit_test(test_frames_big_der_and_removed),
      cmocka_unit_test(test_delta),
      cmocka_unit_test(test_paths_and_merge),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
