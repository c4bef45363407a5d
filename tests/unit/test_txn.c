/*
 * test_txn.c - RFC 3261 section 17 transactions (and RFC 6026's Accepted
 * state) on a virtual clock and an in-memory network (simnet.h).
 *
 * Every time below is exact: the wheel starts at 0 and the tests move it,
 * so "sent at 3500" means the sender was called while the wheel read 3500.
 * A client or server side is either a real pl_txn_layer or scripted by the
 * test, which then builds and injects the peer's messages itself.
 */
#include "testutil.h"
#include "simnet.h"

#include <parley/txn.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ fixture */

enum { SIDE_C = 1, SIDE_S = 2 };
enum { WITH_CLIENT = 1, WITH_SERVER = 2 };

static int side_c = SIDE_C, side_s = SIDE_S;

static struct {
    pl_wheel wheel;
    sim_ep cl, sv; /* the client host and the server host */
    pl_txn_layer *lc, *ls;
    pl_transport tp;
} F;

typedef enum ev_kind { EV_RESP = 1, EV_REQ, EV_STRAY, EV_DONE } ev_kind;

typedef struct ev {
    ev_kind kind;
    int side;
    uint64_t t;
    pl_txn *txn;
    pl_txn *cancelled; /* EV_REQ for a CANCEL */
    void *arg;         /* EV_RESP: the client's cb arg */
    uint16_t status;
    bool final;
    bool timed_out;
    bool is_request;
    bool same_dialog_ids; /* EV_RESP: Call-ID, CSeq and From tag as the request's */
    pl_method method;     /* request method, or the response's CSeq method */
    char to_tag[40];
    char call_id[64];
} ev;

#define MAX_EV 8192
static ev EV[MAX_EV];
static size_t NEV;
static int IN_CALL;          /* >0 while a test calls an API that must not call back */
static int VIOLATIONS;       /* callbacks made from inside such a call */
static uint16_t AUTO[3];     /* per side: answer every new request with this code at once */
static pl_txn_timers TIMERS; /* for the next start(): zero fields are defaults */

static void copy_str(char *dst, size_t cap, pl_str s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    if (n)
        memcpy(dst, s.p, n);
    dst[n] = '\0';
}

static ev *new_ev(ev_kind k, int side)
{
    if (NEV == MAX_EV)
        fail_msg("too many events");
    if (IN_CALL)
        VIOLATIONS++;
    ev *e = &EV[NEV++];
    memset(e, 0, sizeof(*e));
    e->kind = k;
    e->side = side;
    e->t = F.wheel.now;
    return e;
}

static pl_msg *build_resp(const pl_msg *req, uint16_t code, const char *tag)
{
    pl_msg *m = pl_arena_alloc(tu_arena(), sizeof(*m));
    assert_non_null(m);
    pl_error err = {0};
    int rc = pl_msg_build_response(m, tu_arena(), req, code, PL_STR_NULL, pl_str_c(tag), &err);
    if (rc != PL_OK)
        fail_msg("build_response %u: %s", code, err.reason);
    return m;
}

static void on_resp(pl_txn *ct, const pl_msg *resp, bool final, void *arg)
{
    ev *e = new_ev(EV_RESP, SIDE_C);
    e->txn = ct;
    e->arg = arg;
    e->status = resp->status;
    e->final = final;
    e->method = resp->cseq.method_id;
    if (resp->to && resp->to->has_tag)
        copy_str(e->to_tag, sizeof(e->to_tag), resp->to->tag);
    copy_str(e->call_id, sizeof(e->call_id), resp->call_id);
    const pl_msg *req = pl_txn_request(ct);
    e->same_dialog_ids = req && pl_str_eq(req->call_id, resp->call_id) &&
                         req->cseq.num == resp->cseq.num &&
                         pl_str_eq(req->cseq.method, resp->cseq.method) && resp->from &&
                         req->from && pl_str_eq(req->from->tag, resp->from->tag);
}

static void on_req(pl_txn_layer *l, pl_txn *st, const pl_msg *req, const pl_target *src, void *user)
{
    (void)l;
    (void)src;
    int side = *(int *)user;
    ev *e = new_ev(EV_REQ, side);
    e->txn = st;
    e->is_request = true;
    e->method = req->method_id;
    copy_str(e->call_id, sizeof(e->call_id), req->call_id);
    if (req->method_id == PL_METHOD_CANCEL)
        e->cancelled = pl_txn_cancelled(st);
    if (AUTO[side] && req->method_id != PL_METHOD_ACK) {
        pl_msg *r = build_resp(req, AUTO[side], "auto");
        IN_CALL++;
        int rc = pl_txn_respond(st, r);
        IN_CALL--;
        assert_int_equal(rc, PL_OK);
    }
}

static void on_stray(pl_txn_layer *l, const pl_msg *msg, const pl_target *src, void *user)
{
    (void)l;
    (void)src;
    ev *e = new_ev(EV_STRAY, *(int *)user);
    e->is_request = msg->is_request;
    e->status = msg->status;
    e->method = msg->is_request ? msg->method_id : msg->cseq.method_id;
    copy_str(e->call_id, sizeof(e->call_id), msg->call_id);
}

static void on_done(pl_txn_layer *l, pl_txn *st, bool timed_out, void *user)
{
    (void)l;
    ev *e = new_ev(EV_DONE, *(int *)user);
    e->txn = st;
    e->timed_out = timed_out;
}

static size_t ev_count(ev_kind k, int side)
{
    size_t n = 0;
    for (size_t i = 0; i < NEV; i++)
        n += EV[i].kind == k && EV[i].side == side;
    return n;
}

static const ev *ev_nth(ev_kind k, int side, size_t idx)
{
    for (size_t i = 0; i < NEV; i++)
        if (EV[i].kind == k && EV[i].side == side && idx-- == 0)
            return &EV[i];
    fail_msg("no event %d/%d number %zu (%zu events)", (int)k, side, idx, NEV);
    return NULL;
}

/* The requests of the transactions respond() was given, kept: a
 * non-INVITE transaction frees its own copy once Completed, an INVITE one
 * once Accepted. */
static struct {
    pl_txn *txn;
    const pl_msg *req;
} kept[64];
static size_t nkept;

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof(F));
    memset(kept, 0, sizeof(kept));
    nkept = 0;
    pl_wheel_init(&F.wheel, 0);
    NEV = 0;
    IN_CALL = 0;
    VIOLATIONS = 0;
    memset(AUTO, 0, sizeof(AUTO));
    memset(&TIMERS, 0, sizeof(TIMERS));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (F.lc)
        pl_txn_layer_free(F.lc);
    if (F.ls)
        pl_txn_layer_free(F.ls);
    F.lc = F.ls = NULL;
    sim_ep_free(&F.cl);
    sim_ep_free(&F.sv);
    tu_free_all();
    if (VIOLATIONS) {
        print_error("%d callback(s) ran inside the API call that caused them\n", VIOLATIONS);
        return -1;
    }
    return 0;
}

static pl_txn_layer *mk_layer(sim_ep *ep, int *side, uint32_t t1, bool merged)
{
    pl_txn_config c;
    memset(&c, 0, sizeof(c));
    c.wheel = &F.wheel;
    c.sender = &ep->sender;
    c.timers = TIMERS;
    if (t1)
        c.timers.t1 = t1;
    c.detect_merged = merged;
    c.on_request = on_req;
    c.on_stray = on_stray;
    c.on_server_done = on_done;
    c.user = side;
    pl_txn_layer *l = pl_txn_layer_new(&c);
    assert_non_null(l);
    ep->layer = l;
    return l;
}

/* Hosts 10.0.0.1 (client) and 10.0.0.2 (server) over tp; the layers asked for. */
static void start(pl_transport tp, uint32_t t1, bool merged, int which)
{
    char a[64], b[64];
    const char *p = tp == PL_TP_TCP ? "tcp" : "udp";
    snprintf(a, sizeof(a), "%s:10.0.0.1:5060", p);
    snprintf(b, sizeof(b), "%s:10.0.0.2:5060", p);
    F.tp = tp;
    sim_ep_init(&F.cl, &F.wheel, a);
    sim_ep_init(&F.sv, &F.wheel, b);
    sim_connect(&F.cl, &F.sv);
    if (which & WITH_CLIENT)
        F.lc = mk_layer(&F.cl, &side_c, t1, merged);
    if (which & WITH_SERVER)
        F.ls = mk_layer(&F.sv, &side_s, t1, merged);
}

static void run_to(uint64_t t)
{
    sim_run(&F.wheel, &F.cl, &F.sv, t);
}

static pl_txn_stats stats(const pl_txn_layer *l)
{
    pl_txn_stats s;
    memset(&s, 0xff, sizeof(s));
    pl_txn_layer_stats(l, &s);
    return s;
}

#define LIVE(l) (stats(l).live)

/* ------------------------------------------------------------------ messages */

typedef struct rq {
    const char *method, *branch, *call_id, *from_tag, *to_tag, *ruri, *sent_by, *via_tp;
    uint32_t cseq;
    const char *route;      /* a Route header value */
    const char *second_via; /* a second Via value, below the first */
    const char *ctype, *body;
} rq;

static pl_msg *build_req(rq r)
{
    pl_request_spec s;
    memset(&s, 0, sizeof(s));
    s.method = pl_str_c(r.method ? r.method : "OPTIONS");
    s.ruri = pl_str_c(r.ruri ? r.ruri : "sip:bob@10.0.0.2");
    s.from = pl_str_c("\"Alice\" <sip:alice@10.0.0.1>");
    s.from_tag = pl_str_c(r.from_tag ? r.from_tag : "ftag1");
    s.to = pl_str_c("<sip:bob@10.0.0.2>");
    s.to_tag = pl_str_c(r.to_tag);
    s.call_id = pl_str_c(r.call_id ? r.call_id : "call-1@10.0.0.1");
    s.cseq = r.cseq ? r.cseq : 1;
    s.via_transport = pl_str_c(r.via_tp ? r.via_tp : pl_transport_name(F.tp));
    s.via_sent_by = pl_str_c(r.sent_by ? r.sent_by : "10.0.0.1:5060");
    s.branch = pl_str_c(r.branch ? r.branch : "z9hG4bK-b1");
    pl_str extra[2];
    if (r.route) {
        extra[0] = PL_STR_LIT("Route");
        extra[1] = pl_str_c(r.route);
        s.extra = extra;
        s.n_extra = 1;
    }
    s.content_type = pl_str_c(r.ctype);
    s.body = pl_str_c(r.body);
    pl_msg *m = pl_arena_alloc(tu_arena(), sizeof(*m));
    assert_non_null(m);
    pl_error err = {0};
    int rc = pl_msg_build_request(m, tu_arena(), &s, &err);
    if (rc != PL_OK)
        fail_msg("build_request: %s", err.reason);
    if (r.second_via)
        assert_int_equal(pl_msg_hdr_insert(m, 1, PL_STR_LIT("Via"), pl_str_c(r.second_via)), PL_OK);
    return m;
}

#define REQ(...) build_req((rq){__VA_ARGS__})

/* The wrappers mark API calls that must not call back (txn.h). */
static int client_start(const pl_msg *req, pl_txn **out, void *arg)
{
    IN_CALL++;
    int rc = pl_txn_client_start(F.lc, req, &F.sv.self, on_resp, arg, out);
    IN_CALL--;
    return rc;
}

static int respond_msg(pl_txn *st, const pl_msg *resp)
{
    IN_CALL++;
    int rc = pl_txn_respond(st, resp);
    IN_CALL--;
    return rc;
}

static int respond(pl_txn *st, uint16_t code, const char *tag)
{
    const pl_msg *req = pl_txn_request(st);
    if (req) {
        size_t n;
        char *b = sim_print(req, &n);
        pl_msg *copy = pl_arena_alloc(tu_arena(), sizeof(*copy));
        pl_parse_opts opts = {PL_FRAMING_STREAM, NULL};
        assert_int_equal(pl_msg_parse(copy, b, n, tu_arena(), &opts, NULL), PL_OK);
        if (nkept == 64)
            nkept = 0;
        kept[nkept].txn = st;
        kept[nkept++].req = copy;
    } else {
        /* Only a Completed non-INVITE or an Accepted INVITE drops it. */
        pl_txn_state s = pl_txn_state_of(st);
        assert_true((s == PL_TXN_COMPLETED && pl_txn_kind_of(st) == PL_TXN_SERVER_NON_INVITE) ||
                    (s == PL_TXN_ACCEPTED && pl_txn_kind_of(st) == PL_TXN_SERVER_INVITE));
        for (size_t i = nkept; i-- > 0 && !req;)
            if (kept[i].txn == st)
                req = kept[i].req;
        assert_non_null(req);
    }
    return respond_msg(st, build_resp(req, code, tag));
}

/* The scripted server answers the client's first message. */
static int srv_reply(uint16_t code, const char *tag)
{
    pl_msg *req = sim_parse(sim_nth(&F.cl, 0));
    return sim_inject(&F.sv, F.lc, build_resp(req, code, tag));
}

/* The scripted client sends req to the server layer. */
static int cl_send(const pl_msg *req)
{
    return sim_inject(&F.cl, F.ls, req);
}

/* Lose every ACK. */
static bool drop_all_acks(sim_ep *ep, const sim_pkt *p, void *arg)
{
    (void)ep;
    (void)arg;
    return p->len > 4 && memcmp(p->buf, "ACK ", 4) == 0;
}

static bool same_bytes(const sim_pkt *a, const sim_pkt *b)
{
    return a && b && a->len == b->len && memcmp(a->buf, b->buf, a->len) == 0;
}

static bool pkt_is(const sim_pkt *p, const pl_msg *m)
{
    size_t n;
    char *b = sim_print(m, &n);
    return p && p->len == n && memcmp(p->buf, b, n) == 0;
}

static pl_str hdr_line(const pl_msg *m, pl_hdr_id id, uint32_t k)
{
    int32_t i = -1;
    uint32_t from = 0;
    for (uint32_t j = 0; j <= k; j++) {
        i = pl_msg_hdr_find(m, id, from);
        if (i < 0)
            return PL_STR_NULL;
        from = (uint32_t)i + 1;
    }
    return m->hdrs[i].line;
}

static void expect_times_(const sim_ep *ep, const uint64_t *want, size_t n, const char *what,
                          int line)
{
    size_t got = sim_sent(ep);
    bool ok = got == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = sim_nth(ep, i)->t == want[i];
    if (ok)
        return;
    char g[2048] = "", w[2048] = "";
    size_t o = 0;
    for (size_t i = 0; i < got && o < sizeof(g) - 32; i++)
        o += (size_t)snprintf(g + o, sizeof(g) - o, "%s%llu", i ? "," : "",
                              (unsigned long long)sim_nth(ep, i)->t);
    o = 0;
    for (size_t i = 0; i < n && o < sizeof(w) - 32; i++)
        o += (size_t)snprintf(w + o, sizeof(w) - o, "%s%llu", i ? "," : "",
                              (unsigned long long)want[i]);
    fail_msg("line %d: %s sent at [%s], want [%s]", line, what, g, w);
}

#define EXPECT_TIMES(ep, ...)                                                                      \
    do {                                                                                           \
        static const uint64_t _w[] = {__VA_ARGS__};                                                \
        expect_times_(ep, _w, sizeof(_w) / sizeof(_w[0]), #ep, __LINE__);                          \
    } while (0)

#define EXPECT_NO_SENDS(ep)                                                                        \
    do {                                                                                           \
        if (sim_sent(ep) != 0)                                                                     \
            fail_msg("%s sent %zu messages, want none", #ep, sim_sent(ep));                        \
    } while (0)

static void expect_resp(size_t idx, uint64_t t, uint16_t status, bool final)
{
    const ev *e = ev_nth(EV_RESP, SIDE_C, idx);
    if (e->t != t || e->status != status || e->final != final)
        fail_msg("response #%zu: %u final=%d at %llu, want %u final=%d at %llu", idx, e->status,
                 e->final, (unsigned long long)e->t, status, final, (unsigned long long)t);
}

/* ================================================================== client non-INVITE */

/* 17.1.2.2: Timer E from T1 doubling to T2; Timer F = 64*T1 gives a 408 once. */
static void test_client_ni_udp_timeout(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_CLIENT);
    pl_msg *req = REQ(.method = "OPTIONS");
    pl_txn *ct = NULL;
    assert_int_equal(client_start(req, &ct, &side_c), PL_OK);
    assert_non_null(ct);
    assert_int_equal(pl_txn_kind_of(ct), PL_TXN_CLIENT_NON_INVITE);
    assert_int_equal(pl_txn_state_of(ct), PL_TXN_TRYING);
    assert_int_equal(LIVE(F.lc), 1);
    assert_int_equal(sim_sent(&F.cl), 1);
    assert_true(pkt_is(sim_nth(&F.cl, 0), req));
    assert_true(pl_target_eq(&sim_nth(&F.cl, 0)->dst, &F.sv.self));

    run_to(31999);
    assert_int_equal(NEV, 0);
    EXPECT_TIMES(&F.cl, 0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500);
    for (size_t i = 1; i < sim_sent(&F.cl); i++) {
        assert_true(same_bytes(sim_nth(&F.cl, 0), sim_nth(&F.cl, i)));
        assert_true(pl_target_eq(&sim_nth(&F.cl, i)->dst, &F.sv.self));
    }
    assert_int_equal(LIVE(F.lc), 1);

    run_to(32000);
    assert_int_equal(NEV, 1);
    expect_resp(0, 32000, 408, true);
    assert_ptr_equal(EV[0].txn, ct);
    assert_ptr_equal(EV[0].arg, &side_c);
    assert_true(EV[0].same_dialog_ids);
    assert_int_equal(LIVE(F.lc), 0);
    pl_txn_stats s = stats(F.lc);
    assert_int_equal(s.timeouts, 1);
    assert_int_equal(s.retransmissions, 10);

    run_to(100000);
    assert_int_equal(NEV, 1);
    assert_int_equal(sim_sent(&F.cl), 11);
}

/* The same with T1 = 100: E at 100, 300, 700, 1500, 3100, 6300; F at 6400. */
static void test_client_ni_udp_timeout_t1_100(void **state)
{
    (void)state;
    start(PL_TP_UDP, 100, false, WITH_CLIENT);
    assert_int_equal(client_start(REQ(.method = "REGISTER"), NULL, NULL), PL_OK);
    run_to(6399);
    assert_int_equal(NEV, 0);
    EXPECT_TIMES(&F.cl, 0, 100, 300, 700, 1500, 3100, 6300);
    run_to(6400);
    assert_int_equal(NEV, 1);
    expect_resp(0, 6400, 408, true);
    assert_int_equal(LIVE(F.lc), 0);
    run_to(50000);
    assert_int_equal(NEV, 1);
    assert_int_equal(sim_sent(&F.cl), 7);
}

/* 17.1.2.2: a reliable transport: no Timer E; F still 64*T1. */
static void test_client_ni_tcp_timeout(void **state)
{
    (void)state;
    start(PL_TP_TCP, 0, false, WITH_CLIENT);
    assert_int_equal(client_start(REQ(.method = "OPTIONS"), NULL, NULL), PL_OK);
    run_to(31999);
    EXPECT_TIMES(&F.cl, 0);
    assert_int_equal(NEV, 0);
    run_to(32000);
    assert_int_equal(NEV, 1);
    expect_resp(0, 32000, 408, true);
    assert_int_equal(LIVE(F.lc), 0);
    run_to(100000);
    assert_int_equal(NEV, 1);
    assert_int_equal(sim_sent(&F.cl), 1);
}

/* 17.1.2.2: Proceeding retransmits every T2; a 200 completes; Timer K = T4. */
static void test_client_ni_provisional_then_200(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_CLIENT);
    pl_txn *ct;
    assert_int_equal(client_start(REQ(.method = "OPTIONS"), &ct, NULL), PL_OK);
    run_to(600);
    assert_int_equal(srv_reply(100, NULL), PL_OK);
    assert_int_equal(NEV, 1);
    expect_resp(0, 600, 100, false);
    assert_int_equal(pl_txn_state_of(ct), PL_TXN_PROCEEDING);

    run_to(10000);
    /* E was due at 1500 when the 100 came; from then on every T2. */
    EXPECT_TIMES(&F.cl, 0, 500, 1500, 5500, 9500);
    assert_int_equal(NEV, 1);

    assert_int_equal(srv_reply(200, "uas1"), PL_OK);
    assert_int_equal(NEV, 2);
    expect_resp(1, 10000, 200, true);
    assert_string_equal(EV[1].to_tag, "uas1");
    assert_int_equal(pl_txn_state_of(ct), PL_TXN_COMPLETED);

    run_to(12000);
    /* A retransmitted 200 and a late 100 are absorbed. */
    assert_int_equal(srv_reply(200, "uas1"), PL_OK);
    assert_int_equal(srv_reply(100, NULL), PL_OK);
    assert_int_equal(NEV, 2);
    run_to(14999);
    assert_int_equal(LIVE(F.lc), 1);
    assert_int_equal(sim_sent(&F.cl), 5);
    run_to(15000);
    assert_int_equal(LIVE(F.lc), 0);
    run_to(60000);
    assert_int_equal(NEV, 2); /* no 408 from a stale Timer F */
    assert_int_equal(sim_sent(&F.cl), 5);
    assert_int_equal(stats(F.lc).timeouts, 0);
}

/* T1 = 100: a 100 at 150; E fires at 300 (in Proceeding) and then every T2 = 4000; F at 6400. */
static void test_client_ni_provisional_t1_100(void **state)
{
    (void)state;
    start(PL_TP_UDP, 100, false, WITH_CLIENT);
    assert_int_equal(client_start(REQ(.method = "OPTIONS"), NULL, NULL), PL_OK);
    run_to(150);
    assert_int_equal(srv_reply(100, NULL), PL_OK);
    run_to(6399);
    EXPECT_TIMES(&F.cl, 0, 100, 300, 4300);
    assert_int_equal(NEV, 1);
    run_to(6400);
    assert_int_equal(NEV, 2);
    expect_resp(1, 6400, 408, true);
    assert_int_equal(LIVE(F.lc), 0);
}

/* 17.1.2.2: over TCP, Timer K is 0: the transaction ends with its final. */
static void test_client_ni_tcp_200(void **state)
{
    (void)state;
    start(PL_TP_TCP, 0, false, WITH_CLIENT);
    assert_int_equal(client_start(REQ(.method = "OPTIONS"), NULL, NULL), PL_OK);
    run_to(600);
    assert_int_equal(srv_reply(100, NULL), PL_OK);
    run_to(1000);
    assert_int_equal(srv_reply(200, "x"), PL_OK);
    assert_int_equal(NEV, 2);
    expect_resp(0, 600, 100, false);
    expect_resp(1, 1000, 200, true);
    run_to(1001);
    assert_int_equal(LIVE(F.lc), 0);
    run_to(60000);
    EXPECT_TIMES(&F.cl, 0);
    assert_int_equal(NEV, 2);
}

/* ================================================================== client INVITE */

/* 17.1.1.2: Timer A doubles without a cap; Timer B at 64*T1. */
static void test_client_inv_udp_timeout(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_CLIENT);
    pl_txn *ct;
    pl_msg *inv = REQ(.method = "INVITE");
    assert_int_equal(client_start(inv, &ct, NULL), PL_OK);
    assert_int_equal(pl_txn_kind_of(ct), PL_TXN_CLIENT_INVITE);
    assert_int_equal(pl_txn_state_of(ct), PL_TXN_CALLING);
    run_to(31999);
    EXPECT_TIMES(&F.cl, 0, 500, 1500, 3500, 7500, 15500, 31500);
    for (size_t i = 0; i < 7; i++)
        assert_true(pkt_is(sim_nth(&F.cl, i), inv));
    assert_int_equal(NEV, 0);
    run_to(32000);
    assert_int_equal(NEV, 1);
    expect_resp(0, 32000, 408, true);
    assert_true(EV[0].same_dialog_ids);
    assert_int_equal(LIVE(F.lc), 0);
    run_to(100000);
    assert_int_equal(sim_sent(&F.cl), 7); /* and no ACK for the synthesized 408 */
    assert_int_equal(NEV, 1);
}

static void test_client_inv_udp_timeout_t1_100(void **state)
{
    (void)state;
    start(PL_TP_UDP, 100, false, WITH_CLIENT);
    assert_int_equal(client_start(REQ(.method = "INVITE"), NULL, NULL), PL_OK);
    run_to(6399);
    EXPECT_TIMES(&F.cl, 0, 100, 300, 700, 1500, 3100, 6300);
    assert_int_equal(NEV, 0);
    run_to(6400);
    assert_int_equal(NEV, 1);
    expect_resp(0, 6400, 408, true);
    assert_int_equal(LIVE(F.lc), 0);
}

static void test_client_inv_tcp_timeout(void **state)
{
    (void)state;
    start(PL_TP_TCP, 0, false, WITH_CLIENT);
    assert_int_equal(client_start(REQ(.method = "INVITE"), NULL, NULL), PL_OK);
    run_to(31999);
    EXPECT_TIMES(&F.cl, 0);
    assert_int_equal(NEV, 0);
    run_to(32000);
    assert_int_equal(NEV, 1);
    expect_resp(0, 32000, 408, true);
    assert_int_equal(LIVE(F.lc), 0);
}

/* 17.1.1.3: the ACK the layer builds for a non-2xx final. */
static void check_ack(const pl_msg *ack, const pl_msg *inv, const char *to_tag)
{
    assert_true(ack->is_request);
    assert_int_equal(ack->method_id, PL_METHOD_ACK);
    assert_true(pl_str_eq(ack->ruri_raw, inv->ruri_raw));
    assert_int_equal(ack->via_count, 1);
    assert_true(pl_str_eq(ack->via->raw, inv->via->raw));
    assert_true(pl_str_eq(ack->via->branch, inv->via->branch));
    assert_int_equal(ack->cseq.num, inv->cseq.num);
    assert_str(ack->cseq.method, "ACK");
    assert_true(pl_str_eq(ack->call_id, inv->call_id));
    assert_true(pl_str_eq(ack->from->raw, inv->from->raw));
    assert_true(ack->to->has_tag);
    assert_str(ack->to->tag, to_tag);
    assert_true(pl_str_eq(ack->to->uri_raw, inv->to->uri_raw));
    assert_int_equal(ack->route_count, inv->route_count);
    if (inv->route_count)
        assert_true(pl_str_eq(ack->route->uri_raw, inv->route->uri_raw));
    assert_int_equal(ack->body.len, 0);
    uint16_t code = 1;
    assert_int_equal(pl_msg_check(ack, &code, NULL), PL_OK);
}

/* 17.1.1.2: a 1xx stops A and B; a 486 gets an ACK at once and again for each retransmission; D. */
static void test_client_inv_180_then_486(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_CLIENT);
    /* As a proxy's client transaction: a second Via below ours, and a Route. */
    pl_msg *inv = REQ(.method = "INVITE", .route = "<sip:proxy.example.com;lr>",
                      .second_via = "SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK-upstream");
    assert_int_equal(inv->via_count, 2);
    pl_txn *ct;
    assert_int_equal(client_start(inv, &ct, NULL), PL_OK);
    run_to(200);
    assert_int_equal(srv_reply(180, "callee"), PL_OK);
    assert_int_equal(NEV, 1);
    expect_resp(0, 200, 180, false);
    assert_string_equal(EV[0].to_tag, "callee");
    assert_int_equal(pl_txn_state_of(ct), PL_TXN_PROCEEDING);

    run_to(100000);
    EXPECT_TIMES(&F.cl, 0); /* no retransmission, and no Timer B either */
    assert_int_equal(NEV, 1);
    assert_int_equal(LIVE(F.lc), 1);

    assert_int_equal(srv_reply(486, "callee"), PL_OK);
    EXPECT_TIMES(&F.cl, 0, 100000);
    assert_int_equal(NEV, 2);
    expect_resp(1, 100000, 486, true);
    assert_string_equal(EV[1].to_tag, "callee");
    assert_int_equal(pl_txn_state_of(ct), PL_TXN_COMPLETED);
    const sim_pkt *ackp = sim_nth(&F.cl, 1);
    assert_true(pl_target_eq(&ackp->dst, &F.sv.self));
    check_ack(sim_parse(ackp), inv, "callee");

    run_to(101000);
    assert_int_equal(srv_reply(486, "callee"), PL_OK);
    EXPECT_TIMES(&F.cl, 0, 100000, 101000);
    assert_true(same_bytes(sim_nth(&F.cl, 1), sim_nth(&F.cl, 2)));
    assert_int_equal(NEV, 2);

    run_to(131999);
    assert_int_equal(LIVE(F.lc), 1);
    run_to(132000);
    assert_int_equal(LIVE(F.lc), 0);
    assert_int_equal(sim_sent(&F.cl), 3);
    assert_int_equal(NEV, 2);
}

/* A 486 in Calling stops Timer A and Timer B. */
static void test_client_inv_486_in_calling(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_CLIENT);
    pl_msg *inv = REQ(.method = "INVITE");
    assert_int_equal(client_start(inv, NULL, NULL), PL_OK);
    run_to(700);
    assert_int_equal(srv_reply(486, "busy"), PL_OK);
    expect_resp(0, 700, 486, true);
    EXPECT_TIMES(&F.cl, 0, 500, 700);
    check_ack(sim_parse(sim_nth(&F.cl, 2)), inv, "busy");
    run_to(32699);
    assert_int_equal(LIVE(F.lc), 1);
    run_to(32700);
    assert_int_equal(LIVE(F.lc), 0);
    run_to(100000);
    EXPECT_TIMES(&F.cl, 0, 500, 700);
    assert_int_equal(NEV, 1);
}

/* 17.1.1.2: over TCP Timer D is 0. */
static void test_client_inv_tcp_486(void **state)
{
    (void)state;
    start(PL_TP_TCP, 0, false, WITH_CLIENT);
    pl_msg *inv = REQ(.method = "INVITE");
    assert_int_equal(client_start(inv, NULL, NULL), PL_OK);
    run_to(300);
    assert_int_equal(srv_reply(486, "busy"), PL_OK);
    EXPECT_TIMES(&F.cl, 0, 300);
    check_ack(sim_parse(sim_nth(&F.cl, 1)), inv, "busy");
    assert_int_equal(NEV, 1);
    expect_resp(0, 300, 486, true);
    run_to(301);
    assert_int_equal(LIVE(F.lc), 0);
}

/* RFC 6026 7.2: a 2xx: no ACK from the layer, every 2xx to the user, Timer M = 64*T1. */
static void test_client_inv_2xx_accepted(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_CLIENT);
    pl_txn *ct;
    assert_int_equal(client_start(REQ(.method = "INVITE"), &ct, NULL), PL_OK);
    run_to(1000);
    assert_int_equal(srv_reply(200, "a"), PL_OK);
    assert_int_equal(NEV, 1);
    expect_resp(0, 1000, 200, true);
    assert_string_equal(EV[0].to_tag, "a");
    assert_int_equal(pl_txn_state_of(ct), PL_TXN_ACCEPTED);
    run_to(2000);
    EXPECT_TIMES(&F.cl, 0, 500); /* no ACK, no more retransmissions */

    assert_int_equal(srv_reply(200, "a"), PL_OK); /* retransmitted 2xx */
    assert_int_equal(NEV, 2);
    expect_resp(1, 2000, 200, true);
    assert_string_equal(EV[1].to_tag, "a");
    run_to(3000);
    assert_int_equal(srv_reply(200, "b"), PL_OK); /* a forked 2xx */
    assert_int_equal(NEV, 3);
    expect_resp(2, 3000, 200, true);
    assert_string_equal(EV[2].to_tag, "b");
    assert_int_equal(ev_count(EV_STRAY, SIDE_C), 0);

    run_to(32999);
    assert_int_equal(LIVE(F.lc), 1);
    assert_int_equal(NEV, 3); /* no 408 from Timer B */
    run_to(33000);
    assert_int_equal(LIVE(F.lc), 0);
    EXPECT_TIMES(&F.cl, 0, 500);

    /* Afterwards a 2xx is a stray, for the UA core to ACK. */
    assert_int_equal(srv_reply(200, "a"), PL_OK);
    assert_int_equal(ev_count(EV_RESP, SIDE_C), 3);
    assert_int_equal(ev_count(EV_STRAY, SIDE_C), 1);
    const ev *s = ev_nth(EV_STRAY, SIDE_C, 0);
    assert_false(s->is_request);
    assert_int_equal(s->status, 200);
}

/* An abandoned INVITE transaction in Accepted hands 2xx retransmissions to
 * the stray hook (a proxy forwards them), not to its former user; its
 * request copy is gone. */
static void test_client_inv_2xx_abandoned(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_CLIENT);
    pl_txn *ct;
    assert_int_equal(client_start(REQ(.method = "INVITE"), &ct, NULL), PL_OK);
    assert_non_null(pl_txn_request(ct));
    run_to(1000);
    assert_int_equal(srv_reply(200, "a"), PL_OK);
    assert_int_equal(NEV, 1);
    assert_null(pl_txn_request(ct));
    pl_txn_client_abandon(ct);
    assert_int_equal(srv_reply(200, "a"), PL_OK);
    assert_int_equal(ev_count(EV_RESP, SIDE_C), 1);
    assert_int_equal(ev_count(EV_STRAY, SIDE_C), 1);
    assert_int_equal(ev_nth(EV_STRAY, SIDE_C, 0)->status, 200);
    assert_int_equal(LIVE(F.lc), 1); /* Timer M still runs */
    run_to(33000);
    assert_int_equal(LIVE(F.lc), 0);
}

static void test_client_inv_2xx_timer_m_t1_100(void **state)
{
    (void)state;
    start(PL_TP_UDP, 100, false, WITH_CLIENT);
    assert_int_equal(client_start(REQ(.method = "INVITE"), NULL, NULL), PL_OK);
    run_to(1000);
    assert_int_equal(srv_reply(200, "a"), PL_OK);
    run_to(7399);
    assert_int_equal(LIVE(F.lc), 1);
    run_to(7400);
    assert_int_equal(LIVE(F.lc), 0);
    EXPECT_TIMES(&F.cl, 0, 100, 300, 700);
    assert_int_equal(NEV, 1);
}

/* txn.h: an abandoned transaction runs out its timers without calling back. */
static void test_client_abandon(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_CLIENT);
    pl_txn *ct;
    assert_int_equal(client_start(REQ(.method = "OPTIONS"), &ct, NULL), PL_OK);
    run_to(600);
    IN_CALL++;
    pl_txn_client_abandon(ct);
    IN_CALL--;
    assert_int_equal(srv_reply(100, NULL), PL_OK);
    run_to(31999);
    assert_int_equal(LIVE(F.lc), 1);
    EXPECT_TIMES(&F.cl, 0, 500, 1500, 5500, 9500, 13500, 17500, 21500, 25500, 29500);
    run_to(32000);
    assert_int_equal(LIVE(F.lc), 0);
    assert_int_equal(NEV, 0);
}

/* txn.h: the request's top Via must carry a z9hG4bK branch; an ACK takes no transaction. */
/* RFC 3261 18.1.1: a request over 1300 bytes to a UDP target goes over TCP,
 * with its top Via saying so and its branch kept; nothing is retransmitted.
 * A request of exactly 1300 bytes stays on UDP. */
static void test_udp_to_tcp_above_mtu(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_CLIENT);
    char body[1400];
    memset(body, 'x', sizeof(body) - 1);
    body[sizeof(body) - 1] = '\0';
    assert_int_equal(client_start(REQ(.method = "MESSAGE", .branch = "z9hG4bK-big",
                                      .ctype = "text/plain", .body = body),
                                  NULL, NULL),
                     PL_OK);
    assert_int_equal(sim_sent(&F.cl), 1);
    const sim_pkt *p = sim_nth(&F.cl, 0);
    assert_int_equal(p->dst.transport, PL_TP_TCP);
    pl_msg *m = sim_parse(p);
    assert_str(m->via->transport, "TCP");
    assert_str(m->via->branch, "z9hG4bK-big");
    assert_int_equal(m->body.len, sizeof(body) - 1);
    pl_wheel_advance(&F.wheel, 31999);
    assert_int_equal(sim_sent(&F.cl), 1); /* reliable: no Timer E */

    /* Exactly 1300 bytes: UDP. (The body's length moves Content-Length's
     * digits too, so size it in two steps.) */
    size_t blen = 1300 - (pl_msg_print_len(REQ(.method = "MESSAGE", .branch = "z9hG4bK-edge",
                                               .ctype = "text/plain", .body = "y")) -
                          1);
    char *fit = calloc(1, 1400);
    assert_non_null(fit);
    memset(fit, 'y', blen);
    pl_msg *edge =
        REQ(.method = "MESSAGE", .branch = "z9hG4bK-edge", .ctype = "text/plain", .body = fit);
    blen -= pl_msg_print_len(edge) - 1300;
    fit[blen] = '\0';
    edge = REQ(.method = "MESSAGE", .branch = "z9hG4bK-edge", .ctype = "text/plain", .body = fit);
    free(fit);
    assert_int_equal(pl_msg_print_len(edge), 1300);
    assert_int_equal(client_start(edge, NULL, NULL), PL_OK);
    assert_int_equal(sim_last(&F.cl)->dst.transport, PL_TP_UDP);
}

static void test_client_start_refuses(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_CLIENT);
    assert_true(client_start(REQ(.method = "ACK"), NULL, NULL) < 0);
    assert_true(client_start(REQ(.method = "OPTIONS", .branch = "abc123"), NULL, NULL) < 0);
    assert_int_equal(LIVE(F.lc), 0);
    EXPECT_NO_SENDS(&F.cl);
    run_to(40000);
    assert_int_equal(NEV, 0);
    EXPECT_NO_SENDS(&F.cl);
}

static void test_user_data_and_stateless(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_CLIENT);
    pl_txn *ct;
    assert_int_equal(client_start(REQ(.method = "OPTIONS"), &ct, NULL), PL_OK);
    assert_null(pl_txn_user(ct));
    pl_txn_set_user(ct, &side_s);
    assert_ptr_equal(pl_txn_user(ct), &side_s);
    assert_int_equal(pl_txn_request(ct)->method_id, PL_METHOD_OPTIONS);
    assert_str(pl_txn_request(ct)->via->branch, "z9hG4bK-b1");

    /* A stateless send goes out once, byte for byte, and makes no transaction. */
    pl_msg *ack = REQ(.method = "ACK", .branch = "z9hG4bK-ack", .to_tag = "t");
    IN_CALL++;
    int rc = pl_txn_send_stateless(F.lc, ack, &F.sv.self);
    IN_CALL--;
    assert_int_equal(rc, PL_OK);
    assert_int_equal(sim_sent(&F.cl), 2);
    assert_true(pkt_is(sim_nth(&F.cl, 1), ack));
    assert_true(pl_target_eq(&sim_nth(&F.cl, 1)->dst, &F.sv.self));
    assert_int_equal(LIVE(F.lc), 1);
    run_to(300);
    assert_int_equal(sim_sent(&F.cl), 2);
}

static void test_layer_new_refuses(void **state)
{
    (void)state;
    sim_ep ep;
    sim_ep_init(&ep, &F.wheel, "udp:10.0.0.1:5060");
    pl_txn_config c;
    memset(&c, 0, sizeof(c));
    c.on_request = on_req;
    c.on_stray = on_stray;
    c.sender = &ep.sender;
    assert_null(pl_txn_layer_new(&c)); /* no wheel */
    c.wheel = &F.wheel;
    c.sender = NULL;
    assert_null(pl_txn_layer_new(&c)); /* no sender */
    sim_ep_free(&ep);
}

/* txn.h: "The layer copies req" - and pl_txn_respond keeps its own copy of the response. */
static void test_layer_copies_messages(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_CLIENT | WITH_SERVER);
    static char block[8192];
    pl_arena ar;
    pl_arena_init(&ar, block, sizeof(block), sizeof(block));
    pl_request_spec sp;
    memset(&sp, 0, sizeof(sp));
    sp.method = PL_STR_LIT("INVITE");
    sp.ruri = PL_STR_LIT("sip:bob@10.0.0.2");
    sp.from_tag = PL_STR_LIT("cp");
    sp.call_id = PL_STR_LIT("copy@10.0.0.1");
    sp.via_sent_by = PL_STR_LIT("10.0.0.1:5060");
    sp.branch = PL_STR_LIT("z9hG4bK-copy");
    pl_msg req;
    assert_int_equal(pl_msg_build_request(&req, &ar, &sp, NULL), PL_OK);
    size_t n;
    char *orig = sim_print(&req, &n);
    assert_int_equal(client_start(&req, NULL, NULL), PL_OK);
    memset(block, 'Z', sizeof(block)); /* the caller's copy is gone */
    memset(&req, 0x5a, sizeof(req));
    pl_arena_free(&ar);
    run_to(1);
    pl_txn *st = ev_nth(EV_REQ, SIDE_S, 0)->txn;
    assert_true(pl_str_eq(pl_txn_request(st)->call_id, PL_STR_LIT("copy@10.0.0.1")));

    pl_arena_init(&ar, block, sizeof(block), sizeof(block));
    pl_msg resp;
    assert_int_equal(pl_msg_build_response(&resp, &ar, pl_txn_request(st), 486, PL_STR_NULL,
                                           PL_STR_LIT("busy"), NULL),
                     PL_OK);
    size_t rn;
    char *rorig = sim_print(&resp, &rn);
    assert_int_equal(respond_msg(st, &resp), PL_OK);
    memset(block, 'Z', sizeof(block));
    memset(&resp, 0x5a, sizeof(resp));
    pl_arena_free(&ar);
    F.cl.drop = drop_all_acks; /* keep Timer G running for a while */
    run_to(3000);
    /* The client's INVITE was sent once, intact; the server's 486 several times, intact. */
    const sim_pkt *p0 = sim_nth(&F.cl, 0);
    assert_true(p0->len == n && memcmp(p0->buf, orig, n) == 0);
    assert_true(sim_sent(&F.sv) >= 3);
    for (size_t i = 0; i < sim_sent(&F.sv); i++) {
        const sim_pkt *p = sim_nth(&F.sv, i);
        assert_true(p->len == rn && memcmp(p->buf, rorig, rn) == 0);
    }
    assert_int_equal(ev_count(EV_RESP, SIDE_C), 1);
    expect_resp(0, 1, 486, true);
}

/* ================================================================== server non-INVITE */

/* 17.2.2: absorb retransmissions in Trying; resend the final in Completed; Timer J = 64*T1. */
static void test_server_ni_udp(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_SERVER);
    pl_msg *req = REQ(.method = "OPTIONS");
    assert_int_equal(cl_send(req), PL_OK);
    assert_int_equal(NEV, 1);
    const ev *e = ev_nth(EV_REQ, SIDE_S, 0);
    assert_int_equal(e->method, PL_METHOD_OPTIONS);
    pl_txn *st = e->txn;
    assert_non_null(st);
    assert_int_equal(pl_txn_kind_of(st), PL_TXN_SERVER_NON_INVITE);
    assert_int_equal(pl_txn_state_of(st), PL_TXN_TRYING);
    assert_true(pl_str_eq(pl_txn_request(st)->call_id, req->call_id));
    assert_int_equal(LIVE(F.ls), 1);

    run_to(500);
    assert_int_equal(cl_send(req), PL_OK);
    assert_int_equal(NEV, 1);
    assert_int_equal(stats(F.ls).absorbed, 1);
    EXPECT_NO_SENDS(&F.sv);

    run_to(1000);
    pl_msg *ok = build_resp(pl_txn_request(st), 200, "s1");
    assert_int_equal(respond_msg(st, ok), PL_OK);
    EXPECT_TIMES(&F.sv, 1000);
    assert_true(pkt_is(sim_nth(&F.sv, 0), ok));
    assert_true(pl_target_eq(&sim_nth(&F.sv, 0)->dst, &F.cl.self));
    assert_int_equal(pl_txn_state_of(st), PL_TXN_COMPLETED);
    /* Completed keeps no copy of the request (txn.h): retransmissions are
     * still matched (below) and answered from the kept response. */
    assert_null(pl_txn_request(st));

    run_to(1500);
    assert_int_equal(cl_send(req), PL_OK);
    EXPECT_TIMES(&F.sv, 1000, 1500);
    assert_true(same_bytes(sim_nth(&F.sv, 0), sim_nth(&F.sv, 1)));
    assert_int_equal(stats(F.ls).absorbed, 2);
    assert_int_equal(NEV, 1);

    /* A second final, or any response after it, is refused. */
    assert_int_equal(respond_msg(st, ok), PL_EINVAL);
    assert_int_equal(respond_msg(st, build_resp(req, 404, "s1")), PL_EINVAL);
    assert_int_equal(respond_msg(st, build_resp(req, 100, NULL)), PL_EINVAL);
    assert_int_equal(sim_sent(&F.sv), 2);

    run_to(32999);
    assert_int_equal(LIVE(F.ls), 1);
    assert_int_equal(ev_count(EV_DONE, SIDE_S), 0);
    run_to(33000);
    assert_int_equal(LIVE(F.ls), 0);
    assert_int_equal(ev_count(EV_DONE, SIDE_S), 1);
    const ev *d = ev_nth(EV_DONE, SIDE_S, 0);
    assert_ptr_equal(d->txn, st);
    assert_false(d->timed_out);
    assert_int_equal(d->t, 33000);
    assert_int_equal(sim_sent(&F.sv), 2);
}

/* 17.2.2: in Proceeding a retransmission gets the latest provisional. */
static void test_server_ni_provisional(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_SERVER);
    pl_msg *req = REQ(.method = "SUBSCRIBE");
    assert_int_equal(cl_send(req), PL_OK);
    pl_txn *st = ev_nth(EV_REQ, SIDE_S, 0)->txn;
    run_to(100);
    pl_msg *p1 = build_resp(pl_txn_request(st), 100, NULL);
    assert_int_equal(respond_msg(st, p1), PL_OK);
    assert_int_equal(pl_txn_state_of(st), PL_TXN_PROCEEDING);
    run_to(200);
    assert_int_equal(cl_send(req), PL_OK);
    EXPECT_TIMES(&F.sv, 100, 200);
    assert_true(pkt_is(sim_nth(&F.sv, 1), p1));
    run_to(300);
    pl_msg *p2 = build_resp(pl_txn_request(st), 183, "s");
    assert_int_equal(respond_msg(st, p2), PL_OK);
    run_to(400);
    assert_int_equal(cl_send(req), PL_OK);
    EXPECT_TIMES(&F.sv, 100, 200, 300, 400);
    assert_true(pkt_is(sim_nth(&F.sv, 3), p2));
    run_to(500);
    assert_int_equal(respond(st, 202, "s"), PL_OK);
    EXPECT_TIMES(&F.sv, 100, 200, 300, 400, 500);
    assert_int_equal(NEV, 1);
}

/* 17.2.2: over TCP Timer J is 0; the done callback comes from the wheel, not from respond. */
static void test_server_ni_tcp(void **state)
{
    (void)state;
    start(PL_TP_TCP, 0, false, WITH_SERVER);
    assert_int_equal(cl_send(REQ(.method = "OPTIONS")), PL_OK);
    pl_txn *st = ev_nth(EV_REQ, SIDE_S, 0)->txn;
    run_to(1000);
    assert_int_equal(respond(st, 200, "t"), PL_OK);
    EXPECT_TIMES(&F.sv, 1000);
    assert_int_equal(NEV, 1);
    run_to(1001);
    assert_int_equal(LIVE(F.ls), 0);
    assert_int_equal(ev_count(EV_DONE, SIDE_S), 1);
    assert_false(ev_nth(EV_DONE, SIDE_S, 0)->timed_out);
    run_to(60000);
    EXPECT_TIMES(&F.sv, 1000);
}

/* txn.h: a non-INVITE never answered ends silently after 64*T1. */
static void test_server_ni_never_answered(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_SERVER);
    assert_int_equal(cl_send(REQ(.method = "OPTIONS")), PL_OK);
    run_to(31999);
    assert_int_equal(LIVE(F.ls), 1);
    run_to(32000);
    assert_int_equal(LIVE(F.ls), 0);
    assert_int_equal(ev_count(EV_DONE, SIDE_S), 1);
    EXPECT_NO_SENDS(&F.sv);
}

/* ================================================================== server INVITE */

/* 17.2.1: 100 Trying at +200 built from the request; resent on a retransmission; Timer G, H. */
static void test_server_inv_trying_and_timer_h(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_SERVER);
    pl_msg *inv = REQ(.method = "INVITE", .branch = "z9hG4bK-inv1",
                      .second_via = "SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK-up");
    assert_int_equal(cl_send(inv), PL_OK);
    assert_int_equal(NEV, 1);
    pl_txn *st = ev_nth(EV_REQ, SIDE_S, 0)->txn;
    assert_int_equal(pl_txn_kind_of(st), PL_TXN_SERVER_INVITE);
    assert_int_equal(pl_txn_state_of(st), PL_TXN_PROCEEDING);

    run_to(199);
    EXPECT_NO_SENDS(&F.sv);
    run_to(200);
    EXPECT_TIMES(&F.sv, 200);
    const sim_pkt *tp = sim_nth(&F.sv, 0);
    assert_true(pl_target_eq(&tp->dst, &F.cl.self));
    pl_msg *t100 = sim_parse(tp);
    assert_false(t100->is_request);
    assert_int_equal(t100->status, 100);
    assert_int_equal(t100->via_count, 2);
    assert_true(pl_str_eq(hdr_line(t100, PL_HDR_VIA, 0), hdr_line(inv, PL_HDR_VIA, 0)));
    assert_true(pl_str_eq(hdr_line(t100, PL_HDR_VIA, 1), hdr_line(inv, PL_HDR_VIA, 1)));
    assert_true(pl_str_eq(t100->from->raw, inv->from->raw));
    assert_true(pl_str_eq(t100->to->raw, inv->to->raw));
    assert_false(t100->to->has_tag);
    assert_true(pl_str_eq(t100->call_id, inv->call_id));
    assert_int_equal(t100->cseq.num, inv->cseq.num);
    assert_str(t100->cseq.method, "INVITE");

    run_to(300);
    assert_int_equal(cl_send(inv), PL_OK); /* retransmission: the 100 again */
    EXPECT_TIMES(&F.sv, 200, 300);
    assert_true(same_bytes(sim_nth(&F.sv, 0), sim_nth(&F.sv, 1)));
    assert_int_equal(NEV, 1);
    assert_int_equal(stats(F.ls).absorbed, 1);

    run_to(1000);
    pl_msg *busy = build_resp(pl_txn_request(st), 486, "uas");
    assert_int_equal(respond_msg(st, busy), PL_OK);
    assert_int_equal(pl_txn_state_of(st), PL_TXN_COMPLETED);
    run_to(32999);
    /* G: +500, +1500, +3500, +7500, then every T2 = 4000. */
    EXPECT_TIMES(&F.sv, 200, 300, 1000, 1500, 2500, 4500, 8500, 12500, 16500, 20500, 24500, 28500,
                 32500);
    for (size_t i = 2; i < sim_sent(&F.sv); i++)
        assert_true(pkt_is(sim_nth(&F.sv, i), busy));
    assert_int_equal(ev_count(EV_DONE, SIDE_S), 0);
    run_to(33000);
    assert_int_equal(ev_count(EV_DONE, SIDE_S), 1);
    const ev *d = ev_nth(EV_DONE, SIDE_S, 0);
    assert_ptr_equal(d->txn, st);
    assert_true(d->timed_out);
    assert_int_equal(d->t, 33000);
    assert_int_equal(LIVE(F.ls), 0);
    assert_int_equal(stats(F.ls).retransmissions, 10); /* Timer G's; not the 100 resent at 300 */
    run_to(100000);
    assert_int_equal(sim_sent(&F.sv), 13);
}

/* 17.2.1: a provisional from the user before 200 ms: no 100; the ACK stops G; Timer I = T4. */
static void test_server_inv_180_486_ack(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_SERVER);
    pl_msg *inv = REQ(.method = "INVITE", .branch = "z9hG4bK-inv2");
    assert_int_equal(cl_send(inv), PL_OK);
    pl_txn *st = ev_nth(EV_REQ, SIDE_S, 0)->txn;
    run_to(100);
    pl_msg *ring = build_resp(pl_txn_request(st), 180, "uas");
    assert_int_equal(respond_msg(st, ring), PL_OK);
    run_to(400);
    EXPECT_TIMES(&F.sv, 100); /* no 100 Trying at 200 */
    assert_int_equal(cl_send(inv), PL_OK);
    EXPECT_TIMES(&F.sv, 100, 400);
    assert_true(pkt_is(sim_nth(&F.sv, 1), ring));

    run_to(1000);
    pl_msg *busy = build_resp(pl_txn_request(st), 486, "uas");
    assert_int_equal(respond_msg(st, busy), PL_OK);
    run_to(2600);
    assert_int_equal(cl_send(inv), PL_OK); /* retransmission in Completed: the 486 again */
    EXPECT_TIMES(&F.sv, 100, 400, 1000, 1500, 2500, 2600);
    assert_true(pkt_is(sim_nth(&F.sv, 5), busy));

    run_to(3000);
    pl_msg *ack = REQ(.method = "ACK", .branch = "z9hG4bK-inv2", .to_tag = "uas");
    assert_int_equal(cl_send(ack), PL_OK);
    assert_int_equal(pl_txn_state_of(st), PL_TXN_CONFIRMED);
    assert_int_equal(ev_count(EV_STRAY, SIDE_S), 0);
    run_to(4000);
    assert_int_equal(cl_send(ack), PL_OK); /* absorbed in Confirmed */
    assert_int_equal(ev_count(EV_STRAY, SIDE_S), 0);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 1);
    run_to(7999);
    assert_int_equal(ev_count(EV_DONE, SIDE_S), 0);
    assert_int_equal(LIVE(F.ls), 1);
    run_to(8000);
    assert_int_equal(ev_count(EV_DONE, SIDE_S), 1);
    assert_false(ev_nth(EV_DONE, SIDE_S, 0)->timed_out);
    assert_int_equal(LIVE(F.ls), 0);
    run_to(60000);
    EXPECT_TIMES(&F.sv, 100, 400, 1000, 1500, 2500, 2600);
}

/* 17.2.1: T1 = 100: G at +100, +300, +700, +1500, +3100, +6300; H at +6400. */
static void test_server_inv_timer_g_t1_100(void **state)
{
    (void)state;
    start(PL_TP_UDP, 100, false, WITH_SERVER);
    assert_int_equal(cl_send(REQ(.method = "INVITE")), PL_OK);
    pl_txn *st = ev_nth(EV_REQ, SIDE_S, 0)->txn;
    run_to(1000);
    assert_int_equal(respond(st, 603, "x"), PL_OK);
    run_to(7399);
    EXPECT_TIMES(&F.sv, 200, 1000, 1100, 1300, 1700, 2500, 4100, 7300);
    assert_int_equal(ev_count(EV_DONE, SIDE_S), 0);
    run_to(7400);
    assert_int_equal(ev_count(EV_DONE, SIDE_S), 1);
    assert_true(ev_nth(EV_DONE, SIDE_S, 0)->timed_out);
}

/* 17.2.1 over TCP: no Timer G; Timer I = 0. */
static void test_server_inv_tcp_ack(void **state)
{
    (void)state;
    start(PL_TP_TCP, 0, false, WITH_SERVER);
    assert_int_equal(cl_send(REQ(.method = "INVITE", .branch = "z9hG4bK-t")), PL_OK);
    pl_txn *st = ev_nth(EV_REQ, SIDE_S, 0)->txn;
    run_to(1000);
    assert_int_equal(respond(st, 486, "u"), PL_OK);
    run_to(2000);
    EXPECT_TIMES(&F.sv, 200, 1000);
    assert_int_equal(cl_send(REQ(.method = "ACK", .branch = "z9hG4bK-t", .to_tag = "u")), PL_OK);
    run_to(2001);
    assert_int_equal(ev_count(EV_DONE, SIDE_S), 1);
    assert_false(ev_nth(EV_DONE, SIDE_S, 0)->timed_out);
    assert_true(ev_nth(EV_DONE, SIDE_S, 0)->t <= 2001);
    assert_int_equal(LIVE(F.ls), 0);
    assert_int_equal(ev_count(EV_STRAY, SIDE_S), 0);
}

static void test_server_inv_tcp_timer_h(void **state)
{
    (void)state;
    start(PL_TP_TCP, 0, false, WITH_SERVER);
    assert_int_equal(cl_send(REQ(.method = "INVITE")), PL_OK);
    pl_txn *st = ev_nth(EV_REQ, SIDE_S, 0)->txn;
    run_to(1000);
    assert_int_equal(respond(st, 486, "u"), PL_OK);
    run_to(32999);
    EXPECT_TIMES(&F.sv, 200, 1000);
    assert_int_equal(ev_count(EV_DONE, SIDE_S), 0);
    run_to(33000);
    assert_int_equal(ev_count(EV_DONE, SIDE_S), 1);
    assert_true(ev_nth(EV_DONE, SIDE_S, 0)->timed_out);
    assert_int_equal(LIVE(F.ls), 0);
}

/* RFC 6026 7.1: a 2xx: Accepted absorbs INVITEs, the 2xx ACK is the user's, Timer L. */
static void test_server_inv_2xx_accepted(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_SERVER);
    pl_msg *inv = REQ(.method = "INVITE", .branch = "z9hG4bK-ok");
    assert_int_equal(cl_send(inv), PL_OK);
    pl_txn *st = ev_nth(EV_REQ, SIDE_S, 0)->txn;
    run_to(100);
    pl_msg *ok = build_resp(pl_txn_request(st), 200, "u");
    assert_int_equal(respond_msg(st, ok), PL_OK);
    assert_int_equal(pl_txn_state_of(st), PL_TXN_ACCEPTED);
    run_to(600);
    EXPECT_TIMES(&F.sv, 100);
    assert_int_equal(cl_send(inv), PL_OK);
    EXPECT_TIMES(&F.sv, 100); /* absorbed: the user retransmits its 2xx */
    assert_int_equal(stats(F.ls).absorbed, 1);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 1);

    run_to(700);
    pl_msg *ack = REQ(.method = "ACK", .branch = "z9hG4bK-ack2xx", .to_tag = "u");
    assert_int_equal(cl_send(ack), PL_OK);
    assert_int_equal(ev_count(EV_STRAY, SIDE_S), 1);
    const ev *s = ev_nth(EV_STRAY, SIDE_S, 0);
    assert_true(s->is_request);
    assert_int_equal(s->method, PL_METHOD_ACK);
    assert_int_equal(ev_count(EV_DONE, SIDE_S), 0);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 1);

    /* Even an ACK that reuses the INVITE's branch is the user's in Accepted (17.2.3: only
     * the ACK for a non-2xx matches the INVITE's transaction). */
    pl_msg *ack_same = REQ(.method = "ACK", .branch = "z9hG4bK-ok", .to_tag = "u");
    assert_int_equal(cl_send(ack_same), PL_OK);
    assert_int_equal(ev_count(EV_STRAY, SIDE_S), 2);
    assert_int_equal(ev_nth(EV_STRAY, SIDE_S, 1)->method, PL_METHOD_ACK);
    assert_int_equal(pl_txn_state_of(st), PL_TXN_ACCEPTED);
    assert_int_equal(ev_count(EV_DONE, SIDE_S), 0);

    run_to(1100);
    assert_int_equal(respond_msg(st, ok), PL_OK); /* the user's own 2xx retransmission */
    EXPECT_TIMES(&F.sv, 100, 1100);
    assert_null(pl_txn_request(st)); /* Accepted: the request copy is gone */
    assert_int_equal(respond_msg(st, build_resp(inv, 486, "u")), PL_EINVAL);

    run_to(32099);
    assert_int_equal(LIVE(F.ls), 1);
    run_to(32100);
    assert_int_equal(LIVE(F.ls), 0);
    assert_int_equal(ev_count(EV_DONE, SIDE_S), 1);
    assert_false(ev_nth(EV_DONE, SIDE_S, 0)->timed_out);
    run_to(60000);
    EXPECT_TIMES(&F.sv, 100, 1100);
}

/* ================================================================== CANCEL */

/* RFC 3261 9.2: a CANCEL matches the INVITE by its top Via branch. */
static void test_cancel_matches_invite(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_SERVER);
    assert_int_equal(cl_send(REQ(.method = "INVITE", .branch = "z9hG4bK-c")), PL_OK);
    pl_txn *inv = ev_nth(EV_REQ, SIDE_S, 0)->txn;
    run_to(300);
    pl_msg *cancel = REQ(.method = "CANCEL", .branch = "z9hG4bK-c");
    assert_int_equal(cl_send(cancel), PL_OK);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 2);
    const ev *e = ev_nth(EV_REQ, SIDE_S, 1);
    assert_int_equal(e->method, PL_METHOD_CANCEL);
    assert_non_null(e->txn);
    assert_ptr_not_equal(e->txn, inv);
    assert_ptr_equal(e->cancelled, inv);
    pl_txn *ct = e->txn;
    assert_int_equal(pl_txn_kind_of(ct), PL_TXN_SERVER_NON_INVITE);
    assert_ptr_equal(pl_txn_cancelled(ct), inv);
    assert_int_equal(pl_txn_state_of(inv), PL_TXN_PROCEEDING);

    assert_int_equal(respond(ct, 200, "u"), PL_OK);
    assert_int_equal(respond(inv, 487, "u"), PL_OK);
    EXPECT_TIMES(&F.sv, 200, 300, 300);
    pl_msg *r1 = sim_parse(sim_nth(&F.sv, 1));
    pl_msg *r2 = sim_parse(sim_nth(&F.sv, 2));
    assert_int_equal(r1->status, 200);
    assert_str(r1->cseq.method, "CANCEL");
    assert_int_equal(r2->status, 487);
    assert_str(r2->cseq.method, "INVITE");

    /* A retransmitted CANCEL gets its 200 again, not another on_request. */
    run_to(400);
    assert_int_equal(cl_send(cancel), PL_OK);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 2);
    assert_int_equal(sim_sent(&F.sv), 4);
    assert_true(same_bytes(sim_nth(&F.sv, 1), sim_nth(&F.sv, 3)));
}

/* 9.2 and txn.h: a CANCEL that matches nothing is answered 481 by the layer;
 * on_request gets its transaction with pl_txn_cancelled() == NULL. */
static void test_cancel_matches_nothing(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_SERVER);
    assert_int_equal(cl_send(REQ(.method = "CANCEL", .branch = "z9hG4bK-none")), PL_OK);
    EXPECT_TIMES(&F.sv, 0);
    pl_msg *r = sim_parse(sim_nth(&F.sv, 0));
    assert_int_equal(r->status, 481);
    assert_str(r->cseq.method, "CANCEL");
    assert_str(r->via->branch, "z9hG4bK-none");
    assert_true(pl_target_eq(&sim_nth(&F.sv, 0)->dst, &F.cl.self));

    /* txn.h, pl_txn_request_cb: an unmatched CANCEL is the layer's alone:
     * answered 481 and not reported. A retransmission of it gets the 481
     * again from its transaction. */
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 0);
    assert_int_equal(cl_send(REQ(.method = "CANCEL", .branch = "z9hG4bK-none")), PL_OK);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 0);
    assert_int_equal(sim_sent(&F.sv), 2);
    assert_int_equal(sim_parse(sim_nth(&F.sv, 1))->status, 481);
}

/* ================================================================== matching */

/* 17.1.3: branch and CSeq method must both match. */
static void test_response_matching(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_CLIENT);
    assert_int_equal(client_start(REQ(.method = "OPTIONS", .branch = "z9hG4bK-m1"), NULL, NULL),
                     PL_OK);
    /* Another branch. */
    pl_msg *other = REQ(.method = "OPTIONS", .branch = "z9hG4bK-m2");
    assert_int_equal(sim_inject(&F.sv, F.lc, build_resp(other, 200, "x")), PL_OK);
    /* The same branch, another CSeq method. */
    pl_msg *inv = REQ(.method = "INVITE", .branch = "z9hG4bK-m1");
    assert_int_equal(sim_inject(&F.sv, F.lc, build_resp(inv, 200, "x")), PL_OK);
    assert_int_equal(ev_count(EV_RESP, SIDE_C), 0);
    assert_int_equal(ev_count(EV_STRAY, SIDE_C), 2);
    assert_int_equal(ev_nth(EV_STRAY, SIDE_C, 0)->status, 200);
    assert_int_equal(ev_nth(EV_STRAY, SIDE_C, 1)->method, PL_METHOD_INVITE);
    /* The right one. */
    assert_int_equal(srv_reply(200, "x"), PL_OK);
    assert_int_equal(ev_count(EV_RESP, SIDE_C), 1);
    expect_resp(0, 0, 200, true);
    assert_true(ev_nth(EV_RESP, SIDE_C, 0)->same_dialog_ids);
}

/* 17.2.3: branch, sent-by and method; ACK matches the INVITE. */
static void test_request_matching_3261(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_SERVER);
    assert_int_equal(cl_send(REQ(.method = "OPTIONS", .branch = "z9hG4bK-q")), PL_OK);
    assert_int_equal(cl_send(REQ(.method = "OPTIONS", .branch = "z9hG4bK-q")), PL_OK);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 1);
    /* Same branch, another method: another transaction. */
    assert_int_equal(cl_send(REQ(.method = "INFO", .branch = "z9hG4bK-q")), PL_OK);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 2);
    /* Same branch and method, another sent-by: another transaction. */
    assert_int_equal(
        cl_send(REQ(.method = "OPTIONS", .branch = "z9hG4bK-q", .sent_by = "10.0.0.1:5062")),
        PL_OK);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 3);
    assert_int_equal(stats(F.ls).absorbed, 1);
    assert_int_equal(LIVE(F.ls), 3);
}

/* 17.2.3: RFC 2543 requests match by Request-URI, From tag, Call-ID, CSeq and top Via. */
static void test_request_matching_2543(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_SERVER);
    pl_msg *req = REQ(.method = "OPTIONS", .branch = "old2543branch");
    assert_int_equal(cl_send(req), PL_OK);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 1);
    pl_txn *st = ev_nth(EV_REQ, SIDE_S, 0)->txn;
    run_to(500);
    assert_int_equal(cl_send(req), PL_OK);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 1);
    assert_int_equal(stats(F.ls).absorbed, 1);
    /* Another CSeq: a new request. */
    assert_int_equal(cl_send(REQ(.method = "OPTIONS", .branch = "old2543branch", .cseq = 2)),
                     PL_OK);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 2);
    /* Another top Via: a new request. */
    assert_int_equal(cl_send(REQ(.method = "OPTIONS", .branch = "old2543other")), PL_OK);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 3);
    /* The first answered; its retransmission gets the answer again. */
    assert_int_equal(respond(st, 200, "u"), PL_OK);
    run_to(600);
    assert_int_equal(cl_send(req), PL_OK);
    EXPECT_TIMES(&F.sv, 500, 600);
    assert_true(same_bytes(sim_nth(&F.sv, 0), sim_nth(&F.sv, 1)));
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 3);

    /* No branch at all. */
    pl_msg *nb = REQ(.method = "OPTIONS", .call_id = "nobranch@x");
    int32_t vi = pl_msg_hdr_find(nb, PL_HDR_VIA, 0);
    assert_true(vi >= 0);
    assert_int_equal(pl_msg_hdr_replace(nb, (uint32_t)vi, PL_STR_LIT("SIP/2.0/UDP 10.0.0.1:5060")),
                     PL_OK);
    assert_false(nb->via->has_branch);
    assert_int_equal(cl_send(nb), PL_OK);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 4);
    assert_int_equal(cl_send(nb), PL_OK);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 4);
    assert_int_equal(stats(F.ls).absorbed, 3);
}

/* ================================================================== merged requests */

/* 8.2.2.2: no To tag, same From tag, Call-ID and CSeq, another branch: 482. */
static void test_merged_requests(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, true, WITH_SERVER);
    pl_msg *a = REQ(.method = "OPTIONS", .branch = "z9hG4bK-p1");
    assert_int_equal(cl_send(a), PL_OK);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 1);
    pl_txn *st = ev_nth(EV_REQ, SIDE_S, 0)->txn;
    assert_int_equal(cl_send(REQ(.method = "OPTIONS", .branch = "z9hG4bK-p2")), PL_OK);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 1);
    EXPECT_TIMES(&F.sv, 0);
    pl_msg *r = sim_parse(sim_nth(&F.sv, 0));
    assert_int_equal(r->status, 482);
    assert_str(r->via->branch, "z9hG4bK-p2");
    assert_true(pl_target_eq(&sim_nth(&F.sv, 0)->dst, &F.cl.self));
    /* A retransmission of the first is not merged, just absorbed. */
    assert_int_equal(cl_send(a), PL_OK);
    assert_int_equal(sim_sent(&F.sv), 1);
    assert_int_equal(stats(F.ls).absorbed, 1);
    /* With a To tag the rule does not apply. */
    assert_int_equal(cl_send(REQ(.method = "OPTIONS", .branch = "z9hG4bK-p3", .to_tag = "tt")),
                     PL_OK);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 2);
    /* Another CSeq is another request. */
    assert_int_equal(cl_send(REQ(.method = "OPTIONS", .branch = "z9hG4bK-p5", .cseq = 2)), PL_OK);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 3);
    /* An INVITE, too. */
    assert_int_equal(cl_send(REQ(.method = "INVITE", .branch = "z9hG4bK-i1", .cseq = 7)), PL_OK);
    assert_int_equal(cl_send(REQ(.method = "INVITE", .branch = "z9hG4bK-i2", .cseq = 7)), PL_OK);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 4);
    assert_int_equal(sim_sent(&F.sv), 2);
    assert_int_equal(sim_parse(sim_nth(&F.sv, 1))->status, 482);

    /* Once the first transaction is gone, the same request is new again. */
    assert_int_equal(respond(st, 200, "u"), PL_OK);
    run_to(32001);
    assert_int_equal(LIVE(F.ls), 1); /* the other OPTIONS ended too; the INVITE waits */
    assert_int_equal(cl_send(REQ(.method = "OPTIONS", .branch = "z9hG4bK-p4")), PL_OK);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 5);
}

static void test_merged_detection_off(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_SERVER);
    assert_int_equal(cl_send(REQ(.method = "OPTIONS", .branch = "z9hG4bK-p1")), PL_OK);
    assert_int_equal(cl_send(REQ(.method = "OPTIONS", .branch = "z9hG4bK-p2")), PL_OK);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 2);
    EXPECT_NO_SENDS(&F.sv);
}

/* ================================================================== transport errors */

/* 8.1.3.1: a refused send is a 503 - on the next tick, not inside client_start. */
static void test_transport_error_on_start(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_CLIENT);
    F.cl.fail_all = true;
    pl_txn *ct = NULL;
    assert_int_equal(client_start(REQ(.method = "OPTIONS"), &ct, &side_s), PL_OK);
    assert_int_equal(NEV, 0);
    assert_int_equal(sim_attempts(&F.cl), 1);
    run_to(1);
    assert_int_equal(NEV, 1);
    expect_resp(0, 1, 503, true);
    assert_ptr_equal(EV[0].txn, ct);
    assert_ptr_equal(EV[0].arg, &side_s);
    assert_true(EV[0].same_dialog_ids);
    assert_int_equal(LIVE(F.lc), 0);
    assert_true(stats(F.lc).transport_errors >= 1);
    run_to(40000);
    assert_int_equal(NEV, 1);
    assert_int_equal(sim_attempts(&F.cl), 1);
}

static void test_transport_error_on_start_invite_tcp(void **state)
{
    (void)state;
    start(PL_TP_TCP, 0, false, WITH_CLIENT);
    F.cl.fail_all = true;
    assert_int_equal(client_start(REQ(.method = "INVITE"), NULL, NULL), PL_OK);
    assert_int_equal(NEV, 0);
    run_to(1);
    assert_int_equal(NEV, 1);
    expect_resp(0, 1, 503, true);
    assert_int_equal(LIVE(F.lc), 0);
    run_to(40000);
    assert_int_equal(NEV, 1);
}

/* pl_sender: a retransmission refused is a 503 too. */
static void test_transport_error_on_retransmission(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_CLIENT);
    assert_int_equal(client_start(REQ(.method = "INVITE"), NULL, NULL), PL_OK);
    F.cl.fail_next = 1;
    run_to(499);
    assert_int_equal(NEV, 0);
    run_to(500);
    assert_int_equal(NEV, 1);
    expect_resp(0, 500, 503, true);
    run_to(501);
    assert_int_equal(LIVE(F.lc), 0);
    run_to(40000);
    assert_int_equal(NEV, 1);
    assert_int_equal(sim_attempts(&F.cl), 2);
}

/* pl_txn_transport_error: every unanswered client transaction to dst gets a 503 on the next tick.
 */
static void test_transport_error_report(void **state)
{
    (void)state;
    start(PL_TP_TCP, 0, false, WITH_CLIENT);
    pl_txn *a, *b, *c;
    assert_int_equal(client_start(REQ(.method = "INVITE", .branch = "z9hG4bK-a"), &a, NULL), PL_OK);
    assert_int_equal(client_start(REQ(.method = "OPTIONS", .branch = "z9hG4bK-b"), &b, NULL),
                     PL_OK);
    pl_target elsewhere;
    assert_int_equal(pl_target_parse(&elsewhere, "tcp:10.0.0.3:5060"), PL_OK);
    IN_CALL++;
    int rc = pl_txn_client_start(F.lc, REQ(.method = "OPTIONS", .branch = "z9hG4bK-c"), &elsewhere,
                                 on_resp, NULL, &c);
    IN_CALL--;
    assert_int_equal(rc, PL_OK);
    pl_txn *d;
    assert_int_equal(client_start(REQ(.method = "INVITE", .branch = "z9hG4bK-d"), &d, NULL), PL_OK);
    pl_msg *dreq = sim_parse(sim_last(&F.cl));
    run_to(500);
    assert_int_equal(sim_inject(&F.sv, F.lc, build_resp(dreq, 200, "d")), PL_OK); /* d: Accepted */
    assert_int_equal(NEV, 1);
    run_to(1000);
    IN_CALL++;
    pl_txn_transport_error(F.lc, &F.sv.self);
    IN_CALL--;
    assert_int_equal(NEV, 1);
    run_to(1001);
    assert_int_equal(NEV, 3);
    expect_resp(1, 1001, 503, true);
    expect_resp(2, 1001, 503, true);
    const ev *e1 = ev_nth(EV_RESP, SIDE_C, 1), *e2 = ev_nth(EV_RESP, SIDE_C, 2);
    assert_true((e1->txn == a && e2->txn == b) || (e1->txn == b && e2->txn == a));
    assert_int_equal(LIVE(F.lc), 2); /* the one to 10.0.0.3, and d in Accepted */
    run_to(32000);
    assert_int_equal(NEV, 4);
    expect_resp(3, 32000, 408, true);
    assert_ptr_equal(ev_nth(EV_RESP, SIDE_C, 3)->txn, c);
    run_to(32500);
    assert_int_equal(LIVE(F.lc), 0); /* d ended by Timer M, silently */
    assert_int_equal(NEV, 4);
}

/* A final response that arrives between the failure report and the tick
 * that delivers its 503 wins: no 503, and (an INVITE now Accepted, its
 * request copy gone) nothing touches what is no longer there. */
static void test_transport_error_then_final(void **state)
{
    (void)state;
    start(PL_TP_TCP, 0, false, WITH_CLIENT);
    pl_txn *a, *b;
    assert_int_equal(client_start(REQ(.method = "INVITE", .branch = "z9hG4bK-ea"), &a, NULL),
                     PL_OK);
    pl_msg *areq = sim_parse(sim_last(&F.cl));
    assert_int_equal(client_start(REQ(.method = "OPTIONS", .branch = "z9hG4bK-eb"), &b, NULL),
                     PL_OK);
    pl_msg *breq = sim_parse(sim_last(&F.cl));
    run_to(500);
    IN_CALL++;
    pl_txn_transport_error(F.lc, &F.sv.self);
    IN_CALL--;
    assert_int_equal(sim_inject(&F.sv, F.lc, build_resp(areq, 200, "a")), PL_OK);
    assert_int_equal(sim_inject(&F.sv, F.lc, build_resp(breq, 404, "b")), PL_OK);
    assert_int_equal(NEV, 2);
    expect_resp(0, 500, 200, true);
    expect_resp(1, 500, 404, true);
    run_to(501);
    assert_int_equal(NEV, 2); /* no 503 after them */
    run_to(40000);
    assert_int_equal(NEV, 2);
    assert_int_equal(LIVE(F.lc), 0);
}

/* ================================================================== bad input */

static int inject_text(const char *text)
{
    size_t n;
    char *b = tu_crlf(text, &n);
    return sim_inject_raw(&F.cl, F.ls, b, n);
}

static void test_bad_input(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_SERVER);
    uint64_t n = 0;

    assert_int_not_equal(sim_inject_raw(&F.cl, F.ls, "", 0), PL_OK);
    n++;
    assert_int_not_equal(inject_text("this is not SIP\n\n"), PL_OK);
    n++;
    static const unsigned char bin[] = {0x00, 0xff, 0x10, 0x80, 'S', 'I', 'P', 0x0d, 0x0a};
    assert_int_not_equal(sim_inject_raw(&F.cl, F.ls, (const char *)bin, sizeof(bin)), PL_OK);
    n++;
    /* Truncated in the headers. */
    size_t len;
    char *wire = sim_print(REQ(.method = "INVITE"), &len);
    for (size_t cut = 1; cut < len - 4; cut += 37) {
        assert_int_not_equal(sim_inject_raw(&F.cl, F.ls, wire, cut), PL_OK);
        n++;
    }
    /* Truncated in the body: fewer bytes than Content-Length. */
    wire = sim_print(REQ(.method = "INVITE", .ctype = "application/sdp",
                         .body = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n"),
                     &len);
    assert_int_not_equal(sim_inject_raw(&F.cl, F.ls, wire, len - 5), PL_OK);
    n++;
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 0);
    assert_int_equal(stats(F.ls).bad, n);
    size_t answered = sim_sent(&F.sv);

    /* SIP/3.0: 505. */
    assert_int_not_equal(inject_text("OPTIONS sip:bob@10.0.0.2 SIP/3.0\n"
                                     "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-v3\n"
                                     "Max-Forwards: 70\n"
                                     "From: <sip:alice@10.0.0.1>;tag=f\n"
                                     "To: <sip:bob@10.0.0.2>\n"
                                     "Call-ID: v3@10.0.0.1\n"
                                     "CSeq: 1 OPTIONS\n"
                                     "Content-Length: 0\n\n"),
                         PL_OK);
    n++;
    assert_int_equal(sim_sent(&F.sv), answered + 1);
    pl_msg *r = sim_parse(sim_last(&F.sv));
    assert_int_equal(r->status, 505);
    assert_str(r->via->branch, "z9hG4bK-v3");
    assert_true(pl_target_eq(&sim_last(&F.sv)->dst, &F.cl.self));

    /* No Call-ID: 400. */
    assert_int_not_equal(inject_text("OPTIONS sip:bob@10.0.0.2 SIP/2.0\n"
                                     "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-nc\n"
                                     "Max-Forwards: 70\n"
                                     "From: <sip:alice@10.0.0.1>;tag=f\n"
                                     "To: <sip:bob@10.0.0.2>\n"
                                     "CSeq: 1 OPTIONS\n"
                                     "Content-Length: 0\n\n"),
                         PL_OK);
    n++;
    assert_int_equal(sim_sent(&F.sv), answered + 2);
    r = sim_parse(sim_last(&F.sv));
    assert_int_equal(r->status, 400);
    assert_str(r->via->branch, "z9hG4bK-nc");

    /* An unsupported URI scheme: 416. */
    assert_int_not_equal(inject_text("OPTIONS http://example.com/ SIP/2.0\n"
                                     "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-416\n"
                                     "Max-Forwards: 70\n"
                                     "From: <sip:alice@10.0.0.1>;tag=f\n"
                                     "To: <sip:bob@10.0.0.2>\n"
                                     "Call-ID: 416@10.0.0.1\n"
                                     "CSeq: 1 OPTIONS\n"
                                     "Content-Length: 0\n\n"),
                         PL_OK);
    n++;
    assert_int_equal(sim_sent(&F.sv), answered + 3);
    assert_int_equal(sim_parse(sim_last(&F.sv))->status, 416);

    /* An ACK that fails the check: never answered. */
    assert_int_not_equal(inject_text("ACK sip:bob@10.0.0.2 SIP/2.0\n"
                                     "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-ack\n"
                                     "Max-Forwards: 70\n"
                                     "From: <sip:alice@10.0.0.1>;tag=f\n"
                                     "To: <sip:bob@10.0.0.2>;tag=t\n"
                                     "CSeq: 1 ACK\n"
                                     "Content-Length: 0\n\n"),
                         PL_OK);
    n++;
    assert_int_not_equal(inject_text("ACK sip:bob@10.0.0.2 SIP/3.0\n"
                                     "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-ack3\n"
                                     "Max-Forwards: 70\n"
                                     "From: <sip:alice@10.0.0.1>;tag=f\n"
                                     "To: <sip:bob@10.0.0.2>;tag=t\n"
                                     "Call-ID: a3@10.0.0.1\n"
                                     "CSeq: 1 ACK\n"
                                     "Content-Length: 0\n\n"),
                         PL_OK);
    n++;
    assert_int_equal(sim_sent(&F.sv), answered + 3);

    /* Responses that do not parse or fail the check: dropped, never strays. */
    assert_int_not_equal(inject_text("SIP/2.0 2000 OK\n"
                                     "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-r\n"
                                     "From: <sip:alice@10.0.0.1>;tag=f\n"
                                     "To: <sip:bob@10.0.0.2>;tag=t\n"
                                     "Call-ID: r@10.0.0.1\n"
                                     "CSeq: 1 OPTIONS\n"
                                     "Content-Length: 0\n\n"),
                         PL_OK);
    n++;
    assert_int_not_equal(inject_text("SIP/2.0 200 OK\n"
                                     "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-r\n"
                                     "From: <sip:alice@10.0.0.1>;tag=f\n"
                                     "To: <sip:bob@10.0.0.2>;tag=t\n"
                                     "CSeq: 1 OPTIONS\n"
                                     "Content-Length: 0\n\n"),
                         PL_OK);
    n++;
    assert_int_not_equal(inject_text("SIP/2.0 200 OK\n"
                                     "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-r\n"
                                     "From: <sip:alice@10.0.0.1>;tag=f\n"
                                     "To: <sip:bob@10.0.0.2>;tag=t\n"
                                     "Call-ID: r@10.0.0.1\n"
                                     "CSeq: 1 OPTIONS\n"
                                     "Content-Length: 50\n\nshort"),
                         PL_OK);
    n++;
    assert_int_equal(sim_sent(&F.sv), answered + 3);

    assert_int_equal(NEV, 0);
    pl_txn_stats s = stats(F.ls);
    assert_int_equal(s.bad, n);
    assert_int_equal(s.received, n);
    assert_int_equal(s.live, 0);

    run_to(100000);
    assert_int_equal(NEV, 0);
    assert_int_equal(LIVE(F.ls), 0);
}

/* ================================================================== configuration */

/* Table 4 values are configurable: T1 = 100, T2 = 400, T4 = 1000. */
static void test_custom_timers_client(void **state)
{
    (void)state;
    TIMERS.t1 = 100;
    TIMERS.t2 = 400;
    TIMERS.t4 = 1000;
    start(PL_TP_UDP, 0, false, WITH_CLIENT);
    assert_int_equal(client_start(REQ(.method = "OPTIONS", .branch = "z9hG4bK-n1"), NULL, NULL),
                     PL_OK);
    run_to(6399);
    EXPECT_TIMES(&F.cl, 0, 100, 300, 700, 1100, 1500, 1900, 2300, 2700, 3100, 3500, 3900, 4300,
                 4700, 5100, 5500, 5900, 6300);
    assert_int_equal(NEV, 0);
    run_to(6400);
    expect_resp(0, 6400, 408, true);

    /* Timer K = T4 = 1000. */
    assert_int_equal(client_start(REQ(.method = "OPTIONS", .branch = "z9hG4bK-n2"), NULL, NULL),
                     PL_OK);
    pl_msg *req = sim_parse(sim_last(&F.cl));
    run_to(7000);
    assert_int_equal(sim_inject(&F.sv, F.lc, build_resp(req, 200, "k")), PL_OK);
    expect_resp(1, 7000, 200, true);
    run_to(7999);
    assert_int_equal(LIVE(F.lc), 1);
    run_to(8000);
    assert_int_equal(LIVE(F.lc), 0);
}

/* trying_ms = 50; Timer G capped at T2 = 400; Timer I = T4 = 1000. */
static void test_custom_timers_server(void **state)
{
    (void)state;
    TIMERS.t1 = 100;
    TIMERS.t2 = 400;
    TIMERS.t4 = 1000;
    TIMERS.trying_ms = 50;
    start(PL_TP_UDP, 0, false, WITH_SERVER);
    assert_int_equal(cl_send(REQ(.method = "INVITE", .branch = "z9hG4bK-g")), PL_OK);
    pl_txn *st = ev_nth(EV_REQ, SIDE_S, 0)->txn;
    run_to(49);
    EXPECT_NO_SENDS(&F.sv);
    run_to(1000);
    assert_int_equal(respond(st, 480, "g"), PL_OK);
    run_to(2500);
    EXPECT_TIMES(&F.sv, 50, 1000, 1100, 1300, 1700, 2100, 2500);
    assert_int_equal(cl_send(REQ(.method = "ACK", .branch = "z9hG4bK-g", .to_tag = "g")), PL_OK);
    run_to(3499);
    assert_int_equal(ev_count(EV_DONE, SIDE_S), 0);
    run_to(3500);
    assert_int_equal(ev_count(EV_DONE, SIDE_S), 1);
    assert_false(ev_nth(EV_DONE, SIDE_S, 0)->timed_out);
    EXPECT_TIMES(&F.sv, 50, 1000, 1100, 1300, 1700, 2100, 2500);
}

/* txn.h invite_answer_ms: a silent user gets a 408 from the layer, which then runs as Completed. */
static void test_invite_answer_timeout(void **state)
{
    (void)state;
    TIMERS.invite_answer_ms = 5000;
    start(PL_TP_UDP, 0, false, WITH_SERVER);
    pl_msg *inv = REQ(.method = "INVITE", .branch = "z9hG4bK-ia");
    assert_int_equal(cl_send(inv), PL_OK);
    run_to(4999);
    EXPECT_TIMES(&F.sv, 200);
    run_to(5000);
    EXPECT_TIMES(&F.sv, 200, 5000);
    pl_msg *r = sim_parse(sim_nth(&F.sv, 1));
    assert_int_equal(r->status, 408);
    assert_true(r->to->has_tag);
    assert_true(pl_str_eq(r->call_id, inv->call_id));
    run_to(6600);
    EXPECT_TIMES(&F.sv, 200, 5000, 5500, 6500);
    pl_msg *ack = REQ(.method = "ACK", .branch = "z9hG4bK-ia");
    int32_t ti = pl_msg_hdr_find(ack, PL_HDR_TO, 0);
    char to[128];
    snprintf(to, sizeof(to), "<sip:bob@10.0.0.2>;tag=%.*s", (int)r->to->tag.len, r->to->tag.p);
    assert_int_equal(pl_msg_hdr_replace(ack, (uint32_t)ti, pl_str_c(to)), PL_OK);
    assert_int_equal(cl_send(ack), PL_OK);
    run_to(11599);
    assert_int_equal(ev_count(EV_DONE, SIDE_S), 0);
    run_to(11600);
    assert_int_equal(ev_count(EV_DONE, SIDE_S), 1);
    EXPECT_TIMES(&F.sv, 200, 5000, 5500, 6500);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 1);
}

/* RFC 3261 18.2.1/18.2.2, RFC 3581: received and rport stamped; the response goes back accordingly.
 */
static void test_response_routing(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_SERVER);
    sim_ep nat;
    sim_ep_init(&nat, &F.wheel, "udp:192.0.2.77:40000");
    /* sent-by is not the source: received=, and the sent-by port. */
    pl_msg *a =
        REQ(.method = "OPTIONS", .branch = "z9hG4bK-r1", .sent_by = "client.example.com:5070");
    assert_int_equal(sim_inject(&nat, F.ls, a), PL_OK);
    pl_txn *st = ev_nth(EV_REQ, SIDE_S, 0)->txn;
    assert_int_equal(respond(st, 200, "r"), PL_OK);
    const sim_pkt *p = sim_last(&F.sv);
    pl_target want;
    assert_int_equal(pl_target_parse(&want, "udp:192.0.2.77:5070"), PL_OK);
    assert_true(pl_target_eq(&p->dst, &want));
    pl_msg *r = sim_parse(p);
    assert_true(r->via->has_received);
    assert_str(r->via->received, "192.0.2.77");
    assert_str(r->via->branch, "z9hG4bK-r1");
    /* An empty rport: rport=<source port>, and the response goes to the source port. */
    pl_msg *b = REQ(.method = "OPTIONS", .branch = "z9hG4bK-r2;rport", .sent_by = "10.9.9.9");
    assert_true(b->via->has_rport);
    assert_int_equal(sim_inject(&nat, F.ls, b), PL_OK);
    st = ev_nth(EV_REQ, SIDE_S, 1)->txn;
    assert_int_equal(respond(st, 200, "r"), PL_OK);
    p = sim_last(&F.sv);
    assert_int_equal(pl_target_parse(&want, "udp:192.0.2.77:40000"), PL_OK);
    assert_true(pl_target_eq(&p->dst, &want));
    r = sim_parse(p);
    assert_str(r->via->rport_value, "40000");
    assert_str(r->via->received, "192.0.2.77");
    /* A retransmission of the stamped request still matches its transaction. */
    assert_int_equal(sim_inject(&nat, F.ls, b), PL_OK);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 2);
    assert_int_equal(sim_sent(&F.sv), 3);
    sim_ep_free(&nat);
}

/* 17.2.3: an RFC 2543 ACK matches the INVITE it acknowledges (same top Via, no branch). */
static void test_rfc2543_invite_ack(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_SERVER);
    pl_msg *inv = REQ(.method = "INVITE", .branch = "old-inv");
    assert_int_equal(cl_send(inv), PL_OK);
    pl_txn *st = ev_nth(EV_REQ, SIDE_S, 0)->txn;
    assert_int_equal(respond(st, 486, "b"), PL_OK);
    run_to(100);
    assert_int_equal(cl_send(REQ(.method = "ACK", .branch = "old-inv", .to_tag = "b")), PL_OK);
    assert_int_equal(pl_txn_state_of(st), PL_TXN_CONFIRMED);
    assert_int_equal(ev_count(EV_STRAY, SIDE_S), 0);
    run_to(10000);
    EXPECT_TIMES(&F.sv, 0);
    assert_int_equal(ev_count(EV_DONE, SIDE_S), 1);
    assert_int_equal(ev_nth(EV_DONE, SIDE_S, 0)->t, 5100);
}

/* txn.h: pl_txn_respond answers server transactions only; an INVITE retransmitted
 * before any response gets nothing yet (17.2.1: there is no provisional to resend). */
static void test_respond_misuse(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_CLIENT | WITH_SERVER);
    pl_txn *ct;
    pl_msg *req = REQ(.method = "INVITE", .branch = "z9hG4bK-mu");
    assert_int_equal(client_start(req, &ct, NULL), PL_OK);
    assert_int_equal(respond_msg(ct, build_resp(req, 200, "x")), PL_EINVAL);
    assert_int_equal(respond_msg(ct, req), PL_EINVAL);
    run_to(1);
    pl_txn *st = ev_nth(EV_REQ, SIDE_S, 0)->txn;
    assert_int_equal(respond_msg(st, req), PL_EINVAL); /* a request is no response */
    run_to(150);
    assert_int_equal(sim_inject(&F.cl, F.ls, req), PL_OK);
    EXPECT_NO_SENDS(&F.sv);
    run_to(200);
    EXPECT_TIMES(&F.sv, 200);
}

/* ================================================================== two layers */

static bool drop_first_ack(sim_ep *ep, const sim_pkt *p, void *arg)
{
    (void)ep;
    int *left = arg;
    if (*left > 0 && p->len > 4 && memcmp(p->buf, "ACK ", 4) == 0) {
        (*left)--;
        return true;
    }
    return false;
}

/* Loss: the first three transmissions of a request are lost; the fourth at 3500 gets through. */
static void test_loss_client_request(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_CLIENT | WITH_SERVER);
    AUTO[SIDE_S] = 200;
    F.cl.drop_next = 3;
    pl_txn *ct;
    assert_int_equal(client_start(REQ(.method = "OPTIONS"), &ct, NULL), PL_OK);
    run_to(3499);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 0);
    run_to(3500);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 1);
    assert_int_equal(ev_nth(EV_REQ, SIDE_S, 0)->t, 3500);
    assert_int_equal(ev_count(EV_RESP, SIDE_C), 1);
    expect_resp(0, 3500, 200, true);
    assert_string_equal(ev_nth(EV_RESP, SIDE_C, 0)->to_tag, "auto");
    run_to(40000);
    EXPECT_TIMES(&F.cl, 0, 500, 1500, 3500);
    EXPECT_TIMES(&F.sv, 3500);
    assert_int_equal(LIVE(F.lc), 0);
    assert_int_equal(LIVE(F.ls), 0);
    assert_int_equal(ev_count(EV_RESP, SIDE_C), 1);
}

/* Loss: the server's 200 lost twice; the client's retransmissions draw it out again. */
static void test_loss_server_response(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_CLIENT | WITH_SERVER);
    AUTO[SIDE_S] = 200;
    F.sv.drop_next = 2;
    assert_int_equal(client_start(REQ(.method = "OPTIONS"), NULL, NULL), PL_OK);
    run_to(1499);
    assert_int_equal(ev_count(EV_RESP, SIDE_C), 0);
    run_to(1500);
    assert_int_equal(ev_count(EV_RESP, SIDE_C), 1);
    expect_resp(0, 1500, 200, true);
    EXPECT_TIMES(&F.cl, 0, 500, 1500);
    EXPECT_TIMES(&F.sv, 0, 500, 1500);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 1);
    assert_int_equal(stats(F.ls).absorbed, 2);
    run_to(1500 + 5000);
    assert_int_equal(LIVE(F.lc), 0);
    run_to(32000);
    assert_int_equal(LIVE(F.ls), 0);
    assert_int_equal(ev_count(EV_RESP, SIDE_C), 1);
}

/* Loss: the ACK for a 486 lost; Timer G resends the 486 and the client layer ACKs again. */
static void test_loss_ack(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_CLIENT | WITH_SERVER);
    AUTO[SIDE_S] = 486;
    int left = 1;
    F.cl.drop = drop_first_ack;
    F.cl.drop_arg = &left;
    assert_int_equal(client_start(REQ(.method = "INVITE"), NULL, NULL), PL_OK);
    run_to(40000);
    assert_int_equal(ev_count(EV_RESP, SIDE_C), 1);
    expect_resp(0, 0, 486, true);
    EXPECT_TIMES(&F.cl, 0, 0, 500); /* INVITE, ACK (lost), ACK */
    EXPECT_TIMES(&F.sv, 0, 500);
    assert_int_equal(ev_count(EV_DONE, SIDE_S), 1);
    const ev *d = ev_nth(EV_DONE, SIDE_S, 0);
    assert_false(d->timed_out);
    assert_int_equal(d->t, 500 + 5000);
    assert_int_equal(LIVE(F.lc), 0);
    assert_int_equal(LIVE(F.ls), 0);
}

/* ================================================================== freeing */

static bool drop_acks_of(sim_ep *ep, const sim_pkt *p, void *arg)
{
    (void)ep;
    const char *cid = arg;
    return p->len > 4 && memcmp(p->buf, "ACK ", 4) == 0 &&
           memmem(p->buf, p->len, cid, strlen(cid)) != NULL;
}

static pl_txn *server_txn(const char *call_id, pl_method m)
{
    for (size_t i = 0; i < NEV; i++)
        if (EV[i].kind == EV_REQ && EV[i].side == SIDE_S && EV[i].method == m &&
            strcmp(EV[i].call_id, call_id) == 0)
            return EV[i].txn;
    fail_msg("no server transaction for %s", call_id);
    return NULL;
}

/* pl_txn_layer_free with transactions in every state: no callback, nothing leaked, no timer left.
 */
static void test_free_with_live_transactions(void **state)
{
    (void)state;
    start(PL_TP_UDP, 0, false, WITH_CLIENT | WITH_SERVER);
    F.cl.drop = drop_acks_of;
    F.cl.drop_arg = (void *)"c6";
    static const struct {
        const char *method, *cid;
        uint16_t answer;
    } plan[] = {
        {"OPTIONS", "c1", 0},  {"OPTIONS", "c2", 100}, {"OPTIONS", "c3", 200},
        {"INVITE", "c4", 0},   {"INVITE", "c5", 486},  {"INVITE", "c6", 603},
        {"INVITE", "c7", 200}, {"MESSAGE", "c8", 180},
    };
    char br[32];
    for (size_t i = 0; i < sizeof(plan) / sizeof(plan[0]); i++) {
        snprintf(br, sizeof(br), "z9hG4bK-free%zu", i);
        assert_int_equal(
            client_start(REQ(.method = plan[i].method, .branch = br, .call_id = plan[i].cid), NULL,
                         NULL),
            PL_OK);
    }
    run_to(10);
    for (size_t i = 0; i < sizeof(plan) / sizeof(plan[0]); i++) {
        if (!plan[i].answer)
            continue;
        pl_txn *st = server_txn(plan[i].cid, pl_method_from_str(pl_str_c(plan[i].method)));
        assert_int_equal(respond(st, plan[i].answer, "s"), PL_OK);
    }
    run_to(20);
    /* A CANCEL for c4, which stays unanswered. */
    assert_int_equal(
        client_start(REQ(.method = "CANCEL", .branch = "z9hG4bK-free3", .call_id = "c4"), NULL,
                     NULL),
        PL_OK);
    run_to(300);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), 9);
    const ev *ce = ev_nth(EV_REQ, SIDE_S, 8);
    assert_int_equal(ce->method, PL_METHOD_CANCEL);
    assert_ptr_equal(ce->cancelled, server_txn("c4", PL_METHOD_INVITE));
    assert_int_equal(pl_txn_state_of(server_txn("c5", PL_METHOD_INVITE)), PL_TXN_CONFIRMED);
    assert_int_equal(pl_txn_state_of(server_txn("c6", PL_METHOD_INVITE)), PL_TXN_COMPLETED);
    assert_int_equal(pl_txn_state_of(server_txn("c7", PL_METHOD_INVITE)), PL_TXN_ACCEPTED);
    assert_int_equal(LIVE(F.lc), 9);
    assert_int_equal(LIVE(F.ls), 9);

    size_t before = NEV;
    IN_CALL++;
    pl_txn_layer_free(F.lc);
    pl_txn_layer_free(F.ls);
    IN_CALL--;
    F.lc = F.ls = NULL;
    F.cl.layer = F.sv.layer = NULL;
    assert_int_equal(NEV, before);
    assert_int_equal(F.wheel.armed, 0);
    run_to(200000); /* a timer left behind would fire into freed memory */
    assert_int_equal(NEV, before);
}

/* ================================================================== scale */

static bool drop_every_fifth(sim_ep *ep, const sim_pkt *p, void *arg)
{
    (void)ep;
    (void)p;
    unsigned *k = arg;
    return ++*k % 5 == 0;
}

/* A thousand concurrent transactions, with loss: all answered, all end. */
static void test_thousand_transactions(void **state)
{
    (void)state;
    enum { N = 1000 };
    start(PL_TP_UDP, 0, true, WITH_CLIENT | WITH_SERVER); /* two keys per server transaction */
    AUTO[SIDE_S] = 200;
    unsigned k = 0;
    F.cl.drop = drop_every_fifth;
    F.cl.drop_arg = &k;
    static int idx[N];
    char cid[64], br[64];
    for (int i = 0; i < N; i++) {
        idx[i] = i;
        snprintf(cid, sizeof(cid), "bulk-%d@10.0.0.1", i);
        snprintf(br, sizeof(br), "z9hG4bK-bulk-%d", i);
        assert_int_equal(
            client_start(REQ(.method = i % 2 ? "OPTIONS" : "INVITE", .branch = br, .call_id = cid),
                         NULL, &idx[i]),
            PL_OK);
    }
    assert_int_equal(LIVE(F.lc), N);
    run_to(100000);
    static int seen[N];
    memset(seen, 0, sizeof(seen));
    size_t finals = 0;
    for (size_t i = 0; i < NEV; i++) {
        if (EV[i].kind != EV_RESP)
            continue;
        assert_int_equal(EV[i].status, 200);
        assert_true(EV[i].final);
        assert_true(EV[i].same_dialog_ids);
        seen[*(int *)EV[i].arg]++;
        finals++;
    }
    for (int i = 0; i < N; i++)
        if (seen[i] < 1)
            fail_msg("transaction %d never got its 200", i);
    /* One final each: a request is retransmitted only until its answer comes
     * (no delay on this network), so no 2xx is ever drawn out twice. */
    assert_int_equal(finals, N);
    assert_int_equal(ev_count(EV_REQ, SIDE_S), N);
    assert_int_equal(LIVE(F.lc), 0);
    assert_int_equal(LIVE(F.ls), 0);
    assert_int_equal(stats(F.lc).timeouts, 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_client_ni_udp_timeout),
        T(test_client_ni_udp_timeout_t1_100),
        T(test_client_ni_tcp_timeout),
        T(test_client_ni_provisional_then_200),
        T(test_client_ni_provisional_t1_100),
        T(test_client_ni_tcp_200),
        T(test_client_inv_udp_timeout),
        T(test_client_inv_udp_timeout_t1_100),
        T(test_client_inv_tcp_timeout),
        T(test_client_inv_180_then_486),
        T(test_client_inv_486_in_calling),
        T(test_client_inv_tcp_486),
        T(test_client_inv_2xx_accepted),
        T(test_client_inv_2xx_abandoned),
        T(test_transport_error_then_final),
        T(test_client_inv_2xx_timer_m_t1_100),
        T(test_client_abandon),
        T(test_client_start_refuses),
        T(test_user_data_and_stateless),
        T(test_layer_new_refuses),
        T(test_layer_copies_messages),
        T(test_server_ni_udp),
        T(test_server_ni_provisional),
        T(test_server_ni_tcp),
        T(test_server_ni_never_answered),
        T(test_server_inv_trying_and_timer_h),
        T(test_server_inv_180_486_ack),
        T(test_server_inv_timer_g_t1_100),
        T(test_server_inv_tcp_ack),
        T(test_server_inv_tcp_timer_h),
        T(test_server_inv_2xx_accepted),
        T(test_cancel_matches_invite),
        T(test_cancel_matches_nothing),
        T(test_udp_to_tcp_above_mtu),
        T(test_response_matching),
        T(test_request_matching_3261),
        T(test_request_matching_2543),
        T(test_merged_requests),
        T(test_merged_detection_off),
        T(test_transport_error_on_start),
        T(test_transport_error_on_start_invite_tcp),
        T(test_transport_error_on_retransmission),
        T(test_transport_error_report),
        T(test_bad_input),
        T(test_custom_timers_client),
        T(test_custom_timers_server),
        T(test_invite_answer_timeout),
        T(test_response_routing),
        T(test_rfc2543_invite_ack),
        T(test_respond_misuse),
        T(test_loss_client_request),
        T(test_loss_server_response),
        T(test_loss_ack),
        T(test_free_with_live_transactions),
        T(test_thousand_transactions),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
