/* bench_certgen.c — how fast the built-in CA signs certificates.
 *
 * Issues EC P-256 leaf certificates (subject, 2 DNS SANs, EKU, AIA, CDP)
 * from a P-256 issuing CA under a P-384 root on 1 and 2 threads sharing one
 * issuer: through ck_certgen_issue_der (encode + sign), through
 * ck_certgen_issue (also parsed back into a ck_cert), and with the CSR work
 * the coordinator does per request (ck_csr_parse + ck_csr_verify) added.
 * For comparison it runs `openssl speed ecdsap256` when the CLI exists.
 * Rates are given per wall-clock second and per CPU second; on a shared
 * machine the latter is the stable one (and what `openssl speed` reports).
 *
 *   bench_certgen [seconds per measurement, default 3]
 *
 * Figures and the command line belong in docs/performance.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <uv.h>

#include "common/crypto/certgen.h"
#include "common/util/clock.h"

#define MAX_THREADS 8

static const ck_name_attr leaf_dn[] = {{"O", "Example"},
                                       {"CN", "bench.example.com"}};
static const ck_san sans[] = {{CK_SAN_DNS, "bench.example.com"},
                              {CK_SAN_DNS, "www.bench.example.com"}};
static const char *const eku[] = {"serverAuth", "clientAuth"};
static const char *const ocsp[] = {"http://ocsp.example.com"};
static const char *const ca[] = {"http://ca.example.com/issuing.crt"};
static const char *const crl[] = {"http://crl.example.com/issuing.crl"};

static struct {
  ck_certgen_issuer *iss;
  const ck_key *leaf_key; /* public key when not going through a CSR */
  uint8_t *csr_der;
  size_t csr_len;
  int mode; /* 0 issue_der, 1 issue (parsed), 2 CSR parse+verify + issue_der */
  uint64_t deadline_ns;
} B;

typedef struct worker {
  uv_thread_t th;
  unsigned long done;
  int failed;
} worker;

static void die(const char *what, const ck_errctx *err) {
  fprintf(stderr, "bench_certgen: %s: %s\n", what, ck_errctx_msg(err));
  exit(1);
}

static void work(void *arg) {
  worker *w = arg;
  uint8_t serial[CK_CERTGEN_SERIAL_LEN];
  ck_certgen_tmpl t;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_csr *csr = NULL;
  ck_cert *c = NULL;
  uint8_t *der = NULL;
  size_t der_len = 0;
  int64_t now = ck_clock_now();

  memset(&t, 0, sizeof t);
  t.subject = leaf_dn;
  t.n_subject = 2;
  t.sans = sans;
  t.n_sans = 2;
  t.serial = serial;
  t.serial_len = sizeof serial;
  t.not_before = now - 3600;
  t.not_after = now + 90 * 86400;
  t.key_usage = CK_KU_DIGITAL_SIGNATURE;
  t.eku = eku;
  t.n_eku = 2;
  t.ocsp_urls = ocsp;
  t.n_ocsp_urls = 1;
  t.ca_issuers_urls = ca;
  t.n_ca_issuers_urls = 1;
  t.crl_urls = crl;
  t.n_crl_urls = 1;
  while (uv_hrtime() < B.deadline_ns) {
    if (B.mode == 2) {
      if (ck_csr_parse(B.csr_der, B.csr_len, &csr, &err) != CK_OK ||
          ck_csr_verify(csr, &err) != CK_OK) {
        w->failed = 1;
        break;
      }
      t.csr = csr;
    } else {
      t.pubkey = B.leaf_key;
    }
    if (ck_certgen_random_serial(serial) != CK_OK) {
      w->failed = 1;
      break;
    }
    if ((B.mode == 1 ? ck_certgen_issue(B.iss, &t, &c, &err)
                     : ck_certgen_issue_der(B.iss, &t, &der, &der_len, &err)) !=
        CK_OK) {
      w->failed = 1;
      break;
    }
    ck_cert_free(c);
    c = NULL;
    free(der);
    der = NULL;
    ck_csr_free(csr);
    csr = NULL;
    w->done++;
  }
  ck_csr_free(csr);
  if (w->failed)
    fprintf(stderr, "bench_certgen: %s\n", ck_errctx_msg(&err));
}

static double cpu_seconds(void) {
  struct rusage ru;

  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Runs n threads for secs seconds and prints certificates per wall-clock
 * second and per CPU second (user + system, all threads: what `openssl
 * speed` divides by, and robust against other load on the machine).
 * Returns the per-CPU-second figure. */
static double run(const char *label, int n, double secs, int mode) {
  worker w[MAX_THREADS];
  uint64_t start;
  unsigned long total = 0;
  double cpu0 = cpu_seconds(), wall, cpu;
  int i;

  memset(w, 0, sizeof w);
  B.mode = mode;
  start = uv_hrtime();
  B.deadline_ns = start + (uint64_t)(secs * 1e9);
  for (i = 0; i < n; i++)
    if (uv_thread_create(&w[i].th, work, &w[i]) != 0)
      exit(1);
  for (i = 0; i < n; i++) {
    uv_thread_join(&w[i].th);
    if (w[i].failed)
      exit(1);
    total += w[i].done;
  }
  wall = (double)(uv_hrtime() - start) / 1e9;
  cpu = cpu_seconds() - cpu0;
  printf("%-42s %d thread%s %9.0f/s wall %9.0f/CPU-s\n", label, n,
         n > 1 ? "s" : " ", (double)total / wall, (double)total / cpu);
  return (double)total / cpu;
}

/* `openssl speed -seconds secs ecdsap256` sign/s (per CPU second: speed
 * divides by user time); 0 when the CLI is missing or its output is not
 * understood. */
static double openssl_speed(int secs) {
  char cmd[128], line[512];
  double rate = 0, sign, verify, s1, s2;
  const char *at;
  FILE *p;

  snprintf(cmd, sizeof cmd, "openssl speed -seconds %d ecdsap256 2>/dev/null",
           secs);
  p = popen(cmd, "r");
  if (p == NULL)
    return 0;
  while (fgets(line, sizeof line, p) != NULL) {
    /* " 256 bits ecdsa (nistp256)   0.0000s   0.0001s  44758.5  14918.0" */
    at = strstr(line, "(nistp256)");
    if (at != NULL &&
        sscanf(at + 10, "%lfs %lfs %lf %lf", &s1, &s2, &sign, &verify) == 4)
      rate = sign;
  }
  pclose(p);
  return rate;
}

int main(int argc, char **argv) {
  ck_key_spec p384 = {CK_KEY_EC, 384}, p256 = {CK_KEY_EC, 256};
  ck_key *root_key = NULL, *ca_key = NULL, *leaf_key = NULL;
  ck_cert *root = NULL, *ca_cert = NULL;
  ck_certgen_issuer *root_iss = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_certgen_tmpl t;
  ck_csr *csr = NULL;
  ck_csr_req req = {leaf_dn, 2, sans, 2};
  uint8_t serial[CK_CERTGEN_SERIAL_LEN];
  const uint8_t *der;
  double secs = argc > 1 ? strtod(argv[1], NULL) : 3.0;
  double r1, o1;
  int64_t now = ck_clock_now();

  if (secs <= 0 || secs > 600)
    secs = 3.0;
  if (ck_key_generate(&p384, &root_key, &err) != CK_OK ||
      ck_key_generate(&p256, &ca_key, &err) != CK_OK ||
      ck_key_generate(&p256, &leaf_key, &err) != CK_OK)
    die("keygen", &err);
  memset(&t, 0, sizeof t);
  t.subject = (const ck_name_attr[]){{"CN", "bench root"}};
  t.n_subject = 1;
  t.serial = serial;
  t.serial_len = sizeof serial;
  t.not_before = now - 86400;
  t.not_after = now + 3650 * 86400LL;
  t.is_ca = 1;
  t.path_len = -1;
  t.key_usage = CK_KU_KEY_CERT_SIGN | CK_KU_CRL_SIGN;
  if (ck_certgen_random_serial(serial) != CK_OK ||
      ck_certgen_sign(&t, NULL, root_key, &root, &err) != CK_OK ||
      ck_certgen_issuer_new(root, root_key, &root_iss, &err) != CK_OK)
    die("root", &err);
  t.subject = (const ck_name_attr[]){{"CN", "bench issuing CA"}};
  t.pubkey = ca_key;
  t.path_len = 0;
  if (ck_certgen_random_serial(serial) != CK_OK ||
      ck_certgen_issue(root_iss, &t, &ca_cert, &err) != CK_OK ||
      ck_certgen_issuer_new(ca_cert, ca_key, &B.iss, &err) != CK_OK)
    die("issuing CA", &err);
  if (ck_csr_create(leaf_key, &req, &csr, &err) != CK_OK)
    die("CSR", &err);
  B.leaf_key = leaf_key;
  der = ck_csr_der(csr, &B.csr_len);
  B.csr_der = malloc(B.csr_len);
  if (B.csr_der == NULL)
    return 1;
  memcpy(B.csr_der, der, B.csr_len);

  printf("backend: %s; %g s per measurement; EC P-256 issuer "
         "(ecdsa-with-SHA256), leaf with 2 SANs, EKU, AIA, CDP\n",
         ck_crypto_backend_version(), secs);
  printf("%-42s %-9s %14s %14s\n", "", "", "certs per", "certs per");
  r1 = run("ck_certgen_issue_der", 1, secs, 0);
  run("ck_certgen_issue_der", 2, secs, 0);
  run("ck_certgen_issue (parsed back)", 1, secs, 1);
  run("ck_certgen_issue (parsed back)", 2, secs, 1);
  run("CSR parse+verify + issue_der", 1, secs, 2);
  run("CSR parse+verify + issue_der", 2, secs, 2);
  o1 = openssl_speed((int)(secs + 0.5));
  if (o1 > 0) {
    printf("openssl speed ecdsap256 sign, 1 process:  %9.0f signs per "
           "CPU-s (issue_der = %.0f%%)\n",
           o1, 100 * r1 / o1);
  } else {
    printf("openssl speed: not available\n");
  }

  free(B.csr_der);
  ck_csr_free(csr);
  ck_certgen_issuer_free(B.iss);
  ck_certgen_issuer_free(root_iss);
  ck_cert_free(ca_cert);
  ck_cert_free(root);
  ck_key_free(leaf_key);
  ck_key_free(ca_key);
  ck_key_free(root_key);
  return 0;
}
