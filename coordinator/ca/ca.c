/* ca.c — loading, creating and issuing from the coordinator's CAs (ca.h). */
#include "coordinator/ca/ca.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto/crl.h"
#include "common/util/clock.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

struct ck_ca_set {
  ck_ca *cas;
  size_t n;
};

static void ca_clear(ck_ca *ca) {
  ck_certgen_issuer_free(ca->iss);
  ck_key_free(ca->key);
  ck_cert_free(ca->cert);
  free(ca->pem);
  free(ca->chain_pem);
  memset(ca, 0, sizeof *ca);
}

void ck_ca_set_free(ck_ca_set *set) {
  size_t i;

  if (set == NULL)
    return;
  for (i = 0; i < set->n; i++)
    ca_clear(&set->cas[i]);
  free(set->cas);
  free(set);
}

static ck_err load_key(const char *data_dir, const char *rel, ck_key **out,
                       ck_errctx *err) {
  char path[4200];
  uint8_t *buf = NULL;
  size_t len = 0;
  ck_err rc;

  if (rel[0] == '/')
    snprintf(path, sizeof path, "%s", rel);
  else
    snprintf(path, sizeof path, "%s/%s", data_dir, rel);
  rc = ck_fs_read_file(path, 64 * 1024, &buf, &len, err);
  if (rc != CK_OK)
    return rc;
  rc = ck_key_parse(buf, len, out, err);
  ck_crypto_free_secret(buf, len);
  if (rc != CK_OK)
    return ck_failf(err, rc, "CA key %s", path);
  return CK_OK;
}

/* Appends this CA's PEM and its parents' into chain_pem. */
static ck_err build_chain(ck_ca_set *set, ck_ca *ca) {
  size_t total = 0, off = 0;
  const ck_ca *p;
  int depth;

  for (p = ca, depth = 0; p != NULL && depth < 8; depth++) {
    total += p->pem_len;
    p = p->parent_id ? ck_ca_set_by_id(set, p->parent_id) : NULL;
  }
  ca->chain_pem = malloc(total + 1);
  if (ca->chain_pem == NULL)
    return CK_ERR_NOMEM;
  for (p = ca, depth = 0; p != NULL && depth < 8; depth++) {
    if (depth == 0 || !ck_cert_get_info(p->cert)->self_signed)
      ca->bundle_pem_len = off + p->pem_len;
    memcpy(ca->chain_pem + off, p->pem, p->pem_len);
    off += p->pem_len;
    p = p->parent_id ? ck_ca_set_by_id(set, p->parent_id) : NULL;
  }
  ca->chain_pem[off] = '\0';
  ca->chain_pem_len = off;
  return CK_OK;
}

ck_err ck_ca_set_load(ck_store *s, const char *data_dir, ck_ca_set **out,
                      ck_errctx *err) {
  ck_arena *a = ck_arena_new(64 * 1024);
  ck_ca_set *set = calloc(1, sizeof *set);
  ck_store_page pg;
  ck_store_ca *rows;
  size_t n, i;
  ck_err rc;

  *out = NULL;
  if (a == NULL || set == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "loading CAs");
    goto out;
  }
  memset(&pg, 0, sizeof pg);
  pg.limit = CK_STORE_PAGE_MAX;
  rc = ck_store_ca_list(s, &pg, a, &rows, &n, err);
  if (rc != CK_OK)
    goto out;
  if (n == 0) {
    rc = ck_failf(err, CK_ERR_CONFIG, "the store holds no CA");
    goto out;
  }
  set->cas = calloc(n, sizeof *set->cas);
  if (set->cas == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "loading CAs");
    goto out;
  }
  for (i = 0; i < n; i++) {
    ck_ca *ca = &set->cas[i];
    set->n++;
    ca->id = rows[i].id;
    ck_strlcpy(ca->name, rows[i].name, sizeof ca->name);
    ca->is_default = rows[i].is_default;
    ca->parent_id = rows[i].parent_id;
    rc = ck_cert_parse(rows[i].cert_der, rows[i].cert_der_len, &ca->cert, err);
    if (rc != CK_OK) {
      rc = ck_failf(err, rc, "CA '%s' certificate", ca->name);
      goto out;
    }
    rc = ck_pem_encode("CERTIFICATE", rows[i].cert_der, rows[i].cert_der_len,
                       &ca->pem, &ca->pem_len);
    if (rc != CK_OK)
      goto out;
    if (rows[i].key_path[0] != '\0') {
      rc = load_key(data_dir, rows[i].key_path, &ca->key, err);
      if (rc == CK_OK)
        rc = ck_certgen_issuer_new(ca->cert, ca->key, &ca->iss, err);
      if (rc != CK_OK) {
        rc = ck_failf(err, rc, "CA '%s'", ca->name);
        goto out;
      }
    }
  }
  for (i = 0; i < set->n; i++)
    if ((rc = build_chain(set, &set->cas[i])) != CK_OK)
      goto out;
  if (ck_ca_set_default(set) == NULL) {
    rc = ck_failf(err, CK_ERR_CONFIG, "no default CA with a key");
    goto out;
  }
  *out = set;
  set = NULL;
out:
  ck_ca_set_free(set);
  ck_arena_free(a);
  return rc;
}

const ck_ca *ck_ca_set_default(const ck_ca_set *set) {
  size_t i;

  for (i = 0; i < set->n; i++)
    if (set->cas[i].is_default && set->cas[i].iss != NULL)
      return &set->cas[i];
  return NULL;
}

const ck_ca *ck_ca_set_find(const ck_ca_set *set, const char *name) {
  size_t i;

  if (name == NULL || name[0] == '\0')
    return ck_ca_set_default(set);
  for (i = 0; i < set->n; i++)
    if (strcmp(set->cas[i].name, name) == 0)
      return &set->cas[i];
  return NULL;
}

const ck_ca *ck_ca_set_by_id(const ck_ca_set *set, int64_t id) {
  size_t i;

  for (i = 0; i < set->n; i++)
    if (set->cas[i].id == id)
      return &set->cas[i];
  return NULL;
}

size_t ck_ca_set_count(const ck_ca_set *set) { return set->n; }

const ck_ca *ck_ca_set_at(const ck_ca_set *set, size_t i) {
  return i < set->n ? &set->cas[i] : NULL;
}

/* fields_only: sign with ck_certgen_issue_der and parse the result's
 * fields only (ck_cert_parse_fields) instead of OpenSSL's full parse. */
static ck_err ca_issue(const ck_ca *ca, const ck_ca_issue_req *r,
                       int fields_only, ck_cert **out, ck_errctx *err) {
  char ocsp[CK_CERTGEN_MAX_URL_LEN], issuers[CK_CERTGEN_MAX_URL_LEN],
      crl[CK_CERTGEN_MAX_URL_LEN], delta[CK_CERTGEN_MAX_URL_LEN];
  const char *ocsp_p = ocsp, *issuers_p = issuers, *crl_p = crl, *delta_p = delta;
  uint8_t serial[CK_CERTGEN_SERIAL_LEN];
  ck_certgen_tmpl t;
  ck_err rc;

  if (ca->iss == NULL)
    return ck_failf(err, CK_ERR_CONFIG, "CA '%s' has no private key here", ca->name);
  if ((rc = ck_certgen_random_serial(serial)) != CK_OK)
    return ck_failf(err, rc, "random serial");
  memset(&t, 0, sizeof t);
  if (r->subject_from_csr) {
    t.subject_from_csr = 1;
  } else {
    t.subject = r->subject;
    t.n_subject = r->n_subject;
  }
  t.csr = r->csr;
  t.sans = r->sans;
  t.n_sans = r->n_sans;
  t.serial = serial;
  t.serial_len = sizeof serial;
  t.not_before = r->not_before;
  t.not_after = r->not_after;
  t.path_len = -1;
  t.key_usage = r->key_usage;
  t.eku = r->eku;
  t.n_eku = r->n_eku;
  if (r->base_url != NULL && r->base_url[0] != '\0') {
    snprintf(ocsp, sizeof ocsp, "%s/ocsp", r->base_url);
    snprintf(issuers, sizeof issuers, "%s/ca/%s.crt", r->base_url, ca->name);
    if (r->crl_shards > 1 && !ck_cert_get_info(ca->cert)->self_signed) {
      unsigned k = ck_crl_shard_of(serial, sizeof serial, (unsigned)r->crl_shards);
      snprintf(crl, sizeof crl, "%s/crl/%s-s%u.crl", r->base_url, ca->name, k);
      snprintf(delta, sizeof delta, "%s/crl/%s-s%u-delta.crl", r->base_url, ca->name, k);
    } else {
      snprintf(crl, sizeof crl, "%s/crl/%s.crl", r->base_url, ca->name);
      snprintf(delta, sizeof delta, "%s/crl/%s-delta.crl", r->base_url, ca->name);
    }
    t.ocsp_urls = &ocsp_p;
    t.n_ocsp_urls = 1;
    t.ca_issuers_urls = &issuers_p;
    t.n_ca_issuers_urls = 1;
    t.crl_urls = &crl_p;
    t.n_crl_urls = 1;
    t.freshest_crl_urls = &delta_p;
    t.n_freshest_crl_urls = 1;
  }
  if (!fields_only)
    return ck_certgen_issue(ca->iss, &t, out, err);
  {
    uint8_t *der = NULL;
    size_t der_len = 0;
    if ((rc = ck_certgen_issue_der(ca->iss, &t, &der, &der_len, err)) != CK_OK)
      return rc;
    rc = ck_cert_parse_fields(der, der_len, out, err);
    free(der);
    return rc;
  }
}

ck_err ck_ca_issue(const ck_ca *ca, const ck_ca_issue_req *r, ck_cert **out,
                   ck_errctx *err) {
  return ca_issue(ca, r, 0, out, err);
}

ck_err ck_ca_issue_fields(const ck_ca *ca, const ck_ca_issue_req *r,
                          ck_cert **out, ck_errctx *err) {
  return ca_issue(ca, r, 1, out, err);
}

ck_err ck_ca_write_pem(const char *path, const char *label, const uint8_t *der,
                       size_t len, ck_errctx *err) {
  char *pem = NULL;
  size_t pem_len;
  ck_err rc;

  rc = ck_pem_encode(label, der, len, &pem, &pem_len);
  if (rc != CK_OK)
    return ck_failf(err, rc, "encoding %s", path);
  rc = ck_fs_write_atomic(path, pem, pem_len, 0644, err);
  free(pem);
  return rc;
}

ck_err ck_ca_create(const char *data_dir, const char *name,
                    const char *key_spec, const char *cn, const char *org,
                    int64_t lifetime, const ck_cert *parent_cert,
                    const ck_key *parent_key, ck_cert **cert_out,
                    ck_key **key_out, ck_errctx *err) {
  ck_key_spec spec;
  ck_key *key = NULL;
  ck_cert *cert = NULL;
  char path[4200], *kpem = NULL;
  size_t kpem_len = 0;
  const uint8_t *der;
  size_t der_len;
  uint8_t serial[CK_CERTGEN_SERIAL_LEN];
  ck_name_attr subj[2];
  ck_certgen_tmpl t;
  int64_t now = ck_clock_now();
  ck_err rc;

  *cert_out = NULL;
  *key_out = NULL;
  if ((rc = ck_key_spec_parse(key_spec, &spec, err)) != CK_OK ||
      (rc = ck_key_generate(&spec, &key, err)) != CK_OK ||
      (rc = ck_certgen_random_serial(serial)) != CK_OK)
    goto out;
  subj[0].type = "O";
  subj[0].value = org;
  subj[1].type = "CN";
  subj[1].value = cn;
  memset(&t, 0, sizeof t);
  t.subject = subj;
  t.n_subject = 2;
  if (parent_cert != NULL)
    t.pubkey = key;
  t.serial = serial;
  t.serial_len = sizeof serial;
  t.not_before = now - 3600;
  t.not_after = now + lifetime;
  t.is_ca = 1;
  t.path_len = parent_cert == NULL ? 1 : 0;
  t.key_usage = CK_KU_KEY_CERT_SIGN | CK_KU_CRL_SIGN | CK_KU_DIGITAL_SIGNATURE;
  rc = ck_certgen_sign(&t, parent_cert, parent_cert ? parent_key : key, &cert, err);
  if (rc != CK_OK)
    goto out;
  rc = ck_key_export_pem(key, CK_KEY_PEM_PKCS8, &kpem, &kpem_len, err);
  if (rc != CK_OK)
    goto out;
  snprintf(path, sizeof path, "%s/ca/%s.key", data_dir, name);
  if ((rc = ck_fs_write_atomic(path, kpem, kpem_len, 0600, err)) != CK_OK)
    goto out;
  snprintf(path, sizeof path, "%s/ca/%s.crt", data_dir, name);
  der = ck_cert_der(cert, &der_len);
  if ((rc = ck_ca_write_pem(path, "CERTIFICATE", der, der_len, err)) != CK_OK)
    goto out;
  *cert_out = cert;
  *key_out = key;
  cert = NULL;
  key = NULL;
out:
  if (kpem != NULL)
    ck_crypto_free_secret(kpem, kpem_len);
  ck_cert_free(cert);
  ck_key_free(key);
  return rc;
}
