/*
 * mod_auth_logto_config.c - the directives: parsed and validated at
 * configuration time, merged per directory with "was it set" bits.
 */
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include <httpd.h>
#include <http_config.h>
#include <http_main.h>
#include <http_core.h>
#include <http_log.h>
#include <ap_provider.h>
#include <ap_socache.h>

#include "mod_auth_logto.h"
#include "mod_auth_logto_metadata.h"
#include "logto_fetch.h"
#include "logto_dpop.h"
#include "logto_p384.h"
#include "logto_record.h"
#include "logto_tokcache.h"

#define LOGTO_DEFAULT_SKEW        60
#define LOGTO_DEFAULT_REFRESH     300
#define LOGTO_DEFAULT_MIN_REFRESH 30
#define LOGTO_DEFAULT_MAX_STALE   86400
#define LOGTO_DEFAULT_TIMEOUT     5
#define LOGTO_MAX_SECONDS         (366 * 86400)
/* Most entries a token table may have (about 1 GB of shared memory). */
#define LOGTO_MAX_TOKEN_ENTRIES    10000000
#define LOGTO_DEFAULT_DPOP_MAX_AGE 300

void *logto_create_dir_conf(apr_pool_t *p, char *dir)
{
    logto_dir_conf_t *c = apr_pcalloc(p, sizeof(*c));
    c->token_cache = 1;
    return c;
}

/* Take the inner value when the inner scope set it, else the outer. */
#define MERGE(field, bit)                                                      \
    do {                                                                       \
        c->field = (add->set & (bit)) ? add->field : base->field;              \
    } while (0)

/* The policy of add merged under base, when it is known without building
 * it: a merge runs for every request, the policy is built at startup. */
static const logto_policy_t *merged_policy(const logto_dir_conf_t *base,
                                           const logto_dir_conf_t *add)
{
    int i;

    if (!(add->set & LOGTO_POLICY_BITS)) {
        return base->policy;
    }
    if (!(base->set & LOGTO_POLICY_BITS)) {
        return add->policy;
    }
    for (i = 0; add->memo && base->policy && i < LOGTO_POLICY_MEMOS; i++) {
        if (add->memo->base[i] == base->policy) {
            return add->memo->merged[i];
        }
    }
    return NULL;
}

/* "file:line" of the directive cmd is reading, for startup errors found
 * later; otherwise (no directive at hand) fallback. */
static const char *where_of(const cmd_parms *cmd, const char *fallback)
{
    return cmd->directive
               ? apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                              cmd->directive->line_num)
               : fallback;
}

/* Whether two ISSUER pairings (NULL: unpaired) are the same. */
static int same_pairing(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static int in_list(const apr_array_header_t *list, const char *s)
{
    int i;

    for (i = 0; list && i < list->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(list, i, const char *), s)) {
            return 1;
        }
    }
    return 0;
}

/* Whether specs hold a key source paired with issuer (NULL: unpaired). */
static int has_source(const apr_array_header_t *specs, const char *issuer)
{
    int j;

    for (j = 0; specs && j < specs->nelts; j++) {
        if (same_pairing(issuer,
                         APR_ARRAY_IDX(specs, j, logto_keyspec_t).issuer)) {
            return 1;
        }
    }
    return 0;
}

/* Whether c names several issuers and pairs a key source with each. */
static int all_paired(const logto_dir_conf_t *c)
{
    int i;

    if (!(c->set & LOGTO_SET_ISSUER) || c->issuers->nelts < 2) {
        return 0;
    }
    for (i = 0; i < c->issuers->nelts; i++) {
        if (!has_source(c->keyspecs,
                        APR_ARRAY_IDX(c->issuers, i, const char *))) {
            return 0;
        }
    }
    return 1;
}

/* The key sources of add over those of base: a source set inside (a URI
 * or a file) replaces the one set outside for the same issuer, and the
 * outer sources of other issuers stay, except those of issuers an inner
 * AuthLogtoIssuer (narrowing the list) no longer names, and an outer
 * source naming no issuer where the inner AuthLogtoIssuer names several,
 * each with a source of its own inside (it would serve none of them). */
static apr_array_header_t *merge_keyspecs(apr_pool_t *p,
                                          const logto_dir_conf_t *base,
                                          const logto_dir_conf_t *add)
{
    apr_array_header_t *m;
    int i;

    if (!base->keyspecs || !base->keyspecs->nelts) {
        return add->keyspecs;
    }
    if ((!add->keyspecs || !add->keyspecs->nelts) &&
        !(add->set & LOGTO_SET_ISSUER)) {
        return base->keyspecs;
    }
    m = add->keyspecs ? apr_array_copy(p, add->keyspecs)
                      : apr_array_make(p, 2, sizeof(logto_keyspec_t));
    for (i = 0; i < base->keyspecs->nelts; i++) {
        const logto_keyspec_t *b =
            &APR_ARRAY_IDX(base->keyspecs, i, logto_keyspec_t);
        if (has_source(add->keyspecs, b->issuer) ||
            (b->issuer && (add->set & LOGTO_SET_ISSUER) &&
             !in_list(add->issuers, b->issuer)) ||
            (!b->issuer && all_paired(add))) {
            continue;
        }
        *(logto_keyspec_t *)apr_array_push(m) = *b;
    }
    return m;
}

void *logto_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    const logto_dir_conf_t *base = basev, *add = addv;
    logto_dir_conf_t *c = apr_pcalloc(p, sizeof(*c));

    c->set = base->set | add->set;
    MERGE(issuers, LOGTO_SET_ISSUER);
    MERGE(audiences, LOGTO_SET_AUDIENCE);
    c->keyspecs = merge_keyspecs(p, base, add);
    MERGE(algorithms, LOGTO_SET_ALGS);
    MERGE(clock_skew, LOGTO_SET_SKEW);
    MERGE(jwks_refresh, LOGTO_SET_REFRESH);
    MERGE(jwks_min_refresh, LOGTO_SET_MIN_REFRESH);
    MERGE(jwks_max_stale, LOGTO_SET_MAX_STALE);
    MERGE(fetch_timeout, LOGTO_SET_TIMEOUT);
    MERGE(ca_file, LOGTO_SET_CA_FILE);
    MERGE(remote_user_claim, LOGTO_SET_USER_CLAIM);
    MERGE(claim_headers, LOGTO_SET_CLAIM_HEADERS);
    /* Stripping is never undone by an inner scope: a header an outer
     * scope fills stays the module's even where an inner one fills
     * others. */
    if (base->strip_keys && add->strip_keys) {
        c->strip_keys = apr_array_append(p, base->strip_keys, add->strip_keys);
    }
    else {
        c->strip_keys = add->strip_keys ? add->strip_keys : base->strip_keys;
    }
    MERGE(realm, LOGTO_SET_REALM);
    MERGE(unauth_pass, LOGTO_SET_UNAUTH);
    MERGE(token_cache, LOGTO_SET_TOKEN_CACHE);
    MERGE(cors_auth, LOGTO_SET_CORS);
    MERGE(resource_metadata, LOGTO_SET_METADATA);
    MERGE(dpop, LOGTO_SET_DPOP);
    MERGE(dpop_max_age, LOGTO_SET_DPOP_MAX_AGE);
    MERGE(dpop_base_url, LOGTO_SET_DPOP_BASE_URL);
    MERGE(dpop_nonce, LOGTO_SET_DPOP_NONCE);
    c->policy = merged_policy(base, add);
    return c;
}

void *logto_create_srv_conf(apr_pool_t *p, server_rec *s)
{
    logto_srv_conf_t *sc = apr_pcalloc(p, sizeof(*sc));
    sc->metadata = apr_array_make(p, 2, sizeof(logto_metadata_t));
    sc->jwks_files = apr_array_make(p, 2, sizeof(logto_jwks_file_t));
    sc->token_cache_entries = -1;
    sc->scope_lines = apr_array_make(p, 2, sizeof(logto_scope_line_t));
    return sc;
}

void *logto_merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    const logto_srv_conf_t *base = basev, *add = addv;
    logto_srv_conf_t *sc = apr_pcalloc(p, sizeof(*sc));

    /* The cache is server-wide: the main server's setting holds. */
    sc->cache_spec = base->cache_spec;
    sc->cache_provider_name = base->cache_provider_name;
    sc->cache_where = base->cache_where;
    sc->cache_args = base->cache_args;
    sc->cache_none = base->cache_none;
    sc->cache_secret_file = base->cache_secret_file;
    sc->cache_secret = base->cache_secret;
    sc->cache_secret_len = base->cache_secret_len;
    sc->state_dir = base->state_dir;
    sc->state_dir_where = base->state_dir_where;
    /* the virtual host's own documents first: its path is its own */
    sc->metadata = apr_array_append(p, add->metadata, base->metadata);
    sc->jwks_files = apr_array_append(p, base->jwks_files, add->jwks_files);
    sc->token_cache_entries =
        add->token_cache_entries > base->token_cache_entries
            ? add->token_cache_entries
            : base->token_cache_entries;
    sc->scope_lines = apr_array_append(p, base->scope_lines, add->scope_lines);
    return sc;
}

int logto_conf_skew(const logto_dir_conf_t *c)
{
    return (c->set & LOGTO_SET_SKEW) ? c->clock_skew : LOGTO_DEFAULT_SKEW;
}

logto_algset_t logto_conf_algs(const logto_dir_conf_t *c)
{
    return (c->set & LOGTO_SET_ALGS) ? c->algorithms : LOGTO_ALGSET_DEFAULT;
}

const char *logto_conf_realm(const logto_dir_conf_t *c, request_rec *r)
{
    /* Never the client's Host: a realm is the server's to name. */
    if (c->realm) {
        return c->realm;
    }
    return r->server->server_hostname ? r->server->server_hostname : "";
}

const char *logto_conf_user_claim(const logto_dir_conf_t *c)
{
    return c->remote_user_claim ? c->remote_user_claim : "sub";
}

int logto_conf_refresh(const logto_dir_conf_t *c)
{
    return (c->set & LOGTO_SET_REFRESH) ? c->jwks_refresh
                                        : LOGTO_DEFAULT_REFRESH;
}

int logto_conf_min_refresh(const logto_dir_conf_t *c)
{
    return (c->set & LOGTO_SET_MIN_REFRESH) ? c->jwks_min_refresh
                                            : LOGTO_DEFAULT_MIN_REFRESH;
}

int logto_conf_max_stale(const logto_dir_conf_t *c)
{
    return (c->set & LOGTO_SET_MAX_STALE) ? c->jwks_max_stale
                                          : LOGTO_DEFAULT_MAX_STALE;
}

int logto_conf_timeout(const logto_dir_conf_t *c)
{
    return (c->set & LOGTO_SET_TIMEOUT) ? c->fetch_timeout
                                        : LOGTO_DEFAULT_TIMEOUT;
}

int logto_conf_dpop_max_age(const logto_dir_conf_t *c)
{
    return (c->set & LOGTO_SET_DPOP_MAX_AGE) ? c->dpop_max_age
                                             : LOGTO_DEFAULT_DPOP_MAX_AGE;
}

/* ------------------------------------------------------------ validators */

/* Whether url holds only characters a URL may carry as they are (RFC
 * 3986): no space, control character, quote, backslash or brace, which
 * are written percent-encoded. */
static int url_chars_ok(const char *url)
{
    for (; *url; url++) {
        unsigned char ch = (unsigned char)*url;
        if (ch <= 0x20 || ch >= 0x7f || ap_strchr_c("\"<>\\^`{|}", ch)) {
            return 0;
        }
    }
    return 1;
}

/* A port as written, if any: 1 to 65535 (empty means the default). */
static int port_ok(const char *port)
{
    char *end;
    long n;

    if (!port || !*port) {
        return 1;
    }
    n = strtol(port, &end, 10);
    return apr_isdigit(*port) && *end == '\0' && n >= 1 && n <= 65535;
}

/* An absolute http(s) URL with a host and no fragment. */
static const char *check_url(cmd_parms *cmd, const char *url)
{
    apr_uri_t uri;

    if (!url_chars_ok(url)) {
        return apr_psprintf(cmd->pool,
                            "%s: '%s' holds a character a URL cannot carry "
                            "as it is (space, quote, control character): "
                            "percent-encode it",
                            cmd->cmd->name, url);
    }
    if (apr_uri_parse(cmd->temp_pool, url, &uri) != APR_SUCCESS ||
        !uri.scheme || !uri.hostname || !*uri.hostname ||
        (strcasecmp(uri.scheme, "https") && strcasecmp(uri.scheme, "http"))) {
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not an absolute http(s) URL",
                            cmd->cmd->name, url);
    }
    if (uri.fragment || uri.user || uri.password) {
        return apr_psprintf(cmd->pool,
                            "%s: '%s' must not carry a fragment or "
                            "credentials",
                            cmd->cmd->name, url);
    }
    if (!port_ok(uri.port_str)) {
        return apr_psprintf(cmd->pool, "%s: '%s': the port is not 1 to 65535",
                            cmd->cmd->name, url);
    }
    return NULL;
}

/* A whole number of seconds within [min, LOGTO_MAX_SECONDS]. */
static const char *parse_seconds(cmd_parms *cmd, const char *arg, int min,
                                 int max, int *out)
{
    char *end = NULL;
    apr_int64_t v;

    errno = 0;
    v = apr_strtoi64(arg, &end, 10);
    if (!*arg || errno || !end || *end || !apr_isdigit(*arg) || v < min ||
        v > max) {
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a number of seconds from %d "
                            "to %d",
                            cmd->cmd->name, arg, min, max);
    }
    *out = (int)v;
    return NULL;
}

/* A header field name: RFC 9110 token characters. */
static int is_header_name(const char *s)
{
    static const char tchar_extra[] = "!#$%&'*+-.^_`|~";

    if (!*s) {
        return 0;
    }
    for (; *s; s++) {
        if (!apr_isalnum(*s) && !strchr(tchar_extra, *s)) {
            return 0;
        }
    }
    return 1;
}

/* The key under which client headers are compared: lower case, '_' as
 * '-', so "X-User_Id" and "x-user-id" are one header to the strip. */
static const char *header_key(apr_pool_t *p, const char *name)
{
    char *k = apr_pstrdup(p, name);
    char *s;

    for (s = k; *s; s++) {
        *s = (*s == '_') ? '-' : apr_tolower(*s);
    }
    return k;
}

/* Text that can sit inside a quoted-string of a header unescaped. */
static int is_quotable(const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if (ch == '"' || ch == '\\' || ch < 0x20 || ch >= 0x7f) {
            return 0;
        }
    }
    return 1;
}

/* Whether the directive is read from .htaccess (per request, from the
 * request's pool) rather than from the server configuration. */
static int in_htaccess(const cmd_parms *cmd)
{
    return cmd->pool != cmd->server->process->pconf;
}

/* Key sources the server configuration names anywhere ("iss:", "uri:",
 * "file:" and the value), and the CA files it trusts for them ("ca:"):
 * .htaccess, which people who must not steer the server's outbound
 * requests or file reads may write, can only pick among them. A CA of
 * its own would let it fetch keys the whole server then uses (key sets
 * are shared by source). Filled while the server configuration is read. */
static apr_array_header_t *declared_sources;

/* The longest proof age and clock skew any section of the server
 * configuration names: a used proof is remembered for their sum, so no
 * section (nor an expression verifying early under another) can take a
 * proof that another section spent and remembered for less. */
static int dpop_age_ceiling = LOGTO_DEFAULT_DPOP_MAX_AGE;
static int skew_ceiling = LOGTO_DEFAULT_SKEW;

void logto_conf_sources_reset(apr_pool_t *pconf)
{
    declared_sources = apr_array_make(pconf, 8, sizeof(const char *));
    dpop_age_ceiling = LOGTO_DEFAULT_DPOP_MAX_AGE;
    skew_ceiling = LOGTO_DEFAULT_SKEW;
}

void logto_conf_dpop_ceiling(int *pmax_age, int *pskew)
{
    *pmax_age = dpop_age_ceiling;
    *pskew = skew_ceiling;
}

/* In the server configuration, declare kind:value; in .htaccess, refuse
 * it unless declared. */
static const char *declare_source(cmd_parms *cmd, const char *kind,
                                  const char *value)
{
    const char *entry = apr_pstrcat(cmd->pool, kind, ":", value, NULL);
    int i;

    if (!in_htaccess(cmd)) {
        if (declared_sources) {
            APR_ARRAY_PUSH(declared_sources, const char *) =
                apr_pstrdup(declared_sources->pool, entry);
        }
        return NULL;
    }
    for (i = 0; declared_sources && i < declared_sources->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(declared_sources, i, const char *), entry)) {
            return NULL;
        }
    }
    return apr_psprintf(cmd->pool,
                        "%s: '%s' is not named in the server "
                        "configuration; .htaccess may only use %s "
                        "the server configuration declares",
                        cmd->cmd->name, value,
                        strcmp(kind, "ca") ? "key sources" : "CA files");
}

static int is_plain_http(const char *url)
{
    return url && !strncasecmp(url, "http://", 7);
}

/* Keys for an https issuer come over https: a plain-http JWKS would let
 * anyone on the path hand the server its own keys. Plain http only when
 * the issuer itself is plain http (local development). */
static const char *check_jwks_scheme(cmd_parms *cmd, const char *issuer,
                                     const char *jwks_uri)
{
    if (!issuer || !jwks_uri || !is_plain_http(jwks_uri) ||
        is_plain_http(issuer)) {
        return NULL;
    }
    return apr_psprintf(cmd->pool,
                        "%s: the JWKS URI '%s' is plain http for the https "
                        "issuer '%s'; keys must come over https",
                        cmd->cmd->name, jwks_uri, issuer);
}

/* Headers that the framing or routing of the request depends on, or
 * that the module itself reads before the strip could matter (the DPoP
 * proof, what makes a CORS preflight, the type of a form body): a claim
 * must never replace them, and the client's own copy must never be
 * stripped (lower case, as header_key gives them). */
static int is_reserved_header(const char *key)
{
    static const char *const reserved[] = {"authorization",
                                           "host",
                                           "content-length",
                                           "transfer-encoding",
                                           "connection",
                                           "expect",
                                           "upgrade",
                                           "cookie",
                                           "te",
                                           "trailer",
                                           "dpop",
                                           "origin",
                                           "access-control-request-method",
                                           "content-type",
                                           NULL};
    int i;

    if (!strncmp(key, "proxy-", 6)) {
        return 1;
    }
    for (i = 0; reserved[i]; i++) {
        if (!strcmp(key, reserved[i])) {
            return 1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- setters */

/* The JWKS URIs of c's key source lines against issuer (one of c's): a
 * line paired with another issuer is not its concern. */
static const char *check_keyspec_schemes(cmd_parms *cmd,
                                         const logto_dir_conf_t *c,
                                         const char *issuer)
{
    const char *bad = NULL;
    int i;

    for (i = 0; c->keyspecs && i < c->keyspecs->nelts && !bad; i++) {
        const logto_keyspec_t *k =
            &APR_ARRAY_IDX(c->keyspecs, i, logto_keyspec_t);
        if (!k->issuer || !strcmp(k->issuer, issuer)) {
            bad = check_jwks_scheme(cmd, issuer, k->jwks_uri);
        }
    }
    return bad;
}

/* A JWKS URI line against the issuers of its section it may serve. */
static const char *check_uri_scheme(cmd_parms *cmd, const logto_dir_conf_t *c,
                                    const char *uri, const char *issuer)
{
    const char *bad = NULL;
    int i;

    if (issuer) {
        return check_jwks_scheme(cmd, issuer, uri);
    }
    for (i = 0; c->issuers && i < c->issuers->nelts && !bad; i++) {
        bad = check_jwks_scheme(cmd, APR_ARRAY_IDX(c->issuers, i, const char *),
                                uri);
    }
    return bad;
}

/* Whether s is among the strings a[from..to). */
static int listed(const apr_array_header_t *a, int from, int to, const char *s)
{
    for (; from < to; from++) {
        if (!strcmp(APR_ARRAY_IDX(a, from, const char *), s)) {
            return 1;
        }
    }
    return 0;
}

static const char *set_issuer(cmd_parms *cmd, void *cfg, int argc,
                              char *const argv[])
{
    logto_dir_conf_t *c = cfg;
    int i, before;

    if (argc < 1) {
        return "AuthLogtoIssuer needs at least one URL";
    }
    /* A second line in the same section adds to the first, as a second
     * Require line does (a URL an earlier line named counts once); an
     * inner section starts a list of its own. */
    if (!(c->set & LOGTO_SET_ISSUER)) {
        c->issuers = apr_array_make(cmd->pool, argc, sizeof(const char *));
    }
    before = c->issuers->nelts;
    for (i = 0; i < argc; i++) {
        const char *bad = check_url(cmd, argv[i]);
        /* an issuer identifier has no query (OpenID Connect Discovery
         * 4.3; its discovery URL is built by appending a path) */
        if (!bad && ap_strchr_c(argv[i], '?')) {
            bad = apr_psprintf(cmd->pool,
                               "AuthLogtoIssuer: '%s': an issuer "
                               "has no query",
                               argv[i]);
        }
        if (!bad) {
            bad = declare_source(cmd, "iss", argv[i]);
        }
        if (!bad) {
            bad = check_keyspec_schemes(cmd, c, argv[i]);
        }
        if (bad) {
            return bad;
        }
        if (listed(c->issuers, before, c->issuers->nelts, argv[i])) {
            return apr_psprintf(cmd->pool, "AuthLogtoIssuer: '%s' named twice",
                                argv[i]);
        }
        if (!listed(c->issuers, 0, before, argv[i])) {
            APR_ARRAY_PUSH(c->issuers, const char *) = argv[i];
        }
    }
    c->set |= LOGTO_SET_ISSUER;
    return NULL;
}

/* Record a key source line of c: a later line for the same issuer in the
 * same section replaces an earlier one, as a single value would. */
static const char *add_keyspec(cmd_parms *cmd, logto_dir_conf_t *c,
                               const char *issuer, const char *uri,
                               const char *file, const logto_jwks_t *jwks)
{
    logto_keyspec_t *k = NULL;
    const char *bad;
    int i;

    if (issuer && (bad = check_url(cmd, issuer)) != NULL) {
        return bad;
    }
    if (!c->keyspecs) {
        c->keyspecs = apr_array_make(cmd->pool, 2, sizeof(logto_keyspec_t));
    }
    /* One key source per issuer in a section: a second line replaces
     * the first, as an inner section's replaces an outer one's, and says
     * so (the first is not used at all). */
    for (i = 0; i < c->keyspecs->nelts; i++) {
        k = &APR_ARRAY_IDX(c->keyspecs, i, logto_keyspec_t);
        if (same_pairing(k->issuer, issuer)) {
            if (in_htaccess(cmd)) {
                break; /* read per request: not said per request */
            }
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0,
                         cmd->server,
                         LOGTO_LOGNO(01703) "%s on %s replaces the key "
                                            "source of %s set at %s (%s): "
                                            "one per issuer in a section",
                         cmd->cmd->name, where_of(cmd, "(unknown)"),
                         issuer ? issuer : "the section's issuer", k->where,
                         k->jwks_file ? k->jwks_file : k->jwks_uri);
            break;
        }
    }
    if (i == c->keyspecs->nelts || !k) {
        k = apr_array_push(c->keyspecs);
    }
    k->issuer = issuer;
    k->jwks_uri = uri;
    k->jwks_file = file;
    k->file_jwks = jwks;
    k->where = where_of(cmd, "(unknown)");
    return NULL;
}

static const char *set_audience(cmd_parms *cmd, void *cfg, int argc,
                                char *const argv[])
{
    logto_dir_conf_t *c = cfg;
    int i;

    if (argc < 1) {
        return "AuthLogtoAudience needs at least one URI";
    }
    /* like AuthLogtoIssuer: lines of one section add up */
    if (!(c->set & LOGTO_SET_AUDIENCE)) {
        c->audiences = apr_array_make(cmd->pool, argc, sizeof(const char *));
    }
    for (i = 0; i < argc; i++) {
        if (strchr(argv[i], '*') && strcmp(argv[i], LOGTO_ORG_AUD_WILDCARD)) {
            return apr_psprintf(cmd->pool,
                                "AuthLogtoAudience: '%s': the only "
                                "wildcard is " LOGTO_ORG_AUD_WILDCARD,
                                argv[i]);
        }
        APR_ARRAY_PUSH(c->audiences, const char *) = argv[i];
    }
    c->set |= LOGTO_SET_AUDIENCE;
    return NULL;
}

static const char *set_jwks_uri(cmd_parms *cmd, void *cfg, const char *arg,
                                const char *issuer)
{
    logto_dir_conf_t *c = cfg;
    const char *bad = check_url(cmd, arg);

    if (!bad) {
        bad = declare_source(cmd, "uri", arg);
    }
    if (!bad) {
        bad = check_uri_scheme(cmd, c, arg, issuer);
    }
    if (bad) {
        return bad;
    }
    c->set |= LOGTO_SET_JWKS_URI;
    return add_keyspec(cmd, c, issuer, arg, NULL, NULL);
}

/* The status page lists the server's JWKS files. Not from .htaccess: the
 * server's configuration is not to change while requests are served. */
static void register_jwks_file(cmd_parms *cmd, const char *path,
                               const logto_jwks_t *jwks)
{
    logto_srv_conf_t *sc;
    logto_jwks_file_t *f;

    if (cmd->pool != cmd->server->process->pconf) {
        return;
    }
    sc = ap_get_module_config(cmd->server->module_config, &auth_logto_module);
    f = apr_array_push(sc->jwks_files);
    f->path = path;
    f->jwks = jwks;
    f->loaded_at = apr_time_sec(apr_time_now());
}

/* The key set the server configuration read from path, or NULL. */
static logto_jwks_t *declared_jwks(const char *path)
{
    const server_rec *s;
    int i;

    for (s = ap_server_conf; s; s = s->next) {
        const logto_srv_conf_t *sc =
            ap_get_module_config(s->module_config, &auth_logto_module);

        for (i = 0; sc && sc->jwks_files && i < sc->jwks_files->nelts; i++) {
            const logto_jwks_file_t *f =
                &APR_ARRAY_IDX(sc->jwks_files, i, logto_jwks_file_t);

            if (!strcmp(f->path, path)) {
                return (logto_jwks_t *)f->jwks;
            }
        }
    }
    return NULL;
}

/* Read and parse the key set now: a broken file is a startup error, and
 * requests never read it. */
static const char *set_jwks_file(cmd_parms *cmd, void *cfg, const char *arg,
                                 const char *issuer)
{
    logto_dir_conf_t *c = cfg;
    logto_jwks_t *jwks;
    const char *path = ap_server_root_relative(cmd->pool, arg);
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t len;
    char *buf;
    logto_err_t err;
    const char *bad;
    apr_status_t rv;

    if (!path) {
        return apr_psprintf(cmd->pool, "AuthLogtoJwksFile: bad path '%s'", arg);
    }
    /* before the file is opened: .htaccess reads only declared files */
    if ((bad = declare_source(cmd, "file", path)) != NULL) {
        return bad;
    }
    /* ... and takes them as the server configuration read them, at
     * startup: not read and parsed again per request */
    if (in_htaccess(cmd) && (jwks = declared_jwks(path)) != NULL) {
        c->set |= LOGTO_SET_JWKS_FILE;
        return add_keyspec(cmd, c, issuer, NULL, path, jwks);
    }
    rv =
        apr_file_open(&f, path, APR_FOPEN_READ, APR_OS_DEFAULT, cmd->temp_pool);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    }
    if (rv != APR_SUCCESS) {
        return apr_psprintf(cmd->pool,
                            "AuthLogtoJwksFile: cannot read "
                            "'%s': %pm",
                            path, &rv);
    }
    if (fi.size > LOGTO_JWKS_MAX_SIZE) {
        return apr_psprintf(cmd->pool,
                            "AuthLogtoJwksFile: '%s' is over "
                            "%d bytes",
                            path, LOGTO_JWKS_MAX_SIZE);
    }
    len = (apr_size_t)fi.size;
    buf = apr_palloc(cmd->temp_pool, len + 1);
    rv = apr_file_read_full(f, buf, len, &len);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        return apr_psprintf(cmd->pool,
                            "AuthLogtoJwksFile: cannot read "
                            "'%s': %pm",
                            path, &rv);
    }
    if (logto_jwks_parse(&jwks, cmd->pool, buf, len, &err) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "AuthLogtoJwksFile: '%s': %s", path,
                            err.text);
    }
    if (jwks->skipped->nelts) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, cmd->server,
                     LOGTO_LOGNO(01704) "AuthLogtoJwksFile on %s:%d: '%s': "
                                        "members skipped, tokens naming "
                                        "them are refused: %s",
                     cmd->directive->filename, cmd->directive->line_num, path,
                     logto_jwks_skipped_text(jwks, cmd->temp_pool));
    }
    c->set |= LOGTO_SET_JWKS_FILE;
    register_jwks_file(cmd, path, jwks);
    return add_keyspec(cmd, c, issuer, NULL, path, jwks);
}

static const char *set_algorithms(cmd_parms *cmd, void *cfg, int argc,
                                  char *const argv[])
{
    logto_dir_conf_t *c = cfg;
    logto_err_t err;
    const char *list;
    int i;

    if (argc < 1) {
        return "AuthLogtoAlgorithms needs at least one algorithm";
    }
    list = "";
    for (i = 0; i < argc; i++) {
        list = apr_pstrcat(cmd->temp_pool, list, " ", argv[i], NULL);
    }
    if (logto_algset_parse(&c->algorithms, list, &err) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "AuthLogtoAlgorithms: %s", err.text);
    }
    c->set |= LOGTO_SET_ALGS;
    return NULL;
}

/* One setter for every "SECONDS" directive: cmd->info names the field. */
static const char *set_seconds(cmd_parms *cmd, void *cfg, const char *arg)
{
    logto_dir_conf_t *c = cfg;
    unsigned int bit = (unsigned int)(apr_uintptr_t)cmd->info;
    const char *bad;

    switch (bit) {
        case LOGTO_SET_SKEW:
            /* leeway, not a way to turn exp off: an hour at most */
            bad = parse_seconds(cmd, arg, 0, 3600, &c->clock_skew);
            break;
        case LOGTO_SET_REFRESH:
            bad =
                parse_seconds(cmd, arg, 1, LOGTO_MAX_SECONDS, &c->jwks_refresh);
            break;
        case LOGTO_SET_MIN_REFRESH:
            /* 0 would let any client force a fetch per request */
            bad = parse_seconds(cmd, arg, 1, LOGTO_MAX_SECONDS,
                                &c->jwks_min_refresh);
            break;
        case LOGTO_SET_MAX_STALE:
            bad = parse_seconds(cmd, arg, 0, LOGTO_MAX_SECONDS,
                                &c->jwks_max_stale);
            break;
        case LOGTO_SET_DPOP_MAX_AGE:
            /* the replay window: a day of remembered jtis is plenty */
            bad = parse_seconds(cmd, arg, 1, 86400, &c->dpop_max_age);
            break;
        case LOGTO_SET_TIMEOUT:
            bad = parse_seconds(cmd, arg, 1, 300, &c->fetch_timeout);
            break;
        default:
            return "internal error: unknown seconds directive";
    }
    if (!bad) {
        c->set |= bit;
    }
    /* .htaccess is read per request: it is held to the ceilings instead */
    if (!bad && !in_htaccess(cmd)) {
        if (bit == LOGTO_SET_DPOP_MAX_AGE &&
            c->dpop_max_age > dpop_age_ceiling) {
            dpop_age_ceiling = c->dpop_max_age;
        }
        if (bit == LOGTO_SET_SKEW && c->clock_skew > skew_ceiling) {
            skew_ceiling = c->clock_skew;
        }
    }
    return bad;
}

static const char *set_ca_file(cmd_parms *cmd, void *cfg, const char *arg)
{
    logto_dir_conf_t *c = cfg;
    const char *path = ap_server_root_relative(cmd->pool, arg);
    const char *bad;
    logto_err_t err;
    apr_finfo_t fi;

    /* before the file is looked at: .htaccess names only declared CAs */
    if (path && (bad = declare_source(cmd, "ca", path)) != NULL) {
        return bad;
    }
    if (!path ||
        apr_stat(&fi, path, APR_FINFO_TYPE, cmd->temp_pool) != APR_SUCCESS ||
        fi.filetype != APR_REG) {
        return apr_psprintf(cmd->pool,
                            "AuthLogtoCAFile: '%s' is not a "
                            "readable file",
                            arg);
    }
    /* .htaccess names only a CA file the server configuration checked */
    if (!in_htaccess(cmd) && logto_ca_file_check(path, &err) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "AuthLogtoCAFile: '%s' %s", arg,
                            err.text);
    }
    c->ca_file = path;
    c->set |= LOGTO_SET_CA_FILE;
    return NULL;
}

static const char *set_user_claim(cmd_parms *cmd, void *cfg, const char *arg)
{
    logto_dir_conf_t *c = cfg;

    if (!*arg) {
        return "AuthLogtoRemoteUserClaim: empty claim name";
    }
    c->remote_user_claim = arg;
    c->set |= LOGTO_SET_USER_CLAIM;
    return NULL;
}

static const char *set_claim_header(cmd_parms *cmd, void *cfg,
                                    const char *claim, const char *header)
{
    logto_dir_conf_t *c = cfg;
    logto_claim_header_t *ch;
    int i;

    if (!*claim) {
        return "AuthLogtoClaimHeader: empty claim name";
    }
    if (!is_header_name(header)) {
        return apr_psprintf(cmd->pool,
                            "AuthLogtoClaimHeader: '%s' is not "
                            "a header name",
                            header);
    }
    if (is_reserved_header(header_key(cmd->temp_pool, header))) {
        return apr_psprintf(cmd->pool,
                            "AuthLogtoClaimHeader: '%s' is a "
                            "header the request's framing or routing "
                            "depends on, or the module reads; name another "
                            "header",
                            header);
    }
    /* Repeatable: the first line in a scope starts its own list, so an
     * inner scope replaces the outer list rather than adding to it. */
    if (!(c->set & LOGTO_SET_CLAIM_HEADERS) || !c->claim_headers) {
        c->claim_headers =
            apr_array_make(cmd->pool, 4, sizeof(logto_claim_header_t));
    }
    /* one header, one claim: of two, one would be lost without a word */
    for (i = 0; i < c->claim_headers->nelts; i++) {
        ch = &APR_ARRAY_IDX(c->claim_headers, i, logto_claim_header_t);
        if (!strcmp(ch->header_key, header_key(cmd->temp_pool, header))) {
            return apr_psprintf(cmd->pool,
                                "AuthLogtoClaimHeader: '%s' already carries "
                                "the claim '%s' in this section (as '%s': "
                                "CGI sees the two as one)",
                                header, ch->claim, ch->header);
        }
    }
    ch = apr_array_push(c->claim_headers);
    ch->claim = claim;
    ch->header = header;
    ch->header_key = header_key(cmd->pool, header);
    if (!c->strip_keys) {
        c->strip_keys = apr_array_make(cmd->pool, 4, sizeof(const char *));
    }
    APR_ARRAY_PUSH(c->strip_keys, const char *) = ch->header_key;
    c->set |= LOGTO_SET_CLAIM_HEADERS;
    return NULL;
}

static const char *set_realm(cmd_parms *cmd, void *cfg, const char *arg)
{
    logto_dir_conf_t *c = cfg;

    if (!is_quotable(arg)) {
        return "AuthLogtoRealm: printable ASCII only, without quotes and "
               "backslashes (it is sent as a quoted-string)";
    }
    c->realm = arg;
    c->set |= LOGTO_SET_REALM;
    return NULL;
}

static const char *set_unauth(cmd_parms *cmd, void *cfg, const char *arg)
{
    logto_dir_conf_t *c = cfg;

    if (!strcasecmp(arg, "deny")) {
        c->unauth_pass = 0;
    }
    else if (!strcasecmp(arg, "pass")) {
        c->unauth_pass = 1;
    }
    else {
        return "AuthLogtoUnauthenticated: deny or pass";
    }
    c->set |= LOGTO_SET_UNAUTH;
    return NULL;
}

/* On|Off [ENTRIES]. The table is one for the whole server: its size is
 * the largest ENTRIES of the server configuration; 0 turns the cache off
 * for the scope like Off. */
static const char *set_token_cache(cmd_parms *cmd, void *cfg, const char *on,
                                   const char *entries)
{
    logto_dir_conf_t *c = cfg;
    logto_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &auth_logto_module);
    apr_int64_t n = LOGTO_TOKCACHE_DEFAULT_ENTRIES;
    char *end = NULL;

    if (strcasecmp(on, "On") && strcasecmp(on, "Off")) {
        return "AuthLogtoTokenCache: On or Off, then optionally ENTRIES";
    }
    if (entries) {
        errno = 0;
        n = apr_strtoi64(entries, &end, 10);
        if (!apr_isdigit(*entries) || errno || *end || n < 0 ||
            n > LOGTO_MAX_TOKEN_ENTRIES) {
            return apr_psprintf(cmd->pool,
                                "AuthLogtoTokenCache: ENTRIES '%s' is not "
                                "a number from 0 to %d",
                                entries, LOGTO_MAX_TOKEN_ENTRIES);
        }
        if (cmd->pool == cmd->server->process->pconf &&
            n > sc->token_cache_entries) {
            sc->token_cache_entries = (int)n;
        }
    }
    c->token_cache = !strcasecmp(on, "On") && n > 0;
    c->set |= LOGTO_SET_TOKEN_CACHE;
    return NULL;
}

int logto_conf_token_entries(server_rec *s)
{
    int n = -1;

    for (; s; s = s->next) {
        const logto_srv_conf_t *sc =
            ap_get_module_config(s->module_config, &auth_logto_module);
        n = sc->token_cache_entries > n ? sc->token_cache_entries : n;
    }
    return n < 0 ? LOGTO_TOKCACHE_DEFAULT_ENTRIES : n;
}

/* ---------------------------------------------------------- policies */

const logto_keyspec_t *logto_conf_keyspec(const logto_dir_conf_t *c,
                                          const char *issuer)
{
    const logto_keyspec_t *unpaired = NULL;
    int i;

    for (i = 0; c->keyspecs && i < c->keyspecs->nelts; i++) {
        const logto_keyspec_t *k =
            &APR_ARRAY_IDX(c->keyspecs, i, logto_keyspec_t);
        if (k->issuer && !strcmp(k->issuer, issuer)) {
            return k;
        }
        if (!k->issuer) {
            unpaired = k;
        }
    }
    /* With several issuers an unpaired source belongs to none of them:
     * keys of one issuer must never verify tokens of another. */
    return c->issuers && c->issuers->nelts == 1 ? unpaired : NULL;
}

const char *logto_conf_check_keyspecs(apr_pool_t *p, const logto_dir_conf_t *c,
                                      const logto_dir_conf_t *own)
{
    int i;

    if (!c->issuers || !c->issuers->nelts) {
        return NULL;
    }
    for (i = 0; own->keyspecs && i < own->keyspecs->nelts; i++) {
        const logto_keyspec_t *k =
            &APR_ARRAY_IDX(own->keyspecs, i, logto_keyspec_t);
        const char *name =
            k->jwks_file ? "AuthLogtoJwksFile" : "AuthLogtoJwksUri";
        if (k->issuer && !in_list(c->issuers, k->issuer)) {
            return apr_psprintf(p,
                                "%s: %s: '%s' is not one of this section's "
                                "AuthLogtoIssuer URLs",
                                k->where, name, k->issuer);
        }
        if (!k->issuer && c->issuers->nelts > 1) {
            return apr_psprintf(p,
                                "%s: %s: this section has %d issuers; name "
                                "the issuer these keys belong to "
                                "(%s %s ISSUER)",
                                k->where, name, c->issuers->nelts, name,
                                k->jwks_file ? "PATH" : "URL");
        }
    }
    return NULL;
}

/* Where c's keys come from, for the token cache's identity: the source of
 * each issuer, in order. */
static const char *key_source(apr_pool_t *p, const logto_dir_conf_t *c)
{
    const char *all = "";
    int i;

    for (i = 0; c->issuers && i < c->issuers->nelts; i++) {
        const logto_keyspec_t *k =
            logto_conf_keyspec(c, APR_ARRAY_IDX(c->issuers, i, const char *));
        const char *one = !k ? "discover"
                          : k->jwks_file
                              ? apr_pstrcat(p, "file:", k->jwks_file, NULL)
                              : k->jwks_uri;
        all = apr_pstrcat(p, all, i ? " " : "", one, NULL);
    }
    return all;
}

static const logto_policy_t *policy_build(apr_pool_t *p,
                                          const logto_dir_conf_t *c)
{
    logto_policy_t *pol = apr_pcalloc(p, sizeof(*pol));

    pol->issuers =
        c->issuers ? c->issuers : apr_array_make(p, 1, sizeof(const char *));
    pol->audiences = c->audiences;
    pol->algorithms = logto_conf_algs(c);
    pol->clock_skew = logto_conf_skew(c);
    /* Built whether or not the cache is on: it also tells whether two
     * configurations decide alike. */
    pol->cache_id = logto_tokcache_config_id(
        p, pol, key_source(p, c),
        apr_pstrcat(p, "user=", logto_conf_user_claim(c), NULL));
    return pol;
}

const logto_policy_t *logto_conf_policy(request_rec *r,
                                        const logto_dir_conf_t *c)
{
    return c->policy ? c->policy : policy_build(r->pool, c);
}

/* Remember what sec merged under dflt makes, for the merges of requests. */
static void memo_add(apr_pool_t *p, logto_dir_conf_t *sec,
                     logto_dir_conf_t *dflt)
{
    const logto_dir_conf_t *m;
    int i;

    if (!(sec->set & LOGTO_POLICY_BITS) || !(dflt->set & LOGTO_POLICY_BITS)) {
        return;
    }
    if (!sec->memo) {
        sec->memo = apr_pcalloc(p, sizeof(*sec->memo));
    }
    for (i = 0; i < LOGTO_POLICY_MEMOS; i++) {
        if (sec->memo->base[i] == dflt->policy) {
            return;
        }
        if (!sec->memo->base[i]) {
            m = logto_merge_dir_conf(p, dflt, sec);
            sec->memo->merged[i] = policy_build(p, m);
            sec->memo->base[i] = dflt->policy;
            return;
        }
    }
}

static void build_sections(apr_pool_t *p, apr_array_header_t *secs,
                           logto_dir_conf_t *dflt)
{
    ap_conf_vector_t **elts;
    int i;

    for (i = 0; secs && i < secs->nelts; i++) {
        logto_dir_conf_t *c;

        elts = (ap_conf_vector_t **)secs->elts;
        c = ap_get_module_config(elts[i], &auth_logto_module);
        if (!c) {
            continue;
        }
        if (!c->policy) {
            c->policy = policy_build(p, c);
        }
        memo_add(p, c, dflt);
    }
}

void logto_conf_build_policies(apr_pool_t *p, server_rec *s)
{
    for (; s; s = s->next) {
        core_server_config *core = ap_get_core_module_config(s->module_config);
        logto_dir_conf_t *dflt =
            ap_get_module_config(s->lookup_defaults, &auth_logto_module);

        dflt->policy = policy_build(p, dflt);
        build_sections(p, core->sec_url, dflt);
        build_sections(p, core->sec_dir, dflt);
    }
}

/* The pairing of key sources with issuers of every section of s, as the
 * section stands under its server's defaults. */
static const char *check_sections(apr_pool_t *p, apr_array_header_t *secs,
                                  const logto_dir_conf_t *dflt)
{
    ap_conf_vector_t **elts;
    const char *bad = NULL;
    int i;

    for (i = 0; !bad && secs && i < secs->nelts; i++) {
        logto_dir_conf_t *c;

        elts = (ap_conf_vector_t **)secs->elts;
        c = ap_get_module_config(elts[i], &auth_logto_module);
        if (c && c->keyspecs) {
            bad = logto_conf_check_keyspecs(
                p, logto_merge_dir_conf(p, (void *)dflt, c), c);
        }
    }
    return bad;
}

int logto_conf_check(apr_pool_t *p, server_rec *s)
{
    for (; s; s = s->next) {
        core_server_config *core = ap_get_core_module_config(s->module_config);
        const logto_dir_conf_t *dflt =
            ap_get_module_config(s->lookup_defaults, &auth_logto_module);
        const char *bad = logto_conf_check_keyspecs(p, dflt, dflt);

        if (!bad) {
            bad = check_sections(p, core->sec_url, dflt);
        }
        if (!bad) {
            bad = check_sections(p, core->sec_dir, dflt);
        }
        if (bad) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                         LOGTO_LOGNO(01600) "%s", bad);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}

static const char *set_cors(cmd_parms *cmd, void *cfg, const char *arg)
{
    logto_dir_conf_t *c = cfg;

    if (!strcasecmp(arg, "pass")) {
        c->cors_auth = 0;
    }
    else if (!strcasecmp(arg, "auth")) {
        c->cors_auth = 1;
    }
    else {
        return "AuthLogtoCorsPreflight: pass or auth";
    }
    c->set |= LOGTO_SET_CORS;
    return NULL;
}

/* The metadata document is served server-wide at its path
 * (mod_auth_logto_metadata.c); its contents come from the scope's issuer
 * and audience as they stand once the scope is read. */
static const char *set_metadata(cmd_parms *cmd, void *cfg, const char *arg)
{
    logto_dir_conf_t *c = cfg;

    if (arg[0] != '/' || !is_quotable(arg) || strpbrk(arg, " ?#")) {
        return "AuthLogtoResourceMetadata: a URL-path starting with '/' "
               "(no query, no fragment)";
    }
    c->resource_metadata = arg;
    c->set |= LOGTO_SET_METADATA;
    logto_metadata_register(cmd, c, arg);
    return NULL;
}

static const char *set_dpop(cmd_parms *cmd, void *cfg, const char *arg)
{
    logto_dir_conf_t *c = cfg;

    if (!strcasecmp(arg, "on")) {
        c->dpop = LOGTO_DPOP_ON;
    }
    else if (!strcasecmp(arg, "off")) {
        c->dpop = LOGTO_DPOP_OFF;
    }
    else if (!strcasecmp(arg, "required")) {
        c->dpop = LOGTO_DPOP_REQUIRED;
    }
    else {
        return "AuthLogtoDPoP: Off, On or Required";
    }
    c->set |= LOGTO_SET_DPOP;
    return NULL;
}

/* The URL proofs' htu is built on: scheme, host, port and an optional
 * path prefix, normalised once here as every htu is at request time. */
static const char *set_dpop_base_url(cmd_parms *cmd, void *cfg, const char *arg)
{
    logto_dir_conf_t *c = cfg;
    const char *bad = check_url(cmd, arg);
    const char *norm;
    logto_err_t err;
    apr_size_t n;

    if (bad) {
        return bad;
    }
    if (ap_strchr_c(arg, '?')) {
        return "AuthLogtoDPoPBaseURL: no query";
    }
    if (logto_url_normalize(&norm, cmd->pool, arg, &err) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "AuthLogtoDPoPBaseURL: '%s': %s", arg,
                            err.text);
    }
    n = strlen(norm);
    while (n && norm[n - 1] == '/') {
        n--;
    }
    c->dpop_base_url = apr_pstrmemdup(cmd->pool, norm, n);
    c->set |= LOGTO_SET_DPOP_BASE_URL;
    return NULL;
}

static const char *set_dpop_nonce(cmd_parms *cmd, void *cfg, int on)
{
    logto_dir_conf_t *c = cfg;

    c->dpop_nonce = on;
    c->set |= LOGTO_SET_DPOP_NONCE;
    return NULL;
}

/* Smallest shmcb segment the module's records fit in: with its hints
 * (8 KiB objects) a smaller one fails at startup, and under about 16 KiB
 * mod_socache_shmcb divides by zero while sizing its subcaches. */
#define SHMCB_MIN_SIZE 131072

/* shmcb[:PATH](SIZE): SIZE large enough for the module's records. */
static const char *shmcb_size_check(cmd_parms *cmd, const logto_srv_conf_t *sc)
{
    const char *open = sc->cache_args ? strrchr(sc->cache_args, '(') : NULL;
    apr_int64_t size;

    if (strcmp(sc->cache_provider_name, "shmcb") || !open) {
        return NULL;
    }
    size = apr_atoi64(open + 1);
    if (size < SHMCB_MIN_SIZE) {
        return apr_psprintf(cmd->pool,
                            "AuthLogtoCache %s: a shmcb size of at least %d "
                            "bytes, please (the module's records are up "
                            "to 8 KiB each)",
                            sc->cache_spec, SHMCB_MIN_SIZE);
    }
    return NULL;
}

static const char *set_cache(cmd_parms *cmd, void *cfg, const char *arg)
{
    logto_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &auth_logto_module);
    const char *bad = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *probe = NULL;
    const char *colon;

    if (bad) {
        return bad;
    }
    sc->cache_where = where_of(cmd, "AuthLogtoCache");
    sc->cache_none = !strcasecmp(arg, "none");
    if (sc->cache_none) {
        /* per-process caches, chosen knowingly */
        sc->cache_spec = arg;
        sc->cache_provider_name = NULL;
        sc->cache_args = NULL;
        return NULL;
    }
    colon = ap_strchr_c(arg, ':');
    sc->cache_spec = arg;
    sc->cache_provider_name =
        colon ? apr_pstrmemdup(cmd->pool, arg, colon - arg) : arg;
    sc->cache_args = colon ? colon + 1 : NULL;
    if (!*sc->cache_provider_name) {
        return "AuthLogtoCache: PROVIDER[:ARGS], e.g. shmcb";
    }
    provider =
        ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, sc->cache_provider_name,
                           AP_SOCACHE_PROVIDER_VERSION);
    if (!provider) {
        return apr_psprintf(cmd->pool,
                            "AuthLogtoCache: unknown cache provider '%s': "
                            "add `LoadModule socache_%s_module "
                            "modules/mod_socache_%s.so` before this line",
                            sc->cache_provider_name, sc->cache_provider_name,
                            sc->cache_provider_name);
    }
    /* The provider reads its arguments now, as mod_ssl has it do for
     * SSLSessionCache, so a bad size or server list is this line's error
     * (apachectl -t); the instance is made again at startup. */
    bad = provider->create(&probe, sc->cache_args, cmd->temp_pool,
                           cmd->temp_pool);
    if (bad) {
        return apr_psprintf(cmd->pool, "AuthLogtoCache %s: %s", arg, bad);
    }
    /* a size shmcb takes may still be too small for the module's records */
    return shmcb_size_check(cmd, sc);
}

/* Most bytes of a secret file read; more is a sign of the wrong file. */
#define SECRET_MAX 4096

/* The bytes of the secret file at path, from p, or an error string. */
static const char *read_secret(const unsigned char **pbytes, apr_size_t *plen,
                               apr_pool_t *p, const char *path)
{
    unsigned char *buf = apr_palloc(p, SECRET_MAX + 1);
    apr_size_t n = 0;
    apr_file_t *f;
    apr_status_t rv;
    char ebuf[120];

    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p);
    if (rv == APR_SUCCESS) {
        rv = apr_file_read_full(f, buf, SECRET_MAX + 1, &n);
        apr_file_close(f);
        if (APR_STATUS_IS_EOF(rv)) {
            rv = APR_SUCCESS;
        }
    }
    if (rv != APR_SUCCESS && n <= SECRET_MAX) {
        return apr_psprintf(p, "AuthLogtoCacheSecret %s: %s", path,
                            apr_strerror(rv, ebuf, sizeof(ebuf)));
    }
    if (n < LOGTO_RECORD_MIN_SECRET || n > SECRET_MAX) {
        return apr_psprintf(p,
                            "AuthLogtoCacheSecret %s: %" APR_SIZE_T_FMT
                            " bytes; the secret must be %d to %d random "
                            "bytes (openssl rand -out %s 32)",
                            path, n, LOGTO_RECORD_MIN_SECRET, SECRET_MAX, path);
    }
    *pbytes = buf;
    *plen = n;
    return NULL;
}

/* The secret is what keeps a shared cache's records honest: one every
 * user of the host can read lets any of them forge records. Said at
 * startup, with the file and line; not refused (the file's owner and
 * mode are the administrator's to choose). */
static void secret_mode_check(cmd_parms *cmd, const char *path)
{
    apr_finfo_t fi;

    if (apr_stat(&fi, path, APR_FINFO_PROT, cmd->temp_pool) == APR_SUCCESS &&
        (fi.protection & (APR_FPROT_WREAD | APR_FPROT_WWRITE))) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, cmd->server,
                     LOGTO_LOGNO(01705) "AuthLogtoCacheSecret on %s:%d: '%s' "
                                        "is readable or writable by every "
                                        "user of this host, who could then "
                                        "forge shared-cache records: chmod "
                                        "600 (or 640 with httpd's group)",
                     cmd->directive->filename, cmd->directive->line_num, path);
    }
}

static const char *set_cache_secret(cmd_parms *cmd, void *cfg, const char *arg)
{
    logto_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &auth_logto_module);
    const char *bad = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *path;

    if (bad) {
        return bad;
    }
    path = ap_server_root_relative(cmd->pool, arg);
    if (!path) {
        return apr_pstrcat(cmd->pool, "AuthLogtoCacheSecret: invalid path ",
                           arg, NULL);
    }
    sc->cache_secret_file = path;
    bad =
        read_secret(&sc->cache_secret, &sc->cache_secret_len, cmd->pool, path);
    if (!bad) {
        secret_mode_check(cmd, path);
    }
    return bad;
}

static const char *set_state_dir(cmd_parms *cmd, void *cfg, const char *arg)
{
    logto_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &auth_logto_module);
    const char *bad = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (bad) {
        return bad;
    }
    sc->state_dir = ap_server_root_relative(cmd->pool, arg);
    if (!sc->state_dir || !*arg) {
        return apr_pstrcat(cmd->pool, "AuthLogtoStateDir: invalid path ", arg,
                           NULL);
    }
    sc->state_dir_where = where_of(cmd, "AuthLogtoStateDir");
    return NULL;
}

/* AuthLogtoFastP384: server-wide, because it decides how key sets are
 * decoded, and key sets are shared by every location. pre_config turns it
 * back on before each reading of the configuration. */
static const char *set_fast_p384(cmd_parms *cmd, void *cfg, int on)
{
    const char *bad = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (bad) {
        return bad;
    }
    logto_p384_set_enabled(on);
    return NULL;
}

#define DIR_CONF (RSRC_CONF | ACCESS_CONF | OR_AUTHCFG)

const command_rec logto_cmds[] = {
    AP_INIT_TAKE_ARGV("AuthLogtoIssuer", set_issuer, NULL, DIR_CONF,
                      "exact expected issuer (iss) URLs"),
    AP_INIT_TAKE_ARGV("AuthLogtoAudience", set_audience, NULL, DIR_CONF,
                      "accepted audience (aud) URIs"),
    AP_INIT_TAKE12("AuthLogtoJwksUri", set_jwks_uri, NULL, DIR_CONF,
                   "URL of an issuer's JWKS (default: from discovery), "
                   "and the issuer when there are several"),
    AP_INIT_TAKE12("AuthLogtoJwksFile", set_jwks_file, NULL, DIR_CONF,
                   "path of a local JWKS file, and the issuer when there "
                   "are several"),
    AP_INIT_TAKE_ARGV("AuthLogtoAlgorithms", set_algorithms, NULL, DIR_CONF,
                      "accepted JWS algorithms"),
    AP_INIT_TAKE1("AuthLogtoClockSkew", set_seconds,
                  (void *)(apr_uintptr_t)LOGTO_SET_SKEW, DIR_CONF,
                  "seconds of leeway for exp, nbf and iat"),
    AP_INIT_TAKE1("AuthLogtoJwksRefresh", set_seconds,
                  (void *)(apr_uintptr_t)LOGTO_SET_REFRESH, DIR_CONF,
                  "seconds fetched keys count as fresh"),
    AP_INIT_TAKE1("AuthLogtoJwksMinRefresh", set_seconds,
                  (void *)(apr_uintptr_t)LOGTO_SET_MIN_REFRESH, DIR_CONF,
                  "least seconds between refetches for unknown kids"),
    AP_INIT_TAKE1("AuthLogtoJwksMaxStale", set_seconds,
                  (void *)(apr_uintptr_t)LOGTO_SET_MAX_STALE, DIR_CONF,
                  "seconds stale keys serve while the issuer is down"),
    AP_INIT_TAKE1("AuthLogtoFetchTimeout", set_seconds,
                  (void *)(apr_uintptr_t)LOGTO_SET_TIMEOUT, DIR_CONF,
                  "timeout in seconds for discovery and JWKS fetches"),
    AP_INIT_TAKE1("AuthLogtoCAFile", set_ca_file, NULL, DIR_CONF,
                  "CA bundle for https fetches"),
    AP_INIT_TAKE1("AuthLogtoRemoteUserClaim", set_user_claim, NULL, DIR_CONF,
                  "claim that becomes REMOTE_USER"),
    AP_INIT_TAKE2("AuthLogtoClaimHeader", set_claim_header, NULL, DIR_CONF,
                  "CLAIM HEADER: pass a claim to the backend as a header"),
    AP_INIT_TAKE1("AuthLogtoRealm", set_realm, NULL, DIR_CONF,
                  "realm in WWW-Authenticate"),
    AP_INIT_TAKE1("AuthLogtoUnauthenticated", set_unauth, NULL, DIR_CONF,
                  "deny or pass requests without a token"),
    AP_INIT_TAKE12("AuthLogtoTokenCache", set_token_cache, NULL, DIR_CONF,
                   "remember verified tokens: On|Off [ENTRIES]"),
    AP_INIT_TAKE1("AuthLogtoCorsPreflight", set_cors, NULL, DIR_CONF,
                  "pass or auth CORS preflight requests"),
    AP_INIT_TAKE1("AuthLogtoResourceMetadata", set_metadata, NULL, DIR_CONF,
                  "URL-path of RFC 9728 protected-resource metadata"),
    AP_INIT_TAKE1("AuthLogtoDPoP", set_dpop, NULL, DIR_CONF,
                  "Off, On or Required: the DPoP scheme (RFC 9449)"),
    AP_INIT_TAKE1("AuthLogtoDPoPMaxAge", set_seconds,
                  (void *)(apr_uintptr_t)LOGTO_SET_DPOP_MAX_AGE, DIR_CONF,
                  "seconds a DPoP proof is accepted after its iat"),
    AP_INIT_TAKE1("AuthLogtoDPoPBaseURL", set_dpop_base_url, NULL, DIR_CONF,
                  "scheme, host and port DPoP proofs' htu must carry"),
    AP_INIT_FLAG("AuthLogtoDPoPNonce", set_dpop_nonce, NULL, DIR_CONF,
                 "require server-provided DPoP nonces (On|Off)"),
    AP_INIT_TAKE1("AuthLogtoCache", set_cache, NULL, RSRC_CONF,
                  "mod_socache provider for keys and tokens, or none"),
    AP_INIT_TAKE1("AuthLogtoCacheSecret", set_cache_secret, NULL, RSRC_CONF,
                  "a file of at least 32 random bytes: the key that "
                  "authenticates the records shared through AuthLogtoCache"),
    AP_INIT_TAKE1("AuthLogtoStateDir", set_state_dir, NULL, RSRC_CONF,
                  "where the last good key set of each source is kept "
                  "across restarts (default: logto under "
                  "DefaultRuntimeDir)"),
    AP_INIT_FLAG("AuthLogtoFastP384", set_fast_p384, NULL, RSRC_CONF,
                 "ES384 through per-key precomputed tables (On) or "
                 "OpenSSL alone (Off)"),
    {NULL}};
