/* tls_openssl.c — the TLS engine (tls.h) on OpenSSL 3 with memory BIOs.
 *
 * Each session owns an SSL whose read BIO is fed with received ciphertext and
 * whose write BIO collects what must be sent; nothing here touches a socket.
 * Peer verification runs in one certificate-verify callback (replacing
 * OpenSSL's own chain check) so the policy of tls.h is in one place: the pin
 * first (constant-time compare of the leaf's SHA-256), then the chain against
 * the trust bundle at ck_clock_now(), with the host name or IP address the
 * SSL's verify parameters carry. With a CA pin there is no trust bundle: the
 * callback finds the presented certificate with the pinned fingerprint and
 * runs the same chain check with that certificate as the only trusted one
 * (X509_STORE_CTX_set0_trusted_stack, partial chains allowed so an
 * intermediate can be the anchor). The first failure is recorded in the
 * session so the handshake reports a specific ck_err rather than OpenSSL's
 * generic "certificate verify failed". */
#include "common/crypto/tls_internal.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "common/util/clock.h"
#include "common/util/mem.h"

/* TLS 1.2 suites: ECDHE only (forward secrecy), AEAD only. TLS 1.3 keeps
 * OpenSSL's defaults (all AEAD). */
#define CK_OSSL_CIPHERS                                                        \
  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                 \
  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                 \
  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define CK_OSSL_GROUPS "X25519:P-256:P-384"

struct ck_tls_ctx {
  atomic_int refs; /* sessions and owners holding this ctx */
  ck__tls_opts o;  /* resolved configuration */
  SSL_CTX *ssl_ctx;
};

struct ck_tls_session {
  ck_tls_ctx *ctx; /* referenced */
  SSL *ssl;
  BIO *rbio;                /* network -> SSL (owned by ssl) */
  BIO *wbio;                /* SSL -> network (owned by ssl) */
  int done;                 /* handshake completed and checked */
  int closed;               /* close_notify queued */
  ck_err failed;            /* sticky handshake failure, CK_OK if none */
  ck_errctx verr;           /* failure recorded by the verify callback */
  int verified;             /* the peer leaf passed trust and/or pin */
  ck__tls_chain chain;      /* the peer's presented chain, leaf first */
  STACK_OF(X509) * anchors; /* CA pin: the pinned certificate (not owned) */
  int ca_pinned;            /* CA pin matched and the leaf verified to it */
  size_t ca_pin_idx;        /* its index in the presented chain */
  char alpn[256];           /* negotiated ALPN, "" if none */
};

const char *ck_tls_backend(void) {
  return "openssl";
}

/* Records the first queued OpenSSL error with code and what, and clears the
 * queue. */
static ck_err ossl_fail(ck_errctx *err, ck_err code, const char *what) {
  unsigned long e = ERR_peek_last_error();
  char buf[256];

  if (e != 0)
    ERR_error_string_n(e, buf, sizeof buf);
  else
    ck_strlcpy(buf, "no detail from OpenSSL", sizeof buf);
  ERR_clear_error();
  return ck_failf(err, code, "%s: %s", what, buf);
}

static int pem_no_password(char *buf, int size, int rwflag, void *u) {
  (void)buf;
  (void)size;
  (void)rwflag;
  (void)u;
  return 0;
}

static int has_pem_marker(const uint8_t *p, size_t len) {
  static const char m[] = "-----BEGIN ";
  size_t i;

  for (i = 0; i + sizeof m - 1 <= len; i++)
    if (memcmp(p + i, m, sizeof m - 1) == 0)
      return 1;
  return 0;
}

/* Loads the certificate chain (leaf first) and key into the SSL_CTX. */
static ck_err load_own(ck_tls_ctx *c, const ck_tls_config *cfg,
                       ck_errctx *err) {
  ck_err rc = CK_OK;
  uint8_t *cert = NULL, *key = NULL;
  size_t cert_len = 0, key_len = 0;
  BIO *bio = NULL;
  X509 *x = NULL;
  EVP_PKEY *pk = NULL;
  const char *cname = cfg->cert_file ? cfg->cert_file : "certificate buffer";
  const char *kname = cfg->key_file ? cfg->key_file : "key buffer";

  rc = ck__tls_load_pem(cfg->cert_file, cfg->cert_pem, cfg->cert_pem_len,
                        "certificate", &cert, &cert_len, err);
  if (rc != CK_OK)
    goto out;
  rc = ck__tls_load_pem(cfg->key_file, cfg->key_pem, cfg->key_pem_len, "key",
                        &key, &key_len, err);
  if (rc != CK_OK)
    goto out;
  if (!has_pem_marker(cert, cert_len)) {
    rc = ck_failf(err, CK_ERR_BAD_PEM, "%s: no PEM certificate", cname);
    goto out;
  }
  if (!has_pem_marker(key, key_len)) {
    rc = ck_failf(err, CK_ERR_BAD_PEM, "%s: no PEM private key", kname);
    goto out;
  }

  bio = BIO_new_mem_buf(cert, (int)cert_len);
  if (bio == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "%s", cname);
    goto out;
  }
  x = PEM_read_bio_X509(bio, NULL, pem_no_password, NULL);
  if (x == NULL) {
    rc = ossl_fail(err, CK_ERR_BAD_CERT, cname);
    goto out;
  }
  if (SSL_CTX_use_certificate(c->ssl_ctx, x) != 1) {
    rc = ossl_fail(err, CK_ERR_BAD_CERT, cname);
    goto out;
  }
  X509_free(x);
  x = NULL;
  /* The rest of the file is the chain sent after the leaf. */
  while ((x = PEM_read_bio_X509(bio, NULL, pem_no_password, NULL)) != NULL) {
    if (SSL_CTX_add0_chain_cert(c->ssl_ctx, x) != 1) {
      rc = ossl_fail(err, CK_ERR_BAD_CERT, cname);
      goto out;
    }
    x = NULL; /* owned by the SSL_CTX now */
  }
  ERR_clear_error(); /* the loop ends on "no start line" */
  BIO_free(bio);
  bio = NULL;

  if (strstr((const char *)key, "ENCRYPTED") != NULL) {
    rc = ck_failf(err, CK_ERR_KEY_ENCRYPTED,
                  "%s: encrypted private keys are not supported here", kname);
    goto out;
  }
  bio = BIO_new_mem_buf(key, (int)key_len);
  if (bio == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "%s", kname);
    goto out;
  }
  pk = PEM_read_bio_PrivateKey(bio, NULL, pem_no_password, NULL);
  if (pk == NULL) {
    rc = ossl_fail(err, CK_ERR_BAD_KEY, kname);
    goto out;
  }
  if (SSL_CTX_use_PrivateKey(c->ssl_ctx, pk) != 1) {
    rc = ossl_fail(err, CK_ERR_KEY_MISMATCH, kname);
    goto out;
  }
  if (SSL_CTX_check_private_key(c->ssl_ctx) != 1) {
    ERR_clear_error();
    rc = ck_failf(err, CK_ERR_KEY_MISMATCH, "%s does not match %s", kname,
                  cname);
    goto out;
  }

out:
  BIO_free(bio);
  X509_free(x);
  EVP_PKEY_free(pk);
  ck__tls_free_pem(cert, cert_len);
  ck__tls_free_pem(key, key_len);
  return rc;
}

/* Loads the trust bundle into the SSL_CTX's store (and, for servers, the
 * list of CA names sent with the certificate request). */
static ck_err load_trust(ck_tls_ctx *c, const ck_tls_config *cfg,
                         ck_errctx *err) {
  ck_err rc = CK_OK;
  uint8_t *pem = NULL;
  size_t len = 0;
  BIO *bio = NULL;
  X509 *x = NULL;
  X509_STORE *store = SSL_CTX_get_cert_store(c->ssl_ctx);
  const char *name = cfg->ca_file ? cfg->ca_file : "trust bundle buffer";
  int n = 0;

  rc = ck__tls_load_pem(cfg->ca_file, cfg->ca_pem, cfg->ca_pem_len,
                        "trust bundle", &pem, &len, err);
  if (rc != CK_OK)
    goto out;
  if (!has_pem_marker(pem, len)) {
    rc = ck_failf(err, CK_ERR_BAD_PEM, "%s: no PEM certificate", name);
    goto out;
  }
  bio = BIO_new_mem_buf(pem, (int)len);
  if (bio == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "%s", name);
    goto out;
  }
  while ((x = PEM_read_bio_X509(bio, NULL, pem_no_password, NULL)) != NULL) {
    if (X509_STORE_add_cert(store, x) != 1) {
      rc = ossl_fail(err, CK_ERR_BAD_CERT, name);
      goto out;
    }
    if (c->o.role == CK_TLS_SERVER &&
        SSL_CTX_add_client_CA(c->ssl_ctx, x) != 1) {
      rc = ossl_fail(err, CK_ERR_BAD_CERT, name);
      goto out;
    }
    X509_free(x);
    x = NULL;
    n++;
  }
  if (n == 0) {
    rc = ossl_fail(err, CK_ERR_BAD_CERT, name);
    goto out;
  }
  ERR_clear_error();
  /* A private PKI may hand out its issuing CA as the anchor; like mbedTLS,
   * accept any certificate in the bundle as a trust anchor. */
  X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);

out:
  BIO_free(bio);
  X509_free(x);
  ck__tls_free_pem(pem, len);
  return rc;
}

/* Maps a chain verification error to a ck_err and records it. */
static void record_x509_error(ck_tls_session *s, int e) {
  ck_err code;
  const char *text = X509_verify_cert_error_string(e);

  switch (e) {
  case X509_V_ERR_CERT_HAS_EXPIRED:
    code = CK_ERR_EXPIRED;
    break;
  case X509_V_ERR_CERT_NOT_YET_VALID:
    code = CK_ERR_NOT_YET_VALID;
    break;
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
  case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
  case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
  case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
  case X509_V_ERR_CERT_UNTRUSTED:
  case X509_V_ERR_CERT_SIGNATURE_FAILURE: /* "issued" by an impostor (the
                                             mbedTLS backend says so too) */
    code = CK_ERR_UNTRUSTED;
    break;
  default:
    code = CK_ERR_VERIFY;
    break;
  }
  ck_setf(&s->verr, code, "peer certificate: %s", text);
}

/* CA-pin mode: finds the presented certificate after the leaf whose SHA-256
 * is the CA pin and verifies the leaf up to it as the only trust anchor.
 * Returns 1 when the chain verifies, 0 with the reason in s->verr. */
static int verify_ca_pin(ck_tls_session *s, X509_STORE_CTX *xs) {
  const ck__tls_opts *o = &s->ctx->o;
  STACK_OF(X509) *presented = X509_STORE_CTX_get0_untrusted(xs);
  X509 *pinned = NULL;
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned mdlen = 0;
  int i, n = presented != NULL ? sk_X509_num(presented) : 0;
  int leaf_matched = 0, e;

  /* presented is what the server sent, leaf first (ssl_verify_cert_chain).
   * Every certificate is hashed and compared, match or not. */
  for (i = 0; i < n; i++) {
    int match;
    if (X509_digest(sk_X509_value(presented, i), EVP_sha256(), md, &mdlen) !=
            1 ||
        mdlen != CK__TLS_PIN_LEN) {
      ck_setf(&s->verr, CK_ERR_CRYPTO, "cannot hash a peer certificate");
      return 0;
    }
    match = ck__tls_ca_pin_equal(o, md);
    if (i == 0)
      leaf_matched = match;
    else if (match && pinned == NULL) {
      pinned = sk_X509_value(presented, i);
      s->ca_pin_idx = (size_t)i;
    }
  }
  if (pinned == NULL) {
    ck_errctx_clear(&s->verr);
    ck__tls_ca_pin_fail((size_t)n, leaf_matched, md, &s->verr);
    return 0;
  }
  if (X509_check_ca(pinned) == 0) {
    ck_setf(&s->verr, CK_ERR_VERIFY,
            "the certificate matching the CA pin is not a CA certificate");
    return 0;
  }
  if (s->anchors == NULL)
    s->anchors = sk_X509_new_null();
  if (s->anchors == NULL || sk_X509_push(s->anchors, pinned) <= 0) {
    ck_setf(&s->verr, CK_ERR_NOMEM, "CA pin: trust anchor");
    return 0;
  }
  X509_STORE_CTX_set0_trusted_stack(xs, s->anchors);
  X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(xs),
                              X509_V_FLAG_PARTIAL_CHAIN);
  X509_STORE_CTX_set_time(xs, 0, (time_t)ck_clock_now());
  if (X509_verify_cert(xs) != 1) {
    e = X509_STORE_CTX_get_error(xs);
    record_x509_error(s, e);
    if (s->verr.code == CK_ERR_UNTRUSTED)
      ck_setf(&s->verr, CK_ERR_UNTRUSTED,
              "peer certificate does not chain up to the pinned CA: %s",
              X509_verify_cert_error_string(e));
    return 0;
  }
  s->ca_pinned = 1;
  return 1;
}

/* Replaces OpenSSL's chain check: pin, then trust bundle or CA pin. Returns
 * 1 to accept the peer, 0 to fail the handshake (the reason is in s->verr). */
static int verify_cb(X509_STORE_CTX *xs, void *arg) {
  SSL *ssl =
      X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
  ck_tls_session *s = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
  X509 *leaf = X509_STORE_CTX_get0_cert(xs);
  const ck__tls_opts *o;
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned mdlen = 0;

  (void)arg;
  if (s == NULL || leaf == NULL)
    return 0;
  o = &s->ctx->o;
  if (o->have_pin) {
    if (X509_digest(leaf, EVP_sha256(), md, &mdlen) != 1 ||
        mdlen != CK__TLS_PIN_LEN) {
      ck_setf(&s->verr, CK_ERR_CRYPTO, "cannot hash the peer certificate");
      X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
      return 0;
    }
    if (!ck__tls_pin_equal(o, md)) {
      ck_errctx_clear(&s->verr);
      ck__tls_pin_fail(md, &s->verr);
      X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
      return 0;
    }
  }
  if (o->have_trust && o->verify != CK_TLS_VERIFY_NONE) {
    /* Verify at the time the clock seam gives (CK_FAKE_TIME in tests). */
    X509_STORE_CTX_set_time(xs, 0, (time_t)ck_clock_now());
    if (X509_verify_cert(xs) != 1) {
      record_x509_error(s, X509_STORE_CTX_get_error(xs));
      return 0;
    }
    s->verified = 1;
  }
  if (o->have_ca_pin) {
    if (!verify_ca_pin(s, xs)) {
      X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
      return 0;
    }
    s->verified = 1;
  }
  if (o->have_pin)
    s->verified = 1;
  return 1;
}

static int alpn_select_cb(SSL *ssl, const unsigned char **out,
                          unsigned char *outlen, const unsigned char *in,
                          unsigned int inlen, void *arg) {
  ck_tls_ctx *c = arg;
  unsigned char *sel = NULL;

  (void)ssl;
  if (SSL_select_next_proto(&sel, outlen, c->o.alpn_wire,
                            (unsigned)c->o.alpn_wire_len, in,
                            inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL; /* no_application_protocol */
  *out = sel;
  return SSL_TLSEXT_ERR_OK;
}

static int ossl_version(ck_tls_version v) {
  return v == CK_TLS_V13 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

ck_err ck_tls_ctx_new(const ck_tls_config *cfg, ck_tls_ctx **out,
                      ck_errctx *err) {
  ck_err rc;
  ck_tls_ctx *c = NULL;
  int server = cfg->role == CK_TLS_SERVER;
  int mode;

  *out = NULL;
  c = calloc(1, sizeof *c);
  if (c == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "TLS context");
  atomic_init(&c->refs, 1);
  rc = ck__tls_opts_init(&c->o, cfg, CK_TLS_V13, err);
  if (rc != CK_OK)
    goto out;

  ERR_clear_error();
  c->ssl_ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (c->ssl_ctx == NULL) {
    rc = ossl_fail(err, CK_ERR_CRYPTO, "SSL_CTX_new");
    goto out;
  }
  if (SSL_CTX_set_min_proto_version(c->ssl_ctx,
                                    ossl_version(c->o.min_version)) != 1 ||
      SSL_CTX_set_max_proto_version(c->ssl_ctx,
                                    ossl_version(c->o.max_version)) != 1 ||
      SSL_CTX_set_cipher_list(c->ssl_ctx, CK_OSSL_CIPHERS) != 1 ||
      SSL_CTX_set1_groups_list(c->ssl_ctx, CK_OSSL_GROUPS) != 1) {
    rc = ossl_fail(err, CK_ERR_CRYPTO, "TLS protocol settings");
    goto out;
  }
  SSL_CTX_set_security_level(c->ssl_ctx, 2);
  SSL_CTX_set_options(c->ssl_ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
                                      SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_session_cache_mode(c->ssl_ctx, SSL_SESS_CACHE_OFF);
  /* Idle connections (thousands of agents) give their record buffers back. */
  SSL_CTX_set_mode(c->ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_num_tickets(c->ssl_ctx, 0);

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

  if (server) {
    mode = SSL_VERIFY_NONE;
    if (c->o.verify == CK_TLS_VERIFY_OPTIONAL)
      mode = SSL_VERIFY_PEER;
    else if (c->o.verify == CK_TLS_VERIFY_REQUIRE)
      mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    /* the default purpose for client certificates is "SSL client"
     * (extendedKeyUsage clientAuth); EST re-enrollment needs any */
    if (cfg->client_any_purpose &&
        X509_VERIFY_PARAM_set_purpose(SSL_CTX_get0_param(c->ssl_ctx), X509_PURPOSE_ANY) != 1) {
      rc = ossl_fail(err, CK_ERR_CRYPTO, "client certificate purpose");
      goto out;
    }
  } else {
    mode = (c->o.verify != CK_TLS_VERIFY_NONE || c->o.have_pin)
               ? SSL_VERIFY_PEER
               : SSL_VERIFY_NONE;
  }
  SSL_CTX_set_verify(c->ssl_ctx, mode, NULL);
  SSL_CTX_set_cert_verify_callback(c->ssl_ctx, verify_cb, NULL);

  if (c->o.alpn_wire != NULL) {
    if (server) {
      SSL_CTX_set_alpn_select_cb(c->ssl_ctx, alpn_select_cb, c);
    } else if (SSL_CTX_set_alpn_protos(c->ssl_ctx, c->o.alpn_wire,
                                       (unsigned)c->o.alpn_wire_len) != 0) {
      rc = ossl_fail(err, CK_ERR_CONFIG, "alpn");
      goto out;
    }
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
  SSL_CTX_free(ctx->ssl_ctx); /* frees the key (OpenSSL clears it) */
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

/* Client side: SNI and the name the server certificate must carry. */
static ck_err set_server_name(ck_tls_session *s, const char *name,
                              ck_errctx *err) {
  const ck__tls_opts *o = &s->ctx->o;
  uint8_t ip[16];
  int is_ip = ck__tls_parse_ip(name, ip) != 0;
  X509_VERIFY_PARAM *param = SSL_get0_param(s->ssl);

  /* RFC 6066: SNI carries DNS names only, never address literals. */
  if (!is_ip && SSL_set_tlsext_host_name(s->ssl, name) != 1)
    return ossl_fail(err, CK_ERR_CONFIG, "server name");
  if ((!o->have_trust && !o->have_ca_pin) || o->verify == CK_TLS_VERIFY_NONE)
    return CK_OK; /* leaf pin only or no verification: no name check */
  if (is_ip) {
    if (X509_VERIFY_PARAM_set1_ip_asc(param, name) != 1)
      return ossl_fail(err, CK_ERR_CONFIG, "server name");
  } else {
    X509_VERIFY_PARAM_set_hostflags(param,
                                    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set1_host(s->ssl, name) != 1)
      return ossl_fail(err, CK_ERR_CONFIG, "server name");
  }
  return CK_OK;
}

ck_err ck_tls_session_new(ck_tls_ctx *ctx, const char *server_name,
                          ck_tls_session **out, ck_errctx *err) {
  ck_err rc = CK_OK;
  ck_tls_session *s = NULL;
  const char *name;

  *out = NULL;
  s = calloc(1, sizeof *s);
  if (s == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "TLS session");
  s->ctx = ck_tls_ctx_ref(ctx);
  ERR_clear_error();
  s->ssl = SSL_new(ctx->ssl_ctx);
  s->rbio = BIO_new(BIO_s_mem());
  s->wbio = BIO_new(BIO_s_mem());
  if (s->ssl == NULL || s->rbio == NULL || s->wbio == NULL) {
    BIO_free(s->rbio);
    BIO_free(s->wbio);
    rc = ossl_fail(err, CK_ERR_NOMEM, "TLS session");
    goto out;
  }
  /* An empty read BIO means "wait for more", not end of file. */
  BIO_set_mem_eof_return(s->rbio, -1);
  SSL_set_bio(s->ssl, s->rbio, s->wbio);
  SSL_set_app_data(s->ssl, s);
  if (ctx->o.role == CK_TLS_SERVER) {
    SSL_set_accept_state(s->ssl);
  } else {
    SSL_set_connect_state(s->ssl);
    name = server_name != NULL && server_name[0] != '\0' ? server_name
                                                         : ctx->o.server_name;
    if (name != NULL) {
      rc = set_server_name(s, name, err);
      if (rc != CK_OK)
        goto out;
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
  SSL_free(s->ssl);         /* frees both BIOs */
  sk_X509_free(s->anchors); /* the certificate belonged to the SSL */
  ck__tls_chain_clear(&s->chain);
  ck_tls_ctx_free(s->ctx);
  ck_wipe(s, sizeof *s);
  free(s);
}

ck_err ck_tls_session_feed(ck_tls_session *s, const uint8_t *data, size_t len,
                           ck_errctx *err) {
  while (len > 0) {
    int chunk = len > INT_MAX ? INT_MAX : (int)len;
    int n = BIO_write(s->rbio, data, chunk);
    if (n <= 0)
      return ossl_fail(err, CK_ERR_NOMEM, "TLS input buffer");
    data += n;
    len -= (size_t)n;
  }
  return CK_OK;
}

/* Maps a failed SSL_do_handshake to a ck_err. */
static ck_err handshake_error(ck_tls_session *s, int ret, ck_errctx *err) {
  int e = SSL_get_error(s->ssl, ret);
  unsigned long oe;
  int reason;
  char buf[256];

  if (s->verr.code != CK_OK) {
    ERR_clear_error();
    return ck_failf(err, s->verr.code, "%s", s->verr.msg);
  }
  if (e != SSL_ERROR_SSL) {
    ERR_clear_error();
    return ck_failf(err, CK_ERR_TLS_HANDSHAKE,
                    "TLS handshake: unexpected end (SSL error %d)", e);
  }
  oe = ERR_peek_error();
  reason = ERR_GET_REASON(oe);
  ERR_error_string_n(oe, buf, sizeof buf);
  ERR_clear_error();
  switch (reason) {
  case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
    return ck_failf(err, CK_ERR_PEER_CERT_REQUIRED,
                    "TLS handshake: the client sent no certificate");
  case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    return ck_failf(err, CK_ERR_TLS_HANDSHAKE,
                    "TLS handshake: the server requires a client certificate");
  case SSL_R_UNSUPPORTED_PROTOCOL:
  case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
  case SSL_R_NO_PROTOCOLS_AVAILABLE:
    return ck_failf(err, CK_ERR_TLS_HANDSHAKE,
                    "TLS handshake: protocol version refused (TLS 1.2 "
                    "minimum): %s",
                    buf);
  default:
    return ck_failf(err, CK_ERR_TLS_HANDSHAKE, "TLS handshake: %s", buf);
  }
}

/* Appends x's DER to the session's copy of the presented chain. */
static ck_err keep_cert(ck_tls_session *s, X509 *x, ck_errctx *err) {
  unsigned char *der = NULL;
  int n = i2d_X509(x, &der);
  ck_err rc;

  if (n <= 0)
    return ossl_fail(err, CK_ERR_BAD_CERT, "peer certificate");
  rc = ck__tls_chain_add(&s->chain, der, (size_t)n, err);
  OPENSSL_free(der);
  return rc;
}

/* Copies the presented chain, leaf first. A client's peer chain includes the
 * leaf, a server's does not (OpenSSL keeps the two apart there). */
static ck_err keep_chain(ck_tls_session *s, X509 *peer, ck_errctx *err) {
  STACK_OF(X509) *sk = SSL_get_peer_cert_chain(s->ssl);
  ck_err rc = keep_cert(s, peer, err);
  int i;

  for (i = 0; rc == CK_OK && sk != NULL && i < sk_X509_num(sk); i++) {
    X509 *x = sk_X509_value(sk, i);
    if (i == 0 && X509_cmp(x, peer) == 0)
      continue;
    rc = keep_cert(s, x, err);
  }
  return rc;
}

/* After the handshake: collect what callers ask about and apply the checks
 * OpenSSL's flags cannot express. */
static ck_err finish_handshake(ck_tls_session *s, ck_errctx *err) {
  const ck__tls_opts *o = &s->ctx->o;
  X509 *peer = SSL_get0_peer_certificate(s->ssl);
  const unsigned char *alpn = NULL;
  unsigned alpn_len = 0;
  ck_err rc;

  if (peer != NULL) {
    rc = keep_chain(s, peer, err);
    if (rc != CK_OK)
      return rc;
  }
  if (o->have_ca_pin && !s->ca_pinned)
    return ck_failf(err, CK_ERR_TLS_HANDSHAKE,
                    "TLS handshake: the server chain was not checked against "
                    "the CA pin");
  if (o->role == CK_TLS_SERVER && o->verify == CK_TLS_VERIFY_REQUIRE &&
      peer == NULL)
    return ck_failf(err, CK_ERR_PEER_CERT_REQUIRED,
                    "TLS handshake: the client sent no certificate");
  if ((o->verify != CK_TLS_VERIFY_NONE || o->have_pin) && peer != NULL &&
      !s->verified)
    return ck_failf(err, CK_ERR_TLS_HANDSHAKE,
                    "TLS handshake: peer certificate was not verified");
  if (o->role == CK_TLS_CLIENT && o->verify != CK_TLS_VERIFY_NONE &&
      !s->verified)
    return ck_failf(err, CK_ERR_TLS_HANDSHAKE,
                    "TLS handshake: server certificate was not verified");
  SSL_get0_alpn_selected(s->ssl, &alpn, &alpn_len);
  if (alpn != NULL && alpn_len > 0 && alpn_len < sizeof s->alpn) {
    memcpy(s->alpn, alpn, alpn_len);
    s->alpn[alpn_len] = '\0';
  }
  return CK_OK;
}

ck_err ck_tls_session_handshake(ck_tls_session *s, ck_errctx *err) {
  int ret;

  if (s->failed != CK_OK)
    return ck_failf(err, s->failed, "TLS handshake already failed");
  if (s->done)
    return CK_OK;
  ERR_clear_error();
  ret = SSL_do_handshake(s->ssl);
  if (ret != 1) {
    if (SSL_get_error(s->ssl, ret) == SSL_ERROR_WANT_READ) {
      ERR_clear_error();
      return CK_ERR_AGAIN;
    }
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

/* A memory BIO keeps the largest buffer it ever held (BUF_MEM only grows):
 * one 2 MB inventory written through the session would stay allocated for
 * the session's life. Once a BIO is drained and its buffer is larger than
 * CK_OSSL_BIO_KEEP, it is replaced by a fresh empty one (SSL_set0_*bio frees
 * the old one). Only after the handshake: during it the write BIO sits
 * behind OpenSSL's buffering BIO and nothing is large anyway. */
#define CK_OSSL_BIO_KEEP (64 * 1024)

static void shrink_bio(ck_tls_session *s, int write_side) {
  BIO *b = write_side ? s->wbio : s->rbio;
  BIO *nb;
  BUF_MEM *bm = NULL;

  if (!s->done || BIO_ctrl_pending(b) != 0)
    return;
  BIO_get_mem_ptr(b, &bm);
  if (bm == NULL || bm->max <= CK_OSSL_BIO_KEEP)
    return;
  nb = BIO_new(BIO_s_mem());
  if (nb == NULL)
    return; /* keep the big one; nothing is lost */
  if (write_side) {
    s->wbio = nb;
    SSL_set0_wbio(s->ssl, nb);
  } else {
    BIO_set_mem_eof_return(nb, -1);
    s->rbio = nb;
    SSL_set0_rbio(s->ssl, nb);
  }
}

ck_err ck_tls_session_read(ck_tls_session *s, uint8_t *buf, size_t cap,
                           size_t *n, ck_errctx *err) {
  int ret, e;
  unsigned long oe;
  char text[256];

  *n = 0;
  if (!s->done)
    return ck_failf(err, CK_ERR_INVAL, "TLS read before the handshake");
  ERR_clear_error();
  ret = SSL_read_ex(s->ssl, buf, cap, n);
  if (ret == 1)
    return CK_OK;
  e = SSL_get_error(s->ssl, ret);
  switch (e) {
  case SSL_ERROR_WANT_READ:
    ERR_clear_error();
    shrink_bio(s, 0); /* everything received was consumed */
    return CK_ERR_AGAIN;
  case SSL_ERROR_ZERO_RETURN:
    ERR_clear_error();
    return CK_ERR_CLOSED;
  case SSL_ERROR_SSL:
    oe = ERR_peek_error();
    ERR_error_string_n(oe, text, sizeof text);
    ERR_clear_error();
    if (ERR_GET_REASON(oe) == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED)
      return ck_failf(err, CK_ERR_TLS,
                      "TLS: the server requires a client certificate");
    return ck_failf(err, CK_ERR_TLS, "TLS read: %s", text);
  default:
    ERR_clear_error();
    return ck_failf(err, CK_ERR_TLS, "TLS read: SSL error %d", e);
  }
}

ck_err ck_tls_session_write(ck_tls_session *s, const uint8_t *data, size_t len,
                            ck_errctx *err) {
  size_t done;

  if (!s->done || s->closed)
    return ck_failf(err, CK_ERR_INVAL, "TLS write %s",
                    s->closed ? "after close" : "before the handshake");
  while (len > 0) {
    ERR_clear_error();
    if (SSL_write_ex(s->ssl, data, len, &done) != 1)
      return ossl_fail(err, CK_ERR_TLS, "TLS write");
    data += done;
    len -= done;
  }
  return CK_OK;
}

size_t ck_tls_session_pending(const ck_tls_session *s) {
  return BIO_ctrl_pending(s->wbio);
}

size_t ck_tls_session_take(ck_tls_session *s, uint8_t *buf, size_t cap) {
  int chunk = cap > INT_MAX ? INT_MAX : (int)cap;
  int n;

  if (cap == 0)
    return 0;
  n = BIO_read(s->wbio, buf, chunk);
  shrink_bio(s, 1);
  return n > 0 ? (size_t)n : 0;
}

void ck_tls_session_close(ck_tls_session *s) {
  if (s->closed)
    return;
  s->closed = 1;
  if (!s->done)
    return;
  ERR_clear_error();
  (void)SSL_shutdown(s->ssl); /* queues close_notify into wbio */
  ERR_clear_error();
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
  if (!s->done)
    return CK_TLS_VERSION_ANY;
  return SSL_version(s->ssl) == TLS1_3_VERSION ? CK_TLS_V13 : CK_TLS_V12;
}

const char *ck_tls_session_cipher(const ck_tls_session *s) {
  const char *name;

  if (!s->done)
    return "";
  name = SSL_get_cipher_name(s->ssl);
  return name != NULL ? name : "";
}

const char *ck_tls_session_alpn(const ck_tls_session *s) {
  return s->alpn[0] != '\0' ? s->alpn : NULL;
}

ck_err ck_tls_session_channel_binding(const ck_tls_session *s,
                                      ck_tls_binding type, uint8_t *out,
                                      size_t cap, size_t *len, ck_errctx *err) {
  uint8_t fin[64];
  size_t n;
  int first_is_ours;

  *len = 0;
  if (!s->done)
    return ck_failf(err, CK_ERR_INVAL, "channel binding before the handshake");
  if (type == CK_TLS_BINDING_UNIQUE) {
    if (SSL_version(s->ssl) != TLS1_2_VERSION)
      return ck_failf(err, CK_ERR_UNSUPPORTED,
                      "tls-unique is not defined for TLS 1.3 (use "
                      "tls-exporter)");
    /* The first Finished of the handshake: the client's on a full
     * handshake, the server's on a resumed one. */
    first_is_ours =
        (s->ctx->o.role == CK_TLS_CLIENT) != SSL_session_reused(s->ssl);
    n = first_is_ours ? SSL_get_finished(s->ssl, fin, sizeof fin)
                      : SSL_get_peer_finished(s->ssl, fin, sizeof fin);
    if (n == 0 || n > sizeof fin)
      return ck_failf(err, CK_ERR_TLS, "tls-unique: no Finished message");
    if (n > cap)
      return ck_failf(err, CK_ERR_RANGE, "tls-unique: %zu bytes needed", n);
    memcpy(out, fin, n);
    *len = n;
    return CK_OK;
  }
  if (type != CK_TLS_BINDING_EXPORTER)
    return ck_failf(err, CK_ERR_INVAL, "unknown channel binding type %d",
                    (int)type);
  if (SSL_version(s->ssl) == TLS1_2_VERSION &&
      SSL_get_extms_support(s->ssl) != 1)
    return ck_failf(err, CK_ERR_UNSUPPORTED,
                    "tls-exporter on TLS 1.2 needs the extended master secret, "
                    "which the peer did not negotiate");
  if (cap < CK__TLS_EXPORTER_LEN)
    return ck_failf(err, CK_ERR_RANGE, "tls-exporter: %d bytes needed",
                    CK__TLS_EXPORTER_LEN);
  ERR_clear_error();
  if (SSL_export_keying_material(
          s->ssl, out, CK__TLS_EXPORTER_LEN, CK__TLS_EXPORTER_LABEL,
          sizeof CK__TLS_EXPORTER_LABEL - 1, NULL, 0, 0) != 1)
    return ossl_fail(err, CK_ERR_TLS, "tls-exporter");
  *len = CK__TLS_EXPORTER_LEN;
  return CK_OK;
}
