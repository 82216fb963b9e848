/* rest_blast.c — GET /api/v1/certificates/{serial|fingerprint}/blast-radius:
 * before revoking, everything a revocation would break. The certificate
 * and every other certificate with the same public key (SPKI SHA-256),
 * each with where the inventory saw it installed or served (host, path,
 * service, endpoint), plus totals. Reads only; bounded (BLAST_MAX_CERTS
 * certificates, BLAST_MAX_INSTALLS installs; "truncated" says so).
 * Runs on the thread pool (svc_rest.c).
 *
 * Also the replacement that follows a revocation (ck__rest_replace_holders):
 * a `replace-before-revoke` command to every agent the inventory shows
 * holding the certificate. */
#include <stdlib.h>
#include <string.h>

#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/ca/ca.h"
#include "coordinator/gateway/gateway.h"
#include "coordinator/http/rest.h"

/* Replacement commands one revocation may queue (the gateway's post queue
 * holds CK_GATEWAY_POST_MAX for everyone). */
#define REPLACE_MAX (CK_GATEWAY_POST_MAX / 2)

#define BLAST_MAX_CERTS 1000
#define BLAST_MAX_INSTALLS 10000

/* Adds name to the set (a JSON object used as one) and counts it. */
static void set_add(json_t *set, const char *name) {
  if (name != NULL && name[0] != '\0' && json_object_get(set, name) == NULL)
    json_object_set_new(set, name, json_true());
}

static json_t *set_keys(json_t *set) {
  json_t *arr = json_array(), *v;
  const char *k;

  json_object_foreach(set, k, v) {
    json_array_append_new(arr, json_string(k));
  }
  return arr;
}

/* The installs of one certificate into arr; counts into *n_inst. Returns
 * CK_OK or the store error. */
static ck_err cert_installs(rest_call *c, const char *fp, json_t *arr, json_t *hosts,
                            json_t *services, json_t *endpoints, size_t *n_inst,
                            int *truncated, ck_errctx *err) {
  ck_arena *a = ck_http_req_arena(c->req);
  char cursor[128] = "";
  ck_store_install *ins;
  ck_store_page pg;
  size_t n, i;
  ck_err rc;

  do {
    memset(&pg, 0, sizeof pg);
    pg.limit = CK_STORE_PAGE_MAX;
    pg.cursor = cursor[0] != '\0' ? cursor : NULL;
    if ((rc = ck_store_install_list(c->rt->store, fp, NULL, &pg, a, &ins, &n, err)) != CK_OK)
      return rc;
    for (i = 0; i < n; i++) {
      ck_store_agent ag;
      ck_errctx e2 = CK_ERRCTX_INIT;
      const char *hostname = "";
      if (*n_inst >= BLAST_MAX_INSTALLS) {
        *truncated = 1;
        return CK_OK;
      }
      if (ck_store_agent_get(c->rt->store, ins[i].agent_id, a, &ag, &e2) == CK_OK)
        hostname = ag.name;
      json_array_append_new(
          arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o}", "agent", ins[i].agent_id, "host",
                         hostname, "path", ins[i].path, "service", ins[i].service,
                         "endpoint", ins[i].endpoint, "first_seen",
                         rest_time(ins[i].first_seen), "last_seen",
                         rest_time(ins[i].last_seen)));
      set_add(hosts, ins[i].agent_id);
      set_add(services, ins[i].service);
      set_add(endpoints, ins[i].endpoint);
      (*n_inst)++;
    }
    if (pg.next_cursor != NULL &&
        ck_strlcpy(cursor, pg.next_cursor, sizeof cursor) >= sizeof cursor)
      return ck_failf(err, CK_ERR_INTERNAL, "install cursor too long");
  } while (pg.next_cursor != NULL);
  return CK_OK;
}

void ck__rest_blast_radius(rest_call *c, const ck_store_cert *sc) {
  ck_arena *a = ck_http_req_arena(c->req);
  ck_errctx err = CK_ERRCTX_INIT;
  json_t *certs = json_array(), *hosts = json_object(), *services = json_object(),
         *endpoints = json_object(), *res = NULL;
  char cursor[128] = "";
  ck_cert_filter f;
  ck_store_page pg;
  ck_store_cert *items;
  size_t n, i, n_certs = 0, n_inst = 0;
  int truncated = 0;
  ck_err rc = CK_OK;

  memset(&f, 0, sizeof f);
  f.by = CK_CERTQ_SPKI;
  f.key = sc->spki_sha256;
  do {
    memset(&pg, 0, sizeof pg);
    pg.limit = 100;
    pg.cursor = cursor[0] != '\0' ? cursor : NULL;
    if ((rc = ck_store_cert_list(c->rt->store, &f, &pg, a, &items, &n, &err)) != CK_OK)
      goto out;
    for (i = 0; i < n && !truncated; i++) {
      json_t *o, *inst = json_array();
      if (n_certs >= BLAST_MAX_CERTS) {
        truncated = 1;
        json_decref(inst);
        break;
      }
      rc = cert_installs(c, items[i].fingerprint, inst, hosts, services, endpoints, &n_inst,
                         &truncated, &err);
      if (rc != CK_OK) {
        json_decref(inst);
        goto out;
      }
      o = ck__rest_cert_json(c, &items[i], 0);
      json_object_set_new(o, "same_certificate",
                          json_boolean(strcmp(items[i].fingerprint, sc->fingerprint) == 0));
      json_object_set_new(o, "installs", inst);
      json_array_append_new(certs, o);
      n_certs++;
    }
    if (truncated)
      break;
    if (pg.next_cursor != NULL &&
        ck_strlcpy(cursor, pg.next_cursor, sizeof cursor) >= sizeof cursor) {
      rc = ck_failf(&err, CK_ERR_INTERNAL, "certificate cursor too long");
      goto out;
    }
  } while (pg.next_cursor != NULL);
  res = json_pack("{s:o,s:s,s:O,s:{s:I,s:I,s:I,s:I,s:I},s:o,s:o,s:o,s:b}", "certificate",
                  ck__rest_cert_json(c, sc, 0), "spki_sha256", sc->spki_sha256,
                  "certificates", certs, "summary", "certificates", (json_int_t)n_certs,
                  "installs", (json_int_t)n_inst, "hosts",
                  (json_int_t)json_object_size(hosts), "services",
                  (json_int_t)json_object_size(services), "endpoints",
                  (json_int_t)json_object_size(endpoints), "hosts", set_keys(hosts),
                  "services", set_keys(services), "endpoints", set_keys(endpoints),
                  "truncated", truncated);
  rest_json(c, 200, res);
out:
  if (rc != CK_OK)
    rest_problem_err(c, rc, ck_errctx_msg(&err));
  json_decref(certs);
  json_decref(hosts);
  json_decref(services);
  json_decref(endpoints);
}

/* ------------------------------------------------ replacement commands */

typedef struct replace_note {
  char agent[CK_STORE_NAME_MAX + 1];
  char target[512];
} replace_note;

/* Loop thread: how the gateway fared with one replacement command. */
static void on_replace_posted(ck_err status, uint64_t id, const char *session,
                              const char *msg, void *arg) {
  replace_note *n = arg;

  if (status == CK_OK)
    ck_log(CK_LOG_OPS, CK_LOG_INFO, "revoke.replace.sent", CK_S("agent", n->agent),
           CK_S("target", n->target), CK_I("command_id", (int64_t)id),
           CK_S("session", session != NULL ? session : ""));
  else
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "revoke.replace.unsent", CK_S("agent", n->agent),
           CK_S("target", n->target), CK_E(status, msg != NULL ? msg : ""));
  free(n);
}

/* Posts one command; appends its outcome to arr. */
static void post_one(rest_call *c, const ck_store_install *in, const char *fp,
                     const char *reason, json_t *arr, size_t *queued) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_wire_kv kv[2] = {{"fingerprint", fp}, {"reason", reason}};
  ck_wire_command cmd;
  replace_note *n = calloc(1, sizeof *n);
  const char *why = NULL;
  ck_err rc;

  memset(&cmd, 0, sizeof cmd);
  cmd.action = CK_WIRE_ACT_REPLACE_BEFORE_REVOKE;
  cmd.target = in->path[0] != '\0' ? in->path : fp;
  cmd.args.v = kv;
  cmd.args.n = 2;
  if (n == NULL) {
    why = "out of memory";
  } else if (c->rt->gateway == NULL) {
    why = "the agent gateway is not running";
  } else {
    ck_strlcpy(n->agent, in->agent_id, sizeof n->agent);
    ck_strlcpy(n->target, cmd.target, sizeof n->target);
    rc = ck_gateway_post_command(c->rt->gateway, in->agent_id, &cmd, c->actor,
                                 on_replace_posted, n, &err);
    if (rc == CK_OK) {
      n = NULL; /* the callback frees it */
      (*queued)++;
    } else {
      why = ck_errctx_msg(&err);
    }
  }
  free(n);
  json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s}", "agent", in->agent_id, "target",
                                       cmd.target, "status", why == NULL ? "queued" : "not-sent",
                                       "detail", why == NULL ? "" : why));
}

json_t *ck__rest_replace_holders(rest_call *c, const ck_store_cert *sc, int same_key,
                                 const char *reason) {
  ck_arena *a = ck_http_req_arena(c->req);
  ck_errctx err = CK_ERRCTX_INIT;
  json_t *arr = json_array(), *seen = json_object();
  ck_store_cert *certs = NULL, one = *sc;
  ck_store_install *ins;
  ck_store_page pg;
  ck_cert_filter f;
  size_t nc = 1, n, i, k, queued = 0, skipped = 0;

  if (same_key) { /* every certificate with the compromised key */
    memset(&f, 0, sizeof f);
    memset(&pg, 0, sizeof pg);
    f.by = CK_CERTQ_SPKI;
    f.key = sc->spki_sha256;
    pg.limit = CK_STORE_PAGE_MAX;
    if (ck_store_cert_list(c->rt->store, &f, &pg, a, &certs, &nc, &err) != CK_OK)
      nc = 0;
  }
  if (certs == NULL) {
    certs = &one;
    nc = 1;
  }
  for (k = 0; k < nc; k++) {
    memset(&pg, 0, sizeof pg);
    pg.limit = CK_STORE_PAGE_MAX;
    if (ck_store_install_list(c->rt->store, certs[k].fingerprint, NULL, &pg, a, &ins, &n,
                              &err) != CK_OK)
      continue;
    for (i = 0; i < n; i++) {
      char key[CK_STORE_NAME_MAX + 600];
      snprintf(key, sizeof key, "%s\n%s\n%s", ins[i].agent_id, ins[i].path,
               certs[k].fingerprint);
      if (json_object_get(seen, key) != NULL)
        continue;
      json_object_set_new(seen, key, json_true());
      if (queued + skipped >= REPLACE_MAX) {
        skipped++;
        continue;
      }
      post_one(c, &ins[i], certs[k].fingerprint, reason, arr, &queued);
    }
  }
  json_decref(seen);
  return json_pack("{s:I,s:I,s:o}", "queued", (json_int_t)queued, "over_limit",
                   (json_int_t)skipped, "commands", arr);
}
