/* enroll.c — the EST enrollment decision (RFC 7030 §4.2, §4.4):
 * authenticate (auth.c), check the label, the names against the fleet's
 * patterns, re-enrollment's "same subject and SANs" rule, the fleet's rate
 * limit, then issue through workflow/issue.h under the fleet's profile so
 * policy, inventory and audit apply as for every other protocol. The
 * device record ("est.device") and the consumption of a one-time password
 * commit in the same store write as the certificate, so a replayed
 * password can never yield a second certificate. A request the profile
 * routes to approval spends the one-time password on that request, bound
 * to its CSR; the device collects the approved certificate by sending the
 * same CSR again, and that delivery records the device (record_late).
 *
 * Every decision is audited: issuance by the issuance write itself (plus
 * the "est.enroll" event), refusals by an "est.refused" event; refusals
 * also go to the security log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/crypto/pkcs7.h"
#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/ca/ca.h"
#include "coordinator/est/est_int.h"
#include "coordinator/workflow/issue.h"

void ck_estd_result_clear(ck_estd_result *r) {
  if (r == NULL)
    return;
  free(r->p7);
  if (r->key_der != NULL)
    ck_crypto_free_secret(r->key_der, r->key_len);
  memset(r, 0, sizeof *r);
}

void ck_estd_refused(ck_coord_rt *rt, const ck_estd_req *in, const char *fleet,
                     const ck_estd_result *out) {
  char details[1024], actor[160];
  ck_store_write *w = ck_store_write_new();
  ck_audit_event ev;
  char msg[600]; /* the message, quote-escaped for the JSON details */
  size_t i, o = 0;

  for (i = 0; out->message[i] != '\0' && o + 2 < sizeof msg; i++) {
    char c = out->message[i];
    if (c == '"' || c == '\\')
      msg[o++] = '\\';
    msg[o++] = (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  msg[o] = '\0';
  ck_log(CK_LOG_SEC, CK_LOG_WARN, "est.refused",
         CK_S("op", ck_estd_op_name(in->op)),
         CK_S("fleet", fleet != NULL ? fleet : ""), CK_I("status", out->status),
         CK_S("reason", out->message),
         CK_S("peer", in->peer != NULL ? in->peer : ""));
  if (w == NULL)
    return;
  snprintf(actor, sizeof actor, "est:%s",
           fleet != NULL && fleet[0] != '\0' ? fleet : "unknown");
  snprintf(details, sizeof details,
           "{\"op\":\"%s\",\"status\":%d,\"reason\":\"%s\",\"peer\":\"%.64s\"}",
           ck_estd_op_name(in->op), out->status, msg,
           in->peer != NULL ? in->peer : "");
  memset(&ev, 0, sizeof ev);
  ev.actor = actor;
  ev.action = "est.refused";
  ev.object_type = "est.fleet";
  ev.object_id = fleet != NULL ? fleet : "";
  ev.details = details;
  if (ck_store_write_audit(w, &ev, NULL) == CK_OK)
    (void)ck_store_submit_wait(rt->store, w, NULL);
  ck_store_write_free(w);
}

/* ------------------------------------------------------------ the names */

/* 1 when a and b hold the same DNS names (case-insensitive), each list
 * extended with its CN. */
static int add_name(const char **set, size_t *n, size_t cap, const char *name) {
  size_t i;

  if (name == NULL || name[0] == '\0')
    return 1;
  for (i = 0; i < *n; i++)
    if (strcasecmp(set[i], name) == 0)
      return 1;
  if (*n == cap)
    return 0;
  set[(*n)++] = name;
  return 1;
}

static int subset(const char **a, size_t na, const char **b, size_t nb) {
  size_t i, j;

  for (i = 0; i < na; i++) {
    for (j = 0; j < nb && strcasecmp(a[i], b[j]) != 0; j++)
      ;
    if (j == nb)
      return 0;
  }
  return 1;
}

#define NAMES_MAX 64

/* RFC 7030 §4.2.2: the re-enrollment CSR keeps the subject and SANs of the
 * certificate it renews. Profiles rewrite the subject to the CN and may add
 * the CN as a SAN, so this compares the CN and the sets of names (CN and
 * SANs together). */
static int same_identity(const ck_csr_info *ri, const ck_cert_info *ci,
                         char *why, size_t wlen) {
  const char *a[NAMES_MAX], *b[NAMES_MAX];
  size_t na = 0, nb = 0, i;

  if (strcasecmp(ri->subject_cn, ci->subject_cn) != 0) {
    snprintf(why, wlen,
             "the CSR's subject CN '%.100s' differs from '%.100s' in the "
             "certificate "
             "being renewed",
             ri->subject_cn, ci->subject_cn);
    return 0;
  }
  add_name(a, &na, NAMES_MAX, ri->subject_cn);
  for (i = 0; i < ri->n_sans; i++)
    if (!add_name(a, &na, NAMES_MAX, ri->sans[i].value))
      break;
  add_name(b, &nb, NAMES_MAX, ci->subject_cn);
  for (i = 0; i < ci->n_sans; i++)
    if (!add_name(b, &nb, NAMES_MAX, ci->sans[i].value))
      break;
  if (!subset(a, na, b, nb) || !subset(b, nb, a, na)) {
    snprintf(
        why, wlen,
        "the CSR's subjectAltNames differ from those of the certificate being "
        "renewed (RFC 7030 4.2.2: they must be identical)");
    return 0;
  }
  return 1;
}

/* Every name the CSR asks for must match the fleet's patterns. */
static int names_allowed(const ck__estd_who *who, const ck_csr_info *ri,
                         char *why, size_t wlen) {
  const char *pats = who->fleet.patterns;
  size_t i;

  if (pats[0] == '\0')
    return 1;
  if (ri->subject_cn[0] != '\0' &&
      !ck_estd_patterns_match(pats, ri->subject_cn, who->device)) {
    snprintf(why, wlen,
             "subject CN '%.100s' is outside fleet '%s' (allowed: %.200s)",
             ri->subject_cn, who->fleet.name, pats);
    return 0;
  }
  for (i = 0; i < ri->n_sans; i++) {
    if (ri->sans[i].type != CK_SAN_DNS) {
      snprintf(why, wlen,
               "subjectAltName %s:%.100s: fleet '%s' allows DNS names only",
               ck_san_type_name(ri->sans[i].type), ri->sans[i].value,
               who->fleet.name);
      return 0;
    }
    if (!ck_estd_patterns_match(pats, ri->sans[i].value, who->device)) {
      snprintf(
          why, wlen,
          "subjectAltName DNS:%.100s is outside fleet '%s' (allowed: %.200s)",
          ri->sans[i].value, who->fleet.name, pats);
      return 0;
    }
  }
  if (ri->subject_cn[0] == '\0' && ri->n_sans == 0) {
    snprintf(why, wlen, "the CSR names nothing (no CN, no subjectAltName)");
    return 0;
  }
  return 1;
}

/* ------------------------------------------------------ channel binding */

/* 1 when the base64 of value equals text (constant time on equal lengths). */
static int b64_equals(const uint8_t *value, size_t len, const char *text) {
  char *enc = NULL;
  size_t el = 0;
  int eq;

  if (len == 0 || ck_b64_encode(value, len, 0, &enc, &el, NULL) != CK_OK)
    return 0;
  eq = el == strlen(text) && ck_ct_equal(enc, text, el);
  free(enc);
  return eq;
}

/* RFC 7030 §3.5: a client that binds its request to the TLS channel puts
 * the base64 tls-unique value in the CSR's challengePassword. Under TLS 1.2
 * a challengePassword that is not this connection's tls-unique is refused
 * (the CSR was made for another channel: a relay). tls-unique does not
 * exist under TLS 1.3 (RFC 8446 §C.5); there the tls-exporter value
 * (RFC 9266) is accepted as the binding, and any other challengePassword is
 * ignored (logged): it cannot be checked. *bound says whether the request
 * was bound. Returns 0 when it holds, else the refusal's status (400 for
 * a malformed attribute, 403 for another channel's binding) with a
 * message in why. */
static int channel_binding_check(const ck_estd_req *in, int *bound, char *why,
                                 size_t wlen) {
  ck_errctx e2 = CK_ERRCTX_INIT;
  char cp[256];
  ck_err rc;

  *bound = 0;
  rc = ck_csr_challenge_password(in->csr, cp, sizeof cp, &e2);
  if (rc == CK_ERR_NOENT)
    return 0;
  if (rc != CK_OK) {
    snprintf(why, wlen,
             "the CSR's challengePassword (channel binding, RFC 7030 3.5) is "
             "malformed: %.200s",
             ck_errctx_msg(&e2));
    return 400;
  }
  if (in->tls_unique_len > 0) {
    if (!b64_equals(in->tls_unique, in->tls_unique_len, cp)) {
      snprintf(
          why, wlen,
          "channel binding failed: the CSR's challengePassword is not this TLS "
          "connection's tls-unique (RFC 7030 3.5)");
      ck_wipe(cp, sizeof cp);
      return 403;
    }
    *bound = 1;
  } else if (b64_equals(in->tls_exporter, in->tls_exporter_len, cp)) {
    *bound = 1;
  } else {
    ck_log(CK_LOG_SEC, CK_LOG_NOTICE, "est.binding.unchecked",
           CK_S("msg",
                "challengePassword present but tls-unique is undefined on this "
                "connection (TLS 1.3); ignored"),
           CK_S("peer", in->peer != NULL ? in->peer : ""));
  }
  ck_wipe(cp, sizeof cp);
  return 0;
}

/* -------------------------------------------------------- serverkeygen */

/* Generates the device's key (same type as the CSR's, EC P-256 when the
 * CSR's is not one we generate) and a CSR for it with the request's CN and
 * SANs. *key and *csr caller-owned. */
static ck_err keygen(const ck_csr_info *ri, ck_key **key, ck_csr **csr,
                     ck_errctx *err) {
  ck_key_spec spec = {CK_KEY_EC, 256};
  ck_name_attr cn = {"CN", ri->subject_cn};
  ck_csr_req req;
  ck_err rc;

  if (ri->key.type == CK_KEY_RSA && ri->key.bits >= 2048 &&
      ri->key.bits <= 4096 && ri->key.bits % 8 == 0) {
    spec.type = CK_KEY_RSA;
    spec.bits = ri->key.bits;
  } else if (ri->key.type == CK_KEY_EC && ri->key.bits == 384) {
    spec.bits = 384;
  }
  if ((rc = ck_key_generate(&spec, key, err)) != CK_OK)
    return rc;
  memset(&req, 0, sizeof req);
  req.subject = &cn;
  req.n_subject = ri->subject_cn[0] != '\0' ? 1 : 0;
  req.sans = ri->sans;
  req.n_sans = ri->n_sans;
  return ck_csr_create(*key, &req, csr, err);
}

/* PKCS#8 DER of key (wiped buffer, caller frees with ck_crypto_free_secret). */
static ck_err key_pkcs8(const ck_key *key, uint8_t **der, size_t *len,
                        ck_errctx *err) {
  ck_pem_block blk = {0};
  char *pem = NULL;
  size_t plen = 0, pos = 0;
  ck_err rc;

  if ((rc = ck_key_export_pem(key, CK_KEY_PEM_PKCS8, &pem, &plen, err)) !=
      CK_OK)
    return rc;
  rc = ck_pem_next((const uint8_t *)pem, plen, &pos, &blk, err);
  ck_crypto_free_secret(pem, plen);
  if (rc != CK_OK)
    return rc;
  *der = blk.der; /* handed over: not cleared */
  *len = blk.der_len;
  return CK_OK;
}

/* ---------------------------------------------------------- issuance */

/* text for a JSON string inside audit details: quotes and backslashes
 * escaped, control bytes replaced (a device id may come from an IDevID
 * certificate's subject). */
static const char *json_safe(const char *in, char *out, size_t cap) {
  size_t i, o = 0;

  for (i = 0; in[i] != '\0' && o + 3 < cap; i++) {
    char c = in[i];
    if (c == '"' || c == '\\')
      out[o++] = '\\';
    out[o++] = ((unsigned char)c >= 0x20 && c != 0x7f) ? c : '?';
  }
  out[o] = '\0';
  return out;
}

typedef struct extra_ctx {
  const ck__estd_who *who;
  const ck_estd_req *in;
  int bound; /* the CSR was bound to the TLS channel */
  int ran;   /* extra_ops ran: the certificate was issued by this call */
} extra_ctx;

/* Runs inside the issuance write (issue.h on_issue): the device record,
 * the one-time password's consumption, the EST audit event. */
static ck_err extra_ops(ck_store_write *w, const ck_store_cert *sc,
                        const char *chain, void *arg, ck_errctx *err) {
  extra_ctx *x = arg;
  const ck__estd_who *who = x->who;
  char details[768], actor[160], dev[101];
  ck_audit_event ev;
  ck_err rc;

  (void)chain;
  x->ran = 1;
  if ((rc = ck_estd_device_put(w, sc->fingerprint, who->fleet.name, who->device,
                               ck__estd_auth_name(who->kind), who->renews,
                               err)) != CK_OK)
    return rc;
  if (who->kind == CK__ESTD_AUTH_OTP) {
    ck_estd_otp used = who->otp;
    used.used_at = ck_clock_now();
    memcpy(used.used_for, sc->fingerprint, sizeof used.used_for);
    if ((rc = ck_estd_otp_put(w, &used, who->otp.version, err)) != CK_OK)
      return rc;
  }
  snprintf(actor, sizeof actor, "est:%s", who->fleet.name);
  snprintf(
      details, sizeof details,
      "{\"op\":\"%s\",\"fleet\":\"%s\",\"auth\":\"%s\",\"device\":\"%.100s\","
      "\"serial\":\"%.64s\",\"renews\":\"%s\",\"channel_bound\":%s}",
      ck_estd_op_name(x->in->op), who->fleet.name,
      ck__estd_auth_name(who->kind), json_safe(who->device, dev, sizeof dev),
      sc->serial_hex, who->renews,
      x->bound ? "true" : "false");
  memset(&ev, 0, sizeof ev);
  ev.actor = actor;
  ev.action =
      x->in->op == CK_ESTD_OP_SIMPLEREENROLL ? "est.reenroll" : "est.enroll";
  ev.object_type = "cert";
  ev.object_id = sc->fingerprint;
  ev.details = details;
  return ck_store_write_audit(w, &ev, err);
}

/* Builds the certs-only answer: the issued certificate, then chain_pem's
 * certificates (the issued leaf, which chain_pem starts with, skipped). */
static ck_err answer_p7(const uint8_t *leaf, size_t leaf_len,
                        const char *chain_pem, ck_estd_result *out,
                        ck_errctx *err) {
  ck_cert_list l = {0};
  ck_pkcs7_cert items[16];
  size_t n = 0, i;
  ck_err rc;

  items[n].der = leaf;
  items[n++].len = leaf_len;
  if (chain_pem != NULL &&
      (rc = ck_cert_list_parse(&l, (const uint8_t *)chain_pem,
                               strlen(chain_pem), err)) != CK_OK)
    return rc;
  for (i = 0; i < l.n && n < 16; i++) {
    size_t len;
    const uint8_t *der = ck_cert_der(l.certs[i], &len);
    if (len == leaf_len && memcmp(der, leaf, len) == 0)
      continue;
    items[n].der = der;
    items[n++].len = len;
  }
  rc = ck_pkcs7_certs_only_build(items, n, &out->p7, &out->p7_len, err);
  ck_cert_list_clear(&l);
  return rc;
}

/* The EST event of a request that did not issue at once, in its own write:
 *   pending    the profile routes it to approval: a one-time password is
 *              consumed now, bound to this CSR (only it may collect);
 *   delivered  the approved certificate handed to the device: its
 *              "est.device" record (re-enrollment needs it) and, for a
 *              one-time password, the certificate it paid for.
 * Returns CK_ERR_CONFLICT when the password was used meanwhile, or when
 * the delivery was already recorded. */
static ck_err record_late(ck_coord_rt *rt, const ck_estd_req *in,
                          const ck__estd_who *who, const ck_issue_out *io,
                          const ck_csr *csr, ck_errctx *err) {
  ck_store_write *w = ck_store_write_new();
  int pending = io->outcome == CK_ISSUE_PENDING;
  char details[768], actor[160], dev[101];
  ck_audit_event ev;
  ck_estd_otp used;
  ck_err rc = CK_OK;

  if (w == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "EST record");
  if (!pending)
    rc = ck_estd_device_put(w, io->fingerprint, who->fleet.name, who->device,
                            ck__estd_auth_name(who->kind), who->renews, err);
  if (rc == CK_OK && who->kind == CK__ESTD_AUTH_OTP) {
    used = who->otp;
    if (used.used_at == 0)
      used.used_at = ck_clock_now();
    if (pending)
      rc = ck__estd_csr_digest(csr, used.pending_csr);
    else
      memcpy(used.used_for, io->fingerprint, sizeof used.used_for);
    if (rc == CK_OK)
      rc = ck_estd_otp_put(w, &used, who->otp.version, err);
  }
  if (rc == CK_OK) {
    snprintf(actor, sizeof actor, "est:%s", who->fleet.name);
    snprintf(details, sizeof details,
             "{\"op\":\"%s\",\"fleet\":\"%s\",\"auth\":\"%s\","
             "\"device\":\"%.100s\",\"request\":\"%.47s\","
             "\"serial\":\"%.64s\"}",
             ck_estd_op_name(in->op), who->fleet.name,
             ck__estd_auth_name(who->kind),
             json_safe(who->device, dev, sizeof dev), io->wf_id,
             io->serial_hex);
    memset(&ev, 0, sizeof ev);
    ev.actor = actor;
    ev.action = pending ? "est.enroll.pending" : "est.enroll.delivered";
    ev.object_type = pending ? "request" : "cert";
    ev.object_id = pending ? io->wf_id : io->fingerprint;
    ev.details = details;
    rc = ck_store_write_audit(w, &ev, err);
  }
  if (rc == CK_OK)
    rc = ck_store_submit_wait(rt->store, w, err);
  ck_store_write_free(w);
  return rc;
}

/* Whether record_late has something to record: a one-time password not
 * yet spent on the pending request, or a delivery not yet recorded. */
static int late_needed(ck_coord_rt *rt, const ck__estd_who *who,
                       const ck_issue_out *io) {
  char fleet[CK_ESTD_NAME_MAX], device[CK_STORE_NAME_MAX];

  if (io->outcome == CK_ISSUE_PENDING)
    return who->kind == CK__ESTD_AUTH_OTP && !who->otp_pending;
  return ck_estd_device_get(rt->store, io->fingerprint, fleet, device,
                            sizeof device, NULL) == CK_ERR_NOT_FOUND;
}

static void issue(ck_coord_rt *rt, const ck_estd_req *in, ck__estd_who *who,
                  const ck_csr *csr, int bound, ck_estd_result *out) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_issue_in ii;
  ck_issue_out io;
  extra_ctx x = {who, in, bound, 0};
  char actor[200], agent[96], owner[CK_STORE_NAME_MAX];
  size_t der_len;
  ck_err rc;

  memset(&ii, 0, sizeof ii);
  memset(&io, 0, sizeof io);
  snprintf(actor, sizeof actor, "est:%s/%.100s", who->fleet.name,
           who->device[0] != '\0' ? who->device
                                  : ck__estd_auth_name(who->kind));
  snprintf(agent, sizeof agent, "est.%s",
           who->fleet.name); /* a valid profile group name */
  ck_strlcpy(owner, who->fleet.owners, sizeof owner);
  owner[strcspn(owner, "\n")] = '\0';
  ii.csr = ck_csr_der(csr, &der_len);
  ii.csr_len = der_len;
  ii.profile = who->fleet.profile;
  ii.owner = owner[0] != '\0' ? owner : NULL;
  ii.who.kind = CK_WHO_AGENT;
  ii.who.actor = actor;
  ii.who.agent_id = agent;
  ii.who.group = agent;
  ii.strength = who->kind == CK__ESTD_AUTH_IDEVID     ? "est-idevid"
                : who->kind == CK__ESTD_AUTH_REENROLL ? "agent-mtls"
                                                      : "api-token";
  ii.on_issue = extra_ops;
  ii.on_issue_arg = &x;
  rc = ck_issue_run(rt, &ii, &io, &err);
  /* not issued by this call (waits for approval, or delivered once
   * approved): record what EST must know; a one-time password is spent */
  if (rc == CK_OK && !x.ran && late_needed(rt, who, &io)) {
    rc = record_late(rt, in, who, &io, csr, &err);
    if (rc == CK_ERR_CONFLICT && who->kind != CK__ESTD_AUTH_OTP)
      rc = CK_OK; /* a concurrent collection recorded the delivery */
  }
  if (rc == CK_ERR_CONFLICT && who->kind == CK__ESTD_AUTH_OTP) {
    ck__estd_refuse(out, 401, "this one-time password has already been used");
  } else if (rc == CK_ERR_DENIED) {
    ck__estd_refuse(out, 403, "refused by profile '%s': %s", who->fleet.profile,
                    ck_errctx_msg(&err));
  } else if (rc == CK_ERR_BAD_CSR) {
    ck__estd_refuse(out, 400, "%s", ck_errctx_msg(&err));
  } else if (rc == CK_ERR_NOT_FOUND) {
    ck__estd_refuse(out, 500,
                    "fleet '%s' names profile '%s', which does not exist",
                    who->fleet.name, who->fleet.profile);
  } else if (rc != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "est.issue.failed",
           CK_S("fleet", who->fleet.name), CK_E(rc, ck_errctx_msg(&err)));
    ck__estd_refuse(out, 500, "issuance failed; see the coordinator's log");
  } else if (io.outcome == CK_ISSUE_PENDING) {
    out->status = 202;
    out->retry_after = 600;
    snprintf(out->message, sizeof out->message,
             "the request awaits approval (%.300s%s%.47s); retry later",
             io.reason, io.wf_id[0] != '\0' ? ", request " : "", io.wf_id);
  } else if ((rc = answer_p7(io.leaf_der, io.leaf_der_len, io.chain_pem, out,
                             &err)) != CK_OK) {
    ck__estd_refuse(out, 500, "building the PKCS#7 answer failed: %s",
                    ck_errctx_msg(&err));
  } else {
    out->status = 200;
    ck_log(CK_LOG_OPS, CK_LOG_INFO, "est.issued",
           CK_S("op", ck_estd_op_name(in->op)), CK_S("fleet", who->fleet.name),
           CK_S("auth", ck__estd_auth_name(who->kind)),
           CK_S("serial", io.serial_hex));
  }
  ck_issue_out_clear(&io);
}

void ck_estd_enroll(ck_coord_rt *rt, const ck_estd_req *in,
                    ck_estd_result *out) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck__estd_who who;
  ck_estd_fleet lf;
  const ck_csr_info *ri = ck_csr_get_info(in->csr);
  ck_key *key = NULL;
  ck_csr *gen = NULL;
  char why[512];
  int wait, status, bound = 0;
  ck_err rc;

  memset(out, 0, sizeof *out);
  memset(&lf, 0, sizeof lf);
  if (!ck__estd_authenticate(rt, in, &who, out))
    goto refuse;
  if (in->label[0] != '\0') {
    rc = ck_estd_fleet_by_label(rt->store, in->label, &lf, &err);
    if (rc == CK_ERR_NOT_FOUND) {
      ck__estd_refuse(out, 404, "no EST label '%s'", in->label);
      goto refuse;
    }
    if (rc != CK_OK) {
      ck__estd_refuse(out, 500, "store: %s", ck_errctx_msg(&err));
      goto refuse;
    }
    if (strcmp(lf.name, who.fleet.name) != 0) {
      ck__estd_refuse(out, 403, "fleet '%s' is not served under label '%s'",
                      who.fleet.name, in->label);
      goto refuse;
    }
  }
  if ((status = channel_binding_check(in, &bound, why, sizeof why)) != 0) {
    ck__estd_refuse(out, status, "%s", why);
    goto refuse;
  }
  if (in->op == CK_ESTD_OP_SIMPLEREENROLL &&
      !same_identity(ri, ck_cert_get_info(who.presented), why, sizeof why)) {
    ck__estd_refuse(out, 403, "%s", why);
    goto refuse;
  }
  if (!names_allowed(&who, ri, why, sizeof why)) {
    ck__estd_refuse(out, 403, "%s", why);
    goto refuse;
  }
  if ((wait = ck_estd_rate_take(who.fleet.name, who.fleet.rate_per_min)) > 0) {
    ck__estd_refuse(out, 429,
                    "fleet '%s' is over its limit of %u enrollments per minute",
                    who.fleet.name, who.fleet.rate_per_min);
    out->retry_after = wait;
    goto refuse;
  }
  if (in->op == CK_ESTD_OP_SERVERKEYGEN) {
    if ((rc = keygen(ri, &key, &gen, &err)) != CK_OK) {
      ck__estd_refuse(out, rc == CK_ERR_INVAL ? 400 : 500,
                      "server key generation: %s", ck_errctx_msg(&err));
      goto refuse;
    }
    issue(rt, in, &who, gen, bound, out);
    if (out->status == 200 &&
        (rc = key_pkcs8(key, &out->key_der, &out->key_len, &err)) != CK_OK)
      ck__estd_refuse(out, 500, "exporting the generated key failed: %s",
                      ck_errctx_msg(&err));
  } else {
    issue(rt, in, &who, in->csr, bound, out);
  }
  if (out->status >= 400)
    goto refuse;
  goto out;
refuse:
  ck_estd_refused(rt, in, who.fleet.name[0] != '\0' ? who.fleet.name : NULL,
                  out);
  free(out->p7);
  out->p7 = NULL;
  out->p7_len = 0;
out:
  ck_key_free(key);
  ck_csr_free(gen);
  ck_estd_fleet_clear(&lf);
  ck__estd_who_clear(&who);
}
