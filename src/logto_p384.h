/*
 * logto_p384.h - ECDSA P-384 signature verification (FIPS 186-5) for
 * public keys that verify many signatures: per key, fixed-base comb
 * tables of the key's multiples in affine form, built once when a key set
 * is decoded; the generator's tables are built once per process.
 *
 * Only public data goes through here (key, digest, signature), so the code
 * takes data-dependent branches and is not constant time.
 */
#ifndef LOGTO_P384_H
#define LOGTO_P384_H

#include <stddef.h>

/* Bytes of a coordinate, a scalar, a digest; a raw signature is r || s. */
#define LOGTO_P384_BYTES 48

typedef struct logto_p384_key_t logto_p384_key_t;

/* Bytes a logto_p384_key_t takes, its tables included (fixed: the comb's
 * shape is a compile-time constant). */
size_t logto_p384_key_size(void);

/* Build in mem (logto_p384_key_size() bytes, suitably aligned, e.g. from
 * malloc or apr_palloc) the tables of the public key (x, y), big-endian
 * coordinates of LOGTO_P384_BYTES each. Returns the key, or NULL when
 * (x, y) is not a point of the curve (coordinates >= p included). */
logto_p384_key_t *logto_p384_key_init(void *mem, const unsigned char *x,
                                      const unsigned char *y);

/* Verify the raw signature r || s (2 * LOGTO_P384_BYTES) of the
 * LOGTO_P384_BYTES-byte digest with key: 1 when valid, 0 otherwise
 * (r or s outside [1, n-1], R the point at infinity, x(R) mod n != r). */
int logto_p384_verify(const logto_p384_key_t *key, const unsigned char *digest,
                      const unsigned char *sig);

/* Process-wide switch, on unless turned off: when off, key sets are
 * decoded without tables and every signature goes to OpenSSL. Set it
 * before key sets are decoded (at configuration time). */
void logto_p384_set_enabled(int on);
int logto_p384_enabled(void);

/* Which code verified an ES384 signature. */
typedef enum {
    LOGTO_P384_PATH_TABLES = 0, /* logto_p384_verify */
    LOGTO_P384_PATH_OPENSSL     /* EVP_DigestVerify */
} logto_p384_path_t;

/* Called after every ES384 signature check with the path that did it
 * (NULL: not told). Set once, at configuration time. */
typedef void logto_p384_observer_fn(logto_p384_path_t path);
void logto_p384_set_observer(logto_p384_observer_fn *fn);
void logto_p384_observe(logto_p384_path_t path);

#endif /* LOGTO_P384_H */
