/* gw_int.h — the gateway's internals, shared by its files (not for other
 * rooms).
 *
 * Files:
 *   gateway.c   listener, TLS wrap, session list, drain/close, max sessions
 *   session.c   one session: framer, decode, dispatch, writes, timers,
 *               reference counting, close
 *   work.c      thread-pool work items and the replies they encode
 *   auth.c      mutual-TLS sessions: the agent behind a client certificate
 *   binding.c   the agent's enrollment binding (group, profiles, names)
 *   enroll.c    `enroll`: token, CSR, identity certificate, one store write
 *   identity.c  issuing agent identity certificates (enroll and renewal)
 *   renew.c     `csr`: ck_issue_run, or identity renewal
 *   inventory.c `inventory`: certificates and installations
 *   event.c     `event`: audit
 *   command.c   hello/welcome, ping/pong, pushed commands and their answers
 *   post.c      commands posted from other threads (REST), their audit
 *
 * Threading: a session's fields are touched on the loop thread, except the
 * ones a work item fills on the pool (marked "pool"), which the loop reads
 * only after that item completed (uv_queue_work orders the two). */
#ifndef CK_COORD_GATEWAY_GW_INT_H
#define CK_COORD_GATEWAY_GW_INT_H

#include <stdint.h>
#include <uv.h>

#include "common/net/conn.h"
#include "common/wire/framer.h"
#include "common/wire/wire.h"
#include "coordinator/ca/ca.h"
#include "coordinator/gateway/gateway.h"
#include "coordinator/store/store.h"

/* URI SAN prefix of agent identity certificates: urn:certkeeper:agent:<id>. */
#define CK_GW_AGENT_URN "urn:certkeeper:agent:"
/* Profile name under which identity certificates are stored and renewed. */
#define CK_GW_IDENTITY_PROFILE "agent-identity"
/* Length of an agent id: 16 lower-case hex digits (64 random bits). */
#define CK_GW_AGENT_ID_LEN 16
/* Seconds an agent waits before asking again after `pending`. */
#define CK_GW_RETRY_AFTER 300
/* Write queue above which a session stops reading (backpressure). */
#define CK_GW_WRITE_HIGH (1u << 20)

typedef struct gw_session gw_session;
typedef struct gw_work gw_work;

typedef enum gw_state {
  GW_AUTH = 0,    /* client certificate presented: agent lookup running */
  GW_UNENROLLED,  /* no client certificate: hello and enroll only */
  GW_AGENT        /* authenticated agent */
} gw_state;

/* A command pushed to the agent, waiting for its ack/error. */
typedef struct gw_cmd {
  struct gw_cmd *next;
  uint64_t id;
  ck_gateway_cmd_cb cb;
  void *arg;
} gw_cmd;

/* The agent a session authenticated as (pool: filled by auth.c). Strings
 * are malloc'ed and immutable once the session is GW_AGENT. In a
 * GW_UNENROLLED session only version is set: the hello's (loop, before any
 * enroll work is queued), recorded on the agent row by enroll.c. */
typedef struct gw_agent {
  char *id;
  char *name;
  char *group;
  char *platform;
  char *version;
  char identity_fp[CK_SHA256_HEX_LEN];
  char *profiles;     /* binding: allowed profiles, one per line ("" any) */
  char *san_patterns; /* binding: allowed SAN patterns, one per line */
  char *token_id;     /* enrollment token the binding came from, "" none */
} gw_agent;

struct gw_session {
  ck_gateway *gw;
  gw_session *prev, *next; /* gw->sessions list while open */
  ck_conn *conn;           /* the TLS conn; closed by gw_session_close */
  uv_timer_t timer;        /* idle and ping */
  int refs;                /* conn + timer + work items in flight */
  gw_state state;
  int closing;          /* close started: no more frames, no more writes */
  int draining;         /* gateway closing: finish work, then close */
  int reading;          /* ck_conn_read_start is in effect */
  int write_paused;     /* stopped reading: write queue over the mark */
  char sid[17];         /* session id (random hex), in logs and welcome */
  char peer[64];        /* remote address */
  char cert_fp[CK_SHA256_HEX_LEN]; /* client certificate, "" none */
  gw_agent agent;       /* GW_AGENT: who (pool: auth.c) */
  ck_wire_framer framer;
  uint64_t last_rx_ms;  /* monotonic: last frame in or work finished */
  uint64_t last_ping_ms;
  uint64_t last_seen_ms; /* monotonic: last agent_seen write (0 none) */
  uint64_t next_id;     /* ids of frames we originate (ping, command) */
  unsigned inflight;    /* work items running */
  int excl_busy;        /* an exclusive work item runs */
  ck_arena *held_arena; /* a decoded frame waiting for capacity */
  ck_wire_msg held;
  int has_held;
  gw_cmd *cmds;         /* commands awaiting an answer */
  /* inventory generations (pool: inventory.c; exclusive work only) */
  uint64_t inv_seq;      /* last complete generation held */
  int inv_have;          /* inv_seq is valid */
  uint64_t inv_cur;      /* generation being received (full, in parts) */
  uint32_t inv_next_part;
  int inv_open;          /* a multi-part full inventory is under way */
  int inv_delta;         /* a delta is being applied (its keys kept too) */
  char **inv_keys;       /* installations stored by its parts so far */
  size_t inv_nkeys, inv_capkeys;
};

struct ck_gateway {
  ck_coord_rt *rt;      /* borrowed */
  ck_tls_ctx *tls;      /* referenced */
  ck_gateway_opts opts; /* defaults applied */
  ck_listener *lst;     /* NULL once closed */
  int port;
  ck_store_loop *sl;    /* store completions on our loop */
  gw_session *sessions; /* open sessions */
  unsigned n_open;      /* sessions in the list */
  unsigned n_alive;     /* sessions not yet freed */
  unsigned n_handshaking;
  unsigned n_store;     /* loop store writes awaiting their callback */
  int closing;
  int listener_closed;
  int done;             /* close callback has run */
  void (*close_cb)(void *arg);
  void *close_arg;
  /* commands posted from other threads (post.c) */
  uv_async_t post_async; /* wakes the loop; unref'ed */
  uv_mutex_t post_mu;    /* guards the three fields below */
  struct gw_post *post_head, **post_tail;
  unsigned n_posted;     /* queued, not yet taken */
  int post_closed;       /* posting refused: gateway closing */
  int post_open;         /* post_async not yet closed */
};

/* A piece of work on the thread pool, tied to a session. */
struct gw_work {
  uv_work_t req;
  gw_session *s;       /* referenced until after() ran */
  ck_arena *arena;     /* owns msg's memory (may be NULL) */
  ck_wire_msg msg;     /* the frame being answered (type UNKNOWN: none) */
  int exclusive;       /* no other work of the session runs meanwhile */
  void (*run)(gw_work *w);   /* pool */
  void (*after)(gw_work *w); /* loop, before the reply is sent; may be NULL */
  uint8_t *reply;      /* encoded frame(s) to send, malloc'ed */
  size_t reply_len;
  int close_after;     /* close the session after sending reply */
  char fp[CK_SHA256_HEX_LEN]; /* renew.c: the new identity, for after() */
};

/* ---- gateway.c ---------------------------------------------------------- */

/* Called when a session is freed or a count dropped: completes a pending
 * close. */
void ck__gw_maybe_done(ck_gateway *gw);
/* The open session of agent_id (the newest one), or NULL. */
gw_session *ck__gw_find_agent(ck_gateway *gw, const char *agent_id);

/* ---- session.c ---------------------------------------------------------- */

/* Creates a session on a ready TLS conn (taking it over) and starts it:
 * with a client certificate the agent lookup, else reading. On failure the
 * conn is closed. */
void ck__gw_session_start(ck_gateway *gw, ck_conn *conn);
/* Starts closing s (idempotent): stops reading, closes the conn and timer,
 * answers pending commands with CK_ERR_CLOSED. why goes to the ops log. */
void ck__gw_session_close(gw_session *s, const char *why);
/* Gateway close: finish in-flight work, then close. */
void ck__gw_session_drain(gw_session *s);
void ck__gw_session_ref(gw_session *s);
void ck__gw_session_unref(gw_session *s);
/* Writes an encoded frame (copied). Returns CK_ERR_CLOSED when closing. */
ck_err ck__gw_send_raw(gw_session *s, const uint8_t *buf, size_t len);
/* Encodes and writes m. */
ck_err ck__gw_send(gw_session *s, const ck_wire_msg *m);
/* Sends an `error` answering id; fatal ones close the session after it. */
void ck__gw_send_error(gw_session *s, uint64_t id, ck_err code, int fatal,
                       const char *msg);
/* Resumes frame processing after a work item finished or capacity freed. */
void ck__gw_session_pump(gw_session *s);
/* The options of s's gateway. */
const ck_gateway_opts *ck__gw_opts(const gw_session *s);

/* ---- work.c ------------------------------------------------------------- */

/* Allocates a work item for s (which it references) that owns arena and
 * msg (msg may be NULL: no frame). NULL on OOM (arena is then freed). */
gw_work *ck__gw_work_new(gw_session *s, ck_arena *arena, const ck_wire_msg *msg,
                         void (*run)(gw_work *w), int exclusive);
/* Queues w on the pool. On failure w is freed and the session closed. */
void ck__gw_work_queue(gw_work *w);
/* Pool: encodes m as w's reply (appending to an earlier one). On failure
 * an internal error reply is encoded instead. */
void ck__gw_reply(gw_work *w, const ck_wire_msg *m);
/* Pool: an `error` reply for w's frame; fatal also closes the session after
 * sending it. */
void ck__gw_reply_error(gw_work *w, ck_err code, int fatal, const char *msg);

/* A host fact (enroll.c, inventory.c) must be printable ASCII of 1..max
 * bytes; an absent (NULL) optional fact passes. Returns 1 when v is fine. */
int ck__gw_fact_ok(const char *v, size_t max, int required);

/* ---- the work functions (pool) ------------------------------------------ */

void ck__gw_auth_run(gw_work *w);      /* auth.c */
void ck__gw_auth_after(gw_work *w);    /* auth.c (loop) */
void ck__gw_enroll_run(gw_work *w);    /* enroll.c */
void ck__gw_renew_run(gw_work *w);     /* renew.c */
/* Pool: when a certificate of profile (valid not_before..not_after) should
 * be renewed (ck_profile_renew_at with the profile's current version; a
 * third of the lifetime before not_after when the profile cannot be read). */
int64_t ck__gw_renew_at(ck_coord_rt *rt, const char *profile,
                        int64_t not_before, int64_t not_after);
/* Whether m is a `csr` renewing the agent's identity (runs exclusively). */
int ck__gw_is_identity_csr(const ck_wire_msg *m);
void ck__gw_inventory_run(gw_work *w); /* inventory.c */
void ck__gw_event_run(gw_work *w);     /* event.c */

/* Frees the key set of a full inventory under way (inventory.c). */
void ck__gw_inventory_reset(gw_session *s);

/* ---- binding.c ---------------------------------------------------------- */

/* Pool: loads the enrollment binding of agent_id into a (profiles,
 * san_patterns, token_id: malloc'ed, "" when the agent has no token on
 * record). Returns a store error. */
ck_err ck__gw_binding_load(ck_store *s, const char *agent_id, gw_agent *a,
                           ck_errctx *err);
/* Frees a's strings and zeroes it. */
void ck__gw_agent_clear(gw_agent *a);

/* ---- identity.c ---------------------------------------------------------- */

/* A freshly issued identity certificate. */
typedef struct gw_identity {
  ck_cert *cert;           /* owned */
  ck_store_cert row;       /* for the store write; strings in arena */
  const ck_ca *ca;         /* borrowed from rt->cas */
} gw_identity;

/* Pool: parses and verifies the CSR (proof of possession) and checks its
 * key is acceptable for an identity. CK_ERR_BAD_CSR / CK_ERR_WEAK_KEY with
 * the reason; *out caller-owned. */
ck_err ck__gw_identity_csr(const uint8_t *der, size_t len, ck_csr **out,
                           ck_errctx *err);
/* Pool: issues the identity certificate of agent_id for csr's key from the
 * default CA (CN=<id>, URI SAN urn:certkeeper:agent:<id>, clientAuth) and
 * fills out (row strings in arena). */
ck_err ck__gw_identity_issue(ck_coord_rt *rt, const ck_gateway_opts *o,
                             const char *agent_id, const ck_csr *csr,
                             ck_arena *arena, gw_identity *out, ck_errctx *err);
void ck__gw_identity_clear(gw_identity *id);
/* Pool: a `cert` reply carrying id's certificate and its CA chain. */
void ck__gw_identity_reply(gw_work *w, const gw_identity *id,
                           const char *cert_id, const char *agent_id);
/* Pool: appends the DER certificates of a PEM chain (skipping the first
 * `skip`) to an array in arena: out and n. */
ck_err ck__gw_chain_der(const char *pem, size_t pem_len, size_t skip,
                        ck_arena *arena, ck_wire_bytes **out, size_t *n,
                        ck_errctx *err);

/* ---- post.c ------------------------------------------------------------- */

/* Loop: sets up the post queue (ck_gateway_start). */
ck_err ck__gw_post_init(ck_gateway *gw, ck_errctx *err);
/* Loop: refuses further posts, fails the queued ones with CK_ERR_CLOSED and
 * closes the async handle (post_open drops to 0 in its close callback). */
void ck__gw_post_close(ck_gateway *gw);
/* Frees what the queue holds after the loop ended (ck_gateway_free). */
void ck__gw_post_free(ck_gateway *gw);

/* ---- command.c ---------------------------------------------------------- */

void ck__gw_on_hello(gw_session *s, const ck_wire_msg *m);
void ck__gw_on_answer(gw_session *s, const ck_wire_msg *m); /* ack, error */
void ck__gw_ping(gw_session *s);
/* Answers every pending command with CK_ERR_CLOSED and frees them. */
void ck__gw_cmds_fail(gw_session *s);

#endif
