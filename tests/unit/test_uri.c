/*
 * test_uri.c - pl_uri_parse, pl_uri_equal (RFC 3261 section 19.1.4),
 * pl_uri_escape / pl_uri_unescape, pl_param_next / pl_param_find.
 *
 * Every URI is parsed from an exact-size heap copy (tu_dup) so that
 * AddressSanitizer catches a read one byte past the end.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ helpers */

static int parse_n(pl_uri *u, const char *s, size_t n, pl_error *err)
{
    const char *b = tu_dup(s, n);
    return pl_uri_parse(u, (pl_str){b, n}, err);
}

static void uri_ok(pl_uri *u, const char *s)
{
    pl_error err = {0, 0, NULL};
    int rc = parse_n(u, s, strlen(s), &err);
    if (rc != PL_OK)
        fail_msg("\"%s\": rc %d (%s at %zu), want PL_OK", s, rc, err.reason ? err.reason : "?",
                 err.offset);
}

/* s (n bytes) must be refused with PL_EPARSE, a reason, and the offset
 * off_lo <= offset <= off_hi (equal bounds for an exact check). */
static void uri_bad_range(const char *s, size_t n, size_t off_lo, size_t off_hi)
{
    pl_uri u;
    pl_error err = {0, 12345, NULL};
    int rc = parse_n(&u, s, n, &err);
    if (rc != PL_EPARSE)
        fail_msg("\"%.*s\": rc %d, want PL_EPARSE", (int)n, s, rc);
    if (!err.reason)
        fail_msg("\"%.*s\": no reason", (int)n, s);
    if (err.code != PL_EPARSE)
        fail_msg("\"%.*s\": err.code %d", (int)n, s, err.code);
    if (err.offset < off_lo || err.offset > off_hi)
        fail_msg("\"%.*s\": offset %zu (%s), want %zu..%zu", (int)n, s, err.offset, err.reason,
                 off_lo, off_hi);
}

static void uri_bad(const char *s, size_t off)
{
    uri_bad_range(s, strlen(s), off, off);
}

/* Offset of the first occurrence of needle in s. */
static size_t off_of(const char *s, const char *needle)
{
    const char *p = strstr(s, needle);
    if (!p)
        fail_msg("\"%s\" not in \"%s\"", needle, s);
    return (size_t)(p - s);
}

static void check_equal(const char *a, const char *b, bool want)
{
    pl_uri ua, ub;
    uri_ok(&ua, a);
    uri_ok(&ub, b);
    bool ab = pl_uri_equal(&ua, &ub), ba = pl_uri_equal(&ub, &ua);
    if (ab != want || ba != want)
        fail_msg("%s  vs  %s: equal %d/%d, want %d", a, b, ab, ba, want);
}

static int teardown(void **state)
{
    (void)state;
    tu_free_all();
    return 0;
}

/* ------------------------------------------------------------------ schemes */

static void test_sip_basic(void **state)
{
    (void)state;
    pl_uri u;
    uri_ok(&u, "sip:alice@atlanta.com");
    assert_int_equal(u.scheme, PL_URI_SIP);
    assert_str(u.scheme_str, "sip");
    assert_str(u.user, "alice");
    assert_false(u.has_password);
    assert_int_equal(u.password.len, 0);
    assert_str(u.host, "atlanta.com");
    assert_int_equal(u.host_type, PL_HOST_NAME);
    assert_int_equal(u.port, 0);
    assert_int_equal(u.port_str.len, 0);
    assert_int_equal(u.params.len, 0);
    assert_int_equal(u.headers.len, 0);
    assert_false(u.lr);
    assert_int_equal(u.opaque.len, 0);
}

static void test_sips_full(void **state)
{
    (void)state;
    pl_uri u;
    uri_ok(&u, "sips:alice:secretword@atlanta.com:5061;transport=tcp;maddr=239.255.255.1;"
               "user=ip;method=INVITE;ttl=15;lr;foo?subject=project%20x&priority=urgent");
    assert_int_equal(u.scheme, PL_URI_SIPS);
    assert_str(u.scheme_str, "sips");
    assert_str(u.user, "alice");
    assert_true(u.has_password);
    assert_str(u.password, "secretword");
    assert_str(u.host, "atlanta.com");
    assert_str(u.port_str, "5061");
    assert_int_equal(u.port, 5061);
    assert_str(u.params, ";transport=tcp;maddr=239.255.255.1;user=ip;method=INVITE;ttl=15;lr;foo");
    assert_str(u.transport, "tcp");
    assert_str(u.maddr, "239.255.255.1");
    assert_str(u.user_param, "ip");
    assert_str(u.method, "INVITE");
    assert_str(u.ttl, "15");
    assert_true(u.lr);
    assert_str(u.headers, "subject=project%20x&priority=urgent");
}

static void test_scheme_case(void **state)
{
    (void)state;
    pl_uri u;
    uri_ok(&u, "SIP:ALICE@AtLanTa.CoM;Transport=UDP;LR");
    assert_int_equal(u.scheme, PL_URI_SIP);
    assert_str(u.scheme_str, "SIP");
    assert_str(u.user, "ALICE");
    assert_str(u.transport, "UDP");
    assert_true(u.lr);
    uri_ok(&u, "SiPs:bob@example.com");
    assert_int_equal(u.scheme, PL_URI_SIPS);
    uri_ok(&u, "TEL:+12125551212");
    assert_int_equal(u.scheme, PL_URI_TEL);
}

static void test_tel(void **state)
{
    (void)state;
    pl_uri u;
    uri_ok(&u, "tel:+1-201-555-0123");
    assert_int_equal(u.scheme, PL_URI_TEL);
    assert_str(u.user, "+1-201-555-0123");
    assert_int_equal(u.host.len, 0);
    assert_int_equal(u.params.len, 0);
    uri_ok(&u, "tel:7042;phone-context=example.com");
    assert_str(u.user, "7042");
    assert_str(u.params, ";phone-context=example.com");
    pl_str v;
    assert_true(pl_param_find(u.params, "phone-context", &v));
    assert_str(v, "example.com");
    uri_ok(&u, "tel:+1(212)555.1212");
    assert_str(u.user, "+1(212)555.1212");
}

static void test_other_schemes(void **state)
{
    (void)state;
    pl_uri u;
    uri_ok(&u, "urn:service:sos");
    assert_int_equal(u.scheme, PL_URI_OTHER);
    assert_str(u.scheme_str, "urn");
    assert_str(u.opaque, "service:sos");
    assert_int_equal(u.user.len, 0);
    assert_int_equal(u.host.len, 0);
    uri_ok(&u, "http://www.example.com/a/b?c=d");
    assert_int_equal(u.scheme, PL_URI_OTHER);
    assert_str(u.scheme_str, "http");
    assert_str(u.opaque, "//www.example.com/a/b?c=d");
    uri_ok(&u, "mailto:alice@example.com");
    assert_int_equal(u.scheme, PL_URI_OTHER);
    assert_str(u.opaque, "alice@example.com");
    uri_ok(&u, "x-custom+v1.0:abc");
    assert_str(u.scheme_str, "x-custom+v1.0");
    /* sip-like names that are not sip */
    uri_ok(&u, "sipx:alice@example.com");
    assert_int_equal(u.scheme, PL_URI_OTHER);
}

/* ------------------------------------------------------------------ userinfo */

static void test_password_empty_and_absent(void **state)
{
    (void)state;
    pl_uri u;
    uri_ok(&u, "sip:alice:@atlanta.com");
    assert_str(u.user, "alice");
    assert_true(u.has_password);
    assert_int_equal(u.password.len, 0);
    assert_str(u.host, "atlanta.com");

    uri_ok(&u, "sip:alice@atlanta.com");
    assert_false(u.has_password);

    uri_ok(&u, "sip:alice:p&=+$,w@atlanta.com");
    assert_true(u.has_password);
    assert_str(u.password, "p&=+$,w");
}

static void test_no_user(void **state)
{
    (void)state;
    pl_uri u;
    uri_ok(&u, "sip:atlanta.com");
    assert_int_equal(u.user.len, 0);
    assert_false(u.has_password);
    assert_str(u.host, "atlanta.com");
    uri_ok(&u, "sip:atlanta.com:5060");
    assert_int_equal(u.user.len, 0);
    assert_str(u.host, "atlanta.com");
    assert_int_equal(u.port, 5060);
}

static void test_escaped_user(void **state)
{
    (void)state;
    pl_uri u;
    uri_ok(&u, "sip:%61lice@example.com");
    assert_str(u.user, "%61lice"); /* kept escaped as written */
    char out[32];
    size_t n = 0;
    assert_int_equal(pl_uri_unescape(u.user, out, sizeof(out), &n), PL_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "alice", 5);
}

static void test_semiuri_user(void **state)
{
    (void)state;
    pl_uri u;
    /* RFC 4475 semiuri: the user part holds ';' and an escaped '@'. */
    uri_ok(&u, "sip:user;par=u%40example.net@example.com");
    assert_str(u.user, "user;par=u%40example.net");
    assert_str(u.host, "example.com");
    assert_int_equal(u.params.len, 0);
    assert_false(u.has_password);
    /* user-unreserved: & = + $ , ; ? / */
    uri_ok(&u, "sip:a&b=c+d$e,f;g?h/i@example.com;x=y");
    assert_str(u.user, "a&b=c+d$e,f;g?h/i");
    assert_str(u.host, "example.com");
    assert_str(u.params, ";x=y");
}

static void test_telephone_subscriber_user(void **state)
{
    (void)state;
    pl_uri u;
    uri_ok(&u, "sip:+1-212-555-1212:1234@gateway.com;user=phone");
    assert_str(u.user, "+1-212-555-1212");
    assert_true(u.has_password);
    assert_str(u.password, "1234");
    assert_str(u.host, "gateway.com");
    assert_str(u.user_param, "phone");
    assert_str(u.params, ";user=phone");
}

/* ------------------------------------------------------------------ host */

static void test_host_ipv4(void **state)
{
    (void)state;
    pl_uri u;
    uri_ok(&u, "sip:192.0.2.4");
    assert_int_equal(u.host_type, PL_HOST_IPV4);
    assert_str(u.host, "192.0.2.4");
    uri_ok(&u, "sip:bob@192.0.2.4:5060;transport=udp");
    assert_int_equal(u.host_type, PL_HOST_IPV4);
    assert_str(u.host, "192.0.2.4");
    assert_int_equal(u.port, 5060);
    assert_str(u.transport, "udp");
    uri_ok(&u, "sip:0.0.0.0");
    assert_int_equal(u.host_type, PL_HOST_IPV4);
    uri_ok(&u, "sip:255.255.255.255");
    assert_int_equal(u.host_type, PL_HOST_IPV4);
}

static void test_host_name(void **state)
{
    (void)state;
    pl_uri u;
    uri_ok(&u, "sip:a@example.com.");
    assert_int_equal(u.host_type, PL_HOST_NAME);
    assert_str(u.host, "example.com.");
    uri_ok(&u, "sip:a@x");
    assert_str(u.host, "x");
    uri_ok(&u, "sip:a@my-host.example-1.com");
    assert_int_equal(u.host_type, PL_HOST_NAME);
    assert_str(u.host, "my-host.example-1.com");
}

static void test_host_ipv6_rfc5118(void **state)
{
    (void)state;
    pl_uri u;
    uri_ok(&u, "sip:[2001:db8::10]");
    assert_int_equal(u.host_type, PL_HOST_IPV6);
    assert_str(u.host, "[2001:db8::10]");
    assert_int_equal(u.port, 0);

    uri_ok(&u, "sip:[2001:db8::10]:5070");
    assert_str(u.host, "[2001:db8::10]");
    assert_int_equal(u.port, 5070);
    assert_str(u.port_str, "5070");

    /* RFC 5118 3.3: an IPv6 address ending in ":5070", not a port. */
    uri_ok(&u, "sip:[2001:db8::10:5070]");
    assert_int_equal(u.host_type, PL_HOST_IPV6);
    assert_str(u.host, "[2001:db8::10:5070]");
    assert_int_equal(u.port, 0);
    assert_int_equal(u.port_str.len, 0);

    uri_ok(&u, "sip:user@[::1]");
    assert_str(u.user, "user");
    assert_str(u.host, "[::1]");
    assert_int_equal(u.host_type, PL_HOST_IPV6);

    /* RFC 5118 4.? IPv4-mapped and the other RFC 5118 forms */
    uri_ok(&u, "sip:alice@[::ffff:192.0.2.1]");
    assert_str(u.host, "[::ffff:192.0.2.1]");
    assert_int_equal(u.host_type, PL_HOST_IPV6);
    uri_ok(&u, "sip:[0:0:0:0:0:FFFF:192.0.2.1]:5060");
    assert_int_equal(u.port, 5060);
    uri_ok(&u, "sip:[2001:db8::9:1]");
    uri_ok(&u, "sip:[2001:db8::9:01]");
    uri_ok(&u, "sip:[::]");
    uri_ok(&u, "sip:[1:2:3:4:5:6:7:8]");
    uri_ok(&u, "sip:[1:2:3:4:5:6:192.0.2.1]");
    uri_ok(&u, "sip:[2001:DB8:0:0:8:800:200C:417A];transport=tcp");
    assert_str(u.transport, "tcp");
}

/*
 * "::" stands for one or more groups of zeros (RFC 4291 2.2), so seven
 * explicit groups and "::" make a valid address; RFC 3261's own grammar
 * (hexpart = hexseq "::" [ hexseq ] / "::" [ hexseq ]) accepts both.
 */
static void test_host_ipv6_double_colon_then_seven(void **state)
{
    (void)state;
    pl_uri u;
    uri_ok(&u, "sip:[::2:3:4:5:6:7:8]");
    assert_int_equal(u.host_type, PL_HOST_IPV6);
}

static void test_host_ipv6_seven_then_double_colon(void **state)
{
    (void)state;
    pl_uri u;
    uri_ok(&u, "sip:[1:2:3:4:5:6:7::]");
    assert_int_equal(u.host_type, PL_HOST_IPV6);
}

static void test_host_ipv6_bad(void **state)
{
    (void)state;
    uri_bad("sip:[::1", 4);
    uri_bad("sip:a@[::1", 6);
    uri_bad("sip:[1:2]", 4);
    uri_bad("sip:[]", 4);
    uri_bad("sip:[1.2.3.4]", 4);
    uri_bad("sip:[1::2::3]", 4);
    uri_bad("sip:[2001:db8:::1]", 4);
    uri_bad("sip:[12345::1]", 4);
    uri_bad("sip:[1:2:3:4:5:6:7:8:9]", 4);
    uri_bad("sip:[1:2:3:4:5:6:7]", 4);
    uri_bad("sip:[::g]", 4);
    uri_bad("sip:[::ffff:192.0.2]", 4);
    uri_bad("sip:[::ffff:192.0.2.256]", 4);
}

/* hexpart never starts or ends with a single ':' (RFC 3261 25.1, RFC 4291 2.2). */
static void test_host_ipv6_leading_colon(void **state)
{
    (void)state;
    uri_bad("sip:[:1:2:3:4:5:6:7]", 4);
}

static void test_host_ipv6_trailing_colon(void **state)
{
    (void)state;
    uri_bad("sip:[1:2:3:4:5:6:7:]", 4);
}

/* ------------------------------------------------------------------ port */

static void test_port(void **state)
{
    (void)state;
    pl_uri u;
    uri_ok(&u, "sip:a@b.com:1");
    assert_int_equal(u.port, 1);
    assert_str(u.port_str, "1");
    uri_ok(&u, "sip:a@b.com:65535");
    assert_int_equal(u.port, 65535);
    uri_ok(&u, "sip:a@192.0.2.1:5060;lr");
    assert_int_equal(u.port, 5060);
    assert_true(u.lr);
    uri_ok(&u, "sip:a@b.com:5060?x=y");
    assert_int_equal(u.port, 5060);
    assert_str(u.headers, "x=y");

    uri_bad("sip:a@b.com:0", 12);
    uri_bad("sip:a@b.com:65536", 12);
    uri_bad("sip:a@b.com:", 12);
    uri_bad("sip:a@b.com:99999", 12);
    uri_bad("sip:a@b.com:99999999999999999999999", 12);
    uri_bad("sip:a@b.com:;lr", 12);
    uri_bad("sip:a@b.com:50x", 14);
}

/* ------------------------------------------------------------------ params, headers */

static void test_params(void **state)
{
    (void)state;
    pl_uri u;
    uri_ok(&u, "sip:a@b;foo;bar=baz;transport=TLS");
    assert_str(u.params, ";foo;bar=baz;transport=TLS");
    assert_str(u.transport, "TLS");
    assert_false(u.lr);
    assert_int_equal(u.maddr.len, 0);
    assert_int_equal(u.ttl.len, 0);
    assert_int_equal(u.method.len, 0);
    assert_int_equal(u.user_param.len, 0);

    pl_str v;
    assert_true(pl_param_find(u.params, "foo", &v));
    assert_int_equal(v.len, 0);
    assert_true(pl_param_find(u.params, "BAR", &v));
    assert_str(v, "baz");
    assert_false(pl_param_find(u.params, "ba", &v));

    /* known parameters in any case, and param-unreserved characters */
    uri_ok(&u, "sip:p.example.com;LR;MADDR=[2001:db8::1];TTL=1;Method=BYE;USER=phone;x=/:&+$[]");
    assert_true(u.lr);
    assert_str(u.maddr, "[2001:db8::1]");
    assert_str(u.ttl, "1");
    assert_str(u.method, "BYE");
    assert_str(u.user_param, "phone");
    assert_true(pl_param_find(u.params, "x", &v));
    assert_str(v, "/:&+$[]");

    /* lr with a value (RFC 2543 routers write lr=on) */
    uri_ok(&u, "sip:p.example.com;lr=on");
    assert_true(u.lr);
    /* escaped parameter */
    uri_ok(&u, "sip:p.example.com;x%20y=a%3bb");
    assert_str(u.params, ";x%20y=a%3bb");
}

/* RFC 3261 19.1.1: a parameter name appears at most once (compared without case). */
static void test_duplicate_params(void **state)
{
    (void)state;
    uri_bad("sip:a@b;lr;lr", 11);
    uri_bad("sip:a@b;transport=tcp;TRANSPORT=tcp", 22);
    uri_bad("sip:a@b;x=1;y;X=2", 14);
    pl_uri u;
    uri_ok(&u, "sip:a@b;x=1;xx=2;y");
}

/* A URI carries at most 64 parameters and 64 headers. */
static void test_many_params(void **state)
{
    (void)state;
    char buf[2048];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "sip:a@b");
    for (int i = 1; i <= 64; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, ";p%d", i);
    pl_uri u;
    uri_ok(&u, buf);
    size_t at = n + 1;
    snprintf(buf + n, sizeof(buf) - n, ";p65");
    uri_bad(buf, at);

    n = (size_t)snprintf(buf, sizeof(buf), "sip:a@b?h1=1");
    for (int i = 2; i <= 64; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "&h%d=%d", i, i);
    uri_ok(&u, buf);
    at = n + 1;
    snprintf(buf + n, sizeof(buf) - n, "&h65=65");
    uri_bad(buf, at);
}

static void test_headers(void **state)
{
    (void)state;
    pl_uri u;
    uri_ok(&u, "sip:a@b?a=b&c=d");
    assert_str(u.headers, "a=b&c=d");
    assert_int_equal(u.params.len, 0);

    pl_str rest = u.headers;
    pl_param prm;
    assert_true(pl_param_next(&rest, '&', &prm));
    assert_str(prm.name, "a");
    assert_str(prm.value, "b");
    assert_true(pl_param_next(&rest, '&', &prm));
    assert_str(prm.name, "c");
    assert_str(prm.value, "d");
    assert_false(pl_param_next(&rest, '&', &prm));

    uri_ok(&u, "sip:a@b;lr?to=sip:bob%40biloxi.com&x=");
    assert_true(u.lr);
    assert_str(u.headers, "to=sip:bob%40biloxi.com&x=");

    uri_ok(&u, "sip:a@b?subject=project%20x&priority=urgent");
    assert_str(u.headers, "subject=project%20x&priority=urgent");

    uri_bad("sip:a@b?", 8);
    uri_bad("sip:a@b?x", 9);
    uri_bad("sip:a@b?=x", 8);
    uri_bad("sip:a@b?a=b&", 12);
    uri_bad("sip:a@b?a=%4", 10);
}

/* ------------------------------------------------------------------ malformed */

static void test_bad_basic(void **state)
{
    (void)state;
    uri_bad("", 0);
    uri_bad("alice@example.com", 5); /* no scheme: no ':' after the name */
    uri_bad("<sip:a@b>", 0);
    uri_bad(" sip:a@b", 0);
    uri_bad("1sip:a@b", 0);
    uri_bad("sip", 3);
    uri_bad("sip:", 4);
    uri_bad("tel:", 4);
    uri_bad("urn:", 4);
    uri_bad("sip:@x", 4);          /* empty user */
    uri_bad("sip:user@", 9);       /* empty host */
    uri_bad("sip::pw@x", 4);       /* empty user with a password */
    uri_bad("sip:a@1.2.3.256", 6); /* bad IPv4 */
    uri_bad("sip:a@1.2.3", 6);
    uri_bad("sip:a@1.2.3.4.5", 6);
    uri_bad("sip:a@-x.com", 6);
    uri_bad("sip:a@x..com", 6);
    uri_bad("sip:a@b@c", 7);
}

static void test_bad_escapes(void **state)
{
    (void)state;
    uri_bad("sip:%4@x", 4);
    uri_bad("sip:%GG@x", 4);
    uri_bad("sip:%4", 4);
    uri_bad_range("sip:a:%G0@x", 11, 5, 6);
    uri_bad("sip:a@x;a=%4", 10);
    uri_bad("sip:a@x?a=%4", 10);
    /* in the middle of a component: somewhere in the component, not past the '%' */
    const char *s = "sip:ab%4@x";
    uri_bad_range(s, strlen(s), 4, off_of(s, "%"));
}

/* A bad escape in a parameter or header of a URI without userinfo is in that
 * parameter or header, not in a user part the URI does not have. */
static void test_bad_escapes_no_userinfo(void **state)
{
    (void)state;
    uri_bad("sip:x;a=%4", 8);
    uri_bad("sip:x;a=%GG", 8);
    uri_bad("sip:x;a=b%", 8);
    uri_bad("sip:x?a=%4", 8);
    const char *s = "sip:x;a=bc%zz";
    uri_bad_range(s, strlen(s), 8, off_of(s, "%"));
}

static void test_bad_space_and_controls(void **state)
{
    (void)state;
    uri_bad("sip:al ice@example.com", 6);
    uri_bad("sip:alice@exa mple.com", 13);
    uri_bad("sip:alice@example.com ", 21);
    uri_bad("sip:alice@example.com;a=b c", 25);
    uri_bad("sip:alice@example.com\r\n", 21);
    uri_bad("sip:a\x01@b", 5);
    uri_bad("sip:a@b\x7f", 7);
    uri_bad("sip:a@b;x\x1f=1", 9);
    uri_bad("sip:a@b\t", 7);
    uri_bad("urn:a b", 5);
    uri_bad("urn:a\x01", 5);
    uri_bad("tel:+1 212", 6);

    /* NUL inside: explicit lengths */
    static const char nul_user[] = "sip:ali\0ce@example.com";
    uri_bad_range(nul_user, sizeof(nul_user) - 1, 7, 7);
    static const char nul_host[] = "sip:alice@exa\0mple.com";
    uri_bad_range(nul_host, sizeof(nul_host) - 1, 13, 13);
    static const char nul_end[] = "sip:alice@example.com\0";
    uri_bad_range(nul_end, sizeof(nul_end) - 1, 21, 21);
    static const char nul_param[] = "sip:a@b;x=\0";
    uri_bad_range(nul_param, sizeof(nul_param) - 1, 10, 10);
    static const char nul_other[] = "urn:x\0y";
    uri_bad_range(nul_other, sizeof(nul_other) - 1, 5, 5);
}

static void test_bad_params(void **state)
{
    (void)state;
    uri_bad("sip:a@b;=x", 8);
    uri_bad("sip:a@b;", 8);
    uri_bad("sip:a@b;;lr", 8);
    uri_bad("sip:a@b;x=", 10);
    uri_bad("sip:a@b;x=;lr", 10);
    uri_bad("sip:a@b;x=\"y\"", 10);
    uri_bad("sip:a@b;x=y@z", 11);
}

/* The offset is where the URI starts, also when it does not start the buffer. */
static void test_offset_relative_to_s(void **state)
{
    (void)state;
    const char *buf = tu_dup("<sip:a@b:0>", 11);
    pl_uri u;
    pl_error err = {0, 0, NULL};
    assert_int_equal(pl_uri_parse(&u, (pl_str){buf + 1, 9}, &err), PL_EPARSE);
    assert_non_null(err.reason);
    assert_int_equal(err.offset, 8);
    /* err may be NULL */
    assert_int_equal(pl_uri_parse(&u, (pl_str){buf + 1, 9}, NULL), PL_EPARSE);
    assert_int_equal(pl_uri_parse(&u, (pl_str){buf + 1, 7}, NULL), PL_OK);
    assert_str(u.host, "b");
}

/* ------------------------------------------------------------------ equality */

static void test_equal_rfc3261_equivalent(void **state)
{
    (void)state;
    check_equal("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp",
                true);
    check_equal("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5", true);
    check_equal("sip:carol@chicago.com", "sip:carol@chicago.com;security=on", true);
    check_equal("sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on", true);
    check_equal("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com", true);
    check_equal("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
                "sip:alice@atlanta.com?priority=urgent&subject=project%20x", true);
}

static void test_equal_rfc3261_not_equivalent(void **state)
{
    (void)state;
    /* different usernames (case) */
    check_equal("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP",
                false);
    /* can resolve to different ports */
    check_equal("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060", false);
    /* can resolve to different transports */
    check_equal("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp", false);
    /* can resolve to different port and transports */
    check_equal("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp", false);
    /* different header component */
    check_equal("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting", false);
    /* even though that's what phone21.boxesbybob.com resolves to */
    check_equal("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4", false);
    /* both have security, with different values */
    check_equal("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off", false);
    /* an escaped reserved character is not the bare one */
    check_equal("sip:a%3Bb@x", "sip:a;b@x", false);
    check_equal("sip:a%40b@x", "sip:a%40b@x", true);
}

static void test_equal_more(void **state)
{
    (void)state;
    check_equal("sip:alice@atlanta.com", "sips:alice@atlanta.com", false);
    check_equal("sip:alice@atlanta.com", "SIP:alice@ATLANTA.com", true);
    check_equal("sip:alice@atlanta.com", "sip:atlanta.com", false);
    check_equal("sip:alice:pw@atlanta.com", "sip:alice:pw@atlanta.com", true);
    check_equal("sip:alice:pw@atlanta.com", "sip:alice:PW@atlanta.com", false);
    check_equal("sip:alice:pw@atlanta.com", "sip:alice@atlanta.com", false);
    check_equal("sip:bob@biloxi.com:5060", "sip:bob@biloxi.com:05060", true);
    check_equal("sip:bob@biloxi.com:5060", "sip:bob@biloxi.com:5061", false);
    check_equal("sip:bob@biloxi.com", "sip:bob@biloxi.com;maddr=192.0.2.1", false);
    check_equal("sip:bob@biloxi.com", "sip:bob@biloxi.com;ttl=1", false);
    check_equal("sip:bob@biloxi.com", "sip:bob@biloxi.com;user=phone", false);
    check_equal("sip:bob@biloxi.com", "sip:bob@biloxi.com;method=INVITE", false);
    check_equal("sip:bob@biloxi.com;maddr=192.0.2.1", "sip:bob@biloxi.com;MADDR=192.0.2.1", true);
    check_equal("sip:bob@biloxi.com;lr", "sip:bob@biloxi.com", true);
    check_equal("sip:bob@biloxi.com;transport=%74cp", "sip:bob@biloxi.com;transport=tcp", true);
    check_equal("sip:bob@biloxi.com?a=b", "sip:bob@biloxi.com?a=c", false);
    check_equal("sip:bob@biloxi.com?a=b", "sip:bob@biloxi.com?a=b&c=d", false);
    check_equal("sip:bob@[2001:DB8::10]", "sip:bob@[2001:db8::10]", true);
    check_equal("sip:bob@[2001:db8::10]:5070", "sip:bob@[2001:db8::10:5070]", false);
    check_equal("urn:service:sos", "URN:service:sos", true);
    check_equal("urn:service:sos", "urn:service:SOS", false);
    check_equal("urn:service:sos", "sip:service", false);
}

static void test_equal_tel(void **state)
{
    (void)state;
    check_equal("tel:+1-212-555-1212", "tel:+12125551212", true);
    check_equal("tel:+1(212)555.1212", "tel:+12125551212", true);
    check_equal("tel:+12125551212", "tel:+12125551213", false);
    check_equal("tel:+12125551212", "tel:12125551212", false);
    check_equal("tel:+1212555121", "tel:+12125551212", false);
    check_equal("tel:7042;phone-context=example.com", "tel:7042;PHONE-CONTEXT=Example.COM", true);
    check_equal("tel:7042;phone-context=example.com", "tel:7042", false);
    check_equal("tel:7042;a=1;b=2", "tel:7042;b=2;a=1", true);
    check_equal("tel:+12125551212", "sip:+12125551212@example.com;user=phone", false);
}

/* ------------------------------------------------------------------ escaping */

static const char every_byte_sample[] =
    "a b;c?d/e:f@g&h=i+j$k,l[m]n%o\"p<q>r#s~t*u'v(w)x!y.z-_\x01\xff";

static void roundtrip(pl_uri_part part, const char *prefix, const char *suffix)
{
    pl_str in = {every_byte_sample, sizeof(every_byte_sample) - 1};
    char esc[512];
    size_t elen = 0;
    assert_int_equal(pl_uri_escape(in, part, esc, sizeof(esc), &elen), PL_OK);
    assert_true(elen > in.len);

    /* The escaped text is a valid component of its kind. */
    char uri[1024];
    int n = snprintf(uri, sizeof(uri), "%s%.*s%s", prefix, (int)elen, esc, suffix);
    assert_true(n > 0 && (size_t)n < sizeof(uri));
    pl_uri u;
    uri_ok(&u, uri);
    pl_str comp = PL_STR_NULL;
    pl_param prm;
    switch (part) {
    case PL_URI_PART_USER:
        comp = u.user;
        break;
    case PL_URI_PART_PASSWORD:
        assert_true(u.has_password);
        comp = u.password;
        break;
    case PL_URI_PART_PARAM: {
        pl_str rest = u.params;
        assert_true(pl_param_next(&rest, ';', &prm));
        comp = prm.value;
        break;
    }
    case PL_URI_PART_HEADER:
    default: {
        pl_str rest = u.headers;
        assert_true(pl_param_next(&rest, '&', &prm));
        comp = prm.value;
        break;
    }
    }
    assert_int_equal(comp.len, elen);
    assert_memory_equal(comp.p, esc, elen);

    /* And decodes back to the input. */
    char dec[512];
    size_t dlen = 0;
    assert_int_equal(pl_uri_unescape(comp, dec, sizeof(dec), &dlen), PL_OK);
    assert_int_equal(dlen, in.len);
    assert_memory_equal(dec, in.p, in.len);
}

static void test_escape_roundtrip_parts(void **state)
{
    (void)state;
    roundtrip(PL_URI_PART_USER, "sip:", "@example.com");
    roundtrip(PL_URI_PART_PASSWORD, "sip:u:", "@example.com");
    roundtrip(PL_URI_PART_PARAM, "sip:example.com;x=", "");
    roundtrip(PL_URI_PART_HEADER, "sip:example.com?x=", "");
}

static void esc_expect(const char *in, pl_uri_part part, const char *want)
{
    char out[256];
    size_t n = 0;
    assert_int_equal(pl_uri_escape(pl_str_c(in), part, out, sizeof(out), &n), PL_OK);
    if (n != strlen(want) || memcmp(out, want, n) != 0)
        fail_msg("escape(\"%s\", %d) = \"%.*s\", want \"%s\"", in, part, (int)n, out, want);
}

static void test_escape_classes(void **state)
{
    (void)state;
    esc_expect("alice", PL_URI_PART_USER, "alice");
    esc_expect("a b", PL_URI_PART_USER, "a%20b");
    esc_expect("a@b", PL_URI_PART_USER, "a%40b");
    esc_expect("a;b?c/d", PL_URI_PART_USER, "a;b?c/d");
    esc_expect("a:b", PL_URI_PART_USER, "a%3Ab");
    esc_expect("100%", PL_URI_PART_USER, "100%25");
    esc_expect("\xff\x01", PL_URI_PART_USER, "%FF%01");
    esc_expect("a;b", PL_URI_PART_PASSWORD, "a%3Bb");
    esc_expect("&=+$,", PL_URI_PART_PASSWORD, "&=+$,");
    esc_expect("a&b:c[d]", PL_URI_PART_PARAM, "a&b:c[d]");
    esc_expect("a=b;c", PL_URI_PART_PARAM, "a%3Db%3Bc");
    esc_expect("a&b", PL_URI_PART_HEADER, "a%26b");
    esc_expect("a?b:c", PL_URI_PART_HEADER, "a?b:c");
    esc_expect("project x", PL_URI_PART_HEADER, "project%20x");
    esc_expect("", PL_URI_PART_HEADER, "");
}

static void test_escape_enospc_canary(void **state)
{
    (void)state;
    char out[16];
    size_t n = 999;
    /* "a b" escapes to "a%20b": 5 bytes */
    memset(out, '#', sizeof(out));
    assert_int_equal(pl_uri_escape(PL_STR_LIT("a b"), PL_URI_PART_USER, out, 5, &n), PL_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "a%20b", 5);
    assert_int_equal(out[5], '#');

    memset(out, '#', sizeof(out));
    assert_int_equal(pl_uri_escape(PL_STR_LIT("a b"), PL_URI_PART_USER, out, 4, &n), PL_ENOSPC);
    for (size_t i = 4; i < sizeof(out); i++)
        assert_int_equal(out[i], '#');

    /* short by one on a plain byte */
    memset(out, '#', sizeof(out));
    assert_int_equal(pl_uri_escape(PL_STR_LIT("a b!"), PL_URI_PART_USER, out, 5, &n), PL_ENOSPC);
    for (size_t i = 5; i < sizeof(out); i++)
        assert_int_equal(out[i], '#');

    /* cap 0 */
    memset(out, '#', sizeof(out));
    assert_int_equal(pl_uri_escape(PL_STR_LIT("x"), PL_URI_PART_USER, out, 0, &n), PL_ENOSPC);
    assert_int_equal(out[0], '#');
}

static void test_unescape(void **state)
{
    (void)state;
    char out[32];
    size_t n = 0;
    assert_int_equal(pl_uri_unescape(PL_STR_LIT("%61lice"), out, sizeof(out), &n), PL_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "alice", 5);
    assert_int_equal(pl_uri_unescape(PL_STR_LIT("a%3bb%3B"), out, sizeof(out), &n), PL_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(out, "a;b;", 4);
    assert_int_equal(pl_uri_unescape(PL_STR_LIT("%00"), out, sizeof(out), &n), PL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0], '\0');
    assert_int_equal(pl_uri_unescape(PL_STR_LIT(""), out, 0, &n), PL_OK);
    assert_int_equal(n, 0);

    assert_int_equal(pl_uri_unescape(PL_STR_LIT("%4"), out, sizeof(out), &n), PL_EPARSE);
    assert_int_equal(pl_uri_unescape(PL_STR_LIT("%GG"), out, sizeof(out), &n), PL_EPARSE);
    assert_int_equal(pl_uri_unescape(PL_STR_LIT("%4g"), out, sizeof(out), &n), PL_EPARSE);
    assert_int_equal(pl_uri_unescape(PL_STR_LIT("abc%"), out, sizeof(out), &n), PL_EPARSE);
    assert_int_equal(pl_uri_unescape(PL_STR_LIT("a%%41"), out, sizeof(out), &n), PL_EPARSE);

    /* exact-size input: a truncated escape at the very end must not read past it */
    char *t = tu_dup("ab%6", 4);
    assert_int_equal(pl_uri_unescape((pl_str){t, 4}, out, sizeof(out), &n), PL_EPARSE);
}

static void test_unescape_enospc_canary(void **state)
{
    (void)state;
    char out[16];
    size_t n = 0;
    memset(out, '#', sizeof(out));
    assert_int_equal(pl_uri_unescape(PL_STR_LIT("%61lice"), out, 5, &n), PL_OK);
    assert_int_equal(n, 5);
    assert_int_equal(out[5], '#');
    memset(out, '#', sizeof(out));
    assert_int_equal(pl_uri_unescape(PL_STR_LIT("%61lice"), out, 4, &n), PL_ENOSPC);
    for (size_t i = 4; i < sizeof(out); i++)
        assert_int_equal(out[i], '#');
    memset(out, '#', sizeof(out));
    assert_int_equal(pl_uri_unescape(PL_STR_LIT("abc%64"), out, 3, &n), PL_ENOSPC);
    for (size_t i = 3; i < sizeof(out); i++)
        assert_int_equal(out[i], '#');
}

static void test_unescape_in_place(void **state)
{
    (void)state;
    char *b = tu_dup("x%20y%2fz", 9);
    size_t n = 0;
    assert_int_equal(pl_uri_unescape((pl_str){b, 9}, b, 9, &n), PL_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(b, "x y/z", 5);
}

/* ------------------------------------------------------------------ parameter lists */

static void test_param_next(void **state)
{
    (void)state;
    pl_str rest = PL_STR_LIT(";a=1;b;c=\"x;y\"");
    pl_param p;
    assert_true(pl_param_next(&rest, ';', &p));
    assert_str(p.name, "a");
    assert_true(p.has_value);
    assert_str(p.value, "1");
    assert_true(pl_param_next(&rest, ';', &p));
    assert_str(p.name, "b");
    assert_false(p.has_value);
    assert_int_equal(p.value.len, 0);
    assert_true(pl_param_next(&rest, ';', &p));
    assert_str(p.name, "c");
    assert_true(p.has_value);
    assert_str(p.value, "\"x;y\"");
    assert_false(pl_param_next(&rest, ';', &p));
    assert_int_equal(rest.len, 0);
    assert_false(pl_param_next(&rest, ';', &p));
}

static void test_param_next_separators(void **state)
{
    (void)state;
    pl_str rest = PL_STR_LIT(";;a=1;;;b;");
    pl_param p;
    assert_true(pl_param_next(&rest, ';', &p));
    assert_str(p.name, "a");
    assert_str(p.value, "1");
    assert_true(pl_param_next(&rest, ';', &p));
    assert_str(p.name, "b");
    assert_false(p.has_value);
    assert_false(pl_param_next(&rest, ';', &p));

    /* no leading separator, whitespace around names, '=' and values */
    rest = PL_STR_LIT("a=1 ; b = 2 ;\tc");
    assert_true(pl_param_next(&rest, ';', &p));
    assert_str(p.name, "a");
    assert_str(p.value, "1");
    assert_true(pl_param_next(&rest, ';', &p));
    assert_str(p.name, "b");
    assert_str(p.value, "2");
    assert_true(pl_param_next(&rest, ';', &p));
    assert_str(p.name, "c");
    assert_false(p.has_value);
    assert_false(pl_param_next(&rest, ';', &p));

    /* only separators */
    rest = PL_STR_LIT(";;; ;");
    assert_false(pl_param_next(&rest, ';', &p));
    rest = PL_STR_NULL;
    assert_false(pl_param_next(&rest, ';', &p));

    /* '&' lists */
    rest = PL_STR_LIT("&a=b&&c=d&");
    assert_true(pl_param_next(&rest, '&', &p));
    assert_str(p.name, "a");
    assert_str(p.value, "b");
    assert_true(pl_param_next(&rest, '&', &p));
    assert_str(p.name, "c");
    assert_str(p.value, "d");
    assert_false(pl_param_next(&rest, '&', &p));

    /* a quoted value holding the separator and an escaped quote */
    rest = PL_STR_LIT(";x=\"a\\\";b\";y");
    assert_true(pl_param_next(&rest, ';', &p));
    assert_str(p.name, "x");
    assert_str(p.value, "\"a\\\";b\"");
    assert_true(pl_param_next(&rest, ';', &p));
    assert_str(p.name, "y");
    assert_false(pl_param_next(&rest, ';', &p));

    /* empty value after '=' */
    rest = PL_STR_LIT(";x=;y");
    assert_true(pl_param_next(&rest, ';', &p));
    assert_str(p.name, "x");
    assert_true(p.has_value);
    assert_int_equal(p.value.len, 0);
    assert_true(pl_param_next(&rest, ';', &p));
    assert_str(p.name, "y");
}

static void test_param_find(void **state)
{
    (void)state;
    pl_str params = PL_STR_LIT(";Transport=TCP;lr;maddr=192.0.2.1;x=\"a;b\"");
    pl_str v = PL_STR_LIT("unchanged");
    assert_true(pl_param_find(params, "transport", &v));
    assert_str(v, "TCP");
    assert_true(pl_param_find(params, "TRANSPORT", &v));
    assert_str(v, "TCP");
    assert_true(pl_param_find(params, "LR", &v));
    assert_int_equal(v.len, 0);
    assert_true(pl_param_find(params, "MaDdR", &v));
    assert_str(v, "192.0.2.1");
    assert_true(pl_param_find(params, "x", &v));
    assert_str(v, "\"a;b\"");
    assert_true(pl_param_find(params, "lr", NULL));
    v = PL_STR_LIT("unchanged");
    assert_false(pl_param_find(params, "b", &v));
    assert_false(pl_param_find(params, "transpor", &v));
    assert_false(pl_param_find(params, "l", &v));
    assert_str(v, "unchanged");
    assert_false(pl_param_find(PL_STR_NULL, "lr", &v));
}

#define T(f) cmocka_unit_test_teardown(f, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_sip_basic),
        T(test_sips_full),
        T(test_scheme_case),
        T(test_tel),
        T(test_other_schemes),
        T(test_password_empty_and_absent),
        T(test_no_user),
        T(test_escaped_user),
        T(test_semiuri_user),
        T(test_telephone_subscriber_user),
        T(test_host_ipv4),
        T(test_host_name),
        T(test_host_ipv6_rfc5118),
        T(test_host_ipv6_double_colon_then_seven),
        T(test_host_ipv6_seven_then_double_colon),
        T(test_host_ipv6_bad),
        T(test_host_ipv6_leading_colon),
        T(test_host_ipv6_trailing_colon),
        T(test_port),
        T(test_params),
        T(test_duplicate_params),
        T(test_many_params),
        T(test_headers),
        T(test_bad_basic),
        T(test_bad_escapes),
        T(test_bad_escapes_no_userinfo),
        T(test_bad_space_and_controls),
        T(test_bad_params),
        T(test_offset_relative_to_s),
        T(test_equal_rfc3261_equivalent),
        T(test_equal_rfc3261_not_equivalent),
        T(test_equal_more),
        T(test_equal_tel),
        T(test_escape_roundtrip_parts),
        T(test_escape_classes),
        T(test_escape_enospc_canary),
        T(test_unescape),
        T(test_unescape_enospc_canary),
        T(test_unescape_in_place),
        T(test_param_next),
        T(test_param_next_separators),
        T(test_param_find),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
