/*
 * mod_auth_logto_status.h - glue: counters shared by all child processes
 * and the `SetHandler logto-status` page that shows them with the key
 * sets in use.
 */
#ifndef MOD_AUTH_LOGTO_STATUS_H
#define MOD_AUTH_LOGTO_STATUS_H

#include "mod_auth_logto.h"

#define LOGTO_STATUS_HANDLER "logto-status"

/*
 * Every server-wide counter, one line each: X(ID, name, help). A line
 * added here is a shared counter bumped with logto_status_count(LOGTO_C_ID),
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

/* post_config: find or create the shared counters (skipped on the first,
 * configuration-checking pass). Counters survive graceful restarts. */
int logto_status_post_config(apr_pool_t *pconf, server_rec *s);

/* Add one to a shared counter (no lock; a no-op without counters). */
void logto_status_count(logto_counter_t which);

/* A token was refused, or keys could not be had, for reason. */
void logto_status_count_refusal(logto_reason_t reason);

/* A key set fetch was attempted; ok tells whether it succeeded. */
void logto_status_count_fetch(int ok);

/* Whether the run-time misconfiguration line is due: at most once per
 * interval seconds across all child processes. */
int logto_status_misconfig_log_due(int interval);

/* Count what logto_request_verify decided for rq, once per request. */
void logto_status_count_verdict(const logto_req_t *rq);

/* The status page: DECLINED unless r->handler is "logto-status"; GET and
 * HEAD only; "?json" asks for application/json, "?metrics" (or an Accept
 * naming Prometheus' text format) the Prometheus text format, else
 * text/plain. */
int logto_status_handler(request_rec *r);

#endif /* MOD_AUTH_LOGTO_STATUS_H */
