/* problem.c — RFC 8555 problem documents (problem.h). */
#include "coordinator/acme/problem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ck_acme_fail(ck_acme_problem *p, int status, const char *type,
                 const char *fmt, ...) {
  va_list ap;

  if (p == NULL)
    return 0;
  p->status = status;
  p->type = type;
  va_start(ap, fmt);
  vsnprintf(p->detail, sizeof p->detail, fmt, ap);
  va_end(ap);
  return 0;
}

json_t *ck_acme_problem_obj(const char *type, const char *detail) {
  char urn[160];

  snprintf(urn, sizeof urn, "%s%s", CK_ACME_ERR_PREFIX, type);
  return json_pack("{s:s,s:s}", "type", urn, "detail",
                   detail != NULL ? detail : "");
}

char *ck_acme_problem_json(const ck_acme_problem *p) {
  json_t *o = ck_acme_problem_obj(p->type != NULL ? p->type : "serverInternal",
                                  p->detail);
  char *s = NULL;

  if (o == NULL)
    return NULL;
  json_object_set_new(o, "status", json_integer(p->status));
  if (p->identifier[0] != '\0') {
    json_t *sub = ck_acme_problem_obj(p->type, p->detail);
    json_object_set_new(
        sub, "identifier",
        json_pack("{s:s,s:s}", "type", "dns", "value", p->identifier));
    json_object_set_new(o, "subproblems", json_pack("[o]", sub));
  }
  s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return s;
}
