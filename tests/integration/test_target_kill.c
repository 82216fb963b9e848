/* test_target_kill.c — the pair-consistency acceptance test for
 * agent/manage/target.c: a child process installs a new key + certificate
 * (cert, key, fullchain) over an old pair and is SIGKILLed at filesystem
 * step k through the fault seam (ck__target_fault); the parent then runs
 * ck_target_recover and checks that cert_file and key_file hold a matching
 * pair equal to the old or the new one, that fullchain_file agrees, and
 * that no *.ck-new, temporary or journal file is left. k first walks every
 * step of an install (and one past the end: no kill), then takes random
 * values from ck_random. The same for a rollback killed at each step.
 * Bounded: at most 300 iterations per variant and 120 s overall, but every
 * step is always covered. */
#include "tests/testutil.h"

#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/manage/target.h"
#include "common/util/clock.h"
#include "tests/unit/manage/pki.h"

#define MAX_ITER 300
#define TIME_BOUND_MS 120000u

static pki g_pki;
static pki_leaf g_old, g_new;
static ck_wire_bytes g_chain[1];
static char *g_dir;
static char g_cert[512], g_key[512], g_full[512], g_journal[512];
static ck_target_files g_t;
static int g_kill_at, g_count;

static void killer(int step) {
  if (step == g_kill_at)
    raise(SIGKILL);
}

static void counter(int step) { g_count = step; }

static ck_target_pair pair_of(const pki_leaf *l) {
  ck_target_pair p;
  memset(&p, 0, sizeof p);
  p.key_pem = l->key_pem;
  p.key_pem_len = l->key_pem_len;
  p.cert_der = l->der;
  p.cert_der_len = l->der_len;
  p.chain = g_chain;
  p.n_chain = 1;
  return p;
}

static void install(const pki_leaf *l) {
  ck_target_pair p = pair_of(l);
  ck_errctx err = CK_ERRCTX_INIT;
  if (ck_target_install(&g_t, &p, &err) != CK_OK) {
    print_error("install: %s\n", ck_errctx_msg(&err));
    fail();
  }
}

static int exists_suffix(const char *path, const char *suffix) {
  char p[600];
  struct stat st;
  snprintf(p, sizeof p, "%s%s", path, suffix);
  return lstat(p, &st) == 0;
}

/* 0: old pair, 1: new pair; fails the test otherwise. */
static int check_consistent(int k) {
  size_t clen = 0, klen = 0, flen = 0;
  char *c = pki_slurp(g_cert, &clen);
  char *kp = pki_slurp(g_key, &klen);
  char *fc = pki_slurp(g_full, &flen);
  ck_cert *cert = NULL, *full = NULL;
  ck_key *key = NULL;
  const uint8_t *fp;
  int which;

  if (ck_cert_parse((uint8_t *)c, clen, &cert, NULL) != CK_OK ||
      ck_key_parse((uint8_t *)kp, klen, &key, NULL) != CK_OK ||
      ck_cert_parse((uint8_t *)fc, flen, &full, NULL) != CK_OK) {
    print_error("k=%d: unreadable file after recovery\n", k);
    fail();
  }
  if (ck_key_match_cert(key, cert, NULL) != CK_OK) {
    print_error("k=%d: key and certificate do not match\n", k);
    fail();
  }
  fp = ck_cert_get_info(cert)->sha256;
  if (memcmp(fp, g_old.fp, 32) == 0)
    which = 0;
  else if (memcmp(fp, g_new.fp, 32) == 0)
    which = 1;
  else {
    print_error("k=%d: neither the old nor the new certificate\n", k);
    fail();
    which = -1;
  }
  assert_memory_equal(ck_cert_get_info(full)->sha256, fp, 32);
  assert_false(exists_suffix(g_cert, ".ck-new"));
  assert_false(exists_suffix(g_key, ".ck-new"));
  assert_false(exists_suffix(g_full, ".ck-new"));
  assert_false(exists_suffix(g_cert, ".ck-prev.tmp"));
  assert_false(exists_suffix(g_journal, ""));
  assert_false(exists_suffix(g_journal, ".tmp"));
  ck_cert_free(cert);
  ck_cert_free(full);
  ck_key_free(key);
  free(c);
  free(fc);
  ck_crypto_free_secret(kp, klen);
  return which;
}

static int current_is(const pki_leaf *l) {
  uint8_t fp[32];
  return ck_target_current(&g_t, fp, NULL, NULL, NULL) == CK_OK &&
         memcmp(fp, l->fp, 32) == 0;
}

/* Runs op (0 install new, 1 rollback) in a child killed at step k. Returns
 * 1 when the child was killed, 0 when it finished. */
static int run_child(int op, int k) {
  pid_t pid;
  int st = 0;

  fflush(NULL);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    ck_target_pair p = pair_of(&g_new);
    ck_err rc;
    g_kill_at = k;
    ck__target_fault = killer;
    rc = op == 0 ? ck_target_install(&g_t, &p, NULL)
                 : ck_target_rollback(&g_t, NULL);
    _exit(rc == CK_OK ? 0 : 3);
  }
  assert_int_equal(waitpid(pid, &st, 0), pid);
  if (WIFSIGNALED(st)) {
    assert_int_equal(WTERMSIG(st), SIGKILL);
    return 1;
  }
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  return 0;
}

static unsigned pick(int i, int steps) {
  uint32_t r = 0;
  if (i < steps + 1)
    return (unsigned)i + 1; /* every step, then one past the end */
  assert_int_equal(ck_random(&r, sizeof r), CK_OK);
  return 1 + r % (unsigned)(steps + 1);
}

static void variant(int op, int steps, uint64_t t0) {
  int i, killed = 0, old = 0, neu = 0;

  for (i = 0; i < MAX_ITER; i++) {
    int k = (int)pick(i, steps), was_killed, which;
    ck_target_recovery r;
    ck_errctx err = CK_ERRCTX_INIT;

    if (i > steps && ck_clock_mono_ms() - t0 > TIME_BOUND_MS / 2)
      break;
    /* starting point: old installed (install) or new over old (rollback) */
    if (op == 0) {
      if (!current_is(&g_old))
        install(&g_old);
    } else {
      if (!current_is(&g_old))
        install(&g_old);
      install(&g_new);
    }
    was_killed = run_child(op, k);
    killed += was_killed;
    if (k <= steps)
      assert_true(was_killed);
    if (ck_target_recover(&g_t, &r, &err) != CK_OK) {
      print_error("k=%d: recover: %s\n", k, ck_errctx_msg(&err));
      fail();
    }
    which = check_consistent(k);
    if (which == 0)
      old++;
    else
      neu++;
    if (!was_killed) /* completed: the target state, recovery clean */
      assert_int_equal(which, op == 0 ? 1 : 0);
  }
  print_message("%s: %d steps, %d iterations, %d killed, old pair %d, new "
                "pair %d\n",
                op == 0 ? "install" : "rollback", steps, i, killed, old, neu);
  assert_true(i >= steps + 1);
  assert_true(old > 0);
}

static int setup(void **state) {
  (void)state;
  pki_init(&g_pki);
  pki_leaf_make(&g_pki, "old.example.test", 0, &g_old);
  pki_leaf_make(&g_pki, "new.example.test", 0, &g_new);
  g_chain[0].data = ck_cert_der(g_pki.inter, &g_chain[0].len);
  g_dir = ck_test_tmpdir();
  snprintf(g_cert, sizeof g_cert, "%s/site.crt", g_dir);
  snprintf(g_key, sizeof g_key, "%s/site.key", g_dir);
  snprintf(g_full, sizeof g_full, "%s/fullchain.pem", g_dir);
  snprintf(g_journal, sizeof g_journal, "%s/journal", g_dir);
  memset(&g_t, 0, sizeof g_t);
  g_t.cert_file = g_cert;
  g_t.key_file = g_key;
  g_t.fullchain_file = g_full;
  g_t.journal = g_journal;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  ck__target_fault = NULL;
  ck_test_rmtree(g_dir);
  free(g_dir);
  pki_leaf_free(&g_old);
  pki_leaf_free(&g_new);
  pki_free(&g_pki);
  return 0;
}

static void test_kill_anywhere(void **state) {
  int install_steps, rollback_steps;
  uint64_t t0 = ck_clock_mono_ms();

  (void)state;
  /* count the steps of one install and one rollback */
  install(&g_old);
  g_count = 0;
  ck__target_fault = counter;
  install(&g_new);
  install_steps = g_count;
  g_count = 0;
  assert_int_equal(ck_target_rollback(&g_t, NULL), CK_OK);
  rollback_steps = g_count;
  ck__target_fault = NULL;
  assert_true(install_steps > 30);
  assert_true(rollback_steps > 10);
  variant(0, install_steps, t0);
  variant(1, rollback_steps, t0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kill_anywhere),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
