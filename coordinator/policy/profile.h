/* profile.h — issuance profiles: policy as data, and the check of a request.
 *
 * A profile says what a certificate issued under it may look like (key
 * types and sizes, validity, SAN patterns, CN rule, key usage and EKU), how
 * it renews, which CA signs it, whether issuance is automatic or waits for
 * approval, and who may ask for it (agent groups, API roles, owners).
 * Profiles are stored as JSON (ck_profile_from_json / ck_profile_to_json);
 * the store versions them, this module only carries the version number.
 * docs/profiles.md is the operator reference for every field and message.
 *
 * ck_profile_check() decides one request: allow (with the validity, SANs,
 * CN, key usage and EKU to put in the certificate), pending (the profile
 * needs approval) or refuse, naming the exact rule and the offending value:
 *   san dns:evil.example.com is not allowed by profile 'tls-server'
 *   (allowed: .test, localhost)
 * Refusals are written to the security log here (event "policy.refuse"), so
 * callers do not log them again.
 *
 * Thread-safety: a parsed profile is immutable; checks against a shared
 * profile may run concurrently (e.g. on the thread pool). */
#ifndef CK_POLICY_PROFILE_H
#define CK_POLICY_PROFILE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "common/crypto/crypto.h"
#include "common/util/err.h"
#include "coordinator/policy/sanset.h"

typedef enum ck_profile_workflow {
  CK_PROFILE_AUTOMATIC = 0, /* allowed requests are issued at once */
  CK_PROFILE_APPROVAL = 1,  /* allowed requests wait as pending */
} ck_profile_workflow;

/* What the subject CN must be ("cn" in JSON). */
typedef enum ck_profile_cn {
  CK_PROFILE_CN_REQUIRE_SAN = 0, /* "require_san": a CN must equal a SAN */
  CK_PROFILE_CN_COPY = 1,        /* "copy_to_san": a CN missing from the
                                    SANs is added as a DNS or IP SAN (and
                                    checked like one) */
  CK_PROFILE_CN_UNCHECKED = 2,   /* "unchecked": the CN is an identifier,
                                    not a name (agent identities) */
} ck_profile_cn;

/* Extended key usages (bits). */
enum {
  CK_EKU_SERVER_AUTH = 1u << 0,
  CK_EKU_CLIENT_AUTH = 1u << 1,
  CK_EKU_CODE_SIGNING = 1u << 2,
  CK_EKU_EMAIL_PROTECTION = 1u << 3,
  CK_EKU_TIME_STAMPING = 1u << 4,
  CK_EKU_OCSP_SIGNING = 1u << 5,
};

/* API roles (bits of ck_profile.roles). "owner" tokens are governed by
 * ck_profile.owners instead. */
enum {
  CK_PROFILE_ROLE_ADMIN = 1u << 0,
  CK_PROFILE_ROLE_OPERATOR = 1u << 1,
  CK_PROFILE_ROLE_APPROVER = 1u << 2,
  CK_PROFILE_ROLE_AUDITOR = 1u << 3,
};

/* One allowed key type. */
typedef struct ck_profile_key {
  ck_key_type type; /* CK_KEY_RSA, CK_KEY_EC or CK_KEY_ED25519 */
  unsigned bits;    /* RSA: minimum modulus size (>= 2048); EC: the curve
                       size 256, 384 or 521; Ed25519: 0 */
} ck_profile_key;

#define CK_PROFILE_MAX_KEYS 5 /* ec-p256, ec-p384, ec-p521, rsa, ed25519 */

/* An external CA that fulfils the profile instead of the local CA
 * ("upstream" in JSON; profile_upstream.c, docs/profiles.md). ca_bundle
 * is absolute or relative to the coordinator's data directory;
 * account_key, eab_hmac_file and dns01_hook are bare file names (below).
 * All strings owned by the profile, "" when absent. */
typedef struct ck_profile_upstream {
  char *type;          /* "acme" (the only type) */
  char *directory;     /* the CA's ACME directory URL, https:// */
  char *ca_bundle;     /* PEM trust anchors for the CA's TLS; "" = system */
  char *account_key;   /* file name of the account key PEM in
                          DATA_DIR/upstream/; created (0600) if missing */
  char *eab_kid;       /* External Account Binding key id, "" none */
  char *eab_hmac_file; /* file name of the base64url EAB HMAC key in
                          DATA_DIR/upstream/ */
  char *http01_listen; /* "127.0.0.1:5002": where the http-01 responder
                          listens while an order is open; "" none */
  char *dns01_hook;    /* file name of an executable in DATA_DIR/hooks/,
                          run as HOOK add|del NAME VALUE for dns-01; ""
                          none */
  char *contact;       /* "mailto:..." for the account, "" none */
  int64_t timeout;     /* seconds one order may take in all [120] */
} ck_profile_upstream;

/* Frees u. NULL is a no-op. */
void ck_profile_upstream_free(ck_profile_upstream *u);

/* Returns 1 when a and b are the same configuration (both NULL too). */
int ck_profile_upstream_equal(const ck_profile_upstream *a,
                              const ck_profile_upstream *b);

/* How requests under a profile are routed ("approval", "purpose" and
 * "blast_radius" in JSON; profile_approval.c, docs/approvals.md). Strings
 * and lists owned by the profile. */
typedef enum ck_approval_mode {
  CK_APPROVAL_AUTO = 0,   /* "auto": automatic unless the blast radius is
                             high */
  CK_APPROVAL_ALWAYS = 1, /* "always": every request waits for approval */
  CK_APPROVAL_POLICY = 2, /* "policy": routed by purpose, identity
                             strength and blast radius (routing.h) */
} ck_approval_mode;

#define CK_APPROVAL_REQUIRED_MAX 10 /* approvals one request may need */

typedef struct ck_profile_routing {
  int has_approval;      /* 1: "approval" was given */
  ck_approval_mode mode; /* approval.mode; without "approval": always for
                            workflow "approval", else auto */
  char **roles;          /* approval.approvers.roles: token roles that may
                            approve; default approver, admin (when neither
                            roles nor named are given) */
  size_t n_roles;
  char **named;          /* approval.approvers.named: token names */
  size_t n_named;
  unsigned required;     /* approval.approvers.required: N of M, 1..10 */
  char **criteria;       /* approval.criteria the approver must confirm */
  size_t n_criteria;
  int64_t escalate_after; /* approval.escalate_after seconds, 0 = never */
  char **escalate_to;     /* approval.escalate_to: roles or token names that
                             may also approve once escalated */
  size_t n_escalate_to;
  char *purpose;      /* "purpose": tls-internal, ..., "" = derived */
  char *blast_radius; /* "blast_radius": low|medium|high floor, "" = derived */
} ck_profile_routing;

/* Frees r. NULL is a no-op. */
void ck_profile_routing_free(ck_profile_routing *r);

/* Returns 1 when a and b are the same (both NULL too). */
int ck_profile_routing_equal(const ck_profile_routing *a,
                             const ck_profile_routing *b);

struct ck_profile;
/* The approval mode in effect for p (see ck_profile_routing.mode). */
ck_approval_mode ck_profile_approval_mode(const struct ck_profile *p);

/* A parsed profile. Read-only for callers: build one with
 * ck_profile_from_json or the defaults below, free with ck_profile_free.
 * All strings and lists are owned by the profile. */
typedef struct ck_profile {
  char *name;        /* [a-z0-9][a-z0-9._-]*, at most 64 characters */
  int64_t version;   /* the store's version of this profile; 0 = unsaved */
  char *description; /* free text, "" none */
  char *ca;          /* name of the signing CA; "" = the default CA */
  ck_profile_workflow workflow;
  ck_profile_key keys[CK_PROFILE_MAX_KEYS]; /* allowed key types */
  size_t n_keys;
  int64_t max_validity;     /* seconds, > 0 */
  int64_t default_validity; /* seconds, 0 < default <= max */
  double renew_fraction;    /* renew when this fraction of the lifetime is
                               left, in (0,1); 0 = not used */
  int64_t renew_before;     /* renew this many seconds before expiry; 0 =
                               not used; the earlier of the two wins */
  ck_sanset *sans;          /* allowed DNS/IP/URI/email patterns */
  int wildcards;            /* 1: "*.x" names may be issued when covered */
  int sans_from_binding;    /* 1: names come from the agent's binding only;
                               the pattern lists are empty */
  unsigned max_sans;        /* most SANs in one certificate, 1..1000 */
  ck_profile_cn cn;
  unsigned key_usage;  /* CK_KU_* from crypto.h (end-entity bits only) */
  unsigned eku;        /* CK_EKU_* */
  char **agent_groups; /* groups whose agents may use it; "*" = any */
  size_t n_agent_groups;
  unsigned roles; /* CK_PROFILE_ROLE_* of API tokens that may use it */
  char **owners;  /* owners (owner-role tokens, portal) allowed; "*" = any */
  size_t n_owners;
  ck_profile_upstream *upstream; /* NULL: the local CA ("ca") signs; else
                                    the external CA fulfils requests */
  ck_profile_routing *routing; /* NULL: no "approval", "purpose" or
                                  "blast_radius" given */
} ck_profile;

/* ------------------------------------------------------------------ JSON */

/* Largest profile document accepted. */
#define CK_PROFILE_JSON_MAX (256 * 1024)

/* Parses a profile document (docs/profiles.md). Strict: unknown fields,
 * wrong types, bad values and duplicate keys are errors naming the field,
 * e.g. "profile 'web': san.dns[2]: '*.*.test' is not a valid DNS pattern
 * ('*' may only appear as the leading '*.')". Returns CK_ERR_PARSE (not
 * JSON, or invalid), CK_ERR_LIMIT (larger than CK_PROFILE_JSON_MAX),
 * CK_ERR_NOMEM. On success *out is caller-owned (ck_profile_free). */
ck_err ck_profile_from_json(const char *text, size_t len, ck_profile **out,
                            ck_errctx *err);

enum {
  CK_PROFILE_JSON_PRETTY = 1, /* indented, for humans; default compact */
};

/* Serializes p canonically: every field, fixed order, normalized values
 * (so from_json(to_json(p)) equals p and to_json is stable). On success *out
 * is a malloc'ed NUL-terminated string (caller frees). */
ck_err ck_profile_to_json(const ck_profile *p, unsigned flags, char **out,
                          ck_errctx *err);

/* Frees p. NULL is a no-op. */
void ck_profile_free(ck_profile *p);

/* Returns 1 when a and b hold the same policy (every field, version
 * included), else 0. */
int ck_profile_equal(const ck_profile *a, const ck_profile *b);

/* -------------------------------------------------------------- defaults */

/* The profiles `certkeeper-coordinator init` creates:
 *   "tls-server"      TLS server certificates for DNS names under .test and
 *                     localhost; automatic; agents of any group and API
 *                     tokens with role admin or operator.
 *   "agent-identity"  the agent's mutual-TLS client certificate, issued at
 *                     enrollment and renewed over the gateway; names only
 *                     from the agent's binding.
 * Returns the JSON text of the named default (static), or NULL. */
const char *ck_profile_default_json(const char *name);

/* Names of the default profiles, NULL-terminated (static). */
const char *const *ck_profile_default_names(void);

/* Parses the default "tls-server" / "agent-identity" profile into *out
 * (caller-owned). Returns CK_ERR_NOMEM only. */
ck_err ck_profile_default_tls_server(ck_profile **out, ck_errctx *err);
ck_err ck_profile_default_agent_identity(ck_profile **out, ck_errctx *err);

/* --------------------------------------------------------------- helpers */

/* When a certificate valid from not_before to not_after, issued under p,
 * should be renewed: the earlier of not_after - fraction * lifetime and
 * not_after - renew_before, but never before not_before. */
int64_t ck_profile_renew_at(const ck_profile *p, int64_t not_before,
                            int64_t not_after);

/* Formats seconds as the largest exact unit: "90d", "12h", "15m", "45s"
 * into buf. Returns buf. */
const char *ck_profile_duration_format(int64_t seconds, char *buf, size_t len);

/* Names: "serverAuth" for CK_EKU_SERVER_AUTH, "digitalSignature" for
 * CK_KU_DIGITAL_SIGNATURE, "operator" for CK_PROFILE_ROLE_OPERATOR; NULL for a
 * value that is not exactly one known bit. */
const char *ck_profile_eku_name(unsigned bit);
const char *ck_profile_ku_name(unsigned bit);
const char *ck_profile_role_name(unsigned bit);

/* Parses a key type name ("ec-p256", "rsa-3072", "ed25519") into *out.
 * Returns CK_ERR_PARSE with the reason. */
ck_err ck_profile_key_parse(const char *text, ck_profile_key *out,
                            ck_errctx *err);

/* Writes a key's policy name ("ec-p256", "rsa-2048", "ed25519") to buf. */
const char *ck_profile_key_name(const ck_profile_key *k, char *buf, size_t len);

/* ----------------------------------------------------------------- check */

typedef enum ck_profile_requester_kind {
  CK_PROFILE_REQ_AGENT = 1, /* an enrolled agent over the gateway */
  CK_PROFILE_REQ_TOKEN = 2, /* a REST API bearer token */
  CK_PROFILE_REQ_OWNER = 3, /* an owner acting for their team */
} ck_profile_requester_kind;

/* Who asks. Strings are borrowed. */
typedef struct ck_profile_requester {
  ck_profile_requester_kind kind;
  const char *id;    /* agent id / token name / owner, for messages and logs */
  const char *group; /* AGENT: its enrollment group */
  const ck_sanset *binding; /* AGENT: names its binding allows; NULL = no
                               restriction beyond the profile (a binding
                               without patterns) */
  const char *const *binding_profiles; /* AGENT: profiles its binding
                                          allows; n == 0: any */
  size_t n_binding_profiles;
  const char *role;  /* TOKEN: admin, operator, approver, auditor, owner */
  const char *owner; /* TOKEN with role owner, and OWNER: the owner name */
} ck_profile_requester;

/* One request to decide. Borrowed. */
typedef struct ck_profile_request {
  const ck_csr_info *csr; /* the CSR's fields; its signature was verified
                             by the caller */
  int64_t validity;       /* requested seconds; 0 = the profile default */
  ck_profile_requester who;
} ck_profile_request;

typedef enum ck_profile_outcome {
  CK_PROFILE_REFUSE = 0,
  CK_PROFILE_ALLOW = 1,
  CK_PROFILE_PENDING = 2,
} ck_profile_outcome;

/* The rule a refusal names (ck_profile_rule_name gives "san.pattern"...). */
typedef enum ck_profile_rule {
  CK_PROFILE_RULE_NONE = 0,
  CK_PROFILE_RULE_ACCESS,          /* requester may not use the profile */
  CK_PROFILE_RULE_BINDING_PROFILE, /* agent's binding does not list the profile
                                    */
  CK_PROFILE_RULE_KEY_TYPE,        /* key type or curve not allowed */
  CK_PROFILE_RULE_KEY_SIZE,        /* RSA key below the minimum */
  CK_PROFILE_RULE_KEY_USAGE,   /* key cannot serve the profile's key usage */
  CK_PROFILE_RULE_VALIDITY,    /* requested validity above the maximum */
  CK_PROFILE_RULE_NAMES,       /* no CN and no SANs */
  CK_PROFILE_RULE_SAN_TYPE,    /* otherName, dirName, ... */
  CK_PROFILE_RULE_SAN_SYNTAX,  /* malformed name */
  CK_PROFILE_RULE_SAN_COUNT,   /* more SANs than the profile allows */
  CK_PROFILE_RULE_WILDCARD,    /* wildcard not allowed */
  CK_PROFILE_RULE_SAN_PATTERN, /* name outside the profile's patterns */
  CK_PROFILE_RULE_SAN_BINDING, /* name outside the agent's binding */
  CK_PROFILE_RULE_CN,          /* CN rule */
} ck_profile_rule;

/* The decision. Zero it (or ck_profile_verdict_clear) before the first use;
 * ck_profile_check clears it itself. Release with ck_profile_verdict_clear.
 * For ALLOW and PENDING the issuance fields are filled. */
typedef struct ck_profile_verdict {
  ck_profile_outcome outcome;
  ck_profile_rule rule; /* REFUSE: the rule that failed */
  char reason[512];     /* REFUSE: the message; PENDING: why it waits */
  char value[256];      /* REFUSE: the offending value ("dns:evil.example",
                           "rsa-1024", "400d", "auditor"), "" when none */
  int64_t validity;     /* seconds the certificate is to be valid */
  ck_san *sans;         /* SANs for the certificate: normalized,
                           de-duplicated, CN added in copy mode; owned */
  size_t n_sans;
  const char *subject_cn; /* CN for the certificate ("" none); owned */
  unsigned key_usage;     /* profile key usage fitted to the key type */
  unsigned eku;           /* CK_EKU_* */
  char *mem;              /* internal: storage for sans and subject_cn */
} ck_profile_verdict;

/* Decides req under p. Returns CK_OK with out->outcome ALLOW or PENDING;
 * CK_ERR_DENIED with outcome REFUSE, out->rule/reason/value set and the
 * reason also in err (and a "policy.refuse" record on the security log);
 * CK_ERR_INVAL for missing arguments, CK_ERR_NOMEM (outcome REFUSE, rule
 * NONE). Every rule is checked before approval is considered, so a pending
 * request is one that would be issued once approved. */
ck_err ck_profile_check(const ck_profile *p, const ck_profile_request *req,
                        ck_profile_verdict *out, ck_errctx *err);

/* Frees what the verdict owns and zeroes it. NULL is a no-op. */
void ck_profile_verdict_clear(ck_profile_verdict *v);

/* "access", "binding.profile", "key.type", "key.size", "key.usage",
 * "validity", "names", "san.type", "san.syntax", "san.count",
 * "san.wildcard", "san.pattern", "san.binding", "cn"; "none". Static. */
const char *ck_profile_rule_name(ck_profile_rule rule);

/* Internal to coordinator/policy/ (profile_json.c, shared with
 * profile_approval.c and profile_upstream.c). */

/* Records "profile 'NAME': SECTION.FIELD: message" in err (the section,
 * the dot and the field each only when given; "profile: ..." when profile
 * is NULL) and returns code. */
ck_err ck__profile_failv(ck_errctx *err, ck_err code, const char *profile,
                         const char *section, const char *field,
                         const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));
/* ck__profile_failv with code CK_ERR_PARSE. */
ck_err ck__profile_fail(ck_errctx *err, const char *profile,
                        const char *section, const char *field, const char *fmt,
                        ...) __attribute__((format(printf, 5, 6)));

/* 1 when s is 1..max characters of [A-Za-z0-9] and punct, else 0. */
int ck__profile_word_ok(const char *s, size_t max, const char *punct);

#endif
