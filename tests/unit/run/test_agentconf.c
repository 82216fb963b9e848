/* test_agentconf.c — the agent's configuration file: defaults, a full
 * valid file, the enrollment read from state_dir/agent.conf, and each kind
 * of mistake refused with file:line and the key in the message. */
#include "tests/testutil.h"

#include <string.h>

#include "agent/run/agentconf.h"
#include "common/util/fs.h"

static char *state_dir(int enrolled) {
  char *tmp = ck_test_tmpdir(), p[4096];
  ck_errctx err = CK_ERRCTX_INIT;
  static const char conf[] = "[agent]\nid = agt-42\nserver = 127.0.0.1:9443\n"
                             "ca_fingerprint = abcd\nenrolled_at = 1\n";

  if (enrolled) {
    snprintf(p, sizeof p, "%s/agent.conf", tmp);
    assert_int_equal(
        ck_fs_write_atomic(p, conf, sizeof conf - 1, 0644, &err), CK_OK);
  }
  return tmp;
}

static void test_defaults(void **state) {
  ck_agentconf *c = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  char *dir = state_dir(0), text[4200];
  (void)state;

  snprintf(text, sizeof text, "[agent]\nstate_dir = %s\n", dir);
  assert_int_equal(ck_agentconf_load_string("a.conf", text, &c, &err), CK_OK);
  assert_string_equal(c->state_dir, dir);
  assert_null(c->user);
  assert_int_equal(c->outbox_max_events, 10000);
  assert_int_equal(c->outbox_max_bytes, 4 * 1024 * 1024);
  assert_int_equal(c->reconnect_max, 300);
  assert_int_equal(c->enrolled, 0);
  assert_null(c->server);
  assert_int_equal(c->n_roots, 8);
  assert_string_equal(c->roots[0], "/etc/ssl");
  assert_string_equal(c->roots[7], "/opt");
  assert_int_equal(c->max_depth, 32);
  assert_int_equal(c->rescan, 86400);
  assert_int_equal(c->watch, 1);
  assert_int_equal(c->probe_endpoints, 1);
  assert_int_equal(c->expiring, 30 * 86400);
  assert_int_equal(c->n_certs, 0);
  ck_agentconf_free(c);
  ck_test_rmtree(dir);
  free(dir);
}

static void test_full(void **state) {
  ck_agentconf *c = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  const ck_agentconf_cert *w;
  char *dir = state_dir(1), text[4096];
  (void)state;

  snprintf(text, sizeof text,
           "[agent]\nstate_dir = %s\nuser = certkeeper\n"
           "outbox_max_events = 50\noutbox_max_bytes = 64KiB\n"
           "reconnect_max = 90s\n"
           "[discovery]\nroots = /srv/a, /srv/b\nexclude = *.bak\n"
           "max_depth = 4\nrescan = 12h\nwatch = no\n"
           "[trust]\nbundle = /etc/ssl/ck.pem\ncommand = /usr/sbin/update-ca-certificates\n"
           "[log]\nlevel = debug\n"
           "[cert:web]\nprofile = tls-server\n"
           "sans = DNS:www.example.com, DNS:example.com, IP:192.0.2.1\n"
           "cert_file = /etc/nginx/web.crt\nkey_file = /etc/nginx/web.key\n"
           "fullchain_file = /etc/nginx/web.full.pem\n"
           "mode = 0640\nreload = systemd:nginx.service\n"
           "verify = 127.0.0.1:443\nrenew_fraction = 0.5\njitter = 0\n"
           "[cert:db]\nprofile = p\nsans = IP:::1\n"
           "cert_file = /d/db.pem\nkey_file = /d/db.pem\nkey = rsa-3072\n",
           dir);
  assert_int_equal(ck_agentconf_load_string("b.conf", text, &c, &err), CK_OK);
  assert_string_equal(c->user, "certkeeper");
  assert_int_equal(c->outbox_max_events, 50);
  assert_int_equal(c->outbox_max_bytes, 65536);
  assert_int_equal(c->reconnect_max, 90);
  assert_int_equal(c->enrolled, 1);
  assert_string_equal(c->agent_id, "agt-42");
  assert_string_equal(c->server, "127.0.0.1:9443");
  assert_string_equal(c->ca_fingerprint, "abcd");
  assert_int_equal(c->n_roots, 2);
  assert_string_equal(c->roots[1], "/srv/b");
  assert_int_equal(c->n_exclude, 1);
  assert_int_equal(c->watch, 0);
  assert_string_equal(c->trust_bundle, "/etc/ssl/ck.pem");
  assert_int_equal(c->n_certs, 2);
  w = ck_agentconf_find(c, "web");
  assert_non_null(w);
  assert_string_equal(w->profile, "tls-server");
  assert_int_equal(w->n_sans, 3);
  assert_string_equal(w->cn, "www.example.com");
  assert_string_equal(w->key, "ec-p256");
  assert_int_equal(w->mode, 0640);
  assert_int_equal(w->key_mode, 0600);
  assert_string_equal(w->reload, "systemd:nginx.service");
  assert_int_equal(w->reload_timeout, 30);
  assert_string_equal(w->verify, "127.0.0.1:443");
  assert_true(w->renew_fraction > 0.49 && w->renew_fraction < 0.51);
  assert_int_equal(w->jitter, 0);
  assert_non_null(strstr(w->where, "b.conf:"));
  w = ck_agentconf_find(c, "db");
  assert_non_null(w);
  assert_null(w->cn); /* no DNS SAN */
  assert_string_equal(w->reload, "none");
  assert_null(ck_agentconf_find(c, "nope"));
  ck_agentconf_free(c);

  /* [agent] server overrides the enrollment's */
  snprintf(text, sizeof text, "[agent]\nstate_dir = %s\nserver = coord.example:8443\n",
           dir);
  assert_int_equal(ck_agentconf_load_string("c.conf", text, &c, &err), CK_OK);
  assert_string_equal(c->server, "coord.example:8443");
  assert_string_equal(c->agent_id, "agt-42");
  ck_agentconf_free(c);
  ck_test_rmtree(dir);
  free(dir);
}

/* Loads text (after an [agent] state_dir line) and checks the error
 * message contains each of the needles. */
static void bad(const char *dir, const char *body, const char *n1,
                const char *n2) {
  ck_agentconf *c = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  char text[4096];

  snprintf(text, sizeof text, "[agent]\nstate_dir = %s\n%s", dir, body);
  if (ck_agentconf_load_string("x.conf", text, &c, &err) == CK_OK)
    fail_msg("accepted: %s", body);
  assert_null(c);
  if (strstr(err.msg, n1) == NULL || (n2 && strstr(err.msg, n2) == NULL))
    fail_msg("message '%s' lacks '%s' / '%s'", err.msg, n1, n2 ? n2 : "");
}

#define CERT "[cert:w]\nprofile = p\nsans = DNS:a.example\n" \
             "cert_file = /c.pem\nkey_file = /k.pem\n"

static void test_invalid(void **state) {
  char *dir = state_dir(0);
  (void)state;

  bad(dir, "bogus = 1\n", "x.conf:3", "bogus");
  bad(dir, "outbox_max_events = 0\n", "x.conf:3", "outbox_max_events");
  bad(dir, "reconnect_max = soon\n", "x.conf:3", "duration");
  bad(dir, "server = nohost\n", "x.conf:3", "[agent] server");
  bad(dir, "[discovery]\nroots = etc/ssl\n", "x.conf:4", "absolute");
  bad(dir, "[cert:w]\nprofile = p\nsans = DNS:a\ncert_file = /c\n",
      "[cert:w] key_file: required", NULL);
  bad(dir, "[cert:w]\nprofile = p\ncert_file = /c\nkey_file = /k\n",
      "[cert:w] sans: required", NULL);
  bad(dir, "[cert:w]\nprofile = p\nsans = DNS:a, mail:x\ncert_file = /c\n"
           "key_file = /k\n",
      "x.conf:5", "DNS:name or IP:address");
  bad(dir, "[cert:w]\nprofile = p\nsans = IP:300.1.1.1\ncert_file = /c\n"
           "key_file = /k\n",
      "[cert:w] sans", "300.1.1.1");
  bad(dir, CERT "key = dsa-1024\n", "x.conf:8", "[cert:w] key");
  bad(dir, CERT "mode = 0x644\n", "x.conf:8", "octal");
  bad(dir, CERT "key_mode = 0644\n", "x.conf:8", "accessible to others");
  bad(dir, CERT "reload = restart:nginx\n", "x.conf:8", "[cert:w] reload");
  bad(dir, CERT "reload = command:nginx -s reload\n", "x.conf:8", "reload");
  bad(dir, CERT "renew_fraction = 1.5\n", "x.conf:8", "(0,1)");
  bad(dir, CERT "verify = 127.0.0.1\n", "x.conf:8", "HOST:PORT");
  bad(dir, "[cert:w]\nprofile = p\nsans = DNS:a\ncert_file = c.pem\n"
           "key_file = /k\n",
      "x.conf:6", "absolute");
  bad(dir, "[cert:a/b]\nprofile = p\n", "[cert:a/b]", "id");
  bad(dir, "[log]\nlevel = loud\n", "x.conf", "level");
  ck_test_rmtree(dir);
  free(dir);
}

static void test_bad_enrollment(void **state) {
  char *dir = ck_test_tmpdir(), p[4096], text[4200];
  ck_agentconf *c = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  (void)state;

  snprintf(p, sizeof p, "%s/agent.conf", dir);
  assert_int_equal(ck_fs_write_atomic(p, "[agent]\nid = x\n", 15, 0644, &err),
                   CK_OK);
  snprintf(text, sizeof text, "[agent]\nstate_dir = %s\n", dir);
  assert_int_equal(ck_agentconf_load_string("e.conf", text, &c, &err),
                   CK_ERR_CONFIG);
  assert_non_null(strstr(err.msg, "agent.conf"));
  /* the file itself missing is its own clear error */
  assert_int_equal(ck_agentconf_load("/nonexistent/agent.conf", &c, &err),
                   CK_ERR_NOENT);
  ck_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_full),
      cmocka_unit_test(test_invalid),
      cmocka_unit_test(test_bad_enrollment),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
