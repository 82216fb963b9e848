/* profile_check.c — deciding one certificate request under a profile.
 *
 * The rules run in a fixed order and the first one that fails is the
 * answer, named precisely (rule, offending value, human message), because
 * "denied by policy" alone sends an operator digging through logs:
 *   1. access: may this requester use the profile at all (agent group, API
 *      role, owner) — and for an agent, does its binding list the profile;
 *   2. key: type/curve allowed, RSA size at least the minimum, and able to
 *      serve the profile's key usage;
 *   3. validity: the requested (or default) lifetime within the maximum;
 *   4. names: every SAN a supported type and well formed, the CN rule, the
 *      number of SANs, wildcards, the profile's patterns and the agent's
 *      binding (an agent gets only names both allow).
 * Only a request that passes everything is allowed, or pending when the
 * profile wants approval. Refusals go to the security log here. */
#include "coordinator/policy/profile.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/log.h"
#include "common/util/mem.h"

static const char *const RULE_NAMES[] = {
    [CK_PROFILE_RULE_NONE] = "none",
    [CK_PROFILE_RULE_ACCESS] = "access",
    [CK_PROFILE_RULE_BINDING_PROFILE] = "binding.profile",
    [CK_PROFILE_RULE_KEY_TYPE] = "key.type",
    [CK_PROFILE_RULE_KEY_SIZE] = "key.size",
    [CK_PROFILE_RULE_KEY_USAGE] = "key.usage",
    [CK_PROFILE_RULE_VALIDITY] = "validity",
    [CK_PROFILE_RULE_NAMES] = "names",
    [CK_PROFILE_RULE_SAN_TYPE] = "san.type",
    [CK_PROFILE_RULE_SAN_SYNTAX] = "san.syntax",
    [CK_PROFILE_RULE_SAN_COUNT] = "san.count",
    [CK_PROFILE_RULE_WILDCARD] = "san.wildcard",
    [CK_PROFILE_RULE_SAN_PATTERN] = "san.pattern",
    [CK_PROFILE_RULE_SAN_BINDING] = "san.binding",
    [CK_PROFILE_RULE_CN] = "cn",
};

const char *ck_profile_rule_name(ck_profile_rule rule) {
  if ((unsigned)rule >= sizeof RULE_NAMES / sizeof RULE_NAMES[0] ||
      RULE_NAMES[rule] == NULL)
    return "none";
  return RULE_NAMES[rule];
}

void ck_profile_verdict_clear(ck_profile_verdict *v) {
  if (v == NULL)
    return;
  free(v->mem);
  memset(v, 0, sizeof *v);
}

/* --------------------------------------------------------------- helpers */

typedef struct chk {
  const ck_profile *p;
  const ck_profile_request *req;
  ck_profile_verdict *v;
  ck_errctx *err;
} chk;

static const char *kind_name(ck_profile_requester_kind k) {
  switch (k) {
  case CK_PROFILE_REQ_AGENT:
    return "agent";
  case CK_PROFILE_REQ_TOKEN:
    return "token";
  case CK_PROFILE_REQ_OWNER:
    return "owner";
  default:
    return "unknown";
  }
}

/* Copies untrusted text for a message: printable ASCII kept, other bytes
 * as \xHH, bounded. */
static const char *shown(const char *s, char *buf, size_t len) {
  size_t i, k = 0;
  buf[0] = '\0';
  if (s == NULL)
    return buf;
  for (i = 0; s[i] != '\0' && k + 8 < len; i++) {
    unsigned char u = (unsigned char)s[i];
    if (u >= 0x20 && u < 0x7f)
      buf[k++] = (char)u;
    else
      k += (size_t)snprintf(buf + k, len - k, "\\x%02x", u);
    buf[k] = '\0';
  }
  if (s[i] != '\0' && k + 4 < len)
    snprintf(buf + k, len - k, "...");
  return buf;
}

/* Records the refusal in the verdict, the error context and the security
 * log. Returns CK_ERR_DENIED. */
static ck_err refuse(chk *k, ck_profile_rule rule, const char *value,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static ck_err refuse(chk *k, ck_profile_rule rule, const char *value,
                     const char *fmt, ...) {
  ck_profile_verdict *v = k->v;
  const ck_profile_requester *w = &k->req->who;
  va_list ap;

  free(v->mem);
  memset(v, 0, sizeof *v);
  v->outcome = CK_PROFILE_REFUSE;
  v->rule = rule;
  va_start(ap, fmt);
  vsnprintf(v->reason, sizeof v->reason, fmt, ap);
  va_end(ap);
  shown(value, v->value, sizeof v->value);
  ck_log(CK_LOG_SEC, CK_LOG_WARN, "policy.refuse", CK_S("profile", k->p->name),
         CK_I("profile_version", k->p->version),
         CK_S("requester", kind_name(w->kind)),
         CK_S("requester_id", w->id ? w->id : ""),
         CK_S("rule", ck_profile_rule_name(rule)), CK_S("value", v->value),
         CK_S("reason", v->reason));
  return ck_failf(k->err, CK_ERR_DENIED, "%s", v->reason);
}

/* 1 when name is in list (or list has "*" and name is not empty). */
static int in_list(char **list, size_t n, const char *name) {
  size_t i;
  if (name == NULL || *name == '\0')
    return 0;
  for (i = 0; i < n; i++)
    if (strcmp(list[i], "*") == 0 || strcmp(list[i], name) == 0)
      return 1;
  return 0;
}

static const char *join(char **list, size_t n, char *buf, size_t len) {
  size_t i, k = 0;
  buf[0] = '\0';
  for (i = 0; i < n && k + 8 < len; i++) {
    int w = snprintf(buf + k, len - k, "%s%s", i ? ", " : "", list[i]);
    if (w < 0 || (size_t)w >= len - k) {
      snprintf(buf + k, len - k, "...");
      break;
    }
    k += (size_t)w;
  }
  return buf;
}

/* ----------------------------------------------------------------- access */

static ck_err check_owner(chk *k, const char *owner) {
  const ck_profile *p = k->p;
  char sb[160], lb[256];

  if (in_list(p->owners, p->n_owners, owner))
    return CK_OK;
  shown(owner, sb, sizeof sb);
  if (p->n_owners == 0)
    return refuse(k, CK_PROFILE_RULE_ACCESS, sb,
                  "owner '%s' may not use profile '%s' (no owners allowed)", sb,
                  p->name);
  return refuse(k, CK_PROFILE_RULE_ACCESS, sb,
                "owner '%s' may not use profile '%s' (allowed owners: %s)", sb,
                p->name, join(p->owners, p->n_owners, lb, sizeof lb));
}

static ck_err check_access(chk *k) {
  const ck_profile *p = k->p;
  const ck_profile_requester *w = &k->req->who;
  char sb[160], lb[256];
  size_t i;

  switch (w->kind) {
  case CK_PROFILE_REQ_AGENT:
    if (!in_list(p->agent_groups, p->n_agent_groups, w->group)) {
      shown(w->group, sb, sizeof sb);
      if (p->n_agent_groups == 0)
        return refuse(k, CK_PROFILE_RULE_ACCESS, sb,
                      "group '%s' may not use profile '%s' (no agent groups "
                      "allowed)",
                      sb, p->name);
      return refuse(k, CK_PROFILE_RULE_ACCESS, sb,
                    "group '%s' may not use profile '%s' (allowed groups: %s)",
                    sb, p->name,
                    join(p->agent_groups, p->n_agent_groups, lb, sizeof lb));
    }
    if (w->n_binding_profiles > 0) {
      size_t k2 = 0;
      for (i = 0; i < w->n_binding_profiles; i++)
        if (w->binding_profiles[i] != NULL &&
            strcmp(w->binding_profiles[i], p->name) == 0)
          return CK_OK;
      lb[0] = '\0';
      for (i = 0; i < w->n_binding_profiles && k2 + 8 < sizeof lb; i++)
        k2 += (size_t)snprintf(lb + k2, sizeof lb - k2, "%s%s", i ? ", " : "",
                               shown(w->binding_profiles[i], sb, 64));
      return refuse(k, CK_PROFILE_RULE_BINDING_PROFILE, p->name,
                    "the agent's binding does not allow profile '%s' "
                    "(allowed: %s)",
                    p->name, lb);
    }
    return CK_OK;
  case CK_PROFILE_REQ_TOKEN: {
    unsigned bit = 0;
    const char *role = w->role ? w->role : "";
    if (strcmp(role, "owner") == 0)
      return check_owner(k, w->owner);
    for (i = 0; ck_profile_role_name(1u << i) != NULL; i++)
      if (strcmp(role, ck_profile_role_name(1u << i)) == 0)
        bit = 1u << i;
    if (bit != 0 && (p->roles & bit))
      return CK_OK;
    shown(role, sb, sizeof sb);
    lb[0] = '\0';
    {
      size_t k2 = 0;
      for (i = 0; ck_profile_role_name(1u << i) != NULL; i++)
        if (p->roles & (1u << i))
          k2 += (size_t)snprintf(lb + k2, sizeof lb - k2, "%s%s",
                                 k2 ? ", " : "", ck_profile_role_name(1u << i));
    }
    if (p->roles == 0)
      return refuse(k, CK_PROFILE_RULE_ACCESS, sb,
                    "requester role '%s' may not use profile '%s' (no API "
                    "roles allowed)",
                    sb, p->name);
    return refuse(k, CK_PROFILE_RULE_ACCESS, sb,
                  "requester role '%s' may not use profile '%s' (allowed "
                  "roles: %s)",
                  sb, p->name, lb);
  }
  case CK_PROFILE_REQ_OWNER:
    return check_owner(k, w->owner);
  default:
    return refuse(k, CK_PROFILE_RULE_ACCESS, "",
                  "unknown requester kind %d may not use profile '%s'",
                  (int)w->kind, p->name);
  }
}

/* -------------------------------------------------------------------- key */

/* The policy name of a requested key: "rsa-2048", "ec-p256",
 * "ec-secp256k1", "ed25519". */
static const char *key_name(const ck_key_info *ki, char *buf, size_t len) {
  switch (ki->type) {
  case CK_KEY_RSA:
    snprintf(buf, len, "rsa-%u", ki->bits);
    break;
  case CK_KEY_EC: {
    size_t i, k = 3;
    snprintf(buf, len, "ec-");
    for (i = 0; ki->curve[i] != '\0' && k + 1 < len; i++) {
      char ch = ki->curve[i];
      if (ch == '-')
        continue;
      buf[k++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
    }
    buf[k] = '\0';
    if (k == 3)
      snprintf(buf, len, "ec-unknown");
    break;
  }
  case CK_KEY_ED25519:
    snprintf(buf, len, "ed25519");
    break;
  case CK_KEY_ED448:
    snprintf(buf, len, "ed448");
    break;
  case CK_KEY_RSA_PSS:
    snprintf(buf, len, "rsa-pss-%u", ki->bits);
    break;
  case CK_KEY_DSA:
    snprintf(buf, len, "dsa-%u", ki->bits);
    break;
  default:
    snprintf(buf, len, "unknown");
    break;
  }
  return buf;
}

static unsigned ec_curve_bits(const char *curve) {
  if (strcmp(curve, "P-256") == 0)
    return 256;
  if (strcmp(curve, "P-384") == 0)
    return 384;
  if (strcmp(curve, "P-521") == 0)
    return 521;
  return 0;
}

static ck_err check_key(chk *k, unsigned *ku_out) {
  const ck_profile *p = k->p;
  const ck_key_info *ki = &k->req->csr->key;
  char kn[48], allowed[160], rn[24];
  size_t i, a = 0;
  unsigned ku = p->key_usage, fit;

  allowed[0] = '\0';
  for (i = 0; i < p->n_keys; i++)
    a +=
        (size_t)snprintf(allowed + a, sizeof allowed - a, "%s%s", i ? ", " : "",
                         ck_profile_key_name(&p->keys[i], rn, sizeof rn));
  key_name(ki, kn, sizeof kn);
  for (i = 0; i < p->n_keys; i++) {
    const ck_profile_key *r = &p->keys[i];
    if (r->type != ki->type)
      continue;
    if (r->type == CK_KEY_RSA) {
      if (ki->bits < r->bits)
        return refuse(k, CK_PROFILE_RULE_KEY_SIZE, kn,
                      "key %s is below the minimum %s", kn,
                      ck_profile_key_name(r, rn, sizeof rn));
      break;
    }
    if (r->type == CK_KEY_ED25519 ||
        (r->type == CK_KEY_EC && ec_curve_bits(ki->curve) == r->bits))
      break;
  }
  if (i == p->n_keys)
    return refuse(k, CK_PROFILE_RULE_KEY_TYPE, kn,
                  "key %s is not allowed by profile '%s' (allowed: %s)", kn,
                  p->name, allowed);
  /* RFC 5480 (EC: no key or data encipherment), RFC 8410 (Ed25519:
   * signatures only), RSA cannot do key agreement */
  switch (ki->type) {
  case CK_KEY_EC:
    fit = CK_KU_DIGITAL_SIGNATURE | CK_KU_NON_REPUDIATION | CK_KU_KEY_AGREEMENT;
    break;
  case CK_KEY_ED25519:
    fit = CK_KU_DIGITAL_SIGNATURE | CK_KU_NON_REPUDIATION;
    break;
  default:
    fit = CK_KU_DIGITAL_SIGNATURE | CK_KU_NON_REPUDIATION |
          CK_KU_KEY_ENCIPHERMENT | CK_KU_DATA_ENCIPHERMENT;
    break;
  }
  if ((ku & fit) == 0) {
    char kb[160];
    size_t b = 0;
    kb[0] = '\0';
    for (i = 0; i < 9; i++)
      if (ku & (1u << i))
        b += (size_t)snprintf(kb + b, sizeof kb - b, "%s%s", b ? ", " : "",
                              ck_profile_ku_name(1u << i));
    return refuse(k, CK_PROFILE_RULE_KEY_USAGE, kn,
                  "key %s cannot serve the key usage of profile '%s' (%s)", kn,
                  p->name, kb);
  }
  *ku_out = ku & fit;
  return CK_OK;
}

/* ------------------------------------------------------------------ names */

static const char *value_kind(ck_san_type t) {
  switch (t) {
  case CK_SAN_DNS:
    return "DNS name";
  case CK_SAN_IP:
    return "IP address";
  case CK_SAN_URI:
    return "URI";
  case CK_SAN_EMAIL:
    return "email address";
  default:
    return "name";
  }
}

static const char *prefix(ck_san_type t) {
  switch (t) {
  case CK_SAN_DNS:
    return "dns";
  case CK_SAN_IP:
    return "ip";
  case CK_SAN_URI:
    return "uri";
  case CK_SAN_EMAIL:
    return "email";
  default:
    return "other";
  }
}

static const char *none_allowed(ck_san_type t) {
  switch (t) {
  case CK_SAN_DNS:
    return "no DNS names allowed";
  case CK_SAN_IP:
    return "no IP addresses allowed";
  case CK_SAN_URI:
    return "no URIs allowed";
  default:
    return "no email addresses allowed";
  }
}

/* Storage for the verdict's SANs and CN: one block, bump-allocated. */
typedef struct store {
  char *base;
  size_t used, cap;
} store;

static char *store_str(store *s, const char *v) {
  size_t n = strlen(v) + 1;
  char *r;
  if (s->used + n > s->cap)
    return NULL;
  r = s->base + s->used;
  memcpy(r, v, n);
  s->used += n;
  return r;
}

/* Adds the normalized value unless already present; returns 0, or -1 when
 * storage ran out (cannot happen: sized up front). */
static int add_san(ck_profile_verdict *v, store *st, ck_san_type t,
                   const char *norm, int *wild_flags, int wild) {
  size_t i;
  char *c;
  for (i = 0; i < v->n_sans; i++)
    if (v->sans[i].type == t && strcmp(v->sans[i].value, norm) == 0)
      return 0;
  if ((c = store_str(st, norm)) == NULL)
    return -1;
  v->sans[v->n_sans].type = t;
  v->sans[v->n_sans].value = c;
  wild_flags[v->n_sans] = wild;
  v->n_sans++;
  return 0;
}

static ck_err check_one_name(chk *k, const ck_san *s, int wild) {
  const ck_profile *p = k->p;
  const ck_profile_requester *w = &k->req->who;
  const ck_sanset *binding = NULL;
  char disp[CK_SANSET_VALUE_MAX + 16], sb[300], allowed[256];

  snprintf(disp, sizeof disp, "%s:%s", prefix(s->type), s->value);
  shown(disp, sb, sizeof sb);
  if (w->kind == CK_PROFILE_REQ_AGENT && w->binding != NULL &&
      ck_sanset_count(w->binding, 0) > 0)
    binding = w->binding;
  if (wild && !p->wildcards)
    return refuse(k, CK_PROFILE_RULE_WILDCARD, sb,
                  "san %s is a wildcard; wildcard names are not allowed by "
                  "profile '%s'",
                  sb, p->name);
  if (p->sans_from_binding) {
    if (binding == NULL)
      return refuse(k, CK_PROFILE_RULE_SAN_BINDING, sb,
                    "san %s is not allowed: profile '%s' takes names only "
                    "from the agent's binding, and there is none",
                    sb, p->name);
  } else if (!ck_sanset_match(p->sans, s->type, s->value)) {
    if (ck_sanset_count(p->sans, s->type) == 0)
      return refuse(k, CK_PROFILE_RULE_SAN_PATTERN, sb,
                    "san %s is not allowed by profile '%s' (%s)", sb, p->name,
                    none_allowed(s->type));
    return refuse(
        k, CK_PROFILE_RULE_SAN_PATTERN, sb,
        "san %s is not allowed by profile '%s' (allowed: %s)", sb, p->name,
        ck_sanset_describe(p->sans, s->type, allowed, sizeof allowed));
  }
  if (binding != NULL && !ck_sanset_match(binding, s->type, s->value)) {
    if (ck_sanset_count(binding, s->type) == 0)
      return refuse(k, CK_PROFILE_RULE_SAN_BINDING, sb,
                    "san %s is not allowed by the agent's binding (%s)", sb,
                    none_allowed(s->type));
    return refuse(
        k, CK_PROFILE_RULE_SAN_BINDING, sb,
        "san %s is not allowed by the agent's binding (allowed: %s)", sb,
        ck_sanset_describe(binding, s->type, allowed, sizeof allowed));
  }
  return CK_OK;
}

/* Finds a normalized form of cn among the SANs; returns the index or -1. */
static long cn_in_sans(const ck_profile_verdict *v, const char *cn) {
  char norm[CK_SANSET_VALUE_MAX];
  static const ck_san_type order[] = {CK_SAN_DNS, CK_SAN_IP, CK_SAN_EMAIL};
  size_t t, i;
  int wild;

  for (t = 0; t < sizeof order / sizeof order[0]; t++) {
    if (ck_sanset_normalize(order[t], cn, norm, sizeof norm, &wild, NULL) !=
        CK_OK)
      continue;
    for (i = 0; i < v->n_sans; i++)
      if (v->sans[i].type == order[t] && strcmp(v->sans[i].value, norm) == 0)
        return (long)i;
  }
  return -1;
}

static ck_err check_names(chk *k) {
  const ck_profile *p = k->p;
  const ck_csr_info *ci = k->req->csr;
  ck_profile_verdict *v = k->v;
  const char *cn = ci->subject_cn ? ci->subject_cn : "";
  char norm[CK_SANSET_VALUE_MAX], sb[300], disp[CK_SANSET_VALUE_MAX + 16];
  int *wild = NULL;
  store st = {NULL, 0, 0};
  size_t i, need;
  ck_err rc = CK_OK;

  if (ci->n_sans > p->max_sans) {
    snprintf(sb, sizeof sb, "%zu", ci->n_sans);
    return refuse(k, CK_PROFILE_RULE_SAN_COUNT, sb,
                  "the request has %zu SANs; profile '%s' allows at most %u",
                  ci->n_sans, p->name, p->max_sans);
  }
  /* room for every SAN plus a copied CN; normalized values are never
   * longer than the input except IP text, bounded by INET6_ADDRSTRLEN */
  need = (ci->n_sans + 1) * sizeof(ck_san);
  for (i = 0; i < ci->n_sans; i++)
    need += (ci->sans[i].value ? strlen(ci->sans[i].value) : 0) +
            INET6_ADDRSTRLEN + 2;
  need += 2 * (strlen(cn) + INET6_ADDRSTRLEN + 2);
  if ((v->mem = malloc(need)) == NULL ||
      (wild = calloc(ci->n_sans + 1, sizeof *wild)) == NULL) {
    rc = ck_failf(k->err, CK_ERR_NOMEM, "policy: out of memory");
    goto out;
  }
  v->sans = (ck_san *)(void *)v->mem;
  st.base = v->mem + (ci->n_sans + 1) * sizeof(ck_san);
  st.cap = need - (ci->n_sans + 1) * sizeof(ck_san);

  for (i = 0; i < ci->n_sans; i++) {
    const ck_san *s = &ci->sans[i];
    ck_errctx e = CK_ERRCTX_INIT;
    int w = 0;
    const char *val = s->value ? s->value : "";

    snprintf(disp, sizeof disp, "%s:%s", prefix(s->type), val);
    shown(disp, sb, sizeof sb);
    if (s->type != CK_SAN_DNS && s->type != CK_SAN_IP &&
        s->type != CK_SAN_URI && s->type != CK_SAN_EMAIL) {
      rc = refuse(k, CK_PROFILE_RULE_SAN_TYPE, sb,
                  "san %s is not allowed: only DNS, IP, URI and email names "
                  "can be issued",
                  sb);
      goto out;
    }
    if (ck_sanset_normalize(s->type, val, norm, sizeof norm, &w, &e) != CK_OK) {
      rc = refuse(k, CK_PROFILE_RULE_SAN_SYNTAX, sb,
                  "san %s is not a valid %s (%s)", sb, value_kind(s->type),
                  e.msg);
      goto out;
    }
    if (add_san(v, &st, s->type, norm, wild, w) != 0) {
      rc = ck_failf(k->err, CK_ERR_INTERNAL, "policy: SAN storage");
      goto out;
    }
  }

  v->subject_cn = "";
  if (*cn != '\0') {
    long at;
    char cb[300];
    shown(cn, cb, sizeof cb);
    if (p->cn == CK_PROFILE_CN_UNCHECKED) {
      v->subject_cn = store_str(&st, cn);
    } else if ((at = cn_in_sans(v, cn)) >= 0) {
      v->subject_cn = v->sans[at].value;
    } else if (p->cn == CK_PROFILE_CN_REQUIRE_SAN) {
      rc = refuse(k, CK_PROFILE_RULE_CN, cb,
                  "CN '%s' is not among the SANs (profile '%s' requires the "
                  "CN to be one of them)",
                  cb, p->name);
      goto out;
    } else {
      int w = 0;
      ck_san_type t = CK_SAN_IP;
      if (ck_sanset_normalize(CK_SAN_IP, cn, norm, sizeof norm, &w, NULL) !=
          CK_OK) {
        t = CK_SAN_DNS;
        if (ck_sanset_normalize(CK_SAN_DNS, cn, norm, sizeof norm, &w, NULL) !=
            CK_OK) {
          rc = refuse(k, CK_PROFILE_RULE_CN, cb,
                      "CN '%s' is neither a DNS name nor an IP address, so "
                      "profile '%s' cannot copy it to the SANs",
                      cb, p->name);
          goto out;
        }
      }
      if (add_san(v, &st, t, norm, wild, w) != 0) {
        rc = ck_failf(k->err, CK_ERR_INTERNAL, "policy: SAN storage");
        goto out;
      }
      v->subject_cn = v->sans[v->n_sans - 1].value;
    }
    if (v->subject_cn == NULL) {
      rc = ck_failf(k->err, CK_ERR_INTERNAL, "policy: CN storage");
      goto out;
    }
  }
  if (v->n_sans == 0 && *cn == '\0') {
    rc = refuse(k, CK_PROFILE_RULE_NAMES, "",
                "the request names nothing: no CN and no SANs");
    goto out;
  }
  if (v->n_sans > p->max_sans) {
    snprintf(sb, sizeof sb, "%zu", v->n_sans);
    rc = refuse(k, CK_PROFILE_RULE_SAN_COUNT, sb,
                "the request has %zu SANs; profile '%s' allows at most %u",
                v->n_sans, p->name, p->max_sans);
    goto out;
  }
  for (i = 0; i < v->n_sans; i++)
    if ((rc = check_one_name(k, &v->sans[i], wild[i])) != CK_OK)
      goto out;
out:
  free(wild);
  return rc;
}

/* ------------------------------------------------------------------ check */

ck_err ck_profile_check(const ck_profile *p, const ck_profile_request *req,
                        ck_profile_verdict *out, ck_errctx *err) {
  chk k = {p, req, out, err};
  char a[32], b[32];
  int64_t validity;
  unsigned ku = 0;
  ck_err rc;

  if (out == NULL)
    return ck_failf(err, CK_ERR_INVAL, "policy: no verdict to fill");
  ck_profile_verdict_clear(out);
  if (p == NULL || req == NULL || req->csr == NULL)
    return ck_failf(err, CK_ERR_INVAL, "policy: no profile or request");

  if ((rc = check_access(&k)) != CK_OK || (rc = check_key(&k, &ku)) != CK_OK)
    goto out;

  validity = req->validity != 0 ? req->validity : p->default_validity;
  if (req->validity < 0) {
    ck_profile_duration_format(req->validity, a, sizeof a);
    rc = refuse(&k, CK_PROFILE_RULE_VALIDITY, a, "validity %s is not positive",
                a);
    goto out;
  }
  if (validity > p->max_validity) {
    ck_profile_duration_format(validity, a, sizeof a);
    rc = refuse(&k, CK_PROFILE_RULE_VALIDITY, a,
                "validity %s exceeds the profile maximum %s", a,
                ck_profile_duration_format(p->max_validity, b, sizeof b));
    goto out;
  }
  if ((rc = check_names(&k)) != CK_OK)
    goto out;

  out->validity = validity;
  out->key_usage = ku;
  out->eku = p->eku;
  if (p->workflow == CK_PROFILE_APPROVAL) {
    out->outcome = CK_PROFILE_PENDING;
    snprintf(out->reason, sizeof out->reason, "profile '%s' requires approval",
             p->name);
  } else {
    out->outcome = CK_PROFILE_ALLOW;
  }
  rc = CK_OK;
out:
  if (rc != CK_OK && rc != CK_ERR_DENIED) {
    /* internal failure: nothing may be issued from a half-filled verdict */
    ck_profile_verdict_clear(out);
    out->outcome = CK_PROFILE_REFUSE;
  }
  return rc;
}
