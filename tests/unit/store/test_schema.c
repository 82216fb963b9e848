/* test_schema.c — opening the store: migration of an empty file, re-open,
 * WAL mode, refusal of newer schemas and of other programs' databases. */
#include "tests/unit/store/fixture.h"

#include <sys/stat.h>

static void migrates_empty_and_reopens(void **state) {
  fx f;
  ck_store_cert c;
  ck_store_cert got;
  ck_errctx e = CK_ERRCTX_INIT;
  struct stat sb;

  (void)state;
  fx_setup(&f);
  assert_string_equal(ck_store_backend_name(f.s), "sqlite");
  assert_int_equal(fx_sql_int(&f, "PRAGMA user_version"),
                   CK_STORE_SCHEMA_VERSION);
  assert_int_equal(fx_sql_int(&f, "PRAGMA application_id"), 0x434b7374);
  assert_int_equal(
      fx_sql_int(&f, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
                     " AND name IN ('certs', 'cert_der', 'installs', 'agents',"
                     " 'owners', 'profiles', 'requests', 'revocations',"
                     " 'enroll_tokens', 'api_tokens', 'cas', 'audit',"
                     " 'audit_head')"),
      13);
  /* the file is private to the service user */
  assert_int_equal(stat(f.path, &sb), 0);
  assert_int_equal(sb.st_mode & 077, 0);

  fx_cert(&f, &c, 1);
  fx_put_cert(&f, &c);
  fx_reopen(&f); /* re-open: no migration runs, data is there */
  assert_int_equal(fx_sql_int(&f, "PRAGMA user_version"),
                   CK_STORE_SCHEMA_VERSION);
  assert_int_equal(ck_store_cert_get(f.s, c.fingerprint, 0, f.a, &got, &e),
                   CK_OK);
  assert_string_equal(got.subject, c.subject);
  fx_reopen(&f);
  assert_int_equal(fx_sql_int(&f, "SELECT count(*) FROM certs"), 1);
  fx_teardown(&f);
}

static void wal_mode(void **state) {
  fx f;
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;

  (void)state;
  fx_setup(&f);
  assert_int_equal(sqlite3_open(f.path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
  fx_teardown(&f);
}

static void newer_schema_refused(void **state) {
  fx f;
  ck_store *s = NULL;
  ck_store_opts o = {0};
  ck_errctx e = CK_ERRCTX_INIT;

  (void)state;
  fx_setup(&f);
  ck_store_close(f.s);
  f.s = NULL;
  fx_sql(&f, "PRAGMA user_version = 99");
  o.path = f.path;
  assert_int_equal(ck_store_open(&o, &s, &e), CK_ERR_STORE_SCHEMA);
  assert_null(s);
  assert_non_null(strstr(e.msg, "99"));
  assert_non_null(strstr(e.msg, "newer"));
  /* nothing was changed by the refusal */
  assert_int_equal(fx_sql_int(&f, "PRAGMA user_version"), 99);
  {
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d",
             CK_STORE_SCHEMA_VERSION);
    fx_sql(&f, sql);
  }
  f.s = fx_open_opts(&f, NULL);
  fx_teardown(&f);
}

static void foreign_database_refused(void **state) {
  fx f;
  ck_store *s = NULL;
  ck_store_opts o = {0};
  ck_errctx e = CK_ERRCTX_INIT;

  (void)state;
  fx_setup(&f);
  ck_store_close(f.s);
  f.s = NULL;
  /* tables but no version: someone else's database */
  remove(f.path);
  fx_sql(&f, "CREATE TABLE certs (x); INSERT INTO certs VALUES (1)");
  o.path = f.path;
  assert_int_equal(ck_store_open(&o, &s, &e), CK_ERR_STORE);
  assert_non_null(strstr(e.msg, "no certkeeper schema version"));
  assert_int_equal(fx_sql_int(&f, "SELECT x FROM certs"), 1);
  /* another application id */
  remove(f.path);
  fx_sql(&f, "PRAGMA application_id = 1234");
  ck_errctx_clear(&e);
  assert_int_equal(ck_store_open(&o, &s, &e), CK_ERR_STORE);
  assert_non_null(strstr(e.msg, "another program"));
  /* not a database at all */
  remove(f.path);
  {
    FILE *fp = fopen(f.path, "w");
    assert_non_null(fp);
    fputs("this is not an SQLite database, just text, long enough to look "
          "like a header of some sort................................",
          fp);
    fclose(fp);
  }
  ck_errctx_clear(&e);
  assert_int_equal(ck_store_open(&o, &s, &e), CK_ERR_STORE);
  assert_null(s);
  f.s = NULL;
  ck_arena_free(f.a);
  ck_test_rmtree(f.dir);
  free(f.dir);
}

static void bad_open_arguments(void **state) {
  ck_store *s = NULL;
  ck_store_opts o = {0};
  ck_errctx e = CK_ERRCTX_INIT;

  (void)state;
  assert_int_equal(ck_store_open(NULL, &s, &e), CK_ERR_INVAL);
  assert_int_equal(ck_store_open(&o, &s, &e), CK_ERR_INVAL);
  o.path = "/nonexistent-dir-ck/sub/store.db";
  ck_errctx_clear(&e);
  assert_int_equal(ck_store_open(&o, &s, &e), CK_ERR_STORE);
  assert_non_null(strstr(e.msg, "/nonexistent-dir-ck/sub/store.db"));
  assert_null(s);
  ck_store_close(NULL); /* no-op */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(migrates_empty_and_reopens),
      cmocka_unit_test(wal_mode),
      cmocka_unit_test(newer_schema_refused),
      cmocka_unit_test(foreign_database_refused),
      cmocka_unit_test(bad_open_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
