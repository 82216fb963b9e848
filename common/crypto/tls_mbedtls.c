/* tls_mbedtls.c — the TLS engine (tls.h) on mbedTLS 2.28, for the
 * constrained agent.
 *
 * mbedTLS reads and writes through two callbacks; here they move bytes
 * between growable in/out buffers, so the engine works on memory like the
 * OpenSSL one. Client and server are both provided (the server costs little:
 * the same configuration with the other endpoint flag). mbedTLS 2.28 has no
 * production TLS 1.3, so this backend speaks TLS 1.2 only, with ECDHE and
 * AEAD suites.
 *
 * Verification: mbedTLS runs its chain check (against the trust bundle, with
 * the DNS name set by mbedtls_ssl_set_hostname) and then calls our verify
 * callback for each certificate, leaf last. The callback applies the policy
 * of tls.h: validity re-checked at ck_clock_now() (the clock seam), IP
 * address SANs (which 2.28 cannot match), extended key usage, the pin, and
 * the decision itself: it aborts the handshake on the first failure, after
 * recording a specific ck_err, even when mbedTLS's authmode is "optional"
 * (which we use whenever we must see the certificate ourselves: pin-only
 * mode has no CA chain, and "optional" must still refuse a bad client
 * certificate). With a CA pin there is no trust bundle either: at the leaf
 * the callback finds the presented certificate with the pinned fingerprint
 * and runs a second mbedtls_x509_crt_verify of the presented chain with that
 * certificate as the only trusted one (mbedTLS accepts an intermediate as an
 * anchor), then the same IP / EKU / clock checks. The leaf's key usage, which
 * mbedTLS only flags in optional mode, is enforced after the handshake. */
#include "common/crypto/tls_internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_internal.h>
#include <mbedtls/x509_crt.h>

#include "common/util/clock.h"
#include "common/util/mem.h"

static const int ck_mbed_suites[] = {
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    0};

static const mbedtls_ecp_group_id ck_mbed_curves[] = {
    MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
    MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE};

/* Our own pin-mismatch / policy abort from the verify callback. Any error
 * other than "verify failed" is fatal to mbedTLS even in optional mode. */
#define CK_MBED_VERIFY_ABORT MBEDTLS_ERR_X509_FATAL_ERROR

struct ck_tls_ctx {
  atomic_int refs; /* sessions and owners holding this ctx */
  ck__tls_opts o;  /* resolved configuration */
  mbedtls_ssl_config conf;
  mbedtls_x509_crt own_chain; /* leaf first */
  mbedtls_pk_context own_key;
  mbedtls_x509_crt trust;
  const char **alpn_list; /* NULL-terminated, points into alpn_store */
  char *alpn_store;
};

typedef struct ck_mbed_buf {
  uint8_t *p;
  size_t off; /* first unread byte */
  size_t len; /* end of data */
  size_t cap;
} ck_mbed_buf;

struct ck_tls_session {
  ck_tls_ctx *ctx; /* referenced */
  mbedtls_ssl_context ssl;
  ck_mbed_buf in;       /* ciphertext from the network, not yet consumed */
  ck_mbed_buf out;      /* ciphertext for the network */
  int done;             /* handshake completed and checked */
  int closed;           /* close_notify queued */
  ck_err failed;        /* sticky handshake failure */
  ck_errctx verr;       /* failure recorded by the verify callback */
  uint32_t chain_flags; /* verification flags of the issuers seen so far */
  int verified;         /* the peer leaf passed trust and/or pin */
  uint8_t ip[16];       /* server name as an IP literal (client), if ipl > 0 */
  size_t ipl;
  ck__tls_chain chain; /* the peer's presented chain, leaf first */
  int ca_pinned;       /* CA pin matched and the leaf verified to it */
  size_t ca_pin_idx;   /* its index in the presented chain */
  char alpn[256];
  uint8_t exporter[CK__TLS_EXPORTER_LEN]; /* tls-exporter value */
  int have_exporter;
  int ems; /* extended master secret negotiated */
};

/* mbedTLS hands the key-export callback its configuration's context, not the
 * SSL context; the session being stepped is known from this. */
static _Thread_local ck_tls_session *stepping;

const char *ck_tls_backend(void) {
  return "mbedtls";
}

static ck_err mbed_fail(ck_errctx *err, ck_err code, const char *what,
                        int ret) {
  char buf[160];

  mbedtls_strerror(ret, buf, sizeof buf);
  return ck_failf(err, code, "%s: %s (-0x%04x)", what, buf, (unsigned)-ret);
}

static int rng(void *arg, unsigned char *out, size_t len) {
  (void)arg;
  return ck_random(out, len) == CK_OK ? 0 : MBEDTLS_ERR_SSL_NO_RNG;
}

/* ---- buffers -------------------------------------------------------- */

static int buf_append(ck_mbed_buf *b, const uint8_t *data, size_t len) {
  if (b->off > 0 && b->off == b->len) {
    b->off = b->len = 0;
  }
  if (b->cap - b->len < len) {
    size_t used = b->len - b->off, ncap;
    uint8_t *np;
    if (b->off > 0) { /* compact first */
      memmove(b->p, b->p + b->off, used);
      b->off = 0;
      b->len = used;
    }
    if (b->cap - b->len < len) {
      ncap = b->cap ? b->cap : 16384;
      while (ncap - b->len < len) {
        if (ncap > SIZE_MAX / 2)
          return -1;
        ncap *= 2;
      }
      np = realloc(b->p, ncap);
      if (np == NULL)
        return -1;
      b->p = np;
      b->cap = ncap;
    }
  }
  memcpy(b->p + b->len, data, len);
  b->len += len;
  return 0;
}

static size_t buf_take(ck_mbed_buf *b, uint8_t *out, size_t cap) {
  size_t n = b->len - b->off;

  if (n > cap)
    n = cap;
  memcpy(out, b->p + b->off, n);
  b->off += n;
  if (b->off == b->len) {
    b->off = b->len = 0;
    /* drained: a buffer grown by one large write (an inventory) is given
     * back instead of being kept for the session's life */
    if (b->cap > 65536) {
      free(b->p);
      b->p = NULL;
      b->cap = 0;
    }
  }
  return n;
}

static void buf_free(ck_mbed_buf *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

static int bio_send(void *arg, const unsigned char *data, size_t len) {
  ck_tls_session *s = arg;

  if (buf_append(&s->out, data, len) != 0)
    return MBEDTLS_ERR_SSL_ALLOC_FAILED;
  return (int)len;
}

static int bio_recv(void *arg, unsigned char *data, size_t len) {
  ck_tls_session *s = arg;

  if (s->in.len == s->in.off)
    return MBEDTLS_ERR_SSL_WANT_READ;
  return (int)buf_take(&s->in, data, len);
}

/* ---- verification ----------------------------------------------------- */

static int64_t days_from_civil(int64_t y, int m, int d) {
  int64_t era, yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int64_t x509_epoch(const mbedtls_x509_time *t) {
  return days_from_civil(t->year, t->mon, t->day) * 86400 + t->hour * 3600 +
         t->min * 60 + t->sec;
}

/* mbedTLS 2.28 checks validity against the real clock; redo it against the
 * clock seam so both backends agree under CK_FAKE_TIME. */
static void recheck_time(const mbedtls_x509_crt *crt, uint32_t *flags) {
  int64_t now = ck_clock_now();

  *flags &=
      ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
  if (now > x509_epoch(&crt->valid_to))
    *flags |= MBEDTLS_X509_BADCERT_EXPIRED;
  if (now < x509_epoch(&crt->valid_from))
    *flags |= MBEDTLS_X509_BADCERT_FUTURE;
}

/* 1 when crt carries an iPAddress SAN equal to ip (2.28 does not list IP
 * SANs in subject_alt_names, so walk the raw extensions). */
static int san_has_ip(const mbedtls_x509_crt *crt, const uint8_t *ip,
                      size_t ipl) {
  unsigned char *p = crt->v3_ext.p;
  const unsigned char *end;
  size_t len;
  int ret;

  if (p == NULL)
    return 0;
  end = p + crt->v3_ext.len;
  if (mbedtls_asn1_get_tag(
          &p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
    return 0;
  end = p + len;
  while (p < end) {
    const unsigned char *ext_end;
    mbedtls_asn1_buf oid;
    int critical;

    if (mbedtls_asn1_get_tag(&p, end, &len,
                             MBEDTLS_ASN1_CONSTRUCTED |
                                 MBEDTLS_ASN1_SEQUENCE) != 0)
      return 0;
    ext_end = p + len;
    if (mbedtls_asn1_get_tag(&p, ext_end, &oid.len, MBEDTLS_ASN1_OID) != 0)
      return 0;
    oid.p = p;
    p += oid.len;
    ret = mbedtls_asn1_get_bool(&p, ext_end, &critical); /* optional */
    if (ret != 0 && ret != MBEDTLS_ERR_ASN1_UNEXPECTED_TAG)
      return 0;
    if (oid.len != MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME) ||
        memcmp(oid.p, MBEDTLS_OID_SUBJECT_ALT_NAME, oid.len) != 0) {
      p = (unsigned char *)ext_end;
      continue;
    }
    if (mbedtls_asn1_get_tag(&p, ext_end, &len, MBEDTLS_ASN1_OCTET_STRING) !=
            0 ||
        mbedtls_asn1_get_tag(&p, ext_end, &len,
                             MBEDTLS_ASN1_CONSTRUCTED |
                                 MBEDTLS_ASN1_SEQUENCE) != 0)
      return 0;
    ext_end = p + len;
    while (p < ext_end) {
      unsigned char tag = *p++;
      if (mbedtls_asn1_get_len(&p, ext_end, &len) != 0)
        return 0;
      if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && len == ipl &&
          memcmp(p, ip, ipl) == 0)
        return 1;
      p += len;
    }
    return 0;
  }
  return 0;
}

static void record_flags(ck_tls_session *s, uint32_t flags) {
  char info[256];
  ck_err code = CK_ERR_VERIFY;

  if (flags & MBEDTLS_X509_BADCERT_EXPIRED)
    code = CK_ERR_EXPIRED;
  else if (flags & MBEDTLS_X509_BADCERT_FUTURE)
    code = CK_ERR_NOT_YET_VALID;
  else if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
    code = CK_ERR_UNTRUSTED;
  if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) {
    ck_setf(&s->verr, CK_ERR_VERIFY,
            "peer certificate: name mismatch (does not match the server "
            "name)");
    return;
  }
  if (mbedtls_x509_crt_verify_info(info, sizeof info, "", flags) < 0)
    ck_strlcpy(info, "verification failed", sizeof info);
  info[strcspn(info, "\n")] = '\0';
  ck_setf(&s->verr, code, "peer certificate: %s", info);
}

/* Leaf checks mbedTLS's chain verification leaves to us: the IP address
 * SAN and the extended key usage for the role. */
static void leaf_checks(const ck_tls_session *s, const mbedtls_x509_crt *crt,
                        uint32_t *flags) {
  if (s->ipl > 0 && !san_has_ip(crt, s->ip, s->ipl))
    *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
  if (s->ctx->o.role == CK_TLS_CLIENT
          ? mbedtls_x509_crt_check_extended_key_usage(
                crt, MBEDTLS_OID_SERVER_AUTH,
                MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)) != 0
          : mbedtls_x509_crt_check_extended_key_usage(
                crt, MBEDTLS_OID_CLIENT_AUTH,
                MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)) != 0)
    *flags |= MBEDTLS_X509_BADCERT_EXT_KEY_USAGE;
}

/* The inner verification of CA-pin mode: validity against the clock seam. */
static int ca_pin_vrfy(void *arg, mbedtls_x509_crt *crt, int depth,
                       uint32_t *flags) {
  (void)arg;
  (void)depth;
  recheck_time(crt, flags);
  return 0;
}

/* CA-pin mode, at the leaf (the head of the presented chain, crt->next the
 * rest as sent): finds the certificate after the leaf whose SHA-256 is the
 * CA pin and verifies the leaf up to it as the only trust anchor. Returns 1
 * when the chain verifies, 0 with the reason in s->verr. */
static int verify_ca_pin(ck_tls_session *s, const mbedtls_x509_crt *leaf) {
  const ck__tls_opts *o = &s->ctx->o;
  const mbedtls_x509_crt *c, *pinned = NULL;
  mbedtls_x509_crt anchor;
  uint8_t md[CK__TLS_PIN_LEN];
  uint32_t vflags = 0;
  size_t i;
  int leaf_matched = 0, ret, ok = 0;

  mbedtls_x509_crt_init(&anchor);
  /* Every certificate is hashed and compared, match or not. */
  for (c = leaf, i = 0; c != NULL && c->raw.len > 0; c = c->next, i++) {
    int match;
    if (mbedtls_sha256_ret(c->raw.p, c->raw.len, md, 0) != 0) {
      ck_setf(&s->verr, CK_ERR_CRYPTO, "cannot hash a peer certificate");
      goto out;
    }
    match = ck__tls_ca_pin_equal(o, md);
    if (i == 0)
      leaf_matched = match;
    else if (match && pinned == NULL) {
      pinned = c;
      s->ca_pin_idx = i;
    }
  }
  if (pinned == NULL) {
    ck_errctx_clear(&s->verr);
    ck__tls_ca_pin_fail(i, leaf_matched, md, &s->verr);
    goto out;
  }
  if (!pinned->ca_istrue) {
    ck_setf(&s->verr, CK_ERR_VERIFY,
            "the certificate matching the CA pin is not a CA certificate");
    goto out;
  }
  ret = mbedtls_x509_crt_parse_der(&anchor, pinned->raw.p, pinned->raw.len);
  if (ret != 0) {
    ck_errctx_clear(&s->verr);
    mbed_fail(&s->verr, CK_ERR_BAD_CERT, "pinned CA certificate", ret);
    goto out;
  }
  /* The DNS name was given to mbedtls_ssl_set_hostname (NULL for an IP
   * literal, which leaf_checks matches). */
  ret = mbedtls_x509_crt_verify_with_profile(
      (mbedtls_x509_crt *)leaf, &anchor, NULL, s->ctx->conf.cert_profile,
      s->ssl.hostname, &vflags, ca_pin_vrfy, NULL);
  if (ret != 0 && ret != MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
    ck_errctx_clear(&s->verr);
    mbed_fail(&s->verr, CK_ERR_VERIFY, "peer certificate", ret);
    goto out;
  }
  leaf_checks(s, leaf, &vflags);
  if (vflags != 0) {
    record_flags(s, vflags);
    if (s->verr.code == CK_ERR_UNTRUSTED)
      ck_setf(&s->verr, CK_ERR_UNTRUSTED,
              "peer certificate does not chain up to the pinned CA");
    goto out;
  }
  s->ca_pinned = 1;
  ok = 1;

out:
  mbedtls_x509_crt_free(&anchor);
  return ok;
}

static int verify_cb(void *arg, mbedtls_x509_crt *crt, int depth,
                     uint32_t *flags) {
  ck_tls_session *s = arg;
  const ck__tls_opts *o = &s->ctx->o;
  int trust_mode = o->have_trust && o->verify != CK_TLS_VERIFY_NONE;
  uint8_t md[CK__TLS_PIN_LEN];
  uint32_t all;

  recheck_time(crt, flags);
  if (depth > 0) {
    s->chain_flags |= *flags;
    if (!trust_mode)
      *flags = 0; /* the trust bundle is not what authenticates */
    return 0;
  }
  if (trust_mode)
    leaf_checks(s, crt, flags);
  all = s->chain_flags | *flags;
  if (o->have_pin) {
    if (mbedtls_sha256_ret(crt->raw.p, crt->raw.len, md, 0) != 0) {
      ck_setf(&s->verr, CK_ERR_CRYPTO, "cannot hash the peer certificate");
      return CK_MBED_VERIFY_ABORT;
    }
    if (!ck__tls_pin_equal(o, md)) {
      ck_errctx_clear(&s->verr);
      ck__tls_pin_fail(md, &s->verr);
      return CK_MBED_VERIFY_ABORT;
    }
  }
  if (o->have_ca_pin && !verify_ca_pin(s, crt))
    return CK_MBED_VERIFY_ABORT;
  if (trust_mode && all != 0) {
    record_flags(s, all);
    return CK_MBED_VERIFY_ABORT;
  }
  if (trust_mode || o->have_pin || o->have_ca_pin)
    s->verified = 1;
  *flags = 0;
  return 0;
}

/* Computes tls-exporter (RFC 5705 without context) while the master secret
 * is at hand; mbedTLS 2.28 has no exporter API. */
static int export_keys_cb(void *arg, const unsigned char *ms,
                          const unsigned char *kb, size_t maclen, size_t keylen,
                          size_t ivlen, const unsigned char client_random[32],
                          const unsigned char server_random[32],
                          mbedtls_tls_prf_types prf) {
  ck_tls_session *s = stepping;
  unsigned char seed[64];

  (void)arg;
  (void)kb;
  (void)maclen;
  (void)keylen;
  (void)ivlen;
  if (s == NULL)
    return 0;
  s->ems = s->ssl.handshake != NULL &&
           s->ssl.handshake->extended_ms == MBEDTLS_SSL_EXTENDED_MS_ENABLED;
  memcpy(seed, client_random, 32);
  memcpy(seed + 32, server_random, 32);
  if (mbedtls_ssl_tls_prf(prf, ms, 48, CK__TLS_EXPORTER_LABEL, seed,
                          sizeof seed, s->exporter, CK__TLS_EXPORTER_LEN) == 0)
    s->have_exporter = 1;
  return 0;
}

/* ---- context ---------------------------------------------------------- */

static ck_err load_own(ck_tls_ctx *c, const ck_tls_config *cfg,
                       ck_errctx *err) {
  ck_err rc = CK_OK;
  uint8_t *cert = NULL, *key = NULL;
  size_t cert_len = 0, key_len = 0;
  const char *cname = cfg->cert_file ? cfg->cert_file : "certificate buffer";
  const char *kname = cfg->key_file ? cfg->key_file : "key buffer";
  int ret;

  rc = ck__tls_load_pem(cfg->cert_file, cfg->cert_pem, cfg->cert_pem_len,
                        "certificate", &cert, &cert_len, err);
  if (rc != CK_OK)
    goto out;
  rc = ck__tls_load_pem(cfg->key_file, cfg->key_pem, cfg->key_pem_len, "key",
                        &key, &key_len, err);
  if (rc != CK_OK)
    goto out;
  if (strstr((const char *)cert, "-----BEGIN ") == NULL) {
    rc = ck_failf(err, CK_ERR_BAD_PEM, "%s: no PEM certificate", cname);
    goto out;
  }
  if (strstr((const char *)key, "-----BEGIN ") == NULL) {
    rc = ck_failf(err, CK_ERR_BAD_PEM, "%s: no PEM private key", kname);
    goto out;
  }
  ret = mbedtls_x509_crt_parse(&c->own_chain, cert, cert_len + 1);
  if (ret != 0) {
    rc = ret > 0
             ? ck_failf(err, CK_ERR_BAD_CERT,
                        "%s: %d certificate(s) could not be parsed", cname, ret)
             : mbed_fail(err, CK_ERR_BAD_CERT, cname, ret);
    goto out;
  }
  ret = mbedtls_pk_parse_key(&c->own_key, key, key_len + 1, NULL, 0);
  if (ret != 0) {
    rc = ret == MBEDTLS_ERR_PK_PASSWORD_REQUIRED
             ? ck_failf(err, CK_ERR_KEY_ENCRYPTED,
                        "%s: encrypted private keys are not supported here",
                        kname)
             : mbed_fail(err, CK_ERR_BAD_KEY, kname, ret);
    goto out;
  }
  if (mbedtls_pk_check_pair(&c->own_chain.pk, &c->own_key) != 0) {
    rc = ck_failf(err, CK_ERR_KEY_MISMATCH, "%s does not match %s", kname,
                  cname);
    goto out;
  }
  ret = mbedtls_ssl_conf_own_cert(&c->conf, &c->own_chain, &c->own_key);
  if (ret != 0)
    rc = mbed_fail(err, CK_ERR_CRYPTO, "own certificate", ret);

out:
  ck__tls_free_pem(cert, cert_len);
  ck__tls_free_pem(key, key_len);
  return rc;
}

static ck_err load_trust(ck_tls_ctx *c, const ck_tls_config *cfg,
                         ck_errctx *err) {
  ck_err rc;
  uint8_t *pem = NULL;
  size_t len = 0;
  const char *name = cfg->ca_file ? cfg->ca_file : "trust bundle buffer";
  int ret;

  rc = ck__tls_load_pem(cfg->ca_file, cfg->ca_pem, cfg->ca_pem_len,
                        "trust bundle", &pem, &len, err);
  if (rc != CK_OK)
    return rc;
  if (strstr((const char *)pem, "-----BEGIN ") == NULL) {
    rc = ck_failf(err, CK_ERR_BAD_PEM, "%s: no PEM certificate", name);
    goto out;
  }
  ret = mbedtls_x509_crt_parse(&c->trust, pem, len + 1);
  if (ret != 0) {
    rc = ret > 0
             ? ck_failf(err, CK_ERR_BAD_CERT,
                        "%s: %d certificate(s) could not be parsed", name, ret)
             : mbed_fail(err, CK_ERR_BAD_CERT, name, ret);
    goto out;
  }
  mbedtls_ssl_conf_ca_chain(&c->conf, &c->trust, NULL);

out:
  ck__tls_free_pem(pem, len);
  return rc;
}

/* mbedTLS wants ALPN as a NULL-terminated array of C strings. */
static ck_err build_alpn(ck_tls_ctx *c, ck_errctx *err) {
  size_t n = 0, i = 0, count = 0;
  const uint8_t *w = c->o.alpn_wire;
  char *store;
  int ret;

  while (i < c->o.alpn_wire_len) {
    count++;
    i += 1u + w[i];
  }
  c->alpn_list = calloc(count + 1, sizeof *c->alpn_list);
  c->alpn_store = malloc(c->o.alpn_wire_len + 1);
  if (c->alpn_list == NULL || c->alpn_store == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "alpn");
  store = c->alpn_store;
  for (i = 0; i < c->o.alpn_wire_len; i += 1u + w[i]) {
    memcpy(store, w + i + 1, w[i]);
    store[w[i]] = '\0';
    c->alpn_list[n++] = store;
    store += w[i] + 1u;
  }
  ret = mbedtls_ssl_conf_alpn_protocols(&c->conf, c->alpn_list);
  if (ret != 0)
    return mbed_fail(err, CK_ERR_CONFIG, "alpn", ret);
  return CK_OK;
}

ck_err ck_tls_ctx_new(const ck_tls_config *cfg, ck_tls_ctx **out,
                      ck_errctx *err) {
  ck_err rc;
  ck_tls_ctx *c = NULL;
  int server = cfg->role == CK_TLS_SERVER;
  int ret, authmode;

  *out = NULL;
  c = calloc(1, sizeof *c);
  if (c == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "TLS context");
  atomic_init(&c->refs, 1);
  mbedtls_ssl_config_init(&c->conf);
  mbedtls_x509_crt_init(&c->own_chain);
  mbedtls_pk_init(&c->own_key);
  mbedtls_x509_crt_init(&c->trust);
  rc = ck__tls_opts_init(&c->o, cfg, CK_TLS_V12, err);
  if (rc != CK_OK)
    goto out;

  ret = mbedtls_ssl_config_defaults(
      &c->conf, server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
      MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
  if (ret != 0) {
    rc = mbed_fail(err, CK_ERR_CRYPTO, "TLS configuration", ret);
    goto out;
  }
  mbedtls_ssl_conf_rng(&c->conf, rng, NULL);
  mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                               MBEDTLS_SSL_MINOR_VERSION_3);
  mbedtls_ssl_conf_max_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                               MBEDTLS_SSL_MINOR_VERSION_3);
  mbedtls_ssl_conf_ciphersuites(&c->conf, ck_mbed_suites);
  mbedtls_ssl_conf_curves(&c->conf, ck_mbed_curves);
  mbedtls_ssl_conf_renegotiation(&c->conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
  mbedtls_ssl_conf_extended_master_secret(&c->conf,
                                          MBEDTLS_SSL_EXTENDED_MS_ENABLED);
#if defined(MBEDTLS_SSL_SESSION_TICKETS)
  if (!server)
    mbedtls_ssl_conf_session_tickets(&c->conf,
                                     MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
#endif
  mbedtls_ssl_conf_export_keys_ext_cb(&c->conf, export_keys_cb, NULL);

  if (c->o.have_cert) {
    rc = load_own(c, cfg, err);
    if (rc != CK_OK)
      goto out;
  }
  if (c->o.have_trust) {
    rc = load_trust(c, cfg, err);
    if (rc != CK_OK)
      goto out;
  }

  /* "required" only where mbedTLS's own refusal is the one we want (server
   * demanding a client certificate, with a CA chain to check it against);
   * otherwise "optional" and verify_cb decides. */
  if (c->o.verify == CK_TLS_VERIFY_NONE && !c->o.have_pin)
    authmode = MBEDTLS_SSL_VERIFY_NONE;
  else if (server && c->o.verify == CK_TLS_VERIFY_REQUIRE && c->o.have_trust)
    authmode = MBEDTLS_SSL_VERIFY_REQUIRED;
  else
    authmode = MBEDTLS_SSL_VERIFY_OPTIONAL;
  mbedtls_ssl_conf_authmode(&c->conf, authmode);

  if (c->o.alpn_wire != NULL) {
    rc = build_alpn(c, err);
    if (rc != CK_OK)
      goto out;
  }
  *out = c;
  c = NULL;

out:
  ck_tls_ctx_free(c);
  return rc;
}

ck_tls_ctx *ck_tls_ctx_ref(ck_tls_ctx *ctx) {
  atomic_fetch_add(&ctx->refs, 1);
  return ctx;
}

void ck_tls_ctx_free(ck_tls_ctx *ctx) {
  if (ctx == NULL || atomic_fetch_sub(&ctx->refs, 1) != 1)
    return;
  mbedtls_ssl_config_free(&ctx->conf);
  mbedtls_x509_crt_free(&ctx->own_chain);
  mbedtls_pk_free(&ctx->own_key); /* zeroizes the key */
  mbedtls_x509_crt_free(&ctx->trust);
  free(ctx->alpn_list);
  free(ctx->alpn_store);
  ck__tls_opts_clear(&ctx->o);
  ck_wipe(ctx, sizeof *ctx);
  free(ctx);
}

ck_tls_role ck_tls_ctx_role(const ck_tls_ctx *ctx) {
  return ctx->o.role;
}

unsigned ck_tls_ctx_handshake_timeout_ms(const ck_tls_ctx *ctx) {
  return ctx->o.handshake_timeout_ms;
}

const char *ck_tls_ctx_server_name(const ck_tls_ctx *ctx) {
  return ctx->o.server_name;
}

/* ---- session ---------------------------------------------------------- */

ck_err ck_tls_session_new(ck_tls_ctx *ctx, const char *server_name,
                          ck_tls_session **out, ck_errctx *err) {
  ck_err rc = CK_OK;
  ck_tls_session *s = NULL;
  const char *name;
  int ret;

  *out = NULL;
  s = calloc(1, sizeof *s);
  if (s == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "TLS session");
  s->ctx = ck_tls_ctx_ref(ctx);
  mbedtls_ssl_init(&s->ssl);
  ret = mbedtls_ssl_setup(&s->ssl, &ctx->conf);
  if (ret != 0) {
    rc = mbed_fail(err, CK_ERR_NOMEM, "TLS session", ret);
    goto out;
  }
  mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
  mbedtls_ssl_set_verify(&s->ssl, verify_cb, s);
  if (ctx->o.role == CK_TLS_CLIENT) {
    name = server_name != NULL && server_name[0] != '\0' ? server_name
                                                         : ctx->o.server_name;
    s->ipl = ck__tls_parse_ip(name, s->ip);
    /* A DNS name goes out as SNI and is checked by mbedTLS; an IP literal
     * is neither (RFC 6066) and verify_cb checks it against the SANs. */
    if (name != NULL && s->ipl == 0) {
      ret = mbedtls_ssl_set_hostname(&s->ssl, name);
      if (ret != 0) {
        rc = mbed_fail(err, CK_ERR_CONFIG, "server name", ret);
        goto out;
      }
    }
  }
  *out = s;
  s = NULL;

out:
  ck_tls_session_free(s);
  return rc;
}

void ck_tls_session_free(ck_tls_session *s) {
  if (s == NULL)
    return;
  mbedtls_ssl_free(&s->ssl);
  buf_free(&s->in);
  buf_free(&s->out);
  ck__tls_chain_clear(&s->chain);
  ck_tls_ctx_free(s->ctx);
  ck_wipe(s, sizeof *s);
  free(s);
}

ck_err ck_tls_session_feed(ck_tls_session *s, const uint8_t *data, size_t len,
                           ck_errctx *err) {
  if (len > 0 && buf_append(&s->in, data, len) != 0)
    return ck_failf(err, CK_ERR_NOMEM, "TLS input buffer");
  return CK_OK;
}

static const char *alert_name(int a) {
  switch (a) {
  case MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE:
    return "handshake failure";
  case MBEDTLS_SSL_ALERT_MSG_BAD_CERT:
    return "bad certificate";
  case MBEDTLS_SSL_ALERT_MSG_UNSUPPORTED_CERT:
    return "unsupported certificate";
  case MBEDTLS_SSL_ALERT_MSG_CERT_EXPIRED:
    return "certificate expired";
  case MBEDTLS_SSL_ALERT_MSG_CERT_UNKNOWN:
    return "certificate unknown";
  case MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA:
    return "unknown CA";
  case MBEDTLS_SSL_ALERT_MSG_ACCESS_DENIED:
    return "access denied";
  case MBEDTLS_SSL_ALERT_MSG_DECRYPT_ERROR:
    return "decrypt error";
  case MBEDTLS_SSL_ALERT_MSG_PROTOCOL_VERSION:
    return "protocol version";
  case MBEDTLS_SSL_ALERT_MSG_INSUFFICIENT_SECURITY:
    return "insufficient security";
  case 116:
    return "certificate required";
  case MBEDTLS_SSL_ALERT_MSG_NO_APPLICATION_PROTOCOL:
    return "no application protocol";
  default:
    return "alert";
  }
}

/* The alert the peer sent, as text, when ret says one arrived. */
static void peer_alert(const ck_tls_session *s, char *buf, size_t len) {
  int a = s->ssl.in_msg != NULL ? s->ssl.in_msg[1] : -1;

  snprintf(buf, len, "the peer sent a fatal alert: %s (%d)", alert_name(a), a);
}

static ck_err handshake_error(ck_tls_session *s, int ret, ck_errctx *err) {
  char text[128];

  if (s->verr.code != CK_OK)
    return ck_failf(err, s->verr.code, "%s", s->verr.msg);
  switch (ret) {
  case MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE:
    /* mbedTLS does not tell the client why; handshake_failure is what
     * RFC 5246 says a server sends here. */
    mbedtls_ssl_send_alert_message(&s->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
                                   MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE);
    return ck_failf(err, CK_ERR_PEER_CERT_REQUIRED,
                    "TLS handshake: the client sent no certificate");
  case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
    peer_alert(s, text, sizeof text);
    if (s->ssl.in_msg != NULL && s->ssl.in_msg[1] == 116)
      return ck_failf(err, CK_ERR_TLS_HANDSHAKE,
                      "TLS handshake: the server requires a client "
                      "certificate");
    return ck_failf(err, CK_ERR_TLS_HANDSHAKE, "TLS handshake: %s", text);
  case MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION:
    return mbed_fail(err, CK_ERR_TLS_HANDSHAKE,
                     "TLS handshake: protocol version refused (TLS 1.2 "
                     "minimum)",
                     ret);
  default:
    return mbed_fail(err, CK_ERR_TLS_HANDSHAKE, "TLS handshake", ret);
  }
}

static ck_err finish_handshake(ck_tls_session *s, ck_errctx *err) {
  const ck__tls_opts *o = &s->ctx->o;
  const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&s->ssl), *c;
  const char *alpn;
  ck_err rc;

  /* The session keeps the whole presented chain, leaf first. */
  for (c = peer; c != NULL && c->raw.len > 0; c = c->next) {
    rc = ck__tls_chain_add(&s->chain, c->raw.p, c->raw.len, err);
    if (rc != CK_OK)
      return rc;
  }
  if (o->role == CK_TLS_SERVER && o->verify == CK_TLS_VERIFY_REQUIRE &&
      s->chain.n == 0) {
    mbedtls_ssl_send_alert_message(&s->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
                                   MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE);
    return ck_failf(err, CK_ERR_PEER_CERT_REQUIRED,
                    "TLS handshake: the client sent no certificate");
  }
  if (((o->verify != CK_TLS_VERIFY_NONE || o->have_pin) && s->chain.n > 0 &&
       !s->verified) ||
      (o->role == CK_TLS_CLIENT && o->verify != CK_TLS_VERIFY_NONE &&
       !s->verified) ||
      (o->have_ca_pin && !s->ca_pinned)) {
    mbedtls_ssl_send_alert_message(&s->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
                                   MBEDTLS_SSL_ALERT_MSG_BAD_CERT);
    return ck_failf(err, CK_ERR_TLS_HANDSHAKE,
                    "TLS handshake: peer certificate was not verified");
  }
  /* In optional mode mbedTLS only flags a server key usage that does not
   * fit the negotiated suite (mbedtls_ssl_check_cert_usage); refuse it. */
  if (o->role == CK_TLS_CLIENT &&
      ((o->have_trust && o->verify != CK_TLS_VERIFY_NONE) || o->have_ca_pin) &&
      (mbedtls_ssl_get_verify_result(&s->ssl) &
       (MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE)) !=
          0) {
    mbedtls_ssl_send_alert_message(&s->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
                                   MBEDTLS_SSL_ALERT_MSG_UNSUPPORTED_CERT);
    return ck_failf(err, CK_ERR_VERIFY,
                    "peer certificate: its key usage does not allow the "
                    "negotiated cipher suite");
  }
  alpn = mbedtls_ssl_get_alpn_protocol(&s->ssl);
  if (alpn != NULL)
    ck_strlcpy(s->alpn, alpn, sizeof s->alpn);
  return CK_OK;
}

ck_err ck_tls_session_handshake(ck_tls_session *s, ck_errctx *err) {
  int ret;

  if (s->failed != CK_OK)
    return ck_failf(err, s->failed, "TLS handshake already failed");
  if (s->done)
    return CK_OK;
  stepping = s;
  ret = mbedtls_ssl_handshake(&s->ssl);
  stepping = NULL;
  if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
    return CK_ERR_AGAIN;
  if (ret != 0) {
    s->failed = handshake_error(s, ret, err);
    return s->failed;
  }
  s->failed = finish_handshake(s, err);
  if (s->failed != CK_OK)
    return s->failed;
  s->done = 1;
  return CK_OK;
}

int ck_tls_session_handshake_done(const ck_tls_session *s) {
  return s->done;
}

ck_err ck_tls_session_read(ck_tls_session *s, uint8_t *buf, size_t cap,
                           size_t *n, ck_errctx *err) {
  int ret;
  char text[128];

  *n = 0;
  if (!s->done)
    return ck_failf(err, CK_ERR_INVAL, "TLS read before the handshake");
  if (cap == 0)
    return CK_ERR_AGAIN;
  ret = mbedtls_ssl_read(&s->ssl, buf, cap);
  if (ret > 0) {
    *n = (size_t)ret;
    return CK_OK;
  }
  switch (ret) {
  case MBEDTLS_ERR_SSL_WANT_READ:
  case MBEDTLS_ERR_SSL_WANT_WRITE:
    return CK_ERR_AGAIN;
  case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
  case 0:
    return CK_ERR_CLOSED;
  case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
    peer_alert(s, text, sizeof text);
    if (s->ssl.in_msg != NULL && s->ssl.in_msg[1] == 116)
      return ck_failf(err, CK_ERR_TLS,
                      "TLS: the server requires a client certificate");
    return ck_failf(err, CK_ERR_TLS, "TLS read: %s", text);
  default:
    return mbed_fail(err, CK_ERR_TLS, "TLS read", ret);
  }
}

ck_err ck_tls_session_write(ck_tls_session *s, const uint8_t *data, size_t len,
                            ck_errctx *err) {
  int ret;

  if (!s->done || s->closed)
    return ck_failf(err, CK_ERR_INVAL, "TLS write %s",
                    s->closed ? "after close" : "before the handshake");
  while (len > 0) {
    ret = mbedtls_ssl_write(&s->ssl, data, len);
    if (ret <= 0)
      return mbed_fail(err, CK_ERR_TLS, "TLS write", ret);
    data += ret;
    len -= (size_t)ret;
  }
  return CK_OK;
}

size_t ck_tls_session_pending(const ck_tls_session *s) {
  return s->out.len - s->out.off;
}

size_t ck_tls_session_take(ck_tls_session *s, uint8_t *buf, size_t cap) {
  return buf_take(&s->out, buf, cap);
}

void ck_tls_session_close(ck_tls_session *s) {
  if (s->closed)
    return;
  s->closed = 1;
  if (s->done)
    (void)mbedtls_ssl_close_notify(&s->ssl);
}

const uint8_t *ck_tls_session_peer_cert(const ck_tls_session *s, size_t *len,
                                        int *verified) {
  if (verified != NULL)
    *verified = s->done && s->chain.n > 0 && s->verified;
  return ck_tls_session_peer_chain(s, 0, len);
}

const uint8_t *ck_tls_session_peer_chain(const ck_tls_session *s, size_t i,
                                         size_t *len) {
  if (!s->done) {
    *len = 0;
    return NULL;
  }
  return ck__tls_chain_get(&s->chain, i, len);
}

size_t ck_tls_session_peer_chain_count(const ck_tls_session *s) {
  return s->done ? s->chain.n : 0;
}

const uint8_t *ck_tls_session_pinned_ca(const ck_tls_session *s, size_t *len,
                                        size_t *index) {
  if (index != NULL)
    *index = 0;
  if (!s->done || !s->ca_pinned) {
    *len = 0;
    return NULL;
  }
  if (index != NULL)
    *index = s->ca_pin_idx;
  return ck__tls_chain_get(&s->chain, s->ca_pin_idx, len);
}

ck_tls_version ck_tls_session_version(const ck_tls_session *s) {
  return s->done ? CK_TLS_V12 : CK_TLS_VERSION_ANY;
}

const char *ck_tls_session_cipher(const ck_tls_session *s) {
  const char *name;

  if (!s->done)
    return "";
  name = mbedtls_ssl_get_ciphersuite(&s->ssl);
  return name != NULL ? name : "";
}

const char *ck_tls_session_alpn(const ck_tls_session *s) {
  return s->alpn[0] != '\0' ? s->alpn : NULL;
}

ck_err ck_tls_session_channel_binding(const ck_tls_session *s,
                                      ck_tls_binding type, uint8_t *out,
                                      size_t cap, size_t *len, ck_errctx *err) {
  *len = 0;
  if (!s->done)
    return ck_failf(err, CK_ERR_INVAL, "channel binding before the handshake");
  if (type == CK_TLS_BINDING_UNIQUE) {
#if defined(MBEDTLS_SSL_RENEGOTIATION)
    /* The client's Finished (no resumption here): kept by mbedTLS for the
     * renegotiation_info extension. */
    const char *fin = s->ctx->o.role == CK_TLS_CLIENT ? s->ssl.own_verify_data
                                                      : s->ssl.peer_verify_data;
    size_t n = s->ssl.verify_data_len;
    if (n == 0)
      return ck_failf(err, CK_ERR_TLS, "tls-unique: no Finished message");
    if (n > cap)
      return ck_failf(err, CK_ERR_RANGE, "tls-unique: %zu bytes needed", n);
    memcpy(out, fin, n);
    *len = n;
    return CK_OK;
#else
    return ck_failf(err, CK_ERR_UNSUPPORTED,
                    "tls-unique needs MBEDTLS_SSL_RENEGOTIATION in mbedTLS");
#endif
  }
  if (type != CK_TLS_BINDING_EXPORTER)
    return ck_failf(err, CK_ERR_INVAL, "unknown channel binding type %d",
                    (int)type);
  if (!s->have_exporter || !s->ems)
    return ck_failf(err, CK_ERR_UNSUPPORTED,
                    "tls-exporter on TLS 1.2 needs the extended master secret, "
                    "which the peer did not negotiate");
  if (cap < CK__TLS_EXPORTER_LEN)
    return ck_failf(err, CK_ERR_RANGE, "tls-exporter: %d bytes needed",
                    CK__TLS_EXPORTER_LEN);
  memcpy(out, s->exporter, CK__TLS_EXPORTER_LEN);
  *len = CK__TLS_EXPORTER_LEN;
  return CK_OK;
}
