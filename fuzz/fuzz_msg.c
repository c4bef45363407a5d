/*
 * fuzz_msg.c - pl_msg_parse() and everything that runs on a parsed message.
 *
 * Input: a SIP message, optionally preceded by one selector byte in
 * 0xF0..0xFF (no message can start with one) that picks a limits variant:
 *
 *   sel & 3 == 0  default limits
 *   sel & 3 == 1  small limits (size, headers, line, vias, params, values)
 *   sel & 3 == 2  default limits, but an arena without a block and with a
 *                 small max_bytes, so the parse and the edits hit PL_ENOMEM
 *   sel & 3 == 3  a mix of zero (default) and small limits
 *   sel >> 2      scales the small limits
 *
 * Without a selector byte the whole input is the message, default limits, so
 * the seeds in fuzz/corpus/fuzz_msg/ are plain messages. The message is
 * parsed in both framings (datagram and stream). On success:
 *
 *   - every pl_str of the parse lies in msg.buf[0..len) and is read whole;
 *     the linked lists match their counts; the body ends the message and
 *     matches Content-Length;
 *   - pl_msg_check, pl_msg_hdr_find/_find_name, pl_value_iter over every
 *     header id present (and its counts against the eager lists),
 *     pl_list_next, every typed parser on every value and every header,
 *     pl_display_name_decode, pl_uri_unescape on every URI field,
 *     pl_param_next over every parameter list, pl_uri_equal (reflexive and
 *     symmetric, ruri against itself and a fresh parse of ruri_raw, ruri
 *     against the To URI), pl_msg_has_option;
 *   - pl_msg_print_len/pl_msg_print reproduce msg.buf[0..len) exactly, a
 *     buffer one byte short gives PL_ENOSPC, and the printed bytes re-parse
 *     to the same header count, Via count, method/status, Call-ID and body;
 *   - for a request, pl_msg_build_response (code 100..699 from the input)
 *     prints, re-parses and carries the request's Vias, Call-ID and CSeq;
 *   - a sequence of edits (via_prepend, via_remove_top, route_pop,
 *     hdr_append, hdr_insert, hdr_replace, hdr_remove, hdr_remove_id,
 *     set_ruri, set_body), each followed by: the parsed view is in step,
 *     print_len == print's written, and the print re-parses with the same
 *     counts; the caller's buffer is never written.
 *
 * Memory: one static 64 KiB arena block per role, reset/freed every run.
 */
#include "fuzz_util.h"
#include "msg/msg_int.h"

#include <parley/base.h>
#include <parley/msg.h>
#include <parley/uri.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static _Alignas(16) char g_main_block[64 * 1024];
static _Alignas(16) char g_scratch_block[64 * 1024];
static _Alignas(16) char g_resp_block[64 * 1024];

/* Limits for re-parsing edited or built messages: above anything a few
 * edits can add to a message the first parse accepted. */
static const pl_msg_limits k_roomy = {
    .max_msg_size = 1u << 20,
    .max_headers = 4096,
    .max_line = 1u << 20,
    .max_vias = 1024,
    .max_params = 1024,
    .max_values = 4096,
};

typedef struct run_ctx {
    const char *input; /* the caller's bytes (exactly sized copy) */
    size_t input_len;
    const char *input_orig; /* the fuzzer's bytes, to check nobody wrote input */
    pl_parse_opts opts;
    uint32_t max_params;
    uint8_t sel;
    uint8_t code_byte;
    uint8_t flags_byte;
    pl_arena scratch;
    pl_arena resp_arena;
} run_ctx;

/* ------------------------------------------------------------------ walking */

static void typed_item(pl_str item, void *ctx)
{
    const run_ctx *rc = ctx;
    fuzz_typed_value(item, rc->max_params);
}

static bool is_token_str(pl_str s)
{
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            continue;
        if (strchr("-.!%*_+`'~", c) && c != 0)
            continue;
        return false;
    }
    return true;
}

/*
 * Everything readable in a parsed message. fresh: m came straight from
 * pl_msg_parse over m->buf, so every string lies inside m->buf[0..len).
 * deep: also run every typed parser on every header value and list item
 * (what the edits change is checked without it, for speed).
 */
static void walk_msg(const pl_msg *m, bool fresh, bool deep, run_ctx *ctx)
{
    fuzz_bounds b = {fresh ? m->buf : NULL, m->len};
    fuzz_touch((pl_str){m->buf, m->len});

    fuzz_str_in(m->start_line, b);
    fuzz_str_in(m->version, b);
    fuzz_str_in(m->body, b);
    fuzz_str_in(m->call_id, b);
    if (m->is_request) {
        fuzz_str_in(m->method, b);
        fuzz_str_in(m->ruri_raw, b);
        FUZZ_CHECK(m->method.len > 0);
        FUZZ_CHECK(m->method_id == pl_method_from_str(m->method));
        if (m->method_id != PL_METHOD_OTHER)
            FUZZ_CHECK(pl_method_name(m->method_id) != NULL);
        fuzz_uri_walk(&m->ruri, b);
    } else {
        fuzz_str_in(m->reason, b);
        FUZZ_CHECK(m->status >= 100 && m->status <= 999);
    }
    if (fresh && m->body.len)
        FUZZ_CHECK(m->body.p + m->body.len == m->buf + m->len);
    if (m->has_content_length)
        FUZZ_CHECK(m->content_length == m->body.len);

    /* The linked lists match their counts (and do not loop). */
    uint32_t n = 0;
    for (const pl_via *v = m->via; v; v = v->next) {
        FUZZ_CHECK(n < m->via_count);
        fuzz_via_walk(v, b);
        n++;
    }
    FUZZ_CHECK(n == m->via_count);
    n = 0;
    for (const pl_nameaddr *na = m->contact; na; na = na->next) {
        FUZZ_CHECK(n < m->contact_count);
        fuzz_nameaddr_walk(na, b);
        n++;
    }
    FUZZ_CHECK(n == m->contact_count);
    n = 0;
    for (const pl_nameaddr *na = m->route; na; na = na->next) {
        FUZZ_CHECK(n < m->route_count);
        fuzz_nameaddr_walk(na, b);
        n++;
    }
    FUZZ_CHECK(n == m->route_count);
    n = 0;
    for (const pl_nameaddr *na = m->record_route; na; na = na->next) {
        FUZZ_CHECK(n < m->record_route_count);
        fuzz_nameaddr_walk(na, b);
        n++;
    }
    FUZZ_CHECK(n == m->record_route_count);
    if (m->from)
        fuzz_nameaddr_walk(m->from, b);
    if (m->to)
        fuzz_nameaddr_walk(m->to, b);
    if (m->has_cseq) {
        fuzz_str_in(m->cseq.method, b);
        FUZZ_CHECK(m->cseq.num <= 0x7fffffffu);
        FUZZ_CHECK(m->cseq.method_id == pl_method_from_str(m->cseq.method));
    }
    if (m->has_content_type) {
        fuzz_str_in(m->content_type.type, b);
        fuzz_str_in(m->content_type.subtype, b);
        fuzz_str_in(m->content_type.params, b);
        (void)fuzz_params(m->content_type.params, ';');
    }

    /* Every header: inside the message, name and id agree, find finds it. */
    bool seen[PL_HDR_COUNT_];
    memset(seen, 0, sizeof seen);
    FUZZ_CHECK(m->hdr_count <= m->hdr_cap || m->hdr_cap == 0);
    for (uint32_t i = 0; i < m->hdr_count; i++) {
        const pl_hdr *h = &m->hdrs[i];
        fuzz_str_in(h->line, b);
        fuzz_str_in(h->name, b);
        fuzz_str_in(h->value, b);
        FUZZ_CHECK(h->name.len > 0);
        FUZZ_CHECK((unsigned)h->id < PL_HDR_COUNT_);
        if (fresh) {
            FUZZ_CHECK(fuzz_within(h->name, h->line.p, h->line.len));
            FUZZ_CHECK(fuzz_within(h->value, h->line.p, h->line.len));
        }
        FUZZ_CHECK(h->line.len >= 2 && h->line.p[h->line.len - 2] == '\r' &&
                   h->line.p[h->line.len - 1] == '\n');
        FUZZ_CHECK(pl_hdr_id_from_name(h->name) == h->id);
        if (h->id != PL_HDR_OTHER) {
            const char *canon = pl_hdr_canonical_name(h->id);
            FUZZ_CHECK(canon != NULL);
            FUZZ_CHECK(pl_hdr_id_from_name(pl_str_c(canon)) == h->id);
        }
        FUZZ_CHECK(pl_msg_hdr_find(m, h->id, i) == (int32_t)i);
        FUZZ_CHECK(pl_msg_hdr_find_name(m, h->name, i) == (int32_t)i);
        seen[h->id] = true;

        /* Every typed parser on the whole value, and on each list item. */
        if (deep) {
            fuzz_typed_value(h->value, ctx->max_params);
            (void)fuzz_list(h->value, typed_item, ctx);
        }
    }
    FUZZ_CHECK(pl_msg_hdr_find(m, PL_HDR_OTHER, m->hdr_count) == -1);

    /* pl_value_iter over every id that appears. */
    for (unsigned id = 0; id < PL_HDR_COUNT_; id++) {
        if (!seen[id])
            continue;
        pl_value_iter it;
        pl_value_iter_init(&it, m, (pl_hdr_id)id);
        pl_str v;
        uint32_t values = 0;
        while (pl_value_iter_next(&it, &v)) {
            fuzz_str_in(v, b);
            if (deep)
                fuzz_typed_value(v, ctx->max_params);
            if (id == PL_HDR_SUPPORTED || id == PL_HDR_REQUIRE || id == PL_HDR_PROXY_REQUIRE ||
                id == PL_HDR_UNSUPPORTED) {
                /* An option tag listed is an option tag found. */
                char tag[64];
                if (is_token_str(v) && v.len < sizeof tag) {
                    memcpy(tag, v.p, v.len);
                    tag[v.len] = '\0';
                    FUZZ_CHECK(pl_msg_has_option(m, (pl_hdr_id)id, tag));
                }
            }
            values++;
            FUZZ_CHECK(values <= m->len + 1);
        }
        if (pl_hdr_is_list((pl_hdr_id)id) && id != PL_HDR_OTHER) {
            /* The iterator splits like pl_list_next over each header. */
            uint32_t items = 0;
            for (uint32_t i = 0; i < m->hdr_count; i++)
                if (m->hdrs[i].id == (pl_hdr_id)id)
                    items += fuzz_list(m->hdrs[i].value, NULL, NULL);
            FUZZ_CHECK(items == values);
        }
        if (fresh) {
            if (id == PL_HDR_VIA)
                FUZZ_CHECK(values == m->via_count);
            if (id == PL_HDR_ROUTE)
                FUZZ_CHECK(values == m->route_count);
            if (id == PL_HDR_RECORD_ROUTE)
                FUZZ_CHECK(values == m->record_route_count);
            if (id == PL_HDR_CONTACT && !m->contact_star)
                FUZZ_CHECK(values == m->contact_count);
        }
    }

    (void)pl_msg_has_option(m, PL_HDR_SUPPORTED, "100rel");
    (void)pl_msg_has_option(m, PL_HDR_REQUIRE, "timer");
    (void)pl_msg_has_option(m, PL_HDR_PROXY_REQUIRE, "sec-agree");
    (void)pl_msg_has_option(m, PL_HDR_UNSUPPORTED, "");
    (void)pl_msg_hdr_find_name(m, PL_STR_LIT("X-Unknown"), 0);

    /* Display names. */
    if (m->from && m->from->display.len)
        (void)fuzz_display(m->from->display, true);
    if (m->to && m->to->display.len)
        (void)fuzz_display(m->to->display, true);

    /* URI equality: reflexive, ruri against a fresh parse of its bytes, and
     * symmetric against the To URI. */
    if (m->is_request) {
        FUZZ_CHECK(pl_uri_equal(&m->ruri, &m->ruri));
        pl_uri again;
        if (pl_uri_parse(&again, m->ruri_raw, NULL) == PL_OK) {
            FUZZ_CHECK(pl_uri_equal(&again, &again));
            FUZZ_CHECK(pl_uri_equal(&again, &m->ruri));
            FUZZ_CHECK(pl_uri_equal(&m->ruri, &again));
        }
        if (m->to)
            FUZZ_CHECK(pl_uri_equal(&m->ruri, &m->to->uri) == pl_uri_equal(&m->to->uri, &m->ruri));
    }
    if (m->from && m->to)
        FUZZ_CHECK(pl_uri_equal(&m->from->uri, &m->to->uri) ==
                   pl_uri_equal(&m->to->uri, &m->from->uri));

    /* The RFC 3261 8.2 checks return cleanly. */
    uint16_t code = 0;
    pl_error err;
    memset(&err, 0, sizeof err);
    int rc = pl_msg_check(m, &code, &err);
    FUZZ_CHECK(rc == PL_OK || rc == PL_EPARSE);
    if (rc != PL_OK)
        FUZZ_CHECK(err.reason != NULL);
    (void)pl_msg_check(m, NULL, NULL);
}

/* ------------------------------------------------------------------ printing */

/* Print m with an exactly sized buffer; also check the one-short case. */
static char *print_exact(const pl_msg *m, size_t *out_len)
{
    size_t plen = pl_msg_print_len(m);
    FUZZ_CHECK(plen > 0 && plen <= (1u << 24));
    char *out = fuzz_alloc(plen);
    size_t written = (size_t)-1;
    FUZZ_CHECK(pl_msg_print(m, out, plen, &written) == PL_OK);
    FUZZ_CHECK(written == plen);
    char *small = fuzz_alloc(plen - 1);
    size_t w2 = 0;
    FUZZ_CHECK(pl_msg_print(m, small, plen - 1, &w2) == PL_ENOSPC);
    free(small);
    *out_len = plen;
    return out;
}

/* The counts two views of the same message must agree on. */
static void same_message(const pl_msg *a, const pl_msg *b)
{
    FUZZ_CHECK(a->is_request == b->is_request);
    FUZZ_CHECK(a->hdr_count == b->hdr_count);
    FUZZ_CHECK(a->via_count == b->via_count);
    FUZZ_CHECK(a->route_count == b->route_count);
    FUZZ_CHECK(a->record_route_count == b->record_route_count);
    FUZZ_CHECK(a->contact_count == b->contact_count);
    FUZZ_CHECK(fuzz_str_eq(a->call_id, b->call_id));
    FUZZ_CHECK(fuzz_str_eq(a->body, b->body));
    FUZZ_CHECK(a->has_content_length == b->has_content_length);
    if (a->is_request) {
        FUZZ_CHECK(fuzz_str_eq(a->method, b->method));
        FUZZ_CHECK(a->method_id == b->method_id);
        FUZZ_CHECK(fuzz_str_eq(a->ruri_raw, b->ruri_raw));
    } else {
        FUZZ_CHECK(a->status == b->status);
    }
    for (uint32_t i = 0; i < a->hdr_count && i < b->hdr_count; i++) {
        FUZZ_CHECK(a->hdrs[i].id == b->hdrs[i].id);
        FUZZ_CHECK(fuzz_str_eq(a->hdrs[i].line, b->hdrs[i].line));
    }
}

/* A view of the copy lies in the copy's bytes (not in the original's). */
static bool in_copy(pl_str v, const char *buf, size_t n)
{
    return !v.p || (v.p >= buf && v.p + v.len <= buf + n);
}

static bool nameaddrs_in_copy(const pl_nameaddr *a, const char *buf, size_t n)
{
    for (; a; a = a->next)
        if (!in_copy(a->raw, buf, n) || !in_copy(a->uri.host, buf, n) || !in_copy(a->tag, buf, n))
            return false;
    return true;
}

/*
 * pl_msg_copy gives the same message, printed the same, every view moved
 * into the new bytes (or, as a fall-back, parsed from them).
 */
static void check_copy(const pl_msg *m, run_ctx *ctx)
{
    size_t plen = pl_msg_print_len(m);
    char *buf = fuzz_alloc(plen);
    pl_arena a;
    pl_arena_init(&a, NULL, 0, 0);
    pl_msg c;
    size_t fallbacks = pl__msg_copy_fallbacks;
    int rc = pl_msg_copy(&c, m, buf, plen, &a);
    FUZZ_CHECK(pl__msg_copy_fallbacks == fallbacks); /* no view was missed */
    if (rc == PL_OK) {
        same_message(m, &c);
        FUZZ_CHECK(c.buf == buf && c.len == plen);
        for (uint32_t i = 0; i < c.hdr_count; i++)
            FUZZ_CHECK(in_copy(c.hdrs[i].line, buf, plen) && in_copy(c.hdrs[i].value, buf, plen));
        for (const pl_via *v = c.via; v; v = v->next)
            FUZZ_CHECK(in_copy(v->raw, buf, plen) && in_copy(v->branch, buf, plen));
        FUZZ_CHECK(nameaddrs_in_copy(c.from, buf, plen) && nameaddrs_in_copy(c.to, buf, plen));
        FUZZ_CHECK(nameaddrs_in_copy(c.contact, buf, plen));
        FUZZ_CHECK(nameaddrs_in_copy(c.route, buf, plen));
        FUZZ_CHECK(nameaddrs_in_copy(c.record_route, buf, plen));
        FUZZ_CHECK(in_copy(c.call_id, buf, plen) && in_copy(c.body, buf, plen));
        FUZZ_CHECK(in_copy(c.ruri.host, buf, plen) && in_copy(c.start_line, buf, plen));
        size_t n2 = 0;
        char *out = print_exact(&c, &n2);
        FUZZ_CHECK(n2 == plen && memcmp(out, buf, plen) == 0);
        walk_msg(&c, false, false, ctx);
        free(out);
    }
    pl_arena_free(&a);
    free(buf);
}

/*
 * After an edit (whatever it returned): the view is self-consistent, print
 * and print_len agree, and the printed message re-parses to the same view.
 */
static void check_edited(pl_msg *m, run_ctx *ctx)
{
    walk_msg(m, false, false, ctx);
    check_copy(m, ctx);
    size_t plen = 0;
    char *out = print_exact(m, &plen);

    pl_arena_reset(&ctx->scratch);
    pl_parse_opts o = {ctx->opts.framing, &k_roomy};
    pl_msg r;
    pl_error err;
    memset(&err, 0, sizeof err);
    int rc = pl_msg_parse(&r, out, plen, &ctx->scratch, &o, &err);
    if (rc != PL_OK) {
        fprintf(stderr, "edited message does not re-parse: %s at %zu: %s\n%.*s\n", pl_err_str(rc),
                err.offset, err.reason ? err.reason : "?", (int)plen, out);
    }
    FUZZ_CHECK(rc == PL_OK);
    FUZZ_CHECK(r.skipped == 0 && r.len == plen);
    same_message(m, &r);
    walk_msg(&r, true, false, ctx);
    free(out);
    pl_arena_reset(&ctx->scratch);
}

/* ------------------------------------------------------------------ response */

static void check_response(const pl_msg *req, run_ctx *ctx)
{
    uint16_t code = (uint16_t)(100 + ((unsigned)ctx->code_byte * 7u + ctx->flags_byte) % 600u);
    pl_str reason = (ctx->flags_byte & 2) ? PL_STR_LIT("Fuzzy Reason") : PL_STR_NULL;
    pl_str to_tag = (ctx->flags_byte & 4) ? PL_STR_LIT("fuzztag1") : PL_STR_NULL;
    bool req_ok = pl_msg_check(req, NULL, NULL) == PL_OK;

    pl_arena_reset(&ctx->resp_arena);
    pl_msg resp;
    pl_error err;
    memset(&err, 0, sizeof err);
    int rc = pl_msg_build_response(&resp, &ctx->resp_arena, req, code, reason, to_tag, &err);
    if (rc != PL_OK) {
        FUZZ_CHECK(err.reason != NULL);
        /* A request that passes the checks gets its response, unless memory
         * runs out (or it is an ACK, which has none). */
        FUZZ_CHECK(!req_ok || rc == PL_ENOMEM || req->method_id == PL_METHOD_ACK);
        return;
    }
    FUZZ_CHECK(!resp.is_request && resp.status == code);
    FUZZ_CHECK(pl_status_reason(code) != NULL);

    /* A built message prints as its own bytes. */
    size_t plen = 0;
    char *out = print_exact(&resp, &plen);
    FUZZ_CHECK(plen == resp.len && memcmp(out, resp.buf, plen) == 0);
    walk_msg(&resp, true, false, ctx);

    for (int f = 0; f < 2; f++) {
        pl_arena_reset(&ctx->scratch);
        pl_parse_opts o = {f ? PL_FRAMING_STREAM : PL_FRAMING_DGRAM, &k_roomy};
        pl_msg r;
        memset(&err, 0, sizeof err);
        rc = pl_msg_parse(&r, out, plen, &ctx->scratch, &o, &err);
        if (rc != PL_OK)
            fprintf(stderr, "built response does not re-parse: %s at %zu: %s\n%.*s\n",
                    pl_err_str(rc), err.offset, err.reason ? err.reason : "?", (int)plen, out);
        FUZZ_CHECK(rc == PL_OK);
        FUZZ_CHECK(!r.is_request && r.status == code);
        FUZZ_CHECK(r.via_count == req->via_count);
        same_message(&resp, &r);
        if (req_ok) {
            FUZZ_CHECK(fuzz_str_eq(r.call_id, req->call_id));
            FUZZ_CHECK(r.has_cseq && r.cseq.num == req->cseq.num);
            FUZZ_CHECK(fuzz_str_eq(r.cseq.method, req->cseq.method));
            /* Valid, except that a response whose second Via names a
             * broadcast address is refused for routing (code 0: drop). */
            uint16_t rcode = 1;
            FUZZ_CHECK(pl_msg_check(&r, &rcode, NULL) == PL_OK || rcode == 0);
            if (code > 100)
                FUZZ_CHECK(r.to && r.to->has_tag);
            /* The same Vias, in the same order. */
            const pl_via *a = req->via, *c = r.via;
            for (; a && c; a = a->next, c = c->next)
                FUZZ_CHECK(fuzz_str_eq(a->raw, c->raw));
        }
    }
    free(out);
    pl_arena_reset(&ctx->scratch);
    pl_arena_reset(&ctx->resp_arena);
}

/* ------------------------------------------------------------------ edits */

static bool edit_rc_ok(int rc)
{
    return rc == PL_OK || rc == PL_ELIMIT || rc == PL_ENOMEM || rc == PL_ENOTFOUND ||
           rc == PL_EINVAL;
}

static void apply_edits(pl_msg *m, run_ctx *ctx)
{
    uint32_t before;
    int rc;

    before = m->via_count;
    rc = pl_msg_via_prepend(m, PL_STR_LIT("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKfuzz;rport"));
    FUZZ_CHECK(edit_rc_ok(rc));
    if (rc == PL_OK) {
        FUZZ_CHECK(m->via_count == before + 1);
        FUZZ_CHECK(m->via && pl_str_eq(m->via->host, PL_STR_LIT("192.0.2.1")) &&
                   m->via->port == 5060 && m->via->has_rport);
    }
    check_edited(m, ctx);

    before = m->via_count;
    rc = pl_msg_via_remove_top(m);
    FUZZ_CHECK(edit_rc_ok(rc));
    FUZZ_CHECK(rc != PL_OK || m->via_count + 1 == before);
    FUZZ_CHECK(before > 0 || rc != PL_OK);
    check_edited(m, ctx);

    before = m->route_count;
    rc = pl_msg_route_pop(m);
    FUZZ_CHECK(edit_rc_ok(rc));
    FUZZ_CHECK(rc != PL_OK || m->route_count + 1 == before);
    FUZZ_CHECK(before > 0 || rc != PL_OK);
    check_edited(m, ctx);

    before = m->hdr_count;
    rc = pl_msg_hdr_append(m, PL_STR_LIT("X-Fuzz"), PL_STR_LIT("fuzz-value"));
    FUZZ_CHECK(edit_rc_ok(rc));
    if (rc == PL_OK) {
        FUZZ_CHECK(m->hdr_count == before + 1);
        FUZZ_CHECK(pl_str_eq(m->hdrs[before].name, PL_STR_LIT("X-Fuzz")));
        FUZZ_CHECK(pl_str_eq(m->hdrs[before].value, PL_STR_LIT("fuzz-value")));
    }
    check_edited(m, ctx);

    int32_t x = pl_msg_hdr_find_name(m, PL_STR_LIT("x-fuzz"), 0);
    if (x >= 0) {
        rc = pl_msg_hdr_replace(m, (uint32_t)x, PL_STR_LIT("replaced, value"));
        FUZZ_CHECK(edit_rc_ok(rc));
        if (rc == PL_OK)
            FUZZ_CHECK(pl_str_eq(m->hdrs[x].value, PL_STR_LIT("replaced, value")));
        check_edited(m, ctx);
    }

    before = m->hdr_count;
    rc = pl_msg_hdr_insert(m, 0, PL_STR_LIT("Subject"), PL_STR_LIT("inserted first"));
    FUZZ_CHECK(edit_rc_ok(rc));
    if (rc == PL_OK)
        FUZZ_CHECK(m->hdr_count == before + 1 && m->hdrs[0].id == PL_HDR_SUBJECT);
    check_edited(m, ctx);

    x = pl_msg_hdr_find_name(m, PL_STR_LIT("X-FUZZ"), 0);
    if (x >= 0) {
        before = m->hdr_count;
        rc = pl_msg_hdr_remove(m, (uint32_t)x);
        FUZZ_CHECK(edit_rc_ok(rc));
        FUZZ_CHECK(rc != PL_OK || m->hdr_count + 1 == before);
        check_edited(m, ctx);
    }
    before = m->hdr_count;
    rc = pl_msg_hdr_remove(m, m->hdr_count); /* out of range */
    FUZZ_CHECK(rc != PL_OK && m->hdr_count == before);

    rc = pl_msg_hdr_remove_id(m, PL_HDR_SUBJECT);
    FUZZ_CHECK(rc >= 0 || edit_rc_ok(rc));
    if (rc >= 0)
        FUZZ_CHECK(pl_msg_hdr_find(m, PL_HDR_SUBJECT, 0) == -1);
    check_edited(m, ctx);

    if (m->is_request) {
        pl_str uri = PL_STR_LIT("sip:fuzz@[2001:db8::1]:5070;transport=tcp");
        rc = pl_msg_set_ruri(m, uri);
        FUZZ_CHECK(edit_rc_ok(rc));
        if (rc == PL_OK) {
            FUZZ_CHECK(pl_str_eq(m->ruri_raw, uri));
            FUZZ_CHECK(m->ruri.port == 5070 && m->ruri.host_type == PL_HOST_IPV6);
        }
        check_edited(m, ctx);
    }

    pl_str type, body;
    if (ctx->flags_byte & 1) {
        type = PL_STR_NULL;
        body = PL_STR_NULL;
    } else {
        type = PL_STR_LIT("application/sdp");
        body = PL_STR_LIT("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n");
    }
    rc = pl_msg_set_body(m, type, body);
    FUZZ_CHECK(edit_rc_ok(rc));
    if (rc == PL_OK) {
        FUZZ_CHECK(fuzz_str_eq(m->body, body));
        FUZZ_CHECK(m->has_content_length && m->content_length == body.len);
        FUZZ_CHECK(m->has_content_type == (type.len > 0));
    }
    check_edited(m, ctx);
}

/* ------------------------------------------------------------------ one run */

static void run_one(run_ctx *ctx, pl_framing framing)
{
    pl_msg_limits lim;
    memset(&lim, 0, sizeof lim);
    unsigned scale = ctx->sel >> 2; /* 0..3 */
    bool tiny_arena = false;
    const pl_msg_limits *limits = NULL;
    switch (ctx->sel & 3) {
    case 1:
        lim.max_msg_size = 96u << scale;
        lim.max_headers = 2 + scale * 3;
        lim.max_line = 40u << scale;
        lim.max_vias = 1 + scale;
        lim.max_params = 1 + scale;
        lim.max_values = 1 + scale;
        limits = &lim;
        break;
    case 2:
        tiny_arena = true;
        break;
    case 3:
        lim.max_vias = 2 + scale;
        lim.max_params = 3;
        lim.max_values = 2 + scale;
        limits = &lim;
        break;
    default:
        break;
    }
    ctx->opts.framing = framing;
    ctx->opts.limits = limits;
    ctx->max_params = limits && limits->max_params ? limits->max_params : PL_MSG_DEFAULT_MAX_PARAMS;

    pl_arena arena;
    if (tiny_arena)
        pl_arena_init(&arena, NULL, 0, 256u << (scale * 2)); /* 256 B .. 16 KiB */
    else
        pl_arena_init(&arena, g_main_block, sizeof g_main_block, 64u << 20);

    pl_msg msg;
    pl_error err;
    memset(&err, 0, sizeof err);
    int rc = pl_msg_parse(&msg, ctx->input, ctx->input_len, &arena, &ctx->opts, &err);
    FUZZ_CHECK(pl_err_str(rc) != NULL);
    if (rc != PL_OK) {
        FUZZ_CHECK(rc == PL_EPARSE || rc == PL_ELIMIT || rc == PL_ENOMEM || rc == PL_ENEEDMORE);
        FUZZ_CHECK(err.reason != NULL);
        FUZZ_CHECK(err.offset <= ctx->input_len);
        FUZZ_CHECK(err.code == rc);
        pl_arena_free(&arena);
        return;
    }

    /* Framing accounting: leading CRLFs, the message, ignored trailing bytes. */
    FUZZ_CHECK(msg.buf == ctx->input + msg.skipped);
    FUZZ_CHECK(msg.skipped + msg.len + msg.trailing <= ctx->input_len);
    if (framing == PL_FRAMING_DGRAM)
        FUZZ_CHECK(msg.skipped + msg.len + msg.trailing == ctx->input_len);
    else
        FUZZ_CHECK(msg.trailing == 0 && msg.has_content_length);

    walk_msg(&msg, true, true, ctx);
    check_copy(&msg, ctx);

    /* Unedited, the print is the message's bytes, exactly. */
    size_t plen = 0;
    char *out = print_exact(&msg, &plen);
    FUZZ_CHECK(plen == msg.len);
    FUZZ_CHECK(memcmp(out, msg.buf, plen) == 0);

    /* The printed bytes re-parse to the same message, same options. */
    pl_arena_reset(&ctx->scratch);
    pl_msg r;
    memset(&err, 0, sizeof err);
    rc = pl_msg_parse(&r, out, plen, &ctx->scratch, &ctx->opts, &err);
    FUZZ_CHECK(rc == PL_OK);
    FUZZ_CHECK(r.skipped == 0 && r.trailing == 0 && r.len == plen);
    same_message(&msg, &r);
    FUZZ_CHECK(r.has_cseq == msg.has_cseq && r.cseq.num == msg.cseq.num);
    free(out);
    pl_arena_reset(&ctx->scratch);

    if (msg.is_request)
        check_response(&msg, ctx);

    apply_edits(&msg, ctx);

    /* Edits keep the original bytes. */
    FUZZ_CHECK(memcmp(ctx->input, ctx->input_orig, ctx->input_len) == 0);

    pl_arena_reset(&arena);
    pl_arena_free(&arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    size_t off = 0;
    if (size > 0 && data[0] >= 0xF0) {
        ctx.sel = (uint8_t)(data[0] & 0x0F);
        off = 1;
    }
    ctx.code_byte = size ? data[size - 1] : 0;
    ctx.flags_byte = size > 1 ? data[size / 2] : 0;

    size_t n = size - off;
    char *buf = fuzz_dup(data + off, n); /* exactly n bytes: ASan sees buf[n] */
    ctx.input = buf;
    ctx.input_len = n;
    ctx.input_orig = (const char *)data + off;

    pl_arena_init(&ctx.scratch, g_scratch_block, sizeof g_scratch_block, 64u << 20);
    pl_arena_init(&ctx.resp_arena, g_resp_block, sizeof g_resp_block, 64u << 20);

    run_one(&ctx, PL_FRAMING_DGRAM);
    run_one(&ctx, PL_FRAMING_STREAM);

    /* The raw 400 builder (for requests the parser refuses) stays inside
     * its input and output, and writes a status line and a final CRLFCRLF. */
    {
        size_t cap = (size_t)ctx.code_byte * 64 + 64;
        char *rej = fuzz_alloc(cap);
        size_t rn = 0;
        int rrc = pl_msg_reject_raw(buf, n, 400, "fuzz", rej, cap, &rn);
        FUZZ_CHECK(rrc == PL_OK || rrc == PL_EINVAL || rrc == PL_ENOSPC);
        if (rrc == PL_OK) {
            FUZZ_CHECK(rn <= cap && rn >= 12 + 21);
            FUZZ_CHECK(memcmp(rej, "SIP/2.0 400 ", 12) == 0);
            FUZZ_CHECK(memcmp(rej + rn - 4, "\r\n\r\n", 4) == 0);
        }
        free(rej);
    }

    pl_arena_reset(&ctx.scratch);
    pl_arena_reset(&ctx.resp_arena);
    pl_arena_free(&ctx.scratch);
    pl_arena_free(&ctx.resp_arena);
    free(buf);
    return 0;
}
