/* cli_args.h — the command-line option parser of the `certkeeper` CLI.
 *
 * Every command declares its options in a table (long names only: "--csr
 * FILE", "--force"); the parser accepts "--name value" and "--name=value",
 * options and positional arguments in any order, "--" to end options, and
 * "-h" as "--help". The same tables generate each command's --help text, so
 * the help can never drift from what is accepted. Values are borrowed from
 * argv; nothing is copied. */
#ifndef CK_CLI_ARGS_H
#define CK_CLI_ARGS_H

#include <stddef.h>
#include <stdio.h>

/* One accepted option. A table is an array ended by an entry with name
 * NULL. */
typedef struct ck_cli_opt {
  const char *name; /* without the dashes: "csr" */
  const char *arg;  /* metavariable shown in help ("FILE"); NULL: a flag */
  int multi;        /* 1: may be repeated, every value kept */
  int required;     /* 1: the command refuses to run without it */
  const char *help; /* one line */
} ck_cli_opt;

/* The result of parsing. Owned by the caller (ck_cli_args_free). */
typedef struct ck_cli_args ck_cli_args;

/* Creates an empty result for the given tables (global options, then the
 * command's; either may be NULL). Returns NULL on out-of-memory. The tables
 * are borrowed and must outlive the result. */
ck_cli_args *ck_cli_args_new(const ck_cli_opt *global, const ck_cli_opt *cmd);

void ck_cli_args_free(ck_cli_args *a);

/* Parses argv[0..argc) into a. Positional words are appended to the
 * positional list, unless stop_at_word is 1: then parsing stops at the first
 * positional word and *consumed says how many entries were used. Returns 0,
 * or -1 with a one-line message in why (unknown option, missing value,
 * value given to a flag, a non-multi option given twice). */
int ck_cli_args_parse(ck_cli_args *a, int argc, char **argv, int stop_at_word,
                      int *consumed, char *why, size_t why_len);

/* Checks that every required option of the command table is present.
 * Returns 0, or -1 naming the first one missing in why. */
int ck_cli_args_check_required(const ck_cli_args *a, char *why,
                               size_t why_len);

/* The last value of option name, or NULL when absent. For a flag that is
 * set, returns "" (so a non-NULL result means "given"). */
const char *ck_cli_args_get(const ck_cli_args *a, const char *name);

/* 1 when option name (flag or valued) was given. */
int ck_cli_args_has(const ck_cli_args *a, const char *name);

/* Every value of a repeatable option, in order; *n of them (0 when
 * absent). The array is borrowed from a. */
const char *const *ck_cli_args_all(const ck_cli_args *a, const char *name,
                                   size_t *n);

/* Positional arguments: *n of them, borrowed from a. */
const char *const *ck_cli_args_positional(const ck_cli_args *a, size_t *n);

/* Writes the option lines of a table ("  --csr FILE   the CSR...") to f. */
void ck_cli_args_help(FILE *f, const ck_cli_opt *opts);

#endif
