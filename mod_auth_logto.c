/*
 * mod_auth_logto.c - Bearer access tokens issued by Logto, verified locally
 * (RFC 6750, RFC 9068): the httpd glue around the core in src/.
 *
 * How a request goes through:
 *   header_parser   client headers named by AuthLogtoClaimHeader removed
 *   access (first)  the token verified once; a valid one sets r->user,
 *                   the LOGTO_* environment and the claim headers, so
 *                   mod_authz_core decides with the user known and a
 *                   denial is a 403; a bad one is answered here (400, 401,
 *                   503)
 *   check_authn     reached only when authorization needs a user that the
 *                   access phase did not set: 401
 *   authz providers logto-scope, logto-claim, logto-organization read the
 *                   verified claims (mod_auth_logto_authz.c)
 *   fixups          an internal redirect not authenticated again gets
 *                   the request before's answer, published again; last,
 *                   a request that took another configuration by a fast
 *                   redirect (mod_dir's index) is stripped and published
 *                   again under it
 *   error responses WWW-Authenticate for 403 insufficient_scope (also
 *                   for the target of a local ErrorDocument, in fixups)
 */
#include <apr_strings.h>
#include <apr_lib.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <ap_expr.h>

#include "mod_auth_logto.h"
#include "mod_auth_logto_body.h"
#include "mod_auth_logto_dpop.h"
#include "mod_auth_logto_keys.h"
#include "mod_auth_logto_metadata.h"
#include "mod_auth_logto_counters.h"
#include "mod_auth_logto_status.h"
#include "mod_auth_logto_tokens.h"
#include "logto_form.h"
#include "logto_json.h"
#include "logto_jws.h"
#include "logto_p384.h"
#include "logto_scope.h"
#include "logto_verify.h"

static void logto_register_hooks(apr_pool_t *p);

/* APLOG_USE_MODULE is in mod_auth_logto.h, so not AP_DECLARE_MODULE. */
module AP_MODULE_DECLARE_DATA auth_logto_module = {
    STANDARD20_MODULE_STUFF, logto_create_dir_conf,      logto_merge_dir_conf,
    logto_create_srv_conf,   logto_merge_srv_conf,       logto_cmds,
    logto_register_hooks,    AP_MODULE_FLAG_ALWAYS_MERGE};

/* ------------------------------------------------------------- helpers */

static int is_logto(request_rec *r)
{
    const char *type = ap_auth_type(r);
    return type && !strcasecmp(type, LOGTO_AUTH_TYPE);
}

static logto_dir_conf_t *dir_conf(request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &auth_logto_module);
}

logto_req_t *logto_request_get(request_rec *r)
{
    return ap_get_module_config(r->request_config, &auth_logto_module);
}

/* Text safe inside a quoted-string of WWW-Authenticate (RFC 6750 section
 * 3: %x20-21 / %x23-5B / %x5D-7E). */
static const char *quotable(apr_pool_t *p, const char *s)
{
    char *out = apr_pstrdup(p, s);
    char *c;

    for (c = out; *c; c++) {
        if (*c < 0x20 || *c > 0x7e || *c == '"' || *c == '\\') {
            *c = '?';
        }
    }
    return out;
}

/* Where the location's RFC 9728 document is served. Like the realm, the
 * server names itself (ServerName and its port, else the port the request
 * came in on), never the client's Host: a challenge must not point a
 * client at a host the request made up. */
static const char *metadata_url(request_rec *r, const logto_dir_conf_t *c)
{
    const char *host = r->server->server_hostname;
    apr_port_t port = r->server->port;

    if (!host) {
        host = r->connection->local_ip;
    }
    if (!port && r->connection->local_addr) {
        port = r->connection->local_addr->port;
    }
    if (ap_strchr_c(host, ':') && *host != '[') {
        host = apr_pstrcat(r->pool, "[", host, "]", NULL); /* IPv6 */
    }
    if (ap_is_default_port(port, r)) {
        return apr_pstrcat(r->pool, ap_http_scheme(r), "://", host,
                           c->resource_metadata, NULL);
    }
    return apr_psprintf(r->pool, "%s://%s:%u%s", ap_http_scheme(r), host,
                        (unsigned)port, c->resource_metadata);
}

const char *logto_challenge(request_rec *r, const logto_dir_conf_t *c,
                            const char *scheme, const char *lead,
                            const char *error, const char *desc,
                            const char *scope)
{
    const char *v = apr_psprintf(r->pool, "%s %s%srealm=\"%s\"", scheme,
                                 lead ? lead : "", lead ? ", " : "",
                                 quotable(r->pool, logto_conf_realm(c, r)));

    if (error) {
        v = apr_pstrcat(r->pool, v, ", error=\"", error, "\"", NULL);
    }
    if (desc) {
        v = apr_pstrcat(r->pool, v, ", error_description=\"",
                        quotable(r->pool, desc), "\"", NULL);
    }
    if (scope) {
        v = apr_pstrcat(r->pool, v, ", scope=\"", quotable(r->pool, scope),
                        "\"", NULL);
    }
    if (c->resource_metadata) {
        v = apr_pstrcat(r->pool, v, ", resource_metadata=\"",
                        quotable(r->pool, metadata_url(r, c)), "\"", NULL);
    }
    return v;
}

void logto_allow_get(request_rec *r)
{
    /* httpd's 405 builds Allow from allowed_methods (r->allowed is what
     * an OPTIONS answer reads) */
    r->allowed = AP_METHOD_BIT << M_GET;
    ap_allow_methods(r, REPLACE_ALLOW, "GET", NULL);
}

/* Set the Bearer challenge; error, description and scope may be NULL. */
static void set_challenge(request_rec *r, const logto_dir_conf_t *c,
                          const char *error, const char *desc,
                          const char *scope)
{
    /* DPoP's challenges where the request concerns DPoP (RFC 9449 7.1) */
    if (logto_dpop_challenge(r, c, error, desc, scope)) {
        return;
    }
    apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                   logto_challenge(r, c, "Bearer", NULL, error, desc, scope));
}

/* ------------------------------------------------------ token extraction */

/* Whether the query string carries an access_token parameter (RFC 6750
 * section 2.3), which this module never accepts, however its name is
 * encoded. */
static int query_has_token(const request_rec *r)
{
    return r->args &&
           logto_form_has_param(r->args, strlen(r->args), "access_token");
}

static logto_verdict_t bad_request(logto_req_t *rq, const char *desc)
{
    rq->description = desc;
    logto_err_set(&rq->err, LOGTO_ERR_MALFORMED, "%s", desc);
    return LOGTO_V_BAD_REQUEST;
}

/* The authentication schemes a token is read from: Bearer (RFC 6750) and
 * DPoP (RFC 9449, whose proof is checked once the token verified). Any
 * other scheme is a request without credentials of ours (RFC 6750
 * section 3.1). */
typedef enum {
    LOGTO_SCHEME_OTHER = 0,
    LOGTO_SCHEME_BEARER,
    LOGTO_SCHEME_DPOP
} logto_scheme_t;

static const struct {
    const char *name;
    logto_scheme_t scheme;
} logto_schemes[] = {
    {"Bearer", LOGTO_SCHEME_BEARER},
    {"DPoP", LOGTO_SCHEME_DPOP},
};

/* The scheme of an Authorization value, and in *pcred what follows it
 * (leading blanks skipped). Where c has DPoP Off, the DPoP scheme is one
 * the location does not support: another scheme (RFC 6750 section 3.1). */
static logto_scheme_t auth_scheme(const logto_dir_conf_t *c, const char *auth,
                                  const char **pcred)
{
    /* "Bearer, Basic ..." (two headers joined) is Bearer without a token */
    apr_size_t n = strcspn(auth, " \t,");
    apr_size_t i;

    for (*pcred = auth + n; **pcred == ' ' || **pcred == '\t'; (*pcred)++) {
    }
    for (i = 0; i < sizeof(logto_schemes) / sizeof(logto_schemes[0]); i++) {
        if (strlen(logto_schemes[i].name) == n &&
            !strncasecmp(auth, logto_schemes[i].name, n)) {
            return logto_schemes[i].scheme == LOGTO_SCHEME_DPOP &&
                           c->dpop == LOGTO_DPOP_OFF
                       ? LOGTO_SCHEME_OTHER
                       : logto_schemes[i].scheme;
        }
    }
    return LOGTO_SCHEME_OTHER;
}

/* Whether a credential of ours follows another in one Authorization
 * value: httpd joins repeated headers with commas, so "Basic ..." and
 * "Bearer ..." sent as two headers read as one. A token beside another
 * credential is a malformed request (RFC 6750 section 3.1), never a
 * request without a token. */
static int later_credential_is_ours(const logto_dir_conf_t *dc,
                                    const char *auth)
{
    const char *c = auth, *cred;

    while ((c = strchr(c, ',')) != NULL) {
        for (c++; *c == ' ' || *c == '\t'; c++) {
        }
        /* the scheme is a whole word: "Bearer" alone counts too */
        if (auth_scheme(dc, c, &cred) != LOGTO_SCHEME_OTHER) {
            return 1;
        }
    }
    return 0;
}

/* With no credentials of ours, only a token in the URL is an error. */
static logto_verdict_t no_token(const request_rec *r, logto_req_t *rq)
{
    return query_has_token(r)
               ? bad_request(rq, "access_token in the URL is not "
                                 "accepted, use the Authorization header")
               : LOGTO_V_NONE;
}

/* The one token of a Bearer (or DPoP) credential: a single word, nothing
 * after. */
static logto_verdict_t bearer_token(const request_rec *r, logto_req_t *rq,
                                    const char *t, const char **ptoken,
                                    apr_size_t *plen)
{
    apr_size_t n = strlen(t);

    while (n && (t[n - 1] == ' ' || t[n - 1] == '\t')) {
        n--;
    }
    if (n == 0) {
        return bad_request(rq, "empty token");
    }
    if (strcspn(t, " \t,") < n) {
        return bad_request(rq, "Authorization is not Bearer <token>");
    }
    if (query_has_token(r)) {
        return bad_request(rq, "token sent in more than one place");
    }
    *ptoken = t;
    *plen = n;
    return LOGTO_V_VALID;
}

/* Find the token: "Authorization: Bearer <token>" or "DPoP <token>"
 * (rq->dpop set) and nowhere else. Sizes are checked before anything is
 * parsed. */
static logto_verdict_t extract_token(request_rec *r, logto_req_t *rq,
                                     const char **ptoken, apr_size_t *plen)
{
    const char *auth = apr_table_get(r->headers_in, "Authorization");
    const char *cred;

    if (!auth) {
        return no_token(r, rq);
    }
    if (strlen(auth) > LOGTO_TOKEN_MAX_SIZE) {
        return bad_request(rq, "Authorization header too large");
    }
    switch (auth_scheme(rq->conf, auth, &cred)) {
        case LOGTO_SCHEME_DPOP:
            rq->dpop = 1;
            return bearer_token(r, rq, cred, ptoken, plen);
        case LOGTO_SCHEME_BEARER:
            return bearer_token(r, rq, cred, ptoken, plen);
        case LOGTO_SCHEME_OTHER:
        default:
            if (later_credential_is_ours(rq->conf, auth)) {
                return bad_request(rq, "a token beside another credential");
            }
            return no_token(r, rq);
    }
}

/* ----------------------------------------------------------- verification */

static logto_verdict_t refuse(logto_req_t *rq, const logto_err_t *err)
{
    rq->err = *err;
    rq->description = rq->err.text;
    if (!logto_reason_is_token(err->reason)) {
        return LOGTO_V_UNAVAILABLE;
    }
    return LOGTO_V_INVALID;
}

/* Claim text handed on (user, variable, header, logto_claim()) must not
 * be able to split or confuse what it is put in: no control character,
 * C0 (tab included), DEL or C1 (U+0080..U+009F, C2 80..C2 9F in UTF-8). */
static int claim_text_safe(const char *v)
{
    for (; *v; v++) {
        unsigned char ch = (unsigned char)*v;
        if (ch < 0x20 || ch == 0x7f ||
            (ch == 0xc2 && (unsigned char)v[1] >= 0x80 &&
             (unsigned char)v[1] <= 0x9f)) {
            return 0;
        }
    }
    return 1;
}

/* r->user comes from the configured claim: a string, or an integer as
 * its decimal text, never empty and never with a control character (a
 * user that cannot be handed on is no user; every such token would
 * otherwise be the same nobody). */
static apr_status_t user_of(const char **puser, apr_pool_t *p,
                            const logto_claims_t *cl, const logto_dir_conf_t *c,
                            logto_err_t *err)
{
    const char *name = logto_conf_user_claim(c);
    const json_t *v = logto_claims_get(cl, name);
    const char *user;

    if (!v || json_is_null(v)) {
        user = "";
    }
    else if (json_is_string(v)) {
        user = json_string_value(v);
    }
    else if (json_is_integer(v)) {
        user = apr_psprintf(p, "%" APR_INT64_T_FMT,
                            (apr_int64_t)json_integer_value(v));
    }
    else {
        return logto_err_set(err, LOGTO_ERR_CLAIM_TYPE, "%s claim not a string",
                             name);
    }
    if (!*user) {
        return logto_err_set(err, LOGTO_ERR_CLAIM_TYPE, "token has no %s claim",
                             name);
    }
    if (!claim_text_safe(user)) {
        return logto_err_set(err, LOGTO_ERR_CLAIM_TYPE,
                             "%s claim holds control characters", name);
    }
    *puser = user;
    return APR_SUCCESS;
}

/* The jti is known only once the signature verified (the payload is not
 * read before). */
static void log_refusal(request_rec *r, const logto_req_t *rq,
                        const logto_verify_info_t *info)
{
    const logto_jws_t *jws = info->jws;
    const char *jti =
        jws && jws->payload ? logto_json_str(jws->payload, "jti") : NULL;

    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  LOGTO_LOGNO(00101) "token refused: %s (reason=%s, "
                                     "kid=%.64s, jti=%.64s)",
                  rq->err.text, logto_reason_name(rq->err.reason),
                  info->kid ? info->kid : "-", jti ? jti : "-");
}

static logto_verdict_t refused(request_rec *r, logto_req_t *rq,
                               const logto_verify_info_t *info,
                               const logto_err_t *err)
{
    logto_verdict_t v = refuse(rq, err);

    rq->claims = NULL;
    if (v == LOGTO_V_UNAVAILABLE) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      LOGTO_LOGNO(00102) "no keys to verify with: %s",
                      err->text);
    }
    else {
        log_refusal(r, rq, info);
    }
    return v;
}

/* The core verifies, with the keys of the location's issuers and the
 * token cache; the user claim is the glue's own last check. */
static logto_verdict_t verify(request_rec *r, const logto_dir_conf_t *c,
                              logto_req_t *rq, const char *token,
                              apr_size_t len)
{
    logto_keyring_stats_t fetched = {0, 0, 0, 0};
    logto_verify_info_t info;
    logto_err_t err;
    const char *user = NULL;
    apr_status_t rv;

    logto_err_clear(&err);
    rv = logto_verify(&rq->claims, &info, r->pool, token, len, rq->policy,
                      logto_keys_sources(r, c, rq->policy, &fetched),
                      c->token_cache ? logto_tokens_store() : NULL,
                      apr_time_sec(apr_time_now()), &err);
    /* fetches are counted where the keyrings report them */
    if (rv != APR_SUCCESS ||
        user_of(&user, r->pool, rq->claims, c, &err) != APR_SUCCESS) {
        return refused(r, rq, &info, &err);
    }
    rq->user = user;
    rq->cache_hit = info.cache_hit;
    return LOGTO_V_VALID;
}

/* Whether c decides like the configuration rq was verified under. httpd
 * may evaluate logto_claim() before the request's final configuration is
 * merged (a <Directory> or .htaccess adds to it later): such an early
 * answer serves only the expressions of its own phase. */
static int same_decider(request_rec *r, const logto_req_t *rq,
                        const logto_dir_conf_t *c)
{
    const logto_policy_t *pol;

    if (rq->conf == c) {
        return 1;
    }
    pol = logto_conf_policy(r, c);
    return (rq->policy == pol ||
            !strcmp(rq->policy->cache_id, pol->cache_id)) &&
           logto_dpop_same_settings(rq->conf, c);
}

/* Verify with c, into a fresh answer remembered for the request. */
static logto_req_t *verify_request(request_rec *r, const logto_dir_conf_t *c,
                                   int count)
{
    logto_req_t *rq = apr_pcalloc(r->pool, sizeof(*rq));
    const char *token = NULL, *bad;
    apr_size_t len = 0;

    ap_set_module_config(r->request_config, &auth_logto_module, rq);
    rq->conf = c;
    rq->policy = logto_conf_policy(r, c);
    if (!c->issuers || !c->audiences) {
        rq->verdict = LOGTO_V_MISCONFIG;
        return rq;
    }
    /* Sections were checked at startup; a combination first made for this
     * request (.htaccess, nested sections) is checked here. */
    if (!c->policy && (bad = logto_conf_check_keyspecs(r->pool, c, c))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LOGTO_LOGNO(01601) "%s",
                      bad);
        rq->verdict = LOGTO_V_MISCONFIG;
        return rq;
    }
    rq->verdict = extract_token(r, rq, &token, &len);
    if (rq->verdict == LOGTO_V_VALID) {
        rq->verdict = verify(r, c, rq, token, len);
        /* sender constraints: DPoP proof, client certificate */
        if (rq->verdict == LOGTO_V_VALID) {
            rq->verdict = logto_dpop_enforce(r, c, rq, token, len);
        }
    }
    else if (rq->verdict == LOGTO_V_BAD_REQUEST) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      LOGTO_LOGNO(00103) "request refused: %s",
                      rq->description);
    }
    if (count) {
        logto_count_verdict(rq);
    }
    return rq;
}

/* The answer for r's configuration as it stands now: the access decision
 * rests on it, and logto_claim() gives it in every phase, so an early
 * expression (a server-level rewrite, before a <Directory> with another
 * audience is merged) never decides what a later one sees. */
static logto_req_t *request_verdict(request_rec *r, const logto_dir_conf_t *c)
{
    logto_req_t *rq = logto_request_get(r);

    if (rq && same_decider(r, rq, c)) {
        return rq;
    }
    return verify_request(r, c, 1);
}

/* ------------------------------------------------------------ publishing */

static void set_env(request_rec *r, const char *name, const char *value)
{
    if (value) {
        apr_table_setn(r->subprocess_env, name, value);
    }
}

/* A variable made of claim text: like a claim header, never with a
 * control character (RequestHeader and rewrites copy it on). */
static void set_claim_env(request_rec *r, const char *name, const char *claim,
                          const char *value)
{
    if (value && !claim_text_safe(value)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      LOGTO_LOGNO(01202) "claim %s not exported as %s: "
                                         "control characters",
                      claim, name);
        return;
    }
    set_env(r, name, value);
}

static void set_claim_headers(request_rec *r, const logto_dir_conf_t *c,
                              const logto_claims_t *cl)
{
    const logto_claim_header_t *ch;
    const char *v;
    int i;

    if (!c->claim_headers) {
        return;
    }
    for (i = 0; i < c->claim_headers->nelts; i++) {
        ch = &APR_ARRAY_IDX(c->claim_headers, i, logto_claim_header_t);
        v = logto_json_as_text(r->pool, logto_claims_get(cl, ch->claim));
        if (v && claim_text_safe(v)) {
            apr_table_setn(r->headers_in, ch->header, v);
        }
        else if (v) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          LOGTO_LOGNO(00104) "claim %s not forwarded: "
                                             "control characters",
                          ch->claim);
        }
    }
}

/* The request's user, environment and claim headers, from rq's claims. */
static void export_claims(request_rec *r, const logto_dir_conf_t *c,
                          logto_req_t *rq)
{
    const logto_claims_t *cl = rq->claims;

    /* verify() found the user with the verdict */
    r->user = apr_pstrdup(r->pool, rq->user ? rq->user : "");
    r->ap_auth_type = LOGTO_AUTH_TYPE;
    set_claim_env(r, "LOGTO_SUB", "sub", cl->sub);
    set_claim_env(r, "LOGTO_CLIENT_ID", "client_id", cl->client_id);
    set_claim_env(r, "LOGTO_SCOPE", "scope", cl->scope ? cl->scope : "");
    set_claim_env(r, "LOGTO_AUD", "aud",
                  apr_array_pstrcat(r->pool, cl->aud, ' '));
    set_claim_env(r, "LOGTO_ORGANIZATION_ID", "organization_id",
                  cl->organization_id);
    set_claim_env(r, "LOGTO_JTI", "jti", cl->jti);
    set_env(r, "LOGTO_EXP",
            apr_psprintf(r->pool, "%" APR_INT64_T_FMT, cl->exp));
    set_env(r, "LOGTO_CNF_JKT", rq->cnf_jkt);
    set_claim_headers(r, c, cl);
}

/* A verified token becomes the request's user, environment and headers. */
static void publish(request_rec *r, const logto_dir_conf_t *c, logto_req_t *rq)
{
    if (!rq->published) {
        rq->published = 1;
        export_claims(r, c, rq);
    }
}

/* ---------------------------------------------------------- header strip */

typedef struct {
    const apr_array_header_t *keys;
    apr_array_header_t *doomed;
    apr_pool_t *p;
} strip_ctx_t;

static int collect_spoofed(void *baton, const char *name, const char *value)
{
    strip_ctx_t *ctx = baton;
    char *key = apr_pstrdup(ctx->p, name);
    char *s;
    int i;

    for (s = key; *s; s++) {
        *s = (*s == '_') ? '-' : apr_tolower(*s);
    }
    for (i = 0; i < ctx->keys->nelts; i++) {
        if (!strcmp(key, APR_ARRAY_IDX(ctx->keys, i, const char *))) {
            APR_ARRAY_PUSH(ctx->doomed, const char *) = name;
            break;
        }
    }
    return 1;
}

/* Headers that carry claims are the module's alone: whatever the client
 * sent under those names (any case, '-' or '_'), in this scope or any
 * scope around it, goes, token or not, before anything looks at it. */
static void strip_claim_headers(request_rec *r, const logto_dir_conf_t *c)
{
    strip_ctx_t ctx;
    int i;

    if (!c->strip_keys || !c->strip_keys->nelts) {
        return;
    }
    ctx.keys = c->strip_keys;
    ctx.doomed = apr_array_make(r->pool, 2, sizeof(const char *));
    ctx.p = r->pool;
    apr_table_do(collect_spoofed, &ctx, r->headers_in, NULL);
    for (i = 0; i < ctx.doomed->nelts; i++) {
        apr_table_unset(r->headers_in,
                        APR_ARRAY_IDX(ctx.doomed, i, const char *));
    }
}

/* The first strip, for every main request, internal redirects too: the
 * request before may have been refused before it got here (an
 * ErrorDocument for a 404 of an encoded slash), its headers as the client
 * sent them. What the module published for a request before is published
 * again: by the access phase, or where httpd does not authenticate the
 * redirect again, by logto_fixups. */
static int logto_header_parser(request_rec *r)
{
    strip_claim_headers(r, dir_conf(r));
    return DECLINED;
}

/* ------------------------------------------------------------- answering */

/* Browsers never send credentials with a preflight (Fetch standard): a
 * request that carries a credential of ours is verified like any other,
 * so a bad token is refused here as everywhere. Another scheme is no
 * token (RFC 6750 section 3.1), here as everywhere; an oversized header
 * is not a preflight and gets its 400. */
static int is_preflight(const request_rec *r, const logto_dir_conf_t *c)
{
    const char *auth, *cred;

    if (r->method_number != M_OPTIONS ||
        !apr_table_get(r->headers_in, "Origin") ||
        !apr_table_get(r->headers_in, "Access-Control-Request-Method")) {
        return 0;
    }
    auth = apr_table_get(r->headers_in, "Authorization");
    return !auth || (strlen(auth) <= LOGTO_TOKEN_MAX_SIZE &&
                     auth_scheme(c, auth, &cred) == LOGTO_SCHEME_OTHER &&
                     !later_credential_is_ours(c, auth));
}

static const char *missing_directives(const logto_dir_conf_t *c)
{
    if (!c->issuers && !c->audiences) {
        return "AuthLogtoIssuer and AuthLogtoAudience";
    }
    return !c->issuers ? "AuthLogtoIssuer" : "AuthLogtoAudience";
}

/* A section the startup check cannot see (.htaccess) lacks what it needs:
 * said once a minute, not once per request. */
#define LOGTO_MISCONFIG_LOG_INTERVAL 60

static void log_misconfig(request_rec *r, const logto_dir_conf_t *c)
{
    if (!logto_misconfig_log_due(LOGTO_MISCONFIG_LOG_INTERVAL)) {
        return;
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  LOGTO_LOGNO(00105) "AuthType Logto without %s for %s: "
                                     "every request refused with 500",
                  missing_directives(c), r->filename ? r->filename : r->uri);
}

/* RFC 9110 section 10.2.3: when no keys could be had, the longest a
 * source with none to serve holds back between fetch attempts; a request
 * after that tries again. Not sent for a 503 of another cause (a DPoP
 * proof that cannot be remembered): there the module knows no time. */
static void set_retry_after(request_rec *r, const logto_dir_conf_t *c,
                            const logto_req_t *rq)
{
    if (rq->err.reason != LOGTO_ERR_FETCH && rq->err.reason != LOGTO_ERR_JWKS) {
        return;
    }
    apr_table_setn(r->err_headers_out, "Retry-After",
                   apr_itoa(r->pool, logto_keys_retry_after(c)));
}

/* Turn the verdict into the hook's answer: DECLINED lets mod_authz_core
 * decide, anything else ends the request with that status. */
static int answer(request_rec *r, const logto_dir_conf_t *c, logto_req_t *rq,
                  int authz_needs_user)
{
    switch (rq->verdict) {
        case LOGTO_V_VALID:
            publish(r, c, rq);
            return DECLINED;
        case LOGTO_V_NONE:
            if (c->unauth_pass && !authz_needs_user) {
                return DECLINED;
            }
            set_challenge(r, c, NULL, NULL, NULL);
            return HTTP_UNAUTHORIZED;
        case LOGTO_V_BAD_REQUEST:
            if (rq->status) {
                return rq->status; /* a body that could not be read */
            }
            set_challenge(r, c, "invalid_request", rq->description, NULL);
            return HTTP_BAD_REQUEST;
        case LOGTO_V_INVALID:
            set_challenge(r, c, "invalid_token", rq->description, NULL);
            return HTTP_UNAUTHORIZED;
        case LOGTO_V_UNAVAILABLE:
            set_retry_after(r, c, rq);
            return HTTP_SERVICE_UNAVAILABLE;
        case LOGTO_V_MISCONFIG:
        default:
            /* key sources that do not pair were logged when found */
            if (!c->issuers || !c->audiences) {
                log_misconfig(r, c);
            }
            return HTTP_INTERNAL_SERVER_ERROR;
    }
}

/* A token in the header must not come with another in a form body
 * (RFC 6750 section 2): a malformed request (400), whether the header's
 * token verified or not. Looked at here, in the access phase: only when
 * the header held a token (a client without one makes no body be read;
 * one with a bad token makes at most the bounded scan of a form body be
 * read, as httpd would discard it anyway), and with the request's final
 * configuration (its LimitRequestBody), never from an expression
 * evaluated earlier. */
static logto_req_t *body_checked(request_rec *r, logto_req_t *rq)
{
    int valid = rq->verdict == LOGTO_V_VALID;

    if (!valid && rq->verdict != LOGTO_V_INVALID) {
        return rq;
    }
    switch (logto_body_has_token(r, &rq->status)) {
        case 1:
            rq->verdict = bad_request(rq, "token sent in more than one place");
            break;
        case -1:
            rq->verdict = bad_request(rq, "request body could not be read");
            break;
        default:
            return rq;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  LOGTO_LOGNO(00106) "request refused: %s", rq->description);
    rq->claims = NULL;
    /* a token counted accepted: the request, refused as malformed, is
     * counted as such too; a refused one was counted a refusal already */
    if (valid) {
        logto_count(LOGTO_C_BAD_REQUEST);
    }
    return rq;
}

/* The access phase, before mod_authz_core: verify, then let authorization
 * decide with the user already known. */
static int logto_check_access(request_rec *r)
{
    const logto_dir_conf_t *c = dir_conf(r);

    /* 1. what the client calls ours is ours: header_parser stripped it
     * for every main request (its final configuration is known by then);
     * a subrequest, which has no header_parser, strips here with its
     * own, authenticating or not (mod_dir's index becomes the request,
     * headers and all). Never when the decision is only asked again,
     * after the fact (the headers may be an ErrorDocument's, published
     * for it). */
    if (r->main) {
        strip_claim_headers(r, c);
    }
    if (!is_logto(r)) {
        return DECLINED;
    }
    /* 2. a CORS preflight carries no token: let it through if told to;
     * the logto providers grant it without making it a user. So does a
     * request for an RFC 9728 document: it is for clients without one.
     * Its user is empty (and taken back in fixups): a rule about who the
     * user is (Require user, an expression on REMOTE_USER) then refuses
     * it with 403 in mod_authz_core's first pass, never with a 401 that
     * asks for a token a preflight cannot send. */
    if (((!c->cors_auth && is_preflight(r, c)) || logto_metadata_is_path(r)) &&
        c->issuers && c->audiences) {
        request_verdict(r, c)->preflight = 1;
        if (!r->user) {
            r->user = "";
        }
        return DECLINED;
    }
    /* 3. verify the token once; 4. answer or hand over to authorization */
    return answer(r, c, body_checked(r, request_verdict(r, c)), 0);
}

/* After mod_authz_core's access pass, which declines only when a rule
 * asked for a user it did not see (AUTHZ_DENIED_NO_USER): with a verified
 * token the user was known all along, and a preflight let through has
 * none to give, so the denial is final. Letting it
 * go on to authentication would make httpd answer 401, and a client
 * answered 401 throws a good token away (a failed `Require expr` naming
 * REMOTE_USER always reports itself so). */
static int logto_deny_known_user(request_rec *r)
{
    const logto_req_t *rq;

    if (!is_logto(r) || !r->user) {
        return DECLINED;
    }
    rq = logto_request_get(r);
    if (rq && rq->preflight) {
        /* no token will come with it: what a rule wants of a user, a
         * preflight never has */
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      LOGTO_LOGNO(01204) "preflight for %s refused: a rule "
                                         "wants a user",
                      r->uri);
        return HTTP_FORBIDDEN;
    }
    if (!rq || rq->verdict != LOGTO_V_VALID || !rq->published) {
        return DECLINED;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  LOGTO_LOGNO(01201) "user %s: authorization denied for %s "
                                     "(jti=%.64s)",
                  r->user, r->uri, rq->claims->jti ? rq->claims->jti : "-");
    return HTTP_FORBIDDEN;
}

/* Authentication proper: only reached when authorization needs a user
 * the access phase did not set. */
static int logto_check_authn(request_rec *r)
{
    const logto_dir_conf_t *c;
    logto_req_t *rq;
    int status;

    if (!is_logto(r)) {
        return DECLINED;
    }
    if (r->user) {
        return OK;
    }
    c = dir_conf(r);
    rq = request_verdict(r, c);
    status = answer(r, c, rq, 1);
    return status == DECLINED ? (r->user ? OK : HTTP_UNAUTHORIZED) : status;
}

static int logto_note_auth_failure(request_rec *r, const char *type)
{
    const logto_req_t *rq;

    if (strcasecmp(type, LOGTO_AUTH_TYPE)) {
        return DECLINED;
    }
    rq = logto_request_get(r);
    if (!apr_table_get(r->err_headers_out, "WWW-Authenticate")) {
        set_challenge(
            r, dir_conf(r),
            rq && rq->verdict == LOGTO_V_INVALID ? "invalid_token" : NULL,
            rq && rq->verdict == LOGTO_V_INVALID ? rq->description : NULL,
            NULL);
    }
    return OK;
}

/* The access decision asked again, quietly (its denials were logged the
 * first time): whether it lets r through, logto-scope lines granting
 * when assume is set. The scopes lines miss are noted afresh. */
static int authorized_again(request_rec *r, logto_req_t *rq, int assume)
{
    const struct ap_logconf *logged = r->log;
    struct ap_logconf quiet;
    int status;

    quiet.module_levels = NULL;
    quiet.level = APLOG_EMERG;
    r->log = &quiet;
    rq->missing_scopes = NULL;
    rq->assume_scopes = assume;
    status = ap_run_access_checker_ex(r);
    rq->assume_scopes = 0;
    r->log = logged;
    return status == OK || status == DECLINED;
}

/* A 403 of a verified token short of scopes says which (RFC 6750 3.1),
 * when scopes are what it lacks: the decision asked again with every
 * logto-scope line granting must let it through (a denial of another
 * rule stays a bare 403), and names then every scope missing, once:
 * those the lines asked for the first time, and those of lines
 * mod_authz_core did not reach then (a <RequireAll> stops at its first
 * denial). */
static void logto_insert_error_filter(request_rec *r)
{
    logto_req_t *rq = logto_request_get(r);
    const char *first;

    if (r->status != HTTP_FORBIDDEN || !rq || rq->verdict != LOGTO_V_VALID ||
        !rq->missing_scopes || r->main ||
        apr_table_get(r->err_headers_out, "WWW-Authenticate")) {
        return;
    }
    first = rq->missing_scopes;
    /* a 403 that authorization did not give (a handler's) says nothing
     * of scopes either */
    if (!authorized_again(r, rq, 0) && authorized_again(r, rq, 1)) {
        rq->missing_scopes =
            logto_scope_union(r->pool, first, rq->missing_scopes);
        /* realm, error, scope and nothing else: the error says it all */
        set_challenge(r, dir_conf(r), "insufficient_scope", NULL,
                      rq->missing_scopes);
    }
}

/* A preflight let through has no user once authorization is over: the
 * empty one the access phase gave it is taken back. */
static void preflight_user_gone(request_rec *r, const logto_req_t *rq)
{
    if (rq && rq->preflight && r->user && !*r->user) {
        r->user = NULL;
    }
}

/* Before the handler of every request that got through (fixups, first):
 * - The target of a local ErrorDocument for a 403 short of scopes: the
 *   403's challenge, which the refused request would have sent itself.
 *   Both share the response headers.
 * - An internal redirect that httpd did not authenticate again (same
 *   configuration: it kept the user) gets the answer of the request
 *   before, and what was published with it: the strip took the claim
 *   headers, and httpd renamed the variables (REDIRECT_LOGTO_SUB).
 * - A preflight let through loses its empty user, in any scope. */
static int logto_fixups(request_rec *r)
{
    logto_req_t *rq, *prev;

    if (r->prev && !r->main) {
        logto_insert_error_filter(r->prev);
    }
    rq = logto_request_get(r);
    if (!is_logto(r)) {
        /* a preflight moved into a scope of no AuthType Logto
         * (MultiViews) has its empty user all the same */
        preflight_user_gone(r, rq);
        return DECLINED;
    }
    /* not authenticated again, so nothing of this request was published,
     * even when an early logto_claim() verified for it already */
    if ((!rq || !rq->published) && r->prev &&
        r->prev->per_dir_config == r->per_dir_config &&
        (prev = logto_request_get(r->prev)) != NULL) {
        rq = prev;
        ap_set_module_config(r->request_config, &auth_logto_module, rq);
        if (rq->verdict == LOGTO_V_VALID && rq->published) {
            export_claims(r, dir_conf(r), rq);
        }
    }
    preflight_user_gone(r, rq);
    return DECLINED;
}

/* After every other fixup: mod_dir's index (and mod_negotiation's
 * variant) becomes the request by ap_internal_fast_redirect, which takes
 * the subrequest's configuration but neither its headers_in nor its user:
 * the client's headers are as they were stripped for the configuration
 * before. They are stripped again under this one, and what a token its
 * scope verified (the subrequest was authorized with it) publishes is
 * published again, the token verified again without being counted again
 * (the subrequest counted it). */
static int logto_late_fixups(request_rec *r)
{
    const logto_dir_conf_t *c = dir_conf(r);
    logto_req_t *rq = logto_request_get(r);

    /* decided and published under this very configuration (the access
     * phase, or the request before for a redirect not authenticated
     * again; an answer a later fixup's logto_claim() made after the move
     * is not published yet); a subrequest httpd did not check again, its
     * parent's configuration and headers; or nothing of the module's */
    if ((rq && rq->conf == c && rq->published) ||
        (r->main && r->main->per_dir_config == r->per_dir_config) ||
        ((!c->strip_keys || !c->strip_keys->nelts) && !is_logto(r))) {
        return DECLINED;
    }
    strip_claim_headers(r, c);
    if (is_logto(r)) {
        if (!rq || !same_decider(r, rq, c)) {
            rq = verify_request(r, c, 0);
        }
        if (rq->verdict == LOGTO_V_VALID && !rq->preflight) {
            rq->published = 1;
            export_claims(r, c, rq);
        }
    }
    return DECLINED;
}

/* ------------------------------------------------------------ expression */

/* logto_claim('NAME'): the claim of the request's verified token. */
static const char *expr_logto_claim(ap_expr_eval_ctx_t *ctx, const void *data,
                                    const char *arg)
{
    request_rec *r = ctx->r;
    const logto_req_t *rq;
    const char *v;

    if (!r || !arg) {
        return "";
    }
    rq = request_verdict(r, dir_conf(r));
    if (rq->verdict != LOGTO_V_VALID) {
        return "";
    }
    v = logto_json_as_text(r->pool, logto_claims_get(rq->claims, arg));
    if (v && !claim_text_safe(v)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      LOGTO_LOGNO(01203) "claim %s not given to "
                                         "logto_claim(): control characters",
                      arg);
        return "";
    }
    return v ? v : "";
}

static int logto_expr_lookup(ap_expr_lookup_parms *parms)
{
    if (parms->type == AP_EXPR_FUNC_STRING &&
        !strcasecmp(parms->name, "logto_claim")) {
        *parms->func = expr_logto_claim;
        *parms->data = NULL;
        return OK;
    }
    return DECLINED;
}

/* ------------------------------------------------------------- lifecycle */

static int logto_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp)
{
    logto_p384_set_enabled(1); /* AuthLogtoFastP384's default */
    logto_conf_sources_reset(pconf);
    return logto_keys_pre_config(pconf);
}

/* apachectl -t: the cross-directive checks, then the shared cache's. */
static int logto_check_all(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    int rv = logto_conf_check(ptemp, s);

    if (rv == OK) {
        rv = logto_check_config(pconf, plog, ptemp, s);
    }
    if (rv == OK) {
        rv = logto_metadata_check(pconf, ptemp, s);
    }
    return rv == OK ? logto_keys_check_config(pconf, s) : rv;
}

static int logto_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s)
{
    int rv = logto_keys_post_config(pconf, ptemp, s);

    logto_conf_build_policies(pconf, s);
    logto_metadata_resolve(pconf, s);
    if (rv == OK) {
        rv = logto_tokens_post_config(pconf, ptemp, s);
    }
    return rv == OK ? logto_counters_post_config(pconf, s) : rv;
}

static void logto_child_init(apr_pool_t *p, server_rec *s)
{
    logto_keys_child_init(p, s);
    logto_tokens_child_init(p, s);
}

static void logto_register_hooks(apr_pool_t *p)
{
    static const char *const authz_core[] = {"mod_authz_core.c", NULL};

    ap_hook_pre_config(logto_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    logto_body_register();
    ap_hook_check_config(logto_check_all, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(logto_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(logto_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_header_parser(logto_header_parser, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_check_access_ex(logto_check_access, NULL, authz_core,
                            APR_HOOK_FIRST, AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_check_access_ex(logto_deny_known_user, authz_core, NULL,
                            APR_HOOK_LAST, AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_check_authn(logto_check_authn, NULL, NULL, APR_HOOK_MIDDLE,
                        AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_note_auth_failure(logto_note_auth_failure, NULL, NULL,
                              APR_HOOK_MIDDLE);
    ap_hook_fixups(logto_fixups, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_fixups(logto_late_fixups, NULL, NULL, APR_HOOK_REALLY_LAST);
    ap_hook_insert_error_filter(logto_insert_error_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
    ap_hook_expr_lookup(logto_expr_lookup, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(logto_metadata_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(logto_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    logto_register_authz(p);
    logto_dpop_register_hooks(p);
}
