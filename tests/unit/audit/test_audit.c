/* test_audit.c — the hash-chained audit trail: the canonical encoding and
 * hash match an independent computation (Python's hashlib, below), a chain
 * written through the store verifies, and tampering with the database by
 * raw SQL — a modified row, a deleted row, a replaced row with a recomputed
 * hash, a truncated tail, a wrong anchor — is reported at the right seq. */
#include "tests/unit/store/fixture.h"

#include "coordinator/audit/audit.h"

/* python3: enc = b'CKA1' + struct.pack('>qq', seq, time) + for each field
 * struct.pack('>I', len) + bytes; hash = sha256(prev + enc) */
static const char VEC1_ENC[] =
    "434b41310000000000000001000000006553f1000000000673797374656d0000000763"
    "612e696e697400000002636100000004726f6f74000000097b226b223a2276227d";
static const char VEC1_HASH[] =
    "281e2db414c2a343792cb2f71e20dcf5d30ce8fa729c5fbb8c447dbba368470e";
static const char VEC2_HASH[] =
    "b0feb8778c5e7e9f401812a6fc586cf18a30935c4a1059e955731e50477738d6";

static void encoding_vector(void **state) {
  ck_audit_event ev = {0}, ev2 = {0};
  uint8_t buf[256], zero[CK_SHA256_LEN] = {0}, h[CK_SHA256_LEN],
                    h2[CK_SHA256_LEN];
  char hex[2 * sizeof buf + 1];
  size_t n;

  (void)state;
  ev.seq = 1;
  ev.time = 1700000000;
  ev.actor = "system";
  ev.action = "ca.init";
  ev.object_type = "ca";
  ev.object_id = "root";
  ev.details = "{\"k\":\"v\"}";
  n = ck_audit_encode(&ev, buf, sizeof buf);
  assert_int_equal(n, ck_audit_encoded_len(&ev));
  assert_int_equal(n, (sizeof VEC1_ENC - 1) / 2);
  ck_hex_encode(buf, n, hex);
  assert_string_equal(hex, VEC1_ENC);
  assert_int_equal(ck_audit_hash(zero, &ev, h), CK_OK);
  ck_hex_encode(h, sizeof h, hex);
  assert_string_equal(hex, VEC1_HASH);

  ev2.seq = 2;
  ev2.time = 1700000001;
  ev2.actor = "token:admin";
  ev2.action = "profile.update";
  ev2.object_type = "profile";
  ev2.object_id = "tls-server";
  ev2.details = "";
  assert_int_equal(ck_audit_hash(h, &ev2, h2), CK_OK);
  ck_hex_encode(h2, sizeof h2, hex);
  assert_string_equal(hex, VEC2_HASH);

  /* fields cannot bleed into each other: moving a byte changes the hash */
  ev2.object_type = "profil";
  ev2.object_id = "etls-server";
  assert_int_equal(ck_audit_hash(h, &ev2, buf), CK_OK);
  assert_memory_not_equal(buf, h2, CK_SHA256_LEN);
  /* bad input */
  assert_int_equal(ck_audit_encode(&ev, buf, n - 1), 0);
  ev.actor = NULL;
  assert_int_equal(ck_audit_encoded_len(&ev), 0);
  assert_int_equal(ck_audit_hash(zero, &ev, h), CK_ERR_INVAL);
  assert_int_equal(ck_audit_encoded_len(NULL), 0);
  assert_string_equal(ck_audit_problem_name(CK_AUDIT_GAP), "gap");
  assert_string_equal(ck_audit_problem_name((ck_audit_problem)99), "?");
}

/* Appends n events, several per write, with long details on some. */
static void append_events(fx *f, int first, int n) {
  ck_store_write *w = ck_store_write_new();
  char id[32], details[2048];
  int i;

  assert_non_null(w);
  for (i = first; i < first + n; i++) {
    ck_audit_event ev = {0};
    snprintf(id, sizeof id, "obj-%d", i);
    /* every 10th event has details longer than ck_audit_hash's stack
     * buffer, so both hashing paths are chained */
    snprintf(details, sizeof details, "{\"i\":%d,\"pad\":\"%0*d\"}", i,
             i % 10 == 0 ? 1500 : 1, 0);
    ev.actor = i % 2 ? "token:admin" : "agent:web-01";
    ev.action = "cert.issue";
    ev.object_type = "cert";
    ev.object_id = id;
    ev.details = details;
    assert_int_equal(ck_store_write_audit(w, &ev, NULL), CK_OK);
    if (ck_store_write_count(w) == 4 || i == first + n - 1) {
      fx_commit(f, w, CK_OK);
      ck_store_write_reset(w);
    }
  }
  ck_store_write_free(w);
}

static void verify(fx *f, const ck_audit_anchor *anchor, ck_audit_report *r) {
  ck_errctx e = CK_ERRCTX_INIT;

  assert_int_equal(ck_audit_verify(f->s, anchor, r, &e), CK_OK);
}

static void untouched_chain_verifies(void **state) {
  fx f;
  ck_audit_report r;
  ck_audit_event *evs = NULL;
  ck_store_page pg = {0};
  ck_errctx e = CK_ERRCTX_INIT;
  int64_t head_seq;
  uint8_t head[CK_SHA256_LEN], zero[CK_SHA256_LEN] = {0};
  size_t n;

  (void)state;
  fx_setup(&f);
  verify(&f, NULL, &r); /* empty */
  assert_int_equal(r.problem, CK_AUDIT_OK);
  assert_int_equal(r.checked, 0);
  append_events(&f, 1, 1234); /* more than one verify page */
  verify(&f, NULL, &r);
  assert_int_equal(r.problem, CK_AUDIT_OK);
  assert_string_equal(r.msg, "");
  assert_int_equal(r.checked, 1234);
  assert_int_equal(r.head_seq, 1234);
  assert_int_equal(ck_store_audit_head(f.s, &head_seq, head, &e), CK_OK);
  assert_int_equal(head_seq, 1234);
  assert_memory_equal(head, r.head_hash, CK_SHA256_LEN);
  /* events read back as written; the first links to zeros */
  pg.limit = 2;
  assert_int_equal(ck_store_audit_list(f.s, 0, &pg, f.a, &evs, &n, &e), CK_OK);
  assert_int_equal(n, 2);
  assert_int_equal(evs[0].seq, 1);
  assert_memory_equal(evs[0].prev_hash, zero, CK_SHA256_LEN);
  assert_memory_equal(evs[1].prev_hash, evs[0].hash, CK_SHA256_LEN);
  assert_string_equal(evs[0].object_id, "obj-1");
  assert_string_equal(evs[0].actor, "token:admin");
  assert_true(evs[0].time > 0);
  /* survives re-open: the chain continues from the stored head */
  fx_reopen(&f);
  append_events(&f, 1235, 3);
  verify(&f, NULL, &r);
  assert_int_equal(r.problem, CK_AUDIT_OK);
  assert_int_equal(r.checked, 1237);
  /* an anchor that matches */
  {
    ck_audit_anchor an = {0};
    assert_int_equal(ck_store_audit_list(f.s, 29, &pg, f.a, &evs, &n, &e),
                     CK_OK);
    an.seq = 30;
    memcpy(an.hash, evs[0].hash, CK_SHA256_LEN);
    verify(&f, &an, &r);
    assert_int_equal(r.problem, CK_AUDIT_OK);
    an.hash[0] ^= 1;
    verify(&f, &an, &r);
    assert_int_equal(r.problem, CK_AUDIT_HEAD_MISMATCH);
    assert_int_equal(r.bad_seq, 30);
    an.seq = 5000; /* beyond the end: the tail is gone */
    verify(&f, &an, &r);
    assert_int_equal(r.problem, CK_AUDIT_TRUNCATED);
  }
  fx_teardown(&f);
}

static void append_only_triggers(void **state) {
  fx f;
  ck_audit_report r;

  (void)state;
  fx_setup(&f);
  append_events(&f, 1, 5);
  assert_true(fx_sql_fails(&f, "UPDATE audit SET actor = 'x' WHERE seq = 2"));
  assert_true(fx_sql_fails(&f, "DELETE FROM audit WHERE seq = 2"));
  verify(&f, NULL, &r);
  assert_int_equal(r.problem, CK_AUDIT_OK);
  fx_teardown(&f);
}

static void detects_modified_row(void **state) {
  fx f;
  ck_audit_report r;

  (void)state;
  fx_setup(&f);
  append_events(&f, 1, 50);
  fx_sql(&f, "DROP TRIGGER audit_no_update;"
             "UPDATE audit SET details = '{\"i\":17,\"forged\":true}'"
             " WHERE seq = 17");
  verify(&f, NULL, &r);
  assert_int_equal(r.problem, CK_AUDIT_MODIFIED);
  assert_int_equal(r.bad_seq, 17);
  assert_int_equal(r.checked, 16);
  assert_non_null(strstr(r.msg, "17 was modified"));
  fx_teardown(&f);
}

static void detects_modified_time_and_actor(void **state) {
  fx f;
  ck_audit_report r;

  (void)state;
  fx_setup(&f);
  append_events(&f, 1, 10);
  fx_sql(&f, "DROP TRIGGER audit_no_update;"
             "UPDATE audit SET time = time + 1 WHERE seq = 4");
  verify(&f, NULL, &r);
  assert_int_equal(r.problem, CK_AUDIT_MODIFIED);
  assert_int_equal(r.bad_seq, 4);
  fx_teardown(&f);
}

static void detects_deleted_row(void **state) {
  fx f;
  ck_audit_report r;

  (void)state;
  fx_setup(&f);
  append_events(&f, 1, 50);
  fx_sql(&f, "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 20");
  verify(&f, NULL, &r);
  assert_int_equal(r.problem, CK_AUDIT_GAP);
  assert_int_equal(r.bad_seq, 20);
  assert_non_null(strstr(r.msg, "20 is missing"));
  /* the first row */
  fx_teardown(&f);
  fx_setup(&f);
  append_events(&f, 1, 5);
  fx_sql(&f, "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 1");
  verify(&f, NULL, &r);
  assert_int_equal(r.problem, CK_AUDIT_GAP);
  assert_int_equal(r.bad_seq, 1);
  fx_teardown(&f);
}

/* Deleting a row and renumbering the rest hides the gap, not the link. */
static void detects_renumbered_rows(void **state) {
  fx f;
  ck_audit_report r;

  (void)state;
  fx_setup(&f);
  append_events(&f, 1, 30);
  fx_sql(&f, "DROP TRIGGER audit_no_delete; DROP TRIGGER audit_no_update;"
             "DELETE FROM audit WHERE seq = 10;"
             "UPDATE audit SET seq = -seq WHERE seq > 10;"
             "UPDATE audit SET seq = -seq - 1 WHERE seq < 0");
  verify(&f, NULL, &r);
  assert_true(r.problem == CK_AUDIT_MODIFIED ||
              r.problem == CK_AUDIT_BROKEN_LINK);
  assert_int_equal(r.bad_seq, 10);
  fx_teardown(&f);
}

/* An attacker who recomputes the modified row's hash breaks the next link. */
static void detects_rehashed_row(void **state) {
  fx f;
  ck_audit_report r;
  ck_audit_event *evs = NULL;
  ck_store_page pg = {1, NULL, NULL};
  ck_errctx e = CK_ERRCTX_INIT;
  uint8_t h[CK_SHA256_LEN];
  char hex[65], sql[512];
  size_t n;

  (void)state;
  fx_setup(&f);
  append_events(&f, 1, 20);
  assert_int_equal(ck_store_audit_list(f.s, 9, &pg, f.a, &evs, &n, &e), CK_OK);
  assert_int_equal(evs[0].seq, 10);
  evs[0].actor = "token:mallory";
  assert_int_equal(ck_audit_hash(evs[0].prev_hash, &evs[0], h), CK_OK);
  ck_hex_encode(h, sizeof h, hex);
  snprintf(sql, sizeof sql,
           "DROP TRIGGER audit_no_update;"
           "UPDATE audit SET actor = 'token:mallory', hash = x'%s'"
           " WHERE seq = 10",
           hex);
  fx_sql(&f, sql);
  verify(&f, NULL, &r);
  assert_int_equal(r.problem, CK_AUDIT_BROKEN_LINK);
  assert_int_equal(r.bad_seq, 11);
  fx_teardown(&f);
}

static void detects_truncated_tail(void **state) {
  fx f;
  ck_audit_report r;

  (void)state;
  fx_setup(&f);
  append_events(&f, 1, 50);
  fx_sql(&f, "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq > 47");
  verify(&f, NULL, &r);
  assert_int_equal(r.problem, CK_AUDIT_TRUNCATED);
  assert_int_equal(r.bad_seq, 48);
  assert_int_equal(r.checked, 47);
  /* appending after the truncation does not paper over it: the chain
   * continues from the recorded head, so a gap appears */
  fx_reopen(&f);
  append_events(&f, 51, 2);
  verify(&f, NULL, &r);
  assert_int_equal(r.problem, CK_AUDIT_GAP);
  assert_int_equal(r.bad_seq, 48);
  fx_teardown(&f);
}

static void detects_forged_head(void **state) {
  fx f;
  ck_audit_report r;

  (void)state;
  fx_setup(&f);
  append_events(&f, 1, 10);
  fx_sql(&f, "UPDATE audit_head SET hash = zeroblob(32)");
  fx_reopen(&f);
  verify(&f, NULL, &r);
  assert_int_equal(r.problem, CK_AUDIT_HEAD_MISMATCH);
  assert_int_equal(r.bad_seq, 10);
  fx_teardown(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(encoding_vector),
      cmocka_unit_test(untouched_chain_verifies),
      cmocka_unit_test(append_only_triggers),
      cmocka_unit_test(detects_modified_row),
      cmocka_unit_test(detects_modified_time_and_actor),
      cmocka_unit_test(detects_deleted_row),
      cmocka_unit_test(detects_renumbered_rows),
      cmocka_unit_test(detects_rehashed_row),
      cmocka_unit_test(detects_truncated_tail),
      cmocka_unit_test(detects_forged_head),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
