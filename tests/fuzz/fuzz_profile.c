/* fuzz_profile.c — profile JSON, binding lines and a check against the
 * parsed profile, on arbitrary bytes. Input: JSON \0 lines \0 san values
 * separated by \n (first byte of each value picks the type). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/log.h"
#include "coordinator/policy/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int init;
  char *buf = malloc(size + 3), *lines, *vals, *p;
  ck_profile *prof = NULL;
  ck_sanset *b = NULL;
  ck_san sans[32];
  ck_csr_info ci;
  ck_profile_request req;
  ck_profile_verdict v;
  size_t n = 0;

  if (!init) {
    ck_log_configure(CK_LOG_SEC, "none", CK_LOG_FMT_KV, CK_LOG_DEBUG, NULL);
    ck_log_configure(CK_LOG_OPS, "none", CK_LOG_FMT_KV, CK_LOG_DEBUG, NULL);
    init = 1;
  }
  memcpy(buf, data, size);
  buf[size] = buf[size + 1] = buf[size + 2] = '\0';
  lines = buf + strlen(buf) + 1;
  if (lines > buf + size) lines = buf + size + 1;
  vals = lines + strlen(lines) + 1;
  if (vals > buf + size + 2) vals = buf + size + 2;
  if (ck_profile_from_json(buf, strlen(buf), &prof, NULL) != CK_OK) {
    if (ck_profile_default_tls_server(&prof, NULL) != CK_OK) abort();
  } else {
    char *t = NULL; ck_profile *q = NULL;
    if (ck_profile_to_json(prof, 0, &t, NULL) != CK_OK) abort();
    if (ck_profile_from_json(t, strlen(t), &q, NULL) != CK_OK) abort();
    if (!ck_profile_equal(prof, q)) abort();
    ck_profile_free(q); free(t);
  }
  ck_sanset_parse_lines(lines, &b, NULL);
  for (p = vals; *p && n < 32;) {
    char *nl = strchr(p, '\n');
    if (nl) *nl = '\0';
    sans[n].type = (ck_san_type)(1 + ((unsigned char)*p % 5));
    sans[n].value = p + 1;
    n++;
    if (!nl) break;
    p = nl + 1;
  }
  memset(&ci, 0, sizeof ci);
  ci.subject_cn = n ? sans[0].value : "";
  ci.key.type = CK_KEY_EC; ci.key.bits = 256; memcpy(ci.key.curve, "P-256", 6);
  ci.sans = sans; ci.n_sans = n;
  memset(&req, 0, sizeof req);
  req.csr = &ci;
  req.who.kind = CK_PROFILE_REQ_AGENT; req.who.group = "web"; req.who.binding = b;
  memset(&v, 0, sizeof v);
  ck_profile_check(prof, &req, &v, NULL);
  ck_profile_verdict_clear(&v);
  ck_sanset_free(b);
  ck_profile_free(prof);
  free(buf);
  return 0;
}
