/* state.c — writes the agent's state directory after an enrollment (see
 * state.h for the layout). Each file is replaced atomically; agent.conf is
 * the last one, so its presence means the enrollment is complete. */
#include "agent/link/state.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util/fs.h"

static int ck__state_has(const char *dir, const char *name) {
  char p[4096];
  struct stat st;

  if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p)
    return 0;
  return lstat(p, &st) == 0;
}

int ck_state_enrolled(const char *dir) {
  return ck__state_has(dir, CK_STATE_CONF_FILE) ||
         ck__state_has(dir, CK_STATE_KEY_FILE);
}

/* Writes dir/name atomically with mode. */
static ck_err ck__state_put(const char *dir, const char *name,
                            const char *data, size_t len, mode_t mode,
                            ck_errctx *err) {
  char p[4096];

  if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p)
    return ck_failf(err, CK_ERR_INVAL, "state directory path too long");
  return ck_fs_write_atomic(p, data, len, mode, err);
}

static int ck__state_line_ok(const char *s) {
  return s != NULL && s[0] != '\0' && strpbrk(s, "\r\n") == NULL;
}

ck_err ck_state_write(const char *dir, const ck_state_files *f, int force,
                      ck_errctx *err) {
  char conf[2048];
  int n;
  ck_err rc = CK_OK;

  if (dir == NULL || dir[0] == '\0' || f == NULL)
    return ck_failf(err, CK_ERR_INVAL, "state directory not given");
  if (!ck__state_line_ok(f->agent_id) || !ck__state_line_ok(f->server))
    return ck_failf(err, CK_ERR_INVAL,
                    "state: agent id and server must be one non-empty line");
  if (f->key_pem == NULL || f->key_pem_len == 0 || f->cert_pem == NULL ||
      f->cert_pem_len == 0 || f->ca_pem == NULL || f->ca_pem_len == 0)
    return ck_failf(err, CK_ERR_INVAL,
                    "state: key, certificate and CA are required");
  if (!force && ck_state_enrolled(dir))
    return ck_failf(err, CK_ERR_EXIST,
                    "%s already holds an enrollment (use --force to replace "
                    "it)",
                    dir);
  n = snprintf(conf, sizeof conf,
               "# certkeeper-agent state, written by `certkeeper-agent "
               "enroll`\n"
               "[agent]\n"
               "id = %s\n"
               "server = %s\n"
               "ca_fingerprint = %s\n"
               "enrolled_at = %lld\n",
               f->agent_id, f->server,
               ck__state_line_ok(f->ca_fingerprint) ? f->ca_fingerprint : "",
               (long long)f->enrolled_at);
  if (n < 0 || n >= (int)sizeof conf)
    return ck_failf(err, CK_ERR_INVAL, "state: agent id or server too long");

  if ((rc = ck_fs_mkdir_p(dir, 0700, err)) != CK_OK)
    goto out;
  if ((rc = ck_fs_set_mode(dir, 0700, err)) != CK_OK)
    goto out;
  if ((rc = ck__state_put(dir, CK_STATE_KEY_FILE, f->key_pem, f->key_pem_len,
                          0600, err)) != CK_OK)
    goto out;
  if ((rc = ck__state_put(dir, CK_STATE_CERT_FILE, f->cert_pem,
                          f->cert_pem_len, 0644, err)) != CK_OK)
    goto out;
  if ((rc = ck__state_put(dir, CK_STATE_CA_FILE, f->ca_pem, f->ca_pem_len,
                          0644, err)) != CK_OK)
    goto out;
  rc = ck__state_put(dir, CK_STATE_CONF_FILE, conf, (size_t)n, 0644, err);
out:
  return rc;
}
