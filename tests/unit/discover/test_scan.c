/* test_scan.c — discovery over the checked-in fixture tree
 * (tests/data/discover/make.sh), over a hostile tree built at runtime, and
 * through the certkeeper-agent binary (`scan --json`). */
#define _GNU_SOURCE
#include "tests/testutil.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/discover/discover.h"
#include "common/crypto/crypto.h"
#include "common/util/clock.h"

static int is_mbed(void) {
  return !ck_crypto_has(CK_CAP_PKCS12);
}

/* Copies the fixture tree into a temp dir and sets the modes git loses. */
static char *make_tree(void) {
  char *tmp = ck_test_tmpdir();
  assert_int_equal(
      ck_test_sh(NULL,
                 "cp -r '%s' '%s/tree' && cd '%s/tree' && chmod 600 keys/* "
                 "weak/*.key p12/* && chmod 644 keys/ec-trad.key "
                 "haproxy-certs/site.pem && chmod 640 weak/sha1.key",
                 ck_test_data("discover/tree"), tmp, tmp),
      0);
  return tmp;
}

static const ck_finding *find(const ck_discover *d, const char *suffix,
                              const char *kind, unsigned index) {
  size_t sl = strlen(suffix);
  for (size_t i = 0; i < d->n; i++) {
    const ck_finding *f = &d->f[i];
    size_t pl = strlen(f->path);
    if (pl >= sl && !strcmp(f->path + pl - sl, suffix) &&
        !strcmp(f->kind, kind) && f->index == index)
      return f;
  }
  fail_msg("no %s finding #%u for %s", kind, index, suffix);
  return NULL;
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = s ? strlen(s) : 0, b = strlen(suffix);
  return s && a >= b && !strcmp(s + a - b, suffix);
}

static void scan(const char *root, const char *p12pw, int64_t now,
                 ck_discover *d) {
  const char *roots[] = {root};
  ck_discover_opts o = {0};
  ck_errctx e = CK_ERRCTX_INIT;
  o.roots = roots;
  o.n_roots = 1;
  o.p12_password = p12pw;
  o.now = now;
  memset(d, 0, sizeof(*d));
  assert_int_equal(ck_discover_run(&o, d, &e), CK_OK);
}

static void test_fixture_tree(void **state) {
  (void)state;
  char *tmp = make_tree(), root[512];
  ck_discover d;
  const ck_finding *f;
  snprintf(root, sizeof(root), "%s/tree", tmp);
  scan(root, NULL, 1767225600 /* 2026-01-01 */, &d);

  /* CRLF chain: leaf + CA, key matched across files, nginx line 4 */
  f = find(&d, "chain/fullchain-crlf.pem", "certificate", 0);
  assert_string_equal(f->subject, "CN=www.example.test");
  assert_string_equal(f->issuer, "CN=Disc Test CA");
  assert_string_equal(f->serial, "1234ABCD");
  assert_string_equal(f->format, "pem");
  assert_int_equal(f->n_sans, 2);
  assert_string_equal(f->sans[0], "DNS:www.example.test");
  assert_string_equal(f->key_type, "ec");
  assert_int_equal(f->key_bits, 256);
  assert_int_equal(f->key_match, 1);
  assert_true(ends_with(f->key_path, "keys/leaf-pkcs8.key"));
  assert_int_equal(strlen(f->fingerprint), 64);
  assert_false(f->is_ca);
  assert_int_equal(f->n_svcs, 1);
  assert_string_equal(f->svcs[0].service, "nginx");
  assert_int_equal(f->svcs[0].line, 4);
  assert_int_equal(f->risks, 0);
  assert_int_equal(f->mode, 0644);
  assert_non_null(f->owner);
  f = find(&d, "chain/fullchain-crlf.pem", "certificate", 1);
  assert_true(f->is_ca);
  assert_true(f->self_signed);
  assert_int_equal(f->risks & CK_RISK_SELF_SIGNED_LEAF, 0);

  /* DER certificate used by Apache, traditional RSA key matched */
  f = find(&d, "der/server.der", "certificate", 0);
  assert_string_equal(f->format, "der");
  assert_int_equal(f->key_bits, 2048);
  assert_true(ends_with(f->key_path, "keys/rsa-trad.key"));
  assert_int_equal(f->n_svcs, 1);
  assert_string_equal(f->svcs[0].service, "apache");
  assert_int_equal(f->svcs[0].line, 3);
  f = find(&d, "keys/rsa-trad.key", "key", 0);
  assert_string_equal(f->key_type, "rsa");
  assert_true(ends_with(f->cert_path, "der/server.der") ||
              ends_with(f->cert_path, "p12/nopass.p12"));
  assert_int_equal(f->n_svcs, 1);

  /* keys: PKCS#8, traditional EC (world-readable), encrypted */
  f = find(&d, "keys/leaf-pkcs8.key", "key", 0);
  assert_int_equal(f->risks, 0);
  f = find(&d, "keys/ec-trad.key", "key", 0);
  assert_true(f->risks & CK_RISK_KEY_WORLD_READABLE);
  assert_null(f->cert_path);
  f = find(&d, "keys/encrypted.key", "key", 0);
  assert_true(f->key_encrypted);
  assert_true(f->risks & CK_RISK_KEY_ENCRYPTED);
  f = find(&d, "weak/sha1.key", "key", 0);
  assert_true(f->risks & CK_RISK_KEY_GROUP_READABLE);

  /* risks */
  f = find(&d, "weak/expired.crt", "certificate", 0);
  assert_true(f->risks & CK_RISK_EXPIRED);
  f = find(&d, "weak/sha1.crt", "certificate", 0);
  assert_true(f->risks & CK_RISK_SHA1);
  assert_true(f->risks & CK_RISK_SELF_SIGNED_LEAF);
  f = find(&d, "weak/rsa1024.crt", "certificate", 0);
  assert_true(f->risks & CK_RISK_WEAK_KEY);
  assert_int_equal(f->key_bits, 1024);
  assert_string_equal(f->svcs[0].service, "haproxy");
  assert_int_equal(f->svcs[0].line, 3);
  f = find(&d, "weak/rsa1024.key", "key", 0);
  assert_true(f->risks & CK_RISK_WEAK_KEY);

  /* HAProxy crt directory: every PEM in it; combined cert+key file */
  f = find(&d, "haproxy-certs/site.pem", "certificate", 0);
  assert_string_equal(f->svcs[0].service, "haproxy");
  assert_int_equal(f->svcs[0].line, 2);
  assert_true(f->risks & CK_RISK_KEY_WORLD_READABLE);
  f = find(&d, "haproxy-certs/site.pem", "key", 0);
  assert_true(f->risks & CK_RISK_KEY_WORLD_READABLE);

  /* PKCS#12 */
  if (is_mbed()) {
    f = find(&d, "p12/nopass.p12", "pkcs12", 0);
    assert_non_null(strstr(f->error, "found but not read"));
    f = find(&d, "p12/withpass.p12", "pkcs12", 0);
    assert_non_null(strstr(f->error, "found but not read"));
  } else {
    f = find(&d, "p12/nopass.p12", "certificate", 0);
    assert_string_equal(f->subject, "CN=der.example.test");
    assert_string_equal(f->format, "pkcs12");
    assert_int_equal(f->key_match, 1);
    f = find(&d, "p12/withpass.p12", "pkcs12", 0);
    assert_string_equal(f->error, "pkcs12 unreadable: wrong password");
  }
  ck_discover_free(&d);

  /* with the password; and "expiring" relative to a faked clock */
  scan(root, "hunter2", 0, &d);
  if (!is_mbed()) {
    f = find(&d, "p12/withpass.p12", "certificate", 0);
    assert_string_equal(f->subject, "CN=der.example.test");
  }
  f = find(&d, "chain/fullchain-crlf.pem", "certificate", 0);
  int64_t na = f->not_after;
  assert_int_equal(f->risks & CK_RISK_EXPIRING, 0);
  ck_discover_free(&d);

  /* a config pairs expired.crt with ec-trad.key: without its real key in
   * the tree, the certificate reports that pairing as a mismatch */
  char rm[600];
  snprintf(rm, sizeof(rm), "%s/weak/expired.key", root);
  assert_int_equal(unlink(rm), 0);
  scan(root, NULL, 0, &d);
  f = find(&d, "weak/expired.crt", "certificate", 0);
  assert_int_equal(f->key_match, 0);
  assert_true(ends_with(f->key_path, "keys/ec-trad.key"));
  assert_string_equal(f->svcs[0].service, "nginx");
  assert_int_equal(f->svcs[0].line, 3);
  ck_discover_free(&d);
  scan(root, NULL, na - 10 * 86400, &d);
  f = find(&d, "chain/fullchain-crlf.pem", "certificate", 0);
  assert_true(f->risks & CK_RISK_EXPIRING);
  assert_false(f->risks & CK_RISK_EXPIRED);
  ck_discover_free(&d);

  ck_test_rmtree(tmp);
  free(tmp);
}

static void write_file(const char *dir, const char *name, const void *data,
                       size_t len) {
  char p[1024];
  FILE *fp;
  assert_true(snprintf(p, sizeof(p), "%s/%s", dir, name) < (int)sizeof(p));
  fp = fopen(p, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(data, 1, len, fp), len);
  assert_int_equal(fclose(fp), 0);
}

static void test_hostile_tree(void **state) {
  (void)state;
  char *tmp = ck_test_tmpdir(), p[1024], q[1024];
  size_t clen = 0;
  char *cert = ck_test_slurp("discover/tree/chain/ca.crt", &clen);
  ck_discover d;
  const ck_finding *f;
  ck_discover_opts o = {0};
  const char *roots[] = {tmp};
  ck_errctx e = CK_ERRCTX_INIT;

  write_file(tmp, "truncated.pem", cert, clen / 2);
  write_file(tmp, "garbage.der", "\x30\x82\xff\xff\x02\x01\x00garbage", 15);
  {
    size_t n = 900 * 1024;
    char *b = malloc(n + 64);
    assert_non_null(b);
    memcpy(b, "-----BEGIN CERTIFICATE-----\n", 28);
    memset(b + 28, 'A', n);
    memcpy(b + 28 + n, "\n-----END CERTIFICATE-----\n", 27);
    write_file(tmp, "hugeline.pem", b, 28 + n + 27);
    free(b);
  }
  snprintf(p, sizeof(p), "%s/huge.pem", tmp);
  int fd = open(p, O_CREAT | O_WRONLY, 0644);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, (off_t)2 << 30), 0); /* sparse 2 GiB */
  close(fd);
  snprintf(p, sizeof(p), "%s/fifo.pem", tmp);
  assert_int_equal(mkfifo(p, 0644), 0);
  snprintf(p, sizeof(p), "%s/loop1", tmp);
  snprintf(q, sizeof(q), "%s/loop2", tmp);
  assert_int_equal(symlink(q, p), 0);
  assert_int_equal(symlink(p, q), 0);
  snprintf(p, sizeof(p), "%s/dirloop", tmp);
  assert_int_equal(symlink(tmp, p), 0); /* directory symlink: not followed */
  snprintf(p, sizeof(p), "%s/dangling.pem", tmp);
  assert_int_equal(symlink("/nonexistent/certkeeper/x.pem", p), 0);
  write_file(tmp, "unreadable.pem", cert, clen);
  snprintf(p, sizeof(p), "%s/unreadable.pem", tmp);
  assert_int_equal(chmod(p, 0), 0);
  snprintf(p, sizeof(p), "%s/a/b/c/d/e", tmp);
  assert_int_equal(ck_test_sh(NULL, "mkdir -p '%s'", p), 0);
  write_file(p, "deep.pem", cert, clen);
  write_file(tmp, "name\nwith\xff\xfe bytes.pem", cert, clen);
  {
    /* identical key files are parsed once (memo): both carry the fields */
    size_t klen = 0;
    char *k = ck_test_slurp("discover/tree/keys/leaf-pkcs8.key", &klen);
    write_file(tmp, "copy1.key", k, klen);
    write_file(tmp, "copy2.key", k, klen);
    free(k);
  }

  o.roots = roots;
  o.n_roots = 1;
  o.max_depth = 3;
  o.has_max_depth = 1;
  memset(&d, 0, sizeof(d));
  assert_int_equal(ck_discover_run(&o, &d, &e), CK_OK);

  f = find(&d, "/truncated.pem", "error", 0);
  assert_non_null(f->error);
  f = find(&d, "/hugeline.pem", "error", 0);
  assert_non_null(f->error);
  f = find(&d, "/huge.pem", "error", 0);
  assert_non_null(strstr(f->error, "too large"));
  f = find(&d, "/loop1", "error", 0);
  assert_non_null(strstr(f->error, "looping"));
  f = find(&d, "/dangling.pem", "error", 0);
  assert_non_null(strstr(f->error, "dangling"));
  f = find(&d, "/a/b/c/d", "error", 0);
  assert_non_null(strstr(f->error, "max-depth"));
  {
    const ck_finding *k1 = find(&d, "/copy1.key", "key", 0);
    const ck_finding *k2 = find(&d, "/copy2.key", "key", 0);
    assert_string_equal(k1->key_type, "ec");
    assert_string_equal(k2->key_type, "ec");
    assert_int_equal(k2->key_bits, 256);
    assert_true(k1->has_spki && k2->has_spki);
    assert_memory_equal(k1->spki, k2->spki, sizeof(k1->spki));
  }
  f = find(&d, "name\nwith\xff\xfe bytes.pem", "certificate", 0);
  assert_string_equal(f->subject, "CN=Disc Test CA");
  for (size_t i = 0; i < d.n; i++) {
    assert_null(strstr(d.f[i].path, "fifo.pem")); /* skipped, never opened */
    assert_null(strstr(d.f[i].path, "/dirloop/"));
    assert_null(strstr(d.f[i].path, "deep.pem"));
  }
  assert_true(d.stats.skipped >= 2); /* FIFO and the directory symlink */
  if (geteuid() == 0) {
    /* root reads mode-000 files: only check it was not a crash */
    print_message("running as root: mode 000 file is readable, "
                  "unreadable-file error not asserted\n");
  } else {
    f = find(&d, "/unreadable.pem", "error", 0);
    assert_non_null(strstr(f->error, "cannot open"));
  }
  ck_discover_free(&d);

  /* a root path that cannot be opened at all */
  roots[0] = "/nonexistent/certkeeper-root";
  memset(&d, 0, sizeof(d));
  assert_int_equal(ck_discover_run(&o, &d, &e), CK_OK);
  assert_int_equal(d.n, 1);
  assert_string_equal(d.f[0].kind, "error");
  ck_discover_free(&d);
  /* no roots */
  o.n_roots = 0;
  memset(&d, 0, sizeof(d));
  assert_int_equal(ck_discover_run(&o, &d, &e), CK_ERR_INVAL);
  ck_discover_free(&d);

  free(cert);
  snprintf(p, sizeof(p), "%s/unreadable.pem", tmp);
  chmod(p, 0644);
  ck_test_rmtree(tmp);
  free(tmp);
}

/* The binary: scan --json over the fixture tree and the hostile cases. */
static void test_binary_json(void **state) {
  (void)state;
  char *tmp = make_tree(), *out = NULL;
  json_error_t je;
  json_t *doc, *fs;
  int saw_chain = 0, saw_p12 = 0, saw_odd = 0;
  char fifo[600];
  snprintf(fifo, sizeof(fifo), "%s/tree/fifo", tmp);
  assert_int_equal(mkfifo(fifo, 0644), 0);
  {
    /* a non-UTF-8, newline-holding name must still give valid JSON */
    char dir[700];
    size_t clen = 0;
    char *cert = ck_test_slurp("discover/tree/chain/ca.crt", &clen);
    snprintf(dir, sizeof(dir), "%s/tree/chain", tmp);
    write_file(dir, "odd\n\xff.pem", cert, clen);
    free(cert);
  }
  int rc = ck_test_sh(&out,
                      "'%s/agent/certkeeper-agent' scan '%s/tree' --json "
                      "--exclude '*.cfg' --max-depth 5 2>/dev/null",
                      getenv("CK_BUILD_DIR"), tmp);
  assert_int_equal(rc, 0);
  doc = json_loads(out, 0, &je);
  if (!doc)
    fail_msg("bad JSON: %s\n%s", je.text, out);
  assert_int_equal(json_integer_value(json_object_get(doc, "version")), 1);
  assert_string_equal(json_string_value(json_object_get(doc, "backend")),
                      getenv("CK_CRYPTO"));
  fs = json_object_get(doc, "findings");
  assert_true(json_is_array(fs));
  for (size_t i = 0; i < json_array_size(fs); i++) {
    json_t *f = json_array_get(fs, i);
    const char *path = json_string_value(json_object_get(f, "path"));
    const char *kind = json_string_value(json_object_get(f, "kind"));
    assert_non_null(path);
    assert_non_null(kind);
    assert_true(json_is_array(json_object_get(f, "risks")));
    if (ends_with(path, "fullchain-crlf.pem") && !strcmp(kind, "certificate") &&
        json_integer_value(json_object_get(f, "index")) == 0) {
      saw_chain = 1;
      assert_string_equal(json_string_value(json_object_get(f, "serial")),
                          "1234ABCD");
      assert_true(json_is_true(json_object_get(f, "key_match")));
      assert_string_equal(
          json_string_value(json_array_get(json_object_get(f, "services"), 0)),
          "nginx");
      assert_int_equal(json_integer_value(json_object_get(f, "mode")), 0644);
    }
    if (ends_with(path, "withpass.p12")) {
      saw_p12 = 1;
      assert_string_equal(kind, "pkcs12");
      assert_non_null(json_string_value(json_object_get(f, "error")));
    }
    assert_null(strstr(path, "haproxy.cfg"));
    if (strstr(path, "odd\\x0a\\xff.pem"))
      saw_odd = 1;
  }
  assert_true(saw_chain);
  assert_true(saw_p12);
  assert_true(saw_odd);
  json_decref(doc);
  free(out);
  out = NULL;
  /* table output and usage errors */
  rc = ck_test_sh(&out,
                  "ln -s '%s/tree' '%s/link' && "
                  "'%s/agent/certkeeper-agent' scan '%s/link'",
                  tmp, tmp, getenv("CK_BUILD_DIR"), tmp);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(out, "CN=www.example.test"));
  free(out);
  out = NULL;
  rc = ck_test_sh(&out, "'%s/agent/certkeeper-agent' scan --max-depth x /",
                  getenv("CK_BUILD_DIR"));
  assert_int_equal(rc, 2);
  free(out);
  out = NULL;
  rc = ck_test_sh(&out, "'%s/agent/certkeeper-agent' nosuch",
                  getenv("CK_BUILD_DIR"));
  assert_int_equal(rc, 2);
  free(out);
  ck_test_rmtree(tmp);
  free(tmp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fixture_tree),
      cmocka_unit_test(test_hostile_tree),
      cmocka_unit_test(test_binary_json),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
