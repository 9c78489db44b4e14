/*
 * mod_auth_logto_dpop.h - glue: sender-constrained tokens, DPoP proofs
 * (RFC 9449) and certificate-bound tokens (RFC 8705), on top of a token
 * that verified.
 */
#ifndef MOD_AUTH_LOGTO_DPOP_H
#define MOD_AUTH_LOGTO_DPOP_H

#include <jansson.h>

#include "mod_auth_logto.h"

/* register_hooks: mod_ssl's optional functions. */
void logto_dpop_register_hooks(apr_pool_t *p);

/* For a token that verified (rq->claims set): the scheme it came with
 * must be one c accepts; a token bound by cnf.jkt must come with the
 * DPoP scheme and a fresh, matching proof never seen before; a token
 * bound by cnf["x5t#S256"] over TLS with that client certificate.
 * LOGTO_V_VALID, or a refusal with rq->err and rq->description set (and
 * logged). Sets rq->cnf_jkt. */
logto_verdict_t logto_dpop_enforce(request_rec *r, const logto_dir_conf_t *c,
                                   logto_req_t *rq, const char *token,
                                   apr_size_t len);

/* Whether a and b decide alike on sender constraints (an answer made
 * under one serves the other only then). */
int logto_dpop_same_settings(const logto_dir_conf_t *a,
                             const logto_dir_conf_t *b);

/* Set the WWW-Authenticate challenges when the request concerns DPoP
 * (the DPoP scheme was used, a bound token came as bearer, or c
 * requires DPoP): a DPoP challenge with algs, beside the Bearer one
 * unless c requires DPoP. error, desc and scope as for the Bearer
 * challenge. Returns 0, setting nothing, when plain Bearer answers. */
int logto_dpop_challenge(request_rec *r, const logto_dir_conf_t *c,
                         const char *error, const char *desc,
                         const char *scope);

/* Add the sender-constraint members of RFC 9728 to a protected-resource
 * metadata document (a JSON object; NULL is ignored) for c, as served to
 * r: certificate-bound tokens are supported only where r came over TLS. */
void logto_dpop_metadata(json_t *doc, const logto_dir_conf_t *c,
                         request_rec *r);

#endif /* MOD_AUTH_LOGTO_DPOP_H */
