/* vconn.c — the validator's blocking connections: a non-blocking TCP socket
 * driven with poll() against an absolute deadline, optionally carrying the
 * memory-only TLS engine of common/crypto/tls.h. Runs on thread-pool
 * workers, never on the loop, so plain sockets (not libuv) are right here:
 * each validation owns its sockets from start to end. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util/clock.h"
#include "common/util/mem.h"
#include "coordinator/acme/validate_int.h"

#define TLS_CHUNK 16384

static ck_err wait_fd(int fd, short ev, uint64_t deadline) {
  for (;;) {
    struct pollfd pfd = {.fd = fd, .events = ev, .revents = 0};
    int64_t left = ck__acme_left(deadline);
    int r;
    if (left <= 0)
      return CK_ERR_TIMEOUT;
    r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
    if (r > 0)
      return CK_OK;
    if (r < 0 && errno != EINTR)
      return CK_ERR_NET;
  }
}

ck_err ck__acme_vconn_open(ck__acme_vconn *c, const struct sockaddr_storage *sa,
                           int port, uint64_t deadline,
                           ck_acme_validation *res) {
  struct sockaddr_storage to = *sa;
  socklen_t tolen;
  char where[80];
  int fd, soerr = 0;
  socklen_t slen = sizeof soerr;
  ck_err rc;

  memset(c, 0, sizeof *c);
  c->fd = -1;
  if (to.ss_family == AF_INET) {
    ((struct sockaddr_in *)&to)->sin_port = htons((uint16_t)port);
    tolen = sizeof(struct sockaddr_in);
  } else {
    ((struct sockaddr_in6 *)&to)->sin6_port = htons((uint16_t)port);
    tolen = sizeof(struct sockaddr_in6);
  }
  ck__acme_addr_str(sa, port, where, sizeof where);
  ck_strlcpy(res->address, where, sizeof res->address);
  fd = socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return ck__acme_vfail(res, CK_ERR_NET, "connection", "%s: socket: %s",
                          where, strerror(errno));
  if (connect(fd, (struct sockaddr *)&to, tolen) != 0) {
    if (errno != EINPROGRESS) {
      rc = ck__acme_vfail(res, CK_ERR_NET, "connection", "%s: %s", where,
                          strerror(errno));
      close(fd);
      return rc;
    }
    rc = wait_fd(fd, POLLOUT, deadline);
    if (rc == CK_ERR_TIMEOUT) {
      close(fd);
      return ck__acme_vfail(res, CK_ERR_TIMEOUT, "connection",
                            "%s: timeout while connecting", where);
    }
    if (rc != CK_OK ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) != 0 ||
        soerr != 0) {
      rc = ck__acme_vfail(res, CK_ERR_NET, "connection", "%s: %s", where,
                          strerror(soerr != 0 ? soerr : errno));
      close(fd);
      return rc;
    }
  }
  c->fd = fd;
  return CK_OK;
}

/* Sends all len bytes of raw data. */
static ck_err send_raw(ck__acme_vconn *c, const uint8_t *p, size_t len,
                       uint64_t deadline, ck_errctx *err) {
  while (len > 0) {
    ssize_t w = send(c->fd, p, len, MSG_NOSIGNAL);
    if (w > 0) {
      p += w;
      len -= (size_t)w;
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return ck_failf(err, CK_ERR_NET, "send: %s", strerror(errno));
    if (wait_fd(c->fd, POLLOUT, deadline) != CK_OK)
      return ck_failf(err, CK_ERR_TIMEOUT, "timeout while sending");
  }
  return CK_OK;
}

/* Receives some raw bytes; CK_ERR_CLOSED at end of stream. */
static ck_err recv_raw(ck__acme_vconn *c, uint8_t *buf, size_t cap, size_t *n,
                       uint64_t deadline, ck_errctx *err) {
  for (;;) {
    ssize_t r = recv(c->fd, buf, cap, 0);
    if (r > 0) {
      *n = (size_t)r;
      return CK_OK;
    }
    if (r == 0)
      return CK_ERR_CLOSED;
    if (errno == ECONNRESET)
      return ck_failf(err, CK_ERR_NET, "connection reset by peer");
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return ck_failf(err, CK_ERR_NET, "recv: %s", strerror(errno));
    if (wait_fd(c->fd, POLLIN, deadline) != CK_OK)
      return ck_failf(err, CK_ERR_TIMEOUT, "timeout while reading");
  }
}

/* Sends whatever ciphertext the engine has queued. */
static ck_err flush_tls(ck__acme_vconn *c, uint64_t deadline, ck_errctx *err) {
  uint8_t buf[TLS_CHUNK];

  while (ck_tls_session_pending(c->tls) > 0) {
    size_t n = ck_tls_session_take(c->tls, buf, sizeof buf);
    ck_err rc = send_raw(c, buf, n, deadline, err);
    if (rc != CK_OK)
      return rc;
  }
  return CK_OK;
}

/* Feeds the engine one read's worth of ciphertext. */
static ck_err pull_tls(ck__acme_vconn *c, uint64_t deadline, ck_errctx *err) {
  uint8_t buf[TLS_CHUNK];
  size_t n = 0;
  ck_err rc = recv_raw(c, buf, sizeof buf, &n, deadline, err);

  if (rc != CK_OK)
    return rc;
  return ck_tls_session_feed(c->tls, buf, n, err);
}

ck_err ck__acme_vconn_tls(ck__acme_vconn *c, ck_tls_ctx *ctx,
                          const char *server_name, uint64_t deadline,
                          ck_errctx *err) {
  ck_err rc = ck_tls_session_new(ctx, server_name, &c->tls, err);

  if (rc != CK_OK)
    return rc;
  for (int guard = 0; guard < 10000; guard++) {
    rc = ck_tls_session_handshake(c->tls, err);
    ck_err frc = flush_tls(c, deadline, err);
    if (rc == CK_OK)
      return frc;
    if (rc != CK_ERR_AGAIN)
      return rc;
    if (frc != CK_OK)
      return frc;
    rc = pull_tls(c, deadline, err);
    if (rc == CK_ERR_CLOSED)
      return ck_failf(err, CK_ERR_TLS_HANDSHAKE,
                      "the server closed the connection during the TLS "
                      "handshake");
    if (rc != CK_OK)
      return rc;
  }
  return ck_failf(err, CK_ERR_TLS_HANDSHAKE, "TLS handshake does not end");
}

ck_err ck__acme_vconn_write(ck__acme_vconn *c, const void *data, size_t len,
                            uint64_t deadline, ck_errctx *err) {
  ck_err rc;

  if (c->tls == NULL)
    return send_raw(c, data, len, deadline, err);
  rc = ck_tls_session_write(c->tls, data, len, err);
  if (rc != CK_OK)
    return rc;
  return flush_tls(c, deadline, err);
}

ck_err ck__acme_vconn_read(ck__acme_vconn *c, uint8_t *buf, size_t cap,
                           size_t *n, uint64_t deadline, ck_errctx *err) {
  ck_err rc;

  *n = 0;
  if (c->eof)
    return CK_ERR_CLOSED;
  if (c->tls == NULL) {
    rc = recv_raw(c, buf, cap, n, deadline, err);
    if (rc == CK_ERR_CLOSED)
      c->eof = 1;
    return rc;
  }
  for (int guard = 0; guard < 100000; guard++) {
    rc = ck_tls_session_read(c->tls, buf, cap, n, err);
    if (ck_tls_session_pending(c->tls) > 0) {
      ck_err frc = flush_tls(c, deadline, err);
      if (frc != CK_OK)
        return frc;
    }
    if (rc == CK_OK)
      return CK_OK;
    if (rc == CK_ERR_CLOSED) {
      c->eof = 1;
      return rc;
    }
    if (rc != CK_ERR_AGAIN)
      return rc;
    rc = pull_tls(c, deadline, err);
    if (rc == CK_ERR_CLOSED) {
      c->eof = 1; /* no close_notify: HTTP framing catches truncation */
      return rc;
    }
    if (rc != CK_OK)
      return rc;
  }
  return ck_failf(err, CK_ERR_TLS, "TLS read does not progress");
}

void ck__acme_vconn_close(ck__acme_vconn *c) {
  if (c->tls != NULL) {
    ck_tls_session_free(c->tls);
    c->tls = NULL;
  }
  if (c->fd >= 0) {
    close(c->fd);
    c->fd = -1;
  }
}
