/*
 * test_net_target.c - transports and hop addresses (parley/net.h):
 * pl_target_parse / print / eq / port, and the transport name helpers.
 */
#include "testutil.h"

#include <parley/net.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static void parse_ok(const char *s, pl_target *t)
{
    memset(t, 0xA5, sizeof(*t)); /* the parse must set every field it relies on */
    int rc = pl_target_parse(t, s);
    if (rc != PL_OK)
        fail_msg("pl_target_parse(\"%s\") = %d, want PL_OK", s, rc);
}

static void check_v4(const pl_target *t, pl_transport tp, const char *ip, uint16_t port)
{
    assert_int_equal(t->transport, tp);
    assert_int_equal(t->addr.ss_family, AF_INET);
    assert_int_equal(t->len, sizeof(struct sockaddr_in));
    const struct sockaddr_in *a = (const struct sockaddr_in *)&t->addr;
    struct in_addr want;
    assert_int_equal(inet_pton(AF_INET, ip, &want), 1);
    assert_memory_equal(&a->sin_addr, &want, sizeof(want));
    assert_int_equal(ntohs(a->sin_port), port);
    assert_int_equal(pl_target_port(t), port);
}

static void check_v6(const pl_target *t, pl_transport tp, const char *ip, uint16_t port)
{
    assert_int_equal(t->transport, tp);
    assert_int_equal(t->addr.ss_family, AF_INET6);
    assert_int_equal(t->len, sizeof(struct sockaddr_in6));
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&t->addr;
    struct in6_addr want;
    assert_int_equal(inet_pton(AF_INET6, ip, &want), 1);
    assert_memory_equal(&a->sin6_addr, &want, sizeof(want));
    assert_int_equal(ntohs(a->sin6_port), port);
    assert_int_equal(pl_target_port(t), port);
}

static void test_parse_good(void **state)
{
    (void)state;
    pl_target t;
    parse_ok("udp:127.0.0.1:5060", &t);
    check_v4(&t, PL_TP_UDP, "127.0.0.1", 5060);
    parse_ok("tcp:[::1]:5070", &t);
    check_v6(&t, PL_TP_TCP, "::1", 5070);
    parse_ok("tls:127.0.0.1", &t);
    check_v4(&t, PL_TP_TLS, "127.0.0.1", 5061);
    parse_ok("udp:127.0.0.1", &t);
    check_v4(&t, PL_TP_UDP, "127.0.0.1", 5060);
    parse_ok("tcp:127.0.0.1", &t);
    check_v4(&t, PL_TP_TCP, "127.0.0.1", 5060);
    parse_ok("tcp:[::1]", &t);
    check_v6(&t, PL_TP_TCP, "::1", 5060);
    parse_ok("tls:[2001:db8::7]", &t);
    check_v6(&t, PL_TP_TLS, "2001:db8::7", 5061);
    parse_ok("udp:192.0.2.1:1", &t);
    check_v4(&t, PL_TP_UDP, "192.0.2.1", 1);
    parse_ok("udp:192.0.2.1:65535", &t);
    check_v4(&t, PL_TP_UDP, "192.0.2.1", 65535);
    parse_ok("tls:10.1.2.3:5070", &t);
    check_v4(&t, PL_TP_TLS, "10.1.2.3", 5070);
    parse_ok("sctp:10.1.2.3:5080", &t);
    check_v4(&t, PL_TP_SCTP, "10.1.2.3", 5080);
}

static void test_parse_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "udp",
        "udp:",
        "xyz:1.2.3.4:5",
        "udp:1.2.3.4:0",
        "udp:1.2.3.4:70000",
        "udp:1.2.3.4:65536",
        "udp:1.2.3.4:",
        "udp:1.2.3.4:50x",
        "udp:1.2.3.4:-1",
        "udp:1.2.3.4:5060:1",
        "udp:[::1",
        "udp:[::1]:",
        "udp:[::1]x",
        "udp:[::1]:70000",
        "udp:[1.2.3.4]:5060",
        "udp:[]:5060",
        "udp:host.name:5060",
        "udp:example.com",
        "udp:256.1.1.1:5060",
        "udp:1.2.3:5060",
        "udp: 1.2.3.4:5060",
        " udp:1.2.3.4:5060",
        ":1.2.3.4:5060",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pl_target t;
        int rc = pl_target_parse(&t, bad[i]);
        if (rc != PL_EPARSE)
            fail_msg("pl_target_parse(\"%s\") = %d, want PL_EPARSE", bad[i], rc);
    }
}

static void test_print_round_trip(void **state)
{
    (void)state;
    static const char *const canon[] = {
        "udp:127.0.0.1:5060", "tcp:[::1]:5070",         "tls:127.0.0.1:5061",
        "udp:192.0.2.1:1",    "tcp:[2001:db8::1]:5060", "udp:10.0.0.1:65535",
    };
    for (size_t i = 0; i < sizeof(canon) / sizeof(canon[0]); i++) {
        pl_target t, u;
        parse_ok(canon[i], &t);
        size_t n = strlen(canon[i]) + 1;
        char *out = tu_dup(canon[i], n); /* exact size: ASan catches a write past it */
        memset(out, 'X', n);
        assert_int_equal(pl_target_print(&t, out, n), PL_OK);
        if (strcmp(out, canon[i]) != 0)
            fail_msg("print of %s gave %s", canon[i], out);
        parse_ok(out, &u);
        assert_true(pl_target_eq(&t, &u));
    }
    /* Defaults are printed. */
    static const char *const in[] = {"tls:127.0.0.1", "udp:127.0.0.1", "tcp:[::1]"};
    static const char *const out[] = {"tls:127.0.0.1:5061", "udp:127.0.0.1:5060", "tcp:[::1]:5060"};
    for (size_t i = 0; i < 3; i++) {
        pl_target t;
        char buf[64];
        parse_ok(in[i], &t);
        assert_int_equal(pl_target_print(&t, buf, sizeof(buf)), PL_OK);
        assert_string_equal(buf, out[i]);
    }
    tu_free_all();
}

static void test_print_small_buffer(void **state)
{
    (void)state;
    pl_target t;
    parse_ok("udp:127.0.0.1:5060", &t); /* 18 characters */
    for (size_t cap = 1; cap <= 18; cap++) {
        char *out = tu_dup("XXXXXXXXXXXXXXXXXXXX", cap);
        int rc = pl_target_print(&t, out, cap);
        if (rc >= 0)
            fail_msg("cap %zu: pl_target_print = %d, want an error", cap, rc);
        /* Whatever was written is NUL-terminated inside the buffer. */
        assert_non_null(memchr(out, '\0', cap));
    }
    tu_free_all();
}

static void test_eq_and_port(void **state)
{
    (void)state;
    pl_target a, b;
    parse_ok("udp:127.0.0.1:5060", &a);
    parse_ok("udp:127.0.0.1:5060", &b);
    assert_true(pl_target_eq(&a, &b));
    parse_ok("udp:127.0.0.1", &b);
    assert_true(pl_target_eq(&a, &b));
    parse_ok("tcp:127.0.0.1:5060", &b);
    assert_false(pl_target_eq(&a, &b));
    parse_ok("udp:127.0.0.1:5061", &b);
    assert_false(pl_target_eq(&a, &b));
    parse_ok("udp:127.0.0.2:5060", &b);
    assert_false(pl_target_eq(&a, &b));
    parse_ok("udp:[::1]:5060", &b);
    assert_false(pl_target_eq(&a, &b));
    parse_ok("udp:[::1]:5060", &a);
    assert_true(pl_target_eq(&a, &b));
    parse_ok("udp:[::2]:5060", &b);
    assert_false(pl_target_eq(&a, &b));
    parse_ok("udp:[::1]:5062", &b);
    assert_false(pl_target_eq(&a, &b));
    parse_ok("tls:[::1]:5060", &b);
    assert_false(pl_target_eq(&a, &b));
    assert_true(pl_target_eq(&a, &a));

    parse_ok("tcp:[::1]:5070", &a);
    assert_int_equal(pl_target_port(&a), 5070);
    parse_ok("tls:10.0.0.1", &a);
    assert_int_equal(pl_target_port(&a), 5061);
}

static void test_transport_names(void **state)
{
    (void)state;
    static const struct {
        pl_transport tp;
        const char *name;
        bool reliable;
    } all[] = {
        {PL_TP_UDP, "UDP", false},  {PL_TP_TCP, "TCP", true}, {PL_TP_TLS, "TLS", true},
        {PL_TP_SCTP, "SCTP", true}, {PL_TP_WS, "WS", true},   {PL_TP_WSS, "WSS", true},
    };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        assert_string_equal(pl_transport_name(all[i].tp), all[i].name);
        assert_int_equal(pl_transport_reliable(all[i].tp), all[i].reliable);
        pl_transport tp = PL_TP_COUNT_;
        assert_true(pl_transport_from_str(pl_str_c(all[i].name), &tp));
        assert_int_equal(tp, all[i].tp);
        /* Any case. */
        char lower[8], mixed[8];
        size_t n = strlen(all[i].name);
        for (size_t k = 0; k <= n; k++) {
            lower[k] = (char)(all[i].name[k] | (all[i].name[k] ? 0x20 : 0));
            mixed[k] = (char)(k % 2 ? lower[k] : all[i].name[k]);
        }
        tp = PL_TP_COUNT_;
        assert_true(pl_transport_from_str(pl_str_c(lower), &tp));
        assert_int_equal(tp, all[i].tp);
        tp = PL_TP_COUNT_;
        assert_true(pl_transport_from_str(pl_str_c(mixed), &tp));
        assert_int_equal(tp, all[i].tp);
        /* Not NUL-terminated: the length decides. */
        char *exact = tu_dup(all[i].name, n);
        tp = PL_TP_COUNT_;
        assert_true(pl_transport_from_str((pl_str){exact, n}, &tp));
        assert_int_equal(tp, all[i].tp);
    }
    static const char *const bad[] = {"", "xyz", "udpx", "ud", "U", "TCP ", " tcp", "wsss", "tl"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pl_transport tp = PL_TP_COUNT_;
        if (pl_transport_from_str(pl_str_c(bad[i]), &tp))
            fail_msg("pl_transport_from_str(\"%s\") accepted", bad[i]);
    }
    /* A prefix of a longer buffer is judged by its length. */
    pl_transport tp = PL_TP_COUNT_;
    assert_true(pl_transport_from_str((pl_str){"TCPX", 3}, &tp));
    assert_int_equal(tp, PL_TP_TCP);
    tu_free_all();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),       cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_print_round_trip), cmocka_unit_test(test_print_small_buffer),
        cmocka_unit_test(test_eq_and_port),      cmocka_unit_test(test_transport_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
