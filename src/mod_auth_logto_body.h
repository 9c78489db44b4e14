/*
 * mod_auth_logto_body.h - glue: a token in a form body beside the one in
 * the Authorization header (RFC 6750 section 2: a client uses one method
 * per request, and a token sent two ways is a malformed request).
 */
#ifndef MOD_AUTH_LOGTO_BODY_H
#define MOD_AUTH_LOGTO_BODY_H

#include "mod_auth_logto.h"

/* How much of a form body is read before authorization to look for a
 * token. A larger body is looked at this far only; the rest is left to
 * whoever reads it. */
#define LOGTO_BODY_SCAN_MAX (64 * 1024)

/* Register the input filter that hands a body read here back, and the
 * hook that puts it back on after an internal redirect. */
void logto_body_register(void);

/* Whether r (a main request, not an internal redirect) has a form body
 * (application/x-www-form-urlencoded) whose first LOGTO_BODY_SCAN_MAX
 * bytes carry an access_token parameter: 1, else 0. What was read is
 * handed back, unchanged, to the next reader of the body. A body that
 * cannot be read gives -1, with *pstatus the status to answer (a
 * filter's own, or httpd's mapping of the read error). Looked at once
 * per request; later calls give the first answer. */
int logto_body_has_token(request_rec *r, int *pstatus);

#endif /* MOD_AUTH_LOGTO_BODY_H */
