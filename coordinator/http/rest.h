/* rest.h — internals shared by the REST API service files (svc_rest*.c).
 *
 * The REST API (docs/api.md) runs each request on the thread pool: the
 * handler authenticates the bearer token, reads or writes the store and
 * builds the JSON answer off the loop; the after-callback sends it. A
 * rest_call carries what the work computed to the loop. */
#ifndef CK_COORD_HTTP_REST_H
#define CK_COORD_HTTP_REST_H

#include <jansson.h>

#include "common/net/http.h"
#include "coordinator/core/coord_rt.h"

/* Roles of API tokens, ordered by nothing: checks name them. */
typedef enum ck_role {
  CK_API_NONE = 0,
  CK_API_ADMIN,
  CK_API_OPERATOR,
  CK_API_APPROVER,
  CK_API_AUDITOR,
  CK_API_OWNER
} ck_role;

/* Role bit sets for route declarations. */
#define CK_R(role) (1u << (role))
#define CK_R_ANY                                                               \
  (CK_R(CK_API_ADMIN) | CK_R(CK_API_OPERATOR) | CK_R(CK_API_APPROVER) |     \
   CK_R(CK_API_AUDITOR) | CK_R(CK_API_OWNER))
#define CK_R_OPS (CK_R(CK_API_ADMIN) | CK_R(CK_API_OPERATOR))

const char *ck_role_name(ck_role r);
ck_role ck_role_parse(const char *s);

/* One REST call in flight. */
typedef struct rest_call {
  ck_coord_rt *rt;
  ck_http_req *req;
  /* authenticated caller */
  ck_role role;
  char actor[160];  /* "token:<name>" */
  char owner[128];  /* for role owner */
  /* the answer, built by the work callback */
  int status;
  char *body;       /* malloc'ed JSON text */
  size_t body_len;
  const char *ctype;
  char location[256];
} rest_call;

/* A REST handler runs on the thread pool and fills c->status/c->body
 * (rest_json / rest_problem). segs are the path segments after /api/v1/. */
typedef void (*rest_fn)(rest_call *c, char **segs, int nsegs);

/* Sets the answer to a JSON value (stolen: decref'ed here). */
void rest_json(rest_call *c, int status, json_t *v);

/* Sets an RFC 9457 problem answer: type is the suffix of
 * urn:certkeeper:problem: ("policy-violation"), detail the human text. */
void rest_problem(rest_call *c, int status, const char *type,
                  const char *detail);
void rest_problemf(rest_call *c, int status, const char *type,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Maps a ck_err from the store or issuance to a problem answer. */
void rest_problem_err(rest_call *c, ck_err rc, const char *msg);

/* Parses the request body as a JSON object; on failure sets a 400/415
 * problem and returns NULL. The caller decrefs. */
json_t *rest_body_object(rest_call *c);

/* Gets a string member; NULL when absent. Sets a 400 problem and returns
 * NULL with *bad = 1 when present but not a string. */
const char *rest_str(rest_call *c, json_t *o, const char *key, int *bad);

/* Query parameter (decoded) or NULL. */
const char *rest_query(rest_call *c, const char *name);

/* Splits text at every sep ("\n", "; ") into a JSON array of strings;
 * "" gives []. */
json_t *rest_split(const char *text, const char *sep);

/* Reads the limit and cursor query parameters into *pg (zeroed first).
 * Returns 0 with a 400 problem set for a bad limit. */
int rest_page(rest_call *c, ck_store_page *pg);

/* Formats epoch seconds as RFC 3339 into a jansson string. */
json_t *rest_time(int64_t t);

/* Records an audit event for an API action inside write w. */
ck_err rest_audit(ck_store_write *w, rest_call *c, const char *action,
                  const char *otype, const char *oid, json_t *details,
                  ck_errctx *err);

/* The resources (one file each). */
void ck__rest_certs(rest_call *c, char **segs, int nsegs);
void ck__rest_etokens(rest_call *c, char **segs, int nsegs);
void ck__rest_agents(rest_call *c, char **segs, int nsegs);
void ck__rest_profiles(rest_call *c, char **segs, int nsegs);
void ck__rest_owners(rest_call *c, char **segs, int nsegs);
void ck__rest_cas(rest_call *c, char **segs, int nsegs);
void ck__rest_apitokens(rest_call *c, char **segs, int nsegs);
void ck__rest_audit(rest_call *c, char **segs, int nsegs);
/* agents/{id}/commands: push a command to a connected agent, list the
 * commands sent and their answers (rest_commands.c). */
void ck__rest_agent_commands(rest_call *c, char **segs, int nsegs);

/* Approval requests and policy explain (rest_requests.c). */
void ck__rest_requests(rest_call *c, char **segs, int nsegs);
void ck__rest_policy(rest_call *c, char **segs, int nsegs);

/* ACME operators' side: EAB keys, accounts, directories (rest_acme.c). */
void ck__rest_acme(rest_call *c, char **segs, int nsegs);

/* The issuance fields shared by POST /certificates and POST /requests
 * (rest_certs.c). read: "profile", "csr" and "owner" of body into *in,
 * "validity" into *validity and, when just is not NULL, "justification"
 * into *just (all borrowed from body); 0 after answering 400 for a field
 * that is not a string, else 1. who: parses validity (NULL: the profile's
 * default) into in->validity and sets the caller's API token as the
 * requester; 0 after answering 400 when validity is not a positive
 * duration, else 1. */
struct ck_issue_in;
int ck__rest_issue_read(rest_call *c, json_t *body, struct ck_issue_in *in,
                        const char **validity, const char **just);
int ck__rest_issue_who(rest_call *c, const char *validity,
                       struct ck_issue_in *in);

/* Answers a GET on a document collection (rest_docs.c): one page
 * (rest_page's limit and cursor) of the documents of kind, only those
 * with key when key is not NULL, each turned into JSON by fn (a NULL
 * result is left out), as {"items": [...], "next_cursor": ...}. */
void ck__rest_doc_page(rest_call *c, const char *kind, const char *key,
                       json_t *(*fn)(const ck_store_doc *d));

/* JSON for a stored certificate (with installs when s non-NULL). */
json_t *ck__rest_cert_json(rest_call *c, const ck_store_cert *sc, int full);

/* GET certificates/{key}/blast-radius for the certificate sc (rest_blast.c). */
void ck__rest_blast_radius(rest_call *c, const ck_store_cert *sc);

/* After revoking sc: posts `replace-before-revoke` (target the install's
 * path, args fingerprint and reason) to every agent the inventory shows
 * holding sc — or, with same_key, any certificate with sc's key — one per
 * (agent, path, certificate), at most CK_GATEWAY_POST_MAX / 2. Returns
 * {"queued": N, "over_limit": M, "commands": [{"agent", "target",
 * "status": "queued"|"not-sent", "detail"}]} (new reference). */
json_t *ck__rest_replace_holders(rest_call *c, const ck_store_cert *sc,
                                 int same_key, const char *reason);

/* POST .../revoke with replace_first (rest_plans.c): plan, commands, 202. */
void ck__rest_plan_create(rest_call *c, const ck_store_cert *sc, int code,
                          int64_t deadline, int force);
void ck__rest_plans(rest_call *c, char **segs, int nsegs);

/* Validation analytics (rest_validation.c): GET certificates/{key}/validation
 * for sc, and the validation/stats resource. */
void ck__rest_cert_validation(rest_call *c, const ck_store_cert *sc);
void ck__rest_validation(rest_call *c, char **segs, int nsegs);
/* EST fleets and one-time device passwords (rest_est.c). */
void ck__rest_est(rest_call *c, char **segs, int nsegs);

/* GET kpi (KPIs, coordinator/sched/kpi.h) and GET scheduler (the
 * scheduler's counters), rest_kpi.c. */
void ck__rest_kpi(rest_call *c, char **segs, int nsegs);
void ck__rest_scheduler(rest_call *c, char **segs, int nsegs);

/* 1 when the caller's role is in mask; else sets 403 and returns 0. */
int rest_allow(rest_call *c, unsigned mask);

/* Registers /api/v1/ on srv. */
ck_err ck_svc_rest_register(ck_http_server *srv, ck_coord_rt *rt,
                            ck_errctx *err);

#endif
