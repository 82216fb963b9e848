/* test_notice.c — what notices say and how they are signed: HMAC-SHA256
 * against RFC 4231's vectors, the email text and the webhook JSON of a
 * delivery document (what expires, where, what to do), header injection
 * through certificate fields, and the SMTP message framing. */
#include "tests/testutil.h"

#include <string.h>

#include "common/util/mem.h"
#include "coordinator/sched/notice.h"
#include "coordinator/sched/smtp.h"
#include "coordinator/sched/webhook.h"

#define NOW 1900000000LL

static void hmac_hex(const void *k, size_t kl, const void *d, size_t dl,
                     char out[65]) {
  uint8_t mac[CK_SHA256_LEN];

  assert_int_equal(ck_webhook_hmac(k, kl, d, dl, mac), CK_OK);
  ck_hex_encode(mac, sizeof mac, out);
}

static void test_hmac_rfc4231(void **state) {
  uint8_t k1[20], k6[131];
  char hex[65];

  (void)state;
  memset(k1, 0x0b, sizeof k1);
  hmac_hex(k1, sizeof k1, "Hi There", 8, hex);
  assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da7"
                           "26e9376c2e32cff7");
  hmac_hex("Jefe", 4, "what do ya want for nothing?", 28, hex);
  assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d273983"
                           "9dec58b964ec3843");
  memset(k6, 0xaa, sizeof k6); /* a key longer than the block is hashed */
  hmac_hex(k6, sizeof k6,
           "Test Using Larger Than Block-Size Key - Hash Key First", 54, hex);
  assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c514"
                           "0546040f0ee37f54");
}

static json_t *delivery(void) {
  json_t *d = json_loads(
      "{\"owner\":\"web-team\",\"channel\":\"email\",\"to\":\"a@b.test\","
      "\"digest\":true,\"created_at\":1900000000,\"items\":["
      "{\"fingerprint\":\"aa11\",\"subject\":\"CN=www.example.test\","
      "\"sans\":\"DNS:www.example.test\\nDNS:example.test\","
      "\"profile\":\"tls-server\",\"owner\":\"web-team\","
      "\"not_after\":1902505600,\"kind\":\"manual\",\"step\":\"30d\","
      "\"incident\":false,\"deployed\":[{\"agent\":\"web-01\","
      "\"path\":\"/etc/nginx/www.pem\",\"service\":\"nginx\","
      "\"endpoint\":\"10.0.0.5:443\"}]},"
      "{\"fingerprint\":\"bb22\",\"subject\":\"CN=evil\\r\\nBcc: x@y\","
      "\"sans\":\"\",\"profile\":\"\",\"owner\":\"web-team\","
      "\"not_after\":1900086400,\"kind\":\"agent\",\"step\":\"incident\","
      "\"incident\":true,\"deployed\":[]}]}",
      0, NULL);
  assert_non_null(d);
  return d;
}

static void test_email(void **state) {
  json_t *d = delivery();
  char *subject = NULL, *body = NULL, *msg;
  size_t len = 0;

  (void)state;
  assert_int_equal(ck_notice_email(d, NOW, &subject, &body), 0);
  assert_non_null(strstr(subject, "INCIDENTS: 2 certificates expire soon"));
  assert_non_null(strstr(body, "* www.example.test"));
  assert_non_null(strstr(body, "(in 29 days)"));
  assert_non_null(strstr(body, "Names: DNS:www.example.test DNS:example.test"));
  assert_non_null(strstr(body, "agent web-01: /etc/nginx/www.pem (nginx) "
                               "serving 10.0.0.5:443"));
  assert_non_null(strstr(body, "What to do: Renew it"));
  assert_non_null(strstr(body, "INCIDENT: its renewal is late"));
  assert_non_null(strstr(body, "What to do: The agent on the host"));
  /* the CR/LF of the subject field never reaches the mail as a line */
  assert_null(strstr(body, "\nBcc:"));
  assert_non_null(strstr(body, "CN=evil??Bcc: x@y"));
  msg = ck_smtp_message("ck@x.test", "a@b.test", "line\r\nBcc: evil@x", "id1",
                        NOW, body, &len);
  assert_non_null(msg);
  assert_non_null(strstr(msg, "Subject: line\r\n"));
  assert_null(strstr(msg, "\r\nBcc: evil@x"));
  assert_non_null(strstr(msg, "Message-ID: <id1@certkeeper>\r\n"));
  assert_non_null(strstr(msg, "\r\n\r\nCertificates of owner web-team"));
  assert_null(strstr(msg, "\n\n")); /* every line ends in CRLF */
  free(msg);
  free(subject);
  free(body);
  json_decref(d);
}

static void test_webhook_json(void **state) {
  json_t *d = delivery(), *w, *c;
  char *text = ck_notice_webhook(d, "tag/webhook/2030-03-17/1");
  char *again = ck_notice_webhook(d, "tag/webhook/2030-03-17/1");

  (void)state;
  assert_non_null(text);
  assert_string_equal(text, again); /* retries send the same bytes */
  w = json_loads(text, 0, NULL);
  assert_non_null(w);
  assert_string_equal(json_string_value(json_object_get(w, "type")),
                      "certkeeper.notice");
  c = json_array_get(json_object_get(w, "certificates"), 0);
  assert_int_equal(json_integer_value(json_object_get(c, "days_left")), 29);
  assert_int_equal(json_array_size(json_object_get(c, "sans")), 2);
  assert_string_equal(
      json_string_value(json_object_get(
          json_array_get(json_object_get(c, "deployed"), 0), "agent")),
      "web-01");
  assert_true(json_is_true(json_object_get(
      json_array_get(json_object_get(w, "certificates"), 1), "incident")));
  json_decref(w);
  free(text);
  free(again);
  json_decref(d);
}

static void test_refusals(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_smtp_opts so;
  long status = 0;

  (void)state;
  memset(&so, 0, sizeof so);
  so.url = "smtp://127.0.0.1:1";
  assert_int_equal(
      ck_smtp_send(&so, "a@b.test", "x\r\nRCPT TO:<e@v>", "m", 1, &err),
      CK_ERR_INVAL);
  assert_int_equal(ck_webhook_post("file:///etc/passwd", "id", "k", 1, "{}", 2,
                                   1, &status, &err),
                   CK_ERR_INVAL);
  assert_int_equal(ck_webhook_post("http://127.0.0.1:1/x", "id\r\nX: y", "k", 1,
                                   "{}", 2, 1, &status, &err),
                   CK_ERR_INVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hmac_rfc4231),
      cmocka_unit_test(test_email),
      cmocka_unit_test(test_webhook_json),
      cmocka_unit_test(test_refusals),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
