/* val_http.c — the OCSP and CRL endpoints on the plain HTTP listener and
 * the cache of signed OCSP answers (validation.h).
 *
 * A cached answer is served on the loop thread: decode, parse, find the
 * issuer, one hash lookup under a read lock, copy. Everything else — a
 * miss, a stale entry, a nonce — goes to the thread pool: the store says
 * good / revoked / unknown, the CA's delegated responder signs, and the
 * answer is cached unless a revocation happened meanwhile (gen). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/validation/val_int.h"

/* ------------------------------------------------------------- helpers */

/* IMF-fixdate of t. */
static void http_date(int64_t t, char *out, size_t len) {
  static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char mons[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t tt = (time_t)t;
  struct tm tm;

  if (gmtime_r(&tt, &tm) == NULL) {
    ck_strlcpy(out, "Thu, 01 Jan 1970 00:00:00 GMT", len);
    return;
  }
  snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
           tm.tm_mday, mons[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
           tm.tm_sec);
}

/* RFC 5019 section 6 caching headers for an answer valid this..next. */
static void cache_headers(ck_http_req *req, int64_t this_update, int64_t next_update,
                          const char *etag) {
  char buf[96];
  int64_t age = next_update - ck_clock_now();

  if (age < 0)
    age = 0;
  snprintf(buf, sizeof buf, "max-age=%lld, public, no-transform, must-revalidate",
           (long long)age);
  ck_http_add_header(req, "Cache-Control", buf);
  http_date(this_update, buf, sizeof buf);
  ck_http_add_header(req, "Last-Modified", buf);
  http_date(next_update, buf, sizeof buf);
  ck_http_add_header(req, "Expires", buf);
  if (etag != NULL && etag[0] != '\0')
    ck_http_add_header(req, "ETag", etag);
}

/* 1 when If-None-Match names etag (or is "*"). */
static int not_modified(const ck_http_req *req, const char *etag) {
  const char *h = ck_http_req_header(req, "If-None-Match");

  return h != NULL && etag[0] != '\0' && (strstr(h, etag) != NULL || strcmp(h, "*") == 0);
}

static int b64val(uint8_t c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+' || c == '-')
    return 62;
  if (c == '/' || c == '_')
    return 63;
  return -1;
}

static int hexdig(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* RFC 5019 GET: percent-decoding, then base64 (standard or URL-safe
 * alphabet, padding optional). The result goes into the request arena.
 * Returns 0 or -1 (malformed, or over CK_OCSP_REQUEST_MAX). */
static int decode_get(ck_http_req *req, const char *path, uint8_t **out, size_t *out_len) {
  size_t n = strlen(path), i, k = 0, chars = 0;
  uint32_t acc = 0;
  uint8_t *buf;
  int v, pad = 0;

  if (n == 0 || n > CK_OCSP_REQUEST_MAX * 2)
    return -1;
  buf = ck_arena_alloc(ck_http_req_arena(req), n);
  if (buf == NULL)
    return -1;
  for (i = 0; i < n; i++) {
    uint8_t c = (uint8_t)path[i];
    if (c == '%') {
      int hi = i + 2 < n ? hexdig(path[i + 1]) : -1, lo = i + 2 < n ? hexdig(path[i + 2]) : -1;
      if (hi < 0 || lo < 0)
        return -1;
      c = (uint8_t)(hi << 4 | lo);
      i += 2;
    }
    if (c == '=') {
      pad++;
      continue;
    }
    if (c == '\r' || c == '\n' || c == ' ')
      continue;
    if ((v = b64val(c)) < 0 || pad > 0)
      return -1;
    acc = (acc << 6) | (uint32_t)v;
    if (++chars % 4 == 0) {
      buf[k++] = (uint8_t)(acc >> 16);
      buf[k++] = (uint8_t)(acc >> 8);
      buf[k++] = (uint8_t)acc;
      acc = 0;
    }
  }
  switch (chars % 4) {
  case 0:
    break;
  case 2:
    buf[k++] = (uint8_t)(acc >> 4);
    break;
  case 3:
    buf[k++] = (uint8_t)(acc >> 10);
    buf[k++] = (uint8_t)(acc >> 2);
    break;
  default:
    return -1;
  }
  if (k == 0 || k > CK_OCSP_REQUEST_MAX)
    return -1;
  *out = buf;
  *out_len = k;
  return 0;
}

/* ---------------------------------------------------------------- cache */

static size_t bucket_of(const ck_validation *v, uint32_t ca, uint8_t hash,
                        const uint8_t *serial, size_t n) {
  uint64_t h = 1469598103934665603ull;
  size_t i;

  h = (h ^ ca) * 1099511628211ull;
  h = (h ^ hash) * 1099511628211ull;
  for (i = 0; i < n; i++)
    h = (h ^ serial[i]) * 1099511628211ull;
  return (size_t)(h ^ (h >> 29)) & (v->n_buckets - 1);
}

static val_entry *cache_find(ck_validation *v, uint32_t ca, uint8_t hash,
                             const uint8_t *serial, size_t n) {
  val_entry *e;

  if (v->n_buckets == 0)
    return NULL;
  for (e = v->buckets[bucket_of(v, ca, hash, serial, n)]; e != NULL; e = e->next)
    if (e->ca == ca && e->hash == hash && e->serial_len == n &&
        memcmp(e->serial, serial, n) == 0)
      return e;
  return NULL;
}

/* Takes ownership of e (freed when not inserted). */
static void cache_put(ck_validation *v, uint64_t gen, val_entry *e) {
  val_entry **pp, *old;
  size_t b;

  pthread_rwlock_wrlock(&v->cache_mu);
  if (v->n_buckets == 0 || gen != v->gen) {
    pthread_rwlock_unlock(&v->cache_mu);
    free(e->der);
    free(e);
    return;
  }
  b = bucket_of(v, e->ca, e->hash, e->serial, e->serial_len);
  for (pp = &v->buckets[b]; *pp != NULL; pp = &(*pp)->next) {
    old = *pp;
    if (old->ca == e->ca && old->hash == e->hash && old->serial_len == e->serial_len &&
        memcmp(old->serial, e->serial, e->serial_len) == 0) {
      e->next = old->next;
      *pp = e;
      pthread_rwlock_unlock(&v->cache_mu);
      free(old->der);
      free(old);
      return;
    }
  }
  if (v->n_entries >= v->max_entries) { /* full: serve without caching */
    pthread_rwlock_unlock(&v->cache_mu);
    free(e->der);
    free(e);
    return;
  }
  e->next = v->buckets[b];
  v->buckets[b] = e;
  v->n_entries++;
  pthread_rwlock_unlock(&v->cache_mu);
}

void ck__val_cache_free(ck_validation *v) {
  size_t i;

  for (i = 0; i < v->n_buckets && v->buckets != NULL; i++) {
    val_entry *e = v->buckets[i], *next;
    for (; e != NULL; e = next) {
      next = e->next;
      free(e->der);
      free(e);
    }
  }
  free(v->buckets);
  v->buckets = NULL;
  v->n_buckets = 0;
}

/* ------------------------------------------------------------------ OCSP */

typedef struct ocsp_call {
  ck_validation *v;
  val_ca *c;
  ck_ocsp_request rq;
  uint8_t serial[VAL_SERIAL_MAX]; /* normalised */
  size_t serial_len;
  /* the answer */
  int fail;                 /* ck_ocsp_resp_status when not 0 */
  val_entry *e;             /* signed answer (owned until cached) */
} ocsp_call;

static void respond_status(ck_http_req *req, ck_ocsp_resp_status st) {
  size_t len;
  const uint8_t *b = ck_ocsp_status_response(st, &len);

  ck_http_add_header(req, "Cache-Control", "no-store");
  ck_http_respond(req, 200, "application/ocsp-response", b, len);
}

static void respond_entry(ck_http_req *req, const val_entry *e, int cacheable) {
  if (cacheable) {
    cache_headers(req, e->this_update, e->next_update, e->etag);
    if (not_modified(req, e->etag)) {
      ck_http_respond(req, 304, NULL, NULL, 0);
      return;
    }
  } else {
    ck_http_add_header(req, "Cache-Control", "no-store");
  }
  ck_http_respond(req, 200, "application/ocsp-response", e->der, e->len);
}

/* Pool thread: status from the store, then a signature. */
static void ocsp_work(ck_http_req *req, void *arg) {
  ocsp_call *k = arg;
  ck_validation *v = k->v;
  ck_arena *a = ck_http_req_arena(req);
  ck_errctx err = CK_ERRCTX_INIT;
  ck_ocsp_single s;
  ck_cert_filter f;
  ck_store_page pg;
  ck_store_cert *items;
  ck_store_revocation rv;
  val_responder *r = NULL;
  val_entry *e = NULL;
  char hex[2 * VAL_SERIAL_MAX + 1];
  uint8_t h[CK_SHA256_LEN];
  uint64_t gen;
  size_t n;
  int64_t now = ck_clock_now();
  ck_err rc;

  pthread_rwlock_rdlock(&v->cache_mu);
  gen = v->gen;
  pthread_rwlock_unlock(&v->cache_mu);
  memset(&s, 0, sizeof s);
  s.cert_id = k->rq.cert_id;
  s.cert_id_len = k->rq.cert_id_len;
  s.reason = -1;
  s.status = CK_OCSP_UNKNOWN;
  if (!(k->rq.serial[0] & 0x80) &&
      ck_crypto_hex(k->serial, k->serial_len, 0, hex, sizeof hex) == CK_OK) {
    memset(&f, 0, sizeof f);
    memset(&pg, 0, sizeof pg);
    f.by = CK_CERTQ_SERIAL;
    f.key = hex;
    f.ca_id = k->c->ca->id;
    pg.limit = 1;
    rc = ck_store_cert_list(v->rt->store, &f, &pg, a, &items, &n, &err);
    if (rc != CK_OK) {
      ck_log(CK_LOG_OPS, CK_LOG_ERR, "ocsp.store", CK_E(rc, ck_errctx_msg(&err)));
      k->fail = CK_OCSP_TRY_LATER;
      return;
    }
    if (n == 1 && items[0].status == CK_CERT_REVOKED) {
      rc = ck_store_revocation_get(v->rt->store, items[0].fingerprint, a, &rv, &err);
      if (rc != CK_OK) {
        ck_log(CK_LOG_OPS, CK_LOG_ERR, "ocsp.store", CK_E(rc, ck_errctx_msg(&err)));
        k->fail = CK_OCSP_TRY_LATER;
        return;
      }
      s.status = CK_OCSP_REVOKED;
      s.revoked_at = rv.revoked_at;
      s.reason = rv.reason;
    } else if (n == 1) {
      s.status = CK_OCSP_GOOD;
    }
  }
  s.produced_at = now;
  s.this_update = now;
  s.next_update = now + v->rt->set.val.ocsp_validity;
  s.nonce = k->rq.nonce;
  s.nonce_len = k->rq.nonce_len;
  if ((e = calloc(1, sizeof *e)) == NULL || (r = ck__val_responder_get(v, k->c)) == NULL) {
    k->fail = CK_OCSP_TRY_LATER;
    goto out;
  }
  rc = ck_ocsp_response_build(r->r, &s, &e->der, &e->len, &err);
  ck__val_responder_put(v, r);
  if (rc != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "ocsp.sign", CK_E(rc, ck_errctx_msg(&err)));
    k->fail = CK_OCSP_INTERNAL_ERROR;
    goto out;
  }
  __atomic_fetch_add(&v->stats.ocsp_signed, 1, __ATOMIC_RELAXED);
  e->ca = (uint32_t)(k->c - v->cas);
  e->hash = (uint8_t)k->rq.hash;
  e->serial_len = (uint8_t)k->serial_len;
  memcpy(e->serial, k->serial, k->serial_len);
  e->this_update = s.this_update;
  e->next_update = s.next_update;
  e->refresh_at = s.this_update + v->rt->set.val.ocsp_validity / 2;
  if (ck_crypto_sha256(e->der, e->len, h) == CK_OK) {
    char hx[17];
    ck_crypto_hex(h, 8, 0, hx, sizeof hx);
    snprintf(e->etag, sizeof e->etag, "\"%s\"", hx);
  }
  k->e = e;
  e = NULL;
  if (k->rq.nonce == NULL) { /* cache a copy; the call keeps its own */
    val_entry *copy = malloc(sizeof *copy);
    if (copy != NULL) {
      *copy = *k->e;
      copy->der = malloc(k->e->len);
      if (copy->der != NULL) {
        memcpy(copy->der, k->e->der, k->e->len);
        cache_put(v, gen, copy);
      } else {
        free(copy);
      }
    }
  }
out:
  if (e != NULL)
    free(e->der);
  free(e);
}

static void ocsp_after(ck_http_req *req, void *arg) {
  ocsp_call *k = arg;

  if (k->fail != 0 || k->e == NULL)
    respond_status(req, k->fail != 0 ? (ck_ocsp_resp_status)k->fail : CK_OCSP_INTERNAL_ERROR);
  else
    respond_entry(req, k->e, k->rq.nonce == NULL);
  if (k->e != NULL)
    free(k->e->der);
  free(k->e);
  free(k);
}

static void ocsp_serve(ck_http_req *req, ck_validation *v, const uint8_t *der, size_t len) {
  ck_errctx err = CK_ERRCTX_INIT;
  ocsp_call *k;
  val_entry *e;
  val_ca *c;
  ck_ocsp_request rq;
  uint8_t serial[VAL_SERIAL_MAX];
  size_t sn;
  ck_err rc;

  __atomic_fetch_add(&v->stats.ocsp_requests, 1, __ATOMIC_RELAXED);
  rc = ck_ocsp_request_parse(der, len, &rq, &err);
  if (rc != CK_OK || rq.serial_len > VAL_SERIAL_MAX || rq.hash == CK_OCSP_HASH_OTHER) {
    ck_log(CK_LOG_OPS, CK_LOG_DEBUG, "ocsp.malformed", CK_S("peer", ck_http_req_peer(req)),
           CK_S("msg", rc != CK_OK ? ck_errctx_msg(&err) : "unsupported CertID hash"));
    respond_status(req, CK_OCSP_MALFORMED);
    return;
  }
  if ((c = ck__val_find_issuer(v, &rq)) == NULL) {
    respond_status(req, CK_OCSP_UNAUTHORIZED);
    return;
  }
  memcpy(serial, rq.serial, rq.serial_len);
  sn = ck__val_serial_norm(serial, rq.serial_len);
  ck__val_usage_note_ocsp(v, (uint32_t)(c - v->cas), serial, sn, ck_http_req_peer(req));
  if (rq.nonce == NULL && v->n_buckets > 0) {
    int64_t now = ck_clock_now();
    pthread_rwlock_rdlock(&v->cache_mu);
    e = cache_find(v, (uint32_t)(c - v->cas), (uint8_t)rq.hash, serial, sn);
    if (e != NULL && now < e->refresh_at) {
      __atomic_fetch_add(&v->stats.ocsp_cache_hits, 1, __ATOMIC_RELAXED);
      cache_headers(req, e->this_update, e->next_update, e->etag);
      if (not_modified(req, e->etag))
        ck_http_respond(req, 304, NULL, NULL, 0);
      else
        ck_http_respond(req, 200, "application/ocsp-response", e->der, e->len);
      pthread_rwlock_unlock(&v->cache_mu);
      return;
    }
    pthread_rwlock_unlock(&v->cache_mu);
  }
  if ((k = calloc(1, sizeof *k)) == NULL) {
    respond_status(req, CK_OCSP_TRY_LATER);
    return;
  }
  k->v = v;
  k->c = c;
  k->rq = rq; /* points into the request (body or arena): valid until answered */
  memcpy(k->serial, serial, sn);
  k->serial_len = sn;
  if (ck_http_defer(req, ocsp_work, ocsp_after, k) != CK_OK) {
    free(k);
    respond_status(req, CK_OCSP_TRY_LATER);
  }
}

static void ocsp_post(ck_http_req *req, void *arg) {
  size_t len;
  const uint8_t *body = ck_http_req_body(req, &len);

  if (ck_http_req_method(req) != CK_HTTP_POST) { /* GET /ocsp: no request */
    respond_status(req, CK_OCSP_MALFORMED);
    return;
  }
  ocsp_serve(req, arg, body, len);
}

static void ocsp_get(ck_http_req *req, void *arg) {
  uint8_t *der;
  size_t len;

  if (ck_http_req_method(req) == CK_HTTP_POST) {
    ocsp_post(req, arg);
    return;
  }
  if (decode_get(req, ck_http_req_path_rest(req), &der, &len) != 0) {
    respond_status(req, CK_OCSP_MALFORMED);
    return;
  }
  ocsp_serve(req, arg, der, len);
}

/* ------------------------------------------------------------------- CRL */

/* The CRL a name ("issuing", "issuing-s3", with or without "-delta")
 * names, or NULL. */
static val_crl *crl_find(ck_validation *v, const char *name, size_t n) {
  size_t i, k;

  for (i = 0; i < v->n_cas; i++)
    for (k = 0; k < v->cas[i].n_crls; k++) {
      val_crl *cr = &v->cas[i].crls[k];
      if (strlen(cr->name) == n && strncmp(cr->name, name, n) == 0)
        return cr;
    }
  return NULL;
}

static void crl_get(ck_http_req *req, void *arg) {
  ck_validation *v = arg;
  const char *rest = ck_http_req_path_rest(req);
  size_t n = strlen(rest);
  char etag[48];
  val_crl *cr = NULL;
  int delta = 0;
  const uint8_t *der;
  size_t len;
  int64_t t_this, t_next;
  uint64_t number;

  if (n > 4 && strcmp(rest + n - 4, ".crl") == 0) {
    n -= 4;
    cr = crl_find(v, rest, n);
    if (cr == NULL && n > 6 && strncmp(rest + n - 6, "-delta", 6) == 0) {
      cr = crl_find(v, rest, n - 6);
      delta = 1;
    }
  }
  if (cr == NULL) {
    ck_http_respond_status(req, 404);
    return;
  }
  ck__val_usage_note_crl(v, cr, delta, ck_http_req_peer(req));
  pthread_mutex_lock(&v->mu);
  der = delta ? cr->delta : cr->crl;
  len = delta ? cr->delta_len : cr->crl_len;
  t_this = delta ? cr->delta_this : cr->crl_this;
  t_next = delta ? cr->delta_next : cr->crl_next;
  number = delta ? cr->delta_number : cr->crl_number;
  if (der == NULL) {
    pthread_mutex_unlock(&v->mu);
    ck_http_add_header(req, "Retry-After", "5");
    ck_http_respond_status(req, 503);
    return;
  }
  snprintf(etag, sizeof etag, "\"crl-%llu\"", (unsigned long long)number);
  cache_headers(req, t_this, t_next, etag);
  if (not_modified(req, etag))
    ck_http_respond(req, 304, NULL, NULL, 0);
  else
    ck_http_respond(req, 200, "application/pkix-crl", der, len); /* copies */
  pthread_mutex_unlock(&v->mu);
}

ck_err ck_validation_register(ck_validation *v, ck_http_server *srv, ck_errctx *err) {
  ck_http_route r;
  ck_err rc;

  memset(&r, 0, sizeof r);
  r.methods = CK_HTTP_GET | CK_HTTP_POST;
  r.path = "/ocsp";
  r.handler = ocsp_post;
  r.arg = v;
  r.max_body_bytes = CK_OCSP_REQUEST_MAX;
  if ((rc = ck_http_server_add_route(srv, &r, err)) != CK_OK)
    return rc;
  r.path = "/ocsp/";
  r.prefix = 1;
  r.handler = ocsp_get;
  if ((rc = ck_http_server_add_route(srv, &r, err)) != CK_OK)
    return rc;
  return ck_http_server_route_prefix(srv, CK_HTTP_GET, "/crl/", crl_get, v, err);
}
