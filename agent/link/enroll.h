/* enroll.h — `certkeeper-agent enroll`: one-time enrollment of this host
 * with the coordinator's agent gateway.
 *
 * Generates the identity key here (it never leaves the host), connects with
 * TLS pinning the coordinator's CA by SHA-256 fingerprint, sends `enroll`
 * (token, CSR, host facts), waits (bounded) for `cert`, checks that the
 * certificate matches the key and chains to the pinned CA, and writes the
 * state directory (state.h). The token is never logged or printed. */
#ifndef CK_AGENT_LINK_ENROLL_H
#define CK_AGENT_LINK_ENROLL_H

#include "common/util/err.h"

typedef struct ck_enroll_opts {
  const char *server;         /* "HOST:PORT" of the agent gateway */
  const char *token;          /* one-time enrollment token (secret) */
  const char *ca_fingerprint; /* SHA-256 of the coordinator CA, hex */
  const char *state_dir;      /* NULL: CK_STATE_DEFAULT_DIR */
  const char *name;           /* host name sent; NULL: gethostname() */
  const char *key_spec;       /* NULL: "ec-p256" */
  int force;                  /* replace an existing enrollment */
  unsigned timeout_ms;        /* whole exchange; 0 = 30000 */
} ck_enroll_opts;

/* Runs the enrollment. On CK_OK the state directory is written and agent_id
 * (NUL-terminated, may be truncated to idlen) names the new agent. Errors,
 * each with a message: CK_ERR_EXIST (already enrolled, no --force),
 * CK_ERR_PIN_MISMATCH, CK_ERR_TIMEOUT, CK_ERR_NET / CK_ERR_ADDR (connect),
 * CK_ERR_TLS_HANDSHAKE, the coordinator's refusal (its code and message,
 * e.g. CK_ERR_AUTH for a used or unknown token), CK_ERR_AGAIN (pending
 * approval), CK_ERR_KEY_MISMATCH / CK_ERR_UNTRUSTED / CK_ERR_VERIFY for a
 * bad answer, filesystem errors. Nothing is written on an error. */
ck_err ck_enroll_run(const ck_enroll_opts *o, char *agent_id, size_t idlen,
                     ck_errctx *err);

/* The command: parses the argc/argv after the word "enroll", runs, prints
 * the result, or "certkeeper-agent enroll: <message>" on stderr. Returns
 * the exit status (0 ok, 1 failure, 2 usage). */
int ck_enroll_main(int argc, char **argv);

#endif
