/* status.c — `certkeeper-agent status` (see status.h): reads the files the
 * workers maintain and prints them as a table or as JSON. */
#include "agent/run/status.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/link/outbox.h"
#include "agent/link/session.h"
#include "agent/manage/mstate.h"
#include "agent/run/agentconf.h"
#include "agent/run/assign.h"
#include "common/util/clock.h"
#include "common/util/mem.h"

typedef struct ck__st_cert {
  const ck_agentconf_cert *c;
  const char *source; /* "config" or "coordinator" (assigned.conf) */
  ck_mstate m;
  int have;          /* state file read */
  char err[256];     /* why it could not be read ("" when absent/ok) */
} ck__st_cert;

static const char *ck__st_time(int64_t t, char *buf, size_t len) {
  if (t <= 0)
    return "-";
  ck_time_format_rfc3339(t, buf, len);
  return buf;
}

static void ck__st_load_cert(const ck_agentconf *cfg, ck__st_cert *sc) {
  char path[4096];
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc;

  memset(&sc->m, 0, sizeof sc->m);
  sc->have = 0;
  sc->err[0] = '\0';
  if (snprintf(path, sizeof path, "%s/managed/%s/%s", cfg->state_dir,
               sc->c->id, CK_MSTATE_FILE) >= (int)sizeof path) {
    ck_strlcpy(sc->err, "path too long", sizeof sc->err);
    return;
  }
  rc = ck_mstate_load(path, &sc->m, &err);
  if (rc == CK_OK)
    sc->have = 1;
  else if (rc != CK_ERR_NOENT)
    ck_strlcpy(sc->err, ck_errctx_msg(&err), sizeof sc->err);
}

static int ck__st_json(const ck_agentconf *cfg, const ck_link_state *ls,
                       int have_ls, size_t ob_n, size_t ob_bytes,
                       uint64_t ob_dropped, ck__st_cert *certs, size_t n) {
  json_t *o = json_object(), *arr = json_array(), *link = json_object();
  char hex[65];
  size_t i;
  int rc = 1;

  if (o == NULL || arr == NULL || link == NULL)
    goto out;
  json_object_set_new(o, "agent_id", cfg->agent_id ? json_string(cfg->agent_id)
                                                   : json_null());
  json_object_set_new(o, "server",
                      cfg->server ? json_string(cfg->server) : json_null());
  json_object_set_new(o, "enrolled", json_boolean(cfg->enrolled));
  json_object_set_new(o, "est_url", cfg->est_url ? json_string(cfg->est_url)
                                                 : json_null());
  json_object_set_new(o, "state_dir", json_string(cfg->state_dir));
  json_object_set_new(link, "state",
                      json_string(have_ls ? ls->state : "unknown"));
  if (have_ls) {
    json_object_set_new(link, "session", json_string(ls->session));
    json_object_set_new(link, "last_connect", json_integer(ls->last_connect));
    json_object_set_new(link, "last_report", json_integer(ls->last_report));
    json_object_set_new(link, "updated", json_integer(ls->updated));
    json_object_set_new(link, "last_error", json_string(ls->last_error));
  }
  json_object_set_new(o, "link", link);
  link = NULL;
  json_object_set_new(o, "outbox",
                      json_pack("{s:I,s:I,s:I}", "events", (json_int_t)ob_n,
                                "bytes", (json_int_t)ob_bytes, "dropped",
                                (json_int_t)ob_dropped));
  for (i = 0; i < n; i++) {
    const ck__st_cert *sc = &certs[i];
    json_t *c = json_object();

    if (c == NULL)
      goto out;
    json_object_set_new(c, "id", json_string(sc->c->id));
    json_object_set_new(c, "cert_file", json_string(sc->c->cert_file));
    json_object_set_new(c, "source", json_string(sc->source));
    json_object_set_new(c, "state",
                        json_string(sc->have ? sc->m.state
                                             : sc->err[0] ? "UNREADABLE"
                                                          : "NEW"));
    if (sc->have) {
      if (sc->m.has_fingerprint) {
        ck_hex_encode(sc->m.fingerprint, 32, hex);
        json_object_set_new(c, "fingerprint", json_string(hex));
      }
      if (sc->m.not_after)
        json_object_set_new(c, "not_after", json_integer(sc->m.not_after));
      if (sc->m.next_renewal)
        json_object_set_new(c, "next_renewal",
                            json_integer(sc->m.next_renewal));
      json_object_set_new(c, "attempt", json_integer(sc->m.attempt));
      if (sc->m.ticket[0])
        json_object_set_new(c, "ticket", json_string(sc->m.ticket));
      if (sc->m.last_error[0])
        json_object_set_new(c, "last_error", json_string(sc->m.last_error));
    } else if (sc->err[0]) {
      json_object_set_new(c, "last_error", json_string(sc->err));
    }
    json_array_append_new(arr, c);
  }
  json_object_set_new(o, "managed", arr);
  arr = NULL;
  if (json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) == 0) {
    fputc('\n', stdout);
    rc = 0;
  }
out:
  json_decref(arr);
  json_decref(link);
  json_decref(o);
  return rc;
}

static void ck__st_text(const ck_agentconf *cfg, const ck_link_state *ls,
                        int have_ls, size_t ob_n, size_t ob_bytes,
                        uint64_t ob_dropped, ck__st_cert *certs, size_t n) {
  char t1[32], t2[32];
  size_t i;

  if (cfg->est_url != NULL) { /* [est]: no coordinator session */
    printf("agent       EST mode (no coordinator enrollment)\n");
    printf("server      %s\n", cfg->est_url);
  } else {
    printf("agent       %s\n",
           cfg->enrolled ? cfg->agent_id : "(not enrolled)");
    printf("server      %s\n", cfg->server ? cfg->server : "-");
  }
  if (have_ls) {
    printf("connection  %s%s%s (as of %s)\n", ls->state,
           ls->session[0] ? ", session " : "", ls->session,
           ck__st_time(ls->updated, t1, sizeof t1));
    printf("last connect %s, last report %s\n",
           ck__st_time(ls->last_connect, t1, sizeof t1),
           ck__st_time(ls->last_report, t2, sizeof t2));
    if (ls->last_error[0])
      printf("last error  %s\n", ls->last_error);
  } else {
    printf("connection  unknown (the agent has not run yet)\n");
  }
  printf("outbox      %zu events waiting (%zu bytes), %llu dropped by "
         "overflow\n",
         ob_n, ob_bytes, (unsigned long long)ob_dropped);
  if (n == 0) {
    printf("managed     none configured\n");
    return;
  }
  printf("\n%-20s %-11s %-17s %-21s %-21s %s\n", "ID", "FROM", "STATE",
         "NOT AFTER", "NEXT RENEWAL", "LAST ERROR");
  for (i = 0; i < n; i++) {
    const ck__st_cert *sc = &certs[i];
    const char *st = sc->have ? sc->m.state : sc->err[0] ? "UNREADABLE" : "NEW";
    const char *e = sc->have ? sc->m.last_error : sc->err;

    printf("%-20s %-11s %-17s %-21s %-21s %s\n", sc->c->id, sc->source, st,
           sc->have ? ck__st_time(sc->m.not_after, t1, sizeof t1) : "-",
           sc->have ? ck__st_time(sc->m.next_renewal, t2, sizeof t2) : "-",
           e[0] ? e : "-");
  }
}

int ck_status_main(int argc, char **argv) {
  const char *path = NULL;
  ck_agentconf *cfg = NULL, *asg = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_link_state ls;
  ck__st_cert *certs = NULL;
  char p[4096];
  size_t ob_n = 0, ob_bytes = 0, i, n = 0, na;
  uint64_t ob_dropped = 0;
  int json = 0, have_ls, status = 1;

  for (int a = 0; a < argc; a++) {
    if (strcmp(argv[a], "--config") == 0 && a + 1 < argc) {
      path = argv[++a];
    } else if (strcmp(argv[a], "--json") == 0) {
      json = 1;
    } else if (strcmp(argv[a], "-h") == 0 || strcmp(argv[a], "--help") == 0) {
      printf("usage: certkeeper-agent status [--config FILE] [--json]\n");
      return 0;
    } else {
      fprintf(stderr,
              "certkeeper-agent status: unknown option or missing value: "
              "%s\nusage: certkeeper-agent status [--config FILE] "
              "[--json]\n",
              argv[a]);
      return 2;
    }
  }
  if (ck_agentconf_load(path, &cfg, &err) != CK_OK) {
    fprintf(stderr, "certkeeper-agent status: %s\n", ck_errctx_msg(&err));
    return 1;
  }
  snprintf(p, sizeof p, "%s/%s", cfg->state_dir, CK_LINK_STATE_FILE);
  have_ls = ck_link_state_read(p, &ls, NULL) == CK_OK && ls.state[0] != '\0';
  snprintf(p, sizeof p, "%s/outbox", cfg->state_dir);
  if (ck_outbox_stat(p, &ob_n, &ob_bytes, &ob_dropped, &err) != CK_OK)
    fprintf(stderr, "certkeeper-agent status: outbox: %s\n",
            ck_errctx_msg(&err));
  ck_errctx_clear(&err);
  if (ck_assign_load(cfg->state_dir, &asg, &err) != CK_OK)
    fprintf(stderr, "certkeeper-agent status: %s\n", ck_errctx_msg(&err));
  na = asg != NULL ? asg->n_certs : 0;
  if (cfg->n_certs + na > 0 &&
      (certs = calloc(cfg->n_certs + na, sizeof *certs)) == NULL) {
    fprintf(stderr, "certkeeper-agent status: out of memory\n");
    goto out;
  }
  for (i = 0; i < cfg->n_certs; i++) {
    certs[n].c = &cfg->certs[i];
    certs[n++].source = "config";
  }
  for (i = 0; i < na; i++) /* the local [cert:ID] wins (assign.h) */
    if (ck_agentconf_find(cfg, asg->certs[i].id) == NULL) {
      certs[n].c = &asg->certs[i];
      certs[n++].source = "coordinator";
    }
  for (i = 0; i < n; i++)
    ck__st_load_cert(cfg, &certs[i]);
  if (json) {
    status = ck__st_json(cfg, &ls, have_ls, ob_n, ob_bytes, ob_dropped, certs,
                         n);
  } else {
    ck__st_text(cfg, &ls, have_ls, ob_n, ob_bytes, ob_dropped, certs, n);
    status = 0;
  }
out:
  free(certs);
  ck_agentconf_free(asg);
  ck_agentconf_free(cfg);
  return status;
}
