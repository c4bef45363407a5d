/*
 * bench-txn: closed-loop non-INVITE transactions (OPTIONS answered 200)
 * over UDP loopback between two processes, for Parley, libre and a bare UDP
 * echo (the floor).
 *
 *   bench-txn [options]            run the pairs and print the table
 *   bench-txn --long               Parley at W=64 for 60 s, the rate every 5 s
 *   bench-txn --role ROLE ...      one side (the orchestrator starts these)
 *
 * See --help and docs/benchmarks.md. Progress goes to stderr, results to
 * stdout; the last two lines are Parley's transaction rate over libre's and
 * over the echo floor's, at W=64.
 */
#include "bench_txn.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bench-txn [options]\n"
            "\n"
            "Closed-loop non-INVITE transactions (OPTIONS -> 200) over UDP on 127.0.0.1\n"
            "between two processes (this program started again as client and server),\n"
            "for three pairs:\n"
            "  parley   pl_net + pl_txn_layer on both sides (RFC 3261 timers: the\n"
            "           server's Timer J holds each transaction 64*T1 = 32 s, the\n"
            "           client's Timer K T4 = 5 s)\n"
            "  libre    sip_requestf / sip_listen + sip_treply (libre %s here)\n"
            "  echo     bare UDP echo of a datagram of the same size: the floor\n"
            "The client keeps W transactions in flight, each a new client transaction\n"
            "with its own Call-ID. Both sides then wait until every transaction has\n"
            "ended, and report their CPU time (getrusage) from set-up to that point.\n"
            "The whole default run takes about 2.5 minutes (mostly the 32 s of Timer J).\n"
            "\n"
            "options:\n"
            "  --seconds S     timed traffic per run (default 4; 60 with --long)\n"
            "  --count N       a fixed number of transactions per run instead\n"
            "  --windows LIST  comma-separated W values (default 1,64)\n"
            "  --only LIST     comma-separated pairs: echo, parley, libre (default all)\n"
            "  --long          Parley only, W=64, 60 s, default timers: print the rate\n"
            "                  every 5 s (it must not fall as Timer J entries pile up)\n"
            "  --pin MODE      none (default: the kernel places both processes on the\n"
            "                  2 cores), apart (client on CPU 0, server on CPU 1) or\n"
            "                  same (both on CPU 0)\n"
            "  --t1 MS --t4 MS Parley's T1 and T4 (default 500 and 5000; libre's are\n"
            "                  compile-time constants, so the pairs then differ)\n"
            "  -h, --help      this text\n"
            "\n"
            "internal (one side): --role parley-server|parley-client|libre-server|\n"
            "  libre-client|echo-server|echo-client (also --role server|client|\n"
            "  echo-server|echo-client for the Parley and echo pairs) with --port P,\n"
            "  --window W, --seconds S or --count N, --tick-ms MS, --deadline S.\n"
            "\n"
            "Output: a table, then 'transactions speedup vs libre: <X>x' (W=64 rate,\n"
            "Parley/libre) and 'transactions vs udp floor: <P>%%' (Parley's W=64 rate\n"
            "as a percentage of the echo's W=64 round-trip rate). Exit status 0, or 1\n"
            "when a pair failed (a timeout, an error response, a dead peer), 2 for a\n"
            "usage error.\n",
            libre_version());
}

/* ------------------------------------------------------------------ options */

const bench_program bench_prog = {"bench-txn", 2, 1};

enum { PAIR_ECHO, PAIR_PARLEY, PAIR_LIBRE, PAIR_COUNT };
static const char *const pair_key[PAIR_COUNT] = {"echo", "parley", "libre"};
static const char *pair_label[PAIR_COUNT] = {"udp echo", "Parley", "libre"};

typedef struct opts {
    bench_opts b;
    bool long_mode;
} opts;

static bool txn_flag(const char *a, void *ctx)
{
    if (strcmp(a, "--long") != 0)
        return false;
    ((opts *)ctx)->long_mode = true;
    return true;
}

static bool txn_option(const char *a, const char *v, void *ctx)
{
    if (strcmp(a, "--count") != 0)
        return false;
    ((opts *)ctx)->b.role.count = bench_parse_u64(a, v, 1, 100000000);
    return true;
}

static void parse_args(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof(*o));
    bench_opts_init(&o->b, 4);
    o->b.role.t1 = 500;
    o->b.role.t4 = 5000;
    const bench_args spec = {pair_key, PAIR_COUNT, usage, txn_flag, txn_option, o};
    bench_parse_args(argc, argv, &o->b, &spec);
    if (o->long_mode) {
        if (!o->b.seconds_set)
            o->b.role.seconds = 60;
        for (int p = 0; p < PAIR_COUNT; p++)
            o->b.only[p] = p == PAIR_PARLEY;
        o->b.windows[0] = 64;
        o->b.nwindows = 1;
    }
}

static const bench_role roles[] = {
    {"parley-server", parley_server, false}, {"server", parley_server, false},
    {"parley-client", parley_client, true},  {"client", parley_client, true},
    {"libre-server", libre_server, false},   {"libre-client", libre_client, true},
    {"echo-server", echo_server, false},     {"echo-client", echo_client, true},
};

/* ------------------------------------------------------------------ one run */

#define MAX_TICKS 64

typedef struct tick {
    uint64_t t_ms, c_done, c_cpu, c_live;
    uint64_t s_reqs, s_cpu, s_live;
} tick;

typedef struct result {
    int pair;
    unsigned window;
    size_t req_bytes, resp_bytes;
    uint64_t ok, fail, ns;
    uint64_t c_cpu_traffic, c_cpu_total, c_live_end, c_retx, c_drain_ms, c_rss_kb;
    uint64_t s_reqs, s_cpu_traffic, s_cpu_total, s_live_stop, s_drain_ms, s_rss_kb, s_absorbed;
    tick ticks[MAX_TICKS];
    size_t nticks;
} result;

#define run_failed(r, ...) bench_run_failed(pair_label[(r)->pair], (r)->window, __VA_ARGS__)

static void run_pair(const opts *o, int pair, unsigned window, result *r)
{
    memset(r, 0, sizeof(*r));
    r->pair = pair;
    r->window = window;
    bool parley = pair == PAIR_PARLEY;
    /* Timer J (server) and K (client), as each side will run them. */
    uint64_t j_ms = 64u * (parley ? o->b.role.t1 : 500u), k_ms = parley ? o->b.role.t4 : 5000u;
    if (pair == PAIR_ECHO)
        j_ms = k_ms = 0;
    double traffic_s = o->b.role.count ? 600 : o->b.role.seconds;

    bench_pair_run run = {.key = pair_key[pair],
                          .label = pair_label[pair],
                          .recv = "server",
                          .send = "client",
                          .role = o->b.role,
                          .pin = o->b.pin};
    run.role.window = window;
    run.role.deadline = (unsigned)(traffic_s + (double)j_ms / 1000 + 120);
    run.role.tick_ms = o->long_mode ? 5000u : 0u;
    static bench_child server, client;
    bench_start_pair(&run, &server, &client);

    enum { VERIFY, ACTIVE, DRAIN } phase = VERIFY;
    bool c_done = false, s_done = false, s_stopped = false;
    uint64_t c_until = bench_mono_ms() + 10000, s_until = UINT64_MAX;
    uint64_t t_active = 0;
    tick pending = {0};
    char line[512];
    while (!c_done || !s_done) {
        bench_child *kids[2] = {&client, &server};
        for (int k = 0; k < 2; k++) {
            bench_child *c = kids[k];
            bool is_server = c == &server;
            while (bench_next_line(c, line, sizeof(line))) {
                if (strncmp(line, "error", 5) == 0)
                    run_failed(r, "%s: %s", c->name, line + 6);
                unsigned long long a = 0, b = 0, d = 0, e = 0, f = 0, g = 0;
                if (!is_server) {
                    if (sscanf(line, "verified %llu %llu", &a, &b) == 2) {
                        r->req_bytes = a;
                        r->resp_bytes = b;
                        phase = ACTIVE;
                        c_until = bench_mono_ms() + (uint64_t)(traffic_s * 1000) + j_ms + 15000;
                        fprintf(stderr,
                                "bench-txn: %s W=%u: verified (request %llu bytes, response "
                                "%llu); timing %s\n",
                                pair_label[pair], window, a, b,
                                o->b.role.count ? "a fixed count" : "a fixed duration");
                    } else if (sscanf(line, "tick %llu %llu %llu %llu", &a, &b, &d, &e) == 4) {
                        pending.t_ms = a;
                        pending.c_done = b;
                        pending.c_cpu = d;
                        pending.c_live = e;
                        bench_send_cmd(&server, "tick\n");
                    } else if (sscanf(line, "active %llu %llu %llu %llu %llu %llu", &a, &b, &d, &e,
                                      &f, &g) == 6) {
                        r->ok = a;
                        r->fail = b;
                        r->ns = d;
                        r->c_cpu_traffic = e;
                        r->c_live_end = f;
                        r->c_retx = g;
                        phase = DRAIN;
                        t_active = bench_mono_ms();
                        bench_send_cmd(&server, "stop\n");
                        c_until = t_active + k_ms + 20000;
                        s_until = t_active + j_ms + 30000;
                        double secs = (double)d / 1e9;
                        fprintf(stderr,
                                "bench-txn: %s W=%u: %llu transactions in %.2f s (%.0f/s)%s\n",
                                pair_label[pair], window, a, secs, (double)a / secs,
                                j_ms ? "; waiting for every transaction to end" : "");
                        if (b && pair == PAIR_ECHO)
                            fprintf(stderr, "bench-txn: udp echo: %llu datagrams lost\n", b);
                    } else if (sscanf(line, "done %llu %llu %llu", &a, &b, &d) == 3) {
                        r->c_cpu_total = a;
                        r->c_drain_ms = b;
                        r->c_rss_kb = d;
                        c_done = true;
                        c_until = UINT64_MAX;
                    }
                } else {
                    if (sscanf(line, "tick %llu %llu %llu", &a, &b, &d) == 3) {
                        pending.s_reqs = a;
                        pending.s_cpu = b;
                        pending.s_live = d;
                        if (r->nticks < MAX_TICKS)
                            r->ticks[r->nticks++] = pending;
                        const tick *prev = r->nticks > 1 ? &r->ticks[r->nticks - 2] : NULL;
                        uint64_t dt = pending.t_ms - (prev ? prev->t_ms : 0);
                        uint64_t dn = pending.c_done - (prev ? prev->c_done : 0);
                        fprintf(stderr,
                                "bench-txn: %s W=%u: t=%3.0f s  %8.0f txn/s  client live %6llu"
                                "  server live %8llu\n",
                                pair_label[pair], window, (double)pending.t_ms / 1000,
                                dt ? (double)dn * 1000 / (double)dt : 0,
                                (unsigned long long)pending.c_live, d);
                    } else if (sscanf(line, "stopped %llu %llu %llu", &a, &b, &d) == 3) {
                        r->s_reqs = a;
                        r->s_cpu_traffic = b;
                        r->s_live_stop = d;
                        s_stopped = true;
                        if (j_ms)
                            fprintf(stderr,
                                    "bench-txn: %s W=%u: server holds %llu transactions "
                                    "(Timer J: %.1f s), client %llu (Timer K: %.1f s)\n",
                                    pair_label[pair], window, d, (double)j_ms / 1000,
                                    (unsigned long long)r->c_live_end, (double)k_ms / 1000);
                    } else if (sscanf(line, "done %llu %llu %llu %llu %llu", &a, &b, &d, &e, &f) ==
                               5) {
                        r->s_reqs = a;
                        r->s_cpu_total = b;
                        r->s_drain_ms = d;
                        r->s_rss_kb = e;
                        r->s_absorbed = f;
                        s_done = true;
                        s_until = UINT64_MAX;
                    }
                }
            }
            if (c->eof && !(is_server ? s_done : c_done))
                run_failed(r, "the %s %s", c->name, bench_exit_text(c));
        }
        if (c_done && s_done)
            break;
        uint64_t now = bench_mono_ms();
        if (!c_done && now >= c_until)
            run_failed(r, "the client sent no %s report in time",
                       phase == VERIFY   ? "verification"
                       : phase == ACTIVE ? "end-of-traffic"
                                         : "drained");
        if (!s_done && now >= s_until)
            run_failed(r, "the server did not finish within %.0f s of the end of traffic",
                       (double)(s_until - t_active) / 1000);
        bench_poll_children(&client, &server, now, c_until < s_until ? c_until : s_until);
    }
    (void)s_stopped;
    bench_reap_pair(&client, &server, pair_label[pair], window);
    if (r->ok == 0)
        run_failed(r, "no transaction completed");
    if (j_ms)
        fprintf(stderr,
                "bench-txn: %s W=%u: every transaction ended: client after %.1f s, server "
                "after %.1f s\n",
                pair_label[pair], window, (double)r->c_drain_ms / 1000,
                (double)r->s_drain_ms / 1000);
}

/* ------------------------------------------------------------------ output */

static double rate_of(const result *r)
{
    return bench_rate(r->ok, r->ns);
}

static void print_table(const result *res, size_t n)
{
    printf("\nNon-INVITE transactions (OPTIONS -> 200) over UDP loopback, client and server in\n"
           "two processes on the same 2 cores. us/txn: CPU microseconds (user + system) per\n"
           "transaction; 'all' counts until every transaction has ended (Timer K on the\n"
           "client, Timer J on the server), 'traffic' only until the last response.\n\n");
    printf("| pair | W | transactions | txn/s | client us/txn traffic | client us/txn all | "
           "server us/txn traffic | server us/txn all | server live at end | server RSS MiB |\n");
    printf("|------|--:|-------------:|------:|------:|------:|------:|------:|------:|------:|\n");
    for (size_t i = 0; i < n; i++) {
        const result *r = &res[i];
        uint64_t cn = r->ok + 1; /* with the verification transaction */
        uint64_t sn = r->s_reqs ? r->s_reqs : cn;
        printf("| %s | %u | %llu | %.0f | %.2f | %.2f | %.2f | %.2f | %llu | %.1f |\n",
               pair_label[r->pair], r->window, (unsigned long long)r->ok, rate_of(r),
               bench_per(r->c_cpu_traffic, cn), bench_per(r->c_cpu_total, cn),
               bench_per(r->s_cpu_traffic, sn), bench_per(r->s_cpu_total, sn),
               (unsigned long long)r->s_live_stop, (double)r->s_rss_kb / 1024);
    }
    printf("\n");
    for (size_t i = 0; i < n; i++) {
        const result *r = &res[i];
        printf("%s W=%u: request %zu bytes, response %zu bytes", pair_label[r->pair], r->window,
               r->req_bytes, r->resp_bytes);
        if (r->pair != PAIR_ECHO)
            printf(", client retransmissions %llu, server absorbed %llu, drained in %.1f s "
                   "(client) and %.1f s (server); server RSS %.0f MiB for %llu live "
                   "transactions (%.1f KiB each)",
                   (unsigned long long)r->c_retx, (unsigned long long)r->s_absorbed,
                   (double)r->c_drain_ms / 1000, (double)r->s_drain_ms / 1000,
                   (double)r->s_rss_kb / 1024, (unsigned long long)r->s_live_stop,
                   r->s_live_stop ? (double)r->s_rss_kb / (double)r->s_live_stop : 0);
        printf("\n");
    }
}

static void print_long(const result *r)
{
    if (r->nticks == 0)
        return;
    printf("\nParley W=%u over %.0f s with default timers, every 5 s (the server's Timer J\n"
           "entries pile up for 32 s, then expire as fast as they are added):\n\n",
           r->window, (double)r->ns / 1e9);
    printf("| t (s) | txn/s | client us/txn | server us/txn | client live | server live |\n");
    printf("|------:|------:|------:|------:|------:|------:|\n");
    double first = 0, last = 0, lo = 0, hi = 0;
    for (size_t i = 0; i < r->nticks; i++) {
        const tick *t = &r->ticks[i];
        const tick *p = i ? &r->ticks[i - 1] : NULL;
        uint64_t dt = t->t_ms - (p ? p->t_ms : 0);
        uint64_t dn = t->c_done - (p ? p->c_done : 0);
        uint64_t ds = t->s_reqs - (p ? p->s_reqs : 0);
        double rate = dt ? (double)dn * 1000 / (double)dt : 0;
        printf("| %.0f | %.0f | %.2f | %.2f | %llu | %llu |\n", (double)t->t_ms / 1000, rate,
               bench_per(t->c_cpu - (p ? p->c_cpu : 0), dn),
               bench_per(t->s_cpu - (p ? p->s_cpu : 0), ds), (unsigned long long)t->c_live,
               (unsigned long long)t->s_live);
        if (i == 0)
            first = lo = hi = rate;
        last = rate;
        lo = rate < lo ? rate : lo;
        hi = rate > hi ? rate : hi;
    }
    printf("\nlong: first 5 s %.0f txn/s, last 5 s %.0f txn/s (%.0f%% of the first); "
           "slowest 5 s %.0f, fastest %.0f\n",
           first, last, first ? 100 * last / first : 0, lo, hi);
}

int main(int argc, char **argv)
{
    opts o;
    parse_args(argc, argv, &o);
    if (o.b.role.role)
        return bench_run_role(&o.b.role, roles, sizeof(roles) / sizeof(roles[0]));

    static char libre_label[48];
    snprintf(libre_label, sizeof(libre_label), "libre %s", libre_version());
    pair_label[PAIR_LIBRE] = libre_label;
    bench_orch_init(argv[0]);

    static result res[PAIR_COUNT * BENCH_MAX_WINDOWS];
    size_t nres = 0;
    int pair;
    unsigned window;
    for (; bench_nth_run(&o.b, PAIR_COUNT, nres, &pair, &window); nres++)
        run_pair(&o, pair, window, &res[nres]);
    print_table(res, nres);
    if (o.long_mode)
        print_long(&res[0]);

    /* The headline lines, at the largest W that was run (64 by default). */
    unsigned wmax = bench_max_window(&o.b);
    const result *at[PAIR_COUNT] = {NULL, NULL, NULL};
    for (size_t i = 0; i < nres; i++)
        if (res[i].window == wmax)
            at[res[i].pair] = &res[i];
    if (at[PAIR_PARLEY] && (at[PAIR_LIBRE] || at[PAIR_ECHO]))
        printf("\n");
    if (at[PAIR_PARLEY] && at[PAIR_LIBRE])
        bench_print_ratio("transactions speedup vs libre",
                          rate_of(at[PAIR_PARLEY]) / rate_of(at[PAIR_LIBRE]));
    if (at[PAIR_PARLEY] && at[PAIR_ECHO])
        bench_print_percent("transactions vs udp floor",
                            100 * rate_of(at[PAIR_PARLEY]) / rate_of(at[PAIR_ECHO]));
    return 0;
}
