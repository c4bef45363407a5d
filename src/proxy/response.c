/*
 * response.c - what comes back (RFC 3261 16.7): provisional responses and
 * every 2xx go upstream at once; a 6xx stops the other branches; once
 * every branch has a final response the best one goes up (6xx first, then
 * the lowest class, 401/407/415/420/484 preferred among 4xx, a 503 sent as
 * 500, the challenges of every 401/407 merged). Timer C (16.8) and the
 * cancelling of pending branches live here too.
 */
#include <stdlib.h>
#include <string.h>

#include "proxy_int.h"

/* ---- sending upstream */

int pl__preq_send_upstream(pl_preq *r, const pl_msg *resp, bool strip_via)
{
    pl_proxy *p = r->p;
    if (r->local) {
        /* Nobody upstream: the caller hears of the final response only. */
        if (resp->status >= 200)
            pl__local_final(r, resp, 0);
        return PL_OK;
    }
    char blk[8192];
    pl_arena a;
    pl_arena_init(&a, blk, sizeof(blk), 0);
    pl_msg m;
    int rc = pl__msg_clone(&m, resp, &a);
    if (rc == PL_OK && strip_via)
        rc = pl_msg_via_remove_top(&m);
    if (rc == PL_OK && !m.via)
        rc = PL_EINVAL; /* 16.7 step 3: no Via left: it was for us, not to forward */
    if (rc == PL_OK)
        rc = pl__proxy_content_length(&m, r->st ? pl_txn_peer(r->st) : &r->src);
    if (rc == PL_OK) {
        bool is_2xx = resp->status >= 200 && resp->status < 300;
        rc = r->st ? pl_txn_respond(r->st, &m) : PL_ESTATE;
        /* A 2xx the server transaction cannot take any more (it is gone,
         * or it already sent a final response) still goes up, by the Via
         * (16.7 step 5: every 2xx to an INVITE is forwarded). */
        if (rc != PL_OK && is_2xx && strip_via)
            rc = pl__proxy_send_response_stateless(p, resp);
    }
    if (rc == PL_OK) {
        if (m.status >= 200 && !r->final_sent) {
            r->final_sent = true;
            r->final_status = m.status;
        }
        if (strip_via)
            p->stats.replies_forwarded++;
        pl__proxy_emit(p, r, strip_via ? PL_PROXY_EV_REPLY_FORWARDED : PL_PROXY_EV_REPLIED,
                       UINT32_MAX, &m);
    }
    pl_arena_free(&a);
    return rc;
}

/* A response made here from the request (the 500 for a 503, 487, 408). */
static void reply_status(pl_preq *r, uint16_t code)
{
    pl_preq_reply(r, code, PL_STR_NULL, NULL, 0);
}

/* ---- cancelling */

void pl__preq_cancel_pending(pl_preq *r)
{
    bool invite = r->msg.method_id == PL_METHOD_INVITE;
    for (uint32_t i = 0; i < r->nbr; i++) {
        branch *b = r->br[i];
        switch (b->state) {
        case BR_WAITING:
            b->state = BR_DONE; /* never sent */
            break;
        case BR_RESOLVING:
            b->cancel_wanted = true;
            break;
        case BR_RUNNING:
            if (!invite) {
                /* Nothing cancels a non-INVITE (9.1): let it run out. */
                pl_txn_client_abandon(b->ct);
                b->state = BR_DONE;
            } else if (b->provisional) {
                pl__branch_cancel(b);
            } else {
                b->cancel_wanted = true; /* sent once a provisional comes (9.1) */
            }
            break;
        case BR_DONE:
            break;
        }
    }
}

/* ---- Timer C (16.8) */

void pl__branch_timer_c(pl_timer *t, void *arg)
{
    (void)t;
    branch *b = arg;
    pl_preq *r = b->r;
    pl_proxy *p = r->p;
    if (b->accepted) {
        /* Timer M of its transaction fires in a millisecond: let it go
         * now, while the pointer is good (later 2xx take the stray path). */
        b->accepted = false;
        pl_txn_client_abandon(b->ct);
        b->ct = NULL;
        pl__preq_maybe_free(r);
        return;
    }
    if (b->state != BR_RUNNING)
        return;
    p->stats.timer_c++;
    if (b->provisional && !b->cancel_sent) {
        pl__proxy_logf(p, PL_PROXY_LOG_INFO, r->msg.call_id, "branch %u: Timer C: CANCEL", b->idx);
        pl__branch_cancel(b);
        /* If even the CANCEL draws no final response, give up after 64*T1. */
        uint32_t t1 = p->cfg.timers.t1 ? p->cfg.timers.t1 : 500;
        pl_timer_start(p->cfg.wheel, &b->timer_c, 64ull * t1);
        return;
    }
    /* No provisional response: as if a 408 had come (16.8). */
    pl__proxy_logf(p, PL_PROXY_LOG_INFO, r->msg.call_id, "branch %u: Timer C: 408", b->idx);
    pl_txn_client_abandon(b->ct);
    b->state = BR_DONE;
    b->status = 408;
    pl__preq_check_done(r);
}

/* ---- choosing the best response */

static int rank(uint16_t code)
{
    /* Lower is better. 6xx beats all; then by class; the 4xx a UAC can act
     * on (16.7 step 6) before other 4xx. */
    if (code >= 600)
        return 0;
    int cls = code / 100;
    int pref = (code == 401 || code == 407 || code == 415 || code == 420 || code == 484) ? 0 : 1;
    return cls * 2 + pref;
}

static branch *best_branch(pl_preq *r)
{
    branch *best = NULL;
    for (uint32_t i = 0; i < r->nbr; i++) {
        branch *b = r->br[i];
        if (b->state != BR_DONE || b->status < 300)
            continue;
        if (!best || rank(b->status) < rank(best->status))
            best = b;
    }
    return best;
}

/* 16.7 step 7: every challenge of every 401 and 407 goes up together. */
static int merge_challenges(pl_preq *r, branch *best, pl_msg *m)
{
    for (uint32_t i = 0; i < r->nbr; i++) {
        branch *b = r->br[i];
        if (b == best || !b->resp_buf || (b->status != 401 && b->status != 407))
            continue;
        for (uint32_t k = 0; k < b->resp.hdr_count; k++) {
            const pl_hdr *h = &b->resp.hdrs[k];
            if (h->id != PL_HDR_WWW_AUTHENTICATE && h->id != PL_HDR_PROXY_AUTHENTICATE)
                continue;
            char buf[4096];
            int rc = pl_msg_hdr_append(m, h->name, pl__proxy_unfold(h->value, buf, sizeof(buf)));
            if (rc != PL_OK)
                return rc;
        }
    }
    return PL_OK;
}

static void send_best(pl_preq *r)
{
    branch *best = best_branch(r);
    if (r->local) {
        /* As it came: no 503 made 500, nobody to merge challenges for. */
        if (best && best->resp_buf)
            pl__local_final(r, &best->resp, 0);
        else
            pl__local_final(r, NULL, best ? best->status : 408);
        return;
    }
    uint16_t code = best ? best->status : 408;
    if (r->cancelled && (code == 408 || !best || !best->resp_buf))
        code = 487;
    if (code == 503)
        code = 500; /* 16.7 step 6 */
    if (!best || !best->resp_buf || code != best->status) {
        reply_status(r, code);
        return;
    }
    char blk[8192];
    pl_arena a;
    pl_arena_init(&a, blk, sizeof(blk), 0);
    pl_msg m;
    int rc = pl__msg_clone(&m, &best->resp, &a);
    if (rc == PL_OK && (code == 401 || code == 407))
        rc = merge_challenges(r, best, &m);
    if (rc == PL_OK)
        rc = pl__preq_send_upstream(r, &m, true);
    pl_arena_free(&a);
    if (rc != PL_OK && !r->final_sent)
        reply_status(r, 500);
}

static bool any_live(const pl_preq *r, bool waiting_too)
{
    for (uint32_t i = 0; i < r->nbr; i++) {
        branch_state s = r->br[i]->state;
        if (s == BR_RUNNING || s == BR_RESOLVING || (waiting_too && s == BR_WAITING))
            return true;
    }
    return false;
}

void pl__preq_check_done(pl_preq *r)
{
    pl_proxy *p = r->p;
    if (r->final_sent || r->stateless || r->in_failure) {
        pl__preq_maybe_free(r);
        return;
    }
    if (any_live(r, false))
        return;
    /* The next serial group, unless a 6xx or a CANCEL closed the context. */
    if (any_live(r, true) && !r->got_6xx && !r->cancelled) {
        r->busy++;
        pl__preq_start_group(r);
        r->busy--;
        if (any_live(r, false))
            return;
    }
    /* Every branch failed: the router may try elsewhere (serial forking). */
    while (p->cfg.router.on_failure && !r->got_6xx && !r->cancelled && r->st) {
        branch *best = best_branch(r);
        uint32_t before = r->nbr;
        /* The router always gets a message: a branch that ended with no
         * response of its own (Timer C, an unreachable next hop) gets one
         * made from the request with its status. */
        char blk[8192];
        pl_arena a;
        pl_arena_init(&a, blk, sizeof(blk), 0);
        pl_msg made;
        const pl_msg *shown = best && best->resp_buf ? &best->resp : NULL;
        const pl_msg *req = pl_txn_request(r->st);
        if (!shown &&
            pl_msg_build_response(&made, &a, req ? req : &r->msg, best ? best->status : 408,
                                  PL_STR_NULL, PL_STR_NULL, NULL) == PL_OK) {
            made.synthesized = true;
            shown = &made;
        }
        r->in_failure = true;
        r->busy++;
        p->cfg.router.on_failure(p, r, shown, p->cfg.router.arg);
        r->busy--;
        r->in_failure = false;
        pl_arena_free(&a);
        if (r->final_sent || any_live(r, false))
            break;
        if (r->nbr == before)
            break; /* nothing new: the best response goes up */
        if (any_live(r, true)) {
            r->busy++;
            pl__preq_start_group(r);
            r->busy--;
            if (any_live(r, false))
                break;
        }
    }
    if (!r->final_sent && !any_live(r, false) && (r->st || r->local))
        send_best(r);
    pl__preq_maybe_free(r);
}

/* ---- a branch's responses */

static void forward_2xx(pl_preq *r, branch *b, const pl_msg *resp)
{
    bool invite = r->msg.method_id == PL_METHOD_INVITE;
    bool first = !r->got_2xx;
    r->got_2xx = true;
    if (b->state != BR_DONE) {
        b->state = BR_DONE;
        b->status = resp->status;
        pl_timer_stop(r->p->cfg.wheel, &b->timer_c);
        if (invite) {
            /* The transaction lives until its Timer M (64*T1, RFC 6026):
             * keep the pointer until just before, then abandon it. */
            uint32_t t1 = r->p->cfg.timers.t1 ? r->p->cfg.timers.t1 : 500;
            b->accepted = true;
            pl_timer_start(r->p->cfg.wheel, &b->timer_c, 64ull * t1 - 1);
        }
    }
    /* Every 2xx to an INVITE goes up, each fork's and each retransmission
     * (16.7 step 5, RFC 6026); a non-INVITE gets one final response. */
    if (invite || !r->final_sent) {
        if (pl__preq_send_upstream(r, resp, true) != PL_OK)
            pl__proxy_logf(r->p, PL_PROXY_LOG_INFO, r->msg.call_id, "2xx not forwarded");
    }
    if (first)
        pl__preq_cancel_pending(r);
}

void pl__branch_response(pl_txn *ct, const pl_msg *resp, bool final, void *arg)
{
    (void)ct;
    branch *b = arg;
    pl_preq *r = b->r;
    pl_proxy *p = r->p;
    uint16_t code = resp->status;
    bool invite = r->msg.method_id == PL_METHOD_INVITE;
    if (b->state == BR_DONE && !(invite && code >= 200 && code < 300))
        return; /* after Timer C gave up on it, or a retransmission */
    char blk[8192];
    pl_arena a;
    pl_arena_init(&a, blk, sizeof(blk), 0);
    pl_msg m;
    if (pl__msg_clone(&m, resp, &a) != PL_OK) {
        pl_arena_free(&a);
        if (final && code >= 200 && b->state != BR_DONE) {
            /* Out of memory: the branch still ends (its transaction may go). */
            b->state = BR_DONE;
            b->status = code;
            pl_timer_stop(p->cfg.wheel, &b->timer_c);
            pl__preq_check_done(r);
        }
        return;
    }
    r->busy++;
    pl__proxy_emit(p, r, PL_PROXY_EV_REPLY_RECEIVED, b->idx, &m);
    if (p->cfg.router.on_reply && !r->local)
        p->cfg.router.on_reply(p, r, b->idx, &m, p->cfg.router.arg);
    r->busy--;
    if (!final || code < 200) {
        if (invite && code > 100) {
            b->provisional = true;
            if (!b->cancel_sent)
                pl_timer_start(p->cfg.wheel, &b->timer_c, p->cfg.timer_c_ms);
            if (b->cancel_wanted)
                pl__branch_cancel(b);
        }
        if (code > 100 && !r->final_sent)
            pl__preq_send_upstream(r, &m, true);
    } else if (code < 300) {
        forward_2xx(r, b, &m);
    } else {
        b->state = BR_DONE;
        b->status = code;
        pl_timer_stop(p->cfg.wheel, &b->timer_c);
        b->resp_buf = pl__proxy_keep(&b->resp, &b->resp_arena, &m, 0);
        if (code >= 600 && !r->got_6xx) {
            r->got_6xx = true;
            pl__preq_cancel_pending(r); /* 16.7 step 5 */
        }
        pl_arena_free(&a);
        pl__preq_check_done(r);
        return;
    }
    pl_arena_free(&a);
    pl__preq_maybe_free(r);
}
