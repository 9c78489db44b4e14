/*
 * test_json.c - bounded JSON parsing, pool ownership, lookups and text.
 */
#include <string.h>

#include <apr_strings.h>

#include "json_judge.h"
#include "logto_json.h"
#include "unit.h"

static json_t *parse_ok(const char *s)
{
    json_t *json = NULL;
    logto_err_t err;

    logto_err_clear(&err);
    ck_assert_int_eq(logto_json_parse_object(&json, pool, s, strlen(s),
                                             LOGTO_JSON_MAX_DEPTH,
                                             LOGTO_ERR_PAYLOAD, &err),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(json);
    return json;
}

/* Parse len bytes of s expecting a refusal: what it says (from pool). */
static const char *parse_refused_len(const char *s, apr_size_t len)
{
    json_t *json = (json_t *)1;
    logto_err_t err;

    logto_err_clear(&err);
    ck_assert_int_ne(logto_json_parse_object(&json, pool, s, len,
                                             LOGTO_JSON_MAX_DEPTH,
                                             LOGTO_ERR_HEADER, &err),
                     APR_SUCCESS);
    ck_assert_ptr_null(json);
    ck_assert_int_eq(err.reason, LOGTO_ERR_HEADER);
    ck_assert_str_ne(err.text, "");
    return apr_pstrdup(pool, err.text);
}

static void parse_refused(const char *s)
{
    parse_refused_len(s, strlen(s));
}

/* Refused, saying why. */
static void parse_refused_as(const char *s, const char *why)
{
    ck_assert_str_eq(parse_refused_len(s, strlen(s)), why);
}

/* A document of depth levels: {"a":{"a":...{}...}}. */
static const char *nested(int depth, const char *open, const char *close)
{
    char *s = apr_pcalloc(pool, (apr_size_t)depth * 8 + 8);
    int i;

    for (i = 0; i < depth; i++) {
        strcat(s, i == 0 ? "{\"a\":" : open);
    }
    strcat(s, "1");
    for (i = depth - 1; i >= 0; i--) {
        strcat(s, i == 0 ? "}" : close);
    }
    return s;
}

START_TEST(object_parses)
{
    json_t *json = parse_ok(" {\"a\": 1, \"b\": [true, null]} \n");

    ck_assert_int_eq(json_integer_value(json_object_get(json, "a")), 1);
    ck_assert_int_eq(json_array_size(json_object_get(json, "b")), 2);
}
END_TEST

START_TEST(nesting_at_the_bound_parses)
{
    parse_ok(nested(LOGTO_JSON_MAX_DEPTH, "{\"a\":", "}"));
    parse_ok(nested(LOGTO_JSON_MAX_DEPTH, "[", "]"));
}
END_TEST

START_TEST(deep_nesting_is_refused)
{
    parse_refused(nested(LOGTO_JSON_MAX_DEPTH + 1, "{\"a\":", "}"));
    parse_refused(nested(LOGTO_JSON_MAX_DEPTH + 1, "[", "]"));
    parse_refused(nested(5000, "[", "]"));
}
END_TEST

START_TEST(brackets_inside_strings_do_not_count)
{
    char s[512];
    json_t *json;
    int i;

    strcpy(s, "{\"a\":\"");
    for (i = 0; i < 100; i++) {
        strcat(s, "[{");
    }
    strcat(s, "\\\"[[[\",\"b\":\"\\\\\"}");
    json = parse_ok(s);
    ck_assert_str_eq(logto_json_str(json, "b"), "\\");
}
END_TEST

START_TEST(escapes_are_respected_when_counting)
{
    const char *deep = nested(LOGTO_JSON_MAX_DEPTH + 1, "[", "]") + 5;

    /* \" does not end the string: the brackets after it are text. */
    parse_ok("{\"a\":\"\\\"[[[[[[[[[[[[[[[[[[[[[[[\"}");
    /* \\ is one backslash, so the quote after it ends the string and the
     * nesting that follows counts. */
    parse_refused(apr_pstrcat(pool, "{\"a\":\"\\\\\",\"b\":", deep, NULL));
}
END_TEST

START_TEST(duplicate_member_is_refused)
{
    parse_refused("{\"alg\":\"ES384\",\"alg\":\"none\"}");
    parse_refused_as("{\"a\":{\"x\":1,\"x\":2}}", "a member named twice");
}
END_TEST

/* Valid JSON holding what a token must not is told as such, not as "not
 * valid JSON". */
START_TEST(refusals_of_valid_json_say_why)
{
    parse_refused_as("{\"exp\":9223372036854775808}", "a number out of range");
    parse_refused_as("{\"exp\":99999999999999999999999}",
                     "a number out of range");
    parse_refused_as("{\"exp\":1e400}", "a number out of range");
    parse_refused_as("{\"iss\":\"a\\u0000b\"}",
                     "a string holds a NUL character");
    parse_refused_as("{\"iss\":", "not valid JSON");
}
END_TEST

/* Whether len bytes of doc are read as Jansson reads them, at the core's
 * bound and at 2, by the quick reading (want_quick 1) or by Jansson. */
static void reads_as_jansson(const char *doc, apr_size_t len, int want_quick)
{
    int quick;

    ck_assert_msg(json_judge(doc, len, LOGTO_JSON_MAX_DEPTH, pool, &quick),
                  "read otherwise than Jansson reads it: %s", doc);
    ck_assert_msg(quick == want_quick, "%s by the quick reading: %s",
                  want_quick ? "not read" : "read", doc);
    ck_assert_msg(json_judge(doc, len, 2, pool, NULL),
                  "at depth 2, read otherwise: %s", doc);
}

/* The documents the quick reading takes: a token's header and payload, a
 * key set's shape, and the edges of what it reads. */
START_TEST(quick_reads_the_common_documents)
{
    static const char *const docs[] = {
        "{\"jti\":\"x1\",\"sub\":\"u\",\"iat\":1796306661,\"exp\":1798898661,"
        "\"scope\":\"read:products write:products\",\"client_id\":\"app\","
        "\"iss\":\"https://tenant.logto.app/oidc\",\"aud\":[\"https://a.example"
        "\",\"urn:logto:organization:o1\"],\"organization_id\":\"o1\","
        "\"custom\":{\"tier\":\"gold\",\"n\":-12,\"ok\":true,\"no\":false,"
        "\"none\":null,\"deep\":{\"a\":[1,[2,[3]]]}}}",
        "{\"alg\":\"ES384\",\"typ\":\"at+jwt\",\"kid\":\"es384-1\"}",
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AQ\",\"y\":"
        "\"Ag\"}]}",
        " {\t\"a\" :\r\n[ ] , \"b\":{ } ,\"\":\"\" } \n",
        "{}",
        "{\"a\":[[],{}]}",
        "{\"n\":0,\"m\":-0,\"o\":-1}",
        "{\"n\":999999999999999999,\"m\":-999999999999999999}",
        "{\"s\":\" !#~\"}",
        "{\"t\":true,\"f\":false,\"z\":null}",
        "{\"a\":1,\"b\":{\"a\":1}}",
    };
    apr_size_t i;

    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        reads_as_jansson(docs[i], strlen(docs[i]), 1);
    }
}
END_TEST

/* Documents a byte away from those, which the quick reading leaves to
 * Jansson: each read as Jansson reads it, accepted or refused. */
START_TEST(the_rest_is_left_to_jansson)
{
    static const char *const docs[] = {
        /* structure */
        "",
        "   ",
        "[1]",
        "\xef\xbb\xbf{}",
        "{\"a\":[1 2]}",
        "{\"a\" 1}",
        "{\"a\":1 \"b\":2}",
        "{\"a\":\v1}",
        "{\"a\":\f1}",
        "{\"a\":1,}",
        "{\"a\":[1,]}",
        "{,}",
        "{\"a\":1",
        "{\"a\":[1}",
        "{\"a\":1}}",
        "{\"a\":1}x",
        "{\"a\":1}{}",
        "{\"a\":}",
        "{:1}",
        "{\"a\"}",
        "{1:2}",
        "{\"a\":0",
        "{\"a\":-",
        "{\"a\":\"x",
        /* integers past 18 digits and int64, and not integers */
        "{\"n\":1000000000000000000}",
        "{\"n\":-1000000000000000000}",
        "{\"n\":9223372036854775807}",
        "{\"n\":-9223372036854775808}",
        "{\"n\":9223372036854775808}",
        "{\"n\":-9223372036854775809}",
        "{\"n\":01}",
        "{\"n\":00}",
        "{\"n\":-01}",
        "{\"n\":-}",
        "{\"n\":- 1}",
        "{\"n\":+1}",
        "{\"n\":1.}",
        "{\"n\":1.5}",
        "{\"n\":1e3}",
        "{\"n\":1E3}",
        "{\"n\":-0.0}",
        "{\"n\":1x}",
        "{\"n\":0x10}",
        "{\"n\":.5}",
        "{\"a\":[1,2,3.5]}",
        /* strings: escapes, bytes outside printable ASCII */
        "{\"s\":\"a\\\"b\"}",
        "{\"s\":\"a\\\\b\"}",
        "{\"s\":\"https:\\/\\/x\"}",
        "{\"s\":\"\\u00e9\"}",
        "{\"s\":\"\\ud83d\\ude00\"}",
        "{\"s\":\"\\ud83d\"}",
        "{\"s\":\"\xc3\xa9\"}",
        "{\"s\":\"\xff\"}",
        "{\"s\":\"\x01\"}",
        "{\"s\":\"\x1f\"}",
        "{\"s\":\"\x7f\"}",
        "{\"s\":\"a\tb\"}",
        "{\"s\":\"\\x\"}",
        "{\"s\":\"open}",
        "{\"s\":'x'}",
        "{\"\xc3\xa9\":1}",
        /* words */
        "{\"t\":tru}",
        "{\"t\":truex}",
        "{\"t\":truetrue}",
        "{\"t\":True}",
        "{\"t\":nul}",
        "{\"t\":nulls}",
        "{\"t\":falsey}",
        "{\"t\":trUe}",
        "{\"t\":trux,\"a\":1}",
        "{\"f\":fAlse}",
        "{\"z\":nulL}",
        "[nulx]",
        /* members named twice, at the top and further down, after
         * values already built */
        "{\"a\":1,\"a\":1}",
        "{\"\":1,\"\":2}",
        "{\"o\":{\"a\":1,\"b\":2,\"a\":3}}",
        "{\"a\":[1,{\"b\":[2]}],\"c\":{\"d\":1},\"a\":2}",
    };
    char name[300], doc[400];
    apr_size_t i;

    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        reads_as_jansson(docs[i], strlen(docs[i]), 0);
    }
    /* names of 255 bytes (quick), 256 and 299 (Jansson's), once and
     * twice */
    for (i = 255; i < 300; i += i == 255 ? 1 : 43) {
        memset(name, 'k', i);
        name[i] = '\0';
        apr_snprintf(doc, sizeof(doc), "{\"%s\":1,\"%s\":2}", name, "b");
        reads_as_jansson(doc, strlen(doc), i == 255);
        apr_snprintf(doc, sizeof(doc), "{\"%s\":1,\"%s\":2}", name, name);
        reads_as_jansson(doc, strlen(doc), 0);
    }
    /* NUL bytes inside a string and after the document; a document cut
     * short of its length */
    reads_as_jansson("{\"a\":\"x\0y\"}", 11, 0);
    reads_as_jansson("{\"a\":1}\0", 8, 0);
    reads_as_jansson("{\"a\":1}", 6, 0);
    reads_as_jansson("{\"a\":\"xy\"}", 8, 0);
}
END_TEST

/* Nesting at the bound and one past it, in objects and arrays alike: the
 * quick reading takes what is within the bound. */
START_TEST(nesting_reads_as_jansson_does)
{
    int depth, quick, bound;

    for (bound = 0; bound <= 2; bound++) {
        ck_assert(json_judge("{}", 2, bound, pool, &quick));
        ck_assert_int_eq(quick, bound >= 1);
        ck_assert(json_judge("{\"a\":[]}", 8, bound, pool, &quick));
        ck_assert_int_eq(quick, bound >= 2);
    }
    for (depth = 1; depth <= LOGTO_JSON_MAX_DEPTH + 1; depth++) {
        const char *o = nested(depth, "{\"a\":", "}");
        const char *a = nested(depth, "[", "]");

        reads_as_jansson(o, strlen(o), depth <= LOGTO_JSON_MAX_DEPTH);
        reads_as_jansson(a, strlen(a), depth <= LOGTO_JSON_MAX_DEPTH);
    }
}
END_TEST

START_TEST(non_objects_are_refused)
{
    parse_refused("[1,2]");
    parse_refused("\"alg\"");
    parse_refused("42");
    parse_refused("null");
    parse_refused("");
}
END_TEST

START_TEST(trailing_garbage_is_refused)
{
    parse_refused("{\"a\":1}x");
    parse_refused("{\"a\":1}{}");
    parse_refused("{\"a\":1");
}
END_TEST

START_TEST(nul_bytes_are_refused)
{
    parse_refused_len("{\"a\":1}\0", 8);
    parse_refused_len("{\"a\":\"x\0y\"}", 11);
    parse_refused("{\"a\":\"x\\u0000y\"}");
}
END_TEST

START_TEST(pool_releases_the_document)
{
    apr_pool_t *sub;
    json_t *json;

    apr_pool_create(&sub, pool);
    json = logto_json_own(sub, json_pack("{s:s}", "a", "b"));
    json_incref(json);
    ck_assert_int_eq(json->refcount, 2);
    apr_pool_destroy(sub);
    ck_assert_int_eq(json->refcount, 1);
    json_decref(json);
    ck_assert_ptr_null(logto_json_own(pool, NULL));
}
END_TEST

START_TEST(str_reads_strings_only)
{
    json_t *json = parse_ok("{\"s\":\"x\",\"n\":1}");

    ck_assert_str_eq(logto_json_str(json, "s"), "x");
    ck_assert_ptr_null(logto_json_str(json, "n"));
    ck_assert_ptr_null(logto_json_str(json, "missing"));
}
END_TEST

START_TEST(path_follows_dots)
{
    json_t *json =
        parse_ok("{\"custom\":{\"tier\":\"gold\",\"deep\":{\"x\":2}},"
                 "\"https://x.example/roles\":[\"a\"],"
                 "\"top\":3}");

    ck_assert_str_eq(json_string_value(logto_json_path(json, "custom.tier")),
                     "gold");
    ck_assert_int_eq(json_integer_value(logto_json_path(json, "custom.deep.x")),
                     2);
    ck_assert_int_eq(json_integer_value(logto_json_path(json, "top")), 3);
    ck_assert_ptr_nonnull(logto_json_path(json, "https://x.example/roles"));
    ck_assert_ptr_null(logto_json_path(json, "custom.none"));
    ck_assert_ptr_null(logto_json_path(json, "top.x"));
    ck_assert_ptr_null(logto_json_path(json, "custom..tier"));
    ck_assert_ptr_null(logto_json_path(json, "custom."));
    ck_assert_ptr_null(logto_json_path(json, ""));
    ck_assert_ptr_null(logto_json_path(json, NULL));
}
END_TEST

START_TEST(values_as_text)
{
    json_t *json = parse_ok("{\"s\":\"a b\",\"i\":-42,\"r\":1.5,\"t\":true,"
                            "\"f\":false,\"n\":null,"
                            "\"a\":[\"x\",1,[2],{\"o\":1},null,false],"
                            "\"e\":[],\"o\":{\"k\":[1,\"v\"]},"
                            "\"big\":9007199254740993,\"tenth\":0.1}");

    ck_assert_str_eq(logto_json_as_text(pool, json_object_get(json, "s")),
                     "a b");
    ck_assert_str_eq(logto_json_as_text(pool, json_object_get(json, "i")),
                     "-42");
    ck_assert_str_eq(logto_json_as_text(pool, json_object_get(json, "r")),
                     "1.5");
    ck_assert_str_eq(logto_json_as_text(pool, json_object_get(json, "tenth")),
                     "0.1");
    ck_assert_str_eq(logto_json_as_text(pool, json_object_get(json, "big")),
                     "9007199254740993");
    ck_assert_str_eq(logto_json_as_text(pool, json_object_get(json, "t")),
                     "true");
    ck_assert_str_eq(logto_json_as_text(pool, json_object_get(json, "f")),
                     "false");
    ck_assert_ptr_null(logto_json_as_text(pool, json_object_get(json, "n")));
    ck_assert_ptr_null(logto_json_as_text(pool, NULL));
    ck_assert_str_eq(logto_json_as_text(pool, json_object_get(json, "a")),
                     "x 1 false");
    ck_assert_str_eq(logto_json_as_text(pool, json_object_get(json, "e")), "");
    ck_assert_str_eq(logto_json_as_text(pool, json_object_get(json, "o")),
                     "{\"k\":[1,\"v\"]}");
}
END_TEST

START_TEST(dump_is_compact)
{
    json_t *json = parse_ok("{ \"a\" : [ 1 , 2 ] }");

    ck_assert_str_eq(logto_json_dump(pool, json, 0), "{\"a\":[1,2]}");
    ck_assert_str_eq(logto_json_dump(pool, json_object_get(json, "a"), 0),
                     "[1,2]");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("json");
    TCase *tc = unit_tcase("json");

    tcase_add_test(tc, object_parses);
    tcase_add_test(tc, nesting_at_the_bound_parses);
    tcase_add_test(tc, deep_nesting_is_refused);
    tcase_add_test(tc, brackets_inside_strings_do_not_count);
    tcase_add_test(tc, escapes_are_respected_when_counting);
    tcase_add_test(tc, duplicate_member_is_refused);
    tcase_add_test(tc, refusals_of_valid_json_say_why);
    tcase_add_test(tc, quick_reads_the_common_documents);
    tcase_add_test(tc, the_rest_is_left_to_jansson);
    tcase_add_test(tc, nesting_reads_as_jansson_does);
    tcase_add_test(tc, non_objects_are_refused);
    tcase_add_test(tc, trailing_garbage_is_refused);
    tcase_add_test(tc, nul_bytes_are_refused);
    tcase_add_test(tc, pool_releases_the_document);
    tcase_add_test(tc, str_reads_strings_only);
    tcase_add_test(tc, path_follows_dots);
    tcase_add_test(tc, values_as_text);
    tcase_add_test(tc, dump_is_compact);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(suite());
}
