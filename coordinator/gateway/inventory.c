/* inventory.c — `inventory`: where the agent found certificates.
 *
 * Each finding that carries a fingerprint becomes installation rows of this
 * agent (the store's installs: certificate, path, services, endpoint), one
 * per local endpoint serving the file, or one without endpoint; a
 * "tcp://addr:port" path is an endpoint-only finding. A finding with `der`
 * first records the certificate itself: we parse it (the agent's parsed
 * fields are not trusted), build the row with ck_store_cert_from (source
 * discovered) and put it in the same write before its installations; the
 * store reconciles by fingerprint (one we issued stays managed, an unknown
 * one is unmanaged, weaknesses flagged, shared keys from the installs);
 * when the finding's fingerprint is one the store already holds, the der
 * is not parsed again. A
 * DER that does not parse, or whose SHA-256 is not the finding's
 * fingerprint, fails that finding only (counted in the ack). Findings
 * without `der` of certificates the store does not hold are counted and
 * reported in the ack's detail instead of stored (see
 * docs/internals/gateway.md).
 *
 * Generations: a full inventory (in parts 0..n, the last one `final`)
 * replaces what is known about the agent: the session remembers the
 * installations its parts stored, and once the final part is stored every
 * other installation of this agent is deleted. A delta applies to generation `base`, which must be the last one
 * this session holds (a path it names is sent whole by the agent, so the
 * agent's other installations at that path — e.g. the certificate a renewal
 * replaced — are deleted after it, and its `removed` paths too), else CK_ERR_CONFLICT and the agent sends a full one
 * (after a reconnect the agent starts with a full inventory anyway). Parts
 * and deltas are exclusive work items, so they are applied in order.
 *
 * Host facts: an inventory may carry `host` (the agent sends it in part 0
 * of every full inventory and in a delta without findings when a hardware
 * key store appeared or left). Facts that are not short printable ASCII
 * refuse the whole inventory (CK_ERR_INVAL naming the fact, nothing
 * stored). Accepted facts are recorded on the agent as a JSON object
 * (hwkeys sorted, duplicates dropped) in the same write as the findings,
 * only when they differ from what is stored; a change of the hardware key
 * set is audited as `agent.facts` with the entries added and removed. */
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/log.h"
#include "coordinator/gateway/gw_int.h"

typedef struct inv_counts {
  size_t stored;   /* installation rows written */
  size_t certs;    /* certificates recorded from a finding's der */
  size_t unknown;  /* findings of certificates the store does not hold */
  size_t unread;   /* findings without a usable fingerprint */
  size_t bad;      /* findings whose der was refused */
  size_t removed;  /* installation rows deleted */
  char first_bad[200]; /* why the first refused der was refused */
} inv_counts;

/* Joins the finding's services with ',' into buf (at most one name row). */
static const char *services(const ck_wire_finding *f, char *buf, size_t len) {
  size_t i, off = 0, l;

  buf[0] = '\0';
  for (i = 0; i < f->services.n; i++) {
    l = strlen(f->services.v[i]);
    if (off + l + 2 > len)
      break;
    if (off > 0)
      buf[off++] = ',';
    memcpy(buf + off, f->services.v[i], l);
    off += l;
    buf[off] = '\0';
  }
  return buf;
}

static ck_err remember(gw_session *s, const ck_store_install *in,
                       ck_errctx *err);

static ck_err put_one(gw_session *s, ck_store_write *sw,
                      const ck_store_install *in, inv_counts *c,
                      ck_errctx *err) {
  ck_err rc = ck_store_write_install_put(sw, in, err);

  if (rc == CK_OK)
    rc = remember(s, in, err);
  if (rc == CK_OK)
    c->stored++;
  return rc;
}

/* Counts finding idx as refused, keeping the first reason for the ack. */
static void refuse(gw_work *w, size_t idx, const ck_wire_finding *f,
                   inv_counts *c, const char *why) {
  /* a long reason is cut: first_bad is a one-line summary for the ack */
  if (c->bad++ == 0 &&
      snprintf(c->first_bad, sizeof c->first_bad, "findings[%zu]: %s", idx,
               why) >= (int)sizeof c->first_bad)
    c->first_bad[sizeof c->first_bad - 1] = '\0';
  ck_log(CK_LOG_SEC, CK_LOG_WARN, "gateway.inventory.refused",
         CK_S("session", w->s->sid), CK_S("agent", w->s->agent.id),
         CK_S("path", f->path), CK_S("reason", why));
}

/* Records the certificate of a finding with `der` in sw (source
 * discovered) and gives its fingerprint in fp; *recorded is 1 then, 0 when
 * the finding was refused (counted in c). Returns CK_OK in both cases, or
 * CK_ERR_NOMEM, which fails the whole inventory. */
static ck_err put_der(gw_work *w, ck_store_write *sw, size_t idx,
                      const ck_wire_finding *f, inv_counts *c,
                      char fp[CK_SHA256_HEX_LEN], int *recorded,
                      ck_errctx *err) {
  ck_errctx perr = CK_ERRCTX_INIT;
  ck_cert *cert = NULL;
  ck_arena *a = NULL;
  ck_store_cert row;
  char why[180], given[CK_SHA256_HEX_LEN];
  ck_err ret = CK_OK, rc;

  *recorded = 0;
  /* our own DER parser gives every field the row needs; the crypto
   * backend's parse (OpenSSL 3 decodes the public key through its generic
   * decoders: ~0.2 ms and shared locks per certificate) is needed only to
   * tell whether a self-issued certificate's signature verifies with its
   * own key (the self-signed leaf rule) */
  rc = ck_cert_parse_fields(f->der.data, f->der.len, &cert, &perr);
  if (rc == CK_OK && strcmp(ck_cert_get_info(cert)->subject,
                            ck_cert_get_info(cert)->issuer) == 0) {
    ck_cert_free(cert);
    cert = NULL;
    rc = ck_cert_parse(f->der.data, f->der.len, &cert, &perr);
  }
  if (rc != CK_OK) {
    snprintf(why, sizeof why, "der: %s", ck_errctx_msg(&perr));
    refuse(w, idx, f, c, why);
    goto out;
  }
  if ((a = ck_arena_new(4096)) == NULL) {
    ret = ck_failf(err, CK_ERR_NOMEM, "inventory: out of memory");
    goto out;
  }
  if ((ret = ck_store_cert_from(cert, ck_clock_now(), a, &row, err)) != CK_OK)
    goto out;
  if (f->fingerprint.data != NULL) {
    if (f->fingerprint.len == CK_SHA256_LEN)
      ck_hex_encode(f->fingerprint.data, CK_SHA256_LEN, given);
    if (f->fingerprint.len != CK_SHA256_LEN ||
        strcmp(given, row.fingerprint) != 0) {
      refuse(w, idx, f, c, "fingerprint is not the SHA-256 of der");
      goto out;
    }
  }
  row.source = CK_CERT_SRC_DISCOVERED;
  if ((rc = ck_store_write_cert_put(sw, &row, &perr)) != CK_OK) {
    if (rc == CK_ERR_NOMEM) {
      ret = ck_failf(err, rc, "inventory: out of memory");
      goto out;
    }
    snprintf(why, sizeof why, "der: %s", ck_errctx_msg(&perr));
    refuse(w, idx, f, c, why);
    goto out;
  }
  memcpy(fp, row.fingerprint, CK_SHA256_HEX_LEN);
  c->certs++;
  *recorded = 1;
out:
  ck_arena_free(a);
  ck_cert_free(cert);
  return ret;
}

/* Adds the certificate (when it carries der) and the installation rows of
 * finding idx to sw. */
static ck_err put_finding(gw_work *w, ck_store_write *sw, size_t idx,
                          const ck_wire_finding *f, inv_counts *c,
                          ck_errctx *err) {
  ck_store *store = w->s->gw->rt->store;
  ck_errctx rerr = CK_ERRCTX_INIT;
  ck_arena *a = NULL;
  ck_store_cert cert;
  ck_store_install in;
  char svc[CK_STORE_NAME_MAX];
  size_t i;
  ck_err rc;
  int recorded;

  if (f->path[0] == '\0' || strlen(f->path) > CK_STORE_TEXT_MAX ||
      (f->der.data == NULL &&
       (f->fingerprint.data == NULL || f->fingerprint.len != CK_SHA256_LEN))) {
    c->unread++;
    return CK_OK;
  }
  memset(&in, 0, sizeof in);
  rc = CK_ERR_NOT_FOUND;
  if (f->fingerprint.data != NULL && f->fingerprint.len == CK_SHA256_LEN) {
    /* a certificate the store holds: its row is authoritative, the der
     * (if any) need not be parsed again at every full inventory */
    ck_hex_encode(f->fingerprint.data, CK_SHA256_LEN, in.cert_fp);
    if ((a = ck_arena_new(2048)) == NULL)
      return ck_failf(err, CK_ERR_NOMEM, "inventory: out of memory");
    rc = ck_store_cert_get(store, in.cert_fp, 0, a, &cert, &rerr);
    ck_arena_free(a);
    if (rc != CK_OK && rc != CK_ERR_NOT_FOUND)
      return ck_failf(err, rc, "%s", ck_errctx_msg(&rerr));
  }
  if (rc == CK_ERR_NOT_FOUND) {
    if (f->der.data == NULL) {
      c->unknown++;
      return CK_OK;
    }
    if ((rc = put_der(w, sw, idx, f, c, in.cert_fp, &recorded, err)) != CK_OK)
      return rc;
    if (!recorded)
      return CK_OK;
  }
  in.agent_id = w->s->agent.id;
  in.service = services(f, svc, sizeof svc);
  if (strncmp(f->path, "tcp://", 6) == 0) {
    in.path = "";
    in.endpoint = f->path + 6;
    return put_one(w->s, sw, &in, c, err);
  }
  in.path = f->path;
  in.endpoint = "";
  if (f->endpoints.n == 0)
    return put_one(w->s, sw, &in, c, err);
  for (i = 0; i < f->endpoints.n; i++) {
    in.endpoint = f->endpoints.v[i];
    if ((rc = put_one(w->s, sw, &in, c, err)) != CK_OK)
      return rc;
  }
  return CK_OK;
}

/* The identity of an installation row: "fp\npath\nendpoint". */
static char *install_key(const char *fp, const char *path,
                         const char *endpoint) {
  size_t n = strlen(fp) + strlen(path) + strlen(endpoint) + 3;
  char *k = malloc(n);

  if (k != NULL)
    snprintf(k, n, "%s\n%s\n%s", fp, path, endpoint);
  return k;
}

static int key_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void ck__gw_inventory_reset(gw_session *s) {
  size_t i;

  for (i = 0; i < s->inv_nkeys; i++)
    free(s->inv_keys[i]);
  free(s->inv_keys);
  s->inv_keys = NULL;
  s->inv_nkeys = s->inv_capkeys = 0;
}

/* Remembers an installation of the full inventory or delta under way. */
static ck_err remember(gw_session *s, const ck_store_install *in,
                       ck_errctx *err) {
  char *k;

  if (!s->inv_open && !s->inv_delta)
    return CK_OK;
  if (s->inv_nkeys == s->inv_capkeys) {
    size_t cap = s->inv_capkeys ? s->inv_capkeys * 2 : 64;
    char **v = realloc(s->inv_keys, cap * sizeof *v);
    if (v == NULL)
      return ck_failf(err, CK_ERR_NOMEM, "inventory: out of memory");
    s->inv_keys = v;
    s->inv_capkeys = cap;
  }
  k = install_key(in->cert_fp, in->path, in->endpoint);
  if (k == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "inventory: out of memory");
  s->inv_keys[s->inv_nkeys++] = k;
  return CK_OK;
}

static int in_generation(gw_session *s, const ck_store_install *in) {
  char *k = install_key(in->cert_fp, in->path, in->endpoint);
  int found;

  if (k == NULL)
    return 1; /* out of memory: keep the row rather than lose it */
  found = s->inv_nkeys > 0 &&
          bsearch(&k, s->inv_keys, s->inv_nkeys, sizeof *s->inv_keys,
                  key_cmp) != NULL;
  free(k);
  return found;
}

static int in_removed(const ck_wire_strv *removed, const ck_store_install *in) {
  size_t i;

  for (i = 0; i < removed->n; i++) {
    const char *p = removed->v[i];
    if ((in->path[0] != '\0' && strcmp(p, in->path) == 0) ||
        (in->path[0] == '\0' && strncmp(p, "tcp://", 6) == 0 &&
         strcmp(p + 6, in->endpoint) == 0))
      return 1;
  }
  return 0;
}

/* Whether the delta under way names in's path in a finding. */
static int in_delta_path(const ck_wire_inventory *inv,
                         const ck_store_install *in) {
  size_t i;

  for (i = 0; in->path[0] != '\0' && i < inv->n_findings; i++)
    if (inv->findings[i].path != NULL &&
        strcmp(inv->findings[i].path, in->path) == 0)
      return 1;
  return 0;
}

/* Deletes this agent's installations that are not in the full inventory
 * just completed (full), or (delta) are named in removed or lie at a path
 * the delta sent whose findings did not store them again. Runs in its own
 * write. */
static ck_err prune(gw_work *w, int full, const ck_wire_strv *removed,
                    inv_counts *c, ck_errctx *err) {
  ck_store *store = w->s->gw->rt->store;
  ck_arena *a = ck_arena_new(16384);
  ck_store_write *sw = ck_store_write_new();
  ck_store_install *items;
  ck_store_page pg;
  char cursor[256] = "";
  size_t n, i, dels = 0;
  ck_err rc = CK_OK;

  if (a == NULL || sw == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "inventory: out of memory");
    goto out;
  }
  if (w->s->inv_nkeys > 1) /* qsort(NULL, 0) is undefined */
    qsort(w->s->inv_keys, w->s->inv_nkeys, sizeof *w->s->inv_keys, key_cmp);
  for (;;) {
    memset(&pg, 0, sizeof pg);
    pg.limit = CK_STORE_PAGE_MAX;
    pg.cursor = cursor[0] != '\0' ? cursor : NULL;
    ck_arena_reset(a);
    rc = ck_store_install_list(store, NULL, w->s->agent.id, &pg, a, &items, &n,
                               err);
    if (rc != CK_OK)
      goto out;
    for (i = 0; i < n; i++) {
      if ((full && !in_generation(w->s, &items[i])) ||
          (removed != NULL && in_removed(removed, &items[i])) ||
          (!full && in_delta_path(&w->msg.u.inventory, &items[i]) &&
           !in_generation(w->s, &items[i]))) {
        if ((rc = ck_store_write_install_del(sw, &items[i], err)) != CK_OK)
          goto out;
        dels++;
      }
    }
    if (pg.next_cursor == NULL)
      break;
    if (ck_strlcpy(cursor, pg.next_cursor, sizeof cursor) >= sizeof cursor) {
      rc = ck_failf(err, CK_ERR_INTERNAL, "inventory: page cursor too long");
      goto out;
    }
  }
  if (dels > 0 && (rc = ck_store_submit_wait(store, sw, err)) != CK_OK)
    goto out;
  c->removed += dels;
out:
  ck_store_write_free(sw);
  ck_arena_free(a);
  return rc;
}

static char *details_json(const ck_wire_inventory *inv, const inv_counts *c) {
  json_t *o = json_pack(
      "{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "mode",
      ck_wire_inv_mode_name(inv->mode), "seq", (json_int_t)inv->seq, "part",
      (json_int_t)(inv->has_part ? inv->part : 0), "stored",
      (json_int_t)c->stored, "certificates", (json_int_t)c->certs, "unknown",
      (json_int_t)c->unknown, "unread", (json_int_t)c->unread, "refused",
      (json_int_t)c->bad, "removed", (json_int_t)c->removed);
  char *out = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

  json_decref(o);
  return out;
}

/* ---- host facts --------------------------------------------------------- */

#define HOST_LIST_MAX 64 /* addrs, hwkeys entries */

/* Checks the facts; on failure writes which one into msg and returns 0. */
static int host_ok(const ck_wire_host *h, char *msg, size_t len) {
  static const struct {
    const char *name;
    size_t off, max;
    int required;
  } facts[] = {
      {"hostname", offsetof(ck_wire_host, hostname), 253, 1},
      {"fqdn", offsetof(ck_wire_host, fqdn), 253, 0},
      {"os", offsetof(ck_wire_host, os), 64, 1},
      {"os_version", offsetof(ck_wire_host, os_version), 128, 0},
      {"arch", offsetof(ck_wire_host, arch), 64, 1},
      {"machine_id", offsetof(ck_wire_host, machine_id), 128, 0},
  };
  size_t i;

  for (i = 0; i < sizeof facts / sizeof facts[0]; i++)
    if (!ck__gw_fact_ok(*(const char *const *)((const char *)h + facts[i].off),
                 facts[i].max, facts[i].required)) {
      snprintf(msg, len,
               "inventory.host.%s: must be printable ASCII of 1..%zu bytes",
               facts[i].name, facts[i].max);
      return 0;
    }
  if (h->addrs.n > HOST_LIST_MAX || h->hwkeys.n > HOST_LIST_MAX) {
    snprintf(msg, len, "inventory.host.%s: at most %d entries",
             h->addrs.n > HOST_LIST_MAX ? "addrs" : "hwkeys", HOST_LIST_MAX);
    return 0;
  }
  for (i = 0; i < h->addrs.n; i++)
    if (!ck__gw_fact_ok(h->addrs.v[i], 64, 1)) {
      snprintf(msg, len,
               "inventory.host.addrs[%zu]: must be printable ASCII of 1..64 "
               "bytes", i);
      return 0;
    }
  for (i = 0; i < h->hwkeys.n; i++)
    if (!ck__gw_fact_ok(h->hwkeys.v[i], 256, 1) ||
        strchr(h->hwkeys.v[i], ':') == NULL) {
      snprintf(msg, len,
               "inventory.host.hwkeys[%zu]: must be \"kind:name\", printable "
               "ASCII of 1..256 bytes", i);
      return 0;
    }
  return 1;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts v[0..n) and drops duplicates; returns the new count. */
static size_t sort_unique(const char **v, size_t n) {
  size_t i, k = 0;

  if (n > 1)
    qsort(v, n, sizeof *v, cmp_str);
  for (i = 0; i < n; i++)
    if (k == 0 || strcmp(v[k - 1], v[i]) != 0)
      v[k++] = v[i];
  return k;
}

/* The facts as stored: a JSON object (new reference, NULL on OOM). */
static json_t *host_json(const ck_wire_host *h, const char **keys,
                         size_t nkeys) {
  json_t *o = json_pack("{s:s,s:s,s:s}", "hostname", h->hostname, "os", h->os,
                        "arch", h->arch);
  json_t *arr;
  size_t i;

  if (o == NULL)
    return NULL;
  if (h->fqdn != NULL)
    json_object_set_new(o, "fqdn", json_string(h->fqdn));
  if (h->os_version != NULL)
    json_object_set_new(o, "os_version", json_string(h->os_version));
  if (h->machine_id != NULL)
    json_object_set_new(o, "machine_id", json_string(h->machine_id));
  if (h->addrs.n > 0) {
    arr = json_array();
    for (i = 0; i < h->addrs.n; i++)
      json_array_append_new(arr, json_string(h->addrs.v[i]));
    json_object_set_new(o, "addrs", arr);
  }
  arr = json_array();
  for (i = 0; i < nkeys; i++)
    json_array_append_new(arr, json_string(keys[i]));
  json_object_set_new(o, "hwkeys", arr);
  return o;
}

/* Adds to sw the agent's new host facts, and the `agent.facts` audit event
 * when the hardware key set changed, unless the stored facts are the same.
 * *text gets the JSON text (caller frees; NULL when nothing changed). */
static ck_err put_host(gw_work *w, ck_store_write *sw, const char *actor,
                       char **text, ck_errctx *err) {
  const ck_wire_host *h = &w->msg.u.inventory.host;
  ck_store *store = w->s->gw->rt->store;
  ck_errctx rerr = CK_ERRCTX_INIT;
  const char *newk[HOST_LIST_MAX], *oldk[HOST_LIST_MAX];
  size_t nn = 0, no = 0, i = 0, j = 0;
  json_t *o = NULL, *old = NULL, *added = NULL, *removed = NULL, *d = NULL;
  char *details = NULL;
  ck_arena *a = NULL;
  ck_store_agent ag;
  ck_audit_event ev;
  ck_err rc = CK_OK;

  *text = NULL;
  for (nn = 0; nn < h->hwkeys.n; nn++)
    newk[nn] = h->hwkeys.v[nn];
  nn = sort_unique(newk, nn);
  if ((o = host_json(h, newk, nn)) == NULL ||
      (*text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL ||
      (a = ck_arena_new(4096)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "inventory: out of memory");
    goto out;
  }
  if ((rc = ck_store_agent_get(store, w->s->agent.id, a, &ag, &rerr)) !=
      CK_OK) {
    rc = ck_failf(err, rc, "%s", ck_errctx_msg(&rerr));
    goto out;
  }
  if (strcmp(ag.host, *text) == 0) { /* unchanged: nothing to write */
    free(*text);
    *text = NULL;
    goto out;
  }
  if (ag.host[0] != '\0' && (old = json_loads(ag.host, 0, NULL)) != NULL) {
    json_t *ok = json_object_get(old, "hwkeys");
    size_t k;

    for (k = 0; k < json_array_size(ok) && no < HOST_LIST_MAX; k++)
      if (json_is_string(json_array_get(ok, k)))
        oldk[no++] = json_string_value(json_array_get(ok, k));
    no = sort_unique(oldk, no);
  }
  if ((rc = ck_store_write_agent_host(sw, w->s->agent.id, *text, 0, err)) !=
      CK_OK)
    goto out;
  added = json_array();
  removed = json_array();
  while (i < nn || j < no) {
    int c = i == nn ? 1 : j == no ? -1 : strcmp(newk[i], oldk[j]);

    if (c < 0)
      json_array_append_new(added, json_string(newk[i++]));
    else if (c > 0)
      json_array_append_new(removed, json_string(oldk[j++]));
    else {
      i++;
      j++;
    }
  }
  if (json_array_size(added) == 0 && json_array_size(removed) == 0)
    goto out;
  d = json_pack("{s:O,s:O}", "added", added, "removed", removed);
  if (d == NULL ||
      (details = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "inventory: out of memory");
    goto out;
  }
  memset(&ev, 0, sizeof ev);
  ev.actor = actor;
  ev.action = "agent.facts";
  ev.object_type = "agent";
  ev.object_id = w->s->agent.id;
  ev.details = details;
  if ((rc = ck_store_write_audit(sw, &ev, err)) != CK_OK)
    goto out;
  ck_log(CK_LOG_OPS, CK_LOG_NOTICE, "gateway.agent.facts",
         CK_S("session", w->s->sid), CK_S("agent", w->s->agent.id),
         CK_S("details", details));
out:
  free(details);
  json_decref(d);
  json_decref(added);
  json_decref(removed);
  json_decref(old);
  json_decref(o);
  ck_arena_free(a);
  return rc;
}

void ck__gw_inventory_run(gw_work *w) {
  gw_session *s = w->s;
  const ck_wire_inventory *inv = &w->msg.u.inventory;
  ck_store *store = s->gw->rt->store;
  ck_errctx err = CK_ERRCTX_INIT;
  uint32_t part = inv->has_part ? inv->part : 0;
  int final = inv->has_final ? inv->final : 1;
  ck_store_write *sw = NULL;
  ck_audit_event ev;
  inv_counts c;
  ck_wire_msg ack;
  char msg[512], actor[64], *details = NULL, *host = NULL;
  size_t i;
  ck_err rc;

  memset(&c, 0, sizeof c);
  if (inv->mode == CK_WIRE_INV_UNKNOWN) {
    ck__gw_reply_error(w, CK_ERR_UNSUPPORTED, 0,
                       "inventory.mode: this coordinator knows 'full' and "
                       "'delta'");
    return;
  }
  if (inv->has_host && !host_ok(&inv->host, msg, sizeof msg)) {
    ck_log(CK_LOG_SEC, CK_LOG_WARN, "gateway.inventory.refused",
           CK_S("session", s->sid), CK_S("agent", s->agent.id),
           CK_S("reason", msg));
    ck__gw_reply_error(w, CK_ERR_INVAL, 0, msg);
    return;
  }
  if (inv->mode == CK_WIRE_INV_DELTA) {
    if (!s->inv_have || !inv->has_base || inv->base != s->inv_seq ||
        s->inv_open) {
      if (s->inv_have)
        snprintf(msg, sizeof msg,
                 "inventory delta for base %llu: this session holds "
                 "generation %llu; send a full inventory",
                 (unsigned long long)inv->base,
                 (unsigned long long)s->inv_seq);
      else
        snprintf(msg, sizeof msg,
                 "inventory delta: no full inventory received in this "
                 "session; send a full inventory");
      ck__gw_reply_error(w, CK_ERR_CONFLICT, 0, msg);
      return;
    }
  } else if (part == 0) {
    ck__gw_inventory_reset(s);
    s->inv_open = 1;
    s->inv_cur = inv->seq;
    s->inv_next_part = 1;
  } else if (!s->inv_open || inv->seq != s->inv_cur ||
             part != s->inv_next_part) {
    snprintf(msg, sizeof msg,
             "inventory seq %llu part %u does not follow the parts received "
             "(expected part %u of seq %llu); send the full inventory again",
             (unsigned long long)inv->seq, part,
             s->inv_open ? s->inv_next_part : 0,
             (unsigned long long)s->inv_cur);
    s->inv_open = 0;
    ck__gw_reply_error(w, CK_ERR_CONFLICT, 0, msg);
    return;
  } else {
    s->inv_next_part++;
  }

  sw = ck_store_write_new();
  if (sw == NULL) {
    ck__gw_reply_error(w, CK_ERR_NOMEM, 0, "coordinator out of memory");
    goto out;
  }
  if (inv->mode == CK_WIRE_INV_DELTA) { /* keys of this delta only */
    ck__gw_inventory_reset(s);
    s->inv_delta = 1;
  }
  for (i = 0; i < inv->n_findings; i++) {
    rc = put_finding(w, sw, i, &inv->findings[i], &c, &err);
    if (rc != CK_OK) {
      snprintf(msg, sizeof msg, "inventory.findings[%zu]: %s", i,
               ck_errctx_msg(&err));
      ck__gw_reply_error(w, rc == CK_ERR_LIMIT || rc == CK_ERR_INVAL
                                ? CK_ERR_INVAL : CK_ERR_AGAIN,
                         0, msg);
      s->inv_open = 0;
      goto out;
    }
  }
  snprintf(actor, sizeof actor, "agent:%s", s->agent.id);
  if (inv->has_host && (rc = put_host(w, sw, actor, &host, &err)) != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "gateway.inventory.host",
           CK_S("session", s->sid), CK_E(rc, ck_errctx_msg(&err)));
    ck__gw_reply_error(w, CK_ERR_AGAIN, 0, "coordinator store unavailable");
    s->inv_open = 0;
    goto out;
  }
  details = details_json(inv, &c);
  memset(&ev, 0, sizeof ev);
  ev.actor = actor;
  ev.action = inv->mode == CK_WIRE_INV_FULL ? "inventory.full"
                                             : "inventory.delta";
  ev.object_type = "agent";
  ev.object_id = s->agent.id;
  ev.details = details != NULL ? details : "";
  if ((rc = ck_store_write_audit(sw, &ev, &err)) != CK_OK ||
      (rc = ck_store_submit_wait(store, sw, &err)) != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "gateway.inventory.store",
           CK_S("session", s->sid), CK_E(rc, ck_errctx_msg(&err)));
    ck__gw_reply_error(w, CK_ERR_AGAIN, 0, "coordinator store unavailable");
    s->inv_open = 0;
    goto out;
  }
  if (inv->mode == CK_WIRE_INV_DELTA) {
    if ((inv->removed.n > 0 || inv->n_findings > 0) &&
        (rc = prune(w, 0, &inv->removed, &c, &err)) != CK_OK)
      goto prune_failed;
    s->inv_seq = inv->seq;
  } else if (final) {
    if ((rc = prune(w, 1, NULL, &c, &err)) != CK_OK)
      goto prune_failed;
    s->inv_open = 0;
    ck__gw_inventory_reset(s);
    s->inv_seq = inv->seq;
    s->inv_have = 1;
  }
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "gateway.inventory", CK_S("session", s->sid),
         CK_S("agent", s->agent.id), CK_S("mode", ck_wire_inv_mode_name(inv->mode)),
         CK_I("seq", inv->seq), CK_I("part", part), CK_I("stored", c.stored),
         CK_I("certificates", c.certs), CK_I("unknown", c.unknown),
         CK_I("unread", c.unread), CK_I("refused", c.bad),
         CK_I("removed", c.removed));
  snprintf(msg, sizeof msg,
           "stored %zu installations, removed %zu; %zu certificates recorded "
           "from der; %zu findings of certificates this coordinator does not "
           "hold, %zu without a fingerprint; %zu findings refused%s%s%s",
           c.stored, c.removed, c.certs, c.unknown, c.unread, c.bad,
           c.bad > 0 ? " (first: " : "", c.bad > 0 ? c.first_bad : "",
           c.bad > 0 ? ")" : "");
  memset(&ack, 0, sizeof ack);
  ack.type = CK_WIRE_ACK;
  ack.id = w->msg.id;
  ack.u.ack.detail = msg;
  ck__gw_reply(w, &ack);
  goto out;
prune_failed:
  ck_log(CK_LOG_OPS, CK_LOG_ERR, "gateway.inventory.prune",
         CK_S("session", s->sid), CK_E(rc, ck_errctx_msg(&err)));
  s->inv_open = 0;
  ck__gw_reply_error(w, CK_ERR_AGAIN, 0, "coordinator store unavailable");
out:
  if (s->inv_delta) {
    s->inv_delta = 0;
    ck__gw_inventory_reset(s);
  }
  free(host);
  free(details);
  ck_store_write_free(sw);
}
