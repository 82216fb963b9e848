/* test_sanset.c — SAN patterns and name rules: DNS normalization (case,
 * trailing dot, LDH, lengths, wildcards), whole-label suffix matching
 * ("eviltest" is not under ".test"), IP ranges, URI and email rules, and
 * the one-per-line binding form. */
#include "tests/testutil.h"

#include <stdlib.h>
#include <string.h>

#include "coordinator/policy/sanset.h"

/* Normalizes value; returns the error message ("" on success) and the
 * normalized text in out. */
static const char *norm(ck_san_type t, const char *value, char *out,
                        int *wild) {
  static ck_errctx e;
  ck_errctx_clear(&e);
  if (ck_sanset_normalize(t, value, out, CK_SANSET_VALUE_MAX, wild, &e) ==
      CK_OK)
    return "";
  return e.msg;
}

static ck_sanset *set_of(ck_san_type t, const char *const *pats) {
  ck_sanset *s = NULL;
  ck_errctx e = CK_ERRCTX_INIT;
  assert_int_equal(ck_sanset_new(&s), CK_OK);
  for (; *pats != NULL; pats++) {
    if (ck_sanset_add(s, t, *pats, &e) != CK_OK)
      fail_msg("pattern %s: %s", *pats, e.msg);
  }
  return s;
}

/* Normalizes and matches value against s. */
static int matches(const ck_sanset *s, ck_san_type t, const char *value) {
  char out[CK_SANSET_VALUE_MAX];
  int wild;
  if (ck_sanset_normalize(t, value, out, sizeof out, &wild, NULL) != CK_OK)
    return 0;
  return ck_sanset_match(s, t, out);
}

static const char *add_err(ck_san_type t, const char *pat) {
  static ck_errctx e;
  ck_sanset *s = NULL;
  ck_errctx_clear(&e);
  assert_int_equal(ck_sanset_new(&s), CK_OK);
  if (ck_sanset_add(s, t, pat, &e) == CK_OK)
    snprintf(e.msg, sizeof e.msg, "OK %s", ck_sanset_get(s, t, 0));
  ck_sanset_free(s);
  return e.msg;
}

static void dns_normalize(void **state) {
  char out[CK_SANSET_VALUE_MAX], big[300];
  int w = 0;

  (void)state;
  assert_string_equal(norm(CK_SAN_DNS, "WWW.Example.TEST.", out, &w), "");
  assert_string_equal(out, "www.example.test");
  assert_int_equal(w, 0);
  assert_string_equal(norm(CK_SAN_DNS, "localhost", out, &w), "");
  assert_string_equal(out, "localhost");
  assert_string_equal(norm(CK_SAN_DNS, "xn--bcher-kva.test", out, &w), "");
  assert_string_equal(norm(CK_SAN_DNS, "*.App.test", out, &w), "");
  assert_string_equal(out, "*.app.test");
  assert_int_equal(w, 1);

  assert_string_equal(norm(CK_SAN_DNS, "", out, &w), "empty name");
  assert_string_equal(norm(CK_SAN_DNS, ".", out, &w), "empty name");
  assert_string_equal(norm(CK_SAN_DNS, "a..test", out, &w), "empty label");
  assert_string_equal(norm(CK_SAN_DNS, ".a.test", out, &w), "empty label");
  assert_string_equal(norm(CK_SAN_DNS, "a.test..", out, &w), "empty label");
  assert_string_equal(norm(CK_SAN_DNS, "a_b.test", out, &w),
                      "character '_' is not allowed (letters, digits and "
                      "'-' only; IDNs in their xn-- form)");
  assert_string_equal(norm(CK_SAN_DNS,
                           "b\xc3\xbc"
                           "cher.test",
                           out, &w),
                      "character '\\xc3' is not allowed (letters, digits and "
                      "'-' only; IDNs in their xn-- form)");
  assert_string_equal(norm(CK_SAN_DNS, "a b.test", out, &w),
                      "character '\\x20' is not allowed (letters, digits and "
                      "'-' only; IDNs in their xn-- form)");
  /* escaped NUL as the CSR parser prints it */
  assert_string_equal(norm(CK_SAN_DNS, "a.test\\x00.evil", out, &w),
                      "character '\\' is not allowed (letters, digits and "
                      "'-' only; IDNs in their xn-- form)");
  assert_string_equal(norm(CK_SAN_DNS, "-a.test", out, &w),
                      "label '-a' starts or ends with '-'");
  assert_string_equal(norm(CK_SAN_DNS, "a-.test", out, &w),
                      "label 'a-' starts or ends with '-'");
  assert_string_equal(norm(CK_SAN_DNS, "1.2.3.4", out, &w),
                      "the top-level label is numeric (IP addresses go in IP "
                      "SANs)");
  assert_string_equal(norm(CK_SAN_DNS, "a.*.test", out, &w),
                      "'*' may only be the whole leftmost label");
  assert_string_equal(norm(CK_SAN_DNS, "*a.test", out, &w),
                      "'*' may only be the whole leftmost label");
  assert_string_equal(norm(CK_SAN_DNS, "*.*.test", out, &w),
                      "'*' may only be the whole leftmost label");
  assert_string_equal(norm(CK_SAN_DNS, "*", out, &w),
                      "a wildcard needs a domain after '*.'");

  /* label of 63 is fine, 64 is not */
  memset(big, 'a', 63);
  memcpy(big + 63, ".test", 6);
  assert_string_equal(norm(CK_SAN_DNS, big, out, &w), "");
  memset(big, 'a', 64);
  memcpy(big + 64, ".test", 6);
  assert_string_equal(norm(CK_SAN_DNS, big, out, &w),
                      "label longer than 63 characters");
  /* 253 characters are fine (with or without the trailing dot), 254 not */
  {
    size_t i;
    for (i = 0; i < 253; i++)
      big[i] = (i % 4 == 3) ? '.' : 'a';
    big[252] = 'b';
    big[253] = '\0';
    assert_string_equal(norm(CK_SAN_DNS, big, out, &w), "");
    big[253] = '.';
    big[254] = '\0';
    assert_string_equal(norm(CK_SAN_DNS, big, out, &w), "");
    big[253] = 'c';
    assert_string_equal(norm(CK_SAN_DNS, big, out, &w),
                        "longer than 253 characters");
  }
}

static void dns_patterns(void **state) {
  static const char *const pats[] = {".test", "*.svc.example", "api.example",
                                     "LOCALHOST.", NULL};
  ck_sanset *s = set_of(CK_SAN_DNS, pats);
  char buf[128];

  (void)state;
  assert_int_equal(ck_sanset_count(s, CK_SAN_DNS), 4);
  assert_string_equal(ck_sanset_get(s, CK_SAN_DNS, 3), "localhost");
  assert_null(ck_sanset_get(s, CK_SAN_DNS, 4));
  assert_string_equal(ck_sanset_describe(s, CK_SAN_DNS, buf, sizeof buf),
                      ".test, *.svc.example, api.example, localhost");
  assert_string_equal(ck_sanset_describe(s, CK_SAN_IP, buf, sizeof buf), "");
  assert_string_equal(ck_sanset_describe(s, CK_SAN_DNS, buf, 20), ".test, ...");

  /* suffix: whole labels only */
  assert_true(matches(s, CK_SAN_DNS, "a.test"));
  assert_true(matches(s, CK_SAN_DNS, "A.B.Test."));
  assert_false(matches(s, CK_SAN_DNS, "test"));
  assert_false(matches(s, CK_SAN_DNS, "eviltest"));
  assert_false(matches(s, CK_SAN_DNS, "test.evil.example"));
  assert_false(matches(s, CK_SAN_DNS, "a.test.evil"));
  assert_true(matches(s, CK_SAN_DNS, "*.a.test"));
  assert_true(matches(s, CK_SAN_DNS, "*.test"));
  /* one label */
  assert_true(matches(s, CK_SAN_DNS, "web.svc.example"));
  assert_true(matches(s, CK_SAN_DNS, "*.svc.example"));
  assert_false(matches(s, CK_SAN_DNS, "a.web.svc.example"));
  assert_false(matches(s, CK_SAN_DNS, "*.web.svc.example"));
  assert_false(matches(s, CK_SAN_DNS, "svc.example"));
  assert_false(matches(s, CK_SAN_DNS, "evilsvc.example"));
  /* exact */
  assert_true(matches(s, CK_SAN_DNS, "api.example"));
  assert_true(matches(s, CK_SAN_DNS, "localhost"));
  assert_false(matches(s, CK_SAN_DNS, "*.api.example"));
  assert_false(matches(s, CK_SAN_DNS, "x.api.example"));
  assert_false(matches(s, CK_SAN_DNS, "api.example.evil"));
  assert_false(matches(s, CK_SAN_DNS, "localhost.evil"));
  /* another type never matches DNS patterns */
  assert_false(ck_sanset_match(s, CK_SAN_EMAIL, "a.test"));
  ck_sanset_free(s);
}

static void dns_pattern_errors(void **state) {
  (void)state;
  assert_string_equal(add_err(CK_SAN_DNS, "*.*.test"),
                      "'*.*.test' is not a valid DNS pattern ('*' may only "
                      "appear as the leading '*.')");
  assert_string_equal(add_err(CK_SAN_DNS, "a.*.test"),
                      "'a.*.test' is not a valid DNS pattern ('*' may only "
                      "appear as the leading '*.')");
  assert_string_equal(add_err(CK_SAN_DNS, "*test"),
                      "'*test' is not a valid DNS pattern ('*' may only "
                      "appear as the leading '*.')");
  assert_string_equal(add_err(CK_SAN_DNS, "*"),
                      "'*' is not a valid DNS pattern ('*' may only appear "
                      "as the leading '*.')");
  assert_string_equal(add_err(CK_SAN_DNS, ""),
                      "'' is not a valid DNS pattern (empty name)");
  assert_string_equal(add_err(CK_SAN_DNS, "."),
                      "'.' is not a valid DNS pattern (empty name)");
  assert_string_equal(add_err(CK_SAN_DNS, "*."),
                      "'*.' is not a valid DNS pattern (empty name)");
  assert_string_equal(add_err(CK_SAN_DNS, "..test"),
                      "'..test' is not a valid DNS pattern (empty label)");
  assert_string_equal(add_err(CK_SAN_DNS, "a b.test"),
                      "'a b.test' is not a valid DNS pattern (character "
                      "'\\x20' is not allowed (letters, digits and '-' only; "
                      "IDNs in their xn-- form))");
  assert_string_equal(add_err(CK_SAN_DNS, "a\x01.test"),
                      "'a\\x01.test' is not a valid DNS pattern (character "
                      "'\\x01' is not allowed (letters, digits and '-' only; "
                      "IDNs in their xn-- form))");
  assert_string_equal(add_err(CK_SAN_DNS, ".Test."), "OK .test");
  assert_string_equal(add_err(CK_SAN_DNS, "*.Web.TEST"), "OK *.web.test");

  /* duplicates after normalization */
  {
    ck_sanset *s = NULL;
    ck_errctx e = CK_ERRCTX_INIT;
    assert_int_equal(ck_sanset_new(&s), CK_OK);
    assert_int_equal(ck_sanset_add(s, CK_SAN_DNS, ".test", &e), CK_OK);
    assert_int_equal(ck_sanset_add(s, CK_SAN_DNS, ".TEST.", &e), CK_ERR_EXIST);
    assert_string_equal(e.msg, "'.test' is listed twice");
    assert_int_equal(ck_sanset_add(s, 99, ".test", NULL), CK_ERR_INVAL);
    assert_int_equal(ck_sanset_count(s, 0), 1);
    ck_sanset_free(s);
    ck_sanset_free(NULL);
  }
}

static void ip_ranges(void **state) {
  static const char *const pats[] = {"10.0.0.0/8", "fd00::/8", "192.0.2.7",
                                     "10.128.0.0/9", NULL};
  ck_sanset *s = set_of(CK_SAN_IP, pats);
  char out[CK_SANSET_VALUE_MAX];
  int w;

  (void)state;
  assert_string_equal(ck_sanset_get(s, CK_SAN_IP, 2), "192.0.2.7/32");
  assert_true(matches(s, CK_SAN_IP, "10.1.2.3"));
  assert_true(matches(s, CK_SAN_IP, "10.255.255.255"));
  assert_false(matches(s, CK_SAN_IP, "11.0.0.1"));
  assert_false(matches(s, CK_SAN_IP, "9.255.255.255"));
  assert_true(matches(s, CK_SAN_IP, "192.0.2.7"));
  assert_false(matches(s, CK_SAN_IP, "192.0.2.8"));
  assert_true(matches(s, CK_SAN_IP, "fd12:3456::1"));
  assert_true(matches(s, CK_SAN_IP, "FD00:0:0:0:0:0:0:1"));
  assert_false(matches(s, CK_SAN_IP, "fe80::1"));
  /* no mixing of families: v4-mapped v6 is v6 */
  assert_false(matches(s, CK_SAN_IP, "::ffff:10.0.0.1"));
  ck_sanset_free(s);

  {
    static const char *const nine[] = {"10.128.0.0/9", NULL};
    s = set_of(CK_SAN_IP, nine);
    assert_true(matches(s, CK_SAN_IP, "10.200.0.1"));
    assert_false(matches(s, CK_SAN_IP, "10.1.0.1"));
    ck_sanset_free(s);
  }
  {
    static const char *const all[] = {"0.0.0.0/0", NULL};
    s = set_of(CK_SAN_IP, all);
    assert_true(matches(s, CK_SAN_IP, "203.0.113.9"));
    assert_false(matches(s, CK_SAN_IP, "::1"));
    ck_sanset_free(s);
  }
  assert_string_equal(norm(CK_SAN_IP, "2001:DB8:0:0::1", out, &w), "");
  assert_string_equal(out, "2001:db8::1");
  assert_string_equal(norm(CK_SAN_IP, "300.1.1.1", out, &w),
                      "not an IPv4 or IPv6 address");
  assert_string_equal(norm(CK_SAN_IP, "host.test", out, &w),
                      "not an IPv4 or IPv6 address");

  assert_string_equal(add_err(CK_SAN_IP, "10.0.0.1/8"),
                      "'10.0.0.1/8' is not a valid IP pattern (host bits are "
                      "set; the network is 10.0.0.0/8)");
  assert_string_equal(add_err(CK_SAN_IP, "10.0.0.0/33"),
                      "'10.0.0.0/33' is not a valid IP pattern (prefix length "
                      "33 is out of range 0..32)");
  assert_string_equal(add_err(CK_SAN_IP, "10.0.0.0/08"),
                      "'10.0.0.0/08' is not a valid IP pattern (prefix length "
                      "'08' is not a number)");
  assert_string_equal(add_err(CK_SAN_IP, "10.0.0.0/"),
                      "'10.0.0.0/' is not a valid IP pattern (prefix length "
                      "'' is not a number)");
  assert_string_equal(add_err(CK_SAN_IP, "10.0.0/8"),
                      "'10.0.0/8' is not a valid IP pattern ('10.0.0' is not "
                      "an IPv4 or IPv6 address)");
  assert_string_equal(add_err(CK_SAN_IP, "fd00::1/8"),
                      "'fd00::1/8' is not a valid IP pattern (host bits are "
                      "set; the network is fd00::/8)");
  assert_string_equal(add_err(CK_SAN_IP, "2001:DB8::/32"), "OK 2001:db8::/32");
}

static void uri_rules(void **state) {
  static const char *const pats[] = {"spiffe://cluster.test/ns/web",
                                     "URN:", "https://.app.test",
                                     "https://*.svc.test/api/", NULL};
  ck_sanset *s = set_of(CK_SAN_URI, pats);
  char out[CK_SANSET_VALUE_MAX];
  int w;

  (void)state;
  assert_string_equal(ck_sanset_get(s, CK_SAN_URI, 1), "urn:");
  assert_true(matches(s, CK_SAN_URI, "spiffe://cluster.test/ns/web"));
  assert_true(matches(s, CK_SAN_URI, "spiffe://cluster.test/ns/web/sa/x"));
  assert_true(matches(s, CK_SAN_URI, "SPIFFE://Cluster.Test/ns/web"));
  assert_false(matches(s, CK_SAN_URI, "spiffe://cluster.test/ns/webevil"));
  assert_false(matches(s, CK_SAN_URI, "spiffe://cluster.test/ns/Web"));
  assert_false(matches(s, CK_SAN_URI, "spiffe://cluster.test/ns"));
  assert_false(matches(s, CK_SAN_URI, "spiffe://evil.test/ns/web"));
  assert_false(matches(s, CK_SAN_URI, "spiffe://cluster.test.evil/ns/web"));
  assert_false(matches(s, CK_SAN_URI, "spiffe://u@cluster.test/ns/web"));
  assert_false(matches(s, CK_SAN_URI, "spiffe://cluster.test:8443/ns/web"));
  assert_false(matches(s, CK_SAN_URI, "spiffe:cluster.test/ns/web"));
  assert_false(matches(s, CK_SAN_URI, "http://cluster.test/ns/web"));
  assert_true(matches(s, CK_SAN_URI, "urn:uuid:6e8bc430-9c3a-11d9-9669"));
  assert_true(matches(s, CK_SAN_URI, "https://a.app.test/"));
  assert_true(matches(s, CK_SAN_URI, "https://a.b.app.test/x?y#z"));
  assert_false(matches(s, CK_SAN_URI, "https://app.test/"));
  assert_true(matches(s, CK_SAN_URI, "https://x.svc.test/api/v1"));
  assert_false(matches(s, CK_SAN_URI, "https://x.svc.test/apix"));
  assert_false(matches(s, CK_SAN_URI, "https://x.y.svc.test/api/v1"));

  assert_string_equal(
      norm(CK_SAN_URI, "spiffe://cluster.test/ns/web/../adm", out, &w),
      "the path has a '.' or '..' segment");
  assert_string_equal(
      norm(CK_SAN_URI, "spiffe://cluster.test/ns/web/%2e%2E/adm", out, &w),
      "the path has a '.' or '..' segment");
  assert_string_equal(norm(CK_SAN_URI, "no-scheme", out, &w), "no scheme");
  assert_string_equal(norm(CK_SAN_URI, "https://a.test/a b", out, &w),
                      "character '\\x20' is not allowed in a URI");
  assert_string_equal(norm(CK_SAN_URI, "https://a.test/%zz", out, &w),
                      "'%' is not followed by two hex digits");
  assert_string_equal(norm(CK_SAN_URI, "https://a.test/%4", out, &w),
                      "'%' is not followed by two hex digits");
  assert_string_equal(norm(CK_SAN_URI, "https://a.test/x%41", out, &w), "");
  assert_string_equal(out, "https://a.test/x%41");

  assert_string_equal(add_err(CK_SAN_URI, "cluster.test"),
                      "'cluster.test' is not a valid URI pattern (no scheme "
                      "(use scheme:, scheme://host or scheme://host/path))");
  assert_string_equal(add_err(CK_SAN_URI, "https:foo"),
                      "'https:foo' is not a valid URI pattern (expected '//' "
                      "after 'https:' (use scheme:, scheme://host or "
                      "scheme://host/path))");
  assert_string_equal(add_err(CK_SAN_URI, "https://a.test:443/"),
                      "'https://a.test:443/' is not a valid URI pattern "
                      "(ports, user information, IP literals, queries and "
                      "fragments are not supported in URI patterns)");
  assert_string_equal(add_err(CK_SAN_URI, "https://a.test/x/../y"),
                      "'https://a.test/x/../y' is not a valid URI pattern "
                      "(the path has a '.' or '..' segment)");
  assert_string_equal(add_err(CK_SAN_URI, "https://*.*.test"),
                      "'https://*.*.test' is not a valid URI pattern ('*' "
                      "may only appear as the leading '*.')");
  assert_string_equal(add_err(CK_SAN_URI, "HTTPS://A.Test/Path"),
                      "OK https://a.test/Path");
  ck_sanset_free(s);
}

static void email_rules(void **state) {
  static const char *const pats[] = {"example.test", ".corp.test",
                                     "ops@other.test", NULL};
  ck_sanset *s = set_of(CK_SAN_EMAIL, pats);
  char out[CK_SANSET_VALUE_MAX];
  int w;

  (void)state;
  assert_true(matches(s, CK_SAN_EMAIL, "alice@example.test"));
  assert_true(matches(s, CK_SAN_EMAIL, "Alice@EXAMPLE.test"));
  assert_false(matches(s, CK_SAN_EMAIL, "alice@sub.example.test"));
  assert_false(matches(s, CK_SAN_EMAIL, "alice@evilexample.test"));
  assert_true(matches(s, CK_SAN_EMAIL, "bob@eu.corp.test"));
  assert_false(matches(s, CK_SAN_EMAIL, "bob@corp.test"));
  assert_true(matches(s, CK_SAN_EMAIL, "ops@Other.Test"));
  assert_false(matches(s, CK_SAN_EMAIL, "dev@other.test"));
  assert_false(matches(s, CK_SAN_EMAIL, "OPS@other.test"));

  assert_string_equal(norm(CK_SAN_EMAIL, "Alice@EXAMPLE.Test", out, &w), "");
  assert_string_equal(out, "Alice@example.test");
  assert_string_equal(norm(CK_SAN_EMAIL, "no-at", out, &w),
                      "exactly one '@' is needed");
  assert_string_equal(norm(CK_SAN_EMAIL, "a@b@c.test", out, &w),
                      "exactly one '@' is needed");
  assert_string_equal(norm(CK_SAN_EMAIL, ".a@x.test", out, &w),
                      "the local part starts or ends with '.'");
  assert_string_equal(norm(CK_SAN_EMAIL, "a..b@x.test", out, &w),
                      "the local part has '..'");
  assert_string_equal(norm(CK_SAN_EMAIL, "@x.test", out, &w),
                      "the local part must have 1..64 characters");
  assert_string_equal(norm(CK_SAN_EMAIL, "a@*.x.test", out, &w),
                      "domain: a wildcard is not allowed here");
  assert_string_equal(norm(CK_SAN_EMAIL, "\"a b\"@x.test", out, &w),
                      "character '\"' is not allowed in the local part "
                      "(quoted and internationalized addresses are not "
                      "supported)");

  assert_string_equal(add_err(CK_SAN_EMAIL, "*.example.test"),
                      "'*.example.test' is not a valid email pattern ('*.' "
                      "is not valid here (use '.domain'))");
  assert_string_equal(add_err(CK_SAN_EMAIL, "a@@x.test"),
                      "'a@@x.test' is not a valid email pattern (more than "
                      "one '@')");
  assert_string_equal(add_err(CK_SAN_EMAIL, "Ops@X.Test"), "OK Ops@x.test");
  ck_sanset_free(s);
}

static void binding_lines(void **state) {
  ck_sanset *s = NULL, *again = NULL;
  ck_errctx e = CK_ERRCTX_INIT;
  char *lines = NULL, *lines2 = NULL;

  (void)state;
  assert_int_equal(ck_sanset_parse_lines("dns:.a.test\n  ip:10.0.0.0/8 \r\n"
                                         "# a comment\n\nURI:urn:\n"
                                         "email:x.test\n.B.test",
                                         &s, &e),
                   CK_OK);
  assert_int_equal(ck_sanset_count(s, 0), 5);
  assert_int_equal(ck_sanset_count(s, CK_SAN_DNS), 2);
  assert_true(matches(s, CK_SAN_DNS, "h.b.test"));
  assert_true(matches(s, CK_SAN_IP, "10.9.9.9"));
  assert_int_equal(ck_sanset_to_lines(s, &lines), CK_OK);
  assert_string_equal(lines, "dns:.a.test\nip:10.0.0.0/8\nuri:urn:\n"
                             "email:x.test\ndns:.b.test\n");
  /* the canonical form reads back the same */
  assert_int_equal(ck_sanset_parse_lines(lines, &again, &e), CK_OK);
  assert_int_equal(ck_sanset_to_lines(again, &lines2), CK_OK);
  assert_string_equal(lines, lines2);
  ck_sanset_free(s);
  ck_sanset_free(again);
  free(lines);
  free(lines2);

  s = NULL;
  assert_int_equal(ck_sanset_parse_lines(NULL, &s, &e), CK_OK);
  assert_int_equal(ck_sanset_count(s, 0), 0);
  ck_sanset_free(s);

  s = NULL;
  assert_int_equal(ck_sanset_parse_lines(".a.test\nip:10.0.0.1/8\n", &s, &e),
                   CK_ERR_PARSE);
  assert_null(s);
  assert_string_equal(e.msg, "line 2: '10.0.0.1/8' is not a valid IP pattern "
                             "(host bits are set; the network is 10.0.0.0/8)");
  ck_errctx_clear(&e);
  assert_int_equal(ck_sanset_parse_lines(".a.test\n.A.test\n", &s, &e),
                   CK_ERR_EXIST);
  assert_string_equal(e.msg, "line 2: '.a.test' is listed twice");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(dns_normalize),      cmocka_unit_test(dns_patterns),
      cmocka_unit_test(dns_pattern_errors), cmocka_unit_test(ip_ranges),
      cmocka_unit_test(uri_rules),          cmocka_unit_test(email_rules),
      cmocka_unit_test(binding_lines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
