/* est_http.c — HTTP/1.1 response parsing, base64, Retry-After and status
 * meanings for the agent's EST client (see est_http.h). Everything here
 * reads untrusted bytes from the network: every index is bounded by the
 * length given, nothing is NUL-terminated on the way in. */
#include "agent/link/est_http.h"

#include <stdlib.h>
#include <string.h>

#include "common/crypto/pkcs7.h"

#define CK__RA_MAX (30 * 86400) /* Retry-After cap */

static int ck__lc(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Case-insensitive compare of n bytes of a against the NUL-terminated b,
 * which must have exactly n characters. */
static int ck__ieq(const char *a, size_t n, const char *b) {
  size_t i;

  if (strlen(b) != n)
    return 0;
  for (i = 0; i < n; i++)
    if (ck__lc((unsigned char)a[i]) != ck__lc((unsigned char)b[i]))
      return 0;
  return 1;
}

static void ck__trim(const char **s, size_t *n) {
  while (*n > 0 && (**s == ' ' || **s == '\t')) {
    (*s)++;
    (*n)--;
  }
  while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
    (*n)--;
}

/* Parses a decimal number of at most 18 digits (no sign). -1 if not. */
static int64_t ck__num(const char *s, size_t n) {
  int64_t v = 0;
  size_t i;

  if (n == 0 || n > 18)
    return -1;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t ck__days(int64_t y, int64_t m, int64_t d) {
  int64_t era, yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int64_t ck_est_retry_after(const char *v, size_t n, int64_t now) {
  static const char *const mon[12] = {"Jan", "Feb", "Mar", "Apr",
                                      "May", "Jun", "Jul", "Aug",
                                      "Sep", "Oct", "Nov", "Dec"};
  int64_t s, day, year, hh, mm, ss, at;
  int m = -1, i;

  ck__trim(&v, &n);
  if ((s = ck__num(v, n)) >= 0)
    return s > CK__RA_MAX ? CK__RA_MAX : s;
  /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (29 characters) */
  if (n != 29 || v[3] != ',' || v[4] != ' ' || v[7] != ' ' || v[11] != ' ' ||
      v[16] != ' ' || v[19] != ':' || v[22] != ':' || v[25] != ' ' ||
      memcmp(v + 26, "GMT", 3) != 0)
    return -1;
  for (i = 0; i < 12; i++)
    if (memcmp(v + 8, mon[i], 3) == 0)
      m = i + 1;
  day = ck__num(v + 5, 2);
  year = ck__num(v + 12, 4);
  hh = ck__num(v + 17, 2);
  mm = ck__num(v + 20, 2);
  ss = ck__num(v + 23, 2);
  if (m < 0 || day < 1 || day > 31 || year < 1970 || hh < 0 || hh > 23 ||
      mm < 0 || mm > 59 || ss < 0 || ss > 60)
    return -1;
  at = ck__days(year, m, day) * 86400 + hh * 3600 + mm * 60 + ss;
  if (at <= now)
    return 0;
  return at - now > CK__RA_MAX ? CK__RA_MAX : at - now;
}

/* Content-Type: "application/pkcs7-mime; smime-type=certs-only". */
static void ck__content_type(ck_est_resp *r, const char *v, size_t n) {
  size_t i = 0, k = 0;

  while (i < n && v[i] != ';') {
    if (v[i] != ' ' && v[i] != '\t' && k + 1 < sizeof r->content_type)
      r->content_type[k++] = (char)ck__lc((unsigned char)v[i]);
    i++;
  }
  r->content_type[k] = '\0';
  while (i < n) { /* parameters */
    size_t ns, ne, vs, ve;

    i++; /* ';' */
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
      i++;
    ns = i;
    while (i < n && v[i] != '=' && v[i] != ';')
      i++;
    ne = i;
    if (i >= n || v[i] != '=')
      continue;
    i++;
    if (i < n && v[i] == '"')
      i++;
    vs = i;
    while (i < n && v[i] != ';' && v[i] != '"')
      i++;
    ve = i;
    while (i < n && v[i] != ';')
      i++;
    while (ne > ns && (v[ne - 1] == ' ' || v[ne - 1] == '\t'))
      ne--;
    if (ck__ieq(v + ns, ne - ns, "smime-type")) {
      size_t j;
      for (k = 0, j = vs; j < ve && k + 1 < sizeof r->smime_type; j++)
        if (v[j] != ' ' && v[j] != '\t')
          r->smime_type[k++] = (char)ck__lc((unsigned char)v[j]);
      r->smime_type[k] = '\0';
    }
  }
}

/* One header line (without CRLF). Returns 0, or -1 when malformed. */
static int ck__header(ck_est_resp *r, const char *l, size_t n, int64_t now) {
  const char *colon = memchr(l, ':', n);
  const char *name = l, *v;
  size_t nn, vn;

  if (colon == NULL || colon == l)
    return -1;
  nn = (size_t)(colon - l);
  if (memchr(name, ' ', nn) != NULL || memchr(name, '\t', nn) != NULL)
    return -1;
  v = colon + 1;
  vn = n - nn - 1;
  ck__trim(&v, &vn);
  if (ck__ieq(name, nn, "content-length")) {
    int64_t cl = ck__num(v, vn);
    if (cl < 0 || (r->content_length >= 0 && r->content_length != cl))
      return -1;
    r->content_length = cl;
  } else if (ck__ieq(name, nn, "transfer-encoding")) {
    if (!ck__ieq(v, vn, "chunked"))
      return -1; /* nothing else is sent to us */
    r->chunked = 1;
  } else if (ck__ieq(name, nn, "content-type")) {
    ck__content_type(r, v, vn);
  } else if (ck__ieq(name, nn, "content-transfer-encoding")) {
    r->b64 = ck__ieq(v, vn, "base64");
  } else if (ck__ieq(name, nn, "retry-after")) {
    r->retry_after = ck_est_retry_after(v, vn, now);
  }
  return 0;
}

/* De-chunks body[0..n). Returns CK_OK (complete, r->owned set),
 * CK_ERR_AGAIN or CK_ERR_HTTP_PARSE. */
static ck_err ck__dechunk(ck_est_resp *r, const uint8_t *b, size_t n,
                          ck_errctx *err) {
  size_t pos = 0, out = 0;
  uint8_t *buf = malloc(n + 1);

  if (buf == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  for (;;) {
    size_t size = 0, digits = 0;
    const uint8_t *eol;

    eol = memchr(b + pos, '\n', n - pos);
    if (eol == NULL)
      goto again;
    while (pos < (size_t)(eol - b)) {
      int c = ck__lc(b[pos]), d;
      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else
        break;
      if (++digits > 7)
        goto bad;
      size = size * 16 + (size_t)d;
      pos++;
    }
    if (digits == 0)
      goto bad;
    pos = (size_t)(eol - b) + 1; /* chunk extensions skipped */
    if (size == 0) {             /* trailers up to an empty line */
      for (;;) {
        eol = memchr(b + pos, '\n', n - pos);
        if (eol == NULL)
          goto again;
        if ((size_t)(eol - b) == pos ||
            ((size_t)(eol - b) == pos + 1 && b[pos] == '\r'))
          break;
        pos = (size_t)(eol - b) + 1;
      }
      r->owned = buf;
      r->body = buf;
      r->body_len = out;
      return CK_OK;
    }
    if (n - pos < size + 2)
      goto again;
    memcpy(buf + out, b + pos, size);
    out += size;
    pos += size;
    if (b[pos] == '\r')
      pos++;
    if (pos >= n || b[pos] != '\n')
      goto bad;
    pos++;
  }
again:
  free(buf);
  return CK_ERR_AGAIN;
bad:
  free(buf);
  return ck_failf(err, CK_ERR_HTTP_PARSE, "malformed chunked body");
}

ck_err ck_est_resp_parse(const uint8_t *buf, size_t len, int eof, int64_t now,
                         ck_est_resp *r, ck_errctx *err) {
  const char *s = (const char *)buf;
  size_t pos, head_end = 0, i;
  ck_err rc = CK_OK;
  int64_t st;

  memset(r, 0, sizeof *r);
  r->retry_after = -1;
  r->content_length = -1;
  if (len > CK_EST_RESP_MAX) {
    rc = ck_failf(err, CK_ERR_LIMIT, "response larger than %u bytes",
                  CK_EST_RESP_MAX);
    goto out;
  }
  /* end of the head: the first empty line */
  for (i = 0; i < len; i++) {
    if (buf[i] != '\n')
      continue;
    if (i + 1 < len && buf[i + 1] == '\n') {
      head_end = i + 2;
      break;
    }
    if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
      head_end = i + 3;
      break;
    }
  }
  if (head_end == 0) {
    if (len > CK_EST_HEAD_MAX)
      rc = ck_failf(err, CK_ERR_LIMIT, "response headers larger than %u bytes",
                    CK_EST_HEAD_MAX);
    else if (eof)
      rc = ck_failf(err, CK_ERR_HTTP_PARSE,
                    len == 0 ? "the server closed the connection without "
                               "answering"
                             : "the response ended inside its headers");
    else
      rc = CK_ERR_AGAIN;
    goto out;
  }
  if (head_end > CK_EST_HEAD_MAX) {
    rc = ck_failf(err, CK_ERR_LIMIT, "response headers larger than %u bytes",
                  CK_EST_HEAD_MAX);
    goto out;
  }
  /* status line: HTTP/1.x SP 3DIGIT [SP reason] */
  if (head_end < 13 || memcmp(s, "HTTP/1.", 7) != 0 ||
      (s[7] != '0' && s[7] != '1') || s[8] != ' ' ||
      (st = ck__num(s + 9, 3)) < 100 || st > 599 ||
      (s[12] != ' ' && s[12] != '\r' && s[12] != '\n')) {
    rc = ck_failf(err, CK_ERR_HTTP_PARSE, "not an HTTP/1.x status line");
    goto out;
  }
  r->status = (int)st;
  pos = (size_t)((const uint8_t *)memchr(buf, '\n', len) - buf) + 1;
  while (pos < head_end) {
    const uint8_t *eol = memchr(buf + pos, '\n', head_end - pos);
    size_t n = (size_t)(eol - buf) - pos;

    if (n > 0 && s[pos + n - 1] == '\r')
      n--;
    if (n == 0)
      break;
    if (s[pos] == ' ' || s[pos] == '\t' ||
        ck__header(r, s + pos, n, now) != 0) {
      rc = ck_failf(err, CK_ERR_HTTP_PARSE, "malformed response header");
      goto out;
    }
    pos = (size_t)(eol - buf) + 1;
  }
  /* body */
  if (r->status < 200 || r->status == 204 || r->status == 304) {
    r->body = buf + head_end;
    r->body_len = 0;
  } else if (r->chunked) {
    rc = ck__dechunk(r, buf + head_end, len - head_end, err);
    if (rc == CK_ERR_AGAIN && eof)
      rc = ck_failf(err, CK_ERR_HTTP_PARSE, "the response body was cut short");
  } else if (r->content_length >= 0) {
    if ((uint64_t)(len - head_end) < (uint64_t)r->content_length)
      rc = eof ? ck_failf(err, CK_ERR_HTTP_PARSE,
                          "the response body was cut short")
               : CK_ERR_AGAIN;
    r->body = buf + head_end;
    r->body_len = (size_t)r->content_length;
  } else if (!eof) {
    rc = CK_ERR_AGAIN; /* delimited by the end of the connection */
  } else {
    r->body = buf + head_end;
    r->body_len = len - head_end;
  }
out:
  if (rc != CK_OK) {
    ck_est_resp_clear(r);
    r->retry_after = -1;
    r->content_length = -1;
  }
  return rc;
}

void ck_est_resp_clear(ck_est_resp *r) {
  if (r == NULL)
    return;
  free(r->owned);
  memset(r, 0, sizeof *r);
}

/* ---- certificates ----------------------------------------------------------- */

ck_err ck_est_resp_certs(const ck_est_resp *r, ck_cert_list *list,
                         ck_errctx *err) {
  uint8_t *der = NULL;
  size_t der_len = 0, before = list->n;
  ck_err rc;

  if (strcmp(r->content_type, "application/pkcs7-mime") != 0 &&
      strcmp(r->content_type, "application/x-pkcs7-mime") != 0) {
    rc = ck_failf(err, CK_ERR_UNSUPPORTED,
                  "the answer is '%s', not application/pkcs7-mime",
                  r->content_type[0] ? r->content_type : "(no content type)");
    goto out;
  }
  if (r->smime_type[0] != '\0' && strcmp(r->smime_type, "certs-only") != 0) {
    rc = ck_failf(err, CK_ERR_UNSUPPORTED,
                  "the answer is smime-type=%s, not certs-only", r->smime_type);
    goto out;
  }
  if (r->body_len > 0 && r->body[0] == 0x30 && !r->b64) {
    rc = ck_pkcs7_certs_only_parse_list(r->body, r->body_len, list, err);
  } else {
    if ((rc = ck_b64_decode(r->body, r->body_len, &der, &der_len, err)) !=
        CK_OK)
      goto out;
    rc = ck_pkcs7_certs_only_parse_list(der, der_len, list, err);
  }
  if (rc == CK_OK && list->n == before)
    rc = ck_failf(err, CK_ERR_PARSE, "the answer holds no certificate");
out:
  if (rc != CK_OK)
    ck_failf(err, rc, "EST answer");
  free(der);
  return rc;
}

/* ---- statuses ------------------------------------------------------------------ */

ck_err ck_est_status_err(int status, const char **hint) {
  const char *h = "";
  ck_err rc;

  switch (status) {
  case 200:
    rc = CK_OK;
    break;
  case 202:
    rc = CK_ERR_AGAIN;
    h = "the request is pending (e.g. manual approval); asking again after "
        "Retry-After";
    break;
  case 429:
  case 503:
    rc = CK_ERR_AGAIN;
    h = "the server is busy or rate-limits this device; retrying later";
    break;
  case 400:
    rc = CK_ERR_PARSE;
    h = "the server found the request malformed (content type, base64 or "
        "CSR)";
    break;
  case 401:
    rc = CK_ERR_AUTH;
    h = "authentication failed: check the fleet name and secret_file (or "
        "the one-time password), or the client certificate";
    break;
  case 403:
    rc = CK_ERR_DENIED;
    h = "refused by policy: the subject is outside the fleet's pattern, or "
        "a re-enrollment did not present the certificate it renews";
    break;
  case 404:
    rc = CK_ERR_NOT_FOUND;
    h = "no such EST service: check the URL and its label";
    break;
  case 405:
  case 415:
  case 501:
    rc = CK_ERR_UNSUPPORTED;
    h = "the server does not support this EST operation or content type";
    break;
  case 409:
    rc = CK_ERR_CONFLICT;
    h = "conflicts with the server's state";
    break;
  case 413:
    rc = CK_ERR_LIMIT;
    h = "the request is too large for the server";
    break;
  default:
    if (status >= 500 && status <= 599) {
      rc = CK_ERR_INTERNAL;
      h = "the server failed; see its log";
    } else {
      rc = CK_ERR_HTTP_PARSE;
      h = "unexpected HTTP status for EST";
    }
    break;
  }
  if (hint != NULL)
    *hint = h;
  return rc;
}

void ck_est_body_excerpt(const uint8_t *body, size_t len, char *out,
                         size_t cap) {
  size_t i, k = 0;

  if (cap == 0)
    return;
  for (i = 0; i < len && k + 1 < cap; i++) {
    int c = body[i];
    if (c == '\r' || c == '\n') {
      if (k > 0)
        break;
      continue;
    }
    out[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
  }
  while (k > 0 && out[k - 1] == ' ')
    k--;
  out[k] = '\0';
}
