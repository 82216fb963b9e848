/* val_usage.c — validation analytics (validation.h): per certificate, how
 * often its status is fetched over OCSP, first/last seen and the client
 * networks that asked; per CA, the same for its CRL downloads.
 *
 * Everything is in memory: counting happens on the loop thread inside the
 * OCSP/CRL handlers (a hash lookup and a few stores under an uncontended
 * mutex; no allocation once the table is full, no store access). The table
 * holds at most use_max certificates; when full, the least recently asked
 * one is dropped and its slot reused. Each counter keeps the first
 * VAL_NETS distinct client networks; fetches from others add to `other`. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/mem.h"
#include "coordinator/validation/val_int.h"

/* ------------------------------------------------------------- networks */

/* Peer "a.b.c.d:port" or "[v6]:port" -> family and prefix bytes. 0 on
 * success. */
static int peer_net(const char *peer, uint8_t *fam, uint8_t addr[6]) {
  char buf[64];
  const char *end;
  size_t n;
  uint8_t raw[16];

  if (peer == NULL)
    return -1;
  if (peer[0] == '[') {
    peer++;
    end = strchr(peer, ']');
  } else {
    end = strrchr(peer, ':');
  }
  n = end != NULL ? (size_t)(end - peer) : strlen(peer);
  if (n == 0 || n >= sizeof buf)
    return -1;
  memcpy(buf, peer, n);
  buf[n] = '\0';
  if (inet_pton(AF_INET, buf, raw) == 1) {
    *fam = 4;
    memset(addr, 0, 6);
    memcpy(addr, raw, 3);
    return 0;
  }
  if (inet_pton(AF_INET6, buf, raw) == 1) {
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(raw, mapped, sizeof mapped) == 0) { /* ::ffff:a.b.c.d */
      *fam = 4;
      memset(addr, 0, 6);
      memcpy(addr, raw + 12, 3);
      return 0;
    }
    *fam = 6;
    memcpy(addr, raw, 6);
    return 0;
  }
  return -1;
}

static void use_note(val_use *u, int64_t now, int have_net, uint8_t fam,
                     const uint8_t addr[6]) {
  size_t i;

  if (u->count++ == 0)
    u->first = now;
  u->last = now;
  if (!have_net) {
    u->other++;
    return;
  }
  for (i = 0; i < VAL_NETS; i++) {
    val_net *nt = &u->nets[i];
    if (nt->fam == 0) {
      nt->fam = fam;
      memcpy(nt->addr, addr, 6);
      nt->count = 1;
      return;
    }
    if (nt->fam == fam && memcmp(nt->addr, addr, 6) == 0) {
      nt->count++;
      return;
    }
  }
  u->other++;
}

static void net_text(const val_net *nt, char *out, size_t len) {
  char ip[INET6_ADDRSTRLEN];
  uint8_t raw[16];

  memset(raw, 0, sizeof raw);
  if (nt->fam == 4) {
    memcpy(raw, nt->addr, 3);
    if (inet_ntop(AF_INET, raw, ip, sizeof ip) == NULL)
      ck_strlcpy(ip, "?", sizeof ip);
    snprintf(out, len, "%s/24", ip);
  } else {
    memcpy(raw, nt->addr, 6);
    if (inet_ntop(AF_INET6, raw, ip, sizeof ip) == NULL)
      ck_strlcpy(ip, "?", sizeof ip);
    snprintf(out, len, "%s/48", ip);
  }
}

/* Copies u out, networks by count, most first. */
static void use_export(const val_use *u, ck_validation_use *out) {
  size_t i, j;

  memset(out, 0, sizeof *out);
  out->fetches = u->count;
  out->first_seen = u->first;
  out->last_seen = u->last;
  out->other = u->other;
  for (i = 0; i < VAL_NETS && u->nets[i].fam != 0; i++) {
    ck_validation_net nt;
    nt.count = u->nets[i].count;
    net_text(&u->nets[i], nt.net, sizeof nt.net);
    for (j = out->n_nets; j > 0 && out->nets[j - 1].count < nt.count; j--)
      out->nets[j] = out->nets[j - 1];
    out->nets[j] = nt;
    out->n_nets++;
  }
}

/* ---------------------------------------------------------------- table */

static size_t use_bucket(const ck_validation *v, uint32_t ca, const uint8_t *serial,
                         size_t n) {
  uint64_t h = 14695981039346656037ull;
  size_t i;

  h = (h ^ ca) * 1099511628211ull;
  for (i = 0; i < n; i++)
    h = (h ^ serial[i]) * 1099511628211ull;
  return (size_t)(h ^ (h >> 31)) & (v->use_n_buckets - 1);
}

static val_track *use_find(ck_validation *v, uint32_t ca, const uint8_t *serial, size_t n) {
  val_track *t;

  for (t = v->use_buckets[use_bucket(v, ca, serial, n)]; t != NULL; t = t->hnext)
    if (t->ca == ca && t->serial_len == n && memcmp(t->serial, serial, n) == 0)
      return t;
  return NULL;
}

static void lru_unlink(ck_validation *v, val_track *t) {
  if (t->prev != NULL)
    t->prev->next = t->next;
  else
    v->use_head = t->next;
  if (t->next != NULL)
    t->next->prev = t->prev;
  else
    v->use_tail = t->prev;
  t->prev = t->next = NULL;
}

static void lru_front(ck_validation *v, val_track *t) {
  t->prev = NULL;
  t->next = v->use_head;
  if (v->use_head != NULL)
    v->use_head->prev = t;
  v->use_head = t;
  if (v->use_tail == NULL)
    v->use_tail = t;
}

static void hash_unlink(ck_validation *v, val_track *t) {
  val_track **pp = &v->use_buckets[use_bucket(v, t->ca, t->serial, t->serial_len)];

  for (; *pp != NULL; pp = &(*pp)->hnext)
    if (*pp == t) {
      *pp = t->hnext;
      return;
    }
}

ck_err ck__val_usage_init(ck_validation *v, size_t max, ck_errctx *err) {
  pthread_mutex_init(&v->use_mu, NULL);
  v->use_since = ck_clock_now();
  v->use_max = max;
  if (max == 0)
    return CK_OK;
  v->use_n_buckets = 1024;
  while (v->use_n_buckets < max && v->use_n_buckets < (1u << 22))
    v->use_n_buckets <<= 1;
  v->use_buckets = calloc(v->use_n_buckets, sizeof *v->use_buckets);
  if (v->use_buckets == NULL) {
    v->use_n_buckets = 0;
    return ck_failf(err, CK_ERR_NOMEM, "out of memory (validation analytics)");
  }
  return CK_OK;
}

void ck__val_usage_free(ck_validation *v) {
  val_track *t, *next;

  for (t = v->use_head; t != NULL; t = next) {
    next = t->next;
    free(t);
  }
  v->use_head = v->use_tail = NULL;
  free(v->use_buckets);
  v->use_buckets = NULL;
  v->use_n_buckets = 0;
  pthread_mutex_destroy(&v->use_mu);
}

void ck__val_usage_note_ocsp(ck_validation *v, uint32_t ca, const uint8_t *serial,
                             size_t n, const char *peer) {
  uint8_t fam = 0, addr[6];
  int have = peer_net(peer, &fam, addr) == 0;
  int64_t now = ck_clock_now();
  val_track *t;
  size_t b;

  if (v->use_n_buckets == 0 || n == 0 || n > VAL_SERIAL_MAX)
    return;
  pthread_mutex_lock(&v->use_mu);
  t = use_find(v, ca, serial, n);
  if (t != NULL) {
    if (t != v->use_head) {
      lru_unlink(v, t);
      lru_front(v, t);
    }
  } else {
    if (v->use_n >= v->use_max && v->use_tail != NULL) { /* reuse the oldest */
      t = v->use_tail;
      lru_unlink(v, t);
      hash_unlink(v, t);
      v->use_n--;
      v->use_evicted++;
    } else if ((t = malloc(sizeof *t)) == NULL) {
      pthread_mutex_unlock(&v->use_mu);
      return;
    }
    memset(t, 0, sizeof *t);
    t->ca = ca;
    t->serial_len = (uint8_t)n;
    memcpy(t->serial, serial, n);
    b = use_bucket(v, ca, serial, n);
    t->hnext = v->use_buckets[b];
    v->use_buckets[b] = t;
    lru_front(v, t);
    v->use_n++;
  }
  use_note(&t->use, now, have, fam, addr);
  pthread_mutex_unlock(&v->use_mu);
}

void ck__val_usage_note_crl(ck_validation *v, val_crl *cr, int delta, const char *peer) {
  uint8_t fam = 0, addr[6];
  int have = peer_net(peer, &fam, addr) == 0;
  int64_t now = ck_clock_now();

  pthread_mutex_lock(&v->use_mu);
  use_note(delta ? &cr->delta_use : &cr->crl_use, now, have, fam, addr);
  pthread_mutex_unlock(&v->use_mu);
}

/* ---------------------------------------------------------------- query */

static val_ca *ca_by_id(ck_validation *v, int64_t ca_id) {
  size_t i;

  for (i = 0; i < v->n_cas; i++)
    if (v->cas[i].ca->id == ca_id)
      return &v->cas[i];
  return NULL;
}

static void track_export(ck_validation *v, const val_track *t, ck_validation_cert_use *out) {
  memset(out, 0, sizeof *out);
  out->ca = t->ca < v->n_cas ? v->cas[t->ca].ca->name : "?";
  if (ck_crypto_hex(t->serial, t->serial_len, 0, out->serial_hex, sizeof out->serial_hex) !=
      CK_OK)
    out->serial_hex[0] = '\0';
  use_export(&t->use, &out->ocsp);
}

ck_err ck_validation_cert_usage(ck_validation *v, int64_t ca_id, const char *serial_hex,
                                ck_validation_cert_use *out, ck_errctx *err) {
  uint8_t key[VAL_SERIAL_MAX];
  val_ca *c = v != NULL ? ca_by_id(v, ca_id) : NULL;
  val_track *t;
  size_t n;

  memset(out, 0, sizeof *out);
  if (c == NULL)
    return ck_failf(err, CK_ERR_NOT_FOUND, "no validation service for this CA");
  out->ca = c->ca->name;
  n = ck__val_serial_key(serial_hex, key);
  if (n == 0)
    return ck_failf(err, CK_ERR_INVAL, "serial '%.40s' is not hex", serial_hex);
  if (ck_crypto_hex(key, n, 0, out->serial_hex, sizeof out->serial_hex) != CK_OK)
    out->serial_hex[0] = '\0';
  if (v->use_n_buckets == 0)
    return CK_OK;
  pthread_mutex_lock(&v->use_mu);
  t = use_find(v, (uint32_t)(c - v->cas), key, n);
  if (t != NULL)
    use_export(&t->use, &out->ocsp);
  pthread_mutex_unlock(&v->use_mu);
  return CK_OK;
}

ck_err ck_validation_crl_usage(ck_validation *v, int64_t ca_id, int shard, int delta,
                               ck_validation_use *out, const char **name, ck_errctx *err) {
  val_ca *c = v != NULL ? ca_by_id(v, ca_id) : NULL;
  size_t k = shard < 0 ? 0 : (size_t)shard + 1;
  val_crl *cr;

  memset(out, 0, sizeof *out);
  if (c == NULL)
    return ck_failf(err, CK_ERR_NOT_FOUND, "no validation service for this CA");
  if (k >= c->n_crls)
    return ck_failf(err, CK_ERR_NOT_FOUND, "CA '%s' has no CRL shard %d", c->ca->name, shard);
  cr = &c->crls[k];
  if (name != NULL)
    *name = cr->name;
  pthread_mutex_lock(&v->use_mu);
  use_export(delta ? &cr->delta_use : &cr->crl_use, out);
  pthread_mutex_unlock(&v->use_mu);
  return CK_OK;
}

size_t ck_validation_crl_shards(ck_validation *v, int64_t ca_id) {
  val_ca *c = v != NULL ? ca_by_id(v, ca_id) : NULL;

  return c != NULL && c->n_crls > 1 ? c->n_crls - 1 : 0;
}

const char *ck_validation_ca_at(ck_validation *v, size_t i, int64_t *ca_id) {
  if (v == NULL || i >= v->n_cas)
    return NULL;
  if (ca_id != NULL)
    *ca_id = v->cas[i].ca->id;
  return v->cas[i].ca->name;
}

/* 1 when a ranks before b. */
static int ranks_before(const val_track *a, const val_track *b, int least) {
  if (a->use.count != b->use.count)
    return least ? a->use.count < b->use.count : a->use.count > b->use.count;
  return least ? a->use.last < b->use.last : a->use.last > b->use.last;
}

size_t ck_validation_top(ck_validation *v, int least, size_t max,
                         ck_validation_cert_use *out, ck_validation_usage_info *info) {
  const val_track **best = NULL;
  const val_track *t;
  size_t n = 0, i, j;

  if (info != NULL)
    memset(info, 0, sizeof *info);
  if (v == NULL)
    return 0;
  if (max > 0 && (best = calloc(max, sizeof *best)) == NULL)
    max = 0;
  pthread_mutex_lock(&v->use_mu);
  if (info != NULL) {
    info->since = v->use_since;
    info->tracked = v->use_n;
    info->capacity = v->use_max;
    info->evicted = v->use_evicted;
  }
  /* one pass, insertion into a sorted array of at most max */
  for (t = v->use_head; t != NULL && max > 0; t = t->next) {
    if (n == max && !ranks_before(t, best[n - 1], least))
      continue;
    j = n < max ? n++ : n - 1;
    for (; j > 0 && ranks_before(t, best[j - 1], least); j--)
      best[j] = best[j - 1];
    best[j] = t;
  }
  for (i = 0; i < n; i++)
    track_export(v, best[i], &out[i]);
  pthread_mutex_unlock(&v->use_mu);
  free(best);
  return n;
}
