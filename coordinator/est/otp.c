/* otp.c — one-time device passwords ("est.otp" documents, id = SHA-256 of
 * the password) and the record of every certificate issued over EST
 * ("est.device", id = the certificate's fingerprint). A password is
 * consumed by re-putting its document with the version that was read, in
 * the same store write as the certificate it paid for: a replay, or two
 * devices racing with one password, gets CK_ERR_CONFLICT and nothing of
 * that write commits. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/mem.h"
#include "coordinator/core/secret.h"
#include "coordinator/est/fleet.h"

ck_err ck_estd_otp_get(ck_store *s, const char *password, ck_estd_otp *out,
                       ck_errctx *err) {
  char hash[CK_SHA256_HEX_LEN];
  ck_arena *a = NULL;
  ck_store_doc d;
  json_t *o = NULL;
  const char *v;
  ck_err rc;

  memset(out, 0, sizeof *out);
  if (password == NULL || strlen(password) > 256 ||
      ck_secret_hash(password, hash) != CK_OK)
    return ck_failf(err, CK_ERR_NOT_FOUND, "no such one-time password");
  if ((a = ck_arena_new(2048)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "one-time password");
  if ((rc = ck_store_doc_get(s, CK_ESTD_KIND_OTP, hash, a, &d, err)) != CK_OK)
    goto out;
  if ((o = json_loads(d.doc, 0, NULL)) == NULL || !json_is_object(o)) {
    rc = ck_failf(err, CK_ERR_PARSE,
                  "one-time password document does not decode");
    goto out;
  }
  memcpy(out->hash, hash, sizeof out->hash);
#define STR(key, dst)                                                          \
  do {                                                                         \
    v = json_string_value(json_object_get(o, key));                            \
    ck_strlcpy(dst, v != NULL ? v : "", sizeof dst);                           \
  } while (0)
  STR("fleet", out->fleet);
  STR("device", out->device);
  STR("created_by", out->created_by);
  STR("used_for", out->used_for);
  STR("pending_csr", out->pending_csr);
#undef STR
  out->created_at = json_integer_value(json_object_get(o, "created_at"));
  out->expires_at = json_integer_value(json_object_get(o, "expires_at"));
  out->used_at = json_integer_value(json_object_get(o, "used_at"));
  out->version = d.version;
out:
  json_decref(o);
  ck_arena_free(a);
  ck_wipe(hash, sizeof hash);
  return rc;
}

static json_t *otp_json(const ck_estd_otp *o) {
  return json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:s}", "fleet", o->fleet,
                   "device", o->device, "created_by", o->created_by,
                   "created_at", (json_int_t)o->created_at, "expires_at",
                   (json_int_t)o->expires_at, "used_at", (json_int_t)o->used_at,
                   "used_for", o->used_for, "pending_csr", o->pending_csr);
}

ck_err ck_estd_otp_put(ck_store_write *w, const ck_estd_otp *o,
                       int64_t expect_version, ck_errctx *err) {
  json_t *j = otp_json(o);
  char *text = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  ck_store_doc d;
  ck_err rc;

  json_decref(j);
  if (text == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "one-time password");
  memset(&d, 0, sizeof d);
  d.kind = CK_ESTD_KIND_OTP;
  d.id = o->hash;
  d.key = o->fleet;
  d.state = o->used_at != 0 ? "used" : "unused";
  d.due_at = o->used_at != 0 ? 0 : o->expires_at; /* when it can be swept */
  d.doc = text;
  rc = ck_store_write_doc_put(w, &d, expect_version, err);
  free(text);
  return rc;
}

char *ck_estd_otp_to_json(const ck_estd_otp *o) {
  json_t *j = otp_json(o);
  char *s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

  json_decref(j);
  return s;
}

ck_err ck_estd_device_put(ck_store_write *w, const char *fingerprint,
                          const char *fleet, const char *device,
                          const char *auth, const char *renews,
                          ck_errctx *err) {
  json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "fleet", fleet, "device",
                        device ? device : "", "auth", auth, "renews",
                        renews ? renews : "");
  char *text = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  ck_store_doc d;
  ck_err rc;

  json_decref(j);
  if (text == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "device record");
  memset(&d, 0, sizeof d);
  d.kind = CK_ESTD_KIND_DEVICE;
  d.id = fingerprint;
  d.key = fleet;
  d.state = auth;
  d.doc = text;
  rc = ck_store_write_doc_put(w, &d, 0, err);
  free(text);
  return rc;
}

ck_err ck_estd_device_get(ck_store *s, const char *fingerprint,
                          char fleet[CK_ESTD_NAME_MAX], char *device,
                          size_t device_len, ck_errctx *err) {
  ck_arena *a = ck_arena_new(1024);
  ck_store_doc d;
  json_t *o = NULL;
  const char *v;
  ck_err rc;

  if (a == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "device record");
  rc = ck_store_doc_get(s, CK_ESTD_KIND_DEVICE, fingerprint, a, &d, err);
  if (rc == CK_OK) {
    if ((o = json_loads(d.doc, 0, NULL)) == NULL) {
      rc = ck_failf(err, CK_ERR_PARSE, "device record does not decode");
    } else {
      v = json_string_value(json_object_get(o, "fleet"));
      ck_strlcpy(fleet, v != NULL ? v : "", CK_ESTD_NAME_MAX);
      v = json_string_value(json_object_get(o, "device"));
      ck_strlcpy(device, v != NULL ? v : "", device_len);
    }
  }
  json_decref(o);
  ck_arena_free(a);
  return rc;
}
