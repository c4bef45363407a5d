/*
 * eager.c - the headers every layer acts on, parsed as soon as they are
 * seen so that bad input fails once, at the door, with a precise reason
 * (never later inside a transaction or a dialog): Via, From, To, Call-ID,
 * CSeq, Max-Forwards, Contact, Route, Record-Route, Content-Length,
 * Content-Type, Expires, Require, Proxy-Require, Supported.
 *
 * Error offsets are from the start of the header's own line's buffer: the
 * caller's buffer for parsed messages, since values point into it.
 */
#include <string.h>

#include "chars.h"
#include "msg_int.h"

/* Base for error offsets: the start of the message's buffer when the value
 * lies in it; edits store values in the arena, where offsets are relative to
 * the value itself. */
static const char *err_base(const pl_msg *m, pl_str v)
{
    const char *b = m->buf - m->skipped;
    if (m->len == 0)
        return b; /* still parsing: every value lies in the input */
    if (v.p >= m->buf && v.p <= m->buf + m->len)
        return b;
    return v.p;
}

static int dup_err(pl_error *err, const char *base, const char *at, const char *why)
{
    return pl__fail(err, PL_EPARSE, base, at, why);
}

static int parse_via_list(pl_msg *m, pl_str v, const char *base, pl_error *err)
{
    const char *p = v.p, *end = v.p + v.len;
    if (v.len == 0)
        return pl__fail(err, PL_EPARSE, base, p, "empty Via");
    while (p < end) {
        if (m->via_count >= m->limits.max_vias)
            return pl__fail(err, PL_ELIMIT, base, p, "too many Via values");
        pl_via *via = pl_arena_alloc(m->arena, sizeof(*via));
        if (!via)
            return pl__fail(err, PL_ENOMEM, base, p, "out of memory");
        p = pl__via_scan(via, p, end, m->limits.max_params, base, err);
        if (!p)
            return err ? err->code : PL_EPARSE;
        if (m->via)
            m->via_last_->next = via;
        else
            m->via = via;
        m->via_last_ = via;
        m->via_count++;
        p = pl__list_sep(p, end);
        if (!p)
            return pl__fail(err, PL_EPARSE, base, via->raw.p + via->raw.len,
                            "unexpected character after Via value");
    }
    return PL_OK;
}

/* Contact, Route, Record-Route: comma-separated name-addrs. */
static int parse_addr_list(pl_msg *m, pl_str v, pl_nameaddr **head, pl_nameaddr **last,
                           uint32_t *count, bool need_angle, const char *what, const char *base,
                           pl_error *err)
{
    const char *p = v.p, *end = v.p + v.len;
    if (v.len == 0)
        return pl__fail(err, PL_EPARSE, base, p, what);
    while (p < end) {
        if (*count >= m->limits.max_values)
            return pl__fail(err, PL_ELIMIT, base, p, "too many values in one header kind");
        pl_nameaddr *na = pl_arena_alloc(m->arena, sizeof(*na));
        if (!na)
            return pl__fail(err, PL_ENOMEM, base, p, "out of memory");
        const char *start = p;
        p = pl__nameaddr_scan(na, p, end, true, m->limits.max_params, base, err);
        if (!p)
            return err ? err->code : PL_EPARSE;
        if (need_angle && !na->angle)
            return pl__fail(err, PL_EPARSE, base, start, "route value without '<>'");
        if (*head)
            (*last)->next = na;
        else
            *head = na;
        *last = na;
        (*count)++;
        p = pl__list_sep(p, end);
        if (!p)
            return pl__fail(err, PL_EPARSE, base, na->raw.p + na->raw.len,
                            "unexpected character after address");
    }
    return PL_OK;
}

static int parse_single_addr(pl_msg *m, pl_str v, pl_nameaddr **slot, const char *dup,
                             const char *base, pl_error *err)
{
    if (*slot)
        return dup_err(err, base, v.p, dup);
    pl_nameaddr *na = pl_arena_alloc(m->arena, sizeof(*na));
    if (!na)
        return pl__fail(err, PL_ENOMEM, base, v.p, "out of memory");
    const char *end = v.p + v.len;
    const char *p = pl__nameaddr_scan(na, v.p, end, false, m->limits.max_params, base, err);
    if (!p)
        return err ? err->code : PL_EPARSE;
    p = skip_lws(p, end);
    if (p != end)
        return pl__fail(err, PL_EPARSE, base, p, "unexpected character after address");
    *slot = na;
    return PL_OK;
}

/* callid = word [ "@" word ] */
static int parse_call_id(pl_msg *m, pl_str v, const char *base, pl_error *err)
{
    if (m->call_id.p)
        return dup_err(err, base, v.p, "duplicate Call-ID header");
    const char *p = v.p, *end = v.p + v.len;
    const char *q = skip_class(p, end, CC_WORD);
    if (q == p)
        return pl__fail(err, PL_EPARSE, base, p, "empty or bad Call-ID");
    if (q < end && *q == '@') {
        const char *w = q + 1;
        q = skip_class(w, end, CC_WORD);
        if (q == w)
            return pl__fail(err, PL_EPARSE, base, w, "bad Call-ID after '@'");
    }
    if (q != end)
        return pl__fail(err, PL_EPARSE, base, q, "bad character in Call-ID");
    m->call_id = v;
    return PL_OK;
}

static int parse_uint_hdr(pl_str v, uint32_t max, uint32_t *out, bool *has, const char *dup,
                          const char *bad, const char *base, pl_error *err)
{
    if (*has)
        return dup_err(err, base, v.p, dup);
    int rc = pl_str_to_u32(v, max, out);
    if (rc != PL_OK)
        return pl__fail(err, rc, base, v.p, bad);
    *has = true;
    return PL_OK;
}

/* option-tag lists: every element a token; empty elements are skipped. */
static int check_tokens(pl_str v, const char *what, const char *base, pl_error *err)
{
    const char *p = v.p, *end = v.p + v.len;
    while (p < end) {
        while (p < end && (cc_lws(*p) || *p == ','))
            p++;
        const char *t = p;
        p = skip_class(p, end, CC_TOKEN);
        if (p == t && p < end)
            return pl__fail(err, PL_EPARSE, base, p, what);
        p = skip_lws(p, end);
        if (p < end && *p != ',')
            return pl__fail(err, PL_EPARSE, base, p, what);
    }
    return PL_OK;
}

static int with_offset(int rc, pl_error *err, const char *base, pl_str v)
{
    /* The value parsers report offsets from the value; make them message offsets. */
    if (rc != PL_OK && err && base != v.p)
        err->offset += (size_t)(v.p - base);
    return rc;
}

int pl__msg_parse_eager(pl_msg *m, uint32_t i, pl_error *err)
{
    const pl_hdr *h = &m->hdrs[i];
    pl_str v = h->value;
    const char *base = err_base(m, v);
    switch (h->id) {
    case PL_HDR_VIA:
        return parse_via_list(m, v, base, err);
    case PL_HDR_FROM:
        return parse_single_addr(m, v, &m->from, "duplicate From header", base, err);
    case PL_HDR_TO:
        return parse_single_addr(m, v, &m->to, "duplicate To header", base, err);
    case PL_HDR_CALL_ID:
        return parse_call_id(m, v, base, err);
    case PL_HDR_CSEQ:
        if (m->has_cseq)
            return dup_err(err, base, v.p, "duplicate CSeq header");
        m->has_cseq = true;
        return with_offset(pl_cseq_parse(&m->cseq, v, err), err, base, v);
    case PL_HDR_MAX_FORWARDS:
        return parse_uint_hdr(v, 255, &m->max_forwards, &m->has_max_forwards,
                              "duplicate Max-Forwards header", "bad Max-Forwards", base, err);
    case PL_HDR_CONTENT_LENGTH:
        /* Checked against the size limit before any arithmetic (no overflow, no truncation). */
        return parse_uint_hdr(
            v, m->limits.max_msg_size > UINT32_MAX ? UINT32_MAX : (uint32_t)m->limits.max_msg_size,
            &m->content_length, &m->has_content_length, "duplicate Content-Length header",
            "bad Content-Length", base, err);
    case PL_HDR_EXPIRES:
        return parse_uint_hdr(v, UINT32_MAX, &m->expires, &m->has_expires,
                              "duplicate Expires header", "bad Expires", base, err);
    case PL_HDR_CONTENT_TYPE:
        if (m->has_content_type)
            return dup_err(err, base, v.p, "duplicate Content-Type header");
        m->has_content_type = true;
        return with_offset(pl__media_type_parse(&m->content_type, v, m->limits.max_params, err),
                           err, base, v);
    case PL_HDR_CONTACT:
        if (v.len == 1 && v.p[0] == '*') {
            if (m->contact_star || m->contact_count)
                return pl__fail(err, PL_EPARSE, base, v.p, "'*' Contact mixed with others");
            m->contact_star = true;
            return PL_OK;
        }
        if (m->contact_star)
            return pl__fail(err, PL_EPARSE, base, v.p, "'*' Contact mixed with others");
        return parse_addr_list(m, v, &m->contact, &m->contact_last_, &m->contact_count, false,
                               "empty Contact", base, err);
    case PL_HDR_ROUTE:
        return parse_addr_list(m, v, &m->route, &m->route_last_, &m->route_count, true,
                               "empty Route", base, err);
    case PL_HDR_RECORD_ROUTE:
        return parse_addr_list(m, v, &m->record_route, &m->record_route_last_,
                               &m->record_route_count, true, "empty Record-Route", base, err);
    case PL_HDR_REQUIRE:
        if (v.len == 0)
            return pl__fail(err, PL_EPARSE, base, v.p, "empty Require");
        return check_tokens(v, "bad option tag in Require", base, err);
    case PL_HDR_PROXY_REQUIRE:
        if (v.len == 0)
            return pl__fail(err, PL_EPARSE, base, v.p, "empty Proxy-Require");
        return check_tokens(v, "bad option tag in Proxy-Require", base, err);
    case PL_HDR_SUPPORTED:
        return check_tokens(v, "bad option tag in Supported", base, err);
    default:
        return PL_OK;
    }
}

int pl__msg_reindex(pl_msg *m, pl_hdr_id id, pl_error *err)
{
    switch (id) {
    case PL_HDR_VIA:
        m->via = NULL;
        m->via_count = 0;
        break;
    case PL_HDR_FROM:
        m->from = NULL;
        break;
    case PL_HDR_TO:
        m->to = NULL;
        break;
    case PL_HDR_CALL_ID:
        m->call_id = PL_STR_NULL;
        break;
    case PL_HDR_CSEQ:
        m->has_cseq = false;
        memset(&m->cseq, 0, sizeof(m->cseq));
        break;
    case PL_HDR_MAX_FORWARDS:
        m->has_max_forwards = false;
        m->max_forwards = 0;
        break;
    case PL_HDR_CONTENT_LENGTH:
        m->has_content_length = false;
        m->content_length = 0;
        break;
    case PL_HDR_EXPIRES:
        m->has_expires = false;
        m->expires = 0;
        break;
    case PL_HDR_CONTENT_TYPE:
        m->has_content_type = false;
        memset(&m->content_type, 0, sizeof(m->content_type));
        break;
    case PL_HDR_CONTACT:
        m->contact = NULL;
        m->contact_count = 0;
        m->contact_star = false;
        break;
    case PL_HDR_ROUTE:
        m->route = NULL;
        m->route_count = 0;
        break;
    case PL_HDR_RECORD_ROUTE:
        m->record_route = NULL;
        m->record_route_count = 0;
        break;
    default:
        break;
    }
    for (uint32_t i = 0; i < m->hdr_count; i++) {
        if (m->hdrs[i].id == id) {
            int rc = pl__msg_parse_eager(m, i, err);
            if (rc != PL_OK)
                return rc;
        }
    }
    return PL_OK;
}
