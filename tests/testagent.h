/* testagent.h — a test agent: a client of the coordinator's agent gateway
 * built from our own TLS (ck_tls_connect) and wire codec (common/wire), no
 * coordinator code. The in-process gateway tests (tests/unit/gateway/
 * gw_fixture.h) and the end-to-end tests against the real binaries
 * (tests/integration/itest.h) drive the gateway with it.
 *
 * Every wait runs the peer's loop until its condition holds, bounded by
 * wait_ms (ck_test_run_until); pings from the gateway are answered
 * automatically. Anything unexpected fails the test (cmocka), after calling
 * the peer's on_fail hook (which prints the coordinator's log, say). */
#ifndef CK_TESTS_TESTAGENT_H
#define CK_TESTS_TESTAGENT_H

#include "tests/testutil.h"

#include "common/crypto/crypto.h"
#include "common/net/tls.h"
#include "common/wire/framer.h"
#include "common/wire/wire.h"

#define CK_TAGENT_QMAX 64

/* Where a test agent connects and what it trusts. Pointers are borrowed
 * for the ck_tagent_open call, except loop and fail_arg, which must outlive
 * the connection. */
typedef struct ck_tagent_peer {
  uv_loop_t *loop;
  int port;                /* the gateway, on 127.0.0.1:port */
  const char *server_name; /* checked against the gateway's certificate;
                              NULL = not checked */
  const char *root_pin;    /* SHA-256 (hex) of the root CA: enrollment */
  const char *chain_pem;   /* CA chain trusted with an identity */
  size_t chain_len;
  unsigned wait_ms;        /* bound of every wait */
  void (*on_fail)(void *fail_arg); /* before failing the test; may be NULL */
  void *fail_arg;
} ck_tagent_peer;

/* An enrolled identity, as an agent keeps it (all owned; see _clear). */
typedef struct ck_tagent_ident {
  char agent_id[64];
  char *cert_pem;
  size_t cert_pem_len;
  char *key_pem; /* PKCS#8, a secret */
  size_t key_pem_len;
  char fp[CK_SHA256_HEX_LEN]; /* the certificate's SHA-256 */
} ck_tagent_ident;

/* A connection. Fields are read by tests (ended, closed, pings, ...);
 * only the functions below change them. */
typedef struct ck_tagent {
  uv_loop_t *loop;
  unsigned wait_ms;
  void (*on_fail)(void *fail_arg);
  void *fail_arg;
  ck_tls_ctx *ctx;
  ck_conn *conn;
  volatile int hs_done;
  ck_err hs;
  char hs_msg[512];
  ck_wire_framer fr;
  ck_wire_msg q[CK_TAGENT_QMAX]; /* received, not yet taken */
  ck_arena *qa[CK_TAGENT_QMAX];
  size_t qn;
  volatile int ready; /* qn > 0 or ended */
  volatile int ended;
  ck_err end_status;
  volatile int closed;
  int pings;
  uint64_t next_id;
} ck_tagent;

/* Frees what id holds (the key wiped) and zeroes it. */
void ck_tagent_ident_clear(ck_tagent_ident *id);

/* Fills id from the `cert` answer m to an enrollment or an identity
 * renewal: agent_id (NULL = m's), certificate, fingerprint, and key
 * exported as PKCS#8. id must be zeroed or hold an identity (freed). */
void ck_tagent_ident_set(ck_tagent_ident *id, const char *agent_id,
                         const ck_wire_msg *m, const ck_key *key);

/* Connects: id NULL = enrollment (trusting only the pinned root), else
 * mutual TLS with id trusting the peer's chain. Returns the handshake
 * status; a is usable (and must be closed) only on CK_OK. */
ck_err ck_tagent_open(ck_tagent *a, const ck_tagent_peer *p,
                      const ck_tagent_ident *id);

/* ck_tagent_open that fails the test when the handshake fails. */
void ck_tagent_connect(ck_tagent *a, const ck_tagent_peer *p,
                       const ck_tagent_ident *id);

/* Closes (when still open), waits for the close and frees what a holds. */
void ck_tagent_close(ck_tagent *a);

void ck_tagent_send_raw(ck_tagent *a, const uint8_t *buf, size_t len);

/* Sends m; when m->id is 0 a fresh id is given (and left in m->id). */
void ck_tagent_send(ck_tagent *a, ck_wire_msg *m);

/* Waits for the next frame; *ar (caller frees) owns *m. Returns 0 when the
 * connection ended first. */
int ck_tagent_recv(ck_tagent *a, ck_wire_msg *m, ck_arena **ar);

/* Waits for a frame of type t with id (0 = any id); fails otherwise. */
void ck_tagent_expect(ck_tagent *a, ck_wire_type t, uint64_t id,
                      ck_wire_msg *m, ck_arena **ar);

/* Waits for an error with code (and a message containing needle, unless
 * NULL) whose fatal flag is fatal. */
void ck_tagent_expect_error(ck_tagent *a, ck_err code, uint64_t id,
                            const char *needle, int fatal);

/* Waits until the gateway closed the connection. */
void ck_tagent_expect_end(ck_tagent *a);

/* Sends hello (agent_id may be NULL before enrolling); returns its id. */
uint64_t ck_tagent_hello(ck_tagent *a, const char *agent_id);

/* hello, then waits for welcome: every frame sent before has been
 * handled by the gateway. */
void ck_tagent_welcome(ck_tagent *a, const char *agent_id);

/* Sends enroll with the CSR (DER) and host facts (fqdn may be NULL);
 * returns its id. */
uint64_t ck_tagent_enroll(ck_tagent *a, const char *token, const uint8_t *csr,
                          size_t csr_len, const char *hostname,
                          const char *fqdn);

/* Sends a csr for cert_id under profile (reason may be NULL); returns its
 * id. */
uint64_t ck_tagent_send_csr(ck_tagent *a, const char *cert_id,
                            const char *profile, const uint8_t *csr,
                            size_t csr_len, const char *reason);

/* Enrolls a new agent with token over a fresh connection: a new EC P-256
 * key, enroll, `cert` expected; fills id. */
void ck_tagent_enroll_new(const ck_tagent_peer *p, const char *token,
                          const char *hostname, const char *fqdn,
                          ck_tagent_ident *id);

/* A new key of spec ("ec-p256", "rsa-2048", ...); caller frees. */
ck_key *ck_tagent_key(const char *spec);

/* A CSR (DER, malloc'ed into *der) for key with CN cn and DNS SANs dns
 * (NULL-terminated, at most 8; NULL = none). */
void ck_tagent_csr(const ck_key *key, const char *cn, const char *const *dns,
                   uint8_t **der, size_t *len);

#endif
