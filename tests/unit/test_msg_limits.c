/*
 * test_msg_limits.c - every field of pl_msg_limits at the limit (the parse
 * succeeds), one past it and twice it (PL_ELIMIT with a reason), with small
 * custom limits and with the defaults; and the defaults a zeroed
 * pl_msg_limits stands for.
 *
 * What is counted (src/msg/parse.c, eager.c, via.c, nameaddr.c):
 * - max_msg_size: the message from its start line to the end of its body
 *   (CRLFs skipped before it and datagram bytes after it are not counted);
 * - max_headers: header fields, a folded field being one;
 * - max_line: one header field from the first byte of its name to the end
 *   of its last line, folds (their CRLF and blanks) included, the final CRLF
 *   excluded;
 * - max_vias: Via values, over all Via header fields;
 * - max_params: header parameters on one value (a Via, a Contact...);
 * - max_values: values of one list header kind (Contact, Route,
 *   Record-Route), over all its header fields.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ a string builder */

typedef struct sb {
    char *p;
    size_t len, cap;
} sb;

static sb g_sb;

static void sb_reset(void)
{
    if (!g_sb.p) {
        g_sb.cap = 1u << 20;
        g_sb.p = malloc(g_sb.cap);
        assert_non_null(g_sb.p);
    }
    g_sb.len = 0;
    g_sb.p[0] = '\0';
}

static void sb_add(const char *s)
{
    size_t n = strlen(s);
    assert_true(g_sb.len + n < g_sb.cap);
    memcpy(g_sb.p + g_sb.len, s, n + 1);
    g_sb.len += n;
}

static void sb_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sb_fmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(g_sb.p + g_sb.len, g_sb.cap - g_sb.len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && g_sb.len + (size_t)n < g_sb.cap);
    g_sb.len += (size_t)n;
}

static void sb_rep(char c, size_t n)
{
    assert_true(g_sb.len + n < g_sb.cap);
    memset(g_sb.p + g_sb.len, c, n);
    g_sb.len += n;
    g_sb.p[g_sb.len] = '\0';
}

/* Bytes the text takes once every "\n" is "\r\n". */
static size_t wire_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += (*s == '\n') ? 2 : 1;
    return n;
}

/* ------------------------------------------------------------------ parsing */

#define RL   "INVITE sip:bob@biloxi.com SIP/2.0\n"
#define VIA  "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\n"
#define FROM "From: Alice <sip:alice@atlanta.com>;tag=1928301774\n"
#define TO   "To: Bob <sip:bob@biloxi.com>\n"
#define CID  "Call-ID: a84b4c76e66710@pc33.atlanta.com\n"
#define CSEQ "CSeq: 314159 INVITE\n"
#define BASE VIA FROM TO CID CSEQ

static const char *g_buf;
static size_t g_len;

static int parse_lim(const char *text, const pl_msg_limits *lim, pl_msg *m, pl_error *err)
{
    size_t n;
    char *b = tu_crlf(text, &n);
    g_buf = b;
    g_len = n;
    pl_parse_opts o = {PL_FRAMING_DGRAM, lim};
    err->code = 0;
    err->offset = (size_t)-1;
    err->reason = NULL;
    return pl_msg_parse(m, b, n, tu_arena(), &o, err);
}

static void ok_lim(const char *text, const pl_msg_limits *lim, pl_msg *m)
{
    pl_error err;
    int rc = parse_lim(text, lim, m, &err);
    if (rc != PL_OK)
        fail_msg("rc %d (%s at %zu), want PL_OK", rc, err.reason ? err.reason : "-", err.offset);
}

/* Offset in the wire buffer of the nth occurrence of needle (wire bytes). */
static size_t wire_find(const char *needle, int nth)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= g_len; i++) {
        if (memcmp(g_buf + i, needle, n) == 0 && --nth == 0)
            return i;
    }
    fail_msg("\"%s\" not found", needle);
    return 0;
}

/* PL_ELIMIT with a reason; with a needle, the offset within [dlo, dhi] of its
 * nth occurrence, without one anywhere in the input. */
static void elimit_at(const char *text, const pl_msg_limits *lim, const char *needle, int nth,
                      size_t dlo, size_t dhi)
{
    pl_msg m;
    pl_error err;
    int rc = parse_lim(text, lim, &m, &err);
    if (rc != PL_ELIMIT)
        fail_msg("rc %d (%s at %zu), want PL_ELIMIT", rc, err.reason ? err.reason : "-",
                 err.offset);
    assert_int_equal(err.code, PL_ELIMIT);
    assert_non_null(err.reason);
    if (needle) {
        size_t at = wire_find(needle, nth);
        if (err.offset < at + dlo || err.offset > at + dhi)
            fail_msg("offset %zu (%s), want %zu..%zu", err.offset, err.reason, at + dlo, at + dhi);
    } else {
        assert_true(err.offset <= g_len);
    }
}

static int teardown(void **state)
{
    (void)state;
    tu_free_all();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(g_sb.p);
    g_sb.p = NULL;
    return 0;
}

/* ------------------------------------------------------------------ defaults */

static void check_defaults(const pl_msg_limits *l)
{
    assert_int_equal(l->max_msg_size, PL_MSG_DEFAULT_MAX_SIZE);
    assert_int_equal(l->max_headers, PL_MSG_DEFAULT_MAX_HEADERS);
    assert_int_equal(l->max_line, PL_MSG_DEFAULT_MAX_LINE);
    assert_int_equal(l->max_vias, PL_MSG_DEFAULT_MAX_VIAS);
    assert_int_equal(l->max_params, PL_MSG_DEFAULT_MAX_PARAMS);
    assert_int_equal(l->max_values, PL_MSG_DEFAULT_MAX_VALUES);
}

static void test_default_values(void **state)
{
    (void)state;
    /* the values msg.h documents */
    assert_int_equal(PL_MSG_DEFAULT_MAX_SIZE, 65535);
    assert_int_equal(PL_MSG_DEFAULT_MAX_HEADERS, 256);
    assert_int_equal(PL_MSG_DEFAULT_MAX_LINE, 8192);
    assert_int_equal(PL_MSG_DEFAULT_MAX_VIAS, 64);
    assert_int_equal(PL_MSG_DEFAULT_MAX_PARAMS, 64);
    assert_int_equal(PL_MSG_DEFAULT_MAX_VALUES, 256);

    pl_msg m;
    pl_msg_limits zero;
    memset(&zero, 0, sizeof(zero));
    ok_lim(RL BASE "\n", &zero, &m);
    check_defaults(&m.limits);

    /* no limits at all, and no options at all */
    ok_lim(RL BASE "\n", NULL, &m);
    check_defaults(&m.limits);
    pl_error err = {0, 0, NULL};
    assert_int_equal(tu_parse(RL BASE "\n", &m, &err), PL_OK);
    check_defaults(&m.limits);

    /* one field set, the others zero: only that one differs */
    pl_msg_limits one;
    memset(&one, 0, sizeof(one));
    one.max_vias = 3;
    ok_lim(RL BASE "\n", &one, &m);
    assert_int_equal(m.limits.max_vias, 3);
    assert_int_equal(m.limits.max_msg_size, PL_MSG_DEFAULT_MAX_SIZE);
    assert_int_equal(m.limits.max_headers, PL_MSG_DEFAULT_MAX_HEADERS);
    assert_int_equal(m.limits.max_line, PL_MSG_DEFAULT_MAX_LINE);
    assert_int_equal(m.limits.max_params, PL_MSG_DEFAULT_MAX_PARAMS);
    assert_int_equal(m.limits.max_values, PL_MSG_DEFAULT_MAX_VALUES);

    /* the caller's struct is not written to */
    assert_int_equal(zero.max_msg_size, 0);
    assert_int_equal(zero.max_headers, 0);
    assert_int_equal(one.max_line, 0);
}

/* ------------------------------------------------------------------ max_msg_size */

/* A datagram without Content-Length whose message is exactly n bytes. */
static const char *msg_of_size_nocl(size_t n)
{
    sb_reset();
    sb_add(RL BASE "\n");
    size_t h = wire_len(g_sb.p);
    assert_true(n >= h);
    sb_rep('x', n - h);
    assert_int_equal(wire_len(g_sb.p), n);
    return g_sb.p;
}

/* The same with a Content-Length naming the body exactly. */
static const char *msg_of_size_cl(size_t n)
{
    size_t body = 0;
    for (int iter = 0; iter < 8; iter++) {
        char hdr[64];
        snprintf(hdr, sizeof(hdr), "Content-Length: %zu\n\n", body);
        size_t h = wire_len(RL BASE) + wire_len(hdr);
        assert_true(n >= h);
        if (h + body == n)
            break;
        body = n - h;
    }
    sb_reset();
    sb_add(RL BASE);
    sb_fmt("Content-Length: %zu\n\n", body);
    sb_rep('y', body);
    assert_int_equal(wire_len(g_sb.p), n);
    return g_sb.p;
}

static void size_cases(const pl_msg_limits *lim, size_t n)
{
    pl_msg m;
    ok_lim(msg_of_size_nocl(n), lim, &m);
    assert_int_equal(m.len, n);
    elimit_at(msg_of_size_nocl(n + 1), lim, NULL, 0, 0, 0);
    elimit_at(msg_of_size_nocl(2 * n), lim, NULL, 0, 0, 0);

    ok_lim(msg_of_size_cl(n), lim, &m);
    assert_int_equal(m.len, n);
    assert_true(m.has_content_length);
    elimit_at(msg_of_size_cl(n + 1), lim, NULL, 0, 0, 0);
    elimit_at(msg_of_size_cl(2 * n), lim, NULL, 0, 0, 0);
}

static void test_max_msg_size_custom(void **state)
{
    (void)state;
    pl_msg_limits lim = {.max_msg_size = 1000};
    size_cases(&lim, 1000);
}

static void test_max_msg_size_default(void **state)
{
    (void)state;
    size_cases(NULL, PL_MSG_DEFAULT_MAX_SIZE);
}

/* CRLFs before the start line and datagram bytes after the body are not the message. */
static void test_max_msg_size_excludes_skipped_and_trailing(void **state)
{
    (void)state;
    pl_msg_limits lim = {.max_msg_size = 1000};
    pl_msg m;
    const char *msg = msg_of_size_cl(1000);
    char *copy = tu_dup(msg, strlen(msg) + 1);
    sb_reset();
    sb_add("\n\n");
    sb_add(copy);
    sb_add("trailing bytes");
    ok_lim(g_sb.p, &lim, &m);
    assert_int_equal(m.skipped, 4);
    assert_int_equal(m.len, 1000);
    assert_int_equal(m.trailing, strlen("trailing bytes"));
}

/* Content-Length is checked against max_msg_size, whatever its size_t width. */
static void test_max_msg_size_above_4g(void **state)
{
    (void)state;
    if (sizeof(size_t) <= 4)
        skip();
    pl_msg_limits lim = {0};
    lim.max_msg_size = (size_t)UINT32_MAX + 1u + 1000u;
    pl_msg m;
    ok_lim(msg_of_size_cl(3000), &lim, &m);
    assert_int_equal(m.content_length, m.body.len);
    assert_true(m.body.len > 1000);
}

/* ------------------------------------------------------------------ max_headers */

static const char *msg_with_headers(unsigned n, bool folded)
{
    sb_reset();
    sb_add(RL);
    for (unsigned i = 1; i <= n; i++) {
        if (folded)
            sb_fmt("X-H%u: part one\n  part two\n", i);
        else
            sb_fmt("X-H%u: v\n", i);
    }
    sb_add("\n");
    return g_sb.p;
}

static void headers_cases(const pl_msg_limits *lim, unsigned n)
{
    pl_msg m;
    ok_lim(msg_with_headers(n, false), lim, &m);
    assert_int_equal(m.hdr_count, n);
    ok_lim(msg_with_headers(n, true), lim, &m);
    assert_int_equal(m.hdr_count, n);
    char needle[32];
    snprintf(needle, sizeof(needle), "\r\nX-H%u:", n + 1);
    elimit_at(msg_with_headers(n + 1, false), lim, needle, 1, 2, 2);
    elimit_at(msg_with_headers(n + 1, true), lim, needle, 1, 2, 2);
    elimit_at(msg_with_headers(2 * n, false), lim, needle, 1, 2, 2);
}

static void test_max_headers_custom(void **state)
{
    (void)state;
    pl_msg_limits lim = {.max_headers = 10};
    headers_cases(&lim, 10);
    pl_msg_limits one = {.max_headers = 1};
    headers_cases(&one, 1);
}

static void test_max_headers_default(void **state)
{
    (void)state;
    headers_cases(NULL, PL_MSG_DEFAULT_MAX_HEADERS);
}

/* ------------------------------------------------------------------ max_line */

/* A message with one "X-Pad" field of exactly n bytes (CRLF excluded); with
 * fold, a fold ("\r\n ", three bytes) sits in its middle. */
static const char *msg_with_line(size_t n, bool fold)
{
    sb_reset();
    sb_add(RL BASE);
    size_t start = g_sb.len;
    sb_add("X-Pad: ");
    size_t used = 7;
    if (fold) {
        sb_rep('a', 20);
        sb_add("\n ");
        used += 20 + 3; /* "\n" becomes "\r\n" */
    }
    assert_true(n > used);
    sb_rep('b', n - used);
    assert_int_equal(wire_len(g_sb.p + start), n);
    sb_add("\n\n");
    return g_sb.p;
}

static void line_cases(const pl_msg_limits *lim, size_t n)
{
    pl_msg m;
    for (int fold = 0; fold <= 1; fold++) {
        ok_lim(msg_with_line(n, fold), lim, &m);
        int32_t i = pl_msg_hdr_find_name(&m, PL_STR_LIT("X-Pad"), 0);
        assert_true(i >= 0);
        assert_int_equal(m.hdrs[i].line.len, n + 2);
        elimit_at(msg_with_line(n + 1, fold), lim, "X-Pad:", 1, 0, 0);
        elimit_at(msg_with_line(2 * n, fold), lim, "X-Pad:", 1, 0, 0);
    }
}

static void test_max_line_custom(void **state)
{
    (void)state;
    pl_msg_limits lim = {.max_line = 100};
    line_cases(&lim, 100);
}

static void test_max_line_default(void **state)
{
    (void)state;
    line_cases(NULL, PL_MSG_DEFAULT_MAX_LINE);
}

/* An eager header at the limit is a header like any other. */
static void test_max_line_eager_header(void **state)
{
    (void)state;
    pl_msg_limits lim = {.max_line = 100};
    pl_msg m;
    sb_reset();
    sb_add(RL VIA FROM TO CSEQ "Call-ID: ");
    sb_rep('c', 100 - 9);
    sb_add("\n\n");
    ok_lim(g_sb.p, &lim, &m);
    assert_int_equal(m.call_id.len, 91);
    sb_reset();
    sb_add(RL VIA FROM TO CSEQ "Call-ID: ");
    sb_rep('c', 100 - 9 + 1);
    sb_add("\n\n");
    elimit_at(g_sb.p, &lim, "Call-ID:", 1, 0, 0);
}

/* The start line is limited by max_line too; at exactly max_line bytes
 * (CRLF excluded, as for a header field) it passes, one more does not. */
static void test_max_line_start_line(void **state)
{
    (void)state;
    pl_msg_limits lim = {.max_line = 100};
    pl_msg m;
    /* "OPTIONS sip:" + user + "@example.com SIP/2.0" */
    size_t fixed = strlen("OPTIONS sip:@example.com SIP/2.0");
    for (size_t extra = 0; extra <= 1; extra++) {
        sb_reset();
        sb_add("OPTIONS sip:");
        sb_rep('u', 100 - fixed + extra);
        sb_add("@example.com SIP/2.0\n" BASE "\n");
        if (extra == 0) {
            ok_lim(g_sb.p, &lim, &m);
            assert_int_equal(m.start_line.len, 100);
        } else {
            elimit_at(g_sb.p, &lim, "OPTIONS", 1, 0, 0);
        }
    }
}

/* ------------------------------------------------------------------ max_vias */

/* n Via values: per_line values to a line, the first line "Via", the next "v". */
static const char *msg_with_vias(unsigned n, unsigned per_line)
{
    sb_reset();
    sb_add(RL);
    for (unsigned i = 1; i <= n; i++) {
        if ((i - 1) % per_line == 0)
            sb_add(i == 1 ? "Via: " : "v: ");
        else
            sb_add(", ");
        sb_fmt("SIP/2.0/UDP h%u.example.com;branch=z9hG4bK%u", i, i);
        if (i % per_line == 0 || i == n)
            sb_add("\n");
    }
    sb_add(FROM TO CID CSEQ "\n");
    return g_sb.p;
}

static void vias_cases(const pl_msg_limits *lim, unsigned n)
{
    pl_msg m;
    const unsigned layouts[] = {1, 2, n};
    for (size_t k = 0; k < 3; k++) {
        unsigned per = layouts[k];
        ok_lim(msg_with_vias(n, per), lim, &m);
        assert_int_equal(m.via_count, n);
        unsigned cnt = 0;
        for (const pl_via *v = m.via; v; v = v->next)
            cnt++;
        assert_int_equal(cnt, n);
        char needle[32];
        snprintf(needle, sizeof(needle), "SIP/2.0/UDP h%u.", n + 1);
        elimit_at(msg_with_vias(n + 1, per), lim, needle, 1, 0, 0);
        elimit_at(msg_with_vias(n + 1, n + 1), lim, needle, 1, 0, 0);
        elimit_at(msg_with_vias(2 * n, per), lim, needle, 1, 0, 0);
    }
}

static void test_max_vias_custom(void **state)
{
    (void)state;
    pl_msg_limits lim = {.max_vias = 4};
    vias_cases(&lim, 4);
}

static void test_max_vias_default(void **state)
{
    (void)state;
    vias_cases(NULL, PL_MSG_DEFAULT_MAX_VIAS);
}

/* ------------------------------------------------------------------ max_params */

/* A Via with n header parameters (the branch being the first). */
static const char *msg_via_params(unsigned n)
{
    sb_reset();
    sb_add(RL "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK1");
    for (unsigned i = 2; i <= n; i++)
        sb_fmt(";p%u=%u", i, i);
    sb_add("\n" FROM TO CID CSEQ "\n");
    return g_sb.p;
}

/* A Contact (the second of two in one list) with n header parameters. */
static const char *msg_contact_params(unsigned n)
{
    sb_reset();
    sb_add(RL BASE "Contact: <sip:first@example.com>, <sip:c@example.com;uri1;uri2>");
    for (unsigned i = 1; i <= n; i++)
        sb_fmt(";p%u", i);
    sb_add("\n\n");
    return g_sb.p;
}

/* A From with n header parameters (the tag being the first). */
static const char *msg_from_params(unsigned n)
{
    sb_reset();
    sb_add(RL VIA "From: <sip:alice@atlanta.com>;tag=1");
    for (unsigned i = 2; i <= n; i++)
        sb_fmt(";p%u", i);
    sb_add("\n" TO CID CSEQ "\n");
    return g_sb.p;
}

static void params_cases(const pl_msg_limits *lim, unsigned n)
{
    pl_msg m;
    char needle[32];
    snprintf(needle, sizeof(needle), ";p%u", n + 1);

    ok_lim(msg_via_params(n), lim, &m);
    assert_str(m.via->branch, "z9hG4bK1");
    elimit_at(msg_via_params(n + 1), lim, needle, 1, 0, 1);
    elimit_at(msg_via_params(2 * n), lim, needle, 1, 0, 1);

    ok_lim(msg_contact_params(n), lim, &m);
    assert_int_equal(m.contact_count, 2);
    elimit_at(msg_contact_params(n + 1), lim, needle, 1, 0, 1);
    elimit_at(msg_contact_params(2 * n), lim, needle, 1, 0, 1);

    ok_lim(msg_from_params(n), lim, &m);
    assert_str(m.from->tag, "1");
    elimit_at(msg_from_params(n + 1), lim, needle, 1, 0, 1);
    elimit_at(msg_from_params(2 * n), lim, needle, 1, 0, 1);
}

static void test_max_params_custom(void **state)
{
    (void)state;
    pl_msg_limits lim = {.max_params = 3};
    params_cases(&lim, 3);
    pl_msg_limits one = {.max_params = 1};
    params_cases(&one, 1);
}

static void test_max_params_default(void **state)
{
    (void)state;
    params_cases(NULL, PL_MSG_DEFAULT_MAX_PARAMS);
}

/* Content-Type is an eager header with parameters on one value too. */
static void test_max_params_content_type(void **state)
{
    (void)state;
    pl_msg_limits lim = {.max_params = 3};
    pl_msg m;
    ok_lim(RL BASE "Content-Type: text/plain;a=1;b=2;c=3\n\n", &lim, &m);
    assert_true(m.has_content_type);
    elimit_at(RL BASE "Content-Type: text/plain;a=1;b=2;c=3;d=4\n\n", &lim, ";d=4", 1, 0, 1);
}

/* ------------------------------------------------------------------ max_values */

/* n values of a list header: two to a line, alternating long and short names. */
static const char *msg_with_values(const char *lname, const char *sname, unsigned n)
{
    sb_reset();
    sb_add(RL BASE);
    for (unsigned i = 1; i <= n; i++) {
        if (i % 2 == 1)
            sb_fmt("%s: ", (i % 4 == 1 || !sname) ? lname : sname);
        else
            sb_add(", ");
        sb_fmt("<sip:v%u.example.com;lr>", i);
        if (i % 2 == 0 || i == n)
            sb_add("\n");
    }
    sb_add("\n");
    return g_sb.p;
}

static void values_cases(const pl_msg_limits *lim, unsigned n)
{
    pl_msg m;
    char needle[32];
    snprintf(needle, sizeof(needle), "<sip:v%u.", n + 1);

    ok_lim(msg_with_values("Contact", "m", n), lim, &m);
    assert_int_equal(m.contact_count, n);
    elimit_at(msg_with_values("Contact", "m", n + 1), lim, needle, 1, 0, 0);
    elimit_at(msg_with_values("Contact", "m", 2 * n), lim, needle, 1, 0, 0);

    ok_lim(msg_with_values("Route", NULL, n), lim, &m);
    assert_int_equal(m.route_count, n);
    elimit_at(msg_with_values("Route", NULL, n + 1), lim, needle, 1, 0, 0);
    elimit_at(msg_with_values("Route", NULL, 2 * n), lim, needle, 1, 0, 0);

    ok_lim(msg_with_values("Record-Route", NULL, n), lim, &m);
    assert_int_equal(m.record_route_count, n);
    elimit_at(msg_with_values("Record-Route", NULL, n + 1), lim, needle, 1, 0, 0);
    elimit_at(msg_with_values("Record-Route", NULL, 2 * n), lim, needle, 1, 0, 0);
}

static void test_max_values_custom(void **state)
{
    (void)state;
    pl_msg_limits lim = {.max_values = 4};
    values_cases(&lim, 4);
    pl_msg_limits one = {.max_values = 1};
    values_cases(&one, 1);
}

static void test_max_values_default(void **state)
{
    (void)state;
    values_cases(NULL, PL_MSG_DEFAULT_MAX_VALUES);
}

/* Each kind has its own count: n Contacts, n Routes and n Record-Routes together pass. */
static void test_max_values_per_kind(void **state)
{
    (void)state;
    pl_msg_limits lim = {.max_values = 2};
    pl_msg m;
    ok_lim(RL BASE "Contact: <sip:a@example.com>, <sip:b@example.com>\n"
                   "Route: <sip:r1.example.com;lr>\nRoute: <sip:r2.example.com;lr>\n"
                   "Record-Route: <sip:rr1.example.com;lr>, <sip:rr2.example.com;lr>\n\n",
           &lim, &m);
    assert_int_equal(m.contact_count, 2);
    assert_int_equal(m.route_count, 2);
    assert_int_equal(m.record_route_count, 2);
    elimit_at(RL BASE "Contact: <sip:a@example.com>, <sip:b@example.com>\n"
                      "Route: <sip:r1.example.com;lr>\nRoute: <sip:r2.example.com;lr>\n"
                      "m: <sip:c@example.com>\n\n",
              &lim, "<sip:c@", 1, 0, 0);
}

#define T(f) cmocka_unit_test_teardown(f, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_default_values),        T(test_max_msg_size_custom),
        T(test_max_msg_size_default),  T(test_max_msg_size_excludes_skipped_and_trailing),
        T(test_max_msg_size_above_4g), T(test_max_headers_custom),
        T(test_max_headers_default),   T(test_max_line_custom),
        T(test_max_line_default),      T(test_max_line_eager_header),
        T(test_max_line_start_line),   T(test_max_vias_custom),
        T(test_max_vias_default),      T(test_max_params_custom),
        T(test_max_params_default),    T(test_max_params_content_type),
        T(test_max_values_custom),     T(test_max_values_default),
        T(test_max_values_per_kind),
    };
    return cmocka_run_group_tests(tests, NULL, group_teardown);
}
