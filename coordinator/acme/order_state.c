/* order_state.c — ACME order and authorization transitions
 * (order_state.h). */
#include "coordinator/acme/order_state.h"

#include <string.h>

const char *ck_acme_order_next(const char *cur, const char *const *authz,
                               size_t n, int expired) {
  size_t i, valid = 0;

  if (cur == NULL || strcmp(cur, "pending") != 0)
    return cur;
  for (i = 0; i < n; i++) {
    const char *s = authz[i] != NULL ? authz[i] : "";
    if (strcmp(s, "invalid") == 0 || strcmp(s, "deactivated") == 0 ||
        strcmp(s, "expired") == 0 || strcmp(s, "revoked") == 0)
      return "invalid";
    valid += strcmp(s, "valid") == 0;
  }
  if (expired)
    return "invalid";
  return n > 0 && valid == n ? "ready" : cur;
}

int ck_acme_authz_move_ok(const char *from, const char *to) {
  if (from == NULL || to == NULL)
    return 0;
  if (strcmp(from, "pending") == 0)
    return strcmp(to, "valid") == 0 || strcmp(to, "invalid") == 0 ||
           strcmp(to, "expired") == 0 || strcmp(to, "deactivated") == 0;
  if (strcmp(from, "valid") == 0)
    return strcmp(to, "deactivated") == 0 || strcmp(to, "expired") == 0 ||
           strcmp(to, "revoked") == 0;
  return 0;
}

int ck_acme_order_finalizable(const char *st) {
  return st != NULL && strcmp(st, "ready") == 0;
}
