/* deploy.c — install / reload / verify / rollback phases (deploy.h). */
#include "agent/manage/deploy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/manage/served.h"
#include "common/crypto/crypto.h"
#include "common/util/fs.h"

#define CK__NEXT_MAX (1024u * 1024u)
#define CK__KEY_MAX (64u * 1024u)

ck_err ck_deploy_write_next(const char *path, const ck_wire_bytes *cert,
                            const ck_wire_bytes *chain, size_t n_chain,
                            ck_errctx *err) {
  char *buf = NULL, *pem = NULL;
  size_t used = 0, cap = 0, pl = 0, i;
  ck_err rc = CK_OK;

  for (i = 0; i <= n_chain; i++) {
    const ck_wire_bytes *b = i == 0 ? cert : &chain[i - 1];
    char *nb;
    if (b->data == NULL || b->len == 0) {
      rc = ck_failf(err, CK_ERR_INVAL, "certificate %zu is empty", i);
      goto out;
    }
    if ((rc = ck_pem_encode("CERTIFICATE", b->data, b->len, &pem, &pl)) !=
        CK_OK) {
      ck_failf(err, rc, "PEM encoding certificate %zu", i);
      goto out;
    }
    if (used + pl + 1 > cap) {
      cap = (used + pl + 1) * 2;
      if ((nb = realloc(buf, cap)) == NULL) {
        rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
        goto out;
      }
      buf = nb;
    }
    memcpy(buf + used, pem, pl);
    used += pl;
    free(pem);
    pem = NULL;
  }
  rc = ck_fs_write_atomic(path, buf, used, 0644, err);
out:
  free(pem);
  free(buf);
  return rc;
}

ck_err ck_deploy_write_roots(const char *path, const ck_wire_bytes *roots,
                             size_t n, ck_errctx *err) {
  if (n == 0) {
    if (unlink(path) != 0 && errno != ENOENT)
      return ck_failf(err, ck_err_from_errno(errno), "removing %s", path);
    return CK_OK;
  }
  /* same PEM layout as next.crt: roots[0] first, then the rest */
  return ck_deploy_write_next(path, &roots[0], roots + 1, n - 1, err);
}

/* Reads next.crt into list (leaf first). */
static ck_err ck__read_list(const char *path, ck_cert_list *list,
                            ck_errctx *err) {
  uint8_t *buf = NULL;
  size_t len = 0;
  ck_err rc;

  if ((rc = ck_fs_read_file(path, CK__NEXT_MAX, &buf, &len, err)) != CK_OK)
    return rc;
  if ((rc = ck_cert_list_parse(list, buf, len, err)) != CK_OK)
    ck_failf(err, rc, "%s", path);
  free(buf);
  return rc;
}

ck_err ck_deploy_read_next(const char *path, uint8_t fp[32],
                           uint8_t spki[32], int64_t *not_before,
                           int64_t *not_after, ck_errctx *err) {
  ck_cert_list l = {0};
  const ck_cert_info *ci;
  ck_err rc;

  if ((rc = ck__read_list(path, &l, err)) != CK_OK)
    goto out;
  ci = ck_cert_get_info(l.certs[0]);
  if (fp != NULL)
    memcpy(fp, ci->sha256, 32);
  if (spki != NULL)
    memcpy(spki, ci->spki_sha256, 32);
  if (not_before != NULL)
    *not_before = ci->not_before;
  if (not_after != NULL)
    *not_after = ci->not_after;
out:
  ck_cert_list_clear(&l);
  return rc;
}

ck_err ck_deploy_install(const ck_deploy *d, int64_t now, uint8_t new_fp[32],
                         int *bad_pair, ck_errctx *err) {
  ck_cert_list l = {0}, roots = {0};
  ck_wire_bytes *chain = NULL, *rdv = NULL;
  uint8_t *key = NULL;
  size_t key_len = 0, i;
  ck_target_pair p;
  const char *trust = d->trust_pem;
  ck_err rc;

  *bad_pair = 0;
  if ((rc = ck__read_list(d->next_crt, &l, err)) != CK_OK) {
    *bad_pair = rc != CK_ERR_NOENT && rc != CK_ERR_IO && rc != CK_ERR_NOMEM;
    goto out;
  }
  if ((rc = ck_fs_read_file(d->next_key, CK__KEY_MAX, &key, &key_len, err)) !=
      CK_OK)
    goto out;
  if (l.n > 1 && (chain = calloc(l.n - 1, sizeof *chain)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  for (i = 1; i < l.n; i++)
    chain[i - 1].data = ck_cert_der(l.certs[i], &chain[i - 1].len);
  memset(&p, 0, sizeof p);
  p.key_pem = (const char *)key;
  p.key_pem_len = key_len;
  p.cert_der = ck_cert_der(l.certs[0], &p.cert_der_len);
  p.chain = chain;
  p.n_chain = l.n - 1;
  if (trust != NULL && access(trust, R_OK) != 0)
    trust = NULL; /* not enrolled (tests, config-only): chain unchecked */
  if (trust != NULL && d->next_roots != NULL &&
      access(d->next_roots, F_OK) == 0 &&
      (rc = ck__read_list(d->next_roots, &roots, err)) != CK_OK) {
    *bad_pair = rc != CK_ERR_IO && rc != CK_ERR_NOMEM;
    goto out;
  }
  if (roots.n > 0 &&
      (rdv = calloc(roots.n, sizeof *rdv)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  for (i = 0; i < roots.n; i++)
    rdv[i].data = ck_cert_der(roots.certs[i], &rdv[i].len);
  p.roots = rdv;
  p.n_roots = roots.n;
  if ((rc = ck_target_check(&p, trust, now, err)) != CK_OK) {
    *bad_pair = 1;
    goto out;
  }
  if ((rc = ck_target_install(&d->files, &p, err)) != CK_OK)
    goto out;
  memcpy(new_fp, ck_cert_get_info(l.certs[0])->sha256, 32);
out:
  if (key != NULL)
    ck_crypto_free_secret(key, key_len);
  free(chain);
  free(rdv);
  ck_cert_list_clear(&l);
  ck_cert_list_clear(&roots);
  return rc;
}

ck_err ck_deploy_reload(const ck_deploy *d, ck_errctx *err) {
  if (d->reload == NULL)
    return CK_OK;
  return ck_reload_run(d->reload, d->reload_timeout_ms, err);
}

ck_err ck_deploy_verify(const ck_deploy *d, const uint8_t want[32],
                        ck_errctx *err) {
  uint8_t last[32];

  if (d->verify == NULL)
    return CK_OK;
  return ck_served_wait(d->verify, d->verify_sni, want, d->verify_timeout_ms,
                        last, err);
}

ck_err ck_deploy_rollback(const ck_deploy *d, ck_errctx *err) {
  ck_err rc;

  if ((rc = ck_target_rollback(&d->files, err)) != CK_OK)
    return rc;
  if ((rc = ck_deploy_reload(d, err)) != CK_OK)
    ck_failf(err, rc, "reload after rollback");
  return rc;
}
