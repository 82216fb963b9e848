/* est_helper.c — `certkeeper-agent est-reenroll`, one EST simplereenroll in
 * a process of its own (see est_helper.h): inputs from priv on stdin,
 * privileges dropped and the net sandbox entered before the first byte goes
 * to the network, the answer on stdout. Also the field framing both ends
 * use. */
#include "agent/run/est_helper.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "agent/link/est.h"
#include "common/crypto/crypto.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "platforms/sandbox.h"

ck_err ck_est_fields_pack(const ck_wire_bytes *v, size_t n, uint8_t **out,
                          size_t *out_len) {
  size_t total = 0, i, k = 0;
  uint8_t *b;

  for (i = 0; i < n; i++) {
    if (v[i].len > CK_EST_HELPER_MAX || total > CK_EST_HELPER_MAX)
      return CK_ERR_LIMIT;
    total += 4 + v[i].len;
  }
  if (total > CK_EST_HELPER_MAX)
    return CK_ERR_LIMIT;
  if ((b = malloc(total + 1)) == NULL)
    return CK_ERR_NOMEM;
  for (i = 0; i < n; i++) {
    uint32_t l = (uint32_t)v[i].len;
    b[k++] = (uint8_t)(l >> 24);
    b[k++] = (uint8_t)(l >> 16);
    b[k++] = (uint8_t)(l >> 8);
    b[k++] = (uint8_t)l;
    if (l > 0)
      memcpy(b + k, v[i].data, l);
    k += l;
  }
  *out = b;
  *out_len = k;
  return CK_OK;
}

ck_err ck_est_fields_unpack(const uint8_t *buf, size_t len, ck_wire_bytes *v,
                            size_t n, ck_errctx *err) {
  size_t pos = 0, i;

  for (i = 0; i < n; i++) {
    uint32_t l;
    if (len - pos < 4)
      return ck_failf(err, CK_ERR_PARSE, "field %zu of %zu is missing", i + 1,
                      n);
    l = (uint32_t)buf[pos] << 24 | (uint32_t)buf[pos + 1] << 16 |
        (uint32_t)buf[pos + 2] << 8 | buf[pos + 3];
    pos += 4;
    if (l > len - pos)
      return ck_failf(err, CK_ERR_PARSE, "field %zu runs past the end", i + 1);
    v[i].data = buf + pos;
    v[i].len = l;
    pos += l;
  }
  if (pos != len)
    return ck_failf(err, CK_ERR_PARSE, "%zu bytes after the last field",
                    len - pos);
  return CK_OK;
}

/* ---- the helper process --------------------------------------------------- */

typedef struct ck__help {
  int done;
  ck_est_result res; /* copied out of the callback */
  char *ca_pem;
  size_t ca_len;
} ck__help;

static void ck__help_done(ck_est_client *c, ck_est_result *res, void *arg) {
  ck__help *h = arg;
  const uint8_t *ca;
  size_t ca_len = 0;

  h->done = 1;
  h->res = *res;
  memset(&res->certs, 0, sizeof res->certs); /* moved */
  ca = ck_est_client_ca_pem(c, &ca_len);
  if (ca != NULL && (h->ca_pem = malloc(ca_len + 1)) != NULL) {
    memcpy(h->ca_pem, ca, ca_len);
    h->ca_len = ca_len;
  }
}

/* Reads all of fd (at most CK_EST_HELPER_MAX). */
static ck_err ck__read_all(int fd, uint8_t **out, size_t *len) {
  size_t cap = 16384, n = 0;
  uint8_t *b = malloc(cap), *nb;

  if (b == NULL)
    return CK_ERR_NOMEM;
  for (;;) {
    ssize_t r;
    if (n == cap) {
      if (cap >= CK_EST_HELPER_MAX || (nb = realloc(b, cap * 2)) == NULL) {
        ck_crypto_free_secret(b, cap);
        return CK_ERR_LIMIT;
      }
      b = nb;
      cap *= 2;
    }
    r = read(fd, b + n, cap - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      ck_crypto_free_secret(b, cap);
      return CK_ERR_IO;
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  *out = b;
  *len = n;
  return CK_OK;
}

static int ck__write_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* NUL-terminated copy of a field (malloc'ed). */
static char *ck__str(const ck_wire_bytes *f) {
  char *s = malloc(f->len + 1);
  if (s != NULL) {
    memcpy(s, f->data, f->len);
    s[f->len] = '\0';
  }
  return s;
}

int ck_est_helper_main(int argc, char **argv) {
  ck_wire_bytes in[CK_EST_HELPER_IN], outf[CK_EST_HELPER_OUT];
  uint8_t *buf = NULL, *frame = NULL, *packed = NULL;
  size_t len = 0, cap = 0, frame_len = 0, packed_len = 0;
  char *url = NULL, *pin = NULL, *user = NULL, *tmo = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_est_client *c = NULL;
  ck_arena *a = NULL;
  ck__help h;
  ck_est_conf ec;
  ck_wire_msg m;
  uv_loop_t loop;
  int loop_ok = 0, status = 1, sandboxed = 0;
  long secs;

  (void)argv;
  memset(&h, 0, sizeof h);
  if (argc != 0 || isatty(0)) {
    fprintf(stderr, "certkeeper-agent est-reenroll: started by `run` only "
                    "(inputs on stdin)\n");
    return 2;
  }
  if (ck__read_all(0, &buf, &len) != CK_OK) {
    ck_setf(&err, CK_ERR_IO, "cannot read the inputs");
    goto fail;
  }
  cap = len;
  if (ck_est_fields_unpack(buf, len, in, CK_EST_HELPER_IN, &err) != CK_OK)
    goto fail;
  if ((url = ck__str(&in[0])) == NULL || (pin = ck__str(&in[1])) == NULL ||
      (user = ck__str(&in[6])) == NULL || (tmo = ck__str(&in[7])) == NULL) {
    ck_setf(&err, CK_ERR_NOMEM, "out of memory");
    goto fail;
  }
  secs = strtol(tmo, NULL, 10);
  if (uv_loop_init(&loop) != 0) {
    ck_setf(&err, CK_ERR_INTERNAL, "cannot create the event loop");
    goto fail;
  }
  loop_ok = 1;
  memset(&ec, 0, sizeof ec);
  ec.url = url;
  ec.ca_fingerprint = pin[0] ? pin : NULL;
  ec.ca_pem = in[2].len > 0 ? in[2].data : NULL;
  ec.ca_pem_len = in[2].len;
  ec.cert_pem = in[3].data;
  ec.cert_pem_len = in[3].len;
  ec.key_pem = in[4].data;
  ec.key_pem_len = in[4].len;
  ec.timeout_ms = (unsigned)(secs > 0 && secs <= 3600 ? secs : 30) * 1000u;
  /* the TLS contexts (and the key in them) are built before the sandbox */
  if (ck_est_client_new(&loop, &ec, &c, &err) != CK_OK)
    goto fail;
  ck_wipe((void *)in[4].data, in[4].len);
  /* the net process's user and sandbox before any network use */
  if (ck_sandbox_drop_user(user[0] ? user : NULL, &err) != CK_OK)
    goto fail;
  if (ck_sandbox_enter_net(&err) == CK_ERR_UNSUPPORTED)
    ck_errctx_clear(&err);
  else if (err.code != CK_OK)
    goto fail;
  else
    sandboxed = 1;
  if (ck_est_enroll(c, 1, in[5].data, in[5].len, ck__help_done, &h, &err) !=
      CK_OK)
    goto fail;
  while (!h.done && uv_run(&loop, UV_RUN_ONCE) != 0)
    ;
  if (!h.done) {
    ck_setf(&err, CK_ERR_INTERNAL, "the request ended without an answer");
    goto fail;
  }
  if ((a = ck_arena_new(16384)) == NULL) {
    ck_setf(&err, CK_ERR_NOMEM, "out of memory");
    goto fail;
  }
  (void)ck_est_answer(&h.res, in[5].data, in[5].len,
                      (const uint8_t *)h.ca_pem, h.ca_len, a, &m, &err);
  m.id = 1;
  if (ck_wire_encode(&m, NULL, &frame, &frame_len, &err) != CK_OK)
    goto fail;
  outf[0].data = frame;
  outf[0].len = frame_len;
  outf[1].data = (const uint8_t *)h.ca_pem;
  outf[1].len = h.ca_pem != NULL ? h.ca_len : 0;
  if (ck_est_fields_pack(outf, CK_EST_HELPER_OUT, &packed, &packed_len) !=
          CK_OK ||
      ck__write_all(1, packed, packed_len) != 0) {
    ck_setf(&err, CK_ERR_IO, "cannot write the answer");
    goto fail;
  }
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "agent.est.helper", CK_S("op", "simplereenroll"),
         CK_I("status", h.res.status), CK_S("answer", ck_wire_type_name(m.type)),
         CK_B("sandboxed", sandboxed));
  status = 0;
  goto out;
fail:
  ck_log(CK_LOG_OPS, CK_LOG_ERR, "agent.est.helper",
         CK_E(err.code, ck_errctx_msg(&err)));
out:
  ck_est_client_close(c);
  if (loop_ok) {
    uv_run(&loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&loop);
  }
  ck_cert_list_clear(&h.res.certs);
  free(h.ca_pem);
  ck_arena_free(a);
  free(frame);
  free(packed);
  free(url);
  free(pin);
  free(user);
  free(tmo);
  if (buf != NULL)
    ck_crypto_free_secret(buf, cap);
  return status;
}
