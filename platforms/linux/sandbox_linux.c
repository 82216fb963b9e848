/* sandbox_linux.c — the net process's sandbox: no_new_privs and a seccomp
 * allowlist (libseccomp). The user switch before it (ck_sandbox_drop_user)
 * is portable: posix/user_posix.c, compiled on every platform.
 *
 * The allowlist is what a libuv loop running a TLS client (OpenSSL or
 * mbedTLS), its thread pool, and the outbox's file writes need. Everything
 * else fails with EPERM rather than killing the process, so an unexpected
 * call in a library shows up as an error message, not a mystery crash. The
 * notable denials: execve/execveat, fork/vfork and clone without
 * CLONE_THREAD, ptrace, process_vm_*, mount/umount/pivot_root/chroot,
 * set*uid/set*gid/setgroups/capset, bind/listen/accept, sockets other than
 * AF_INET/AF_INET6/AF_UNIX (netlink, packet, ...), ioctl other than
 * FIONBIO/FIONREAD/FIOCLEX/FIONCLEX, kexec, bpf, perf_event_open, keyctl,
 * init/delete_module, reboot, swapon, chown family, link/symlink, mknod,
 * kill (except signals to itself), unshare/setns, userfaultfd, io_uring.
 * clone3 fails with ENOSYS so glibc falls back to clone, whose flags can be
 * checked (clone3 passes them in memory, out of seccomp's reach).
 *
 * Sanitizer builds (ASan/LSan) also get what the runtime needs at exit: the
 * leak checker stops the world with a ptrace'ing helper task. */
#define _GNU_SOURCE /* CLONE_THREAD and the rest of <sched.h> */
#include "platforms/sandbox.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef CLONE_THREAD
#define CLONE_THREAD 0x00010000
#endif

#if defined(__SANITIZE_ADDRESS__)
#define CK_SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define CK_SANDBOX_SANITIZER 1
#endif
#endif

/* System calls allowed without argument checks. Names the running
 * architecture lacks (open, stat, ... on arm64) are skipped. */
/* clang-format off */
static const char *const k_allow[] = {
    /* file descriptors and files (outbox, link state, TLS trust files) */
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv",
    "pwritev", "close", "close_range", "openat", "open", "fstat", "stat",
    "lstat", "newfstatat", "statx", "fstatfs", "statfs", "lseek", "access",
    "faccessat", "faccessat2", "readlink", "readlinkat", "getdents64",
    "getdents", "rename", "renameat", "renameat2", "unlink", "unlinkat",
    "mkdir", "mkdirat", "fsync", "fdatasync", "fchmod", "chmod", "fchmodat",
    "ftruncate", "flock", "fcntl", "dup", "dup2", "dup3", "pipe", "pipe2",
    "eventfd", "eventfd2", "umask", "getcwd",
    /* event loop */
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
    "epoll_pwait2", "poll", "ppoll", "select", "pselect6",
    /* sockets as a client (socket() itself is checked below) */
    "connect", "getsockopt", "setsockopt", "getsockname", "getpeername",
    "shutdown", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg",
    "recvmmsg",
    /* memory */
    "mmap", "munmap", "mprotect", "mremap", "brk", "madvise",
    /* threads (the libuv pool) and synchronisation */
    "futex", "set_robust_list", "get_robust_list", "set_tid_address", "rseq",
    "sched_yield", "sched_getaffinity", "membarrier",
    /* time */
    "clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep",
    "clock_nanosleep",
    /* signals */
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
    "restart_syscall",
    /* identity and limits (read-only) */
    "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid",
    "getresuid", "getresgid", "getgroups", "uname", "sysinfo", "prlimit64",
    "getrlimit", "getrusage", "getrandom",
    /* leaving */
    "exit", "exit_group",
#ifdef CK_SANDBOX_SANITIZER
    /* LeakSanitizer at exit: a helper task ptrace-stops the threads */
    "ptrace", "wait4", "waitid", "kill", "tgkill", "tkill", "prctl", "clone",
    "sched_setaffinity",
#endif
};
/* clang-format on */

/* Allowed prctl options (reading process attributes and naming threads). */
static const int k_prctl[] = {PR_GET_DUMPABLE, PR_GET_NAME, PR_SET_NAME,
                              PR_GET_NO_NEW_PRIVS, PR_GET_SECCOMP};

/* Allowed socket families. */
static const int k_families[] = {AF_UNIX, AF_INET, AF_INET6};

/* Allowed ioctls: non-blocking and close-on-exec flags (libuv), bytes
 * readable. */
static const unsigned long k_ioctls[] = {FIONBIO, FIONREAD, FIOCLEX, FIONCLEX};

/* Adds one rule; a name unknown on this architecture is skipped. */
static int allow(scmp_filter_ctx ctx, const char *name, unsigned n,
                 const struct scmp_arg_cmp *cmp) {
  int nr = seccomp_syscall_resolve_name(name);

  if (nr < 0) /* __NR_SCMP_ERROR or a pseudo number: not on this arch */
    return 0;
  return n ? seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n, cmp)
           : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
}

/* One argument comparison; the SCMP_A* macros leave fields to the compiler
 * (clang's -Wmissing-field-initializers), so fill the struct explicitly. */
static struct scmp_arg_cmp arg_cmp(unsigned arg, enum scmp_compare op,
                                   scmp_datum_t a, scmp_datum_t b) {
  struct scmp_arg_cmp c;
  memset(&c, 0, sizeof c);
  c.arg = arg;
  c.op = op;
  c.datum_a = a;
  c.datum_b = b;
  return c;
}

static int build_rules(scmp_filter_ctx ctx, const char **failed) {
  struct scmp_arg_cmp cmp;
  int r, nr;
  pid_t pid = getpid();

  for (size_t i = 0; i < sizeof k_allow / sizeof k_allow[0]; i++)
    if ((r = allow(ctx, k_allow[i], 0, NULL)) < 0) {
      *failed = k_allow[i];
      return r;
    }
  for (size_t i = 0; i < sizeof k_families / sizeof k_families[0]; i++) {
    cmp = arg_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)k_families[i], 0);
    if ((r = allow(ctx, "socket", 1, &cmp)) < 0 ||
        (k_families[i] == AF_UNIX &&
         (r = allow(ctx, "socketpair", 1, &cmp)) < 0)) {
      *failed = "socket";
      return r;
    }
  }
  for (size_t i = 0; i < sizeof k_ioctls / sizeof k_ioctls[0]; i++) {
    /* the request is an int in the kernel: compare the low 32 bits */
    cmp = arg_cmp(1, SCMP_CMP_MASKED_EQ, 0xffffffffu,
                  (scmp_datum_t)k_ioctls[i]);
    if ((r = allow(ctx, "ioctl", 1, &cmp)) < 0) {
      *failed = "ioctl";
      return r;
    }
  }
#ifndef CK_SANDBOX_SANITIZER
  for (size_t i = 0; i < sizeof k_prctl / sizeof k_prctl[0]; i++) {
    cmp = arg_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)k_prctl[i], 0);
    if ((r = allow(ctx, "prctl", 1, &cmp)) < 0) {
      *failed = "prctl";
      return r;
    }
  }
  /* threads only: a clone without CLONE_THREAD would be a new process */
  cmp = arg_cmp(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
  if ((r = allow(ctx, "clone", 1, &cmp)) < 0) {
    *failed = "clone";
    return r;
  }
  /* signals to itself only (abort(), raise()) */
  cmp = arg_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)pid, 0);
  if ((r = allow(ctx, "tgkill", 1, &cmp)) < 0 ||
      (r = allow(ctx, "kill", 1, &cmp)) < 0) {
    *failed = "tgkill";
    return r;
  }
#else
  (void)k_prctl;
  (void)pid;
#endif
  /* glibc's pthread_create falls back to clone on ENOSYS */
  if ((nr = seccomp_syscall_resolve_name("clone3")) >= 0 &&
      (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0)) < 0) {
    *failed = "clone3";
    return r;
  }
  return 0;
}

ck_err ck_sandbox_enter_net(ck_errctx *err) {
  scmp_filter_ctx ctx = NULL;
  const char *failed = "";
  ck_err rc = CK_OK;
  int r;

  /* no_new_privs: execve could no longer gain privileges anyway, and it is
   * what lets an unprivileged process install a filter */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return ck_failf(err, CK_ERR_PERM, "sandbox: PR_SET_NO_NEW_PRIVS: %s",
                    strerror(errno));
  if ((ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM))) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "sandbox: seccomp_init failed");
  /* threads started before this call (the libuv pool) get the filter too */
  if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0) {
    rc = ck_failf(err, CK_ERR_UNSUPPORTED, "sandbox: seccomp TSYNC: %s",
                  strerror(-r));
    goto out;
  }
  if ((r = build_rules(ctx, &failed)) < 0) {
    rc = ck_failf(err, CK_ERR_INTERNAL, "sandbox: seccomp rule for %s: %s",
                  failed, strerror(-r));
    goto out;
  }
  if ((r = seccomp_load(ctx)) < 0) {
    rc = ck_failf(err, r == -EINVAL ? CK_ERR_UNSUPPORTED : CK_ERR_PERM,
                  "sandbox: loading the seccomp filter: %s", strerror(-r));
    goto out;
  }
out:
  seccomp_release(ctx);
  return rc;
}
