/*
 * client.c - client transactions (RFC 3261 17.1, with RFC 6026's Accepted
 * state for INVITE).
 *
 * INVITE: Calling (Timer A retransmits, doubling; Timer B gives up at 64*T1),
 * Proceeding after a 1xx (no more retransmissions, no timeout), Completed
 * after a 300-699 (the layer sends the ACK, 17.1.1.3, and again for each
 * retransmitted final; Timer D), Accepted after a 2xx (retransmitted 2xx go
 * to the user, who ACKs them; Timer M). Non-INVITE: Trying and Proceeding
 * (Timer E retransmits, doubling up to T2, then every T2 once a 1xx came;
 * Timer F gives up), Completed after a final (Timer K). On a reliable
 * transport nothing is retransmitted and D and K are zero.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "txn_int.h"

static void deliver(pl_txn *t, const pl_msg *resp, bool final)
{
    if (!t->abandoned && t->cb)
        t->cb(t, resp, final, t->cb_arg);
}

/* A response the layer makes for the user: 408 on timeout, 503 on a
 * transport error (RFC 3261 8.1.3.1, 17.1.1.2). */
static void deliver_synthesized(pl_txn *t, uint16_t code)
{
    pl_msg resp;
    if (pl_msg_build_response(&resp, &t->rq->arena, &t->rq->msg, code, PL_STR_NULL, PL_STR_NULL,
                              NULL) == PL_OK) {
        t->final_seen = true;
        resp.synthesized = true;
        deliver(t, &resp, true);
    }
}

static void end_txn(pl_txn *t)
{
    t->state = PL_TXN_TERMINATED;
    pl__txn_free(t);
}

static void on_end(pl_timer *timer, void *arg)
{
    pl_txn *t = arg;
    (void)timer;
    if (t->state == PL_TXN_CALLING || t->state == PL_TXN_TRYING ||
        (t->state == PL_TXN_PROCEEDING && t->kind == PL_TXN_CLIENT_NON_INVITE)) {
        /* Timer B or F: no final response. */
        t->layer->stats.timeouts++;
        deliver_synthesized(t, 408);
    }
    end_txn(t);
}

static void on_retransmit(pl_timer *timer, void *arg)
{
    pl_txn *t = arg;
    pl_txn_layer *l = t->layer;
    (void)timer;
    l->stats.retransmissions++;
    if (pl__txn_send(l, &t->peer, t->req_buf, t->req_len) != PL_OK) {
        deliver_synthesized(t, 503);
        end_txn(t);
        return;
    }
    if (t->kind == PL_TXN_CLIENT_INVITE) {
        t->interval *= 2; /* Timer A: no cap */
    } else if (t->state == PL_TXN_PROCEEDING) {
        t->interval = l->cfg.timers.t2; /* 17.1.2.2: T2 once a 1xx came */
    } else {
        t->interval = t->interval * 2 < l->cfg.timers.t2 ? t->interval * 2 : l->cfg.timers.t2;
    }
    pl_timer_start(l->cfg.wheel, &t->t_retrans, t->interval);
}

static void on_deferred(pl_timer *timer, void *arg)
{
    pl_txn *t = arg;
    (void)timer;
    if (t->deliver_503 && !t->final_seen) {
        deliver_synthesized(t, 503);
        end_txn(t);
    }
}

void pl__txn_client_timers_init(pl_txn *t)
{
    pl_timer_init(&t->t_retrans, on_retransmit, t);
    pl_timer_init(&t->t_end, on_end, t);
    pl_timer_init(&t->t_extra, on_deferred, t);
}

/* RFC 3261 18.1.1: too large for UDP, so TCP to the same address, and the
 * top Via says so (its branch unchanged: it is the same request). */
static int switch_to_tcp(pl_txn *t)
{
    pl_msg *m = &t->rq->msg;
    int32_t i = pl_msg_hdr_find(m, PL_HDR_VIA, 0);
    const pl_via *v = m->via;
    if (i < 0 || !v)
        return PL_EINVAL;
    const pl_hdr *h = &m->hdrs[i];
    /* The header's value with the first Via's transport token made TCP. */
    size_t pre = (size_t)(v->transport.p - h->value.p);
    size_t post = h->value.len - pre - v->transport.len;
    size_t n = pre + 3 + post;
    char *val = pl_arena_alloc(&t->rq->arena, n);
    if (!val)
        return PL_ENOMEM;
    memcpy(val, h->value.p, pre);
    memcpy(val + pre, "TCP", 3);
    memcpy(val + pre + 3, v->transport.p + v->transport.len, post);
    if (pl_msg_hdr_replace(m, (uint32_t)i, (pl_str){val, n}) != PL_OK)
        return PL_EINVAL;
    /* A datagram may leave Content-Length out; a stream may not (18.3). */
    if (!m->has_content_length) {
        char num[12];
        if (pl_msg_hdr_append(m, PL_STR_LIT("Content-Length"),
                              (pl_str){num, pl_u32_print((uint32_t)m->body.len, num)}) != PL_OK)
            return PL_EINVAL;
    }
    size_t len = pl_msg_print_len(m);
    char *b = malloc(len);
    if (!b)
        return PL_ENOMEM;
    pl_msg_print(m, b, len, NULL);
    /* Index the new bytes so that every view of the copy points into them. */
    pl_parse_opts opts = {PL_FRAMING_STREAM, &m->limits};
    pl_msg fresh;
    if (pl_msg_parse(&fresh, b, len, &t->rq->arena, &opts, NULL) != PL_OK) {
        free(b);
        return PL_EINVAL;
    }
    free(t->req_buf);
    t->req_buf = b;
    t->req_len = len;
    t->rq->msg = fresh;
    t->peer.transport = PL_TP_TCP;
    t->reliable = true;
    return PL_OK;
}

int pl_txn_client_start(pl_txn_layer *l, const pl_msg *req, const pl_target *dst,
                        pl_txn_response_cb cb, void *arg, pl_txn **out)
{
    if (out)
        *out = NULL;
    if (!req->is_request || req->method_id == PL_METHOD_ACK ||
        pl_msg_check(req, NULL, NULL) != PL_OK || !req->via->has_branch ||
        req->via->branch.len <= 7 || memcmp(req->via->branch.p, "z9hG4bK", 7) != 0)
        return PL_EINVAL; /* 8.1.1.7: the branch starts with the magic cookie */
    char key[4096];
    size_t klen = pl__txn_client_key(req->via->branch, req->cseq.method, key, sizeof(key));
    if (!klen || pl__txn_key_find(l, key, klen))
        return PL_EINVAL; /* a branch must be unique (8.1.1.7) */
    bool invite = req->method_id == PL_METHOD_INVITE;
    pl_txn *t = pl__txn_new(l, invite ? PL_TXN_CLIENT_INVITE : PL_TXN_CLIENT_NON_INVITE, req, dst);
    if (!t)
        return PL_ENOMEM;
    if (pl__txn_key_add(l, t, key, klen, &t->key) != PL_OK) {
        pl__txn_free(t);
        return PL_ENOMEM;
    }
    if (t->peer.transport == PL_TP_UDP && t->req_len > l->cfg.udp_max &&
        switch_to_tcp(t) != PL_OK) {
        pl__txn_free(t);
        return PL_ENOMEM;
    }
    pl__txn_client_timers_init(t);
    t->cb = cb;
    t->cb_arg = arg;
    t->state = invite ? PL_TXN_CALLING : PL_TXN_TRYING;
    if (out)
        *out = t;
    if (pl__txn_send(l, &t->peer, t->req_buf, t->req_len) != PL_OK) {
        /* Reported from the wheel, not from inside this call. */
        t->deliver_503 = true;
        pl_timer_start(l->cfg.wheel, &t->t_extra, 0);
        return PL_OK;
    }
    if (!t->reliable) {
        t->interval = l->cfg.timers.t1;
        pl_timer_start(l->cfg.wheel, &t->t_retrans, t->interval);
    }
    pl_timer_start(l->cfg.wheel, &t->t_end, pl__txn_64t1(l));
    return PL_OK;
}

void pl_txn_transport_error(pl_txn_layer *l, const pl_target *dst)
{
    for (pl_txn *t = l->all; t; t = t->next_all) {
        if ((t->kind != PL_TXN_CLIENT_INVITE && t->kind != PL_TXN_CLIENT_NON_INVITE) ||
            t->final_seen || t->deliver_503 || !pl_target_eq(&t->peer, dst))
            continue;
        l->stats.transport_errors++;
        t->deliver_503 = true;
        pl_timer_stop(l->cfg.wheel, &t->t_retrans);
        pl_timer_stop(l->cfg.wheel, &t->t_end);
        pl_timer_start(l->cfg.wheel, &t->t_extra, 0);
    }
}

void pl_txn_client_abandon(pl_txn *ct)
{
    ct->abandoned = true;
}

/* 17.1.1.3: the ACK for a non-2xx final response. */
static int build_ack(pl_txn *t, const pl_msg *resp)
{
    const pl_msg *r = &t->rq->msg;
    size_t cap = resp->to ? pl_msg_hop_request_len(r, PL_STR_LIT("ACK"), resp->to->raw) : 0;
    char *b = cap ? malloc(cap) : NULL;
    size_t n;
    if (!b || pl_msg_print_hop_request(r, PL_STR_LIT("ACK"), resp->to->raw, b, cap, &n) != PL_OK) {
        free(b);
        return PL_ENOMEM;
    }
    free(t->out_buf);
    t->out_buf = b;
    t->out_len = n;
    return PL_OK;
}

static void invite_response(pl_txn *t, const pl_msg *resp, const pl_target *src)
{
    pl_txn_layer *l = t->layer;
    uint16_t code = resp->status;
    switch (t->state) {
    case PL_TXN_CALLING:
    case PL_TXN_PROCEEDING:
        pl_timer_stop(l->cfg.wheel, &t->t_retrans);
        if (code < 200) {
            /* 17.1.1.2: no more retransmissions, and Timer B is for Calling only. */
            pl_timer_stop(l->cfg.wheel, &t->t_end);
            t->state = PL_TXN_PROCEEDING;
            deliver(t, resp, false);
        } else if (code < 300) {
            t->state = PL_TXN_ACCEPTED; /* RFC 6026 */
            t->final_seen = true;
            pl_timer_start(l->cfg.wheel, &t->t_end, pl__txn_64t1(l)); /* Timer M */
            deliver(t, resp, true);
            /* Accepted only passes 2xx retransmissions on: no request needed. */
            pl__txn_drop_request(t);
        } else {
            t->state = PL_TXN_COMPLETED;
            t->final_seen = true;
            if (build_ack(t, resp) == PL_OK)
                pl__txn_send(l, &t->peer, t->out_buf, t->out_len);
            deliver(t, resp, true);
            /* Timer D: at least 32 s on an unreliable transport, 0 otherwise. */
            if (t->reliable)
                end_txn(t);
            else
                pl_timer_start(l->cfg.wheel, &t->t_end, 32000);
        }
        break;
    case PL_TXN_COMPLETED:
        if (code >= 300 && t->out_buf)
            pl__txn_send(l, &t->peer, t->out_buf, t->out_len); /* ACK again */
        break;
    case PL_TXN_ACCEPTED:
        /* A 2xx retransmission: to the user, or, once the user has let the
         * transaction go, to the layer's stray hook (a proxy forwards it
         * statelessly, a UA sends its ACK again). */
        if (code >= 200 && code < 300 && t->abandoned)
            l->cfg.on_stray(l, resp, src, l->cfg.user);
        else if (code >= 200 && code < 300)
            deliver(t, resp, true);
        break;
    default:
        break;
    }
}

static void non_invite_response(pl_txn *t, const pl_msg *resp)
{
    pl_txn_layer *l = t->layer;
    if (t->state != PL_TXN_TRYING && t->state != PL_TXN_PROCEEDING)
        return; /* Completed: retransmitted finals are absorbed */
    if (resp->status < 200) {
        t->state = PL_TXN_PROCEEDING;
        deliver(t, resp, false);
        return;
    }
    pl_timer_stop(l->cfg.wheel, &t->t_retrans);
    t->state = PL_TXN_COMPLETED;
    t->final_seen = true;
    deliver(t, resp, true);
    /* Timer K: T4 on an unreliable transport, 0 otherwise. */
    if (t->reliable) {
        end_txn(t);
    } else {
        pl__txn_drop_request(t);
        pl_timer_start(l->cfg.wheel, &t->t_end, l->cfg.timers.t4);
    }
}

void pl__txn_client_response(pl_txn *t, const pl_msg *resp, const pl_target *src)
{
    /* A final response that beats a reported transport failure (its 503
     * waits one wheel tick) wins: the request did get through. */
    if (resp->status >= 200 && t->deliver_503) {
        t->deliver_503 = false;
        pl_timer_stop(t->layer->cfg.wheel, &t->t_extra);
    }
    if (t->kind == PL_TXN_CLIENT_INVITE)
        invite_response(t, resp, src);
    else
        non_invite_response(t, resp);
}
