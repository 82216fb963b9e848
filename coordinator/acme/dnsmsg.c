/* dnsmsg.c — building DNS queries and parsing replies for the ACME
 * validator (see dnsmsg.h). Pure functions over byte buffers: the fuzz
 * target tests/fuzz/fuzz_dns.c drives ck_acme_dns_parse directly. */
#include "coordinator/acme/dnsmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/util/mem.h"

#define HDR_LEN 12
#define MAX_RRS 64     /* answer records looked at */
#define MAX_ALIASES 8  /* CNAME hops followed */
#define MAX_LABELS 128 /* labels (and pointer jumps) per name */

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p) {
  return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

ck_err ck_acme_dns_query(uint16_t id, const char *name, uint16_t qtype,
                         uint8_t *buf, size_t cap, size_t *len) {
  size_t nlen = name != NULL ? strlen(name) : 0;
  size_t pos = HDR_LEN, start = 0;

  if (nlen > 0 && name[nlen - 1] == '.')
    nlen--;
  if (nlen == 0 || nlen > 253)
    return CK_ERR_INVAL;
  /* header + name (nlen + 2) + qtype/qclass + OPT record (11) */
  if (cap < HDR_LEN + nlen + 2 + 4 + 11)
    return CK_ERR_RANGE;
  memset(buf, 0, HDR_LEN);
  put16(buf, id);
  buf[2] = 0x01;          /* RD */
  put16(buf + 4, 1);      /* QDCOUNT */
  put16(buf + 10, 1);     /* ARCOUNT: the OPT record */
  for (size_t i = 0; i <= nlen; i++) {
    if (i == nlen || name[i] == '.') {
      size_t l = i - start;
      if (l == 0 || l > 63)
        return CK_ERR_INVAL;
      buf[pos++] = (uint8_t)l;
      memcpy(buf + pos, name + start, l);
      pos += l;
      start = i + 1;
    }
  }
  buf[pos++] = 0;
  put16(buf + pos, qtype);
  put16(buf + pos + 2, 1); /* IN */
  pos += 4;
  /* EDNS0 (RFC 6891): root owner, OPT, UDP payload 1232, no flags. */
  buf[pos++] = 0;
  put16(buf + pos, CK_ACME_DNS_OPT);
  put16(buf + pos + 2, 1232);
  memset(buf + pos + 4, 0, 6); /* extended rcode, version, flags, rdlen */
  pos += 10;
  *len = pos;
  return CK_OK;
}

/* Reads the (possibly compressed) name at *off into out (presentation
 * form, lower case, no final dot, "." for the root; octets other than
 * letters, digits, '-' and '_' as "\DDD") and moves *off past it. Pointers
 * must point strictly backwards, which bounds the walk. */
static ck_err read_name(const uint8_t *msg, size_t len, size_t *off, char *out,
                        size_t cap) {
  size_t p = *off, o = 0, wire = 0, end = 0;
  int jumped = 0;

  for (int guard = 0; guard < MAX_LABELS; guard++) {
    if (p >= len)
      return CK_ERR_PARSE;
    uint8_t l = msg[p];
    if ((l & 0xC0) == 0xC0) {
      if (p + 1 >= len)
        return CK_ERR_PARSE;
      size_t target = (size_t)(l & 0x3F) << 8 | msg[p + 1];
      if (target >= p)
        return CK_ERR_PARSE;
      if (!jumped)
        end = p + 2;
      jumped = 1;
      p = target;
      continue;
    }
    if ((l & 0xC0) != 0)
      return CK_ERR_PARSE; /* 0x40/0x80: obsolete label types */
    if (l == 0) {
      if (!jumped)
        end = p + 1;
      if (o == 0) {
        if (cap < 2)
          return CK_ERR_PARSE;
        out[o++] = '.';
      }
      out[o] = '\0';
      *off = end;
      return CK_OK;
    }
    wire += (size_t)l + 1;
    if (wire > 255 || p + 1 + l > len)
      return CK_ERR_PARSE;
    if (o > 0) {
      if (o + 1 >= cap)
        return CK_ERR_PARSE;
      out[o++] = '.';
    }
    for (size_t i = 0; i < l; i++) {
      uint8_t c = msg[p + 1 + i];
      if (c >= 'A' && c <= 'Z')
        c = (uint8_t)(c - 'A' + 'a');
      if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_') {
        if (o + 1 >= cap)
          return CK_ERR_PARSE;
        out[o++] = (char)c;
      } else {
        if (o + 5 >= cap)
          return CK_ERR_PARSE;
        snprintf(out + o, 5, "\\%03u", (unsigned)c);
        o += 4;
      }
    }
    p += 1 + (size_t)l;
  }
  return CK_ERR_PARSE;
}

/* name as the parser spells it: lower case, no final dot. */
static int name_norm(const char *name, char *out, size_t cap) {
  size_t n = strlen(name);

  if (n > 0 && name[n - 1] == '.')
    n--;
  if (n == 0 || n >= cap)
    return -1;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
  }
  out[n] = '\0';
  return 0;
}

typedef struct rr {
  char owner[CK_ACME_DNS_MAX_NAME];
  uint16_t type;
  size_t rdata, rdlen; /* offsets into the message */
} rr;

static void add_txt(ck_acme_dns_answer *out, const uint8_t *msg, size_t off,
                    size_t rdlen) {
  char *dst;
  size_t o = 0, p = off, end = off + rdlen;

  if (out->n_txt >= CK_ACME_DNS_MAX_TXT) {
    out->n_dropped++;
    return;
  }
  dst = out->txt[out->n_txt++];
  while (p < end) {
    size_t l = msg[p++];
    for (size_t i = 0; i < l && p + i < end; i++) {
      uint8_t c = msg[p + i];
      if (c >= 0x20 && c < 0x7F && c != '\\') {
        if (o + 1 >= CK_ACME_DNS_TXT_LEN) {
          out->txt_cut = 1;
          goto done;
        }
        dst[o++] = (char)c;
      } else {
        if (o + 5 >= CK_ACME_DNS_TXT_LEN) {
          out->txt_cut = 1;
          goto done;
        }
        snprintf(dst + o, 5, "\\x%02x", (unsigned)c);
        o += 4;
      }
    }
    p += l;
  }
done:
  dst[o] = '\0';
}

/* Checks the rdata of one record of a collected type. */
static ck_err check_rdata(const uint8_t *msg, const rr *r) {
  size_t p = r->rdata, end = r->rdata + r->rdlen;

  switch (r->type) {
  case CK_ACME_DNS_A:
    return r->rdlen == 4 ? CK_OK : CK_ERR_PARSE;
  case CK_ACME_DNS_AAAA:
    return r->rdlen == 16 ? CK_OK : CK_ERR_PARSE;
  case CK_ACME_DNS_TXT:
    if (r->rdlen == 0)
      return CK_ERR_PARSE;
    while (p < end)
      p += 1 + (size_t)msg[p];
    return p == end ? CK_OK : CK_ERR_PARSE;
  default:
    return CK_OK;
  }
}

static int in_set(char set[][CK_ACME_DNS_MAX_NAME], size_t n, const char *s) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(set[i], s) == 0)
      return 1;
  return 0;
}

ck_err ck_acme_dns_parse(const uint8_t *msg, size_t len, uint16_t id,
                         const char *name, uint16_t qtype,
                         ck_acme_dns_answer *out) {
  rr *rrs = NULL; /* MAX_RRS records, on the heap: worker stacks are small */
  char qname[CK_ACME_DNS_MAX_NAME], want[CK_ACME_DNS_MAX_NAME];
  char aliases[MAX_ALIASES + 1][CK_ACME_DNS_MAX_NAME];
  size_t n_alias = 1, n_rr = 0, off = HDR_LEN;
  unsigned qd, an, klass;
  ck_err rc = CK_ERR_PARSE;

  memset(out, 0, sizeof *out);
  if (name == NULL || name_norm(name, want, sizeof want) != 0)
    return CK_ERR_INVAL;
  if (len < HDR_LEN)
    return CK_ERR_PARSE;
  if (get16(msg) != id || (msg[2] & 0x80) == 0 || (msg[2] & 0x78) != 0)
    return CK_ERR_NOENT; /* not our response (or not a standard query) */
  out->truncated = (msg[2] & 0x02) != 0;
  out->rcode = msg[3] & 0x0F;
  qd = get16(msg + 4);
  an = get16(msg + 6);
  if (qd != 1)
    return qd == 0 && out->rcode != 0 ? CK_OK : CK_ERR_PARSE;
  if (read_name(msg, len, &off, qname, sizeof qname) != CK_OK ||
      off + 4 > len)
    return CK_ERR_PARSE;
  if (strcmp(qname, want) != 0 || get16(msg + off) != qtype ||
      get16(msg + off + 2) != 1)
    return CK_ERR_NOENT;
  off += 4;
  if (out->truncated)
    return CK_OK; /* the rest may be cut anywhere: ask over TCP */
  rrs = calloc(MAX_RRS, sizeof *rrs);
  if (rrs == NULL)
    return CK_ERR_NOMEM;
  for (unsigned i = 0; i < an; i++) {
    rr r;
    if (read_name(msg, len, &off, r.owner, sizeof r.owner) != CK_OK ||
        off + 10 > len)
      goto out;
    r.type = get16(msg + off);
    klass = get16(msg + off + 2);
    r.rdlen = get16(msg + off + 8);
    r.rdata = off + 10;
    if (r.rdata + r.rdlen > len)
      goto out;
    off = r.rdata + r.rdlen;
    if (klass != 1)
      continue; /* class other than IN */
    if (n_rr < MAX_RRS)
      rrs[n_rr++] = r;
  }
  /* The alias set: the question name plus every CNAME target reached from
   * it (records may come in any order, so iterate to a fixed point). */
  ck_strlcpy(aliases[0], want, sizeof aliases[0]);
  for (int changed = 1; changed && n_alias <= MAX_ALIASES;) {
    changed = 0;
    for (size_t i = 0; i < n_rr && n_alias <= MAX_ALIASES; i++) {
      char target[CK_ACME_DNS_MAX_NAME];
      size_t p = rrs[i].rdata;
      if (rrs[i].type != CK_ACME_DNS_CNAME ||
          !in_set(aliases, n_alias, rrs[i].owner))
        continue;
      if (read_name(msg, rrs[i].rdata + rrs[i].rdlen, &p, target,
                    sizeof target) != CK_OK ||
          p != rrs[i].rdata + rrs[i].rdlen)
        goto out;
      if (!in_set(aliases, n_alias, target)) {
        ck_strlcpy(aliases[n_alias++], target, sizeof aliases[0]);
        changed = 1;
      }
    }
  }
  for (size_t i = 0; i < n_rr; i++) {
    const rr *r = &rrs[i];
    if (r->type != qtype || !in_set(aliases, n_alias, r->owner))
      continue;
    if (check_rdata(msg, r) != CK_OK)
      goto out;
    if (qtype == CK_ACME_DNS_TXT) {
      add_txt(out, msg, r->rdata, r->rdlen);
    } else if (out->n_addrs >= CK_ACME_DNS_MAX_ADDRS) {
      out->n_dropped++;
    } else {
      out->addrs[out->n_addrs].family =
          qtype == CK_ACME_DNS_A ? AF_INET : AF_INET6;
      memcpy(out->addrs[out->n_addrs].ip, msg + r->rdata, r->rdlen);
      out->n_addrs++;
    }
  }
  rc = CK_OK;
out:
  free(rrs);
  return rc;
}

const char *ck_acme_dns_rcode_name(int rcode, char *buf, size_t len) {
  static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL",
                                      "NXDOMAIN", "NOTIMP", "REFUSED"};

  if (rcode >= 0 && rcode < 6)
    snprintf(buf, len, "%s", names[rcode]);
  else
    snprintf(buf, len, "RCODE%d", rcode);
  return buf;
}
