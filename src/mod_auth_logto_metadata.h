/*
 * mod_auth_logto_metadata.h - glue: RFC 9728 protected-resource metadata,
 * served at the paths AuthLogtoResourceMetadata names.
 */
#ifndef MOD_AUTH_LOGTO_METADATA_H
#define MOD_AUTH_LOGTO_METADATA_H

#include "mod_auth_logto.h"

/* AuthLogtoResourceMetadata PATH in scope c: record the document in the
 * server's configuration (not from .htaccess, which is read per request:
 * there it only names the document in the challenge). */
void logto_metadata_register(cmd_parms *cmd, const logto_dir_conf_t *c,
                             const char *arg);

/* post_config: give each metadata document the settings its <Location>
 * has once the enclosing sections are merged in. */
void logto_metadata_resolve(apr_pool_t *p, server_rec *s);

/* check_config (apachectl -t): a document with no audience to name, and
 * one path naming two resources in one server, are startup errors. */
int logto_metadata_check(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s);

/* The handler: the document of r->uri, or DECLINED. */
int logto_metadata_handler(request_rec *r);

/* Whether r asks for a metadata document of its server: the document is
 * for clients that have no token yet, so the location it lies in (a
 * <Location /> that protects the whole site) lets it through without
 * one, as a CORS preflight; the server's other rules still apply. */
int logto_metadata_is_path(const request_rec *r);

#endif /* MOD_AUTH_LOGTO_METADATA_H */
