/* hostfacts.h — the facts an agent reports about its host (ck_wire_host,
 * docs/protocol.md): host name, OS, architecture and machine id, read once,
 * plus the set of hardware key stores present (TPMs, smart-card readers),
 * kept up to date from platforms/hwkeys.h reports.
 *
 * Used by `enroll` (agent/link/enroll.c: the enroll message's host) and by
 * the priv worker (agent/run/priv.c: the `host` map of inventories). */
#ifndef CK_AGENT_LINK_HOSTFACTS_H
#define CK_AGENT_LINK_HOSTFACTS_H

#include <stddef.h>

#include "common/util/err.h"
#include "common/wire/wire.h"

/* Most hardware key stores kept; more are refused (CK_ERR_LIMIT). */
#define CK_HOSTFACTS_MAX_HWKEYS 64u
/* Longest "kind:name" entry in bytes; longer ones are cut. */
#define CK_HOSTFACTS_HWKEY_MAX 200u

/* One hardware key store present. */
typedef struct ck_hostfacts_key {
  char *devpath; /* kernel device path: the identity across add/remove */
  char *entry;   /* "tpm:tpm0", "smartcard-reader:<name or devpath>" */
} ck_hostfacts_key;

typedef struct ck_hostfacts {
  char hostname[256];     /* name given, else gethostname(), else "localhost" */
  char os_version[65];    /* uname release, "" unknown */
  char arch[65];          /* uname machine, "" unknown */
  char machine_id[129];   /* ck_platform_machine_id, "" unknown */
  ck_hostfacts_key *keys; /* n_keys entries (malloc'ed), arrival order */
  size_t n_keys;
  const char **sorted; /* the entries sorted (point into keys), for the wire;
                          NULL when none */
} ck_hostfacts;

/* Fills hf with this host's facts (hf is overwritten, not freed: call on a
 * zeroed or freed one); name overrides the host name when non-NULL and not
 * "". Never fails: unknown facts are "". No hardware key stores yet. */
void ck_hostfacts_read(ck_hostfacts *hf, const char *name);

/* Applies one report of platforms/hwkeys.h (kind "tpm" or
 * "smartcard-reader"; action "present", "add" or "remove"; devpath and name
 * as given there; the entry is "kind:name", or "kind:devpath" without a
 * name, reduced to printable ASCII). *changed is set to 1 when the set of
 * entries changed (a repeated add, or the remove of an unknown device,
 * changes nothing). Errors: CK_ERR_INVAL (NULL or empty kind/devpath,
 * unknown action), CK_ERR_LIMIT (already CK_HOSTFACTS_MAX_HWKEYS stores),
 * CK_ERR_NOMEM. */
ck_err ck_hostfacts_hwkey(ck_hostfacts *hf, const char *kind,
                          const char *action, const char *devpath,
                          const char *name, int *changed, ck_errctx *err);

/* Points the fields of *h at hf (borrowed: valid until hf changes or is
 * freed); optional facts that are "" are left absent, an unknown arch is
 * "unknown"; hwkeys are sorted. */
void ck_hostfacts_wire(const ck_hostfacts *hf, ck_wire_host *h);

/* Frees the hardware key set (the fixed facts stay). NULL is a no-op. */
void ck_hostfacts_free(ck_hostfacts *hf);

#endif
