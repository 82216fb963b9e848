/* dns01.c — the dns-01 challenge (RFC 8555 section 8.4): a TXT record at
 * _acme-challenge.<name> (the wildcard label removed) must hold
 * base64url(SHA-256(key authorization)). Lookups go through resolve.c
 * (configured resolver or the system's nameservers). */
#include <stdio.h>
#include <string.h>

#include "common/crypto/crypto.h"
#include "common/util/mem.h"
#include "coordinator/acme/validate_int.h"

/* base64url without padding of n bytes into out (cap >= 4 * n / 3 + 2). */
static void b64url(const uint8_t *in, size_t n, char *out) {
  static const char tbl[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t o = 0, i = 0;

  for (; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[o++] = tbl[v >> 18 & 63];
    out[o++] = tbl[v >> 12 & 63];
    out[o++] = tbl[v >> 6 & 63];
    out[o++] = tbl[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    out[o++] = tbl[v >> 18 & 63];
    out[o++] = tbl[v >> 12 & 63];
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    out[o++] = tbl[v >> 18 & 63];
    out[o++] = tbl[v >> 12 & 63];
    out[o++] = tbl[v >> 6 & 63];
  }
  out[o] = '\0';
}

ck_err ck__acme_dns01(const ck_acme_validator *v, const char *identifier,
                      const char *key_authz, uint64_t deadline,
                      ck_acme_validation *res) {
  uint8_t digest[CK_SHA256_LEN];
  char want[64], name[300];
  char **txt = NULL;
  size_t n = 0;
  int nx = 0, found = 0;
  ck_err rc;

  if (ck_crypto_sha256(key_authz, strlen(key_authz), digest) != CK_OK)
    return ck__acme_vfail(res, CK_ERR_CRYPTO, "serverInternal",
                          "cannot hash the key authorization");
  b64url(digest, sizeof digest, want);
  snprintf(name, sizeof name, "_acme-challenge.%s", identifier);
  rc = ck__acme_lookup_txt(v, name, deadline, &txt, &n, &nx, res);
  if (rc != CK_OK)
    return rc;
  for (size_t i = 0; i < n && !found; i++)
    found = strlen(txt[i]) == strlen(want) &&
            ck_ct_equal(txt[i], want, strlen(want));
  if (found) {
    rc = CK_OK;
  } else if (nx) {
    rc = ck__acme_vfail(res, CK_ERR_NOENT, "dns",
                        "DNS problem: NXDOMAIN looking up TXT for %s - check "
                        "that a DNS record exists for this domain",
                        name);
  } else if (n == 0) {
    rc = ck__acme_vfail(res, CK_ERR_NOENT, "unauthorized",
                        "No TXT record found at %s", name);
  } else {
    rc = ck__acme_vfail(res, CK_ERR_DENIED, "incorrectResponse",
                        "Incorrect TXT record \"%.100s\"%s found at %s "
                        "(expected \"%s\")",
                        txt[0], n > 1 ? " (and others)" : "", name, want);
  }
  ck__acme_txt_free(txt, n);
  return rc;
}
