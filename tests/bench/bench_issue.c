/* bench_issue.c — load generator for the issuance benchmark: drives a
 * running coordinator through its full issuance path (CSR in, policy check,
 * sign, store, audit, certificate out) and measures what comes back.
 *
 * Two front doors, one libuv loop, our own TLS (ck_tls_connect) on both:
 *   rest     C keep-alive HTTPS connections, one request in flight on each,
 *            POST /api/v1/certificates {"profile","csr"} with a bearer token;
 *            every answer must be 201 with a certificate.
 *   gateway  enrolls one agent with a one-time token (server authenticated
 *            by the root CA's fingerprint), then opens C mutual-TLS sessions
 *            as that agent (hello -> welcome) and pipelines `csr` renewals,
 *            P in flight per session; every answer must be `cert`.
 * The CSRs (EC P-256, CN and DNS SAN hN.<domain>) are generated up front, a
 * pool of them reused round robin: each request still gets a fresh
 * certificate, and the generator checks that every serial it receives is
 * new. It stops after N answers or T seconds (then waits for what is in
 * flight, bounded) and prints a summary plus one machine-readable line:
 *   RESULT mode=rest ok=.. errors=.. dup=.. secs=.. rate=.. p50_ms=..
 *          p90_ms=.. p99_ms=.. max_ms=.. client_cpu_s=..
 * Latency is from writing a request to reading its whole answer, so under
 * pipelining it includes queueing in the coordinator.
 *
 *   bench_issue rest    --addr H:P --cacert ROOT.pem --token TOKEN [opts]
 *   bench_issue gateway --addr H:P --cacert ROOT.pem --ca-pin SHA256HEX
 *                       --token ENROLLMENT_TOKEN [opts]
 *   opts: --profile P (tls-server) --domain D (bench.test) -c CONNS (16)
 *         -p PIPELINE (gateway, 16) -n REQUESTS (20000) -t SECONDS (30)
 *         --pool CSRS (1000) --save-first FILE (PEM chain of one answer)
 *
 * Run through tests/bench/run-issuance.sh, which starts the coordinator;
 * figures in docs/performance.md. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include <uv.h>

#include "common/crypto/crypto.h"
#include "common/net/tls.h"
#include "common/util/clock.h"
#include "common/util/fs.h"
#include "common/util/mem.h"
#include "common/wire/framer.h"
#include "common/wire/wire.h"

#define MAX_CONNS 1024
#define MAX_PIPE 256
#define GRACE_MS 30000 /* after the deadline: waiting for answers in flight */

typedef enum { M_REST, M_GATEWAY } bench_mode;
typedef enum { C_CONNECTING, C_HELLO, C_RUNNING, C_CLOSED } conn_state;

typedef struct lconn {
  int idx;
  ck_conn *conn;
  conn_state state;
  /* rest: response buffer; one request in flight */
  char *rbuf;
  size_t rlen, rcap;
  uint64_t t_sent;
  /* gateway: framer, ids -> send time */
  ck_wire_framer fr;
  uint64_t next_id, hello_id;
  uint64_t t_pipe[MAX_PIPE]; /* send time of id, at id % MAX_PIPE */
  unsigned inflight;
} lconn;

static struct {
  bench_mode mode;
  const char *addr, *cacert, *token, *pin, *profile, *domain, *save_first;
  unsigned conns, pipe, pool;
  uint64_t total;
  unsigned seconds;

  uv_loop_t loop;
  uv_timer_t timer;
  ck_tls_ctx *ctx;
  uint8_t *cacert_pem;
  size_t cacert_len;

  /* CSR pool */
  uint8_t **csr_der;
  size_t *csr_len;
  char **body; /* REST JSON bodies */
  size_t *body_len;
  char http_head[4096]; /* request line and headers up to Content-Length: */
  size_t http_head_len;

  /* gateway identity */
  char agent_id[128];
  char *id_cert_pem, *id_key_pem;
  size_t id_cert_len, id_key_len;

  lconn *c;
  unsigned connected;
  uint64_t sent, ok, errors, dup, answered;
  uint64_t t_start, t_end, t_deadline;
  uint32_t *lat_us;
  uint64_t *serials; /* open-addressing set of serial hashes */
  size_t serial_cap;
  int saved, stopping, failed;
  struct rusage ru0, ru1;
  char first_err[512];
} B;

static void die(const char *fmt, const char *arg) {
  fprintf(stderr, "bench_issue: ");
  fprintf(stderr, fmt, arg);
  fputc('\n', stderr);
  exit(2);
}

/* ------------------------------------------------------------ accounting */

static uint64_t fnv64(const uint8_t *p, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  size_t i;

  for (i = 0; i < n; i++) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h ? h : 1;
}

/* Remembers a serial; returns 1 when it was seen before. */
static int serial_seen(const uint8_t *p, size_t n) {
  uint64_t h = fnv64(p, n);
  size_t i = (size_t)h & (B.serial_cap - 1);

  while (B.serials[i] != 0) {
    if (B.serials[i] == h)
      return 1;
    i = (i + 1) & (B.serial_cap - 1);
  }
  B.serials[i] = h;
  return 0;
}

static void record_error(const char *msg) {
  B.errors++;
  B.answered++;
  if (B.first_err[0] == '\0')
    ck_strlcpy(B.first_err, msg, sizeof B.first_err);
}

static void record_ok(uint64_t t_sent, const uint8_t *serial, size_t serial_len) {
  uint64_t us = (uv_hrtime() - t_sent) / 1000;

  if (serial_len == 0 || serial_seen(serial, serial_len)) {
    B.dup += serial_len != 0;
    record_error(serial_len == 0 ? "answer without a serial"
                                 : "duplicate serial number");
    return;
  }
  if (B.ok < B.total)
    B.lat_us[B.ok] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
  B.ok++;
  B.answered++;
}

static int may_send(void) {
  return !B.stopping && B.sent < B.total && uv_hrtime() < B.t_deadline;
}

static uint64_t in_flight(void) { return B.sent - B.answered; }

static void close_all(void);

static void check_done(void) {
  if (B.stopping)
    return;
  if (in_flight() == 0 && !may_send()) {
    B.t_end = uv_hrtime();
    getrusage(RUSAGE_SELF, &B.ru1);
    close_all();
  }
}

/* ------------------------------------------------------------ CSR pool */

static void make_pool(void) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_key_spec spec;
  unsigned i;

  B.csr_der = calloc(B.pool, sizeof *B.csr_der);
  B.csr_len = calloc(B.pool, sizeof *B.csr_len);
  B.body = calloc(B.pool, sizeof *B.body);
  B.body_len = calloc(B.pool, sizeof *B.body_len);
  if (!B.csr_der || !B.csr_len || !B.body || !B.body_len)
    die("%s", "out of memory");
  if (ck_key_spec_parse("ec-p256", &spec, &err) != CK_OK)
    die("%s", ck_errctx_msg(&err));
  for (i = 0; i < B.pool; i++) {
    char name[300], *pem = NULL, *j;
    ck_name_attr cn;
    ck_san san;
    ck_csr_req req;
    ck_key *key = NULL;
    ck_csr *csr = NULL;
    const uint8_t *der;
    size_t len, pem_len, k, cap;

    snprintf(name, sizeof name, "h%u.%s", i, B.domain);
    cn.type = "CN";
    cn.value = name;
    san.type = CK_SAN_DNS;
    san.value = name;
    memset(&req, 0, sizeof req);
    req.subject = &cn;
    req.n_subject = 1;
    req.sans = &san;
    req.n_sans = 1;
    if (ck_key_generate(&spec, &key, &err) != CK_OK ||
        ck_csr_create(key, &req, &csr, &err) != CK_OK)
      die("CSR pool: %s", ck_errctx_msg(&err));
    der = ck_csr_der(csr, &len);
    if ((B.csr_der[i] = malloc(len)) == NULL)
      die("%s", "out of memory");
    memcpy(B.csr_der[i], der, len);
    B.csr_len[i] = len;
    if (ck_pem_encode("CERTIFICATE REQUEST", der, len, &pem, &pem_len) != CK_OK)
      die("%s", "PEM encoding");
    /* JSON body: newlines escaped; base64 needs no other escaping */
    cap = pem_len * 2 + strlen(B.profile) + 64;
    if ((B.body[i] = malloc(cap)) == NULL)
      die("%s", "out of memory");
    j = B.body[i];
    j += snprintf(j, cap, "{\"profile\":\"%s\",\"csr\":\"", B.profile);
    for (k = 0; k < pem_len; k++) {
      if (pem[k] == '\n') {
        *j++ = '\\';
        *j++ = 'n';
      } else {
        *j++ = pem[k];
      }
    }
    *j++ = '"';
    *j++ = '}';
    B.body_len[i] = (size_t)(j - B.body[i]);
    free(pem);
    ck_csr_free(csr);
    ck_key_free(key);
  }
}

/* ------------------------------------------------------------ DER helpers */

/* Reads a DER header at p (n bytes): tag, header length, content length.
 * Returns 0 when malformed. */
static int der_hdr(const uint8_t *p, size_t n, uint8_t *tag, size_t *hl,
                   size_t *cl) {
  size_t len, i, k;

  if (n < 2)
    return 0;
  *tag = p[0];
  if (p[1] < 0x80) {
    *hl = 2;
    len = p[1];
  } else {
    k = p[1] & 0x7f;
    if (k == 0 || k > 4 || n < 2 + k)
      return 0;
    for (len = 0, i = 0; i < k; i++)
      len = (len << 8) | p[2 + i];
    *hl = 2 + k;
  }
  if (len > n - *hl)
    return 0;
  *cl = len;
  return 1;
}

/* The serial number's content octets inside a certificate's DER. */
static int cert_serial(const uint8_t *der, size_t n, const uint8_t **s,
                       size_t *sl) {
  uint8_t tag;
  size_t hl, cl;

  if (!der_hdr(der, n, &tag, &hl, &cl) || tag != 0x30) /* Certificate */
    return 0;
  der += hl;
  n = cl;
  if (!der_hdr(der, n, &tag, &hl, &cl) || tag != 0x30) /* TBSCertificate */
    return 0;
  der += hl;
  n = cl;
  if (!der_hdr(der, n, &tag, &hl, &cl))
    return 0;
  if (tag == 0xa0) { /* [0] version */
    der += hl + cl;
    n -= hl + cl;
    if (!der_hdr(der, n, &tag, &hl, &cl))
      return 0;
  }
  if (tag != 0x02)
    return 0;
  *s = der + hl;
  *sl = cl;
  return 1;
}

static void save_first_pem(const uint8_t *der, size_t len,
                           const ck_wire_binv *chain) {
  char *pem = NULL;
  size_t pem_len, i;
  FILE *f;

  if (B.save_first == NULL || B.saved)
    return;
  B.saved = 1;
  if ((f = fopen(B.save_first, "w")) == NULL)
    return;
  if (ck_pem_encode("CERTIFICATE", der, len, &pem, &pem_len) == CK_OK)
    fwrite(pem, 1, pem_len, f);
  free(pem);
  for (i = 0; chain != NULL && i < chain->n; i++) {
    pem = NULL;
    if (ck_pem_encode("CERTIFICATE", chain->v[i].data, chain->v[i].len, &pem,
                      &pem_len) == CK_OK)
      fwrite(pem, 1, pem_len, f);
    free(pem);
  }
  fclose(f);
}

/* ------------------------------------------------------------ connections */

static void on_closed(ck_conn *conn) {
  lconn *c = conn->data;

  c->conn = NULL;
  c->state = C_CLOSED;
}

static void conn_close(lconn *c) {
  if (c->conn != NULL && c->state != C_CLOSED) {
    c->state = C_CLOSED;
    ck_conn_close(c->conn, on_closed);
  }
}

static void close_all(void) {
  unsigned i;

  B.stopping = 1;
  for (i = 0; i < B.conns; i++)
    conn_close(&B.c[i]);
  uv_timer_stop(&B.timer);
  uv_close((uv_handle_t *)&B.timer, NULL);
}

/* A connection died: what it had in flight is lost (counted as errors). */
static void conn_lost(lconn *c, const char *why) {
  uint64_t lost = B.mode == M_REST ? (c->t_sent != 0) : c->inflight;

  if (!B.stopping && c->state != C_CLOSED) {
    char msg[256];
    snprintf(msg, sizeof msg, "connection %d lost: %s", c->idx, why);
    if (B.first_err[0] == '\0')
      ck_strlcpy(B.first_err, msg, sizeof B.first_err);
    B.failed = 1;
  }
  while (lost-- > 0)
    record_error(why);
  c->t_sent = 0;
  c->inflight = 0;
  conn_close(c);
  check_done();
}

/* ---- REST ---- */

static void rest_send(lconn *c) {
  char clen[32];
  uv_buf_t bufs[3];
  size_t i = (size_t)(B.sent % B.pool);
  int n = snprintf(clen, sizeof clen, "%zu\r\n\r\n", B.body_len[i]);

  bufs[0] = uv_buf_init(B.http_head, (unsigned)B.http_head_len);
  bufs[1] = uv_buf_init(clen, (unsigned)n);
  bufs[2] = uv_buf_init(B.body[i], (unsigned)B.body_len[i]);
  c->t_sent = uv_hrtime();
  B.sent++;
  if (ck_conn_write(c->conn, bufs, 3, NULL, NULL) != CK_OK)
    conn_lost(c, "write failed");
}

/* memmem without _GNU_SOURCE. */
static const char *find_bytes(const char *hay, size_t n, const char *needle,
                              size_t m) {
  size_t i;

  for (i = 0; m <= n && i <= n - m; i++)
    if (hay[i] == needle[0] && memcmp(hay + i, needle, m) == 0)
      return hay + i;
  return NULL;
}

static const char *find_crlf2(const char *p, size_t n) {
  size_t i;

  for (i = 0; i + 3 < n; i++)
    if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
      return p + i;
  return NULL;
}

/* Handles one complete response: status line + headers in [p, hend), body. */
static void rest_answer(lconn *c, int status, const char *body, size_t blen) {
  const char *s, *e;
  char msg[300];
  uint64_t t = c->t_sent;

  c->t_sent = 0;
  if (status != 201) {
    snprintf(msg, sizeof msg, "HTTP %d: %.*s", status, (int)(blen > 200 ? 200 : blen),
             body);
    record_error(msg);
    return;
  }
  s = find_bytes(body, blen, "\"serial\": \"", 11);
  if (s != NULL)
    s += 11;
  else if ((s = find_bytes(body, blen, "\"serial\":\"", 10)) != NULL)
    s += 10;
  e = s != NULL ? memchr(s, '"', blen - (size_t)(s - body)) : NULL;
  record_ok(t, (const uint8_t *)s, e != NULL ? (size_t)(e - s) : 0);
  if (B.save_first != NULL && !B.saved) {
    /* "pem" is the leaf; enough for a check with -untrusted chain.pem */
    const char *p = find_bytes(body, blen, "-----BEGIN CERTIFICATE-----", 27);
    const char *q = p ? find_bytes(p, blen - (size_t)(p - body), "-----END CERTIFICATE-----", 25)
                      : NULL;
    FILE *f = q ? fopen(B.save_first, "w") : NULL;
    B.saved = 1;
    if (f != NULL) {
      for (; p < q + 25; p++) {
        if (p[0] == '\\' && p[1] == 'n') {
          fputc('\n', f);
          p++;
        } else {
          fputc(*p, f);
        }
      }
      fputc('\n', f);
      fclose(f);
    }
  }
}

static void rest_on_read(ck_conn *conn, const uint8_t *data, size_t len,
                         ck_err status) {
  lconn *c = conn->data;

  if (status != CK_OK) {
    conn_lost(c, ck_err_name(status));
    return;
  }
  if (c->rlen + len > c->rcap) {
    size_t cap = (c->rlen + len) * 2;
    char *nb = realloc(c->rbuf, cap);
    if (nb == NULL) {
      conn_lost(c, "out of memory");
      return;
    }
    c->rbuf = nb;
    c->rcap = cap;
  }
  memcpy(c->rbuf + c->rlen, data, len);
  c->rlen += len;
  for (;;) {
    const char *hend = find_crlf2(c->rbuf, c->rlen), *h;
    size_t hl, cl = 0, total;
    int st = 0, closing = 0;

    if (hend == NULL)
      return;
    hl = (size_t)(hend - c->rbuf) + 4;
    if (sscanf(c->rbuf, "HTTP/1.%*d %d", &st) != 1) {
      conn_lost(c, "bad HTTP status line");
      return;
    }
    for (h = c->rbuf; h < hend; h++) {
      if (*h != '\n')
        continue;
      if (strncasecmp(h + 1, "Content-Length:", 15) == 0)
        cl = strtoul(h + 16, NULL, 10);
      else if (strncasecmp(h + 1, "Connection: close", 17) == 0)
        closing = 1;
    }
    total = hl + cl;
    if (c->rlen < total)
      return;
    rest_answer(c, st, c->rbuf + hl, cl);
    memmove(c->rbuf, c->rbuf + total, c->rlen - total);
    c->rlen -= total;
    if (closing) {
      conn_lost(c, "server closed the keep-alive connection");
      return;
    }
    if (may_send())
      rest_send(c);
    else
      check_done();
    if (c->state == C_CLOSED)
      return;
  }
}

/* ---- gateway ---- */

static void gw_send(lconn *c, ck_wire_msg *m) {
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t *buf = NULL;
  size_t len = 0;
  uv_buf_t b;

  if (m->id == 0)
    m->id = c->next_id++;
  if (ck_wire_encode(m, NULL, &buf, &len, &err) != CK_OK)
    die("encode: %s", ck_errctx_msg(&err));
  b = uv_buf_init((char *)buf, (unsigned)len);
  if (ck_conn_write(c->conn, &b, 1, NULL, NULL) != CK_OK)
    conn_lost(c, "write failed");
  free(buf);
}

static void gw_send_csr(lconn *c) {
  ck_wire_msg m;
  size_t i = (size_t)(B.sent % B.pool);

  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_CSR;
  m.id = c->next_id++;
  m.u.csr.cert_id = "bench";
  m.u.csr.profile = B.profile;
  m.u.csr.csr.data = B.csr_der[i];
  m.u.csr.csr.len = B.csr_len[i];
  m.u.csr.reason = "expiring";
  c->t_pipe[m.id % MAX_PIPE] = uv_hrtime();
  c->inflight++;
  B.sent++;
  gw_send(c, &m);
}

static void gw_fill(lconn *c) {
  while (c->state == C_RUNNING && c->inflight < B.pipe && may_send())
    gw_send_csr(c);
}

static void start_all(void);

static void gw_on_msg(lconn *c, const ck_wire_msg *m) {
  const uint8_t *s = NULL;
  size_t sl = 0;
  char msg[600];

  switch (m->type) {
  case CK_WIRE_PING: {
    ck_wire_msg p;
    memset(&p, 0, sizeof p);
    p.type = CK_WIRE_PONG;
    p.id = m->id;
    p.u.pong.time = ck_clock_now();
    gw_send(c, &p);
    return;
  }
  case CK_WIRE_WELCOME:
    if (c->state == C_HELLO && m->id == c->hello_id) {
      c->state = C_RUNNING;
      if (++B.connected == B.conns)
        start_all();
    }
    return;
  case CK_WIRE_CERT:
    if (c->inflight == 0)
      return;
    c->inflight--;
    if (!cert_serial(m->u.cert.cert.data, m->u.cert.cert.len, &s, &sl))
      sl = 0;
    record_ok(c->t_pipe[m->id % MAX_PIPE], s, sl);
    if (!B.saved)
      save_first_pem(m->u.cert.cert.data, m->u.cert.cert.len, &m->u.cert.chain);
    break;
  case CK_WIRE_ERROR:
    snprintf(msg, sizeof msg, "gateway error %s: %s",
             ck_err_name((ck_err)m->u.error.code),
             m->u.error.message ? m->u.error.message : "");
    if (c->state != C_RUNNING || m->u.error.fatal) {
      conn_lost(c, msg);
      return;
    }
    if (c->inflight > 0)
      c->inflight--;
    record_error(msg);
    break;
  case CK_WIRE_PENDING:
    if (c->inflight > 0)
      c->inflight--;
    record_error("pending (the profile needs approval?)");
    break;
  default:
    return; /* commands and acks: not part of the benchmark */
  }
  gw_fill(c);
  check_done();
}

static void gw_on_read(ck_conn *conn, const uint8_t *data, size_t len,
                       ck_err status) {
  lconn *c = conn->data;
  ck_errctx err = CK_ERRCTX_INIT;
  const uint8_t *body;
  size_t blen;

  if (status != CK_OK) {
    conn_lost(c, ck_err_name(status));
    return;
  }
  if (ck_wire_framer_feed(&c->fr, data, len, &err) != CK_OK) {
    conn_lost(c, ck_errctx_msg(&err));
    return;
  }
  while (c->state != C_CLOSED &&
         ck_wire_framer_next(&c->fr, &body, &blen, &err) == CK_OK) {
    ck_arena *a = ck_arena_new(8192);
    ck_wire_msg m;
    memset(&m, 0, sizeof m);
    if (a == NULL || ck_wire_decode(body, blen, NULL, a, &m, &err) != CK_OK) {
      ck_arena_free(a);
      conn_lost(c, ck_errctx_msg(&err));
      return;
    }
    gw_on_msg(c, &m);
    ck_arena_free(a);
  }
}

/* ---- connecting ---- */

static void on_handshake(ck_conn *conn, ck_err status, const ck_errctx *err,
                         void *arg) {
  lconn *c = arg;

  if (status != CK_OK) {
    fprintf(stderr, "bench_issue: connection %d: %s: %s\n", c->idx,
            ck_err_name(status), err ? ck_errctx_msg(err) : "");
    exit(1);
  }
  c->conn = conn;
  conn->data = c;
  if (B.mode == M_REST) {
    if (ck_conn_read_start(conn, rest_on_read) != CK_OK)
      die("%s", "read_start");
    c->state = C_RUNNING;
    if (++B.connected == B.conns)
      start_all();
  } else {
    ck_wire_msg m;
    if (ck_conn_read_start(conn, gw_on_read) != CK_OK)
      die("%s", "read_start");
    c->state = C_HELLO;
    memset(&m, 0, sizeof m);
    m.type = CK_WIRE_HELLO;
    m.u.hello.agent_id = B.agent_id;
    m.u.hello.version = "bench";
    m.u.hello.platform = "linux-x86_64";
    gw_send(c, &m);
    c->hello_id = m.id;
  }
}

static void on_timer(uv_timer_t *t) {
  (void)t;
  if (uv_hrtime() < B.t_deadline + (uint64_t)GRACE_MS * 1000000u)
    return;
  fprintf(stderr, "bench_issue: %" PRIu64 " answers still missing %d s after the deadline\n",
          in_flight(), GRACE_MS / 1000);
  B.failed = 1;
  while (in_flight() > 0)
    record_error("no answer");
  B.t_end = uv_hrtime();
  getrusage(RUSAGE_SELF, &B.ru1);
  close_all();
}

/* Every connection is ready: the measurement starts now. */
static void start_all(void) {
  unsigned i;

  B.t_start = uv_hrtime();
  B.t_deadline = B.t_start + (uint64_t)B.seconds * 1000000000u;
  getrusage(RUSAGE_SELF, &B.ru0);
  uv_timer_start(&B.timer, on_timer, 500, 500);
  for (i = 0; i < B.conns; i++) {
    lconn *c = &B.c[i];
    if (B.mode == M_REST) {
      if (c->state == C_RUNNING && may_send())
        rest_send(c);
    } else {
      gw_fill(c);
    }
  }
}

static ck_tls_ctx *client_ctx(int enroll) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_tls_config tc;
  ck_tls_ctx *ctx = NULL;

  memset(&tc, 0, sizeof tc);
  tc.role = CK_TLS_CLIENT;
  if (enroll) {
    tc.ca_pin_sha256 = B.pin;
  } else {
    tc.ca_pem = B.cacert_pem;
    tc.ca_pem_len = B.cacert_len;
  }
  if (B.mode == M_GATEWAY && !enroll) {
    tc.cert_pem = (const uint8_t *)B.id_cert_pem;
    tc.cert_pem_len = B.id_cert_len;
    tc.key_pem = (const uint8_t *)B.id_key_pem;
    tc.key_pem_len = B.id_key_len;
  }
  if (ck_tls_ctx_new(&tc, &ctx, &err) != CK_OK)
    die("TLS context: %s", ck_errctx_msg(&err));
  return ctx;
}

static void connect_all(void) {
  ck_errctx err = CK_ERRCTX_INIT;
  unsigned i;

  B.ctx = client_ctx(0);
  for (i = 0; i < B.conns; i++) {
    B.c[i].idx = (int)i;
    B.c[i].next_id = 1;
    ck_wire_framer_init(&B.c[i].fr, 0);
    if (ck_tls_connect(&B.loop, B.addr, B.ctx, on_handshake, &B.c[i], &err) != CK_OK)
      die("connect: %s", ck_errctx_msg(&err));
  }
}

/* ---- enrollment (gateway mode, before the measurement) ---- */

static struct {
  lconn c;
  ck_key *key;
  int done;
} E;

static void enroll_closed(ck_conn *conn) {
  (void)conn;
  E.c.conn = NULL;
  connect_all();
}

static void enroll_on_read(ck_conn *conn, const uint8_t *data, size_t len,
                           ck_err status) {
  ck_errctx err = CK_ERRCTX_INIT;
  const uint8_t *body;
  size_t blen;

  if (status != CK_OK)
    die("enrollment connection ended: %s", ck_err_name(status));
  if (ck_wire_framer_feed(&E.c.fr, data, len, &err) != CK_OK)
    die("enroll: %s", ck_errctx_msg(&err));
  while (!E.done && ck_wire_framer_next(&E.c.fr, &body, &blen, &err) == CK_OK) {
    ck_arena *a = ck_arena_new(8192);
    ck_wire_msg m;
    memset(&m, 0, sizeof m);
    if (ck_wire_decode(body, blen, NULL, a, &m, &err) != CK_OK)
      die("enroll decode: %s", ck_errctx_msg(&err));
    if (m.type == CK_WIRE_ERROR)
      die("enrollment refused: %s", m.u.error.message ? m.u.error.message : "");
    if (m.type == CK_WIRE_CERT) {
      if (m.u.cert.agent_id == NULL)
        die("%s", "enrollment answer without an agent id");
      ck_strlcpy(B.agent_id, m.u.cert.agent_id, sizeof B.agent_id);
      if (ck_pem_encode("CERTIFICATE", m.u.cert.cert.data, m.u.cert.cert.len,
                        &B.id_cert_pem, &B.id_cert_len) != CK_OK ||
          ck_key_export_pem(E.key, CK_KEY_PEM_PKCS8, &B.id_key_pem,
                            &B.id_key_len, &err) != CK_OK)
        die("%s", "identity export");
      E.done = 1;
      fprintf(stderr, "bench_issue: enrolled as agent %s\n", B.agent_id);
      ck_arena_free(a);
      ck_wire_framer_free(&E.c.fr);
      ck_conn_close(conn, enroll_closed);
      return;
    }
    ck_arena_free(a);
  }
}

static void enroll_on_hs(ck_conn *conn, ck_err status, const ck_errctx *err,
                         void *arg) {
  ck_errctx e2 = CK_ERRCTX_INIT;
  ck_key_spec spec;
  ck_name_attr cn = {"CN", "bench-agent"};
  ck_csr_req req;
  ck_csr *csr = NULL;
  ck_wire_msg m;
  const uint8_t *der;
  size_t len;

  (void)arg;
  if (status != CK_OK)
    die("enrollment handshake: %s", err ? ck_errctx_msg(err) : ck_err_name(status));
  E.c.conn = conn;
  conn->data = &E.c;
  if (ck_key_spec_parse("ec-p256", &spec, &e2) != CK_OK ||
      ck_key_generate(&spec, &E.key, &e2) != CK_OK)
    die("identity key: %s", ck_errctx_msg(&e2));
  memset(&req, 0, sizeof req);
  req.subject = &cn;
  req.n_subject = 1;
  if (ck_csr_create(E.key, &req, &csr, &e2) != CK_OK)
    die("identity CSR: %s", ck_errctx_msg(&e2));
  der = ck_csr_der(csr, &len);
  if (ck_conn_read_start(conn, enroll_on_read) != CK_OK)
    die("%s", "read_start");
  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_ENROLL;
  m.u.enroll.token = B.token;
  m.u.enroll.csr.data = der;
  m.u.enroll.csr.len = len;
  m.u.enroll.host.hostname = "bench";
  m.u.enroll.host.os = "linux";
  m.u.enroll.host.arch = "x86_64";
  E.c.next_id = 1;
  gw_send(&E.c, &m);
  ck_csr_free(csr);
}

static void enroll(void) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_tls_ctx *ctx = client_ctx(1);

  ck_wire_framer_init(&E.c.fr, 0);
  if (ck_tls_connect(&B.loop, B.addr, ctx, enroll_on_hs, NULL, &err) != CK_OK)
    die("connect: %s", ck_errctx_msg(&err));
  ck_tls_ctx_free(ctx); /* the connection holds its reference */
}

/* ------------------------------------------------------------ report */

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static double pct_ms(uint64_t n, double p) {
  uint64_t i;

  if (n == 0)
    return 0;
  i = (uint64_t)(p * (double)(n - 1) + 0.5);
  return B.lat_us[i] / 1000.0;
}

static double tv_s(const struct timeval *tv) {
  return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static void report(void) {
  uint64_t n = B.ok < B.total ? B.ok : B.total;
  double secs = (double)(B.t_end - B.t_start) / 1e9;
  double cpu = tv_s(&B.ru1.ru_utime) - tv_s(&B.ru0.ru_utime) +
               tv_s(&B.ru1.ru_stime) - tv_s(&B.ru0.ru_stime);
  const char *mode = B.mode == M_REST ? "rest" : "gateway";

  qsort(B.lat_us, (size_t)n, sizeof *B.lat_us, cmp_u32);
  printf("%s: %u connections x %u in flight, %" PRIu64 " requests, %" PRIu64
         " issued, %" PRIu64 " errors (%" PRIu64 " duplicate serials) in %.2f s\n",
         mode, B.conns, B.mode == M_REST ? 1u : B.pipe, B.sent, B.ok, B.errors,
         B.dup, secs);
  printf("%s: %.0f certificates/s; latency ms p50 %.2f p90 %.2f p99 %.2f max "
         "%.2f; load generator CPU %.2f s\n",
         mode, secs > 0 ? (double)B.ok / secs : 0, pct_ms(n, 0.50), pct_ms(n, 0.90),
         pct_ms(n, 0.99), n ? B.lat_us[n - 1] / 1000.0 : 0.0, cpu);
  if (B.first_err[0] != '\0')
    printf("%s: first error: %s\n", mode, B.first_err);
  printf("RESULT mode=%s ok=%" PRIu64 " errors=%" PRIu64 " dup=%" PRIu64
         " secs=%.3f rate=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f "
         "client_cpu_s=%.2f\n",
         mode, B.ok, B.errors, B.dup, secs, secs > 0 ? (double)B.ok / secs : 0,
         pct_ms(n, 0.50), pct_ms(n, 0.90), pct_ms(n, 0.99),
         n ? B.lat_us[n - 1] / 1000.0 : 0.0, cpu);
  fflush(stdout);
}

/* ------------------------------------------------------------ main */

static unsigned long num_arg(const char *opt, const char *v, unsigned long max) {
  char *end;
  unsigned long x;

  if (v == NULL)
    die("%s needs a value", opt);
  x = strtoul(v, &end, 10);
  if (*v == '\0' || *end != '\0' || x == 0 || x > max)
    die("bad value for %s", opt);
  return x;
}

static void usage(void) {
  fprintf(stderr,
          "usage: bench_issue rest|gateway --addr HOST:PORT --cacert ROOT.pem "
          "--token TOKEN\n"
          "         [--ca-pin SHA256HEX (gateway)] [--profile P] [--domain D]\n"
          "         [-c CONNS] [-p PIPELINE] [-n REQUESTS] [-t SECONDS] [--pool CSRS]\n"
          "         [--save-first FILE]\n");
  exit(2);
}

int main(int argc, char **argv) {
  ck_errctx err = CK_ERRCTX_INIT;
  int i;
  size_t cap;

  B.profile = "tls-server";
  B.domain = "bench.test";
  B.conns = 16;
  B.pipe = 16;
  B.total = 20000;
  B.seconds = 30;
  B.pool = 1000;
  if (argc < 2)
    usage();
  if (strcmp(argv[1], "rest") == 0)
    B.mode = M_REST;
  else if (strcmp(argv[1], "gateway") == 0)
    B.mode = M_GATEWAY;
  else
    usage();
  for (i = 2; i < argc; i += 2) {
    const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(o, "--addr") == 0)
      B.addr = v;
    else if (strcmp(o, "--cacert") == 0)
      B.cacert = v;
    else if (strcmp(o, "--token") == 0)
      B.token = v;
    else if (strcmp(o, "--ca-pin") == 0)
      B.pin = v;
    else if (strcmp(o, "--profile") == 0)
      B.profile = v;
    else if (strcmp(o, "--domain") == 0)
      B.domain = v;
    else if (strcmp(o, "--save-first") == 0)
      B.save_first = v;
    else if (strcmp(o, "-c") == 0)
      B.conns = (unsigned)num_arg(o, v, MAX_CONNS);
    else if (strcmp(o, "-p") == 0)
      B.pipe = (unsigned)num_arg(o, v, MAX_PIPE);
    else if (strcmp(o, "-n") == 0)
      B.total = num_arg(o, v, 100000000ul);
    else if (strcmp(o, "-t") == 0)
      B.seconds = (unsigned)num_arg(o, v, 86400);
    else if (strcmp(o, "--pool") == 0)
      B.pool = (unsigned)num_arg(o, v, 1000000);
    else
      usage();
    if (v == NULL)
      usage();
  }
  if (B.addr == NULL || B.cacert == NULL || B.token == NULL ||
      (B.mode == M_GATEWAY && B.pin == NULL))
    usage();
  if (ck_fs_read_file(B.cacert, 1 << 20, &B.cacert_pem, &B.cacert_len, &err) != CK_OK)
    die("%s", ck_errctx_msg(&err));
  B.http_head_len = (size_t)snprintf(
      B.http_head, sizeof B.http_head,
      "POST /api/v1/certificates HTTP/1.1\r\nHost: %s\r\n"
      "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
      "Accept: application/json\r\nContent-Length: ",
      B.addr, B.token);
  if (B.http_head_len >= sizeof B.http_head)
    die("%s", "token too long");
  B.lat_us = calloc((size_t)B.total, sizeof *B.lat_us);
  for (cap = 1024; cap < B.total * 2; cap <<= 1)
    ;
  B.serial_cap = cap;
  B.serials = calloc(cap, sizeof *B.serials);
  B.c = calloc(B.conns, sizeof *B.c);
  if (B.lat_us == NULL || B.serials == NULL || B.c == NULL)
    die("%s", "out of memory");

  fprintf(stderr, "bench_issue: generating %u EC P-256 CSRs\n", B.pool);
  make_pool();
  if (uv_loop_init(&B.loop) != 0 || uv_timer_init(&B.loop, &B.timer) != 0)
    die("%s", "libuv");
  B.t_deadline = UINT64_MAX;
  if (B.mode == M_GATEWAY)
    enroll();
  else
    connect_all();
  uv_run(&B.loop, UV_RUN_DEFAULT);
  report();

  for (i = 0; i < (int)B.conns; i++) {
    free(B.c[i].rbuf);
    ck_wire_framer_free(&B.c[i].fr);
  }
  for (i = 0; i < (int)B.pool; i++) {
    free(B.csr_der[i]);
    free(B.body[i]);
  }
  free(B.csr_der);
  free(B.csr_len);
  free(B.body);
  free(B.body_len);
  free(B.c);
  free(B.lat_us);
  free(B.serials);
  free(B.cacert_pem);
  free(B.id_cert_pem);
  if (B.id_key_pem != NULL)
    ck_crypto_free_secret(B.id_key_pem, B.id_key_len);
  ck_key_free(E.key);
  ck_tls_ctx_free(B.ctx);
  (void)uv_loop_close(&B.loop);
  return B.failed || B.errors > 0 ? 1 : 0;
}
