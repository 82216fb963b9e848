/* order_state.h — the ACME order/authorization state rules (RFC 8555
 * §7.1.6) as pure functions, so the state machine is unit-tested apart
 * from the store:
 *
 *   order:  pending -> ready -> processing -> valid
 *           pending -> invalid (an authorization failed or the order
 *           expired); processing -> invalid (issuance refused)
 *   authz:  pending -> valid | invalid | expired; pending|valid ->
 *           deactivated
 *   chall:  pending -> processing -> valid | invalid */
#ifndef CK_COORD_ACME_ORDER_STATE_H
#define CK_COORD_ACME_ORDER_STATE_H

#include <stddef.h>

/* The status an order in status cur moves to, given the statuses of its n
 * authorizations and whether it has expired: only a pending order moves
 * here (to invalid when one authorization is invalid, deactivated or
 * expired, or the order expired; to ready when all are valid). Returns a
 * static string ("pending", "ready", "invalid") or cur itself. */
const char *ck_acme_order_next(const char *cur, const char *const *authz,
                               size_t n, int expired);

/* 1 when an authorization may go from `from` to `to`. */
int ck_acme_authz_move_ok(const char *from, const char *to);

/* 1 when finalize is allowed in order status st (only "ready"). */
int ck_acme_order_finalizable(const char *st);

#endif
