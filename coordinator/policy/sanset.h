/* sanset.h — compiled sets of subjectAltName patterns, and the name rules.
 *
 * A profile says which names it may certify with SAN patterns per type; an
 * agent's enrollment binding narrows that with patterns in the same syntax.
 * Both are a ck_sanset: patterns validated and normalized once, then matched
 * against requested names many times (issuance is a hot path).
 *
 * Pattern syntax (docs/profiles.md is the operator reference):
 *   DNS    "host.test"  exactly that name
 *          ".test"      any name strictly under test (a.test, a.b.test; not
 *                       "test", not "eviltest")
 *          "*.web.test" any single label under web.test (a.web.test, and the
 *                       wildcard "*.web.test" itself)
 *   IP     "10.0.0.0/8", "2001:db8::/32", "192.0.2.7" (= /32)
 *   URI    "urn:"                       any URI of that scheme
 *          "spiffe://cluster.test"      that scheme, host matching a DNS
 *                                       pattern (exact, .suffix, *.label)
 *          "spiffe://cluster.test/ns/a" ... and a path equal to /ns/a or
 *                                       under /ns/a/
 *   email  "ops@example.test" that mailbox; "example.test" any mailbox at
 *          that domain; ".example.test" any mailbox at a subdomain.
 *
 * Requested names are normalized before matching (ck_sanset_normalize):
 * DNS names lower-cased, one trailing dot removed, LDH labels of 1..63
 * characters, at most 253 characters, a non-numeric top label, "*" only as
 * the whole leftmost label; IP addresses in inet_ntop form; email domains
 * lower-cased. Matching is on whole labels, so ".test" never matches
 * "eviltest" nor "test.evil.example".
 *
 * Thread-safety: a set is immutable once built; concurrent matching on a
 * shared set is safe. */
#ifndef CK_POLICY_SANSET_H
#define CK_POLICY_SANSET_H

#include <stddef.h>

#include "common/crypto/crypto.h"
#include "common/util/err.h"

typedef struct ck_sanset ck_sanset; /* opaque */

/* Longest normalized value ck_sanset_normalize writes (plus NUL). */
#define CK_SANSET_VALUE_MAX 1024

/* Creates an empty set. Returns CK_ERR_NOMEM; *out is caller-owned
 * (ck_sanset_free). */
ck_err ck_sanset_new(ck_sanset **out);

/* Frees s. NULL is a no-op. */
void ck_sanset_free(ck_sanset *s);

/* Validates pattern as a pattern of the given type (CK_SAN_DNS, CK_SAN_IP,
 * CK_SAN_URI, CK_SAN_EMAIL), normalizes it and appends it to s. Returns
 * CK_ERR_PARSE with a message like "'*.*.test' is not a valid DNS pattern
 * ('*' may only be the whole leftmost label)", CK_ERR_EXIST when the same
 * pattern (after normalization) is already in s ("'.test' is listed
 * twice"), CK_ERR_INVAL for another type, CK_ERR_NOMEM. s is unchanged on
 * failure. */
ck_err ck_sanset_add(ck_sanset *s, ck_san_type type, const char *pattern,
                     ck_errctx *err);

/* Parses the binding form used by enrollment tokens: one pattern per line,
 * prefixed "dns:", "ip:", "uri:" or "email:" (no prefix means DNS); blank
 * lines and lines starting with '#' are skipped, surrounding blanks
 * trimmed. text may be NULL (empty set). Errors as ck_sanset_add, prefixed
 * with "line N: ". On success *out is caller-owned. */
ck_err ck_sanset_parse_lines(const char *text, ck_sanset **out, ck_errctx *err);

/* Writes s in the binding form (canonical, with type prefixes, "\n" after
 * each line) into a malloc'ed string *out (caller frees). */
ck_err ck_sanset_to_lines(const ck_sanset *s, char **out);

/* Number of patterns of type in s (all types when type is 0). */
size_t ck_sanset_count(const ck_sanset *s, ck_san_type type);

/* The i-th pattern of type in canonical text (borrowed from s), or NULL
 * when i is out of range. */
const char *ck_sanset_get(const ck_sanset *s, ck_san_type type, size_t i);

/* Writes the patterns of type as "a, b, c" into buf (truncated with ", ..."
 * when long; "" when there are none). Returns buf. */
const char *ck_sanset_describe(const ck_sanset *s, ck_san_type type, char *buf,
                               size_t len);

/* Checks and normalizes one requested name of type into out (outlen bytes,
 * at least CK_SANSET_VALUE_MAX). Sets *wildcard to 1 for a DNS name whose
 * leftmost label is "*" (the caller decides whether wildcards are allowed).
 * Returns CK_ERR_PARSE with the reason only ("empty label", "label longer
 * than 63 characters", ...) so the caller can say which name it was,
 * CK_ERR_INVAL for an unsupported type. */
ck_err ck_sanset_normalize(ck_san_type type, const char *value, char *out,
                           size_t outlen, int *wildcard, ck_errctx *err);

/* Returns 1 when the normalized value (from ck_sanset_normalize) of type is
 * covered by a pattern in s, else 0. A wildcard "*.x" is covered only when
 * every name it stands for is: by ".x", ".parent-of-x" or "*.x", never by an
 * exact pattern. */
int ck_sanset_match(const ck_sanset *s, ck_san_type type, const char *value);

#endif
