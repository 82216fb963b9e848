/* profile_cache.h — parsed profiles kept in memory so issuance does not
 * read and parse JSON per request. Thread-safe. Entries are the latest
 * version in the store when first asked for; a profile change through the
 * API, or SIGHUP, clears the cache. */
#ifndef CK_COORD_WORKFLOW_PROFILE_CACHE_H
#define CK_COORD_WORKFLOW_PROFILE_CACHE_H

#include "coordinator/policy/profile.h"
#include "coordinator/store/store.h"

typedef struct ck_profile_cache ck_profile_cache;

ck_err ck_profile_cache_new(ck_store *s, ck_profile_cache **out, ck_errctx *err);
void ck_profile_cache_free(ck_profile_cache *c);

/* Gets the latest version of profile name. On success *out holds a
 * reference the caller releases with ck_profile_cache_put. CK_ERR_NOT_FOUND
 * for an unknown or deleted profile. */
ck_err ck_profile_cache_get(ck_profile_cache *c, const char *name,
                            const ck_profile **out, ck_errctx *err);
void ck_profile_cache_put(ck_profile_cache *c, const ck_profile *p);

/* Drops every entry (references held stay valid until put). */
ck_err ck_profile_cache_clear(ck_profile_cache *c);

#endif
