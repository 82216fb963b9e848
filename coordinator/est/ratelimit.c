/* ratelimit.c — enrollments per minute per EST fleet. Fixed one-minute
 * windows (aligned on ck_clock_now) counted in a small in-memory table:
 * good enough to stop a leaked fleet secret from minting thousands of
 * certificates, cheap on the hot path, forgotten on restart (a restart
 * gives at most one extra window). Deliberately not persisted: a stored
 * counter would put a write that every device of the fleet contends for
 * on each enrollment, to save at most one window per operator restart
 * (docs/est.md "Limits and notes"). The table is static (one coordinator
 * per process) and bounded: the least recently used fleet is dropped. */
#include <pthread.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/mem.h"
#include "coordinator/est/est.h"

#define SLOTS 4096

typedef struct slot {
  char fleet[CK_ESTD_NAME_MAX];
  int64_t window; /* minute number (now / 60) */
  unsigned count; /* enrollments taken in that window */
  int64_t used;   /* last use, for eviction */
} slot;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static slot slots[SLOTS];

int ck_estd_rate_take(const char *fleet, unsigned per_min) {
  int64_t now, minute;
  size_t i, victim = 0;
  slot *s = NULL;
  int wait = 0;

  if (per_min == 0)
    return 0;
  now = ck_clock_now();
  minute = now / 60;
  pthread_mutex_lock(&lock);
  for (i = 0; i < SLOTS; i++) {
    if (slots[i].fleet[0] != '\0' && strcmp(slots[i].fleet, fleet) == 0) {
      s = &slots[i];
      break;
    }
    if (slots[i].used < slots[victim].used)
      victim = i;
  }
  if (s == NULL) {
    s = &slots[victim];
    memset(s, 0, sizeof *s);
    ck_strlcpy(s->fleet, fleet, sizeof s->fleet);
  }
  if (s->window != minute) {
    s->window = minute;
    s->count = 0;
  }
  s->used = now;
  if (s->count >= per_min) {
    wait = (int)(60 - now % 60);
    if (wait < 1)
      wait = 1;
  } else {
    s->count++;
  }
  pthread_mutex_unlock(&lock);
  return wait;
}
