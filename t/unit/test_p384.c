/*
 * test_p384.c - the P-384 table verifier against OpenSSL's ECDSA_do_verify
 * (t/unit/p384_judge.h): every case goes to both and they must agree.
 * Valid signatures come from OpenSSL (ECDSA_do_sign, or EC_POINT_mul for
 * keys whose private half is unknown); then every bit flip of r and s,
 * r and s at the edges of their range, (r, n - s), digests at or above n,
 * keys at the edges of the field, R at infinity or with x(R) >= n, and
 * the exceptional additions. Then the decoding of key sets (tables, their
 * bound, the switch) and which path logto_jws_verify_signature takes,
 * with tokens from t/data/mint.pl.
 */
#include <stdio.h>

#include <apr_strings.h>

#include "p384_judge.h"

#include "logto_jwk.h"
#include "logto_jws.h"
#include "mint.h"
#include "unit.h"

static judge_curve_t curve;
static int cases; /* judged in this test */

/* Fewer random cases under valgrind, where one OpenSSL check takes 30 ms;
 * the exhaustive ones (bit flips, edge values) stay whole. */
static int scaled(int n)
{
    const char *vg = getenv("LOGTO_VALGRIND");

    return vg && strcmp(vg, "1") == 0 ? (n + 9) / 10 : n;
}

static void curve_setup(void)
{
    unit_setup();
    ck_assert(judge_curve_init(&curve));
    cases = 0;
}

static void curve_teardown(void)
{
    judge_curve_free(&curve);
    unit_teardown();
}

/* Judge one case; want: what both must say (1, 0), or -1 for "agree". */
static void judged(const judge_key_t *k, const unsigned char *digest,
                   const unsigned char *sig, int want, const char *what)
{
    judge_verdict_t v = judge(k, digest, sig);

    cases++;
    ck_assert_msg(judge_agrees(v), "%s: ours %d, OpenSSL %d", what, v.fast,
                  v.openssl);
    if (want >= 0) {
        ck_assert_msg(v.fast == want, "%s: ours %d, wanted %d", what, v.fast,
                      want);
    }
}

static void random_key(judge_key_t *k)
{
    ck_assert(judge_key_random(k, &curve));
    ck_assert_msg(k->fast != NULL, "tables refused for a valid key");
}

static void bn_bytes(unsigned char *out, const BIGNUM *v)
{
    ck_assert(BN_bn2binpad(v, out, JB) == JB);
}

/* A random scalar in [1, n-1]. */
static BIGNUM *rand_scalar(void)
{
    BIGNUM *v = BN_new();

    do {
        ck_assert(BN_rand_range(v, curve.n));
    } while (BN_is_zero(v));
    return v;
}

/* Craft a valid signature from u1, u2 and judge it: both must accept
 * unless R is the point at infinity (then both refuse). */
static void crafted(const judge_key_t *k, const BIGNUM *u1, const BIGNUM *u2,
                    int want, const char *what)
{
    unsigned char digest[JB], sig[2 * JB];

    ck_assert(judge_craft(&curve, k, u1, u2, digest, sig));
    judged(k, digest, sig, want, what);
}

START_TEST(valid_signatures_agree)
{
    int i, j;

    for (i = 0; i < 3; i++) {
        judge_key_t k;

        random_key(&k);
        for (j = 0; j < scaled(40); j++) {
            unsigned char digest[JB], sig[2 * JB];

            ck_assert(RAND_bytes(digest, JB) == 1);
            ck_assert(judge_sign(&k, digest, sig));
            judged(&k, digest, sig, 1, "valid");
            digest[j % JB] ^= 0x01;
            judged(&k, digest, sig, 0, "other digest");
        }
        judge_key_free(&k);
    }
}
END_TEST

START_TEST(every_bit_flip_of_r_and_s)
{
    unsigned char digest[JB], sig[2 * JB];
    judge_key_t k;
    int bit;

    random_key(&k);
    ck_assert(RAND_bytes(digest, JB) == 1);
    ck_assert(judge_sign(&k, digest, sig));
    judged(&k, digest, sig, 1, "unflipped");
    for (bit = 0; bit < 2 * JB * 8; bit++) {
        sig[bit / 8] ^= (unsigned char)(1 << (bit % 8));
        judged(&k, digest, sig, 0, "bit flip");
        sig[bit / 8] ^= (unsigned char)(1 << (bit % 8));
    }
    ck_assert_int_eq(cases, 1 + 768);
    judge_key_free(&k);
}
END_TEST

/* 0, 1, n-1, n, n+1, 2^384-1, as 48 bytes each, into vals[0..5]. */
static void edge_values(unsigned char vals[6][JB])
{
    BIGNUM *v = BN_new();
    int i;

    ck_assert(v != NULL);
    memset(vals[0], 0, JB);
    memset(vals[1], 0, JB);
    vals[1][JB - 1] = 1;
    for (i = -1; i <= 1; i++) {
        ck_assert(BN_copy(v, curve.n));
        ck_assert(i < 0 ? BN_sub_word(v, 1) : BN_add_word(v, (BN_ULONG)i));
        bn_bytes(vals[3 + i], v);
    }
    memset(vals[5], 0xff, JB);
    BN_free(v);
}

START_TEST(r_and_s_at_the_edges)
{
    unsigned char vals[7][JB], digest[JB], sig[2 * JB], good[2 * JB];
    judge_key_t k;
    int i, j;

    random_key(&k);
    edge_values(vals);
    ck_assert(RAND_bytes(digest, JB) == 1);
    ck_assert(judge_sign(&k, digest, good));
    for (i = 0; i < 7; i++) {
        for (j = 0; j < 7; j++) {
            /* index 6: the valid signature's own r or s */
            memcpy(sig, i < 6 ? vals[i] : good, JB);
            memcpy(sig + JB, j < 6 ? vals[j] : good + JB, JB);
            judged(&k, digest, sig, i == 6 && j == 6, "edge r, s");
        }
    }
    judge_key_free(&k);
}
END_TEST

START_TEST(r_with_n_minus_s_is_valid_too)
{
    unsigned char digest[JB], sig[2 * JB];
    BIGNUM *s = BN_new();
    judge_key_t k;
    int i;

    random_key(&k);
    for (i = 0; i < scaled(20); i++) {
        ck_assert(RAND_bytes(digest, JB) == 1);
        ck_assert(judge_sign(&k, digest, sig));
        ck_assert(BN_bin2bn(sig + JB, JB, s));
        ck_assert(BN_sub(s, curve.n, s));
        bn_bytes(sig + JB, s);
        judged(&k, digest, sig, 1, "(r, n - s)");
        digest[i % JB] ^= 0x80;
        judged(&k, digest, sig, 0, "(r, n - s), other digest");
    }
    BN_free(s);
    judge_key_free(&k);
}
END_TEST

START_TEST(digests_at_or_above_the_order)
{
    unsigned char vals[6][JB], sig[2 * JB], digest[JB];
    judge_key_t k;
    int i;

    random_key(&k);
    edge_values(vals);
    for (i = 0; i < 6 + scaled(20); i++) {
        if (i < 6) {
            memcpy(digest, vals[i], JB);
        }
        else {
            ck_assert(RAND_bytes(digest, JB) == 1);
            digest[0] |= 0x80;
            if (i % 2) {
                memset(digest, 0xff, 8); /* above n most of the time */
            }
        }
        ck_assert(judge_sign(&k, digest, sig));
        judged(&k, digest, sig, 1, "high digest");
        digest[JB - 1] ^= 0x02;
        judged(&k, digest, sig, 0, "high digest altered");
    }
    judge_key_free(&k);
}
END_TEST

/* The point of x (big-endian bytes) with y of parity ybit, or NULL when
 * x is no point's. */
static EC_POINT *point_at_x(const BIGNUM *x, int ybit)
{
    EC_POINT *q = EC_POINT_new(curve.group);

    ck_assert(q != NULL);
    if (!EC_POINT_set_compressed_coordinates(curve.group, q, x, ybit,
                                             curve.ctx)) {
        ERR_clear_error();
        EC_POINT_free(q);
        return NULL;
    }
    return q;
}

/* Crafted signatures for key q, whose private key is unknown. */
static void edge_key_cases(const EC_POINT *q)
{
    BIGNUM *u1 = rand_scalar(), *u2 = rand_scalar(), *zero = BN_new();
    unsigned char digest[JB], sig[2 * JB];
    judge_key_t k;

    ck_assert(zero != NULL);
    BN_zero(zero);
    ck_assert(judge_key_from_point(&k, &curve, q, NULL));
    ck_assert_msg(k.fast != NULL, "tables refused for a point of the curve");
    crafted(&k, u1, u2, 1, "edge key");
    crafted(&k, zero, u2, 1, "edge key, u1 = 0");
    ck_assert(judge_craft(&curve, &k, u1, u2, digest, sig));
    sig[2 * JB - 1] ^= 1;
    judged(&k, digest, sig, 0, "edge key, altered");
    judge_key_free(&k);
    BN_free(u1);
    BN_free(u2);
    BN_free(zero);
}

START_TEST(keys_at_the_edges_of_the_field)
{
    BIGNUM *x = BN_new();
    int found = 0, tries, ybit, from_top;

    ck_assert(x != NULL);
    for (from_top = 0; from_top < 2; from_top++) {
        int here = 0;

        for (tries = 0; tries < 64 && here < 3; tries++) {
            /* x = tries, or x = p - 1 - tries */
            ck_assert(BN_set_word(x, (BN_ULONG)tries));
            if (from_top) {
                ck_assert(BN_sub(x, curve.p, x));
                ck_assert(BN_sub_word(x, 1));
            }
            for (ybit = 0; ybit < 2; ybit++) {
                EC_POINT *q = point_at_x(x, ybit);

                if (q != NULL) {
                    edge_key_cases(q);
                    EC_POINT_free(q);
                    here += ybit == 0;
                }
            }
        }
        ck_assert_msg(here > 0, "no point near the %s of the field",
                      from_top ? "top" : "bottom");
        found += here;
    }
    ck_assert_int_ge(found, 2);
    BN_free(x);
}
END_TEST

START_TEST(coordinates_off_the_curve_get_no_tables)
{
    unsigned char x[JB], y[JB];
    void *mem = malloc(logto_p384_key_size());
    judge_key_t k;

    ck_assert(mem != NULL);
    /* (0, 0): how the point at infinity is often written */
    memset(x, 0, JB);
    memset(y, 0, JB);
    ck_assert(logto_p384_key_init(mem, x, y) == NULL);
    /* a valid key with y changed, and with a coordinate + p */
    random_key(&k);
    {
        BIGNUM *bx = BN_new(), *by = BN_new();

        ck_assert(EC_POINT_get_affine_coordinates(
            curve.group, EC_KEY_get0_public_key(k.ec), bx, by, curve.ctx));
        bn_bytes(x, bx);
        bn_bytes(y, by);
        ck_assert(logto_p384_key_init(mem, x, y) != NULL);
        y[JB - 1] ^= 1;
        ck_assert(logto_p384_key_init(mem, x, y) == NULL);
        y[JB - 1] ^= 1;
        /* x >= p: only when x + p fits 384 bits, so try x = p itself */
        bn_bytes(x, curve.p);
        ck_assert(logto_p384_key_init(mem, x, y) == NULL);
        memset(x, 0xff, JB);
        ck_assert(logto_p384_key_init(mem, x, y) == NULL);
        BN_free(bx);
        BN_free(by);
    }
    judge_key_free(&k);
    free(mem);
}
END_TEST

/* A key set whose only key is the point at infinity (04 alone is not a
 * JWK; x = y = 0 is how some write it): refused before any table. */
START_TEST(the_point_at_infinity_is_no_key)
{
    char zeros[65];
    logto_jwks_t *jwks;
    logto_err_t err;
    const char *doc;

    memset(zeros, 'A', 64); /* 48 zero bytes in base64url */
    zeros[64] = '\0';
    doc = apr_psprintf(pool,
                       "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-384\","
                       "\"x\":\"%s\",\"y\":\"%s\"}]}",
                       zeros, zeros);
    ck_assert_int_ne(logto_jwks_parse(&jwks, pool, doc, strlen(doc), &err),
                     APR_SUCCESS);
}
END_TEST

START_TEST(r_at_infinity_is_refused)
{
    BIGNUM *d = rand_scalar(), *u1 = BN_new(), *u2;
    judge_key_t k;
    int i;

    ck_assert(judge_key_from_private(&k, &curve, BN_dup(d)));
    for (i = 0; i < scaled(10); i++) {
        /* u1 = -u2 d: R = u1 G + u2 d G = O */
        u2 = rand_scalar();
        ck_assert(BN_mod_mul(u1, u2, d, curve.n, curve.ctx));
        ck_assert(BN_sub(u1, curve.n, u1));
        crafted(&k, u1, u2, 0, "R at infinity");
        BN_free(u2);
    }
    judge_key_free(&k);
    BN_free(d);
    BN_free(u1);
}
END_TEST

/* Keys G, 2G, -G, -2G and u1, u2 alike make the comb add a point to
 * itself or to its opposite on the way. */
START_TEST(exceptional_additions)
{
    static const long ds[] = {1, 2, -1, -2};
    BIGNUM *u1 = BN_new(), *u2, *d = BN_new();
    unsigned i;
    int j;

    for (i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
        judge_key_t k;

        ck_assert(BN_set_word(d, (BN_ULONG)labs(ds[i])));
        if (ds[i] < 0) {
            ck_assert(BN_sub(d, curve.n, d));
        }
        ck_assert(judge_key_from_private(&k, &curve, BN_dup(d)));
        ck_assert(k.fast != NULL);
        for (j = 0; j < 6; j++) {
            u2 = rand_scalar();
            /* u1 = u2, u2 + 1, 2 u2, u2 with its low bits changed ... */
            ck_assert(BN_copy(u1, u2));
            if (j == 1 || j == 4) {
                ck_assert(BN_add_word(u1, (BN_ULONG)(j == 1 ? 1 : 256)));
            }
            else if (j == 2) {
                ck_assert(BN_lshift1(u1, u1));
            }
            else if (j == 3) {
                ck_assert(BN_set_word(u2, 1));
                ck_assert(BN_set_word(u1, 1));
            }
            else if (j == 5) {
                ck_assert(BN_mod_sub(u1, curve.n, u2, curve.n, curve.ctx));
            }
            ck_assert(BN_nnmod(u1, u1, curve.n, curve.ctx));
            crafted(&k, u1, u2, -1, "exceptional addition");
            BN_free(u2);
        }
        judge_key_free(&k);
    }
    BN_free(u1);
    BN_free(d);
}
END_TEST

/* x(R) in [n, p): r = x(R) - n must verify, x(R) itself is out of range.
 * R is chosen first and the key made to fit: Q = (R - u1 G) / u2. */
START_TEST(x_of_r_at_or_above_the_order)
{
    BIGNUM *x = BN_new(), *r = BN_new(), *inv = BN_new();
    EC_POINT *R = NULL, *q = EC_POINT_new(curve.group);
    EC_POINT *q2 = EC_POINT_new(curve.group);
    int tries, done = 0;

    ck_assert(x && r && inv && q);
    /* from n + 1: x(R) = n would make r = 0 */
    for (tries = 1; tries < 200 && done < 4; tries++) {
        BIGNUM *u1 = rand_scalar(), *u2 = rand_scalar(), *neg = BN_new();
        unsigned char digest[JB], sig[2 * JB];
        judge_key_t k;

        ck_assert(BN_copy(x, curve.n) && BN_add_word(x, (BN_ULONG)tries));
        R = point_at_x(x, tries % 2);
        if (R == NULL) {
            BN_free(u1);
            BN_free(u2);
            BN_free(neg);
            continue;
        }
        /* q = u2^-1 (R - u1 G) */
        ck_assert(BN_mod_sub(neg, curve.n, u1, curve.n, curve.ctx));
        ck_assert(EC_POINT_mul(curve.group, q, neg, NULL, NULL, curve.ctx));
        ck_assert(EC_POINT_add(curve.group, q, q, R, curve.ctx));
        ck_assert(BN_mod_inverse(inv, u2, curve.n, curve.ctx));
        ck_assert(EC_POINT_mul(curve.group, q, NULL, q, inv, curve.ctx));
        ck_assert(EC_POINT_mul(curve.group, q2, u1, q, u2, curve.ctx));
        ck_assert_msg(EC_POINT_cmp(curve.group, q2, R, curve.ctx) == 0,
                      "u1 G + u2 Q is not R");
        ck_assert(judge_key_from_point(&k, &curve, q, NULL));
        ck_assert(k.fast != NULL);
        ck_assert(judge_craft(&curve, &k, u1, u2, digest, sig));
        ck_assert(BN_sub(r, x, curve.n));
        ck_assert(BN_bin2bn(sig, JB, inv));
        ck_assert_msg(BN_cmp(r, inv) == 0, "crafted r is not x(R) - n");
        judged(&k, digest, sig, 1, "x(R) - n");
        bn_bytes(sig, x);
        judged(&k, digest, sig, 0, "x(R) >= n itself");
        judge_key_free(&k);
        EC_POINT_free(R);
        BN_free(u1);
        BN_free(u2);
        BN_free(neg);
        done++;
    }
    ck_assert_int_ge(done, 4);
    EC_POINT_free(q);
    EC_POINT_free(q2);
    BN_free(x);
    BN_free(r);
    BN_free(inv);
}
END_TEST

START_TEST(random_u1_u2_agree)
{
    judge_key_t k;
    int i;

    random_key(&k);
    for (i = 0; i < scaled(40); i++) {
        BIGNUM *u1 = rand_scalar(), *u2 = rand_scalar();

        if (i % 4 == 0) {
            /* small u1: most comb columns empty */
            ck_assert(BN_rshift(u1, u1, 300));
        }
        crafted(&k, u1, u2, 1, "random u1, u2");
        BN_free(u1);
        BN_free(u2);
    }
    judge_key_free(&k);
}
END_TEST

/* ------------------------------------------------ key sets and paths */

static int seen[2];

static void count_path(logto_p384_path_t path)
{
    seen[path]++;
}

static const logto_jwks_t *parsed(const char *doc)
{
    logto_jwks_t *jwks;
    logto_err_t err;

    ck_assert_msg(logto_jwks_parse(&jwks, pool, doc, strlen(doc), &err) ==
                      APR_SUCCESS,
                  "%s", err.text);
    return jwks;
}

START_TEST(a_decoded_set_has_tables_for_p384_keys_only)
{
    const logto_jwks_t *jwks = parsed(mint_get("jwks"));
    int i, tables = 0;

    for (i = 0; i < jwks->keys->nelts; i++) {
        const logto_jwk_t *k = APR_ARRAY_IDX(jwks->keys, i, logto_jwk_t *);
        int is384 = k->kty == LOGTO_KTY_EC && k->curve_nid == NID_secp384r1;

        ck_assert_int_eq(k->p384 != NULL, is384);
        tables += k->p384 != NULL;
    }
    ck_assert_int_eq(tables, 1);
}
END_TEST

START_TEST(tables_are_bounded_per_set)
{
    const char *jwk = mint_get("jwk_es384");
    const char *kidless = strstr(jwk, "\"kid\":\"k-es384\",");
    char *doc = apr_pstrdup(pool, "{\"keys\":[");
    const logto_jwks_t *jwks;
    int i, tables = 0;

    ck_assert(kidless != NULL);
    for (i = 0; i < LOGTO_P384_MAX_KEYS + 3; i++) {
        /* the same key under kids of its own */
        char *one =
            apr_psprintf(pool, "%.*s\"kid\":\"k%d\",%s", (int)(kidless - jwk),
                         jwk, i, kidless + strlen("\"kid\":\"k-es384\","));

        doc = apr_pstrcat(pool, doc, i ? "," : "", one, NULL);
    }
    jwks = parsed(apr_pstrcat(pool, doc, "]}", NULL));
    ck_assert_int_eq(jwks->keys->nelts, LOGTO_P384_MAX_KEYS + 3);
    for (i = 0; i < jwks->keys->nelts; i++) {
        tables += APR_ARRAY_IDX(jwks->keys, i, logto_jwk_t *)->p384 != NULL;
    }
    ck_assert_int_eq(tables, LOGTO_P384_MAX_KEYS);
    ck_assert_uint_eq(logto_p384_key_size(), 2 * 255 * 96);
}
END_TEST

/* Verify the minted token (and an altered copy) through the JWS layer. */
static void verify_token(const logto_jwks_t *jwks, int altered)
{
    const char *t = mint_get("token_es384");
    char *copy = apr_pstrdup(pool, t);
    logto_jws_t *jws;
    const logto_jwk_t *key;
    logto_err_t err;
    apr_status_t rv;

    if (altered) {
        /* a character of s changed: the signature no longer fits */
        char *c = copy + strlen(copy) - 10;

        *c = *c == 'A' ? 'B' : 'A';
    }
    ck_assert(logto_jws_parse(&jws, pool, copy, strlen(copy), &err) ==
              APR_SUCCESS);
    ck_assert(logto_jws_select_key(&key, jws, jwks, LOGTO_ALGSET_DEFAULT,
                                   &err) == APR_SUCCESS);
    rv = logto_jws_verify_signature(jws, key, pool, &err);
    if (altered) {
        ck_assert_int_ne(rv, APR_SUCCESS);
        ck_assert_int_eq(err.reason, LOGTO_ERR_SIGNATURE);
    }
    else {
        ck_assert_msg(rv == APR_SUCCESS, "%s", err.text);
    }
}

START_TEST(the_switch_chooses_the_path)
{
    const logto_jwks_t *with, *without;

    logto_p384_set_observer(count_path);
    seen[0] = seen[1] = 0;
    with = parsed(mint_get("jwks"));
    verify_token(with, 0);
    verify_token(with, 1);
    ck_assert_int_eq(seen[LOGTO_P384_PATH_TABLES], 2);
    ck_assert_int_eq(seen[LOGTO_P384_PATH_OPENSSL], 0);

    /* off: a set decoded now has no tables; one decoded before keeps
     * them, unused */
    logto_p384_set_enabled(0);
    without = parsed(mint_get("jwks"));
    ck_assert(logto_jwks_find(without, "k-es384")->p384 == NULL);
    verify_token(without, 0);
    verify_token(without, 1);
    verify_token(with, 0);
    ck_assert_int_eq(seen[LOGTO_P384_PATH_TABLES], 2);
    ck_assert_int_eq(seen[LOGTO_P384_PATH_OPENSSL], 3);

    logto_p384_set_enabled(1);
    verify_token(without, 0); /* no tables: OpenSSL still */
    verify_token(with, 0);
    ck_assert_int_eq(seen[LOGTO_P384_PATH_TABLES], 3);
    ck_assert_int_eq(seen[LOGTO_P384_PATH_OPENSSL], 4);
    logto_p384_set_observer(NULL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("p384");
    TCase *judge_tc = tcase_create("judged");
    TCase *sets = unit_tcase("sets");

    tcase_add_checked_fixture(judge_tc, curve_setup, curve_teardown);
    tcase_set_timeout(judge_tc, 600);
    tcase_add_test(judge_tc, valid_signatures_agree);
    tcase_add_test(judge_tc, every_bit_flip_of_r_and_s);
    tcase_add_test(judge_tc, r_and_s_at_the_edges);
    tcase_add_test(judge_tc, r_with_n_minus_s_is_valid_too);
    tcase_add_test(judge_tc, digests_at_or_above_the_order);
    tcase_add_test(judge_tc, keys_at_the_edges_of_the_field);
    tcase_add_test(judge_tc, coordinates_off_the_curve_get_no_tables);
    tcase_add_test(judge_tc, the_point_at_infinity_is_no_key);
    tcase_add_test(judge_tc, r_at_infinity_is_refused);
    tcase_add_test(judge_tc, exceptional_additions);
    tcase_add_test(judge_tc, x_of_r_at_or_above_the_order);
    tcase_add_test(judge_tc, random_u1_u2_agree);
    suite_add_tcase(s, judge_tc);
    tcase_add_test(sets, a_decoded_set_has_tables_for_p384_keys_only);
    tcase_add_test(sets, tables_are_bounded_per_set);
    tcase_add_test(sets, the_switch_chooses_the_path);
    suite_add_tcase(s, sets);
    return s;
}

int main(void)
{
    return mint_unit_main(NULL, suite);
}
