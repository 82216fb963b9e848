/* resolve.c — name and TXT lookups for the validator. With a configured
 * resolver ("ip:port", the pebble-style test override) every question
 * (A, AAAA, TXT) goes to that server with the small DNS client below (UDP,
 * TCP when the reply is truncated); otherwise addresses come from the
 * system (getaddrinfo: /etc/hosts, nsswitch) and TXT records from the
 * nameservers listed in /etc/resolv.conf. Replies are parsed by dnsmsg.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util/clock.h"
#include "common/util/mem.h"
#include "coordinator/acme/dnsmsg.h"
#include "coordinator/acme/validate_int.h"

#define UDP_RESEND_MS 1000
#define DNS_TCP_MAX 65535

void ck__acme_addr_str(const struct sockaddr_storage *sa, int port, char *buf,
                       size_t len) {
  char ip[INET6_ADDRSTRLEN] = "?";

  if (sa->ss_family == AF_INET) {
    inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip,
              sizeof ip);
    snprintf(buf, len, "%s:%d", ip, port);
  } else {
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip,
              sizeof ip);
    snprintf(buf, len, "[%s]:%d", ip, port);
  }
}

static int ns_port(const struct sockaddr_storage *ns) {
  return ns->ss_family == AF_INET
             ? ntohs(((const struct sockaddr_in *)ns)->sin_port)
             : ntohs(((const struct sockaddr_in6 *)ns)->sin6_port);
}

static socklen_t ss_len(const struct sockaddr_storage *ss) {
  return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                  : sizeof(struct sockaddr_in6);
}

/* One question over UDP to ns, resent every second until deadline. */
static ck_err ask_udp(const struct sockaddr_storage *ns, const uint8_t *q,
                      size_t qlen, uint16_t id, const char *name,
                      uint16_t qtype, uint64_t deadline,
                      ck_acme_dns_answer *ans, ck_errctx *err) {
  uint8_t buf[4096];
  int fd = socket(ns->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int malformed = 0;
  uint64_t resend = 0;
  ck_err rc = CK_ERR_TIMEOUT;

  if (fd < 0)
    return ck_failf(err, CK_ERR_NET, "socket: %s", strerror(errno));
  if (connect(fd, (const struct sockaddr *)ns, ss_len(ns)) != 0) {
    rc = ck_failf(err, CK_ERR_NET, "%s", strerror(errno));
    goto out;
  }
  for (int guard = 0; guard < 100000; guard++) {
    int64_t left = ck__acme_left(deadline), wait;
    struct pollfd pfd = {.fd = fd, .events = POLLIN, .revents = 0};
    ssize_t r;
    if (left <= 0)
      break;
    if (ck_clock_mono_ms() >= resend) {
      if (send(fd, q, qlen, 0) < 0 && errno != EINTR) {
        rc = ck_failf(err, CK_ERR_NET, "%s", strerror(errno));
        goto out;
      }
      resend = ck_clock_mono_ms() + UDP_RESEND_MS;
    }
    wait = (int64_t)(resend - ck_clock_mono_ms());
    if (wait > left)
      wait = left;
    if (wait < 1)
      wait = 1;
    if (poll(&pfd, 1, (int)wait) <= 0)
      continue;
    r = recv(fd, buf, sizeof buf, 0);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN)
        continue;
      rc = ck_failf(err, CK_ERR_NET, "%s", strerror(errno));
      goto out;
    }
    rc = ck_acme_dns_parse(buf, (size_t)r, id, name, qtype, ans);
    if (rc == CK_OK)
      goto out;
    if (rc == CK_ERR_PARSE)
      malformed = 1; /* keep listening: could be noise */
    rc = CK_ERR_TIMEOUT;
  }
  rc = malformed ? ck_failf(err, CK_ERR_PARSE, "malformed DNS reply")
                 : ck_failf(err, CK_ERR_TIMEOUT, "timeout");
out:
  close(fd);
  return rc;
}

/* The same question over TCP (RFC 7766), after a truncated UDP reply. */
static ck_err ask_tcp(const struct sockaddr_storage *ns, const uint8_t *q,
                      size_t qlen, uint16_t id, const char *name,
                      uint16_t qtype, uint64_t deadline,
                      ck_acme_dns_answer *ans, ck_errctx *err) {
  ck__acme_vconn c;
  ck_acme_validation scratch;
  uint8_t hdr[2], *msg = NULL;
  size_t have = 0, want = 2, n;
  ck_err rc;

  memset(&scratch, 0, sizeof scratch);
  rc = ck__acme_vconn_open(&c, ns, ns_port(ns), deadline, &scratch);
  if (rc != CK_OK)
    return ck_failf(err, rc, "TCP: %s", scratch.detail);
  hdr[0] = (uint8_t)(qlen >> 8);
  hdr[1] = (uint8_t)qlen;
  rc = ck__acme_vconn_write(&c, hdr, 2, deadline, err);
  if (rc == CK_OK)
    rc = ck__acme_vconn_write(&c, q, qlen, deadline, err);
  msg = malloc(DNS_TCP_MAX);
  if (msg == NULL)
    rc = CK_ERR_NOMEM;
  while (rc == CK_OK && have < want) {
    rc = ck__acme_vconn_read(&c, msg + have, want - have, &n, deadline, err);
    if (rc != CK_OK)
      break;
    have += n;
    if (have == 2 && want == 2) {
      want = 2 + ((size_t)msg[0] << 8 | msg[1]);
      memmove(hdr, msg, 2);
      have = 0;
      want -= 2;
      if (want == 0)
        rc = ck_failf(err, CK_ERR_PARSE, "empty DNS reply over TCP");
    }
  }
  if (rc == CK_ERR_CLOSED)
    rc = ck_failf(err, CK_ERR_PARSE, "DNS reply over TCP cut short");
  if (rc == CK_OK) {
    rc = ck_acme_dns_parse(msg, have, id, name, qtype, ans);
    if (rc != CK_OK)
      rc = ck_failf(err, CK_ERR_PARSE, "malformed DNS reply over TCP");
  }
  free(msg);
  ck__acme_vconn_close(&c);
  return rc;
}

/* Asks the validator's nameservers one question; on CK_OK *ans holds a
 * reply with NOERROR or NXDOMAIN. On failure the problem is set. */
static ck_err ask(const ck_acme_validator *v, const char *name, uint16_t qtype,
                  uint64_t deadline, ck_acme_dns_answer *ans,
                  ck_acme_validation *res) {
  static const char *const tname[] = {[CK_ACME_DNS_A] = "A",
                                      [CK_ACME_DNS_TXT] = "TXT",
                                      [CK_ACME_DNS_AAAA] = "AAAA"};
  uint8_t q[CK_ACME_DNS_MAX_QUERY];
  size_t qlen;
  uint16_t id;
  char why[600] = "no DNS server configured", where[80], rname[16];
  ck_err rc = CK_ERR_NET;

  if (ck_random(&id, sizeof id) != CK_OK ||
      ck_acme_dns_query(id, name, qtype, q, sizeof q, &qlen) != CK_OK)
    return ck__acme_vfail(res, CK_ERR_INVAL, "dns",
                          "DNS problem: cannot ask for %s %s", tname[qtype],
                          name);
  for (size_t i = 0; i < v->n_ns; i++) {
    int64_t left = ck__acme_left(deadline);
    uint64_t dl = ck_clock_mono_ms() + (uint64_t)(left / (int64_t)(v->n_ns - i));
    ck_errctx err = CK_ERRCTX_INIT;
    ck__acme_addr_str(&v->ns[i], ns_port(&v->ns[i]), where, sizeof where);
    if (left <= 0)
      break;
    rc = ask_udp(&v->ns[i], q, qlen, id, name, qtype, dl, ans, &err);
    if (rc == CK_OK && ans->truncated)
      rc = ask_tcp(&v->ns[i], q, qlen, id, name, qtype, deadline, ans, &err);
    if (rc == CK_OK && (ans->rcode == CK_ACME_DNS_NOERROR ||
                        ans->rcode == CK_ACME_DNS_NXDOMAIN))
      return CK_OK;
    if (rc == CK_OK) {
      rc = CK_ERR_NET;
      snprintf(why, sizeof why, "%s from %s",
               ck_acme_dns_rcode_name(ans->rcode, rname, sizeof rname), where);
    } else {
      snprintf(why, sizeof why, "%s (%s)", ck_errctx_msg(&err), where);
    }
  }
  return ck__acme_vfail(res, rc == CK_ERR_TIMEOUT ? CK_ERR_TIMEOUT : CK_ERR_NET,
                        "dns", "DNS problem: looking up %s for %s: %s",
                        tname[qtype], name, why);
}

static ck_err system_addrs(const char *name, ck__acme_addrs *out,
                           ck_acme_validation *res) {
  struct addrinfo hints, *ai = NULL;
  int r;

  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  r = getaddrinfo(name, NULL, &hints, &ai);
  if (r == EAI_NONAME)
    return ck__acme_vfail(res, CK_ERR_NOENT, "dns",
                          "DNS problem: NXDOMAIN looking up A/AAAA for %s",
                          name);
  if (r != 0)
    return ck__acme_vfail(res, CK_ERR_NET, "dns",
                          "DNS problem: looking up %s: %s", name,
                          gai_strerror(r));
  for (struct addrinfo *p = ai; p != NULL && out->n < CK__ACME_MAX_ADDRS;
       p = p->ai_next) {
    if ((p->ai_family != AF_INET && p->ai_family != AF_INET6) ||
        p->ai_addrlen > sizeof out->a[0])
      continue;
    memset(&out->a[out->n], 0, sizeof out->a[0]);
    memcpy(&out->a[out->n], p->ai_addr, p->ai_addrlen);
    out->n++;
  }
  freeaddrinfo(ai);
  return CK_OK;
}

static void add_answer_addrs(const ck_acme_dns_answer *a, ck__acme_addrs *out) {
  for (size_t i = 0; i < a->n_addrs && out->n < CK__ACME_MAX_ADDRS; i++) {
    struct sockaddr_storage *ss = &out->a[out->n++];
    memset(ss, 0, sizeof *ss);
    if (a->addrs[i].family == AF_INET) {
      struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
      s4->sin_family = AF_INET;
      memcpy(&s4->sin_addr, a->addrs[i].ip, 4);
    } else {
      struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
      s6->sin6_family = AF_INET6;
      memcpy(&s6->sin6_addr, a->addrs[i].ip, 16);
    }
  }
}

ck_err ck__acme_lookup_addrs(const ck_acme_validator *v, const char *name,
                             uint64_t deadline, ck__acme_addrs *out,
                             ck_acme_validation *res) {
  static const uint16_t types[2] = {CK_ACME_DNS_AAAA, CK_ACME_DNS_A};
  ck_acme_dns_answer *ans = NULL;
  ck_acme_validation fail;
  int nx = 0, failed = 0;
  ck_err rc = CK_OK;

  out->n = 0;
  if (!v->custom_ns) {
    rc = system_addrs(name, out, res);
    if (rc == CK_OK && out->n == 0)
      rc = ck__acme_vfail(res, CK_ERR_NOENT, "dns",
                          "DNS problem: no valid IP addresses found for %s",
                          name);
    return rc;
  }
  ans = malloc(sizeof *ans);
  if (ans == NULL)
    return ck__acme_vfail(res, CK_ERR_NOMEM, "serverInternal", "out of memory");
  memset(&fail, 0, sizeof fail);
  for (int t = 0; t < 2; t++) {
    if (ask(v, name, types[t], deadline, ans, &fail) != CK_OK) {
      failed = 1; /* the other family may still answer */
      continue;
    }
    if (ans->rcode == CK_ACME_DNS_NXDOMAIN)
      nx++;
    add_answer_addrs(ans, out);
  }
  free(ans);
  if (out->n > 0)
    return CK_OK;
  if (failed)
    return ck__acme_vfail(res, fail.rc, "dns", "%s", fail.detail);
  if (nx == 2)
    return ck__acme_vfail(res, CK_ERR_NOENT, "dns",
                          "DNS problem: NXDOMAIN looking up A for %s", name);
  return ck__acme_vfail(res, CK_ERR_NOENT, "dns",
                        "DNS problem: no valid A or AAAA records found for %s",
                        name);
}

ck_err ck__acme_lookup_txt(const ck_acme_validator *v, const char *name,
                           uint64_t deadline, char ***txt, size_t *n,
                           int *nxdomain, ck_acme_validation *res) {
  ck_acme_dns_answer *ans = malloc(sizeof *ans);
  char **list = NULL;
  ck_err rc;

  *txt = NULL;
  *n = 0;
  *nxdomain = 0;
  if (ans == NULL)
    return ck__acme_vfail(res, CK_ERR_NOMEM, "serverInternal", "out of memory");
  rc = ask(v, name, CK_ACME_DNS_TXT, deadline, ans, res);
  if (rc != CK_OK)
    goto out;
  *nxdomain = ans->rcode == CK_ACME_DNS_NXDOMAIN;
  if (ans->n_txt > 0) {
    list = calloc(ans->n_txt, sizeof *list);
    if (list == NULL) {
      rc = ck__acme_vfail(res, CK_ERR_NOMEM, "serverInternal", "out of memory");
      goto out;
    }
    for (size_t i = 0; i < ans->n_txt; i++) {
      list[i] = strdup(ans->txt[i]);
      if (list[i] == NULL) {
        ck__acme_txt_free(list, i);
        list = NULL;
        rc = ck__acme_vfail(res, CK_ERR_NOMEM, "serverInternal",
                            "out of memory");
        goto out;
      }
    }
    *txt = list;
    *n = ans->n_txt;
  }
out:
  free(ans);
  return rc;
}

void ck__acme_txt_free(char **txt, size_t n) {
  if (txt == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    free(txt[i]);
  free(txt);
}
