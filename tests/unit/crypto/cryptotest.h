/* cryptotest.h — helpers for the crypto unit tests (tests/unit/crypto/).
 *
 * The same test files run against the OpenSSL and the mbedTLS build; what a
 * backend cannot do is skipped with CK_SKIP_UNLESS, which prints the reason
 * (cmocka's skip() alone would not say why). Fixtures live in
 * tests/data/crypto/ (see make.sh there); *.expect files hold values the
 * openssl CLI computed, compared against what common/crypto/ extracts. */
#ifndef CK_TESTS_CRYPTOTEST_H
#define CK_TESTS_CRYPTOTEST_H

#include <string.h>

#include "common/crypto/crypto.h"
#include "tests/testutil.h"

#define CK_SKIP_UNLESS(cap, why)                                               \
  do {                                                                         \
    if (!ck_crypto_has(cap)) {                                                 \
      print_message("[   SKIP   ] %s build: %s\n", ck_crypto_backend(), why);  \
      skip();                                                                  \
    }                                                                          \
  } while (0)

/* Reads tests/data/crypto/<name>; caller frees. */
static inline uint8_t *ct_load(const char *name, size_t *len) {
  char rel[256];

  snprintf(rel, sizeof rel, "crypto/%s", name);
  return (uint8_t *)ck_test_slurp(rel, len);
}

/* Returns the value of key in tests/data/crypto/<file> ("key=value" lines)
 * as a malloc'ed string; fails the test when absent. */
static inline char *ct_expect(const char *file, const char *key) {
  size_t len, klen = strlen(key);
  char *text = (char *)ct_load(file, &len), *line, *end, *val = NULL;

  for (line = text; line < text + len; line = end + 1) {
    end = strchr(line, '\n');
    if (end == NULL)
      end = text + len;
    if ((size_t)(end - line) > klen && strncmp(line, key, klen) == 0 &&
        line[klen] == '=') {
      val = strndup(line + klen + 1, (size_t)(end - line) - klen - 1);
      break;
    }
  }
  free(text);
  if (val == NULL) {
    print_error("%s: no %s\n", file, key);
    fail();
  }
  return val;
}

static inline void ct_assert_expect(const char *file, const char *key,
                                    const char *actual) {
  char *want = ct_expect(file, key);

  if (strcmp(want, actual) != 0) {
    print_error("%s %s: want '%s', got '%s'\n", file, key, want, actual);
    free(want);
    fail();
  }
  free(want);
}

/* Parses a certificate fixture; fails the test on error. */
static inline ck_cert *ct_cert(const char *name) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_cert *c = NULL;
  size_t len;
  uint8_t *data = ct_load(name, &len);
  ck_err rc = ck_cert_parse(data, len, &c, &err);

  free(data);
  if (rc != CK_OK) {
    print_error("%s: %s\n", name, ck_errctx_msg(&err));
    fail();
  }
  return c;
}

static inline ck_key *ct_key(const char *name) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_key *k = NULL;
  size_t len;
  uint8_t *data = ct_load(name, &len);
  ck_err rc = ck_key_parse(data, len, &k, &err);

  free(data);
  if (rc != CK_OK) {
    print_error("%s: %s\n", name, ck_errctx_msg(&err));
    fail();
  }
  return k;
}

#define assert_ck_ok(expr)                                                     \
  do {                                                                         \
    ck_err ct_rc_ = (expr);                                                    \
    if (ct_rc_ != CK_OK) {                                                     \
      print_error("%s -> %s\n", #expr, ck_err_name(ct_rc_));                   \
      fail();                                                                  \
    }                                                                          \
  } while (0)

#endif
