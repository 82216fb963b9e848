/* bench_est.c — EST enrollment load generator (docs/performance.md "EST
 * enrollment"): N simulated devices enroll over EST against a real
 * coordinator with the agent's own EST client (agent/link/est.h), at most C
 * at a time, each on its own TLS connection (a full handshake, as a fresh
 * device makes), HTTP Basic with the fleet secret. Keys and CSRs are made
 * before the clock starts (P-256, CN=<prefix>-<i>.test); the trust
 * bootstrap (/cacerts with the pinned fingerprint) runs once first. Prints
 * enrollments/s and latency percentiles, exits non-zero when any
 * enrollment failed or the time bound passed. Run through run-est.sh.
 *
 *   bench_est -u URL -f FINGERPRINT -l FLEET -s SECRET_FILE [-n 1000]
 *             [-c 32] [-p dev] [-t 300] [-o FIRST_CERT.pem]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#include "agent/link/est.h"
#include "common/crypto/crypto.h"
#include "common/util/clock.h"
#include "common/util/fs.h"

typedef struct dev {
  uint8_t *csr;
  size_t csr_len;
  uint8_t spki[CK_SHA256_LEN];
  uint64_t t0;   /* start, monotonic ms */
  uint64_t took; /* ms */
  int done, ok;
} dev;

typedef struct bench {
  uv_loop_t loop;
  ck_est_client *c;
  dev *d;
  size_t n, next, inflight, finished, failed, cap;
  uv_timer_t deadline;
  int expired, boot_done;
  ck_err boot_rc;
  char first_err[512];
  const char *save; /* -o: the first enrolled answer as PEM, or NULL */
  int saved;
} bench;

static void start_more(bench *b);

/* One device finished: counted, the next one starts. */
static void after(bench *b, dev *d) {
  b->inflight--;
  b->finished++;
  if (!d->ok)
    b->failed++;
  if (b->finished == b->n || b->expired)
    uv_timer_stop(&b->deadline);
  else
    start_more(b);
}

typedef struct wrap {
  bench *b;
  dev *d;
} wrap;

static void on_result(ck_est_client *c, ck_est_result *res, void *arg) {
  wrap *w = arg;
  dev *d = w->d;
  bench *b = w->b;

  (void)c;
  d->took = ck_clock_mono_ms() - d->t0;
  d->done = 1;
  d->ok = res->rc == CK_OK && ck_est_pick_leaf(&res->certs, d->spki) >= 0;
  if (d->ok && b->save != NULL && !b->saved) { /* leaf first, as sent */
    FILE *f = fopen(b->save, "w");
    int leaf = ck_est_pick_leaf(&res->certs, d->spki);
    size_t i;
    for (i = 0; f != NULL && i <= res->certs.n; i++) {
      size_t k = i == 0 ? (size_t)leaf : i - 1, len = 0, plen = 0;
      char *pem = NULL;
      const uint8_t *der;
      if (i > 0 && k == (size_t)leaf)
        continue;
      if (k >= res->certs.n)
        break;
      der = ck_cert_der(res->certs.certs[k], &len);
      if (ck_pem_encode("CERTIFICATE", der, len, &pem, &plen) == CK_OK)
        fwrite(pem, 1, plen, f);
      free(pem);
    }
    if (f != NULL)
      fclose(f);
    b->saved = 1;
  }
  if (!d->ok && b->first_err[0] == '\0')
    snprintf(b->first_err, sizeof b->first_err, "%s",
             res->rc != CK_OK ? ck_errctx_msg(&res->err)
                              : "no certificate for the CSR's key");
  after(b, d);
  free(w);
}

static void start_more(bench *b) {
  ck_errctx err = CK_ERRCTX_INIT;

  while (!b->expired && b->inflight < b->cap && b->next < b->n) {
    dev *d = &b->d[b->next++];
    wrap *w = malloc(sizeof *w);
    if (w == NULL)
      abort();
    w->b = b;
    w->d = d;
    d->t0 = ck_clock_mono_ms();
    if (ck_est_enroll(b->c, 0, d->csr, d->csr_len, on_result, w, &err) !=
        CK_OK) {
      fprintf(stderr, "bench_est: %s\n", ck_errctx_msg(&err));
      free(w);
      d->done = 1;
      b->finished++;
      b->failed++;
      continue;
    }
    b->inflight++;
  }
}

static void on_boot(ck_est_client *c, ck_est_result *res, void *arg) {
  bench *b = arg;
  (void)c;
  b->boot_done = 1;
  b->boot_rc = res->rc;
  if (res->rc != CK_OK)
    snprintf(b->first_err, sizeof b->first_err, "%s",
             ck_errctx_msg(&res->err));
}

static void on_deadline(uv_timer_t *t) {
  bench *b = t->data;
  b->expired = 1;
  ck_est_client_close(b->c); /* drops the requests in flight */
  b->c = NULL;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void usage(void) {
  fprintf(stderr, "usage: bench_est -u URL -f CA_FINGERPRINT -l FLEET -s "
                  "SECRET_FILE [-n DEVICES] [-c CONCURRENCY] [-p PREFIX] "
                  "[-t SECONDS] [-o FIRST_CERT.pem]\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *url = NULL, *fp = NULL, *fleet = NULL, *secret_file = NULL;
  const char *prefix = "dev";
  long n = 1000, conc = 32, secs = 300;
  bench b;
  ck_est_conf ec;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_key_spec spec;
  uint8_t *secret = NULL;
  size_t secret_len = 0, i, nok = 0;
  uint64_t t0, wall, *lat;
  struct rusage ru0, ru1;
  int opt;

  memset(&b, 0, sizeof b);
  while ((opt = getopt(argc, argv, "u:f:l:s:n:c:p:t:o:h")) != -1) {
    switch (opt) {
    case 'u': url = optarg; break;
    case 'f': fp = optarg; break;
    case 'l': fleet = optarg; break;
    case 's': secret_file = optarg; break;
    case 'n': n = strtol(optarg, NULL, 10); break;
    case 'c': conc = strtol(optarg, NULL, 10); break;
    case 'p': prefix = optarg; break;
    case 't': secs = strtol(optarg, NULL, 10); break;
    case 'o': b.save = optarg; break;
    default: usage();
    }
  }
  if (url == NULL || fp == NULL || fleet == NULL || secret_file == NULL ||
      n < 1 || n > 1000000 || conc < 1 || conc > 4096 || secs < 1)
    usage();
  if (ck_fs_read_file(secret_file, 4096, &secret, &secret_len, &err) !=
      CK_OK) {
    fprintf(stderr, "bench_est: %s\n", ck_errctx_msg(&err));
    return 2;
  }
  while (secret_len > 0 &&
         (secret[secret_len - 1] == '\n' || secret[secret_len - 1] == '\r'))
    secret_len--;

  b.n = (size_t)n;
  b.cap = (size_t)conc;
  b.d = calloc(b.n, sizeof *b.d);
  lat = calloc(b.n, sizeof *lat);
  if (b.d == NULL || lat == NULL)
    return 2;
  /* the devices' keys and CSRs, before the clock */
  if (ck_key_spec_parse("ec-p256", &spec, &err) != CK_OK)
    return 2;
  fprintf(stderr, "bench_est: making %ld keys and CSRs...\n", n);
  for (i = 0; i < b.n; i++) {
    ck_key *k = NULL;
    ck_csr *csr = NULL;
    char cn[96], dns[96];
    ck_name_attr at = {"CN", cn};
    ck_san san;
    ck_csr_req req;
    const uint8_t *der;

    snprintf(cn, sizeof cn, "%s-%zu.test", prefix, i);
    snprintf(dns, sizeof dns, "%s", cn);
    memset(&san, 0, sizeof san);
    san.type = CK_SAN_DNS;
    san.value = dns;
    req.subject = &at;
    req.n_subject = 1;
    req.sans = &san;
    req.n_sans = 1;
    if (ck_key_generate(&spec, &k, &err) != CK_OK ||
        ck_csr_create(k, &req, &csr, &err) != CK_OK) {
      fprintf(stderr, "bench_est: %s\n", ck_errctx_msg(&err));
      return 2;
    }
    der = ck_csr_der(csr, &b.d[i].csr_len);
    b.d[i].csr = malloc(b.d[i].csr_len);
    memcpy(b.d[i].csr, der, b.d[i].csr_len);
    memcpy(b.d[i].spki, ck_csr_get_info(csr)->spki_sha256, CK_SHA256_LEN);
    ck_csr_free(csr);
    ck_key_free(k);
  }

  uv_loop_init(&b.loop);
  memset(&ec, 0, sizeof ec);
  ec.url = url;
  ec.ca_fingerprint = fp;
  ec.user = fleet;
  ec.password = secret;
  ec.password_len = secret_len;
  ec.timeout_ms = 30000;
  if (ck_est_client_new(&b.loop, &ec, &b.c, &err) != CK_OK) {
    fprintf(stderr, "bench_est: %s\n", ck_errctx_msg(&err));
    return 2;
  }
  ck_crypto_free_secret(secret, secret_len);
  /* trust bootstrap once: /cacerts checked against the pin */
  if (ck_est_cacerts(b.c, on_boot, &b, &err) != CK_OK) {
    fprintf(stderr, "bench_est: %s\n", ck_errctx_msg(&err));
    return 2;
  }
  while (!b.boot_done && uv_run(&b.loop, UV_RUN_ONCE) != 0)
    ;
  if (b.boot_rc != CK_OK) {
    fprintf(stderr, "bench_est: bootstrap: %s\n", b.first_err);
    return 1;
  }

  uv_timer_init(&b.loop, &b.deadline);
  b.deadline.data = &b;
  uv_timer_start(&b.deadline, on_deadline, (uint64_t)secs * 1000u, 0);
  t0 = ck_clock_mono_ms();
  getrusage(RUSAGE_SELF, &ru0);
  start_more(&b);
  while ((b.finished < b.n && !b.expired) &&
         uv_run(&b.loop, UV_RUN_ONCE) != 0)
    ;
  wall = ck_clock_mono_ms() - t0;
  getrusage(RUSAGE_SELF, &ru1);
  uv_timer_stop(&b.deadline);
  uv_close((uv_handle_t *)&b.deadline, NULL);
  ck_est_client_close(b.c);
  uv_run(&b.loop, UV_RUN_DEFAULT);
  uv_loop_close(&b.loop);

  for (i = 0; i < b.n; i++)
    if (b.d[i].done && b.d[i].ok)
      lat[nok++] = b.d[i].took;
  qsort(lat, nok, sizeof *lat, cmp_u64);
  printf("devices %zu, concurrency %zu, backend %s\n", b.n, b.cap,
         ck_crypto_backend());
  printf("enrolled %zu, failed %zu%s in %.2f s: %.1f enrollments/s\n", nok,
         b.n - nok, b.expired ? " (time bound reached)" : "",
         (double)wall / 1000.0,
         wall > 0 ? (double)nok * 1000.0 / (double)wall : 0.0);
  if (nok > 0)
    printf("latency ms: p50 %llu, p90 %llu, p99 %llu, max %llu\n",
           (unsigned long long)lat[nok / 2],
           (unsigned long long)lat[nok * 9 / 10],
           (unsigned long long)lat[nok * 99 / 100],
           (unsigned long long)lat[nok - 1]);
  {
    double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
                 (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
                 ((double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) +
                  (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec)) /
                     1e6;
    printf("load generator CPU %.2f s%s\n", cpu,
           nok > 0 ? "" : " (nothing enrolled)");
    if (nok > 0)
      printf("load generator CPU per enrollment %.1f ms\n",
             cpu * 1000.0 / (double)nok);
  }
  if (b.first_err[0] != '\0')
    printf("first error: %s\n", b.first_err);
  for (i = 0; i < b.n; i++)
    free(b.d[i].csr);
  free(b.d);
  free(lat);
  return nok == b.n ? 0 : 1;
}
