/* fuzz_cert.c — libFuzzer target for certificate, CSR, key and PEM parsing.
 *
 * Feeds the same bytes to every parser of common/crypto/ that reads
 * untrusted input: content detection, PEM iteration, the bundle and single
 * certificate parsers (neutral field extraction plus the backend's own
 * parser), the CSR parser and signature check, the private key reader, and
 * the neutral X.509 / SPKI readers directly (so inputs the backend would
 * reject still reach them). Parsed results are read field by field so a
 * dangling pointer would be touched. Any crash, leak or sanitizer report is
 * a bug; error returns are expected. Seeds: tests/fuzz/corpus/cert/.
 * PKCS#12 is left out: its password derivation makes inputs slow, and it
 * is OpenSSL's parser, not ours. */
#include <stdlib.h>
#include <string.h>

#include "common/crypto/crypto.h"
#include "common/crypto/crypto_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void touch(const char *s) {
  if (s != NULL)
    sink += strlen(s);
}

static void touch_sans(const ck_san *sans, size_t n) {
  size_t i;

  for (i = 0; i < n; i++) {
    sink += (size_t)sans[i].type;
    touch(sans[i].value);
  }
}

static void touch_cert(const ck_cert *c) {
  const ck_cert_info *in = ck_cert_get_info(c);
  size_t i, len;

  touch(in->subject);
  touch(in->issuer);
  touch(in->subject_cn);
  touch(in->serial_hex);
  touch(in->sig_alg);
  touch(in->ski_hex);
  touch(in->aki_hex);
  touch(in->key.desc);
  touch(in->sha256_hex);
  touch_sans(in->sans, in->n_sans);
  for (i = 0; i < in->n_eku; i++)
    touch(in->eku[i]);
  sink += (size_t)(in->not_after - in->not_before) + (size_t)in->self_signed;
  sink += ck_cert_spki(c, &len)[0] + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ck_content content;
  ck_pem_block blk;
  ck_cert_list list = {0};
  ck_cert *cert = NULL;
  ck_csr *csr = NULL;
  ck_key *key = NULL;
  ck_key_info ki;
  ck_arena *arena;
  ck__sb sb = {0};
  const ck_san *sans;
  size_t pos = 0, i, n_sans;

  if (size > 256 * 1024)
    return 0;

  ck_crypto_detect(data, size, &content);
  sink += content.n_certs + content.n_keys + (size_t)content.kind;

  memset(&blk, 0, sizeof blk);
  for (i = 0; i < 64; i++) {
    ck_err rc = ck_pem_next(data, size, &pos, &blk, NULL);
    if (rc == CK_ERR_NOENT)
      break;
    if (rc == CK_OK)
      sink += blk.der_len;
    ck_pem_block_clear(&blk);
  }

  if (ck_cert_list_parse(&list, data, size, NULL) == CK_OK)
    for (i = 0; i < list.n; i++)
      touch_cert(list.certs[i]);
  ck_cert_list_clear(&list);

  if (ck_cert_parse(data, size, &cert, NULL) == CK_OK) {
    touch_cert(cert);
    ck_cert_free(cert);
  }

  if (ck_csr_parse(data, size, &csr, NULL) == CK_OK) {
    const ck_csr_info *in = ck_csr_get_info(csr);
    touch(in->subject);
    touch(in->subject_cn);
    touch(in->sig_alg);
    touch(in->key.desc);
    touch_sans(in->sans, in->n_sans);
    sink += (size_t)ck_csr_verify(csr, NULL);
    ck_csr_free(csr);
  }

  if (ck_key_parse(data, size, &key, NULL) == CK_OK) {
    ck_key_get_info(key, &ki);
    touch(ki.desc);
    ck_key_free(key);
  }

  /* The neutral readers on the raw bytes, whatever the backend thinks. */
  ck__spki_info(data, size, &ki);
  arena = ck_arena_new(1024);
  if (arena != NULL) {
    if (ck__name_format(data, size, &sb, arena, NULL) == 0)
      sink += sb.len;
    if (ck__san_parse(data, size, arena, &sans, &n_sans) == 0)
      touch_sans(sans, n_sans);
    ck_arena_free(arena);
  }
  ck__sb_free(&sb);
  return 0;
}
