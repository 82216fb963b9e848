/* test_doc.c — docs/protocol.md must match the code.
 *
 * Reads the doc (from $CK_SOURCE_DIR) and checks, against the tables in
 * common/wire/types.c: every message type has a "### `name`" section and
 * every such section is a message type; each section's "Direction:" line;
 * every field (nested ones as host.hostname / findings[].path) has a table
 * row with the same type and required flag, and every row is a field; enum
 * values are listed; the envelope and every CK_ERR_WIRE_* code are
 * documented; the example frame decodes. The checker is also run on broken
 * copies of the doc to show it catches each kind of drift. */
#include <stdlib.h>
#include <string.h>

#include "common/wire/framer.h"
#include "common/wire/wire.h"
#include "tests/testutil.h"

#define MAX_ROWS 64

typedef struct row {
  char name[64];
  char type[32];
  int required; /* 1 yes, 0 no, -1 unreadable */
} row;

typedef struct section {
  const char *start, *end; /* text of the section (after the heading) */
  char name[64];
  row rows[MAX_ROWS];
  size_t n;
} section;

static int problems;

static void problem(const char *fmt, const char *a, const char *b) {
  char line[256];

  snprintf(line, sizeof line, fmt, a, b);
  print_message("protocol.md: %s\n", line);
  problems++;
}

static char *read_doc(void) {
  const char *src = getenv("CK_SOURCE_DIR");
  char path[1024];
  FILE *f;
  char *buf;
  long n;

  assert_non_null(src);
  snprintf(path, sizeof path, "%s/docs/protocol.md", src);
  f = fopen(path, "rb");
  if (f == NULL)
    fail_msg("cannot open %s", path);
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc((size_t)n + 1);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static const char *line_end(const char *p) {
  const char *e = strchr(p, '\n');
  return e != NULL ? e : p + strlen(p);
}

static const char *next_line(const char *p) {
  const char *e = line_end(p);
  return *e == '\n' ? e + 1 : e;
}

/* Copies the text between the first pair of backticks in [p, end) into out;
 * returns 0 when there is none. */
static int backticked(const char *p, const char *end, char *out, size_t len) {
  const char *a = memchr(p, '`', (size_t)(end - p)), *b;
  size_t n;

  if (a == NULL)
    return 0;
  b = memchr(a + 1, '`', (size_t)(end - a - 1));
  if (b == NULL)
    return 0;
  n = (size_t)(b - a - 1);
  if (n >= len)
    n = len - 1;
  memcpy(out, a + 1, n);
  out[n] = '\0';
  return 1;
}

/* Parses the table rows "| `name` | `type` | yes | ... |" of a section. */
static void parse_rows(section *s) {
  const char *p;

  s->n = 0;
  for (p = s->start; p < s->end; p = next_line(p)) {
    const char *e = line_end(p), *c2, *c3, *c4;
    row *r;

    if (strncmp(p, "| `", 3) != 0)
      continue;
    if (s->n == MAX_ROWS)
      fail_msg("section %s: too many rows", s->name);
    r = &s->rows[s->n++];
    c2 = memchr(p + 1, '|', (size_t)(e - p - 1));
    c3 = c2 ? memchr(c2 + 1, '|', (size_t)(e - c2 - 1)) : NULL;
    c4 = c3 ? memchr(c3 + 1, '|', (size_t)(e - c3 - 1)) : NULL;
    r->name[0] = r->type[0] = '\0';
    r->required = -1;
    backticked(p, c2 ? c2 : e, r->name, sizeof r->name);
    if (c2 && c3)
      backticked(c2, c3, r->type, sizeof r->type);
    if (c3 && c4) {
      const char *q = c3 + 1;

      while (*q == ' ')
        q++;
      if (strncmp(q, "yes", 3) == 0)
        r->required = 1;
      else if (strncmp(q, "no", 2) == 0)
        r->required = 0;
    }
  }
}

/* Finds the section whose heading line is exactly `heading` (e.g.
 * "### `hello`" or "## Envelope"); it ends at the next "## "/"### ". */
static int find_section(const char *doc, const char *heading, section *s) {
  const char *p;
  size_t hl = strlen(heading);
  int found = 0;

  for (p = doc; *p != '\0'; p = next_line(p)) {
    if (strncmp(p, heading, hl) == 0 && (p[hl] == '\n' || p[hl] == '\0')) {
      const char *q;

      if (found++)
        problem("heading '%s' appears twice%s", heading, "");
      s->start = next_line(p);
      for (q = s->start; *q != '\0'; q = next_line(q))
        if (strncmp(q, "## ", 3) == 0 || strncmp(q, "### ", 4) == 0)
          break;
      s->end = q;
    }
  }
  if (found)
    parse_rows(s);
  return found;
}

static int section_has(const section *s, const char *needle) {
  size_t n = strlen(needle);
  const char *p;

  for (p = s->start; p + n <= s->end; p++)
    if (memcmp(p, needle, n) == 0)
      return 1;
  return 0;
}

typedef struct field_check {
  section *s;
  int seen[MAX_ROWS];
} field_check;

static void check_field(const char *path, const char *type, bool required,
                        const char *const *values, void *arg) {
  field_check *fc = arg;
  size_t i;

  for (i = 0; i < fc->s->n; i++) {
    const row *r = &fc->s->rows[i];

    if (strcmp(r->name, path) != 0)
      continue;
    fc->seen[i] = 1;
    if (strcmp(r->type, type) != 0)
      problem("field %s: the doc says type '%s'", path, r->type);
    if (r->required != (int)required)
      problem("field %s: required column should be '%s'", path,
              required ? "yes" : "no");
    break;
  }
  if (i == fc->s->n)
    problem("message %s: field '%s' is not documented", fc->s->name, path);
  for (; values != NULL && *values != NULL; values++) {
    char want[96];

    snprintf(want, sizeof want, "`%s`", *values);
    if (!section_has(fc->s, want))
      problem("enum value %s of this field is not documented (%s)", want, path);
  }
}

static const char *dir_text(ck_wire_dir d) {
  switch (d) {
  case CK_WIRE_TO_COORD:
    return "Direction: agent → coordinator";
  case CK_WIRE_TO_AGENT:
    return "Direction: coordinator → agent";
  case CK_WIRE_BOTH:
    return "Direction: both directions";
  }
  return "?";
}

/* Decodes the frame in the ```hex block of the Example section. */
static void check_example(const char *doc) {
  section s;
  const char *p, *q;
  uint8_t frame[4096];
  size_t n = 0;
  ck_wire_framer f;
  ck_errctx err = CK_ERRCTX_INIT;
  const uint8_t *body;
  size_t blen;
  ck_arena *a;
  ck_wire_msg m;

  if (!find_section(doc, "## Example", &s)) {
    problem("no '## Example' section%s%s", "", "");
    return;
  }
  p = strstr(s.start, "```hex\n");
  if (p == NULL || p > s.end) {
    problem("the Example has no ```hex block%s%s", "", "");
    return;
  }
  p += 7;
  q = strstr(p, "```");
  for (; p < q && n < sizeof frame; p++) {
    unsigned v;

    if (*p == ' ' || *p == '\n')
      continue;
    if (sscanf(p, "%2x", &v) != 1) {
      problem("bad hex in the Example%s%s", "", "");
      return;
    }
    frame[n++] = (uint8_t)v;
    p++;
  }
  ck_wire_framer_init(&f, 0);
  a = ck_arena_new(0);
  if (ck_wire_framer_feed(&f, frame, n, &err) != CK_OK ||
      ck_wire_framer_next(&f, &body, &blen, &err) != CK_OK ||
      ck_wire_decode(body, blen, NULL, a, &m, &err) != CK_OK)
    problem("the example frame does not decode: %s%s", ck_errctx_msg(&err), "");
  else if (ck_wire_framer_pending(&f) != 0)
    problem("the example has bytes after its frame%s%s", "", "");
  ck_wire_framer_free(&f);
  ck_arena_free(a);
}

/* Runs every check on doc; returns the number of problems found. */
static int check_doc(const char *doc) {
  int t;
  const char *p;
  section s;
  static const char *const envelope[] = {"v", "t", "id"};
  size_t i;
  int code;

  problems = 0;
  for (t = CK_WIRE_UNKNOWN + 1; t < CK_WIRE_TYPE__MAX; t++) {
    const char *name = ck_wire_type_name((ck_wire_type)t);
    char heading[96];
    field_check fc;

    snprintf(heading, sizeof heading, "### `%s`", name);
    memset(&s, 0, sizeof s);
    snprintf(s.name, sizeof s.name, "%s", name);
    if (!find_section(doc, heading, &s)) {
      problem("message type '%s' has no '### `%s`' section", name, name);
      continue;
    }
    if (!section_has(&s, dir_text(ck_wire_type_dir((ck_wire_type)t))))
      problem("message %s: missing '%s'", name,
              dir_text(ck_wire_type_dir((ck_wire_type)t)));
    memset(&fc, 0, sizeof fc);
    fc.s = &s;
    ck_wire_each_field((ck_wire_type)t, check_field, &fc);
    for (i = 0; i < s.n; i++)
      if (!fc.seen[i])
        problem("message %s: documented field '%s' does not exist in code",
                name, s.rows[i].name);
  }
  /* Every message heading in the doc is a type in the code. */
  for (p = doc; *p != '\0'; p = next_line(p)) {
    char name[64];

    if (strncmp(p, "### ", 4) != 0)
      continue;
    if (!backticked(p, line_end(p), name, sizeof name)) {
      problem("heading without a `name`: %.40s%s", p, "");
      continue;
    }
    if (ck_wire_type_from_name(name, strlen(name)) == CK_WIRE_UNKNOWN)
      problem("documented message '%s' does not exist in code%s", name, "");
  }
  /* The envelope. */
  if (!find_section(doc, "## Envelope", &s)) {
    problem("no '## Envelope' section%s%s", "", "");
  } else {
    for (i = 0; i < 3; i++) {
      size_t k;

      for (k = 0; k < s.n; k++)
        if (strcmp(s.rows[k].name, envelope[i]) == 0 && s.rows[k].required == 1)
          break;
      if (k == s.n)
        problem("envelope field '%s' is not documented as required%s",
                envelope[i], "");
    }
  }
  /* Every wire error code, with its number. */
  if (!find_section(doc, "## Errors", &s)) {
    problem("no '## Errors' section%s%s", "", "");
  } else {
    for (code = -200; code > -300; code--) {
      const char *nm = ck_err_name((ck_err)code);
      char num[16];
      size_t k;

      if (strncmp(nm, "CK_ERR_WIRE_", 12) != 0)
        continue;
      snprintf(num, sizeof num, "| %d |", code);
      for (k = 0; k < s.n; k++)
        if (strcmp(s.rows[k].name, nm) == 0)
          break;
      if (k == s.n)
        problem("error code %s is not in the Errors table%s", nm, "");
      else if (!section_has(&s, num))
        problem("error code %s: number %s not in its row", nm, num);
    }
  }
  check_example(doc);
  return problems;
}

static void test_doc_matches_code(void **state) {
  char *doc = read_doc();
  int n = check_doc(doc);

  if (n != 0)
    fail_msg("docs/protocol.md disagrees with common/wire in %d place(s)", n);
  free(doc);
}

/* Replaces the first occurrence of from in doc by to (new malloc'ed string). */
static char *edit(const char *doc, const char *from, const char *to) {
  const char *at = strstr(doc, from);
  size_t a, fl = strlen(from), tl = strlen(to), dl = strlen(doc);
  char *out;

  if (at == NULL)
    fail_msg("edit: '%s' not in the doc", from);
  a = (size_t)(at - doc);
  out = malloc(dl - fl + tl + 1);
  memcpy(out, doc, a);
  memcpy(out + a, to, tl);
  memcpy(out + a + tl, at + fl, dl - a - fl + 1);
  return out;
}

/* The checker catches each kind of drift. */
static void test_checker_catches_drift(void **state) {
  static const struct {
    const char *from, *to;
  } drift[] = {
      {"### `ping`", "### `pingg`"}, /* type renamed in the doc */
      {"### `pong`\n", "### `pong`\n\n### `hug`\n"}, /* doc-only type */
      {"| `max_v` | `u32` | no |", "| `max_vv` | `u32` | no |"},
      {"| `max_v` | `u32` | no |", "| `max_v` | `u64` | no |"},
      {"| `max_v` | `u32` | no |", "| `max_v` | `u32` | yes |"},
      {"| `findings[].owner` |", "| `findings[].ownr` |"},
      {"| `host.arch` | `str` | yes |", "| `host.arch` | `str` | no |"},
      {"`rescan`: run discovery", "rescan: run discovery"},
      {"Direction: coordinator → agent. Reply: `pong`.", "Reply: `pong`."},
      {"| `CK_ERR_WIRE_DEPTH` | -202 |", "| `CK_ERR_WIRE_DEPTH` | -220 |"},
      {"| `CK_ERR_WIRE_NOT_MAP` |", "| NOT_MAP |"},
      {"| `id` | `u64` | yes |", "| `id` | `u64` | no |"},
      {"a2 69 64 01 a7", "a2 69 64 01 a8"},
  };
  char *doc = read_doc();
  size_t i;

  for (i = 0; i < sizeof drift / sizeof drift[0]; i++) {
    char *bad = edit(doc, drift[i].from, drift[i].to);

    print_message("-- drift %zu (expected to be reported):\n", i);
    if (check_doc(bad) == 0)
      fail_msg("drift not caught: '%s' -> '%s'", drift[i].from, drift[i].to);
    free(bad);
  }
  free(doc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_doc_matches_code),
      cmocka_unit_test(test_checker_catches_drift),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
