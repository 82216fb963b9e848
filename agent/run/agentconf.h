/* agentconf.h — the agent's configuration file (`run --config FILE`,
 * default /etc/certkeeper/agent.conf) loaded into one plain struct.
 *
 * INI through common/util/config.h against the schema ck_agentconf_keys
 * ([agent], [discovery], [trust], [est], [cert:ID], and [log] chained from
 * ck_log_cfg_keys). Loading validates everything it can without touching
 * the managed files: required keys of each [cert:ID], SAN syntax, key spec,
 * reload text, mode numbers, renew_fraction; every error names file:line.
 * The coordinator address, agent id and CA fingerprint come from
 * state_dir/agent.conf written by `certkeeper-agent enroll`
 * (agent/link/state.h) unless [agent] server overrides the address; a
 * missing enrollment is not an error here (enrolled == 0), `run` refuses it.
 * docs/configuration.md "Agent" is the operator reference. */
#ifndef CK_AGENT_RUN_AGENTCONF_H
#define CK_AGENT_RUN_AGENTCONF_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/config.h"
#include "common/util/err.h"

#define CK_AGENTCONF_DEFAULT_PATH "/etc/certkeeper/agent.conf"

/* One [cert:ID] section: a managed certificate. All strings owned by the
 * ck_agentconf; optional ones are NULL when absent. */
typedef struct ck_agentconf_cert {
  char *id;      /* the ID of [cert:ID]: [A-Za-z0-9._-], 1..64 chars */
  char *where;   /* "file:line" of the section (its profile key), for
                    messages */
  char *profile; /* required */
  char **sans;   /* required, >= 1: "DNS:x" / "IP:y" */
  size_t n_sans;
  char *cn;             /* default: first DNS SAN (NULL if none) */
  char *key;            /* key spec text, default "ec-p256" (validated) */
  char *cert_file;      /* required, absolute */
  char *key_file;       /* required, absolute; may equal cert_file */
  char *chain_file;     /* optional */
  char *fullchain_file; /* optional */
  char *owner;          /* optional user name */
  char *group;          /* optional group name */
  unsigned mode;        /* cert/chain file mode, default 0644 */
  unsigned key_mode;    /* key file mode, default 0600 */
  char *reload;         /* "systemd:UNIT", "signal:SIG:PIDFILE",
                           "command:ARGV...", or "none" (default "none") */
  int64_t reload_timeout; /* seconds, default 30 */
  char *verify;           /* optional "host:port" to check the served cert */
  char *verify_sni;       /* optional; default: cn */
  int64_t verify_timeout; /* seconds, default 30 */
  double renew_fraction;  /* in (0,1), default 0.3333: renew when this
                             fraction of the lifetime remains */
  int64_t renew_before;   /* seconds; 0 = not set (renew_fraction rules) */
  int64_t jitter;         /* seconds, default 3600 (capped to 5% of the
                             remaining life by the state machine) */
} ck_agentconf_cert;

typedef struct ck_agentconf {
  char *path; /* the file loaded (owned) */

  /* [agent] */
  char *state_dir;           /* default CK_STATE_DEFAULT_DIR */
  char *user;                /* NULL: net keeps its uid */
  int64_t outbox_max_events; /* default 10000 */
  int64_t outbox_max_bytes;  /* default 4 MiB */
  int64_t reconnect_max;     /* seconds, default 300 */

  /* from state_dir/agent.conf (enroll), server overridable by [agent] */
  int enrolled;         /* 1 when state_dir/agent.conf was read */
  char *server;         /* "HOST:PORT"; NULL when neither is known */
  char *agent_id;       /* NULL when not enrolled */
  char *ca_fingerprint; /* SHA-256 hex of the pinned CA, NULL if unknown */

  /* [discovery] */
  char **roots; /* default: /etc/ssl,/etc/pki,/etc/nginx,/etc/apache2,
                   /etc/httpd,/etc/haproxy,/usr/local/etc,/opt */
  size_t n_roots;
  char **include; /* globs */
  size_t n_include;
  char **exclude; /* globs */
  size_t n_exclude;
  int max_depth;            /* default 32 */
  int64_t rescan;           /* seconds, default 1d */
  int watch;                /* default 1 */
  int probe_endpoints;      /* default 1 */
  char *p12_password_file;  /* optional */
  int64_t expiring;         /* seconds, default 30d */

  /* [trust] */
  char *trust_bundle;  /* optional path: coordinator CA chain as PEM */
  char *trust_command; /* optional: run after the bundle changed */

  /* [est]: EST mode (agent/link/est.h, docs/agent.md "EST mode"); est_url
   * NULL when the section is absent. The managed certificates then enroll
   * and re-enroll over EST; no coordinator enrollment is needed. */
  char *est_url;            /* https://HOST:PORT/.well-known/est[/LABEL] */
  char *est_ca_fingerprint; /* SHA-256 of a CA certificate of /cacerts */
  char *est_fleet;          /* HTTP Basic user (the fleet name) */
  char *est_secret_file;    /* its secret or one-time password, mode 0600 */
  char *est_idevid_cert;    /* IDevID certificate (PEM) for simpleenroll */
  char *est_idevid_key;     /* its key */
  int64_t est_timeout;      /* seconds per request, default 30 */

  /* [cert:ID], in file order */
  ck_agentconf_cert *certs;
  size_t n_certs;

  ck_config *raw; /* the parsed file (owned), for ck_log_config_apply */
} ck_agentconf;

/* The schema (for docs checks and tools); ends with an entry chaining
 * ck_log_cfg_keys. */
extern const ck_cfg_key ck_agentconf_keys[];

/* Loads and validates path (NULL: CK_AGENTCONF_DEFAULT_PATH). *out is owned
 * by the caller (ck_agentconf_free). Errors: CK_ERR_CONFIG /
 * CK_ERR_NOENT / CK_ERR_IO with "file:line: [section] key: what" messages;
 * CK_ERR_CONFIG for a malformed state_dir/agent.conf. */
ck_err ck_agentconf_load(const char *path, ck_agentconf **out,
                         ck_errctx *err);

/* Same from text (name used in messages); for tests and fuzzing. */
ck_err ck_agentconf_load_string(const char *name, const char *text,
                                ck_agentconf **out, ck_errctx *err);

/* Loads a snippet holding only [cert:ID] sections (same keys and checks as
 * the file; any other section is "unknown section"): the coordinator's
 * `command config` and state_dir/assigned.conf (agent/run/assign.h). Only
 * path, certs, n_certs and raw are set in *out (caller owns,
 * ck_agentconf_free); no enrollment is read. No section: n_certs 0.
 * Errors as ck_agentconf_load_string, messages "name:line: ...". */
ck_err ck_agentconf_load_certs(const char *name, const char *text,
                               ck_agentconf **out, ck_errctx *err);

/* Finds a managed certificate by id, or NULL. */
const ck_agentconf_cert *ck_agentconf_find(const ck_agentconf *cfg,
                                           const char *id);

/* Frees cfg and everything it owns. NULL is a no-op. */
void ck_agentconf_free(ck_agentconf *cfg);

#endif
