/* discover.c — the discovery walk, classification, key matching, service
 * mapping and risk flags (see discover.h). One pass over the tree; each
 * file is read at most once and each object parsed once. */
#define _GNU_SOURCE
#include "agent/discover/discover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/discover/webconf.h"
#include "common/crypto/crypto.h"
#include "common/util/clock.h"

#define CK_DISC_DEF_DEPTH 32
#define CK_DISC_DEF_SIZE (1024u * 1024u)

/* A parsed unencrypted key, remembered by the SHA-256 of its file content
 * so identical key files (copies, backups) are parsed once: key parsing is
 * the costliest step of a scan (~0.5 ms per key with OpenSSL 3). */
typedef struct ck_keymemo {
  uint8_t digest[CK_SHA256_LEN];
  int used; /* 0: empty slot */
  ck_key_type type;
  unsigned bits;
  uint8_t spki[CK_SHA256_LEN];
  int has_spki;
} ck_keymemo;

/* Scan state. */
typedef struct ck_walk {
  ck_keymemo *memo; /* open addressing; memo_cap is a power of two */
  size_t memo_n, memo_cap;
  const ck_discover_opts *o;
  ck_discover *d;
  ck_webconf wc;
  int64_t now;
  int shallow; /* ck_discover_paths: do not descend into subdirectories */
  int max_depth;
  size_t max_size;
  uid_t last_uid;
  gid_t last_gid;
  char uname[64], gname[64];
  int have_u, have_g;
} ck_walk;

static const char *const risk_names[CK_RISK_COUNT] = {"expired",
                                                      "expiring",
                                                      "weak_key",
                                                      "sha1_signature",
                                                      "md5_signature",
                                                      "self_signed_leaf",
                                                      "key_world_readable",
                                                      "key_group_readable",
                                                      "key_encrypted"};

const char *ck_risk_name(unsigned r) {
  for (unsigned i = 0; i < CK_RISK_COUNT; i++)
    if (r == (1u << i))
      return risk_names[i];
  return "";
}

void ck_finding_clear(ck_finding *f) {
  free(f->path);
  free(f->error);
  free(f->subject);
  free(f->issuer);
  free(f->serial);
  for (size_t i = 0; i < f->n_sans; i++)
    free(f->sans[i]);
  free(f->sans);
  free(f->sig_alg);
  free(f->key_path);
  free(f->cert_path);
  free(f->owner);
  free(f->group);
  for (size_t i = 0; i < f->n_svcs; i++)
    free(f->svcs[i].conf);
  free(f->svcs);
  free(f->der);
  for (size_t i = 0; i < f->n_endpoints; i++)
    free(f->endpoints[i]);
  free(f->endpoints);
  memset(f, 0, sizeof(*f));
}

/* NULL-safe strdup: *dst = copy of src (NULL stays NULL); 0 on OOM. */
static int dup_str(char **dst, const char *src) {
  *dst = NULL;
  if (!src)
    return 1;
  *dst = strdup(src);
  return *dst != NULL;
}

static int dup_strv(char ***dst, const char *const *src, size_t n) {
  *dst = NULL;
  if (!n)
    return 1;
  *dst = calloc(n, sizeof(char *));
  if (!*dst)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!dup_str(&(*dst)[i], src[i]))
      return 0;
  return 1;
}

/* Makes room for one more finding; 0 on OOM. */
static int grow(ck_discover *d) {
  if (d->n == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 64;
    ck_finding *nf = realloc(d->f, cap * sizeof(*nf));
    if (!nf)
      return 0;
    d->f = nf;
    d->cap = cap;
  }
  return 1;
}

ck_err ck_discover_append_copy(ck_discover *d, const ck_finding *src) {
  ck_finding *f;
  int ok;
  if (!grow(d))
    return CK_ERR_NOMEM;
  f = &d->f[d->n];
  *f = *src;
  /* every owned pointer is replaced (or NULLed) before any failure path */
  f->sans = NULL;
  f->n_sans = 0;
  f->svcs = NULL;
  f->n_svcs = 0;
  f->endpoints = NULL;
  f->n_endpoints = 0;
  f->der = NULL;
  f->der_len = 0;
  ok = dup_str(&f->path, src->path);
  ok = dup_str(&f->error, src->error) && ok;
  ok = dup_str(&f->subject, src->subject) && ok;
  ok = dup_str(&f->issuer, src->issuer) && ok;
  ok = dup_str(&f->serial, src->serial) && ok;
  ok = dup_str(&f->sig_alg, src->sig_alg) && ok;
  ok = dup_str(&f->key_path, src->key_path) && ok;
  ok = dup_str(&f->cert_path, src->cert_path) && ok;
  ok = dup_str(&f->owner, src->owner) && ok;
  ok = dup_str(&f->group, src->group) && ok;
  /* calloc'ed arrays: unfilled entries stay NULL, so the counts can be set
   * even after a failure and finding_clear frees what was copied */
  ok = dup_strv(&f->sans, (const char *const *)src->sans, src->n_sans) && ok;
  if (f->sans)
    f->n_sans = src->n_sans;
  ok = dup_strv(&f->endpoints, (const char *const *)src->endpoints,
                src->n_endpoints) &&
       ok;
  if (f->endpoints)
    f->n_endpoints = src->n_endpoints;
  if (ok && src->n_svcs) {
    f->svcs = calloc(src->n_svcs, sizeof(*f->svcs));
    if (f->svcs) {
      f->n_svcs = src->n_svcs;
      for (size_t i = 0; i < src->n_svcs; i++) {
        f->svcs[i] = src->svcs[i];
        ok = dup_str(&f->svcs[i].conf, src->svcs[i].conf) && ok;
      }
    } else {
      ok = 0;
    }
  }
  if (ok && src->der_len) {
    f->der = malloc(src->der_len);
    if (f->der) {
      memcpy(f->der, src->der, src->der_len);
      f->der_len = src->der_len;
    } else {
      ok = 0;
    }
  }
  if (!ok) {
    ck_finding_clear(f);
    return CK_ERR_NOMEM;
  }
  d->n++;
  return CK_OK;
}

void ck_discover_free(ck_discover *d) {
  if (!d)
    return;
  for (size_t i = 0; i < d->n; i++)
    ck_finding_clear(&d->f[i]);
  free(d->f);
  memset(d, 0, sizeof(*d));
}

/* Appends a zeroed finding for path; returns NULL on OOM. */
static ck_finding *new_finding(ck_walk *w, const char *path, const char *kind,
                               const struct stat *st) {
  ck_discover *d = w->d;
  ck_finding *f;
  if (!grow(d))
    return NULL;
  f = &d->f[d->n];
  memset(f, 0, sizeof(*f));
  f->path = strdup(path);
  if (!f->path)
    return NULL;
  f->kind = kind;
  f->key_match = -1;
  if (st) {
    f->has_stat = 1;
    f->mode = (unsigned)(st->st_mode & 07777);
    if (!w->have_u || w->last_uid != st->st_uid) {
      struct passwd pwb, *pw = NULL;
      char nb[1024];
      if (getpwuid_r(st->st_uid, &pwb, nb, sizeof(nb), &pw) == 0 && pw)
        snprintf(w->uname, sizeof(w->uname), "%s", pw->pw_name);
      else
        snprintf(w->uname, sizeof(w->uname), "%lu", (unsigned long)st->st_uid);
      w->last_uid = st->st_uid;
      w->have_u = 1;
    }
    if (!w->have_g || w->last_gid != st->st_gid) {
      struct group grb, *gr = NULL;
      char nb[1024];
      if (getgrgid_r(st->st_gid, &grb, nb, sizeof(nb), &gr) == 0 && gr)
        snprintf(w->gname, sizeof(w->gname), "%s", gr->gr_name);
      else
        snprintf(w->gname, sizeof(w->gname), "%lu", (unsigned long)st->st_gid);
      w->last_gid = st->st_gid;
      w->have_g = 1;
    }
    f->owner = strdup(w->uname);
    f->group = strdup(w->gname);
    if (!f->owner || !f->group) {
      ck_finding_clear(f);
      return NULL;
    }
  }
  d->n++;
  return f;
}

static ck_err add_error(ck_walk *w, const char *path, const struct stat *st,
                        const char *msg) {
  ck_finding *f = new_finding(w, path, "error", st);
  if (!f || !(f->error = strdup(msg)))
    return CK_ERR_NOMEM;
  w->d->stats.errors++;
  return CK_OK;
}

static const char *key_type_name(int t) {
  switch (t) {
  case CK_KEY_RSA:
    return "rsa";
  case CK_KEY_EC:
    return "ec";
  case CK_KEY_ED25519:
    return "ed25519";
  case CK_KEY_ED448:
    return "ed448";
  case CK_KEY_RSA_PSS:
    return "rsa-pss";
  case CK_KEY_DSA:
    return "dsa";
  default:
    return "";
  }
}

static int ci_contains(const char *s, const char *needle) {
  return s && strcasestr(s, needle) != NULL;
}

/* Fills f with the fields of cert and its certificate risks. */
static ck_err fill_cert(ck_walk *w, ck_finding *f, const ck_cert *cert) {
  const ck_cert_info *ci = ck_cert_get_info(cert);
  size_t sl;
  f->has_cert = 1;
  memcpy(f->fingerprint, ci->sha256_hex, sizeof(f->fingerprint));
  f->fingerprint[64] = '\0';
  f->subject = strdup(ci->subject ? ci->subject : "");
  f->issuer = strdup(ci->issuer ? ci->issuer : "");
  f->serial = strdup(ci->serial_hex ? ci->serial_hex : "");
  f->sig_alg = strdup(ci->sig_alg ? ci->sig_alg : "");
  if (!f->subject || !f->issuer || !f->serial || !f->sig_alg)
    return CK_ERR_NOMEM;
  for (char *p = f->serial; *p; p++)
    if (*p >= 'a' && *p <= 'f')
      *p = (char)(*p - 'a' + 'A');
  f->not_before = ci->not_before;
  f->not_after = ci->not_after;
  f->self_signed = ci->self_signed;
  f->is_ca = ci->is_ca;
  snprintf(f->key_type, sizeof(f->key_type), "%s", key_type_name(ci->key.type));
  f->key_bits = ci->key.bits;
  memcpy(f->spki, ci->spki_sha256, sizeof(f->spki));
  f->has_spki = 1;
  if (w->o->keep_der) {
    size_t dl = 0;
    const uint8_t *der = ck_cert_der(cert, &dl);
    if (der && dl) {
      f->der = malloc(dl);
      if (!f->der)
        return CK_ERR_NOMEM;
      memcpy(f->der, der, dl);
      f->der_len = dl;
    }
  }
  if (ci->n_sans) {
    f->sans = calloc(ci->n_sans, sizeof(char *));
    if (!f->sans)
      return CK_ERR_NOMEM;
    for (size_t i = 0; i < ci->n_sans; i++) {
      const char *tn = ck_san_type_name(ci->sans[i].type);
      const char *v = ci->sans[i].value ? ci->sans[i].value : "";
      sl = strlen(tn) + strlen(v) + 2;
      f->sans[i] = malloc(sl);
      if (!f->sans[i])
        return CK_ERR_NOMEM;
      snprintf(f->sans[i], sl, "%s:%s", tn, v);
      f->n_sans++;
    }
  }
  if (ci->not_after < w->now)
    f->risks |= CK_RISK_EXPIRED;
  else if (ci->not_after <
           w->now +
               (int64_t)(w->o->expiring_days > 0 ? w->o->expiring_days : 30) *
                   86400)
    f->risks |= CK_RISK_EXPIRING;
  if (ci->key.type == CK_KEY_RSA && ci->key.bits && ci->key.bits < 2048)
    f->risks |= CK_RISK_WEAK_KEY;
  /* a trust anchor's self-signature is never checked: no signature risk */
  if (!(ci->self_signed && ci->is_ca)) {
    if (ci_contains(ci->sig_alg, "sha1") || ci_contains(ci->sig_alg, "sha-1"))
      f->risks |= CK_RISK_SHA1;
    if (ci_contains(ci->sig_alg, "md5"))
      f->risks |= CK_RISK_MD5;
  }
  if (ci->self_signed && (!ci->is_ca || ci->n_sans > 0))
    f->risks |= CK_RISK_SELF_SIGNED_LEAF;
  return CK_OK;
}

static void key_mode_risks(ck_finding *f, const struct stat *st) {
  if (st->st_mode & S_IROTH)
    f->risks |= CK_RISK_KEY_WORLD_READABLE;
  else if (st->st_mode & S_IRGRP)
    f->risks |= CK_RISK_KEY_GROUP_READABLE;
}

/* Adds a key finding for key (NULL when encrypted/unreadable). */
static ck_err add_key(ck_walk *w, const char *path, const struct stat *st,
                      const char *format, const ck_key *key, int encrypted,
                      const char *errmsg) {
  ck_finding *f = new_finding(w, path, "key", st);
  if (!f)
    return CK_ERR_NOMEM;
  f->format = format;
  key_mode_risks(f, st);
  if (encrypted) {
    f->key_encrypted = 1;
    f->risks |= CK_RISK_KEY_ENCRYPTED;
  }
  if (errmsg && !(f->error = strdup(errmsg)))
    return CK_ERR_NOMEM;
  if (key) {
    ck_key_info ki;
    ck_key_get_info(key, &ki);
    snprintf(f->key_type, sizeof(f->key_type), "%s", key_type_name(ki.type));
    f->key_bits = ki.bits;
    if (ki.type == CK_KEY_RSA && ki.bits && ki.bits < 2048)
      f->risks |= CK_RISK_WEAK_KEY;
    if (ck_key_spki_sha256(key, f->spki, NULL) == CK_OK)
      f->has_spki = 1;
  }
  return CK_OK;
}

/* Returns the memo slot for digest (found: ->used set; otherwise the free
 * slot to fill), or NULL on OOM. */
static ck_keymemo *memo_slot(ck_walk *w, const uint8_t *digest) {
  size_t mask, i;
  uint64_t h;
  if (w->memo_n * 2 >= w->memo_cap) {
    size_t cap = w->memo_cap ? w->memo_cap * 2 : 256;
    ck_keymemo *nm = calloc(cap, sizeof(*nm));
    if (!nm)
      return NULL;
    for (size_t k = 0; k < w->memo_cap; k++) {
      if (!w->memo[k].used)
        continue;
      memcpy(&h, w->memo[k].digest, sizeof(h));
      for (i = (size_t)h & (cap - 1); nm[i].used; i = (i + 1) & (cap - 1))
        ;
      nm[i] = w->memo[k];
    }
    free(w->memo);
    w->memo = nm;
    w->memo_cap = cap;
  }
  mask = w->memo_cap - 1;
  memcpy(&h, digest, sizeof(h));
  for (i = (size_t)h & mask; w->memo[i].used; i = (i + 1) & mask)
    if (!memcmp(w->memo[i].digest, digest, CK_SHA256_LEN))
      break;
  return &w->memo[i];
}

/* Adds a key finding whose type, size and public key hash are known
 * without a parsed key (memo hit, or ck_key_peek_spki_sha256). */
static ck_err add_known_key(ck_walk *w, const char *path,
                            const struct stat *st, const char *fmt,
                            ck_key_type type, unsigned bits,
                            const uint8_t *spki, int has_spki) {
  ck_err rc = add_key(w, path, st, fmt, NULL, 0, NULL);
  if (rc == CK_OK) {
    ck_finding *f = &w->d->f[w->d->n - 1];
    snprintf(f->key_type, sizeof(f->key_type), "%s", key_type_name(type));
    f->key_bits = bits;
    memcpy(f->spki, spki, sizeof(f->spki));
    f->has_spki = has_spki;
    if (type == CK_KEY_RSA && bits && bits < 2048)
      f->risks |= CK_RISK_WEAK_KEY;
  }
  return rc;
}

/* A key-only file: parsed once per distinct content, then recorded. The
 * public key comes from the key's encoding when it carries it (cheap), and
 * from a full parse otherwise. */
static ck_err do_key(ck_walk *w, const char *path, const struct stat *st,
                     const char *fmt, const ck_content *c, const uint8_t *data,
                     size_t len) {
  uint8_t dig[CK_SHA256_LEN], spki[CK_SHA256_LEN];
  ck_keymemo *m = NULL;
  ck_key *key = NULL;
  ck_errctx e = CK_ERRCTX_INIT;
  ck_err rc, kr;
  ck_key_type kt = CK_KEY_UNKNOWN;
  unsigned kbits = 0;
  char msg[600];
  const char *em = NULL;
  if (c->n_encrypted_keys)
    return add_key(w, path, st, fmt, NULL, 1, NULL);
  if (ck_crypto_sha256(data, len, dig) == CK_OK) {
    m = memo_slot(w, dig);
    if (!m)
      return CK_ERR_NOMEM;
    if (m->used)
      return add_known_key(w, path, st, fmt, m->type, m->bits, m->spki,
                           m->has_spki);
  }
  if (!w->o->full_key_parse &&
      ck_key_peek_spki_sha256(data, len, &kt, &kbits, spki, NULL) == CK_OK) {
    if (m) {
      memcpy(m->digest, dig, sizeof(dig));
      m->used = 1;
      m->type = kt;
      m->bits = kbits;
      memcpy(m->spki, spki, sizeof(m->spki));
      m->has_spki = 1;
      w->memo_n++;
    }
    return add_known_key(w, path, st, fmt, kt, kbits, spki, 1);
  }
  kr = ck_key_parse(data, len, &key, &e);
  if (kr != CK_OK && kr != CK_ERR_KEY_ENCRYPTED) {
    snprintf(msg, sizeof(msg), "key unreadable: %s", ck_errctx_msg(&e));
    em = msg;
  }
  rc = add_key(w, path, st, fmt, kr == CK_OK ? key : NULL,
               kr == CK_ERR_KEY_ENCRYPTED, em);
  if (rc == CK_OK && kr == CK_OK && m) {
    const ck_finding *f = &w->d->f[w->d->n - 1];
    ck_key_info ki;
    ck_key_get_info(key, &ki);
    memcpy(m->digest, dig, sizeof(dig));
    m->used = 1;
    m->type = ki.type;
    m->bits = ki.bits;
    memcpy(m->spki, f->spki, sizeof(m->spki));
    m->has_spki = f->has_spki;
    w->memo_n++;
  }
  ck_key_free(key);
  return rc;
}

static ck_err add_certs(ck_walk *w, const char *path, const struct stat *st,
                        const char *format, ck_cert_list *l, size_t first,
                        int combined_key) {
  for (size_t i = 0; i < l->n; i++) {
    ck_finding *f = new_finding(w, path, "certificate", st);
    ck_err rc;
    if (!f)
      return CK_ERR_NOMEM;
    f->format = format;
    f->index = (unsigned)(first + i);
    rc = fill_cert(w, f, l->certs[i]);
    if (rc != CK_OK)
      return rc;
    if (combined_key) {
      /* key in the same file: its mode matters for the certificate too */
      key_mode_risks(f, st);
    }
  }
  return CK_OK;
}

static ck_err do_pkcs12(ck_walk *w, const char *path, const struct stat *st,
                        const uint8_t *data, size_t len) {
  ck_key *key = NULL;
  ck_cert *cert = NULL;
  ck_cert_list chain = {0};
  ck_errctx e = CK_ERRCTX_INIT;
  ck_err rc = ck_pkcs12_read(data, len, NULL, &key, &cert, &chain, &e);
  ck_finding *f;
  if (rc == CK_ERR_BAD_PASSWORD && w->o->p12_password)
    rc = ck_pkcs12_read(data, len, w->o->p12_password, &key, &cert, &chain, &e);
  if (rc != CK_OK) {
    char msg[600];
    if (rc == CK_ERR_BAD_PASSWORD)
      snprintf(msg, sizeof(msg), "pkcs12 unreadable: wrong password");
    else if (rc == CK_ERR_UNSUPPORTED)
      snprintf(msg, sizeof(msg),
               "pkcs12 found but not read: not supported by this build");
    else
      snprintf(msg, sizeof(msg), "pkcs12 unreadable: %s", ck_errctx_msg(&e));
    f = new_finding(w, path, "pkcs12", st);
    if (!f || !(f->error = strdup(msg)))
      return CK_ERR_NOMEM;
    f->format = "pkcs12";
    return CK_OK;
  }
  if (cert) {
    f = new_finding(w, path, "certificate", st);
    rc = f ? fill_cert(w, f, cert) : CK_ERR_NOMEM;
    if (rc == CK_OK) {
      f->format = "pkcs12";
      if (key) {
        f->key_path = strdup(path);
        f->key_match = ck_key_match_cert(key, cert, NULL) == CK_OK;
        key_mode_risks(f, st);
        if (!f->key_path)
          rc = CK_ERR_NOMEM;
      }
    }
  }
  if (rc == CK_OK)
    rc = add_certs(w, path, st, "pkcs12", &chain, 1, 0);
  ck_key_free(key);
  ck_cert_free(cert);
  ck_cert_list_clear(&chain);
  return rc;
}

/* Parses every certificate in data into l with the fast field parser
 * (discovery only reads fields and compares SPKI hashes; no chain checks),
 * one PEM block at a time. Same errors as ck_cert_list_parse. */
static ck_err parse_certs(ck_cert_list *l, const uint8_t *data, size_t len,
                          ck_encoding enc, ck_errctx *err) {
  size_t pos = 0;
  unsigned n = 0;
  ck_err rc = CK_OK;
  if (enc != CK_ENC_PEM) {
    ck_cert *c = NULL;
    rc = ck_cert_parse_fields(data, len, &c, err);
    return rc == CK_OK ? ck_cert_list_add(l, c) : rc;
  }
  for (;;) {
    ck_pem_block b;
    memset(&b, 0, sizeof(b));
    rc = ck_pem_next(data, len, &pos, &b, err);
    if (rc == CK_ERR_NOENT) {
      rc = CK_OK;
      break;
    }
    if (rc == CK_OK && (!strcmp(b.label, "CERTIFICATE") ||
                        !strcmp(b.label, "TRUSTED CERTIFICATE") ||
                        !strcmp(b.label, "X509 CERTIFICATE"))) {
      ck_cert *c = NULL;
      rc = ck_cert_parse_fields(b.der, b.der_len, &c, err);
      if (rc != CK_OK)
        ck_failf(err, rc, "certificate #%u", n);
      else
        rc = ck_cert_list_add(l, c);
      n++;
    } else if (rc != CK_OK && !strcmp(b.label, "CERTIFICATE")) {
      ck_failf(err, rc, "certificate #%u", n);
    } else {
      rc = CK_OK; /* keys and other blocks are read elsewhere */
    }
    ck_pem_block_clear(&b);
    if (rc != CK_OK)
      break;
  }
  if (rc == CK_OK && l->n == 0)
    rc = ck_failf(err, CK_ERR_BAD_PEM, "no certificate in PEM data");
  return rc;
}

/* Classifies and records one regular file's content. */
static ck_err classify(ck_walk *w, const char *path, const struct stat *st,
                       const uint8_t *data, size_t len) {
  ck_content c;
  ck_errctx e = CK_ERRCTX_INIT;
  ck_cert_list l = {0};
  ck_key *key = NULL;
  ck_err rc = CK_OK;
  const char *fmt;
  char msg[600];
  uint8_t spki[CK_SHA256_LEN];
  ck_key_type kt = CK_KEY_UNKNOWN;
  unsigned kbits = 0;
  ck_crypto_detect(data, len, &c);
  fmt = c.encoding == CK_ENC_PEM ? "pem" : "der";
  switch (c.kind) {
  case CK_CONTENT_CERT:
  case CK_CONTENT_CERT_AND_KEY:
    if (parse_certs(&l, data, len, c.encoding, &e) != CK_OK) {
      snprintf(msg, sizeof(msg), "certificate unreadable: %s",
               ck_errctx_msg(&e));
      rc = add_error(w, path, st, msg);
      break;
    }
    rc = add_certs(w, path, st, fmt, &l, 0, c.kind == CK_CONTENT_CERT_AND_KEY);
    if (rc == CK_OK && c.kind == CK_CONTENT_CERT_AND_KEY &&
        !c.n_encrypted_keys && !w->o->full_key_parse &&
        ck_key_peek_spki_sha256(data, len, &kt, &kbits, spki, NULL) == CK_OK) {
      rc = add_known_key(w, path, st, fmt, kt, kbits, spki, 1);
    } else if (rc == CK_OK && c.kind == CK_CONTENT_CERT_AND_KEY) {
      ck_err kr = ck_key_parse(data, len, &key, &e);
      rc = add_key(
          w, path, st, fmt, kr == CK_OK ? key : NULL,
          kr == CK_ERR_KEY_ENCRYPTED || c.n_encrypted_keys > 0,
          kr == CK_OK || kr == CK_ERR_KEY_ENCRYPTED ? NULL : ck_errctx_msg(&e));
    }
    break;
  case CK_CONTENT_KEY:
    rc = do_key(w, path, st, fmt, &c, data, len);
    break;
  case CK_CONTENT_PKCS12:
    rc = do_pkcs12(w, path, st, data, len);
    break;
  default:
    if (c.encoding == CK_ENC_PEM && (c.n_certs || c.n_other)) {
      snprintf(msg, sizeof(msg), "malformed PEM content");
      rc = add_error(w, path, st, msg);
    } else if (c.kind == CK_CONTENT_UNKNOWN && len &&
               memchr(data, '\0', len) == NULL &&
               ck_webconf_sniff((const char *)data, len)) {
      w->d->stats.configs++;
      rc = ck_webconf_parse(&w->wc, path, (const char *)data, len, &e);
      if (rc == CK_ERR_LIMIT)
        rc = add_error(w, path, st, ck_errctx_msg(&e));
    }
    break;
  }
  ck_key_free(key);
  ck_cert_list_clear(&l);
  return rc;
}

static int glob_any(const char *const *g, size_t n, const char *path,
                    const char *base) {
  for (size_t i = 0; i < n; i++)
    if (fnmatch(g[i], path, 0) == 0 || fnmatch(g[i], base, 0) == 0)
      return 1;
  return 0;
}

static int certish_name(const char *base) {
  static const char *const ext[] = {".pem", ".crt", ".cer", ".der", ".key",
                                    ".p12", ".pfx", ".p7b", ".csr"};
  size_t bl = strlen(base);
  for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
    size_t el = strlen(ext[i]);
    if (bl >= el && strcasecmp(base + bl - el, ext[i]) == 0)
      return 1;
  }
  return 0;
}

/* Reads and classifies the file at path (lst: its lstat, or stat for a
 * followed symlink). */
static ck_err scan_file(ck_walk *w, const char *path, const char *base) {
  struct stat st;
  int fd = -1;
  uint8_t *buf = NULL;
  size_t len = 0;
  ck_err rc = CK_OK;
  char msg[600];
  if (w->o->n_include && !glob_any(w->o->include, w->o->n_include, path, base))
    return CK_OK;
  fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(msg, sizeof(msg), "cannot open: %s", strerror(errno));
    return add_error(w, path, NULL, msg);
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    w->d->stats.skipped++;
    goto out;
  }
  w->d->stats.files++;
  if ((uint64_t)st.st_size > w->max_size) {
    if (certish_name(base)) {
      snprintf(msg, sizeof(msg), "file too large: %lld bytes (limit %zu)",
               (long long)st.st_size, w->max_size);
      rc = add_error(w, path, &st, msg);
    } else {
      w->d->stats.skipped++;
    }
    goto out;
  }
  buf = malloc((size_t)st.st_size + 1);
  if (!buf) {
    rc = CK_ERR_NOMEM;
    goto out;
  }
  while (len < (size_t)st.st_size) {
    ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      snprintf(msg, sizeof(msg), "cannot read: %s", strerror(errno));
      rc = add_error(w, path, &st, msg);
      goto out;
    }
    if (r == 0)
      break; /* shrank meanwhile */
    len += (size_t)r;
  }
  buf[len] = 0;
  rc = classify(w, path, &st, buf, len);
out:
  if (buf) {
    ck_crypto_free_secret(buf, (size_t)st.st_size + 1);
  }
  if (fd >= 0)
    close(fd);
  return rc;
}

static ck_err walk(ck_walk *w, const char *path, int depth);

static ck_err walk_entry(ck_walk *w, const char *path, const char *base,
                         int depth) {
  struct stat lst, st;
  char msg[600];
  if (w->o->n_exclude && glob_any(w->o->exclude, w->o->n_exclude, path, base))
    return CK_OK;
  if (lstat(path, &lst) != 0) {
    if (w->shallow && errno == ENOENT)
      return CK_OK; /* a watched file that is gone: no finding */
    snprintf(msg, sizeof(msg), "cannot stat: %s", strerror(errno));
    return add_error(w, path, NULL, msg);
  }
  if (S_ISLNK(lst.st_mode)) {
    if (stat(path, &st) != 0) {
      snprintf(msg, sizeof(msg), "%s symlink: %s",
               errno == ELOOP ? "looping" : "dangling", strerror(errno));
      return add_error(w, path, &lst, msg);
    }
    if (S_ISREG(st.st_mode))
      return scan_file(w, path, base);
    if (S_ISDIR(st.st_mode) && depth < 0)
      return walk(w, path, depth + 1); /* a root given as a symlink */
    w->d->stats.skipped++; /* symlinked directories are not followed */
    return CK_OK;
  }
  if (S_ISDIR(lst.st_mode)) {
    if (w->shallow && depth >= 0) {
      w->d->stats.skipped++; /* ck_discover_paths: direct entries only */
      return CK_OK;
    }
    return walk(w, path, depth + 1);
  }
  if (S_ISREG(lst.st_mode))
    return scan_file(w, path, base);
  w->d->stats.skipped++; /* FIFO, socket, device: never opened */
  return CK_OK;
}

static ck_err walk(ck_walk *w, const char *path, int depth) {
  DIR *dir = NULL;
  struct dirent *de;
  ck_err rc = CK_OK;
  char *child = NULL;
  size_t pl = strlen(path);
  char msg[600];
  if (depth > w->max_depth) {
    snprintf(msg, sizeof(msg), "not scanned: deeper than --max-depth %d",
             w->max_depth);
    return add_error(w, path, NULL, msg);
  }
  dir = opendir(path);
  if (!dir) {
    snprintf(msg, sizeof(msg), "cannot open directory: %s", strerror(errno));
    return add_error(w, path, NULL, msg);
  }
  w->d->stats.dirs++;
  while ((de = readdir(dir)) != NULL) {
    size_t nl = strlen(de->d_name);
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    free(child);
    child = malloc(pl + nl + 2);
    if (!child) {
      rc = CK_ERR_NOMEM;
      goto out;
    }
    memcpy(child, path, pl);
    child[pl] = '/';
    if (pl && path[pl - 1] == '/')
      memcpy(child + pl, de->d_name, nl + 1);
    else
      memcpy(child + pl + 1, de->d_name, nl + 1);
    rc = walk_entry(w, child, de->d_name, depth);
    if (rc != CK_OK)
      goto out;
  }
out:
  free(child);
  closedir(dir);
  return rc;
}

/* Sorts findings by real path for lookups. */
typedef struct ck_rp {
  char *real;
  size_t idx;
} ck_rp;

static int rp_cmp(const void *a, const void *b) {
  return strcmp(((const ck_rp *)a)->real, ((const ck_rp *)b)->real);
}

static ck_err add_svc(ck_finding *f, const ck_webref *r) {
  ck_finding_svc *s;
  for (size_t i = 0; i < f->n_svcs; i++)
    if (f->svcs[i].line == r->line && strcmp(f->svcs[i].conf, r->conf) == 0)
      return CK_OK;
  s = realloc(f->svcs, (f->n_svcs + 1) * sizeof(*s));
  if (!s)
    return CK_ERR_NOMEM;
  f->svcs = s;
  s[f->n_svcs].service = r->service;
  s[f->n_svcs].line = r->line;
  s[f->n_svcs].conf = strdup(r->conf);
  if (!s[f->n_svcs].conf)
    return CK_ERR_NOMEM;
  f->n_svcs++;
  return CK_OK;
}

/* Returns the first finding of the given kind whose real path is real, or
 * NULL (rp sorted by rp_cmp). */
static ck_finding *rp_find(ck_discover *d, ck_rp *rp, size_t nrp,
                           const char *real, const char *kind) {
  ck_rp key = {(char *)real, 0};
  ck_rp *hit = bsearch(&key, rp, nrp, sizeof(*rp), rp_cmp);
  if (!hit)
    return NULL;
  while (hit > rp && strcmp((hit - 1)->real, real) == 0)
    hit--;
  for (; hit < rp + nrp && strcmp(hit->real, real) == 0; hit++)
    if (!strcmp(d->f[hit->idx].kind, kind))
      return &d->f[hit->idx];
  return NULL;
}

/* Config pairs (nginx/Apache: a key directive after a certificate directive
 * of the same file) tell which key a service uses with a certificate; when
 * no matching key was found by public key, the paired key is reported with
 * key_match false (or true, should it match after all). */
static ck_err pair_keys(ck_discover *d, const ck_webconf *wc, ck_rp *rp,
                        size_t nrp) {
  for (size_t i = 1; i < wc->n; i++) {
    const ck_webref *kr = &wc->refs[i], *cr = NULL;
    char *kreal = NULL, *creal = NULL;
    ck_finding *kf, *cf;
    if (!kr->is_key)
      continue;
    for (size_t j = i; j-- > 0;) {
      if (strcmp(wc->refs[j].conf, kr->conf) != 0)
        break;
      if (!wc->refs[j].is_key) {
        cr = &wc->refs[j];
        break;
      }
    }
    if (!cr)
      continue;
    kreal = realpath(kr->path, NULL);
    creal = realpath(cr->path, NULL);
    kf = kreal ? rp_find(d, rp, nrp, kreal, "key") : NULL;
    cf = creal ? rp_find(d, rp, nrp, creal, "certificate") : NULL;
    free(kreal);
    free(creal);
    if (!kf || !cf || !kf->has_spki || cf->key_match == 1)
      continue;
    free(cf->key_path);
    cf->key_path = strdup(kf->path);
    if (!cf->key_path)
      return CK_ERR_NOMEM;
    cf->key_match = memcmp(cf->spki, kf->spki, sizeof(cf->spki)) == 0;
  }
  return CK_OK;
}

/* A certificate's public key hash and position, for sorting. */
typedef struct ck_spki_ix {
  uint8_t spki[CK_SHA256_LEN];
  size_t idx;
} ck_spki_ix;

static int spki_cmp(const void *x, const void *y) {
  const ck_spki_ix *a = x, *b = y;
  int c = memcmp(a->spki, b->spki, CK_SHA256_LEN);
  return c ? c : (a->idx < b->idx ? -1 : a->idx > b->idx);
}

/* Gives each certificate the first key (in scan order) with its public key;
 * O(n log n), so scans of many keys and certificates stay cheap. */
static ck_err match_keys(ck_discover *d) {
  ck_spki_ix *ci = NULL;
  size_t nc = 0;
  ck_err rc = CK_OK;
  ci = malloc((d->n ? d->n : 1) * sizeof(*ci));
  if (!ci)
    return CK_ERR_NOMEM;
  for (size_t j = 0; j < d->n; j++)
    if (d->f[j].has_cert && d->f[j].has_spki) {
      memcpy(ci[nc].spki, d->f[j].spki, CK_SHA256_LEN);
      ci[nc++].idx = j;
    }
  qsort(ci, nc, sizeof(*ci), spki_cmp);
  for (size_t i = 0; i < d->n && rc == CK_OK; i++) {
    ck_finding *k = &d->f[i];
    size_t lo = 0, hi = nc;
    if (strcmp(k->kind, "key") != 0 || !k->has_spki)
      continue;
    while (lo < hi) { /* first certificate with spki >= k->spki */
      size_t mid = lo + (hi - lo) / 2;
      if (memcmp(ci[mid].spki, k->spki, CK_SHA256_LEN) < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
    for (; lo < nc && !memcmp(ci[lo].spki, k->spki, CK_SHA256_LEN); lo++) {
      ck_finding *c = &d->f[ci[lo].idx];
      if (c->key_match == 1)
        continue;
      free(c->key_path);
      c->key_path = strdup(k->path);
      if (!c->key_path) {
        rc = CK_ERR_NOMEM;
        break;
      }
      c->key_match = 1;
      c->risks |=
          k->risks & (CK_RISK_KEY_WORLD_READABLE | CK_RISK_KEY_GROUP_READABLE);
      if (!k->cert_path && !(k->cert_path = strdup(c->path))) {
        rc = CK_ERR_NOMEM;
        break;
      }
    }
  }
  free(ci);
  return rc;
}

/* Maps config references onto findings and pairs keys with certificates. */
static ck_err link_up(ck_walk *w) {
  ck_discover *d = w->d;
  ck_rp *rp = NULL;
  size_t nrp = 0;
  ck_err rc = CK_OK;
  /* keys <-> certificates by public key: certificates sorted by SPKI hash
   * (then position), each key looks its hash up */
  rc = match_keys(d);
  if (rc != CK_OK)
    return rc;
  if (!w->wc.n)
    return CK_OK;
  rp = calloc(d->n ? d->n : 1, sizeof(*rp));
  if (!rp)
    return CK_ERR_NOMEM;
  for (size_t i = 0; i < d->n; i++) {
    char *r = realpath(d->f[i].path, NULL);
    if (r)
      rp[nrp++] = (ck_rp){r, i};
  }
  qsort(rp, nrp, sizeof(*rp), rp_cmp);
  for (size_t i = 0; i < w->wc.n && rc == CK_OK; i++) {
    const ck_webref *ref = &w->wc.refs[i];
    char *r = realpath(ref->path, NULL);
    struct stat st;
    if (!r)
      continue;
    if (stat(r, &st) == 0 && S_ISDIR(st.st_mode)) {
      /* HAProxy crt directory: every finding directly inside it */
      size_t rl = strlen(r);
      for (size_t j = 0; j < nrp && rc == CK_OK; j++)
        if (strncmp(rp[j].real, r, rl) == 0 && rp[j].real[rl] == '/' &&
            !strchr(rp[j].real + rl + 1, '/'))
          rc = add_svc(&d->f[rp[j].idx], ref);
    } else {
      ck_rp key = {r, 0};
      ck_rp *hit = bsearch(&key, rp, nrp, sizeof(*rp), rp_cmp);
      if (hit) {
        while (hit > rp && strcmp((hit - 1)->real, r) == 0)
          hit--;
        for (; hit < rp + nrp && strcmp(hit->real, r) == 0 && rc == CK_OK;
             hit++)
          rc = add_svc(&d->f[hit->idx], ref);
      }
    }
    free(r);
  }
  if (rc == CK_OK)
    rc = pair_keys(d, &w->wc, rp, nrp);
  for (size_t i = 0; i < nrp; i++)
    free(rp[i].real);
  free(rp);
  return rc;
}

/* One scan over roots (shallow: ck_discover_paths). */
static ck_err run(const ck_discover_opts *opts, const char *const *roots,
                  size_t n_roots, int shallow, ck_discover *out,
                  ck_errctx *err) {
  ck_walk w;
  ck_err rc = CK_OK;
  uint64_t t0 = ck_clock_mono_ms();
  memset(&w, 0, sizeof(w));
  w.o = opts;
  w.d = out;
  w.shallow = shallow;
  w.now = opts->now ? opts->now : ck_clock_now();
  w.max_depth = opts->has_max_depth && opts->max_depth >= 0 ? opts->max_depth
                                                            : CK_DISC_DEF_DEPTH;
  w.max_size = opts->max_size ? opts->max_size : CK_DISC_DEF_SIZE;
  out->scanned_at = w.now;
  for (size_t i = 0; i < n_roots && rc == CK_OK; i++) {
    const char *root = roots[i];
    const char *base = strrchr(root, '/');
    base = base && base[1] ? base + 1 : root;
    rc = walk_entry(&w, root, base, -1);
  }
  if (rc == CK_OK)
    rc = link_up(&w);
  ck_webconf_clear(&w.wc);
  free(w.memo);
  out->stats.elapsed_ms = (int64_t)(ck_clock_mono_ms() - t0);
  if (rc != CK_OK)
    return ck_failf(err, rc, "scan failed: %s", ck_strerror(rc));
  return CK_OK;
}

ck_err ck_discover_run(const ck_discover_opts *opts, ck_discover *out,
                       ck_errctx *err) {
  if (!opts || !out || !opts->n_roots)
    return ck_failf(err, CK_ERR_INVAL, "scan: no paths given");
  return run(opts, opts->roots, opts->n_roots, 0, out, err);
}

ck_err ck_discover_paths(const ck_discover_opts *o, const char *const *paths,
                         size_t n, ck_discover *out, ck_errctx *err) {
  if (!o || !out || (n && !paths))
    return ck_failf(err, CK_ERR_INVAL, "rescan: missing argument");
  return run(o, paths, n, 1, out, err);
}

ck_err ck_discover_add_der(ck_discover *d, const char *path, const char *format,
                           const uint8_t *der, size_t len, int64_t now,
                           ck_errctx *err) {
  ck_discover_opts o;
  ck_walk w;
  ck_cert *cert = NULL;
  ck_finding *f;
  ck_err rc;
  if (!d || !path || !der || !len)
    return ck_failf(err, CK_ERR_INVAL, "certificate: missing argument");
  rc = ck_cert_parse_fields(der, len, &cert, err);
  if (rc != CK_OK)
    return rc;
  memset(&o, 0, sizeof(o));
  o.keep_der = 1;
  memset(&w, 0, sizeof(w));
  w.o = &o;
  w.d = d;
  w.now = now ? now : ck_clock_now();
  f = new_finding(&w, path, "certificate", NULL);
  rc = f ? fill_cert(&w, f, cert) : CK_ERR_NOMEM;
  if (rc == CK_OK && f)
    f->format = format;
  else if (f) {
    ck_finding_clear(f);
    d->n--;
  }
  ck_cert_free(cert);
  if (rc != CK_OK)
    return ck_failf(err, rc, "certificate for %s: %s", path, ck_strerror(rc));
  return CK_OK;
}
