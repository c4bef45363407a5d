/*
 * fuzz_uri.c - pl_uri_parse, pl_uri_equal, pl_uri_escape/pl_uri_unescape,
 * pl_param_next/pl_param_find.
 *
 * The input is parsed as a URI three ways: whole, its second half, and (when
 * it holds a '\n') the parts before and after the first newline, so a seed
 * "sip:a@B.com\nsip:a@b.com" compares two related URIs. For each URI that
 * parses:
 *
 *   - every field lies inside the input and is read whole; every component
 *     unescapes cleanly (exact buffer, in place, one byte short: ENOSPC);
 *     parameters (';') and headers ('&') are walked with pl_param_next,
 *     which must make progress; lr/transport/maddr/user/method/ttl agree
 *     with pl_param_find;
 *   - pl_uri_equal(u, u) is true;
 *   - the same bytes with the scheme (and for sip/sips the host) in the other
 *     ASCII case parse too and compare equal (RFC 3261 19.1.4);
 *
 * pairs compare symmetrically: equal(a, b) == equal(b, a).
 *
 * The input bytes are then escaped as each component (user, password,
 * param, header): an exactly sized buffer works, one byte less gives
 * PL_ENOSPC, unescaping gives the input back, and the escaped text placed in
 * a URI as that component parses and is found there unchanged.
 */
#include "fuzz_util.h"

#include <parley/base.h>
#include <parley/uri.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char flip_case(char c)
{
    if (c >= 'a' && c <= 'z')
        return (char)(c - 32);
    if (c >= 'A' && c <= 'Z')
        return (char)(c + 32);
    return c;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static void param_agrees(const pl_uri *u, pl_str field, const char *name)
{
    pl_str v;
    if (field.len > 0)
        FUZZ_CHECK(pl_param_find(u->params, name, &v));
}

/* Parse s (exactly sized copy); check what parsed. Returns true on PL_OK. */
static bool parse_and_walk(pl_uri *u, const char *p, size_t n)
{
    pl_error err;
    memset(&err, 0, sizeof err);
    int rc = pl_uri_parse(u, (pl_str){p, n}, &err);
    if (rc != PL_OK) {
        FUZZ_CHECK(rc == PL_EPARSE);
        FUZZ_CHECK(err.reason != NULL);
        FUZZ_CHECK(err.offset <= n);
        return false;
    }
    fuzz_bounds b = {p, n};
    fuzz_uri_walk(u, b);
    fuzz_str_in(u->scheme_str, b);
    FUZZ_CHECK(u->scheme_str.len > 0);

    switch (u->scheme) {
    case PL_URI_SIP:
    case PL_URI_SIPS:
        FUZZ_CHECK(u->host.len > 0 && u->host_type != PL_HOST_NONE);
        if (u->host_type == PL_HOST_IPV6)
            FUZZ_CHECK(u->host.p[0] == '[' && u->host.p[u->host.len - 1] == ']');
        param_agrees(u, u->transport, "transport");
        param_agrees(u, u->maddr, "maddr");
        param_agrees(u, u->user_param, "user");
        param_agrees(u, u->method, "method");
        param_agrees(u, u->ttl, "ttl");
        break;
    case PL_URI_TEL:
        FUZZ_CHECK(u->user.len > 0);
        break;
    case PL_URI_OTHER:
    default:
        break;
    }

    /* The scheme (and a sip/sips host) in the other case: same URI. */
    char *flipped = fuzz_dup(p, n);
    size_t s_off = (size_t)(u->scheme_str.p - p);
    for (size_t i = 0; i < u->scheme_str.len; i++)
        flipped[s_off + i] = flip_case(flipped[s_off + i]);
    if ((u->scheme == PL_URI_SIP || u->scheme == PL_URI_SIPS) && u->host.len) {
        size_t h_off = (size_t)(u->host.p - p);
        for (size_t i = 0; i < u->host.len; i++)
            flipped[h_off + i] = flip_case(flipped[h_off + i]);
    }
    pl_uri f;
    memset(&err, 0, sizeof err);
    int frc = pl_uri_parse(&f, (pl_str){flipped, n}, &err);
    if (frc != PL_OK)
        fprintf(stderr, "case-flipped URI refused: %s at %zu\n", err.reason ? err.reason : "?",
                err.offset);
    FUZZ_CHECK(frc == PL_OK);
    FUZZ_CHECK(f.scheme == u->scheme);
    FUZZ_CHECK(pl_uri_equal(&f, u));
    FUZZ_CHECK(pl_uri_equal(u, &f));
    free(flipped);
    return true;
}

static void compare_pair(const pl_uri *a, const pl_uri *b)
{
    bool ab = pl_uri_equal(a, b);
    bool ba = pl_uri_equal(b, a);
    FUZZ_CHECK(ab == ba);
    if (ab)
        FUZZ_CHECK(a->scheme == b->scheme);
}

/* Escape in as component part; the escaped text must be that component. */
static void escape_roundtrip(pl_str in, pl_uri_part part)
{
    size_t max = in.len * 3;
    char *big = fuzz_alloc(max);
    size_t n = (size_t)-1;
    FUZZ_CHECK(pl_uri_escape(in, part, big, max, &n) == PL_OK);
    FUZZ_CHECK(n >= in.len && n <= max);

    /* Exactly n bytes suffices; one fewer does not. */
    char *exact = fuzz_alloc(n);
    size_t n2 = (size_t)-1;
    FUZZ_CHECK(pl_uri_escape(in, part, exact, n, &n2) == PL_OK && n2 == n);
    FUZZ_CHECK(n == 0 || memcmp(exact, big, n) == 0);
    if (n > 0) {
        char *small = fuzz_alloc(n - 1);
        size_t n3 = 0;
        FUZZ_CHECK(pl_uri_escape(in, part, small, n - 1, &n3) == PL_ENOSPC);
        free(small);
    }

    /* Escaped text is printable ASCII with well-formed escapes only. */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)exact[i];
        FUZZ_CHECK(c > 0x20 && c < 0x7f);
        if (c == '%') {
            FUZZ_CHECK(i + 2 < n);
            FUZZ_CHECK(is_hex(exact[i + 1]) && is_hex(exact[i + 2]));
        }
    }

    /* Unescaping gives the input back. */
    char *back = fuzz_alloc(n);
    size_t bn = (size_t)-1;
    FUZZ_CHECK(pl_uri_unescape((pl_str){exact, n}, back, n, &bn) == PL_OK);
    FUZZ_CHECK(bn == in.len && (bn == 0 || memcmp(back, in.p, bn) == 0));
    free(back);

    /* The escaped text, placed in a URI as that component, parses back. */
    if (n > 0) {
        static const char *const pre[] = {
            "sip:", "sip:u:", "sip:example.com;p=", "sip:example.com?h="};
        static const char *const post[] = {"@example.com", "@example.com", "", ""};
        size_t pl = strlen(pre[part]), sl = strlen(post[part]);
        size_t ulen = pl + n + sl;
        char *ubuf = fuzz_alloc(ulen);
        memcpy(ubuf, pre[part], pl);
        memcpy(ubuf + pl, exact, n);
        memcpy(ubuf + pl + n, post[part], sl);
        pl_uri u;
        pl_error err;
        memset(&err, 0, sizeof err);
        int rc = pl_uri_parse(&u, (pl_str){ubuf, ulen}, &err);
        if (rc != PL_OK)
            fprintf(stderr, "escaped component refused: %.*s: %s at %zu\n", (int)ulen, ubuf,
                    err.reason ? err.reason : "?", err.offset);
        FUZZ_CHECK(rc == PL_OK);
        pl_str esc = {exact, n};
        pl_str v = PL_STR_NULL;
        pl_param prm;
        pl_str rest;
        switch (part) {
        case PL_URI_PART_USER:
            FUZZ_CHECK(fuzz_str_eq(u.user, esc));
            break;
        case PL_URI_PART_PASSWORD:
            FUZZ_CHECK(u.has_password && fuzz_str_eq(u.password, esc));
            break;
        case PL_URI_PART_PARAM:
            FUZZ_CHECK(pl_param_find(u.params, "p", &v) && fuzz_str_eq(v, esc));
            break;
        case PL_URI_PART_HEADER:
            rest = u.headers;
            FUZZ_CHECK(pl_param_next(&rest, '&', &prm));
            FUZZ_CHECK(pl_str_eq(prm.name, PL_STR_LIT("h")) && prm.has_value);
            FUZZ_CHECK(fuzz_str_eq(prm.value, esc));
            break;
        default:
            break;
        }
        fuzz_uri_walk(&u, (fuzz_bounds){ubuf, ulen});
        free(ubuf);
    }
    free(exact);
    free(big);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Nothing in, an error out. */
    pl_uri none;
    FUZZ_CHECK(pl_uri_parse(&none, PL_STR_NULL, NULL) != PL_OK);

    char *whole = fuzz_dup(data, size);
    pl_uri u;
    bool u_ok = parse_and_walk(&u, whole, size);

    /* The second half, as its own exactly sized buffer. */
    size_t half = size / 2;
    char *second = fuzz_dup(data + half, size - half);
    pl_uri h;
    bool h_ok = parse_and_walk(&h, second, size - half);
    if (u_ok && h_ok)
        compare_pair(&u, &h);

    /* Before and after the first newline. */
    const uint8_t *nl = size ? memchr(data, '\n', size) : NULL;
    if (nl) {
        size_t la = (size_t)(nl - data);
        char *a = fuzz_dup(data, la);
        char *b = fuzz_dup(nl + 1, size - la - 1);
        pl_uri ua, ub;
        bool a_ok = parse_and_walk(&ua, a, la);
        bool b_ok = parse_and_walk(&ub, b, size - la - 1);
        if (a_ok && b_ok)
            compare_pair(&ua, &ub);
        if (a_ok && u_ok)
            compare_pair(&ua, &u);
        free(a);
        free(b);
    }

    /* Escape the raw input as each component. */
    if (size <= 4096) {
        pl_str in = {whole, size};
        escape_roundtrip(in, PL_URI_PART_USER);
        escape_roundtrip(in, PL_URI_PART_PASSWORD);
        escape_roundtrip(in, PL_URI_PART_PARAM);
        escape_roundtrip(in, PL_URI_PART_HEADER);
    }

    /* The raw input as a parameter list and a header list. */
    (void)fuzz_params((pl_str){whole, size}, ';');
    (void)fuzz_params((pl_str){whole, size}, '&');

    free(second);
    free(whole);
    return 0;
}
