/* test_target.c — agent/manage/target.c: journaled install of a key +
 * certificate pair, rollback to *.ck-prev, start-up recovery, the installed
 * leaf, file layouts (separate, combined PEM, chain, fullchain), modes (the
 * key is never readable by others, checked at every filesystem step through
 * the fault seam) and ck_target_check (mismatched pair, untrusted chain).
 * Certificates are made at run time (pki.h); both crypto builds. */
#include "tests/testutil.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/manage/target.h"
#include "tests/unit/manage/pki.h"

static pki g_pki;
static pki_leaf g_a, g_b, g_direct;
static ck_wire_bytes g_chain[1];

typedef struct fx {
  char *dir;
  char cert[512], key[512], chain[512], full[512], journal[512];
  ck_target_files t;
} fx;

static int group_setup(void **state) {
  (void)state;
  pki_init(&g_pki);
  pki_leaf_make(&g_pki, "a.example.test", 0, &g_a);
  pki_leaf_make(&g_pki, "b.example.test", 0, &g_b);
  pki_leaf_make(&g_pki, "direct.example.test", 1, &g_direct);
  g_chain[0].data = ck_cert_der(g_pki.inter, &g_chain[0].len);
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  pki_leaf_free(&g_a);
  pki_leaf_free(&g_b);
  pki_leaf_free(&g_direct);
  pki_free(&g_pki);
  return 0;
}

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);

  assert_non_null(f);
  f->dir = ck_test_tmpdir();
  snprintf(f->cert, sizeof f->cert, "%s/site.crt", f->dir);
  snprintf(f->key, sizeof f->key, "%s/site.key", f->dir);
  snprintf(f->chain, sizeof f->chain, "%s/chain.pem", f->dir);
  snprintf(f->full, sizeof f->full, "%s/fullchain.pem", f->dir);
  snprintf(f->journal, sizeof f->journal, "%s/journal", f->dir);
  f->t.cert_file = f->cert;
  f->t.key_file = f->key;
  f->t.journal = f->journal;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  ck__target_fault = NULL;
  ck_test_rmtree(f->dir);
  free(f->dir);
  free(f);
  return 0;
}

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

static void install_ok(const ck_target_files *t, const pki_leaf *l) {
  ck_target_pair p = pair_of(l);
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc = ck_target_install(t, &p, &err);
  if (rc != CK_OK)
    print_error("install: %s\n", ck_errctx_msg(&err));
  assert_int_equal(rc, CK_OK);
}

static int exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

static int exists2(const char *path, const char *suffix) {
  char p[600];
  snprintf(p, sizeof p, "%s%s", path, suffix);
  return exists(p);
}

static unsigned mode_of(const char *path) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  return st.st_mode & 07777;
}

/* Number of certificates in a PEM file. */
static size_t n_certs(const char *path) {
  size_t len = 0, n;
  uint8_t *d = (uint8_t *)pki_slurp(path, &len);
  ck_cert_list l = {0};
  assert_int_equal(ck_cert_list_parse(&l, d, len, NULL), CK_OK);
  n = l.n;
  ck_cert_list_clear(&l);
  free(d);
  return n;
}

/* Asserts key_path's key belongs to cert_path's first certificate and that
 * this certificate is want. */
static void assert_pair(const char *cert_path, const char *key_path,
                        const pki_leaf *want) {
  size_t clen = 0, klen = 0;
  uint8_t *c = (uint8_t *)pki_slurp(cert_path, &clen);
  uint8_t *k = (uint8_t *)pki_slurp(key_path, &klen);
  ck_cert *cert = NULL;
  ck_key *key = NULL;

  assert_int_equal(ck_cert_parse(c, clen, &cert, NULL), CK_OK);
  assert_int_equal(ck_key_parse(k, klen, &key, NULL), CK_OK);
  assert_int_equal(ck_key_match_cert(key, cert, NULL), CK_OK);
  assert_memory_equal(ck_cert_get_info(cert)->sha256, want->fp, 32);
  ck_cert_free(cert);
  ck_key_free(key);
  free(c);
  ck_crypto_free_secret(k, klen);
}

/* ---- fault seam observers -------------------------------------------------- */

static const char *g_watch_key; /* key path whose .ck-new is checked */
static int g_steps, g_bad_mode;

static void watch_modes(int step) {
  char p[600];
  struct stat st;

  assert_int_equal(step, g_steps + 1); /* increasing by one */
  g_steps = step;
  snprintf(p, sizeof p, "%s.ck-new", g_watch_key);
  if (lstat(p, &st) == 0 && (st.st_mode & 077) != 0)
    g_bad_mode++;
  if (lstat(g_watch_key, &st) == 0 && (st.st_mode & 077) != 0)
    g_bad_mode++;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_install_fresh(void **state) {
  fx *f = *state;
  uint8_t fp[32];
  int64_t nb = 0, na = 0;
  mode_t old = umask(077); /* the cert must still end up 0644 */

  install_ok(&f->t, &g_a);
  umask(old);
  assert_pair(f->cert, f->key, &g_a);
  assert_int_equal(mode_of(f->key), 0600);
  assert_int_equal(mode_of(f->cert), 0644);
  assert_int_equal(n_certs(f->cert), 1); /* leaf only */
  assert_int_equal(ck_target_current(&f->t, fp, &nb, &na, NULL), CK_OK);
  assert_memory_equal(fp, g_a.fp, 32);
  assert_true(nb > 0 && na > nb);
  assert_false(exists(f->journal));
  assert_false(exists2(f->cert, ".ck-new"));
  assert_false(exists2(f->key, ".ck-new"));
  assert_false(exists2(f->cert, ".ck-prev")); /* nothing was there before */
}

static void test_install_replace_and_rollback(void **state) {
  fx *f = *state;
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t fp[32];

  install_ok(&f->t, &g_a);
  install_ok(&f->t, &g_b);
  assert_pair(f->cert, f->key, &g_b);
  assert_true(exists2(f->cert, ".ck-prev"));
  assert_true(exists2(f->key, ".ck-prev"));
  assert_int_equal(mode_of(f->key), 0600);
  {
    char prev[600];
    snprintf(prev, sizeof prev, "%s.ck-prev", f->key);
    assert_int_equal(mode_of(prev), 0600);
  }
  assert_int_equal(ck_target_rollback(&f->t, &err), CK_OK);
  assert_pair(f->cert, f->key, &g_a);
  assert_int_equal(ck_target_current(&f->t, fp, NULL, NULL, NULL), CK_OK);
  assert_memory_equal(fp, g_a.fp, 32);
  assert_false(exists2(f->cert, ".ck-prev"));
  assert_false(exists(f->journal));
  /* nothing left to roll back to */
  ck_errctx_clear(&err);
  assert_int_equal(ck_target_rollback(&f->t, &err), CK_ERR_NOENT);
  assert_non_null(strstr(err.msg, "nothing to roll back to"));
  assert_pair(f->cert, f->key, &g_a);
}

static void test_key_mode_from_creation(void **state) {
  fx *f = *state;
  mode_t old;

  install_ok(&f->t, &g_a);
  g_watch_key = f->key;
  g_steps = 0;
  g_bad_mode = 0;
  ck__target_fault = watch_modes;
  old = umask(0); /* even with a permissive umask */
  install_ok(&f->t, &g_b);
  umask(old);
  ck__target_fault = NULL;
  assert_true(g_steps > 20);
  assert_int_equal(g_bad_mode, 0);
  assert_int_equal(mode_of(f->key), 0600);
  assert_int_equal(mode_of(f->cert), 0644);
}

static void test_custom_modes(void **state) {
  fx *f = *state;

  f->t.cert_mode = 0640;
  f->t.key_mode = 0400;
  install_ok(&f->t, &g_a);
  assert_int_equal(mode_of(f->cert), 0640);
  assert_int_equal(mode_of(f->key), 0400);
  install_ok(&f->t, &g_b); /* replacing a read-only key works */
  assert_pair(f->cert, f->key, &g_b);
}

static void test_combined(void **state) {
  fx *f = *state;
  size_t len = 0;
  char *text;

  f->t.key_file = f->cert; /* one combined PEM */
  install_ok(&f->t, &g_a);
  install_ok(&f->t, &g_b);
  assert_int_equal(mode_of(f->cert), 0600); /* it holds the key */
  assert_int_equal(n_certs(f->cert), 2);    /* leaf + intermediate */
  assert_pair(f->cert, f->cert, &g_b);
  text = pki_slurp(f->cert, &len);
  /* order: certificate, chain, key */
  assert_true(strstr(text, "BEGIN CERTIFICATE") < strstr(text, "PRIVATE KEY"));
  ck_crypto_free_secret(text, len);
  assert_false(exists(f->key));
  assert_int_equal(ck_target_rollback(&f->t, NULL), CK_OK);
  assert_pair(f->cert, f->cert, &g_a);
}

static void test_chain_fullchain(void **state) {
  fx *f = *state;
  size_t len = 0;
  uint8_t *d;
  ck_cert_list l = {0};

  f->t.chain_file = f->chain;
  f->t.fullchain_file = f->full;
  install_ok(&f->t, &g_a);
  assert_int_equal(n_certs(f->cert), 1);
  assert_int_equal(n_certs(f->chain), 1);
  assert_int_equal(n_certs(f->full), 2);
  assert_int_equal(mode_of(f->chain), 0644);
  d = (uint8_t *)pki_slurp(f->full, &len);
  assert_int_equal(ck_cert_list_parse(&l, d, len, NULL), CK_OK);
  assert_memory_equal(ck_cert_get_info(l.certs[0])->sha256, g_a.fp, 32);
  assert_string_equal(ck_cert_get_info(l.certs[1])->subject,
                      ck_cert_get_info(g_pki.inter)->subject);
  ck_cert_list_clear(&l);
  free(d);
  install_ok(&f->t, &g_b);
  assert_true(exists2(f->full, ".ck-prev"));
  assert_int_equal(ck_target_rollback(&f->t, NULL), CK_OK);
  assert_pair(f->full, f->key, &g_a);
}

static void test_cert_is_fullchain(void **state) {
  fx *f = *state;

  f->t.fullchain_file = f->cert; /* nginx style: ssl_certificate fullchain */
  install_ok(&f->t, &g_a);
  assert_int_equal(n_certs(f->cert), 2);
  assert_pair(f->cert, f->key, &g_a);
}

static void test_bad_file_sets(void **state) {
  fx *f = *state;
  ck_target_pair p = pair_of(&g_a);
  ck_errctx err = CK_ERRCTX_INIT;

  f->t.chain_file = f->key;
  assert_int_equal(ck_target_install(&f->t, &p, &err), CK_ERR_INVAL);
  assert_non_null(strstr(err.msg, "key_file"));
  f->t.chain_file = NULL;
  f->t.cert_file = NULL;
  ck_errctx_clear(&err);
  assert_int_equal(ck_target_install(&f->t, &p, &err), CK_ERR_INVAL);
  assert_non_null(strstr(err.msg, "cert_file"));
  f->t.cert_file = f->cert;
  p.key_pem = NULL;
  assert_int_equal(ck_target_install(&f->t, &p, NULL), CK_ERR_INVAL);
  assert_false(exists(f->cert));
}

static void test_journal_blocks_install(void **state) {
  fx *f = *state;
  ck_target_pair p = pair_of(&g_a);
  ck_errctx err = CK_ERRCTX_INIT;

  pki_write(f->journal, "x\n", 2);
  assert_int_equal(ck_target_install(&f->t, &p, &err), CK_ERR_BUSY);
  assert_non_null(strstr(err.msg, "recovery"));
}

static void test_recover_clean(void **state) {
  fx *f = *state;
  ck_target_recovery r = CK_TARGET_RESTORED;
  char p[600];

  install_ok(&f->t, &g_a);
  snprintf(p, sizeof p, "%s.ck-new", f->cert);
  pki_write(p, "junk", 4);
  assert_int_equal(ck_target_recover(&f->t, &r, NULL), CK_OK);
  assert_int_equal(r, CK_TARGET_CLEAN);
  assert_false(exists(p));
  assert_pair(f->cert, f->key, &g_a);
}

/* What a process killed between the two renames leaves: the journal, both
 * .ck-prev links, the cert already new, the key still old, a .ck-new. */
static void test_recover_restores(void **state) {
  fx *f = *state;
  ck_target_recovery r = CK_TARGET_CLEAN;
  char prev[600], newp[600], j[1400];
  int n;

  install_ok(&f->t, &g_a);
  snprintf(prev, sizeof prev, "%s.ck-prev", f->cert);
  assert_int_equal(link(f->cert, prev), 0);
  snprintf(prev, sizeof prev, "%s.ck-prev", f->key);
  assert_int_equal(link(f->key, prev), 0);
  {
    char *pem = NULL;
    size_t len = 0;
    assert_int_equal(ck_pem_encode("CERTIFICATE", g_b.der, g_b.der_len, &pem,
                                   &len),
                     CK_OK);
    unlink(f->cert);
    pki_write(f->cert, pem, len);
    free(pem);
  }
  snprintf(newp, sizeof newp, "%s.ck-new", f->key);
  pki_write(newp, g_b.key_pem, g_b.key_pem_len);
  n = snprintf(j, sizeof j,
               "certkeeper-target-journal 1\nop install\nold -\nnew -\n"
               "restore %s\nrestore %s\n",
               f->cert, f->key);
  pki_write(f->journal, j, (size_t)n);
  assert_int_equal(ck_target_recover(&f->t, &r, NULL), CK_OK);
  assert_int_equal(r, CK_TARGET_RESTORED);
  assert_pair(f->cert, f->key, &g_a);
  assert_false(exists(f->journal));
  assert_false(exists(newp));
  assert_false(exists(prev));
  /* again: nothing to do */
  assert_int_equal(ck_target_recover(&f->t, &r, NULL), CK_OK);
  assert_int_equal(r, CK_TARGET_CLEAN);
}

/* A journal for files that did not exist before: recovery removes them. */
static void test_recover_first_install(void **state) {
  fx *f = *state;
  ck_target_recovery r = CK_TARGET_CLEAN;
  char j[1400];
  int n;

  pki_write(f->cert, "new", 3);
  n = snprintf(j, sizeof j,
               "certkeeper-target-journal 1\nop install\nold -\nnew -\n"
               "remove %s\nremove %s\n",
               f->cert, f->key);
  pki_write(f->journal, j, (size_t)n);
  assert_int_equal(ck_target_recover(&f->t, &r, NULL), CK_OK);
  assert_int_equal(r, CK_TARGET_RESTORED);
  assert_false(exists(f->cert));
  assert_int_equal(ck_target_current(&f->t, (uint8_t[32]){0}, NULL, NULL,
                                     NULL),
                   CK_ERR_NOENT);
}

static void test_current_missing(void **state) {
  fx *f = *state;
  uint8_t fp[32];
  ck_errctx err = CK_ERRCTX_INIT;

  assert_int_equal(ck_target_current(&f->t, fp, NULL, NULL, &err),
                   CK_ERR_NOENT);
  pki_write(f->cert, "not a certificate\n", 18);
  assert_int_not_equal(ck_target_current(&f->t, fp, NULL, NULL, NULL), CK_OK);
}

static void test_check(void **state) {
  fx *f = *state;
  ck_target_pair p = pair_of(&g_a);
  ck_errctx err = CK_ERRCTX_INIT;
  char trust[600], other[600];
  pki other_pki;

  snprintf(trust, sizeof trust, "%s/trust.pem", f->dir);
  pki_write(trust, g_pki.root_pem, g_pki.root_pem_len);
  assert_int_equal(ck_target_check(&p, NULL, 0, NULL), CK_OK);
  assert_int_equal(ck_target_check(&p, trust, 0, &err), CK_OK);

  /* key of B with certificate of A */
  p.key_pem = g_b.key_pem;
  p.key_pem_len = g_b.key_pem_len;
  assert_int_equal(ck_target_check(&p, trust, 0, &err), CK_ERR_KEY_MISMATCH);
  assert_non_null(strstr(err.msg, "a.example.test"));

  /* a chain to another root */
  p = pair_of(&g_a);
  pki_init_named(&other_pki, "Other Root");
  snprintf(other, sizeof other, "%s/other.pem", f->dir);
  pki_write(other, other_pki.root_pem, other_pki.root_pem_len);
  ck_errctx_clear(&err);
  assert_int_equal(ck_target_check(&p, other, 0, &err), CK_ERR_UNTRUSTED);
  assert_non_null(strstr(err.msg, "other.pem"));
  /* ... accepted with anchors delivered for this pair (`cert` roots): the
   * chain's root, or the top of the chain sent (a partial anchor) */
  {
    ck_wire_bytes r[2];
    r[0].data = ck_cert_der(g_pki.root, &r[0].len);
    p.roots = r;
    p.n_roots = 1;
    assert_int_equal(ck_target_check(&p, other, 0, NULL), CK_OK);
    r[0].data = ck_cert_der(g_pki.inter, &r[0].len);
    assert_int_equal(ck_target_check(&p, other, 0, NULL), CK_OK);
    r[0].data = ck_cert_der(other_pki.root, &r[0].len);
    ck_errctx_clear(&err);
    assert_int_equal(ck_target_check(&p, other, 0, &err), CK_ERR_UNTRUSTED);
    assert_non_null(strstr(err.msg, "roots delivered"));
    r[1].data = (const uint8_t *)"junk";
    r[1].len = 4;
    p.n_roots = 2;
    assert_int_not_equal(ck_target_check(&p, other, 0, NULL), CK_OK);
    p.roots = NULL;
    p.n_roots = 0;
  }
  pki_free(&other_pki);

  /* intermediate missing from the chain */
  p.n_chain = 0;
  assert_int_equal(ck_target_check(&p, trust, 0, NULL), CK_ERR_UNTRUSTED);
  /* directly under the root: no chain needed */
  p = pair_of(&g_direct);
  p.n_chain = 0;
  assert_int_equal(ck_target_check(&p, trust, 0, NULL), CK_OK);
  /* expired by then */
  assert_int_equal(ck_target_check(&p, trust, ck_clock_now() + 86400 * 400,
                                   NULL),
                   CK_ERR_EXPIRED);

  /* garbage */
  p = pair_of(&g_a);
  p.key_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  p.key_pem_len = strlen(p.key_pem);
  ck_errctx_clear(&err);
  assert_int_not_equal(ck_target_check(&p, trust, 0, &err), CK_OK);
  assert_non_null(strstr(err.msg, "private key"));
  p = pair_of(&g_a);
  p.cert_der_len = 10;
  assert_int_not_equal(ck_target_check(&p, trust, 0, NULL), CK_OK);
  /* missing trust file */
  p = pair_of(&g_a);
  ck_errctx_clear(&err);
  assert_int_equal(ck_target_check(&p, "/nonexistent/trust.pem", 0, &err),
                   CK_ERR_NOENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_install_fresh, setup, teardown),
      cmocka_unit_test_setup_teardown(test_install_replace_and_rollback, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_key_mode_from_creation, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_custom_modes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_combined, setup, teardown),
      cmocka_unit_test_setup_teardown(test_chain_fullchain, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cert_is_fullchain, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_file_sets, setup, teardown),
      cmocka_unit_test_setup_teardown(test_journal_blocks_install, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_recover_clean, setup, teardown),
      cmocka_unit_test_setup_teardown(test_recover_restores, setup, teardown),
      cmocka_unit_test_setup_teardown(test_recover_first_install, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_current_missing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_check, setup, teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
