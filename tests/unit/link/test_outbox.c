/* test_outbox.c — the agent's durable event queue: order and sequence
 * numbers, drop on ack, survival across reopen (restart), bounds with the
 * persisted dropped counter and the overflow report, and a damaged entry
 * (truncated file, garbage) skipped with a log instead of a crash. */
#include "tests/testutil.h"

#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/link/outbox.h"
#include "common/util/log.h"
#include "common/util/mem.h"

static int corrupt_logged;

static void hook(ck_log_stream s, ck_log_level l, const char *line, void *a) {
  (void)s;
  (void)l;
  (void)a;
  if (strstr(line, "agent.outbox.corrupt") != NULL)
    corrupt_logged++;
}

static void ev(ck_wire_event *e, const char *id, const char *state) {
  memset(e, 0, sizeof *e);
  e->kind = CK_WIRE_EVENT_STATE;
  e->cert_id = id;
  e->new_state = state;
  e->at = 1700000000;
}

/* Decodes frame and returns its event's new_state copied into buf. */
static void frame_state(const uint8_t *f, size_t len, uint64_t want_id,
                        char *buf, size_t blen) {
  ck_arena *a = ck_arena_new(1024);
  ck_wire_msg m;
  ck_errctx err = CK_ERRCTX_INIT;

  assert_non_null(a);
  assert_true(len > 4);
  assert_int_equal(ck_wire_decode(f + 4, len - 4, NULL, a, &m, &err), CK_OK);
  assert_int_equal(m.type, CK_WIRE_EVENT);
  assert_int_equal(m.id, want_id);
  ck_strlcpy(buf, m.u.event.reason != NULL ? m.u.event.reason
                                           : m.u.event.new_state,
             blen);
  ck_arena_free(a);
}

static void test_order_ack_restart(void **state) {
  char *tmp = ck_test_tmpdir(), dir[4096], st[64];
  ck_outbox *ob = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_wire_event e;
  uint64_t seq = 0, s1, s2, s3;
  uint8_t *f = NULL;
  size_t len = 0;
  (void)state;

  snprintf(dir, sizeof dir, "%s/outbox", tmp);
  assert_int_equal(ck_outbox_open(dir, 100, 1 << 20, &ob, &err), CK_OK);
  assert_int_equal(ck_outbox_peek(ob, 0, &seq, &f, &len, &err), CK_ERR_NOENT);
  ev(&e, "web", "SUBMITTED");
  assert_int_equal(ck_outbox_append(ob, &e, &s1, &err), CK_OK);
  ev(&e, "web", "HAVE_CERT");
  assert_int_equal(ck_outbox_append(ob, &e, &s2, &err), CK_OK);
  ev(&e, "web", "MONITORING");
  assert_int_equal(ck_outbox_append(ob, &e, &s3, &err), CK_OK);
  assert_true(s1 >= 1 && s2 == s1 + 1 && s3 == s2 + 1);
  assert_int_equal(ck_outbox_count(ob), 3);

  /* peek in order, walking with `after` */
  assert_int_equal(ck_outbox_peek(ob, 0, &seq, &f, &len, &err), CK_OK);
  assert_int_equal(seq, s1);
  frame_state(f, len, s1, st, sizeof st);
  assert_string_equal(st, "SUBMITTED");
  free(f);
  assert_int_equal(ck_outbox_peek(ob, s1, &seq, &f, &len, &err), CK_OK);
  assert_int_equal(seq, s2);
  free(f);
  assert_int_equal(ck_outbox_drop_through(ob, s1, &err), CK_OK);
  assert_int_equal(ck_outbox_count(ob), 2);
  ck_outbox_close(ob);

  /* restart: the rest survives, sequence numbers are not reused */
  ob = NULL;
  assert_int_equal(ck_outbox_open(dir, 100, 1 << 20, &ob, &err), CK_OK);
  assert_int_equal(ck_outbox_count(ob), 2);
  assert_int_equal(ck_outbox_peek(ob, 0, &seq, &f, &len, &err), CK_OK);
  assert_int_equal(seq, s2);
  frame_state(f, len, s2, st, sizeof st);
  assert_string_equal(st, "HAVE_CERT");
  free(f);
  assert_int_equal(ck_outbox_drop_through(ob, s3, &err), CK_OK);
  assert_int_equal(ck_outbox_count(ob), 0);
  ev(&e, "web", "FAILED");
  assert_int_equal(ck_outbox_append(ob, &e, &seq, &err), CK_OK);
  assert_true(seq > s3);
  ck_outbox_close(ob);

  /* all acked entries and a new one: after reopen next still moves on */
  ob = NULL;
  assert_int_equal(ck_outbox_open(dir, 100, 1 << 20, &ob, &err), CK_OK);
  assert_true(ck_outbox_next_seq(ob) > seq);
  ck_outbox_close(ob);
  ck_test_rmtree(tmp);
  free(tmp);
}

static void test_overflow(void **state) {
  char *tmp = ck_test_tmpdir(), dir[4096], st[96], id[16];
  ck_outbox *ob = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_wire_event e;
  uint64_t seq = 0, after = 0;
  uint8_t *f = NULL;
  size_t len = 0, count = 0, bytes = 0;
  uint64_t dropped = 0;
  int i, n_report = 0, n_events = 0;
  (void)state;

  snprintf(dir, sizeof dir, "%s/ob", tmp);
  assert_int_equal(ck_outbox_open(dir, 5, 1 << 20, &ob, &err), CK_OK);
  for (i = 0; i < 12; i++) {
    snprintf(id, sizeof id, "c%d", i);
    ev(&e, id, "FAILED");
    assert_int_equal(ck_outbox_append(ob, &e, &seq, &err), CK_OK);
  }
  /* five entries at most plus the one report */
  assert_true(ck_outbox_count(ob) <= 6);
  assert_true(ck_outbox_dropped(ob) >= 6);
  dropped = ck_outbox_dropped(ob);
  ck_outbox_close(ob);

  ob = NULL;
  assert_int_equal(ck_outbox_open(dir, 5, 1 << 20, &ob, &err), CK_OK);
  assert_int_equal(ck_outbox_dropped(ob), dropped); /* persisted */
  while (ck_outbox_peek(ob, after, &seq, &f, &len, &err) == CK_OK) {
    frame_state(f, len, seq, st, sizeof st);
    if (strncmp(st, "outbox overflow: ", 17) == 0) {
      char want[64];
      snprintf(want, sizeof want, "outbox overflow: %" PRIu64 " events dropped",
               dropped);
      assert_string_equal(st, want);
      n_report++;
    } else {
      n_events++;
    }
    free(f);
    after = seq;
  }
  assert_int_equal(n_report, 1);
  assert_int_equal(n_events + n_report, (int)ck_outbox_count(ob));
  /* the newest event survived */
  assert_int_equal(ck_outbox_stat(dir, &count, &bytes, &dropped, &err), CK_OK);
  assert_int_equal(count, ck_outbox_count(ob));
  assert_int_equal(bytes, ck_outbox_bytes(ob));
  assert_int_equal(ck_outbox_drop_through(ob, after, &err), CK_OK);
  assert_int_equal(ck_outbox_count(ob), 0);

  /* bytes bound; an event alone bigger than the bound is refused */
  ck_outbox_close(ob);
  ob = NULL;
  assert_int_equal(ck_outbox_open(dir, 100, 4096, &ob, &err), CK_OK);
  {
    char *big = malloc(5000);
    assert_non_null(big);
    memset(big, 'x', 4999);
    big[4999] = '\0';
    ev(&e, "big", "FAILED");
    e.reason = big;
    assert_int_equal(ck_outbox_append(ob, &e, &seq, &err), CK_ERR_LIMIT);
    free(big);
  }
  ck_outbox_close(ob);
  ck_test_rmtree(tmp);
  free(tmp);
}

/* Counts the overflow reports among the entries (walking from the start)
 * and returns the sum of the counts they report. */
static int reports(ck_outbox *ob, uint64_t *sum) {
  char st[96];
  uint64_t seq = 0, after = 0;
  uint8_t *f = NULL;
  size_t len = 0;
  int n = 0;

  *sum = 0;
  while (ck_outbox_peek(ob, after, &seq, &f, &len, NULL) == CK_OK) {
    frame_state(f, len, seq, st, sizeof st);
    if (strncmp(st, "outbox overflow: ", 17) == 0) {
      n++;
      *sum += strtoull(st + 17, NULL, 10);
    }
    free(f);
    after = seq;
  }
  return n;
}

/* A report handed out for sending is sealed (also across a restart): later
 * drops get a report of their own, so no count is lost to a duplicate. */
static void test_overflow_seal(void **state) {
  char *tmp = ck_test_tmpdir(), dir[4096], id[16];
  ck_outbox *ob = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_wire_event e;
  uint64_t seq, sum = 0;
  int i;
  (void)state;

  snprintf(dir, sizeof dir, "%s/ob", tmp);
  assert_int_equal(ck_outbox_open(dir, 3, 1 << 20, &ob, &err), CK_OK);
  for (i = 0; i < 5; i++) {
    snprintf(id, sizeof id, "a%d", i);
    ev(&e, id, "FAILED");
    assert_int_equal(ck_outbox_append(ob, &e, &seq, &err), CK_OK);
  }
  assert_int_equal(reports(ob, &sum), 1); /* seals it */
  assert_int_equal(sum, ck_outbox_dropped(ob));
  ck_outbox_close(ob);
  ob = NULL;
  assert_int_equal(ck_outbox_open(dir, 3, 1 << 20, &ob, &err), CK_OK);
  for (i = 0; i < 3; i++) {
    snprintf(id, sizeof id, "b%d", i);
    ev(&e, id, "FAILED");
    assert_int_equal(ck_outbox_append(ob, &e, &seq, &err), CK_OK);
  }
  /* the sealed report may itself have been dropped as an old entry; what
   * is left reports only drops after the seal, in a new entry */
  assert_true(reports(ob, &sum) >= 1);
  assert_true(sum >= 1 && sum < ck_outbox_dropped(ob));
  ck_outbox_close(ob);
  ck_test_rmtree(tmp);
  free(tmp);
}

static void test_corrupt_entry(void **state) {
  char *tmp = ck_test_tmpdir(), dir[4096], path[4200], st[64];
  ck_outbox *ob = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_wire_event e;
  uint64_t s1, s2, s3, seq;
  uint8_t *f = NULL;
  size_t len = 0;
  int fd;
  (void)state;

  snprintf(dir, sizeof dir, "%s/ob", tmp);
  assert_int_equal(ck_outbox_open(dir, 100, 1 << 20, &ob, &err), CK_OK);
  ev(&e, "a", "ONE");
  assert_int_equal(ck_outbox_append(ob, &e, &s1, &err), CK_OK);
  ev(&e, "a", "TWO");
  assert_int_equal(ck_outbox_append(ob, &e, &s2, &err), CK_OK);
  ev(&e, "a", "THREE");
  assert_int_equal(ck_outbox_append(ob, &e, &s3, &err), CK_OK);
  ck_outbox_close(ob);

  /* truncate the first entry, fill the second with garbage */
  snprintf(path, sizeof path, "%s/%016" PRIx64 ".ev", dir, s1);
  assert_int_equal(truncate(path, 7), 0);
  snprintf(path, sizeof path, "%s/%016" PRIx64 ".ev", dir, s2);
  fd = open(path, O_WRONLY | O_TRUNC);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "\0\0\0\3\x81\xa1t", 7), 7);
  close(fd);
  /* a stray temporary file from an interrupted write is cleaned up */
  snprintf(path, sizeof path, "%s/meta.ck-0123.tmp", dir);
  fd = open(path, O_WRONLY | O_CREAT, 0600);
  assert_true(fd >= 0);
  close(fd);

  corrupt_logged = 0;
  ck_log_set_hook(hook, NULL);
  ob = NULL;
  assert_int_equal(ck_outbox_open(dir, 100, 1 << 20, &ob, &err), CK_OK);
  assert_int_equal(access(path, F_OK), -1);
  assert_int_equal(ck_outbox_peek(ob, 0, &seq, &f, &len, &err), CK_OK);
  assert_int_equal(seq, s3);
  frame_state(f, len, s3, st, sizeof st);
  assert_string_equal(st, "THREE");
  free(f);
  assert_int_equal(corrupt_logged, 2);
  assert_int_equal(ck_outbox_count(ob), 1);
  ck_log_set_hook(NULL, NULL);
  ck_outbox_close(ob);

  /* a meta file that is not ours is a clear error */
  snprintf(path, sizeof path, "%s/meta", dir);
  fd = open(path, O_WRONLY | O_TRUNC);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "garbage\n", 8), 8);
  close(fd);
  ob = NULL;
  assert_int_equal(ck_outbox_open(dir, 100, 1 << 20, &ob, &err),
                   CK_ERR_CONFIG);
  assert_non_null(strstr(err.msg, "meta"));
  ck_test_rmtree(tmp);
  free(tmp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_order_ack_restart),
      cmocka_unit_test(test_overflow),
      cmocka_unit_test(test_overflow_seal),
      cmocka_unit_test(test_corrupt_entry),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
