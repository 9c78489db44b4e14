/*
 * fuzz_p384.c - libFuzzer harness, differential: every case goes to
 * logto_p384_verify and to OpenSSL's ECDSA_do_verify (t/unit/p384_judge.h)
 * and any disagreement aborts.
 *
 * Input: byte 0 picks the key, byte 1 the kind of case, then u1 and u2
 * (48 bytes each, reduced mod n) and bytes that steer the variants; a
 * short input reads as zeros past its end. Most cases are built from a
 * valid signature (crafted from u1, u2 with OpenSSL's EC_POINT_mul), then
 * judged as it is and as up to three variants: a flipped bit, (r, n - s),
 * r or s at an edge value, another digest; or R made the point at
 * infinity; or digest, r, s straight from the input.
 *
 * At exit it prints "p384-judged: CASES cases, IN_RANGE with r and s in
 * [1, n-1], VALID valid" for fuzz/run-fuzz.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "p384_judge.h"

#define NKEYS 8

static judge_curve_t curve;
static judge_key_t keys[NKEYS];
static unsigned long n_cases, n_in_range, n_valid;
static unsigned char edges[6][JB]; /* 0, 1, n-1, n, n+1, 2^384-1 */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void report(void)
{
    fprintf(stderr,
            "p384-judged: %lu cases, %lu with r and s in [1, n-1], "
            "%lu valid\n",
            n_cases, n_in_range, n_valid);
    for (int i = 0; i < NKEYS; i++) {
        judge_key_free(&keys[i]);
    }
    judge_curve_free(&curve);
}

/* Keys: random ones (private key known), G, -G, and two whose x is at
 * the bottom and the top of the field (private key unknown). */
static int make_keys(void)
{
    BIGNUM *x = BN_new(), *d;
    int i, made = 0;

    for (i = 0; i < 4; i++) {
        if (!judge_key_random(&keys[made++], &curve)) {
            return 0;
        }
    }
    for (i = 0; i < 2; i++) {
        d = BN_new();
        if (!d || !BN_one(d) || (i && !BN_sub(d, curve.n, d)) ||
            !judge_key_from_private(&keys[made++], &curve, d)) {
            return 0;
        }
    }
    for (i = 0; i < 2; i++) {
        unsigned long t;

        for (t = 0; t < 64; t++) {
            EC_POINT *q = EC_POINT_new(curve.group);
            int ok;

            if (!BN_set_word(x, t) ||
                (i && (!BN_sub(x, curve.p, x) || !BN_sub_word(x, 1)))) {
                return 0;
            }
            ok = EC_POINT_set_compressed_coordinates(curve.group, q, x, 0,
                                                     curve.ctx) &&
                 judge_key_from_point(&keys[made], &curve, q, NULL);
            ERR_clear_error();
            EC_POINT_free(q);
            if (ok) {
                made++;
                break;
            }
        }
    }
    BN_free(x);
    for (i = 0; i < made; i++) {
        if (keys[i].fast == NULL) {
            return 0;
        }
    }
    return made == NKEYS;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    BIGNUM *v = BN_new();
    int i;

    (void)argc;
    (void)argv;
    if (!judge_curve_init(&curve) || !make_keys() || v == NULL) {
        abort();
    }
    memset(edges[0], 0, JB);
    memset(edges[1], 0, JB);
    edges[1][JB - 1] = 1;
    for (i = -1; i <= 1; i++) {
        if (!BN_copy(v, curve.n) ||
            !(i < 0 ? BN_sub_word(v, 1) : BN_add_word(v, (BN_ULONG)i)) ||
            BN_bn2binpad(v, edges[3 + i], JB) != JB) {
            abort();
        }
    }
    memset(edges[5], 0xff, JB);
    BN_free(v);
    atexit(report);
    return 0;
}

/* Whether the 48 bytes are in [1, n-1]. */
static int in_range(const unsigned char *b)
{
    return memcmp(b, edges[0], JB) != 0 && memcmp(b, edges[3], JB) < 0;
}

static void judge_case(const judge_key_t *k, const unsigned char *digest,
                       const unsigned char *sig)
{
    judge_verdict_t v = judge(k, digest, sig);

    n_cases++;
    n_in_range += in_range(sig) && in_range(sig + JB);
    n_valid += v.openssl == 1;
    if (!judge_agrees(v)) {
        fprintf(stderr, "disagreement: ours %d, OpenSSL %d\n", v.fast,
                v.openssl);
        abort();
    }
}

/* Byte i of the input, zero past its end. */
static unsigned char at(const uint8_t *data, size_t size, size_t i)
{
    return i < size ? data[i] : 0;
}

/* A scalar mod n from 48 input bytes at off. */
static BIGNUM *scalar(const uint8_t *data, size_t size, size_t off)
{
    unsigned char b[JB];
    BIGNUM *v;
    size_t i;

    for (i = 0; i < JB; i++) {
        b[i] = at(data, size, off + i);
    }
    v = BN_bin2bn(b, JB, NULL);
    if (v == NULL || !BN_nnmod(v, v, curve.n, curve.ctx)) {
        abort();
    }
    return v;
}

/* One variant of the valid (digest, sig), steered by 3 bytes at s. */
static void variant(const judge_key_t *k, const unsigned char *digest,
                    const unsigned char *sig, const unsigned char *s)
{
    unsigned char d[JB], g[2 * JB];
    BIGNUM *v;

    memcpy(d, digest, JB);
    memcpy(g, sig, 2 * JB);
    switch (s[0] % 5) {
        case 0: /* one bit of r or s */
            g[(s[1] | (s[2] << 8)) % (2 * JB)] ^=
                (unsigned char)(1 << (s[2] % 8));
            break;
        case 1: /* (r, n - s) */
            v = BN_bin2bn(g + JB, JB, NULL);
            if (!v || !BN_sub(v, curve.n, v) ||
                BN_bn2binpad(v, g + JB, JB) != JB) {
                abort();
            }
            BN_free(v);
            break;
        case 2: /* r or s an edge value */
            memcpy(g + (s[1] % 2) * JB, edges[s[2] % 6], JB);
            break;
        case 3: /* a digest bit */
            d[s[1] % JB] ^= (unsigned char)(1 << (s[2] % 8));
            break;
        default: /* the digest plus n, when that fits 384 bits */
            v = BN_bin2bn(d, JB, NULL);
            if (!v || !BN_add(v, v, curve.n)) {
                abort();
            }
            if (BN_num_bytes(v) <= JB) {
                BN_bn2binpad(v, d, JB);
            }
            else {
                d[0] ^= 0x80;
            }
            BN_free(v);
    }
    judge_case(k, d, g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const judge_key_t *k = &keys[at(data, size, 0) % NKEYS];
    unsigned mode = at(data, size, 1) % 8;
    unsigned char digest[JB], sig[2 * JB], steer[3];
    BIGNUM *u1, *u2;
    size_t i, extra = 2 + 2 * JB;

    if (mode == 7) {
        /* digest, r, s as they come */
        for (i = 0; i < JB; i++) {
            digest[i] = at(data, size, 2 + i);
        }
        for (i = 0; i < 2 * JB; i++) {
            sig[i] = at(data, size, 2 + JB + i);
        }
        judge_case(k, digest, sig);
        return 0;
    }
    u1 = scalar(data, size, 2);
    u2 = scalar(data, size, 2 + JB);
    if (BN_is_zero(u2) && !BN_one(u2)) {
        abort();
    }
    if (mode == 6 && k->d != NULL) {
        /* u1 = -u2 d: R is the point at infinity */
        if (!BN_mod_mul(u1, u2, k->d, curve.n, curve.ctx) ||
            !BN_mod_sub(u1, curve.n, u1, curve.n, curve.ctx)) {
            abort();
        }
    }
    if (!judge_craft(&curve, k, u1, u2, digest, sig)) {
        abort();
    }
    judge_case(k, digest, sig);
    for (i = 0; i < 1 + mode % 3; i++) {
        steer[0] = at(data, size, extra + 3 * i);
        steer[1] = at(data, size, extra + 3 * i + 1);
        steer[2] = at(data, size, extra + 3 * i + 2);
        variant(k, digest, sig, steer);
    }
    BN_free(u1);
    BN_free(u2);
    return 0;
}
