/* run.c — the supervisor (see run.h): signals are blocked and taken with
 * sigwaitinfo (sigtimedwait only while a restart or a SIGKILL is due), so
 * the whole life of the process is one small loop with no handlers, no
 * event loop, no periodic wake-up and no allocation after start-up. */
#include "agent/run/run.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/run/agentconf.h"
#include "agent/run/net.h"
#include "agent/run/priv.h"
#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/log_config.h"
#include "platforms/notify.h"
#include "platforms/platform.h"

#define CK_RUN_BACKOFF_MAX_MS 60000u
#define CK_RUN_STABLE_MS 60000u
#define CK_RUN_KILL_AFTER_MS 10000u

typedef struct ck__sup {
  ck_agentconf *cfg;      /* owned; replaced by a SIGHUP reload */
  pid_t priv, net;
  uint64_t started_ms;   /* when the workers were last started */
  unsigned backoff_ms;   /* next restart delay */
  uint64_t restart_at;   /* mono ms of the pending restart, 0 none */
  uint64_t kill_at;      /* mono ms to SIGKILL stragglers, 0 none */
  int stopping;
  int reloading;         /* SIGHUP: restart the workers at once */
  int notified;          /* READY=1 sent to the service manager */
} ck__sup;

/* Child side of a fork: default signal state, then the worker. */
static void ck__sup_child(const ck_agentconf *cfg, int keep, int drop,
                          int is_priv) {
  sigset_t none;

  sigemptyset(&none);
  signal(SIGCHLD, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  sigprocmask(SIG_SETMASK, &none, NULL);
  close(drop);
  _exit(is_priv ? ck_priv_main(cfg, keep) : ck_net_main(cfg, keep));
}

static int ck__sup_start(ck__sup *s) {
  int sv[2];
  pid_t p;

  fflush(NULL); /* nothing buffered is written twice by the children */
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "agent.run.socketpair",
           CK_S("msg", strerror(errno)));
    return -1;
  }
  p = fork();
  if (p == 0)
    ck__sup_child(s->cfg, sv[0], sv[1], 1);
  s->priv = p > 0 ? p : 0;
  if (p > 0) {
    p = fork();
    if (p == 0)
      ck__sup_child(s->cfg, sv[1], sv[0], 0);
    s->net = p > 0 ? p : 0;
  }
  close(sv[0]);
  close(sv[1]);
  if (s->priv == 0 || s->net == 0) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "agent.run.fork",
           CK_S("msg", strerror(errno)));
    if (s->priv > 0)
      kill(s->priv, SIGTERM);
    return -1;
  }
  s->started_ms = ck_clock_mono_ms();
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "agent.run.workers", CK_I("priv", s->priv),
         CK_I("net", s->net));
  if (!s->notified || s->reloading) /* Type=notify (docs/install.md) */
    (void)ck_notify("READY=1");
  s->notified = 1;
  s->reloading = 0;
  return 0;
}

static void ck__sup_signal_both(const ck__sup *s, int sig) {
  if (s->priv > 0)
    kill(s->priv, sig);
  if (s->net > 0)
    kill(s->net, sig);
}

/* Reaps dead children; a worker's death stops the other and schedules a
 * restart. */
static void ck__sup_reap(ck__sup *s) {
  int st;
  pid_t p;

  while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
    const char *who = p == s->priv ? "priv" : p == s->net ? "net" : NULL;

    if (who == NULL)
      continue;
    if (p == s->priv)
      s->priv = 0;
    else
      s->net = 0;
    if (!s->stopping && !s->reloading)
      ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.run.worker_exit",
             CK_S("worker", who),
             CK_I("status", WIFEXITED(st) ? WEXITSTATUS(st) : -1),
             CK_I("signal", WIFSIGNALED(st) ? WTERMSIG(st) : 0));
    if (!s->stopping && (s->priv > 0 || s->net > 0)) {
      ck__sup_signal_both(s, SIGTERM);
      s->kill_at = ck_clock_mono_ms() + CK_RUN_KILL_AFTER_MS;
    }
  }
  if (s->priv == 0 && s->net == 0 && !s->stopping && s->restart_at == 0) {
    uint64_t now = ck_clock_mono_ms();

    s->kill_at = 0;
    if (s->reloading) { /* stopped for a reload: no back-off */
      s->restart_at = now + 1;
      return;
    }
    if (now - s->started_ms >= CK_RUN_STABLE_MS)
      s->backoff_ms = 1000;
    s->restart_at = now + s->backoff_ms;
    ck_log(CK_LOG_OPS, CK_LOG_INFO, "agent.run.restart",
           CK_I("in_ms", s->backoff_ms));
    s->backoff_ms = s->backoff_ms >= CK_RUN_BACKOFF_MAX_MS / 2
                        ? CK_RUN_BACKOFF_MAX_MS
                        : s->backoff_ms * 2;
  }
}

/* SIGHUP: re-reads the configuration file and the [log] section; when both
 * load, the workers are stopped (SIGTERM, as for a restart) and started
 * again at once with the new configuration, so every key takes effect.
 * A file that does not load, or has lost its enrollment, is reported and
 * the running configuration kept (docs/agent.md "Signals"). */
static void ck__sup_reload(ck__sup *s) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_agentconf *next = NULL;

  (void)ck_notify("RELOADING=1");
  if (ck_agentconf_load(s->cfg->path, &next, &err) != CK_OK ||
      (!next->enrolled && next->est_url == NULL &&
       ck_setf(&err, CK_ERR_CONFIG, "%s holds no enrollment",
               next->state_dir) != CK_OK) ||
      ck_log_config_apply(next->raw, &err) != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "agent.run.reload_failed",
           CK_S("msg", ck_errctx_msg(&err)));
    ck_agentconf_free(next);
    (void)ck_notify("READY=1");
    return;
  }
  ck_agentconf_free(s->cfg); /* the workers hold their own (forked) copy */
  s->cfg = next;
  ck_log(CK_LOG_OPS, CK_LOG_NOTICE, "agent.run.reload",
         CK_S("config", s->cfg->path), CK_I("managed", s->cfg->n_certs));
  s->reloading = 1;
  if (s->priv > 0 || s->net > 0) {
    ck__sup_signal_both(s, SIGTERM);
    s->kill_at = ck_clock_mono_ms() + CK_RUN_KILL_AFTER_MS;
  } else if (s->restart_at != 0) {
    s->restart_at = ck_clock_mono_ms() + 1; /* a restart was pending */
  }
}

static int ck__sup_loop(ck__sup *s) {
  sigset_t set;

  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  for (;;) {
    struct timespec ts;
    uint64_t now = ck_clock_mono_ms(), wait_ms = UINT64_MAX;
    siginfo_t si;
    int sig;

    if (s->stopping && s->priv == 0 && s->net == 0)
      return 0;
    if (s->kill_at != 0 && now >= s->kill_at) {
      ck__sup_signal_both(s, SIGKILL);
      s->kill_at = 0;
    }
    if (s->restart_at != 0 && now >= s->restart_at) {
      s->restart_at = 0;
      if (ck__sup_start(s) != 0) {
        s->started_ms = now;
        s->reloading = 0; /* back-off, not an immediate retry */
        ck__sup_reap(s); /* schedules the next attempt */
      }
      continue;
    }
    if (s->restart_at != 0 && s->restart_at - now < wait_ms)
      wait_ms = s->restart_at - now;
    if (s->kill_at != 0 && s->kill_at - now < wait_ms)
      wait_ms = s->kill_at - now;
    if (wait_ms == UINT64_MAX) {
      /* nothing due: sleep until a signal (SIGCHLD stays pending while
       * blocked, so a child's death is never missed) */
      sig = sigwaitinfo(&set, &si);
    } else {
      ts.tv_sec = (time_t)(wait_ms / 1000);
      ts.tv_nsec = (long)(wait_ms % 1000) * 1000000L;
      sig = sigtimedwait(&set, &si, &ts);
    }
    if (sig < 0) {
      ck__sup_reap(s); /* timeout or EINTR */
      continue;
    }
    switch (sig) {
    case SIGCHLD:
      ck__sup_reap(s);
      break;
    case SIGHUP:
      if (!s->stopping)
        ck__sup_reload(s);
      break;
    default: /* SIGTERM, SIGINT */
      if (!s->stopping) {
        ck_log(CK_LOG_OPS, CK_LOG_INFO, "agent.run.stop", CK_I("signal", sig));
        s->stopping = 1;
        s->restart_at = 0;
        (void)ck_notify("STOPPING=1");
        ck__sup_signal_both(s, SIGTERM);
        s->kill_at = ck_clock_mono_ms() + CK_RUN_KILL_AFTER_MS;
      }
      break;
    }
  }
}

static void ck__run_usage(FILE *f) {
  fprintf(f, "usage: certkeeper-agent run [--config FILE]\n"
             "  FILE defaults to " CK_AGENTCONF_DEFAULT_PATH "\n");
}

int ck_run_main(int argc, char **argv) {
  const char *path = NULL;
  ck_agentconf *cfg = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  ck__sup s;
  sigset_t set, old;
  int i, status;

  for (i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      path = argv[++i];
    } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      ck__run_usage(stdout);
      return 0;
    } else {
      fprintf(stderr, "certkeeper-agent run: unknown option or missing "
                      "value: %s\n", argv[i]);
      ck__run_usage(stderr);
      return 2;
    }
  }
  (void)ck_clock_init();
  ck_platform_mem_init(); /* before the forks: the workers inherit it */
  if (ck_agentconf_load(path, &cfg, &err) != CK_OK) {
    fprintf(stderr, "certkeeper-agent run: %s\n", ck_errctx_msg(&err));
    return 1;
  }
  if (ck_log_config_apply(cfg->raw, &err) != CK_OK) {
    fprintf(stderr, "certkeeper-agent run: %s\n", ck_errctx_msg(&err));
    ck_agentconf_free(cfg);
    return 1;
  }
  if (cfg->user != NULL && geteuid() != 0) {
    const struct passwd *pw = getpwnam(cfg->user);

    if (pw == NULL || pw->pw_uid != geteuid()) {
      fprintf(stderr,
              "certkeeper-agent run: [agent] user = %s: switching users needs "
              "root (remove the key to run as the current user)\n",
              cfg->user);
      ck_agentconf_free(cfg);
      return 1;
    }
  }
  if (!cfg->enrolled && cfg->est_url == NULL) { /* [est]: no enrollment */
    fprintf(stderr,
            "certkeeper-agent run: %s holds no enrollment; run "
            "certkeeper-agent enroll first\n",
            cfg->state_dir);
    ck_agentconf_free(cfg);
    return 1;
  }
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, &old);
  memset(&s, 0, sizeof s);
  s.cfg = cfg;
  s.backoff_ms = 1000;
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "agent.run.start", CK_S("config", cfg->path),
         CK_S("server", cfg->server), CK_S("agent", cfg->agent_id),
         CK_I("managed", cfg->n_certs));
  if (ck__sup_start(&s) != 0) {
    s.started_ms = ck_clock_mono_ms();
    ck__sup_reap(&s);
  }
  status = ck__sup_loop(&s);
  sigprocmask(SIG_SETMASK, &old, NULL);
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "agent.run.exit", CK_I("status", status));
  ck_agentconf_free(s.cfg); /* cfg, or its replacement after a SIGHUP */
  return status;
}
