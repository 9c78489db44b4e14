/*
 * mod_auth_logto_authz.c - glue: the Require providers logto-scope,
 * logto-claim and logto-organization. Require lines are compiled once at
 * configuration time; checks read the claims verified for the request and
 * do no I/O and no parsing.
 */
#include <apr_lib.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <ap_provider.h>
#include <http_request.h>
#include <mod_auth.h>

#include "mod_auth_logto.h"
#include "logto_scope.h"

/* The words of a Require line, compiled. */
typedef struct logto_require_t {
    apr_array_header_t *words; /* of const char * */
    int negated;               /* "Require not" or inside <RequireNone> */
} logto_require_t;

/* The words of a Require line, or NULL with *bad: an empty word ("")
 * is refused, never taken for the end of the line (the words after it
 * would be dropped, and a line that lists fewer scopes or ids grants
 * more). */
static apr_array_header_t *split_words(apr_pool_t *p, const char *line,
                                       const char **bad)
{
    apr_array_header_t *words = apr_array_make(p, 4, sizeof(const char *));
    const char *w;

    for (;;) {
        while (apr_isspace(*line)) {
            line++;
        }
        if (!*line) {
            return words;
        }
        w = ap_getword_conf(p, &line);
        if (!*w) {
            *bad = "an empty argument (\"\") names nothing";
            return NULL;
        }
        APR_ARRAY_PUSH(words, const char *) = w;
    }
}

/* Whether a Require line only counts by failing: "Require not ..." or a
 * line under <RequireNone>. A scope such a line lacks is no scope the
 * client should go and get. */
static int is_negated(const ap_directive_t *d)
{
    const char *args = d ? d->args : NULL;

    if (args && !strncasecmp(args, "not", 3) &&
        (args[3] == ' ' || args[3] == '\t')) {
        return 1;
    }
    for (; d; d = d->parent) {
        if (d->directive && !strcasecmp(d->directive, "<RequireNone")) {
            return 1;
        }
    }
    return 0;
}

static const char *parse_line(cmd_parms *cmd, const char *line,
                              const void **parsed, int min_words,
                              const char *name, const char *usage)
{
    logto_require_t *req = apr_pcalloc(cmd->pool, sizeof(*req));
    const char *bad = NULL;

    req->words = split_words(cmd->pool, line, &bad);
    if (!req->words) {
        return apr_psprintf(cmd->pool, "Require %s: %s", name, bad);
    }
    req->negated = is_negated(cmd->directive);
    if (req->words->nelts < min_words) {
        return apr_psprintf(cmd->pool, "Require %s", usage);
    }
    *parsed = req;
    return NULL;
}

/* Remember the scopes a section of the server configuration requires,
 * for its RFC 9728 document (scopes_supported). A negated line names
 * scopes a client must not have; .htaccess is read per request. */
static void record_scopes(cmd_parms *cmd, const logto_require_t *req)
{
    logto_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &auth_logto_module);
    logto_scope_line_t *sl;

    if (req->negated || !cmd->path ||
        cmd->pool != cmd->server->process->pconf) {
        return;
    }
    sl = apr_array_push(sc->scope_lines);
    sl->server = cmd->server;
    sl->path = cmd->path;
    sl->scopes = req->words;
}

static const char *parse_scope(cmd_parms *cmd, const char *line,
                               const void **parsed)
{
    const char *err = parse_line(cmd, line, parsed, 1, "logto-scope",
                                 "logto-scope needs at least one scope");
    const logto_require_t *req;
    int i;

    if (err) {
        return err;
    }
    req = *parsed;
    for (i = 0; i < req->words->nelts; i++) {
        const char *w = APR_ARRAY_IDX(req->words, i, const char *);

        if (!logto_scope_token_valid(w)) {
            return apr_psprintf(cmd->pool,
                                "Require logto-scope: \"%s\" is no scope "
                                "(RFC 6749 section 3.3: printable ASCII "
                                "without space, quote or backslash)",
                                ap_escape_logitem(cmd->temp_pool, w));
        }
    }
    record_scopes(cmd, req);
    return NULL;
}

static const char *parse_claim(cmd_parms *cmd, const char *line,
                               const void **parsed)
{
    return parse_line(cmd, line, parsed, 2, "logto-claim",
                      "logto-claim needs a claim name and a value");
}

static const char *parse_org(cmd_parms *cmd, const char *line,
                             const void **parsed)
{
    return parse_line(cmd, line, parsed, 0, "logto-organization",
                      "logto-organization [ID ...]");
}

/* The verified claims of r, or, returning 0, the answer without them:
 * NO_USER sends the request to authentication, DENIED refuses an
 * anonymous one, and a CORS preflight let through is let through by
 * every line: granted, or denied by a line that counts only by failing
 * (mod_authz_core turns that into a grant, or a neutral <RequireNone>). */
static int claims_of(const logto_claims_t **pclaims, authz_status *pst,
                     request_rec *r, const logto_require_t *req)
{
    const logto_req_t *rq = logto_request_get(r);

    if (rq && rq->preflight) {
        *pst = req->negated ? AUTHZ_DENIED : AUTHZ_GRANTED;
        return 0;
    }
    if (!r->user) {
        *pst = AUTHZ_DENIED_NO_USER;
        return 0;
    }
    if (!rq || rq->verdict != LOGTO_V_VALID) {
        *pst = AUTHZ_DENIED;
        return 0;
    }
    *pclaims = rq->claims;
    return 1;
}

static authz_status check_scope(request_rec *r, const char *line,
                                const void *parsed)
{
    const logto_require_t *req = parsed;
    const logto_claims_t *cl = NULL;
    authz_status st;
    logto_req_t *rq;
    const char *missing;

    if (!claims_of(&cl, &st, r, req)) {
        return st;
    }
    missing = logto_scope_missing(r->pool, cl->scopes, req->words);
    if (!missing) {
        return AUTHZ_GRANTED;
    }
    if (req->negated) {
        return AUTHZ_DENIED;
    }
    rq = logto_request_get(r);
    rq->missing_scopes =
        logto_scope_union(r->pool, rq->missing_scopes, missing);
    if (rq->assume_scopes) {
        return AUTHZ_GRANTED;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  LOGTO_LOGNO(00201) "insufficient scope for %s: missing %s "
                                     "(jti=%.64s)",
                  r->uri, missing, cl->jti ? cl->jti : "-");
    return AUTHZ_DENIED;
}

static authz_status check_claim(request_rec *r, const char *line,
                                const void *parsed)
{
    const logto_require_t *req = parsed;
    const logto_claims_t *cl = NULL;
    authz_status st;
    const char *name;

    if (!claims_of(&cl, &st, r, req)) {
        return st;
    }
    name = APR_ARRAY_IDX(req->words, 0, const char *);
    if (logto_claims_match(cl, name, (const char *const *)req->words->elts + 1,
                           req->words->nelts - 1)) {
        return AUTHZ_GRANTED;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  LOGTO_LOGNO(00202) "claim %s does not match for %s "
                                     "(jti=%.64s)",
                  name, r->uri, cl->jti ? cl->jti : "-");
    return AUTHZ_DENIED;
}

static authz_status check_org(request_rec *r, const char *line,
                              const void *parsed)
{
    const logto_require_t *req = parsed;
    const logto_claims_t *cl = NULL;
    authz_status st;
    int i;

    if (!claims_of(&cl, &st, r, req)) {
        return st;
    }
    if (!cl->organization_id || !*cl->organization_id) {
        return AUTHZ_DENIED; /* an empty id names no organization */
    }
    if (req->words->nelts == 0) {
        return AUTHZ_GRANTED;
    }
    for (i = 0; i < req->words->nelts; i++) {
        if (!strcmp(cl->organization_id,
                    APR_ARRAY_IDX(req->words, i, const char *))) {
            return AUTHZ_GRANTED;
        }
    }
    return AUTHZ_DENIED;
}

static const authz_provider scope_provider = {check_scope, parse_scope};
static const authz_provider claim_provider = {check_claim, parse_claim};
static const authz_provider org_provider = {check_org, parse_org};

void logto_register_authz(apr_pool_t *p)
{
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "logto-scope",
                              AUTHZ_PROVIDER_VERSION, &scope_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "logto-claim",
                              AUTHZ_PROVIDER_VERSION, &claim_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "logto-organization",
                              AUTHZ_PROVIDER_VERSION, &org_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
}
