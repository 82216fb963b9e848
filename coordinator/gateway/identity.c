/* identity.c — agent identity certificates: the client certificates agents
 * use for mutual TLS on the gateway.
 *
 * Issued from the default CA (the one the gateway's TLS context trusts for
 * client certificates), whatever names the CSR asks for: the subject is
 * CN=<agent id>, the only SAN is the URI urn:certkeeper:agent:<id>, the
 * extended key usage clientAuth, key usage digitalSignature, validity
 * [gateway] identity_validity (90 days) from now minus the configured
 * backdate. The CSR contributes its public key only (after its signature
 * proved possession). Enrollment and identity renewal (renew.c) both come
 * here; each stores the result under the profile name "agent-identity". */
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "coordinator/ca/ca.h"
#include "coordinator/gateway/gw_int.h"

ck_err ck__gw_identity_csr(const uint8_t *der, size_t len, ck_csr **out,
                           ck_errctx *err) {
  ck_csr *csr = NULL;
  const ck_key_info *k;
  ck_err rc;

  *out = NULL;
  rc = ck_csr_parse(der, len, &csr, err);
  if (rc != CK_OK)
    return ck_failf(err, CK_ERR_BAD_CSR, "csr is not a PKCS#10 request");
  rc = ck_csr_verify(csr, err);
  if (rc != CK_OK) {
    ck_csr_free(csr);
    return ck_failf(err, CK_ERR_BAD_CSR,
                    "csr signature does not verify with its own key");
  }
  k = &ck_csr_get_info(csr)->key;
  if (!((k->type == CK_KEY_RSA && k->bits >= 2048) ||
        (k->type == CK_KEY_EC && k->bits >= 256) || k->type == CK_KEY_ED25519)) {
    rc = ck_failf(err, CK_ERR_WEAK_KEY,
                  "identity key %s is not allowed (EC P-256 or larger, RSA "
                  "2048 or larger, Ed25519)", k->desc);
    ck_csr_free(csr);
    return rc;
  }
  *out = csr;
  return CK_OK;
}

ck_err ck__gw_identity_issue(ck_coord_rt *rt, const ck_gateway_opts *o,
                             const char *agent_id, const ck_csr *csr,
                             ck_arena *arena, gw_identity *out,
                             ck_errctx *err) {
  const char *eku[] = {"clientAuth"};
  char urn[sizeof CK_GW_AGENT_URN + 64];
  ck_name_attr cn;
  ck_san san;
  ck_ca_issue_req r;
  int64_t now = ck_clock_now();
  ck_err rc;

  memset(out, 0, sizeof *out);
  out->ca = ck_ca_set_default(rt->cas);
  if (out->ca == NULL)
    return ck_failf(err, CK_ERR_CONFIG, "no default CA to issue identities");
  snprintf(urn, sizeof urn, "%s%s", CK_GW_AGENT_URN, agent_id);
  cn.type = "CN";
  cn.value = agent_id;
  san.type = CK_SAN_URI;
  san.value = urn;
  memset(&r, 0, sizeof r);
  r.csr = csr;
  r.subject = &cn;
  r.n_subject = 1;
  r.sans = &san;
  r.n_sans = 1;
  r.not_before = now - (rt->set.backdate > 0 ? rt->set.backdate : 0);
  r.not_after = now + o->identity_validity;
  r.key_usage = CK_KU_DIGITAL_SIGNATURE;
  r.eku = eku;
  r.n_eku = 1;
  r.base_url = rt->set.public_http;
  rc = ck_ca_issue(out->ca, &r, &out->cert, err);
  if (rc != CK_OK)
    return ck_failf(err, rc, "issuing the identity of agent %s", agent_id);
  rc = ck_store_cert_from(out->cert, now, arena, &out->row, err);
  if (rc != CK_OK) {
    ck__gw_identity_clear(out);
    return rc;
  }
  out->row.ca_id = out->ca->id;
  out->row.profile = CK_GW_IDENTITY_PROFILE;
  out->row.owner = "";
  out->row.source = CK_CERT_SRC_ISSUED;
  return CK_OK;
}

void ck__gw_identity_clear(gw_identity *id) {
  ck_cert_free(id->cert);
  memset(id, 0, sizeof *id);
}

/* The chain is our own CA's PEM (and the leaf we just signed): decoding
 * the base64 is all it needs. Parsing each certificate (ck_cert_list_parse)
 * cost two OpenSSL 3.0 certificate parses, ~400 us, per renewal. */
ck_err ck__gw_chain_der(const char *pem, size_t pem_len, size_t skip,
                        ck_arena *arena, ck_wire_bytes **out, size_t *n,
                        ck_errctx *err) {
  ck_pem_block blk = {0};
  ck_wire_bytes *v = NULL;
  size_t pos = 0, cap = 0, seen = 0, k = 0;
  const char *p;
  ck_err rc;

  *out = NULL;
  *n = 0;
  if (pem == NULL || pem_len == 0)
    return CK_OK;
  for (p = pem; (p = strstr(p, "-----BEGIN CERTIFICATE-----")) != NULL; p++)
    cap++;
  if (cap > skip &&
      (v = ck_arena_alloc(arena, (cap - skip) * sizeof *v)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "chain: out of memory");
  for (;;) {
    rc = ck_pem_next((const uint8_t *)pem, pem_len, &pos, &blk, err);
    if (rc == CK_ERR_NOENT)
      break;
    if (rc != CK_OK)
      return rc;
    if (strcmp(blk.label, "CERTIFICATE") == 0 && seen++ >= skip && k < cap - skip) {
      uint8_t *copy = ck_arena_alloc(arena, blk.der_len);
      if (copy == NULL) {
        ck_pem_block_clear(&blk);
        return ck_failf(err, CK_ERR_NOMEM, "chain: out of memory");
      }
      memcpy(copy, blk.der, blk.der_len);
      v[k].data = copy;
      v[k].len = blk.der_len;
      k++;
    }
    ck_pem_block_clear(&blk);
  }
  *out = v;
  *n = k;
  return CK_OK;
}

void ck__gw_identity_reply(gw_work *w, const gw_identity *id,
                           const char *cert_id, const char *agent_id) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_wire_bytes *chain = NULL;
  size_t n = 0;
  ck_wire_msg m;

  if (ck__gw_chain_der(id->ca->chain_pem, id->ca->chain_pem_len, 0, w->arena,
                       &chain, &n, &err) != CK_OK) {
    ck__gw_reply_error(w, CK_ERR_INTERNAL, 0, "CA chain unavailable");
    return;
  }
  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_CERT;
  m.id = w->msg.id;
  m.u.cert.cert.data = ck_cert_der(id->cert, &m.u.cert.cert.len);
  m.u.cert.chain.v = chain;
  m.u.cert.chain.n = n;
  m.u.cert.cert_id = cert_id;
  m.u.cert.agent_id = agent_id;
  m.u.cert.renew_at = ck__gw_renew_at(w->s->gw->rt, CK_GW_IDENTITY_PROFILE,
                                      id->row.not_before, id->row.not_after);
  m.u.cert.has_renew_at = true;
  ck__gw_reply(w, &m);
}
