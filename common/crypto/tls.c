/* tls.c — the backend-neutral half of the TLS engine (see tls.h).
 *
 * Checks a ck_tls_config once and resolves it into ck__tls_opts, which both
 * backends embed in their context: effective verification mode, the decoded
 * leaf and CA pins, ALPN in wire format, the version range. Also the small
 * helpers both backends need (pin compares and their messages, the copy of
 * the peer's presented chain), so the policy reads the same in
 * tls_openssl.c and tls_mbedtls.c. */
#include "common/crypto/tls_internal.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/fs.h"
#include "common/util/mem.h"

static int hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* "AB:cd:..." or "abcd..." -> 32 bytes; field names the option in
 * messages. */
static ck_err parse_pin(const char *field, const char *text,
                        uint8_t out[CK__TLS_PIN_LEN], ck_errctx *err) {
  size_t n = 0;
  const char *p;

  for (p = text; *p != '\0';) {
    int hi, lo;
    if (*p == ':') {
      p++;
      continue;
    }
    hi = hexval((unsigned char)p[0]);
    lo = hi < 0 ? -1 : hexval((unsigned char)p[1]);
    if (hi < 0 || lo < 0)
      return ck_failf(err, CK_ERR_CONFIG,
                      "%s: not a hex SHA-256 fingerprint (bad "
                      "character at offset %zu)",
                      field, (size_t)(p - text) + (hi < 0 ? 0 : 1));
    if (n == CK__TLS_PIN_LEN)
      return ck_failf(err, CK_ERR_CONFIG,
                      "%s: longer than 32 bytes (64 hex digits)", field);
    out[n++] = (uint8_t)(hi << 4 | lo);
    p += 2;
  }
  if (n != CK__TLS_PIN_LEN)
    return ck_failf(err, CK_ERR_CONFIG,
                    "%s: %zu bytes, a SHA-256 fingerprint has 32", field, n);
  return CK_OK;
}

/* "a,b,c" -> "\x01a\x01b\x01c". */
static ck_err alpn_wire(const char *list, uint8_t **out, size_t *len,
                        ck_errctx *err) {
  size_t total = strlen(list), used = 0;
  uint8_t *w;
  const char *p = list;

  *out = NULL;
  *len = 0;
  if (total == 0)
    return CK_OK;
  w = malloc(total + 1);
  if (w == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "alpn");
  for (;;) {
    const char *comma = strchr(p, ',');
    size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
    if (n == 0 || n > 255) {
      free(w);
      return ck_failf(err, CK_ERR_CONFIG,
                      "alpn: protocol names must be 1..255 bytes, in '%s'",
                      list);
    }
    w[used++] = (uint8_t)n;
    memcpy(w + used, p, n);
    used += n;
    if (comma == NULL)
      break;
    p = comma + 1;
  }
  *out = w;
  *len = used;
  return CK_OK;
}

static int has_pem(const char *file, const uint8_t *buf) {
  return file != NULL || buf != NULL;
}

ck_err ck__tls_opts_init(ck__tls_opts *o, const ck_tls_config *cfg,
                         ck_tls_version max_backend, ck_errctx *err) {
  ck_err rc;
  int server = cfg->role == CK_TLS_SERVER;

  memset(o, 0, sizeof *o);
  if (cfg->role != CK_TLS_CLIENT && cfg->role != CK_TLS_SERVER)
    return ck_failf(err, CK_ERR_CONFIG, "role: neither client nor server");
  o->role = cfg->role;
#ifdef CK_DISABLE_TLS_SERVER
  if (server)
    return ck_failf(err, CK_ERR_UNSUPPORTED,
                    "TLS server role left out of this build "
                    "(CK_DISABLE_TLS_SERVER)");
#endif
  if (has_pem(cfg->cert_file, cfg->cert_pem) !=
      has_pem(cfg->key_file, cfg->key_pem))
    return ck_failf(err, CK_ERR_CONFIG,
                    "a certificate needs its private key and the other way "
                    "round (cert %s, key %s)",
                    has_pem(cfg->cert_file, cfg->cert_pem) ? "set" : "unset",
                    has_pem(cfg->key_file, cfg->key_pem) ? "set" : "unset");
  o->have_cert = has_pem(cfg->cert_file, cfg->cert_pem);
  if (server && !o->have_cert)
    return ck_failf(err, CK_ERR_CONFIG,
                    "a TLS server needs a certificate and key");
  o->have_trust = has_pem(cfg->ca_file, cfg->ca_pem);
  if (cfg->pin_sha256 != NULL) {
    rc = parse_pin("pin_sha256", cfg->pin_sha256, o->pin, err);
    if (rc != CK_OK)
      return rc;
    o->have_pin = 1;
  }
  if (cfg->ca_pin_sha256 != NULL) {
    rc = parse_pin("ca_pin_sha256", cfg->ca_pin_sha256, o->ca_pin, err);
    if (rc != CK_OK)
      return rc;
    o->have_ca_pin = 1;
  }

  o->verify = cfg->verify;
  if (o->verify == CK_TLS_VERIFY_DEFAULT)
    o->verify = server ? CK_TLS_VERIFY_NONE : CK_TLS_VERIFY_REQUIRE;
  if (o->verify < CK_TLS_VERIFY_NONE || o->verify > CK_TLS_VERIFY_REQUIRE)
    return ck_failf(err, CK_ERR_CONFIG, "verify: unknown mode %d",
                    (int)cfg->verify);
  if (!server && o->verify == CK_TLS_VERIFY_OPTIONAL)
    return ck_failf(err, CK_ERR_CONFIG,
                    "verify: 'optional' is for servers (client certificates); "
                    "a client requires or disables server verification");
  if (o->have_ca_pin && server)
    return ck_failf(err, CK_ERR_CONFIG,
                    "ca_pin_sha256 is for clients (bootstrap enrollment); a "
                    "server verifies clients with a trust bundle");
  if (o->have_ca_pin && o->have_trust)
    return ck_failf(err, CK_ERR_CONFIG,
                    "ca_pin_sha256 makes the pinned CA the only trust anchor: "
                    "give a trust bundle (ca) or a CA pin, not both");
  if (o->have_ca_pin && o->verify == CK_TLS_VERIFY_NONE)
    return ck_failf(err, CK_ERR_CONFIG,
                    "ca_pin_sha256 needs server verification (verify none "
                    "would ignore it)");
  if (server && o->have_pin && o->verify == CK_TLS_VERIFY_NONE)
    return ck_failf(err, CK_ERR_CONFIG,
                    "pin_sha256 on a server needs verify optional or require "
                    "(the client certificate must be requested)");
  if (o->verify != CK_TLS_VERIFY_NONE && !o->have_trust && !o->have_pin &&
      !o->have_ca_pin)
    return ck_failf(err, CK_ERR_CONFIG,
                    "peer verification needs a trust bundle (ca) or a pin");

  o->min_version =
      cfg->min_version == CK_TLS_VERSION_ANY ? CK_TLS_V12 : cfg->min_version;
  o->max_version =
      cfg->max_version == CK_TLS_VERSION_ANY ? max_backend : cfg->max_version;
  if ((o->min_version != CK_TLS_V12 && o->min_version != CK_TLS_V13) ||
      (o->max_version != CK_TLS_V12 && o->max_version != CK_TLS_V13))
    return ck_failf(err, CK_ERR_CONFIG,
                    "TLS versions below 1.2 are not allowed (min 0x%04x, "
                    "max 0x%04x)",
                    (unsigned)o->min_version, (unsigned)o->max_version);
  if (o->min_version > max_backend || o->max_version > max_backend)
    return ck_failf(err, CK_ERR_UNSUPPORTED,
                    "TLS 1.3 is not available with the %s backend",
                    ck_tls_backend());
  if (o->min_version > o->max_version)
    return ck_failf(err, CK_ERR_CONFIG, "min_version above max_version");
  o->handshake_timeout_ms = cfg->handshake_timeout_ms != 0
                                ? cfg->handshake_timeout_ms
                                : CK__TLS_DEFAULT_HANDSHAKE_MS;

  if (!server && cfg->server_name != NULL && cfg->server_name[0] != '\0') {
    o->server_name = strdup(cfg->server_name);
    if (o->server_name == NULL)
      return ck_failf(err, CK_ERR_NOMEM, "server_name");
  }
  if (cfg->alpn != NULL) {
    rc = alpn_wire(cfg->alpn, &o->alpn_wire, &o->alpn_wire_len, err);
    if (rc != CK_OK) {
      ck__tls_opts_clear(o);
      return rc;
    }
  }
  return CK_OK;
}

void ck__tls_opts_clear(ck__tls_opts *o) {
  free(o->server_name);
  free(o->alpn_wire);
  o->server_name = NULL;
  o->alpn_wire = NULL;
  o->alpn_wire_len = 0;
}

ck_err ck__tls_load_pem(const char *file, const uint8_t *buf, size_t buflen,
                        const char *what, uint8_t **out, size_t *len,
                        ck_errctx *err) {
  uint8_t *copy;
  ck_err rc;

  *out = NULL;
  *len = 0;
  if (file != NULL) {
    rc = ck_fs_read_file(file, CK__TLS_MAX_PEM, out, len, err);
    if (rc != CK_OK)
      return ck_failf(err, rc, "%s", what);
    return CK_OK;
  }
  if (buf == NULL)
    return ck_failf(err, CK_ERR_NOENT, "%s: not configured", what);
  if (buflen > CK__TLS_MAX_PEM)
    return ck_failf(err, CK_ERR_LIMIT, "%s: larger than %u bytes", what,
                    CK__TLS_MAX_PEM);
  copy = malloc(buflen + 1);
  if (copy == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "%s", what);
  memcpy(copy, buf, buflen);
  copy[buflen] = '\0';
  *out = copy;
  *len = buflen;
  return CK_OK;
}

void ck__tls_free_pem(uint8_t *p, size_t len) {
  if (p == NULL)
    return;
  ck_wipe(p, len);
  free(p);
}

size_t ck__tls_parse_ip(const char *name, uint8_t out[16]) {
  if (name == NULL)
    return 0;
  if (inet_pton(AF_INET, name, out) == 1)
    return 4;
  if (inet_pton(AF_INET6, name, out) == 1)
    return 16;
  return 0;
}

int ck__tls_pin_equal(const ck__tls_opts *o,
                      const uint8_t digest[CK__TLS_PIN_LEN]) {
  return ck_ct_equal(o->pin, digest, CK__TLS_PIN_LEN);
}

ck_err ck__tls_pin_fail(const uint8_t digest[CK__TLS_PIN_LEN], ck_errctx *err) {
  char hex[2 * CK__TLS_PIN_LEN + 1];

  ck_hex_encode(digest, CK__TLS_PIN_LEN, hex);
  return ck_failf(err, CK_ERR_PIN_MISMATCH,
                  "peer certificate sha256 %s does not match the pin", hex);
}

int ck__tls_ca_pin_equal(const ck__tls_opts *o,
                         const uint8_t digest[CK__TLS_PIN_LEN]) {
  return ck_ct_equal(o->ca_pin, digest, CK__TLS_PIN_LEN);
}

ck_err ck__tls_ca_pin_fail(size_t n, int leaf_matched,
                           const uint8_t top[CK__TLS_PIN_LEN], ck_errctx *err) {
  char hex[2 * CK__TLS_PIN_LEN + 1];

  if (leaf_matched)
    return ck_failf(err, CK_ERR_PIN_MISMATCH,
                    "the CA pin matches the server's own (leaf) certificate, "
                    "not a CA in its chain: pin the CA certificate, or use a "
                    "leaf pin (pin_sha256)");
  if (n <= 1)
    return ck_failf(err, CK_ERR_PIN_MISMATCH,
                    "the server sent no CA certificate with its own, so none "
                    "can match the CA pin (its chain file must hold the "
                    "intermediates and the pinned CA)");
  ck_hex_encode(top, CK__TLS_PIN_LEN, hex);
  return ck_failf(err, CK_ERR_PIN_MISMATCH,
                  "none of the %zu CA certificates the server sent matches "
                  "the CA pin (the last one has sha256 %s)",
                  n - 1, hex);
}

ck_err ck__tls_chain_add(ck__tls_chain *ch, const uint8_t *der, size_t len,
                         ck_errctx *err) {
  uint8_t *nd;
  size_t *ne;

  if (len > SIZE_MAX - ch->len || ch->n >= SIZE_MAX / sizeof *ne - 1)
    return ck_failf(err, CK_ERR_NOMEM, "peer certificate chain");
  nd = realloc(ch->der, ch->len + len > 0 ? ch->len + len : 1);
  if (nd == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "peer certificate chain");
  ch->der = nd;
  ne = realloc(ch->end, (ch->n + 1) * sizeof *ne);
  if (ne == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "peer certificate chain");
  ch->end = ne;
  memcpy(ch->der + ch->len, der, len);
  ch->len += len;
  ch->end[ch->n++] = ch->len;
  return CK_OK;
}

const uint8_t *ck__tls_chain_get(const ck__tls_chain *ch, size_t i,
                                 size_t *len) {
  size_t start;

  if (i >= ch->n) {
    *len = 0;
    return NULL;
  }
  start = i == 0 ? 0 : ch->end[i - 1];
  *len = ch->end[i] - start;
  return ch->der + start;
}

void ck__tls_chain_clear(ck__tls_chain *ch) {
  free(ch->der);
  free(ch->end);
  memset(ch, 0, sizeof *ch);
}
