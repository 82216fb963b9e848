/* cli_api.h — one call to the coordinator's REST API (docs/api.md) as the
 * commands see it: build the /api/v1 URL, send JSON with the bearer token,
 * parse the JSON answer, and turn a failure into a printed message and an
 * exit code.
 *
 * Failures are printed here, once, on stderr: the RFC 9457 problem's detail
 * (which names the rule for a policy refusal), its title and the HTTP
 * status. The mapping to exit codes is in cli.h and docs/cli.md. */
#ifndef CK_CLI_API_H
#define CK_CLI_API_H

#include <jansson.h>
#include <stddef.h>

#include "coordinator/cli/cli.h"

/* A path under /api/v1 with its query, built piece by piece; every piece
 * given by the user is percent-encoded. */
typedef struct ck_cli_path {
  char *s;       /* NUL-terminated; NULL until something is added */
  size_t len, cap;
  int nparams;   /* query parameters added */
  int oom;       /* an append failed: the path is unusable */
} ck_cli_path;

/* Appends literal text ("/certificates"). */
void ck_cli_path_lit(ck_cli_path *p, const char *text);
/* Appends "/" and the percent-encoded segment (a serial, a name). */
void ck_cli_path_seg(ck_cli_path *p, const char *seg);
/* Appends "?k=v" or "&k=v", v percent-encoded. A NULL v adds nothing. */
void ck_cli_path_param(ck_cli_path *p, const char *k, const char *v);
void ck_cli_path_free(ck_cli_path *p);

/* A successful answer (2xx). json is NULL for an empty body; owned by the
 * answer (ck_cli_answer_clear). */
typedef struct ck_cli_answer {
  long status;
  json_t *json;
} ck_cli_answer;

void ck_cli_answer_clear(ck_cli_answer *a);

/* Sends method to path (under <server>/api/v1), with body as JSON when
 * not NULL (serialised compact with sorted keys; borrowed) and an If-Match
 * header when if_match is not NULL. Returns CK_CLI_OK with *ans filled for
 * a 2xx answer whose body is empty or JSON; otherwise prints why on stderr
 * and returns the exit code (CK_CLI_USAGE for missing settings, CK_CLI_CONN,
 * CK_CLI_REFUSED, CK_CLI_AUTH, ...). */
int ck_cli_api_call(ck_cli *cli, const char *method, const ck_cli_path *path,
                    const json_t *body, const char *if_match,
                    ck_cli_answer *ans);

/* The exit code for an HTTP error status and the problem type (the part
 * after "urn:certkeeper:problem:", or NULL). */
int ck_cli_api_exit_for(long status, const char *problem_type);

/* A required string member of an answer object, or NULL (and a printed
 * "unexpected answer" message) when absent. */
const char *ck_cli_api_str(const ck_cli *cli, const json_t *obj,
                           const char *key);

/* Prints the "token" of a create answer alone on a line on stdout (or the
 * whole answer with --json). Returns an exit code. */
int ck_cli_api_print_secret(ck_cli *cli, const json_t *answer);

/* Request bodies. */

/* Sets key to a JSON array of the n strings v (borrowed) in obj. Returns 0,
 * or -1 when memory runs out. */
int ck_cli_api_add_strings(json_t *obj, const char *key, const char *const *v,
                           size_t n);

/* Reads the CSR file at path (PEM or DER, at most 256 KiB) and builds the
 * body {"csr": canonical PEM} plus each pair of kv (a NULL-ended list of
 * key, value; a pair whose value is NULL is left out) as strings. The CSR
 * is parsed only to catch a wrong file early: the signature and the rest
 * are the coordinator's to judge. Returns CK_CLI_OK with *body (caller
 * owns: json_decref), or prints why and returns CK_CLI_LOCAL_IO (unreadable
 * file, not a CSR, out of memory) with *body NULL. */
int ck_cli_api_csr_body(ck_cli *cli, const char *path, const char *const *kv,
                        json_t **body);

#endif
