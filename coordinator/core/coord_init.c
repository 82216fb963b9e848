/* coord_init.c — `certkeeper-coordinator init`: creates a data directory
 * with its configuration, store, CAs, TLS certificate, default profiles and
 * the first admin API token (shown once, stored hashed). Refuses to touch a
 * directory that already holds a coordinator or a CA key. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto/certgen.h"
#include "common/util/clock.h"
#include "common/util/fs.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/ca/ca.h"
#include "coordinator/core/coord.h"
#include "coordinator/core/secret.h"
#include "coordinator/policy/profile.h"
#include "coordinator/store/store.h"

#define YEAR (365LL * 86400)

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static ck_err write_config(const ck_coord_init_opts *o, ck_errctx *err) {
  char path[4200], text[2048];
  int n;

  ck_coord_path(o->data_dir, CK_COORD_CONF, path, sizeof path);
  n = snprintf(text, sizeof text,
               "# certkeeper coordinator configuration (docs/coordinator.md)\n"
               "[listen]\n"
               "http = %s\n"
               "https = %s\n"
               "gateway = %s\n"
               "\n"
               "[store]\n"
               "sync = normal\n"
               "\n"
               "[log]\n"
               "ops = auto\n"
               "security = auto\n"
               "format = kv\n"
               "level = info\n",
               o->listen_http ? o->listen_http : "127.0.0.1:8080",
               o->listen_https ? o->listen_https : "127.0.0.1:8443",
               o->listen_gateway ? o->listen_gateway : "127.0.0.1:8444");
  if (n < 0 || (size_t)n >= sizeof text)
    return ck_failf(err, CK_ERR_RANGE, "configuration too long");
  return ck_fs_write_atomic(path, text, (size_t)n, 0600, err);
}

/* Issues the coordinator's own TLS certificate (HTTPS and gateway) from the
 * issuing CA: localhost, 127.0.0.1, ::1 and the host name. */
static ck_err make_tls_cert(const char *dir, const ck_cert *ca_cert,
                            const ck_key *ca_key, const char *chain_pem,
                            ck_errctx *err) {
  ck_key_spec spec;
  ck_key *key = NULL;
  ck_cert *cert = NULL;
  ck_certgen_issuer *iss = NULL;
  ck_certgen_tmpl t;
  uint8_t serial[CK_CERTGEN_SERIAL_LEN];
  char host[256] = "", path[4200], *kpem = NULL, *cpem = NULL, *both = NULL;
  size_t kpem_len = 0, cpem_len = 0, der_len, chain_len = strlen(chain_pem);
  ck_san sans[4];
  ck_name_attr cn = {"CN", "certkeeper coordinator"};
  const char *eku[] = {"serverAuth"};
  const uint8_t *der;
  int64_t now = ck_clock_now();
  size_t nsans = 3;
  ck_err rc;

  sans[0].type = CK_SAN_DNS;
  sans[0].value = "localhost";
  sans[1].type = CK_SAN_IP;
  sans[1].value = "127.0.0.1";
  sans[2].type = CK_SAN_IP;
  sans[2].value = "::1";
  if (gethostname(host, sizeof host - 1) == 0 && host[0] != '\0' &&
      strcmp(host, "localhost") != 0 && strspn(host, "abcdefghijklmnopqrstuvwxyz"
                                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                     "0123456789-.") == strlen(host)) {
    sans[3].type = CK_SAN_DNS;
    sans[3].value = host;
    nsans = 4;
  }
  if ((rc = ck_key_spec_parse("ec-p256", &spec, err)) != CK_OK ||
      (rc = ck_key_generate(&spec, &key, err)) != CK_OK ||
      (rc = ck_certgen_random_serial(serial)) != CK_OK ||
      (rc = ck_certgen_issuer_new(ca_cert, ca_key, &iss, err)) != CK_OK)
    goto out;
  memset(&t, 0, sizeof t);
  t.subject = &cn;
  t.n_subject = 1;
  t.pubkey = key;
  t.sans = sans;
  t.n_sans = nsans;
  t.serial = serial;
  t.serial_len = sizeof serial;
  t.not_before = now - 300;
  t.not_after = now + YEAR;
  t.path_len = -1;
  t.key_usage = CK_KU_DIGITAL_SIGNATURE;
  t.eku = eku;
  t.n_eku = 1;
  if ((rc = ck_certgen_issue(iss, &t, &cert, err)) != CK_OK)
    goto out;
  if ((rc = ck_key_export_pem(key, CK_KEY_PEM_PKCS8, &kpem, &kpem_len, err)) != CK_OK)
    goto out;
  snprintf(path, sizeof path, "%s/tls/server.key", dir);
  if ((rc = ck_fs_write_atomic(path, kpem, kpem_len, 0600, err)) != CK_OK)
    goto out;
  der = ck_cert_der(cert, &der_len);
  if ((rc = ck_pem_encode("CERTIFICATE", der, der_len, &cpem, &cpem_len)) != CK_OK)
    goto out;
  both = malloc(cpem_len + chain_len + 1);
  if (both == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "TLS chain");
    goto out;
  }
  memcpy(both, cpem, cpem_len);
  memcpy(both + cpem_len, chain_pem, chain_len + 1);
  snprintf(path, sizeof path, "%s/tls/server.crt", dir);
  rc = ck_fs_write_atomic(path, both, cpem_len + chain_len, 0644, err);
out:
  if (kpem != NULL)
    ck_crypto_free_secret(kpem, kpem_len);
  free(cpem);
  free(both);
  ck_certgen_issuer_free(iss);
  ck_cert_free(cert);
  ck_key_free(key);
  return rc;
}

static ck_err add_ca(ck_store_write *w, const char *name, const ck_cert *cert,
                     const char *key_path, int64_t parent, int is_default,
                     ck_errctx *err) {
  ck_store_ca ca;
  ck_audit_event ev;
  const ck_cert_info *ci = ck_cert_get_info(cert);
  char details[1024];
  ck_err rc;

  memset(&ca, 0, sizeof ca);
  ca.name = name;
  ca.cert_der = ck_cert_der(cert, &ca.cert_der_len);
  ca.key_path = key_path;
  ca.parent_id = parent;
  ca.is_default = is_default;
  ca.next_crl_number = 1;
  if ((rc = ck_store_write_ca_put(w, &ca, err)) != CK_OK)
    return rc;
  snprintf(details, sizeof details, "{\"fingerprint\":\"%s\",\"default\":%s}",
           ci->sha256_hex, is_default ? "true" : "false");
  memset(&ev, 0, sizeof ev);
  ev.actor = "system:init";
  ev.action = "ca.create";
  ev.object_type = "ca";
  ev.object_id = name;
  ev.details = details;
  return ck_store_write_audit(w, &ev, err);
}

static ck_err add_profile(ck_store_write *w, const char *name, const char *body,
                          ck_errctx *err) {
  ck_store_profile p;
  ck_audit_event ev;
  ck_err rc;

  memset(&p, 0, sizeof p);
  p.name = name;
  p.body = body;
  p.actor = "system:init";
  if ((rc = ck_store_write_profile_put(w, &p, 0, err)) != CK_OK)
    return rc;
  memset(&ev, 0, sizeof ev);
  ev.actor = "system:init";
  ev.action = "profile.create";
  ev.object_type = "profile";
  ev.object_id = name;
  ev.details = "";
  return ck_store_write_audit(w, &ev, err);
}

/* Reads and checks an imported CA before anything is created: the first
 * certificate of cert_path is the CA we sign with, further certificates in
 * the file are its parents (each must have issued the one before it, and
 * all must be valid now); the key of key_path must be the first one's. */
static ck_err import_ca(const ck_coord_init_opts *o, ck_cert_list *chain,
                        ck_key **key, ck_errctx *err) {
  uint8_t *buf = NULL;
  size_t len, i;
  ck_cert_list top;
  ck_err rc;

  if ((rc = ck_fs_read_file(o->import_cert, 1 << 20, &buf, &len, err)) != CK_OK)
    return ck_failf(err, rc, "--import-ca %s", o->import_cert);
  rc = ck_cert_list_parse(chain, buf, len, err);
  free(buf);
  buf = NULL;
  if (rc != CK_OK)
    return ck_failf(err, rc, "--import-ca %s", o->import_cert);
  if (chain->n == 0)
    return ck_failf(err, CK_ERR_BAD_CERT, "--import-ca %s: no certificate", o->import_cert);
  for (i = 0; i < chain->n; i++)
    if (!ck_cert_get_info(chain->certs[i])->is_ca)
      return ck_failf(err, CK_ERR_INVAL,
                      "--import-ca %s: certificate %zu (%s) is not a CA "
                      "certificate (basicConstraints CA:TRUE missing)",
                      o->import_cert, i + 1, ck_cert_get_info(chain->certs[i])->subject);
  /* the file's last certificate is the anchor the others must chain to */
  top.certs = &chain->certs[chain->n - 1];
  top.n = top.cap = 1;
  if ((rc = ck_cert_verify(chain->certs[0], chain, &top, 0, err)) != CK_OK)
    return ck_failf(err, rc,
                    "--import-ca %s: the CA certificate does not chain to the "
                    "last certificate of the file, or is not valid now",
                    o->import_cert);
  if ((rc = ck_fs_read_file(o->import_key, 64 * 1024, &buf, &len, err)) != CK_OK)
    return ck_failf(err, rc, "--import-ca %s", o->import_key);
  rc = ck_key_parse(buf, len, key, err);
  ck_crypto_free_secret(buf, len);
  if (rc != CK_OK)
    return ck_failf(err, rc, "--import-ca %s", o->import_key);
  if ((rc = ck_key_match_cert(*key, chain->certs[0], err)) != CK_OK)
    return ck_failf(err, rc, "--import-ca: the key in %s does not match the "
                    "certificate %s (%s)", o->import_key, o->import_cert,
                    ck_cert_get_info(chain->certs[0])->subject);
  return CK_OK;
}

/* Writes the imported CA key into the data directory (0600). */
static ck_err import_key_write(const ck_coord_init_opts *o, const ck_key *key,
                               ck_errctx *err) {
  char path[4200], *kpem = NULL;
  size_t kl = 0;
  ck_err rc;

  if ((rc = ck_key_export_pem(key, CK_KEY_PEM_PKCS8, &kpem, &kl, err)) != CK_OK)
    return rc;
  snprintf(path, sizeof path, "%s/ca/imported.key", o->data_dir);
  rc = ck_fs_write_atomic(path, kpem, kl, 0600, err);
  ck_crypto_free_secret(kpem, kl);
  return rc;
}

ck_err ck_coord_init(const ck_coord_init_opts *o, ck_errctx *err) {
  char path[4200], *chain = NULL;
  ck_store_opts so;
  ck_store *store = NULL;
  ck_store_write *w = NULL;
  ck_cert *root = NULL, *issuing = NULL;
  ck_key *root_key = NULL, *issuing_key = NULL;
  ck_cert_list imported;
  const ck_cert *sign_cert;
  const ck_key *sign_key;
  ck_secret admin;
  ck_store_apitoken tok;
  ck_audit_event ev;
  const char *org = o->org ? o->org : "certkeeper";
  size_t i;
  ck_err rc;

  memset(&imported, 0, sizeof imported);
  memset(&admin, 0, sizeof admin);
  ck_coord_path(o->data_dir, CK_COORD_CONF, path, sizeof path);
  if (exists(path))
    return ck_failf(err, CK_ERR_EXIST,
                    "%s already holds a coordinator (%s exists); refusing to "
                    "overwrite it", o->data_dir, path);
  ck_coord_path(o->data_dir, CK_COORD_DB, path, sizeof path);
  if (exists(path))
    return ck_failf(err, CK_ERR_EXIST, "%s exists; refusing to overwrite it", path);
  snprintf(path, sizeof path, "%s/ca", o->data_dir);
  if (exists(path))
    return ck_failf(err, CK_ERR_EXIST,
                    "%s exists: refusing to overwrite an existing CA", path);
  /* an imported CA is checked before anything is created */
  if (o->import_cert != NULL &&
      (rc = import_ca(o, &imported, &issuing_key, err)) != CK_OK)
    goto out;
  if ((rc = ck_fs_mkdir_p(o->data_dir, 0700, err)) != CK_OK ||
      (rc = ck_fs_set_mode(o->data_dir, 0700, err)) != CK_OK ||
      (rc = ck_fs_mkdir_p(path, 0700, err)) != CK_OK)
    goto out;
  snprintf(path, sizeof path, "%s/tls", o->data_dir);
  if ((rc = ck_fs_mkdir_p(path, 0700, err)) != CK_OK)
    goto out;
  if ((rc = write_config(o, err)) != CK_OK)
    goto out;

  memset(&so, 0, sizeof so);
  ck_coord_path(o->data_dir, CK_COORD_DB, path, sizeof path);
  so.path = path;
  if ((rc = ck_store_open(&so, &store, err)) != CK_OK)
    goto out;
  if ((w = ck_store_write_new()) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "init");
    goto out;
  }

  if (o->import_cert != NULL) {
    if ((rc = import_key_write(o, issuing_key, err)) != CK_OK)
      goto out;
    /* Parents first, top (last in the file) down, so the store's ids in
     * this fresh database run 1..k with each CA's parent just before it. */
    for (i = imported.n; i > 0; i--) {
      size_t j = i - 1, k = imported.n;
      char name[64];
      if (j == 0)
        snprintf(name, sizeof name, "imported");
      else
        snprintf(name, sizeof name, "imported-parent-%zu", j);
      rc = add_ca(w, name, imported.certs[j], j == 0 ? "ca/imported.key" : "",
                  j == k - 1 ? 0 : (int64_t)(k - j - 1), j == 0, err);
      if (rc != CK_OK)
        goto out;
    }
    sign_cert = imported.certs[0];
    sign_key = issuing_key;
  } else {
    rc = ck_ca_create(o->data_dir, "root", o->root_key ? o->root_key : "ec-p384",
                      "certkeeper Root CA", org, 20 * YEAR, NULL, NULL, &root,
                      &root_key, err);
    if (rc != CK_OK)
      goto out;
    rc = ck_ca_create(o->data_dir, "issuing", o->issuing_key ? o->issuing_key : "ec-p256",
                      "certkeeper Issuing CA", org, 10 * YEAR, root, root_key,
                      &issuing, &issuing_key, err);
    if (rc != CK_OK)
      goto out;
    /* ids: root = 1, issuing = 2 in a fresh store */
    if ((rc = add_ca(w, "root", root, "ca/root.key", 0, 0, err)) != CK_OK ||
        (rc = add_ca(w, "issuing", issuing, "ca/issuing.key", 1, 1, err)) != CK_OK)
      goto out;
    sign_cert = issuing;
    sign_key = issuing_key;
  }

  /* the chain the TLS server presents after its leaf */
  {
    size_t total = 0, off = 0, l;
    const ck_cert *certs[8];
    size_t nc = 0;
    if (root != NULL) {
      certs[nc++] = issuing;
      certs[nc++] = root;
    } else {
      for (i = 0; i < imported.n && nc < 8; i++)
        certs[nc++] = imported.certs[i];
    }
    char *pems[8] = {0};
    size_t lens[8];
    for (i = 0; i < nc; i++) {
      const uint8_t *der = ck_cert_der(certs[i], &l);
      if ((rc = ck_pem_encode("CERTIFICATE", der, l, &pems[i], &lens[i])) != CK_OK)
        break;
      total += lens[i];
    }
    if (rc == CK_OK && (chain = malloc(total + 1)) == NULL)
      rc = CK_ERR_NOMEM;
    for (i = 0; i < nc; i++) {
      if (rc == CK_OK) {
        memcpy(chain + off, pems[i], lens[i]);
        off += lens[i];
      }
      free(pems[i]);
    }
    if (rc != CK_OK)
      goto out;
    chain[off] = '\0';
  }
  if ((rc = make_tls_cert(o->data_dir, sign_cert, sign_key, chain, err)) != CK_OK)
    goto out;

  if ((rc = add_profile(w, "tls-server", ck_profile_default_json("tls-server"), err)) != CK_OK ||
      (rc = add_profile(w, "agent-identity", ck_profile_default_json("agent-identity"), err)) != CK_OK)
    goto out;

  if ((rc = ck_secret_new("cka_", &admin)) != CK_OK) {
    rc = ck_failf(err, rc, "random source");
    goto out;
  }
  memset(&tok, 0, sizeof tok);
  tok.name = "admin";
  tok.role = "admin";
  tok.owner = "";
  memcpy(tok.hash, admin.hash_hex, sizeof tok.hash);
  if ((rc = ck_store_write_apitoken_put(w, &tok, err)) != CK_OK)
    goto out;
  memset(&ev, 0, sizeof ev);
  ev.actor = "system:init";
  ev.action = "apitoken.create";
  ev.object_type = "apitoken";
  ev.object_id = "admin";
  ev.details = "{\"role\":\"admin\"}";
  if ((rc = ck_store_write_audit(w, &ev, err)) != CK_OK)
    goto out;
  ev.action = "coordinator.init";
  ev.object_type = "";
  ev.object_id = "";
  ev.details = "";
  if ((rc = ck_store_write_audit(w, &ev, err)) != CK_OK)
    goto out;
  if ((rc = ck_store_submit_wait(store, w, err)) != CK_OK)
    goto out;

  if (o->admin_token_out != NULL) {
    char line[96];
    int n = snprintf(line, sizeof line, "%s\n", admin.token);
    rc = ck_fs_write_atomic(o->admin_token_out, line, (size_t)n, 0600, err);
    ck_wipe(line, sizeof line);
    if (rc != CK_OK)
      goto out;
    printf("coordinator initialised in %s; admin API token written to %s\n",
           o->data_dir, o->admin_token_out);
  } else {
    printf("coordinator initialised in %s\n"
           "admin API token (shown once, store it safely):\n%s\n",
           o->data_dir, admin.token);
  }
  {
    /* the top of the hierarchy: what agents pin and /ca/chain.pem ends with */
    const ck_cert_info *ci = ck_cert_get_info(
        root != NULL ? root : imported.certs[imported.n - 1]);
    printf("CA fingerprint (for agent enrollment --ca-fingerprint): %s\n", ci->sha256_hex);
  }
out:
  ck_secret_wipe(&admin);
  free(chain);
  ck_store_write_free(w);
  ck_store_close(store);
  ck_cert_free(root);
  ck_cert_free(issuing);
  ck_key_free(root_key);
  ck_key_free(issuing_key);
  ck_cert_list_clear(&imported);
  return rc;
}
