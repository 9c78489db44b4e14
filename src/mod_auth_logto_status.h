/*
 * mod_auth_logto_status.h - glue: the `SetHandler logto-status` page,
 * which shows the shared counters (mod_auth_logto_counters.h) with the
 * key sets in use. It reads; nothing writes to it.
 */
#ifndef MOD_AUTH_LOGTO_STATUS_H
#define MOD_AUTH_LOGTO_STATUS_H

#include "mod_auth_logto.h"

#define LOGTO_STATUS_HANDLER "logto-status"

/* The status page: DECLINED unless r->handler is "logto-status"; GET and
 * HEAD only; "?json" asks for application/json, "?metrics" (or an Accept
 * naming Prometheus' text format) the Prometheus text format, else
 * text/plain. */
int logto_status_handler(request_rec *r);

#endif /* MOD_AUTH_LOGTO_STATUS_H */
