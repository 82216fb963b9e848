/* fuzz_notice.c — the scheduler's text inputs on arbitrary bytes: the
 * notice cadence ("90d,30d,7d,1d", from coordinator.conf) and the
 * rendering of a delivery document (JSON read back from the store) into
 * an email and a webhook body. Input: cadence text, a NUL byte, the
 * delivery JSON. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/sched/notice.h"
#include "coordinator/sched/plan.h"
#include "coordinator/sched/smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *buf = malloc(size + 2), *json, *subject = NULL, *body = NULL, *m;
  ck_sched_cadence c;
  json_t *doc;
  size_t len;

  if (buf == NULL)
    return 0;
  memcpy(buf, data, size);
  buf[size] = buf[size + 1] = '\0';
  json = buf + strlen(buf) + 1;
  if (ck_sched_cadence_parse(buf, &c, NULL) == CK_OK)
    (void)ck_sched_cadence_step(&c, 1900000000, 1899000000);
  doc = json_loads(json, JSON_DECODE_ANY, NULL);
  if (doc != NULL) {
    if (ck_notice_email(doc, 1900000000, &subject, &body) == 0) {
      m = ck_smtp_message("a@b.test", "c@d.test", subject, "id", 1900000000,
                          body, &len);
      free(m);
    }
    free(ck_notice_webhook(doc, "fuzz/webhook/1"));
    json_decref(doc);
  }
  free(subject);
  free(body);
  free(buf);
  return 0;
}
