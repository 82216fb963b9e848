/* profile.c — the profile object: lifetime, comparison, the default
 * profiles created at init, and small helpers (names of bits, key type
 * names, durations, renewal time).
 *
 * The defaults are written as JSON and go through the same parser as an
 * operator's profile, so they obey every rule an edited profile must. */
#include "coordinator/policy/profile.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- defaults */

/* tls-server: the contract of ../shared/conformance (DNS names under .test
 * and localhost, automatic, agents and operator tokens). Choices, explained
 * in docs/profiles.md: 90 days at most, 60 by default (ACME clients renew
 * 30 days before expiry, so a shorter default would renew on every run);
 * serverAuth only (a server certificate that is also a client certificate
 * lets that host authenticate as itself to every mTLS service; clients get
 * their own profile); renewal with a third of the lifetime left. */
static const char TLS_SERVER_JSON[] =
    "{\n"
    "  \"name\": \"tls-server\",\n"
    "  \"description\": \"TLS server certificates for names under .test and "
    "localhost\",\n"
    "  \"ca\": \"\",\n"
    "  \"workflow\": \"automatic\",\n"
    "  \"key_types\": [\"ec-p256\", \"ec-p384\", \"rsa-2048\"],\n"
    "  \"validity\": {\"max\": \"90d\", \"default\": \"60d\"},\n"
    "  \"renewal\": {\"fraction\": 0.3333},\n"
    "  \"san\": {\"dns\": [\".test\", \"localhost\"], \"ip\": [], \"uri\": "
    "[],\n"
    "          \"email\": [], \"wildcards\": false, \"from_binding\": false,\n"
    "          \"max\": 100},\n"
    "  \"cn\": \"copy_to_san\",\n"
    "  \"key_usage\": [\"digitalSignature\", \"keyEncipherment\"],\n"
    "  \"ext_key_usage\": [\"serverAuth\"],\n"
    "  \"access\": {\"agent_groups\": [\"*\"], \"roles\": [\"admin\", "
    "\"operator\"],\n"
    "             \"owners\": []}\n"
    "}\n";

/* agent-identity: the client certificate an agent gets at enrollment and
 * renews over the gateway. Names come only from the agent's binding; the CN
 * is the agent id, which the gateway sets, so it is not a checked name. */
static const char AGENT_IDENTITY_JSON[] =
    "{\n"
    "  \"name\": \"agent-identity\",\n"
    "  \"description\": \"Agent identity certificates for mutual TLS with the "
    "coordinator\",\n"
    "  \"ca\": \"\",\n"
    "  \"workflow\": \"automatic\",\n"
    "  \"key_types\": [\"ec-p256\", \"ec-p384\", \"rsa-2048\", "
    "\"ed25519\"],\n"
    "  \"validity\": {\"max\": \"90d\", \"default\": \"30d\"},\n"
    "  \"renewal\": {\"fraction\": 0.3333},\n"
    "  \"san\": {\"dns\": [], \"ip\": [], \"uri\": [], \"email\": [],\n"
    "          \"wildcards\": false, \"from_binding\": true, \"max\": 10},\n"
    "  \"cn\": \"unchecked\",\n"
    "  \"key_usage\": [\"digitalSignature\"],\n"
    "  \"ext_key_usage\": [\"clientAuth\"],\n"
    "  \"access\": {\"agent_groups\": [\"*\"], \"roles\": [], \"owners\": "
    "[]}\n"
    "}\n";

static const char *const DEFAULT_NAMES[] = {"tls-server", "agent-identity",
                                            NULL};

const char *const *ck_profile_default_names(void) {
  return DEFAULT_NAMES;
}

const char *ck_profile_default_json(const char *name) {
  if (name == NULL)
    return NULL;
  if (strcmp(name, "tls-server") == 0)
    return TLS_SERVER_JSON;
  if (strcmp(name, "agent-identity") == 0)
    return AGENT_IDENTITY_JSON;
  return NULL;
}

ck_err ck_profile_default_tls_server(ck_profile **out, ck_errctx *err) {
  return ck_profile_from_json(TLS_SERVER_JSON, sizeof TLS_SERVER_JSON - 1, out,
                              err);
}

ck_err ck_profile_default_agent_identity(ck_profile **out, ck_errctx *err) {
  return ck_profile_from_json(AGENT_IDENTITY_JSON,
                              sizeof AGENT_IDENTITY_JSON - 1, out, err);
}

/* ---------------------------------------------------------------- lifetime */

static void free_list(char **v, size_t n) {
  size_t i;
  for (i = 0; v != NULL && i < n; i++)
    free(v[i]);
  free(v);
}

void ck_profile_free(ck_profile *p) {
  if (p == NULL)
    return;
  free(p->name);
  free(p->description);
  free(p->ca);
  ck_sanset_free(p->sans);
  free_list(p->agent_groups, p->n_agent_groups);
  free_list(p->owners, p->n_owners);
  ck_profile_upstream_free(p->upstream);
  ck_profile_routing_free(p->routing);
  free(p);
}

static int str_eq(const char *a, const char *b) {
  return strcmp(a ? a : "", b ? b : "") == 0;
}

static int list_eq(char **a, size_t na, char **b, size_t nb) {
  size_t i;
  if (na != nb)
    return 0;
  for (i = 0; i < na; i++)
    if (!str_eq(a[i], b[i]))
      return 0;
  return 1;
}

int ck_profile_equal(const ck_profile *a, const ck_profile *b) {
  char *la = NULL, *lb = NULL;
  int eq;

  if (a == NULL || b == NULL)
    return a == b;
  if (!str_eq(a->name, b->name) || a->version != b->version ||
      !str_eq(a->description, b->description) || !str_eq(a->ca, b->ca) ||
      a->workflow != b->workflow || a->n_keys != b->n_keys ||
      memcmp(a->keys, b->keys, a->n_keys * sizeof a->keys[0]) != 0 ||
      a->max_validity != b->max_validity ||
      a->default_validity != b->default_validity ||
      a->renew_fraction != b->renew_fraction ||
      a->renew_before != b->renew_before || a->wildcards != b->wildcards ||
      a->sans_from_binding != b->sans_from_binding ||
      a->max_sans != b->max_sans || a->cn != b->cn ||
      a->key_usage != b->key_usage || a->eku != b->eku ||
      a->roles != b->roles ||
      !list_eq(a->agent_groups, a->n_agent_groups, b->agent_groups,
               b->n_agent_groups) ||
      !list_eq(a->owners, a->n_owners, b->owners, b->n_owners) ||
      !ck_profile_upstream_equal(a->upstream, b->upstream) ||
      !ck_profile_routing_equal(a->routing, b->routing))
    return 0;
  if (ck_sanset_to_lines(a->sans, &la) != CK_OK ||
      ck_sanset_to_lines(b->sans, &lb) != CK_OK) {
    free(la);
    return 0;
  }
  eq = strcmp(la, lb) == 0;
  free(la);
  free(lb);
  return eq;
}

/* ----------------------------------------------------------------- helpers */

int64_t ck_profile_renew_at(const ck_profile *p, int64_t not_before,
                            int64_t not_after) {
  int64_t life = not_after - not_before, at = not_after;

  if (p == NULL || life <= 0)
    return not_after;
  if (p->renew_fraction > 0) {
    int64_t t = not_after - (int64_t)((double)life * p->renew_fraction);
    if (t < at)
      at = t;
  }
  if (p->renew_before > 0 && not_after - p->renew_before < at)
    at = not_after - p->renew_before;
  return at < not_before ? not_before : at;
}

const char *ck_profile_duration_format(int64_t s, char *buf, size_t len) {
  if (s != 0 && s % 86400 == 0)
    snprintf(buf, len, "%" PRId64 "d", s / 86400);
  else if (s != 0 && s % 3600 == 0)
    snprintf(buf, len, "%" PRId64 "h", s / 3600);
  else if (s != 0 && s % 60 == 0)
    snprintf(buf, len, "%" PRId64 "m", s / 60);
  else
    snprintf(buf, len, "%" PRId64 "s", s);
  return buf;
}

static const char *bit_name(unsigned bit, const char *const *names, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (bit == 1u << i)
      return names[i];
  return NULL;
}

static const char *const EKU_NAMES[] = {
    "serverAuth",      "clientAuth",   "codeSigning",
    "emailProtection", "timeStamping", "OCSPSigning",
};
static const char *const KU_NAMES[] = {
    "digitalSignature", "nonRepudiation", "keyEncipherment",
    "dataEncipherment", "keyAgreement",   "keyCertSign",
    "cRLSign",          "encipherOnly",   "decipherOnly",
};
static const char *const ROLE_NAMES[] = {"admin", "operator", "approver",
                                         "auditor"};

const char *ck_profile_eku_name(unsigned bit) {
  return bit_name(bit, EKU_NAMES, sizeof EKU_NAMES / sizeof EKU_NAMES[0]);
}

const char *ck_profile_ku_name(unsigned bit) {
  return bit_name(bit, KU_NAMES, sizeof KU_NAMES / sizeof KU_NAMES[0]);
}

const char *ck_profile_role_name(unsigned bit) {
  return bit_name(bit, ROLE_NAMES, sizeof ROLE_NAMES / sizeof ROLE_NAMES[0]);
}

ck_err ck_profile_key_parse(const char *text, ck_profile_key *out,
                            ck_errctx *err) {
  ck_profile_key k = {CK_KEY_UNKNOWN, 0};

  if (text == NULL)
    return ck_failf(err, CK_ERR_PARSE, "no key type");
  if (strcasecmp(text, "ec-p256") == 0) {
    k.type = CK_KEY_EC, k.bits = 256;
  } else if (strcasecmp(text, "ec-p384") == 0) {
    k.type = CK_KEY_EC, k.bits = 384;
  } else if (strcasecmp(text, "ec-p521") == 0) {
    k.type = CK_KEY_EC, k.bits = 521;
  } else if (strcasecmp(text, "ed25519") == 0) {
    k.type = CK_KEY_ED25519, k.bits = 0;
  } else if (strncasecmp(text, "rsa-", 4) == 0) {
    const char *d = text + 4;
    unsigned long v = 0;
    size_t i;
    for (i = 0; d[i] != '\0'; i++) {
      if (d[i] < '0' || d[i] > '9' || i >= 5 || (i == 0 && d[i] == '0'))
        return ck_failf(err, CK_ERR_PARSE,
                        "'%.40s' is not a key type (rsa-<bits>, e.g. "
                        "rsa-2048)",
                        text);
      v = v * 10 + (unsigned long)(d[i] - '0');
    }
    if (i == 0)
      return ck_failf(err, CK_ERR_PARSE,
                      "'%.40s' is not a key type (rsa-<bits>, e.g. rsa-2048)",
                      text);
    if (v < 2048)
      return ck_failf(err, CK_ERR_PARSE,
                      "'%.40s' is below the smallest RSA minimum a profile "
                      "may set, rsa-2048",
                      text);
    if (v > 16384)
      return ck_failf(err, CK_ERR_PARSE,
                      "'%.40s' is above rsa-16384, the largest RSA minimum",
                      text);
    k.type = CK_KEY_RSA, k.bits = (unsigned)v;
  } else {
    return ck_failf(err, CK_ERR_PARSE,
                    "'%.40s' is not a key type (ec-p256, ec-p384, ec-p521, "
                    "rsa-<bits>, ed25519)",
                    text);
  }
  *out = k;
  return CK_OK;
}

const char *ck_profile_key_name(const ck_profile_key *k, char *buf,
                                size_t len) {
  switch (k->type) {
  case CK_KEY_RSA:
    snprintf(buf, len, "rsa-%u", k->bits);
    break;
  case CK_KEY_EC:
    snprintf(buf, len, "ec-p%u", k->bits);
    break;
  case CK_KEY_ED25519:
    snprintf(buf, len, "ed25519");
    break;
  default:
    snprintf(buf, len, "unknown");
    break;
  }
  return buf;
}
