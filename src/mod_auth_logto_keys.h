/*
 * mod_auth_logto_keys.h - glue: where a location's keys come from (a JWKS
 * file parsed at configuration time, or the issuer through the shared
 * cache) and the server lifecycle that goes with it.
 */
#ifndef MOD_AUTH_LOGTO_KEYS_H
#define MOD_AUTH_LOGTO_KEYS_H

#include "mod_auth_logto.h"

/* pre_config: register the global mutex type. */
int logto_keys_pre_config(apr_pool_t *pconf);

/* post_config: create the shared cache and mutex. */
int logto_keys_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                           server_rec *s);

/* child_init: attach to the mutex and cache. */
void logto_keys_child_init(apr_pool_t *p, server_rec *s);

/* The key set for c. With unknown_kid, the caller met a kid the current
 * set lacks: a refetch may happen, within AuthLogtoJwksMinRefresh.
 * *pjwks stays valid for the request. Fails with LOGTO_ERR_FETCH or
 * LOGTO_ERR_JWKS when no usable key can be had. */
apr_status_t logto_keys_get(const logto_jwks_t **pjwks, request_rec *r,
                            const logto_dir_conf_t *c,
                            const char *unknown_kid, logto_err_t *err);

/* Every key source any location of the server names, as the shared cache
 * holds it (status page): an array from p of logto_keyring_entry_t *,
 * sorted by source, the same in every child; empty before child_init. */
apr_array_header_t *logto_keys_status(apr_pool_t *p);

/* Whether key sets are shared between processes (AuthLogtoCache is not
 * none and its provider is loaded). */
int logto_keys_shared(void);

/* Whether an unknown kid can be worth a refetch (keys from the network). */
int logto_keys_may_refetch(const logto_dir_conf_t *c);

/* Whether a shared store for verified tokens exists. */
int logto_tokens_available(void);

/* The thumbprint of the key that verified the token cached under key, or
 * NULL (from r->pool). */
const char *logto_tokens_get(request_rec *r, const char *key);

/* Remember that the key with thumbprint thumb verified the token cached
 * under key, until exp (seconds since the epoch). */
void logto_tokens_put(request_rec *r, const char *key, const char *thumb,
                      apr_int64_t exp);

#endif /* MOD_AUTH_LOGTO_KEYS_H */
