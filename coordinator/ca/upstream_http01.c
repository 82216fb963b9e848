/* upstream_http01.c — the http-01 responder of the upstream ACME connector
 * (RFC 8555 8.3): serves /.well-known/acme-challenge/<token> with the key
 * authorization while an order is open.
 *
 * Orders run on worker threads, and the coordinator's loop is not theirs
 * to touch, so each configured address gets its own small server on its
 * own thread and uv loop (the common HTTP layer, plain HTTP as the RFC
 * requires). It is started by the first order that needs it and stopped by
 * the last one that releases it: nothing listens while no order is open.
 * A process-wide registry (one mutex) shares a responder between orders
 * for the same address. */
#include "coordinator/ca/upstream_acme_int.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/net/http.h"
#include "common/util/log.h"
#include "common/util/mem.h"

#define PREFIX "/.well-known/acme-challenge/"
#define MAX_TOKENS 256

typedef struct tok {
  struct tok *next;
  char *token;
  char *keyauth;
} tok;

struct ck__acme_http01 {
  ck__acme_http01 *next; /* registry list */
  char *addr;
  unsigned refs;         /* orders holding it; registry mutex */
  uv_thread_t thread;
  uv_loop_t loop;        /* the responder thread's own */
  uv_async_t stop;
  ck_http_server *srv;
  uv_sem_t ready;        /* posted once listening (or failed) */
  ck_err start_rc;
  char start_msg[256];
  uv_mutex_t mu;         /* guards tokens */
  tok *tokens;
  size_t n_tokens;
};

static uv_once_t g_once = UV_ONCE_INIT;
static uv_mutex_t g_mu;
static ck__acme_http01 *g_list;

static void registry_init(void) {
  if (uv_mutex_init(&g_mu) != 0)
    abort();
}

static void serve(ck_http_req *req, void *arg) {
  ck__acme_http01 *r = arg;
  const char *token = ck_http_req_path_rest(req);
  char *body = NULL;
  size_t len = 0;
  tok *t;

  uv_mutex_lock(&r->mu);
  for (t = r->tokens; t != NULL; t = t->next)
    if (strcmp(t->token, token) == 0) {
      len = strlen(t->keyauth);
      body = malloc(len + 1);
      if (body != NULL)
        memcpy(body, t->keyauth, len + 1);
      break;
    }
  uv_mutex_unlock(&r->mu);
  if (body == NULL) {
    ck_http_respond_status(req, 404);
    return;
  }
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "upstream.http01.served",
         CK_S("peer", ck_http_req_peer(req)), CK_S("token", token));
  ck_http_respond(req, 200, "application/octet-stream", body, len);
  free(body);
}

static void on_stop(uv_async_t *a) {
  ck__acme_http01 *r = a->data;
  ck_http_server_close(r->srv, NULL, NULL);
  r->srv = NULL;
  uv_close((uv_handle_t *)a, NULL);
}

static void thread_main(void *arg) {
  ck__acme_http01 *r = arg;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_http_config cfg;
  ck_err rc;

  ck_http_config_defaults(&cfg);
  cfg.max_connections = 64;
  cfg.max_body_bytes = 1024;
  cfg.header_timeout_ms = 5000;
  cfg.idle_timeout_ms = 5000;
  r->stop.data = r;
  if ((rc = ck_http_server_new(&r->loop, &cfg, &r->srv, &err)) != CK_OK ||
      (rc = ck_http_server_route_prefix(r->srv, CK_HTTP_GET, PREFIX, serve, r, &err)) !=
          CK_OK ||
      (rc = ck_http_server_listen(r->srv, r->addr, &err)) != CK_OK) {
    r->start_rc = rc;
    ck_strlcpy(r->start_msg, ck_errctx_msg(&err), sizeof r->start_msg);
    ck_http_server_close(r->srv, NULL, NULL);
    r->srv = NULL;
    uv_close((uv_handle_t *)&r->stop, NULL);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    uv_sem_post(&r->ready);
    return;
  }
  uv_sem_post(&r->ready);
  uv_run(&r->loop, UV_RUN_DEFAULT);
}

static void destroy(ck__acme_http01 *r) {
  tok *t, *n;

  for (t = r->tokens; t != NULL; t = n) {
    n = t->next;
    free(t->token);
    free(t->keyauth);
    free(t);
  }
  uv_mutex_destroy(&r->mu);
  uv_sem_destroy(&r->ready);
  free(r->addr);
  free(r);
}

ck_err ck__acme_http01_acquire(const char *addr, ck__acme_http01 **out,
                               ck_errctx *err) {
  ck__acme_http01 *r;
  ck_err rc = CK_OK;

  *out = NULL;
  uv_once(&g_once, registry_init);
  uv_mutex_lock(&g_mu);
  for (r = g_list; r != NULL; r = r->next)
    if (strcmp(r->addr, addr) == 0) {
      r->refs++;
      *out = r;
      goto out;
    }
  if ((r = calloc(1, sizeof *r)) == NULL || (r->addr = strdup(addr)) == NULL) {
    free(r);
    rc = ck_failf(err, CK_ERR_NOMEM, "http-01 responder");
    goto out;
  }
  if (uv_mutex_init(&r->mu) != 0 || uv_sem_init(&r->ready, 0) != 0 ||
      uv_loop_init(&r->loop) != 0 || uv_async_init(&r->loop, &r->stop, on_stop) != 0) {
    /* init failures this early only come from resource exhaustion */
    rc = ck_failf(err, CK_ERR_INTERNAL, "http-01 responder: cannot initialise");
    free(r->addr);
    free(r);
    goto out;
  }
  if (uv_thread_create(&r->thread, thread_main, r) != 0) {
    uv_close((uv_handle_t *)&r->stop, NULL);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    uv_loop_close(&r->loop);
    destroy(r);
    rc = ck_failf(err, CK_ERR_INTERNAL, "http-01 responder: cannot start a thread");
    goto out;
  }
  uv_sem_wait(&r->ready);
  if (r->start_rc != CK_OK) {
    uv_thread_join(&r->thread);
    uv_loop_close(&r->loop);
    rc = ck_failf(err, r->start_rc, "http-01 responder on %s: %s", addr, r->start_msg);
    destroy(r);
    goto out;
  }
  r->refs = 1;
  r->next = g_list;
  g_list = r;
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "upstream.http01.start", CK_S("addr", addr));
  *out = r;
out:
  uv_mutex_unlock(&g_mu);
  return rc;
}

ck_err ck__acme_http01_set(ck__acme_http01 *r, const char *token,
                           const char *keyauth, ck_errctx *err) {
  tok *t;
  ck_err rc = CK_OK;

  if (!ck__acme_token_ok(token))
    return ck_failf(err, CK_ERR_INVAL, "http-01: token is not base64url");
  uv_mutex_lock(&r->mu);
  if (r->n_tokens >= MAX_TOKENS) {
    rc = ck_failf(err, CK_ERR_LIMIT, "http-01: more than %d challenges open", MAX_TOKENS);
    goto out;
  }
  if ((t = calloc(1, sizeof *t)) == NULL || (t->token = strdup(token)) == NULL ||
      (t->keyauth = strdup(keyauth)) == NULL) {
    if (t != NULL)
      free(t->token);
    free(t);
    rc = ck_failf(err, CK_ERR_NOMEM, "http-01 token");
    goto out;
  }
  t->next = r->tokens;
  r->tokens = t;
  r->n_tokens++;
out:
  uv_mutex_unlock(&r->mu);
  return rc;
}

void ck__acme_http01_unset(ck__acme_http01 *r, const char *token) {
  tok **pp, *t;

  uv_mutex_lock(&r->mu);
  for (pp = &r->tokens; (t = *pp) != NULL; pp = &t->next)
    if (strcmp(t->token, token) == 0) {
      *pp = t->next;
      free(t->token);
      free(t->keyauth);
      free(t);
      r->n_tokens--;
      break;
    }
  uv_mutex_unlock(&r->mu);
}

void ck__acme_http01_release(ck__acme_http01 *r) {
  ck__acme_http01 **pp;

  if (r == NULL)
    return;
  uv_mutex_lock(&g_mu);
  if (--r->refs > 0) {
    uv_mutex_unlock(&g_mu);
    return;
  }
  for (pp = &g_list; *pp != NULL; pp = &(*pp)->next)
    if (*pp == r) {
      *pp = r->next;
      break;
    }
  /* stopped and joined under the registry lock, so a new order for the
   * same address cannot race the old listener for the port */
  uv_async_send(&r->stop);
  uv_thread_join(&r->thread);
  uv_loop_close(&r->loop);
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "upstream.http01.stop", CK_S("addr", r->addr));
  destroy(r);
  uv_mutex_unlock(&g_mu);
}
