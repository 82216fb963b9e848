/* test_seeds.c — the fuzz seed corpus tests/fuzz/corpus/wire/.
 *
 * ok-*.bin hold whole frames (prefix + body) that must decode; bad-*.bin
 * hostile frames that must be refused with a wire error. This test checks
 * the checked-in files still behave so (the protocol may change under
 * them) and that every message type has a seed. To regenerate after a
 * protocol change:
 *   CK_WIRE_WRITE_SEEDS=1 ctest -R unit.wire.seeds   (from the build dir)
 * which rewrites the files in the source tree from samples.h. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire/framer.h"
#include "common/wire/wire.h"
#include "tests/testutil.h"
#include "tests/unit/wire/samples.h"

static void seed_dir(char *out, size_t len) {
  const char *src = getenv("CK_SOURCE_DIR");

  assert_non_null(src);
  snprintf(out, len, "%s/tests/fuzz/corpus/wire", src);
}

static void write_file(const char *dir, const char *name, const uint8_t *b,
                       size_t n) {
  char path[1024];
  FILE *f;

  assert_true(snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path);
  f = fopen(path, "wb");
  if (f == NULL)
    fail_msg("cannot write %s", path);
  assert_int_equal(fwrite(b, 1, n, f), n);
  fclose(f);
}

static void write_seeds(const char *dir) {
  int t, full;
  uint8_t *all = NULL;
  size_t alen = 0;

  for (full = 0; full < 2; full++)
    for (t = CK_WIRE_UNKNOWN + 1; t < CK_WIRE_TYPE__MAX; t++) {
      ck_errctx err = CK_ERRCTX_INIT;
      ck_wire_msg m;
      uint8_t *f;
      size_t fl;
      char name[64];

      if (full)
        sample_full((ck_wire_type)t, &m);
      else
        sample_min((ck_wire_type)t, &m);
      assert_int_equal(ck_wire_encode(&m, NULL, &f, &fl, &err), CK_OK);
      snprintf(name, sizeof name, "ok-%s-%s.bin",
               ck_wire_type_name((ck_wire_type)t), full ? "full" : "min");
      write_file(dir, name, f, fl);
      all = realloc(all, alen + fl);
      memcpy(all + alen, f, fl);
      alen += fl;
      free(f);
    }
  write_file(dir, "ok-stream-all.bin", all, alen);
  free(all);
  {
    /* {"v":1,"t":"ping","id":1,"x":[[[[...]]]]} 40 deep */
    uint8_t deep[4 + 64];
    size_t n = 0, i;
    static const uint8_t head[] = {0x84, 0xa1, 'v',  0x01, 0xa1, 't',
                                   0xa4, 'p',  'i',  'n',  'g',  0xa2,
                                   'i',  'd',  0x01, 0xa1, 'x'};

    n = 4;
    memcpy(deep + n, head, sizeof head);
    n += sizeof head;
    for (i = 0; i < 40; i++)
      deep[n++] = 0x91;
    deep[n++] = 0xc0;
    deep[0] = deep[1] = deep[2] = 0;
    deep[3] = (uint8_t)(n - 4);
    write_file(dir, "bad-deep.bin", deep, n);
  }
  {
    static const uint8_t bomb[] = {0, 0, 0, 5, 0xdf, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t arr[] = {0,   0,    0,    8,    0x81, 0xa1,
                                  'x', 0xdd, 0xff, 0xff, 0xff, 0xff};
    /* {"v":1,"t":"hugs","id":128}: 16 body bytes */
    static const uint8_t unk[] = {0,    0,    0,   0x10, 0x83, 0xa1, 'v',
                                  0x01, 0xa1, 't', 0xa4, 'h',  'u',  'g',
                                  's',  0xa2, 'i', 'd',  0xcc, 0x80};

    write_file(dir, "bad-map-bomb.bin", bomb, sizeof bomb);
    write_file(dir, "bad-array-bomb.bin", arr, sizeof arr);
    write_file(dir, "bad-unknown-type.bin", unk, sizeof unk);
  }
}

static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  uint8_t *b;
  long n;

  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  b = malloc((size_t)n + 1);
  assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return b;
}

static void test_seeds(void **state) {
  char dir[1024];
  DIR *d;
  struct dirent *e;
  int have[CK_WIRE_TYPE__MAX] = {0};
  size_t nok = 0, nbad = 0;
  int t;

  seed_dir(dir, sizeof dir);
  if (getenv("CK_WIRE_WRITE_SEEDS") != NULL)
    write_seeds(dir);

  d = opendir(dir);
  assert_non_null(d);
  while ((e = readdir(d)) != NULL) {
    int ok = strncmp(e->d_name, "ok-", 3) == 0;
    int bad = strncmp(e->d_name, "bad-", 4) == 0;
    char path[2048];
    uint8_t *buf;
    size_t len, frames = 0, failures = 0;
    ck_wire_framer f;
    ck_errctx err = CK_ERRCTX_INIT;
    const uint8_t *body;
    size_t blen;

    if (!ok && !bad)
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    buf = slurp(path, &len);
    ck_wire_framer_init(&f, 0);
    if (ck_wire_framer_feed(&f, buf, len, &err) != CK_OK)
      failures++;
    while (ck_wire_framer_next(&f, &body, &blen, &err) == CK_OK) {
      ck_arena *a = ck_arena_new(0);
      ck_wire_msg m;
      ck_err rc = ck_wire_decode(body, blen, NULL, a, &m, &err);

      frames++;
      if (rc == CK_OK)
        have[m.type] = 1;
      else if (rc <= CK_ERR_WIRE_TRUNCATED && rc >= CK_ERR_WIRE_MALFORMED)
        failures++;
      else
        fail_msg("%s: unexpected %s", e->d_name, ck_err_name(rc));
      ck_arena_free(a);
    }
    if (ok && (failures > 0 || frames == 0 || ck_wire_framer_pending(&f) != 0))
      fail_msg("seed %s no longer decodes: %s", e->d_name, err.msg);
    if (bad && failures == 0)
      fail_msg("seed %s is accepted", e->d_name);
    nok += (size_t)ok;
    nbad += (size_t)bad;
    ck_wire_framer_free(&f);
    free(buf);
  }
  closedir(d);
  for (t = CK_WIRE_UNKNOWN + 1; t < CK_WIRE_TYPE__MAX; t++)
    if (!have[t])
      fail_msg("no seed for message type %s",
               ck_wire_type_name((ck_wire_type)t));
  assert_true(nok >= 2 * (CK_WIRE_TYPE__MAX - 1));
  assert_true(nbad >= 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_seeds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
