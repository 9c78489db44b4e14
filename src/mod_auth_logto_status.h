/*
 * mod_auth_logto_status.h - glue: counters shared by all child processes
 * and the `SetHandler logto-status` page that shows them with the key
 * sets in use.
 */
#ifndef MOD_AUTH_LOGTO_STATUS_H
#define MOD_AUTH_LOGTO_STATUS_H

#include "mod_auth_logto.h"

#define LOGTO_STATUS_HANDLER "logto-status"

/* post_config: find or create the shared counters (skipped on the first,
 * configuration-checking pass). Counters survive graceful restarts. */
int logto_status_post_config(apr_pool_t *pconf, server_rec *s);

/* A token was accepted. */
void logto_status_count_accept(void);

/* A token was refused, or keys could not be had, for reason. */
void logto_status_count_refusal(logto_reason_t reason);

/* A request was refused as malformed (400 invalid_request). */
void logto_status_count_bad_request(void);

/* A request to a Logto location came without a token. */
void logto_status_count_no_token(void);

/* The token cache vouched for a token: no signature check. */
void logto_status_count_cache_hit(void);

/* A key set fetch was attempted; ok tells whether it succeeded. */
void logto_status_count_fetch(int ok);

/* Whether the run-time misconfiguration line is due: at most once per
 * interval seconds across all child processes. */
int logto_status_misconfig_log_due(int interval);

/* Count what logto_request_verify decided for rq, once per request. */
void logto_status_count_verdict(const logto_req_t *rq);

/* The status page: DECLINED unless r->handler is "logto-status"; GET and
 * HEAD only; "?json" asks for application/json, else text/plain. */
int logto_status_handler(request_rec *r);

#endif /* MOD_AUTH_LOGTO_STATUS_H */
