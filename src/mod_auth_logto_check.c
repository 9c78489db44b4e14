/*
 * mod_auth_logto_check.c - glue: configuration errors that no single
 * directive can see, found at check_config so that `apachectl -t` reports
 * them, each with the file and line it is about.
 *
 * - AuthType Logto in a section of the server configuration where no
 *   AuthLogtoIssuer or no AuthLogtoAudience can be in effect: every
 *   request there would be refused with a 500.
 * - A plain-http AuthLogtoJwksUri where an https AuthLogtoIssuer is in
 *   effect through an enclosing section (one section alone is checked by
 *   the directives themselves).
 * - No shared cache: AuthLogtoCache unset and mod_socache_shmcb not
 *   loaded would leave every child with its own keys and token cache.
 *
 * .htaccess is read per request and cannot be seen here: a section that
 * lacks settings there is refused at run time.
 */
#include <apr_lib.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <ap_provider.h>
#include <ap_socache.h>

#include "mod_auth_logto.h"

/* What a section is, as far as its settings can reach a request. */
typedef enum {
    SEC_SERVER = 0, /* the server or virtual host itself */
    SEC_DIRECTORY,
    SEC_LOCATION,
    SEC_FILES,
    SEC_OTHER /* <If>, <Proxy>, ...: may apply anywhere */
} sec_kind_t;

typedef struct section_t {
    const ap_directive_t *node; /* "<Location ...>"; NULL for a server */
    sec_kind_t kind;
    const char *path;               /* plain path; NULL for patterns */
    int server;                     /* 0 the main server, then each vhost */
    const struct section_t *parent; /* the section it is written in */
    const ap_directive_t *authtype; /* its AuthType Logto, if it is last */
    int has_issuer;
    int has_audience;
    const ap_directive_t *issuer; /* its last AuthLogtoIssuer */
    const ap_directive_t *jwks;   /* its last AuthLogtoJwksUri/File */
} section_t;

typedef struct {
    apr_pool_t *p;
    apr_array_header_t *sections; /* of section_t * */
    int servers;
} walk_t;

static const struct {
    const char *name;
    sec_kind_t kind;
    int pattern; /* the argument is always a regex */
} section_names[] = {
    {"<Directory", SEC_DIRECTORY, 0},
    {"<DirectoryMatch", SEC_DIRECTORY, 1},
    {"<Location", SEC_LOCATION, 0},
    {"<LocationMatch", SEC_LOCATION, 1},
    {"<Files", SEC_FILES, 0},
    {"<FilesMatch", SEC_FILES, 1},
    {"<If", SEC_OTHER, 1},
    {"<ElseIf", SEC_OTHER, 1},
    {"<Else", SEC_OTHER, 1},
    {"<Proxy", SEC_OTHER, 1},
    {"<ProxyMatch", SEC_OTHER, 1},
};

/* The argument of a section line without its '>' and quotes; NULL when
 * it is a pattern (regex or wildcard), which may cover anything. */
static const char *plain_path(apr_pool_t *p, const char *args, int pattern)
{
    char *a = apr_pstrdup(p, args ? args : "");
    char *end = strrchr(a, '>');
    const char *word;
    const char *rest;

    if (end) {
        *end = '\0';
    }
    rest = a;
    word = ap_getword_conf(p, &rest);
    if (pattern || !word || !*word || !strcmp(word, "~") ||
        strpbrk(word, "*?[")) {
        return NULL;
    }
    return word;
}

static section_t *new_section(walk_t *w, const ap_directive_t *node,
                              sec_kind_t kind, const char *path, int server,
                              const section_t *parent)
{
    section_t *sec = apr_pcalloc(w->p, sizeof(*sec));

    sec->node = node;
    sec->kind = kind;
    sec->path = path;
    sec->server = server;
    sec->parent = parent;
    APR_ARRAY_PUSH(w->sections, section_t *) = sec;
    return sec;
}

static void walk(walk_t *w, const ap_directive_t *d, section_t *sec);

/* A "<...>" line: a new section, a new server, or a container such as
 * <IfModule> or <RequireAll> that adds no section of its own. */
static void walk_container(walk_t *w, const ap_directive_t *d, section_t *sec)
{
    apr_size_t i;

    if (!strcasecmp(d->directive, "<VirtualHost")) {
        walk(w, d->first_child,
             new_section(w, d, SEC_SERVER, NULL, ++w->servers, NULL));
        return;
    }
    for (i = 0; i < sizeof(section_names) / sizeof(section_names[0]); i++) {
        if (!strcasecmp(d->directive, section_names[i].name)) {
            walk(
                w, d->first_child,
                new_section(w, d, section_names[i].kind,
                            plain_path(w->p, d->args, section_names[i].pattern),
                            sec->server, sec));
            return;
        }
    }
    walk(w, d->first_child, sec);
}

static void walk(walk_t *w, const ap_directive_t *d, section_t *sec)
{
    for (; d; d = d->next) {
        if (d->directive[0] == '<') {
            walk_container(w, d, sec);
        }
        else if (!strcasecmp(d->directive, "AuthType")) {
            sec->authtype = (d->args && !strncasecmp(d->args, "Logto", 5) &&
                             (d->args[5] == '\0' || apr_isspace(d->args[5])))
                                ? d
                                : NULL;
        }
        else if (!strcasecmp(d->directive, "AuthLogtoIssuer")) {
            sec->has_issuer = 1;
            sec->issuer = d;
        }
        else if (!strcasecmp(d->directive, "AuthLogtoJwksUri") ||
                 !strcasecmp(d->directive, "AuthLogtoJwksFile")) {
            sec->jwks = d;
        }
        else if (!strcasecmp(d->directive, "AuthLogtoAudience")) {
            sec->has_audience = 1;
        }
    }
}

/* Whether plain prefix path a reaches everything under plain path b, as
 * the location and directory walks compare them. */
static int path_covers(const char *a, const char *b)
{
    apr_size_t len = strlen(a);

    while (len > 1 && a[len - 1] == '/') {
        len--;
    }
    if (strncmp(a, b, len)) {
        return 0;
    }
    return len == 0 || a[len - 1] == '/' || b[len] == '/' || b[len] == '\0';
}

/* Whether the settings of t may be merged into a request that s's
 * settings reach. Anything httpd might merge counts: a wrong "yes" only
 * leaves the check to run time, a wrong "no" would refuse to start. */
static int may_reach(const section_t *t, const section_t *s)
{
    if (t == s || t->kind == SEC_SERVER) {
        return 0; /* the servers are looked at through the parents */
    }
    if (t->server != s->server && t->server != 0 && s->server != 0) {
        return 0;
    }
    if (t->kind != s->kind || t->kind == SEC_FILES || t->kind == SEC_OTHER ||
        !t->path || !s->path) {
        return 1;
    }
    return path_covers(t->path, s->path);
}

/* Whether a setting (has_issuer or has_audience, picked by get) can be
 * in effect for s: in s, a section s is written in, the main server, or
 * another section that may be merged with s. */
static int setting_reaches(const walk_t *w, const section_t *s,
                           int (*get)(const section_t *))
{
    const section_t *up;
    int i;

    for (up = s; up; up = up->parent) {
        if (get(up)) {
            return 1;
        }
    }
    for (i = 0; i < w->sections->nelts; i++) {
        const section_t *t = APR_ARRAY_IDX(w->sections, i, section_t *);

        if (get(t) &&
            ((t->kind == SEC_SERVER && t->server == 0) ||
             (t->kind == SEC_SERVER && s->server == 0) || may_reach(t, s))) {
            return 1;
        }
    }
    return 0;
}

static int get_issuer(const section_t *s)
{
    return s->has_issuer;
}

static int get_audience(const section_t *s)
{
    return s->has_audience;
}

/* "<Location /api>" or "the server configuration", for messages. */
static const char *section_name(apr_pool_t *p, const section_t *s)
{
    const char *args;

    if (!s->node) {
        return "the server configuration";
    }
    args = s->node->args ? s->node->args : ">";
    if (s->kind == SEC_SERVER) {
        return apr_pstrcat(p, "the virtual host ", s->node->directive, " ",
                           args, NULL);
    }
    return apr_pstrcat(p, s->node->directive, " ", args, NULL);
}

static int is_plain_http(const ap_directive_t *d)
{
    return d && d->args && !strncasecmp(d->args, "http://", 7);
}

/* The directive of s or of the nearest section s is written in (then the
 * main server) that sets it: what s inherits, when nothing else can be
 * merged in between. */
static const ap_directive_t *
inherited(const walk_t *w, const section_t *s,
          const ap_directive_t *(*get)(const section_t *))
{
    const section_t *up;

    for (up = s; up; up = up->parent) {
        if (get(up)) {
            return get(up);
        }
    }
    s = APR_ARRAY_IDX(w->sections, 0, section_t *); /* the main server */
    return get(s);
}

static const ap_directive_t *get_issuer_line(const section_t *s)
{
    return s->issuer;
}

static const ap_directive_t *get_jwks_line(const section_t *s)
{
    return s->jwks;
}

/* Whether another section could merge an issuer of its own into s: then
 * which issuer s ends with is not known here, and the check stands back. */
static int other_issuer_may_reach(const walk_t *w, const section_t *s)
{
    int i;

    for (i = 0; i < w->sections->nelts; i++) {
        const section_t *t = APR_ARRAY_IDX(w->sections, i, section_t *);
        const section_t *up;

        for (up = s; up && up != t; up = up->parent) {
        }
        if (!up && t->issuer && may_reach(t, s)) {
            return 1;
        }
    }
    return 0;
}

/* Keys for an https issuer come over https, also when the issuer and the
 * JWKS URI are written in different sections. */
static int check_jwks_schemes(const walk_t *w, server_rec *s)
{
    int i, bad = 0;

    for (i = 0; i < w->sections->nelts; i++) {
        const section_t *sec = APR_ARRAY_IDX(w->sections, i, section_t *);
        const ap_directive_t *iss, *jwks;

        if (!sec->issuer && !sec->jwks) {
            continue;
        }
        iss = inherited(w, sec, get_issuer_line);
        jwks = inherited(w, sec, get_jwks_line);
        if (!iss || is_plain_http(iss) || !is_plain_http(jwks) ||
            !strcasecmp(jwks->directive, "AuthLogtoJwksFile") ||
            (sec->issuer && sec->jwks) || other_issuer_may_reach(w, sec)) {
            continue; /* one section alone: its directives checked it */
        }
        ap_log_error(
            APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
            LOGTO_LOGNO(
                01212) "AuthLogtoJwksUri on line %d of %s "
                       "is plain http for the https issuer of line %d of %s: "
                       "keys must come over https",
            jwks->line_num, jwks->filename, iss->line_num, iss->filename);
        bad = 1;
    }
    return bad ? HTTP_INTERNAL_SERVER_ERROR : OK;
}

static int check_sections(apr_pool_t *ptemp, server_rec *s)
{
    walk_t w;
    int i, bad = 0;

    w.p = ptemp;
    w.sections = apr_array_make(ptemp, 32, sizeof(section_t *));
    w.servers = 0;
    walk(&w, ap_conftree, new_section(&w, NULL, SEC_SERVER, NULL, 0, NULL));
    for (i = 0; i < w.sections->nelts; i++) {
        const section_t *sec = APR_ARRAY_IDX(w.sections, i, section_t *);
        const char *missing = NULL;
        int iss, aud;

        if (!sec->authtype) {
            continue;
        }
        iss = setting_reaches(&w, sec, get_issuer);
        aud = setting_reaches(&w, sec, get_audience);
        if (iss && aud) {
            continue;
        }
        missing = !iss && !aud ? "AuthLogtoIssuer and AuthLogtoAudience"
                  : !iss       ? "AuthLogtoIssuer"
                               : "AuthLogtoAudience";
        ap_log_error(
            APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
            LOGTO_LOGNO(
                01210) "AuthType Logto on line %d of %s, "
                       "in %s: no %s in effect for this section; set it "
                       "there or in a section around it",
            sec->authtype->line_num, sec->authtype->filename,
            section_name(ptemp, sec), missing);
        bad = 1;
    }
    if (check_jwks_schemes(&w, s) != OK) {
        bad = 1;
    }
    return bad ? HTTP_INTERNAL_SERVER_ERROR : OK;
}

static int check_shared_cache(server_rec *s)
{
    const logto_srv_conf_t *sc =
        ap_get_module_config(s->module_config, &auth_logto_module);

    if (sc->cache_spec || sc->cache_none ||
        ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, "shmcb",
                           AP_SOCACHE_PROVIDER_VERSION)) {
        return OK;
    }
    /* No line to point at: what is wrong is a line that is not there. */
    ap_log_error(
        APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
        LOGTO_LOGNO(
            01211) "mod_auth_logto has no shared cache: "
                   "AuthLogtoCache is not set and mod_socache_shmcb is not "
                   "loaded, so every child would keep its own keys and "
                   "tokens. Add `LoadModule socache_shmcb_module "
                   "modules/mod_socache_shmcb.so` to the configuration, or "
                   "set "
                   "`AuthLogtoCache none` for per-process caches");
    return HTTP_INTERNAL_SERVER_ERROR;
}

int logto_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                       server_rec *s)
{
    int cache = check_shared_cache(s);
    int sections = check_sections(ptemp, s);

    return cache == OK && sections == OK ? OK : HTTP_INTERNAL_SERVER_ERROR;
}
