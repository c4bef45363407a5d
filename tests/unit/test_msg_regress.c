/*
 * test_msg_regress.c - one test per bug found after the message layer first
 * landed (by the fuzzers, the helpers' tests or review), each named for
 * what went wrong, so that none comes back.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

static const char *const base_req = "OPTIONS sip:b@example.com SIP/2.0\n"
                                    "%s"
                                    "From: <sip:a@example.com>;tag=1\n"
                                    "To: <sip:b@example.com>\n"
                                    "Call-ID: x@y\n"
                                    "CSeq: 1 OPTIONS\n"
                                    "Content-Length: 0\n"
                                    "\n";

static int parse_with(const char *hdr, pl_msg *m, pl_error *err)
{
    char buf[2048];
    snprintf(buf, sizeof(buf), base_req, hdr);
    return tu_parse(buf, m, err);
}

/* fuzz_msg: ";received" with no value did NULL + 0 arithmetic (UBSan). */
static void test_via_received_without_value(void **state)
{
    (void)state;
    pl_msg m;
    pl_error err = {0};
    assert_int_equal(parse_with("Via: SIP/2.0/UDP h;branch=z9hG4bK1;received\n", &m, &err),
                     PL_EPARSE);
    assert_string_equal(err.reason, "bad Via received address");
    assert_int_equal(
        parse_with("Via: SIP/2.0/UDP h;branch=z9hG4bK1;received=192.0.2.1\n", &m, &err), PL_OK);
    assert_int_equal(parse_with("Via: SIP/2.0/UDP h;received=2001:db8::9\n", &m, &err), PL_OK);
    tu_free_all();
}

/* A trailing comma left an empty Via value that was silently accepted. */
static void test_trailing_comma_in_via_list(void **state)
{
    (void)state;
    pl_msg m;
    pl_error err = {0};
    assert_int_equal(parse_with("Via: SIP/2.0/UDP h;branch=z9hG4bK1,\n", &m, &err), PL_EPARSE);
    assert_int_equal(parse_with("Via: SIP/2.0/UDP h;branch=z9hG4bK1, SIP/2.0/UDP g\n", &m, &err),
                     PL_OK);
    assert_int_equal(m.via_count, 2);
    tu_free_all();
}

/* fuzz_uri: a repeated parameter made pl_uri_equal(u, u) false. RFC 3261
 * 19.1.1 forbids repeats, so the parser refuses them. */
static void test_uri_repeated_param(void **state)
{
    (void)state;
    pl_uri u;
    pl_error err = {0};
    assert_int_equal(pl_uri_parse(&u, PL_STR_LIT("sip:a@b;t=x;t"), &err), PL_EPARSE);
    assert_string_equal(err.reason, "duplicate URI parameter");
    assert_int_equal(pl_uri_parse(&u, PL_STR_LIT("sip:a@b;transport=tcp;TRANSPORT=udp"), &err),
                     PL_EPARSE);
    /* URI headers may repeat; equality treats them as a multiset. */
    pl_uri v;
    assert_int_equal(pl_uri_parse(&u, PL_STR_LIT("sip:a@b?h=1&h=2"), NULL), PL_OK);
    assert_int_equal(pl_uri_parse(&v, PL_STR_LIT("sip:a@b?h=2&h=1"), NULL), PL_OK);
    assert_true(pl_uri_equal(&u, &u));
    assert_true(pl_uri_equal(&u, &v));
    assert_int_equal(pl_uri_parse(&v, PL_STR_LIT("sip:a@b?h=1&h=1"), NULL), PL_OK);
    assert_false(pl_uri_equal(&u, &v));
}

/* fuzz_uri: an empty {NULL, 0} string made NULL + 0 arithmetic. */
static void test_null_empty_strings(void **state)
{
    (void)state;
    pl_uri u;
    assert_int_equal(pl_uri_parse(&u, PL_STR_NULL, NULL), PL_EPARSE);
    pl_str rest = PL_STR_NULL, item;
    assert_false(pl_list_next(&rest, &item));
    pl_param prm;
    rest = PL_STR_NULL;
    assert_false(pl_param_next(&rest, ';', &prm));
    pl_cseq c;
    assert_int_equal(pl_cseq_parse(&c, PL_STR_NULL, NULL), PL_EPARSE);
}

/* The framer lost its place when keep-alive bytes were dropped after
 * PL_ENEEDMORE, and lost a ping split across two reads. */
static void test_framer_split_keepalive(void **state)
{
    (void)state;
    const char stream[] = "\r\n\r\nOPTIONS sip:b@example.com SIP/2.0\r\nl: 5\r\n\r\nhello";
    size_t n = sizeof(stream) - 1;
    pl_framer f;
    pl_frame fr;
    pl_framer_init(&f, NULL);
    /* 46 bytes first, ending in "\r\n\r": then the rest. */
    assert_int_equal(pl_framer_next(&f, stream, 46, &fr, NULL), PL_ENEEDMORE);
    assert_int_equal(fr.skip, 4);
    assert_int_equal(fr.pings, 1);
    assert_int_equal(pl_framer_next(&f, stream + 4, n - 4, &fr, NULL), PL_OK);
    assert_int_equal(fr.skip, 0);
    assert_int_equal(fr.len, n - 4);

    pl_framer_init(&f, NULL);
    assert_int_equal(pl_framer_next(&f, "\r\n", 2, &fr, NULL), PL_ENEEDMORE);
    assert_int_equal(fr.pings, 0);
    assert_int_equal(pl_framer_next(&f, "\r\n", 2, &fr, NULL), PL_ENEEDMORE);
    assert_int_equal(fr.pings, 1);
}

/* An ACK is never answered; a Reason-Phrase may hold HTAB. */
static void test_ack_and_reason_tab(void **state)
{
    (void)state;
    pl_msg req, resp;
    assert_int_equal(tu_parse("ACK sip:b@example.com SIP/2.0\n"
                              "Via: SIP/2.0/UDP h;branch=z9hG4bK1\n"
                              "From: <sip:a@example.com>;tag=1\n"
                              "To: <sip:b@example.com>;tag=2\n"
                              "Call-ID: x@y\nCSeq: 1 ACK\nContent-Length: 0\n\n",
                              &req, NULL),
                     PL_OK);
    assert_int_equal(
        pl_msg_build_response(&resp, tu_arena(), &req, 200, PL_STR_NULL, PL_STR_NULL, NULL),
        PL_EINVAL);
    assert_int_equal(tu_parse("SIP/2.0 200 All\tgood\n"
                              "Via: SIP/2.0/UDP h;branch=z9hG4bK1\n"
                              "From: <sip:a@example.com>;tag=1\n"
                              "To: <sip:b@example.com>;tag=2\n"
                              "Call-ID: x@y\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n",
                              &resp, NULL),
                     PL_OK);
    assert_str(resp.reason, "All\tgood");
    tu_free_all();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_via_received_without_value),
        cmocka_unit_test(test_trailing_comma_in_via_list),
        cmocka_unit_test(test_uri_repeated_param),
        cmocka_unit_test(test_null_empty_strings),
        cmocka_unit_test(test_framer_split_keepalive),
        cmocka_unit_test(test_ack_and_reason_tab),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
