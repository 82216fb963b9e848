/* notify_linux.c — Linux implementation of notify.h: the sd_notify datagram
 * protocol, spoken directly (no libsystemd). */
#include "platforms/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int ck_notify(const char *state) {
  const char *path = getenv("NOTIFY_SOCKET");
  struct sockaddr_un sa;
  size_t plen;
  socklen_t salen;
  ssize_t n;
  int fd, rc = -1;

  if (path == NULL || path[0] == '\0')
    return 0;
  if (state == NULL)
    return -1;
  plen = strlen(path);
  /* a path ("/run/systemd/notify") or an abstract name ("@name") */
  if ((path[0] != '/' && path[0] != '@') || plen >= sizeof sa.sun_path)
    return -1;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, plen);
  if (path[0] == '@')
    sa.sun_path[0] = '\0';
  salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen +
                      (path[0] == '/' ? 1 : 0));
  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  do {
    n = sendto(fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT,
               (const struct sockaddr *)&sa, salen);
  } while (n < 0 && errno == EINTR);
  if (n >= 0 && (size_t)n == strlen(state))
    rc = 1;
  close(fd);
  return rc;
}
