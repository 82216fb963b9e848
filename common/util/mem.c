/* mem.c — arenas, constant-time compare, wiping, bounded copies. */
#include "common/util/mem.h"

#include <stdlib.h>
#include <string.h>

typedef struct ck_arena_block {
  struct ck_arena_block *next; /* older block */
  size_t size;                 /* usable bytes after the header */
  size_t used;                 /* bytes handed out */
  max_align_t data[];          /* aligned storage */
} ck_arena_block;

struct ck_arena {
  ck_arena_block *head; /* current block (newest first) */
  size_t block_size;    /* default usable size of a new block */
  size_t total;         /* bytes held in all blocks */
};

#define ALIGN (_Alignof(max_align_t))

static ck_arena_block *block_new(size_t size) {
  ck_arena_block *b;

  if (size > SIZE_MAX - sizeof *b)
    return NULL;
  b = malloc(sizeof *b + size);
  if (b == NULL)
    return NULL;
  b->next = NULL;
  b->size = size;
  b->used = 0;
  return b;
}

ck_arena *ck_arena_new(size_t block_size) {
  ck_arena *a;

  if (block_size < 256)
    block_size = 256;
  a = calloc(1, sizeof *a);
  if (a == NULL)
    return NULL;
  a->block_size = block_size;
  a->head = block_new(block_size);
  if (a->head == NULL) {
    free(a);
    return NULL;
  }
  a->total = block_size;
  return a;
}

void ck_arena_free(ck_arena *a) {
  ck_arena_block *b, *next;

  if (a == NULL)
    return;
  for (b = a->head; b != NULL; b = next) {
    next = b->next;
    free(b);
  }
  free(a);
}

void ck_arena_reset(ck_arena *a) {
  ck_arena_block *b, *next;

  if (a == NULL || a->head == NULL)
    return;
  /* Keep the oldest block (the one of default size), free the rest. */
  b = a->head;
  while (b->next != NULL) {
    next = b->next;
    free(b);
    b = next;
  }
  b->used = 0;
  a->head = b;
  a->total = b->size;
}

void *ck_arena_alloc(ck_arena *a, size_t n) {
  ck_arena_block *b;
  size_t need, bsize;
  void *p;

  if (n == 0)
    n = 1;
  if (n > SIZE_MAX - ALIGN)
    return NULL;
  need = (n + ALIGN - 1) & ~(ALIGN - 1);
  b = a->head;
  if (b == NULL || b->size - b->used < need) {
    bsize = need > a->block_size ? need : a->block_size;
    b = block_new(bsize);
    if (b == NULL)
      return NULL;
    b->next = a->head;
    a->head = b;
    a->total += bsize;
  }
  p = (char *)b->data + b->used;
  b->used += need;
  return p;
}

char *ck_arena_strndup(ck_arena *a, const char *s, size_t n) {
  char *p;

  if (n == SIZE_MAX)
    return NULL;
  p = ck_arena_alloc(a, n + 1);
  if (p == NULL)
    return NULL;
  if (n > 0)
    memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *ck_arena_strdup(ck_arena *a, const char *s) {
  return ck_arena_strndup(a, s, strlen(s));
}

size_t ck_arena_size(const ck_arena *a) { return a == NULL ? 0 : a->total; }

int ck_ct_equal(const void *a, const void *b, size_t n) {
  const volatile unsigned char *x = a, *y = b;
  unsigned char d = 0;
  size_t i;

  for (i = 0; i < n; i++)
    d |= (unsigned char)(x[i] ^ y[i]);
  return d == 0;
}

void ck_wipe(void *p, size_t n) {
  volatile unsigned char *v = p;

  while (n--)
    *v++ = 0;
}

size_t ck_strlcpy(char *dst, const char *src, size_t dstlen) {
  size_t n = strlen(src);

  if (dstlen > 0) {
    size_t c = n < dstlen - 1 ? n : dstlen - 1;
    memcpy(dst, src, c);
    dst[c] = '\0';
  }
  return n;
}

void ck_hex_encode(const uint8_t *in, size_t n, char *out) {
  static const char hex[] = "0123456789abcdef";
  size_t i;

  for (i = 0; i < n; i++) {
    out[2 * i] = hex[in[i] >> 4];
    out[2 * i + 1] = hex[in[i] & 15];
  }
  out[2 * n] = '\0';
}
