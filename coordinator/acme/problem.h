/* problem.h — RFC 8555 §6.7 problem documents (application/problem+json,
 * RFC 7807): what every refusal of the ACME server carries. A problem is
 * plain data so the pure parsers (jws.c) can fill it and the service turns
 * it into a response. */
#ifndef CK_COORD_ACME_PROBLEM_H
#define CK_COORD_ACME_PROBLEM_H

#include <jansson.h>

/* type is the part after "urn:ietf:params:acme:error:" ("badNonce"). */
typedef struct ck_acme_problem {
  int status;           /* HTTP status, 0 = no problem */
  const char *type;     /* static string */
  char detail[512];     /* for the client; never secrets */
  char identifier[300]; /* optional: the identifier a subproblem is about */
} ck_acme_problem;

/* Sets p (status, type, printf detail). Returns 0 so callers can write
 * `return ck_acme_fail(p, ...)` where 0 means "refused". */
int ck_acme_fail(ck_acme_problem *p, int status, const char *type,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The problem document as JSON text (malloc'ed), with the full type URN. */
char *ck_acme_problem_json(const ck_acme_problem *p);

/* The JSON object of a problem (new reference), for "error" members of
 * challenges, authorizations and orders. */
json_t *ck_acme_problem_obj(const char *type, const char *detail);

#define CK_ACME_ERR_PREFIX "urn:ietf:params:acme:error:"

#endif
