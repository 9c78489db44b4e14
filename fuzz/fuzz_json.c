/*
 * fuzz_json.c - libFuzzer harness, differential: any bytes through
 * logto_json_parse_object and Jansson's json_loadb (t/unit/json_judge.h),
 * and any disagreement aborts. That holds the quick parser in
 * logto_json.c, which builds the common documents itself, to Jansson's
 * reading of every input. Each input is judged at the core's bound
 * (LOGTO_JSON_MAX_DEPTH) and at a bound of 2.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz.h"
#include "json_judge.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init_apr();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;

    apr_pool_create(&p, global_pool);
    if (!json_judge((const char *)data, size, LOGTO_JSON_MAX_DEPTH, p, NULL) ||
        !json_judge((const char *)data, size, 2, p, NULL)) {
        abort();
    }
    apr_pool_destroy(p);
    return 0;
}
