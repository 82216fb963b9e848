/* bench_sched.c — the scheduler's scan over a large estate in a real
 * store: N certificates (default 10,000) issued here with 47-day validity,
 * spread over the lifetime, owned by K owners (default 20) with an email
 * address each. Measures the first scan (every certificate reaches a
 * notice step: N notice items with their audit events, then one digest
 * delivery per owner listing its ~N/K certificates) and a steady-state
 * scan (nothing new). The mail server is unreachable on purpose: sending is
 * not measured here (test_notices.sh covers it).
 * Usage: bench_sched [N] [OWNERS]   (figures in docs/performance.md) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "common/crypto/crypto.h"
#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/core/coord.h"
#include "coordinator/core/coord_rt.h"
#include "coordinator/sched/sched.h"

#define DAY 86400LL

static const char conf[] =
    "[sched]\ntick = 1h\n[notices]\nsmtp_url = smtp://127.0.0.1:1\n"
    "retry_base = 1h\nworkers = 1\nsmtp_timeout = 1s\n";

/* CPU seconds used by the whole process so far (all threads). */
static double cpu_s(void) {
  struct rusage ru;

  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int die(const char *what, ck_err rc, const ck_errctx *err) {
  fprintf(stderr, "bench_sched: %s: %s %s\n", what, ck_err_name(rc),
          err != NULL ? err->msg : "");
  exit(1);
}

int main(int argc, char **argv) {
  long n = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
  long owners = argc > 2 ? strtol(argv[2], NULL, 10) : 20;
  char dir[] = "/tmp/bench_sched.XXXXXX", path[256], buf[256];
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_opts so;
  ck_coord_rt rt;
  ck_sched *s = NULL;
  ck_sched_status st;
  uv_loop_t loop;
  int64_t now = ck_clock_now();
  uint64_t t0;
  double c0;
  long i;
  ck_err rc;

  if (n < 1 || owners < 1 || mkdtemp(dir) == NULL)
    return 2;
  ck_log_configure(CK_LOG_OPS, "none", CK_LOG_FMT_KV, CK_LOG_ERR, NULL);
  ck_log_configure(CK_LOG_SEC, "none", CK_LOG_FMT_KV, CK_LOG_ERR, NULL);
  snprintf(path, sizeof path, "%s/store.db", dir);
  memset(&so, 0, sizeof so);
  so.path = path;
  memset(&rt, 0, sizeof rt);
  if ((rc = ck_store_open(&so, &rt.store, &err)) != CK_OK)
    die("store", rc, &err);
  for (i = 0; i < owners; i++) {
    ck_store_write *w = ck_store_write_new();
    ck_store_owner o;
    char name[64], mail[96];
    memset(&o, 0, sizeof o);
    snprintf(name, sizeof name, "team-%ld", i);
    snprintf(mail, sizeof mail, "team-%ld@example.test", i);
    o.name = name;
    o.email = mail;
    o.webhook = "";
    if ((rc = ck_store_write_owner_put(w, &o, &err)) != CK_OK ||
        (rc = ck_store_submit_wait(rt.store, w, &err)) != CK_OK)
      die("owner", rc, &err);
    ck_store_write_free(w);
  }
  t0 = ck_clock_mono_ms();
  for (i = 0; i < n;) {
    ck_store_write *w = ck_store_write_new();
    long j;
    for (j = 0; j < 1000 && i < n; j++, i++) {
      uint8_t der[300], h[CK_SHA256_LEN];
      char subj[64], sans[64], owner[64];
      ck_store_cert c;
      memset(der, 0, sizeof der);
      der[0] = 0x30;
      memcpy(der + 1, &i, sizeof i);
      memset(&c, 0, sizeof c);
      ck_crypto_sha256(der, sizeof der, h);
      ck_hex_encode(h, sizeof h, c.fingerprint);
      der[299] = 1;
      ck_crypto_sha256(der, sizeof der, h);
      ck_hex_encode(h, sizeof h, c.spki_sha256);
      snprintf(buf, sizeof buf, "%lx", 0x100000 + i);
      snprintf(subj, sizeof subj, "CN=host%ld.example.test", i);
      snprintf(sans, sizeof sans, "DNS:host%ld.example.test", i);
      snprintf(owner, sizeof owner, "team-%ld", i % owners);
      c.serial_hex = buf;
      c.subject = subj;
      c.issuer = "CN=issuing";
      c.sans = sans;
      c.not_before = now - (i % 47) * DAY - 3600;
      c.not_after = c.not_before + 47 * DAY;
      c.key_type = "EC";
      c.key_bits = 256;
      c.sig_alg = "ecdsa-with-SHA256";
      c.owner = owner;
      c.profile = "";
      c.der = der;
      c.der_len = sizeof der;
      c.status = CK_CERT_ACTIVE;
      c.source = CK_CERT_SRC_ISSUED;
      if ((rc = ck_store_write_cert_put(w, &c, &err)) != CK_OK)
        die("cert", rc, &err);
    }
    if ((rc = ck_store_submit_wait(rt.store, w, &err)) != CK_OK)
      die("commit", rc, &err);
    ck_store_write_free(w);
  }
  printf("estate: %ld certificates, %ld owners, stored in %llu ms\n", n, owners,
         (unsigned long long)(ck_clock_mono_ms() - t0));
  uv_loop_init(&loop);
  rt.loop = &loop;
  if ((rc = ck_config_load_string("bench.conf", conf, ck_coord_cfg_keys,
                                  &rt.cfg, &err)) != CK_OK ||
      (rc = ck_sched_start(&rt, &s, &err)) != CK_OK)
    die("start", rc, &err);
  t0 = ck_clock_mono_ms();
  c0 = cpu_s();
  if ((rc = ck_sched_tick_now(s, now, &err)) != CK_OK)
    die("tick 1", rc, &err);
  ck_sched_get_status(s, &st);
  printf("first scan: %llu ms, %.2f s CPU (%lld certificates, %lld notice "
         "items, %lld deliveries)\n",
         (unsigned long long)(ck_clock_mono_ms() - t0), cpu_s() - c0,
         (long long)st.certificates, (long long)st.notices,
         (long long)st.deliveries_queued);
  t0 = ck_clock_mono_ms();
  c0 = cpu_s();
  if ((rc = ck_sched_tick_now(s, now + 60, &err)) != CK_OK)
    die("tick 2", rc, &err);
  printf("steady-state scan: %llu ms, %.2f s CPU\n",
         (unsigned long long)(ck_clock_mono_ms() - t0), cpu_s() - c0);
  ck_sched_close(s);
  uv_run(&loop, UV_RUN_NOWAIT);
  ck_sched_free(s);
  uv_loop_close(&loop);
  ck_config_free(rt.cfg);
  ck_store_close(rt.store);
  snprintf(buf, sizeof buf, "%s/store.db", dir);
  remove(buf);
  snprintf(buf, sizeof buf, "%s/store.db-wal", dir);
  remove(buf);
  snprintf(buf, sizeof buf, "%s/store.db-shm", dir);
  remove(buf);
  rmdir(dir);
  return 0;
}
