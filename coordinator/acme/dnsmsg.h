/* dnsmsg.h — the DNS wire format (RFC 1035) as far as the ACME validator
 * needs it: one question out (A, AAAA or TXT, recursion desired, EDNS0), the
 * answer section of the reply in.
 *
 * The parser works on untrusted bytes from the network: every length is
 * checked against the message, compression pointers must point backwards
 * (so they cannot loop), names are limited to 255 octets, and results land
 * in a fixed-size struct (nothing is allocated). CNAME chains in the answer
 * are followed from the question name, so a TXT record reached through
 * `_acme-challenge.example.com CNAME x.dns-provider.net` is found; records
 * for unrelated owner names are ignored. */
#ifndef CK_COORD_ACME_DNSMSG_H
#define CK_COORD_ACME_DNSMSG_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/err.h"

enum {
  CK_ACME_DNS_A = 1,
  CK_ACME_DNS_CNAME = 5,
  CK_ACME_DNS_TXT = 16,
  CK_ACME_DNS_AAAA = 28,
  CK_ACME_DNS_OPT = 41
};

enum {
  CK_ACME_DNS_NOERROR = 0,
  CK_ACME_DNS_FORMERR = 1,
  CK_ACME_DNS_SERVFAIL = 2,
  CK_ACME_DNS_NXDOMAIN = 3,
  CK_ACME_DNS_NOTIMP = 4,
  CK_ACME_DNS_REFUSED = 5
};

#define CK_ACME_DNS_MAX_NAME 256 /* presentation form incl. NUL */
#define CK_ACME_DNS_MAX_ADDRS 16
#define CK_ACME_DNS_MAX_TXT 16
#define CK_ACME_DNS_TXT_LEN 512 /* per record incl. NUL; longer is cut */
#define CK_ACME_DNS_MAX_QUERY 300

/* The useful part of one reply. */
typedef struct ck_acme_dns_answer {
  int rcode;     /* CK_ACME_DNS_NOERROR, _NXDOMAIN, ... */
  int truncated; /* TC bit: ask again over TCP */
  size_t n_addrs;
  struct {
    int family;     /* AF_INET or AF_INET6 */
    uint8_t ip[16]; /* 4 or 16 bytes, network order */
  } addrs[CK_ACME_DNS_MAX_ADDRS];
  size_t n_txt;
  char txt[CK_ACME_DNS_MAX_TXT][CK_ACME_DNS_TXT_LEN]; /* character-strings
                                   concatenated (RFC 7208 style); bytes
                                   outside printable ASCII as "\xHH" */
  int txt_cut;      /* 1: some TXT value was longer than the buffer */
  size_t n_dropped; /* matching records beyond the limits above */
} ck_acme_dns_answer;

/* Writes a query for name (presentation form, with or without the final
 * dot) and qtype with message id into buf (cap >= CK_ACME_DNS_MAX_QUERY is
 * always enough). Returns CK_ERR_INVAL for an empty name, an empty or
 * over-long label (> 63) or name (> 253), CK_ERR_RANGE if cap is short. */
ck_err ck_acme_dns_query(uint16_t id, const char *name, uint16_t qtype,
                         uint8_t *buf, size_t cap, size_t *len);

/* Parses reply msg[0..len) to the query (id, name, qtype) into *out (fully
 * overwritten). Returns CK_OK for a well-formed reply to that question
 * (whatever its rcode), CK_ERR_NOENT when it is a well-formed reply to some
 * other query (wrong id, question, or not a response: keep waiting), and
 * CK_ERR_PARSE for malformed bytes. The records of the answer section of
 * type qtype whose owner is name or an alias of it are collected. */
ck_err ck_acme_dns_parse(const uint8_t *msg, size_t len, uint16_t id,
                         const char *name, uint16_t qtype,
                         ck_acme_dns_answer *out);

/* "NXDOMAIN", "SERVFAIL", ... or "RCODE<n>" into buf. */
const char *ck_acme_dns_rcode_name(int rcode, char *buf, size_t len);

#endif
