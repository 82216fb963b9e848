/* fuzz_dns.c — the ACME validator's DNS reply parser (coordinator/acme/
 * dnsmsg.c) on arbitrary bytes. The first byte picks the question type
 * (A, AAAA, TXT); the message id is taken from the input so replies that
 * pass the header check are reached; the question name is fixed. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "coordinator/acme/dnsmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const uint16_t types[] = {CK_ACME_DNS_A, CK_ACME_DNS_AAAA,
                                   CK_ACME_DNS_TXT};
  static ck_acme_dns_answer ans;
  uint8_t q[CK_ACME_DNS_MAX_QUERY];
  size_t qlen;
  uint16_t qtype, id;
  char rc[16];

  if (size < 3)
    return 0;
  qtype = types[data[0] % 3];
  data++;
  size--;
  id = (uint16_t)(data[0] << 8 | data[1]);
  if (ck_acme_dns_parse(data, size, id, "_acme-challenge.example.test", qtype,
                        &ans) == CK_OK) {
    for (size_t i = 0; i < ans.n_txt; i++)
      if (strlen(ans.txt[i]) >= CK_ACME_DNS_TXT_LEN)
        __builtin_trap();
    if (ans.n_addrs > CK_ACME_DNS_MAX_ADDRS || ans.n_txt > CK_ACME_DNS_MAX_TXT)
      __builtin_trap();
    ck_acme_dns_rcode_name(ans.rcode, rc, sizeof rc);
  }
  /* the query builder on the same bytes as a name */
  {
    char name[300];
    size_t n = size < sizeof name - 1 ? size : sizeof name - 1;
    memcpy(name, data, n);
    name[n] = '\0';
    if (ck_acme_dns_query(id, name, qtype, q, sizeof q, &qlen) == CK_OK &&
        qlen > sizeof q)
      __builtin_trap();
  }
  return 0;
}
