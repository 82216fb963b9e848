/* types.c — the message table of the wire protocol: type names and
 * directions, the enum value names, and the field schema of every message.
 *
 * This file is the single source of truth for what is on the wire: the
 * encoder, the decoder and the docs check (tests/unit/wire/test_doc.c via
 * ck_wire_each_field) all read these tables. Adding a field is adding a line
 * here, a member in wire.h and a row in docs/protocol.md. */
#include <stdio.h>
#include <string.h>

#include "common/wire/wire.h"
#include "common/wire/wire_int.h"

_Static_assert(sizeof(ck_wire_inv_mode) == sizeof(int), "enum is int-sized");
_Static_assert(sizeof(ck_wire_event_kind) == sizeof(int), "enum is int-sized");
_Static_assert(sizeof(ck_wire_action) == sizeof(int), "enum is int-sized");

ck_wire_limits ck_wire_limits_default(void) {
  ck_wire_limits l;

  l.max_frame = 1024u * 1024u;
  l.max_depth = 8;
  l.max_str = 512u * 1024u;
  l.max_entries = 16384;
  l.max_objects = 262144;
  return l;
}

/* ---- type table -------------------------------------------------------- */

static const struct {
  const char *name;
  ck_wire_dir dir;
} type_table[CK_WIRE_TYPE__MAX] = {[CK_WIRE_UNKNOWN] = {NULL, 0},
#define CK__WIRE_TYPE_ROW(e, nm, d) [CK_WIRE_##e] = {#nm, d},
                                   CK_WIRE_TYPE_MAP(CK__WIRE_TYPE_ROW)
#undef CK__WIRE_TYPE_ROW
};

const char *ck_wire_type_name(ck_wire_type t) {
  if ((int)t <= CK_WIRE_UNKNOWN || t >= CK_WIRE_TYPE__MAX)
    return NULL;
  return type_table[t].name;
}

ck_wire_type ck_wire_type_from_name(const char *name, size_t n) {
  int t;

  for (t = CK_WIRE_UNKNOWN + 1; t < CK_WIRE_TYPE__MAX; t++)
    if (strlen(type_table[t].name) == n &&
        memcmp(type_table[t].name, name, n) == 0)
      return (ck_wire_type)t;
  return CK_WIRE_UNKNOWN;
}

ck_wire_dir ck_wire_type_dir(ck_wire_type t) {
  if ((int)t <= CK_WIRE_UNKNOWN || t >= CK_WIRE_TYPE__MAX)
    return (ck_wire_dir)0;
  return type_table[t].dir;
}

bool ck_wire_type_receivable(ck_wire_type t, ck_wire_dir role) {
  return (ck_wire_type_dir(t) & role) != 0;
}

/* ---- enum values ------------------------------------------------------- */

static const char *const inv_mode_names[] = {"unknown", "full", "delta", NULL};
static const char *const event_kind_names[] = {"unknown", "state", "failure",
                                               NULL};
static const char *const action_names[] = {
    "unknown",      "renew",  "rescan", "replace-before-revoke",
    "trust-update", "config", NULL};

size_t ck__wire_enum_count(const char *const *values) {
  size_t n = 0;

  while (values[n] != NULL)
    n++;
  return n;
}

static const char *enum_name(const char *const *values, int v) {
  if (v < 0 || (size_t)v >= ck__wire_enum_count(values))
    return NULL;
  return values[v];
}

const char *ck_wire_inv_mode_name(ck_wire_inv_mode m) {
  return enum_name(inv_mode_names, (int)m);
}
const char *ck_wire_event_kind_name(ck_wire_event_kind k) {
  return enum_name(event_kind_names, (int)k);
}
const char *ck_wire_action_name(ck_wire_action a) {
  return enum_name(action_names, (int)a);
}

/* ---- schemas ----------------------------------------------------------- */

/* Row builders. REQ/OPT: value without a presence flag (strings, bins and
 * lists carry absence themselves); OPTH: optional scalar with has_<name>. */
#define ROW(T, nm, kind, flags, has, n, sub, vals)                             \
  { #nm, kind, flags, offsetof(T, nm), has, n, sub, vals }
#define REQ(T, nm, kind)                                                       \
  ROW(T, nm, kind, CK__WF_REQUIRED, CK__WIRE_NO_OFF, CK__WIRE_NO_OFF, NULL,    \
      NULL)
#define OPT(T, nm, kind)                                                       \
  ROW(T, nm, kind, 0, CK__WIRE_NO_OFF, CK__WIRE_NO_OFF, NULL, NULL)
#define OPTH(T, nm, kind)                                                      \
  ROW(T, nm, kind, 0, offsetof(T, has_##nm), CK__WIRE_NO_OFF, NULL, NULL)
#define REQ_ENUM(T, nm, vals)                                                  \
  ROW(T, nm, CK__WK_ENUM, CK__WF_REQUIRED, CK__WIRE_NO_OFF, CK__WIRE_NO_OFF,   \
      NULL, vals)
#define SCHEMA(var, nm, T, rows)                                               \
  _Static_assert(sizeof rows / sizeof rows[0] <= 64,                           \
                 "decode.c tracks fields in a 64-bit mask");                   \
  static const ck__wire_schema var = {nm, sizeof(T), rows,                     \
                                      sizeof rows / sizeof rows[0]}

static const ck__wire_field hello_rows[] = {
    OPT(ck_wire_hello, agent_id, CK__WK_STR),
    REQ(ck_wire_hello, version, CK__WK_STR),
    REQ(ck_wire_hello, platform, CK__WK_STR),
    OPT(ck_wire_hello, caps, CK__WK_STRV),
    OPTH(ck_wire_hello, max_v, CK__WK_U32),
};
SCHEMA(hello_schema, "hello", ck_wire_hello, hello_rows);

static const ck__wire_field host_rows[] = {
    REQ(ck_wire_host, hostname, CK__WK_STR),
    OPT(ck_wire_host, fqdn, CK__WK_STR),
    REQ(ck_wire_host, os, CK__WK_STR),
    OPT(ck_wire_host, os_version, CK__WK_STR),
    REQ(ck_wire_host, arch, CK__WK_STR),
    OPT(ck_wire_host, machine_id, CK__WK_STR),
    OPT(ck_wire_host, addrs, CK__WK_STRV),
    OPT(ck_wire_host, hwkeys, CK__WK_STRV),
};
SCHEMA(host_schema, "host", ck_wire_host, host_rows);

static const ck__wire_field enroll_rows[] = {
    ROW(ck_wire_enroll, token, CK__WK_STR, CK__WF_REQUIRED | CK__WF_SECRET,
        CK__WIRE_NO_OFF, CK__WIRE_NO_OFF, NULL, NULL),
    REQ(ck_wire_enroll, csr, CK__WK_BIN),
    ROW(ck_wire_enroll, host, CK__WK_STRUCT, CK__WF_REQUIRED, CK__WIRE_NO_OFF,
        CK__WIRE_NO_OFF, &host_schema, NULL),
};
SCHEMA(enroll_schema, "enroll", ck_wire_enroll, enroll_rows);

static const ck__wire_field finding_rows[] = {
    REQ(ck_wire_finding, path, CK__WK_STR),
    OPT(ck_wire_finding, format, CK__WK_STR),
    OPTH(ck_wire_finding, index, CK__WK_U32),
    OPT(ck_wire_finding, fingerprint, CK__WK_BIN),
    OPT(ck_wire_finding, subject, CK__WK_STR),
    OPT(ck_wire_finding, issuer, CK__WK_STR),
    OPT(ck_wire_finding, serial, CK__WK_STR),
    OPTH(ck_wire_finding, not_before, CK__WK_I64),
    OPTH(ck_wire_finding, not_after, CK__WK_I64),
    OPT(ck_wire_finding, sans, CK__WK_STRV),
    OPT(ck_wire_finding, key_type, CK__WK_STR),
    OPTH(ck_wire_finding, key_bits, CK__WK_U32),
    OPT(ck_wire_finding, sig_alg, CK__WK_STR),
    OPTH(ck_wire_finding, is_ca, CK__WK_BOOL),
    OPT(ck_wire_finding, key_path, CK__WK_STR),
    OPTH(ck_wire_finding, key_match, CK__WK_BOOL),
    OPT(ck_wire_finding, owner, CK__WK_STR),
    OPT(ck_wire_finding, group, CK__WK_STR),
    OPTH(ck_wire_finding, mode, CK__WK_U32),
    OPT(ck_wire_finding, services, CK__WK_STRV),
    OPT(ck_wire_finding, endpoints, CK__WK_STRV),
    OPT(ck_wire_finding, risks, CK__WK_STRV),
    OPT(ck_wire_finding, managed_id, CK__WK_STR),
    OPT(ck_wire_finding, der, CK__WK_BIN),
};
SCHEMA(finding_schema, "finding", ck_wire_finding, finding_rows);

static const ck__wire_field inventory_rows[] = {
    REQ_ENUM(ck_wire_inventory, mode, inv_mode_names),
    REQ(ck_wire_inventory, seq, CK__WK_U64),
    OPTH(ck_wire_inventory, base, CK__WK_U64),
    OPTH(ck_wire_inventory, part, CK__WK_U32),
    OPTH(ck_wire_inventory, final, CK__WK_BOOL),
    OPTH(ck_wire_inventory, scanned_at, CK__WK_I64),
    ROW(ck_wire_inventory, findings, CK__WK_STRUCTV, CK__WF_REQUIRED,
        CK__WIRE_NO_OFF, offsetof(ck_wire_inventory, n_findings),
        &finding_schema, NULL),
    OPT(ck_wire_inventory, removed, CK__WK_STRV),
    ROW(ck_wire_inventory, host, CK__WK_STRUCT, 0,
        offsetof(ck_wire_inventory, has_host), CK__WIRE_NO_OFF, &host_schema,
        NULL),
};
SCHEMA(inventory_schema, "inventory", ck_wire_inventory, inventory_rows);

static const ck__wire_field event_rows[] = {
    REQ_ENUM(ck_wire_event, kind, event_kind_names),
    REQ(ck_wire_event, cert_id, CK__WK_STR),
    OPT(ck_wire_event, old_state, CK__WK_STR),
    REQ(ck_wire_event, new_state, CK__WK_STR),
    OPT(ck_wire_event, reason, CK__WK_STR),
    OPTH(ck_wire_event, code, CK__WK_I32),
    REQ(ck_wire_event, at, CK__WK_I64),
    OPTH(ck_wire_event, attempt, CK__WK_U32),
    OPT(ck_wire_event, fingerprint, CK__WK_BIN),
};
SCHEMA(event_schema, "event", ck_wire_event, event_rows);

static const ck__wire_field csr_rows[] = {
    REQ(ck_wire_csr, cert_id, CK__WK_STR),
    REQ(ck_wire_csr, profile, CK__WK_STR),
    REQ(ck_wire_csr, csr, CK__WK_BIN),
    OPT(ck_wire_csr, reason, CK__WK_STR),
    OPT(ck_wire_csr, replaces, CK__WK_BIN),
};
SCHEMA(csr_schema, "csr", ck_wire_csr, csr_rows);

static const ck__wire_field ack_rows[] = {
    OPT(ck_wire_ack, detail, CK__WK_STR),
};
SCHEMA(ack_schema, "ack", ck_wire_ack, ack_rows);

static const ck__wire_field pong_rows[] = {
    REQ(ck_wire_pong, time, CK__WK_I64),
};
SCHEMA(pong_schema, "pong", ck_wire_pong, pong_rows);

static const ck__wire_field welcome_rows[] = {
    REQ(ck_wire_welcome, session, CK__WK_STR),
    OPT(ck_wire_welcome, agent_id, CK__WK_STR),
    REQ(ck_wire_welcome, server_time, CK__WK_I64),
    OPTH(ck_wire_welcome, ping_interval, CK__WK_U32),
    OPTH(ck_wire_welcome, scan_interval, CK__WK_U32),
    OPTH(ck_wire_welcome, inventory_interval, CK__WK_U32),
    OPTH(ck_wire_welcome, max_frame, CK__WK_U32),
};
SCHEMA(welcome_schema, "welcome", ck_wire_welcome, welcome_rows);

static const ck__wire_field cert_rows[] = {
    REQ(ck_wire_cert, cert, CK__WK_BIN),
    OPT(ck_wire_cert, chain, CK__WK_BINV),
    OPT(ck_wire_cert, cert_id, CK__WK_STR),
    OPT(ck_wire_cert, agent_id, CK__WK_STR),
    OPTH(ck_wire_cert, renew_at, CK__WK_I64),
    OPT(ck_wire_cert, roots, CK__WK_BINV),
};
SCHEMA(cert_schema, "cert", ck_wire_cert, cert_rows);

static const ck__wire_field pending_rows[] = {
    REQ(ck_wire_pending, reason, CK__WK_STR),
    REQ(ck_wire_pending, retry_after, CK__WK_U32),
    OPT(ck_wire_pending, ticket, CK__WK_STR),
};
SCHEMA(pending_schema, "pending", ck_wire_pending, pending_rows);

static const ck__wire_field error_rows[] = {
    REQ(ck_wire_error, code, CK__WK_I32),
    REQ(ck_wire_error, message, CK__WK_STR),
    OPTH(ck_wire_error, fatal, CK__WK_BOOL),
    OPTH(ck_wire_error, retry_after, CK__WK_U32),
};
SCHEMA(error_schema, "error", ck_wire_error, error_rows);

static const ck__wire_field command_rows[] = {
    REQ_ENUM(ck_wire_command, action, action_names),
    OPT(ck_wire_command, target, CK__WK_STR),
    OPT(ck_wire_command, args, CK__WK_KVV),
    OPT(ck_wire_command, data, CK__WK_BIN),
};
SCHEMA(command_schema, "command", ck_wire_command, command_rows);

static const ck__wire_field ping_rows[] = {
    REQ(ck_wire_ping, time, CK__WK_I64),
};
SCHEMA(ping_schema, "ping", ck_wire_ping, ping_rows);

const ck__wire_schema *const ck__wire_schemas[CK_WIRE_TYPE__MAX] = {
    [CK_WIRE_UNKNOWN] = NULL,
    [CK_WIRE_HELLO] = &hello_schema,
    [CK_WIRE_ENROLL] = &enroll_schema,
    [CK_WIRE_INVENTORY] = &inventory_schema,
    [CK_WIRE_EVENT] = &event_schema,
    [CK_WIRE_CSR] = &csr_schema,
    [CK_WIRE_ACK] = &ack_schema,
    [CK_WIRE_PONG] = &pong_schema,
    [CK_WIRE_WELCOME] = &welcome_schema,
    [CK_WIRE_CERT] = &cert_schema,
    [CK_WIRE_PENDING] = &pending_schema,
    [CK_WIRE_ERROR] = &error_schema,
    [CK_WIRE_COMMAND] = &command_schema,
    [CK_WIRE_PING] = &ping_schema,
};

const ck__wire_schema *ck__wire_schema_of(ck_wire_type t) {
  if ((int)t <= CK_WIRE_UNKNOWN || t >= CK_WIRE_TYPE__MAX)
    return NULL;
  return ck__wire_schemas[t];
}

void *ck__wire_payload(ck_wire_msg *m) {
  return &m->u;
}
const void *ck__wire_cpayload(const ck_wire_msg *m) {
  return &m->u;
}

/* ---- introspection ----------------------------------------------------- */

static const char *doc_type(ck__wire_kind k) {
  switch (k) {
  case CK__WK_STR:
    return "str";
  case CK__WK_BIN:
    return "bin";
  case CK__WK_U32:
    return "u32";
  case CK__WK_U64:
    return "u64";
  case CK__WK_I32:
    return "i32";
  case CK__WK_I64:
    return "i64";
  case CK__WK_BOOL:
    return "bool";
  case CK__WK_ENUM:
    return "enum";
  case CK__WK_STRV:
    return "[str]";
  case CK__WK_BINV:
    return "[bin]";
  case CK__WK_KVV:
    return "{str:str}";
  case CK__WK_STRUCT:
    return "map";
  case CK__WK_STRUCTV:
    return "[map]";
  }
  return "?";
}

static void each_field(const ck__wire_schema *s, const char *prefix,
                       ck_wire_field_cb cb, void *arg) {
  char path[128];
  size_t i;

  for (i = 0; i < s->n; i++) {
    const ck__wire_field *f = &s->fields[i];

    snprintf(path, sizeof path, "%s%s", prefix, f->name);
    cb(path, doc_type(f->kind), (f->flags & CK__WF_REQUIRED) != 0,
       f->kind == CK__WK_ENUM ? f->values + 1 : NULL, arg);
    if (f->kind == CK__WK_STRUCT || f->kind == CK__WK_STRUCTV) {
      char sub[128];

      snprintf(sub, sizeof sub, "%s%s%s", prefix, f->name,
               f->kind == CK__WK_STRUCTV ? "[]." : ".");
      each_field(f->sub, sub, cb, arg);
    }
  }
}

void ck_wire_each_field(ck_wire_type t, ck_wire_field_cb cb, void *arg) {
  const ck__wire_schema *s = ck__wire_schema_of(t);

  if (s != NULL && cb != NULL)
    each_field(s, "", cb, arg);
}
