/*
 * logto_tokcache.h - what the token cache stores: a verified token is
 * remembered under a digest of the token and of the configuration that
 * verified it, with the thumbprint of the key that verified it, so that a
 * repeated token skips the signature check only while that key is still
 * in the key set.
 */
#ifndef LOGTO_TOKCACHE_H
#define LOGTO_TOKCACHE_H

#include <apr_pools.h>

#include "logto_jwt.h"

/* A string naming everything of pol and key_source that decides whether
 * a token verifies, from p. */
const char *logto_tokcache_config_id(apr_pool_t *p, const logto_policy_t *pol,
                                     const char *key_source);

/* The cache key of token (len bytes) verified under config_id:
 * "tok:" + base64url(SHA-256(config_id NUL token)), from p. */
const char *logto_tokcache_key(apr_pool_t *p, const char *config_id,
                               const char *token, apr_size_t len);

#endif /* LOGTO_TOKCACHE_H */
