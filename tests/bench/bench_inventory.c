/* bench_inventory.c — coordinator CPU to store an agent's full inventory.
 *
 * An in-process coordinator with its gateway on 127.0.0.1:0 (the unit
 * tests' gw_fixture.h), one enrolled agent, and N discovered certificates
 * sent as `inventory` frames of P findings each (fingerprint + der, as the
 * agent sends new findings), the way tests/bench/agent-footprint.sh's tree
 * is made: one template certificate whose serial is changed per file, so
 * every certificate is distinct but all share one public key (-k: a fresh
 * key per certificate instead), issued by a CA (-s: self-signed, which
 * costs the signature check of the self-signed rule). Measured, each as wall time and process
 * CPU (user + system; the test client's encoding is included and small):
 *   1. the first full inventory (every certificate new),
 *   2. the same full inventory again (nothing changes),
 *   3. a full inventory without the last 10% (pruning).
 * It also checks that run 2 added no certificate, installation or audit
 * event beyond its own `inventory.full` events.
 *
 *   bench_inventory [-n N] [-p PER_PART] [-k] [-s]
 * Figures and the command are in docs/performance.md ("Inventory ingest"). */
#include "tests/unit/gateway/gw_fixture.h"

#include <sys/resource.h>
#include <time.h>

#include "common/crypto/certgen.h"

static gw_fx fx;
static size_t n_certs = 10000, per_part = 1000;
static int distinct_keys, self_signed_certs;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* A certificate for key: CN cn, SAN DNS:cn, a year; signed by ca/ca_key
 * (NULL: self-signed; is_ca: a CA certificate without SAN). */
static ck_cert *leaf(const ck_key *key, const char *cn, uint8_t *serial,
                     const ck_cert *ca, const ck_key *ca_key, int is_ca) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_name_attr subj = {"CN", cn};
  ck_san san = {CK_SAN_DNS, cn};
  ck_certgen_tmpl t;
  ck_cert *cert = NULL;

  assert_int_equal(ck_certgen_random_serial(serial), CK_OK);
  memset(&t, 0, sizeof t);
  t.subject = &subj;
  t.n_subject = 1;
  t.sans = is_ca ? NULL : &san;
  t.n_sans = is_ca ? 0 : 1;
  t.is_ca = is_ca;
  t.key_usage = is_ca ? CK_KU_KEY_CERT_SIGN | CK_KU_CRL_SIGN : 0;
  t.pubkey = ca != NULL ? key : NULL;
  t.serial = serial;
  t.serial_len = CK_CERTGEN_SERIAL_LEN;
  t.not_before = ck_clock_now() - 3600;
  t.not_after = ck_clock_now() + 365 * 86400;
  t.path_len = -1;
  if (ck_certgen_sign(&t, ca, ca != NULL ? ca_key : key, &cert, &err) !=
      CK_OK)
    fail_msg("leaf: %s", ck_errctx_msg(&err));
  return cert;
}

typedef struct corpus {
  ck_wire_finding *f;
  uint8_t **der;
  uint8_t (*fp)[CK_SHA256_LEN];
  char **path;
  size_t n;
} corpus;

static void corpus_make(corpus *c, size_t n) {
  ck_key *key = gw_key("ec-p256"), *ca_key = gw_key("ec-p256");
  uint8_t serial[CK_CERTGEN_SERIAL_LEN];
  ck_cert *ca = leaf(ca_key, "Inventory Bench CA", serial, NULL, NULL, 1);
  const ck_cert *iss = self_signed_certs ? NULL : ca;
  ck_cert *tmpl = leaf(key, "template.bench.test", serial, iss, ca_key, 0);
  const uint8_t *tder;
  size_t tlen, i, at = 0;

  tder = ck_cert_der(tmpl, &tlen);
  for (i = 0; i + sizeof serial <= tlen; i++)
    if (memcmp(tder + i, serial, sizeof serial) == 0) {
      at = i;
      break;
    }
  assert_true(at > 0);
  c->n = n;
  c->f = calloc(n, sizeof *c->f);
  c->der = calloc(n, sizeof *c->der);
  c->fp = calloc(n, sizeof *c->fp);
  c->path = calloc(n, sizeof *c->path);
  assert_true(c->f && c->der && c->fp && c->path);
  for (i = 0; i < n; i++) {
    const uint8_t *d = tder;
    size_t len = tlen;
    ck_cert *own = NULL;
    ck_key *k = NULL;

    if (distinct_keys) {
      char cn[64];
      snprintf(cn, sizeof cn, "c%05zu.bench.test", i);
      k = gw_key("ec-p256");
      own = leaf(k, cn, serial, iss, ca_key, 0);
      d = ck_cert_der(own, &len);
    }
    c->der[i] = malloc(len);
    assert_non_null(c->der[i]);
    memcpy(c->der[i], d, len);
    if (!distinct_keys) { /* distinct serial, same length */
      uint32_t k32 = (uint32_t)i;
      c->der[i][at + sizeof serial - 4] = (uint8_t)(k32 >> 24);
      c->der[i][at + sizeof serial - 3] = (uint8_t)(k32 >> 16);
      c->der[i][at + sizeof serial - 2] = (uint8_t)(k32 >> 8);
      c->der[i][at + sizeof serial - 1] = (uint8_t)k32;
    }
    assert_int_equal(ck_crypto_sha256(c->der[i], len, c->fp[i]), CK_OK);
    c->path[i] = malloc(64);
    assert_non_null(c->path[i]);
    snprintf(c->path[i], 64, "/srv/tree/d%03zu/c%05zu.pem", i / 100, i);
    c->f[i].path = c->path[i];
    c->f[i].der.data = c->der[i];
    c->f[i].der.len = len;
    c->f[i].fingerprint.data = c->fp[i];
    c->f[i].fingerprint.len = CK_SHA256_LEN;
    ck_cert_free(own);
    ck_key_free(k);
  }
  ck_cert_free(tmpl);
  ck_cert_free(ca);
  ck_key_free(key);
  ck_key_free(ca_key);
}

static void corpus_free(corpus *c) {
  size_t i;

  for (i = 0; i < c->n; i++) {
    free(c->der[i]);
    free(c->path[i]);
  }
  free(c->f);
  free(c->der);
  free(c->fp);
  free(c->path);
}

/* Sends findings [0, n) as full inventory seq in parts; prints the time. */
static void full(gwc *c, const corpus *cp, size_t n, uint64_t seq,
                 const char *what) {
  double w0 = now_s(), c0 = cpu_s();
  size_t off = 0, part = 0;
  char last[600] = "";

  do {
    size_t k = n - off < per_part ? n - off : per_part;
    ck_wire_msg m, r;
    ck_arena *a = NULL;

    memset(&m, 0, sizeof m);
    m.type = CK_WIRE_INVENTORY;
    m.u.inventory.mode = CK_WIRE_INV_FULL;
    m.u.inventory.seq = seq;
    m.u.inventory.part = (uint32_t)part;
    m.u.inventory.has_part = true;
    m.u.inventory.final = off + k == n;
    m.u.inventory.has_final = true;
    m.u.inventory.findings = cp->f + off;
    m.u.inventory.n_findings = k;
    gwc_send(c, &m);
    /* a part may take longer than the fixture's 15 s: wait up to 10 min */
    ck_test_run_until(&fx.loop, &c->ready, 600000);
    gwc_expect(c, CK_WIRE_ACK, m.id, &r, &a);
    snprintf(last, sizeof last, "%s", r.u.ack.detail);
    ck_arena_free(a);
    off += k;
    part++;
  } while (off < n);
  printf("%-34s %6zu findings %3zu parts: %7.3f s wall %7.3f s CPU"
         "  (last ack: %s)\n",
         what, n, part, now_s() - w0, cpu_s() - c0, last);
  fflush(stdout);
}

static size_t count_certs(void) {
  ck_arena *a = ck_arena_new(1 << 16);
  ck_cert_filter f;
  ck_store_page pg;
  ck_store_cert *items;
  char cursor[256] = "";
  size_t n, total = 0;

  memset(&f, 0, sizeof f);
  f.by = CK_CERTQ_ALL;
  for (;;) {
    memset(&pg, 0, sizeof pg);
    pg.limit = CK_STORE_PAGE_MAX;
    pg.cursor = cursor[0] ? cursor : NULL;
    ck_arena_reset(a);
    assert_int_equal(
        ck_store_cert_list(fx.rt.store, &f, &pg, a, &items, &n, NULL), CK_OK);
    total += n;
    if (pg.next_cursor == NULL)
      break;
    ck_strlcpy(cursor, pg.next_cursor, sizeof cursor);
  }
  ck_arena_free(a);
  return total;
}

static size_t count_installs(const char *agent) {
  ck_arena *a = ck_arena_new(1 << 16);
  ck_store_page pg;
  ck_store_install *items;
  char cursor[256] = "";
  size_t n, total = 0;

  for (;;) {
    memset(&pg, 0, sizeof pg);
    pg.limit = CK_STORE_PAGE_MAX;
    pg.cursor = cursor[0] ? cursor : NULL;
    ck_arena_reset(a);
    assert_int_equal(ck_store_install_list(fx.rt.store, NULL, agent, &pg, a,
                                           &items, &n, NULL),
                     CK_OK);
    total += n;
    if (pg.next_cursor == NULL)
      break;
    ck_strlcpy(cursor, pg.next_cursor, sizeof cursor);
  }
  ck_arena_free(a);
  return total;
}

static void bench(void **state) {
  corpus cp;
  gw_ident id;
  gwc c;
  ck_wire_msg m;
  ck_arena *a = NULL;
  uint64_t hid;
  size_t certs1, inst1, parts;
  int64_t seq1;
  double t0 = now_s();

  (void)state;
  gw_fx_start(&fx, NULL);
  corpus_make(&cp, n_certs);
  printf("corpus: %zu certificates (%s, %s) in %.2f s\n", n_certs,
         distinct_keys ? "one key each" : "one shared key",
         self_signed_certs ? "self-signed" : "issued by a CA", now_s() - t0);
  gw_enroll_agent(&fx, "web", "tls-server", ".example.test", &id);
  assert_int_equal(gwc_open(&fx, &c, &id), CK_OK);
  hid = gwc_hello(&c, id.agent_id);
  gwc_expect(&c, CK_WIRE_WELCOME, hid, &m, &a);
  ck_arena_free(a);

  full(&c, &cp, n_certs, 1, "1. first full inventory (new)");
  certs1 = count_certs();
  inst1 = count_installs(id.agent_id);
  seq1 = gw_fx_audit_seq(&fx);
  full(&c, &cp, n_certs, 2, "2. same full inventory again");
  parts = (n_certs + per_part - 1) / per_part;
  printf("   after 2: certificates %zu -> %zu, installations %zu -> %zu, "
         "audit events +%lld (parts: %zu)\n",
         certs1, count_certs(), inst1, count_installs(id.agent_id),
         (long long)(gw_fx_audit_seq(&fx) - seq1), parts);
  assert_int_equal(count_certs(), certs1);
  assert_int_equal(count_installs(id.agent_id), inst1);
  assert_int_equal(gw_fx_audit_seq(&fx) - seq1, (int64_t)parts);
  full(&c, &cp, n_certs - n_certs / 10, 3, "3. full inventory, 10% gone");
  assert_int_equal(count_installs(id.agent_id), inst1 - n_certs / 10);

  gwc_close(&c);
  gw_ident_clear(&id);
  corpus_free(&cp);
  gw_fx_stop(&fx);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(bench)};
  int i;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
      n_certs = strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc)
      per_part = strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "-k") == 0)
      distinct_keys = 1;
    else if (strcmp(argv[i], "-s") == 0)
      self_signed_certs = 1;
    else {
      fprintf(stderr, "usage: bench_inventory [-n N] [-p PER_PART] [-k] [-s]\n");
      return 2;
    }
  }
  if (n_certs < 10 || per_part == 0) {
    fprintf(stderr, "bench_inventory: -n at least 10, -p at least 1\n");
    return 2;
  }
  ck_log_configure(CK_LOG_OPS, "none", CK_LOG_FMT_KV, CK_LOG_DEBUG, NULL);
  ck_log_configure(CK_LOG_SEC, "none", CK_LOG_FMT_KV, CK_LOG_DEBUG, NULL);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
