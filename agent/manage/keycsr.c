/* keycsr.c — key and CSR phase of a renewal (keycsr.h). */
#include "agent/manage/keycsr.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/crypto/crypto.h"
#include "common/util/fs.h"
#include "common/util/log.h"
#include "common/util/mem.h"

#define CK__KEY_MAX (64u * 1024u)
#define CK__MAX_SANS 256u
#define CK__CSR_MAX (64u * 1024u)

ck_err ck_managed_keygen(const char *spec, const char *path, ck_errctx *err) {
  ck_key_spec ks;
  ck_key *key = NULL;
  char *pem = NULL;
  size_t pem_len = 0;
  ck_err rc;

  if ((rc = ck_key_spec_parse(spec != NULL ? spec : "ec-p256", &ks, err)) !=
      CK_OK)
    goto out;
  if ((rc = ck_key_generate(&ks, &key, err)) != CK_OK)
    goto out;
  if ((rc = ck_key_export_pem(key, CK_KEY_PEM_PKCS8, &pem, &pem_len, err)) !=
      CK_OK)
    goto out;
  rc = ck_fs_write_atomic(path, pem, pem_len, 0600, err);
out:
  if (pem != NULL)
    ck_crypto_free_secret(pem, pem_len);
  ck_key_free(key);
  return rc;
}

/* Reads the private key at path (wiping the file bytes). */
static ck_err ck__read_key(const char *path, ck_key **out, ck_errctx *err) {
  uint8_t *buf = NULL;
  size_t len = 0;
  ck_err rc;

  if ((rc = ck_fs_read_file(path, CK__KEY_MAX, &buf, &len, err)) != CK_OK)
    return rc;
  rc = ck_key_parse(buf, len, out, err);
  if (rc != CK_OK)
    ck_failf(err, rc, "%s", path);
  ck_crypto_free_secret(buf, len);
  return rc;
}

ck_err ck_managed_key_spki(const char *key_path, uint8_t out[32],
                           ck_errctx *err) {
  ck_key *key = NULL;
  ck_err rc;

  if ((rc = ck__read_key(key_path, &key, err)) != CK_OK)
    return rc;
  rc = ck_key_spki_sha256(key, out, err);
  ck_key_free(key);
  return rc;
}

/* Splits "DNS:name" into a ck_san (value borrowed from text). */
static ck_err ck__san(const char *text, ck_san *out, ck_errctx *err) {
  static const struct {
    const char *prefix;
    ck_san_type type;
  } map[] = {{"DNS:", CK_SAN_DNS},
             {"IP:", CK_SAN_IP},
             {"URI:", CK_SAN_URI},
             {"email:", CK_SAN_EMAIL}};
  size_t i;

  for (i = 0; i < sizeof map / sizeof map[0]; i++) {
    size_t n = strlen(map[i].prefix);
    if (strncasecmp(text, map[i].prefix, n) == 0 && text[n] != '\0') {
      out->type = map[i].type;
      out->value = text + n;
      return CK_OK;
    }
  }
  return ck_failf(err, CK_ERR_CONFIG,
                  "SAN '%s': expected DNS:, IP:, URI: or email:", text);
}

ck_err ck_managed_csr(const char *key_path, const char *cn,
                      const char *const *sans, size_t n_sans, uint8_t **der,
                      size_t *der_len, ck_errctx *err) {
  ck_key *key = NULL;
  ck_csr *csr = NULL;
  ck_san *sv = NULL;
  ck_name_attr cn_attr = {"CN", cn};
  ck_csr_req req;
  const uint8_t *d;
  size_t i, dl = 0;
  ck_err rc;

  *der = NULL;
  *der_len = 0;
  if (n_sans > CK__MAX_SANS) {
    rc = ck_failf(err, CK_ERR_LIMIT, "more than %u SANs", CK__MAX_SANS);
    goto out;
  }
  if (n_sans > 0 && (sv = calloc(n_sans, sizeof *sv)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  for (i = 0; i < n_sans; i++)
    if ((rc = ck__san(sans[i], &sv[i], err)) != CK_OK)
      goto out;
  if ((rc = ck__read_key(key_path, &key, err)) != CK_OK)
    goto out;
  memset(&req, 0, sizeof req);
  if (cn != NULL && cn[0] != '\0') {
    req.subject = &cn_attr;
    req.n_subject = 1;
  }
  req.sans = sv;
  req.n_sans = n_sans;
  if ((rc = ck_csr_create(key, &req, &csr, err)) != CK_OK)
    goto out;
  d = ck_csr_der(csr, &dl);
  if ((*der = malloc(dl)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  memcpy(*der, d, dl);
  *der_len = dl;
out:
  ck_csr_free(csr);
  ck_key_free(key);
  free(sv);
  return rc;
}

ck_err ck_managed_csr_kept(const char *key_path, const char *csr_path,
                           const char *cn, const char *const *sans,
                           size_t n_sans, uint8_t **der, size_t *der_len,
                           ck_errctx *err) {
  ck_errctx e2 = CK_ERRCTX_INIT;
  uint8_t kspki[32];
  ck_csr *csr = NULL;
  ck_err rc;

  *der = NULL;
  *der_len = 0;
  if (ck_fs_read_file(csr_path, CK__CSR_MAX, der, der_len, &e2) == CK_OK &&
      ck_csr_parse(*der, *der_len, &csr, &e2) == CK_OK &&
      ck_managed_key_spki(key_path, kspki, &e2) == CK_OK &&
      ck_ct_equal(kspki, ck_csr_get_info(csr)->spki_sha256, 32)) {
    ck_csr_free(csr);
    return CK_OK;
  }
  ck_csr_free(csr);
  free(*der);
  *der = NULL;
  *der_len = 0;
  if ((rc = ck_managed_csr(key_path, cn, sans, n_sans, der, der_len, err)) !=
      CK_OK)
    return rc;
  ck_errctx_clear(&e2);
  if (ck_fs_write_atomic(csr_path, *der, *der_len, 0644, &e2) != CK_OK)
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.managed.csr_keep",
           CK_S("path", csr_path), CK_E(e2.code, ck_errctx_msg(&e2)));
  return CK_OK;
}
