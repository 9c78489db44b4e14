/*
 * mod_auth_logto_keys.h - glue: where a location's keys come from (a JWKS
 * file parsed at configuration time, or the issuer through the shared
 * cache) and the server lifecycle that goes with it.
 */
#ifndef MOD_AUTH_LOGTO_KEYS_H
#define MOD_AUTH_LOGTO_KEYS_H

#include "mod_auth_logto.h"
#include "logto_keyring.h"
#include "logto_verify.h"

/* pre_config: register the global mutex type. */
int logto_keys_pre_config(apr_pool_t *pconf);

/* check_config (apachectl -t too): a cache other hosts reach needs
 * AuthLogtoCacheSecret. */
int logto_keys_check_config(apr_pool_t *pconf, server_rec *s);

/* post_config: create the shared cache and mutex. */
int logto_keys_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s);

/* child_init: attach to the mutex and cache. */
void logto_keys_child_init(apr_pool_t *p, server_rec *s);

/* The key sources of c for r, one per issuer of pol, in pol's order
 * (from r->pool): a JWKS file parsed at startup, or the issuer's keys
 * through this process's keyring and the shared cache. The fetches they
 * make are added up in *stats (zeroed by the caller), for its counters. */
logto_keysource_t *logto_keys_sources(request_rec *r, const logto_dir_conf_t *c,
                                      const logto_policy_t *pol,
                                      logto_keyring_stats_t *stats);

/* Every key source any location of the server names, as the shared cache
 * holds it (status page): an array from p of logto_keyring_entry_t *,
 * sorted by source, the same in every child; empty before child_init. */
apr_array_header_t *logto_keys_status(apr_pool_t *p);

/* Seconds a client told 503 for want of keys under c should wait: the
 * longest c's key sources hold back between fetch attempts while they
 * have no keys (logto_keyring_starved_wait). */
int logto_keys_retry_after(const logto_dir_conf_t *c);

/* Whether key sets are shared between processes (AuthLogtoCache is not
 * none and its provider is loaded). */
int logto_keys_shared(void);

/* The socache adapter: every record of the module goes through these
 * two. A miss, a failure and a value too large all read as APR_NOTFOUND;
 * without a shared cache every get misses and every set fails. */
apr_status_t logto_socache_get(const char *key, unsigned char **pval,
                               apr_size_t *plen, apr_pool_t *p);
apr_status_t logto_socache_set(const char *key, const unsigned char *val,
                               apr_size_t len, apr_time_t expiry,
                               apr_pool_t *p);

/* Whether the shared cache reaches beyond this machine (memcache, redis:
 * a provider that needs no lock of ours). */
int logto_socache_is_fleet(void);

/* A DPoP proof's jti, under its cache key: APR_SUCCESS the first time
 * (and it is remembered until `until`, seconds since the epoch),
 * APR_EEXIST when it was seen before, another status when the store
 * cannot remember it (the proof must then be refused). Shared by all
 * children through the socache; per process without one. */
apr_status_t logto_replay_first_use(request_rec *r, const char *key,
                                    apr_int64_t until);

/* The secret DPoP nonces are made with (LOGTO_DPOP_NONCE_SECRET_SIZE
 * bytes into out): one for every child and, through a shared store,
 * every host. */
void logto_nonce_secret(request_rec *r, unsigned char *out);

/* The state directory (AuthLogtoStateDir) once post_config found it
 * usable, else NULL; *psecret: what files in it are sealed with (NULL:
 * a checksum only, the secret being generated and dying with the
 * server). */
const char *logto_keys_state_dir(const logto_secret_t **psecret);

/* What holds the key sets, for the status page: "shared (PROVIDER)" or
 * "per process (...)". Static or from the configuration. */
const char *logto_keys_cache_kind(void);

#endif /* MOD_AUTH_LOGTO_KEYS_H */
