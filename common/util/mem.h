/* mem.h — small memory helpers: arenas for request-lifetime memory,
 * constant-time comparison, and wiping secrets.
 *
 * An arena hands out memory that is freed all at once with the request that
 * owns it (nginx pools, h2o mempools), so parsers need no per-field frees. */
#ifndef CK_UTIL_MEM_H
#define CK_UTIL_MEM_H

#include <stddef.h>
#include <stdint.h>

typedef struct ck_arena ck_arena;

/* Creates an arena whose blocks are at least block_size bytes. NULL on OOM. */
ck_arena *ck_arena_new(size_t block_size);
/* Frees the arena and everything allocated from it. NULL is a no-op. */
void ck_arena_free(ck_arena *a);
/* Frees everything allocated so far but keeps the first block for reuse. */
void ck_arena_reset(ck_arena *a);
/* Returns n bytes aligned for any type, or NULL on OOM or overflow. */
void *ck_arena_alloc(ck_arena *a, size_t n);
/* Copies n bytes plus a NUL terminator into the arena. */
char *ck_arena_strndup(ck_arena *a, const char *s, size_t n);
char *ck_arena_strdup(ck_arena *a, const char *s);
/* Bytes currently held by the arena (for limits and metrics). */
size_t ck_arena_size(const ck_arena *a);

/* Compares two equal-length buffers in time independent of their content.
 * Returns 1 when equal, 0 otherwise. */
int ck_ct_equal(const void *a, const void *b, size_t n);

/* Overwrites n bytes at p with zeros in a way the compiler cannot elide. */
void ck_wipe(void *p, size_t n);

/* Bounded string copy that always NUL-terminates (dst of size dstlen > 0).
 * Returns strlen(src); truncation happened if the result >= dstlen. */
size_t ck_strlcpy(char *dst, const char *src, size_t dstlen);

/* Hex-encodes n bytes into out (2n+1 bytes), lower case. */
void ck_hex_encode(const uint8_t *in, size_t n, char *out);

#endif
