/* oid.c — the object identifiers certkeeper names, and dotted formatting.
 *
 * One table per family (signature algorithms, EKU purposes, DN attributes,
 * named curves) maps DER OID bytes to the names both backends print. An OID
 * not in a table is shown in dotted form, so nothing is ever dropped. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/crypto/crypto_int.h"

typedef struct oid_name {
  const char *b; /* DER value bytes */
  size_t n;
  const char *name;
} oid_name;

#define E(lit, name)                                                           \
  { lit, sizeof(lit) - 1, name }

static const oid_name sig_names[] = {
    E("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x04", "md5WithRSAEncryption"),
    E("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x05", "sha1WithRSAEncryption"),
    E("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b", "sha256WithRSAEncryption"),
    E("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0c", "sha384WithRSAEncryption"),
    E("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0d", "sha512WithRSAEncryption"),
    E("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0e", "sha224WithRSAEncryption"),
    E("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0a", "RSASSA-PSS"),
    E("\x2a\x86\x48\xce\x3d\x04\x01", "ecdsa-with-SHA1"),
    E("\x2a\x86\x48\xce\x3d\x04\x03\x01", "ecdsa-with-SHA224"),
    E("\x2a\x86\x48\xce\x3d\x04\x03\x02", "ecdsa-with-SHA256"),
    E("\x2a\x86\x48\xce\x3d\x04\x03\x03", "ecdsa-with-SHA384"),
    E("\x2a\x86\x48\xce\x3d\x04\x03\x04", "ecdsa-with-SHA512"),
    E("\x2b\x65\x70", "ED25519"),
    E("\x2b\x65\x71", "ED448"),
    E("\x2a\x86\x48\xce\x38\x04\x03", "dsaWithSHA1"),
    E("\x60\x86\x48\x01\x65\x03\x04\x03\x02", "dsa_with_SHA256"),
};

static const oid_name eku_names[] = {
    E("\x2b\x06\x01\x05\x05\x07\x03\x01", "serverAuth"),
    E("\x2b\x06\x01\x05\x05\x07\x03\x02", "clientAuth"),
    E("\x2b\x06\x01\x05\x05\x07\x03\x03", "codeSigning"),
    E("\x2b\x06\x01\x05\x05\x07\x03\x04", "emailProtection"),
    E("\x2b\x06\x01\x05\x05\x07\x03\x08", "timeStamping"),
    E("\x2b\x06\x01\x05\x05\x07\x03\x09", "OCSPSigning"),
    E("\x2b\x06\x01\x05\x05\x07\x03\x11", "ipsecIKE"),
    E("\x2b\x06\x01\x04\x01\x82\x37\x14\x02\x02", "msSmartcardLogin"),
    E("\x55\x1d\x25\x00", "anyExtendedKeyUsage"),
};

/* DN attributes: name printed, how a CSR encodes the value, upper bound
 * on its length (RFC 5280 appendix A; 0 = no bound we enforce). */
typedef struct attr_def {
  const char *b;
  size_t n;
  const char *name;
  unsigned str_tag;
  size_t max_len;
} attr_def;

#define A(lit, name, tag, max)                                                 \
  { lit, sizeof(lit) - 1, name, tag, max }

static const attr_def attrs[] = {
    A("\x55\x04\x03", "CN", CK__T_UTF8, 64),
    A("\x55\x04\x06", "C", CK__T_PRINTABLE, 2),
    A("\x55\x04\x0a", "O", CK__T_UTF8, 64),
    A("\x55\x04\x0b", "OU", CK__T_UTF8, 64),
    A("\x55\x04\x07", "L", CK__T_UTF8, 128),
    A("\x55\x04\x08", "ST", CK__T_UTF8, 128),
    A("\x55\x04\x09", "STREET", CK__T_UTF8, 128),
    A("\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x19", "DC", CK__T_IA5, 63),
    A("\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x01", "UID", CK__T_UTF8, 256),
    A("\x2a\x86\x48\x86\xf7\x0d\x01\x09\x01", "emailAddress", CK__T_IA5, 255),
    A("\x55\x04\x05", "serialNumber", CK__T_PRINTABLE, 64),
    A("\x55\x04\x04", "SN", CK__T_UTF8, 64),
    A("\x55\x04\x2a", "GN", CK__T_UTF8, 64),
    A("\x55\x04\x2b", "initials", CK__T_UTF8, 64),
    A("\x55\x04\x0c", "title", CK__T_UTF8, 64),
    A("\x55\x04\x11", "postalCode", CK__T_UTF8, 40),
    A("\x55\x04\x0f", "businessCategory", CK__T_UTF8, 128),
    A("\x55\x04\x2e", "dnQualifier", CK__T_PRINTABLE, 64),
    A("\x55\x04\x41", "pseudonym", CK__T_UTF8, 128),
    A("\x55\x04\x61", "organizationIdentifier", CK__T_UTF8, 64),
    A("\x2b\x06\x01\x04\x01\x82\x37\x3c\x02\x01\x03", "jurisdictionC",
      CK__T_PRINTABLE, 2),
};

/* Extra spellings accepted when building a CSR. */
static const struct {
  const char *alias;
  const char *name;
} attr_alias[] = {
    {"commonName", "CN"},      {"countryName", "C"},
    {"organizationName", "O"}, {"organizationalUnitName", "OU"},
    {"localityName", "L"},     {"stateOrProvinceName", "ST"},
    {"E", "emailAddress"},     {"email", "emailAddress"},
    {"surname", "SN"},         {"givenName", "GN"},
    {"domainComponent", "DC"}, {"userId", "UID"},
};

typedef struct curve_def {
  const char *b;
  size_t n;
  const char *name;
  unsigned bits;
} curve_def;

#define C(lit, name, bits)                                                     \
  { lit, sizeof(lit) - 1, name, bits }

static const curve_def curves[] = {
    C("\x2a\x86\x48\xce\x3d\x03\x01\x07", "P-256", 256),
    C("\x2b\x81\x04\x00\x22", "P-384", 384),
    C("\x2b\x81\x04\x00\x23", "P-521", 521),
    C("\x2b\x81\x04\x00\x21", "P-224", 224),
    C("\x2a\x86\x48\xce\x3d\x03\x01\x01", "P-192", 192),
    C("\x2b\x81\x04\x00\x0a", "secp256k1", 256),
    C("\x2b\x24\x03\x03\x02\x08\x01\x01\x07", "brainpoolP256r1", 256),
    C("\x2b\x24\x03\x03\x02\x08\x01\x01\x0b", "brainpoolP384r1", 384),
    C("\x2b\x24\x03\x03\x02\x08\x01\x01\x0d", "brainpoolP512r1", 512),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *lookup(const oid_name *t, size_t count, const uint8_t *v,
                          size_t n) {
  size_t i;

  for (i = 0; i < count; i++)
    if (t[i].n == n && memcmp(t[i].b, v, n) == 0)
      return t[i].name;
  return NULL;
}

int ck__oid_eq(const ck__tlv *t, ck__oid oid) {
  return t->tag == CK__T_OID && t->len == oid.n &&
         memcmp(t->v, oid.b, oid.n) == 0;
}

int ck__oid_dotted(const uint8_t *v, size_t n, char *buf, size_t buflen) {
  size_t i, used = 0;
  uint64_t arc = 0;
  int first = 1, w;

  if (buflen == 0)
    return -1;
  buf[0] = '\0';
  if (n == 0 || (v[n - 1] & 0x80))
    goto bad;
  for (i = 0; i < n; i++) {
    if (arc == 0 && v[i] == 0x80) /* non-minimal arc encoding */
      goto bad;
    if (arc > (UINT64_MAX >> 7))
      goto bad;
    arc = (arc << 7) | (v[i] & 0x7f);
    if (v[i] & 0x80)
      continue;
    if (first) {
      unsigned top = arc < 40 ? 0 : arc < 80 ? 1 : 2;
      w = snprintf(buf + used, buflen - used, "%u.%llu", top,
                   (unsigned long long)(arc - 40u * top));
      first = 0;
    } else {
      w = snprintf(buf + used, buflen - used, ".%llu", (unsigned long long)arc);
    }
    if (w < 0 || (size_t)w >= buflen - used)
      goto bad;
    used += (size_t)w;
    arc = 0;
  }
  return 0;
bad:
  snprintf(buf, buflen, "?");
  return -1;
}

const char *ck__oid_sig_name(const uint8_t *v, size_t n) {
  return lookup(sig_names, COUNT(sig_names), v, n);
}

const char *ck__oid_eku_name(const uint8_t *v, size_t n) {
  return lookup(eku_names, COUNT(eku_names), v, n);
}

const char *ck__oid_attr_name(const uint8_t *v, size_t n) {
  size_t i;

  for (i = 0; i < COUNT(attrs); i++)
    if (attrs[i].n == n && memcmp(attrs[i].b, v, n) == 0)
      return attrs[i].name;
  return NULL;
}

const char *ck__oid_curve_name(const uint8_t *v, size_t n, unsigned *bits) {
  size_t i;

  for (i = 0; i < COUNT(curves); i++)
    if (curves[i].n == n && memcmp(curves[i].b, v, n) == 0) {
      if (bits != NULL)
        *bits = curves[i].bits;
      return curves[i].name;
    }
  return NULL;
}

int ck__oid_attr_lookup(const char *name, ck__oid *oid, unsigned *str_tag,
                        size_t *max_len) {
  size_t i;

  for (i = 0; i < COUNT(attr_alias); i++)
    if (strcasecmp(name, attr_alias[i].alias) == 0) {
      name = attr_alias[i].name;
      break;
    }
  for (i = 0; i < COUNT(attrs); i++)
    if (strcasecmp(name, attrs[i].name) == 0) {
      oid->b = (const uint8_t *)attrs[i].b;
      oid->n = attrs[i].n;
      *str_tag = attrs[i].str_tag;
      *max_len = attrs[i].max_len;
      return 0;
    }
  return -1;
}
