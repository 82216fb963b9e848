/* session.h — the agent's connection to the coordinator (net process).
 *
 * One session object lives as long as the net process. It connects with
 * mutual TLS (identity certificate and key from the state directory, the
 * coordinator CA from ca.pem as the only trust anchor), says `hello`, waits
 * for `welcome`, and then:
 *   - sends the outbox (agent/link/outbox.h) in order, each event with its
 *     sequence number as wire id, at most CK_SESSION_WINDOW unacknowledged;
 *     `ack` drops the entries through its id; a non-fatal `error` for an
 *     event drops it too (it cannot succeed) with an error log;
 *   - answers `ping` with `pong`;
 *   - hands every other frame to the owner (net.c) through on_msg.
 * On a failure or a close it reconnects after a delay that doubles from 1 s
 * up to reconnect_max, each time with random jitter (half the delay plus a
 * random part of the other half, ck_random). A session that has received
 * nothing for three ping intervals is considered dead and reconnected.
 *
 * Wire ids: events use outbox sequence numbers (the coordinator keeps a
 * per-agent mark for exactly-once recording); everything else the agent
 * sends uses ids from ck_session_next_id(), which are >= CK_SESSION_ID_BASE
 * so answers can be told apart.
 *
 * DIR/link.state (key=value lines; written through a descriptor opened by
 * net before it drops privileges, rewritten in place as one padded
 * CK_LINK_STATE_SIZE-byte write + fsync) records the connection state for
 * `certkeeper-agent status`. */
#ifndef CK_AGENT_LINK_SESSION_H
#define CK_AGENT_LINK_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "agent/link/outbox.h"
#include "common/util/err.h"
#include "common/wire/wire.h"

#define CK_SESSION_WINDOW 32u
#define CK_SESSION_ID_BASE (UINT64_C(1) << 62)
#define CK_LINK_STATE_FILE "link.state"
#define CK_LINK_STATE_SIZE 1024u

typedef struct ck_session ck_session;

typedef struct ck_session_cbs {
  /* welcome received: the session is usable (send inventories, csrs) */
  void (*up)(ck_session *s, const ck_wire_welcome *w, void *arg);
  /* the connection went away (why: the reason); a reconnect is scheduled */
  void (*down)(ck_session *s, ck_err why, const char *msg, void *arg);
  /* any frame the session does not handle itself (m valid during the call):
   * cert, pending, error and ack whose id is not an outbox id, command */
  void (*msg)(ck_session *s, const ck_wire_msg *m, void *arg);
  void *arg;
} ck_session_cbs;

typedef struct ck_session_opts {
  const char *server;   /* "HOST:PORT" */
  const char *agent_id; /* hello.agent_id */
  /* PEM buffers, borrowed during ck_session_new only (read before the
   * process dropped its privileges) */
  const uint8_t *cert_pem; /* identity certificate + chain */
  size_t cert_pem_len;
  const uint8_t *key_pem; /* identity key (secret) */
  size_t key_pem_len;
  const uint8_t *ca_pem; /* coordinator CA: the only trust anchor */
  size_t ca_pem_len;
  unsigned reconnect_max_s; /* cap of the reconnect delay; 0 = 300 */
  unsigned connect_timeout_ms; /* TLS handshake bound; 0 = 15000 */
  ck_outbox *outbox;           /* borrowed; may be NULL (no events) */
  int link_state_fd;           /* DIR/link.state opened O_RDWR, or -1 */
} ck_session_opts;

/* Creates the session (TLS context built here; the PEM buffers may be wiped
 * afterwards) and starts the first connection attempt. *out is owned by
 * the caller (ck_session_close). Errors: CK_ERR_CONFIG (unusable
 * certificate, key or CA), CK_ERR_INVAL, CK_ERR_NOMEM. */
ck_err ck_session_new(uv_loop_t *loop, const ck_session_opts *o,
                      const ck_session_cbs *cbs, ck_session **out,
                      ck_errctx *err);

/* 1 when welcome was received and the connection is open. */
int ck_session_up(const ck_session *s);

/* A fresh id for a message the agent originates (>= CK_SESSION_ID_BASE). */
uint64_t ck_session_next_id(ck_session *s);

/* Sends m now. CK_ERR_CLOSED when the session is not up; encode errors. */
ck_err ck_session_send(ck_session *s, const ck_wire_msg *m, ck_errctx *err);

/* New outbox entries were appended: send what the window allows. */
void ck_session_kick(ck_session *s);

/* Closes the connection and frees s asynchronously (the loop must run).
 * No callback fires afterwards. NULL is a no-op. */
void ck_session_close(ck_session *s);

/* ---- link.state -------------------------------------------------------- */

typedef struct ck_link_state {
  char state[16];      /* "connected", "connecting", "disconnected" */
  char server[128];
  char session[64];    /* the coordinator's session id, "" if none */
  int64_t last_connect; /* epoch seconds of the last welcome, 0 never */
  int64_t last_report;  /* epoch seconds of the last ack of an event or
                           inventory, 0 never */
  int64_t updated;      /* when the file was written */
  char last_error[256]; /* why the last connection ended or failed */
} ck_link_state;

/* Reads DIR/link.state (path). CK_ERR_NOENT when absent; unknown keys are
 * ignored; a torn or garbled file gives what could be parsed. */
ck_err ck_link_state_read(const char *path, ck_link_state *out,
                          ck_errctx *err);

#endif
