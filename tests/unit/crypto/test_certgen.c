/* test_certgen.c — issuing certificates (common/crypto/certgen.h).
 *
 * Builds a P-384 root, a P-256 intermediate under it and leaves from CSRs
 * (ours and the openssl CLI's), then checks them three ways: the fields our
 * own parser reads back, ck_cert_verify, and — as an outside opinion — the
 * openssl CLI (`openssl verify -x509_strict`, `openssl x509 -text`). Also:
 * an RSA and an imported (openssl-made) issuer, Ed25519 (OpenSSL build),
 * every refusal, time encodings, and issuing from two threads at once.
 * Runs unchanged on both builds; the mbedTLS build skips Ed25519 after
 * checking it is refused with CK_ERR_UNSUPPORTED. */
#include <ctype.h>
#include <uv.h>

#include "common/crypto/certgen.h"
#include "common/util/clock.h"
#include "tests/unit/crypto/cryptotest.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define DAY 86400

static const ck_name_attr root_dn[] = {
    {"C", "DE"}, {"O", "certkeeper tests"}, {"CN", "certgen Root CA"}};
static const ck_name_attr inter_dn[] = {
    {"C", "DE"}, {"O", "certkeeper tests"}, {"CN", "certgen Issuing CA"}};
static const ck_name_attr leaf_dn[] = {{"O", "Example, Inc."},
                                       {"CN", "host.example.com"}};
static const ck_san leaf_sans[] = {
    {CK_SAN_DNS, "host.example.com"},
    {CK_SAN_DNS, "*.example.com"},
    {CK_SAN_IP, "192.0.2.1"},
    {CK_SAN_IP, "2001:db8::42"},
    {CK_SAN_URI, "spiffe://example.com/ns/web"},
    {CK_SAN_EMAIL, "pki@example.com"},
};
static const char *const server_client[] = {"serverAuth", "clientAuth"};
static const char *const ocsp_urls[] = {"http://ocsp.example.com",
                                        "http://ocsp2.example.com/x"};
static const char *const ca_urls[] = {"http://ca.example.com/issuing.crt"};
static const char *const crl_urls[] = {"http://crl.example.com/issuing.crl",
                                       "ldap://ldap.example.com/cn=crl"};

/* The hierarchy shared by the tests, made in setup. */
static struct {
  char *dir;
  ck_key *root_key, *inter_key, *leaf_key;
  ck_cert *root, *inter;
  ck_certgen_issuer *inter_iss;
  ck_cert_list trusted, untrusted;
  int64_t now;
} g;

/* ------------------------------------------------------------ helpers */

static ck_key *gen(ck_key_type type, unsigned bits) {
  ck_key_spec spec = {type, bits};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_key *k = NULL;

  if (ck_key_generate(&spec, &k, &err) != CK_OK) {
    print_error("keygen: %s\n", ck_errctx_msg(&err));
    fail();
  }
  return k;
}

static void set_serial(ck_certgen_tmpl *t, uint8_t buf[CK_CERTGEN_SERIAL_LEN]) {
  assert_ck_ok(ck_certgen_random_serial(buf));
  t->serial = buf;
  t->serial_len = CK_CERTGEN_SERIAL_LEN;
}

static ck_cert *issue(const ck_certgen_issuer *iss, ck_certgen_tmpl *t) {
  uint8_t serial[CK_CERTGEN_SERIAL_LEN];
  ck_errctx err = CK_ERRCTX_INIT;
  ck_cert *c = NULL;

  if (t->serial == NULL)
    set_serial(t, serial);
  if (ck_certgen_issue(iss, t, &c, &err) != CK_OK) {
    print_error("issue: %s\n", ck_errctx_msg(&err));
    fail();
  }
  if (t->serial == serial)
    t->serial = NULL;
  return c;
}

/* Reads a file by absolute path; caller frees. */
static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  uint8_t *buf = malloc(65536);

  assert_non_null(f);
  assert_non_null(buf);
  *len = fread(buf, 1, 65536, f);
  fclose(f);
  assert_true(*len > 0 && *len < 65536);
  return buf;
}

/* Writes cert as PEM to <dir>/<name>; returns the path (static buffer). */
static const char *save(const ck_cert *c, const char *name) {
  static char path[4][512];
  static int turn;
  const uint8_t *der;
  size_t der_len, pem_len;
  char *pem, *p = path[turn++ % 4];
  FILE *f;

  der = ck_cert_der(c, &der_len);
  assert_ck_ok(ck_pem_encode("CERTIFICATE", der, der_len, &pem, &pem_len));
  snprintf(p, sizeof path[0], "%s/%s", g.dir, name);
  f = fopen(p, "w");
  assert_non_null(f);
  assert_int_equal(fwrite(pem, 1, pem_len, f), pem_len);
  fclose(f);
  free(pem);
  return p;
}

/* `openssl verify -x509_strict` of leaf against root (+ inter). */
static void openssl_verify(const ck_cert *root, const ck_cert *inter,
                           const ck_cert *leaf) {
  char rp[512], ip[512], lp[512], *out = NULL;
  int st;

  if (!ck_test_have("openssl"))
    return;
  snprintf(rp, sizeof rp, "%s", save(root, "v-root.pem"));
  snprintf(lp, sizeof lp, "%s", save(leaf, "v-leaf.pem"));
  if (inter != NULL) {
    snprintf(ip, sizeof ip, "%s", save(inter, "v-inter.pem"));
    st = ck_test_sh(&out,
                    "openssl verify -x509_strict -CAfile %s -untrusted %s %s",
                    rp, ip, lp);
  } else {
    st = ck_test_sh(&out, "openssl verify -x509_strict -CAfile %s %s", rp, lp);
  }
  if (st != 0 || strstr(out, ": OK") == NULL) {
    print_error("openssl verify: %s\n", out);
    fail();
  }
  free(out);
}

/* `openssl x509 -text` of c (caller frees), or NULL without the CLI. */
static char *openssl_text(const ck_cert *c) {
  char *out = NULL;

  if (!ck_test_have("openssl"))
    return NULL;
  assert_int_equal(
      ck_test_sh(&out, "openssl x509 -noout -text -in %s", save(c, "t.pem")),
      0);
  return out;
}

static void has(const char *text, const char *needle) {
  if (text != NULL && strstr(text, needle) == NULL) {
    print_error("'%s' not in:\n%s\n", needle, text);
    fail();
  }
}

/* Asserts that c's DER contains the n bytes at want (exact encodings). */
static void der_has(const ck_cert *c, const char *want, size_t n) {
  size_t len, i;
  const uint8_t *der = ck_cert_der(c, &len);

  for (i = 0; i + n <= len; i++)
    if (memcmp(der + i, want, n) == 0)
      return;
  print_error("encoding not found in certificate\n");
  fail();
}
#define DER_HAS(c, lit) der_has((c), (lit), sizeof(lit) - 1)

/* Expected key identifier: first 20 bytes of SHA-256 over the EC point,
 * which ends the SPKI (uncompressed: 1 + 2 * field bytes). */
static void assert_ec_ski(const ck_cert *c) {
  const ck_cert_info *in = ck_cert_get_info(c);
  size_t spki_len, pt = 1 + 2 * ((in->key.bits + 7) / 8);
  const uint8_t *spki = ck_cert_spki(c, &spki_len);
  uint8_t h[CK_SHA256_LEN];
  char hex[64];

  assert_int_equal(in->key.type, CK_KEY_EC);
  assert_true(spki_len > pt);
  assert_ck_ok(ck_crypto_sha256(spki + spki_len - pt, pt, h));
  assert_ck_ok(ck_crypto_hex(h, 20, 0, hex, sizeof hex));
  assert_string_equal(in->ski_hex, hex);
}

/* Serial as printed by openssl: at least 8 bytes, positive. */
static void assert_serial_ok(const ck_cert *c) {
  const char *s = ck_cert_get_info(c)->serial_hex;
  char *out = NULL, want[128];

  assert_true(strlen(s) >= 16);
  assert_true(strlen(s) % 2 == 0);
  assert_true(strchr("01234567", s[0]) != NULL); /* top bit clear */
  if (!ck_test_have("openssl"))
    return;
  assert_int_equal(
      ck_test_sh(&out, "openssl x509 -noout -serial -in %s", save(c, "s.pem")),
      0);
  snprintf(want, sizeof want, "serial=%s", s);
  {
    char *p;
    for (p = want; *p; p++)
      *p = (char)toupper((unsigned char)*p);
  }
  assert_non_null(strstr(out, want + 7)); /* hex digits, upper-case */
  free(out);
}

/* ------------------------------------------------------------ fixtures */

static int setup(void **state) {
  ck_certgen_tmpl t;
  ck_certgen_issuer *root_iss = NULL;
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  memset(&g, 0, sizeof g);
  g.dir = ck_test_tmpdir();
  g.now = ck_clock_now();
  g.root_key = gen(CK_KEY_EC, 384);
  g.inter_key = gen(CK_KEY_EC, 256);
  g.leaf_key = gen(CK_KEY_EC, 256);

  memset(&t, 0, sizeof t);
  t.subject = root_dn;
  t.n_subject = N(root_dn);
  t.not_before = g.now - DAY;
  t.not_after = g.now + 3650 * DAY;
  t.is_ca = 1;
  t.path_len = -1;
  t.key_usage = CK_KU_KEY_CERT_SIGN | CK_KU_CRL_SIGN;
  if (ck_certgen_issuer_new(NULL, g.root_key, &root_iss, &err) != CK_OK)
    goto fail;
  g.root = issue(root_iss, &t);
  ck_certgen_issuer_free(root_iss);
  root_iss = NULL;
  if (ck_certgen_issuer_new(g.root, g.root_key, &root_iss, &err) != CK_OK)
    goto fail;

  memset(&t, 0, sizeof t);
  t.subject = inter_dn;
  t.n_subject = N(inter_dn);
  t.pubkey = g.inter_key;
  t.not_before = g.now - DAY;
  t.not_after = g.now + 1825 * DAY;
  t.is_ca = 1;
  t.path_len = 0;
  t.key_usage = CK_KU_DIGITAL_SIGNATURE | CK_KU_KEY_CERT_SIGN | CK_KU_CRL_SIGN;
  t.ca_issuers_urls = ca_urls;
  t.n_ca_issuers_urls = 1;
  t.crl_urls = crl_urls;
  t.n_crl_urls = 1;
  g.inter = issue(root_iss, &t);
  ck_certgen_issuer_free(root_iss);
  root_iss = NULL;
  if (ck_certgen_issuer_new(g.inter, g.inter_key, &g.inter_iss, &err) != CK_OK)
    goto fail;
  assert_ck_ok(ck_cert_list_add(&g.trusted, ck_cert_dup(g.root)));
  assert_ck_ok(ck_cert_list_add(&g.untrusted, ck_cert_dup(g.inter)));
  return 0;
fail:
  print_error("setup: %s\n", ck_errctx_msg(&err));
  ck_certgen_issuer_free(root_iss);
  return -1;
}

static int teardown(void **state) {
  (void)state;
  ck_certgen_issuer_free(g.inter_iss);
  ck_cert_free(g.root);
  ck_cert_free(g.inter);
  ck_key_free(g.root_key);
  ck_key_free(g.inter_key);
  ck_key_free(g.leaf_key);
  ck_cert_list_clear(&g.trusted);
  ck_cert_list_clear(&g.untrusted);
  ck_test_rmtree(g.dir);
  free(g.dir);
  return 0;
}

/* A leaf template for g.leaf_key under g.inter (serial set by issue). */
static ck_certgen_tmpl leaf_tmpl(void) {
  ck_certgen_tmpl t;

  memset(&t, 0, sizeof t);
  t.subject = leaf_dn;
  t.n_subject = N(leaf_dn);
  t.pubkey = g.leaf_key;
  t.sans = leaf_sans;
  t.n_sans = N(leaf_sans);
  t.not_before = g.now - 3600;
  t.not_after = g.now + 90 * DAY;
  t.key_usage = CK_KU_DIGITAL_SIGNATURE;
  t.eku = server_client;
  t.n_eku = N(server_client);
  return t;
}

/* -------------------------------------------------------------- tests */

static void test_root_and_intermediate(void **state) {
  const ck_cert_info *r = ck_cert_get_info(g.root),
                     *i = ck_cert_get_info(g.inter);
  ck_errctx err = CK_ERRCTX_INIT;
  char *text;

  (void)state;
  assert_int_equal(r->version, 3);
  assert_string_equal(r->subject, "CN=certgen Root CA,O=certkeeper tests,C=DE");
  assert_string_equal(r->issuer, r->subject);
  assert_true(r->self_signed);
  assert_string_equal(r->sig_alg, "ecdsa-with-SHA384");
  assert_string_equal(r->key.desc, "EC P-384");
  assert_true(r->has_basic_constraints && r->is_ca);
  assert_int_equal(r->path_len, -1);
  assert_true(r->has_key_usage);
  assert_int_equal(r->key_usage, CK_KU_KEY_CERT_SIGN | CK_KU_CRL_SIGN);
  /* keyUsage critical, BIT STRING with trailing zero bits dropped (DER) */
  DER_HAS(g.root, "\x06\x03\x55\x1d\x0f\x01\x01\xff\x04\x04\x03\x02\x01\x06");
  /* basicConstraints critical, cA TRUE, no pathLen */
  DER_HAS(g.root,
          "\x06\x03\x55\x1d\x13\x01\x01\xff\x04\x05\x30\x03\x01\x01\xff");
  assert_int_equal(r->not_before, g.now - DAY);
  assert_int_equal(r->not_after, g.now + 3650 * DAY);
  assert_ec_ski(g.root);
  assert_string_equal(r->aki_hex, r->ski_hex);
  assert_serial_ok(g.root);

  assert_string_equal(i->issuer, r->subject);
  assert_false(i->self_signed);
  assert_string_equal(i->sig_alg, "ecdsa-with-SHA384"); /* P-384 issuer */
  assert_string_equal(i->key.desc, "EC P-256");
  assert_true(i->is_ca);
  assert_int_equal(i->path_len, 0);
  assert_ec_ski(g.inter);
  assert_string_equal(i->aki_hex, r->ski_hex);
  assert_string_equal(ck_certgen_issuer_sig_alg(g.inter_iss),
                      "ecdsa-with-SHA256");

  assert_ck_ok(ck_cert_verify(g.inter, NULL, &g.trusted, 0, &err));
  openssl_verify(g.root, NULL, g.inter);
  text = openssl_text(g.root);
  has(text, "X509v3 Basic Constraints: critical");
  has(text, "CA:TRUE");
  has(text, "X509v3 Key Usage: critical");
  has(text, "Certificate Sign, CRL Sign");
  has(text, "Signature Algorithm: ecdsa-with-SHA384");
  free(text);
  text = openssl_text(g.inter);
  has(text, "CA:TRUE, pathlen:0");
  has(text, "Digital Signature, Certificate Sign, CRL Sign");
  has(text, "CA Issuers - URI:http://ca.example.com/issuing.crt");
  free(text);
}

/* Everything a leaf carries, checked by our parser and by openssl. */
static void check_leaf(const ck_cert *leaf, const ck_san *sans, size_t n) {
  const ck_cert_info *in = ck_cert_get_info(leaf),
                     *ii = ck_cert_get_info(g.inter);
  ck_errctx err = CK_ERRCTX_INIT;
  char *text, aki[128];
  size_t k;

  assert_string_equal(in->issuer, ii->subject);
  assert_string_equal(in->sig_alg, "ecdsa-with-SHA256");
  assert_false(in->is_ca);
  assert_true(in->has_basic_constraints);
  assert_int_equal(in->key_usage, CK_KU_DIGITAL_SIGNATURE);
  DER_HAS(leaf, "\x06\x03\x55\x1d\x0f\x01\x01\xff\x04\x04\x03\x02\x07\x80");
  DER_HAS(leaf, "\x06\x03\x55\x1d\x13\x01\x01\xff\x04\x02\x30\x00");
  assert_int_equal(in->n_eku, 2);
  assert_string_equal(in->eku[0], "serverAuth");
  assert_string_equal(in->eku[1], "clientAuth");
  assert_int_equal(in->n_sans, n);
  for (k = 0; k < n; k++) {
    assert_int_equal(in->sans[k].type, sans[k].type);
    assert_string_equal(in->sans[k].value, sans[k].value);
  }
  assert_string_equal(in->aki_hex, ii->ski_hex);
  assert_serial_ok(leaf);
  assert_ck_ok(ck_cert_verify(leaf, &g.untrusted, &g.trusted, 0, &err));

  openssl_verify(g.root, g.inter, leaf);
  text = openssl_text(leaf);
  if (text == NULL)
    return;
  has(text, "X509v3 Basic Constraints: critical");
  has(text, "CA:FALSE");
  has(text, "X509v3 Key Usage: critical");
  has(text, "Digital Signature");
  has(text, "TLS Web Server Authentication, TLS Web Client Authentication");
  has(text, "OCSP - URI:http://ocsp.example.com");
  has(text, "OCSP - URI:http://ocsp2.example.com/x");
  has(text, "CA Issuers - URI:http://ca.example.com/issuing.crt");
  has(text, "X509v3 CRL Distribution Points");
  has(text, "URI:http://crl.example.com/issuing.crl");
  has(text, "URI:ldap://ldap.example.com/cn=crl");
  has(text, "X509v3 Subject Alternative Name: \n"); /* not critical */
  for (k = 0; k < n; k++) {
    char want[300];
    snprintf(want, sizeof want, "%s:%s",
             sans[k].type == CK_SAN_DNS   ? "DNS"
             : sans[k].type == CK_SAN_IP  ? "IP Address"
             : sans[k].type == CK_SAN_URI ? "URI"
                                          : "email",
             sans[k].value);
    if (sans[k].type == CK_SAN_IP && strchr(sans[k].value, ':') != NULL)
      snprintf(want, sizeof want, "IP Address:2001:DB8:0:0:0:0:0:42");
    has(text, want);
  }
  /* AKI printed by openssl equals the issuer's SKI */
  {
    uint8_t bytes[64];
    size_t nb = strlen(ii->ski_hex) / 2, j;
    for (j = 0; j < nb; j++) {
      unsigned v;
      sscanf(ii->ski_hex + 2 * j, "%2x", &v);
      bytes[j] = (uint8_t)v;
    }
    assert_ck_ok(ck_crypto_hex(bytes, nb, 1, aki, sizeof aki));
    has(strstr(text, "Authority Key Identifier"), aki);
  }
  free(text);
}

static void test_leaf_from_our_csr(void **state) {
  ck_csr_req req = {leaf_dn, N(leaf_dn), leaf_sans, N(leaf_sans)};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_csr *csr = NULL;
  ck_cert *leaf;
  ck_certgen_tmpl t = leaf_tmpl();

  (void)state;
  assert_ck_ok(ck_csr_create(g.leaf_key, &req, &csr, &err));
  assert_ck_ok(ck_csr_verify(csr, &err));
  t.subject = NULL;
  t.n_subject = 0;
  t.subject_from_csr = 1;
  t.pubkey = NULL;
  t.csr = csr;
  t.sans = ck_csr_get_info(csr)->sans; /* "approved" as requested */
  t.n_sans = ck_csr_get_info(csr)->n_sans;
  t.ocsp_urls = ocsp_urls;
  t.n_ocsp_urls = N(ocsp_urls);
  t.ca_issuers_urls = ca_urls;
  t.n_ca_issuers_urls = N(ca_urls);
  t.crl_urls = crl_urls;
  t.n_crl_urls = N(crl_urls);
  leaf = issue(g.inter_iss, &t);
  assert_string_equal(ck_cert_get_info(leaf)->subject,
                      "CN=host.example.com,O=Example\\, Inc.");
  assert_ck_ok(ck_key_match_cert(g.leaf_key, leaf, &err));
  assert_ec_ski(leaf);
  check_leaf(leaf, leaf_sans, N(leaf_sans));
  ck_cert_free(leaf);
  ck_csr_free(csr);
}

/* A CSR made by `openssl req` (fresh key) and the checked-in fixture. */
static void test_leaf_from_openssl_csr(void **state) {
  static const ck_san sans[] = {{CK_SAN_DNS, "cli.example.com"},
                                {CK_SAN_IP, "198.51.100.7"},
                                {CK_SAN_URI, "urn:example:cli"},
                                {CK_SAN_EMAIL, "cli@example.com"}};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_certgen_tmpl t = leaf_tmpl();
  ck_csr *csr = NULL;
  ck_key *key = NULL;
  ck_cert *leaf;
  char path[600], kpath[600];
  uint8_t *data;
  size_t len;

  (void)state;
  t.pubkey = NULL;
  t.ocsp_urls = ocsp_urls;
  t.n_ocsp_urls = N(ocsp_urls);
  t.ca_issuers_urls = ca_urls;
  t.n_ca_issuers_urls = N(ca_urls);
  t.crl_urls = crl_urls;
  t.n_crl_urls = N(crl_urls);

  if (ck_test_have("openssl")) {
    snprintf(path, sizeof path, "%s/cli.csr", g.dir);
    snprintf(kpath, sizeof kpath, "%s/cli.key", g.dir);
    assert_int_equal(
        ck_test_sh(NULL,
                   "openssl req -new -newkey ec -pkeyopt "
                   "ec_paramgen_curve:P-256 -nodes -keyout %s -out %s "
                   "-subj '/O=CLI Org/CN=cli.example.com' -addext "
                   "'subjectAltName=DNS:cli.example.com,IP:198.51.100.7,"
                   "URI:urn:example:cli,email:cli@example.com'",
                   kpath, path),
        0);
    data = slurp(path, &len);
    assert_ck_ok(ck_csr_parse(data, len, &csr, &err));
    free(data);
    assert_ck_ok(ck_csr_verify(csr, &err));
    t.csr = csr;
    t.subject_from_csr = 1;
    t.subject = NULL;
    t.n_subject = 0;
    t.sans = ck_csr_get_info(csr)->sans;
    t.n_sans = ck_csr_get_info(csr)->n_sans;
    leaf = issue(g.inter_iss, &t);
    assert_string_equal(ck_cert_get_info(leaf)->subject,
                        "CN=cli.example.com,O=CLI Org");
    data = slurp(kpath, &len);
    assert_ck_ok(ck_key_parse(data, len, &key, &err));
    free(data);
    assert_ck_ok(ck_key_match_cert(key, leaf, &err));
    check_leaf(leaf, sans, N(sans));
    ck_key_free(key);
    ck_cert_free(leaf);
    ck_csr_free(csr);
    csr = NULL;
  }

  /* tests/data/crypto/leaf.csr (openssl req, SANs of its own) with a
   * subject of ours: the caller may override what was requested. */
  data = ct_load("leaf.csr", &len);
  assert_ck_ok(ck_csr_parse(data, len, &csr, &err));
  free(data);
  assert_ck_ok(ck_csr_verify(csr, &err));
  t = leaf_tmpl();
  t.pubkey = NULL;
  t.csr = csr;
  t.ocsp_urls = ocsp_urls;
  t.n_ocsp_urls = N(ocsp_urls);
  t.ca_issuers_urls = ca_urls;
  t.n_ca_issuers_urls = N(ca_urls);
  t.crl_urls = crl_urls;
  t.n_crl_urls = N(crl_urls);
  leaf = issue(g.inter_iss, &t);
  key = ct_key("leaf.key");
  assert_ck_ok(ck_key_match_cert(key, leaf, &err));
  check_leaf(leaf, leaf_sans, N(leaf_sans));
  ck_key_free(key);
  ck_cert_free(leaf);
  ck_csr_free(csr);
}

/* The fast entry point: the same certificate as bytes. */
static void test_issue_der(void **state) {
  static const uint8_t s_neg[] = {0x80};
  ck_certgen_tmpl t = leaf_tmpl();
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t serial[CK_CERTGEN_SERIAL_LEN], *der = NULL;
  size_t len = 0;
  ck_cert *c = NULL;
  char hex[2 * CK_CERTGEN_SERIAL_LEN + 1];

  (void)state;
  t.ocsp_urls = ocsp_urls;
  t.n_ocsp_urls = N(ocsp_urls);
  t.ca_issuers_urls = ca_urls;
  t.n_ca_issuers_urls = N(ca_urls);
  t.crl_urls = crl_urls;
  t.n_crl_urls = N(crl_urls);
  set_serial(&t, serial);
  assert_ck_ok(ck_certgen_issue_der(g.inter_iss, &t, &der, &len, &err));
  assert_ck_ok(ck_cert_parse(der, len, &c, &err));
  assert_ck_ok(ck_crypto_hex(serial, sizeof serial, 0, hex, sizeof hex));
  assert_string_equal(ck_cert_get_info(c)->serial_hex, hex);
  check_leaf(c, leaf_sans, N(leaf_sans));
  ck_cert_free(c);
  free(der);

  der = NULL;
  t.serial = s_neg;
  t.serial_len = 1;
  assert_int_equal(ck_certgen_issue_der(g.inter_iss, &t, &der, &len, &err),
                   CK_ERR_RANGE);
  assert_null(der);
}

/* RSA 2048 self-signed root issuing a P-256 leaf; and the openssl-made RSA
 * root of tests/data/crypto (SHA-1 key identifiers) as an imported CA. */
static void test_rsa_issuers(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_certgen_tmpl t;
  ck_certgen_issuer *iss = NULL, *imp = NULL;
  ck_key *rsa = gen(CK_KEY_RSA, 2048), *fkey;
  ck_cert *root, *leaf, *froot;
  ck_cert_list trusted = {0};
  uint8_t serial[CK_CERTGEN_SERIAL_LEN];
  char *text;

  (void)state;
  memset(&t, 0, sizeof t);
  t.subject = root_dn;
  t.n_subject = N(root_dn);
  t.not_before = g.now - DAY;
  t.not_after = g.now + 365 * DAY;
  t.is_ca = 1;
  t.path_len = 1;
  t.key_usage = CK_KU_KEY_CERT_SIGN | CK_KU_CRL_SIGN;
  set_serial(&t, serial);
  assert_ck_ok(ck_certgen_sign(&t, NULL, rsa, &root, &err));
  assert_string_equal(ck_cert_get_info(root)->sig_alg,
                      "sha256WithRSAEncryption");
  assert_true(ck_cert_get_info(root)->self_signed);
  assert_int_equal(ck_cert_get_info(root)->path_len, 1);
  assert_ck_ok(ck_certgen_issuer_new(root, rsa, &iss, &err));
  t = leaf_tmpl();
  t.key_usage = CK_KU_DIGITAL_SIGNATURE | CK_KU_KEY_ENCIPHERMENT;
  leaf = issue(iss, &t);
  assert_string_equal(ck_cert_get_info(leaf)->sig_alg,
                      "sha256WithRSAEncryption");
  assert_string_equal(ck_cert_get_info(leaf)->aki_hex,
                      ck_cert_get_info(root)->ski_hex);
  assert_ck_ok(ck_cert_list_add(&trusted, ck_cert_dup(root)));
  assert_ck_ok(ck_cert_verify(leaf, NULL, &trusted, 0, &err));
  openssl_verify(root, NULL, leaf);
  text = openssl_text(leaf);
  has(text, "Digital Signature, Key Encipherment");
  has(text, "Signature Algorithm: sha256WithRSAEncryption");
  free(text);
  ck_cert_free(leaf);
  ck_cert_list_clear(&trusted);

  /* imported CA: AKI must be the fixture's own (SHA-1) SKI */
  froot = ct_cert("root.crt");
  fkey = ct_key("root.key");
  assert_ck_ok(ck_certgen_issuer_new(froot, fkey, &imp, &err));
  t = leaf_tmpl();
  leaf = issue(imp, &t);
  {
    char *want = ct_expect("root.expect", "ski");
    char *p;
    for (p = want; *p; p++)
      *p = (char)tolower((unsigned char)*p);
    assert_string_equal(ck_cert_get_info(froot)->ski_hex, want);
    free(want);
  }
  assert_string_equal(ck_cert_get_info(leaf)->aki_hex,
                      ck_cert_get_info(froot)->ski_hex);
  assert_ck_ok(ck_cert_list_add(&trusted, ck_cert_dup(froot)));
  assert_ck_ok(ck_cert_verify(leaf, NULL, &trusted, 0, &err));
  openssl_verify(froot, NULL, leaf);
  ck_cert_list_clear(&trusted);
  ck_cert_free(leaf);
  ck_certgen_issuer_free(imp);
  ck_cert_free(froot);
  ck_key_free(fkey);
  ck_certgen_issuer_free(iss);
  ck_cert_free(root);
  ck_key_free(rsa);
}

static void test_ed25519(void **state) {
  ck_key_spec spec = {CK_KEY_ED25519, 0};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_certgen_tmpl t;
  ck_certgen_issuer *iss = NULL;
  ck_key *k = NULL;
  ck_cert *root, *leaf;
  ck_cert_list trusted = {0};

  (void)state;
  if (!ck_crypto_has(CK_CAP_ED25519)) {
    assert_int_equal(ck_key_generate(&spec, &k, &err), CK_ERR_UNSUPPORTED);
    assert_null(k);
  }
  CK_SKIP_UNLESS(CK_CAP_ED25519, "no Ed25519 keys, so no Ed25519 issuers");
  k = gen(CK_KEY_ED25519, 0);
  memset(&t, 0, sizeof t);
  t.subject = root_dn;
  t.n_subject = N(root_dn);
  t.not_before = g.now - DAY;
  t.not_after = g.now + 365 * DAY;
  t.is_ca = 1;
  t.path_len = -1;
  t.key_usage = CK_KU_KEY_CERT_SIGN | CK_KU_CRL_SIGN;
  assert_ck_ok(ck_certgen_issuer_new(NULL, k, &iss, &err));
  assert_string_equal(ck_certgen_issuer_sig_alg(iss), "ED25519");
  root = issue(iss, &t);
  ck_certgen_issuer_free(iss);
  assert_true(ck_cert_get_info(root)->self_signed);
  assert_string_equal(ck_cert_get_info(root)->sig_alg, "ED25519");
  assert_ck_ok(ck_certgen_issuer_new(root, k, &iss, &err));
  t = leaf_tmpl();
  leaf = issue(iss, &t);
  assert_string_equal(ck_cert_get_info(leaf)->sig_alg, "ED25519");
  assert_ck_ok(ck_cert_list_add(&trusted, ck_cert_dup(root)));
  assert_ck_ok(ck_cert_verify(leaf, NULL, &trusted, 0, &err));
  openssl_verify(root, NULL, leaf);
  ck_cert_list_clear(&trusted);
  ck_cert_free(leaf);
  ck_cert_free(root);
  ck_certgen_issuer_free(iss);
  ck_key_free(k);
}

/* Empty subject: SAN critical; OCSP responder: EKU + nocheck; a custom
 * EKU OID; every keyUsage bit. */
static void test_extension_variants(void **state) {
  static const ck_san one[] = {{CK_SAN_DNS, "only.example.com"}};
  static const char *const ocsp_eku[] = {"OCSPSigning"};
  static const char *const odd_eku[] = {"codeSigning", "emailProtection",
                                        "1.3.6.1.4.1.99999.7.1"};
  ck_certgen_tmpl t = leaf_tmpl();
  ck_cert *c;
  char *text;

  (void)state;
  t.subject = NULL;
  t.n_subject = 0;
  t.sans = one;
  t.n_sans = 1;
  c = issue(g.inter_iss, &t);
  assert_string_equal(ck_cert_get_info(c)->subject, "");
  openssl_verify(g.root, g.inter, c);
  text = openssl_text(c);
  has(text, "X509v3 Subject Alternative Name: critical");
  free(text);
  ck_cert_free(c);

  t = leaf_tmpl();
  t.eku = ocsp_eku;
  t.n_eku = 1;
  t.ocsp_nocheck = 1;
  t.sans = NULL;
  t.n_sans = 0;
  c = issue(g.inter_iss, &t);
  assert_string_equal(ck_cert_get_info(c)->eku[0], "OCSPSigning");
  text = openssl_text(c);
  has(text, "OCSP No Check");
  has(text, "OCSP Signing");
  free(text);
  ck_cert_free(c);

  t = leaf_tmpl();
  t.eku = odd_eku;
  t.n_eku = N(odd_eku);
  t.key_usage = 0x1ff & ~(unsigned)CK_KU_KEY_CERT_SIGN;
  c = issue(g.inter_iss, &t);
  assert_int_equal(ck_cert_get_info(c)->n_eku, 3);
  assert_string_equal(ck_cert_get_info(c)->eku[0], "codeSigning");
  assert_string_equal(ck_cert_get_info(c)->eku[1], "emailProtection");
  assert_string_equal(ck_cert_get_info(c)->eku[2], "1.3.6.1.4.1.99999.7.1");
  assert_int_equal(ck_cert_get_info(c)->key_usage,
                   0x1ff & ~(unsigned)CK_KU_KEY_CERT_SIGN);
  DER_HAS(c, "\x04\x05\x03\x03\x07\xfb\x80");
  text = openssl_text(c);
  has(text, "Code Signing, E-mail Protection, 1.3.6.1.4.1.99999.7.1");
  has(text, "Decipher Only");
  free(text);
  ck_cert_free(c);

  t = leaf_tmpl(); /* no key usage, no EKU: neither extension */
  t.key_usage = 0;
  t.n_eku = 0;
  c = issue(g.inter_iss, &t);
  assert_false(ck_cert_get_info(c)->has_key_usage);
  assert_int_equal(ck_cert_get_info(c)->n_eku, 0);
  ck_cert_free(c);
}

/* UTCTime through 2049, GeneralizedTime after; the far end of 9999. */
static void test_times(void **state) {
  ck_certgen_tmpl t = leaf_tmpl();
  ck_cert *c;
  char *text;
  int64_t y1950 = -631152000, y2050 = 2524608000, end = 253402300799;

  (void)state;
  t.not_before = y1950;
  t.not_after = y2050;
  c = issue(g.inter_iss, &t);
  assert_int_equal(ck_cert_get_info(c)->not_before, y1950);
  assert_int_equal(ck_cert_get_info(c)->not_after, y2050);
  text = openssl_text(c);
  has(text, "Not Before: Jan  1 00:00:00 1950 GMT");
  has(text, "Not After : Jan  1 00:00:00 2050 GMT");
  free(text);
  ck_cert_free(c);

  t.not_before = y2050 - 1;
  t.not_after = end;
  c = issue(g.inter_iss, &t);
  assert_int_equal(ck_cert_get_info(c)->not_before, y2050 - 1);
  assert_int_equal(ck_cert_get_info(c)->not_after, end);
  text = openssl_text(c);
  has(text, "Not Before: Dec 31 23:59:59 2049 GMT");
  has(text, "Not After : Dec 31 23:59:59 9999 GMT");
  free(text);
  ck_cert_free(c);
}

static void test_random_serial(void **state) {
  uint8_t s[CK_CERTGEN_SERIAL_LEN], and_[CK_CERTGEN_SERIAL_LEN],
      or_[CK_CERTGEN_SERIAL_LEN], prev[CK_CERTGEN_SERIAL_LEN] = {0};
  int i, j;

  (void)state;
  memset(and_, 0xff, sizeof and_);
  memset(or_, 0, sizeof or_);
  for (i = 0; i < 2000; i++) {
    assert_ck_ok(ck_certgen_random_serial(s));
    assert_true(s[0] >= 0x40 && s[0] <= 0x7f);
    assert_memory_not_equal(s, prev, sizeof s);
    memcpy(prev, s, sizeof s);
    for (j = 0; j < CK_CERTGEN_SERIAL_LEN; j++) {
      and_[j] &= s[j];
      or_[j] |= s[j];
    }
  }
  /* every bit but the two fixed ones took both values */
  assert_int_equal(and_[0], 0x40);
  assert_int_equal(or_[0], 0x7f);
  for (j = 1; j < CK_CERTGEN_SERIAL_LEN; j++) {
    assert_int_equal(and_[j], 0);
    assert_int_equal(or_[j], 0xff);
  }
}

/* Applies the statements to a copy of base (named t) and expects
 * ck_certgen_issue to refuse with code and a message containing what. */
#define REFUSE(code, what, ...)                                                \
  do {                                                                         \
    ck_errctx e_ = CK_ERRCTX_INIT;                                             \
    ck_cert *c_ = NULL;                                                        \
    ck_err rc_;                                                                \
    t = base;                                                                  \
    __VA_ARGS__;                                                               \
    rc_ = ck_certgen_issue(g.inter_iss, &t, &c_, &e_);                         \
    if (rc_ != (code) || strstr(ck_errctx_msg(&e_), (what)) == NULL) {         \
      print_error("line %d: want %s '%s', got %s '%s'\n", __LINE__,            \
                  ck_err_name(code), (what), ck_err_name(rc_),                 \
                  ck_errctx_msg(&e_));                                         \
      fail();                                                                  \
    }                                                                          \
    assert_null(c_);                                                           \
  } while (0)

static void test_refusals(void **state) {
  static const uint8_t s_neg[] = {0x80, 1}, s_lead[] = {0, 0x12},
                       s_zero[] = {0}, s_ok_lead[] = {0, 0x80},
                       s_long[21] = {1};
  static const ck_san other[] = {{CK_SAN_OTHER, "otherName:1.2.3"}};
  static const ck_san bad_dns[] = {{CK_SAN_DNS, "bad host"}};
  static const char *const bad_eku[] = {"serverAuthx"};
  static const char *const bad_oid[] = {"3.1.2"};
  static const char *const bad_url[] = {"no scheme here"};
  static const char *const many[CK_CERTGEN_MAX_URLS + 1] = {
      "http://a", "http://a", "http://a", "http://a", "http://a", "http://a",
      "http://a", "http://a", "http://a", "http://a", "http://a", "http://a",
      "http://a", "http://a", "http://a", "http://a", "http://a"};
  static const ck_name_attr bad_attr[] = {{"XX", "y"}};
  static const uint8_t junk_spki[] = {0x30, 0x03, 0x02, 0x01, 0x00};
  uint8_t serial[CK_CERTGEN_SERIAL_LEN];
  ck_certgen_tmpl t, base = leaf_tmpl();
  ck_certgen_issuer *iss = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_csr *csr = NULL;
  ck_csr_req req = {leaf_dn, N(leaf_dn), NULL, 0};
  ck_key *other_key = gen(CK_KEY_EC, 256);
  ck_cert *leaf, *c = NULL;

  (void)state;
  set_serial(&base, serial);
  assert_ck_ok(ck_csr_create(g.leaf_key, &req, &csr, &err));

  /* serials */
  REFUSE(CK_ERR_RANGE, "missing", t.serial = NULL, t.serial_len = 0);
  REFUSE(CK_ERR_RANGE, "negative", t.serial = s_neg, t.serial_len = 2);
  REFUSE(CK_ERR_RANGE, "leading zero", t.serial = s_lead, t.serial_len = 2);
  REFUSE(CK_ERR_RANGE, "zero", t.serial = s_zero, t.serial_len = 1);
  REFUSE(CK_ERR_RANGE, "at most 20", t.serial = s_long, t.serial_len = 21);
  t = base;
  t.serial = s_ok_lead; /* 0x0080 is minimal */
  t.serial_len = 2;
  ck_cert_free(issue(g.inter_iss, &t));
  t.serial = s_long; /* 20 octets is the maximum */
  t.serial_len = 20;
  ck_cert_free(issue(g.inter_iss, &t));

  /* validity */
  REFUSE(CK_ERR_INVAL, "not after", t.not_after = t.not_before);
  REFUSE(CK_ERR_INVAL, "not after", t.not_after = t.not_before - 1);
  REFUSE(CK_ERR_RANGE, "1950..9999", t.not_before = -631152001);
  REFUSE(CK_ERR_RANGE, "1950..9999", t.not_after = 253402300800);

  /* subject and key */
  REFUSE(CK_ERR_INVAL, "subject or a subjectAltName", t.subject = NULL,
         t.n_subject = 0, t.n_sans = 0);
  REFUSE(CK_ERR_INVAL, "not both", t.csr = csr, t.pubkey = NULL,
         t.subject_from_csr = 1);
  REFUSE(CK_ERR_INVAL, "without a csr", t.subject_from_csr = 1,
         t.subject = NULL, t.n_subject = 0);
  REFUSE(CK_ERR_INVAL, "one public key", t.csr = csr);
  REFUSE(CK_ERR_INVAL, "no public key", t.pubkey = NULL);
  REFUSE(CK_ERR_BAD_KEY, "SubjectPublicKeyInfo", t.pubkey = NULL,
         t.spki = junk_spki, t.spki_len = sizeof junk_spki);
  REFUSE(CK_ERR_INVAL, "'XX'", t.subject = bad_attr, t.n_subject = 1);

  /* SANs, EKUs, URLs */
  REFUSE(CK_ERR_INVAL, "only DNS, IP, URI", t.sans = other, t.n_sans = 1);
  REFUSE(CK_ERR_INVAL, "bad host", t.sans = bad_dns, t.n_sans = 1);
  REFUSE(CK_ERR_INVAL, "serverAuthx", t.eku = bad_eku, t.n_eku = 1);
  REFUSE(CK_ERR_INVAL, "'3.1.2'", t.eku = bad_oid, t.n_eku = 1);
  REFUSE(CK_ERR_INVAL, "OCSP URL", t.ocsp_urls = bad_url, t.n_ocsp_urls = 1);
  REFUSE(CK_ERR_INVAL, "CRL URL", t.crl_urls = bad_url, t.n_crl_urls = 1);
  REFUSE(CK_ERR_LIMIT, "caIssuers", t.ca_issuers_urls = many,
         t.n_ca_issuers_urls = N(many));
  REFUSE(CK_ERR_INVAL, "OCSPSigning", t.ocsp_nocheck = 1);

  /* CA flags */
  REFUSE(CK_ERR_INVAL, "4.2.1.9", t.key_usage |= CK_KU_KEY_CERT_SIGN);
  REFUSE(CK_ERR_INVAL, "unknown keyUsage", t.key_usage = 1u << 9);
  REFUSE(CK_ERR_INVAL, "4.2.1.3", t.is_ca = 1, t.path_len = -1,
         t.key_usage = CK_KU_CRL_SIGN);
  REFUSE(CK_ERR_INVAL, "path_len -2", t.is_ca = 1, t.path_len = -2,
         t.key_usage = CK_KU_KEY_CERT_SIGN);
  REFUSE(CK_ERR_RANGE, "at most 127", t.is_ca = 1, t.path_len = 128,
         t.key_usage = CK_KU_KEY_CERT_SIGN);
  REFUSE(CK_ERR_INVAL, "pathLenConstraint 0", t.is_ca = 1, t.path_len = -1,
         t.key_usage = CK_KU_KEY_CERT_SIGN); /* g.inter has pathlen 0 */

  /* issuers */
  assert_int_equal(ck_certgen_issuer_new(g.inter, other_key, &iss, &err),
                   CK_ERR_KEY_MISMATCH);
  assert_null(iss);
  ck_errctx_clear(&err);
  t = base;
  leaf = issue(g.inter_iss, &t);
  assert_int_equal(ck_certgen_issuer_new(leaf, g.leaf_key, &iss, &err),
                   CK_ERR_INVAL); /* not a CA */
  assert_non_null(strstr(ck_errctx_msg(&err), "not a CA"));
  assert_null(iss);
  ck_errctx_clear(&err);
  assert_int_equal(ck_certgen_sign(&t, g.inter, g.root_key, &c, &err),
                   CK_ERR_KEY_MISMATCH);
  assert_null(c);
  ck_errctx_clear(&err);
  assert_int_equal(ck_certgen_issuer_new(NULL, NULL, &iss, &err), CK_ERR_INVAL);
  ck_errctx_clear(&err);
  t = base; /* self-signed for a key other than the signing key */
  assert_int_equal(ck_certgen_sign(&t, NULL, other_key, &c, &err),
                   CK_ERR_KEY_MISMATCH);
  assert_null(c);
  ck_errctx_clear(&err);
  t = base;
  t.pubkey = NULL;
  t.subject = NULL;
  t.n_subject = 0;
  assert_int_equal(ck_certgen_sign(&t, NULL, other_key, &c, &err),
                   CK_ERR_INVAL); /* self-signed with an empty subject */
  ck_errctx_clear(&err);
  assert_int_equal(ck_certgen_issue(g.inter_iss, NULL, &c, &err), CK_ERR_INVAL);
  assert_null(c);

  ck_cert_free(leaf);
  ck_csr_free(csr);
  ck_key_free(other_key);
}

/* ------------------------------------------------- random templates */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(uint32_t n) { /* xorshift64*: reproducible */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32) % n;
}

static void rnd_text(char *buf, size_t cap) {
  static const char chars[] = "abcxyz019.-*:@/_ \x01\x7f\xc3\xa9";
  size_t n = rnd((uint32_t)cap - 1), i;

  for (i = 0; i < n; i++)
    buf[i] = chars[rnd(sizeof chars - 1)];
  buf[n] = '\0';
}

/* Property: whatever the template, ck_certgen_issue_der either refuses
 * with a documented code and a message, or returns bytes that both our
 * parser and the backend accept, carrying the template's values. */
static void test_random_templates(void **state) {
  static const char *const ekus[] = {"serverAuth",
                                     "OCSPSigning",
                                     "1.2.840.113549.1.9",
                                     "2.999",
                                     "1.40",
                                     "0.39.1",
                                     "x",
                                     ""};
  static const char *const types[] = {"CN", "O", "C", "XX"};
  char sanv[3][24], urlv[2][24], attrv[2][24], hex[64];
  const char *ekuv[2], *urls[2];
  ck_san sans[3];
  ck_name_attr dn[2];
  uint8_t serial[22];
  ck_certgen_issuer *iss = NULL;
  int i, ok = 0;

  (void)state;
  /* under the root: no pathLen limit, so CA templates can succeed too */
  assert_ck_ok(ck_certgen_issuer_new(g.root, g.root_key, &iss, NULL));
  for (i = 0; i < 1500; i++) {
    ck_certgen_tmpl t;
    ck_errctx err = CK_ERRCTX_INIT;
    ck_cert *c = NULL;
    uint8_t *der = NULL;
    size_t len = 0, k;
    ck_err rc;

    /* Each field is plausible most of the time and hostile sometimes. */
    memset(&t, 0, sizeof t);
    t.pubkey = g.leaf_key;
    t.serial_len = rnd(10) ? 1 + rnd(20) : rnd(23);
    for (k = 0; k < t.serial_len; k++)
      serial[k] = (uint8_t)rnd(256);
    if (rnd(10) && t.serial_len > 0)
      serial[0] = (uint8_t)(1 + rnd(127));
    t.serial = serial;
    t.not_before = (int64_t)rnd(4000000000u) - 700000000;
    t.not_after =
        t.not_before + (int64_t)rnd(2000000000u) - (rnd(10) ? 0 : 1000);
    if (rnd(20) == 0)
      t.not_after = 253402300799 + (int64_t)rnd(2);
    t.n_sans = rnd(4);
    for (k = 0; k < t.n_sans; k++) {
      sans[k].type = (ck_san_type)(1 + rnd(rnd(10) ? 4 : 5));
      rnd_text(sanv[k], sizeof sanv[k]);
      if (rnd(5)) /* mostly a plausible value */
        snprintf(sanv[k], sizeof sanv[k], "%s",
                 sans[k].type == CK_SAN_IP      ? "10.0.0.1"
                 : sans[k].type == CK_SAN_URI   ? "urn:x"
                 : sans[k].type == CK_SAN_EMAIL ? "a@b.c"
                                                : "h.example");
      sans[k].value = sanv[k];
    }
    t.sans = sans;
    t.n_subject = rnd(3);
    for (k = 0; k < t.n_subject; k++) {
      dn[k].type = types[rnd(10) ? rnd(3) : 3];
      rnd_text(attrv[k], sizeof attrv[k]);
      if (rnd(5))
        snprintf(attrv[k], sizeof attrv[k], "%s",
                 strcmp(dn[k].type, "C") == 0 ? "DE" : "Name");
      dn[k].value = attrv[k];
    }
    t.subject = dn;
    t.n_eku = rnd(3);
    for (k = 0; k < t.n_eku; k++)
      ekuv[k] = ekus[rnd(5) ? rnd(2) : rnd(N(ekus))];
    t.eku = ekuv;
    t.is_ca = rnd(3) == 0;
    t.key_usage = rnd(512);
    if (rnd(10)) { /* mostly consistent with is_ca */
      if (t.is_ca)
        t.key_usage |= CK_KU_KEY_CERT_SIGN;
      else
        t.key_usage &= ~(unsigned)CK_KU_KEY_CERT_SIGN;
    } else {
      t.key_usage = rnd(1024);
    }
    t.path_len = (int)rnd(131) - 2;
    t.ocsp_nocheck = rnd(10) == 0;
    for (k = 0; k < 2; k++) {
      rnd_text(urlv[k], sizeof urlv[k]);
      if (rnd(5))
        snprintf(urlv[k], sizeof urlv[k], "http://u%zu/x", k);
      urls[k] = urlv[k];
    }
    t.ocsp_urls = urls;
    t.n_ocsp_urls = rnd(3);
    t.crl_urls = urls;
    t.n_crl_urls = rnd(3);

    rc = ck_certgen_issue_der(iss, &t, &der, &len, &err);
    if (rc != CK_OK) {
      assert_null(der);
      assert_true(rc == CK_ERR_RANGE || rc == CK_ERR_INVAL ||
                  rc == CK_ERR_LIMIT);
      assert_true(err.msg[0] != '\0');
      continue;
    }
    ok++;
    if (ck_cert_parse(der, len, &c, &err) != CK_OK) {
      print_error("iteration %d: issued bytes do not parse: %s\n", i,
                  ck_errctx_msg(&err));
      fail();
    }
    assert_int_equal(ck_cert_get_info(c)->not_before, t.not_before);
    assert_int_equal(ck_cert_get_info(c)->not_after, t.not_after);
    assert_int_equal(ck_cert_get_info(c)->n_sans, t.n_sans);
    assert_int_equal(ck_cert_get_info(c)->is_ca, t.is_ca);
    assert_int_equal(ck_cert_get_info(c)->key_usage, t.key_usage);
    k = serial[0] == 0 && t.serial_len > 1; /* openssl-style hex: no 00 */
    assert_ck_ok(
        ck_crypto_hex(serial + k, t.serial_len - k, 0, hex, sizeof hex));
    assert_string_equal(ck_cert_get_info(c)->serial_hex, hex);
    ck_cert_free(c);
    free(der);
  }
  ck_certgen_issuer_free(iss);
  print_message("random templates: %d of 1500 accepted\n", ok);
  assert_true(ok > 150); /* the generator reaches the success path */
}

/* ------------------------------------------------------------ threads */

#define PER_THREAD 150

typedef struct worker {
  ck_cert *certs[PER_THREAD];
  int failures;
  char msg[256];
} worker;

static void work(void *arg) {
  worker *w = arg;
  uint8_t serial[CK_CERTGEN_SERIAL_LEN];
  ck_errctx err = CK_ERRCTX_INIT;
  ck_certgen_tmpl t = leaf_tmpl();
  int i;

  t.ocsp_urls = ocsp_urls;
  t.n_ocsp_urls = 1;
  t.serial = serial;
  t.serial_len = sizeof serial;
  for (i = 0; i < PER_THREAD; i++) {
    uint8_t *der = NULL;
    size_t len = 0;
    ck_err rc = ck_certgen_random_serial(serial);

    /* both entry points: the parsed one and the fast one */
    if (rc == CK_OK && i % 2 == 0)
      rc = ck_certgen_issue(g.inter_iss, &t, &w->certs[i], &err);
    else if (rc == CK_OK)
      rc = ck_certgen_issue_der(g.inter_iss, &t, &der, &len, &err);
    if (rc == CK_OK && der != NULL)
      rc = ck_cert_parse(der, len, &w->certs[i], &err);
    free(der);
    if (rc != CK_OK) {
      w->failures++;
      snprintf(w->msg, sizeof w->msg, "%s", ck_errctx_msg(&err));
      w->certs[i] = NULL;
    }
  }
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_two_threads(void **state) {
  static worker w[2];
  const char *serials[2 * PER_THREAD];
  ck_errctx err = CK_ERRCTX_INIT;
  uv_thread_t th[2];
  int i, k, n = 0;

  (void)state;
  memset(w, 0, sizeof w);
  for (i = 0; i < 2; i++)
    assert_int_equal(uv_thread_create(&th[i], work, &w[i]), 0);
  for (i = 0; i < 2; i++)
    assert_int_equal(uv_thread_join(&th[i]), 0);
  for (i = 0; i < 2; i++) {
    if (w[i].failures != 0) {
      print_error("thread %d: %d failures, last: %s\n", i, w[i].failures,
                  w[i].msg);
      fail();
    }
    for (k = 0; k < PER_THREAD; k++) {
      assert_ck_ok(
          ck_cert_verify(w[i].certs[k], &g.untrusted, &g.trusted, 0, &err));
      serials[n++] = ck_cert_get_info(w[i].certs[k])->serial_hex;
    }
  }
  qsort(serials, (size_t)n, sizeof serials[0], cmp_str);
  for (i = 1; i < n; i++)
    assert_string_not_equal(serials[i - 1], serials[i]);
  openssl_verify(g.root, g.inter, w[1].certs[PER_THREAD - 1]);
  for (i = 0; i < 2; i++)
    for (k = 0; k < PER_THREAD; k++)
      ck_cert_free(w[i].certs[k]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_root_and_intermediate),
      cmocka_unit_test(test_leaf_from_our_csr),
      cmocka_unit_test(test_leaf_from_openssl_csr),
      cmocka_unit_test(test_issue_der),
      cmocka_unit_test(test_rsa_issuers),
      cmocka_unit_test(test_ed25519),
      cmocka_unit_test(test_extension_variants),
      cmocka_unit_test(test_times),
      cmocka_unit_test(test_random_serial),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_random_templates),
      cmocka_unit_test(test_two_threads),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
