/* profile_approval.c — reading, writing, comparing and freeing the routing
 * part of a profile: "approval" (mode, approvers, criteria, escalation),
 * "purpose" and "blast_radius" (profile_approval.h, docs/profiles.md). */
#include "coordinator/policy/profile_approval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "coordinator/policy/routing.h"

#define LIST_MAX 32
#define ITEM_MAX 128

static const char *const ROLE_OK[] = {"admin", "operator", "approver",
                                      "auditor", "owner", NULL};

static void free_list(char **v, size_t n) {
  size_t i;
  for (i = 0; v != NULL && i < n; i++)
    free(v[i]);
  free(v);
}

void ck_profile_routing_free(ck_profile_routing *r) {
  if (r == NULL)
    return;
  free_list(r->roles, r->n_roles);
  free_list(r->named, r->n_named);
  free_list(r->criteria, r->n_criteria);
  free_list(r->escalate_to, r->n_escalate_to);
  free(r->purpose);
  free(r->blast_radius);
  free(r);
}

static int list_eq(char **a, size_t na, char **b, size_t nb) {
  size_t i;
  if (na != nb)
    return 0;
  for (i = 0; i < na; i++)
    if (strcmp(a[i], b[i]) != 0)
      return 0;
  return 1;
}

int ck_profile_routing_equal(const ck_profile_routing *a,
                             const ck_profile_routing *b) {
  if (a == NULL || b == NULL)
    return a == b;
  return a->has_approval == b->has_approval && a->mode == b->mode &&
         a->required == b->required && a->escalate_after == b->escalate_after &&
         list_eq(a->roles, a->n_roles, b->roles, b->n_roles) &&
         list_eq(a->named, a->n_named, b->named, b->n_named) &&
         list_eq(a->criteria, a->n_criteria, b->criteria, b->n_criteria) &&
         list_eq(a->escalate_to, a->n_escalate_to, b->escalate_to,
                 b->n_escalate_to) &&
         strcmp(a->purpose, b->purpose) == 0 &&
         strcmp(a->blast_radius, b->blast_radius) == 0;
}

ck_approval_mode ck_profile_approval_mode(const struct ck_profile *p) {
  if (p->routing != NULL && p->routing->has_approval)
    return p->routing->mode;
  return p->workflow == CK_PROFILE_APPROVAL ? CK_APPROVAL_ALWAYS
                                            : CK_APPROVAL_AUTO;
}

/* Item text: 1..128 of [A-Za-z0-9._@+:-]. */
static int item_ok(const char *s) {
  return ck__profile_word_ok(s, ITEM_MAX, "._@+:-");
}

static int in_table(const char *s, const char *const *t) {
  size_t i;
  for (i = 0; t[i] != NULL; i++)
    if (strcmp(s, t[i]) == 0)
      return 1;
  return 0;
}

/* A list of names; roles_only: each must be a role name. */
static ck_err parse_list(const ck_profile *p, json_t *v, const char *path,
                         int roles_only, char ***out, size_t *n,
                         ck_errctx *err) {
  size_t i, j, cnt;

  if (v == NULL)
    return CK_OK;
  if (!json_is_array(v))
    return ck__profile_fail(err, p->name, "", path, "expected an array");
  cnt = json_array_size(v);
  if (cnt > LIST_MAX)
    return ck__profile_fail(err, p->name, "", path, "more than %d entries",
                            LIST_MAX);
  if (cnt == 0)
    return CK_OK;
  if ((*out = calloc(cnt, sizeof **out)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "profile: out of memory");
  for (i = 0; i < cnt; i++) {
    json_t *e = json_array_get(v, i);
    const char *s;
    if (!json_is_string(e))
      return ck__profile_fail(err, p->name, "", path,
                              "entry %zu is not a string", i);
    s = json_string_value(e);
    if (strlen(s) != json_string_length(e) || !item_ok(s))
      return ck__profile_fail(
          err, p->name, "", path,
          "entry %zu is not a valid name (1..128 of A-Z a-z 0-9 . _ "
          "@ + : -)",
          i);
    if (roles_only && !in_table(s, ROLE_OK))
      return ck__profile_fail(
          err, p->name, "", path,
          "'%s' is not a role (admin, operator, approver, auditor, "
          "owner)",
          s);
    for (j = 0; j < *n; j++)
      if (strcmp((*out)[j], s) == 0)
        return ck__profile_fail(err, p->name, "", path, "'%s' is listed twice",
                                s);
    if (((*out)[*n] = strdup(s)) == NULL)
      return ck_failf(err, CK_ERR_NOMEM, "profile: out of memory");
    (*n)++;
  }
  return CK_OK;
}

static ck_err check_fields(const ck_profile *p, json_t *o, const char *path,
                           const char *const *ok, ck_errctx *err) {
  const char *k;
  json_t *v;

  json_object_foreach(o, k, v) {
    if (!in_table(k, ok))
      return ck__profile_fail(err, p->name, "", path, "unknown field '%.60s'",
                              k);
  }
  return CK_OK;
}

static ck_err parse_approvers(ck_profile *p, ck_profile_routing *r, json_t *v,
                              ck_errctx *err) {
  static const char *const fields[] = {"roles", "named", "required", NULL};
  json_t *m;
  ck_err rc;

  if (!json_is_object(v))
    return ck__profile_fail(err, p->name, "", "approval.approvers",
                            "expected an object");
  if ((rc = check_fields(p, v, "approval.approvers", fields, err)) != CK_OK ||
      (rc = parse_list(p, json_object_get(v, "roles"), "approval.approvers.roles",
                       1, &r->roles, &r->n_roles, err)) != CK_OK ||
      (rc = parse_list(p, json_object_get(v, "named"), "approval.approvers.named",
                       0, &r->named, &r->n_named, err)) != CK_OK)
    return rc;
  if ((m = json_object_get(v, "required")) != NULL) {
    if (!json_is_integer(m) || json_integer_value(m) < 1 ||
        json_integer_value(m) > CK_APPROVAL_REQUIRED_MAX)
      return ck__profile_fail(err, p->name, "", "approval.approvers.required",
                              "expected an integer 1..%d",
                              CK_APPROVAL_REQUIRED_MAX);
    r->required = (unsigned)json_integer_value(m);
  }
  if (r->n_roles == 0 && r->n_named > 0 && r->required > r->n_named)
    return ck__profile_fail(err, p->name, "", "approval.approvers.required",
                            "%u is more than the %zu named approvers",
                            r->required, r->n_named);
  return CK_OK;
}

static ck_err parse_approval(ck_profile *p, ck_profile_routing *r, json_t *v,
                             ck_errctx *err) {
  static const char *const fields[] = {"mode",     "approvers",
                                       "criteria", "escalate_after",
                                       "escalate_to", NULL};
  static const char *const modes[] = {"auto", "always", "policy", NULL};
  json_t *m;
  const char *s;
  size_t i;
  ck_err rc;

  if (!json_is_object(v))
    return ck__profile_fail(err, p->name, "", "approval", "expected an object");
  if ((rc = check_fields(p, v, "approval", fields, err)) != CK_OK)
    return rc;
  r->has_approval = 1;
  r->required = 1;
  r->mode = p->workflow == CK_PROFILE_APPROVAL ? CK_APPROVAL_ALWAYS
                                               : CK_APPROVAL_AUTO;
  if ((m = json_object_get(v, "mode")) != NULL) {
    if (!json_is_string(m))
      return ck__profile_fail(err, p->name, "", "approval.mode",
                              "expected a string");
    s = json_string_value(m);
    for (i = 0; modes[i] != NULL && strcmp(modes[i], s) != 0; i++)
      ;
    if (modes[i] == NULL)
      return ck__profile_fail(err, p->name, "", "approval.mode",
                              "'%.40s' is not one of auto, always, policy", s);
    r->mode = (ck_approval_mode)i;
  }
  if (p->workflow == CK_PROFILE_APPROVAL && r->mode != CK_APPROVAL_ALWAYS)
    return ck__profile_fail(
        err, p->name, "", "approval.mode",
        "'%s' needs workflow \"automatic\" (workflow \"approval\" "
        "always waits)",
        ck_approval_mode_name(r->mode));
  if ((m = json_object_get(v, "approvers")) != NULL &&
      (rc = parse_approvers(p, r, m, err)) != CK_OK)
    return rc;
  if ((rc = parse_list(p, json_object_get(v, "criteria"), "approval.criteria", 0,
                       &r->criteria, &r->n_criteria, err)) != CK_OK ||
      (rc = parse_list(p, json_object_get(v, "escalate_to"),
                       "approval.escalate_to", 0, &r->escalate_to,
                       &r->n_escalate_to, err)) != CK_OK)
    return rc;
  if ((m = json_object_get(v, "escalate_after")) != NULL) {
    if (!json_is_string(m) ||
        ck_duration_parse(json_string_value(m), &r->escalate_after) != CK_OK ||
        r->escalate_after < 1 || r->escalate_after > 365LL * 86400)
      return ck__profile_fail(
          err, p->name, "", "approval.escalate_after",
          "expected a duration from 1s to 365d (e.g. \"24h\")");
  }
  if (r->n_escalate_to > 0 && r->escalate_after == 0)
    return ck__profile_fail(err, p->name, "", "approval.escalate_to",
                            "needs approval.escalate_after");
  if (r->n_roles == 0 && r->n_named == 0) {
    if ((r->roles = calloc(2, sizeof *r->roles)) == NULL ||
        (r->roles[0] = strdup("approver")) == NULL ||
        (r->roles[1] = strdup("admin")) == NULL)
      return ck_failf(err, CK_ERR_NOMEM, "profile: out of memory");
    r->n_roles = 2;
  }
  return CK_OK;
}

static ck_err parse_word(ck_profile *p, json_t *root, const char *key,
                         int is_purpose, char **out, ck_errctx *err) {
  json_t *m = json_object_get(root, key);
  const char *s = "";
  ck_purpose pu;
  ck_blast b;

  if (m != NULL) {
    if (!json_is_string(m))
      return ck__profile_fail(err, p->name, "", key, "expected a string");
    s = json_string_value(m);
    if (is_purpose && ck_purpose_parse(s, &pu) != CK_OK)
      return ck__profile_fail(
          err, p->name, "", key,
          "'%.40s' is not one of tls-internal, tls-external, mtls, "
          "code-signing, document-signing, client-auth, device, smime",
          s);
    if (!is_purpose && ck_blast_parse(s, &b) != CK_OK)
      return ck__profile_fail(err, p->name, "", key,
                              "'%.40s' is not one of low, medium, high", s);
  }
  if ((*out = strdup(s)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "profile: out of memory");
  return CK_OK;
}

ck_err ck__profile_routing_from_json(ck_profile *p, json_t *root,
                                     ck_errctx *err) {
  ck_profile_routing *r = NULL;
  json_t *ap = json_object_get(root, "approval");
  ck_err rc = CK_OK;

  if (ap == NULL && json_object_get(root, "purpose") == NULL &&
      json_object_get(root, "blast_radius") == NULL)
    return CK_OK;
  if ((r = calloc(1, sizeof *r)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "profile: out of memory");
  r->required = 1;
  if ((ap != NULL && (rc = parse_approval(p, r, ap, err)) != CK_OK) ||
      (rc = parse_word(p, root, "purpose", 1, &r->purpose, err)) != CK_OK ||
      (rc = parse_word(p, root, "blast_radius", 0, &r->blast_radius, err)) != CK_OK)
    goto out;
  if (ap == NULL)
    r->mode = ck_profile_approval_mode(p);
  p->routing = r;
  r = NULL;
out:
  ck_profile_routing_free(r);
  return rc;
}

int ck__profile_routing_to_json(const ck_profile_routing *r, json_t *o) {
  json_t *ap, *apv;
  char dur[32];
  int bad = 0;

  if (r == NULL)
    return 0;
  if (r->has_approval) {
    ap = json_object();
    apv = json_object();
    if (ap == NULL || apv == NULL) {
      json_decref(ap);
      json_decref(apv);
      return 1;
    }
    bad |= json_object_set_new(ap, "mode", json_string(ck_approval_mode_name(r->mode)));
    bad |= json_object_set_new(apv, "roles",
                               ck__profile_str_list(r->roles, r->n_roles));
    bad |= json_object_set_new(apv, "named",
                               ck__profile_str_list(r->named, r->n_named));
    bad |= json_object_set_new(apv, "required", json_integer(r->required));
    bad |= json_object_set_new(ap, "approvers", apv);
    bad |= json_object_set_new(
        ap, "criteria", ck__profile_str_list(r->criteria, r->n_criteria));
    if (r->escalate_after > 0)
      bad |= json_object_set_new(
          ap, "escalate_after",
          json_string(ck_profile_duration_format(r->escalate_after, dur, sizeof dur)));
    bad |= json_object_set_new(
        ap, "escalate_to",
        ck__profile_str_list(r->escalate_to, r->n_escalate_to));
    bad |= json_object_set_new(o, "approval", ap);
  }
  if (r->purpose[0] != '\0')
    bad |= json_object_set_new(o, "purpose", json_string(r->purpose));
  if (r->blast_radius[0] != '\0')
    bad |= json_object_set_new(o, "blast_radius", json_string(r->blast_radius));
  return bad != 0;
}
