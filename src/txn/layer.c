/*
 * layer.c - the transaction layer: creating and freeing transactions,
 * receiving messages and routing them to the client or server half, and
 * stateless sending.
 *
 * Every received request has its top Via stamped first (RFC 3261 18.2.1,
 * RFC 3581): ";received=" with the source address when the sent-by host
 * differs from it, and the source port in an empty ";rport". Responses built
 * from the request then carry them, and pl__txn_response_target sends them
 * where 18.2.2 and RFC 3581 section 4 say.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "txn_int.h"

#define KEY_MAX 4096

static void defaults(pl_txn_timers *t)
{
    if (!t->t1)
        t->t1 = 500;
    if (!t->t2)
        t->t2 = 4000;
    if (!t->t4)
        t->t4 = 5000;
    if (!t->trying_ms)
        t->trying_ms = 200;
}

pl_txn_layer *pl_txn_layer_new(const pl_txn_config *cfg)
{
    if (!cfg || !cfg->wheel || !cfg->sender || !cfg->sender->send)
        return NULL;
    pl_txn_layer *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->cfg = *cfg;
    defaults(&l->cfg.timers);
    if (!l->cfg.udp_max)
        l->cfg.udp_max = 1300;
    pl_arena_init(&l->scratch, l->scratch_block, sizeof(l->scratch_block), 0);
    return l;
}

void pl_txn_layer_free(pl_txn_layer *l)
{
    if (!l)
        return;
    while (l->all)
        pl__txn_free(l->all);
    free(l->buckets);
    pl_arena_free(&l->scratch);
    free(l);
}

void pl_txn_layer_stats(const pl_txn_layer *l, pl_txn_stats *out)
{
    *out = l->stats;
}

uint64_t pl__txn_64t1(const pl_txn_layer *l)
{
    return 64u * (uint64_t)l->cfg.timers.t1;
}

int pl__txn_send(pl_txn_layer *l, const pl_target *dst, const char *buf, size_t len)
{
    int rc = l->cfg.sender->send(l->cfg.sender, dst, buf, len);
    if (rc != PL_OK)
        l->stats.transport_errors++;
    return rc;
}

pl_txn *pl__txn_new(pl_txn_layer *l, pl_txn_kind kind, const pl_msg *req, const pl_target *peer)
{
    pl_txn *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->layer = l;
    t->kind = kind;
    t->peer = *peer;
    t->reliable = pl_transport_reliable(peer->transport);
    t->req_len = pl_msg_print_len(req);
    t->req_buf = malloc(t->req_len ? t->req_len : 1);
    size_t views = pl_msg_copy_views_size(req);
    t->rq = malloc(sizeof(*t->rq) + views);
    if (t->rq)
        pl_arena_init(&t->rq->arena, t->rq->block, views, 0);
    if (!t->req_buf || !t->rq ||
        pl_msg_copy(&t->rq->msg, req, t->req_buf, t->req_len, &t->rq->arena) != PL_OK) {
        if (t->rq)
            pl_arena_free(&t->rq->arena);
        free(t->rq);
        free(t->req_buf);
        free(t);
        return NULL;
    }
    t->next_all = l->all;
    if (l->all)
        l->all->prev_all = t;
    l->all = t;
    l->stats.live++;
    l->stats.live_by_kind[kind]++;
    return t;
}

void pl__txn_free(pl_txn *t)
{
    pl_txn_layer *l = t->layer;
    pl_timer_stop(l->cfg.wheel, &t->t_retrans);
    pl_timer_stop(l->cfg.wheel, &t->t_end);
    pl_timer_stop(l->cfg.wheel, &t->t_extra);
    pl__txn_key_remove(l, t->key);
    pl__txn_key_remove(l, t->merge_key);
    /* A CANCEL and its INVITE forget each other. */
    if (t->canceller)
        t->canceller->cancelled = NULL;
    if (t->cancelled)
        t->cancelled->canceller = NULL;
    if (t->prev_all)
        t->prev_all->next_all = t->next_all;
    else
        l->all = t->next_all;
    if (t->next_all)
        t->next_all->prev_all = t->prev_all;
    l->stats.live--;
    l->stats.live_by_kind[t->kind]--;
    pl__txn_drop_request(t);
    free(t->out_buf);
    free(t);
}

void pl__txn_drop_request(pl_txn *t)
{
    /* Matching needs only the key; a retransmitted request gets out_buf
     * again. Dropping the copy (its bytes and its views) cuts what a
     * finished transaction holds for Timer J, K, L or M to the struct, the
     * key and the last response. */
    if (t->rq) {
        pl_arena_free(&t->rq->arena);
        free(t->rq);
        t->rq = NULL;
    }
    free(t->req_buf);
    t->req_buf = NULL;
    t->req_len = 0;
}

/* ---- response routing */

static bool addr_text(const pl_target *src, char *out, size_t cap)
{
    /* Most requests come from the peer the last one came from (a proxy, a
     * trunk): inet_ntop once per address, not once per request. */
    static _Thread_local struct sockaddr_storage last;
    static _Thread_local char last_text[INET6_ADDRSTRLEN];
    size_t alen =
        src->addr.ss_family == AF_INET6 ? sizeof(struct in6_addr) : sizeof(struct in_addr);
    const void *a = src->addr.ss_family == AF_INET6
                        ? (const void *)&((const struct sockaddr_in6 *)&src->addr)->sin6_addr
                        : (const void *)&((const struct sockaddr_in *)&src->addr)->sin_addr;
    const void *l = src->addr.ss_family == AF_INET6
                        ? (const void *)&((const struct sockaddr_in6 *)&last)->sin6_addr
                        : (const void *)&((const struct sockaddr_in *)&last)->sin_addr;
    if (last.ss_family == src->addr.ss_family && last_text[0] && memcmp(a, l, alen) == 0) {
        size_t n = strlen(last_text);
        if (n >= cap)
            return false;
        memcpy(out, last_text, n + 1);
        return true;
    }
    if (!inet_ntop(src->addr.ss_family, a, last_text, sizeof(last_text))) {
        last_text[0] = '\0';
        return false;
    }
    last = src->addr;
    size_t n = strlen(last_text);
    if (n >= cap)
        return false;
    memcpy(out, last_text, n + 1);
    return true;
}

void pl__txn_response_target(const pl_msg *req, const pl_target *src, pl_target *out)
{
    *out = *src;
    if (pl_transport_reliable(src->transport) || !req->via)
        return; /* 18.2.2: back over the connection the request came on */
    const pl_via *v = req->via;
    if (v->has_rport)
        return; /* RFC 3581 4: source address and port */
    /* 18.2.2: the received address, and the sent-by port or 5060. */
    uint16_t port = v->port ? v->port : 5060;
    if (out->addr.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&out->addr)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)&out->addr)->sin_port = htons(port);
}

/* RFC 3261 18.2.1 and RFC 3581 4: stamp the top Via of a received request. */
static int stamp_via(pl_msg *m, const pl_target *src)
{
    const pl_via *v = m->via;
    char ip[INET6_ADDRSTRLEN + 2];
    if (!v || !addr_text(src, ip, sizeof(ip)))
        return PL_OK;
    bool v6 = src->addr.ss_family == AF_INET6;
    char host[INET6_ADDRSTRLEN + 2];
    int n = snprintf(host, sizeof(host), v6 ? "[%s]" : "%s", ip);
    bool need_received = !pl_str_case_eq(v->host, (pl_str){host, (size_t)n});
    bool need_rport = v->has_rport && v->rport_value.len == 0;
    if (!need_received && !need_rport)
        return PL_OK;
    /* The new first value: the old one with the parameters set. */
    char buf[1024];
    size_t o = 0;
    pl_str raw = v->raw;
    if (raw.len > 700)
        return PL_OK; /* leave an absurd Via alone: the response goes to src anyway */
    if (need_rport) {
        /* Copy up to the bare ";rport", add "=port", copy the rest. */
        const char *r = raw.p + (size_t)(v->params.p - raw.p);
        const char *end = raw.p + raw.len;
        const char *at = NULL;
        for (const char *q = r; q + 5 <= end; q++) {
            if ((q[0] | 0x20) == 'r' && pl_str_case_eq((pl_str){q, 5}, PL_STR_LIT("rport")) &&
                (q + 5 == end || q[5] == ';' || q[5] == ' ' || q[5] == '\t')) {
                at = q + 5;
                break;
            }
        }
        if (!at)
            return PL_OK;
        memcpy(buf, raw.p, (size_t)(at - raw.p));
        o = (size_t)(at - raw.p);
        buf[o++] = '=';
        o += pl_u32_print(pl_target_port(src), buf + o);
        memcpy(buf + o, at, (size_t)(end - at));
        o += (size_t)(end - at);
    } else {
        memcpy(buf, raw.p, raw.len);
        o = raw.len;
    }
    if (need_received)
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, ";received=%s", ip);
    /* Replace the first Via value in its header field, keeping any others. */
    int32_t i = pl_msg_hdr_find(m, PL_HDR_VIA, 0);
    if (i < 0)
        return PL_OK;
    const pl_hdr *h = &m->hdrs[i];
    const char *rest = raw.p + raw.len;
    const char *hend = h->value.p + h->value.len;
    size_t tail = (size_t)(hend - rest);
    if (o + tail > sizeof(buf))
        return PL_OK;
    memcpy(buf + o, rest, tail);
    o += tail;
    return pl_msg_hdr_replace(m, (uint32_t)i, (pl_str){buf, o});
}

/* ---- stateless answers to requests that fail the checks */

static void answer_stateless(pl_txn_layer *l, const pl_msg *req, const pl_target *src,
                             uint16_t code, const char *reason)
{
    pl_msg resp;
    pl_target dst;
    if (pl_msg_build_response(&resp, &l->scratch, req, code, pl_str_c(reason), PL_STR_NULL, NULL) !=
        PL_OK)
        return;
    pl_txn_send_stateless(l, &resp, (pl__txn_response_target(req, src, &dst), &dst));
}

/*
 * A request the parser refused still gets a 400 saying why (RFC 3261 8.2,
 * RFC 4475), when its raw lines allow one (pl_msg_reject_raw). It goes
 * back to where the bytes came from, as rport would send it: the Via may
 * be the very thing that is broken, and answering the source never sends
 * traffic to a third party named in a bad message.
 */
static void answer_unparsed(pl_txn_layer *l, const char *buf, size_t len, const pl_target *src,
                            const pl_error *err)
{
    char out[8192];
    size_t n;
    if (pl_msg_reject_raw(buf, len, 400, err->reason, out, sizeof(out), &n) == PL_OK)
        pl__txn_send(l, src, out, n);
}

int pl_txn_send_stateless(pl_txn_layer *l, const pl_msg *msg, const pl_target *dst)
{
    size_t n = pl_msg_print_len(msg);
    char *b = malloc(n ? n : 1);
    if (!b)
        return PL_ENOMEM;
    pl_msg_print(msg, b, n, NULL);
    int rc = pl__txn_send(l, dst, b, n);
    free(b);
    return rc;
}

/* ---- requests */

static const char *method_class(const pl_msg *m)
{
    if (m->method_id == PL_METHOD_ACK || m->method_id == PL_METHOD_INVITE)
        return "INVITE";
    return NULL; /* the method itself */
}

static size_t server_key(const pl_msg *m, char *key, size_t cap)
{
    char cls[64];
    const char *c = method_class(m);
    if (!c) {
        size_t n = m->method.len < sizeof(cls) - 1 ? m->method.len : sizeof(cls) - 1;
        memcpy(cls, m->method.p, n);
        cls[n] = '\0';
        c = cls;
    }
    return pl__txn_server_key(m, c, key, cap);
}

/* Hand a new request to the user; its copy may be dropped only after. */
static void deliver_request(pl_txn_layer *l, pl_txn *t, const pl_target *src)
{
    l->in_request = t;
    l->drop_after = false;
    l->cfg.on_request(l, t, &t->rq->msg, src, l->cfg.user);
    l->in_request = NULL;
    if (l->drop_after) {
        l->drop_after = false;
        pl__txn_drop_request(t);
    }
}

static void new_cancel(pl_txn_layer *l, pl_msg *m, const pl_target *src, const char *key,
                       size_t klen)
{
    char ikey[KEY_MAX];
    size_t ilen = pl__txn_server_key(m, "INVITE", ikey, sizeof(ikey));
    pl_txn *inv = ilen ? pl__txn_key_find(l, ikey, ilen) : NULL;
    pl_target dst;
    pl__txn_response_target(m, src, &dst);
    pl_txn *t = pl__txn_new(l, PL_TXN_SERVER_NON_INVITE, m, &dst);
    if (!t)
        return;
    pl__txn_server_timers_init(t);
    t->state = PL_TXN_TRYING;
    if (pl__txn_key_add(l, t, key, klen, &t->key) != PL_OK) {
        pl__txn_free(t);
        return;
    }
    pl_timer_start(l->cfg.wheel, &t->t_end, pl__txn_64t1(l));
    if (!inv || inv->kind != PL_TXN_SERVER_INVITE) {
        /* RFC 3261 9.2: nothing to cancel: 481, from the layer itself. */
        pl_msg resp;
        if (pl_msg_build_response(&resp, &l->scratch, &t->rq->msg, 481, PL_STR_NULL, PL_STR_NULL,
                                  NULL) == PL_OK)
            pl_txn_respond(t, &resp);
        return;
    }
    t->cancelled = inv;
    if (inv->canceller)
        inv->canceller->cancelled = NULL;
    inv->canceller = t;
    deliver_request(l, t, src);
}

static void new_request(pl_txn_layer *l, pl_msg *m, const pl_target *src, const char *key,
                        size_t klen)
{
    char mkey[KEY_MAX];
    size_t mlen = l->cfg.detect_merged ? pl__txn_merge_key(m, mkey, sizeof(mkey)) : 0;
    if (mlen && pl__txn_key_find(l, mkey, mlen)) {
        /* RFC 3261 8.2.2.2: the same request by another path. */
        answer_stateless(l, m, src, 482, "Loop Detected");
        return;
    }
    pl_target dst;
    pl__txn_response_target(m, src, &dst);
    bool invite = m->method_id == PL_METHOD_INVITE;
    pl_txn *t = pl__txn_new(l, invite ? PL_TXN_SERVER_INVITE : PL_TXN_SERVER_NON_INVITE, m, &dst);
    if (!t)
        return;
    pl__txn_server_timers_init(t);
    t->state = invite ? PL_TXN_PROCEEDING : PL_TXN_TRYING;
    if (pl__txn_key_add(l, t, key, klen, &t->key) != PL_OK ||
        (mlen && pl__txn_key_add(l, t, mkey, mlen, &t->merge_key) != PL_OK)) {
        pl__txn_free(t);
        return;
    }
    if (invite) {
        pl_timer_start(l->cfg.wheel, &t->t_extra, l->cfg.timers.trying_ms);
        if (l->cfg.timers.invite_answer_ms)
            pl_timer_start(l->cfg.wheel, &t->t_end, l->cfg.timers.invite_answer_ms);
    } else {
        pl_timer_start(l->cfg.wheel, &t->t_end, pl__txn_64t1(l));
    }
    deliver_request(l, t, src);
}

static void on_request(pl_txn_layer *l, pl_msg *m, const pl_target *src)
{
    stamp_via(m, src);
    char key[KEY_MAX];
    size_t klen = server_key(m, key, sizeof(key));
    if (!klen)
        return;
    pl_txn *t = pl__txn_key_find(l, key, klen);
    if (m->method_id == PL_METHOD_ACK) {
        /* An ACK for a non-2xx matches the INVITE transaction; any other
         * (for a 2xx, 17.2.3 and 13.3.1.4) is the user's. */
        if (t && t->kind == PL_TXN_SERVER_INVITE && t->state != PL_TXN_ACCEPTED)
            pl__txn_server_request(t, m);
        else
            l->cfg.on_stray(l, m, src, l->cfg.user);
        return;
    }
    if (t) {
        pl__txn_server_request(t, m);
        return;
    }
    if (m->method_id == PL_METHOD_CANCEL)
        new_cancel(l, m, src, key, klen);
    else
        new_request(l, m, src, key, klen);
}

static void on_response(pl_txn_layer *l, const pl_msg *m, const pl_target *src)
{
    char key[KEY_MAX];
    const pl_via *v = m->via;
    size_t klen =
        v && v->has_branch ? pl__txn_client_key(v->branch, m->cseq.method, key, sizeof(key)) : 0;
    pl_txn *t = klen ? pl__txn_key_find(l, key, klen) : NULL;
    if (t && (t->kind == PL_TXN_CLIENT_INVITE || t->kind == PL_TXN_CLIENT_NON_INVITE))
        pl__txn_client_response(t, m, src);
    else
        l->cfg.on_stray(l, m, src, l->cfg.user);
}

int pl_txn_receive(pl_txn_layer *l, const char *buf, size_t len, const pl_target *src,
                   pl_framing framing)
{
    l->stats.received++;
    pl_arena_reset(&l->scratch);
    pl_msg m;
    pl_error err;
    pl_parse_opts opts = {framing, &l->cfg.limits};
    int rc = pl_msg_parse(&m, buf, len, &l->scratch, &opts, &err);
    if (rc != PL_OK) {
        l->stats.bad++;
        answer_unparsed(l, buf, len, src, &err);
        return rc;
    }
    uint16_t code = 0;
    if (pl_msg_check(&m, &code, &err) != PL_OK) {
        l->stats.bad++;
        /* A request gets the answer the check names, where one is allowed
         * (never to an ACK, 17; never when it cannot be routed back). */
        if (m.is_request && m.method_id != PL_METHOD_ACK && code && m.via)
            answer_stateless(l, &m, src, code, err.reason);
        return PL_EPARSE;
    }
    if (m.is_request)
        on_request(l, &m, src);
    else
        on_response(l, &m, src);
    return PL_OK;
}

/* ---- accessors */

const pl_msg *pl_txn_request(const pl_txn *t)
{
    return t->rq ? &t->rq->msg : NULL;
}

const pl_target *pl_txn_peer(const pl_txn *t)
{
    return &t->peer;
}

pl_txn_kind pl_txn_kind_of(const pl_txn *t)
{
    return t->kind;
}

pl_txn_state pl_txn_state_of(const pl_txn *t)
{
    return t->state;
}

pl_txn *pl_txn_cancelled(const pl_txn *st)
{
    return st->cancelled;
}

void pl_txn_set_user(pl_txn *t, void *user)
{
    t->user = user;
}

void *pl_txn_user(const pl_txn *t)
{
    return t->user;
}
