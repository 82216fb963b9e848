/* x509_name.c — X.509 distinguished names: RFC 4514 text out, DER in.
 *
 * Formatting turns the DER Name into "CN=www.example.com,O=Example\, Inc.,
 * C=DE" (without the spaces): RDNs most specific first, multi-valued RDNs
 * joined by '+', attribute names from oid.c or dotted OIDs, values decoded
 * from whatever string type the issuer used into UTF-8 and escaped per RFC
 * 4514; bytes that are not valid UTF-8 (and control characters) appear as
 * \XX, so the text is always clean UTF-8 whatever the certificate holds. A
 * non-string value is shown as #<hex of its DER>.
 *
 * Writing builds the Name of a CSR from a list of attributes, choosing the
 * string type each attribute conventionally uses. */
#include <stdlib.h>
#include <string.h>

#include "common/crypto/crypto_int.h"

#define MAX_RDNS 256
#define MAX_ATVS 16 /* attributes in one multi-valued RDN */

enum { MODE_RFC4514, MODE_PLAIN };

/* Length of a valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t utf8_seq(const uint8_t *p, size_t n) {
  uint32_t cp;
  size_t k, i;

  if (p[0] < 0x80)
    return 1;
  if ((p[0] & 0xe0) == 0xc0) {
    k = 2;
    cp = p[0] & 0x1f;
  } else if ((p[0] & 0xf0) == 0xe0) {
    k = 3;
    cp = p[0] & 0x0f;
  } else if ((p[0] & 0xf8) == 0xf0) {
    k = 4;
    cp = p[0] & 0x07;
  } else {
    return 0;
  }
  if (k > n)
    return 0;
  for (i = 1; i < k; i++) {
    if ((p[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (p[i] & 0x3f);
  }
  if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) ||
      (k == 4 && cp < 0x10000) || cp > 0x10ffff ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return k;
}

static void put_cp(ck__sb *sb, uint32_t cp) {
  char b[4];

  if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    cp = 0xfffd;
  if (cp < 0x80) {
    b[0] = (char)cp;
    ck__sb_putn(sb, b, 1);
  } else if (cp < 0x800) {
    b[0] = (char)(0xc0 | (cp >> 6));
    b[1] = (char)(0x80 | (cp & 0x3f));
    ck__sb_putn(sb, b, 2);
  } else if (cp < 0x10000) {
    b[0] = (char)(0xe0 | (cp >> 12));
    b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    b[2] = (char)(0x80 | (cp & 0x3f));
    ck__sb_putn(sb, b, 3);
  } else {
    b[0] = (char)(0xf0 | (cp >> 18));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    b[3] = (char)(0x80 | (cp & 0x3f));
    ck__sb_putn(sb, b, 4);
  }
}

/* Decodes a directory string into clean UTF-8 (invalid bytes become the
 * marker byte 0xff followed by the byte, resolved by escape_into). */
static int decode_string(unsigned tag, const uint8_t *v, size_t n,
                         ck__sb *out) {
  size_t i, k;

  switch (tag) {
  case CK__T_UTF8:
    for (i = 0; i < n; i += k) {
      k = utf8_seq(v + i, n - i);
      if (k == 0) {
        ck__sb_putc(out, (char)0xff);
        ck__sb_putc(out, (char)v[i]);
        k = 1;
      } else {
        ck__sb_putn(out, (const char *)v + i, k);
      }
    }
    return 0;
  case CK__T_PRINTABLE:
  case CK__T_IA5:
  case CK__T_VISIBLE:
  case CK__T_NUMERIC:
    for (i = 0; i < n; i++) {
      if (v[i] >= 0x80)
        ck__sb_putc(out, (char)0xff);
      ck__sb_putc(out, (char)v[i]);
    }
    return 0;
  case CK__T_T61: /* treated as Latin-1, as OpenSSL does */
    for (i = 0; i < n; i++)
      put_cp(out, v[i]);
    return 0;
  case CK__T_BMP:
    if (n % 2 != 0)
      return -1;
    for (i = 0; i < n; i += 2)
      put_cp(out, (uint32_t)v[i] << 8 | v[i + 1]);
    return 0;
  case CK__T_UNIVERSAL:
    if (n % 4 != 0)
      return -1;
    for (i = 0; i < n; i += 4)
      put_cp(out, (uint32_t)v[i] << 24 | (uint32_t)v[i + 1] << 16 |
                      (uint32_t)v[i + 2] << 8 | v[i + 3]);
    return 0;
  default:
    return -1;
  }
}

/* Copies decoded text to sb, escaping for RFC 4514 or plain display. */
static void escape_into(ck__sb *sb, const ck__sb *dec, int mode) {
  const uint8_t *s = (const uint8_t *)dec->s;
  size_t n = dec->len, i;

  for (i = 0; i < n; i++) {
    uint8_t c = s[i];
    if (c == 0xff && i + 1 < n) { /* invalid byte marker */
      ck__sb_printf(sb, mode == MODE_RFC4514 ? "\\%02X" : "\\x%02x", s[++i]);
      continue;
    }
    if (c < 0x20 || c == 0x7f) {
      ck__sb_printf(sb, mode == MODE_RFC4514 ? "\\%02X" : "\\x%02x", c);
      continue;
    }
    if (mode == MODE_RFC4514 &&
        (c == '"' || c == '+' || c == ',' || c == ';' || c == '<' || c == '>' ||
         c == '\\' || (i == 0 && (c == ' ' || c == '#')) ||
         (i == n - 1 && c == ' ')))
      ck__sb_putc(sb, '\\');
    else if (mode == MODE_PLAIN && c == '\\') {
      ck__sb_puts(sb, "\\x5c");
      continue;
    }
    ck__sb_putc(sb, (char)c);
  }
}

/* Formats one AttributeTypeAndValue. 0 or -1. */
static int format_atv(const ck__tlv *atv, ck__sb *sb, ck_arena *a,
                      const char **cn) {
  ck__der d;
  ck__tlv type, val;
  ck__sb dec = {0};
  const char *name;
  char dotted[128];
  int rc = -1;
  size_t i;

  ck__der_enter(&d, atv);
  if (ck__der_expect(&d, CK__T_OID, &type) != 0 || ck__der_get(&d, &val) != 0 ||
      ck__der_more(&d))
    return -1;
  name = ck__oid_attr_name(type.v, type.len);
  if (name == NULL) {
    if (ck__oid_dotted(type.v, type.len, dotted, sizeof dotted) != 0)
      return -1;
    name = dotted;
  }
  ck__sb_puts(sb, name);
  ck__sb_putc(sb, '=');
  if (decode_string(val.tag, val.v, val.len, &dec) != 0) {
    ck__sb_putc(sb, '#'); /* RFC 4514 2.4: hex of the BER encoding */
    for (i = 0; i < val.raw_len; i++)
      ck__sb_printf(sb, "%02x", val.raw[i]);
  } else {
    escape_into(sb, &dec, MODE_RFC4514);
    if (cn != NULL && *cn == NULL && ck__oid_eq(&type, CK__OID(CK__OID_CN))) {
      ck__sb plain = {0};
      escape_into(&plain, &dec, MODE_PLAIN);
      *cn = ck__sb_to_arena(&plain, a);
      ck__sb_free(&plain);
      if (*cn == NULL)
        goto out;
    }
  }
  rc = dec.failed ? -1 : 0;
out:
  ck__sb_free(&dec);
  return rc;
}

int ck__name_format(const uint8_t *v, size_t n, ck__sb *sb, ck_arena *a,
                    const char **cn) {
  ck__tlv *rdns = NULL;
  ck__der d, set;
  ck__tlv t, atvs[MAX_ATVS];
  size_t count = 0, i, n_atv, k;
  int rc = -1;

  if (cn != NULL)
    *cn = NULL;
  /* First pass: count and validate the RDNs. */
  ck__der_init(&d, v, n);
  while (ck__der_more(&d)) {
    if (ck__der_expect(&d, CK__T_SET, &t) != 0 || t.len == 0)
      return -1;
    if (++count > MAX_RDNS)
      return -1;
  }
  if (count > 0) {
    rdns = calloc(count, sizeof *rdns);
    if (rdns == NULL)
      return -1;
  }
  ck__der_init(&d, v, n);
  for (i = 0; i < count; i++)
    if (ck__der_get(&d, &rdns[i]) != 0)
      goto out;
  /* RFC 4514: last RDN of the sequence first. Inside a multi-valued RDN
   * the order does not matter; we reverse it too, as OpenSSL's RFC 2253
   * printer does, so our text equals `openssl x509 -nameopt RFC2253`. */
  for (i = count; i > 0; i--) {
    if (i != count)
      ck__sb_putc(sb, ',');
    ck__der_enter(&set, &rdns[i - 1]);
    for (n_atv = 0; ck__der_more(&set); n_atv++)
      if (n_atv == MAX_ATVS ||
          ck__der_expect(&set, CK__T_SEQUENCE, &atvs[n_atv]) != 0)
        goto out;
    for (k = n_atv; k > 0; k--) {
      if (k != n_atv)
        ck__sb_putc(sb, '+');
      if (format_atv(&atvs[k - 1], sb, a, cn) != 0)
        goto out;
    }
  }
  if (cn != NULL && *cn == NULL) {
    *cn = ck_arena_strdup(a, "");
    if (*cn == NULL)
      goto out;
  }
  rc = sb->failed ? -1 : 0;
out:
  free(rdns);
  return rc;
}

/* ----------------------------------------------------------------- writing */

static int printable_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || strchr(" '()+,-./:=?", c) != NULL;
}

ck_err ck__name_write(ck__derw *w, const ck_name_attr *attrs, size_t n,
                      ck_errctx *err) {
  size_t i, j, len, chars, k;
  ck__oid oid;
  unsigned tag;
  size_t max_len;
  const uint8_t *s;

  ck__derw_begin(w, CK__T_SEQUENCE);
  for (i = 0; i < n; i++) {
    if (attrs[i].type == NULL || attrs[i].value == NULL)
      return ck_failf(err, CK_ERR_INVAL, "subject attribute %zu is empty", i);
    if (ck__oid_attr_lookup(attrs[i].type, &oid, &tag, &max_len) != 0)
      return ck_failf(err, CK_ERR_INVAL, "unknown subject attribute type '%s'",
                      attrs[i].type);
    s = (const uint8_t *)attrs[i].value;
    len = strlen(attrs[i].value);
    if (len == 0)
      return ck_failf(err, CK_ERR_INVAL, "subject %s: empty value",
                      attrs[i].type);
    chars = 0;
    for (j = 0; j < len; j += k) {
      k = utf8_seq(s + j, len - j);
      if (k == 0 || s[j] < 0x20 || s[j] == 0x7f)
        return ck_failf(err, CK_ERR_INVAL,
                        "subject %s: not printable UTF-8 text", attrs[i].type);
      chars++;
    }
    if (max_len != 0 && chars > max_len)
      return ck_failf(err, CK_ERR_INVAL,
                      "subject %s: %zu characters, at most %zu allowed",
                      attrs[i].type, chars, max_len);
    if (tag == CK__T_PRINTABLE || tag == CK__T_IA5) {
      for (j = 0; j < len; j++)
        if ((tag == CK__T_PRINTABLE && !printable_char((char)s[j])) ||
            s[j] >= 0x80)
          break;
      if (j < len) {
        if (max_len == 2 || tag == CK__T_IA5) /* C, DC, emailAddress */
          return ck_failf(err, CK_ERR_INVAL, "subject %s: '%s' not allowed",
                          attrs[i].type, attrs[i].value);
        tag = CK__T_UTF8;
      }
    }
    if (max_len == 2 && chars != 2)
      return ck_failf(err, CK_ERR_INVAL,
                      "subject %s: must be a two-letter country code",
                      attrs[i].type);
    ck__derw_begin(w, CK__T_SET);
    ck__derw_begin(w, CK__T_SEQUENCE);
    ck__derw_tlv(w, CK__T_OID, oid.b, oid.n);
    ck__derw_tlv(w, tag, s, len);
    ck__derw_end(w);
    ck__derw_end(w);
  }
  ck__derw_end(w);
  return CK_OK;
}
