/* tls.h — a backend-neutral TLS engine that works purely on memory.
 *
 * The engine knows nothing about sockets or libuv: the caller feeds it the
 * ciphertext it received, takes the ciphertext it must send, and reads and
 * writes plaintext in between (OpenSSL memory BIOs; mbedTLS custom BIO
 * callbacks on growable buffers). common/net/tls.c drives it on libuv
 * streams; the unit tests drive it by pumping buffers between a client and a
 * server in one process. This header is the only TLS API outside
 * common/crypto/, so nothing else includes OpenSSL or mbedTLS headers.
 *
 * Two objects:
 *   ck_tls_ctx      the configuration of one endpoint (role, own certificate
 *                   and key, trust bundle, verification policy, leaf and CA
 *                   pins, ALPN).
 *                   Reference-counted and immutable once built, so a server
 *                   can swap in a new one (certificate rotation) while old
 *                   sessions keep theirs.
 *   ck_tls_session  one connection's TLS state machine.
 *
 * Verification policy (the same in both backends):
 *   - a trust bundle verifies the peer chain (plus, on clients with a server
 *     name, the DNS name or IP address against the leaf's SANs);
 *   - a pin (SHA-256 of the peer leaf DER) must match the peer leaf; with a
 *     pin and no trust bundle, the pin alone authenticates the peer;
 *   - a CA pin (clients; SHA-256 of a CA certificate's DER) replaces the
 *     trust bundle for bootstrap enrollment, when the agent knows only the
 *     fingerprint of the coordinator's root or issuing CA: some certificate
 *     the server presents after its leaf must have that fingerprint, and the
 *     leaf must verify up to that certificate as the only trust anchor
 *     (signatures, validity at ck_clock_now(), key usage, server name), as
 *     with a trust bundle. The leaf itself never satisfies a CA pin. After
 *     the handshake ck_tls_session_pinned_ca() gives the pinned certificate,
 *     to be stored as the trust bundle for later connections;
 *   - a leaf pin together with a trust bundle or a CA pin: both must pass.
 * Protocol: TLS 1.2 minimum, TLS 1.3 preferred (OpenSSL; mbedTLS 2.28 speaks
 * TLS 1.2 only), forward-secret AEAD cipher suites only, no renegotiation,
 * no compression, no session resumption.
 *
 * Threading: a ctx may be shared by sessions on several threads; a session
 * is used by one thread at a time. */
#ifndef CK_CRYPTO_TLS_H
#define CK_CRYPTO_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/err.h"

typedef struct ck_tls_ctx ck_tls_ctx;
typedef struct ck_tls_session ck_tls_session;

typedef enum ck_tls_role { CK_TLS_CLIENT = 0, CK_TLS_SERVER = 1 } ck_tls_role;

typedef enum ck_tls_verify {
  CK_TLS_VERIFY_DEFAULT = 0, /* clients: REQUIRE; servers: NONE */
  CK_TLS_VERIFY_NONE,        /* no peer verification (a pin still applies) */
  CK_TLS_VERIFY_OPTIONAL,    /* servers: ask for a client certificate; one
                                that is presented must verify */
  CK_TLS_VERIFY_REQUIRE      /* the peer must present a certificate that
                                verifies (trust bundle and/or pin) */
} ck_tls_verify;

typedef enum ck_tls_version {
  CK_TLS_VERSION_ANY = 0, /* in min_version: 1.2; in max_version: highest */
  CK_TLS_V12 = 0x0303,
  CK_TLS_V13 = 0x0304
} ck_tls_version;

/* Channel binding types (RFC 5929 tls-unique, RFC 9266 tls-exporter). */
typedef enum ck_tls_binding {
  CK_TLS_BINDING_UNIQUE = 0, /* TLS 1.2 only: the first Finished message */
  CK_TLS_BINDING_EXPORTER    /* 32 bytes, label "EXPORTER-Channel-Binding",
                                no context; TLS 1.3, or TLS 1.2 with the
                                extended master secret */
} ck_tls_binding;

/* Configuration of one endpoint. Zero-initialise it and set what you need;
 * every pointer is borrowed for the duration of ck_tls_ctx_new() only. For
 * each of certificate, key and trust bundle give either a file or a buffer. */
typedef struct ck_tls_config {
  ck_tls_role role;
  /* Own certificate chain (leaf first, then intermediates) and key, PEM.
   * Required for servers; optional for clients (client certificate). */
  const char *cert_file;
  const uint8_t *cert_pem;
  size_t cert_pem_len;
  const char *key_file; /* unencrypted PEM (PKCS#8, SEC1 or PKCS#1) */
  const uint8_t *key_pem;
  size_t key_pem_len;
  /* Trust bundle (one or more CA certificates, PEM) for the peer chain. */
  const char *ca_file;
  const uint8_t *ca_pem;
  size_t ca_pem_len;
  ck_tls_verify verify;
  /* SHA-256 of the peer leaf certificate DER, 64 hex digits, upper or lower
   * case, ':' separators allowed. NULL: no pin. */
  const char *pin_sha256;
  /* Clients only: SHA-256 of the DER of a CA certificate (root or
   * intermediate) that the server must present in its chain and that is
   * then the sole trust anchor for the leaf; same spelling as pin_sha256.
   * Excludes a trust bundle and verify NONE. NULL: no CA pin. */
  const char *ca_pin_sha256;
  /* Clients: the name sent as SNI (DNS names only) and checked against the
   * server certificate (DNS name or IP literal). May be overridden per
   * session. Ignored by servers. */
  const char *server_name;
  /* ALPN protocols in preference order, comma-separated ("ck/1,http/1.1").
   * Servers pick their first protocol the client offers and refuse the
   * handshake when the client offers ALPN but none matches. NULL: none. */
  const char *alpn;
  ck_tls_version min_version; /* ANY = TLS 1.2; lower is refused */
  ck_tls_version max_version; /* ANY = highest the backend has */
  /* Used by the conn layer (common/net/tls.c): milliseconds a handshake may
   * take before the connection is dropped. 0 = 10000. */
  unsigned handshake_timeout_ms;
  /* Servers: accept a client certificate whatever its extendedKeyUsage
   * says (the chain, validity and trust are still verified). For EST
   * re-enrollment, where a device authenticates with the certificate it
   * renews, often a serverAuth-only one (RFC 7030 §3.3.2). OpenSSL backend
   * only; ignored by mbedTLS, which has no server role in certkeeper. */
  int client_any_purpose;
} ck_tls_config;

/* Builds a context from cfg. On success *out is a new context with one
 * reference, owned by the caller (release with ck_tls_ctx_free). Errors:
 * CK_ERR_CONFIG for an inconsistent configuration (server without
 * certificate, verification without trust bundle or pin, bad pin, a CA pin
 * on a server or together with a trust bundle or verify NONE, version
 * below 1.2), CK_ERR_NOENT/CK_ERR_IO for unreadable files, CK_ERR_BAD_PEM,
 * CK_ERR_BAD_CERT, CK_ERR_BAD_KEY, CK_ERR_KEY_ENCRYPTED, CK_ERR_KEY_MISMATCH,
 * CK_ERR_UNSUPPORTED (a role or version this build leaves out), each with a
 * message naming the file or field. */
ck_err ck_tls_ctx_new(const ck_tls_config *cfg, ck_tls_ctx **out,
                      ck_errctx *err);
/* Adds a reference; returns ctx. */
ck_tls_ctx *ck_tls_ctx_ref(ck_tls_ctx *ctx);
/* Drops a reference and frees ctx with the last one (wiping key material).
 * NULL is a no-op. */
void ck_tls_ctx_free(ck_tls_ctx *ctx);
ck_tls_role ck_tls_ctx_role(const ck_tls_ctx *ctx);
/* The configured handshake timeout (ms, default applied). */
unsigned ck_tls_ctx_handshake_timeout_ms(const ck_tls_ctx *ctx);
/* The configured server name, or NULL. Borrowed from ctx. */
const char *ck_tls_ctx_server_name(const ck_tls_ctx *ctx);
/* Name of the backend ("openssl" or "mbedtls"), static. */
const char *ck_tls_backend(void);

/* Creates a session on ctx (which it references). server_name overrides the
 * context's for a client (NULL keeps it). *out is owned by the caller. */
ck_err ck_tls_session_new(ck_tls_ctx *ctx, const char *server_name,
                          ck_tls_session **out, ck_errctx *err);
/* Frees s and drops its context reference. NULL is a no-op. */
void ck_tls_session_free(ck_tls_session *s);

/* Hands len bytes of ciphertext received from the network to the engine,
 * which copies them. Returns CK_OK or CK_ERR_NOMEM. */
ck_err ck_tls_session_feed(ck_tls_session *s, const uint8_t *data, size_t len,
                           ck_errctx *err);

/* Advances the handshake with the input fed so far. Returns CK_OK once the
 * handshake is complete (and on every later call), CK_ERR_AGAIN when it needs
 * more input (send what ck_tls_session_pending() reports first), or a
 * failure: CK_ERR_PIN_MISMATCH, CK_ERR_UNTRUSTED, CK_ERR_EXPIRED,
 * CK_ERR_NOT_YET_VALID, CK_ERR_VERIFY (name mismatch, wrong key usage),
 * CK_ERR_PEER_CERT_REQUIRED (server: the client sent no certificate), or
 * CK_ERR_TLS_HANDSHAKE (protocol failure, alert from the peer) with the
 * detail in err. After a failure, send the pending bytes (an alert) and drop
 * the session. */
ck_err ck_tls_session_handshake(ck_tls_session *s, ck_errctx *err);
/* 1 once the handshake has completed. */
int ck_tls_session_handshake_done(const ck_tls_session *s);

/* Decrypts up to cap bytes of plaintext into buf. Returns CK_OK with *n > 0,
 * CK_ERR_AGAIN when no complete record is buffered (feed more), CK_ERR_CLOSED
 * when the peer sent close_notify, or CK_ERR_TLS on a protocol error or fatal
 * alert. Reading may produce output (post-handshake messages): check
 * ck_tls_session_pending() afterwards. */
ck_err ck_tls_session_read(ck_tls_session *s, uint8_t *buf, size_t cap,
                           size_t *n, ck_errctx *err);

/* Encrypts all len bytes into the pending output (buffers grow as needed).
 * Only after the handshake. Returns CK_OK, CK_ERR_INVAL before the
 * handshake or after close, CK_ERR_TLS on failure. */
ck_err ck_tls_session_write(ck_tls_session *s, const uint8_t *data, size_t len,
                            ck_errctx *err);

/* Bytes of ciphertext waiting to be sent. */
size_t ck_tls_session_pending(const ck_tls_session *s);
/* Moves up to cap pending bytes into buf and returns how many. */
size_t ck_tls_session_take(ck_tls_session *s, uint8_t *buf, size_t cap);

/* Queues a close_notify alert (send the pending bytes, then close the
 * transport). Idempotent; no writes are accepted afterwards. */
void ck_tls_session_close(ck_tls_session *s);

/* The peer's leaf certificate (DER) after the handshake, or NULL (*len = 0)
 * when the peer sent none. Borrowed from s. *verified (may be NULL) is 1 when
 * the leaf passed the configured verification (trust bundle and/or pin), 0
 * when verification was off. */
const uint8_t *ck_tls_session_peer_cert(const ck_tls_session *s, size_t *len,
                                        int *verified);
/* The i-th certificate the peer presented, DER borrowed from s, in the
 * order it sent them: 0 is the leaf (what ck_tls_session_peer_cert gives),
 * then intermediates, then a root if the peer sends one. NULL (*len = 0)
 * past the end, before the handshake completed or when the peer sent no
 * certificate. This is the chain as presented, not as verified: only the
 * path from the leaf to the trust anchor (or pinned CA) was checked, and a
 * certificate above or beside that path is whatever the peer chose to
 * send. */
const uint8_t *ck_tls_session_peer_chain(const ck_tls_session *s, size_t i,
                                         size_t *len);
/* Number of certificates the peer presented (0 before the handshake). */
size_t ck_tls_session_peer_chain_count(const ck_tls_session *s);
/* With a CA pin, after a successful handshake: the presented certificate
 * whose SHA-256 matched ca_pin_sha256 and to which the leaf was verified,
 * DER borrowed from s, and its index in the presented chain (*index may be
 * NULL). NULL (*len = 0) without a CA pin or before the handshake. */
const uint8_t *ck_tls_session_pinned_ca(const ck_tls_session *s, size_t *len,
                                        size_t *index);
/* Negotiated protocol version (CK_TLS_V12 / CK_TLS_V13), ANY before the
 * handshake. */
ck_tls_version ck_tls_session_version(const ck_tls_session *s);
/* Negotiated cipher suite in the backend's own spelling, static string
 * ("TLS_AES_128_GCM_SHA256", "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256"),
 * or "" before the handshake. */
const char *ck_tls_session_cipher(const ck_tls_session *s);
/* Negotiated ALPN protocol (NUL-terminated, borrowed from s) or NULL. */
const char *ck_tls_session_alpn(const ck_tls_session *s);

/* Channel binding value of the completed handshake for type, copied into
 * out (cap bytes, 64 is always enough); *len receives its length. Returns
 * CK_ERR_UNSUPPORTED when the type is not defined for the negotiated
 * protocol (tls-unique on TLS 1.3, tls-exporter on TLS 1.2 without extended
 * master secret), CK_ERR_INVAL before the handshake, CK_ERR_RANGE if cap is
 * too small. */
ck_err ck_tls_session_channel_binding(const ck_tls_session *s,
                                      ck_tls_binding type, uint8_t *out,
                                      size_t cap, size_t *len, ck_errctx *err);

#endif
