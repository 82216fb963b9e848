/* err.h — the one error enum of certkeeper.
 *
 * Every fallible function returns a ck_err (CK_OK = 0, failures negative) and
 * hands results back through out-parameters. Human detail travels in a
 * ck_errctx filled with ck_failf(), so callers can show "what went wrong and
 * where" without each layer logging on the way up (curl's failf).
 *
 * To add a code: append a line to CK_ERR_MAP with the next free negative
 * number. Numbers are stable; never reuse one. */
#ifndef CK_UTIL_ERR_H
#define CK_UTIL_ERR_H

#include <stddef.h>

#define CK_ERR_MAP(X)                                                          \
  X(OK, 0, "success")                                                          \
  X(NOMEM, -1, "out of memory")                                                \
  X(INVAL, -2, "invalid argument")                                             \
  X(IO, -3, "input/output error")                                              \
  X(NOENT, -4, "no such file or entry")                                        \
  X(EXIST, -5, "already exists")                                               \
  X(PERM, -6, "permission denied")                                             \
  X(RANGE, -7, "value out of range")                                           \
  X(PARSE, -8, "malformed input")                                              \
  X(CONFIG, -9, "configuration error")                                         \
  X(UNSUPPORTED, -10, "not supported by this build")                           \
  X(INTERNAL, -11, "internal error")                                           \
  X(TIMEOUT, -12, "timed out")                                                 \
  X(CLOSED, -13, "connection closed")                                          \
  X(AGAIN, -14, "try again later")                                             \
  X(LIMIT, -15, "limit exceeded")                                              \
  X(BUSY, -16, "resource busy")                                                \
  X(CANCELED, -17, "operation canceled")                                       \
  /* crypto */                                                                 \
  X(CRYPTO, -100, "cryptographic operation failed")                            \
  X(BAD_PEM, -101, "malformed PEM")                                            \
  X(BAD_DER, -102, "malformed DER")                                            \
  X(BAD_CERT, -103, "malformed certificate")                                   \
  X(BAD_CSR, -104, "malformed certificate signing request")                    \
  X(BAD_KEY, -105, "malformed private key")                                    \
  X(KEY_ENCRYPTED, -106, "private key is encrypted")                           \
  X(KEY_MISMATCH, -107, "private key does not match the certificate")          \
  X(BAD_SIGNATURE, -108, "signature does not verify")                          \
  X(VERIFY, -109, "certificate chain does not verify")                         \
  X(EXPIRED, -110, "certificate has expired")                                  \
  X(NOT_YET_VALID, -111, "certificate is not yet valid")                       \
  X(UNTRUSTED, -112, "certificate does not chain to a trusted root")           \
  X(BAD_PASSWORD, -113, "wrong password")                                      \
  X(BAD_PKCS12, -114, "malformed PKCS#12 file")                                \
  X(WEAK_KEY, -115, "key type or size not allowed")                            \
  /* wire protocol */                                                          \
  X(WIRE_TRUNCATED, -200, "frame truncated")                                   \
  X(WIRE_TOO_BIG, -201, "frame exceeds maximum size")                          \
  X(WIRE_DEPTH, -202, "frame nested too deeply")                               \
  X(WIRE_LENGTH, -203, "string or array longer than allowed")                  \
  X(WIRE_TYPE, -204, "field has the wrong type")                               \
  X(WIRE_MISSING, -205, "required field missing")                              \
  X(WIRE_VERSION, -206, "unsupported protocol version")                        \
  X(WIRE_UNKNOWN_TYPE, -207, "unknown message type")                           \
  X(WIRE_NOT_MAP, -208, "frame is not a msgpack map")                          \
  X(WIRE_TRAILING, -209, "bytes after the msgpack map")                        \
  X(WIRE_MALFORMED, -210, "malformed msgpack")                                 \
  /* network, TLS, HTTP */                                                     \
  X(NET, -300, "network error")                                                \
  X(ADDR, -301, "bad address")                                                 \
  X(TLS, -302, "TLS error")                                                    \
  X(TLS_HANDSHAKE, -303, "TLS handshake failed")                               \
  X(PIN_MISMATCH, -304, "peer certificate does not match the pinned fingerprint") \
  X(PEER_CERT_REQUIRED, -305, "peer did not present a certificate")            \
  X(HTTP_PARSE, -320, "malformed HTTP request")                                \
  X(HTTP_HEADERS_TOO_LARGE, -321, "HTTP request headers too large")            \
  X(HTTP_BODY_TOO_LARGE, -322, "HTTP request body too large")                  \
  /* authentication and policy */                                              \
  X(AUTH, -400, "authentication failed")                                       \
  X(DENIED, -401, "denied by policy")                                          \
  X(NOT_FOUND, -402, "not found")                                              \
  X(CONFLICT, -403, "conflicts with the current state")                        \
  /* storage */                                                                \
  X(STORE, -500, "storage error")                                              \
  X(STORE_SCHEMA, -501, "database schema is newer than this program")          \
  /* ACME: upstream connector (coordinator/ca/upstream_acme.c) */             \
  X(UPSTREAM, -690, "the upstream CA refused or failed")

typedef enum ck_err {
#define CK__ERR_ENUM(name, code, msg) CK_ERR_##name = code,
  CK_ERR_MAP(CK__ERR_ENUM)
#undef CK__ERR_ENUM
} ck_err;

#define CK_OK CK_ERR_OK

/* Returns the symbolic name ("CK_ERR_PARSE") of err; "CK_ERR_UNKNOWN" for a
 * value not in the map. The string is static. */
const char *ck_err_name(ck_err err);

/* Returns a short human description of err; static string. */
const char *ck_strerror(ck_err err);

/* Maps a negative errno (or libuv error code, which are negative errnos on
 * Unix) to the closest ck_err. */
ck_err ck_err_from_errno(int neg_errno);

/* An error context: the code and a human message saying what failed and
 * where ("/etc/certkeeper/agent.conf:12: key 'interval': not a duration").
 * Callers allocate it (usually on the stack) and zero it with CK_ERRCTX_INIT. */
typedef struct ck_errctx {
  ck_err code;   /* last failure recorded, CK_OK if none */
  char msg[512]; /* NUL-terminated human message; "" if none */
} ck_errctx;

#define CK_ERRCTX_INIT {CK_OK, {0}}

/* Records code and a printf-style message in ctx (which may be NULL) and
 * returns code, so callers can write `return ck_failf(ctx, CK_ERR_PARSE,
 * "...")`. A message already present is kept as the tail: the new one is
 * prepended with ": " so context accumulates outward. */
ck_err ck_failf(ck_errctx *ctx, ck_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like ck_failf but replaces any earlier message instead of prefixing it. */
ck_err ck_setf(ck_errctx *ctx, ck_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Returns the message in ctx, or ck_strerror(code) when ctx has no message. */
const char *ck_errctx_msg(const ck_errctx *ctx);

/* Clears ctx back to CK_OK with no message. */
void ck_errctx_clear(ck_errctx *ctx);

#endif
