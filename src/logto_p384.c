/*
 * logto_p384.c - ECDSA P-384 verification with per-key comb tables.
 *
 * Field elements mod p and scalars mod n are six 64-bit limbs, least
 * significant first, multiplied in Montgomery form (R = 2^384) with
 * 128-bit intermediate products. Points are Jacobian (X, Y, Z) standing for
 * (X/Z^2, Y/Z^3), Z = 0 being the point at infinity; table entries are
 * affine, so every addition of a verification is a mixed one.
 *
 * u1*G + u2*Q is one interleaved fixed-base comb (Lim-Lee): a point P gets
 * COMB_K tables of 2^COMB_W - 1 entries, entry j of table b being
 * sum over the bits i of j of 2^((b*COMB_W + i)*COMB_D) * P. Column c of a
 * scalar picks, per table, the entry whose bits are the scalar's bits
 * (b*COMB_W + i)*COMB_D + c; the columns are walked from the top with one
 * doubling each. A verification costs COMB_D doublings and at most
 * 2*COMB_K*COMB_D additions, and no field inversion: x(R) is compared
 * projectively.
 *
 * Every addition handles the exceptional cases (equal points, opposite
 * points, infinity): u1 and u2 are chosen by whoever writes the signature.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logto_p384.h"

/* The comb's shape, from measurement (bench/p384-speed built with other
 * -DCOMB_W, -DCOMB_K): 8 teeth and 2 tables give 24 doublings and up to
 * 96 additions per verification for 2 * 255 entries of 96 bytes (48 KiB)
 * per key. 4 or 6 teeth (6 to 12 KiB) verify about 30% slower; 10 teeth
 * and 2 tables (192 KiB) about 15% faster, at four times the memory in
 * every child process, for every key. */
#ifndef COMB_W
#define COMB_W 8
#endif
#ifndef COMB_K
#define COMB_K 2
#endif
#define COMB_TEETH (COMB_W * COMB_K)
#define COMB_D     ((384 + COMB_TEETH - 1) / COMB_TEETH)
#define COMB_N     ((1 << COMB_W) - 1)

typedef unsigned __int128 u128;
typedef uint64_t u64;

typedef struct {
    u64 v[6];
} fe_t;

typedef struct {
    fe_t x, y;
} aff_t;

typedef struct {
    fe_t x, y, z;
} jac_t;

struct logto_p384_key_t {
    aff_t t[COMB_K][COMB_N];
};

/* p = 2^384 - 2^128 - 2^96 + 2^32 - 1 */
static const u64 P[6] = {0x00000000ffffffffULL, 0xffffffff00000000ULL,
                         0xfffffffffffffffeULL, 0xffffffffffffffffULL,
                         0xffffffffffffffffULL, 0xffffffffffffffffULL};
/* -p^-1 mod 2^64 */
#define P_INV 0x0000000100000001ULL
/* R^2 mod p */
static const fe_t P_R2 = {{0xfffffffe00000001ULL, 0x0000000200000000ULL,
                           0xfffffffe00000000ULL, 0x0000000200000000ULL,
                           0x0000000000000001ULL, 0x0000000000000000ULL}};
/* 1 in Montgomery form: R mod p */
static const fe_t P_ONE = {{0xffffffff00000001ULL, 0x00000000ffffffffULL,
                            0x0000000000000001ULL, 0, 0, 0}};
/* the curve's b, Montgomery form */
static const fe_t CURVE_B = {{0x081188719d412dccULL, 0xf729add87a4c32ecULL,
                              0x77f2209b1920022eULL, 0xe3374bee94938ae2ULL,
                              0xb62b21f41f022094ULL, 0xcd08114b604fbff9ULL}};
/* the generator G, Montgomery form */
static const aff_t GEN = {
    {{0x3dd0756649c0b528ULL, 0x20e378e2a0d6ce38ULL, 0x879c3afc541b4d6eULL,
      0x6454868459a30effULL, 0x812ff723614ede2bULL, 0x4d3aadc2299e1513ULL}},
    {{0x23043dad4b03a4feULL, 0xa1bfa8bf7bb4a9acULL, 0x8bade7562e83b050ULL,
      0xc6c3521968f4ffd9ULL, 0xdd8002263969a840ULL, 0x2b78abc25a15c5e9ULL}}};

/* the group order n */
static const u64 N[6] = {0xecec196accc52973ULL, 0x581a0db248b0a77aULL,
                         0xc7634d81f4372ddfULL, 0xffffffffffffffffULL,
                         0xffffffffffffffffULL, 0xffffffffffffffffULL};
/* -n^-1 mod 2^64 */
#define N_INV 0x6ed46089e88fdc45ULL
/* R^2 mod n */
static const fe_t N_R2 = {{0x2d319b2419b409a9ULL, 0xff3d81e5df1aa419ULL,
                           0xbc3e483afcb82947ULL, 0xd40d49174aab1cc5ULL,
                           0x3fb05b7a28266895ULL, 0x0c84ee012b39bf21ULL}};

/* ------------------------------------------------------ limb arithmetic */

static int limbs_is_zero(const u64 *a)
{
    return (a[0] | a[1] | a[2] | a[3] | a[4] | a[5]) == 0;
}

/* -1, 0, 1 as a <, ==, > b. */
static int limbs_cmp(const u64 *a, const u64 *b)
{
    int i;

    for (i = 5; i >= 0; i--) {
        if (a[i] != b[i]) {
            return a[i] < b[i] ? -1 : 1;
        }
    }
    return 0;
}

/* r = a + b, returning the carry out. */
static u64 limbs_add(u64 *r, const u64 *a, const u64 *b)
{
    u128 c = 0;
    int i;

    for (i = 0; i < 6; i++) {
        c += (u128)a[i] + b[i];
        r[i] = (u64)c;
        c >>= 64;
    }
    return (u64)c;
}

/* r = a - b, returning the borrow out (1 when a < b). */
static u64 limbs_sub(u64 *r, const u64 *a, const u64 *b)
{
    u64 borrow = 0;
    int i;

    for (i = 0; i < 6; i++) {
        u128 d = (u128)a[i] - b[i] - borrow;

        r[i] = (u64)d;
        borrow = (u64)(d >> 64) & 1;
    }
    return borrow;
}

/* Big-endian bytes to limbs. */
static void limbs_from_bytes(u64 *r, const unsigned char *in)
{
    int i, j;

    for (i = 0; i < 6; i++) {
        u64 w = 0;

        for (j = 0; j < 8; j++) {
            w = (w << 8) | in[(5 - i) * 8 + j];
        }
        r[i] = w;
    }
}

/* lo, hi = a * b + c + d, which cannot overflow 128 bits. */
#define MUL_ADD(lo, hi, a, b, c, d)                                            \
    do {                                                                       \
        u128 x_ = (u128)(a) * (b) + (c) + (d);                                 \
        (lo) = (u64)x_;                                                        \
        (hi) = (u64)(x_ >> 64);                                                \
    } while (0)

/* One row of CIOS: t += a * bi, then t = (t + q m) / 2^64 with q making
 * the low limb zero. Written out on locals: a loop over a limb array
 * compiles to code about twice as slow. */
#define MONT_ROW(bi)                                                           \
    do {                                                                       \
        u64 c, q, lost;                                                        \
        u128 y;                                                                \
        MUL_ADD(t0, c, a[0], bi, t0, 0);                                       \
        MUL_ADD(t1, c, a[1], bi, t1, c);                                       \
        MUL_ADD(t2, c, a[2], bi, t2, c);                                       \
        MUL_ADD(t3, c, a[3], bi, t3, c);                                       \
        MUL_ADD(t4, c, a[4], bi, t4, c);                                       \
        MUL_ADD(t5, c, a[5], bi, t5, c);                                       \
        y = (u128)t6 + c;                                                      \
        t6 = (u64)y;                                                           \
        t7 = (u64)(y >> 64);                                                   \
        q = t0 * minv;                                                         \
        MUL_ADD(lost, c, q, m[0], t0, 0);                                      \
        (void)lost;                                                            \
        MUL_ADD(t0, c, q, m[1], t1, c);                                        \
        MUL_ADD(t1, c, q, m[2], t2, c);                                        \
        MUL_ADD(t2, c, q, m[3], t3, c);                                        \
        MUL_ADD(t3, c, q, m[4], t4, c);                                        \
        MUL_ADD(t4, c, q, m[5], t5, c);                                        \
        y = (u128)t6 + c;                                                      \
        t5 = (u64)y;                                                           \
        t6 = t7 + (u64)(y >> 64);                                              \
    } while (0)

/* Montgomery product a * b / 2^384 mod m of a, b < m (CIOS); r may be a
 * or b. */
static inline void mont_mul(u64 *r, const u64 *a, const u64 *b, const u64 *m,
                            u64 minv)
{
    u64 t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0, t6 = 0, t7 = 0;
    u64 t[6];

    MONT_ROW(b[0]);
    MONT_ROW(b[1]);
    MONT_ROW(b[2]);
    MONT_ROW(b[3]);
    MONT_ROW(b[4]);
    MONT_ROW(b[5]);
    t[0] = t0;
    t[1] = t1;
    t[2] = t2;
    t[3] = t3;
    t[4] = t4;
    t[5] = t5;
    /* t < 2m: one subtraction at most */
    if (t6 != 0 || limbs_cmp(t, m) >= 0) {
        limbs_sub(t, t, m);
    }
    memcpy(r, t, sizeof(t));
}

/* ------------------------------------------------------ field mod p */

static void fe_mul(fe_t *r, const fe_t *a, const fe_t *b)
{
    mont_mul(r->v, a->v, b->v, P, P_INV);
}

static void fe_sqr(fe_t *r, const fe_t *a)
{
    mont_mul(r->v, a->v, a->v, P, P_INV);
}

static void fe_add(fe_t *r, const fe_t *a, const fe_t *b)
{
    u64 carry = limbs_add(r->v, a->v, b->v);

    if (carry || limbs_cmp(r->v, P) >= 0) {
        limbs_sub(r->v, r->v, P);
    }
}

static void fe_sub(fe_t *r, const fe_t *a, const fe_t *b)
{
    if (limbs_sub(r->v, a->v, b->v)) {
        limbs_add(r->v, r->v, P);
    }
}

static int fe_is_zero(const fe_t *a)
{
    return limbs_is_zero(a->v);
}

static int fe_equal(const fe_t *a, const fe_t *b)
{
    return memcmp(a->v, b->v, sizeof(a->v)) == 0;
}

/* a < p in normal form to Montgomery form. */
static void fe_to_mont(fe_t *r, const fe_t *a)
{
    fe_mul(r, a, &P_R2);
}

/* 1 / a by Fermat, a^(p-2); a != 0. Only for building tables. */
static void fe_inv(fe_t *r, const fe_t *a)
{
    u64 e[6];
    fe_t acc = P_ONE;
    int i;

    memcpy(e, P, sizeof(e));
    e[0] -= 2; /* p's low limb is odd and > 2: no borrow */
    for (i = 383; i >= 0; i--) {
        fe_sqr(&acc, &acc);
        if ((e[i / 64] >> (i % 64)) & 1) {
            fe_mul(&acc, &acc, a);
        }
    }
    *r = acc;
}

/* ------------------------------------------------------ points */

static int jac_is_infinity(const jac_t *a)
{
    return fe_is_zero(&a->z);
}

/* r = 2a, a = -3 (dbl-2001-b); infinity stays infinity (Z3 = 2*Y1*Z1). */
static void jac_double(jac_t *r, const jac_t *a)
{
    fe_t delta, gamma, beta, alpha, t1, t2;

    fe_sqr(&delta, &a->z);
    fe_sqr(&gamma, &a->y);
    fe_mul(&beta, &a->x, &gamma);
    fe_sub(&t1, &a->x, &delta);
    fe_add(&t2, &a->x, &delta);
    fe_mul(&alpha, &t1, &t2);
    fe_add(&t1, &alpha, &alpha);
    fe_add(&alpha, &alpha, &t1); /* 3 (X1 - delta)(X1 + delta) */
    /* Z3 = (Y1 + Z1)^2 - gamma - delta */
    fe_add(&t1, &a->y, &a->z);
    fe_sqr(&t1, &t1);
    fe_sub(&t1, &t1, &gamma);
    fe_sub(&r->z, &t1, &delta);
    /* X3 = alpha^2 - 8 beta */
    fe_add(&beta, &beta, &beta);
    fe_add(&beta, &beta, &beta); /* 4 beta */
    fe_add(&t2, &beta, &beta);   /* 8 beta */
    fe_sqr(&t1, &alpha);
    fe_sub(&r->x, &t1, &t2);
    /* Y3 = alpha (4 beta - X3) - 8 gamma^2 */
    fe_sub(&t1, &beta, &r->x);
    fe_mul(&t1, &alpha, &t1);
    fe_sqr(&gamma, &gamma);
    fe_add(&gamma, &gamma, &gamma);
    fe_add(&gamma, &gamma, &gamma);
    fe_add(&gamma, &gamma, &gamma);
    fe_sub(&r->y, &t1, &gamma);
}

/* r = a + b, b affine (never infinity); r may be a. */
static void jac_add_affine(jac_t *r, const jac_t *a, const aff_t *b)
{
    fe_t z1z1, u2, s2, h, rr, hh, hhh, v, t;

    if (jac_is_infinity(a)) {
        r->x = b->x;
        r->y = b->y;
        r->z = P_ONE;
        return;
    }
    fe_sqr(&z1z1, &a->z);
    fe_mul(&u2, &b->x, &z1z1);
    fe_mul(&s2, &b->y, &a->z);
    fe_mul(&s2, &s2, &z1z1);
    fe_sub(&h, &u2, &a->x);
    fe_sub(&rr, &s2, &a->y);
    if (fe_is_zero(&h)) {
        if (fe_is_zero(&rr)) {
            jac_double(r, a); /* a == b */
        }
        else {
            memset(r, 0, sizeof(*r)); /* a == -b */
        }
        return;
    }
    fe_sqr(&hh, &h);
    fe_mul(&hhh, &h, &hh);
    fe_mul(&v, &a->x, &hh);
    fe_mul(&r->z, &a->z, &h);
    /* X3 = rr^2 - HHH - 2V */
    fe_sqr(&t, &rr);
    fe_sub(&t, &t, &hhh);
    fe_sub(&t, &t, &v);
    fe_sub(&t, &t, &v);
    /* Y3 = rr (V - X3) - Y1 HHH */
    fe_sub(&v, &v, &t);
    fe_mul(&v, &rr, &v);
    fe_mul(&hhh, &a->y, &hhh);
    r->x = t;
    fe_sub(&r->y, &v, &hhh);
}

/* y^2 == x^3 - 3x + b, Montgomery form. */
static int aff_on_curve(const aff_t *a)
{
    fe_t lhs, rhs, t;

    fe_sqr(&lhs, &a->y);
    fe_sqr(&rhs, &a->x);
    fe_mul(&rhs, &rhs, &a->x);
    fe_add(&t, &a->x, &a->x);
    fe_add(&t, &t, &a->x);
    fe_sub(&rhs, &rhs, &t);
    fe_add(&rhs, &rhs, &CURVE_B);
    return fe_equal(&lhs, &rhs);
}

/* Jacobian points to affine with one inversion (Montgomery's trick);
 * 0 when one of them is the point at infinity. scratch: count entries. */
static int batch_to_affine(aff_t *out, const jac_t *in, fe_t *scratch,
                           size_t count)
{
    fe_t acc = P_ONE, inv, zinv, zinv2;
    size_t i;

    for (i = 0; i < count; i++) {
        if (jac_is_infinity(&in[i])) {
            return 0;
        }
        scratch[i] = acc; /* z_0 ... z_{i-1} */
        fe_mul(&acc, &acc, &in[i].z);
    }
    fe_inv(&inv, &acc);
    for (i = count; i-- > 0;) {
        fe_mul(&zinv, &inv, &scratch[i]);
        fe_mul(&inv, &inv, &in[i].z);
        fe_sqr(&zinv2, &zinv);
        fe_mul(&out[i].x, &in[i].x, &zinv2);
        fe_mul(&zinv2, &zinv2, &zinv);
        fe_mul(&out[i].y, &in[i].y, &zinv2);
    }
    return 1;
}

/* Build the comb tables of the affine point pt into key. 0 when a table
 * entry is the point at infinity, which no point of order n gives. */
static int comb_build(struct logto_p384_key_t *key, const aff_t *pt)
{
    jac_t(*jac)[COMB_N] = malloc(sizeof(jac_t[COMB_K][COMB_N]));
    fe_t *scratch = malloc(sizeof(fe_t) * COMB_K * COMB_N);
    aff_t teeth[COMB_TEETH];
    jac_t cur;
    int t, d, b, j, ok = 0;

    if (jac == NULL || scratch == NULL) {
        goto end;
    }

    /* teeth[t] = 2^(t*COMB_D) pt */
    teeth[0] = *pt;
    cur.x = pt->x;
    cur.y = pt->y;
    cur.z = P_ONE;
    for (t = 1; t < COMB_TEETH; t++) {
        for (d = 0; d < COMB_D; d++) {
            jac_double(&cur, &cur);
        }
        if (!batch_to_affine(&teeth[t], &cur, scratch, 1)) {
            goto end;
        }
    }
    for (b = 0; b < COMB_K; b++) {
        for (j = 1; j <= COMB_N; j++) {
            int hi = 31 - __builtin_clz((unsigned)j);
            const aff_t *tooth = &teeth[b * COMB_W + hi];
            jac_t *e = &jac[b][j - 1];

            if (j == (1 << hi)) {
                e->x = tooth->x;
                e->y = tooth->y;
                e->z = P_ONE;
            }
            else {
                jac_add_affine(e, &jac[b][(j ^ (1 << hi)) - 1], tooth);
            }
        }
    }
    ok = batch_to_affine(&key->t[0][0], &jac[0][0], scratch, COMB_K * COMB_N);
end:
    free(jac);
    free(scratch);
    return ok;
}

/* The comb index of scalar k (normal form) in table b, column c. */
static unsigned comb_index(const u64 *k, int b, int c)
{
    unsigned idx = 0;
    int i;

    for (i = 0; i < COMB_W; i++) {
        int bit = (b * COMB_W + i) * COMB_D + c;

        if (bit < 384) {
            idx |= (unsigned)((k[bit / 64] >> (bit % 64)) & 1) << i;
        }
    }
    return idx;
}

/* ------------------------------------------------------ the generator */

static struct logto_p384_key_t gen_tables;
static int gen_ok;
static pthread_once_t gen_once = PTHREAD_ONCE_INIT;

static void gen_build(void)
{
    gen_ok = comb_build(&gen_tables, &GEN);
}

/* ------------------------------------------------------ scalars mod n */

/* x / 2 mod n, x < n: (x + n) / 2 when x is odd, with the carry. */
static void half_mod_n(u64 *x)
{
    u64 carry = 0;
    int i;

    if (x[0] & 1) {
        carry = limbs_add(x, x, N);
    }
    for (i = 0; i < 5; i++) {
        x[i] = (x[i] >> 1) | (x[i + 1] << 63);
    }
    x[5] = (x[5] >> 1) | (carry << 63);
}

/* r = a - b mod n, a, b < n. */
static void sub_mod_n(u64 *r, const u64 *a, const u64 *b)
{
    if (limbs_sub(r, a, b)) {
        limbs_add(r, r, N);
    }
}

/* a >> 1. */
static void limbs_shr1(u64 *a)
{
    int i;

    for (i = 0; i < 5; i++) {
        a[i] = (a[i] >> 1) | (a[i + 1] << 63);
    }
    a[5] >>= 1;
}

static int limbs_is_one(const u64 *a)
{
    return a[0] == 1 && (a[1] | a[2] | a[3] | a[4] | a[5]) == 0;
}

/* a^-1 R mod n (Montgomery form), a in [1, n-1], by the binary extended
 * Euclidean algorithm: variable time, which public data allows, and about
 * twice as fast as a^(n-2). Invariants: x1 a = u, x2 a = v (mod n); u and
 * v are odd after the halvings and their gcd stays gcd(a, n) = 1, so one
 * of them reaches 1 within 2 * 384 subtractions. */
static void scalar_inv_mont(u64 *r, const u64 *a)
{
    u64 u[6], v[6], x1[6] = {1, 0, 0, 0, 0, 0}, x2[6] = {0};
    int rounds;

    memcpy(u, a, sizeof(u));
    memcpy(v, N, sizeof(v));
    for (rounds = 0; rounds < 2 * 384 + 2; rounds++) {
        if (limbs_is_one(u) || limbs_is_one(v) || limbs_is_zero(u) ||
            limbs_is_zero(v)) {
            break;
        }
        while (!(u[0] & 1)) {
            limbs_shr1(u);
            half_mod_n(x1);
        }
        while (!(v[0] & 1)) {
            limbs_shr1(v);
            half_mod_n(x2);
        }
        if (limbs_cmp(u, v) >= 0) {
            limbs_sub(u, u, v);
            sub_mod_n(x1, x1, x2);
        }
        else {
            limbs_sub(v, v, u);
            sub_mod_n(x2, x2, x1);
        }
    }
    mont_mul(r, limbs_is_one(u) ? x1 : x2, N_R2.v, N, N_INV);
}

/* ------------------------------------------------------ the interface */

size_t logto_p384_key_size(void)
{
    return sizeof(struct logto_p384_key_t);
}

logto_p384_key_t *logto_p384_key_init(void *mem, const unsigned char *x,
                                      const unsigned char *y)
{
    logto_p384_key_t *key = mem;
    aff_t q;

    limbs_from_bytes(q.x.v, x);
    limbs_from_bytes(q.y.v, y);
    if (limbs_cmp(q.x.v, P) >= 0 || limbs_cmp(q.y.v, P) >= 0) {
        return NULL;
    }
    fe_to_mont(&q.x, &q.x);
    fe_to_mont(&q.y, &q.y);
    if (!aff_on_curve(&q)) {
        return NULL;
    }
    if (pthread_once(&gen_once, gen_build) != 0 || !gen_ok) {
        return NULL;
    }
    return comb_build(key, &q) ? key : NULL;
}

/* Whether x(R) mod n == r for R = (X, Y, Z), Z != 0: X == r' Z^2 for r'
 * in {r, r + n} below p, as x(R) < p < 2n. */
static int x_matches(const jac_t *rp, const u64 *r)
{
    fe_t z2, cand, t;

    fe_sqr(&z2, &rp->z);
    memcpy(cand.v, r, sizeof(cand.v));
    fe_to_mont(&t, &cand);
    fe_mul(&t, &t, &z2);
    if (fe_equal(&t, &rp->x)) {
        return 1;
    }
    if (limbs_add(cand.v, r, N) != 0 || limbs_cmp(cand.v, P) >= 0) {
        return 0;
    }
    fe_to_mont(&t, &cand);
    fe_mul(&t, &t, &z2);
    return fe_equal(&t, &rp->x);
}

int logto_p384_verify(const logto_p384_key_t *key, const unsigned char *digest,
                      const unsigned char *sig)
{
    u64 r[6], s[6], e[6], w[6], u1[6], u2[6];
    jac_t acc;
    int c, b;

    if (key == NULL || !gen_ok) {
        return 0;
    }
    limbs_from_bytes(r, sig);
    limbs_from_bytes(s, sig + LOGTO_P384_BYTES);
    if (limbs_is_zero(r) || limbs_cmp(r, N) >= 0 || limbs_is_zero(s) ||
        limbs_cmp(s, N) >= 0) {
        return 0;
    }
    /* e: the whole 384-bit digest, below 2^384 < 2n */
    limbs_from_bytes(e, digest);
    if (limbs_cmp(e, N) >= 0) {
        limbs_sub(e, e, N);
    }
    scalar_inv_mont(w, s);        /* s^-1 R */
    mont_mul(u1, e, w, N, N_INV); /* e / s */
    mont_mul(u2, r, w, N, N_INV); /* r / s */

    memset(&acc, 0, sizeof(acc));
    for (c = COMB_D - 1; c >= 0; c--) {
        jac_double(&acc, &acc);
        for (b = 0; b < COMB_K; b++) {
            unsigned i1 = comb_index(u1, b, c), i2 = comb_index(u2, b, c);

            if (i1) {
                jac_add_affine(&acc, &acc, &gen_tables.t[b][i1 - 1]);
            }
            if (i2) {
                jac_add_affine(&acc, &acc, &key->t[b][i2 - 1]);
            }
        }
    }
    return !jac_is_infinity(&acc) && x_matches(&acc, r);
}

/* ------------------------------------------------------ switch, observer */

static int enabled = 1;
static logto_p384_observer_fn *observer;

void logto_p384_set_enabled(int on)
{
    enabled = on != 0;
}

int logto_p384_enabled(void)
{
    return enabled;
}

void logto_p384_set_observer(logto_p384_observer_fn *fn)
{
    observer = fn;
}

void logto_p384_observe(logto_p384_path_t path)
{
    if (observer != NULL) {
        observer(path);
    }
}
