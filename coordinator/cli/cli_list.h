/* cli_list.h — listings that page with next_cursor (cert list, audit
 * list, ...): one page, or with --all every page, printed as a table or as
 * the API's JSON. Rows are printed as pages arrive, so `--all` over a
 * million certificates holds one page in memory, not the inventory. */
#ifndef CK_CLI_LIST_H
#define CK_CLI_LIST_H

#include "coordinator/cli/cli.h"
#include "coordinator/cli/cli_api.h"
#include "coordinator/cli/cli_out.h"

/* GETs base (a path with its filters; borrowed) and prints the "items" of
 * the answer with cols, or the answer's JSON with --json. With all, follows
 * next_cursor to the end (--json then streams one {"items": [...],
 * "next_cursor": null} object); without it, a further page is announced on
 * stderr with its cursor. Returns an exit code. */
int ck_cli_list_pages(ck_cli *cli, const ck_cli_path *base,
                      const ck_cli_col *cols, int all);

/* The same where the page cursor is passed back as query parameter
 * cursor_param ("after" for the audit trail) and the first page starts at
 * first (NULL: the beginning). */
int ck_cli_list_pages_by(ck_cli *cli, const ck_cli_path *base,
                         const ck_cli_col *cols, int all,
                         const char *cursor_param, const char *first);

/* 1 when v is NULL or a page size 1..1000; else prints why and returns 0. */
int ck_cli_list_limit_ok(ck_cli *cli, const char *v);

#endif
