/*
 * mod_auth_logto_keys.c - glue: the keys of a location.
 */
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>

#include "mod_auth_logto.h"
#include "mod_auth_logto_keys.h"

int logto_keys_pre_config(apr_pool_t *pconf)
{
    return OK;
}

int logto_keys_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                           server_rec *s)
{
    return OK;
}

void logto_keys_child_init(apr_pool_t *p, server_rec *s)
{
}

int logto_keys_may_refetch(const logto_dir_conf_t *c)
{
    return c->file_jwks == NULL;
}

apr_status_t logto_keys_get(const logto_jwks_t **pjwks, request_rec *r,
                            const logto_dir_conf_t *c,
                            const char *unknown_kid, logto_err_t *err)
{
    if (c->file_jwks) {
        *pjwks = c->file_jwks;
        return APR_SUCCESS;
    }
    return logto_err_set(err, LOGTO_ERR_FETCH,
                         "keys from the network are not available yet: "
                         "use AuthLogtoJwksFile");
}

/* ------------------------------------------------------------- metadata */

static const char *metadata_resource(const logto_dir_conf_t *c)
{
    int i;

    for (i = 0; c->audiences && i < c->audiences->nelts; i++) {
        const char *a = APR_ARRAY_IDX(c->audiences, i, const char *);
        if (!strchr(a, '*')) {
            return a;
        }
    }
    return NULL;
}

static char *json_quote(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, strlen(s) * 6 + 3);
    char *o = out;

    *o++ = '"';
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            *o++ = '\\';
            *o++ = (char)ch;
        }
        else if (ch < 0x20) {
            o += sprintf(o, "\\u%04x", ch);
        }
        else {
            *o++ = (char)ch;
        }
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

int logto_metadata_handler(request_rec *r)
{
    const logto_srv_conf_t *sc =
        ap_get_module_config(r->server->module_config, &auth_logto_module);
    const logto_dir_conf_t *c = NULL, *dflt;
    const char *resource, *issuer;
    int i;

    for (i = 0; i < sc->metadata->nelts && !c; i++) {
        const logto_metadata_t *md =
            &APR_ARRAY_IDX(sc->metadata, i, logto_metadata_t);
        if (!strcmp(r->uri, md->path)) {
            c = md->conf;
        }
    }
    if (!c) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        r->allowed = AP_METHOD_BIT << M_GET;
        return HTTP_METHOD_NOT_ALLOWED;
    }
    dflt = ap_get_module_config(r->server->lookup_defaults,
                                &auth_logto_module);
    resource = metadata_resource(c);
    resource = resource ? resource : metadata_resource(dflt);
    issuer = c->issuer ? c->issuer : dflt->issuer;
    if (!resource || !issuer) {
        return HTTP_NOT_FOUND;
    }
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "max-age=3600");
    if (r->header_only) {
        return OK;
    }
    ap_rprintf(r,
               "{\"resource\":%s,\"authorization_servers\":[%s],"
               "\"bearer_methods_supported\":[\"header\"]}\n",
               json_quote(r->pool, resource), json_quote(r->pool, issuer));
    return OK;
}
