/* upstream_http.c — the HTTPS transport of the upstream ACME connector: one
 * libcurl easy handle per order (connections are reused within it), HTTPS
 * only, no redirects, bounded answers, per-request and per-order time
 * limits, and the three headers ACME needs (Location, Replay-Nonce,
 * Retry-After). Blocking: called on a worker thread only. */
#include "coordinator/ca/upstream_acme_int.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "common/util/clock.h"

#define REQUEST_TIMEOUT_MS 30000
#define CONNECT_TIMEOUT_MS 10000

struct ck__acme_http {
  CURL *curl;
  char *ca_bundle; /* "" = system store */
  uint64_t deadline_ms;
};

static uv_once_t g_once = UV_ONCE_INIT;
static int g_curl_ok;

static void global_init(void) {
  g_curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

void ck__acme_resp_clear(ck__acme_resp *r) {
  if (r == NULL)
    return;
  free(r->body);
  memset(r, 0, sizeof *r);
}

ck_err ck__acme_http_new(const char *ca_bundle, uint64_t deadline_ms,
                         ck__acme_http **out, ck_errctx *err) {
  ck__acme_http *h;

  *out = NULL;
  uv_once(&g_once, global_init);
  if (!g_curl_ok)
    return ck_failf(err, CK_ERR_INTERNAL, "libcurl failed to initialise");
  if ((h = calloc(1, sizeof *h)) == NULL ||
      (h->ca_bundle = strdup(ca_bundle != NULL ? ca_bundle : "")) == NULL ||
      (h->curl = curl_easy_init()) == NULL) {
    ck__acme_http_free(h);
    return ck_failf(err, CK_ERR_NOMEM, "libcurl handle");
  }
  h->deadline_ms = deadline_ms;
  *out = h;
  return CK_OK;
}

void ck__acme_http_free(ck__acme_http *h) {
  if (h == NULL)
    return;
  if (h->curl != NULL)
    curl_easy_cleanup(h->curl);
  free(h->ca_bundle);
  free(h);
}

typedef struct sink {
  ck__acme_resp *r;
  size_t cap;
  int over; /* the answer passed CK_ACME_BODY_MAX */
} sink;

static size_t on_body(char *p, size_t size, size_t n, void *arg) {
  sink *s = arg;
  size_t len = size * n;

  if (s->r->len + len > CK_ACME_BODY_MAX) {
    s->over = 1;
    return 0; /* aborts the transfer */
  }
  if (s->r->len + len + 1 > s->cap) {
    size_t cap = s->cap ? s->cap : 4096;
    char *b;
    while (cap < s->r->len + len + 1)
      cap *= 2;
    if ((b = realloc(s->r->body, cap)) == NULL)
      return 0;
    s->r->body = b;
    s->cap = cap;
  }
  memcpy(s->r->body + s->r->len, p, len);
  s->r->len += len;
  s->r->body[s->r->len] = '\0';
  return len;
}

/* Copies the value of header line "Name: value\r\n" into dst when the
 * name matches. */
static void header_value(const char *line, size_t len, const char *name,
                         char *dst, size_t dlen) {
  size_t nl = strlen(name), i, k = 0;

  if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
    return;
  for (i = nl + 1; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
    ;
  while (i < len && line[i] != '\r' && line[i] != '\n' && k + 1 < dlen)
    dst[k++] = line[i++];
  dst[k] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *arg) {
  ck__acme_resp *r = arg;
  size_t len = size * n;

  if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
    /* a new response (after 100 Continue): forget earlier headers */
    r->location[0] = r->nonce[0] = r->retry_after[0] = r->content_type[0] = '\0';
    return len;
  }
  header_value(p, len, "Location", r->location, sizeof r->location);
  header_value(p, len, "Replay-Nonce", r->nonce, sizeof r->nonce);
  header_value(p, len, "Retry-After", r->retry_after, sizeof r->retry_after);
  header_value(p, len, "Content-Type", r->content_type, sizeof r->content_type);
  return len;
}

ck_err ck__acme_http_do(ck__acme_http *h, const char *method, const char *url,
                        const char *body, const char *accept,
                        ck__acme_resp *resp, ck_errctx *err) {
  struct curl_slist *hdrs = NULL;
  char errbuf[CURL_ERROR_SIZE], hb[160];
  uint64_t now = ck_clock_mono_ms();
  long timeout;
  sink s;
  CURLcode cc;
  ck_err rc = CK_OK;
  CURL *c = h->curl;

  ck__acme_resp_clear(resp);
  if (now >= h->deadline_ms)
    return ck_failf(err, CK_ERR_TIMEOUT, "order time limit reached before %s %s",
                    method, url);
  timeout = (long)(h->deadline_ms - now);
  if (timeout > REQUEST_TIMEOUT_MS)
    timeout = REQUEST_TIMEOUT_MS;
  memset(&s, 0, sizeof s);
  s.r = resp;
  errbuf[0] = '\0';
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   timeout < CONNECT_TIMEOUT_MS ? timeout : (long)CONNECT_TIMEOUT_MS);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (h->ca_bundle[0] != '\0')
    curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_bundle);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "certkeeper-upstream-acme/1");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CK_ACME_BODY_MAX);
  if (accept != NULL) {
    snprintf(hb, sizeof hb, "Accept: %s", accept);
    hdrs = curl_slist_append(hdrs, hb);
  }
  if (strcmp(method, "POST") == 0) {
    hdrs = curl_slist_append(hdrs, "Content-Type: application/jose+json");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body != NULL ? body : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)(body != NULL ? strlen(body) : 0));
  } else if (strcmp(method, "HEAD") == 0) {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  }
  hdrs = curl_slist_append(hdrs, "Expect:");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  cc = curl_easy_perform(c);
  if (s.over) {
    rc = ck_failf(err, CK_ERR_LIMIT, "answer from %s is larger than %d bytes",
                  url, CK_ACME_BODY_MAX);
  } else if (cc == CURLE_OPERATION_TIMEDOUT) {
    rc = ck_failf(err, CK_ERR_TIMEOUT, "%s %s timed out", method, url);
  } else if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CONNECT_ERROR ||
             cc == CURLE_SSL_CACERT_BADFILE || cc == CURLE_SSL_CERTPROBLEM) {
    rc = ck_failf(err, CK_ERR_TLS, "TLS with %s failed: %s", url,
                  errbuf[0] ? errbuf : curl_easy_strerror(cc));
  } else if (cc != CURLE_OK) {
    rc = ck_failf(err, CK_ERR_NET, "%s %s failed: %s", method, url,
                  errbuf[0] ? errbuf : curl_easy_strerror(cc));
  } else {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    if (resp->body == NULL && (resp->body = calloc(1, 1)) == NULL)
      rc = ck_failf(err, CK_ERR_NOMEM, "upstream ACME answer");
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
  curl_slist_free_all(hdrs);
  if (rc != CK_OK)
    ck__acme_resp_clear(resp);
  return rc;
}
