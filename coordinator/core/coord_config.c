/* coord_config.c — coordinator.conf: schema and resolved settings. */
#include "coordinator/core/coord.h"

#include <stdio.h>
#include <string.h>

#include "common/util/log_config.h"
#include "common/util/mem.h"
#include "coordinator/sched/sched.h"
#include "coordinator/acme/validate.h"

const ck_cfg_key ck_coord_cfg_keys[] = {
    {"listen", "http", CK_CFG_ADDR, "127.0.0.1:8080", 0, 0,
     "plain HTTP: health, CA certificates, OCSP, CRLs", NULL},
    {"listen", "https", CK_CFG_ADDR, "127.0.0.1:8443", 0, 0,
     "HTTPS: REST API, EST, ACME", NULL},
    {"listen", "gateway", CK_CFG_ADDR, "127.0.0.1:8444", 0, 0,
     "agent gateway (TLS, msgpack frames)", NULL},
    {"urls", "public_http", CK_CFG_STRING, "", 0, 0,
     "base URL of the plain HTTP listener as clients reach it, put into "
     "issued certificates' AIA and CRL distribution points; default "
     "http://<listen.http>", NULL},
    {"store", "sync", CK_CFG_STRING, "normal", 0, 0,
     "normal (durable across process crashes) or full (fsync every group "
     "commit: survives power loss)", NULL},
    {"issuance", "backdate", CK_CFG_DURATION, "5m", 0, 86400,
     "how far notBefore is set in the past, for clients with slow clocks",
     NULL},
    {"coordinator", "shutdown_grace", CK_CFG_DURATION, "10s", 0, 3600,
     "how long SIGTERM waits for in-flight requests", NULL},
    {"gateway", "max_sessions", CK_CFG_INT, "10000", 1, 1000000,
     "agent connections at once (handshakes included); more are refused",
     NULL},
    {"gateway", "idle_timeout", CK_CFG_DURATION, "3m", 10, 86400,
     "close an agent session that sent nothing this long (must exceed "
     "ping_interval)", NULL},
    {"gateway", "ping_interval", CK_CFG_DURATION, "60s", 1, 86400,
     "how often enrolled agents are pinged", NULL},
    {"gateway", "identity_validity", CK_CFG_DURATION, "90d", 3600,
     3650 * 86400LL, "lifetime of agent identity certificates", NULL},
    {"gateway", "max_inflight", CK_CFG_INT, "32", 1, 4096,
     "renewal CSRs one session may have in flight at once", NULL},
    {"gateway", "max_frame", CK_CFG_SIZE, "1MiB", 65536, 16 * 1048576LL,
     "largest frame body accepted from an agent", NULL},
    {"validation", "ocsp_validity", CK_CFG_DURATION, "1h", 60, 7 * 86400LL,
     "how long an OCSP response is valid (nextUpdate - thisUpdate); cached "
     "responses are re-signed at half of it", NULL},
    {"validation", "crl_validity", CK_CFG_DURATION, "24h", 300,
     30 * 86400LL,
     "CRL nextUpdate - thisUpdate; CRLs are regenerated at half of it and "
     "at every revocation", NULL},
    {"validation", "crl_rebuild_on_revoke", CK_CFG_BOOL, "true", 0, 0,
     "rebuild the full CRL at every revocation (the delta CRL always is); "
     "false: only on schedule, for very large CRLs", NULL},
    {"validation", "responder_validity", CK_CFG_DURATION, "7d", 3600,
     365 * 86400LL,
     "lifetime of the delegated OCSP responder certificates; rotated at "
     "two thirds of it (must exceed 3 x ocsp_validity)", NULL},
    {"validation", "ocsp_cache_entries", CK_CFG_INT, "200000", 0,
     100000000,
     "signed OCSP responses kept in memory, about 1 KiB each (0: no cache)",
     NULL},
    {"validation", "analytics_certs", CK_CFG_INT, "100000", 0, 10000000,
     "certificates whose OCSP fetches are counted (validation analytics), "
     "about 300 bytes each; least recently asked dropped first (0: off)",
     NULL},
    {"validation", "crl_shards", CK_CFG_INT, "1", 1, 256,
     "CRL partitions per CA: certificates issued with N > 1 name their "
     "shard's CRL in the CDP (/crl/<ca>-s<k>.crl); the whole-CA CRL is "
     "still published for older certificates", NULL},
    /* ACME challenge validation (coordinator/acme/validate.c) */
    {"acme", "dns_resolver", CK_CFG_STRING, "", 0, 0,
     "DNS server (ip:port) the ACME validator asks for every name and TXT "
     "record; empty: the system resolver", NULL},
    {"acme", "http01_port", CK_CFG_INT, "80", 1, 65535,
     "port http-01 validation connects to (tests: a loopback port)", NULL},
    {"acme", "tlsalpn01_port", CK_CFG_INT, "443", 1, 65535,
     "port tls-alpn-01 validation (and https redirects of http-01) connect "
     "to", NULL},
    {"acme", "validation_timeout", CK_CFG_DURATION, "10s", 1, 300,
     "time one validation attempt may take (lookup, connect, response)",
     NULL},
    {"acme", "validation_attempts", CK_CFG_INT, "3", 1, 10,
     "attempts before a challenge is declared invalid", NULL},
    {"acme", "validation_retry_delay", CK_CFG_DURATION, "1s", 0, 60,
     "pause between validation attempts", NULL},
    /* ACME server (coordinator/acme/, docs/acme.md) */
    {"acme", "max_payload", CK_CFG_SIZE, "64KiB", 1024, 1048576,
     "largest decoded JWS payload an ACME request may carry (413 beyond)",
     NULL},
    {"acme", "order_lifetime", CK_CFG_DURATION, "7d", 300, 90 * 86400LL,
     "how long a new ACME order (and its authorizations) stays pending",
     NULL},
    {"acme", "authz_lifetime", CK_CFG_DURATION, "30d", 300, 90 * 86400LL,
     "how long a valid ACME authorization lasts", NULL},
    {"acme", "nonce_lifetime", CK_CFG_DURATION, "1h", 10, 86400,
     "how long an ACME replay nonce stays usable", NULL},
    {"acme", "retry_after", CK_CFG_DURATION, "2s", 1, 3600,
     "Retry-After given to ACME clients polling pending objects", NULL},
    {"acme-directory:*", "profile", CK_CFG_STRING, "tls-server", 0, 0,
     "profile the ACME directory /acme/<name>/ issues under", NULL},
    {"acme-directory:*", "eab_required", CK_CFG_BOOL, "true", 0, 0,
     "new ACME accounts need External Account Binding (an EAB key bound to "
     "an owner)", NULL},
    {"acme-directory:*", "alternate_chains", CK_CFG_BOOL, "false", 0, 0,
     "also offer the chain including the root as Link rel=alternate", NULL},
    /* [sched], [notices], [notices-owner:*], [notices-profile:*]
     * (coordinator/sched/sched_opts.c); that table chains [log] */
    {NULL, NULL, 0, NULL, 0, 0, NULL, ck_sched_cfg_keys},
};

ck_err ck_coord_path(const char *data_dir, const char *rel, char *buf,
                     size_t len) {
  int n = snprintf(buf, len, "%s/%s", data_dir, rel);

  return n < 0 || (size_t)n >= len ? CK_ERR_RANGE : CK_OK;
}

static void copy_str(const ck_config *cfg, const char *sec, const char *key,
                     const char *override, char *dst, size_t len) {
  const char *v = "";

  if (override != NULL && *override != '\0')
    v = override;
  else
    ck_config_str(cfg, sec, key, &v);
  ck_strlcpy(dst, v, len);
}

ck_err ck_coord_load_settings(const char *data_dir,
                              const ck_coord_overrides *ov, ck_config **cfgp,
                              ck_coord_settings *out, ck_errctx *err) {
  static const ck_coord_overrides none = {0};
  char path[4200];
  const char *sync;
  ck_config *cfg = NULL;
  ck_err rc;

  if (ov == NULL)
    ov = &none;
  memset(out, 0, sizeof *out);
  if (ck_strlcpy(out->data_dir, data_dir, sizeof out->data_dir) >=
      sizeof out->data_dir)
    return ck_failf(err, CK_ERR_RANGE, "data directory path too long");
  if (ck_coord_path(data_dir, CK_COORD_CONF, path, sizeof path) != CK_OK)
    return ck_failf(err, CK_ERR_RANGE, "data directory path too long");
  rc = ck_config_load(path, ck_coord_cfg_keys, &cfg, err);
  if (rc == CK_ERR_NOENT)
    return ck_failf(err, rc,
                    "%s is not a coordinator data directory (run "
                    "'certkeeper-coordinator init --data-dir %s' first)",
                    data_dir, data_dir);
  if (rc != CK_OK)
    return rc;
  copy_str(cfg, "listen", "http", ov->listen_http, out->listen_http,
           sizeof out->listen_http);
  copy_str(cfg, "listen", "https", ov->listen_https, out->listen_https,
           sizeof out->listen_https);
  copy_str(cfg, "listen", "gateway", ov->listen_gateway, out->listen_gateway,
           sizeof out->listen_gateway);
  copy_str(cfg, "urls", "public_http", NULL, out->public_http,
           sizeof out->public_http);
  if (out->public_http[0] == '\0')
    snprintf(out->public_http, sizeof out->public_http, "http://%s",
             out->listen_http);
  ck_config_str(cfg, "store", "sync", &sync);
  if (strcmp(sync, "full") == 0) {
    out->store_sync_full = 1;
  } else if (strcmp(sync, "normal") != 0) {
    char where[4300];
    rc = ck_setf(err, CK_ERR_CONFIG, "%s: [store] sync: '%s' is not normal or full",
                 ck_config_where(cfg, "store", "sync", where, sizeof where), sync);
    ck_config_free(cfg);
    return rc;
  }
  ck_config_num(cfg, "issuance", "backdate", &out->backdate);
  ck_config_num(cfg, "coordinator", "shutdown_grace", &out->shutdown_grace);
  ck_config_int(cfg, "gateway", "max_sessions", &out->gw.max_sessions);
  ck_config_num(cfg, "gateway", "idle_timeout", &out->gw.idle_timeout);
  ck_config_num(cfg, "gateway", "ping_interval", &out->gw.ping_interval);
  ck_config_num(cfg, "gateway", "identity_validity",
                &out->gw.identity_validity);
  ck_config_int(cfg, "gateway", "max_inflight", &out->gw.max_inflight);
  ck_config_num(cfg, "gateway", "max_frame", &out->gw.max_frame);
  if (out->gw.idle_timeout <= out->gw.ping_interval) {
    char where[4300];
    rc = ck_setf(err, CK_ERR_CONFIG,
                 "%s: [gateway] idle_timeout (%llds) must be longer than "
                 "ping_interval (%llds), or idle agents are cut off",
                 ck_config_where(cfg, "gateway", "idle_timeout", where,
                                 sizeof where),
                 (long long)out->gw.idle_timeout,
                 (long long)out->gw.ping_interval);
    ck_config_free(cfg);
    return rc;
  }
  ck_config_num(cfg, "validation", "ocsp_validity", &out->val.ocsp_validity);
  ck_config_num(cfg, "validation", "crl_validity", &out->val.crl_validity);
  ck_config_bool(cfg, "validation", "crl_rebuild_on_revoke",
                 &out->val.crl_rebuild_on_revoke);
  ck_config_num(cfg, "validation", "responder_validity",
                &out->val.responder_validity);
  ck_config_int(cfg, "validation", "ocsp_cache_entries",
                &out->val.ocsp_cache_entries);
  ck_config_int(cfg, "validation", "analytics_certs",
                &out->val.analytics_certs);
  ck_config_int(cfg, "validation", "crl_shards", &out->val.crl_shards);
  if (out->val.responder_validity <= 3 * out->val.ocsp_validity) {
    char where[4300];
    rc = ck_setf(err, CK_ERR_CONFIG,
                 "%s: [validation] responder_validity (%llds) must exceed 3 x "
                 "ocsp_validity (%llds): responses must not outlive the "
                 "responder certificate that signed them",
                 ck_config_where(cfg, "validation", "responder_validity", where,
                                 sizeof where),
                 (long long)out->val.responder_validity,
                 (long long)out->val.ocsp_validity);
    ck_config_free(cfg);
    return rc;
  }
  if (ov->acme_dns_resolver != NULL)
    ck_strlcpy(out->acme_dns_resolver, ov->acme_dns_resolver,
               sizeof out->acme_dns_resolver);
  out->acme_http01_port = ov->acme_http01_port;
  ck_acme_validator_set_run_overrides(out->acme_dns_resolver,
                                      out->acme_http01_port);
  *cfgp = cfg;
  return CK_OK;
}
