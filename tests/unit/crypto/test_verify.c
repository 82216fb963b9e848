/* test_verify.c — chain verification at a given time with specific errors:
 * expired, not yet valid, untrusted, bad signature. Times are passed in (or
 * come from the replaced ck_clock seam), never from the machine's clock. */
#include "common/util/clock.h"
#include "tests/unit/crypto/cryptotest.h"

#define Y1990 631152000LL
#define Y2200 7258118400LL

typedef struct fixture {
  ck_cert *leaf, *expired, *future;
  ck_cert_list inter, root, other, both, full;
  int64_t now; /* inside every fixture's validity except expired/future */
} fixture;

static void add(ck_cert_list *l, const char *file) {
  assert_ck_ok(ck_cert_list_add(l, ct_cert(file)));
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);

  f->leaf = ct_cert("leaf.crt");
  f->expired = ct_cert("expired.crt");
  f->future = ct_cert("future.crt");
  add(&f->inter, "inter.crt");
  add(&f->root, "root.crt");
  add(&f->other, "other-root.crt");
  add(&f->both, "other-root.crt");
  add(&f->both, "root.crt");
  add(&f->full, "inter.crt");
  add(&f->full, "root.crt");
  f->now = ck_cert_get_info(f->leaf)->not_before + 86400;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;

  ck_cert_free(f->leaf);
  ck_cert_free(f->expired);
  ck_cert_free(f->future);
  ck_cert_list_clear(&f->inter);
  ck_cert_list_clear(&f->root);
  ck_cert_list_clear(&f->other);
  ck_cert_list_clear(&f->both);
  ck_cert_list_clear(&f->full);
  free(f);
  return 0;
}

static void expect_fail(ck_err got, ck_err want, const ck_errctx *err,
                        const char *needle) {
  if (got != want) {
    print_error("want %s, got %s: %s\n", ck_err_name(want), ck_err_name(got),
                ck_errctx_msg(err));
    fail();
  }
  if (needle != NULL && strstr(ck_errctx_msg(err), needle) == NULL) {
    print_error("message '%s' lacks '%s'\n", ck_errctx_msg(err), needle);
    fail();
  }
}

static void test_valid_chain(void **state) {
  fixture *f = *state;
  ck_errctx err = CK_ERRCTX_INIT;

  assert_ck_ok(ck_cert_verify(f->leaf, &f->inter, &f->root, f->now, &err));
  /* several anchors, one of them right */
  assert_ck_ok(ck_cert_verify(f->leaf, &f->inter, &f->both, f->now, &err));
  /* the intermediate itself is an acceptable anchor */
  assert_ck_ok(ck_cert_verify(f->leaf, NULL, &f->inter, f->now, &err));
  /* the root verifies against itself */
  assert_ck_ok(ck_cert_verify(f->root.certs[0], NULL, &f->root, f->now, &err));
}

static void test_time(void **state) {
  fixture *f = *state;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc;

  rc = ck_cert_verify(f->leaf, &f->inter, &f->root, Y2200, &err);
  expect_fail(rc, CK_ERR_EXPIRED, &err, NULL);
  ck_errctx_clear(&err);
  rc = ck_cert_verify(f->leaf, &f->inter, &f->root, Y1990, &err);
  expect_fail(rc, CK_ERR_NOT_YET_VALID, &err, NULL);
  ck_errctx_clear(&err);
  rc = ck_cert_verify(f->expired, &f->inter, &f->root, f->now, &err);
  expect_fail(rc, CK_ERR_EXPIRED, &err, "www.example.com");
  ck_errctx_clear(&err);
  rc = ck_cert_verify(f->future, &f->inter, &f->root, f->now, &err);
  expect_fail(rc, CK_ERR_NOT_YET_VALID, &err, "www.example.com");
  /* inside their own windows they are fine */
  assert_ck_ok(ck_cert_verify(f->future, &f->inter, &f->root,
                              ck_cert_get_info(f->future)->not_before + 1,
                              &err));
}

static int64_t fake_2200(void *arg) {
  (void)arg;
  return Y2200 * 1000;
}

static void test_default_time_uses_clock_seam(void **state) {
  fixture *f = *state;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc;

  ck_clock_set_source(fake_2200, NULL);
  rc = ck_cert_verify(f->leaf, &f->inter, &f->root, 0, &err);
  ck_clock_set_source(NULL, NULL);
  expect_fail(rc, CK_ERR_EXPIRED, &err, NULL);
}

static void test_untrusted(void **state) {
  fixture *f = *state;
  ck_cert_list empty = {0};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc;

  rc = ck_cert_verify(f->leaf, &f->inter, &f->other, f->now, &err);
  expect_fail(rc, CK_ERR_UNTRUSTED, &err, NULL);
  ck_errctx_clear(&err);
  rc = ck_cert_verify(f->leaf, NULL, &f->root, f->now, &err); /* no inter */
  expect_fail(rc, CK_ERR_UNTRUSTED, &err, NULL);
  ck_errctx_clear(&err);
  rc = ck_cert_verify(f->leaf, &f->inter, &empty, f->now, &err);
  expect_fail(rc, CK_ERR_UNTRUSTED, &err, NULL);
  ck_errctx_clear(&err);
  /* the root offered as untrusted does not make it trusted */
  rc = ck_cert_verify(f->leaf, &f->full, &f->other, f->now, &err);
  expect_fail(rc, CK_ERR_UNTRUSTED, &err, NULL);
}

static void test_bad_signature(void **state) {
  fixture *f = *state;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_cert *bad = NULL;
  const uint8_t *der;
  uint8_t *copy;
  size_t len;
  ck_err rc;

  der = ck_cert_der(f->leaf, &len);
  copy = malloc(len);
  memcpy(copy, der, len);
  copy[len - 1] ^= 0x01; /* last byte of the ECDSA signature */
  assert_ck_ok(ck_cert_parse(copy, len, &bad, &err));
  rc = ck_cert_verify(bad, &f->inter, &f->root, f->now, &err);
  expect_fail(rc, CK_ERR_BAD_SIGNATURE, &err, "www.example.com");
  ck_cert_free(bad);
  free(copy);
}

static void test_args(void **state) {
  fixture *f = *state;

  assert_int_equal(ck_cert_verify(NULL, NULL, &f->root, f->now, NULL),
                   CK_ERR_INVAL);
  assert_int_equal(ck_cert_verify(f->leaf, NULL, NULL, f->now, NULL),
                   CK_ERR_INVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_chain),
      cmocka_unit_test(test_time),
      cmocka_unit_test(test_default_time_uses_clock_seam),
      cmocka_unit_test(test_untrusted),
      cmocka_unit_test(test_bad_signature),
      cmocka_unit_test(test_args),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
