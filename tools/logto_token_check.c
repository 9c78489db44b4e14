/*
 * logto_token_check.c - logto-token-check: verify one access token from
 * the command line exactly as the module would, and say why it is refused.
 *
 * Exit status: 0 accepted, 1 refused, 2 usage, key or network trouble.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "logto_alg.h"
#include "logto_cnf.h"
#include "logto_dpop.h"
#include "logto_err.h"
#include "logto_fetch.h"
#include "logto_json.h"
#include "logto_jwk.h"
#include "logto_jwt.h"
#include "logto_scope.h"
#include "logto_verify.h"

#define EXIT_ACCEPTED 0
#define EXIT_REFUSED  1
#define EXIT_TROUBLE  2

#define FETCH_TIMEOUT 5

typedef struct check_args_t {
    logto_policy_t pol;
    /* of const char *: "file:PATH" or "uri:URL", the n-th for the n-th
     * --issuer */
    apr_array_header_t *sources;
    apr_array_header_t *scopes; /* of const char *: all required */
    const char *token_arg;
    const char *dpop;         /* --dpop PROOF */
    const char *method;       /* --method, GET by default */
    const char *url;          /* --url */
    apr_int64_t dpop_max_age; /* --dpop-max-age, 300 by default */
    const char *ca_file;      /* --ca-file: the only CAs for https */
} check_args_t;

static void usage(FILE *out)
{
    fputs("usage: logto-token-check (--issuer URL"
          " (--jwks-file PATH | --jwks-uri URL))...\n"
          "           --audience URI [--audience URI]... [--scope S]...\n"
          "           [--clock-skew SECONDS] [--algorithms \"ES384 RS256\"]\n"
          "           [--ca-file PATH]\n"
          "           [--dpop PROOF --url URL [--method GET]"
          " [--dpop-max-age SECONDS]] TOKEN\n"
          "\n"
          "Verify a Logto access token (signature, iss, aud, exp, nbf, iat,"
          " scopes).\n"
          "TOKEN '-' reads the token from standard input.\n"
          "Several --issuer: the n-th --jwks-file or --jwks-uri holds the"
          " keys of the\n"
          "n-th issuer, and a token verifies only with the keys of the"
          " issuer it names.\n"
          "With --dpop, the token is sent with the DPoP scheme and PROOF"
          " is checked\n"
          "for a request of METHOD to URL (RFC 9449; whether its jti was"
          " seen before\n"
          "is the server's to know). A DPoP-bound token without --dpop is"
          " refused,\n"
          "as the module refuses it as a Bearer token.\n"
          "--ca-file: the CAs trusted for --jwks-uri over https, instead"
          " of the system's\n"
          "(AuthLogtoCAFile).\n"
          "Exit status: 0 accepted, 1 refused, 2 usage, key or network"
          " error.\n",
          out);
}

static int trouble(const char *what, const char *why)
{
    fprintf(stderr, "logto-token-check: %s%s%s\n", what, why ? ": " : "",
            why ? why : "");
    return EXIT_TROUBLE;
}

/* Read at most max bytes of f into *pbuf (NUL-terminated, from p).
 * APR_ENOSPC when there is more. */
static apr_status_t read_bounded(char **pbuf, apr_size_t *plen, apr_pool_t *p,
                                 FILE *f, apr_size_t max)
{
    char *buf = apr_palloc(p, max + 2);
    apr_size_t len = fread(buf, 1, max + 1, f);

    if (ferror(f)) {
        return APR_EGENERAL;
    }
    if (len > max) {
        return APR_ENOSPC;
    }
    buf[len] = '\0';
    *pbuf = buf;
    *plen = len;
    return APR_SUCCESS;
}

/* ---------------------------------------------------------- the key set */

/* GET url with the module's own fetch: a 200 answer of at most
 * LOGTO_JWKS_MAX_SIZE bytes, certificates (against ca_file, else the
 * system's CAs) and host names verified, FETCH_TIMEOUT seconds. */
static int fetch(char **pbody, apr_size_t *plen, apr_pool_t *p, const char *url,
                 const char *ca_file)
{
    logto_fetch_opts_t opts;
    logto_err_t err;

    logto_fetch_opts_init(&opts);
    opts.ca_file = ca_file;
    opts.timeout = FETCH_TIMEOUT;
    opts.max_body = LOGTO_JWKS_MAX_SIZE;
    opts.max_redirects = 0;
    logto_err_clear(&err);
    if (logto_fetch_get(pbody, plen, p, url, &opts, &err) != APR_SUCCESS) {
        return trouble("--jwks-uri", apr_pstrdup(p, err.text));
    }
    return EXIT_ACCEPTED;
}

static int read_jwks_file(char **pbody, apr_size_t *plen, apr_pool_t *p,
                          const char *path)
{
    FILE *f = fopen(path, "rb");
    apr_status_t rv;

    if (!f) {
        return trouble(path, strerror(errno));
    }
    rv = read_bounded(pbody, plen, p, f, LOGTO_JWKS_MAX_SIZE);
    fclose(f);
    if (rv == APR_ENOSPC) {
        return trouble(path, "larger than 1 MiB");
    }
    if (rv != APR_SUCCESS) {
        return trouble(path, "cannot read");
    }
    return EXIT_ACCEPTED;
}

/* The key set of source (as recorded by take_option). */
static int load_jwks(logto_jwks_t **pjwks, apr_pool_t *p, const char *source,
                     const char *ca_file)
{
    char *body = NULL;
    apr_size_t len = 0;
    logto_err_t err;
    int rc;

    rc = !strncmp(source, "file:", 5)
             ? read_jwks_file(&body, &len, p, source + 5)
             : fetch(&body, &len, p, source + 4, ca_file);
    if (rc != EXIT_ACCEPTED) {
        return rc;
    }
    logto_err_clear(&err);
    if (logto_jwks_parse(pjwks, p, body, len, &err) != APR_SUCCESS) {
        return trouble("key set", err.text);
    }
    return EXIT_ACCEPTED;
}

/* One key source per issuer, in the order given. */
static int load_sources(logto_keysource_t **pks, apr_pool_t *p,
                        const check_args_t *a)
{
    int i, rc, n = a->sources->nelts;
    logto_keysource_t *ks = apr_pcalloc(p, n * sizeof(*ks));
    logto_jwks_t *jwks;

    for (i = 0; i < n; i++) {
        rc = load_jwks(&jwks, p, APR_ARRAY_IDX(a->sources, i, const char *),
                       a->ca_file);
        if (rc != EXIT_ACCEPTED) {
            return rc;
        }
        logto_keysource_fixed(&ks[i], jwks);
    }
    *pks = ks;
    return EXIT_ACCEPTED;
}

/* ----------------------------------------------------------- arguments */

enum {
    OPT_ISSUER = 256,
    OPT_AUDIENCE,
    OPT_JWKS_FILE,
    OPT_JWKS_URI,
    OPT_SCOPE,
    OPT_SKEW,
    OPT_ALGS,
    OPT_DPOP,
    OPT_METHOD,
    OPT_URL,
    OPT_DPOP_MAX_AGE,
    OPT_CA_FILE,
    OPT_HELP
};

static const struct option long_opts[] = {
    {"issuer", required_argument, NULL, OPT_ISSUER},
    {"audience", required_argument, NULL, OPT_AUDIENCE},
    {"jwks-file", required_argument, NULL, OPT_JWKS_FILE},
    {"jwks-uri", required_argument, NULL, OPT_JWKS_URI},
    {"scope", required_argument, NULL, OPT_SCOPE},
    {"clock-skew", required_argument, NULL, OPT_SKEW},
    {"algorithms", required_argument, NULL, OPT_ALGS},
    {"dpop", required_argument, NULL, OPT_DPOP},
    {"method", required_argument, NULL, OPT_METHOD},
    {"url", required_argument, NULL, OPT_URL},
    {"dpop-max-age", required_argument, NULL, OPT_DPOP_MAX_AGE},
    {"ca-file", required_argument, NULL, OPT_CA_FILE},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0}};

static int parse_seconds(apr_int64_t *pskew, const char *s, const char *what)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 86400 * 365) {
        return trouble(what, "not a number of seconds");
    }
    *pskew = v;
    return EXIT_ACCEPTED;
}

/* One option into a; EXIT_TROUBLE on a bad value. */
static int take_option(check_args_t *a, apr_pool_t *p, int opt, const char *val)
{
    logto_err_t err;

    switch (opt) {
        case OPT_ISSUER:
            APR_ARRAY_PUSH(a->pol.issuers, const char *) = val;
            return EXIT_ACCEPTED;
        case OPT_AUDIENCE:
            APR_ARRAY_PUSH(a->pol.audiences, const char *) = val;
            return EXIT_ACCEPTED;
        case OPT_JWKS_FILE:
            APR_ARRAY_PUSH(a->sources, const char *) =
                apr_pstrcat(p, "file:", val, NULL);
            return EXIT_ACCEPTED;
        case OPT_JWKS_URI:
            APR_ARRAY_PUSH(a->sources, const char *) =
                apr_pstrcat(p, "uri:", val, NULL);
            return EXIT_ACCEPTED;
        case OPT_SCOPE:
            apr_array_cat(a->scopes, logto_scope_split(p, val));
            return EXIT_ACCEPTED;
        case OPT_SKEW:
            return parse_seconds(&a->pol.clock_skew, val, "--clock-skew");
        case OPT_DPOP_MAX_AGE:
            return parse_seconds(&a->dpop_max_age, val, "--dpop-max-age");
        case OPT_DPOP:
            a->dpop = val;
            return EXIT_ACCEPTED;
        case OPT_METHOD:
            a->method = val;
            return EXIT_ACCEPTED;
        case OPT_URL:
            a->url = val;
            return EXIT_ACCEPTED;
        case OPT_CA_FILE:
            logto_err_clear(&err);
            if (logto_ca_file_check(val, &err) != APR_SUCCESS) {
                return trouble("--ca-file", err.text);
            }
            a->ca_file = val;
            return EXIT_ACCEPTED;
        case OPT_ALGS:
            logto_err_clear(&err);
            if (logto_algset_parse(&a->pol.algorithms, val, &err) !=
                APR_SUCCESS) {
                return trouble("--algorithms", err.text);
            }
            return EXIT_ACCEPTED;
        default:
            usage(stderr);
            return EXIT_TROUBLE;
    }
}

static int parse_args(check_args_t *a, apr_pool_t *p, int argc, char **argv)
{
    int opt, rc;

    memset(a, 0, sizeof(*a));
    a->pol.issuers = apr_array_make(p, 1, sizeof(const char *));
    a->sources = apr_array_make(p, 1, sizeof(const char *));
    a->pol.audiences = apr_array_make(p, 2, sizeof(const char *));
    a->pol.algorithms = LOGTO_ALGSET_DEFAULT;
    a->pol.clock_skew = 60;
    a->method = "GET";
    a->dpop_max_age = 300;
    a->scopes = apr_array_make(p, 2, sizeof(const char *));
    while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        if (opt == OPT_HELP) {
            usage(stdout);
            exit(EXIT_ACCEPTED);
        }
        if ((rc = take_option(a, p, opt, optarg)) != EXIT_ACCEPTED) {
            return rc;
        }
    }
    /* As many key sources as issuers: the n-th is the n-th issuer's. */
    if (a->pol.issuers->nelts == 0 ||
        a->sources->nelts != a->pol.issuers->nelts ||
        a->pol.audiences->nelts == 0 || optind != argc - 1 ||
        !a->dpop != !a->url) {
        usage(stderr);
        return EXIT_TROUBLE;
    }
    a->token_arg = argv[optind];
    return EXIT_ACCEPTED;
}

/* The token from the argument, or from standard input for "-" (one
 * trailing line end stripped). */
static int get_token(const char **ptoken, apr_size_t *plen, apr_pool_t *p,
                     const char *arg)
{
    char *buf;
    apr_size_t len;

    if (strcmp(arg, "-") != 0) {
        *ptoken = arg;
        *plen = strlen(arg);
        return EXIT_ACCEPTED;
    }
    /* Room for one byte over the bound and a line end, so an oversized
     * token still reaches the verifier and is refused as such. */
    if (read_bounded(&buf, &len, p, stdin, LOGTO_TOKEN_MAX_SIZE + 3) !=
        APR_SUCCESS) {
        return trouble("standard input", "cannot read the token");
    }
    if (len > 0 && buf[len - 1] == '\n') {
        buf[--len] = '\0';
        if (len > 0 && buf[len - 1] == '\r') {
            buf[--len] = '\0';
        }
    }
    *ptoken = buf;
    *plen = len;
    return EXIT_ACCEPTED;
}

/* --------------------------------------------------------------- check */

static int report(const logto_claims_t *c, const check_args_t *a, apr_pool_t *p)
{
    const char *missing = logto_scope_missing(p, c->scopes, a->scopes);
    size_t flags = JSON_INDENT(2) | JSON_SORT_KEYS;

    if (missing) {
        printf("refused: insufficient scope, missing: %s\n", missing);
        return EXIT_REFUSED;
    }
    printf("accepted\nheader: %s\nclaims: %s\n",
           logto_json_dump(p, c->header, flags),
           logto_json_dump(p, c->payload, flags));
    return EXIT_ACCEPTED;
}

/* The token's binding as the module enforces it: a DPoP-bound token
 * needs a proof for this request by its key; a certificate-bound one
 * can only be told about (the tool has no TLS connection). */
static int check_binding(const logto_claims_t *c, const check_args_t *a,
                         const char *token, apr_size_t len, apr_pool_t *p)
{
    logto_dpop_proof_t *proof;
    logto_dpop_expect_t x;
    logto_cnf_t cnf;
    logto_err_t err;

    logto_err_clear(&err);
    if (logto_cnf_read(&cnf, c->payload, &err) != APR_SUCCESS) {
        printf("refused: %s (%s)\n", err.text, logto_reason_name(err.reason));
        return EXIT_REFUSED;
    }
    if (cnf.x5t_s256) {
        printf("note: bound to the TLS client certificate with x5t#S256 %s:"
               " accepted only over TLS with that certificate\n",
               cnf.x5t_s256);
    }
    if (!a->dpop) {
        if (cnf.jkt) {
            printf("refused: token is DPoP-bound (cnf.jkt %s): it is never"
                   " accepted as a Bearer token, check it with --dpop\n",
                   cnf.jkt);
            return EXIT_REFUSED;
        }
        return EXIT_ACCEPTED;
    }
    if (!cnf.jkt) {
        printf("refused: token is not DPoP-bound (no cnf.jkt) (%s)\n",
               logto_reason_name(LOGTO_ERR_NOT_BOUND));
        return EXIT_REFUSED;
    }
    x.method = a->method;
    x.url = a->url;
    x.token = token;
    x.token_len = len;
    x.jkt = cnf.jkt;
    x.now = apr_time_sec(apr_time_now());
    x.max_age = a->dpop_max_age;
    x.clock_skew = a->pol.clock_skew;
    /* as the module does: --algorithms names the token's only */
    if (logto_dpop_verify(&proof, p, a->dpop, strlen(a->dpop),
                          LOGTO_ALGSET_DEFAULT, &x, &err) != APR_SUCCESS) {
        printf("refused: %s (%s)\n", err.text, logto_reason_name(err.reason));
        return EXIT_REFUSED;
    }
    printf("DPoP proof accepted: key %s, jti %s\n", proof->jkt, proof->jti);
    return EXIT_ACCEPTED;
}

static int run(apr_pool_t *p, int argc, char **argv)
{
    check_args_t a;
    logto_keysource_t *keys;
    logto_claims_t *claims;
    logto_err_t err;
    const char *token;
    apr_size_t len;
    int rc;

    if ((rc = parse_args(&a, p, argc, argv)) != EXIT_ACCEPTED ||
        (rc = load_sources(&keys, p, &a)) != EXIT_ACCEPTED ||
        (rc = get_token(&token, &len, p, a.token_arg)) != EXIT_ACCEPTED) {
        return rc;
    }
    logto_err_clear(&err);
    if (logto_verify(&claims, NULL, p, token, len, &a.pol, keys, NULL,
                     apr_time_sec(apr_time_now()), &err) != APR_SUCCESS) {
        if (!logto_reason_is_token(err.reason)) {
            return trouble("cannot verify", err.text);
        }
        printf("refused: %s (%s)\n", err.text, logto_reason_name(err.reason));
        return EXIT_REFUSED;
    }
    if ((rc = check_binding(claims, &a, token, len, p)) != EXIT_ACCEPTED) {
        return rc;
    }
    return report(claims, &a, p);
}

int main(int argc, char **argv)
{
    apr_pool_t *p;
    int rc;

    if (apr_initialize() != APR_SUCCESS ||
        logto_fetch_global_init() != APR_SUCCESS) {
        return trouble("cannot start", NULL);
    }
    apr_pool_create(&p, NULL);
    rc = run(p, argc, argv);
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
