/* csr.c — PKCS#10 certificate requests: building, parsing, checking.
 *
 * A CSR is encoded here, not by a backend: the CertificationRequestInfo
 * (version, subject Name, the key's SPKI, an extensionRequest attribute with
 * subjectAltName) is written with der.c and only its signature comes from
 * the backend (ck__be_key_sign). Both builds therefore produce the same
 * structure, and the mbedTLS build gets SANs although its CSR writer has no
 * SAN support. The result is parsed back before it is returned, so callers
 * always hold a request the parser accepts. */
#include <stdlib.h>
#include <string.h>

#include "common/crypto/crypto_int.h"

void ck_csr_free(ck_csr *r) {
  if (r == NULL)
    return;
  ck__be_csr_free(r->be);
  ck_arena_free(r->arena);
  free(r->der);
  free(r);
}

static ck_err csr_from_der(const uint8_t *der, size_t len, ck_csr **out,
                           ck_errctx *err) {
  ck_csr *r = NULL;
  ck_errctx be_err = CK_ERRCTX_INIT;
  size_t n;
  ck_err rc;

  n = ck__der_element_len(der, len);
  if (n == 0) {
    rc = ck_failf(err, CK_ERR_BAD_DER, "not a DER certificate request");
    goto out;
  }
  r = calloc(1, sizeof *r);
  if (r == NULL || (r->der = malloc(n)) == NULL ||
      (r->arena = ck_arena_new(1024)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory reading CSR");
    goto out;
  }
  memcpy(r->der, der, n);
  r->der_len = n;
  rc = ck__csr_parse_fields(r, err);
  if (rc != CK_OK)
    goto out;
  rc = ck__be_csr_load(r, &be_err);
  if (rc == CK_ERR_UNSUPPORTED) {
    r->be = NULL;
  } else if (rc != CK_OK) {
    rc = ck_failf(err, rc == CK_ERR_NOMEM ? rc : CK_ERR_BAD_CSR, "%s",
                  ck_errctx_msg(&be_err));
    goto out;
  }
  *out = r;
  r = NULL;
  rc = CK_OK;
out:
  ck_csr_free(r);
  return rc;
}

static int is_csr_label(const char *label) {
  return strcmp(label, "CERTIFICATE REQUEST") == 0 ||
         strcmp(label, "NEW CERTIFICATE REQUEST") == 0;
}

ck_err ck_csr_parse(const uint8_t *data, size_t len, ck_csr **out,
                    ck_errctx *err) {
  ck_pem_block blk = {0};
  ck_errctx perr = CK_ERRCTX_INIT;
  size_t pos = 0;
  ck_err rc, bad = CK_OK;

  if (data == NULL || out == NULL)
    return ck_failf(err, CK_ERR_INVAL, "ck_csr_parse: NULL argument");
  if (len > CK__MAX_INPUT)
    return ck_failf(err, CK_ERR_LIMIT, "CSR input over %u bytes",
                    CK__MAX_INPUT);
  if (!ck_pem_looks_like(data, len))
    return csr_from_der(data, len, out, err);
  for (;;) {
    rc = ck_pem_next(data, len, &pos, &blk, &perr);
    if (rc == CK_ERR_NOENT)
      break;
    if (rc != CK_OK) {
      if (is_csr_label(blk.label) && bad == CK_OK)
        bad = ck_failf(err, rc, "%s", ck_errctx_msg(&perr));
      ck_errctx_clear(&perr);
      continue;
    }
    if (is_csr_label(blk.label)) {
      rc = csr_from_der(blk.der, blk.der_len, out, err);
      ck_pem_block_clear(&blk);
      return rc;
    }
    ck_pem_block_clear(&blk);
  }
  if (bad != CK_OK)
    return bad;
  return ck_failf(err, CK_ERR_BAD_PEM,
                  "no CERTIFICATE REQUEST block in PEM input");
}

/* Writes the signature AlgorithmIdentifier for key's type. */
static ck_err write_sig_alg(ck__derw *w, const ck_key *key, ck_errctx *err) {
  ck__derw_begin(w, CK__T_SEQUENCE);
  switch (key->info.type) {
  case CK_KEY_RSA:
    ck__derw_tlv(w, CK__T_OID, CK__OID_SHA256_RSA,
                 sizeof CK__OID_SHA256_RSA - 1);
    ck__derw_tlv(w, CK__T_NULL, NULL, 0);
    break;
  case CK_KEY_EC:
    ck__derw_tlv(w, CK__T_OID, CK__OID_ECDSA_SHA256,
                 sizeof CK__OID_ECDSA_SHA256 - 1);
    break;
  case CK_KEY_ED25519:
    ck__derw_tlv(w, CK__T_OID, CK__OID_ED25519, sizeof CK__OID_ED25519 - 1);
    break;
  default:
    return ck_failf(err, CK_ERR_UNSUPPORTED, "cannot sign a CSR with a %s key",
                    key->info.desc);
  }
  ck__derw_end(w);
  return CK_OK;
}

ck_err ck_csr_create(const ck_key *key, const ck_csr_req *req, ck_csr **out,
                     ck_errctx *err) {
  static const uint8_t zero = 0, true_ = 0xff;
  ck__derw w;
  uint8_t *cri = NULL, *sig = NULL, *der = NULL;
  size_t cri_len = 0, sig_len = 0, der_len = 0;
  ck_err rc;

  ck__derw_init(&w);
  if (key == NULL || req == NULL || out == NULL ||
      (req->n_subject > 0 && req->subject == NULL) ||
      (req->n_sans > 0 && req->sans == NULL)) {
    rc = ck_failf(err, CK_ERR_INVAL, "ck_csr_create: NULL argument");
    goto out;
  }
  if (req->n_subject == 0 && req->n_sans == 0) {
    rc = ck_failf(err, CK_ERR_INVAL, "CSR needs a subject or a SAN");
    goto out;
  }
  if (req->n_sans > CK__MAX_SANS) {
    rc = ck_failf(err, CK_ERR_LIMIT, "more than %d SANs", CK__MAX_SANS);
    goto out;
  }

  /* CertificationRequestInfo */
  ck__derw_begin(&w, CK__T_SEQUENCE);
  ck__derw_tlv(&w, CK__T_INTEGER, &zero, 1);
  rc = ck__name_write(&w, req->subject, req->n_subject, err);
  if (rc != CK_OK)
    goto out;
  ck__derw_raw(&w, key->spki, key->spki_len);
  ck__derw_begin(&w, CK__T_CTXC | 0); /* attributes */
  if (req->n_sans > 0) {
    ck__derw_begin(&w, CK__T_SEQUENCE);
    ck__derw_tlv(&w, CK__T_OID, CK__OID_EXT_REQUEST,
                 sizeof CK__OID_EXT_REQUEST - 1);
    ck__derw_begin(&w, CK__T_SET);
    ck__derw_begin(&w, CK__T_SEQUENCE); /* Extensions */
    ck__derw_begin(&w, CK__T_SEQUENCE); /* Extension */
    ck__derw_tlv(&w, CK__T_OID, CK__OID_SAN, sizeof CK__OID_SAN - 1);
    if (req->n_subject == 0) /* RFC 5280 4.2.1.6: critical if no subject */
      ck__derw_tlv(&w, CK__T_BOOLEAN, &true_, 1);
    ck__derw_begin(&w, CK__T_OCTETSTRING);
    rc = ck__san_write(&w, req->sans, req->n_sans, err);
    if (rc != CK_OK)
      goto out;
    ck__derw_end(&w);
    ck__derw_end(&w);
    ck__derw_end(&w);
    ck__derw_end(&w);
    ck__derw_end(&w);
  }
  ck__derw_end(&w);
  ck__derw_end(&w);
  rc = ck__derw_finish(&w, &cri, &cri_len);
  if (rc != CK_OK) {
    ck_failf(err, rc, "encoding the CSR failed");
    goto out;
  }

  rc = ck__be_key_sign(key, cri, cri_len, &sig, &sig_len, err);
  if (rc != CK_OK)
    goto out;

  ck__derw_begin(&w, CK__T_SEQUENCE);
  ck__derw_raw(&w, cri, cri_len);
  rc = write_sig_alg(&w, key, err);
  if (rc != CK_OK)
    goto out;
  ck__derw_begin(&w, CK__T_BITSTRING);
  ck__derw_raw(&w, &zero, 1);
  ck__derw_raw(&w, sig, sig_len);
  ck__derw_end(&w);
  ck__derw_end(&w);
  rc = ck__derw_finish(&w, &der, &der_len);
  if (rc != CK_OK) {
    ck_failf(err, rc, "encoding the CSR failed");
    goto out;
  }
  rc = csr_from_der(der, der_len, out, err);
out:
  ck__derw_free(&w);
  free(cri);
  free(sig);
  free(der);
  return rc;
}

ck_err ck_csr_verify(const ck_csr *r, ck_errctx *err) {
  if (r == NULL)
    return ck_failf(err, CK_ERR_INVAL, "ck_csr_verify: NULL CSR");
  if (r->be == NULL)
    return ck_failf(err, CK_ERR_UNSUPPORTED,
                    "the %s backend cannot check a %s signature",
                    ck_crypto_backend(), r->info.key.desc);
  return ck__be_csr_verify(r, err);
}

const ck_csr_info *ck_csr_get_info(const ck_csr *r) {
  return &r->info;
}

const uint8_t *ck_csr_der(const ck_csr *r, size_t *len) {
  *len = r->der_len;
  return r->der;
}

const uint8_t *ck_csr_spki(const ck_csr *r, size_t *len) {
  *len = r->spki_len;
  return r->spki;
}

ck_err ck_key_match_csr(const ck_key *key, const ck_csr *csr, ck_errctx *err) {
  if (key == NULL || csr == NULL)
    return ck_failf(err, CK_ERR_INVAL, "ck_key_match_csr: NULL argument");
  if (key->info.type != csr->info.key.type)
    return ck_failf(
        err, CK_ERR_KEY_MISMATCH,
        "the private key (%s) and the public key (%s) differ in type",
        key->info.desc, csr->info.key.desc);
  if (key->spki_len == csr->spki_len &&
      memcmp(key->spki, csr->spki, key->spki_len) == 0)
    return CK_OK;
  return ck__be_key_match_spki(key, csr->spki, csr->spki_len, err);
}
