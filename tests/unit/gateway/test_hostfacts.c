/* test_hostfacts.c — host facts an agent reports in inventories
 * (`inventory.host`, docs/protocol.md): a fake agent sends a full
 * inventory carrying them, then deltas without findings when a hardware
 * key store appears or leaves.
 *
 * Checked: the facts are recorded on the agent (JSON, hwkeys sorted and
 * deduplicated) and served by the store read the REST API uses; a change of
 * the hardware key set is audited as agent.facts with what was added and
 * removed; the same facts again write nothing (no new audit event); a delta
 * with host facts for a generation the session does not hold is refused
 * and records nothing; facts that are not printable ASCII refuse the
 * inventory (CK_ERR_INVAL naming the fact) and the session goes on; an
 * inventory without `host` (an older agent) leaves the facts alone. */
#include "tests/unit/gateway/gw_fixture.h"

#include <jansson.h>

/* Sends an inventory (seq onto base for a delta) with the given hwkeys
 * (host absent when keys is NULL) and waits for the ack or the error. */
static void send_inv(gwc *c, ck_wire_inv_mode mode, uint64_t seq,
                     const char *const *keys, size_t n, ck_err want,
                     const char *needle) {
  ck_wire_msg m, r;
  ck_arena *a = NULL;

  gw_inventory_msg(&m, mode, seq, seq);
  if (keys != NULL) {
    m.u.inventory.has_host = true;
    m.u.inventory.host.hostname = "web-01";
    m.u.inventory.host.os = "linux";
    m.u.inventory.host.os_version = "6.1.0-13-amd64";
    m.u.inventory.host.arch = "x86_64";
    m.u.inventory.host.machine_id = "0123456789abcdef0123456789abcdef";
    m.u.inventory.host.hwkeys.v = (const char **)keys;
    m.u.inventory.host.hwkeys.n = n;
  }
  gwc_send(c, &m);
  if (want == CK_OK) {
    gwc_expect(c, CK_WIRE_ACK, m.id, &r, &a);
    ck_arena_free(a);
  } else {
    gwc_expect_error(c, want, m.id, needle, 0);
  }
}

/* The agent's stored host facts, parsed (caller decrefs); NULL when none.
 * This is the row GET /api/v1/agents/{id} serves (rest_inventory.c). */
static json_t *stored_host(const char *agent_id, int64_t *at) {
  ck_arena *a = ck_arena_new(4096);
  ck_store_agent ag;
  json_t *h = NULL;

  assert_int_equal(ck_store_agent_get(fx.rt.store, agent_id, a, &ag, NULL),
                   CK_OK);
  if (ag.host[0] != '\0') {
    h = json_loads(ag.host, 0, NULL);
    assert_non_null(h);
  }
  if (at != NULL)
    *at = ag.host_at;
  ck_arena_free(a);
  return h;
}

static void expect_hwkeys(const json_t *h, const char *const *want, size_t n) {
  const json_t *arr = json_object_get(h, "hwkeys");
  size_t i;

  assert_true(json_is_array(arr));
  assert_int_equal(json_array_size(arr), n);
  for (i = 0; i < n; i++)
    assert_string_equal(json_string_value(json_array_get(arr, i)), want[i]);
}

/* Number of agent.facts events, and the details of the last one. */
static size_t facts_events(char *details, size_t len) {
  ck_arena *a = ck_arena_new(65536);
  ck_store_page pg;
  ck_audit_event *items;
  size_t n, i, hits = 0;

  memset(&pg, 0, sizeof pg);
  pg.limit = CK_STORE_PAGE_MAX;
  assert_int_equal(
      ck_store_audit_list(fx.rt.store, 0, &pg, a, &items, &n, NULL), CK_OK);
  for (i = 0; i < n; i++)
    if (strcmp(items[i].action, "agent.facts") == 0) {
      hits++;
      assert_string_equal(items[i].object_type, "agent");
      ck_strlcpy(details, items[i].details, len);
    }
  ck_arena_free(a);
  return hits;
}

static void test_host_facts(void **state) {
  static const char *const start[] = {"tpm:tpmrm0", "tpm:tpm0", "tpm:tpm0"};
  static const char *const start_sorted[] = {"tpm:tpm0", "tpm:tpmrm0"};
  static const char *const plugged[] = {"tpm:tpm0", "tpm:tpmrm0",
                                        "smartcard-reader:Yubico YubiKey CCID"};
  static const char *const plugged_sorted[] = {
      "smartcard-reader:Yubico YubiKey CCID", "tpm:tpm0", "tpm:tpmrm0"};
  static const char *const pulled[] = {"smartcard-reader:Yubico YubiKey CCID"};
  static const char *const bad[] = {"tpm:tpm\x01"};
  static const char *const nocolon[] = {"tpm0"};
  char details[1024] = "";
  json_t *h;
  gw_ident id;
  uint64_t hid;
  ck_wire_msg m;
  ck_arena *a = NULL;
  int64_t at = 0;
  gwc c;

  (void)state;
  gw_enroll_agent(&fx, "web", "tls-server", ".example.test", &id);
  assert_null(stored_host(id.agent_id, NULL)); /* enrollment records none */
  assert_int_equal(gwc_open(&fx, &c, &id), CK_OK);
  hid = gwc_hello(&c, id.agent_id);
  gwc_expect(&c, CK_WIRE_WELCOME, hid, &m, &a);
  ck_arena_free(a);

  /* a delta before any full inventory: refused, nothing recorded */
  send_inv(&c, CK_WIRE_INV_DELTA, 7, start, 3, CK_ERR_CONFLICT,
           "send a full inventory");
  assert_null(stored_host(id.agent_id, NULL));

  /* full inventory with the facts: recorded, the TPM audited as added */
  send_inv(&c, CK_WIRE_INV_FULL, 7, start, 3, CK_OK, NULL);
  h = stored_host(id.agent_id, &at);
  assert_non_null(h);
  assert_true(at > 0);
  assert_string_equal(json_string_value(json_object_get(h, "hostname")),
                      "web-01");
  assert_string_equal(json_string_value(json_object_get(h, "os_version")),
                      "6.1.0-13-amd64");
  assert_string_equal(json_string_value(json_object_get(h, "machine_id")),
                      "0123456789abcdef0123456789abcdef");
  expect_hwkeys(h, start_sorted, 2);
  json_decref(h);
  assert_int_equal(facts_events(details, sizeof details), 1);
  assert_string_equal(details, "{\"added\":[\"tpm:tpm0\",\"tpm:tpmrm0\"],"
                               "\"removed\":[]}");

  /* the same facts in the next full inventory: no write, no event */
  send_inv(&c, CK_WIRE_INV_FULL, 8, start_sorted, 2, CK_OK, NULL);
  assert_int_equal(facts_events(details, sizeof details), 1);

  /* a reader plugged in: delta of generation 8 onto itself */
  send_inv(&c, CK_WIRE_INV_DELTA, 8, plugged, 3, CK_OK, NULL);
  h = stored_host(id.agent_id, NULL);
  expect_hwkeys(h, plugged_sorted, 3);
  json_decref(h);
  assert_int_equal(facts_events(details, sizeof details), 2);
  assert_string_equal(details,
                      "{\"added\":[\"smartcard-reader:Yubico YubiKey CCID\"],"
                      "\"removed\":[]}");

  /* the TPM gone */
  send_inv(&c, CK_WIRE_INV_DELTA, 8, pulled, 1, CK_OK, NULL);
  assert_int_equal(facts_events(details, sizeof details), 3);
  assert_string_equal(details, "{\"added\":[],\"removed\":[\"tpm:tpm0\","
                               "\"tpm:tpmrm0\"]}");

  /* bad facts: refused, named, nothing changes, the session goes on */
  send_inv(&c, CK_WIRE_INV_DELTA, 8, bad, 1, CK_ERR_INVAL,
           "inventory.host.hwkeys[0]");
  send_inv(&c, CK_WIRE_INV_DELTA, 8, nocolon, 1, CK_ERR_INVAL,
           "inventory.host.hwkeys[0]");
  /* an older agent's inventory without host: the facts stay */
  send_inv(&c, CK_WIRE_INV_FULL, 9, NULL, 0, CK_OK, NULL);
  h = stored_host(id.agent_id, NULL);
  expect_hwkeys(h, pulled, 1);
  json_decref(h);
  assert_int_equal(facts_events(details, sizeof details), 3);

  gwc_close(&c);
  gw_ident_clear(&id);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_host_facts, gw_setup, gw_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
