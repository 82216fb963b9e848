/* test_managed.c — the managed-certificate state machine (agent/manage/
 * managed.h) as transcripts: each scenario runs the machine with a fake
 * coordinator (its send answers a csr with cert, pending, error or nothing,
 * issuing from a test CA), the real install/reload phases on a temporary
 * directory, and a fake clock; every event becomes one transcript line,
 * compared with tests/data/manage/<scenario>.txt. Also: the files really
 * installed, the persisted state file, backoff and jitter bounds, restarts
 * from each persisted state, and a renewal "in 2029" (CK_FAKE_TIME).
 * CK_TEST_RECORD=1 rewrites the expected transcripts from the run: review
 * the diff before keeping it. */
#include "tests/testutil.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/manage/deploy.h"
#include "agent/manage/managed.h"
#include "agent/manage/mstate.h"
#include "agent/manage/target.h"
#include "common/crypto/certgen.h"
#include "common/crypto/crypto.h"
#include "common/util/clock.h"
#include "common/util/fs.h"

#define T0 1893456000LL /* 2030-01-01: the fake clock's start */
#define DAY 86400LL

/* The harness: one loop, one set with one certificate "web". */
typedef struct h {
  uv_loop_t loop;
  ck_managed_set *ms;
  char *tmp, state_dir[512], cert_file[512], key_file[512], chain_file[512];
  char reload[700], flag[512];
  const char *verify;
  int64_t now; /* fake clock, seconds */
  char tr[8192]; /* transcript */
  const char *answers; /* one char per csr: c cert, p pending, e error, n none */
  size_t n_answered;
  uint64_t next_id;
  int64_t renew_at; /* sent with certs when > 0 */
  uint8_t *csr; /* last csr */
  size_t csr_len;
  uint64_t csr_id;
  char answer;
  uv_timer_t answer_timer;
  int64_t life; /* lifetime of issued certificates */
  ck_cert *ca;
  ck_key *ca_key;
  ck_certgen_issuer *iss;
  int send_roots; /* certs carry `roots` = the CA */
  const char *wait_state; /* flag set when an event enters this state */
  int hit;
} h;

static h H;

static int64_t fake_clock(void *arg) {
  (void)arg;
  return H.now * 1000;
}

static void tr_add(const char *line) {
  size_t n = strlen(H.tr);
  snprintf(H.tr + n, sizeof H.tr - n, "%s\n", line);
}

/* Issues a certificate for the DER CSR (or, csr NULL, for a fresh key). */
static void issue(const uint8_t *csr_der, size_t len, uint8_t **der,
                  size_t *der_len) {
  ck_csr *csr = NULL;
  ck_key *other = NULL;
  ck_certgen_tmpl t;
  uint8_t serial[CK_CERTGEN_SERIAL_LEN];
  ck_san san = {CK_SAN_DNS, "web.test"};
  ck_name_attr cn = {"CN", "web.test"};
  ck_key_spec ks = {CK_KEY_EC, 256};
  ck_errctx err = CK_ERRCTX_INIT;
  const char *eku[] = {"serverAuth"};

  memset(&t, 0, sizeof t);
  if (csr_der != NULL) {
    assert_int_equal(ck_csr_parse(csr_der, len, &csr, &err), CK_OK);
    t.csr = csr;
  } else {
    assert_int_equal(ck_key_generate(&ks, &other, &err), CK_OK);
    t.pubkey = other;
  }
  assert_int_equal(ck_certgen_random_serial(serial), CK_OK);
  t.serial = serial;
  t.serial_len = sizeof serial;
  t.subject = &cn;
  t.n_subject = 1;
  t.sans = &san;
  t.n_sans = 1;
  t.not_before = H.now - 60;
  t.not_after = H.now + H.life;
  t.key_usage = CK_KU_DIGITAL_SIGNATURE;
  t.eku = eku;
  t.n_eku = 1;
  assert_int_equal(ck_certgen_issue_der(H.iss, &t, der, der_len, &err), CK_OK);
  ck_csr_free(csr);
  ck_key_free(other);
}

static void send_cert(uint64_t id, const char *cert_id, const uint8_t *csr,
                      size_t csr_len) {
  ck_wire_msg m;
  ck_wire_bytes chain;
  uint8_t *der = NULL;
  size_t der_len = 0;

  issue(csr, csr_len, &der, &der_len);
  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_CERT;
  m.id = id;
  m.u.cert.cert.data = der;
  m.u.cert.cert.len = der_len;
  chain.data = ck_cert_der(H.ca, &chain.len);
  m.u.cert.chain.v = &chain;
  m.u.cert.chain.n = 1;
  m.u.cert.cert_id = cert_id;
  m.u.cert.renew_at = H.renew_at;
  m.u.cert.has_renew_at = H.renew_at > 0;
  if (H.send_roots) { /* an upstream CA's anchor: here our test CA */
    m.u.cert.roots.v = &chain;
    m.u.cert.roots.n = 1;
  }
  assert_int_equal(ck_managed_on_msg(H.ms, &m), 1);
  free(der);
}

/* The fake coordinator answers on the next loop turn, never from inside
 * the machine's send. */
static void answer_cb(uv_timer_t *t) {
  ck_wire_msg m;
  (void)t;
  memset(&m, 0, sizeof m);
  m.id = H.csr_id;
  switch (H.answer) {
  case 'c':
    send_cert(H.csr_id, NULL, H.csr, H.csr_len);
    break;
  case 'p':
    m.type = CK_WIRE_PENDING;
    m.u.pending.reason = "approval";
    m.u.pending.ticket = "T-17";
    m.u.pending.retry_after = 300;
    assert_int_equal(ck_managed_on_msg(H.ms, &m), 1);
    break;
  case 'd':
    m.type = CK_WIRE_ERROR;
    m.u.error.code = CK_ERR_DENIED;
    m.u.error.message = "request rq-1 was rejected";
    assert_int_equal(ck_managed_on_msg(H.ms, &m), 1);
    break;
  case 'e':
    m.type = CK_WIRE_ERROR;
    m.u.error.code = CK_ERR_AGAIN;
    m.u.error.message = "CA busy";
    assert_int_equal(ck_managed_on_msg(H.ms, &m), 1);
    break;
  default:
    break;
  }
}

static ck_err fake_send(ck_wire_msg *m, void *arg) {
  char line[256];
  (void)arg;
  if (m->id == 0)
    m->id = ++H.next_id;
  if (m->type == CK_WIRE_EVENT) {
    const ck_wire_event *e = &m->u.event;
    if (e->kind == CK_WIRE_EVENT_FAILURE)
      snprintf(line, sizeof line, "failure %s -> %s %s attempt=%u",
               e->old_state, e->new_state, ck_err_name((ck_err)e->code),
               e->attempt);
    else
      snprintf(line, sizeof line, "%s -> %s", e->old_state, e->new_state);
    tr_add(line);
    if (H.wait_state != NULL && strcmp(e->new_state, H.wait_state) == 0) {
      H.hit = 1;
      uv_stop(&H.loop); /* a timer callback set it: don't poll on */
    }
  } else if (m->type == CK_WIRE_CSR) {
    snprintf(line, sizeof line, "csr reason=%s replaces=%s",
             m->u.csr.reason, m->u.csr.replaces.data != NULL ? "yes" : "no");
    tr_add(line);
    free(H.csr);
    H.csr = malloc(m->u.csr.csr.len);
    memcpy(H.csr, m->u.csr.csr.data, m->u.csr.csr.len);
    H.csr_len = m->u.csr.csr.len;
    H.csr_id = m->id;
    H.answer = H.answers != NULL && H.answers[H.n_answered] != '\0'
                   ? H.answers[H.n_answered++]
                   : 'n';
    uv_timer_start(&H.answer_timer, answer_cb, 0, 0);
  } else if (m->type == CK_WIRE_ACK) {
    tr_add("ack cert");
  }
  return CK_OK;
}

static void conf(ck_managed_conf *c) {
  static const char *sans[] = {"DNS:web.test"};
  memset(c, 0, sizeof *c);
  c->id = "web";
  c->profile = "server";
  c->sans = sans;
  c->n_sans = 1;
  c->cn = "web.test";
  c->cert_file = H.cert_file;
  c->key_file = H.key_file;
  c->chain_file = H.chain_file;
  c->reload = H.reload;
  c->reload_timeout = 10;
  c->verify = H.verify;
  c->verify_timeout = 1;
  c->jitter = -1; /* deterministic unless a test sets it */
}

static void open_set(void) {
  ck_managed_ops ops = {fake_send, NULL};
  ck_managed_conf c;
  ck_errctx err = CK_ERRCTX_INIT;

  assert_int_equal(ck_managed_set_new(&H.loop, H.state_dir, &ops, NULL,
                                      &H.ms, &err),
                   CK_OK);
  conf(&c);
  if (ck_managed_add(H.ms, &c, &err) != CK_OK)
    fail_msg("add: %s", ck_errctx_msg(&err));
}

static void close_set(void) {
  ck_managed_set_close(H.ms);
  H.ms = NULL;
  uv_timer_stop(&H.answer_timer);
  uv_run(&H.loop, UV_RUN_DEFAULT); /* until the set's timers are closed */
}

/* Runs until an event enters state (bounded). */
static void run_until(const char *state) {
  H.hit = 0;
  H.wait_state = state;
  ck_test_run_until(&H.loop, &H.hit, 20000);
  H.wait_state = NULL;
  /* let work finish that the event's step started (none expected) */
  uv_run(&H.loop, UV_RUN_NOWAIT);
}

static void expect_transcript(const char *name) {
  char rel[128];
  size_t len = 0;
  char *want;

  snprintf(rel, sizeof rel, "manage/%s.txt", name);
  if (getenv("CK_TEST_RECORD") != NULL) { /* regenerate, then review */
    FILE *fp = fopen(ck_test_data(rel), "w");
    assert_non_null(fp);
    fputs(H.tr, fp);
    fclose(fp);
  }
  want = ck_test_slurp(rel, &len);
  if (strcmp(want, H.tr) != 0) {
    print_message("--- expected %s\n%s--- got\n%s---\n", rel, want, H.tr);
    fail_msg("transcript %s differs", name);
  }
  free(want);
  H.tr[0] = '\0';
}

static int setup(void **state) {
  ck_key_spec ks = {CK_KEY_EC, 256};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_certgen_tmpl t;
  ck_name_attr cn = {"CN", "Test CA"};
  uint8_t serial[CK_CERTGEN_SERIAL_LEN];
  char path[600], *pem = NULL;
  size_t pem_len = 0;
  const uint8_t *der;
  size_t der_len;
  FILE *fp;

  (void)state;
  memset(&H, 0, sizeof H);
  H.now = T0;
  H.life = 90 * DAY;
  ck_clock_set_source(fake_clock, NULL);
  assert_int_equal(uv_loop_init(&H.loop), 0);
  uv_timer_init(&H.loop, &H.answer_timer);
  H.tmp = ck_test_tmpdir();
  snprintf(H.state_dir, sizeof H.state_dir, "%s/state", H.tmp);
  snprintf(H.cert_file, sizeof H.cert_file, "%s/web.crt", H.tmp);
  snprintf(H.key_file, sizeof H.key_file, "%s/web.key", H.tmp);
  snprintf(H.chain_file, sizeof H.chain_file, "%s/chain.pem", H.tmp);
  snprintf(H.flag, sizeof H.flag, "%s/fail-reload", H.tmp);
  /* reload: fails once when the flag file exists */
  snprintf(path, sizeof path, "%s/reload.sh", H.tmp);
  fp = fopen(path, "w");
  assert_non_null(fp);
  fprintf(fp, "#!/bin/sh\nif [ -e %s ]; then rm -f %s; echo boom >&2; "
              "exit 3; fi\nexit 0\n", H.flag, H.flag);
  fclose(fp);
  chmod(path, 0755);
  snprintf(H.reload, sizeof H.reload, "command:%s", path);
  assert_int_equal(ck_fs_mkdir_p(H.state_dir, 0700, &err), CK_OK);

  memset(&t, 0, sizeof t);
  assert_int_equal(ck_key_generate(&ks, &H.ca_key, &err), CK_OK);
  assert_int_equal(ck_certgen_random_serial(serial), CK_OK);
  t.serial = serial;
  t.serial_len = sizeof serial;
  t.subject = &cn;
  t.n_subject = 1;
  t.not_before = T0 - 1200 * DAY; /* valid in 2029 too */
  t.not_after = T0 + 3650 * DAY;
  t.is_ca = 1;
  t.path_len = -1;
  t.key_usage = CK_KU_KEY_CERT_SIGN | CK_KU_CRL_SIGN;
  assert_int_equal(ck_certgen_sign(&t, NULL, H.ca_key, &H.ca, &err), CK_OK);
  assert_int_equal(ck_certgen_issuer_new(H.ca, H.ca_key, &H.iss, &err), CK_OK);
  der = ck_cert_der(H.ca, &der_len);
  assert_int_equal(ck_pem_encode("CERTIFICATE", der, der_len, &pem, &pem_len),
                   CK_OK);
  snprintf(path, sizeof path, "%s/ca.pem", H.state_dir);
  assert_int_equal(ck_fs_write_atomic(path, pem, pem_len, 0644, &err), CK_OK);
  free(pem);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  if (H.ms != NULL)
    close_set();
  uv_close((uv_handle_t *)&H.answer_timer, NULL);
  uv_run(&H.loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&H.loop), 0);
  ck_certgen_issuer_free(H.iss);
  ck_cert_free(H.ca);
  ck_key_free(H.ca_key);
  free(H.csr);
  ck_test_rmtree(H.tmp);
  free(H.tmp);
  ck_clock_set_source(NULL, NULL);
  return 0;
}

static void installed_fp(uint8_t fp[32]) {
  ck_target_files t;
  ck_errctx err = CK_ERRCTX_INIT;
  memset(&t, 0, sizeof t);
  t.cert_file = H.cert_file;
  t.key_file = H.key_file;
  assert_int_equal(ck_target_current(&t, fp, NULL, NULL, &err), CK_OK);
}

static void load_state(ck_mstate *ms) {
  char path[600];
  ck_errctx err = CK_ERRCTX_INIT;
  snprintf(path, sizeof path, "%s/managed/web/state", H.state_dir);
  if (ck_mstate_load(path, ms, &err) != CK_OK)
    fail_msg("state: %s", ck_errctx_msg(&err));
}

static int next_exists(const char *name) {
  char path[600];
  snprintf(path, sizeof path, "%s/managed/web/%s", H.state_dir, name);
  return access(path, F_OK) == 0;
}

/* Renews with no certificate installed: the whole happy path, files in
 * place, state persisted; then a `command renew` replaces it. */
static void test_happy_path(void **state) {
  struct stat st;
  uint8_t fp[32], fp2[32];
  ck_mstate ms;
  int64_t next_at = 0;
  ck_errctx err = CK_ERRCTX_INIT;
  (void)state;

  H.answers = "cc";
  open_set();
  ck_managed_set_start(H.ms);
  run_until("MONITORING");
  expect_transcript("happy");
  installed_fp(fp);
  assert_int_equal(stat(H.key_file, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(stat(H.chain_file, &st), 0);
  assert_false(next_exists("next.key"));
  assert_false(next_exists("next.crt"));
  load_state(&ms);
  assert_string_equal(ms.state, "MONITORING");
  assert_true(ms.has_fingerprint);
  assert_memory_equal(ms.fingerprint, fp, 32);
  assert_int_equal(ms.attempt, 0);
  /* 90-day certificate, renew at 2/3 of its life (no jitter) */
  assert_int_equal(ck_managed_get(H.ms, "web", &next_at), CK_MS_MONITORING);
  assert_int_equal(next_at, ms.not_after - (int64_t)((90 * DAY + 60) / 3.0));

  /* the coordinator's renew_at wins over the computed time */
  H.renew_at = H.now + 10 * DAY;
  assert_int_equal(ck_managed_renew(H.ms, "web", &err), CK_OK);
  run_until("MONITORING");
  expect_transcript("renew_command");
  installed_fp(fp2);
  assert_memory_not_equal(fp, fp2, 32);
  assert_int_equal(ck_managed_get(H.ms, "web", &next_at), CK_MS_MONITORING);
  assert_int_equal(next_at, H.renew_at);
  load_state(&ms);
  assert_int_equal(ms.next_renewal, H.renew_at);
  assert_int_equal(ck_managed_renew(H.ms, "nope", &err), CK_ERR_NOT_FOUND);
}

/* pending: waits until retry_after (persisted), then sends the SAME CSR
 * again (same bytes: the coordinator finds its open request by them) and
 * stays PENDING_APPROVAL; `command renew` asks again at once; a cert for
 * another key with the same cert_id is ignored; the approved cert
 * (unsolicited, new id) is installed. */
static void test_pending_then_cert(void **state) {
  int64_t next_at, t_pending;
  uint8_t *first = NULL;
  size_t first_len;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_mstate ms;
  (void)state;

  H.answers = "ppp";
  open_set();
  ck_managed_set_start(H.ms);
  run_until("PENDING_APPROVAL");
  t_pending = H.now;
  load_state(&ms);
  assert_string_equal(ms.state, "PENDING_APPROVAL");
  assert_string_equal(ms.ticket, "T-17");
  /* retry_after 300 plus at most 10% jitter, persisted */
  assert_true(ms.next_renewal >= t_pending + 300 &&
              ms.next_renewal <= t_pending + 330);
  first_len = H.csr_len;
  first = malloc(first_len);
  assert_non_null(first);
  memcpy(first, H.csr, first_len);
  /* before retry_after: no resubmission */
  H.now = ms.next_renewal - 1;
  ck_managed_set_recheck(H.ms);
  uv_run(&H.loop, UV_RUN_NOWAIT);
  assert_int_equal(H.n_answered, 1);
  /* at retry_after: the same CSR again, still pending */
  H.now = ms.next_renewal;
  ck_managed_set_recheck(H.ms);
  uv_run(&H.loop, UV_RUN_NOWAIT);
  uv_run(&H.loop, UV_RUN_NOWAIT);
  assert_int_equal(H.n_answered, 2);
  assert_int_equal(H.csr_len, first_len);
  assert_memory_equal(H.csr, first, first_len);
  assert_int_equal(ck_managed_get(H.ms, "web", &next_at),
                   CK_MS_PENDING_APPROVAL);
  assert_true(next_at >= H.now + 300);
  /* `command renew` while pending: ask again now, same CSR */
  assert_int_equal(ck_managed_renew(H.ms, "web", &err), CK_OK);
  uv_run(&H.loop, UV_RUN_NOWAIT);
  uv_run(&H.loop, UV_RUN_NOWAIT);
  assert_int_equal(H.n_answered, 3);
  assert_memory_equal(H.csr, first, first_len);
  assert_int_equal(ck_managed_get(H.ms, "web", NULL), CK_MS_PENDING_APPROVAL);
  send_cert(9001, "web", NULL, 0); /* another key: ignored */
  assert_int_equal(ck_managed_get(H.ms, "web", NULL), CK_MS_PENDING_APPROVAL);
  send_cert(9002, "web", H.csr, H.csr_len);
  run_until("MONITORING");
  expect_transcript("pending");
  free(first);
}

/* A chain that does not verify against the pinned CA (ca.pem replaced by
 * another CA): refused, discarded, asked for again no sooner than an hour
 * later; the same chain with `roots` naming its CA is installed, and the
 * delivered anchors are gone afterwards. */
static void test_upstream_roots(void **state) {
  ck_key_spec ks = {CK_KEY_EC, 256};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_certgen_tmpl t;
  ck_name_attr cn = {"CN", "Pinned CA"};
  uint8_t serial[CK_CERTGEN_SERIAL_LEN];
  ck_key *k = NULL;
  ck_cert *pinned = NULL;
  char path[600], *pem = NULL;
  size_t pem_len = 0, der_len;
  const uint8_t *der;
  int64_t t_fail;
  ck_mstate ms;
  (void)state;

  memset(&t, 0, sizeof t);
  assert_int_equal(ck_key_generate(&ks, &k, &err), CK_OK);
  assert_int_equal(ck_certgen_random_serial(serial), CK_OK);
  t.serial = serial;
  t.serial_len = sizeof serial;
  t.subject = &cn;
  t.n_subject = 1;
  t.not_before = T0 - DAY;
  t.not_after = T0 + 3650 * DAY;
  t.is_ca = 1;
  t.path_len = -1;
  t.key_usage = CK_KU_KEY_CERT_SIGN | CK_KU_CRL_SIGN;
  assert_int_equal(ck_certgen_sign(&t, NULL, k, &pinned, &err), CK_OK);
  der = ck_cert_der(pinned, &der_len);
  assert_int_equal(ck_pem_encode("CERTIFICATE", der, der_len, &pem, &pem_len),
                   CK_OK);
  snprintf(path, sizeof path, "%s/ca.pem", H.state_dir);
  assert_int_equal(ck_fs_write_atomic(path, pem, pem_len, 0644, &err), CK_OK);
  free(pem);
  ck_cert_free(pinned);
  ck_key_free(k);

  H.answers = "cc";
  open_set();
  ck_managed_set_start(H.ms);
  run_until("FAILED");
  t_fail = H.now;
  load_state(&ms);
  assert_non_null(strstr(ms.last_error, "does not verify"));
  assert_true(ms.next_renewal >= t_fail + 3600);
  assert_false(next_exists("next.crt"));
  assert_false(next_exists("next.key"));
  assert_false(next_exists("next.csr"));
  /* before the hour: nothing */
  H.now = t_fail + 3599;
  ck_managed_set_recheck(H.ms);
  uv_run(&H.loop, UV_RUN_NOWAIT);
  assert_int_equal(H.n_answered, 1);
  /* the retry's certificate comes with its anchor */
  H.send_roots = 1;
  H.now = ms.next_renewal;
  ck_managed_set_recheck(H.ms);
  run_until("MONITORING");
  assert_int_equal(H.n_answered, 2);
  load_state(&ms);
  assert_string_equal(ms.state, "MONITORING");
  assert_int_equal(ms.attempt, 0);
  assert_false(next_exists("next.roots"));
  assert_false(next_exists("next.crt"));
}

/* pending, then refused (CK_ERR_DENIED: say the request was rejected):
 * FAILED, next.key and next.csr dropped, the retry asks with a new key. */
static void test_pending_denied_new_key(void **state) {
  uint8_t *first = NULL;
  size_t first_len;
  ck_errctx err = CK_ERRCTX_INIT;
  int64_t next_at = 0;
  (void)state;

  H.answers = "pdc";
  open_set();
  ck_managed_set_start(H.ms);
  run_until("PENDING_APPROVAL");
  first_len = H.csr_len;
  first = malloc(first_len);
  assert_non_null(first);
  memcpy(first, H.csr, first_len);
  assert_int_equal(ck_managed_renew(H.ms, "web", &err), CK_OK); /* ask now */
  run_until("FAILED");
  assert_false(next_exists("next.key"));
  assert_false(next_exists("next.csr"));
  assert_int_equal(ck_managed_get(H.ms, "web", &next_at), CK_MS_FAILED);
  H.now = next_at;
  ck_managed_set_recheck(H.ms);
  run_until("MONITORING");
  assert_int_equal(H.n_answered, 3);
  assert_true(H.csr_len != first_len || memcmp(H.csr, first, first_len) != 0);
  free(first);
}

/* error: FAILED with exponential backoff (+ up to 25% jitter), the retry
 * re-sends the CSR of the same key, success resets the attempt count. */
static void test_error_backoff(void **state) {
  int64_t next_at = 0;
  ck_mstate ms;
  (void)state;

  H.answers = "eec";
  open_set();
  ck_managed_set_start(H.ms);
  run_until("FAILED");
  assert_int_equal(ck_managed_get(H.ms, "web", &next_at), CK_MS_FAILED);
  assert_true(next_at >= H.now + 60 && next_at <= H.now + 75);
  load_state(&ms);
  assert_string_equal(ms.state, "FAILED");
  assert_int_equal(ms.attempt, 1);
  assert_string_equal(ms.last_error, "CA busy");
  /* not yet */
  H.now += 30;
  ck_managed_set_recheck(H.ms);
  uv_run(&H.loop, UV_RUN_NOWAIT);
  assert_int_equal(ck_managed_get(H.ms, "web", NULL), CK_MS_FAILED);
  H.now = next_at;
  ck_managed_set_recheck(H.ms);
  run_until("FAILED");
  assert_int_equal(ck_managed_get(H.ms, "web", &next_at), CK_MS_FAILED);
  assert_true(next_at >= H.now + 120 && next_at <= H.now + 150);
  H.now = next_at;
  ck_managed_set_recheck(H.ms);
  run_until("MONITORING");
  expect_transcript("error_backoff");
  load_state(&ms);
  assert_int_equal(ms.attempt, 0);
  assert_string_equal(ms.last_error, "");
}

/* No answer within the submit timeout: FAILED; the late answer (a cert
 * for next.key with the certificate id) is still installed. */
static void test_late_cert_after_timeout(void **state) {
  ck_mstate ms;
  (void)state;

  H.answers = "n";
  open_set();
  ck_managed_set_start(H.ms);
  run_until("SUBMITTED");
  H.now += 599;
  ck_managed_set_recheck(H.ms);
  uv_run(&H.loop, UV_RUN_NOWAIT);
  assert_int_equal(ck_managed_get(H.ms, "web", NULL), CK_MS_SUBMITTED);
  H.now += 1;
  ck_managed_set_recheck(H.ms); /* the timeout */
  assert_int_equal(ck_managed_get(H.ms, "web", NULL), CK_MS_FAILED);
  load_state(&ms);
  assert_non_null(strstr(ms.last_error, "no answer"));
  send_cert(4242, "web", H.csr, H.csr_len);
  run_until("MONITORING");
  expect_transcript("late_cert");
}

/* Installs a first pair (happy path) and clears the transcript. */
static void first_install(uint8_t fp[32]) {
  ck_managed_set_start(H.ms);
  run_until("MONITORING");
  H.tr[0] = '\0';
  installed_fp(fp);
}

/* A reload that fails: rollback, reload again, the old pair stays, a
 * failure event, MONITORING with a retry after the backoff. */
static void test_reload_failure_rollback(void **state) {
  uint8_t old[32], now_fp[32];
  int64_t next_at = 0;
  ck_mstate ms;
  ck_errctx err = CK_ERRCTX_INIT;
  FILE *fp;
  (void)state;

  H.answers = "cc";
  open_set();
  first_install(old);
  fp = fopen(H.flag, "w");
  assert_non_null(fp);
  fclose(fp);
  assert_int_equal(ck_managed_renew(H.ms, "web", &err), CK_OK);
  run_until("MONITORING");
  expect_transcript("reload_rollback");
  installed_fp(now_fp);
  assert_memory_equal(old, now_fp, 32);
  assert_int_equal(ck_managed_get(H.ms, "web", &next_at), CK_MS_MONITORING);
  assert_true(next_at >= H.now + 60 && next_at <= H.now + 75);
  load_state(&ms);
  assert_int_equal(ms.attempt, 1);
  assert_non_null(strstr(ms.last_error, "reload failed"));
  assert_non_null(strstr(ms.last_error, "previous certificate restored"));
  assert_false(next_exists("next.crt"));
}

/* A failing reload after the very first install: there is no previous
 * pair to restore, so the new one stays, and a failure is reported. */
static void test_first_install_reload_failure(void **state) {
  uint8_t fp[32];
  ck_mstate ms;
  FILE *fp_flag;
  (void)state;

  fp_flag = fopen(H.flag, "w");
  assert_non_null(fp_flag);
  fclose(fp_flag);
  H.answers = "c";
  open_set();
  ck_managed_set_start(H.ms);
  run_until("MONITORING");
  expect_transcript("first_reload_failure");
  installed_fp(fp); /* the new pair is in place */
  load_state(&ms);
  assert_int_equal(ms.attempt, 1);
  assert_non_null(strstr(ms.last_error, "no previous certificate"));
}

/* The served certificate never becomes the new one (nothing listens on
 * the verify address): rollback to the old pair. */
static void test_verify_failure_rollback(void **state) {
  uint8_t old[32], now_fp[32];
  ck_errctx err = CK_ERRCTX_INIT;
  (void)state;

  H.answers = "c";
  open_set();
  first_install(old); /* no verify yet */
  close_set();
  H.verify = "127.0.0.1:1"; /* refused */
  H.answers = "c";
  H.n_answered = 0;
  open_set();
  ck_managed_set_start(H.ms);
  uv_run(&H.loop, UV_RUN_NOWAIT);
  assert_int_equal(ck_managed_renew(H.ms, "web", &err), CK_OK);
  run_until("MONITORING");
  expect_transcript("verify_rollback");
  installed_fp(now_fp);
  assert_memory_equal(old, now_fp, 32);
}

/* Restart in SUBMITTED: the CSR of next.key is sent again. */
static void test_restart_submitted(void **state) {
  uint8_t spki1[32];
  ck_mstate ms;
  char path[600];
  ck_errctx err = CK_ERRCTX_INIT;
  ck_csr *csr = NULL;
  (void)state;

  H.answers = "n";
  open_set();
  ck_managed_set_start(H.ms);
  run_until("SUBMITTED");
  close_set();
  load_state(&ms);
  assert_string_equal(ms.state, "SUBMITTED");
  assert_int_equal(ck_csr_parse(H.csr, H.csr_len, &csr, &err), CK_OK);
  memcpy(spki1, ck_csr_get_info(csr)->spki_sha256, 32);
  ck_csr_free(csr);
  snprintf(path, sizeof path, "%s/managed/web/next.key", H.state_dir);
  {
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
  }
  tr_add("-- restart");
  H.answers = "c";
  H.n_answered = 0;
  open_set();
  ck_managed_set_start(H.ms);
  run_until("MONITORING");
  expect_transcript("restart_submitted");
  /* the same key was used */
  assert_int_equal(ck_csr_parse(H.csr, H.csr_len, &csr, &err), CK_OK);
  assert_memory_equal(spki1, ck_csr_get_info(csr)->spki_sha256, 32);
  ck_csr_free(csr);
}

/* Restart in PENDING_APPROVAL: keeps waiting; the approved cert arrives
 * with its cert_id. */
static void test_restart_pending(void **state) {
  uint8_t *first = NULL;
  size_t first_len;
  ck_mstate ms;
  (void)state;
  H.answers = "pp";
  open_set();
  ck_managed_set_start(H.ms);
  run_until("PENDING_APPROVAL");
  first_len = H.csr_len;
  first = malloc(first_len);
  assert_non_null(first);
  memcpy(first, H.csr, first_len);
  close_set();
  tr_add("-- restart");
  open_set();
  ck_managed_set_start(H.ms);
  uv_run(&H.loop, UV_RUN_NOWAIT);
  assert_int_equal(ck_managed_get(H.ms, "web", NULL), CK_MS_PENDING_APPROVAL);
  /* the retry time survived the restart; then the same CSR (same key) */
  load_state(&ms);
  H.now = ms.next_renewal;
  ck_managed_set_recheck(H.ms);
  uv_run(&H.loop, UV_RUN_NOWAIT);
  uv_run(&H.loop, UV_RUN_NOWAIT);
  assert_int_equal(H.n_answered, 2);
  assert_int_equal(H.csr_len, first_len);
  assert_memory_equal(H.csr, first, first_len);
  free(first);
  assert_int_equal(ck_managed_get(H.ms, "web", NULL), CK_MS_PENDING_APPROVAL);
  send_cert(77, "web", H.csr, H.csr_len);
  run_until("MONITORING");
  expect_transcript("restart_pending");
}

/* Writes next.crt for the last CSR and state=HAVE_CERT, as a process that
 * stored the cert and died would leave it. */
static void leave_have_cert(uint8_t new_fp[32]) {
  char path[600];
  ck_errctx err = CK_ERRCTX_INIT;
  ck_wire_bytes cert, chain;
  uint8_t *der = NULL;
  size_t der_len = 0;
  ck_mstate ms;

  issue(H.csr, H.csr_len, &der, &der_len);
  cert.data = der;
  cert.len = der_len;
  chain.data = ck_cert_der(H.ca, &chain.len);
  snprintf(path, sizeof path, "%s/managed/web/next.crt", H.state_dir);
  assert_int_equal(ck_deploy_write_next(path, &cert, &chain, 1, &err), CK_OK);
  assert_int_equal(ck_crypto_sha256(der, der_len, new_fp), CK_OK);
  free(der);
  load_state(&ms);
  ck_strlcpy(ms.state, "HAVE_CERT", sizeof ms.state);
  snprintf(path, sizeof path, "%s/managed/web/state", H.state_dir);
  assert_int_equal(ck_mstate_save(path, &ms, &err), CK_OK);
}

/* Restart in HAVE_CERT: installs next.crt. */
static void test_restart_have_cert(void **state) {
  uint8_t old[32], want[32], got[32];
  ck_errctx err = CK_ERRCTX_INIT;
  (void)state;

  H.answers = "cn";
  open_set();
  first_install(old);
  assert_int_equal(ck_managed_renew(H.ms, "web", &err), CK_OK);
  run_until("SUBMITTED");
  close_set();
  leave_have_cert(want);
  H.tr[0] = '\0';
  tr_add("-- restart");
  open_set();
  ck_managed_set_start(H.ms);
  run_until("MONITORING");
  expect_transcript("restart_have_cert");
  installed_fp(got);
  assert_memory_equal(want, got, 32);
}

/* Died after the install, before MONITORING (RELOADING / VERIFYING /
 * ROLLING_BACK are not persisted): the previous pair is put back first,
 * then the certificate is installed again from HAVE_CERT, so a failing
 * reload would still roll back to the really old pair. */
static void test_restart_in_progress(void **state) {
  uint8_t old[32], want[32], got[32];
  ck_errctx err = CK_ERRCTX_INIT;
  ck_target_files t;
  ck_deploy d;
  int bad = 0;
  char nk[600], nc[600];
  FILE *fp;
  (void)state;

  H.answers = "cn";
  open_set();
  first_install(old);
  assert_int_equal(ck_managed_renew(H.ms, "web", &err), CK_OK);
  run_until("SUBMITTED");
  close_set();
  leave_have_cert(want);
  /* the install happened, the process died in RELOADING */
  memset(&d, 0, sizeof d);
  memset(&t, 0, sizeof t);
  t.cert_file = H.cert_file;
  t.key_file = H.key_file;
  t.chain_file = H.chain_file;
  d.files = t;
  snprintf(nk, sizeof nk, "%s/managed/web/next.key", H.state_dir);
  snprintf(nc, sizeof nc, "%s/managed/web/next.crt", H.state_dir);
  d.next_key = nk;
  d.next_crt = nc;
  assert_int_equal(ck_deploy_install(&d, H.now, got, &bad, &err), CK_OK);
  assert_memory_equal(want, got, 32);
  /* and the reload after restart fails: the old pair must come back */
  fp = fopen(H.flag, "w");
  assert_non_null(fp);
  fclose(fp);
  H.tr[0] = '\0';
  tr_add("-- restart");
  open_set();
  ck_managed_set_start(H.ms);
  run_until("MONITORING");
  expect_transcript("restart_in_progress");
  installed_fp(got);
  assert_memory_equal(old, got, 32);
}

/* The renewal time rule, jitter bounds and the 5% cap. */
static void test_jitter_bounds(void **state) {
  int64_t nb = T0, na = T0 + 90 * DAY, base = na - 30 * DAY, t, now = T0;
  int i;
  uint32_t r;
  (void)state;

  assert_int_equal(ck_managed_renewal_time(nb, na, 1.0 / 3.0, 0, 0, now, 0.5),
                   base);
  assert_int_equal(ck_managed_renewal_time(nb, na, 0.5, 0, 0, now, 0.0),
                   na - 45 * DAY);
  /* renew_before earlier than the fraction wins */
  assert_int_equal(
      ck_managed_renewal_time(nb, na, 1.0 / 3.0, 40 * DAY, 0, now, 0.0),
      na - 40 * DAY);
  for (i = 0; i < 1000; i++) {
    assert_int_equal(ck_random(&r, sizeof r), CK_OK);
    t = ck_managed_renewal_time(nb, na, 1.0 / 3.0, 0, 3600, now,
                                (double)r / 4294967296.0);
    assert_true(t <= base && t >= base - 3600);
  }
  /* 5% of the remaining life caps the jitter: 10 days left -> 12h */
  now = na - 10 * DAY;
  t = ck_managed_renewal_time(nb, na, 0.05, 0, 30 * DAY, now, 0.999999);
  assert_true(t >= na - (int64_t)(0.05 * 90 * DAY) - DAY / 2 - 1 || t == now);
  assert_true(t >= now);
  /* overdue: now */
  assert_int_equal(ck_managed_renewal_time(nb, na, 0.5, 0, 0, na + 5, 0.0),
                   na + 5);
}

/* CK_FAKE_TIME: a certificate installed in 2029 is renewed when the clock
 * says its window has come, not before. */
static void test_fake_time_2029(void **state) {
  int64_t t2029 = 0, next_at = 0;
  uint8_t old[32], got[32];
  ck_mstate ms;
  (void)state;

  ck_clock_set_source(NULL, NULL);
  setenv("CK_FAKE_TIME", "2029-01-01T00:00:00Z", 1);
  assert_int_equal(ck_clock_init(), CK_OK);
  unsetenv("CK_FAKE_TIME");
  assert_int_equal(ck_time_parse_rfc3339("2029-01-01T00:00:00Z", &t2029),
                   CK_OK);
  assert_true(ck_clock_now() >= t2029 && ck_clock_now() < t2029 + 600);
  H.now = ck_clock_now();
  ck_clock_set_source(fake_clock, NULL); /* now pin it for the test */
  H.answers = "cc";
  open_set();
  first_install(old);
  load_state(&ms);
  assert_int_equal(ck_managed_get(H.ms, "web", &next_at), CK_MS_MONITORING);
  assert_true(next_at > t2029 + 59 * DAY && next_at < t2029 + 61 * DAY);
  H.now = next_at - 1;
  ck_managed_set_recheck(H.ms);
  uv_run(&H.loop, UV_RUN_NOWAIT);
  assert_int_equal(ck_managed_get(H.ms, "web", NULL), CK_MS_MONITORING);
  H.now = next_at;
  ck_managed_set_recheck(H.ms);
  run_until("MONITORING");
  expect_transcript("fake_time_2029");
  installed_fp(got);
  assert_memory_not_equal(old, got, 32);
}

/* A certificate replaced behind the agent's back is re-read; one that is
 * removed triggers a renewal. */
static void test_external_change(void **state) {
  uint8_t old[32];
  int64_t next_at = 0, before = 0;
  (void)state;

  H.answers = "cc";
  open_set();
  first_install(old);
  assert_int_equal(ck_managed_get(H.ms, "web", &before), CK_MS_MONITORING);
  ck_managed_file_changed(H.ms, H.cert_file); /* same cert: nothing */
  assert_int_equal(ck_managed_get(H.ms, "web", &next_at), CK_MS_MONITORING);
  assert_int_equal(next_at, before);
  assert_int_equal(unlink(H.cert_file), 0);
  ck_managed_file_changed(H.ms, H.cert_file);
  run_until("MONITORING");
  expect_transcript("external_removed");
}

/* The state file format: round trip and refusals. */
static void test_mstate_format(void **state) {
  ck_mstate a, b;
  char *text = NULL;
  size_t len = 0;
  ck_errctx err = CK_ERRCTX_INIT;
  (void)state;

  memset(&a, 0, sizeof a);
  ck_strlcpy(a.state, "FAILED", sizeof a.state);
  a.has_fingerprint = 1;
  memset(a.fingerprint, 0xab, 32);
  a.not_after = 1893456000;
  a.next_renewal = 1890000000;
  ck_strlcpy(a.ticket, "T-1", sizeof a.ticket);
  a.attempt = 3;
  ck_strlcpy(a.last_error, "two\nlines", sizeof a.last_error);
  a.updated_at = 5;
  assert_int_equal(ck_mstate_format(&a, &text, &len, &err), CK_OK);
  assert_int_equal(ck_mstate_parse(text, len, &b, &err), CK_OK);
  assert_string_equal(b.state, "FAILED");
  assert_memory_equal(b.fingerprint, a.fingerprint, 32);
  assert_int_equal(b.not_after, a.not_after);
  assert_int_equal(b.next_renewal, a.next_renewal);
  assert_int_equal(b.attempt, 3);
  assert_string_equal(b.last_error, "two lines");
  free(text);
  assert_int_equal(ck_mstate_parse("state=X\nstate=Y\n", 16, &b, &err),
                   CK_ERR_PARSE);
  assert_int_equal(ck_mstate_parse("attempt=1\n", 10, &b, &err), CK_ERR_PARSE);
  assert_int_equal(ck_mstate_parse("state=A\nnot_after=-1\n", 21, &b, &err),
                   CK_ERR_PARSE);
  assert_int_equal(ck_mstate_parse("state=A\nnoequals\n", 17, &b, &err),
                   CK_ERR_PARSE);
  assert_int_equal(ck_mstate_parse("state=A\nfuture=1\n", 17, &b, &err),
                   CK_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_happy_path, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pending_then_cert, setup, teardown),
      cmocka_unit_test_setup_teardown(test_error_backoff, setup, teardown),
      cmocka_unit_test_setup_teardown(test_upstream_roots, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pending_denied_new_key, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_late_cert_after_timeout, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_reload_failure_rollback, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_first_install_reload_failure,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_verify_failure_rollback, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_restart_submitted, setup, teardown),
      cmocka_unit_test_setup_teardown(test_restart_pending, setup, teardown),
      cmocka_unit_test_setup_teardown(test_restart_have_cert, setup, teardown),
      cmocka_unit_test_setup_teardown(test_restart_in_progress, setup,
                                      teardown),
      cmocka_unit_test(test_jitter_bounds),
      cmocka_unit_test_setup_teardown(test_fake_time_2029, setup, teardown),
      cmocka_unit_test_setup_teardown(test_external_change, setup, teardown),
      cmocka_unit_test(test_mstate_format),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
