/* itest.c — the real coordinator as a child process for the C integration
 * tests (itest.h). */
#include "tests/integration/itest.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util/clock.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

void ck_itest_setup(ck_itest *t) {
  const char *b = getenv("CK_BUILD_DIR");

  if (b == NULL)
    b = ".";
  memset(t, 0, sizeof *t);
  snprintf(t->bin, sizeof t->bin, "%s/coordinator/certkeeper-coordinator", b);
  snprintf(t->cli, sizeof t->cli, "%s/coordinator/certkeeper", b);
  snprintf(t->agent, sizeof t->agent, "%s/agent/certkeeper-agent", b);
  assert_int_equal(uv_loop_init(&t->loop), 0);
  t->tmp = ck_test_tmpdir();
  snprintf(t->data, sizeof t->data, "%s/data", t->tmp);
}

void ck_itest_teardown(ck_itest *t) {
  if (t->pid > 0) {
    kill(t->pid, SIGKILL);
    waitpid(t->pid, NULL, 0);
    t->pid = 0;
  }
  uv_run(&t->loop, UV_RUN_DEFAULT);
  uv_loop_close(&t->loop);
  free(t->chain_pem);
  t->chain_pem = NULL;
  ck_test_rmtree(t->tmp);
  free(t->tmp);
  t->tmp = NULL;
}

int ck_itest_cm_setup(void **state) {
  ck_itest_setup(*state);
  return 0;
}

int ck_itest_cm_teardown(void **state) {
  ck_itest_teardown(*state);
  return 0;
}

void ck_itest_require(const ck_itest *t, int need_agent) {
  if (access(t->bin, X_OK) != 0) {
    printf("skipped: %s not built (the coordinator needs -DCK_CRYPTO=openssl)"
           "\n", t->bin);
    skip();
  }
  if (need_agent && access(t->agent, X_OK) != 0) {
    printf("skipped: %s not built\n", t->agent);
    skip();
  }
  if (!ck_test_have("openssl") || !ck_test_have("curl")) {
    printf("skipped: needs the openssl and curl CLIs\n");
    skip();
  }
}

int ck_itest_free_port(void) {
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  int fd = socket(AF_INET, SOCK_STREAM, 0), port;

  assert_true(fd >= 0);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
  port = ntohs(sa.sin_port);
  close(fd);
  return port;
}

void ck_itest_show_log(const ck_itest *t) {
  char *out = NULL;

  ck_test_sh(&out, "tail -n 40 '%s'/*.log", t->tmp);
  fprintf(stderr, "---- logs ----\n%s--------------\n", out != NULL ? out : "");
  free(out);
}

char *ck_itest_sh(const ck_itest *t, const char *what, const char *cmd) {
  char *out = NULL;
  int st = ck_test_sh(&out, "%s", cmd);

  if (st != 0) {
    ck_itest_show_log(t);
    fail_msg("%s failed (status %d): %s\n%s", what, st, cmd,
             out != NULL ? out : "");
  }
  return out;
}

int ck_itest_reap(pid_t pid, unsigned ms) {
  uint64_t end = ck_clock_mono_ms() + ms;
  struct timespec ts = {0, 10 * 1000 * 1000};
  int st = 0;

  while (waitpid(pid, &st, WNOHANG) == 0) {
    if (ck_clock_mono_ms() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      fail_msg("process %d did not exit within %u ms", (int)pid, ms);
    }
    nanosleep(&ts, NULL); /* polling a real condition, bounded */
  }
  return st;
}

void ck_itest_init(ck_itest *t, const char *conf_extra) {
  char cmd[8192];

  snprintf(cmd, sizeof cmd,
           "'%s' init --data-dir '%s' --admin-token-out '%s/admin.token'",
           t->bin, t->data, t->tmp);
  free(ck_itest_sh(t, "init", cmd));
  if (conf_extra != NULL) {
    FILE *f;

    snprintf(cmd, sizeof cmd, "%s/coordinator.conf", t->data);
    f = fopen(cmd, "a");
    assert_non_null(f);
    assert_true(fputs(conf_extra, f) >= 0);
    assert_int_equal(fclose(f), 0);
  }
  t->http = ck_itest_free_port();
  t->https = ck_itest_free_port();
  t->gw = ck_itest_free_port();
}

void ck_itest_start(ck_itest *t) {
  char a1[64], a2[64], a3[64], logp[1200], cmd[1400];
  pid_t p;

  snprintf(a1, sizeof a1, "127.0.0.1:%d", t->http);
  snprintf(a2, sizeof a2, "127.0.0.1:%d", t->https);
  snprintf(a3, sizeof a3, "127.0.0.1:%d", t->gw);
  snprintf(logp, sizeof logp, "%s/coord.log", t->tmp);
  fflush(NULL);
  p = fork();
  assert_true(p >= 0);
  if (p == 0) {
    int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execl(t->bin, t->bin, "run", "--data-dir", t->data, "--listen-http", a1,
          "--listen-https", a2, "--listen-gateway", a3, (char *)NULL);
    _exit(127);
  }
  t->pid = p;
  /* /healthz: curl retries refused connections and 503 for at most 30 s */
  snprintf(cmd, sizeof cmd,
           "curl -sf --retry 300 --retry-connrefused --retry-delay 0 "
           "--retry-max-time 30 -o /dev/null http://127.0.0.1:%d/healthz",
           t->http);
  free(ck_itest_sh(t, "/healthz", cmd));
}

void ck_itest_stop(ck_itest *t) {
  int st;

  assert_true(t->pid > 0);
  assert_int_equal(kill(t->pid, SIGTERM), 0);
  st = ck_itest_reap(t->pid, CK_ITEST_WAIT_MS);
  t->pid = 0;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    ck_itest_show_log(t);
    fail_msg("coordinator exit: status %d, signal %d",
             WIFEXITED(st) ? WEXITSTATUS(st) : -1,
             WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  }
}

/* Reads chain.pem, writes root.pem (its last certificate) and the pin. */
static void load_chain(ck_itest *t) {
  ck_cert_list l;
  char path[1200], *pem = NULL;
  size_t pem_len = 0, der_len;
  const uint8_t *der;
  uint8_t *buf = NULL;
  const ck_cert *root;

  snprintf(path, sizeof path, "%s/chain.pem", t->tmp);
  assert_int_equal(ck_fs_read_file(path, 1 << 20, &buf, &t->chain_len, NULL),
                   CK_OK);
  t->chain_pem = (char *)buf;
  memset(&l, 0, sizeof l);
  assert_int_equal(ck_cert_list_parse(&l, buf, t->chain_len, NULL), CK_OK);
  assert_int_equal(l.n, 2); /* issuing, root */
  root = l.certs[l.n - 1];
  assert_true(ck_cert_get_info(root)->self_signed);
  memcpy(t->root_pin, ck_cert_get_info(root)->sha256_hex, sizeof t->root_pin);
  der = ck_cert_der(root, &der_len);
  assert_int_equal(ck_pem_encode("CERTIFICATE", der, der_len, &pem, &pem_len),
                   CK_OK);
  snprintf(path, sizeof path, "%s/root.pem", t->tmp);
  assert_int_equal(ck_fs_write_atomic(path, pem, pem_len, 0644, NULL), CK_OK);
  free(pem);
  ck_cert_list_clear(&l);
}

void ck_itest_client_env(ck_itest *t) {
  char cmd[1400];
  uint8_t *tok = NULL;
  size_t tl = 0;

  snprintf(cmd, sizeof cmd,
           "curl -sf --max-time 10 -o '%s/chain.pem' "
           "http://127.0.0.1:%d/ca/chain.pem",
           t->tmp, t->http);
  free(ck_itest_sh(t, "GET /ca/chain.pem", cmd));
  load_chain(t);
  snprintf(cmd, sizeof cmd, "%s/admin.token", t->tmp);
  assert_int_equal(ck_fs_read_file(cmd, 4096, &tok, &tl, NULL), CK_OK);
  while (tl > 0 && (tok[tl - 1] == '\n' || tok[tl - 1] == '\r'))
    tl--;
  tok[tl] = '\0';
  setenv("CERTKEEPER_TOKEN", (char *)tok, 1);
  ck_wipe(tok, tl);
  free(tok);
  snprintf(cmd, sizeof cmd, "https://127.0.0.1:%d", t->https);
  setenv("CERTKEEPER_SERVER", cmd, 1);
  snprintf(cmd, sizeof cmd, "%s/root.pem", t->tmp);
  setenv("CERTKEEPER_CACERT", cmd, 1);
}

char *ck_itest_token(const ck_itest *t, const char *args) {
  char cmd[4096], *out, *tok, *nl, *res;

  snprintf(cmd, sizeof cmd, "'%s' token create %s", t->cli, args);
  out = ck_itest_sh(t, "token create", cmd);
  tok = strstr(out, "cke_");
  if (tok == NULL)
    fail_msg("token create printed no token: %s", out);
  if ((nl = strpbrk(tok, " \r\n")) != NULL)
    *nl = '\0';
  res = strdup(tok);
  assert_non_null(res);
  free(out);
  return res;
}

/* on_fail of the test agent: the logs. */
static void peer_fail(void *arg) { ck_itest_show_log(arg); }

void ck_itest_peer(ck_itest *t, ck_tagent_peer *p) {
  memset(p, 0, sizeof *p);
  p->loop = &t->loop;
  p->port = t->gw;
  p->server_name = "127.0.0.1";
  p->root_pin = t->root_pin;
  p->chain_pem = t->chain_pem;
  p->chain_len = t->chain_len;
  p->wait_ms = CK_ITEST_WAIT_MS;
  p->on_fail = peer_fail;
  p->fail_arg = t;
}
