/* main.c — certkeeper-coordinator: command-line entry point.
 *
 *   certkeeper-coordinator init --data-dir DIR [--admin-token-out FILE]
 *       [--root-key SPEC] [--issuing-key SPEC] [--org NAME]
 *       [--import-ca CERT KEY] [--listen-http A] [--listen-https A]
 *       [--listen-gateway A]
 *   certkeeper-coordinator run --data-dir DIR [--listen-http A]
 *       [--listen-https A] [--listen-gateway A]
 *       [--acme-dns-resolver A] [--acme-http01-port P]
 *   certkeeper-coordinator version
 *
 * Exit codes: 0 success, 1 usage, 2 failure (message on stderr). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/log.h"
#include "coordinator/core/coord.h"

#define CK_VERSION "0.1.0"

static void usage(FILE *f) {
  fputs("usage:\n"
        "  certkeeper-coordinator init --data-dir DIR [--admin-token-out FILE]\n"
        "      [--root-key ec-p384|rsa-4096|...] [--issuing-key ec-p256|rsa-2048|...]\n"
        "      [--org NAME] [--import-ca CERT KEY]\n"
        "      [--listen-http ADDR] [--listen-https ADDR] [--listen-gateway ADDR]\n"
        "  certkeeper-coordinator run --data-dir DIR [--listen-http ADDR]\n"
        "      [--listen-https ADDR] [--listen-gateway ADDR]\n"
        "      [--acme-dns-resolver ADDR] [--acme-http01-port PORT]\n"
        "  certkeeper-coordinator version\n",
        f);
}

/* Returns the value of option argv[*i] (advancing *i), or NULL with a
 * message when it is missing. */
static const char *optval(int argc, char **argv, int *i) {
  if (*i + 1 >= argc) {
    fprintf(stderr, "certkeeper-coordinator: %s needs a value\n", argv[*i]);
    return NULL;
  }
  return argv[++*i];
}

static int parse_port(const char *s, int *out) {
  char *end;
  long v = strtol(s, &end, 10);

  if (*s == '\0' || *end != '\0' || v < 1 || v > 65535)
    return -1;
  *out = (int)v;
  return 0;
}

static int cmd_init(int argc, char **argv) {
  ck_coord_init_opts o = {0};
  ck_errctx err = CK_ERRCTX_INIT;
  int i;

  for (i = 2; i < argc; i++) {
    const char *a = argv[i], **dst = NULL;
    if (strcmp(a, "--data-dir") == 0)
      dst = &o.data_dir;
    else if (strcmp(a, "--admin-token-out") == 0)
      dst = &o.admin_token_out;
    else if (strcmp(a, "--root-key") == 0)
      dst = &o.root_key;
    else if (strcmp(a, "--issuing-key") == 0)
      dst = &o.issuing_key;
    else if (strcmp(a, "--org") == 0)
      dst = &o.org;
    else if (strcmp(a, "--listen-http") == 0)
      dst = &o.listen_http;
    else if (strcmp(a, "--listen-https") == 0)
      dst = &o.listen_https;
    else if (strcmp(a, "--listen-gateway") == 0)
      dst = &o.listen_gateway;
    else if (strcmp(a, "--import-ca") == 0) {
      if (i + 2 >= argc) {
        fputs("certkeeper-coordinator: --import-ca needs CERT and KEY\n", stderr);
        return 1;
      }
      o.import_cert = argv[++i];
      o.import_key = argv[++i];
      continue;
    } else {
      fprintf(stderr, "certkeeper-coordinator init: unknown option %s\n", a);
      usage(stderr);
      return 1;
    }
    if ((*dst = optval(argc, argv, &i)) == NULL)
      return 1;
  }
  if (o.data_dir == NULL) {
    fputs("certkeeper-coordinator init: --data-dir is required\n", stderr);
    return 1;
  }
  if (ck_coord_init(&o, &err) != CK_OK) {
    fprintf(stderr, "certkeeper-coordinator init: %s\n", ck_errctx_msg(&err));
    return 2;
  }
  return 0;
}

static int cmd_run(int argc, char **argv) {
  ck_coord_overrides ov = {0};
  const char *data_dir = NULL, *port = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  int i;

  for (i = 2; i < argc; i++) {
    const char *a = argv[i], **dst = NULL;
    if (strcmp(a, "--data-dir") == 0)
      dst = &data_dir;
    else if (strcmp(a, "--listen-http") == 0)
      dst = &ov.listen_http;
    else if (strcmp(a, "--listen-https") == 0)
      dst = &ov.listen_https;
    else if (strcmp(a, "--listen-gateway") == 0)
      dst = &ov.listen_gateway;
    else if (strcmp(a, "--acme-dns-resolver") == 0)
      dst = &ov.acme_dns_resolver;
    else if (strcmp(a, "--acme-http01-port") == 0)
      dst = &port;
    else {
      fprintf(stderr, "certkeeper-coordinator run: unknown option %s\n", a);
      usage(stderr);
      return 1;
    }
    if ((*dst = optval(argc, argv, &i)) == NULL)
      return 1;
  }
  if (data_dir == NULL) {
    fputs("certkeeper-coordinator run: --data-dir is required\n", stderr);
    return 1;
  }
  if (port != NULL && parse_port(port, &ov.acme_http01_port) != 0) {
    fprintf(stderr, "certkeeper-coordinator run: bad port '%s'\n", port);
    return 1;
  }
  if (ck_coord_run(data_dir, &ov, &err) != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_CRIT, "coordinator.exit", CK_E(err.code, ck_errctx_msg(&err)));
    fprintf(stderr, "certkeeper-coordinator run: %s\n", ck_errctx_msg(&err));
    return 2;
  }
  return 0;
}

int main(int argc, char **argv) {
  ck_log_set_ident("certkeeper-coordinator");
  signal(SIGPIPE, SIG_IGN);
  if (ck_clock_init() != CK_OK)
    fputs("certkeeper-coordinator: ignoring unparsable CK_FAKE_TIME\n", stderr);
  if (argc < 2) {
    usage(stderr);
    return 1;
  }
  if (strcmp(argv[1], "init") == 0)
    return cmd_init(argc, argv);
  if (strcmp(argv[1], "run") == 0)
    return cmd_run(argc, argv);
  if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
    printf("certkeeper-coordinator %s\n", CK_VERSION);
    return 0;
  }
  if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
    usage(stdout);
    return 0;
  }
  fprintf(stderr, "certkeeper-coordinator: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 1;
}
