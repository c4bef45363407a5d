/*
 * forward.c - sending a request on (RFC 3261 16.5, 16.6): the branches of
 * a request, each a copy with its own Request-URI, Max-Forwards, Record-
 * Route, Route and Via, sent in a client transaction; serial groups by q;
 * the ACK for a 2xx and stray responses forwarded statelessly (16.11);
 * a CANCEL for a branch (9.1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_int.h"

/* ---- where a branch goes */

/* The URI of the next hop: the first Route (the branch's own, else the
 * request's), else the Request-URI (16.6 steps 6 and 7). */
static int next_hop(const branch *b, pl_uri *out, char *buf, size_t cap)
{
    const pl_preq *r = b->r;
    pl_str s = {0};
    pl_nameaddr na;
    if (b->route.len) {
        pl_str rest = b->route, item;
        if (pl_list_next(&rest, &item) && pl_nameaddr_parse(&na, item, 64, NULL) == PL_OK)
            s = na.uri_raw;
        else
            return PL_EINVAL;
    } else if (r->msg.route) {
        s = r->msg.route->uri_raw;
    } else {
        s = b->uri.len ? b->uri : r->msg.ruri_raw;
    }
    if (s.len >= cap)
        return PL_EINVAL;
    memcpy(buf, s.p, s.len);
    buf[s.len] = '\0';
    return pl_uri_parse(out, (pl_str){buf, s.len}, NULL);
}

/* ---- the branch's copy of the request */

static int set_max_forwards(pl_msg *m, uint32_t dflt)
{
    char num[12];
    int32_t i = pl_msg_hdr_find(m, PL_HDR_MAX_FORWARDS, 0);
    if (i < 0 || !m->has_max_forwards)
        return pl_msg_hdr_append(m, PL_STR_LIT("Max-Forwards"),
                                 (pl_str){num, pl_u32_print(dflt, num)});
    uint32_t mf = m->max_forwards ? m->max_forwards - 1 : 0;
    return pl_msg_hdr_replace(m, (uint32_t)i, (pl_str){num, pl_u32_print(mf, num)});
}

/* Where a new Route or Record-Route value goes: before the first one of
 * its kind, else right after the Vias. */
static uint32_t insert_pos(const pl_msg *m, pl_hdr_id id)
{
    int32_t i = pl_msg_hdr_find(m, id, 0);
    if (i >= 0)
        return (uint32_t)i;
    uint32_t pos = 0;
    for (uint32_t k = 0; k < m->hdr_count; k++)
        if (m->hdrs[k].id == PL_HDR_VIA)
            pos = k + 1;
    return pos;
}

static int rr_value(const pl_preq *r, const pl_proxy_local *l, char *out, size_t cap, size_t *n)
{
    pl_str hp = pl__proxy_hostport(r->p, l);
    if (!hp.len)
        return PL_EINVAL;
    pl_sbuf b = {out, 0, cap, false};
    pl_sbuf_puts(&b, "<sip:");
    pl_sbuf_put(&b, hp);
    switch (l->target.transport) {
    case PL_TP_UDP:
        break;
    case PL_TP_TCP:
        pl_sbuf_puts(&b, ";transport=tcp");
        break;
    case PL_TP_TLS:
        pl_sbuf_puts(&b, ";transport=tls");
        break;
    case PL_TP_SCTP:
        pl_sbuf_puts(&b, ";transport=sctp");
        break;
    case PL_TP_WS:
        pl_sbuf_puts(&b, ";transport=ws");
        break;
    case PL_TP_WSS:
        pl_sbuf_puts(&b, ";transport=wss");
        break;
    case PL_TP_COUNT_:
        break;
    }
    pl_sbuf_puts(&b, ";lr");
    pl_sbuf_put(&b, r->rr_params);
    pl_sbuf_puts(&b, ">");
    if (b.over)
        return PL_ENOSPC;
    *n = b.len;
    return PL_OK;
}

/* 16.6 step 4: our Record-Route; two when the request changes transport or
 * address family here, so that each side sees the address it can reach. */
static int add_record_route(const pl_preq *r, pl_msg *m, const pl_target *dst)
{
    const pl_proxy *p = r->p;
    const pl_proxy_local *in = pl__proxy_local_for(p, &r->src);
    const pl_proxy_local *out = pl__proxy_local_for(p, dst);
    if (!out)
        return PL_OK; /* no locals configured: nothing to put there */
    char v[512];
    size_t n;
    int rc;
    if (in && in != out) {
        if ((rc = rr_value(r, in, v, sizeof(v), &n)) != PL_OK ||
            (rc = pl_msg_hdr_insert(m, insert_pos(m, PL_HDR_RECORD_ROUTE),
                                    PL_STR_LIT("Record-Route"), (pl_str){v, n})) != PL_OK)
            return rc;
    }
    if ((rc = rr_value(r, out, v, sizeof(v), &n)) != PL_OK)
        return rc;
    return pl_msg_hdr_insert(m, insert_pos(m, PL_HDR_RECORD_ROUTE), PL_STR_LIT("Record-Route"),
                             (pl_str){v, n});
}

/* 16.6 step 6: the next hop is a strict router: it gets the request with
 * itself as Request-URI, and the Request-URI rides at the end of Route. */
static int strict_route(pl_msg *m)
{
    if (!m->route || m->route->uri.lr)
        return PL_OK;
    char old[2048], next[2048];
    if (m->ruri_raw.len + 2 >= sizeof(old) || m->route->uri_raw.len >= sizeof(next))
        return PL_ENOSPC;
    old[0] = '<';
    memcpy(old + 1, m->ruri_raw.p, m->ruri_raw.len);
    old[m->ruri_raw.len + 1] = '>';
    size_t olen = m->ruri_raw.len + 2;
    memcpy(next, m->route->uri_raw.p, m->route->uri_raw.len);
    size_t nlen = m->route->uri_raw.len;
    int32_t last = -1;
    for (int32_t i = pl_msg_hdr_find(m, PL_HDR_ROUTE, 0); i >= 0;
         i = pl_msg_hdr_find(m, PL_HDR_ROUTE, (uint32_t)i + 1))
        last = i;
    int rc = pl_msg_hdr_insert(m, (uint32_t)last + 1, PL_STR_LIT("Route"), (pl_str){old, olen});
    if (rc == PL_OK)
        rc = pl_msg_route_pop(m);
    if (rc == PL_OK)
        rc = pl_msg_set_ruri(m, (pl_str){next, nlen});
    return rc;
}

static void put_hex(pl_sbuf *b, uint64_t v, int digits)
{
    static const char hex[] = "0123456789abcdef";
    char t[16];
    for (int i = 0; i < digits; i++)
        t[i] = hex[(v >> (4 * (digits - 1 - i))) & 0xf];
    pl_sbuf_put(b, (pl_str){t, (size_t)digits});
}

/* The branch parameter: the loop hash (16.6 step 8) and what makes this
 * branch unique, derived from the request's own branch so that the same
 * request always gets the same value (16.11 for ACKs). */
static void put_branch(pl_sbuf *b, const pl_preq *r, uint32_t idx)
{
    pl_str in = r->msg.via && r->msg.via->has_branch ? r->msg.via->branch : r->msg.call_id;
    /* A request of our own has no Via, and two alike (the same ping sent
     * twice) must still get two branches. */
    if (r->local)
        in = (pl_str){r->tag, sizeof(r->tag)};
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < in.len; i++) {
        h ^= (unsigned char)in.p[i];
        h *= 0x100000001b3ull;
    }
    pl_sbuf_puts(b, "z9hG4bKpl");
    pl_sbuf_put(b, (pl_str){r->loop, 16});
    pl_sbuf_puts(b, ".");
    put_hex(b, h ^ (h >> 32), 8);
    if (r->stateless)
        pl_sbuf_puts(b, "a");
    char num[12];
    pl_sbuf_put(b, (pl_str){num, pl_u32_print(idx, num)});
}

int pl__preq_add_via(const pl_preq *r, uint32_t idx, pl_msg *m, const pl_target *dst)
{
    const pl_proxy_local *l = pl__proxy_local_for(r->p, dst);
    pl_str hp = l ? pl__proxy_hostport(r->p, l) : PL_STR_LIT("127.0.0.1");
    char v[320];
    pl_sbuf b = {v, 0, sizeof(v), false};
    pl_sbuf_puts(&b, "SIP/2.0/");
    pl_sbuf_puts(&b, pl_transport_name(dst->transport));
    pl_sbuf_puts(&b, " ");
    pl_sbuf_put(&b, hp);
    pl_sbuf_puts(&b, ";branch=");
    put_branch(&b, r, idx);
    if (b.over)
        return PL_ENOSPC;
    return pl_msg_via_prepend(m, (pl_str){v, b.len});
}

/* The request as this branch sends it to dst, in arena a. */
static int build_branch(const branch *b, const pl_target *dst, pl_msg *m, pl_arena *a)
{
    const pl_preq *r = b->r;
    int rc = pl__msg_clone(m, &r->msg, a);
    if (rc == PL_OK && b->uri.len)
        rc = pl_msg_set_ruri(m, b->uri);
    /* A request of our own carries the Max-Forwards it was given (or the
     * default, put in by pl_proxy_request): this is its first hop. */
    if (rc == PL_OK && !r->local)
        rc = set_max_forwards(m, r->p->cfg.max_forwards);
    if (rc == PL_OK && b->route.len)
        rc = pl_msg_hdr_insert(m, insert_pos(m, PL_HDR_ROUTE), PL_STR_LIT("Route"), b->route);
    if (rc == PL_OK)
        rc = strict_route(m);
    if (rc == PL_OK && r->record_route && !r->stateless && m->method_id != PL_METHOD_REGISTER)
        rc = add_record_route(r, m, dst);
    if (rc == PL_OK)
        rc = pl__preq_add_via(r, b->idx, m, dst);
    if (rc == PL_OK)
        rc = pl__proxy_content_length(m, dst);
    return rc;
}

/* ---- sending */

static void branch_failed(branch *b, uint16_t status)
{
    b->state = BR_DONE;
    b->status = status;
}

static void send_branch(branch *b, const pl_target *dst)
{
    pl_preq *r = b->r;
    pl_proxy *p = r->p;
    char blk[16384];
    pl_arena a;
    pl_arena_init(&a, blk, sizeof(blk), 0);
    pl_msg m;
    b->dst = *dst;
    b->has_dst = true;
    int rc = build_branch(b, dst, &m, &a);
    if (rc != PL_OK) {
        pl__proxy_logf(p, PL_PROXY_LOG_WARN, r->msg.call_id, "branch %u: cannot build: %d", b->idx,
                       rc);
        branch_failed(b, 500);
    } else if (r->stateless) {
        rc = pl_txn_send_stateless(p->layer, &m, dst);
        b->state = BR_DONE;
        if (rc == PL_OK) {
            p->stats.stateless++;
            r->busy++; /* an observer's call must not free r under us */
            pl__proxy_emit(p, r, PL_PROXY_EV_REQUEST_FORWARDED, b->idx, &m);
            r->busy--;
        }
    } else {
        rc = pl_txn_client_start(p->layer, &m, dst, pl__branch_response, b, &b->ct);
        if (rc != PL_OK) {
            branch_failed(b, 503);
        } else {
            b->state = BR_RUNNING;
            if (!r->local)
                p->stats.forwarded++;
            if (m.method_id == PL_METHOD_INVITE)
                pl_timer_start(p->cfg.wheel, &b->timer_c, p->cfg.timer_c_ms);
            r->busy++;
            pl__proxy_emit(p, r, PL_PROXY_EV_REQUEST_FORWARDED, b->idx, pl_txn_request(b->ct));
            r->busy--;
        }
    }
    pl_arena_free(&a);
}

static void on_resolved(void *arg, int status, const pl_target *targets, size_t n)
{
    dns_wait *w = arg;
    branch *b = w->b;
    free(w);
    if (!b)
        return; /* its context (or the whole proxy) went while it waited */
    b->wait = NULL;
    pl_preq *r = b->r;
    if (b->state != BR_RESOLVING)
        return;
    if (b->cancel_wanted) {
        branch_failed(b, 487);
    } else if (status != PL_OK || n == 0) {
        pl__proxy_logf(r->p, PL_PROXY_LOG_INFO, r->msg.call_id, "branch %u: no address: %d", b->idx,
                       status);
        branch_failed(b, 503);
    } else {
        send_branch(b, &targets[0]);
    }
    if (b->state == BR_DONE)
        pl__preq_check_done(r);
    else
        pl__preq_maybe_free(r);
}

static void start_branch(branch *b)
{
    pl_preq *r = b->r;
    pl_proxy *p = r->p;
    if (b->has_dst) {
        send_branch(b, &b->dst);
        return;
    }
    char buf[2048], host[256];
    pl_uri hop;
    pl_target t;
    uint16_t port;
    if (next_hop(b, &hop, buf, sizeof(buf)) != PL_OK) {
        branch_failed(b, 400);
        return;
    }
    /* The transport the request came in on is a hint only for the
     * upstream side; the next hop's URI decides (RFC 3263 4.1). */
    int rc = pl_dns_uri_target(&hop, PL_TP_COUNT_, &t, host, sizeof(host), &port);
    if (rc == PL_OK) {
        send_branch(b, &t);
        return;
    }
    if (rc == PL_ENOTFOUND && p->cfg.dns) {
        dns_wait *w = malloc(sizeof(*w));
        if (w) {
            w->b = b;
            b->wait = w;
            b->state = BR_RESOLVING;
            if (pl_dns_resolve_uri(p->cfg.dns, &hop, PL_TP_COUNT_, on_resolved, w) == PL_OK)
                return;
            b->wait = NULL;
            b->state = BR_WAITING;
            free(w);
        }
    }
    pl__proxy_logf(p, PL_PROXY_LOG_INFO, r->msg.call_id, "branch %u: cannot route to %s", b->idx,
                   buf);
    branch_failed(b, rc == PL_EINVAL ? 416 : 503);
}

int pl__preq_start_group(pl_preq *r)
{
    int started = 0;
    for (;;) {
        uint16_t best = 0;
        bool any = false;
        for (uint32_t i = 0; i < r->nbr; i++)
            if (r->br[i]->state == BR_WAITING && (!any || r->br[i]->q > best)) {
                best = r->br[i]->q;
                any = true;
            }
        if (!any)
            break;
        bool live = false;
        for (uint32_t i = 0; i < r->nbr; i++) {
            branch *b = r->br[i];
            if (b->state != BR_WAITING || b->q != best)
                continue;
            start_branch(b);
            started++;
            if (b->state == BR_RUNNING || b->state == BR_RESOLVING)
                live = true;
        }
        /* A group whose every branch failed at once: on to the next. */
        if (live || r->stateless)
            break;
    }
    if (!r->busy && !r->stateless) {
        bool live = false;
        for (uint32_t i = 0; i < r->nbr; i++)
            if (r->br[i]->state == BR_RUNNING || r->br[i]->state == BR_RESOLVING)
                live = true;
        if (!live)
            pl__preq_check_done(r);
    }
    return started ? PL_OK : PL_EINVAL;
}

/* ---- CANCEL (RFC 3261 9.1): same Request-URI, Call-ID, From, To, CSeq
 * number and Route as the INVITE, and only its top Via. */

static void on_cancel_response(pl_txn *ct, const pl_msg *resp, bool final, void *arg)
{
    (void)ct;
    (void)resp;
    (void) final;
    (void)arg;
}

int pl__branch_cancel(branch *b)
{
    if (b->cancel_sent || !b->ct)
        return PL_OK;
    const pl_msg *inv = pl_txn_request(b->ct);
    if (!inv || !inv->to)
        return PL_EINVAL;
    pl_proxy *p = b->r->p;
    size_t cap = pl_msg_hop_request_len(inv, PL_STR_LIT("CANCEL"), inv->to->raw);
    char *t = cap ? malloc(cap) : NULL;
    size_t n;
    if (!t ||
        pl_msg_print_hop_request(inv, PL_STR_LIT("CANCEL"), inv->to->raw, t, cap, &n) != PL_OK) {
        free(t);
        return PL_ENOMEM;
    }
    char blk[4096];
    pl_arena a;
    pl_arena_init(&a, blk, sizeof(blk), 0);
    pl_msg m;
    pl_parse_opts opts = {PL_FRAMING_STREAM, NULL};
    int rc = pl_msg_parse(&m, t, n, &a, &opts, NULL);
    if (rc == PL_OK)
        /* 9.1: where the INVITE went, after any switch to TCP (18.1.1). */
        rc = pl_txn_client_start(p->layer, &m, pl_txn_peer(b->ct), on_cancel_response, NULL, NULL);
    pl_arena_free(&a);
    free(t);
    if (rc == PL_OK)
        b->cancel_sent = true;
    return rc;
}

/* ---- stateless: the ACK for a 2xx, and responses no transaction wants */

/* Where a response goes by its (new) top Via (18.2.2, RFC 3581). */
static bool via_target(const pl_via *v, pl_target *t)
{
    pl_str host = v->received.len ? v->received : v->host;
    uint32_t port = v->port ? v->port : 5060;
    if (v->has_rport && v->rport_value.len)
        pl_str_to_u32(v->rport_value, 65535, &port);
    /* "udp:host:port", IPv6 in brackets (received=::1 comes without). */
    bool bare6 = host.len && host.p[0] != '[' && memchr(host.p, ':', host.len);
    char text[128];
    int n = snprintf(text, sizeof(text), "%.*s:%s%.*s%s:%u", (int)v->transport.len, v->transport.p,
                     bare6 ? "[" : "", (int)host.len, host.p, bare6 ? "]" : "", (unsigned)port);
    return n > 0 && (size_t)n < sizeof(text) && pl_target_parse(t, text) == PL_OK;
}

int pl__proxy_send_response_stateless(pl_proxy *p, const pl_msg *resp)
{
    if (!resp->via || !resp->via->next)
        return PL_EINVAL;
    char blk[8192];
    pl_arena a;
    pl_arena_init(&a, blk, sizeof(blk), 0);
    pl_msg m;
    pl_target t;
    int rc = pl__msg_clone(&m, resp, &a);
    if (rc == PL_OK)
        rc = pl_msg_via_remove_top(&m);
    if (rc == PL_OK)
        rc = via_target(m.via, &t) ? PL_OK : PL_EINVAL;
    if (rc == PL_OK)
        rc = pl_txn_send_stateless(p->layer, &m, &t);
    if (rc == PL_OK)
        p->stats.stateless++;
    pl_arena_free(&a);
    return rc;
}

void pl__proxy_forward_stray_response(pl_proxy *p, const pl_msg *resp)
{
    /* 16.7 / 16.11: only a response whose top Via is ours goes on. */
    const pl_via *v = resp->via;
    if (!v || !v->has_branch || v->branch.len < 9 || memcmp(v->branch.p, "z9hG4bKpl", 9) != 0)
        return;
    pl_uri u = {.scheme = PL_URI_SIP, .host = v->host, .host_type = v->host_type, .port = v->port};
    if (!pl__proxy_uri_local(p, &u))
        return;
    if (pl__proxy_send_response_stateless(p, resp) != PL_OK)
        pl__proxy_logf(p, PL_PROXY_LOG_DEBUG, resp->call_id, "stray %u response dropped",
                       resp->status);
}
