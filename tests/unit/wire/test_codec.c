/* test_codec.c — typed encode/decode of every wire message: round trips,
 * required and optional fields, wrong types named by field, unknown fields
 * and types, versions, duplicate keys, the error reply. */
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire/wire.h"
#include "tests/testutil.h"
#include "tests/unit/wire/samples.h"

/* ---- helpers ------------------------------------------------------------ */

/* Encodes m with default limits, asserting success; returns the frame. */
static uint8_t *enc_ok(const ck_wire_msg *m, size_t *len) {
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t *frame = NULL;
  ck_err rc = ck_wire_encode(m, NULL, &frame, len, &err);

  if (rc != CK_OK)
    fail_msg("encode %s: %s: %s", ck_wire_type_name(m->type), ck_err_name(rc),
             ck_errctx_msg(&err));
  assert_non_null(frame);
  assert_true(*len > CK_WIRE_HEADER_LEN);
  /* The prefix is the big-endian body length. */
  assert_int_equal(((size_t)frame[0] << 24 | (size_t)frame[1] << 16 |
                    (size_t)frame[2] << 8 | frame[3]),
                   *len - CK_WIRE_HEADER_LEN);
  return frame;
}

static ck_err dec(const uint8_t *body, size_t len, ck_arena *a, ck_wire_msg *m,
                  ck_errctx *err) {
  ck_errctx_clear(err);
  return ck_wire_decode(body, len, NULL, a, m, err);
}

/* True when the n bytes at hay contain the string needle. */
static int contains(const uint8_t *hay, size_t n, const char *needle) {
  size_t k = strlen(needle), i;

  for (i = 0; i + k <= n; i++)
    if (memcmp(hay + i, needle, k) == 0)
      return 1;
  return 0;
}

/* Packs a str. */
static void pstr(msgpack_packer *pk, const char *s) {
  msgpack_pack_str(pk, strlen(s));
  msgpack_pack_str_body(pk, s, strlen(s));
}

/* What to do with the value at a path when re-packing a decoded object. */
typedef enum { ED_DROP, ED_FLOAT, ED_NIL, ED_DUP } edit_kind;

/* Re-packs o, applying edit at path ("host.hostname", "findings.0.path"
 * (array index), "caps.1"). *hit is set when the path was found. */
static void repack(msgpack_packer *pk, const msgpack_object *o,
                   const char *path, edit_kind edit, int *hit) {
  const char *dot = path != NULL ? strchr(path, '.') : NULL;
  size_t seg = path == NULL  ? 0
               : dot != NULL ? (size_t)(dot - path)
                             : strlen(path);
  const char *rest = dot != NULL ? dot + 1 : NULL;
  uint32_t i;

  if (o->type == MSGPACK_OBJECT_MAP && path != NULL) {
    uint32_t n = o->via.map.size, out = n;

    for (i = 0; i < n; i++) {
      const msgpack_object *k = &o->via.map.ptr[i].key;
      if (rest == NULL && k->type == MSGPACK_OBJECT_STR &&
          k->via.str.size == seg && memcmp(k->via.str.ptr, path, seg) == 0) {
        if (edit == ED_DROP)
          out--;
        if (edit == ED_DUP)
          out++;
      }
    }
    msgpack_pack_map(pk, out);
    for (i = 0; i < n; i++) {
      const msgpack_object *k = &o->via.map.ptr[i].key;
      const msgpack_object *v = &o->via.map.ptr[i].val;
      int match = k->type == MSGPACK_OBJECT_STR && k->via.str.size == seg &&
                  memcmp(k->via.str.ptr, path, seg) == 0;

      if (match && rest == NULL) {
        *hit = 1;
        if (edit == ED_DROP)
          continue;
        msgpack_pack_object(pk, *k);
        if (edit == ED_FLOAT)
          msgpack_pack_double(pk, 1.5);
        else if (edit == ED_NIL)
          msgpack_pack_nil(pk);
        else {
          msgpack_pack_object(pk, *v);
          msgpack_pack_object(pk, *k);
          msgpack_pack_object(pk, *v);
        }
        continue;
      }
      msgpack_pack_object(pk, *k);
      repack(pk, v, match ? rest : NULL, edit, hit);
    }
    return;
  }
  if (o->type == MSGPACK_OBJECT_ARRAY && path != NULL) {
    uint32_t idx = (uint32_t)strtoul(path, NULL, 10);

    msgpack_pack_array(pk, o->via.array.size);
    for (i = 0; i < o->via.array.size; i++) {
      if (i == idx && rest == NULL) {
        *hit = 1;
        assert_true(edit == ED_FLOAT); /* only type edits inside arrays */
        msgpack_pack_double(pk, 1.5);
        continue;
      }
      repack(pk, &o->via.array.ptr[i], i == idx ? rest : NULL, edit, hit);
    }
    return;
  }
  msgpack_pack_object(pk, *o);
}

/* Encodes the full sample of t, applies edit at path to its body and returns
 * the new body (malloc'ed). Fails the test if the path is not in the frame. */
static uint8_t *edited(ck_wire_type t, const char *path, edit_kind edit,
                       size_t *len) {
  ck_wire_msg m;
  uint8_t *frame;
  size_t flen, off = 0;
  msgpack_unpacked up;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  int hit = 0;

  sample_full(t, &m);
  frame = enc_ok(&m, &flen);
  msgpack_unpacked_init(&up);
  assert_int_equal(
      msgpack_unpack_next(&up, (const char *)frame + 4, flen - 4, &off),
      MSGPACK_UNPACK_SUCCESS);
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  repack(&pk, &up.data, path, edit, &hit);
  if (!hit)
    fail_msg("%s: path %s not found in the sample", ck_wire_type_name(t), path);
  msgpack_unpacked_destroy(&up);
  free(frame);
  *len = sb.size;
  return (uint8_t *)msgpack_sbuffer_release(&sb);
}

/* Turns a doc path "findings[].path" into an edit path "findings.0.path"
 * and the error path "inventory.findings[0].path". */
static void paths(ck_wire_type t, const char *doc, char *edit, size_t elen,
                  char *errp, size_t plen) {
  size_t i, e = 0, p;

  p = (size_t)snprintf(errp, plen, "%s.", ck_wire_type_name(t));
  for (i = 0; doc[i] != '\0' && e + 3 < elen && p + 4 < plen; i++) {
    if (doc[i] == '[' && doc[i + 1] == ']') {
      edit[e++] = '.';
      edit[e++] = '0';
      errp[p++] = '[';
      errp[p++] = '0';
      errp[p++] = ']';
      i++;
      continue;
    }
    edit[e++] = doc[i];
    errp[p++] = doc[i];
  }
  edit[e] = '\0';
  errp[p] = '\0';
}

/* ---- round trips -------------------------------------------------------- */

static void roundtrip(void (*fill)(ck_wire_type, ck_wire_msg *)) {
  int t;

  for (t = CK_WIRE_UNKNOWN + 1; t < CK_WIRE_TYPE__MAX; t++) {
    ck_wire_msg m, d;
    ck_errctx err = CK_ERRCTX_INIT;
    ck_arena *a = ck_arena_new(4096);
    uint8_t *f1, *f2;
    size_t l1, l2;
    ck_err rc;

    assert_non_null(a);
    fill((ck_wire_type)t, &m);
    f1 = enc_ok(&m, &l1);
    rc = dec(f1 + 4, l1 - 4, a, &d, &err);
    if (rc != CK_OK)
      fail_msg("decode %s: %s: %s", ck_wire_type_name((ck_wire_type)t),
               ck_err_name(rc), ck_errctx_msg(&err));
    assert_int_equal(d.v, CK_WIRE_VERSION);
    assert_true(d.has_id);
    expect_same(&m, &d);
    /* Encoding is deterministic: what decoded re-encodes to the same bytes. */
    f2 = enc_ok(&d, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(f1, f2, l1);
    free(f1);
    free(f2);
    ck_arena_free(a);
  }
}

static void test_roundtrip_full(void **state) {
  roundtrip(sample_full);
}
static void test_roundtrip_min(void **state) {
  roundtrip(sample_min);
}

/* Decoded memory belongs to the arena, not to the frame buffer. */
static void test_decoded_outlives_frame(void **state) {
  ck_wire_msg m, d;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *a = ck_arena_new(0);
  uint8_t *f;
  size_t l;

  sample_full(CK_WIRE_INVENTORY, &m);
  f = enc_ok(&m, &l);
  assert_int_equal(ck_wire_decode(f + 4, l - 4, NULL, NULL, &d, &err),
                   CK_ERR_INVAL);
  assert_int_equal(dec(f + 4, l - 4, a, &d, &err), CK_OK);
  memset(f, 0xaa, l);
  free(f);
  expect_same(&m, &d);
  ck_arena_free(a);
}

static void test_type_table(void **state) {
  int t;

  assert_null(ck_wire_type_name(CK_WIRE_UNKNOWN));
  assert_null(ck_wire_type_name(CK_WIRE_TYPE__MAX));
  for (t = CK_WIRE_UNKNOWN + 1; t < CK_WIRE_TYPE__MAX; t++) {
    const char *n = ck_wire_type_name((ck_wire_type)t);

    assert_non_null(n);
    assert_int_equal(ck_wire_type_from_name(n, strlen(n)), t);
    assert_true(ck_wire_type_dir((ck_wire_type)t) != 0);
  }
  assert_int_equal(ck_wire_type_from_name("hell", 4), CK_WIRE_UNKNOWN);
  assert_int_equal(ck_wire_type_from_name("hello!", 6), CK_WIRE_UNKNOWN);
  assert_true(ck_wire_type_receivable(CK_WIRE_HELLO, CK_WIRE_TO_COORD));
  assert_false(ck_wire_type_receivable(CK_WIRE_HELLO, CK_WIRE_TO_AGENT));
  assert_true(ck_wire_type_receivable(CK_WIRE_COMMAND, CK_WIRE_TO_AGENT));
  assert_false(ck_wire_type_receivable(CK_WIRE_COMMAND, CK_WIRE_TO_COORD));
  assert_true(ck_wire_type_receivable(CK_WIRE_ERROR, CK_WIRE_TO_AGENT));
  assert_true(ck_wire_type_receivable(CK_WIRE_ERROR, CK_WIRE_TO_COORD));
  assert_false(ck_wire_type_receivable(CK_WIRE_UNKNOWN, CK_WIRE_TO_COORD));
  assert_string_equal(ck_wire_action_name(CK_WIRE_ACT_TRUST_UPDATE),
                      "trust-update");
  assert_string_equal(ck_wire_inv_mode_name(CK_WIRE_INV_FULL), "full");
  assert_string_equal(ck_wire_event_kind_name(CK_WIRE_EVENT_FAILURE),
                      "failure");
  assert_null(ck_wire_action_name((ck_wire_action)99));
}

/* ---- encoder refusals ------------------------------------------------- */

static void test_encode_refuses(void **state) {
  ck_wire_msg m;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_wire_limits lim = ck_wire_limits_default();
  ck_wire_finding bad[2];
  uint8_t *f = (uint8_t *)"x";
  size_t l = 7;
  static uint8_t big[600 * 1024];
  ck_wire_kv dup[2] = {{"a", "1"}, {"a", "2"}};

  sample_min(CK_WIRE_HELLO, &m);
  m.u.hello.version = NULL;
  assert_int_equal(ck_wire_encode(&m, NULL, &f, &l, &err), CK_ERR_INVAL);
  assert_null(f);
  assert_int_equal(l, 0);
  assert_non_null(strstr(err.msg, "hello.version"));

  sample_full(CK_WIRE_INVENTORY, &m);
  memcpy(bad, s_findings, sizeof bad);
  bad[1].path = NULL;
  m.u.inventory.findings = bad;
  ck_errctx_clear(&err);
  assert_int_equal(ck_wire_encode(&m, NULL, &f, &l, &err), CK_ERR_INVAL);
  assert_non_null(strstr(err.msg, "inventory.findings[1].path"));

  sample_min(CK_WIRE_COMMAND, &m);
  m.u.command.action = (ck_wire_action)42;
  ck_errctx_clear(&err);
  assert_int_equal(ck_wire_encode(&m, NULL, &f, &l, &err), CK_ERR_INVAL);

  m.u.command.action = CK_WIRE_ACT_CONFIG;
  m.u.command.args = (ck_wire_kvv){dup, 2};
  ck_errctx_clear(&err);
  assert_int_equal(ck_wire_encode(&m, NULL, &f, &l, &err), CK_ERR_INVAL);

  /* A bin over max_str, and a frame over max_frame: refused by the same
   * validation the decoder runs. */
  m.u.command.args.n = 0;
  m.u.command.data = (ck_wire_bytes){big, sizeof big};
  ck_errctx_clear(&err);
  assert_int_equal(ck_wire_encode(&m, NULL, &f, &l, &err), CK_ERR_WIRE_LENGTH);
  lim.max_str = sizeof big;
  lim.max_frame = 512 * 1024;
  ck_errctx_clear(&err);
  assert_int_equal(ck_wire_encode(&m, &lim, &f, &l, &err), CK_ERR_WIRE_TOO_BIG);
  assert_null(f);
  lim.max_frame = 1024 * 1024;
  ck_errctx_clear(&err);
  assert_int_equal(ck_wire_encode(&m, &lim, &f, &l, &err), CK_OK);
  free(f);

  m.type = CK_WIRE_UNKNOWN;
  assert_int_equal(ck_wire_encode(&m, NULL, &f, &l, &err), CK_ERR_INVAL);
  assert_int_equal(ck_wire_encode(NULL, NULL, &f, &l, &err), CK_ERR_INVAL);
}

/* ---- decoder: fields ---------------------------------------------------- */

typedef struct field_list {
  char path[48][64];
  int required[48];
  size_t n;
} field_list;

static void collect(const char *path, const char *type, bool required,
                    const char *const *values, void *arg) {
  field_list *l = arg;

  assert_true(l->n < 48);
  snprintf(l->path[l->n], sizeof l->path[0], "%s", path);
  l->required[l->n] = required;
  l->n++;
}

/* Every field, at every level, given a float: CK_ERR_WIRE_TYPE naming it. */
static void test_wrong_type_every_field(void **state) {
  int t;
  size_t i, checked = 0;

  for (t = CK_WIRE_UNKNOWN + 1; t < CK_WIRE_TYPE__MAX; t++) {
    field_list l = {.n = 0};

    ck_wire_each_field((ck_wire_type)t, collect, &l);
    assert_true(l.n > 0);
    for (i = 0; i < l.n; i++) {
      char ep[96], want[128];
      ck_errctx err = CK_ERRCTX_INIT;
      ck_arena *a = ck_arena_new(0);
      ck_wire_msg d;
      uint8_t *b;
      size_t bl;

      paths((ck_wire_type)t, l.path[i], ep, sizeof ep, want, sizeof want);
      b = edited((ck_wire_type)t, ep, ED_FLOAT, &bl);
      assert_int_equal(dec(b, bl, a, &d, &err), CK_ERR_WIRE_TYPE);
      if (strstr(err.msg, want) == NULL)
        fail_msg("wrong type at %s: message '%s' does not name '%s'", ep,
                 err.msg, want);
      /* The envelope survives a field error, so the reply can echo it. */
      assert_true(d.has_id);
      assert_int_equal(d.id, 0x1122334455667788ull + (uint64_t)t);
      free(b);
      ck_arena_free(a);
      checked++;
    }
  }
  assert_true(checked > 60);
}

/* List elements are typed too. */
static void test_wrong_element_type(void **state) {
  static const struct {
    ck_wire_type t;
    const char *edit, *want;
  } cases[] = {
      {CK_WIRE_HELLO, "caps.1", "hello.caps[1]"},
      {CK_WIRE_CERT, "chain.0", "cert.chain[0]"},
      {CK_WIRE_INVENTORY, "findings.1", "inventory.findings[1]"},
      {CK_WIRE_INVENTORY, "findings.0.sans.2", "inventory.findings[0].sans[2]"},
      {CK_WIRE_ENROLL, "host.addrs.0", "enroll.host.addrs[0]"},
      {CK_WIRE_INVENTORY, "host.hwkeys.1", "inventory.host.hwkeys[1]"},
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ck_errctx err = CK_ERRCTX_INIT;
    ck_arena *a = ck_arena_new(0);
    ck_wire_msg d;
    size_t bl;
    uint8_t *b = edited(cases[i].t, cases[i].edit, ED_FLOAT, &bl);

    assert_int_equal(dec(b, bl, a, &d, &err), CK_ERR_WIRE_TYPE);
    if (strstr(err.msg, cases[i].want) == NULL)
      fail_msg("'%s' does not name '%s'", err.msg, cases[i].want);
    free(b);
    ck_arena_free(a);
  }
}

/* Dropping a required field: CK_ERR_WIRE_MISSING naming it; dropping an
 * optional one (or sending nil): decodes, and the field reads as absent. */
static void test_missing_and_optional(void **state) {
  int t;
  size_t i, nreq = 0, nopt = 0;

  for (t = CK_WIRE_UNKNOWN + 1; t < CK_WIRE_TYPE__MAX; t++) {
    field_list l = {.n = 0};

    ck_wire_each_field((ck_wire_type)t, collect, &l);
    for (i = 0; i < l.n; i++) {
      char ep[96], want[128];
      ck_arena *a = ck_arena_new(0);
      int e;

      paths((ck_wire_type)t, l.path[i], ep, sizeof ep, want, sizeof want);
      for (e = 0; e < 2; e++) {
        ck_errctx err = CK_ERRCTX_INIT;
        ck_wire_msg d, again;
        size_t bl, l2;
        uint8_t *b =
            edited((ck_wire_type)t, ep, e == 0 ? ED_DROP : ED_NIL, &bl);
        uint8_t *f2;
        ck_err rc = dec(b, bl, a, &d, &err);

        if (l.required[i]) {
          assert_int_equal(rc, CK_ERR_WIRE_MISSING);
          if (strstr(err.msg, want) == NULL)
            fail_msg("missing %s: '%s'", want, err.msg);
          nreq++;
        } else {
          if (rc != CK_OK)
            fail_msg("without optional %s: %s", want, err.msg);
          /* Absent means it does not come back on re-encoding either. */
          f2 = enc_ok(&d, &l2);
          assert_int_equal(dec(f2 + 4, l2 - 4, a, &again, &err), CK_OK);
          expect_same(&d, &again);
          free(f2);
          nopt++;
        }
        free(b);
      }
      ck_arena_free(a);
    }
  }
  assert_true(nreq > 20);
  assert_true(nopt > 40);
}

/* Spot-check that absence really is absence in the typed struct. */
static void test_optional_absent_values(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *a = ck_arena_new(0);
  ck_wire_msg d;
  size_t bl;
  uint8_t *b;

  b = edited(CK_WIRE_INVENTORY, "findings.0.key_bits", ED_DROP, &bl);
  assert_int_equal(dec(b, bl, a, &d, &err), CK_OK);
  assert_false(d.u.inventory.findings[0].has_key_bits);
  assert_true(d.u.inventory.findings[0].has_mode);
  free(b);
  b = edited(CK_WIRE_INVENTORY, "findings.0.fingerprint", ED_NIL, &bl);
  assert_int_equal(dec(b, bl, a, &d, &err), CK_OK);
  assert_null(d.u.inventory.findings[0].fingerprint.data);
  free(b);
  b = edited(CK_WIRE_HELLO, "caps", ED_DROP, &bl);
  assert_int_equal(dec(b, bl, a, &d, &err), CK_OK);
  assert_int_equal(d.u.hello.caps.n, 0);
  assert_null(d.u.hello.caps.v);
  assert_string_equal(d.u.hello.agent_id, "agent-7f3a");
  free(b);
  /* the optional host map of an inventory (older agents leave it out) */
  b = edited(CK_WIRE_INVENTORY, "host", ED_DROP, &bl);
  assert_int_equal(dec(b, bl, a, &d, &err), CK_OK);
  assert_false(d.u.inventory.has_host);
  assert_null(d.u.inventory.host.hostname);
  free(b);
  b = edited(CK_WIRE_INVENTORY, "host.hwkeys", ED_DROP, &bl);
  assert_int_equal(dec(b, bl, a, &d, &err), CK_OK);
  assert_true(d.u.inventory.has_host);
  assert_int_equal(d.u.inventory.host.hwkeys.n, 0);
  assert_string_equal(d.u.inventory.host.hostname, "web1");
  free(b);
  ck_arena_free(a);
}

static void test_duplicate_keys(void **state) {
  static const struct {
    ck_wire_type t;
    const char *path;
  } cases[] = {
      {CK_WIRE_HELLO, "version"},
      {CK_WIRE_HELLO, "t"},
      {CK_WIRE_HELLO, "v"},
      {CK_WIRE_PING, "id"},
      {CK_WIRE_ENROLL, "host.os"},
      {CK_WIRE_INVENTORY, "findings.1.path"},
      {CK_WIRE_COMMAND, "args.profile"},
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ck_errctx err = CK_ERRCTX_INIT;
    ck_arena *a = ck_arena_new(0);
    ck_wire_msg d;
    size_t bl;
    uint8_t *b = edited(cases[i].t, cases[i].path, ED_DUP, &bl);

    assert_int_equal(dec(b, bl, a, &d, &err), CK_ERR_WIRE_MALFORMED);
    free(b);
    ck_arena_free(a);
  }
}

/* Builds a body by hand: the envelope then extra pairs written by fn. */
static uint8_t *handmade(int v, const char *t, int64_t id, size_t extra_pairs,
                         void (*fn)(msgpack_packer *), size_t *len) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  size_t n = extra_pairs + (v >= 0) + (t != NULL) + (id >= 0);

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, n);
  if (fn != NULL)
    fn(&pk); /* before the envelope: order must not matter */
  if (v >= 0) {
    pstr(&pk, "v");
    msgpack_pack_int(&pk, v);
  }
  if (t != NULL) {
    pstr(&pk, "t");
    pstr(&pk, t);
  }
  if (id >= 0) {
    pstr(&pk, "id");
    msgpack_pack_int64(&pk, id);
  }
  *len = sb.size;
  return (uint8_t *)msgpack_sbuffer_release(&sb);
}

static void ping_fields_and_future(msgpack_packer *pk) {
  pstr(pk, "time");
  msgpack_pack_int64(pk, 12345);
  /* Unknown fields of every shape, including nested containers. */
  pstr(pk, "future_map");
  msgpack_pack_map(pk, 2);
  msgpack_pack_int(pk, 7); /* a non-string key inside an unknown field */
  msgpack_pack_array(pk, 1);
  msgpack_pack_nil(pk);
  pstr(pk, "x");
  msgpack_pack_double(pk, 2.5);
  pstr(pk, "future_bin");
  msgpack_pack_bin(pk, 3);
  msgpack_pack_bin_body(pk, "abc", 3);
  pstr(pk, "future_ext");
  msgpack_pack_ext(pk, 2, 5);
  msgpack_pack_ext_body(pk, "zz", 2);
}

static void test_unknown_fields_ignored(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *a = ck_arena_new(0);
  ck_wire_msg d;
  size_t bl;
  uint8_t *b = handmade(1, "ping", 9, 4, ping_fields_and_future, &bl);

  assert_int_equal(dec(b, bl, a, &d, &err), CK_OK);
  assert_int_equal(d.type, CK_WIRE_PING);
  assert_int_equal(d.id, 9);
  assert_int_equal(d.u.ping.time, 12345);
  free(b);
  ck_arena_free(a);
}

/* An unknown type is an error whose reply echoes the id; the session
 * answers and continues. */
static void test_unknown_type_reply(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *a = ck_arena_new(0);
  ck_wire_msg d, reply, back;
  uint8_t *b, *f;
  size_t bl, fl;

  b = handmade(1, "frobnicate", 77, 4, ping_fields_and_future, &bl);
  assert_int_equal(dec(b, bl, a, &d, &err), CK_ERR_WIRE_UNKNOWN_TYPE);
  assert_non_null(strstr(err.msg, "frobnicate"));
  assert_true(d.has_id);
  assert_int_equal(d.id, 77);
  assert_int_equal(d.type, CK_WIRE_UNKNOWN);

  ck_wire_error_reply(&reply, &d, &err);
  f = enc_ok(&reply, &fl);
  {
    ck_errctx e2 = CK_ERRCTX_INIT;
    assert_int_equal(dec(f + 4, fl - 4, a, &back, &e2), CK_OK);
  }
  assert_int_equal(back.type, CK_WIRE_ERROR);
  assert_int_equal(back.id, 77);
  assert_int_equal(back.u.error.code, CK_ERR_WIRE_UNKNOWN_TYPE);
  assert_non_null(strstr(back.u.error.message, "frobnicate"));
  assert_false(back.u.error.has_fatal);
  free(f);
  free(b);

  /* Without a usable id the reply says 0. */
  b = handmade(1, "frobnicate", -1, 0, NULL, &bl);
  ck_errctx_clear(&err);
  assert_int_equal(dec(b, bl, a, &d, &err), CK_ERR_WIRE_MISSING);
  assert_false(d.has_id);
  ck_wire_error_reply(&reply, &d, &err);
  assert_int_equal(reply.id, 0);
  assert_int_equal(reply.u.error.code, CK_ERR_WIRE_MISSING);
  ck_wire_error_reply(&reply, NULL, NULL);
  assert_int_equal(reply.u.error.code, CK_ERR_INTERNAL);
  free(b);

  /* A framing error is fatal: the stream cannot be resynchronised. */
  ck_errctx_clear(&err);
  ck_failf(&err, CK_ERR_WIRE_TOO_BIG, "too big");
  ck_wire_error_reply(&reply, NULL, &err);
  assert_true(reply.u.error.has_fatal && reply.u.error.fatal);
  ck_arena_free(a);
}

static void test_envelope_errors(void **state) {
  static const struct {
    int v;
    const char *t;
    int64_t id;
    ck_err want;
  } cases[] = {
      {2, "ping", 1, CK_ERR_WIRE_VERSION},
      {0, "ping", 1, CK_ERR_WIRE_VERSION},
      {-1, "ping", 1, CK_ERR_WIRE_MISSING},
      {1, NULL, 1, CK_ERR_WIRE_MISSING},
      {1, "ping", -1, CK_ERR_WIRE_MISSING},
      {1, "", 1, CK_ERR_WIRE_UNKNOWN_TYPE},
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ck_errctx err = CK_ERRCTX_INIT;
    ck_arena *a = ck_arena_new(0);
    ck_wire_msg d;
    size_t bl;
    uint8_t *b = handmade(cases[i].v, cases[i].t, cases[i].id, 4,
                          ping_fields_and_future, &bl);

    if (dec(b, bl, a, &d, &err) != cases[i].want)
      fail_msg("case %zu: got %s (%s)", i, ck_err_name(err.code), err.msg);
    free(b);
    ck_arena_free(a);
  }
}

static void wrong_envelope(msgpack_packer *pk) {
  pstr(pk, "time");
  msgpack_pack_int(pk, 1);
}

static void test_envelope_types(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *a = ck_arena_new(0);
  ck_wire_msg d;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  int c;

  for (c = 0; c < 4; c++) {
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    wrong_envelope(&pk);
    pstr(&pk, "v");
    if (c == 0)
      pstr(&pk, "1");
    else
      msgpack_pack_int(&pk, 1);
    pstr(&pk, "t");
    if (c == 1)
      msgpack_pack_int(&pk, 1);
    else
      pstr(&pk, "ping");
    pstr(&pk, "id");
    if (c == 2)
      msgpack_pack_int(&pk, -4);
    else if (c == 3)
      msgpack_pack_double(&pk, 1.0);
    else
      msgpack_pack_int(&pk, 4);
    ck_errctx_clear(&err);
    assert_int_equal(
        ck_wire_decode((uint8_t *)sb.data, sb.size, NULL, a, &d, &err),
        CK_ERR_WIRE_TYPE);
    assert_non_null(strstr(err.msg, c == 0 ? "'v'" : c == 1 ? "'t'" : "'id'"));
    msgpack_sbuffer_destroy(&sb);
  }
  ck_arena_free(a);
}

/* Values outside the C type's range are type errors, not silent wraps. */
static void test_ranges_and_strings(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *a = ck_arena_new(0);
  ck_wire_msg d;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  int c;

  for (c = 0; c < 7; c++) {
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    pstr(&pk, "v");
    msgpack_pack_int(&pk, 1);
    pstr(&pk, "t");
    pstr(&pk, "error");
    pstr(&pk, "id");
    msgpack_pack_int(&pk, 3);
    pstr(&pk, "code");
    if (c == 0)
      msgpack_pack_int64(&pk, (int64_t)INT32_MAX + 1);
    else if (c == 1)
      msgpack_pack_int64(&pk, (int64_t)INT32_MIN - 1);
    else
      msgpack_pack_int(&pk, -207);
    if (c == 2) {
      pstr(&pk, "message");
      msgpack_pack_str(&pk, 3);
      msgpack_pack_str_body(&pk, "a\0b", 3);
    } else if (c == 3) {
      pstr(&pk, "retry_after");
      msgpack_pack_uint64(&pk, (uint64_t)UINT32_MAX + 1);
    } else if (c == 4) {
      pstr(&pk, "retry_after");
      msgpack_pack_int(&pk, -1);
    } else if (c == 5) {
      msgpack_pack_int(&pk, 5); /* integer key */
      pstr(&pk, "x");
    } else {
      pstr(&pk, "message");
      pstr(&pk, "fine");
    }
    ck_errctx_clear(&err);
    assert_int_equal(
        ck_wire_decode((uint8_t *)sb.data, sb.size, NULL, a, &d, &err),
        c == 6 ? CK_OK : CK_ERR_WIRE_TYPE);
    msgpack_sbuffer_destroy(&sb);
  }
  assert_int_equal(d.u.error.code, -207);
  assert_string_equal(d.u.error.message, "fine");
  ck_arena_free(a);
}

/* A value of an enum this build does not know decodes as "unknown" (a newer
 * peer's action), which the session refuses with an error reply. */
static void enum_future(msgpack_packer *pk) {
  pstr(pk, "action");
  pstr(pk, "reboot-the-world");
  pstr(pk, "target");
  pstr(pk, "x");
}

static void test_unknown_enum_value(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *a = ck_arena_new(0);
  ck_wire_msg d;
  size_t bl, fl;
  uint8_t *b = handmade(1, "command", 5, 2, enum_future, &bl), *f;

  assert_int_equal(dec(b, bl, a, &d, &err), CK_OK);
  assert_int_equal(d.u.command.action, CK_WIRE_ACT_UNKNOWN);
  assert_string_equal(d.u.command.target, "x");
  f = enc_ok(&d, &fl);
  assert_true(contains(f, fl, "\xa7unknown"));
  free(f);
  free(b);
  ck_arena_free(a);
}

static void many_args(msgpack_packer *pk) {
  unsigned i;
  char k[16];

  pstr(pk, "action");
  pstr(pk, "config");
  pstr(pk, "args");
  msgpack_pack_map(pk, CK_WIRE_MAX_ARGS + 1);
  for (i = 0; i <= CK_WIRE_MAX_ARGS; i++) {
    snprintf(k, sizeof k, "k%u", i);
    pstr(pk, k);
    pstr(pk, "v");
  }
}

static void test_args_limit(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *a = ck_arena_new(0);
  ck_wire_msg d;
  size_t bl;
  uint8_t *b = handmade(1, "command", 5, 2, many_args, &bl);

  assert_int_equal(dec(b, bl, a, &d, &err), CK_ERR_WIRE_LENGTH);
  assert_non_null(strstr(err.msg, "command.args"));
  free(b);
  ck_arena_free(a);
}

static void test_wipe_secrets(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *a = ck_arena_new(0);
  ck_wire_msg m, d;
  uint8_t *f;
  size_t fl, n;
  const char *tok;

  sample_full(CK_WIRE_ENROLL, &m);
  f = enc_ok(&m, &fl);
  assert_int_equal(dec(f + 4, fl - 4, a, &d, &err), CK_OK);
  tok = d.u.enroll.token;
  n = strlen(tok);
  assert_true(n > 0);
  ck_wire_msg_wipe_secrets(&d);
  while (n-- > 0)
    assert_int_equal(tok[n], 0);
  assert_string_equal(d.u.enroll.host.hostname, "web1"); /* not a secret */
  ck_wire_msg_wipe_secrets(NULL);
  free(f);
  ck_arena_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_full),
      cmocka_unit_test(test_roundtrip_min),
      cmocka_unit_test(test_decoded_outlives_frame),
      cmocka_unit_test(test_type_table),
      cmocka_unit_test(test_encode_refuses),
      cmocka_unit_test(test_wrong_type_every_field),
      cmocka_unit_test(test_wrong_element_type),
      cmocka_unit_test(test_missing_and_optional),
      cmocka_unit_test(test_optional_absent_values),
      cmocka_unit_test(test_duplicate_keys),
      cmocka_unit_test(test_unknown_fields_ignored),
      cmocka_unit_test(test_unknown_type_reply),
      cmocka_unit_test(test_envelope_errors),
      cmocka_unit_test(test_envelope_types),
      cmocka_unit_test(test_ranges_and_strings),
      cmocka_unit_test(test_unknown_enum_value),
      cmocka_unit_test(test_args_limit),
      cmocka_unit_test(test_wipe_secrets),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
