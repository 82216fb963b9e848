/* cert.c — the ck_cert object: parsing, copying, lists and the neutral
 * halves of matching and verification.
 *
 * A ck_cert is an owned copy of the DER, the plain ck_cert_info extracted by
 * x509_fields.c (strings in a per-certificate arena) and the backend's own
 * parsed object, which does signatures and chain building. Input may be DER
 * or PEM (first certificate block, or every one for a bundle). */
#include <stdlib.h>
#include <string.h>

#include "common/crypto/crypto_int.h"
#include "common/util/clock.h"

void ck_cert_free(ck_cert *c) {
  if (c == NULL)
    return;
  ck__be_cert_free(c->be);
  ck_arena_free(c->arena);
  free(c->der);
  free(c);
}

/* Self-signed: same name, and the signature checks with the certificate's
 * own key; when the backend cannot check, the key identifiers decide. */
static int self_signed(const ck_cert *c) {
  int sig;

  if (c->subject_len != c->issuer_len ||
      memcmp(c->subject, c->issuer, c->subject_len) != 0)
    return 0;
  sig = ck__be_cert_self_sig(c);
  if (sig >= 0)
    return sig;
  if (c->aki == NULL)
    return 1;
  return c->ski != NULL && c->aki_len == c->ski_len &&
         memcmp(c->aki, c->ski, c->ski_len) == 0;
}

/* with_backend 0: the neutral fields only (ck_cert_parse_fields). */
static ck_err cert_from_der(const uint8_t *der, size_t len, int with_backend,
                            ck_cert **out, ck_errctx *err) {
  ck_cert *c = NULL;
  ck_errctx be_err = CK_ERRCTX_INIT;
  size_t n;
  ck_err rc;

  n = ck__der_element_len(der, len);
  if (n == 0) {
    rc = ck_failf(err, CK_ERR_BAD_DER, "not a DER certificate");
    goto out;
  }
  c = calloc(1, sizeof *c);
  if (c == NULL || (c->der = malloc(n)) == NULL ||
      (c->arena = ck_arena_new(2048)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory reading certificate");
    goto out;
  }
  memcpy(c->der, der, n);
  c->der_len = n;
  rc = ck__cert_parse_fields(c, err);
  if (rc != CK_OK)
    goto out;
  rc = with_backend ? ck__be_cert_load(c, &be_err) : CK_ERR_UNSUPPORTED;
  if (rc == CK_ERR_UNSUPPORTED) {
    c->be = NULL; /* info only: the backend cannot use this key type */
  } else if (rc != CK_OK) {
    rc = ck_failf(err, rc == CK_ERR_NOMEM ? rc : CK_ERR_BAD_CERT, "%s",
                  ck_errctx_msg(&be_err));
    goto out;
  }
  c->info.self_signed = self_signed(c);
  *out = c;
  c = NULL;
  rc = CK_OK;
out:
  ck_cert_free(c);
  return rc;
}

ck_err ck__cert_from_der(const uint8_t *der, size_t len, ck_cert **out,
                         ck_errctx *err) {
  return cert_from_der(der, len, 1, out, err);
}

ck_err ck_cert_parse_fields(const uint8_t *der, size_t len, ck_cert **out,
                            ck_errctx *err) {
  if (der == NULL || out == NULL)
    return ck_failf(err, CK_ERR_INVAL, "ck_cert_parse_fields: NULL argument");
  if (len > CK__MAX_INPUT)
    return ck_failf(err, CK_ERR_LIMIT, "certificate input over %u bytes",
                    CK__MAX_INPUT);
  return cert_from_der(der, len, 0, out, err);
}

ck_err ck_cert_parse(const uint8_t *data, size_t len, ck_cert **out,
                     ck_errctx *err) {
  ck_pem_block blk = {0};
  ck_errctx perr = CK_ERRCTX_INIT;
  size_t pos = 0;
  ck_err rc, bad = CK_OK;

  if (data == NULL || out == NULL)
    return ck_failf(err, CK_ERR_INVAL, "ck_cert_parse: NULL argument");
  if (len > CK__MAX_INPUT)
    return ck_failf(err, CK_ERR_LIMIT, "certificate input over %u bytes",
                    CK__MAX_INPUT);
  if (!ck_pem_looks_like(data, len))
    return ck__cert_from_der(data, len, out, err);
  for (;;) {
    rc = ck_pem_next(data, len, &pos, &blk, &perr);
    if (rc == CK_ERR_NOENT)
      break;
    if (rc != CK_OK) {
      if (ck__pem_is_cert_label(blk.label) && bad == CK_OK)
        bad = ck_failf(err, rc, "%s", ck_errctx_msg(&perr));
      ck_errctx_clear(&perr);
      continue;
    }
    if (ck__pem_is_cert_label(blk.label)) {
      rc = ck__cert_from_der(blk.der, blk.der_len, out, err);
      ck_pem_block_clear(&blk);
      return rc;
    }
    ck_pem_block_clear(&blk);
  }
  if (bad != CK_OK)
    return bad;
  return ck_failf(err, CK_ERR_BAD_PEM, "no CERTIFICATE block in PEM input");
}

const ck_cert_info *ck_cert_get_info(const ck_cert *c) {
  return &c->info;
}

const uint8_t *ck_cert_der(const ck_cert *c, size_t *len) {
  *len = c->der_len;
  return c->der;
}

const uint8_t *ck_cert_spki(const ck_cert *c, size_t *len) {
  *len = c->spki_len;
  return c->spki;
}

ck_cert *ck_cert_dup(const ck_cert *c) {
  ck_cert *copy = NULL;

  if (c == NULL || ck__cert_from_der(c->der, c->der_len, &copy, NULL) != CK_OK)
    return NULL;
  return copy;
}

/* ------------------------------------------------------------------ lists */

ck_err ck_cert_list_add(ck_cert_list *l, ck_cert *c) {
  ck_cert **n;
  size_t cap;

  if (l->n == l->cap) {
    cap = l->cap ? 2 * l->cap : 4;
    n = realloc(l->certs, cap * sizeof *n);
    if (n == NULL) {
      ck_cert_free(c);
      return CK_ERR_NOMEM;
    }
    l->certs = n;
    l->cap = cap;
  }
  l->certs[l->n++] = c;
  return CK_OK;
}

void ck_cert_list_clear(ck_cert_list *l) {
  size_t i;

  if (l == NULL)
    return;
  for (i = 0; i < l->n; i++)
    ck_cert_free(l->certs[i]);
  free(l->certs);
  memset(l, 0, sizeof *l);
}

static void truncate_list(ck_cert_list *l, size_t n) {
  while (l->n > n)
    ck_cert_free(l->certs[--l->n]);
}

ck_err ck_cert_list_parse(ck_cert_list *l, const uint8_t *data, size_t len,
                          ck_errctx *err) {
  ck_pem_block blk = {0};
  ck_errctx perr = CK_ERRCTX_INIT;
  ck_cert *c = NULL;
  size_t pos = 0, start = l->n, index = 0;
  ck_err rc;

  if (data == NULL)
    return ck_failf(err, CK_ERR_INVAL, "ck_cert_list_parse: NULL data");
  if (len > CK__MAX_INPUT)
    return ck_failf(err, CK_ERR_LIMIT, "certificate input over %u bytes",
                    CK__MAX_INPUT);
  if (!ck_pem_looks_like(data, len)) {
    rc = ck__cert_from_der(data, len, &c, err);
    return rc == CK_OK ? ck_cert_list_add(l, c) : rc;
  }
  for (;;) {
    rc = ck_pem_next(data, len, &pos, &blk, &perr);
    if (rc == CK_ERR_NOENT)
      break;
    if (rc != CK_OK || !ck__pem_is_cert_label(blk.label)) {
      if (rc != CK_OK && ck__pem_is_cert_label(blk.label)) {
        rc = ck_failf(err, rc, "certificate #%zu in bundle: %s", index + 1,
                      ck_errctx_msg(&perr));
        goto fail;
      }
      ck_pem_block_clear(&blk);
      ck_errctx_clear(&perr);
      continue;
    }
    index++;
    if (l->n - start >= CK__MAX_CERTS) {
      rc = ck_failf(err, CK_ERR_LIMIT, "more than %d certificates in bundle",
                    CK__MAX_CERTS);
      goto fail;
    }
    rc = ck__cert_from_der(blk.der, blk.der_len, &c, err);
    if (rc != CK_OK) {
      ck_failf(err, rc, "certificate #%zu in bundle (offset %zu)", index,
               blk.offset);
      goto fail;
    }
    ck_pem_block_clear(&blk);
    rc = ck_cert_list_add(l, c);
    if (rc != CK_OK)
      goto fail;
  }
  if (index == 0)
    return ck_failf(err, CK_ERR_BAD_PEM, "no CERTIFICATE block in PEM input");
  return CK_OK;
fail:
  ck_pem_block_clear(&blk);
  truncate_list(l, start);
  if (start == 0)
    ck_cert_list_clear(l); /* also the array we may have allocated */
  return rc;
}

/* ------------------------------------------------- matching, verification */

ck_err ck_key_match_cert(const ck_key *key, const ck_cert *cert,
                         ck_errctx *err) {
  if (key == NULL || cert == NULL)
    return ck_failf(err, CK_ERR_INVAL, "ck_key_match_cert: NULL argument");
  if (key->info.type != cert->info.key.type)
    return ck_failf(
        err, CK_ERR_KEY_MISMATCH,
        "the private key (%s) and the public key (%s) differ in type",
        key->info.desc, cert->info.key.desc);
  if (key->spki_len == cert->spki_len &&
      memcmp(key->spki, cert->spki, key->spki_len) == 0)
    return CK_OK;
  return ck__be_key_match_spki(key, cert->spki, cert->spki_len, err);
}

ck_err ck_cert_verify(const ck_cert *leaf, const ck_cert_list *untrusted,
                      const ck_cert_list *trusted, int64_t at, ck_errctx *err) {
  static const ck_cert_list none = {0};

  if (leaf == NULL || trusted == NULL)
    return ck_failf(err, CK_ERR_INVAL, "ck_cert_verify: NULL argument");
  if (untrusted == NULL)
    untrusted = &none;
  if (trusted->n == 0)
    return ck_failf(err, CK_ERR_UNTRUSTED, "'%s': the trust bundle is empty",
                    leaf->info.subject);
  if (leaf->be == NULL)
    return ck_failf(err, CK_ERR_UNSUPPORTED,
                    "'%s': the %s backend cannot verify certificates with "
                    "this key type (%s)",
                    leaf->info.subject, ck_crypto_backend(),
                    leaf->info.key.desc);
  /* Certificates the backend cannot read (be == NULL) in the lists are
   * skipped by the backends: one Ed25519 root must not break a bundle. */
  if (at == 0)
    at = ck_clock_now();
  return ck__be_cert_verify(leaf, untrusted, trusted, at, err);
}
