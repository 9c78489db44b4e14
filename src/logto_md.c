/*
 * logto_md.c - SHA-2 digests fetched once per process (logto_md.h).
 */
#include <openssl/crypto.h>

#include "logto_md.h"

static EVP_MD *fetched[3];
static CRYPTO_ONCE fetch_once = CRYPTO_ONCE_STATIC_INIT;

/* Kept for the life of the process; OpenSSL's own cleanup at exit is
 * what releases the method store they come from. */
static void fetch_all(void)
{
    fetched[0] = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    fetched[1] = EVP_MD_fetch(NULL, "SHA2-384", NULL);
    fetched[2] = EVP_MD_fetch(NULL, "SHA2-512", NULL);
}

static const EVP_MD *md(int i, const EVP_MD *legacy)
{
    if (CRYPTO_THREAD_run_once(&fetch_once, fetch_all) && fetched[i]) {
        return fetched[i];
    }
    return legacy;
}

const EVP_MD *logto_md_sha256(void)
{
    return md(0, EVP_sha256());
}

const EVP_MD *logto_md_sha384(void)
{
    return md(1, EVP_sha384());
}

const EVP_MD *logto_md_sha512(void)
{
    return md(2, EVP_sha512());
}
