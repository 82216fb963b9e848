/* test_dnsmsg.c — the validator's DNS wire format: query encoding (labels,
 * limits, EDNS0), reply parsing (A/AAAA/TXT, CNAME chains, multi-string
 * TXT, foreign ids and questions, compression loops and forward pointers,
 * truncated and malformed records, the TC bit). */
#include "tests/testutil.h"

#include <string.h>
#include <sys/socket.h>

#include "coordinator/acme/dnsmsg.h"

static uint8_t buf[1024];
static size_t pos;

static void put(const void *p, size_t n) {
  memcpy(buf + pos, p, n);
  pos += n;
}
static void put16(unsigned v) {
  uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
  put(b, 2);
}
static void put_name(const char *n) {
  while (*n) {
    const char *dot = strchr(n, '.');
    size_t l = dot ? (size_t)(dot - n) : strlen(n);
    uint8_t lb = (uint8_t)l;
    put(&lb, 1);
    put(n, l);
    n += l + (dot ? 1 : 0);
  }
  put("", 1);
}
/* Reply header + question for name/qtype with an answers, id 0x1234. */
static void start(const char *name, unsigned qtype, unsigned an,
                  unsigned flags) {
  pos = 0;
  put16(0x1234);
  put16(0x8180 | flags);
  put16(1);
  put16(an);
  put16(0);
  put16(0);
  put_name(name);
  put16(qtype);
  put16(1);
}
static void rr_hdr(unsigned type, unsigned rdlen) {
  put16(type);
  put16(1);
  put16(0);
  put16(60);
  put16(rdlen);
}

static void test_query(void **state) {
  uint8_t q[CK_ACME_DNS_MAX_QUERY];
  size_t len = 0;
  char long_label[80];
  (void)state;

  assert_int_equal(ck_acme_dns_query(7, "_acme-challenge.Example.com.", 16, q,
                                     sizeof q, &len),
                   CK_OK);
  assert_int_equal(q[0], 0);
  assert_int_equal(q[1], 7);
  assert_int_equal(q[2], 1); /* RD */
  assert_int_equal(q[12], 15);
  assert_memory_equal(q + 13, "_acme-challenge", 15);
  assert_int_equal(len, 12 + 29 + 4 + 11); /* 27 chars: 29 on the wire */
  assert_int_equal(q[len - 11], 0);  /* OPT owner: root */
  assert_int_equal(q[len - 9], 41);  /* OPT */
  memset(long_label, 'a', 64);
  long_label[64] = '\0';
  assert_int_equal(ck_acme_dns_query(1, long_label, 1, q, sizeof q, &len),
                   CK_ERR_INVAL);
  assert_int_equal(ck_acme_dns_query(1, "a..b", 1, q, sizeof q, &len),
                   CK_ERR_INVAL);
  assert_int_equal(ck_acme_dns_query(1, "", 1, q, sizeof q, &len),
                   CK_ERR_INVAL);
  assert_int_equal(ck_acme_dns_query(1, "a.b", 1, q, 10, &len), CK_ERR_RANGE);
}

static void test_addresses_and_cname(void **state) {
  ck_acme_dns_answer a;
  static const uint8_t ip4[4] = {192, 0, 2, 7};
  (void)state;

  /* www.a.test CNAME b.test (compressed), b.test A, unrelated c.test A */
  start("www.a.test", 1, 3, 0);
  put16(0xC00C);
  rr_hdr(5, 8);
  put_name("b.test");
  put_name("c.test");
  rr_hdr(1, 4);
  put(ip4, 4);
  put_name("b.test");
  rr_hdr(1, 4);
  put(ip4, 4);
  assert_int_equal(ck_acme_dns_parse(buf, pos, 0x1234, "WWW.a.test.", 1, &a),
                   CK_OK);
  assert_int_equal(a.rcode, 0);
  assert_int_equal(a.n_addrs, 1);
  assert_int_equal(a.addrs[0].family, AF_INET);
  assert_memory_equal(a.addrs[0].ip, ip4, 4);
  /* wrong id, other question, not a response */
  assert_int_equal(ck_acme_dns_parse(buf, pos, 0x1235, "www.a.test", 1, &a),
                   CK_ERR_NOENT);
  assert_int_equal(ck_acme_dns_parse(buf, pos, 0x1234, "x.a.test", 1, &a),
                   CK_ERR_NOENT);
  assert_int_equal(ck_acme_dns_parse(buf, pos, 0x1234, "www.a.test", 28, &a),
                   CK_ERR_NOENT);
  buf[2] &= 0x7F;
  assert_int_equal(ck_acme_dns_parse(buf, pos, 0x1234, "www.a.test", 1, &a),
                   CK_ERR_NOENT);
  /* an A record of the wrong size */
  start("a.test", 1, 1, 0);
  put16(0xC00C);
  rr_hdr(1, 3);
  put(ip4, 3);
  assert_int_equal(ck_acme_dns_parse(buf, pos, 0x1234, "a.test", 1, &a),
                   CK_ERR_PARSE);
}

static void test_txt(void **state) {
  ck_acme_dns_answer a;
  (void)state;

  start("_acme-challenge.a.test", 16, 2, 0);
  put16(0xC00C);
  rr_hdr(16, 8);
  put("\x03" "abc" "\x03" "def", 8);
  put16(0xC00C);
  rr_hdr(16, 3);
  put("\x02" "\n" "z", 3);
  assert_int_equal(ck_acme_dns_parse(buf, pos, 0x1234,
                                     "_acme-challenge.a.test", 16, &a),
                   CK_OK);
  assert_int_equal(a.n_txt, 2);
  assert_string_equal(a.txt[0], "abcdef");
  assert_string_equal(a.txt[1], "\\x0az");
  /* a character-string running past the rdata */
  start("t.test", 16, 1, 0);
  put16(0xC00C);
  rr_hdr(16, 3);
  put("\x05" "ab", 3);
  assert_int_equal(ck_acme_dns_parse(buf, pos, 0x1234, "t.test", 16, &a),
                   CK_ERR_PARSE);
  /* NXDOMAIN, and TC */
  start("t.test", 16, 0, 3);
  assert_int_equal(ck_acme_dns_parse(buf, pos, 0x1234, "t.test", 16, &a),
                   CK_OK);
  assert_int_equal(a.rcode, CK_ACME_DNS_NXDOMAIN);
  start("t.test", 16, 5, 0x200);
  assert_int_equal(ck_acme_dns_parse(buf, pos, 0x1234, "t.test", 16, &a),
                   CK_OK);
  assert_int_equal(a.truncated, 1);
  assert_int_equal(a.n_txt, 0);
}

static void test_malformed(void **state) {
  ck_acme_dns_answer a;
  (void)state;

  /* a pointer to itself, and a forward pointer */
  start("p.test", 1, 1, 0);
  put16(0xC000 | (unsigned)pos);
  rr_hdr(1, 4);
  put("\1\2\3\4", 4);
  assert_int_equal(ck_acme_dns_parse(buf, pos, 0x1234, "p.test", 1, &a),
                   CK_ERR_PARSE);
  start("p.test", 1, 1, 0);
  put16(0xC000 | (unsigned)(pos + 2));
  rr_hdr(1, 4);
  put("\1\2\3\4", 4);
  assert_int_equal(ck_acme_dns_parse(buf, pos, 0x1234, "p.test", 1, &a),
                   CK_ERR_PARSE);
  /* rdata past the end; an answer count larger than the records */
  start("p.test", 1, 1, 0);
  put16(0xC00C);
  rr_hdr(1, 40);
  put("\1\2\3\4", 4);
  assert_int_equal(ck_acme_dns_parse(buf, pos, 0x1234, "p.test", 1, &a),
                   CK_ERR_PARSE);
  start("p.test", 1, 2, 0);
  put16(0xC00C);
  rr_hdr(1, 4);
  put("\1\2\3\4", 4);
  assert_int_equal(ck_acme_dns_parse(buf, pos, 0x1234, "p.test", 1, &a),
                   CK_ERR_PARSE);
  /* every truncation of a good reply is refused or incomplete, never read
   * past the end (ASan watches) */
  start("p.test", 1, 1, 0);
  put16(0xC00C);
  rr_hdr(1, 4);
  put("\1\2\3\4", 4);
  for (size_t n = 0; n < pos; n++) {
    uint8_t *copy = malloc(n + 1);
    memcpy(copy, buf, n);
    assert_int_not_equal(ck_acme_dns_parse(copy, n, 0x1234, "p.test", 1, &a),
                         CK_OK);
    free(copy);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_query),
      cmocka_unit_test(test_addresses_and_cname),
      cmocka_unit_test(test_txt),
      cmocka_unit_test(test_malformed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
