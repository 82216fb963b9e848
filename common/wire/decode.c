/* decode.c — frame body -> typed message.
 *
 * Three steps: ck_wire_validate() checks the raw bytes against the limits
 * without allocating; msgpack-c unpacks them into a temporary zone (bounded
 * now by max_objects); then the schema of the message type (types.c) drives
 * copying each known field into the caller's arena, checking its type.
 * Unknown keys are skipped (forward compatibility); a key given twice is
 * refused (two `t` keys must not mean different things to different
 * readers); a nil value counts as absent. */
#include <msgpack.h>
#include <string.h>

#include "common/wire/wire.h"
#include "common/wire/wire_int.h"

typedef struct dec {
  ck_arena *arena;
  ck_errctx *err;
} dec;

static const char *obj_type(const msgpack_object *o) {
  switch (o->type) {
  case MSGPACK_OBJECT_NIL:
    return "nil";
  case MSGPACK_OBJECT_BOOLEAN:
    return "bool";
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    return "uint";
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    return "negative int";
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64:
    return "float";
  case MSGPACK_OBJECT_STR:
    return "str";
  case MSGPACK_OBJECT_ARRAY:
    return "array";
  case MSGPACK_OBJECT_MAP:
    return "map";
  case MSGPACK_OBJECT_BIN:
    return "bin";
  case MSGPACK_OBJECT_EXT:
    return "ext";
  }
  return "?";
}

static ck_err nomem(dec *d) {
  return ck_failf(d->err, CK_ERR_NOMEM, "out of memory decoding a frame");
}

static ck_err wrong_type(dec *d, const ck__wire_path *p, const char *want,
                         const msgpack_object *o) {
  char buf[160];

  return ck_failf(d->err, CK_ERR_WIRE_TYPE, "field '%s': expected %s, got %s",
                  ck__wire_path_format(p, buf, sizeof buf), want, obj_type(o));
}

static ck_err out_of_range(dec *d, const ck__wire_path *p, const char *want) {
  char buf[160];

  return ck_failf(d->err, CK_ERR_WIRE_TYPE, "field '%s': value out of %s range",
                  ck__wire_path_format(p, buf, sizeof buf), want);
}

static int key_is(const msgpack_object *k, const char *name) {
  size_t n = strlen(name);

  return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
         memcmp(k->via.str.ptr, name, n) == 0;
}

/* Copies a str object into the arena as a NUL-terminated string. */
static ck_err get_str(dec *d, const msgpack_object *o, const ck__wire_path *p,
                      const char **out) {
  char buf[160];
  char *s;

  if (o->type != MSGPACK_OBJECT_STR)
    return wrong_type(d, p, "str", o);
  if (o->via.str.size > 0 && memchr(o->via.str.ptr, 0, o->via.str.size))
    return ck_failf(d->err, CK_ERR_WIRE_TYPE,
                    "field '%s': string contains a NUL byte",
                    ck__wire_path_format(p, buf, sizeof buf));
  s = ck_arena_strndup(d->arena, o->via.str.ptr, o->via.str.size);
  if (s == NULL)
    return nomem(d);
  *out = s;
  return CK_OK;
}

/* Copies a bin object into the arena; data is never NULL afterwards. */
static ck_err get_bin(dec *d, const msgpack_object *o, const ck__wire_path *p,
                      ck_wire_bytes *out) {
  uint8_t *b;

  if (o->type != MSGPACK_OBJECT_BIN)
    return wrong_type(d, p, "bin", o);
  b = ck_arena_alloc(d->arena, o->via.bin.size > 0 ? o->via.bin.size : 1);
  if (b == NULL)
    return nomem(d);
  if (o->via.bin.size > 0)
    memcpy(b, o->via.bin.ptr, o->via.bin.size);
  out->data = b;
  out->len = o->via.bin.size;
  return CK_OK;
}

/* Reads a signed integer in [min, max]. */
static ck_err get_int(dec *d, const msgpack_object *o, const ck__wire_path *p,
                      const char *want, int64_t min, int64_t max,
                      int64_t *out) {
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
    if (o->via.u64 > (uint64_t)max)
      return out_of_range(d, p, want);
    *out = (int64_t)o->via.u64;
    return CK_OK;
  }
  if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
    if (o->via.i64 < min)
      return out_of_range(d, p, want);
    *out = o->via.i64;
    return CK_OK;
  }
  return wrong_type(d, p, want, o);
}

static ck_err get_uint(dec *d, const msgpack_object *o, const ck__wire_path *p,
                       const char *want, uint64_t max, uint64_t *out) {
  if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
    return wrong_type(d, p, want, o);
  if (o->via.u64 > max)
    return out_of_range(d, p, want);
  *out = o->via.u64;
  return CK_OK;
}

static ck_err dec_struct(dec *d, const ck__wire_schema *s,
                         const msgpack_object *o, char *dst,
                         const ck__wire_path *path, bool top);

static ck_err dec_field(dec *d, const ck__wire_field *f,
                        const msgpack_object *o, char *dst,
                        const ck__wire_path *p) {
  void *at = dst + f->off;
  char buf[160];
  uint64_t u = 0;
  int64_t i64 = 0;
  size_t i, j, n;
  ck_err rc;

  switch (f->kind) {
  case CK__WK_STR:
    return get_str(d, o, p, at);
  case CK__WK_BIN:
    return get_bin(d, o, p, at);
  case CK__WK_U32:
    if ((rc = get_uint(d, o, p, "u32", UINT32_MAX, &u)) != CK_OK)
      return rc;
    *(uint32_t *)at = (uint32_t)u;
    return CK_OK;
  case CK__WK_U64:
    return get_uint(d, o, p, "u64", UINT64_MAX, at);
  case CK__WK_I32:
    if ((rc = get_int(d, o, p, "i32", INT32_MIN, INT32_MAX, &i64)) != CK_OK)
      return rc;
    *(int32_t *)at = (int32_t)i64;
    return CK_OK;
  case CK__WK_I64:
    return get_int(d, o, p, "i64", INT64_MIN, INT64_MAX, at);
  case CK__WK_BOOL:
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
      return wrong_type(d, p, "bool", o);
    *(bool *)at = o->via.boolean;
    return CK_OK;
  case CK__WK_ENUM:
    /* A value this build does not know decodes to 0 ("unknown"): a newer
     * peer may add actions; the session answers them with an error. */
    if (o->type != MSGPACK_OBJECT_STR)
      return wrong_type(d, p, "str (enum)", o);
    *(int *)at = 0;
    for (i = 1; f->values[i] != NULL; i++)
      if (key_is(o, f->values[i]))
        *(int *)at = (int)i;
    return CK_OK;
  case CK__WK_STRV: {
    ck_wire_strv *sv = at;
    const char **v;

    if (o->type != MSGPACK_OBJECT_ARRAY)
      return wrong_type(d, p, "array of str", o);
    n = o->via.array.size;
    if (n == 0)
      return CK_OK;
    if ((v = ck_arena_alloc(d->arena, n * sizeof *v)) == NULL)
      return nomem(d);
    for (i = 0; i < n; i++) {
      ck__wire_path ip = {p, NULL, i};

      if ((rc = get_str(d, &o->via.array.ptr[i], &ip, &v[i])) != CK_OK)
        return rc;
    }
    sv->v = v;
    sv->n = n;
    return CK_OK;
  }
  case CK__WK_BINV: {
    ck_wire_binv *bv = at;
    ck_wire_bytes *v;

    if (o->type != MSGPACK_OBJECT_ARRAY)
      return wrong_type(d, p, "array of bin", o);
    n = o->via.array.size;
    if (n == 0)
      return CK_OK;
    if ((v = ck_arena_alloc(d->arena, n * sizeof *v)) == NULL)
      return nomem(d);
    for (i = 0; i < n; i++) {
      ck__wire_path ip = {p, NULL, i};

      if ((rc = get_bin(d, &o->via.array.ptr[i], &ip, &v[i])) != CK_OK)
        return rc;
    }
    bv->v = v;
    bv->n = n;
    return CK_OK;
  }
  case CK__WK_KVV: {
    ck_wire_kvv *kv = at;
    ck_wire_kv *v;
    const msgpack_object_kv *pairs;

    if (o->type != MSGPACK_OBJECT_MAP)
      return wrong_type(d, p, "map of str to str", o);
    n = o->via.map.size;
    if (n > CK_WIRE_MAX_ARGS)
      return ck_failf(d->err, CK_ERR_WIRE_LENGTH,
                      "field '%s': %zu entries, at most %u allowed",
                      ck__wire_path_format(p, buf, sizeof buf), n,
                      CK_WIRE_MAX_ARGS);
    if (n == 0)
      return CK_OK;
    if ((v = ck_arena_alloc(d->arena, n * sizeof *v)) == NULL)
      return nomem(d);
    pairs = o->via.map.ptr;
    for (i = 0; i < n; i++) {
      ck__wire_path ip = {p, NULL, i};

      if ((rc = get_str(d, &pairs[i].key, &ip, &v[i].key)) != CK_OK ||
          (rc = get_str(d, &pairs[i].val, &ip, &v[i].value)) != CK_OK)
        return rc;
      for (j = 0; j < i; j++)
        if (strcmp(v[j].key, v[i].key) == 0)
          return ck_failf(d->err, CK_ERR_WIRE_MALFORMED,
                          "field '%s': duplicate key '%s'",
                          ck__wire_path_format(p, buf, sizeof buf), v[i].key);
    }
    kv->v = v;
    kv->n = n;
    return CK_OK;
  }
  case CK__WK_STRUCT:
    return dec_struct(d, f->sub, o, at, p, false);
  case CK__WK_STRUCTV: {
    char *v;

    if (o->type != MSGPACK_OBJECT_ARRAY)
      return wrong_type(d, p, "array of map", o);
    n = o->via.array.size;
    if (n == 0)
      return CK_OK;
    if (n > SIZE_MAX / f->sub->size ||
        (v = ck_arena_alloc(d->arena, n * f->sub->size)) == NULL)
      return nomem(d);
    memset(v, 0, n * f->sub->size);
    for (i = 0; i < n; i++) {
      ck__wire_path ip = {p, NULL, i};

      if ((rc = dec_struct(d, f->sub, &o->via.array.ptr[i],
                           v + i * f->sub->size, &ip, false)) != CK_OK)
        return rc;
    }
    *(char **)at = v;
    *(size_t *)(dst + f->n_off) = n;
    return CK_OK;
  }
  }
  return ck_failf(d->err, CK_ERR_INTERNAL, "unknown field kind %d", f->kind);
}

/* Decodes the map o into the struct at dst (already zeroed). At the top
 * level the envelope keys belong to the caller and are skipped here. */
static ck_err dec_struct(dec *d, const ck__wire_schema *s,
                         const msgpack_object *o, char *dst,
                         const ck__wire_path *path, bool top) {
  uint64_t given = 0, seen = 0; /* keys met; keys with a non-nil value */
  char buf[160];
  size_t i, k;
  ck_err rc;

  if (o->type != MSGPACK_OBJECT_MAP)
    return wrong_type(d, path, "map", o);
  for (i = 0; i < o->via.map.size; i++) {
    const msgpack_object *key = &o->via.map.ptr[i].key;
    const msgpack_object *val = &o->via.map.ptr[i].val;
    const ck__wire_field *f = NULL;

    if (key->type != MSGPACK_OBJECT_STR)
      return ck_failf(d->err, CK_ERR_WIRE_TYPE,
                      "field '%s': map key is a %s, keys must be str",
                      ck__wire_path_format(path, buf, sizeof buf),
                      obj_type(key));
    if (top && (key_is(key, "v") || key_is(key, "t") || key_is(key, "id")))
      continue;
    for (k = 0; k < s->n; k++)
      if (key_is(key, s->fields[k].name)) {
        f = &s->fields[k];
        break;
      }
    if (f == NULL)
      continue; /* unknown field: ignored */
    {
      ck__wire_path fp = {path, f->name, 0};

      if (given & ((uint64_t)1 << k))
        return ck_failf(d->err, CK_ERR_WIRE_MALFORMED, "field '%s' given twice",
                        ck__wire_path_format(&fp, buf, sizeof buf));
      given |= (uint64_t)1 << k;
      if (val->type == MSGPACK_OBJECT_NIL)
        continue; /* nil = absent */
      seen |= (uint64_t)1 << k;
      if ((rc = dec_field(d, f, val, dst, &fp)) != CK_OK)
        return rc;
      if (f->has_off != CK__WIRE_NO_OFF)
        *(bool *)(dst + f->has_off) = true;
    }
  }
  for (k = 0; k < s->n; k++) {
    if ((s->fields[k].flags & CK__WF_REQUIRED) &&
        !(seen & ((uint64_t)1 << k))) {
      ck__wire_path fp = {path, s->fields[k].name, 0};

      return ck_failf(d->err, CK_ERR_WIRE_MISSING,
                      "required field '%s' is missing",
                      ck__wire_path_format(&fp, buf, sizeof buf));
    }
  }
  return CK_OK;
}

/* Reads the envelope (v, t, id) of the top map into out and returns the
 * type's schema. Sets out->id/has_id as soon as a well-typed id is seen so
 * an error reply can echo it whatever else is wrong. */
static ck_err dec_envelope(dec *d, const msgpack_object *o, ck_wire_msg *out,
                           const ck__wire_schema **schema) {
  const msgpack_object *v = NULL, *t = NULL, *id = NULL;
  size_t i;

  for (i = 0; i < o->via.map.size; i++) {
    const msgpack_object *key = &o->via.map.ptr[i].key;
    const msgpack_object **slot = NULL;

    if (key_is(key, "v"))
      slot = &v;
    else if (key_is(key, "t"))
      slot = &t;
    else if (key_is(key, "id"))
      slot = &id;
    if (slot == NULL)
      continue;
    if (*slot != NULL)
      return ck_failf(d->err, CK_ERR_WIRE_MALFORMED,
                      "envelope field '%.*s' given twice",
                      (int)key->via.str.size, key->via.str.ptr);
    *slot = &o->via.map.ptr[i].val;
  }
  if (id != NULL && id->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
    out->id = id->via.u64;
    out->has_id = true;
  }

  if (v == NULL || v->type == MSGPACK_OBJECT_NIL)
    return ck_failf(d->err, CK_ERR_WIRE_MISSING,
                    "required field 'v' (protocol version) is missing");
  if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
    return ck_failf(d->err, CK_ERR_WIRE_TYPE,
                    "field 'v': expected uint, got %s", obj_type(v));
  if (v->via.u64 < CK_WIRE_VERSION_MIN || v->via.u64 > CK_WIRE_VERSION)
    return ck_failf(d->err, CK_ERR_WIRE_VERSION,
                    "protocol version %llu not supported (this side speaks "
                    "%u..%u)",
                    (unsigned long long)v->via.u64, CK_WIRE_VERSION_MIN,
                    CK_WIRE_VERSION);
  out->v = (uint32_t)v->via.u64;

  if (t == NULL || t->type == MSGPACK_OBJECT_NIL)
    return ck_failf(d->err, CK_ERR_WIRE_MISSING,
                    "required field 't' (message type) is missing");
  if (t->type != MSGPACK_OBJECT_STR)
    return ck_failf(d->err, CK_ERR_WIRE_TYPE, "field 't': expected str, got %s",
                    obj_type(t));

  if (id == NULL || id->type == MSGPACK_OBJECT_NIL)
    return ck_failf(d->err, CK_ERR_WIRE_MISSING,
                    "required field 'id' (request id) is missing");
  if (!out->has_id)
    return ck_failf(d->err, CK_ERR_WIRE_TYPE,
                    "field 'id': expected uint, got %s", obj_type(id));

  out->type = ck_wire_type_from_name(t->via.str.ptr, t->via.str.size);
  if (out->type == CK_WIRE_UNKNOWN) {
    /* Print at most 32 bytes of the name, with non-printables as '?'. */
    char name[33];
    size_t n = t->via.str.size < 32 ? t->via.str.size : 32;

    for (i = 0; i < n; i++) {
      unsigned char c = (unsigned char)t->via.str.ptr[i];
      name[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    name[n] = '\0';
    return ck_failf(d->err, CK_ERR_WIRE_UNKNOWN_TYPE,
                    "unknown message type '%s'", name);
  }
  *schema = ck__wire_schema_of(out->type);
  return CK_OK;
}

ck_err ck_wire_decode(const uint8_t *body, size_t len,
                      const ck_wire_limits *lim, ck_arena *arena,
                      ck_wire_msg *out, ck_errctx *err) {
  msgpack_unpacked up;
  msgpack_unpack_return ur;
  const ck__wire_schema *schema = NULL;
  ck__wire_path root;
  size_t off = 0;
  dec d;
  ck_err rc;

  memset(out, 0, sizeof *out);
  msgpack_unpacked_init(&up);
  d.arena = arena;
  d.err = err;

  if ((body == NULL && len > 0) || arena == NULL) {
    rc = ck_failf(err, CK_ERR_INVAL, "ck_wire_decode: NULL body or arena");
    goto out;
  }
  if ((rc = ck_wire_validate(body, len, lim, err)) != CK_OK)
    goto out;

  ur = msgpack_unpack_next(&up, (const char *)body, len, &off);
  if (ur == MSGPACK_UNPACK_NOMEM_ERROR) {
    rc = nomem(&d);
    goto out;
  }
  if (ur != MSGPACK_UNPACK_SUCCESS || up.data.type != MSGPACK_OBJECT_MAP) {
    /* Not expected after validation; kept as a second line of defence. */
    rc = ck_failf(err, CK_ERR_WIRE_MALFORMED,
                  "msgpack-c refused the frame (%d)", (int)ur);
    goto out;
  }
  if (off != len) {
    rc = ck_failf(err, CK_ERR_WIRE_TRAILING, "%zu bytes after the map",
                  len - off);
    goto out;
  }

  if ((rc = dec_envelope(&d, &up.data, out, &schema)) != CK_OK)
    goto out;
  root.up = NULL;
  root.name = schema->name;
  root.index = 0;
  if ((rc = dec_struct(&d, schema, &up.data, ck__wire_payload(out), &root,
                       true)) != CK_OK)
    goto out;
  rc = CK_OK;

out:
  if (rc != CK_OK) {
    /* Keep only the envelope; the payload may be half filled. */
    memset(&out->u, 0, sizeof out->u);
  }
  msgpack_unpacked_destroy(&up);
  return rc;
}
