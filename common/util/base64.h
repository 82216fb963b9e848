/* base64.h — the one base64 codec of certkeeper (RFC 4648 §4 standard and
 * §5 URL-safe alphabets), with optional '=' padding, optional line breaks
 * when encoding and optional whitespace skipping when decoding.
 *
 * The rooms keep their own thin wrappers with their own accept rules and
 * messages (PEM bodies in common/crypto/pem.c, EST transfer encoding
 * ck_b64_decode/ck_b64_encode in common/crypto/pkcs7.c, ACME base64url
 * ck_b64u_* in coordinator/acme/acme_util.c); the arithmetic lives here
 * only. Pure: no allocation, no I/O, caller buffers. */
#ifndef CK_UTIL_BASE64_H
#define CK_UTIL_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/err.h"

/* Flags for ck_base64_encode_into / ck_base64_decode_into. */
#define CK_BASE64_URL 0x1u /* '-' '_' in place of '+' '/' (RFC 4648 §5) */
#define CK_BASE64_NOPAD                                                        \
  0x2u                       /* encode: no '='; decode: '=' is refused and a   \
                                2- or 3-character last group is accepted */
#define CK_BASE64_SPACE 0x4u /* decode: skip ' ', '\t', '\r', '\n' */
#define CK_BASE64_BITS                                                         \
  0x8u /* decode: refuse non-zero unused low bits in                           \
          the last character of a short group */

/* Why ck_base64_decode_into refused its input. */
typedef enum {
  CK_BASE64_FAULT_NONE = 0,
  CK_BASE64_FAULT_CHAR,      /* character outside the alphabet at .at */
  CK_BASE64_FAULT_PAD_EARLY, /* '=' in the first two places of a group, .at */
  CK_BASE64_FAULT_AFTER_PAD, /* data after '=' padding at .at */
  CK_BASE64_FAULT_PAD,       /* padding that does not complete its group */
  CK_BASE64_FAULT_TRUNCATED, /* input ends inside a group: .at characters
                                left over (with CK_BASE64_NOPAD: 1) */
  CK_BASE64_FAULT_BITS,      /* non-zero unused bits (CK_BASE64_BITS) */
  CK_BASE64_FAULT_ROOM,      /* out (cap bytes) is too small */
} ck_base64_fault_kind;

typedef struct {
  ck_base64_fault_kind kind; /* CK_BASE64_FAULT_NONE on success */
  size_t at;                 /* input offset, or left-over count (TRUNCATED) */
} ck_base64_fault;

/* Number of characters ck_base64_encode_into writes for n bytes, without
 * the NUL: the base64 text plus eol_len after every wrap characters and
 * after a last partial line (wrap 0: one unbroken line). n must be below
 * SIZE_MAX / 4. */
size_t ck_base64_encoded_len(size_t n, unsigned flags, size_t wrap,
                             size_t eol_len);

/* Encodes n bytes of in into out, which must hold
 * ck_base64_encoded_len(n, flags, wrap, strlen(eol)) + 1 bytes; with wrap
 * > 0, eol (borrowed, e.g. "\r\n") follows every wrap characters and the
 * last partial line. flags: CK_BASE64_URL, CK_BASE64_NOPAD. Writes a NUL
 * and returns the length before it. */
size_t ck_base64_encode_into(const uint8_t *in, size_t n, unsigned flags,
                             size_t wrap, const char *eol, char *out);

/* Upper bound of the bytes len characters decode to (len/4*3 + 3); a
 * buffer of this size never gives CK_BASE64_FAULT_ROOM. */
size_t ck_base64_decoded_max(size_t len);

/* Decodes len characters of in into out (cap bytes). Padding, when
 * allowed (no CK_BASE64_NOPAD), ends the text: only whitespace (with
 * CK_BASE64_SPACE) may follow the padded group. Returns CK_OK with
 * *out_len (0 for empty input), CK_ERR_PARSE for bad input or CK_ERR_LIMIT
 * when out is too small; *why (may be NULL) says which and where. On
 * failure out may hold part of the output (wipe it if it is secret). */
ck_err ck_base64_decode_into(const void *in, size_t len, unsigned flags,
                             uint8_t *out, size_t cap, size_t *out_len,
                             ck_base64_fault *why);

#endif
