/* pattern.c — the name patterns of EST fleets ("*.sensors.example",
 * "{serial}.dev.example", "dev-*.lab.example"): which subject CNs and
 * DNS SANs a fleet's devices may ask for. Label by label, case-insensitive;
 * a star never crosses a dot. See ck_estd_pattern_match in fleet.h. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "coordinator/est/fleet.h"

#define SERIAL "{serial}"

int ck_estd_pattern_valid(const char *p) {
  size_t n = p != NULL ? strlen(p) : 0, i, stars = 0;

  if (n == 0 || n > 253 || p[0] == '.' || p[n - 1] == '.' ||
      strstr(p, "..") != NULL)
    return 0;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c == '{') {
      if (strncmp(p + i, SERIAL, strlen(SERIAL)) != 0)
        return 0;
      i += strlen(SERIAL) - 1;
      continue;
    }
    if (c == '*' && ++stars > 4) /* bounds the backtracking of label_glob */
      return 0;
    if (!isalnum(c) && c != '.' && c != '*' && c != '-' && c != '_')
      return 0;
  }
  return 1;
}

/* Matches one label of a pattern (plen bytes, may hold one or more '*')
 * against one label of a name: '*' stands for one or more characters. */
static int label_glob(const char *p, size_t plen, const char *s, size_t slen) {
  size_t i;

  if (plen == 0)
    return slen == 0;
  if (p[0] == '*') {
    for (i = 1; i <= slen; i++) /* at least one character */
      if (label_glob(p + 1, plen - 1, s + i, slen - i))
        return 1;
    return 0;
  }
  if (slen == 0 || tolower((unsigned char)p[0]) != tolower((unsigned char)s[0]))
    return 0;
  return label_glob(p + 1, plen - 1, s + 1, slen - 1);
}

static int label_ok(const char *s, size_t n) {
  size_t i;

  if (n == 0 || n > 63)
    return 0;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!isalnum(c) && c != '-' && c != '_')
      return 0;
  }
  return 1;
}

int ck_estd_pattern_match(const char *pattern, const char *name,
                          const char *device) {
  const char *p = pattern, *s = name;

  if (!ck_estd_pattern_valid(pattern) || name == NULL || name[0] == '\0' ||
      strlen(name) > 253)
    return 0;
  for (;;) {
    size_t pl = strcspn(p, "."), sl = strcspn(s, ".");
    if (!label_ok(s, sl))
      return 0;
    if (pl == strlen(SERIAL) && strncmp(p, SERIAL, pl) == 0) {
      if (device != NULL && device[0] != '\0') {
        if (strlen(device) != sl || strncasecmp(device, s, sl) != 0)
          return 0;
      }
      /* else: any one label */
    } else {
      if (!label_glob(p, pl, s, sl))
        return 0;
    }
    p += pl;
    s += sl;
    if (*p == '\0' || *s == '\0')
      return *p == '\0' && *s == '\0';
    p++;
    s++;
  }
}

int ck_estd_patterns_match(const char *patterns, const char *name,
                           const char *device) {
  const char *p = patterns;
  char one[300];

  if (patterns == NULL || patterns[0] == '\0')
    return 1;
  while (*p != '\0') {
    size_t n = strcspn(p, "\n");
    if (n > 0 && n < sizeof one) {
      memcpy(one, p, n);
      one[n] = '\0';
      if (ck_estd_pattern_match(one, name, device))
        return 1;
    }
    p += n;
    if (*p == '\n')
      p++;
  }
  return 0;
}
