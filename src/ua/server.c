/*
 * server.c - requests the application answers, and the answers the UA
 * gives by itself.
 *
 * Every new request passes the UAS checks of RFC 3261 8.2 before any
 * application code runs: a stray in-dialog request gets 481 (12.2.2), a
 * Require the profile does not support 420 with Unsupported (8.2.2.3), a
 * body type it does not accept 415 with Accept (8.2.3, when the profile
 * asks for the check); merged requests were answered 482 by the
 * transaction layer. Then the method's handler gets a server handle. With
 * no handler: OPTIONS is answered from the profile (11.2), a method that
 * lives only inside a dialog gets 481, a known method 405 with Allow
 * (8.2.1), an unknown one 501 (21.5.2).
 *
 * The handle keeps the request until the final response. A silent
 * application gets, for a non-INVITE over UDP, a 100 Trying once Timer E
 * would reach T2 (RFC 4320 4.1), and the profile's default final response
 * before the client's Timer F runs out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ua_int.h"

static void on_server_timer(pl_timer *t, void *arg);

/* ---- building responses */

static bool dialog_creating(pl_method m)
{
    return m == PL_METHOD_INVITE || m == PL_METHOD_SUBSCRIBE || m == PL_METHOD_REFER ||
           m == PL_METHOD_NOTIFY || m == PL_METHOD_OPTIONS;
}

static int add_list(pl_msg *m, const char *name, const ua_list *l)
{
    char buf[1024];
    size_t n;
    if (!l->n || !pl__ua_list_join(l, buf, sizeof(buf), &n))
        return PL_OK;
    return pl_msg_hdr_append(m, pl_str_c(name), (pl_str){buf, n});
}

int pl__ua_build_response(pl_ua *ua, const pl_ua_profile *p, const pl_msg *req,
                          const pl_target *peer, uint16_t code, const char *reason, pl_str to_tag,
                          pl_arena *arena, pl_msg *out)
{
    int rc = pl_msg_build_response(out, arena, req, code, pl_str_c(reason), to_tag, NULL);
    if (rc != PL_OK)
        return rc;
    const char *server = pl__ua_prof_user_agent(p);
    if (server)
        rc = pl_msg_hdr_append(out, PL_STR_LIT("Server"), pl_str_c(server));
    char allow[512];
    size_t alen;
    /* 405 must carry Allow (8.2.1); 501 and an OPTIONS 200 do well to. */
    bool want_allow =
        code == 405 || code == 501 || (req->method_id == PL_METHOD_OPTIONS && code / 100 == 2);
    if (rc == PL_OK && want_allow && pl__ua_allow(ua, p, allow, sizeof(allow), &alen))
        rc = pl_msg_hdr_append(out, PL_STR_LIT("Allow"), (pl_str){allow, alen});
    if (rc == PL_OK && code == 415) {
        rc = add_list(out, "Accept", pl__ua_prof_mimes(p));
        if (rc == PL_OK)
            rc = add_list(out, "Accept-Encoding", pl__ua_prof_encodings(p));
    }
    if (rc == PL_OK && code / 100 == 2 && dialog_creating(req->method_id) && peer &&
        !out->contact) {
        /* Our address toward the sender: where in-dialog requests reach us. */
        char hostport[128], contact[160];
        if (pl__ua_local_for(ua, peer, hostport, sizeof(hostport)) == PL_OK) {
            int k = snprintf(contact, sizeof(contact), "<sip:%s%s>", hostport,
                             peer->transport == PL_TP_TCP ? ";transport=tcp" : "");
            if (k > 0 && (size_t)k < sizeof(contact))
                rc = pl_msg_hdr_append(out, PL_STR_LIT("Contact"), (pl_str){contact, (size_t)k});
        }
    }
    return rc;
}

/* Count, report and log an answer the UA gives by itself, then send it:
 * in that order, as a final response frees the transaction's request. */
static void auto_send(pl_ua *ua, pl_txn *st, const pl_msg *req, const pl_target *peer,
                      const pl_msg *resp)
{
    ua->stats.auto_answers++;
    if (ua->cfg.on_auto_answer)
        ua->cfg.on_auto_answer(ua, req, peer, resp->status, ua->cfg.user);
    pl__ua_log(ua, PL_UA_LOG_INFO, req->call_id, "%.*s answered %u by the UA", (int)req->method.len,
               req->method.p, resp->status);
    pl_txn_respond(st, resp);
}

void pl__ua_auto_answer(pl_ua *ua, pl_txn *st, const pl_msg *req, const pl_target *peer,
                        const pl_ua_profile *p, uint16_t code, const char *reason)
{
    pl_arena a;
    char block[4096];
    pl_arena_init(&a, block, sizeof(block), 0);
    pl_msg resp;
    if (pl__ua_build_response(ua, p, req, peer, code, reason, PL_STR_NULL, &a, &resp) == PL_OK)
        auto_send(ua, st, req, peer, &resp);
    pl_arena_free(&a);
}

/* 200 to OPTIONS from the profile (RFC 3261 11.2). */
static int options_answer(pl_ua *ua, const pl_ua_profile *p, const pl_msg *req,
                          const pl_target *peer, pl_str to_tag, pl_arena *a, pl_msg *resp)
{
    int rc = pl__ua_build_response(ua, p, req, peer, 200, NULL, to_tag, a, resp);
    const ua_list *mimes = pl__ua_prof_mimes(p);
    static char *sdp = "application/sdp";
    const ua_list def = {&sdp, 1, true};
    if (rc == PL_OK)
        rc = add_list(resp, "Accept", mimes->n ? mimes : &def);
    if (rc == PL_OK)
        rc = add_list(resp, "Accept-Encoding", pl__ua_prof_encodings(p));
    if (rc == PL_OK)
        rc = add_list(resp, "Accept-Language", pl__ua_prof_languages(p));
    /* Supported even when empty: "no extensions" is an answer too. */
    if (rc == PL_OK && pl__ua_prof_tags(p)->n == 0)
        rc = pl_msg_hdr_append(resp, PL_STR_LIT("Supported"), PL_STR_NULL);
    else if (rc == PL_OK)
        rc = add_list(resp, "Supported", pl__ua_prof_tags(p));
    return rc;
}

/* ---- handles */

static ua_server *server_get(pl_ua *ua, pl_ua_server id)
{
    return pl__ua_handle_get(&ua->servers, id);
}

void pl__ua_server_free(ua_server *s)
{
    pl_ua *ua = s->ua;
    pl_timer_stop(ua->wheel, &s->timer);
    if (s->st)
        pl_txn_set_user(s->st, NULL);
    if (s->sub)
        pl__ua_sub_free(s->sub);
    if (s->prev)
        s->prev->next = s->next;
    else
        ua->server_list = s->next;
    if (s->next)
        s->next->prev = s->prev;
    pl__ua_handle_del(&ua->servers, s->id);
    if (s->app_free)
        s->app_free(s->app);
    pl_arena_free(&s->arena);
    free(s);
}

static bool in_dialog_only(pl_method m)
{
    return m == PL_METHOD_BYE || m == PL_METHOD_PRACK || m == PL_METHOD_UPDATE;
}

static void on_cancel(pl_ua *ua, pl_txn *st, const pl_msg *req, const pl_target *src,
                      const pl_ua_profile *p)
{
    /* RFC 3261 9.2: 200 to the CANCEL; the INVITE it matched gets 487. */
    pl__ua_auto_answer(ua, st, req, src, p, 200, NULL);
    pl_txn *inv = pl_txn_cancelled(st);
    ua_server *s = inv ? pl_txn_user(inv) : NULL;
    if (!s || s->final_sent)
        return;
    pl_arena a;
    pl_arena_init(&a, NULL, 0, 0);
    pl_msg resp;
    if (pl__ua_build_response(ua, s->profile, s->req, &s->src, 487, NULL, pl_str_c(s->to_tag), &a,
                              &resp) == PL_OK)
        pl_txn_respond(s->st, &resp);
    pl_arena_free(&a);
    s->final_sent = true;
    if (s->h.h.on_cancelled)
        s->h.h.on_cancelled(ua, s->id, s->app ? s->app : s->h.user);
    pl__ua_server_free(s);
}

void pl__ua_server_request(pl_ua *ua, pl_txn *st, const pl_msg *req, const pl_target *src)
{
    const pl_ua_profile *p = ua->cfg.master;
    if (ua->cfg.select_profile) {
        const pl_ua_profile *sel = ua->cfg.select_profile(ua, req, ua->cfg.user);
        if (sel)
            p = sel;
    }
    if (req->method_id == PL_METHOD_CANCEL) {
        on_cancel(ua, st, req, src, p);
        return;
    }
    const ua_handler *h = pl__ua_handler_find(ua, req->method);
    if (req->to && req->to->has_tag) {
        bool refer_notify = req->method_id == PL_METHOD_NOTIFY && pl__ua_watch_notify(ua, req);
        if (!refer_notify) {
            pl__ua_auto_answer(ua, st, req, src, p, 481, NULL); /* no such dialog (12.2.2) */
            return;
        }
        if (!h || !h->h.on_request) {
            pl__ua_auto_answer(ua, st, req, src, p, 200, NULL);
            return;
        }
    }
    if (!h || !h->h.on_request) {
        if (req->method_id == PL_METHOD_OPTIONS) {
            pl_arena a;
            char block[4096]; /* a response fits: no malloc on the common path */
            pl_arena_init(&a, block, sizeof(block), 0);
            pl_msg resp;
            if (options_answer(ua, p, req, src, PL_STR_NULL, &a, &resp) == PL_OK)
                auto_send(ua, st, req, src, &resp);
            pl_arena_free(&a);
        } else if (in_dialog_only(req->method_id)) {
            pl__ua_auto_answer(ua, st, req, src, p, 481, NULL);
        } else if (req->method_id != PL_METHOD_OTHER) {
            pl__ua_auto_answer(ua, st, req, src, p, 405, NULL);
        } else {
            pl__ua_auto_answer(ua, st, req, src, p, 501, NULL);
        }
        return;
    }
    /* Require: every tag must be one we support (8.2.2.3); norefersub is ours. */
    const ua_list *tags = pl__ua_prof_tags(p);
    const char *sup[66];
    size_t ns = 0;
    for (size_t i = 0; i < tags->n && ns < 64; i++)
        sup[ns++] = tags->v[i];
    sup[ns++] = "norefersub";
    sup[ns] = NULL;
    pl_str bad;
    if (pl_msg_unsupported(req, PL_HDR_REQUIRE, sup, &bad)) {
        pl_arena a;
        pl_arena_init(&a, NULL, 0, 0);
        pl_msg resp;
        if (pl__ua_build_response(ua, p, req, src, 420, NULL, PL_STR_NULL, &a, &resp) == PL_OK &&
            pl_msg_hdr_append(&resp, PL_STR_LIT("Unsupported"), bad) == PL_OK)
            auto_send(ua, st, req, src, &resp);
        pl_arena_free(&a);
        return;
    }
    if (req->body.len && req->has_content_type && pl__ua_prof_check_ctype(p)) {
        const ua_list *mimes = pl__ua_prof_mimes(p);
        bool ok = false;
        for (size_t i = 0; i < mimes->n && !ok; i++) {
            pl_str t = pl_str_c(mimes->v[i]);
            const char *slash = memchr(t.p, '/', t.len);
            if (!slash)
                continue;
            pl_str ty = {t.p, (size_t)(slash - t.p)}, sub = {slash + 1, t.len - ty.len - 1};
            ok =
                pl_str_case_eq(ty, req->content_type.type) &&
                (pl_str_eq(sub, PL_STR_LIT("*")) || pl_str_case_eq(sub, req->content_type.subtype));
        }
        if (!ok) {
            pl__ua_auto_answer(ua, st, req, src, p, 415, NULL);
            return;
        }
    }
    ua_server *s = calloc(1, sizeof(*s));
    if (!s) {
        pl__ua_auto_answer(ua, st, req, src, p, 500, "Out Of Memory");
        return;
    }
    s->ua = ua;
    s->id = pl__ua_handle_add(&ua->servers, s);
    if (!s->id) {
        free(s);
        pl__ua_auto_answer(ua, st, req, src, p, 500, "Out Of Memory");
        return;
    }
    s->st = st;
    s->req = pl_txn_request(st);
    s->src = *src;
    s->profile = p;
    s->h = *h;
    s->h.method = NULL;
    pl_random_token(s->to_tag, 10);
    pl_arena_init(&s->arena, NULL, 0, 0);
    pl_timer_init(&s->timer, on_server_timer, s);
    s->next = ua->server_list;
    if (s->next)
        s->next->prev = s;
    ua->server_list = s;
    pl_txn_set_user(st, s);
    /* The factory runs only for requests a handler takes (not for OPTIONS pings). */
    if (ua->cfg.on_new_server)
        ua->cfg.on_new_server(ua, req, &s->app, &s->app_free, ua->cfg.user);
    uint16_t code;
    uint32_t after;
    pl__ua_prof_default_answer(p, &code, &after);
    uint32_t t1 = ua->cfg.timers.t1 ? ua->cfg.timers.t1 : 500;
    uint32_t t2 = ua->cfg.timers.t2 ? ua->cfg.timers.t2 : 4000;
    /* RFC 4320 4.1: a 100 once Timer E reached T2 (3.5 s with the defaults). */
    bool trying = req->method_id != PL_METHOD_INVITE && !pl_transport_reliable(src->transport) &&
                  t2 > t1 && t2 - t1 < after;
    if (!trying)
        s->trying_sent = true;
    pl_timer_start(ua->wheel, &s->timer, trying ? t2 - t1 : after);
    h->h.on_request(ua, s->id, s->req, s->app ? s->app : h->user);
}

static int respond(ua_server *s, pl_msg *resp)
{
    /* A 2xx to a REFER may make a subscription: what it needs is kept
     * first, as the transaction frees its request with the final response. */
    bool sub = resp->status >= 200 && resp->status < 300 && !s->sub &&
               s->req->method_id == PL_METHOD_REFER && pl__ua_refer_keep(s) == PL_OK;
    int rc = pl_txn_respond(s->st, resp);
    if (rc != PL_OK) {
        if (sub) {
            pl__ua_sub_free(s->sub);
            s->req = pl_txn_request(s->st);
        }
        return rc;
    }
    if (resp->status < 200)
        return PL_OK;
    s->final_sent = true;
    pl_timer_stop(s->ua->wheel, &s->timer);
    /* The transaction absorbs retransmissions from here on; its end is
     * no longer the handle's (a REFER's subscription outlives it). */
    pl_txn_set_user(s->st, NULL);
    s->st = NULL;
    if (sub && pl__ua_refer_start(s) == PL_OK)
        return PL_OK; /* the handle lives on until the last NOTIFY */
    pl__ua_server_free(s);
    return PL_OK;
}

static void on_server_timer(pl_timer *t, void *arg)
{
    (void)t;
    ua_server *s = arg;
    pl_ua *ua = s->ua;
    uint16_t code;
    uint32_t after;
    pl__ua_prof_default_answer(s->profile, &code, &after);
    pl_arena a;
    pl_arena_init(&a, NULL, 0, 0);
    pl_msg resp;
    if (!s->trying_sent) {
        s->trying_sent = true;
        if (pl__ua_build_response(ua, s->profile, s->req, &s->src, 100, NULL, PL_STR_NULL, &a,
                                  &resp) == PL_OK)
            pl_txn_respond(s->st, &resp);
        pl_arena_free(&a);
        uint32_t t1 = ua->cfg.timers.t1 ? ua->cfg.timers.t1 : 500;
        uint32_t t2 = ua->cfg.timers.t2 ? ua->cfg.timers.t2 : 4000;
        pl_timer_start(ua->wheel, &s->timer, after - (t2 - t1));
        return;
    }
    pl__ua_log(ua, PL_UA_LOG_WARN, s->req->call_id,
               "%.*s not answered by the application in %u ms: %u sent", (int)s->req->method.len,
               s->req->method.p, after, code);
    ua->stats.default_answers++;
    int rc = pl__ua_build_response(ua, s->profile, s->req, &s->src, code, NULL, pl_str_c(s->to_tag),
                                   &a, &resp);
    if (rc == PL_OK)
        rc = respond(s, &resp);
    pl_arena_free(&a);
    if (rc != PL_OK)
        pl__ua_server_free(s);
}

void pl__ua_server_done(pl_ua *ua, pl_txn *st)
{
    ua_server *s = pl_txn_user(st);
    if (!s)
        return;
    /* The transaction ended under a handle still waiting for its answer. */
    pl__ua_log(ua, PL_UA_LOG_WARN, s->req->call_id, "%.*s ended unanswered",
               (int)s->req->method.len, s->req->method.p);
    s->st = NULL;
    pl__ua_server_free(s);
}

/* ---- the application's calls */

const pl_msg *pl_ua_server_request(pl_ua *ua, pl_ua_server srv)
{
    ua_server *s = server_get(ua, srv);
    return s ? s->req : NULL;
}

void *pl_ua_server_app(pl_ua *ua, pl_ua_server srv)
{
    ua_server *s = server_get(ua, srv);
    return s ? s->app : NULL;
}

const pl_target *pl_ua_server_source(pl_ua *ua, pl_ua_server srv)
{
    ua_server *s = server_get(ua, srv);
    return s ? &s->src : NULL;
}

const pl_ua_profile *pl_ua_server_profile(pl_ua *ua, pl_ua_server srv)
{
    ua_server *s = server_get(ua, srv);
    return s ? s->profile : NULL;
}

/* The handle, if it may still send a response. */
static ua_server *answerable(pl_ua *ua, pl_ua_server srv, int *rc)
{
    ua_server *s = server_get(ua, srv);
    *rc = !s ? PL_ESTALE : s->final_sent ? PL_ESTATE : PL_OK;
    return *rc == PL_OK ? s : NULL;
}

static int build_and_send(pl_ua *ua, pl_ua_server srv, uint16_t code, const char *reason,
                          bool options)
{
    int rc;
    ua_server *s = answerable(ua, srv, &rc);
    if (!s)
        return rc;
    pl_arena a;
    char block[4096]; /* a response fits: no malloc on the common path */
    pl_arena_init(&a, block, sizeof(block), 0);
    pl_msg resp;
    rc = options ? options_answer(ua, s->profile, s->req, &s->src, pl_str_c(s->to_tag), &a, &resp)
                 : pl__ua_build_response(ua, s->profile, s->req, &s->src, code, reason,
                                         pl_str_c(s->to_tag), &a, &resp);
    /* RFC 4488 4: a 2xx to a REFER that asked for no subscription says it agrees. */
    if (rc == PL_OK && code / 100 == 2 && s->req->method_id == PL_METHOD_REFER) {
        int32_t i = pl_msg_hdr_find(s->req, PL_HDR_REFER_SUB, 0);
        if (i >= 0 && pl_str_case_eq_c(pl_str_trim(s->req->hdrs[i].value), "false"))
            rc = pl_msg_hdr_append(&resp, PL_STR_LIT("Refer-Sub"), PL_STR_LIT("false"));
    }
    if (rc == PL_OK)
        rc = respond(s, &resp);
    pl_arena_free(&a);
    return rc;
}

int pl_ua_server_answer_options(pl_ua *ua, pl_ua_server srv)
{
    return build_and_send(ua, srv, 200, NULL, true);
}

int pl_ua_server_accept(pl_ua *ua, pl_ua_server srv, uint16_t code)
{
    if (code == 0)
        code = 200;
    if (code < 200 || code > 299)
        return PL_EINVAL;
    return build_and_send(ua, srv, code, NULL, false);
}

int pl_ua_server_reject(pl_ua *ua, pl_ua_server srv, uint16_t code, const char *reason)
{
    if (code < 300 || code > 699)
        return PL_EINVAL;
    return build_and_send(ua, srv, code, reason, false);
}

int pl_ua_server_provisional(pl_ua *ua, pl_ua_server srv, uint16_t code, const char *reason)
{
    if (code < 101 || code > 199)
        return PL_EINVAL;
    return build_and_send(ua, srv, code, reason, false);
}

int pl_ua_server_response(pl_ua *ua, pl_ua_server srv, uint16_t code, const char *reason,
                          pl_msg **out)
{
    int rc;
    ua_server *s = answerable(ua, srv, &rc);
    if (!s)
        return rc;
    if (code < 100 || code > 699)
        return PL_EINVAL;
    pl_arena_reset(&s->arena);
    rc = pl__ua_build_response(ua, s->profile, s->req, &s->src, code, reason, pl_str_c(s->to_tag),
                               &s->arena, &s->resp);
    s->resp_built = rc == PL_OK;
    if (rc == PL_OK)
        *out = &s->resp;
    return rc;
}

int pl_ua_server_send(pl_ua *ua, pl_ua_server srv, pl_msg *resp)
{
    int rc;
    ua_server *s = answerable(ua, srv, &rc);
    if (!s)
        return rc;
    if (!resp || resp->is_request)
        return PL_EINVAL;
    /* A provisional keeps the handle; a final ends it (s may be gone after). */
    if (resp == &s->resp && resp->status < 200)
        s->resp_built = false;
    return respond(s, resp);
}

int pl_ua_server_refer_notify(pl_ua *ua, pl_ua_server srv, uint16_t code, const char *reason)
{
    ua_server *s = server_get(ua, srv);
    if (!s)
        return PL_ESTALE;
    if (!s->sub)
        return PL_ESTATE;
    return pl__ua_refer_notify(s, code, reason);
}
