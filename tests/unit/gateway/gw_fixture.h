/* gw_fixture.h — an in-process coordinator with its agent gateway on
 * 127.0.0.1:0, and a test agent client built from our own ck_tls_connect
 * and wire codec, all on one libuv loop.
 *
 * The coordinator is made the way `certkeeper-coordinator run` makes it: a
 * data directory created by ck_coord_init, settings, store, CAs, profile
 * cache, the TLS server context (client certificates optional, trusting the
 * default CA chain), then ck_gateway_start_opts. Tests drive the client
 * (tests/testagent.h under the gwc_ names) with gwc_send / gwc_recv, which
 * run the loop until the answer arrived (bounded); pings from the gateway
 * are answered automatically. gw_setup / gw_teardown give each test a
 * fresh coordinator in the file's fx. */
#ifndef CK_TESTS_GW_FIXTURE_H
#define CK_TESTS_GW_FIXTURE_H

#include "tests/testagent.h"

#include <string.h>

#include "common/crypto/crypto.h"
#include "common/net/tls.h"
#include "common/util/clock.h"
#include "common/util/fs.h"
#include "common/util/log.h"
#include "common/wire/framer.h"
#include "common/wire/wire.h"
#include "coordinator/ca/ca.h"
#include "coordinator/core/coord.h"
#include "coordinator/core/coord_rt.h"
#include "coordinator/core/secret.h"
#include "coordinator/gateway/gateway.h"
#include "coordinator/store/store.h"
#include "coordinator/workflow/profile_cache.h"

#define GW_WAIT_MS 15000u

typedef struct gw_fx {
  uv_loop_t loop;
  char *dir;
  ck_coord_rt rt;
  ck_tls_ctx *tls;
  ck_gateway *gw;
  int port;
  ck_cert *root;
  char root_pin[CK_SHA256_HEX_LEN];
  int gw_closed;
} gw_fx;

/* A test agent connection and an agent identity (tests/testagent.h). */
typedef ck_tagent gwc;
typedef ck_tagent_ident gw_ident;

static inline void gw_ident_clear(gw_ident *id) { ck_tagent_ident_clear(id); }

/* ---- coordinator ---------------------------------------------------------- */

static inline void gw_fx_start(gw_fx *fx, const ck_gateway_opts *opts) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_coord_init_opts io;
  ck_store_opts so;
  ck_tls_config tc;
  char path[4200], certp[4200], keyp[4200], tokp[4200];
  uint8_t *buf = NULL;
  size_t len = 0;
  const ck_ca *def;

  memset(fx, 0, sizeof *fx);
  assert_int_equal(uv_loop_init(&fx->loop), 0);
  fx->rt.loop = &fx->loop;
  fx->dir = ck_test_tmpdir();
  snprintf(path, sizeof path, "%s/data", fx->dir);
  snprintf(tokp, sizeof tokp, "%s/admin.token", fx->dir);
  memset(&io, 0, sizeof io);
  io.data_dir = path;
  io.admin_token_out = tokp;
  if (ck_coord_init(&io, &err) != CK_OK)
    fail_msg("init: %s", ck_errctx_msg(&err));
  if (ck_coord_load_settings(path, NULL, &fx->rt.cfg, &fx->rt.set, &err) != CK_OK)
    fail_msg("settings: %s", ck_errctx_msg(&err));
  memset(&so, 0, sizeof so);
  ck_coord_path(path, CK_COORD_DB, certp, sizeof certp);
  so.path = certp;
  if (ck_store_open(&so, &fx->rt.store, &err) != CK_OK ||
      ck_ca_set_load(fx->rt.store, path, &fx->rt.cas, &err) != CK_OK ||
      ck_profile_cache_new(fx->rt.store, &fx->rt.profiles, &err) != CK_OK)
    fail_msg("open: %s", ck_errctx_msg(&err));
  def = ck_ca_set_default(fx->rt.cas);
  assert_non_null(def);
  fx->rt.chain_pem = def->chain_pem;
  fx->rt.chain_pem_len = def->chain_pem_len;

  ck_coord_path(path, "tls/server.crt", certp, sizeof certp);
  ck_coord_path(path, "tls/server.key", keyp, sizeof keyp);
  memset(&tc, 0, sizeof tc);
  tc.role = CK_TLS_SERVER;
  tc.cert_file = certp;
  tc.key_file = keyp;
  tc.ca_pem = (const uint8_t *)fx->rt.chain_pem;
  tc.ca_pem_len = fx->rt.chain_pem_len;
  tc.verify = CK_TLS_VERIFY_OPTIONAL;
  if (ck_tls_ctx_new(&tc, &fx->tls, &err) != CK_OK)
    fail_msg("tls: %s", ck_errctx_msg(&err));
  if (ck_gateway_start_opts(&fx->rt, fx->tls, "127.0.0.1:0", opts, &fx->gw,
                            &err) != CK_OK)
    fail_msg("gateway: %s", ck_errctx_msg(&err));
  fx->port = ck_gateway_port(fx->gw);
  assert_true(fx->port > 0);

  /* The root CA: the agent pins its fingerprint to enroll. */
  ck_coord_path(path, "ca/root.crt", certp, sizeof certp);
  assert_int_equal(ck_fs_read_file(certp, 1 << 20, &buf, &len, &err), CK_OK);
  assert_int_equal(ck_cert_parse(buf, len, &fx->root, &err), CK_OK);
  free(buf);
  memcpy(fx->root_pin, ck_cert_get_info(fx->root)->sha256_hex,
         sizeof fx->root_pin);
  fx->rt.ready = 1;
}

static inline void gw_fx_on_closed(void *arg) { ((gw_fx *)arg)->gw_closed = 1; }

static inline void gw_fx_stop(gw_fx *fx) {
  ck_gateway_close(fx->gw, gw_fx_on_closed, fx);
  ck_test_run_until(&fx->loop, &fx->gw_closed, GW_WAIT_MS);
  uv_run(&fx->loop, UV_RUN_DEFAULT); /* remaining close callbacks */
  ck_gateway_free(fx->gw);
  ck_store_close(fx->rt.store);
  ck_profile_cache_free(fx->rt.profiles);
  ck_ca_set_free(fx->rt.cas);
  ck_tls_ctx_free(fx->tls);
  ck_config_free(fx->rt.cfg);
  ck_cert_free(fx->root);
  assert_int_equal(uv_loop_close(&fx->loop), 0);
  ck_test_rmtree(fx->dir);
  free(fx->dir);
}

/* Stores an enrollment token and returns its secret in sec. */
static inline void gw_fx_token(gw_fx *fx, const char *group, const char *profiles,
                        const char *sans, int64_t ttl, ck_secret *sec) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_write *w = ck_store_write_new();
  ck_store_etoken t;

  assert_int_equal(ck_secret_new("cke_", sec), CK_OK);
  memset(&t, 0, sizeof t);
  t.id = sec->id;
  memcpy(t.hash, sec->hash_hex, sizeof t.hash);
  t.group = group;
  t.profiles = profiles;
  t.san_patterns = sans;
  t.actor = "test";
  t.created_at = ck_clock_now() - 7200;
  t.expires_at = ck_clock_now() + ttl;
  assert_non_null(w);
  assert_int_equal(ck_store_write_etoken_put(w, &t, &err), CK_OK);
  if (ck_store_submit_wait(fx->rt.store, w, &err) != CK_OK)
    fail_msg("token: %s", ck_errctx_msg(&err));
  ck_store_write_free(w);
}

static inline int64_t gw_fx_audit_seq(gw_fx *fx) {
  uint8_t h[CK_SHA256_LEN];
  int64_t seq = -1;

  assert_int_equal(ck_store_audit_head(fx->rt.store, &seq, h, NULL), CK_OK);
  return seq;
}

/* The last audit event with this action (copied into ev's arena a). */
static inline int gw_fx_audit_find(gw_fx *fx, const char *action, ck_arena *a,
                            ck_audit_event *out) {
  ck_store_page pg;
  ck_audit_event *items;
  size_t n, i;
  int64_t after = 0;
  int found = 0;

  for (;;) {
    memset(&pg, 0, sizeof pg);
    pg.limit = CK_STORE_PAGE_MAX;
    assert_int_equal(ck_store_audit_list(fx->rt.store, after, &pg, a, &items,
                                         &n, NULL),
                     CK_OK);
    for (i = 0; i < n; i++)
      if (strcmp(items[i].action, action) == 0) {
        *out = items[i];
        found = 1;
      }
    if (n < CK_STORE_PAGE_MAX)
      return found;
    after = items[n - 1].seq;
  }
}

/* ---- keys and CSRs -------------------------------------------------------- */

static inline ck_key *gw_key(const char *spec) { return ck_tagent_key(spec); }

/* A CSR for key with CN cn and DNS SANs (NULL-terminated list, may be
 * NULL); *der malloc'ed. */
static inline void gw_csr(const ck_key *key, const char *cn,
                          const char *const *dns, uint8_t **der, size_t *len) {
  ck_tagent_csr(key, cn, dns, der, len);
}

/* ---- the client ----------------------------------------------------------- */

/* Where fx's gateway is and what it trusts. */
static inline void gw_fx_peer(gw_fx *fx, ck_tagent_peer *p) {
  memset(p, 0, sizeof *p);
  p->loop = &fx->loop;
  p->port = fx->port;
  p->root_pin = fx->root_pin;
  p->chain_pem = fx->rt.chain_pem;
  p->chain_len = fx->rt.chain_pem_len;
  p->wait_ms = GW_WAIT_MS;
}

/* Connects: id NULL = enrollment (CA pin only), else mutual TLS with id.
 * Returns the handshake status (c is usable only on CK_OK). */
static inline ck_err gwc_open(gw_fx *fx, gwc *c, const gw_ident *id) {
  ck_tagent_peer p;

  gw_fx_peer(fx, &p);
  return ck_tagent_open(c, &p, id);
}

static inline void gwc_close(gwc *c) { ck_tagent_close(c); }

static inline void gwc_send_raw(gwc *c, const uint8_t *buf, size_t len) {
  ck_tagent_send_raw(c, buf, len);
}

/* Sends m; when m->id is 0 a fresh id is given (and left in m->id). */
static inline void gwc_send(gwc *c, ck_wire_msg *m) { ck_tagent_send(c, m); }

/* Waits for the next frame; *a (caller frees) owns *m. Returns 0 when the
 * connection ended first. */
static inline int gwc_recv(gwc *c, ck_wire_msg *m, ck_arena **a) {
  return ck_tagent_recv(c, m, a);
}

/* Waits for a frame of type t with id (0 = any id); fails otherwise. */
static inline void gwc_expect(gwc *c, ck_wire_type t, uint64_t id,
                              ck_wire_msg *m, ck_arena **a) {
  ck_tagent_expect(c, t, id, m, a);
}

/* Waits for an error with code (and a message containing needle). */
static inline void gwc_expect_error(gwc *c, ck_err code, uint64_t id,
                                    const char *needle, int fatal) {
  ck_tagent_expect_error(c, code, id, needle, fatal);
}

/* Waits until the gateway closed the connection. */
static inline void gwc_expect_end(gwc *c) { ck_tagent_expect_end(c); }

static inline uint64_t gwc_hello(gwc *c, const char *agent_id) {
  return ck_tagent_hello(c, agent_id);
}

/* hello -> welcome (the session is up, earlier frames handled). */
static inline void gwc_welcome(gwc *c, const char *agent_id) {
  ck_tagent_welcome(c, agent_id);
}

static inline uint64_t gwc_enroll(gwc *c, const char *token, const uint8_t *csr,
                                  size_t csr_len, const char *hostname) {
  return ck_tagent_enroll(c, token, csr, csr_len, hostname,
                          "web-01.example.test");
}

/* Zeroes m into an inventory of mode and seq; a delta gets base. */
static inline void gw_inventory_msg(ck_wire_msg *m, ck_wire_inv_mode mode,
                                    uint64_t seq, uint64_t base) {
  memset(m, 0, sizeof *m);
  m->type = CK_WIRE_INVENTORY;
  m->u.inventory.mode = mode;
  m->u.inventory.seq = seq;
  if (mode == CK_WIRE_INV_DELTA) {
    m->u.inventory.base = base;
    m->u.inventory.has_base = true;
  }
}

/* Enrolls a new agent with a fresh token of group/profiles/sans; fills id. */
static inline void gw_enroll_agent(gw_fx *fx, const char *group,
                                   const char *profiles, const char *sans,
                                   gw_ident *id) {
  ck_tagent_peer p;
  ck_secret sec;

  gw_fx_token(fx, group, profiles, sans, 3600, &sec);
  gw_fx_peer(fx, &p);
  ck_tagent_enroll_new(&p, sec.token, "web-01", "web-01.example.test", id);
  ck_secret_wipe(&sec);
}

/* ---- the usual fixture ----------------------------------------------------- */

/* The usual fixture: every test of the file against a fresh coordinator in
 * fx (cmocka setup/teardown). */
static gw_fx fx;

static inline int gw_setup(void **state) {
  (void)state;
  gw_fx_start(&fx, NULL);
  return 0;
}

static inline int gw_teardown(void **state) {
  (void)state;
  gw_fx_stop(&fx);
  return 0;
}

#endif
