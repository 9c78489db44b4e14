/*
 * logto_keyring.h - the keys of each issuer, fetched once per refresh
 * interval for all processes that share a cache, and parsed once per
 * process.
 *
 * The shared cache holds, per key set, one record: the document as last
 * fetched, when it was fetched, when a fetch was last tried and why it
 * failed, and when an unknown kid last caused a refetch. Each process keeps
 * the parsed keys of the version it last saw. Fetching happens under the
 * cache's lock, after reading the record again, so that of many processes
 * that find the keys stale one fetches and the others use its result.
 *
 * Time is a parameter (seconds since the epoch, > 0) so that tests can
 * move it.
 */
#ifndef LOGTO_KEYRING_H
#define LOGTO_KEYRING_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "logto_cache.h"
#include "logto_err.h"
#include "logto_fetch.h"
#include "logto_jwk.h"

/* Longest wait, in seconds, between two fetch attempts of a key set
 * whose issuer fails (shorter when min_refresh is). */
#define LOGTO_KEYRING_BACKOFF 5

typedef struct logto_keyring_t logto_keyring_t;

typedef struct logto_keyring_timing_t {
    apr_int64_t refresh;     /* seconds fetched keys count as fresh */
    apr_int64_t min_refresh; /* least seconds between two refetches for
                                an unknown kid */
    apr_int64_t max_stale;   /* seconds after their fetch that keys keep
                                serving while refreshing fails */
} logto_keyring_timing_t;

/* What one logto_keyring_get did, for the glue's counters. */
typedef struct logto_keyring_stats_t {
    int fetches;     /* fetch attempts this call made (0 or 1) */
    int failures;    /* of which failed */
    int stale;       /* the keys handed back are past their refresh time */
    int bad_records; /* shared records read that failed their check */
} logto_keyring_stats_t;

/* One key of a set, as the status page shows it. */
typedef struct logto_keyring_key_t {
    const char *kid; /* NULL when the key has none */
    const char *alg; /* declared alg, NULL when the key declares none */
    const char *kty; /* "EC", "RSA" or "OKP" */
} logto_keyring_key_t;

/* One key set as this process last saw it, for the status page. */
typedef struct logto_keyring_entry_t {
    const char *source;          /* the JWKS URI, or "discover:<issuer>" */
    const char *jwks_uri;        /* where the keys came from, or NULL */
    apr_int64_t fetched_at;      /* last successful fetch, 0: never */
    apr_int64_t last_attempt_at; /* last fetch attempt, 0: never */
    int last_ok;                 /* whether that attempt succeeded */
    const char *last_error;      /* its error, "" when it succeeded */
    apr_uint64_t fetches;        /* attempts by all processes */
    apr_uint64_t failures;       /* failed attempts by all processes */
    const char *version;         /* hex SHA-256 of the document, or NULL */
    apr_array_header_t *keys;    /* of logto_keyring_key_t */
    apr_array_header_t *skipped; /* of const char *: keys not usable */
} logto_keyring_entry_t;

/* How the keyring GETs a key set document; logto_fetch_get unless a test
 * says otherwise. */
typedef apr_status_t logto_keyring_fetch_fn(char **pbody, apr_size_t *plen,
                                            apr_pool_t *p, const char *url,
                                            const logto_fetch_opts_t *opts,
                                            logto_err_t *err);

/* A keyring for one process, living in a pool of its own under p. cache
 * (NULL: keys are not shared) must outlive it; opts (NULL: defaults) and
 * timing are copied; max_stale below refresh counts as refresh. */
apr_status_t logto_keyring_create(logto_keyring_t **pkr, apr_pool_t *p,
                                  logto_cache_t *cache,
                                  const logto_fetch_opts_t *opts,
                                  const logto_keyring_timing_t *timing,
                                  logto_err_t *err);

/* Replace the fetch function (tests); NULL restores logto_fetch_get. */
void logto_keyring_set_fetch(logto_keyring_t *kr, logto_keyring_fetch_fn *fn);

/* The keys of jwks_uri, or, when it is NULL, of the jwks_uri that the
 * discovery document of issuer names, as of time now. Fetches when the
 * keys are missing or past refresh, or when unknown_kid (may be NULL) is
 * not among them and no refetch for an unknown kid happened within
 * min_refresh. Keys past refresh keep serving while fetching fails, up to
 * max_stale; with none younger, fails with LOGTO_ERR_FETCH. *pjwks
 * belongs to the keyring and stays valid at least until the keys of that
 * set are replaced twice (replacements are at least a second of `now`
 * apart). stats may be NULL. Thread-safe. */
apr_status_t logto_keyring_get(const logto_jwks_t **pjwks, logto_keyring_t *kr,
                               const char *jwks_uri, const char *issuer,
                               const char *unknown_kid, apr_int64_t now,
                               logto_keyring_stats_t *stats, logto_err_t *err);

/* Every key set this process has used, as an array (from p) of
 * logto_keyring_entry_t *, sorted by source. Thread-safe. */
apr_status_t logto_keyring_status(apr_array_header_t **pentries, apr_pool_t *p,
                                  logto_keyring_t *kr);

/* The key set of jwks_uri (or, when it is NULL, of issuer's discovery)
 * as the shared cache holds it: the same answer in every process that
 * shares the cache, whichever of them fetched. *pentry is from p; without
 * a record that passes its check it has no keys, fetched_at 0 and
 * APR_NOTFOUND is returned. APR_EINVAL without jwks_uri and issuer.
 * Thread-safe. */
apr_status_t logto_keyring_shared_status(logto_keyring_entry_t **pentry,
                                         apr_pool_t *p, logto_keyring_t *kr,
                                         const char *jwks_uri,
                                         const char *issuer);

#endif /* LOGTO_KEYRING_H */
