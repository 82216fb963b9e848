/* notice_render.c — the text of notices (notice.h): for each certificate
 * what expires and when, where it is deployed, and what to do about it,
 * depending on who renews it (plan.h kinds). Strings from certificates are
 * data: control characters are replaced before they reach a mail. */
#include "coordinator/sched/notice.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"

typedef struct sbuf {
  char *p;
  size_t len, cap;
  int oom;
} sbuf;

static void addf(sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void addf(sbuf *b, const char *fmt, ...) {
  va_list ap;
  int n;

  if (b->oom)
    return;
  for (;;) {
    va_start(ap, fmt);
    n = vsnprintf(b->p != NULL ? b->p + b->len : NULL,
                  b->p != NULL ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      b->oom = 1;
      return;
    }
    if (b->p != NULL && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    {
      size_t cap = b->cap ? b->cap * 2 : 4096;
      char *np;
      while (cap < b->len + (size_t)n + 1)
        cap *= 2;
      if ((np = realloc(b->p, cap)) == NULL) {
        b->oom = 1;
        return;
      }
      b->p = np;
      b->cap = cap;
    }
  }
}

/* Copies s with control characters as '?' (at most max bytes). */
static const char *clean(const char *s, char *out, size_t max) {
  size_t i;

  if (s == NULL)
    s = "";
  for (i = 0; s[i] != '\0' && i + 1 < max; i++)
    out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
  out[i] = '\0';
  return out;
}

static const char *str(const json_t *o, const char *k) {
  const char *v = json_string_value(json_object_get(o, k));
  return v != NULL ? v : "";
}

static int64_t num(const json_t *o, const char *k) {
  return json_integer_value(json_object_get(o, k));
}

/* The first DNS/IP name of the SANs, else the subject's CN, else the
 * subject. */
static const char *short_name(const json_t *it, char *out, size_t max) {
  const char *sans = str(it, "sans"), *subj = str(it, "subject"), *cn;
  char tmp[512];
  size_t n;

  if (sans[0] != '\0') {
    const char *p = strchr(sans, ':');
    p = p != NULL ? p + 1 : sans;
    n = strcspn(p, "\n");
    if (n >= sizeof tmp)
      n = sizeof tmp - 1;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    return clean(tmp, out, max);
  }
  if ((cn = strstr(subj, "CN=")) != NULL) {
    n = strcspn(cn + 3, ",");
    if (n >= sizeof tmp)
      n = sizeof tmp - 1;
    memcpy(tmp, cn + 3, n);
    tmp[n] = '\0';
    return clean(tmp, out, max);
  }
  return clean(subj[0] ? subj : str(it, "fingerprint"), out, max);
}

static long days_left(const json_t *it, int64_t now) {
  int64_t left = num(it, "not_after") - now;

  return left <= 0 ? -(long)((-left + 86399) / 86400) : (long)(left / 86400);
}

static const char *action_text(const json_t *it) {
  const char *kind = str(it, "kind");
  int incident = json_is_true(json_object_get(it, "incident"));

  if (strcmp(kind, "agent") == 0)
    return incident
               ? "The agent on the host listed has not renewed it. Check the "
                 "agent (certkeeper agent commands AGENT_ID; its log), then "
                 "renew now: certkeeper agent renew AGENT_ID TARGET."
               : "The certkeeper agent renews it automatically; nothing to do "
                 "unless it reports a failure.";
  if (strcmp(kind, "client") == 0)
    return "Its own client (EST or ACME) must renew it: check that client's "
           "schedule and logs on the host, or renew it by hand.";
  if (strcmp(kind, "manual") == 0)
    return "Renew it: create a CSR on the host, run certkeeper cert issue "
           "--profile PROFILE --csr FILE --out FILE, install the result where "
           "it is deployed and reload the service. Or let an agent manage it.";
  return "It was not issued by certkeeper: renew it with the CA that issued "
         "it (see the issuer), install it where it is deployed, or bring it "
         "under management (enroll a certkeeper agent on the host).";
}

static void cert_text(sbuf *b, const json_t *it, int64_t now) {
  char c1[512], c2[512], c3[512], c4[64];
  const json_t *dep = json_object_get(it, "deployed"), *d;
  const char *sans = str(it, "sans"), *p;
  long left = days_left(it, now);
  size_t i;

  ck_time_format_rfc3339(num(it, "not_after"), c4, sizeof c4);
  addf(b, "* %s\n", short_name(it, c1, sizeof c1));
  addf(b, "  %s %s (%s%ld days%s)\n", left < 0 ? "EXPIRED" : "Expires", c4,
       left < 0 ? "" : "in ", left < 0 ? -left : left, left < 0 ? " ago" : "");
  if (json_is_true(json_object_get(it, "incident")))
    addf(b, "  INCIDENT: %s\n",
         str(it, "reason")[0] != '\0'
             ? clean(str(it, "reason"), c3, sizeof c3)
             : "its renewal is late (no successor halfway through the "
               "renewal window)");
  addf(b, "  Subject: %s\n", clean(str(it, "subject"), c1, sizeof c1));
  if (sans[0] != '\0') {
    addf(b, "  Names:");
    for (p = sans; *p != '\0';) {
      size_t n = strcspn(p, "\n");
      char tmp[300];
      if (n >= sizeof tmp)
        n = sizeof tmp - 1;
      memcpy(tmp, p, n);
      tmp[n] = '\0';
      addf(b, " %s", clean(tmp, c2, sizeof c2));
      p += n;
      if (*p == '\n')
        p++;
    }
    addf(b, "\n");
  }
  addf(b, "  Fingerprint (SHA-256): %s\n",
       clean(str(it, "fingerprint"), c1, sizeof c1));
  addf(b, "  Profile: %s   Owner: %s   Renewed by: %s\n",
       str(it, "profile")[0] ? clean(str(it, "profile"), c1, sizeof c1) : "-",
       str(it, "owner")[0] ? clean(str(it, "owner"), c2, sizeof c2) : "(none)",
       clean(str(it, "kind"), c3, sizeof c3));
  if (json_array_size(dep) == 0) {
    addf(b, "  Deployed: not seen on any host by a certkeeper agent\n");
  } else {
    addf(b, "  Deployed:\n");
    json_array_foreach(dep, i, d) {
      addf(b, "    - agent %s: %s", clean(str(d, "agent"), c1, sizeof c1),
           str(d, "path")[0] ? clean(str(d, "path"), c2, sizeof c2) : "-");
      if (str(d, "service")[0] != '\0')
        addf(b, " (%s)", clean(str(d, "service"), c3, sizeof c3));
      if (str(d, "endpoint")[0] != '\0')
        addf(b, " serving %s", clean(str(d, "endpoint"), c3, sizeof c3));
      addf(b, "\n");
    }
  }
  addf(b, "  What to do: %s\n\n", action_text(it));
}

int ck_notice_email(const json_t *doc, int64_t now, char **subject,
                    char **body) {
  const json_t *items = json_object_get(doc, "items"), *it;
  size_t n = json_array_size(items), i, incidents = 0;
  sbuf sb = {0}, bb = {0};
  char c1[512], c2[256];
  long soonest = 0;

  *subject = *body = NULL;
  if (n == 0)
    return -1;
  json_array_foreach(items, i, it) {
    long d = days_left(it, now);
    if (i == 0 || d < soonest)
      soonest = d;
    if (json_is_true(json_object_get(it, "incident")))
      incidents++;
  }
  it = json_array_get(items, 0);
  if (n == 1)
    addf(&sb, "[certkeeper] %s%s %s %ld days", incidents ? "INCIDENT: " : "",
         short_name(it, c1, sizeof c1), soonest < 0 ? "expired" : "expires in",
         soonest < 0 ? -soonest : soonest);
  else
    addf(&sb,
         "[certkeeper] %s%zu certificates expire soon (first in %ld "
         "days)",
         incidents ? "INCIDENTS: " : "", n, soonest);
  addf(&bb, "Certificates of owner %s that need attention",
       str(doc, "owner")[0] ? clean(str(doc, "owner"), c2, sizeof c2)
                            : "(none: fallback address)");
  addf(&bb,
       json_is_true(json_object_get(doc, "digest"))
           ? " (daily digest, %zu certificate%s).\n\n"
           : " (%zu certificate%s).\n\n",
       n, n == 1 ? "" : "s");
  for (i = 0; i < n; i++)
    cert_text(&bb, json_array_get(items, i), now);
  addf(&bb,
       "--\nSent by the certkeeper coordinator. Notices are due %s; "
       "see docs/notices.md.\n",
       "on the configured cadence before expiry");
  if (sb.oom || bb.oom) {
    free(sb.p);
    free(bb.p);
    return -1;
  }
  *subject = sb.p;
  *body = bb.p;
  return 0;
}

char *ck_notice_webhook(const json_t *doc, const char *delivery_id) {
  int64_t now = num(doc, "created_at");
  const json_t *items = json_object_get(doc, "items"), *it;
  json_t *out, *arr = json_array();
  char t[32], na[32];
  char *text = NULL;
  size_t i;

  ck_time_format_rfc3339(now, t, sizeof t);
  out = json_pack("{s:s,s:s,s:s,s:b,s:s,s:o}", "type", "certkeeper.notice",
                  "delivery", delivery_id, "owner", str(doc, "owner"), "digest",
                  json_is_true(json_object_get(doc, "digest")), "created_at", t,
                  "certificates", arr);
  if (out == NULL)
    return NULL;
  json_array_foreach(items, i, it) {
    json_t *c = json_object(), *sans = json_array(), *dep;
    const char *p = str(it, "sans");
    while (*p != '\0') {
      size_t n = strcspn(p, "\n");
      json_array_append_new(sans, json_stringn(p, n));
      p += n;
      if (*p == '\n')
        p++;
    }
    ck_time_format_rfc3339(num(it, "not_after"), na, sizeof na);
    dep = json_object_get(it, "deployed");
    json_object_set_new(c, "fingerprint", json_string(str(it, "fingerprint")));
    json_object_set_new(c, "subject", json_string(str(it, "subject")));
    json_object_set_new(c, "sans", sans);
    json_object_set_new(c, "not_after", json_string(na));
    json_object_set_new(c, "days_left", json_integer(days_left(it, now)));
    json_object_set_new(c, "step", json_string(str(it, "step")));
    json_object_set_new(
        c, "incident",
        json_boolean(json_is_true(json_object_get(it, "incident"))));
    json_object_set_new(c, "profile", json_string(str(it, "profile")));
    json_object_set_new(c, "owner", json_string(str(it, "owner")));
    json_object_set_new(c, "renewed_by", json_string(str(it, "kind")));
    if (str(it, "reason")[0] != '\0')
      json_object_set_new(c, "reason", json_string(str(it, "reason")));
    json_object_set_new(c, "deployed",
                        dep != NULL ? json_deep_copy(dep) : json_array());
    json_object_set_new(c, "action", json_string(action_text(it)));
    json_array_append_new(arr, c);
  }
  text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(out);
  return text;
}
