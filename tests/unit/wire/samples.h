/* samples.h — sample messages of every wire type for the wire tests, and a
 * field-by-field comparison written out by hand (not derived from the schema
 * tables, so a table mistake cannot hide itself).
 *
 * sample_full() sets every field, optional ones included; sample_min() only
 * the required ones. Data is static: nothing to free. */
#ifndef CK_TESTS_WIRE_SAMPLES_H
#define CK_TESTS_WIRE_SAMPLES_H

#include <string.h>

#include "common/wire/wire.h"
#include "tests/testutil.h"

static const uint8_t s_fp[32] = {
    0xde, 0xad, 0xbe, 0xef, 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12,
    13,   14,   15,   16,   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 0};
static const uint8_t s_der[] = {0x30, 0x82, 0x01, 0x0a, 0x02, 0x00, 0xff, 0x00};
static const uint8_t s_ca1[] = {0x30, 0x03, 0x01, 0x01, 0xff};
static const uint8_t s_ca2[] = {0x30, 0x00};
static const char s_csr_pem[] = "-----BEGIN CERTIFICATE REQUEST-----\n"
                                "MIIBFAKE\n"
                                "-----END CERTIFICATE REQUEST-----\n";
static const char *s_caps[] = {"pkcs12", "est", "reload.systemd"};
static const char *s_addrs[] = {"192.0.2.10", "2001:db8::10"};
static const char *s_hwkeys[] = {"tpm:tpm0", "tpm:tpmrm0",
                                 "smartcard-reader:Yubico YubiKey OTP+FIDO+CCID"};
static const char *s_sans[] = {"DNS:www.example.com", "DNS:example.com",
                               "IP:192.0.2.10"};
static const char *s_services[] = {"nginx"};
static const char *s_endpoints[] = {"0.0.0.0:443", "[::]:443"};
static const char *s_risks[] = {"expiring_soon", "key_group_readable"};
static const char *s_removed[] = {"/etc/ssl/old.pem"};
static const ck_wire_bytes s_chain[] = {{s_ca1, sizeof s_ca1},
                                        {s_ca2, sizeof s_ca2}};
static const ck_wire_kv s_args[] = {{"force", "true"}, {"profile", "web"}};

static const ck_wire_finding s_findings[] = {
    {.path = "/etc/nginx/tls/www.pem",
     .format = "pem",
     .index = 0,
     .has_index = true,
     .fingerprint = {s_fp, sizeof s_fp},
     .subject = "CN=www.example.com,O=Example",
     .issuer = "CN=Example Issuing CA,O=Example",
     .serial = "0A1B2C3D",
     .not_before = 1700000000,
     .has_not_before = true,
     .not_after = -5, /* negative on purpose: i64 must carry sign */
     .has_not_after = true,
     .sans = {s_sans, 3},
     .key_type = "ec",
     .key_bits = 256,
     .has_key_bits = true,
     .sig_alg = "ecdsa-with-SHA256",
     .is_ca = false,
     .has_is_ca = true,
     .key_path = "/etc/nginx/tls/www.key",
     .key_match = true,
     .has_key_match = true,
     .owner = "root",
     .group = "ssl-cert",
     .mode = 0640,
     .has_mode = true,
     .services = {s_services, 1},
     .endpoints = {s_endpoints, 2},
     .risks = {s_risks, 2},
     .managed_id = "mc-42",
     .der = {s_der, sizeof s_der}},
    {.path = "/srv/app/keystore.p12", .risks = {s_risks, 1}},
};

static inline void sample_full(ck_wire_type t, ck_wire_msg *m) {
  memset(m, 0, sizeof *m);
  m->type = t;
  m->id = 0x1122334455667788ull + (uint64_t)t;
  switch (t) {
  case CK_WIRE_HELLO:
    m->u.hello.agent_id = "agent-7f3a";
    m->u.hello.version = "0.1.0";
    m->u.hello.platform = "linux-x86_64";
    m->u.hello.caps = (ck_wire_strv){s_caps, 3};
    m->u.hello.max_v = 1;
    m->u.hello.has_max_v = true;
    break;
  case CK_WIRE_ENROLL:
    m->u.enroll.token = "tok-0123456789abcdef";
    m->u.enroll.csr =
        (ck_wire_bytes){(const uint8_t *)s_csr_pem, sizeof s_csr_pem - 1};
    m->u.enroll.host.hostname = "web1";
    m->u.enroll.host.fqdn = "web1.example.com";
    m->u.enroll.host.os = "linux";
    m->u.enroll.host.os_version = "Debian 12";
    m->u.enroll.host.arch = "x86_64";
    m->u.enroll.host.machine_id = "0123456789abcdef0123456789abcdef";
    m->u.enroll.host.addrs = (ck_wire_strv){s_addrs, 2};
    m->u.enroll.host.hwkeys = (ck_wire_strv){s_hwkeys, 3};
    break;
  case CK_WIRE_INVENTORY:
    m->u.inventory.mode = CK_WIRE_INV_DELTA;
    m->u.inventory.seq = 18;
    m->u.inventory.base = 17;
    m->u.inventory.has_base = true;
    m->u.inventory.part = 2;
    m->u.inventory.has_part = true;
    m->u.inventory.final = false;
    m->u.inventory.has_final = true;
    m->u.inventory.scanned_at = 1767225600;
    m->u.inventory.has_scanned_at = true;
    m->u.inventory.findings = s_findings;
    m->u.inventory.n_findings = 2;
    m->u.inventory.removed = (ck_wire_strv){s_removed, 1};
    m->u.inventory.host.hostname = "web1";
    m->u.inventory.host.fqdn = "web1.example.com";
    m->u.inventory.host.os = "linux";
    m->u.inventory.host.os_version = "6.1.0-13-amd64";
    m->u.inventory.host.arch = "x86_64";
    m->u.inventory.host.machine_id = "0123456789abcdef0123456789abcdef";
    m->u.inventory.host.addrs = (ck_wire_strv){s_addrs, 1};
    m->u.inventory.host.hwkeys = (ck_wire_strv){s_hwkeys, 2};
    m->u.inventory.has_host = true;
    break;
  case CK_WIRE_EVENT:
    m->u.event.kind = CK_WIRE_EVENT_FAILURE;
    m->u.event.cert_id = "mc-42";
    m->u.event.old_state = "RELOADING";
    m->u.event.new_state = "FAILED";
    m->u.event.reason = "nginx -s reload exited 1";
    m->u.event.code = (int32_t)CK_ERR_IO;
    m->u.event.has_code = true;
    m->u.event.at = 1767225601;
    m->u.event.attempt = 3;
    m->u.event.has_attempt = true;
    m->u.event.fingerprint = (ck_wire_bytes){s_fp, sizeof s_fp};
    break;
  case CK_WIRE_CSR:
    m->u.csr.cert_id = "mc-42";
    m->u.csr.profile = "web-server";
    m->u.csr.csr = (ck_wire_bytes){s_der, sizeof s_der};
    m->u.csr.reason = "expiring";
    m->u.csr.replaces = (ck_wire_bytes){s_fp, sizeof s_fp};
    break;
  case CK_WIRE_ACK:
    m->u.ack.detail = "installed";
    break;
  case CK_WIRE_PONG:
    m->u.pong.time = 1767225602;
    break;
  case CK_WIRE_WELCOME:
    m->u.welcome.session = "s-9c2e";
    m->u.welcome.agent_id = "agent-7f3a";
    m->u.welcome.server_time = 1767225603;
    m->u.welcome.ping_interval = 30;
    m->u.welcome.has_ping_interval = true;
    m->u.welcome.scan_interval = 3600;
    m->u.welcome.has_scan_interval = true;
    m->u.welcome.inventory_interval = 86400;
    m->u.welcome.has_inventory_interval = true;
    m->u.welcome.max_frame = 1048576;
    m->u.welcome.has_max_frame = true;
    break;
  case CK_WIRE_CERT:
    m->u.cert.cert = (ck_wire_bytes){s_der, sizeof s_der};
    m->u.cert.chain = (ck_wire_binv){s_chain, 2};
    m->u.cert.cert_id = "mc-42";
    m->u.cert.agent_id = "agent-7f3a";
    m->u.cert.renew_at = 1767225600;
    m->u.cert.has_renew_at = true;
    m->u.cert.roots = (ck_wire_binv){s_chain + 1, 1};
    break;
  case CK_WIRE_PENDING:
    m->u.pending.reason = "approval";
    m->u.pending.retry_after = 300;
    m->u.pending.ticket = "REQ-1001";
    break;
  case CK_WIRE_ERROR:
    m->u.error.code = (int32_t)CK_ERR_DENIED;
    m->u.error.message = "profile 'web' not allowed for this group";
    m->u.error.fatal = true;
    m->u.error.has_fatal = true;
    m->u.error.retry_after = 4294967295u;
    m->u.error.has_retry_after = true;
    break;
  case CK_WIRE_COMMAND:
    m->u.command.action = CK_WIRE_ACT_REPLACE_BEFORE_REVOKE;
    m->u.command.target = "mc-42";
    m->u.command.args = (ck_wire_kvv){s_args, 2};
    m->u.command.data = (ck_wire_bytes){(const uint8_t *)"", 0};
    break;
  case CK_WIRE_PING:
    m->u.ping.time = -1;
    break;
  default:
    fail_msg("no sample for type %d", (int)t);
  }
}

static inline void sample_min(ck_wire_type t, ck_wire_msg *m) {
  memset(m, 0, sizeof *m);
  m->type = t;
  m->id = (uint64_t)t;
  switch (t) {
  case CK_WIRE_HELLO:
    m->u.hello.version = "0.1.0";
    m->u.hello.platform = "linux-aarch64";
    break;
  case CK_WIRE_ENROLL:
    m->u.enroll.token = "t";
    m->u.enroll.csr = (ck_wire_bytes){s_der, sizeof s_der};
    m->u.enroll.host.hostname = "h";
    m->u.enroll.host.os = "linux";
    m->u.enroll.host.arch = "armv7";
    break;
  case CK_WIRE_INVENTORY:
    m->u.inventory.mode = CK_WIRE_INV_FULL;
    m->u.inventory.seq = 0;
    break;
  case CK_WIRE_EVENT:
    m->u.event.kind = CK_WIRE_EVENT_STATE;
    m->u.event.cert_id = "mc-1";
    m->u.event.new_state = "MONITORING";
    m->u.event.at = 0;
    break;
  case CK_WIRE_CSR:
    m->u.csr.cert_id = "mc-1";
    m->u.csr.profile = "p";
    m->u.csr.csr = (ck_wire_bytes){s_der, sizeof s_der};
    break;
  case CK_WIRE_ACK:
    break;
  case CK_WIRE_PONG:
    m->u.pong.time = 0;
    break;
  case CK_WIRE_WELCOME:
    m->u.welcome.session = "s";
    m->u.welcome.server_time = 1;
    break;
  case CK_WIRE_CERT:
    m->u.cert.cert = (ck_wire_bytes){s_der, sizeof s_der};
    break;
  case CK_WIRE_PENDING:
    m->u.pending.reason = "approval";
    m->u.pending.retry_after = 0;
    break;
  case CK_WIRE_ERROR:
    m->u.error.code = (int32_t)CK_ERR_WIRE_UNKNOWN_TYPE;
    m->u.error.message = "";
    break;
  case CK_WIRE_COMMAND:
    m->u.command.action = CK_WIRE_ACT_RESCAN;
    break;
  case CK_WIRE_PING:
    m->u.ping.time = 1767225600;
    break;
  default:
    fail_msg("no sample for type %d", (int)t);
  }
}

/* ---- comparison ---------------------------------------------------------- */

#define EQ_STR(a, b, what)                                                     \
  do {                                                                         \
    if ((a) == NULL || (b) == NULL) {                                          \
      if ((a) != (b))                                                          \
        fail_msg("%s: one side absent", what);                                 \
    } else if (strcmp((a), (b)) != 0) {                                        \
      fail_msg("%s: '%s' != '%s'", what, (a), (b));                            \
    }                                                                          \
  } while (0)

static inline void eq_bytes(ck_wire_bytes a, ck_wire_bytes b,
                            const char *what) {
  if (a.data == NULL || b.data == NULL) {
    if (a.data != b.data)
      fail_msg("%s: one side absent", what);
    return;
  }
  if (a.len != b.len || (a.len > 0 && memcmp(a.data, b.data, a.len) != 0))
    fail_msg("%s: bytes differ (%zu vs %zu)", what, a.len, b.len);
}

static inline void eq_strv(ck_wire_strv a, ck_wire_strv b, const char *what) {
  size_t i;

  if (a.n != b.n)
    fail_msg("%s: %zu vs %zu entries", what, a.n, b.n);
  for (i = 0; i < a.n; i++)
    EQ_STR(a.v[i], b.v[i], what);
}

#define EQ_NUM(a, b, what)                                                     \
  do {                                                                         \
    if ((a) != (b))                                                            \
      fail_msg("%s: %lld != %lld", what, (long long)(a), (long long)(b));      \
  } while (0)

/* Optional scalar: presence equal, and value equal when present. */
#define EQ_OPT(sa, sb, f, what)                                                \
  do {                                                                         \
    EQ_NUM((sa).has_##f, (sb).has_##f, what " presence");                      \
    if ((sa).has_##f)                                                          \
      EQ_NUM((sa).f, (sb).f, what);                                            \
  } while (0)

static inline void eq_finding(const ck_wire_finding *a,
                              const ck_wire_finding *b) {
  EQ_STR(a->path, b->path, "path");
  EQ_STR(a->format, b->format, "format");
  EQ_OPT(*a, *b, index, "index");
  eq_bytes(a->fingerprint, b->fingerprint, "fingerprint");
  EQ_STR(a->subject, b->subject, "subject");
  EQ_STR(a->issuer, b->issuer, "issuer");
  EQ_STR(a->serial, b->serial, "serial");
  EQ_OPT(*a, *b, not_before, "not_before");
  EQ_OPT(*a, *b, not_after, "not_after");
  eq_strv(a->sans, b->sans, "sans");
  EQ_STR(a->key_type, b->key_type, "key_type");
  EQ_OPT(*a, *b, key_bits, "key_bits");
  EQ_STR(a->sig_alg, b->sig_alg, "sig_alg");
  EQ_OPT(*a, *b, is_ca, "is_ca");
  EQ_STR(a->key_path, b->key_path, "key_path");
  EQ_OPT(*a, *b, key_match, "key_match");
  EQ_STR(a->owner, b->owner, "owner");
  EQ_STR(a->group, b->group, "group");
  EQ_OPT(*a, *b, mode, "mode");
  eq_strv(a->services, b->services, "services");
  eq_strv(a->endpoints, b->endpoints, "endpoints");
  eq_strv(a->risks, b->risks, "risks");
  EQ_STR(a->managed_id, b->managed_id, "managed_id");
  eq_bytes(a->der, b->der, "der");
}

static inline void eq_host(const ck_wire_host *a, const ck_wire_host *b) {
  EQ_STR(a->hostname, b->hostname, "hostname");
  EQ_STR(a->fqdn, b->fqdn, "fqdn");
  EQ_STR(a->os, b->os, "os");
  EQ_STR(a->os_version, b->os_version, "os_version");
  EQ_STR(a->arch, b->arch, "arch");
  EQ_STR(a->machine_id, b->machine_id, "machine_id");
  eq_strv(a->addrs, b->addrs, "addrs");
  eq_strv(a->hwkeys, b->hwkeys, "hwkeys");
}

static inline void expect_same(const ck_wire_msg *a, const ck_wire_msg *b) {
  size_t i;

  EQ_NUM(a->type, b->type, "type");
  EQ_NUM(a->id, b->id, "id");
  switch (a->type) {
  case CK_WIRE_HELLO:
    EQ_STR(a->u.hello.agent_id, b->u.hello.agent_id, "agent_id");
    EQ_STR(a->u.hello.version, b->u.hello.version, "version");
    EQ_STR(a->u.hello.platform, b->u.hello.platform, "platform");
    eq_strv(a->u.hello.caps, b->u.hello.caps, "caps");
    EQ_OPT(a->u.hello, b->u.hello, max_v, "max_v");
    break;
  case CK_WIRE_ENROLL:
    EQ_STR(a->u.enroll.token, b->u.enroll.token, "token");
    eq_bytes(a->u.enroll.csr, b->u.enroll.csr, "csr");
    eq_host(&a->u.enroll.host, &b->u.enroll.host);
    break;
  case CK_WIRE_INVENTORY:
    EQ_NUM(a->u.inventory.mode, b->u.inventory.mode, "mode");
    EQ_NUM(a->u.inventory.seq, b->u.inventory.seq, "seq");
    EQ_OPT(a->u.inventory, b->u.inventory, base, "base");
    EQ_OPT(a->u.inventory, b->u.inventory, part, "part");
    EQ_OPT(a->u.inventory, b->u.inventory, final, "final");
    EQ_OPT(a->u.inventory, b->u.inventory, scanned_at, "scanned_at");
    EQ_NUM(a->u.inventory.n_findings, b->u.inventory.n_findings, "n_findings");
    for (i = 0; i < a->u.inventory.n_findings; i++)
      eq_finding(&a->u.inventory.findings[i], &b->u.inventory.findings[i]);
    eq_strv(a->u.inventory.removed, b->u.inventory.removed, "removed");
    EQ_NUM(a->u.inventory.has_host, b->u.inventory.has_host, "host presence");
    if (a->u.inventory.has_host)
      eq_host(&a->u.inventory.host, &b->u.inventory.host);
    break;
  case CK_WIRE_EVENT:
    EQ_NUM(a->u.event.kind, b->u.event.kind, "kind");
    EQ_STR(a->u.event.cert_id, b->u.event.cert_id, "cert_id");
    EQ_STR(a->u.event.old_state, b->u.event.old_state, "old_state");
    EQ_STR(a->u.event.new_state, b->u.event.new_state, "new_state");
    EQ_STR(a->u.event.reason, b->u.event.reason, "reason");
    EQ_OPT(a->u.event, b->u.event, code, "code");
    EQ_NUM(a->u.event.at, b->u.event.at, "at");
    EQ_OPT(a->u.event, b->u.event, attempt, "attempt");
    eq_bytes(a->u.event.fingerprint, b->u.event.fingerprint, "fingerprint");
    break;
  case CK_WIRE_CSR:
    EQ_STR(a->u.csr.cert_id, b->u.csr.cert_id, "cert_id");
    EQ_STR(a->u.csr.profile, b->u.csr.profile, "profile");
    eq_bytes(a->u.csr.csr, b->u.csr.csr, "csr");
    EQ_STR(a->u.csr.reason, b->u.csr.reason, "reason");
    eq_bytes(a->u.csr.replaces, b->u.csr.replaces, "replaces");
    break;
  case CK_WIRE_ACK:
    EQ_STR(a->u.ack.detail, b->u.ack.detail, "detail");
    break;
  case CK_WIRE_PONG:
    EQ_NUM(a->u.pong.time, b->u.pong.time, "time");
    break;
  case CK_WIRE_WELCOME:
    EQ_STR(a->u.welcome.session, b->u.welcome.session, "session");
    EQ_STR(a->u.welcome.agent_id, b->u.welcome.agent_id, "agent_id");
    EQ_NUM(a->u.welcome.server_time, b->u.welcome.server_time, "server_time");
    EQ_OPT(a->u.welcome, b->u.welcome, ping_interval, "ping_interval");
    EQ_OPT(a->u.welcome, b->u.welcome, scan_interval, "scan_interval");
    EQ_OPT(a->u.welcome, b->u.welcome, inventory_interval,
           "inventory_interval");
    EQ_OPT(a->u.welcome, b->u.welcome, max_frame, "max_frame");
    break;
  case CK_WIRE_CERT:
    eq_bytes(a->u.cert.cert, b->u.cert.cert, "cert");
    EQ_NUM(a->u.cert.chain.n, b->u.cert.chain.n, "chain.n");
    for (i = 0; i < a->u.cert.chain.n; i++)
      eq_bytes(a->u.cert.chain.v[i], b->u.cert.chain.v[i], "chain[]");
    EQ_STR(a->u.cert.cert_id, b->u.cert.cert_id, "cert_id");
    EQ_STR(a->u.cert.agent_id, b->u.cert.agent_id, "agent_id");
    EQ_OPT(a->u.cert, b->u.cert, renew_at, "renew_at");
    EQ_NUM(a->u.cert.roots.n, b->u.cert.roots.n, "roots.n");
    for (i = 0; i < a->u.cert.roots.n; i++)
      eq_bytes(a->u.cert.roots.v[i], b->u.cert.roots.v[i], "roots[]");
    break;
  case CK_WIRE_PENDING:
    EQ_STR(a->u.pending.reason, b->u.pending.reason, "reason");
    EQ_NUM(a->u.pending.retry_after, b->u.pending.retry_after, "retry_after");
    EQ_STR(a->u.pending.ticket, b->u.pending.ticket, "ticket");
    break;
  case CK_WIRE_ERROR:
    EQ_NUM(a->u.error.code, b->u.error.code, "code");
    EQ_STR(a->u.error.message, b->u.error.message, "message");
    EQ_OPT(a->u.error, b->u.error, fatal, "fatal");
    EQ_OPT(a->u.error, b->u.error, retry_after, "retry_after");
    break;
  case CK_WIRE_COMMAND:
    EQ_NUM(a->u.command.action, b->u.command.action, "action");
    EQ_STR(a->u.command.target, b->u.command.target, "target");
    EQ_NUM(a->u.command.args.n, b->u.command.args.n, "args.n");
    for (i = 0; i < a->u.command.args.n; i++) {
      EQ_STR(a->u.command.args.v[i].key, b->u.command.args.v[i].key,
             "args key");
      EQ_STR(a->u.command.args.v[i].value, b->u.command.args.v[i].value,
             "args value");
    }
    eq_bytes(a->u.command.data, b->u.command.data, "data");
    break;
  case CK_WIRE_PING:
    EQ_NUM(a->u.ping.time, b->u.ping.time, "time");
    break;
  default:
    fail_msg("unexpected type %d", (int)a->type);
  }
}

#endif
