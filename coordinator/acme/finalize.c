/* finalize.c — ACME finalize and certificate download (RFC 8555 §7.4,
 * §7.4.2): the CSR's names must be exactly the order's identifiers and
 * its key not the account key; issuance runs through workflow/issue.h
 * under the directory's profile with the account's owner (approval
 * workflows leave the order processing); the chain is served as
 * application/pem-certificate-chain with Link rel="up"/"alternate". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/acme/acme_int.h"
#include "coordinator/acme/acme_util.h"
#include "coordinator/acme/order_state.h"
#include "coordinator/ca/ca.h"
#include "coordinator/policy/sanset.h"
#include "coordinator/workflow/issue.h"

/* -------------------------------------------------------------- finalize */

/* 1 when the CSR's DNS names (SANs and CN) are exactly the order's. */
static int csr_matches(ck_acme_call *c, const ck_csr_info *ci,
                       const json_t *ids) {
  char norm[CK_SANSET_VALUE_MAX];
  ck_errctx err = CK_ERRCTX_INIT;
  size_t i, j, found = 0;
  json_t *v;
  int wild;

  for (i = 0; i < ci->n_sans; i++) {
    int hit = 0;
    if (ci->sans[i].type != CK_SAN_DNS)
      return acme_problem(c, 400, "badCSR",
                          "the CSR asks for a %s name; only DNS names are "
                          "allowed",
                          ck_san_type_name(ci->sans[i].type));
    if (ck_sanset_normalize(CK_SAN_DNS, ci->sans[i].value, norm, sizeof norm,
                            &wild, &err) != CK_OK)
      return acme_problem(c, 400, "badCSR", "CSR name %.100s is not a DNS name",
                          ci->sans[i].value);
    for (j = 0;
         j < json_array_size(ids) && (v = json_array_get(ids, j)) != NULL; j++)
      hit |= strcmp(acme_str(v, "value"), norm) == 0;
    if (!hit)
      return acme_problem(c, 400, "badCSR",
                          "CSR name %.100s is not an identifier of the "
                          "order",
                          norm);
    found++;
  }
  if (ci->subject_cn[0] != '\0') {
    int hit = 0;
    if (ck_sanset_normalize(CK_SAN_DNS, ci->subject_cn, norm, sizeof norm,
                            &wild, &err) == CK_OK)
      for (j = 0;
           j < json_array_size(ids) && (v = json_array_get(ids, j)) != NULL;
           j++)
        hit |= strcmp(acme_str(v, "value"), norm) == 0;
    if (!hit)
      return acme_problem(c, 400, "badCSR",
                          "CSR common name %.100s is not an identifier of "
                          "the order",
                          ci->subject_cn);
  }
  /* every identifier must be asked for */
  for (j = 0; j < json_array_size(ids) && (v = json_array_get(ids, j)) != NULL;
       j++) {
    int hit = 0;
    for (i = 0; i < ci->n_sans; i++)
      if (ck_sanset_normalize(CK_SAN_DNS, ci->sans[i].value, norm, sizeof norm,
                              &wild, &err) == CK_OK &&
          strcmp(norm, acme_str(v, "value")) == 0)
        hit = 1;
    if (!hit)
      return acme_problem(c, 400, "badCSR",
                          "the CSR does not ask for %.100s, an identifier "
                          "of the order",
                          acme_str(v, "value"));
  }
  (void)found;
  return 1;
}

/* Stores the order's new status (CAS on *ver) with an audit event. */
static ck_err order_store(ck_acme_call *c, const char *id, json_t *o,
                          int64_t *ver, const char *action, json_t *details,
                          int with_cert, ck_errctx *err) {
  ck_store_write *w = ck_store_write_new();
  ck_err rc = w != NULL ? CK_OK : CK_ERR_NOMEM;

  if (rc == CK_OK)
    rc = acme_doc_put(w, ACME_K_ORDER, id, c->acct_id, acme_str(o, "status"),
                      acme_int(o, "expires"), o, *ver, err);
  if (rc == CK_OK && with_cert)
    rc = acme_put_cert_doc(w, acme_str(o, "cert_fp"), id, c->dir.name,
                           c->acct_id, err);
  if (rc == CK_OK)
    rc = acme_audit(w, c->actor, action, "acme.order", id, details, err);
  else
    json_decref(details);
  if (rc == CK_OK)
    rc = ck_store_submit_wait(c->a->rt->store, w, err);
  if (rc == CK_OK)
    (*ver)++;
  ck_store_write_free(w);
  return rc;
}

void acme_finalize(ck_acme_call *c, const char *id) {
  ck_errctx err = CK_ERRCTX_INIT;
  json_t *o = NULL;
  const char *csr_b64 = c->payload != NULL ? acme_str(c->payload, "csr") : "",
             *st;
  uint8_t *der = NULL, spki[CK_ACME_SPKI_MAX], h[CK_SHA256_LEN];
  size_t der_len = 0, spki_len = 0;
  ck_csr *csr = NULL;
  ck_issue_in in;
  ck_issue_out io;
  int64_t ver = 0;
  ck_err rc;

  memset(&io, 0, sizeof io);
  if (!acme_load_own_order(c, id, &o, &ver))
    goto out;
  st = acme_str(o, "status");
  if (strcmp(st, "processing") == 0 || strcmp(st, "valid") == 0) {
    if (strcmp(st, "processing") == 0)
      c->retry_after = (int)c->a->retry_after;
    acme_problem(c, 403, "orderNotReady",
                 "order %s is %s: it was finalized already", id, st);
    goto out;
  }
  if (!ck_acme_order_finalizable(st)) {
    acme_problem(
        c, 403, "orderNotReady",
        "order %s is %s: every authorization must be valid before finalize", id,
        st);
    goto out;
  }
  if (csr_b64[0] == '\0' || strlen(csr_b64) > 90000 ||
      (der = malloc(strlen(csr_b64))) == NULL ||
      ck_b64u_decode(csr_b64, strlen(csr_b64), der, strlen(csr_b64),
                     &der_len) != CK_OK) {
    acme_problem(c, 400, "badCSR",
                 "finalize needs csr: the DER CSR in base64url");
    goto out;
  }
  if ((rc = ck_csr_parse(der, der_len, &csr, &err)) != CK_OK ||
      (rc = ck_csr_verify(csr, &err)) != CK_OK) {
    acme_problem(c, 400, "badCSR", "the CSR is not valid: %s",
                 ck_errctx_msg(&err));
    goto out;
  }
  if (!csr_matches(c, ck_csr_get_info(csr), json_object_get(o, "identifiers")))
    goto out;
  if (ck_acme_jwk_spki(json_object_get(c->acct, "jwk"), spki, sizeof spki,
                       &spki_len) == CK_OK &&
      ck_crypto_sha256(spki, spki_len, h) == CK_OK &&
      memcmp(h, ck_csr_get_info(csr)->spki_sha256, sizeof h) == 0) {
    acme_problem(c, 400, "badCSR",
                 "the certificate key must not be the account key");
    goto out;
  }
  json_object_set_new(o, "status", json_string("processing"));
  rc = order_store(c, id, o, &ver, "acme.order.finalize",
                   json_pack("{s:s}", "dir", c->dir.name), 0, &err);
  if (rc == CK_ERR_CONFLICT) {
    acme_problem(c, 403, "orderNotReady", "order %s is being finalized", id);
    goto out;
  }
  if (rc != CK_OK) {
    acme_internal(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  memset(&in, 0, sizeof in);
  in.csr = der;
  in.csr_len = der_len;
  in.profile = acme_str(o, "profile");
  in.owner = acme_str(o, "owner")[0] ? acme_str(o, "owner") : NULL;
  in.who.kind = CK_WHO_TOKEN;
  in.who.actor = c->actor;
  in.who.role = "operator"; /* the EAB key was the operator's grant */
  /* routing (docs/approvals.md): an EAB-bound account is "acme-eab"; an
   * account of a directory without EAB proved nothing: the weakest */
  in.strength = acme_str(c->acct, "eab_kid")[0] != '\0' ? "acme-eab" : "human";
  in.justification = "ACME order";
  rc = ck_issue_run(c->a->rt, &in, &io, &err);
  if (rc == CK_OK && io.outcome == CK_ISSUE_ISSUED) {
    json_object_set_new(o, "status", json_string("valid"));
    json_object_set_new(o, "cert_fp", json_string(io.fingerprint));
    json_object_set_new(o, "serial", json_string(io.serial_hex));
    json_object_set_new(o, "request_id",
                        json_integer((json_int_t)io.request_id));
    rc = order_store(c, id, o, &ver, "acme.order.valid",
                     json_pack("{s:s,s:s}", "fingerprint", io.fingerprint,
                               "serial", io.serial_hex),
                     1, &err);
    if (rc != CK_OK) {
      acme_internal(c, rc, ck_errctx_msg(&err));
      goto out;
    }
  } else if (rc == CK_OK) { /* pending approval (docs/approvals.md) */
    json_object_set_new(o, "request_id",
                        json_integer((json_int_t)io.request_id));
    json_object_set_new(o, "wf_id", json_string(io.wf_id));
    if ((rc = order_store(c, id, o, &ver, "acme.order.pending",
                          json_pack("{s:s}", "reason", io.reason), 0, &err)) !=
        CK_OK) {
      acme_internal(c, rc, ck_errctx_msg(&err));
      goto out;
    }
    c->retry_after = (int)c->a->retry_after;
  } else {
    int bad_csr = rc == CK_ERR_BAD_CSR;
    const char *type = rc == CK_ERR_DENIED ? "rejectedIdentifier" : "badCSR";
    char msg[512];
    ck_errctx e2 = CK_ERRCTX_INIT;
    ck_strlcpy(msg, ck_errctx_msg(&err), sizeof msg);
    if (rc != CK_ERR_DENIED && !bad_csr) {
      json_object_set_new(o, "status", json_string("ready")); /* may retry */
      order_store(c, id, o, &ver, "acme.order.error",
                  json_pack("{s:s}", "error", msg), 0, &e2);
      acme_internal(c, rc, msg);
      goto out;
    }
    json_object_set_new(o, "status", json_string("invalid"));
    json_object_set_new(o, "error", ck_acme_problem_obj(type, msg));
    order_store(c, id, o, &ver, "acme.order.refused",
                json_pack("{s:s}", "reason", msg), 0, &e2);
    acme_problem(c, bad_csr ? 400 : 403, type, "%s", msg);
    goto out;
  }
  snprintf(c->location, sizeof c->location, "%s/order/%s", c->base, id);
  acme_json(c, 200, acme_order_json(c, id, o));
out:
  ck_issue_out_clear(&io);
  ck_csr_free(csr);
  free(der);
  json_decref(o);
}

/* -------------------------------------------------------------- certificate */

void acme_cert(ck_acme_call *c, const char *id, int alt) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *ar = NULL;
  ck_store_cert sc;
  const ck_ca *ca;
  json_t *o = NULL;
  char *pem = NULL, *body = NULL, u[900];
  size_t pem_len = 0, chain_len;
  int64_t ver;
  ck_err rc;

  if (!acme_load_own_order(c, id, &o, &ver))
    goto out;
  if (strcmp(acme_str(o, "status"), "valid") != 0) {
    acme_problem(c, 403, "orderNotReady",
                 "order %s has no certificate (it is %s)", id,
                 acme_str(o, "status"));
    goto out;
  }
  if (alt && !c->dir.alt_chains) {
    acme_problem(c, 404, "malformed", "directory %s offers no alternate chain",
                 c->dir.name);
    goto out;
  }
  if ((ar = ck_arena_new(8192)) == NULL) {
    acme_internal(c, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  if ((rc = ck_store_cert_get(c->a->rt->store, acme_str(o, "cert_fp"), 1, ar,
                              &sc, &err)) != CK_OK ||
      (rc = ck_pem_encode("CERTIFICATE", sc.der, sc.der_len, &pem, &pem_len)) !=
          CK_OK) {
    acme_internal(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  ca = ck_ca_set_by_id(c->a->rt->cas, sc.ca_id);
  /* default: leaf + intermediates (what a server sends); alternate: with
   * the root too */
  chain_len = ca == NULL ? 0 : alt ? ca->chain_pem_len : ca->bundle_pem_len;
  if ((body = malloc(pem_len + chain_len + 1)) == NULL) {
    acme_internal(c, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  memcpy(body, pem, pem_len);
  if (chain_len > 0)
    memcpy(body + pem_len, ca->chain_pem, chain_len);
  if (ca != NULL && c->a->rt->set.public_http[0] != '\0')
    snprintf(c->link_up, sizeof c->link_up, "%s/ca/%s.crt",
             c->a->rt->set.public_http, ca->name);
  if (!alt && c->dir.alt_chains)
    snprintf(c->link_alt, sizeof c->link_alt, "%s",
             acme_url(c, u, sizeof u, "cert/%s/alt", id));
  free(c->body);
  c->body = body;
  body = NULL;
  c->body_len = pem_len + chain_len;
  c->status = 200;
  c->ctype = "application/pem-certificate-chain";
out:
  free(body);
  free(pem);
  ck_arena_free(ar);
  json_decref(o);
}
