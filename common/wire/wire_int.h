/* wire_int.h — internals shared by the wire codec files (not for users).
 *
 * Each message type is described by a schema: a table of fields giving the
 * wire name, the kind of value, whether it is required, and where it lives in
 * the C struct (offsetof). encode.c, decode.c, msg.c and the docs check all
 * walk the same tables (types.c), so a field cannot be encoded but not
 * decoded, or exist in code but not be listed for the docs. */
#ifndef CK_WIRE_WIRE_INT_H
#define CK_WIRE_WIRE_INT_H

#include <stddef.h>

#include "common/wire/wire.h"

typedef enum ck__wire_kind {
  CK__WK_STR,    /* const char *                 msgpack str */
  CK__WK_BIN,    /* ck_wire_bytes                msgpack bin */
  CK__WK_U32,    /* uint32_t                     uint */
  CK__WK_U64,    /* uint64_t                     uint */
  CK__WK_I32,    /* int32_t                      int */
  CK__WK_I64,    /* int64_t                      int */
  CK__WK_BOOL,   /* bool                         bool */
  CK__WK_ENUM,   /* a C enum (int-sized)         str from a fixed set */
  CK__WK_STRV,   /* ck_wire_strv                 array of str */
  CK__WK_BINV,   /* ck_wire_binv                 array of bin */
  CK__WK_KVV,    /* ck_wire_kvv                  map str -> str */
  CK__WK_STRUCT, /* embedded struct              map (required, or optional
                                                 with a has_<name> flag) */
  CK__WK_STRUCTV /* pointer + size_t count       array of map */
} ck__wire_kind;

#define CK__WF_REQUIRED 1u /* must be present */
#define CK__WF_SECRET 2u   /* wiped by ck_wire_msg_wipe_secrets */

#define CK__WIRE_NO_OFF ((size_t)-1)

typedef struct ck__wire_schema ck__wire_schema;

typedef struct ck__wire_field {
  const char *name;           /* wire key */
  ck__wire_kind kind;         /* value kind */
  unsigned flags;             /* CK__WF_* */
  size_t off;                 /* offset of the value in the struct */
  size_t has_off;             /* offset of the has_<name> bool, or NO_OFF */
  size_t n_off;               /* STRUCTV: offset of the size_t count */
  const ck__wire_schema *sub; /* STRUCT, STRUCTV: element schema */
  const char *const *values;  /* ENUM: wire names, [0] "unknown", NULL end */
} ck__wire_field;

struct ck__wire_schema {
  const char *name;             /* "hello", "finding" (for messages) */
  size_t size;                  /* sizeof the C struct */
  const ck__wire_field *fields; /* in encoding order */
  size_t n;                     /* number of fields (<= 64) */
};

/* Schema of each message type, indexed by ck_wire_type (NULL at 0). */
extern const ck__wire_schema *const ck__wire_schemas[CK_WIRE_TYPE__MAX];

/* Returns the schema of t or NULL when t is not a message type. */
const ck__wire_schema *ck__wire_schema_of(ck_wire_type t);

/* Returns the address of the payload struct of m (its union member). */
void *ck__wire_payload(ck_wire_msg *m);
const void *ck__wire_cpayload(const ck_wire_msg *m);

/* A field path built on the stack while walking a message, formatted only
 * when an error needs it: "inventory.findings[2].fingerprint". */
typedef struct ck__wire_path {
  const struct ck__wire_path *up; /* parent, NULL at the message */
  const char *name;               /* field or message name; NULL for [index] */
  size_t index;                   /* element index when name is NULL */
} ck__wire_path;

/* Formats p into buf (always NUL-terminated, truncated if needed) and returns
 * buf. */
const char *ck__wire_path_format(const ck__wire_path *p, char *buf, size_t len);

/* Number of names in an enum value table (including "unknown"). */
size_t ck__wire_enum_count(const char *const *values);

#endif
