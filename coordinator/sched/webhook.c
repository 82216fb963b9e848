/* webhook.c — signed JSON POSTs with libcurl (webhook.h). HMAC-SHA256 is
 * built from the crypto layer's SHA-256 (RFC 2104), so no TLS library
 * header is needed here; the key is wiped from the stack after use. */
#include "coordinator/sched/webhook.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/mem.h"

#define BLOCK 64

ck_err ck_webhook_hmac(const void *key, size_t keylen, const void *data,
                       size_t len, uint8_t out[CK_SHA256_LEN]) {
  uint8_t k[BLOCK], inner[CK_SHA256_LEN], *msg = NULL;
  size_t i;
  ck_err rc;

  memset(k, 0, sizeof k);
  if (keylen > BLOCK) {
    if ((rc = ck_crypto_sha256(key, keylen, k)) != CK_OK)
      goto out;
  } else if (keylen > 0) {
    memcpy(k, key, keylen);
  }
  /* room for the message, then for the inner hash */
  if (len > SIZE_MAX - BLOCK ||
      (msg = malloc(BLOCK + (len > CK_SHA256_LEN ? len : CK_SHA256_LEN))) ==
          NULL) {
    rc = CK_ERR_NOMEM;
    goto out;
  }
  for (i = 0; i < BLOCK; i++)
    msg[i] = k[i] ^ 0x36;
  if (len > 0)
    memcpy(msg + BLOCK, data, len);
  if ((rc = ck_crypto_sha256(msg, BLOCK + len, inner)) != CK_OK)
    goto out;
  for (i = 0; i < BLOCK; i++)
    msg[i] = k[i] ^ 0x5c;
  memcpy(msg + BLOCK, inner, CK_SHA256_LEN);
  rc = ck_crypto_sha256(msg, BLOCK + CK_SHA256_LEN, out);
out:
  if (msg != NULL)
    ck_wipe(msg, BLOCK);
  free(msg);
  ck_wipe(k, sizeof k);
  ck_wipe(inner, sizeof inner);
  return rc;
}

/* The answer body is not needed: drop it (bounded by curl's timeout). */
static size_t sink(char *p, size_t size, size_t n, void *arg) {
  (void)p;
  (void)arg;
  return size * n;
}

ck_err ck_webhook_post(const char *url, const char *delivery_id,
                       const void *key, size_t keylen, const char *body,
                       size_t len, long timeout_s, long *status,
                       ck_errctx *err) {
  uint8_t mac[CK_SHA256_LEN];
  char hex[2 * CK_SHA256_LEN + 1], sig[96], did[320];
  char errbuf[CURL_ERROR_SIZE] = "";
  struct curl_slist *hdr = NULL, *n;
  CURL *c = NULL;
  CURLcode cr;
  long code = 0;
  int ok = 1;
  ck_err rc;

  *status = 0;
  if (url == NULL ||
      (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
    return ck_failf(err, CK_ERR_INVAL, "webhook URL '%.80s' is not http(s)",
                    url != NULL ? url : "");
  if (strcspn(delivery_id, "\r\n") != strlen(delivery_id))
    return ck_failf(err, CK_ERR_INVAL, "delivery id");
  if ((rc = ck_webhook_hmac(key, keylen, body, len, mac)) != CK_OK)
    return ck_failf(err, rc, "webhook signature");
  ck_hex_encode(mac, sizeof mac, hex);
  snprintf(sig, sizeof sig, "X-Certkeeper-Signature: sha256=%s", hex);
  snprintf(did, sizeof did, "X-Certkeeper-Delivery: %.280s", delivery_id);
  hdr = curl_slist_append(NULL, "Content-Type: application/json");
  if (hdr == NULL || (n = curl_slist_append(hdr, sig)) == NULL ||
      (n = curl_slist_append(hdr, did)) == NULL ||
      (n = curl_slist_append(hdr, "Expect:")) == NULL ||
      (c = curl_easy_init()) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "webhook: out of memory");
    goto out;
  }
#define SET(opt, val) ok &= curl_easy_setopt(c, opt, val) == CURLE_OK
  SET(CURLOPT_URL, url);
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_HTTPHEADER, hdr);
  SET(CURLOPT_POST, 1L);
  SET(CURLOPT_POSTFIELDS, body);
  SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  SET(CURLOPT_TIMEOUT, timeout_s > 0 ? timeout_s : 10L);
  SET(CURLOPT_CONNECTTIMEOUT, timeout_s > 0 ? timeout_s : 10L);
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_FOLLOWLOCATION, 0L);
  SET(CURLOPT_WRITEFUNCTION, sink);
  SET(CURLOPT_ERRORBUFFER, errbuf);
  SET(CURLOPT_USERAGENT, "certkeeper-notices");
#undef SET
  if (!ok) {
    rc = ck_failf(err, CK_ERR_INTERNAL, "webhook: libcurl refused an option");
    goto out;
  }
  cr = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  *status = code;
  if (cr == CURLE_OPERATION_TIMEDOUT)
    rc = ck_failf(err, CK_ERR_TIMEOUT, "webhook: no answer within %lds",
                  timeout_s);
  else if (cr == CURLE_SSL_CONNECT_ERROR ||
           cr == CURLE_PEER_FAILED_VERIFICATION)
    rc = ck_failf(err, CK_ERR_TLS, "webhook: TLS: %s",
                  errbuf[0] ? errbuf : curl_easy_strerror(cr));
  else if (cr != CURLE_OK)
    rc = ck_failf(err, CK_ERR_NET, "webhook: %s",
                  errbuf[0] ? errbuf : curl_easy_strerror(cr));
  else if (code >= 200 && code < 300)
    rc = CK_OK;
  else if (code >= 500 || code == 408 || code == 429)
    rc = ck_failf(err, CK_ERR_AGAIN, "webhook: answered %ld", code);
  else
    rc = ck_failf(err, CK_ERR_DENIED, "webhook: answered %ld (not retried)",
                  code);
out:
  curl_slist_free_all(hdr);
  if (c != NULL)
    curl_easy_cleanup(c);
  ck_wipe(mac, sizeof mac);
  return rc;
}
