/*
 * logto_cache.h - the shared cache the core reads and writes, as an
 * interface: the httpd glue implements it with mod_socache and a global
 * mutex, the unit tests and the command-line tool with the in-memory table
 * below.
 *
 * Keys are strings that carry a section prefix ("jwks:" followed by the
 * key set's URI). Values are opaque bytes.
 */
#ifndef LOGTO_CACHE_H
#define LOGTO_CACHE_H

#include <apr_pools.h>
#include <apr_time.h>

typedef struct logto_cache_t logto_cache_t;

struct logto_cache_t {
    void *baton; /* the implementation's own state */

    /* Copy the value stored under key into *pval (from p, *plen bytes).
     * APR_NOTFOUND when there is none or it has expired; an implementation
     * failure may also be reported as APR_NOTFOUND (a miss, not an
     * error). Does its own locking if the store needs any, and never
     * takes the lock below. */
    apr_status_t (*get)(void *baton, const char *key, unsigned char **pval,
                        apr_size_t *plen, apr_pool_t *p);

    /* Store len bytes under key until expiry (absolute, apr_time_now()
     * scale), replacing any earlier value. p is scratch memory. A value
     * too large for the store fails without harm. Same locking rule as
     * get. */
    apr_status_t (*set)(void *baton, const char *key, const unsigned char *val,
                        apr_size_t len, apr_time_t expiry, apr_pool_t *p);

    /* The fetch lock of the record under key, held across a whole
     * read-fetch-write sequence so that one process or thread at a time
     * fetches that key set (across all processes that share the store);
     * fetches of other keys go on beside it. hold: the most seconds the
     * holder may keep it (a holder that dies lets go then). NULL when
     * nobody else shares the store. It is held while get and set are
     * called, so it must be a different lock from any that get and set
     * take. */
    apr_status_t (*lock)(void *baton, const char *key, apr_int64_t hold);
    apr_status_t (*unlock)(void *baton, const char *key);

    /* The same lock, only if it is free: APR_SUCCESS when taken (then
     * unlock), anything else when someone holds it. NULL: lock is used. */
    apr_status_t (*trylock)(void *baton, const char *key, apr_int64_t hold);
};

/* An in-memory cache for one process, safe across its threads, living as
 * long as p (values are copied in; all memory is released with p). Its
 * fetch locks, one per key, are between its threads. */
apr_status_t logto_cache_mem_create(logto_cache_t **pcache, apr_pool_t *p);

/* How many times the in-memory cache's lock has been taken (for tests). */
unsigned long logto_cache_mem_lock_count(const logto_cache_t *cache);

#endif /* LOGTO_CACHE_H */
