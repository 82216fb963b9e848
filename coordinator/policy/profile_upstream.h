/* profile_upstream.h — the "upstream" member of a profile document (an
 * external CA fulfilling the profile), for profile_json.c. Internal to
 * coordinator/policy/: the object itself is declared in profile.h. */
#ifndef CK_POLICY_PROFILE_UPSTREAM_H
#define CK_POLICY_PROFILE_UPSTREAM_H

#include <jansson.h>

#include "coordinator/policy/profile.h"

/* Parses v (the value of "upstream") for profile `profile` (its name, for
 * messages). Strict like the rest of the document: unknown fields, wrong
 * types and bad values are CK_ERR_PARSE naming the field, e.g.
 * "profile 'web': upstream.directory: 'http://x' is not an https:// URL".
 * On success *out is owned by the caller (ck_profile_upstream_free). */
ck_err ck__profile_upstream_from_json(const char *profile, json_t *v,
                                      ck_profile_upstream **out,
                                      ck_errctx *err);

/* The canonical JSON object of u (every field, fixed order); a new
 * reference, NULL when out of memory. */
json_t *ck__profile_upstream_to_json(const ck_profile_upstream *u);

#endif
