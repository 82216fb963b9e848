/* listening_linux.c — listening TCP sockets from /proc/net/tcp{,6}.
 *
 * A row looks like
 *   "   0: 0100007F:01BB 00000000:0000 0A 00000000:00000000 00:00000000 ..."
 * sl, local address:port, remote address:port, state (0A = LISTEN), ...
 * The kernel prints each 32-bit word of the address with %08X from its
 * in-memory (network order) bytes read as a host integer, so on
 * little-endian machines 127.0.0.1 reads 0100007F; an IPv6 address is four
 * such words. The port is a plain host-order number. The parser is pure (no
 * file access) so it can be fuzzed and tested with sample texts. */
#include "platforms/listening.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Largest /proc/net/tcp text read (a row is 150 bytes: ~100k sockets). */
#define CK_PROCTCP_MAX (16u << 20)

static int hexdigit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Parses exactly n (1..8) hex digits at s. */
static int hexword(const char *s, size_t n, uint32_t *out) {
  uint32_t v = 0;

  for (size_t i = 0; i < n; i++) {
    int d = hexdigit(s[i]);
    if (d < 0)
      return -1;
    v = (v << 4) | (uint32_t)d;
  }
  *out = v;
  return 0;
}

/* Next whitespace-separated token of [*p, end): start and length. */
static int next_token(const char **p, const char *end, const char **tok,
                      size_t *len) {
  const char *s = *p;

  while (s < end && (*s == ' ' || *s == '\t'))
    s++;
  *tok = s;
  while (s < end && *s != ' ' && *s != '\t')
    s++;
  *len = (size_t)(s - *tok);
  *p = s;
  return *len > 0 ? 0 : -1;
}

/* Decodes "HEXADDR:PORT" (8 or 32 address digits) into out. */
static int decode_local(const char *tok, size_t len, int v6,
                        ck_listen_addr *out) {
  size_t alen = v6 ? 32 : 8;
  unsigned char bytes[16];
  char ip[INET6_ADDRSTRLEN];
  uint32_t word, port;

  if (len != alen + 5 || tok[alen] != ':')
    return -1;
  for (size_t i = 0; i < alen / 8; i++) {
    if (hexword(tok + 8 * i, 8, &word) < 0)
      return -1;
    memcpy(bytes + 4 * i, &word, 4); /* back to the in-memory bytes */
  }
  if (hexword(tok + alen + 1, 4, &port) < 0)
    return -1;
  if (inet_ntop(v6 ? AF_INET6 : AF_INET, bytes, ip, sizeof ip) == NULL)
    return -1;
  if (v6)
    snprintf(out->addr, sizeof out->addr, "[%s]:%u", ip, (unsigned)port);
  else
    snprintf(out->addr, sizeof out->addr, "%s:%u", ip, (unsigned)port);
  out->port = (unsigned)port;
  return 0;
}

/* Parses one row; 1 = a LISTEN socket in *out, 0 = another row (header,
 * other state, malformed). */
static int parse_row(const char *p, const char *end, int v6,
                     ck_listen_addr *out) {
  const char *tok, *local;
  size_t len, llen;
  uint32_t st;

  /* sl: decimal digits and a colon */
  if (next_token(&p, end, &tok, &len) < 0 || len < 2 || tok[len - 1] != ':')
    return 0;
  for (size_t i = 0; i + 1 < len; i++)
    if (tok[i] < '0' || tok[i] > '9')
      return 0;
  if (next_token(&p, end, &local, &llen) < 0)
    return 0;
  if (next_token(&p, end, &tok, &len) < 0) /* remote */
    return 0;
  if (next_token(&p, end, &tok, &len) < 0 || len != 2 ||
      hexword(tok, 2, &st) < 0 || st != 0x0A)
    return 0;
  return decode_local(local, llen, v6, out) == 0;
}

static int contains(const ck_listen_addr *a, size_t n, const char *addr) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(a[i].addr, addr) == 0)
      return 1;
  return 0;
}

ck_err ck_listening_parse(const char *text, size_t len, int v6,
                          ck_listen_addr **out, size_t *n, ck_errctx *err) {
  const char *p = text, *end = text + len, *eol;
  ck_listen_addr row, *grown;
  size_t cap = *n; /* the array holds exactly *n: grow from there */

  if (text == NULL && len > 0)
    return ck_failf(err, CK_ERR_INVAL, "listening: no text");
  while (p < end) {
    eol = memchr(p, '\n', (size_t)(end - p));
    if (eol == NULL)
      eol = end;
    memset(&row, 0, sizeof row);
    if (parse_row(p, eol, v6, &row) && !contains(*out, *n, row.addr)) {
      if (*n >= CK_LISTENING_MAX)
        return ck_failf(err, CK_ERR_LIMIT, "more than %d listening sockets",
                        CK_LISTENING_MAX);
      if (*n == cap) {
        cap = cap < 8 ? 16 : cap * 2;
        if ((grown = realloc(*out, cap * sizeof *grown)) == NULL)
          return ck_failf(err, CK_ERR_NOMEM, "listening: out of memory");
        *out = grown;
      }
      (*out)[(*n)++] = row;
    }
    p = eol + (eol < end);
  }
  return CK_OK;
}

/* Reads a /proc file (st_size is 0 there) into a malloc'ed buffer. */
static ck_err read_proc(const char *path, char **buf, size_t *len,
                        ck_errctx *err) {
  size_t cap = 16384, n = 0;
  char *b = NULL, *nb;
  ssize_t r;
  int fd, e;
  ck_err rc = CK_OK;

  *buf = NULL;
  *len = 0;
  if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
    e = errno;
    return ck_failf(err, ck_err_from_errno(-e), "%s: %s", path, strerror(e));
  }
  if ((b = malloc(cap)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "%s: out of memory", path);
    goto out;
  }
  for (;;) {
    if (n == cap) {
      if (cap >= CK_PROCTCP_MAX) {
        rc = ck_failf(err, CK_ERR_LIMIT, "%s: larger than %u bytes", path,
                      CK_PROCTCP_MAX);
        goto out;
      }
      cap *= 2;
      if ((nb = realloc(b, cap)) == NULL) {
        rc = ck_failf(err, CK_ERR_NOMEM, "%s: out of memory", path);
        goto out;
      }
      b = nb;
    }
    r = read(fd, b + n, cap - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      e = errno;
      rc = ck_failf(err, CK_ERR_IO, "%s: %s", path, strerror(e));
      goto out;
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  *buf = b;
  *len = n;
  b = NULL;
out:
  free(b);
  close(fd);
  return rc;
}

ck_err ck_platform_listening(ck_listen_addr **out, size_t *n, ck_errctx *err) {
  static const char *const files[2] = {"/proc/net/tcp", "/proc/net/tcp6"};
  ck_listen_addr *a = NULL;
  size_t na = 0, len;
  char *text = NULL;
  ck_err rc = CK_OK;

  *out = NULL;
  *n = 0;
  for (int v6 = 0; v6 < 2; v6++) {
    rc = read_proc(files[v6], &text, &len, err);
    if (rc == CK_ERR_NOENT && v6) { /* IPv6 disabled */
      ck_errctx_clear(err);
      rc = CK_OK;
      continue;
    }
    if (rc != CK_OK)
      goto out;
    rc = ck_listening_parse(text, len, v6, &a, &na, err);
    free(text);
    text = NULL;
    if (rc != CK_OK)
      goto out;
  }
  *out = a;
  *n = na;
  a = NULL;
out:
  free(a);
  return rc;
}
