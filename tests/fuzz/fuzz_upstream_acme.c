/* fuzz_upstream_acme.c — libFuzzer target for what an upstream ACME CA
 * sends back to the coordinator's ACME client (coordinator/ca/
 * upstream_parse.c): the directory, orders, authorizations, problem
 * documents and Retry-After values. The CA is a remote party, so every
 * answer is untrusted input.
 *
 * The first byte picks the parser (mod 5), the rest is the body. On success
 * every string the parser handed out is read (a pointer outside the JSON
 * tree shows up under ASan). Errors are expected; a crash, leak or
 * sanitizer report is a bug. Seeds: tests/fuzz/corpus/upstream_acme/
 * (answers captured from pebble, and broken variants). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/ca/upstream_acme_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void touch(const char *s) {
  if (s != NULL)
    sink += strlen(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ck_errctx err = CK_ERRCTX_INIT;
  const char *body;
  char *text;
  size_t len, i;

  if (size < 1)
    return 0;
  /* a NUL-terminated copy, as the HTTP layer hands bodies over */
  len = size - 1;
  if ((text = malloc(len + 1)) == NULL)
    return 0;
  memcpy(text, data + 1, len);
  text[len] = '\0';
  body = text;
  switch (data[0] % 5) {
  case 0: {
    ck__acme_dir d;
    if (ck__acme_parse_dir(body, len, &d, &err) == CK_OK) {
      touch(d.new_nonce);
      touch(d.new_account);
      touch(d.new_order);
      sink += (size_t)d.eab_required;
    }
    ck__acme_dir_clear(&d);
    break;
  }
  case 1: {
    ck__acme_order o;
    if (ck__acme_parse_order(body, len, &o, &err) == CK_OK) {
      for (i = 0; i < o.n_authz; i++)
        touch(o.authz[i]);
      touch(o.finalize);
      touch(o.certificate);
      touch(o.error.type);
      touch(o.error.detail);
    }
    ck__acme_order_clear(&o);
    break;
  }
  case 2: {
    ck__acme_authz a;
    if (ck__acme_parse_authz(body, len, &a, &err) == CK_OK) {
      const ck__acme_chall *c = ck__acme_authz_find(&a, "http-01");
      touch(a.ident_type);
      touch(a.ident_value);
      for (i = 0; i < a.n_chall; i++) {
        touch(a.chall[i].type);
        touch(a.chall[i].url);
        touch(a.chall[i].token);
      }
      if (c != NULL && c->token != NULL && !ck__acme_token_ok(c->token))
        abort(); /* the parser only hands out base64url tokens */
      touch(a.error.detail);
    }
    ck__acme_authz_clear(&a);
    break;
  }
  case 3: {
    ck__acme_problem p;
    if (ck__acme_parse_problem(body, len, &p)) {
      for (i = 0; p.detail[i] != '\0'; i++)
        if (p.detail[i] < 0x20 || p.detail[i] == 0x7f)
          abort(); /* details reach logs: printable only */
      touch(p.type);
    }
    break;
  }
  default: {
    int64_t v = ck__acme_retry_after(body, 1700000000, 3, 1, 10);
    if (v < 1 || v > 10)
      abort();
    break;
  }
  }
  sink += strlen(ck_errctx_msg(&err));
  free(text);
  return 0;
}
