/* fixture.h — helpers shared by the store and audit tests: a fresh store in
 * a temporary directory, synthetic certificate records, and raw SQL access
 * to the database file (to inspect it and to tamper with it). */
#ifndef CK_TESTS_STORE_FIXTURE_H
#define CK_TESTS_STORE_FIXTURE_H

#include "tests/testutil.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "common/crypto/crypto.h"
#include "common/util/mem.h"
#include "coordinator/store/store.h"

#define FX_DAY 86400
#define FX_NOW 1900000000 /* 2030-03-17: tests pass explicit times */

typedef struct fx {
  char *dir;
  char path[512];
  ck_store *s;
  ck_arena *a;
} fx;

static inline ck_store *fx_open_opts(fx *f, const ck_store_opts *opts) {
  ck_store_opts o = {0};
  ck_errctx e = CK_ERRCTX_INIT;
  ck_store *s = NULL;
  ck_err rc;

  if (opts != NULL)
    o = *opts;
  o.path = f->path;
  rc = ck_store_open(&o, &s, &e);
  if (rc != CK_OK)
    print_error("ck_store_open: %s: %s\n", ck_err_name(rc), e.msg);
  assert_int_equal(rc, CK_OK);
  return s;
}

static inline void fx_setup(fx *f) {
  memset(f, 0, sizeof *f);
  f->dir = ck_test_tmpdir();
  snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
  f->s = fx_open_opts(f, NULL);
  f->a = ck_arena_new(16384);
  assert_non_null(f->a);
}

static inline void fx_teardown(fx *f) {
  ck_store_close(f->s);
  ck_arena_free(f->a);
  ck_test_rmtree(f->dir);
  free(f->dir);
}

static inline void fx_reopen(fx *f) {
  ck_store_close(f->s);
  f->s = fx_open_opts(f, NULL);
}

/* A deterministic SHA-256 hex from a label and a number. */
static inline void fx_hex(const char *label, long n, char out[65]) {
  char in[128];
  uint8_t h[CK_SHA256_LEN];

  snprintf(in, sizeof in, "%s-%ld", label, n);
  assert_int_equal(ck_crypto_sha256(in, strlen(in), h), CK_OK);
  ck_hex_encode(h, sizeof h, out);
}

/* A synthetic certificate record number i: strings live in f->a. */
static inline void fx_cert(fx *f, ck_store_cert *c, long i) {
  char buf[256];
  uint8_t *der;

  memset(c, 0, sizeof *c);
  fx_hex("fp", i, c->fingerprint);
  fx_hex("spki", i, c->spki_sha256);
  snprintf(buf, sizeof buf, "%lx0a", 0x1000 + i);
  c->serial_hex = ck_arena_strdup(f->a, buf);
  snprintf(buf, sizeof buf, "CN=host%ld.example.com,O=Example", i);
  c->subject = ck_arena_strdup(f->a, buf);
  c->issuer = "CN=Test Issuing CA,O=Example";
  snprintf(buf, sizeof buf, "DNS:host%ld.example.com\nIP:192.0.2.%ld", i,
           i % 250);
  c->sans = ck_arena_strdup(f->a, buf);
  c->not_before = FX_NOW - 10 * FX_DAY;
  c->not_after = FX_NOW + (i + 1) * FX_DAY;
  c->key_type = "EC";
  c->key_bits = 256;
  c->sig_alg = "ecdsa-with-SHA256";
  der = ck_arena_alloc(f->a, 300);
  memset(der, (int)(i & 0xff), 300);
  der[0] = 0x30;
  c->der = der;
  c->der_len = 300;
  c->status = CK_CERT_ACTIVE;
  c->source = CK_CERT_SRC_ISSUED;
}

/* Submits w (waiting) and asserts the outcome. */
static inline void fx_commit(fx *f, ck_store_write *w, ck_err expect) {
  ck_errctx e = CK_ERRCTX_INIT;
  ck_err rc = ck_store_submit_wait(f->s, w, &e);

  if (rc != expect)
    print_error("write: got %s (%s), want %s\n", ck_err_name(rc), e.msg,
                ck_err_name(expect));
  assert_int_equal(rc, expect);
}

/* Puts one certificate in its own write; returns its id. */
static inline int64_t fx_put_cert(fx *f, const ck_store_cert *c) {
  ck_store_write *w = ck_store_write_new();
  int64_t id;

  assert_non_null(w);
  assert_int_equal(ck_store_write_cert_put(w, c, NULL), CK_OK);
  fx_commit(f, w, CK_OK);
  id = ck_store_write_result(w, 0);
  ck_store_write_free(w);
  assert_true(id > 0);
  return id;
}

/* Raw SQL on the database file (a separate connection). */
static inline void fx_sql(fx *f, const char *sql) {
  sqlite3 *db = NULL;
  char *msg = NULL;
  int rc;

  assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK)
    print_error("sql '%s': %s\n", sql, msg ? msg : "?");
  sqlite3_free(msg);
  sqlite3_close(db);
  assert_int_equal(rc, SQLITE_OK);
}

/* Runs raw SQL; returns 1 when SQLite refused it, 0 when it ran. */
static inline int fx_sql_fails(fx *f, const char *sql) {
  sqlite3 *db = NULL;
  int rc;

  assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  sqlite3_close(db);
  return rc != SQLITE_OK;
}

/* Returns the integer the query's first row starts with. */
static inline int64_t fx_sql_int(fx *f, const char *sql) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int64_t v = -1;

  assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  if (sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

#endif
