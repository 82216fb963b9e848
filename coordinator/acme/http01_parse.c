/* http01_parse.c — parsing what a challenged host sends back to the
 * http-01 validator (an HTTP/1.x response) and the redirect URLs it may
 * point to (see http01.h). Strict where ambiguity could be abused
 * (conflicting Content-Length, unknown transfer codings, folded headers),
 * bounded everywhere. */
#include "coordinator/acme/http01.h"

#include <string.h>

#include "common/util/mem.h"

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

static int ieq(const char *a, size_t alen, const char *b) {
  size_t blen = strlen(b);

  if (alen != blen)
    return 0;
  for (size_t i = 0; i < alen; i++)
    if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
      return 0;
  return 1;
}

static int is_ows(char c) { return c == ' ' || c == '\t'; }

/* Offset just past the blank line ending the head, or 0 if not there. */
static size_t head_end(const uint8_t *buf, size_t len) {
  for (size_t i = 0; i + 1 < len; i++) {
    if (buf[i] != '\n')
      continue;
    if (buf[i + 1] == '\n')
      return i + 2;
    if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
      return i + 3;
  }
  return 0;
}

/* The next line of [*p, end) without its CRLF/LF; 0 when no full line. */
static int next_line(const char *s, size_t end, size_t *p, const char **line,
                     size_t *llen) {
  const char *nl = memchr(s + *p, '\n', end - *p);

  if (nl == NULL)
    return 0;
  *line = s + *p;
  *llen = (size_t)(nl - *line);
  if (*llen > 0 && (*line)[*llen - 1] == '\r')
    (*llen)--;
  *p = (size_t)(nl - s) + 1;
  return 1;
}

static ck_err parse_status(const char *l, size_t n, int *status) {
  if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || (l[7] != '0' && l[7] != '1') ||
      l[8] != ' ')
    return CK_ERR_PARSE;
  for (int i = 9; i < 12; i++)
    if (l[i] < '0' || l[i] > '9')
      return CK_ERR_PARSE;
  if (n > 12 && l[12] != ' ')
    return CK_ERR_PARSE;
  *status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
  return *status >= 100 ? CK_OK : CK_ERR_PARSE;
}

static ck_err parse_uint(const char *v, size_t n, int hex, size_t *out) {
  size_t x = 0;

  if (n == 0 || n > 12)
    return CK_ERR_PARSE;
  for (size_t i = 0; i < n; i++) {
    int c = lower((unsigned char)v[i]), d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (hex && c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else
      return CK_ERR_PARSE;
    x = x * (hex ? 16u : 10u) + (size_t)d;
  }
  *out = x;
  return CK_OK;
}

/* Decodes a chunked body starting at buf[p]. */
static ck_err dechunk(const char *s, size_t len, size_t p, int eof,
                      uint8_t *body, size_t cap, size_t *blen) {
  const char *line;
  size_t llen, sz, o = 0;
  ck_err more = eof ? CK_ERR_PARSE : CK_ERR_AGAIN;

  for (int guard = 0; guard < 100000; guard++) {
    if (!next_line(s, len, &p, &line, &llen))
      return len - p > 64 ? CK_ERR_PARSE : more;
    for (size_t i = 0; i < llen; i++)
      if (line[i] == ';' || is_ows(line[i])) {
        llen = i;
        break;
      }
    if (parse_uint(line, llen, 1, &sz) != CK_OK)
      return CK_ERR_PARSE;
    if (sz == 0) {
      /* trailers up to the blank line */
      for (;;) {
        if (!next_line(s, len, &p, &line, &llen))
          return more;
        if (llen == 0) {
          *blen = o;
          return CK_OK;
        }
        if (len - p > CK_ACME_HTTP_MAX_HEAD)
          return CK_ERR_LIMIT;
      }
    }
    if (sz > cap - o)
      return CK_ERR_LIMIT;
    if (len - p < sz)
      return more;
    memcpy(body + o, s + p, sz);
    o += sz;
    p += sz;
    if (len - p < 1 || (s[p] == '\r' && len - p < 2))
      return more;
    if (s[p] == '\r')
      p++;
    if (s[p] != '\n')
      return CK_ERR_PARSE;
    p++;
  }
  return CK_ERR_PARSE;
}

ck_err ck_acme_http_resp_parse(const uint8_t *buf, size_t len, int eof,
                               uint8_t *body, size_t body_cap,
                               ck_acme_http_resp *out) {
  const char *s = (const char *)buf, *line;
  size_t hend = head_end(buf, len), p = 0, llen, clen = 0;
  int have_clen = 0, chunked = 0;
  ck_err rc;

  memset(out, 0, sizeof *out);
  if (hend == 0 || hend > CK_ACME_HTTP_MAX_HEAD) {
    if (hend > CK_ACME_HTTP_MAX_HEAD || len > CK_ACME_HTTP_MAX_HEAD)
      return CK_ERR_LIMIT;
    return eof ? CK_ERR_PARSE : CK_ERR_AGAIN;
  }
  next_line(s, hend, &p, &line, &llen);
  rc = parse_status(line, llen, &out->status);
  if (rc != CK_OK)
    return rc;
  while (next_line(s, hend, &p, &line, &llen) && llen > 0) {
    const char *colon = memchr(line, ':', llen), *v;
    size_t nlen, vlen;
    if (is_ows(line[0]) || colon == NULL || colon == line)
      return CK_ERR_PARSE; /* folding, or not a field */
    nlen = (size_t)(colon - line);
    if (is_ows(line[nlen - 1]))
      return CK_ERR_PARSE; /* RFC 9112 5.1: no space before the colon */
    v = colon + 1;
    vlen = llen - nlen - 1;
    while (vlen > 0 && is_ows(*v)) {
      v++;
      vlen--;
    }
    while (vlen > 0 && is_ows(v[vlen - 1]))
      vlen--;
    for (size_t i = 0; i < vlen; i++)
      if (v[i] == '\0')
        return CK_ERR_PARSE;
    if (ieq(line, nlen, "content-length")) {
      size_t x;
      if (parse_uint(v, vlen, 0, &x) != CK_OK || (have_clen && x != clen))
        return CK_ERR_PARSE;
      clen = x;
      have_clen = 1;
    } else if (ieq(line, nlen, "transfer-encoding")) {
      if (!ieq(v, vlen, "chunked"))
        return CK_ERR_PARSE; /* no other coding is acceptable here */
      chunked = 1;
    } else if (ieq(line, nlen, "location")) {
      if (vlen >= sizeof out->location)
        return CK_ERR_LIMIT;
      memcpy(out->location, v, vlen);
      out->location[vlen] = '\0';
    }
  }
  if (out->status != 200)
    return CK_OK; /* only a 200's body is looked at */
  if (chunked)
    return dechunk(s, len, hend, eof, body, body_cap, &out->body_len);
  if (have_clen) {
    if (clen > body_cap)
      return CK_ERR_LIMIT;
    if (len - hend < clen)
      return eof ? CK_ERR_PARSE : CK_ERR_AGAIN;
    memcpy(body, buf + hend, clen);
    out->body_len = clen;
    return CK_OK;
  }
  if (len - hend > body_cap)
    return CK_ERR_LIMIT;
  if (!eof)
    return CK_ERR_AGAIN;
  memcpy(body, buf + hend, len - hend);
  out->body_len = len - hend;
  return CK_OK;
}

/* ---- redirect URLs ------------------------------------------------------- */

static int is_ip_literal(const char *h) {
  int digits_dots = 1;

  if (h[0] == '[')
    return 1;
  for (const char *c = h; *c != '\0'; c++)
    if (!((*c >= '0' && *c <= '9') || *c == '.'))
      digits_dots = 0;
  return digits_dots;
}

/* Parses "host[:port]" of length n into out. */
static ck_err parse_authority(const char *a, size_t n, ck_acme_url *out) {
  size_t hlen = n;
  const char *colon;

  if (memchr(a, '@', n) != NULL)
    return CK_ERR_UNSUPPORTED; /* user info */
  if (n > 0 && a[0] == '[')
    return CK_ERR_UNSUPPORTED; /* IPv6 literal */
  colon = memchr(a, ':', n);
  out->port = 0;
  if (colon != NULL) {
    size_t port;
    hlen = (size_t)(colon - a);
    if (parse_uint(colon + 1, n - hlen - 1, 0, &port) != CK_OK || port == 0 ||
        port > 65535)
      return CK_ERR_PARSE;
    out->port = (int)port;
  }
  if (hlen > 0 && a[hlen - 1] == '.')
    hlen--;
  if (hlen == 0)
    return CK_ERR_PARSE;
  if (hlen >= sizeof out->host)
    return CK_ERR_LIMIT;
  for (size_t i = 0; i < hlen; i++) {
    int c = lower((unsigned char)a[i]);
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '.' || c == '_'))
      return CK_ERR_PARSE;
    out->host[i] = (char)c;
  }
  out->host[hlen] = '\0';
  if (is_ip_literal(out->host))
    return CK_ERR_UNSUPPORTED;
  return CK_OK;
}

static ck_err set_path(ck_acme_url *out, const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)p[i] <= 0x20 || p[i] == 0x7F)
      return CK_ERR_PARSE;
  if (n >= sizeof out->path)
    return CK_ERR_LIMIT;
  memcpy(out->path, p, n);
  out->path[n] = '\0';
  return CK_OK;
}

ck_err ck_acme_url_resolve(const ck_acme_url *base, const char *ref,
                           ck_acme_url *out) {
  size_t n = strlen(ref), alen;
  const char *hash = memchr(ref, '#', n), *rest, *slash;
  ck_err rc;

  if (hash != NULL)
    n = (size_t)(hash - ref);
  if (n == 0)
    return CK_ERR_PARSE;
  *out = *base;
  if (n > 7 && ieq(ref, 7, "http://")) {
    out->https = 0;
    rest = ref + 7;
  } else if (n > 8 && ieq(ref, 8, "https://")) {
    out->https = 1;
    rest = ref + 8;
  } else if (n > 2 && ref[0] == '/' && ref[1] == '/') {
    rest = ref + 2;
  } else {
    for (size_t i = 0; i < n && ref[i] != '/' && ref[i] != '?'; i++)
      if (ref[i] == ':')
        return CK_ERR_UNSUPPORTED; /* some other scheme */
    if (ref[0] == '/')
      return set_path(out, ref, n);
    /* relative path: replace the last segment of the base path */
    slash = strrchr(base->path, '/');
    alen = slash != NULL ? (size_t)(slash - base->path) + 1 : 0;
    if (alen + n >= sizeof out->path)
      return CK_ERR_LIMIT;
    memcpy(out->path, base->path, alen);
    out->path[alen] = '\0';
    rc = set_path(out, ref, n);
    if (rc != CK_OK)
      return rc;
    memmove(out->path + alen, out->path, n + 1);
    memcpy(out->path, base->path, alen);
    return CK_OK;
  }
  n -= (size_t)(rest - ref);
  alen = 0;
  while (alen < n && rest[alen] != '/' && rest[alen] != '?')
    alen++;
  rc = parse_authority(rest, alen, out);
  if (rc != CK_OK)
    return rc;
  if (alen == n)
    return set_path(out, "/", 1);
  if (rest[alen] == '?') {
    if (n - alen + 1 >= sizeof out->path)
      return CK_ERR_LIMIT;
    out->path[0] = '/';
    rc = set_path(out, rest + alen, n - alen);
    if (rc != CK_OK)
      return rc;
    memmove(out->path + 1, out->path, n - alen + 1);
    out->path[0] = '/';
    return CK_OK;
  }
  return set_path(out, rest + alen, n - alen);
}
