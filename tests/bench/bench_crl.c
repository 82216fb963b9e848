/* bench_crl.c — how long building and signing a full CRL takes.
 *
 * Builds CRLs of 100,000 and 1,000,000 entries (16-byte random serials,
 * reasons cycling, one date each) with a P-256 issuing CA through the same
 * builder the coordinator uses (common/crypto/crl.h), adding entries by hex
 * as the coordinator does from the store. Reports wall time and size. The
 * coordinator also reads the revocation rows from the store a page at a
 * time; that part is the store's read rate (bench_store).
 *
 *   bench_crl [entries...]     (default: 100000 1000000)
 *
 * Figures belong in docs/performance.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto/certgen.h"
#include "common/crypto/crl.h"
#include "common/util/clock.h"

static const ck_name_attr ca_dn[] = {{"O", "bench"}, {"CN", "bench Issuing CA"}};

static int run(const ck_certgen_issuer *iss, unsigned long n) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_crl_builder *b = NULL;
  ck_crl_opts o;
  uint8_t serial[16], *der = NULL;
  char hex[40];
  size_t len = 0;
  unsigned long i;
  int64_t t0, t1, now = ck_clock_now();

  memset(&o, 0, sizeof o);
  o.this_update = now;
  o.next_update = now + 86400;
  o.number = 1;
  t0 = ck_clock_now_ms();
  if (ck_crl_builder_new(iss, &o, &b, &err) != CK_OK)
    goto fail;
  for (i = 0; i < n; i++) {
    if (ck_certgen_random_serial(serial) != CK_OK ||
        ck_crypto_hex(serial, sizeof serial, 0, hex, sizeof hex) != CK_OK)
      goto fail;
    if (ck_crl_builder_add_hex(b, hex, now - (int64_t)(i % 86400), (int)(i % 6), &err) != CK_OK)
      goto fail;
  }
  if (ck_crl_builder_finish(b, &der, &len, &err) != CK_OK)
    goto fail;
  t1 = ck_clock_now_ms();
  printf("crl entries=%lu bytes=%zu ms=%lld\n", n, len, (long long)(t1 - t0));
  ck_crl_builder_free(b);
  free(der);
  return 0;
fail:
  fprintf(stderr, "bench_crl: %s\n", ck_errctx_msg(&err));
  ck_crl_builder_free(b);
  return 1;
}

int main(int argc, char **argv) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_key_spec spec = {CK_KEY_EC, 256};
  ck_certgen_issuer *self = NULL, *iss = NULL;
  ck_certgen_tmpl t;
  ck_key *key = NULL;
  ck_cert *ca = NULL;
  uint8_t serial[CK_CERTGEN_SERIAL_LEN];
  int i, rc = 1;

  if (ck_key_generate(&spec, &key, &err) != CK_OK ||
      ck_certgen_random_serial(serial) != CK_OK)
    goto out;
  memset(&t, 0, sizeof t);
  t.subject = ca_dn;
  t.n_subject = 2;
  t.serial = serial;
  t.serial_len = sizeof serial;
  t.not_before = ck_clock_now() - 60;
  t.not_after = ck_clock_now() + 365 * 86400;
  t.is_ca = 1;
  t.path_len = -1;
  t.key_usage = CK_KU_KEY_CERT_SIGN | CK_KU_CRL_SIGN;
  if (ck_certgen_issuer_new(NULL, key, &self, &err) != CK_OK ||
      ck_certgen_issue(self, &t, &ca, &err) != CK_OK ||
      ck_certgen_issuer_new(ca, key, &iss, &err) != CK_OK)
    goto out;
  rc = 0;
  if (argc > 1) {
    for (i = 1; i < argc && rc == 0; i++)
      rc = run(iss, strtoul(argv[i], NULL, 10));
  } else {
    rc = run(iss, 100000);
    if (rc == 0)
      rc = run(iss, 1000000);
  }
out:
  if (rc != 0 && ck_errctx_msg(&err)[0] != '\0')
    fprintf(stderr, "bench_crl: %s\n", ck_errctx_msg(&err));
  ck_certgen_issuer_free(iss);
  ck_certgen_issuer_free(self);
  ck_cert_free(ca);
  ck_key_free(key);
  return rc;
}
