/*
 * verify-speed - single-core CPU time of one whole verification of a new
 * token through logto_verify (the module's miss path: header, key,
 * signature, payload, claims; no token cache, so nothing is remembered),
 * over a list of distinct tokens, for ROUNDS rounds; prints every round
 * and the median. bench/run runs it on its new-token lists, beside
 * `openssl speed`, so the report says how much of a miss is the
 * signature check itself.
 *
 *   bench/verify-speed [-r ROUNDS] [-n COUNT] [-i ISSUER] [-a AUDIENCE]
 *                      JWKS-FILE TOKEN-FILE
 *
 * TOKEN-FILE holds one token per line (COUNT of them are read, 20000 by
 * default); every one must verify against JWKS-FILE at the current time,
 * or the run fails: a refusal would measure a shorter path. Time is this
 * process's CPU time, as in bench/p384-speed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "logto_p384.h"
#include "logto_verify.h"
#include "speed.h"

#define MAX_TOKEN    (16 * 1024)
#define MAX_JWKS     (1024 * 1024)
#define BENCH_ISSUER "https://tenant.logto.app/oidc"
#define BENCH_AUD    "https://api.example.com/products"

/* The key set in path, parsed from p; NULL (said why) when it cannot be. */
static logto_jwks_t *load_jwks(apr_pool_t *p, const char *path)
{
    char *buf = apr_palloc(p, MAX_JWKS);
    FILE *f = fopen(path, "r");
    logto_jwks_t *jwks = NULL;
    logto_err_t err;
    size_t n;

    if (f == NULL) {
        fprintf(stderr, "verify-speed: cannot open %s\n", path);
        return NULL;
    }
    n = fread(buf, 1, MAX_JWKS, f);
    fclose(f);
    if (n == MAX_JWKS ||
        logto_jwks_parse(&jwks, p, buf, n, &err) != APR_SUCCESS) {
        fprintf(stderr, "verify-speed: %s: %s\n", path,
                n == MAX_JWKS ? "too large" : err.text);
        return NULL;
    }
    return jwks;
}

/* Up to count tokens of path, one per line, from p. */
static apr_array_header_t *load_tokens(apr_pool_t *p, const char *path,
                                       int count)
{
    apr_array_header_t *tokens = apr_array_make(p, count, sizeof(char *));
    char *line = apr_palloc(p, MAX_TOKEN + 2);
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        fprintf(stderr, "verify-speed: cannot open %s\n", path);
        return NULL;
    }
    while (tokens->nelts < count && fgets(line, MAX_TOKEN + 2, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (*line) {
            APR_ARRAY_PUSH(tokens, char *) = apr_pstrdup(p, line);
        }
    }
    fclose(f);
    return tokens;
}

static void usage(const char *me)
{
    fprintf(stderr,
            "usage: %s [-r ROUNDS] [-n COUNT] [-i ISSUER] [-a AUDIENCE] "
            "JWKS-FILE TOKEN-FILE\n",
            me);
}

/* Verify every token once; CPU seconds per token, or -1 (said why) when
 * one is refused. */
static double one_round(const apr_array_header_t *tokens,
                        const logto_policy_t *pol, const logto_keysource_t *ks,
                        apr_pool_t *scratch)
{
    double t0 = cpu_now();
    logto_claims_t *claims;
    logto_err_t err;
    int i;

    for (i = 0; i < tokens->nelts; i++) {
        const char *tok = APR_ARRAY_IDX(tokens, i, const char *);

        apr_pool_clear(scratch);
        if (logto_verify(&claims, NULL, scratch, tok, strlen(tok), pol, ks,
                         NULL, (apr_int64_t)time(NULL), &err) != APR_SUCCESS) {
            fprintf(stderr, "verify-speed: token %d refused: %s\n", i + 1,
                    err.text);
            return -1;
        }
    }
    return (cpu_now() - t0) / tokens->nelts;
}

int main(int argc, char **argv)
{
    double per[MAX_ROUNDS];
    int rounds = 3, count = 20000, opt, r;
    const char *issuer = BENCH_ISSUER, *aud = BENCH_AUD;
    apr_pool_t *p, *scratch;
    logto_policy_t pol;
    logto_keysource_t ks;
    logto_jwks_t *jwks;
    apr_array_header_t *tokens;

    while ((opt = getopt(argc, argv, "r:n:i:a:")) != -1) {
        switch (opt) {
            case 'r':
                rounds = atoi(optarg);
                break;
            case 'n':
                count = atoi(optarg);
                break;
            case 'i':
                issuer = optarg;
                break;
            case 'a':
                aud = optarg;
                break;
            default:
                usage(argv[0]);
                return 2;
        }
    }
    if (argc - optind != 2 || rounds < 1 || rounds > MAX_ROUNDS || count < 1) {
        usage(argv[0]);
        return 2;
    }
    apr_initialize();
    apr_pool_create(&p, NULL);
    apr_pool_create(&scratch, p);
    logto_p384_set_enabled(1); /* as the module by default */
    jwks = load_jwks(p, argv[optind]);
    tokens = jwks ? load_tokens(p, argv[optind + 1], count) : NULL;
    if (tokens == NULL || tokens->nelts == 0) {
        if (tokens) {
            fprintf(stderr, "verify-speed: no tokens in %s\n",
                    argv[optind + 1]);
        }
        return 1;
    }
    memset(&pol, 0, sizeof(pol));
    pol.issuers = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(pol.issuers, const char *) = issuer;
    pol.audiences = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(pol.audiences, const char *) = aud;
    pol.algorithms = LOGTO_ALGSET_DEFAULT;
    pol.clock_skew = 60;
    logto_keysource_fixed(&ks, jwks);
    for (r = 0; r < rounds; r++) {
        per[r] = one_round(tokens, &pol, &ks, scratch);
        if (per[r] < 0) {
            return 1;
        }
        printf("round %d: %d tokens, %.2f us per token\n", r + 1, tokens->nelts,
               per[r] * 1e6);
    }
    printf("median of %d: %.2f us per token\n", rounds,
           median(per, rounds) * 1e6);
    apr_pool_destroy(p);
    apr_terminate();
    return 0;
}
