/* test_order_state.c — the ACME order and authorization state machine
 * (coordinator/acme/order_state.h): every transition allowed and refused. */
#include "tests/testutil.h"

#include <string.h>

#include "coordinator/acme/order_state.h"

static void order_moves(void **state) {
  const char *all_valid[] = {"valid", "valid"};
  const char *one_pending[] = {"valid", "pending"};
  const char *one_invalid[] = {"invalid", "valid"};
  const char *one_deact[] = {"valid", "deactivated"};
  const char *one_expired[] = {"expired"};

  (void)state;
  assert_string_equal(ck_acme_order_next("pending", all_valid, 2, 0), "ready");
  assert_string_equal(ck_acme_order_next("pending", one_pending, 2, 0),
                      "pending");
  assert_string_equal(ck_acme_order_next("pending", one_invalid, 2, 0),
                      "invalid");
  assert_string_equal(ck_acme_order_next("pending", one_deact, 2, 0),
                      "invalid");
  assert_string_equal(ck_acme_order_next("pending", one_expired, 1, 0),
                      "invalid");
  /* an expired order is invalid even when every authorization is valid */
  assert_string_equal(ck_acme_order_next("pending", all_valid, 2, 1),
                      "invalid");
  assert_string_equal(ck_acme_order_next("pending", one_pending, 2, 1),
                      "invalid");
  /* no authorizations: stays pending */
  assert_string_equal(ck_acme_order_next("pending", NULL, 0, 0), "pending");
  /* only pending orders move here */
  assert_string_equal(ck_acme_order_next("ready", one_invalid, 2, 1), "ready");
  assert_string_equal(ck_acme_order_next("processing", all_valid, 2, 0),
                      "processing");
  assert_string_equal(ck_acme_order_next("valid", one_invalid, 2, 1), "valid");
  assert_string_equal(ck_acme_order_next("invalid", all_valid, 2, 0),
                      "invalid");
  assert_null(ck_acme_order_next(NULL, all_valid, 2, 0));
}

static void finalize_gate(void **state) {
  (void)state;
  assert_true(ck_acme_order_finalizable("ready"));
  assert_false(ck_acme_order_finalizable("pending"));
  assert_false(ck_acme_order_finalizable("processing"));
  assert_false(ck_acme_order_finalizable("valid"));
  assert_false(ck_acme_order_finalizable("invalid"));
  assert_false(ck_acme_order_finalizable(NULL));
}

static void authz_moves(void **state) {
  (void)state;
  assert_true(ck_acme_authz_move_ok("pending", "valid"));
  assert_true(ck_acme_authz_move_ok("pending", "invalid"));
  assert_true(ck_acme_authz_move_ok("pending", "deactivated"));
  assert_true(ck_acme_authz_move_ok("pending", "expired"));
  assert_true(ck_acme_authz_move_ok("valid", "deactivated"));
  assert_true(ck_acme_authz_move_ok("valid", "revoked"));
  assert_false(ck_acme_authz_move_ok("valid", "pending"));
  assert_false(ck_acme_authz_move_ok("invalid", "valid"));
  assert_false(ck_acme_authz_move_ok("deactivated", "valid"));
  assert_false(ck_acme_authz_move_ok("expired", "valid"));
  assert_false(ck_acme_authz_move_ok(NULL, "valid"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(order_moves),
      cmocka_unit_test(finalize_gate),
      cmocka_unit_test(authz_moves),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
