/* assign.h — managed certificates assigned by the coordinator (priv only).
 *
 * Besides the [cert:ID] sections of the agent's own configuration, the
 * coordinator can assign managed certificates with `command config`: its
 * data is an INI text holding only [cert:ID] sections with the same keys
 * (docs/configuration.md "Agent"). The text replaces the whole previous
 * assignment:
 *
 *   check    parsed and validated by ck_agentconf_load_certs (messages
 *            "assigned.conf:LINE: [cert:ID] key: what"); an id that the
 *            local configuration declares, or a cert_file/key_file that a
 *            local certificate uses, is refused (the local file wins).
 *            Any error: nothing is written, nothing changes.
 *   store    written atomically, mode 0600, to state_dir/assigned.conf
 *   apply    ids new to the assignment are added to the running set
 *            (ck_managed_add: they start at once); ids no longer assigned
 *            are removed (ck_managed_remove: no longer renewed, their files
 *            are kept); an id whose settings changed is removed and added.
 *
 * At start-up priv reads state_dir/assigned.conf (ck_assign_start); an
 * unreadable file or a section whose id the local configuration now
 * declares is logged and skipped, never fatal. */
#ifndef CK_AGENT_RUN_ASSIGN_H
#define CK_AGENT_RUN_ASSIGN_H

#include <stddef.h>

#include "agent/manage/managed.h"
#include "agent/run/agentconf.h"
#include "common/util/err.h"
#include "common/wire/wire.h"

#define CK_ASSIGN_FILE "assigned.conf"
#define CK_ASSIGN_MAX (256u * 1024u) /* the coordinator's data limit */

typedef struct ck_assign ck_assign;

/* Loads state_dir/assigned.conf into *out (caller owns,
 * ck_agentconf_free); *out is NULL and CK_OK when there is none. For
 * `status` and ck_assign_start. Errors: CK_ERR_CONFIG (file:line), I/O. */
ck_err ck_assign_load(const char *state_dir, ck_agentconf **out,
                      ck_errctx *err);

/* Start-up (after the local [cert:ID] were added to ms, before
 * ck_managed_set_start): adds the assigned certificates of
 * cfg->state_dir/assigned.conf to ms. cfg and ms are borrowed and must
 * outlive *out (caller owns, ck_assign_free). Problems with the file are
 * logged, not returned; errors: CK_ERR_NOMEM only. */
ck_err ck_assign_start(const ck_agentconf *cfg, ck_managed_set *ms,
                       ck_assign **out, ck_errctx *err);

/* `command config` (c borrowed): checks, stores and applies c->data as
 * above. On success detail (size n) says what changed, e.g.
 * "2 assigned: added api; removed old; unchanged web". Errors:
 * CK_ERR_INVAL (no data, a NUL byte, args given), CK_ERR_CONFIG
 * (file:line), CK_ERR_EXIST (collides with the local configuration),
 * CK_ERR_LIMIT (too large), write errors; a failed ck_managed_add after
 * the file was stored is returned too (the others are applied). */
ck_err ck_assign_command(ck_assign *a, const ck_wire_command *c,
                         char *detail, size_t n, ck_errctx *err);

/* 1 when the managed certificate id was assigned by the coordinator (and
 * is running), 0 otherwise. */
int ck_assign_has(const ck_assign *a, const char *id);

/* Fills out from an [cert:ID] (pointers borrowed from c). */
void ck_assign_conf_of(const ck_agentconf_cert *c, ck_managed_conf *out);

/* Frees a (not the set). NULL is a no-op. */
void ck_assign_free(ck_assign *a);

#endif
