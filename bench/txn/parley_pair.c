/*
 * parley_pair.c - the Parley roles: a UAS answering OPTIONS with 200 and a
 * UAC keeping W non-INVITE client transactions in flight, each on the whole
 * stack (pl_net on libuv, pl_txn_layer, the message layer), the way
 * apps/parley/main.c wires them.
 *
 * Timers run as RFC 3261 says: the server's Timer J keeps each answered
 * transaction 64*T1 (32 s), the client's Timer K T4 (5 s). Both roles wait
 * until pl_txn_layer_stats().live is 0 before they report their CPU time,
 * so the cost of keeping and ending the transactions is in the figures.
 */
#include "bench_txn.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <parley/transport.h>
#include <parley/txn.h>

#define POLL_MS 50 /* how often a draining role looks at stats.live */

static pl_txn_timers timers_of(const role_opts *o)
{
    pl_txn_timers t = {0};
    t.t1 = o->t1;
    t.t4 = o->t4;
    return t;
}

static size_t live_of(pl_txn_layer *l)
{
    pl_txn_stats st;
    pl_txn_layer_stats(l, &st);
    return st.live;
}

/* ------------------------------------------------------------------ server */

typedef struct pserver {
    pl_net *net;
    pl_txn_layer *layer;
    uv_poll_t stdin_poll;
    uv_timer_t drain_timer;
    bool draining;
    uint64_t requests;
    uint64_t cpu0, stop_ns;
    pl_arena arena;
    char block[16384];
} pserver;

static pserver PS;

static void ps_on_message(pl_net *net, const char *buf, size_t len, const pl_target *src,
                          pl_framing framing, void *user)
{
    (void)net;
    (void)user;
    pl_txn_receive(PS.layer, buf, len, src, framing);
}

static void ps_on_request(pl_txn_layer *l, pl_txn *st, const pl_msg *req, const pl_target *src,
                          void *user)
{
    (void)l;
    (void)src;
    (void)user;
    PS.requests++;
    uint16_t code = req->method_id == PL_METHOD_OPTIONS ? 200 : 501;
    pl_arena_reset(&PS.arena);
    pl_msg resp;
    pl_error err;
    int rc = pl_msg_build_response(&resp, &PS.arena, req, code, PL_STR_NULL, PL_STR_NULL, &err);
    if (rc != PL_OK)
        bench_fail("parley-server", "pl_msg_build_response: %s", pl_err_str(rc));
    rc = pl_txn_respond(st, &resp);
    if (rc != PL_OK)
        bench_fail("parley-server", "pl_txn_respond: %s", pl_err_str(rc));
}

static void ps_on_stray(pl_txn_layer *l, const pl_msg *m, const pl_target *src, void *user)
{
    (void)l;
    (void)m;
    (void)src;
    (void)user;
}

static void ps_finish(void)
{
    pl_txn_stats st;
    pl_txn_layer_stats(PS.layer, &st);
    bench_report("done %llu %llu %llu %llu %llu", (unsigned long long)PS.requests,
                 (unsigned long long)(bench_cpu_us() - PS.cpu0),
                 (unsigned long long)((bench_now_ns() - PS.stop_ns) / 1000000u),
                 (unsigned long long)bench_maxrss_kb(), (unsigned long long)st.absorbed);
    uv_timer_stop(&PS.drain_timer);
    uv_poll_stop(&PS.stdin_poll);
    pl_net_stop(PS.net);
}

static void ps_on_drain_timer(uv_timer_t *t)
{
    (void)t;
    if (live_of(PS.layer) == 0)
        ps_finish();
}

static void ps_command(const char *cmd)
{
    if (strcmp(cmd, "tick") == 0) {
        bench_report("tick %llu %llu %zu", (unsigned long long)PS.requests,
                     (unsigned long long)(bench_cpu_us() - PS.cpu0), live_of(PS.layer));
    } else if (strcmp(cmd, "stop") == 0 && !PS.draining) {
        PS.draining = true;
        PS.stop_ns = bench_now_ns();
        bench_report("stopped %llu %llu %zu", (unsigned long long)PS.requests,
                     (unsigned long long)(bench_cpu_us() - PS.cpu0), live_of(PS.layer));
        uv_timer_start(&PS.drain_timer, ps_on_drain_timer, 0, POLL_MS);
    }
}

static void ps_on_stdin(uv_poll_t *h, int status, int events)
{
    (void)h;
    (void)status;
    (void)events;
    bench_take_cmds(ps_command);
}

int parley_server(const role_opts *o)
{
    pl_arena_init(&PS.arena, PS.block, sizeof(PS.block), 0);
    pl_net_config ncfg = {0};
    ncfg.on_message = ps_on_message;
    PS.net = pl_net_new(&ncfg);
    if (!PS.net)
        bench_fail("parley-server", "pl_net_new failed");
    int rc = pl_net_listen(PS.net, "udp:127.0.0.1:0");
    pl_target local;
    if (rc != PL_OK || pl_net_listen_target(PS.net, 0, &local) != PL_OK)
        bench_fail("parley-server", "cannot listen on udp:127.0.0.1:0 (%d)", rc);
    pl_txn_config tcfg = {0};
    tcfg.wheel = pl_net_wheel(PS.net);
    tcfg.sender = pl_net_sender(PS.net);
    tcfg.timers = timers_of(o);
    tcfg.on_request = ps_on_request;
    tcfg.on_stray = ps_on_stray;
    tcfg.detect_merged = true; /* a UAS, as parley listen runs */
    PS.layer = pl_txn_layer_new(&tcfg);
    if (!PS.layer)
        bench_fail("parley-server", "pl_txn_layer_new failed");
    uv_loop_t *loop = pl_net_loop(PS.net);
    uv_poll_init(loop, &PS.stdin_poll, 0);
    uv_poll_start(&PS.stdin_poll, UV_READABLE, ps_on_stdin);
    uv_timer_init(loop, &PS.drain_timer);
    PS.cpu0 = bench_cpu_us();
    bench_report("ready %u", pl_target_port(&local));
    pl_net_run(PS.net);
    uv_close((uv_handle_t *)&PS.stdin_poll, NULL);
    uv_close((uv_handle_t *)&PS.drain_timer, NULL);
    pl_txn_layer_free(PS.layer);
    pl_net_free(PS.net);
    return 0;
}

/* ------------------------------------------------------------------ client */

typedef struct pclient {
    const role_opts *o;
    pl_net *net;
    pl_txn_layer *layer;
    pl_target dst;
    char ruri[64], to[64], from[64], sent_by[64], contact[96];
    pl_arena arena;
    char block[16384];
    bool verifying;
    bench_loop loop; /* the timed transactions */
    uint64_t cpu0, active_ns;
    size_t req_bytes, resp_bytes;
    uv_timer_t guard_timer, drain_timer, tick_timer;
    uint64_t tick_t0;
} pclient;

static pclient PC;

static void pc_start_one(void);

static void pc_on_message(pl_net *net, const char *buf, size_t len, const pl_target *src,
                          pl_framing framing, void *user)
{
    (void)net;
    (void)user;
    if (PC.verifying)
        PC.resp_bytes = len;
    pl_txn_receive(PC.layer, buf, len, src, framing);
}

static void pc_on_request(pl_txn_layer *l, pl_txn *st, const pl_msg *req, const pl_target *src,
                          void *user)
{
    (void)l;
    (void)src;
    (void)user;
    pl_arena_reset(&PC.arena);
    pl_msg resp;
    if (pl_msg_build_response(&resp, &PC.arena, req, 501, PL_STR_NULL, PL_STR_NULL, NULL) == PL_OK)
        pl_txn_respond(st, &resp);
}

static void pc_on_stray(pl_txn_layer *l, const pl_msg *m, const pl_target *src, void *user)
{
    (void)l;
    (void)m;
    (void)src;
    (void)user;
}

static void pc_on_drain_timer(uv_timer_t *t)
{
    (void)t;
    if (live_of(PC.layer) != 0)
        return;
    bench_report("done %llu %llu %llu", (unsigned long long)(bench_cpu_us() - PC.cpu0),
                 (unsigned long long)((bench_now_ns() - PC.loop.t_end) / 1000000u),
                 (unsigned long long)bench_maxrss_kb());
    uv_timer_stop(&PC.drain_timer);
    uv_timer_stop(&PC.tick_timer);
    pl_net_stop(PC.net);
}

static void pc_active_end(void)
{
    const bench_loop *l = &PC.loop;
    uv_timer_stop(&PC.tick_timer);
    pl_txn_stats st;
    pl_txn_layer_stats(PC.layer, &st);
    bench_report("active %llu %llu %llu %llu %zu %llu", (unsigned long long)l->ok,
                 (unsigned long long)l->fail, (unsigned long long)(l->t_end - l->t0),
                 (unsigned long long)(bench_cpu_us() - PC.cpu0), st.live,
                 (unsigned long long)st.retransmissions);
    if (l->fail)
        bench_fail("parley-client", "%llu of %llu transactions failed (first final status %d%s)",
                   (unsigned long long)l->fail, (unsigned long long)l->started, l->bad_status,
                   l->bad_status == 408 ? ": timeout" : "");
    uv_timer_start(&PC.drain_timer, pc_on_drain_timer, 0, POLL_MS);
}

static void pc_on_tick(uv_timer_t *t)
{
    (void)t;
    bench_report("tick %llu %llu %llu %zu",
                 (unsigned long long)((bench_now_ns() - PC.loop.t0) / 1000000u),
                 (unsigned long long)(PC.loop.ok + PC.loop.fail),
                 (unsigned long long)(bench_cpu_us() - PC.cpu0), live_of(PC.layer));
}

static void pc_begin_timing(void)
{
    bench_loop_begin(&PC.loop, PC.o);
    if (PC.o->tick_ms)
        uv_timer_start(&PC.tick_timer, pc_on_tick, PC.o->tick_ms, PC.o->tick_ms);
    for (unsigned i = 0; i < PC.o->window && bench_loop_more(&PC.loop); i++)
        pc_start_one();
}

static void pc_on_response(pl_txn *ct, const pl_msg *resp, bool final, void *arg)
{
    (void)ct;
    (void)arg;
    if (!final)
        return;
    bool good = resp->status == 200 && resp->cseq.method_id == PL_METHOD_OPTIONS;
    if (PC.verifying) {
        PC.verifying = false;
        uv_timer_stop(&PC.guard_timer);
        if (!good)
            bench_fail("parley-client", "verification: the OPTIONS got %u, not 200%s", resp->status,
                       resp->status == 408 ? " (timeout)" : "");
        bench_report("verified %zu %zu", PC.req_bytes, PC.resp_bytes);
        pc_begin_timing();
        return;
    }
    switch (bench_loop_final(&PC.loop, good, resp->status)) {
    case BENCH_LOOP_NEXT:
        pc_start_one();
        break;
    case BENCH_LOOP_END:
        pc_active_end();
        break;
    default:
        break;
    }
}

static void pc_start_one(void)
{
    pl_arena_reset(&PC.arena);
    pl_request_spec spec = {0};
    spec.method = PL_STR_LIT("OPTIONS");
    spec.ruri = pl_str_c(PC.ruri);
    spec.from = pl_str_c(PC.from);
    spec.to = pl_str_c(PC.to);
    spec.via_sent_by = pl_str_c(PC.sent_by);
    spec.contact = pl_str_c(PC.contact);
    /* call_id, from_tag, branch left empty: new random ones each time */
    pl_msg req;
    pl_error err;
    int rc = pl_msg_build_request(&req, &PC.arena, &spec, &err);
    if (rc != PL_OK)
        bench_fail("parley-client", "pl_msg_build_request: %s", err.reason);
    if (PC.verifying)
        PC.req_bytes = pl_msg_print_len(&req);
    rc = pl_txn_client_start(PC.layer, &req, &PC.dst, pc_on_response, NULL, NULL);
    if (rc != PL_OK)
        bench_fail("parley-client", "pl_txn_client_start: %s", pl_err_str(rc));
    bench_loop_sent(&PC.loop);
}

static void pc_on_guard(uv_timer_t *t)
{
    (void)t;
    bench_fail("parley-client", "verification: no final response to the first OPTIONS in 5 s");
}

int parley_client(const role_opts *o)
{
    PC.o = o;
    pl_arena_init(&PC.arena, PC.block, sizeof(PC.block), 0);
    char dst_s[64];
    snprintf(dst_s, sizeof(dst_s), "udp:127.0.0.1:%u", o->port);
    if (pl_target_parse(&PC.dst, dst_s) != PL_OK)
        bench_fail("parley-client", "bad target %s", dst_s);
    pl_net_config ncfg = {0};
    ncfg.on_message = pc_on_message;
    PC.net = pl_net_new(&ncfg);
    if (!PC.net)
        bench_fail("parley-client", "pl_net_new failed");
    pl_target local;
    if (pl_net_listen(PC.net, "udp:127.0.0.1:0") != PL_OK ||
        pl_net_listen_target(PC.net, 0, &local) != PL_OK)
        bench_fail("parley-client", "cannot open a UDP socket on 127.0.0.1");
    pl_txn_config tcfg = {0};
    tcfg.wheel = pl_net_wheel(PC.net);
    tcfg.sender = pl_net_sender(PC.net);
    tcfg.timers = timers_of(o);
    tcfg.on_request = pc_on_request;
    tcfg.on_stray = pc_on_stray;
    PC.layer = pl_txn_layer_new(&tcfg);
    if (!PC.layer)
        bench_fail("parley-client", "pl_txn_layer_new failed");
    uint16_t lport = pl_target_port(&local);
    snprintf(PC.ruri, sizeof(PC.ruri), "sip:bench@127.0.0.1:%u", o->port);
    snprintf(PC.to, sizeof(PC.to), "<sip:bench@127.0.0.1:%u>", o->port);
    snprintf(PC.from, sizeof(PC.from), "<sip:client@127.0.0.1>");
    snprintf(PC.sent_by, sizeof(PC.sent_by), "127.0.0.1:%u", lport);
    snprintf(PC.contact, sizeof(PC.contact), "<sip:client@127.0.0.1:%u>", lport);
    uv_loop_t *loop = pl_net_loop(PC.net);
    uv_timer_init(loop, &PC.guard_timer);
    uv_timer_init(loop, &PC.drain_timer);
    uv_timer_init(loop, &PC.tick_timer);
    PC.cpu0 = bench_cpu_us();
    /* One transaction first: the pair must work before anything is timed. */
    PC.verifying = true;
    uv_timer_start(&PC.guard_timer, pc_on_guard, 5000, 0);
    pc_start_one();
    pl_net_run(PC.net);
    uv_close((uv_handle_t *)&PC.guard_timer, NULL);
    uv_close((uv_handle_t *)&PC.drain_timer, NULL);
    uv_close((uv_handle_t *)&PC.tick_timer, NULL);
    pl_txn_layer_free(PC.layer);
    pl_net_free(PC.net);
    return 0;
}

/* ------------------------------------------------------------------ echo payload */

size_t parley_sample_request(char *out, size_t cap, uint16_t port)
{
    static char block[8192];
    pl_arena a;
    pl_arena_init(&a, block, sizeof(block), 0);
    char ruri[64], to[64], sent_by[64], contact[96];
    snprintf(ruri, sizeof(ruri), "sip:bench@127.0.0.1:%u", port);
    snprintf(to, sizeof(to), "<sip:bench@127.0.0.1:%u>", port);
    snprintf(sent_by, sizeof(sent_by), "127.0.0.1:%u", port + 1);
    snprintf(contact, sizeof(contact), "<sip:client@127.0.0.1:%u>", port + 1);
    pl_request_spec spec = {0};
    spec.method = PL_STR_LIT("OPTIONS");
    spec.ruri = pl_str_c(ruri);
    spec.from = PL_STR_LIT("<sip:client@127.0.0.1>");
    spec.to = pl_str_c(to);
    spec.via_sent_by = pl_str_c(sent_by);
    spec.contact = pl_str_c(contact);
    pl_msg req;
    size_t n = 0;
    if (pl_msg_build_request(&req, &a, &spec, NULL) != PL_OK ||
        pl_msg_print(&req, out, cap, &n) != PL_OK)
        return 0;
    return n;
}
