/* cli_args.c — long-option parser driven by per-command tables
 * (cli_args.h). Each option owns a slot holding the values it was given;
 * lookups are linear because a command has a dozen options at most. */
#include "coordinator/cli/cli_args.h"

#include <stdlib.h>
#include <string.h>

typedef struct slot {
  const ck_cli_opt *opt; /* borrowed from a table */
  const char **vals;     /* borrowed from argv */
  size_t n;
} slot;

struct ck_cli_args {
  const ck_cli_opt *cmd; /* the command's table (required checks) */
  slot *slots;
  size_t nslots;
  const char **pos; /* positional words, borrowed from argv */
  size_t npos;
};

static size_t table_len(const ck_cli_opt *t) {
  size_t n = 0;

  while (t != NULL && t[n].name != NULL)
    n++;
  return n;
}

ck_cli_args *ck_cli_args_new(const ck_cli_opt *global, const ck_cli_opt *cmd) {
  ck_cli_args *a = calloc(1, sizeof *a);
  size_t ng = table_len(global), nc = table_len(cmd), i;

  if (a == NULL)
    return NULL;
  a->cmd = cmd;
  a->nslots = ng + nc;
  a->slots = calloc(a->nslots + 1, sizeof *a->slots);
  if (a->slots == NULL) {
    free(a);
    return NULL;
  }
  /* command options first, so they win a (mistaken) name clash */
  for (i = 0; i < nc; i++)
    a->slots[i].opt = &cmd[i];
  for (i = 0; i < ng; i++)
    a->slots[nc + i].opt = &global[i];
  return a;
}

void ck_cli_args_free(ck_cli_args *a) {
  size_t i;

  if (a == NULL)
    return;
  for (i = 0; i < a->nslots; i++)
    free(a->slots[i].vals);
  free(a->slots);
  free(a->pos);
  free(a);
}

static slot *find_slot(const ck_cli_args *a, const char *name, size_t len) {
  size_t i;

  for (i = 0; i < a->nslots; i++) {
    const char *n = a->slots[i].opt->name;
    if (strlen(n) == len && strncmp(n, name, len) == 0)
      return &a->slots[i];
  }
  return NULL;
}

static int push(const char ***arr, size_t *n, const char *v) {
  const char **p = realloc((void *)*arr, (*n + 1) * sizeof *p);

  if (p == NULL)
    return -1;
  p[(*n)++] = v;
  *arr = p;
  return 0;
}

int ck_cli_args_parse(ck_cli_args *a, int argc, char **argv, int stop_at_word,
                      int *consumed, char *why, size_t why_len) {
  int i, only_pos = 0;

  for (i = 0; i < argc; i++) {
    const char *w = argv[i], *name, *eq, *val = NULL;
    size_t nlen;
    slot *s;

    if (only_pos || w[0] != '-' || strcmp(w, "-") == 0) {
      if (stop_at_word)
        break;
      if (push(&a->pos, &a->npos, w) != 0)
        goto nomem;
      continue;
    }
    if (strcmp(w, "--") == 0) {
      if (stop_at_word) {
        i++;
        break;
      }
      only_pos = 1;
      continue;
    }
    if (strcmp(w, "-h") == 0) {
      name = "help";
      nlen = 4;
    } else if (w[1] != '-') {
      snprintf(why, why_len, "unknown option '%s' (options are long: --name)",
               w);
      return -1;
    } else {
      name = w + 2;
      eq = strchr(name, '=');
      nlen = eq != NULL ? (size_t)(eq - name) : strlen(name);
      if (eq != NULL)
        val = eq + 1;
    }
    s = find_slot(a, name, nlen);
    if (s == NULL) {
      snprintf(why, why_len, "unknown option '--%.*s'", (int)nlen, name);
      return -1;
    }
    if (s->opt->arg == NULL) {
      if (val != NULL) {
        snprintf(why, why_len, "option '--%s' takes no value", s->opt->name);
        return -1;
      }
      val = "";
    } else if (val == NULL) {
      if (i + 1 >= argc) {
        snprintf(why, why_len, "option '--%s' needs a value (%s)",
                 s->opt->name, s->opt->arg);
        return -1;
      }
      val = argv[++i];
    }
    if (s->n > 0 && !s->opt->multi && s->opt->arg != NULL) {
      snprintf(why, why_len, "option '--%s' given more than once",
               s->opt->name);
      return -1;
    }
    if (push(&s->vals, &s->n, val) != 0)
      goto nomem;
  }
  if (consumed != NULL)
    *consumed = i;
  return 0;
nomem:
  snprintf(why, why_len, "out of memory");
  return -1;
}

int ck_cli_args_check_required(const ck_cli_args *a, char *why,
                               size_t why_len) {
  size_t i;

  for (i = 0; i < a->nslots; i++)
    if (a->slots[i].opt->required && a->slots[i].n == 0) {
      snprintf(why, why_len, "missing required option --%s %s",
               a->slots[i].opt->name,
               a->slots[i].opt->arg != NULL ? a->slots[i].opt->arg : "");
      return -1;
    }
  return 0;
}

const char *ck_cli_args_get(const ck_cli_args *a, const char *name) {
  slot *s = find_slot(a, name, strlen(name));

  return s != NULL && s->n > 0 ? s->vals[s->n - 1] : NULL;
}

int ck_cli_args_has(const ck_cli_args *a, const char *name) {
  return ck_cli_args_get(a, name) != NULL;
}

const char *const *ck_cli_args_all(const ck_cli_args *a, const char *name,
                                   size_t *n) {
  slot *s = find_slot(a, name, strlen(name));

  *n = s != NULL ? s->n : 0;
  return s != NULL ? s->vals : NULL;
}

const char *const *ck_cli_args_positional(const ck_cli_args *a, size_t *n) {
  *n = a->npos;
  return a->pos;
}

void ck_cli_args_help(FILE *f, const ck_cli_opt *opts) {
  size_t i, w = 0;
  char buf[96];

  for (i = 0; opts != NULL && opts[i].name != NULL; i++) {
    size_t l = strlen(opts[i].name) + 2 +
               (opts[i].arg != NULL ? strlen(opts[i].arg) + 1 : 0);
    if (l > w)
      w = l;
  }
  for (i = 0; opts != NULL && opts[i].name != NULL; i++) {
    snprintf(buf, sizeof buf, "--%s%s%s", opts[i].name,
             opts[i].arg != NULL ? " " : "",
             opts[i].arg != NULL ? opts[i].arg : "");
    fprintf(f, "  %-*s  %s%s%s\n", (int)w, buf, opts[i].help,
            opts[i].required ? " (required)" : "",
            opts[i].multi ? " (repeatable)" : "");
  }
}
