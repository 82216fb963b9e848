/* key.c — the neutral half of ck_key: specs, PEM framing, encrypted-key
 * detection, public key description.
 *
 * The backend generates, decodes, signs with and serialises keys
 * (key_openssl.c / key_mbedtls.c); this file decides what the input is
 * before a backend sees it (an encrypted key is reported as
 * CK_ERR_KEY_ENCRYPTED and never handed over) and describes every key from
 * its SubjectPublicKeyInfo with the same code that describes certificate
 * keys, so "EC P-256" reads the same everywhere. Decoded key bytes are wiped
 * as soon as the backend has them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/crypto/crypto_int.h"

int ck_crypto_has(ck_crypto_cap cap) {
  return ck__be_has(cap);
}

ck_err ck_key_spec_parse(const char *text, ck_key_spec *out, ck_errctx *err) {
  char *end = NULL;
  unsigned long bits;

  if (text == NULL || out == NULL)
    return ck_failf(err, CK_ERR_INVAL, "ck_key_spec_parse: NULL argument");
  if (strcasecmp(text, "ec-p256") == 0) {
    out->type = CK_KEY_EC;
    out->bits = 256;
  } else if (strcasecmp(text, "ec-p384") == 0) {
    out->type = CK_KEY_EC;
    out->bits = 384;
  } else if (strcasecmp(text, "ed25519") == 0) {
    out->type = CK_KEY_ED25519;
    out->bits = 0;
  } else if (strncasecmp(text, "rsa-", 4) == 0 && text[4] >= '0' &&
             text[4] <= '9') {
    bits = strtoul(text + 4, &end, 10);
    if (*end != '\0' || bits < 2048 || bits > 4096 || bits % 8 != 0)
      return ck_failf(err, CK_ERR_PARSE,
                      "key type '%s': RSA size must be 2048..4096, a multiple "
                      "of 8",
                      text);
    out->type = CK_KEY_RSA;
    out->bits = (unsigned)bits;
  } else {
    return ck_failf(err, CK_ERR_PARSE,
                    "unknown key type '%s' (ec-p256, ec-p384, rsa-2048.."
                    "rsa-4096, ed25519)",
                    text);
  }
  return CK_OK;
}

ck_err ck__key_wrap(void *be, ck_key **out, ck_errctx *err) {
  ck_key *k = NULL;
  ck_err rc;

  k = calloc(1, sizeof *k);
  if (k == NULL) {
    ck__be_key_free(be);
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  }
  k->be = be;
  rc = ck__be_key_spki(be, &k->spki, &k->spki_len, err);
  if (rc != CK_OK)
    goto out;
  if (ck__spki_info(k->spki, k->spki_len, &k->info) != 0) {
    rc = ck_failf(err, CK_ERR_BAD_KEY, "cannot describe the public key");
    goto out;
  }
  *out = k;
  k = NULL;
out:
  ck_key_free(k);
  return rc;
}

ck_err ck_key_generate(const ck_key_spec *spec, ck_key **out, ck_errctx *err) {
  void *be = NULL;
  ck_err rc;

  if (spec == NULL || out == NULL)
    return ck_failf(err, CK_ERR_INVAL, "ck_key_generate: NULL argument");
  switch (spec->type) {
  case CK_KEY_RSA:
    if (spec->bits < 2048 || spec->bits > 4096 || spec->bits % 8 != 0)
      return ck_failf(err, CK_ERR_INVAL,
                      "RSA size %u: must be 2048..4096, a multiple of 8",
                      spec->bits);
    break;
  case CK_KEY_EC:
    if (spec->bits != 256 && spec->bits != 384)
      return ck_failf(err, CK_ERR_INVAL,
                      "EC size %u: only P-256 and P-384 are generated",
                      spec->bits);
    break;
  case CK_KEY_ED25519:
    if (!ck__be_has(CK_CAP_ED25519))
      return ck_failf(err, CK_ERR_UNSUPPORTED,
                      "Ed25519 keys are not available in the %s build",
                      ck_crypto_backend());
    break;
  default:
    return ck_failf(err, CK_ERR_INVAL, "cannot generate key type %d",
                    (int)spec->type);
  }
  rc = ck__be_key_generate(spec, &be, err);
  if (rc != CK_OK)
    return rc;
  return ck__key_wrap(be, out, err);
}

/* An encrypted PKCS#8 DER is SEQ{ SEQ(algorithm), OCTET STRING }. */
static int der_is_encrypted_pkcs8(const uint8_t *p, size_t n) {
  ck__der d;
  ck__tlv seq, t;

  ck__der_init(&d, p, n);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &seq) != 0)
    return 0;
  ck__der_enter(&d, &seq);
  return ck__der_expect(&d, CK__T_SEQUENCE, &t) == 0 &&
         ck__der_expect(&d, CK__T_OCTETSTRING, &t) == 0 && !ck__der_more(&d);
}

static ck_err key_from_der(const uint8_t *der, size_t len, ck_key **out,
                           ck_errctx *err) {
  void *be = NULL;
  size_t n;
  ck_err rc;

  n = ck__der_element_len(der, len);
  if (n == 0)
    return ck_failf(err, CK_ERR_BAD_KEY, "not a DER private key");
  if (der_is_encrypted_pkcs8(der, n))
    return ck_failf(err, CK_ERR_KEY_ENCRYPTED,
                    "the private key is encrypted (PKCS#8); decrypt it first");
  rc = ck__be_key_from_der(der, n, &be, err);
  if (rc != CK_OK)
    return rc;
  return ck__key_wrap(be, out, err);
}

ck_err ck_key_parse(const uint8_t *data, size_t len, ck_key **out,
                    ck_errctx *err) {
  ck_pem_block blk = {0};
  ck_errctx perr = CK_ERRCTX_INIT;
  size_t pos = 0;
  ck_err rc, bad = CK_OK;

  if (data == NULL || out == NULL)
    return ck_failf(err, CK_ERR_INVAL, "ck_key_parse: NULL argument");
  if (len > CK__MAX_INPUT)
    return ck_failf(err, CK_ERR_LIMIT, "key input over %u bytes",
                    CK__MAX_INPUT);
  if (!ck_pem_looks_like(data, len))
    return key_from_der(data, len, out, err);
  for (;;) {
    rc = ck_pem_next(data, len, &pos, &blk, &perr);
    if (rc == CK_ERR_NOENT)
      break;
    if (rc != CK_OK) {
      if (ck__pem_is_key_label(blk.label) && bad == CK_OK)
        bad = ck_failf(err, rc, "%s", ck_errctx_msg(&perr));
      ck_errctx_clear(&perr);
      continue;
    }
    if (!ck__pem_is_key_label(blk.label)) {
      ck_pem_block_clear(&blk);
      continue;
    }
    if (blk.encrypted || strcmp(blk.label, "ENCRYPTED PRIVATE KEY") == 0)
      rc = ck_failf(err, CK_ERR_KEY_ENCRYPTED,
                    "the private key (%s) is encrypted; decrypt it first",
                    blk.label);
    else
      rc = key_from_der(blk.der, blk.der_len, out, err);
    ck_pem_block_clear(&blk);
    return rc;
  }
  if (bad != CK_OK)
    return bad;
  return ck_failf(err, CK_ERR_BAD_PEM, "no PRIVATE KEY block in PEM input");
}

ck_err ck_key_export_pem(const ck_key *key, ck_key_pem_format fmt, char **out,
                         size_t *out_len, ck_errctx *err) {
  const char *label;
  uint8_t *der = NULL;
  size_t der_len = 0;
  ck_err rc;

  if (key == NULL || out == NULL || out_len == NULL)
    return ck_failf(err, CK_ERR_INVAL, "ck_key_export_pem: NULL argument");
  if (fmt == CK_KEY_PEM_PKCS8) {
    label = "PRIVATE KEY";
  } else if (fmt == CK_KEY_PEM_TRADITIONAL && key->info.type == CK_KEY_RSA) {
    label = "RSA PRIVATE KEY";
  } else if (fmt == CK_KEY_PEM_TRADITIONAL && key->info.type == CK_KEY_EC) {
    label = "EC PRIVATE KEY";
  } else {
    return ck_failf(err, CK_ERR_UNSUPPORTED,
                    "a %s key has no traditional PEM format; use PKCS#8",
                    key->info.desc);
  }
  rc = ck__be_key_to_der(key, fmt, &der, &der_len, err);
  if (rc != CK_OK)
    return rc;
  rc = ck_pem_encode(label, der, der_len, out, out_len);
  ck_crypto_free_secret(der, der_len);
  if (rc != CK_OK)
    return ck_failf(err, rc, "PEM encoding failed");
  return CK_OK;
}

void ck_key_get_info(const ck_key *key, ck_key_info *out) {
  *out = key->info;
}

ck_err ck_key_spki_der(const ck_key *key, uint8_t **out, size_t *out_len,
                       ck_errctx *err) {
  uint8_t *copy;

  if (key == NULL || out == NULL || out_len == NULL)
    return ck_failf(err, CK_ERR_INVAL, "ck_key_spki_der: NULL argument");
  copy = malloc(key->spki_len);
  if (copy == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  memcpy(copy, key->spki, key->spki_len);
  *out = copy;
  *out_len = key->spki_len;
  return CK_OK;
}

ck_err ck_key_spki_sha256(const ck_key *key, uint8_t out[CK_SHA256_LEN],
                          ck_errctx *err) {
  if (key == NULL)
    return ck_failf(err, CK_ERR_INVAL, "ck_key_spki_sha256: NULL key");
  return ck_crypto_sha256(key->spki, key->spki_len, out);
}

void ck_key_free(ck_key *key) {
  if (key == NULL)
    return;
  ck__be_key_free(key->be);
  free(key->spki);
  ck_wipe(key, sizeof *key);
  free(key);
}
