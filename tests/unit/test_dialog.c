/*
 * test_dialog.c - dialog tracking (src/dialog) on a virtual clock and the
 * in-memory network: a caller 10.0.0.2, callees 10.0.0.3 and 10.0.0.4,
 * the proxy udp:10.0.0.1:5060 with a dialog table. Scripted peers send
 * bytes; the tests read what the proxy sent to each peer, and the order
 * and arguments of every dialog callback.
 *
 * The cases follow the test matrix of the dialog-tracking notes: T1
 * (create/confirm/BYE cycles, counts back to zero), T2 (profiles from
 * several threads), T3 (pings and the ACK's CSeq), T4 (ping answers),
 * T5 (CANCEL racing a 200, BYE in early), T6 (forking), T7 (a call that
 * loops through the proxy), T8 (terminate in every state), T12 (forged
 * in-dialog requests).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simnet.h"
#include "testutil.h"

#include <parley/dialog.h>

enum mode {
    M_ONE,   /* the callee 10.0.0.3 */
    M_FORK2, /* both callees at once */
    M_LOOP,  /* first to ourselves (example.com), then the callee */
};

typedef struct fixture {
    pl_wheel wheel;
    sim_ep px, uac, uas1, uas2;
    pl_proxy *p;
    pl_dlg_module *m;
    pl_dlg_table *t;
    enum mode mode;
    uint32_t flags;       /* create flags */
    bool no_create;       /* the router does not create dialogs */
    pl_dlg_profile *prof; /* "caller", with values */
    char cblog[4096];     /* every callback, in order */
    int destroyed;
    int freed_params;
    uint64_t last_id;
    pl_dlg_dir last_dir;
    int seen_validate;
    bool do_validate;
    bool terminate_on_options; /* the reference's example: OPTIONS from the callee ends it */
} fixture;

static fixture F;

#define UAS1 "sip:bob@10.0.0.3:5060"
#define UAS2 "sip:bob@10.0.0.4:5060"

/* ---- callbacks: everything goes into F.cblog as "NAME(dir,leg) " */

static const char *cb_name(uint32_t type)
{
    switch (type) {
    case PL_DLGCB_CREATED:
        return "created";
    case PL_DLGCB_FAILED:
        return "failed";
    case PL_DLGCB_CONFIRMED:
        return "confirmed";
    case PL_DLGCB_REQ_WITHIN:
        return "req";
    case PL_DLGCB_TERMINATED:
        return "terminated";
    case PL_DLGCB_EXPIRED:
        return "expired";
    case PL_DLGCB_EARLY:
        return "early";
    case PL_DLGCB_RESPONSE_FWDED:
        return "fwded";
    case PL_DLGCB_RESPONSE_WITHIN:
        return "within";
    case PL_DLGCB_DESTROY:
        return "destroy";
    case PL_DLGCB_LOADED:
        return "loaded";
    case PL_DLGCB_SAVED:
        return "saved";
    default:
        return "?";
    }
}

static void logcb(pl_dlg *d, uint32_t type, const pl_dlg_cb_params *prm)
{
    (void)d;
    size_t n = strlen(F.cblog);
    char what[32] = "";
    if (prm->msg && prm->msg->is_request)
        snprintf(what, sizeof(what), ":%.*s", (int)prm->msg->method.len, prm->msg->method.p);
    else if (prm->msg)
        snprintf(what, sizeof(what), ":%u", prm->msg->status);
    char why[48] = "";
    if (type == PL_DLGCB_FAILED || type == PL_DLGCB_TERMINATED || type == PL_DLGCB_EXPIRED) {
        pl_str r = pl_dlg_end_reason(d);
        snprintf(why, sizeof(why), "[%.*s]", (int)r.len, r.p);
    }
    snprintf(F.cblog + n, sizeof(F.cblog) - n, "%s%s%s ", cb_name(type), what, why);
    if (type == PL_DLGCB_DESTROY)
        F.destroyed++;
    if (type == PL_DLGCB_REQ_WITHIN && F.terminate_on_options && prm->msg &&
        prm->msg->method_id == PL_METHOD_OPTIONS && prm->dir == PL_DLG_DIR_UPSTREAM)
        assert_int_equal(pl_dlg_terminate(d, PL_STR_LIT("we do not like OPTIONS"), PL_STR_NULL),
                         PL_OK);
}

static void free_param(void *param)
{
    (void)param;
    F.freed_params++;
}

#define ALL_PER_DLG                                                                                \
    (PL_DLGCB_FAILED | PL_DLGCB_CONFIRMED | PL_DLGCB_REQ_WITHIN | PL_DLGCB_TERMINATED |            \
     PL_DLGCB_EXPIRED | PL_DLGCB_EARLY | PL_DLGCB_RESPONSE_FWDED | PL_DLGCB_RESPONSE_WITHIN |      \
     PL_DLGCB_DESTROY)

/* Global CREATED: register every per-dialog type, as a module would. */
static void on_created(pl_dlg *d, uint32_t type, const pl_dlg_cb_params *prm)
{
    logcb(d, type, prm);
    assert_int_equal(pl_dlg_register_cb(F.m, d, ALL_PER_DLG, logcb, &F, free_param), PL_OK);
    F.last_id = pl_dlg_id(d);
}

/* ---- the router */

static void on_request(pl_proxy *p, pl_preq *r, void *arg)
{
    (void)p;
    (void)arg;
    pl_msg *m = pl_preq_msg(r);
    pl_dlg *cur = pl_dlg_current(F.t, r);
    if (cur) {
        F.last_dir = pl_dlg_direction(F.t, r);
        if (F.do_validate)
            F.seen_validate = pl_dlg_validate(cur, r);
    }
    if (pl_preq_loose_route(r) || (m->to && m->to->has_tag)) {
        pl_preq_forward(r);
        return;
    }
    if (m->method_id == PL_METHOD_INVITE && !F.no_create) {
        pl_dlg *d = NULL;
        assert_int_equal(pl_dlg_create(F.t, r, F.flags, &d), PL_OK);
        assert_non_null(d);
        if (F.prof)
            assert_int_equal(pl_dlg_profile_set(d, F.prof, m->from->uri.user, false), PL_OK);
    }
    switch (F.mode) {
    case M_FORK2:
        pl_preq_add_target(r, PL_STR_LIT(UAS1), PL_STR_NULL, 1000, NULL);
        pl_preq_add_target(r, PL_STR_LIT(UAS2), PL_STR_NULL, 1000, NULL);
        break;
    case M_LOOP:
        /* First pass: back to ourselves by name; second pass: the callee. */
        if (m->ruri.host.len == 11 && memcmp(m->ruri.host.p, "example.com", 11) == 0 &&
            !m->ruri.port)
            pl_preq_add_target(r, PL_STR_LIT("sip:bob@10.0.0.1:5060;pass=2"), PL_STR_NULL, 1000,
                               NULL);
        else
            pl_preq_add_target(r, PL_STR_LIT(UAS1), PL_STR_NULL, 1000, NULL);
        break;
    case M_ONE:
        pl_preq_add_target(r, PL_STR_LIT(UAS1), PL_STR_NULL, 1000, NULL);
        break;
    }
    pl_preq_forward(r);
}

static int setup_with(pl_dlg_config *dc)
{
    memset(&F, 0, sizeof(F));
    pl_wheel_init(&F.wheel, 1000);
    sim_ep_init(&F.px, &F.wheel, "udp:10.0.0.1:5060");
    sim_ep_init(&F.uac, &F.wheel, "udp:10.0.0.2:5060");
    sim_ep_init(&F.uas1, &F.wheel, "udp:10.0.0.3:5060");
    sim_ep_init(&F.uas2, &F.wheel, "udp:10.0.0.4:5060");
    pl_proxy_config c = {
        .wheel = &F.wheel,
        .sender = &F.px.sender,
        .router = {on_request, NULL, NULL, NULL},
        .log_level = PL_PROXY_LOG_ERROR,
    };
    pl_target_parse(&c.locals[0].target, "udp:10.0.0.1:5060");
    c.n_locals = 1;
    snprintf(c.aliases[0], sizeof(c.aliases[0]), "example.com");
    c.n_aliases = 1;
    F.p = pl_proxy_new(&c);
    assert_non_null(F.p);
    F.px.layer = pl_proxy_txn_layer(F.p);
    pl_dlg_config d0 = {.log_level = PL_PROXY_LOG_ERROR};
    F.m = pl_dlg_module_new(dc ? dc : &d0);
    assert_non_null(F.m);
    F.t = pl_dlg_table_new(F.m, 0, F.p);
    assert_non_null(F.t);
    assert_int_equal(pl_dlg_register_cb(F.m, NULL, PL_DLGCB_CREATED, on_created, NULL, free_param),
                     PL_OK);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    return setup_with(NULL);
}

static int teardown(void **state)
{
    (void)state;
    pl_dlg_table_free(F.t);
    pl_proxy_free(F.p);
    pl_dlg_module_free(F.m);
    sim_ep_free(&F.px);
    sim_ep_free(&F.uac);
    sim_ep_free(&F.uas1);
    sim_ep_free(&F.uas2);
    tu_free_all();
    return 0;
}

/* ---- peers */

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

/* The next request of this method sent to ep (skipping others). */
static pl_msg *next_req_to(sim_ep *ep, pl_method meth)
{
    pl_msg *m;
    while ((m = next_to(ep)))
        if (m->is_request && m->method_id == meth)
            return m;
    return NULL;
}

static void answer(sim_ep *ep, const pl_msg *req, uint16_t code, const char *tag)
{
    pl_msg resp;
    assert_int_equal(
        pl_msg_build_response(&resp, tu_arena(), req, code, PL_STR_NULL, pl_str_c(tag), NULL),
        PL_OK);
    if (code > 100 && code < 300 && req->method_id == PL_METHOD_INVITE) {
        char c[64];
        snprintf(c, sizeof(c), "<sip:bob@%s>", ep == &F.uas1 ? "10.0.0.3:5060" : "10.0.0.4:5060");
        pl_msg_hdr_append(&resp, PL_STR_LIT("Contact"), pl_str_c(c));
    }
    assert_int_equal(send_msg(ep, &resp), PL_OK);
}

static void send_invite(const char *ruri, const char *callid, const char *from_user)
{
    char t[1024];
    snprintf(t, sizeof(t),
             "INVITE %s SIP/2.0\n"
             "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK%s\n"
             "Max-Forwards: 70\n"
             "From: <sip:%s@10.0.0.2>;tag=a1\n"
             "To: <sip:bob@example.com>\n"
             "Call-ID: %s\n"
             "CSeq: 1 INVITE\n"
             "Contact: <sip:alice@10.0.0.2:5060>\n"
             "Content-Length: 0\n\n",
             ruri, callid, from_user ? from_user : "alice", callid);
    assert_int_equal(send_from(&F.uac, t), PL_OK);
}

/*
 * A request in the dialog from the caller (to the callee with to_tag) or
 * from the callee ep (to the caller). route: the Route header's value
 * (the proxy's Record-Route as the 2xx carried it) or NULL.
 */
static void send_seq(sim_ep *ep, const char *method, const char *callid, const char *to_tag,
                     uint32_t cseq, const char *route, const char *branch)
{
    char t[1024];
    bool caller = ep == &F.uac;
    char rt[300] = "";
    if (route)
        snprintf(rt, sizeof(rt), "Route: %s\n", route);
    snprintf(t, sizeof(t),
             "%s %s SIP/2.0\n"
             "Via: SIP/2.0/UDP %s:5060;branch=z9hG4bK%s\n"
             "%s"
             "Max-Forwards: 70\n"
             "From: %s\n"
             "To: %s\n"
             "Call-ID: %s\n"
             "CSeq: %u %s\n"
             "Content-Length: 0\n\n",
             method,
             caller ? (ep == &F.uac && to_tag && !strcmp(to_tag, "b2") ? UAS2 : UAS1)
                    : "sip:alice@10.0.0.2:5060",
             caller ? "10.0.0.2" : (ep == &F.uas1 ? "10.0.0.3" : "10.0.0.4"), branch, rt,
             caller ? "<sip:alice@10.0.0.2>;tag=a1" : "<sip:bob@example.com>;tag=XX",
             caller ? "<sip:bob@example.com>;tag=XX" : "<sip:alice@10.0.0.2>;tag=a1", callid, cseq,
             method);
    /* The callee's tag in place of XX. */
    char *x = strstr(t, "tag=XX");
    if (x) {
        char rest[1024];
        snprintf(rest, sizeof(rest), "%s", x + 6);
        snprintf(x, sizeof(t) - (size_t)(x - t), "tag=%s%s", to_tag ? to_tag : "", rest);
    }
    assert_int_equal(send_from(ep, t), PL_OK);
}

static void run_for(uint64_t ms)
{
    sim_run(&F.wheel, NULL, NULL, F.wheel.now + ms);
}

static pl_dlg *cur(void)
{
    return pl_dlg_lookup(F.t, F.last_id);
}

static pl_dlg_stats stats(void)
{
    pl_dlg_stats s;
    pl_dlg_get_stats(F.m, &s);
    return s;
}

static bool has_hdr_value(const pl_msg *m, pl_hdr_id id, const char *needle)
{
    for (uint32_t i = 0; i < m->hdr_count; i++)
        if (m->hdrs[i].id == id && m->hdrs[i].value.len &&
            memmem(m->hdrs[i].value.p, m->hdrs[i].value.len, needle, strlen(needle)))
            return true;
    return false;
}

/* Set up a confirmed call "callid": INVITE, 180, 200 (tag b1), ACK. Returns the Record-Route. */
static const char *confirmed_call(const char *callid, bool ack)
{
    static char rr[256];
    send_invite(UAS1, callid, NULL);
    pl_msg *inv = must_next_to(&F.uas1);
    assert_int_equal(inv->record_route_count, 1);
    snprintf(rr, sizeof(rr), "<%.*s>", (int)inv->record_route->uri_raw.len,
             inv->record_route->uri_raw.p);
    answer(&F.uas1, inv, 180, "b1");
    answer(&F.uas1, inv, 200, "b1");
    while (next_to(&F.uac))
        ;
    if (ack) {
        send_seq(&F.uac, "ACK", callid, "b1", 1, rr, "ack1");
        assert_non_null(next_req_to(&F.uas1, PL_METHOD_ACK));
    }
    return rr;
}

/* ---- T1: a normal call, every callback in order */

static void test_normal_call(void **state)
{
    (void)state;
    send_invite(UAS1, "c1", NULL);
    pl_dlg *d = cur();
    assert_non_null(d);
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_UNCONFIRMED);
    pl_msg *inv = must_next_to(&F.uas1);
    /* The id rides in our Record-Route. */
    char hex[17], want[64];
    pl_dlg_id_print(pl_dlg_id(d), hex);
    snprintf(want, sizeof(want), ";did=%s", hex);
    assert_true(has_hdr_value(inv, PL_HDR_RECORD_ROUTE, want));
    assert_int_equal((uint32_t)(pl_dlg_id(d) >> 32), pl_dlg_hash(PL_STR_LIT("c1")));

    answer(&F.uas1, inv, 180, "b1");
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_EARLY);
    assert_int_equal(stats().early, 1);
    answer(&F.uas1, inv, 200, "b1");
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_CONFIRMED_NA);
    assert_int_equal(stats().active, 1);
    assert_int_equal(stats().early, 0);
    assert_str(pl_dlg_callee_tag(d), "b1");
    assert_str(pl_dlg_caller_tag(d), "a1");
    char rr[128];
    snprintf(rr, sizeof(rr), "<sip:10.0.0.1:5060;lr;did=%s>", hex);
    send_seq(&F.uac, "ACK", "c1", "b1", 1, rr, "ack1");
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_CONFIRMED);
    assert_int_equal(F.last_dir, PL_DLG_DIR_DOWNSTREAM);
    send_seq(&F.uac, "BYE", "c1", "b1", 2, rr, "bye1");
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_DELETED);
    assert_str(pl_dlg_end_reason(d), "Downstream BYE");
    pl_msg *bye = next_req_to(&F.uas1, PL_METHOD_BYE);
    assert_non_null(bye);
    answer(&F.uas1, bye, 200, "b1");
    run_for(40000);
    assert_string_equal(F.cblog,
                        "created:INVITE early:180 fwded:180 confirmed:200 fwded:200 "
                        "req:ACK req:BYE terminated:BYE[Downstream BYE] within:200 destroy ");
    assert_int_equal(F.destroyed, 1);
    assert_int_equal(F.freed_params, 1);
    pl_dlg_stats s = stats();
    assert_int_equal(s.active, 0);
    assert_int_equal(s.live, 0);
    assert_int_equal(s.processed, 1);
    assert_int_equal(s.terminated, 1);
    assert_int_equal(s.failed, 0);
    assert_null(pl_dlg_lookup(F.t, F.last_id));
}

/* A BYE from the callee ends it too (upstream), matched to the caller's tag. */
static void test_callee_bye(void **state)
{
    (void)state;
    const char *rr = confirmed_call("c2", true);
    pl_dlg *d = cur();
    send_seq(&F.uas1, "BYE", "c2", "b1", 7, rr, "cbye");
    assert_int_equal(F.last_dir, PL_DLG_DIR_UPSTREAM);
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_DELETED);
    assert_str(pl_dlg_end_reason(d), "Upstream BYE");
    assert_non_null(next_req_to(&F.uac, PL_METHOD_BYE));
}

/* A failure: FAILED, never TERMINATED or EXPIRED; destroyed once. */
static void test_failed_call(void **state)
{
    (void)state;
    send_invite(UAS1, "c3", NULL);
    pl_msg *inv = must_next_to(&F.uas1);
    answer(&F.uas1, inv, 486, "b1");
    assert_int_equal(must_next_to(&F.uac)->status, 486);
    run_for(40000);
    assert_string_equal(F.cblog, "created:INVITE fwded:486 failed:486[Failed] destroy ");
    assert_int_equal(stats().failed, 1);
    assert_int_equal(stats().live, 0);
}

/* CANCEL: 487 up, FAILED with the reason "Cancelled". */
static void test_cancelled(void **state)
{
    (void)state;
    send_invite(UAS1, "c4", NULL);
    pl_msg *inv = must_next_to(&F.uas1);
    answer(&F.uas1, inv, 180, "b1");
    const char *cancel = "CANCEL " UAS1 " SIP/2.0\n"
                         "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKc4\n"
                         "Max-Forwards: 70\n"
                         "From: <sip:alice@10.0.0.2>;tag=a1\n"
                         "To: <sip:bob@example.com>\n"
                         "Call-ID: c4\n"
                         "CSeq: 1 CANCEL\n"
                         "Content-Length: 0\n\n";
    assert_int_equal(send_from(&F.uac, cancel), PL_OK);
    pl_msg *fc = next_req_to(&F.uas1, PL_METHOD_CANCEL);
    assert_non_null(fc);
    answer(&F.uas1, inv, 487, "b1");
    run_for(40000);
    assert_string_equal(F.cblog, "created:INVITE early:180 fwded:180 fwded:487 "
                                 "failed:487[Cancelled] destroy ");
    assert_null(cur());
}

/* ---- T5: races */

/* A 200 that crosses the caller's CANCEL: the dialog is confirmed, and
 * since nobody wants the call, ended with BYE both ways soon after. */
static void test_cancel_races_200(void **state)
{
    (void)state;
    send_invite(UAS1, "c5", NULL);
    pl_msg *inv = must_next_to(&F.uas1);
    answer(&F.uas1, inv, 180, "b1");
    const char *cancel = "CANCEL " UAS1 " SIP/2.0\n"
                         "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKc5\n"
                         "Max-Forwards: 70\n"
                         "From: <sip:alice@10.0.0.2>;tag=a1\n"
                         "To: <sip:bob@example.com>\n"
                         "Call-ID: c5\n"
                         "CSeq: 1 CANCEL\n"
                         "Content-Length: 0\n\n";
    assert_int_equal(send_from(&F.uac, cancel), PL_OK);
    assert_non_null(next_req_to(&F.uas1, PL_METHOD_CANCEL));
    answer(&F.uas1, inv, 200, "b1"); /* too late to cancel */
    pl_dlg *d = cur();
    assert_non_null(d);
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_CONFIRMED_NA);
    assert_str(pl_dlg_end_reason(d), "SIP Race Condition");
    while (next_to(&F.uas1))
        ;
    while (next_to(&F.uac))
        ;
    run_for(6000);
    pl_msg *b1 = next_req_to(&F.uas1, PL_METHOD_BYE);
    pl_msg *b0 = next_req_to(&F.uac, PL_METHOD_BYE);
    assert_non_null(b1);
    assert_non_null(b0);
    assert_non_null(strstr(F.cblog, "confirmed:200 "));
    assert_non_null(strstr(F.cblog, "terminated[SIP Race Condition]"));
    assert_null(strstr(F.cblog, "failed"));
}

/* The caller's BYE while early marks the dialog; a 200 after it gets the same treatment. */
static void test_bye_in_early_then_200(void **state)
{
    (void)state;
    send_invite(UAS1, "c6", NULL);
    pl_msg *inv = must_next_to(&F.uas1);
    answer(&F.uas1, inv, 180, "b1");
    send_seq(&F.uac, "BYE", "c6", "b1", 2, NULL, "ebye");
    pl_dlg *d = cur();
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_EARLY); /* not ended by it */
    /* A BYE from the callee before a 2xx is not valid (RFC 3261 15): ignored. */
    send_seq(&F.uas1, "BYE", "c6", "b1", 5, NULL, "ebye2");
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_EARLY);
    answer(&F.uas1, inv, 200, "b1");
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_CONFIRMED_NA);
    assert_str(pl_dlg_end_reason(d), "SIP Race Condition");
    run_for(6000);
    assert_non_null(strstr(F.cblog, "terminated[SIP Race Condition]"));
}

/* ---- T6: forking */

static void test_forking(void **state)
{
    (void)state;
    F.mode = M_FORK2;
    send_invite("sip:bob@example.com", "c7", NULL);
    pl_msg *i1 = must_next_to(&F.uas1);
    pl_msg *i2 = must_next_to(&F.uas2);
    answer(&F.uas1, i1, 180, "b1");
    answer(&F.uas2, i2, 180, "b2");
    pl_dlg *d = cur();
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_EARLY);
    answer(&F.uas2, i2, 200, "b2"); /* the first 2xx picks the primary leg */
    answer(&F.uas1, i1, 200, "b1"); /* both answered: a second 2xx */
    assert_str(pl_dlg_callee_tag(d), "b2");
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_CONFIRMED_NA);
    /* CONFIRMED once, for the first 2xx only. */
    const char *c1 = strstr(F.cblog, "confirmed");
    assert_non_null(c1);
    assert_null(strstr(c1 + 1, "confirmed"));
    char hex[17], rr[128];
    pl_dlg_id_print(pl_dlg_id(d), hex);
    snprintf(rr, sizeof(rr), "<sip:10.0.0.1:5060;lr;did=%s>", hex);
    send_seq(&F.uac, "ACK", "c7", "b2", 1, rr, "ack7a");
    send_seq(&F.uac, "ACK", "c7", "b1", 1, rr, "ack7b");
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_CONFIRMED);
    /* The caller hangs up the extra leg: the dialog stays. */
    send_seq(&F.uac, "BYE", "c7", "b1", 2, rr, "bye7a");
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_CONFIRMED);
    assert_non_null(next_req_to(&F.uas1, PL_METHOD_BYE));
    /* Then the primary: it ends. */
    send_seq(&F.uac, "BYE", "c7", "b2", 3, rr, "bye7b");
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_DELETED);
    assert_non_null(next_req_to(&F.uas2, PL_METHOD_BYE));
}

/* A downstream proxy forks: two early dialogs on one branch, the second one answers. */
static void test_downstream_fork(void **state)
{
    (void)state;
    send_invite(UAS1, "c8", NULL);
    pl_msg *inv = must_next_to(&F.uas1);
    answer(&F.uas1, inv, 180, "x1");
    answer(&F.uas1, inv, 183, "x2");
    answer(&F.uas1, inv, 200, "x2");
    pl_dlg *d = cur();
    assert_str(pl_dlg_callee_tag(d), "x2");
    /* A PRACK-like request to the other early leg would match (any callee tag)... */
    char hex[17], rr[128];
    pl_dlg_id_print(pl_dlg_id(d), hex);
    snprintf(rr, sizeof(rr), "<sip:10.0.0.1:5060;lr;did=%s>", hex);
    send_seq(&F.uac, "ACK", "c8", "x2", 1, rr, "ack8");
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_CONFIRMED);
    /* ...but only a BYE to the primary leg ends it. */
    send_seq(&F.uac, "BYE", "c8", "x1", 2, rr, "bye8a");
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_CONFIRMED);
    send_seq(&F.uac, "BYE", "c8", "x2", 3, rr, "bye8b");
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_DELETED);
}

/* The caller retries with the same Call-ID after a 407 (serial attempts):
 * a fresh dialog, and the ACK of the second attempt finds it, not the
 * failed first one (T6). */
static void test_retry_same_call_id(void **state)
{
    (void)state;
    send_invite(UAS1, "c9", NULL);
    pl_msg *inv = must_next_to(&F.uas1);
    uint64_t first = F.last_id;
    answer(&F.uas1, inv, 407, "p1");
    run_for(100);
    char t[1024];
    snprintf(t, sizeof(t),
             "INVITE " UAS1 " SIP/2.0\n"
             "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKc9b\n"
             "Max-Forwards: 70\n"
             "From: <sip:alice@10.0.0.2>;tag=a1\n"
             "To: <sip:bob@example.com>\n"
             "Call-ID: c9\n"
             "CSeq: 2 INVITE\n"
             "Contact: <sip:alice@10.0.0.2:5060>\n"
             "Proxy-Authorization: Digest username=\"a\"\n"
             "Content-Length: 0\n\n");
    assert_int_equal(send_from(&F.uac, t), PL_OK);
    assert_true(F.last_id != first);
    pl_msg *inv2 = next_req_to(&F.uas1, PL_METHOD_INVITE);
    assert_non_null(inv2);
    answer(&F.uas1, inv2, 200, "b9");
    pl_dlg *d = cur();
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_CONFIRMED_NA);
    /* An ACK routed by Call-ID and tags only (no id): the live dialog. */
    const char *ack = "ACK " UAS1 " SIP/2.0\n"
                      "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKack9\n"
                      "Max-Forwards: 70\n"
                      "From: <sip:alice@10.0.0.2>;tag=a1\n"
                      "To: <sip:bob@example.com>;tag=b9\n"
                      "Call-ID: c9\n"
                      "CSeq: 2 ACK\n"
                      "Content-Length: 0\n\n";
    assert_int_equal(send_from(&F.uac, ack), PL_OK);
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_CONFIRMED);
}

/* ---- T8: terminate in every state */

static void test_terminate_unconfirmed(void **state)
{
    (void)state;
    send_invite(UAS1, "t1", NULL);
    pl_msg *inv = must_next_to(&F.uas1);
    pl_dlg *d = cur();
    assert_int_equal(pl_dlg_terminate(d, PL_STR_LIT("admin"), PL_STR_NULL), PL_OK);
    /* No provisional yet: the CANCEL waits for one (RFC 3261 9.1). */
    assert_null(next_req_to(&F.uas1, PL_METHOD_CANCEL));
    answer(&F.uas1, inv, 180, "b1");
    assert_non_null(next_req_to(&F.uas1, PL_METHOD_CANCEL));
    answer(&F.uas1, inv, 487, "b1");
    pl_msg *m, *last = NULL;
    while ((m = next_to(&F.uac)))
        last = m;
    assert_non_null(last);
    assert_int_equal(last->status, 487);
    run_for(40000);
    assert_non_null(strstr(F.cblog, "failed:487[admin]"));
    assert_null(strstr(F.cblog, "terminated"));
}

static void test_terminate_early(void **state)
{
    (void)state;
    send_invite(UAS1, "t2", NULL);
    pl_msg *inv = must_next_to(&F.uas1);
    answer(&F.uas1, inv, 183, "b1");
    assert_int_equal(pl_dlg_terminate(cur(), PL_STR_NULL, PL_STR_NULL), PL_OK);
    assert_non_null(next_req_to(&F.uas1, PL_METHOD_CANCEL));
    answer(&F.uas1, inv, 487, "b1");
    run_for(40000);
    assert_non_null(strstr(F.cblog, "failed:487[Terminated]"));
}

/* Check a BYE the proxy made toward a leg. */
static void check_bye(const pl_msg *bye, const char *ruri, const char *from_tag, const char *to_tag,
                      uint32_t cseq)
{
    assert_non_null(bye);
    assert_str(bye->ruri_raw, ruri);
    assert_str(bye->from->tag, from_tag);
    assert_str(bye->to->tag, to_tag);
    assert_int_equal(bye->cseq.num, cseq);
    assert_int_equal(bye->cseq.method_id, PL_METHOD_BYE);
    assert_str(bye->via->host, "10.0.0.1");
    assert_true(has_hdr_value(bye, PL_HDR_REASON, "why not"));
}

static void test_terminate_confirmed(void **state)
{
    (void)state;
    confirmed_call("t3", false); /* state 3: no ACK yet */
    pl_dlg *d = cur();
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_CONFIRMED_NA);
    assert_int_equal(pl_dlg_terminate(d, PL_STR_LIT("MI Termination"),
                                      PL_STR_LIT("Reason: SIP;text=\"why not\"\r\n")),
                     PL_OK);
    /* Toward the caller: its Contact, From = callee's tag, CSeq 1 (nothing
     * came from the callee); toward the callee: CSeq one above the INVITE's. */
    check_bye(next_req_to(&F.uac, PL_METHOD_BYE), "sip:alice@10.0.0.2:5060", "b1", "a1", 1);
    check_bye(next_req_to(&F.uas1, PL_METHOD_BYE), UAS1, "a1", "b1", 2);
    assert_non_null(strstr(F.cblog, "terminated[MI Termination]"));
    /* Again: already ended. */
    assert_int_equal(pl_dlg_terminate(d, PL_STR_NULL, PL_STR_NULL), PL_ESTATE);
    run_for(40000); /* the BYEs go unanswered: 408 each, the dialog still goes */
    assert_null(cur());
    assert_int_equal(F.destroyed, 1);
}

static void test_terminate_confirmed_acked_by_id(void **state)
{
    (void)state;
    const char *rr = confirmed_call("t4", true);
    /* The callee sent a request: the BYE toward the caller goes above its CSeq. */
    send_seq(&F.uas1, "INFO", "t4", "b1", 40, rr, "info4");
    pl_msg *info = next_req_to(&F.uac, PL_METHOD_INFO);
    assert_non_null(info);
    answer(&F.uac, info, 200, "a1");
    assert_int_equal(pl_dlg_module_terminate(F.m, F.last_id, PL_STR_LIT("by id"), PL_STR_NULL),
                     PL_OK);
    /* Queued for the table's thread: nothing yet. */
    assert_null(next_req_to(&F.uac, PL_METHOD_BYE));
    pl_dlg_table_run(F.t);
    pl_msg *b0 = next_req_to(&F.uac, PL_METHOD_BYE);
    assert_non_null(b0);
    assert_int_equal(b0->cseq.num, 41);
    pl_msg *b1 = next_req_to(&F.uas1, PL_METHOD_BYE);
    assert_non_null(b1);
    assert_int_equal(b1->cseq.num, 2);
    answer(&F.uac, b0, 200, "a1");
    answer(&F.uas1, b1, 200, "b1");
    run_for(10); /* the answers reach the dialog module from the loop */
    assert_non_null(strstr(F.cblog, "terminated[by id]"));
    assert_null(cur());
    /* An unknown id is queued and finds nothing. */
    assert_int_equal(pl_dlg_module_terminate(F.m, 42, PL_STR_NULL, PL_STR_NULL), PL_OK);
    pl_dlg_table_run(F.t);
}

/* ---- lifetime */

static void test_lifetime_expired_silently(void **state)
{
    (void)state;
    confirmed_call("l1", true);
    pl_dlg *d = cur();
    assert_int_equal(pl_dlg_set_lifetime(d, 10), PL_OK);
    assert_int_equal(pl_dlg_lifetime_left(d), 10);
    size_t sent = F.px.n;
    run_for(10500);
    assert_null(cur());
    assert_int_equal(F.px.n, sent); /* nothing sent */
    assert_non_null(strstr(F.cblog, "expired[Lifetime Timeout] destroy "));
    assert_null(strstr(F.cblog, "terminated"));
    assert_int_equal(stats().expired, 1);
    assert_int_equal(stats().active, 0);
}

static void test_lifetime_bye(void **state)
{
    (void)state;
    F.flags = PL_DLG_F_BYE_ON_TIMEOUT;
    confirmed_call("l2", true);
    assert_int_equal(pl_dlg_set_lifetime(cur(), 5), PL_OK);
    run_for(5500);
    assert_non_null(next_req_to(&F.uac, PL_METHOD_BYE));
    assert_non_null(next_req_to(&F.uas1, PL_METHOD_BYE));
    assert_non_null(strstr(F.cblog, "terminated[Lifetime Timeout]"));
    assert_null(strstr(F.cblog, "expired"));
}

/* No ACK within the no-ACK timeout: ended with BYE both ways. */
static void test_no_ack(void **state)
{
    (void)state;
    confirmed_call("l3", false);
    run_for(61000);
    assert_non_null(next_req_to(&F.uac, PL_METHOD_BYE));
    assert_non_null(next_req_to(&F.uas1, PL_METHOD_BYE));
    assert_non_null(strstr(F.cblog, "terminated[No ACK]"));
}

/* ---- T3/T4: pings */

/* Answer every OPTIONS ping sent to ep with code (0: leave it unanswered); returns how many. */
static int answer_pings(sim_ep *ep, uint16_t code, const char *tag, uint32_t *cseq)
{
    static char last[2][64]; /* the last ping's branch, per peer */
    char *seen = last[ep == &F.uac];
    int n = 0;
    pl_msg *m;
    while ((m = next_to(ep))) {
        if (!m->is_request || m->method_id != PL_METHOD_OPTIONS)
            continue;
        if (strlen(seen) == m->via->branch.len &&
            memcmp(seen, m->via->branch.p, m->via->branch.len) == 0)
            continue; /* a retransmission (Timer E) */
        snprintf(seen, 64, "%.*s", (int)m->via->branch.len, m->via->branch.p);
        n++;
        if (cseq)
            *cseq = m->cseq.num;
        if (code)
            answer(ep, m, code, tag);
    }
    return n;
}

static void test_pings_alive(void **state)
{
    (void)state;
    F.flags = PL_DLG_F_PING_CALLER | PL_DLG_F_PING_CALLEE;
    confirmed_call("p1", false);
    /* Not before the ACK (a ping between the 200 and the ACK must not
     * disturb the ACK, T3). */
    run_for(31000);
    assert_int_equal(answer_pings(&F.uac, 200, "a1", NULL), 0);
    assert_int_equal(answer_pings(&F.uas1, 200, "b1", NULL), 0);
    char hex[17], rr[128];
    pl_dlg_id_print(F.last_id, hex);
    snprintf(rr, sizeof(rr), "<sip:10.0.0.1:5060;lr;did=%s>", hex);
    send_seq(&F.uac, "ACK", "p1", "b1", 1, rr, "ackp1");
    pl_msg *ack = next_req_to(&F.uas1, PL_METHOD_ACK);
    assert_non_null(ack);
    assert_int_equal(ack->cseq.num, 1); /* relayed as it came */
    run_for(30500);
    uint32_t c_caller = 99, c_callee = 99;
    /* The caller has not heard from the callee: CSeq 0; the callee last saw the INVITE's 1: 0. */
    assert_int_equal(answer_pings(&F.uac, 200, "a1", &c_caller), 1);
    assert_int_equal(answer_pings(&F.uas1, 405, "b1", &c_callee), 1); /* 405: still there */
    assert_int_equal(c_caller, 0);
    assert_int_equal(c_callee, 0);
    run_for(30000);
    assert_int_equal(answer_pings(&F.uac, 500, "a1", NULL), 1); /* 500 (lower CSeq): alive */
    assert_int_equal(answer_pings(&F.uas1, 404, "b1", NULL), 1);
    assert_int_equal(pl_dlg_state_of(cur()), PL_DLG_CONFIRMED);
    /* In-dialog requests after the pings go through untouched (T3). */
    send_seq(&F.uac, "INFO", "p1", "b1", 2, rr, "infop1");
    pl_msg *info = next_req_to(&F.uas1, PL_METHOD_INFO);
    assert_non_null(info);
    assert_int_equal(info->cseq.num, 2);
    /* A re-INVITE refused with 488 while pings are on: the hop-by-hop ACK
     * the proxy's transaction makes carries the re-INVITE's CSeq (T3). */
    answer(&F.uas1, info, 200, "b1");
    send_seq(&F.uac, "INVITE", "p1", "b1", 3, rr, "reinv");
    pl_msg *reinv = next_req_to(&F.uas1, PL_METHOD_INVITE);
    assert_non_null(reinv);
    answer(&F.uas1, reinv, 488, "b1");
    pl_msg *hop_ack = next_req_to(&F.uas1, PL_METHOD_ACK);
    assert_non_null(hop_ack);
    assert_int_equal(hop_ack->cseq.num, 3);
    /* The next ping toward the callee stays below what the caller uses. */
    run_for(30000);
    uint32_t c = 0;
    assert_int_equal(answer_pings(&F.uas1, 200, "b1", &c), 1);
    assert_int_equal(c, 2);
    assert_int_equal(pl_dlg_state_of(cur()), PL_DLG_CONFIRMED);
}

static void ping_gone(uint16_t code, const char *reason)
{
    F.flags = PL_DLG_F_PING_CALLEE;
    confirmed_call("p2", true);
    run_for(30500);
    assert_int_equal(answer_pings(&F.uas1, code, "b1", NULL), 1);
    run_for(10);
    if (!code) {
        /* Unanswered: one ping outstanding at a time, then 408 at Timer F. */
        run_for(30000);
        assert_int_equal(answer_pings(&F.uas1, 0, "b1", NULL), 0);
        run_for(3000);
    }
    assert_non_null(next_req_to(&F.uac, PL_METHOD_BYE));
    assert_non_null(next_req_to(&F.uas1, PL_METHOD_BYE));
    char want[64];
    snprintf(want, sizeof(want), "terminated[%s]", reason);
    assert_non_null(strstr(F.cblog, want));
}

static void test_ping_408(void **state)
{
    (void)state;
    ping_gone(408, "Callee Ping Timeout");
}

static void test_ping_481(void **state)
{
    (void)state;
    ping_gone(481, "Callee Ping Timeout");
}

static void test_ping_timeout(void **state)
{
    (void)state;
    ping_gone(0, "Callee Ping Timeout");
}

/* ---- T12: forged in-dialog requests */

static void test_forged(void **state)
{
    (void)state;
    const char *rr = confirmed_call("f1", true);
    F.do_validate = true;
    /* A valid id with foreign tags: the tight match refuses it. */
    send_seq(&F.uac, "BYE", "f1", "zz", 5, rr, "forge1");
    assert_int_equal(pl_dlg_state_of(cur()), PL_DLG_CONFIRMED);
    /* Right tags, CSeq not above the last (1): bad CSeq. */
    F.seen_validate = 0;
    send_seq(&F.uac, "INFO", "f1", "b1", 1, rr, "forge2");
    assert_int_equal(F.seen_validate, PL_DLG_BAD_CSEQ);
    F.seen_validate = 0;
    send_seq(&F.uac, "INFO", "f1", "b1", 3, rr, "ok3");
    assert_int_equal(F.seen_validate, PL_DLG_VALID);
    /* A Request-URI that is not the callee's Contact. */
    char b[1024];
    snprintf(b, sizeof(b),
             "INFO sip:mallory@10.0.0.9 SIP/2.0\n"
             "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKforge3\n"
             "Route: %s\n"
             "Max-Forwards: 70\n"
             "From: <sip:alice@10.0.0.2>;tag=a1\n"
             "To: <sip:bob@example.com>;tag=b1\n"
             "Call-ID: f1\n"
             "CSeq: 4 INFO\n"
             "Content-Length: 0\n\n",
             rr);
    F.seen_validate = 0;
    assert_int_equal(send_from(&F.uac, b), PL_OK);
    assert_int_equal(F.seen_validate, PL_DLG_BAD_TARGET);
    /* An extra Route after ours. */
    char rr2[300];
    snprintf(rr2, sizeof(rr2), "%s, <sip:10.0.0.9;lr>", rr);
    F.seen_validate = 0;
    send_seq(&F.uac, "INFO", "f1", "b1", 5, rr2, "forge4");
    assert_int_equal(F.seen_validate, PL_DLG_BAD_ROUTE);
}

/* fix_route puts the stored target and route set back. */
static bool fix_next;
static void fix_router(pl_proxy *p, pl_preq *r, void *arg)
{
    (void)p;
    (void)arg;
    pl_dlg *d = pl_dlg_current(F.t, r);
    if (d && fix_next)
        assert_int_equal(pl_dlg_fix_route(d, r), PL_OK);
    pl_preq_forward(r);
}

static void test_fix_route(void **state)
{
    (void)state;
    const char *rr = confirmed_call("f2", true);
    pl_proxy_set_router(F.p, &(pl_proxy_router){fix_router, NULL, NULL, NULL});
    fix_next = true;
    char b[1024];
    snprintf(b, sizeof(b),
             "INFO sip:mallory@10.0.0.9 SIP/2.0\n"
             "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKfix\n"
             "Route: %s\n"
             "Max-Forwards: 70\n"
             "From: <sip:alice@10.0.0.2>;tag=a1\n"
             "To: <sip:bob@example.com>;tag=b1\n"
             "Call-ID: f2\n"
             "CSeq: 4 INFO\n"
             "Content-Length: 0\n\n",
             rr);
    assert_int_equal(send_from(&F.uac, b), PL_OK);
    pl_msg *m = next_req_to(&F.uas1, PL_METHOD_INFO);
    assert_non_null(m);
    assert_str(m->ruri_raw, UAS1);
}

/* ---- T7: a call that loops through the proxy: two dialogs, each matched by its own id */

static void test_loop(void **state)
{
    (void)state;
    F.mode = M_LOOP;
    send_invite("sip:bob@example.com", "lp", NULL);
    /* The first pass sent it to ourselves: feed it back in as the network would. */
    pl_msg *self = NULL;
    for (size_t i = 0; i < F.px.n; i++)
        if (pl_target_eq(&F.px.log[i].dst, &F.px.self))
            self = sim_parse(&F.px.log[i]);
    assert_non_null(self);
    assert_int_equal(sim_inject(&F.px, pl_proxy_txn_layer(F.p), self), PL_OK);
    uint64_t second = F.last_id;
    pl_msg *inv = must_next_to(&F.uas1);
    assert_int_equal(inv->record_route_count, 2);
    assert_int_equal(stats().live, 2);
    answer(&F.uas1, inv, 200, "b1");
    /* The 2xx went to ourselves (the first pass's Via): deliver it. */
    for (size_t i = 0; i < F.px.n; i++) {
        if (pl_target_eq(&F.px.log[i].dst, &F.px.self) && !F.px.log[i].dropped) {
            pl_msg *m = sim_parse(&F.px.log[i]);
            if (!m->is_request && m->status == 200) {
                F.px.log[i].dropped = true;
                assert_int_equal(sim_inject(&F.px, pl_proxy_txn_layer(F.p), m), PL_OK);
            }
        }
    }
    assert_int_equal(stats().active, 2);
    pl_dlg *d2 = pl_dlg_lookup(F.t, second);
    assert_non_null(d2);
    assert_int_equal(pl_dlg_state_of(d2), PL_DLG_CONFIRMED_NA);
}

/* ---- profiles and values */

static void test_profiles(void **state)
{
    (void)state;
    assert_int_equal(pl_dlg_profile_define(F.m, "caller;other", true), PL_OK);
    assert_int_equal(pl_dlg_profile_define(F.m, "all", false), PL_OK);
    assert_int_equal(pl_dlg_profile_define(F.m, "caller", true), PL_OK); /* again: fine */
    assert_int_equal(pl_dlg_profile_define(F.m, "caller", false), PL_EINVAL);
    assert_int_equal(pl_dlg_profile_define(F.m, "bad name", false), PL_EINVAL);
    F.prof = pl_dlg_profile_find(F.m, PL_STR_LIT("caller"));
    pl_dlg_profile *all = pl_dlg_profile_find(F.m, PL_STR_LIT("all"));
    assert_non_null(F.prof);
    assert_non_null(all);
    assert_true(pl_dlg_profile_has_value(F.prof));
    assert_false(pl_dlg_profile_has_value(all));
    /* 1000 concurrent calls from 10 callers. */
    pl_msg *invs[1000];
    for (int i = 0; i < 1000; i++) {
        char cid[32], user[16];
        snprintf(cid, sizeof(cid), "pr%d", i);
        snprintf(user, sizeof(user), "u%d", i % 10);
        send_invite(UAS1, cid, user);
        assert_int_equal(pl_dlg_profile_set(cur(), all, PL_STR_NULL, false), PL_OK);
        invs[i] = must_next_to(&F.uas1);
    }
    assert_int_equal(pl_dlg_profile_size(F.prof, PL_STR_NULL), 1000);
    assert_int_equal(pl_dlg_profile_size(F.prof, PL_STR_LIT("u3")), 100);
    assert_int_equal(pl_dlg_profile_size(F.prof, PL_STR_LIT("nobody")), 0);
    assert_int_equal(pl_dlg_profile_size(all, PL_STR_NULL), 1000);
    uint64_t ids[200];
    assert_int_equal(pl_dlg_profile_list(F.prof, PL_STR_LIT("u3"), ids, 200), 100);
    pl_dlg *one = pl_dlg_lookup(F.t, ids[0]);
    assert_non_null(one);
    assert_true(pl_dlg_profile_is_in(one, F.prof, PL_STR_LIT("u3")));
    assert_false(pl_dlg_profile_is_in(one, F.prof, PL_STR_LIT("u4")));
    assert_true(pl_dlg_profile_is_in(one, F.prof, PL_STR_NULL));
    /* clear: the other values of this dialog go first. */
    assert_int_equal(pl_dlg_profile_set(one, F.prof, PL_STR_LIT("moved"), true), PL_OK);
    assert_int_equal(pl_dlg_profile_size(F.prof, PL_STR_LIT("u3")), 99);
    assert_int_equal(pl_dlg_profile_unset(one, F.prof, PL_STR_LIT("moved")), PL_OK);
    assert_int_equal(pl_dlg_profile_unset(one, F.prof, PL_STR_LIT("moved")), PL_ENOTFOUND);
    assert_int_equal(pl_dlg_profile_size(F.prof, PL_STR_NULL), 999);
    /* Half answer 486, half get confirmed and hang up. */
    for (int i = 0; i < 1000; i++) {
        if (i % 2) {
            answer(&F.uas1, invs[i], 486, "b1");
        } else {
            answer(&F.uas1, invs[i], 200, "b1");
        }
    }
    assert_int_equal(pl_dlg_profile_size(all, PL_STR_NULL), 500);
    assert_int_equal(stats().active, 500);
    /* The rest end by terminate. */
    for (int i = 0; i < 1000; i += 2) {
        char cid[32];
        snprintf(cid, sizeof(cid), "pr%d", i);
        pl_dlg *d = pl_dlg_lookup_sip(F.t, pl_str_c(cid), PL_STR_LIT("a1"), PL_STR_LIT("b1"));
        assert_non_null(d);
        assert_int_equal(pl_dlg_terminate(d, PL_STR_NULL, PL_STR_NULL), PL_OK);
    }
    assert_int_equal(pl_dlg_profile_size(all, PL_STR_NULL), 0);
    assert_int_equal(pl_dlg_profile_size(F.prof, PL_STR_NULL), 0);
    assert_int_equal(pl_dlg_profile_size(F.prof, PL_STR_LIT("u3")), 0);
    run_for(70000);
    assert_int_equal(stats().live, 0);
    assert_int_equal(F.destroyed, 1000);
}

static void test_values(void **state)
{
    (void)state;
    send_invite(UAS1, "v1", NULL);
    pl_dlg *d = cur();
    assert_int_equal(pl_dlg_value_set_str(d, PL_STR_LIT("created_at"), PL_STR_LIT("today")), PL_OK);
    assert_int_equal(pl_dlg_value_set_int(d, PL_STR_LIT("n"), -42), PL_OK);
    assert_int_equal(pl_dlg_value_set_str(d, PL_STR_NULL, PL_STR_LIT("x")), PL_EINVAL);
    pl_dlg_value v;
    assert_int_equal(pl_dlg_value_get(d, PL_STR_LIT("created_at"), &v), PL_OK);
    assert_int_equal(v.type, PL_DLG_V_STR);
    assert_str(v.s, "today");
    assert_int_equal(pl_dlg_value_get(d, PL_STR_LIT("n"), &v), PL_OK);
    assert_int_equal(v.type, PL_DLG_V_INT);
    assert_int_equal(v.i, -42);
    char buf[8];
    size_t len;
    assert_int_equal(pl_dlg_value_fetch(d, PL_STR_LIT("n"), buf, sizeof(buf), &len), PL_OK);
    assert_string_equal(buf, "-42");
    assert_int_equal(pl_dlg_value_fetch(d, PL_STR_LIT("created_at"), buf, 3, &len), PL_ENOSPC);
    assert_int_equal(len, 5);
    char *dup = pl_dlg_value_dup(d, PL_STR_LIT("created_at"));
    assert_string_equal(dup, "today");
    free(dup);
    /* Replace keeps one value. */
    assert_int_equal(pl_dlg_value_set_str(d, PL_STR_LIT("created_at"), PL_STR_LIT("later")), PL_OK);
    assert_int_equal(pl_dlg_value_fetch(d, PL_STR_LIT("created_at"), buf, sizeof(buf), &len),
                     PL_OK);
    assert_string_equal(buf, "later");
    assert_int_equal(pl_dlg_value_unset(d, PL_STR_LIT("n")), PL_OK);
    assert_int_equal(pl_dlg_value_get(d, PL_STR_LIT("n"), &v), PL_ENOTFOUND);
    assert_null(pl_dlg_value_dup(d, PL_STR_LIT("n")));
}

/* ---- the reference's example module: callbacks that call the API */

static void ex_confirmed(pl_dlg *d, uint32_t type, const pl_dlg_cb_params *prm)
{
    (void)type;
    (void)prm;
    char buf[64];
    size_t len;
    assert_int_equal(pl_dlg_value_fetch(d, PL_STR_LIT("created_at"), buf, sizeof(buf), &len),
                     PL_OK);
    strcat(F.cblog, "EX-confirmed ");
}

static void ex_created(pl_dlg *d, uint32_t type, const pl_dlg_cb_params *prm)
{
    (void)type;
    (void)prm;
    assert_int_equal(pl_dlg_register_cb(F.m, d, PL_DLGCB_CONFIRMED, ex_confirmed, NULL, NULL),
                     PL_OK);
    assert_int_equal(pl_dlg_value_set_str(d, PL_STR_LIT("created_at"), PL_STR_LIT("now")), PL_OK);
    pl_dlg_profile *p = pl_dlg_profile_find(F.m, PL_STR_LIT("cb"));
    assert_int_equal(pl_dlg_profile_set(d, p, PL_STR_NULL, false), PL_OK);
}

static void test_callbacks_use_the_api(void **state)
{
    (void)state;
    assert_int_equal(pl_dlg_profile_define(F.m, "cb", false), PL_OK);
    assert_int_equal(pl_dlg_register_cb(F.m, NULL, PL_DLGCB_CREATED, ex_created, NULL, NULL),
                     PL_OK);
    /* Global types only without a dialog, and one at a time. */
    assert_int_equal(pl_dlg_register_cb(F.m, NULL, PL_DLGCB_CONFIRMED, ex_created, NULL, NULL),
                     PL_EINVAL);
    assert_int_equal(
        pl_dlg_register_cb(F.m, NULL, PL_DLGCB_CREATED | PL_DLGCB_LOADED, ex_created, NULL, NULL),
        PL_EINVAL);
    F.terminate_on_options = true;
    const char *rr = confirmed_call("e1", true);
    assert_non_null(strstr(F.cblog, "EX-confirmed"));
    assert_int_equal(pl_dlg_profile_size(pl_dlg_profile_find(F.m, PL_STR_LIT("cb")), PL_STR_NULL),
                     1);
    /* OPTIONS from the callee: the example's REQ_WITHIN ends the call. */
    send_seq(&F.uas1, "OPTIONS", "e1", "b1", 9, rr, "opt");
    assert_non_null(strstr(F.cblog, "terminated[we do not like OPTIONS]"));
    assert_int_equal(pl_dlg_profile_size(pl_dlg_profile_find(F.m, PL_STR_LIT("cb")), PL_STR_NULL),
                     0);
    /* A dialog that is deleted takes no new callbacks. */
    pl_dlg *d = cur();
    assert_non_null(d); /* held by the OPTIONS transaction's context */
    assert_int_equal(pl_dlg_register_cb(F.m, d, PL_DLGCB_CONFIRMED, ex_confirmed, NULL, NULL),
                     PL_ESTATE);
}

/* ---- management context and the SAVED event */

static void ctx_cb(pl_dlg *d, uint32_t type, const pl_dlg_cb_params *prm)
{
    (void)d;
    (void)type;
    assert_int_equal(pl_dlg_ctx_add(prm->ctx, PL_STR_LIT("billing"), PL_STR_LIT("on")), PL_OK);
}

static void ctx_fn(pl_str name, pl_str value, void *arg)
{
    char *out = arg;
    snprintf(out + strlen(out), 64, "%.*s=%.*s;", (int)name.len, name.p, (int)value.len, value.p);
}

static void test_mgmt_context(void **state)
{
    (void)state;
    send_invite(UAS1, "m1", NULL);
    pl_dlg *d = cur();
    assert_int_equal(pl_dlg_register_cb(F.m, d, PL_DLGCB_MGMT_CONTEXT, ctx_cb, NULL, NULL), PL_OK);
    char out[128] = "";
    pl_dlg_mgmt_context(d, ctx_fn, out);
    assert_string_equal(out, "billing=on;");
    pl_dlg_register_cb(F.m, d, PL_DLGCB_SAVED, logcb, NULL, NULL);
    pl_dlg_notify_saved(d);
    assert_non_null(strstr(F.cblog, "saved"));
}

/* ---- T2: profiles from several workers at once */

typedef struct worker {
    pl_dlg_module *m;
    unsigned index;
    int calls;
    size_t max_seen;
} worker;

static pl_dlg_table *wk_tables[4];

static void wk_router(pl_proxy *p, pl_preq *r, void *arg)
{
    worker *w = arg;
    pl_dlg *d;
    (void)p;
    pl_msg *m = pl_preq_msg(r);
    if (m->to && m->to->has_tag) {
        pl_preq_forward(r);
        return;
    }
    if (pl_dlg_create(wk_tables[w->index], r, 0, &d) == PL_OK) {
        pl_dlg_profile *p1 = pl_dlg_profile_find(w->m, PL_STR_LIT("shared"));
        pl_dlg_profile_set(d, p1, PL_STR_LIT("v"), false);
        size_t n = pl_dlg_profile_size(p1, PL_STR_LIT("v"));
        if (n > w->max_seen)
            w->max_seen = n;
    }
    pl_preq_add_target(r, PL_STR_LIT(UAS1), PL_STR_NULL, 1000, NULL);
    pl_preq_forward(r);
}

static void *wk_main(void *arg)
{
    worker *w = arg;
    pl_wheel wheel;
    pl_wheel_init(&wheel, 1000);
    sim_ep px, uac, uas;
    sim_ep_init(&px, &wheel, "udp:10.0.0.1:5060");
    sim_ep_init(&uac, &wheel, "udp:10.0.0.2:5060");
    sim_ep_init(&uas, &wheel, "udp:10.0.0.3:5060");
    pl_proxy_config c = {.wheel = &wheel,
                         .sender = &px.sender,
                         .router = {wk_router, NULL, NULL, w},
                         .log_level = PL_PROXY_LOG_ERROR};
    pl_target_parse(&c.locals[0].target, "udp:10.0.0.1:5060");
    c.n_locals = 1;
    pl_proxy *p = pl_proxy_new(&c);
    px.layer = pl_proxy_txn_layer(p);
    wk_tables[w->index] = pl_dlg_table_new(w->m, w->index, p);
    pl_arena a;
    for (int i = 0; i < w->calls; i++) {
        char t[1024];
        int n = snprintf(t, sizeof(t),
                         "INVITE " UAS1 " SIP/2.0\r\n"
                         "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKw%u-%d\r\n"
                         "Max-Forwards: 70\r\nFrom: <sip:a@10.0.0.2>;tag=a%d\r\n"
                         "To: <sip:b@10.0.0.3>\r\nCall-ID: w%u-%d\r\nCSeq: 1 INVITE\r\n"
                         "Contact: <sip:a@10.0.0.2>\r\nContent-Length: 0\r\n\r\n",
                         w->index, i, i, w->index, i);
        sim_inject_raw(&uac, px.layer, t, (size_t)n);
        /* The callee answers 200 to even calls, 486 to odd ones. */
        const sim_pkt *pk = sim_last(&px);
        pl_arena_init(&a, NULL, 0, 0);
        pl_msg inv, resp;
        if (pk && pl_msg_parse(&inv, pk->buf, pk->len, &a, NULL, NULL) == PL_OK &&
            inv.method_id == PL_METHOD_INVITE &&
            pl_msg_build_response(&resp, &a, &inv, i % 2 ? 486 : 200, PL_STR_NULL, PL_STR_LIT("b"),
                                  NULL) == PL_OK) {
            char out[2048];
            size_t olen;
            if (pl_msg_print(&resp, out, sizeof(out), &olen) == PL_OK)
                sim_inject_raw(&uas, px.layer, out, olen); /* no tu_ helpers off the main thread */
        }
        pl_arena_free(&a);
        char cid[32];
        /* Every few calls, end the confirmed ones. */
        if (i % 8 == 7) {
            for (int k = i - 7; k <= i; k += 2) {
                snprintf(cid, sizeof(cid), "w%u-%d", w->index, k);
                char tag[16];
                snprintf(tag, sizeof(tag), "a%d", k);
                pl_dlg *e = pl_dlg_lookup_sip(wk_tables[w->index], pl_str_c(cid), pl_str_c(tag),
                                              PL_STR_NULL);
                if (e)
                    pl_dlg_terminate(e, PL_STR_NULL, PL_STR_NULL);
            }
        }
        sim_run(&wheel, NULL, NULL, wheel.now + 10);
    }
    sim_run(&wheel, NULL, NULL, wheel.now + 70000);
    pl_dlg_table_free(wk_tables[w->index]);
    pl_proxy_free(p);
    sim_ep_free(&px);
    sim_ep_free(&uac);
    sim_ep_free(&uas);
    return NULL;
}

static void test_profiles_threads(void **state)
{
    (void)state;
    pl_dlg_module *m =
        pl_dlg_module_new(&(pl_dlg_config){.n_tables = 4, .log_level = PL_PROXY_LOG_ERROR});
    assert_int_equal(pl_dlg_profile_define(m, "shared", true), PL_OK);
    pl_dlg_profile *p = pl_dlg_profile_find(m, PL_STR_LIT("shared"));
    worker w[4];
    pthread_t th[4];
    for (unsigned i = 0; i < 4; i++) {
        w[i] = (worker){m, i, 2000, 0};
        pthread_create(&th[i], NULL, wk_main, &w[i]);
    }
    /* Read the size while the workers run: never above the calls in flight. */
    size_t max = 0;
    for (int k = 0; k < 2000; k++) {
        size_t n = pl_dlg_profile_size(p, PL_STR_LIT("v"));
        assert_true(n <= 8000);
        if (n > max)
            max = n;
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(pl_dlg_profile_size(p, PL_STR_NULL), 0);
    assert_int_equal(pl_dlg_profile_size(p, PL_STR_LIT("v")), 0);
    pl_dlg_stats s;
    pl_dlg_get_stats(m, &s);
    assert_int_equal(s.processed, 8000);
    assert_int_equal(s.failed, 4000);
    assert_int_equal(s.terminated, 4000);
    assert_int_equal(s.live, 0);
    assert_int_equal(s.active, 0);
    pl_dlg_module_free(m);
}

/* What a confirmed two-party dialog with one profile membership holds
 * (issue 6: under 1 KiB besides the Call-ID, URIs and tags). */
static void test_memory(void **state)
{
    (void)state;
    assert_int_equal(pl_dlg_profile_define(F.m, "caller", true), PL_OK);
    F.prof = pl_dlg_profile_find(F.m, PL_STR_LIT("caller"));
    confirmed_call("mem-1", true);
    pl_dlg *d = cur();
    /* (The count includes this test's own callback registration.) */
    size_t strings;
    size_t n = pl_dlg_memory(d, &strings);
    printf("dialog memory: %zu bytes (+ %zu of Call-ID, URIs, tags, remote targets)\n", n, strings);
    assert_true(n < 1024);
    assert_true(strings > 0);
}

/* ---- saving and loading: a record, restored, works as before (T9's in-memory half) */

static int loaded_seen;
static void on_loaded(pl_dlg *d, uint32_t type, const pl_dlg_cb_params *prm)
{
    (void)prm;
    assert_int_equal(type, PL_DLGCB_LOADED);
    loaded_seen++;
    assert_int_equal(pl_dlg_register_cb(F.m, d, ALL_PER_DLG, logcb, NULL, NULL), PL_OK);
}

static void test_export_restore(void **state)
{
    (void)state;
    assert_int_equal(pl_dlg_profile_define(F.m, "caller", true), PL_OK);
    F.prof = pl_dlg_profile_find(F.m, PL_STR_LIT("caller"));
    F.flags = PL_DLG_F_BYE_ON_TIMEOUT;
    const char *rr = confirmed_call("r1", true);
    pl_dlg *d = cur();
    assert_int_equal(pl_dlg_value_set_str(d, PL_STR_LIT("k#1|x"), PL_STR_LIT("v\\a|b")), PL_OK);
    assert_int_equal(pl_dlg_value_set_int(d, PL_STR_LIT("n"), 7), PL_OK);
    assert_int_equal(pl_dlg_set_lifetime(d, 100), PL_OK);
    run_for(10000);
    /* Copy the record out (its strings point into the dialog). */
    pl_dlg_record rec;
    char buf[1024];
    assert_int_equal(pl_dlg_export(d, &rec, buf, sizeof(buf)), PL_OK);
    assert_int_equal(rec.state, PL_DLG_CONFIRMED);
    assert_true(rec.lifetime_left_ms > 89000 && rec.lifetime_left_ms <= 90000);
    assert_str(rec.profiles, "caller#alice|");
    char keep[2048];
    size_t k = 0;
    pl_str *strs[] = {&rec.call_id,        &rec.from_uri,     &rec.to_uri,     &rec.leg[0].tag,
                      &rec.leg[0].contact, &rec.leg[0].route, &rec.leg[1].tag, &rec.leg[1].contact,
                      &rec.leg[1].route,   &rec.values,       &rec.profiles,   &rec.end_reason};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        memcpy(keep + k, strs[i]->p ? strs[i]->p : "", strs[i]->len);
        strs[i]->p = keep + k;
        k += strs[i]->len;
    }
    /* "Restart": the dialog goes (no SIP), then comes back from the record. */
    pl_dlg_table_free(F.t);
    F.t = pl_dlg_table_new(F.m, 0, F.p);
    assert_non_null(F.t);
    assert_int_equal(pl_dlg_profile_size(F.prof, PL_STR_NULL), 0);
    pl_dlg_record bad = rec;
    bad.id ^= 1ull << 40;
    assert_int_equal(pl_dlg_restore(F.t, &bad, NULL), PL_EINVAL); /* not its Call-ID's hash */
    pl_dlg *r = NULL;
    assert_int_equal(pl_dlg_restore(F.t, &rec, &r), PL_OK);
    assert_non_null(r);
    assert_int_equal(pl_dlg_restore(F.t, &rec, NULL), PL_ESTATE);
    assert_int_equal(pl_dlg_id(r), rec.id);
    assert_int_equal(pl_dlg_profile_size(F.prof, PL_STR_LIT("alice")), 1); /* counted once */
    char v[32];
    size_t len;
    assert_int_equal(pl_dlg_value_fetch(r, PL_STR_LIT("k#1|x"), v, sizeof(v), &len), PL_OK);
    assert_string_equal(v, "v\\a|b");
    assert_int_equal(pl_dlg_value_fetch(r, PL_STR_LIT("n"), v, sizeof(v), &len), PL_OK);
    assert_string_equal(v, "7");
    assert_true(pl_dlg_lifetime_left(r) <= 90 && pl_dlg_lifetime_left(r) >= 89);
    /* LOADED registered late runs over the dialogs already loaded. */
    assert_int_equal(pl_dlg_register_cb(F.m, NULL, PL_DLGCB_LOADED, on_loaded, NULL, NULL), PL_OK);
    assert_int_equal(loaded_seen, 0); /* on the table's thread, later */
    pl_dlg_table_run(F.t);
    assert_int_equal(loaded_seen, 1);
    /* An in-dialog request after the "restart" is matched by its id as before. */
    F.cblog[0] = '\0';
    send_seq(&F.uas1, "BYE", "r1", "b1", 3, rr, "rbye");
    assert_non_null(next_req_to(&F.uac, PL_METHOD_BYE));
    assert_non_null(strstr(F.cblog, "terminated:BYE[Upstream BYE]"));
    assert_int_equal(pl_dlg_profile_size(F.prof, PL_STR_NULL), 0);
}

/* A record whose lifetime ran out while stored expires at once, with BYE when flagged. */
static void test_restore_expired(void **state)
{
    (void)state;
    F.flags = PL_DLG_F_BYE_ON_TIMEOUT;
    confirmed_call("r2", true);
    pl_dlg_record rec;
    char buf[256];
    assert_int_equal(pl_dlg_export(cur(), &rec, buf, sizeof(buf)), PL_OK);
    char keep[1024];
    size_t k = 0;
    pl_str *strs[] = {&rec.call_id,        &rec.from_uri,     &rec.to_uri,     &rec.leg[0].tag,
                      &rec.leg[0].contact, &rec.leg[0].route, &rec.leg[1].tag, &rec.leg[1].contact,
                      &rec.leg[1].route,   &rec.values,       &rec.profiles};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        memcpy(keep + k, strs[i]->p ? strs[i]->p : "", strs[i]->len);
        strs[i]->p = keep + k;
        k += strs[i]->len;
    }
    pl_dlg_table_free(F.t);
    F.t = pl_dlg_table_new(F.m, 0, F.p);
    rec.lifetime_left_ms = 0;
    while (next_to(&F.uac))
        ;
    while (next_to(&F.uas1))
        ;
    assert_int_equal(pl_dlg_restore(F.t, &rec, NULL), PL_OK);
    run_for(10);
    assert_non_null(next_req_to(&F.uac, PL_METHOD_BYE));
    assert_non_null(next_req_to(&F.uas1, PL_METHOD_BYE));
}

/* ---- the store's hook: what a confirmed dialog reports, and when */

static char changes[512];
static void on_change(pl_dlg *d, pl_dlg_change what, void *user)
{
    (void)user;
    static const char *const names[] = {"?", "C", "U", "D"};
    strcat(changes, names[what]);
    if (what != PL_DLG_CHANGE_DELETED) {
        pl_dlg_record rec;
        char buf[512];
        assert_int_equal(pl_dlg_export(d, &rec, buf, sizeof(buf)), PL_OK);
    }
}

static int setup_hook(void **state)
{
    (void)state;
    changes[0] = '\0';
    pl_dlg_config dc = {.log_level = PL_PROXY_LOG_ERROR, .on_change = on_change};
    return setup_with(&dc);
}

static void test_store_hook(void **state)
{
    (void)state;
    /* A failed call is never reported. */
    send_invite(UAS1, "h0", NULL);
    answer(&F.uas1, must_next_to(&F.uas1), 486, "b1");
    assert_string_equal(changes, "");
    while (next_to(&F.uas1)) /* its ACK */
        ;
    /* A call: confirmed, the ACK, a value, an INFO, the BYE. */
    const char *rr = confirmed_call("h1", true);
    assert_string_equal(changes, "CU");
    assert_int_equal(pl_dlg_value_set_int(cur(), PL_STR_LIT("x"), 1), PL_OK);
    send_seq(&F.uac, "INFO", "h1", "b1", 2, rr, "hinfo");
    send_seq(&F.uac, "BYE", "h1", "b1", 3, rr, "hbye");
    assert_string_equal(changes, "CUUUD");
}

/* The proxy's own CANCEL (terminate before the 2xx) crossed by a 200: the
 * call it makes is ended soon with BYE both ways, with the given reason. */
static void test_terminate_early_200_crosses(void **state)
{
    (void)state;
    send_invite(UAS1, "x1", NULL);
    pl_msg *inv = must_next_to(&F.uas1);
    answer(&F.uas1, inv, 183, "b1");
    pl_dlg *d = cur();
    assert_int_equal(pl_dlg_terminate(d, PL_STR_LIT("admin"), PL_STR_NULL), PL_OK);
    assert_non_null(next_req_to(&F.uas1, PL_METHOD_CANCEL));
    answer(&F.uas1, inv, 200, "b1");
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_CONFIRMED_NA);
    assert_true(pl_dlg_lifetime_left(d) <= 5);
    assert_true(pl_dlg_flags(d) & PL_DLG_F_BYE_ON_TIMEOUT);
    run_for(5500);
    assert_non_null(next_req_to(&F.uac, PL_METHOD_BYE));
    assert_non_null(next_req_to(&F.uas1, PL_METHOD_BYE));
    assert_non_null(strstr(F.cblog, "terminated[admin]"));
}

/* A walk whose function ends dialogs (this one and others), even ones freed at once. */
static int walked;
static void end_all(pl_dlg *d, void *arg)
{
    (void)arg;
    walked++;
    /* Headers that make each BYE unbuildable: both fail, the dialog ends and goes at once. */
    pl_dlg_terminate(d, PL_STR_NULL, PL_STR_LIT("CSeq: 9 BYE\r\nBroken\r\n"));
    pl_dlg *other = pl_dlg_lookup_sip(F.t, PL_STR_LIT("w2"), PL_STR_LIT("a1"), PL_STR_NULL);
    if (other)
        pl_dlg_terminate(other, PL_STR_NULL, PL_STR_LIT("Broken\r\n"));
}

static void test_walk_that_ends_dialogs(void **state)
{
    (void)state;
    confirmed_call("w1", true);
    confirmed_call("w2", true);
    confirmed_call("w3", true);
    assert_int_equal(stats().active, 3);
    pl_dlg_table_walk(F.t, end_all, NULL);
    assert_int_equal(stats().active, 0);
    assert_int_equal(walked, 2); /* w2 ended by the first call, never walked */
    walked = 0;
}

/* Values and profile values of any size come back from a record. */
static void test_restore_big_values(void **state)
{
    (void)state;
    assert_int_equal(pl_dlg_profile_define(F.m, "tenant", true), PL_OK);
    pl_dlg_profile *p = pl_dlg_profile_find(F.m, PL_STR_LIT("tenant"));
    confirmed_call("bv", true);
    pl_dlg *d = cur();
    static char big[5001], pv[2001];
    memset(big, 'v', sizeof(big) - 1);
    memset(pv, 't', sizeof(pv) - 1);
    assert_int_equal(pl_dlg_value_set_str(d, PL_STR_LIT("sdp"), pl_str_c(big)), PL_OK);
    assert_int_equal(pl_dlg_profile_set(d, p, pl_str_c(pv), false), PL_OK);
    assert_int_equal(pl_dlg_set_lifetime(d, PL_DLG_MAX_SECONDS + 1), PL_EINVAL);
    assert_int_equal(pl_dlg_set_ping_interval(d, PL_DLG_MAX_SECONDS + 1), PL_EINVAL);
    pl_dlg_record rec;
    static char buf[16384], keep[16384];
    assert_int_equal(pl_dlg_export(d, &rec, buf, sizeof(buf)), PL_OK);
    size_t k = 0;
    pl_str *strs[] = {&rec.call_id,        &rec.from_uri,     &rec.to_uri,     &rec.leg[0].tag,
                      &rec.leg[0].contact, &rec.leg[0].route, &rec.leg[1].tag, &rec.leg[1].contact,
                      &rec.leg[1].route,   &rec.values,       &rec.profiles,   &rec.end_reason};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        memcpy(keep + k, strs[i]->p ? strs[i]->p : "", strs[i]->len);
        strs[i]->p = keep + k;
        k += strs[i]->len;
    }
    pl_dlg_table_free(F.t);
    F.t = pl_dlg_table_new(F.m, 0, F.p);
    pl_dlg *r = NULL;
    assert_int_equal(pl_dlg_restore(F.t, &rec, &r), PL_OK);
    char *v = pl_dlg_value_dup(r, PL_STR_LIT("sdp"));
    assert_non_null(v);
    assert_int_equal(strlen(v), 5000);
    free(v);
    assert_int_equal(pl_dlg_profile_size(p, pl_str_c(pv)), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_normal_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callee_bye, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancelled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_races_200, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bye_in_early_then_200, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_downstream_fork, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_same_call_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_terminate_unconfirmed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_terminate_early, setup, teardown),
        cmocka_unit_test_setup_teardown(test_terminate_confirmed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_terminate_confirmed_acked_by_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifetime_expired_silently, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifetime_bye, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pings_alive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping_408, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping_481, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fix_route, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profiles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callbacks_use_the_api, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mgmt_context, setup, teardown),
        cmocka_unit_test(test_profiles_threads),
        cmocka_unit_test_setup_teardown(test_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_hook, setup_hook, teardown),
        cmocka_unit_test_setup_teardown(test_terminate_early_200_crosses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_that_ends_dialogs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_big_values, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
