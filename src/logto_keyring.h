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
 * Who waits: with a refresher (logto_keyring_set_background), a thread
 * of each process that calls logto_keyring_tick every second, requests
 * never fetch for a routine refresh. The refresher reads the shared record
 * (adopting what another process fetched), and when the keys are past
 * their refresh time and no failure holds it back, takes the fetch lock
 * only if it is free (trylock: another process fetching is as good), reads
 * the record again and fetches. Requests use the keys in hand while they
 * are within max_stale and hold the token's kid. Only a request that
 * cannot be answered without a fetch waits for the lock and the fetch:
 * no usable keys at all, or an unknown kid allowed by min_refresh; it
 * waits for a busy lock at most the fetch timeout (twice that with
 * discovery), then answers with what the shared record holds. After a
 * failure the next attempt waits the fetch timeout, then twice that, up
 * to the refresh interval (with jitter), counted from the end of the
 * failed attempt; all of it lives in the shared record, so the backoff and
 * the single flight hold across processes.
 *
 * Last good keys: after each successful fetch the record is also written
 * to a state directory (when one is set); when a fetch fails and the
 * process has no usable keys, the file is read once and its keys serve
 * within max_stale of their original fetch time.
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
#include "logto_record.h"

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
    int from_state_dir;          /* keys this process read from the state
                                    directory, none fetched since start */
} logto_keyring_entry_t;

/* What the keyring tells its owner, who logs: the core never does. */
typedef enum {
    LOGTO_KEYRING_FETCHED,            /* a fetch succeeded */
    LOGTO_KEYRING_FETCH_FAILED,       /* text: why */
    LOGTO_KEYRING_STORE_FAILED,       /* the shared cache refused the record
                                         (once per key set); rv, text: size */
    LOGTO_KEYRING_STATE_USED,         /* keys from the state directory,
                                         the issuer failing; text: age */
    LOGTO_KEYRING_STATE_SEEDED,       /* keys from the state directory
                                         before any fetch; text: age */
    LOGTO_KEYRING_STATE_IGNORED,      /* a state file not used; text: why */
    LOGTO_KEYRING_STATE_WRITE_FAILED, /* text: why */
    LOGTO_KEYRING_KEYS_SKIPPED        /* a fetched set, new or changed,
                                         has members that cannot verify;
                                         text: which and why */
} logto_keyring_event_t;

typedef void logto_keyring_notify_fn(void *baton, logto_keyring_event_t ev,
                                     const char *source, apr_status_t rv,
                                     const char *text);

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

/* logto_keyring_get for one that may not wait as long (see
 * logto_keys_how_t): LOGTO_KEYS_IN_HAND answers only what the process
 * holds and needs no look further for; LOGTO_KEYS_NO_WAIT, when the keys
 * are missing and another is fetching them, leaves rather than waits.
 * Either one fails with APR_EAGAIN (err: LOGTO_ERR_FETCH) then. */
apr_status_t logto_keyring_get_how(const logto_jwks_t **pjwks,
                                   logto_keyring_t *kr, const char *jwks_uri,
                                   const char *issuer, const char *unknown_kid,
                                   logto_keys_how_t how, apr_int64_t now,
                                   logto_keyring_stats_t *stats,
                                   logto_err_t *err);

/* The shared cache's key of the record of jwks_uri's key set, or of
 * issuer's discovered one when jwks_uri is NULL, fetched trusting ca_file
 * (NULL: the system's store; it counts only where https does), from p. */
const char *logto_keyring_record_key(apr_pool_t *p, const char *jwks_uri,
                                     const char *issuer, const char *ca_file);

/* The longest a source with no keys to serve holds back between fetch
 * attempts (the cap of its backoff): the lesser of the refresh intervals,
 * never under the fetch timeout (seconds; <= 0: one). */
apr_int64_t logto_keyring_starved_wait(const logto_keyring_timing_t *timing,
                                       apr_int64_t timeout);

/* With on, requests never fetch for a routine refresh: the owner calls
 * logto_keyring_tick every second or so. */
void logto_keyring_set_background(logto_keyring_t *kr, int on);

/* Report events to fn (called from any thread, never under the keyring's
 * lock). */
void logto_keyring_set_notify(logto_keyring_t *kr, logto_keyring_notify_fn *fn,
                              void *baton);

/* Keep the last good keys of each set in dir (NULL: nowhere), files
 * sealed with secret (copied; NULL or empty: a checksum only). */
void logto_keyring_set_state_dir(logto_keyring_t *kr, const char *dir,
                                 const logto_secret_t *secret);

/* Make the key set of jwks_uri, or of issuer's discovery when jwks_uri is
 * NULL, known to the refresher before any request asks for it, with the
 * last good keys of the state directory (if any, young enough at now). */
void logto_keyring_add(logto_keyring_t *kr, const char *jwks_uri,
                       const char *issuer, apr_int64_t now);

/* The refresher's round at now: every known key set adopts the shared
 * record, and one past its refresh time (or with no usable keys) is
 * fetched when no failure holds it back and nobody else is fetching it.
 * Never waits for a lock. */
void logto_keyring_tick(logto_keyring_t *kr, apr_int64_t now);

/* Every key set this process has used, as an array (from p) of
 * logto_keyring_entry_t *, sorted by source. Thread-safe. */
apr_status_t logto_keyring_status(apr_array_header_t **pentries, apr_pool_t *p,
                                  logto_keyring_t *kr);

/* A key-set record as read back from the shared cache (already opened:
 * logto_record_open), as a status entry of source, from p: its keys when
 * its document parses (none otherwise). APR_EGENERAL with err set when
 * the bytes are not such a record. Nothing of it is trusted further. */
apr_status_t logto_keyring_record_parse(logto_keyring_entry_t **pentry,
                                        apr_pool_t *p, const char *source,
                                        const unsigned char *buf,
                                        apr_size_t len, logto_err_t *err);
/* The key set of jwks_uri (or, when it is NULL, of issuer's discovery)
 * as the shared cache holds it: the same answer in every process that
 * shares the cache, whichever of them fetched. *pentry is from p; without
 * a record that passes its check, APR_NOTFOUND is returned and it holds
 * the keys this process read from the state directory (from_state_dir:
 * every process reads them at its start, so the answer is still the
 * same), else no keys and fetched_at 0. APR_EINVAL without jwks_uri and
 * issuer. Thread-safe. */
apr_status_t logto_keyring_shared_status(logto_keyring_entry_t **pentry,
                                         apr_pool_t *p, logto_keyring_t *kr,
                                         const char *jwks_uri,
                                         const char *issuer);

#endif /* LOGTO_KEYRING_H */
