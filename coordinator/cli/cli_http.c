/* cli_http.c — HTTPS requests over libcurl for the CLI (cli_http.h). */
#include "coordinator/cli/cli_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/mem.h"

#ifndef CK_VERSION
#define CK_VERSION "0.0.0"
#endif

#define MAX_ANSWER (64u * 1024u * 1024u)
#define CONNECT_TIMEOUT_S 10L

struct ck_cli_http {
  CURL *curl;      /* reused: keeps the connection between requests */
  char *cacert;    /* NULL: system store */
  long timeout_s;
};

typedef struct sink {
  char *buf;
  size_t len, cap;
  int over; /* the answer passed MAX_ANSWER */
} sink;

static size_t on_data(char *p, size_t size, size_t n, void *arg) {
  sink *s = arg;
  size_t add = size * n;

  if (add > MAX_ANSWER - s->len) {
    s->over = 1;
    return 0; /* makes curl stop with CURLE_WRITE_ERROR */
  }
  if (s->len + add + 1 > s->cap) {
    size_t cap = s->cap ? s->cap : 16384;
    char *nb;
    while (cap < s->len + add + 1)
      cap *= 2;
    nb = realloc(s->buf, cap);
    if (nb == NULL)
      return 0;
    s->buf = nb;
    s->cap = cap;
  }
  memcpy(s->buf + s->len, p, add);
  s->len += add;
  s->buf[s->len] = '\0';
  return add;
}

ck_err ck_cli_http_new(const char *cacert, long timeout_s, ck_cli_http **out,
                       ck_errctx *err) {
  ck_cli_http *h = NULL;
  FILE *f;

  *out = NULL;
  if (cacert != NULL) {
    /* checked here so a typo is a local error, not a TLS failure */
    if ((f = fopen(cacert, "r")) == NULL)
      return ck_failf(err, CK_ERR_IO, "cannot read CA file %s: %s", cacert,
                      strerror(errno));
    fclose(f);
  }
  h = calloc(1, sizeof *h);
  if (h == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  h->timeout_s = timeout_s;
  if (cacert != NULL && (h->cacert = strdup(cacert)) == NULL) {
    free(h);
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  }
  if ((h->curl = curl_easy_init()) == NULL) {
    ck_cli_http_free(h);
    return ck_failf(err, CK_ERR_INTERNAL, "libcurl could not start");
  }
  *out = h;
  return CK_OK;
}

void ck_cli_http_free(ck_cli_http *h) {
  if (h == NULL)
    return;
  if (h->curl != NULL)
    curl_easy_cleanup(h->curl);
  free(h->cacert);
  free(h);
}

void ck_cli_http_resp_clear(ck_cli_http_resp *resp) {
  if (resp == NULL)
    return;
  if (resp->body != NULL) /* answers may carry a new token */
    ck_wipe(resp->body, resp->body_len);
  free(resp->body);
  memset(resp, 0, sizeof *resp);
}

/* Wipes every header copy (one holds the token) and frees the list. */
static void free_headers(struct curl_slist *l) {
  struct curl_slist *p;

  for (p = l; p != NULL; p = p->next)
    ck_wipe(p->data, strlen(p->data));
  curl_slist_free_all(l);
}

static ck_err map_curl(CURLcode rc, const char *url, const char *cacert,
                       const char *detail, ck_errctx *err) {
  const char *what = detail[0] != '\0' ? detail : curl_easy_strerror(rc);

  switch (rc) {
  case CURLE_PEER_FAILED_VERIFICATION:
    return ck_failf(err, CK_ERR_UNTRUSTED,
                    "%s: the server's certificate is not trusted (%s; trusted "
                    "CAs: %s)",
                    url, what, cacert != NULL ? cacert : "system store");
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_USE_SSL_FAILED:
    return ck_failf(err, CK_ERR_TLS, "%s: TLS failed: %s", url, what);
  case CURLE_OPERATION_TIMEDOUT:
    return ck_failf(err, CK_ERR_TIMEOUT, "%s: timed out: %s", url, what);
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT:
    return ck_failf(err, CK_ERR_NET, "%s: bad server URL: %s", url, what);
  default:
    return ck_failf(err, CK_ERR_NET, "cannot talk to %s: %s", url, what);
  }
}

ck_err ck_cli_http_do(ck_cli_http *h, const ck_cli_http_req *req,
                      ck_cli_http_resp *resp, ck_errctx *err) {
  CURL *c = h->curl;
  struct curl_slist *hdr = NULL, *n;
  char line[4200];
  char errbuf[CURL_ERROR_SIZE] = "";
  sink s = {NULL, 0, 0, 0};
  char *ctype = NULL;
  CURLcode rc;
  ck_err res = CK_OK;
  int ok = 1;

  memset(resp, 0, sizeof *resp);
  curl_easy_reset(c);
#define SET(opt, val) ok &= curl_easy_setopt(c, opt, val) == CURLE_OK
  SET(CURLOPT_URL, req->url);
  SET(CURLOPT_PROTOCOLS_STR, "https");
  SET(CURLOPT_FOLLOWLOCATION, 0L);
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_SSL_VERIFYPEER, 1L);
  SET(CURLOPT_SSL_VERIFYHOST, 2L);
  SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
  if (h->cacert != NULL) {
    /* trust exactly this file, not the system directory as well */
    SET(CURLOPT_CAINFO, h->cacert);
    SET(CURLOPT_CAPATH, NULL);
  }
  SET(CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
  SET(CURLOPT_TIMEOUT, h->timeout_s);
  SET(CURLOPT_USERAGENT, "certkeeper/" CK_VERSION);
  SET(CURLOPT_ERRORBUFFER, errbuf);
  SET(CURLOPT_WRITEFUNCTION, on_data);
  SET(CURLOPT_WRITEDATA, &s);
  SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)MAX_ANSWER);
  if (strcmp(req->method, "GET") == 0) {
    SET(CURLOPT_HTTPGET, 1L);
  } else {
    if (strcmp(req->method, "POST") != 0)
      SET(CURLOPT_CUSTOMREQUEST, req->method);
    if (req->body != NULL) {
      SET(CURLOPT_POSTFIELDS, req->body);
      SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    } else if (strcmp(req->method, "POST") == 0) {
      SET(CURLOPT_POSTFIELDS, "");
      SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
  }
#undef SET
  if (!ok) {
    res = ck_failf(err, CK_ERR_INTERNAL, "libcurl refused an option");
    goto out;
  }
  /* headers; each append is checked so the token header is never lost */
#define ADD(text)                                                              \
  do {                                                                         \
    if ((n = curl_slist_append(hdr, text)) == NULL) {                          \
      res = ck_failf(err, CK_ERR_NOMEM, "out of memory");                      \
      goto out;                                                                \
    }                                                                          \
    hdr = n;                                                                   \
  } while (0)
  ADD("Accept: application/json, application/problem+json");
  ADD("Expect:");
  if (req->body != NULL)
    ADD("Content-Type: application/json");
  if (req->if_match != NULL) {
    snprintf(line, sizeof line, "If-Match: %s", req->if_match);
    ADD(line);
  }
  if (req->token != NULL) {
    if (strlen(req->token) + 32 > sizeof line) {
      res = ck_failf(err, CK_ERR_INVAL, "API token too long");
      goto out;
    }
    snprintf(line, sizeof line, "Authorization: Bearer %s", req->token);
    ADD(line);
    ck_wipe(line, sizeof line);
  }
#undef ADD
  if (curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr) != CURLE_OK) {
    res = ck_failf(err, CK_ERR_INTERNAL, "libcurl refused the headers");
    goto out;
  }
  rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    if (s.over || rc == CURLE_FILESIZE_EXCEEDED)
      res = ck_failf(err, CK_ERR_LIMIT, "%s: the answer is larger than %u MiB",
                     req->url, MAX_ANSWER / (1024u * 1024u));
    else
      res = map_curl(rc, req->url, h->cacert, errbuf, err);
    goto out;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
  if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK &&
      ctype != NULL)
    snprintf(resp->content_type, sizeof resp->content_type, "%s", ctype);
  if (s.buf == NULL && (s.buf = calloc(1, 1)) == NULL) {
    res = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  resp->body = s.buf;
  resp->body_len = s.len;
  s.buf = NULL;
out:
  ck_wipe(line, sizeof line);
  /* the handle keeps a pointer to the list: detach before freeing it */
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
  free_headers(hdr);
  free(s.buf);
  if (res != CK_OK)
    memset(resp, 0, sizeof *resp);
  return res;
}
