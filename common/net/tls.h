/* tls.h — TLS as a ck_conn: wraps another conn (normally TCP) and drives the
 * memory-only TLS engine of common/crypto/tls.h over it.
 *
 * The TLS conn is handed to the caller only once the handshake has succeeded
 * (peer verified as the ck_tls_ctx says); from then on it behaves like any
 * ck_conn (conn.h): read_start/read_stop, write with backpressure
 * (write_queue_size counts the transport's queue too), close (sends
 * close_notify, then closes the transport gracefully), and peer_cert_der
 * (the verified peer leaf, e.g. the agent's client certificate); the peer's
 * presented chain and, after a CA-pinned bootstrap handshake, the pinned CA
 * are available below.
 *
 * A read callback sees CK_ERR_CLOSED at the end of the stream, whether the
 * peer sent close_notify or just closed the socket (the protocols above are
 * length-framed, so a truncation shows up there), and CK_ERR_TLS or
 * CK_ERR_NET on a failure (a TLS 1.3 client learns that the server refused
 * its certificate this way: its handshake completes first).
 *
 * Everything runs on the loop thread. */
#ifndef CK_NET_TLS_H
#define CK_NET_TLS_H

#include "common/crypto/tls.h"
#include "common/net/conn.h"

/* Called once per wrap/connect. On success c is the ready TLS conn (owned by
 * the callee, who must close it eventually), status is CK_OK and err NULL.
 * On failure c is NULL, the transport has already been closed, and err
 * (borrowed for the call) says why: CK_ERR_PIN_MISMATCH, CK_ERR_UNTRUSTED,
 * CK_ERR_EXPIRED, CK_ERR_VERIFY, CK_ERR_PEER_CERT_REQUIRED,
 * CK_ERR_TLS_HANDSHAKE (protocol, alert from the peer, peer hung up),
 * CK_ERR_TIMEOUT, or a connect error for ck_tls_connect. */
typedef void (*ck_tls_handshake_cb)(ck_conn *c, ck_err status,
                                    const ck_errctx *err, void *arg);

/* Starts a TLS handshake over transport as role, which must be ctx's role.
 * On CK_OK the TLS layer owns transport and cb will be called exactly once,
 * never from inside this call; the handshake is bounded by the ctx's
 * handshake timeout. On an error cb is not called and transport is left
 * untouched, still owned by the caller. ctx is referenced as long as the
 * conn lives. */
ck_err ck_tls_conn_wrap(ck_conn *transport, ck_tls_ctx *ctx, ck_tls_role role,
                        ck_tls_handshake_cb cb, void *arg, ck_errctx *err);

/* Client helper: TCP connect to addr ("HOST:PORT", "[V6]:PORT") then a TLS
 * handshake with ctx (a client context). The server name checked and sent
 * as SNI is ctx's, or else HOST. Returns an error without calling cb when
 * the attempt could not be started (bad address, wrong role); otherwise cb
 * reports the ready conn or the connect/handshake failure. */
ck_err ck_tls_connect(uv_loop_t *loop, const char *addr, ck_tls_ctx *ctx,
                      ck_tls_handshake_cb cb, void *arg, ck_errctx *err);

/* The engine session behind a TLS conn (negotiated version, cipher, ALPN,
 * channel binding), borrowed; NULL when c is not a TLS conn. */
const ck_tls_session *ck_tls_conn_session(const ck_conn *c);

/* The i-th certificate the peer presented, 0 being the leaf (see
 * ck_tls_session_peer_chain: the chain as sent, only the path to the trust
 * anchor was checked), DER borrowed from c while it lives. NULL (*len = 0)
 * past the end, when the peer's leaf was not verified, or when c is not a
 * TLS conn. */
const uint8_t *ck_tls_conn_peer_chain(const ck_conn *c, size_t i, size_t *len);

/* After a handshake with a CA pin (ca_pin_sha256): the presented CA
 * certificate that matched the pin and anchored the verification, DER
 * borrowed from c, which the agent stores as its trust bundle for later
 * connections. NULL (*len = 0) otherwise. */
const uint8_t *ck_tls_conn_pinned_ca(const ck_conn *c, size_t *len);

#endif
