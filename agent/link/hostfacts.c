/* hostfacts.c — host facts for enroll and inventories (hostfacts.h): the
 * fixed facts from gethostname/uname/the platform, and the set of hardware
 * key stores kept from hot-plug reports, sorted for the wire so an
 * unchanged set always encodes the same. */
#include "agent/link/hostfacts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/util/mem.h"
#include "platforms/platform.h"

void ck_hostfacts_read(ck_hostfacts *hf, const char *name) {
  struct utsname un;

  memset(hf, 0, sizeof *hf);
  if (name != NULL && name[0] != '\0')
    ck_strlcpy(hf->hostname, name, sizeof hf->hostname);
  else if (gethostname(hf->hostname, sizeof hf->hostname) != 0 ||
           hf->hostname[0] == '\0')
    ck_strlcpy(hf->hostname, "localhost", sizeof hf->hostname);
  hf->hostname[sizeof hf->hostname - 1] = '\0';
  if (uname(&un) == 0) {
    ck_strlcpy(hf->os_version, un.release, sizeof hf->os_version);
    ck_strlcpy(hf->arch, un.machine, sizeof hf->arch);
  }
  (void)ck_platform_machine_id(hf->machine_id, sizeof hf->machine_id);
}

/* "kind:name" with anything outside printable ASCII replaced by '?' (USB
 * strings are not always clean) and cut at CK_HOSTFACTS_HWKEY_MAX. */
static char *make_entry(const char *kind, const char *name) {
  size_t kl = strlen(kind), nl = strlen(name), i, n;
  char *e;

  n = kl + 1 + nl;
  if (n > CK_HOSTFACTS_HWKEY_MAX)
    n = CK_HOSTFACTS_HWKEY_MAX;
  if ((e = malloc(n + 1)) == NULL)
    return NULL;
  snprintf(e, n + 1, "%s:%s", kind, name);
  for (i = 0; i < n; i++)
    if ((unsigned char)e[i] < 0x20 || (unsigned char)e[i] > 0x7e)
      e[i] = '?';
  return e;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Rebuilds hf->sorted from hf->keys. */
static ck_err resort(ck_hostfacts *hf, ck_errctx *err) {
  const char **v = NULL;
  size_t i;

  if (hf->n_keys > 0 && (v = malloc(hf->n_keys * sizeof *v)) == NULL) {
    free(hf->sorted); /* never leave pointers to freed entries */
    hf->sorted = NULL;
    return ck_failf(err, CK_ERR_NOMEM, "hostfacts: out of memory");
  }
  for (i = 0; i < hf->n_keys; i++)
    v[i] = hf->keys[i].entry;
  if (hf->n_keys > 1)
    qsort(v, hf->n_keys, sizeof *v, cmp_str);
  free(hf->sorted);
  hf->sorted = v;
  return CK_OK;
}

ck_err ck_hostfacts_hwkey(ck_hostfacts *hf, const char *kind,
                          const char *action, const char *devpath,
                          const char *name, int *changed, ck_errctx *err) {
  ck_hostfacts_key *nv;
  char *entry = NULL, *dp = NULL;
  size_t i;
  ck_err rc;

  *changed = 0;
  if (hf == NULL || kind == NULL || action == NULL || devpath == NULL ||
      kind[0] == '\0' || devpath[0] == '\0')
    return ck_failf(err, CK_ERR_INVAL, "hostfacts: kind and devpath needed");
  for (i = 0; i < hf->n_keys; i++)
    if (strcmp(hf->keys[i].devpath, devpath) == 0)
      break;
  if (strcmp(action, "remove") == 0) {
    if (i == hf->n_keys)
      return CK_OK;
    free(hf->keys[i].devpath);
    free(hf->keys[i].entry);
    memmove(&hf->keys[i], &hf->keys[i + 1],
            (hf->n_keys - i - 1) * sizeof *hf->keys);
    hf->n_keys--;
    *changed = 1;
    return resort(hf, err);
  }
  if (strcmp(action, "add") != 0 && strcmp(action, "present") != 0)
    return ck_failf(err, CK_ERR_INVAL, "hostfacts: unknown action '%s'",
                    action);
  if ((entry = make_entry(
           kind, name != NULL && name[0] != '\0' ? name : devpath)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "hostfacts: out of memory");
  if (i < hf->n_keys) { /* known device: its name may have changed */
    if (strcmp(hf->keys[i].entry, entry) == 0) {
      free(entry);
      return CK_OK;
    }
    free(hf->keys[i].entry);
    hf->keys[i].entry = entry;
    *changed = 1;
    return resort(hf, err);
  }
  if (hf->n_keys >= CK_HOSTFACTS_MAX_HWKEYS) {
    free(entry);
    return ck_failf(err, CK_ERR_LIMIT,
                    "hostfacts: more than %u hardware key stores",
                    CK_HOSTFACTS_MAX_HWKEYS);
  }
  if ((dp = strdup(devpath)) == NULL ||
      (nv = realloc(hf->keys, (hf->n_keys + 1) * sizeof *nv)) == NULL) {
    free(dp);
    free(entry);
    return ck_failf(err, CK_ERR_NOMEM, "hostfacts: out of memory");
  }
  hf->keys = nv;
  hf->keys[hf->n_keys].devpath = dp;
  hf->keys[hf->n_keys].entry = entry;
  hf->n_keys++;
  *changed = 1;
  if ((rc = resort(hf, err)) != CK_OK) {
    /* keep keys and sorted consistent: undo */
    hf->n_keys--;
    free(dp);
    free(entry);
    *changed = 0;
  }
  return rc;
}

void ck_hostfacts_wire(const ck_hostfacts *hf, ck_wire_host *h) {
  memset(h, 0, sizeof *h);
  h->hostname = hf->hostname;
  h->os = ck_platform_name();
  h->os_version = hf->os_version[0] != '\0' ? hf->os_version : NULL;
  h->arch = hf->arch[0] != '\0' ? hf->arch : "unknown";
  h->machine_id = hf->machine_id[0] != '\0' ? hf->machine_id : NULL;
  h->hwkeys.v = hf->sorted;
  h->hwkeys.n = hf->sorted != NULL ? hf->n_keys : 0;
}

void ck_hostfacts_free(ck_hostfacts *hf) {
  size_t i;

  if (hf == NULL)
    return;
  for (i = 0; i < hf->n_keys; i++) {
    free(hf->keys[i].devpath);
    free(hf->keys[i].entry);
  }
  free(hf->keys);
  free(hf->sorted);
  hf->keys = NULL;
  hf->sorted = NULL;
  hf->n_keys = 0;
}
