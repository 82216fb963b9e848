/* validation.c — lifecycle of the validation services (validation.h):
 * delegated OCSP responders (made at start, rotated by a timer), full and
 * delta CRLs (built on the thread pool from the revocations table a page at
 * a time, at start, after revocations and before nextUpdate), and the
 * wake-up that
 * turns a revocation on any thread into work scheduled on the loop. The
 * HTTP side and the response cache are in val_http.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto/crl.h"
#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/validation/val_int.h"

#define TICK_MS 1000
#define RETRY_SECS 30

/* ------------------------------------------------------------ responders */

static void responder_free(val_responder *r) {
  if (r == NULL)
    return;
  ck_ocsp_responder_free(r->r);
  ck_cert_free(r->cert);
  ck_key_free(r->key);
  free(r);
}

val_responder *ck__val_responder_get(ck_validation *v, val_ca *c) {
  val_responder *r;

  pthread_mutex_lock(&v->mu);
  r = c->resp;
  if (r != NULL)
    r->refs++;
  pthread_mutex_unlock(&v->mu);
  return r;
}

void ck__val_responder_put(ck_validation *v, val_responder *r) {
  int last;

  if (r == NULL)
    return;
  pthread_mutex_lock(&v->mu);
  last = --r->refs == 0;
  pthread_mutex_unlock(&v->mu);
  if (last)
    responder_free(r);
}

/* A fresh key and a certificate from c's CA: id-kp-OCSPSigning, ocsp-nocheck,
 * digitalSignature, valid responder_validity (within the CA's own life). */
static ck_err responder_make(ck_validation *v, val_ca *c, val_responder **out,
                             ck_errctx *err) {
  static const char *const eku[] = {"OCSPSigning"};
  const ck_cert_info *cai = ck_cert_get_info(c->ca->cert);
  uint8_t serial[CK_CERTGEN_SERIAL_LEN];
  char cn[128];
  ck_name_attr subj[2];
  ck_certgen_tmpl t;
  ck_key_spec spec = {CK_KEY_EC, 256};
  val_responder *r = calloc(1, sizeof *r);
  int64_t now = ck_clock_now();
  ck_err rc;

  if (r == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  r->refs = 1;
  if ((rc = ck_key_generate(&spec, &r->key, err)) != CK_OK ||
      (rc = ck_certgen_random_serial(serial)) != CK_OK)
    goto out;
  snprintf(cn, sizeof cn, "%s OCSP responder", c->ca->name);
  subj[0].type = "O";
  subj[0].value = "certkeeper";
  subj[1].type = "CN";
  subj[1].value = cn;
  memset(&t, 0, sizeof t);
  t.subject = subj;
  t.n_subject = 2;
  t.pubkey = r->key;
  t.serial = serial;
  t.serial_len = sizeof serial;
  t.not_before = now - v->rt->set.backdate;
  t.not_after = now + v->rt->set.val.responder_validity;
  if (t.not_after > cai->not_after)
    t.not_after = cai->not_after;
  t.path_len = -1;
  t.key_usage = CK_KU_DIGITAL_SIGNATURE;
  t.eku = eku;
  t.n_eku = 1;
  t.ocsp_nocheck = 1;
  if ((rc = ck_certgen_issue(c->ca->iss, &t, &r->cert, err)) != CK_OK ||
      (rc = ck_ocsp_responder_new(r->cert, r->key, &r->r, err)) != CK_OK)
    goto out;
  r->not_after = t.not_after;
  __atomic_fetch_add(&v->stats.responders_made, 1, __ATOMIC_RELAXED);
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "ocsp.responder.new", CK_S("ca", c->ca->name),
         CK_S("serial", ck_cert_get_info(r->cert)->serial_hex),
         CK_I("not_after", r->not_after));
  *out = r;
  r = NULL;
out:
  if (rc != CK_OK)
    ck_failf(err, rc, "OCSP responder for CA '%s'", c->ca->name);
  responder_free(r);
  return rc;
}

val_ca *ck__val_find_issuer(ck_validation *v, const ck_ocsp_request *rq) {
  size_t i;

  for (i = 0; i < v->n_cas; i++) {
    val_ca *c = &v->cas[i];
    if (rq->hash == CK_OCSP_HASH_SHA1 && rq->name_hash_len == CK_SHA1_LEN &&
        rq->key_hash_len == CK_SHA1_LEN &&
        memcmp(rq->name_hash, c->name1, CK_SHA1_LEN) == 0 &&
        memcmp(rq->key_hash, c->key1, CK_SHA1_LEN) == 0)
      return c;
    if (rq->hash == CK_OCSP_HASH_SHA256 && rq->name_hash_len == CK_SHA256_LEN &&
        rq->key_hash_len == CK_SHA256_LEN &&
        memcmp(rq->name_hash, c->name256, CK_SHA256_LEN) == 0 &&
        memcmp(rq->key_hash, c->key256, CK_SHA256_LEN) == 0)
      return c;
  }
  return NULL;
}

/* ------------------------------------------------------------------ CRLs */

/* 1 when the revocation of serial_hex belongs in cr (the whole CA's CRL,
 * or the shard the certificate's CDP names). */
static int in_crl(const ck_validation *v, const val_crl *cr, const char *serial_hex) {
  return cr->shard < 0 ||
         ck_crl_shard_of_hex(serial_hex, (unsigned)v->rt->set.val.crl_shards) == cr->shard;
}

/* Builds cr's full CRL (of CA c) from the store and installs it. Any
 * thread but the loop (it waits for the store). A shard reads every
 * revocation of the CA and keeps its own. */
static ck_err crl_build(ck_validation *v, val_ca *c, val_crl *cr, ck_errctx *err) {
  ck_store *s = v->rt->store;
  ck_store_write *w = NULL;
  ck_crl_builder *b = NULL;
  ck_arena *a = NULL;
  ck_store_revocation *items;
  ck_store_page pg;
  ck_crl_opts o;
  char cursor[128] = "";
  uint8_t *der = NULL, *old;
  size_t n, i, len = 0;
  int64_t t0 = ck_clock_now_ms(), max_id = 0;
  ck_err rc;

  if ((w = ck_store_write_new()) == NULL || (a = ck_arena_new(65536)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  if ((rc = ck_store_write_ca_crl_number(w, c->ca->id, err)) != CK_OK ||
      (rc = ck_store_submit_wait(s, w, err)) != CK_OK)
    goto out;
  memset(&o, 0, sizeof o);
  o.number = (uint64_t)ck_store_write_result(w, 0);
  o.this_update = ck_clock_now() - v->rt->set.backdate;
  o.next_update = ck_clock_now() + v->rt->set.val.crl_validity;
  o.idp_url = cr->idp;
  if ((rc = ck_crl_builder_new(c->ca->iss, &o, &b, err)) != CK_OK)
    goto out;
  do {
    memset(&pg, 0, sizeof pg);
    pg.limit = CK_STORE_PAGE_MAX;
    pg.cursor = cursor[0] != '\0' ? cursor : NULL;
    ck_arena_reset(a);
    if ((rc = ck_store_revocation_list(s, c->ca->id, &pg, a, &items, &n, err)) != CK_OK)
      goto out;
    for (i = 0; i < n; i++) {
      if (in_crl(v, cr, items[i].serial_hex) &&
          (rc = ck_crl_builder_add_hex(b, items[i].serial_hex, items[i].revoked_at,
                                       items[i].reason, err)) != CK_OK)
        goto out;
      if (items[i].id > max_id)
        max_id = items[i].id;
    }
    if (pg.next_cursor != NULL &&
        ck_strlcpy(cursor, pg.next_cursor, sizeof cursor) >= sizeof cursor) {
      rc = ck_failf(err, CK_ERR_INTERNAL, "revocation cursor too long");
      goto out;
    }
  } while (pg.next_cursor != NULL);
  n = ck_crl_builder_count(b);
  if ((rc = ck_crl_builder_finish(b, &der, &len, err)) != CK_OK)
    goto out;
  pthread_mutex_lock(&v->mu);
  old = cr->crl;
  cr->crl = der;
  cr->crl_len = len;
  cr->crl_this = o.this_update;
  cr->crl_next = o.next_update;
  cr->crl_number = o.number;
  cr->full_max_id = max_id;
  cr->delta_want = 1; /* the delta must now sit on this base */
  pthread_mutex_unlock(&v->mu);
  free(old);
  der = NULL;
  __atomic_fetch_add(&v->stats.crl_generated, 1, __ATOMIC_RELAXED);
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "crl.generated", CK_S("ca", c->ca->name),
         CK_S("crl", cr->name),
         CK_I("number", (int64_t)o.number), CK_I("entries", (int64_t)n),
         CK_I("bytes", (int64_t)len), CK_I("ms", ck_clock_now_ms() - t0));
out:
  if (rc != CK_OK)
    ck_failf(err, rc, "CRL '%s' of CA '%s'", cr->name, c->ca->name);
  free(der);
  ck_crl_builder_free(b);
  ck_arena_free(a);
  ck_store_write_free(w);
  return rc;
}

/* Builds c's delta CRL (RFC 5280 5.2.4): the revocations after those in
 * the current full CRL, so a revocation is published in milliseconds while
 * a large full CRL is still being rebuilt. The store lists revocations by
 * id and its cursor is the last id seen, so the read starts right after
 * the base. Discarded (and asked again) when the base changed meanwhile. */
static ck_err delta_build(ck_validation *v, val_ca *c, val_crl *cr, ck_errctx *err) {
  ck_store *s = v->rt->store;
  ck_store_write *w = NULL;
  ck_crl_builder *b = NULL;
  ck_arena *a = NULL;
  ck_store_revocation *items;
  ck_store_page pg;
  ck_crl_opts o;
  char cursor[128];
  uint8_t *der = NULL, *old = NULL;
  size_t n, i, len = 0;
  uint64_t base;
  int64_t after;
  int paged = 0;
  ck_err rc;

  pthread_mutex_lock(&v->mu);
  base = cr->crl_number;
  after = cr->full_max_id;
  pthread_mutex_unlock(&v->mu);
  if (base == 0)
    return CK_OK; /* no full CRL yet */
  if ((w = ck_store_write_new()) == NULL || (a = ck_arena_new(65536)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  if ((rc = ck_store_write_ca_crl_number(w, c->ca->id, err)) != CK_OK ||
      (rc = ck_store_submit_wait(s, w, err)) != CK_OK)
    goto out;
  memset(&o, 0, sizeof o);
  o.number = (uint64_t)ck_store_write_result(w, 0);
  o.delta_base = base;
  o.this_update = ck_clock_now() - v->rt->set.backdate;
  o.next_update = ck_clock_now() + v->rt->set.val.crl_validity;
  o.idp_url = cr->idp; /* the base's scope (RFC 5280 5.2.4) */
  if ((rc = ck_crl_builder_new(c->ca->iss, &o, &b, err)) != CK_OK)
    goto out;
  snprintf(cursor, sizeof cursor, "%lld", (long long)after);
  do {
    memset(&pg, 0, sizeof pg);
    pg.limit = CK_STORE_PAGE_MAX;
    pg.cursor = after > 0 || paged ? cursor : NULL;
    ck_arena_reset(a);
    if ((rc = ck_store_revocation_list(s, c->ca->id, &pg, a, &items, &n, err)) != CK_OK)
      goto out;
    for (i = 0; i < n; i++)
      if (items[i].id > after && in_crl(v, cr, items[i].serial_hex) &&
          (rc = ck_crl_builder_add_hex(b, items[i].serial_hex, items[i].revoked_at,
                                       items[i].reason, err)) != CK_OK)
        goto out;
    if (pg.next_cursor != NULL) {
      if (ck_strlcpy(cursor, pg.next_cursor, sizeof cursor) >= sizeof cursor) {
        rc = ck_failf(err, CK_ERR_INTERNAL, "revocation cursor too long");
        goto out;
      }
      paged = 1;
    }
  } while (pg.next_cursor != NULL);
  n = ck_crl_builder_count(b);
  if ((rc = ck_crl_builder_finish(b, &der, &len, err)) != CK_OK)
    goto out;
  pthread_mutex_lock(&v->mu);
  if (cr->crl_number == base) {
    old = cr->delta;
    cr->delta = der;
    cr->delta_len = len;
    cr->delta_this = o.this_update;
    cr->delta_next = o.next_update;
    cr->delta_number = o.number;
    der = NULL;
  } else {
    cr->delta_want = 1; /* a new full CRL arrived: build on it */
  }
  pthread_mutex_unlock(&v->mu);
  free(old);
  if (der == NULL)
    ck_log(CK_LOG_OPS, CK_LOG_INFO, "crl.delta.generated", CK_S("ca", c->ca->name),
           CK_S("crl", cr->name),
           CK_I("number", (int64_t)o.number), CK_I("base", (int64_t)base),
           CK_I("entries", (int64_t)n));
out:
  if (rc != CK_OK)
    ck_failf(err, rc, "delta CRL '%s' of CA '%s'", cr->name, c->ca->name);
  free(der);
  ck_crl_builder_free(b);
  ck_arena_free(a);
  ck_store_write_free(w);
  return rc;
}

/* ------------------------------------------------------------ pool jobs */

typedef enum { JOB_CRL, JOB_DELTA, JOB_RESPONDER } job_kind;

typedef struct job {
  uv_work_t work;
  ck_validation *v;
  val_ca *c;
  val_crl *cr; /* JOB_CRL, JOB_DELTA */
  job_kind kind;
  ck_err rc;
  ck_errctx err;
  val_responder *resp; /* JOB_RESPONDER result */
} job;

static void job_run(uv_work_t *wk) {
  job *j = wk->data;

  if (j->kind == JOB_CRL)
    j->rc = crl_build(j->v, j->c, j->cr, &j->err);
  else if (j->kind == JOB_DELTA)
    j->rc = delta_build(j->v, j->c, j->cr, &j->err);
  else
    j->rc = responder_make(j->v, j->c, &j->resp, &j->err);
}

static void schedule(ck_validation *v);

static void job_done(uv_work_t *wk, int status) {
  job *j = wk->data;
  ck_validation *v = j->v;
  val_ca *c = j->c;
  val_crl *cr = j->cr;
  val_responder *old = NULL;

  (void)status;
  v->works--;
  if (j->kind == JOB_CRL) {
    cr->crl_busy = 0;
    if (j->rc != CK_OK) {
      cr->crl_retry_at = ck_clock_now() + RETRY_SECS;
      ck_log(CK_LOG_OPS, CK_LOG_ERR, "crl.failed", CK_S("ca", c->ca->name),
             CK_E(j->rc, ck_errctx_msg(&j->err)));
    }
  } else if (j->kind == JOB_DELTA) {
    cr->delta_busy = 0;
    if (j->rc != CK_OK) {
      cr->delta_retry_at = ck_clock_now() + RETRY_SECS;
      ck_log(CK_LOG_OPS, CK_LOG_ERR, "crl.delta.failed", CK_S("ca", c->ca->name),
             CK_E(j->rc, ck_errctx_msg(&j->err)));
    }
  } else {
    c->resp_busy = 0;
    if (j->rc == CK_OK) {
      pthread_mutex_lock(&v->mu);
      old = c->resp;
      c->resp = j->resp;
      pthread_mutex_unlock(&v->mu);
      ck__val_responder_put(v, old);
    } else {
      c->resp_retry_at = ck_clock_now() + RETRY_SECS;
      ck_log(CK_LOG_OPS, CK_LOG_ERR, "ocsp.responder.failed", CK_S("ca", c->ca->name),
             CK_E(j->rc, ck_errctx_msg(&j->err)));
    }
  }
  free(j);
  if (!v->closing)
    schedule(v);
}

static void start_job(ck_validation *v, val_ca *c, val_crl *cr, job_kind kind) {
  job *j = calloc(1, sizeof *j);

  if (j == NULL)
    return;
  j->v = v;
  j->c = c;
  j->cr = cr;
  j->kind = kind;
  j->work.data = j;
  if (uv_queue_work(v->rt->loop, &j->work, job_run, job_done) != 0) {
    free(j);
    return;
  }
  v->works++;
  if (kind == JOB_CRL) {
    cr->crl_busy = 1;
    pthread_mutex_lock(&v->mu);
    cr->crl_want = 0;
    pthread_mutex_unlock(&v->mu);
  } else if (kind == JOB_DELTA) {
    cr->delta_busy = 1;
    pthread_mutex_lock(&v->mu);
    cr->delta_want = 0;
    pthread_mutex_unlock(&v->mu);
  } else {
    c->resp_busy = 1;
  }
}

/* Starts what is due (loop thread). */
static void schedule(ck_validation *v) {
  int64_t now = ck_clock_now();
  size_t i, k;

  for (i = 0; i < v->n_cas; i++) {
    val_ca *c = &v->cas[i];
    int want, due, dwant, ddue;
    int64_t resp_end;
    for (k = 0; k < c->n_crls; k++) {
      val_crl *cr = &c->crls[k];
      pthread_mutex_lock(&v->mu);
      want = cr->crl_want;
      due = now >= cr->crl_this + (cr->crl_next - cr->crl_this) / 2;
      dwant = cr->delta_want;
      ddue = now >= cr->delta_this + (cr->delta_next - cr->delta_this) / 2;
      pthread_mutex_unlock(&v->mu);
      if (!cr->crl_busy && (want || due) && now >= cr->crl_retry_at)
        start_job(v, c, cr, JOB_CRL);
      if (!cr->delta_busy && (dwant || ddue) && now >= cr->delta_retry_at)
        start_job(v, c, cr, JOB_DELTA);
    }
    pthread_mutex_lock(&v->mu);
    resp_end = c->resp != NULL ? c->resp->not_after : 0;
    pthread_mutex_unlock(&v->mu);
    /* a responder already cut at the CA's own end is not replaced: a new
     * one could not live longer */
    if (!c->resp_busy && now >= c->resp_retry_at &&
        now >= resp_end - v->rt->set.val.responder_validity / 3 &&
        resp_end < ck_cert_get_info(c->ca->cert)->not_after)
      start_job(v, c, NULL, JOB_RESPONDER);
  }
}

static void on_tick(uv_timer_t *t) { schedule(t->data); }

static void on_wake(uv_async_t *a) { schedule(a->data); }

/* ------------------------------------------------------------ lifecycle */

/* c's CRLs: the whole CA's, then one per shard with its URL name and the
 * CDP URL certificates of that shard carry (its issuingDistributionPoint). */
static ck_err crls_init(ck_validation *v, val_ca *c, ck_errctx *err) {
  /* a self-signed root issues only CA certificates, whose CDP names its
   * whole CRL: no shards for it */
  size_t shards = v->rt->set.val.crl_shards > 1 && !ck_cert_get_info(c->ca->cert)->self_signed
                      ? (size_t)v->rt->set.val.crl_shards
                      : 0;
  size_t k, len;

  c->crls = calloc(1 + shards, sizeof *c->crls);
  if (c->crls == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  c->n_crls = 1 + shards;
  c->crls[0].shard = -1;
  ck_strlcpy(c->crls[0].name, c->ca->name, sizeof c->crls[0].name);
  for (k = 0; k < shards; k++) {
    val_crl *cr = &c->crls[1 + k];
    cr->shard = (int)k;
    snprintf(cr->name, sizeof cr->name, "%s-s%zu", c->ca->name, k);
    len = strlen(v->rt->set.public_http) + strlen(cr->name) + 16;
    if ((cr->idp = malloc(len)) == NULL)
      return ck_failf(err, CK_ERR_NOMEM, "out of memory");
    /* the same string ca.c puts in the CDP */
    snprintf(cr->idp, len, "%s/crl/%s.crl", v->rt->set.public_http, cr->name);
  }
  return CK_OK;
}

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

size_t ck__val_serial_key(const char *hex, uint8_t key[VAL_SERIAL_MAX]) {
  size_t len = hex != NULL ? strlen(hex) : 0, n = 0, i = 0;
  int hi, lo;

  if (len == 0 || (len + 1) / 2 > VAL_SERIAL_MAX)
    return 0;
  if (len % 2 == 1) {
    if ((lo = hexval(hex[0])) < 0)
      return 0;
    key[n++] = (uint8_t)lo;
    i = 1;
  }
  for (; i < len; i += 2) {
    hi = hexval(hex[i]);
    lo = hexval(hex[i + 1]);
    if (hi < 0 || lo < 0)
      return 0;
    key[n++] = (uint8_t)(hi << 4 | lo);
  }
  return ck__val_serial_norm(key, n);
}

size_t ck__val_serial_norm(uint8_t *key, size_t n) {
  size_t k = 0;

  while (n - k > 1 && key[k] == 0)
    k++;
  if (k > 0)
    memmove(key, key + k, n - k);
  return n - k;
}

void ck_validation_revoked(ck_validation *v, int64_t ca_id, const char *serial_hex) {
  uint8_t key[VAL_SERIAL_MAX];
  size_t i, n;
  uint32_t ci = UINT32_MAX;

  if (v == NULL)
    return;
  for (i = 0; i < v->n_cas; i++)
    if (v->cas[i].ca->id == ca_id)
      ci = (uint32_t)i;
  if (ci == UINT32_MAX)
    return;
  n = ck__val_serial_key(serial_hex, key);
  if (n == 0)
    return;
  /* drop the cached answers about this serial, then make later
   * store reads win over answers signed from reads made before now */
  pthread_rwlock_wrlock(&v->cache_mu);
  v->gen++;
  if (v->n_buckets > 0) {
    for (i = 0; i < v->n_buckets; i++) {
      val_entry **pp = &v->buckets[i];
      while (*pp != NULL) {
        val_entry *e = *pp;
        if (e->ca == ci && e->serial_len == n && memcmp(e->serial, key, n) == 0) {
          *pp = e->next;
          free(e->der);
          free(e);
          v->n_entries--;
        } else {
          pp = &e->next;
        }
      }
    }
  }
  pthread_rwlock_unlock(&v->cache_mu);
  pthread_mutex_lock(&v->mu);
  for (i = 0; i < v->cas[ci].n_crls; i++) {
    val_crl *cr = &v->cas[ci].crls[i];
    if (!in_crl(v, cr, serial_hex))
      continue;
    if (v->rt->set.val.crl_rebuild_on_revoke)
      cr->crl_want = 1;
    cr->delta_want = 1;
  }
  pthread_mutex_unlock(&v->mu);
  /* REST calls may still finish while the coordinator shuts down: never
   * touch the wake-up handle once it is closing */
  if (!__atomic_load_n(&v->closing, __ATOMIC_ACQUIRE))
    uv_async_send(&v->wake);
}

void ck_validation_get_stats(ck_validation *v, ck_validation_stats *out) {
  out->ocsp_requests = __atomic_load_n(&v->stats.ocsp_requests, __ATOMIC_RELAXED);
  out->ocsp_cache_hits = __atomic_load_n(&v->stats.ocsp_cache_hits, __ATOMIC_RELAXED);
  out->ocsp_signed = __atomic_load_n(&v->stats.ocsp_signed, __ATOMIC_RELAXED);
  out->crl_generated = __atomic_load_n(&v->stats.crl_generated, __ATOMIC_RELAXED);
  out->responders_made = __atomic_load_n(&v->stats.responders_made, __ATOMIC_RELAXED);
}

ck_err ck_validation_new(ck_coord_rt *rt, ck_validation **out, ck_errctx *err) {
  ck_validation *v = calloc(1, sizeof *v);
  size_t i, k, n = 0, len;
  ck_err rc = CK_OK;

  if (v == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  v->rt = rt;
  pthread_mutex_init(&v->mu, NULL);
  pthread_rwlock_init(&v->cache_mu, NULL);
  if ((rc = ck__val_usage_init(v, (size_t)rt->set.val.analytics_certs, err)) != CK_OK)
    goto out;
  v->cas = calloc(ck_ca_set_count(rt->cas) + 1, sizeof *v->cas);
  if (v->cas == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  v->max_entries = (size_t)rt->set.val.ocsp_cache_entries;
  if (v->max_entries > 0) {
    v->n_buckets = 1024;
    while (v->n_buckets < v->max_entries / 2 && v->n_buckets < (1u << 22))
      v->n_buckets <<= 1;
    v->buckets = calloc(v->n_buckets, sizeof *v->buckets);
    if (v->buckets == NULL) {
      rc = ck_failf(err, CK_ERR_NOMEM, "out of memory (OCSP cache)");
      goto out;
    }
  }
  for (i = 0; i < ck_ca_set_count(rt->cas); i++) {
    const ck_ca *ca = ck_ca_set_at(rt->cas, i);
    val_ca *c;
    if (ca->iss == NULL) /* no key here: nothing to sign with */
      continue;
    c = &v->cas[n];
    c->ca = ca;
    if ((rc = ck_ocsp_issuer_hashes(ca->cert, CK_OCSP_HASH_SHA1, c->name1, c->key1, &len,
                                    err)) != CK_OK ||
        (rc = ck_ocsp_issuer_hashes(ca->cert, CK_OCSP_HASH_SHA256, c->name256, c->key256,
                                    &len, err)) != CK_OK)
      goto out;
    n++;
    v->n_cas = n;
    if ((rc = crls_init(v, c, err)) != CK_OK ||
        (rc = responder_make(v, c, &c->resp, err)) != CK_OK)
      goto out;
    for (k = 0; k < c->n_crls; k++) {
      if ((rc = crl_build(v, c, &c->crls[k], err)) != CK_OK ||
          (rc = delta_build(v, c, &c->crls[k], err)) != CK_OK)
        goto out;
      c->crls[k].delta_want = 0;
    }
  }
  uv_timer_init(rt->loop, &v->timer);
  uv_async_init(rt->loop, &v->wake, on_wake);
  v->timer.data = v;
  v->wake.data = v;
  uv_timer_start(&v->timer, on_tick, TICK_MS, TICK_MS);
  *out = v;
  v = NULL;
out:
  ck_validation_free(v);
  return rc;
}

void ck_validation_close(ck_validation *v) {
  if (v == NULL || v->closing)
    return;
  __atomic_store_n(&v->closing, 1, __ATOMIC_RELEASE);
  uv_timer_stop(&v->timer);
  uv_close((uv_handle_t *)&v->timer, NULL);
  uv_close((uv_handle_t *)&v->wake, NULL);
}

void ck_validation_free(ck_validation *v) {
  size_t i;

  if (v == NULL)
    return;
  /* after a forced stop (shutdown_grace) a CRL build may still run on the
   * pool: let it come back before freeing what it uses */
  while (v->works > 0)
    uv_run(v->rt->loop, UV_RUN_ONCE);
  for (i = 0; i < v->n_cas; i++) {
    size_t k;
    ck__val_responder_put(v, v->cas[i].resp);
    for (k = 0; k < v->cas[i].n_crls && v->cas[i].crls != NULL; k++) {
      free(v->cas[i].crls[k].crl);
      free(v->cas[i].crls[k].delta);
      free(v->cas[i].crls[k].idp);
    }
    free(v->cas[i].crls);
  }
  ck__val_cache_free(v);
  ck__val_usage_free(v);
  free(v->cas);
  pthread_rwlock_destroy(&v->cache_mu);
  pthread_mutex_destroy(&v->mu);
  free(v);
}
