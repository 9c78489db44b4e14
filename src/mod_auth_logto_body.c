/*
 * mod_auth_logto_body.c - glue: a token in a form body (see
 * mod_auth_logto_body.h).
 *
 * The body is read before authorization, so what was read is kept in the
 * request's pool and an input filter at the top of the request's chain
 * gives it back, in the modes readers ask for, before letting the rest of
 * the body through.
 */
#include <string.h>
#include <strings.h>

#include <http_protocol.h>
#include <http_request.h>
#include <util_filter.h>

#include "logto_form.h"
#include "mod_auth_logto_body.h"

#define KEPT_BODY_FILTER "LOGTO_KEPT_BODY"
#define SCAN_NOTE        "logto:body-scan"

/* One scan of a request's body, remembered in its pool (which internal
 * redirects share): its answer, and what it read, to hand back. */
typedef struct body_scan_t {
    apr_bucket_brigade *kept; /* what is left to hand back */
    int found;                /* 1 token, 0 none, -1 unreadable */
    int status;               /* when unreadable */
} body_scan_t;

static const char form_type[] = "application/x-www-form-urlencoded";

/* The Content-Type of a form, parameters allowed after it. */
static int is_form(const request_rec *r)
{
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    apr_size_t n = sizeof(form_type) - 1;

    return ct && !strncasecmp(ct, form_type, n) &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

/* ------------------------------------------------------ handing it back */

/* Hand the first readbytes bytes of from to to: moved, or copied when
 * the reader only looks (AP_MODE_SPECULATIVE). */
static apr_status_t hand_bytes(apr_bucket_brigade *to, apr_bucket_brigade *from,
                               apr_off_t readbytes, int copy)
{
    apr_bucket *stop, *b, *next, *c;
    apr_status_t rv = apr_brigade_partition(from, readbytes, &stop);

    if (rv != APR_SUCCESS && rv != APR_INCOMPLETE) {
        return rv;
    }
    for (b = APR_BRIGADE_FIRST(from); b != stop; b = next) {
        next = APR_BUCKET_NEXT(b);
        if (!copy) {
            APR_BUCKET_REMOVE(b);
            APR_BRIGADE_INSERT_TAIL(to, b);
        }
        else if ((rv = apr_bucket_copy(b, &c)) == APR_SUCCESS) {
            APR_BRIGADE_INSERT_TAIL(to, c);
        }
        else {
            return rv;
        }
    }
    return APR_SUCCESS;
}

static apr_status_t kept_body_filter(ap_filter_t *f, apr_bucket_brigade *bb,
                                     ap_input_mode_t mode,
                                     apr_read_type_e block, apr_off_t readbytes)
{
    body_scan_t *ctx = f->ctx;

    if (!ctx || APR_BRIGADE_EMPTY(ctx->kept)) {
        ap_remove_input_filter(f);
        return ap_get_brigade(f->next, bb, mode, block, readbytes);
    }
    switch (mode) {
        case AP_MODE_READBYTES:
            return hand_bytes(bb, ctx->kept, readbytes, 0);
        case AP_MODE_SPECULATIVE:
            return hand_bytes(bb, ctx->kept, readbytes, 1);
        case AP_MODE_GETLINE:
            /* a line cut where the kept part ends is read on by the
             * caller, which asks until it has a whole line */
            return apr_brigade_split_line(bb, ctx->kept, block,
                                          HUGE_STRING_LEN);
        case AP_MODE_EXHAUSTIVE:
            /* all of it: what is kept, then the rest */
            APR_BRIGADE_CONCAT(bb, ctx->kept);
            ap_remove_input_filter(f);
            return APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(bb))
                       ? APR_SUCCESS
                       : ap_get_brigade(f->next, bb, mode, block, readbytes);
        default:
            return ap_get_brigade(f->next, bb, mode, block, readbytes);
    }
}

/* An internal redirect starts the new request's filters afresh, without
 * this one: what is still kept goes back on for it. */
static int kept_body_redirected(request_rec *r)
{
    body_scan_t *ctx = NULL;

    if (r->prev) {
        apr_pool_userdata_get((void **)&ctx, SCAN_NOTE, r->pool);
    }
    if (ctx && !APR_BRIGADE_EMPTY(ctx->kept)) {
        ap_add_input_filter(KEPT_BODY_FILTER, ctx, r, r->connection);
    }
    return DECLINED;
}

void logto_body_register(void)
{
    ap_register_input_filter(KEPT_BODY_FILTER, kept_body_filter, NULL,
                             AP_FTYPE_RESOURCE);
    ap_hook_post_read_request(kept_body_redirected, NULL, NULL,
                              APR_HOOK_MIDDLE);
}

/* ------------------------------------------------------------- reading */

/* Read up to LOGTO_BODY_SCAN_MAX bytes of r's body into kept, set aside
 * in r's pool. A filter's error bucket gives its status in *pstatus. */
static apr_status_t read_some(request_rec *r, apr_bucket_brigade *kept,
                              int *pstatus)
{
    apr_bucket_brigade *bb =
        apr_brigade_create(r->pool, r->connection->bucket_alloc);
    apr_off_t have = 0, got;
    apr_bucket *b;
    apr_status_t rv;
    int eos = 0, round;

    /* every round brings a byte or more, or the end: bounded */
    for (round = 0;
         round <= LOGTO_BODY_SCAN_MAX && !eos && have < LOGTO_BODY_SCAN_MAX;
         round++) {
        rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                            APR_BLOCK_READ, LOGTO_BODY_SCAN_MAX - have);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
             b = APR_BUCKET_NEXT(b)) {
            if (AP_BUCKET_IS_ERROR(b)) {
                /* nothing was answered yet: the filter's status is ours */
                *pstatus = ((ap_bucket_error *)b->data)->status;
                return APR_EGENERAL;
            }
            eos |= APR_BUCKET_IS_EOS(b);
            rv = apr_bucket_setaside(b, r->pool);
            if (rv != APR_SUCCESS && rv != APR_ENOTIMPL) {
                return rv;
            }
        }
        if ((rv = apr_brigade_length(bb, 1, &got)) != APR_SUCCESS) {
            return rv;
        }
        APR_BRIGADE_CONCAT(kept, bb);
        if (got == 0 && !eos) {
            break;
        }
        have += got;
    }
    return APR_SUCCESS;
}

/* Read, look, and hand back: the scan, remembered for the request. */
static body_scan_t *scan(request_rec *r)
{
    body_scan_t *s = apr_pcalloc(r->pool, sizeof(*s));
    apr_status_t rv;
    char *text;
    apr_size_t len;

    s->kept = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    rv = read_some(r, s->kept, &s->status);
    /* what was read goes back whatever happens next, internal redirects
     * included (kept_body_redirected) */
    apr_pool_userdata_setn(s, SCAN_NOTE, NULL, r->pool);
    if (!APR_BRIGADE_EMPTY(s->kept)) {
        ap_add_input_filter(KEPT_BODY_FILTER, s, r, r->connection);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_brigade_pflatten(s->kept, &text, &len, r->pool);
    }
    if (rv != APR_SUCCESS) {
        s->found = -1;
        if (!s->status) {
            s->status = ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
        }
        return s;
    }
    s->found = logto_form_has_param(text, len, "access_token");
    return s;
}

int logto_body_has_token(request_rec *r, int *pstatus)
{
    body_scan_t *s = NULL;

    *pstatus = 0;
    if (r->main || r->prev || !is_form(r) || !ap_request_has_body(r)) {
        return 0;
    }
    apr_pool_userdata_get((void **)&s, SCAN_NOTE, r->pool);
    if (!s) {
        s = scan(r);
    }
    *pstatus = s->status;
    return s->found;
}
