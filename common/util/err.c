/* err.c — names and descriptions for ck_err, and the error context. */
#include "common/util/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *ck_err_name(ck_err err) {
  switch (err) {
#define CK__ERR_NAME(name, code, msg)                                          \
  case CK_ERR_##name:                                                          \
    return "CK_ERR_" #name;
    CK_ERR_MAP(CK__ERR_NAME)
#undef CK__ERR_NAME
  }
  return "CK_ERR_UNKNOWN";
}

const char *ck_strerror(ck_err err) {
  switch (err) {
#define CK__ERR_STR(name, code, msg)                                           \
  case CK_ERR_##name:                                                          \
    return msg;
    CK_ERR_MAP(CK__ERR_STR)
#undef CK__ERR_STR
  }
  return "unknown error";
}

ck_err ck_err_from_errno(int neg_errno) {
  switch (-neg_errno) {
  case 0:
    return CK_OK;
  case ENOMEM:
    return CK_ERR_NOMEM;
  case EINVAL:
    return CK_ERR_INVAL;
  case ENOENT:
    return CK_ERR_NOENT;
  case EEXIST:
    return CK_ERR_EXIST;
  case EACCES:
  case EPERM:
    return CK_ERR_PERM;
  case ETIMEDOUT:
    return CK_ERR_TIMEOUT;
  case EAGAIN:
    return CK_ERR_AGAIN;
  case EPIPE:
  case ECONNRESET:
  case ECONNABORTED:
    return CK_ERR_CLOSED;
  case ECONNREFUSED:
  case EHOSTUNREACH:
  case ENETUNREACH:
  case EADDRINUSE:
  case EADDRNOTAVAIL:
    return CK_ERR_NET;
  case ECANCELED:
    return CK_ERR_CANCELED;
  case EBUSY:
    return CK_ERR_BUSY;
  case ERANGE:
  case EOVERFLOW:
    return CK_ERR_RANGE;
  default:
    return CK_ERR_IO;
  }
}

static void vformat(ck_errctx *ctx, int prefix, const char *fmt, va_list ap) {
  char tail[sizeof ctx->msg];
  size_t n;

  if (prefix && ctx->msg[0] != '\0')
    memcpy(tail, ctx->msg, sizeof tail);
  else
    tail[0] = '\0';
  vsnprintf(ctx->msg, sizeof ctx->msg, fmt, ap);
  if (tail[0] != '\0') {
    n = strlen(ctx->msg);
    snprintf(ctx->msg + n, sizeof ctx->msg - n, ": %s", tail);
  }
}

ck_err ck_failf(ck_errctx *ctx, ck_err code, const char *fmt, ...) {
  va_list ap;

  if (ctx == NULL)
    return code;
  ctx->code = code;
  va_start(ap, fmt);
  vformat(ctx, 1, fmt, ap);
  va_end(ap);
  return code;
}

ck_err ck_setf(ck_errctx *ctx, ck_err code, const char *fmt, ...) {
  va_list ap;

  if (ctx == NULL)
    return code;
  ctx->code = code;
  va_start(ap, fmt);
  vformat(ctx, 0, fmt, ap);
  va_end(ap);
  return code;
}

const char *ck_errctx_msg(const ck_errctx *ctx) {
  if (ctx == NULL)
    return "";
  if (ctx->msg[0] != '\0')
    return ctx->msg;
  return ck_strerror(ctx->code);
}

void ck_errctx_clear(ck_errctx *ctx) {
  if (ctx == NULL)
    return;
  ctx->code = CK_OK;
  ctx->msg[0] = '\0';
}
