/* pki.h — a small certificate hierarchy for the manage tests, made with
 * ck_certgen at run time: root CA -> intermediate -> leaves, each leaf with
 * its own EC P-256 key (PEM). Shared by tests/unit/manage/ and
 * tests/integration/test_target_kill.c. Include after tests/testutil.h. */
#ifndef CK_TESTS_MANAGE_PKI_H
#define CK_TESTS_MANAGE_PKI_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto/certgen.h"
#include "common/crypto/crypto.h"
#include "common/util/clock.h"

typedef struct pki_leaf {
  char *key_pem; /* PKCS#8 PEM, malloc'ed */
  size_t key_pem_len;
  uint8_t *der; /* leaf DER, malloc'ed */
  size_t der_len;
  uint8_t fp[32]; /* SHA-256 of der */
} pki_leaf;

typedef struct pki {
  ck_key *root_key, *inter_key;
  ck_cert *root, *inter;
  char *root_pem; /* PEM of the root (trust bundle) */
  size_t root_pem_len;
} pki;

static inline ck_key *pki_gen(void) {
  ck_key_spec spec = {CK_KEY_EC, 256};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_key *k = NULL;

  if (ck_key_generate(&spec, &k, &err) != CK_OK) {
    print_error("keygen: %s\n", ck_errctx_msg(&err));
    fail();
  }
  return k;
}

static inline ck_cert *pki_sign(const char *cn, const ck_key *subject_key, int is_ca,
                         const ck_cert *issuer, const ck_key *issuer_key,
                         int64_t nb, int64_t na) {
  uint8_t serial[CK_CERTGEN_SERIAL_LEN];
  ck_name_attr name = {"CN", cn};
  ck_san san = {CK_SAN_DNS, "www.example.test"};
  ck_certgen_tmpl t;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_cert *c = NULL;

  memset(&t, 0, sizeof t);
  assert_int_equal(ck_certgen_random_serial(serial), CK_OK);
  t.serial = serial;
  t.serial_len = sizeof serial;
  t.subject = &name;
  t.n_subject = 1;
  t.not_before = nb;
  t.not_after = na;
  if (is_ca) {
    t.is_ca = 1;
    t.path_len = -1;
    t.key_usage = CK_KU_KEY_CERT_SIGN | CK_KU_CRL_SIGN;
  } else {
    t.sans = &san;
    t.n_sans = 1;
    t.key_usage = CK_KU_DIGITAL_SIGNATURE;
  }
  if (issuer != NULL || subject_key != issuer_key)
    t.pubkey = subject_key;
  if (ck_certgen_sign(&t, issuer, issuer_key, &c, &err) != CK_OK) {
    print_error("sign %s: %s\n", cn, ck_errctx_msg(&err));
    fail();
  }
  return c;
}

static inline void pki_init_named(pki *p, const char *root_cn) {
  int64_t now = ck_clock_now();
  const uint8_t *der;
  size_t len;

  memset(p, 0, sizeof *p);
  p->root_key = pki_gen();
  p->inter_key = pki_gen();
  p->root = pki_sign(root_cn, p->root_key, 1, NULL, p->root_key,
                     now - 3600, now + 86400 * 365);
  p->inter = pki_sign("Test Intermediate", p->inter_key, 1, p->root,
                      p->root_key, now - 3600, now + 86400 * 300);
  der = ck_cert_der(p->root, &len);
  assert_int_equal(ck_pem_encode("CERTIFICATE", der, len, &p->root_pem,
                                 &p->root_pem_len),
                   CK_OK);
}

static inline void pki_init(pki *p) { pki_init_named(p, "Test Root"); }

static inline void pki_free(pki *p) {
  ck_key_free(p->root_key);
  ck_key_free(p->inter_key);
  ck_cert_free(p->root);
  ck_cert_free(p->inter);
  free(p->root_pem);
  memset(p, 0, sizeof *p);
}

/* A leaf under the intermediate (or under the root when direct). */
static inline void pki_leaf_make(pki *p, const char *cn, int direct, pki_leaf *l) {
  int64_t now = ck_clock_now();
  ck_key *k = pki_gen();
  ck_errctx err = CK_ERRCTX_INIT;
  ck_cert *c;
  const uint8_t *der;

  memset(l, 0, sizeof *l);
  c = pki_sign(cn, k, 0, direct ? p->root : p->inter,
               direct ? p->root_key : p->inter_key, now - 60, now + 86400 * 90);
  der = ck_cert_der(c, &l->der_len);
  l->der = malloc(l->der_len);
  assert_non_null(l->der);
  memcpy(l->der, der, l->der_len);
  memcpy(l->fp, ck_cert_get_info(c)->sha256, 32);
  if (ck_key_export_pem(k, CK_KEY_PEM_PKCS8, &l->key_pem, &l->key_pem_len,
                        &err) != CK_OK) {
    print_error("export: %s\n", ck_errctx_msg(&err));
    fail();
  }
  ck_cert_free(c);
  ck_key_free(k);
}

static inline void pki_leaf_free(pki_leaf *l) {
  ck_crypto_free_secret(l->key_pem, l->key_pem_len);
  free(l->der);
  memset(l, 0, sizeof *l);
}

/* Writes len bytes to path (test helper). */
static inline void pki_write(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  fclose(f);
}

/* Reads a whole file (absolute path) into a malloc'ed NUL-terminated
 * buffer; fails the test when unreadable. */
static inline char *pki_slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf;
  long n;

  if (f == NULL)
    print_error("cannot open %s\n", path);
  assert_non_null(f);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  n = ftell(f);
  assert_true(n >= 0);
  rewind(f);
  buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return buf;
}

#endif
