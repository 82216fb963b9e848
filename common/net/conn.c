/* conn.c — dispatchers over the ck_conn vtable (see conn.h). */
#include "common/net/conn.h"

ck_err ck_conn_read_start(ck_conn *c, ck_conn_read_cb cb) {
  return c->vt->read_start(c, cb);
}

void ck_conn_read_stop(ck_conn *c) { c->vt->read_stop(c); }

ck_err ck_conn_write(ck_conn *c, const uv_buf_t *bufs, unsigned nbufs,
                     ck_conn_write_cb cb, void *arg) {
  return c->vt->write(c, bufs, nbufs, cb, arg);
}

void ck_conn_close(ck_conn *c, ck_conn_close_cb cb) { c->vt->close(c, cb); }

size_t ck_conn_write_queue_size(const ck_conn *c) {
  return c->vt->write_queue_size(c);
}

const uint8_t *ck_conn_peer_cert_der(const ck_conn *c, size_t *len) {
  if (c->vt->peer_cert_der == NULL) {
    *len = 0;
    return NULL;
  }
  return c->vt->peer_cert_der(c, len);
}
