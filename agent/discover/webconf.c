/* webconf.c — nginx / Apache / HAProxy TLS directive line parsers (see
 * webconf.h). Every line is tokenised on whitespace with '"' and '\''
 * quoting; nothing here trusts the input to be text. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "agent/discover/webconf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CK_WEBCONF_MAX_REFS 10000
#define CK_WEBCONF_MAX_TOK 8

int ck_webconf_sniff(const char *text, size_t len) {
  if (!text)
    return 0;
  return memmem(text, len, "ssl_certificate", 15) != NULL ||
         memmem(text, len, "SSLCertificate", 14) != NULL ||
         memmem(text, len, "sslcertificate", 14) != NULL ||
         (memmem(text, len, "bind", 4) != NULL &&
          memmem(text, len, "crt", 3) != NULL);
}

/* A token: pointer into the line copy, NUL-terminated there. */
static size_t tokenize(char *line, char **tok, size_t max) {
  size_t n = 0;
  char *p = line;
  while (*p && n < max) {
    while (*p == ' ' || *p == '\t' || *p == '\r')
      p++;
    if (!*p || *p == '#')
      break;
    if (*p == '"' || *p == '\'') {
      char q = *p++;
      tok[n++] = p;
      while (*p && *p != q)
        p++;
      if (*p)
        *p++ = '\0';
      continue;
    }
    tok[n++] = p;
    while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != ';')
      p++;
    if (*p == ';') {
      *p++ = '\0';
      break; /* nginx: the directive ends here */
    }
    if (*p)
      *p++ = '\0';
  }
  return n;
}

static ck_err add_ref(ck_webconf *wc, const char *conf, unsigned line,
                      const char *service, const char *value, int is_key,
                      ck_errctx *err) {
  char *path = NULL, *confdup = NULL;
  if (!*value || strchr(value, '$') || strncmp(value, "data:", 5) == 0)
    return CK_OK; /* variables and inline data cannot be resolved */
  if (wc->n >= CK_WEBCONF_MAX_REFS)
    return ck_failf(err, CK_ERR_LIMIT, "%s: more than %d TLS references", conf,
                    CK_WEBCONF_MAX_REFS);
  if (wc->n == wc->cap) {
    size_t cap = wc->cap ? wc->cap * 2 : 16;
    ck_webref *r = realloc(wc->refs, cap * sizeof(*r));
    if (!r)
      return ck_failf(err, CK_ERR_NOMEM, "out of memory");
    wc->refs = r;
    wc->cap = cap;
  }
  if (value[0] == '/') {
    path = strdup(value);
  } else {
    const char *slash = strrchr(conf, '/');
    size_t dl = slash ? (size_t)(slash - conf) : 1;
    size_t vl = strlen(value);
    path = malloc(dl + vl + 2);
    if (path) {
      memcpy(path, slash ? conf : ".", dl);
      path[dl] = '/';
      memcpy(path + dl + 1, value, vl + 1);
    }
  }
  confdup = strdup(conf);
  if (!path || !confdup) {
    free(path);
    free(confdup);
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  }
  {
    ck_webref *r = &wc->refs[wc->n++]; /* wc now owns path and confdup */
    r->path = path;
    r->service = service;
    r->conf = confdup;
    r->line = line;
    r->is_key = is_key;
  }
  return CK_OK;
}

static ck_err parse_line(ck_webconf *wc, const char *conf, unsigned lineno,
                         char *line, ck_errctx *err) {
  char *tok[CK_WEBCONF_MAX_TOK];
  size_t n = tokenize(line, tok, CK_WEBCONF_MAX_TOK);
  if (n < 2)
    return CK_OK;
  if (strcmp(tok[0], "ssl_certificate") == 0)
    return add_ref(wc, conf, lineno, "nginx", tok[1], 0, err);
  if (strcmp(tok[0], "ssl_certificate_key") == 0)
    return add_ref(wc, conf, lineno, "nginx", tok[1], 1, err);
  if (strcasecmp(tok[0], "SSLCertificateFile") == 0 ||
      strcasecmp(tok[0], "SSLCertificateChainFile") == 0)
    return add_ref(wc, conf, lineno, "apache", tok[1], 0, err);
  if (strcasecmp(tok[0], "SSLCertificateKeyFile") == 0)
    return add_ref(wc, conf, lineno, "apache", tok[1], 1, err);
  if (strcmp(tok[0], "bind") == 0) {
    for (size_t i = 1; i + 1 < n; i++) {
      if (strcmp(tok[i], "crt") == 0) {
        ck_err rc = add_ref(wc, conf, lineno, "haproxy", tok[i + 1], 0, err);
        if (rc != CK_OK)
          return rc;
        i++;
      }
    }
  }
  return CK_OK;
}

ck_err ck_webconf_parse(ck_webconf *wc, const char *conf_path, const char *text,
                        size_t len, ck_errctx *err) {
  ck_err rc = CK_OK;
  size_t old_n;
  char *line = NULL;
  size_t pos = 0;
  unsigned lineno = 0;
  if (!wc || !conf_path || (!text && len))
    return ck_failf(err, CK_ERR_INVAL, "ck_webconf_parse: bad arguments");
  old_n = wc->n;
  while (pos < len) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
    lineno++;
    if (ll > 0 && memchr(text + pos, '\0', ll) == NULL) {
      char *tmp = realloc(line, ll + 1);
      if (!tmp) {
        rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
        goto out;
      }
      line = tmp;
      memcpy(line, text + pos, ll);
      line[ll] = '\0';
      rc = parse_line(wc, conf_path, lineno, line, err);
      if (rc != CK_OK)
        goto out;
    }
    pos += ll + 1;
  }
out:
  free(line);
  if (rc != CK_OK) {
    while (wc->n > old_n) {
      wc->n--;
      free(wc->refs[wc->n].path);
      free(wc->refs[wc->n].conf);
    }
  }
  return rc;
}

void ck_webconf_clear(ck_webconf *wc) {
  if (!wc)
    return;
  for (size_t i = 0; i < wc->n; i++) {
    free(wc->refs[i].path);
    free(wc->refs[i].conf);
  }
  free(wc->refs);
  wc->refs = NULL;
  wc->n = wc->cap = 0;
}
