/* itest.h — the real coordinator for the integration tests written in C:
 * `certkeeper-coordinator init` and `run` as a child process on free
 * loopback ports, the `certkeeper` CLI's environment pointed at it, and the
 * test agent (tests/testagent.h) pointed at its gateway.
 *
 * Typical use: ck_itest_setup in the cmocka setup, ck_itest_teardown in the
 * teardown (or ck_itest_cm_setup / _cm_teardown as they are); in the test ck_itest_require, ck_itest_init, ck_itest_start,
 * ck_itest_client_env, then the CLI (ck_itest_sh) and the test agent
 * (ck_itest_peer), and ck_itest_stop. Every wait is bounded; a failing
 * step prints the tail of the logs in the temporary directory. */
#ifndef CK_TESTS_INTEGRATION_ITEST_H
#define CK_TESTS_INTEGRATION_ITEST_H

#include <sys/types.h>

#include "tests/testagent.h"

#define CK_ITEST_WAIT_MS 30000u

typedef struct ck_itest {
  uv_loop_t loop;      /* for the test agent */
  char *tmp;           /* temporary directory (owned, removed at teardown) */
  char bin[1024];      /* certkeeper-coordinator */
  char cli[1024];      /* certkeeper */
  char agent[1024];    /* certkeeper-agent */
  char data[1100];     /* the coordinator's data directory */
  int http, https, gw; /* its ports (ck_itest_init) */
  pid_t pid;           /* the running coordinator, 0 = none */
  char *chain_pem;     /* GET /ca/chain.pem (ck_itest_client_env) */
  size_t chain_len;
  char root_pin[CK_SHA256_HEX_LEN]; /* the root CA, last in the chain */
} ck_itest;

/* Paths from CK_BUILD_DIR, a fresh temporary directory, the loop. */
void ck_itest_setup(ck_itest *t);

/* Kills a coordinator still running, closes the loop, removes tmp. */
void ck_itest_teardown(ck_itest *t);

/* The same as cmocka setup/teardown, for a test whose initial state is its
 * ck_itest: cmocka_unit_test_prestate_setup_teardown(test,
 * ck_itest_cm_setup, ck_itest_cm_teardown, &t). */
int ck_itest_cm_setup(void **state);
int ck_itest_cm_teardown(void **state);

/* Skips the test (printing why) when the coordinator (and, with
 * need_agent, the agent) is not built or the openssl/curl CLIs are
 * missing. */
void ck_itest_require(const ck_itest *t, int need_agent);

/* A port on 127.0.0.1 that was free a moment ago (bound to 0, released). */
int ck_itest_free_port(void);

/* Prints the tail of every *.log in tmp (on failures). */
void ck_itest_show_log(const ck_itest *t);

/* Runs a shell command that must succeed (else: logs, failure naming
 * what); returns its output (caller frees). */
char *ck_itest_sh(const ck_itest *t, const char *what, const char *cmd);

/* Waits (bounded) for pid to exit, killing it after ms; returns its wait
 * status. */
int ck_itest_reap(pid_t pid, unsigned ms);

/* `certkeeper-coordinator init` into t->data (admin token in
 * tmp/admin.token), conf_extra (may be NULL) appended to its
 * coordinator.conf, and three free ports picked. */
void ck_itest_init(ck_itest *t, const char *conf_extra);

/* Runs the coordinator (logging to tmp/coord.log, appended) and waits for
 * /healthz (curl, at most 30 s). */
void ck_itest_start(ck_itest *t);

/* SIGTERM; the coordinator must exit 0 within CK_ITEST_WAIT_MS. */
void ck_itest_stop(ck_itest *t);

/* Fetches the chain (tmp/chain.pem), writes its root (tmp/root.pem) and
 * keeps the pin; points the CLI at the coordinator: CERTKEEPER_SERVER,
 * CERTKEEPER_CACERT (the root) and CERTKEEPER_TOKEN (the admin token). */
void ck_itest_client_env(ck_itest *t);

/* `certkeeper token create <args>`: the enrollment token it printed
 * (caller frees). */
char *ck_itest_token(const ck_itest *t, const char *args);

/* Where the test agent finds the gateway (server name 127.0.0.1, checked)
 * and what it trusts; a failure prints the logs. */
void ck_itest_peer(ck_itest *t, ck_tagent_peer *p);

#endif
