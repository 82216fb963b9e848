/* backend_openssl.c — OpenSSL glue shared by the *_openssl.c files: error
 * queue to ck_errctx, the backend's identity (name, version, capabilities),
 * X509_NAME to text.
 *
 * Every OpenSSL failure in common/crypto/ goes through ck__ossl_fail(), which
 * appends the library's reason ("bad decrypt", "wrong tag") to our message
 * and empties the thread's error queue so a later, unrelated call (the TLS
 * layer's SSL_get_error) never sees a stale entry. */
#include <stdarg.h>
#include <stdio.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "common/crypto/backend_openssl.h"

ck_err ck__ossl_fail(ck_errctx *err, ck_err code, const char *fmt, ...) {
  char msg[384], reason[256];
  unsigned long e, last = 0;
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  while ((e = ERR_get_error()) != 0)
    last = e; /* the innermost reason is usually the last one queued */
  if (last != 0) {
    ERR_error_string_n(last, reason, sizeof reason);
    return ck_failf(err, code, "%s (%s)", msg, reason);
  }
  return ck_failf(err, code, "%s", msg);
}

int ck__be_has(ck_crypto_cap cap) {
  switch (cap) {
  case CK_CAP_ED25519:
    return 1;
  case CK_CAP_PKCS12:
#ifdef CK_DISABLE_PKCS12
    return 0; /* trimmed build: see pkcs12_openssl.c */
#else
    return 1;
#endif
  }
  return 0;
}

const char *ck_crypto_backend(void) {
  return "openssl";
}

const char *ck_crypto_backend_version(void) {
  return OpenSSL_version(OPENSSL_VERSION);
}

void ck__ossl_name(const X509_NAME *name, char *buf, size_t buflen) {
  unsigned char *der = NULL;
  ck__der d;
  ck__tlv t;
  ck__sb sb = {0};
  int n;

  if (buflen == 0)
    return;
  buf[0] = '\0';
  n = i2d_X509_NAME(name, &der);
  if (n <= 0) {
    ERR_clear_error();
    return;
  }
  ck__der_init(&d, der, (size_t)n);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &t) == 0 &&
      ck__name_format(t.v, t.len, &sb, NULL, NULL) == 0 && !sb.failed)
    snprintf(buf, buflen, "%s", sb.s != NULL ? sb.s : "");
  ck__sb_free(&sb);
  OPENSSL_free(der);
}
