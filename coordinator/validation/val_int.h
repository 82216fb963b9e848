/* val_int.h — what validation.c (lifecycle, responders, CRLs) and
 * val_http.c (the OCSP and CRL endpoints, the response cache) share. Not
 * for use outside coordinator/validation/. */
#ifndef CK_COORD_VALIDATION_VAL_INT_H
#define CK_COORD_VALIDATION_VAL_INT_H

#include <pthread.h>
#include <stdint.h>
#include <uv.h>

#include "common/crypto/ocsp.h"
#include "coordinator/ca/ca.h"
#include "coordinator/validation/validation.h"

#define VAL_SERIAL_MAX 64 /* bytes of a serial in a cache key */
#define VAL_NETS CK_VALIDATION_NETS /* client networks kept per counter */

/* Analytics (val_usage.c): fetches, first/last seen and the asking client
 * networks (/24 IPv4, /48 IPv6) — the first VAL_NETS distinct ones, later
 * ones counted in other. Guarded by v->use_mu. */
typedef struct val_net {
  uint64_t count;
  uint8_t fam;     /* 4, 6; 0 = free slot */
  uint8_t addr[6]; /* the /24 (3 bytes) or /48 (6 bytes) prefix */
} val_net;

typedef struct val_use {
  uint64_t count, other;
  int64_t first, last;
  val_net nets[VAL_NETS];
} val_use;

/* One certificate (CA, serial) asked about over OCSP; in a hash chain and
 * on the LRU list (head = most recently asked). */
typedef struct val_track {
  struct val_track *hnext, *prev, *next;
  uint32_t ca;
  uint8_t serial_len;
  uint8_t serial[VAL_SERIAL_MAX];
  val_use use;
} val_track;

/* A delegated responder, reference-counted under v->mu so a rotation never
 * frees one a pool thread is signing with. */
typedef struct val_responder {
  int refs;
  ck_key *key;
  ck_cert *cert;
  ck_ocsp_responder *r;
  int64_t not_after;
} val_responder;

/* One published CRL pair (full + delta): the whole CA's, or one shard's
 * ([validation] crl_shards > 1). Fields marked (mu) are guarded by v->mu;
 * (loop) are loop-only; (use_mu) by v->use_mu. */
typedef struct val_crl {
  int shard;                  /* -1: every revocation of the CA; else k */
  char name[96];              /* URL name: "<ca>" or "<ca>-s<k>" */
  char *idp;                  /* shards: the CDP URL put in the CRL's
                                 issuingDistributionPoint; NULL else */
  uint8_t *crl;        /* (mu) DER of the current full CRL, NULL before */
  size_t crl_len;      /* (mu) */
  int64_t crl_this, crl_next; /* (mu) */
  uint64_t crl_number;        /* (mu) */
  int crl_want;               /* (mu) a revocation asked for a new CRL */
  int64_t full_max_id;        /* (mu) last revocation id in the full CRL */
  uint8_t *delta;             /* (mu) the delta CRL on top of crl_number */
  size_t delta_len;           /* (mu) */
  int64_t delta_this, delta_next; /* (mu) */
  uint64_t delta_number;      /* (mu) */
  int delta_want;             /* (mu) */
  int crl_busy, delta_busy;   /* (loop) a job is on the pool */
  int64_t crl_retry_at;       /* (loop) after a failure */
  int64_t delta_retry_at;     /* (loop) */
  val_use crl_use, delta_use; /* (use_mu) downloads */
} val_crl;

/* Per CA. Fields marked (mu) are guarded by v->mu; (loop) are loop-only. */
typedef struct val_ca {
  const ck_ca *ca;
  uint8_t name1[CK_SHA256_LEN], key1[CK_SHA256_LEN]; /* CertID SHA-1 (20 used) */
  uint8_t name256[CK_SHA256_LEN], key256[CK_SHA256_LEN]; /* CertID SHA-256 */
  val_responder *resp; /* (mu) */
  int resp_busy;              /* (loop) */
  int64_t resp_retry_at;      /* (loop) */
  val_crl *crls;              /* [0] the whole CA; [1 + k] shard k */
  size_t n_crls;              /* 1 + shards when crl_shards > 1, else 1 */
} val_ca;

/* One cached, signed OCSP answer. */
typedef struct val_entry {
  struct val_entry *next;
  uint32_t ca;
  uint8_t hash; /* ck_ocsp_hash */
  uint8_t serial_len;
  uint8_t serial[VAL_SERIAL_MAX];
  int64_t this_update, next_update, refresh_at;
  char etag[24];
  uint8_t *der;
  size_t len;
} val_entry;

struct ck_validation {
  ck_coord_rt *rt;
  pthread_mutex_t mu;       /* responders, CRL buffers, crl_want */
  pthread_rwlock_t cache_mu; /* the OCSP cache below */
  val_entry **buckets;
  size_t n_buckets;         /* power of two; 0 = no cache */
  size_t n_entries, max_entries;
  uint64_t gen;             /* (cache_mu) bumped by each revocation */
  val_ca *cas;
  size_t n_cas;
  uv_timer_t timer;
  uv_async_t wake;
  int closing;
  int works; /* jobs on the pool */
  ck_validation_stats stats; /* updated with __atomic builtins */
  /* analytics (val_usage.c), all (use_mu) */
  pthread_mutex_t use_mu;
  val_track **use_buckets;
  size_t use_n_buckets;      /* power of two; 0 = analytics off */
  size_t use_n, use_max;
  uint64_t use_evicted;
  val_track *use_head, *use_tail;
  int64_t use_since;
};

/* validation.c */
val_responder *ck__val_responder_get(ck_validation *v, val_ca *c);
void ck__val_responder_put(ck_validation *v, val_responder *r);
/* Serial as a cache key: big-endian bytes without leading zero octets
 * (the stored hex form). From hex: the length, 0 when not hex or too
 * long. norm strips leading zeros in place and returns the new length. */
size_t ck__val_serial_key(const char *hex, uint8_t key[VAL_SERIAL_MAX]);
size_t ck__val_serial_norm(uint8_t *key, size_t n);
/* Finds the CA a CertID names, or NULL. */
val_ca *ck__val_find_issuer(ck_validation *v, const ck_ocsp_request *rq);

/* val_usage.c. init: sizes the table (max 0 = off); note_*: count one
 * fetch by the client at peer ("1.2.3.4:5", "[::1]:5"); loop thread,
 * O(1), no store access. */
ck_err ck__val_usage_init(ck_validation *v, size_t max, ck_errctx *err);
void ck__val_usage_free(ck_validation *v);
void ck__val_usage_note_ocsp(ck_validation *v, uint32_t ca, const uint8_t *serial,
                             size_t n, const char *peer);
void ck__val_usage_note_crl(ck_validation *v, val_crl *cr, int delta, const char *peer);

/* val_http.c */
void ck__val_cache_free(ck_validation *v);

#endif
