/* acme_fixture.h — fake servers on 127.0.0.1 for the validator tests, each
 * in its own thread with blocking sockets:
 *   - afx_dns:  a tiny DNS responder (UDP, and TCP on the same port) serving
 *               A and TXT records from a table; unknown names are NXDOMAIN;
 *               modes to stay silent, answer SERVFAIL, or truncate UDP
 *               replies (forcing the TCP retry);
 *   - afx_http: an HTTP server answering each path with a canned raw
 *               response (or never answering, for timeouts), optionally
 *               over TLS (https redirects);
 *   - afx_tls:  a TLS server with a given certificate and ALPN that closes
 *               after the handshake (tls-alpn-01).
 * Threads poll a stop flag every 20 ms and are joined by the *_stop
 * functions; no test waits by sleeping — the validator's own deadlines
 * bound every exchange. */
#ifndef CK_TESTS_ACME_FIXTURE_H
#define CK_TESTS_ACME_FIXTURE_H

#include "tests/testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/crypto/tls.h"
#include "coordinator/acme/validate.h"

#define AFX_UNUSED __attribute__((unused))
#define AFX_MAX 16

/* ---- sockets ------------------------------------------------------------ */

/* Binds a socket of type on 127.0.0.1:port (0: any); returns the fd. */
static AFX_UNUSED int afx_bind(int type, int port) {
  struct sockaddr_in sa;
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0), one = 1;

  assert_true(fd >= 0);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons((uint16_t)port);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  if (type == SOCK_STREAM)
    assert_int_equal(listen(fd, 16), 0);
  return fd;
}

static AFX_UNUSED int afx_port(int fd) {
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;

  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
  return ntohs(sa.sin_port);
}

/* A port nothing listens on (bound, then closed). */
static AFX_UNUSED int afx_dead_port(void) {
  int fd = afx_bind(SOCK_STREAM, 0), port = afx_port(fd);

  close(fd);
  return port;
}

/* Waits up to ms for fd to become readable; 1 if it did. */
static AFX_UNUSED int afx_readable(int fd, int ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};

  return poll(&p, 1, ms) > 0;
}

/* ---- DNS ---------------------------------------------------------------- */

typedef enum afx_dns_mode {
  AFX_DNS_NORMAL = 0,
  AFX_DNS_SILENT,   /* never answers */
  AFX_DNS_SERVFAIL, /* SERVFAIL to everything */
  AFX_DNS_TRUNCATE  /* UDP replies carry TC and no records; TCP is full */
} afx_dns_mode;

typedef struct afx_dns {
  int udp, tcp, port;
  volatile int stop;
  afx_dns_mode mode;
  pthread_t th;
  size_t n;
  struct {
    char name[128]; /* lower case, no final dot */
    int type;       /* 1 A, 16 TXT */
    char value[300];
  } rr[AFX_MAX];
  int udp_queries, tcp_queries;
} afx_dns;

static AFX_UNUSED void afx_dns_add(afx_dns *d, const char *name, int type,
                                   const char *value) {
  assert_true(d->n < AFX_MAX);
  snprintf(d->rr[d->n].name, sizeof d->rr[0].name, "%s", name);
  d->rr[d->n].type = type;
  snprintf(d->rr[d->n].value, sizeof d->rr[0].value, "%s", value);
  d->n++;
}

/* Builds the reply to query q into out; returns its length (0: drop). */
static size_t afx_dns_reply(afx_dns *d, const uint8_t *q, size_t qlen,
                            int over_tcp, uint8_t *out, size_t cap) {
  char name[256];
  size_t p = 12, o = 0, an = 0, qend;
  int known = 0, type;

  if (qlen < 17)
    return 0;
  while (p < qlen && q[p] != 0) {
    size_t l = q[p];
    if (p + 1 + l > qlen || o + l + 2 > sizeof name)
      return 0;
    if (o > 0)
      name[o++] = '.';
    for (size_t i = 0; i < l; i++) {
      char c = (char)q[p + 1 + i];
      name[o++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    p += 1 + l;
  }
  name[o] = '\0';
  if (p + 5 > qlen)
    return 0;
  type = q[p + 1] << 8 | q[p + 2];
  qend = p + 5;
  memcpy(out, q, qend); /* header + question; the OPT record is dropped */
  out[2] = (uint8_t)(0x80 | (q[2] & 0x01));
  out[3] = 0x80; /* RA */
  out[6] = out[7] = out[8] = out[9] = out[10] = out[11] = 0;
  o = qend;
  if (d->mode == AFX_DNS_SERVFAIL) {
    out[3] |= 2;
    return o;
  }
  if (d->mode == AFX_DNS_TRUNCATE && !over_tcp) {
    out[2] |= 0x02;
    return o;
  }
  for (size_t i = 0; i < d->n; i++) {
    if (strcmp(d->rr[i].name, name) != 0)
      continue;
    known = 1;
    if (d->rr[i].type != type)
      continue;
    size_t vlen = strlen(d->rr[i].value);
    size_t rdlen = type == 1 ? 4 : vlen + 1;
    if (o + 12 + rdlen > cap)
      break;
    out[o++] = 0xC0;
    out[o++] = 12; /* pointer to the question name */
    out[o++] = 0;
    out[o++] = (uint8_t)type;
    out[o++] = 0;
    out[o++] = 1; /* IN */
    memset(out + o, 0, 3);
    out[o + 3] = 60; /* TTL */
    o += 4;
    out[o++] = (uint8_t)(rdlen >> 8);
    out[o++] = (uint8_t)rdlen;
    if (type == 1) {
      inet_pton(AF_INET, d->rr[i].value, out + o);
    } else {
      out[o] = (uint8_t)vlen;
      memcpy(out + o + 1, d->rr[i].value, vlen);
    }
    o += rdlen;
    an++;
  }
  out[7] = (uint8_t)an;
  if (!known)
    out[3] |= 3; /* NXDOMAIN */
  return o;
}

static void *afx_dns_main(void *arg) {
  afx_dns *d = arg;
  uint8_t q[1500], r[1500];

  while (!d->stop) {
    struct pollfd p[2] = {{d->udp, POLLIN, 0}, {d->tcp, POLLIN, 0}};
    if (poll(p, 2, 20) <= 0)
      continue;
    if (p[0].revents & POLLIN) {
      struct sockaddr_storage from;
      socklen_t flen = sizeof from;
      ssize_t n = recvfrom(d->udp, q, sizeof q, 0, (struct sockaddr *)&from,
                           &flen);
      size_t rl;
      d->udp_queries++;
      if (n > 0 && d->mode != AFX_DNS_SILENT &&
          (rl = afx_dns_reply(d, q, (size_t)n, 0, r, sizeof r)) > 0)
        sendto(d->udp, r, rl, 0, (struct sockaddr *)&from, flen);
    }
    if (p[1].revents & POLLIN) {
      int c = accept(d->tcp, NULL, NULL);
      uint8_t len[2];
      size_t ql, rl;
      if (c < 0)
        continue;
      d->tcp_queries++;
      if (afx_readable(c, 2000) && recv(c, len, 2, MSG_WAITALL) == 2) {
        ql = (size_t)(len[0] << 8 | len[1]);
        if (ql <= sizeof q && recv(c, q, ql, MSG_WAITALL) == (ssize_t)ql &&
            (rl = afx_dns_reply(d, q, ql, 1, r + 2, sizeof r - 2)) > 0) {
          r[0] = (uint8_t)(rl >> 8);
          r[1] = (uint8_t)rl;
          send(c, r, rl + 2, MSG_NOSIGNAL);
        }
      }
      close(c);
    }
  }
  return NULL;
}

static AFX_UNUSED void afx_dns_start(afx_dns *d) {
  for (int i = 0; i < 50; i++) {
    d->udp = afx_bind(SOCK_DGRAM, 0);
    d->port = afx_port(d->udp);
    d->tcp = afx_bind(SOCK_STREAM, d->port);
    if (d->tcp >= 0)
      break;
    close(d->udp);
  }
  assert_true(d->tcp >= 0);
  assert_int_equal(pthread_create(&d->th, NULL, afx_dns_main, d), 0);
}

static AFX_UNUSED void afx_dns_stop(afx_dns *d) {
  d->stop = 1;
  pthread_join(d->th, NULL);
  close(d->udp);
  close(d->tcp);
}

/* ---- HTTP (and HTTPS) ----------------------------------------------------- */

typedef struct afx_http {
  int fd, port;
  volatile int stop;
  int hang;            /* accept, read the request, never answer */
  ck_tls_ctx *tls;     /* server context: speak HTTPS */
  pthread_t th;
  size_t n;
  struct {
    char path[256];
    const char *raw; /* full response, borrowed */
  } route[AFX_MAX];
  int requests;
  char last_host[256];
  char last_path[256];
} afx_http;

static AFX_UNUSED void afx_http_route(afx_http *h, const char *path,
                                      const char *raw) {
  assert_true(h->n < AFX_MAX);
  snprintf(h->route[h->n].path, sizeof h->route[0].path, "%s", path);
  h->route[h->n].raw = raw;
  h->n++;
}

/* Moves pending TLS output to the socket. */
static void afx_tls_flush(int c, ck_tls_session *s) {
  uint8_t buf[16384];

  while (ck_tls_session_pending(s) > 0) {
    size_t n = ck_tls_session_take(s, buf, sizeof buf);
    if (send(c, buf, n, MSG_NOSIGNAL) != (ssize_t)n)
      return;
  }
}

/* Server handshake over socket c (2 s bound); the session or NULL. */
static ck_tls_session *afx_tls_accept(int c, ck_tls_ctx *ctx) {
  ck_tls_session *s = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t buf[16384];

  if (ck_tls_session_new(ctx, NULL, &s, &err) != CK_OK)
    return NULL;
  for (int i = 0; i < 100; i++) {
    ck_err rc = ck_tls_session_handshake(s, &err);
    ssize_t n;
    afx_tls_flush(c, s);
    if (rc == CK_OK)
      return s;
    if (rc != CK_ERR_AGAIN || !afx_readable(c, 2000))
      break;
    n = recv(c, buf, sizeof buf, 0);
    if (n <= 0)
      break;
    ck_tls_session_feed(s, buf, (size_t)n, &err);
  }
  ck_tls_session_free(s);
  return NULL;
}

static void afx_http_serve(afx_http *h, int c) {
  char req[4096];
  size_t have = 0;
  ck_tls_session *s = NULL;
  const char *raw = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
  ck_errctx err = CK_ERRCTX_INIT;

  if (h->tls != NULL && (s = afx_tls_accept(c, h->tls)) == NULL)
    return;
  req[0] = '\0';
  while (have < sizeof req - 1 && strstr(req, "\r\n\r\n") == NULL) {
    uint8_t buf[4096];
    ssize_t n;
    size_t got = 0;
    if (!afx_readable(c, 2000))
      goto out;
    n = recv(c, buf, sizeof buf, 0);
    if (n <= 0)
      goto out;
    if (s != NULL) {
      ck_tls_session_feed(s, buf, (size_t)n, &err);
      if (ck_tls_session_read(s, (uint8_t *)req + have, sizeof req - 1 - have,
                              &got, &err) != CK_OK)
        got = 0;
      afx_tls_flush(c, s);
    } else {
      got = (size_t)n < sizeof req - 1 - have ? (size_t)n
                                              : sizeof req - 1 - have;
      memcpy(req + have, buf, got);
    }
    have += got;
    req[have] = '\0';
  }
  h->requests++;
  sscanf(req, "GET %255s", h->last_path);
  {
    const char *host = strstr(req, "\r\nHost: ");
    if (host != NULL)
      sscanf(host + 8, "%255[^\r]", h->last_host);
  }
  if (h->hang) {
    while (!h->stop && !afx_readable(c, 20))
      ;
    goto out;
  }
  for (size_t i = 0; i < h->n; i++)
    if (strcmp(h->route[i].path, h->last_path) == 0)
      raw = h->route[i].raw;
  if (s != NULL) {
    ck_tls_session_write(s, (const uint8_t *)raw, strlen(raw), &err);
    ck_tls_session_close(s);
    afx_tls_flush(c, s);
  } else {
    send(c, raw, strlen(raw), MSG_NOSIGNAL);
  }
out:
  ck_tls_session_free(s);
}

static void *afx_http_main(void *arg) {
  afx_http *h = arg;

  while (!h->stop) {
    int c;
    if (!afx_readable(h->fd, 20))
      continue;
    c = accept(h->fd, NULL, NULL);
    if (c < 0)
      continue;
    afx_http_serve(h, c);
    close(c);
  }
  return NULL;
}

static AFX_UNUSED void afx_http_start(afx_http *h) {
  h->stop = 0;
  h->fd = afx_bind(SOCK_STREAM, 0);
  h->port = afx_port(h->fd);
  assert_int_equal(pthread_create(&h->th, NULL, afx_http_main, h), 0);
}

static AFX_UNUSED void afx_http_stop(afx_http *h) {
  h->stop = 1;
  pthread_join(h->th, NULL);
  close(h->fd);
}

/* ---- TLS (tls-alpn-01) ---------------------------------------------------- */

typedef struct afx_tls {
  int fd, port;
  volatile int stop;
  ck_tls_ctx *ctx; /* borrowed */
  pthread_t th;
  int handshakes;
} afx_tls;

static void *afx_tls_main(void *arg) {
  afx_tls *t = arg;

  while (!t->stop) {
    int c;
    ck_tls_session *s;
    if (!afx_readable(t->fd, 20))
      continue;
    c = accept(t->fd, NULL, NULL);
    if (c < 0)
      continue;
    s = afx_tls_accept(c, t->ctx);
    if (s != NULL) {
      t->handshakes++;
      ck_tls_session_close(s);
      afx_tls_flush(c, s);
      ck_tls_session_free(s);
    }
    close(c);
  }
  return NULL;
}

static AFX_UNUSED void afx_tls_start(afx_tls *t) {
  t->stop = 0;
  t->fd = afx_bind(SOCK_STREAM, 0);
  t->port = afx_port(t->fd);
  assert_int_equal(pthread_create(&t->th, NULL, afx_tls_main, t), 0);
}

static AFX_UNUSED void afx_tls_stop(afx_tls *t) {
  t->stop = 1;
  pthread_join(t->th, NULL);
  close(t->fd);
}

/* Server context with the given PEM certificate/key and ALPN list. */
static AFX_UNUSED ck_tls_ctx *afx_tls_ctx(const char *cert, const char *key,
                                          const char *alpn) {
  ck_tls_config c;
  ck_tls_ctx *ctx = NULL;
  ck_errctx err = CK_ERRCTX_INIT;

  memset(&c, 0, sizeof c);
  c.role = CK_TLS_SERVER;
  c.cert_pem = (const uint8_t *)cert;
  c.cert_pem_len = strlen(cert);
  c.key_pem = (const uint8_t *)key;
  c.key_pem_len = strlen(key);
  c.alpn = alpn;
  if (ck_tls_ctx_new(&c, &ctx, &err) != CK_OK)
    fail_msg("tls ctx: %s", ck_errctx_msg(&err));
  return ctx;
}

/* Validator options for the fixtures: the fake DNS server, short timeouts,
 * one attempt. */
static AFX_UNUSED void afx_opts(ck_acme_validator_opts *o, int dns_port,
                                int http_port, int tls_port) {
  ck_acme_validator_opts_defaults(o);
  snprintf(o->dns_resolver, sizeof o->dns_resolver, "127.0.0.1:%d", dns_port);
  o->http01_port = http_port;
  o->tlsalpn01_port = tls_port;
  o->timeout_ms = 1500;
  o->attempts = 1;
  o->retry_delay_ms = 0;
}

#endif
