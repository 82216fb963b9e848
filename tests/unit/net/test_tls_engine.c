/* test_tls_engine.c — the TLS engine (common/crypto/tls.h) in memory.
 *
 * A client and a server session in one process, bytes pumped between them
 * by hand: handshake, data both ways, client certificates (required,
 * optional, absent, untrusted), pinning, trust and name failures, the clock
 * seam, ALPN, channel binding, close_notify and configuration errors. Runs
 * unchanged in the OpenSSL and the mbedTLS build (there both ends are
 * mbedTLS, TLS 1.2). */
#include "tests/testutil.h"

#include <string.h>

#include "common/crypto/tls.h"
#include "common/util/clock.h"

typedef struct pair {
  ck_tls_ctx *cctx, *sctx;
  ck_tls_session *c, *s;
  ck_err crc, src; /* handshake results */
  ck_errctx cerr, serr;
} pair;

static const char *data(const char *rel) {
  static char bufs[8][512];
  static int i;
  char *b = bufs[i++ % 8];

  snprintf(b, 512, "%s", ck_test_data(rel));
  return b;
}

static char *read_pin(const char *rel) {
  char *p = ck_test_slurp(rel, NULL);
  p[strcspn(p, "\r\n")] = '\0';
  return p;
}

static int is_openssl(void) {
  return strcmp(ck_tls_backend(), "openssl") == 0;
}

static ck_tls_config server_cfg(const char *name) {
  static char cert[64], key[64];
  ck_tls_config cfg = {0};

  snprintf(cert, sizeof cert, "tls/%s.pem", name);
  snprintf(key, sizeof key, "tls/%s.key", name);
  cfg.role = CK_TLS_SERVER;
  cfg.cert_file = data(cert);
  cfg.key_file = data(key);
  return cfg;
}

static ck_tls_config client_cfg(void) {
  ck_tls_config cfg = {0};

  cfg.role = CK_TLS_CLIENT;
  cfg.ca_file = data("tls/root-ca.pem");
  cfg.server_name = "localhost";
  return cfg;
}

static void must_ctx(const ck_tls_config *cfg, ck_tls_ctx **out) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc = ck_tls_ctx_new(cfg, out, &err);

  if (rc != CK_OK)
    print_error("ck_tls_ctx_new: %s: %s\n", ck_err_name(rc), err.msg);
  assert_int_equal(rc, CK_OK);
}

/* Moves every pending byte from a to b. Returns the number moved. */
static size_t move(ck_tls_session *a, ck_tls_session *b) {
  uint8_t buf[4096];
  size_t n, total = 0;

  while ((n = ck_tls_session_take(a, buf, sizeof buf)) > 0) {
    assert_int_equal(ck_tls_session_feed(b, buf, n, NULL), CK_OK);
    total += n;
  }
  return total;
}

/* Runs both handshakes to the end (success or failure on either side). */
static void handshake(pair *p, const ck_tls_config *ccfg,
                      const ck_tls_config *scfg) {
  int rounds;

  must_ctx(ccfg, &p->cctx);
  must_ctx(scfg, &p->sctx);
  assert_int_equal(ck_tls_session_new(p->cctx, NULL, &p->c, NULL), CK_OK);
  assert_int_equal(ck_tls_session_new(p->sctx, NULL, &p->s, NULL), CK_OK);
  p->crc = p->src = CK_ERR_AGAIN;
  for (rounds = 0; rounds < 20; rounds++) {
    size_t moved = 0;
    if (p->crc == CK_ERR_AGAIN)
      p->crc = ck_tls_session_handshake(p->c, &p->cerr);
    moved += move(p->c, p->s);
    if (p->src == CK_ERR_AGAIN)
      p->src = ck_tls_session_handshake(p->s, &p->serr);
    moved += move(p->s, p->c);
    if (p->crc != CK_ERR_AGAIN && p->src != CK_ERR_AGAIN && moved == 0)
      break;
    if ((p->crc != CK_OK && p->crc != CK_ERR_AGAIN) ||
        (p->src != CK_OK && p->src != CK_ERR_AGAIN)) {
      /* One side failed: deliver its alert, let the other react once. */
      if (p->crc == CK_ERR_AGAIN)
        p->crc = ck_tls_session_handshake(p->c, &p->cerr);
      if (p->src == CK_ERR_AGAIN)
        p->src = ck_tls_session_handshake(p->s, &p->serr);
      break;
    }
  }
}

static void pair_free(pair *p) {
  ck_tls_session_free(p->c);
  ck_tls_session_free(p->s);
  ck_tls_ctx_free(p->cctx);
  ck_tls_ctx_free(p->sctx);
  memset(p, 0, sizeof *p);
}

static void expect_ok(pair *p) {
  if (p->crc != CK_OK || p->src != CK_OK)
    print_error("client %s (%s) server %s (%s)\n", ck_err_name(p->crc),
                p->cerr.msg, ck_err_name(p->src), p->serr.msg);
  assert_int_equal(p->crc, CK_OK);
  assert_int_equal(p->src, CK_OK);
  assert_true(ck_tls_session_handshake_done(p->c));
  assert_true(ck_tls_session_handshake_done(p->s));
}

/* Compares a peer certificate with a DER file under tests/data. */
static void assert_peer_is(const ck_tls_session *s, const char *der_rel,
                           int want_verified) {
  size_t len = 0, dlen = 0;
  int verified = -1;
  const uint8_t *der = ck_tls_session_peer_cert(s, &len, &verified);
  char *want = ck_test_slurp(der_rel, &dlen);

  assert_non_null(der);
  assert_int_equal(len, dlen);
  assert_memory_equal(der, want, dlen);
  assert_int_equal(verified, want_verified);
  free(want);
}

/* Sends len bytes from a to b through the engine and checks they arrive. */
static void transfer(ck_tls_session *a, ck_tls_session *b, size_t len) {
  uint8_t *src = malloc(len), *dst = malloc(len), buf[16384];
  size_t got = 0, i, n;
  ck_err rc;

  assert_non_null(src);
  assert_non_null(dst);
  for (i = 0; i < len; i++)
    src[i] = (uint8_t)(i * 31 + 7);
  assert_int_equal(ck_tls_session_write(a, src, len, NULL), CK_OK);
  assert_true(ck_tls_session_pending(a) > len);
  while (ck_tls_session_pending(a) > 0) {
    n = ck_tls_session_take(a, buf, sizeof buf);
    assert_int_equal(ck_tls_session_feed(b, buf, n, NULL), CK_OK);
    while ((rc = ck_tls_session_read(b, dst + got, len - got, &n, NULL)) ==
           CK_OK) {
      got += n;
      if (got == len)
        break;
    }
    assert_true(rc == CK_OK || rc == CK_ERR_AGAIN);
    move(b, a); /* post-handshake messages, if any */
  }
  assert_int_equal(got, len);
  assert_memory_equal(src, dst, len);
  free(src);
  free(dst);
}

/* Like transfer, but all of a's output is fed to b at once, so b's input
 * buffer holds the whole message before anything is read (the engine gives
 * such a buffer back once drained; the session must go on working). */
static void transfer_bulk(ck_tls_session *a, ck_tls_session *b, size_t len) {
  uint8_t *src = malloc(len), *dst = malloc(len), *wire = NULL;
  size_t got = 0, i, n, wlen = 0;
  ck_err rc;

  assert_non_null(src);
  assert_non_null(dst);
  for (i = 0; i < len; i++)
    src[i] = (uint8_t)(i * 13 + 1);
  assert_int_equal(ck_tls_session_write(a, src, len, NULL), CK_OK);
  wlen = ck_tls_session_pending(a);
  assert_true(wlen > len);
  wire = malloc(wlen);
  assert_non_null(wire);
  for (i = 0; i < wlen; i += n) {
    n = ck_tls_session_take(a, wire + i, wlen - i);
    assert_true(n > 0);
  }
  assert_int_equal(ck_tls_session_pending(a), 0);
  assert_int_equal(ck_tls_session_feed(b, wire, wlen, NULL), CK_OK);
  while ((rc = ck_tls_session_read(b, dst + got, len - got, &n, NULL)) ==
         CK_OK && got + n < len)
    got += n;
  if (rc == CK_OK)
    got += n;
  assert_int_equal(got, len);
  assert_memory_equal(src, dst, len);
  assert_int_equal(ck_tls_session_read(b, dst, len, &n, NULL), CK_ERR_AGAIN);
  move(b, a);
  free(wire);
  free(src);
  free(dst);
}

static void test_handshake_and_data(void **state) {
  pair p = {0};
  ck_tls_config c = client_cfg(), s = server_cfg("server-ec");

  (void)state;
  handshake(&p, &c, &s);
  expect_ok(&p);
  assert_int_equal(ck_tls_session_version(p.c),
                   is_openssl() ? CK_TLS_V13 : CK_TLS_V12);
  assert_int_equal(ck_tls_session_version(p.s), ck_tls_session_version(p.c));
  assert_true(strlen(ck_tls_session_cipher(p.c)) > 0);
  assert_string_equal(ck_tls_session_cipher(p.c), ck_tls_session_cipher(p.s));
  assert_null(ck_tls_session_alpn(p.c));
  assert_peer_is(p.c, "tls/server-ec.der", 1);
  { /* the server asked for no client certificate */
    size_t len = 1;
    assert_null(ck_tls_session_peer_cert(p.s, &len, NULL));
    assert_int_equal(len, 0);
  }
  transfer(p.c, p.s, 100);
  transfer(p.s, p.c, 1);
  transfer(p.c, p.s, 1 << 20);
  transfer(p.s, p.c, 1 << 20);
  /* after large buffers were given back, both directions still work */
  transfer_bulk(p.c, p.s, 1 << 20);
  transfer_bulk(p.s, p.c, 1 << 20);
  transfer(p.c, p.s, 100);
  transfer(p.s, p.c, 100);
  pair_free(&p);
}

static void test_rsa_server(void **state) {
  pair p = {0};
  ck_tls_config c = client_cfg(), s = server_cfg("server-rsa");

  (void)state;
  c.server_name = "127.0.0.1";
  handshake(&p, &c, &s);
  expect_ok(&p);
  assert_peer_is(p.c, "tls/server-rsa.der", 1);
  assert_true(strstr(ck_tls_session_cipher(p.c), "RSA") != NULL ||
              ck_tls_session_version(p.c) == CK_TLS_V13);
  transfer(p.c, p.s, 5000);
  pair_free(&p);
}

static void test_tls12_forced(void **state) {
  pair p = {0};
  ck_tls_config c = client_cfg(), s = server_cfg("server-ec");

  (void)state;
  c.max_version = CK_TLS_V12;
  handshake(&p, &c, &s);
  expect_ok(&p);
  assert_int_equal(ck_tls_session_version(p.c), CK_TLS_V12);
  assert_int_equal(ck_tls_session_version(p.s), CK_TLS_V12);
  transfer(p.s, p.c, 70000);
  pair_free(&p);
}

static void test_client_cert_required(void **state) {
  pair p = {0};
  ck_tls_config c = client_cfg(), s = server_cfg("server-ec");

  (void)state;
  s.verify = CK_TLS_VERIFY_REQUIRE;
  s.ca_file = data("tls/root-ca.pem");
  c.cert_file = data("tls/client.pem");
  c.key_file = data("tls/client.key");
  handshake(&p, &c, &s);
  expect_ok(&p);
  assert_peer_is(p.s, "tls/client.der", 1);
  assert_peer_is(p.c, "tls/server-ec.der", 1);
  transfer(p.c, p.s, 1000);
  pair_free(&p);

  /* Without a certificate: the server refuses with a specific error. */
  c.cert_file = c.key_file = NULL;
  handshake(&p, &c, &s);
  assert_int_equal(p.src, CK_ERR_PEER_CERT_REQUIRED);
  assert_true(strstr(p.serr.msg, "no certificate") != NULL);
  /* TLS 1.3 clients finish before the server decides; TLS 1.2 ones see the
   * alert during the handshake. Either way the client gets no data. */
  if (p.crc == CK_OK) {
    uint8_t buf[16];
    size_t n = 0;
    ck_errctx err = CK_ERRCTX_INIT;
    ck_err rc = ck_tls_session_read(p.c, buf, sizeof buf, &n, &err);
    assert_int_equal(rc, CK_ERR_TLS);
    assert_true(strstr(err.msg, "requires a client certificate") != NULL);
  } else {
    assert_int_equal(p.crc, CK_ERR_TLS_HANDSHAKE);
  }
  pair_free(&p);

  /* A certificate from an unrelated CA is refused as untrusted. */
  c.cert_file = data("tls/other-client.pem");
  c.key_file = data("tls/other-client.key");
  handshake(&p, &c, &s);
  assert_int_equal(p.src, CK_ERR_UNTRUSTED);
  pair_free(&p);
}

static void test_client_cert_optional(void **state) {
  pair p = {0};
  ck_tls_config c = client_cfg(), s = server_cfg("server-ec");
  size_t len = 1;
  int verified = 1;

  (void)state;
  s.verify = CK_TLS_VERIFY_OPTIONAL;
  s.ca_file = data("tls/root-ca.pem");
  handshake(&p, &c, &s);
  expect_ok(&p);
  assert_null(ck_tls_session_peer_cert(p.s, &len, &verified));
  assert_int_equal(len, 0);
  assert_int_equal(verified, 0);
  pair_free(&p);

  c.cert_file = data("tls/client.pem");
  c.key_file = data("tls/client.key");
  handshake(&p, &c, &s);
  expect_ok(&p);
  assert_peer_is(p.s, "tls/client.der", 1);
  pair_free(&p);

  /* Optional does not mean "anything goes": a bad one is refused. */
  c.cert_file = data("tls/other-client.pem");
  c.key_file = data("tls/other-client.key");
  handshake(&p, &c, &s);
  assert_int_equal(p.src, CK_ERR_UNTRUSTED);
  pair_free(&p);
}

static void test_pinning(void **state) {
  pair p = {0};
  ck_tls_config c = client_cfg(), s = server_cfg("server-ec");
  char *pin = read_pin("tls/server-ec.sha256");
  char *other = read_pin("tls/server-rsa.sha256");
  char upper[128];
  size_t i, j = 0;

  (void)state;
  /* Bootstrap: no trust bundle, the pin alone authenticates. */
  c.ca_file = NULL;
  c.server_name = "not-the-name.example"; /* no name check in pin-only mode */
  c.pin_sha256 = pin;
  handshake(&p, &c, &s);
  expect_ok(&p);
  assert_peer_is(p.c, "tls/server-ec.der", 1);
  pair_free(&p);

  /* Upper case with colons is the same pin. */
  for (i = 0; pin[i] != '\0' && j + 4 < sizeof upper; i++) {
    if (i > 0 && i % 2 == 0)
      upper[j++] = ':';
    upper[j++] = (char)(pin[i] >= 'a' ? pin[i] - 32 : pin[i]);
  }
  upper[j] = '\0';
  c.pin_sha256 = upper;
  handshake(&p, &c, &s);
  expect_ok(&p);
  pair_free(&p);

  /* The wrong fingerprint is refused with CK_ERR_PIN_MISMATCH. */
  c.pin_sha256 = other;
  handshake(&p, &c, &s);
  assert_int_equal(p.crc, CK_ERR_PIN_MISMATCH);
  assert_true(strstr(p.cerr.msg, pin) != NULL); /* names what it saw */
  assert_int_not_equal(p.src, CK_OK);
  pair_free(&p);

  /* Pin and trust bundle: both must pass. */
  c.ca_file = data("tls/root-ca.pem");
  c.server_name = "localhost";
  c.pin_sha256 = pin;
  handshake(&p, &c, &s);
  expect_ok(&p);
  pair_free(&p);
  c.pin_sha256 = other;
  handshake(&p, &c, &s);
  assert_int_equal(p.crc, CK_ERR_PIN_MISMATCH);
  pair_free(&p);
  c.ca_file = data("tls/other-ca.pem");
  c.pin_sha256 = pin;
  handshake(&p, &c, &s);
  assert_int_equal(p.crc, CK_ERR_UNTRUSTED);
  pair_free(&p);

  /* A server can pin the client certificate. */
  free(other);
  other = read_pin("tls/client.sha256");
  c = client_cfg();
  c.cert_file = data("tls/client.pem");
  c.key_file = data("tls/client.key");
  s.verify = CK_TLS_VERIFY_REQUIRE;
  s.pin_sha256 = other;
  handshake(&p, &c, &s);
  expect_ok(&p);
  assert_peer_is(p.s, "tls/client.der", 1);
  pair_free(&p);
  s.pin_sha256 = pin; /* the server's own: wrong for the client */
  handshake(&p, &c, &s);
  assert_int_equal(p.src, CK_ERR_PIN_MISMATCH);
  pair_free(&p);
  free(pin);
  free(other);
}

static int64_t clock_2090(void *arg);

/* A server config whose chain is the concatenation of PEM files (leaf
 * first) with key; *buf receives the buffer to free after the handshake. */
static ck_tls_config server_chain_cfg(const char *key, const char *const *pems,
                                      char **buf) {
  ck_tls_config cfg = {0};
  size_t len = 0, n, i;
  char *all = NULL, *one;

  for (i = 0; pems[i] != NULL; i++) {
    one = ck_test_slurp(pems[i], &n);
    all = realloc(all, len + n + 1);
    assert_non_null(all);
    memcpy(all + len, one, n);
    len += n;
    all[len] = '\0';
    free(one);
  }
  cfg.role = CK_TLS_SERVER;
  cfg.cert_pem = (const uint8_t *)all;
  cfg.cert_pem_len = len;
  cfg.key_file = data(key);
  *buf = all;
  return cfg;
}

/* A bootstrap client: no trust bundle, only the CA pin from a .sha256 file. */
static ck_tls_config ca_pin_cfg(const char *pin_rel, char **pin) {
  ck_tls_config cfg = {0};

  *pin = read_pin(pin_rel);
  cfg.role = CK_TLS_CLIENT;
  cfg.server_name = "localhost";
  cfg.ca_pin_sha256 = *pin;
  return cfg;
}

/* The peer chain of s is exactly the DER files in want (NULL-terminated). */
static void assert_chain_is(const ck_tls_session *s, const char *const *want) {
  size_t i, len = 0, dlen = 0;
  const uint8_t *der;
  char *w;

  for (i = 0; want[i] != NULL; i++) {
    der = ck_tls_session_peer_chain(s, i, &len);
    w = ck_test_slurp(want[i], &dlen);
    if (der == NULL || len != dlen || memcmp(der, w, dlen) != 0)
      print_error("peer chain [%zu] is not %s\n", i, want[i]);
    assert_non_null(der);
    assert_int_equal(len, dlen);
    assert_memory_equal(der, w, dlen);
    free(w);
  }
  assert_int_equal(ck_tls_session_peer_chain_count(s), i);
  len = 1;
  assert_null(ck_tls_session_peer_chain(s, i, &len));
  assert_int_equal(len, 0);
}

/* The pinned CA the client reports is the DER file want at index idx. */
static void assert_pinned_is(const ck_tls_session *s, const char *want,
                             size_t idx) {
  size_t len = 0, dlen = 0, got_idx = 99;
  const uint8_t *der = ck_tls_session_pinned_ca(s, &len, &got_idx);
  char *w = ck_test_slurp(want, &dlen);

  assert_non_null(der);
  assert_int_equal(len, dlen);
  assert_memory_equal(der, w, dlen);
  assert_int_equal(got_idx, idx);
  free(w);
}

static void test_ca_pin_accepted(void **state) {
  pair p = {0};
  char *pin = NULL, *chain = NULL;
  const char *full[] = {"tls/server-ec.der", "tls/int-ca.der",
                        "tls/root-ca.der", NULL};
  const char *with_int[] = {"tls/server-ec.der", "tls/int-ca.der", NULL};
  ck_tls_config c = ca_pin_cfg("tls/root-ca.sha256", &pin);
  ck_tls_config s = server_cfg("server-ec");

  (void)state;
  /* The root pinned; the server sends leaf + intermediate + root. */
  s.cert_file = data("tls/server-ec-full.pem");
  handshake(&p, &c, &s);
  expect_ok(&p);
  assert_peer_is(p.c, "tls/server-ec.der", 1);
  assert_chain_is(p.c, full);
  assert_pinned_is(p.c, "tls/root-ca.der", 2);
  pair_free(&p);

  /* The same by IP address (SAN iPAddress). */
  c.server_name = "127.0.0.1";
  handshake(&p, &c, &s);
  expect_ok(&p);
  pair_free(&p);

  /* The intermediate pinned: an issuing CA is a sufficient anchor, whether
   * or not the root comes after it. */
  free(pin);
  c = ca_pin_cfg("tls/int-ca.sha256", &pin);
  handshake(&p, &c, &s);
  expect_ok(&p);
  assert_pinned_is(p.c, "tls/int-ca.der", 1);
  assert_chain_is(p.c, full);
  pair_free(&p);
  s = server_cfg("server-ec"); /* leaf + intermediate only */
  handshake(&p, &c, &s);
  expect_ok(&p);
  assert_pinned_is(p.c, "tls/int-ca.der", 1);
  assert_chain_is(p.c, with_int);
  pair_free(&p);

  /* A CA pin and a leaf pin: both must pass. */
  free(pin);
  c = ca_pin_cfg("tls/int-ca.sha256", &pin);
  c.pin_sha256 = chain = read_pin("tls/server-ec.sha256");
  handshake(&p, &c, &s);
  expect_ok(&p);
  pair_free(&p);
  free(chain);
  c.pin_sha256 = chain = read_pin("tls/server-rsa.sha256");
  handshake(&p, &c, &s);
  assert_int_equal(p.crc, CK_ERR_PIN_MISMATCH);
  pair_free(&p);
  free(chain);
  free(pin);
}

static void test_ca_pin_refused(void **state) {
  pair p = {0};
  char *pin = NULL, *chain = NULL, *root = read_pin("tls/root-ca.sha256");
  const char *expired[] = {"tls/expired-server.pem", "tls/root-ca.pem", NULL};
  ck_tls_config c = ca_pin_cfg("tls/other-ca.sha256", &pin);
  ck_tls_config s = server_cfg("server-ec");
  size_t len = 1;

  (void)state;
  /* An unrelated CA pinned: nothing in the chain matches. The message
   * quotes the top certificate the server did send. */
  s.cert_file = data("tls/server-ec-full.pem");
  handshake(&p, &c, &s);
  assert_int_equal(p.crc, CK_ERR_PIN_MISMATCH);
  assert_non_null(strstr(p.cerr.msg, root));
  assert_int_not_equal(p.src, CK_OK);
  assert_null(ck_tls_session_pinned_ca(p.c, &len, NULL));
  assert_int_equal(len, 0);
  pair_free(&p);

  /* The root pinned but not sent: the pin cannot be checked. */
  free(pin);
  c = ca_pin_cfg("tls/root-ca.sha256", &pin);
  s = server_cfg("server-ec");
  handshake(&p, &c, &s);
  assert_int_equal(p.crc, CK_ERR_PIN_MISMATCH);
  pair_free(&p);

  /* The leaf's own fingerprint is not a CA pin. */
  free(pin);
  c = ca_pin_cfg("tls/server-ec.sha256", &pin);
  handshake(&p, &c, &s);
  assert_int_equal(p.crc, CK_ERR_PIN_MISMATCH);
  assert_non_null(strstr(p.cerr.msg, "leaf"));
  pair_free(&p);

  /* The pinned root is in the chain, but the leaf comes from another CA
   * (other-server.pem: a leaf issued by other-ca, our root appended). */
  free(pin);
  c = ca_pin_cfg("tls/root-ca.sha256", &pin);
  s = server_cfg("other-server");
  handshake(&p, &c, &s);
  assert_int_equal(p.crc, CK_ERR_UNTRUSTED);
  assert_non_null(strstr(p.cerr.msg, "pinned CA"));
  pair_free(&p);

  /* Same, with a leaf whose issuer has the root's very name (and no
   * authority key id): only the signature shows it is not the root's. */
  s = server_cfg("impostor-server");
  handshake(&p, &c, &s);
  assert_int_equal(p.crc, CK_ERR_UNTRUSTED);
  pair_free(&p);

  /* An expired leaf under the right CA pin. */
  s = server_chain_cfg("tls/expired-server.key", expired, &chain);
  handshake(&p, &c, &s);
  assert_int_equal(p.crc, CK_ERR_EXPIRED);
  pair_free(&p);
  free(chain);

  /* Still the usual name check. */
  s = server_cfg("server-ec");
  s.cert_file = data("tls/server-ec-full.pem");
  c.server_name = "wrong.example";
  handshake(&p, &c, &s);
  assert_int_equal(p.crc, CK_ERR_VERIFY);
  pair_free(&p);
  c.server_name = "10.1.2.3";
  handshake(&p, &c, &s);
  assert_int_equal(p.crc, CK_ERR_VERIFY);
  pair_free(&p);

  /* Validity at the clock seam, for the leaf and the pinned CA. */
  c.server_name = "localhost";
  ck_clock_set_source(clock_2090, NULL);
  handshake(&p, &c, &s);
  ck_clock_set_source(NULL, NULL);
  assert_int_equal(p.crc, CK_ERR_EXPIRED);
  pair_free(&p);

  /* A client certificate is no server certificate (EKU), nor is one whose
   * key usage does not allow TLS; an mbedTLS server already refuses to use
   * either (test_tls_interop checks the mbedTLS client on them). */
  free(pin);
  c = ca_pin_cfg("tls/int-ca.sha256", &pin);
  c.server_name = NULL;
  s = server_cfg("client");
  handshake(&p, &c, &s);
  assert_int_equal(p.crc, is_openssl() ? CK_ERR_VERIFY : CK_ERR_TLS_HANDSHAKE);
  pair_free(&p);
  s = server_cfg("badku-server");
  handshake(&p, &c, &s);
  assert_int_equal(p.crc, is_openssl() ? CK_ERR_VERIFY : CK_ERR_TLS_HANDSHAKE);
  pair_free(&p);
  free(pin);
  free(root);
}

/* The presented chain is there in trust-bundle mode too, and on the server
 * side for a client certificate; no pinned CA without a CA pin. */
static void test_peer_chain(void **state) {
  pair p = {0};
  ck_tls_config c = client_cfg(), s = server_cfg("server-ec");
  const char *srv[] = {"tls/server-ec.der", "tls/int-ca.der", NULL};
  const char *cli[] = {"tls/client.der", "tls/int-ca.der", NULL};
  size_t len = 1;

  (void)state;
  c.cert_file = data("tls/client.pem");
  c.key_file = data("tls/client.key");
  s.ca_file = data("tls/root-ca.pem");
  s.verify = CK_TLS_VERIFY_REQUIRE;
  must_ctx(&c, &p.cctx);
  must_ctx(&s, &p.sctx);
  assert_int_equal(ck_tls_session_new(p.cctx, NULL, &p.c, NULL), CK_OK);
  assert_int_equal(ck_tls_session_peer_chain_count(p.c), 0);
  assert_null(ck_tls_session_peer_chain(p.c, 0, &len));
  assert_int_equal(len, 0);
  ck_tls_session_free(p.c);
  p.c = NULL;
  ck_tls_ctx_free(p.cctx);
  ck_tls_ctx_free(p.sctx);
  p.cctx = p.sctx = NULL;

  handshake(&p, &c, &s);
  expect_ok(&p);
  assert_chain_is(p.c, srv);
  assert_chain_is(p.s, cli);
  len = 1;
  assert_null(ck_tls_session_pinned_ca(p.c, &len, NULL));
  assert_int_equal(len, 0);
  pair_free(&p);
}

static void test_untrusted_and_names(void **state) {
  pair p = {0};
  ck_tls_config c = client_cfg(), s = server_cfg("server-ec");

  (void)state;
  c.ca_file = data("tls/other-ca.pem");
  handshake(&p, &c, &s);
  assert_int_equal(p.crc, CK_ERR_UNTRUSTED);
  assert_int_not_equal(p.src, CK_OK);
  pair_free(&p);

  c = client_cfg();
  c.server_name = "wrong.example";
  handshake(&p, &c, &s);
  assert_int_equal(p.crc, CK_ERR_VERIFY);
  assert_true(strstr(p.cerr.msg, "mismatch") != NULL);
  pair_free(&p);

  c.server_name = "127.0.0.1";
  handshake(&p, &c, &s);
  expect_ok(&p);
  pair_free(&p);

  c.server_name = "::1";
  handshake(&p, &c, &s);
  expect_ok(&p);
  pair_free(&p);

  c.server_name = "10.1.2.3";
  handshake(&p, &c, &s);
  assert_int_equal(p.crc, CK_ERR_VERIFY);
  pair_free(&p);

  /* The per-session server name overrides the context's. */
  c.server_name = "wrong.example";
  must_ctx(&c, &p.cctx);
  must_ctx(&s, &p.sctx);
  {
    ck_tls_session *cs = NULL;
    assert_int_equal(ck_tls_session_new(p.cctx, "localhost", &cs, NULL), CK_OK);
    ck_tls_session_free(cs);
  }
  pair_free(&p);

  /* A client certificate is not a server certificate (EKU). An mbedTLS
   * server already refuses to use it (the interop test checks the mbedTLS
   * client against openssl s_server). */
  s = server_cfg("client");
  c = client_cfg();
  c.server_name = NULL;
  handshake(&p, &c, &s);
  if (is_openssl())
    assert_int_equal(p.crc, CK_ERR_VERIFY);
  else
    assert_int_equal(p.crc, CK_ERR_TLS_HANDSHAKE);
  pair_free(&p);
}

static int64_t clock_2090(void *arg) {
  (void)arg;
  return INT64_C(3786912000) * 1000; /* 2090-01-01 */
}

static void test_validity(void **state) {
  pair p = {0};
  ck_tls_config c = client_cfg(), s = server_cfg("expired-server");

  (void)state;
  handshake(&p, &c, &s);
  assert_int_equal(p.crc, CK_ERR_EXPIRED);
  pair_free(&p);

  /* Validity follows the clock seam, not the system clock. */
  s = server_cfg("server-ec");
  ck_clock_set_source(clock_2090, NULL);
  handshake(&p, &c, &s);
  ck_clock_set_source(NULL, NULL);
  assert_int_equal(p.crc, CK_ERR_EXPIRED);
  pair_free(&p);
}

static void test_alpn(void **state) {
  pair p = {0};
  ck_tls_config c = client_cfg(), s = server_cfg("server-ec");

  (void)state;
  c.alpn = "http/1.1,ck/1";
  s.alpn = "ck/1,http/1.1";
  handshake(&p, &c, &s);
  expect_ok(&p);
  assert_string_equal(ck_tls_session_alpn(p.c), "ck/1");
  assert_string_equal(ck_tls_session_alpn(p.s), "ck/1");
  pair_free(&p);

  s.alpn = "h2";
  handshake(&p, &c, &s);
  assert_int_equal(p.src, CK_ERR_TLS_HANDSHAKE);
  assert_int_equal(p.crc, CK_ERR_TLS_HANDSHAKE);
  pair_free(&p);

  s.alpn = NULL; /* a server without ALPN just ignores it */
  handshake(&p, &c, &s);
  expect_ok(&p);
  assert_null(ck_tls_session_alpn(p.c));
  pair_free(&p);
}

static void check_binding(pair *p, ck_tls_binding type, size_t want_len) {
  uint8_t a[64], b[64];
  size_t alen = 0, blen = 0;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc;

  rc = ck_tls_session_channel_binding(p->c, type, a, sizeof a, &alen, &err);
  if (rc != CK_OK)
    print_error("binding %d: %s\n", (int)type, err.msg);
  assert_int_equal(rc, CK_OK);
  assert_int_equal(
      ck_tls_session_channel_binding(p->s, type, b, sizeof b, &blen, NULL),
      CK_OK);
  assert_int_equal(alen, want_len);
  assert_int_equal(blen, want_len);
  assert_memory_equal(a, b, alen);
  assert_int_equal(
      ck_tls_session_channel_binding(p->c, type, a, 4, &alen, NULL),
      CK_ERR_RANGE);
}

static void test_channel_binding(void **state) {
  pair p = {0}, q = {0};
  ck_tls_config c = client_cfg(), s = server_cfg("server-ec");
  uint8_t a[64], b[64];
  size_t alen, blen;

  (void)state;
  c.max_version = CK_TLS_V12;
  handshake(&p, &c, &s);
  expect_ok(&p);
  check_binding(&p, CK_TLS_BINDING_UNIQUE, 12);
  check_binding(&p, CK_TLS_BINDING_EXPORTER, 32);
  /* Another connection has other values. */
  handshake(&q, &c, &s);
  expect_ok(&q);
  assert_int_equal(ck_tls_session_channel_binding(p.c, CK_TLS_BINDING_EXPORTER,
                                                  a, sizeof a, &alen, NULL),
                   CK_OK);
  assert_int_equal(ck_tls_session_channel_binding(q.c, CK_TLS_BINDING_EXPORTER,
                                                  b, sizeof b, &blen, NULL),
                   CK_OK);
  assert_memory_not_equal(a, b, 32);
  pair_free(&p);
  pair_free(&q);

  if (is_openssl()) {
    c.max_version = CK_TLS_VERSION_ANY;
    handshake(&p, &c, &s);
    expect_ok(&p);
    assert_int_equal(ck_tls_session_version(p.c), CK_TLS_V13);
    assert_int_equal(ck_tls_session_channel_binding(p.c, CK_TLS_BINDING_UNIQUE,
                                                    a, sizeof a, &alen, NULL),
                     CK_ERR_UNSUPPORTED);
    check_binding(&p, CK_TLS_BINDING_EXPORTER, 32);
    pair_free(&p);
  }
}

static void test_close_notify(void **state) {
  pair p = {0};
  ck_tls_config c = client_cfg(), s = server_cfg("server-ec");
  uint8_t buf[64];
  size_t n;

  (void)state;
  handshake(&p, &c, &s);
  expect_ok(&p);
  assert_int_equal(ck_tls_session_write(p.c, (const uint8_t *)"bye", 3, NULL),
                   CK_OK);
  ck_tls_session_close(p.c);
  ck_tls_session_close(p.c); /* idempotent */
  assert_int_equal(ck_tls_session_write(p.c, (const uint8_t *)"x", 1, NULL),
                   CK_ERR_INVAL);
  move(p.c, p.s);
  assert_int_equal(ck_tls_session_read(p.s, buf, sizeof buf, &n, NULL), CK_OK);
  assert_int_equal(n, 3);
  assert_memory_equal(buf, "bye", 3);
  assert_int_equal(ck_tls_session_read(p.s, buf, sizeof buf, &n, NULL),
                   CK_ERR_CLOSED);
  pair_free(&p);
}

static void test_not_ready(void **state) {
  ck_tls_ctx *ctx = NULL;
  ck_tls_session *s = NULL;
  ck_tls_config c = client_cfg();
  uint8_t buf[8];
  size_t n = 9;

  (void)state;
  must_ctx(&c, &ctx);
  assert_int_equal(ck_tls_session_new(ctx, NULL, &s, NULL), CK_OK);
  assert_int_equal(ck_tls_session_read(s, buf, sizeof buf, &n, NULL),
                   CK_ERR_INVAL);
  assert_int_equal(n, 0);
  assert_int_equal(ck_tls_session_write(s, buf, 1, NULL), CK_ERR_INVAL);
  assert_int_equal(ck_tls_session_channel_binding(s, CK_TLS_BINDING_EXPORTER,
                                                  buf, sizeof buf, &n, NULL),
                   CK_ERR_INVAL);
  assert_int_equal(ck_tls_session_version(s), CK_TLS_VERSION_ANY);
  assert_string_equal(ck_tls_session_cipher(s), "");
  /* The first step produces a ClientHello. */
  assert_int_equal(ck_tls_session_handshake(s, NULL), CK_ERR_AGAIN);
  assert_true(ck_tls_session_pending(s) > 0);
  /* Garbage from the "server" fails the handshake, specifically. */
  assert_int_equal(
      ck_tls_session_feed(s, (const uint8_t *)"HTTP/1.1 400 Bad\r\n\r\n", 20,
                          NULL),
      CK_OK);
  assert_int_equal(ck_tls_session_handshake(s, NULL), CK_ERR_TLS_HANDSHAKE);
  assert_int_equal(ck_tls_session_handshake(s, NULL), CK_ERR_TLS_HANDSHAKE);
  ck_tls_session_free(s);
  /* The session held a reference: the ctx is still usable. */
  assert_int_equal(ck_tls_ctx_role(ctx), CK_TLS_CLIENT);
  assert_int_equal(ck_tls_ctx_handshake_timeout_ms(ctx), 10000);
  assert_string_equal(ck_tls_ctx_server_name(ctx), "localhost");
  ck_tls_ctx_free(ctx);
  ck_tls_ctx_free(NULL);
  ck_tls_session_free(NULL);
}

static void expect_cfg_error(const ck_tls_config *cfg, ck_err want,
                             const char *needle) {
  ck_tls_ctx *ctx = (ck_tls_ctx *)(uintptr_t)1;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc = ck_tls_ctx_new(cfg, &ctx, &err);

  if (rc != want || (needle != NULL && strstr(err.msg, needle) == NULL))
    print_error("want %s '%s', got %s '%s'\n", ck_err_name(want),
                needle ? needle : "", ck_err_name(rc), err.msg);
  assert_int_equal(rc, want);
  assert_null(ctx);
  if (needle != NULL)
    assert_non_null(strstr(err.msg, needle));
}

static void test_config_errors(void **state) {
  ck_tls_config c, s;
  static const uint8_t junk[] = "this is not PEM";
  size_t len;
  char *pem;

  (void)state;
  s = server_cfg("server-ec");
  s.cert_file = s.key_file = NULL;
  expect_cfg_error(&s, CK_ERR_CONFIG, "needs a certificate");

  s = server_cfg("server-ec");
  s.key_file = NULL;
  expect_cfg_error(&s, CK_ERR_CONFIG, "private key");

  s = server_cfg("server-ec");
  s.key_file = data("tls/client.key");
  expect_cfg_error(&s, CK_ERR_KEY_MISMATCH, "client.key");

  s = server_cfg("server-ec");
  s.cert_file = data("tls/no-such.pem");
  expect_cfg_error(&s, CK_ERR_NOENT, "no-such.pem");

  s = server_cfg("server-ec");
  s.cert_file = NULL;
  s.cert_pem = junk;
  s.cert_pem_len = sizeof junk - 1;
  expect_cfg_error(&s, CK_ERR_BAD_PEM, "certificate buffer");

  s = server_cfg("server-ec");
  s.key_file = data("tls/root-ca.pem");
  expect_cfg_error(&s, CK_ERR_BAD_KEY, "root-ca.pem");

  s = server_cfg("server-ec");
  s.verify = CK_TLS_VERIFY_REQUIRE;
  expect_cfg_error(&s, CK_ERR_CONFIG, "trust bundle");

  s = server_cfg("server-ec");
  s.pin_sha256 = "00";
  expect_cfg_error(&s, CK_ERR_CONFIG, "pin_sha256");

  c = client_cfg();
  c.ca_file = NULL;
  expect_cfg_error(&c, CK_ERR_CONFIG, "trust bundle");

  c = client_cfg();
  c.verify = CK_TLS_VERIFY_OPTIONAL;
  expect_cfg_error(&c, CK_ERR_CONFIG, "optional");

  c = client_cfg();
  c.pin_sha256 = "zz";
  expect_cfg_error(&c, CK_ERR_CONFIG, "pin_sha256");
  c.pin_sha256 = "abcd";
  expect_cfg_error(&c, CK_ERR_CONFIG, "32");

  /* CA pins: clients only, instead of a trust bundle, never with verify
   * none, and spelled like a leaf pin. */
  c = client_cfg();
  c.ca_file = NULL;
  c.ca_pin_sha256 = "00112233";
  expect_cfg_error(&c, CK_ERR_CONFIG, "ca_pin_sha256");
  c.ca_pin_sha256 = "0011223344556677889900112233445566778899001122334455"
                    "66778899001X";
  expect_cfg_error(&c, CK_ERR_CONFIG, "ca_pin_sha256");
  c.ca_pin_sha256 = "00:11:22:33:44:55:66:77:88:99:00:11:22:33:44:55:66:77:"
                    "88:99:00:11:22:33:44:55:66:77:88:99:00:11";
  {
    ck_tls_ctx *ctx = NULL;
    must_ctx(&c, &ctx);
    ck_tls_ctx_free(ctx);
  }
  c.verify = CK_TLS_VERIFY_NONE;
  expect_cfg_error(&c, CK_ERR_CONFIG, "verification");
  c = client_cfg();
  c.ca_pin_sha256 = "0011223344556677889900112233445566778899001122334455"
                    "667788990011";
  expect_cfg_error(&c, CK_ERR_CONFIG, "not both");
  s = server_cfg("server-ec");
  s.ca_pin_sha256 = c.ca_pin_sha256;
  expect_cfg_error(&s, CK_ERR_CONFIG, "clients");

  c = client_cfg();
  c.min_version = (ck_tls_version)0x0302; /* TLS 1.1 */
  expect_cfg_error(&c, CK_ERR_CONFIG, "below 1.2");

  c = client_cfg();
  c.alpn = "a,,b";
  expect_cfg_error(&c, CK_ERR_CONFIG, "alpn");

  c = client_cfg();
  c.ca_file = NULL;
  c.ca_pem = junk;
  c.ca_pem_len = sizeof junk - 1;
  expect_cfg_error(&c, CK_ERR_BAD_PEM, "trust bundle");

  if (!is_openssl()) {
    c = client_cfg();
    c.min_version = CK_TLS_V13;
    expect_cfg_error(&c, CK_ERR_UNSUPPORTED, "TLS 1.3");
  }

  /* Buffers work like files. */
  c = client_cfg();
  c.ca_file = NULL;
  pem = ck_test_slurp("tls/root-ca.pem", &len);
  c.ca_pem = (const uint8_t *)pem;
  c.ca_pem_len = len;
  {
    ck_tls_ctx *ctx = NULL;
    must_ctx(&c, &ctx);
    ck_tls_ctx_free(ctx);
  }
  free(pem);
}

/* A trimmed agent build (CK_DISABLE_TLS_SERVER) has no server role: only
 * the client-side checks can run in memory (test_tls_interop covers the
 * client against openssl s_server). */
static int server_supported(void) {
  ck_tls_config s = server_cfg("server-ec");
  ck_tls_ctx *ctx = NULL;
  ck_err rc = ck_tls_ctx_new(&s, &ctx, NULL);

  ck_tls_ctx_free(ctx);
  return rc != CK_ERR_UNSUPPORTED;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_handshake_and_data),
      cmocka_unit_test(test_rsa_server),
      cmocka_unit_test(test_tls12_forced),
      cmocka_unit_test(test_client_cert_required),
      cmocka_unit_test(test_client_cert_optional),
      cmocka_unit_test(test_pinning),
      cmocka_unit_test(test_ca_pin_accepted),
      cmocka_unit_test(test_ca_pin_refused),
      cmocka_unit_test(test_peer_chain),
      cmocka_unit_test(test_untrusted_and_names),
      cmocka_unit_test(test_validity),
      cmocka_unit_test(test_alpn),
      cmocka_unit_test(test_channel_binding),
      cmocka_unit_test(test_close_notify),
      cmocka_unit_test(test_not_ready),
      cmocka_unit_test(test_config_errors),
  };
  const struct CMUnitTest client_only[] = {
      cmocka_unit_test(test_not_ready),
  };

  printf("TLS backend: %s\n", ck_tls_backend());
  if (!server_supported()) {
    printf("skipped: the TLS server role is left out of this build "
           "(CK_DISABLE_TLS_SERVER); running client-only tests\n");
    return cmocka_run_group_tests(client_only, NULL, NULL);
  }
  return cmocka_run_group_tests(tests, NULL, NULL);
}
