/*
 * mod_auth_logto_counters.c - glue: counters shared by all child
 * processes.
 *
 * The counters live in one anonymous shared memory segment that the
 * parent creates in post_config and every child inherits by fork; each is
 * a 64-bit word bumped with an atomic increment, so counting takes no
 * lock. The segment hangs off the process pool, so a graceful restart
 * finds it again and the numbers go on.
 */
#include <apr_atomic.h>
#include <apr_shm.h>
#include <apr_time.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_core.h>

#include "mod_auth_logto.h"
#include "mod_auth_logto_counters.h"
#include "logto_p384.h"

#define SHM_USERDATA "mod_auth_logto:status-shm"

/* The names of the counters, by logto_counter_t, and their help texts. */
#define LOGTO_COUNTER_NAME(id, name, help) name,
const char *const logto_counter_names[] = {LOGTO_COUNTERS(LOGTO_COUNTER_NAME)};
#undef LOGTO_COUNTER_NAME
#define LOGTO_COUNTER_HELP(id, name, help) help,
const char *const logto_counter_help[] = {LOGTO_COUNTERS(LOGTO_COUNTER_HELP)};
#undef LOGTO_COUNTER_HELP

/* The shared counters. Only the parent writes `since`, before forking. */
typedef struct status_counters_t {
    apr_size_t size; /* sizeof(status_counters_t): a layout check */
    apr_int64_t since;
    apr_uint64_t count[LOGTO_C__COUNT];
    apr_uint64_t refusals[LOGTO_ERR__COUNT];
    apr_uint32_t misconfig_logged; /* seconds after `since`, 0: never */
} status_counters_t;

/* NULL until post_config, or when no segment could be had: counting is
 * then a no-op. */
static status_counters_t *counters;

static void count_p384_path(logto_p384_path_t path);

static apr_status_t forget_counters(void *data)
{
    counters = NULL;
    return APR_SUCCESS;
}

/* The segment of an earlier generation, if its layout is ours (a module
 * with other counters, loaded by a graceful restart, starts afresh). */
static status_counters_t *existing_counters(apr_pool_t *process_pool)
{
    void *data = NULL;
    status_counters_t *sc;

    apr_pool_userdata_get(&data, SHM_USERDATA, process_pool);
    if (!data) {
        return NULL;
    }
    sc = apr_shm_baseaddr_get(data);
    return sc->size == sizeof(*sc) ? sc : NULL;
}

int logto_counters_post_config(apr_pool_t *pconf, server_rec *s)
{
    apr_pool_t *process_pool = s->process->pool;
    apr_shm_t *shm;
    apr_status_t rv;

    /* The first pass only checks the configuration. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    apr_pool_cleanup_register(pconf, NULL, forget_counters,
                              apr_pool_cleanup_null);
    logto_p384_set_observer(count_p384_path);
    counters = existing_counters(process_pool);
    if (counters) {
        return OK;
    }
    rv = apr_shm_create(&shm, sizeof(*counters), NULL, process_pool);
    if (rv != APR_SUCCESS) {
        /* A status page without numbers is no reason to refuse to start. */
        ap_log_error(
            APLOG_MARK, APLOG_WARNING, rv, s,
            LOGTO_LOGNO(00401) "cannot create shared memory for "
                               "the status counters: logto-status shows none");
        return OK;
    }
    counters = apr_shm_baseaddr_get(shm);
    memset(counters, 0, sizeof(*counters));
    counters->size = sizeof(*counters);
    counters->since = apr_time_sec(apr_time_now());
    apr_pool_userdata_set(shm, SHM_USERDATA, apr_pool_cleanup_null,
                          process_pool);
    return OK;
}

void logto_count(logto_counter_t which)
{
    if (counters && (int)which >= 0 && which < LOGTO_C__COUNT) {
        apr_atomic_inc64(&counters->count[which]);
    }
}

/* The core tells which code checked an ES384 signature. */
static void count_p384_path(logto_p384_path_t path)
{
    logto_count(path == LOGTO_P384_PATH_TABLES ? LOGTO_C_ES384_TABLES
                                               : LOGTO_C_ES384_OPENSSL);
}

int logto_misconfig_log_due(int interval)
{
    static apr_int64_t local_last; /* without the segment: per process */
    apr_int64_t now = apr_time_sec(apr_time_now());
    apr_uint32_t last, stamp;

    if (!counters) {
        if (local_last && now - local_last < interval) {
            return 0;
        }
        local_last = now;
        return 1;
    }
    stamp = (apr_uint32_t)(now - counters->since) + 1;
    last = apr_atomic_read32(&counters->misconfig_logged);
    if (last && stamp - last < (apr_uint32_t)interval) {
        return 0;
    }
    /* of the processes that race here, one wins and logs */
    return apr_atomic_cas32(&counters->misconfig_logged, stamp, last) == last;
}

void logto_count_refusal(logto_reason_t reason)
{
    if (counters && (int)reason > LOGTO_OK && reason < LOGTO_ERR__COUNT) {
        apr_atomic_inc64(&counters->refusals[reason]);
    }
}

void logto_count_fetch(int ok)
{
    logto_count(LOGTO_C_FETCHES);
    if (!ok) {
        logto_count(LOGTO_C_FETCH_FAILURES);
    }
}

void logto_count_verdict(const logto_req_t *rq)
{
    switch (rq->verdict) {
        case LOGTO_V_VALID:
            logto_count(LOGTO_C_ACCEPTED);
            break;
        case LOGTO_V_INVALID:
        case LOGTO_V_UNAVAILABLE:
            logto_count_refusal(rq->err.reason);
            break;
        case LOGTO_V_BAD_REQUEST:
            logto_count(LOGTO_C_BAD_REQUEST);
            break;
        case LOGTO_V_NONE:
            logto_count(LOGTO_C_NO_TOKEN);
            break;
        default:
            break;
    }
    if (rq->cache_hit) {
        logto_count(LOGTO_C_TOKEN_CACHE_HITS);
    }
}

void logto_counters_read(logto_counts_t *out)
{
    int i;

    memset(out, 0, sizeof(*out));
    if (!counters) {
        return;
    }
    out->available = 1;
    out->since = counters->since;
    for (i = 0; i < LOGTO_C__COUNT; i++) {
        out->count[i] = apr_atomic_read64(&counters->count[i]);
    }
    for (i = 0; i < LOGTO_ERR__COUNT; i++) {
        out->refusals[i] = apr_atomic_read64(&counters->refusals[i]);
    }
}
