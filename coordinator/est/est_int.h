/* est_int.h — internals shared by the files of coordinator/est/: the
 * authenticated requester (auth.c) and the refusal helper every decision
 * uses (enroll.c). */
#ifndef CK_COORD_EST_EST_INT_H
#define CK_COORD_EST_EST_INT_H

#include "coordinator/est/est.h"

typedef enum ck__estd_auth {
  CK__ESTD_AUTH_SECRET = 1, /* HTTP Basic, fleet secret */
  CK__ESTD_AUTH_OTP,        /* HTTP Basic, one-time device password */
  CK__ESTD_AUTH_REENROLL,   /* TLS client certificate we issued over EST */
  CK__ESTD_AUTH_IDEVID,     /* TLS client certificate from the fleet's
                              manufacturer anchor */
} ck__estd_auth;

/* Who is asking, once authenticated. */
typedef struct ck__estd_who {
  ck__estd_auth kind;
  ck_estd_fleet fleet;            /* owned (ck__estd_who_clear) */
  char device[CK_STORE_NAME_MAX]; /* device id: OTP device, IDevID serial,
                                     the renewed certificate's device */
  ck_estd_otp otp;                /* CK__ESTD_AUTH_OTP: the password's record */
  int otp_pending;                /* OTP already consumed by a request that
                                     waits for approval, for this very CSR:
                                     the device collects its result */
  char renews[CK_SHA256_HEX_LEN]; /* REENROLL: fingerprint being renewed */
  ck_cert *presented;             /* REENROLL / IDEVID: parsed client cert */
} ck__estd_who;

/* Returns "secret", "otp", "reenroll", "idevid" (static). */
const char *ck__estd_auth_name(ck__estd_auth k);

/* Authenticates in's requester for in->op. Returns 1 with *who filled
 * (clear it), or 0 with out's status (401/403/404/500) and message set
 * (the caller logs and audits the refusal). */
int ck__estd_authenticate(ck_coord_rt *rt, const ck_estd_req *in,
                          ck__estd_who *who, ck_estd_result *out);

void ck__estd_who_clear(ck__estd_who *who);

/* SHA-256 (hex) of the CSR's DER: binds a one-time password to the
 * request it paid for while that waits for approval. */
ck_err ck__estd_csr_digest(const ck_csr *csr, char out[CK_SHA256_HEX_LEN]);

/* Sets out to a refusal: status, message (printf). */
void ck__estd_refuse(ck_estd_result *out, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
