/* validate.c — the ACME challenge validator's entry point (validate.h):
 * options from the configuration, the validator object (nameservers and
 * the two TLS client contexts it shares between worker threads), argument
 * checks, and the attempt/retry loop around the per-type checks in
 * http01.c, dns01.c and tlsalpn01.c. */
#include "coordinator/acme/validate.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/crypto/acme_alpn.h"
#include "common/net/conn.h"
#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/acme/validate_int.h"

#define RESOLV_CONF "/etc/resolv.conf"

/* The `run` flags, set once at start-up before any worker runs (see
 * ck_acme_validator_set_run_overrides); guarded anyway. */
static pthread_mutex_t ov_lock = PTHREAD_MUTEX_INITIALIZER;
static char ov_resolver[128];
static int ov_http01_port;

void ck_acme_validator_set_run_overrides(const char *dns_resolver,
                                         int http01_port) {
  pthread_mutex_lock(&ov_lock);
  ck_strlcpy(ov_resolver, dns_resolver != NULL ? dns_resolver : "",
             sizeof ov_resolver);
  ov_http01_port = http01_port;
  pthread_mutex_unlock(&ov_lock);
}

void ck_acme_validator_opts_defaults(ck_acme_validator_opts *o) {
  memset(o, 0, sizeof *o);
  o->http01_port = 80;
  o->tlsalpn01_port = 443;
  o->timeout_ms = 10000;
  o->attempts = 3;
  o->retry_delay_ms = 1000;
}

ck_err ck_acme_validator_opts_from_config(const ck_config *cfg,
                                          ck_acme_validator_opts *o,
                                          ck_errctx *err) {
  const char *s = NULL;
  int64_t x;

  ck_acme_validator_opts_defaults(o);
  if (cfg != NULL) {
    if (ck_config_str(cfg, "acme", "dns_resolver", &s) == CK_OK &&
        ck_strlcpy(o->dns_resolver, s, sizeof o->dns_resolver) >=
            sizeof o->dns_resolver)
      return ck_failf(err, CK_ERR_CONFIG, "[acme] dns_resolver: too long");
    if (ck_config_int(cfg, "acme", "http01_port", &x) == CK_OK)
      o->http01_port = (int)x;
    if (ck_config_int(cfg, "acme", "tlsalpn01_port", &x) == CK_OK)
      o->tlsalpn01_port = (int)x;
    if (ck_config_num(cfg, "acme", "validation_timeout", &x) == CK_OK)
      o->timeout_ms = x * 1000;
    if (ck_config_int(cfg, "acme", "validation_attempts", &x) == CK_OK)
      o->attempts = (int)x;
    if (ck_config_num(cfg, "acme", "validation_retry_delay", &x) == CK_OK)
      o->retry_delay_ms = x * 1000;
  }
  pthread_mutex_lock(&ov_lock);
  if (ov_resolver[0] != '\0')
    ck_strlcpy(o->dns_resolver, ov_resolver, sizeof o->dns_resolver);
  if (ov_http01_port > 0)
    o->http01_port = ov_http01_port;
  pthread_mutex_unlock(&ov_lock);
  return CK_OK;
}

static ck_err parse_ns(const char *text, struct sockaddr_storage *ss,
                       ck_errctx *err) {
  char with_port[160];
  ck_errctx e2 = CK_ERRCTX_INIT;

  if (ck_net_parse_addr(text, ss, &e2) == CK_OK)
    return CK_OK;
  /* a bare address means port 53 */
  if (strchr(text, ':') != NULL && text[0] != '[')
    snprintf(with_port, sizeof with_port, "[%s]:53", text);
  else
    snprintf(with_port, sizeof with_port, "%s:53", text);
  if (ck_net_parse_addr(with_port, ss, &e2) == CK_OK)
    return CK_OK;
  return ck_failf(err, CK_ERR_CONFIG,
                  "DNS resolver '%s' is not an address (ip:port)", text);
}

/* The nameservers of /etc/resolv.conf (port 53), for TXT lookups when no
 * resolver is configured; 127.0.0.1 when the file lists none. */
static void load_system_ns(ck_acme_validator *v) {
  FILE *f = fopen(RESOLV_CONF, "re");
  char line[512];

  while (f != NULL && v->n_ns < CK__ACME_MAX_RESOLVERS &&
         fgets(line, sizeof line, f) != NULL) {
    char addr[128];
    if (sscanf(line, " nameserver %127s", addr) != 1)
      continue;
    if (strchr(addr, '%') != NULL)
      continue; /* link-local with zone: not supported */
    if (parse_ns(addr, &v->ns[v->n_ns], NULL) == CK_OK)
      v->n_ns++;
  }
  if (f != NULL)
    fclose(f);
  if (v->n_ns == 0 && parse_ns("127.0.0.1:53", &v->ns[0], NULL) == CK_OK)
    v->n_ns = 1;
}

ck_err ck_acme_validator_new(const ck_acme_validator_opts *o,
                             ck_acme_validator **out, ck_errctx *err) {
  ck_acme_validator *v = NULL;
  ck_tls_config tc;
  ck_err rc;

  *out = NULL;
  if (o == NULL)
    return ck_failf(err, CK_ERR_INVAL, "no validator options");
  if (o->http01_port < 1 || o->http01_port > 65535 || o->tlsalpn01_port < 1 ||
      o->tlsalpn01_port > 65535)
    return ck_failf(err, CK_ERR_CONFIG, "ACME validation port out of range");
  if (o->timeout_ms < 1 || o->attempts < 1 || o->attempts > 100 ||
      o->retry_delay_ms < 0)
    return ck_failf(err, CK_ERR_CONFIG,
                    "ACME validation timeout, attempts or retry delay out of "
                    "range");
  v = calloc(1, sizeof *v);
  if (v == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  v->o = *o;
  if (o->dns_resolver[0] != '\0') {
    rc = parse_ns(o->dns_resolver, &v->ns[0], err);
    if (rc != CK_OK)
      goto out;
    v->n_ns = 1;
    v->custom_ns = 1;
  } else {
    load_system_ns(v);
  }
  memset(&tc, 0, sizeof tc);
  tc.role = CK_TLS_CLIENT;
  tc.verify = CK_TLS_VERIFY_NONE; /* RFC 8737 3: the proof is the cert */
  tc.alpn = CK_ACME_ALPN_PROTO;
  tc.handshake_timeout_ms = (unsigned)(o->timeout_ms > 600000 ? 600000
                                                              : o->timeout_ms);
  rc = ck_tls_ctx_new(&tc, &v->alpn_ctx, err);
  if (rc != CK_OK)
    goto out;
  tc.alpn = "http/1.1"; /* https redirects: RFC 8555 10.2, not verified */
  rc = ck_tls_ctx_new(&tc, &v->https_ctx, err);
  if (rc != CK_OK)
    goto out;
  *out = v;
  v = NULL;
out:
  ck_acme_validator_free(v);
  return rc;
}

void ck_acme_validator_free(ck_acme_validator *v) {
  if (v == NULL)
    return;
  ck_tls_ctx_free(v->alpn_ctx);
  ck_tls_ctx_free(v->https_ctx);
  free(v);
}

ck_err ck__acme_vfail(ck_acme_validation *res, ck_err rc, const char *type,
                      const char *fmt, ...) {
  va_list ap;

  res->rc = rc;
  snprintf(res->problem, sizeof res->problem, "%s%s", CK__ACME_ERR, type);
  va_start(ap, fmt);
  vsnprintf(res->detail, sizeof res->detail, fmt, ap);
  va_end(ap);
  return rc;
}

int64_t ck__acme_left(uint64_t deadline) {
  uint64_t now = ck_clock_mono_ms();

  return now >= deadline ? 0 : (int64_t)(deadline - now);
}

/* A DNS name as the validator accepts it: LDH labels (and '_' for the
 * underscore names of dns-01), 1..63 per label, at most 253 in all. Copied
 * to out in lower case without a final dot. */
static int clean_name(const char *in, char *out, size_t cap) {
  size_t n = strlen(in), label = 0;

  if (n > 0 && in[n - 1] == '.')
    n--;
  if (n == 0 || n > 253 || n >= cap)
    return -1;
  for (size_t i = 0; i < n; i++) {
    char c = in[i];
    if (c >= 'A' && c <= 'Z')
      c = (char)(c - 'A' + 'a');
    if (c == '.') {
      if (label == 0)
        return -1;
      label = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_') {
      if (++label > 63)
        return -1;
    } else {
      return -1;
    }
    out[i] = c;
  }
  out[n] = '\0';
  return label == 0 ? -1 : 0;
}

static int is_b64url(const char *s, size_t max) {
  size_t n = 0;

  for (; s[n] != '\0'; n++)
    if (!((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z') ||
          (s[n] >= '0' && s[n] <= '9') || s[n] == '-' || s[n] == '_'))
      return 0;
  return n > 0 && n <= max;
}

static const char *type_name(ck_acme_chal_type t) {
  return t == CK_ACME_CHAL_HTTP01   ? "http-01"
         : t == CK_ACME_CHAL_DNS01  ? "dns-01"
                                    : "tls-alpn-01";
}

static void pause_ms(int64_t ms) {
  struct timespec ts = {.tv_sec = ms / 1000,
                        .tv_nsec = (long)(ms % 1000) * 1000000L};

  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

ck_err ck_acme_validate(ck_acme_validator *v, ck_acme_chal_type type,
                        const char *identifier, const char *token,
                        const char *key_authz, ck_acme_validation *res) {
  char name[256];
  const char *id = identifier;
  const char *dot;
  int attempt;
  ck_err rc = CK_ERR_INVAL;

  memset(res, 0, sizeof *res);
  if (v == NULL || identifier == NULL || key_authz == NULL ||
      (type != CK_ACME_CHAL_HTTP01 && type != CK_ACME_CHAL_DNS01 &&
       type != CK_ACME_CHAL_TLSALPN01))
    return ck__acme_vfail(res, CK_ERR_INVAL, "serverInternal",
                          "validator called without a challenge");
  if (type == CK_ACME_CHAL_DNS01 && strncmp(id, "*.", 2) == 0)
    id += 2;
  if (clean_name(id, name, sizeof name) != 0)
    return ck__acme_vfail(res, CK_ERR_INVAL, "rejectedIdentifier",
                          "'%s' is not a DNS name this server validates",
                          identifier);
  /* key authorization: token "." base64url(thumbprint) */
  dot = strchr(key_authz, '.');
  if (dot == NULL || strlen(key_authz) > 1024)
    return ck__acme_vfail(res, CK_ERR_INVAL, "malformed",
                          "malformed key authorization");
  if (type == CK_ACME_CHAL_HTTP01 && (token == NULL || !is_b64url(token, 256)))
    return ck__acme_vfail(res, CK_ERR_INVAL, "malformed",
                          "the challenge token is not base64url");
  for (attempt = 1; attempt <= v->o.attempts; attempt++) {
    uint64_t deadline = ck_clock_mono_ms() + (uint64_t)v->o.timeout_ms;
    memset(res, 0, sizeof *res);
    if (type == CK_ACME_CHAL_HTTP01)
      rc = ck__acme_http01(v, name, token, key_authz, deadline, res);
    else if (type == CK_ACME_CHAL_DNS01)
      rc = ck__acme_dns01(v, name, key_authz, deadline, res);
    else
      rc = ck__acme_tlsalpn01(v, name, key_authz, deadline, res);
    if (rc == CK_OK)
      break;
    ck_log(CK_LOG_OPS, CK_LOG_INFO, "acme.validate.attempt",
           CK_S("type", type_name(type)), CK_S("identifier", name),
           CK_I("attempt", attempt), CK_S("problem", res->problem),
           CK_S("detail", res->detail));
    if (rc == CK_ERR_INVAL || rc == CK_ERR_NOMEM)
      break; /* nothing a retry could change */
    if (attempt < v->o.attempts && v->o.retry_delay_ms > 0)
      pause_ms(v->o.retry_delay_ms);
  }
  res->rc = rc;
  if (rc == CK_OK) {
    res->problem[0] = '\0';
    res->detail[0] = '\0';
  }
  return rc;
}
