/* platform.h — the OS seam. Every platform implements these names; CMake
 * picks platforms/linux/ on Linux and platforms/posix/ elsewhere. Agent and
 * coordinator code never tests #ifdef __linux__: it calls these. */
#ifndef CK_PLATFORM_H
#define CK_PLATFORM_H

/* Short platform name for hello messages and logs ("linux", "posix"). */
const char *ck_platform_name(void);

/* 1 when stderr is connected to the systemd journal (JOURNAL_STREAM names
 * the same device and inode as fd 2), so logs can use <N> priority prefixes
 * and leave timestamps to journald. */
int ck_platform_stderr_is_journal(void);

#endif
