/* sanset.c — SAN pattern sets: validating, normalizing and matching names.
 *
 * Every name that ends up in a certificate passes through here twice: once
 * when its pattern is written into a profile or binding (validated and put
 * in canonical form), and once when a request names it (normalized, then
 * matched). Matching works on whole labels of lower-case, dot-free-at-the-end
 * names, which is what makes ".test" safe against "eviltest" and
 * "test.evil.example". See sanset.h for the pattern syntax. */
#include "coordinator/policy/sanset.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util/mem.h"

enum {
  PAT_EXACT = 1, /* DNS name, email domain, URI host: exactly this */
  PAT_SUFFIX,    /* ".x": strictly under x */
  PAT_LABEL,     /* "*.x": one label under x */
  PAT_CIDR,      /* IP range */
  PAT_SCHEME,    /* URI "scheme:" */
  PAT_URI,       /* URI "scheme://hostpat[/path]" */
  PAT_MAILBOX,   /* email "local@domain" */
};

typedef struct pat {
  ck_san_type type;
  int kind;      /* PAT_* */
  int host_kind; /* PAT_URI and email domains: kind of the name pattern */
  char *text;    /* canonical text */
  char *name;    /* DNS name / email domain / URI host, without prefix */
  char *aux;     /* URI scheme, email local part; NULL otherwise */
  char *path;    /* URI path prefix; NULL when any path */
  int family;    /* PAT_CIDR: AF_INET or AF_INET6 */
  unsigned plen; /* PAT_CIDR prefix length */
  uint8_t addr[16];
} pat;

struct ck_sanset {
  pat *v;
  size_t n, cap;
};

#define NAME_MAX_LEN 253
#define URI_MAX_LEN (CK_SANSET_VALUE_MAX - 1)

/* ------------------------------------------------------------ small helpers */

static char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}
static int is_alpha(char c) {
  c = lower(c);
  return c >= 'a' && c <= 'z';
}
static int is_digit(char c) {
  return c >= '0' && c <= '9';
}
static int is_hex(char c) {
  c = lower(c);
  return is_digit(c) || (c >= 'a' && c <= 'f');
}

/* Shows one byte readably for messages: "a", "\x00". */
static void show_char(char c, char *buf, size_t len) {
  unsigned char u = (unsigned char)c;
  if (u >= 0x21 && u < 0x7f)
    snprintf(buf, len, "%c", c);
  else
    snprintf(buf, len, "\\x%02x", u);
}

static void free_pat(pat *p) {
  free(p->text);
  free(p->name);
  free(p->aux);
  free(p->path);
  memset(p, 0, sizeof *p);
}

static const char *type_word(ck_san_type t) {
  switch (t) {
  case CK_SAN_DNS:
    return "DNS";
  case CK_SAN_IP:
    return "IP";
  case CK_SAN_URI:
    return "URI";
  case CK_SAN_EMAIL:
    return "email";
  default:
    return "SAN";
  }
}

static const char *type_prefix(ck_san_type t) {
  switch (t) {
  case CK_SAN_DNS:
    return "dns";
  case CK_SAN_IP:
    return "ip";
  case CK_SAN_URI:
    return "uri";
  case CK_SAN_EMAIL:
    return "email";
  default:
    return "other";
  }
}

/* ---------------------------------------------------------------- DNS names */

/* Normalizes the DNS name in[0..n) into out (lower case, one trailing dot
 * dropped). star allows "*" as the whole leftmost label and sets *wild.
 * Returns 0, or -1 with the reason in why. */
static int dns_norm(const char *in, size_t n, int star, char *out,
                    size_t outlen, int *wild, char *why, size_t wlen) {
  size_t i, lab = 0, start = 0, nlabels = 0;
  int digits = 1, last_digits = 0, has_star = 0;
  char cb[8];

  *wild = 0;
  if (n > 0 && in[n - 1] == '.')
    n--;
  if (n == 0) {
    snprintf(why, wlen, "empty name");
    return -1;
  }
  if (n > NAME_MAX_LEN || n + 1 > outlen) {
    snprintf(why, wlen, "longer than %d characters", NAME_MAX_LEN);
    return -1;
  }
  for (i = 0; i <= n; i++) {
    char c = i < n ? lower(in[i]) : '.';
    if (c == '.') {
      if (lab == 0) {
        snprintf(why, wlen, "empty label");
        return -1;
      }
      if (lab > 63) {
        snprintf(why, wlen, "label longer than 63 characters");
        return -1;
      }
      if (has_star) {
        if (lab != 1 || nlabels != 0) {
          snprintf(why, wlen, "'*' may only be the whole leftmost label");
          return -1;
        }
        if (!star) {
          snprintf(why, wlen, "a wildcard is not allowed here");
          return -1;
        }
        *wild = 1;
      } else if (out[start] == '-' || out[i - 1] == '-') {
        snprintf(why, wlen, "label '%.*s' starts or ends with '-'", (int)lab,
                 out + start);
        return -1;
      }
      nlabels++;
      last_digits = digits;
      digits = 1;
      lab = 0;
      has_star = 0;
      if (i < n)
        out[i] = '.';
      start = i + 1;
      continue;
    }
    if (c == '*') {
      has_star = 1;
    } else if (!is_alpha(c) && !is_digit(c) && c != '-') {
      show_char(in[i], cb, sizeof cb);
      snprintf(why, wlen,
               "character '%s' is not allowed (letters, digits and '-' "
               "only; IDNs in their xn-- form)",
               cb);
      return -1;
    }
    if (!is_digit(c))
      digits = 0;
    out[i] = c;
    lab++;
  }
  out[n] = '\0';
  if (*wild && nlabels == 1) {
    snprintf(why, wlen, "a wildcard needs a domain after '*.'");
    return -1;
  }
  if (last_digits) {
    snprintf(why, wlen,
             "the top-level label is numeric (IP addresses go in IP SANs)");
    return -1;
  }
  return 0;
}

/* Parses a DNS pattern (exact, ".suffix", "*.label") in p[0..n) into *kind
 * and a malloc'ed name. Returns 0 or -1 with why. */
static int dns_pat(const char *p, size_t n, int allow_label, int *kind,
                   char **name, char *why, size_t wlen) {
  char buf[NAME_MAX_LEN + 2];
  int wild;

  *kind = PAT_EXACT;
  if (n > 0 && p[0] == '.') {
    *kind = PAT_SUFFIX;
    p++, n--;
  } else if (n > 1 && p[0] == '*' && p[1] == '.') {
    if (!allow_label) {
      snprintf(why, wlen, "'*.' is not valid here (use '.domain')");
      return -1;
    }
    *kind = PAT_LABEL;
    p += 2, n -= 2;
  }
  if (memchr(p, '*', n) != NULL) {
    snprintf(why, wlen, "'*' may only appear as the leading '*.'");
    return -1;
  }
  if (*kind != PAT_EXACT && n > 0 && p[0] == '.') {
    snprintf(why, wlen, "empty label");
    return -1;
  }
  if (dns_norm(p, n, 0, buf, sizeof buf, &wild, why, wlen) != 0)
    return -1;
  if ((*name = strdup(buf)) == NULL) {
    snprintf(why, wlen, "out of memory");
    return -1;
  }
  return 0;
}

/* Returns 1 when the normalized name (may start with "*.") is covered by the
 * name pattern (kind, pn). */
static int dns_match(int kind, const char *pn, const char *name) {
  size_t pl = strlen(pn), n = strlen(name);

  switch (kind) {
  case PAT_EXACT:
    return n == pl && memcmp(name, pn, n) == 0;
  case PAT_SUFFIX:
  case PAT_LABEL:
    if (n < pl + 2 || name[n - pl - 1] != '.' ||
        memcmp(name + n - pl, pn, pl) != 0)
      return 0;
    return kind == PAT_SUFFIX || memchr(name, '.', n - pl - 1) == NULL;
  default:
    return 0;
  }
}

/* --------------------------------------------------------------------- IP */

/* Parses an address into addr/family. Returns 0 or -1. */
static int ip_parse(const char *s, uint8_t addr[16], int *family) {
  memset(addr, 0, 16);
  if (inet_pton(AF_INET, s, addr) == 1) {
    *family = AF_INET;
    return 0;
  }
  if (inet_pton(AF_INET6, s, addr) == 1) {
    *family = AF_INET6;
    return 0;
  }
  return -1;
}

static int ip_pat(const char *s, pat *p, char *why, size_t wlen) {
  char buf[64], text[80], *slash;
  unsigned maxlen, i;
  unsigned long plen;

  if (strlen(s) >= sizeof buf) {
    snprintf(why, wlen, "too long for an address range");
    return -1;
  }
  ck_strlcpy(buf, s, sizeof buf);
  slash = strchr(buf, '/');
  if (slash != NULL)
    *slash++ = '\0';
  if (ip_parse(buf, p->addr, &p->family) != 0) {
    snprintf(why, wlen, "'%s' is not an IPv4 or IPv6 address", buf);
    return -1;
  }
  maxlen = p->family == AF_INET ? 32 : 128;
  plen = maxlen;
  if (slash != NULL) {
    char *end = NULL;
    if (!is_digit(slash[0]) || (slash[0] == '0' && slash[1] != '\0') ||
        strlen(slash) > 3) {
      snprintf(why, wlen, "prefix length '%s' is not a number", slash);
      return -1;
    }
    plen = strtoul(slash, &end, 10);
    if (*end != '\0' || plen > maxlen) {
      snprintf(why, wlen, "prefix length %s is out of range 0..%u", slash,
               maxlen);
      return -1;
    }
  }
  p->plen = (unsigned)plen;
  for (i = p->plen; i < maxlen; i++) {
    if (p->addr[i / 8] & (0x80u >> (i % 8))) {
      uint8_t net[16];
      char ntext[INET6_ADDRSTRLEN];
      unsigned j;
      memcpy(net, p->addr, 16);
      for (j = p->plen; j < maxlen; j++)
        net[j / 8] &= (uint8_t) ~(0x80u >> (j % 8));
      inet_ntop(p->family, net, ntext, sizeof ntext);
      snprintf(why, wlen, "host bits are set; the network is %s/%u", ntext,
               p->plen);
      return -1;
    }
  }
  inet_ntop(p->family, p->addr, buf, sizeof buf);
  snprintf(text, sizeof text, "%s/%u", buf, p->plen);
  if ((p->text = strdup(text)) == NULL) {
    snprintf(why, wlen, "out of memory");
    return -1;
  }
  p->kind = PAT_CIDR;
  return 0;
}

static int ip_match(const pat *p, const char *value) {
  uint8_t a[16];
  int fam;
  unsigned i;

  if (ip_parse(value, a, &fam) != 0 || fam != p->family)
    return 0;
  for (i = 0; i < p->plen / 8; i++)
    if (a[i] != p->addr[i])
      return 0;
  if (p->plen % 8) {
    uint8_t m = (uint8_t)(0xffu << (8 - p->plen % 8));
    if ((a[i] & m) != (p->addr[i] & m))
      return 0;
  }
  return 1;
}

/* -------------------------------------------------------------------- URI */

static int uri_char_ok(char c) {
  return is_alpha(c) || is_digit(c) ||
         (c != '\0' && strchr("-._~:/?#[]@!$&'()*+,;=", c) != NULL);
}

/* Length of the scheme at s ("https" in "https://..."), 0 when none. */
static size_t scheme_len(const char *s) {
  size_t i = 0;
  if (!is_alpha(s[0]))
    return 0;
  while (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' ||
         s[i] == '.')
    i++;
  return s[i] == ':' ? i : 0;
}

/* Returns 1 when path[0..n) has a "." or ".." segment, percent-encoded or
 * not. */
static int has_dot_segment(const char *path, size_t n) {
  size_t i = 0;
  while (i < n) {
    size_t j = i, dots = 0;
    int only = 1;
    while (j < n && path[j] != '/') {
      if (path[j] == '.') {
        dots++, j++;
      } else if (path[j] == '%' && j + 2 < n && path[j + 1] == '2' &&
                 lower(path[j + 2]) == 'e') {
        dots++, j += 3;
      } else {
        only = 0, j++;
      }
    }
    if (only && (dots == 1 || dots == 2))
      return 1;
    i = j + 1;
  }
  return 0;
}

/* Checks the characters of a URI (or a URI pattern's path): the RFC 3986
 * set, '%' followed by two hex digits. Returns 0 or -1 with why. */
static int uri_chars(const char *s, size_t n, char *why, size_t wlen) {
  size_t i;
  char cb[8];
  for (i = 0; i < n; i++) {
    if (s[i] == '%') {
      if (i + 2 >= n || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) {
        snprintf(why, wlen, "'%%' is not followed by two hex digits");
        return -1;
      }
      i += 2;
      continue;
    }
    if (!uri_char_ok(s[i])) {
      show_char(s[i], cb, sizeof cb);
      snprintf(why, wlen, "character '%s' is not allowed in a URI", cb);
      return -1;
    }
  }
  return 0;
}

static int uri_pat(const char *s, pat *p, char *why, size_t wlen) {
  size_t sl = scheme_len(s), i, hl;
  const char *rest, *host, *path;
  char *text = NULL;

  if (sl == 0) {
    snprintf(why, wlen,
             "no scheme (use scheme:, scheme://host or "
             "scheme://host/path)");
    return -1;
  }
  if ((p->aux = malloc(sl + 1)) == NULL)
    goto oom;
  for (i = 0; i < sl; i++)
    p->aux[i] = lower(s[i]);
  p->aux[sl] = '\0';
  rest = s + sl + 1;
  if (*rest == '\0') {
    p->kind = PAT_SCHEME;
    if ((p->text = malloc(sl + 2)) == NULL)
      goto oom;
    snprintf(p->text, sl + 2, "%s:", p->aux);
    return 0;
  }
  if (strncmp(rest, "//", 2) != 0) {
    snprintf(why, wlen,
             "expected '//' after '%s:' (use scheme:, "
             "scheme://host or scheme://host/path)",
             p->aux);
    return -1;
  }
  host = rest + 2;
  hl = strcspn(host, "/");
  if (strcspn(host, ":@[]?#") < hl) {
    snprintf(why, wlen,
             "ports, user information, IP literals, queries and "
             "fragments are not supported in URI patterns");
    return -1;
  }
  if (dns_pat(host, hl, 1, &p->host_kind, &p->name, why, wlen) != 0)
    return -1;
  path = host + hl;
  if (*path != '\0') {
    size_t pl = strlen(path);
    if (strcspn(path, "?#") < pl) {
      snprintf(why, wlen,
               "queries and fragments are not supported in URI "
               "patterns");
      return -1;
    }
    if (uri_chars(path, pl, why, wlen) != 0)
      return -1;
    if (has_dot_segment(path, pl)) {
      snprintf(why, wlen, "the path has a '.' or '..' segment");
      return -1;
    }
    if ((p->path = strdup(path)) == NULL)
      goto oom;
  }
  {
    const char *hp = p->host_kind == PAT_SUFFIX  ? "."
                     : p->host_kind == PAT_LABEL ? "*."
                                                 : "";
    size_t tl = strlen(p->aux) + 3 + strlen(hp) + strlen(p->name) +
                (p->path ? strlen(p->path) : 0) + 1;
    if ((text = malloc(tl)) == NULL)
      goto oom;
    snprintf(text, tl, "%s://%s%s%s", p->aux, hp, p->name,
             p->path ? p->path : "");
  }
  p->text = text;
  p->kind = PAT_URI;
  return 0;
oom:
  snprintf(why, wlen, "out of memory");
  return -1;
}

static int uri_match(const pat *p, const char *v) {
  size_t sl = scheme_len(v), i, al, hl;
  const char *auth, *path;
  char host[NAME_MAX_LEN + 2], why[128];
  int wild;

  if (sl == 0 || sl != strlen(p->aux))
    return 0;
  for (i = 0; i < sl; i++)
    if (lower(v[i]) != p->aux[i])
      return 0;
  if (p->kind == PAT_SCHEME)
    return 1;
  if (strncmp(v + sl + 1, "//", 2) != 0)
    return 0;
  auth = v + sl + 3;
  al = strcspn(auth, "/?#");
  if (strcspn(auth, ":@[") < al) /* port, userinfo, IP literal */
    return 0;
  hl = al;
  if (hl == 0 || hl > NAME_MAX_LEN + 1 ||
      dns_norm(auth, hl, 0, host, sizeof host, &wild, why, sizeof why) != 0)
    return 0;
  if (!dns_match(p->host_kind, p->name, host))
    return 0;
  if (p->path == NULL)
    return 1;
  path = auth + al;
  {
    size_t ql = strcspn(path, "?#"), pl = strlen(p->path);
    if (ql < pl || memcmp(path, p->path, pl) != 0)
      return 0;
    return ql == pl || p->path[pl - 1] == '/' || path[pl] == '/';
  }
}

/* ------------------------------------------------------------------ email */

static int atext(char c) {
  return is_alpha(c) || is_digit(c) ||
         (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Checks a dot-atom local part. Returns 0 or -1 with why. */
static int local_ok(const char *s, size_t n, char *why, size_t wlen) {
  size_t i;
  char cb[8];
  if (n == 0 || n > 64) {
    snprintf(why, wlen, "the local part must have 1..64 characters");
    return -1;
  }
  if (s[0] == '.' || s[n - 1] == '.') {
    snprintf(why, wlen, "the local part starts or ends with '.'");
    return -1;
  }
  for (i = 0; i < n; i++) {
    if (s[i] == '.') {
      if (s[i + 1] == '.') {
        snprintf(why, wlen, "the local part has '..'");
        return -1;
      }
    } else if (!atext(s[i])) {
      show_char(s[i], cb, sizeof cb);
      snprintf(why, wlen,
               "character '%s' is not allowed in the local part (quoted and "
               "internationalized addresses are not supported)",
               cb);
      return -1;
    }
  }
  return 0;
}

static int email_pat(const char *s, pat *p, char *why, size_t wlen) {
  const char *at = strchr(s, '@');
  char buf[NAME_MAX_LEN + 2];
  int wild;

  if (at == NULL) {
    int kind;
    if (dns_pat(s, strlen(s), 0, &kind, &p->name, why, wlen) != 0)
      return -1;
    p->kind = kind;
    if ((p->text = malloc(strlen(p->name) + 2)) == NULL)
      goto oom;
    snprintf(p->text, strlen(p->name) + 2, "%s%s",
             kind == PAT_SUFFIX ? "." : "", p->name);
    return 0;
  }
  if (strchr(at + 1, '@') != NULL) {
    snprintf(why, wlen, "more than one '@'");
    return -1;
  }
  if (local_ok(s, (size_t)(at - s), why, wlen) != 0)
    return -1;
  if (dns_norm(at + 1, strlen(at + 1), 0, buf, sizeof buf, &wild, why, wlen) !=
      0)
    return -1;
  if ((p->aux = malloc((size_t)(at - s) + 1)) == NULL ||
      (p->name = strdup(buf)) == NULL ||
      (p->text = malloc(strlen(s) + 1)) == NULL)
    goto oom;
  memcpy(p->aux, s, (size_t)(at - s));
  p->aux[at - s] = '\0';
  snprintf(p->text, strlen(s) + 1, "%s@%s", p->aux, p->name);
  p->kind = PAT_MAILBOX;
  return 0;
oom:
  snprintf(why, wlen, "out of memory");
  return -1;
}

static int email_match(const pat *p, const char *v) {
  const char *at = strrchr(v, '@');
  if (at == NULL)
    return 0;
  if (p->kind == PAT_MAILBOX)
    return strlen(p->aux) == (size_t)(at - v) &&
           memcmp(p->aux, v, (size_t)(at - v)) == 0 &&
           strcmp(at + 1, p->name) == 0;
  return dns_match(p->kind, p->name, at + 1);
}

/* --------------------------------------------------------------- the set */

ck_err ck_sanset_new(ck_sanset **out) {
  ck_sanset *s = calloc(1, sizeof *s);
  if (s == NULL)
    return CK_ERR_NOMEM;
  *out = s;
  return CK_OK;
}

void ck_sanset_free(ck_sanset *s) {
  size_t i;
  if (s == NULL)
    return;
  for (i = 0; i < s->n; i++)
    free_pat(&s->v[i]);
  free(s->v);
  free(s);
}

ck_err ck_sanset_add(ck_sanset *s, ck_san_type type, const char *pattern,
                     ck_errctx *err) {
  pat p;
  char why[256] = "";
  size_t i;
  int rc;

  memset(&p, 0, sizeof p);
  p.type = type;
  if (s == NULL || pattern == NULL)
    return ck_failf(err, CK_ERR_INVAL, "no SAN set or pattern");
  if (strlen(pattern) > URI_MAX_LEN)
    return ck_failf(err, CK_ERR_PARSE, "%s pattern longer than %d characters",
                    type_word(type), URI_MAX_LEN);
  switch (type) {
  case CK_SAN_DNS:
    rc =
        dns_pat(pattern, strlen(pattern), 1, &p.kind, &p.name, why, sizeof why);
    if (rc == 0) {
      size_t tl = strlen(p.name) + 3;
      if ((p.text = malloc(tl)) == NULL) {
        free_pat(&p);
        return ck_failf(err, CK_ERR_NOMEM, "out of memory");
      }
      snprintf(p.text, tl, "%s%s",
               p.kind == PAT_SUFFIX  ? "."
               : p.kind == PAT_LABEL ? "*."
                                     : "",
               p.name);
    }
    break;
  case CK_SAN_IP:
    rc = ip_pat(pattern, &p, why, sizeof why);
    break;
  case CK_SAN_URI:
    rc = uri_pat(pattern, &p, why, sizeof why);
    break;
  case CK_SAN_EMAIL:
    rc = email_pat(pattern, &p, why, sizeof why);
    break;
  default:
    return ck_failf(err, CK_ERR_INVAL,
                    "SAN patterns are DNS, IP, URI or email");
  }
  if (rc != 0) {
    char shown[160];
    size_t j, k = 0;
    shown[0] = '\0';
    free_pat(&p);
    /* the pattern may hold anything: show it printable and bounded */
    for (j = 0; pattern[j] != '\0' && k + 5 < sizeof shown - 4; j++) {
      char cb[8];
      show_char(pattern[j], cb, sizeof cb);
      if (pattern[j] == ' ')
        cb[0] = ' ', cb[1] = '\0';
      k += (size_t)snprintf(shown + k, sizeof shown - k, "%s", cb);
    }
    if (pattern[j] != '\0')
      snprintf(shown + k, sizeof shown - k, "...");
    return ck_failf(err, CK_ERR_PARSE, "'%s' is not a valid %s pattern (%s)",
                    shown, type_word(type), why);
  }
  for (i = 0; i < s->n; i++) {
    if (s->v[i].type == type && strcmp(s->v[i].text, p.text) == 0) {
      ck_err e = ck_failf(err, CK_ERR_EXIST, "'%s' is listed twice", p.text);
      free_pat(&p);
      return e;
    }
  }
  if (s->n == s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 8;
    pat *nv = realloc(s->v, nc * sizeof *nv);
    if (nv == NULL) {
      free_pat(&p);
      return ck_failf(err, CK_ERR_NOMEM, "out of memory");
    }
    s->v = nv;
    s->cap = nc;
  }
  s->v[s->n++] = p;
  return CK_OK;
}

ck_err ck_sanset_parse_lines(const char *text, ck_sanset **out,
                             ck_errctx *err) {
  static const struct {
    const char *prefix;
    ck_san_type type;
  } pfx[] = {{"dns:", CK_SAN_DNS},
             {"ip:", CK_SAN_IP},
             {"uri:", CK_SAN_URI},
             {"email:", CK_SAN_EMAIL}};
  ck_sanset *s = NULL;
  char *line = NULL;
  const char *p = text;
  unsigned lineno = 0;
  ck_err rc;

  if ((rc = ck_sanset_new(&s)) != CK_OK) {
    ck_failf(err, rc, "out of memory");
    goto out;
  }
  while (p != NULL && *p != '\0') {
    const char *nl = strchr(p, '\n'), *b = p, *e;
    ck_san_type type = CK_SAN_DNS;
    size_t i, n;

    e = nl ? nl : p + strlen(p);
    p = nl ? nl + 1 : NULL;
    lineno++;
    while (b < e && (*b == ' ' || *b == '\t'))
      b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
      e--;
    if (b == e || *b == '#')
      continue;
    for (i = 0; i < sizeof pfx / sizeof pfx[0]; i++) {
      size_t pl = strlen(pfx[i].prefix);
      if ((size_t)(e - b) >= pl && strncasecmp(b, pfx[i].prefix, pl) == 0) {
        type = pfx[i].type;
        b += pl;
        break;
      }
    }
    n = (size_t)(e - b);
    free(line);
    if ((line = malloc(n + 1)) == NULL) {
      rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
      goto out;
    }
    memcpy(line, b, n);
    line[n] = '\0';
    if (strlen(line) != n) {
      rc = ck_failf(err, CK_ERR_PARSE, "line %u: contains a NUL byte", lineno);
      goto out;
    }
    if ((rc = ck_sanset_add(s, type, line, err)) != CK_OK) {
      ck_failf(err, rc, "line %u", lineno);
      goto out;
    }
  }
  *out = s;
  s = NULL;
  rc = CK_OK;
out:
  free(line);
  ck_sanset_free(s);
  return rc;
}

ck_err ck_sanset_to_lines(const ck_sanset *s, char **out) {
  size_t i, len = 1, k = 0;
  char *buf;

  for (i = 0; s != NULL && i < s->n; i++)
    len += strlen(type_prefix(s->v[i].type)) + 1 + strlen(s->v[i].text) + 1;
  if ((buf = malloc(len)) == NULL)
    return CK_ERR_NOMEM;
  buf[0] = '\0';
  for (i = 0; s != NULL && i < s->n; i++)
    k += (size_t)snprintf(buf + k, len - k, "%s:%s\n",
                          type_prefix(s->v[i].type), s->v[i].text);
  *out = buf;
  return CK_OK;
}

size_t ck_sanset_count(const ck_sanset *s, ck_san_type type) {
  size_t i, n = 0;
  for (i = 0; s != NULL && i < s->n; i++)
    if (type == 0 || s->v[i].type == type)
      n++;
  return n;
}

const char *ck_sanset_get(const ck_sanset *s, ck_san_type type, size_t idx) {
  size_t i;
  for (i = 0; s != NULL && i < s->n; i++)
    if (s->v[i].type == type && idx-- == 0)
      return s->v[i].text;
  return NULL;
}

const char *ck_sanset_describe(const ck_sanset *s, ck_san_type type, char *buf,
                               size_t len) {
  size_t i, k = 0;
  int first = 1;

  if (len == 0)
    return buf;
  buf[0] = '\0';
  for (i = 0; s != NULL && i < s->n; i++) {
    const char *t = s->v[i].text;
    size_t need;
    if (s->v[i].type != type)
      continue;
    need = strlen(t) + (first ? 0 : 2);
    if (k + need + 6 > len) {
      if (k + 6 <= len)
        snprintf(buf + k, len - k, "%s...", first ? "" : ", ");
      break;
    }
    k += (size_t)snprintf(buf + k, len - k, "%s%s", first ? "" : ", ", t);
    first = 0;
  }
  return buf;
}

/* ------------------------------------------------------ requested values */

ck_err ck_sanset_normalize(ck_san_type type, const char *value, char *out,
                           size_t outlen, int *wildcard, ck_errctx *err) {
  char why[256] = "";
  size_t n;
  int wild = 0;

  if (wildcard != NULL)
    *wildcard = 0;
  if (value == NULL || out == NULL || outlen < CK_SANSET_VALUE_MAX)
    return ck_failf(err, CK_ERR_INVAL, "no value or output too small");
  n = strlen(value);
  switch (type) {
  case CK_SAN_DNS:
    if (dns_norm(value, n, 1, out, outlen, &wild, why, sizeof why) != 0)
      return ck_failf(err, CK_ERR_PARSE, "%s", why);
    if (wildcard != NULL)
      *wildcard = wild;
    return CK_OK;
  case CK_SAN_IP: {
    uint8_t a[16];
    int fam;
    if (ip_parse(value, a, &fam) != 0)
      return ck_failf(err, CK_ERR_PARSE, "not an IPv4 or IPv6 address");
    inet_ntop(fam, a, out, (socklen_t)outlen);
    return CK_OK;
  }
  case CK_SAN_URI: {
    size_t sl = scheme_len(value);
    if (n > URI_MAX_LEN)
      return ck_failf(err, CK_ERR_PARSE, "longer than %d characters",
                      URI_MAX_LEN);
    if (sl == 0)
      return ck_failf(err, CK_ERR_PARSE, "no scheme");
    if (uri_chars(value, n, why, sizeof why) != 0)
      return ck_failf(err, CK_ERR_PARSE, "%s", why);
    {
      const char *path = value + sl + 1;
      size_t pl;
      if (strncmp(path, "//", 2) == 0)
        path += 2 + strcspn(path + 2, "/?#");
      pl = strcspn(path, "?#");
      if (has_dot_segment(path, pl))
        return ck_failf(err, CK_ERR_PARSE,
                        "the path has a '.' or '..' segment");
    }
    memcpy(out, value, n + 1);
    return CK_OK;
  }
  case CK_SAN_EMAIL: {
    const char *at = strchr(value, '@');
    size_t ll;
    if (at == NULL || strchr(at + 1, '@') != NULL)
      return ck_failf(err, CK_ERR_PARSE, "exactly one '@' is needed");
    ll = (size_t)(at - value);
    if (local_ok(value, ll, why, sizeof why) != 0)
      return ck_failf(err, CK_ERR_PARSE, "%s", why);
    memcpy(out, value, ll);
    out[ll] = '@';
    if (dns_norm(at + 1, strlen(at + 1), 0, out + ll + 1, outlen - ll - 1,
                 &wild, why, sizeof why) != 0)
      return ck_failf(err, CK_ERR_PARSE, "domain: %s", why);
    return CK_OK;
  }
  default:
    return ck_failf(err, CK_ERR_INVAL,
                    "only DNS, IP, URI and email names are supported");
  }
}

int ck_sanset_match(const ck_sanset *s, ck_san_type type, const char *value) {
  size_t i;

  if (s == NULL || value == NULL)
    return 0;
  for (i = 0; i < s->n; i++) {
    const pat *p = &s->v[i];
    int ok = 0;
    if (p->type != type)
      continue;
    switch (type) {
    case CK_SAN_DNS:
      ok = dns_match(p->kind, p->name, value);
      break;
    case CK_SAN_IP:
      ok = ip_match(p, value);
      break;
    case CK_SAN_URI:
      ok = uri_match(p, value);
      break;
    case CK_SAN_EMAIL:
      ok = email_match(p, value);
      break;
    default:
      break;
    }
    if (ok)
      return 1;
  }
  return 0;
}
