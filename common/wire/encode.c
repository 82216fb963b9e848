/* encode.c — typed message -> frame (length prefix + one msgpack map).
 *
 * Walks the message's schema (types.c) and packs the envelope (v, t, id) and
 * then every present field in table order, so the same message always gives
 * the same bytes. The result is run through ck_wire_validate() with the
 * caller's limits: we never send what our own decoder would refuse. */
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire/wire.h"
#include "common/wire/wire_int.h"

typedef struct enc {
  msgpack_packer pk;
  ck_errctx *err;
} enc;

static ck_err nomem(enc *e) {
  return ck_failf(e->err, CK_ERR_NOMEM, "out of memory encoding a frame");
}

static ck_err missing(enc *e, const ck__wire_path *p) {
  char buf[160];

  return ck_failf(e->err, CK_ERR_INVAL, "%s is required",
                  ck__wire_path_format(p, buf, sizeof buf));
}

static ck_err pack_strn(enc *e, const char *s, size_t n) {
  if (msgpack_pack_str(&e->pk, n) != 0)
    return nomem(e);
  if (n > 0 && msgpack_pack_str_body(&e->pk, s, n) != 0)
    return nomem(e);
  return CK_OK;
}

static ck_err pack_str(enc *e, const char *s) {
  return pack_strn(e, s, strlen(s));
}

static ck_err pack_bin(enc *e, const ck_wire_bytes *b) {
  if (msgpack_pack_bin(&e->pk, b->len) != 0)
    return nomem(e);
  if (b->len > 0 && msgpack_pack_bin_body(&e->pk, b->data, b->len) != 0)
    return nomem(e);
  return CK_OK;
}

/* True when field f of the struct at src is to be written. */
static bool present(const ck__wire_field *f, const char *src) {
  if (f->has_off != CK__WIRE_NO_OFF)
    return *(const bool *)(src + f->has_off);
  switch (f->kind) {
  case CK__WK_STR:
    return *(const char *const *)(src + f->off) != NULL;
  case CK__WK_BIN:
    return ((const ck_wire_bytes *)(src + f->off))->data != NULL;
  case CK__WK_STRV:
    return ((const ck_wire_strv *)(src + f->off))->n > 0;
  case CK__WK_BINV:
    return ((const ck_wire_binv *)(src + f->off))->n > 0;
  case CK__WK_KVV:
    return ((const ck_wire_kvv *)(src + f->off))->n > 0;
  case CK__WK_STRUCTV:
    return (f->flags & CK__WF_REQUIRED) != 0 ||
           *(const size_t *)(src + f->n_off) > 0;
  default: /* required scalars, enums and structs are always written */
    return true;
  }
}

static ck_err pack_struct(enc *e, const ck__wire_schema *s, const void *src,
                          const ck__wire_path *path);

static ck_err pack_field(enc *e, const ck__wire_field *f, const char *src,
                         const ck__wire_path *p) {
  const void *at = src + f->off;
  size_t i;
  ck_err rc;

  switch (f->kind) {
  case CK__WK_STR:
    return pack_str(e, *(const char *const *)at);
  case CK__WK_BIN:
    return pack_bin(e, at);
  case CK__WK_U32:
    return msgpack_pack_uint32(&e->pk, *(const uint32_t *)at) ? nomem(e)
                                                              : CK_OK;
  case CK__WK_U64:
    return msgpack_pack_uint64(&e->pk, *(const uint64_t *)at) ? nomem(e)
                                                              : CK_OK;
  case CK__WK_I32:
    return msgpack_pack_int32(&e->pk, *(const int32_t *)at) ? nomem(e) : CK_OK;
  case CK__WK_I64:
    return msgpack_pack_int64(&e->pk, *(const int64_t *)at) ? nomem(e) : CK_OK;
  case CK__WK_BOOL:
    if ((*(const bool *)at ? msgpack_pack_true(&e->pk)
                           : msgpack_pack_false(&e->pk)) != 0)
      return nomem(e);
    return CK_OK;
  case CK__WK_ENUM: {
    int v = *(const int *)at;
    char buf[160];

    if (v < 0 || (size_t)v >= ck__wire_enum_count(f->values))
      return ck_failf(e->err, CK_ERR_INVAL, "%s: enum value %d out of range",
                      ck__wire_path_format(p, buf, sizeof buf), v);
    return pack_str(e, f->values[v]);
  }
  case CK__WK_STRV: {
    const ck_wire_strv *sv = at;

    if (sv->v == NULL)
      return missing(e, p);
    if (msgpack_pack_array(&e->pk, sv->n) != 0)
      return nomem(e);
    for (i = 0; i < sv->n; i++) {
      ck__wire_path ip = {p, NULL, i};

      if (sv->v[i] == NULL)
        return missing(e, &ip);
      if ((rc = pack_str(e, sv->v[i])) != CK_OK)
        return rc;
    }
    return CK_OK;
  }
  case CK__WK_BINV: {
    const ck_wire_binv *bv = at;

    if (bv->v == NULL)
      return missing(e, p);
    if (msgpack_pack_array(&e->pk, bv->n) != 0)
      return nomem(e);
    for (i = 0; i < bv->n; i++) {
      ck__wire_path ip = {p, NULL, i};

      if (bv->v[i].data == NULL)
        return missing(e, &ip);
      if ((rc = pack_bin(e, &bv->v[i])) != CK_OK)
        return rc;
    }
    return CK_OK;
  }
  case CK__WK_KVV: {
    const ck_wire_kvv *kv = at;
    char buf[160];
    size_t j;

    if (kv->v == NULL)
      return missing(e, p);
    if (kv->n > CK_WIRE_MAX_ARGS)
      return ck_failf(
          e->err, CK_ERR_WIRE_LENGTH, "%s: %zu entries, at most %u allowed",
          ck__wire_path_format(p, buf, sizeof buf), kv->n, CK_WIRE_MAX_ARGS);
    if (msgpack_pack_map(&e->pk, kv->n) != 0)
      return nomem(e);
    for (i = 0; i < kv->n; i++) {
      ck__wire_path ip = {p, NULL, i};

      if (kv->v[i].key == NULL || kv->v[i].value == NULL)
        return missing(e, &ip);
      for (j = 0; j < i; j++)
        if (strcmp(kv->v[j].key, kv->v[i].key) == 0)
          return ck_failf(e->err, CK_ERR_INVAL, "%s: duplicate key '%s'",
                          ck__wire_path_format(p, buf, sizeof buf),
                          kv->v[i].key);
      if ((rc = pack_str(e, kv->v[i].key)) != CK_OK ||
          (rc = pack_str(e, kv->v[i].value)) != CK_OK)
        return rc;
    }
    return CK_OK;
  }
  case CK__WK_STRUCT:
    return pack_struct(e, f->sub, at, p);
  case CK__WK_STRUCTV: {
    const char *base = *(const char *const *)at;
    size_t n = *(const size_t *)(src + f->n_off);

    if (base == NULL && n > 0)
      return missing(e, p);
    if (msgpack_pack_array(&e->pk, n) != 0)
      return nomem(e);
    for (i = 0; i < n; i++) {
      ck__wire_path ip = {p, NULL, i};

      if ((rc = pack_struct(e, f->sub, base + i * f->sub->size, &ip)) != CK_OK)
        return rc;
    }
    return CK_OK;
  }
  }
  return ck_failf(e->err, CK_ERR_INTERNAL, "unknown field kind %d", f->kind);
}

/* Packs the present fields of the struct at src as key/value pairs (the map
 * header is the caller's: a message's map also holds the envelope). A
 * required field that is absent fails with CK_ERR_INVAL naming it. */
static ck_err pack_fields(enc *e, const ck__wire_schema *s, const char *src,
                          const ck__wire_path *path) {
  size_t i;
  ck_err rc;

  for (i = 0; i < s->n; i++) {
    const ck__wire_field *f = &s->fields[i];
    ck__wire_path fp = {path, f->name, 0};

    if (!present(f, src)) {
      if (f->flags & CK__WF_REQUIRED)
        return missing(e, &fp);
      continue;
    }
    if ((rc = pack_str(e, f->name)) != CK_OK)
      return rc;
    if ((rc = pack_field(e, f, src, &fp)) != CK_OK)
      return rc;
  }
  return CK_OK;
}

static size_t count_present(const ck__wire_schema *s, const char *src) {
  size_t i, n = 0;

  for (i = 0; i < s->n; i++)
    if (present(&s->fields[i], src))
      n++;
  return n;
}

/* Packs the struct at src as one map. */
static ck_err pack_struct(enc *e, const ck__wire_schema *s, const void *src,
                          const ck__wire_path *path) {
  if (msgpack_pack_map(&e->pk, count_present(s, src)) != 0)
    return nomem(e);
  return pack_fields(e, s, src, path);
}

ck_err ck_wire_encode(const ck_wire_msg *m, const ck_wire_limits *lim,
                      uint8_t **out, size_t *out_len, ck_errctx *err) {
  msgpack_sbuffer sb;
  enc e;
  const ck__wire_schema *s;
  const char *name;
  const char *src;
  ck__wire_path root;
  size_t body_len;
  ck_err rc;

  msgpack_sbuffer_init(&sb);
  *out = NULL;
  *out_len = 0;
  s = m != NULL ? ck__wire_schema_of(m->type) : NULL;
  if (s == NULL) {
    rc = ck_failf(err, CK_ERR_INVAL, "cannot encode message type %d",
                  m != NULL ? (int)m->type : -1);
    goto out;
  }
  name = ck_wire_type_name(m->type);
  src = ck__wire_cpayload(m);
  root.up = NULL;
  root.name = name;
  root.index = 0;
  e.err = err;
  msgpack_packer_init(&e.pk, &sb, msgpack_sbuffer_write);

  /* Room for the length prefix, filled in once the body size is known. */
  if (msgpack_sbuffer_write(&sb, "\0\0\0\0", CK_WIRE_HEADER_LEN) != 0) {
    rc = nomem(&e);
    goto out;
  }
  if (msgpack_pack_map(&e.pk, 3 + count_present(s, src)) != 0 ||
      pack_strn(&e, "v", 1) != CK_OK ||
      msgpack_pack_uint32(&e.pk, CK_WIRE_VERSION) != 0 ||
      pack_strn(&e, "t", 1) != CK_OK || pack_str(&e, name) != CK_OK ||
      pack_strn(&e, "id", 2) != CK_OK ||
      msgpack_pack_uint64(&e.pk, m->id) != 0) {
    rc = nomem(&e);
    goto out;
  }
  if ((rc = pack_fields(&e, s, src, &root)) != CK_OK)
    goto out;

  body_len = sb.size - CK_WIRE_HEADER_LEN;
  if (body_len > UINT32_MAX) {
    rc = ck_failf(err, CK_ERR_WIRE_TOO_BIG, "%s: body of %zu bytes", name,
                  body_len);
    goto out;
  }
  if ((rc = ck_wire_validate((const uint8_t *)sb.data + CK_WIRE_HEADER_LEN,
                             body_len, lim, err)) != CK_OK) {
    ck_failf(err, rc, "encoding %s", name);
    goto out;
  }
  sb.data[0] = (char)(uint8_t)(body_len >> 24);
  sb.data[1] = (char)(uint8_t)(body_len >> 16);
  sb.data[2] = (char)(uint8_t)(body_len >> 8);
  sb.data[3] = (char)(uint8_t)body_len;
  *out_len = sb.size;
  *out = (uint8_t *)msgpack_sbuffer_release(&sb);
  rc = CK_OK;

out:
  msgpack_sbuffer_destroy(&sb);
  return rc;
}
