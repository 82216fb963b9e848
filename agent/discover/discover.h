/* discover.h — one-shot discovery of certificates and keys on disk.
 *
 * ck_discover walks root paths once (no symlinked directories are followed,
 * FIFOs/sockets/devices are never opened, files over a size limit are not
 * read), classifies each file with ck_crypto_detect, parses certificates,
 * keys and PKCS#12, matches keys to certificates by public key across all
 * scanned files, maps files to services through web server configs found
 * under the roots (webconf.h) and computes risk flags. Results are plain
 * findings whose field names follow ck_wire_finding (common/wire/wire.h), so
 * they can be sent as an inventory later. Rendering: discover_out.c. */
#ifndef CK_AGENT_DISCOVER_DISCOVER_H
#define CK_AGENT_DISCOVER_DISCOVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/util/err.h"

/* Risk flags of a finding (bit set in ck_finding.risks). */
typedef enum ck_risk {
  CK_RISK_EXPIRED = 1 << 0,            /* "expired" */
  CK_RISK_EXPIRING = 1 << 1,           /* "expiring" (within 30 days) */
  CK_RISK_WEAK_KEY = 1 << 2,           /* "weak_key" (RSA < 2048) */
  CK_RISK_SHA1 = 1 << 3,               /* "sha1_signature" */
  CK_RISK_MD5 = 1 << 4,                /* "md5_signature" */
  CK_RISK_SELF_SIGNED_LEAF = 1 << 5,   /* "self_signed_leaf" */
  CK_RISK_KEY_WORLD_READABLE = 1 << 6, /* "key_world_readable" */
  CK_RISK_KEY_GROUP_READABLE = 1 << 7, /* "key_group_readable" (note) */
  CK_RISK_KEY_ENCRYPTED = 1 << 8,      /* "key_encrypted" (info) */
} ck_risk;
#define CK_RISK_COUNT 9

/* Returns the wire name of the single flag bit r, or "" (static). */
const char *ck_risk_name(unsigned r);

/* One service reference: which config line uses the file. */
typedef struct ck_finding_svc {
  const char *service; /* "nginx", "apache", "haproxy" (static) */
  char *conf;          /* config file */
  unsigned line;
} ck_finding_svc;

/* One finding: a certificate (one per certificate in a bundle), a private
 * key, a PKCS#12 file or an error about a file. Strings are owned by the
 * finding; absent strings are NULL. */
typedef struct ck_finding {
  char *path;
  const char *kind;   /* "certificate", "key", "pkcs12", "error" (static) */
  const char *format; /* "pem", "der", "pkcs12" or NULL (static) */
  unsigned index;     /* position in a bundle (0 for single objects) */
  char *error;        /* human text, e.g. "pkcs12 unreadable: wrong password" */
  int has_cert;       /* certificate fields below are set */
  char fingerprint[65]; /* SHA-256 of the DER, lower-case hex */
  char *subject, *issuer;
  char *serial; /* upper-case hex, no colons */
  char **sans;  /* "DNS:example.com", ... */
  size_t n_sans;
  int64_t not_before, not_after;
  char *sig_alg;
  int self_signed, is_ca;
  char key_type[16]; /* "rsa", "ec", "ed25519", ... or "" */
  unsigned key_bits;
  int key_encrypted; /* key findings: encrypted, not read */
  char *key_path;    /* certificate: key file found for it */
  int key_match;     /* -1 unknown, 0 mismatch, 1 match */
  char *cert_path;   /* key: certificate file it matches */
  uint8_t spki[32];  /* SHA-256 of the public key (matching) */
  int has_spki;
  char *owner, *group;
  unsigned mode; /* permission bits (07777) */
  int has_stat;
  ck_finding_svc *svcs;
  size_t n_svcs;
  unsigned risks; /* ck_risk bits */
  uint8_t *der;   /* certificate DER: kept when ck_discover_opts.keep_der
                     asks for it, and for endpoint findings (probe.h) */
  size_t der_len;
  char **endpoints; /* local endpoints serving it, "127.0.0.1:443" (probe.h) */
  size_t n_endpoints;
} ck_finding;

/* Scan options; zero-initialise then set. */
typedef struct ck_discover_opts {
  const char *const *roots;
  size_t n_roots;
  int max_depth;              /* directory levels below a root (0: the roots'
                                 own entries only), used when has_max_depth */
  int has_max_depth;          /* else the default, 32 */
  size_t max_size;            /* bytes; 0: 1 MiB */
  const char *const *exclude; /* fnmatch globs on path or basename */
  size_t n_exclude;
  const char *const *include; /* when given: only matching files are read */
  size_t n_include;
  const char *p12_password; /* tried after the empty password; may be NULL */
  int64_t now;              /* epoch seconds; 0: ck_clock_now() */
  int expiring_days;        /* <=0: 30 */
  int full_key_parse;       /* load every key with the crypto backend
                               instead of reading its public key from the
                               encoding (ck_key_peek_spki_sha256); slower,
                               for comparisons and benchmarks */
  int keep_der;             /* keep each certificate's DER in its finding
                               (ck_finding.der), for inventories; off keeps
                               scan memory low (`scan` does not need it) */
} ck_discover_opts;

typedef struct ck_discover_stats {
  unsigned long files, dirs, skipped, errors, configs;
  int64_t elapsed_ms;
} ck_discover_stats;

/* The result of one scan. */
typedef struct ck_discover {
  ck_finding *f; /* owned */
  size_t n, cap;
  ck_discover_stats stats;
  int64_t scanned_at;
} ck_discover;

/* Runs a scan over opts->roots into *out (which the caller zeroes first and
 * releases with ck_discover_free, also on failure). Problems with single
 * files become "error" findings; only CK_ERR_NOMEM / CK_ERR_INVAL (no
 * roots) fail the whole scan. */
ck_err ck_discover_run(const ck_discover_opts *opts, ck_discover *out,
                       ck_errctx *err);

/* Frees all findings; NULL is a no-op. */
void ck_discover_free(ck_discover *d);

/* Frees what f owns and zeroes it. */
void ck_finding_clear(ck_finding *f);

/* Appends a deep copy of f to d (which owns it). CK_OK or CK_ERR_NOMEM (d
 * unchanged then). */
ck_err ck_discover_append_copy(ck_discover *d, const ck_finding *f);

/* Appends a "certificate" finding for the certificate in der[0..len) at
 * path (e.g. "tcp://127.0.0.1:443") with the same fields and certificate
 * risks a scan computes (expiring window 30 days, now: 0 = ck_clock_now()),
 * keeping a copy of der. Errors: the ck_cert_parse_fields ones (d
 * unchanged), CK_ERR_NOMEM. */
ck_err ck_discover_add_der(ck_discover *d, const char *path, const char *format,
                           const uint8_t *der, size_t len, int64_t now,
                           ck_errctx *err);

/* Re-examines only the given files and directories (a directory: its
 * direct entries; subdirectories are skipped, not descended) with the
 * options of o (roots ignored) into *out (zeroed by the caller, released
 * with ck_discover_free also on failure). A path that no longer exists
 * yields no finding at all (the caller treats its earlier findings as
 * gone). Keys and certificates are matched among these files only, and
 * web server configs found among them map services among them only: see
 * ck_inventory_merge (inventory.h), which matches against a previous full
 * scan; when out->stats.configs > 0 a config changed and the caller should
 * run a full scan to remap services. Part of the inventory contract
 * (inventory.h includes this header). */
ck_err ck_discover_paths(const ck_discover_opts *o, const char *const *paths,
                         size_t n, ck_discover *out, ck_errctx *err);

/* Writes the findings as one JSON document (docs/agent.md) to fp. Returns
 * CK_OK, CK_ERR_NOMEM or CK_ERR_IO. */
ck_err ck_discover_write_json(const ck_discover *d, FILE *fp, ck_errctx *err);

/* Writes a human-readable table to fp. */
ck_err ck_discover_write_table(const ck_discover *d, FILE *fp, ck_errctx *err);

#endif
