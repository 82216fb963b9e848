/* msg.c — helpers around decoded messages: the `error` reply a session sends
 * when a frame fails to decode, wiping secrets, and field path formatting for
 * error messages. */
#include <stdio.h>
#include <string.h>

#include "common/wire/wire.h"
#include "common/wire/wire_int.h"

static size_t path_put(const ck__wire_path *p, char *buf, size_t len) {
  size_t at = 0;
  int n;

  if (p == NULL)
    return 0;
  at = path_put(p->up, buf, len);
  if (at >= len)
    return at;
  if (p->name != NULL)
    n = snprintf(buf + at, len - at, "%s%s", at > 0 ? "." : "", p->name);
  else
    n = snprintf(buf + at, len - at, "[%zu]", p->index);
  if (n < 0)
    return at;
  return at + (size_t)n;
}

const char *ck__wire_path_format(const ck__wire_path *p, char *buf,
                                 size_t len) {
  if (len == 0)
    return buf;
  buf[0] = '\0';
  path_put(p, buf, len);
  return buf;
}

void ck_wire_error_reply(ck_wire_msg *reply, const ck_wire_msg *bad,
                         const ck_errctx *err) {
  ck_err code = err != NULL && err->code != CK_OK ? err->code : CK_ERR_INTERNAL;

  memset(reply, 0, sizeof *reply);
  reply->type = CK_WIRE_ERROR;
  reply->v = CK_WIRE_VERSION;
  reply->id = bad != NULL && bad->has_id ? bad->id : 0;
  reply->has_id = true;
  reply->u.error.code = (int32_t)code;
  reply->u.error.message = err != NULL ? ck_errctx_msg(err) : ck_strerror(code);
  if (code == CK_ERR_WIRE_TOO_BIG) {
    reply->u.error.fatal = true;
    reply->u.error.has_fatal = true;
  }
}

static void wipe_struct(const ck__wire_schema *s, char *p) {
  size_t i, k, n;

  for (i = 0; i < s->n; i++) {
    const ck__wire_field *f = &s->fields[i];

    if ((f->flags & CK__WF_SECRET) && f->kind == CK__WK_STR) {
      char *str = *(char **)(p + f->off);

      if (str != NULL)
        ck_wipe(str, strlen(str));
    } else if ((f->flags & CK__WF_SECRET) && f->kind == CK__WK_BIN) {
      ck_wire_bytes *b = (ck_wire_bytes *)(p + f->off);

      if (b->data != NULL)
        ck_wipe((void *)(uintptr_t)b->data, b->len);
    } else if (f->kind == CK__WK_STRUCT) {
      wipe_struct(f->sub, p + f->off);
    } else if (f->kind == CK__WK_STRUCTV) {
      char *base = *(char **)(p + f->off);

      n = *(size_t *)(p + f->n_off);
      for (k = 0; base != NULL && k < n; k++)
        wipe_struct(f->sub, base + k * f->sub->size);
    }
  }
}

void ck_wire_msg_wipe_secrets(ck_wire_msg *m) {
  const ck__wire_schema *s = m != NULL ? ck__wire_schema_of(m->type) : NULL;

  if (s != NULL)
    wipe_struct(s, ck__wire_payload(m));
}
