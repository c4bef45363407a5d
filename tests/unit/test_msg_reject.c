/*
 * test_msg_reject.c - pl_msg_reject_raw: the 400 for a request the parser
 * refused, built from its raw lines.
 *
 * - every RFC 4475 message the parser refuses that reads as a request gets
 *   an answer that parses, carries the request's Via, Call-ID and CSeq,
 *   names the parse error in its reason phrase and has a To tag;
 * - responses, ACKs, garbage, requests missing a header the answer needs,
 *   and lines with control bytes get none;
 * - a short output buffer is refused.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

static char out[8192];

static int reject(const char *text, size_t *n, const char *why)
{
    size_t len;
    char *buf = tu_crlf(text, &len);
    return pl_msg_reject_raw(buf, len, 400, why, out, sizeof(out), n);
}

static void test_answer_has_what_matching_needs(void **state)
{
    (void)state;
    size_t n;
    /* A bad Max-Forwards makes the parse fail; the rest is fine. */
    assert_int_equal(reject("INVITE sip:bob@example.com SIP/2.0\n"
                            "v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKr1\n"
                            "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKr0\n"
                            "Max-Forwards: 7x\n"
                            "f: <sip:alice@example.com>;tag=a\n"
                            "To: <sip:bob@example.com>\n"
                            "i: reject-1\n"
                            "CSeq: 4 INVITE\n"
                            "Content-Length: 0\n\n",
                            &n, "bad Max-Forwards"),
                     PL_OK);
    pl_msg m;
    pl_parse_opts o = {PL_FRAMING_STREAM, NULL};
    assert_int_equal(pl_msg_parse(&m, out, n, tu_arena(), &o, NULL), PL_OK);
    assert_false(m.is_request);
    assert_int_equal(m.status, 400);
    assert_str(m.reason, "Bad Request (bad Max-Forwards)");
    assert_int_equal(m.via_count, 2);
    assert_str(m.via->branch, "z9hG4bKr1");
    assert_str(m.call_id, "reject-1");
    assert_int_equal(m.cseq.num, 4);
    assert_int_equal(m.cseq.method_id, PL_METHOD_INVITE);
    assert_true(m.to->has_tag);
    assert_str(m.from->tag, "a");
    assert_int_equal(m.content_length, 0);
}

static void test_rfc4475_refused_requests(void **state)
{
    (void)state;
    static const char *const files[] = {"badinv01.dat", "scalar02.dat", "quotbal.dat",
                                        "ltgtruri.dat", "lwsruri.dat",  "lwsstart.dat",
                                        "trws.dat",     "regbadct.dat", "multi01.dat"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[64];
        snprintf(path, sizeof(path), "rfc4475/%s", files[i]);
        size_t len;
        char *buf = tu_read_file(path, &len);
        pl_msg m;
        pl_error err = {0};
        assert_int_not_equal(pl_msg_parse(&m, buf, len, tu_arena(), NULL, &err), PL_OK);
        size_t n = 0;
        int rc = pl_msg_reject_raw(buf, len, 400, err.reason, out, sizeof(out), &n);
        if (rc != PL_OK)
            fail_msg("%s: no answer (%d)", files[i], rc);
        /* The lines go back as they came, the broken one too (badinv01's
         * Via, scalar02's CSeq): the answer need not parse here, only
         * match at the sender. */
        assert_memory_equal(out, "SIP/2.0 400 Bad Request (", 25);
        assert_non_null(strstr(out, err.reason));
        assert_true(n > 25 && memcmp(out + n - 21, "Content-Length: 0\r\n\r\n", 21) == 0);
    }
}

static void test_silent_cases(void **state)
{
    (void)state;
    size_t n;
    const char *tail = "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKs\n"
                       "From: <sip:a@example.com>;tag=a\n"
                       "To: <sip:b@example.com>\n"
                       "Call-ID: s\n"
                       "CSeq: 1 %s\n"
                       "Content-Length: 0\n\n";
    char t[1024];
    /* A response, an ACK, not SIP, no SIP/2.0 at the end. */
    snprintf(t, sizeof(t), "SIP/2.0 200 OK\n%s", tail);
    assert_int_equal(reject(t, &n, "x"), PL_EINVAL);
    snprintf(t, sizeof(t), "ACK sip:b@example.com SIP/2.0\n%s", tail);
    assert_int_equal(reject(t, &n, "x"), PL_EINVAL);
    assert_int_equal(reject("GET / HTTP/1.1\nHost: x\n\n", &n, "x"), PL_EINVAL);
    assert_int_equal(reject("\x01\x02garbage", &n, "x"), PL_EINVAL);
    /* No Call-ID: nothing to match an answer with. */
    assert_int_equal(reject("OPTIONS sip:b@example.com SIP/2.0\n"
                            "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKs\n"
                            "From: <sip:a@example.com>;tag=a\n"
                            "To: <sip:b@example.com>\n"
                            "CSeq: 1 OPTIONS\n\n",
                            &n, "x"),
                     PL_EINVAL);
    /* A control byte in a copied line. */
    assert_int_equal(reject("OPTIONS sip:b@example.com SIP/2.0\n"
                            "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK\x01s\n"
                            "From: <sip:a@example.com>;tag=a\n"
                            "To: <sip:b@example.com>\n"
                            "Call-ID: s\n"
                            "CSeq: 1 OPTIONS\n\n",
                            &n, "x"),
                     PL_EINVAL);
    /* A mangled Via is still answered, copied as it came (RFC 4475
     * 3.1.2.1 wants a 400 for it). */
    assert_int_equal(reject("OPTIONS sip:b@example.com SIP/2.0\n"
                            "Via: SIP/2.0/UDP ;;;\n"
                            "From: <sip:a@example.com>;tag=a\n"
                            "To: <sip:b@example.com>\n"
                            "Call-ID: s\n"
                            "CSeq: 1 OPTIONS\n\n",
                            &n, "bad Via"),
                     PL_OK);
    assert_non_null(strstr(out, "\r\nVia: SIP/2.0/UDP ;;;\r\n"));
    /* "tag=" inside the To URI is not a tag: the answer adds one. */
    assert_int_equal(reject("OPTIONS sip:b@example.com SIP/2.0\n"
                            "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKs\n"
                            "From: <sip:a@example.com>;tag=a\n"
                            "To: <sip:tag=1@example.com>\n"
                            "Call-ID: s\n"
                            "CSeq: 1 OPTIONS\n"
                            "Max-Forwards: x\n\n",
                            &n, "x"),
                     PL_OK);
    assert_non_null(strstr(out, "To: <sip:tag=1@example.com>;tag=pl400x\r\n"));
    /* Control bytes in the reason become '?'. */
    snprintf(t, sizeof(t), "OPTIONS sip:b@example.com SIP/2.0\nMax-Forwards: x\n%s", tail);
    char *tt = strstr(t, "CSeq: 1 %s");
    memcpy(tt, "CSeq: 1 OPTIONS\nContent-Length: 0\n\n", 36);
    assert_int_equal(reject(t, &n, "bad\r\nthing"), PL_OK);
    assert_non_null(strstr(out, "(bad??thing)"));
}

static void test_short_buffer(void **state)
{
    (void)state;
    size_t len, n;
    char *buf = tu_crlf("OPTIONS sip:b@example.com SIP/2.0\n"
                        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKs\n"
                        "From: <sip:a@example.com>;tag=a\n"
                        "To: <sip:b@example.com>\n"
                        "Call-ID: s\n"
                        "CSeq: 1 OPTIONS\n"
                        "Max-Forwards: x\n\n",
                        &len);
    char small[64];
    assert_int_equal(pl_msg_reject_raw(buf, len, 400, "x", small, sizeof(small), &n), PL_ENOSPC);
}

/* Several To lines without a tag each get one: the size check counts them
 * all (fuzz_msg found a write past the end when it counted one). */
static void test_exact_size_many_to(void **state)
{
    (void)state;
    size_t len, n;
    char *buf = tu_crlf("OPTIONS sip:b@example.com SIP/2.0\n"
                        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKs\n"
                        "From: <sip:a@example.com>;tag=a\n"
                        "To: <sip:b@example.com>\n"
                        "t: <sip:c@example.com>\n"
                        "To: <sip:d@example.com>\n"
                        "Call-ID: s\n"
                        "CSeq: 1 OPTIONS\n"
                        "Max-Forwards: x\n\n",
                        &len);
    assert_int_equal(pl_msg_reject_raw(buf, len, 400, "x", out, sizeof(out), &n), PL_OK);
    assert_int_equal(strstr(out, ";tag=pl400x") != NULL, 1);
    /* Heap blocks of exactly n and n - 1 bytes: ASan sees any write past. */
    char *exact = tu_dup(out, n);
    size_t m = 0;
    assert_int_equal(pl_msg_reject_raw(buf, len, 400, "x", exact, n, &m), PL_OK);
    assert_int_equal(m, n);
    char *shorter = tu_dup(out, n - 1);
    assert_int_equal(pl_msg_reject_raw(buf, len, 400, "x", shorter, n - 1, &m), PL_ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_has_what_matching_needs),
        cmocka_unit_test(test_rfc4475_refused_requests),
        cmocka_unit_test(test_silent_cases),
        cmocka_unit_test(test_short_buffer),
        cmocka_unit_test(test_exact_size_many_to),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tu_free_all();
    return rc;
}
