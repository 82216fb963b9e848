/* validation.h — the coordinator's validation services: the OCSP responder
 * (RFC 6960 / RFC 5019) and CRLs (RFC 5280), served on the plain HTTP
 * listener (docs/validation.md):
 *   GET  /ocsp/<base64 request>   POST /ocsp      application/ocsp-response
 *   GET  /crl/<ca>.crl                            application/pkix-crl
 *
 * OCSP: each CA with a key here gets a delegated responder — a fresh P-256
 * key (memory only) and a certificate from that CA with id-kp-OCSPSigning
 * and id-pkix-ocsp-nocheck — so the CA key never signs per response. The
 * responder certificate is rotated at two thirds of its lifetime. Answers
 * are signed once and cached in memory (bounded): serving a request is a
 * parse and a hash lookup on the loop thread. An entry is re-signed when
 * half of its validity has passed; a revocation drops the entries of that
 * serial at once. Requests with a nonce get a freshly signed answer (on the
 * thread pool). Unknown issuer -> unauthorized, unknown serial -> unknown,
 * undecodable request -> malformedRequest.
 *
 * CRLs: one full CRL per CA, built from the revocations table a page at a
 * time on the thread pool (never on the loop) and kept in memory only — the
 * database holds revocation rows and the CRL number, never a CRL blob.
 * Regenerated at start, after each revocation and at half of crl_validity.
 * A delta CRL beside each. With [validation] crl_shards = N > 1 also one
 * full + delta pair per shard, /crl/<ca>-s<k>[-delta].crl, holding the
 * revocations of serials in shard k (ck_crl_shard_of) and a critical
 * issuingDistributionPoint naming the shard's CDP URL.
 *
 * Threading: ck_validation_new/register/close run on the loop thread;
 * ck_validation_revoked may be called from any thread. */
#ifndef CK_COORD_VALIDATION_H
#define CK_COORD_VALIDATION_H

#include <stdint.h>

#include "common/net/http.h"
#include "coordinator/core/coord_rt.h"

/* Counters (tests, metrics). */
typedef struct ck_validation_stats {
  uint64_t ocsp_requests;  /* parsed or not */
  uint64_t ocsp_cache_hits;
  uint64_t ocsp_signed;    /* responses signed */
  uint64_t crl_generated;
  uint64_t responders_made;
} ck_validation_stats;

/* ---- analytics: who fetches which certificate's status ------------------
 * Counted in memory on the loop thread (no store write per request; lost at
 * restart), bounded: at most [validation] analytics_certs certificates
 * (least recently asked dropped first), CK_VALIDATION_NETS client networks
 * each (later networks only counted in `other`). OCSP is counted per
 * certificate (CA + serial); CRL downloads per CRL — the CA's, and each
 * shard's — full and delta, since a CRL names no certificate. */
#define CK_VALIDATION_NETS 8

typedef struct ck_validation_net {
  char net[64];   /* "192.0.2.0/24", "2001:db8:1::/48" */
  uint64_t count;
} ck_validation_net;

typedef struct ck_validation_use {
  uint64_t fetches;
  int64_t first_seen, last_seen; /* 0 when never */
  size_t n_nets;                 /* most-asking first */
  ck_validation_net nets[CK_VALIDATION_NETS];
  uint64_t other;                /* fetches from networks not listed */
} ck_validation_use;

typedef struct ck_validation_cert_use {
  const char *ca;            /* CA name (lives as long as v) */
  char serial_hex[2 * 64 + 1]; /* lower-case, no leading zero octets */
  ck_validation_use ocsp;
} ck_validation_cert_use;

typedef struct ck_validation_usage_info {
  int64_t since;      /* counting started (coordinator start) */
  size_t tracked, capacity;
  uint64_t evicted;   /* certificates dropped by the LRU cap */
} ck_validation_usage_info;

/* OCSP use of the certificate serial_hex of CA ca_id (zeros when never
 * asked about since start, or dropped by the cap). CK_ERR_NOT_FOUND when v
 * serves no CA ca_id. Any thread. */
ck_err ck_validation_cert_usage(ck_validation *v, int64_t ca_id,
                                const char *serial_hex,
                                ck_validation_cert_use *out, ck_errctx *err);

/* CRL downloads of CA ca_id: the whole CA's CRL (shard -1) or shard k's,
 * full (delta 0) or delta (1). CK_ERR_NOT_FOUND when v serves no such CA
 * or shard. *name gets the CRL's URL name ("issuing", "issuing-s3"). */
ck_err ck_validation_crl_usage(ck_validation *v, int64_t ca_id, int shard,
                               int delta, ck_validation_use *out,
                               const char **name, ck_errctx *err);

/* Number of CRL shards of CA ca_id (0: not sharded). */
size_t ck_validation_crl_shards(ck_validation *v, int64_t ca_id);

/* The i-th CA served (0..), for listings; NULL past the end. */
const char *ck_validation_ca_at(ck_validation *v, size_t i, int64_t *ca_id);

/* Up to max certificates by OCSP fetches, most (least = 0) or least
 * (least = 1) first; returns how many were written. Any thread; holds the
 * analytics lock for one pass over the tracked certificates. */
size_t ck_validation_top(ck_validation *v, int least, size_t max,
                         ck_validation_cert_use *out,
                         ck_validation_usage_info *info);

/* Starts the services for rt (rt->cas, rt->store, rt->set.val): makes the
 * responders, builds the first CRLs (synchronously: served before the
 * coordinator reports healthy), starts the refresh timer. *out caller-owned:
 * ck_validation_close, then ck_validation_free once the loop has stopped. */
ck_err ck_validation_new(ck_coord_rt *rt, ck_validation **out,
                         ck_errctx *err);

/* Adds the /ocsp and /crl/ routes to srv. */
ck_err ck_validation_register(ck_validation *v, ck_http_server *srv,
                              ck_errctx *err);

/* A certificate of CA ca_id with this serial (lower-case hex as stored) was
 * revoked and the revocation committed: drops its cached OCSP answers and
 * schedules that CA's CRL. Any thread. NULL v is a no-op. */
void ck_validation_revoked(ck_validation *v, int64_t ca_id,
                           const char *serial_hex);

/* Copies the counters. */
void ck_validation_get_stats(ck_validation *v, ck_validation_stats *out);

/* Stops the timer and the wake-up handle (loop thread). Work already on the
 * pool finishes; the loop then has nothing of ours left. */
void ck_validation_close(ck_validation *v);

/* Frees everything, after the loop has stopped (if a job is still on the
 * pool, runs the loop until it is back). NULL is a no-op. */
void ck_validation_free(ck_validation *v);

#endif
