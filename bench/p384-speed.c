/*
 * p384-speed - single-core ES384 verifications per second of
 * logto_p384_verify (one key's tables built beforehand), beside
 * `openssl speed -seconds S ecdsap384` run in the same invocation, for
 * ROUNDS rounds; prints every round and the medians.
 *
 *   bench/p384-speed [-s SECONDS] [-r ROUNDS]      (3 s, 3 rounds)
 *
 * Time is this process's CPU time, so a busy machine slows both sides
 * alike rather than counting other programs' time against one of them.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>

#include "logto_p384.h"
#include "speed.h"

#define NSIGS 64

/* verify/s of `openssl speed -seconds secs ecdsap384`, or -1. */
static double openssl_speed(int secs)
{
    char cmd[128], line[512];
    double rate = -1, sign_t, verify_t, sign_s, verify_s;
    FILE *f;

    snprintf(cmd, sizeof(cmd),
             "openssl speed -seconds %d ecdsap384 2>/dev/null", secs);
    f = popen(cmd, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        /* " 384 bits ecdsa (nistp384)   0.0012s   0.0006s    850.0   1700.0" */
        const char *p = strstr(line, "(nistp384)");

        if (p && sscanf(p + strlen("(nistp384)"), "%lfs %lfs %lf %lf", &sign_t,
                        &verify_t, &sign_s, &verify_s) == 4) {
            rate = verify_s;
        }
    }
    pclose(f);
    return rate;
}

int main(int argc, char **argv)
{
    unsigned char x[LOGTO_P384_BYTES], y[LOGTO_P384_BYTES];
    unsigned char digests[NSIGS][LOGTO_P384_BYTES];
    unsigned char sigs[NSIGS][2 * LOGTO_P384_BYTES];
    double ours[MAX_ROUNDS], theirs[MAX_ROUNDS], t0, built;
    int secs = 3, rounds = 3, opt, i, r;
    EC_KEY *ec = EC_KEY_new_by_curve_name(NID_secp384r1);
    BIGNUM *bx = BN_new(), *by = BN_new();
    logto_p384_key_t *key;
    void *mem;

    while ((opt = getopt(argc, argv, "s:r:")) != -1) {
        if (opt == 's') {
            secs = atoi(optarg);
        }
        else if (opt == 'r') {
            rounds = atoi(optarg);
        }
        else {
            fprintf(stderr, "usage: %s [-s SECONDS] [-r ROUNDS]\n", argv[0]);
            return 2;
        }
    }
    if (secs < 1 || rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "p384-speed: SECONDS >= 1, ROUNDS 1..%d\n", MAX_ROUNDS);
        return 2;
    }
    if (!ec || !bx || !by || !EC_KEY_generate_key(ec) ||
        !EC_POINT_get_affine_coordinates(
            EC_KEY_get0_group(ec), EC_KEY_get0_public_key(ec), bx, by, NULL) ||
        BN_bn2binpad(bx, x, sizeof(x)) != sizeof(x) ||
        BN_bn2binpad(by, y, sizeof(y)) != sizeof(y)) {
        fprintf(stderr, "p384-speed: no key\n");
        return 1;
    }
    for (i = 0; i < NSIGS; i++) {
        ECDSA_SIG *s;
        const BIGNUM *sr, *ss;

        RAND_bytes(digests[i], sizeof(digests[i]));
        s = ECDSA_do_sign(digests[i], sizeof(digests[i]), ec);
        if (s == NULL) {
            return 1;
        }
        ECDSA_SIG_get0(s, &sr, &ss);
        BN_bn2binpad(sr, sigs[i], LOGTO_P384_BYTES);
        BN_bn2binpad(ss, sigs[i] + LOGTO_P384_BYTES, LOGTO_P384_BYTES);
        ECDSA_SIG_free(s);
    }
    mem = malloc(logto_p384_key_size());
    t0 = cpu_now();
    key = mem ? logto_p384_key_init(mem, x, y) : NULL; /* G's tables too */
    built = cpu_now() - t0;
    t0 = cpu_now();
    key = mem ? logto_p384_key_init(mem, x, y) : NULL;
    if (key == NULL) {
        fprintf(stderr, "p384-speed: no tables\n");
        return 1;
    }
    printf("tables: %zu bytes per key; built in %.2f ms (the first key, "
           "with G's: %.2f ms)\n",
           logto_p384_key_size(), (cpu_now() - t0) * 1e3, built * 1e3);
    for (r = 0; r < rounds; r++) {
        long n = 0;
        double start = cpu_now(), el;

        do {
            for (i = 0; i < NSIGS; i++) {
                if (logto_p384_verify(key, digests[i], sigs[i]) != 1) {
                    fprintf(stderr, "p384-speed: a valid signature failed\n");
                    return 1;
                }
            }
            n += NSIGS;
            el = cpu_now() - start;
        } while (el < secs);
        ours[r] = (double)n / el;
        theirs[r] = openssl_speed(secs);
        printf("round %d: logto_p384_verify %.0f verify/s, openssl speed "
               "ecdsap384 %.0f verify/s, %.2fx\n",
               r + 1, ours[r], theirs[r],
               theirs[r] > 0 ? ours[r] / theirs[r] : 0.0);
        fflush(stdout);
    }
    {
        double mo = median(ours, rounds), mt = median(theirs, rounds);

        printf("median of %d: logto_p384_verify %.0f verify/s, openssl "
               "%.0f verify/s, %.2fx\n",
               rounds, mo, mt, mt > 0 ? mo / mt : 0.0);
    }
    free(mem);
    EC_KEY_free(ec);
    BN_free(bx);
    BN_free(by);
    return 0;
}
