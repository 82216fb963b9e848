/* bench_store.c — inventory store benchmark (built, never run by ctest).
 *
 * 1. Inserts N certificates through the group-commit write path, the way
 *    issuance stores them: each write is one request (with a CSR), one
 *    certificate (with its DER) and one audit event, committed atomically;
 *    5% are "discovered" instead (certificate + installation on a host +
 *    audit event, unmanaged). Several submitter threads keep a window of
 *    writes in flight each. Reports writes/s and the writer's batch sizes.
 * 2. Re-opens the store (cold caches in-process) and times each inventory
 *    query (first page of 100 rows, the REST default; median and worst of
 *    R runs with varying keys): expiring within 30 days, by owner,
 *    unmanaged, weak, by fingerprint, by host, by serial, shared key.
 * 3. Reports RSS and the database size.
 *
 *   bench_store [-n N] [-t THREADS] [-w WINDOW] [-r RUNS] [-c KIB] [-d DIR]
 *               [-f] [-k] [-q] [-A]
 *     -n  certificates to insert (default 1000000)
 *     -t  submitter threads (default 2)
 *     -w  writes in flight per thread (default 1024)
 *     -r  runs per query (default 21)
 *     -c  writer page cache in KiB (default: the store's, 16384)
 *     -d  directory for the database (default: a new /tmp/ckbench.XXXXXX)
 *     -f  synchronous=FULL (fsync per group commit) instead of NORMAL
 *     -k  keep the database afterwards
 *     -A  append: insert N more into the database a previous -k run left
 *         in -d DIR (the sustained rate at that size, not the fill average)
 *     -q  queries only, on the database a previous -k run left in -d DIR
 *         (a fresh process: its RSS is the store's footprint on that
 *         database)
 * Data are synthetic (random fingerprints, keys and DER bytes of realistic
 * sizes): the store never parses DER, and generating a million real
 * certificates would measure signing, not storage. See docs/performance.md. */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "common/util/clock.h"
#include "common/util/mem.h"
#include "coordinator/audit/audit.h"
#include "coordinator/store/store.h"

#define DAY 86400
#define OWNERS 200
#define HOSTS 5000
#define SAMPLES 4096 /* remembered fingerprints/serials for lookups */
#define DER_LEN 720
#define CSR_LEN 260

typedef struct bench {
  ck_store *s;
  long n;
  int threads;
  int window;
  int runs;
  int64_t now;
  uint8_t pool[8192]; /* random bytes DER and CSR blobs are cut from */
  char sample_fp[SAMPLES][CK_SHA256_HEX_LEN];
  char sample_serial[SAMPLES][48];
  char shared_spki[CK_SHA256_HEX_LEN];
  atomic_long done;
  atomic_long failed;
} bench;

typedef struct submitter {
  bench *b;
  int index;
  long tid;   /* Linux thread id, to tell its CPU time apart */
  double cpu; /* its CPU seconds, taken when it finished */
  uv_sem_t window;
  uint64_t rng;
} submitter;

static uint64_t next_rand(uint64_t *x) { /* splitmix64 */
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static void rand_hex32(uint64_t *rng, char out[CK_SHA256_HEX_LEN]) {
  uint8_t b[32];
  int i;

  for (i = 0; i < 4; i++) {
    uint64_t v = next_rand(rng);
    memcpy(b + 8 * i, &v, 8);
  }
  ck_hex_encode(b, sizeof b, out);
}

static double now_ms(void) {
  return (double)uv_hrtime() / 1e6;
}

static long rss_kib(const char *field) {
  char line[256];
  long v = -1;
  size_t flen = strlen(field);
  FILE *f = fopen("/proc/self/status", "r");

  if (f == NULL)
    return -1;
  while (fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, field, flen) == 0)
      v = strtol(line + flen + 1, NULL, 10);
  fclose(f);
  return v;
}

/* This thread's Linux id, from /proc/thread-self (bench only). */
static long self_tid(void) {
  char link[64];
  ssize_t n = readlink("/proc/thread-self", link, sizeof link - 1);
  const char *slash;

  if (n <= 0)
    return -1;
  link[n] = '\0';
  slash = strrchr(link, '/');
  return slash != NULL ? strtol(slash + 1, NULL, 10) : -1;
}

/* CPU seconds (user + system) thread tid has used. */
static double thread_cpu(long tid) {
  char path[64], buf[1024];
  unsigned long ut = 0, st = 0;
  const char *p;
  FILE *f;
  int field;

  snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid);
  f = fopen(path, "r");
  if (f == NULL)
    return 0;
  if (fgets(buf, sizeof buf, f) == NULL) {
    fclose(f);
    return 0;
  }
  fclose(f);
  p = strrchr(buf, ')'); /* fields after the command name */
  for (field = 3; p != NULL && field <= 15; field++) {
    p = strchr(p + 1, ' ');
    if (p == NULL)
      break;
    if (field == 14)
      ut = strtoul(p + 1, NULL, 10);
    if (field == 15)
      st = strtoul(p + 1, NULL, 10);
  }
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Prints the CPU time of the store's own threads (every thread that is
 * neither main nor a submitter), busiest first. */
static void store_threads_cpu(const submitter *subs, int n, long main_tid,
                              long writes) {
  DIR *d = opendir("/proc/self/task");
  struct dirent *de;
  double cpu[16];
  int k = 0, i, j;

  if (d == NULL)
    return;
  while ((de = readdir(d)) != NULL && k < 16) {
    long tid = strtol(de->d_name, NULL, 10);
    int mine = tid == main_tid || tid <= 0;
    for (i = 0; i < n && !mine; i++)
      mine = subs[i].tid == tid;
    if (!mine)
      cpu[k++] = thread_cpu(tid);
  }
  closedir(d);
  for (i = 0; i < k; i++) /* sort descending */
    for (j = i + 1; j < k; j++)
      if (cpu[j] > cpu[i]) {
        double t = cpu[i];
        cpu[i] = cpu[j];
        cpu[j] = t;
      }
  printf("  store threads CPU: writer %.1f s (%.0f us per write, i.e. %.0f "
         "writes/s per writer-core)",
         k > 0 ? cpu[0] : 0, k > 0 ? cpu[0] * 1e6 / (double)writes : 0,
         k > 0 && cpu[0] > 0 ? (double)writes / cpu[0] : 0);
  if (k > 1)
    printf(", checkpointer %.1f s", cpu[1]);
  printf("\n");
  {
    double sub = 0;
    for (i = 0; i < n; i++)
      sub += subs[i].cpu;
    printf("  submitter threads CPU (building writes): %.1f s\n", sub);
  }
}

static void on_done(ck_store_write *w, ck_err rc, void *arg) {
  submitter *sb = arg;

  if (rc != CK_OK) {
    if (atomic_fetch_add(&sb->b->failed, 1) < 5)
      fprintf(stderr, "write failed: %s\n", ck_store_write_errmsg(w));
  }
  ck_store_write_free(w);
  atomic_fetch_add(&sb->b->done, 1);
  uv_sem_post(&sb->window);
}

/* Builds the write for certificate i. */
static ck_store_write *make_write(submitter *sb, long i, ck_arena *a) {
  bench *b = sb->b;
  ck_store_write *w = ck_store_write_new();
  ck_store_cert c;
  ck_audit_event ev;
  char owner[32], subject[96], sans[160], serial[48], details[160];
  uint64_t r = next_rand(&sb->rng);
  int discovered = r % 100 < 5;
  int weak = r % 100 >= 98;
  int64_t life = 90 * DAY;

  if (w == NULL)
    return NULL;
  memset(&c, 0, sizeof c);
  rand_hex32(&sb->rng, c.fingerprint);
  if (i % 1000 == 7 && i / 1000 < 2000) /* a few keys shared across hosts */
    memcpy(c.spki_sha256, b->shared_spki, CK_SHA256_HEX_LEN);
  else
    rand_hex32(&sb->rng, c.spki_sha256);
  snprintf(serial, sizeof serial, "%016" PRIx64 "%016" PRIx64,
           next_rand(&sb->rng), next_rand(&sb->rng));
  snprintf(owner, sizeof owner, "team-%03d", (int)(r >> 8) % OWNERS);
  snprintf(subject, sizeof subject, "CN=host%ld.svc.example.com,O=Example", i);
  snprintf(sans, sizeof sans,
           "DNS:host%ld.svc.example.com\nDNS:alias%ld.example.com", i, i);
  c.serial_hex = serial;
  c.subject = subject;
  c.issuer = "CN=Example Issuing CA,O=Example";
  c.sans = sans;
  /* expiry spread over [now - 30d, now + 700d] */
  c.not_after = b->now - 30 * DAY + (int64_t)((r >> 16) % (730 * DAY));
  c.not_before = c.not_after - life;
  c.key_type = weak ? "RSA" : "EC";
  c.key_bits = weak ? 1024 : 256;
  c.sig_alg = "ecdsa-with-SHA256";
  c.status = c.not_after < b->now ? CK_CERT_EXPIRED : CK_CERT_ACTIVE;
  c.der = b->pool + (r >> 40) % (sizeof b->pool - DER_LEN);
  c.der_len = DER_LEN;
  if (weak) {
    c.weak_flags = CK_WEAK_RSA_SMALL;
    c.weak_reason = "RSA key of 1024 bits (< 2048)";
  }
  if (discovered) {
    ck_store_install in;
    char host[32];
    c.source = CK_CERT_SRC_DISCOVERED;
    memset(&in, 0, sizeof in);
    memcpy(in.cert_fp, c.fingerprint, CK_SHA256_HEX_LEN);
    snprintf(host, sizeof host, "agent-%05d", (int)(r >> 24) % HOSTS);
    in.agent_id = host;
    in.path = "/etc/ssl/private/service.pem";
    in.service = "nginx";
    if (ck_store_write_cert_put(w, &c, NULL) != CK_OK ||
        ck_store_write_install_put(w, &in, NULL) != CK_OK)
      goto fail;
  } else {
    ck_store_request req;
    memset(&req, 0, sizeof req);
    c.source = CK_CERT_SRC_ISSUED;
    c.ca_id = 1 + (int64_t)(r % 2);
    c.profile = (r >> 4) % 4 == 0 ? "tls-client" : "tls-server";
    c.owner = owner;
    req.agent_id = "agent-00001";
    req.actor = "agent:agent-00001";
    req.profile = c.profile;
    req.profile_version = 1;
    req.csr = b->pool + (r >> 20) % (sizeof b->pool - CSR_LEN);
    req.csr_len = CSR_LEN;
    req.state = CK_REQ_ISSUED;
    memcpy(req.cert_fp, c.fingerprint, CK_SHA256_HEX_LEN);
    if (ck_store_write_request_put(w, &req, NULL) != CK_OK ||
        ck_store_write_cert_put(w, &c, NULL) != CK_OK)
      goto fail;
  }
  memset(&ev, 0, sizeof ev);
  ev.actor = discovered ? "agent:agent-00001" : "token:bench";
  ev.action = discovered ? "cert.discover" : "cert.issue";
  ev.object_type = "cert";
  ev.object_id = c.fingerprint;
  snprintf(details, sizeof details,
           "{\"serial\":\"%s\",\"profile\":\"%s\",\"not_after\":%" PRId64 "}",
           serial, c.profile ? c.profile : "", c.not_after);
  ev.details = details;
  if (ck_store_write_audit(w, &ev, NULL) != CK_OK)
    goto fail;
  if (i % (b->n / SAMPLES + 1) == 0) {
    long k = i / (b->n / SAMPLES + 1);
    if (k < SAMPLES) {
      memcpy(b->sample_fp[k], c.fingerprint, CK_SHA256_HEX_LEN);
      ck_strlcpy(b->sample_serial[k], serial, sizeof b->sample_serial[k]);
    }
  }
  (void)a;
  return w;
fail:
  ck_store_write_free(w);
  return NULL;
}

static void submitter_main(void *arg) {
  submitter *sb = arg;
  bench *b = sb->b;
  long i;

  sb->tid = self_tid();
  for (i = sb->index; i < b->n; i += b->threads) {
    ck_store_write *w = make_write(sb, i, NULL);
    if (w == NULL) {
      atomic_fetch_add(&b->failed, 1);
      atomic_fetch_add(&b->done, 1);
      continue;
    }
    uv_sem_wait(&sb->window);
    for (;;) {
      ck_err rc = ck_store_submit(b->s, w, on_done, sb);
      if (rc == CK_OK)
        break;
      if (rc != CK_ERR_BUSY) {
        fprintf(stderr, "submit: %s\n", ck_err_name(rc));
        exit(1);
      }
      uv_sleep(1); /* queue full: back off (bench only) */
    }
  }
  sb->cpu = thread_cpu(sb->tid);
}

const char *sqlite3_libversion(void); /* avoid <sqlite3.h> in a bench of
                                         the store interface */
static const char *sqlite_version(void) {
  return sqlite3_libversion();
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

typedef ck_err (*query_fn)(bench *b, int run, ck_arena *a, size_t *rows);

static ck_err q_expiring(bench *b, int run, ck_arena *a, size_t *rows) {
  ck_cert_filter f = {0};
  ck_store_page pg = {100, NULL, NULL};
  ck_store_cert *items;

  f.by = CK_CERTQ_EXPIRING;
  f.from = b->now + run; /* vary the window a little */
  f.until = f.from + 30 * DAY;
  return ck_store_cert_list(b->s, &f, &pg, a, &items, rows, NULL);
}

static ck_err q_expiring_p20(bench *b, int run, ck_arena *a, size_t *rows) {
  ck_cert_filter f = {0};
  ck_store_page pg = {100, NULL, NULL};
  ck_store_cert *items;
  ck_err rc = CK_OK;
  int page;

  f.by = CK_CERTQ_EXPIRING;
  f.from = b->now + run;
  f.until = f.from + 30 * DAY;
  for (page = 0; page < 20 && rc == CK_OK; page++) {
    rc = ck_store_cert_list(b->s, &f, &pg, a, &items, rows, NULL);
    pg.cursor = pg.next_cursor;
  }
  return rc;
}

static ck_err q_owner(bench *b, int run, ck_arena *a, size_t *rows) {
  ck_cert_filter f = {0};
  ck_store_page pg = {100, NULL, NULL};
  ck_store_cert *items;
  char owner[32];

  snprintf(owner, sizeof owner, "team-%03d", (run * 37) % OWNERS);
  f.by = CK_CERTQ_OWNER;
  f.key = owner;
  return ck_store_cert_list(b->s, &f, &pg, a, &items, rows, NULL);
}

static ck_err q_unmanaged(bench *b, int run, ck_arena *a, size_t *rows) {
  ck_cert_filter f = {0};
  ck_store_page pg = {100, NULL, NULL};
  ck_store_cert *items;
  char cursor[32];

  /* start at different places of the id space */
  snprintf(cursor, sizeof cursor, "%ld", (long)run * (b->n / 25));
  pg.cursor = cursor;
  f.by = CK_CERTQ_UNMANAGED;
  return ck_store_cert_list(b->s, &f, &pg, a, &items, rows, NULL);
}

static ck_err q_weak(bench *b, int run, ck_arena *a, size_t *rows) {
  ck_cert_filter f = {0};
  ck_store_page pg = {100, NULL, NULL};
  ck_store_cert *items;
  char cursor[32];

  snprintf(cursor, sizeof cursor, "%ld", (long)run * (b->n / 25));
  pg.cursor = cursor;
  f.by = CK_CERTQ_WEAK;
  return ck_store_cert_list(b->s, &f, &pg, a, &items, rows, NULL);
}

static ck_err q_fingerprint(bench *b, int run, ck_arena *a, size_t *rows) {
  ck_store_cert c;
  ck_err rc = ck_store_cert_get(b->s, b->sample_fp[(run * 97) % SAMPLES], 1, a,
                                &c, NULL);
  *rows = rc == CK_OK;
  return rc;
}

static ck_err q_host(bench *b, int run, ck_arena *a, size_t *rows) {
  ck_cert_filter f = {0};
  ck_store_page pg = {100, NULL, NULL};
  ck_store_cert *items;
  char host[32];

  snprintf(host, sizeof host, "agent-%05d", (run * 131) % HOSTS);
  f.by = CK_CERTQ_AGENT;
  f.key = host;
  return ck_store_cert_list(b->s, &f, &pg, a, &items, rows, NULL);
}

static ck_err q_serial(bench *b, int run, ck_arena *a, size_t *rows) {
  ck_cert_filter f = {0};
  ck_store_page pg = {100, NULL, NULL};
  ck_store_cert *items;

  f.by = CK_CERTQ_SERIAL;
  f.key = b->sample_serial[(run * 61) % SAMPLES];
  return ck_store_cert_list(b->s, &f, &pg, a, &items, rows, NULL);
}

static ck_err q_shared(bench *b, int run, ck_arena *a, size_t *rows) {
  ck_cert_filter f = {0};
  ck_store_page pg = {100, NULL, NULL};
  ck_store_cert *items;

  (void)run;
  f.by = CK_CERTQ_SPKI;
  f.key = b->shared_spki;
  return ck_store_cert_list(b->s, &f, &pg, a, &items, rows, NULL);
}

static void time_query(bench *b, const char *name, query_fn fn) {
  double *ms = calloc((size_t)b->runs, sizeof *ms);
  ck_arena *a = ck_arena_new(1 << 20);
  size_t rows = 0;
  int i;

  if (ms == NULL || a == NULL)
    exit(1);
  for (i = 0; i < b->runs; i++) {
    double t0 = now_ms();
    ck_err rc;
    ck_arena_reset(a);
    rc = fn(b, i, a, &rows);
    ms[i] = now_ms() - t0;
    if (rc != CK_OK) {
      fprintf(stderr, "%s: %s\n", name, ck_err_name(rc));
      exit(1);
    }
  }
  qsort(ms, (size_t)b->runs, sizeof *ms, cmp_double);
  printf("  %-36s %8.3f ms median %8.3f ms worst  (%zu rows)\n", name,
         ms[b->runs / 2], ms[b->runs - 1], rows);
  free(ms);
  ck_arena_free(a);
}

/* Fills the store through the group-commit path and reports. */
static int insert_phase(bench *b, ck_store_opts *o, submitter *subs,
                        uv_thread_t *th, const char *path, int append) {
  ck_errctx e = CK_ERRCTX_INIT;
  ck_store_stats st;
  struct stat sb;
  double t0, t1;
  int i;

  if (ck_store_open(o, &b->s, &e) != CK_OK) {
    fprintf(stderr, "open: %s\n", e.msg);
    return -1;
  }
  printf("certkeeper store benchmark: %s%ld certificates, %d submitter "
         "threads x %d in flight, synchronous=%s, writer cache %u KiB, "
         "SQLite %s at %s\n",
         append ? "appending " : "", b->n, b->threads, b->window,
         o->sync_full ? "FULL" : "NORMAL",
         o->writer_cache_kib ? o->writer_cache_kib : 16384, sqlite_version(),
         path);
  t0 = now_ms();
  for (i = 0; i < b->threads; i++) {
    subs[i].b = b;
    subs[i].index = i;
    /* appending needs fresh fingerprints: seed from the clock */
    subs[i].rng = 1000 + (uint64_t)i +
                  (append ? (uint64_t)ck_clock_now_ms() << 8 : 0);
    uv_sem_init(&subs[i].window, (unsigned)b->window);
    uv_thread_create(&th[i], submitter_main, &subs[i]);
  }
  for (i = 0; i < b->threads; i++)
    uv_thread_join(&th[i]);
  /* the last callbacks: wait for every window to refill */
  for (i = 0; i < b->threads; i++) {
    int k;
    for (k = 0; k < b->window; k++)
      uv_sem_wait(&subs[i].window);
  }
  t1 = now_ms();
  ck_store_get_stats(b->s, &st);
  printf("insert: %ld writes (request+certificate+audit, or discovered "
         "certificate+install+audit) in %.1f s = %.0f writes/s; %ld "
         "failed\n",
         (long)atomic_load(&b->done), (t1 - t0) / 1000,
         (double)atomic_load(&b->done) * 1000 / (t1 - t0),
         (long)atomic_load(&b->failed));
  printf("  group commit: %" PRIu64 " transactions, %.0f writes each on "
         "average, largest %" PRIu64 "\n",
         st.batches, st.batches ? (double)st.writes / (double)st.batches : 0,
         st.max_batch);
  store_threads_cpu(subs, b->threads, self_tid(), (long)atomic_load(&b->done));
  printf("  RSS after insert: %ld KiB (peak %ld KiB)\n", rss_kib("VmRSS"),
         rss_kib("VmHWM"));
  t0 = now_ms();
  ck_store_close(b->s); /* checkpoints the WAL into the database */
  printf("  close (WAL checkpoint): %.1f s\n", (now_ms() - t0) / 1000);
  if (stat(path, &sb) == 0 && append)
    printf("  database: %.1f MiB\n", (double)sb.st_size / (1 << 20));
  else if (stat(path, &sb) == 0)
    printf("  database: %.1f MiB (%.0f bytes per certificate)\n",
           (double)sb.st_size / (1 << 20), (double)sb.st_size / (double)b->n);
  return 0;
}

/* -q: the lookup keys come from the database (every n/SAMPLES-th row). */
static void sample_keys(bench *b, ck_store_opts *o) {
  ck_arena *a = ck_arena_new(1 << 16);
  ck_errctx e = CK_ERRCTX_INIT;
  long k;

  if (ck_store_open(o, &b->s, &e) != CK_OK) {
    fprintf(stderr, "open: %s\n", e.msg);
    exit(1);
  }
  for (k = 0; k < SAMPLES; k++) {
    ck_cert_filter f = {0};
    ck_store_page pg = {1, NULL, NULL};
    ck_store_cert *items = NULL;
    size_t n = 0;
    char cursor[32];

    snprintf(cursor, sizeof cursor, "%ld", k * (b->n / SAMPLES));
    pg.cursor = cursor;
    ck_arena_reset(a);
    if (ck_store_cert_list(b->s, &f, &pg, a, &items, &n, &e) != CK_OK ||
        n != 1) {
      fprintf(stderr, "sampling: %s (is -n right?)\n", e.msg);
      exit(1);
    }
    memcpy(b->sample_fp[k], items[0].fingerprint, CK_SHA256_HEX_LEN);
    ck_strlcpy(b->sample_serial[k], items[0].serial_hex,
               sizeof b->sample_serial[k]);
  }
  ck_arena_free(a);
  ck_store_close(b->s);
  b->s = NULL;
}

static void usage(void) {
  fprintf(stderr, "usage: bench_store [-n N] [-t THREADS] [-w WINDOW] "
                  "[-r RUNS] [-c KIB] [-d DIR] [-f] [-k] [-q] [-A]\n");
  exit(2);
}

int main(int argc, char **argv) {
  static bench b;
  ck_store_opts o = {0};
  ck_errctx e = CK_ERRCTX_INIT;
  submitter *subs;
  uv_thread_t *th;
  char dirbuf[] = "/tmp/ckbench.XXXXXX", path[600], cmd[700];
  const char *dir = NULL;
  int keep = 0, query_only = 0, append = 0, opt, i;
  double t0;
  uint64_t seed = 42;

  b.n = 1000000;
  b.threads = 2;
  b.window = 1024;
  b.runs = 21;
  while ((opt = getopt(argc, argv, "n:t:w:r:c:d:fkqA")) != -1) {
    switch (opt) {
    case 'n':
      b.n = strtol(optarg, NULL, 10);
      break;
    case 't':
      b.threads = (int)strtol(optarg, NULL, 10);
      break;
    case 'w':
      b.window = (int)strtol(optarg, NULL, 10);
      break;
    case 'r':
      b.runs = (int)strtol(optarg, NULL, 10);
      break;
    case 'c':
      o.writer_cache_kib = (unsigned)strtoul(optarg, NULL, 10);
      break;
    case 'd':
      dir = optarg;
      break;
    case 'f':
      o.sync_full = 1;
      break;
    case 'k':
      keep = 1;
      break;
    case 'q':
      query_only = 1;
      keep = 1;
      break;
    case 'A':
      append = 1;
      keep = 1;
      break;
    default:
      usage();
    }
  }
  if (b.n < 1 || b.threads < 1 || b.threads > 64 || b.window < 1 || b.runs < 1)
    usage();
  if ((query_only || append) && dir == NULL)
    usage();
  if (dir == NULL) {
    dir = mkdtemp(dirbuf);
    if (dir == NULL) {
      perror("mkdtemp");
      return 1;
    }
  }
  if (!query_only)
    mkdir(dir, 0700); /* may exist */
  snprintf(path, sizeof path, "%s/bench.db", dir);
  if (!query_only && !append)
    remove(path);
  b.now = ck_clock_now();
  for (i = 0; i < (int)sizeof b.pool; i += 8) {
    uint64_t v = next_rand(&seed);
    memcpy(b.pool + i, &v, 8);
  }
  rand_hex32(&seed, b.shared_spki);

  o.path = path;
  subs = calloc((size_t)b.threads, sizeof *subs);
  th = calloc((size_t)b.threads, sizeof *th);
  if (subs == NULL || th == NULL)
    return 1;
  if (!query_only && insert_phase(&b, &o, subs, th, path, append) != 0)
    return 1;
  /* queries on a freshly opened store */
  if (query_only)
    sample_keys(&b, &o);
  if (ck_store_open(&o, &b.s, &e) != CK_OK) {
    fprintf(stderr, "reopen: %s\n", e.msg);
    return 1;
  }
  printf("queries (a page of up to 100 rows; median and worst of %d runs, "
         "the first one cold):\n",
         b.runs);
  time_query(&b, "expiring within 30 days", q_expiring);
  time_query(&b, "expiring within 30 days, 20 pages", q_expiring_p20);
  time_query(&b, "by owner", q_owner);
  time_query(&b, "unmanaged", q_unmanaged);
  time_query(&b, "weak", q_weak);
  time_query(&b, "by fingerprint (with DER)", q_fingerprint);
  time_query(&b, "by host (agent)", q_host);
  time_query(&b, "by serial", q_serial);
  time_query(&b, "sharing a key (SPKI)", q_shared);
  printf("  RSS with the store open after the queries: %ld KiB\n",
         rss_kib("VmRSS"));
  {
    ck_audit_report rep;
    t0 = now_ms();
    if (ck_audit_verify(b.s, NULL, &rep, &e) != CK_OK) {
      fprintf(stderr, "audit verify: %s\n", e.msg);
      return 1;
    }
    printf("audit verify: %" PRId64 " events in %.1f s (%s)\n", rep.checked,
           (now_ms() - t0) / 1000,
           rep.problem == CK_AUDIT_OK ? "intact" : rep.msg);
  }
  ck_store_close(b.s);
  for (i = 0; i < b.threads; i++)
    uv_sem_destroy(&subs[i].window);
  free(subs);
  free(th);
  if (!keep) {
    snprintf(cmd, sizeof cmd, "%s-wal", path);
    remove(cmd);
    snprintf(cmd, sizeof cmd, "%s-shm", path);
    remove(cmd);
    remove(path);
    if (dir == dirbuf)
      rmdir(dir);
  } else {
    printf("kept %s\n", path);
  }
  return atomic_load(&b.failed) == 0 ? 0 : 1;
}
