/*
 * test_msg_grammar.c - pl_msg_parse on hand-written messages: the start
 * line, every eager header, compact forms, folding, lists, display names,
 * the typed on-demand parsers, malformed input (exact code, offset, reason),
 * pl_msg_check and datagram / stream framing.
 *
 * Messages are written with "\n" line ends and turned into CRLF by
 * tu_crlf(). Where a test needs a byte that cannot stand in a C string (NUL)
 * or must escape the CRLF conversion (a bare CR or LF), the text carries a
 * placeholder byte ('^') that is patched after the conversion.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ messages */

#define RL   "INVITE sip:bob@biloxi.com SIP/2.0\n"
#define VIA  "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\n"
#define FROM "From: Alice <sip:alice@atlanta.com>;tag=1928301774\n"
#define TO   "To: Bob <sip:bob@biloxi.com>\n"
#define CID  "Call-ID: a84b4c76e66710@pc33.atlanta.com\n"
#define CSEQ "CSeq: 314159 INVITE\n"
#define MF   "Max-Forwards: 70\n"
#define CL0  "Content-Length: 0\n"
/* Everything a request needs but the Request-Line and the end. */
#define BASE VIA FROM TO CID CSEQ MF

#define PH '^' /* placeholder byte */

/* ------------------------------------------------------------------ helpers */

static const char *g_buf; /* the last buffer handed to pl_msg_parse */
static size_t g_len;

/* Offset of the nth (1-based) occurrence of needle (n bytes) in g_buf. */
static size_t find_bytes(const char *needle, size_t n, int nth)
{
    for (size_t i = 0; n <= g_len && i + n <= g_len; i++) {
        if (memcmp(g_buf + i, needle, n) == 0 && --nth == 0)
            return i;
    }
    fail_msg("\"%.*s\" not found in the message", (int)n, needle);
    return 0;
}

/* CRLF-convert text, patch every PH byte into rep (when rep_on), parse. */
static int parse_text(const char *text, bool rep_on, char rep, const pl_parse_opts *opts, pl_msg *m,
                      pl_error *err)
{
    size_t n;
    char *b = tu_crlf(text, &n);
    if (rep_on) {
        for (size_t i = 0; i < n; i++)
            if (b[i] == PH)
                b[i] = rep;
    }
    g_buf = b;
    g_len = n;
    err->code = 0;
    err->offset = (size_t)-1;
    err->reason = NULL;
    return pl_msg_parse(m, b, n, tu_arena(), opts, err);
}

static void check_err(int rc, const pl_error *err, int code, size_t lo, size_t hi)
{
    if (rc != code)
        fail_msg("rc %d (%s, offset %zu), want %d", rc, err->reason ? err->reason : "-",
                 err->offset, code);
    if (err->code != code)
        fail_msg("err.code %d, want %d", err->code, code);
    if (!err->reason)
        fail_msg("no reason");
    if (err->offset < lo || err->offset > hi) {
        size_t o = err->offset < g_len ? err->offset : g_len;
        fail_msg("offset %zu (%s; at \"%.*s\"), want %zu..%zu", err->offset, err->reason,
                 (int)(g_len - o > 20 ? 20 : g_len - o), g_buf + o, lo, hi);
    }
}

/*
 * Parse text (PH patched to rep when rep_on) and expect code with the
 * offset within [find_nth(needle, nth) + dlo, ... + dhi].
 */
static void expect_err_full(const char *text, bool rep_on, char rep, const pl_parse_opts *opts,
                            int code, const char *needle, int nth, size_t dlo, size_t dhi)
{
    pl_msg m;
    pl_error err;
    int rc = parse_text(text, rep_on, rep, opts, &m, &err);
    /* the needle is searched with its placeholders patched like the message */
    char pn[256];
    size_t nl = strlen(needle);
    assert_true(nl < sizeof(pn));
    for (size_t i = 0; i < nl; i++)
        pn[i] = (rep_on && needle[i] == PH) ? rep : needle[i];
    size_t at = find_bytes(pn, nl, nth);
    check_err(rc, &err, code, at + dlo, at + dhi);
}

#define EXPECT_ERR(text, code, needle, dlo, dhi)                                                   \
    expect_err_full((text), false, 0, NULL, (code), (needle), 1, (dlo), (dhi))
#define EXPECT_ERR_NTH(text, code, needle, nth, dlo, dhi)                                          \
    expect_err_full((text), false, 0, NULL, (code), (needle), (nth), (dlo), (dhi))
#define EXPECT_ERR_PATCH(text, rep, code, needle, dlo, dhi)                                        \
    expect_err_full((text), true, (rep), NULL, (code), (needle), 1, (dlo), (dhi))

static void parse_ok(const char *text, pl_msg *m)
{
    pl_error err = {0, 0, NULL};
    int rc = tu_parse(text, m, &err);
    if (rc != PL_OK)
        fail_msg("parse: rc %d (%s at %zu)", rc, err.reason ? err.reason : "-", err.offset);
}

static void parse_ok_patch(const char *text, char rep, pl_msg *m)
{
    pl_error err;
    int rc = parse_text(text, true, rep, NULL, m, &err);
    if (rc != PL_OK)
        fail_msg("parse: rc %d (%s at %zu)", rc, err.reason ? err.reason : "-", err.offset);
}

static const pl_hdr *hdr_at(const pl_msg *m, pl_hdr_id id, int nth)
{
    uint32_t from = 0;
    int32_t i = -1;
    for (int k = 0; k < nth; k++) {
        i = pl_msg_hdr_find(m, id, from);
        if (i < 0)
            fail_msg("header %d #%d not found", id, nth);
        from = (uint32_t)i + 1;
    }
    return &m->hdrs[i];
}

static int teardown(void **state)
{
    (void)state;
    tu_free_all();
    return 0;
}

/* ------------------------------------------------------------------ whole messages */

static const char invite_text[] =
    "INVITE sip:bob@biloxi.com;transport=udp SIP/2.0\n"
    "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds;rport;received=192.0.2.101\n"
    "Via: SIP/2.0/TCP [2001:db8::9]:5070;branch=z9hG4bKabc;rport=5070;maddr=224.2.0.1;ttl=16\n"
    "Max-Forwards: 70\n"
    "To: Bob <sip:bob@biloxi.com>\n"
    "From: \"Alice \\\"A\\\" Liddell\" <sip:alice@atlanta.com>;tag=1928301774\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.com\n"
    "CSeq: 314159 INVITE\n"
    "Contact: <sip:alice@pc33.atlanta.com>;expires=3600;q=0.7, sip:alice2@192.0.2.5;q=1\n"
    "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\n"
    "Record-Route: <sip:rr.example.com;lr>\n"
    "Content-Type: application/sdp;charset=utf-8\n"
    "Expires: 120\n"
    "Subject: lunch\n"
    "Content-Length: 5\n"
    "\n"
    "v=0\n";

static void test_invite_fields(void **state)
{
    (void)state;
    pl_msg m;
    parse_ok(invite_text, &m);
    assert_true(m.is_request);
    assert_str(m.start_line, "INVITE sip:bob@biloxi.com;transport=udp SIP/2.0");
    assert_str(m.method, "INVITE");
    assert_int_equal(m.method_id, PL_METHOD_INVITE);
    assert_str(m.ruri_raw, "sip:bob@biloxi.com;transport=udp");
    assert_int_equal(m.ruri.scheme, PL_URI_SIP);
    assert_str(m.ruri.user, "bob");
    assert_str(m.ruri.host, "biloxi.com");
    assert_str(m.ruri.transport, "udp");
    assert_str(m.version, "SIP/2.0");
    assert_int_equal(m.status, 0);
    assert_int_equal(m.skipped, 0);
    assert_int_equal(m.trailing, 0);
    assert_int_equal(m.hdr_count, 14);

    /* Via */
    assert_int_equal(m.via_count, 2);
    const pl_via *v = m.via;
    assert_non_null(v);
    assert_str(v->protocol, "SIP/2.0");
    assert_str(v->transport, "UDP");
    assert_str(v->host, "pc33.atlanta.com");
    assert_int_equal(v->host_type, PL_HOST_NAME);
    assert_int_equal(v->port, 0);
    assert_int_equal(v->port_str.len, 0);
    assert_true(v->has_branch);
    assert_str(v->branch, "z9hG4bK776asdhds");
    assert_true(v->has_rport);
    assert_int_equal(v->rport_value.len, 0);
    assert_true(v->has_received);
    assert_str(v->received, "192.0.2.101");
    assert_str(v->params, ";branch=z9hG4bK776asdhds;rport;received=192.0.2.101");
    assert_str(v->raw,
               "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds;rport;received=192.0.2.101");
    v = v->next;
    assert_non_null(v);
    assert_str(v->transport, "TCP");
    assert_str(v->host, "[2001:db8::9]");
    assert_int_equal(v->host_type, PL_HOST_IPV6);
    assert_int_equal(v->port, 5070);
    assert_str(v->port_str, "5070");
    assert_str(v->branch, "z9hG4bKabc");
    assert_true(v->has_rport);
    assert_str(v->rport_value, "5070");
    assert_false(v->has_received);
    assert_str(v->maddr, "224.2.0.1");
    assert_str(v->ttl, "16");
    assert_null(v->next);

    /* From / To */
    assert_non_null(m.from);
    assert_str(m.from->display, "\"Alice \\\"A\\\" Liddell\"");
    assert_str(m.from->uri_raw, "sip:alice@atlanta.com");
    assert_str(m.from->uri.user, "alice");
    assert_true(m.from->angle);
    assert_true(m.from->has_tag);
    assert_str(m.from->tag, "1928301774");
    assert_str(m.from->params, ";tag=1928301774");
    assert_non_null(m.to);
    assert_str(m.to->display, "Bob");
    assert_str(m.to->uri.host, "biloxi.com");
    assert_false(m.to->has_tag);
    assert_int_equal(m.to->tag.len, 0);

    assert_str(m.call_id, "a84b4c76e66710@pc33.atlanta.com");
    assert_true(m.has_cseq);
    assert_int_equal(m.cseq.num, 314159);
    assert_str(m.cseq.method, "INVITE");
    assert_int_equal(m.cseq.method_id, PL_METHOD_INVITE);
    assert_true(m.has_max_forwards);
    assert_int_equal(m.max_forwards, 70);

    /* Contact */
    assert_false(m.contact_star);
    assert_int_equal(m.contact_count, 2);
    const pl_nameaddr *c = m.contact;
    assert_str(c->uri_raw, "sip:alice@pc33.atlanta.com");
    assert_true(c->angle);
    assert_true(c->has_expires);
    assert_int_equal(c->expires, 3600);
    assert_str(c->q, "0.7");
    c = c->next;
    assert_non_null(c);
    assert_false(c->angle);
    assert_str(c->uri_raw, "sip:alice2@192.0.2.5");
    assert_int_equal(c->uri.host_type, PL_HOST_IPV4);
    assert_int_equal(c->uri.params.len, 0);
    assert_str(c->params, ";q=1");
    assert_str(c->q, "1");
    assert_false(c->has_expires);
    assert_null(c->next);

    /* Route, Record-Route */
    assert_int_equal(m.route_count, 2);
    assert_str(m.route->uri.host, "p1.example.com");
    assert_true(m.route->uri.lr);
    assert_str(m.route->next->uri.host, "p2.example.com");
    assert_null(m.route->next->next);
    assert_int_equal(m.record_route_count, 1);
    assert_str(m.record_route->uri.host, "rr.example.com");
    assert_true(m.record_route->uri.lr);

    /* Content */
    assert_true(m.has_content_length);
    assert_int_equal(m.content_length, 5);
    assert_true(m.has_content_type);
    assert_str(m.content_type.type, "application");
    assert_str(m.content_type.subtype, "sdp");
    assert_str(m.content_type.params, ";charset=utf-8");
    assert_true(m.has_expires);
    assert_int_equal(m.expires, 120);
    assert_str(m.body, "v=0\r\n");
    assert_int_equal(m.len, m.body.p + m.body.len - m.buf);

    /* non-eager header kept as is */
    const pl_hdr *h = hdr_at(&m, PL_HDR_SUBJECT, 1);
    assert_str(h->name, "Subject");
    assert_str(h->value, "lunch");
    assert_str(h->line, "Subject: lunch\r\n");
}

static const char ok_text[] =
    "SIP/2.0 200 OK\n"
    "Via: SIP/2.0/UDP server10.biloxi.com;branch=z9hG4bKnashds8;received=192.0.2.3\n"
    "Via: SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1;received=192.0.2.2\n"
    "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds ;received=192.0.2.1\n"
    "To: Bob <sip:bob@biloxi.com>;tag=a6c85cf\n"
    "From: Alice <sip:alice@atlanta.com>;tag=1928301774\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.com\n"
    "CSeq: 314159 INVITE\n"
    "Contact: <sip:bob@192.0.2.4>\n"
    "Content-Type: application/sdp\n"
    "Content-Length: 0\n"
    "\n";

static void test_200_ok_fields(void **state)
{
    (void)state;
    pl_msg m;
    parse_ok(ok_text, &m);
    assert_false(m.is_request);
    assert_int_equal(m.status, 200);
    assert_str(m.reason, "OK");
    assert_str(m.version, "SIP/2.0");
    assert_int_equal(m.method.len, 0);
    assert_int_equal(m.via_count, 3);
    assert_str(m.via->host, "server10.biloxi.com");
    assert_str(m.via->received, "192.0.2.3");
    assert_str(m.via->next->branch, "z9hG4bK77ef4c2312983.1");
    assert_str(m.via->next->next->branch, "z9hG4bK776asdhds");
    assert_str(m.via->next->next->received, "192.0.2.1");
    assert_str(m.to->tag, "a6c85cf");
    assert_str(m.from->tag, "1928301774");
    assert_int_equal(m.cseq.method_id, PL_METHOD_INVITE);
    assert_false(m.has_max_forwards);
    assert_int_equal(m.contact_count, 1);
    assert_int_equal(m.contact->uri.host_type, PL_HOST_IPV4);
    assert_str(m.content_type.subtype, "sdp");
    assert_int_equal(m.content_type.params.len, 0);
    assert_true(m.has_content_length);
    assert_int_equal(m.content_length, 0);
    assert_int_equal(m.body.len, 0);
    assert_false(m.has_expires);
    assert_int_equal(m.route_count, 0);
    assert_null(m.route);
}

static void test_status_lines(void **state)
{
    (void)state;
    pl_msg m;
    parse_ok("SIP/2.0 503 Service Unavailable\n" BASE CL0 "\n", &m);
    assert_int_equal(m.status, 503);
    assert_str(m.reason, "Service Unavailable");
    parse_ok("SIP/2.0 100 \n" BASE CL0 "\n", &m); /* empty Reason-Phrase */
    assert_int_equal(m.status, 100);
    assert_int_equal(m.reason.len, 0);
    parse_ok("SIP/2.0 699 \xc3\xa9t\xc3\xa9 ok\n" BASE CL0 "\n", &m); /* UTF-8 */
    assert_int_equal(m.status, 699);
    assert_str(m.reason, "\xc3\xa9t\xc3\xa9 ok");
    parse_ok("sip/2.0 180 Ringing\n" BASE CL0 "\n", &m); /* SIP-Version is case-insensitive */
    assert_int_equal(m.status, 180);
}

/* Reason-Phrase = *(reserved / unreserved / escaped / UTF8-NONASCII / UTF8-CONT / SP / HTAB) */
static void test_status_reason_with_htab(void **state)
{
    (void)state;
    pl_msg m;
    parse_ok("SIP/2.0 486 Busy\tHere\n" BASE CL0 "\n", &m);
    assert_int_equal(m.status, 486);
    assert_str(m.reason, "Busy\tHere");
}

static void test_methods(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        pl_method id;
    } ms[] = {
        {"INVITE", PL_METHOD_INVITE},   {"ACK", PL_METHOD_ACK},
        {"BYE", PL_METHOD_BYE},         {"CANCEL", PL_METHOD_CANCEL},
        {"OPTIONS", PL_METHOD_OPTIONS}, {"REGISTER", PL_METHOD_REGISTER},
        {"PRACK", PL_METHOD_PRACK},     {"SUBSCRIBE", PL_METHOD_SUBSCRIBE},
        {"NOTIFY", PL_METHOD_NOTIFY},   {"PUBLISH", PL_METHOD_PUBLISH},
        {"INFO", PL_METHOD_INFO},       {"REFER", PL_METHOD_REFER},
        {"MESSAGE", PL_METHOD_MESSAGE}, {"UPDATE", PL_METHOD_UPDATE},
    };
    for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
        assert_int_equal(pl_method_from_str(pl_str_c(ms[i].name)), ms[i].id);
        assert_string_equal(pl_method_name(ms[i].id), ms[i].name);
    }
    assert_int_equal(pl_method_from_str(PL_STR_LIT("invite")), PL_METHOD_OTHER);
    assert_int_equal(pl_method_from_str(PL_STR_LIT("INVITEX")), PL_METHOD_OTHER);
    assert_int_equal(pl_method_from_str(PL_STR_LIT("FOO")), PL_METHOD_OTHER);
    assert_null(pl_method_name(PL_METHOD_OTHER));

    pl_msg m;
    parse_ok("NEWMETHOD sip:bob@biloxi.com SIP/2.0\n" VIA FROM TO CID "CSeq: 1 NEWMETHOD\n" CL0
             "\n",
             &m);
    assert_str(m.method, "NEWMETHOD");
    assert_int_equal(m.method_id, PL_METHOD_OTHER);
    assert_int_equal(m.cseq.method_id, PL_METHOD_OTHER);
    parse_ok("invite sip:bob@biloxi.com SIP/2.0\n" BASE CL0 "\n", &m);
    assert_int_equal(m.method_id, PL_METHOD_OTHER);
    /* RFC 4475 intmeth: a method made of every token character */
    parse_ok("!interesting-Method0123456789_*+`.%indeed'~ sip:bob@biloxi.com SIP/2.0\n" BASE CL0
             "\n",
             &m);
    assert_str(m.method, "!interesting-Method0123456789_*+`.%indeed'~");
}

/* ------------------------------------------------------------------ names, compact forms */

static void test_compact_form_ids(void **state)
{
    (void)state;
    static const struct {
        char c;
        pl_hdr_id id;
    } cf[] = {
        {'i', PL_HDR_CALL_ID},
        {'m', PL_HDR_CONTACT},
        {'e', PL_HDR_CONTENT_ENCODING},
        {'l', PL_HDR_CONTENT_LENGTH},
        {'c', PL_HDR_CONTENT_TYPE},
        {'f', PL_HDR_FROM},
        {'s', PL_HDR_SUBJECT},
        {'k', PL_HDR_SUPPORTED},
        {'t', PL_HDR_TO},
        {'v', PL_HDR_VIA},
        {'o', PL_HDR_EVENT},
        {'u', PL_HDR_ALLOW_EVENTS},
        {'r', PL_HDR_REFER_TO},
        {'b', PL_HDR_REFERRED_BY},
        {'x', PL_HDR_SESSION_EXPIRES},
        {'y', PL_HDR_IDENTITY},
        {'a', PL_HDR_ACCEPT_CONTACT},
        {'j', PL_HDR_REJECT_CONTACT},
        {'d', PL_HDR_REQUEST_DISPOSITION},
        {'n', PL_HDR_IDENTITY_INFO},
    };
    for (size_t i = 0; i < sizeof(cf) / sizeof(cf[0]); i++) {
        char lo = cf[i].c, up = (char)(cf[i].c - 'a' + 'A');
        if (pl_hdr_id_from_name((pl_str){&lo, 1}) != cf[i].id)
            fail_msg("compact '%c' -> %d, want %d", lo, pl_hdr_id_from_name((pl_str){&lo, 1}),
                     cf[i].id);
        if (pl_hdr_id_from_name((pl_str){&up, 1}) != cf[i].id)
            fail_msg("compact '%c' -> %d, want %d", up, pl_hdr_id_from_name((pl_str){&up, 1}),
                     cf[i].id);
    }
    /* letters without a compact form */
    static const char none[] = "ghpqwzGHPQWZ0-";
    for (size_t i = 0; i < sizeof(none) - 1; i++)
        assert_int_equal(pl_hdr_id_from_name((pl_str){&none[i], 1}), PL_HDR_OTHER);
}

static void test_canonical_names(void **state)
{
    (void)state;
    assert_string_equal(pl_hdr_canonical_name(PL_HDR_CALL_ID), "Call-ID");
    assert_string_equal(pl_hdr_canonical_name(PL_HDR_VIA), "Via");
    assert_string_equal(pl_hdr_canonical_name(PL_HDR_CSEQ), "CSeq");
    assert_string_equal(pl_hdr_canonical_name(PL_HDR_WWW_AUTHENTICATE), "WWW-Authenticate");
    assert_string_equal(pl_hdr_canonical_name(PL_HDR_SIP_ETAG), "SIP-ETag");
    assert_string_equal(pl_hdr_canonical_name(PL_HDR_CONTENT_LENGTH), "Content-Length");
    assert_null(pl_hdr_canonical_name(PL_HDR_OTHER));
    assert_null(pl_hdr_canonical_name(PL_HDR_COUNT_));

    /* every canonical name maps back, in any case */
    for (int id = 1; id < PL_HDR_COUNT_; id++) {
        const char *n = pl_hdr_canonical_name((pl_hdr_id)id);
        assert_non_null(n);
        char lo[64], up[64];
        size_t len = strlen(n);
        assert_true(len < sizeof(lo));
        for (size_t k = 0; k < len; k++) {
            lo[k] = (n[k] >= 'A' && n[k] <= 'Z') ? (char)(n[k] + 32) : n[k];
            up[k] = (n[k] >= 'a' && n[k] <= 'z') ? (char)(n[k] - 32) : n[k];
        }
        if (pl_hdr_id_from_name(pl_str_c(n)) != (pl_hdr_id)id)
            fail_msg("%s does not map back", n);
        if (pl_hdr_id_from_name((pl_str){lo, len}) != (pl_hdr_id)id)
            fail_msg("%.*s does not map back", (int)len, lo);
        if (pl_hdr_id_from_name((pl_str){up, len}) != (pl_hdr_id)id)
            fail_msg("%.*s does not map back", (int)len, up);
        /* one byte short is not the name */
        if (len > 2 && pl_hdr_id_from_name((pl_str){n, len - 1}) == (pl_hdr_id)id)
            fail_msg("%.*s maps to %s", (int)len - 1, n, n);
    }
    assert_int_equal(pl_hdr_id_from_name(PL_STR_LIT("cAlL-iD")), PL_HDR_CALL_ID);
    assert_int_equal(pl_hdr_id_from_name(PL_STR_LIT("X-Foo")), PL_HDR_OTHER);
    assert_int_equal(pl_hdr_id_from_name(PL_STR_LIT("Vias")), PL_HDR_OTHER);
    assert_int_equal(pl_hdr_id_from_name(PL_STR_LIT("Vi")), PL_HDR_OTHER);
    assert_int_equal(pl_hdr_id_from_name(PL_STR_LIT("Call-I")), PL_HDR_OTHER);
    assert_int_equal(pl_hdr_id_from_name(PL_STR_LIT("Call_ID")), PL_HDR_OTHER);
    /* same length, first and last byte as a known name */
    assert_int_equal(pl_hdr_id_from_name(PL_STR_LIT("Vxa")), PL_HDR_OTHER);
    assert_int_equal(pl_hdr_id_from_name(PL_STR_LIT("Frxm")), PL_HDR_OTHER);
    assert_int_equal(pl_hdr_id_from_name(PL_STR_LIT("Contacu")), PL_HDR_OTHER);
    assert_int_equal(pl_hdr_id_from_name(PL_STR_LIT("Content-Lengtx")), PL_HDR_OTHER);
    assert_int_equal(pl_hdr_id_from_name(PL_STR_LIT("C-Seq")), PL_HDR_OTHER);
    assert_int_equal(pl_hdr_id_from_name(PL_STR_LIT("A-Very-Long-Header-Name-Nobody-Knows")),
                     PL_HDR_OTHER);

    assert_true(pl_hdr_is_list(PL_HDR_VIA));
    assert_true(pl_hdr_is_list(PL_HDR_CONTACT));
    assert_true(pl_hdr_is_list(PL_HDR_ALLOW));
    assert_false(pl_hdr_is_list(PL_HDR_CALL_ID));
    assert_false(pl_hdr_is_list(PL_HDR_SUBJECT));
    assert_false(pl_hdr_is_list(PL_HDR_OTHER));
}

static void test_compact_message(void **state)
{
    (void)state;
    pl_msg m;
    parse_ok("INVITE sip:bob@biloxi.com SIP/2.0\n"
             "v: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK1\n"
             "f: \"A\" <sip:alice@atlanta.com>;tag=1\n"
             "t: sip:bob@biloxi.com\n"
             "i: abc@pc33.atlanta.com\n"
             "m: <sip:alice@pc33.atlanta.com>\n"
             "k: 100rel, timer\n"
             "c: text/plain\n"
             "e: gzip\n"
             "s: hello\n"
             "o: presence\n"
             "u: presence, dialog\n"
             "r: <sip:carol@chicago.com>\n"
             "b: <sip:dave@example.com>\n"
             "x: 1800\n"
             "y: abcdef\n"
             "a: *;audio\n"
             "j: *;video\n"
             "d: proxy\n"
             "n: <https://example.com/cert>\n"
             "CSeq: 1 INVITE\n"
             "l: 3\n"
             "\n"
             "abc",
             &m);
    assert_int_equal(m.via_count, 1);
    assert_str(m.via->branch, "z9hG4bK1");
    assert_non_null(m.from);
    assert_str(m.from->tag, "1");
    assert_non_null(m.to);
    assert_str(m.to->uri.user, "bob");
    assert_str(m.call_id, "abc@pc33.atlanta.com");
    assert_int_equal(m.contact_count, 1);
    assert_true(m.has_content_type);
    assert_str(m.content_type.type, "text");
    assert_true(m.has_content_length);
    assert_int_equal(m.content_length, 3);
    assert_str(m.body, "abc");
    assert_true(pl_msg_has_option(&m, PL_HDR_SUPPORTED, "timer"));

    static const pl_hdr_id want[] = {
        PL_HDR_VIA,
        PL_HDR_FROM,
        PL_HDR_TO,
        PL_HDR_CALL_ID,
        PL_HDR_CONTACT,
        PL_HDR_SUPPORTED,
        PL_HDR_CONTENT_TYPE,
        PL_HDR_CONTENT_ENCODING,
        PL_HDR_SUBJECT,
        PL_HDR_EVENT,
        PL_HDR_ALLOW_EVENTS,
        PL_HDR_REFER_TO,
        PL_HDR_REFERRED_BY,
        PL_HDR_SESSION_EXPIRES,
        PL_HDR_IDENTITY,
        PL_HDR_ACCEPT_CONTACT,
        PL_HDR_REJECT_CONTACT,
        PL_HDR_REQUEST_DISPOSITION,
        PL_HDR_IDENTITY_INFO,
        PL_HDR_CSEQ,
        PL_HDR_CONTENT_LENGTH,
    };
    assert_int_equal(m.hdr_count, sizeof(want) / sizeof(want[0]));
    for (uint32_t i = 0; i < m.hdr_count; i++) {
        if (m.hdrs[i].id != want[i])
            fail_msg("header %u (%.*s): id %d, want %d", i, (int)m.hdrs[i].name.len,
                     m.hdrs[i].name.p, m.hdrs[i].id, want[i]);
        assert_int_equal(m.hdrs[i].name.len, i < 19 ? 1 : (i == 19 ? 4 : 1));
    }
    /* lookup by either name finds the compact header */
    assert_int_equal(pl_msg_hdr_find_name(&m, PL_STR_LIT("Subject"), 0), 8);
    assert_int_equal(pl_msg_hdr_find_name(&m, PL_STR_LIT("s"), 0), 8);
    assert_int_equal(pl_msg_hdr_find_name(&m, PL_STR_LIT("SESSION-EXPIRES"), 0), 13);
    assert_int_equal(pl_msg_hdr_find_name(&m, PL_STR_LIT("X-Nothing"), 0), -1);
    assert_int_equal(pl_msg_hdr_find(&m, PL_HDR_SUBJECT, 9), -1);
}

static void test_case_insensitive_names(void **state)
{
    (void)state;
    pl_msg m;
    parse_ok("INVITE sip:bob@biloxi.com SIP/2.0\n"
             "VIA: SIP/2.0/UDP pc33.atlanta.com;BRANCH=z9hG4bK1;RPort;Received=192.0.2.1\n"
             "fRoM: <sip:alice@atlanta.com>;TAG=1\n"
             "TO: <sip:bob@biloxi.com>\n"
             "cAlL-iD: xyz\n"
             "cseq: 7 INVITE\n"
             "MAX-FORWARDS: 9\n"
             "content-length: 0\n"
             "\n",
             &m);
    assert_int_equal(m.via_count, 1);
    assert_str(m.via->branch, "z9hG4bK1");
    assert_true(m.via->has_rport);
    assert_str(m.via->received, "192.0.2.1");
    assert_str(m.from->tag, "1");
    assert_non_null(m.to);
    assert_str(m.call_id, "xyz");
    assert_int_equal(m.cseq.num, 7);
    assert_int_equal(m.max_forwards, 9);
    assert_true(m.has_content_length);
    assert_str(m.hdrs[0].name, "VIA");
    assert_int_equal(m.hdrs[0].id, PL_HDR_VIA);
    assert_str(m.hdrs[3].name, "cAlL-iD");
    assert_int_equal(m.hdrs[3].id, PL_HDR_CALL_ID);
}

/* ------------------------------------------------------------------ folding, whitespace */

static void test_folding(void **state)
{
    (void)state;
    pl_msg m;
    parse_ok("INVITE sip:bob@biloxi.com SIP/2.0\n"
             "Via: SIP/2.0/UDP pc33.atlanta.com\n"
             " ;branch=z9hG4bK1\n"
             "Subject: I know you're there,\n"
             "\tpick up the phone\n"
             "X-Late:\n"
             "   starts here\n"
             "Via  : SIP/2.0/UDP second.example.com;branch=z9hG4bK2\n"
             "Max-Forwards:\t70\t\n"
             "To\t:\t<sip:bob@biloxi.com>  \n"
             "From: <sip:alice@atlanta.com>\n"
             "  ;tag=88\n"
             "Call-ID: abc\n"
             "CSeq: 1\n"
             "   INVITE\n"
             "Content-Length: 0\n"
             "\n",
             &m);
    assert_int_equal(m.via_count, 2);
    assert_str(m.via->host, "pc33.atlanta.com");
    assert_str(m.via->branch, "z9hG4bK1");
    assert_str(m.via->next->host, "second.example.com");

    const pl_hdr *h = &m.hdrs[0];
    assert_str(h->name, "Via");
    assert_str(h->value, "SIP/2.0/UDP pc33.atlanta.com\r\n ;branch=z9hG4bK1");
    assert_str(h->line, "Via: SIP/2.0/UDP pc33.atlanta.com\r\n ;branch=z9hG4bK1\r\n");

    h = hdr_at(&m, PL_HDR_SUBJECT, 1);
    assert_str(h->value, "I know you're there,\r\n\tpick up the phone");
    assert_str(h->line, "Subject: I know you're there,\r\n\tpick up the phone\r\n");

    h = &m.hdrs[2];
    assert_str(h->name, "X-Late");
    assert_int_equal(h->id, PL_HDR_OTHER);
    assert_str(h->value, "starts here");
    assert_str(h->line, "X-Late:\r\n   starts here\r\n");

    h = &m.hdrs[3];
    assert_str(h->name, "Via");
    assert_int_equal(h->id, PL_HDR_VIA);
    assert_str(h->value, "SIP/2.0/UDP second.example.com;branch=z9hG4bK2");
    assert_str(h->line, "Via  : SIP/2.0/UDP second.example.com;branch=z9hG4bK2\r\n");

    h = hdr_at(&m, PL_HDR_MAX_FORWARDS, 1);
    assert_str(h->value, "70");
    assert_int_equal(m.max_forwards, 70);

    h = hdr_at(&m, PL_HDR_TO, 1);
    assert_str(h->name, "To");
    assert_str(h->value, "<sip:bob@biloxi.com>");
    assert_str(m.from->tag, "88");
    assert_int_equal(m.cseq.num, 1);
    assert_str(m.cseq.method, "INVITE");
}

static void test_empty_value_and_trailing_ws(void **state)
{
    (void)state;
    pl_msg m;
    parse_ok(RL BASE "Subject:\n"
                     "X-Empty:   \n"
                     "X-Trail: a b  \t \n" CL0 "\n",
             &m);
    const pl_hdr *h = hdr_at(&m, PL_HDR_SUBJECT, 1);
    assert_int_equal(h->value.len, 0);
    assert_str(h->line, "Subject:\r\n");
    int32_t i = pl_msg_hdr_find_name(&m, PL_STR_LIT("x-empty"), 0);
    assert_true(i >= 0);
    assert_int_equal(m.hdrs[i].value.len, 0);
    i = pl_msg_hdr_find_name(&m, PL_STR_LIT("X-Trail"), 0);
    assert_true(i >= 0);
    assert_str(m.hdrs[i].value, "a b");
}

/* ------------------------------------------------------------------ unknown headers */

static void test_unknown_headers_kept(void **state)
{
    (void)state;
    pl_msg m;
    parse_ok(RL VIA "X-Custom-Header  :   Some  value ; with=stuff, \"q,\" <a,b>  \n" FROM
                    "x-custom-header: second\n" TO CID CSEQ "P-Weird.Name!~: \xc3\xa9\x80\xff\n"
                    "Date: Sat, 13 Nov 2010 23:29:00 GMT\n" CL0 "\n",
             &m);
    assert_int_equal(m.hdr_count, 10);
    const char *names[] = {"Via",  "X-Custom-Header", "From", "x-custom-header", "To", "Call-ID",
                           "CSeq", "P-Weird.Name!~",  "Date", "Content-Length"};
    for (uint32_t k = 0; k < m.hdr_count; k++)
        assert_str(m.hdrs[k].name, names[k]);
    assert_int_equal(m.hdrs[1].id, PL_HDR_OTHER);
    assert_str(m.hdrs[1].value, "Some  value ; with=stuff, \"q,\" <a,b>");
    assert_str(m.hdrs[1].line, "X-Custom-Header  :   Some  value ; with=stuff, \"q,\" <a,b>  \r\n");
    assert_str(m.hdrs[3].value, "second");
    assert_int_equal(m.hdrs[7].id, PL_HDR_OTHER);
    assert_str(m.hdrs[7].value, "\xc3\xa9\x80\xff");
    assert_int_equal(m.hdrs[8].id, PL_HDR_DATE);
    assert_str(m.hdrs[8].value, "Sat, 13 Nov 2010 23:29:00 GMT");
    assert_int_equal(pl_msg_hdr_find_name(&m, PL_STR_LIT("X-CUSTOM-HEADER"), 0), 1);
    assert_int_equal(pl_msg_hdr_find_name(&m, PL_STR_LIT("X-CUSTOM-HEADER"), 2), 3);
    /* the lines tile the header section */
    for (uint32_t k = 0; k + 1 < m.hdr_count; k++)
        assert_ptr_equal(m.hdrs[k].line.p + m.hdrs[k].line.len, m.hdrs[k + 1].line.p);
}

/* ------------------------------------------------------------------ lists */

static void test_multi_value_headers(void **state)
{
    (void)state;
    pl_msg m;
    parse_ok("INVITE sip:bob@biloxi.com SIP/2.0\n"
             "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1 , SIP/2.0/UDP "
             "b.example.com;branch=z9hG4bK2\n"
             "v: SIP/2.0/UDP c.example.com;branch=z9hG4bK3\n"
             "Contact: <sip:a@a.example.com>, <sip:b@b.example.com>\n"
             "Route: <sip:r1.example.com;lr>,<sip:r2.example.com;lr>\n"
             "Record-Route: <sip:rr1.example.com;lr>\n"
             "Route: <sip:r3.example.com;lr>\n"
             "Record-Route: <sip:rr2.example.com;lr>, <sip:rr3.example.com;lr>\n"
             "m: \"Quoted, with comma\" <sip:c@c.example.com>\n" FROM TO CID CSEQ CL0 "\n",
             &m);
    assert_int_equal(m.via_count, 3);
    assert_str(m.via->host, "a.example.com");
    assert_str(m.via->next->host, "b.example.com");
    assert_str(m.via->next->next->host, "c.example.com");
    assert_null(m.via->next->next->next);
    assert_int_equal(m.contact_count, 3);
    assert_str(m.contact->uri.user, "a");
    assert_str(m.contact->next->uri.user, "b");
    assert_str(m.contact->next->next->uri.user, "c");
    assert_str(m.contact->next->next->display, "\"Quoted, with comma\"");
    assert_int_equal(m.route_count, 3);
    assert_str(m.route->uri.host, "r1.example.com");
    assert_str(m.route->next->uri.host, "r2.example.com");
    assert_str(m.route->next->next->uri.host, "r3.example.com");
    assert_int_equal(m.record_route_count, 3);
    assert_str(m.record_route->uri.host, "rr1.example.com");
    assert_str(m.record_route->next->uri.host, "rr2.example.com");
    assert_str(m.record_route->next->next->uri.host, "rr3.example.com");
    assert_null(m.record_route->next->next->next);
}

static void test_value_iter_and_options(void **state)
{
    (void)state;
    pl_msg m;
    parse_ok(RL BASE "Allow: INVITE, ACK,,OPTIONS\n"
                     "Supported: 100rel , timer\n"
                     "Allow: ,BYE,\n"
                     "Allow:\n"
                     "Subject: a, b\n"
                     "Require: 100rel, foo\n"
                     "Proxy-Require: sec-agree\n"
                     "k: path\n"
                     "Subject: c\n" CL0 "\n",
             &m);
    static const char *const allow[] = {"INVITE", "ACK", "OPTIONS", "BYE"};
    pl_value_iter it;
    pl_str v;
    size_t n = 0;
    pl_value_iter_init(&it, &m, PL_HDR_ALLOW);
    while (pl_value_iter_next(&it, &v)) {
        assert_true(n < 4);
        assert_str(v, allow[n]);
        n++;
    }
    assert_int_equal(n, 4);
    assert_false(pl_value_iter_next(&it, &v));

    static const char *const sup[] = {"100rel", "timer", "path"};
    n = 0;
    pl_value_iter_init(&it, &m, PL_HDR_SUPPORTED);
    while (pl_value_iter_next(&it, &v)) {
        assert_true(n < 3);
        assert_str(v, sup[n]);
        n++;
    }
    assert_int_equal(n, 3);

    /* a non-list header yields whole values */
    n = 0;
    pl_value_iter_init(&it, &m, PL_HDR_SUBJECT);
    assert_true(pl_value_iter_next(&it, &v));
    assert_str(v, "a, b");
    assert_true(pl_value_iter_next(&it, &v));
    assert_str(v, "c");
    assert_false(pl_value_iter_next(&it, &v));

    /* absent header */
    pl_value_iter_init(&it, &m, PL_HDR_UNSUPPORTED);
    assert_false(pl_value_iter_next(&it, &v));

    assert_true(pl_msg_has_option(&m, PL_HDR_SUPPORTED, "100rel"));
    assert_true(pl_msg_has_option(&m, PL_HDR_SUPPORTED, "timer"));
    assert_true(pl_msg_has_option(&m, PL_HDR_SUPPORTED, "path"));
    assert_false(pl_msg_has_option(&m, PL_HDR_SUPPORTED, "gruu"));
    assert_false(pl_msg_has_option(&m, PL_HDR_SUPPORTED, "100re"));
    assert_true(pl_msg_has_option(&m, PL_HDR_REQUIRE, "foo"));
    assert_false(pl_msg_has_option(&m, PL_HDR_UNSUPPORTED, "foo"));

    static const char *const s1[] = {"100rel", NULL};
    static const char *const s2[] = {"100rel", "foo", "timer", NULL};
    static const char *const s3[] = {NULL};
    pl_str tag = PL_STR_NULL;
    assert_true(pl_msg_unsupported(&m, PL_HDR_REQUIRE, s1, &tag));
    assert_str(tag, "foo");
    tag = PL_STR_NULL;
    assert_false(pl_msg_unsupported(&m, PL_HDR_REQUIRE, s2, &tag));
    assert_true(pl_msg_unsupported(&m, PL_HDR_REQUIRE, s3, &tag));
    assert_str(tag, "100rel");
    assert_true(pl_msg_unsupported(&m, PL_HDR_PROXY_REQUIRE, s2, &tag));
    assert_str(tag, "sec-agree");
    assert_true(pl_msg_unsupported(&m, PL_HDR_PROXY_REQUIRE, NULL, NULL));
    assert_false(pl_msg_unsupported(&m, PL_HDR_UNSUPPORTED, s3, &tag));
}

static void test_list_next(void **state)
{
    (void)state;
    pl_str rest = PL_STR_LIT(" a , \"b,c\\\",d\" , <sip:x@y;p=1,2>;q=1 ,, \"N\" <sip:z>,\td ,");
    static const char *const want[] = {"a", "\"b,c\\\",d\"", "<sip:x@y;p=1,2>;q=1", "\"N\" <sip:z>",
                                       "d"};
    pl_str item;
    size_t n = 0;
    while (pl_list_next(&rest, &item)) {
        assert_true(n < 5);
        assert_str(item, want[n]);
        n++;
    }
    assert_int_equal(n, 5);
    assert_int_equal(rest.len, 0);

    rest = PL_STR_LIT(",,, ,");
    assert_false(pl_list_next(&rest, &item));
    rest = PL_STR_NULL;
    assert_false(pl_list_next(&rest, &item));
    rest = PL_STR_LIT("single");
    assert_true(pl_list_next(&rest, &item));
    assert_str(item, "single");
    assert_false(pl_list_next(&rest, &item));
}

/* ------------------------------------------------------------------ display names, addresses */

static void test_display_names(void **state)
{
    (void)state;
    pl_msg m;
    parse_ok(RL VIA "From: \"J Rosenberg \\\\\\\"\" <sip:jdrosen@example.com>;tag=98asjd8\n"
                    "To: Bob  Smith <sip:bob@biloxi.com>\n" CID CSEQ
                    "Contact: \"\" <sip:empty@example.com>, <sip:none@example.com>\n" CL0 "\n",
             &m);
    /* raw: "J Rosenberg \\\"" */
    assert_str(m.from->display, "\"J Rosenberg \\\\\\\"\"");
    char out[64];
    size_t n = 0;
    assert_int_equal(pl_display_name_decode(m.from->display, out, sizeof(out), &n), PL_OK);
    assert_int_equal(n, 14);
    assert_memory_equal(out, "J Rosenberg \\\"", 14);
    assert_str(m.from->tag, "98asjd8");
    assert_str(m.from->uri.user, "jdrosen");

    /* ENOSPC one byte short, nothing written past cap */
    memset(out, '#', sizeof(out));
    assert_int_equal(pl_display_name_decode(m.from->display, out, 13, &n), PL_ENOSPC);
    for (size_t k = 13; k < sizeof(out); k++)
        assert_int_equal(out[k], '#');
    assert_int_equal(pl_display_name_decode(m.from->display, out, 14, &n), PL_OK);
    assert_int_equal(out[14], '#');

    /* token display name, returned as written */
    assert_str(m.to->display, "Bob  Smith");
    assert_int_equal(pl_display_name_decode(m.to->display, out, sizeof(out), &n), PL_OK);
    assert_int_equal(n, 10);
    assert_memory_equal(out, "Bob  Smith", 10);
    memset(out, '#', sizeof(out));
    assert_int_equal(pl_display_name_decode(m.to->display, out, 9, &n), PL_ENOSPC);
    for (size_t k = 9; k < sizeof(out); k++)
        assert_int_equal(out[k], '#');

    /* empty quoted display name, and none */
    assert_str(m.contact->display, "\"\"");
    assert_int_equal(pl_display_name_decode(m.contact->display, out, sizeof(out), &n), PL_OK);
    assert_int_equal(n, 0);
    assert_int_equal(m.contact->next->display.len, 0);
    assert_int_equal(pl_display_name_decode(m.contact->next->display, out, 0, &n), PL_OK);
    assert_int_equal(n, 0);

    /* malformed quoted strings */
    assert_int_equal(pl_display_name_decode(PL_STR_LIT("\"abc"), out, sizeof(out), &n), PL_EPARSE);
    assert_int_equal(pl_display_name_decode(PL_STR_LIT("\"a\\\""), out, sizeof(out), &n),
                     PL_EPARSE);
    assert_int_equal(pl_display_name_decode(PL_STR_LIT("\""), out, sizeof(out), &n), PL_EPARSE);
}

static void test_addr_spec_and_params(void **state)
{
    (void)state;
    pl_msg m;
    parse_ok(RL VIA "From: sip:alice@atlanta.com;tag=x1\n"
                    "To: sip:bob@biloxi.com\n" CID CSEQ
                    "Route: <sip:p1.example.com;lr>, <sip:p2.example.com>;lr\n"
                    "Contact: sip:c@example.com;expires=60;q=0.5, "
                    "<sip:d@example.com;transport=tcp>;expires=0\n" CL0 "\n",
             &m);
    /* addr-spec: parameters after the URI are header parameters (RFC 3261 20.10) */
    assert_false(m.from->angle);
    assert_str(m.from->uri_raw, "sip:alice@atlanta.com");
    assert_int_equal(m.from->uri.params.len, 0);
    assert_str(m.from->params, ";tag=x1");
    assert_true(m.from->has_tag);
    assert_str(m.from->tag, "x1");
    assert_int_equal(m.from->display.len, 0);
    assert_false(m.to->angle);
    assert_false(m.to->has_tag);

    /* ;lr inside <> is a URI parameter; outside it is a header parameter */
    assert_true(m.route->uri.lr);
    assert_str(m.route->uri.params, ";lr");
    assert_int_equal(m.route->params.len, 0);
    assert_false(m.route->next->uri.lr);
    assert_int_equal(m.route->next->uri.params.len, 0);
    assert_str(m.route->next->params, ";lr");

    assert_int_equal(m.contact_count, 2);
    assert_str(m.contact->uri_raw, "sip:c@example.com");
    assert_int_equal(m.contact->uri.params.len, 0);
    assert_int_equal(m.contact->expires, 60);
    assert_str(m.contact->q, "0.5");
    assert_str(m.contact->next->uri.transport, "tcp");
    assert_true(m.contact->next->has_expires);
    assert_int_equal(m.contact->next->expires, 0);
}

static void test_contact_star(void **state)
{
    (void)state;
    pl_msg m;
    parse_ok("REGISTER sip:registrar.biloxi.com SIP/2.0\n" VIA FROM TO CID
             "CSeq: 1 REGISTER\nContact: *\nExpires: 0\n" CL0 "\n",
             &m);
    assert_true(m.contact_star);
    assert_int_equal(m.contact_count, 0);
    assert_true(m.has_expires);
    assert_int_equal(m.expires, 0);
}

static void test_quoted_pair_nul_is_legal(void **state)
{
    (void)state;
    pl_msg m;
    /* RFC 3261 25.1: quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F) */
    parse_ok_patch(RL BASE "Subject: \"a\\^b\"\n" CL0 "\n", '\0', &m);
    const pl_hdr *h = hdr_at(&m, PL_HDR_SUBJECT, 1);
    assert_int_equal(h->value.len, 6);
    assert_int_equal(h->value.p[3], '\0');
    parse_ok_patch(RL VIA "From: \"x\\^y\" <sip:alice@atlanta.com>;tag=1\n" TO CID CSEQ CL0 "\n",
                   '\x01', &m);
    assert_int_equal(m.from->display.len, 6);
}

/* ------------------------------------------------------------------ typed parsers */

static void test_via_parse(void **state)
{
    (void)state;
    pl_via v;
    pl_error err = {0, 0, NULL};
    assert_int_equal(
        pl_via_parse(
            &v,
            PL_STR_LIT(
                "SIP/2.0/UDP host.example.com:5060;branch=z9hG4bK1;rport;received=192.0.2.1"),
            0, &err),
        PL_OK);
    assert_str(v.protocol, "SIP/2.0");
    assert_str(v.transport, "UDP");
    assert_str(v.host, "host.example.com");
    assert_int_equal(v.port, 5060);
    assert_str(v.branch, "z9hG4bK1");
    assert_true(v.has_rport);
    assert_int_equal(v.rport_value.len, 0);
    assert_str(v.received, "192.0.2.1");
    assert_null(v.next);

    /* RFC 4475 wsinv: LWS around '/' and ':', folds */
    assert_int_equal(
        pl_via_parse(
            &v,
            PL_STR_LIT("SIP  /  2.0  / TCP  host.example.com : 5061 ;  branch = z9hG4bK2 ; ttl=0"),
            0, &err),
        PL_OK);
    assert_str(v.transport, "TCP");
    assert_str(v.host, "host.example.com");
    assert_int_equal(v.port, 5061);
    assert_str(v.branch, "z9hG4bK2");
    assert_str(v.ttl, "0");
    assert_int_equal(
        pl_via_parse(&v,
                     PL_STR_LIT("SIP/2.0/UDP 192.0.2.1;received=2001:db8::1;maddr=[2001:db8::2]"),
                     0, &err),
        PL_OK);
    assert_int_equal(v.host_type, PL_HOST_IPV4);
    assert_str(v.received, "2001:db8::1");
    assert_str(v.maddr, "[2001:db8::2]");
    assert_int_equal(
        pl_via_parse(&v, PL_STR_LIT("SIP/2.0/WSS [::1]:443;branch=z9hG4bK3;x=\"a;b\""), 0, &err),
        PL_OK);
    assert_str(v.transport, "WSS");
    assert_int_equal(v.host_type, PL_HOST_IPV6);
    assert_int_equal(v.port, 443);

    static const struct {
        const char *in;
        size_t lo, hi;
    } bad[] = {
        {"", 0, 0},
        {"SIP/2.0 host", 0, 7},
        {"SIP/2.0/UDP", 11, 11},
        {"SIP/2.0/UDP ", 12, 12},
        {"SIP/2.0/UDP ;branch=z9hG4bK1", 12, 12},
        {"SIP/2.0/UDP h;branch", 14, 20},
        {"SIP/2.0/UDP h;branch=\"x\"", 14, 21},
        {"SIP/2.0/UDP h;branch=a;branch=b", 23, 23},
        {"SIP/2.0/UDP h extra", 14, 14},
        {"SIP/2.0/UDP h;ttl=256", 14, 18},
        {"SIP/2.0/UDP h;ttl=", 14, 18},
        {"SIP/2.0/UDP h;maddr=bad..host", 14, 20},
        {"SIP/2.0/UDP h:0", 14, 14},
        {"SIP/2.0/UDP h:65536", 14, 14},
        {"SIP/2.0/UDP h:", 14, 14},
        {"SIP/2.0/UDP h;rport=0", 14, 20},
        {"SIP/2.0/UDP h;rport=x", 14, 20},
        {"SIP/2.0/UDP h;received=example.com", 14, 23},
        {"SIP/2.0/UDP h;received", 14, 22},
        {"SIP/2.0/UDP h;;branch=z9hG4bK1", 14, 14},
        {"SIP/2.0/UDP h, SIP/2.0/UDP i", 13, 13},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err.reason = NULL;
        err.offset = (size_t)-1;
        int rc = pl_via_parse(&v, pl_str_c(bad[i].in), 0, &err);
        if (rc == PL_OK || rc != err.code || !err.reason || err.offset < bad[i].lo ||
            err.offset > bad[i].hi)
            fail_msg("via \"%s\": rc %d, offset %zu (%s), want error at %zu..%zu", bad[i].in, rc,
                     err.offset, err.reason ? err.reason : "-", bad[i].lo, bad[i].hi);
        assert_int_equal(rc, PL_EPARSE);
    }

    /* max_params */
    assert_int_equal(pl_via_parse(&v, PL_STR_LIT("SIP/2.0/UDP h;a;b"), 2, &err), PL_OK);
    assert_int_equal(pl_via_parse(&v, PL_STR_LIT("SIP/2.0/UDP h;a;b;c"), 2, &err), PL_ELIMIT);
    assert_non_null(err.reason);
    assert_int_equal(err.offset, 18);
}

/* sent-protocol = protocol-name SLASH protocol-version SLASH transport, and
 * SLASH = SWS "/" SWS: blanks after the last slash are as legal as anywhere. */
static void test_via_lws_after_last_slash(void **state)
{
    (void)state;
    pl_via v;
    pl_error err = {0, 0, NULL};
    assert_int_equal(
        pl_via_parse(&v, PL_STR_LIT("SIP/2.0/ UDP host.example.com;branch=z9hG4bK1"), 0, &err),
        PL_OK);
    assert_str(v.transport, "UDP");
    assert_str(v.host, "host.example.com");
    pl_msg m;
    parse_ok(RL "Via: SIP/2.0/\n UDP pc33.atlanta.com;branch=z9hG4bK1\n" FROM TO CID CSEQ CL0 "\n",
             &m);
    assert_str(m.via->transport, "UDP");
}

static void test_nameaddr_parse(void **state)
{
    (void)state;
    pl_nameaddr na;
    pl_error err = {0, 0, NULL};
    assert_int_equal(
        pl_nameaddr_parse(&na, PL_STR_LIT("\"A B\" <sip:a@b.com;lr>;tag=x;foo"), 0, &err), PL_OK);
    assert_str(na.display, "\"A B\"");
    assert_str(na.uri_raw, "sip:a@b.com;lr");
    assert_true(na.uri.lr);
    assert_true(na.angle);
    assert_str(na.tag, "x");
    assert_str(na.params, ";tag=x;foo");
    assert_str(na.raw, "\"A B\" <sip:a@b.com;lr>;tag=x;foo");
    assert_null(na.next);
    assert_int_equal(pl_nameaddr_parse(&na, PL_STR_LIT("  <tel:+1234>  "), 0, &err), PL_OK);
    assert_int_equal(na.uri.scheme, PL_URI_TEL);
    assert_int_equal(pl_nameaddr_parse(&na, PL_STR_LIT("sip:a@b.com ; tag = y"), 0, &err), PL_OK);
    assert_false(na.angle);
    assert_str(na.tag, "y");
    assert_int_equal(pl_nameaddr_parse(&na, PL_STR_LIT("Name <urn:service:sos>"), 0, &err), PL_OK);
    assert_int_equal(na.uri.scheme, PL_URI_OTHER);
    assert_int_equal(
        pl_nameaddr_parse(&na, PL_STR_LIT("<sip:a@b>;expires=4294967295;q=1.000"), 0, &err), PL_OK);
    assert_int_equal(na.expires, 4294967295u);
    assert_str(na.q, "1.000");

    static const struct {
        const char *in;
        int code;
        size_t lo, hi;
    } bad[] = {
        {"", PL_EPARSE, 0, 0},
        {"   ", PL_EPARSE, 0, 3},
        {"<sip:a@b> junk", PL_EPARSE, 10, 10},
        {"\"A <sip:a@b>", PL_EPARSE, 0, 0},
        {"\"A\" sip:a@b", PL_EPARSE, 4, 4},
        {"<sip:a@b", PL_EPARSE, 0, 0},
        {"<sip:a@b:0>", PL_EPARSE, 9, 9},
        {"<>", PL_EPARSE, 1, 1},
        {"sip:a@b?x=y", PL_EPARSE, 7, 7},
        {"<sip:a@b>;tag=", PL_EPARSE, 10, 14},
        {"<sip:a@b>;tag", PL_EPARSE, 10, 10},
        {"<sip:a@b>;tag=1;tag=2", PL_EPARSE, 16, 16},
        {"<sip:a@b>;tag=\"q\"", PL_EPARSE, 10, 14},
        {"<sip:a@b>;expires=x", PL_EPARSE, 10, 18},
        {"<sip:a@b>;expires=4294967296", PL_ELIMIT, 10, 18},
        {"<sip:a@b>;q=2", PL_EPARSE, 10, 12},
        {"<sip:a@b>;q=0.1234", PL_EPARSE, 10, 12},
        {"<sip:a@b>;q=1.5", PL_EPARSE, 10, 12},
        {"<sip:a@b>;=x", PL_EPARSE, 10, 10},
        {"<sip:a@b>;x=\"unterminated", PL_EPARSE, 12, 12},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err.reason = NULL;
        err.offset = (size_t)-1;
        err.code = 0;
        int rc = pl_nameaddr_parse(&na, pl_str_c(bad[i].in), 0, &err);
        if (rc != bad[i].code || err.code != rc || !err.reason || err.offset < bad[i].lo ||
            err.offset > bad[i].hi)
            fail_msg("nameaddr \"%s\": rc %d, offset %zu (%s), want %d at %zu..%zu", bad[i].in, rc,
                     err.offset, err.reason ? err.reason : "-", bad[i].code, bad[i].lo, bad[i].hi);
    }
    assert_int_equal(pl_nameaddr_parse(&na, PL_STR_LIT("<sip:a@b>;a;b"), 2, &err), PL_OK);
    assert_int_equal(pl_nameaddr_parse(&na, PL_STR_LIT("<sip:a@b>;a;b;c"), 2, &err), PL_ELIMIT);
    assert_non_null(err.reason);
}

static void test_cseq_parse(void **state)
{
    (void)state;
    pl_cseq c;
    pl_error err = {0, 0, NULL};
    assert_int_equal(pl_cseq_parse(&c, PL_STR_LIT("101 INVITE"), &err), PL_OK);
    assert_int_equal(c.num, 101);
    assert_str(c.method, "INVITE");
    assert_int_equal(c.method_id, PL_METHOD_INVITE);
    assert_int_equal(pl_cseq_parse(&c, PL_STR_LIT("  0\t  ACK  "), &err), PL_OK);
    assert_int_equal(c.num, 0);
    assert_int_equal(c.method_id, PL_METHOD_ACK);
    assert_int_equal(pl_cseq_parse(&c, PL_STR_LIT("4294967295 FOO"), &err), PL_OK);
    assert_int_equal(c.num, 4294967295u);
    assert_int_equal(c.method_id, PL_METHOD_OTHER);
    assert_int_equal(pl_cseq_parse(&c, PL_STR_LIT("00042 BYE"), &err), PL_OK);
    assert_int_equal(c.num, 42);

    static const struct {
        const char *in;
        int code;
        size_t lo, hi;
    } bad[] = {
        {"", PL_EPARSE, 0, 0},
        {"INVITE", PL_EPARSE, 0, 0},
        {"101", PL_EPARSE, 3, 3},
        {"101 ", PL_EPARSE, 3, 4},
        {"101INVITE", PL_EPARSE, 3, 3},
        {"-1 INVITE", PL_EPARSE, 0, 0},
        {"101 INVITE x", PL_EPARSE, 11, 11},
        {"101 INV@TE", PL_EPARSE, 7, 7},
        {"4294967296 INVITE", PL_ELIMIT, 0, 0},
        {"99999999999999999999999 INVITE", PL_ELIMIT, 0, 0},
        {"1.5 INVITE", PL_EPARSE, 0, 1},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err.reason = NULL;
        err.offset = (size_t)-1;
        int rc = pl_cseq_parse(&c, pl_str_c(bad[i].in), &err);
        if (rc != bad[i].code || err.code != rc || !err.reason || err.offset < bad[i].lo ||
            err.offset > bad[i].hi)
            fail_msg("cseq \"%s\": rc %d, offset %zu (%s), want %d at %zu..%zu", bad[i].in, rc,
                     err.offset, err.reason ? err.reason : "-", bad[i].code, bad[i].lo, bad[i].hi);
    }
}

static void test_media_type_parse(void **state)
{
    (void)state;
    pl_media_type mt;
    pl_error err = {0, 0, NULL};
    assert_int_equal(pl_media_type_parse(&mt, PL_STR_LIT("application/sdp"), &err), PL_OK);
    assert_str(mt.type, "application");
    assert_str(mt.subtype, "sdp");
    assert_int_equal(mt.params.len, 0);
    assert_int_equal(pl_media_type_parse(&mt, PL_STR_LIT("text / plain ; charset=utf-8"), &err),
                     PL_OK);
    assert_str(mt.type, "text");
    assert_str(mt.subtype, "plain");
    pl_str v;
    assert_true(pl_param_find(mt.params, "charset", &v));
    assert_str(v, "utf-8");
    assert_int_equal(
        pl_media_type_parse(&mt, PL_STR_LIT("multipart/mixed;boundary=\"a b;c\""), &err), PL_OK);
    assert_true(pl_param_find(mt.params, "boundary", &v));
    assert_str(v, "\"a b;c\"");

    static const struct {
        const char *in;
        size_t lo, hi;
    } bad[] = {
        {"", 0, 0},
        {"application", 11, 11},
        {"text/", 5, 5},
        {"/plain", 0, 0},
        {"text/plain;", 11, 11},
        {"text/plain x", 11, 11},
        {"text/plain;a=", 13, 13},
        {"te xt/plain", 3, 3},
        {"text/plain;a=\"b", 13, 13},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err.reason = NULL;
        err.offset = (size_t)-1;
        int rc = pl_media_type_parse(&mt, pl_str_c(bad[i].in), &err);
        if (rc != PL_EPARSE || err.code != rc || !err.reason || err.offset < bad[i].lo ||
            err.offset > bad[i].hi)
            fail_msg("media type \"%s\": rc %d, offset %zu (%s), want EPARSE at %zu..%zu",
                     bad[i].in, rc, err.offset, err.reason ? err.reason : "-", bad[i].lo,
                     bad[i].hi);
    }
}

static void test_token_params_parse(void **state)
{
    (void)state;
    pl_str tok, params, v;
    pl_error err = {0, 0, NULL};
    assert_int_equal(pl_token_params_parse(PL_STR_LIT("presence;id=1"), &tok, &params, &err),
                     PL_OK);
    assert_str(tok, "presence");
    assert_str(params, ";id=1");
    assert_true(pl_param_find(params, "id", &v));
    assert_str(v, "1");
    assert_int_equal(pl_token_params_parse(PL_STR_LIT(" active ; expires=60 ;retry-after=5 "), &tok,
                                           &params, &err),
                     PL_OK);
    assert_str(tok, "active");
    assert_true(pl_param_find(params, "retry-after", &v));
    assert_str(v, "5");
    assert_int_equal(pl_token_params_parse(PL_STR_LIT("dialog"), &tok, &params, &err), PL_OK);
    assert_str(tok, "dialog");
    assert_int_equal(params.len, 0);
    assert_int_equal(pl_token_params_parse(PL_STR_LIT("x"), NULL, NULL, &err), PL_OK);

    static const struct {
        const char *in;
        size_t lo, hi;
    } bad[] = {
        {"", 0, 0},
        {";id=1", 0, 0},
        {"presence;", 9, 9},
        {"presence id", 9, 9},
        {"presence;id=", 12, 12},
        {"pre@sence", 3, 3},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err.reason = NULL;
        err.offset = (size_t)-1;
        int rc = pl_token_params_parse(pl_str_c(bad[i].in), &tok, &params, &err);
        if (rc != PL_EPARSE || err.code != rc || !err.reason || err.offset < bad[i].lo ||
            err.offset > bad[i].hi)
            fail_msg("token params \"%s\": rc %d, offset %zu (%s), want EPARSE at %zu..%zu",
                     bad[i].in, rc, err.offset, err.reason ? err.reason : "-", bad[i].lo,
                     bad[i].hi);
    }
}

static void test_hdr_uint_parse(void **state)
{
    (void)state;
    uint32_t v = 0;
    pl_error err = {0, 0, NULL};
    assert_int_equal(pl_hdr_uint_parse(PL_STR_LIT("3600"), UINT32_MAX, &v, &err), PL_OK);
    assert_int_equal(v, 3600);
    assert_int_equal(pl_hdr_uint_parse(PL_STR_LIT("  42 \t"), 100, &v, &err), PL_OK);
    assert_int_equal(v, 42);
    assert_int_equal(pl_hdr_uint_parse(PL_STR_LIT("0"), 0, &v, &err), PL_OK);
    assert_int_equal(v, 0);
    assert_int_equal(pl_hdr_uint_parse(PL_STR_LIT("4294967295"), UINT32_MAX, &v, &err), PL_OK);
    assert_int_equal(v, 4294967295u);
    assert_int_equal(pl_hdr_uint_parse(PL_STR_LIT("255"), 255, &v, &err), PL_OK);

    v = 7;
    err.reason = NULL;
    assert_int_equal(pl_hdr_uint_parse(PL_STR_LIT("4294967296"), UINT32_MAX, &v, &err), PL_ELIMIT);
    assert_int_equal(err.code, PL_ELIMIT);
    assert_non_null(err.reason);
    assert_int_equal(v, 7);
    err.reason = NULL;
    assert_int_equal(pl_hdr_uint_parse(PL_STR_LIT(" 256"), 255, &v, &err), PL_ELIMIT);
    assert_non_null(err.reason);
    assert_int_equal(err.offset, 1);
    static const char *const bad[] = {"", "  ", "abc", "-1", "1 2", "+5", "0x10", "12abc"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err.reason = NULL;
        err.code = 0;
        int rc = pl_hdr_uint_parse(pl_str_c(bad[i]), UINT32_MAX, &v, &err);
        if (rc != PL_EPARSE || err.code != PL_EPARSE || !err.reason)
            fail_msg("uint \"%s\": rc %d", bad[i], rc);
        assert_true(err.offset <= strlen(bad[i]));
    }
}

/* ------------------------------------------------------------------ malformed: framing bytes */

static void test_bare_lf(void **state)
{
    (void)state;
    /* all bare LF: refused at the first one */
    static const char raw[] =
        "INVITE sip:bob@biloxi.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n"
        "Call-ID: x\n\n";
    char *b = tu_dup(raw, sizeof(raw) - 1);
    pl_msg m;
    pl_error err = {0, 0, NULL};
    g_buf = b;
    g_len = sizeof(raw) - 1;
    int rc = pl_msg_parse(&m, b, sizeof(raw) - 1, tu_arena(), NULL, &err);
    check_err(rc, &err, PL_EPARSE, 33, 33);

    /* a bare LF ending one header line */
    EXPECT_ERR_PATCH(RL VIA "Subject: hi^" FROM TO CID CSEQ CL0 "\n", '\n', PL_EPARSE, "hi^", 2, 2);
    /* a bare LF inside a value */
    EXPECT_ERR_PATCH(RL BASE "Subject: a^b\n" CL0 "\n", '\n', PL_EPARSE, "a^b", 1, 1);
    /* a bare LF as the blank line */
    EXPECT_ERR_PATCH(RL BASE CL0 "^", '\n', PL_EPARSE, "0\r\n^", 3, 3);
}

static void test_bare_cr(void **state)
{
    (void)state;
    EXPECT_ERR_PATCH(RL BASE "Subject: a^b\n" CL0 "\n", '\r', PL_EPARSE, "a^b", 1, 1);
    EXPECT_ERR_PATCH(RL BASE "^X-A: b\n" CL0 "\n", '\r', PL_EPARSE, "^X-A", 0, 0);
    EXPECT_ERR_PATCH(RL BASE "Subject: ab^\n" CL0 "\n", '\r', PL_EPARSE, "ab^", 2, 2);
    /* bare CR after the start line */
    EXPECT_ERR_PATCH("INVITE sip:bob@biloxi.com SIP/2.0^" BASE CL0 "\n", '\r', PL_EPARSE,
                     "SIP/2.0^", 7, 8);
}

static void test_nul_and_controls(void **state)
{
    (void)state;
    /* NUL in a header value */
    EXPECT_ERR_PATCH(RL BASE "Subject: a^b\n" CL0 "\n", '\0', PL_EPARSE, "a^b", 1, 1);
    /* NUL in a quoted string but not after a backslash */
    EXPECT_ERR_PATCH(RL BASE "Subject: \"a^b\"\n" CL0 "\n", '\0', PL_EPARSE, "a^b", 1, 1);
    /* NUL after a backslash outside quotes */
    EXPECT_ERR_PATCH(RL BASE "Subject: a\\^b\n" CL0 "\n", '\0', PL_EPARSE, "\\^b", 1, 1);
    /* NUL in a header name */
    EXPECT_ERR_PATCH(RL BASE "Sub^ject: a\n" CL0 "\n", '\0', PL_EPARSE, "Sub^", 3, 3);
    /* NUL in the method */
    EXPECT_ERR_PATCH("INV^ITE sip:bob@biloxi.com SIP/2.0\n" BASE CL0 "\n", '\0', PL_EPARSE, "INV^",
                     3, 3);
    /* control characters in the start line */
    EXPECT_ERR_PATCH("INVITE sip:bob@biloxi.com SIP/2.0^\n" BASE CL0 "\n", '\x01', PL_EPARSE,
                     "2.0^", 3, 3);
    EXPECT_ERR_PATCH("INVITE sip:bob@bil^oxi.com SIP/2.0\n" BASE CL0 "\n", '\x1f', PL_EPARSE,
                     "bil^", 3, 3);
    EXPECT_ERR_PATCH("SIP/2.0 200 O^K\n" BASE CL0 "\n", '\x7f', PL_EPARSE, "O^K", 1, 1);
    EXPECT_ERR_PATCH("SIP/2.0 200 O^K\n" BASE CL0 "\n", '\0', PL_EPARSE, "O^K", 1, 1);
    /* DEL and ESC in a header value */
    EXPECT_ERR_PATCH(RL BASE "Subject: a^b\n" CL0 "\n", '\x7f', PL_EPARSE, "a^b", 1, 1);
    EXPECT_ERR_PATCH(RL BASE "X-Long-Header-To-Pass-Sixteen-Bytes: aaaaaaaaaaaaaaaaaaaaaaaa^b\n" CL0
                             "\n",
                     '\x1b', PL_EPARSE, "a^b", 1, 1);
}

static void test_missing_blank_line(void **state)
{
    (void)state;
    pl_msg m;
    pl_error err;
    int rc = parse_text(RL BASE CL0, false, 0, NULL, &m, &err);
    check_err(rc, &err, PL_EPARSE, g_len, g_len);
    /* a header not ended by CRLF at all */
    size_t n;
    char *b = tu_crlf(RL BASE "Subject: x", &n);
    g_buf = b;
    g_len = n;
    err.reason = NULL;
    rc = pl_msg_parse(&m, b, n, tu_arena(), NULL, &err);
    check_err(rc, &err, PL_EPARSE, n, n);
    /* start line only, without its CRLF */
    static const char sl[] = "INVITE sip:bob@biloxi.com SIP/2.0";
    b = tu_dup(sl, sizeof(sl) - 1);
    g_buf = b;
    g_len = sizeof(sl) - 1;
    err.reason = NULL;
    rc = pl_msg_parse(&m, b, g_len, tu_arena(), NULL, &err);
    check_err(rc, &err, PL_EPARSE, 0, g_len);
}

/* ------------------------------------------------------------------ malformed: header names */

static void test_bad_header_names(void **state)
{
    (void)state;
    EXPECT_ERR(RL BASE "Subject hello\n" CL0 "\n", PL_EPARSE, "Subject hello", 7, 8);
    EXPECT_ERR(RL BASE "Subject\n" CL0 "\n", PL_EPARSE, "Subject\r", 7, 7);
    EXPECT_ERR(RL BASE "Cont act: x\n" CL0 "\n", PL_EPARSE, "Cont act", 4, 5);
    EXPECT_ERR_PATCH(RL BASE "To^: x\n" CL0 "\n", '\x01', PL_EPARSE, "To^", 2, 2);
    EXPECT_ERR(RL BASE ": x\n" CL0 "\n", PL_EPARSE, "\n: x", 1, 1);
    EXPECT_ERR(RL BASE "X(y): x\n" CL0 "\n", PL_EPARSE, "X(y)", 1, 1);
    /* a continuation line right after the start line */
    EXPECT_ERR(RL " Via: SIP/2.0/UDP h\n" BASE CL0 "\n", PL_EPARSE, " Via", 0, 0);
}

/* ------------------------------------------------------------------ malformed: eager headers */

static void test_bad_call_id(void **state)
{
    (void)state;
    EXPECT_ERR(RL VIA FROM TO "Call-ID: \n" CSEQ CL0 "\n", PL_EPARSE, "Call-ID: \r", 7, 9);
    EXPECT_ERR(RL VIA FROM TO "Call-ID:\n" CSEQ CL0 "\n", PL_EPARSE, "Call-ID:\r", 7, 8);
    EXPECT_ERR(RL VIA FROM TO "Call-ID: a b\n" CSEQ CL0 "\n", PL_EPARSE, "a b", 1, 2);
    EXPECT_ERR(RL VIA FROM TO "Call-ID: a@\n" CSEQ CL0 "\n", PL_EPARSE, "a@", 1, 2);
    EXPECT_ERR(RL VIA FROM TO "Call-ID: a@b@c\n" CSEQ CL0 "\n", PL_EPARSE, "a@b@c", 3, 3);
    EXPECT_ERR(RL BASE "Call-ID: second\n" CL0 "\n", PL_EPARSE, "Call-ID: second", 0, 9);
    EXPECT_ERR(RL BASE "i: second\n" CL0 "\n", PL_EPARSE, "i: second", 0, 3);
}

static void test_duplicates(void **state)
{
    (void)state;
    EXPECT_ERR(RL BASE "From: <sip:x@y>;tag=2\n" CL0 "\n", PL_EPARSE, "From: <sip:x@y>", 0, 6);
    EXPECT_ERR(RL BASE "To: <sip:x@y>\n" CL0 "\n", PL_EPARSE, "To: <sip:x@y>", 0, 4);
    EXPECT_ERR(RL BASE "t: <sip:x@y>\n" CL0 "\n", PL_EPARSE, "t: <sip:x@y>", 0, 3);
}

static void test_duplicates_nth(void **state)
{
    (void)state;
    EXPECT_ERR_NTH(RL BASE "CSeq: 314159 INVITE\n" CL0 "\n", PL_EPARSE, "CSeq: 314159", 2, 0, 6);
    /* Content-Length twice, same value and different values */
    EXPECT_ERR_NTH(RL BASE CL0 CL0 "\n", PL_EPARSE, "Content-Length: 0", 2, 0, 16);
    EXPECT_ERR_NTH(RL BASE CL0 "l: 0\n"
                               "\n",
                   PL_EPARSE, "l: 0", 1, 0, 3);
    EXPECT_ERR_NTH(RL BASE "Content-Length: 4\n" CL0 "\n"
                           "abcd",
                   PL_EPARSE, "Content-Length: 0", 1, 0, 16);
    EXPECT_ERR_NTH(RL BASE MF "\n", PL_EPARSE, "Max-Forwards: 70", 2, 0, 14);
    EXPECT_ERR_NTH(RL BASE "Expires: 1\nExpires: 1\n" CL0 "\n", PL_EPARSE, "Expires: 1", 2, 0, 9);
    EXPECT_ERR_NTH(RL BASE "c: text/plain\nContent-Type: text/plain\n" CL0 "\n", PL_EPARSE,
                   "Content-Type: text/plain", 1, 0, 14);
}

static void test_bad_cseq(void **state)
{
    (void)state;
    EXPECT_ERR(RL VIA FROM TO CID "CSeq: 1\n" CL0 "\n", PL_EPARSE, "CSeq: 1\r", 6, 7);
    EXPECT_ERR(RL VIA FROM TO CID "CSeq: INVITE\n" CL0 "\n", PL_EPARSE, "CSeq: INVITE", 6, 6);
    EXPECT_ERR(RL VIA FROM TO CID "CSeq: 4294967296 INVITE\n" CL0 "\n", PL_ELIMIT, "4294967296", 0,
               0);
    EXPECT_ERR(RL VIA FROM TO CID "CSeq: 36893488147419103232 INVITE\n" CL0 "\n", PL_ELIMIT,
               "36893488147419103232", 0, 0);
    EXPECT_ERR(RL VIA FROM TO CID "CSeq: 1 INVITE x\n" CL0 "\n", PL_EPARSE, "INVITE x", 7, 7);
    EXPECT_ERR(RL VIA FROM TO CID "CSeq: -1 INVITE\n" CL0 "\n", PL_EPARSE, "-1 INVITE", 0, 0);
    pl_msg m;
    parse_ok(RL VIA FROM TO CID "CSeq: 4294967295 INVITE\n" CL0 "\n", &m);
    assert_int_equal(m.cseq.num, 4294967295u);
}

static void test_bad_max_forwards(void **state)
{
    (void)state;
    EXPECT_ERR(RL VIA FROM TO CID CSEQ "Max-Forwards: 256\n" CL0 "\n", PL_ELIMIT, "256", 0, 0);
    EXPECT_ERR(RL VIA FROM TO CID CSEQ "Max-Forwards: 7x\n" CL0 "\n", PL_EPARSE, "7x", 0, 1);
    EXPECT_ERR(RL VIA FROM TO CID CSEQ "Max-Forwards: \n" CL0 "\n", PL_EPARSE, "Max-Forwards: \r",
               13, 15);
    pl_msg m;
    parse_ok(RL VIA FROM TO CID CSEQ "Max-Forwards: 255\n" CL0 "\n", &m);
    assert_int_equal(m.max_forwards, 255);
    parse_ok(RL VIA FROM TO CID CSEQ "Max-Forwards: 0\n" CL0 "\n", &m);
    assert_true(m.has_max_forwards);
    assert_int_equal(m.max_forwards, 0);
}

static void test_bad_content_length(void **state)
{
    (void)state;
    EXPECT_ERR(RL BASE "Content-Length: -1\n\n", PL_EPARSE, "-1", 0, 0);
    EXPECT_ERR(RL BASE "Content-Length: 12abc\n\n", PL_EPARSE, "12abc", 0, 2);
    EXPECT_ERR(RL BASE "Content-Length: \n\n", PL_EPARSE, "Content-Length: \r", 15, 16);
    EXPECT_ERR(RL BASE "Content-Length: 1 2\n\n"
                       "12",
               PL_EPARSE, "1 2", 0, 1);
    /* larger than the datagram's body */
    EXPECT_ERR(RL BASE "Content-Length: 10\n\nabc", PL_EPARSE, "Content-Length: 10", 0, 16);
    EXPECT_ERR(RL BASE "Content-Length: 1\n\n", PL_EPARSE, "Content-Length: 1", 0, 16);
    /* far beyond anything: a limit, and no overflow */
    EXPECT_ERR(RL BASE "Content-Length: 99999999999999999999\n\n", PL_ELIMIT,
               "99999999999999999999", 0, 0);
    EXPECT_ERR(RL BASE "Content-Length: 4294967296\n\n", PL_ELIMIT, "4294967296", 0, 0);
    EXPECT_ERR(RL BASE "Content-Length: 18446744073709551616\n\n", PL_ELIMIT,
               "18446744073709551616", 0, 0);
}

static void test_bad_tags_and_addresses(void **state)
{
    (void)state;
    EXPECT_ERR(RL VIA "From: <sip:alice@atlanta.com>;tag=\n" TO CID CSEQ CL0 "\n", PL_EPARSE,
               ";tag=\r", 1, 5);
    EXPECT_ERR(RL VIA "From: <sip:alice@atlanta.com>;tag\n" TO CID CSEQ CL0 "\n", PL_EPARSE,
               ";tag\r", 1, 4);
    EXPECT_ERR(RL VIA "From: <sip:alice@atlanta.com>;tag=1;tag=2\n" TO CID CSEQ CL0 "\n", PL_EPARSE,
               ";tag=2", 0, 1);
    EXPECT_ERR(RL VIA FROM "To: <sip:bob@biloxi.com>;tag=a;TAG=a\n" CID CSEQ CL0 "\n", PL_EPARSE,
               ";TAG=a", 0, 1);
    /* unterminated quote in the display name */
    EXPECT_ERR(RL VIA "From: \"Alice <sip:alice@atlanta.com>;tag=1\n" TO CID CSEQ CL0 "\n",
               PL_EPARSE, "\"Alice", 0, 0);
    /* '<' never closed */
    EXPECT_ERR(RL VIA FROM "To: <sip:bob@biloxi.com\n" CID CSEQ CL0 "\n", PL_EPARSE,
               "<sip:bob@biloxi.com\r", 0, 0);
    /* '?' outside <> */
    EXPECT_ERR(RL VIA "From: sip:alice@atlanta.com?x=y;tag=1\n" TO CID CSEQ CL0 "\n", PL_EPARSE,
               "?x=y", 0, 0);
    /* a bad URI inside <> reports the URI's offset in the message */
    EXPECT_ERR(RL VIA FROM "To: <sip:bob@biloxi.com:0>\n" CID CSEQ CL0 "\n", PL_EPARSE, ":0>", 1,
               1);
    /* junk after the address */
    EXPECT_ERR(RL VIA FROM "To: <sip:bob@biloxi.com> x\n" CID CSEQ CL0 "\n", PL_EPARSE, "> x", 2,
               2);
    /* empty From */
    EXPECT_ERR(RL VIA "From: \n" TO CID CSEQ CL0 "\n", PL_EPARSE, "From: \r", 4, 6);
}

static void test_bad_start_lines(void **state)
{
    (void)state;
    static const char *const codes[] = {"2OO", "20", "700", "099", "4294967301", "-20", "2000"};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), "SIP/2.0 %s OK\n" BASE CL0 "\n", codes[i]);
        EXPECT_ERR(text, PL_EPARSE, codes[i], 0, strlen(codes[i]));
    }
    EXPECT_ERR("SIP/2.0 200\n" BASE CL0 "\n", PL_EPARSE, "200\r", 3, 3);
    EXPECT_ERR("SIP/2.0 200OK\n" BASE CL0 "\n", PL_EPARSE, "200OK", 3, 3);
    EXPECT_ERR("SIP/2.0  200 OK\n" BASE CL0 "\n", PL_EPARSE, " 200", 0, 1);
    EXPECT_ERR("SIP/2.0\n" BASE CL0 "\n", PL_EPARSE, "SIP/2.0", 0, 7);
    EXPECT_ERR("SIP/2.x 200 OK\n" BASE CL0 "\n", PL_EPARSE, "SIP/2.x", 0, 6);
    /* request lines */
    EXPECT_ERR("INVITE  sip:bob@biloxi.com SIP/2.0\n" BASE CL0 "\n", PL_EPARSE, "  sip", 0, 1);
    EXPECT_ERR("INVITE sip:bob@biloxi.com  SIP/2.0\n" BASE CL0 "\n", PL_EPARSE, "  SIP", 0, 2);
    EXPECT_ERR("INVITE sip:bob@biloxi.com\n" BASE CL0 "\n", PL_EPARSE, "\r\n", 0, 0);
    EXPECT_ERR("INVITE sip:bob@biloxi.com SIP/2.0x\n" BASE CL0 "\n", PL_EPARSE, "SIP/2.0x", 0, 7);
    EXPECT_ERR("INVITE sip:bob@biloxi.com SIP/\n" BASE CL0 "\n", PL_EPARSE, "SIP/\r", 0, 4);
    EXPECT_ERR("INVITE sip:bob@biloxi.com SIP/2.0 \n" BASE CL0 "\n", PL_EPARSE, "SIP/2.0 \r", 0, 7);
    EXPECT_ERR("INV@TE sip:bob@biloxi.com SIP/2.0\n" BASE CL0 "\n", PL_EPARSE, "@TE", 0, 0);
    EXPECT_ERR(" INVITE sip:bob@biloxi.com SIP/2.0\n" BASE CL0 "\n", PL_EPARSE, " INVITE", 0, 0);
    /* RFC 4475 ltgtruri and lwsruri */
    EXPECT_ERR("INVITE <sip:bob@biloxi.com> SIP/2.0\n" BASE CL0 "\n", PL_EPARSE, "<sip", 0, 0);
    EXPECT_ERR("INVITE sip:bob@bil oxi.com SIP/2.0\n" BASE CL0 "\n", PL_EPARSE, "bil oxi", 3, 4);
    EXPECT_ERR("INVITE sip:bob@biloxi.com:0 SIP/2.0\n" BASE CL0 "\n", PL_EPARSE, ":0 SIP", 1, 1);
    /* HTAB is allowed in a Reason-Phrase only */
    EXPECT_ERR("INVITE\tsip:bob@biloxi.com SIP/2.0\n" BASE CL0 "\n", PL_EPARSE, "\tsip", 0, 0);
    EXPECT_ERR("INVITE sip:bob@biloxi.com\tSIP/2.0\n" BASE CL0 "\n", PL_EPARSE, "\tSIP", 0, 8);
    EXPECT_ERR("INVITE sip:bob@biloxi.com SIP/2.0\t\n" BASE CL0 "\n", PL_EPARSE, "SIP/2.0\t", 0, 7);
    EXPECT_ERR("SIP/2.0\t200 OK\n" BASE CL0 "\n", PL_EPARSE, "SIP/2.0\t", 0, 8);
    EXPECT_ERR("SIP/2.0 200\tOK\n" BASE CL0 "\n", PL_EPARSE, "\tOK", 0, 0);
    /* empty message, and CRLFs only */
    EXPECT_ERR("\n\n", PL_EPARSE, "\r\n", 0, 4);
}

static void test_bad_via(void **state)
{
    (void)state;
    EXPECT_ERR(RL "Via: \n" FROM TO CID CSEQ CL0 "\n", PL_EPARSE, "Via: \r", 3, 5);
    EXPECT_ERR(RL "Via: SIP/2.0/UDP\n" FROM TO CID CSEQ CL0 "\n", PL_EPARSE, "Via: SIP/2.0/UDP\r",
               13, 16);
    EXPECT_ERR(RL "Via: SIP/2.0/UDP ;branch=z9hG4bK1\n" FROM TO CID CSEQ CL0 "\n", PL_EPARSE,
               ";branch", 0, 0);
    EXPECT_ERR(RL "Via: SIP/2.0/UDP pc33.atlanta.com:0;branch=z9hG4bK1\n" FROM TO CID CSEQ CL0 "\n",
               PL_EPARSE, ":0;", 0, 1);
    EXPECT_ERR(RL "Via: SIP/2.0/UDP pc33.atlanta.com:70000;branch=z9hG4bK1\n" FROM TO CID CSEQ CL0
                  "\n",
               PL_EPARSE, ":70000", 0, 1);
    EXPECT_ERR(RL "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK1;rport=0\n" FROM TO CID CSEQ CL0
                  "\n",
               PL_EPARSE, ";rport=0", 1, 7);
    EXPECT_ERR(
        RL "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK1;rport=65536\n" FROM TO CID CSEQ CL0
           "\n",
        PL_EPARSE, ";rport=65536", 1, 7);
    EXPECT_ERR(RL "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK1;received=garbage\n" FROM TO CID
                   CSEQ CL0 "\n",
               PL_EPARSE, ";received=garbage", 1, 10);
    EXPECT_ERR(RL "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK1;received=1.2.3.256\n" FROM TO
                   CID CSEQ CL0 "\n",
               PL_EPARSE, ";received=1.2.3.256", 1, 10);
}

/* Via = ( "Via" / "v" ) HCOLON via-parm *(COMMA via-parm): a trailing comma
 * leaves an empty via-parm, refused like the ",," in the middle is. */
static void test_bad_via_trailing_comma(void **state)
{
    (void)state;
    EXPECT_ERR(RL "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK1, \n" FROM TO CID CSEQ CL0 "\n",
               PL_EPARSE, ", \r", 0, 2);
}

static void test_bad_via_list(void **state)
{
    (void)state;
    EXPECT_ERR(RL
               "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1,,SIP/2.0/UDP b.example.com\n" FROM TO
                   CID CSEQ CL0 "\n",
               PL_EPARSE, ",,", 0, 2);
    EXPECT_ERR(RL "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1 x\n" FROM TO CID CSEQ CL0 "\n",
               PL_EPARSE, " x\r", 0, 1);
    EXPECT_ERR(RL "Via: SIP/2.0/UDP a.example.com;ttl=300\n" FROM TO CID CSEQ CL0 "\n", PL_EPARSE,
               ";ttl=300", 1, 5);
}

/* received with no value: RFC 3261 via-received = "received" EQUAL (IPv4address / IPv6address) */
static void test_via_received_without_value(void **state)
{
    (void)state;
    EXPECT_ERR(
        RL "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK1;received\n" FROM TO CID CSEQ CL0 "\n",
        PL_EPARSE, ";received\r", 1, 9);
}

static void test_bad_contact_route_require(void **state)
{
    (void)state;
    EXPECT_ERR(RL BASE "Contact: *, <sip:a@b.example.com>\n" CL0 "\n", PL_EPARSE, "*, <sip", 0, 1);
    EXPECT_ERR(RL BASE "Contact: <sip:a@b.example.com>, *\n" CL0 "\n", PL_EPARSE, ", *", 1, 2);
    EXPECT_ERR(RL BASE "Contact: *\nContact: <sip:a@b.example.com>\n" CL0 "\n", PL_EPARSE,
               "Contact: <sip:a", 0, 9);
    EXPECT_ERR(RL BASE "Contact: <sip:a@b.example.com>\nContact: *\n" CL0 "\n", PL_EPARSE,
               "Contact: *", 0, 9);
    EXPECT_ERR(RL BASE "Contact: \n" CL0 "\n", PL_EPARSE, "Contact: \r", 7, 9);
    EXPECT_ERR(RL BASE "Contact: <sip:a@b.example.com>;expires=x\n" CL0 "\n", PL_EPARSE,
               ";expires=x", 1, 9);
    EXPECT_ERR(RL BASE "Contact: <sip:a@b.example.com>;q=2.0\n" CL0 "\n", PL_EPARSE, ";q=2.0", 1,
               3);
    EXPECT_ERR(RL BASE "Route: sip:p1.example.com;lr\n" CL0 "\n", PL_EPARSE, "sip:p1", 0, 0);
    EXPECT_ERR(RL BASE "Route: <sip:p1.example.com;lr>, sip:p2.example.com\n" CL0 "\n", PL_EPARSE,
               "sip:p2", 0, 0);
    EXPECT_ERR(RL BASE "Record-Route: sip:p1.example.com\n" CL0 "\n", PL_EPARSE, "sip:p1", 0, 0);
    EXPECT_ERR(RL BASE "Route: \n" CL0 "\n", PL_EPARSE, "Route: \r", 5, 7);
    EXPECT_ERR(RL BASE "Require: 100rel, foo bar\n" CL0 "\n", PL_EPARSE, "foo bar", 0, 4);
    EXPECT_ERR(RL BASE "Require: a@b\n" CL0 "\n", PL_EPARSE, "a@b", 0, 1);
    EXPECT_ERR(RL BASE "Require: \n" CL0 "\n", PL_EPARSE, "Require: \r", 7, 9);
    EXPECT_ERR(RL BASE "Proxy-Require: \"x\"\n" CL0 "\n", PL_EPARSE, "\"x\"", 0, 0);
    EXPECT_ERR(RL BASE "Supported: 100rel;x\n" CL0 "\n", PL_EPARSE, ";x", 0, 0);
    EXPECT_ERR(RL BASE "Content-Type: text\n" CL0 "\n", PL_EPARSE, "text\r", 4, 4);
    EXPECT_ERR(RL BASE "Expires: soon\n" CL0 "\n", PL_EPARSE, "soon", 0, 0);
    EXPECT_ERR(RL BASE "Expires: 4294967296\n" CL0 "\n", PL_ELIMIT, "4294967296", 0, 0);
}

/* ------------------------------------------------------------------ pl_msg_check */

static void check_msg(const char *text, int want_rc, uint16_t want_code, const char *reason_has)
{
    pl_msg m;
    parse_ok(text, &m);
    uint16_t code = 9999;
    pl_error err = {0, 0, NULL};
    int rc = pl_msg_check(&m, &code, &err);
    if (rc != want_rc || code != want_code)
        fail_msg("check: rc %d code %u (%s), want rc %d code %u", rc, code,
                 err.reason ? err.reason : "-", want_rc, want_code);
    if (want_rc != PL_OK) {
        assert_int_equal(err.code, PL_EPARSE);
        assert_non_null(err.reason);
        if (reason_has && !strstr(err.reason, reason_has))
            fail_msg("reason \"%s\" does not name \"%s\"", err.reason, reason_has);
        /* code and err may be NULL */
        assert_int_equal(pl_msg_check(&m, NULL, NULL), want_rc);
    }
}

static void test_check_clean(void **state)
{
    (void)state;
    check_msg(RL BASE CL0 "\n", PL_OK, 0, NULL);
    check_msg(invite_text, PL_OK, 0, NULL);
    check_msg(ok_text, PL_OK, 0, NULL);
    /* Max-Forwards is the caller's business */
    check_msg(RL VIA FROM TO CID CSEQ CL0 "\n", PL_OK, 0, NULL);
    /* sips and tel Request-URIs */
    check_msg("INVITE sips:bob@biloxi.com SIP/2.0\n" BASE CL0 "\n", PL_OK, 0, NULL);
    check_msg("INVITE tel:+12125551212 SIP/2.0\n" BASE CL0 "\n", PL_OK, 0, NULL);
    /* version is case-insensitive */
    check_msg("INVITE sip:bob@biloxi.com sip/2.0\n" BASE CL0 "\n", PL_OK, 0, NULL);
    /* an unknown method whose CSeq matches */
    check_msg("FOO sip:bob@biloxi.com SIP/2.0\n" VIA FROM TO CID "CSeq: 1 FOO\n" CL0 "\n", PL_OK, 0,
              NULL);
    /* a response whose first Via (ours) is multicast is no concern of this rule */
    check_msg("SIP/2.0 200 OK\nVia: SIP/2.0/UDP 224.0.0.1;branch=z9hG4bK1\n"
              "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK2\n" FROM TO CID CSEQ CL0 "\n",
              PL_OK, 0, NULL);
}

static void test_check_version(void **state)
{
    (void)state;
    check_msg("INVITE sip:bob@biloxi.com SIP/7.0\n" BASE CL0 "\n", PL_EPARSE, 505, NULL);
    check_msg("SIP/3.0 200 OK\n" BASE CL0 "\n", PL_EPARSE, 505, NULL);
}

static void test_check_missing(void **state)
{
    (void)state;
    check_msg(RL FROM TO CID CSEQ MF CL0 "\n", PL_EPARSE, 400, "Via");
    check_msg(RL VIA TO CID CSEQ MF CL0 "\n", PL_EPARSE, 400, "From");
    check_msg(RL VIA FROM CID CSEQ MF CL0 "\n", PL_EPARSE, 400, "To");
    check_msg(RL VIA FROM TO CSEQ MF CL0 "\n", PL_EPARSE, 400, "Call-ID");
    check_msg(RL VIA FROM TO CID MF CL0 "\n", PL_EPARSE, 400, "CSeq");
    check_msg(RL "\n", PL_EPARSE, 400, NULL);
    check_msg("SIP/2.0 200 OK\n" VIA FROM TO CID CL0 "\n", PL_EPARSE, 400, "CSeq");
}

static void test_check_request_rules(void **state)
{
    (void)state;
    check_msg("INVITE urn:service:sos SIP/2.0\n" BASE CL0 "\n", PL_EPARSE, 416, NULL);
    check_msg("INVITE http://example.com/ SIP/2.0\n" BASE CL0 "\n", PL_EPARSE, 416, NULL);
    check_msg("INVITE sip:bob@biloxi.com?Subject=hi SIP/2.0\n" BASE CL0 "\n", PL_EPARSE, 400, NULL);
    check_msg(RL VIA FROM TO CID "CSeq: 1 BYE\n" CL0 "\n", PL_EPARSE, 400, NULL);
    check_msg(RL VIA FROM TO CID "CSeq: 1 invite\n" CL0 "\n", PL_EPARSE, 400, NULL);
    /* RFC 4475 mismatch02: unknown method, CSeq names another */
    check_msg("NEWMETHOD sip:bob@biloxi.com SIP/2.0\n" VIA FROM TO CID "CSeq: 1 INVITE\n" CL0 "\n",
              PL_EPARSE, 501, NULL);
    check_msg("FOO sip:bob@biloxi.com SIP/2.0\n" VIA FROM TO CID "CSeq: 1 BAR\n" CL0 "\n",
              PL_EPARSE, 501, NULL);
}

static void test_check_response_bcast(void **state)
{
    (void)state;
    check_msg("SIP/2.0 200 OK\nVia: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1\n"
              "Via: SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK2\n" FROM TO CID CSEQ CL0 "\n",
              PL_EPARSE, 0, NULL);
    check_msg("SIP/2.0 200 OK\nVia: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1\n"
              "Via: SIP/2.0/UDP 224.0.0.1;branch=z9hG4bK2\n" FROM TO CID CSEQ CL0 "\n",
              PL_EPARSE, 0, NULL);
    check_msg("SIP/2.0 200 OK\nVia: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1, "
              "SIP/2.0/UDP 239.255.255.250:5060;branch=z9hG4bK2\n" FROM TO CID CSEQ CL0 "\n",
              PL_EPARSE, 0, NULL);
    check_msg(
        "SIP/2.0 200 OK\nVia: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1\n"
        "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK2;received=224.0.0.1\n" FROM TO CID CSEQ CL0
        "\n",
        PL_EPARSE, 0, NULL);
    check_msg(
        "SIP/2.0 200 OK\nVia: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1\n"
        "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK2;maddr=239.1.2.3\n" FROM TO CID CSEQ CL0
        "\n",
        PL_EPARSE, 0, NULL);
    check_msg("SIP/2.0 200 OK\nVia: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1\n"
              "Via: SIP/2.0/UDP [ff02::1];branch=z9hG4bK2\n" FROM TO CID CSEQ CL0 "\n",
              PL_EPARSE, 0, NULL);
    /* unicast neighbours of those ranges pass */
    check_msg("SIP/2.0 200 OK\nVia: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1\n"
              "Via: SIP/2.0/UDP 223.255.255.255;branch=z9hG4bK2\n" FROM TO CID CSEQ CL0 "\n",
              PL_OK, 0, NULL);
    check_msg("SIP/2.0 200 OK\nVia: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1\n"
              "Via: SIP/2.0/UDP 240.0.0.1;branch=z9hG4bK2\n" FROM TO CID CSEQ CL0 "\n",
              PL_OK, 0, NULL);
}

/* ------------------------------------------------------------------ framing */

static void test_dgram_no_content_length(void **state)
{
    (void)state;
    pl_msg m;
    parse_ok(RL BASE "\nhello\nworld", &m);
    assert_false(m.has_content_length);
    assert_str(m.body, "hello\r\nworld");
    assert_int_equal(m.trailing, 0);
    assert_int_equal(m.len, (size_t)(m.body.p + m.body.len - m.buf));
    parse_ok(RL BASE "\n", &m);
    assert_int_equal(m.body.len, 0);
}

static void test_body_bytes_are_opaque(void **state)
{
    (void)state;
    pl_msg m;
    /* a body may hold NUL, bare CR and LF, and anything else */
    parse_ok_patch(RL BASE "Content-Length: 6\n\na^b\rc^", '\0', &m);
    assert_int_equal(m.body.len, 6);
    assert_memory_equal(m.body.p, "a\0b\rc\0", 6);
}

static void test_dgram_trailing(void **state)
{
    (void)state;
    pl_msg m;
    pl_error err;
    int rc = parse_text(RL BASE "Content-Length: 5\n\nhello world", false, 0, NULL, &m, &err);
    assert_int_equal(rc, PL_OK);
    assert_str(m.body, "hello");
    assert_int_equal(m.trailing, 6);
    assert_int_equal(m.len, g_len - 6);
    assert_ptr_equal(m.buf, g_buf);
    assert_ptr_equal(m.buf + m.len, m.body.p + m.body.len);
}

static void test_dgram_leading_crlf(void **state)
{
    (void)state;
    pl_msg m;
    pl_error err;
    int rc = parse_text("\n\n" RL BASE CL0 "\n", false, 0, NULL, &m, &err);
    assert_int_equal(rc, PL_OK);
    assert_int_equal(m.skipped, 4);
    assert_ptr_equal(m.buf, g_buf + 4);
    assert_int_equal(m.len, g_len - 4);
    assert_str(m.start_line, "INVITE sip:bob@biloxi.com SIP/2.0");
    assert_str(m.method, "INVITE");
    /* offsets of errors are still from the buffer's start */
    expect_err_full("\n\n" RL VIA FROM TO "Call-ID: \n" CSEQ CL0 "\n", false, 0, NULL, PL_EPARSE,
                    "Call-ID: \r", 1, 7, 9);
    expect_err_full("\n\nINVITE  sip:bob@biloxi.com SIP/2.0\n" BASE CL0 "\n", false, 0, NULL,
                    PL_EPARSE, "  sip", 1, 0, 1);
}

static void test_stream_framing(void **state)
{
    (void)state;
    pl_parse_opts o = {PL_FRAMING_STREAM, NULL};
    pl_msg m;
    pl_error err;
    int rc = parse_text(RL BASE "Content-Length: 5\n\nhello", false, 0, &o, &m, &err);
    assert_int_equal(rc, PL_OK);
    assert_str(m.body, "hello");
    assert_int_equal(m.trailing, 0);
    /* no Content-Length on a stream */
    expect_err_full(RL BASE "\n", false, 0, &o, PL_EPARSE, "\r\n\r\n", 1, 2, 4);
    expect_err_full(RL BASE "\nhello", false, 0, &o, PL_EPARSE, "\r\n\r\nhello", 1, 2, 4);
    /* bytes after the body */
    expect_err_full(RL BASE "Content-Length: 5\n\nhello world", false, 0, &o, PL_EPARSE, " world",
                    1, 0, 0);
    /* too few */
    expect_err_full(RL BASE "Content-Length: 50\n\nhello", false, 0, &o, PL_EPARSE,
                    "Content-Length: 50", 1, 0, 16);
}

#define T(f) cmocka_unit_test_teardown(f, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_invite_fields),
        T(test_200_ok_fields),
        T(test_status_lines),
        T(test_status_reason_with_htab),
        T(test_methods),
        T(test_compact_form_ids),
        T(test_canonical_names),
        T(test_compact_message),
        T(test_case_insensitive_names),
        T(test_folding),
        T(test_empty_value_and_trailing_ws),
        T(test_unknown_headers_kept),
        T(test_multi_value_headers),
        T(test_value_iter_and_options),
        T(test_list_next),
        T(test_display_names),
        T(test_addr_spec_and_params),
        T(test_contact_star),
        T(test_quoted_pair_nul_is_legal),
        T(test_via_parse),
        T(test_via_lws_after_last_slash),
        T(test_nameaddr_parse),
        T(test_cseq_parse),
        T(test_media_type_parse),
        T(test_token_params_parse),
        T(test_hdr_uint_parse),
        T(test_bare_lf),
        T(test_bare_cr),
        T(test_nul_and_controls),
        T(test_missing_blank_line),
        T(test_bad_header_names),
        T(test_bad_call_id),
        T(test_duplicates),
        T(test_duplicates_nth),
        T(test_bad_cseq),
        T(test_bad_max_forwards),
        T(test_bad_content_length),
        T(test_bad_tags_and_addresses),
        T(test_bad_start_lines),
        T(test_bad_via),
        T(test_bad_via_trailing_comma),
        T(test_bad_via_list),
        T(test_via_received_without_value),
        T(test_bad_contact_route_require),
        T(test_check_clean),
        T(test_check_version),
        T(test_check_missing),
        T(test_check_request_rules),
        T(test_check_response_bcast),
        T(test_dgram_no_content_length),
        T(test_body_bytes_are_opaque),
        T(test_dgram_trailing),
        T(test_dgram_leading_crlf),
        T(test_stream_framing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
