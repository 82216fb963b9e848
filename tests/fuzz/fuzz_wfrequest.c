/* fuzz_wfrequest.c — the approval workflow's parsers on arbitrary bytes:
 * a stored wf.request document (ck__wf_parse and the answer form built
 * from it), and a profile document whose routing members ("approval",
 * "purpose", "blast_radius") are then used to route a few fixed requests.
 * Input: the whole buffer is tried as both. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/log.h"
#include "coordinator/policy/profile.h"
#include "coordinator/policy/routing.h"
#include "coordinator/workflow/request_int.h"

char *ck__wf_public_json(json_t *o);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int init;
  static const ck_san sans[] = {{CK_SAN_DNS, "*.example.com"},
                                {CK_SAN_DNS, "a.test"},
                                {CK_SAN_IP, "10.0.0.1"},
                                {CK_SAN_IP, "2001:db8::1"}};
  char *buf = malloc(size + 1);
  ck_profile *prof = NULL;
  json_t *o;
  size_t i;

  if (buf == NULL)
    return 0;
  if (!init) {
    ck_log_configure(CK_LOG_SEC, "none", CK_LOG_FMT_KV, CK_LOG_DEBUG, NULL);
    ck_log_configure(CK_LOG_OPS, "none", CK_LOG_FMT_KV, CK_LOG_DEBUG, NULL);
    init = 1;
  }
  memcpy(buf, data, size);
  buf[size] = '\0';

  o = ck__wf_parse(buf, size, NULL);
  if (o != NULL) {
    char *t;
    ck_wf_state st;
    (void)ck__wf_str(o, "requester");
    (void)ck__wf_int(o, "round");
    if (ck_wf_state_parse(ck__wf_str(o, "state"), &st) != CK_OK)
      abort(); /* the parser promised a valid state */
    t = ck__wf_public_json(o);
    free(t);
    json_decref(o);
  }

  if (ck_profile_from_json(buf, size, &prof, NULL) == CK_OK) {
    for (i = 0; i <= sizeof sans / sizeof sans[0]; i++) {
      ck_route_in in;
      ck_route r;
      memset(&in, 0, sizeof in);
      in.profile = prof;
      in.sans = sans;
      in.n_sans = i;
      in.cn = i == 0 ? "x.example.org" : "";
      in.strength = (ck_id_strength)(i % CK_IDS__MAX);
      ck_route_classify(&in, &r);
      if (r.blast >= CK_BLAST__MAX || r.purpose >= CK_PURPOSE__MAX)
        abort();
      if (r.blast == CK_BLAST_HIGH && r.decision != CK_ROUTE_ADMIN)
        abort(); /* high blast radius overrides everything */
    }
    ck_profile_free(prof);
  }
  free(buf);
  return 0;
}
