/*
 * parley_pair.c - the Parley roles, on the user-agent API (parley/ua.h) in
 * real mode: a pl_ua with its own loop, a master profile, and a UDP
 * listener on 127.0.0.1.
 *
 * The sender makes each MESSAGE with pl_ua_request_new(ua, NULL,
 * "MESSAGE", target, ...), sets a short text/plain body on
 * pl_ua_request_msg() with pl_msg_set_body(), and sends it with
 * pl_ua_request_send(); its on_success counts the 200 and sends the next,
 * so W requests stay in flight. The receiver's MESSAGE handler answers
 * every request with pl_ua_server_accept(ua, srv, 200).
 *
 * Log lines go to a callback that only counts them: no per-request
 * logging, and a count that shows whether the stack logged anyway.
 *
 * Neither side waits for the RFC 3261 timers after the traffic (Timer J
 * would hold the receiver 32 s): the figures are for the traffic. The
 * timers are the defaults unless --t1/--t4 say otherwise (experiments).
 */
#include "bench_ua.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <parley/ua.h>

static uint64_t LOG_LINES;

static void count_log(pl_ua_log_level level, pl_str call_id, const char *line, void *user)
{
    (void)level;
    (void)call_id;
    (void)line;
    (void)user;
    LOG_LINES++;
}

static pl_ua *new_ua(const char *role, const role_opts *o, pl_ua_profile **master)
{
    *master = pl_ua_profile_new(NULL);
    if (!*master || pl_ua_profile_set_aor(*master, "sip:bench@127.0.0.1") != PL_OK)
        bench_fail(role, "cannot make the master profile");
    pl_ua_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.master = *master;
    cfg.log = count_log;
    cfg.log_level = PL_UA_LOG_ERROR;
    cfg.timers.t1 = o->t1; /* 0: the RFC's defaults */
    cfg.timers.t4 = o->t4;
    pl_ua *ua = pl_ua_new(&cfg);
    if (!ua)
        bench_fail(role, "pl_ua_new failed");
    int rc = pl_ua_listen(ua, "udp:127.0.0.1:0");
    if (rc != PL_OK)
        bench_fail(role, "pl_ua_listen udp:127.0.0.1:0: %s", pl_err_str(rc));
    return ua;
}

static uint16_t listen_port(pl_ua *ua)
{
    pl_target t;
    if (pl_net_listen_target(pl_ua_net(ua), 0, &t) != PL_OK)
        return 0;
    return pl_target_port(&t);
}

/* ------------------------------------------------------------------ receiver */

typedef struct precv {
    pl_ua *ua;
    uv_poll_t stdin_poll;
    uint64_t requests, cpu0, csw0, flt0;
} precv;

static precv PR;

static void pr_on_request(pl_ua *ua, pl_ua_server srv, const pl_msg *req, void *app)
{
    (void)app;
    if (PR.requests++ == 0) {
        /* Not reported as the request's size: the transport has already
         * edited the top Via (rport=PORT), so req->len is not what came. */
        if (getenv("BENCH_UA_DUMP"))
            fprintf(stderr, "bench-ua parley-receiver: the first request:\n%.*s\n", (int)req->len,
                    req->buf);
    }
    int rc = pl_ua_server_accept(ua, srv, 200);
    if (rc != PL_OK)
        bench_fail("parley-receiver", "pl_ua_server_accept: %s", pl_err_str(rc));
}

static void pr_command(const char *cmd)
{
    if (strcmp(cmd, "stop") != 0)
        return;
    pl_ua_stats st;
    pl_ua_get_stats(PR.ua, &st);
    if (st.default_answers || st.auto_answers)
        fprintf(stderr, "bench-ua parley-receiver: %llu default answers, %llu automatic answers\n",
                (unsigned long long)st.default_answers, (unsigned long long)st.auto_answers);
    bench_report("stopped %llu %llu %llu %llu %llu %llu", (unsigned long long)PR.requests,
                 (unsigned long long)(bench_cpu_us() - PR.cpu0),
                 (unsigned long long)bench_maxrss_kb(), (unsigned long long)LOG_LINES,
                 (unsigned long long)(bench_csw() - PR.csw0),
                 (unsigned long long)(bench_minflt() - PR.flt0));
    bench_exit(0);
}

static void pr_on_stdin(uv_poll_t *h, int status, int events)
{
    (void)h;
    (void)status;
    (void)events;
    bench_take_cmds(pr_command);
}

int parley_receiver(const role_opts *o)
{
    pl_ua_profile *master;
    PR.ua = new_ua("parley-receiver", o, &master);
    pl_ua_handler h;
    memset(&h, 0, sizeof(h));
    h.on_request = pr_on_request;
    if (pl_ua_set_handler(PR.ua, "MESSAGE", &h, NULL) != PL_OK)
        bench_fail("parley-receiver", "pl_ua_set_handler MESSAGE failed");
    uint16_t port = listen_port(PR.ua);
    if (!port)
        bench_fail("parley-receiver", "no listening port");
    uv_loop_t *loop = pl_net_loop(pl_ua_net(PR.ua));
    uv_poll_init(loop, &PR.stdin_poll, 0);
    uv_poll_start(&PR.stdin_poll, UV_READABLE, pr_on_stdin);
    PR.cpu0 = bench_cpu_us();
    PR.csw0 = bench_csw();
    PR.flt0 = bench_minflt();
    bench_report("ready %u", port);
    pl_ua_run(PR.ua);
    bench_fail("parley-receiver", "the loop ended before the stop command");
}

/* ------------------------------------------------------------------ sender */

typedef struct psend {
    const role_opts *o;
    pl_ua *ua;
    char target[64];
    bool verifying;
    bench_loop loop; /* the timed requests */
    uint64_t cpu0, csw0, flt0;
    uv_timer_t guard_timer, tick_timer;
} psend;

static psend PS;

static void ps_send_one(void)
{
    pl_ua_client c;
    int rc = pl_ua_request_new(PS.ua, NULL, "MESSAGE", PS.target, NULL, NULL, &c);
    if (rc != PL_OK)
        bench_fail("parley-sender", "pl_ua_request_new: %s", pl_err_str(rc));
    pl_msg *m = pl_ua_request_msg(PS.ua, c);
    if (!m)
        bench_fail("parley-sender", "pl_ua_request_msg returned NULL");
    rc = pl_msg_set_body(m, PL_STR_LIT("text/plain"), PL_STR_LIT(BU_BODY));
    if (rc != PL_OK)
        bench_fail("parley-sender", "pl_msg_set_body: %s", pl_err_str(rc));
    rc = pl_ua_request_send(PS.ua, c);
    if (rc != PL_OK)
        bench_fail("parley-sender", "pl_ua_request_send: %s", pl_err_str(rc));
    bench_loop_sent(&PS.loop);
}

static void ps_on_tick(uv_timer_t *t)
{
    (void)t;
    bench_report("tick %llu %llu %llu",
                 (unsigned long long)((bench_now_ns() - PS.loop.t0) / 1000000u),
                 (unsigned long long)(PS.loop.ok + PS.loop.fail),
                 (unsigned long long)(bench_cpu_us() - PS.cpu0));
}

static void ps_begin_timing(void)
{
    bench_loop_begin(&PS.loop, PS.o);
    if (PS.o->tick_ms)
        uv_timer_start(&PS.tick_timer, ps_on_tick, PS.o->tick_ms, PS.o->tick_ms);
    for (unsigned i = 0; i < PS.o->window; i++)
        ps_send_one();
}

static void ps_end(void)
{
    const bench_loop *l = &PS.loop;
    uint64_t cpu = bench_cpu_us() - PS.cpu0;
    uv_timer_stop(&PS.tick_timer);
    if (l->fail)
        bench_fail("parley-sender", "%llu of %llu requests failed (first final status %d%s)",
                   (unsigned long long)l->fail, (unsigned long long)l->started, l->bad_status,
                   l->bad_status == 408 ? ": timeout" : "");
    bench_report("active %llu %llu %llu %llu %llu %llu %llu %llu", (unsigned long long)l->ok,
                 (unsigned long long)l->fail, (unsigned long long)(l->t_end - l->t0),
                 (unsigned long long)cpu, (unsigned long long)bench_maxrss_kb(),
                 (unsigned long long)LOG_LINES, (unsigned long long)(bench_csw() - PS.csw0),
                 (unsigned long long)(bench_minflt() - PS.flt0));
    bench_exit(0);
}

static void ps_final(const pl_msg *resp)
{
    if (PS.verifying) {
        PS.verifying = false;
        uv_timer_stop(&PS.guard_timer);
        if (resp->status != 200)
            bench_fail("parley-sender", "verification: the MESSAGE got %u %.*s, not 200",
                       resp->status, (int)resp->reason.len, resp->reason.p);
        /* The request as the sender writes it (pl_ua shows no wire bytes). */
        static char sample[8192];
        size_t sample_resp = 0;
        size_t req_len = parley_sample_request(sample, sizeof(sample), PS.o->port, &sample_resp);
        bench_report("verified %zu %zu", req_len, resp->len);
        ps_begin_timing();
        return;
    }
    switch (bench_loop_final(&PS.loop, resp->status == 200, resp->status)) {
    case BENCH_LOOP_NEXT:
        ps_send_one();
        break;
    case BENCH_LOOP_END:
        ps_end();
        break;
    default:
        break;
    }
}

static void ps_on_success(pl_ua *ua, pl_ua_client req, const pl_msg *resp, void *app)
{
    (void)ua;
    (void)req;
    (void)app;
    ps_final(resp);
}

static void ps_on_failure(pl_ua *ua, pl_ua_client req, const pl_msg *resp, void *app)
{
    (void)ua;
    (void)req;
    (void)app;
    ps_final(resp);
}

static void ps_on_guard(uv_timer_t *t)
{
    (void)t;
    bench_fail("parley-sender", "verification: no final response to the first MESSAGE in 5 s");
}

int parley_sender(const role_opts *o)
{
    PS.o = o;
    pl_ua_profile *master;
    PS.ua = new_ua("parley-sender", o, &master);
    pl_ua_handler h;
    memset(&h, 0, sizeof(h));
    h.on_success = ps_on_success;
    h.on_failure = ps_on_failure;
    if (pl_ua_set_handler(PS.ua, "MESSAGE", &h, NULL) != PL_OK)
        bench_fail("parley-sender", "pl_ua_set_handler MESSAGE failed");
    snprintf(PS.target, sizeof(PS.target), "sip:bench@127.0.0.1:%u", o->port);
    uv_loop_t *loop = pl_net_loop(pl_ua_net(PS.ua));
    uv_timer_init(loop, &PS.guard_timer);
    uv_timer_init(loop, &PS.tick_timer);
    PS.cpu0 = bench_cpu_us();
    PS.csw0 = bench_csw();
    PS.flt0 = bench_minflt();
    /* One request first: the pair must work before anything is timed. */
    PS.verifying = true;
    uv_timer_start(&PS.guard_timer, ps_on_guard, 5000, 0);
    ps_send_one();
    pl_ua_run(PS.ua);
    bench_fail("parley-sender", "the loop ended before the traffic did");
}

/* ------------------------------------------------------------------ sample */

typedef struct capture {
    pl_sender s; /* first: the callback gets this */
    char buf[8192];
    size_t len;
} capture;

static int capture_send(pl_sender *s, const pl_target *dst, const char *buf, size_t len)
{
    (void)dst;
    capture *c = (capture *)s;
    if (len > sizeof(c->buf))
        return PL_ENOSPC;
    memcpy(c->buf, buf, len);
    c->len = len;
    return PL_OK;
}

static void sample_done(pl_ua *ua, pl_ua_client req, const pl_msg *resp, void *app)
{
    (void)ua;
    (void)req;
    (void)resp;
    (void)app;
}

static void sample_accept(pl_ua *ua, pl_ua_server srv, const pl_msg *req, void *app)
{
    (void)req;
    (void)app;
    pl_ua_server_accept(ua, srv, 200);
}

/*
 * The sender's MESSAGE as a virtual-mode pl_ua writes it (same profile,
 * target and body; a local port of as many digits as the real one), and
 * the size of the 200 a virtual receiver answers it with.
 */
size_t parley_sample_request(char *out, size_t cap, uint16_t port, size_t *resp_len)
{
    static capture req_cap, resp_cap;
    req_cap.s.send = capture_send;
    resp_cap.s.send = capture_send;
    req_cap.len = resp_cap.len = 0;
    static pl_wheel wheel;
    pl_wheel_init(&wheel, 0);
    char local_s[64], remote_s[64], target[64];
    uint16_t lport = port == 65535 ? 65534 : (uint16_t)(port + 1);
    snprintf(local_s, sizeof(local_s), "udp:127.0.0.1:%u", lport);
    snprintf(remote_s, sizeof(remote_s), "udp:127.0.0.1:%u", port);
    snprintf(target, sizeof(target), "sip:bench@127.0.0.1:%u", port);

    pl_ua_profile *pa = pl_ua_profile_new(NULL), *pb = pl_ua_profile_new(NULL);
    pl_ua_profile_set_aor(pa, "sip:bench@127.0.0.1");
    pl_ua_profile_set_aor(pb, "sip:bench@127.0.0.1");
    pl_ua_config ca, cb;
    memset(&ca, 0, sizeof(ca));
    ca.master = pa;
    ca.wheel = &wheel;
    ca.sender = &req_cap.s;
    ca.local = local_s;
    ca.log = count_log;
    cb = ca;
    cb.master = pb;
    cb.sender = &resp_cap.s;
    cb.local = remote_s;
    pl_ua *a = pl_ua_new(&ca), *b = pl_ua_new(&cb);
    size_t n = 0;
    if (a && b) {
        pl_ua_handler ha = {0}, hb = {0};
        ha.on_success = ha.on_failure = sample_done;
        hb.on_request = sample_accept;
        pl_ua_set_handler(a, "MESSAGE", &ha, NULL);
        pl_ua_set_handler(b, "MESSAGE", &hb, NULL);
        pl_ua_client c;
        if (pl_ua_request_new(a, NULL, "MESSAGE", target, NULL, NULL, &c) == PL_OK &&
            pl_msg_set_body(pl_ua_request_msg(a, c), PL_STR_LIT("text/plain"),
                            PL_STR_LIT(BU_BODY)) == PL_OK &&
            pl_ua_request_send(a, c) == PL_OK && req_cap.len && req_cap.len <= cap) {
            memcpy(out, req_cap.buf, req_cap.len);
            if (getenv("BENCH_UA_DUMP"))
                fprintf(stderr, "bench-ua: the echo datagram:\n%.*s\n", (int)req_cap.len,
                        req_cap.buf);
            n = req_cap.len;
            pl_target src;
            pl_target_parse(&src, local_s);
            pl_ua_receive(b, req_cap.buf, req_cap.len, &src, PL_FRAMING_DGRAM);
            *resp_len = resp_cap.len;
        }
    }
    pl_ua_free(a);
    pl_ua_free(b);
    pl_ua_profile_free(pa);
    pl_ua_profile_free(pb);
    return n;
}
