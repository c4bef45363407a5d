/*
 * copy.c - a parsed message copied into new bytes without parsing again.
 *
 * A transaction or a proxy keeps its own copy of a message it was handed
 * (the caller's bytes go away). Printing is cheap; parsing the print again
 * is not: it is most of a proxy's work per message. pl_msg_copy() prints
 * the message and moves every view onto the printed bytes instead: each
 * piece that print writes (the start line, every header line, the body)
 * is a segment with an old address and a new offset, and every pl_str of
 * the views, which always lies inside one of those pieces, is moved by its
 * segment's distance. The lists (Via, Contact, Route...) are rebuilt in the
 * new arena.
 *
 * Every pointer field of pl_msg, pl_via, pl_nameaddr, pl_uri and pl_cseq
 * is handled here: a field added to those structures must be added below.
 * A pointer found in no segment (which would be a bug) makes the copy fall
 * back to parsing the printed bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <parley/msg.h>

#include "msg_int.h"

_Thread_local size_t pl__msg_copy_fallbacks;

typedef struct seg {
    const char *src;
    size_t len;
    size_t off; /* in the new bytes */
} seg;

typedef struct reloc {
    seg *s;
    size_t n;
    char *base;
    bool bad;
} reloc;

/* By source address. Insertion sort: the pieces of a received message
 * come in address order already, and edits move only a few. */
static void seg_sort(seg *s, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        seg t = s[i];
        size_t j = i;
        for (; j > 0 && (uintptr_t)s[j - 1].src > (uintptr_t)t.src; j--)
            s[j] = s[j - 1];
        s[j] = t;
    }
}

/* The segment holding [p, p+len), or NULL. */
static const seg *find(const reloc *r, const char *p, size_t len)
{
    /* The last segment that starts at or before p (binary search). */
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if ((uintptr_t)r->s[mid].src <= (uintptr_t)p)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Adjacent segments (lines of one buffer) meet: an empty string at the
     * end of one is at the start of the next; either is fine. */
    for (size_t i = lo; i-- > 0 && i + 2 >= lo;) {
        const seg *s = &r->s[i];
        if (p >= s->src && p + len <= s->src + s->len)
            return s;
    }
    return NULL;
}

/* v moved by the segment s it lies in (the segment of the value it is part
 * of, found once for all its fields), or searched for when it is not. */
static pl_str at(reloc *r, const seg *s, pl_str v)
{
    if (!v.p)
        return v;
    if (!s || v.p < s->src || v.p + v.len > s->src + s->len)
        s = find(r, v.p, v.len);
    if (!s) {
        r->bad = true;
        return v;
    }
    return (pl_str){r->base + s->off + (size_t)(v.p - s->src), v.len};
}

static pl_str move(reloc *r, pl_str v)
{
    return at(r, NULL, v);
}

static void move_uri(reloc *r, const seg *s, pl_uri *u)
{
    u->scheme_str = at(r, s, u->scheme_str);
    u->user = at(r, s, u->user);
    u->password = at(r, s, u->password);
    u->host = at(r, s, u->host);
    u->port_str = at(r, s, u->port_str);
    u->params = at(r, s, u->params);
    u->headers = at(r, s, u->headers);
    u->opaque = at(r, s, u->opaque);
    u->transport = at(r, s, u->transport);
    u->maddr = at(r, s, u->maddr);
    u->user_param = at(r, s, u->user_param);
    u->method = at(r, s, u->method);
    u->ttl = at(r, s, u->ttl);
}

static pl_nameaddr *move_nameaddrs(reloc *r, const pl_nameaddr *src, pl_arena *a,
                                   pl_nameaddr **last)
{
    pl_nameaddr *head = NULL, **tail = &head, *prev = NULL;
    for (const pl_nameaddr *n = src; n; n = n->next) {
        pl_nameaddr *c = pl_arena_alloc(a, sizeof(*c));
        if (!c) {
            r->bad = true;
            return NULL;
        }
        *c = *n;
        const seg *s = find(r, c->raw.p, c->raw.len);
        c->raw = at(r, s, c->raw);
        c->display = at(r, s, c->display);
        c->uri_raw = at(r, s, c->uri_raw);
        move_uri(r, s, &c->uri);
        c->params = at(r, s, c->params);
        c->tag = at(r, s, c->tag);
        c->q = at(r, s, c->q);
        c->next = NULL;
        *tail = c;
        tail = &c->next;
        prev = c;
    }
    if (last)
        *last = prev;
    return head;
}

static pl_via *move_vias(reloc *r, const pl_via *src, pl_arena *a, pl_via **last)
{
    pl_via *head = NULL, **tail = &head, *prev = NULL;
    for (const pl_via *v = src; v; v = v->next) {
        pl_via *c = pl_arena_alloc(a, sizeof(*c));
        if (!c) {
            r->bad = true;
            return NULL;
        }
        *c = *v;
        const seg *s = find(r, c->raw.p, c->raw.len);
        c->raw = at(r, s, c->raw);
        c->protocol = at(r, s, c->protocol);
        c->transport = at(r, s, c->transport);
        c->host = at(r, s, c->host);
        c->port_str = at(r, s, c->port_str);
        c->params = at(r, s, c->params);
        c->branch = at(r, s, c->branch);
        c->received = at(r, s, c->received);
        c->maddr = at(r, s, c->maddr);
        c->ttl = at(r, s, c->ttl);
        c->rport_value = at(r, s, c->rport_value);
        c->next = NULL;
        *tail = c;
        tail = &c->next;
        prev = c;
    }
    *last = prev;
    return head;
}

int pl_msg_copy(pl_msg *dst, const pl_msg *src, char *buf, size_t cap, pl_arena *arena)
{
    size_t n;
    int rc = pl_msg_print(src, buf, cap, &n);
    if (rc != PL_OK)
        return rc;
    size_t nseg = src->hdr_count + 2;
    seg stack[72];
    seg *segs = nseg <= 72 ? stack : malloc(sizeof(seg) * nseg);
    if (!segs)
        return PL_ENOMEM;
    /* The pieces in print order, with their offsets in buf. */
    size_t off = 0, k = 0;
    segs[k++] = (seg){src->start_line.p, src->start_line.len, off};
    off += src->start_line.len + 2;
    for (uint32_t i = 0; i < src->hdr_count; i++) {
        segs[k++] = (seg){src->hdrs[i].line.p, src->hdrs[i].line.len, off};
        off += src->hdrs[i].line.len;
    }
    off += 2;
    segs[k++] = (seg){src->body.p ? src->body.p : buf, src->body.len, off};
    seg_sort(segs, k);
    reloc r = {segs, k, buf, false};

    pl_msg m = *src;
    m.buf = buf;
    m.len = n;
    m.skipped = 0;
    m.trailing = 0;
    m.arena = arena;
    const seg *sl = find(&r, m.start_line.p, m.start_line.len);
    m.start_line = at(&r, sl, m.start_line);
    m.method = at(&r, sl, m.method);
    m.ruri_raw = at(&r, sl, m.ruri_raw);
    move_uri(&r, sl, &m.ruri);
    m.version = at(&r, sl, m.version);
    m.reason = at(&r, sl, m.reason);
    m.body = src->body.p ? move(&r, m.body) : (pl_str){buf + off, 0};
    m.hdr_cap = src->hdr_count ? src->hdr_count : 1;
    m.hdrs = pl_arena_alloc(arena, sizeof(pl_hdr) * m.hdr_cap);
    if (!m.hdrs)
        r.bad = true;
    size_t hoff = src->start_line.len + 2;
    for (uint32_t i = 0; m.hdrs && i < src->hdr_count; i++) {
        /* Header i is the piece printed at hoff: no search. */
        seg hs = {src->hdrs[i].line.p, src->hdrs[i].line.len, hoff};
        hoff += hs.len;
        m.hdrs[i] = src->hdrs[i];
        m.hdrs[i].name = at(&r, &hs, m.hdrs[i].name);
        m.hdrs[i].value = at(&r, &hs, m.hdrs[i].value);
        m.hdrs[i].line = at(&r, &hs, m.hdrs[i].line);
    }
    m.via = move_vias(&r, src->via, arena, &m.via_last_);
    m.from = move_nameaddrs(&r, src->from, arena, NULL);
    m.to = move_nameaddrs(&r, src->to, arena, NULL);
    m.call_id = move(&r, m.call_id);
    m.cseq.method = move(&r, m.cseq.method);
    m.contact = move_nameaddrs(&r, src->contact, arena, &m.contact_last_);
    m.route = move_nameaddrs(&r, src->route, arena, &m.route_last_);
    m.record_route = move_nameaddrs(&r, src->record_route, arena, &m.record_route_last_);
    const seg *ct = m.content_type.type.p ? find(&r, m.content_type.type.p, 0) : NULL;
    m.content_type.type = at(&r, ct, m.content_type.type);
    m.content_type.subtype = at(&r, ct, m.content_type.subtype);
    m.content_type.params = at(&r, ct, m.content_type.params);
    m.edited_start = false;
    m.edited_body = false;
    if (segs != stack)
        free(segs);
    if (r.bad) {
        pl__msg_copy_fallbacks++;
        pl_parse_opts opts = {PL_FRAMING_STREAM, &src->limits};
        return pl_msg_parse(dst, buf, n, arena, &opts, NULL);
    }
    *dst = m;
    return PL_OK;
}
