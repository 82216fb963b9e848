/* config.c — schema-checked INI configuration on top of inih (config.h).
 *
 * inih (as Debian builds it) does not pass line numbers to the handler, so
 * we feed it through our own line reader and count lines there: the handler
 * for a line always runs before the next line is read. */
#include "common/util/config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/net/conn.h"
#include "common/util/clock.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

typedef struct cfg_entry {
  char *section;
  char *key;
  char *value;
  int line;
  const ck_cfg_key *spec;
  int64_t num;       /* parsed INT/DURATION/SIZE/BOOL */
  char **items;      /* LIST: split values */
  size_t nitems;
} cfg_entry;

struct ck_config {
  char *name;              /* file name for messages */
  const ck_cfg_key *schema;
  cfg_entry *e;
  size_t n, cap;
  char **sections;         /* distinct section names seen, in order */
  size_t nsections;
  /* ck_config_sections results, one per pattern asked, kept until
   * ck_config_free so callers on any thread may borrow them; sections only
   * change while loading, so an entry never goes stale. */
  struct sec_match *matches;
  pthread_mutex_t mu;      /* guards matches */
};

typedef struct sec_match {
  struct sec_match *next;
  char *pattern;
  const char **names;
  size_t n;
} sec_match;

typedef struct parse_state {
  ck_config *cfg;
  const char *text; /* remaining input */
  int line;         /* line number of the line last handed to inih */
  ck_errctx *err;
  ck_err rc;        /* first error */
} parse_state;

static int section_matches(const char *pattern, const char *section) {
  size_t pl = strlen(pattern);

  if (pl > 0 && pattern[pl - 1] == '*')
    return strncmp(pattern, section, pl - 1) == 0 && section[pl - 1] != '\0';
  return strcmp(pattern, section) == 0;
}

static const ck_cfg_key *find_spec(const ck_cfg_key *schema,
                                   const char *section, const char *key) {
  const ck_cfg_key *k;

  for (k = schema; k->key != NULL; k++)
    if (strcmp(k->key, key) == 0 && section_matches(k->section, section))
      return k;
  return k->include != NULL ? find_spec(k->include, section, key) : NULL;
}

static int section_known(const ck_cfg_key *schema, const char *section) {
  const ck_cfg_key *k;

  for (k = schema; k->key != NULL; k++)
    if (section_matches(k->section, section))
      return 1;
  return k->include != NULL ? section_known(k->include, section) : 0;
}

ck_err ck_size_parse(const char *text, int64_t *bytes) {
  const char *p = text;
  int64_t v = 0, mul = 1;

  if (text == NULL || !isdigit((unsigned char)*p))
    return CK_ERR_PARSE;
  while (isdigit((unsigned char)*p)) {
    if (v > (INT64_MAX - 9) / 10)
      return CK_ERR_RANGE;
    v = v * 10 + (*p++ - '0');
  }
  if (*p == '\0' || strcmp(p, "B") == 0)
    mul = 1;
  else if (strcmp(p, "KiB") == 0 || strcmp(p, "K") == 0 || strcmp(p, "k") == 0)
    mul = 1024;
  else if (strcmp(p, "MiB") == 0 || strcmp(p, "M") == 0)
    mul = 1024 * 1024;
  else if (strcmp(p, "GiB") == 0 || strcmp(p, "G") == 0)
    mul = 1024LL * 1024 * 1024;
  else
    return CK_ERR_PARSE;
  if (v > INT64_MAX / mul)
    return CK_ERR_RANGE;
  *bytes = v * mul;
  return CK_OK;
}

static ck_err parse_int(const char *s, int64_t *out) {
  char *end;
  long long v;

  errno = 0;
  v = strtoll(s, &end, 10);
  if (end == s || *end != '\0')
    return CK_ERR_PARSE;
  if (errno == ERANGE)
    return CK_ERR_RANGE;
  *out = v;
  return CK_OK;
}

static ck_err parse_bool(const char *s, int64_t *out) {
  static const char *const yes[] = {"true", "yes", "on", "1", NULL};
  static const char *const no[] = {"false", "no", "off", "0", NULL};
  int i;

  for (i = 0; yes[i]; i++)
    if (strcmp(s, yes[i]) == 0) {
      *out = 1;
      return CK_OK;
    }
  for (i = 0; no[i]; i++)
    if (strcmp(s, no[i]) == 0) {
      *out = 0;
      return CK_OK;
    }
  return CK_ERR_PARSE;
}

static void free_items(char **items, size_t n) {
  size_t i;

  for (i = 0; i < n; i++)
    free(items[i]);
  free(items);
}

/* Appends the comma-separated items of value to *items. */
static ck_err split_list(const char *value, char ***items, size_t *n) {
  const char *p = value, *start, *end;
  char **ni;

  while (*p) {
    while (*p == ' ' || *p == '\t' || *p == ',')
      p++;
    if (*p == '\0')
      break;
    start = p;
    while (*p && *p != ',')
      p++;
    end = p;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
      end--;
    ni = realloc(*items, (*n + 1) * sizeof *ni);
    if (ni == NULL)
      return CK_ERR_NOMEM;
    *items = ni;
    ni[*n] = malloc((size_t)(end - start) + 1);
    if (ni[*n] == NULL)
      return CK_ERR_NOMEM;
    memcpy(ni[*n], start, (size_t)(end - start));
    ni[*n][end - start] = '\0';
    (*n)++;
  }
  return CK_OK;
}

/* Validates value against spec; fills num. Returns a message in why. */
static ck_err check_value(const ck_cfg_key *spec, const char *value,
                          int64_t *num, const char **why) {
  struct sockaddr_storage ss;
  ck_err rc = CK_OK;

  *num = 0;
  switch (spec->type) {
  case CK_CFG_STRING:
  case CK_CFG_LIST:
    return CK_OK;
  case CK_CFG_PATH:
    if (value[0] == '\0') {
      *why = "empty path";
      return CK_ERR_PARSE;
    }
    return CK_OK;
  case CK_CFG_INT:
    rc = parse_int(value, num);
    *why = "not an integer";
    break;
  case CK_CFG_BOOL:
    rc = parse_bool(value, num);
    *why = "not a boolean (true/false, yes/no, on/off, 1/0)";
    break;
  case CK_CFG_DURATION:
    rc = ck_duration_parse(value, num);
    *why = "not a duration (e.g. 90s, 15m, 12h, 30d, 2w)";
    break;
  case CK_CFG_SIZE:
    rc = ck_size_parse(value, num);
    *why = "not a size (e.g. 512, 64KiB, 1MiB, 1GiB)";
    break;
  case CK_CFG_ADDR:
    rc = ck_net_parse_addr(value, &ss, NULL);
    *why = "not an address (HOST:PORT or [IPv6]:PORT with a numeric host)";
    break;
  }
  if (rc != CK_OK)
    return CK_ERR_PARSE;
  if ((spec->min != 0 || spec->max != 0) &&
      (*num < spec->min || *num > spec->max)) {
    *why = "out of range";
    return CK_ERR_RANGE;
  }
  return CK_OK;
}

static ck_err add_entry(ck_config *cfg, const char *section, const char *key,
                        const char *value, int line, const ck_cfg_key *spec,
                        int64_t num) {
  cfg_entry *e;
  size_t i;
  int seen = 0;

  if (cfg->n == cfg->cap) {
    size_t ncap = cfg->cap ? cfg->cap * 2 : 16;
    cfg_entry *ne = realloc(cfg->e, ncap * sizeof *ne);
    if (ne == NULL)
      return CK_ERR_NOMEM;
    cfg->e = ne;
    cfg->cap = ncap;
  }
  e = &cfg->e[cfg->n];
  memset(e, 0, sizeof *e);
  e->section = strdup(section);
  e->key = strdup(key);
  e->value = strdup(value);
  if (e->section == NULL || e->key == NULL || e->value == NULL) {
    free(e->section);
    free(e->key);
    free(e->value);
    return CK_ERR_NOMEM;
  }
  e->line = line;
  e->spec = spec;
  e->num = num;
  cfg->n++;
  if (spec->type == CK_CFG_LIST && split_list(value, &e->items, &e->nitems) != CK_OK)
    return CK_ERR_NOMEM;
  for (i = 0; i < cfg->nsections; i++)
    if (strcmp(cfg->sections[i], section) == 0)
      seen = 1;
  if (!seen) {
    char **ns = realloc(cfg->sections, (cfg->nsections + 1) * sizeof *ns);
    if (ns == NULL)
      return CK_ERR_NOMEM;
    cfg->sections = ns;
    if ((ns[cfg->nsections] = strdup(section)) == NULL)
      return CK_ERR_NOMEM;
    cfg->nsections++;
  }
  return CK_OK;
}

static cfg_entry *find_entry(const ck_config *cfg, const char *section,
                             const char *key) {
  size_t i;

  for (i = 0; i < cfg->n; i++)
    if (strcmp(cfg->e[i].section, section) == 0 && strcmp(cfg->e[i].key, key) == 0)
      return &cfg->e[i];
  return NULL;
}

static int handler(void *user, const char *section, const char *key,
                   const char *value) {
  parse_state *ps = user;
  ck_config *cfg = ps->cfg;
  const ck_cfg_key *spec;
  const char *why = "";
  cfg_entry *prev;
  int64_t num;
  ck_err rc;

  if (ps->rc != CK_OK)
    return 1; /* keep only the first error */
  if (section[0] == '\0') {
    ps->rc = ck_setf(ps->err, CK_ERR_CONFIG,
                     "%s:%d: key '%s': outside any [section]", cfg->name,
                     ps->line, key);
    return 0;
  }
  spec = find_spec(cfg->schema, section, key);
  if (spec == NULL) {
    ps->rc = ck_setf(ps->err, CK_ERR_CONFIG, "%s:%d: [%s] %s: %s", cfg->name,
                     ps->line, section, key,
                     section_known(cfg->schema, section) ? "unknown key"
                                                         : "unknown section");
    return 0;
  }
  prev = find_entry(cfg, section, key);
  if (prev != NULL && spec->type == CK_CFG_LIST) {
    /* repeated list keys (and inih multi-line continuations) add up */
    if (split_list(value, &prev->items, &prev->nitems) != CK_OK) {
      ps->rc = ck_setf(ps->err, CK_ERR_NOMEM, "%s: out of memory", cfg->name);
      return 0;
    }
    return 1;
  }
  if (prev != NULL) {
    ps->rc = ck_setf(ps->err, CK_ERR_CONFIG,
                     "%s:%d: [%s] %s: set twice (first at line %d)", cfg->name,
                     ps->line, section, key, prev->line);
    return 0;
  }
  rc = check_value(spec, value, &num, &why);
  if (rc != CK_OK) {
    if (rc == CK_ERR_RANGE)
      ps->rc = ck_setf(ps->err, CK_ERR_CONFIG,
                       "%s:%d: [%s] %s: '%s' is out of range [%lld, %lld]",
                       cfg->name, ps->line, section, key, value,
                       (long long)spec->min, (long long)spec->max);
    else
      ps->rc = ck_setf(ps->err, CK_ERR_CONFIG, "%s:%d: [%s] %s: '%s' is %s",
                       cfg->name, ps->line, section, key, value, why);
    return 0;
  }
  if (add_entry(cfg, section, key, value, ps->line, spec, num) != CK_OK) {
    ps->rc = ck_setf(ps->err, CK_ERR_NOMEM, "%s: out of memory", cfg->name);
    return 0;
  }
  return 1;
}

/* inih line reader over a string; counts lines and rejects lines that do
 * not fit inih's buffer instead of letting them be split silently. */
static char *reader(char *str, int num, void *stream) {
  parse_state *ps = stream;
  const char *nl;
  size_t len;

  if (*ps->text == '\0')
    return NULL;
  ps->line++;
  nl = strchr(ps->text, '\n');
  len = nl ? (size_t)(nl - ps->text) + 1 : strlen(ps->text);
  if (len >= (size_t)num) {
    if (ps->rc == CK_OK)
      ps->rc = ck_setf(ps->err, CK_ERR_CONFIG,
                       "%s:%d: line longer than %d characters", ps->cfg->name,
                       ps->line, num - 2);
    ck_strlcpy(str, "\n", (size_t)num);
  } else {
    memcpy(str, ps->text, len);
    str[len] = '\0';
  }
  ps->text += len;
  return str;
}

void ck_config_free(ck_config *cfg) {
  size_t i;

  if (cfg == NULL)
    return;
  for (i = 0; i < cfg->n; i++) {
    free(cfg->e[i].section);
    free(cfg->e[i].key);
    free(cfg->e[i].value);
    free_items(cfg->e[i].items, cfg->e[i].nitems);
  }
  for (i = 0; i < cfg->nsections; i++)
    free(cfg->sections[i]);
  free(cfg->sections);
  while (cfg->matches != NULL) {
    sec_match *m = cfg->matches;
    cfg->matches = m->next;
    free(m->pattern);
    free(m->names);
    free(m);
  }
  pthread_mutex_destroy(&cfg->mu);
  free(cfg->e);
  free(cfg->name);
  free(cfg);
}

ck_err ck_config_new_empty(const ck_cfg_key *schema, ck_config **out) {
  ck_config *cfg = calloc(1, sizeof *cfg);

  *out = NULL;
  if (cfg == NULL || (cfg->name = strdup("(defaults)")) == NULL) {
    free(cfg);
    return CK_ERR_NOMEM;
  }
  if (pthread_mutex_init(&cfg->mu, NULL) != 0) {
    free(cfg->name);
    free(cfg);
    return CK_ERR_NOMEM;
  }
  cfg->schema = schema;
  *out = cfg;
  return CK_OK;
}

ck_err ck_config_load_string(const char *name, const char *text,
                             const ck_cfg_key *schema, ck_config **out,
                             ck_errctx *err) {
  parse_state ps;
  ck_config *cfg = NULL;
  ck_err rc;
  int r;

  *out = NULL;
  if ((rc = ck_config_new_empty(schema, &cfg)) != CK_OK)
    return ck_failf(err, rc, "%s: out of memory", name);
  free(cfg->name);
  if ((cfg->name = strdup(name)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "%s: out of memory", name);
    goto out;
  }
  memset(&ps, 0, sizeof ps);
  ps.cfg = cfg;
  ps.text = text;
  ps.err = err;
  r = ini_parse_stream(reader, &ps, handler, &ps);
  if (ps.rc != CK_OK) {
    rc = ps.rc;
    goto out;
  }
  if (r > 0) {
    rc = ck_setf(err, CK_ERR_CONFIG,
                 "%s:%d: syntax error (expected [section] or key = value)",
                 name, r);
    goto out;
  }
  if (r < 0) {
    rc = ck_setf(err, CK_ERR_NOMEM, "%s: parser failed", name);
    goto out;
  }
  *out = cfg;
  cfg = NULL;
out:
  ck_config_free(cfg);
  return rc;
}

ck_err ck_config_load(const char *path, const ck_cfg_key *schema,
                      ck_config **out, ck_errctx *err) {
  uint8_t *buf = NULL;
  size_t len;
  ck_err rc;

  *out = NULL;
  rc = ck_fs_read_file(path, 1024 * 1024, &buf, &len, err);
  if (rc != CK_OK)
    return rc;
  if (memchr(buf, '\0', len) != NULL) {
    free(buf);
    return ck_setf(err, CK_ERR_CONFIG, "%s: contains a NUL byte", path);
  }
  rc = ck_config_load_string(path, (const char *)buf, schema, out, err);
  free(buf);
  return rc;
}

static const ck_cfg_key *lookup(const ck_config *cfg, const char *section,
                                const char *key, cfg_entry **e) {
  *e = find_entry(cfg, section, key);
  return find_spec(cfg->schema, section, key);
}

static ck_err get_num_typed(const ck_config *cfg, const char *section,
                            const char *key, int64_t *out) {
  const char *why;
  cfg_entry *e;
  const ck_cfg_key *spec = lookup(cfg, section, key, &e);

  if (spec == NULL)
    return CK_ERR_INVAL;
  if (e != NULL) {
    *out = e->num;
    return CK_OK;
  }
  if (spec->def == NULL)
    return CK_ERR_NOENT;
  return check_value(spec, spec->def, out, &why);
}

ck_err ck_config_str(const ck_config *cfg, const char *section,
                     const char *key, const char **out) {
  cfg_entry *e;
  const ck_cfg_key *spec = lookup(cfg, section, key, &e);

  if (spec == NULL)
    return CK_ERR_INVAL;
  if (e != NULL) {
    *out = e->value;
    return CK_OK;
  }
  if (spec->def == NULL)
    return CK_ERR_NOENT;
  *out = spec->def;
  return CK_OK;
}

ck_err ck_config_int(const ck_config *cfg, const char *section,
                     const char *key, int64_t *out) {
  return get_num_typed(cfg, section, key, out);
}

ck_err ck_config_num(const ck_config *cfg, const char *section,
                     const char *key, int64_t *out) {
  return get_num_typed(cfg, section, key, out);
}

ck_err ck_config_bool(const ck_config *cfg, const char *section,
                      const char *key, int *out) {
  int64_t v;
  ck_err rc = get_num_typed(cfg, section, key, &v);

  if (rc == CK_OK)
    *out = v != 0;
  return rc;
}

ck_err ck_config_list(const ck_config *cfg, const char *section,
                      const char *key, const char *const **items, size_t *n) {
  cfg_entry *e;
  const ck_cfg_key *spec = lookup(cfg, section, key, &e);

  if (spec == NULL || spec->type != CK_CFG_LIST)
    return CK_ERR_INVAL;
  if (e == NULL) {
    *items = NULL;
    *n = 0;
    return spec->def == NULL ? CK_ERR_NOENT : CK_OK;
  }
  *items = (const char *const *)e->items;
  *n = e->nitems;
  return CK_OK;
}

ck_err ck_config_sections(const ck_config *cfg, const char *pattern,
                          const char *const **names, size_t *n) {
  ck_config *mut = (ck_config *)cfg; /* the match cache only */
  sec_match *m;
  ck_err rc = CK_OK;
  size_t i;

  pthread_mutex_lock(&mut->mu);
  for (m = mut->matches; m != NULL; m = m->next)
    if (strcmp(m->pattern, pattern) == 0)
      goto out;
  if ((m = calloc(1, sizeof *m)) == NULL ||
      (m->names = calloc(cfg->nsections + 1, sizeof *m->names)) == NULL ||
      (m->pattern = strdup(pattern)) == NULL) {
    if (m != NULL)
      free(m->names);
    free(m);
    m = NULL;
    rc = CK_ERR_NOMEM;
    goto out;
  }
  for (i = 0; i < cfg->nsections; i++)
    if (section_matches(pattern, cfg->sections[i]))
      m->names[m->n++] = cfg->sections[i];
  m->next = mut->matches;
  mut->matches = m;
out:
  pthread_mutex_unlock(&mut->mu);
  if (m != NULL) {
    *names = m->names;
    *n = m->n;
  }
  return rc;
}

const char *ck_config_where(const ck_config *cfg, const char *section,
                            const char *key, char *buf, size_t len) {
  cfg_entry *e = find_entry(cfg, section, key);

  if (e == NULL)
    snprintf(buf, len, "%s", cfg->name);
  else
    snprintf(buf, len, "%s:%d", cfg->name, e->line);
  return buf;
}
