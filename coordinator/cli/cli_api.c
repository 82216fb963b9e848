/* cli_api.c — REST calls, answers and the problem-to-exit-code mapping
 * (cli_api.h). */
#include "coordinator/cli/cli_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto/crypto.h"
#include "common/util/fs.h"
#include "coordinator/cli/cli_conf.h"
#include "coordinator/cli/cli_http.h"
#include "coordinator/cli/cli_out.h"
#include "common/util/mem.h"

#define PROBLEM_PREFIX "urn:certkeeper:problem:"
#define CSR_MAX (256 * 1024)

static void append(ck_cli_path *p, const char *s, size_t n) {
  if (p->oom)
    return;
  if (p->len + n + 1 > p->cap) {
    size_t cap = p->cap ? p->cap : 128;
    char *ns;
    while (cap < p->len + n + 1)
      cap *= 2;
    if ((ns = realloc(p->s, cap)) == NULL) {
      p->oom = 1;
      return;
    }
    p->s = ns;
    p->cap = cap;
  }
  memcpy(p->s + p->len, s, n);
  p->len += n;
  p->s[p->len] = '\0';
}

/* RFC 3986 unreserved characters pass; everything else is %XX. */
static void append_encoded(ck_cli_path *p, const char *v) {
  static const char hex[] = "0123456789ABCDEF";
  const unsigned char *s;
  char e[3];

  for (s = (const unsigned char *)v; *s != '\0'; s++) {
    if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
        (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' || *s == '_' ||
        *s == '~') {
      append(p, (const char *)s, 1);
    } else {
      e[0] = '%';
      e[1] = hex[*s >> 4];
      e[2] = hex[*s & 15];
      append(p, e, 3);
    }
  }
}

void ck_cli_path_lit(ck_cli_path *p, const char *text) {
  append(p, text, strlen(text));
}

void ck_cli_path_seg(ck_cli_path *p, const char *seg) {
  append(p, "/", 1);
  append_encoded(p, seg);
}

void ck_cli_path_param(ck_cli_path *p, const char *k, const char *v) {
  if (v == NULL)
    return;
  append(p, p->nparams++ ? "&" : "?", 1);
  append_encoded(p, k);
  append(p, "=", 1);
  append_encoded(p, v);
}

void ck_cli_path_free(ck_cli_path *p) {
  free(p->s);
  memset(p, 0, sizeof *p);
}

void ck_cli_answer_clear(ck_cli_answer *a) {
  if (a == NULL)
    return;
  json_decref(a->json);
  memset(a, 0, sizeof *a);
}

int ck_cli_api_exit_for(long status, const char *problem_type) {
  switch (status) {
  case 400:
  case 413:
  case 415:
  case 422:
    return CK_CLI_INVALID;
  case 401:
    return CK_CLI_AUTH;
  case 403:
    return problem_type != NULL &&
                   strcmp(problem_type, "policy-violation") == 0
               ? CK_CLI_REFUSED
               : CK_CLI_AUTH;
  case 404:
    return CK_CLI_NOT_FOUND;
  case 409:
  case 412:
    return CK_CLI_CONFLICT;
  default:
    return CK_CLI_SERVER;
  }
}

static const char *what_for(int code, long status) {
  switch (code) {
  case CK_CLI_REFUSED:
    return "refused by policy";
  case CK_CLI_AUTH:
    return status == 401 ? "not authenticated" : "not allowed";
  case CK_CLI_NOT_FOUND:
    return "not found";
  case CK_CLI_CONFLICT:
    return "conflict";
  case CK_CLI_INVALID:
    return "rejected";
  default:
    return "server error";
  }
}

static int is_json_type(const char *ct) {
  return strncmp(ct, "application/json", 16) == 0 ||
         strncmp(ct, "application/problem+json", 24) == 0;
}

/* Prints the failure of an answer with a non-2xx status. */
static int report_failure(ck_cli *cli, const ck_cli_http_resp *r) {
  json_t *j = NULL;
  const char *type = NULL, *title = NULL, *detail = NULL;
  char first[256];
  int code;
  size_t n;

  if (r->body_len > 0)
    j = json_loadb(r->body, r->body_len, 0, NULL);
  if (json_is_object(j)) {
    type = json_string_value(json_object_get(j, "type"));
    title = json_string_value(json_object_get(j, "title"));
    detail = json_string_value(json_object_get(j, "detail"));
    if (type != NULL && strncmp(type, PROBLEM_PREFIX,
                                strlen(PROBLEM_PREFIX)) == 0)
      type += strlen(PROBLEM_PREFIX);
  }
  code = ck_cli_api_exit_for(r->status, type);
  if (r->status >= 300 && r->status < 400) {
    ck_cli_errorf(cli, "unexpected redirect (HTTP %ld); not followed",
                  r->status);
    code = CK_CLI_SERVER;
  } else if (detail != NULL || title != NULL) {
    ck_cli_errorf(cli, "%s (HTTP %ld%s%s): %s", what_for(code, r->status),
                  r->status, title != NULL ? " " : "",
                  title != NULL ? title : "",
                  detail != NULL ? detail : title);
  } else {
    /* not a problem document: show the start of whatever came back */
    n = strcspn(r->body != NULL ? r->body : "", "\r\n");
    if (n > sizeof first - 1)
      n = sizeof first - 1;
    memcpy(first, r->body != NULL ? r->body : "", n);
    first[n] = '\0';
    ck_cli_errorf(cli, "%s (HTTP %ld)%s%s", what_for(code, r->status),
                  r->status, n > 0 ? ": " : "", first);
  }
  json_decref(j);
  return code;
}

static int ensure_client(ck_cli *cli) {
  ck_errctx err = CK_ERRCTX_INIT;
  char why[512];
  int rc;

  if (cli->set.server == NULL) {
    ck_cli_errorf(cli, "no server: use --server URL, CERTKEEPER_SERVER or "
                       "url in [server] of the config file");
    return CK_CLI_USAGE;
  }
  if (cli->token == NULL) {
    rc = ck_cli_conf_load_token(&cli->set, &cli->token, why, sizeof why);
    if (rc != CK_CLI_OK) {
      ck_cli_errorf(cli, "%s", why);
      return rc;
    }
  }
  if (cli->http == NULL &&
      ck_cli_http_new(cli->set.cacert, cli->set.timeout_s, &cli->http, &err) !=
          CK_OK) {
    ck_cli_errorf(cli, "%s", ck_errctx_msg(&err));
    return err.code == CK_ERR_IO ? CK_CLI_LOCAL_IO : CK_CLI_CONN;
  }
  return CK_CLI_OK;
}

int ck_cli_api_call(ck_cli *cli, const char *method, const ck_cli_path *path,
                    const json_t *body, const char *if_match,
                    ck_cli_answer *ans) {
  ck_cli_http_req req;
  ck_cli_http_resp resp;
  ck_errctx err = CK_ERRCTX_INIT;
  char *url = NULL, *text = NULL;
  size_t ulen;
  int rc;

  memset(ans, 0, sizeof *ans);
  memset(&resp, 0, sizeof resp);
  if ((rc = ensure_client(cli)) != CK_CLI_OK)
    return rc;
  if (path->oom || path->s == NULL) {
    ck_cli_errorf(cli, "out of memory");
    return CK_CLI_LOCAL_IO;
  }
  ulen = strlen(cli->set.server) + strlen("/api/v1") + path->len + 1;
  if ((url = malloc(ulen)) == NULL) {
    ck_cli_errorf(cli, "out of memory");
    rc = CK_CLI_LOCAL_IO;
    goto out;
  }
  snprintf(url, ulen, "%s/api/v1%s", cli->set.server, path->s);
  if (body != NULL &&
      (text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
    ck_cli_errorf(cli, "cannot encode the request as JSON");
    rc = CK_CLI_LOCAL_IO;
    goto out;
  }
  memset(&req, 0, sizeof req);
  req.method = method;
  req.url = url;
  req.token = cli->token;
  req.body = text;
  req.body_len = text != NULL ? strlen(text) : 0;
  req.if_match = if_match;
  if (ck_cli_http_do(cli->http, &req, &resp, &err) != CK_OK) {
    ck_cli_errorf(cli, "%s", ck_errctx_msg(&err));
    rc = CK_CLI_CONN;
    goto out;
  }
  if (resp.status < 200 || resp.status > 299) {
    rc = report_failure(cli, &resp);
    goto out;
  }
  ans->status = resp.status;
  if (resp.body_len > 0) {
    json_error_t jerr;
    if (!is_json_type(resp.content_type))
      ck_cli_errorf(cli, "warning: answer has Content-Type '%s', not JSON",
                    resp.content_type);
    ans->json = json_loadb(resp.body, resp.body_len, 0, &jerr);
    if (ans->json == NULL) {
      ck_cli_errorf(cli, "the server's answer (HTTP %ld) is not JSON: %s",
                    resp.status, jerr.text);
      rc = CK_CLI_SERVER;
      goto out;
    }
  }
  rc = CK_CLI_OK;
out:
  if (text != NULL) {
    ck_wipe(text, strlen(text));
    free(text);
  }
  free(url);
  ck_cli_http_resp_clear(&resp);
  if (rc != CK_CLI_OK)
    ck_cli_answer_clear(ans);
  return rc;
}

const char *ck_cli_api_str(const ck_cli *cli, const json_t *obj,
                           const char *key) {
  const char *v = json_string_value(json_object_get(obj, key));

  if (v == NULL)
    ck_cli_errorf(cli, "unexpected answer: no string \"%s\" in it", key);
  return v;
}

int ck_cli_api_print_secret(ck_cli *cli, const json_t *answer) {
  const char *t;

  if (cli->json)
    return ck_cli_out_json(answer);
  if ((t = ck_cli_api_str(cli, answer, "token")) == NULL)
    return CK_CLI_SERVER;
  ck_cli_out_clean(stdout, t, 0);
  fputc('\n', stdout);
  return CK_CLI_OK;
}

/* --------------------------------------------------------- request bodies */

int ck_cli_api_add_strings(json_t *obj, const char *key, const char *const *v,
                           size_t n) {
  json_t *arr = json_array();
  size_t i;

  if (arr == NULL)
    return -1;
  for (i = 0; i < n; i++)
    if (json_array_append_new(arr, json_string(v[i])) != 0) {
      json_decref(arr);
      return -1;
    }
  return json_object_set_new(obj, key, arr);
}

/* Reads the CSR file and returns canonical PEM in *pem (malloc'ed), or an
 * exit code after printing why. */
static int load_csr(ck_cli *cli, const char *path, char **pem) {
  uint8_t *data = NULL;
  size_t len = 0, der_len, pem_len;
  ck_csr *csr = NULL;
  const uint8_t *der;
  ck_errctx err = CK_ERRCTX_INIT;
  int rc = CK_CLI_LOCAL_IO;

  *pem = NULL;
  if (ck_fs_read_file(path, CSR_MAX, &data, &len, &err) != CK_OK) {
    ck_cli_errorf(cli, "cannot read CSR %s: %s", path, ck_errctx_msg(&err));
    goto out;
  }
  if (ck_csr_parse(data, len, &csr, &err) != CK_OK) {
    ck_cli_errorf(cli, "%s is not a certificate signing request: %s", path,
                  ck_errctx_msg(&err));
    goto out;
  }
  der = ck_csr_der(csr, &der_len);
  if (ck_pem_encode("CERTIFICATE REQUEST", der, der_len, pem, &pem_len) !=
      CK_OK) {
    ck_cli_errorf(cli, "out of memory");
    goto out;
  }
  rc = CK_CLI_OK;
out:
  ck_csr_free(csr);
  free(data);
  return rc;
}

int ck_cli_api_csr_body(ck_cli *cli, const char *path, const char *const *kv,
                        json_t **body) {
  char *pem = NULL;
  json_t *b = NULL;
  int rc;

  *body = NULL;
  if ((rc = load_csr(cli, path, &pem)) != CK_CLI_OK)
    return rc;
  b = json_pack("{s:s}", "csr", pem);
  for (; b != NULL && kv != NULL && kv[0] != NULL; kv += 2)
    if (kv[1] != NULL && json_object_set_new(b, kv[0], json_string(kv[1])) != 0)
      goto oom;
  if (b == NULL)
    goto oom;
  free(pem);
  *body = b;
  return CK_CLI_OK;
oom:
  free(pem);
  json_decref(b);
  ck_cli_errorf(cli, "out of memory");
  return CK_CLI_LOCAL_IO;
}
