/* fuzz_assign.c — libFuzzer target for the coordinator's `command config`
 * snippet (agent/run/agentconf.c ck_agentconf_load_certs, used by
 * agent/run/assign.c and for state_dir/assigned.conf): only [cert:ID]
 * sections load, each with its required fields; every refusal says why. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/run/agentconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ck_agentconf *c = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  char *text;
  size_t i;

  if (size > 64 * 1024)
    return 0;
  text = malloc(size + 1);
  if (text == NULL)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  if (ck_agentconf_load_certs("assigned.conf", text, &c, &err) == CK_OK) {
    if (c->state_dir != NULL || c->enrolled || c->n_roots != 0)
      __builtin_trap(); /* nothing but certificates */
    for (i = 0; i < c->n_certs; i++)
      if (c->certs[i].profile == NULL || c->certs[i].n_sans == 0 ||
          c->certs[i].cert_file == NULL || c->certs[i].cert_file[0] != '/' ||
          c->certs[i].key_file == NULL || c->certs[i].key_file[0] != '/')
        __builtin_trap();
    ck_agentconf_free(c);
  } else if (err.msg[0] == '\0') {
    __builtin_trap();
  }
  free(text);
  return 0;
}
