/*
 * p384_judge.h - OpenSSL as the judge of logto_p384_verify: the same key,
 * digest and raw signature go to logto_p384_verify and to OpenSSL's
 * ECDSA_do_verify, and the two must agree. Shared by t/unit/test_p384.c
 * and fuzz/fuzz_p384.c. Signatures for keys whose private half is not
 * known are made from chosen u1, u2: R = u1 G + u2 Q, r = x(R) mod n,
 * s = r / u2, e = u1 s.
 */
#ifndef LOGTO_P384_JUDGE_H
#define LOGTO_P384_JUDGE_H

/* ECDSA_do_verify and EC_KEY are what the judge is asked to be. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>

#include "logto_p384.h"

#define JB LOGTO_P384_BYTES

typedef struct {
    EC_GROUP *group;
    const BIGNUM *n;
    BIGNUM *p;
    BN_CTX *ctx;
} judge_curve_t;

typedef struct {
    EC_KEY *ec;             /* OpenSSL's key */
    logto_p384_key_t *fast; /* NULL when logto_p384_key_init refused */
    void *mem;
    BIGNUM *d; /* the private key when known, else NULL */
} judge_key_t;

/* What one case came to. */
typedef struct {
    int fast;    /* logto_p384_verify: 1 or 0 */
    int openssl; /* ECDSA_do_verify: 1, 0 or -1 */
} judge_verdict_t;

static inline int judge_curve_init(judge_curve_t *c)
{
    c->group = EC_GROUP_new_by_curve_name(NID_secp384r1);
    c->ctx = BN_CTX_new();
    c->p = BN_new();
    if (c->group == NULL || c->ctx == NULL || c->p == NULL ||
        !EC_GROUP_get_curve(c->group, c->p, NULL, NULL, c->ctx)) {
        return 0;
    }
    c->n = EC_GROUP_get0_order(c->group);
    return 1;
}

static inline void judge_curve_free(judge_curve_t *c)
{
    BN_free(c->p);
    BN_CTX_free(c->ctx);
    EC_GROUP_free(c->group);
}

static inline void judge_key_free(judge_key_t *k)
{
    EC_KEY_free(k->ec);
    free(k->mem);
    BN_clear_free(k->d);
    memset(k, 0, sizeof(*k));
}

/* A key for the public point q (d: its private key, or NULL; taken).
 * 0 when OpenSSL refuses the point; k->fast NULL when ours does. */
static inline int judge_key_from_point(judge_key_t *k, judge_curve_t *c,
                                       const EC_POINT *q, BIGNUM *d)
{
    unsigned char x[JB], y[JB];
    BIGNUM *bx = BN_new(), *by = BN_new();
    int ok;

    memset(k, 0, sizeof(*k));
    k->d = d;
    k->ec = EC_KEY_new();
    ok = bx && by && k->ec && EC_KEY_set_group(k->ec, c->group) &&
         EC_KEY_set_public_key(k->ec, q) &&
         EC_POINT_get_affine_coordinates(c->group, q, bx, by, c->ctx) &&
         BN_bn2binpad(bx, x, JB) == JB && BN_bn2binpad(by, y, JB) == JB;
    BN_free(bx);
    BN_free(by);
    ERR_clear_error();
    if (!ok) {
        judge_key_free(k);
        return 0;
    }
    k->mem = malloc(logto_p384_key_size());
    k->fast = k->mem ? logto_p384_key_init(k->mem, x, y) : NULL;
    return 1;
}

/* A key d G for the private d (taken). */
static inline int judge_key_from_private(judge_key_t *k, judge_curve_t *c,
                                         BIGNUM *d)
{
    EC_POINT *q = EC_POINT_new(c->group);
    int ok = q && EC_POINT_mul(c->group, q, d, NULL, NULL, c->ctx) &&
             judge_key_from_point(k, c, q, d);

    EC_POINT_free(q);
    if (!ok) {
        BN_clear_free(d);
    }
    return ok && EC_KEY_set_private_key(k->ec, d);
}

/* A fresh random key. */
static inline int judge_key_random(judge_key_t *k, judge_curve_t *c)
{
    BIGNUM *d = BN_new();

    if (d == NULL || !BN_rand_range(d, c->n) || BN_is_zero(d)) {
        BN_free(d);
        return 0;
    }
    return judge_key_from_private(k, c, d);
}

/* Both verifiers on (digest, r || s). */
static inline judge_verdict_t judge(const judge_key_t *k,
                                    const unsigned char *digest,
                                    const unsigned char *sig)
{
    judge_verdict_t v;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, JB, NULL), *s = BN_bin2bn(sig + JB, JB, NULL);

    v.fast = k->fast ? logto_p384_verify(k->fast, digest, sig) : 0;
    if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
        BN_free(r);
        BN_free(s);
        v.openssl = -2; /* no verdict: counts as a disagreement */
    }
    else {
        v.openssl = ECDSA_do_verify(digest, JB, es, k->ec);
    }
    ECDSA_SIG_free(es);
    ERR_clear_error();
    return v;
}

static inline int judge_agrees(judge_verdict_t v)
{
    return v.openssl != -2 && (v.fast == 1) == (v.openssl == 1);
}

/* OpenSSL signs digest with k's private key. */
static inline int judge_sign(const judge_key_t *k, const unsigned char *digest,
                             unsigned char *sig)
{
    ECDSA_SIG *es = ECDSA_do_sign(digest, JB, k->ec);
    const BIGNUM *r, *s;
    int ok;

    if (es == NULL) {
        ERR_clear_error();
        return 0;
    }
    ECDSA_SIG_get0(es, &r, &s);
    ok = BN_bn2binpad(r, sig, JB) == JB && BN_bn2binpad(s, sig + JB, JB) == JB;
    ECDSA_SIG_free(es);
    return ok;
}

/* A signature of k, whose private key need not be known, from u1 and u2
 * (u2 != 0): R = u1 G + u2 Q, r = x(R) mod n, s = r / u2, e = u1 s. When R
 * is the point at infinity, or r is 0, r is 1 instead: the signature is
 * then one no verifier may accept. Returns 0 on an OpenSSL failure. */
static inline int judge_craft(judge_curve_t *c, const judge_key_t *k,
                              const BIGNUM *u1, const BIGNUM *u2,
                              unsigned char *digest, unsigned char *sig)
{
    EC_POINT *R = EC_POINT_new(c->group);
    BIGNUM *x = BN_new(), *r = BN_new(), *s = BN_new(), *e = BN_new();
    int ok = R && x && r && s && e &&
             EC_POINT_mul(c->group, R, u1, EC_KEY_get0_public_key(k->ec), u2,
                          c->ctx);

    if (ok && !EC_POINT_is_at_infinity(c->group, R)) {
        ok = EC_POINT_get_affine_coordinates(c->group, R, x, NULL, c->ctx) &&
             BN_nnmod(r, x, c->n, c->ctx);
    }
    if (ok && BN_is_zero(r)) {
        ok = BN_one(r);
    }
    ok = ok && BN_mod_inverse(s, u2, c->n, c->ctx) &&
         BN_mod_mul(s, s, r, c->n, c->ctx) &&
         BN_mod_mul(e, u1, s, c->n, c->ctx) && BN_bn2binpad(r, sig, JB) == JB &&
         BN_bn2binpad(s, sig + JB, JB) == JB &&
         BN_bn2binpad(e, digest, JB) == JB;
    EC_POINT_free(R);
    BN_free(x);
    BN_free(r);
    BN_free(s);
    BN_free(e);
    ERR_clear_error();
    return ok;
}

#endif /* LOGTO_P384_JUDGE_H */
