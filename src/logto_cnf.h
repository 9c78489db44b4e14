/*
 * logto_cnf.h - the confirmation claim of an access token (RFC 7800):
 * what a sender-constrained token is bound to, a DPoP key (RFC 9449
 * section 6) or a TLS client certificate (RFC 8705 section 3).
 */
#ifndef LOGTO_CNF_H
#define LOGTO_CNF_H

#include <apr_pools.h>
#include <jansson.h>

#include "logto_err.h"

typedef struct logto_cnf_t {
    const char *jkt;      /* RFC 7638 thumbprint of the DPoP key, or NULL */
    const char *x5t_s256; /* SHA-256 thumbprint of the certificate, or NULL */
} logto_cnf_t;

/* Read the cnf claim of a verified payload into *cnf (pointers into
 * payload). No cnf: both NULL. Fails with LOGTO_ERR_CNF when cnf is not
 * an object, when jkt or x5t#S256 is not a non-empty string, or when it
 * holds no confirmation method this module can check (jwk, jwe, kid,
 * jku, ...): such a token is bound to something, so it is never taken as
 * a bearer token. */
apr_status_t logto_cnf_read(logto_cnf_t *cnf, const json_t *payload,
                            logto_err_t *err);

/* The x5t#S256 of a certificate: base64url of the SHA-256 of its DER.
 * pem holds the PEM text of one certificate (as mod_ssl's
 * SSL_CLIENT_CERT gives it). *ptp from p. Fails with
 * LOGTO_ERR_CERT_BINDING when pem is not a certificate. */
apr_status_t logto_cert_thumbprint(const char **ptp, apr_pool_t *p,
                                   const char *pem, logto_err_t *err);

#endif /* LOGTO_CNF_H */
