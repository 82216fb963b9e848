/* upstream_dns01.c — dns-01 for the upstream ACME connector (RFC 8555
 * 8.4): the TXT value for a key authorization, and the operator's hook
 * that publishes and removes it.
 *
 * The coordinator does not speak to DNS providers itself; the profile
 * names an executable that does (nsupdate, a provider's CLI, a script).
 * It is run as `HOOK add _acme-challenge.NAME VALUE` before the challenge
 * is answered and `HOOK del ...` afterwards, directly (no shell), with no
 * stdin, on its own private uv loop so a worker thread can wait for it,
 * and killed when it outlives the time left for the order. "add" must only
 * return once the record is published. */
#include "coordinator/ca/upstream_acme_int.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/crypto/crypto.h"
#include "common/util/clock.h"

typedef struct run {
  int exited;
  int64_t status;
  int term_signal;
  int timed_out;
} run;

static void on_exit_cb(uv_process_t *p, int64_t status, int term_signal) {
  run *r = p->data;
  r->exited = 1;
  r->status = status;
  r->term_signal = term_signal;
  uv_close((uv_handle_t *)p, NULL);
}

static void on_timeout(uv_timer_t *t) {
  uv_process_t *p = t->data;
  run *r = p->data;
  r->timed_out = 1;
  uv_process_kill(p, SIGKILL);
}

ck_err ck__acme_dns01_value(const char *keyauth, char *out, size_t len, ck_errctx *err) {
  uint8_t h[CK_SHA256_LEN];
  char *b64;
  ck_err rc;

  if ((rc = ck_crypto_sha256(keyauth, strlen(keyauth), h)) != CK_OK)
    return rc;
  if ((b64 = ck__acme_b64url(h, sizeof h)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "dns-01 value");
  if (strlen(b64) >= len) {
    free(b64);
    return ck_failf(err, CK_ERR_INTERNAL, "dns-01 value");
  }
  memcpy(out, b64, strlen(b64) + 1);
  free(b64);
  return CK_OK;
}

ck_err ck__acme_dns01_hook(const char *hook, const char *action, const char *name,
                           const char *value, uint64_t timeout_ms, ck_errctx *err) {
  uv_loop_t loop;
  uv_process_t proc;
  uv_timer_t timer;
  uv_process_options_t opt;
  uv_stdio_container_t stdio[3];
  char *args[5];
  run r;
  int e;
  ck_err rc = CK_OK;

  memset(&r, 0, sizeof r);
  memset(&opt, 0, sizeof opt);
  memset(&proc, 0, sizeof proc);
  if (uv_loop_init(&loop) != 0)
    return ck_failf(err, CK_ERR_INTERNAL, "dns-01 hook: no loop");
  args[0] = (char *)hook;
  args[1] = (char *)action;
  args[2] = (char *)name;
  args[3] = (char *)value;
  args[4] = NULL;
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_IGNORE;
  stdio[2].flags = UV_INHERIT_FD; /* its complaints reach the coordinator's log */
  stdio[2].data.fd = 2;
  opt.file = hook;
  opt.args = args;
  opt.stdio = stdio;
  opt.stdio_count = 3;
  opt.exit_cb = on_exit_cb;
  proc.data = &r;
  if ((e = uv_spawn(&loop, &proc, &opt)) != 0) {
    rc = ck_failf(err, CK_ERR_CONFIG, "dns-01 hook %s: cannot run it: %s", hook, uv_strerror(e));
    uv_close((uv_handle_t *)&proc, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return rc;
  }
  uv_timer_init(&loop, &timer);
  timer.data = &proc;
  uv_timer_start(&timer, on_timeout, timeout_ms > 0 ? timeout_ms : 1, 0);
  while (!r.exited && uv_run(&loop, UV_RUN_ONCE) != 0)
    ;
  uv_close((uv_handle_t *)&timer, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  if (r.timed_out)
    rc = ck_failf(err, CK_ERR_UPSTREAM, "dns-01 hook %s %s %s: killed after %llu ms", hook,
                  action, name, (unsigned long long)timeout_ms);
  else if (r.term_signal != 0 || r.status != 0)
    rc = ck_failf(err, CK_ERR_UPSTREAM, "dns-01 hook %s %s %s: exit status %lld%s", hook, action,
                  name, (long long)r.status, r.term_signal ? " (signal)" : "");
  return rc;
}
