/* served.c — reading the fingerprint of the certificate an endpoint serves
 * (see served.h).
 *
 * One TLS client handshake on a private libuv loop with verification off:
 * we do not trust the endpoint, we only compare its leaf with the one we
 * installed. The session's presented leaf is read directly
 * (ck_tls_session_peer_cert), because the conn-level accessors return only
 * verified certificates. */
#include "agent/manage/served.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "common/crypto/crypto.h"
#include "common/net/tls.h"
#include "common/util/clock.h"

typedef struct fetch {
  int done;         /* handshake callback ran */
  int closed;       /* conn closed (or none to close) */
  int timed_out;    /* our overall timer fired first */
  ck_err status;    /* result */
  ck_errctx err;    /* its message */
  uint8_t fp[32];   /* the served leaf's SHA-256 */
} fetch;

static void on_closed(ck_conn *c) {
  fetch *f = c->data;
  f->closed = 1;
}

static void on_handshake(ck_conn *c, ck_err status, const ck_errctx *err,
                         void *arg) {
  fetch *f = arg;
  const ck_tls_session *s;
  const uint8_t *der;
  size_t len = 0;

  f->done = 1;
  if (status != CK_OK) {
    f->status = status;
    f->closed = 1;
    if (err != NULL)
      f->err = *err;
    return;
  }
  s = ck_tls_conn_session(c);
  der = s != NULL ? ck_tls_session_peer_cert(s, &len, NULL) : NULL;
  if (der == NULL || len == 0)
    f->status = ck_failf(&f->err, CK_ERR_PEER_CERT_REQUIRED,
                         "the endpoint presented no certificate");
  else
    f->status = ck_crypto_sha256(der, len, f->fp);
  c->data = f;
  ck_conn_close(c, on_closed);
}

static void on_timer(uv_timer_t *t) {
  fetch *f = t->data;
  f->timed_out = 1;
}

ck_err ck_served_fetch(const char *addr, const char *sni, unsigned timeout_ms,
                       uint8_t fp[32], ck_errctx *err) {
  uv_loop_t loop;
  uv_timer_t timer;
  ck_tls_config cfg;
  ck_tls_ctx *ctx = NULL;
  fetch f;
  ck_err rc;
  int e;

  if (addr == NULL || addr[0] == '\0')
    return ck_failf(err, CK_ERR_ADDR, "verify: no address");
  if (timeout_ms == 0)
    timeout_ms = 10000;
  memset(&f, 0, sizeof f);
  memset(&cfg, 0, sizeof cfg);
  cfg.role = CK_TLS_CLIENT;
  cfg.verify = CK_TLS_VERIFY_NONE;
  cfg.server_name = sni != NULL && sni[0] != '\0' ? sni : NULL;
  cfg.handshake_timeout_ms = timeout_ms;
  rc = ck_tls_ctx_new(&cfg, &ctx, err);
  if (rc != CK_OK)
    return ck_failf(err, rc, "verify %s", addr);
  if ((e = uv_loop_init(&loop)) != 0) {
    ck_tls_ctx_free(ctx);
    return ck_failf(err, ck_err_from_errno(e), "verify: loop: %s",
                    uv_strerror(e));
  }
  uv_timer_init(&loop, &timer);
  timer.data = &f;
  rc = ck_tls_connect(&loop, addr, ctx, on_handshake, &f, err);
  ck_tls_ctx_free(ctx); /* the connect holds its own reference */
  if (rc != CK_OK) {
    ck_failf(err, rc, "verify %s", addr);
    f.done = f.closed = 1;
  } else {
    uv_timer_start(&timer, on_timer, timeout_ms, 0);
  }
  /* The handshake has its own timeout once TCP is up; the connect attempt
   * cannot be cancelled through the conn layer, so after our timer we keep
   * running until the layer reports back (refused/unreachable come fast). */
  while (!(f.done && f.closed))
    if (uv_run(&loop, UV_RUN_ONCE) == 0)
      break;
  uv_close((uv_handle_t *)&timer, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  if (rc != CK_OK)
    return rc;
  if (!f.done)
    return ck_failf(err, CK_ERR_INTERNAL, "verify %s: no result", addr);
  if (f.status != CK_OK) {
    if (f.timed_out && f.status != CK_ERR_TIMEOUT)
      return ck_failf(err, CK_ERR_TIMEOUT, "verify %s: no answer within %u ms "
                      "(%s)", addr, timeout_ms, ck_errctx_msg(&f.err));
    return ck_failf(err, f.status, "verify %s: %s", addr,
                    ck_errctx_msg(&f.err));
  }
  memcpy(fp, f.fp, 32);
  return CK_OK;
}

static void pause_ms(unsigned ms) {
  struct timespec ts;

  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

ck_err ck_served_wait(const char *addr, const char *sni, const uint8_t want[32],
                      unsigned deadline_ms, uint8_t last[32], ck_errctx *err) {
  uint64_t start = ck_clock_mono_ms();
  uint64_t end = start + deadline_ms;
  unsigned interval = 250;
  ck_errctx lerr = CK_ERRCTX_INIT;
  ck_err lrc = CK_OK;
  uint8_t fp[32], seen[32];
  int have_seen = 0, attempts = 0;

  memset(seen, 0, sizeof seen);
  if (last != NULL)
    memset(last, 0, 32);
  for (;;) {
    uint64_t now = ck_clock_mono_ms();
    unsigned left = now < end ? (unsigned)(end - now) : 0;
    ck_errctx aerr = CK_ERRCTX_INIT;
    ck_err rc;

    attempts++;
    rc = ck_served_fetch(addr, sni, left > 0 ? left : 1, fp, &aerr);
    if (rc == CK_OK) {
      memcpy(seen, fp, sizeof seen);
      have_seen = 1;
      if (last != NULL)
        memcpy(last, fp, 32);
      if (memcmp(fp, want, 32) == 0)
        return CK_OK;
    } else {
      lrc = rc;
      lerr = aerr;
    }
    now = ck_clock_mono_ms();
    if (now + interval >= end)
      break;
    pause_ms(interval);
    if (interval < 2000)
      interval *= 2;
  }
  {
    char want_hex[CK_SHA256_HEX_LEN], seen_hex[CK_SHA256_HEX_LEN];
    ck_crypto_hex(want, 32, 0, want_hex, sizeof want_hex);
    ck_crypto_hex(seen, 32, 0, seen_hex, sizeof seen_hex);
    if (have_seen)
      return ck_setf(err, CK_ERR_TIMEOUT,
                     "%s still serves %s instead of %s after %u ms "
                     "(%d attempts)",
                     addr, seen_hex, want_hex, deadline_ms, attempts);
    return ck_setf(err, CK_ERR_TIMEOUT,
                   "could not read the certificate served at %s within %u ms "
                   "(want %s): %s: %s",
                   addr, deadline_ms, want_hex, ck_err_name(lrc),
                   ck_errctx_msg(&lerr));
  }
}
