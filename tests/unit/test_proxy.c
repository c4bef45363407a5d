/*
 * test_proxy.c - the proxy core (RFC 3261 section 16) and the registrar
 * (section 10) on a virtual clock and the in-memory network: scripted
 * peers send bytes to the proxy's transaction layer, and the tests read
 * what the proxy sent to each peer from its endpoint's log.
 *
 * Peers: the caller 10.0.0.2, two callees 10.0.0.3 and 10.0.0.4, an edge
 * proxy 10.0.0.5; the proxy is udp:10.0.0.1:5060 (and tcp, for the tests
 * that change transport).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simnet.h"
#include "testutil.h"

#include <parley/proxy.h>

#include <uv.h>

enum router_mode {
    R_DEFAULT, /* registrar, loose routes, lookup, else the Request-URI */
    R_FORK2,   /* both callees at once */
    R_SERIAL,  /* callee 1 (q 1.0), then callee 2 (q 0.5) */
    R_FAILOVER /* callee 1; on failure, callee 2 */
};

typedef struct fixture {
    pl_wheel wheel;
    sim_ep px, uac, uas1, uas2, edge;
    pl_proxy *p;
    pl_location *loc;
    enum router_mode mode;
    int failures;         /* on_failure calls */
    unsigned seq;         /* makes branches unique */
    uint16_t best_status; /* what on_failure saw last */
    int events[8];
    int slot;
    int ctx_freed;
    char log[4096];
    /* Hooks for one test: the router's whole on_request, an observer's extra work. */
    void (*req_hook)(pl_preq *r);
    void (*ev_hook)(pl_preq *r, pl_proxy_event ev, const pl_msg *msg);
    pl_preq *last; /* the last request the router saw */
    int local_in;  /* REQUEST_IN events for requests of the proxy's own (must stay 0) */
    int local_events;
    /* pl_proxy_request's callback. */
    bool in_call; /* inside pl_proxy_request */
    int cb_calls;
    int cb_inside; /* calls made from inside pl_proxy_request (must stay 0) */
    uint16_t cb_status;
    uint16_t cb_first; /* the first call's status */
    bool cb_synth;
    int cb_synth_count;
    bool cb_auth; /* the response carried WWW-Authenticate */
} fixture;

static fixture F;

#define UAS1 "sip:bob@10.0.0.3:5060"
#define UAS2 "sip:bob@10.0.0.4:5060"

/* ---- the router */

static void on_request(pl_proxy *p, pl_preq *r, void *arg)
{
    (void)p;
    (void)arg;
    pl_msg *m = pl_preq_msg(r);
    F.last = r;
    if (F.req_hook) {
        F.req_hook(r);
        return;
    }
    switch (F.mode) {
    case R_FORK2:
        pl_preq_record_route(r, PL_STR_NULL);
        pl_preq_add_target(r, PL_STR_LIT(UAS1), PL_STR_NULL, 1000, NULL);
        pl_preq_add_target(r, PL_STR_LIT(UAS2), PL_STR_NULL, 1000, NULL);
        pl_preq_forward(r);
        return;
    case R_SERIAL:
        pl_preq_add_target(r, PL_STR_LIT(UAS2), PL_STR_NULL, 500, NULL);
        pl_preq_add_target(r, PL_STR_LIT(UAS1), PL_STR_NULL, 1000, NULL);
        pl_preq_forward(r);
        return;
    case R_FAILOVER:
        pl_preq_add_target(r, PL_STR_LIT(UAS1), PL_STR_NULL, 1000, NULL);
        pl_preq_forward(r);
        return;
    case R_DEFAULT:
        break;
    }
    if (pl_preq_loose_route(r)) {
        pl_preq_forward(r);
        return;
    }
    if (m->method_id == PL_METHOD_REGISTER) {
        pl_preq_save(r);
        return;
    }
    if (m->method_id == PL_METHOD_OPTIONS && pl_preq_ruri_local(r) && !m->ruri.user.len) {
        pl_preq_reply(r, 200, PL_STR_NULL, NULL, 0);
        return;
    }
    pl_preq_record_route(r, PL_STR_LIT(";did=7"));
    if (pl_preq_lookup(r) > 0) {
        pl_preq_forward(r);
        return;
    }
    if (pl_preq_ruri_local(r)) {
        pl_preq_reply(r, 404, PL_STR_NULL, NULL, 0);
        return;
    }
    pl_preq_forward(r);
}

static void on_failure(pl_proxy *p, pl_preq *r, const pl_msg *best, void *arg)
{
    (void)p;
    (void)arg;
    assert_non_null(best); /* always a message, made up when need be */
    F.best_status = best->status;
    F.failures++;
    if (F.mode == R_FAILOVER && pl_preq_branches(r) == 1) {
        pl_preq_add_target(r, PL_STR_LIT(UAS2), PL_STR_NULL, 1000, NULL);
        pl_preq_forward(r);
    }
}

static void on_event(pl_proxy *p, pl_preq *r, pl_proxy_event ev, uint32_t branch, const pl_msg *msg,
                     void *arg)
{
    (void)p;
    (void)branch;
    (void)msg;
    (void)arg;
    if (pl_preq_local(r)) {
        F.local_events++;
        F.local_in += ev == PL_PROXY_EV_REQUEST_IN;
    }
    if (F.ev_hook)
        F.ev_hook(r, ev, msg);
    for (int i = 0; i < 8; i++)
        if ((unsigned)ev == (1u << i))
            F.events[i]++;
    if (ev == PL_PROXY_EV_REQUEST_IN)
        pl_preq_set_ctx(r, F.slot, malloc(16));
    if (ev == PL_PROXY_EV_DELETED && pl_preq_ctx(r, F.slot)) {
        free(pl_preq_ctx(r, F.slot));
        F.ctx_freed++;
    }
}

static void log_line(pl_proxy_log_level level, pl_str call_id, const char *line, void *user)
{
    (void)level;
    (void)call_id;
    (void)user;
    size_t n = strlen(F.log);
    snprintf(F.log + n, sizeof(F.log) - n, "%s\n", line);
}

static int setup_with(bool loop_detect)
{
    memset(&F, 0, sizeof(F));
    pl_wheel_init(&F.wheel, 1000);
    sim_ep_init(&F.px, &F.wheel, "udp:10.0.0.1:5060");
    sim_ep_init(&F.uac, &F.wheel, "udp:10.0.0.2:5060");
    sim_ep_init(&F.uas1, &F.wheel, "udp:10.0.0.3:5060");
    sim_ep_init(&F.uas2, &F.wheel, "udp:10.0.0.4:5060");
    sim_ep_init(&F.edge, &F.wheel, "udp:10.0.0.5:5060");
    F.loc = pl_location_new(&(pl_location_config){.min_expires = 60});
    pl_proxy_config c = {
        .wheel = &F.wheel,
        .sender = &F.px.sender,
        .location = F.loc,
        .loop_detect = loop_detect,
        .router = {on_request, NULL, on_failure, NULL},
        .log = log_line,
        .log_level = PL_PROXY_LOG_DEBUG,
    };
    pl_target_parse(&c.locals[0].target, "udp:10.0.0.1:5060");
    pl_target_parse(&c.locals[1].target, "tcp:10.0.0.1:5060");
    c.n_locals = 2;
    snprintf(c.aliases[0], sizeof(c.aliases[0]), "example.com");
    c.n_aliases = 1;
    F.p = pl_proxy_new(&c);
    assert_non_null(F.p);
    F.px.layer = pl_proxy_txn_layer(F.p);
    F.slot = pl_proxy_ctx_slot(F.p);
    assert_int_equal(pl_proxy_observe(F.p, 0xff, on_event, NULL), PL_OK);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    return setup_with(false);
}

static int setup_loop(void **state)
{
    (void)state;
    return setup_with(true);
}

static int teardown(void **state)
{
    (void)state;
    pl_proxy_stats st;
    pl_proxy_get_stats(F.p, &st);
    pl_proxy_free(F.p);
    pl_location_free(F.loc);
    sim_ep_free(&F.px);
    sim_ep_free(&F.uac);
    sim_ep_free(&F.uas1);
    sim_ep_free(&F.uas2);
    sim_ep_free(&F.edge);
    tu_free_all();
    return 0;
}

/* ---- peers */

/* Send text (with "\n" line ends) to the proxy from ep. */
static int send_from(sim_ep *ep, const char *text)
{
    size_t len;
    char *b = tu_crlf(text, &len);
    return sim_inject_raw(ep, pl_proxy_txn_layer(F.p), b, len);
}

static int send_msg(sim_ep *ep, const pl_msg *m)
{
    return sim_inject(ep, pl_proxy_txn_layer(F.p), m);
}

/* The next message the proxy sent to ep (each peer keeps its read position
 * in its own next_deliver, unused by scripted peers), or NULL. */
static pl_msg *next_to(sim_ep *ep)
{
    for (size_t i = ep->next_deliver; i < F.px.n; i++) {
        if (!pl_target_eq(&F.px.log[i].dst, &ep->self))
            continue;
        ep->next_deliver = i + 1;
        return sim_parse(&F.px.log[i]);
    }
    ep->next_deliver = F.px.n;
    return NULL;
}

static pl_msg *must_next_to(sim_ep *ep)
{
    pl_msg *m = next_to(ep);
    if (!m)
        fail_msg("nothing was sent to the peer");
    return m;
}

/* ep answers req (a request the proxy sent it) with code. */
static void answer(sim_ep *ep, const pl_msg *req, uint16_t code, const char *tag)
{
    pl_msg resp;
    assert_int_equal(
        pl_msg_build_response(&resp, tu_arena(), req, code, PL_STR_NULL, pl_str_c(tag), NULL),
        PL_OK);
    if (code >= 200 && code < 300 && req->method_id == PL_METHOD_INVITE) {
        char c[64];
        snprintf(c, sizeof(c), "<sip:bob@%s>", ep == &F.uas1 ? "10.0.0.3:5060" : "10.0.0.4:5060");
        pl_msg_hdr_append(&resp, PL_STR_LIT("Contact"), pl_str_c(c));
    }
    assert_int_equal(send_msg(ep, &resp), PL_OK);
}

static char *invite_text(const char *ruri, const char *branch, const char *callid, int mf,
                         const char *extra)
{
    static char t[2048];
    snprintf(t, sizeof(t),
             "INVITE %s SIP/2.0\n"
             "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK%s\n"
             "Max-Forwards: %d\n"
             "From: <sip:alice@10.0.0.2>;tag=a1\n"
             "To: <sip:bob@example.com>\n"
             "Call-ID: %s\n"
             "CSeq: 1 INVITE\n"
             "Contact: <sip:alice@10.0.0.2:5060>\n"
             "%s"
             "Content-Length: 0\n\n",
             ruri, branch, mf, callid, extra ? extra : "");
    return t;
}

static void send_invite(const char *ruri, const char *callid, const char *extra)
{
    assert_int_equal(send_from(&F.uac, invite_text(ruri, callid, callid, 70, extra)), PL_OK);
}

static bool has_hdr_value(const pl_msg *m, pl_hdr_id id, const char *needle)
{
    for (uint32_t i = 0; i < m->hdr_count; i++)
        if (m->hdrs[i].id == id && m->hdrs[i].value.len &&
            memmem(m->hdrs[i].value.p, m->hdrs[i].value.len, needle, strlen(needle)))
            return true;
    return false;
}

static int count_hdr(const pl_msg *m, pl_hdr_id id)
{
    int n = 0;
    for (uint32_t i = 0; i < m->hdr_count; i++)
        n += m->hdrs[i].id == id;
    return n;
}

static void run_until(uint64_t ms)
{
    sim_run(&F.wheel, NULL, NULL, F.wheel.now + ms);
}

static pl_proxy_stats stats(void)
{
    pl_proxy_stats s;
    pl_proxy_get_stats(F.p, &s);
    return s;
}

/* ---- 16.6: forwarding, Record-Route, the ACK and BYE of the dialog */

static void test_call_through(void **state)
{
    (void)state;
    send_invite(UAS1, "call-1", NULL);
    pl_msg *inv = must_next_to(&F.uas1);
    assert_int_equal(inv->method_id, PL_METHOD_INVITE);
    assert_int_equal(inv->via_count, 2);
    assert_true(inv->via->branch.len > 9);
    assert_memory_equal(inv->via->branch.p, "z9hG4bKpl", 9);
    assert_str(inv->via->host, "10.0.0.1");
    assert_int_equal(inv->max_forwards, 69);
    assert_str(inv->ruri_raw, UAS1);
    assert_int_equal(inv->record_route_count, 1);
    assert_str(inv->record_route->uri_raw, "sip:10.0.0.1:5060;lr;did=7");

    answer(&F.uas1, inv, 180, "b1");
    pl_msg *ring = must_next_to(&F.uac);
    assert_int_equal(ring->status, 180);
    assert_int_equal(ring->via_count, 1);
    assert_str(ring->via->host, "10.0.0.2");
    answer(&F.uas1, inv, 200, "b1");
    pl_msg *ok = must_next_to(&F.uac);
    assert_int_equal(ok->status, 200);
    assert_int_equal(ok->record_route_count, 1);

    /* The caller's ACK and BYE follow the route set: Route is our RR. */
    const char *ack = "ACK sip:bob@10.0.0.3:5060 SIP/2.0\n"
                      "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKack1\n"
                      "Route: <sip:10.0.0.1:5060;lr;did=7>\n"
                      "Max-Forwards: 70\n"
                      "From: <sip:alice@10.0.0.2>;tag=a1\n"
                      "To: <sip:bob@example.com>;tag=b1\n"
                      "Call-ID: call-1\n"
                      "CSeq: 1 ACK\n"
                      "Content-Length: 0\n\n";
    assert_int_equal(send_from(&F.uac, ack), PL_OK);
    pl_msg *fack = must_next_to(&F.uas1);
    assert_int_equal(fack->method_id, PL_METHOD_ACK);
    assert_int_equal(fack->route_count, 0);
    assert_int_equal(fack->via_count, 2);
    assert_int_equal(fack->max_forwards, 69);
    /* A retransmitted ACK is forwarded with the same branch (16.11). */
    assert_int_equal(send_from(&F.uac, ack), PL_OK);
    pl_msg *fack2 = must_next_to(&F.uas1);
    assert_true(pl_str_eq(fack->via->branch, fack2->via->branch));

    const char *bye = "BYE sip:bob@10.0.0.3:5060 SIP/2.0\n"
                      "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKbye1\n"
                      "Route: <sip:10.0.0.1:5060;lr;did=7>\n"
                      "Max-Forwards: 70\n"
                      "From: <sip:alice@10.0.0.2>;tag=a1\n"
                      "To: <sip:bob@example.com>;tag=b1\n"
                      "Call-ID: call-1\n"
                      "CSeq: 2 BYE\n"
                      "Content-Length: 0\n\n";
    assert_int_equal(send_from(&F.uac, bye), PL_OK);
    pl_msg *fbye = must_next_to(&F.uas1);
    assert_int_equal(fbye->method_id, PL_METHOD_BYE);
    assert_int_equal(fbye->route_count, 0);
    assert_int_equal(fbye->record_route_count, 0); /* in-dialog: not record-routed again */
    answer(&F.uas1, fbye, 200, "b1");
    assert_int_equal(must_next_to(&F.uac)->status, 200);
    /* Nothing is held for the call once it is answered everywhere... */
    assert_int_equal(stats().live, 0);
    /* ...and a late 2xx retransmission of the INVITE still reaches the
     * caller, through the abandoned branch transaction's stray hook. */
    answer(&F.uas1, inv, 200, "b1");
    pl_msg *again = must_next_to(&F.uac);
    assert_int_equal(again->status, 200);
    assert_int_equal(again->via_count, 1);
    assert_int_equal(again->cseq.method_id, PL_METHOD_INVITE);

    run_until(40000);
    pl_proxy_stats s = stats();
    assert_int_equal(s.live, 0);
    assert_int_equal(s.stateless, 3); /* two ACKs, one 2xx */
    /* Observers: four contexts (INVITE, two ACKs, BYE), each seen in,
     * forwarded and deleted once; the responses received (180, 200, 200
     * retransmitted, BYE's 200) and forwarded up. */
    assert_int_equal(F.events[0], 4); /* REQUEST_IN */
    assert_int_equal(F.events[1], 4); /* REQUEST_FORWARDED */
    assert_int_equal(F.events[2], 3); /* REPLY_RECEIVED (the late 2xx went stray) */
    assert_int_equal(F.events[3], 3); /* REPLY_FORWARDED */
    assert_int_equal(F.events[4], 0); /* CANCELLED */
    assert_int_equal(F.events[5], 4); /* DELETED, once each */
    assert_int_equal(F.events[6], 0); /* REPLIED: nothing made here */
    assert_int_equal(F.ctx_freed, 4);
}

/* A request without Max-Forwards gets 70 (16.6 step 3). */
static void test_max_forwards_added(void **state)
{
    (void)state;
    const char *t = "OPTIONS sip:bob@10.0.0.3:5060 SIP/2.0\n"
                    "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKo1\n"
                    "From: <sip:alice@10.0.0.2>;tag=a1\n"
                    "To: <sip:bob@10.0.0.3>\n"
                    "Call-ID: mf-1\n"
                    "CSeq: 1 OPTIONS\n"
                    "Content-Length: 0\n\n";
    assert_int_equal(send_from(&F.uac, t), PL_OK);
    pl_msg *m = must_next_to(&F.uas1);
    assert_true(m->has_max_forwards);
    assert_int_equal(m->max_forwards, 70);
    answer(&F.uas1, m, 200, "x");
    assert_int_equal(must_next_to(&F.uac)->status, 200);
}

/* ---- 16.3 */

static void test_483_and_options_answered(void **state)
{
    (void)state;
    assert_int_equal(send_from(&F.uac, invite_text(UAS1, "mf0", "mf0", 0, NULL)), PL_OK);
    pl_msg *r = must_next_to(&F.uac);
    assert_int_equal(r->status, 483);
    assert_null(next_to(&F.uas1));
    const char *opt = "OPTIONS sip:bob@10.0.0.3:5060 SIP/2.0\n"
                      "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKopt0\n"
                      "Max-Forwards: 0\n"
                      "From: <sip:alice@10.0.0.2>;tag=a1\n"
                      "To: <sip:bob@10.0.0.3>\n"
                      "Call-ID: opt0\n"
                      "CSeq: 1 OPTIONS\n"
                      "Content-Length: 0\n\n";
    assert_int_equal(send_from(&F.uac, opt), PL_OK);
    assert_int_equal(must_next_to(&F.uac)->status, 200);
    assert_null(next_to(&F.uas1));
    assert_int_equal(stats().bad, 2);
}

static void test_420_proxy_require(void **state)
{
    (void)state;
    send_invite(UAS1, "pr-1", "Proxy-Require: foo\n");
    pl_msg *r = must_next_to(&F.uac);
    assert_int_equal(r->status, 420);
    assert_true(has_hdr_value(r, PL_HDR_UNSUPPORTED, "foo"));
    assert_null(next_to(&F.uas1));
}

static void test_416_scheme(void **state)
{
    (void)state;
    /* The transaction layer's check answers it (and reports the parse error). */
    assert_int_equal(
        send_from(&F.uac, invite_text("http://example.com/bob", "sch", "sch-1", 70, NULL)),
        PL_EPARSE);
    assert_int_equal(must_next_to(&F.uac)->status, 416);
    assert_null(next_to(&F.uas1));
}

/* 16.3 step 4: the request comes back unchanged (a loop): 482; with a new
 * Request-URI (a spiral) it goes on. */
static void test_482_loop_and_spiral(void **state)
{
    (void)state;
    send_invite("sip:bob@10.0.0.1:5070", "loop-1", NULL);
    /* 10.0.0.1:5070 is not us: sent there; feed it back as a loop would. */
    sim_ep back;
    sim_ep_init(&back, &F.wheel, "udp:10.0.0.1:5070");
    pl_msg *out = must_next_to(&back);
    assert_int_equal(send_msg(&back, out), PL_OK);
    /* The 482 goes by the top Via, which is our own (the looped request's). */
    pl_msg *r = must_next_to(&F.px);
    assert_int_equal(r->status, 482);
    /* A spiral: the same request with another Request-URI is forwarded. */
    pl_msg_set_ruri(out, PL_STR_LIT(UAS1));
    pl_msg_via_prepend(out, PL_STR_LIT("SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKspiral"));
    assert_int_equal(send_msg(&back, out), PL_OK);
    pl_msg *fwd = must_next_to(&F.uas1);
    assert_int_equal(fwd->via_count, 4);
    sim_ep_free(&back);
}

/* ---- 16.4 and 16.6 step 6: strict routers */

static void test_strict_router_upstream(void **state)
{
    (void)state;
    /* A strict router put our Record-Route URI into the Request-URI and the
     * real target at the end of Route. */
    const char *t = "BYE sip:10.0.0.1:5060;lr;did=7 SIP/2.0\n"
                    "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKs1\n"
                    "Route: <" UAS1 ">\n"
                    "Max-Forwards: 70\n"
                    "From: <sip:alice@10.0.0.2>;tag=a1\n"
                    "To: <sip:bob@example.com>;tag=b1\n"
                    "Call-ID: strict-1\n"
                    "CSeq: 2 BYE\n"
                    "Content-Length: 0\n\n";
    assert_int_equal(send_from(&F.uac, t), PL_OK);
    pl_msg *m = must_next_to(&F.uas1);
    assert_str(m->ruri_raw, UAS1);
    assert_int_equal(m->route_count, 0);
}

static void test_strict_router_downstream(void **state)
{
    (void)state;
    /* The next hop (10.0.0.5, no lr) is a strict router: it gets itself as
     * Request-URI, and the Request-URI goes to the end of Route. */
    const char *t = "BYE " UAS1 " SIP/2.0\n"
                    "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKs2\n"
                    "Route: <sip:10.0.0.1:5060;lr>, <sip:10.0.0.5:5060>\n"
                    "Max-Forwards: 70\n"
                    "From: <sip:alice@10.0.0.2>;tag=a1\n"
                    "To: <sip:bob@example.com>;tag=b1\n"
                    "Call-ID: strict-2\n"
                    "CSeq: 2 BYE\n"
                    "Content-Length: 0\n\n";
    assert_int_equal(send_from(&F.uac, t), PL_OK);
    pl_msg *m = must_next_to(&F.edge);
    assert_str(m->ruri_raw, "sip:10.0.0.5:5060");
    assert_int_equal(m->route_count, 1);
    assert_str(m->route->uri_raw, UAS1);
}

/* Two Record-Routes when the request changes transport (16.6 step 4). */
static void test_double_record_route(void **state)
{
    (void)state;
    sim_ep tcp;
    sim_ep_init(&tcp, &F.wheel, "tcp:10.0.0.3:5060");
    send_invite("sip:bob@10.0.0.3:5060;transport=tcp", "dbl-1", NULL);
    pl_msg *m = must_next_to(&tcp);
    assert_int_equal(m->record_route_count, 2);
    assert_str(m->record_route->uri_raw, "sip:10.0.0.1:5060;transport=tcp;lr;did=7");
    assert_str(m->record_route->next->uri_raw, "sip:10.0.0.1:5060;lr;did=7");
    assert_true(pl_str_case_eq_c(m->via->transport, "TCP"));
    /* An in-dialog request from the callee over TCP carries both as Route:
     * both are ours, both go. */
    const char *bye = "BYE sip:alice@10.0.0.2:5060 SIP/2.0\n"
                      "Via: SIP/2.0/TCP 10.0.0.3:5060;branch=z9hG4bKdb\n"
                      "Route: <sip:10.0.0.1:5060;transport=tcp;lr;did=7>, "
                      "<sip:10.0.0.1:5060;lr;did=7>\n"
                      "Max-Forwards: 70\n"
                      "From: <sip:bob@example.com>;tag=b1\n"
                      "To: <sip:alice@10.0.0.2>;tag=a1\n"
                      "Call-ID: dbl-1\n"
                      "CSeq: 1 BYE\n"
                      "Content-Length: 0\n\n";
    assert_int_equal(send_from(&tcp, bye), PL_OK);
    pl_msg *b = must_next_to(&F.uac);
    assert_int_equal(b->method_id, PL_METHOD_BYE);
    assert_int_equal(b->route_count, 0);
    assert_true(pl_str_case_eq_c(b->via->transport, "UDP"));
    sim_ep_free(&tcp);
}

/* 16.6 step 9 (18.3): a datagram without Content-Length gets one when it
 * goes on over a stream; and a response left with no Via after ours is
 * removed is not forwarded (16.7 step 3). */
static void test_content_length_for_stream(void **state)
{
    (void)state;
    sim_ep tcp;
    sim_ep_init(&tcp, &F.wheel, "tcp:10.0.0.3:5060");
    assert_int_equal(send_from(&F.uac, "MESSAGE sip:bob@10.0.0.3:5060;transport=tcp SIP/2.0\n"
                                       "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKcl1\n"
                                       "Max-Forwards: 70\n"
                                       "From: <sip:alice@10.0.0.2>;tag=a1\n"
                                       "To: <sip:bob@10.0.0.3>\n"
                                       "Call-ID: cl-1\n"
                                       "CSeq: 1 MESSAGE\n"
                                       "Content-Type: text/plain\n"
                                       "\n"
                                       "hello there"),
                     PL_OK);
    pl_msg *m = must_next_to(&tcp);
    assert_true(m->has_content_length);
    assert_int_equal(m->content_length, 11);
    assert_str(m->body, "hello there");
    /* A response carrying only our Via: not forwarded. */
    pl_msg resp;
    assert_int_equal(
        pl_msg_build_response(&resp, tu_arena(), m, 200, PL_STR_NULL, PL_STR_LIT("b"), NULL),
        PL_OK);
    assert_int_equal(pl_msg_hdr_remove(&resp, (uint32_t)pl_msg_hdr_find(&resp, PL_HDR_VIA, 1)),
                     PL_OK);
    while (resp.via_count > 1) {
        int32_t i = pl_msg_hdr_find(&resp, PL_HDR_VIA, 0);
        i = pl_msg_hdr_find(&resp, PL_HDR_VIA, (uint32_t)i + 1);
        assert_true(i >= 0);
        pl_msg_hdr_remove(&resp, (uint32_t)i);
    }
    assert_int_equal(resp.via_count, 1);
    assert_int_equal(send_msg(&tcp, &resp), PL_OK);
    assert_null(next_to(&F.uac));
    sim_ep_free(&tcp);
}

/* 16.7 step 7 with a folded challenge: merged as one line, not refused. */
static void test_challenge_folded(void **state)
{
    (void)state;
    F.mode = R_FORK2;
    send_invite("sip:bob@example.com", "auth-2", NULL);
    pl_msg *i1 = must_next_to(&F.uas1);
    pl_msg *i2 = must_next_to(&F.uas2);
    char t[1024];
    snprintf(t, sizeof(t),
             "SIP/2.0 401 Unauthorized\n"
             "Via: %.*s\n"
             "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKauth-2;received=10.0.0.2\n"
             "From: <sip:alice@10.0.0.2>;tag=a1\n"
             "To: <sip:bob@example.com>;tag=b1\n"
             "Call-ID: auth-2\n"
             "CSeq: 1 INVITE\n"
             "WWW-Authenticate: Digest realm=\"one\",\n"
             "  nonce=\"n1\"\n"
             "Content-Length: 0\n\n",
             (int)i1->via->raw.len, i1->via->raw.p);
    assert_int_equal(send_from(&F.uas1, t), PL_OK);
    pl_msg r2;
    assert_int_equal(
        pl_msg_build_response(&r2, tu_arena(), i2, 407, PL_STR_NULL, PL_STR_LIT("b2"), NULL),
        PL_OK);
    pl_msg_hdr_append(&r2, PL_STR_LIT("Proxy-Authenticate"),
                      PL_STR_LIT("Digest realm=\"two\", nonce=\"n2\""));
    send_msg(&F.uas2, &r2);
    pl_msg *r = must_next_to(&F.uac);
    assert_true(r->status == 401 || r->status == 407);
    assert_true(has_hdr_value(r, PL_HDR_WWW_AUTHENTICATE, "nonce=\"n1\""));
    assert_true(has_hdr_value(r, PL_HDR_PROXY_AUTHENTICATE, "realm=\"two\""));
}

/* A large INVITE switches to TCP (18.1.1); its CANCEL follows it there (9.1). */
static void test_cancel_after_tcp_switch(void **state)
{
    (void)state;
    sim_ep tcp;
    sim_ep_init(&tcp, &F.wheel, "tcp:10.0.0.3:5060");
    char pad[1400];
    memset(pad, 'x', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    char extra[1500];
    snprintf(extra, sizeof(extra), "X-Pad: %s\n", pad);
    send_invite(UAS1, "big-1", extra);
    pl_msg *inv = must_next_to(&tcp);
    assert_true(pl_str_case_eq_c(inv->via->transport, "TCP"));
    answer(&tcp, inv, 180, "b1");
    assert_int_equal(must_next_to(&F.uac)->status, 180);
    const char *cancel = "CANCEL " UAS1 " SIP/2.0\n"
                         "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKbig-1\n"
                         "Max-Forwards: 70\n"
                         "From: <sip:alice@10.0.0.2>;tag=a1\n"
                         "To: <sip:bob@example.com>\n"
                         "Call-ID: big-1\n"
                         "CSeq: 1 CANCEL\n"
                         "Content-Length: 0\n\n";
    assert_int_equal(send_from(&F.uac, cancel), PL_OK);
    pl_msg *c = must_next_to(&tcp);
    assert_int_equal(c->method_id, PL_METHOD_CANCEL);
    assert_true(pl_str_case_eq_c(c->via->transport, "TCP"));
    assert_null(next_to(&F.uas1)); /* nothing over UDP */
    sim_ep_free(&tcp);
}

/* ---- 16.10: CANCEL */

static void test_cancel_ringing(void **state)
{
    (void)state;
    send_invite(UAS1, "cancel-1", NULL);
    pl_msg *inv = must_next_to(&F.uas1);
    answer(&F.uas1, inv, 180, "b1");
    assert_int_equal(must_next_to(&F.uac)->status, 180);
    const char *cancel = "CANCEL " UAS1 " SIP/2.0\n"
                         "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKcancel-1\n"
                         "Max-Forwards: 70\n"
                         "From: <sip:alice@10.0.0.2>;tag=a1\n"
                         "To: <sip:bob@example.com>\n"
                         "Call-ID: cancel-1\n"
                         "CSeq: 1 CANCEL\n"
                         "Content-Length: 0\n\n";
    assert_int_equal(send_from(&F.uac, cancel), PL_OK);
    pl_msg *c200 = must_next_to(&F.uac);
    assert_int_equal(c200->status, 200);
    assert_int_equal(c200->cseq.method_id, PL_METHOD_CANCEL);
    pl_msg *c = must_next_to(&F.uas1);
    assert_int_equal(c->method_id, PL_METHOD_CANCEL);
    assert_true(pl_str_eq(c->via->branch, inv->via->branch));
    assert_int_equal(c->via_count, 1);
    assert_int_equal(c->cseq.num, 1);
    answer(&F.uas1, c, 200, "b1");
    answer(&F.uas1, inv, 487, "b1");
    pl_msg *ack = must_next_to(&F.uas1);
    assert_int_equal(ack->method_id, PL_METHOD_ACK); /* the 487's, hop by hop */
    pl_msg *r = must_next_to(&F.uac);
    assert_int_equal(r->status, 487);
    assert_int_equal(r->via_count, 1);
    assert_int_equal(F.events[4], 1); /* CANCELLED */
    assert_int_equal(stats().cancelled, 1);
    run_until(40000);
    assert_int_equal(stats().live, 0);
}

/* 9.1: no CANCEL before a provisional response; sent when one comes. */
static void test_cancel_waits_for_provisional(void **state)
{
    (void)state;
    send_invite(UAS1, "cancel-2", NULL);
    pl_msg *inv = must_next_to(&F.uas1);
    const char *cancel = "CANCEL " UAS1 " SIP/2.0\n"
                         "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKcancel-2\n"
                         "Max-Forwards: 70\n"
                         "From: <sip:alice@10.0.0.2>;tag=a1\n"
                         "To: <sip:bob@example.com>\n"
                         "Call-ID: cancel-2\n"
                         "CSeq: 1 CANCEL\n"
                         "Content-Length: 0\n\n";
    assert_int_equal(send_from(&F.uac, cancel), PL_OK);
    assert_int_equal(must_next_to(&F.uac)->status, 200);
    pl_msg *m = next_to(&F.uas1);
    while (m && m->method_id == PL_METHOD_INVITE) /* retransmissions only */
        m = next_to(&F.uas1);
    assert_null(m);
    answer(&F.uas1, inv, 180, "b1");
    pl_msg *c = must_next_to(&F.uas1);
    assert_int_equal(c->method_id, PL_METHOD_CANCEL);
}

/* ---- 16.7: forking and the best response */

static void test_fork_one_answers(void **state)
{
    (void)state;
    F.mode = R_FORK2;
    send_invite("sip:bob@example.com", "fork-1", NULL);
    pl_msg *i1 = must_next_to(&F.uas1);
    pl_msg *i2 = must_next_to(&F.uas2);
    assert_false(pl_str_eq(i1->via->branch, i2->via->branch));
    answer(&F.uas1, i1, 180, "b1");
    answer(&F.uas2, i2, 180, "b2");
    assert_int_equal(must_next_to(&F.uac)->status, 180);
    assert_int_equal(must_next_to(&F.uac)->status, 180);
    answer(&F.uas2, i2, 200, "b2");
    pl_msg *ok = must_next_to(&F.uac);
    assert_int_equal(ok->status, 200);
    assert_str(ok->to->tag, "b2");
    /* The other branch is cancelled. */
    pl_msg *c = must_next_to(&F.uas1);
    assert_int_equal(c->method_id, PL_METHOD_CANCEL);
    answer(&F.uas1, c, 200, "b1");
    answer(&F.uas1, i1, 487, "b1");
    assert_null(next_to(&F.uac)); /* the 487 stays here */
}

static void test_fork_two_answer(void **state)
{
    (void)state;
    F.mode = R_FORK2;
    send_invite("sip:bob@example.com", "fork-2", NULL);
    pl_msg *i1 = must_next_to(&F.uas1);
    pl_msg *i2 = must_next_to(&F.uas2);
    answer(&F.uas1, i1, 200, "b1");
    answer(&F.uas2, i2, 200, "b2");
    /* Every 2xx goes up (16.7 step 5). */
    pl_msg *a = must_next_to(&F.uac);
    pl_msg *b = must_next_to(&F.uac);
    assert_int_equal(a->status, 200);
    assert_int_equal(b->status, 200);
    assert_str(a->to->tag, "b1");
    assert_str(b->to->tag, "b2");
}

/* The next INVITE to ep, past the ACKs of earlier calls. */
static pl_msg *next_invite_to(sim_ep *ep)
{
    pl_msg *m;
    while ((m = must_next_to(ep))->method_id != PL_METHOD_INVITE)
        ;
    return m;
}

static uint16_t best_of(uint16_t c1, uint16_t c2, const char *callid)
{
    F.mode = R_FORK2;
    send_invite("sip:bob@example.com", callid, NULL);
    pl_msg *i1 = next_invite_to(&F.uas1);
    pl_msg *i2 = next_invite_to(&F.uas2);
    answer(&F.uas1, i1, c1, "b1");
    if (c1 < 600)
        answer(&F.uas2, i2, c2, "b2");
    pl_msg *r = must_next_to(&F.uac);
    return r->status;
}

static void test_best_response(void **state)
{
    (void)state;
    assert_int_equal(best_of(503, 404, "best-1"), 404); /* lowest class */
    assert_int_equal(best_of(486, 302, "best-2"), 302);
    assert_int_equal(best_of(503, 503, "best-3"), 500); /* 503 goes up as 500 */
    assert_int_equal(best_of(404, 401, "best-4"), 401); /* preferred 4xx */
    assert_null(next_to(&F.uac));
}

static void test_6xx_cancels_others(void **state)
{
    (void)state;
    F.mode = R_FORK2;
    send_invite("sip:bob@example.com", "six-1", NULL);
    pl_msg *i1 = must_next_to(&F.uas1);
    pl_msg *i2 = must_next_to(&F.uas2);
    answer(&F.uas2, i2, 180, "b2");
    assert_int_equal(must_next_to(&F.uac)->status, 180);
    answer(&F.uas1, i1, 603, "b1");
    assert_null(next_to(&F.uac)); /* not before every branch ended */
    pl_msg *c = must_next_to(&F.uas2);
    assert_int_equal(c->method_id, PL_METHOD_CANCEL);
    answer(&F.uas2, i2, 487, "b2");
    assert_int_equal(must_next_to(&F.uac)->status, 603);
}

/* A 2xx that races the CANCEL after a 6xx still goes up, and then the 6xx
 * does not (one final response per context, every 2xx forwarded). */
static void test_2xx_after_6xx(void **state)
{
    (void)state;
    F.mode = R_FORK2;
    send_invite("sip:bob@example.com", "six-2", NULL);
    pl_msg *i1 = must_next_to(&F.uas1);
    pl_msg *i2 = must_next_to(&F.uas2);
    answer(&F.uas2, i2, 180, "b2");
    assert_int_equal(must_next_to(&F.uac)->status, 180);
    answer(&F.uas1, i1, 603, "b1");
    answer(&F.uas2, i2, 200, "b2");
    assert_int_equal(must_next_to(&F.uac)->status, 200);
    assert_null(next_to(&F.uac));
}

/* 16.7 step 7: the challenges of every 401 and 407 go up in one. */
static void test_challenges_merged(void **state)
{
    (void)state;
    F.mode = R_FORK2;
    send_invite("sip:bob@example.com", "auth-1", NULL);
    pl_msg *i1 = must_next_to(&F.uas1);
    pl_msg *i2 = must_next_to(&F.uas2);
    pl_msg r1, r2;
    assert_int_equal(
        pl_msg_build_response(&r1, tu_arena(), i1, 401, PL_STR_NULL, PL_STR_LIT("b1"), NULL),
        PL_OK);
    pl_msg_hdr_append(&r1, PL_STR_LIT("WWW-Authenticate"),
                      PL_STR_LIT("Digest realm=\"one\", nonce=\"n1\""));
    assert_int_equal(
        pl_msg_build_response(&r2, tu_arena(), i2, 407, PL_STR_NULL, PL_STR_LIT("b2"), NULL),
        PL_OK);
    pl_msg_hdr_append(&r2, PL_STR_LIT("Proxy-Authenticate"),
                      PL_STR_LIT("Digest realm=\"two\", nonce=\"n2\""));
    send_msg(&F.uas1, &r1);
    send_msg(&F.uas2, &r2);
    pl_msg *r = must_next_to(&F.uac);
    assert_true(r->status == 401 || r->status == 407);
    assert_int_equal(count_hdr(r, PL_HDR_WWW_AUTHENTICATE), 1);
    assert_int_equal(count_hdr(r, PL_HDR_PROXY_AUTHENTICATE), 1);
    assert_true(has_hdr_value(r, PL_HDR_WWW_AUTHENTICATE, "realm=\"one\""));
    assert_true(has_hdr_value(r, PL_HDR_PROXY_AUTHENTICATE, "realm=\"two\""));
}

static void test_serial_by_q(void **state)
{
    (void)state;
    F.mode = R_SERIAL;
    send_invite("sip:bob@example.com", "serial-1", NULL);
    pl_msg *i1 = must_next_to(&F.uas1);
    assert_null(next_to(&F.uas2)); /* q 0.5 waits */
    answer(&F.uas1, i1, 486, "b1");
    pl_msg *i2 = must_next_to(&F.uas2);
    assert_null(next_to(&F.uac));
    answer(&F.uas2, i2, 200, "b2");
    assert_int_equal(must_next_to(&F.uac)->status, 200);
}

static void test_on_failure_failover(void **state)
{
    (void)state;
    F.mode = R_FAILOVER;
    send_invite("sip:bob@example.com", "fail-1", NULL);
    pl_msg *i1 = must_next_to(&F.uas1);
    answer(&F.uas1, i1, 503, "b1");
    assert_int_equal(F.failures, 1);
    assert_int_equal(F.best_status, 503);
    pl_msg *i2 = must_next_to(&F.uas2);
    answer(&F.uas2, i2, 486, "b2");
    assert_int_equal(F.failures, 2);
    assert_int_equal(F.best_status, 486);
    assert_int_equal(must_next_to(&F.uac)->status, 486);
}

/* A next hop with no address (a name, and no resolver): the branch ends at
 * once, on_failure sees a 503 made from the request, the caller a 500. */
static void test_unreachable_target(void **state)
{
    (void)state;
    send_invite("sip:bob@nowhere.invalid", "unreach-1", NULL);
    assert_int_equal(F.failures, 1);
    assert_int_equal(F.best_status, 503);
    assert_int_equal(must_next_to(&F.uac)->status, 500);
}

/* ---- 16.8: Timer C */

static void test_timer_c(void **state)
{
    (void)state;
    send_invite(UAS1, "timerc-1", NULL);
    pl_msg *inv = must_next_to(&F.uas1);
    answer(&F.uas1, inv, 180, "b1");
    assert_int_equal(must_next_to(&F.uac)->status, 180);
    run_until(179000);
    pl_msg *m;
    while ((m = next_to(&F.uas1)))
        assert_int_not_equal(m->method_id, PL_METHOD_CANCEL);
    run_until(2000);
    m = must_next_to(&F.uas1);
    assert_int_equal(m->method_id, PL_METHOD_CANCEL);
    assert_int_equal(stats().timer_c, 1);
    answer(&F.uas1, m, 200, "b1");
    answer(&F.uas1, inv, 487, "b1");
    pl_msg *r = NULL;
    while ((m = next_to(&F.uac)))
        r = m;
    assert_non_null(r);
    assert_int_equal(r->status, 487);
}

/* With no answer at all the INVITE's own Timer B ends the branch: 408. */
static void test_no_answer_408(void **state)
{
    (void)state;
    send_invite(UAS1, "timeout-1", NULL);
    must_next_to(&F.uas1);
    run_until(40000);
    pl_msg *m, *r = NULL;
    while ((m = next_to(&F.uac)))
        if (m->status >= 200)
            r = m;
    assert_non_null(r);
    assert_int_equal(r->status, 408);
}

/* ---- the registrar (10.3) and lookup */

static pl_msg *do_register(const char *contacts, const char *extra, uint32_t cseq)
{
    char t[2048];
    snprintf(t, sizeof(t),
             "REGISTER sip:example.com SIP/2.0\n"
             "Via: SIP/2.0/UDP 10.0.0.3:5060;branch=z9hG4bKreg%u.%u\n"
             "Max-Forwards: 70\n"
             "From: <sip:bob@example.com>;tag=r1\n"
             "To: <sip:bob@example.com>\n"
             "Call-ID: reg-1\n"
             "CSeq: %u REGISTER\n"
             "%s%s"
             "Content-Length: 0\n\n",
             cseq, ++F.seq, cseq, contacts, extra ? extra : "");
    assert_int_equal(send_from(&F.uas1, t), PL_OK);
    return must_next_to(&F.uas1);
}

static void test_register_and_lookup(void **state)
{
    (void)state;
    pl_msg *r = do_register("Contact: <" UAS1 ">;q=0.5, <" UAS2 ">\n", "Expires: 600\n", 1);
    assert_int_equal(r->status, 200);
    assert_int_equal(r->contact_count, 2);
    assert_true(has_hdr_value(r, PL_HDR_CONTACT, "expires=600"));
    pl_location_stats ls;
    pl_location_get_stats(F.loc, &ls);
    assert_int_equal(ls.aors, 1);
    assert_int_equal(ls.bindings, 2);

    /* A call to the AOR: serial by q, the q 1.0 contact first. */
    send_invite("sip:bob@example.com", "lookup-1", NULL);
    pl_msg *i2 = must_next_to(&F.uas2);
    assert_str(i2->ruri_raw, UAS2);
    assert_int_equal(i2->record_route_count, 1);
    answer(&F.uas2, i2, 480, "x");
    pl_msg *i1 = must_next_to(&F.uas1);
    assert_int_equal(i1->method_id, PL_METHOD_INVITE);
    assert_str(i1->ruri_raw, UAS1);

    /* An old CSeq on the same Call-ID: 500 (10.3 step 7). */
    assert_int_equal(do_register("Contact: <" UAS1 ">\n", NULL, 1)->status, 500);
    /* Too short: 423 with Min-Expires. */
    r = do_register("Contact: <" UAS1 ">;expires=10\n", NULL, 2);
    assert_int_equal(r->status, 423);
    assert_true(has_hdr_value(r, PL_HDR_MIN_EXPIRES, "60"));
    /* "*" with Expires: 0 removes all. */
    assert_int_equal(do_register("Contact: *\n", "Expires: 0\n", 3)->status, 200);
    pl_location_get_stats(F.loc, &ls);
    assert_int_equal(ls.bindings, 0);
    /* "*" with a non-zero expiry is malformed. */
    assert_int_equal(do_register("Contact: *\n", "Expires: 60\n", 4)->status, 400);
}

static void test_unregistered_404(void **state)
{
    (void)state;
    send_invite("sip:carol@example.com", "nf-1", NULL);
    assert_int_equal(must_next_to(&F.uac)->status, 404);
}

static void test_binding_expires(void **state)
{
    (void)state;
    assert_int_equal(do_register("Contact: <" UAS1 ">;expires=60\n", NULL, 1)->status, 200);
    run_until(61000);
    send_invite("sip:bob@example.com", "exp-1", NULL);
    assert_int_equal(must_next_to(&F.uac)->status, 404);
}

/* RFC 3327: a Path is kept and becomes the Route toward the contact. */
static void test_path(void **state)
{
    (void)state;
    pl_msg *r =
        do_register("Contact: <" UAS1 ">\n", "Path: <sip:10.0.0.5:5060;lr>\nSupported: path\n", 1);
    assert_int_equal(r->status, 200);
    assert_true(has_hdr_value(r, PL_HDR_PATH, "10.0.0.5"));
    send_invite("sip:bob@example.com", "path-1", NULL);
    pl_msg *m = must_next_to(&F.edge);
    assert_str(m->ruri_raw, UAS1);
    assert_int_equal(m->route_count, 1);
    assert_str(m->route->uri_raw, "sip:10.0.0.5:5060;lr");
}

static void test_options_to_proxy(void **state)
{
    (void)state;
    const char *t = "OPTIONS sip:10.0.0.1:5060 SIP/2.0\n"
                    "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKop\n"
                    "Max-Forwards: 70\n"
                    "From: <sip:alice@10.0.0.2>;tag=a1\n"
                    "To: <sip:10.0.0.1>\n"
                    "Call-ID: opt-1\n"
                    "CSeq: 1 OPTIONS\n"
                    "Content-Length: 0\n\n";
    assert_int_equal(send_from(&F.uac, t), PL_OK);
    assert_int_equal(must_next_to(&F.uac)->status, 200);
    run_until(40000);
    assert_int_equal(stats().live, 0);
}

/* A 2xx retransmitted after the INVITE's transactions are gone still
 * reaches the caller, statelessly by the Via (16.7). */
static void test_stray_2xx_forwarded(void **state)
{
    (void)state;
    send_invite(UAS1, "stray-1", NULL);
    pl_msg *inv = must_next_to(&F.uas1);
    answer(&F.uas1, inv, 200, "b1");
    assert_int_equal(must_next_to(&F.uac)->status, 200);
    run_until(60000);
    assert_int_equal(stats().live, 0);
    answer(&F.uas1, inv, 200, "b1");
    pl_msg *r = must_next_to(&F.uac);
    assert_int_equal(r->status, 200);
    assert_int_equal(r->via_count, 1);
}

/* A proxy freed while a branch waits for DNS: the lookup's answer (here
 * the cancellation pl_dns_free delivers) finds nobody, and nothing is
 * touched after it was freed (ASan). */
static void test_free_with_lookup_pending(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    pl_dns *dns = pl_dns_new(&loop);
    assert_non_null(dns);
    pl_proxy_config c = {.wheel = &F.wheel, .sender = &F.px.sender, .dns = dns, .log = log_line};
    pl_target_parse(&c.locals[0].target, "udp:10.0.0.1:5060");
    c.n_locals = 1;
    pl_proxy *p = pl_proxy_new(&c);
    assert_non_null(p);
    size_t len;
    char *b =
        tu_crlf(invite_text("sip:bob@pending.example.invalid", "dns-1", "dns-1", 70, NULL), &len);
    assert_int_equal(sim_inject_raw(&F.uac, pl_proxy_txn_layer(p), b, len), PL_OK);
    pl_proxy_stats st;
    pl_proxy_get_stats(p, &st);
    assert_int_equal(st.live, 1); /* waiting for the name */
    assert_int_equal(st.forwarded, 0);
    pl_proxy_free(p);
    pl_dns_free(dns);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Free with requests in progress: every context is deleted once. */
static void test_free_in_progress(void **state)
{
    (void)state;
    send_invite(UAS1, "free-1", NULL);
    must_next_to(&F.uas1);
    assert_int_equal(stats().live, 1);
    pl_proxy_free(F.p);
    assert_int_equal(F.events[5], 1);
    assert_int_equal(F.ctx_freed, 1);
    F.p = pl_proxy_new(&(pl_proxy_config){.wheel = &F.wheel, .sender = &F.px.sender});
    assert_non_null(F.p); /* for teardown */
}

/* ---- what the dialog module needs: Record-Route params, cancelling, requests of our own */

static void rr_script_first(pl_preq *r)
{
    assert_int_equal(pl_preq_record_route(r, PL_STR_LIT(";a=1")), PL_OK);
    assert_int_equal(pl_preq_record_route(r, PL_STR_NULL), PL_OK); /* adds nothing */
    assert_int_equal(pl_preq_record_route(r, PL_STR_LIT("did=9")), PL_EINVAL);
    assert_int_equal(pl_preq_record_route(r, PL_STR_LIT(";x>y")), PL_EINVAL);
    assert_int_equal(pl_preq_record_route(r, PL_STR_LIT(";did=9")), PL_OK);
    pl_preq_forward(r);
}

static void rr_dialog_first(pl_preq *r)
{
    assert_int_equal(pl_preq_record_route(r, PL_STR_LIT(";did=9")), PL_OK);
    assert_int_equal(pl_preq_record_route(r, PL_STR_LIT(";a=1;b")), PL_OK);
    /* More than 256 bytes in all: refused, the rest kept. */
    char big[260];
    memset(big, 'x', sizeof(big));
    big[0] = ';';
    assert_int_equal(pl_preq_record_route(r, (pl_str){big, sizeof(big)}), PL_ELIMIT);
    pl_preq_forward(r);
}

/* pl_preq_record_route: each call's params are kept, in call order. */
static void test_record_route_params_accumulate(void **state)
{
    (void)state;
    F.req_hook = rr_script_first;
    send_invite(UAS1, "rr-1", NULL);
    pl_msg *m = must_next_to(&F.uas1);
    assert_int_equal(m->record_route_count, 1);
    assert_str(m->record_route->uri_raw, "sip:10.0.0.1:5060;lr;a=1;did=9");
    F.req_hook = rr_dialog_first;
    send_invite(UAS1, "rr-2", NULL);
    m = next_invite_to(&F.uas1);
    assert_int_equal(m->record_route_count, 1);
    assert_str(m->record_route->uri_raw, "sip:10.0.0.1:5060;lr;did=9;a=1;b");
}

static void forward_uas1(pl_preq *r)
{
    pl_preq_add_target(r, PL_STR_LIT(UAS1), PL_STR_NULL, 1000, NULL);
    pl_preq_forward(r);
}

static void forward_nothing(pl_preq *r)
{
    (void)r; /* settled later, or cancelled */
}

static int timer_rc;
static void cancel_last(pl_timer *t, void *arg)
{
    (void)t;
    (void)arg;
    timer_rc = pl_preq_cancel(F.last);
}

/* The 487 the callee answers the INVITE with after a CANCEL, and what the caller gets. */
static void callee_487(const pl_msg *inv, const pl_msg *cancel)
{
    answer(&F.uas1, cancel, 200, "b1");
    answer(&F.uas1, inv, 487, "b1");
    pl_msg *m, *r = NULL;
    while ((m = next_to(&F.uac)))
        if (m->status >= 200)
            r = m;
    assert_non_null(r);
    assert_int_equal(r->status, 487);
    assert_int_equal(r->via_count, 1);
}

/* pl_preq_cancel (16.10 on the proxy's decision), from a timer, before any
 * provisional response: no CANCEL until the 180 comes (9.1), then one. */
static void test_preq_cancel_before_provisional(void **state)
{
    (void)state;
    F.req_hook = forward_uas1;
    send_invite(UAS1, "pc-1", NULL);
    pl_msg *inv = must_next_to(&F.uas1);
    pl_preq *r = F.last;
    pl_timer t;
    pl_timer_init(&t, cancel_last, NULL);
    timer_rc = 1;
    pl_timer_start(&F.wheel, &t, 10);
    run_until(100);
    assert_int_equal(timer_rc, PL_OK);
    assert_true(pl_preq_final_status(r) == 0);
    pl_msg *m;
    while ((m = next_to(&F.uas1)))
        assert_int_equal(m->method_id, PL_METHOD_INVITE); /* retransmissions only */
    answer(&F.uas1, inv, 180, "b1");
    pl_msg *c = must_next_to(&F.uas1);
    assert_int_equal(c->method_id, PL_METHOD_CANCEL);
    assert_true(pl_str_eq(c->via->branch, inv->via->branch));
    assert_null(next_to(&F.uas1));              /* one CANCEL */
    assert_int_equal(pl_preq_cancel(r), PL_OK); /* again: nothing more is sent */
    assert_null(next_to(&F.uas1));
    callee_487(inv, c);
    assert_int_equal(F.events[4], 0); /* no CANCELLED event: no CANCEL arrived */
    assert_int_equal(stats().cancelled, 0);
    run_until(40000);
    assert_int_equal(stats().live, 0);
}

/* After a 180: the CANCEL goes at once, the 487 goes up; then PL_ESTATE. */
static void test_preq_cancel_ringing(void **state)
{
    (void)state;
    F.req_hook = forward_uas1;
    send_invite(UAS1, "pc-2", NULL);
    pl_msg *inv = must_next_to(&F.uas1);
    pl_preq *r = F.last;
    answer(&F.uas1, inv, 180, "b1");
    assert_int_equal(must_next_to(&F.uac)->status, 180);
    assert_int_equal(pl_preq_cancel(r), PL_OK);
    pl_msg *c = must_next_to(&F.uas1);
    assert_int_equal(c->method_id, PL_METHOD_CANCEL);
    /* No new branch for a cancelled request (16.10). */
    assert_int_equal(pl_preq_add_target(r, PL_STR_LIT(UAS2), PL_STR_NULL, 1000, NULL), PL_ESTATE);
    assert_int_equal(pl_preq_forward(r), PL_ESTATE);
    answer(&F.uas1, c, 200, "b1");
    answer(&F.uas1, inv, 487, "b1");
    pl_msg *fin = must_next_to(&F.uac);
    assert_int_equal(fin->status, 487);
    run_until(40000);
    assert_int_equal(stats().live, 0);
}

/* Nothing forwarded yet (the router has not decided): 487 at once. */
static void test_preq_cancel_not_forwarded(void **state)
{
    (void)state;
    F.req_hook = forward_nothing;
    send_invite(UAS1, "pc-3", NULL);
    assert_null(next_to(&F.uas1));
    pl_preq *r = F.last;
    assert_int_equal(pl_preq_cancel(r), PL_OK);
    pl_msg *m = must_next_to(&F.uac);
    assert_int_equal(m->status, 487);
    /* r lives on until the next tick (never freed inside pl_preq_cancel). */
    assert_int_equal(pl_preq_final_status(r), 487);
    assert_int_equal(pl_preq_forward(r), PL_ESTATE);
    assert_int_equal(pl_preq_cancel(r), PL_ESTATE); /* final sent */
    assert_null(next_to(&F.uas1));
    assert_int_equal(F.events[6], 1); /* REPLIED: the proxy made it */
    /* A non-INVITE cannot be cancelled. */
    assert_int_equal(send_from(&F.uac, "OPTIONS " UAS1 " SIP/2.0\n"
                                       "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKpc3o\n"
                                       "Max-Forwards: 70\n"
                                       "From: <sip:alice@10.0.0.2>;tag=a1\n"
                                       "To: <sip:bob@10.0.0.3>\n"
                                       "Call-ID: pc-3o\n"
                                       "CSeq: 1 OPTIONS\n"
                                       "Content-Length: 0\n\n"),
                     PL_OK);
    assert_int_equal(pl_preq_cancel(F.last), PL_ESTATE);
    pl_preq_reply(F.last, 200, PL_STR_NULL, NULL, 0);
    run_until(40000);
    assert_int_equal(stats().live, 0);
}

static pl_preq *cancel_target;
static int hook_rc = 1;

/* An observer cancels: the same request on its 180, another on a new request's arrival. */
static void cancel_on_event(pl_preq *r, pl_proxy_event ev, const pl_msg *msg)
{
    if (ev == PL_PROXY_EV_REPLY_RECEIVED && msg->status == 180 &&
        pl_str_eq(msg->call_id, PL_STR_LIT("pc-4")))
        hook_rc = pl_preq_cancel(r);
    if (ev == PL_PROXY_EV_REQUEST_IN && pl_str_eq(pl_preq_msg(r)->call_id, PL_STR_LIT("pc-6")))
        hook_rc = pl_preq_cancel(cancel_target);
}

static void test_preq_cancel_from_observer(void **state)
{
    (void)state;
    F.req_hook = forward_uas1;
    F.ev_hook = cancel_on_event;
    /* The same request, from inside its REPLY_RECEIVED. */
    send_invite(UAS1, "pc-4", NULL);
    pl_msg *inv = must_next_to(&F.uas1);
    answer(&F.uas1, inv, 180, "b1");
    assert_int_equal(hook_rc, PL_OK);
    pl_msg *c = must_next_to(&F.uas1);
    assert_int_equal(c->method_id, PL_METHOD_CANCEL);
    callee_487(inv, c);
    /* Another request, from inside the REQUEST_IN of a new one. */
    send_invite(UAS1, "pc-5", NULL);
    pl_msg *inv5 = next_invite_to(&F.uas1);
    cancel_target = F.last;
    answer(&F.uas1, inv5, 183, "b5");
    assert_int_equal(must_next_to(&F.uac)->status, 183);
    hook_rc = 1;
    send_invite(UAS1, "pc-6", NULL);
    assert_int_equal(hook_rc, PL_OK);
    pl_msg *c5 = must_next_to(&F.uas1);
    assert_int_equal(c5->method_id, PL_METHOD_CANCEL);
    assert_str(c5->call_id, "pc-5");
    pl_msg *inv6 = must_next_to(&F.uas1);
    assert_int_equal(inv6->method_id, PL_METHOD_INVITE);
    assert_str(inv6->call_id, "pc-6");
    callee_487(inv5, c5);
    answer(&F.uas1, inv6, 200, "b6");
    assert_int_equal(must_next_to(&F.uac)->status, 200);
    F.ev_hook = NULL;
    run_until(40000);
    assert_int_equal(stats().live, 0);
}

/* ---- pl_proxy_request */

static void on_local_final(pl_proxy *p, const pl_msg *resp, void *arg)
{
    assert_ptr_equal(p, F.p);
    assert_ptr_equal(arg, &F);
    assert_non_null(resp);
    if (!F.cb_calls++)
        F.cb_first = resp->status;
    F.cb_synth_count += resp->synthesized;
    F.cb_inside += F.in_call;
    F.cb_status = resp->status;
    F.cb_synth = resp->synthesized;
    F.cb_auth = pl_msg_hdr_find(resp, PL_HDR_WWW_AUTHENTICATE, 0) >= 0;
}

static int local_send(const char *text, const pl_target *dst)
{
    pl_msg *m = pl_arena_alloc(tu_arena(), sizeof(*m));
    assert_non_null(m);
    assert_int_equal(tu_parse(text, m, NULL), PL_OK);
    F.in_call = true;
    int rc = pl_proxy_request(F.p, m, dst, on_local_final, &F);
    F.in_call = false;
    return rc;
}

#define BYE_HEAD(ruri)                                                                             \
    "BYE " ruri " SIP/2.0\n"                                                                       \
    "From: <sip:bob@example.com>;tag=b1\n"                                                         \
    "To: <sip:alice@10.0.0.2>;tag=a1\n"                                                            \
    "Call-ID: local-1\n"                                                                           \
    "CSeq: 7 BYE\n"

/* A BYE of the proxy's own with a loose Route set: to the first Route,
 * Route headers kept, our Via alone, Max-Forwards 70; the 200 reaches the
 * callback once, after the call; no REQUEST_IN, no router. */
static void test_local_bye_loose_route(void **state)
{
    (void)state;
    assert_int_equal(
        local_send(
            BYE_HEAD(
                "sip:alice@10.0.0.2:5060") "Route: <sip:10.0.0.5:5060;lr>, <sip:10.0.0.9;lr;x=1>\n"
                                           "Content-Length: 0\n\n",
            NULL),
        PL_OK);
    assert_int_equal(F.cb_calls, 0);
    pl_msg *m = must_next_to(&F.edge);
    assert_int_equal(m->method_id, PL_METHOD_BYE);
    assert_str(m->ruri_raw, "sip:alice@10.0.0.2:5060");
    assert_int_equal(m->route_count, 2);
    assert_str(m->route->uri_raw, "sip:10.0.0.5:5060;lr");
    assert_str(m->route->next->uri_raw, "sip:10.0.0.9;lr;x=1");
    assert_int_equal(m->via_count, 1);
    assert_str(m->via->host, "10.0.0.1");
    assert_memory_equal(m->via->branch.p, "z9hG4bKpl", 9);
    assert_int_equal(m->max_forwards, 70);
    assert_int_equal(m->record_route_count, 0);
    assert_null(next_to(&F.uac)); /* not by the Request-URI */
    answer(&F.edge, m, 200, "b1");
    assert_int_equal(F.cb_calls, 0); /* not from inside the receive either */
    run_until(10);
    assert_int_equal(F.cb_calls, 1);
    assert_int_equal(F.cb_inside, 0);
    assert_int_equal(F.cb_status, 200);
    assert_false(F.cb_synth);
    answer(&F.edge, m, 200, "b1"); /* a retransmission: absorbed */
    run_until(40000);
    assert_int_equal(F.cb_calls, 1);
    pl_proxy_stats s = stats();
    assert_int_equal(s.local_requests, 1);
    assert_int_equal(s.requests, 0);
    assert_int_equal(s.live, 0);
    assert_int_equal(F.local_in, 0);
    assert_true(F.local_events >= 3); /* forwarded, reply received, deleted */
    assert_int_equal(F.events[0], 0);
}

/* A strict router as first Route (no lr): it becomes the Request-URI and
 * the Request-URI the last Route (16.6 step 6). A Via given is dropped. */
static void test_local_strict_route(void **state)
{
    (void)state;
    assert_int_equal(
        local_send(
            BYE_HEAD("sip:alice@10.0.0.2:5060") "Via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKgone\n"
                                                "Max-Forwards: 10\n"
                                                "Route: <sip:10.0.0.5:5060>\n"
                                                "Content-Length: 0\n\n",
            NULL),
        PL_OK);
    pl_msg *m = must_next_to(&F.edge);
    assert_str(m->ruri_raw, "sip:10.0.0.5:5060");
    assert_int_equal(m->route_count, 1);
    assert_str(m->route->uri_raw, "sip:alice@10.0.0.2:5060");
    assert_int_equal(m->via_count, 1);
    assert_str(m->via->host, "10.0.0.1");
    assert_int_equal(m->max_forwards, 10); /* as given: our first hop */
    answer(&F.edge, m, 200, "b1");
    run_until(10);
    assert_int_equal(F.cb_calls, 1);
    assert_int_equal(F.cb_status, 200);
}

/* dst given: sent there, whatever the Request-URI and Route say; two
 * requests alike get two branches; a 401 is the final, as received. */
static void test_local_dst_and_401(void **state)
{
    (void)state;
    const char *opt = "OPTIONS " UAS1 " SIP/2.0\n"
                      "From: <sip:10.0.0.1>;tag=p1\n"
                      "To: <" UAS1 ">\n"
                      "Call-ID: local-2\n"
                      "CSeq: 1 OPTIONS\n"
                      "Content-Length: 0\n\n";
    assert_int_equal(local_send(opt, &F.uas2.self), PL_OK);
    assert_int_equal(local_send(opt, &F.uas2.self), PL_OK);
    assert_null(next_to(&F.uas1));
    pl_msg *m1 = must_next_to(&F.uas2);
    pl_msg *m2 = must_next_to(&F.uas2);
    assert_str(m1->ruri_raw, UAS1);
    assert_false(pl_str_eq(m1->via->branch, m2->via->branch));
    pl_msg r;
    assert_int_equal(
        pl_msg_build_response(&r, tu_arena(), m1, 401, PL_STR_NULL, PL_STR_LIT("u1"), NULL), PL_OK);
    pl_msg_hdr_append(&r, PL_STR_LIT("WWW-Authenticate"),
                      PL_STR_LIT("Digest realm=\"one\", nonce=\"n1\""));
    assert_int_equal(send_msg(&F.uas2, &r), PL_OK);
    run_until(10);
    assert_int_equal(F.cb_calls, 1);
    assert_int_equal(F.cb_status, 401);
    assert_false(F.cb_synth);
    assert_true(F.cb_auth);
    answer(&F.uas2, m2, 503, "u2");
    run_until(10);
    assert_int_equal(F.cb_calls, 2);
    assert_int_equal(F.cb_status, 503); /* not made 500: nobody upstream */
    assert_false(F.cb_synth);
    assert_int_equal(stats().forwarded, 0); /* branches of forwarded requests only */
}

/* No answer: Timer F (64*T1) ends it with a 408 made here. */
static void test_local_timeout_408(void **state)
{
    (void)state;
    assert_int_equal(local_send(BYE_HEAD(UAS1) "Content-Length: 0\n\n", NULL), PL_OK);
    must_next_to(&F.uas1);
    run_until(31000);
    assert_int_equal(F.cb_calls, 0);
    run_until(2000);
    assert_int_equal(F.cb_calls, 1);
    assert_int_equal(F.cb_status, 408);
    assert_true(F.cb_synth);
    run_until(40000);
    assert_int_equal(F.cb_calls, 1);
    assert_int_equal(stats().live, 0);
}

/* Unreachable: a refused send, a transport error reported later, a name
 * with no resolver: 503 each, never from inside the call. */
static void test_local_unreachable_503(void **state)
{
    (void)state;
    F.px.fail_next = 1;
    assert_int_equal(local_send(BYE_HEAD(UAS1) "Content-Length: 0\n\n", NULL), PL_OK);
    assert_int_equal(F.cb_calls, 0);
    run_until(10);
    assert_int_equal(F.cb_calls, 1);
    assert_int_equal(F.cb_status, 503);
    assert_true(F.cb_synth);

    assert_int_equal(local_send(BYE_HEAD(UAS1) "Content-Length: 0\n\n", NULL), PL_OK);
    must_next_to(&F.uas1);
    pl_proxy_transport_error(F.p, &F.uas1.self);
    run_until(10);
    assert_int_equal(F.cb_calls, 2);
    assert_int_equal(F.cb_status, 503);
    assert_true(F.cb_synth);

    assert_int_equal(local_send(BYE_HEAD("sip:bob@nowhere.invalid") "Content-Length: 0\n\n", NULL),
                     PL_OK);
    assert_int_equal(F.cb_calls, 2);
    run_until(10);
    assert_int_equal(F.cb_calls, 3);
    assert_int_equal(F.cb_status, 503);
    assert_int_equal(F.cb_inside, 0);
    run_until(40000);
    assert_int_equal(stats().live, 0);
}

/* Over a stream the request gets a Content-Length (18.3). */
static void test_local_options_tcp(void **state)
{
    (void)state;
    sim_ep tcp;
    sim_ep_init(&tcp, &F.wheel, "tcp:10.0.0.3:5060");
    assert_int_equal(local_send("OPTIONS " UAS1 ";transport=tcp SIP/2.0\n"
                                "From: <sip:10.0.0.1>;tag=p1\n"
                                "To: <" UAS1 ">\n"
                                "Call-ID: local-3\n"
                                "CSeq: 2 OPTIONS\n\n",
                                NULL),
                     PL_OK);
    pl_msg *m = must_next_to(&tcp);
    assert_int_equal(m->method_id, PL_METHOD_OPTIONS);
    assert_true(m->has_content_length);
    assert_int_equal(m->content_length, 0);
    assert_true(pl_str_case_eq_c(m->via->transport, "TCP"));
    answer(&tcp, m, 200, "u1");
    run_until(10);
    assert_int_equal(F.cb_calls, 1);
    assert_int_equal(F.cb_status, 200);
    sim_ep_free(&tcp);
}

/* pl_proxy_free with one pending: the callback gets a 503 once, first. */
static void test_local_free_pending(void **state)
{
    (void)state;
    assert_int_equal(local_send(BYE_HEAD(UAS1) "Content-Length: 0\n\n", NULL), PL_OK);
    must_next_to(&F.uas1);
    /* A second one whose 200 came but is not reported yet: that 200 is what it gets. */
    assert_int_equal(local_send("OPTIONS " UAS2 " SIP/2.0\n"
                                "From: <sip:10.0.0.1>;tag=p1\n"
                                "To: <" UAS2 ">\n"
                                "Call-ID: local-4\n"
                                "CSeq: 1 OPTIONS\n\n",
                                NULL),
                     PL_OK);
    answer(&F.uas2, must_next_to(&F.uas2), 200, "u2");
    assert_int_equal(F.cb_calls, 0);
    pl_proxy_free(F.p);
    assert_int_equal(F.cb_calls, 2);
    assert_int_equal(F.cb_status + F.cb_first, 503 + 200);
    assert_int_equal(F.cb_synth_count, 1);
    F.p = pl_proxy_new(&(pl_proxy_config){.wheel = &F.wheel, .sender = &F.px.sender});
    assert_non_null(F.p); /* for teardown */
    run_until(40000);
    assert_int_equal(F.cb_calls, 2);
}

/* What pl_proxy_request refuses. */
static void test_local_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "INVITE " UAS1 " SIP/2.0\nFrom: <sip:a@x>;tag=1\nTo: <sip:b@y>\nCall-ID: r1\n"
        "CSeq: 1 INVITE\n\n",
        "ACK " UAS1 " SIP/2.0\nFrom: <sip:a@x>;tag=1\nTo: <sip:b@y>\nCall-ID: r1\n"
        "CSeq: 1 ACK\n\n",
        "CANCEL " UAS1 " SIP/2.0\nFrom: <sip:a@x>;tag=1\nTo: <sip:b@y>\nCall-ID: r1\n"
        "CSeq: 1 CANCEL\n\n",
        "BYE " UAS1 " SIP/2.0\nFrom: <sip:a@x>;tag=1\nTo: <sip:b@y>\nCSeq: 1 BYE\n\n",
        "BYE " UAS1 " SIP/2.0\nFrom: <sip:a@x>;tag=1\nTo: <sip:b@y>\nCall-ID: r1\n"
        "CSeq: 1 OPTIONS\n\n",
        ("SIP/2.0 200 OK\nVia: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKx\nFrom: <sip:a@x>;tag=1\n"
         "To: <sip:b@y>\nCall-ID: r1\nCSeq: 1 BYE\n\n"),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(local_send(bad[i], NULL), PL_EINVAL);
    assert_int_equal(stats().live, 0);
    assert_int_equal(stats().local_requests, 0);
    assert_int_equal(F.px.n, 0);
}

static void test_proxy_uri_local_and_wheel(void **state)
{
    (void)state;
    assert_ptr_equal(pl_proxy_wheel(F.p), &F.wheel);
    static const struct {
        const char *uri;
        bool ours;
    } cases[] = {
        {"sip:10.0.0.1:5060;lr", true},
        {"sip:10.0.0.1", true},
        {"sip:x@10.0.0.1;transport=tcp", true},
        {"sip:example.com;lr;did=1", true},
        {"sip:EXAMPLE.com:5060", true},
        {"sip:10.0.0.1:5070", false},
        {"sip:10.0.0.2:5060", false},
        {"sip:example.org", false},
        {"tel:+123", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pl_uri u;
        assert_int_equal(pl_uri_parse(&u, pl_str_c(cases[i].uri), NULL), PL_OK);
        if (pl_proxy_uri_local(F.p, &u) != cases[i].ours)
            fail_msg("%s: expected %s", cases[i].uri, cases[i].ours ? "ours" : "not ours");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_call_through, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_forwards_added, setup, teardown),
        cmocka_unit_test_setup_teardown(test_483_and_options_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_420_proxy_require, setup, teardown),
        cmocka_unit_test_setup_teardown(test_416_scheme, setup, teardown),
        cmocka_unit_test_setup_teardown(test_482_loop_and_spiral, setup_loop, teardown),
        cmocka_unit_test_setup_teardown(test_strict_router_upstream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strict_router_downstream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_double_record_route, setup, teardown),
        cmocka_unit_test_setup_teardown(test_content_length_for_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_challenge_folded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_after_tcp_switch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_ringing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_waits_for_provisional, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_one_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_two_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_best_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_6xx_cancels_others, setup, teardown),
        cmocka_unit_test_setup_teardown(test_2xx_after_6xx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_challenges_merged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serial_by_q, setup, teardown),
        cmocka_unit_test_setup_teardown(test_on_failure_failover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_target, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_c, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_answer_408, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_and_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unregistered_404, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binding_expires, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_options_to_proxy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stray_2xx_forwarded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_in_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_with_lookup_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_route_params_accumulate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_preq_cancel_before_provisional, setup, teardown),
        cmocka_unit_test_setup_teardown(test_preq_cancel_ringing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_preq_cancel_not_forwarded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_preq_cancel_from_observer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_bye_loose_route, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_strict_route, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_dst_and_401, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_timeout_408, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_unreachable_503, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_options_tcp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_free_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_uri_local_and_wheel, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
