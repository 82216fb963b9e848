/* profile_approval.h — the "approval", "purpose" and "blast_radius"
 * members of a profile document, for profile_json.c. Internal to
 * coordinator/policy/: the object is ck_profile_routing in profile.h. */
#ifndef CK_POLICY_PROFILE_APPROVAL_H
#define CK_POLICY_PROFILE_APPROVAL_H

#include <jansson.h>

#include "coordinator/policy/profile.h"

/* Reads the routing members of root into p->routing (left NULL when none
 * is present). p->name and p->workflow must already be set. Strict:
 * unknown fields, wrong types and bad values are CK_ERR_PARSE naming the
 * field, e.g. "profile 'code': approval.approvers.required: 3 is more than
 * the 2 named approvers". */
ck_err ck__profile_routing_from_json(ck_profile *p, json_t *root,
                                     ck_errctx *err);

/* Adds the canonical members for r to o (nothing when r is NULL). Returns
 * 0, or non-zero when out of memory. */
int ck__profile_routing_to_json(const ck_profile_routing *r, json_t *o);

/* A JSON array of the n strings v (copied); NULL when out of memory
 * (profile_json.c). */
json_t *ck__profile_str_list(char **v, size_t n);

#endif
