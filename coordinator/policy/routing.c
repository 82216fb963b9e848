/* routing.c — classify a request and route it to automatic or
 * admin-mediated issuance (routing.h, docs/approvals.md). */
#include "coordinator/policy/routing.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const PURPOSE_NAMES[] = {
    "tls-internal", "tls-external", "mtls",   "code-signing",
    "document-signing", "client-auth", "device", "smime"};
static const char *const STRENGTH_NAMES[] = {"human", "api-token", "acme-eab",
                                             "est-idevid", "agent-mtls"};
static const char *const BLAST_NAMES[] = {"low", "medium", "high"};
static const char *const MODE_NAMES[] = {"auto", "always", "policy"};

#define NAMES_N(a) (sizeof(a) / sizeof((a)[0]))

static ck_err parse_in(const char *s, const char *const *names, size_t n,
                       int *out) {
  size_t i;

  for (i = 0; s != NULL && i < n; i++)
    if (strcmp(s, names[i]) == 0) {
      *out = (int)i;
      return CK_OK;
    }
  return CK_ERR_PARSE;
}

const char *ck_purpose_name(ck_purpose p) {
  return (unsigned)p < NAMES_N(PURPOSE_NAMES) ? PURPOSE_NAMES[p] : "?";
}
ck_err ck_purpose_parse(const char *s, ck_purpose *out) {
  int v = 0;
  ck_err rc = parse_in(s, PURPOSE_NAMES, NAMES_N(PURPOSE_NAMES), &v);
  if (rc == CK_OK)
    *out = (ck_purpose)v;
  return rc;
}
const char *ck_id_strength_name(ck_id_strength s) {
  return (unsigned)s < NAMES_N(STRENGTH_NAMES) ? STRENGTH_NAMES[s] : "?";
}
ck_err ck_id_strength_parse(const char *s, ck_id_strength *out) {
  int v = 0;
  ck_err rc = parse_in(s, STRENGTH_NAMES, NAMES_N(STRENGTH_NAMES), &v);
  if (rc == CK_OK)
    *out = (ck_id_strength)v;
  return rc;
}
const char *ck_blast_name(ck_blast b) {
  return (unsigned)b < NAMES_N(BLAST_NAMES) ? BLAST_NAMES[b] : "?";
}
ck_err ck_blast_parse(const char *s, ck_blast *out) {
  int v = 0;
  ck_err rc = parse_in(s, BLAST_NAMES, NAMES_N(BLAST_NAMES), &v);
  if (rc == CK_OK)
    *out = (ck_blast)v;
  return rc;
}
const char *ck_route_decision_name(ck_route_decision d) {
  return d == CK_ROUTE_AUTO ? "automatic" : d == CK_ROUTE_ADMIN ? "admin" : "?";
}
const char *ck_approval_mode_name(ck_approval_mode m) {
  return (unsigned)m < NAMES_N(MODE_NAMES) ? MODE_NAMES[m] : "?";
}

static const char *const INTERNAL_SUFFIXES[] = {
    "localhost", "test",     "example", "invalid", "local",   "internal",
    "lan",       "corp",     "home.arpa", "intranet", "private", NULL};

/* 1 when name (no trailing dot) equals suffix or ends with "." suffix. */
static int under(const char *name, const char *suffix) {
  size_t n = strlen(name), k = strlen(suffix);

  if (n == k)
    return strcasecmp(name, suffix) == 0;
  return n > k && name[n - k - 1] == '.' && strcasecmp(name + n - k, suffix) == 0;
}

static int ip_internal(const char *text) {
  unsigned char b[16];

  if (inet_pton(AF_INET, text, b) == 1)
    return b[0] == 10 || b[0] == 127 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
           (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254) ||
           (b[0] == 100 && (b[1] & 0xc0) == 64);
  if (inet_pton(AF_INET6, text, b) == 1) {
    static const unsigned char lo[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                         0, 0, 0, 0, 0, 0, 0, 1};
    return memcmp(b, lo, 16) == 0 || (b[0] & 0xfe) == 0xfc ||
           (b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
  }
  return 0;
}

int ck_route_name_internal(const ck_san *s) {
  char name[256];
  size_t i, n;

  if (s == NULL || s->value == NULL)
    return 0;
  if (s->type == CK_SAN_IP)
    return ip_internal(s->value);
  if (s->type != CK_SAN_DNS)
    return 1; /* URIs, e-mail: not a TLS exposure question */
  n = strlen(s->value);
  if (n == 0 || n >= sizeof name)
    return 0;
  memcpy(name, s->value, n + 1);
  if (name[n - 1] == '.')
    name[--n] = '\0';
  for (i = 0; INTERNAL_SUFFIXES[i] != NULL; i++)
    if (under(name, INTERNAL_SUFFIXES[i]))
      return 1;
  return 0;
}

static void appendf(char *buf, size_t len, const char *text) {
  size_t k = strlen(buf);

  if (k + 1 >= len)
    return;
  snprintf(buf + k, len - k, "%s%s", k > 0 ? "; " : "", text);
}

static ck_purpose derive_purpose(const ck_profile *p, int external,
                                 ck_id_strength st) {
  unsigned e = p->eku;

  if (e & CK_EKU_CODE_SIGNING)
    return CK_PURPOSE_CODE_SIGNING;
  if (e & CK_EKU_EMAIL_PROTECTION)
    return CK_PURPOSE_SMIME;
  if (e & CK_EKU_TIME_STAMPING)
    return CK_PURPOSE_DOCUMENT_SIGNING;
  if ((e & CK_EKU_SERVER_AUTH) && (e & CK_EKU_CLIENT_AUTH))
    return CK_PURPOSE_MTLS;
  if (e & CK_EKU_SERVER_AUTH)
    return external ? CK_PURPOSE_TLS_EXTERNAL : CK_PURPOSE_TLS_INTERNAL;
  if (e & CK_EKU_CLIENT_AUTH)
    return st == CK_IDS_EST_IDEVID ? CK_PURPOSE_DEVICE : CK_PURPOSE_CLIENT_AUTH;
  return CK_PURPOSE_TLS_INTERNAL;
}

static ck_blast purpose_blast(ck_purpose p) {
  switch (p) {
  case CK_PURPOSE_CODE_SIGNING:
    return CK_BLAST_HIGH;
  case CK_PURPOSE_DOCUMENT_SIGNING:
  case CK_PURPOSE_SMIME:
  case CK_PURPOSE_TLS_EXTERNAL:
    return CK_BLAST_MEDIUM;
  default:
    return CK_BLAST_LOW;
  }
}

static int high_assurance(ck_purpose p) {
  return p == CK_PURPOSE_CODE_SIGNING || p == CK_PURPOSE_DOCUMENT_SIGNING ||
         p == CK_PURPOSE_SMIME;
}

void ck_route_classify(const ck_route_in *in, ck_route *out) {
  const ck_profile *p = in->profile;
  const ck_profile_routing *r = p->routing;
  size_t i, wild = 0, ext = 0, factors = 0;
  ck_blast floor = CK_BLAST_LOW, b;
  char text[128];

  memset(out, 0, sizeof *out);
  out->strength = (unsigned)in->strength < CK_IDS__MAX ? in->strength : CK_IDS_HUMAN;
  out->mode = ck_profile_approval_mode(p);
  out->validity = in->validity > 0 ? in->validity : p->default_validity;
  snprintf(out->ca, sizeof out->ca, "%s", p->ca != NULL ? p->ca : "");

  for (i = 0; i < in->n_sans; i++) {
    const ck_san *s = &in->sans[i];
    if (s->type == CK_SAN_DNS && s->value != NULL && strncmp(s->value, "*.", 2) == 0)
      wild++;
    if ((s->type == CK_SAN_DNS || s->type == CK_SAN_IP) && !ck_route_name_internal(s))
      ext++;
  }
  if (in->n_sans == 0 && in->cn != NULL && in->cn[0] != '\0') {
    ck_san cn = {CK_SAN_DNS, in->cn};
    if (strchr(in->cn, '.') != NULL && !ck_route_name_internal(&cn))
      ext++;
    if (strncmp(in->cn, "*.", 2) == 0)
      wild++;
  }

  if (r == NULL || r->purpose == NULL || r->purpose[0] == '\0' ||
      ck_purpose_parse(r->purpose, &out->purpose) != CK_OK)
    out->purpose = derive_purpose(p, ext > 0, out->strength);
  b = purpose_blast(out->purpose);
  if (b > CK_BLAST_LOW) {
    snprintf(text, sizeof text, "purpose %s", ck_purpose_name(out->purpose));
    appendf(out->blast_why, sizeof out->blast_why, text);
  }
  if (r != NULL && r->blast_radius != NULL &&
      ck_blast_parse(r->blast_radius, &floor) == CK_OK && floor > b) {
    b = floor;
    snprintf(text, sizeof text, "profile says %s", ck_blast_name(floor));
    appendf(out->blast_why, sizeof out->blast_why, text);
  }
  if (wild > 0) {
    factors++;
    snprintf(text, sizeof text, "%zu wildcard name%s", wild, wild > 1 ? "s" : "");
    appendf(out->blast_why, sizeof out->blast_why, text);
  }
  if (ext > 0) {
    factors++;
    snprintf(text, sizeof text, "%zu external name%s", ext, ext > 1 ? "s" : "");
    appendf(out->blast_why, sizeof out->blast_why, text);
  }
  if (in->n_sans > CK_ROUTE_MANY_SANS) {
    factors++;
    snprintf(text, sizeof text, "%zu names (more than %d)", in->n_sans,
             CK_ROUTE_MANY_SANS);
    appendf(out->blast_why, sizeof out->blast_why, text);
  }
  if (out->validity > CK_ROUTE_LONG_VALIDITY) {
    factors++;
    appendf(out->blast_why, sizeof out->blast_why, "validity over 398 days");
  }
  if (factors == 1 && b < CK_BLAST_MEDIUM)
    b = CK_BLAST_MEDIUM;
  else if (factors >= 2 || in->n_sans > CK_ROUTE_HUGE_SANS)
    b = CK_BLAST_HIGH;
  out->blast = b;
  if (out->blast_why[0] == '\0')
    snprintf(out->blast_why, sizeof out->blast_why, "no risk factor");

  if (out->blast == CK_BLAST_HIGH) {
    out->decision = CK_ROUTE_ADMIN;
    snprintf(out->reason, sizeof out->reason,
             "admin-mediated: blast radius high (%s) overrides approval mode "
             "'%s'",
             out->blast_why, ck_approval_mode_name(out->mode));
    return;
  }
  switch (out->mode) {
  case CK_APPROVAL_ALWAYS:
    out->decision = CK_ROUTE_ADMIN;
    snprintf(out->reason, sizeof out->reason,
             "admin-mediated: profile '%s' requires approval for every request",
             p->name);
    return;
  case CK_APPROVAL_AUTO:
    out->decision = CK_ROUTE_AUTO;
    snprintf(out->reason, sizeof out->reason,
             "automatic: profile '%s' issues automatically (blast radius %s)",
             p->name, ck_blast_name(out->blast));
    return;
  default:
    break;
  }
  /* mode policy */
  if (out->strength == CK_IDS_HUMAN) {
    out->decision = CK_ROUTE_ADMIN;
    snprintf(out->reason, sizeof out->reason,
             "admin-mediated: a human request (identity strength human) "
             "needs approval under profile '%s'", p->name);
  } else if (out->strength >= CK_IDS_EST_IDEVID) {
    out->decision = CK_ROUTE_AUTO;
    snprintf(out->reason, sizeof out->reason,
             "automatic: strong identity (%s), blast radius %s",
             ck_id_strength_name(out->strength), ck_blast_name(out->blast));
  } else if (out->blast == CK_BLAST_LOW && !high_assurance(out->purpose)) {
    out->decision = CK_ROUTE_AUTO;
    snprintf(out->reason, sizeof out->reason,
             "automatic: identity %s, purpose %s, blast radius low",
             ck_id_strength_name(out->strength), ck_purpose_name(out->purpose));
  } else {
    out->decision = CK_ROUTE_ADMIN;
    snprintf(out->reason, sizeof out->reason,
             "admin-mediated: identity %s is not strong enough for purpose %s "
             "at blast radius %s (%s)",
             ck_id_strength_name(out->strength), ck_purpose_name(out->purpose),
             ck_blast_name(out->blast), out->blast_why);
  }
}
