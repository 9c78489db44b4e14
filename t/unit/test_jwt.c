/*
 * test_jwt.c - claim checks, one refusal per reason (whole verifications
 * are in test_verify.c).
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "logto_json.h"
#include "logto_jwt.h"
#include "unit.h"

#define NOW ((apr_int64_t)1800000000)
#define ISS "https://tenant.logto.app/oidc"
#define API "https://api.example.com/products"

/* ------------------------------------------------------------ helpers */

static logto_policy_t *policy(const char *aud1, const char *aud2)
{
    logto_policy_t *pol = apr_pcalloc(pool, sizeof(*pol));

    pol->issuers = apr_array_make(pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(pol->issuers, const char *) = ISS;
    pol->audiences = apr_array_make(pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(pol->audiences, const char *) = aud1;
    if (aud2) {
        APR_ARRAY_PUSH(pol->audiences, const char *) = aud2;
    }
    pol->algorithms = LOGTO_ALGSET_DEFAULT;
    pol->clock_skew = 60;
    return pol;
}

/* A JWS as the parser would leave it, with the payload given as JSON
 * text; the signature is taken as verified. */
static logto_jws_t *jws_of(const char *payload)
{
    logto_jws_t *jws = apr_pcalloc(pool, sizeof(*jws));
    json_error_t jerr;

    jws->header =
        logto_json_own(pool, json_pack("{s:s, s:s, s:s}", "alg", "ES384", "typ",
                                       "at+jwt", "kid", "k1"));
    jws->payload = logto_json_own(pool, json_loads(payload, 0, &jerr));
    ck_assert_msg(jws->payload != NULL, "test payload: %s", jerr.text);
    jws->alg = LOGTO_ALG_ES384;
    jws->alg_name = "ES384";
    jws->kid = "k1";
    jws->typ = "at+jwt";
    return jws;
}

/* The claims of a typical Logto token. */
static json_t *typical_payload(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "iss", ISS,
                     "aud", API, "sub", "user-1", "client_id", "app-1", "jti",
                     "j-1", "scope", "read:products write:products", "iat",
                     (json_int_t)(NOW - 10), "exp", (json_int_t)(NOW + 3600));
}

static const char *dump_payload(json_t *json)
{
    char *text = json_dumps(json, JSON_COMPACT);
    const char *out = apr_pstrdup(pool, text);

    free(text);
    json_decref(json);
    return out;
}

/* A typical payload with some members replaced: `replace` is JSON
 * object members text that overrides the defaults. */
static const char *payload_over(const char *replace)
{
    json_t *base = typical_payload();
    json_t *over = json_loads(apr_psprintf(pool, "{%s}", replace), 0, NULL);

    ck_assert_ptr_nonnull(over);
    json_object_update(base, over);
    json_decref(over);
    return dump_payload(base);
}

/* A typical payload without the member name. */
static const char *payload_without(const char *name)
{
    json_t *base = typical_payload();

    json_object_del(base, name);
    return dump_payload(base);
}

/* Check payload text against pol at NOW; the status and err. */
static apr_status_t check(logto_claims_t **pc, const char *payload,
                          const logto_policy_t *pol, logto_err_t *err)
{
    logto_err_clear(err);
    return logto_claims_check(pc, pool, jws_of(payload), pol, NOW, err);
}

/* Refused with reason, and the text is short and echoes nothing of the
 * token's values. */
static void assert_refused(const char *payload, const logto_policy_t *pol,
                           logto_reason_t reason)
{
    logto_claims_t *c = (logto_claims_t *)1;
    logto_err_t err;

    ck_assert_int_ne(check(&c, payload, pol, &err), APR_SUCCESS);
    ck_assert_ptr_null(c);
    ck_assert_msg(err.reason == reason, "reason %s, wanted %s (%s)",
                  logto_reason_name(err.reason), logto_reason_name(reason),
                  err.text);
    ck_assert_uint_gt(strlen(err.text), 0);
    ck_assert_uint_lt(strlen(err.text), 60);
    ck_assert_ptr_null(strstr(err.text, "evil"));
    ck_assert_ptr_null(strstr(err.text, "http"));
}

static logto_claims_t *assert_accepted(const char *payload,
                                       const logto_policy_t *pol)
{
    logto_claims_t *c = NULL;
    logto_err_t err;

    ck_assert_msg(check(&c, payload, pol, &err) == APR_SUCCESS,
                  "refused: %s (%s)", err.text, logto_reason_name(err.reason));
    ck_assert_ptr_nonnull(c);
    return c;
}

static const char *t64(apr_int64_t t)
{
    return apr_psprintf(pool, "%" APR_INT64_T_FMT, t);
}

/* ------------------------------------------------------ claims: accepted */

START_TEST(typical_token_fills_every_field)
{
    logto_claims_t *c = assert_accepted(payload_over(""), policy(API, NULL));

    ck_assert_str_eq(c->sub, "user-1");
    ck_assert_str_eq(c->client_id, "app-1");
    ck_assert_str_eq(c->jti, "j-1");
    ck_assert_str_eq(c->kid, "k1");
    ck_assert_str_eq(c->scope, "read:products write:products");
    ck_assert_int_eq(c->scopes->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(c->scopes, 1, const char *),
                     "write:products");
    ck_assert_int_eq(c->aud->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(c->aud, 0, const char *), API);
    ck_assert_ptr_null(c->organization_id);
    ck_assert(c->exp == NOW + 3600);
    ck_assert(c->iat == NOW - 10);
    ck_assert(c->nbf == 0);
    ck_assert_ptr_nonnull(c->header);
    ck_assert_ptr_nonnull(c->payload);
}
END_TEST

START_TEST(absent_optional_claims_are_null)
{
    logto_claims_t *c = assert_accepted("{\"iss\":\"" ISS "\",\"aud\":\"" API
                                        "\",\"exp\":1800000100}",
                                        policy(API, NULL));

    ck_assert_ptr_null(c->sub);
    ck_assert_ptr_null(c->client_id);
    ck_assert_ptr_null(c->jti);
    ck_assert_ptr_null(c->scope);
    ck_assert_int_eq(c->scopes->nelts, 0);
    ck_assert(c->iat == 0);
}
END_TEST

START_TEST(aud_array_with_one_accepted_value)
{
    logto_claims_t *c = assert_accepted(
        payload_over("\"aud\":[\"https://other.example\",\"" API "\"]"),
        policy(API, NULL));

    ck_assert_int_eq(c->aud->nelts, 2);
}
END_TEST

START_TEST(second_configured_audience_accepted)
{
    assert_accepted(payload_over(""), policy("https://other.example", API));
}
END_TEST

/* With several issuers the claims accept any of them; logto_verify then
 * holds the token to the one whose key verified it. */
START_TEST(any_configured_issuer_accepted)
{
    logto_policy_t *pol = policy(API, NULL);

    APR_ARRAY_PUSH(pol->issuers, const char *) =
        "https://auth.example.com/oidc";
    assert_accepted(payload_over("\"iss\":\"https://auth.example.com/oidc\""),
                    pol);
    assert_refused(payload_over("\"iss\":\"https://evil.logto.app/oidc\""), pol,
                   LOGTO_ERR_ISSUER);
}
END_TEST

START_TEST(real_exp_accepted)
{
    logto_claims_t *c = assert_accepted(payload_over("\"exp\":1800000100.5"),
                                        policy(API, NULL));

    ck_assert(c->exp == NOW + 100);
}
END_TEST

/* ------------------------------------------------------ claims: refusals */

START_TEST(refuses_missing_issuer)
{
    assert_refused(payload_without("iss"), policy(API, NULL), LOGTO_ERR_ISSUER);
}
END_TEST

START_TEST(refuses_non_string_issuer_saying_so)
{
    logto_claims_t *c = NULL;
    logto_err_t err;

    assert_refused(payload_over("\"iss\":5"), policy(API, NULL),
                   LOGTO_ERR_ISSUER);
    ck_assert_int_ne(
        check(&c, payload_over("\"iss\":5"), policy(API, NULL), &err),
        APR_SUCCESS);
    ck_assert_str_eq(err.text, "iss is not a string");
    ck_assert_int_ne(check(&c, payload_without("iss"), policy(API, NULL), &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.text, "issuer missing");
}
END_TEST

START_TEST(refuses_other_issuer)
{
    assert_refused(payload_over("\"iss\":\"https://evil.logto.app/oidc\""),
                   policy(API, NULL), LOGTO_ERR_ISSUER);
    /* exact: no prefix, no trailing slash */
    assert_refused(payload_over("\"iss\":\"" ISS "/\""), policy(API, NULL),
                   LOGTO_ERR_ISSUER);
}
END_TEST

START_TEST(refuses_non_string_issuer)
{
    assert_refused(payload_over("\"iss\":[\"" ISS "\"]"), policy(API, NULL),
                   LOGTO_ERR_ISSUER);
}
END_TEST

START_TEST(refuses_other_audience)
{
    assert_refused(payload_over("\"aud\":\"https://evil.example\""),
                   policy(API, NULL), LOGTO_ERR_AUDIENCE);
}
END_TEST

START_TEST(refuses_missing_audience)
{
    assert_refused(payload_without("aud"), policy(API, NULL),
                   LOGTO_ERR_AUDIENCE);
}
END_TEST

START_TEST(refuses_aud_array_without_accepted_value)
{
    assert_refused(payload_over("\"aud\":[\"https://a.example\",\"b\"]"),
                   policy(API, NULL), LOGTO_ERR_AUDIENCE);
    assert_refused(payload_over("\"aud\":[]"), policy(API, NULL),
                   LOGTO_ERR_AUDIENCE);
}
END_TEST

START_TEST(refuses_aud_of_wrong_type)
{
    assert_refused(payload_over("\"aud\":[\"" API "\",7]"), policy(API, NULL),
                   LOGTO_ERR_CLAIM_TYPE);
    assert_refused(payload_over("\"aud\":{\"x\":\"" API "\"}"),
                   policy(API, NULL), LOGTO_ERR_CLAIM_TYPE);
}
END_TEST

START_TEST(refuses_missing_exp)
{
    assert_refused(payload_without("exp"), policy(API, NULL),
                   LOGTO_ERR_EXP_MISSING);
}
END_TEST

START_TEST(refuses_exp_string)
{
    assert_refused(payload_over("\"exp\":\"1800003600\""), policy(API, NULL),
                   LOGTO_ERR_CLAIM_TYPE);
}
END_TEST

START_TEST(refuses_exp_negative)
{
    assert_refused(payload_over("\"exp\":-1"), policy(API, NULL),
                   LOGTO_ERR_CLAIM_TYPE);
    assert_refused(payload_over("\"exp\":-0.5"), policy(API, NULL),
                   LOGTO_ERR_CLAIM_TYPE);
}
END_TEST

START_TEST(refuses_exp_beyond_2_53)
{
    assert_refused(payload_over("\"exp\":9007199254740993"), policy(API, NULL),
                   LOGTO_ERR_CLAIM_TYPE);
    assert_refused(payload_over("\"exp\":1e300"), policy(API, NULL),
                   LOGTO_ERR_CLAIM_TYPE);
}
END_TEST

START_TEST(refuses_exp_of_other_types)
{
    assert_refused(payload_over("\"exp\":true"), policy(API, NULL),
                   LOGTO_ERR_CLAIM_TYPE);
    assert_refused(payload_over("\"exp\":null"), policy(API, NULL),
                   LOGTO_ERR_CLAIM_TYPE);
    assert_refused(payload_over("\"exp\":[1800003600]"), policy(API, NULL),
                   LOGTO_ERR_CLAIM_TYPE);
}
END_TEST

START_TEST(refuses_nbf_string)
{
    assert_refused(payload_over("\"nbf\":\"0\""), policy(API, NULL),
                   LOGTO_ERR_CLAIM_TYPE);
}
END_TEST

START_TEST(refuses_iat_huge)
{
    assert_refused(payload_over("\"iat\":18014398509481984"), policy(API, NULL),
                   LOGTO_ERR_CLAIM_TYPE);
}
END_TEST

START_TEST(refuses_expired)
{
    logto_claims_t *c;
    logto_err_t err;

    assert_refused(
        payload_over(apr_pstrcat(pool, "\"exp\":", t64(NOW - 61), NULL)),
        policy(API, NULL), LOGTO_ERR_EXPIRED);
    check(&c, payload_over("\"exp\":1"), policy(API, NULL), &err);
    ck_assert_str_eq(err.text, "token expired");
}
END_TEST

START_TEST(refuses_not_yet_valid)
{
    assert_refused(
        payload_over(apr_pstrcat(pool, "\"nbf\":", t64(NOW + 61), NULL)),
        policy(API, NULL), LOGTO_ERR_NOT_YET_VALID);
}
END_TEST

START_TEST(refuses_iat_in_future)
{
    assert_refused(
        payload_over(apr_pstrcat(pool, "\"iat\":", t64(NOW + 61), NULL)),
        policy(API, NULL), LOGTO_ERR_IAT_FUTURE);
}
END_TEST

START_TEST(refuses_scope_not_string)
{
    assert_refused(payload_over("\"scope\":[\"read:products\"]"),
                   policy(API, NULL), LOGTO_ERR_CLAIM_TYPE);
}
END_TEST

START_TEST(refuses_sub_client_id_jti_not_string)
{
    assert_refused(payload_over("\"sub\":1"), policy(API, NULL),
                   LOGTO_ERR_CLAIM_TYPE);
    assert_refused(payload_over("\"client_id\":{}"), policy(API, NULL),
                   LOGTO_ERR_CLAIM_TYPE);
    assert_refused(payload_over("\"jti\":false"), policy(API, NULL),
                   LOGTO_ERR_CLAIM_TYPE);
    assert_refused(payload_over("\"organization_id\":5"), policy(API, NULL),
                   LOGTO_ERR_CLAIM_TYPE);
}
END_TEST

/* ------------------------------------------------------------ the skew */

/* RFC 7519 4.1.4: the time must be before exp; the skew moves it. */
START_TEST(skew_honoured_for_exp)
{
    logto_policy_t *pol = policy(API, NULL);

    assert_accepted(
        payload_over(apr_pstrcat(pool, "\"exp\":", t64(NOW - 59), NULL)), pol);
    assert_refused(
        payload_over(apr_pstrcat(pool, "\"exp\":", t64(NOW - 60), NULL)), pol,
        LOGTO_ERR_EXPIRED);
    pol->clock_skew = 0;
    assert_accepted(
        payload_over(apr_pstrcat(pool, "\"exp\":", t64(NOW + 1), NULL)), pol);
    assert_refused(payload_over(apr_pstrcat(pool, "\"exp\":", t64(NOW), NULL)),
                   pol, LOGTO_ERR_EXPIRED);
}
END_TEST

START_TEST(skew_honoured_for_nbf_and_iat)
{
    logto_policy_t *pol = policy(API, NULL);

    assert_accepted(payload_over(apr_pstrcat(pool, "\"nbf\":", t64(NOW + 60),
                                             ",\"iat\":", t64(NOW + 60), NULL)),
                    pol);
    pol->clock_skew = 0;
    assert_refused(
        payload_over(apr_pstrcat(pool, "\"nbf\":", t64(NOW + 1), NULL)), pol,
        LOGTO_ERR_NOT_YET_VALID);
    assert_refused(
        payload_over(apr_pstrcat(pool, "\"iat\":", t64(NOW + 1), NULL)), pol,
        LOGTO_ERR_IAT_FUTURE);
}
END_TEST

START_TEST(negative_skew_counts_as_none)
{
    logto_policy_t *pol = policy(API, NULL);

    pol->clock_skew = -1000;
    assert_accepted(
        payload_over(apr_pstrcat(pool, "\"exp\":", t64(NOW + 1), NULL)), pol);
    assert_refused(payload_over(apr_pstrcat(pool, "\"exp\":", t64(NOW), NULL)),
                   pol, LOGTO_ERR_EXPIRED);
}
END_TEST

/* ------------------------------------------------------- organizations */

START_TEST(org_wildcard_accepts_organization_audience)
{
    logto_claims_t *c = assert_accepted(
        payload_over("\"aud\":\"urn:logto:organization:org42\""),
        policy(LOGTO_ORG_AUD_WILDCARD, NULL));

    ck_assert_str_eq(c->organization_id, "org42");
}
END_TEST

START_TEST(org_wildcard_needs_an_id)
{
    logto_policy_t *pol = policy(LOGTO_ORG_AUD_WILDCARD, NULL);

    assert_refused(payload_over("\"aud\":\"urn:logto:organization:\""), pol,
                   LOGTO_ERR_AUDIENCE);
    assert_refused(payload_over("\"aud\":\"urn:logto:organization\""), pol,
                   LOGTO_ERR_AUDIENCE);
    assert_refused(payload_over("\"aud\":\"urn:logto:organizations:x\""), pol,
                   LOGTO_ERR_AUDIENCE);
    assert_refused(payload_over("\"aud\":\"" API "\""), pol,
                   LOGTO_ERR_AUDIENCE);
    /* an empty organization_id names none */
    ck_assert_ptr_null(assert_accepted(payload_over("\"organization_id\":\"\""),
                                       policy(API, NULL))
                           ->organization_id);
    /* the wildcard itself is no organization */
    assert_refused(payload_over("\"aud\":\"" LOGTO_ORG_AUD_WILDCARD "\""), pol,
                   LOGTO_ERR_AUDIENCE);
}
END_TEST

START_TEST(org_audience_is_exact_without_wildcard)
{
    logto_policy_t *pol = policy("urn:logto:organization:a", NULL);

    assert_accepted(payload_over("\"aud\":\"urn:logto:organization:a\""), pol);
    assert_refused(payload_over("\"aud\":\"urn:logto:organization:b\""), pol,
                   LOGTO_ERR_AUDIENCE);
}
END_TEST

/* The claim and an accepted organization audience name one organization,
 * or the token is refused: which would the request be for? */
START_TEST(organization_id_claim_agrees_with_the_aud)
{
    logto_claims_t *c = assert_accepted(
        payload_over("\"organization_id\":\"org-1\","
                     "\"aud\":[\"urn:logto:organization:org-1\"]"),
        policy(LOGTO_ORG_AUD_WILDCARD, NULL));

    ck_assert_str_eq(c->organization_id, "org-1");
    assert_refused(payload_over("\"organization_id\":\"org-claim\","
                                "\"aud\":[\"urn:logto:organization:org-aud\"]"),
                   policy(LOGTO_ORG_AUD_WILDCARD, NULL), LOGTO_ERR_AUDIENCE);
    assert_refused(payload_over("\"organization_id\":\"org-9\","
                                "\"aud\":\"urn:logto:organization:org-1\""),
                   policy("urn:logto:organization:org-1", NULL),
                   LOGTO_ERR_AUDIENCE);
    /* two organizations in aud, none claimed: which one? */
    {
        logto_err_t err;

        ck_assert_int_ne(
            check(&c,
                  payload_over("\"aud\":[\"urn:logto:organization:a\","
                               "\"urn:logto:organization:b\"]"),
                  policy(LOGTO_ORG_AUD_WILDCARD, NULL), &err),
            APR_SUCCESS);
        ck_assert_str_eq(err.text, "aud names more than one organization");
    }
    /* an organization audience not accepted here says nothing */
    c = assert_accepted(payload_over("\"organization_id\":\"org-9\","
                                     "\"aud\":[\"" API
                                     "\",\"urn:logto:organization:o7\"]"),
                        policy(API, NULL));
    ck_assert_str_eq(c->organization_id, "org-9");
}
END_TEST

START_TEST(organization_id_derived_from_the_accepted_aud)
{
    logto_claims_t *c = assert_accepted(
        payload_over("\"aud\":[\"" API "\",\"urn:logto:organization:o7\"]"),
        policy(API, LOGTO_ORG_AUD_WILDCARD));

    ck_assert_str_eq(c->organization_id, "o7");
}
END_TEST

START_TEST(organization_id_never_from_an_aud_not_accepted)
{
    /* The token is accepted for the API; an organization audience beside
     * it that this configuration does not accept names no organization. */
    logto_claims_t *c = assert_accepted(
        payload_over("\"aud\":[\"" API "\",\"urn:logto:organization:o7\"]"),
        policy(API, NULL));

    ck_assert_ptr_null(c->organization_id);
    c = assert_accepted(
        payload_over("\"aud\":[\"urn:logto:organization:o8\",\"" API "\","
                     "\"urn:logto:organization:o9\"]"),
        policy(API, "urn:logto:organization:o9"));
    ck_assert_str_eq(c->organization_id, "o9");
}
END_TEST

/* -------------------------------------------------------- get and match */

static logto_claims_t *rich_claims(void)
{
    return assert_accepted(
        payload_over("\"custom\":{\"tier\":\"gold\",\"level\":3,"
                     "\"beta\":true,\"ratio\":1.5,\"deep\":{\"x\":\"y\"}},"
                     "\"roles\":[\"admin\",\"ops\",2,[\"nested\"]]"),
        policy(API, NULL));
}

START_TEST(get_follows_dotted_paths)
{
    logto_claims_t *c = rich_claims();

    ck_assert_str_eq(json_string_value(logto_claims_get(c, "custom.tier")),
                     "gold");
    ck_assert_str_eq(json_string_value(logto_claims_get(c, "sub")), "user-1");
    ck_assert_ptr_null(logto_claims_get(c, "custom.none"));
    ck_assert_ptr_null(logto_claims_get(c, "sub.x"));
    ck_assert_ptr_null(logto_claims_get(NULL, "sub"));
}
END_TEST

START_TEST(match_compares_strings_exactly)
{
    logto_claims_t *c = rich_claims();
    const char *yes[] = {"silver", "gold"};
    const char *no[] = {"Gold", "gold "};

    ck_assert(logto_claims_match(c, "custom.tier", yes, 2));
    ck_assert(!logto_claims_match(c, "custom.tier", no, 2));
    ck_assert(!logto_claims_match(c, "custom.tier", yes, 1));
}
END_TEST

/* A number is one number however the claim or the configuration writes
 * it (1, 1.0, 1e0); text that is no JSON number never matches one. */
START_TEST(match_compares_numbers_as_numbers)
{
    logto_claims_t *c = assert_accepted(
        payload_over("\"custom\":{\"i\":1,\"r\":1.0,\"h\":16.0,\"f\":1.5,"
                     "\"big\":9007199254740992.0,\"n\":-20}"),
        policy(API, NULL));
    const char *one[] = {"1", "1.0", "1e0", "10e-1", "0.1E1"};
    const char *not_one[] = {" 1", "1 ",  "+1",  "01",  "1.", ".1e1", "0x1",
                             "1e", "inf", "nan", "1.5", "2",  ""};
    const char *sixteen[] = {"0x10", "16 ", "1.6e"};
    const char *big[] = {"9007199254740993"};
    const char *neg[] = {"-20", "-2e1", "-20.0"};
    int i;

    for (i = 0; i < 5; i++) {
        ck_assert_msg(logto_claims_match(c, "custom.i", &one[i], 1), "i %s",
                      one[i]);
        ck_assert_msg(logto_claims_match(c, "custom.r", &one[i], 1), "r %s",
                      one[i]);
    }
    for (i = 0; i < 13; i++) {
        ck_assert_msg(!logto_claims_match(c, "custom.i", &not_one[i], 1),
                      "i %s", not_one[i]);
        ck_assert_msg(!logto_claims_match(c, "custom.r", &not_one[i], 1),
                      "r %s", not_one[i]);
    }
    ck_assert(!logto_claims_match(c, "custom.h", sixteen, 3));
    ck_assert(!logto_claims_match(c, "custom.big", big, 1));
    ck_assert(logto_claims_match(c, "custom.n", neg, 1));
    ck_assert(logto_claims_match(c, "custom.n", neg + 1, 1));
    ck_assert(logto_claims_match(c, "custom.n", neg + 2, 1));
    ck_assert(!logto_claims_match(c, "custom.f", one, 5));
}
END_TEST

START_TEST(match_compares_numbers_and_booleans_by_text)
{
    logto_claims_t *c = rich_claims();
    const char *three[] = {"3"};
    const char *t[] = {"true"};
    const char *f[] = {"false"};
    const char *ratio[] = {"1.5"};
    const char *bad[] = {"03", "3.0x", ""};

    ck_assert(logto_claims_match(c, "custom.level", three, 1));
    ck_assert(logto_claims_match(c, "custom.beta", t, 1));
    ck_assert(!logto_claims_match(c, "custom.beta", f, 1));
    ck_assert(logto_claims_match(c, "custom.ratio", ratio, 1));
    ck_assert(!logto_claims_match(c, "custom.level", bad, 3));
    ck_assert(!logto_claims_match(c, "custom.ratio", bad, 3));
}
END_TEST

START_TEST(match_looks_into_arrays)
{
    logto_claims_t *c = rich_claims();
    const char *ops[] = {"ops"};
    const char *two[] = {"2"};
    const char *nested[] = {"nested"};

    ck_assert(logto_claims_match(c, "roles", ops, 1));
    ck_assert(logto_claims_match(c, "roles", two, 1));
    ck_assert(!logto_claims_match(c, "roles", nested, 1));
}
END_TEST

START_TEST(match_never_matches_objects_or_missing)
{
    logto_claims_t *c = rich_claims();
    const char *any[] = {"{\"x\":\"y\"}", "y", ""};

    ck_assert(!logto_claims_match(c, "custom.deep", any, 3));
    ck_assert(!logto_claims_match(c, "absent", any, 3));
    ck_assert(!logto_claims_match(c, "custom.tier", NULL, 0));
}
END_TEST

static Suite *jwt_suite(void)
{
    Suite *s = suite_create("jwt");
    TCase *tc = unit_tcase("claims");

    tcase_add_test(tc, typical_token_fills_every_field);
    tcase_add_test(tc, absent_optional_claims_are_null);
    tcase_add_test(tc, aud_array_with_one_accepted_value);
    tcase_add_test(tc, second_configured_audience_accepted);
    tcase_add_test(tc, any_configured_issuer_accepted);
    tcase_add_test(tc, real_exp_accepted);
    tcase_add_test(tc, refuses_missing_issuer);
    tcase_add_test(tc, refuses_non_string_issuer_saying_so);
    tcase_add_test(tc, refuses_other_issuer);
    tcase_add_test(tc, refuses_non_string_issuer);
    tcase_add_test(tc, refuses_other_audience);
    tcase_add_test(tc, refuses_missing_audience);
    tcase_add_test(tc, refuses_aud_array_without_accepted_value);
    tcase_add_test(tc, refuses_aud_of_wrong_type);
    tcase_add_test(tc, refuses_missing_exp);
    tcase_add_test(tc, refuses_exp_string);
    tcase_add_test(tc, refuses_exp_negative);
    tcase_add_test(tc, refuses_exp_beyond_2_53);
    tcase_add_test(tc, refuses_exp_of_other_types);
    tcase_add_test(tc, refuses_nbf_string);
    tcase_add_test(tc, refuses_iat_huge);
    tcase_add_test(tc, refuses_expired);
    tcase_add_test(tc, refuses_not_yet_valid);
    tcase_add_test(tc, refuses_iat_in_future);
    tcase_add_test(tc, refuses_scope_not_string);
    tcase_add_test(tc, refuses_sub_client_id_jti_not_string);
    tcase_add_test(tc, skew_honoured_for_exp);
    tcase_add_test(tc, skew_honoured_for_nbf_and_iat);
    tcase_add_test(tc, negative_skew_counts_as_none);
    tcase_add_test(tc, org_wildcard_accepts_organization_audience);
    tcase_add_test(tc, org_wildcard_needs_an_id);
    tcase_add_test(tc, org_audience_is_exact_without_wildcard);
    tcase_add_test(tc, organization_id_claim_agrees_with_the_aud);
    tcase_add_test(tc, organization_id_derived_from_the_accepted_aud);
    tcase_add_test(tc, organization_id_never_from_an_aud_not_accepted);
    tcase_add_test(tc, get_follows_dotted_paths);
    tcase_add_test(tc, match_compares_strings_exactly);
    tcase_add_test(tc, match_compares_numbers_and_booleans_by_text);
    tcase_add_test(tc, match_compares_numbers_as_numbers);
    tcase_add_test(tc, match_looks_into_arrays);
    tcase_add_test(tc, match_never_matches_objects_or_missing);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    return unit_main(jwt_suite());
}
