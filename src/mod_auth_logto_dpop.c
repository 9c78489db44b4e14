/*
 * mod_auth_logto_dpop.c - glue: sender-constrained access tokens.
 *
 * A token whose cnf claim binds it to a key (cnf.jkt, RFC 9449) is only
 * accepted with "Authorization: DPoP" and a fresh proof signed by that
 * key; one bound to a TLS client certificate (cnf["x5t#S256"], RFC 8705)
 * only on a TLS connection with that certificate, read through mod_ssl's
 * ssl_var_lookup. Whatever AuthLogtoDPoP says, a bound token is never
 * taken as a bearer token. A proof's jti is remembered in the shared
 * cache for as long as the proof could be accepted, so a replay is
 * refused by every child (and every host sharing memcache or redis).
 *
 * The proof is checked on every request, token cache or not: it changes
 * with every request and its check is a signature and a few compares.
 */
#include <apr_optional.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_ssl.h>

#include "mod_auth_logto.h"
#include "mod_auth_logto_dpop.h"
#include "mod_auth_logto_keys.h"
#include "mod_auth_logto_tokens.h"
#include "logto_cnf.h"
#include "logto_dpop.h"

/* The note that marks a proof as used by this very request, so a second
 * verification of the same request (an early expression, an internal
 * redirect) does not take it for a replay. */
#define USED_NOTE "logto-dpop-used"

static APR_OPTIONAL_FN_TYPE(ssl_var_lookup) * ssl_lookup;
static APR_OPTIONAL_FN_TYPE(ssl_is_https) * ssl_https;

static void retrieve_ssl_fns(void)
{
    ssl_lookup = APR_RETRIEVE_OPTIONAL_FN(ssl_var_lookup);
    ssl_https = APR_RETRIEVE_OPTIONAL_FN(ssl_is_https);
}

void logto_dpop_register_hooks(apr_pool_t *p)
{
    ap_hook_optional_fn_retrieve(retrieve_ssl_fns, NULL, NULL, APR_HOOK_MIDDLE);
}

/* The algorithms a proof may be signed with: every asymmetric one the
 * module knows. A proof's alg is the client's key's, not the issuer's,
 * so AuthLogtoAlgorithms (the tokens' algorithms) does not narrow it:
 * Logto's ES384 tokens beside ES256 proofs, the common DPoP key. */
static logto_algset_t proof_algs(void)
{
    return LOGTO_ALGSET_DEFAULT;
}

/* ------------------------------------------------------------- request */

/* The request the client sent: internal redirects and subrequests keep
 * its method, URL and headers. */
static request_rec *client_request(request_rec *r)
{
    while (r->prev || r->main) {
        r = r->prev ? r->prev : r->main;
    }
    return r;
}

/* Path of the request target, without query: from origin-form as is,
 * from absolute-form after its authority. */
static const char *target_path(apr_pool_t *p, const char *target,
                               const char **pauthority)
{
    const char *s = target, *a;

    *pauthority = NULL;
    if (*s != '/' && (a = strstr(s, "://")) != NULL) {
        a += 3;
        s = a + strcspn(a, "/?#");
        *pauthority = apr_pstrmemdup(p, a, (apr_size_t)(s - a));
    }
    s = apr_pstrmemdup(p, s, strcspn(s, "?#"));
    return *s == '/' ? s : apr_pstrcat(p, "/", s, NULL);
}

/* Whether the server names itself (UseCanonicalName On or DNS), as it
 * does in the URLs it builds, rather than take the client's Host. */
static int canonical_name(request_rec *r)
{
    const core_dir_config *d = ap_get_core_module_config(r->per_dir_config);

    return d->use_canonical_name == USE_CANONICAL_NAME_ON ||
           d->use_canonical_name == USE_CANONICAL_NAME_DNS;
}

/* The URL the client used: its scheme, its Host (or the authority of an
 * absolute-form target), the raw path; with UseCanonicalName On, the
 * server's own name and port, so a proof made for another host is no
 * proof here whatever Host says; behind a TLS-terminating proxy,
 * AuthLogtoDPoPBaseURL instead of scheme, host and port. */
static const char *request_url(request_rec *r, const logto_dir_conf_t *c)
{
    request_rec *o = client_request(r);
    const char *authority, *path;

    path = target_path(r->pool, o->unparsed_uri ? o->unparsed_uri : "/",
                       &authority);
    if (c->dpop_base_url) {
        return apr_pstrcat(r->pool, c->dpop_base_url, path, NULL);
    }
    if (canonical_name(r)) {
        authority = NULL;
    }
    else if (!authority) {
        authority = apr_table_get(o->headers_in, "Host");
    }
    if (!authority || !*authority) {
        const char *name = ap_get_server_name(r);
        authority =
            apr_psprintf(r->pool, ap_strchr_c(name, ':') ? "[%s]:%u" : "%s:%u",
                         name, (unsigned)ap_get_server_port(r));
    }
    return apr_pstrcat(r->pool, ap_http_scheme(r), "://", authority, path,
                       NULL);
}

/* Exactly one DPoP header. httpd joins repeated headers with commas,
 * and a compact JWS has neither commas nor spaces. */
static apr_status_t one_proof(const char **pproof, request_rec *r,
                              logto_err_t *err)
{
    const char *v = apr_table_get(client_request(r)->headers_in, "DPoP");

    *pproof = v;
    if (!v || !*v) {
        return logto_err_set(err, LOGTO_ERR_DPOP_MISSING,
                             "DPoP proof missing (DPoP header)");
    }
    if (strpbrk(v, ", \t")) {
        return logto_err_set(err, LOGTO_ERR_DPOP_MISSING,
                             "more than one DPoP proof");
    }
    return APR_SUCCESS;
}

/* ------------------------------------------------------------- checks */

static apr_status_t check_scheme(const logto_req_t *rq,
                                 const logto_dir_conf_t *c,
                                 const logto_cnf_t *cnf, logto_err_t *err)
{
    if (!rq->dpop && cnf->jkt) {
        return logto_err_set(err, LOGTO_ERR_BOUND_BEARER,
                             "token is DPoP-bound: send it with the DPoP "
                             "scheme and a proof");
    }
    if (!rq->dpop && c->dpop == LOGTO_DPOP_REQUIRED) {
        return logto_err_set(err, LOGTO_ERR_SCHEME,
                             "a DPoP-bound token is required");
    }
    if (rq->dpop && !cnf->jkt) {
        return logto_err_set(err, LOGTO_ERR_NOT_BOUND,
                             "token is not DPoP-bound (no cnf.jkt)");
    }
    return APR_SUCCESS;
}

/* ------------------------------------------------------------- nonces */

/* The nonce a client should use now (RFC 9449 section 9): it lives
 * between one and two AuthLogtoDPoPMaxAge. */
static const char *current_nonce(request_rec *r, const logto_dir_conf_t *c)
{
    unsigned char secret[LOGTO_DPOP_NONCE_SECRET_SIZE];

    logto_nonce_secret(r, secret);
    return logto_dpop_nonce(r->pool, secret, apr_time_sec(apr_time_now()),
                            logto_conf_dpop_max_age(c));
}

/* With AuthLogtoDPoPNonce On, the proof carries a nonce this server (or
 * one sharing its store) made lately. A fresh one goes out with the
 * answer when the client's is not the current one. */
static apr_status_t check_nonce(request_rec *r, const logto_dir_conf_t *c,
                                const logto_dpop_proof_t *proof,
                                logto_err_t *err)
{
    unsigned char secret[LOGTO_DPOP_NONCE_SECRET_SIZE];
    const char *now_nonce;

    if (!c->dpop_nonce) {
        return APR_SUCCESS;
    }
    if (!proof->nonce) {
        return logto_err_set(err, LOGTO_ERR_DPOP_NONCE,
                             "DPoP proof nonce missing: use the DPoP-Nonce "
                             "header's value");
    }
    logto_nonce_secret(r, secret);
    if (!logto_dpop_nonce_valid(r->pool, proof->nonce, secret,
                                apr_time_sec(apr_time_now()),
                                logto_conf_dpop_max_age(c))) {
        return logto_err_set(err, LOGTO_ERR_DPOP_NONCE,
                             "DPoP proof nonce unknown or stale");
    }
    now_nonce = current_nonce(r, c);
    if (now_nonce && strcmp(now_nonce, proof->nonce)) {
        apr_table_setn(r->err_headers_out, "DPoP-Nonce", now_nonce);
    }
    return APR_SUCCESS;
}

/* Whether the proof of replay key key is used for the first time, to be
 * remembered until until. This server's own table first: shared by every
 * child whatever AuthLogtoCache says, kept across graceful restarts, and
 * full rather than forgetful. Then, for a fleet (memcache, redis), the
 * shared cache, which the other servers see. */
static apr_status_t first_use(request_rec *r, const char *key,
                              apr_int64_t until, apr_int64_t now)
{
    apr_status_t rv = logto_tokens_replay_claim(key, until, now);

    if (rv == APR_ENOTIMPL || (rv == APR_SUCCESS && logto_socache_is_fleet())) {
        rv = logto_replay_first_use(r, key, until);
    }
    return rv;
}

/* The proof: its own checks, then the jti never seen before. */
static apr_status_t check_proof(request_rec *r, const logto_dir_conf_t *c,
                                const char *token, apr_size_t len,
                                const char *jkt, logto_err_t *err)
{
    request_rec *o = client_request(r);
    logto_dpop_proof_t *proof;
    logto_dpop_expect_t x, ceil;
    int ceil_age, ceil_skew;
    const char *text, *key, *used;
    apr_status_t rv;

    if (one_proof(&text, r, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    x.method = o->method;
    x.url = request_url(r, c);
    x.token = token;
    x.token_len = len;
    x.jkt = jkt;
    x.now = apr_time_sec(apr_time_now());
    x.max_age = logto_conf_dpop_max_age(c);
    x.clock_skew = logto_conf_skew(c);
    /* remembered for the longest any section accepts, and accepted by
     * none (.htaccess included) for longer than remembered */
    logto_conf_dpop_ceiling(&ceil_age, &ceil_skew);
    ceil.max_age = ceil_age;
    ceil.clock_skew = ceil_skew;
    x.max_age = x.max_age < ceil.max_age ? x.max_age : ceil.max_age;
    x.clock_skew =
        x.clock_skew < ceil.clock_skew ? x.clock_skew : ceil.clock_skew;
    if (logto_dpop_verify(&proof, r->pool, text, strlen(text), proof_algs(), &x,
                          err) != APR_SUCCESS ||
        check_nonce(r, c, proof, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    key = logto_dpop_replay_key(r->pool, proof);
    used = apr_table_get(o->notes, USED_NOTE);
    if (key && used && !strcmp(used, key)) {
        return APR_SUCCESS;
    }
    ceil.now = x.now;
    rv = first_use(r, key, logto_dpop_replay_until(proof, &ceil), x.now);
    if (rv == APR_EEXIST) {
        return logto_err_set(err, LOGTO_ERR_DPOP_REPLAY,
                             "DPoP proof replayed (jti seen before)");
    }
    if (rv == APR_ENOSPC || rv == APR_EAGAIN) {
        /* refused rather than accepted unremembered (503) */
        return logto_err_set(err, LOGTO_ERR_INTERNAL,
                             "DPoP proof cannot be remembered: the table of "
                             "used proofs is full (AuthLogtoTokenCache "
                             "ENTRIES)");
    }
    if (rv != APR_SUCCESS) {
        return logto_err_set(err, LOGTO_ERR_INTERNAL,
                             "DPoP proof cannot be remembered: replay "
                             "cache unavailable");
    }
    apr_table_set(o->notes, USED_NOTE, key);
    return APR_SUCCESS;
}

/* RFC 8705 section 3: the TLS client certificate of this connection is
 * the one the token names. */
static apr_status_t check_certificate(request_rec *r, const char *x5t,
                                      logto_err_t *err)
{
    const char *pem, *tp;

    if (!ssl_lookup || !ssl_https || !ssl_https(r->connection)) {
        return logto_err_set(err, LOGTO_ERR_CERT_BINDING,
                             "token is bound to a TLS client certificate: "
                             "TLS with that certificate is required");
    }
    pem = ssl_lookup(r->pool, r->server, r->connection, r, "SSL_CLIENT_CERT");
    if (!pem || !*pem) {
        return logto_err_set(err, LOGTO_ERR_CERT_BINDING,
                             "token is bound to a TLS client certificate "
                             "and none was presented");
    }
    if (logto_cert_thumbprint(&tp, r->pool, pem, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (strcmp(tp, x5t)) {
        return logto_err_set(err, LOGTO_ERR_CERT_BINDING,
                             "client certificate is not the one the token "
                             "is bound to");
    }
    return APR_SUCCESS;
}

static logto_verdict_t refuse(request_rec *r, logto_req_t *rq,
                              const logto_err_t *err)
{
    const logto_claims_t *cl = rq->claims;

    rq->err = *err;
    rq->description = rq->err.text;
    rq->claims = NULL;
    if (!logto_reason_is_token(err->reason)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      LOGTO_LOGNO(01401) "token refused: %s", err->text);
        return LOGTO_V_UNAVAILABLE;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  LOGTO_LOGNO(01402) "token refused: %s (reason=%s, kid=%.64s, "
                                     "jti=%.64s)",
                  err->text, logto_reason_name(err->reason),
                  cl && cl->kid ? cl->kid : "-", cl && cl->jti ? cl->jti : "-");
    return LOGTO_V_INVALID;
}

logto_verdict_t logto_dpop_enforce(request_rec *r, const logto_dir_conf_t *c,
                                   logto_req_t *rq, const char *token,
                                   apr_size_t len)
{
    logto_cnf_t cnf;
    logto_err_t err;

    logto_err_clear(&err);
    /* 1. what the token is bound to; 2. the scheme it came with */
    if (logto_cnf_read(&cnf, rq->claims->payload, &err) != APR_SUCCESS ||
        check_scheme(rq, c, &cnf, &err) != APR_SUCCESS) {
        return refuse(r, rq, &err);
    }
    /* 3. the certificate; 4. the DPoP proof, its jti spent last */
    if ((cnf.x5t_s256 &&
         check_certificate(r, cnf.x5t_s256, &err) != APR_SUCCESS) ||
        (rq->dpop &&
         check_proof(r, c, token, len, cnf.jkt, &err) != APR_SUCCESS)) {
        return refuse(r, rq, &err);
    }
    rq->cnf_jkt = cnf.jkt;
    return LOGTO_V_VALID;
}

int logto_dpop_same_settings(const logto_dir_conf_t *a,
                             const logto_dir_conf_t *b)
{
    return a->dpop == b->dpop &&
           logto_conf_dpop_max_age(a) == logto_conf_dpop_max_age(b) &&
           a->dpop_nonce == b->dpop_nonce &&
           !a->dpop_base_url == !b->dpop_base_url &&
           (!a->dpop_base_url || !strcmp(a->dpop_base_url, b->dpop_base_url));
}

/* ------------------------------------------------------------ metadata */

void logto_dpop_metadata(json_t *doc, const logto_dir_conf_t *c, request_rec *r)
{
    logto_algset_t set = proof_algs();
    json_t *algs;
    int a;

    if (!doc) {
        return;
    }
    /* Bound tokens are always enforced; one bound to a certificate can
     * be used only over mod_ssl's TLS (behind a TLS-terminating proxy
     * the certificate never reaches httpd), so only there is it
     * supported. */
    json_object_set_new(doc, "tls_client_certificate_bound_access_tokens",
                        json_boolean(ssl_https && ssl_https(r->connection)));
    json_object_set_new(doc, "dpop_bound_access_tokens_required",
                        json_boolean(c->dpop == LOGTO_DPOP_REQUIRED));
    if (c->dpop == LOGTO_DPOP_OFF || !(algs = json_array())) {
        return;
    }
    for (a = LOGTO_ALG_NONE_KNOWN + 1; a < LOGTO_ALG__COUNT; a++) {
        if (logto_algset_has(set, (logto_alg_t)a)) {
            json_array_append_new(algs,
                                  json_string(logto_alg_name((logto_alg_t)a)));
        }
    }
    json_object_set_new(doc, "dpop_signing_alg_values_supported", algs);
}

/* ---------------------------------------------------------- challenges */

/* algs="..." of the DPoP challenge: the algorithms proofs may use. */
static const char *algs_param(apr_pool_t *p)
{
    logto_algset_t set = proof_algs();
    const char *list = NULL;
    int a;

    for (a = LOGTO_ALG_NONE_KNOWN + 1; a < LOGTO_ALG__COUNT; a++) {
        if (logto_algset_has(set, (logto_alg_t)a)) {
            const char *n = logto_alg_name((logto_alg_t)a);
            list = list ? apr_pstrcat(p, list, " ", n, NULL) : n;
        }
    }
    return apr_pstrcat(p, "algs=\"", list ? list : "", "\"", NULL);
}

/* The error of the DPoP challenge: a proof's own failure is
 * invalid_dpop_proof (RFC 9449 section 7.1). */
static const char *dpop_error(const logto_req_t *rq, const char *error)
{
    if (error && rq && rq->verdict == LOGTO_V_INVALID &&
        logto_reason_is_dpop_proof(rq->err.reason)) {
        return rq->err.reason == LOGTO_ERR_DPOP_NONCE ? "use_dpop_nonce"
                                                      : "invalid_dpop_proof";
    }
    return error;
}

int logto_dpop_challenge(request_rec *r, const logto_dir_conf_t *c,
                         const char *error, const char *desc, const char *scope)
{
    const logto_req_t *rq = logto_request_get(r);
    int sent_dpop = rq && rq->dpop;
    int bound_bearer = rq && rq->verdict == LOGTO_V_INVALID &&
                       rq->err.reason == LOGTO_ERR_BOUND_BEARER;
    const char *derr = dpop_error(rq, error);
    const char *nonce;

    if (c->dpop == LOGTO_DPOP_OFF ||
        (c->dpop == LOGTO_DPOP_ON && !sent_dpop && !bound_bearer)) {
        return 0;
    }
    apr_table_unset(r->err_headers_out, "WWW-Authenticate");
    if (c->dpop == LOGTO_DPOP_ON) {
        /* the Bearer challenge carries the error of a bearer request */
        apr_table_addn(
            r->err_headers_out, "WWW-Authenticate",
            sent_dpop
                ? logto_challenge(r, c, "Bearer", NULL, NULL, NULL, NULL)
                : logto_challenge(r, c, "Bearer", NULL, error, desc, scope));
    }
    /* algs first, as RFC 9449 section 7.1 writes the challenge */
    apr_table_addn(r->err_headers_out, "WWW-Authenticate",
                   logto_challenge(r, c, "DPoP", algs_param(r->pool), derr,
                                   derr ? desc : NULL, scope));
    if (derr && !strcmp(derr, "use_dpop_nonce") &&
        (nonce = current_nonce(r, c)) != NULL) {
        apr_table_setn(r->err_headers_out, "DPoP-Nonce", nonce);
    }
    return 1;
}
