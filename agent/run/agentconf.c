/* agentconf.c — the agent's configuration file (see agentconf.h): the
 * schema, the checks a schema cannot express (SANs, modes, reload text, ids)
 * and the copy into a plain struct that owns its strings. */
#include "agent/run/agentconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/link/est.h"
#include "agent/link/state.h"
#include "agent/manage/reload.h"
#include "common/crypto/crypto.h"
#include "common/util/log.h"
#include "common/util/log_config.h"

#define CK_AGENTCONF_ROOTS                                                     \
  "/etc/ssl,/etc/pki,/etc/nginx,/etc/apache2,/etc/httpd,/etc/haproxy,"         \
  "/usr/local/etc,/opt"

/* [cert:ID]: shared by the whole file and by cert-only snippets (the
 * coordinator's `command config`, state_dir/assigned.conf). */
#define CK__CERT_KEYS                                                          \
    {"cert:*", "profile", CK_CFG_STRING, NULL, 0, 0, "issuance profile",       \
     NULL},                                                                    \
    {"cert:*", "sans", CK_CFG_LIST, NULL, 0, 0, "DNS:name and IP:addr", NULL}, \
    {"cert:*", "cn", CK_CFG_STRING, NULL, 0, 0,                                \
     "subject common name (default: first DNS SAN)", NULL},                    \
    {"cert:*", "key", CK_CFG_STRING, "ec-p256", 0, 0,                          \
     "key type: ec-p256, ec-p384, rsa-2048..4096, ed25519", NULL},             \
    {"cert:*", "cert_file", CK_CFG_PATH, NULL, 0, 0, "certificate file",       \
     NULL},                                                                    \
    {"cert:*", "key_file", CK_CFG_PATH, NULL, 0, 0,                            \
     "private key file (may equal cert_file)", NULL},                          \
    {"cert:*", "chain_file", CK_CFG_PATH, NULL, 0, 0, "chain file", NULL},     \
    {"cert:*", "fullchain_file", CK_CFG_PATH, NULL, 0, 0,                      \
     "certificate + chain file", NULL},                                        \
    {"cert:*", "owner", CK_CFG_STRING, NULL, 0, 0, "owner of the files", NULL},\
    {"cert:*", "group", CK_CFG_STRING, NULL, 0, 0, "group of the files", NULL},\
    {"cert:*", "mode", CK_CFG_STRING, "0644", 0, 0,                            \
     "mode of certificate files (octal)", NULL},                               \
    {"cert:*", "key_mode", CK_CFG_STRING, "0600", 0, 0,                        \
     "mode of the key file (octal)", NULL},                                    \
    {"cert:*", "reload", CK_CFG_STRING, "none", 0, 0,                          \
     "systemd:UNIT, signal:SIG:PIDFILE, command:ARGV..., or none", NULL},      \
    {"cert:*", "reload_timeout", CK_CFG_DURATION, "30s", 1, 3600,              \
     "time allowed for the reload", NULL},                                     \
    {"cert:*", "verify", CK_CFG_STRING, NULL, 0, 0,                            \
     "HOST:PORT that must serve the new certificate after the reload", NULL},  \
    {"cert:*", "verify_sni", CK_CFG_STRING, NULL, 0, 0,                        \
     "server name sent when verifying (default: cn)", NULL},                   \
    {"cert:*", "verify_timeout", CK_CFG_DURATION, "30s", 1, 3600,              \
     "time allowed for the served certificate to change", NULL},               \
    {"cert:*", "renew_fraction", CK_CFG_STRING, "0.3333", 0, 0,                \
     "renew when this fraction of the lifetime remains, in (0,1)", NULL},      \
    {"cert:*", "renew_before", CK_CFG_DURATION, NULL, 0, 3650 * 86400LL,       \
     "renew this long before expiry (overrides renew_fraction)", NULL},        \
    {"cert:*", "jitter", CK_CFG_DURATION, "1h", 0, 7 * 86400LL,                \
     "random delay added to the renewal time", NULL},

const ck_cfg_key ck_agentconf_keys[] = {
    /* [agent] */
    {"agent", "state_dir", CK_CFG_PATH, CK_STATE_DEFAULT_DIR, 0, 0,
     "state directory written by enroll (identity, outbox, managed state)",
     NULL},
    {"agent", "user", CK_CFG_STRING, NULL, 0, 0,
     "user the net process runs as when started as root", NULL},
    {"agent", "outbox_max_events", CK_CFG_INT, "10000", 1, 10000000,
     "most events kept while the coordinator is unreachable", NULL},
    {"agent", "outbox_max_bytes", CK_CFG_SIZE, "4MiB", 4096,
     1024LL * 1024 * 1024, "most bytes of events kept while offline", NULL},
    {"agent", "reconnect_max", CK_CFG_DURATION, "5m", 1, 86400,
     "longest wait between reconnection attempts", NULL},
    {"agent", "server", CK_CFG_STRING, NULL, 0, 0,
     "coordinator agent gateway HOST:PORT (default: from enroll)", NULL},
    /* [discovery] */
    {"discovery", "roots", CK_CFG_LIST, CK_AGENTCONF_ROOTS, 0, 0,
     "directories scanned for certificates", NULL},
    {"discovery", "include", CK_CFG_LIST, NULL, 0, 0,
     "only paths matching one of these globs", NULL},
    {"discovery", "exclude", CK_CFG_LIST, NULL, 0, 0,
     "skip paths matching these globs", NULL},
    {"discovery", "max_depth", CK_CFG_INT, "32", 0, 1000,
     "directory depth below each root", NULL},
    {"discovery", "rescan", CK_CFG_DURATION, "1d", 60, 366 * 86400LL,
     "interval of full rescans", NULL},
    {"discovery", "watch", CK_CFG_BOOL, "true", 0, 0,
     "watch roots for changes between scans", NULL},
    {"discovery", "probe_endpoints", CK_CFG_BOOL, "true", 0, 0,
     "read the certificates served on local listening TCP ports", NULL},
    {"discovery", "p12_password_file", CK_CFG_PATH, NULL, 0, 0,
     "password tried for PKCS#12 files", NULL},
    {"discovery", "expiring", CK_CFG_DURATION, "30d", 0, 3650 * 86400LL,
     "flag certificates expiring within this time", NULL},
    /* [trust] */
    {"trust", "bundle", CK_CFG_PATH, NULL, 0, 0,
     "write the coordinator CA chain here as PEM", NULL},
    {"trust", "command", CK_CFG_STRING, NULL, 0, 0,
     "run after the bundle changed (argv split on spaces, no shell)", NULL},
    /* [est]: EST mode */
    {"est", "url", CK_CFG_STRING, NULL, 0, 0,
     "EST server: https://HOST:PORT/.well-known/est[/LABEL]", NULL},
    {"est", "ca_fingerprint", CK_CFG_STRING, NULL, 0, 0,
     "SHA-256 of a CA certificate the server's /cacerts must hold", NULL},
    {"est", "fleet", CK_CFG_STRING, NULL, 0, 0,
     "fleet name (HTTP Basic user)", NULL},
    {"est", "secret_file", CK_CFG_PATH, NULL, 0, 0,
     "fleet secret or one-time password (file mode 0600)", NULL},
    {"est", "idevid_cert", CK_CFG_PATH, NULL, 0, 0,
     "device identity certificate (PEM) for simpleenroll", NULL},
    {"est", "idevid_key", CK_CFG_PATH, NULL, 0, 0, "its private key", NULL},
    {"est", "timeout", CK_CFG_DURATION, "30s", 1, 3600,
     "time allowed for one EST request", NULL},
    /* [cert:ID] */
    CK__CERT_KEYS
    {NULL, NULL, 0, NULL, 0, 0, NULL, ck_log_cfg_keys},
};

/* Schema of a cert-only snippet: any other section is unknown. */
static const ck_cfg_key ck__cert_only_keys[] = {
    CK__CERT_KEYS{NULL, NULL, 0, NULL, 0, 0, NULL, NULL},
};

/* Schema of state_dir/agent.conf as written by enroll (state.c). */
static const ck_cfg_key ck__state_keys[] = {
    {"agent", "id", CK_CFG_STRING, NULL, 0, 0, "agent id", NULL},
    {"agent", "server", CK_CFG_STRING, NULL, 0, 0, "coordinator", NULL},
    {"agent", "ca_fingerprint", CK_CFG_STRING, NULL, 0, 0, "CA pin", NULL},
    {"agent", "enrolled_at", CK_CFG_INT, NULL, 0, 0, "epoch seconds", NULL},
    {NULL, NULL, 0, NULL, 0, 0, NULL, NULL},
};

/* ---- small helpers ------------------------------------------------------ */

static ck_err ck__dup(const char *s, char **out) {
  *out = NULL;
  if (s == NULL)
    return CK_OK;
  *out = strdup(s);
  return *out != NULL ? CK_OK : CK_ERR_NOMEM;
}

static void ck__strv_free(char **v, size_t n) {
  size_t i;

  if (v == NULL)
    return;
  for (i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* Copies n strings into a new owned array. */
static ck_err ck__strv_dup(const char *const *items, size_t n, char ***out,
                           size_t *nout) {
  char **v;
  size_t i;

  *out = NULL;
  *nout = 0;
  if (n == 0)
    return CK_OK;
  v = calloc(n, sizeof *v);
  if (v == NULL)
    return CK_ERR_NOMEM;
  for (i = 0; i < n; i++)
    if ((v[i] = strdup(items[i])) == NULL) {
      ck__strv_free(v, i);
      return CK_ERR_NOMEM;
    }
  *out = v;
  *nout = n;
  return CK_OK;
}

/* Splits a comma list (the schema default of a LIST key) into an owned
 * array; the config getter returns no items for an unset key. */
static ck_err ck__strv_split(const char *text, char ***out, size_t *nout) {
  const char *p = text;
  char **v = NULL, **nv;
  size_t n = 0;

  *out = NULL;
  *nout = 0;
  while (p != NULL && *p != '\0') {
    const char *e = strchr(p, ',');
    size_t len = e != NULL ? (size_t)(e - p) : strlen(p);

    if (len > 0) {
      nv = realloc(v, (n + 1) * sizeof *nv);
      if (nv == NULL)
        goto nomem;
      v = nv;
      if ((v[n] = strndup(p, len)) == NULL)
        goto nomem;
      n++;
    }
    p = e != NULL ? e + 1 : NULL;
  }
  *out = v;
  *nout = n;
  return CK_OK;
nomem:
  ck__strv_free(v, n);
  return CK_ERR_NOMEM;
}

/* "HOST:PORT" or "[V6]:PORT" with a port in 1..65535 and a non-empty host
 * made of name or address characters. */
static int ck__hostport_ok(const char *s) {
  const char *colon, *p;
  char *end = NULL;
  long port;

  if (s == NULL || s[0] == '\0')
    return 0;
  colon = strrchr(s, ':');
  if (colon == NULL || colon == s)
    return 0;
  if (s[0] == '[') {
    if (colon[-1] != ']' || colon - s < 3)
      return 0;
  } else {
    for (p = s; p < colon; p++)
      if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
        return 0;
  }
  errno = 0;
  port = strtol(colon + 1, &end, 10);
  return errno == 0 && end != colon + 1 && *end == '\0' && port >= 1 &&
         port <= 65535;
}

/* [cert:ID] ids name directories: DIR/managed/<id>/. */
static int ck__id_ok(const char *id) {
  size_t i, n = strlen(id);

  if (n == 0 || n > 64 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
    return 0;
  for (i = 0; i < n; i++)
    if (!isalnum((unsigned char)id[i]) && id[i] != '.' && id[i] != '-' &&
        id[i] != '_')
      return 0;
  return 1;
}

static int ck__dns_ok(const char *s) {
  size_t i, n = strlen(s);

  if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-')
    return 0;
  for (i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.' &&
        !(s[i] == '*' && i == 0 && n > 2 && s[1] == '.'))
      return 0;
  return 1;
}

static int ck__ip_ok(const char *s) {
  unsigned char buf[16];

  return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Octal permission bits "0644" / "600". */
static int ck__mode_parse(const char *s, unsigned *out) {
  char *end = NULL;
  unsigned long v;
  const char *p;

  if (s == NULL || s[0] == '\0')
    return 0;
  for (p = s; *p; p++)
    if (*p < '0' || *p > '7')
      return 0;
  errno = 0;
  v = strtoul(s, &end, 8);
  if (errno != 0 || *end != '\0' || v > 07777)
    return 0;
  *out = (unsigned)v;
  return 1;
}

/* ---- loading ------------------------------------------------------------ */

typedef struct ck__ld {
  const ck_config *c;
  ck_errctx *err;
  char where[600];
} ck__ld;

static const char *ck__where(ck__ld *l, const char *sec, const char *key) {
  return ck_config_where(l->c, sec, key, l->where, sizeof l->where);
}

static ck_err ck__bad(ck__ld *l, const char *sec, const char *key,
                      const char *what, const char *val) {
  return ck_setf(l->err, CK_ERR_CONFIG, "%s: [%s] %s: %s%s%s%s",
                 ck__where(l, sec, key), sec, key, what,
                 val != NULL ? " ('" : "", val != NULL ? val : "",
                 val != NULL ? "')" : "");
}

/* Optional string: *out NULL when unset and without default. */
static ck_err ck__str(ck__ld *l, const char *sec, const char *key,
                      char **out) {
  const char *v = NULL;
  ck_err rc = ck_config_str(l->c, sec, key, &v);

  *out = NULL;
  if (rc == CK_ERR_NOENT)
    return CK_OK;
  if (rc != CK_OK)
    return ck_setf(l->err, CK_ERR_INTERNAL, "[%s] %s not in the schema", sec,
                   key);
  if (ck__dup(v, out) != CK_OK)
    return ck_setf(l->err, CK_ERR_NOMEM, "out of memory");
  return CK_OK;
}

static ck_err ck__num(ck__ld *l, const char *sec, const char *key,
                      int64_t *out) {
  ck_err rc = ck_config_num(l->c, sec, key, out);

  if (rc == CK_ERR_NOENT) {
    *out = 0;
    return CK_OK;
  }
  if (rc != CK_OK)
    return ck_setf(l->err, CK_ERR_INTERNAL, "[%s] %s not in the schema", sec,
                   key);
  return CK_OK;
}

static ck_err ck__bool(ck__ld *l, const char *sec, const char *key,
                       int *out) {
  if (ck_config_bool(l->c, sec, key, out) != CK_OK)
    return ck_setf(l->err, CK_ERR_INTERNAL, "[%s] %s not in the schema", sec,
                   key);
  return CK_OK;
}

/* LIST: the items set, else the default split, else none. */
static ck_err ck__list(ck__ld *l, const char *sec, const char *key,
                       const char *def, char ***out, size_t *n) {
  const char *const *items = NULL;
  size_t ni = 0;
  ck_err rc = ck_config_list(l->c, sec, key, &items, &ni);

  if (rc != CK_OK && rc != CK_ERR_NOENT)
    return ck_setf(l->err, CK_ERR_INTERNAL, "[%s] %s not in the schema", sec,
                   key);
  rc = ni > 0 ? ck__strv_dup(items, ni, out, n)
              : (def != NULL ? ck__strv_split(def, out, n) : CK_OK);
  if (rc != CK_OK)
    return ck_setf(l->err, CK_ERR_NOMEM, "out of memory");
  return CK_OK;
}

static ck_err ck__abs_path(ck__ld *l, const char *sec, const char *key,
                           const char *v) {
  if (v != NULL && v[0] != '/')
    return ck__bad(l, sec, key, "must be an absolute path", v);
  return CK_OK;
}

static ck_err ck__load_cert(ck__ld *l, const char *sec, ck_agentconf_cert *c) {
  static const char *const required[] = {"profile", "cert_file", "key_file"};
  char *mode = NULL, *key_mode = NULL, *frac = NULL, *end = NULL;
  ck_key_spec ks;
  ck_errctx kerr = CK_ERRCTX_INIT;
  size_t i;
  ck_err rc;

  if ((rc = ck__dup(sec + 5, &c->id)) != CK_OK)
    return ck_setf(l->err, rc, "out of memory");
  if (!ck__id_ok(c->id))
    return ck_setf(l->err, CK_ERR_CONFIG,
                   "%s: [%s]: the id must be 1..64 characters of A-Z a-z 0-9 "
                   ". - _",
                   ck__where(l, sec, "profile"), sec);
  if ((rc = ck__dup(ck__where(l, sec, "profile"), &c->where)) != CK_OK)
    return ck_setf(l->err, rc, "out of memory");
  if ((rc = ck__str(l, sec, "profile", &c->profile)) != CK_OK ||
      (rc = ck__list(l, sec, "sans", NULL, &c->sans, &c->n_sans)) != CK_OK ||
      (rc = ck__str(l, sec, "cn", &c->cn)) != CK_OK ||
      (rc = ck__str(l, sec, "key", &c->key)) != CK_OK ||
      (rc = ck__str(l, sec, "cert_file", &c->cert_file)) != CK_OK ||
      (rc = ck__str(l, sec, "key_file", &c->key_file)) != CK_OK ||
      (rc = ck__str(l, sec, "chain_file", &c->chain_file)) != CK_OK ||
      (rc = ck__str(l, sec, "fullchain_file", &c->fullchain_file)) != CK_OK ||
      (rc = ck__str(l, sec, "owner", &c->owner)) != CK_OK ||
      (rc = ck__str(l, sec, "group", &c->group)) != CK_OK ||
      (rc = ck__str(l, sec, "reload", &c->reload)) != CK_OK ||
      (rc = ck__num(l, sec, "reload_timeout", &c->reload_timeout)) != CK_OK ||
      (rc = ck__str(l, sec, "verify", &c->verify)) != CK_OK ||
      (rc = ck__str(l, sec, "verify_sni", &c->verify_sni)) != CK_OK ||
      (rc = ck__num(l, sec, "verify_timeout", &c->verify_timeout)) != CK_OK ||
      (rc = ck__num(l, sec, "renew_before", &c->renew_before)) != CK_OK ||
      (rc = ck__num(l, sec, "jitter", &c->jitter)) != CK_OK)
    goto out;
  {
    const char *vals[3] = {c->profile, c->cert_file, c->key_file};
    for (i = 0; i < 3; i++)
      if (vals[i] == NULL || vals[i][0] == '\0') {
        rc = ck_setf(l->err, CK_ERR_CONFIG, "%s: [%s] %s: required",
                     c->where, sec, required[i]);
        goto out;
      }
  }
  if (c->n_sans == 0) {
    rc = ck_setf(l->err, CK_ERR_CONFIG,
                 "%s: [%s] sans: required (e.g. sans = DNS:www.example.com)",
                 c->where, sec);
    goto out;
  }
  for (i = 0; i < c->n_sans; i++) {
    const char *s = c->sans[i];
    if (strncmp(s, "DNS:", 4) == 0 && ck__dns_ok(s + 4)) {
      if (c->cn == NULL && (rc = ck__dup(s + 4, &c->cn)) != CK_OK) {
        rc = ck_setf(l->err, rc, "out of memory");
        goto out;
      }
      continue;
    }
    if (strncmp(s, "IP:", 3) == 0 && ck__ip_ok(s + 3))
      continue;
    rc = ck__bad(l, sec, "sans",
                 "each entry must be DNS:name or IP:address", s);
    goto out;
  }
  if ((rc = ck__abs_path(l, sec, "cert_file", c->cert_file)) != CK_OK ||
      (rc = ck__abs_path(l, sec, "key_file", c->key_file)) != CK_OK ||
      (rc = ck__abs_path(l, sec, "chain_file", c->chain_file)) != CK_OK ||
      (rc = ck__abs_path(l, sec, "fullchain_file", c->fullchain_file)) !=
          CK_OK)
    goto out;
  if (ck_key_spec_parse(c->key, &ks, &kerr) != CK_OK) {
    rc = ck__bad(l, sec, "key",
                 "not a key type (ec-p256, ec-p384, rsa-2048..4096, ed25519)",
                 c->key);
    goto out;
  }
  if ((rc = ck__str(l, sec, "mode", &mode)) != CK_OK ||
      (rc = ck__str(l, sec, "key_mode", &key_mode)) != CK_OK ||
      (rc = ck__str(l, sec, "renew_fraction", &frac)) != CK_OK)
    goto out;
  if (!ck__mode_parse(mode, &c->mode)) {
    rc = ck__bad(l, sec, "mode", "not octal permission bits like 0644", mode);
    goto out;
  }
  if (!ck__mode_parse(key_mode, &c->key_mode)) {
    rc = ck__bad(l, sec, "key_mode", "not octal permission bits like 0600",
                 key_mode);
    goto out;
  }
  if ((c->key_mode & 0007) != 0) {
    rc = ck__bad(l, sec, "key_mode",
                 "a private key must not be accessible to others", key_mode);
    goto out;
  }
  errno = 0;
  c->renew_fraction = strtod(frac, &end);
  if (errno != 0 || end == frac || *end != '\0' || !(c->renew_fraction > 0) ||
      !(c->renew_fraction < 1)) {
    rc = ck__bad(l, sec, "renew_fraction", "must be a number in (0,1)", frac);
    goto out;
  }
  {
    ck_reload r;
    ck_errctx rerr = CK_ERRCTX_INIT;

    memset(&r, 0, sizeof r);
    if (ck_reload_parse(c->reload, &r, &rerr) != CK_OK) {
      rc = ck__bad(l, sec, "reload", ck_errctx_msg(&rerr), c->reload);
      goto out;
    }
    ck_reload_free(&r);
  }
  if (c->verify != NULL && !ck__hostport_ok(c->verify)) {
    rc = ck__bad(l, sec, "verify", "not HOST:PORT", c->verify);
    goto out;
  }
  rc = CK_OK;
out:
  free(mode);
  free(key_mode);
  free(frac);
  return rc;
}

/* Reads state_dir/agent.conf (enroll). Absent: not enrolled, no error. */
static ck_err ck__load_state(ck_agentconf *cfg, ck_errctx *err) {
  char path[4096];
  ck_config *sc = NULL;
  const char *v;
  ck_err rc;

  if (snprintf(path, sizeof path, "%s/%s", cfg->state_dir,
               CK_STATE_CONF_FILE) >= (int)sizeof path)
    return ck_setf(err, CK_ERR_CONFIG, "state_dir: path too long");
  rc = ck_config_load(path, ck__state_keys, &sc, err);
  if (rc == CK_ERR_NOENT) {
    ck_errctx_clear(err);
    return CK_OK;
  }
  if (rc != CK_OK)
    return ck_failf(err, rc == CK_ERR_NOMEM ? rc : CK_ERR_CONFIG,
                    "reading the enrollment");
  if (ck_config_str(sc, "agent", "id", &v) == CK_OK &&
      (rc = ck__dup(v, &cfg->agent_id)) != CK_OK)
    goto nomem;
  if (ck_config_str(sc, "agent", "ca_fingerprint", &v) == CK_OK && v[0] &&
      (rc = ck__dup(v, &cfg->ca_fingerprint)) != CK_OK)
    goto nomem;
  if (cfg->server == NULL && ck_config_str(sc, "agent", "server", &v) == CK_OK &&
      (rc = ck__dup(v, &cfg->server)) != CK_OK)
    goto nomem;
  if (cfg->agent_id == NULL || cfg->server == NULL) {
    rc = ck_setf(err, CK_ERR_CONFIG, "%s: [agent] id and server are required "
                                     "(enroll again with --force)",
                 path);
    goto out;
  }
  cfg->enrolled = 1;
  rc = CK_OK;
  goto out;
nomem:
  rc = ck_setf(err, CK_ERR_NOMEM, "out of memory");
out:
  ck_config_free(sc);
  return rc;
}

static ck_err ck__fill_certs(ck_agentconf *cfg, ck_errctx *err);

/* [est]: all or nothing, checked here so `run` fails before forking. */
static ck_err ck__est(ck__ld *l, ck_agentconf *cfg) {
  uint8_t pin[CK_SHA256_LEN];
  ck_est_url u;
  ck_errctx uerr = CK_ERRCTX_INIT;
  ck_err rc;

  if ((rc = ck__str(l, "est", "url", &cfg->est_url)) != CK_OK ||
      (rc = ck__str(l, "est", "ca_fingerprint", &cfg->est_ca_fingerprint)) !=
          CK_OK ||
      (rc = ck__str(l, "est", "fleet", &cfg->est_fleet)) != CK_OK ||
      (rc = ck__str(l, "est", "secret_file", &cfg->est_secret_file)) !=
          CK_OK ||
      (rc = ck__str(l, "est", "idevid_cert", &cfg->est_idevid_cert)) !=
          CK_OK ||
      (rc = ck__str(l, "est", "idevid_key", &cfg->est_idevid_key)) != CK_OK ||
      (rc = ck__num(l, "est", "timeout", &cfg->est_timeout)) != CK_OK)
    return rc;
  if (cfg->est_url == NULL) {
    if (cfg->est_ca_fingerprint != NULL || cfg->est_fleet != NULL ||
        cfg->est_secret_file != NULL || cfg->est_idevid_cert != NULL ||
        cfg->est_idevid_key != NULL)
      return ck__bad(l, "est", "url", "required in an [est] section", NULL);
    return CK_OK;
  }
  if (ck_est_url_parse(cfg->est_url, &u, &uerr) != CK_OK)
    return ck__bad(l, "est", "url", ck_errctx_msg(&uerr), NULL);
  if (cfg->est_ca_fingerprint == NULL)
    return ck__bad(l, "est", "ca_fingerprint",
                   "required: the SHA-256 of the CA to trust", NULL);
  if (ck_crypto_fingerprint_parse(cfg->est_ca_fingerprint, pin) != CK_OK)
    return ck__bad(l, "est", "ca_fingerprint", "not 64 hex digits",
                   cfg->est_ca_fingerprint);
  if ((cfg->est_fleet != NULL) != (cfg->est_secret_file != NULL))
    return ck__bad(l, "est", cfg->est_fleet ? "secret_file" : "fleet",
                   "fleet and secret_file go together", NULL);
  if ((cfg->est_idevid_cert != NULL) != (cfg->est_idevid_key != NULL))
    return ck__bad(l, "est",
                   cfg->est_idevid_cert ? "idevid_key" : "idevid_cert",
                   "idevid_cert and idevid_key go together", NULL);
  if (cfg->est_fleet == NULL && cfg->est_idevid_cert == NULL)
    return ck__bad(l, "est", "fleet",
                   "give fleet + secret_file or idevid_cert + idevid_key",
                   NULL);
  if (cfg->est_fleet != NULL &&
      (cfg->est_fleet[0] == '\0' || strchr(cfg->est_fleet, ':') != NULL))
    return ck__bad(l, "est", "fleet", "empty or contains ':'",
                   cfg->est_fleet);
  if ((rc = ck__abs_path(l, "est", "secret_file", cfg->est_secret_file)) !=
          CK_OK ||
      (rc = ck__abs_path(l, "est", "idevid_cert", cfg->est_idevid_cert)) !=
          CK_OK ||
      (rc = ck__abs_path(l, "est", "idevid_key", cfg->est_idevid_key)) !=
          CK_OK)
    return rc;
  return CK_OK;
}

static ck_err ck__fill(ck_agentconf *cfg, ck_errctx *err) {
  ck__ld l;
  size_t i;
  int64_t v;
  ck_err rc;

  l.c = cfg->raw;
  l.err = err;
  if ((rc = ck__str(&l, "agent", "state_dir", &cfg->state_dir)) != CK_OK ||
      (rc = ck__str(&l, "agent", "user", &cfg->user)) != CK_OK ||
      (rc = ck__num(&l, "agent", "outbox_max_events",
                    &cfg->outbox_max_events)) != CK_OK ||
      (rc = ck__num(&l, "agent", "outbox_max_bytes",
                    &cfg->outbox_max_bytes)) != CK_OK ||
      (rc = ck__num(&l, "agent", "reconnect_max", &cfg->reconnect_max)) !=
          CK_OK ||
      (rc = ck__str(&l, "agent", "server", &cfg->server)) != CK_OK)
    return rc;
  if ((rc = ck__abs_path(&l, "agent", "state_dir", cfg->state_dir)) != CK_OK)
    return rc;
  if (cfg->server != NULL && !ck__hostport_ok(cfg->server))
    return ck__bad(&l, "agent", "server", "not HOST:PORT", cfg->server);
  if (cfg->user != NULL && cfg->user[0] == '\0')
    return ck__bad(&l, "agent", "user", "empty user name", NULL);

  if ((rc = ck__list(&l, "discovery", "roots", CK_AGENTCONF_ROOTS,
                     &cfg->roots, &cfg->n_roots)) != CK_OK ||
      (rc = ck__list(&l, "discovery", "include", NULL, &cfg->include,
                     &cfg->n_include)) != CK_OK ||
      (rc = ck__list(&l, "discovery", "exclude", NULL, &cfg->exclude,
                     &cfg->n_exclude)) != CK_OK ||
      (rc = ck__num(&l, "discovery", "max_depth", &v)) != CK_OK ||
      (rc = ck__num(&l, "discovery", "rescan", &cfg->rescan)) != CK_OK ||
      (rc = ck__bool(&l, "discovery", "watch", &cfg->watch)) != CK_OK ||
      (rc = ck__bool(&l, "discovery", "probe_endpoints",
                     &cfg->probe_endpoints)) != CK_OK ||
      (rc = ck__str(&l, "discovery", "p12_password_file",
                    &cfg->p12_password_file)) != CK_OK ||
      (rc = ck__num(&l, "discovery", "expiring", &cfg->expiring)) != CK_OK)
    return rc;
  cfg->max_depth = (int)v;
  for (i = 0; i < cfg->n_roots; i++)
    if (cfg->roots[i][0] != '/')
      return ck__bad(&l, "discovery", "roots", "must be absolute paths",
                     cfg->roots[i]);

  if ((rc = ck__str(&l, "trust", "bundle", &cfg->trust_bundle)) != CK_OK ||
      (rc = ck__str(&l, "trust", "command", &cfg->trust_command)) != CK_OK)
    return rc;
  if ((rc = ck__abs_path(&l, "trust", "bundle", cfg->trust_bundle)) != CK_OK)
    return rc;
  if (cfg->trust_command != NULL && cfg->trust_command[0] == '\0')
    return ck__bad(&l, "trust", "command", "empty command", NULL);

  if ((rc = ck__est(&l, cfg)) != CK_OK)
    return rc;

  /* [log] is applied later (ck_log_config_apply); refuse typos now */
  {
    const char *lv = NULL, *fm = NULL;
    ck_log_level lvl;
    ck_log_format fmt;

    if (ck_config_str(cfg->raw, "log", "level", &lv) == CK_OK &&
        ck_log_level_parse(lv, &lvl) != CK_OK)
      return ck__bad(&l, "log", "level",
                     "not one of debug, info, notice, warn, error, crit", lv);
    if (ck_config_str(cfg->raw, "log", "format", &fm) == CK_OK &&
        ck_log_format_parse(fm, &fmt) != CK_OK)
      return ck__bad(&l, "log", "format", "not kv or json", fm);
  }

  if ((rc = ck__fill_certs(cfg, err)) != CK_OK)
    return rc;
  return ck__load_state(cfg, err);
}

/* [cert:ID] sections, in file order, into cfg->certs. */
static ck_err ck__fill_certs(ck_agentconf *cfg, ck_errctx *err) {
  ck__ld l;
  const char *const *secs = NULL;
  size_t n = 0, i;
  ck_err rc;

  l.c = cfg->raw;
  l.err = err;
  if (ck_config_sections(cfg->raw, "cert:*", &secs, &n) != CK_OK)
    return ck_setf(err, CK_ERR_NOMEM, "out of memory");
  if (n > 0) {
    cfg->certs = calloc(n, sizeof *cfg->certs);
    if (cfg->certs == NULL)
      return ck_setf(err, CK_ERR_NOMEM, "out of memory");
  }
  for (i = 0; i < n; i++) {
    rc = ck__load_cert(&l, secs[i], &cfg->certs[i]);
    cfg->n_certs = i + 1; /* freed with cfg even when half filled */
    if (rc != CK_OK)
      return rc;
  }
  return CK_OK;
}

/* certs_only: a snippet of [cert:ID] sections (ck_agentconf_load_certs). */
static ck_err ck__finish(ck_config *raw, const char *name, int certs_only,
                         ck_agentconf **out, ck_errctx *err) {
  ck_agentconf *cfg = calloc(1, sizeof *cfg);
  ck_err rc;

  if (cfg == NULL || (cfg->path = strdup(name)) == NULL) {
    free(cfg);
    ck_config_free(raw);
    return ck_setf(err, CK_ERR_NOMEM, "out of memory");
  }
  cfg->raw = raw;
  rc = certs_only ? ck__fill_certs(cfg, err) : ck__fill(cfg, err);
  if (rc != CK_OK) {
    ck_agentconf_free(cfg);
    return rc;
  }
  *out = cfg;
  return CK_OK;
}

ck_err ck_agentconf_load(const char *path, ck_agentconf **out,
                         ck_errctx *err) {
  ck_config *raw = NULL;
  ck_err rc;

  if (out == NULL)
    return ck_failf(err, CK_ERR_INVAL, "agentconf: bad arguments");
  *out = NULL;
  if (path == NULL)
    path = CK_AGENTCONF_DEFAULT_PATH;
  if ((rc = ck_config_load(path, ck_agentconf_keys, &raw, err)) != CK_OK)
    return rc;
  return ck__finish(raw, path, 0, out, err);
}

ck_err ck_agentconf_load_string(const char *name, const char *text,
                                ck_agentconf **out, ck_errctx *err) {
  ck_config *raw = NULL;
  ck_err rc;

  if (out == NULL || name == NULL || text == NULL)
    return ck_failf(err, CK_ERR_INVAL, "agentconf: bad arguments");
  *out = NULL;
  if ((rc = ck_config_load_string(name, text, ck_agentconf_keys, &raw,
                                  err)) != CK_OK)
    return rc;
  return ck__finish(raw, name, 0, out, err);
}

ck_err ck_agentconf_load_certs(const char *name, const char *text,
                               ck_agentconf **out, ck_errctx *err) {
  ck_config *raw = NULL;
  ck_err rc;

  if (out == NULL || name == NULL || text == NULL)
    return ck_failf(err, CK_ERR_INVAL, "agentconf: bad arguments");
  *out = NULL;
  if ((rc = ck_config_load_string(name, text, ck__cert_only_keys, &raw,
                                  err)) != CK_OK)
    return rc;
  return ck__finish(raw, name, 1, out, err);
}

const ck_agentconf_cert *ck_agentconf_find(const ck_agentconf *cfg,
                                           const char *id) {
  size_t i;

  if (cfg == NULL || id == NULL)
    return NULL;
  for (i = 0; i < cfg->n_certs; i++)
    if (cfg->certs[i].id != NULL && strcmp(cfg->certs[i].id, id) == 0)
      return &cfg->certs[i];
  return NULL;
}

static void ck__cert_free(ck_agentconf_cert *c) {
  free(c->id);
  free(c->where);
  free(c->profile);
  ck__strv_free(c->sans, c->n_sans);
  free(c->cn);
  free(c->key);
  free(c->cert_file);
  free(c->key_file);
  free(c->chain_file);
  free(c->fullchain_file);
  free(c->owner);
  free(c->group);
  free(c->reload);
  free(c->verify);
  free(c->verify_sni);
}

void ck_agentconf_free(ck_agentconf *cfg) {
  size_t i;

  if (cfg == NULL)
    return;
  for (i = 0; i < cfg->n_certs; i++)
    ck__cert_free(&cfg->certs[i]);
  free(cfg->certs);
  free(cfg->path);
  free(cfg->state_dir);
  free(cfg->user);
  free(cfg->server);
  free(cfg->agent_id);
  free(cfg->ca_fingerprint);
  ck__strv_free(cfg->roots, cfg->n_roots);
  ck__strv_free(cfg->include, cfg->n_include);
  ck__strv_free(cfg->exclude, cfg->n_exclude);
  free(cfg->p12_password_file);
  free(cfg->trust_bundle);
  free(cfg->trust_command);
  free(cfg->est_url);
  free(cfg->est_ca_fingerprint);
  free(cfg->est_fleet);
  free(cfg->est_secret_file);
  free(cfg->est_idevid_cert);
  free(cfg->est_idevid_key);
  ck_config_free(cfg->raw);
  free(cfg);
}
