/* test_crl_shard.c — CRL sharding helpers (crl.h): the shard of a serial is
 * the same from bytes and from hex (leading zeros ignored), the builder
 * writes a critical issuingDistributionPoint with the URI when asked (and
 * none otherwise), and refuses a URI that is not printable ASCII. Both
 * crypto backends. */
#include <stdlib.h>
#include <string.h>

#include "common/crypto/certgen.h"
#include "common/crypto/crl.h"
#include "common/util/clock.h"
#include "tests/testutil.h"

static const ck_name_attr ca_dn[] = {{"O", "test"}, {"CN", "shard test CA"}};

typedef struct fx {
  ck_key *key;
  ck_cert *ca;
  ck_certgen_issuer *self, *iss;
} fx;

static int setup(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_key_spec spec = {CK_KEY_EC, 256};
  uint8_t serial[CK_CERTGEN_SERIAL_LEN];
  ck_certgen_tmpl t;
  fx *f = calloc(1, sizeof *f);

  assert_non_null(f);
  assert_int_equal(ck_key_generate(&spec, &f->key, &err), CK_OK);
  assert_int_equal(ck_certgen_random_serial(serial), CK_OK);
  memset(&t, 0, sizeof t);
  t.subject = ca_dn;
  t.n_subject = 2;
  t.serial = serial;
  t.serial_len = sizeof serial;
  t.not_before = ck_clock_now() - 60;
  t.not_after = ck_clock_now() + 86400;
  t.is_ca = 1;
  t.path_len = -1;
  t.key_usage = CK_KU_KEY_CERT_SIGN | CK_KU_CRL_SIGN;
  assert_int_equal(ck_certgen_issuer_new(NULL, f->key, &f->self, &err), CK_OK);
  assert_int_equal(ck_certgen_issue(f->self, &t, &f->ca, &err), CK_OK);
  assert_int_equal(ck_certgen_issuer_new(f->ca, f->key, &f->iss, &err), CK_OK);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;

  ck_certgen_issuer_free(f->iss);
  ck_certgen_issuer_free(f->self);
  ck_cert_free(f->ca);
  ck_key_free(f->key);
  free(f);
  return 0;
}

static void test_shard_of(void **state) {
  static const uint8_t s1[] = {0x00, 0x01, 0x02, 0x03};
  static const uint8_t s2[] = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
  unsigned n;

  (void)state;
  assert_int_equal(ck_crl_shard_of(s1, sizeof s1, 1), 0);
  assert_int_equal(ck_crl_shard_of(s1, sizeof s1, 0), 0);
  assert_int_equal(ck_crl_shard_of(s1, sizeof s1, 4), 0x010203 % 4);
  assert_int_equal(ck_crl_shard_of(s1, sizeof s1, 7), 0x010203 % 7);
  for (n = 2; n <= 256; n++) { /* bytes and hex agree, leading zeros or not */
    assert_int_equal((int)ck_crl_shard_of(s1, sizeof s1, n), ck_crl_shard_of_hex("010203", n));
    assert_int_equal((int)ck_crl_shard_of(s1, sizeof s1, n), ck_crl_shard_of_hex("0010203", n));
    assert_int_equal((int)ck_crl_shard_of(s2, sizeof s2, n),
                     ck_crl_shard_of_hex("7FFFFFFFFFFFFFFFFE", n));
  }
  assert_int_equal(ck_crl_shard_of_hex("12g4", 4), -1);
  assert_int_equal(ck_crl_shard_of_hex("", 4), -1);
  assert_int_equal(ck_crl_shard_of_hex(NULL, 4), -1);
}

/* Index of needle in hay, or -1. */
static long find(const uint8_t *hay, size_t n, const void *needle, size_t m) {
  size_t i;

  for (i = 0; i + m <= n; i++)
    if (memcmp(hay + i, needle, m) == 0)
      return (long)i;
  return -1;
}

static void build(fx *f, const char *idp, uint64_t base, uint8_t **der, size_t *len) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_crl_builder *b = NULL;
  ck_crl_opts o;

  memset(&o, 0, sizeof o);
  o.this_update = ck_clock_now();
  o.next_update = o.this_update + 3600;
  o.number = 7;
  o.delta_base = base;
  o.idp_url = idp;
  if (ck_crl_builder_new(f->iss, &o, &b, &err) != CK_OK)
    fail_msg("new: %s", ck_errctx_msg(&err));
  assert_int_equal(ck_crl_builder_add_hex(b, "0a1b", ck_clock_now(), 1, &err), CK_OK);
  if (ck_crl_builder_finish(b, der, len, &err) != CK_OK)
    fail_msg("finish: %s", ck_errctx_msg(&err));
  ck_crl_builder_free(b);
}

static void test_idp(void **state) {
  static const char url[] = "http://ca.example:8080/crl/issuing-s3.crl";
  /* extension: OID 2.5.29.28, critical TRUE, then the OCTET STRING */
  static const uint8_t ext[] = {0x06, 0x03, 0x55, 0x1d, 0x1c, 0x01, 0x01, 0xff, 0x04};
  fx *f = *state;
  uint8_t *der = NULL, want[64];
  size_t len = 0, ul = sizeof url - 1;
  long at;

  build(f, url, 0, &der, &len);
  at = find(der, len, ext, sizeof ext);
  assert_true(at >= 0);
  /* SEQ { [0] { [0] { [6] url } } } right after the OCTET STRING length */
  want[0] = 0x30;
  want[1] = (uint8_t)(ul + 6);
  want[2] = 0xa0;
  want[3] = (uint8_t)(ul + 4);
  want[4] = 0xa0;
  want[5] = (uint8_t)(ul + 2);
  want[6] = 0x86;
  want[7] = (uint8_t)ul;
  memcpy(want + 8, url, ul);
  assert_int_equal(find(der, len, want, ul + 8), at + (long)sizeof ext + 1);
  free(der);
  /* a delta carries it the same way */
  build(f, url, 5, &der, &len);
  assert_true(find(der, len, ext, sizeof ext) >= 0);
  free(der);
  /* none unless asked */
  build(f, NULL, 0, &der, &len);
  assert_int_equal(find(der, len, ext, 5), -1);
  free(der);
}

static void test_idp_refused(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_crl_builder *b = NULL;
  ck_crl_opts o;
  fx *f = *state;

  memset(&o, 0, sizeof o);
  o.this_update = ck_clock_now();
  o.next_update = o.this_update + 3600;
  o.number = 1;
  o.idp_url = "http://x/a b.crl";
  assert_int_equal(ck_crl_builder_new(f->iss, &o, &b, &err), CK_ERR_INVAL);
  assert_non_null(strstr(ck_errctx_msg(&err), "issuingDistributionPoint"));
  o.idp_url = "";
  assert_int_equal(ck_crl_builder_new(f->iss, &o, &b, &err), CK_ERR_INVAL);
  assert_null(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shard_of),
      cmocka_unit_test_setup_teardown(test_idp, setup, teardown),
      cmocka_unit_test_setup_teardown(test_idp_refused, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
