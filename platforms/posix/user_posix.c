/* user_posix.c — ck_sandbox_drop_user (sandbox.h) for every platform: the
 * user switch is portable POSIX, so Linux compiles this file too
 * (platforms/CMakeLists.txt); only the system-call filter differs
 * (sandbox_linux.c, sandbox_posix.c). As root, setgid and setuid set the
 * real, effective and saved ids alike, so nothing is left to regain, and
 * that is checked afterwards. */
#include "platforms/sandbox.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

ck_err ck_sandbox_drop_user(const char *user, ck_errctx *err) {
  struct passwd pw, *res = NULL;
  char buf[4096];
  gid_t gid;
  int r;

  if (user == NULL || user[0] == '\0')
    return CK_OK;
  r = getpwnam_r(user, &pw, buf, sizeof buf, &res);
  if (r != 0 || res == NULL)
    return ck_failf(err, r == 0 ? CK_ERR_NOENT : ck_err_from_errno(-r),
                    "user '%s': %s", user,
                    r == 0 ? "no such user" : strerror(r));
  if (geteuid() != 0) {
    if (pw.pw_uid == geteuid())
      return CK_OK;
    return ck_failf(err, CK_ERR_PERM,
                    "cannot switch to user '%s': not running as root "
                    "(euid %lu)",
                    user, (unsigned long)geteuid());
  }
  if (pw.pw_uid == 0)
    return CK_OK;
  gid = pw.pw_gid;
  /* Supplementary groups first (needs root), then the gid, then the uid:
   * setuid from root to a non-zero uid clears every capability. */
  if (setgroups(1, &gid) != 0)
    return ck_failf(err, CK_ERR_PERM, "user '%s': setgroups: %s", user,
                    strerror(errno));
  if (setgid(gid) != 0)
    return ck_failf(err, CK_ERR_PERM, "user '%s': setgid: %s", user,
                    strerror(errno));
  if (setuid(pw.pw_uid) != 0)
    return ck_failf(err, CK_ERR_PERM, "user '%s': setuid: %s", user,
                    strerror(errno));
  if (setuid(0) == 0 || geteuid() == 0 || getuid() == 0 ||
      (gid != 0 && setgid(0) == 0))
    return ck_failf(err, CK_ERR_INTERNAL,
                    "user '%s': root could be regained after the switch", user);
  return CK_OK;
}
