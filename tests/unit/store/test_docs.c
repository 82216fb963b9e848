/* test_docs.c — the generic document store (ck_store_doc, migration 5):
 * put/get, versions and expect_version (insert-only, compare-and-swap,
 * conditional delete) with the whole write rolled back on a conflict,
 * filters, due ordering, pagination, counts, input limits, the indexes the
 * queries use, and the upgrade of a version-4 database. */
#include "tests/unit/store/fixture.h"

#include "common/util/clock.h"

static int64_t now_s = FX_NOW;

static int64_t fake_now_ms(void *arg) {
  (void)arg;
  return now_s * 1000;
}

static void setup_clock(fx *f) {
  now_s = FX_NOW;
  ck_clock_set_source(fake_now_ms, NULL);
  fx_setup(f);
}

static void teardown_clock(fx *f) {
  fx_teardown(f);
  ck_clock_set_source(NULL, NULL);
}

/* Puts one document in its own write; returns the outcome and, through
 * *version, the new version (0 on failure). */
static ck_err put_doc(fx *f, const char *kind, const char *id,
                      const char *state, const char *key, int64_t due,
                      const char *doc, int64_t expect, int64_t *version) {
  ck_store_write *w = ck_store_write_new();
  ck_store_doc d = {0};
  ck_errctx e = CK_ERRCTX_INIT;
  ck_err rc;

  assert_non_null(w);
  d.kind = kind;
  d.id = id;
  d.state = state;
  d.key = key;
  d.due_at = due;
  d.doc = doc;
  assert_int_equal(ck_store_write_doc_put(w, &d, expect, &e), CK_OK);
  rc = ck_store_submit_wait(f->s, w, &e);
  if (version != NULL)
    *version = ck_store_write_result(w, 0);
  ck_store_write_free(w);
  return rc;
}

static ck_err del_doc(fx *f, const char *kind, const char *id, int64_t expect,
                      int64_t *result) {
  ck_store_write *w = ck_store_write_new();
  ck_errctx e = CK_ERRCTX_INIT;
  ck_err rc;

  assert_non_null(w);
  assert_int_equal(ck_store_write_doc_del(w, kind, id, expect, &e), CK_OK);
  rc = ck_store_submit_wait(f->s, w, &e);
  if (result != NULL)
    *result = ck_store_write_result(w, 0);
  ck_store_write_free(w);
  return rc;
}

static void put_get_versions(void **state) {
  fx f;
  ck_store_doc got;
  ck_errctx e = CK_ERRCTX_INIT;
  int64_t v = 0;

  (void)state;
  setup_clock(&f);
  assert_int_equal(put_doc(&f, "acme.order", "o-1", "pending", "thumb-1",
                           FX_NOW + 60, "{\"a\":1}", -1, &v),
                   CK_OK);
  assert_int_equal(v, 1);
  assert_int_equal(ck_store_doc_get(f.s, "acme.order", "o-1", f.a, &got, &e),
                   CK_OK);
  assert_string_equal(got.kind, "acme.order");
  assert_string_equal(got.id, "o-1");
  assert_string_equal(got.state, "pending");
  assert_string_equal(got.key, "thumb-1");
  assert_int_equal(got.due_at, FX_NOW + 60);
  assert_string_equal(got.doc, "{\"a\":1}");
  assert_int_equal(got.version, 1);
  assert_int_equal(got.created_at, FX_NOW);
  assert_int_equal(got.updated_at, FX_NOW);

  /* every put bumps the version; created_at stays, updated_at moves */
  now_s = FX_NOW + 100;
  assert_int_equal(put_doc(&f, "acme.order", "o-1", NULL, NULL, 0,
                           "{\"a\":2}", -1, &v),
                   CK_OK);
  assert_int_equal(v, 2);
  assert_int_equal(put_doc(&f, "acme.order", "o-1", "valid", NULL, 0,
                           "{\"a\":3}", 2, &v),
                   CK_OK);
  assert_int_equal(v, 3);
  assert_int_equal(ck_store_doc_get(f.s, "acme.order", "o-1", f.a, &got, &e),
                   CK_OK);
  assert_int_equal(got.version, 3);
  assert_string_equal(got.doc, "{\"a\":3}");
  assert_string_equal(got.state, "valid");
  assert_string_equal(got.key, ""); /* NULL stores "" */
  assert_int_equal(got.due_at, 0);
  assert_int_equal(got.created_at, FX_NOW);
  assert_int_equal(got.updated_at, FX_NOW + 100);

  /* the same id under another kind is another document */
  ck_errctx_clear(&e);
  assert_int_equal(ck_store_doc_get(f.s, "acme.authz", "o-1", f.a, &got, &e),
                   CK_ERR_NOT_FOUND);
  assert_non_null(strstr(e.msg, "acme.authz/o-1"));
  fx_reopen(&f); /* durable */
  assert_int_equal(ck_store_doc_get(f.s, "acme.order", "o-1", f.a, &got, &e),
                   CK_OK);
  assert_int_equal(got.version, 3);
  teardown_clock(&f);
}

static void insert_only_and_cas(void **state) {
  fx f;
  ck_store_write *w = ck_store_write_new();
  ck_store_doc d = {0}, got;
  ck_audit_event ev = {0};
  ck_errctx e = CK_ERRCTX_INIT;
  int64_t v = 0, seq0 = 0, seq1 = 0;
  uint8_t h[CK_SHA256_LEN];

  (void)state;
  setup_clock(&f);
  /* expect 0: only when absent */
  assert_int_equal(put_doc(&f, "est.otp", "h1", "", "", 0, "{}", 0, &v),
                   CK_OK);
  assert_int_equal(v, 1);
  assert_int_equal(put_doc(&f, "est.otp", "h1", "", "", 0, "{}", 0, &v),
                   CK_ERR_CONFLICT);
  assert_int_equal(v, 0);
  /* CAS: right version passes, stale one conflicts */
  assert_int_equal(put_doc(&f, "est.otp", "h1", "used", "", 0, "{\"u\":1}", 1,
                           &v),
                   CK_OK);
  assert_int_equal(v, 2);
  assert_int_equal(put_doc(&f, "est.otp", "h1", "used", "", 0, "{\"u\":2}", 1,
                           &v),
                   CK_ERR_CONFLICT);
  /* CAS on an absent document conflicts */
  assert_int_equal(put_doc(&f, "est.otp", "nope", "", "", 0, "{}", 3, &v),
                   CK_ERR_CONFLICT);
  ck_errctx_clear(&e);
  assert_int_equal(ck_store_doc_get(f.s, "est.otp", "nope", f.a, &got, &e),
                   CK_ERR_NOT_FOUND);

  /* a conflicting put fails the whole write: the audit event before it and
   * the document put after it do not commit, and the message names it */
  assert_int_equal(ck_store_audit_head(f.s, &seq0, h, &e), CK_OK);
  ev.actor = "test";
  ev.action = "otp.use";
  ev.object_type = "est.otp";
  ev.object_id = "h1";
  assert_int_equal(ck_store_write_audit(w, &ev, &e), CK_OK);
  d.kind = "est.otp";
  d.id = "h1";
  d.doc = "{\"u\":3}";
  assert_int_equal(ck_store_write_doc_put(w, &d, 1, &e), CK_OK);
  d.id = "h2";
  assert_int_equal(ck_store_write_doc_put(w, &d, -1, &e), CK_OK);
  ck_errctx_clear(&e);
  assert_int_equal(ck_store_submit_wait(f.s, w, &e), CK_ERR_CONFLICT);
  assert_int_equal(ck_store_write_status(w), CK_ERR_CONFLICT);
  assert_int_equal(ck_store_write_failed_op(w), 1);
  assert_non_null(strstr(ck_store_write_errmsg(w), "est.otp/h1"));
  assert_non_null(strstr(ck_store_write_errmsg(w), "doc.put"));
  assert_int_equal(ck_store_audit_head(f.s, &seq1, h, &e), CK_OK);
  assert_int_equal(seq1, seq0);
  assert_int_equal(fx_sql_int(&f, "SELECT count(*) FROM audit WHERE action ="
                                  " 'otp.use'"),
                   0);
  assert_int_equal(ck_store_doc_get(f.s, "est.otp", "h2", f.a, &got, &e),
                   CK_ERR_NOT_FOUND);
  assert_int_equal(ck_store_doc_get(f.s, "est.otp", "h1", f.a, &got, &e),
                   CK_OK);
  assert_int_equal(got.version, 2);
  assert_string_equal(got.doc, "{\"u\":1}");

  /* the same write with the right version commits all of it */
  ck_store_write_reset(w);
  assert_int_equal(ck_store_write_audit(w, &ev, &e), CK_OK);
  d.id = "h1";
  assert_int_equal(ck_store_write_doc_put(w, &d, 2, &e), CK_OK);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(ck_store_write_result(w, 0), seq0 + 1);
  assert_int_equal(ck_store_write_result(w, 1), 3);
  assert_int_equal(fx_sql_int(&f, "SELECT count(*) FROM audit WHERE action ="
                                  " 'otp.use'"),
                   1);
  ck_store_write_free(w);
  teardown_clock(&f);
}

static void deletes(void **state) {
  fx f;
  ck_store_doc got;
  ck_errctx e = CK_ERRCTX_INIT;
  int64_t r = -1;

  (void)state;
  setup_clock(&f);
  assert_int_equal(put_doc(&f, "wf.request", "r1", "", "", 0, "{}", -1, NULL),
                   CK_OK);
  assert_int_equal(put_doc(&f, "wf.request", "r1", "", "", 0, "{}", -1, NULL),
                   CK_OK); /* version 2 */
  assert_int_equal(put_doc(&f, "wf.request", "r2", "", "", 0, "{}", -1, NULL),
                   CK_OK);
  /* with a version: a wrong one conflicts and deletes nothing */
  assert_int_equal(del_doc(&f, "wf.request", "r1", 1, &r), CK_ERR_CONFLICT);
  assert_int_equal(ck_store_doc_get(f.s, "wf.request", "r1", f.a, &got, &e),
                   CK_OK);
  assert_int_equal(del_doc(&f, "wf.request", "r1", 2, &r), CK_OK);
  assert_int_equal(r, 1);
  assert_int_equal(ck_store_doc_get(f.s, "wf.request", "r1", f.a, &got, &e),
                   CK_ERR_NOT_FOUND);
  /* with a version on an absent document: conflict */
  assert_int_equal(del_doc(&f, "wf.request", "r1", 2, &r), CK_ERR_CONFLICT);
  /* without: 1 when present, 0 when not */
  assert_int_equal(del_doc(&f, "wf.request", "r2", -1, &r), CK_OK);
  assert_int_equal(r, 1);
  assert_int_equal(del_doc(&f, "wf.request", "r2", -1, &r), CK_OK);
  assert_int_equal(r, 0);
  /* a put after a delete starts again at version 1 */
  assert_int_equal(put_doc(&f, "wf.request", "r2", "", "", 0, "{}", 0, &r),
                   CK_OK);
  assert_int_equal(r, 1);
  teardown_clock(&f);
}

/* Appends src to dst (dstlen bytes), asserting it fits. */
static void append(char *dst, size_t dstlen, const char *src) {
  size_t l = strlen(dst), n = strlen(src);

  assert_true(l + n < dstlen);
  memcpy(dst + l, src, n + 1);
}

/* Lists every page of f with page size lim; returns the ids joined by ','
 * into out and the number of pages. */
static int list_all(fx *fx_, const ck_doc_filter *f, unsigned lim, char *out,
                    size_t outlen) {
  ck_store_page pg = {0};
  ck_errctx e = CK_ERRCTX_INIT;
  int pages = 0;

  out[0] = '\0';
  pg.limit = lim;
  for (;;) {
    ck_store_doc *items = NULL;
    size_t n = 0, i;
    ck_err rc = ck_store_doc_list(fx_->s, f, &pg, fx_->a, &items, &n, &e);
    if (rc != CK_OK)
      print_error("list: %s %s\n", ck_err_name(rc), e.msg);
    assert_int_equal(rc, CK_OK);
    pages++;
    assert_true(pages < 100);
    assert_true(n <= lim);
    for (i = 0; i < n; i++) {
      assert_string_equal(items[i].kind, f->kind);
      if (out[0] != '\0')
        append(out, outlen, ",");
      append(out, outlen, items[i].id);
    }
    if (pg.next_cursor == NULL)
      break;
    pg.cursor = pg.next_cursor;
  }
  return pages;
}

static int64_t count(fx *fx_, const ck_doc_filter *f) {
  ck_errctx e = CK_ERRCTX_INIT;
  int64_t n = -1;

  assert_int_equal(ck_store_doc_count(fx_->s, f, &n, &e), CK_OK);
  return n;
}

static void filters_order_pages(void **state) {
  fx f;
  ck_doc_filter q = {0};
  char ids[4096];
  char id[32];
  int i;

  (void)state;
  setup_clock(&f);
  /* n00..n11: state "queued" for even ones, "done" for odd; key "alice"
   * for i % 3 == 0; due times in reverse id order, none for n05 and n07;
   * plus documents of another kind that no query of sched.notice sees */
  for (i = 0; i < 12; i++) {
    int64_t due = (i == 5 || i == 7) ? 0 : FX_NOW + (12 - i) * 60;
    snprintf(id, sizeof id, "n%02d", i);
    assert_int_equal(put_doc(&f, "sched.notice", id,
                             i % 2 == 0 ? "queued" : "done",
                             i % 3 == 0 ? "alice" : "bob", due, "{}", 0, NULL),
                     CK_OK);
    assert_int_equal(put_doc(&f, "sched.noticf", id, "queued", "alice",
                             FX_NOW, "{}", 0, NULL),
                     CK_OK);
  }
  q.kind = "sched.notice";
  assert_int_equal(list_all(&f, &q, 5, ids, sizeof ids), 3);
  assert_string_equal(ids, "n00,n01,n02,n03,n04,n05,n06,n07,n08,n09,n10,n11");
  assert_int_equal(count(&f, &q), 12);
  /* exactly one page when it fits */
  assert_int_equal(list_all(&f, &q, 12, ids, sizeof ids), 1);

  q.state = "queued";
  assert_int_equal(list_all(&f, &q, 2, ids, sizeof ids), 3);
  assert_string_equal(ids, "n00,n02,n04,n06,n08,n10");
  assert_int_equal(count(&f, &q), 6);

  q.state = NULL;
  q.key = "alice";
  assert_int_equal(list_all(&f, &q, 100, ids, sizeof ids), 1);
  assert_string_equal(ids, "n00,n03,n06,n09");
  assert_int_equal(count(&f, &q), 4);
  q.state = "done";
  list_all(&f, &q, 100, ids, sizeof ids);
  assert_string_equal(ids, "n03,n09");
  assert_int_equal(count(&f, &q), 2);

  /* due: soonest first, only due_at != 0 && due_at < due_before */
  q.state = NULL;
  q.key = NULL;
  q.due_before = FX_NOW + 6 * 60 + 1; /* n06 (360 s) and sooner */
  assert_int_equal(list_all(&f, &q, 2, ids, sizeof ids), 3);
  assert_string_equal(ids, "n11,n10,n09,n08,n06");
  assert_int_equal(count(&f, &q), 5);
  q.due_before = INT64_MAX; /* everything with a due time */
  list_all(&f, &q, 3, ids, sizeof ids);
  assert_string_equal(ids, "n11,n10,n09,n08,n06,n04,n03,n02,n01,n00");
  assert_int_equal(count(&f, &q), 10);
  q.state = "queued";
  list_all(&f, &q, 1, ids, sizeof ids);
  assert_string_equal(ids, "n10,n08,n06,n04,n02,n00");
  assert_int_equal(count(&f, &q), 6);
  q.key = "alice";
  list_all(&f, &q, 1, ids, sizeof ids);
  assert_string_equal(ids, "n06,n00");
  assert_int_equal(count(&f, &q), 2);

  /* equal due times page by id */
  q.kind = "sched.noticf";
  q.state = NULL;
  q.key = NULL;
  q.due_before = FX_NOW + 1;
  assert_int_equal(list_all(&f, &q, 5, ids, sizeof ids), 3);
  assert_string_equal(ids, "n00,n01,n02,n03,n04,n05,n06,n07,n08,n09,n10,n11");
  q.kind = "sched.none";
  assert_int_equal(count(&f, &q), 0);
  assert_int_equal(list_all(&f, &q, 5, ids, sizeof ids), 1);
  assert_string_equal(ids, "");
  teardown_clock(&f);
}

static void odd_ids_and_cursors(void **state) {
  fx f;
  ck_doc_filter q = {0};
  ck_store_page pg = {0};
  ck_store_doc *items = NULL;
  ck_errctx e = CK_ERRCTX_INIT;
  char ids[1024];
  size_t n = 0;

  (void)state;
  setup_clock(&f);
  /* ids with separators, spaces and bytes above 0x7f page correctly */
  assert_int_equal(put_doc(&f, "acme.authz", "a:b.c", "", "", 5, "{}", 0, NULL),
                   CK_OK);
  assert_int_equal(put_doc(&f, "acme.authz", "a b/\xc3\xa9", "", "", 5, "{}", 0,
                           NULL),
                   CK_OK);
  assert_int_equal(put_doc(&f, "acme.authz", "z", "", "", 4, "{}", 0, NULL),
                   CK_OK);
  q.kind = "acme.authz";
  assert_int_equal(list_all(&f, &q, 1, ids, sizeof ids), 3);
  assert_string_equal(ids, "a b/\xc3\xa9,a:b.c,z");
  q.due_before = 10;
  assert_int_equal(list_all(&f, &q, 1, ids, sizeof ids), 3);
  assert_string_equal(ids, "z,a b/\xc3\xa9,a:b.c");

  /* cursors that do not parse, or belong to the other ordering */
  pg.limit = 1;
  pg.cursor = "garbage";
  assert_int_equal(ck_store_doc_list(f.s, &q, &pg, f.a, &items, &n, &e),
                   CK_ERR_PARSE);
  pg.cursor = "i7a"; /* an id-order cursor on a due-ordered list */
  assert_int_equal(ck_store_doc_list(f.s, &q, &pg, f.a, &items, &n, &e),
                   CK_ERR_PARSE);
  pg.cursor = "d5.7"; /* odd hex */
  assert_int_equal(ck_store_doc_list(f.s, &q, &pg, f.a, &items, &n, &e),
                   CK_ERR_PARSE);
  pg.cursor = "d5.0061"; /* an embedded NUL */
  assert_int_equal(ck_store_doc_list(f.s, &q, &pg, f.a, &items, &n, &e),
                   CK_ERR_PARSE);
  pg.cursor = "d5.7a"; /* after (5, "z"): nothing */
  assert_int_equal(ck_store_doc_list(f.s, &q, &pg, f.a, &items, &n, &e),
                   CK_OK);
  assert_int_equal(n, 0);
  assert_null(pg.next_cursor);
  teardown_clock(&f);
}

static void limits(void **state) {
  fx f;
  ck_store_write *w = ck_store_write_new();
  ck_store_doc d = {0};
  ck_doc_filter q = {0};
  ck_store_page pg = {0};
  ck_store_doc *items = NULL, got;
  ck_errctx e = CK_ERRCTX_INIT;
  char kind[CK_STORE_DOC_KIND_MAX + 2];
  char *big;
  size_t n = 0;
  int64_t cnt = 0;

  (void)state;
  setup_clock(&f);
  big = calloc(1, CK_STORE_BODY_MAX + 2);
  assert_non_null(big);
  d.kind = "est.fleet";
  d.id = "f1";
  d.doc = "{}";
  /* kind: required, charset, length */
  d.kind = NULL;
  assert_int_equal(ck_store_write_doc_put(w, &d, -1, &e), CK_ERR_INVAL);
  d.kind = "Est.fleet";
  assert_int_equal(ck_store_write_doc_put(w, &d, -1, &e), CK_ERR_INVAL);
  assert_non_null(strstr(e.msg, "doc.kind"));
  d.kind = "est fleet";
  assert_int_equal(ck_store_write_doc_put(w, &d, -1, &e), CK_ERR_INVAL);
  memset(kind, 'a', sizeof kind - 1);
  kind[sizeof kind - 1] = '\0';
  d.kind = kind;
  assert_int_equal(ck_store_write_doc_put(w, &d, -1, &e), CK_ERR_LIMIT);
  kind[CK_STORE_DOC_KIND_MAX] = '\0'; /* exactly the maximum */
  assert_int_equal(ck_store_write_doc_put(w, &d, -1, &e), CK_OK);
  d.kind = "est.fleet";
  /* id, key, state */
  d.id = "";
  assert_int_equal(ck_store_write_doc_put(w, &d, -1, &e), CK_ERR_INVAL);
  memset(big, 'x', CK_STORE_NAME_MAX + 1);
  d.id = big;
  assert_int_equal(ck_store_write_doc_put(w, &d, -1, &e), CK_ERR_LIMIT);
  assert_int_equal(ck_store_write_doc_del(w, "est.fleet", big, -1, &e),
                   CK_ERR_LIMIT);
  d.id = "f1";
  d.state = big;
  assert_int_equal(ck_store_write_doc_put(w, &d, -1, &e), CK_ERR_LIMIT);
  d.state = NULL;
  memset(big, 'k', CK_STORE_TEXT_MAX + 1);
  d.key = big;
  assert_int_equal(ck_store_write_doc_put(w, &d, -1, &e), CK_ERR_LIMIT);
  d.key = NULL;
  /* doc: 1..CK_STORE_BODY_MAX bytes */
  d.doc = "";
  assert_int_equal(ck_store_write_doc_put(w, &d, -1, &e), CK_ERR_INVAL);
  d.doc = NULL;
  assert_int_equal(ck_store_write_doc_put(w, &d, -1, &e), CK_ERR_INVAL);
  memset(big, 'd', CK_STORE_BODY_MAX + 1);
  d.doc = big;
  assert_int_equal(ck_store_write_doc_put(w, &d, -1, &e), CK_ERR_LIMIT);
  big[CK_STORE_BODY_MAX] = '\0'; /* exactly the maximum */
  assert_int_equal(ck_store_write_doc_put(w, &d, -1, &e), CK_OK);
  d.doc = "{}";
  d.due_at = -1;
  assert_int_equal(ck_store_write_doc_put(w, &d, -1, &e), CK_ERR_INVAL);
  d.due_at = 0;
  assert_int_equal(ck_store_write_doc_put(NULL, &d, -1, &e), CK_ERR_INVAL);
  assert_int_equal(ck_store_write_doc_put(w, NULL, -1, &e), CK_ERR_INVAL);
  /* delete: version 0 is meaningless */
  assert_int_equal(ck_store_write_doc_del(w, "est.fleet", "f1", 0, &e),
                   CK_ERR_INVAL);
  /* only the two valid puts were added */
  assert_int_equal(ck_store_write_count(w), 2);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(ck_store_doc_get(f.s, "est.fleet", "f1", f.a, &got, &e),
                   CK_OK);
  assert_int_equal(strlen(got.doc), CK_STORE_BODY_MAX);

  /* reads check the same */
  assert_int_equal(ck_store_doc_get(f.s, "EST", "f1", f.a, &got, &e),
                   CK_ERR_INVAL);
  assert_int_equal(ck_store_doc_get(f.s, "est.fleet", "", f.a, &got, &e),
                   CK_ERR_INVAL);
  assert_int_equal(ck_store_doc_list(f.s, &q, &pg, f.a, &items, &n, &e),
                   CK_ERR_INVAL); /* no kind */
  assert_int_equal(ck_store_doc_list(f.s, NULL, &pg, f.a, &items, &n, &e),
                   CK_ERR_INVAL);
  assert_int_equal(ck_store_doc_count(f.s, &q, &cnt, &e), CK_ERR_INVAL);
  q.kind = "est.fleet";
  q.due_before = -5;
  assert_int_equal(ck_store_doc_count(f.s, &q, &cnt, &e), CK_ERR_INVAL);
  q.due_before = 0;
  q.state = big;
  assert_int_equal(ck_store_doc_count(f.s, &q, &cnt, &e), CK_ERR_LIMIT);
  q.state = NULL;
  pg.limit = CK_STORE_PAGE_MAX + 1;
  assert_int_equal(ck_store_doc_list(f.s, &q, &pg, f.a, &items, &n, &e),
                   CK_ERR_LIMIT);
  free(big);
  ck_store_write_free(w);
  teardown_clock(&f);
}

/* Returns 1 when the plan of sql scans the docs table without an index. */
static int plan_scans(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st = NULL;
  char q[1024];
  int scans = 0, rows = 0;

  snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
  assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *detail = (const char *)sqlite3_column_text(st, 3);
    rows++;
    if (detail != NULL && strstr(detail, "docs") != NULL &&
        strstr(detail, "INDEX") == NULL)
      scans = 1;
  }
  sqlite3_finalize(st);
  assert_true(rows > 0);
  return scans;
}

/* The queries of sqlite_docs.c (shapes kept in step by hand) all use an
 * index; a dropped index or a changed shape fails here. */
static void queries_use_indexes(void **state) {
  static const char *const sqls[] = {
      "SELECT doc FROM docs WHERE kind = ?1 AND id = ?2",
      "SELECT doc FROM docs WHERE kind = ?1 AND id > ?6 ORDER BY id LIMIT ?7",
      "SELECT doc FROM docs WHERE kind = ?1 AND state = ?2 AND id > ?6"
      " ORDER BY id LIMIT ?7",
      "SELECT doc FROM docs WHERE kind = ?1 AND key = ?3 AND id > ?6"
      " ORDER BY id LIMIT ?7",
      "SELECT doc FROM docs WHERE kind = ?1 AND due_at != 0 AND due_at < ?4"
      " AND (due_at, id) > (?5, ?6) ORDER BY due_at, id LIMIT ?7",
      "SELECT doc FROM docs WHERE kind = ?1 AND state = ?2 AND due_at != 0"
      " AND due_at < ?4 AND (due_at, id) > (?5, ?6) ORDER BY due_at, id"
      " LIMIT ?7",
      "SELECT count(*) FROM docs WHERE kind = ?1 AND state = ?2",
      "SELECT count(*) FROM docs WHERE kind = ?1 AND key = ?3",
      "SELECT count(*) FROM docs WHERE kind = ?1 AND due_at != 0"
      " AND due_at < ?4",
      "SELECT count(*) FROM docs WHERE kind = ?1 AND state = ?2"
      " AND due_at != 0 AND due_at < ?4",
  };
  fx f;
  sqlite3 *db = NULL;
  size_t i;

  (void)state;
  fx_setup(&f);
  assert_int_equal(sqlite3_open(f.path, &db), SQLITE_OK);
  for (i = 0; i < sizeof sqls / sizeof sqls[0]; i++) {
    if (plan_scans(db, sqls[i]))
      print_error("no index for: %s\n", sqls[i]);
    assert_false(plan_scans(db, sqls[i]));
  }
  sqlite3_close(db);
  fx_teardown(&f);
}

/* A version-4 database (everything but migration 5) is upgraded on open,
 * its data kept. */
static void upgrades_version_4(void **state) {
  fx f;
  ck_store_cert c, got;
  ck_store_doc doc;
  ck_errctx e = CK_ERRCTX_INIT;

  (void)state;
  setup_clock(&f);
  fx_cert(&f, &c, 1);
  fx_put_cert(&f, &c);
  ck_store_close(f.s);
  f.s = NULL;
  fx_sql(&f, "DROP TABLE docs; PRAGMA user_version = 4");
  assert_int_equal(
      fx_sql_int(&f, "SELECT count(*) FROM sqlite_schema WHERE tbl_name ="
                     " 'docs'"),
      0);
  f.s = fx_open_opts(&f, NULL);
  assert_int_equal(fx_sql_int(&f, "PRAGMA user_version"), 5);
  assert_int_equal(CK_STORE_SCHEMA_VERSION, 5);
  assert_int_equal(
      fx_sql_int(&f, "SELECT count(*) FROM sqlite_schema WHERE type = 'index'"
                     " AND tbl_name = 'docs' AND name LIKE 'docs_%'"),
      4);
  assert_int_equal(ck_store_cert_get(f.s, c.fingerprint, 0, f.a, &got, &e),
                   CK_OK);
  assert_int_equal(put_doc(&f, "sched.action", "a1", "", "", 0, "{}", 0, NULL),
                   CK_OK);
  assert_int_equal(ck_store_doc_get(f.s, "sched.action", "a1", f.a, &doc, &e),
                   CK_OK);
  assert_int_equal(doc.version, 1);
  teardown_clock(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(put_get_versions),
      cmocka_unit_test(insert_only_and_cas),
      cmocka_unit_test(deletes),
      cmocka_unit_test(filters_order_pages),
      cmocka_unit_test(odd_ids_and_cursors),
      cmocka_unit_test(limits),
      cmocka_unit_test(queries_use_indexes),
      cmocka_unit_test(upgrades_version_4),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
