/* smtp.h — one email over SMTP with libcurl: smtp:// with STARTTLS (tried
 * or required) or smtps://, optional login, a bounded timeout. Used by the
 * delivery workers; blocking. */
#ifndef CK_COORD_SCHED_SMTP_H
#define CK_COORD_SCHED_SMTP_H

#include <stddef.h>

#include "common/util/err.h"

typedef struct ck_smtp_opts {
  const char *url;    /* "smtp://host:port" or "smtps://host:port" */
  int tls;            /* 0 none, 1 STARTTLS when offered, 2 required */
  const char *cacert; /* CA file for the server's certificate, NULL/""
                         = the system store */
  const char *user;   /* NULL/"" = no login */
  const char *password;
  long timeout_s; /* whole attempt */
} ck_smtp_opts;

/* Sends message (RFC 5322 text with CRLF line ends, headers included) from
 * `from` to `to`. Returns CK_OK once the server accepted it (250 after
 * DATA); CK_ERR_TIMEOUT, CK_ERR_NET (cannot connect), CK_ERR_TLS,
 * CK_ERR_DENIED (the server refused: a 4xx/5xx reply, its text in err),
 * CK_ERR_INVAL (an address with CR/LF/<>), CK_ERR_NOMEM. Thread-safe
 * once curl_global_init ran. */
ck_err ck_smtp_send(const ck_smtp_opts *o, const char *from, const char *to,
                    const char *message, size_t len, ck_errctx *err);

/* Builds the message: Date, From, To, Subject, Message-ID (msgid@certkeeper),
 * MIME headers (text/plain; UTF-8; 8bit) and body, every line ended by CRLF
 * and header values stripped of CR/LF. Returns a malloc'ed string (caller
 * frees) with its length in *len, NULL on OOM. */
char *ck_smtp_message(const char *from, const char *to, const char *subject,
                      const char *msgid, long long date, const char *body,
                      size_t *len);

#endif
