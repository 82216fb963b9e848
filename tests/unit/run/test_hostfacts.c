/* test_hostfacts.c — host facts of the agent (agent/link/hostfacts.h) and
 * the inventory priv sends when a hardware key store appears or leaves
 * (ck__priv_hwkey_delta): a delta of the current generation onto itself,
 * without findings, whose `host` lists the stores, sorted. The frame goes
 * through the same decode -> copy -> encode that net applies when it
 * relays an inventory, and the host facts must survive it. */
#include "tests/testutil.h"

#include <stdlib.h>
#include <string.h>

#include "agent/link/hostfacts.h"
#include "agent/run/priv.h"
#include "common/wire/wire.h"

/* Encodes m, decodes it, copies it like net does (new id), encodes and
 * decodes again into *out (arena a). */
static void relay(const ck_wire_msg *m, ck_arena *a, ck_wire_msg *out) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_wire_msg d, f;
  uint8_t *b = NULL, *b2 = NULL;
  size_t n = 0, n2 = 0;

  assert_int_equal(ck_wire_encode(m, NULL, &b, &n, &err), CK_OK);
  assert_int_equal(ck_wire_decode(b + 4, n - 4, NULL, a, &d, &err), CK_OK);
  f = d;
  f.id = 777;
  assert_int_equal(ck_wire_encode(&f, NULL, &b2, &n2, &err), CK_OK);
  assert_int_equal(ck_wire_decode(b2 + 4, n2 - 4, NULL, a, out, &err), CK_OK);
  assert_int_equal(out->id, 777);
  free(b);
  free(b2);
}

static void expect_keys(const ck_wire_msg *m, const char *const *want,
                        size_t n) {
  size_t i;

  assert_int_equal(m->type, CK_WIRE_INVENTORY);
  assert_true(m->u.inventory.has_host);
  assert_int_equal(m->u.inventory.host.hwkeys.n, n);
  for (i = 0; i < n; i++)
    assert_string_equal(m->u.inventory.host.hwkeys.v[i], want[i]);
}

static void test_read(void **state) {
  ck_hostfacts hf;
  ck_wire_host h;

  (void)state;
  ck_hostfacts_read(&hf, "web1");
  assert_string_equal(hf.hostname, "web1");
  ck_hostfacts_wire(&hf, &h);
  assert_string_equal(h.hostname, "web1");
  assert_non_null(h.os);
  assert_non_null(h.arch);
  assert_int_equal(h.hwkeys.n, 0);
  ck_hostfacts_free(&hf);
  ck_hostfacts_read(&hf, NULL);
  assert_true(hf.hostname[0] != '\0');
  ck_hostfacts_free(&hf);
}

static void test_delta_frames(void **state) {
  static const char *const two[] = {"tpm:tpm0", "tpm:tpmrm0"};
  static const char *const three[] = {
      "smartcard-reader:/devices/pci0000:00/usb1/1-2/1-2:1.0",
      "smartcard-reader:Yubico YubiKey ??? CCID", "tpm:tpmrm0"};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *a = ck_arena_new(0);
  ck_hostfacts hf;
  ck_wire_msg m, d;
  int built = -1;

  (void)state;
  ck_hostfacts_read(&hf, "web1");
  /* start-up enumeration, in any order: the list is sorted */
  assert_int_equal(ck__priv_hwkey_delta(&hf, "tpm", "present",
                                        "/devices/tpm/tpmrm0", "tpmrm0", 42, &m,
                                        &built, &err),
                   CK_OK);
  assert_int_equal(built, 1);
  assert_int_equal(ck__priv_hwkey_delta(&hf, "tpm", "present",
                                        "/devices/tpm/tpm0", "tpm0", 42, &m,
                                        &built, &err),
                   CK_OK);
  assert_int_equal(built, 1);
  relay(&m, a, &d);
  assert_int_equal(d.u.inventory.mode, CK_WIRE_INV_DELTA);
  assert_int_equal(d.u.inventory.seq, 42);
  assert_true(d.u.inventory.has_base);
  assert_int_equal(d.u.inventory.base, 42);
  assert_int_equal(d.u.inventory.n_findings, 0);
  assert_int_equal(d.u.inventory.removed.n, 0);
  assert_string_equal(d.u.inventory.host.hostname, "web1");
  assert_non_null(d.u.inventory.host.os);
  expect_keys(&d, two, 2);

  /* the same device again, or removing an unknown one: nothing to send */
  memset(&m, 0, sizeof m);
  assert_int_equal(ck__priv_hwkey_delta(&hf, "tpm", "add", "/devices/tpm/tpm0",
                                        "tpm0", 43, &m, &built, &err),
                   CK_OK);
  assert_int_equal(built, 0);
  assert_int_equal(m.type, CK_WIRE_UNKNOWN);
  assert_int_equal(ck__priv_hwkey_delta(&hf, "tpm", "remove", "/devices/nope",
                                        NULL, 43, &m, &built, &err),
                   CK_OK);
  assert_int_equal(built, 0);

  /* readers: by name (cleaned to printable ASCII), else by devpath */
  assert_int_equal(ck__priv_hwkey_delta(&hf, "smartcard-reader", "add",
                                        "/devices/pci0000:00/usb1/1-3/1-3:1.0",
                                        "Yubico YubiKey \xc3\xa9\x01 CCID", 43,
                                        &m, &built, &err),
                   CK_OK);
  assert_int_equal(built, 1);
  assert_int_equal(ck__priv_hwkey_delta(&hf, "smartcard-reader", "add",
                                        "/devices/pci0000:00/usb1/1-2/1-2:1.0",
                                        NULL, 43, &m, &built, &err),
                   CK_OK);
  /* the TPM leaves (remove reports may come without a name) */
  assert_int_equal(ck__priv_hwkey_delta(&hf, "tpm", "remove",
                                        "/devices/tpm/tpm0", NULL, 43, &m,
                                        &built, &err),
                   CK_OK);
  assert_int_equal(built, 1);
  relay(&m, a, &d);
  assert_int_equal(d.u.inventory.seq, 43);
  expect_keys(&d, three, 3);

  /* refused reports */
  assert_int_equal(ck__priv_hwkey_delta(&hf, "tpm", "change", "/devices/x", "x",
                                        43, &m, &built, &err),
                   CK_ERR_INVAL);
  assert_int_equal(built, 0);
  assert_int_equal(
      ck__priv_hwkey_delta(&hf, "tpm", "add", NULL, "x", 43, &m, &built, &err),
      CK_ERR_INVAL);
  ck_hostfacts_free(&hf);
  ck_arena_free(a);
}

static void test_limits(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_hostfacts hf;
  char dp[64], name[512];
  int changed = 0;
  unsigned i;

  (void)state;
  ck_hostfacts_read(&hf, "h");
  memset(name, 'n', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  for (i = 0; i < CK_HOSTFACTS_MAX_HWKEYS; i++) {
    snprintf(dp, sizeof dp, "/devices/r%u", i);
    assert_int_equal(ck_hostfacts_hwkey(&hf, "smartcard-reader", "add", dp,
                                        name, &changed, &err),
                     CK_OK);
    assert_int_equal(changed, 1);
    assert_int_equal(strlen(hf.keys[i].entry), CK_HOSTFACTS_HWKEY_MAX);
  }
  assert_int_equal(ck_hostfacts_hwkey(&hf, "tpm", "add", "/devices/tpm0",
                                      "tpm0", &changed, &err),
                   CK_ERR_LIMIT);
  assert_int_equal(changed, 0);
  assert_int_equal(hf.n_keys, CK_HOSTFACTS_MAX_HWKEYS);
  {
    /* the largest host map still fits in the room priv keeps for it in
     * part 0 of a full inventory (16 KiB) */
    ck_wire_msg m;
    uint8_t *b = NULL;
    size_t n = 0;

    memset(&m, 0, sizeof m);
    m.type = CK_WIRE_INVENTORY;
    m.u.inventory.mode = CK_WIRE_INV_FULL;
    memset(hf.hostname, 'h', sizeof hf.hostname - 1);
    memset(hf.machine_id, 'm', sizeof hf.machine_id - 1);
    memset(hf.os_version, 'v', sizeof hf.os_version - 1);
    memset(hf.arch, 'a', sizeof hf.arch - 1);
    ck_hostfacts_wire(&hf, &m.u.inventory.host);
    m.u.inventory.has_host = true;
    assert_int_equal(ck_wire_encode(&m, NULL, &b, &n, &err), CK_OK);
    assert_true(n < 16u * 1024u);
    free(b);
  }
  ck_hostfacts_free(&hf);
  ck_hostfacts_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_read),
      cmocka_unit_test(test_delta_frames),
      cmocka_unit_test(test_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
