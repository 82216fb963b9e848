/* test_records.c — every record type goes in and comes back out field by
 * field, and every write operation's refusals (not found, conflict, exists,
 * expired) are specific and roll the whole write back. */
#include "tests/unit/store/fixture.h"

static ck_store_write *wnew(void) {
  ck_store_write *w = ck_store_write_new();
  assert_non_null(w);
  return w;
}

static void cert_roundtrip(void **state) {
  fx f;
  ck_store_cert c, got;
  ck_store_write *w = wnew();
  ck_errctx e = CK_ERRCTX_INIT;
  char upper[65];
  size_t i;

  (void)state;
  fx_setup(&f);
  fx_cert(&f, &c, 7);
  c.ca_id = 3;
  c.profile = "tls-server";
  c.owner = "web-team";
  c.weak_flags = CK_WEAK_SHA1;
  c.weak_reason = "weak signature hash (sha1WithRSAEncryption)";
  c.key_type = "RSA";
  c.key_bits = 3072;
  c.serial_hex = "ABCDEF0123"; /* stored lower case */
  assert_int_equal(ck_store_write_cert_put(w, &c, &e), CK_OK);
  fx_commit(&f, w, CK_OK);
  assert_true(ck_store_write_result(w, 0) > 0);

  /* lookup accepts upper-case hex */
  for (i = 0; i < 64; i++)
    upper[i] = (char)(c.fingerprint[i] >= 'a' ? c.fingerprint[i] - 32
                                              : c.fingerprint[i]);
  upper[64] = '\0';
  assert_int_equal(ck_store_cert_get(f.s, upper, 1, f.a, &got, &e), CK_OK);
  assert_int_equal(got.id, ck_store_write_result(w, 0));
  assert_string_equal(got.fingerprint, c.fingerprint);
  assert_string_equal(got.spki_sha256, c.spki_sha256);
  assert_string_equal(got.serial_hex, "abcdef0123");
  assert_string_equal(got.subject, c.subject);
  assert_string_equal(got.issuer, c.issuer);
  assert_string_equal(got.sans, c.sans);
  assert_int_equal(got.not_before, c.not_before);
  assert_int_equal(got.not_after, c.not_after);
  assert_string_equal(got.key_type, "RSA");
  assert_int_equal(got.key_bits, 3072);
  assert_string_equal(got.sig_alg, c.sig_alg);
  assert_int_equal(got.ca_id, 3);
  assert_string_equal(got.profile, "tls-server");
  assert_string_equal(got.owner, "web-team");
  assert_int_equal(got.status, CK_CERT_ACTIVE);
  assert_int_equal(got.source, CK_CERT_SRC_ISSUED);
  assert_int_equal(got.managed, 1);
  assert_int_equal(got.weak_flags, CK_WEAK_SHA1);
  assert_string_equal(got.weak_reason, c.weak_reason);
  assert_int_equal(got.der_len, c.der_len);
  assert_memory_equal(got.der, c.der, c.der_len);
  assert_true(got.created_at > 0);
  assert_int_equal(got.created_at, got.updated_at);

  /* without DER */
  assert_int_equal(ck_store_cert_get(f.s, c.fingerprint, 0, f.a, &got, &e),
                   CK_OK);
  assert_null(got.der);
  assert_int_equal(got.der_len, 0);

  /* patch owner, profile, status */
  ck_store_write_reset(w);
  {
    ck_store_cert_patch p = {"ops-team", "", CK_CERT_SUPERSEDED, -1};
    assert_int_equal(ck_store_write_cert_set(w, c.fingerprint, &p, &e), CK_OK);
  }
  fx_commit(&f, w, CK_OK);
  assert_int_equal(ck_store_cert_get(f.s, c.fingerprint, 0, f.a, &got, &e),
                   CK_OK);
  assert_string_equal(got.owner, "ops-team");
  assert_string_equal(got.profile, "");
  assert_int_equal(got.status, CK_CERT_SUPERSEDED);
  assert_int_equal(got.managed, 1);

  /* unknown certificate */
  ck_errctx_clear(&e);
  {
    char fp[65];
    fx_hex("fp", 999, fp);
    assert_int_equal(ck_store_cert_get(f.s, fp, 0, f.a, &got, &e),
                     CK_ERR_NOT_FOUND);
    assert_non_null(strstr(e.msg, fp));
  }
  ck_store_write_free(w);
  fx_teardown(&f);
}

static void reconciliation(void **state) {
  fx f;
  ck_store_cert c, got;
  ck_store_write *w = wnew();
  ck_errctx e = CK_ERRCTX_INIT;
  int64_t id;

  (void)state;
  fx_setup(&f);
  /* an agent reports a certificate nobody issued here: unmanaged */
  fx_cert(&f, &c, 1);
  c.source = CK_CERT_SRC_DISCOVERED;
  id = fx_put_cert(&f, &c);
  assert_int_equal(ck_store_cert_get(f.s, c.fingerprint, 0, f.a, &got, &e),
                   CK_OK);
  assert_int_equal(got.managed, 0);
  assert_int_equal(got.source, CK_CERT_SRC_DISCOVERED);
  /* reported again: same row, nothing changes */
  assert_int_equal(fx_put_cert(&f, &c), id);
  assert_int_equal(fx_sql_int(&f, "SELECT count(*) FROM certs"), 1);
  /* the issuance record arrives: the row is adopted, managed */
  c.source = CK_CERT_SRC_ISSUED;
  c.ca_id = 1;
  c.owner = "team-a";
  c.profile = "tls-server";
  assert_int_equal(fx_put_cert(&f, &c), id);
  assert_int_equal(ck_store_cert_get(f.s, c.fingerprint, 0, f.a, &got, &e),
                   CK_OK);
  assert_int_equal(got.managed, 1);
  assert_int_equal(got.source, CK_CERT_SRC_ISSUED);
  assert_int_equal(got.ca_id, 1);
  assert_string_equal(got.owner, "team-a");
  /* discovered later on another host: still the issued, managed row */
  c.source = CK_CERT_SRC_DISCOVERED;
  assert_int_equal(fx_put_cert(&f, &c), id);
  assert_int_equal(ck_store_cert_get(f.s, c.fingerprint, 0, f.a, &got, &e),
                   CK_OK);
  assert_int_equal(got.managed, 1);
  /* issuing the same certificate twice is refused */
  c.source = CK_CERT_SRC_ISSUED;
  assert_int_equal(ck_store_write_cert_put(w, &c, &e), CK_OK);
  fx_commit(&f, w, CK_ERR_EXIST);
  assert_non_null(strstr(ck_store_write_errmsg(w), "already stored"));
  /* an operator adopts another discovered one by hand */
  ck_store_write_reset(w);
  fx_cert(&f, &c, 2);
  c.source = CK_CERT_SRC_DISCOVERED;
  fx_put_cert(&f, &c);
  {
    ck_store_cert_patch p = {NULL, NULL, -1, 1};
    assert_int_equal(ck_store_write_cert_set(w, c.fingerprint, &p, &e), CK_OK);
  }
  fx_commit(&f, w, CK_OK);
  assert_int_equal(ck_store_cert_get(f.s, c.fingerprint, 0, f.a, &got, &e),
                   CK_OK);
  assert_int_equal(got.managed, 1);
  assert_int_equal(got.source, CK_CERT_SRC_DISCOVERED);
  ck_store_write_free(w);
  fx_teardown(&f);
}

static void agents_owners(void **state) {
  fx f;
  ck_store_write *w = wnew();
  ck_errctx e = CK_ERRCTX_INIT;
  ck_store_agent a = {0}, got;
  ck_store_owner o = {0}, og;
  char idfp[65];

  (void)state;
  fx_setup(&f);
  fx_hex("identity", 1, idfp);
  a.id = "agent-0001";
  a.name = "web-01.example.com";
  a.group = "web";
  memcpy(a.identity_fp, idfp, 65);
  a.status = CK_AGENT_ACTIVE;
  a.enrolled_at = FX_NOW;
  a.last_seen = FX_NOW + 5;
  a.platform = "linux-x86_64";
  a.version = "0.1.0";
  o.name = "web-team";
  o.email = "web@example.com";
  o.webhook = "https://hooks.example.com/web";
  assert_int_equal(ck_store_write_agent_put(w, &a, &e), CK_OK);
  assert_int_equal(ck_store_write_owner_put(w, &o, &e), CK_OK);
  fx_commit(&f, w, CK_OK);

  assert_int_equal(ck_store_agent_get(f.s, "agent-0001", f.a, &got, &e), CK_OK);
  assert_string_equal(got.id, a.id);
  assert_string_equal(got.name, a.name);
  assert_string_equal(got.group, a.group);
  assert_string_equal(got.identity_fp, idfp);
  assert_int_equal(got.status, CK_AGENT_ACTIVE);
  assert_int_equal(got.enrolled_at, FX_NOW);
  assert_int_equal(got.last_seen, FX_NOW + 5);
  assert_string_equal(got.platform, a.platform);
  assert_string_equal(got.version, a.version);
  assert_int_equal(ck_store_agent_by_identity(f.s, idfp, f.a, &got, &e), CK_OK);
  assert_string_equal(got.id, "agent-0001");

  /* seen: last_seen and version move, platform kept */
  ck_store_write_reset(w);
  assert_int_equal(ck_store_write_agent_seen(w, "agent-0001", FX_NOW + 60, NULL,
                                             "0.2.0", &e),
                   CK_OK);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(ck_store_agent_get(f.s, "agent-0001", f.a, &got, &e), CK_OK);
  assert_int_equal(got.last_seen, FX_NOW + 60);
  assert_string_equal(got.version, "0.2.0");
  assert_string_equal(got.platform, "linux-x86_64");
  /* re-put (re-enrolment) keeps enrolled_at */
  ck_store_write_reset(w);
  a.enrolled_at = FX_NOW + 1000;
  a.status = CK_AGENT_DISABLED;
  assert_int_equal(ck_store_write_agent_put(w, &a, &e), CK_OK);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(ck_store_agent_get(f.s, "agent-0001", f.a, &got, &e), CK_OK);
  assert_int_equal(got.enrolled_at, FX_NOW);
  assert_int_equal(got.status, CK_AGENT_DISABLED);
  /* unknown agent */
  ck_store_write_reset(w);
  assert_int_equal(
      ck_store_write_agent_seen(w, "agent-nope", 0, NULL, NULL, &e), CK_OK);
  fx_commit(&f, w, CK_ERR_NOT_FOUND);
  assert_non_null(strstr(ck_store_write_errmsg(w), "agent-nope"));
  assert_int_equal(ck_store_agent_get(f.s, "agent-nope", f.a, &got, &e),
                   CK_ERR_NOT_FOUND);

  /* owners: get, update, list, delete */
  assert_int_equal(ck_store_owner_get(f.s, "web-team", f.a, &og, &e), CK_OK);
  assert_string_equal(og.email, o.email);
  assert_string_equal(og.webhook, o.webhook);
  ck_store_write_reset(w);
  o.email = "web-oncall@example.com";
  assert_int_equal(ck_store_write_owner_put(w, &o, &e), CK_OK);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(ck_store_owner_get(f.s, "web-team", f.a, &og, &e), CK_OK);
  assert_string_equal(og.email, "web-oncall@example.com");
  {
    ck_store_page pg = {0};
    ck_store_owner *items = NULL;
    size_t n = 0;
    assert_int_equal(ck_store_owner_list(f.s, &pg, f.a, &items, &n, &e), CK_OK);
    assert_int_equal(n, 1);
    assert_null(pg.next_cursor);
  }
  ck_store_write_reset(w);
  assert_int_equal(ck_store_write_owner_del(w, "web-team", &e), CK_OK);
  fx_commit(&f, w, CK_OK);
  ck_store_write_reset(w);
  assert_int_equal(ck_store_write_owner_del(w, "web-team", &e), CK_OK);
  fx_commit(&f, w, CK_ERR_NOT_FOUND);
  ck_store_write_free(w);
  fx_teardown(&f);
}

static void profiles_versioned(void **state) {
  fx f;
  ck_store_write *w = wnew();
  ck_errctx e = CK_ERRCTX_INIT;
  ck_store_profile p = {0}, got, *items = NULL;
  ck_store_page pg = {0};
  size_t n = 0;

  (void)state;
  fx_setup(&f);
  p.name = "tls-server";
  p.body = "{\"max_days\":90}";
  p.actor = "token:admin";
  p.ca_id = 2;
  assert_int_equal(ck_store_write_profile_put(w, &p, 0, &e), CK_OK);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(ck_store_write_result(w, 0), 1);
  /* a second "create" conflicts */
  ck_store_write_reset(w);
  assert_int_equal(ck_store_write_profile_put(w, &p, 0, &e), CK_OK);
  fx_commit(&f, w, CK_ERR_CONFLICT);
  assert_non_null(strstr(ck_store_write_errmsg(w), "version 1"));
  /* update from version 1 */
  ck_store_write_reset(w);
  p.body = "{\"max_days\":30}";
  assert_int_equal(ck_store_write_profile_put(w, &p, 1, &e), CK_OK);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(ck_store_write_result(w, 0), 2);
  /* unconditional update */
  ck_store_write_reset(w);
  p.body = "{\"max_days\":7}";
  assert_int_equal(ck_store_write_profile_put(w, &p, -1, &e), CK_OK);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(ck_store_write_result(w, 0), 3);

  assert_int_equal(ck_store_profile_get(f.s, "tls-server", 0, f.a, &got, &e),
                   CK_OK);
  assert_int_equal(got.version, 3);
  assert_string_equal(got.body, "{\"max_days\":7}");
  assert_int_equal(got.ca_id, 2);
  assert_string_equal(got.actor, "token:admin");
  assert_int_equal(got.deleted, 0);
  assert_int_equal(ck_store_profile_get(f.s, "tls-server", 1, f.a, &got, &e),
                   CK_OK);
  assert_string_equal(got.body, "{\"max_days\":90}");
  assert_int_equal(ck_store_profile_get(f.s, "tls-server", 9, f.a, &got, &e),
                   CK_ERR_NOT_FOUND);
  /* history, two per page */
  pg.limit = 2;
  assert_int_equal(
      ck_store_profile_history(f.s, "tls-server", &pg, f.a, &items, &n, &e),
      CK_OK);
  assert_int_equal(n, 2);
  assert_int_equal(items[0].version, 1);
  assert_int_equal(items[1].version, 2);
  assert_non_null(pg.next_cursor);
  pg.cursor = pg.next_cursor;
  assert_int_equal(
      ck_store_profile_history(f.s, "tls-server", &pg, f.a, &items, &n, &e),
      CK_OK);
  assert_int_equal(n, 1);
  assert_int_equal(items[0].version, 3);
  assert_null(pg.next_cursor);

  /* a second profile; the list shows the latest of each */
  ck_store_write_reset(w);
  p.name = "tls-client";
  p.body = "{}";
  assert_int_equal(ck_store_write_profile_put(w, &p, 0, &e), CK_OK);
  fx_commit(&f, w, CK_OK);
  memset(&pg, 0, sizeof pg);
  assert_int_equal(ck_store_profile_list(f.s, &pg, f.a, &items, &n, &e), CK_OK);
  assert_int_equal(n, 2);
  assert_string_equal(items[0].name, "tls-client");
  assert_string_equal(items[1].name, "tls-server");
  assert_int_equal(items[1].version, 3);
  /* deleting is a version too; deleted profiles leave the list */
  ck_store_write_reset(w);
  p.deleted = 1;
  p.body = NULL;
  assert_int_equal(ck_store_write_profile_put(w, &p, 1, &e), CK_OK);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(ck_store_profile_list(f.s, &pg, f.a, &items, &n, &e), CK_OK);
  assert_int_equal(n, 1);
  assert_string_equal(items[0].name, "tls-server");
  assert_int_equal(ck_store_profile_get(f.s, "tls-client", 0, f.a, &got, &e),
                   CK_OK);
  assert_int_equal(got.deleted, 1);
  assert_int_equal(got.version, 2);
  ck_store_write_free(w);
  fx_teardown(&f);
}

static void requests_revocations(void **state) {
  fx f;
  ck_store_write *w = wnew();
  ck_errctx e = CK_ERRCTX_INIT;
  ck_store_request r = {0}, got, *items = NULL;
  ck_store_revocation rv = {0}, rg, *rvs = NULL;
  ck_store_cert c;
  ck_store_page pg = {0};
  const uint8_t csr[] = {0x30, 0x82, 0x01, 0x02, 0xaa};
  int64_t rid;
  size_t n = 0;

  (void)state;
  fx_setup(&f);
  r.agent_id = "agent-1";
  r.actor = "agent:agent-1";
  r.profile = "tls-server";
  r.profile_version = 3;
  r.csr = csr;
  r.csr_len = sizeof csr;
  r.state = CK_REQ_PENDING;
  r.reason = "profile needs approval";
  assert_int_equal(ck_store_write_request_put(w, &r, &e), CK_OK);
  fx_commit(&f, w, CK_OK);
  rid = ck_store_write_result(w, 0);
  assert_true(rid > 0);
  assert_int_equal(ck_store_request_get(f.s, rid, f.a, &got, &e), CK_OK);
  assert_string_equal(got.agent_id, "agent-1");
  assert_string_equal(got.token_id, "");
  assert_string_equal(got.actor, r.actor);
  assert_string_equal(got.profile, "tls-server");
  assert_int_equal(got.profile_version, 3);
  assert_int_equal(got.csr_len, sizeof csr);
  assert_memory_equal(got.csr, csr, sizeof csr);
  assert_int_equal(got.state, CK_REQ_PENDING);
  assert_string_equal(got.reason, r.reason);
  assert_string_equal(got.cert_fp, "");
  assert_int_equal(
      ck_store_request_list(f.s, CK_REQ_PENDING, &pg, f.a, &items, &n, &e),
      CK_OK);
  assert_int_equal(n, 1);

  /* issue it */
  fx_cert(&f, &c, 5);
  ck_store_write_reset(w);
  assert_int_equal(ck_store_write_cert_put(w, &c, &e), CK_OK);
  assert_int_equal(
      ck_store_write_request_set(w, rid, CK_REQ_ISSUED, "", c.fingerprint, &e),
      CK_OK);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(ck_store_write_result(w, 1), rid);
  assert_int_equal(ck_store_request_get(f.s, rid, f.a, &got, &e), CK_OK);
  assert_int_equal(got.state, CK_REQ_ISSUED);
  assert_string_equal(got.cert_fp, c.fingerprint);
  assert_int_equal(
      ck_store_request_list(f.s, CK_REQ_PENDING, &pg, f.a, &items, &n, &e),
      CK_OK);
  assert_int_equal(n, 0);
  /* not pending any more */
  ck_store_write_reset(w);
  assert_int_equal(
      ck_store_write_request_set(w, rid, CK_REQ_REFUSED, "no", NULL, &e),
      CK_OK);
  fx_commit(&f, w, CK_ERR_CONFLICT);
  assert_non_null(strstr(ck_store_write_errmsg(w), "issued, not pending"));
  ck_store_write_reset(w);
  assert_int_equal(
      ck_store_write_request_set(w, 4242, CK_REQ_REFUSED, "no", NULL, &e),
      CK_OK);
  fx_commit(&f, w, CK_ERR_NOT_FOUND);

  /* revoke */
  ck_store_write_reset(w);
  memcpy(rv.cert_fp, c.fingerprint, 65);
  rv.reason = 1; /* keyCompromise */
  rv.actor = "token:admin";
  rv.revoked_at = FX_NOW;
  assert_int_equal(ck_store_write_revoke(w, &rv, &e), CK_OK);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(ck_store_revocation_get(f.s, c.fingerprint, f.a, &rg, &e),
                   CK_OK);
  assert_string_equal(rg.cert_fp, c.fingerprint);
  assert_string_equal(rg.serial_hex, c.serial_hex);
  assert_int_equal(rg.reason, 1);
  assert_int_equal(rg.revoked_at, FX_NOW);
  assert_string_equal(rg.actor, "token:admin");
  {
    ck_store_cert got_c;
    assert_int_equal(ck_store_cert_get(f.s, c.fingerprint, 0, f.a, &got_c, &e),
                     CK_OK);
    assert_int_equal(got_c.status, CK_CERT_REVOKED);
  }
  memset(&pg, 0, sizeof pg);
  assert_int_equal(ck_store_revocation_list(f.s, 0, &pg, f.a, &rvs, &n, &e),
                   CK_OK);
  assert_int_equal(n, 1);
  /* twice: conflict; unknown: not found; both leave nothing behind */
  ck_store_write_reset(w);
  assert_int_equal(ck_store_write_revoke(w, &rv, &e), CK_OK);
  fx_commit(&f, w, CK_ERR_CONFLICT);
  ck_store_write_reset(w);
  fx_hex("fp", 777, rv.cert_fp);
  assert_int_equal(ck_store_write_revoke(w, &rv, &e), CK_OK);
  fx_commit(&f, w, CK_ERR_NOT_FOUND);
  assert_int_equal(fx_sql_int(&f, "SELECT count(*) FROM revocations"), 1);
  ck_store_write_free(w);
  fx_teardown(&f);
}

static void tokens_and_cas(void **state) {
  fx f;
  ck_store_write *w = wnew();
  ck_errctx e = CK_ERRCTX_INIT;
  ck_store_etoken t = {0}, tg;
  ck_store_apitoken at = {0}, ag;
  ck_store_ca ca = {0}, cg;
  char h1[65], h2[65], h3[65];
  const uint8_t der[] = {0x30, 0x03, 0x02, 0x01, 0x01};

  (void)state;
  fx_setup(&f);
  fx_hex("token", 1, h1);
  fx_hex("token", 2, h2);
  fx_hex("token", 3, h3);
  t.id = "et-1";
  memcpy(t.hash, h1, 65);
  t.group = "web";
  t.profiles = "tls-server\ntls-client";
  t.san_patterns = "*.web.example.com";
  t.actor = "token:admin";
  t.expires_at = FX_NOW + 3600;
  assert_int_equal(ck_store_write_etoken_put(w, &t, &e), CK_OK);
  t.id = "et-2";
  memcpy(t.hash, h2, 65);
  t.expires_at = FX_NOW - 1; /* already expired */
  assert_int_equal(ck_store_write_etoken_put(w, &t, &e), CK_OK);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(ck_store_etoken_get(f.s, h1, f.a, &tg, &e), CK_OK);
  assert_string_equal(tg.id, "et-1");
  assert_string_equal(tg.hash, h1);
  assert_string_equal(tg.group, "web");
  assert_string_equal(tg.profiles, "tls-server\ntls-client");
  assert_string_equal(tg.san_patterns, "*.web.example.com");
  assert_int_equal(tg.expires_at, FX_NOW + 3600);
  assert_int_equal(tg.used_at, 0);

  /* use once */
  ck_store_write_reset(w);
  assert_int_equal(ck_store_write_etoken_use(w, h1, "agent-9", FX_NOW, &e),
                   CK_OK);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(ck_store_etoken_get(f.s, h1, f.a, &tg, &e), CK_OK);
  assert_int_equal(tg.used_at, FX_NOW);
  assert_string_equal(tg.used_by, "agent-9");
  /* twice: conflict; expired; unknown */
  ck_store_write_reset(w);
  assert_int_equal(ck_store_write_etoken_use(w, h1, "agent-10", FX_NOW, &e),
                   CK_OK);
  fx_commit(&f, w, CK_ERR_CONFLICT);
  assert_non_null(strstr(ck_store_write_errmsg(w), "already used"));
  ck_store_write_reset(w);
  assert_int_equal(ck_store_write_etoken_use(w, h2, "agent-10", FX_NOW, &e),
                   CK_OK);
  fx_commit(&f, w, CK_ERR_EXPIRED);
  ck_store_write_reset(w);
  assert_int_equal(ck_store_write_etoken_use(w, h3, "agent-10", FX_NOW, &e),
                   CK_OK);
  fx_commit(&f, w, CK_ERR_NOT_FOUND);
  /* duplicate id */
  ck_store_write_reset(w);
  t.id = "et-1";
  memcpy(t.hash, h3, 65);
  assert_int_equal(ck_store_write_etoken_put(w, &t, &e), CK_OK);
  fx_commit(&f, w, CK_ERR_EXIST);

  /* API tokens */
  ck_store_write_reset(w);
  at.name = "admin";
  memcpy(at.hash, h3, 65);
  at.role = "admin";
  at.expires_at = 0;
  assert_int_equal(ck_store_write_apitoken_put(w, &at, &e), CK_OK);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(ck_store_apitoken_get(f.s, h3, f.a, &ag, &e), CK_OK);
  assert_string_equal(ag.name, "admin");
  assert_string_equal(ag.role, "admin");
  assert_string_equal(ag.owner, "");
  assert_int_equal(ag.revoked, 0);
  assert_true(ag.created_at > 0);
  ck_store_write_reset(w);
  assert_int_equal(ck_store_write_apitoken_put(w, &at, &e), CK_OK);
  fx_commit(&f, w, CK_ERR_EXIST);
  ck_store_write_reset(w);
  assert_int_equal(ck_store_write_apitoken_revoke(w, "admin", &e), CK_OK);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(ck_store_apitoken_get(f.s, h3, f.a, &ag, &e), CK_OK);
  assert_int_equal(ag.revoked, 1);
  assert_int_equal(ck_store_apitoken_get(f.s, h2, f.a, &ag, &e),
                   CK_ERR_NOT_FOUND);

  /* CAs: default flag moves, CRL numbers count up */
  ck_store_write_reset(w);
  ca.name = "root";
  ca.cert_der = der;
  ca.cert_der_len = sizeof der;
  ca.key_path = "/var/lib/certkeeper/ca/root.key";
  assert_int_equal(ck_store_write_ca_put(w, &ca, &e), CK_OK);
  ca.name = "issuing";
  ca.parent_id = 1;
  ca.is_default = 1;
  assert_int_equal(ck_store_write_ca_put(w, &ca, &e), CK_OK);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(ck_store_write_result(w, 1), 2);
  assert_int_equal(ck_store_ca_get(f.s, 0, NULL, f.a, &cg, &e), CK_OK);
  assert_string_equal(cg.name, "issuing");
  assert_int_equal(cg.parent_id, 1);
  assert_int_equal(cg.cert_der_len, sizeof der);
  assert_memory_equal(cg.cert_der, der, sizeof der);
  assert_int_equal(cg.next_crl_number, 1);
  ck_store_write_reset(w);
  ca.name = "issuing-2";
  assert_int_equal(ck_store_write_ca_put(w, &ca, &e), CK_OK);
  assert_int_equal(ck_store_write_ca_crl_number(w, 2, &e), CK_OK);
  assert_int_equal(ck_store_write_ca_crl_number(w, 2, &e), CK_OK);
  fx_commit(&f, w, CK_OK);
  assert_int_equal(ck_store_write_result(w, 1), 1);
  assert_int_equal(ck_store_write_result(w, 2), 2);
  assert_int_equal(ck_store_ca_get(f.s, 0, NULL, f.a, &cg, &e), CK_OK);
  assert_string_equal(cg.name, "issuing-2");
  assert_int_equal(ck_store_ca_get(f.s, 0, "issuing", f.a, &cg, &e), CK_OK);
  assert_int_equal(cg.is_default, 0);
  assert_int_equal(cg.next_crl_number, 3);
  assert_int_equal(ck_store_ca_get(f.s, 9, NULL, f.a, &cg, &e),
                   CK_ERR_NOT_FOUND);
  ck_store_write_reset(w);
  assert_int_equal(ck_store_write_ca_put(w, &ca, &e), CK_OK);
  fx_commit(&f, w, CK_ERR_EXIST);
  ck_store_write_reset(w);
  assert_int_equal(ck_store_write_ca_crl_number(w, 9, &e), CK_OK);
  fx_commit(&f, w, CK_ERR_NOT_FOUND);
  ck_store_write_free(w);
  fx_teardown(&f);
}

/* A write whose second operation fails leaves nothing: not its first
 * operation, not its audit event, and the audit seq is not consumed. */
static void write_is_atomic(void **state) {
  fx f;
  ck_store_write *w = wnew(), *ok = wnew();
  ck_errctx e = CK_ERRCTX_INIT;
  ck_store_cert c, got;
  ck_store_revocation rv = {0};
  ck_audit_event ev = {0};

  (void)state;
  fx_setup(&f);
  fx_cert(&f, &c, 1);
  ev.actor = "test";
  ev.action = "cert.issue";
  ev.object_type = "cert";
  ev.object_id = c.fingerprint;
  assert_int_equal(ck_store_write_cert_put(w, &c, &e), CK_OK);
  fx_hex("fp", 404, rv.cert_fp);
  rv.actor = "test";
  assert_int_equal(ck_store_write_revoke(w, &rv, &e), CK_OK);
  assert_int_equal(ck_store_write_audit(w, &ev, &e), CK_OK);
  assert_int_equal(ck_store_write_count(w), 3);
  fx_commit(&f, w, CK_ERR_NOT_FOUND);
  assert_int_equal(ck_store_write_failed_op(w), 1);
  assert_non_null(strstr(ck_store_write_errmsg(w), "operation 1"));
  assert_non_null(strstr(ck_store_write_errmsg(w), "cert.revoke"));
  assert_int_equal(ck_store_write_result(w, 0), 0);
  assert_int_equal(ck_store_cert_get(f.s, c.fingerprint, 0, f.a, &got, &e),
                   CK_ERR_NOT_FOUND);
  assert_int_equal(fx_sql_int(&f, "SELECT count(*) FROM audit"), 0);
  /* the next audited write gets seq 1 */
  assert_int_equal(ck_store_write_cert_put(ok, &c, &e), CK_OK);
  assert_int_equal(ck_store_write_audit(ok, &ev, &e), CK_OK);
  fx_commit(&f, ok, CK_OK);
  assert_int_equal(ck_store_write_result(ok, 1), 1);
  assert_int_equal(fx_sql_int(&f, "SELECT count(*) FROM certs"), 1);
  /* a failed write can be fixed and resubmitted */
  ck_store_write_reset(w);
  fx_cert(&f, &c, 2);
  assert_int_equal(ck_store_write_cert_put(w, &c, &e), CK_OK);
  fx_commit(&f, w, CK_OK);
  ck_store_write_free(w);
  ck_store_write_free(ok);
  fx_teardown(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(cert_roundtrip),
      cmocka_unit_test(reconciliation),
      cmocka_unit_test(agents_owners),
      cmocka_unit_test(profiles_versioned),
      cmocka_unit_test(requests_revocations),
      cmocka_unit_test(tokens_and_cas),
      cmocka_unit_test(write_is_atomic),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
