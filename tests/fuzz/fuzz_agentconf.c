/* fuzz_agentconf.c — libFuzzer target for the agent's configuration file
 * (agent/run/agentconf.c): the INI text through the schema and every
 * [cert:ID] check. Whatever loads must have its required fields set. */
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
  if (ck_agentconf_load_string("fuzz.conf", text, &c, &err) == CK_OK) {
    if (c->state_dir == NULL || c->state_dir[0] != '/')
      __builtin_trap();
    for (i = 0; i < c->n_certs; i++)
      if (c->certs[i].profile == NULL || c->certs[i].n_sans == 0 ||
          c->certs[i].cert_file == NULL || c->certs[i].key_file == NULL ||
          !(c->certs[i].renew_fraction > 0 && c->certs[i].renew_fraction < 1))
        __builtin_trap();
    ck_agentconf_free(c);
  } else if (err.msg[0] == '\0') {
    __builtin_trap(); /* every refusal says why */
  }
  free(text);
  return 0;
}
