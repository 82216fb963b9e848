/* state.h — the agent's state directory: what `certkeeper-agent enroll`
 * leaves behind for the daemon (identity key and certificate, the pinned
 * coordinator CA as trust bundle, agent id and server address).
 *
 * Layout of DIR (mode 0700):
 *   identity.key  0600  the agent's private key (PEM, PKCS#8)
 *   identity.crt  0644  identity certificate, then its chain (PEM)
 *   ca.pem        0644  the pinned coordinator CA (PEM), trust for mutual TLS
 *   agent.conf    0644  [agent] id, server, ca_fingerprint, enrolled_at
 * Every file is replaced atomically (ck_fs_write_atomic); agent.conf is
 * written last, so it marks a complete enrollment. */
#ifndef CK_AGENT_LINK_STATE_H
#define CK_AGENT_LINK_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/err.h"

#define CK_STATE_DEFAULT_DIR "/var/lib/certkeeper-agent"
#define CK_STATE_KEY_FILE "identity.key"
#define CK_STATE_CERT_FILE "identity.crt"
#define CK_STATE_CA_FILE "ca.pem"
#define CK_STATE_CONF_FILE "agent.conf"

/* What an enrollment produced; every pointer is borrowed by ck_state_write. */
typedef struct ck_state_files {
  const char *agent_id;
  const char *server;         /* "HOST:PORT" */
  const char *ca_fingerprint; /* SHA-256 hex of the pinned CA */
  int64_t enrolled_at;        /* epoch seconds */
  const char *key_pem;        /* secret: written 0600 */
  size_t key_pem_len;
  const char *cert_pem; /* leaf then chain */
  size_t cert_pem_len;
  const char *ca_pem;
  size_t ca_pem_len;
} ck_state_files;

/* Returns 1 when dir already holds an enrollment (agent.conf or
 * identity.key present), 0 otherwise. */
int ck_state_enrolled(const char *dir);

/* Creates dir (0700, parents as needed; an existing dir is set to 0700) and
 * writes the files above. Refuses with CK_ERR_EXIST when dir already holds
 * an enrollment and force is 0 (nothing is touched then). Other errors:
 * CK_ERR_INVAL (missing field, agent id or server with a newline),
 * CK_ERR_IO / CK_ERR_PERM from the filesystem, each naming the path. */
ck_err ck_state_write(const char *dir, const ck_state_files *f, int force,
                      ck_errctx *err);

#endif
