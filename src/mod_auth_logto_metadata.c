/*
 * mod_auth_logto_metadata.c - glue: RFC 9728 protected-resource metadata
 * (AuthLogtoResourceMetadata). The directive records a document per path
 * in the server's configuration; post_config gives each the settings its
 * <Location> has once the enclosing sections are merged in; the handler
 * serves it.
 */
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_protocol.h>

#include "mod_auth_logto.h"
#include "mod_auth_logto_dpop.h"
#include "mod_auth_logto_metadata.h"
#include "logto_json.h"

void logto_metadata_register(cmd_parms *cmd, const logto_dir_conf_t *c,
                             const char *arg)
{
    logto_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &auth_logto_module);
    logto_metadata_t *md;

    /* .htaccess is read per request: it names the document in the
     * challenge, but only the server configuration can serve it. */
    if (cmd->pool != cmd->server->process->pconf) {
        return;
    }
    md = apr_array_push(sc->metadata);
    md->path = arg;
    md->conf = c;
    md->server = cmd->server;
    md->where = cmd->directive ? apr_psprintf(cmd->pool, "line %d of %s",
                                              cmd->directive->line_num,
                                              cmd->directive->filename)
                               : "the command line";
    md->location = NULL;
    if (cmd->directive && cmd->directive->parent &&
        !strcasecmp(cmd->directive->parent->directive, "<Location") &&
        cmd->path && !ap_strchr_c(cmd->path, '*') &&
        !ap_strchr_c(cmd->path, '?') && !ap_strchr_c(cmd->path, '[')) {
        md->location = cmd->path;
    }
}

/* Whether a plain <Location> section of path d applies to URL-path uri,
 * as the location walk sees it: a prefix ending at a '/' of uri. */
static int location_covers(const char *d, const char *uri)
{
    apr_size_t len = strlen(d);

    if (strncmp(d, uri, len)) {
        return 0;
    }
    return len == 0 || d[len - 1] == '/' || uri[len] == '/' || uri[len] == '\0';
}

/* The settings of a <Location> as a request to it gets them: the
 * server's defaults, then every plain <Location> section covering it, in
 * the order of the configuration (the section itself among them). */
static const logto_dir_conf_t *location_conf(apr_pool_t *p,
                                             const logto_metadata_t *md)
{
    core_server_config *sconf =
        ap_get_core_module_config(md->server->module_config);
    ap_conf_vector_t **sec = (ap_conf_vector_t **)sconf->sec_url->elts;
    ap_conf_vector_t *merged = md->server->lookup_defaults;
    int i;

    for (i = 0; i < sconf->sec_url->nelts; i++) {
        core_dir_config *entry = ap_get_core_module_config(sec[i]);

        if (entry->r || entry->d_is_fnmatch || !entry->d ||
            !location_covers(entry->d, md->location)) {
            continue;
        }
        merged = ap_merge_per_dir_configs(p, merged, sec[i]);
    }
    return ap_get_module_config(merged, &auth_logto_module);
}

void logto_metadata_resolve(apr_pool_t *p, server_rec *s)
{
    for (; s; s = s->next) {
        logto_srv_conf_t *sc =
            ap_get_module_config(s->module_config, &auth_logto_module);
        int i;

        for (i = 0; i < sc->metadata->nelts; i++) {
            logto_metadata_t *md =
                &APR_ARRAY_IDX(sc->metadata, i, logto_metadata_t);
            if (md->location && md->server) {
                md->conf = location_conf(p, md);
            }
        }
    }
}

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

/* What the document of md describes, as its handler finds it: the
 * section's audience and issuers, else its server's. */
static const char *doc_resource(const logto_metadata_t *md)
{
    const logto_dir_conf_t *dflt =
        ap_get_module_config(md->server->lookup_defaults, &auth_logto_module);
    const char *resource = metadata_resource(md->conf);

    return resource ? resource : metadata_resource(dflt);
}

static const char *doc_issuers(apr_pool_t *p, const logto_metadata_t *md)
{
    const logto_dir_conf_t *dflt =
        ap_get_module_config(md->server->lookup_defaults, &auth_logto_module);
    const apr_array_header_t *issuers =
        md->conf->issuers ? md->conf->issuers : dflt->issuers;

    return issuers ? apr_array_pstrcat(p, issuers, ' ') : "";
}

static int check_server_docs(apr_pool_t *p, server_rec *s,
                             const logto_srv_conf_t *sc)
{
    int i, j, bad = 0;

    for (i = 0; i < sc->metadata->nelts; i++) {
        const logto_metadata_t *a =
            &APR_ARRAY_IDX(sc->metadata, i, logto_metadata_t);
        if (a->server != s) {
            continue; /* the main server's, checked there */
        }
        if (!doc_resource(a)) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                         LOGTO_LOGNO(01701) "AuthLogtoResourceMetadata %s on "
                                            "%s: no AuthLogtoAudience the "
                                            "document could name as its "
                                            "resource (a wildcard names none)",
                         a->path, a->where);
            bad = 1;
        }
        for (j = 0; j < i && !bad; j++) {
            const logto_metadata_t *b =
                &APR_ARRAY_IDX(sc->metadata, j, logto_metadata_t);
            if (b->server != s || strcmp(a->path, b->path) ||
                (!strcmp(doc_resource(a), doc_resource(b)) &&
                 !strcmp(doc_issuers(p, a), doc_issuers(p, b)))) {
                continue;
            }
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                         LOGTO_LOGNO(01702) "AuthLogtoResourceMetadata %s on "
                                            "%s: that path already serves "
                                            "the document of %s (%s); one "
                                            "path describes one resource",
                         a->path, a->where, doc_resource(b), b->where);
            bad = 1;
        }
    }
    return bad;
}

int logto_metadata_check(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    int bad = 0;

    logto_metadata_resolve(pconf, s);
    for (; s; s = s->next) {
        bad |= check_server_docs(
            ptemp, s,
            ap_get_module_config(s->module_config, &auth_logto_module));
    }
    return bad ? HTTP_INTERNAL_SERVER_ERROR : OK;
}

/* Whether <Location outer> covers URL-path inner, as a prefix ending at
 * a '/' of inner (or all of it). */
static int path_covers(const char *outer, const char *inner)
{
    apr_size_t len = strlen(outer);

    return !strncmp(outer, inner, len) &&
           (len == 0 || outer[len - 1] == '/' || inner[len] == '/' ||
            inner[len] == '\0');
}

/* The scopes of the `Require logto-scope` lines of md's <Location>, or,
 * when it has none, of the innermost <Location> around it that has some
 * (where its Require lines come from): a JSON array, each scope once, or
 * NULL when no line names one. */
static json_t *metadata_scopes(apr_pool_t *p, const logto_srv_conf_t *sc,
                               const logto_metadata_t *md)
{
    const logto_scope_line_t *sl;
    const char *from = NULL;
    apr_hash_t *seen = apr_hash_make(p);
    json_t *list;
    int i, j;

    for (i = 0; md->location && i < sc->scope_lines->nelts; i++) {
        sl = &APR_ARRAY_IDX(sc->scope_lines, i, logto_scope_line_t);
        if (sl->server == md->server && path_covers(sl->path, md->location) &&
            (!from || strlen(sl->path) > strlen(from))) {
            from = sl->path;
        }
    }
    if (!from) {
        return NULL;
    }
    list = json_array();
    for (i = 0; i < sc->scope_lines->nelts; i++) {
        sl = &APR_ARRAY_IDX(sc->scope_lines, i, logto_scope_line_t);
        if (sl->server != md->server || strcmp(sl->path, from)) {
            continue;
        }
        for (j = 0; j < sl->scopes->nelts; j++) {
            const char *scope = APR_ARRAY_IDX(sl->scopes, j, const char *);
            if (!apr_hash_get(seen, scope, APR_HASH_KEY_STRING)) {
                apr_hash_set(seen, scope, APR_HASH_KEY_STRING, scope);
                json_array_append_new(list, json_string(scope));
            }
        }
    }
    return list;
}

/* The RFC 9728 document of md: only members that RFC defines. */
static json_t *metadata_doc(apr_pool_t *p, const logto_srv_conf_t *sc,
                            const logto_metadata_t *md, const char *resource,
                            const apr_array_header_t *issuers)
{
    json_t *servers = json_array();
    json_t *doc;
    int i;

    for (i = 0; i < issuers->nelts; i++) {
        json_array_append_new(
            servers, json_string(APR_ARRAY_IDX(issuers, i, const char *)));
    }
    doc = json_pack("{s:s, s:o, s:[s]}", "resource", resource,
                    "authorization_servers", servers,
                    "bearer_methods_supported", "header");
    json_t *scopes = metadata_scopes(p, sc, md);

    if (doc && scopes) {
        json_object_set_new(doc, "scopes_supported", scopes);
    }
    else if (scopes) {
        json_decref(scopes);
    }
    return doc;
}

int logto_metadata_handler(request_rec *r)
{
    const logto_srv_conf_t *sc =
        ap_get_module_config(r->server->module_config, &auth_logto_module);
    const logto_dir_conf_t *c = NULL, *dflt;
    const logto_metadata_t *md = NULL;
    const char *resource, *doc;
    const apr_array_header_t *issuers;
    json_t *meta;
    int i;

    /* a forward proxy's request for another host's document is not ours */
    if (r->proxyreq == PROXYREQ_PROXY) {
        return DECLINED;
    }
    for (i = 0; i < sc->metadata->nelts && !c; i++) {
        md = &APR_ARRAY_IDX(sc->metadata, i, logto_metadata_t);
        if (!strcmp(r->uri, md->path)) {
            c = md->conf;
        }
    }
    if (!c) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        logto_allow_get(r);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    dflt = ap_get_module_config(r->server->lookup_defaults, &auth_logto_module);
    resource = metadata_resource(c);
    resource = resource ? resource : metadata_resource(dflt);
    issuers = c->issuers ? c->issuers : dflt->issuers;
    if (!resource || !issuers || !issuers->nelts) {
        return HTTP_NOT_FOUND;
    }
    /* NULL only for configured text that is not UTF-8 */
    meta = logto_json_own(r->pool,
                          metadata_doc(r->pool, sc, md, resource, issuers));
    logto_dpop_metadata(meta, c, r);
    doc = logto_json_dump(r->pool, meta, JSON_COMPACT);
    if (!doc) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "max-age=3600");
    if (r->header_only) {
        return OK;
    }
    ap_rputs(doc, r);
    ap_rputs("\n", r);
    return OK;
}

int logto_metadata_is_path(const request_rec *r)
{
    const logto_srv_conf_t *sc =
        ap_get_module_config(r->server->module_config, &auth_logto_module);
    int i;

    if (r->proxyreq == PROXYREQ_PROXY) {
        return 0;
    }
    for (i = 0; i < sc->metadata->nelts; i++) {
        if (!strcmp(r->uri,
                    APR_ARRAY_IDX(sc->metadata, i, logto_metadata_t).path)) {
            return 1;
        }
    }
    return 0;
}
