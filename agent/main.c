/* main.c — certkeeper-agent entry point: command dispatch.
 *
 * Each command is one row in the `commands` table below (name, handler,
 * one-line help); a command handler gets argc/argv after the command name
 * and returns the process exit status. Commands:
 *   scan PATH... [--json] [--max-depth N] [--exclude GLOB]...
 *        [--include GLOB]... [--p12-password-file F] [--probe]
 *        one-shot discovery, no coordinator needed (docs/agent.md).
 *   run [--config FILE]      the daemon (agent/run/run.h)
 *   status [--config FILE] [--json]   what the daemon recorded
 *        (agent/run/status.h).
 *   est-reenroll             internal: started by `run` (priv) for one EST
 *        re-enrollment, inputs on stdin (agent/run/est_helper.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/discover/discover.h"
#include "agent/discover/probe.h"
#include "agent/link/enroll.h"
#include "agent/run/est_helper.h"
#include "agent/run/run.h"
#include "agent/run/status.h"
#include "common/crypto/crypto.h"
#include "common/util/fs.h"

typedef int (*ck_cmd_fn)(int argc, char **argv);

static int parse_int(const char *s, int lo, int hi, int *out) {
  char *end = NULL;
  long v;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno || !end || *end || end == s || v < lo || v > hi)
    return -1;
  *out = (int)v;
  return 0;
}

static int cmd_scan(int argc, char **argv) {
  const char **roots = NULL, **exc = NULL, **inc = NULL;
  size_t nr = 0, ne = 0, ni = 0;
  int json = 0, probe = 0, status = 2;
  ck_discover_opts o = {0};
  ck_discover d = {0};
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t *pw = NULL;
  size_t pwlen = 0;
  roots = calloc((size_t)argc + 1, sizeof(char *));
  exc = calloc((size_t)argc + 1, sizeof(char *));
  inc = calloc((size_t)argc + 1, sizeof(char *));
  if (!roots || !exc || !inc) {
    fprintf(stderr, "scan: out of memory\n");
    goto out;
  }
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    int has_val = i + 1 < argc;
    if (!strcmp(a, "--json")) {
      json = 1;
    } else if (!strcmp(a, "--probe")) {
      probe = 1;
    } else if (!strcmp(a, "--max-depth") && has_val) {
      if (parse_int(argv[++i], 0, 1000, &o.max_depth) != 0) {
        fprintf(stderr, "scan: --max-depth wants 0..1000, got '%s'\n", argv[i]);
        goto out;
      }
      o.has_max_depth = 1;
    } else if (!strcmp(a, "--exclude") && has_val) {
      exc[ne++] = argv[++i];
    } else if (!strcmp(a, "--include") && has_val) {
      inc[ni++] = argv[++i];
    } else if (!strcmp(a, "--p12-password-file") && has_val) {
      if (ck_fs_read_file(argv[++i], 4096, &pw, &pwlen, &err) != CK_OK) {
        fprintf(stderr, "scan: %s\n", ck_errctx_msg(&err));
        goto out;
      }
      while (pwlen && (pw[pwlen - 1] == '\n' || pw[pwlen - 1] == '\r'))
        pw[--pwlen] = '\0';
    } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      printf("usage: certkeeper-agent scan PATH... [--json] [--max-depth N]"
             " [--exclude GLOB]... [--include GLOB]..."
             " [--p12-password-file F] [--probe]\n");
      status = 0;
      goto out;
    } else if (a[0] == '-' && a[1] == '-') {
      fprintf(stderr, "scan: unknown option or missing value: %s\n", a);
      goto out;
    } else {
      roots[nr++] = a;
    }
  }
  if (!nr) {
    fprintf(stderr, "scan: give at least one PATH\n");
    goto out;
  }
  o.roots = roots;
  o.n_roots = nr;
  o.exclude = exc;
  o.n_exclude = ne;
  o.include = inc;
  o.n_include = ni;
  o.p12_password = (const char *)pw;
  if (ck_discover_run(&o, &d, &err) != CK_OK) {
    fprintf(stderr, "scan: %s\n", ck_errctx_msg(&err));
    status = 1;
    goto out;
  }
  if (probe) {
    /* local listening sockets: which certificate each serves */
    ck_listen_addr *la = NULL;
    size_t nla = 0;
    ck_err prc = ck_platform_listening(&la, &nla, &err);
    if (prc == CK_OK)
      prc = ck_probe_endpoints(la, nla, 3000, &d, &err);
    free(la);
    if (prc == CK_ERR_NOMEM) {
      fprintf(stderr, "scan: %s\n", ck_errctx_msg(&err));
      status = 1;
      goto out;
    }
    if (prc != CK_OK)
      fprintf(stderr, "scan: --probe: %s (file results only)\n",
              ck_errctx_msg(&err));
  }
  if ((json ? ck_discover_write_json(&d, stdout, &err)
            : ck_discover_write_table(&d, stdout, &err)) != CK_OK) {
    fprintf(stderr, "scan: %s\n", ck_errctx_msg(&err));
    status = 1;
    goto out;
  }
  status = 0;
out:
  ck_discover_free(&d);
  if (pw)
    ck_crypto_free_secret(pw, pwlen + 1);
  free(roots);
  free(exc);
  free(inc);
  return status;
}

static const struct {
  const char *name;
  ck_cmd_fn fn;
  const char *help;
} commands[] = {
    {"scan", cmd_scan,
     "find certificates and keys under PATHs (no coordinator)"},
    {"enroll", ck_enroll_main,
     "enroll this host with a coordinator (one-time token)"},
    {"run", ck_run_main,
     "run the agent daemon (--config FILE, default "
     "/etc/certkeeper/agent.conf)"},
    {"status", ck_status_main,
     "show managed certificates, connection and outbox [--json]"},
    {"est-reenroll", ck_est_helper_main,
     "internal: one EST re-enrollment for `run` (inputs on stdin)"},
};

static void usage(FILE *fp) {
  fprintf(fp, "usage: certkeeper-agent COMMAND [ARGS]\ncommands:\n");
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    if (!strcmp(argv[1], commands[i].name))
      return commands[i].fn(argc - 2, argv + 2);
  fprintf(stderr, "certkeeper-agent: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
