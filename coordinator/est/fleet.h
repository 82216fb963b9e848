/* fleet.h — EST device fleets and their one-time passwords, kept as
 * documents in the store (kinds "est.fleet", "est.otp", "est.device").
 *
 * A fleet is what an operator creates for a family of devices enrolling
 * over EST (RFC 7030): the profile they get certificates under, the secret
 * their HTTP Basic login uses (user = fleet name), the names they may ask
 * for, a rate limit, the owners notices go to, an optional manufacturer
 * (IDevID) trust anchor, and an optional EST label
 * (/.well-known/est/<label>/...). The secret is stored only as a salted,
 * iterated SHA-256 (ck_estd_secret_*). One-time device passwords are
 * documents keyed by the SHA-256 of the password, consumed with
 * expect_version so a second use fails. Every certificate issued over EST
 * gets an "est.device" document (id = its fingerprint) naming the fleet
 * and device: that is how the inventory shows the fleet and how
 * re-enrollment finds it.
 *
 * All functions are thread-safe (they only read the store or fill writes);
 * they run on the thread pool. */
#ifndef CK_COORD_EST_FLEET_H
#define CK_COORD_EST_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto/crypto.h"
#include "common/util/err.h"
#include "coordinator/store/store.h"

#define CK_ESTD_KIND_FLEET "est.fleet"
#define CK_ESTD_KIND_OTP "est.otp"
#define CK_ESTD_KIND_DEVICE "est.device"

#define CK_ESTD_NAME_MAX 64      /* fleet names and labels, NUL included */
#define CK_ESTD_PATTERN_MAX 1024 /* all patterns, newline-separated */
#define CK_ESTD_OWNERS_MAX 1024  /* all owners, newline-separated */
#define CK_ESTD_IDEVID_MAX 65536 /* PEM of the IDevID trust anchors */
#define CK_ESTD_SECRET_MIN 8     /* characters of a fleet secret */
#define CK_ESTD_SECRET_MAX 1024
#define CK_ESTD_SECRET_ITER 4096 /* SHA-256 rounds of the stored hash */

/* A fleet as stored. Strings are owned by the struct (fixed buffers, and
 * idevid_pem malloc'ed: ck_estd_fleet_clear). */
typedef struct ck_estd_fleet {
  char name[CK_ESTD_NAME_MAX];     /* [a-z0-9][a-z0-9_.-]*: the Basic user */
  char label[CK_ESTD_NAME_MAX];    /* EST label, "" none */
  char profile[CK_STORE_NAME_MAX]; /* profile its certificates are issued under
                                    */
  char salt_hex[33];               /* 16 random bytes, hex */
  char secret_hash[CK_SHA256_HEX_LEN]; /* ck_estd_secret_hash(salt, secret) */
  char patterns[CK_ESTD_PATTERN_MAX];  /* allowed names, one per line; "" =
                                         whatever the profile allows */
  unsigned rate_per_min;           /* enrollments per minute, 0 = no limit */
  char owners[CK_ESTD_OWNERS_MAX]; /* owners, one per line; the first is
                                     recorded on issued certificates */
  char *idevid_pem;                /* manufacturer CA(s), PEM, or NULL */
  char created_by[CK_STORE_NAME_MAX];
  int64_t created_at;
  int64_t version; /* the document's version (reads) */
} ck_estd_fleet;

/* Frees idevid_pem and zeroes f. NULL is a no-op. */
void ck_estd_fleet_clear(ck_estd_fleet *f);

/* 1 when name is a valid fleet name or label: 1..63 bytes of [a-z0-9_.-],
 * starting with a letter or digit, and not one of the EST operation names
 * (a label "cacerts" would shadow the operation). */
int ck_estd_name_ok(const char *name);

/* Checks a fleet before it is stored: names, profile present, rate, the
 * patterns (each a valid pattern, see ck_estd_pattern_match), and that
 * idevid_pem, when set, holds at least one CA certificate. CK_ERR_INVAL
 * with a message naming the field. */
ck_err ck_estd_fleet_validate(const ck_estd_fleet *f, ck_errctx *err);

/* Sets f's salt (fresh random) and secret_hash for secret. CK_ERR_INVAL
 * when secret is shorter than CK_ESTD_SECRET_MIN or longer than
 * CK_ESTD_SECRET_MAX. */
ck_err ck_estd_fleet_set_secret(ck_estd_fleet *f, const char *secret,
                                ck_errctx *err);

/* 1 when secret is the fleet's secret (constant-time compare of the
 * hashes), else 0. */
int ck_estd_fleet_check_secret(const ck_estd_fleet *f, const char *secret);

/* The stored hash: SHA-256 iterated CK_ESTD_SECRET_ITER times over salt and
 * secret, as hex into out. */
ck_err ck_estd_secret_hash(const char *salt_hex, const char *secret,
                           char out[CK_SHA256_HEX_LEN]);

/* Reads fleet name. CK_ERR_NOT_FOUND when there is none; CK_ERR_PARSE for
 * a document that does not decode. On success *out is filled (clear it). */
ck_err ck_estd_fleet_get(ck_store *s, const char *name, ck_estd_fleet *out,
                         ck_errctx *err);

/* Finds the fleet serving EST label: the fleet whose label is label, else
 * the fleet named label. CK_ERR_NOT_FOUND when none. */
ck_err ck_estd_fleet_by_label(ck_store *s, const char *label,
                              ck_estd_fleet *out, ck_errctx *err);

/* Appends the put of f to w: expect_version 0 creates (CK_ERR_CONFLICT at
 * commit when the name exists), > 0 replaces that version. */
ck_err ck_estd_fleet_put(ck_store_write *w, const ck_estd_fleet *f,
                         int64_t expect_version, ck_errctx *err);

/* The fleet as a JSON object text for the API (no secret, no hash);
 * malloc'ed, caller frees. NULL on OOM. with_idevid adds the PEM. */
char *ck_estd_fleet_to_json(const ck_estd_fleet *f, int with_idevid);

/* Decodes a stored document into *out. */
ck_err ck_estd_fleet_from_doc(const ck_store_doc *d, ck_estd_fleet *out,
                              ck_errctx *err);

/* ------------------------------------------------------------- patterns */

/* Matches a name (DNS name or CN, compared case-insensitively) against one
 * pattern: labels separated by '.', where a label "*" matches any one
 * non-empty label, a label containing "*" matches with the star standing
 * for one or more characters of one label ("dev-*"), and "{serial}"
 * stands for the device id when one is known (one-time password device,
 * IDevID serial number) or else for any one label. Returns 1 on a match.
 * A pattern is valid when it is 1..253 characters of [A-Za-z0-9.*_-{}]
 * with "{serial}" the only braces. */
int ck_estd_pattern_match(const char *pattern, const char *name,
                          const char *device);
int ck_estd_pattern_valid(const char *pattern);

/* 1 when name matches any of the newline-separated patterns (or there are
 * none). */
int ck_estd_patterns_match(const char *patterns, const char *name,
                           const char *device);

/* ---------------------------------------------------- one-time passwords */

/* A one-time device password as stored (id = SHA-256 hex of the password). */
typedef struct ck_estd_otp {
  char hash[CK_SHA256_HEX_LEN];
  char fleet[CK_ESTD_NAME_MAX];
  char device[CK_STORE_NAME_MAX]; /* device id, "" none */
  char created_by[CK_STORE_NAME_MAX];
  int64_t created_at;
  int64_t expires_at;
  int64_t used_at;                  /* 0 unused */
  char used_for[CK_SHA256_HEX_LEN]; /* certificate fingerprint, "" unused
                                       (or not issued yet) */
  char pending_csr[CK_SHA256_HEX_LEN]; /* consumed by a request that waits
                                          for approval: SHA-256 of its CSR
                                          (DER), the only CSR the password
                                          may still present (to collect the
                                          certificate); "" none */
  int64_t version;
} ck_estd_otp;

/* Looks up the password's document (by its hash). CK_ERR_NOT_FOUND. */
ck_err ck_estd_otp_get(ck_store *s, const char *password, ck_estd_otp *out,
                       ck_errctx *err);

/* Appends the put of o to w with expect_version (0 create; the version
 * read to consume it, so a concurrent or replayed use gets
 * CK_ERR_CONFLICT and the whole write rolls back). */
ck_err ck_estd_otp_put(ck_store_write *w, const ck_estd_otp *o,
                       int64_t expect_version, ck_errctx *err);

/* JSON text of o for the API (malloc'ed), without the hash. */
char *ck_estd_otp_to_json(const ck_estd_otp *o);

/* ------------------------------------------------------------- devices */

/* Appends the "est.device" document of an issued certificate to w:
 * fingerprint, fleet, device id ("" none), how it authenticated
 * ("basic", "otp", "idevid", "reenroll"), the certificate it renews (""
 * none). */
ck_err ck_estd_device_put(ck_store_write *w, const char *fingerprint,
                          const char *fleet, const char *device,
                          const char *auth, const char *renews, ck_errctx *err);

/* The fleet and device of the certificate with this fingerprint, when it
 * was issued over EST. CK_ERR_NOT_FOUND otherwise. */
ck_err ck_estd_device_get(ck_store *s, const char *fingerprint,
                          char fleet[CK_ESTD_NAME_MAX], char *device,
                          size_t device_len, ck_errctx *err);

#endif
