/* nonce.c — bounded in-memory replay-nonce set (nonce.h). Issued counters
 * are marked in a bitmap ring; a nonce is valid while its counter is inside
 * the ring's window, its bit set, its MAC right and its age below the
 * lifetime (the issue time of each 64-counter word is kept). */
#include "coordinator/acme/nonce.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/mem.h"
#include "coordinator/acme/acme_util.h"

struct ck_acme_nonces {
  pthread_mutex_t mu;
  uint8_t key[32];  /* MAC key, random per process */
  uint64_t next;    /* next counter to issue (starts at 1) */
  size_t words;     /* bitmap words; window = words * 64 */
  uint64_t *bits;   /* 1 = issued and unused */
  int64_t *word_ms; /* when the first counter of each word was issued */
  int64_t lifetime_ms;
};

ck_err ck_acme_nonces_new(size_t window, int64_t lifetime_s,
                          ck_acme_nonces **out, ck_errctx *err) {
  ck_acme_nonces *n = calloc(1, sizeof *n);
  ck_err rc = CK_OK;

  *out = NULL;
  if (n == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "acme nonces");
  if (window == 0)
    window = (size_t)1 << 20;
  n->words = (window + 63) / 64;
  n->lifetime_ms = (lifetime_s > 0 ? lifetime_s : 3600) * 1000;
  n->next = 1;
  n->bits = calloc(n->words, sizeof *n->bits);
  n->word_ms = calloc(n->words, sizeof *n->word_ms);
  if (n->bits == NULL || n->word_ms == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "acme nonces");
    goto out;
  }
  if ((rc = ck_random(n->key, sizeof n->key)) != CK_OK) {
    ck_failf(err, rc, "acme nonce key");
    goto out;
  }
  pthread_mutex_init(&n->mu, NULL);
  *out = n;
  n = NULL;
out:
  if (n != NULL) {
    free(n->bits);
    free(n->word_ms);
    free(n);
  }
  return rc;
}

void ck_acme_nonces_free(ck_acme_nonces *n) {
  if (n == NULL)
    return;
  pthread_mutex_destroy(&n->mu);
  ck_wipe(n->key, sizeof n->key);
  free(n->bits);
  free(n->word_ms);
  free(n);
}

static void encode(const ck_acme_nonces *n, uint64_t ctr,
                   char out[CK_ACME_NONCE_LEN]) {
  uint8_t raw[24], mac[32];
  int i;

  for (i = 0; i < 8; i++)
    raw[i] = (uint8_t)(ctr >> (56 - 8 * i));
  ck_hmac_sha256(n->key, sizeof n->key, raw, 8, mac);
  memcpy(raw + 8, mac, 16);
  ck_b64u_encode(raw, sizeof raw, out, CK_ACME_NONCE_LEN);
}

ck_err ck_acme_nonce_issue(ck_acme_nonces *n, char out[CK_ACME_NONCE_LEN]) {
  uint64_t ctr;
  size_t slot;

  pthread_mutex_lock(&n->mu);
  ctr = n->next++;
  slot = (size_t)(ctr % (n->words * 64));
  if (slot % 64 == 0 || n->word_ms[slot / 64] == 0) {
    n->bits[slot / 64] = 0; /* the word's previous round is out of window */
    n->word_ms[slot / 64] = ck_clock_now_ms();
  }
  n->bits[slot / 64] |= (uint64_t)1 << (slot % 64);
  pthread_mutex_unlock(&n->mu);
  encode(n, ctr, out);
  return CK_OK;
}

ck_err ck_acme_nonce_consume(ck_acme_nonces *n, const char *nonce,
                             const char **why) {
  uint8_t raw[24], mac[32];
  uint64_t ctr = 0, bit;
  size_t len, slot;
  ck_err rc = CK_ERR_AUTH;
  int i;

  *why = "unknown nonce";
  if (nonce == NULL || strlen(nonce) != CK_ACME_NONCE_LEN - 1 ||
      ck_b64u_decode(nonce, CK_ACME_NONCE_LEN - 1, raw, sizeof raw, &len) !=
          CK_OK ||
      len != sizeof raw)
    return rc;
  if (ck_hmac_sha256(n->key, sizeof n->key, raw, 8, mac) != CK_OK ||
      !ck_ct_equal(mac, raw + 8, 16))
    return rc;
  for (i = 0; i < 8; i++)
    ctr = ctr << 8 | raw[i];
  pthread_mutex_lock(&n->mu);
  slot = (size_t)(ctr % (n->words * 64));
  bit = (uint64_t)1 << (slot % 64);
  if (ctr == 0 || ctr >= n->next) {
    *why = "unknown nonce";
  } else if (n->next - ctr > n->words * 64 - 64) {
    *why = "nonce expired (too many issued since)";
  } else if (ck_clock_now_ms() - n->word_ms[slot / 64] > n->lifetime_ms) {
    *why = "nonce expired";
    n->bits[slot / 64] &= ~bit;
  } else if ((n->bits[slot / 64] & bit) == 0) {
    *why = "nonce already used";
  } else {
    n->bits[slot / 64] &= ~bit;
    *why = "";
    rc = CK_OK;
  }
  pthread_mutex_unlock(&n->mu);
  return rc;
}
