/*
 * test_ua.c - the user-agent library (parley/ua.h) on a virtual clock and
 * an in-memory network (simnet.h): two UAs, A (10.0.0.1) and B (10.0.0.2),
 * or A and a scripted server S (a bare transaction layer at 10.0.0.2) that
 * challenges, redirects or answers as a test needs.
 *
 * Every callback is recorded as an event with the wheel time; IN_CALL
 * counts callbacks made from inside an API call, which the contract
 * forbids.
 */
#include "testutil.h"
#include "simnet.h"

#include <parley/auth.h>
#include <parley/ua.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ events */

typedef enum ev_kind { EV_SUCCESS = 1, EV_FAILURE, EV_PROV, EV_REQUEST, EV_CANCELLED } ev_kind;

typedef struct ev {
    ev_kind kind;
    char side; /* 'A' or 'B' */
    uint64_t t;
    uint16_t status;
    uint64_t handle;
    void *app;
    char method[24];
    char reason[64];
    char hdrs[2048]; /* the whole message, for header checks */
} ev;

#define MAX_EV 20000
static ev EV[MAX_EV];
static size_t NEV;
static int IN_CALL, VIOLATIONS;
static int APP_FREES;

static struct {
    pl_wheel wheel;
    sim_ep a, b;
    pl_ua *ua_a, *ua_b;
    pl_ua_profile *pa, *pb;
    pl_txn_layer *srv; /* the scripted server, when a test uses one */
} F;

/* What B's handlers do with a request. */
static struct {
    int mode; /* 0 accept, 1 reject 486, 2 silent, 3 provisional then accept, 4 answer options */
    uint16_t code;
} B_DO;

static void copy(char *dst, size_t cap, pl_str s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    if (n)
        memcpy(dst, s.p, n);
    dst[n] = '\0';
}

static ev *new_ev(ev_kind k, char side, const pl_msg *m)
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
    if (m) {
        e->status = m->status;
        copy(e->method, sizeof(e->method), m->is_request ? m->method : m->cseq.method);
        copy(e->reason, sizeof(e->reason), m->reason);
        copy(e->hdrs, sizeof(e->hdrs), (pl_str){m->buf, m->len});
    }
    return e;
}

static size_t count(ev_kind k, char side)
{
    size_t n = 0;
    for (size_t i = 0; i < NEV; i++)
        n += EV[i].kind == k && EV[i].side == side;
    return n;
}

static const ev *last(ev_kind k, char side)
{
    for (size_t i = NEV; i-- > 0;)
        if (EV[i].kind == k && EV[i].side == side)
            return &EV[i];
    return NULL;
}

/* ------------------------------------------------------------------ handlers */

static void a_success(pl_ua *ua, pl_ua_client req, const pl_msg *resp, void *app)
{
    (void)ua;
    ev *e = new_ev(EV_SUCCESS, 'A', resp);
    e->handle = req;
    e->app = app;
}

static void a_failure(pl_ua *ua, pl_ua_client req, const pl_msg *resp, void *app)
{
    (void)ua;
    ev *e = new_ev(EV_FAILURE, 'A', resp);
    e->handle = req;
    e->app = app;
}

static void a_prov(pl_ua *ua, pl_ua_client req, const pl_msg *resp, void *app)
{
    (void)ua;
    ev *e = new_ev(EV_PROV, 'A', resp);
    e->handle = req;
    e->app = app;
}

static void a_request(pl_ua *ua, pl_ua_server srv, const pl_msg *req, void *app)
{
    ev *e = new_ev(EV_REQUEST, 'A', req);
    e->handle = srv;
    e->app = app;
    assert_int_equal(pl_ua_server_accept(ua, srv, 0), PL_OK);
}

static void b_request(pl_ua *ua, pl_ua_server srv, const pl_msg *req, void *app)
{
    ev *e = new_ev(EV_REQUEST, 'B', req);
    e->handle = srv;
    e->app = app;
    switch (B_DO.mode) {
    case 0:
        assert_int_equal(pl_ua_server_accept(ua, srv, B_DO.code), PL_OK);
        break;
    case 1:
        assert_int_equal(pl_ua_server_reject(ua, srv, 486, "Busy Right Now"), PL_OK);
        break;
    case 3:
        assert_int_equal(pl_ua_server_provisional(ua, srv, 180, NULL), PL_OK);
        assert_int_equal(pl_ua_server_accept(ua, srv, 0), PL_OK);
        break;
    case 4:
        assert_int_equal(pl_ua_server_answer_options(ua, srv), PL_OK);
        break;
    case 5:
        /* the request stays whole until the callback returns, answered or not */
        assert_int_equal(pl_ua_server_accept(ua, srv, 200), PL_OK);
        copy(e->reason, sizeof(e->reason), req->call_id);
        assert_true(pl_str_eq(req->method, PL_STR_LIT("MESSAGE")));
        assert_true(strstr(e->hdrs, e->reason) != NULL);
        break;
    default:
        break; /* silent */
    }
}

static const pl_ua_handler A_H = {a_request, a_prov, a_success, a_failure, NULL};
static const pl_ua_handler A_CLIENT_ONLY = {NULL, a_prov, a_success, a_failure, NULL};
static const pl_ua_handler B_H = {b_request, NULL, a_success, a_failure, NULL};

static int rx(void *arg, const char *buf, size_t len, const pl_target *src, pl_framing fr)
{
    return pl_ua_receive(arg, buf, len, src, fr);
}

static int srv_rx(void *arg, const char *buf, size_t len, const pl_target *src, pl_framing fr)
{
    return pl_txn_receive(arg, buf, len, src, fr);
}

static void app_free(void *app)
{
    (void)app;
    APP_FREES++;
}

static void b_factory(pl_ua *ua, const pl_msg *req, void **app, void (**fr)(void *), void *user)
{
    (void)ua;
    (void)req;
    (void)user;
    static int token;
    *app = &token;
    *fr = app_free;
}

/* The last request the UA answered by itself, as the observer saw it. */
static char AUTO_SEEN[128];

static void on_auto(pl_ua *ua, const pl_msg *req, const pl_target *src, uint16_t code, void *user)
{
    (void)ua;
    (void)src;
    (void)user;
    snprintf(AUTO_SEEN, sizeof(AUTO_SEEN), "%.*s %.*s %u", (int)req->method.len, req->method.p,
             (int)req->call_id.len, req->call_id.p, code);
}

static pl_ua *mk_ua(sim_ep *ep, pl_ua_profile *p, const char *local, bool factory)
{
    pl_ua_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.master = p;
    cfg.wheel = &F.wheel;
    cfg.sender = &ep->sender;
    cfg.local = local;
    cfg.log_level = PL_UA_LOG_ERROR;
    if (factory)
        cfg.on_new_server = b_factory;
    cfg.on_auto_answer = on_auto;
    pl_ua *ua = pl_ua_new(&cfg);
    assert_non_null(ua);
    ep->receive = rx;
    ep->rx_arg = ua;
    return ua;
}

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof(F));
    memset(&B_DO, 0, sizeof(B_DO));
    NEV = 0;
    IN_CALL = VIOLATIONS = APP_FREES = 0;
    pl_wheel_init(&F.wheel, 0);
    sim_ep_init(&F.a, &F.wheel, "udp:10.0.0.1:5060");
    sim_ep_init(&F.b, &F.wheel, "udp:10.0.0.2:5060");
    sim_connect(&F.a, &F.b);
    F.pa = pl_ua_profile_new(NULL);
    F.pb = pl_ua_profile_new(NULL);
    assert_int_equal(pl_ua_profile_set_aor(F.pa, "sip:alice@10.0.0.1"), PL_OK);
    assert_int_equal(pl_ua_profile_set_aor(F.pb, "sip:bob@10.0.0.2"), PL_OK);
    F.ua_a = mk_ua(&F.a, F.pa, "udp:10.0.0.1:5060", false);
    return 0;
}

static void with_b(bool factory)
{
    F.ua_b = mk_ua(&F.b, F.pb, "udp:10.0.0.2:5060", factory);
}

static int teardown(void **state)
{
    (void)state;
    pl_ua_free(F.ua_a);
    pl_ua_free(F.ua_b);
    if (F.srv)
        pl_txn_layer_free(F.srv);
    pl_ua_profile_free(F.pa);
    pl_ua_profile_free(F.pb);
    sim_ep_free(&F.a);
    sim_ep_free(&F.b);
    pl_wheel_clear(&F.wheel);
    tu_free_all();
    return 0;
}

static void run_to(uint64_t t)
{
    sim_run(&F.wheel, &F.a, &F.b, t);
}

/* Make and send a request from A; callbacks must not run inside. */
static pl_ua_client send_a(const char *method, const char *target, void *app)
{
    pl_ua_client c;
    IN_CALL++;
    int rc = pl_ua_request_new(F.ua_a, NULL, method, target, app, app ? app_free : NULL, &c);
    if (rc == PL_OK)
        rc = pl_ua_request_send(F.ua_a, c);
    IN_CALL--;
    assert_int_equal(rc, PL_OK);
    return c;
}

static bool has_line(const char *msg, const char *line)
{
    char want[512];
    snprintf(want, sizeof(want), "\r\n%s\r\n", line);
    return strstr(msg, want) != NULL;
}

static bool has_prefix_line(const char *msg, const char *prefix)
{
    char want[512];
    snprintf(want, sizeof(want), "\r\n%s", prefix);
    return strstr(msg, want) != NULL;
}

static pl_ua_stats ua_stats(pl_ua *ua)
{
    pl_ua_stats s;
    memset(&s, 0xff, sizeof(s));
    pl_ua_get_stats(ua, &s);
    return s;
}

/* ------------------------------------------------------------------ building */

static void test_request_fields(void **state)
{
    (void)state;
    pl_ua_profile *user = pl_ua_profile_new(F.pa);
    assert_int_equal(pl_ua_profile_set_aor(user, "sip:carol@example.com"), PL_OK);
    assert_int_equal(pl_ua_profile_set_display_name(user, "Carol C"), PL_OK);
    assert_int_equal(pl_ua_profile_set_user_agent(F.pa, "ParleyTest/1"), PL_OK);
    assert_int_equal(pl_ua_profile_set_outbound_proxy(F.pa, "sip:10.0.0.2:5070"), PL_OK);
    assert_int_equal(pl_ua_profile_add_option_tag(F.pa, "replaces"), PL_OK);
    assert_int_equal(pl_ua_set_handler(F.ua_a, "XFOO", &A_H, NULL), PL_OK);
    assert_int_equal(pl_ua_set_handler(F.ua_a, "REFER", &A_CLIENT_ONLY, NULL), PL_OK);
    pl_ua_client c;
    assert_int_equal(
        pl_ua_request_new(F.ua_a, user, "REFER", "\"Bob\" <sip:bob@10.0.0.2>", NULL, NULL, &c),
        PL_OK);
    pl_msg *m = pl_ua_request_msg(F.ua_a, c);
    assert_non_null(m);
    assert_true(pl_str_eq(m->method, PL_STR_LIT("REFER")));
    assert_true(pl_str_eq(m->ruri_raw, PL_STR_LIT("sip:bob@10.0.0.2")));
    assert_true(pl_str_eq(m->to->uri_raw, PL_STR_LIT("sip:bob@10.0.0.2")));
    assert_false(m->to->has_tag);
    /* From: the user profile's identity with a fresh tag */
    assert_true(pl_str_eq(m->from->uri_raw, PL_STR_LIT("sip:carol@example.com")));
    assert_true(pl_str_eq(m->from->display, PL_STR_LIT("\"Carol C\"")));
    assert_true(m->from->has_tag && m->from->tag.len >= 8);
    assert_true(m->call_id.len >= 16);
    assert_int_equal(m->cseq.num, 1);
    assert_true(pl_str_eq(m->cseq.method, PL_STR_LIT("REFER")));
    assert_int_equal(m->max_forwards, 70);
    assert_int_equal(m->contact_count, 1);
    assert_true(pl_str_eq(m->contact->uri.user, PL_STR_LIT("carol")));
    /* The outbound proxy from the master, as a loose route */
    assert_int_equal(m->route_count, 1);
    assert_true(m->route->uri.lr);
    assert_int_equal(m->route->uri.port, 5070);
    /* Allow from the handlers that serve requests; Supported from the master */
    int32_t i = pl_msg_hdr_find(m, PL_HDR_ALLOW, 0);
    assert_true(i >= 0);
    char allow[256];
    copy(allow, sizeof(allow), m->hdrs[i].value);
    assert_non_null(strstr(allow, "XFOO"));
    assert_null(strstr(allow, "REFER"));
    assert_true(pl_msg_has_option(m, PL_HDR_SUPPORTED, "replaces"));
    /* Two requests never share a Call-ID or a tag */
    pl_ua_client c2;
    assert_int_equal(pl_ua_request_new(F.ua_a, NULL, "REFER", "sip:bob@10.0.0.2", NULL, NULL, &c2),
                     PL_OK);
    pl_msg *m2 = pl_ua_request_msg(F.ua_a, c2);
    assert_false(pl_str_eq(m->call_id, m2->call_id));
    assert_false(pl_str_eq(m->from->tag, m2->from->tag));
    assert_true(pl_str_eq(m2->from->uri_raw, PL_STR_LIT("sip:alice@10.0.0.1")));
    assert_int_equal(pl_ua_request_abandon(F.ua_a, c), PL_OK);
    assert_int_equal(pl_ua_request_abandon(F.ua_a, c2), PL_OK);
    assert_int_equal(NEV, 0);
    pl_ua_profile_free(user);
}

static void test_request_refused(void **state)
{
    (void)state;
    pl_ua_client c = 7;
    /* no handler for the method: a response nobody would see */
    assert_int_equal(pl_ua_request_new(F.ua_a, NULL, "MESSAGE", "sip:b@10.0.0.2", NULL, NULL, &c),
                     PL_EINVAL);
    assert_int_equal(c, 0);
    assert_int_equal(pl_ua_set_handler(F.ua_a, "MESSAGE", &A_H, NULL), PL_OK);
    assert_int_equal(pl_ua_request_new(F.ua_a, NULL, "MESSAGE", "not a uri", NULL, NULL, &c),
                     PL_EINVAL);
    assert_int_equal(pl_ua_request_new(F.ua_a, NULL, "MES SAGE", "sip:b@10.0.0.2", NULL, NULL, &c),
                     PL_EINVAL);
    assert_int_equal(pl_ua_request_new(F.ua_a, NULL, "INVITE", "sip:b@10.0.0.2", NULL, NULL, &c),
                     PL_EINVAL);
    assert_int_equal(pl_ua_set_handler(F.ua_a, "bad method", &A_H, NULL), PL_EINVAL);
    assert_int_equal(ua_stats(F.ua_a).clients, 0);
}

static void test_uri_headers(void **state)
{
    (void)state;
    with_b(false);
    assert_int_equal(pl_ua_set_handler(F.ua_a, "MESSAGE", &A_H, NULL), PL_OK);
    assert_int_equal(pl_ua_set_handler(F.ua_b, "MESSAGE", &B_H, NULL), PL_OK);
    send_a("MESSAGE", "<sip:bob@10.0.0.2?Subject=hello%20there&Priority=urgent>", NULL);
    run_to(100);
    const ev *r = last(EV_REQUEST, 'B');
    assert_non_null(r);
    assert_true(strncmp(r->hdrs, "MESSAGE sip:bob@10.0.0.2 SIP/2.0\r\n", 34) == 0);
    assert_true(has_line(r->hdrs, "Subject: hello there"));
    assert_true(has_line(r->hdrs, "Priority: urgent"));
    assert_int_equal(count(EV_SUCCESS, 'A'), 1);
}

/* ------------------------------------------------------------------ outcomes */

static void test_options_answered_by_profile(void **state)
{
    (void)state;
    assert_int_equal(pl_ua_profile_add_option_tag(F.pb, "timer"), PL_OK);
    assert_int_equal(pl_ua_profile_add_mime_type(F.pb, "application/sdp"), PL_OK);
    assert_int_equal(pl_ua_profile_add_mime_type(F.pb, "text/plain"), PL_OK);
    assert_int_equal(pl_ua_profile_add_language(F.pb, "en"), PL_OK);
    assert_int_equal(pl_ua_profile_add_encoding(F.pb, "gzip"), PL_OK);
    assert_int_equal(pl_ua_profile_set_user_agent(F.pb, "BobPhone/2"), PL_OK);
    with_b(true);
    assert_int_equal(pl_ua_set_handler(F.ua_b, "MESSAGE", &B_H, NULL), PL_OK);
    assert_int_equal(pl_ua_set_handler(F.ua_a, "OPTIONS", &A_CLIENT_ONLY, NULL), PL_OK);
    int ctx = 0;
    pl_ua_client c = send_a("OPTIONS", "sip:bob@10.0.0.2", &ctx);
    assert_int_equal(NEV, 0);
    run_to(100);
    assert_int_equal(count(EV_SUCCESS, 'A'), 1);
    const ev *e = last(EV_SUCCESS, 'A');
    assert_int_equal(e->status, 200);
    assert_int_equal(e->handle, c);
    assert_ptr_equal(e->app, &ctx);
    assert_true(has_line(e->hdrs, "Allow: OPTIONS, ACK, CANCEL, MESSAGE"));
    assert_true(has_line(e->hdrs, "Accept: application/sdp, text/plain"));
    assert_true(has_line(e->hdrs, "Accept-Language: en"));
    assert_true(has_line(e->hdrs, "Accept-Encoding: gzip"));
    assert_true(has_line(e->hdrs, "Supported: timer"));
    assert_true(has_line(e->hdrs, "Server: BobPhone/2"));
    assert_true(has_prefix_line(e->hdrs, "Contact: <sip:10.0.0.2:5060>"));
    /* no handler on B: the factory was not called for a ping */
    assert_int_equal(count(EV_REQUEST, 'B'), 0);
    assert_int_equal(APP_FREES, 1); /* A's context, once */
    assert_int_equal(ua_stats(F.ua_a).clients, 0);
    assert_int_equal(ua_stats(F.ua_b).auto_answers, 1);
    assert_int_equal(VIOLATIONS, 0);
    /* the id is stale now */
    assert_null(pl_ua_request_msg(F.ua_a, c));
    assert_int_equal(pl_ua_request_send(F.ua_a, c), PL_ESTALE);
    assert_int_equal(pl_ua_request_abandon(F.ua_a, c), PL_ESTALE);
}

static void test_options_handler_uses_selected_profile(void **state)
{
    (void)state;
    with_b(false);
    B_DO.mode = 4;
    assert_int_equal(pl_ua_set_handler(F.ua_b, "OPTIONS", &B_H, NULL), PL_OK);
    assert_int_equal(pl_ua_set_handler(F.ua_a, "OPTIONS", &A_CLIENT_ONLY, NULL), PL_OK);
    assert_int_equal(pl_ua_profile_add_option_tag(F.pb, "path"), PL_OK);
    send_a("OPTIONS", "sip:bob@10.0.0.2", NULL);
    run_to(100);
    assert_int_equal(count(EV_REQUEST, 'B'), 1);
    const ev *e = last(EV_SUCCESS, 'A');
    assert_non_null(e);
    assert_true(has_line(e->hdrs, "Supported: path"));
    assert_true(has_line(e->hdrs, "Allow: OPTIONS, ACK, CANCEL"));
}

static void test_message_accept_reject_provisional(void **state)
{
    (void)state;
    with_b(true);
    assert_int_equal(pl_ua_set_handler(F.ua_a, "MESSAGE", &A_H, NULL), PL_OK);
    assert_int_equal(pl_ua_set_handler(F.ua_b, "MESSAGE", &B_H, NULL), PL_OK);
    B_DO.code = 202;
    send_a("MESSAGE", "sip:bob@10.0.0.2", NULL);
    run_to(100);
    assert_int_equal(last(EV_SUCCESS, 'A')->status, 202);
    assert_non_null(last(EV_REQUEST, 'B')->app); /* the factory's context */
    assert_int_equal(APP_FREES, 1);              /* freed with B's handle */

    B_DO.mode = 1;
    send_a("MESSAGE", "sip:bob@10.0.0.2", NULL);
    run_to(200);
    const ev *f = last(EV_FAILURE, 'A');
    assert_non_null(f);
    assert_int_equal(f->status, 486);
    assert_string_equal(f->reason, "Busy Right Now");

    B_DO.mode = 3;
    send_a("MESSAGE", "sip:bob@10.0.0.2", NULL);
    run_to(300);
    assert_int_equal(count(EV_PROV, 'A'), 1);
    assert_int_equal(last(EV_PROV, 'A')->status, 180);
    assert_int_equal(count(EV_SUCCESS, 'A'), 2);
    assert_int_equal(ua_stats(F.ua_a).clients, 0);
    assert_int_equal(ua_stats(F.ua_b).servers, 0);
    assert_int_equal(VIOLATIONS, 0);
}

static void test_automatic_answers(void **state)
{
    (void)state;
    with_b(false);
    assert_int_equal(pl_ua_set_handler(F.ua_b, "MESSAGE", &B_H, NULL), PL_OK);
    const char *methods[] = {"SUBSCRIBE", "XFOO", "BYE", "INFO"};
    uint16_t want[] = {405, 501, 481, 405};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(pl_ua_set_handler(F.ua_a, methods[i], &A_CLIENT_ONLY, NULL), PL_OK);
    for (size_t i = 0; i < 4; i++) {
        NEV = 0;
        send_a(methods[i], "sip:bob@10.0.0.2", NULL);
        run_to(100 * (i + 1));
        const ev *f = last(EV_FAILURE, 'A');
        assert_non_null(f);
        assert_int_equal(f->status, want[i]);
        /* the observer saw the request whole, with the code sent */
        char seen[128];
        const char *cid = strstr(f->hdrs, "\r\nCall-ID: ");
        assert_non_null(cid);
        int cl = (int)strcspn(cid + 11, "\r");
        snprintf(seen, sizeof(seen), "%s %.*s %u", methods[i], cl, cid + 11, want[i]);
        assert_string_equal(AUTO_SEEN, seen);
        if (want[i] == 405 || want[i] == 501)
            assert_true(has_line(f->hdrs, "Allow: OPTIONS, ACK, CANCEL, MESSAGE"));
    }
    assert_int_equal(count(EV_REQUEST, 'B'), 0);
    assert_int_equal(ua_stats(F.ua_b).auto_answers, 4);
}

static void test_stray_in_dialog_481(void **state)
{
    (void)state;
    with_b(false);
    assert_int_equal(pl_ua_set_handler(F.ua_b, "MESSAGE", &B_H, NULL), PL_OK);
    /* A request with a To tag matches no dialog on B */
    const char *raw = "MESSAGE sip:bob@10.0.0.2 SIP/2.0\n"
                      "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKstray1\n"
                      "From: <sip:a@10.0.0.1>;tag=fa\n"
                      "To: <sip:bob@10.0.0.2>;tag=nosuch\n"
                      "Call-ID: stray-1\n"
                      "CSeq: 5 MESSAGE\n"
                      "Max-Forwards: 70\n"
                      "Content-Length: 0\n\n";
    size_t len;
    char *b = tu_crlf(raw, &len);
    assert_int_equal(pl_ua_receive(F.ua_b, b, len, &F.a.self, PL_FRAMING_DGRAM), PL_OK);
    const sim_pkt *p = sim_last(&F.b);
    assert_non_null(p);
    pl_msg *m = sim_parse(p);
    assert_int_equal(m->status, 481);
    assert_int_equal(count(EV_REQUEST, 'B'), 0);
}

static void test_require_unsupported_420(void **state)
{
    (void)state;
    with_b(false);
    assert_int_equal(pl_ua_set_handler(F.ua_b, "MESSAGE", &B_H, NULL), PL_OK);
    assert_int_equal(pl_ua_set_handler(F.ua_a, "MESSAGE", &A_H, NULL), PL_OK);
    pl_ua_client c;
    assert_int_equal(pl_ua_request_new(F.ua_a, NULL, "MESSAGE", "sip:b@10.0.0.2", NULL, NULL, &c),
                     PL_OK);
    pl_msg *m = pl_ua_request_msg(F.ua_a, c);
    assert_int_equal(pl_msg_hdr_append(m, PL_STR_LIT("Require"), PL_STR_LIT("foo-ext")), PL_OK);
    assert_int_equal(pl_ua_request_send(F.ua_a, c), PL_OK);
    run_to(100);
    const ev *f = last(EV_FAILURE, 'A');
    assert_non_null(f);
    assert_int_equal(f->status, 420);
    assert_true(has_line(f->hdrs, "Unsupported: foo-ext"));
    assert_int_equal(count(EV_REQUEST, 'B'), 0);
}

static void test_content_type_415(void **state)
{
    (void)state;
    assert_int_equal(pl_ua_profile_set_check_content_type(F.pb, true), PL_OK);
    assert_int_equal(pl_ua_profile_add_mime_type(F.pb, "text/*"), PL_OK);
    with_b(false);
    assert_int_equal(pl_ua_set_handler(F.ua_b, "MESSAGE", &B_H, NULL), PL_OK);
    assert_int_equal(pl_ua_set_handler(F.ua_a, "MESSAGE", &A_H, NULL), PL_OK);
    const char *types[] = {"application/json", "text/plain"};
    for (int i = 0; i < 2; i++) {
        pl_ua_client c;
        assert_int_equal(
            pl_ua_request_new(F.ua_a, NULL, "MESSAGE", "sip:b@10.0.0.2", NULL, NULL, &c), PL_OK);
        pl_msg *m = pl_ua_request_msg(F.ua_a, c);
        assert_int_equal(pl_msg_set_body(m, pl_str_c(types[i]), PL_STR_LIT("{}")), PL_OK);
        assert_int_equal(pl_ua_request_send(F.ua_a, c), PL_OK);
        run_to(100 * (uint64_t)(i + 1));
    }
    const ev *f = last(EV_FAILURE, 'A');
    assert_non_null(f);
    assert_int_equal(f->status, 415);
    assert_true(has_line(f->hdrs, "Accept: text/*"));
    assert_int_equal(count(EV_SUCCESS, 'A'), 1);
    assert_int_equal(count(EV_REQUEST, 'B'), 1);
}

static void test_timeout_408_once(void **state)
{
    (void)state;
    F.a.drop_next = 100; /* everything lost */
    assert_int_equal(pl_ua_set_handler(F.ua_a, "MESSAGE", &A_H, NULL), PL_OK);
    send_a("MESSAGE", "sip:bob@10.0.0.2", NULL);
    run_to(31999);
    assert_int_equal(NEV, 0);
    run_to(40000);
    assert_int_equal(count(EV_FAILURE, 'A'), 1);
    const ev *f = last(EV_FAILURE, 'A');
    assert_int_equal(f->status, 408);
    assert_int_equal(f->t, 32000);
    assert_int_equal(ua_stats(F.ua_a).clients, 0);
}

static void test_transport_error_503(void **state)
{
    (void)state;
    F.a.fail_all = true;
    assert_int_equal(pl_ua_set_handler(F.ua_a, "MESSAGE", &A_H, NULL), PL_OK);
    send_a("MESSAGE", "sip:bob@10.0.0.2", NULL);
    assert_int_equal(NEV, 0); /* never from inside the send */
    run_to(10);
    assert_int_equal(count(EV_FAILURE, 'A'), 1);
    assert_int_equal(last(EV_FAILURE, 'A')->status, 503);
}

static void test_name_without_resolver_503(void **state)
{
    (void)state;
    assert_int_equal(pl_ua_set_handler(F.ua_a, "MESSAGE", &A_H, NULL), PL_OK);
    send_a("MESSAGE", "sip:bob@example.com", NULL);
    send_a("MESSAGE", "tel:+15551234", NULL);
    assert_int_equal(NEV, 0);
    run_to(10);
    assert_int_equal(count(EV_FAILURE, 'A'), 2);
    assert_int_equal(EV[0].status, 503);
    assert_int_equal(EV[1].status, 416);
}

static void test_default_answer_and_trying(void **state)
{
    (void)state;
    assert_int_equal(pl_ua_profile_set_default_answer(F.pb, 486, 9000), PL_OK);
    with_b(false);
    B_DO.mode = 2; /* silent */
    assert_int_equal(pl_ua_set_handler(F.ua_b, "MESSAGE", &B_H, NULL), PL_OK);
    assert_int_equal(pl_ua_set_handler(F.ua_a, "MESSAGE", &A_H, NULL), PL_OK);
    send_a("MESSAGE", "sip:bob@10.0.0.2", NULL);
    run_to(8999);
    assert_int_equal(count(EV_FAILURE, 'A'), 0);
    /* RFC 4320: the first 100 at 3500 ms (T2 - T1), then again with each
     * retransmitted request (17.2.2); A reports it as a provisional */
    size_t hundreds = 0;
    for (size_t i = 0; i < sim_sent(&F.b); i++) {
        pl_msg *m = sim_parse(sim_nth(&F.b, i));
        if (m->status == 100) {
            if (hundreds++ == 0)
                assert_int_equal(sim_nth(&F.b, i)->t, 3500);
            assert_true(sim_nth(&F.b, i)->t >= 3500);
        }
    }
    assert_true(hundreds >= 1);
    assert_int_equal(last(EV_PROV, 'A')->status, 100);
    assert_int_equal(last(EV_PROV, 'A')->t >= 3500, true);
    pl_ua_server srv = last(EV_REQUEST, 'B')->handle;
    assert_non_null(pl_ua_server_request(F.ua_b, srv));
    run_to(9500);
    const ev *f = last(EV_FAILURE, 'A');
    assert_non_null(f);
    assert_int_equal(f->status, 486);
    assert_int_equal(f->t, 9000);
    assert_int_equal(ua_stats(F.ua_b).default_answers, 1);
    /* the handle ended with the final response */
    assert_null(pl_ua_server_request(F.ua_b, srv));
    assert_int_equal(pl_ua_server_accept(F.ua_b, srv, 200), PL_ESTALE);
}

static void test_thousand_unanswered(void **state)
{
    (void)state;
    with_b(false);
    B_DO.mode = 2;
    assert_int_equal(pl_ua_set_handler(F.ua_b, "MESSAGE", &B_H, NULL), PL_OK);
    assert_int_equal(pl_ua_set_handler(F.ua_a, "MESSAGE", &A_H, NULL), PL_OK);
    for (int i = 0; i < 1000; i++)
        send_a("MESSAGE", "sip:bob@10.0.0.2", NULL);
    run_to(1000);
    assert_int_equal(ua_stats(F.ua_b).servers, 1000);
    run_to(40000);
    assert_int_equal(count(EV_FAILURE, 'A'), 1000);
    assert_int_equal(last(EV_FAILURE, 'A')->status, 480);
    assert_int_equal(ua_stats(F.ua_a).clients, 0);
    assert_int_equal(ua_stats(F.ua_b).servers, 0);
    assert_int_equal(ua_stats(F.ua_b).default_answers, 1000);
}

static void test_abandon_and_stale(void **state)
{
    (void)state;
    with_b(false);
    B_DO.mode = 2;
    assert_int_equal(pl_ua_set_handler(F.ua_b, "MESSAGE", &B_H, NULL), PL_OK);
    assert_int_equal(pl_ua_set_handler(F.ua_a, "MESSAGE", &A_H, NULL), PL_OK);
    int ctx;
    pl_ua_client c = send_a("MESSAGE", "sip:bob@10.0.0.2", &ctx);
    run_to(100);
    assert_ptr_equal(pl_ua_request_app(F.ua_a, c), &ctx);
    assert_int_equal(pl_ua_request_abandon(F.ua_a, c), PL_OK);
    assert_int_equal(APP_FREES, 1);
    pl_ua_server srv = last(EV_REQUEST, 'B')->handle;
    assert_int_equal(pl_ua_server_accept(F.ua_b, srv, 0), PL_OK);
    assert_int_equal(pl_ua_server_accept(F.ua_b, srv, 0), PL_ESTALE);
    assert_int_equal(pl_ua_server_reject(F.ua_b, 12345, 500, NULL), PL_ESTALE);
    assert_int_equal(pl_ua_server_provisional(F.ua_b, 0, 180, NULL), PL_ESTALE);
    run_to(40000);
    assert_int_equal(count(EV_SUCCESS, 'A') + count(EV_FAILURE, 'A'), 0);
    assert_null(pl_ua_request_app(F.ua_a, c));
    /* a recycled slot does not revive an old id */
    pl_ua_client c2 = send_a("MESSAGE", "sip:bob@10.0.0.2", NULL);
    assert_int_not_equal(c2, c);
    assert_int_equal(pl_ua_request_abandon(F.ua_a, c), PL_ESTALE);
}

static void test_edit_and_build_response(void **state)
{
    (void)state;
    with_b(false);
    B_DO.mode = 2;
    assert_int_equal(pl_ua_set_handler(F.ua_b, "MESSAGE", &B_H, NULL), PL_OK);
    assert_int_equal(pl_ua_set_handler(F.ua_a, "MESSAGE", &A_H, NULL), PL_OK);
    pl_ua_client c;
    assert_int_equal(pl_ua_request_new(F.ua_a, NULL, "MESSAGE", "sip:b@10.0.0.2", NULL, NULL, &c),
                     PL_OK);
    pl_msg *m = pl_ua_request_msg(F.ua_a, c);
    assert_int_equal(pl_msg_set_body(m, PL_STR_LIT("text/plain"), PL_STR_LIT("hi bob")), PL_OK);
    assert_int_equal(pl_ua_request_send(F.ua_a, c), PL_OK);
    assert_null(pl_ua_request_msg(F.ua_a, c)); /* sent: no more edits */
    assert_int_equal(pl_ua_request_send(F.ua_a, c), PL_ESTATE);
    run_to(100);
    const ev *r = last(EV_REQUEST, 'B');
    assert_non_null(r);
    assert_non_null(strstr(r ? r->hdrs : "", "\r\n\r\nhi bob"));
    pl_msg *resp;
    assert_int_equal(pl_ua_server_response(F.ua_b, r->handle, 200, "Delivered", &resp), PL_OK);
    assert_int_equal(pl_msg_hdr_append(resp, PL_STR_LIT("X-Note"), PL_STR_LIT("read")), PL_OK);
    assert_int_equal(pl_ua_server_send(F.ua_b, r->handle, resp), PL_OK);
    run_to(200);
    const ev *s = last(EV_SUCCESS, 'A');
    assert_non_null(s);
    assert_string_equal(s->reason, "Delivered");
    assert_true(has_line(s->hdrs, "X-Note: read"));
}

/* A callback that sends the next request from inside a callback. */
static int CHAIN;
static void chain_success(pl_ua *ua, pl_ua_client req, const pl_msg *resp, void *app)
{
    a_success(ua, req, resp, app);
    /* valid during its final callback, but it cannot be ended twice */
    assert_int_equal(pl_ua_request_abandon(ua, req), PL_ESTATE);
    if (++CHAIN < 3) {
        pl_ua_client c;
        assert_int_equal(pl_ua_request_new(ua, NULL, "MESSAGE", "sip:bob@10.0.0.2", NULL, NULL, &c),
                         PL_OK);
        assert_int_equal(pl_ua_request_send(ua, c), PL_OK);
    }
}

static void test_request_readable_after_answer(void **state)
{
    (void)state;
    with_b(false);
    B_DO.mode = 5;
    assert_int_equal(pl_ua_set_handler(F.ua_b, "MESSAGE", &B_H, NULL), PL_OK);
    assert_int_equal(pl_ua_set_handler(F.ua_a, "MESSAGE", &A_H, NULL), PL_OK);
    send_a("MESSAGE", "sip:bob@10.0.0.2", NULL);
    run_to(100);
    assert_int_equal(count(EV_SUCCESS, 'A'), 1);
    assert_true(strlen(last(EV_REQUEST, 'B')->reason) >= 16); /* the Call-ID, read after the 200 */
}

static void test_api_from_callbacks(void **state)
{
    (void)state;
    CHAIN = 0;
    with_b(false);
    assert_int_equal(pl_ua_set_handler(F.ua_b, "MESSAGE", &B_H, NULL), PL_OK);
    pl_ua_handler h = A_H;
    h.on_success = chain_success;
    assert_int_equal(pl_ua_set_handler(F.ua_a, "MESSAGE", &h, NULL), PL_OK);
    send_a("MESSAGE", "sip:bob@10.0.0.2", NULL);
    run_to(1000);
    assert_int_equal(count(EV_SUCCESS, 'A'), 3);
}

/* ------------------------------------------------------------------ REFER */

/* B answers REFER with code; A makes a REFER to B with a Refer-To, for edits before sending. */
static pl_msg *refer_new(uint16_t code, pl_ua_client *c)
{
    with_b(false);
    B_DO.code = code;
    assert_int_equal(pl_ua_set_handler(F.ua_b, "REFER", &B_H, NULL), PL_OK);
    assert_int_equal(pl_ua_set_handler(F.ua_a, "REFER", &A_CLIENT_ONLY, NULL), PL_OK);
    assert_int_equal(pl_ua_request_new(F.ua_a, NULL, "REFER", "sip:bob@10.0.0.2", NULL, NULL, c),
                     PL_OK);
    pl_msg *m = pl_ua_request_msg(F.ua_a, *c);
    assert_int_equal(
        pl_msg_hdr_append(m, PL_STR_LIT("Refer-To"), PL_STR_LIT("<sip:carol@10.0.0.3>")), PL_OK);
    return m;
}

static void test_refer_norefersub(void **state)
{
    (void)state;
    pl_ua_client c;
    pl_msg *m = refer_new(200, &c);
    assert_int_equal(
        pl_msg_hdr_append(m, PL_STR_LIT("Referred-By"), PL_STR_LIT("<sip:alice@10.0.0.1>")), PL_OK);
    assert_int_equal(pl_msg_hdr_append(m, PL_STR_LIT("Refer-Sub"), PL_STR_LIT("false")), PL_OK);
    assert_int_equal(pl_msg_hdr_append(m, PL_STR_LIT("Require"), PL_STR_LIT("norefersub")), PL_OK);
    assert_int_equal(pl_ua_request_send(F.ua_a, c), PL_OK);
    run_to(40000);
    const ev *r = last(EV_REQUEST, 'B');
    assert_non_null(r);
    assert_true(has_line(r->hdrs, "Refer-To: <sip:carol@10.0.0.3>"));
    const ev *s = last(EV_SUCCESS, 'A');
    assert_non_null(s);
    assert_true(has_line(s->hdrs, "Refer-Sub: false"));
    /* no NOTIFY: B sent the 200 and nothing else */
    for (size_t i = 0; i < sim_sent(&F.b); i++)
        assert_false(sim_parse(sim_nth(&F.b, i))->is_request);
    assert_int_equal(ua_stats(F.ua_b).servers, 0);
}

static void test_refer_implicit_subscription(void **state)
{
    (void)state;
    pl_ua_client c;
    pl_msg *m = refer_new(202, &c);
    char call_id[64], from_tag[32];
    copy(call_id, sizeof(call_id), m->call_id);
    copy(from_tag, sizeof(from_tag), m->from->tag);
    assert_int_equal(pl_ua_request_send(F.ua_a, c), PL_OK);
    run_to(100);
    assert_int_equal(last(EV_SUCCESS, 'A')->status, 202);
    pl_ua_server srv = last(EV_REQUEST, 'B')->handle;
    /* the handle lives on for the subscription; B sent NOTIFY 100 Trying */
    assert_non_null(pl_ua_server_request(F.ua_b, srv));
    assert_int_equal(pl_ua_server_accept(F.ua_b, srv, 200), PL_ESTATE);
    assert_int_equal(pl_ua_server_refer_notify(F.ua_b, srv, 180, NULL), PL_OK);
    assert_int_equal(pl_ua_server_refer_notify(F.ua_b, srv, 200, NULL), PL_OK);
    run_to(1000);
    size_t notifies = 0;
    for (size_t i = 0; i < sim_sent(&F.b); i++) {
        pl_msg *n = sim_parse(sim_nth(&F.b, i));
        if (!n->is_request)
            continue;
        notifies++;
        assert_true(pl_str_eq(n->method, PL_STR_LIT("NOTIFY")));
        assert_true(pl_str_eq(n->call_id, pl_str_c(call_id)));
        assert_true(pl_str_eq(n->to->tag, pl_str_c(from_tag)));
        assert_int_equal(n->cseq.num, notifies);
        assert_true(pl_str_case_eq_c(n->content_type.type, "message"));
        char text[2048];
        copy(text, sizeof(text), (pl_str){n->buf, n->len});
        assert_true(has_line(text, "Event: refer"));
        if (notifies == 1) {
            assert_true(has_line(text, "Subscription-State: active;expires=60"));
            assert_non_null(strstr(text, "\r\n\r\nSIP/2.0 100 Trying\r\n"));
        } else if (notifies == 3) {
            assert_true(has_line(text, "Subscription-State: terminated;reason=noresource"));
            assert_non_null(strstr(text, "\r\n\r\nSIP/2.0 200 OK\r\n"));
        }
    }
    assert_int_equal(notifies, 3);
    /* A answered each NOTIFY 200 (no NOTIFY handler), B's handle is gone */
    size_t oks = 0;
    for (size_t i = 0; i < sim_sent(&F.a); i++) {
        pl_msg *r = sim_parse(sim_nth(&F.a, i));
        if (!r->is_request && r->cseq.method_id == PL_METHOD_NOTIFY) {
            assert_int_equal(r->status, 200);
            oks++;
        }
    }
    assert_int_equal(oks, 3);
    assert_null(pl_ua_server_request(F.ua_b, srv));
    assert_int_equal(ua_stats(F.ua_b).servers, 0);
    assert_int_equal(ua_stats(F.ua_b).clients, 0);
}

static void test_refer_subscription_expires(void **state)
{
    (void)state;
    pl_ua_client c;
    refer_new(202, &c);
    assert_int_equal(pl_ua_request_send(F.ua_a, c), PL_OK);
    run_to(61000);
    /* the last NOTIFY: at expiry, terminated with reason=timeout */
    const sim_pkt *p = NULL;
    for (size_t i = 0; i < sim_sent(&F.b); i++)
        if (sim_parse(sim_nth(&F.b, i))->is_request)
            p = sim_nth(&F.b, i);
    assert_non_null(p);
    pl_msg *n = sim_parse(p);
    assert_int_equal(p->t, 60000); /* sent at expiry */
    char text[2048];
    copy(text, sizeof(text), (pl_str){n->buf, n->len});
    assert_true(has_line(text, "Subscription-State: terminated;reason=timeout"));
    assert_int_equal(n->cseq.num, 2);
    assert_int_equal(ua_stats(F.ua_b).servers, 0);
}

/* ------------------------------------------------------------------ a scripted server */

typedef enum srv_mode { S_CHALLENGE, S_REDIRECT } srv_mode;

static struct {
    srv_mode mode;
    const char *password;
    const char *realms[3];
    pl_digest_alg algs[3];
    size_t nchallenges;
    bool proxy;
    bool qop_int;
    bool stale_once;
    const char *raw_challenge;   /* sent as is instead */
    const char *first_challenge; /* sent before the made ones, same header */
    int requests;
    int verified;
    char last_auth[1024];
} S;

static const uint8_t SECRET[] = "test secret";

static void srv_answer(pl_txn *st, const pl_msg *req, uint16_t code, const char **hdrs, size_t n)
{
    pl_msg resp;
    pl_error err = {0};
    assert_int_equal(
        pl_msg_build_response(&resp, tu_arena(), req, code, PL_STR_NULL, PL_STR_LIT("srv"), &err),
        PL_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pl_msg_hdr_append(&resp, pl_str_c(hdrs[2 * i]), pl_str_c(hdrs[2 * i + 1])),
                         PL_OK);
    assert_int_equal(pl_txn_respond(st, &resp), PL_OK);
}

/* Every credential of the request checks out, one per challenged realm. */
static bool srv_verify(const pl_msg *req)
{
    pl_hdr_id id = S.proxy ? PL_HDR_PROXY_AUTHORIZATION : PL_HDR_AUTHORIZATION;
    size_t ok = 0;
    for (int32_t i = pl_msg_hdr_find(req, id, 0); i >= 0;
         i = pl_msg_hdr_find(req, id, (uint32_t)i + 1)) {
        pl_digest_credentials c;
        if (pl_digest_credentials_parse(&c, req->hdrs[i].value, NULL) != PL_OK)
            return false;
        copy(S.last_auth, sizeof(S.last_auth), req->hdrs[i].value);
        if (pl_digest_nonce_check(SECRET, sizeof(SECRET), c.realm, c.nonce, 0, 60000) !=
            PL_NONCE_OK)
            return false;
        if (!pl_digest_verify(&c, req->method, req->body, pl_str_c(S.password), PL_STR_NULL))
            return false;
        ok++;
    }
    return ok == S.nchallenges;
}

static void srv_request(pl_txn_layer *l, pl_txn *st, const pl_msg *req, const pl_target *src,
                        void *user)
{
    (void)l;
    (void)src;
    (void)user;
    S.requests++;
    if (S.mode == S_REDIRECT) {
        const char *h[] = {"Contact", "<sip:bob@10.0.0.9>;q=0.1, <sip:bob@10.0.0.2>;q=0.9"};
        srv_answer(st, req, 302, h, 1);
        return;
    }
    bool have =
        pl_msg_hdr_find(req, S.proxy ? PL_HDR_PROXY_AUTHORIZATION : PL_HDR_AUTHORIZATION, 0) >= 0;
    if (have && srv_verify(req) && !(S.stale_once && S.requests == 2)) {
        S.verified++;
        srv_answer(st, req, 200, NULL, 0);
        return;
    }
    const char *h[8];
    char vals[3][512];
    size_t n = 0;
    if (S.first_challenge) {
        h[2 * n] = S.proxy ? "Proxy-Authenticate" : "WWW-Authenticate";
        h[2 * n + 1] = S.first_challenge;
        n++;
    }
    for (size_t i = 0; i < S.nchallenges; i++) {
        char nonce[128];
        size_t nl, vl;
        assert_int_equal(pl_digest_nonce_make(SECRET, sizeof(SECRET), pl_str_c(S.realms[i]), 0,
                                              nonce, sizeof(nonce), &nl),
                         PL_OK);
        pl_digest_challenge_out co;
        memset(&co, 0, sizeof(co));
        co.realm = pl_str_c(S.realms[i]);
        co.nonce = (pl_str){nonce, nl};
        co.alg = S.algs[i];
        co.qop_auth = !S.qop_int;
        co.qop_auth_int = S.qop_int;
        co.stale = S.stale_once && S.requests == 2;
        co.opaque = PL_STR_LIT("opq");
        assert_int_equal(pl_digest_challenge_print(&co, vals[i], sizeof(vals[i]), &vl), PL_OK);
        vals[i][vl] = '\0';
        h[2 * n] = S.proxy ? "Proxy-Authenticate" : "WWW-Authenticate";
        h[2 * n + 1] = S.raw_challenge ? S.raw_challenge : vals[i];
        n++;
    }
    srv_answer(st, req, S.proxy ? 407 : 401, h, n);
}

static void with_server(srv_mode mode)
{
    memset(&S, 0, sizeof(S));
    S.mode = mode;
    pl_txn_config tc;
    memset(&tc, 0, sizeof(tc));
    tc.wheel = &F.wheel;
    tc.sender = &F.b.sender;
    tc.on_request = srv_request;
    tc.on_stray = NULL;
    F.srv = pl_txn_layer_new(&tc);
    assert_non_null(F.srv);
    F.b.receive = srv_rx;
    F.b.rx_arg = F.srv;
}

static void auth_case(pl_digest_alg alg, bool proxy, bool qop_int, const char *pw_given)
{
    with_server(S_CHALLENGE);
    S.password = "secret";
    S.realms[0] = "example.com";
    S.algs[0] = alg;
    S.nchallenges = 1;
    S.proxy = proxy;
    S.qop_int = qop_int;
    assert_int_equal(pl_ua_profile_add_credential(F.pa, "example.com", "alice", pw_given), PL_OK);
    assert_int_equal(pl_ua_set_handler(F.ua_a, "MESSAGE", &A_H, NULL), PL_OK);
    pl_ua_client c;
    assert_int_equal(pl_ua_request_new(F.ua_a, NULL, "MESSAGE", "sip:bob@10.0.0.2", NULL, NULL, &c),
                     PL_OK);
    assert_int_equal(pl_msg_set_body(pl_ua_request_msg(F.ua_a, c), PL_STR_LIT("text/plain"),
                                     PL_STR_LIT("body for auth-int")),
                     PL_OK);
    assert_int_equal(pl_ua_request_send(F.ua_a, c), PL_OK);
    run_to(1000);
}

static void test_auth_md5_401(void **state)
{
    (void)state;
    auth_case(PL_DIGEST_MD5, false, false, "secret");
    assert_int_equal(count(EV_SUCCESS, 'A'), 1);
    assert_int_equal(count(EV_FAILURE, 'A'), 0);
    assert_int_equal(S.requests, 2);
    assert_int_equal(S.verified, 1);
    assert_non_null(strstr(S.last_auth, "qop=auth"));
    assert_non_null(strstr(S.last_auth, "nc=00000001"));
    assert_int_equal(ua_stats(F.ua_a).auth_retries, 1);
    /* the retry was a new transaction: CSeq 2, a new branch */
    pl_msg *r1 = sim_parse(sim_nth(&F.a, 0));
    pl_msg *retry = NULL;
    for (size_t i = 1; i < sim_sent(&F.a); i++) {
        pl_msg *m = sim_parse(sim_nth(&F.a, i));
        if (m->is_request) {
            retry = m;
            break;
        }
    }
    assert_non_null(retry);
    assert_int_equal(r1->cseq.num, 1);
    assert_int_equal(retry->cseq.num, 2);
    assert_true(pl_str_eq(r1->call_id, retry->call_id));
    assert_true(pl_str_eq(r1->from->tag, retry->from->tag));
    assert_false(pl_str_eq(r1->via->branch, retry->via->branch));
}

static void test_auth_sha256_407_auth_int(void **state)
{
    (void)state;
    auth_case(PL_DIGEST_SHA256, true, true, "secret");
    assert_int_equal(count(EV_SUCCESS, 'A'), 1);
    assert_non_null(strstr(S.last_auth, "algorithm=SHA-256"));
    assert_non_null(strstr(S.last_auth, "qop=auth-int"));
}

static void test_auth_sha512_256(void **state)
{
    (void)state;
    auth_case(PL_DIGEST_SHA512_256, false, false, "secret");
    assert_int_equal(count(EV_SUCCESS, 'A'), 1);
    assert_non_null(strstr(S.last_auth, "algorithm=SHA-512-256"));
}

static void test_auth_wrong_password_no_loop(void **state)
{
    (void)state;
    auth_case(PL_DIGEST_MD5, false, false, "wrong");
    assert_int_equal(count(EV_SUCCESS, 'A'), 0);
    assert_int_equal(count(EV_FAILURE, 'A'), 1);
    assert_int_equal(last(EV_FAILURE, 'A')->status, 401);
    assert_int_equal(S.requests, 2); /* one answer, then the failure is reported */
}

static void test_auth_no_credentials(void **state)
{
    (void)state;
    with_server(S_CHALLENGE);
    S.password = "secret";
    S.realms[0] = "other.realm";
    S.nchallenges = 1;
    assert_int_equal(pl_ua_profile_add_credential(F.pa, "example.com", "alice", "secret"), PL_OK);
    assert_int_equal(pl_ua_set_handler(F.ua_a, "MESSAGE", &A_H, NULL), PL_OK);
    send_a("MESSAGE", "sip:bob@10.0.0.2", NULL);
    run_to(1000);
    assert_int_equal(count(EV_FAILURE, 'A'), 1);
    assert_int_equal(S.requests, 1);
}

static void test_auth_two_realms(void **state)
{
    (void)state;
    with_server(S_CHALLENGE);
    S.password = "secret";
    S.proxy = true;
    /* two realms in one 407 (a forking proxy's aggregate): both answered, SHA-256 and MD5 */
    S.realms[0] = "one.example";
    S.algs[0] = PL_DIGEST_SHA256;
    S.realms[1] = "two.example";
    S.algs[1] = PL_DIGEST_MD5;
    S.nchallenges = 2;
    assert_int_equal(pl_ua_profile_add_credential(F.pa, NULL, "alice", "secret"), PL_OK);
    assert_int_equal(pl_ua_set_handler(F.ua_a, "MESSAGE", &A_H, NULL), PL_OK);
    send_a("MESSAGE", "sip:bob@10.0.0.2", NULL);
    run_to(1000);
    assert_int_equal(count(EV_SUCCESS, 'A'), 1);
    assert_int_equal(S.verified, 1);
}

static void test_auth_first_supported_algorithm(void **state)
{
    (void)state;
    with_server(S_CHALLENGE);
    S.password = "secret";
    S.realms[0] = "example.com";
    S.algs[0] = PL_DIGEST_SHA256;
    S.nchallenges = 1;
    /* the server's first choice is an algorithm Parley does not know: the next one is taken */
    S.first_challenge =
        "Digest realm=\"example.com\", nonce=\"x\", algorithm=SHA3-256, qop=\"auth\"";
    assert_int_equal(pl_ua_profile_add_credential(F.pa, "example.com", "alice", "secret"), PL_OK);
    assert_int_equal(pl_ua_set_handler(F.ua_a, "MESSAGE", &A_H, NULL), PL_OK);
    send_a("MESSAGE", "sip:bob@10.0.0.2", NULL);
    run_to(1000);
    assert_int_equal(count(EV_SUCCESS, 'A'), 1);
    assert_non_null(strstr(S.last_auth, "algorithm=SHA-256"));
}

static void test_auth_stale_nonce(void **state)
{
    (void)state;
    with_server(S_CHALLENGE);
    S.password = "secret";
    S.realms[0] = "example.com";
    S.nchallenges = 1;
    S.stale_once = true; /* the first answer is refused as stale: a new nonce, retry */
    assert_int_equal(pl_ua_profile_add_credential(F.pa, "example.com", "alice", "secret"), PL_OK);
    assert_int_equal(pl_ua_set_handler(F.ua_a, "MESSAGE", &A_H, NULL), PL_OK);
    send_a("MESSAGE", "sip:bob@10.0.0.2", NULL);
    run_to(1000);
    assert_int_equal(count(EV_SUCCESS, 'A'), 1);
    assert_int_equal(S.requests, 3);
}

static void test_auth_bad_challenges(void **state)
{
    (void)state;
    const char *bad[] = {
        "Digest realm=\"example.com\", nonce=\"abc\", algorithm=SHA-1024",
        "Digest realm=\"example.com\"",
        "Basic realm=\"example.com\"",
        "Digest realm=\"example.com, nonce=\"abc",
        "Digest",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        teardown(NULL);
        setup(NULL);
        with_server(S_CHALLENGE);
        S.password = "secret";
        S.realms[0] = "example.com";
        S.nchallenges = 1;
        S.raw_challenge = bad[i];
        assert_int_equal(pl_ua_profile_add_credential(F.pa, NULL, "alice", "secret"), PL_OK);
        assert_int_equal(pl_ua_set_handler(F.ua_a, "MESSAGE", &A_H, NULL), PL_OK);
        send_a("MESSAGE", "sip:bob@10.0.0.2", NULL);
        run_to(1000);
        assert_int_equal(count(EV_FAILURE, 'A'), 1);
        assert_int_equal(last(EV_FAILURE, 'A')->status, 401);
        assert_int_equal(S.requests, 1);
    }
    /* an absurd nonce */
    teardown(NULL);
    setup(NULL);
    with_server(S_CHALLENGE);
    size_t n = 5000;
    char *huge = malloc(n + 64);
    int k = snprintf(huge, 64, "Digest realm=\"example.com\", nonce=\"");
    memset(huge + k, 'a', n);
    strcpy(huge + k + n, "\"");
    S.password = "secret";
    S.realms[0] = "example.com";
    S.nchallenges = 1;
    S.raw_challenge = huge;
    assert_int_equal(pl_ua_profile_add_credential(F.pa, NULL, "alice", "secret"), PL_OK);
    assert_int_equal(pl_ua_set_handler(F.ua_a, "MESSAGE", &A_H, NULL), PL_OK);
    send_a("MESSAGE", "sip:bob@10.0.0.2", NULL);
    run_to(1000);
    free(huge);
    /* refused as absurd: the 401 is the outcome */
    assert_int_equal(count(EV_FAILURE, 'A'), 1);
    assert_int_equal(S.requests, 1);
}

static void test_redirect_policy(void **state)
{
    (void)state;
    with_server(S_REDIRECT);
    assert_int_equal(pl_ua_set_handler(F.ua_a, "MESSAGE", &A_H, NULL), PL_OK);
    send_a("MESSAGE", "sip:bob@10.0.0.2", NULL);
    run_to(1000);
    assert_int_equal(count(EV_FAILURE, 'A'), 1);
    assert_int_equal(last(EV_FAILURE, 'A')->status, 302);
    /* followed: to the best Contact (q=0.9), which redirects again, up to the limit */
    assert_int_equal(pl_ua_profile_set_follow_redirects(F.pa, true), PL_OK);
    NEV = 0;
    S.requests = 0;
    send_a("MESSAGE", "sip:bob@10.0.0.5", NULL);
    run_to(2000);
    assert_int_equal(count(EV_FAILURE, 'A'), 1);
    assert_true(ua_stats(F.ua_a).redirects >= 1);
    /* the retried request went to the q=0.9 contact */
    bool saw = false;
    for (size_t i = 0; i < sim_sent(&F.a); i++) {
        pl_msg *m = sim_parse(sim_nth(&F.a, i));
        saw = saw || (m->is_request && pl_str_eq(m->ruri_raw, PL_STR_LIT("sip:bob@10.0.0.2")) &&
                      m->cseq.num == 2);
    }
    assert_true(saw);
}

static void test_profile_file(void **state)
{
    (void)state;
    char path[] = "/tmp/parley-profile-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "# a test profile\n"
                       "aor = sip:dave@example.com\n"
                       "display_name = Dave\n"
                       "user = dave\npassword = pw  # inline comment\nrealm = example.com\n"
                       "option_tag = timer\nmethod = INFO\n"
                       "default_answer = 503 5000\nfollow_redirects = yes\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    pl_ua_profile *p = pl_ua_profile_new(NULL);
    pl_error err;
    assert_int_equal(pl_ua_profile_load(p, path, &err), PL_OK);
    pl_ua_profile_free(p);
    FILE *f = fopen(path, "w");
    fputs("aor = sip:x@y\nbogus_key = 1\n", f);
    fclose(f);
    p = pl_ua_profile_new(NULL);
    assert_int_equal(pl_ua_profile_load(p, path, &err), PL_EPARSE);
    assert_int_equal(err.offset, 2);
    assert_string_equal(err.reason, "unknown key");
    pl_ua_profile_free(p);
    unlink(path);
    p = pl_ua_profile_new(NULL);
    assert_int_equal(pl_ua_profile_load(p, "/nonexistent/profile", &err), PL_ENOTFOUND);
    assert_int_equal(pl_ua_profile_set_aor(p, "not a uri"), PL_EINVAL);
    assert_int_equal(pl_ua_profile_set_user_agent(p, "bad\r\nX: y"), PL_EINVAL);
    assert_int_equal(pl_ua_profile_add_credential_ha1(p, "r", "u", PL_DIGEST_MD5, "xyz"),
                     PL_EINVAL);
    pl_ua_profile_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_request_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uri_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_options_answered_by_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_options_handler_uses_selected_profile, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_message_accept_reject_provisional, setup, teardown),
        cmocka_unit_test_setup_teardown(test_automatic_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stray_in_dialog_481, setup, teardown),
        cmocka_unit_test_setup_teardown(test_require_unsupported_420, setup, teardown),
        cmocka_unit_test_setup_teardown(test_content_type_415, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_408_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transport_error_503, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_without_resolver_503, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_answer_and_trying, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thousand_unanswered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abandon_and_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edit_and_build_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_readable_after_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_from_callbacks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refer_norefersub, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refer_implicit_subscription, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refer_subscription_expires, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_md5_401, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_sha256_407_auth_int, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_sha512_256, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_wrong_password_no_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_no_credentials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_two_realms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_first_supported_algorithm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_stale_nonce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_bad_challenges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirect_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
