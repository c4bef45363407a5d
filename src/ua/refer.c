/*
 * refer.c - REFER out of dialog, both ways (RFC 3515, RFC 4488).
 *
 * Receiving: a REFER accepted with a 2xx creates an implicit subscription
 * to the "refer" event unless it said "Refer-Sub: false" (RFC 4488 4, the
 * 2xx then carries "Refer-Sub: false" and nothing follows). The UA sends
 * the first NOTIFY ("SIP/2.0 100 Trying", RFC 3515 2.4.4) itself, in the
 * dialog the 2xx made (12.1.1: remote target from the REFER's Contact,
 * route set from its Record-Route), and the application reports progress
 * with pl_ua_server_refer_notify(); a final status ends the subscription
 * (Subscription-State: terminated). A subscription the application
 * forgets ends when it expires, with reason=timeout.
 *
 * Sending: a REFER that did not refuse the subscription is watched: the
 * NOTIFYs its recipient sends (in-dialog, To tag = our From tag) go to the
 * NOTIFY handler, or are answered 200 when there is none, instead of being
 * refused as strays.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ua_int.h"

#define SUB_EXPIRES_S  60u
#define WATCH_MS       (5u * 60u * 1000u)
#define MAX_SUB_ROUTES 16

struct ua_sub {
    ua_server *s;
    pl_arena arena;
    pl_str call_id, local, remote, target;
    pl_str routes[MAX_SUB_ROUTES];
    size_t nroutes;
    uint32_t cseq;
    unsigned pending; /* NOTIFYs in flight */
    bool terminated;
    pl_timer expiry;
    pl_msg req; /* the REFER, kept for the handle: its transaction ends first */
};

static pl_str copy(pl_arena *a, pl_str s)
{
    char *d = pl_arena_alloc(a, s.len ? s.len : 1);
    if (!d)
        return PL_STR_NULL;
    memcpy(d, s.p, s.len);
    return (pl_str){d, s.len};
}

static void sub_end(ua_sub *sub)
{
    /* The handle ends with the subscription, once its NOTIFYs are answered. */
    if (sub->terminated && sub->pending == 0)
        pl__ua_server_free(sub->s);
}

static void notify_done(pl_ua *ua, ua_client *c, const pl_msg *resp)
{
    (void)ua;
    ua_sub *sub = c->internal_arg;
    if (!sub)
        return;
    sub->pending--;
    if (resp->status >= 300) {
        /* 481: the subscriber has forgotten it; anything else: give up too (RFC 6665 4.2.2). */
        pl__ua_log(ua, PL_UA_LOG_INFO, resp->call_id, "NOTIFY refused with %u: subscription ended",
                   resp->status);
        sub->terminated = true;
    }
    sub_end(sub);
}

static int send_notify(ua_sub *sub, uint16_t code, const char *reason, const char *state)
{
    ua_server *s = sub->s;
    pl_ua *ua = s->ua;
    char body[256];
    int k = snprintf(body, sizeof(body), "SIP/2.0 %u %s\r\n", code,
                     reason ? reason : pl_status_reason(code));
    if (k <= 0 || (size_t)k >= sizeof(body))
        return PL_EINVAL;
    pl_str extra[2 * (MAX_SUB_ROUTES + 2)];
    size_t n = 0;
    extra[n++] = PL_STR_LIT("Event");
    extra[n++] = PL_STR_LIT("refer");
    extra[n++] = PL_STR_LIT("Subscription-State");
    extra[n++] = pl_str_c(state);
    for (size_t i = 0; i < sub->nroutes; i++) {
        extra[n++] = PL_STR_LIT("Route");
        extra[n++] = sub->routes[i];
    }
    char hostport[128], contact[160];
    if (pl__ua_local_for(ua, &s->src, hostport, sizeof(hostport)) != PL_OK)
        snprintf(hostport, sizeof(hostport), "127.0.0.1:5060");
    snprintf(contact, sizeof(contact), "<sip:%s>", hostport);
    pl_request_spec spec;
    memset(&spec, 0, sizeof(spec));
    spec.method = PL_STR_LIT("NOTIFY");
    spec.ruri = sub->target;
    spec.from = sub->local;
    spec.from_tag = pl_str_c(s->to_tag);
    spec.to = sub->remote; /* keeps the subscriber's tag */
    spec.call_id = sub->call_id;
    spec.cseq = ++sub->cseq;
    spec.via_sent_by = pl_str_c(hostport);
    spec.contact = pl_str_c(contact);
    spec.extra = extra;
    spec.n_extra = n / 2;
    spec.content_type = PL_STR_LIT("message/sipfrag;version=2.0");
    spec.body = (pl_str){body, (size_t)k};
    int rc = pl__ua_client_internal(ua, &spec, s->profile, notify_done, sub);
    if (rc == PL_OK)
        sub->pending++;
    return rc;
}

static void on_expiry(pl_timer *t, void *arg)
{
    (void)t;
    ua_sub *sub = arg;
    if (sub->terminated)
        return;
    sub->terminated = true;
    send_notify(sub, 500, "Subscription Expired", "terminated;reason=timeout");
    sub_end(sub);
}

int pl__ua_refer_keep(ua_server *s)
{
    const pl_msg *req = s->req;
    int32_t i = pl_msg_hdr_find(req, PL_HDR_REFER_SUB, 0);
    if (i >= 0 && pl_str_case_eq_c(pl_str_trim(req->hdrs[i].value), "false"))
        return PL_ENOTFOUND; /* RFC 4488: no subscription, the 2xx said so */
    ua_sub *sub = calloc(1, sizeof(*sub));
    if (!sub)
        return PL_ENOMEM;
    sub->s = s;
    pl_arena_init(&sub->arena, NULL, 0, 0);
    pl_timer_init(&sub->expiry, on_expiry, sub);
    /* The REFER outlives its transaction, which frees its copy once answered. */
    size_t n = pl_msg_print_len(req);
    char *b = pl_arena_alloc(&sub->arena, n ? n : 1);
    if (!b || pl_msg_print(req, b, n, NULL) != PL_OK ||
        pl_msg_parse(&sub->req, b, n, &sub->arena, NULL, NULL) != PL_OK) {
        pl_arena_free(&sub->arena);
        free(sub);
        return PL_ENOMEM;
    }
    req = &sub->req;
    sub->call_id = copy(&sub->arena, req->call_id);
    /* Our side of the dialog is the REFER's To (its tag is ours), theirs its From. */
    sub->local = copy(&sub->arena, req->to->raw);
    sub->remote = copy(&sub->arena, req->from->raw);
    sub->target = copy(&sub->arena, req->contact ? req->contact->uri_raw : req->from->uri_raw);
    for (const pl_nameaddr *rr = req->record_route; rr && sub->nroutes < MAX_SUB_ROUTES;
         rr = rr->next)
        sub->routes[sub->nroutes++] = copy(&sub->arena, rr->raw);
    s->sub = sub;
    s->req = req;
    return PL_OK;
}

int pl__ua_refer_start(ua_server *s)
{
    ua_sub *sub = s->sub;
    char state[64];
    snprintf(state, sizeof(state), "active;expires=%u", SUB_EXPIRES_S);
    if (send_notify(sub, 100, NULL, state) != PL_OK)
        return PL_ENOMEM;
    pl_timer_start(s->ua->wheel, &sub->expiry, SUB_EXPIRES_S * 1000u);
    return PL_OK;
}

int pl__ua_refer_notify(ua_server *s, uint16_t code, const char *reason)
{
    ua_sub *sub = s->sub;
    if (sub->terminated)
        return PL_ESTATE;
    if (code < 100 || code > 699)
        return PL_EINVAL;
    char state[64];
    bool final = code >= 200;
    if (final)
        snprintf(state, sizeof(state), "terminated;reason=noresource");
    else
        snprintf(state, sizeof(state), "active;expires=%u", SUB_EXPIRES_S);
    int rc = send_notify(sub, code, reason, state);
    if (rc == PL_OK && final) {
        sub->terminated = true;
        pl_timer_stop(s->ua->wheel, &sub->expiry);
        sub_end(sub);
    }
    return rc;
}

void pl__ua_sub_free(ua_sub *sub)
{
    pl_ua *ua = sub->s->ua;
    pl_timer_stop(ua->wheel, &sub->expiry);
    /* NOTIFYs still in flight report to nobody. */
    for (ua_client *c = ua->client_list; c; c = c->next)
        if (c->internal_arg == sub)
            c->internal_arg = NULL;
    pl_arena_free(&sub->arena);
    sub->s->sub = NULL;
    free(sub);
}

/* ---- the sending side */

struct ua_watch {
    ua_watch *next;
    pl_ua *ua;
    char *call_id, *tag;
    pl_timer timer;
};

static void watch_unlink(pl_ua *ua, ua_watch *w)
{
    for (ua_watch **pp = &ua->watches; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    pl_timer_stop(ua->wheel, &w->timer);
    free(w->call_id);
    free(w->tag);
    free(w);
}

static void on_watch_timer(pl_timer *t, void *arg)
{
    (void)t;
    ua_watch *w = arg;
    watch_unlink(w->ua, w);
}

static char *dup_str(pl_str s)
{
    char *d = malloc(s.len + 1);
    if (d) {
        memcpy(d, s.p, s.len);
        d[s.len] = '\0';
    }
    return d;
}

void pl__ua_watch_add(pl_ua *ua, const pl_msg *refer)
{
    int32_t i = pl_msg_hdr_find(refer, PL_HDR_REFER_SUB, 0);
    if (i >= 0 && pl_str_case_eq_c(pl_str_trim(refer->hdrs[i].value), "false"))
        return;
    ua_watch *w = calloc(1, sizeof(*w));
    if (!w)
        return;
    w->ua = ua;
    w->call_id = dup_str(refer->call_id);
    w->tag = dup_str(refer->from->tag);
    if (!w->call_id || !w->tag) {
        free(w->call_id);
        free(w->tag);
        free(w);
        return;
    }
    pl_timer_init(&w->timer, on_watch_timer, w);
    pl_timer_start(ua->wheel, &w->timer, WATCH_MS);
    w->next = ua->watches;
    ua->watches = w;
}

static ua_watch *watch_find(pl_ua *ua, pl_str call_id, pl_str tag)
{
    for (ua_watch *w = ua->watches; w; w = w->next)
        if (pl_str_eq(pl_str_c(w->call_id), call_id) && pl_str_eq(pl_str_c(w->tag), tag))
            return w;
    return NULL;
}

void pl__ua_watch_drop(pl_ua *ua, pl_str call_id, pl_str tag)
{
    ua_watch *w = watch_find(ua, call_id, tag);
    if (w)
        watch_unlink(ua, w);
}

bool pl__ua_watch_notify(pl_ua *ua, const pl_msg *req)
{
    ua_watch *w = watch_find(ua, req->call_id, req->to->tag);
    if (!w)
        return false;
    int32_t i = pl_msg_hdr_find(req, PL_HDR_SUBSCRIPTION_STATE, 0);
    if (i >= 0) {
        pl_str v = pl_str_trim(req->hdrs[i].value);
        if (v.len >= 10 && pl_str_case_eq_c((pl_str){v.p, 10}, "terminated"))
            watch_unlink(ua, w);
    }
    return true;
}

void pl__ua_watches_free(pl_ua *ua)
{
    while (ua->watches)
        watch_unlink(ua, ua->watches);
}
