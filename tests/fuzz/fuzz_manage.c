/* fuzz_manage.c — libFuzzer target for the parsers of agent/manage/: the
 * reload method text (ck_reload_parse, config input), pid file contents
 * (ck__reload_pid_parse, read from a file another program writes) and the
 * install journal (ck__target_journal_parse, read back after a crash). The
 * same bytes go to all three. Any crash, leak or sanitizer report is a bug;
 * error returns are expected. Seeds: tests/fuzz/corpus/manage/. */
#include <stdlib.h>
#include <string.h>

#include "agent/manage/reload.h"
#include "agent/manage/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  ck_reload r;
  ck_errctx err = CK_ERRCTX_INIT;
  pid_t pid = 0;
  size_t n = 0, i;

  if (text == NULL)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  memset(&r, 0, sizeof r);
  if (ck_reload_parse(text, &r, &err) == CK_OK) {
    for (i = 0; i < r.argc; i++)
      sink += strlen(r.argv[i]);
    if (r.pidfile != NULL)
      sink += strlen(r.pidfile);
    sink += (size_t)r.signo;
  } else {
    sink += strlen(err.msg);
  }
  ck_reload_free(&r);
  ck_errctx_clear(&err);
  if (ck__reload_pid_parse(data, size, "fuzz", &pid, &err) == CK_OK)
    sink += (size_t)pid;
  ck_errctx_clear(&err);
  if (ck__target_journal_parse((const char *)data, size, &n, &err) == CK_OK)
    sink += n;
  free(text);
  return 0;
}
