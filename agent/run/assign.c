/* assign.c — managed certificates assigned by the coordinator (assign.h):
 * check a `command config` snippet against the local configuration, store
 * it as state_dir/assigned.conf and bring the running set in line. */
#include "agent/run/assign.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/fs.h"
#include "common/util/log.h"

struct ck_assign {
  const ck_agentconf *cfg; /* borrowed: the local configuration */
  ck_managed_set *ms;      /* borrowed */
  ck_agentconf *cur;       /* the assignment in force (owned), NULL: none */
  char path[PATH_MAX];     /* state_dir/assigned.conf */
};

static int ck__streq(const char *a, const char *b) {
  if (a == NULL || b == NULL)
    return a == b;
  return strcmp(a, b) == 0;
}

/* Same settings (all but `where`). */
static int ck__same(const ck_agentconf_cert *a, const ck_agentconf_cert *b) {
  size_t i;

  if (a->n_sans != b->n_sans)
    return 0;
  for (i = 0; i < a->n_sans; i++)
    if (strcmp(a->sans[i], b->sans[i]) != 0)
      return 0;
  return ck__streq(a->id, b->id) && ck__streq(a->profile, b->profile) &&
         ck__streq(a->cn, b->cn) && ck__streq(a->key, b->key) &&
         ck__streq(a->cert_file, b->cert_file) &&
         ck__streq(a->key_file, b->key_file) &&
         ck__streq(a->chain_file, b->chain_file) &&
         ck__streq(a->fullchain_file, b->fullchain_file) &&
         ck__streq(a->owner, b->owner) && ck__streq(a->group, b->group) &&
         a->mode == b->mode && a->key_mode == b->key_mode &&
         ck__streq(a->reload, b->reload) &&
         a->reload_timeout == b->reload_timeout &&
         ck__streq(a->verify, b->verify) &&
         ck__streq(a->verify_sni, b->verify_sni) &&
         a->verify_timeout == b->verify_timeout &&
         a->renew_fraction == b->renew_fraction &&
         a->renew_before == b->renew_before && a->jitter == b->jitter;
}

void ck_assign_conf_of(const ck_agentconf_cert *c, ck_managed_conf *out) {
  memset(out, 0, sizeof *out);
  out->id = c->id;
  out->profile = c->profile;
  out->sans = (const char *const *)c->sans;
  out->n_sans = c->n_sans;
  out->cn = c->cn;
  out->key = c->key;
  out->cert_file = c->cert_file;
  out->key_file = c->key_file;
  out->chain_file = c->chain_file;
  out->fullchain_file = c->fullchain_file;
  out->owner = c->owner;
  out->group = c->group;
  out->mode = c->mode;
  out->key_mode = c->key_mode;
  out->reload = c->reload;
  out->reload_timeout = c->reload_timeout;
  out->verify = c->verify;
  out->verify_sni = c->verify_sni != NULL ? c->verify_sni : c->cn;
  out->verify_timeout = c->verify_timeout;
  out->renew_fraction = c->renew_fraction;
  out->renew_before = c->renew_before;
  out->jitter = c->jitter > 0 ? c->jitter : -1;
}

/* The local certificate c collides with (same id or same file), or NULL;
 * *what names the clash. */
static const ck_agentconf_cert *ck__local_clash(const ck_agentconf *cfg,
                                                const ck_agentconf_cert *c,
                                                const char **what) {
  size_t i;

  for (i = 0; i < cfg->n_certs; i++) {
    const ck_agentconf_cert *l = &cfg->certs[i];
    *what = "id";
    if (strcmp(l->id, c->id) == 0)
      return l;
    *what = "cert_file";
    if (strcmp(l->cert_file, c->cert_file) == 0 ||
        strcmp(l->key_file, c->cert_file) == 0)
      return l;
    *what = "key_file";
    if (strcmp(l->cert_file, c->key_file) == 0 ||
        strcmp(l->key_file, c->key_file) == 0)
      return l;
  }
  return NULL;
}

ck_err ck_assign_load(const char *state_dir, ck_agentconf **out,
                      ck_errctx *err) {
  char path[PATH_MAX];
  uint8_t *buf = NULL;
  size_t len = 0;
  ck_err rc;

  *out = NULL;
  if (snprintf(path, sizeof path, "%s/%s", state_dir, CK_ASSIGN_FILE) >=
      (int)sizeof path)
    return ck_failf(err, CK_ERR_CONFIG, "state_dir: path too long");
  rc = ck_fs_read_file(path, CK_ASSIGN_MAX, &buf, &len, err);
  if (rc == CK_ERR_NOENT) {
    ck_errctx_clear(err);
    return CK_OK;
  }
  if (rc != CK_OK)
    return rc;
  if (memchr(buf, '\0', len) != NULL)
    rc = ck_failf(err, CK_ERR_CONFIG, "%s: holds a NUL byte", path);
  else
    rc = ck_agentconf_load_certs(path, (const char *)buf, out, err);
  free(buf);
  return rc;
}

/* Adds c to the running set; logs the outcome. */
static ck_err ck__add(ck_assign *a, const ck_agentconf_cert *c,
                      ck_errctx *err) {
  ck_managed_conf mc;
  ck_err rc;

  ck_assign_conf_of(c, &mc);
  rc = ck_managed_add(a->ms, &mc, err);
  ck_log(CK_LOG_OPS, rc == CK_OK ? CK_LOG_NOTICE : CK_LOG_ERR,
         "agent.assign.add", CK_S("id", c->id),
         CK_S("result", rc == CK_OK ? "managed" : ck_errctx_msg(err)));
  return rc;
}

ck_err ck_assign_start(const ck_agentconf *cfg, ck_managed_set *ms,
                       ck_assign **out, ck_errctx *err) {
  ck_assign *a = calloc(1, sizeof *a);
  ck_errctx e2 = CK_ERRCTX_INIT;
  ck_agentconf *ac = NULL;
  size_t i;

  *out = NULL;
  if (a == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  a->cfg = cfg;
  a->ms = ms;
  snprintf(a->path, sizeof a->path, "%s/%s", cfg->state_dir, CK_ASSIGN_FILE);
  if (ck_assign_load(cfg->state_dir, &ac, &e2) != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "agent.assign.load", CK_S("path", a->path),
           CK_E(e2.code, ck_errctx_msg(&e2)),
           CK_S("result", "no coordinator-assigned certificates"));
    *out = a;
    return CK_OK;
  }
  for (i = 0; ac != NULL && i < ac->n_certs; i++) {
    const ck_agentconf_cert *c = &ac->certs[i], *l;
    const char *what = NULL;

    ck_errctx_clear(&e2);
    if ((l = ck__local_clash(cfg, c, &what)) != NULL) {
      ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.assign.skip", CK_S("id", c->id),
             CK_S("clash", what), CK_S("local", l->where),
             CK_S("result", "the local configuration wins"));
      continue;
    }
    (void)ck__add(a, c, &e2);
  }
  a->cur = ac;
  *out = a;
  return CK_OK;
}

int ck_assign_has(const ck_assign *a, const char *id) {
  if (a == NULL || a->cur == NULL || id == NULL ||
      ck_agentconf_find(a->cur, id) == NULL ||
      ck_agentconf_find(a->cfg, id) != NULL)
    return 0;
  return ck_managed_get(a->ms, id, NULL) >= 0;
}

/* Appends "; word a, b" style text to detail (truncated silently). */
static void ck__note(char *detail, size_t n, const char *label,
                     const char *id, int *first) {
  size_t used = strlen(detail);

  if (used + 1 >= n)
    return;
  snprintf(detail + used, n - used, "%s%s%s", *first ? "; " : ", ",
           *first ? label : "", id);
  *first = 0;
}

/* Checks the snippet: parse, one id per file, no clash with local ones. */
static ck_err ck__check(const ck_assign *a, const ck_wire_command *c,
                        ck_agentconf **out, ck_errctx *err) {
  char *text = NULL;
  const ck_agentconf_cert *l;
  const char *what = NULL;
  size_t i, j;
  ck_err rc;

  *out = NULL;
  if (c->args.n > 0)
    return ck_failf(err, CK_ERR_INVAL,
                    "config takes no args: send [cert:ID] sections as data");
  if (c->data.data == NULL || c->data.len == 0)
    return ck_failf(err, CK_ERR_INVAL,
                    "config needs data: [cert:ID] sections (a text with only "
                    "a comment unassigns every certificate)");
  if (c->data.len > CK_ASSIGN_MAX)
    return ck_failf(err, CK_ERR_LIMIT, "config data over %u bytes",
                    CK_ASSIGN_MAX);
  if (memchr(c->data.data, '\0', c->data.len) != NULL)
    return ck_failf(err, CK_ERR_INVAL, "config data holds a NUL byte");
  if ((text = malloc(c->data.len + 1)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  memcpy(text, c->data.data, c->data.len);
  text[c->data.len] = '\0';
  rc = ck_agentconf_load_certs(CK_ASSIGN_FILE, text, out, err);
  free(text);
  if (rc != CK_OK)
    return rc;
  for (i = 0; i < (*out)->n_certs; i++) {
    const ck_agentconf_cert *n = &(*out)->certs[i];
    if ((l = ck__local_clash(a->cfg, n, &what)) != NULL) {
      rc = ck_failf(err, CK_ERR_EXIST,
                    "%s: [cert:%s] %s is already used by the local "
                    "configuration (%s [cert:%s]), which wins",
                    n->where, n->id, what, l->where, l->id);
      goto bad;
    }
    for (j = 0; j < i; j++)
      if (strcmp((*out)->certs[j].cert_file, n->cert_file) == 0 ||
          strcmp((*out)->certs[j].key_file, n->key_file) == 0) {
        rc = ck_failf(err, CK_ERR_CONFIG,
                      "%s: [cert:%s] uses the files of [cert:%s]", n->where,
                      n->id, (*out)->certs[j].id);
        goto bad;
      }
  }
  return CK_OK;
bad:
  ck_agentconf_free(*out);
  *out = NULL;
  return rc;
}

ck_err ck_assign_command(ck_assign *a, const ck_wire_command *c,
                         char *detail, size_t n, ck_errctx *err) {
  ck_agentconf *nw = NULL, *old;
  ck_errctx e2 = CK_ERRCTX_INIT;
  ck_err rc, first_rc = CK_OK;
  int f_add = 1, f_rm = 1, f_same = 1;
  size_t i;

  if (n > 0)
    detail[0] = '\0';
  if (a == NULL)
    return ck_failf(err, CK_ERR_INVAL, "assign: not started");
  if ((rc = ck__check(a, c, &nw, err)) != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.assign.refused",
           CK_E(rc, ck_errctx_msg(err)));
    return rc;
  }
  if ((rc = ck_fs_write_atomic(a->path, c->data.data, c->data.len, 0600,
                               err)) != CK_OK) {
    ck_agentconf_free(nw);
    return rc;
  }
  old = a->cur;
  snprintf(detail, n, "%zu assigned", nw->n_certs);
  /* removed or changed: out of the set (files kept) */
  for (i = 0; old != NULL && i < old->n_certs; i++) {
    const ck_agentconf_cert *o = &old->certs[i], *k;

    if (ck_agentconf_find(a->cfg, o->id) != NULL) /* skipped at start-up */
      continue;
    k = ck_agentconf_find(nw, o->id);
    if (k != NULL && ck__same(o, k))
      continue;
    if (ck_managed_remove(a->ms, o->id, &e2) == CK_OK && k == NULL)
      ck__note(detail, n, "removed ", o->id, &f_rm);
    ck_errctx_clear(&e2);
  }
  /* new or changed: into the set, started at once */
  for (i = 0; i < nw->n_certs; i++) {
    const ck_agentconf_cert *k = &nw->certs[i], *o;

    o = old != NULL ? ck_agentconf_find(old, k->id) : NULL;
    if (o != NULL && ck__same(o, k) && ck_managed_get(a->ms, k->id, NULL) >= 0)
      continue;
    ck_errctx_clear(&e2);
    if ((rc = ck__add(a, k, &e2)) != CK_OK) {
      if (first_rc == CK_OK) {
        first_rc = rc;
        ck_setf(err, rc, "%s", ck_errctx_msg(&e2));
      }
      continue;
    }
    ck__note(detail, n, o != NULL ? "changed " : "added ", k->id, &f_add);
  }
  for (i = 0; i < nw->n_certs; i++) {
    const ck_agentconf_cert *k = &nw->certs[i], *o;
    o = old != NULL ? ck_agentconf_find(old, k->id) : NULL;
    if (o != NULL && ck__same(o, k))
      ck__note(detail, n, "unchanged ", k->id, &f_same);
  }
  ck_agentconf_free(old);
  a->cur = nw;
  ck_log(CK_LOG_OPS, first_rc == CK_OK ? CK_LOG_NOTICE : CK_LOG_ERR,
         "agent.assign", CK_S("path", a->path), CK_I("certificates",
                                                      nw->n_certs),
         CK_S("result", detail));
  return first_rc;
}

void ck_assign_free(ck_assign *a) {
  if (a == NULL)
    return;
  ck_agentconf_free(a->cur);
  free(a);
}
