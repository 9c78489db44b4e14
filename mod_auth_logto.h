/*
 * mod_auth_logto.h - glue-private declarations: configuration structures
 * and what the glue files share. Never included by src/logto_*.c.
 */
#ifndef MOD_AUTH_LOGTO_H
#define MOD_AUTH_LOGTO_H

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <mod_auth.h>

#include "logto_alg.h"
#include "logto_err.h"
#include "logto_jwk.h"
#include "logto_jwt.h"

APLOG_USE_MODULE(auth_logto);
extern module AP_MODULE_DECLARE_DATA auth_logto_module;

/* Our own log tags: one per call site, never reused. */
#define LOGTO_LOGNO(n) "LOGTO" #n ": "

#define LOGTO_AUTH_TYPE "Logto"

/* "Was it set" bits of the per-directory configuration. */
enum {
    LOGTO_SET_ISSUER = 1u << 0,
    LOGTO_SET_AUDIENCE = 1u << 1,
    LOGTO_SET_JWKS_URI = 1u << 2,
    LOGTO_SET_JWKS_FILE = 1u << 3,
    LOGTO_SET_ALGS = 1u << 4,
    LOGTO_SET_SKEW = 1u << 5,
    LOGTO_SET_REFRESH = 1u << 6,
    LOGTO_SET_MIN_REFRESH = 1u << 7,
    LOGTO_SET_MAX_STALE = 1u << 8,
    LOGTO_SET_TIMEOUT = 1u << 9,
    LOGTO_SET_CA_FILE = 1u << 10,
    LOGTO_SET_USER_CLAIM = 1u << 11,
    LOGTO_SET_CLAIM_HEADERS = 1u << 12,
    LOGTO_SET_REALM = 1u << 13,
    LOGTO_SET_UNAUTH = 1u << 14,
    LOGTO_SET_TOKEN_CACHE = 1u << 15,
    LOGTO_SET_CORS = 1u << 16,
    LOGTO_SET_METADATA = 1u << 17,
    LOGTO_SET_DPOP = 1u << 18,
    LOGTO_SET_DPOP_MAX_AGE = 1u << 19,
    LOGTO_SET_DPOP_BASE_URL = 1u << 20,
    LOGTO_SET_DPOP_NONCE = 1u << 21
};

/* AuthLogtoDPoP: whether the DPoP scheme is accepted (RFC 9449). Bound
 * tokens are never accepted as bearer tokens, whatever the mode. */
typedef enum {
    LOGTO_DPOP_ON = 0,  /* Bearer and DPoP (the default) */
    LOGTO_DPOP_OFF,     /* Bearer only */
    LOGTO_DPOP_REQUIRED /* DPoP only */
} logto_dpop_mode_t;

/* AuthLogtoClaimHeader CLAIM HEADER */
typedef struct logto_claim_header_t {
    const char *claim;
    const char *header;
    const char *header_key; /* lower-case, '_' as '-': for the strip */
} logto_claim_header_t;

/* One AuthLogtoJwksUri or AuthLogtoJwksFile line: where the keys of an
 * issuer come from. */
typedef struct logto_keyspec_t {
    const char *issuer;            /* the ISSUER named, NULL: unpaired */
    const char *jwks_uri;          /* either this, */
    const char *jwks_file;         /* or this, */
    const logto_jwks_t *file_jwks; /* parsed when configured */
    const char *where;             /* "file:line" of the directive */
} logto_keyspec_t;

typedef struct logto_dir_conf_t {
    unsigned int set;
    apr_array_header_t *issuers;   /* of const char *: accepted iss */
    apr_array_header_t *audiences; /* of const char * */
    apr_array_header_t *keyspecs;  /* of logto_keyspec_t, at most one per
                                      ISSUER (and one unpaired) */
    logto_algset_t algorithms;
    int clock_skew;
    int jwks_refresh;
    int jwks_min_refresh;
    int jwks_max_stale;
    int fetch_timeout;
    const char *ca_file;
    const char *remote_user_claim;
    apr_array_header_t *claim_headers; /* of logto_claim_header_t */
    apr_array_header_t *strip_keys;    /* of const char *: header keys of
                                          this scope and every outer one */
    const char *realm;
    int unauth_pass;               /* AuthLogtoUnauthenticated pass */
    int token_cache;               /* AuthLogtoTokenCache On (and ENTRIES
                                      not 0) */
    int cors_auth;                 /* AuthLogtoCorsPreflight auth */
    const char *resource_metadata; /* URL-path of RFC 9728 metadata */
    /* What a token must satisfy, built once per configuration section
     * (post_config) and handed on by merges that change none of it; NULL
     * where a request's merge combines settings no section had (built for
     * that request then). */
    const logto_policy_t *policy;
    /* This section's policy merged under the policies it was merged
     * under at startup: base policy -> merged policy. */
    struct logto_policy_memo_t *memo;
    logto_dpop_mode_t dpop;    /* AuthLogtoDPoP */
    int dpop_max_age;          /* AuthLogtoDPoPMaxAge, seconds */
    const char *dpop_base_url; /* normalised, no trailing '/' */
    int dpop_nonce;            /* AuthLogtoDPoPNonce On */
} logto_dir_conf_t;

/* The settings that make up a logto_policy_t: a merge of a section that
 * sets none of them keeps the policy of the scope around it. */
#define LOGTO_POLICY_BITS                                                      \
    (LOGTO_SET_ISSUER | LOGTO_SET_AUDIENCE | LOGTO_SET_JWKS_URI |              \
     LOGTO_SET_JWKS_FILE | LOGTO_SET_ALGS | LOGTO_SET_SKEW |                   \
     LOGTO_SET_USER_CLAIM)

#define LOGTO_POLICY_MEMOS 4
typedef struct logto_policy_memo_t {
    const logto_policy_t *base[LOGTO_POLICY_MEMOS];
    const logto_policy_t *merged[LOGTO_POLICY_MEMOS];
} logto_policy_memo_t;

/* A resource-metadata document served at a path (RFC 9728). */
typedef struct logto_metadata_t {
    const char *path;
    const struct logto_dir_conf_t *conf; /* the scope that named it */
    const char *location; /* its <Location> path, NULL for other scopes */
    server_rec *server;   /* the server whose sections it is under */
    const char *where;    /* file:line of its AuthLogtoResourceMetadata */
} logto_metadata_t;

/* A JWKS file of the configuration, listed on the status page. */
typedef struct logto_jwks_file_t {
    const char *path;
    const logto_jwks_t *jwks;
    apr_int64_t loaded_at; /* seconds since the epoch */
} logto_jwks_file_t;

/* The scopes of one `Require logto-scope` line of the server
 * configuration, for the RFC 9728 document's scopes_supported. */
typedef struct logto_scope_line_t {
    server_rec *server;         /* the server it is written in */
    const char *path;           /* its section's path (cmd->path) */
    apr_array_header_t *scopes; /* of const char * */
} logto_scope_line_t;

typedef struct logto_srv_conf_t {
    const char *cache_spec; /* AuthLogtoCache as written */
    int cache_none;         /* AuthLogtoCache none: per process */
    const char *cache_provider_name;
    const char
        *cache_where; /* file:line of AuthLogtoCache, for startup errors */
    const char *cache_args;
    const char *cache_secret_file;     /* AuthLogtoCacheSecret, resolved */
    const unsigned char *cache_secret; /* its bytes, read at startup */
    apr_size_t cache_secret_len;
    const char *state_dir;           /* AuthLogtoStateDir, resolved */
    const char *state_dir_where;     /* its file:line */
    apr_array_header_t *metadata;    /* of logto_metadata_t */
    apr_array_header_t *jwks_files;  /* of logto_jwks_file_t */
    int token_cache_entries;         /* largest ENTRIES of
                                        AuthLogtoTokenCache, -1: none */
    apr_array_header_t *scope_lines; /* of logto_scope_line_t */
} logto_srv_conf_t;

/* What verification said about this request's token, kept for the
 * request so every phase and expression sees one answer. */
typedef enum {
    LOGTO_V_NONE = 0,    /* no token sent */
    LOGTO_V_VALID,       /* verified */
    LOGTO_V_BAD_REQUEST, /* 400 invalid_request */
    LOGTO_V_INVALID,     /* 401 invalid_token */
    LOGTO_V_UNAVAILABLE, /* 503: keys cannot be had */
    LOGTO_V_MISCONFIG    /* 500: the location lacks issuer or audience */
} logto_verdict_t;

typedef struct logto_req_t {
    const struct logto_dir_conf_t *conf; /* the configuration it used */
    const logto_policy_t *policy;        /* what of it decides */
    logto_verdict_t verdict;
    logto_err_t err;
    const char *description;    /* error_description, if any */
    logto_claims_t *claims;     /* when LOGTO_V_VALID */
    const char *user;           /* its user claim, when LOGTO_V_VALID */
    const char *missing_scopes; /* of denied logto-scope lines */
    int assume_scopes;          /* logto-scope lines grant, noting what
                                   they miss: authorization asked again */
    int preflight;              /* a CORS preflight let through */
    int published;              /* user, env and headers set */
    int cache_hit;              /* the token cache vouched for it */
    int dpop;                   /* sent as "Authorization: DPoP" */
    const char *cnf_jkt;        /* the token's DPoP key, when bound */
    int status; /* a bad request's own status (a body that could not be
                   read), 0: 400 */
} logto_req_t;

/* mod_auth_logto_config.c */
extern const command_rec logto_cmds[];
void *logto_create_dir_conf(apr_pool_t *p, char *dir);
void *logto_merge_dir_conf(apr_pool_t *p, void *basev, void *addv);
void *logto_create_srv_conf(apr_pool_t *p, server_rec *s);
void *logto_merge_srv_conf(apr_pool_t *p, void *basev, void *addv);
/* Effective values, defaults applied. */
int logto_conf_skew(const logto_dir_conf_t *c);
logto_algset_t logto_conf_algs(const logto_dir_conf_t *c);
const char *logto_conf_realm(const logto_dir_conf_t *c, request_rec *r);
const char *logto_conf_user_claim(const logto_dir_conf_t *c);
int logto_conf_refresh(const logto_dir_conf_t *c);
int logto_conf_min_refresh(const logto_dir_conf_t *c);
int logto_conf_max_stale(const logto_dir_conf_t *c);
int logto_conf_timeout(const logto_dir_conf_t *c);
int logto_conf_dpop_max_age(const logto_dir_conf_t *c);
/* The key source of issuer under c: the one paired with it, else the
 * unpaired one when c has a single issuer; NULL: discovery. */
const logto_keyspec_t *logto_conf_keyspec(const logto_dir_conf_t *c,
                                          const char *issuer);
/* Why the key sources of c (those of its own lines, own) cannot be paired
 * with the issuers of c, or NULL when they can. */
const char *logto_conf_check_keyspecs(apr_pool_t *p, const logto_dir_conf_t *c,
                                      const logto_dir_conf_t *own);
/* The policy of c: built once per section at startup; for a request
 * whose merge combined settings in a way no section did, built from
 * r->pool. */
const logto_policy_t *logto_conf_policy(request_rec *r,
                                        const logto_dir_conf_t *c);
/* check_config: every key source pairs with an issuer of its section
 * (logged, and not OK, when one does not). */
int logto_conf_check(apr_pool_t *p, server_rec *s);
/* post_config: build the policy of every section, and of each section as
 * merged under its server's defaults. */
void logto_conf_build_policies(apr_pool_t *p, server_rec *s);
/* The token table's size: the largest ENTRIES configured, else the
 * default. */
int logto_conf_token_entries(server_rec *s);
/* Forget the key sources of the previous configuration read (pre_config):
 * .htaccess may name only those the server configuration declares. */
void logto_conf_sources_reset(apr_pool_t *pconf);

/* The longest AuthLogtoDPoPMaxAge and AuthLogtoClockSkew of the server
 * configuration (the defaults at least): how long a used DPoP proof is
 * remembered, and the most any section, .htaccess included, accepts. */
void logto_conf_dpop_ceiling(int *pmax_age, int *pskew);
/* check_config: the cross-directive errors a single directive cannot see
 * (mod_auth_logto_check.c), each reported with its file and line. */
int logto_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                       server_rec *s);

/* mod_auth_logto.c */
/* The request's remembered verification, or NULL when none ran. */
logto_req_t *logto_request_get(request_rec *r);
/* A challenge of scheme ("Bearer", "DPoP") with the location's realm, the
 * optional error, description and scope, and resource_metadata; lead,
 * when not NULL, comes first, as is (auth-params already quoted). */
const char *logto_challenge(request_rec *r, const logto_dir_conf_t *c,
                            const char *scheme, const char *lead,
                            const char *error, const char *desc,
                            const char *scope);
/* For the module's own GET-only pages, before a 405: the methods the
 * answer's Allow header names (GET, and HEAD with it). */
void logto_allow_get(request_rec *r);

/* mod_auth_logto_authz.c */
void logto_register_authz(apr_pool_t *p);

#endif /* MOD_AUTH_LOGTO_H */
