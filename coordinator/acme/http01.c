/* http01.c — the http-01 challenge (RFC 8555 section 8.3): GET
 * http://<name>/.well-known/acme-challenge/<token> on the configured port
 * (80, or the --acme-http01-port test override), following up to 10
 * redirects to http or https URLs on the standard ports (80 -> the http-01
 * port, 443 -> the tls-alpn-01 port; https certificates are not verified,
 * section 10.2), and comparing the body, with surrounding whitespace
 * trimmed, to the key authorization. Responses are parsed by
 * http01_parse.c with head and body limits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/mem.h"
#include "coordinator/acme/http01.h"
#include "coordinator/acme/validate_int.h"

#define MAX_REDIRECTS 10
#define RX_CAP (CK_ACME_HTTP_MAX_HEAD + CK_ACME_HTTP_MAX_BODY + 1024)

/* "http://host[:port]/path" as the client would write it, for details. */
static void url_text(const ck_acme_url *u, int port, char *buf, size_t len) {
  int std = u->https ? 443 : 80;

  if (port == std)
    snprintf(buf, len, "%s://%s%s", u->https ? "https" : "http", u->host,
             u->path);
  else
    snprintf(buf, len, "%s://%s:%d%s", u->https ? "https" : "http", u->host,
             port, u->path);
}

/* Printable excerpt of bytes for a problem detail. */
static void excerpt(const uint8_t *p, size_t n, char *out, size_t cap) {
  size_t o = 0;

  for (size_t i = 0; i < n && o + 5 < cap; i++) {
    if (i >= 100) {
      snprintf(out + o, cap - o, "...");
      return;
    }
    if (p[i] >= 0x20 && p[i] < 0x7F && p[i] != '"' && p[i] != '\\')
      out[o++] = (char)p[i];
    else
      o += (size_t)snprintf(out + o, cap - o, "\\x%02x", (unsigned)p[i]);
  }
  out[o] = '\0';
}

static int is_ws(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* One GET of u: connects to the first reachable address of u->host, sends
 * the request and reads the response into *resp / body. */
static ck_err fetch(const ck_acme_validator *v, const ck_acme_url *u,
                    uint64_t deadline, uint8_t *rx, uint8_t *body,
                    ck_acme_http_resp *resp, ck_acme_validation *res) {
  int port = u->https ? v->o.tlsalpn01_port : v->o.http01_port;
  ck__acme_addrs addrs;
  ck__acme_vconn c = {.fd = -1, .tls = NULL, .eof = 0};
  ck_errctx err = CK_ERRCTX_INIT;
  char req[CK_ACME_HTTP_MAX_URL + 512], where[CK_ACME_HTTP_MAX_URL + 300];
  size_t have = 0, n;
  int reqlen;
  ck_err rc;

  url_text(u, port, where, sizeof where);
  rc = ck__acme_lookup_addrs(v, u->host, deadline, &addrs, res);
  if (rc != CK_OK)
    return rc;
  rc = CK_ERR_NET;
  for (size_t i = 0; i < addrs.n && rc != CK_OK; i++) {
    rc = ck__acme_vconn_open(&c, &addrs.a[i], port, deadline, res);
    if (rc == CK_ERR_TIMEOUT)
      break; /* the attempt's time is gone */
  }
  if (rc != CK_OK) {
    char detail[sizeof res->detail];
    ck_strlcpy(detail, res->detail, sizeof detail);
    return ck__acme_vfail(res, rc, "connection", "fetching %s: %s", where,
                          detail);
  }
  if (u->https) {
    rc = ck__acme_vconn_tls(&c, v->https_ctx, u->host, deadline, &err);
    if (rc != CK_OK) {
      ck__acme_vfail(res, rc, rc == CK_ERR_TIMEOUT ? "connection" : "tls",
                     "fetching %s: %s", where, ck_errctx_msg(&err));
      goto out;
    }
  }
  reqlen = snprintf(req, sizeof req,
                    "GET %s HTTP/1.1\r\nHost: %s\r\n"
                    "User-Agent: certkeeper-acme-validator\r\n"
                    "Accept: */*\r\nConnection: close\r\n\r\n",
                    u->path, u->host);
  if (reqlen < 0 || (size_t)reqlen >= sizeof req) {
    rc = ck__acme_vfail(res, CK_ERR_INVAL, "malformed", "URL too long");
    goto out;
  }
  rc = ck__acme_vconn_write(&c, req, (size_t)reqlen, deadline, &err);
  for (int guard = 0; rc == CK_OK && guard < 100000; guard++) {
    int eof = 0;
    rc = ck__acme_vconn_read(&c, rx + have, RX_CAP - have, &n, deadline, &err);
    if (rc == CK_ERR_CLOSED) {
      eof = 1;
      n = 0;
    } else if (rc != CK_OK) {
      break;
    }
    have += n;
    rc = ck_acme_http_resp_parse(rx, have, eof, body, CK_ACME_HTTP_MAX_BODY,
                                 resp);
    if (rc == CK_ERR_AGAIN && have < RX_CAP) {
      rc = CK_OK;
      continue;
    }
    if (rc == CK_ERR_AGAIN)
      rc = CK_ERR_LIMIT;
    if (rc == CK_ERR_LIMIT) {
      ck__acme_vfail(res, rc, "unauthorized",
                     "Invalid response from %s: the response is larger than "
                     "%d bytes",
                     where, CK_ACME_HTTP_MAX_BODY);
      goto out;
    }
    if (rc != CK_OK) {
      ck__acme_vfail(res, rc, "unauthorized",
                     "Invalid response from %s: malformed HTTP response",
                     where);
      goto out;
    }
    goto out; /* complete */
  }
  if (rc == CK_ERR_TIMEOUT)
    ck__acme_vfail(res, rc, "connection",
                   "fetching %s: timeout after connecting (the server sent "
                   "no complete response)",
                   where);
  else if (rc != CK_OK)
    ck__acme_vfail(res, rc, "connection", "fetching %s: %s", where,
                   ck_errctx_msg(&err));
out:
  ck__acme_vconn_close(&c);
  return rc;
}

ck_err ck__acme_http01(const ck_acme_validator *v, const char *identifier,
                       const char *token, const char *key_authz,
                       uint64_t deadline, ck_acme_validation *res) {
  ck_acme_url url, next;
  ck_acme_http_resp resp;
  uint8_t *rx = malloc(RX_CAP), *body = malloc(CK_ACME_HTTP_MAX_BODY);
  char where[CK_ACME_HTTP_MAX_URL + 300], got[520];
  const uint8_t *b;
  size_t blen;
  ck_err rc;

  if (rx == NULL || body == NULL) {
    rc = ck__acme_vfail(res, CK_ERR_NOMEM, "serverInternal", "out of memory");
    goto out;
  }
  memset(&url, 0, sizeof url);
  ck_strlcpy(url.host, identifier, sizeof url.host);
  snprintf(url.path, sizeof url.path, "/.well-known/acme-challenge/%s", token);
  for (int hop = 0;; hop++) {
    rc = fetch(v, &url, deadline, rx, body, &resp, res);
    if (rc != CK_OK)
      goto out;
    url_text(&url, url.https ? v->o.tlsalpn01_port : v->o.http01_port, where,
             sizeof where);
    if (resp.status == 301 || resp.status == 302 || resp.status == 303 ||
        resp.status == 307 || resp.status == 308) {
      ck_err urc;
      if (hop >= MAX_REDIRECTS) {
        rc = ck__acme_vfail(res, CK_ERR_LIMIT, "connection",
                            "fetching %s: too many redirects (more than %d)",
                            where, MAX_REDIRECTS);
        goto out;
      }
      if (resp.location[0] == '\0') {
        rc = ck__acme_vfail(res, CK_ERR_PARSE, "connection",
                            "fetching %s: HTTP %d redirect without a "
                            "Location",
                            where, resp.status);
        goto out;
      }
      urc = ck_acme_url_resolve(&url, resp.location, &next);
      if (urc != CK_OK) {
        excerpt((const uint8_t *)resp.location, strlen(resp.location), got,
                sizeof got);
        rc = ck__acme_vfail(
            res, urc, "connection",
            "fetching %s: redirect to \"%s\" refused: only http and https "
            "URLs with a DNS name are followed",
            where, got);
        goto out;
      }
      if (next.port != 0 && next.port != (next.https ? 443 : 80)) {
        rc = ck__acme_vfail(res, CK_ERR_DENIED, "connection",
                            "fetching %s: redirect to port %d refused: only "
                            "ports 80 (http) and 443 (https) are followed",
                            where, next.port);
        goto out;
      }
      next.port = 0;
      url = next;
      continue;
    }
    if (resp.status != 200) {
      rc = ck__acme_vfail(res, CK_ERR_DENIED, "unauthorized",
                          "Invalid response from %s [%s]: HTTP %d", where,
                          res->address, resp.status);
      goto out;
    }
    break;
  }
  b = body;
  blen = resp.body_len;
  while (blen > 0 && is_ws(b[0])) {
    b++;
    blen--;
  }
  while (blen > 0 && is_ws(b[blen - 1]))
    blen--;
  if (blen != strlen(key_authz) || !ck_ct_equal(b, key_authz, blen)) {
    excerpt(b, blen, got, sizeof got);
    rc = ck__acme_vfail(res, CK_ERR_DENIED, "incorrectResponse",
                        "The key authorization file from %s [%s] does not "
                        "match this challenge: expected \"%s\", got \"%s\"",
                        where, res->address, key_authz, got);
    goto out;
  }
  rc = CK_OK;
out:
  free(rx);
  free(body);
  return rc;
}
