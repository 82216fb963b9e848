/* cert_eval.c — from a parsed certificate to an inventory record: the
 * weakness rules (RSA/DSA < 2048 bits, SHA-1 or older signature hashes,
 * expiry, self-signed leaves) and the field mapping used by issuance and
 * discovery alike, so both describe a certificate the same way. */
#include "coordinator/store/store_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "common/util/clock.h"

#define REASON_MAX 512

/* Signature algorithms whose hash is SHA-1 or older, by name fragment and
 * by OID (what the crypto layer prints for algorithms it has no name for). */
static const char *const weak_hash_names[] = {"sha1", "sha-1", "md5", "md4",
                                              "md2"};
static const char *const weak_hash_oids[] = {
    "1.2.840.113549.1.1.5", /* sha1WithRSAEncryption */
    "1.2.840.113549.1.1.4", /* md5WithRSAEncryption */
    "1.2.840.113549.1.1.3", /* md4WithRSAEncryption */
    "1.2.840.113549.1.1.2", /* md2WithRSAEncryption */
    "1.2.840.10045.4.1",    /* ecdsa-with-SHA1 */
    "1.2.840.10040.4.3",    /* dsa-with-sha1 */
    "1.3.14.3.2.29",        /* sha1WithRSASignature (OIW) */
};

static int has_weak_hash(const char *alg) {
  char low[128];
  size_t i;

  if (alg == NULL)
    return 0;
  for (i = 0; i < sizeof weak_hash_oids / sizeof weak_hash_oids[0]; i++)
    if (strcmp(alg, weak_hash_oids[i]) == 0)
      return 1;
  for (i = 0; i < sizeof low - 1 && alg[i] != '\0'; i++)
    low[i] = (char)tolower((unsigned char)alg[i]);
  low[i] = '\0';
  for (i = 0; i < sizeof weak_hash_names / sizeof weak_hash_names[0]; i++)
    if (strstr(low, weak_hash_names[i]) != NULL)
      return 1;
  return 0;
}

/* A self-signed certificate counts as a leaf when it is not a CA, or when
 * it carries what only end-entity certificates need: SANs, a TLS EKU, or a
 * key usage without keyCertSign. (`openssl req -x509` marks its output
 * CA:TRUE by default, yet such certificates are served as leaves.) */
static int is_leaf(const ck_cert_info *ci) {
  size_t i;

  if (!ci->is_ca)
    return 1;
  if (ci->n_sans > 0)
    return 1;
  for (i = 0; i < ci->n_eku; i++)
    if (strcmp(ci->eku[i], "serverAuth") == 0 ||
        strcmp(ci->eku[i], "clientAuth") == 0)
      return 1;
  return ci->has_key_usage && !(ci->key_usage & CK_KU_KEY_CERT_SIGN);
}

static void add_reason(char *buf, size_t len, const char *text) {
  size_t used = strlen(buf);

  if (used + 3 >= len)
    return;
  snprintf(buf + used, len - used, "%s%s", used > 0 ? "; " : "", text);
}

unsigned ck_store_weak_eval(const ck_cert_info *ci, int64_t now, char *reason,
                            size_t reasonlen) {
  unsigned flags = 0;
  char text[160];
  char scratch[REASON_MAX];
  char *buf = reason != NULL && reasonlen > 0 ? reason : scratch;
  size_t len = reason != NULL && reasonlen > 0 ? reasonlen : sizeof scratch;

  buf[0] = '\0';
  if (ci == NULL)
    return 0;
  if ((ci->key.type == CK_KEY_RSA || ci->key.type == CK_KEY_RSA_PSS ||
       ci->key.type == CK_KEY_DSA) &&
      ci->key.bits < 2048) {
    flags |= CK_WEAK_RSA_SMALL;
    snprintf(text, sizeof text, "%s key of %u bits (< 2048)",
             ci->key.type == CK_KEY_DSA ? "DSA" : "RSA", ci->key.bits);
    add_reason(buf, len, text);
  }
  if (has_weak_hash(ci->sig_alg)) {
    flags |= CK_WEAK_SHA1;
    snprintf(text, sizeof text, "weak signature hash (%.100s)", ci->sig_alg);
    add_reason(buf, len, text);
  }
  if (ci->not_after < now) {
    char when[32];
    ck_time_format_rfc3339(ci->not_after, when, sizeof when);
    flags |= CK_WEAK_EXPIRED;
    snprintf(text, sizeof text, "expired %s", when);
    add_reason(buf, len, text);
  }
  if (ci->self_signed && is_leaf(ci)) {
    flags |= CK_WEAK_SELF_SIGNED;
    add_reason(buf, len, "self-signed leaf");
  }
  return flags;
}

static const char *key_type_name(ck_key_type t) {
  switch (t) {
  case CK_KEY_RSA:
    return "RSA";
  case CK_KEY_EC:
    return "EC";
  case CK_KEY_ED25519:
    return "Ed25519";
  case CK_KEY_ED448:
    return "Ed448";
  case CK_KEY_RSA_PSS:
    return "RSA-PSS";
  case CK_KEY_DSA:
    return "DSA";
  default:
    return "unknown";
  }
}

/* Formats the SANs one "TYPE:value" per line, stopping at whole entries
 * before CK_STORE_SANS_MAX with a "+N more" line. NULL on OOM. */
static const char *format_sans(const ck_cert_info *ci, ck_arena *a) {
  size_t i, used = 0, cap = 1 + 32; /* NUL + room for a "+N more" line */
  char *out;

  for (i = 0; i < ci->n_sans; i++)
    cap += strlen(ci->sans[i].value) + 16;
  if (cap > CK_STORE_SANS_MAX)
    cap = CK_STORE_SANS_MAX;
  out = ck_arena_alloc(a, cap);
  if (out == NULL)
    return NULL;
  out[0] = '\0';
  for (i = 0; i < ci->n_sans; i++) {
    const ck_san *s = &ci->sans[i];
    const char *type = s->type == CK_SAN_OTHER ? "" : ck_san_type_name(s->type);
    size_t need = strlen(type) + 1 + strlen(s->value) + 1;

    if (used + need + 32 >= cap) {
      snprintf(out + used, cap - used, "%s+%zu more", used ? "\n" : "",
               ci->n_sans - i);
      break;
    }
    used +=
        (size_t)snprintf(out + used, cap - used, "%s%s%s%s", used ? "\n" : "",
                         type, type[0] ? ":" : "", s->value);
  }
  return out;
}

ck_err ck_store_cert_from(const ck_cert *cert, int64_t now, ck_arena *a,
                          ck_store_cert *out, ck_errctx *err) {
  const ck_cert_info *ci;
  char *reason;
  size_t der_len = 0;

  if (cert == NULL || a == NULL || out == NULL)
    return ck_failf(err, CK_ERR_INVAL, "store: missing argument");
  ci = ck_cert_get_info(cert);
  memset(out, 0, sizeof *out);
  memcpy(out->fingerprint, ci->sha256_hex, CK_SHA256_HEX_LEN);
  out->fingerprint[CK_SHA256_HEX_LEN - 1] = '\0';
  ck__store_hex32_fmt(ci->spki_sha256, out->spki_sha256);
  out->serial_hex = ci->serial_hex;
  out->subject = ci->subject;
  out->issuer = ci->issuer;
  out->sans = format_sans(ci, a);
  out->not_before = ci->not_before;
  out->not_after = ci->not_after;
  out->key_type = key_type_name(ci->key.type);
  out->key_bits = ci->key.bits;
  out->sig_alg = ci->sig_alg;
  out->profile = "";
  out->owner = "";
  out->der = ck_cert_der(cert, &der_len);
  out->der_len = der_len;
  reason = ck_arena_alloc(a, REASON_MAX);
  if (out->sans == NULL || reason == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "store: out of memory");
  out->weak_flags = ck_store_weak_eval(ci, now, reason, REASON_MAX);
  out->weak_reason = reason;
  out->status = ci->not_after < now ? CK_CERT_EXPIRED : CK_CERT_ACTIVE;
  out->source = CK_CERT_SRC_ISSUED;
  return CK_OK;
}
