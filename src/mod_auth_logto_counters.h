/*
 * mod_auth_logto_counters.h - glue: counters shared by all child
 * processes. Every part of the module counts here; the status page
 * (mod_auth_logto_status.c) only reads them.
 */
#ifndef MOD_AUTH_LOGTO_COUNTERS_H
#define MOD_AUTH_LOGTO_COUNTERS_H

#include "mod_auth_logto.h"

/*
 * Every server-wide counter, one line each: X(ID, name, help). A line
 * added here is a shared counter bumped with logto_count(LOGTO_C_ID),
 * listed on the text and JSON pages under `name` and exported to
 * Prometheus as `logto_<name>_total`. Refusals by reason are counted
 * apart, one counter per logto_reason_t (a new reason is counted and
 * exported without further change). The token table keeps its own
 * counters (hits, misses, stores, evictions: logto_tokens_stats), which
 * the pages show beside these.
 */
#define LOGTO_COUNTERS(X)                                                      \
    X(ACCEPTED, "tokens_accepted", "Tokens that verified.")                    \
    X(BAD_REQUEST, "bad_requests",                                             \
      "Requests refused as malformed (400 invalid_request).")                  \
    X(NO_TOKEN, "requests_without_token",                                      \
      "Requests to a Logto location that carried no token.")                   \
    X(TOKEN_CACHE_HITS, "tokens_from_cache",                                   \
      "Tokens the token cache (table or fleet tier) vouched for: no "          \
      "signature check.")                                                      \
    X(FETCHES, "fetches", "Key set fetch attempts, every source.")             \
    X(FETCH_FAILURES, "fetch_failures",                                        \
      "Key set fetch attempts that failed, every source.")                     \
    X(STALE_SERVES, "stale_serves",                                            \
      "Tokens checked with keys past their refresh time.")                     \
    X(INTEGRITY_FAILURES, "integrity_failures",                                \
      "Shared cache records that failed their integrity check.")               \
    X(ES384_TABLES, "es384_with_tables",                                       \
      "ES384 signatures checked with the per-key P-384 tables.")               \
    X(ES384_OPENSSL, "es384_by_openssl",                                       \
      "ES384 signatures checked by OpenSSL alone.")

#define LOGTO_COUNTER_ID(id, name, help) LOGTO_C_##id,
typedef enum {
    LOGTO_COUNTERS(LOGTO_COUNTER_ID) LOGTO_C__COUNT
} logto_counter_t;
#undef LOGTO_COUNTER_ID

/* Counter names and help texts, by logto_counter_t. */
extern const char *const logto_counter_names[LOGTO_C__COUNT];
extern const char *const logto_counter_help[LOGTO_C__COUNT];

/* A snapshot of the counters, each read atomically. */
typedef struct logto_counts_t {
    int available; /* 0: no shared memory, every number is 0 */
    apr_int64_t since;
    apr_uint64_t count[LOGTO_C__COUNT];
    apr_uint64_t refusals[LOGTO_ERR__COUNT];
} logto_counts_t;

/* post_config: find or create the shared counters (skipped on the first,
 * configuration-checking pass). Counters survive graceful restarts. */
int logto_counters_post_config(apr_pool_t *pconf, server_rec *s);

/* Add one to a shared counter (no lock; a no-op without counters). */
void logto_count(logto_counter_t which);

/* A token was refused, or keys could not be had, for reason. */
void logto_count_refusal(logto_reason_t reason);

/* A key set fetch was attempted; ok tells whether it succeeded. */
void logto_count_fetch(int ok);

/* Count what a verification decided for rq. */
void logto_count_verdict(const logto_req_t *rq);

/* Whether the run-time misconfiguration line is due: at most once per
 * interval seconds across all child processes. */
int logto_misconfig_log_due(int interval);

/* Read every counter into *out. */
void logto_counters_read(logto_counts_t *out);

#endif /* MOD_AUTH_LOGTO_COUNTERS_H */
