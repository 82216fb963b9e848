/* test_managed_priv.c — the priv process (agent/run/priv.c) alone, driven
 * through a socketpair by a fake net end: the full inventory arrives, a
 * csr arrives for a managed certificate that has none, the fake answers
 * with a cert from a test CA, the pair is installed and MONITORING is
 * reported; the trust bundle is written; a new file in a watched root
 * arrives as a delta; `command rescan reason=connect` gets an ack and a
 * full inventory; an unknown renew target gets an error; closing the
 * channel stops priv cleanly. */
#include "tests/testutil.h"

#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/manage/target.h"
#include "agent/run/agentconf.h"
#include "agent/run/priv.h"
#include "common/crypto/certgen.h"
#include "common/crypto/crypto.h"
#include "common/util/clock.h"
#include "common/util/fs.h"
#include "common/util/mem.h"
#include "common/wire/wire.h"

#include "tests/unit/manage/priv_fixture.h"

static void write_pem(const char *path, const uint8_t *der, size_t len) {
  char *pem = NULL;
  size_t pl = 0;
  ck_errctx err = CK_ERRCTX_INIT;
  assert_int_equal(ck_pem_encode("CERTIFICATE", der, len, &pem, &pl), CK_OK);
  assert_int_equal(ck_fs_write_atomic(path, pem, pl, 0644, &err), CK_OK);
  free(pem);
}

/* Waits (bounded) until path exists. */
static int wait_file(const char *path) {
  uint64_t deadline = ck_clock_mono_ms() + DEADLINE_MS;
  while (access(path, F_OK) != 0) {
    if (ck_clock_mono_ms() >= deadline)
      return 0;
    poll(NULL, 0, 10);
  }
  return 1;
}

static int inv_has(const ck_wire_msg *m, const char *path) {
  size_t i;
  for (i = 0; i < m->u.inventory.n_findings; i++)
    if (strcmp(m->u.inventory.findings[i].path, path) == 0)
      return 1;
  return 0;
}

/* No install leftover ("*.ck-new", "*.ck-prev", temp files) is a finding. */
static void no_leftovers(const ck_wire_msg *m) {
  size_t i;
  for (i = 0; i < m->u.inventory.n_findings; i++)
    if (strstr(m->u.inventory.findings[i].path, ".ck-") != NULL)
      fail_msg("leftover reported: %s", m->u.inventory.findings[i].path);
}

static void test_priv_renews_and_reports(void **state) {
  char *tmp = ck_test_tmpdir(), *conf = NULL, *cap = NULL, *bundle = NULL;
  char scan[512], srv[512], statedir[512], a_pem[600], b_pem[600],
      cert_file[600], key_file[600], ca_path[600], bundle_path[600],
      ran[600];
  ck_key *ca_key = NULL;
  ck_cert *ca = make_ca(&ca_key);
  ck_agentconf *cfg = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *arena = ck_arena_new(4096);
  ck_wire_msg m, out;
  ck_wire_bytes chain;
  ck_wire_kv kv = {"reason", "connect"};
  runner r;
  int sv[2], have_full = 0, have_csr = 0, monitoring = 0, acked = 0,
      delta = 0, i;
  uint64_t csr_id = 0;
  uint8_t *csr = NULL, *der, fp[32];
  size_t csr_len = 0, len, cl = 0, bl = 0;
  ck_target_files tf;
  struct stat st;
  (void)state;

  snprintf(scan, sizeof scan, "%s/scan", tmp);
  snprintf(srv, sizeof srv, "%s/srv", tmp);
  snprintf(statedir, sizeof statedir, "%s/state", tmp);
  snprintf(a_pem, sizeof a_pem, "%s/a.pem", scan);
  snprintf(b_pem, sizeof b_pem, "%s/b.pem", scan);
  snprintf(cert_file, sizeof cert_file, "%s/web.crt", srv);
  snprintf(key_file, sizeof key_file, "%s/web.key", srv);
  snprintf(ca_path, sizeof ca_path, "%s/ca.pem", statedir);
  snprintf(bundle_path, sizeof bundle_path, "%s/bundle.pem", tmp);
  snprintf(ran, sizeof ran, "%s/trust-command-ran", tmp);
  assert_int_equal(ck_fs_mkdir_p(scan, 0755, &err), CK_OK);
  assert_int_equal(ck_fs_mkdir_p(srv, 0755, &err), CK_OK);
  assert_int_equal(ck_fs_mkdir_p(statedir, 0700, &err), CK_OK);
  der = issue(ca, ca_key, NULL, 0, "a.test", &len);
  write_pem(a_pem, der, len);
  free(der);
  der = (uint8_t *)ck_cert_der(ca, &len);
  write_pem(ca_path, der, len);

  conf = malloc(4096);
  snprintf(conf, 4096,
           "[agent]\nstate_dir = %s\n"
           "[discovery]\nroots = %s\nprobe_endpoints = false\n"
           "[trust]\nbundle = %s\ncommand = touch %s\n"
           "[cert:web]\nprofile = server\nsans = DNS:web.test\n"
           "cert_file = %s\nkey_file = %s\nreload = none\n",
           statedir, scan, bundle_path, ran, cert_file, key_file);
  if (ck_agentconf_load_string("priv-test.conf", conf, &cfg, &err) != CK_OK)
    fail_msg("config: %s", ck_errctx_msg(&err));

  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  r.cfg = cfg;
  r.fd = sv[0];
  r.rc = -1;
  assert_int_equal(pthread_create(&r.th, NULL, run_priv, &r), 0);

  /* a full inventory with a.pem, and a csr for "web" */
  for (i = 0; i < 200 && !(have_full && have_csr); i++) {
    ck_arena_reset(arena);
    read_msg(sv[1], arena, &m);
    if (m.type == CK_WIRE_INVENTORY &&
        m.u.inventory.mode == CK_WIRE_INV_FULL && inv_has(&m, a_pem))
      have_full = 1;
    if (m.type == CK_WIRE_CSR) {
      assert_string_equal(m.u.csr.cert_id, "web");
      assert_string_equal(m.u.csr.profile, "server");
      csr_id = m.id;
      csr_len = m.u.csr.csr.len;
      csr = malloc(csr_len);
      memcpy(csr, m.u.csr.csr.data, csr_len);
      have_csr = 1;
    }
  }
  assert_true(have_full && have_csr);

  /* the coordinator's answer */
  der = issue(ca, ca_key, csr, csr_len, "web.test", &len);
  memset(&out, 0, sizeof out);
  out.type = CK_WIRE_CERT;
  out.id = csr_id;
  out.u.cert.cert.data = der;
  out.u.cert.cert.len = len;
  chain.data = ck_cert_der(ca, &chain.len);
  out.u.cert.chain.v = &chain;
  out.u.cert.chain.n = 1;
  out.u.cert.cert_id = "web";
  send_msg(sv[1], &out);
  for (i = 0; i < 200 && !monitoring; i++) {
    ck_arena_reset(arena);
    read_msg(sv[1], arena, &m);
    if (m.type == CK_WIRE_ACK && m.id == csr_id)
      acked = 1;
    if (m.type == CK_WIRE_EVENT && strcmp(m.u.event.cert_id, "web") == 0 &&
        strcmp(m.u.event.new_state, "MONITORING") == 0)
      monitoring = 1;
  }
  assert_true(monitoring);
  assert_true(acked);
  memset(&tf, 0, sizeof tf);
  tf.cert_file = cert_file;
  tf.key_file = key_file;
  assert_int_equal(ck_target_current(&tf, fp, NULL, NULL, &err), CK_OK);
  {
    uint8_t want[32];
    assert_int_equal(ck_crypto_sha256(der, len, want), CK_OK);
    assert_memory_equal(fp, want, 32);
  }
  free(der);
  assert_int_equal(stat(key_file, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);

  /* the trust bundle holds the coordinator CA */
  {
    uint8_t *c1 = NULL, *c2 = NULL;
    assert_int_equal(ck_fs_read_file(ca_path, 1 << 20, &c1, &cl, &err), CK_OK);
    assert_int_equal(ck_fs_read_file(bundle_path, 1 << 20, &c2, &bl, &err),
                     CK_OK);
    assert_int_equal(cl, bl);
    assert_memory_equal(c1, c2, cl);
    cap = (char *)c1;
    bundle = (char *)c2;
  }

  /* a new file in a watched root arrives as a delta */
  der = issue(ca, ca_key, NULL, 0, "b.test", &len);
  write_pem(b_pem, der, len);
  free(der);
  for (i = 0; i < 200 && !delta; i++) {
    ck_arena_reset(arena);
    read_msg(sv[1], arena, &m);
    if (m.type == CK_WIRE_INVENTORY &&
        m.u.inventory.mode == CK_WIRE_INV_DELTA && inv_has(&m, b_pem))
      delta = 1;
  }
  assert_true(delta);

  /* rescan on connect: ack + full inventory from memory (with b.pem) */
  memset(&out, 0, sizeof out);
  out.type = CK_WIRE_COMMAND;
  out.id = 500;
  out.u.command.action = CK_WIRE_ACT_RESCAN;
  out.u.command.args.v = &kv;
  out.u.command.args.n = 1;
  send_msg(sv[1], &out);
  acked = have_full = 0;
  for (i = 0; i < 200 && !(acked && have_full); i++) {
    ck_arena_reset(arena);
    read_msg(sv[1], arena, &m);
    if (m.type == CK_WIRE_ACK && m.id == 500)
      acked = 1;
    if (m.type == CK_WIRE_INVENTORY &&
        m.u.inventory.mode == CK_WIRE_INV_FULL && inv_has(&m, b_pem)) {
      have_full = 1;
      no_leftovers(&m);
      assert_true(inv_has(&m, a_pem) && inv_has(&m, cert_file));
      print_message("full inventory: %zu findings\n",
                    m.u.inventory.n_findings);
    }
  }
  assert_true(acked && have_full);

  /* renew of an unknown id: an error answering the command */
  memset(&out, 0, sizeof out);
  out.type = CK_WIRE_COMMAND;
  out.id = 501;
  out.u.command.action = CK_WIRE_ACT_RENEW;
  out.u.command.target = "nope";
  send_msg(sv[1], &out);
  read_answer(sv[1], arena, 501, &m);
  assert_int_equal(m.type, CK_WIRE_ERROR);
  assert_int_equal(m.u.error.code, CK_ERR_NOT_FOUND);

  /* replace-before-revoke of a file this agent does not manage: error */
  memset(&out, 0, sizeof out);
  out.type = CK_WIRE_COMMAND;
  out.id = 502;
  out.u.command.action = CK_WIRE_ACT_REPLACE_BEFORE_REVOKE;
  out.u.command.target = b_pem;
  send_msg(sv[1], &out);
  read_answer(sv[1], arena, 502, &m);
  assert_int_equal(m.type, CK_WIRE_ERROR);
  assert_int_equal(m.u.error.code, CK_ERR_NOT_FOUND);

  /* replace-before-revoke of the managed cert_file: ack, then a new csr */
  out.id = 503;
  out.u.command.target = cert_file;
  send_msg(sv[1], &out);
  acked = have_csr = 0;
  for (i = 0; i < 200 && !(acked && have_csr); i++) {
    ck_arena_reset(arena);
    read_msg(sv[1], arena, &m);
    if (m.type == CK_WIRE_ACK && m.id == 503)
      acked = 1;
    assert_false(m.type == CK_WIRE_ERROR && m.id == 503);
    if (m.type == CK_WIRE_CSR && strcmp(m.u.csr.cert_id, "web") == 0)
      have_csr = 1;
  }
  assert_true(acked && have_csr);

  /* the trust command ran after the start-up write; trust-update writes
   * the new bundle and runs it again */
  assert_true(wait_file(ran));
  assert_int_equal(unlink(ran), 0);
  {
    ck_key *k2 = NULL;
    ck_cert *ca2 = make_ca(&k2);
    char *pem = NULL;
    size_t pl = 0;
    uint8_t *got = NULL;
    size_t gl = 0;
    const uint8_t *d2 = ck_cert_der(ca2, &len);
    assert_int_equal(ck_pem_encode("CERTIFICATE", d2, len, &pem, &pl), CK_OK);
    memset(&out, 0, sizeof out);
    out.type = CK_WIRE_COMMAND;
    out.id = 502;
    out.u.command.action = CK_WIRE_ACT_TRUST_UPDATE;
    out.u.command.data.data = (const uint8_t *)pem;
    out.u.command.data.len = pl;
    send_msg(sv[1], &out);
    read_answer(sv[1], arena, 502, &m);
    assert_int_equal(m.type, CK_WIRE_ACK);
    assert_int_equal(ck_fs_read_file(bundle_path, 1 << 20, &got, &gl, &err),
                     CK_OK);
    assert_int_equal(gl, pl);
    assert_memory_equal(got, pem, pl);
    assert_true(wait_file(ran));
    free(got);
    free(pem);
    ck_cert_free(ca2);
    ck_key_free(k2);
    /* garbage is refused */
    out.id = 503;
    out.u.command.data.data = (const uint8_t *)"not a pem";
    out.u.command.data.len = 9;
    send_msg(sv[1], &out);
    read_answer(sv[1], arena, 503, &m);
    assert_int_equal(m.type, CK_WIRE_ERROR);
  }

  /* net goes away: priv stops cleanly */
  close(sv[1]);
  assert_int_equal(pthread_join(r.th, NULL), 0);
  assert_int_equal(r.rc, 0);

  free(cap);
  free(bundle);
  free(csr);
  free(conf);
  ck_arena_free(arena);
  ck_agentconf_free(cfg);
  ck_cert_free(ca);
  ck_key_free(ca_key);
  ck_test_rmtree(tmp);
  free(tmp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_priv_renews_and_reports),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
