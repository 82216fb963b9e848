/* routing.h — issuance routing: automatic or admin-mediated.
 *
 * A request is classified by purpose (from the profile's "purpose", else
 * its extended key usages and the names requested), CA, validity, the
 * requester's identity strength and blast radius (from the profile's
 * "blast_radius" floor and the names: wildcards, external names, many
 * SANs, long validity), then routed by the profile's approval mode:
 *   always  admin-mediated;
 *   auto    automatic;
 *   policy  automatic for strong identities (agent mTLS, EST IDevID) below
 *           high blast radius, and for ACME+EAB / API tokens at low blast
 *           radius outside the high-assurance purposes (code signing,
 *           document signing, S/MIME); admin-mediated otherwise, and always
 *           for humans.
 * A high blast radius routes to admin-mediated whatever the mode.
 * docs/approvals.md is the operator reference. Pure functions, no I/O:
 * thread-safe. */
#ifndef CK_POLICY_ROUTING_H
#define CK_POLICY_ROUTING_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto/crypto.h"
#include "coordinator/policy/profile.h"

typedef enum ck_purpose {
  CK_PURPOSE_TLS_INTERNAL = 0,
  CK_PURPOSE_TLS_EXTERNAL,
  CK_PURPOSE_MTLS,
  CK_PURPOSE_CODE_SIGNING,
  CK_PURPOSE_DOCUMENT_SIGNING,
  CK_PURPOSE_CLIENT_AUTH,
  CK_PURPOSE_DEVICE,
  CK_PURPOSE_SMIME,
  CK_PURPOSE__MAX
} ck_purpose;

/* Identity strength of the requester, weakest first. */
typedef enum ck_id_strength {
  CK_IDS_HUMAN = 0,   /* a person asking through the request workflow */
  CK_IDS_API_TOKEN,   /* an API bearer token (automation) */
  CK_IDS_ACME_EAB,    /* an ACME account bound with EAB */
  CK_IDS_EST_IDEVID,  /* an EST device with a manufacturer identity */
  CK_IDS_AGENT_MTLS,  /* an enrolled agent over mutual TLS */
  CK_IDS__MAX
} ck_id_strength;

typedef enum ck_blast {
  CK_BLAST_LOW = 0,
  CK_BLAST_MEDIUM,
  CK_BLAST_HIGH,
  CK_BLAST__MAX
} ck_blast;

typedef enum ck_route_decision {
  CK_ROUTE_AUTO = 0,  /* issue at once */
  CK_ROUTE_ADMIN = 1, /* wait for approval */
} ck_route_decision;

/* Thresholds for the names factor of the blast radius. */
#define CK_ROUTE_MANY_SANS 20   /* more SANs than this: a factor */
#define CK_ROUTE_HUGE_SANS 100  /* more than this: high by itself */
#define CK_ROUTE_LONG_VALIDITY (398LL * 86400) /* longer: a factor */

/* What to classify. Borrowed. */
typedef struct ck_route_in {
  const ck_profile *profile; /* required */
  const ck_san *sans;        /* the names to be certified (the CSR's, or the
                                policy verdict's) */
  size_t n_sans;
  const char *cn;            /* subject CN, "" / NULL none */
  int64_t validity;          /* seconds; 0 = the profile's default */
  ck_id_strength strength;
} ck_route_in;

typedef struct ck_route {
  ck_route_decision decision;
  ck_purpose purpose;
  ck_id_strength strength;
  ck_blast blast;
  ck_approval_mode mode;
  int64_t validity;  /* seconds */
  char ca[72];       /* the profile's CA, "" = default */
  char blast_why[256]; /* the factors: "2 wildcard names; external names" */
  char reason[512];    /* one sentence for the requester */
} ck_route;

/* Classifies and routes in. Never fails (unknown profile values fall back
 * to derived ones). */
void ck_route_classify(const ck_route_in *in, ck_route *out);

/* Static names ("tls-internal", "agent-mtls", "high", "admin"); "?" out of
 * range. The parsers return CK_ERR_PARSE for unknown text. */
const char *ck_purpose_name(ck_purpose p);
ck_err ck_purpose_parse(const char *s, ck_purpose *out);
const char *ck_id_strength_name(ck_id_strength s);
ck_err ck_id_strength_parse(const char *s, ck_id_strength *out);
const char *ck_blast_name(ck_blast b);
ck_err ck_blast_parse(const char *s, ck_blast *out);
const char *ck_route_decision_name(ck_route_decision d);
const char *ck_approval_mode_name(ck_approval_mode m);

/* 1 when a DNS name or IP address is internal: under localhost, .test,
 * .example, .invalid, .local, .localhost, .internal, .lan, .corp,
 * .home.arpa, .intranet, .private, or a loopback/private/link-local
 * address; 0 otherwise (an external name). */
int ck_route_name_internal(const ck_san *s);

#endif
