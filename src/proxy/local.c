/*
 * local.c - requests of the proxy's own (pl_proxy_request): the BYE the
 * dialog module sends when it ends a call, its in-dialog OPTIONS pings.
 *
 * Such a request is a context like a forwarded one, with one target and
 * no server transaction, so it goes through the same branch code (16.6's
 * Via, Route handling, strict routers, Content-Length on a stream, DNS)
 * and 16.7's choice of the final response. Where a response would go
 * upstream, the final one is kept instead and handed to the caller's
 * callback, once, from a zero-delay timer: never from inside the call
 * that caused it. The router never sees these requests; observers see
 * their branch events and can tell them by pl_preq_local().
 */
#include <stdlib.h>
#include <string.h>

#include "proxy_int.h"

/* What pl_proxy_request accepts: a request with the headers a client
 * transaction needs, of a method that needs no dialog state of its own
 * here (an INVITE would need Timer C, ACKs and CANCEL handling). */
static bool request_ok(const pl_msg *m)
{
    if (!m->is_request || !m->from || !m->to || !m->call_id.len || !m->has_cseq)
        return false;
    if (m->method_id == PL_METHOD_INVITE || m->method_id == PL_METHOD_ACK ||
        m->method_id == PL_METHOD_CANCEL)
        return false;
    return pl_str_eq(m->cseq.method, m->method);
}

int pl_proxy_request(pl_proxy *p, const pl_msg *req, const pl_target *dst, pl_proxy_request_cb cb,
                     void *arg)
{
    if (!p || !req || !cb || !request_ok(req))
        return PL_EINVAL;
    if (p->freeing)
        return PL_ESTATE;
    pl_target none;
    memset(&none, 0, sizeof(none));
    pl_preq *r = pl__preq_new(p, NULL, req, dst ? dst : &none);
    if (!r)
        return PL_ENOMEM;
    r->stateless = false;
    r->local = true;
    r->cb = cb;
    r->cb_arg = arg;
    pl_random_token(r->tag, sizeof(r->tag));
    /* The proxy's Via is the only one (the branch adds it). */
    int rc = pl_msg_hdr_remove_id(&r->msg, PL_HDR_VIA);
    if (rc >= 0 && pl_msg_hdr_find(&r->msg, PL_HDR_MAX_FORWARDS, 0) < 0) {
        char num[12];
        rc = pl_msg_hdr_append(&r->msg, PL_STR_LIT("Max-Forwards"),
                               (pl_str){num, pl_u32_print(p->cfg.max_forwards, num)});
    }
    /* We are its UAC: Content-Length always (RFC 3261 20.14: should over
     * UDP, must over a stream, and it may switch to TCP on the way). */
    if (rc >= 0 && !r->msg.has_content_length) {
        char num[12];
        rc = pl_msg_hdr_append(&r->msg, PL_STR_LIT("Content-Length"),
                               (pl_str){num, pl_u32_print((uint32_t)r->msg.body.len, num)});
    }
    if (rc >= 0)
        rc = pl_preq_add_target(r, PL_STR_NULL, PL_STR_NULL, 1000, dst);
    if (rc < 0) {
        r->reported = true; /* nothing to report: the caller has the error */
        pl__preq_maybe_free(r);
        return rc == PL_ENOMEM ? PL_ENOMEM : PL_EINVAL;
    }
    p->stats.local_requests++;
    r->forwarded = true;
    /* A branch that fails at once (no address, a refused send) ends the
     * context here, and its made response waits on t_later like any. */
    r->busy++;
    pl__preq_start_group(r);
    r->busy--;
    pl__preq_check_done(r);
    return PL_OK;
}

void pl__local_final(pl_preq *r, const pl_msg *resp, uint16_t status)
{
    if (r->final_sent || r->reported)
        return;
    r->final_sent = true;
    r->final_status = resp ? resp->status : status;
    r->rep_status = r->final_status;
    if (resp) {
        r->rep_buf = pl__proxy_keep(&r->rep, &r->rep_arena, resp, 0);
        if (r->rep_buf)
            r->rep.synthesized = resp->synthesized;
        /* Out of memory: one is made with its status at delivery. */
    }
    pl_timer_start(r->p->cfg.wheel, &r->t_later, 0);
}

/* A response made here with status, from the request as its branch sent
 * it (the request with the branch's Via), in arena a. */
static int make_response(const pl_preq *r, uint16_t status, pl_msg *out, pl_arena *a)
{
    pl_msg m;
    const branch *b = r->nbr ? r->br[0] : NULL;
    const pl_target *dst = b && b->has_dst ? &b->dst : &r->src;
    int rc = pl__msg_clone(&m, &r->msg, a);
    if (rc == PL_OK)
        rc = pl__preq_add_via(r, 0, &m, dst);
    if (rc == PL_OK)
        rc = pl_msg_build_response(out, a, &m, status, PL_STR_NULL, PL_STR_NULL, NULL);
    if (rc == PL_OK)
        out->synthesized = true;
    return rc;
}

void pl__local_deliver(pl_preq *r, uint16_t status)
{
    if (r->reported)
        return;
    pl_proxy *p = r->p;
    pl_proxy_request_cb cb = r->cb;
    void *arg = r->cb_arg;
    pl_timer_stop(p->cfg.wheel, &r->t_later);
    if (!r->final_sent) {
        r->final_sent = true;
        r->final_status = r->rep_status = status;
    }
    r->reported = true;
    /* The response leaves r before the callback: r may be freed first
     * (it is, when no branch runs any more), or by a callback that frees
     * the proxy, and nothing here touches it after cb. */
    char blk[8192];
    pl_arena a;
    pl_arena_init(&a, blk, sizeof(blk), 0);
    pl_msg made, kept;
    pl_arena kept_arena;
    char *kept_buf = r->rep_buf;
    const pl_msg *resp = NULL;
    if (kept_buf) {
        kept = r->rep;
        kept_arena = r->rep_arena;
        kept.arena = &kept_arena;
        r->rep_buf = NULL;
        resp = &kept;
    } else if (make_response(r, r->rep_status, &made, &a) == PL_OK) {
        resp = &made;
    } else {
        pl__proxy_logf(p, PL_PROXY_LOG_ERROR, r->msg.call_id,
                       "no response can be made for a request of our own (out of memory)");
    }
    pl__preq_maybe_free(r);
    cb(p, resp, arg);
    if (kept_buf) {
        pl_arena_free(&kept_arena);
        free(kept_buf);
    }
    pl_arena_free(&a);
}
