/* clock.h — time and randomness seams.
 *
 * All certkeeper code asks these functions for the time and for random bytes
 * so tests can replace them: renewal logic can be run "in 2029" without
 * waiting (certmonger's CM_FORCE_TIME). Two ways to replace:
 *   - in-process: ck_clock_set_source() / ck_random_set_source();
 *   - for whole programs: the environment variable CK_FAKE_TIME, read once by
 *     ck_clock_init(), either an absolute "2029-01-31T12:00:00Z" (the clock
 *     starts there and then advances in real time) or "+30d" / "-2h" (offset
 *     from the real clock). */
#ifndef CK_UTIL_CLOCK_H
#define CK_UTIL_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/err.h"

/* Reads CK_FAKE_TIME if set. Returns CK_ERR_CONFIG on an unparsable value
 * (and ignores it). Safe to call more than once. */
ck_err ck_clock_init(void);

/* Wall-clock time in seconds since the Unix epoch (UTC), as the seam says. */
int64_t ck_clock_now(void);

/* Wall-clock time in milliseconds since the epoch. */
int64_t ck_clock_now_ms(void);

/* Monotonic milliseconds, for timeouts and latency (never faked by
 * CK_FAKE_TIME, which moves only the wall clock). */
uint64_t ck_clock_mono_ms(void);

/* Replaces the wall clock: fn returns milliseconds since the epoch. NULL
 * restores the real clock. For tests. */
typedef int64_t (*ck_clock_fn)(void *arg);
void ck_clock_set_source(ck_clock_fn fn, void *arg);

/* Fills buf with n cryptographically secure random bytes (the OS CSPRNG, or
 * the test source when set). */
ck_err ck_random(void *buf, size_t n);

/* Replaces the random source. NULL restores the OS CSPRNG. For tests. */
typedef ck_err (*ck_random_fn)(void *buf, size_t n, void *arg);
void ck_random_set_source(ck_random_fn fn, void *arg);

/* Parses a duration "90s", "15m", "12h", "30d", "2w" (or a plain number of
 * seconds) into seconds. */
ck_err ck_duration_parse(const char *text, int64_t *seconds);

/* Parses an RFC 3339 UTC time "2029-01-31T12:00:00Z" into epoch seconds. */
ck_err ck_time_parse_rfc3339(const char *text, int64_t *epoch);

/* Formats epoch seconds as "2029-01-31T12:00:00Z" into buf (>= 21 bytes). */
void ck_time_format_rfc3339(int64_t epoch, char *buf, size_t len);

#endif
