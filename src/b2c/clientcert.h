/*
 * clientcert.h - the responder's own check of the client certificate that the
 * web server verified (defence in depth, fail closed): SSL_CLIENT_VERIFY,
 * SHA-1 thumbprint allow-list, validity dates, optional subject/issuer.
 */
#ifndef B2CAUTHY_CLIENTCERT_H
#define B2CAUTHY_CLIENTCERT_H

#include <stddef.h>
#include <time.h>

#include "status.h"

struct config;
struct request;

/* FastCGI params set by nginx (fastcgi_param) or Apache (SSLOptions +StdEnvVars +ExportCertData).
 */
#define CLIENTCERT_P_VERIFY "SSL_CLIENT_VERIFY"
#define CLIENTCERT_P_FINGERPRINT "SSL_CLIENT_FINGERPRINT"
#define CLIENTCERT_P_CERT "SSL_CLIENT_CERT"
#define CLIENTCERT_P_S_DN "SSL_CLIENT_S_DN"
#define CLIENTCERT_P_I_DN "SSL_CLIENT_I_DN"
#define CLIENTCERT_P_V_START "SSL_CLIENT_V_START"
#define CLIENTCERT_P_V_END "SSL_CLIENT_V_END"
#define CLIENTCERT_VERIFY_OK "SUCCESS"

/*
 * clientcert_check - decide whether the request carries an acceptable client
 * certificate, at time now. Rules (all must hold):
 *  - SSL_CLIENT_VERIFY is exactly "SUCCESS";
 *  - a thumbprint is known: computed from SSL_CLIENT_CERT (PEM, URL-escaped or
 *    not) when present, else SSL_CLIENT_FINGERPRINT (40 hex, any case, ':'
 *    separators tolerated); when both are present they must agree;
 *  - the thumbprint is in cfg->thumbprints (constant-time compare, case-insensitive);
 *  - now lies within notBefore..notAfter, from the certificate, or else from
 *    SSL_CLIENT_V_START/V_END: a fingerprint without the certificate needs
 *    both dates unless cfg->cert_allow_no_dates (then the dates present are
 *    checked);
 *  - subject/issuer equal cfg->cert_subject/cert_issuer when those are set.
 * When cfg->client_cert_check is false it returns STATUS_OK at once.
 * Returns STATUS_OK or STATUS_FORBIDDEN with the reason in err (no cert data in
 * it beyond the thumbprint). Thread-safe.
 */
enum status clientcert_check(const struct request *req, const struct config *cfg, time_t now,
                             char *err, size_t errlen);

#endif
