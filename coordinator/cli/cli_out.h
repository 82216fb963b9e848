/* cli_out.h — how the CLI prints: error lines on stderr, the API's JSON for
 * --json, aligned tables and "label: value" blocks for people.
 *
 * Everything that came from the server goes through a cleaner before it
 * reaches a terminal: control characters and malformed UTF-8 become '?', so
 * a hostile certificate subject cannot move the cursor or retitle the
 * window. */
#ifndef CK_CLI_OUT_H
#define CK_CLI_OUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "coordinator/cli/cli.h"

/* Prints "certkeeper: <command>: <message>\n" on stderr (message
 * cleaned). */
void ck_cli_errorf(const ck_cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Copies s into out (outlen > 0) with control characters and invalid UTF-8
 * replaced by '?'; newlines are kept when keep_nl. Truncates to fit (at a
 * character boundary). Returns out. */
char *ck_cli_clean(const char *s, int keep_nl, char *out, size_t outlen);

/* Writes s to f cleaned as above (no length limit). */
void ck_cli_out_clean(FILE *f, const char *s, int keep_nl);

/* Prints j to stdout as indented JSON and a newline. Returns CK_CLI_OK, or
 * CK_CLI_LOCAL_IO when stdout fails. */
int ck_cli_out_json(const json_t *j);

/* Renders a JSON value as one table cell / field: strings as they are,
 * numbers, true/false as yes/no, null or "" as "-", arrays of scalars
 * joined with ", ", other values as compact JSON. Cleaned; returns buf. */
const char *ck_cli_fmt_value(const json_t *v, char *buf, size_t len);

/* An RFC 3339 expiry time as "2026-12-23 (in 30d)" / "(expired 3d ago)". */
const char *ck_cli_fmt_expiry(const char *rfc3339, char *buf, size_t len);

/* A table column: header and the item's key; fn (optional) renders the
 * cell instead of ck_cli_fmt_value(item[key]). */
typedef const char *(*ck_cli_cell_fn)(const json_t *item, char *buf,
                                      size_t len);
typedef struct ck_cli_col {
  const char *header;
  const char *key;
  ck_cli_cell_fn fn;
} ck_cli_col;

/* A table printed page by page: column widths are fixed by the first page
 * (and the headers), so `--all` can stream millions of rows. */
typedef struct ck_cli_table {
  const ck_cli_col *cols; /* borrowed, ended by header NULL */
  size_t ncols;
  size_t width[16];
  int started;            /* header printed */
  size_t rows;            /* rows printed so far */
} ck_cli_table;

void ck_cli_table_init(ck_cli_table *t, const ck_cli_col *cols);

/* Prints the items (a JSON array of objects) as rows on stdout, preceded by
 * the header on the first call. */
void ck_cli_table_page(ck_cli_table *t, const json_t *items);

/* Prints an object as "label:  value" lines on stdout: first the keys of
 * order (NULL-ended; missing ones shown as "-"), then every other key not
 * in skip (NULL-ended; may be NULL). Labels are the keys with '_' shown as
 * ' '. */
void ck_cli_out_object(const json_t *obj, const char *const *order,
                       const char *const *skip);

#endif
