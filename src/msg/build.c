/*
 * build.c - new messages: a request from a description, and the response a
 * UAS makes from a request (RFC 3261 section 8.2.6).
 *
 * Both are printed into the arena and then indexed by the parser, so a built
 * message is exactly as good as a received one. The response copies the
 * request's Via, From, Call-ID and CSeq lines byte for byte, and its size is
 * summed from those same lines before anything is written (the reply builder
 * copies exactly the headers it sized).
 */
#include <stdio.h>
#include <string.h>

#include "chars.h"
#include "msg_int.h"

/* A URI as a name-addr: RFC 3261 20.10 wants <> around one with ',' ';' '?'. */
static void sb_angle(pl_sbuf *b, pl_str uri)
{
    pl_sbuf_puts(b, "<");
    pl_sbuf_put(b, uri);
    pl_sbuf_puts(b, ">");
}

static void sb_hdr(pl_sbuf *b, const char *name, pl_str value)
{
    pl_sbuf_puts(b, name);
    pl_sbuf_puts(b, ": ");
    pl_sbuf_put(b, value);
    pl_sbuf_puts(b, "\r\n");
}

static bool field_ok(pl_str v)
{
    for (size_t i = 0; i < v.len; i++) {
        if (v.p[i] == '\r' || v.p[i] == '\n' || v.p[i] == 0)
            return false;
    }
    return true;
}

static int build_fail(pl_error *err, int code, const char *why)
{
    if (err) {
        err->code = code;
        err->offset = 0;
        err->reason = why;
    }
    return code;
}

static void hop_request(const pl_msg *inv, pl_str method, pl_str to, pl_sbuf *b)
{
    char num[12];
    pl_sbuf_put(b, method);
    pl_sbuf_puts(b, " ");
    pl_sbuf_put(b, inv->ruri_raw);
    pl_sbuf_puts(b, " SIP/2.0\r\n");
    sb_hdr(b, "Via", inv->via->raw);
    for (uint32_t i = 0; i < inv->hdr_count; i++)
        if (inv->hdrs[i].id == PL_HDR_ROUTE)
            pl_sbuf_put(b, inv->hdrs[i].line);
    pl_sbuf_puts(b, "Max-Forwards: 70\r\n");
    sb_hdr(b, "From", inv->from->raw);
    sb_hdr(b, "To", to);
    sb_hdr(b, "Call-ID", inv->call_id);
    pl_sbuf_puts(b, "CSeq: ");
    pl_sbuf_put(b, (pl_str){num, pl_u32_print(inv->cseq.num, num)});
    pl_sbuf_puts(b, " ");
    pl_sbuf_put(b, method);
    pl_sbuf_puts(b, "\r\nContent-Length: 0\r\n\r\n");
}

size_t pl_msg_hop_request_len(const pl_msg *inv, pl_str method, pl_str to)
{
    if (!inv->via || !inv->from || !inv->call_id.len)
        return 0;
    /* Every fixed piece of hop_request(), and 10 digits for the CSeq. */
    size_t n = method.len + 1 + inv->ruri_raw.len + 10 + 5 + inv->via->raw.len + 2 + 18 + 6 +
               inv->from->raw.len + 2 + 4 + to.len + 2 + 9 + inv->call_id.len + 2 + 6 + 10 + 1 +
               method.len + 2 + 19 + 2;
    for (uint32_t i = 0; i < inv->hdr_count; i++)
        if (inv->hdrs[i].id == PL_HDR_ROUTE)
            n += inv->hdrs[i].line.len;
    return n;
}

int pl_msg_print_hop_request(const pl_msg *inv, pl_str method, pl_str to, char *out, size_t cap,
                             size_t *written)
{
    if (!inv->via || !inv->from || !inv->call_id.len)
        return PL_EINVAL;
    pl_sbuf b = {out, 0, cap, false};
    hop_request(inv, method, to, &b);
    if (b.over)
        return PL_ENOSPC;
    *written = b.len;
    return PL_OK;
}

int pl_msg_build_request(pl_msg *msg, pl_arena *arena, const pl_request_spec *s, pl_error *err)
{
    if (!s->method.len || !s->ruri.len || !s->via_sent_by.len)
        return build_fail(err, PL_EINVAL, "method, Request-URI and Via sent-by are required");
    const pl_str fields[] = {s->method,      s->ruri,   s->from,    s->from_tag,
                             s->to,          s->to_tag, s->call_id, s->via_transport,
                             s->via_sent_by, s->branch, s->contact, s->content_type};
    size_t need = 256 + s->body.len;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (!field_ok(fields[i]))
            return build_fail(err, PL_EINVAL, "CR, LF or NUL in a request field");
        need += fields[i].len + 32;
    }
    for (size_t i = 0; i < s->n_extra * 2; i++) {
        if (!field_ok(s->extra[i]))
            return build_fail(err, PL_EINVAL, "CR, LF or NUL in an extra header");
        need += s->extra[i].len + 4;
    }
    char tag[16], callid[24], branch[7 + 16];
    pl_str from_tag = s->from_tag, call_id = s->call_id, br = s->branch;
    if (!from_tag.len) {
        pl_random_token(tag, 10);
        from_tag = (pl_str){tag, 10};
    }
    if (!call_id.len) {
        pl_random_token(callid, 20);
        call_id = (pl_str){callid, 20};
    }
    if (!br.len) {
        memcpy(branch, "z9hG4bK", 7); /* RFC 3261 8.1.1.7: the magic cookie */
        pl_random_token(branch + 7, 16);
        br = (pl_str){branch, 23};
    }
    pl_sbuf b = {pl_arena_alloc(arena, need), 0, need, false};
    if (!b.p)
        return build_fail(err, PL_ENOMEM, "out of memory");
    pl_sbuf_put(&b, s->method);
    pl_sbuf_puts(&b, " ");
    pl_sbuf_put(&b, s->ruri);
    pl_sbuf_puts(&b, " SIP/2.0\r\nVia: SIP/2.0/");
    pl_sbuf_put(&b, s->via_transport.len ? s->via_transport : PL_STR_LIT("UDP"));
    pl_sbuf_puts(&b, " ");
    pl_sbuf_put(&b, s->via_sent_by);
    pl_sbuf_puts(&b, ";branch=");
    pl_sbuf_put(&b, br);
    pl_sbuf_puts(&b, "\r\nMax-Forwards: ");
    pl_sbuf_u32(&b, s->max_forwards ? s->max_forwards : 70);
    pl_sbuf_puts(&b, "\r\nFrom: ");
    if (s->from.len)
        pl_sbuf_put(&b, s->from);
    else
        sb_angle(&b, s->ruri);
    pl_sbuf_puts(&b, ";tag=");
    pl_sbuf_put(&b, from_tag);
    pl_sbuf_puts(&b, "\r\nTo: ");
    if (s->to.len)
        pl_sbuf_put(&b, s->to);
    else
        sb_angle(&b, s->ruri);
    if (s->to_tag.len) {
        pl_sbuf_puts(&b, ";tag=");
        pl_sbuf_put(&b, s->to_tag);
    }
    pl_sbuf_puts(&b, "\r\n");
    sb_hdr(&b, "Call-ID", call_id);
    pl_sbuf_puts(&b, "CSeq: ");
    pl_sbuf_u32(&b, s->cseq ? s->cseq : 1);
    pl_sbuf_puts(&b, " ");
    pl_sbuf_put(&b, s->method);
    pl_sbuf_puts(&b, "\r\n");
    if (s->contact.len)
        sb_hdr(&b, "Contact", s->contact);
    for (size_t i = 0; i < s->n_extra; i++) {
        pl_sbuf_put(&b, s->extra[2 * i]);
        pl_sbuf_puts(&b, ": ");
        pl_sbuf_put(&b, s->extra[2 * i + 1]);
        pl_sbuf_puts(&b, "\r\n");
    }
    if (s->content_type.len)
        sb_hdr(&b, "Content-Type", s->content_type);
    pl_sbuf_puts(&b, "Content-Length: ");
    pl_sbuf_u32(&b, (uint32_t)s->body.len);
    pl_sbuf_puts(&b, "\r\n\r\n");
    pl_sbuf_put(&b, s->body);
    if (b.over)
        return build_fail(err, PL_ENOSPC, "request too large");
    pl_parse_opts opts = {PL_FRAMING_STREAM, NULL};
    return pl_msg_parse(msg, b.p, b.len, arena, &opts, err);
}

int pl_msg_build_response(pl_msg *resp, pl_arena *arena, const pl_msg *req, uint16_t code,
                          pl_str reason, pl_str to_tag, pl_error *err)
{
    if (!req->is_request || code < 100 || code > 699)
        return build_fail(err, PL_EINVAL, "not a request, or a status code outside 100-699");
    if (req->method_id == PL_METHOD_ACK)
        return build_fail(err, PL_EINVAL, "an ACK is never answered (RFC 3261 17.1.1.3)");
    if (!req->via)
        return build_fail(err, PL_EINVAL, "request has no Via to answer to");
    if (!reason.len)
        reason = pl_str_c(pl_status_reason(code));
    if (!field_ok(reason) || !field_ok(to_tag))
        return build_fail(err, PL_EINVAL, "CR, LF or NUL in reason or tag");
    char tagbuf[16];
    bool add_tag = code > 100 && req->to && !req->to->has_tag;
    if (add_tag && !to_tag.len) {
        pl_random_token(tagbuf, 10);
        to_tag = (pl_str){tagbuf, 10};
    }
    /* RFC 3261 12.1.1: a response that establishes a dialog carries the
     * request's Record-Route values, in order. */
    bool copy_rr = code > 100 && code < 300 &&
                   (req->method_id == PL_METHOD_INVITE || req->method_id == PL_METHOD_SUBSCRIBE ||
                    req->method_id == PL_METHOD_REFER || req->method_id == PL_METHOD_NOTIFY);
    /* Size first, from exactly the lines that will be copied. */
    size_t need = 8 + 4 + reason.len + 2 + 2 + 19 + 2;
    for (uint32_t i = 0; i < req->hdr_count; i++) {
        const pl_hdr *h = &req->hdrs[i];
        switch (h->id) {
        case PL_HDR_VIA:
        case PL_HDR_FROM:
        case PL_HDR_TO:
        case PL_HDR_CALL_ID:
        case PL_HDR_CSEQ:
            need += h->line.len + (h->id == PL_HDR_TO ? 5 + to_tag.len + 6 : 0);
            break;
        case PL_HDR_TIMESTAMP:
            need += code == 100 ? h->line.len : 0;
            break;
        case PL_HDR_RECORD_ROUTE:
            need += copy_rr ? h->line.len : 0;
            break;
        default:
            break;
        }
    }
    pl_sbuf b = {pl_arena_alloc(arena, need), 0, need, false};
    if (!b.p)
        return build_fail(err, PL_ENOMEM, "out of memory");
    pl_sbuf_puts(&b, "SIP/2.0 ");
    pl_sbuf_u32(&b, code);
    pl_sbuf_puts(&b, " ");
    pl_sbuf_put(&b, reason);
    pl_sbuf_puts(&b, "\r\n");
    for (uint32_t i = 0; i < req->hdr_count; i++) {
        const pl_hdr *h = &req->hdrs[i];
        switch (h->id) {
        case PL_HDR_TO:
            if (add_tag) {
                /* RFC 3261 8.2.6.2: the UAS adds its tag to To. */
                pl_sbuf_put(&b, h->name);
                pl_sbuf_puts(&b, ": ");
                pl_sbuf_put(&b, h->value);
                pl_sbuf_puts(&b, ";tag=");
                pl_sbuf_put(&b, to_tag);
                pl_sbuf_puts(&b, "\r\n");
                break;
            }
            pl_sbuf_put(&b, h->line);
            break;
        case PL_HDR_VIA:
        case PL_HDR_FROM:
        case PL_HDR_CALL_ID:
        case PL_HDR_CSEQ:
            pl_sbuf_put(&b, h->line);
            break;
        case PL_HDR_TIMESTAMP:
            if (code == 100) /* RFC 3261 8.2.6.1 */
                pl_sbuf_put(&b, h->line);
            break;
        case PL_HDR_RECORD_ROUTE:
            if (copy_rr)
                pl_sbuf_put(&b, h->line);
            break;
        default:
            break;
        }
    }
    pl_sbuf_puts(&b, "Content-Length: 0\r\n\r\n");
    if (b.over)
        return build_fail(err, PL_ENOSPC, "response larger than sized");
    pl_parse_opts opts = {PL_FRAMING_STREAM, &req->limits};
    return pl_msg_parse(resp, b.p, b.len, arena, &opts, err);
}
