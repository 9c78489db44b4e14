/*
 * mod_auth_logto_tokens.h - glue: the verified-token cache. A fixed-size
 * table in shared memory, made in post_config and kept across graceful
 * restarts, read by every child without a lock; with a network socache
 * (memcache, redis), that fleet tier is asked on a local miss.
 */
#ifndef MOD_AUTH_LOGTO_TOKENS_H
#define MOD_AUTH_LOGTO_TOKENS_H

#include "mod_auth_logto.h"
#include "logto_tokcache.h"
#include "logto_verify.h"

/* post_config: find the table of the previous generation (same size) or
 * make one of AuthLogtoTokenCache's ENTRIES (skipped on the first,
 * configuration-checking pass); on a first start, read back the used
 * DPoP proofs the last stop kept in the state directory (after
 * logto_keys_post_config, which finds that directory). */
int logto_tokens_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                             server_rec *s);

/* child_init: map the table's pages now, not on the first lookups, and
 * make this process's memo of parsed payloads (logto_memo.h) from pchild. */
void logto_tokens_child_init(apr_pool_t *pchild, server_rec *s);

/* The token store for logto_verify, or NULL when there is none. */
const logto_tokstore_t *logto_tokens_store(void);

/* A DPoP proof of replay key key (logto_dpop_replay_key) used now, to
 * be remembered until until: APR_SUCCESS on its first use, APR_EEXIST on
 * a replay, APR_ENOSPC or APR_EAGAIN when it cannot be remembered without
 * forgetting another (refuse it), APR_ENOTIMPL without the table. */
apr_status_t logto_tokens_replay_claim(const char *key, apr_int64_t until,
                                       apr_int64_t now);

/* The table's counters, *pused its slots in use; 0 when there is no
 * table. */
int logto_tokens_stats(logto_tokcache_stats_t *st, apr_uint32_t *pused);

#endif /* MOD_AUTH_LOGTO_TOKENS_H */
