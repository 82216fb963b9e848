/* rest_validation.c — validation analytics over REST (docs/api.md,
 * docs/validation.md): GET /api/v1/certificates/{id}/validation (one
 * certificate's OCSP fetches and its CA's CRL downloads) and
 * GET /api/v1/validation/stats (estate-wide: most and least fetched,
 * CRL downloads per CA). Counters live in the validation service's memory
 * (coordinator/validation/validation.h). Runs on the thread pool. */
#include <stdlib.h>
#include <string.h>

#include "common/crypto/crl.h"
#include "coordinator/http/rest.h"
#include "coordinator/validation/validation.h"

#define TOP_DEFAULT 20
#define TOP_MAX 1000

static json_t *use_json(const ck_validation_use *u) {
  json_t *nets = json_array();
  size_t i;

  for (i = 0; i < u->n_nets; i++)
    json_array_append_new(nets, json_pack("{s:s,s:I}", "network", u->nets[i].net, "fetches",
                                          (json_int_t)u->nets[i].count));
  return json_pack("{s:I,s:o,s:o,s:o,s:I}", "fetches", (json_int_t)u->fetches, "first_seen",
                   rest_time(u->first_seen), "last_seen", rest_time(u->last_seen),
                   "networks", nets, "other_networks_fetches", (json_int_t)u->other);
}

/* Downloads of one CRL pair (shard -1: the CA's whole CRL). */
static json_t *crl_json(ck_validation *v, int64_t ca_id, int shard) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_validation_use full, delta;
  const char *name = "", *ca;
  json_t *o;
  size_t i;
  int64_t id;

  if (ck_validation_crl_usage(v, ca_id, shard, 0, &full, &name, &err) != CK_OK ||
      ck_validation_crl_usage(v, ca_id, shard, 1, &delta, NULL, &err) != CK_OK)
    return json_null();
  for (i = 0, ca = ""; (ca = ck_validation_ca_at(v, i, &id)) != NULL && id != ca_id; i++)
    ;
  o = json_pack("{s:s,s:s,s:o,s:o}", "ca", ca != NULL ? ca : "", "crl", name, "full",
                use_json(&full), "delta", use_json(&delta));
  if (shard >= 0)
    json_object_set_new(o, "shard", json_integer(shard));
  return o;
}

static json_t *cert_use_json(const ck_validation_cert_use *u) {
  return json_pack("{s:s,s:s,s:o}", "ca", u->ca != NULL ? u->ca : "", "serial",
                   u->serial_hex, "ocsp", use_json(&u->ocsp));
}

void ck__rest_cert_validation(rest_call *c, const ck_store_cert *sc) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_validation_cert_use u;
  ck_validation_usage_info info;
  json_t *o;
  size_t shards;
  int k;
  ck_err rc;

  if (c->rt->validation == NULL) {
    rest_problem(c, 503, "unavailable", "validation services are not running");
    return;
  }
  if ((rc = ck_validation_cert_usage(c->rt->validation, sc->ca_id, sc->serial_hex, &u,
                                     &err)) != CK_OK) {
    /* a certificate found by agents, or of a CA without its key here: no
     * OCSP or CRL of ours answers for it */
    rest_problemf(c, 404, "not-found",
                  "certificate %s is not served by this coordinator's OCSP responder "
                  "or CRLs",
                  sc->serial_hex);
    return;
  }
  ck_validation_top(c->rt->validation, 0, 0, NULL, &info);
  shards = ck_validation_crl_shards(c->rt->validation, sc->ca_id);
  o = json_pack("{s:s,s:s,s:o,s:o,s:o,s:b}", "serial", sc->serial_hex, "ca",
                u.ca != NULL ? u.ca : "", "since", rest_time(info.since), "ocsp",
                use_json(&u.ocsp), "crl", crl_json(c->rt->validation, sc->ca_id, -1),
                "tracked", u.ocsp.fetches > 0);
  /* the shard this certificate's CDP names, when the CA is sharded (a
   * certificate issued before sharding names the whole CRL: see "crl") */
  if (shards > 0 && (k = ck_crl_shard_of_hex(sc->serial_hex, (unsigned)shards)) >= 0)
    json_object_set_new(o, "crl_shard", crl_json(c->rt->validation, sc->ca_id, k));
  rest_json(c, 200, o);
}

static void stats(rest_call *c) {
  ck_validation *v = c->rt->validation;
  ck_validation_cert_use *most = NULL, *least = NULL;
  ck_validation_usage_info info;
  const char *lim = rest_query(c, "limit"), *name;
  json_t *jm, *jl, *crls;
  size_t limit = TOP_DEFAULT, nm, nl, i;
  int64_t ca_id;
  char *end;

  if (lim != NULL) {
    long long x = strtoll(lim, &end, 10);
    if (*lim == '\0' || *end != '\0' || x < 1 || x > TOP_MAX) {
      rest_problemf(c, 400, "bad-request", "limit must be 1..%d", TOP_MAX);
      return;
    }
    limit = (size_t)x;
  }
  if ((most = calloc(limit, sizeof *most)) == NULL ||
      (least = calloc(limit, sizeof *least)) == NULL) {
    rest_problem_err(c, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  nm = ck_validation_top(v, 0, limit, most, &info);
  nl = ck_validation_top(v, 1, limit, least, NULL);
  jm = json_array();
  jl = json_array();
  crls = json_array();
  for (i = 0; i < nm; i++)
    json_array_append_new(jm, cert_use_json(&most[i]));
  for (i = 0; i < nl; i++)
    json_array_append_new(jl, cert_use_json(&least[i]));
  for (i = 0; (name = ck_validation_ca_at(v, i, &ca_id)) != NULL; i++) {
    size_t k, shards = ck_validation_crl_shards(v, ca_id);
    json_array_append_new(crls, crl_json(v, ca_id, -1));
    for (k = 0; k < shards; k++)
      json_array_append_new(crls, crl_json(v, ca_id, (int)k));
  }
  rest_json(c, 200,
            json_pack("{s:o,s:I,s:I,s:I,s:o,s:o,s:o}", "since", rest_time(info.since),
                      "tracked", (json_int_t)info.tracked, "capacity",
                      (json_int_t)info.capacity, "evicted", (json_int_t)info.evicted,
                      "most_fetched", jm, "least_fetched", jl, "crls", crls));
out:
  free(most);
  free(least);
}

void ck__rest_validation(rest_call *c, char **segs, int nsegs) {
  int m = ck_http_req_method(c->req);

  if (!rest_allow(c, CK_R_ANY & ~CK_R(CK_API_OWNER)))
    return;
  if (nsegs != 2 || strcmp(segs[1], "stats") != 0) {
    rest_problem(c, 404, "not-found", "no such validation resource (try validation/stats)");
    return;
  }
  if (m != CK_HTTP_GET && m != CK_HTTP_HEAD) {
    rest_problemf(c, 405, "bad-request", "%s is not supported on %s",
                  ck_http_req_method_name(c->req), ck_http_req_path(c->req));
    return;
  }
  if (c->rt->validation == NULL) {
    rest_problem(c, 503, "unavailable", "validation services are not running");
    return;
  }
  stats(c);
}
