/*
 * proxy.c - the pl_proxy object and the life of a request context.
 *
 * The proxy sits on a transaction layer of its own: new requests arrive
 * with their server transaction and become a pl_preq (16.7's response
 * context); CANCELs are matched by the layer and applied here (16.10);
 * ACKs for 2xx and stray responses come through the layer's stray hook and
 * are forwarded statelessly (16.11). A pl_preq lives until its final
 * response is upstream and every branch has ended; callbacks into the
 * router hold it (busy) so that it never goes away under them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_int.h"

/* ---- logging and events */

__attribute__((format(printf, 4, 0))) static void vlog(const pl_proxy *p, pl_proxy_log_level lvl,
                                                       pl_str call_id, const char *fmt, va_list ap)
{
    pl_proxy_log_level max = p->cfg.log_level ? p->cfg.log_level : PL_PROXY_LOG_WARN;
    if (lvl > max)
        return;
    char line[1024];
    vsnprintf(line, sizeof(line), fmt, ap);
    if (p->cfg.log) {
        p->cfg.log(lvl, call_id, line, p->cfg.user);
        return;
    }
    static const char *const names[] = {"?", "error", "warning", "info", "debug"};
    if (call_id.len)
        fprintf(stderr, "parley: proxy %s: call-id %.*s: %s\n", names[lvl], (int)call_id.len,
                call_id.p, line);
    else
        fprintf(stderr, "parley: proxy %s: %s\n", names[lvl], line);
}

void pl__proxy_logf(const pl_proxy *p, pl_proxy_log_level lvl, pl_str call_id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(p, lvl, call_id, fmt, ap);
    va_end(ap);
}

void pl_proxy_log(const pl_proxy *p, pl_proxy_log_level level, pl_str call_id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(p, level, call_id, fmt, ap);
    va_end(ap);
}

void pl__proxy_emit(pl_proxy *p, pl_preq *r, pl_proxy_event ev, uint32_t idx, const pl_msg *m)
{
    /* The context is held during the calls: an observer may cancel it
     * (pl_preq_cancel), which must not free it under the code that emits. */
    r->busy++;
    for (size_t i = 0; i < p->nobs; i++)
        if (p->obs[i].mask & (uint32_t)ev)
            p->obs[i].cb(p, r, ev, idx, m, p->obs[i].arg);
    r->busy--;
}

int pl_proxy_observe(pl_proxy *p, uint32_t mask, pl_proxy_event_cb cb, void *arg)
{
    if (!cb || !mask)
        return PL_EINVAL;
    if (p->nobs == MAX_OBSERVERS)
        return PL_ENOMEM;
    p->obs[p->nobs++] = (observer){mask, cb, arg};
    return PL_OK;
}

void pl_proxy_unobserve(pl_proxy *p, pl_proxy_event_cb cb, void *arg)
{
    size_t k = 0;
    for (size_t i = 0; i < p->nobs; i++)
        if (p->obs[i].cb != cb || p->obs[i].arg != arg)
            p->obs[k++] = p->obs[i];
    p->nobs = k;
}

int pl_proxy_ctx_slot(pl_proxy *p)
{
    if (p->nslots == PL_PROXY_CTX_SLOTS)
        return PL_ELIMIT;
    return p->nslots++;
}

/* ---- message copies */

int pl__msg_clone(pl_msg *out, const pl_msg *m, pl_arena *arena)
{
    *out = *m;
    out->arena = arena;
    out->hdr_cap = m->hdr_count + 8;
    out->hdrs = pl_arena_alloc(arena, sizeof(pl_hdr) * out->hdr_cap);
    if (!out->hdrs)
        return PL_ENOMEM;
    if (m->hdr_count)
        memcpy(out->hdrs, m->hdrs, sizeof(pl_hdr) * m->hdr_count);
    return PL_OK;
}

char *pl__proxy_keep(pl_msg *dst, pl_arena *arena, const pl_msg *m, size_t spare)
{
    size_t n = pl_msg_print_len(m);
    size_t at = (n + 15) & ~(size_t)15;
    size_t views = pl_msg_copy_views_size(m) + spare;
    char *block = malloc(at + views);
    pl_arena_init(arena, block ? block + at : NULL, block ? views : 0, 0);
    if (!block || pl_msg_copy(dst, m, block, n, arena) != PL_OK) {
        pl_arena_free(arena);
        free(block);
        return NULL;
    }
    return block;
}

int pl__proxy_content_length(pl_msg *m, const pl_target *dst)
{
    if (m->has_content_length || !pl_transport_reliable(dst->transport))
        return PL_OK;
    char num[12];
    return pl_msg_hdr_append(m, PL_STR_LIT("Content-Length"),
                             (pl_str){num, pl_u32_print((uint32_t)m->body.len, num)});
}

pl_str pl__proxy_unfold(pl_str v, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < v.len && o < cap; i++) {
        char c = v.p[i];
        if (c == '\r' || c == '\n') {
            while (i + 1 < v.len && (v.p[i + 1] == '\r' || v.p[i + 1] == '\n' ||
                                     v.p[i + 1] == ' ' || v.p[i + 1] == '\t'))
                i++;
            c = ' ';
        }
        buf[o++] = c;
    }
    return (pl_str){buf, o};
}

/* ---- request contexts */

static void on_settle_timeout(pl_timer *t, void *arg)
{
    (void)t;
    pl_preq *r = arg;
    if (r->forwarded || r->final_sent)
        return;
    pl__proxy_logf(r->p, PL_PROXY_LOG_WARN, r->msg.call_id,
                   "the router left the request undecided: 408");
    pl_preq_reply(r, 408, PL_STR_NULL, NULL, 0);
    pl__preq_maybe_free(r);
}

/* Work put off until no callback holds r: a local request's report, or
 * the look at a context that pl_preq_cancel changed. */
static void on_later(pl_timer *t, void *arg)
{
    (void)t;
    pl_preq *r = arg;
    if (r->local) {
        pl__local_deliver(r, 500);
        return;
    }
    pl__preq_check_done(r);
}

pl_preq *pl__preq_new(pl_proxy *p, pl_txn *st, const pl_msg *req, const pl_target *src)
{
    pl_preq *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    /* Room for a few edits by the router in the block (more go to chunks). */
    r->buf = pl__proxy_keep(&r->msg, &r->arena, req, 512);
    if (!r->buf) {
        free(r);
        return NULL;
    }
    r->p = p;
    r->st = st;
    r->stateless = st == NULL;
    r->src = *src;
    pl_timer_init(&r->t_settle, on_settle_timeout, r);
    pl_timer_init(&r->t_later, on_later, r);
    pl__proxy_loop_hash(&r->msg, r->loop);
    r->next = p->live;
    if (p->live)
        p->live->prev = r;
    p->live = r;
    p->stats.live++;
    if (st)
        pl_txn_set_user(st, r);
    return r;
}

static void preq_free(pl_preq *r)
{
    pl_proxy *p = r->p;
    r->freeing = true;
    pl__proxy_emit(p, r, PL_PROXY_EV_DELETED, UINT32_MAX, NULL);
    pl_timer_stop(p->cfg.wheel, &r->t_settle);
    pl_timer_stop(p->cfg.wheel, &r->t_later);
    if (r->rep_buf) {
        pl_arena_free(&r->rep_arena);
        free(r->rep_buf);
    }
    for (uint32_t i = 0; i < r->nbr; i++) {
        branch *b = r->br[i];
        pl_timer_stop(p->cfg.wheel, &b->timer_c);
        if (b->ct && (b->state == BR_RUNNING || b->accepted))
            pl_txn_client_abandon(b->ct);
        if (b->wait)
            b->wait->b = NULL; /* the resolver's callback frees it */
        if (b->resp_buf) {
            pl_arena_free(&b->resp_arena);
            free(b->resp_buf);
        }
        free(b);
    }
    free(r->br);
    if (r->st)
        pl_txn_set_user(r->st, NULL);
    if (r->prev)
        r->prev->next = r->next;
    else
        p->live = r->next;
    if (r->next)
        r->next->prev = r->prev;
    p->stats.live--;
    pl_arena_free(&r->arena);
    free(r->buf);
    free(r);
}

void pl__preq_maybe_free(pl_preq *r)
{
    if (r->busy || r->freeing)
        return;
    /* A branch that got a 2xx (accepted) does not hold the context: its
     * transaction, abandoned when the context goes, hands later 2xx
     * retransmissions to the stray hook, which forwards them by the Via. */
    for (uint32_t i = 0; i < r->nbr; i++)
        if (r->br[i]->state == BR_RUNNING || r->br[i]->state == BR_RESOLVING)
            return;
    if (r->local) {
        /* Its caller's callback comes first (pl__local_deliver). */
        if (r->reported)
            preq_free(r);
        return;
    }
    if (r->stateless || r->final_sent || !r->st)
        preq_free(r);
}

/* ---- the transaction layer's callbacks */

static void default_route(pl_proxy *p, pl_preq *r)
{
    (void)p;
    pl_preq_forward(r);
}

static void run_router(pl_proxy *p, pl_preq *r)
{
    p->stats.requests++;
    pl__proxy_emit(p, r, PL_PROXY_EV_REQUEST_IN, UINT32_MAX, &r->msg);
    r->busy++;
    if (p->cfg.router.on_request)
        p->cfg.router.on_request(p, r, p->cfg.router.arg);
    else
        default_route(p, r);
    r->busy--;
    if (!r->stateless && !r->forwarded && !r->final_sent && r->st)
        pl_timer_start(p->cfg.wheel, &r->t_settle, p->cfg.timer_c_ms);
    /* Every branch may have failed at once (no address, a send refused):
     * that is seen now that the router has returned. */
    if (r->forwarded && !r->final_sent && !r->stateless) {
        pl__preq_check_done(r);
        return;
    }
    pl__preq_maybe_free(r);
}

/* RFC 3261 16.10: a CANCEL is answered at once and applied to its INVITE's
 * pending branches; the INVITE gets its final answer from downstream
 * (a 487), or here when nothing was forwarded yet. */
static void on_cancel(pl_proxy *p, pl_txn *st, const pl_msg *cancel)
{
    char blk[4096];
    pl_arena a;
    pl_arena_init(&a, blk, sizeof(blk), 0);
    pl_msg ok;
    if (pl_msg_build_response(&ok, &a, cancel, 200, PL_STR_NULL, PL_STR_NULL, NULL) == PL_OK)
        pl_txn_respond(st, &ok);
    pl_arena_free(&a);
    pl_txn *inv = pl_txn_cancelled(st);
    pl_preq *r = inv ? pl_txn_user(inv) : NULL;
    if (!r || r->final_sent)
        return;
    p->stats.cancelled++;
    r->cancelled = true;
    pl__proxy_emit(p, r, PL_PROXY_EV_CANCELLED, UINT32_MAX, cancel);
    if (!r->forwarded) {
        pl_preq_reply(r, 487, PL_STR_NULL, NULL, 0);
        pl__preq_maybe_free(r);
        return;
    }
    pl__preq_cancel_pending(r);
    pl__preq_check_done(r);
}

/* 16.10 on the proxy's own decision. r is never freed here (the caller
 * may hold it, an event may be running on it): what is left to do after
 * the branches are told runs from t_later. */
int pl_preq_cancel(pl_preq *r)
{
    if (r->local || r->stateless || !r->st || r->final_sent || r->freeing ||
        r->msg.method_id != PL_METHOD_INVITE)
        return PL_ESTATE;
    r->cancelled = true;
    int rc = PL_OK;
    if (!r->forwarded)
        rc = pl_preq_reply(r, 487, PL_STR_NULL, NULL, 0); /* nothing went out */
    else
        pl__preq_cancel_pending(r); /* the 487s come back as the best response */
    pl_timer_start(r->p->cfg.wheel, &r->t_later, 0);
    return rc;
}

static void on_txn_request(pl_txn_layer *l, pl_txn *st, const pl_msg *req, const pl_target *src,
                           void *user)
{
    (void)l;
    pl_proxy *p = user;
    if (req->method_id == PL_METHOD_CANCEL) {
        on_cancel(p, st, req);
        return;
    }
    pl_preq *r = pl__preq_new(p, st, req, src);
    if (!r) {
        char blk[4096];
        pl_arena a;
        pl_arena_init(&a, blk, sizeof(blk), 0);
        pl_msg resp;
        if (pl_msg_build_response(&resp, &a, req, 500, PL_STR_LIT("Out Of Memory"), PL_STR_NULL,
                                  NULL) == PL_OK)
            pl_txn_respond(st, &resp);
        pl_arena_free(&a);
        return;
    }
    if (pl__proxy_validate(r)) {
        p->stats.bad++;
        pl__preq_maybe_free(r);
        return;
    }
    pl__proxy_preprocess_routes(r);
    run_router(p, r);
}

static void on_txn_stray(pl_txn_layer *l, const pl_msg *m, const pl_target *src, void *user)
{
    (void)l;
    pl_proxy *p = user;
    if (!m->is_request) {
        pl__proxy_forward_stray_response(p, m);
        return;
    }
    /* An ACK for a 2xx: its own transaction downstream (17.1.1.3, 16.11). */
    if (m->has_max_forwards && m->max_forwards == 0)
        return;
    pl_preq *r = pl__preq_new(p, NULL, m, src);
    if (!r)
        return;
    pl__proxy_preprocess_routes(r);
    run_router(p, r);
}

static void on_txn_done(pl_txn_layer *l, pl_txn *st, bool timed_out, void *user)
{
    (void)l;
    (void)timed_out;
    (void)user;
    pl_preq *r = pl_txn_user(st);
    if (!r)
        return;
    r->st = NULL;
    pl__preq_maybe_free(r);
}

/* ---- the object */

pl_proxy *pl_proxy_new(const pl_proxy_config *cfg)
{
    if (!cfg || !cfg->wheel || !cfg->sender)
        return NULL;
    pl_proxy *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->cfg = *cfg;
    if (p->cfg.n_locals > PL_PROXY_MAX_LOCALS)
        p->cfg.n_locals = PL_PROXY_MAX_LOCALS;
    if (p->cfg.n_aliases > PL_PROXY_MAX_ALIASES)
        p->cfg.n_aliases = PL_PROXY_MAX_ALIASES;
    if (!p->cfg.timer_c_ms)
        p->cfg.timer_c_ms = 180000;
    if (!p->cfg.max_branches)
        p->cfg.max_branches = 16;
    if (!p->cfg.max_forwards)
        p->cfg.max_forwards = 70;
    pl_txn_config tc = {
        .wheel = cfg->wheel,
        .sender = cfg->sender,
        .timers = cfg->timers,
        .limits = cfg->limits,
        .on_request = on_txn_request,
        .on_stray = on_txn_stray,
        .on_server_done = on_txn_done,
        .user = p,
    };
    for (size_t i = 0; i < p->cfg.n_locals && i < PL_PROXY_MAX_LOCALS; i++)
        p->hostport_len[i] =
            pl__proxy_local_hostport(&p->cfg.locals[i], p->hostport[i], sizeof(p->hostport[i]));
    p->layer = pl_txn_layer_new(&tc);
    if (!p->layer) {
        free(p);
        return NULL;
    }
    return p;
}

void pl_proxy_free(pl_proxy *p)
{
    if (!p)
        return;
    /* Every request of the proxy's own gets its callback first, while the
     * proxy is whole; a callback may end other contexts, so look again
     * from the start each time. */
    p->freeing = true;
    for (;;) {
        pl_preq *r = p->live;
        while (r && !(r->local && !r->reported))
            r = r->next;
        if (!r)
            break;
        pl__local_deliver(r, 503);
    }
    while (p->live) {
        pl_preq *r = p->live;
        r->busy = 0;
        preq_free(r);
    }
    pl_txn_layer_free(p->layer);
    free(p);
}

pl_str pl__proxy_hostport(const pl_proxy *p, const pl_proxy_local *l)
{
    size_t i = (size_t)(l - p->cfg.locals);
    return (pl_str){p->hostport[i], p->hostport_len[i]};
}

pl_txn_layer *pl_proxy_txn_layer(pl_proxy *p)
{
    return p->layer;
}

pl_wheel *pl_proxy_wheel(const pl_proxy *p)
{
    return p->cfg.wheel;
}

bool pl_proxy_uri_local(const pl_proxy *p, const pl_uri *uri)
{
    return p && uri && pl__proxy_uri_local(p, uri);
}

void *pl_proxy_user(const pl_proxy *p)
{
    return p->cfg.user;
}

void pl_proxy_set_router(pl_proxy *p, const pl_proxy_router *router)
{
    p->cfg.router = router ? *router : (pl_proxy_router){0};
}

int pl_proxy_receive(pl_proxy *p, const char *buf, size_t len, const pl_target *src,
                     pl_framing framing)
{
    return pl_txn_receive(p->layer, buf, len, src, framing);
}

void pl_proxy_transport_error(pl_proxy *p, const pl_target *dst)
{
    pl_txn_transport_error(p->layer, dst);
}

void pl_proxy_get_stats(const pl_proxy *p, pl_proxy_stats *out)
{
    *out = p->stats;
}

/* ---- the request API */

pl_msg *pl_preq_msg(pl_preq *r)
{
    return &r->msg;
}

const pl_target *pl_preq_source(const pl_preq *r)
{
    return &r->src;
}

pl_proxy *pl_preq_proxy(const pl_preq *r)
{
    return r->p;
}

bool pl_preq_stateless(const pl_preq *r)
{
    return r->stateless;
}

bool pl_preq_local(const pl_preq *r)
{
    return r->local;
}

bool pl_preq_loose_route(const pl_preq *r)
{
    return r->loose;
}

pl_str pl_preq_own_route_params(const pl_preq *r)
{
    return r->own_route_params;
}

bool pl_preq_ruri_local(const pl_preq *r)
{
    return pl__proxy_uri_local(r->p, &r->msg.ruri);
}

void pl_preq_set_ctx(pl_preq *r, int slot, void *data)
{
    if (slot >= 0 && slot < PL_PROXY_CTX_SLOTS)
        r->ctx[slot] = data;
}

void *pl_preq_ctx(const pl_preq *r, int slot)
{
    return slot >= 0 && slot < PL_PROXY_CTX_SLOTS ? r->ctx[slot] : NULL;
}

uint32_t pl_preq_branches(const pl_preq *r)
{
    return r->nbr;
}

const pl_msg *pl_preq_branch_request(const pl_preq *r, uint32_t idx)
{
    if (idx >= r->nbr || !r->br[idx]->ct || r->br[idx]->state != BR_RUNNING)
        return NULL;
    return pl_txn_request(r->br[idx]->ct);
}

uint16_t pl_preq_final_status(const pl_preq *r)
{
    return r->final_status;
}

int pl_preq_reply(pl_preq *r, uint16_t code, pl_str reason, const pl_str *extra, size_t n)
{
    if (r->stateless || code < 100 || code > 699)
        return PL_EINVAL;
    if (r->final_sent || !r->st)
        return PL_ESTATE;
    pl_proxy *p = r->p;
    const pl_msg *req = pl_txn_request(r->st);
    if (!req)
        req = &r->msg;
    char blk[8192];
    pl_arena a;
    pl_arena_init(&a, blk, sizeof(blk), 0);
    pl_msg resp;
    int rc = pl_msg_build_response(&resp, &a, req, code, reason, PL_STR_NULL, NULL);
    if (rc == PL_OK && p->cfg.server && code > 100)
        rc = pl_msg_hdr_append(&resp, PL_STR_LIT("Server"), pl_str_c(p->cfg.server));
    for (size_t i = 0; rc == PL_OK && i < n; i++)
        rc = pl_msg_hdr_append(&resp, extra[2 * i], extra[2 * i + 1]);
    if (rc == PL_OK)
        rc = pl__preq_send_upstream(r, &resp, false);
    pl_arena_free(&a);
    if (rc != PL_OK)
        return rc;
    if (code >= 200) {
        p->stats.replied_local++;
        pl__preq_cancel_pending(r);
    }
    return PL_OK;
}

/* Room for Record-Route parameters in all: the value is printed in a
 * 512-byte buffer with "<sip:", host and port, transport and ";lr>". */
#define RR_PARAMS_MAX 256

int pl_preq_record_route(pl_preq *r, pl_str params)
{
    if (params.len) {
        for (size_t i = 0; i < params.len; i++)
            if (params.p[i] == '>' || params.p[i] == '\r' || params.p[i] == '\n' ||
                params.p[i] == ',')
                return PL_EINVAL;
        if (params.p[0] != ';')
            return PL_EINVAL;
        /* Each caller's parameters are kept: the dialog module's id and a
         * script's own, in the order given. */
        size_t old = r->rr_params.len;
        if (old + params.len > RR_PARAMS_MAX)
            return PL_ELIMIT;
        char *both = pl_arena_alloc(&r->arena, old + params.len);
        if (!both)
            return PL_ENOMEM;
        if (old)
            memcpy(both, r->rr_params.p, old);
        memcpy(both + old, params.p, params.len);
        r->rr_params = (pl_str){both, old + params.len};
    }
    r->record_route = true;
    return PL_OK;
}

int pl_preq_add_target(pl_preq *r, pl_str uri, pl_str route, uint16_t q, const pl_target *dst)
{
    /* A 6xx or a CANCEL closed the context to new branches (16.7 step 5, 16.10). */
    if (r->final_sent || r->got_6xx || r->cancelled)
        return PL_ESTATE;
    if (r->nbr >= r->p->cfg.max_branches)
        return PL_ELIMIT;
    if (uri.len) {
        pl_uri u;
        if (pl_uri_parse(&u, uri, NULL) != PL_OK)
            return PL_EINVAL;
    }
    if (r->nbr == r->capbr) {
        uint32_t cap = r->capbr ? r->capbr * 2 : 4;
        branch **nb = realloc(r->br, sizeof(*nb) * cap);
        if (!nb)
            return PL_ENOMEM;
        r->br = nb;
        r->capbr = cap;
    }
    branch *b = calloc(1, sizeof(*b));
    if (!b)
        return PL_ENOMEM;
    b->r = r;
    b->idx = r->nbr;
    b->state = BR_WAITING;
    b->q = q;
    if (uri.len && !(b->uri = pl_arena_strdup(&r->arena, uri)).p) {
        free(b);
        return PL_ENOMEM;
    }
    if (route.len && !(b->route = pl_arena_strdup(&r->arena, route)).p) {
        free(b);
        return PL_ENOMEM;
    }
    if (dst) {
        b->has_dst = true;
        b->dst = *dst;
    }
    pl_timer_init(&b->timer_c, pl__branch_timer_c, b);
    r->br[r->nbr++] = b;
    return PL_OK;
}

int pl_preq_forward(pl_preq *r)
{
    if (r->final_sent || r->got_6xx || r->cancelled || (!r->stateless && !r->st))
        return PL_ESTATE;
    bool waiting = false;
    for (uint32_t i = 0; i < r->nbr; i++)
        if (r->br[i]->state == BR_WAITING)
            waiting = true;
    if (!waiting) {
        int rc = pl_preq_add_target(r, PL_STR_NULL, PL_STR_NULL, 1000, NULL);
        if (rc != PL_OK)
            return rc;
    }
    r->forwarded = true;
    pl_timer_stop(r->p->cfg.wheel, &r->t_settle);
    return pl__preq_start_group(r);
}
