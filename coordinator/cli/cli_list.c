/* cli_list.c — listings that page with next_cursor (cli_list.h). */
#include "coordinator/cli/cli_list.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/cli/cli_out.h"

#define PAGE_MAX 1000

int ck_cli_list_pages(ck_cli *cli, const ck_cli_path *base,
                      const ck_cli_col *cols, int all) {
  return ck_cli_list_pages_by(cli, base, cols, all, "cursor", NULL);
}

/* next_cursor as text: a string, or a number (the audit trail's last seq);
 * NULL when there is no further page. */
static const char *next_of(const json_t *ans, char *buf, size_t len) {
  const json_t *n = json_is_object(ans) ? json_object_get(ans, "next_cursor")
                                        : NULL;

  if (json_is_string(n) && json_string_length(n) > 0)
    return json_string_value(n);
  if (json_is_integer(n)) {
    snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(n));
    return buf;
  }
  return NULL;
}

int ck_cli_list_pages_by(ck_cli *cli, const ck_cli_path *base,
                         const ck_cli_col *cols, int all,
                         const char *cursor_param, const char *first) {
  ck_cli_table table;
  ck_cli_answer ans = {0};
  ck_cli_path path = {0};
  char *cursor = NULL, nbuf[32];
  const char *next;
  size_t i, total = 0;
  const json_t *items, *it;
  int rc = CK_CLI_OK, pages = 0;

  ck_cli_table_init(&table, cols);
  if (first != NULL && (cursor = strdup(first)) == NULL) {
    ck_cli_errorf(cli, "out of memory");
    return CK_CLI_LOCAL_IO;
  }
  for (;;) {
    ck_cli_path_free(&path);
    ck_cli_path_lit(&path, base->s != NULL ? base->s : "");
    path.nparams = base->nparams;
    ck_cli_path_param(&path, cursor_param, cursor);
    if ((rc = ck_cli_api_call(cli, "GET", &path, NULL, NULL, &ans)) !=
        CK_CLI_OK)
      break;
    /* {"items": [...], "next_cursor": ...}; a bare array is taken too */
    items = json_is_array(ans.json) ? ans.json
                                    : json_object_get(ans.json, "items");
    if (!json_is_array(items)) {
      ck_cli_errorf(cli, "unexpected answer: no \"items\" array");
      rc = CK_CLI_SERVER;
      break;
    }
    next = next_of(ans.json, nbuf, sizeof nbuf);
    if (cli->json && (!all || (pages == 0 && next == NULL))) {
      rc = ck_cli_out_json(ans.json);
      break;
    }
    if (cli->json) {
      if (pages == 0)
        fputs("{\"items\": [", stdout);
      json_array_foreach(items, i, it) {
        fputs(total++ ? ",\n  " : "\n  ", stdout);
        json_dumpf(it, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
      }
    } else {
      ck_cli_table_page(&table, items);
    }
    pages++;
    if (next == NULL) {
      if (cli->json)
        fputs("\n], \"next_cursor\": null}\n", stdout);
      break;
    }
    if (!all) {
      fflush(stdout);
      fprintf(stderr, "certkeeper: more results: add --all, or --%s ",
              strcmp(cursor_param, "after") == 0 ? "after" : "cursor");
      ck_cli_out_clean(stderr, next, 0);
      fputc('\n', stderr);
      break;
    }
    if (cursor != NULL && strcmp(cursor, next) == 0) {
      ck_cli_errorf(cli, "the server repeated cursor %s; stopping", next);
      rc = CK_CLI_SERVER;
      break;
    }
    free(cursor);
    if ((cursor = strdup(next)) == NULL) {
      ck_cli_errorf(cli, "out of memory");
      rc = CK_CLI_LOCAL_IO;
      break;
    }
    ck_cli_answer_clear(&ans);
  }
  if (rc != CK_CLI_OK && cli->json && all && pages > 0)
    fputs("\n]}\n", stdout); /* keep what was printed parseable */
  free(cursor);
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

int ck_cli_list_limit_ok(ck_cli *cli, const char *v) {
  char *end;
  long n;

  if (v == NULL)
    return 1;
  errno = 0;
  n = strtol(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || n < 1 || n > PAGE_MAX) {
    ck_cli_errorf(cli, "--limit '%s': not a number between 1 and %d", v,
                  PAGE_MAX);
    return 0;
  }
  return 1;
}

