/* test_approvals_agent.c — an agent's request under an approval profile,
 * with the real coordinator (itest.h) and this test as the agent
 * (testagent.h): enroll; a `csr` for the approval profile is answered
 * `pending` with the workflow request id as ticket; asking again with the
 * same CSR before approval gives the same ticket (no second request); the
 * agent cannot approve its own request (it has no token) and an approver
 * does it with the CLI; the same `csr` again is answered with the
 * approved certificate (delivery to the agent), whose fingerprint is the
 * one the request shows. */
#include "tests/integration/itest.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/crypto/crypto.h"
#include "common/util/mem.h"
#include "common/wire/wire.h"

static ck_itest co;

static const char PROFILE[] =
    "{\"name\": \"agent-approval\", \"workflow\": \"approval\","
    " \"key_types\": [\"ec-p256\"], \"validity\": {\"max\": \"30d\", \"default\": \"10d\"},"
    " \"san\": {\"dns\": [\".test\"]}, \"cn\": \"copy_to_san\","
    " \"ext_key_usage\": [\"serverAuth\"],"
    " \"access\": {\"agent_groups\": [\"web\"], \"roles\": [\"admin\"]},"
    " \"approval\": {\"mode\": \"always\", \"approvers\": {\"roles\": [\"approver\"]}}}";

static void test_agent_pending(void **state) {
  char cmd[4096], ticket[64], fp[CK_SHA256_HEX_LEN], *out, *tok;
  const char *dns[] = {"svc.agent.test", NULL};
  uint8_t *csr = NULL, h[CK_SHA256_LEN];
  size_t csr_len = 0;
  ck_key *key = NULL;
  ck_tagent_ident id;
  ck_tagent_peer peer;
  ck_tagent a;
  ck_wire_msg m;
  ck_arena *ar = NULL;
  uint64_t rid;
  FILE *f;

  (void)state;
  ck_itest_require(&co, 0);
  memset(&id, 0, sizeof id);
  ck_itest_init(&co, NULL);
  ck_itest_start(&co);
  ck_itest_client_env(&co);
  ck_itest_peer(&co, &peer);

  snprintf(cmd, sizeof cmd, "%s/profile.json", co.tmp);
  f = fopen(cmd, "w");
  assert_non_null(f);
  fputs(PROFILE, f);
  fclose(f);
  snprintf(cmd, sizeof cmd,
           "'%s' profile set agent-approval --file '%s/profile.json' 2>&1 && "
           "'%s' api-token create --name bob --role approver > '%s/bob.token'",
           co.cli, co.tmp, co.cli, co.tmp);
  free(ck_itest_sh(&co, "profile and approver token", cmd));

  tok = ck_itest_token(&co, "--group web --profile agent-approval --ttl 1h");
  ck_tagent_enroll_new(&peer, tok, "appr-host", NULL, &id);
  free(tok);

  key = ck_tagent_key("ec-p256");
  ck_tagent_csr(key, "svc.agent.test", dns, &csr, &csr_len);
  ck_tagent_connect(&a, &peer, &id);
  ck_tagent_welcome(&a, id.agent_id);

  rid = ck_tagent_send_csr(&a, "svc", "agent-approval", csr, csr_len, NULL);
  ck_tagent_expect(&a, CK_WIRE_PENDING, rid, &m, &ar);
  assert_non_null(m.u.pending.ticket);
  assert_true(strncmp(m.u.pending.ticket, "rq-", 3) == 0);
  ck_strlcpy(ticket, m.u.pending.ticket, sizeof ticket);
  assert_true(m.u.pending.retry_after > 0);
  ck_arena_free(ar);

  /* asking again before the approval: the same request */
  rid = ck_tagent_send_csr(&a, "svc", "agent-approval", csr, csr_len, NULL);
  ck_tagent_expect(&a, CK_WIRE_PENDING, rid, &m, &ar);
  assert_string_equal(m.u.pending.ticket, ticket);
  ck_arena_free(ar);
  snprintf(cmd, sizeof cmd, "'%s' request list --state pending --json", co.cli);
  out = ck_itest_sh(&co, "request list", cmd);
  assert_non_null(strstr(out, ticket));
  assert_null(strstr(strstr(out, ticket) + 1, ticket)); /* listed once */
  free(out);

  /* the approver approves with the CLI */
  snprintf(cmd, sizeof cmd,
           "CERTKEEPER_TOKEN=$(cat '%s/bob.token') '%s' request approve %s --json",
           co.tmp, co.cli, ticket);
  out = ck_itest_sh(&co, "approve", cmd);
  assert_non_null(strstr(out, "\"state\": \"issued\""));
  {
    const char *p = strstr(out, "\"cert_fingerprint\": \"");
    assert_non_null(p);
    p += strlen("\"cert_fingerprint\": \"");
    memcpy(fp, p, 64);
    fp[64] = '\0';
  }
  free(out);

  /* the agent asks again: the approved certificate */
  rid = ck_tagent_send_csr(&a, "svc", "agent-approval", csr, csr_len, NULL);
  ck_tagent_expect(&a, CK_WIRE_CERT, rid, &m, &ar);
  assert_int_equal(ck_crypto_sha256(m.u.cert.cert.data, m.u.cert.cert.len, h), CK_OK);
  {
    char hex[CK_SHA256_HEX_LEN];
    ck_hex_encode(h, sizeof h, hex);
    assert_string_equal(hex, fp);
  }
  assert_true(m.u.cert.chain.n >= 1);
  ck_arena_free(ar);
  ck_tagent_close(&a);

  ck_itest_stop(&co);
  free(csr);
  ck_key_free(key);
  ck_tagent_ident_clear(&id);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_prestate_setup_teardown(test_agent_pending, ck_itest_cm_setup,
                                               ck_itest_cm_teardown, &co),
  };

  signal(SIGPIPE, SIG_IGN);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
