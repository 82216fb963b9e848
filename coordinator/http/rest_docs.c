/* rest_docs.c — REST helpers over the module document store
 * (ck_store_doc, store.h) shared by the resources that keep their state
 * there (rest_acme.c; rest_est.c's lists have the same shape). */
#include "coordinator/http/rest.h"

void ck__rest_doc_page(rest_call *c, const char *kind, const char *key,
                       json_t *(*fn)(const ck_store_doc *d)) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_doc_filter f = {kind, NULL, key, 0};
  ck_store_page pg;
  ck_store_doc *items = NULL;
  size_t n = 0, i;
  json_t *arr;
  ck_err rc;

  if (!rest_page(c, &pg))
    return;
  rc = ck_store_doc_list(c->rt->store, &f, &pg, ck_http_req_arena(c->req),
                         &items, &n, &err);
  if (rc != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    return;
  }
  arr = json_array();
  for (i = 0; i < n; i++)
    json_array_append_new(arr, fn(&items[i]));
  rest_json(
      c, 200,
      json_pack("{s:o,s:o}", "items", arr, "next_cursor",
                pg.next_cursor ? json_string(pg.next_cursor) : json_null()));
}
