/* smtp.c — email over SMTP with libcurl (smtp.h): STARTTLS by
 * CURLOPT_USE_SSL, the message streamed from memory, the server's refusal
 * text kept for the delivery record. */
#include "coordinator/sched/smtp.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct src {
  const char *p;
  size_t left;
} src;

static size_t read_cb(char *buf, size_t size, size_t nitems, void *arg) {
  src *s = arg;
  size_t n = size * nitems;

  if (n > s->left)
    n = s->left;
  memcpy(buf, s->p, n);
  s->p += n;
  s->left -= n;
  return n;
}

/* An address we put in MAIL FROM / RCPT TO: no CR, LF, <, > or spaces. */
static int addr_ok(const char *a) {
  size_t i;

  if (a == NULL || a[0] == '\0' || strlen(a) > 320)
    return 0;
  for (i = 0; a[i] != '\0'; i++)
    if ((unsigned char)a[i] <= 0x20 || a[i] == '<' || a[i] == '>' ||
        a[i] == 0x7f)
      return 0;
  return strchr(a, '@') != NULL;
}

ck_err ck_smtp_send(const ck_smtp_opts *o, const char *from, const char *to,
                    const char *message, size_t len, ck_errctx *err) {
  char errbuf[CURL_ERROR_SIZE] = "", rcpt_addr[340], from_addr[340];
  struct curl_slist *rcpt = NULL;
  CURL *c = NULL;
  CURLcode cr;
  src s = {message, len};
  long code = 0;
  int ok = 1;
  ck_err rc = CK_OK;

  if (!addr_ok(from) || !addr_ok(to))
    return ck_failf(err, CK_ERR_INVAL, "not a usable email address: '%.80s'",
                    addr_ok(from) ? to : from);
  snprintf(rcpt_addr, sizeof rcpt_addr, "<%s>", to);
  snprintf(from_addr, sizeof from_addr, "<%s>", from);
  if ((c = curl_easy_init()) == NULL ||
      (rcpt = curl_slist_append(NULL, rcpt_addr)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "smtp: out of memory");
    goto out;
  }
#define SET(opt, val) ok &= curl_easy_setopt(c, opt, val) == CURLE_OK
  SET(CURLOPT_URL, o->url);
  SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  SET(CURLOPT_USE_SSL, o->tls == 2   ? (long)CURLUSESSL_ALL
                       : o->tls == 1 ? (long)CURLUSESSL_TRY
                                     : (long)CURLUSESSL_NONE);
  if (o->cacert != NULL && o->cacert[0] != '\0')
    SET(CURLOPT_CAINFO, o->cacert);
  if (o->user != NULL && o->user[0] != '\0') {
    SET(CURLOPT_USERNAME, o->user);
    SET(CURLOPT_PASSWORD, o->password != NULL ? o->password : "");
  }
  SET(CURLOPT_MAIL_FROM, from_addr);
  SET(CURLOPT_MAIL_RCPT, rcpt);
  SET(CURLOPT_READFUNCTION, read_cb);
  SET(CURLOPT_READDATA, &s);
  SET(CURLOPT_UPLOAD, 1L);
  SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
  SET(CURLOPT_TIMEOUT, o->timeout_s > 0 ? o->timeout_s : 30L);
  SET(CURLOPT_CONNECTTIMEOUT, o->timeout_s > 0 ? o->timeout_s : 30L);
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_ERRORBUFFER, errbuf);
#undef SET
  if (!ok) {
    rc = ck_failf(err, CK_ERR_INTERNAL, "smtp: libcurl refused an option");
    goto out;
  }
  cr = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  switch (cr) {
  case CURLE_OK:
    break;
  case CURLE_OPERATION_TIMEDOUT:
    rc = ck_failf(err, CK_ERR_TIMEOUT, "smtp %s: timed out", o->url);
    break;
  case CURLE_COULDNT_CONNECT:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_GOT_NOTHING:
    rc = ck_failf(err, CK_ERR_NET, "smtp %s: %s", o->url,
                  errbuf[0] ? errbuf : curl_easy_strerror(cr));
    break;
  case CURLE_USE_SSL_FAILED:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
    rc = ck_failf(err, CK_ERR_TLS, "smtp %s: TLS: %s", o->url,
                  errbuf[0] ? errbuf : curl_easy_strerror(cr));
    break;
  default:
    if (code >= 400)
      rc = ck_failf(err, CK_ERR_DENIED, "smtp %s: the server refused (%ld): %s",
                    o->url, code, errbuf[0] ? errbuf : curl_easy_strerror(cr));
    else
      rc = ck_failf(err, CK_ERR_NET, "smtp %s: %s", o->url,
                    errbuf[0] ? errbuf : curl_easy_strerror(cr));
    break;
  }
out:
  curl_slist_free_all(rcpt);
  if (c != NULL)
    curl_easy_cleanup(c);
  return rc;
}

/* Appends text to the growing buffer; 0 on OOM. */
typedef struct buf {
  char *p;
  size_t len, cap;
} buf;

static int put(buf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    char *np;
    while (cap < b->len + n + 1)
      cap *= 2;
    if ((np = realloc(b->p, cap)) == NULL)
      return 0;
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 1;
}

/* A header line with the value cut at any CR/LF (no header injection). */
static int header(buf *b, const char *name, const char *value) {
  size_t n = strcspn(value, "\r\n");

  return put(b, name, strlen(name)) && put(b, ": ", 2) && put(b, value, n) &&
         put(b, "\r\n", 2);
}

char *ck_smtp_message(const char *from, const char *to, const char *subject,
                      const char *msgid, long long date, const char *body,
                      size_t *len) {
  static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                     "Thu", "Fri", "Sat"};
  static const char *const mons[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char datebuf[64], idbuf[300];
  time_t t = (time_t)date;
  struct tm tm;
  buf b = {NULL, 0, 0};
  const char *p;
  int ok;

  gmtime_r(&t, &tm);
  snprintf(datebuf, sizeof datebuf, "%s, %02d %s %04d %02d:%02d:%02d +0000",
           days[tm.tm_wday % 7], tm.tm_mday, mons[tm.tm_mon % 12],
           tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  snprintf(idbuf, sizeof idbuf, "<%.200s@certkeeper>", msgid);
  ok = header(&b, "Date", datebuf) && header(&b, "From", from) &&
       header(&b, "To", to) && header(&b, "Subject", subject) &&
       header(&b, "Message-ID", idbuf) && header(&b, "MIME-Version", "1.0") &&
       header(&b, "Content-Type", "text/plain; charset=utf-8") &&
       header(&b, "Content-Transfer-Encoding", "8bit") &&
       header(&b, "Auto-Submitted", "auto-generated") && put(&b, "\r\n", 2);
  /* body: every line ended by CRLF */
  for (p = body; ok && *p != '\0';) {
    size_t n = strcspn(p, "\r\n");
    ok = put(&b, p, n) && put(&b, "\r\n", 2);
    p += n;
    if (*p == '\r')
      p++;
    if (*p == '\n')
      p++;
  }
  if (!ok) {
    free(b.p);
    return NULL;
  }
  *len = b.len;
  return b.p;
}
