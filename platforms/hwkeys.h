/* hwkeys.h — hardware key stores appearing and leaving (host facts).
 *
 * Reports TPMs ("tpm": kernel subsystems tpm and tpmrm, so one chip usually
 * shows as tpm0 and tpmrm0) and smart-card readers ("smartcard-reader": USB
 * interfaces of class 0x0b, CCID). On Linux this is libudev: an enumeration
 * at start, then the udev monitor for hotplug. Other platforms return
 * CK_ERR_UNSUPPORTED. */
#ifndef CK_PLATFORM_HWKEYS_H
#define CK_PLATFORM_HWKEYS_H

#include <uv.h>

#include "common/util/err.h"

typedef struct ck_hwkeys ck_hwkeys;

/* Called on the loop thread. kind: "tpm" or "smartcard-reader"; action:
 * "present" (found by the start-up enumeration), "add" or "remove";
 * devpath: the kernel device path, stable between add and remove
 * ("/devices/platform/.../tpm/tpm0"); name: a human name ("tpm0", or a
 * reader's "manufacturer product" when known, else its sysfs name). All
 * strings are borrowed for the duration of the call. */
typedef void (*ck_hwkeys_cb)(const char *kind, const char *action,
                             const char *devpath, const char *name, void *arg);

/* Starts the monitor on loop, then schedules the enumeration: the "present"
 * reports arrive from the loop shortly after this returns, never from within
 * it. *out is owned by the caller and released with ck_hwkeys_stop.
 * CK_ERR_UNSUPPORTED where the platform has no device manager, CK_ERR_IO when
 * the monitor cannot be created. */
ck_err ck_hwkeys_start(uv_loop_t *loop, ck_hwkeys_cb cb, void *arg,
                       ck_hwkeys **out, ck_errctx *err);

/* Stops monitoring and frees h asynchronously; no callback after this call.
 * NULL is a no-op. */
void ck_hwkeys_stop(ck_hwkeys *h);

#endif
