/* priv_fixture.h — a fake net end for tests that run the priv process
 * (agent/run/priv.c) on one end of a socketpair: the runner thread, bounded
 * frame reads and writes, and a test CA issuing certificates for the csr
 * frames priv sends. Included by one test file each (static functions). */
#ifndef CK_TESTS_MANAGE_PRIV_FIXTURE_H
#define CK_TESTS_MANAGE_PRIV_FIXTURE_H

#include "tests/testutil.h"

#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/run/agentconf.h"
#include "agent/run/priv.h"
#include "common/crypto/certgen.h"
#include "common/crypto/crypto.h"
#include "common/util/clock.h"
#include "common/util/mem.h"
#include "common/wire/wire.h"

#define DEADLINE_MS 20000

typedef struct runner {
  pthread_t th;
  const ck_agentconf *cfg;
  int fd;
  int rc;
} runner;

static void *run_priv(void *arg) {
  runner *r = arg;
  r->rc = ck_priv_main(r->cfg, r->fd);
  return NULL;
}

/* Reads exactly n bytes before the monotonic deadline; 0 on success. */
static int read_full(int fd, uint8_t *buf, size_t n, uint64_t deadline) {
  size_t got = 0;
  while (got < n) {
    struct pollfd p = {fd, POLLIN, 0};
    uint64_t now = ck_clock_mono_ms();
    ssize_t r;
    if (now >= deadline)
      return -1;
    if (poll(&p, 1, (int)(deadline - now)) <= 0)
      continue;
    r = read(fd, buf + got, n - got);
    if (r <= 0)
      return -1;
    got += (size_t)r;
  }
  return 0;
}

/* Reads one frame into *m (strings in arena); fails the test on timeout. */
static void read_msg(int fd, ck_arena *arena, ck_wire_msg *m) {
  uint8_t hdr[4], *body;
  size_t len;
  uint64_t deadline = ck_clock_mono_ms() + DEADLINE_MS;
  ck_errctx err = CK_ERRCTX_INIT;

  if (read_full(fd, hdr, 4, deadline) != 0)
    fail_msg("no frame from priv within %d ms", DEADLINE_MS);
  len = ((size_t)hdr[0] << 24) | ((size_t)hdr[1] << 16) |
        ((size_t)hdr[2] << 8) | hdr[3];
  assert_true(len > 0 && len < 4u * 1024 * 1024);
  body = malloc(len);
  assert_non_null(body);
  assert_int_equal(read_full(fd, body, len, deadline), 0);
  if (ck_wire_decode(body, len, NULL, arena, m, &err) != CK_OK)
    fail_msg("bad frame from priv: %s", ck_errctx_msg(&err));
  free(body);
}

/* Reads frames (at most 200) until the one answering id, left in *m. */
static void read_answer(int fd, ck_arena *arena, uint64_t id,
                        ck_wire_msg *m) {
  int i;

  for (i = 0; i < 200; i++) {
    ck_arena_reset(arena);
    read_msg(fd, arena, m);
    if (m->id == id)
      return;
  }
  fail_msg("no answer to frame %llu within 200 frames",
           (unsigned long long)id);
}

static void send_msg(int fd, const ck_wire_msg *m) {
  uint8_t *buf = NULL;
  size_t len = 0;
  ck_errctx err = CK_ERRCTX_INIT;
  assert_int_equal(ck_wire_encode(m, NULL, &buf, &len, &err), CK_OK);
  assert_int_equal(write(fd, buf, len), (ssize_t)len);
  free(buf);
}

static ck_cert *make_ca(ck_key **key) {
  ck_key_spec ks = {CK_KEY_EC, 256};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_certgen_tmpl t;
  ck_name_attr cn = {"CN", "Priv Test CA"};
  uint8_t serial[CK_CERTGEN_SERIAL_LEN];
  ck_cert *ca = NULL;
  int64_t now = ck_clock_now();

  memset(&t, 0, sizeof t);
  assert_int_equal(ck_key_generate(&ks, key, &err), CK_OK);
  assert_int_equal(ck_certgen_random_serial(serial), CK_OK);
  t.serial = serial;
  t.serial_len = sizeof serial;
  t.subject = &cn;
  t.n_subject = 1;
  t.not_before = now - 86400;
  t.not_after = now + 3650 * 86400LL;
  t.is_ca = 1;
  t.path_len = -1;
  t.key_usage = CK_KU_KEY_CERT_SIGN | CK_KU_CRL_SIGN;
  assert_int_equal(ck_certgen_sign(&t, NULL, *key, &ca, &err), CK_OK);
  return ca;
}

/* Issues a 90-day server certificate: for the CSR's key, or (csr NULL) a
 * self-signed one for a fresh key. DER malloc'ed. */
static uint8_t *issue(ck_cert *ca, ck_key *ca_key, const uint8_t *csr_der,
                      size_t csr_len, const char *name, size_t *len) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_certgen_tmpl t;
  ck_certgen_issuer *iss = NULL;
  ck_csr *csr = NULL;
  ck_key *k = NULL;
  ck_key_spec ks = {CK_KEY_EC, 256};
  ck_san san = {CK_SAN_DNS, name};
  ck_name_attr cn = {"CN", name};
  uint8_t serial[CK_CERTGEN_SERIAL_LEN], *der = NULL;
  int64_t now = ck_clock_now();

  memset(&t, 0, sizeof t);
  assert_int_equal(ck_certgen_random_serial(serial), CK_OK);
  t.serial = serial;
  t.serial_len = sizeof serial;
  t.subject = &cn;
  t.n_subject = 1;
  t.sans = &san;
  t.n_sans = 1;
  t.not_before = now - 60;
  t.not_after = now + 90 * 86400LL;
  t.key_usage = CK_KU_DIGITAL_SIGNATURE;
  if (csr_der != NULL) {
    assert_int_equal(ck_csr_parse(csr_der, csr_len, &csr, &err), CK_OK);
    t.csr = csr;
    assert_int_equal(ck_certgen_issuer_new(ca, ca_key, &iss, &err), CK_OK);
  } else {
    assert_int_equal(ck_key_generate(&ks, &k, &err), CK_OK);
    assert_int_equal(ck_certgen_issuer_new(NULL, k, &iss, &err), CK_OK);
  }
  assert_int_equal(ck_certgen_issue_der(iss, &t, &der, len, &err), CK_OK);
  ck_certgen_issuer_free(iss);
  ck_csr_free(csr);
  ck_key_free(k);
  return der;
}

#endif
