/* test_webconf.c — nginx / Apache / HAProxy TLS directive parsers. */
#include "tests/testutil.h"

#include <string.h>

#include "agent/discover/webconf.h"

static void parse(ck_webconf *w, const char *conf, const char *text) {
  ck_errctx e = CK_ERRCTX_INIT;
  assert_int_equal(ck_webconf_parse(w, conf, text, strlen(text), &e), CK_OK);
}

static void test_nginx(void **state) {
  (void)state;
  ck_webconf w = {0};
  parse(&w, "/etc/nginx/sites/a.conf",
        "server {\n"
        "  # ssl_certificate /commented/out.pem;\n"
        "  ssl_certificate /etc/ssl/a.pem; ssl_certificate_key x.key;\n"
        "\tssl_certificate_key \"/etc/ssl/a key.key\";\n"
        "  ssl_certificate $ssl_server_name.pem;\n"
        "  ssl_certificate data:$var;\n"
        "  ssl_certificate_key rel/b.key;\r\n"
        "}\n");
  assert_int_equal(w.n, 3);
  assert_string_equal(w.refs[0].path, "/etc/ssl/a.pem");
  assert_string_equal(w.refs[0].service, "nginx");
  assert_int_equal(w.refs[0].line, 3);
  assert_false(w.refs[0].is_key);
  assert_string_equal(w.refs[1].path, "/etc/ssl/a key.key");
  assert_true(w.refs[1].is_key);
  assert_int_equal(w.refs[1].line, 4);
  assert_string_equal(w.refs[2].path, "/etc/nginx/sites/rel/b.key");
  assert_int_equal(w.refs[2].line, 7);
  assert_string_equal(w.refs[2].conf, "/etc/nginx/sites/a.conf");
  ck_webconf_clear(&w);
  ck_webconf_clear(&w); /* reusable / idempotent */
}

static void test_apache_haproxy(void **state) {
  (void)state;
  ck_webconf w = {0};
  parse(&w, "ssl.conf",
        "<VirtualHost *:443>\n"
        "  sslcertificatefile /a.crt\n"
        "  SSLCertificateKeyFile '/a.key'\n"
        "  SSLCertificateChainFile /chain.pem\n"
        "</VirtualHost>\n");
  parse(&w, "/etc/haproxy/haproxy.cfg",
        "frontend f\n"
        "  bind :443 ssl crt /etc/haproxy/certs/ crt site.pem alpn h2\n"
        "  bind :80\n"
        "  crt /not/a/bind.pem\n"
        "  bind :1 ssl crt\n");
  assert_int_equal(w.n, 5);
  assert_string_equal(w.refs[0].path, "/a.crt");
  assert_string_equal(w.refs[0].service, "apache");
  assert_true(w.refs[1].is_key);
  assert_string_equal(w.refs[1].path, "/a.key");
  assert_string_equal(w.refs[2].path, "/chain.pem");
  assert_string_equal(w.refs[3].path, "/etc/haproxy/certs/");
  assert_string_equal(w.refs[3].service, "haproxy");
  assert_int_equal(w.refs[3].line, 2);
  assert_string_equal(w.refs[4].path, "/etc/haproxy/site.pem");
  ck_webconf_clear(&w);
}

static void test_hostile(void **state) {
  (void)state;
  ck_webconf w = {0};
  ck_errctx e = CK_ERRCTX_INIT;
  static const char nul[] = "ssl_certificate /a\0b.pem;\nssl_certificate /c;";
  assert_int_equal(ck_webconf_parse(&w, "x", nul, sizeof(nul) - 1, &e), CK_OK);
  assert_int_equal(w.n, 1); /* the line with a NUL is ignored */
  assert_string_equal(w.refs[0].path, "/c");
  assert_int_equal(w.refs[0].line, 2);
  /* unterminated quotes, lone keywords, empty input */
  parse(&w, "x", "ssl_certificate \"/unterminated\nssl_certificate\n\"\n;;;\n");
  assert_int_equal(w.n, 2);
  assert_string_equal(w.refs[1].path, "/unterminated");
  assert_int_equal(ck_webconf_parse(&w, "x", NULL, 0, &e), CK_OK);
  assert_int_equal(ck_webconf_parse(NULL, "x", "a", 1, &e), CK_ERR_INVAL);
  ck_webconf_clear(&w);
  /* too many references in one file: CK_ERR_LIMIT, nothing kept */
  size_t n = 10001, len = n * 20;
  char *big = malloc(len + 1), *p = big;
  assert_non_null(big);
  for (size_t i = 0; i < n; i++)
    p += snprintf(p, 21, "ssl_certificate /x;\n");
  assert_int_equal(ck_webconf_parse(&w, "big", big, (size_t)(p - big), &e),
                   CK_ERR_LIMIT);
  assert_int_equal(w.n, 0);
  assert_non_null(strstr(e.msg, "big"));
  free(big);
  ck_webconf_clear(&w);
  assert_true(ck_webconf_sniff("x SSLCertificateFile y", 22));
  assert_false(ck_webconf_sniff("server { listen 80; }", 21));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nginx),
      cmocka_unit_test(test_apache_haproxy),
      cmocka_unit_test(test_hostile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
