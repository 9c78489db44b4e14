/*
 * fuzz.h - what every libFuzzer harness here starts with: the two entry
 * points libFuzzer calls, and APR with one process-wide pool, released at
 * exit before LeakSanitizer looks.
 */
#ifndef LOGTO_FUZZ_H
#define LOGTO_FUZZ_H

#include <stdint.h>
#include <stdlib.h>

#include <apr_general.h>
#include <apr_pools.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static apr_pool_t *global_pool;

static void fuzz_cleanup(void)
{
    apr_pool_destroy(global_pool);
    apr_terminate();
}

/* From LLVMFuzzerInitialize: APR, and global_pool. */
static void fuzz_init_apr(void)
{
    apr_initialize();
    apr_pool_create(&global_pool, NULL);
    atexit(fuzz_cleanup);
}

#endif /* LOGTO_FUZZ_H */
