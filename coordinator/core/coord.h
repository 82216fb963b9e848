/* coord.h — the coordinator process: its data directory, configuration and
 * the services it runs on one libuv loop.
 *
 * `certkeeper-coordinator init` creates a data directory (coord_init.c);
 * `certkeeper-coordinator run` opens it and serves (coord_run.c):
 *   - plain HTTP: /healthz, /ca/... (and OCSP/CRL in a later issue);
 *   - HTTPS: the REST API (coordinator/http/svc_rest.c);
 *   - the agent gateway: TLS + msgpack frames (coordinator/gateway/).
 * Slow work (signing, database writes) runs on the thread pool and the
 * store's writer thread, never on the loop.
 *
 * Data directory layout (created by init, modes in parentheses):
 *   DIR/                     (0700)
 *   DIR/coordinator.conf     (0600) configuration, docs/coordinator.md
 *   DIR/certkeeper.db        (0600) SQLite store (WAL)
 *   DIR/ca/<name>.crt|.key   CA certificate (0644) and key (0600)
 *   DIR/tls/server.crt|.key  the HTTPS/gateway certificate chain and key */
#ifndef CK_COORD_CORE_COORD_H
#define CK_COORD_CORE_COORD_H

#include <stdint.h>
#include <uv.h>

#include "common/util/config.h"
#include "common/util/err.h"

/* Schema of coordinator.conf (chains the shared [log] keys). */
extern const ck_cfg_key ck_coord_cfg_keys[];

/* Settings resolved from the config file and command-line overrides. */
typedef struct ck_coord_settings {
  char data_dir[4096];
  char listen_http[128];
  char listen_https[128];
  char listen_gateway[128];
  char public_http[256]; /* base URL put into AIA/CDP, "http://host:port" */
  int store_sync_full;
  int64_t backdate;       /* seconds subtracted from notBefore */
  int64_t shutdown_grace; /* seconds SIGTERM waits for in-flight work */
  struct {                 /* [gateway]: ck_gateway_opts for run */
    int64_t max_sessions;      /* connections at once */
    int64_t idle_timeout;      /* seconds */
    int64_t ping_interval;     /* seconds */
    int64_t identity_validity; /* seconds */
    int64_t max_inflight;      /* renewal CSRs per session */
    int64_t max_frame;         /* bytes */
  } gw;
  struct {                      /* [validation]: OCSP and CRLs */
    int64_t ocsp_validity;      /* seconds */
    int64_t crl_validity;       /* seconds */
    int crl_rebuild_on_revoke;  /* full CRL at each revocation */
    int64_t responder_validity; /* seconds */
    int64_t ocsp_cache_entries;
    int64_t analytics_certs;    /* certificates tracked by analytics */
    int64_t crl_shards;         /* CRL partitions per CA (1 = none) */
  } val;
  /* test overrides (conformance contract) */
  char acme_dns_resolver[128];
  int acme_http01_port;
} ck_coord_settings;

/* Paths inside the data directory. */
#define CK_COORD_CONF "coordinator.conf"
#define CK_COORD_DB "certkeeper.db"

/* Builds "<data_dir>/<rel>" into buf. Returns CK_ERR_RANGE if it does not
 * fit. */
ck_err ck_coord_path(const char *data_dir, const char *rel, char *buf,
                     size_t len);

/* Loads DIR/coordinator.conf into *cfg (caller frees) and resolves
 * settings; overrides (NULL = none) win over the file. */
typedef struct ck_coord_overrides {
  const char *listen_http;
  const char *listen_https;
  const char *listen_gateway;
  const char *acme_dns_resolver;
  int acme_http01_port;
} ck_coord_overrides;
ck_err ck_coord_load_settings(const char *data_dir,
                              const ck_coord_overrides *ov, ck_config **cfg,
                              ck_coord_settings *out, ck_errctx *err);

/* The init command. */
typedef struct ck_coord_init_opts {
  const char *data_dir;        /* required */
  const char *admin_token_out; /* file for the admin token (0600); NULL:
                                  print it once on stdout */
  const char *root_key;        /* key spec, default "ec-p384" */
  const char *issuing_key;     /* default "ec-p256" */
  const char *org;             /* O= of the CA names, default "certkeeper" */
  const char *import_cert;     /* --import-ca: adopt this CA ... */
  const char *import_key;      /* ... with this key instead of creating */
  const char *listen_http;     /* written into the config when given */
  const char *listen_https;
  const char *listen_gateway;
} ck_coord_init_opts;
ck_err ck_coord_init(const ck_coord_init_opts *o, ck_errctx *err);

/* The run command: serves until SIGTERM/SIGINT. Returns CK_OK after a clean
 * shutdown. */
ck_err ck_coord_run(const char *data_dir, const ck_coord_overrides *ov,
                    ck_errctx *err);

#endif
