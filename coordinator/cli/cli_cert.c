/* cli_cert.c — `certkeeper cert issue|list|show|blast-radius|revoke`: certificates
 * through /api/v1/certificates (docs/api.md "Certificates").
 *
 * issue reads a CSR (PEM or DER; sent as canonical PEM), asks for a
 * certificate and writes the chain atomically with mode 0644 only when one
 * was issued: a pending request (202) exits 3 and a refusal exits 4, both
 * leaving --out untouched. list pages through the inventory (--all follows
 * next_cursor, streaming rows so a million certificates need no more memory
 * than one page). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto/crypto.h"
#include "common/util/clock.h"
#include "common/util/fs.h"
#include "coordinator/cli/cli.h"
#include "coordinator/cli/cli_api.h"
#include "coordinator/cli/cli_list.h"
#include "coordinator/cli/cli_out.h"

static const char *const revoke_reasons[] = {
    "unspecified",          "keyCompromise",     "cACompromise",
    "affiliationChanged",   "superseded",        "cessationOfOperation",
    "certificateHold",      "removeFromCRL",     "privilegeWithdrawn",
    "aACompromise",         NULL};

/* ------------------------------------------------------------ cert issue */

/* Fails early (before anything is issued) when --out cannot be written:
 * its directory must exist and be writable. */
static int check_out_dir(ck_cli *cli, const char *out) {
  char dir[4096];
  const char *slash = strrchr(out, '/');

  if (slash == NULL)
    snprintf(dir, sizeof dir, ".");
  else if (slash == out)
    snprintf(dir, sizeof dir, "/");
  else
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - out), out);
  if (access(dir, W_OK | X_OK) != 0) {
    ck_cli_errorf(cli, "cannot write %s: directory %s: %s", out, dir,
                  strerror(errno));
    return CK_CLI_LOCAL_IO;
  }
  return CK_CLI_OK;
}

static int run_issue(ck_cli *cli) {
  const char *profile = ck_cli_args_get(cli->args, "profile");
  const char *csr_path = ck_cli_args_get(cli->args, "csr");
  const char *out = ck_cli_args_get(cli->args, "out");
  const char *validity = ck_cli_args_get(cli->args, "validity");
  const char *owner = ck_cli_args_get(cli->args, "owner");
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  ck_errctx err = CK_ERRCTX_INIT;
  json_t *body = NULL, *cert;
  char sans[512], exp[64];
  const char *chain, *serial;
  int64_t secs;
  int rc;

  if (validity != NULL && ck_duration_parse(validity, &secs) != CK_OK) {
    ck_cli_errorf(cli, "--validity '%s': not a duration (e.g. 90d, 12h)",
                  validity);
    return CK_CLI_USAGE;
  }
  if ((rc = check_out_dir(cli, out)) != CK_CLI_OK ||
      (rc = ck_cli_api_csr_body(cli, csr_path,
                                (const char *const[]){"profile", profile,
                                                      "validity", validity,
                                                      "owner", owner, NULL},
                                &body)) != CK_CLI_OK)
    goto out;
  ck_cli_path_lit(&path, "/certificates");
  if ((rc = ck_cli_api_call(cli, "POST", &path, body, NULL, &ans)) !=
      CK_CLI_OK)
    goto out;
  if (ans.status == 202) {
    json_t *req = json_object_get(ans.json, "request");
    if (cli->json) {
      rc = ck_cli_out_json(ans.json);
    } else {
      char id[64], reason[512];
      printf("pending: request %s awaits approval%s%s\n",
             ck_cli_fmt_value(json_object_get(req, "id"), id, sizeof id),
             json_string_value(json_object_get(req, "reason")) ? ": " : "",
             json_string_value(json_object_get(req, "reason"))
                 ? ck_cli_fmt_value(json_object_get(req, "reason"), reason,
                                    sizeof reason)
                 : "");
    }
    rc = rc == CK_CLI_OK ? CK_CLI_PENDING : rc;
    goto out;
  }
  cert = json_object_get(ans.json, "certificate");
  chain = json_string_value(json_object_get(ans.json, "chain_pem"));
  if (chain == NULL)
    chain = json_string_value(json_object_get(ans.json, "pem"));
  serial = json_string_value(json_object_get(cert, "serial"));
  if (chain == NULL || strstr(chain, "-----BEGIN CERTIFICATE-----") == NULL) {
    ck_cli_errorf(cli, "unexpected answer (HTTP %ld): no certificate PEM in it",
                  ans.status);
    rc = CK_CLI_SERVER;
    goto out;
  }
  if (ck_fs_write_atomic(out, chain, strlen(chain), 0644, &err) != CK_OK) {
    ck_cli_errorf(cli,
                  "issued %s but cannot write it: %s (fetch it with: "
                  "certkeeper cert show %s --pem)",
                  serial != NULL ? serial : "a certificate",
                  ck_errctx_msg(&err), serial != NULL ? serial : "SERIAL");
    rc = CK_CLI_LOCAL_IO;
    goto out;
  }
  if (cli->json) {
    rc = ck_cli_out_json(ans.json);
  } else {
    char s1[128], s2[512];
    printf("issued %s for %s (%s), expires %s, profile %s -> %s\n",
           ck_cli_fmt_value(json_object_get(cert, "serial"), s1, sizeof s1),
           ck_cli_fmt_value(json_object_get(cert, "subject"), s2, sizeof s2),
           ck_cli_fmt_value(json_object_get(cert, "sans"), sans, sizeof sans),
           ck_cli_fmt_expiry(
               json_string_value(json_object_get(cert, "not_after")), exp,
               sizeof exp),
           profile, out);
  }
out:
  json_decref(body);
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

/* ------------------------------------------------------------- cert list */

static const char *cell_expiry(const json_t *it, char *buf, size_t len) {
  return ck_cli_fmt_expiry(json_string_value(json_object_get(it, "not_after")),
                           buf, len);
}

static const char *cell_flags(const json_t *it, char *buf, size_t len) {
  const json_t *weak = json_object_get(it, "weak");
  char w[512];
  int unmanaged = json_is_false(json_object_get(it, "managed"));
  int is_weak = json_is_array(weak) && json_array_size(weak) > 0;

  if (!unmanaged && !is_weak)
    return ck_cli_clean("-", 0, buf, len);
  snprintf(buf, len, "%s%s%s%s%s", unmanaged ? "unmanaged" : "",
           unmanaged && is_weak ? " " : "", is_weak ? "weak(" : "",
           is_weak ? ck_cli_fmt_value(weak, w, sizeof w) : "",
           is_weak ? ")" : "");
  return buf;
}

static const ck_cli_col cert_cols[] = {
    {"SERIAL", "serial", NULL},     {"SUBJECT", "subject", NULL},
    {"EXPIRES", NULL, cell_expiry}, {"STATUS", "status", NULL},
    {"PROFILE", "profile", NULL},   {"OWNER", "owner", NULL},
    {"FLAGS", NULL, cell_flags},    {NULL, NULL, NULL}};

static int run_list(ck_cli *cli) {
  const ck_cli_args *a = cli->args;
  const char *expiring = ck_cli_args_get(a, "expiring");
  ck_cli_path path = {0};
  int64_t secs;
  int rc;

  if (expiring != NULL && ck_duration_parse(expiring, &secs) != CK_OK) {
    ck_cli_errorf(cli, "--expiring '%s': not a duration (e.g. 30d)", expiring);
    return CK_CLI_USAGE;
  }
  if (!ck_cli_list_limit_ok(cli, ck_cli_args_get(a, "limit")))
    return CK_CLI_USAGE;
  ck_cli_path_lit(&path, "/certificates");
  ck_cli_path_param(&path, "expiring", expiring);
  ck_cli_path_param(&path, "owner", ck_cli_args_get(a, "owner"));
  ck_cli_path_param(&path, "host", ck_cli_args_get(a, "host"));
  ck_cli_path_param(&path, "profile", ck_cli_args_get(a, "profile"));
  ck_cli_path_param(&path, "ca", ck_cli_args_get(a, "ca"));
  ck_cli_path_param(&path, "status", ck_cli_args_get(a, "status"));
  if (ck_cli_args_has(a, "unmanaged"))
    ck_cli_path_param(&path, "unmanaged", "1");
  if (ck_cli_args_has(a, "weak"))
    ck_cli_path_param(&path, "weak", "1");
  ck_cli_path_param(&path, "limit", ck_cli_args_get(a, "limit"));
  rc = ck_cli_list_pages_by(cli, &path, cert_cols, ck_cli_args_has(a, "all"),
                            "cursor", ck_cli_args_get(a, "cursor"));
  ck_cli_path_free(&path);
  return rc;
}

/* ------------------------------------------------------------- cert show */

static int run_show(ck_cli *cli) {
  static const char *const order[] = {
      "serial",   "fingerprint", "subject",  "issuer", "sans",
      "not_before", "not_after", "key_type", "key_bits", "sig_alg",
      "ca",       "profile",     "owner",    "status", "source",
      "managed",  "weak",        NULL};
  static const char *const skip[] = {"pem", "chain_pem", "installs", NULL};
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  const json_t *installs, *in;
  const char *pem;
  size_t i;
  int rc;

  if (cli->json && ck_cli_args_has(cli->args, "pem")) {
    ck_cli_errorf(cli, "--pem and --json do not go together");
    return CK_CLI_USAGE;
  }
  ck_cli_path_lit(&path, "/certificates");
  ck_cli_path_seg(&path, ck_cli_pos(cli, 0));
  if ((rc = ck_cli_api_call(cli, "GET", &path, NULL, NULL, &ans)) !=
      CK_CLI_OK)
    goto out;
  if (!json_is_object(ans.json)) {
    ck_cli_errorf(cli, "unexpected answer: not a certificate object");
    rc = CK_CLI_SERVER;
    goto out;
  }
  if (cli->json) {
    rc = ck_cli_out_json(ans.json);
  } else if (ck_cli_args_has(cli->args, "pem")) {
    if ((pem = ck_cli_api_str(cli, ans.json, "pem")) == NULL) {
      rc = CK_CLI_SERVER;
      goto out;
    }
    ck_cli_out_clean(stdout, pem, 1);
    if (pem[0] != '\0' && pem[strlen(pem) - 1] != '\n')
      fputc('\n', stdout);
  } else {
    ck_cli_out_object(ans.json, order, skip);
    installs = json_object_get(ans.json, "installs");
    if (json_is_array(installs) && json_array_size(installs) > 0) {
      printf("installs:\n");
      json_array_foreach(installs, i, in) {
        char buf[1024];
        printf("  %s\n", ck_cli_fmt_value(in, buf, sizeof buf));
      }
    } else {
      printf("installs:     -\n");
    }
  }
out:
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

/* ----------------------------------------------------------- cert revoke */

/* Asks on the terminal; 1 when the operator typed y or yes. */
static int confirm(const char *serial, const char *reason) {
  char line[16];

  fprintf(stderr, "Revoke certificate %s (reason %s)? [y/N] ", serial,
          reason);
  fflush(stderr);
  if (fgets(line, sizeof line, stdin) == NULL)
    return 0;
  line[strcspn(line, "\r\n")] = '\0';
  return strcmp(line, "y") == 0 || strcmp(line, "Y") == 0 ||
         strcmp(line, "yes") == 0;
}

static int run_revoke(ck_cli *cli) {
  const char *serial = ck_cli_pos(cli, 0);
  const char *reason = ck_cli_args_get(cli->args, "reason");
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  json_t *body = NULL;
  size_t i;
  int rc;

  for (i = 0; revoke_reasons[i] != NULL; i++)
    if (strcmp(revoke_reasons[i], reason) == 0)
      break;
  if (revoke_reasons[i] == NULL) {
    ck_cli_errorf(cli,
                  "--reason '%s' is not an RFC 5280 reason: unspecified, "
                  "keyCompromise, cACompromise, affiliationChanged, "
                  "superseded, cessationOfOperation, certificateHold, "
                  "removeFromCRL, privilegeWithdrawn, aACompromise",
                  reason);
    return CK_CLI_USAGE;
  }
  if (!ck_cli_args_has(cli->args, "force") && isatty(STDIN_FILENO) &&
      isatty(STDERR_FILENO) && !confirm(serial, reason)) {
    ck_cli_errorf(cli, "not revoked");
    return CK_CLI_USAGE;
  }
  body = json_pack("{s:s}", "reason", reason);
  if (body != NULL && ck_cli_args_has(cli->args, "no-replace"))
    json_object_set_new(body, "replace", json_false());
  if (body != NULL && ck_cli_args_has(cli->args, "replace-first")) {
    const char *dl = ck_cli_args_get(cli->args, "deadline");
    json_object_set_new(body, "replace_first", json_true());
    json_object_set_new(body, "force", json_boolean(ck_cli_args_has(cli->args, "force")));
    if (dl != NULL)
      json_object_set_new(body, "deadline", json_string(dl));
  } else if (ck_cli_args_get(cli->args, "deadline") != NULL) {
    json_decref(body);
    ck_cli_errorf(cli, "--deadline goes with --replace-first");
    return CK_CLI_USAGE;
  }
  if (body == NULL) {
    ck_cli_errorf(cli, "out of memory");
    return CK_CLI_LOCAL_IO;
  }
  ck_cli_path_lit(&path, "/certificates");
  ck_cli_path_seg(&path, serial);
  ck_cli_path_lit(&path, "/revoke");
  if ((rc = ck_cli_api_call(cli, "POST", &path, body, NULL, &ans)) !=
      CK_CLI_OK)
    goto out;
  if (cli->json && ans.json != NULL) {
    rc = ck_cli_out_json(ans.json);
  } else if (ans.status == 202) {
    const json_t *pl = json_object_get(ans.json, "plan");
    char id[32], dl[64], n[32];
    printf("revocation plan %s: waiting for %s holder(s) to replace it until %s%s\n",
           ck_cli_fmt_value(json_object_get(pl, "id"), id, sizeof id),
           ck_cli_fmt_value(json_object_get(pl, "pending"), n, sizeof n),
           ck_cli_fmt_value(json_object_get(pl, "deadline"), dl, sizeof dl),
           json_is_true(json_object_get(pl, "force")) ? ", then revoke regardless"
                                                      : ", then stop");
    printf("follow it with: certkeeper cert plans %s\n", id);
  } else if (!cli->json) {
    char s[256];
    const json_t *sv = json_object_get(ans.json, "serial");
    const json_t *rp = json_object_get(ans.json, "replacement");
    printf("revoked %s (reason %s)\n",
           sv != NULL ? ck_cli_fmt_value(sv, s, sizeof s)
                      : ck_cli_clean(serial, 0, s, sizeof s),
           reason);
    if (json_is_object(rp)) {
      const json_t *cmds = json_object_get(rp, "commands"), *cm;
      size_t k;
      printf("replace-before-revoke queued for %lld holder(s)\n",
             (long long)json_integer_value(json_object_get(rp, "queued")));
      json_array_foreach(cmds, k, cm) {
        char a[256], t[512], st[64];
        printf("  %s %s: %s\n",
               ck_cli_fmt_value(json_object_get(cm, "agent"), a, sizeof a),
               ck_cli_fmt_value(json_object_get(cm, "target"), t, sizeof t),
               ck_cli_fmt_value(json_object_get(cm, "status"), st, sizeof st));
      }
    }
  }
out:
  json_decref(body);
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

/* ------------------------------------------------------ cert blast-radius */

/* Prints one "  KEY VALUE" field of o when it is a non-empty string. */
static void field(const json_t *o, const char *key, const char *label) {
  const json_t *v = json_object_get(o, key);
  char buf[512];

  if (json_is_string(v) && json_string_length(v) > 0)
    printf("  %s %s", label, ck_cli_clean(json_string_value(v), 0, buf, sizeof buf));
}

static int run_blast(ck_cli *cli) {
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  const json_t *certs, *ct, *in, *sum;
  size_t i, j;
  int rc;

  ck_cli_path_lit(&path, "/certificates");
  ck_cli_path_seg(&path, ck_cli_pos(cli, 0));
  ck_cli_path_lit(&path, "/blast-radius");
  if ((rc = ck_cli_api_call(cli, "GET", &path, NULL, NULL, &ans)) != CK_CLI_OK)
    goto out;
  if (!json_is_object(ans.json)) {
    ck_cli_errorf(cli, "unexpected answer: not an object");
    rc = CK_CLI_SERVER;
    goto out;
  }
  if (cli->json) {
    rc = ck_cli_out_json(ans.json);
    goto out;
  }
  sum = json_object_get(ans.json, "summary");
  printf("key (SPKI SHA-256) %s\n",
         json_string_value(json_object_get(ans.json, "spki_sha256")) != NULL
             ? json_string_value(json_object_get(ans.json, "spki_sha256"))
             : "?");
  printf("revoking affects %lld certificate(s) with this key, %lld install(s) on "
         "%lld host(s), %lld service(s), %lld endpoint(s)%s\n",
         (long long)json_integer_value(json_object_get(sum, "certificates")),
         (long long)json_integer_value(json_object_get(sum, "installs")),
         (long long)json_integer_value(json_object_get(sum, "hosts")),
         (long long)json_integer_value(json_object_get(sum, "services")),
         (long long)json_integer_value(json_object_get(sum, "endpoints")),
         json_is_true(json_object_get(ans.json, "truncated")) ? " (truncated)" : "");
  certs = json_object_get(ans.json, "certificates");
  json_array_foreach(certs, i, ct) {
    const json_t *inst = json_object_get(ct, "installs");
    printf("cert");
    field(ct, "serial", "serial");
    field(ct, "subject", "subject");
    field(ct, "status", "status");
    if (json_is_true(json_object_get(ct, "same_certificate")))
      printf("  (this certificate)");
    printf("\n");
    if (json_array_size(inst) == 0)
      printf("    not seen installed by any agent\n");
    json_array_foreach(inst, j, in) {
      printf("   ");
      field(in, "agent", "agent");
      field(in, "host", "host");
      field(in, "path", "path");
      field(in, "service", "service");
      field(in, "endpoint", "endpoint");
      field(in, "last_seen", "last-seen");
      printf("\n");
    }
  }
out:
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

/* ----------------------------------------------------------- cert plans */

static int run_plans(ck_cli *cli) {
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  json_t *list;
  const json_t *pl, *h;
  const char *id = ck_cli_pos(cli, 0);
  size_t i, j;
  int rc;

  ck_cli_path_lit(&path, "/revocation-plans");
  if (id != NULL)
    ck_cli_path_seg(&path, id);
  if ((rc = ck_cli_api_call(cli, "GET", &path, NULL, NULL, &ans)) != CK_CLI_OK)
    goto out;
  if (cli->json) {
    rc = ck_cli_out_json(ans.json);
    goto out;
  }
  list = json_object_get(ans.json, "items");
  if (list == NULL) { /* one plan */
    list = json_array();
    if (ans.json != NULL)
      json_array_append(list, ans.json);
  } else {
    json_incref(list);
  }
  json_array_foreach(list, i, pl) {
    char a[64], b[256], c2[64], d[64], e[64], f[512];
    printf("plan %s  serial %s  %s  reason %s  deadline %s",
           ck_cli_fmt_value(json_object_get(pl, "id"), a, sizeof a),
           ck_cli_fmt_value(json_object_get(pl, "serial"), b, sizeof b),
           ck_cli_fmt_value(json_object_get(pl, "state"), c2, sizeof c2),
           ck_cli_fmt_value(json_object_get(pl, "reason"), d, sizeof d),
           ck_cli_fmt_value(json_object_get(pl, "deadline"), e, sizeof e));
    if (json_string_length(json_object_get(pl, "note")) > 0)
      printf("  (%s)", ck_cli_fmt_value(json_object_get(pl, "note"), f, sizeof f));
    printf("\n");
    json_array_foreach(json_object_get(pl, "holders"), j, h) {
      char ag[256], pa[1024], st[32];
      printf("  %s %s: %s\n", ck_cli_fmt_value(json_object_get(h, "agent"), ag, sizeof ag),
             ck_cli_fmt_value(json_object_get(h, "path"), pa, sizeof pa),
             ck_cli_fmt_value(json_object_get(h, "state"), st, sizeof st));
    }
  }
  json_decref(list);
out:
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

/* ------------------------------------------------------ cert validation */

/* One analytics counter: "  LABEL N fetch(es), first .. last" + networks. */
static void print_use(const char *label, const json_t *u) {
  const json_t *nt;
  char a[64], b[64], c2[64], d[96], e[64];
  size_t i;

  printf("%s %s fetch(es)", label,
         ck_cli_fmt_value(json_object_get(u, "fetches"), a, sizeof a));
  if (json_integer_value(json_object_get(u, "fetches")) > 0)
    printf(", first %s, last %s",
           ck_cli_fmt_value(json_object_get(u, "first_seen"), b, sizeof b),
           ck_cli_fmt_value(json_object_get(u, "last_seen"), c2, sizeof c2));
  printf("\n");
  json_array_foreach(json_object_get(u, "networks"), i, nt) {
    printf("    %-40s %s\n", ck_cli_fmt_value(json_object_get(nt, "network"), d, sizeof d),
           ck_cli_fmt_value(json_object_get(nt, "fetches"), e, sizeof e));
  }
  if (json_integer_value(json_object_get(u, "other_networks_fetches")) > 0)
    printf("    %-40s %s\n", "(other networks)",
           ck_cli_fmt_value(json_object_get(u, "other_networks_fetches"), e, sizeof e));
}

static int run_validation(ck_cli *cli) {
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  const json_t *crl;
  char a[256], b[64], c2[64];
  int rc;

  ck_cli_path_lit(&path, "/certificates");
  ck_cli_path_seg(&path, ck_cli_pos(cli, 0));
  ck_cli_path_lit(&path, "/validation");
  if ((rc = ck_cli_api_call(cli, "GET", &path, NULL, NULL, &ans)) != CK_CLI_OK)
    goto out;
  if (!json_is_object(ans.json)) {
    ck_cli_errorf(cli, "unexpected answer: not an object");
    rc = CK_CLI_SERVER;
    goto out;
  }
  if (cli->json) {
    rc = ck_cli_out_json(ans.json);
    goto out;
  }
  printf("certificate %s  CA %s  (counted since %s)\n",
         ck_cli_fmt_value(json_object_get(ans.json, "serial"), a, sizeof a),
         ck_cli_fmt_value(json_object_get(ans.json, "ca"), b, sizeof b),
         ck_cli_fmt_value(json_object_get(ans.json, "since"), c2, sizeof c2));
  print_use("  OCSP (this certificate)", json_object_get(ans.json, "ocsp"));
  crl = json_object_get(ans.json, "crl");
  if (json_is_object(crl)) {
    print_use("  CRL (whole CA)", json_object_get(crl, "full"));
    print_use("  delta CRL (whole CA)", json_object_get(crl, "delta"));
  }
  crl = json_object_get(ans.json, "crl_shard");
  if (json_is_object(crl)) { /* the shard this certificate's CDP names */
    char lbl[300];
    snprintf(lbl, sizeof lbl, "  CRL shard %s",
             ck_cli_fmt_value(json_object_get(crl, "crl"), a, sizeof a));
    print_use(lbl, json_object_get(crl, "full"));
    snprintf(lbl, sizeof lbl, "  delta CRL shard %s", a);
    print_use(lbl, json_object_get(crl, "delta"));
  }
out:
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

/* ------------------------------------------------------------ the tables */

static const ck_cli_opt issue_opts[] = {
    {"profile", "NAME", 0, 1, "profile to issue under"},
    {"csr", "FILE", 0, 1, "certificate signing request, PEM or DER"},
    {"out", "FILE", 0, 1,
     "where to write the chain (leaf, then issuing CA), PEM, mode 0644"},
    {"validity", "DURATION", 0, 0,
     "requested lifetime, e.g. 30d (the profile's maximum applies)"},
    {"owner", "NAME", 0, 0, "owner (team) to record for the certificate"},
    {NULL, NULL, 0, 0, NULL}};

static const ck_cli_opt list_opts[] = {
    {"expiring", "DURATION", 0, 0, "only those expiring within, e.g. 30d"},
    {"owner", "NAME", 0, 0, "only this owner's"},
    {"host", "AGENT", 0, 0, "only those installed on this agent (id)"},
    {"profile", "NAME", 0, 0, "only those issued under this profile"},
    {"ca", "NAME", 0, 0, "only those issued by this CA"},
    {"status", "STATUS", 0, 0, "only this status (active, revoked, expired)"},
    {"unmanaged", NULL, 0, 0, "only certificates found by agents, not issued"},
    {"weak", NULL, 0, 0, "only certificates flagged weak"},
    {"limit", "N", 0, 0, "page size, 1..1000 (server default 100)"},
    {"cursor", "CURSOR", 0, 0, "continue from a previous page"},
    {"all", NULL, 0, 0, "follow next_cursor through every page"},
    {NULL, NULL, 0, 0, NULL}};

static const ck_cli_opt show_opts[] = {
    {"pem", NULL, 0, 0, "print only the certificate PEM"},
    {NULL, NULL, 0, 0, NULL}};

static const ck_cli_opt revoke_opts[] = {
    {"reason", "REASON", 0, 1,
     "RFC 5280 reason: keyCompromise, superseded, cessationOfOperation, ..."},
    {"force", NULL, 0, 0, "do not ask for confirmation on a terminal"},
    {"no-replace", NULL, 0, 0,
     "do not send replace-before-revoke to the agents holding it"},
    {"replace-first", NULL, 0, 0,
     "replace-then-revoke: revoke only once every holder has replaced it"},
    {"deadline", "DURATION", 0, 0,
     "with --replace-first: how long to wait (default 24h); with --force "
     "it revokes then regardless"},
    {NULL, NULL, 0, 0, NULL}};

static const ck_cli_cmd cert_cmds[] = {
    {"issue", "--profile NAME --csr FILE --out FILE [--validity D] [--owner O]",
     "Issue a certificate from a CSR",
     "Writes the chain (leaf, then issuing CA) to --out atomically, mode "
     "0644,\nand prints a one-line summary. Exit 3 with the request id when "
     "the profile\nneeds approval (pending), exit 4 with the rule that "
     "failed when the\nrequest breaks the profile; --out is not written in "
     "either case.",
     0, 0, issue_opts, run_issue},
    {"list", "[filters] [--limit N] [--all]", "List certificates",
     "Filters go to the coordinator as given; it answers one of --expiring,\n"
     "--owner, --host, --profile, --ca, --unmanaged, --weak per query (each\n"
     "is indexed), and --status narrows any of them. Without --all one page\n"
     "is printed and the cursor of the next one is given on stderr.",
     0, 0, list_opts, run_list},
    {"show", "SERIAL_OR_FINGERPRINT [--pem]",
     "Show one certificate (fields, installs, or its PEM)", NULL, 1, 1,
     show_opts, run_show},
    {"blast-radius", "SERIAL_OR_FINGERPRINT",
     "What revoking would break: every certificate with the same key and "
     "where each is installed or served",
     "Lists the certificate and every other certificate sharing its public\n"
     "key, each with the hosts, paths, services and endpoints the agents\n"
     "reported. Run it before `cert revoke`.",
     1, 1, NULL, run_blast},
    {"plans", "[ID]", "Replace-then-revoke plans and their progress per host",
     "Lists the revocation plans made by `cert revoke --replace-first`\n"
     "(newest first, at most 100) or shows one: state (waiting, revoked,\n"
     "forced, expired, failed) and, per holder, waiting or replaced.",
     0, 1, NULL, run_plans},
    {"validation", "SERIAL_OR_FINGERPRINT",
     "Who checks this certificate's status: OCSP fetches, CRL downloads, "
     "client networks",
     "Validation analytics since the coordinator started: OCSP requests for\n"
     "this certificate (count, first and last seen, client networks as /24\n"
     "or /48, the first 8 distinct ones listed, later ones summed) and the\n"
     "downloads of its CA's CRL and delta CRL. In memory only: a restart\n"
     "starts from zero. Estate-wide: GET /api/v1/validation/stats.",
     1, 1, NULL, run_validation},
    {"revoke",
     "SERIAL --reason REASON [--force] [--no-replace] [--replace-first [--deadline D]]",
     "Revoke a certificate",
     "On a terminal, asks for confirmation unless --force is given. Exit 7 "
     "if\nthe certificate is already revoked. Then the agents holding it are "
     "sent\nreplace-before-revoke (for keyCompromise: the holders of every\n"
     "certificate with that key) unless --no-replace, or the reason is\n"
     "cessationOfOperation, certificateHold, removeFromCRL or privilegeWithdrawn.\n"
     "--replace-first waits instead: the holders are sent the command and the\n"
     "certificate is revoked once none of them has it any more (exit 0, plan\n"
     "id printed); at --deadline the plan stops, or revokes with --force.\n"
     "Key compromise never waits.",
     1, 1, revoke_opts, run_revoke},
    {NULL, NULL, NULL, NULL, 0, 0, NULL, NULL}};

const ck_cli_group ck_cli_group_cert = {
    "cert", "Certificates: issue, list, show, blast-radius, revoke, plans, validation.",
    cert_cmds};
