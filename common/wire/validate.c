/* validate.c — the allocation-free pre-validation walk over a frame body.
 *
 * msgpack-c's unpacker allocates an array of N objects as soon as it reads a
 * header claiming N elements, so a 6-byte body claiming 2^32 elements would
 * make it ask for ~100 GB. Before msgpack_unpack sees a byte, this walk reads
 * every header and checks: the body is one map and nothing follows it; each
 * declared str/bin/ext length and array/map count is within the limits and
 * fits in the bytes that remain (every element needs at least one byte); the
 * nesting stays within max_depth; the total object count stays within
 * max_objects. After it succeeds, what msgpack-c allocates is bounded by
 * max_objects objects. It uses a fixed stack of CK_WIRE_DEPTH_CAP counters,
 * no recursion and no heap. */
#include <stdint.h>

#include "common/wire/wire.h"
#include "common/wire/wire_int.h"

/* Reads an n-byte big-endian unsigned integer at b (n <= 4). */
static uint32_t be(const uint8_t *b, unsigned n) {
  uint32_t v = 0;
  unsigned i;

  for (i = 0; i < n; i++)
    v = (v << 8) | b[i];
  return v;
}

static int is_map_header(uint8_t c) {
  return (c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf;
}

ck_err ck_wire_validate(const uint8_t *b, size_t len, const ck_wire_limits *lim,
                        ck_errctx *err) {
  ck_wire_limits dl;
  size_t stack[CK_WIRE_DEPTH_CAP + 1]; /* items still to read per level */
  size_t top = 0;                      /* current level; stack[0]: the root */
  size_t pos = 0, objects = 0;
  unsigned max_depth;

  if (lim == NULL) {
    dl = ck_wire_limits_default();
    lim = &dl;
  }
  max_depth =
      lim->max_depth < CK_WIRE_DEPTH_CAP ? lim->max_depth : CK_WIRE_DEPTH_CAP;
  if (len > lim->max_frame)
    return ck_failf(err, CK_ERR_WIRE_TOO_BIG,
                    "frame body of %zu bytes exceeds the limit of %zu", len,
                    lim->max_frame);
  if (len == 0)
    return ck_failf(err, CK_ERR_WIRE_TRUNCATED, "empty frame body");
  if (!is_map_header(b[0]))
    return ck_failf(err, CK_ERR_WIRE_NOT_MAP,
                    "frame body starts with 0x%02x, not a msgpack map", b[0]);

  stack[0] = 1;
  for (;;) {
    uint8_t c;
    unsigned hdr = 0;   /* length bytes following the type byte */
    size_t payload = 0; /* bytes of data following the header */
    size_t count = 0;   /* elements of a container */
    int container = 0;  /* 1 array, 2 map */
    int is_blob = 0;    /* str, bin or ext: payload checked against max_str */
    unsigned blob_extra = 0; /* ext: the type byte */
    size_t at;

    while (stack[top] == 0) {
      if (top == 0)
        goto done;
      top--;
    }
    stack[top]--;

    at = pos;
    if (pos >= len)
      return ck_failf(err, CK_ERR_WIRE_TRUNCATED,
                      "frame truncated: object expected at offset %zu", pos);
    c = b[pos++];
    if (++objects > lim->max_objects)
      return ck_failf(err, CK_ERR_WIRE_LENGTH,
                      "more than %zu msgpack objects in one frame",
                      lim->max_objects);

    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
      /* fixint, nil, bool: the byte is the whole object */
    } else if (c <= 0x8f) {
      container = 2;
      count = c & 0x0f;
    } else if (c <= 0x9f) {
      container = 1;
      count = c & 0x0f;
    } else if (c <= 0xbf) {
      is_blob = 1;
      payload = c & 0x1f;
    } else {
      switch (c) {
      case 0xc4: /* bin 8/16/32 */
      case 0xd9: /* str 8/16/32 */
        hdr = 1;
        is_blob = 1;
        break;
      case 0xc5:
      case 0xda:
        hdr = 2;
        is_blob = 1;
        break;
      case 0xc6:
      case 0xdb:
        hdr = 4;
        is_blob = 1;
        break;
      case 0xc7: /* ext 8/16/32: length, type byte, data */
        hdr = 1;
        is_blob = 1;
        blob_extra = 1;
        break;
      case 0xc8:
        hdr = 2;
        is_blob = 1;
        blob_extra = 1;
        break;
      case 0xc9:
        hdr = 4;
        is_blob = 1;
        blob_extra = 1;
        break;
      case 0xcc: /* uint 8 */
      case 0xd0: /* int 8 */
        payload = 1;
        break;
      case 0xcd:
      case 0xd1:
        payload = 2;
        break;
      case 0xca: /* float 32 */
      case 0xce:
      case 0xd2:
        payload = 4;
        break;
      case 0xcb: /* float 64 */
      case 0xcf:
      case 0xd3:
        payload = 8;
        break;
      case 0xd4: /* fixext 1/2/4/8/16: type byte + data */
        payload = 2;
        break;
      case 0xd5:
        payload = 3;
        break;
      case 0xd6:
        payload = 5;
        break;
      case 0xd7:
        payload = 9;
        break;
      case 0xd8:
        payload = 17;
        break;
      case 0xdc: /* array 16/32 */
        hdr = 2;
        container = 1;
        break;
      case 0xdd:
        hdr = 4;
        container = 1;
        break;
      case 0xde: /* map 16/32 */
        hdr = 2;
        container = 2;
        break;
      case 0xdf:
        hdr = 4;
        container = 2;
        break;
      default: /* 0xc1: never used */
        return ck_failf(err, CK_ERR_WIRE_MALFORMED,
                        "reserved msgpack byte 0x%02x at offset %zu", c, at);
      }
    }

    if (hdr > 0) {
      uint32_t v;

      if (len - pos < hdr)
        return ck_failf(err, CK_ERR_WIRE_TRUNCATED,
                        "frame truncated in the header at offset %zu", at);
      v = be(b + pos, hdr);
      pos += hdr;
      if (container)
        count = v;
      else
        payload = v;
    }

    if (is_blob) {
      if (payload > lim->max_str)
        return ck_failf(err, CK_ERR_WIRE_LENGTH,
                        "string/bin of %zu bytes at offset %zu exceeds the "
                        "limit of %zu",
                        payload, at, lim->max_str);
      payload += blob_extra;
    }
    if (payload > 0) {
      if (len - pos < payload)
        return ck_failf(err, CK_ERR_WIRE_TRUNCATED,
                        "frame truncated: %zu bytes declared at offset %zu, "
                        "%zu left",
                        payload, at, len - pos);
      pos += payload;
    }

    if (container) {
      size_t items;

      if (top + 1 > max_depth)
        return ck_failf(err, CK_ERR_WIRE_DEPTH,
                        "nesting deeper than %u at offset %zu", max_depth, at);
      if (count > lim->max_entries)
        return ck_failf(err, CK_ERR_WIRE_LENGTH,
                        "%s of %zu entries at offset %zu exceeds the limit of "
                        "%zu",
                        container == 2 ? "map" : "array", count, at,
                        lim->max_entries);
      if (container == 2 && count > SIZE_MAX / 2)
        return ck_failf(err, CK_ERR_WIRE_LENGTH, "map too large at offset %zu",
                        at);
      items = container == 2 ? count * 2 : count;
      if (items > len - pos)
        return ck_failf(err, CK_ERR_WIRE_TRUNCATED,
                        "frame truncated: %s at offset %zu declares %zu "
                        "entries, only %zu bytes left",
                        container == 2 ? "map" : "array", at, count, len - pos);
      stack[++top] = items;
    }
  }

done:
  if (pos != len)
    return ck_failf(err, CK_ERR_WIRE_TRAILING,
                    "%zu bytes after the msgpack map (which ends at offset "
                    "%zu)",
                    len - pos, pos);
  return CK_OK;
}
