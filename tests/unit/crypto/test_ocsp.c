/* test_ocsp.c — CRLs (common/crypto/crl.h) and OCSP messages (ocsp.h).
 *
 * A P-256 root and issuing CA are made with certgen; the issuing CA signs
 * CRLs and a delegated OCSP responder certificate. Checked three ways: the
 * structure read back with the DER reader, every refusal, and — as an
 * outside opinion when the CLI is there — `openssl crl` (signature, number,
 * AKI, entries with reasons) and `openssl ocsp -respin` (status, reason,
 * nonce, signature by the delegated responder). The request parser gets
 * hand-built requests (SHA-1 and SHA-256 CertIDs, nonce, several
 * certificates, critical extensions) and every truncation of a valid one.
 * Runs unchanged on both builds. */
#include "common/crypto/certgen.h"
#include "common/crypto/crl.h"
#include "common/crypto/crypto_int.h"
#include "common/crypto/ocsp.h"
#include "common/util/clock.h"
#include "tests/unit/crypto/cryptotest.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define DAY 86400

static const ck_name_attr root_dn[] = {{"O", "ocsp tests"}, {"CN", "Test Root"}};
static const ck_name_attr ca_dn[] = {{"O", "ocsp tests"}, {"CN", "Test Issuing"}};
static const ck_name_attr resp_dn[] = {{"CN", "Test OCSP responder"}};
static const ck_name_attr leaf_dn[] = {{"CN", "leaf.test"}};
static const char *const ocsp_eku[] = {"OCSPSigning"};

static struct {
  char *dir;
  ck_key *root_key, *ca_key, *resp_key, *leaf_key;
  ck_cert *root, *ca, *resp, *leaf;
  ck_certgen_issuer *ca_iss;
  int64_t now;
} g;

static ck_key *gen(void) {
  ck_key_spec spec = {CK_KEY_EC, 256};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_key *k = NULL;

  assert_ck_ok(ck_key_generate(&spec, &k, &err));
  return k;
}

static ck_cert *issue(const ck_certgen_issuer *iss, const ck_certgen_tmpl *t) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_cert *c = NULL;
  uint8_t serial[CK_CERTGEN_SERIAL_LEN];
  ck_certgen_tmpl tt = *t;

  assert_ck_ok(ck_certgen_random_serial(serial));
  tt.serial = serial;
  tt.serial_len = sizeof serial;
  if (ck_certgen_issue(iss, &tt, &c, &err) != CK_OK)
    fail_msg("issue: %s", ck_errctx_msg(&err));
  return c;
}

static const char *save(const char *name, const char *label, const uint8_t *der,
                        size_t len) {
  static char path[8][512];
  static int turn;
  char *pem, *p = path[turn++ % 8];
  size_t pem_len;
  FILE *f;

  snprintf(p, sizeof path[0], "%s/%s", g.dir, name);
  f = fopen(p, "w");
  assert_non_null(f);
  if (label != NULL) {
    assert_ck_ok(ck_pem_encode(label, der, len, &pem, &pem_len));
    assert_int_equal(fwrite(pem, 1, pem_len, f), pem_len);
    free(pem);
  } else {
    assert_int_equal(fwrite(der, 1, len, f), len);
  }
  fclose(f);
  return p;
}

static const char *save_cert(const char *name, const ck_cert *c) {
  size_t len;
  const uint8_t *der = ck_cert_der(c, &len);
  return save(name, "CERTIFICATE", der, len);
}

static int setup(void **state) {
  ck_certgen_issuer *root_iss = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_certgen_tmpl t;

  (void)state;
  memset(&g, 0, sizeof g);
  g.dir = ck_test_tmpdir();
  g.now = ck_clock_now();
  g.root_key = gen();
  g.ca_key = gen();
  g.resp_key = gen();
  g.leaf_key = gen();
  memset(&t, 0, sizeof t);
  t.subject = root_dn;
  t.n_subject = N(root_dn);
  t.not_before = g.now - DAY;
  t.not_after = g.now + 365 * DAY;
  t.is_ca = 1;
  t.path_len = -1;
  t.key_usage = CK_KU_KEY_CERT_SIGN | CK_KU_CRL_SIGN;
  assert_ck_ok(ck_certgen_issuer_new(NULL, g.root_key, &root_iss, &err));
  g.root = issue(root_iss, &t);
  ck_certgen_issuer_free(root_iss);
  assert_ck_ok(ck_certgen_issuer_new(g.root, g.root_key, &root_iss, &err));
  t.subject = ca_dn;
  t.n_subject = N(ca_dn);
  t.pubkey = g.ca_key;
  t.path_len = 0;
  g.ca = issue(root_iss, &t);
  ck_certgen_issuer_free(root_iss);
  assert_ck_ok(ck_certgen_issuer_new(g.ca, g.ca_key, &g.ca_iss, &err));
  memset(&t, 0, sizeof t);
  t.subject = resp_dn;
  t.n_subject = N(resp_dn);
  t.pubkey = g.resp_key;
  t.not_before = g.now - DAY;
  t.not_after = g.now + 30 * DAY;
  t.path_len = -1;
  t.key_usage = CK_KU_DIGITAL_SIGNATURE;
  t.eku = ocsp_eku;
  t.n_eku = 1;
  t.ocsp_nocheck = 1;
  g.resp = issue(g.ca_iss, &t);
  t.subject = leaf_dn;
  t.n_subject = N(leaf_dn);
  t.pubkey = g.leaf_key;
  t.eku = NULL;
  t.n_eku = 0;
  t.ocsp_nocheck = 0;
  g.leaf = issue(g.ca_iss, &t);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  ck_certgen_issuer_free(g.ca_iss);
  ck_cert_free(g.root);
  ck_cert_free(g.ca);
  ck_cert_free(g.resp);
  ck_cert_free(g.leaf);
  ck_key_free(g.root_key);
  ck_key_free(g.ca_key);
  ck_key_free(g.resp_key);
  ck_key_free(g.leaf_key);
  ck_test_rmtree(g.dir);
  free(g.dir);
  return 0;
}

/* ------------------------------------------------------------------ CRL */

static void make_crl(uint64_t number, uint64_t delta_base, uint8_t **der, size_t *len) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_crl_builder *b = NULL;
  ck_crl_opts o;
  static const uint8_t s1[] = {0x01};

  memset(&o, 0, sizeof o);
  o.this_update = g.now;
  o.next_update = g.now + DAY;
  o.number = number;
  o.delta_base = delta_base;
  assert_ck_ok(ck_crl_builder_new(g.ca_iss, &o, &b, &err));
  assert_ck_ok(ck_crl_builder_add(b, s1, 1, g.now - 60, CK_CRL_KEY_COMPROMISE, &err));
  /* top bit set: the builder adds the 0x00 octet */
  assert_ck_ok(ck_crl_builder_add_hex(b, "ff00aa", g.now - 30, CK_CRL_SUPERSEDED, &err));
  /* odd digit count, leading zeros dropped; unspecified: no reason extension */
  assert_ck_ok(ck_crl_builder_add_hex(b, "0000abc", g.now, CK_CRL_UNSPECIFIED, &err));
  assert_int_equal(ck_crl_builder_count(b), 3);
  assert_ck_ok(ck_crl_builder_finish(b, der, len, &err));
  ck_crl_builder_free(b);
}

static void test_crl_structure(void **state) {
  uint8_t *der = NULL;
  size_t len = 0, n = 0;
  ck__der d, td, rd;
  ck__tlv outer, tbs, t, rev, ent;
  const uint8_t *name;
  char *out = NULL;

  (void)state;
  make_crl(42, 0, &der, &len);
  ck__der_init(&d, der, len);
  assert_int_equal(ck__der_expect(&d, CK__T_SEQUENCE, &outer), 0);
  assert_false(ck__der_more(&d));
  ck__der_init(&d, outer.v, outer.len);
  assert_int_equal(ck__der_expect(&d, CK__T_SEQUENCE, &tbs), 0);
  ck__der_init(&td, tbs.v, tbs.len);
  assert_int_equal(ck__der_expect(&td, CK__T_INTEGER, &t), 0); /* v2 */
  assert_int_equal(t.len, 1);
  assert_int_equal(t.v[0], 1);
  assert_int_equal(ck__der_expect(&td, CK__T_SEQUENCE, &t), 0); /* alg */
  assert_int_equal(ck__der_expect(&td, CK__T_SEQUENCE, &t), 0); /* issuer */
  name = g.ca->subject;
  assert_int_equal(t.raw_len, g.ca->subject_len);
  assert_memory_equal(t.raw, name, t.raw_len);
  assert_int_equal(ck__der_expect(&td, CK__T_UTCTIME, &t), 0);
  assert_int_equal(ck__der_expect(&td, CK__T_UTCTIME, &t), 0);
  assert_int_equal(ck__der_expect(&td, CK__T_SEQUENCE, &rev), 0);
  ck__der_init(&rd, rev.v, rev.len);
  while (ck__der_more(&rd)) {
    assert_int_equal(ck__der_expect(&rd, CK__T_SEQUENCE, &ent), 0);
    n++;
  }
  assert_int_equal(n, 3);
  assert_int_equal(ck__der_expect(&td, CK__T_CTXC | 0, &t), 0); /* extensions */
  assert_false(ck__der_more(&td));

  if (ck_test_have("openssl")) {
    const char *cp = save("crl.der", NULL, der, len);
    const char *ca = save_cert("ca.pem", g.ca);
    assert_int_equal(ck_test_sh(&out, "openssl crl -inform DER -in %s -CAfile %s -noout -text 2>&1",
                                cp, ca), 0);
    assert_non_null(strstr(out, "verify OK"));
    assert_non_null(strstr(out, "X509v3 CRL Number"));
    assert_non_null(strstr(out, "42"));
    assert_non_null(strstr(out, "X509v3 Authority Key Identifier"));
    assert_non_null(strstr(out, "Serial Number: 01"));
    assert_non_null(strstr(out, "Key Compromise"));
    assert_non_null(strstr(out, "Serial Number: FF00AA"));
    assert_non_null(strstr(out, "Superseded"));
    assert_non_null(strstr(out, "Serial Number: 0ABC"));
    free(out);
  }
  free(der);
}

static void test_crl_delta_and_empty(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_crl_builder *b = NULL;
  ck_crl_opts o;
  uint8_t *der = NULL;
  size_t len = 0;
  char *out = NULL;

  (void)state;
  make_crl(7, 5, &der, &len);
  if (ck_test_have("openssl")) {
    assert_int_equal(ck_test_sh(&out, "openssl crl -inform DER -in %s -noout -text 2>&1",
                                save("delta.der", NULL, der, len)), 0);
    assert_non_null(strstr(out, "Delta CRL Indicator: critical"));
    free(out);
  }
  free(der);
  /* no entries: the revokedCertificates field is left out */
  memset(&o, 0, sizeof o);
  o.this_update = g.now;
  o.next_update = g.now + 3600;
  o.number = 1;
  assert_ck_ok(ck_crl_builder_new(g.ca_iss, &o, &b, &err));
  assert_ck_ok(ck_crl_builder_finish(b, &der, &len, &err));
  ck_crl_builder_free(b);
  if (ck_test_have("openssl")) {
    assert_int_equal(ck_test_sh(&out, "openssl crl -inform DER -in %s -noout -text 2>&1",
                                save("empty.der", NULL, der, len)), 0);
    assert_non_null(strstr(out, "No Revoked Certificates"));
    free(out);
  }
  free(der);
}

static void test_crl_refusals(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_crl_builder *b = NULL;
  ck_certgen_issuer *self = NULL;
  ck_crl_opts o;
  static const uint8_t neg[] = {0x80}, nonmin[] = {0x00, 0x01};

  (void)state;
  memset(&o, 0, sizeof o);
  o.this_update = g.now;
  o.next_update = g.now;
  o.number = 1;
  assert_int_equal(ck_crl_builder_new(g.ca_iss, &o, &b, &err), CK_ERR_INVAL);
  o.next_update = g.now + 1;
  o.number = 0;
  assert_int_equal(ck_crl_builder_new(g.ca_iss, &o, &b, &err), CK_ERR_INVAL);
  o.number = 3;
  o.delta_base = 3;
  assert_int_equal(ck_crl_builder_new(g.ca_iss, &o, &b, &err), CK_ERR_INVAL);
  o.delta_base = 0;
  assert_ck_ok(ck_certgen_issuer_new(NULL, g.ca_key, &self, &err));
  assert_int_equal(ck_crl_builder_new(self, &o, &b, &err), CK_ERR_INVAL);
  ck_certgen_issuer_free(self);
  assert_ck_ok(ck_crl_builder_new(g.ca_iss, &o, &b, &err));
  assert_int_equal(ck_crl_builder_add(b, neg, 1, g.now, 0, &err), CK_ERR_RANGE);
  assert_int_equal(ck_crl_builder_add(b, nonmin, 2, g.now, 0, &err), CK_ERR_RANGE);
  assert_int_equal(ck_crl_builder_add_hex(b, "xyz", g.now, 0, &err), CK_ERR_RANGE);
  assert_int_equal(ck_crl_builder_add_hex(b, "", g.now, 0, &err), CK_ERR_RANGE);
  assert_int_equal(ck_crl_builder_add_hex(b, "01", g.now, 7, &err), CK_ERR_RANGE);
  assert_int_equal(ck_crl_builder_add_hex(b, "01", g.now, 11, &err), CK_ERR_RANGE);
  assert_int_equal(ck_crl_builder_count(b), 0);
  ck_crl_builder_free(b);
  assert_int_equal(ck_crl_reason_parse("keyCompromise"), 1);
  assert_int_equal(ck_crl_reason_parse("KeyCompromise"), -1);
  assert_string_equal(ck_crl_reason_name(10), "aACompromise");
  assert_null(ck_crl_reason_name(7));
}

/* ---------------------------------------------------------------- OCSP */

#define OID_SHA1 "\x2b\x0e\x03\x02\x1a"
#define OID_SHA256 "\x60\x86\x48\x01\x65\x03\x04\x02\x01"
#define OID_MD5 "\x2a\x86\x48\x86\xf7\x0d\x02\x05"
#define OID_NONCE "\x2b\x06\x01\x05\x05\x07\x30\x01\x02"

typedef struct req_spec {
  const char *hash_oid;
  size_t hash_oid_len;
  int n_certs;
  int nonce;        /* add a nonce request extension */
  int critical_ext; /* add an unknown critical extension */
} req_spec;

/* Builds an OCSPRequest about the leaf (hashes computed for real). */
static void make_req(const req_spec *rs, uint8_t **der, size_t *len) {
  static const uint8_t nonce[] = {0x04, 0x10, 1, 2,  3,  4,  5,  6,  7, 8,
                                  9,    10,   11, 12, 13, 14, 15, 16};
  static const uint8_t t = 0xff;
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t name[CK_SHA256_LEN], key[CK_SHA256_LEN];
  size_t hlen = 20, slen, i;
  const uint8_t *serial = NULL;
  ck__derw w;
  ck__der d;
  ck__tlv tt;
  ck_ocsp_hash h = rs->hash_oid_len == sizeof OID_SHA256 - 1 ? CK_OCSP_HASH_SHA256
                                                            : CK_OCSP_HASH_SHA1;

  assert_ck_ok(ck_ocsp_issuer_hashes(g.ca, h, name, key, &hlen, &err));
  /* the leaf's serial: second element of its TBSCertificate */
  ck__der_init(&d, g.leaf->tbs, g.leaf->tbs_len);
  assert_int_equal(ck__der_expect(&d, CK__T_SEQUENCE, &tt), 0);
  ck__der_init(&d, tt.v, tt.len);
  assert_int_equal(ck__der_expect(&d, CK__T_CTXC | 0, &tt), 0);
  assert_int_equal(ck__der_expect(&d, CK__T_INTEGER, &tt), 0);
  serial = tt.v;
  slen = tt.len;
  ck__derw_init(&w);
  ck__derw_begin(&w, CK__T_SEQUENCE);
  ck__derw_begin(&w, CK__T_SEQUENCE); /* tbsRequest */
  ck__derw_begin(&w, CK__T_SEQUENCE); /* requestList */
  for (i = 0; i < (size_t)rs->n_certs; i++) {
    ck__derw_begin(&w, CK__T_SEQUENCE);
    ck__derw_begin(&w, CK__T_SEQUENCE); /* CertID */
    ck__derw_begin(&w, CK__T_SEQUENCE);
    ck__derw_tlv(&w, CK__T_OID, rs->hash_oid, rs->hash_oid_len);
    ck__derw_tlv(&w, CK__T_NULL, NULL, 0);
    ck__derw_end(&w);
    ck__derw_tlv(&w, CK__T_OCTETSTRING, name, hlen);
    ck__derw_tlv(&w, CK__T_OCTETSTRING, key, hlen);
    ck__derw_tlv(&w, CK__T_INTEGER, serial, slen);
    ck__derw_end(&w);
    ck__derw_end(&w);
  }
  ck__derw_end(&w);
  if (rs->nonce || rs->critical_ext) {
    ck__derw_begin(&w, CK__T_CTXC | 2);
    ck__derw_begin(&w, CK__T_SEQUENCE);
    if (rs->nonce) {
      ck__derw_begin(&w, CK__T_SEQUENCE);
      ck__derw_tlv(&w, CK__T_OID, OID_NONCE, sizeof OID_NONCE - 1);
      ck__derw_tlv(&w, CK__T_OCTETSTRING, nonce, sizeof nonce);
      ck__derw_end(&w);
    }
    if (rs->critical_ext) {
      ck__derw_begin(&w, CK__T_SEQUENCE);
      ck__derw_tlv(&w, CK__T_OID, "\x2a\x03\x04", 3);
      ck__derw_tlv(&w, CK__T_BOOLEAN, &t, 1);
      ck__derw_tlv(&w, CK__T_OCTETSTRING, "\x05\x00", 2);
      ck__derw_end(&w);
    }
    ck__derw_end(&w);
    ck__derw_end(&w);
  }
  ck__derw_end(&w);
  ck__derw_end(&w);
  assert_ck_ok(ck__derw_finish(&w, der, len));
}

static void test_request_parse(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_ocsp_request rq;
  uint8_t *der = NULL;
  size_t len = 0, cut;
  req_spec rs = {OID_SHA1, sizeof OID_SHA1 - 1, 1, 1, 0};
  const ck_cert_info *li = ck_cert_get_info(g.leaf);
  char hex[130];

  (void)state;
  make_req(&rs, &der, &len);
  assert_ck_ok(ck_ocsp_request_parse(der, len, &rq, &err));
  assert_int_equal(rq.hash, CK_OCSP_HASH_SHA1);
  assert_int_equal(rq.name_hash_len, 20);
  assert_int_equal(rq.key_hash_len, 20);
  assert_ck_ok(ck_crypto_hex(rq.serial, rq.serial_len, 0, hex, sizeof hex));
  assert_string_equal(hex, li->serial_hex);
  assert_non_null(rq.nonce);
  assert_int_equal(rq.nonce_len, 18);
  assert_non_null(rq.cert_id);
  /* every truncation is refused, never read past */
  for (cut = 0; cut < len; cut++) {
    uint8_t *copy = malloc(cut + 1);
    memcpy(copy, der, cut);
    assert_int_not_equal(ck_ocsp_request_parse(copy, cut, &rq, &err), CK_OK);
    free(copy);
  }
  /* trailing garbage */
  {
    uint8_t *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, der, len);
    longer[len] = 0;
    assert_int_equal(ck_ocsp_request_parse(longer, len + 1, &rq, &err), CK_ERR_BAD_DER);
    free(longer);
  }
  free(der);

  rs.hash_oid = OID_SHA256;
  rs.hash_oid_len = sizeof OID_SHA256 - 1;
  rs.nonce = 0;
  make_req(&rs, &der, &len);
  assert_ck_ok(ck_ocsp_request_parse(der, len, &rq, &err));
  assert_int_equal(rq.hash, CK_OCSP_HASH_SHA256);
  assert_int_equal(rq.name_hash_len, 32);
  assert_null(rq.nonce);
  free(der);

  rs.hash_oid = OID_MD5;
  rs.hash_oid_len = sizeof OID_MD5 - 1;
  make_req(&rs, &der, &len);
  assert_ck_ok(ck_ocsp_request_parse(der, len, &rq, &err));
  assert_int_equal(rq.hash, CK_OCSP_HASH_OTHER);
  free(der);

  rs.hash_oid = OID_SHA1;
  rs.hash_oid_len = sizeof OID_SHA1 - 1;
  rs.n_certs = 2;
  make_req(&rs, &der, &len);
  assert_int_equal(ck_ocsp_request_parse(der, len, &rq, &err), CK_ERR_LIMIT);
  assert_non_null(strstr(ck_errctx_msg(&err), "several certificates"));
  free(der);
  rs.n_certs = 0;
  make_req(&rs, &der, &len);
  assert_int_equal(ck_ocsp_request_parse(der, len, &rq, &err), CK_ERR_BAD_DER);
  free(der);
  rs.n_certs = 1;
  rs.critical_ext = 1;
  make_req(&rs, &der, &len);
  assert_int_equal(ck_ocsp_request_parse(der, len, &rq, &err), CK_ERR_UNSUPPORTED);
  free(der);

  assert_int_equal(ck_ocsp_request_parse((const uint8_t *)"not der", 7, &rq, &err),
                   CK_ERR_BAD_DER);
  der = calloc(1, CK_OCSP_REQUEST_MAX + 1);
  assert_int_equal(ck_ocsp_request_parse(der, CK_OCSP_REQUEST_MAX + 1, &rq, &err),
                   CK_ERR_LIMIT);
  free(der);
}

static void test_issuer_hashes(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t name[CK_SHA256_LEN], key[CK_SHA256_LEN], want[CK_SHA256_LEN];
  size_t len = 0;

  (void)state;
  assert_ck_ok(ck_ocsp_issuer_hashes(g.ca, CK_OCSP_HASH_SHA256, name, key, &len, &err));
  assert_int_equal(len, 32);
  assert_ck_ok(ck_crypto_sha256(g.ca->subject, g.ca->subject_len, want));
  assert_memory_equal(name, want, 32);
  assert_ck_ok(ck_ocsp_issuer_hashes(g.ca, CK_OCSP_HASH_SHA1, name, key, &len, &err));
  assert_int_equal(len, 20);
  assert_ck_ok(ck_crypto_sha1(g.ca->subject, g.ca->subject_len, want));
  assert_memory_equal(name, want, 20);
  /* FIPS 180 test vector */
  assert_ck_ok(ck_crypto_sha1("abc", 3, want));
  assert_memory_equal(want, "\xa9\x99\x3e\x36\x47\x06\x81\x6a\xba\x3e\x25\x71\x78\x50\xc2\x6c"
                            "\x9c\xd0\xd8\x9d", 20);
  assert_int_equal(ck_ocsp_issuer_hashes(g.ca, CK_OCSP_HASH_OTHER, name, key, &len, &err),
                   CK_ERR_UNSUPPORTED);
}

static void respond(ck_ocsp_cert_status st, int reason, int nonce, const char *want1,
                    const char *want2) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_ocsp_responder *r = NULL;
  ck_ocsp_request rq;
  ck_ocsp_single s;
  uint8_t *req = NULL, *resp = NULL;
  size_t req_len = 0, resp_len = 0;
  req_spec rs = {OID_SHA1, sizeof OID_SHA1 - 1, 1, nonce, 0};
  char *out = NULL;
  const char *rp, *ip, *lp, *root;
  int rc_sh;

  make_req(&rs, &req, &req_len);
  assert_ck_ok(ck_ocsp_request_parse(req, req_len, &rq, &err));
  assert_ck_ok(ck_ocsp_responder_new(g.resp, g.resp_key, &r, &err));
  memset(&s, 0, sizeof s);
  s.cert_id = rq.cert_id;
  s.cert_id_len = rq.cert_id_len;
  s.status = st;
  s.revoked_at = g.now - 100;
  s.reason = reason;
  s.this_update = g.now;
  s.next_update = g.now + 3600;
  s.produced_at = g.now;
  s.nonce = rq.nonce;
  s.nonce_len = rq.nonce_len;
  assert_ck_ok(ck_ocsp_response_build(r, &s, &resp, &resp_len, &err));
  assert_true(resp_len > 100);
  assert_int_equal(resp[0], 0x30);
  if (ck_test_have("openssl")) {
    rp = save("resp.der", NULL, resp, resp_len);
    ip = save_cert("issuer.pem", g.ca);
    lp = save_cert("leaf.pem", g.leaf);
    root = save_cert("root.pem", g.root);
    /* no -reqin: with -cert, openssl would append to the request and add
     * its own nonce; the echoed nonce is checked in the text instead */
    rc_sh = ck_test_sh(&out,
                       "openssl ocsp -respin %s -issuer %s -cert %s -CAfile %s "
                       "-verify_other %s -no_nonce -resp_text 2>&1",
                       rp, ip, lp, root, ip);
    if (rc_sh != 0)
      print_error("%s\n", out);
    assert_int_equal(rc_sh, 0);
    if (nonce)
      assert_non_null(strstr(out, "04100102030405060708090A0B0C0D0E0F10"));
    else
      assert_null(strstr(out, "OCSP Nonce"));
    assert_non_null(strstr(out, "OCSP No Check"));
    assert_non_null(strstr(out, "Responder Id: CN = Test OCSP responder"));
    assert_non_null(strstr(out, "Response verify OK"));
    assert_null(strstr(out, "WARNING"));
    assert_non_null(strstr(out, want1));
    if (want2 != NULL)
      assert_non_null(strstr(out, want2));
    free(out);
  }
  ck_ocsp_responder_free(r);
  free(req);
  free(resp);
}

static void test_responses(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_ocsp_responder *r = NULL;
  size_t len;

  (void)state;
  respond(CK_OCSP_GOOD, -1, 1, ": good", NULL);
  respond(CK_OCSP_REVOKED, CK_CRL_KEY_COMPROMISE, 1, ": revoked", "keyCompromise");
  respond(CK_OCSP_REVOKED, -1, 0, ": revoked", NULL);
  respond(CK_OCSP_UNKNOWN, -1, 1, ": unknown", NULL);
  /* a key that is not the certificate's */
  assert_int_equal(ck_ocsp_responder_new(g.resp, g.leaf_key, &r, &err), CK_ERR_KEY_MISMATCH);
  assert_memory_equal(ck_ocsp_status_response(CK_OCSP_MALFORMED, &len),
                      "\x30\x03\x0a\x01\x01", 5);
  assert_memory_equal(ck_ocsp_status_response(CK_OCSP_UNAUTHORIZED, &len),
                      "\x30\x03\x0a\x01\x06", 5);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_crl_structure),   cmocka_unit_test(test_crl_delta_and_empty),
      cmocka_unit_test(test_crl_refusals),    cmocka_unit_test(test_request_parse),
      cmocka_unit_test(test_issuer_hashes),   cmocka_unit_test(test_responses),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
