/*
 * test_dns.c - name lookups through c-ares on a libuv loop: the hosts file
 * (localhost, no network), numeric hosts answered without a lookup but
 * still from the loop, and malformed names refused.
 */
#include "testutil.h"

#include <parley/dns.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

typedef struct result {
    int calls;
    int status;
    size_t n;
    pl_target t[4];
} result;

static void on_done(void *arg, int status, const pl_target *targets, size_t n)
{
    result *r = arg;
    r->calls++;
    r->status = status;
    r->n = n;
    for (size_t i = 0; i < n && i < 4; i++)
        r->t[i] = targets[i];
}

static void run_until(uv_loop_t *loop, const result *r)
{
    for (int i = 0; i < 1000 && r->calls == 0; i++)
        uv_run(loop, UV_RUN_ONCE);
}

static void test_localhost(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    pl_dns *dns = pl_dns_new(&loop);
    assert_non_null(dns);
    result r = {0};
    assert_int_equal(pl_dns_resolve(dns, "localhost", 5070, PL_TP_TCP, on_done, &r), PL_OK);
    assert_int_equal(r.calls, 0); /* never from inside the call */
    run_until(&loop, &r);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, PL_OK);
    assert_true(r.n >= 1);
    /* IPv4 first: 127.0.0.1 from /etc/hosts. */
    char s[64];
    assert_int_equal(pl_target_print(&r.t[0], s, sizeof(s)), PL_OK);
    assert_string_equal(s, "tcp:127.0.0.1:5070");
    pl_dns_free(dns);
    uv_loop_close(&loop);
}

static void test_numeric(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    pl_dns *dns = pl_dns_new(&loop);
    result a = {0}, b = {0}, c = {0};
    assert_int_equal(pl_dns_resolve(dns, "192.0.2.7", 5060, PL_TP_UDP, on_done, &a), PL_OK);
    assert_int_equal(pl_dns_resolve(dns, "[2001:db8::1]", 5061, PL_TP_TLS, on_done, &b), PL_OK);
    assert_int_equal(pl_dns_resolve(dns, "::1", 5062, PL_TP_UDP, on_done, &c), PL_OK);
    assert_int_equal(a.calls + b.calls + c.calls, 0);
    run_until(&loop, &c);
    char s[64];
    assert_int_equal(a.calls, 1);
    pl_target_print(&a.t[0], s, sizeof(s));
    assert_string_equal(s, "udp:192.0.2.7:5060");
    assert_int_equal(b.calls, 1);
    pl_target_print(&b.t[0], s, sizeof(s));
    assert_string_equal(s, "tls:[2001:db8::1]:5061");
    assert_int_equal(c.calls, 1);
    pl_target_print(&c.t[0], s, sizeof(s));
    assert_string_equal(s, "udp:[::1]:5062");
    pl_dns_free(dns);
    uv_loop_close(&loop);
}

static void test_bad_names(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    pl_dns *dns = pl_dns_new(&loop);
    result r = {0};
    char longname[300];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(pl_dns_resolve(dns, "", 5060, PL_TP_UDP, on_done, &r), PL_EINVAL);
    assert_int_equal(pl_dns_resolve(dns, NULL, 5060, PL_TP_UDP, on_done, &r), PL_EINVAL);
    assert_int_equal(pl_dns_resolve(dns, longname, 5060, PL_TP_UDP, on_done, &r), PL_EINVAL);
    assert_int_equal(r.calls, 0);
    pl_dns_free(dns);
    uv_loop_close(&loop);
}

/* Freeing with a lookup pending calls it back once, as not found. */
static void test_free_pending(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    pl_dns *dns = pl_dns_new(&loop);
    result r = {0};
    assert_int_equal(pl_dns_resolve(dns, "127.0.0.1", 1, PL_TP_UDP, on_done, &r), PL_OK);
    pl_dns_free(dns);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, PL_ENOTFOUND);
    uv_loop_close(&loop);
}

static void check_uri(pl_dns *dns, uv_loop_t *loop, const char *u, pl_transport forced,
                      const char *want)
{
    pl_uri uri;
    assert_int_equal(pl_uri_parse(&uri, pl_str_c(u), NULL), PL_OK);
    result r = {0};
    int rc = pl_dns_resolve_uri(dns, &uri, forced, on_done, &r);
    if (!want) {
        assert_int_equal(rc, PL_EINVAL);
        return;
    }
    assert_int_equal(rc, PL_OK);
    run_until(loop, &r);
    assert_int_equal(r.status, PL_OK);
    char s[64];
    pl_target_print(&r.t[0], s, sizeof(s));
    if (strcmp(s, want) != 0)
        fail_msg("%s: got %s, want %s", u, s, want);
}

/* RFC 3263 without NAPTR/SRV, RFC 3261 18.1.1 (maddr) and 26.2 (sips:). */
static void test_uri_targets(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    pl_dns *dns = pl_dns_new(&loop);
    check_uri(dns, &loop, "sip:a@192.0.2.1", PL_TP_COUNT_, "udp:192.0.2.1:5060");
    check_uri(dns, &loop, "sip:a@192.0.2.1:5070;transport=tcp", PL_TP_COUNT_, "tcp:192.0.2.1:5070");
    check_uri(dns, &loop, "sips:a@192.0.2.1", PL_TP_COUNT_, "tls:192.0.2.1:5061");
    check_uri(dns, &loop, "sip:a@192.0.2.1", PL_TP_TCP, "tcp:192.0.2.1:5060");
    check_uri(dns, &loop, "sip:a@192.0.2.1;transport=udp", PL_TP_TCP, "udp:192.0.2.1:5060");
    check_uri(dns, &loop, "sip:a@example.invalid;maddr=192.0.2.9", PL_TP_COUNT_,
              "udp:192.0.2.9:5060");
    check_uri(dns, &loop, "sip:a@localhost:5999;transport=tls", PL_TP_COUNT_, "tls:127.0.0.1:5999");
    check_uri(dns, &loop, "sip:a@[2001:db8::5]", PL_TP_COUNT_, "udp:[2001:db8::5]:5060");
    check_uri(dns, &loop, "sips:a@192.0.2.1;transport=udp", PL_TP_COUNT_, NULL);
    check_uri(dns, &loop, "sip:a@192.0.2.1;transport=carrier-pigeon", PL_TP_COUNT_, NULL);
    check_uri(dns, &loop, "tel:+15551234", PL_TP_COUNT_, NULL);
    pl_dns_free(dns);
    uv_loop_close(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_localhost),   cmocka_unit_test(test_numeric),
        cmocka_unit_test(test_bad_names),   cmocka_unit_test(test_free_pending),
        cmocka_unit_test(test_uri_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
