/*
 * bench-ua: closed-loop out-of-dialog MESSAGE requests through a user-agent
 * API, between two processes over UDP loopback: Parley's pl_ua against
 * sofia-sip's nua, with a bare UDP echo of a same-sized datagram as the
 * floor.
 *
 *   bench-ua [options]            run the pairs and print the table
 *   bench-ua --role ROLE ...      one side (the orchestrator starts these)
 *
 * See --help and docs/benchmarks.md. Progress goes to stderr, results to
 * stdout; the last two lines compare Parley with sofia-sip at W=64: CPU per
 * request (sender + receiver), then the request rate.
 */
#include "bench_ua.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE  1
#define EXIT_FAILED 2

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bench-ua [options]\n"
            "\n"
            "Closed-loop out-of-dialog MESSAGE requests (a short text/plain body, answered\n"
            "200) over UDP on 127.0.0.1 between two processes (this program started again\n"
            "as sender and receiver), for three pairs:\n"
            "  parley   the UA API: pl_ua_request_new + pl_msg_set_body +\n"
            "           pl_ua_request_send; the receiver's MESSAGE handler calls\n"
            "           pl_ua_server_accept(200); on_success sends the next\n"
            "  sofia    sofia-sip %s nua: nua_handle + nua_message; the receiver\n"
            "           (NUTAG_APPL_METHOD(\"MESSAGE\")) answers nua_i_message with\n"
            "           nua_respond(200); handles destroyed after each final response\n"
            "  echo     bare UDP echo of a datagram the size of Parley's request: the floor\n"
            "The sender keeps W requests in flight, each a new request (new Call-ID),\n"
            "for --seconds, and both sides report their CPU time (getrusage, every\n"
            "thread) over the traffic. The default run takes about 30 s.\n"
            "\n"
            "options:\n"
            "  --seconds S     timed traffic per run (default 5)\n"
            "  --windows LIST  comma-separated W values (default 1,64)\n"
            "  --only LIST     comma-separated pairs: echo, parley, sofia (default all)\n"
            "  --pin MODE      none (default: the kernel places both processes), apart\n"
            "                  (sender on CPU 0, receiver on CPU 1) or same (both on CPU 0)\n"
            "  --t1 MS --t4 MS Parley's T1 and T4 (default 500 and 5000, as sofia's), for\n"
            "                  experiments: a shorter Timer J (64*T1) and K (T4) lets\n"
            "                  Parley reuse the memory of ended transactions within a run;\n"
            "                  the pairs then no longer compare\n"
            "  -h, --help      this text\n"
            "\n"
            "internal (one side): --role parley-sender|parley-receiver|sofia-sender|\n"
            "  sofia-receiver|echo-sender|echo-receiver with --port P, --window W,\n"
            "  --seconds S, --tick-ms MS, --deadline S, --t1 MS, --t4 MS.\n"
            "\n"
            "Output: a table, then 'ua requests vs udp floor: <P>%%', 'ua cpu per request\n"
            "vs sofia-sip: <X>x' (sofia's sender + receiver CPU per request over Parley's)\n"
            "and, last, 'ua requests speedup vs sofia-sip: <X>x' (Parley's request rate\n"
            "over sofia's), all at the largest W (64 by default).\n"
            "Exit status: 0; 1 for a usage error; 2 when a pair failed (a role reported\n"
            "an error or died, a request got a non-200 final response, a timeout).\n",
            sofia_version());
}

/* ------------------------------------------------------------------ options */

const bench_program bench_prog = {"bench-ua", EXIT_USAGE, EXIT_FAILED};

enum { PAIR_ECHO, PAIR_PARLEY, PAIR_SOFIA, PAIR_COUNT };
static const char *const pair_key[PAIR_COUNT] = {"echo", "parley", "sofia"};
static const char *pair_label[PAIR_COUNT] = {"udp echo", "Parley", "sofia-sip"};

#define TICK_MS    1000u
#define TIMER_F_MS 32000u /* both stacks' default: a lost request fails after this */

static void parse_args(int argc, char **argv, bench_opts *o)
{
    bench_opts_init(o, 5);
    const bench_args spec = {pair_key, PAIR_COUNT, usage, NULL, NULL, NULL};
    bench_parse_args(argc, argv, o, &spec);
}

static const bench_role roles[] = {
    {"parley-receiver", parley_receiver, false}, {"parley-sender", parley_sender, true},
    {"sofia-receiver", sofia_receiver, false},   {"sofia-sender", sofia_sender, true},
    {"echo-receiver", echo_receiver, false},     {"echo-sender", echo_sender, true},
};

/* ------------------------------------------------------------------ one run */

typedef struct result {
    int pair;
    unsigned window;
    uint64_t req_bytes, resp_bytes;
    uint64_t ok, fail, ns;
    uint64_t c_cpu, c_rss_kb, c_logs, c_csw, c_flt;
    uint64_t s_reqs, s_cpu, s_rss_kb, s_logs, s_csw, s_flt;
} result;

#define run_failed(r, ...) bench_run_failed(pair_label[(r)->pair], (r)->window, __VA_ARGS__)

static void run_pair(const bench_opts *o, int pair, unsigned window, result *r)
{
    memset(r, 0, sizeof(*r));
    r->pair = pair;
    r->window = window;

    bench_pair_run run = {.key = pair_key[pair],
                          .label = pair_label[pair],
                          .recv = "receiver",
                          .send = "sender",
                          .role = o->role,
                          .pin = o->pin};
    run.role.window = window;
    run.role.deadline = (unsigned)(o->role.seconds + TIMER_F_MS / 1000 + 90);
    run.role.tick_ms = TICK_MS;
    run.role.t1 = o->role.t1 ? o->role.t1 : 500u;
    run.role.t4 = o->role.t4 ? o->role.t4 : 5000u;
    static bench_child recv_c, send_c;
    bench_start_pair(&run, &recv_c, &send_c);

    enum { VERIFY, ACTIVE, STOPPING } phase = VERIFY;
    bool c_done = false, s_done = false;
    uint64_t c_until = bench_mono_ms() + 10000, s_until = UINT64_MAX;
    uint64_t prev_t = 0, prev_n = 0;
    char line[512];
    while (!c_done || !s_done) {
        bench_child *kids[2] = {&send_c, &recv_c};
        for (int k = 0; k < 2; k++) {
            bench_child *c = kids[k];
            bool is_recv = c == &recv_c;
            while (bench_next_line(c, line, sizeof(line))) {
                if (strncmp(line, "error", 5) == 0)
                    run_failed(r, "%s: %s", c->name, line + 6);
                unsigned long long a = 0, b = 0, d = 0, e = 0, f = 0, g = 0, h = 0, k2 = 0;
                if (!is_recv) {
                    if (sscanf(line, "verified %llu %llu", &a, &b) == 2) {
                        if (a)
                            r->req_bytes = a;
                        r->resp_bytes = b;
                        phase = ACTIVE;
                        c_until = bench_mono_ms() + (uint64_t)(o->role.seconds * 1000) +
                                  TIMER_F_MS + 15000;
                        fprintf(stderr, "bench-ua: %s W=%u: verified; timing %.1f s\n",
                                pair_label[pair], window, o->role.seconds);
                    } else if (sscanf(line, "tick %llu %llu %llu", &a, &b, &d) == 3) {
                        uint64_t dt = a - prev_t, dn = b - prev_n;
                        fprintf(stderr,
                                "bench-ua: %s W=%u: t=%3.0f s  %8.0f requests/s  sender "
                                "%.1f us CPU/request so far\n",
                                pair_label[pair], window, (double)a / 1000,
                                dt ? (double)dn * 1000 / (double)dt : 0,
                                b ? (double)d / (double)b : 0);
                        prev_t = a;
                        prev_n = b;
                    } else if (sscanf(line, "active %llu %llu %llu %llu %llu %llu %llu %llu", &a,
                                      &b, &d, &e, &f, &g, &h, &k2) == 8) {
                        r->ok = a;
                        r->fail = b;
                        r->ns = d;
                        r->c_cpu = e;
                        r->c_rss_kb = f;
                        r->c_logs = g;
                        r->c_csw = h;
                        r->c_flt = k2;
                        c_done = true;
                        c_until = UINT64_MAX;
                        phase = STOPPING;
                        bench_send_cmd(&recv_c, "stop\n");
                        s_until = bench_mono_ms() + 10000;
                        double secs = (double)d / 1e9;
                        fprintf(stderr, "bench-ua: %s W=%u: %llu requests in %.2f s (%.0f/s)\n",
                                pair_label[pair], window, a, secs, secs > 0 ? (double)a / secs : 0);
                        if (b && pair == PAIR_ECHO)
                            fprintf(stderr, "bench-ua: udp echo: %llu datagrams lost\n", b);
                    }
                } else {
                    if (sscanf(line, "request %llu", &a) == 1) {
                        r->req_bytes = a;
                    } else if (sscanf(line, "stopped %llu %llu %llu %llu %llu %llu", &a, &b, &d, &e,
                                      &f, &g) == 6) {
                        r->s_reqs = a;
                        r->s_cpu = b;
                        r->s_rss_kb = d;
                        r->s_logs = e;
                        r->s_csw = f;
                        r->s_flt = g;
                        s_done = true;
                        s_until = UINT64_MAX;
                    }
                }
            }
            if (c->eof && !(is_recv ? s_done : c_done))
                run_failed(r, "the %s %s", c->name, bench_exit_text(c));
        }
        if (c_done && s_done)
            break;
        uint64_t now = bench_mono_ms();
        if (!c_done && now >= c_until)
            run_failed(r, "the sender sent no %s report in time",
                       phase == VERIFY ? "verification" : "end-of-traffic");
        if (!s_done && now >= s_until)
            run_failed(r, "the receiver did not answer the stop command within 10 s");
        bench_poll_children(&send_c, &recv_c, now, c_until < s_until ? c_until : s_until);
    }
    bench_reap_pair(&send_c, &recv_c, pair_label[pair], window);
    if (r->ok == 0)
        run_failed(r, "no request completed");
}

/* ------------------------------------------------------------------ output */

static double rate_of(const result *r)
{
    return bench_rate(r->ok, r->ns);
}

/* The sender's count includes its verification request. */
static double c_per(const result *r)
{
    return bench_per(r->c_cpu, r->ok + 1);
}

static double s_per(const result *r)
{
    return bench_per(r->s_cpu, r->s_reqs ? r->s_reqs : r->ok + 1);
}

static void print_table(const result *res, size_t n)
{
    printf("\nOut-of-dialog MESSAGE requests answered 200, over UDP loopback, sender and\n"
           "receiver in two processes. us/req: CPU microseconds (user + system, every\n"
           "thread) per request over the traffic; 'both' is sender + receiver.\n\n");
    printf("| pair | W | requests | req/s | sender us/req | receiver us/req | both us/req | "
           "request bytes | response bytes |\n");
    printf("|------|--:|---------:|------:|------:|------:|------:|------:|------:|\n");
    for (size_t i = 0; i < n; i++) {
        const result *r = &res[i];
        printf("| %s | %u | %llu | %.0f | %.2f | %.2f | %.2f | %llu | %llu |\n",
               pair_label[r->pair], r->window, (unsigned long long)r->ok, rate_of(r), c_per(r),
               s_per(r), c_per(r) + s_per(r), (unsigned long long)r->req_bytes,
               (unsigned long long)r->resp_bytes);
    }
    printf("\nPer request, over the same traffic: context switches (voluntary + involuntary,\n"
           "every thread) and minor page faults (pages touched for the first time); peak\n"
           "resident memory at the end of the traffic.\n\n");
    printf("| pair | W | sender csw/req | receiver csw/req | sender faults/req | "
           "receiver faults/req | sender RSS MiB | receiver RSS MiB |\n");
    printf("|------|--:|------:|------:|------:|------:|------:|------:|\n");
    for (size_t i = 0; i < n; i++) {
        const result *r = &res[i];
        double cn = (double)(r->ok + 1), sn = (double)(r->s_reqs ? r->s_reqs : r->ok + 1);
        printf("| %s | %u | %.2f | %.2f | %.2f | %.2f | %.1f | %.1f |\n", pair_label[r->pair],
               r->window, (double)r->c_csw / cn, (double)r->s_csw / sn, (double)r->c_flt / cn,
               (double)r->s_flt / sn, (double)r->c_rss_kb / 1024, (double)r->s_rss_kb / 1024);
    }
    for (size_t i = 0; i < n; i++) {
        const result *r = &res[i];
        if (r->c_logs || r->s_logs)
            printf("\n%s W=%u: the stack logged %llu lines in the sender, %llu in the receiver",
                   pair_label[r->pair], r->window, (unsigned long long)r->c_logs,
                   (unsigned long long)r->s_logs);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    bench_opts o;
    parse_args(argc, argv, &o);
    if (o.role.role)
        return bench_run_role(&o.role, roles, sizeof(roles) / sizeof(roles[0]));

    static char sofia_label[48];
    snprintf(sofia_label, sizeof(sofia_label), "sofia-sip %s", sofia_version());
    pair_label[PAIR_SOFIA] = sofia_label;
    bench_orch_init(argv[0]);

    static result res[PAIR_COUNT * BENCH_MAX_WINDOWS];
    size_t nres = 0;
    int pair;
    unsigned window;
    for (; bench_nth_run(&o, PAIR_COUNT, nres, &pair, &window); nres++)
        run_pair(&o, pair, window, &res[nres]);
    print_table(res, nres);

    /* The headline lines, at the largest W that was run (64 by default). */
    unsigned wmax = bench_max_window(&o);
    const result *at[PAIR_COUNT] = {NULL, NULL, NULL};
    for (size_t i = 0; i < nres; i++)
        if (res[i].window == wmax)
            at[res[i].pair] = &res[i];
    const result *pl = at[PAIR_PARLEY], *so = at[PAIR_SOFIA], *ec = at[PAIR_ECHO];
    if (pl && (so || ec))
        printf("\n");
    if (pl && ec)
        bench_print_percent("ua requests vs udp floor", 100 * rate_of(pl) / rate_of(ec));
    if (pl && so) {
        bench_print_ratio("ua cpu per request vs sofia-sip",
                          (c_per(so) + s_per(so)) / (c_per(pl) + s_per(pl)));
        bench_print_ratio("ua requests speedup vs sofia-sip", rate_of(pl) / rate_of(so));
    }
    return 0;
}
