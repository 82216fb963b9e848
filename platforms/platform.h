/* platform.h — the OS seam. Every platform implements these names; CMake
 * picks platforms/linux/ on Linux and platforms/posix/ elsewhere. Agent and
 * coordinator code never tests #ifdef __linux__: it calls these. */
#ifndef CK_PLATFORM_H
#define CK_PLATFORM_H

#include <stddef.h>

/* Short platform name for hello messages and logs ("linux", "posix"). */
const char *ck_platform_name(void);

/* 1 when stderr is connected to the systemd journal (JOURNAL_STREAM names
 * the same device and inode as fd 2), so logs can use <N> priority prefixes
 * and leave timestamps to journald. */
int ck_platform_stderr_is_journal(void);

/* Copies the host's stable machine id (Linux: /etc/machine-id, else
 * /var/lib/dbus/machine-id; printable, trimmed) into buf (len bytes,
 * NUL-terminated) and returns 1; returns 0 with buf "" when the platform
 * has none or it cannot be read. */
int ck_platform_machine_id(char *buf, size_t len);

/* Heap tuning for long-lived processes. ck_platform_mem_init (once, before
 * threads or forks) limits the allocator's per-thread arenas (glibc:
 * M_ARENA_MAX 1); ck_platform_mem_trim gives freed heap memory back to the
 * system (glibc: malloc_trim(0)), for after a large transient allocation
 * such as a scan. No-ops where the allocator has no such knobs. */
void ck_platform_mem_init(void);
void ck_platform_mem_trim(void);

#endif
