/* test_assign_priv.c — coordinator-assigned managed certificates
 * (agent/run/assign.h) through the priv process (agent/run/priv.c), driven
 * by a fake net end on a socketpair: garbage and a snippet colliding with
 * the local configuration are refused with an error and write nothing; a
 * valid snippet is acked, stored as state_dir/assigned.conf (0600), and a
 * csr arrives for the new certificate, whose answer gets it installed; a
 * snippet without it removes it (files kept), also while its key is
 * being generated; a restart picks
 * assigned.conf up again. */
#include "tests/testutil.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/run/agentconf.h"
#include "agent/run/assign.h"
#include "agent/run/priv.h"
#include "common/crypto/certgen.h"
#include "common/crypto/crypto.h"
#include "common/util/clock.h"
#include "common/util/fs.h"
#include "common/util/mem.h"
#include "common/wire/wire.h"

#include "tests/unit/manage/priv_fixture.h"


/* Sends `command config` with text as data (NULL: none) under id. */
static void send_config(int fd, uint64_t id, const char *text) {
  ck_wire_msg out;

  memset(&out, 0, sizeof out);
  out.type = CK_WIRE_COMMAND;
  out.id = id;
  out.u.command.action = CK_WIRE_ACT_CONFIG;
  if (text != NULL) {
    out.u.command.data.data = (const uint8_t *)text;
    out.u.command.data.len = strlen(text);
  }
  send_msg(fd, &out);
}

static void send_renew(int fd, uint64_t id, const char *target) {
  ck_wire_msg out;

  memset(&out, 0, sizeof out);
  out.type = CK_WIRE_COMMAND;
  out.id = id;
  out.u.command.action = CK_WIRE_ACT_RENEW;
  out.u.command.target = target;
  send_msg(fd, &out);
}

/* Reads frames until a csr for cert_id; its id and DER are kept. */
static void wait_csr(int fd, ck_arena *arena, const char *cert_id,
                     uint64_t *id, uint8_t **der, size_t *len) {
  ck_wire_msg m;
  int i;

  for (i = 0; i < 200; i++) {
    ck_arena_reset(arena);
    read_msg(fd, arena, &m);
    if (m.type == CK_WIRE_CSR && strcmp(m.u.csr.cert_id, cert_id) == 0) {
      if (id != NULL)
        *id = m.id;
      if (der != NULL) {
        *len = m.u.csr.csr.len;
        *der = malloc(*len);
        assert_non_null(*der);
        memcpy(*der, m.u.csr.csr.data, *len);
      }
      return;
    }
  }
  fail_msg("no csr for %s within 200 frames", cert_id);
}

static void start(runner *r, const ck_agentconf *cfg, int sv[2]) {
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  r->cfg = cfg;
  r->fd = sv[0];
  r->rc = -1;
  assert_int_equal(pthread_create(&r->th, NULL, run_priv, r), 0);
}

static void stop(runner *r, int sv[2]) {
  close(sv[1]);
  assert_int_equal(pthread_join(r->th, NULL), 0);
  assert_int_equal(r->rc, 0);
}

static void test_assign_through_priv(void **state) {
  char *tmp = ck_test_tmpdir(), conf[4096], snippet[2048], clash[2048];
  char scan[512], srv[512], statedir[512], assigned[600], web_crt[600],
      web_key[600], api_crt[600], api_key[600];
  ck_key *ca_key = NULL;
  ck_cert *ca = make_ca(&ca_key);
  ck_agentconf *cfg = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *arena = ck_arena_new(4096);
  ck_wire_msg m, out;
  ck_wire_bytes chain;
  runner r;
  int sv[2], i, monitoring = 0, acked = 0;
  uint64_t csr_id = 0;
  uint8_t *csr = NULL, *der, *got = NULL;
  size_t csr_len = 0, len, gl = 0;
  struct stat st;
  (void)state;

  snprintf(scan, sizeof scan, "%s/scan", tmp);
  snprintf(srv, sizeof srv, "%s/srv", tmp);
  snprintf(statedir, sizeof statedir, "%s/state", tmp);
  snprintf(assigned, sizeof assigned, "%s/assigned.conf", statedir);
  snprintf(web_crt, sizeof web_crt, "%s/web.crt", srv);
  snprintf(web_key, sizeof web_key, "%s/web.key", srv);
  snprintf(api_crt, sizeof api_crt, "%s/api.crt", srv);
  snprintf(api_key, sizeof api_key, "%s/api.key", srv);
  assert_int_equal(ck_fs_mkdir_p(scan, 0755, &err), CK_OK);
  assert_int_equal(ck_fs_mkdir_p(srv, 0755, &err), CK_OK);
  assert_int_equal(ck_fs_mkdir_p(statedir, 0700, &err), CK_OK);
  der = (uint8_t *)ck_cert_der(ca, &len);
  {
    char *pem = NULL;
    size_t pl = 0;
    char ca_path[600];
    snprintf(ca_path, sizeof ca_path, "%s/ca.pem", statedir);
    assert_int_equal(ck_pem_encode("CERTIFICATE", der, len, &pem, &pl),
                     CK_OK);
    assert_int_equal(ck_fs_write_atomic(ca_path, pem, pl, 0644, &err),
                     CK_OK);
    free(pem);
  }
  snprintf(conf, sizeof conf,
           "[agent]\nstate_dir = %s\n"
           "[discovery]\nroots = %s\nprobe_endpoints = false\n"
           "[cert:web]\nprofile = server\nsans = DNS:web.test\n"
           "cert_file = %s\nkey_file = %s\n",
           statedir, scan, web_crt, web_key);
  if (ck_agentconf_load_string("assign-test.conf", conf, &cfg, &err) != CK_OK)
    fail_msg("config: %s", ck_errctx_msg(&err));
  snprintf(snippet, sizeof snippet,
           "# assigned by the coordinator\n"
           "[cert:api]\nprofile = server\nsans = DNS:api.test\n"
           "cert_file = %s\nkey_file = %s\n",
           api_crt, api_key);

  start(&r, cfg, sv);
  wait_csr(sv[1], arena, "web", NULL, NULL, NULL); /* priv is up */

  /* garbage: error with file:line, nothing written */
  send_config(sv[1], 600, "this is not ini\n");
  read_answer(sv[1], arena, 600, &m);
  assert_int_equal(m.type, CK_WIRE_ERROR);
  assert_int_equal(m.u.error.code, CK_ERR_CONFIG);
  print_message("garbage: %s\n", m.u.error.message);
  assert_non_null(strstr(m.u.error.message, "assigned.conf:1"));
  assert_int_not_equal(access(assigned, F_OK), 0);
  /* an invalid section (no sans): the agentconf message */
  send_config(sv[1], 601,
              "[cert:x]\nprofile = server\ncert_file = /a\nkey_file = /b\n");
  read_answer(sv[1], arena, 601, &m);
  assert_int_equal(m.type, CK_WIRE_ERROR);
  assert_non_null(strstr(m.u.error.message, "sans: required"));
  /* other sections are not for the coordinator to set */
  send_config(sv[1], 602, "[agent]\nuser = nobody\n");
  read_answer(sv[1], arena, 602, &m);
  assert_int_equal(m.type, CK_WIRE_ERROR);
  assert_non_null(strstr(m.u.error.message, "unknown section"));
  /* an id the local configuration declares: refused, local wins */
  snprintf(clash, sizeof clash,
           "[cert:web]\nprofile = server\nsans = DNS:web.test\n"
           "cert_file = %s/other.crt\nkey_file = %s/other.key\n",
           srv, srv);
  send_config(sv[1], 603, clash);
  read_answer(sv[1], arena, 603, &m);
  assert_int_equal(m.type, CK_WIRE_ERROR);
  assert_int_equal(m.u.error.code, CK_ERR_EXIST);
  print_message("clash: %s\n", m.u.error.message);
  assert_non_null(strstr(m.u.error.message, "local configuration"));
  /* the files of a local certificate: refused too */
  snprintf(clash, sizeof clash,
           "[cert:web2]\nprofile = server\nsans = DNS:web.test\n"
           "cert_file = %s\nkey_file = %s/other.key\n",
           web_crt, srv);
  send_config(sv[1], 604, clash);
  read_answer(sv[1], arena, 604, &m);
  assert_int_equal(m.type, CK_WIRE_ERROR);
  assert_int_equal(m.u.error.code, CK_ERR_EXIST);
  /* no data */
  send_config(sv[1], 605, NULL);
  read_answer(sv[1], arena, 605, &m);
  assert_int_equal(m.type, CK_WIRE_ERROR);
  assert_int_equal(m.u.error.code, CK_ERR_INVAL);
  assert_int_not_equal(access(assigned, F_OK), 0);

  /* a valid snippet: ack, assigned.conf 0600, a csr for api */
  send_config(sv[1], 610, snippet);
  acked = 0;
  for (i = 0; i < 200 && !(acked && csr != NULL); i++) {
    ck_arena_reset(arena);
    read_msg(sv[1], arena, &m);
    if (m.id == 610) {
      if (m.type != CK_WIRE_ACK)
        fail_msg("config refused: %s", m.u.error.message);
      print_message("ack: %s\n", m.u.ack.detail);
      assert_non_null(strstr(m.u.ack.detail, "added api"));
      acked = 1;
    }
    if (m.type == CK_WIRE_CSR && strcmp(m.u.csr.cert_id, "api") == 0) {
      csr_id = m.id;
      csr_len = m.u.csr.csr.len;
      csr = malloc(csr_len);
      memcpy(csr, m.u.csr.csr.data, csr_len);
    }
  }
  assert_true(acked && csr != NULL);
  assert_int_equal(stat(assigned, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(ck_fs_read_file(assigned, 1 << 20, &got, &gl, &err),
                   CK_OK);
  assert_int_equal(gl, strlen(snippet));
  assert_memory_equal(got, snippet, gl);
  free(got);

  /* the coordinator answers: installed, MONITORING */
  der = issue(ca, ca_key, csr, csr_len, "api.test", &len);
  memset(&out, 0, sizeof out);
  out.type = CK_WIRE_CERT;
  out.id = csr_id;
  out.u.cert.cert.data = der;
  out.u.cert.cert.len = len;
  chain.data = ck_cert_der(ca, &chain.len);
  out.u.cert.chain.v = &chain;
  out.u.cert.chain.n = 1;
  out.u.cert.cert_id = "api";
  send_msg(sv[1], &out);
  for (i = 0; i < 200 && !monitoring; i++) {
    ck_arena_reset(arena);
    read_msg(sv[1], arena, &m);
    if (m.type == CK_WIRE_EVENT && strcmp(m.u.event.cert_id, "api") == 0 &&
        strcmp(m.u.event.new_state, "MONITORING") == 0)
      monitoring = 1;
  }
  assert_true(monitoring);
  free(der);
  assert_int_equal(access(api_crt, F_OK), 0);

  /* the same snippet again: unchanged, nothing restarts */
  send_config(sv[1], 620, snippet);
  read_answer(sv[1], arena, 620, &m);
  assert_int_equal(m.type, CK_WIRE_ACK);
  assert_non_null(strstr(m.u.ack.detail, "unchanged api"));

  /* a comment only: api is no longer managed, its files stay */
  send_config(sv[1], 630, "# nothing assigned\n");
  read_answer(sv[1], arena, 630, &m);
  assert_int_equal(m.type, CK_WIRE_ACK);
  assert_non_null(strstr(m.u.ack.detail, "removed api"));
  send_renew(sv[1], 631, "api");
  read_answer(sv[1], arena, 631, &m);
  assert_int_equal(m.type, CK_WIRE_ERROR);
  assert_int_equal(m.u.error.code, CK_ERR_NOT_FOUND);
  assert_int_equal(access(api_crt, F_OK), 0);
  assert_int_equal(access(api_key, F_OK), 0);

  /* assigned again: resumes MONITORING from its persisted state */
  send_config(sv[1], 640, snippet);
  read_answer(sv[1], arena, 640, &m);
  assert_int_equal(m.type, CK_WIRE_ACK);

  /* removed while its key is generated on the thread pool (rsa-4096 is
   * slow): the result is dropped, nothing leaks or runs on freed memory */
  {
    char two[4096];
    snprintf(two, sizeof two,
             "%s[cert:slow]\nprofile = server\nsans = DNS:slow.test\n"
             "key = rsa-4096\ncert_file = %s/slow.crt\n"
             "key_file = %s/slow.key\n",
             snippet, srv, srv);
    send_config(sv[1], 645, two);
    read_answer(sv[1], arena, 645, &m);
    assert_int_equal(m.type, CK_WIRE_ACK);
    assert_non_null(strstr(m.u.ack.detail, "added slow"));
    send_config(sv[1], 646, snippet);
    read_answer(sv[1], arena, 646, &m);
    assert_int_equal(m.type, CK_WIRE_ACK);
    print_message("ack: %s\n", m.u.ack.detail);
    assert_non_null(strstr(m.u.ack.detail, "removed slow"));
    assert_non_null(strstr(m.u.ack.detail, "unchanged api"));
  }
  stop(&r, sv);

  /* restart: assigned.conf is read, api is managed (renew is accepted
   * and sends a csr) */
  start(&r, cfg, sv);
  send_renew(sv[1], 650, "api");
  acked = 0;
  for (i = 0; i < 200 && !acked; i++) {
    ck_arena_reset(arena);
    read_msg(sv[1], arena, &m);
    if (m.id == 650) {
      if (m.type != CK_WIRE_ACK)
        fail_msg("renew api after restart: %s", m.u.error.message);
      acked = 1;
    }
  }
  assert_true(acked);
  wait_csr(sv[1], arena, "api", NULL, NULL, NULL);
  stop(&r, sv);

  free(csr);
  ck_arena_free(arena);
  ck_agentconf_free(cfg);
  ck_cert_free(ca);
  ck_key_free(ca_key);
  ck_test_rmtree(tmp);
  free(tmp);
}

/* The loader alone: the start-up file and ck_assign_load. */
static void test_assign_load(void **state) {
  static const char good[] = "[cert:a]\nprofile = p\nsans = IP:10.0.0.1\n"
                             "cert_file = /x.crt\nkey_file = /x.key\n";
  char *tmp = ck_test_tmpdir(), path[600];
  ck_agentconf *ac = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  (void)state;

  assert_int_equal(ck_assign_load(tmp, &ac, &err), CK_OK);
  assert_null(ac);
  snprintf(path, sizeof path, "%s/assigned.conf", tmp);
  assert_int_equal(ck_fs_write_atomic(path, good, strlen(good), 0600, &err),
                   CK_OK);
  assert_int_equal(ck_assign_load(tmp, &ac, &err), CK_OK);
  assert_non_null(ac);
  assert_int_equal(ac->n_certs, 1);
  assert_string_equal(ac->certs[0].id, "a");
  ck_agentconf_free(ac);
  ac = NULL;
  assert_int_equal(ck_fs_write_atomic(path, "[cert:a]\nkey = dsa\n", 19,
                                      0600, &err),
                   CK_OK);
  assert_int_equal(ck_assign_load(tmp, &ac, &err), CK_ERR_CONFIG);
  assert_null(ac);
  print_message("bad file: %s\n", ck_errctx_msg(&err));
  ck_test_rmtree(tmp);
  free(tmp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_assign_load),
      cmocka_unit_test(test_assign_through_priv),
  };
  signal(SIGPIPE, SIG_IGN); /* closing the fake net end mid-write */
  return cmocka_run_group_tests(tests, NULL, NULL);
}
