/* x509_san.c — subjectAltName: GeneralNames to ck_san and back.
 *
 * Reading decodes each GeneralName by its context tag (dNSName [2],
 * rfc822Name [1], URI [6], iPAddress [7] as text via inet_ntop, and the rare
 * kinds as CK_SAN_OTHER with a descriptive value); values are made printable
 * so an embedded NUL or control byte can never masquerade as a clean name.
 * Writing validates what a CSR may ask for (DNS, IP, URI, email) and encodes
 * it; this is how the mbedTLS build gets SANs into CSRs at all, since its
 * CSR writer has no SAN helper. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/crypto/crypto_int.h"

const char *ck_san_type_name(ck_san_type type) {
  switch (type) {
  case CK_SAN_DNS:
    return "DNS";
  case CK_SAN_IP:
    return "IP";
  case CK_SAN_URI:
    return "URI";
  case CK_SAN_EMAIL:
    return "email";
  case CK_SAN_OTHER:
    break;
  }
  return "other";
}

/* Formats one GeneralName into sb and sets *type. 0 or -1. */
static int format_general_name(const ck__tlv *g, ck__sb *sb, ck_arena *a,
                               ck_san_type *type) {
  char buf[INET6_ADDRSTRLEN + 1];
  char dotted[128];
  ck__der d;
  ck__tlv oid, inner;
  size_t i;

  switch (g->tag) {
  case CK__T_CTX | 2:
    *type = CK_SAN_DNS;
    ck__sb_put_printable(sb, g->v, g->len);
    return 0;
  case CK__T_CTX | 1:
    *type = CK_SAN_EMAIL;
    ck__sb_put_printable(sb, g->v, g->len);
    return 0;
  case CK__T_CTX | 6:
    *type = CK_SAN_URI;
    ck__sb_put_printable(sb, g->v, g->len);
    return 0;
  case CK__T_CTX | 7:
    if (g->len == 4 || g->len == 16) {
      *type = CK_SAN_IP;
      if (inet_ntop(g->len == 4 ? AF_INET : AF_INET6, g->v, buf, sizeof buf) ==
          NULL)
        return -1;
      ck__sb_puts(sb, buf);
      return 0;
    }
    *type = CK_SAN_OTHER; /* address/mask form belongs in name constraints */
    ck__sb_puts(sb, "IP:");
    for (i = 0; i < g->len; i++)
      ck__sb_printf(sb, "%02x", g->v[i]);
    return 0;
  case CK__T_CTXC | 0: /* otherName: type-id OID, [0] EXPLICIT value */
    *type = CK_SAN_OTHER;
    ck__der_enter(&d, g);
    if (ck__der_expect(&d, CK__T_OID, &oid) != 0 ||
        ck__der_expect(&d, CK__T_CTXC | 0, &inner) != 0 || ck__der_more(&d) ||
        ck__oid_dotted(oid.v, oid.len, dotted, sizeof dotted) != 0)
      return -1;
    ck__sb_printf(sb, "otherName:%s", dotted);
    ck__der_enter(&d, &inner);
    if (ck__der_get(&d, &inner) == 0 &&
        (inner.tag == CK__T_UTF8 || inner.tag == CK__T_IA5 ||
         inner.tag == CK__T_PRINTABLE)) {
      ck__sb_putc(sb, ';');
      ck__sb_put_printable(sb, inner.v, inner.len);
    }
    return 0;
  case CK__T_CTXC | 4: /* directoryName: EXPLICIT Name */
    *type = CK_SAN_OTHER;
    ck__der_enter(&d, g);
    if (ck__der_expect(&d, CK__T_SEQUENCE, &inner) != 0 || ck__der_more(&d))
      return -1;
    ck__sb_puts(sb, "dirName:");
    return ck__name_format(inner.v, inner.len, sb, a, NULL);
  case CK__T_CTX | 8:
    *type = CK_SAN_OTHER;
    if (ck__oid_dotted(g->v, g->len, dotted, sizeof dotted) != 0)
      return -1;
    ck__sb_printf(sb, "registeredID:%s", dotted);
    return 0;
  case CK__T_CTXC | 3:
    *type = CK_SAN_OTHER;
    ck__sb_puts(sb, "x400Address");
    return 0;
  case CK__T_CTXC | 5:
    *type = CK_SAN_OTHER;
    ck__sb_puts(sb, "ediPartyName");
    return 0;
  default:
    return -1;
  }
}

int ck__san_parse(const uint8_t *v, size_t n, ck_arena *a, const ck_san **out,
                  size_t *count) {
  ck__der d;
  ck__tlv g;
  ck_san *arr = NULL;
  size_t k = 0, i;
  ck__sb sb = {0};
  int rc = -1;

  ck__der_init(&d, v, n);
  while (ck__der_more(&d)) {
    if (ck__der_get(&d, &g) != 0 || ++k > CK__MAX_SANS)
      return -1;
  }
  if (k > 0) {
    arr = ck_arena_alloc(a, k * sizeof *arr);
    if (arr == NULL)
      return -1;
  }
  ck__der_init(&d, v, n);
  for (i = 0; i < k; i++) {
    if (ck__der_get(&d, &g) != 0)
      goto out;
    sb.len = 0;
    if (sb.s != NULL)
      sb.s[0] = '\0';
    if (format_general_name(&g, &sb, a, &arr[i].type) != 0)
      goto out;
    arr[i].value = ck__sb_to_arena(&sb, a);
    if (arr[i].value == NULL)
      goto out;
  }
  *out = arr;
  *count = k;
  rc = 0;
out:
  ck__sb_free(&sb);
  return rc;
}

/* ------------------------------------------------------------------ write */

static int ia5_clean(const char *s, int allow_space) {
  for (; *s != '\0'; s++)
    if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
      if (!(allow_space && *s == ' '))
        return 0;
  return 1;
}

static int dns_ok(const char *s) {
  size_t n = strlen(s), label = 0, i;

  if (n == 0 || n > 253)
    return 0;
  for (i = 0; i < n; i++) {
    char c = s[i];
    if (c == '.') {
      if (label == 0)
        return 0;
      label = 0;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          (c == '*' && i == 0 && n > 1 && s[1] == '.')))
      return 0;
    if (++label > 63)
      return 0;
  }
  return label > 0;
}

ck_err ck__san_write(ck__derw *w, const ck_san *sans, size_t n,
                     ck_errctx *err) {
  uint8_t ip[16];
  const char *v;
  size_t i;

  ck__derw_begin(w, CK__T_SEQUENCE);
  for (i = 0; i < n; i++) {
    v = sans[i].value;
    if (v == NULL || v[0] == '\0')
      return ck_failf(err, CK_ERR_INVAL, "SAN %zu has no value", i);
    switch (sans[i].type) {
    case CK_SAN_DNS:
      if (!dns_ok(v))
        return ck_failf(err, CK_ERR_INVAL, "SAN DNS '%s' is not a host name",
                        v);
      ck__derw_tlv(w, CK__T_CTX | 2, v, strlen(v));
      break;
    case CK_SAN_IP:
      if (inet_pton(AF_INET, v, ip) == 1) {
        ck__derw_tlv(w, CK__T_CTX | 7, ip, 4);
      } else if (inet_pton(AF_INET6, v, ip) == 1) {
        ck__derw_tlv(w, CK__T_CTX | 7, ip, 16);
      } else {
        return ck_failf(err, CK_ERR_INVAL, "SAN IP '%s' is not an address", v);
      }
      break;
    case CK_SAN_URI:
      if (!ia5_clean(v, 0) || strchr(v, ':') == NULL)
        return ck_failf(err, CK_ERR_INVAL, "SAN URI '%s' is not a URI", v);
      ck__derw_tlv(w, CK__T_CTX | 6, v, strlen(v));
      break;
    case CK_SAN_EMAIL:
      if (!ia5_clean(v, 0) || strchr(v, '@') == NULL || v[0] == '@')
        return ck_failf(err, CK_ERR_INVAL, "SAN email '%s' is not an address",
                        v);
      ck__derw_tlv(w, CK__T_CTX | 1, v, strlen(v));
      break;
    case CK_SAN_OTHER:
    default:
      return ck_failf(err, CK_ERR_INVAL,
                      "SAN %zu: only DNS, IP, URI and email can be requested",
                      i);
    }
  }
  ck__derw_end(w);
  return CK_OK;
}
