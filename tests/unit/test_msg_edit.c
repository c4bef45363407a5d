/*
 * test_msg_edit.c - printing, edits and builders of the message layer.
 *
 * - print(parse(x)) == x byte for byte (every RFC 4475 message that parses,
 *   and hand-written messages with folds, compact forms and odd whitespace);
 *   pl_msg_print_len() is exact and a short buffer is refused untouched.
 * - Every edit, followed by print and a re-parse of the printed bytes in a
 *   second arena: the re-parsed message has the expected headers and the
 *   edited message's typed view equals the re-parsed one. Invalid edits are
 *   refused with PL_EINVAL and change nothing.
 * - pl_msg_build_request() and pl_msg_build_response() (RFC 3261 8.2.6).
 * - pl_status_reason(), pl_method_from_str(), pl_method_name().
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ helpers */

/* The second arena, for re-parsing printed messages. */
static char arena2_block[65536];
static pl_arena arena2;

static int setup(void **state)
{
    (void)state;
    pl_arena_init(&arena2, arena2_block, sizeof(arena2_block), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pl_arena_free(&arena2);
    tu_free_all();
    return 0;
}

static pl_str S(const char *c)
{
    return pl_str_c(c);
}

#define assert_pstr_eq(a, b)                                                                       \
    do {                                                                                           \
        pl_str _a = (a), _b = (b);                                                                 \
        if (!pl_str_eq(_a, _b))                                                                    \
            fail_msg("%s != %s: \"%.*s\" vs \"%.*s\"", #a, #b, (int)_a.len, _a.p ? _a.p : "",      \
                     (int)_b.len, _b.p ? _b.p : "");                                               \
    } while (0)

/* A zeroed heap block of exactly n bytes, freed by tu_free_all(). */
static char *alloc_buf(size_t n)
{
    char *tmp = calloc(1, n ? n : 1);
    assert_non_null(tmp);
    char *b = tu_dup(tmp, n);
    free(tmp);
    return b;
}

/* Print msg into an exact-size heap block; checks pl_msg_print_len(). */
static char *print_msg(const pl_msg *m, size_t *n)
{
    size_t len = pl_msg_print_len(m);
    char *out = alloc_buf(len ? len : 1);
    size_t written = (size_t)-1;
    assert_int_equal(pl_msg_print(m, out, len, &written), PL_OK);
    assert_int_equal(written, len);
    *n = len;
    return out;
}

static bool bytes_eq(const char *a, size_t an, const char *b, size_t bn)
{
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

#define assert_bytes_eq(a, an, b, bn)                                                              \
    do {                                                                                           \
        if (!bytes_eq((a), (an), (b), (bn)))                                                       \
            fail_msg("bytes differ (%zu vs %zu):\n---\n%.*s\n---\n%.*s\n---", (size_t)(an),        \
                     (size_t)(bn), (int)(an), (a), (int)(bn), (b));                                \
    } while (0)

static void assert_nameaddr_eq(const pl_nameaddr *a, const pl_nameaddr *b)
{
    if (!a || !b) {
        assert_true(a == b);
        return;
    }
    assert_pstr_eq(a->raw, b->raw);
    assert_pstr_eq(a->display, b->display);
    assert_pstr_eq(a->uri_raw, b->uri_raw);
    assert_pstr_eq(a->uri.host, b->uri.host);
    assert_pstr_eq(a->uri.user, b->uri.user);
    assert_int_equal(a->angle, b->angle);
    assert_int_equal(a->has_tag, b->has_tag);
    assert_pstr_eq(a->tag, b->tag);
    assert_pstr_eq(a->params, b->params);
}

static void assert_addr_list_eq(const pl_nameaddr *a, uint32_t an, const pl_nameaddr *b,
                                uint32_t bn)
{
    assert_int_equal(an, bn);
    uint32_t n = 0;
    for (; a && b; a = a->next, b = b->next, n++)
        assert_nameaddr_eq(a, b);
    assert_null(a);
    assert_null(b);
    assert_int_equal(n, an);
}

/* The typed view and header list of a equal those of b. */
static void assert_view_eq(const pl_msg *a, const pl_msg *b)
{
    assert_int_equal(a->is_request, b->is_request);
    assert_pstr_eq(a->start_line, b->start_line);
    assert_pstr_eq(a->version, b->version);
    if (a->is_request) {
        assert_pstr_eq(a->method, b->method);
        assert_int_equal(a->method_id, b->method_id);
        assert_pstr_eq(a->ruri_raw, b->ruri_raw);
        assert_int_equal(a->ruri.scheme, b->ruri.scheme);
        assert_pstr_eq(a->ruri.user, b->ruri.user);
        assert_pstr_eq(a->ruri.host, b->ruri.host);
        assert_int_equal(a->ruri.port, b->ruri.port);
        assert_pstr_eq(a->ruri.params, b->ruri.params);
    } else {
        assert_int_equal(a->status, b->status);
        assert_pstr_eq(a->reason, b->reason);
    }
    assert_int_equal(a->hdr_count, b->hdr_count);
    for (uint32_t i = 0; i < a->hdr_count; i++) {
        assert_pstr_eq(a->hdrs[i].name, b->hdrs[i].name);
        assert_pstr_eq(a->hdrs[i].value, b->hdrs[i].value);
        assert_pstr_eq(a->hdrs[i].line, b->hdrs[i].line);
        assert_int_equal(a->hdrs[i].id, b->hdrs[i].id);
    }
    assert_int_equal(a->via_count, b->via_count);
    const pl_via *va = a->via, *vb = b->via;
    uint32_t nv = 0;
    for (; va && vb; va = va->next, vb = vb->next, nv++) {
        assert_pstr_eq(va->raw, vb->raw);
        assert_pstr_eq(va->transport, vb->transport);
        assert_pstr_eq(va->host, vb->host);
        assert_int_equal(va->port, vb->port);
        assert_int_equal(va->has_branch, vb->has_branch);
        assert_pstr_eq(va->branch, vb->branch);
        assert_pstr_eq(va->received, vb->received);
    }
    assert_null(va);
    assert_null(vb);
    assert_int_equal(nv, a->via_count);
    assert_nameaddr_eq(a->from, b->from);
    assert_nameaddr_eq(a->to, b->to);
    assert_pstr_eq(a->call_id, b->call_id);
    assert_int_equal(a->has_cseq, b->has_cseq);
    assert_int_equal(a->cseq.num, b->cseq.num);
    assert_pstr_eq(a->cseq.method, b->cseq.method);
    assert_int_equal(a->cseq.method_id, b->cseq.method_id);
    assert_int_equal(a->has_max_forwards, b->has_max_forwards);
    assert_int_equal(a->max_forwards, b->max_forwards);
    assert_int_equal(a->contact_star, b->contact_star);
    assert_addr_list_eq(a->contact, a->contact_count, b->contact, b->contact_count);
    assert_addr_list_eq(a->route, a->route_count, b->route, b->route_count);
    assert_addr_list_eq(a->record_route, a->record_route_count, b->record_route,
                        b->record_route_count);
    assert_int_equal(a->has_content_length, b->has_content_length);
    assert_int_equal(a->content_length, b->content_length);
    assert_int_equal(a->has_content_type, b->has_content_type);
    assert_pstr_eq(a->content_type.type, b->content_type.type);
    assert_pstr_eq(a->content_type.subtype, b->content_type.subtype);
    assert_pstr_eq(a->content_type.params, b->content_type.params);
    assert_int_equal(a->has_expires, b->has_expires);
    assert_int_equal(a->expires, b->expires);
    assert_pstr_eq(a->body, b->body);
}

/*
 * Print m, re-parse the printed bytes into *re (second arena; stream framing
 * when the message has a Content-Length, so that it must be exact), and
 * check that m's view equals the re-parsed one. Returns the printed bytes.
 */
static char *print_reparse(const pl_msg *m, pl_msg *re, size_t *n)
{
    char *out = print_msg(m, n);
    pl_parse_opts opts = {m->has_content_length ? PL_FRAMING_STREAM : PL_FRAMING_DGRAM, NULL};
    pl_error err = {0};
    int rc = pl_msg_parse(re, out, *n, &arena2, &opts, &err);
    if (rc != PL_OK)
        fail_msg("re-parse failed (%d: %s at %zu):\n%.*s", rc, err.reason ? err.reason : "",
                 err.offset, (int)*n, out);
    assert_int_equal(re->len, *n);
    assert_view_eq(m, re);
    return out;
}

/* Index of the first header named name (exact bytes), or -1. */
static int32_t hdr_index(const pl_msg *m, const char *name)
{
    for (uint32_t i = 0; i < m->hdr_count; i++)
        if (pl_str_eq(m->hdrs[i].name, S(name)))
            return (int32_t)i;
    return -1;
}

static uint32_t count_id(const pl_msg *m, pl_hdr_id id)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < m->hdr_count; i++)
        n += m->hdrs[i].id == id;
    return n;
}

/* The position of needle in hay, or -1. */
static long find_bytes(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return (long)i;
    return -1;
}

static void parse_ok(const char *text, pl_msg *m)
{
    pl_error err = {0};
    int rc = tu_parse(text, m, &err);
    if (rc != PL_OK)
        fail_msg("parse failed (%d: %s at %zu):\n%s", rc, err.reason ? err.reason : "", err.offset,
                 text);
}

/* ---------------------------------------------------- RFC 4475 file list */

typedef struct tsv_row {
    char file[64];
    char verdict[32];
} tsv_row;

static size_t read_expected(tsv_row *rows, size_t cap)
{
    size_t len;
    char *t = tu_read_file("rfc4475/expected.tsv", &len);
    size_t n = 0;
    const char *p = t, *end = t + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (le > p && *p != '#') {
            const char *tab1 = memchr(p, '\t', (size_t)(le - p));
            assert_non_null(tab1);
            const char *tab2 = memchr(tab1 + 1, '\t', (size_t)(le - tab1 - 1));
            assert_non_null(tab2);
            assert_true(n < cap);
            snprintf(rows[n].file, sizeof(rows[n].file), "%.*s", (int)(tab1 - p), p);
            snprintf(rows[n].verdict, sizeof(rows[n].verdict), "%.*s", (int)(tab2 - tab1 - 1),
                     tab1 + 1);
            n++;
        }
        p = le + 1;
    }
    return n;
}

/* ------------------------------------------------------------- printing */

static void test_print_rfc4475(void **state)
{
    (void)state;
    tsv_row rows[64];
    size_t nrows = read_expected(rows, 64);
    assert_int_equal(nrows, 49);
    size_t parsed = 0, must_parse = 0;
    for (size_t r = 0; r < nrows; r++) {
        char path[128];
        snprintf(path, sizeof(path), "rfc4475/%.100s", rows[r].file);
        size_t len;
        char *buf = tu_read_file(path, &len);
        bool want = strcmp(rows[r].verdict, "reject") != 0;
        must_parse += want;
        pl_msg m;
        pl_error err = {0};
        int rc = pl_msg_parse(&m, buf, len, tu_arena(), NULL, &err);
        if (want && rc != PL_OK)
            fail_msg("%s: expected to parse, got %d (%s)", rows[r].file, rc, err.reason);
        if (rc != PL_OK)
            continue;
        parsed++;
        /* msg.buf skips leading CRLFs; msg.len excludes ignored trailing bytes. */
        assert_ptr_equal(m.buf, buf + m.skipped);
        assert_int_equal(m.skipped + m.len + m.trailing, len);
        size_t n;
        char *out = print_msg(&m, &n);
        if (!bytes_eq(out, n, m.buf, m.len))
            fail_msg("%s: print differs from the input", rows[r].file);
        pl_arena_reset(tu_arena());
    }
    assert_true(parsed >= must_parse);
    assert_int_equal(must_parse, 33); /* 24 parse + 9 parse-then-reject */
}

static const char *const odd_messages[] = {
    /* compact forms, folds, whitespace around the colon, tabs */
    "INVITE sip:bob@example.com SIP/2.0\n"
    "v: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\n"
    "Via  :  SIP/2.0/TCP b.example.com ;branch=z9hG4bK2 ,SIP/2.0/UDP c.example.com\n"
    "f: <sip:a@example.com>\n"
    "  ;tag=x1\n"
    "t:\tsip:bob@example.com\n"
    "i: abc@def\n"
    "CSeq: 1\n"
    "\t INVITE\n"
    "m: <sip:a@192.0.2.4>\n"
    "Max-Forwards:70\n"
    "Subject:\n"
    "X-Odd:    lots   of   space\n"
    "c: text/plain\n"
    "l: 4\n"
    "\n"
    "body",
    /* a response with an odd-case name, a tab in CSeq and an empty header */
    "SIP/2.0 183 Session Progress\n"
    "Via:SIP/2.0/UDP h.example.com;branch=z9hG4bKx;received=192.0.2.1\n"
    "fROM: <sip:a@example.com>;tag=1\n"
    "To: <sip:b@example.com>;tag=2\n"
    "cAlL-iD: zz\n"
    "CSeq:\t2\tINVITE\n"
    "X-Empty:\n"
    "Content-Length: 0\n"
    "\n",
    /* a datagram without Content-Length: the body is the rest */
    "MESSAGE sip:b@example.com SIP/2.0\n"
    "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bKm\n"
    "From: <sip:a@example.com>;tag=1\n"
    "To: <sip:b@example.com>\n"
    "Call-ID: m1\n"
    "CSeq: 3 MESSAGE\n"
    "Subject: caf\xc3\xa9 \xe2\x98\x95\n"
    "Content-Type: text/plain;charset=utf-8\n"
    "\n"
    "no length\r\nsecond line",
    /* several folds in one value, an empty Route-less Record-Route list */
    "OPTIONS sip:b@example.com SIP/2.0\n"
    "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bKo,\n"
    "     SIP/2.0/UDP g.example.com;branch=z9hG4bKp\n"
    "Record-Route: <sip:p1.example.com;lr>,\n"
    "\t<sip:p2.example.com;lr>\n"
    "From: \"A \\\"quoted\\\" name\"\n"
    "   <sip:a@example.com>;tag=1\n"
    "To: <sip:b@example.com>\n"
    "Call-ID: o1\n"
    "CSeq: 4 OPTIONS\n"
    "Content-Length:    0   \n"
    "\n",
};

static void test_print_odd(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(odd_messages) / sizeof(odd_messages[0]); i++) {
        size_t len;
        char *buf = tu_crlf(odd_messages[i], &len);
        pl_msg m;
        pl_error err = {0};
        int rc = pl_msg_parse(&m, buf, len, tu_arena(), NULL, &err);
        if (rc != PL_OK)
            fail_msg("odd message %zu: %d (%s at %zu)", i, rc, err.reason, err.offset);
        assert_int_equal(m.skipped, 0);
        assert_int_equal(m.trailing, 0);
        size_t n;
        char *out = print_msg(&m, &n);
        assert_bytes_eq(out, n, buf, len);
        pl_msg re;
        print_reparse(&m, &re, &n);
    }
}

static void test_print_skipped_and_trailing(void **state)
{
    (void)state;
    const char *core = "OPTIONS sip:b@example.com SIP/2.0\r\n"
                       "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bKo\r\n"
                       "From: <sip:a@example.com>;tag=1\r\n"
                       "To: <sip:b@example.com>\r\n"
                       "Call-ID: o1\r\n"
                       "CSeq: 4 OPTIONS\r\n"
                       "Content-Length: 3\r\n"
                       "\r\n"
                       "abc";
    char text[1024];
    int k = snprintf(text, sizeof(text), "\r\n\r\n%sTRAILING", core);
    char *buf = tu_dup(text, (size_t)k);
    pl_msg m;
    assert_int_equal(pl_msg_parse(&m, buf, (size_t)k, tu_arena(), NULL, NULL), PL_OK);
    assert_int_equal(m.skipped, 4);
    assert_int_equal(m.trailing, 8);
    assert_int_equal(m.len, strlen(core));
    size_t n;
    char *out = print_msg(&m, &n);
    assert_bytes_eq(out, n, core, strlen(core));
}

static void test_print_enospc(void **state)
{
    (void)state;
    size_t len;
    char *buf = tu_read_file("rfc4475/wsinv.dat", &len);
    pl_msg m;
    assert_int_equal(pl_msg_parse(&m, buf, len, tu_arena(), NULL, NULL), PL_OK);
    size_t need = pl_msg_print_len(&m);
    assert_int_equal(need, m.len);
    /* cap one short: refused, the canary after cap untouched. */
    char *out = alloc_buf(need + 1);
    memset(out, 0x5a, need + 1);
    size_t written = 12345;
    assert_int_equal(pl_msg_print(&m, out, need - 1, &written), PL_ENOSPC);
    for (size_t i = need - 1; i < need + 1; i++)
        assert_int_equal((unsigned char)out[i], 0x5a);
    /* cap 0 */
    assert_int_equal(pl_msg_print(&m, out, 0, &written), PL_ENOSPC);
    assert_int_equal((unsigned char)out[0], 0x5a);
    /* exact cap works and writes exactly need bytes */
    assert_int_equal(pl_msg_print(&m, out, need, &written), PL_OK);
    assert_int_equal(written, need);
    assert_int_equal((unsigned char)out[need], 0x5a);
    assert_bytes_eq(out, need, m.buf, m.len);

    /* the same after an edit (arena lines): the length stays exact */
    assert_int_equal(pl_msg_hdr_append(&m, S("X-Extra"), S("1")), PL_OK);
    need = pl_msg_print_len(&m);
    assert_int_equal(need, m.len + strlen("X-Extra: 1\r\n"));
    char *out2 = alloc_buf(need + 1);
    memset(out2, 0x5a, need + 1);
    assert_int_equal(pl_msg_print(&m, out2, need - 1, &written), PL_ENOSPC);
    assert_int_equal((unsigned char)out2[need - 1], 0x5a);
    assert_int_equal((unsigned char)out2[need], 0x5a);
    assert_int_equal(pl_msg_print(&m, out2, need, &written), PL_OK);
    assert_int_equal(written, need);
    assert_int_equal((unsigned char)out2[need], 0x5a);
}

/* ---------------------------------------------------------------- edits */

static const char base_req[] = "INVITE sip:bob@example.com SIP/2.0\n"
                               "Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1, SIP/2.0/UDP "
                               "p2.example.com;branch=z9hG4bKp2\n"
                               "Via: SIP/2.0/UDP ua.example.com;branch=z9hG4bKua\n"
                               "Route: <sip:r1.example.com;lr>, <sip:r2.example.com;lr>\n"
                               "Route: <sip:r3.example.com;lr>\n"
                               "Max-Forwards: 70\n"
                               "From: <sip:alice@example.com>;tag=a1\n"
                               "To: <sip:bob@example.com>\n"
                               "Call-ID: c1@example.com\n"
                               "CSeq: 1 INVITE\n"
                               "Subject: hi\n"
                               "Content-Type: text/plain\n"
                               "Content-Length: 5\n"
                               "\n"
                               "hello";

/* Header indexes in base_req. */
enum {
    B_VIA1,
    B_VIA2,
    B_ROUTE1,
    B_ROUTE2,
    B_MF,
    B_FROM,
    B_TO,
    B_CALLID,
    B_CSEQ,
    B_SUBJ,
    B_CT,
    B_CL,
    B_COUNT
};

static void parse_base(pl_msg *m)
{
    parse_ok(base_req, m);
    assert_int_equal(m->hdr_count, B_COUNT);
    assert_int_equal(m->via_count, 3);
    assert_int_equal(m->route_count, 3);
}

static void test_hdr_append(void **state)
{
    (void)state;
    pl_msg m, re;
    size_t n;
    parse_base(&m);
    assert_int_equal(pl_msg_hdr_append(&m, S("X-A"), S("one two")), PL_OK);
    assert_int_equal(m.hdr_count, B_COUNT + 1);
    char *out = print_reparse(&m, &re, &n);
    assert_int_equal(re.hdr_count, B_COUNT + 1);
    assert_int_equal(hdr_index(&re, "X-A"), B_COUNT);
    assert_str(re.hdrs[B_COUNT].value, "one two");
    assert_true(find_bytes(out, n, "Content-Length: 5\r\nX-A: one two\r\n\r\nhello") >= 0);

    /* a known list header: Contact joins the view */
    assert_int_equal(pl_msg_hdr_append(&m, S("Contact"), S("<sip:alice@192.0.2.9>")), PL_OK);
    assert_int_equal(m.contact_count, 1);
    print_reparse(&m, &re, &n);
    assert_int_equal(re.contact_count, 1);
    assert_str(re.contact->uri.host, "192.0.2.9");

    /* a Via appended at the end is the last Via */
    assert_int_equal(
        pl_msg_hdr_append(&m, S("Via"), S("SIP/2.0/UDP last.example.com;branch=z9hG4bKl")), PL_OK);
    assert_int_equal(m.via_count, 4);
    print_reparse(&m, &re, &n);
    const pl_via *v = re.via;
    while (v->next)
        v = v->next;
    assert_str(v->host, "last.example.com");
    assert_str(re.via->branch, "z9hG4bKp1");

    /* Max-Forwards is single-instance, but the typed view of a second one is
     * the parser's business: after removing it, append a new one. */
    assert_int_equal(pl_msg_hdr_remove_id(&m, PL_HDR_MAX_FORWARDS), 1);
    assert_false(m.has_max_forwards);
    assert_int_equal(pl_msg_hdr_append(&m, S("Max-Forwards"), S("12")), PL_OK);
    assert_true(m.has_max_forwards);
    assert_int_equal(m.max_forwards, 12);
    print_reparse(&m, &re, &n);
    assert_int_equal(re.max_forwards, 12);
}

static void test_hdr_insert(void **state)
{
    (void)state;
    pl_msg m, re;
    size_t n;
    parse_base(&m);
    /* at 0 */
    assert_int_equal(pl_msg_hdr_insert(&m, 0, S("X-First"), S("0")), PL_OK);
    char *out = print_reparse(&m, &re, &n);
    assert_str(re.hdrs[0].name, "X-First");
    assert_str(re.hdrs[1].name, "Via");
    assert_true(find_bytes(out, n, "SIP/2.0\r\nX-First: 0\r\nVia: ") >= 0);
    assert_str(re.via->branch, "z9hG4bKp1");
    /* middle: a Via between the two Via fields keeps the order p1, p2, mid, ua */
    assert_int_equal(
        pl_msg_hdr_insert(&m, 2, S("Via"), S("SIP/2.0/TCP mid.example.com;branch=z9hG4bKmid")),
        PL_OK);
    assert_int_equal(m.via_count, 4);
    print_reparse(&m, &re, &n);
    assert_str(re.hdrs[2].name, "Via");
    const char *hosts[] = {"p1.example.com", "p2.example.com", "mid.example.com", "ua.example.com"};
    const pl_via *v = re.via;
    for (int i = 0; i < 4; i++, v = v->next) {
        assert_non_null(v);
        assert_str(v->host, hosts[i]);
    }
    assert_null(v);
    /* a Route at the very top becomes the first route */
    assert_int_equal(pl_msg_hdr_insert(&m, 0, S("Route"), S("<sip:r0.example.com;lr>")), PL_OK);
    assert_int_equal(m.route_count, 4);
    assert_str(m.route->uri.host, "r0.example.com");
    print_reparse(&m, &re, &n);
    assert_str(re.route->uri.host, "r0.example.com");
    assert_str(re.route->next->uri.host, "r1.example.com");
    /* middle of the plain headers */
    uint32_t mid = m.hdr_count / 2;
    assert_int_equal(pl_msg_hdr_insert(&m, mid, S("X-Mid"), S("m")), PL_OK);
    print_reparse(&m, &re, &n);
    assert_str(re.hdrs[mid].name, "X-Mid");
    assert_str(re.hdrs[mid].value, "m");
    /* end (pos == hdr_count appends) */
    uint32_t end = m.hdr_count;
    assert_int_equal(pl_msg_hdr_insert(&m, end, S("X-Last"), S("z")), PL_OK);
    out = print_reparse(&m, &re, &n);
    assert_int_equal(re.hdr_count, end + 1);
    assert_str(re.hdrs[end].name, "X-Last");
    assert_true(find_bytes(out, n, "X-Last: z\r\n\r\nhello") >= 0);
}

static void test_hdr_remove(void **state)
{
    (void)state;
    pl_msg m, re;
    size_t n;
    parse_base(&m);
    assert_int_equal(pl_msg_hdr_remove(&m, B_SUBJ), PL_OK);
    char *out = print_reparse(&m, &re, &n);
    assert_int_equal(re.hdr_count, B_COUNT - 1);
    assert_true(find_bytes(out, n, "Subject") < 0);
    assert_int_equal(pl_msg_hdr_find(&re, PL_HDR_SUBJECT, 0), -1);
    /* the first Route field (two values) */
    assert_int_equal(pl_msg_hdr_remove(&m, B_ROUTE1), PL_OK);
    assert_int_equal(m.route_count, 1);
    assert_str(m.route->uri.host, "r3.example.com");
    print_reparse(&m, &re, &n);
    assert_int_equal(re.route_count, 1);
    /* the first header (Via with two values) */
    assert_int_equal(pl_msg_hdr_remove(&m, 0), PL_OK);
    assert_int_equal(m.via_count, 1);
    assert_str(m.via->branch, "z9hG4bKua");
    print_reparse(&m, &re, &n);
    assert_str(re.via->branch, "z9hG4bKua");
    /* the last header (Content-Length): a datagram re-parse takes the rest */
    uint32_t last = m.hdr_count - 1;
    assert_int_equal(m.hdrs[last].id, PL_HDR_CONTENT_LENGTH);
    assert_int_equal(pl_msg_hdr_remove(&m, last), PL_OK);
    assert_false(m.has_content_length);
    out = print_reparse(&m, &re, &n);
    assert_false(re.has_content_length);
    assert_str(re.body, "hello");
    /* out of range */
    assert_int_equal(pl_msg_hdr_remove(&m, m.hdr_count), PL_EINVAL);
}

static void test_hdr_remove_id(void **state)
{
    (void)state;
    pl_msg m, re;
    size_t n;
    parse_base(&m);
    assert_int_equal(pl_msg_hdr_remove_id(&m, PL_HDR_ROUTE), 2);
    assert_int_equal(m.route_count, 0);
    assert_null(m.route);
    char *out = print_reparse(&m, &re, &n);
    assert_int_equal(re.route_count, 0);
    assert_true(find_bytes(out, n, "Route") < 0);
    assert_int_equal(pl_msg_hdr_remove_id(&m, PL_HDR_WARNING), 0);
    assert_int_equal(m.hdr_count, B_COUNT - 2);
    assert_int_equal(pl_msg_hdr_remove_id(&m, PL_HDR_VIA), 2);
    assert_int_equal(m.via_count, 0);
    assert_null(m.via);
    print_reparse(&m, &re, &n);
    assert_int_equal(re.via_count, 0);
    assert_int_equal(pl_msg_hdr_remove_id(&m, PL_HDR_SUBJECT), 1);
    print_reparse(&m, &re, &n);
    assert_int_equal(re.hdr_count, B_COUNT - 5);

    /* compact and long forms are the same id */
    pl_msg c;
    parse_ok("OPTIONS sip:b@example.com SIP/2.0\n"
             "v: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\n"
             "Via: SIP/2.0/UDP b.example.com;branch=z9hG4bK2\n"
             "f: <sip:a@example.com>;tag=1\n"
             "t: <sip:b@example.com>\n"
             "i: x\n"
             "CSeq: 1 OPTIONS\n"
             "l: 0\n\n",
             &c);
    assert_int_equal(pl_msg_hdr_remove_id(&c, PL_HDR_VIA), 2);
    print_reparse(&c, &re, &n);
    assert_int_equal(re.via_count, 0);
}

static void test_hdr_replace(void **state)
{
    (void)state;
    pl_msg m, re;
    size_t n;
    parse_base(&m);
    assert_int_equal(pl_msg_hdr_replace(&m, B_SUBJ, S("bye now")), PL_OK);
    char *out = print_reparse(&m, &re, &n);
    assert_str(re.hdrs[B_SUBJ].value, "bye now");
    assert_true(find_bytes(out, n, "\r\nSubject: bye now\r\n") >= 0);
    /* typed headers follow */
    assert_int_equal(pl_msg_hdr_replace(&m, B_CSEQ, S("2 INVITE")), PL_OK);
    assert_int_equal(m.cseq.num, 2);
    assert_int_equal(pl_msg_hdr_replace(&m, B_MF, S("69")), PL_OK);
    assert_int_equal(m.max_forwards, 69);
    assert_int_equal(pl_msg_hdr_replace(&m, B_TO, S("<sip:bob@example.com>;tag=b2")), PL_OK);
    assert_true(m.to->has_tag);
    assert_str(m.to->tag, "b2");
    assert_int_equal(
        pl_msg_hdr_replace(&m, B_VIA2, S("SIP/2.0/TLS ua2.example.com:5061;branch=z9hG4bKua2")),
        PL_OK);
    assert_int_equal(m.via_count, 3);
    print_reparse(&m, &re, &n);
    assert_int_equal(re.cseq.num, 2);
    assert_int_equal(re.max_forwards, 69);
    assert_str(re.to->tag, "b2");
    assert_str(re.via->next->next->host, "ua2.example.com");
    assert_int_equal(re.via->next->next->port, 5061);
    assert_str(re.via->branch, "z9hG4bKp1");

    /* the name is kept as sent (compact form) */
    pl_msg c;
    parse_ok("OPTIONS sip:b@example.com SIP/2.0\n"
             "v: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\n"
             "f: <sip:a@example.com>;tag=1\n"
             "t: <sip:b@example.com>\n"
             "i: x\n"
             "CSeq: 1 OPTIONS\n"
             "l: 0\n\n",
             &c);
    assert_int_equal(pl_msg_hdr_replace(&c, 3, S("new-id@example.com")), PL_OK);
    out = print_reparse(&c, &re, &n);
    assert_str(re.hdrs[3].name, "i");
    assert_str(re.call_id, "new-id@example.com");
    assert_true(find_bytes(out, n, "\r\ni: new-id@example.com\r\n") >= 0);
    assert_int_equal(pl_msg_hdr_replace(&c, c.hdr_count, S("x")), PL_EINVAL);
}

static void test_via_prepend(void **state)
{
    (void)state;
    pl_msg m, re;
    size_t n;
    parse_base(&m);
    const char *nv = "SIP/2.0/TCP proxy.example.com:5070;branch=z9hG4bKnew;rport";
    assert_int_equal(pl_msg_via_prepend(&m, S(nv)), PL_OK);
    assert_int_equal(m.via_count, 4);
    assert_str(m.via->branch, "z9hG4bKnew");
    assert_str(m.via->host, "proxy.example.com");
    assert_true(m.via->has_rport);
    assert_str(m.via->next->branch, "z9hG4bKp1");
    char *out = print_reparse(&m, &re, &n);
    assert_int_equal(re.via_count, 4);
    assert_str(re.via->branch, "z9hG4bKnew");
    long first_via = find_bytes(out, n, "\r\nVia: ");
    long new_via = find_bytes(
        out, n, "\r\nVia: SIP/2.0/TCP proxy.example.com:5070;branch=z9hG4bKnew;rport\r\n");
    assert_true(new_via >= 0);
    assert_int_equal(first_via, new_via);

    /* Via not first among the headers: the new one still precedes every Via */
    pl_msg c;
    parse_ok("OPTIONS sip:b@example.com SIP/2.0\n"
             "Max-Forwards: 10\n"
             "v: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\n"
             "f: <sip:a@example.com>;tag=1\n"
             "t: <sip:b@example.com>\n"
             "i: x\n"
             "CSeq: 1 OPTIONS\n"
             "l: 0\n\n",
             &c);
    assert_int_equal(pl_msg_via_prepend(&c, S("SIP/2.0/UDP top.example.com;branch=z9hG4bKtop")),
                     PL_OK);
    assert_int_equal(c.via_count, 2);
    out = print_reparse(&c, &re, &n);
    assert_str(re.via->host, "top.example.com");
    assert_str(re.via->next->host, "a.example.com");
    assert_true(find_bytes(out, n, "Via: SIP/2.0/UDP top") <
                find_bytes(out, n, "v: SIP/2.0/UDP a."));

    /* no Via at all: the new one is the only one */
    assert_int_equal(pl_msg_hdr_remove_id(&c, PL_HDR_VIA), 2);
    assert_int_equal(pl_msg_via_prepend(&c, S("SIP/2.0/UDP only.example.com;branch=z9hG4bKo")),
                     PL_OK);
    assert_int_equal(c.via_count, 1);
    print_reparse(&c, &re, &n);
    assert_int_equal(re.via_count, 1);
    assert_str(re.via->host, "only.example.com");
}

static void test_via_remove_top(void **state)
{
    (void)state;
    pl_msg m, re;
    size_t n;
    parse_base(&m);
    /* top field holds "p1, p2": the field keeps "p2" */
    assert_int_equal(pl_msg_via_remove_top(&m), PL_OK);
    assert_int_equal(m.via_count, 2);
    assert_str(m.via->branch, "z9hG4bKp2");
    assert_int_equal(m.hdr_count, B_COUNT);
    char *out = print_reparse(&m, &re, &n);
    assert_int_equal(re.via_count, 2);
    assert_str(re.hdrs[0].name, "Via");
    assert_str(re.hdrs[0].value, "SIP/2.0/UDP p2.example.com;branch=z9hG4bKp2");
    assert_true(find_bytes(out, n, "p1.example.com") < 0);
    /* top field holds one value: the field goes */
    assert_int_equal(pl_msg_via_remove_top(&m), PL_OK);
    assert_int_equal(m.via_count, 1);
    assert_int_equal(m.hdr_count, B_COUNT - 1);
    assert_str(m.via->branch, "z9hG4bKua");
    print_reparse(&m, &re, &n);
    assert_int_equal(count_id(&re, PL_HDR_VIA), 1);
    assert_str(re.via->branch, "z9hG4bKua");
    assert_int_equal(pl_msg_via_remove_top(&m), PL_OK);
    assert_int_equal(m.via_count, 0);
    print_reparse(&m, &re, &n);
    assert_int_equal(re.via_count, 0);
    assert_int_equal(pl_msg_via_remove_top(&m), PL_ENOTFOUND);

    /* a compact, folded, three-value field keeps its name and the rest */
    pl_msg c;
    parse_ok(
        "SIP/2.0 200 OK\n"
        "v: SIP/2.0/UDP a.example.com;branch=z9hG4bK1 ,\n"
        " SIP/2.0/UDP b.example.com;branch=z9hG4bK2, SIP/2.0/UDP c.example.com;branch=z9hG4bK3\n"
        "f: <sip:a@example.com>;tag=1\n"
        "t: <sip:b@example.com>;tag=2\n"
        "i: x\n"
        "CSeq: 1 OPTIONS\n"
        "l: 0\n\n",
        &c);
    assert_int_equal(pl_msg_via_remove_top(&c), PL_OK);
    out = print_reparse(&c, &re, &n);
    assert_int_equal(re.via_count, 2);
    assert_str(re.hdrs[0].name, "v");
    assert_str(re.via->branch, "z9hG4bK2");
    assert_str(re.via->next->branch, "z9hG4bK3");
}

static void test_route_pop(void **state)
{
    (void)state;
    pl_msg m, re;
    size_t n;
    parse_base(&m);
    assert_int_equal(pl_msg_route_pop(&m), PL_OK);
    assert_int_equal(m.route_count, 2);
    assert_str(m.route->uri.host, "r2.example.com");
    char *out = print_reparse(&m, &re, &n);
    assert_int_equal(re.route_count, 2);
    assert_str(re.hdrs[B_ROUTE1].name, "Route");
    assert_str(re.hdrs[B_ROUTE1].value, "<sip:r2.example.com;lr>");
    assert_true(find_bytes(out, n, "r1.example.com") < 0);
    assert_int_equal(pl_msg_route_pop(&m), PL_OK);
    assert_int_equal(m.route_count, 1);
    assert_int_equal(m.hdr_count, B_COUNT - 1);
    assert_str(m.route->uri.host, "r3.example.com");
    print_reparse(&m, &re, &n);
    assert_int_equal(count_id(&re, PL_HDR_ROUTE), 1);
    assert_str(re.route->uri.host, "r3.example.com");
    assert_int_equal(pl_msg_route_pop(&m), PL_OK);
    assert_int_equal(m.route_count, 0);
    print_reparse(&m, &re, &n);
    assert_int_equal(re.route_count, 0);
    assert_int_equal(pl_msg_route_pop(&m), PL_ENOTFOUND);

    /* a display name with a comma inside quotes is one value */
    pl_msg c;
    parse_ok("BYE sip:b@example.com SIP/2.0\n"
             "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\n"
             "Route: \"x, y\" <sip:q1.example.com;lr>,<sip:q2.example.com;lr>\n"
             "From: <sip:a@example.com>;tag=1\n"
             "To: <sip:b@example.com>;tag=2\n"
             "Call-ID: x\n"
             "CSeq: 2 BYE\n"
             "Content-Length: 0\n\n",
             &c);
    assert_int_equal(c.route_count, 2);
    assert_int_equal(pl_msg_route_pop(&c), PL_OK);
    print_reparse(&c, &re, &n);
    assert_int_equal(re.route_count, 1);
    assert_str(re.route->uri.host, "q2.example.com");
    assert_str(re.hdrs[1].value, "<sip:q2.example.com;lr>");
}

static void test_set_ruri(void **state)
{
    (void)state;
    pl_msg m, re;
    size_t n;
    parse_base(&m);
    assert_int_equal(pl_msg_set_ruri(&m, S("sip:carol@chicago.example.com:5080;transport=tcp")),
                     PL_OK);
    assert_str(m.start_line, "INVITE sip:carol@chicago.example.com:5080;transport=tcp SIP/2.0");
    assert_str(m.ruri.host, "chicago.example.com");
    assert_str(m.ruri.user, "carol");
    assert_int_equal(m.ruri.port, 5080);
    assert_str(m.ruri.transport, "tcp");
    assert_str(m.method, "INVITE");
    assert_int_equal(m.method_id, PL_METHOD_INVITE);
    assert_str(m.version, "SIP/2.0");
    char *out = print_reparse(&m, &re, &n);
    assert_true(
        find_bytes(out, n,
                   "INVITE sip:carol@chicago.example.com:5080;transport=tcp SIP/2.0\r\nVia: ") ==
        0);
    assert_str(re.ruri.transport, "tcp");
    /* the rest is untouched */
    assert_str(re.via->branch, "z9hG4bKp1");
    assert_str(re.body, "hello");
    /* twice, and a tel URI */
    assert_int_equal(pl_msg_set_ruri(&m, S("tel:+1-201-555-0123")), PL_OK);
    assert_int_equal(m.ruri.scheme, PL_URI_TEL);
    print_reparse(&m, &re, &n);
    assert_int_equal(re.ruri.scheme, PL_URI_TEL);
}

static void test_set_body(void **state)
{
    (void)state;
    pl_msg m, re;
    size_t n;
    parse_base(&m);
    const char *sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n";
    /* replace the type: Content-Length updated in place */
    assert_int_equal(pl_msg_set_body(&m, S("application/sdp"), S(sdp)), PL_OK);
    assert_int_equal(m.content_length, strlen(sdp));
    assert_str(m.body, sdp);
    assert_str(m.content_type.subtype, "sdp");
    assert_int_equal(m.hdr_count, B_COUNT);
    char *out = print_reparse(&m, &re, &n);
    assert_int_equal(re.hdrs[B_CL].id, PL_HDR_CONTENT_LENGTH);
    char cl[32];
    snprintf(cl, sizeof(cl), "%zu", strlen(sdp));
    assert_str(re.hdrs[B_CL].value, cl);
    assert_int_equal(re.hdrs[B_CT].id, PL_HDR_CONTENT_TYPE);
    assert_str(re.hdrs[B_CT].value, "application/sdp");
    assert_str(re.body, sdp);
    assert_true(find_bytes(out, n, "hello") < 0);
    /* empty type: Content-Type removed, body empty */
    assert_int_equal(pl_msg_set_body(&m, S(""), S("")), PL_OK);
    assert_false(m.has_content_type);
    assert_int_equal(m.content_length, 0);
    assert_int_equal(m.body.len, 0);
    out = print_reparse(&m, &re, &n);
    assert_false(re.has_content_type);
    assert_true(re.has_content_length);
    assert_int_equal(re.content_length, 0);
    assert_int_equal(count_id(&re, PL_HDR_CONTENT_TYPE), 0);
    assert_true(n >= 4 && memcmp(out + n - 4, "\r\n\r\n", 4) == 0);
    assert_true(find_bytes(out, n, "Content-Length: 0\r\n") >= 0);
    /* set a type where there was none */
    assert_int_equal(pl_msg_set_body(&m, S("text/plain;charset=utf-8"), S("x")), PL_OK);
    print_reparse(&m, &re, &n);
    assert_true(re.has_content_type);
    assert_str(re.content_type.type, "text");
    assert_str(re.content_type.params, ";charset=utf-8");
    assert_int_equal(re.content_length, 1);
    assert_str(re.body, "x");

    /* no Content-Length in the message: one is added; compact "c" kept */
    pl_msg c;
    parse_ok("MESSAGE sip:b@example.com SIP/2.0\n"
             "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\n"
             "f: <sip:a@example.com>;tag=1\n"
             "t: <sip:b@example.com>\n"
             "i: x\n"
             "CSeq: 1 MESSAGE\n"
             "c: text/plain\n"
             "\n"
             "rest of datagram",
             &c);
    assert_false(c.has_content_length);
    assert_int_equal(pl_msg_set_body(&c, S("text/html"), S("<b>hi</b>")), PL_OK);
    out = print_reparse(&c, &re, &n);
    assert_true(re.has_content_length);
    assert_int_equal(re.content_length, 9);
    assert_str(re.body, "<b>hi</b>");
    assert_str(re.content_type.subtype, "html");
    int32_t ci = pl_msg_hdr_find(&re, PL_HDR_CONTENT_TYPE, 0);
    assert_true(ci >= 0);
    assert_str(re.hdrs[ci].name, "c");
    assert_true(find_bytes(out, n, "rest of datagram") < 0);

    /* compact "l" with a duplicate-free update in place */
    pl_msg d;
    parse_ok("MESSAGE sip:b@example.com SIP/2.0\n"
             "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\n"
             "l: 3\n"
             "f: <sip:a@example.com>;tag=1\n"
             "t: <sip:b@example.com>\n"
             "i: x\n"
             "CSeq: 1 MESSAGE\n"
             "\n"
             "abc",
             &d);
    assert_int_equal(pl_msg_set_body(&d, S("text/plain"), S("abcdefghijkl")), PL_OK);
    print_reparse(&d, &re, &n);
    assert_str(re.hdrs[1].name, "l");
    assert_str(re.hdrs[1].value, "12");
    assert_str(re.body, "abcdefghijkl");
}

/* ------------------------------------------------------- invalid edits */

/* Snapshot of a message's printed form. */
typedef struct snap {
    char *p;
    size_t n;
} snap;

static snap take(const pl_msg *m)
{
    snap s;
    s.p = print_msg(m, &s.n);
    return s;
}

static void assert_unchanged(const pl_msg *m, snap before, const char *what)
{
    size_t n;
    char *now = print_msg(m, &n);
    if (!bytes_eq(now, n, before.p, before.n))
        fail_msg("%s changed the message:\n%.*s", what, (int)n, now);
    pl_msg re;
    print_reparse(m, &re, &n);
}

#define REFUSED(call, m, what)                                                                     \
    do {                                                                                           \
        snap _b = take(m);                                                                         \
        int _rc = (call);                                                                          \
        if (_rc != PL_EINVAL)                                                                      \
            fail_msg("%s: got %d, want PL_EINVAL", what, _rc);                                     \
        assert_unchanged(m, _b, what);                                                             \
    } while (0)

static void test_invalid_edits(void **state)
{
    (void)state;
    pl_msg m;
    parse_base(&m);
    pl_msg *pm = &m;
    /* header injection through a value */
    REFUSED(pl_msg_hdr_append(pm, S("X-A"), S("1\r\nInjected: yes")), pm, "CRLF in appended value");
    REFUSED(pl_msg_hdr_append(pm, S("X-A"), S("1\nInjected: yes")), pm, "LF in appended value");
    REFUSED(pl_msg_hdr_append(pm, S("X-A"), S("1\rInjected: yes")), pm, "CR in appended value");
    REFUSED(pl_msg_hdr_append(pm, S("X-A"), ((pl_str){"a\0b", 3})), pm, "NUL in appended value");
    REFUSED(pl_msg_hdr_insert(pm, 1, S("X-A"), S("1\r\n\r\nbody")), pm, "CRLF in inserted value");
    REFUSED(pl_msg_hdr_replace(pm, B_SUBJ, S("x\r\nVia: SIP/2.0/UDP evil")), pm,
            "CRLF in replaced value");
    /* bad names */
    REFUSED(pl_msg_hdr_append(pm, S("X Bad"), S("1")), pm, "space in name");
    REFUSED(pl_msg_hdr_append(pm, S("X:Bad"), S("1")), pm, "colon in name");
    REFUSED(pl_msg_hdr_append(pm, S("X-Bad:"), S("1")), pm, "trailing colon in name");
    REFUSED(pl_msg_hdr_append(pm, S(""), S("1")), pm, "empty name");
    REFUSED(pl_msg_hdr_append(pm, S("X\r\nY"), S("1")), pm, "CRLF in name");
    /* single-instance and grammar */
    REFUSED(pl_msg_hdr_append(pm, S("From"), S("<sip:mallory@example.com>;tag=m")), pm,
            "second From");
    REFUSED(pl_msg_hdr_append(pm, S("f"), S("<sip:mallory@example.com>;tag=m")), pm,
            "second From (compact)");
    REFUSED(pl_msg_hdr_insert(pm, 0, S("Call-ID"), S("second@example.com")), pm, "second Call-ID");
    REFUSED(pl_msg_hdr_append(pm, S("CSeq"), S("2 INVITE")), pm, "second CSeq");
    REFUSED(pl_msg_hdr_append(pm, S("Content-Length"), S("5")), pm, "second Content-Length");
    REFUSED(pl_msg_hdr_append(pm, S("Route"), S("sip:no-angle.example.com")), pm,
            "Route without <>");
    REFUSED(pl_msg_hdr_replace(pm, B_FROM, S("<sip:broken@example.com")), pm, "malformed From");
    REFUSED(pl_msg_hdr_replace(pm, B_CSEQ, S("x INVITE")), pm, "malformed CSeq");
    REFUSED(pl_msg_hdr_replace(pm, B_VIA1, S("not a via")), pm, "malformed Via replace");
    REFUSED(pl_msg_via_prepend(pm, S("garbage")), pm, "malformed Via");
    REFUSED(pl_msg_via_prepend(pm, S("SIP/2.0/UDP")), pm, "Via without sent-by");
    REFUSED(pl_msg_via_prepend(pm, S("SIP/2.0/UDP h.example.com;branch=z9hG4bKa\r\nX: y")), pm,
            "CRLF in Via");
    REFUSED(pl_msg_hdr_insert(pm, m.hdr_count + 1, S("X-A"), S("1")), pm, "insert past the end");
    /* Request-URI */
    REFUSED(pl_msg_set_ruri(pm, S("sip:a b@example.com")), pm, "space in Request-URI");
    REFUSED(pl_msg_set_ruri(pm, S("sip:a@example.com SIP/2.0\r\nX: y")), pm, "CRLF in Request-URI");
    REFUSED(pl_msg_set_ruri(pm, S("")), pm, "empty Request-URI");
    REFUSED(pl_msg_set_ruri(pm, S("no-scheme")), pm, "Request-URI without a scheme");

    /* set_ruri on a response */
    pl_msg r;
    parse_ok("SIP/2.0 200 OK\n"
             "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\n"
             "From: <sip:a@example.com>;tag=1\n"
             "To: <sip:b@example.com>;tag=2\n"
             "Call-ID: x\n"
             "CSeq: 1 OPTIONS\n"
             "Content-Length: 0\n\n",
             &r);
    REFUSED(pl_msg_set_ruri(&r, S("sip:b@example.com")), &r, "set_ruri on a response");
}

/*
 * set_body with a type that is not a media type must be refused before
 * anything changes: Content-Length must not be rewritten for a body that is
 * not set (the message would then print a Content-Length that disagrees with
 * its body).
 */
static void test_invalid_set_body(void **state)
{
    (void)state;
    pl_msg m;
    parse_base(&m);
    pl_msg *pm = &m;
    REFUSED(pl_msg_set_body(pm, S("text/plain\r\nX-Injected: 1"), S("x")), pm, "CRLF in type");
    REFUSED(pl_msg_set_body(pm, S("not a media type"), S("x")), pm, "malformed Content-Type");
    REFUSED(pl_msg_set_body(pm, S("text/"), S("")), pm, "media type without subtype");
}

/* -------------------------------------------------------------- builders */

static void test_build_request_full(void **state)
{
    (void)state;
    const pl_str extra[] = {S("Refer-To"), S("<sip:carol@example.com>"), S("Subject"), S("a test")};
    const char *body = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n";
    pl_request_spec s;
    memset(&s, 0, sizeof(s));
    s.method = S("INVITE");
    s.ruri = S("sip:bob@biloxi.example.com");
    s.from = S("\"Alice\" <sip:alice@atlanta.example.com>");
    s.from_tag = S("ft1");
    s.to = S("Bob <sip:bob@biloxi.example.com>");
    s.to_tag = S("tt1");
    s.call_id = S("cid1@atlanta.example.com");
    s.cseq = 42;
    s.via_transport = S("TCP");
    s.via_sent_by = S("client.atlanta.example.com:5070");
    s.branch = S("z9hG4bKabc");
    s.max_forwards = 10;
    s.contact = S("<sip:alice@client.atlanta.example.com;transport=tcp>");
    s.extra = extra;
    s.n_extra = 2;
    s.content_type = S("application/sdp");
    s.body = S(body);
    pl_msg m, re;
    pl_error err = {0};
    int rc = pl_msg_build_request(&m, tu_arena(), &s, &err);
    if (rc != PL_OK)
        fail_msg("build: %d %s", rc, err.reason);
    assert_true(m.is_request);
    assert_str(m.method, "INVITE");
    assert_int_equal(m.method_id, PL_METHOD_INVITE);
    assert_str(m.ruri_raw, "sip:bob@biloxi.example.com");
    assert_str(m.version, "SIP/2.0");
    assert_int_equal(m.via_count, 1);
    assert_str(m.via->transport, "TCP");
    assert_str(m.via->host, "client.atlanta.example.com");
    assert_int_equal(m.via->port, 5070);
    assert_str(m.via->branch, "z9hG4bKabc");
    assert_true(m.has_max_forwards);
    assert_int_equal(m.max_forwards, 10);
    assert_str(m.from->display, "\"Alice\"");
    assert_str(m.from->uri.host, "atlanta.example.com");
    assert_str(m.from->tag, "ft1");
    assert_str(m.to->uri_raw, "sip:bob@biloxi.example.com");
    assert_str(m.to->tag, "tt1");
    assert_str(m.call_id, "cid1@atlanta.example.com");
    assert_int_equal(m.cseq.num, 42);
    assert_str(m.cseq.method, "INVITE");
    assert_int_equal(m.contact_count, 1);
    assert_str(m.contact->uri.transport, "tcp");
    int32_t i = pl_msg_hdr_find(&m, PL_HDR_REFER_TO, 0);
    assert_true(i >= 0);
    assert_str(m.hdrs[i].value, "<sip:carol@example.com>");
    i = pl_msg_hdr_find(&m, PL_HDR_SUBJECT, 0);
    assert_true(i >= 0);
    assert_str(m.hdrs[i].value, "a test");
    assert_true(m.has_content_type);
    assert_str(m.content_type.subtype, "sdp");
    assert_true(m.has_content_length);
    assert_int_equal(m.content_length, strlen(body));
    assert_str(m.body, body);
    uint16_t code = 1;
    assert_int_equal(pl_msg_check(&m, &code, &err), PL_OK);
    size_t n;
    print_reparse(&m, &re, &n);
    assert_int_equal(pl_msg_check(&re, NULL, NULL), PL_OK);
    assert_int_equal(n, m.len);
}

static void test_build_request_defaults(void **state)
{
    (void)state;
    pl_request_spec s;
    memset(&s, 0, sizeof(s));
    s.method = S("OPTIONS");
    s.ruri = S("sip:bob@example.com");
    s.via_sent_by = S("192.0.2.1");
    pl_msg a, b, re;
    pl_error err = {0};
    assert_int_equal(pl_msg_build_request(&a, tu_arena(), &s, &err), PL_OK);
    assert_int_equal(pl_msg_build_request(&b, tu_arena(), &s, &err), PL_OK);
    assert_int_equal(a.via_count, 1);
    assert_str(a.via->transport, "UDP");
    assert_str(a.via->host, "192.0.2.1");
    assert_true(a.via->has_branch);
    assert_true(a.via->branch.len > 7);
    assert_memory_equal(a.via->branch.p, "z9hG4bK", 7);
    assert_true(a.from && a.from->has_tag && a.from->tag.len > 0);
    assert_true(a.to && !a.to->has_tag);
    assert_true(a.call_id.len > 0);
    assert_true(a.has_max_forwards);
    assert_int_equal(a.max_forwards, 70);
    assert_int_equal(a.cseq.num, 1);
    assert_str(a.cseq.method, "OPTIONS");
    assert_int_equal(a.contact_count, 0);
    assert_false(a.has_content_type);
    assert_true(a.has_content_length);
    assert_int_equal(a.content_length, 0);
    assert_int_equal(a.body.len, 0);
    /* From and To default to the Request-URI */
    assert_str(a.from->uri.host, "example.com");
    assert_str(a.to->uri.user, "bob");
    assert_int_equal(pl_msg_check(&a, NULL, NULL), PL_OK);
    /* random values differ from one request to the next */
    assert_false(pl_str_eq(a.from->tag, b.from->tag));
    assert_false(pl_str_eq(a.call_id, b.call_id));
    assert_false(pl_str_eq(a.via->branch, b.via->branch));
    size_t n;
    print_reparse(&a, &re, &n);

    /* an unknown method token is carried as is */
    s.method = S("FOOBAR");
    assert_int_equal(pl_msg_build_request(&a, tu_arena(), &s, &err), PL_OK);
    assert_int_equal(a.method_id, PL_METHOD_OTHER);
    assert_str(a.cseq.method, "FOOBAR");
    assert_int_equal(pl_msg_check(&a, NULL, NULL), PL_OK);
}

static void test_build_request_refuses(void **state)
{
    (void)state;
    pl_request_spec base;
    memset(&base, 0, sizeof(base));
    base.method = S("INVITE");
    base.ruri = S("sip:bob@example.com");
    base.from = S("<sip:alice@example.com>");
    base.to = S("<sip:bob@example.com>");
    base.via_sent_by = S("192.0.2.1");
    pl_msg m;
    pl_error err;
    assert_int_equal(pl_msg_build_request(&m, tu_arena(), &base, NULL), PL_OK);
    const pl_str bad[] = {S("x\r\nInjected: 1"), S("x\nInjected: 1"), S("x\rInjected: 1")};
    for (size_t b = 0; b < 3; b++) {
        for (int f = 0; f < 12; f++) {
            pl_request_spec s = base;
            pl_str *fields[] = {&s.method,      &s.ruri,   &s.from,    &s.from_tag,
                                &s.to,          &s.to_tag, &s.call_id, &s.via_transport,
                                &s.via_sent_by, &s.branch, &s.contact, &s.content_type};
            *fields[f] = bad[b];
            memset(&err, 0, sizeof(err));
            int rc = pl_msg_build_request(&m, tu_arena(), &s, &err);
            if (rc != PL_EINVAL)
                fail_msg("field %d with a line break: got %d, want PL_EINVAL", f, rc);
            assert_non_null(err.reason);
        }
        const pl_str extra_v[] = {S("X-A"), bad[b]};
        const pl_str extra_n[] = {bad[b], S("1")};
        pl_request_spec s = base;
        s.extra = extra_v;
        s.n_extra = 1;
        assert_int_equal(pl_msg_build_request(&m, tu_arena(), &s, NULL), PL_EINVAL);
        s.extra = extra_n;
        assert_int_equal(pl_msg_build_request(&m, tu_arena(), &s, NULL), PL_EINVAL);
    }
    /* required fields */
    pl_request_spec s = base;
    s.method = PL_STR_NULL;
    assert_int_equal(pl_msg_build_request(&m, tu_arena(), &s, NULL), PL_EINVAL);
    s = base;
    s.ruri = PL_STR_NULL;
    assert_int_equal(pl_msg_build_request(&m, tu_arena(), &s, NULL), PL_EINVAL);
    s = base;
    s.via_sent_by = PL_STR_NULL;
    assert_int_equal(pl_msg_build_request(&m, tu_arena(), &s, NULL), PL_EINVAL);
    /* something that would not parse back is not returned as a message */
    s = base;
    s.ruri = S("sip:a b@example.com");
    assert_int_not_equal(pl_msg_build_request(&m, tu_arena(), &s, NULL), PL_OK);
    /* a header name that is not a token */
    const pl_str extra_sp[] = {S("X Bad"), S("1")};
    s = base;
    s.extra = extra_sp;
    s.n_extra = 1;
    assert_int_not_equal(pl_msg_build_request(&m, tu_arena(), &s, NULL), PL_OK);
}

static const char resp_req[] =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\n"
    "Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1, SIP/2.0/TCP "
    "p2.example.com:5070;branch=z9hG4bKp2\n"
    "Max-Forwards: 69\n"
    "v:  SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKua;received=192.0.2.101;rport=5060\n"
    "From: \"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774\n"
    "To: Bob <sip:bob@biloxi.example.com>\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\n"
    "CSeq: 314159 INVITE\n"
    "Timestamp: 54.2 0.5\n"
    "Contact: <sip:alice@pc33.atlanta.example.com>\n"
    "Subject: lunch\n"
    "Allow: INVITE, ACK\n"
    "X-Custom: keep out\n"
    "Content-Type: text/plain\n"
    "Content-Length: 5\n"
    "\n"
    "hello";

/* The lines of every header with id, concatenated. */
static char *lines_of(const pl_msg *m, pl_hdr_id id, size_t *n)
{
    size_t total = 0;
    for (uint32_t i = 0; i < m->hdr_count; i++)
        if (m->hdrs[i].id == id)
            total += m->hdrs[i].line.len;
    char *b = alloc_buf(total + 1);
    size_t o = 0;
    for (uint32_t i = 0; i < m->hdr_count; i++)
        if (m->hdrs[i].id == id) {
            memcpy(b + o, m->hdrs[i].line.p, m->hdrs[i].line.len);
            o += m->hdrs[i].line.len;
        }
    *n = o;
    return b;
}

static void assert_same_lines(const pl_msg *req, const pl_msg *resp, pl_hdr_id id)
{
    size_t a, b;
    char *la = lines_of(req, id, &a);
    char *lb = lines_of(resp, id, &b);
    if (!bytes_eq(la, a, lb, b))
        fail_msg("header %s differs:\n%.*s\nvs\n%.*s", pl_hdr_canonical_name(id), (int)a, la,
                 (int)b, lb);
}

static void check_response(const pl_msg *req, const pl_msg *resp, uint16_t code, const char *reason,
                           const char *want_tag)
{
    assert_false(resp->is_request);
    assert_int_equal(resp->status, code);
    assert_str(resp->version, "SIP/2.0");
    assert_str(resp->reason, reason);
    char sl[128];
    snprintf(sl, sizeof(sl), "SIP/2.0 %u %s", code, reason);
    assert_str(resp->start_line, sl);
    /* Via: same lines, same order, byte for byte (8.2.6.2) */
    assert_same_lines(req, resp, PL_HDR_VIA);
    assert_int_equal(resp->via_count, req->via_count);
    assert_str(resp->via->branch, "z9hG4bKp1");
    assert_same_lines(req, resp, PL_HDR_FROM);
    assert_same_lines(req, resp, PL_HDR_CALL_ID);
    assert_same_lines(req, resp, PL_HDR_CSEQ);
    assert_int_equal(resp->cseq.num, req->cseq.num);
    assert_str(resp->cseq.method, "INVITE");
    /* To */
    assert_int_equal(count_id(resp, PL_HDR_TO), 1);
    int32_t ti = pl_msg_hdr_find(resp, PL_HDR_TO, 0);
    int32_t qi = pl_msg_hdr_find(req, PL_HDR_TO, 0);
    if (req->to->has_tag || code == 100) {
        assert_same_lines(req, resp, PL_HDR_TO);
        assert_int_equal(resp->to->has_tag, req->to->has_tag);
    } else {
        assert_true(resp->to->has_tag);
        assert_true(resp->to->tag.len > 0);
        if (want_tag)
            assert_str(resp->to->tag, want_tag);
        /* the request's To value, then ";tag=" */
        pl_str rv = resp->hdrs[ti].value, qv = req->hdrs[qi].value;
        assert_true(rv.len == qv.len + 5 + resp->to->tag.len);
        assert_memory_equal(rv.p, qv.p, qv.len);
        assert_memory_equal(rv.p + qv.len, ";tag=", 5);
        assert_pstr_eq(resp->to->uri_raw, req->to->uri_raw);
    }
    /* Timestamp only on 100 */
    if (code == 100)
        assert_same_lines(req, resp, PL_HDR_TIMESTAMP);
    else
        assert_int_equal(count_id(resp, PL_HDR_TIMESTAMP), 0);
    /* nothing else copied */
    assert_int_equal(count_id(resp, PL_HDR_CONTACT), 0);
    assert_int_equal(count_id(resp, PL_HDR_SUBJECT), 0);
    assert_int_equal(count_id(resp, PL_HDR_ALLOW), 0);
    assert_int_equal(count_id(resp, PL_HDR_MAX_FORWARDS), 0);
    assert_int_equal(count_id(resp, PL_HDR_CONTENT_TYPE), 0);
    assert_int_equal(pl_msg_hdr_find_name(resp, S("X-Custom"), 0), -1);
    assert_true(resp->has_content_length);
    assert_int_equal(resp->content_length, 0);
    assert_int_equal(count_id(resp, PL_HDR_CONTENT_LENGTH), 1);
    int32_t cl = pl_msg_hdr_find(resp, PL_HDR_CONTENT_LENGTH, 0);
    assert_str(resp->hdrs[cl].line, "Content-Length: 0\r\n");
    assert_int_equal(resp->body.len, 0);
    assert_int_equal(resp->hdr_count, count_id(resp, PL_HDR_VIA) + 4 + (code == 100 ? 1 : 0) + 1);
    assert_int_equal(pl_msg_check(resp, NULL, NULL), PL_OK);
    pl_msg re;
    size_t n;
    print_reparse(resp, &re, &n);
}

static void test_build_response(void **state)
{
    (void)state;
    pl_msg req, resp;
    parse_ok(resp_req, &req);
    assert_int_equal(req.via_count, 3);
    pl_error err = {0};
    const uint16_t codes[] = {100, 180, 183, 200, 486, 603};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        /* default reason, given tag */
        int rc =
            pl_msg_build_response(&resp, tu_arena(), &req, codes[i], PL_STR_NULL, S("tag77"), &err);
        if (rc != PL_OK)
            fail_msg("build %u: %d %s", codes[i], rc, err.reason);
        check_response(&req, &resp, codes[i], pl_status_reason(codes[i]), "tag77");
        /* random tag */
        assert_int_equal(pl_msg_build_response(&resp, tu_arena(), &req, codes[i], PL_STR_NULL,
                                               PL_STR_NULL, &err),
                         PL_OK);
        check_response(&req, &resp, codes[i], pl_status_reason(codes[i]), NULL);
        /* custom reason */
        assert_int_equal(pl_msg_build_response(&resp, tu_arena(), &req, codes[i],
                                               S("Custom Reason, With Comma"), S("t2"), &err),
                         PL_OK);
        check_response(&req, &resp, codes[i], "Custom Reason, With Comma", "t2");
    }
    /* two random tags differ */
    pl_msg r2;
    assert_int_equal(
        pl_msg_build_response(&resp, tu_arena(), &req, 200, PL_STR_NULL, PL_STR_NULL, NULL), PL_OK);
    assert_int_equal(
        pl_msg_build_response(&r2, tu_arena(), &req, 200, PL_STR_NULL, PL_STR_NULL, NULL), PL_OK);
    assert_false(pl_str_eq(resp.to->tag, r2.to->tag));
    assert_str(resp.reason, "OK");
    assert_int_equal(
        pl_msg_build_response(&resp, tu_arena(), &req, 486, PL_STR_NULL, PL_STR_NULL, NULL), PL_OK);
    assert_str(resp.reason, "Busy Here");
}

static void test_build_response_to_tag_kept(void **state)
{
    (void)state;
    pl_msg req, resp;
    parse_ok("BYE sip:bob@192.0.2.4 SIP/2.0\n"
             "Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1\n"
             "From: <sip:alice@atlanta.example.com>;tag=1928301774\n"
             "t: <sip:bob@biloxi.example.com>;tag=a6c85cf\n"
             "Call-ID: a84b4c76e66710\n"
             "CSeq: 231 BYE\n"
             "Content-Length: 0\n\n",
             &req);
    assert_int_equal(
        pl_msg_build_response(&resp, tu_arena(), &req, 200, PL_STR_NULL, S("other"), NULL), PL_OK);
    assert_same_lines(&req, &resp, PL_HDR_TO);
    assert_str(resp.to->tag, "a6c85cf");
    assert_int_equal(count_id(&resp, PL_HDR_TO), 1);
    assert_int_equal(pl_msg_check(&resp, NULL, NULL), PL_OK);
}

static void test_build_response_refuses(void **state)
{
    (void)state;
    pl_msg req, resp, r;
    parse_ok(resp_req, &req);
    assert_int_equal(
        pl_msg_build_response(&resp, tu_arena(), &req, 99, PL_STR_NULL, PL_STR_NULL, NULL),
        PL_EINVAL);
    assert_int_equal(
        pl_msg_build_response(&resp, tu_arena(), &req, 700, PL_STR_NULL, PL_STR_NULL, NULL),
        PL_EINVAL);
    assert_int_equal(
        pl_msg_build_response(&resp, tu_arena(), &req, 0, PL_STR_NULL, PL_STR_NULL, NULL),
        PL_EINVAL);
    assert_int_equal(
        pl_msg_build_response(&resp, tu_arena(), &req, 100, PL_STR_NULL, PL_STR_NULL, NULL), PL_OK);
    assert_int_equal(
        pl_msg_build_response(&resp, tu_arena(), &req, 699, PL_STR_NULL, PL_STR_NULL, NULL), PL_OK);
    assert_int_equal(pl_msg_build_response(&resp, tu_arena(), &req, 200, S("OK\r\nX: injected"),
                                           PL_STR_NULL, NULL),
                     PL_EINVAL);
    assert_int_equal(
        pl_msg_build_response(&resp, tu_arena(), &req, 200, PL_STR_NULL, S("t\r\nX: 1"), NULL),
        PL_EINVAL);
    parse_ok("SIP/2.0 200 OK\n"
             "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\n"
             "From: <sip:a@example.com>;tag=1\n"
             "To: <sip:b@example.com>;tag=2\n"
             "Call-ID: x\n"
             "CSeq: 1 OPTIONS\n"
             "Content-Length: 0\n\n",
             &r);
    pl_error err = {0};
    assert_int_equal(
        pl_msg_build_response(&resp, tu_arena(), &r, 200, PL_STR_NULL, PL_STR_NULL, &err),
        PL_EINVAL);
    assert_non_null(err.reason);
}

static void test_build_response_rfc4475(void **state)
{
    (void)state;
    tsv_row rows[64];
    size_t nrows = read_expected(rows, 64);
    size_t built = 0;
    const uint16_t codes[] = {100, 180, 200, 486};
    for (size_t r = 0; r < nrows; r++) {
        char path[128];
        snprintf(path, sizeof(path), "rfc4475/%.100s", rows[r].file);
        size_t len;
        char *buf = tu_read_file(path, &len);
        pl_msg req;
        if (pl_msg_parse(&req, buf, len, tu_arena(), NULL, NULL) != PL_OK || !req.is_request ||
            !req.via)
            continue;
        for (size_t c = 0; c < 4; c++) {
            pl_msg resp, re;
            pl_error err = {0};
            int rc = pl_msg_build_response(&resp, tu_arena(), &req, codes[c], PL_STR_NULL,
                                           PL_STR_NULL, &err);
            if (rc != PL_OK)
                fail_msg("%s: response %u: %d (%s)", rows[r].file, codes[c], rc, err.reason);
            assert_same_lines(&req, &resp, PL_HDR_VIA);
            assert_int_equal(resp.via_count, req.via_count);
            size_t n;
            char *out = print_msg(&resp, &n);
            pl_parse_opts opts = {PL_FRAMING_STREAM, NULL};
            rc = pl_msg_parse(&re, out, n, &arena2, &opts, &err);
            if (rc != PL_OK)
                fail_msg("%s: response %u does not parse back: %d (%s at %zu)\n%.*s", rows[r].file,
                         codes[c], rc, err.reason, err.offset, (int)n, out);
            assert_view_eq(&resp, &re);
            if (req.to && codes[c] > 100 && !req.to->has_tag)
                assert_true(re.to->has_tag);
            pl_arena_reset(&arena2);
        }
        built++;
        pl_arena_reset(tu_arena());
    }
    assert_true(built >= 28);
}

/* ------------------------------------------------------ reasons, methods */

static void test_status_reason(void **state)
{
    (void)state;
    assert_string_equal(pl_status_reason(100), "Trying");
    assert_string_equal(pl_status_reason(180), "Ringing");
    assert_string_equal(pl_status_reason(183), "Session Progress");
    assert_string_equal(pl_status_reason(200), "OK");
    assert_string_equal(pl_status_reason(302), "Moved Temporarily");
    assert_string_equal(pl_status_reason(404), "Not Found");
    assert_string_equal(pl_status_reason(408), "Request Timeout");
    assert_string_equal(pl_status_reason(481), "Call/Transaction Does Not Exist");
    assert_string_equal(pl_status_reason(486), "Busy Here");
    assert_string_equal(pl_status_reason(487), "Request Terminated");
    assert_string_equal(pl_status_reason(500), "Server Internal Error");
    assert_string_equal(pl_status_reason(503), "Service Unavailable");
    assert_string_equal(pl_status_reason(603), "Decline");
    for (unsigned c = 100; c < 700; c++) {
        const char *r = pl_status_reason((uint16_t)c);
        assert_non_null(r);
        assert_true(r[0] != '\0');
        for (const char *p = r; *p; p++)
            assert_true(*p >= 0x20 && *p < 0x7f);
    }
}

static void test_methods(void **state)
{
    (void)state;
    assert_int_equal(pl_method_from_str(S("INVITE")), PL_METHOD_INVITE);
    assert_int_equal(pl_method_from_str(S("ACK")), PL_METHOD_ACK);
    assert_int_equal(pl_method_from_str(S("REGISTER")), PL_METHOD_REGISTER);
    assert_int_equal(pl_method_from_str(S("UPDATE")), PL_METHOD_UPDATE);
    assert_int_equal(pl_method_from_str(S("invite")), PL_METHOD_OTHER);
    assert_int_equal(pl_method_from_str(S("Invite")), PL_METHOD_OTHER);
    assert_int_equal(pl_method_from_str(S("INVITEX")), PL_METHOD_OTHER);
    assert_int_equal(pl_method_from_str(S("INVIT")), PL_METHOD_OTHER);
    assert_int_equal(pl_method_from_str(S("")), PL_METHOD_OTHER);
    assert_int_equal(pl_method_from_str(PL_STR_NULL), PL_METHOD_OTHER);
    assert_int_equal(pl_method_from_str(S("FOO")), PL_METHOD_OTHER);
    /* length, not NUL, ends the name */
    assert_int_equal(pl_method_from_str((pl_str){"BYEBYE", 3}), PL_METHOD_BYE);
    assert_null(pl_method_name(PL_METHOD_OTHER));
    assert_string_equal(pl_method_name(PL_METHOD_INVITE), "INVITE");
    assert_string_equal(pl_method_name(PL_METHOD_MESSAGE), "MESSAGE");
    for (int m = 1; m < PL_METHOD_COUNT_; m++) {
        const char *name = pl_method_name((pl_method)m);
        assert_non_null(name);
        assert_int_equal(pl_method_from_str(S(name)), m);
        /* the lower-case spelling is another method */
        char low[32];
        size_t k = strlen(name);
        assert_true(k < sizeof(low));
        for (size_t j = 0; j <= k; j++)
            low[j] = (char)((name[j] >= 'A' && name[j] <= 'Z') ? name[j] + 32 : name[j]);
        assert_int_equal(pl_method_from_str(S(low)), PL_METHOD_OTHER);
    }
}

/* ------------------------------------------------------------ pl_msg_copy */

/*
 * Copy src (whose bytes and arena are freed right after), then compare
 * the copy's view with a fresh parse of its own bytes. Any view left
 * pointing into the freed original is a use after free under ASan.
 */
static void copy_and_check(pl_msg *src, char *src_buf, pl_arena *src_arena)
{
    size_t n = pl_msg_print_len(src);
    char *before = print_msg(src, &n);
    char *buf = malloc(n ? n : 1);
    assert_non_null(buf);
    pl_arena a;
    pl_arena_init(&a, NULL, 0, 0);
    pl_msg copy;
    assert_int_equal(pl_msg_copy(&copy, src, buf, n, &a), PL_OK);
    free(src_buf);
    pl_arena_free(src_arena);
    memset(src, 0xa5, sizeof(*src));
    size_t m;
    char *after = print_msg(&copy, &m);
    assert_bytes_eq(after, m, before, n);
    assert_ptr_equal(copy.buf, buf);
    pl_msg re;
    pl_parse_opts opts = {PL_FRAMING_STREAM, NULL};
    if (!copy.has_content_length)
        opts.framing = PL_FRAMING_DGRAM;
    assert_int_equal(pl_msg_parse(&re, buf, n, &arena2, &opts, NULL), PL_OK);
    assert_view_eq(&copy, &re);
    /* The copy can be edited on its own (its header array is its own). */
    assert_int_equal(pl_msg_hdr_append(&copy, S("X-After"), S("1")), PL_OK);
    pl_arena_free(&a);
    free(buf);
}

static void test_copy_rfc4475(void **state)
{
    (void)state;
    tsv_row rows[64];
    size_t nrows = read_expected(rows, 64);
    size_t copied = 0;
    for (size_t r = 0; r < nrows; r++) {
        char path[128];
        snprintf(path, sizeof(path), "rfc4475/%.100s", rows[r].file);
        size_t len;
        char *file = tu_read_file(path, &len);
        char *buf = malloc(len ? len : 1);
        assert_non_null(buf);
        memcpy(buf, file, len);
        pl_arena a;
        pl_arena_init(&a, NULL, 0, 0);
        pl_msg m;
        if (pl_msg_parse(&m, buf, len, &a, NULL, NULL) != PL_OK) {
            pl_arena_free(&a);
            free(buf);
            continue;
        }
        copy_and_check(&m, buf, &a);
        copied++;
    }
    assert_true(copied >= 30);
}

static void test_copy_edited(void **state)
{
    (void)state;
    const char *text = "INVITE sip:bob@example.com;transport=tcp SIP/2.0\r\n"
                       "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKa;rport\r\n"
                       "v: SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bKb;received=10.1.1.1\r\n"
                       "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
                       "Record-Route: <sip:rr.example.com;lr>\r\n"
                       "Max-Forwards: 70\r\n"
                       "From: \"Alice A.\" <sip:alice@example.com>;tag=f1\r\n"
                       "t: Bob <sip:bob@example.com>\r\n"
                       "i: copy-1@example.com\r\n"
                       "CSeq: 7 INVITE\r\n"
                       "m: <sip:alice@10.0.0.2:5060>;expires=60;q=0.5, sip:a2@10.0.0.3\r\n"
                       "Expires: 120\r\n"
                       "c: application/sdp;charset=utf-8\r\n"
                       "X-Custom: kept\r\n"
                       "Content-Length: 4\r\n"
                       "\r\n"
                       "v=0\n";
    size_t len = strlen(text);
    char *buf = malloc(len);
    assert_non_null(buf);
    memcpy(buf, text, len);
    pl_arena a;
    pl_arena_init(&a, NULL, 0, 0);
    pl_msg m;
    pl_parse_opts opts = {PL_FRAMING_STREAM, NULL};
    assert_int_equal(pl_msg_parse(&m, buf, len, &a, &opts, NULL), PL_OK);
    /* Edits put lines in the arena, between the original ones. */
    assert_int_equal(pl_msg_via_prepend(&m, S("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnew")),
                     PL_OK);
    assert_int_equal(pl_msg_route_pop(&m), PL_OK);
    assert_int_equal(pl_msg_set_ruri(&m, S("sip:carol@192.0.2.9:5070;lr")), PL_OK);
    assert_int_equal(pl_msg_hdr_insert(&m, 3, S("Record-Route"), S("<sip:192.0.2.1;lr;did=9>")),
                     PL_OK);
    assert_int_equal(pl_msg_set_body(&m, S("text/plain"), S("hello")), PL_OK);
    assert_int_equal(pl_msg_hdr_append(&m, S("Contact"), S("<sip:late@192.0.2.7>")), PL_OK);
    copy_and_check(&m, buf, &a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_print_rfc4475, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_odd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_skipped_and_trailing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_enospc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hdr_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hdr_insert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hdr_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hdr_remove_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hdr_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_via_prepend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_via_remove_top, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_pop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_ruri, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_edits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_set_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build_request_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build_request_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build_request_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build_response_to_tag_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build_response_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build_response_rfc4475, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(test_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_rfc4475, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_edited, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
