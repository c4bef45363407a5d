/*
 * libre_pair.c - the libre roles (libre is the C SIP library under
 * baresip; Debian's libre-dev): a UAS answering OPTIONS with sip_treply()
 * 200 from a sip_listen() handler, and a UAC sending each OPTIONS with
 * sip_requestf() (stateful: a client transaction) with a new Call-ID.
 *
 * libre's timers are the RFC's and compile-time constants (SIP_T1 500 ms,
 * SIP_T4 5 s): a server transaction stays 64*T1 after its final response,
 * a client transaction T4. Every live libre transaction holds one running
 * timer (ctrans: Timer F or K, strans: Timer J) and frees itself when that
 * timer fires, so a role has drained when libre's timer list is empty.
 *
 * The roles' own periodic checks run on a timerfd, not on a libre timer:
 * libre keeps its timers in one sorted list and tmr_start() walks it from
 * the tail to the new deadline, so a short poll timer would walk past every
 * Timer J entry each time and bill that to libre.
 *
 * libre's transaction hash tables are fixed-size (sip_alloc's ctsz, stsz):
 * both are given 2^18 buckets here so that chains stay short with a few
 * hundred thousand transactions waiting on Timer J.
 */
#include "bench_txn.h"

#include <errno.h>

/* As libre's own build defines them; struct sa has the same size either way. */
#define HAVE_INTTYPES_H 1
#define HAVE_STDBOOL_H  1
#define HAVE_INET6      1
#define RELEASE         1
#include <re.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* Exported by libre, not declared in its headers: the running thread's timers. */
struct list *tmrl_get(void);

#define POLL_MS      50
#define HASH_SIZE    (1u << 18)
#define LIBRE_ROLE_C "libre-client"
#define LIBRE_ROLE_S "libre-server"

/* True when libre has no timer armed: every transaction has ended. */
static bool timers_idle(void)
{
    struct list *l = tmrl_get();
    return !l || l->head == NULL;
}

static uint32_t timers_armed(void)
{
    struct list *l = tmrl_get();
    return l ? list_count(l) : 0;
}

/* Call fn every POLL_MS from libre's loop, without a libre timer. */
static int poll_fd = -1;
static void (*poll_fn)(void);

static void on_poll_fd(int flags, void *arg)
{
    (void)flags;
    (void)arg;
    uint64_t n;
    if (read(poll_fd, &n, sizeof(n)) == (ssize_t)sizeof(n) && poll_fn)
        poll_fn();
}

static void start_polling(const char *role, void (*fn)(void))
{
    poll_fn = fn;
    poll_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct itimerspec its = {{0, POLL_MS * 1000000L}, {0, 1000000L}};
    if (poll_fd < 0 || timerfd_settime(poll_fd, 0, &its, NULL) != 0 ||
        fd_listen(poll_fd, FD_READ, on_poll_fd, NULL) != 0)
        bench_fail(role, "timerfd: %s", strerror(errno));
}

static void stop_polling(void)
{
    if (poll_fd >= 0) {
        fd_close(poll_fd);
        close(poll_fd);
    }
    poll_fd = -1;
}

static struct sip *new_stack(const char *role, uint16_t *port)
{
    struct sip *sip = NULL;
    int err = sip_alloc(&sip, NULL, HASH_SIZE, HASH_SIZE, 64, NULL, NULL, NULL);
    if (err)
        bench_fail(role, "sip_alloc: %s", strerror(err));
    struct sa laddr;
    sa_set_str(&laddr, "127.0.0.1", 0);
    err = sip_transp_add(sip, SIP_TRANSP_UDP, &laddr);
    if (err)
        bench_fail(role, "sip_transp_add(UDP, 127.0.0.1:0): %s", strerror(err));
    struct sa local;
    struct sa dst;
    sa_set_str(&dst, "127.0.0.1", 9);
    err = sip_transp_laddr(sip, &local, SIP_TRANSP_UDP, &dst);
    if (err || !sa_port(&local))
        bench_fail(role, "sip_transp_laddr: %s", strerror(err ? err : EINVAL));
    *port = sa_port(&local);
    return sip;
}

const char *libre_version(void)
{
    const char *v = sys_libre_version_get();
    return v ? v : "?";
}

/* ------------------------------------------------------------------ server */

static struct {
    struct sip *sip;
    bool draining;
    uint64_t requests, cpu0, stop_ns;
} LS;

static bool ls_on_request(const struct sip_msg *msg, void *arg)
{
    (void)arg;
    LS.requests++;
    bool options = pl_strcmp(&msg->met, "OPTIONS") == 0;
    int err =
        sip_treply(NULL, LS.sip, msg, options ? 200 : 501, options ? "OK" : "Not Implemented");
    if (err)
        bench_fail(LIBRE_ROLE_S, "sip_treply: %s", strerror(err));
    return true;
}

static void ls_on_drain(void)
{
    if (!timers_idle())
        return;
    stop_polling();
    bench_report("done %llu %llu %llu %llu 0", (unsigned long long)LS.requests,
                 (unsigned long long)(bench_cpu_us() - LS.cpu0),
                 (unsigned long long)((bench_now_ns() - LS.stop_ns) / 1000000u),
                 (unsigned long long)bench_maxrss_kb());
    re_cancel();
}

static void ls_command(const char *cmd)
{
    if (strcmp(cmd, "tick") == 0) {
        bench_report("tick %llu %llu %u", (unsigned long long)LS.requests,
                     (unsigned long long)(bench_cpu_us() - LS.cpu0), timers_armed());
    } else if (strcmp(cmd, "stop") == 0 && !LS.draining) {
        LS.draining = true;
        LS.stop_ns = bench_now_ns();
        bench_report("stopped %llu %llu %u", (unsigned long long)LS.requests,
                     (unsigned long long)(bench_cpu_us() - LS.cpu0), timers_armed());
        start_polling(LIBRE_ROLE_S, ls_on_drain);
    }
}

static void ls_on_stdin(int flags, void *arg)
{
    (void)flags;
    (void)arg;
    bench_take_cmds(ls_command);
}

int libre_server(const role_opts *o)
{
    (void)o;
    int err = libre_init();
    if (err)
        bench_fail(LIBRE_ROLE_S, "libre_init: %s", strerror(err));
    uint16_t port;
    LS.sip = new_stack(LIBRE_ROLE_S, &port);
    struct sip_lsnr *lsnr = NULL;
    err = sip_listen(&lsnr, LS.sip, true, ls_on_request, NULL);
    if (err)
        bench_fail(LIBRE_ROLE_S, "sip_listen: %s", strerror(err));
    err = fd_listen(0, FD_READ, ls_on_stdin, NULL);
    if (err)
        bench_fail(LIBRE_ROLE_S, "fd_listen(stdin): %s", strerror(err));
    LS.cpu0 = bench_cpu_us();
    bench_report("ready %u", port);
    re_main(NULL);
    fd_close(0);
    mem_deref(lsnr);
    sip_close(LS.sip, true);
    mem_deref(LS.sip);
    libre_close();
    return 0;
}

/* ------------------------------------------------------------------ client */

static struct {
    const role_opts *o;
    struct sip *sip;
    uint16_t lport;
    char ruri[64];
    bool verifying;
    bench_loop loop; /* the timed transactions */
    int bad_err;     /* the first failed one's error (0: it got a status) */
    uint64_t cpu0;
    size_t req_bytes, resp_bytes;
    struct tmr guard;
} LC;

static void lc_start_one(void);

static void lc_trace(bool tx, enum sip_transp tp, const struct sa *src, const struct sa *dst,
                     const uint8_t *pkt, size_t len, void *arg)
{
    (void)tp;
    (void)src;
    (void)dst;
    (void)pkt;
    (void)arg;
    if (tx)
        LC.req_bytes = len;
    else
        LC.resp_bytes = len;
}

static void lc_on_drain(void)
{
    if (!timers_idle())
        return;
    stop_polling();
    bench_report("done %llu %llu %llu", (unsigned long long)(bench_cpu_us() - LC.cpu0),
                 (unsigned long long)((bench_now_ns() - LC.loop.t_end) / 1000000u),
                 (unsigned long long)bench_maxrss_kb());
    re_cancel();
}

static void lc_active_end(void)
{
    const bench_loop *l = &LC.loop;
    bench_report("active %llu %llu %llu %llu %u 0", (unsigned long long)l->ok,
                 (unsigned long long)l->fail, (unsigned long long)(l->t_end - l->t0),
                 (unsigned long long)(bench_cpu_us() - LC.cpu0), timers_armed());
    if (l->fail)
        bench_fail(LIBRE_ROLE_C, "%llu of %llu transactions failed (first: %s %d)",
                   (unsigned long long)l->fail, (unsigned long long)l->started,
                   LC.bad_err ? strerror(LC.bad_err) : "status", l->bad_status);
    start_polling(LIBRE_ROLE_C, lc_on_drain);
}

static void lc_on_response(int err, const struct sip_msg *msg, void *arg)
{
    (void)arg;
    if (!err && msg && msg->scode < 200)
        return;
    bool good = !err && msg && msg->scode == 200;
    if (LC.verifying) {
        LC.verifying = false;
        tmr_cancel(&LC.guard);
        sip_set_trace_handler(LC.sip, NULL);
        if (!good)
            bench_fail(LIBRE_ROLE_C, "verification: the OPTIONS got %s %u, not 200",
                       err ? strerror(err) : "status", msg ? msg->scode : 0);
        bench_report("verified %zu %zu", LC.req_bytes, LC.resp_bytes);
        bench_loop_begin(&LC.loop, LC.o);
        for (unsigned i = 0; i < LC.o->window && bench_loop_more(&LC.loop); i++)
            lc_start_one();
        return;
    }
    if (!good && !LC.loop.fail)
        LC.bad_err = err;
    switch (bench_loop_final(&LC.loop, good, msg ? msg->scode : 0)) {
    case BENCH_LOOP_NEXT:
        lc_start_one();
        break;
    case BENCH_LOOP_END:
        lc_active_end();
        break;
    default:
        break;
    }
}

static void lc_start_one(void)
{
    int err =
        sip_requestf(NULL, LC.sip, true, "OPTIONS", LC.ruri, NULL, NULL, NULL, lc_on_response, NULL,
                     "From: <sip:client@127.0.0.1>;tag=%016llx\r\n"
                     "To: <sip:bench@127.0.0.1:%u>\r\n"
                     "Call-ID: %016llx%04x\r\n"
                     "CSeq: 1 OPTIONS\r\n"
                     "Contact: <sip:client@127.0.0.1:%u>\r\n"
                     "Content-Length: 0\r\n"
                     "\r\n",
                     (unsigned long long)rand_u64(), LC.o->port, (unsigned long long)rand_u64(),
                     (unsigned)(rand_u64() & 0xffff), LC.lport);
    if (err)
        bench_fail(LIBRE_ROLE_C, "sip_requestf: %s", strerror(err));
    bench_loop_sent(&LC.loop);
}

static void lc_on_guard(void *arg)
{
    (void)arg;
    bench_fail(LIBRE_ROLE_C, "verification: no final response to the first OPTIONS in 5 s");
}

int libre_client(const role_opts *o)
{
    LC.o = o;
    int err = libre_init();
    if (err)
        bench_fail(LIBRE_ROLE_C, "libre_init: %s", strerror(err));
    LC.sip = new_stack(LIBRE_ROLE_C, &LC.lport);
    snprintf(LC.ruri, sizeof(LC.ruri), "sip:bench@127.0.0.1:%u", o->port);
    tmr_init(&LC.guard);
    LC.cpu0 = bench_cpu_us();
    LC.verifying = true;
    sip_set_trace_handler(LC.sip, lc_trace);
    tmr_start(&LC.guard, 5000, lc_on_guard, NULL);
    lc_start_one();
    re_main(NULL);
    tmr_cancel(&LC.guard);
    sip_close(LC.sip, true);
    mem_deref(LC.sip);
    libre_close();
    return 0;
}
