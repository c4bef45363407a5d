/*
 * server.c - server transactions (RFC 3261 17.2, with RFC 6026's Accepted
 * state for INVITE).
 *
 * INVITE: Proceeding (a 100 Trying goes out if the user is silent for
 * trying_ms; a retransmitted INVITE gets the last provisional again),
 * Completed after a 300-699 (Timer G retransmits it, doubling up to T2,
 * until the ACK; Timer H gives up at 64*T1), Confirmed on the ACK (Timer I
 * absorbs ACK retransmissions), Accepted after a 2xx (Timer L absorbs
 * retransmitted INVITEs; the user retransmits its 2xx and takes the ACK).
 * Non-INVITE: Trying (retransmissions absorbed), Proceeding after a 1xx,
 * Completed after a final (each retransmitted request gets it again; Timer J).
 */
#include <stdlib.h>
#include <string.h>

#include "txn_int.h"

static void done(pl_txn *t, bool timed_out)
{
    pl_txn_layer *l = t->layer;
    t->state = PL_TXN_TERMINATED;
    if (l->cfg.on_server_done)
        l->cfg.on_server_done(l, t, timed_out, l->cfg.user);
    pl__txn_free(t);
}

static void resend(pl_txn *t)
{
    if (t->out_buf)
        pl__txn_send(t->layer, &t->peer, t->out_buf, t->out_len);
}

static void on_end(pl_timer *timer, void *arg)
{
    pl_txn *t = arg;
    (void)timer;
    if (!t->final_sent && t->kind == PL_TXN_SERVER_INVITE) {
        /* invite_answer_ms ran out with no final response: 408 from the layer. */
        pl_msg resp;
        if (pl_msg_build_response(&resp, &t->rq->arena, &t->rq->msg, 408, PL_STR_NULL, PL_STR_NULL,
                                  NULL) == PL_OK &&
            pl_txn_respond(t, &resp) == PL_OK)
            return;
        done(t, true);
        return;
    }
    /* Timer H: the ACK never came. I, J, L: the quiet time is over. A
     * non-INVITE never answered: its client gave up at 64*T1. */
    done(t, !t->final_sent || (t->kind == PL_TXN_SERVER_INVITE && t->state == PL_TXN_COMPLETED));
}

static void on_retransmit(pl_timer *timer, void *arg)
{
    pl_txn *t = arg;
    pl_txn_layer *l = t->layer;
    (void)timer;
    if (t->state != PL_TXN_COMPLETED)
        return;
    l->stats.retransmissions++;
    resend(t);
    /* Timer G: doubling up to T2 (17.2.1). */
    t->interval = t->interval * 2 < l->cfg.timers.t2 ? t->interval * 2 : l->cfg.timers.t2;
    pl_timer_start(l->cfg.wheel, &t->t_retrans, t->interval);
}

/* 17.2.1: a 100 Trying when the user has not answered within trying_ms. */
static void on_trying(pl_timer *timer, void *arg)
{
    pl_txn *t = arg;
    (void)timer;
    if (t->out_buf || t->state != PL_TXN_PROCEEDING)
        return;
    pl_msg resp;
    if (pl_msg_build_response(&resp, &t->rq->arena, &t->rq->msg, 100, PL_STR_NULL, PL_STR_NULL,
                              NULL) == PL_OK)
        pl_txn_respond(t, &resp);
}

void pl__txn_server_timers_init(pl_txn *t)
{
    pl_timer_init(&t->t_retrans, on_retransmit, t);
    pl_timer_init(&t->t_end, on_end, t);
    pl_timer_init(&t->t_extra, on_trying, t);
}

void pl__txn_server_request(pl_txn *t, const pl_msg *req)
{
    pl_txn_layer *l = t->layer;
    if (req->method_id == PL_METHOD_ACK) {
        if (t->state == PL_TXN_COMPLETED) {
            /* 17.2.1: Confirmed; Timer I absorbs the ACK's retransmissions. */
            t->state = PL_TXN_CONFIRMED;
            pl_timer_stop(l->cfg.wheel, &t->t_retrans);
            if (t->reliable) {
                done(t, false);
                return;
            }
            pl_timer_start(l->cfg.wheel, &t->t_end, l->cfg.timers.t4);
        } else {
            l->stats.absorbed++;
        }
        return;
    }
    l->stats.absorbed++;
    switch (t->state) {
    case PL_TXN_PROCEEDING:
    case PL_TXN_COMPLETED:
        resend(t); /* the last provisional, or the final */
        break;
    default:
        break; /* Trying, Accepted, Confirmed: absorbed */
    }
}

int pl_txn_respond(pl_txn *t, const pl_msg *resp)
{
    pl_txn_layer *l = t->layer;
    if (t->kind != PL_TXN_SERVER_INVITE && t->kind != PL_TXN_SERVER_NON_INVITE)
        return PL_EINVAL;
    if (resp->is_request || resp->status < 100)
        return PL_EINVAL;
    uint16_t code = resp->status;
    bool invite = t->kind == PL_TXN_SERVER_INVITE;
    if (t->final_sent && !(invite && t->state == PL_TXN_ACCEPTED && code >= 200 && code < 300))
        return PL_EINVAL;
    size_t n = pl_msg_print_len(resp);
    char *b = malloc(n ? n : 1);
    if (!b)
        return PL_ENOMEM;
    pl_msg_print(resp, b, n, NULL);
    free(t->out_buf);
    t->out_buf = b;
    t->out_len = n;
    t->out_status = code;
    pl_timer_stop(l->cfg.wheel, &t->t_extra); /* no 100 Trying after a response */
    pl__txn_send(l, &t->peer, b, n);
    if (code < 200) {
        if (t->state == PL_TXN_TRYING)
            t->state = PL_TXN_PROCEEDING;
        return PL_OK;
    }
    if (t->final_sent)
        return PL_OK; /* a 2xx retransmitted by the user while Accepted */
    t->final_sent = true;
    uint64_t t64 = pl__txn_64t1(l);
    if (invite && code < 300) {
        t->state = PL_TXN_ACCEPTED; /* RFC 6026: Timer L */
        pl_timer_start(l->cfg.wheel, &t->t_end, t64);
        /* From here on it absorbs retransmitted INVITEs and sends the 2xx
         * its user retransmits: the request is not needed. */
        if (l->in_request == t)
            l->drop_after = true;
        else
            pl__txn_drop_request(t);
    } else if (invite) {
        t->state = PL_TXN_COMPLETED;
        if (!t->reliable) {
            t->interval = l->cfg.timers.t1; /* Timer G */
            pl_timer_start(l->cfg.wheel, &t->t_retrans, t->interval);
        }
        pl_timer_start(l->cfg.wheel, &t->t_end, t64); /* Timer H */
    } else {
        t->state = PL_TXN_COMPLETED;
        if (l->in_request == t)
            l->drop_after = true; /* the user still reads it: drop on return */
        else
            pl__txn_drop_request(t);
        /* Timer J: 64*T1 on an unreliable transport, 0 otherwise. */
        pl_timer_start(l->cfg.wheel, &t->t_end, t->reliable ? 0 : t64);
    }
    return PL_OK;
}
