/* wire.h — the agent <-> coordinator protocol: typed messages and their
 * msgpack encoding.
 *
 * A frame is a 4-byte big-endian body length followed by a body that is
 * exactly one msgpack map. Every map carries the envelope `v` (protocol
 * version), `t` (message type name) and `id` (request id; replies echo the id
 * of the message they answer). docs/protocol.md documents every message and
 * field; a unit test keeps it in step with the tables in types.c.
 *
 * Decoding is defensive: ck_wire_validate() walks the raw bytes without
 * allocating and checks depth, declared lengths and the limits before
 * msgpack-c is allowed to allocate anything; then the typed decoder copies the
 * fields it knows into a caller-owned arena (unknown fields are ignored, so
 * newer peers can add fields). Encoding runs the same validation on what it
 * produced, so we never send a frame our own decoder would refuse.
 *
 * Files: types.c (type table, field schemas), validate.c (pre-validation
 * walk), encode.c, decode.c, msg.c (error replies, helpers), framer.c
 * (framer.h: splitting a byte stream into frames). */
#ifndef CK_WIRE_WIRE_H
#define CK_WIRE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util/err.h"
#include "common/util/mem.h"

/* Protocol version this code speaks (the `v` of every frame it sends). */
#define CK_WIRE_VERSION 1u
/* Oldest version it still accepts. */
#define CK_WIRE_VERSION_MIN 1u

/* Bytes of the length prefix in front of every frame body. */
#define CK_WIRE_HEADER_LEN 4u

/* Hard cap on max_depth: msgpack-c's unpacker has a fixed stack of 32. */
#define CK_WIRE_DEPTH_CAP 32u

/* Most entries a `command.args` map may carry (duplicate keys are refused). */
#define CK_WIRE_MAX_ARGS 64u

/* Limits applied to every frame, checked before anything is allocated. */
typedef struct ck_wire_limits {
  size_t max_frame;   /* body bytes (excluding the 4-byte prefix); 1 MiB */
  unsigned max_depth; /* nesting of maps/arrays, the top map is 1; 8 */
  size_t max_str;     /* bytes in one str, bin or ext; 512 KiB */
  size_t max_entries; /* elements of one array, or pairs of one map; 16384 */
  size_t max_objects; /* msgpack objects in the whole frame; 262144 */
} ck_wire_limits;

/* Returns the default limits (values in the comments above). */
ck_wire_limits ck_wire_limits_default(void);

/* ---- message types ---------------------------------------------------- */

/* Who may send a message type. */
typedef enum ck_wire_dir {
  CK_WIRE_TO_COORD = 1, /* agent -> coordinator */
  CK_WIRE_TO_AGENT = 2, /* coordinator -> agent */
  CK_WIRE_BOTH = 3      /* either side */
} ck_wire_dir;

/* X(ENUM, name, direction): the message table. The wire name is #name. */
#define CK_WIRE_TYPE_MAP(X)                                                    \
  X(HELLO, hello, CK_WIRE_TO_COORD)                                            \
  X(ENROLL, enroll, CK_WIRE_TO_COORD)                                          \
  X(INVENTORY, inventory, CK_WIRE_TO_COORD)                                    \
  X(EVENT, event, CK_WIRE_TO_COORD)                                            \
  X(CSR, csr, CK_WIRE_TO_COORD)                                                \
  X(ACK, ack, CK_WIRE_BOTH)                                                    \
  X(PONG, pong, CK_WIRE_TO_COORD)                                              \
  X(WELCOME, welcome, CK_WIRE_TO_AGENT)                                        \
  X(CERT, cert, CK_WIRE_TO_AGENT)                                              \
  X(PENDING, pending, CK_WIRE_TO_AGENT)                                        \
  X(ERROR, error, CK_WIRE_BOTH)                                                \
  X(COMMAND, command, CK_WIRE_TO_AGENT)                                        \
  X(PING, ping, CK_WIRE_TO_AGENT)

typedef enum ck_wire_type {
  CK_WIRE_UNKNOWN = 0, /* not a type: unknown or not yet decoded */
#define CK__WIRE_TYPE_ENUM(e, name, dir) CK_WIRE_##e,
  CK_WIRE_TYPE_MAP(CK__WIRE_TYPE_ENUM)
#undef CK__WIRE_TYPE_ENUM
      CK_WIRE_TYPE__MAX
} ck_wire_type;

/* Returns the wire name of t ("hello"), or NULL for CK_WIRE_UNKNOWN and
 * out-of-range values. Static string. */
const char *ck_wire_type_name(ck_wire_type t);
/* Returns the type whose wire name is the n bytes at name, or
 * CK_WIRE_UNKNOWN. */
ck_wire_type ck_wire_type_from_name(const char *name, size_t n);
/* Returns who may send t (0 for CK_WIRE_UNKNOWN). */
ck_wire_dir ck_wire_type_dir(ck_wire_type t);
/* True when a peer of the given role may receive t: an agent receives
 * CK_WIRE_TO_AGENT and CK_WIRE_BOTH types. role is CK_WIRE_TO_AGENT for the
 * agent side, CK_WIRE_TO_COORD for the coordinator side. */
bool ck_wire_type_receivable(ck_wire_type t, ck_wire_dir role);

/* ---- value types used in messages ---------------------------------------
 * Absence: an optional string or bin is absent when its pointer is NULL; an
 * optional number or bool when its has_<name> flag is false; an optional
 * list when its count is 0. */

typedef struct ck_wire_bytes {
  const uint8_t *data; /* NULL = absent (decoded: never NULL if present) */
  size_t len;
} ck_wire_bytes;

typedef struct ck_wire_strv {
  const char **v; /* n NUL-terminated strings */
  size_t n;
} ck_wire_strv;

typedef struct ck_wire_binv {
  const ck_wire_bytes *v;
  size_t n;
} ck_wire_binv;

typedef struct ck_wire_kv {
  const char *key;
  const char *value;
} ck_wire_kv;

typedef struct ck_wire_kvv {
  const ck_wire_kv *v; /* at most CK_WIRE_MAX_ARGS, keys unique */
  size_t n;
} ck_wire_kvv;

/* ---- agent -> coordinator ----------------------------------------------- */

/* First message of every session. */
typedef struct ck_wire_hello {
  const char *agent_id; /* optional: absent before enrollment */
  const char *version;  /* agent software version, "0.1.0" */
  const char *platform; /* "linux-x86_64", "firmware-armv7" */
  ck_wire_strv caps;    /* capabilities: "pkcs12", "est", "reload.systemd" */
  uint32_t max_v;       /* highest protocol version the agent speaks */
  bool has_max_v;
} ck_wire_hello;

/* Facts about the host: sent at enrollment, and again in inventories when
 * they change (the hardware key stores come and go). */
typedef struct ck_wire_host {
  const char *hostname;   /* short host name */
  const char *fqdn;       /* optional */
  const char *os;         /* "linux" */
  const char *os_version; /* optional: "Debian 12" */
  const char *arch;       /* "x86_64" */
  const char *machine_id; /* optional: /etc/machine-id or device serial */
  ck_wire_strv addrs;     /* optional: IP addresses of the host */
  ck_wire_strv hwkeys;    /* optional: hardware key stores present, "kind:name":
                             "tpm:tpm0", "tpm:tpmrm0",
                             "smartcard-reader:<name or devpath>" */
} ck_wire_host;

/* One-time enrollment: token plus a CSR for a key generated on the host. */
typedef struct ck_wire_enroll {
  const char *token; /* one-time enrollment token (secret) */
  ck_wire_bytes csr; /* PKCS#10, PEM or DER */
  ck_wire_host host;
} ck_wire_enroll;

typedef enum ck_wire_inv_mode {
  CK_WIRE_INV_UNKNOWN = 0, /* a value this build does not know */
  CK_WIRE_INV_FULL,        /* the findings replace everything known */
  CK_WIRE_INV_DELTA        /* findings added/changed since `base` */
} ck_wire_inv_mode;

/* One certificate found on the host (file or endpoint). */
typedef struct ck_wire_finding {
  const char *path;   /* file path, or "tcp://addr:port" for endpoints */
  const char *format; /* optional: "pem", "der", "pkcs12", "jks" */
  uint32_t index;     /* position in a bundle file */
  bool has_index;
  ck_wire_bytes fingerprint; /* optional: SHA-256 of the DER (32 bytes) */
  const char *subject;       /* optional: RFC 4514 string */
  const char *issuer;        /* optional */
  const char *serial;        /* optional: hex, upper case, no colons */
  int64_t not_before;        /* epoch seconds */
  bool has_not_before;
  int64_t not_after; /* epoch seconds */
  bool has_not_after;
  ck_wire_strv sans;    /* "DNS:example.com", "IP:192.0.2.1", "URI:..." */
  const char *key_type; /* optional: "rsa", "ec", "ed25519" */
  uint32_t key_bits;
  bool has_key_bits;
  const char *sig_alg; /* optional: "sha256WithRSAEncryption" */
  bool is_ca;
  bool has_is_ca;
  const char *key_path; /* optional: private key file found for it */
  bool key_match;       /* the key at key_path matches the certificate */
  bool has_key_match;
  const char *owner; /* optional: file owner (user name or uid) */
  const char *group; /* optional */
  uint32_t mode;     /* file permission bits */
  bool has_mode;
  ck_wire_strv services;  /* "nginx", "haproxy" using the file */
  ck_wire_strv endpoints; /* "0.0.0.0:443" serving it */
  ck_wire_strv risks;     /* "expired", "weak_key", "key_world_readable" */
  const char *managed_id; /* optional: managed certificate id, if managed */
  ck_wire_bytes der;      /* optional: the certificate's DER, so the
                             coordinator can store one it never issued */
} ck_wire_finding;

/* Discovery results; a large full inventory is split into parts. */
typedef struct ck_wire_inventory {
  ck_wire_inv_mode mode;
  uint64_t seq;  /* inventory generation, increases per scan */
  uint64_t base; /* delta only: the generation it applies to */
  bool has_base;
  uint32_t part; /* 0-based part number within seq (default 0) */
  bool has_part;
  bool final; /* last part of seq (default true) */
  bool has_final;
  int64_t scanned_at; /* epoch seconds */
  bool has_scanned_at;
  const ck_wire_finding *findings; /* n_findings entries */
  size_t n_findings;
  ck_wire_strv removed; /* delta: paths that no longer hold a certificate */
  ck_wire_host host;    /* optional: the host's current facts (part 0 of a
                           full inventory; a delta when they changed) */
  bool has_host;
} ck_wire_inventory;

typedef enum ck_wire_event_kind {
  CK_WIRE_EVENT_UNKNOWN = 0,
  CK_WIRE_EVENT_STATE,  /* a managed certificate changed state */
  CK_WIRE_EVENT_FAILURE /* a step failed (will be retried with backoff) */
} ck_wire_event_kind;

typedef struct ck_wire_event {
  ck_wire_event_kind kind;
  const char *cert_id;   /* managed certificate id */
  const char *old_state; /* optional: "SUBMITTED" */
  const char *new_state; /* "HAVE_CERT", "FAILED" */
  const char *reason;    /* optional: human text */
  int32_t code;          /* ck_err of the failure */
  bool has_code;
  int64_t at;       /* epoch seconds when it happened */
  uint32_t attempt; /* retry count of the failing step */
  bool has_attempt;
  ck_wire_bytes fingerprint; /* optional: SHA-256 of the cert now in place */
} ck_wire_event;

/* Renewal request for a managed certificate. */
typedef struct ck_wire_csr {
  const char *cert_id;    /* managed certificate id */
  const char *profile;    /* issuance profile name */
  ck_wire_bytes csr;      /* PKCS#10, PEM or DER */
  const char *reason;     /* optional: "expiring", "rekey", "command" */
  ck_wire_bytes replaces; /* optional: SHA-256 of the certificate replaced */
} ck_wire_csr;

/* Positive acknowledgement (id echoes the acknowledged message): the agent
 * acks a cert or command, the coordinator an inventory or event it has
 * stored (so the agent's outbox can drop it). */
typedef struct ck_wire_ack {
  const char *detail; /* optional: human text */
} ck_wire_ack;

/* Answer to ping (id echoes it). */
typedef struct ck_wire_pong {
  int64_t time; /* agent clock, epoch seconds */
} ck_wire_pong;

/* ---- coordinator -> agent ----------------------------------------------- */

/* Answer to hello (id echoes it). */
typedef struct ck_wire_welcome {
  const char *session;    /* session id, for logs on both sides */
  const char *agent_id;   /* optional: absent for an unenrolled agent */
  int64_t server_time;    /* coordinator clock, epoch seconds */
  uint32_t ping_interval; /* seconds between pings */
  bool has_ping_interval;
  uint32_t scan_interval; /* seconds between discovery scans */
  bool has_scan_interval;
  uint32_t inventory_interval; /* seconds between full inventories */
  bool has_inventory_interval;
  uint32_t max_frame; /* largest body the coordinator accepts */
  bool has_max_frame;
} ck_wire_welcome;

/* An issued certificate, answering enroll or csr (id echoes it). */
typedef struct ck_wire_cert {
  ck_wire_bytes cert;   /* DER of the certificate */
  ck_wire_binv chain;   /* DER, issuer of cert first; optional */
  const char *cert_id;  /* optional: managed certificate id */
  const char *agent_id; /* optional: enrollment answer: the agent's id */
  int64_t renew_at;     /* optional: epoch seconds when the profile's renewal
                           window opens (the agent renews then, minus jitter) */
  bool has_renew_at;
  ck_wire_binv roots;   /* optional: DER trust anchors of chain when it does
                           not end at the coordinator's CA (an upstream CA);
                           the agent checks this certificate against them */
} ck_wire_cert;

/* The request (id echoes it) waits, e.g. for approval. */
typedef struct ck_wire_pending {
  const char *reason;   /* "approval", "ca_busy" */
  uint32_t retry_after; /* seconds before asking again */
  const char *ticket;   /* optional: coordinator request number */
} ck_wire_pending;

/* A failure answering the message with this id (0 when it is unknown). */
typedef struct ck_wire_error {
  int32_t code;        /* ck_err value (numbers are stable) */
  const char *message; /* human text */
  bool fatal;          /* the sender closes the session after this */
  bool has_fatal;
  uint32_t retry_after; /* seconds, when retrying makes sense */
  bool has_retry_after;
} ck_wire_error;

typedef enum ck_wire_action {
  CK_WIRE_ACT_UNKNOWN = 0,
  CK_WIRE_ACT_RENEW,                 /* "renew" */
  CK_WIRE_ACT_RESCAN,                /* "rescan" */
  CK_WIRE_ACT_REPLACE_BEFORE_REVOKE, /* "replace-before-revoke" */
  CK_WIRE_ACT_TRUST_UPDATE,          /* "trust-update" */
  CK_WIRE_ACT_CONFIG                 /* "config" */
} ck_wire_action;

typedef struct ck_wire_command {
  ck_wire_action action;
  const char *target; /* optional: managed cert id or path it applies to */
  ck_wire_kvv args;   /* optional: action-specific string arguments */
  ck_wire_bytes data; /* optional: payload (trust bundle, config snippet) */
} ck_wire_command;

typedef struct ck_wire_ping {
  int64_t time; /* coordinator clock, epoch seconds */
} ck_wire_ping;

/* ---- the message ------------------------------------------------------- */

typedef struct ck_wire_msg {
  ck_wire_type type;
  uint32_t v;  /* decoded: the frame's version; ignored by encode */
  uint64_t id; /* request id; replies echo the request's */
  bool has_id; /* decode: set once `id` was read (also on failure) */
  union {
    ck_wire_hello hello;
    ck_wire_enroll enroll;
    ck_wire_inventory inventory;
    ck_wire_event event;
    ck_wire_csr csr;
    ck_wire_ack ack;
    ck_wire_pong pong;
    ck_wire_welcome welcome;
    ck_wire_cert cert;
    ck_wire_pending pending;
    ck_wire_error error;
    ck_wire_command command;
    ck_wire_ping ping;
  } u;
} ck_wire_msg;

/* Names of enum values on the wire ("full", "replace-before-revoke"); the
 * UNKNOWN value is "unknown". NULL when out of range. */
const char *ck_wire_inv_mode_name(ck_wire_inv_mode m);
const char *ck_wire_event_kind_name(ck_wire_event_kind k);
const char *ck_wire_action_name(ck_wire_action a);

/* ---- validation, encoding, decoding ------------------------------------ */

/* Checks that body[0..len) is exactly one msgpack map within lim (NULL:
 * defaults): every declared length fits in the remaining bytes and in the
 * limits, nesting stays within max_depth, and no byte follows the map.
 * Allocates nothing. Returns CK_OK or CK_ERR_WIRE_TRUNCATED, _TOO_BIG,
 * _DEPTH, _LENGTH, _NOT_MAP, _TRAILING or _MALFORMED with the offset in err. */
ck_err ck_wire_validate(const uint8_t *body, size_t len,
                        const ck_wire_limits *lim, ck_errctx *err);

/* Encodes m as a complete frame (length prefix + body) into a malloc'ed
 * buffer *out (caller frees with free()) of *out_len bytes. Required fields
 * must be set (CK_ERR_INVAL names the missing one); the result must fit lim
 * (NULL: defaults), else the validation error (e.g. CK_ERR_WIRE_TOO_BIG).
 * On failure *out is NULL. */
ck_err ck_wire_encode(const ck_wire_msg *m, const ck_wire_limits *lim,
                      uint8_t **out, size_t *out_len, ck_errctx *err);

/* Decodes one frame body (without the length prefix) into *out; strings,
 * bins and lists are copied into arena (caller-owned; free it to free the
 * message), so the body may be released once this returns. lim NULL means
 * defaults. Unknown fields are ignored.
 * Errors: the validation errors above; CK_ERR_WIRE_MISSING / _TYPE naming the
 * field ("inventory.findings[2].fingerprint"); CK_ERR_WIRE_VERSION;
 * CK_ERR_WIRE_UNKNOWN_TYPE; CK_ERR_WIRE_MALFORMED (duplicate key, bad
 * msgpack); CK_ERR_NOMEM. On failure *out still holds what the envelope
 * gave (has_id/id, v, type) so ck_wire_error_reply() can echo the id. */
ck_err ck_wire_decode(const uint8_t *body, size_t len,
                      const ck_wire_limits *lim, ck_arena *arena,
                      ck_wire_msg *out, ck_errctx *err);

/* Fills reply with the `error` message answering a frame that failed with
 * err (code and message borrowed from err: keep err alive until reply is
 * encoded). bad is what ck_wire_decode left in its out (NULL: id 0). The
 * session should send it and continue; fatal is set only for errors after
 * which the stream cannot be resynchronised (CK_ERR_WIRE_TOO_BIG). */
void ck_wire_error_reply(ck_wire_msg *reply, const ck_wire_msg *bad,
                         const ck_errctx *err);

/* Overwrites secret fields of a decoded message (the enrollment token) in
 * place. Call before freeing the arena that holds it. */
void ck_wire_msg_wipe_secrets(ck_wire_msg *m);

/* ---- introspection (docs check, tools) ---------------------------------- */

/* Calls cb for every field of message type t, depth first, in encoding
 * order. path is "version", "host.hostname", "findings[].path"; type is the
 * doc type ("str", "bin", "u32", "u64", "i32", "i64", "bool", "enum",
 * "[str]", "[bin]", "{str:str}", "map", "[map]"); required says whether the
 * field must be present (for nested fields: when its parent is); values
 * is, for an enum, the NULL-terminated list of its wire values (without
 * "unknown"), else NULL. The envelope (v, t, id) is not included. */
typedef void (*ck_wire_field_cb)(const char *path, const char *type,
                                 bool required, const char *const *values,
                                 void *arg);
void ck_wire_each_field(ck_wire_type t, ck_wire_field_cb cb, void *arg);

#endif
