/* notice.h — what a notice says: the email (subject and plain-text body)
 * and the webhook JSON built from a delivery document ("sched.delivery",
 * written by notice.c). Pure functions of the document and the time: no
 * store, no network (docs/notices.md "What a notice says"). */
#ifndef CK_COORD_SCHED_NOTICE_H
#define CK_COORD_SCHED_NOTICE_H

#include <jansson.h>
#include <stdint.h>

/* Renders the email of delivery doc (parsed) at time now: *subject and
 * *body are malloc'ed (caller frees). Returns 0 on success, -1 on OOM or a
 * document without items. */
int ck_notice_email(const json_t *doc, int64_t now, char **subject,
                    char **body);

/* Renders the webhook body: {"type": "certkeeper.notice", "delivery": id,
 * "owner", "digest", "created_at", "certificates": [...]}, compact JSON,
 * malloc'ed; NULL on OOM. Days left are counted from the delivery's
 * creation, so every retry of a delivery sends the same bytes. */
char *ck_notice_webhook(const json_t *doc, const char *delivery_id);

#endif
