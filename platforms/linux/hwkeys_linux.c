/* hwkeys_linux.c — TPMs and smart-card readers from libudev.
 *
 * At start the udev monitor is opened first (so nothing is missed between the
 * enumeration and the monitor), its descriptor is polled by the loop, and a
 * zero-delay timer runs the enumeration from the loop, reporting "present".
 * Afterwards each udev add/remove event of a matching device is reported.
 * Matching devices: subsystems "tpm" and "tpmrm" (kind "tpm"), and USB
 * interfaces of class 0x0b, Chip/SmartCard (kind "smartcard-reader"). The
 * class is read from the INTERFACE=class/subclass/protocol property, present
 * on remove events too, with the bInterfaceClass attribute as a fallback.
 * Nothing runs while no device comes or goes. */
#include "platforms/hwkeys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libudev.h>

struct ck_hwkeys {
  ck_hwkeys_cb cb;
  void *arg;
  struct udev *udev;
  struct udev_monitor *mon;
  uv_poll_t poll;   /* the monitor's socket */
  uv_timer_t timer; /* one-shot: the start-up enumeration */
  int open_handles; /* freed when both handles are closed */
  int stopped;      /* ck_hwkeys_stop called */
};

/* The kind of a matching device, NULL for any other. */
static const char *device_kind(struct udev_device *dev) {
  const char *sub = udev_device_get_subsystem(dev);
  const char *devtype, *iface, *cls;

  if (sub == NULL)
    return NULL;
  if (strcmp(sub, "tpm") == 0 || strcmp(sub, "tpmrm") == 0)
    return "tpm";
  if (strcmp(sub, "usb") != 0)
    return NULL;
  devtype = udev_device_get_devtype(dev);
  if (devtype == NULL || strcmp(devtype, "usb_interface") != 0)
    return NULL;
  iface = udev_device_get_property_value(dev, "INTERFACE");
  if (iface != NULL) /* decimal class/subclass/protocol */
    return strncmp(iface, "11/", 3) == 0 ? "smartcard-reader" : NULL;
  cls = udev_device_get_sysattr_value(dev, "bInterfaceClass");
  if (cls != NULL && strcmp(cls, "0b") == 0)
    return "smartcard-reader";
  return NULL;
}

/* A human name for dev into buf: a reader's "manufacturer product" from its
 * USB device (or the udev model properties), otherwise the sysfs name. */
static const char *device_name(struct udev_device *dev, const char *kind,
                               char *buf, size_t size) {
  const char *sys = udev_device_get_sysname(dev);
  const char *man = NULL, *prod = NULL;
  struct udev_device *usb;

  if (strcmp(kind, "smartcard-reader") == 0) {
    /* the parent is owned by dev: not unref'ed */
    usb =
        udev_device_get_parent_with_subsystem_devtype(dev, "usb", "usb_device");
    if (usb != NULL) {
      man = udev_device_get_sysattr_value(usb, "manufacturer");
      prod = udev_device_get_sysattr_value(usb, "product");
    }
    if (prod == NULL) {
      man = udev_device_get_property_value(dev, "ID_VENDOR");
      prod = udev_device_get_property_value(dev, "ID_MODEL");
    }
    if (prod != NULL) {
      snprintf(buf, size, "%s%s%s", man ? man : "", man ? " " : "", prod);
      return buf;
    }
  }
  snprintf(buf, size, "%s", sys ? sys : "?");
  return buf;
}

static void report(ck_hwkeys *h, struct udev_device *dev, const char *action) {
  const char *kind = device_kind(dev);
  const char *devpath = udev_device_get_devpath(dev);
  char name[256];

  if (kind == NULL || h->stopped)
    return;
  h->cb(kind, action, devpath ? devpath : "",
        device_name(dev, kind, name, sizeof name), h->arg);
}

/* Reports the devices of subsystem, narrowed to those whose sysattr attr
 * equals value when attr is not NULL. */
static void enumerate_subsystem(ck_hwkeys *h, const char *subsystem,
                                const char *attr, const char *value) {
  struct udev_enumerate *en = udev_enumerate_new(h->udev);
  struct udev_list_entry *e;

  if (en == NULL)
    return;
  if (udev_enumerate_add_match_subsystem(en, subsystem) < 0 ||
      (attr != NULL && udev_enumerate_add_match_sysattr(en, attr, value) < 0) ||
      udev_enumerate_scan_devices(en) < 0) {
    udev_enumerate_unref(en);
    return;
  }
  udev_list_entry_foreach(e, udev_enumerate_get_list_entry(en)) {
    struct udev_device *dev;

    if (h->stopped)
      break;
    dev = udev_device_new_from_syspath(h->udev, udev_list_entry_get_name(e));
    if (dev == NULL)
      continue; /* went away meanwhile */
    report(h, dev, "present");
    udev_device_unref(dev);
  }
  udev_enumerate_unref(en);
}

static void on_enumerate(uv_timer_t *t) {
  ck_hwkeys *h = t->data;

  enumerate_subsystem(h, "tpm", NULL, NULL);
  enumerate_subsystem(h, "tpmrm", NULL, NULL);
  enumerate_subsystem(h, "usb", "bInterfaceClass", "0b");
}

static void on_monitor(uv_poll_t *p, int status, int events) {
  ck_hwkeys *h = p->data;
  struct udev_device *dev;
  const char *action;

  if (status < 0)
    return;
  /* bounded: at most a burst's worth per wake-up; the rest stays readable */
  for (int i = 0; i < 64 && !h->stopped; i++) {
    if ((dev = udev_monitor_receive_device(h->mon)) == NULL)
      break;
    action = udev_device_get_action(dev);
    if (action != NULL &&
        (strcmp(action, "add") == 0 || strcmp(action, "remove") == 0))
      report(h, dev, action);
    udev_device_unref(dev);
  }
}

static void on_closed(uv_handle_t *hd) {
  ck_hwkeys *h = hd->data;

  if (--h->open_handles > 0)
    return;
  udev_monitor_unref(h->mon);
  udev_unref(h->udev);
  free(h);
}

ck_err ck_hwkeys_start(uv_loop_t *loop, ck_hwkeys_cb cb, void *arg,
                       ck_hwkeys **out, ck_errctx *err) {
  ck_hwkeys *h = NULL;
  ck_err rc = CK_OK;
  int fd, r;

  *out = NULL;
  if (loop == NULL || cb == NULL)
    return ck_failf(err, CK_ERR_INVAL, "hwkeys: loop and callback required");
  if ((h = calloc(1, sizeof *h)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "hwkeys: out of memory");
  h->cb = cb;
  h->arg = arg;
  if ((h->udev = udev_new()) == NULL) {
    rc = ck_failf(err, CK_ERR_IO, "hwkeys: udev_new failed");
    goto out;
  }
  h->mon = udev_monitor_new_from_netlink(h->udev, "udev");
  if (h->mon == NULL) {
    rc = ck_failf(err, CK_ERR_IO,
                  "hwkeys: cannot open the udev monitor (netlink): %s",
                  strerror(errno));
    goto out;
  }
  if (udev_monitor_filter_add_match_subsystem_devtype(h->mon, "tpm", NULL) <
          0 ||
      udev_monitor_filter_add_match_subsystem_devtype(h->mon, "tpmrm", NULL) <
          0 ||
      udev_monitor_filter_add_match_subsystem_devtype(h->mon, "usb",
                                                      "usb_interface") < 0 ||
      (r = udev_monitor_enable_receiving(h->mon)) < 0) {
    rc = ck_failf(err, CK_ERR_IO, "hwkeys: cannot start the udev monitor");
    goto out;
  }
  fd = udev_monitor_get_fd(h->mon); /* non-blocking, close-on-exec */
  if ((r = uv_poll_init(loop, &h->poll, fd)) < 0) {
    rc = ck_failf(err, CK_ERR_IO, "hwkeys: uv_poll_init: %s", uv_strerror(r));
    goto out;
  }
  uv_timer_init(loop, &h->timer);
  h->poll.data = h->timer.data = h;
  h->open_handles = 2;
  if ((r = uv_poll_start(&h->poll, UV_READABLE, on_monitor)) < 0) {
    ck_failf(err, CK_ERR_IO, "hwkeys: uv_poll_start: %s", uv_strerror(r));
    ck_hwkeys_stop(h); /* frees h in the close callbacks */
    return CK_ERR_IO;
  }
  uv_timer_start(&h->timer, on_enumerate, 0, 0);
  *out = h;
  h = NULL;
out:
  if (h != NULL) {
    udev_monitor_unref(h->mon); /* NULL-safe */
    udev_unref(h->udev);
    free(h);
  }
  return rc;
}

void ck_hwkeys_stop(ck_hwkeys *h) {
  if (h == NULL || h->stopped)
    return;
  h->stopped = 1;
  uv_close((uv_handle_t *)&h->poll, on_closed);
  uv_close((uv_handle_t *)&h->timer, on_closed);
}
