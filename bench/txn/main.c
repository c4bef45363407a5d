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

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

enum { PAIR_ECHO, PAIR_PARLEY, PAIR_LIBRE, PAIR_COUNT };
static const char *const pair_key[PAIR_COUNT] = {"echo", "parley", "libre"};
static const char *pair_label[PAIR_COUNT] = {"udp echo", "Parley", "libre"};

#define MAX_WINDOWS 8

typedef struct opts {
    role_opts role;
    bool only[PAIR_COUNT];
    unsigned windows[MAX_WINDOWS];
    size_t nwindows;
    bool long_mode;
    bool seconds_set;
    int pin; /* PIN_* */
} opts;

enum { PIN_NONE, PIN_APART, PIN_SAME };

static _Noreturn void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench-txn: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see bench-txn --help)\n", stderr);
    va_end(ap);
    exit(2);
}

static uint64_t parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
        usage_error("%s wants a whole number from %llu to %llu, not '%s'", opt,
                    (unsigned long long)min, (unsigned long long)max, s);
    return v;
}

static void parse_args(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof(*o));
    o->role.seconds = 4;
    o->role.t1 = 500;
    o->role.t4 = 5000;
    o->role.window = 1;
    o->windows[0] = 1;
    o->windows[1] = 64;
    o->nwindows = 2;
    bool only_set = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--long") == 0) {
            o->long_mode = true;
            continue;
        }
        if (!v)
            usage_error("unknown option or missing value: %s", a);
        i++;
        if (strcmp(a, "--role") == 0) {
            o->role.role = v;
        } else if (strcmp(a, "--seconds") == 0) {
            char *end;
            o->role.seconds = strtod(v, &end);
            if (end == v || *end || !(o->role.seconds > 0 && o->role.seconds <= 3600))
                usage_error("--seconds wants a number of seconds from 0 to 3600, not '%s'", v);
            o->seconds_set = true;
        } else if (strcmp(a, "--count") == 0) {
            o->role.count = parse_u64(a, v, 1, 100000000);
        } else if (strcmp(a, "--window") == 0) {
            o->role.window = (unsigned)parse_u64(a, v, 1, 4096);
        } else if (strcmp(a, "--windows") == 0) {
            o->nwindows = 0;
            char buf[256];
            snprintf(buf, sizeof(buf), "%s", v);
            for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
                if (o->nwindows == MAX_WINDOWS)
                    usage_error("--windows takes at most %d values", MAX_WINDOWS);
                o->windows[o->nwindows++] = (unsigned)parse_u64(a, tok, 1, 4096);
            }
            if (!o->nwindows)
                usage_error("--windows wants a list such as 1,64");
        } else if (strcmp(a, "--only") == 0) {
            only_set = true;
            char buf[256];
            snprintf(buf, sizeof(buf), "%s", v);
            for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
                int k = -1;
                for (int p = 0; p < PAIR_COUNT; p++)
                    if (strcmp(tok, pair_key[p]) == 0)
                        k = p;
                if (k < 0)
                    usage_error("--only: unknown pair '%s' (echo, parley, libre)", tok);
                o->only[k] = true;
            }
        } else if (strcmp(a, "--pin") == 0) {
            if (strcmp(v, "none") == 0)
                o->pin = PIN_NONE;
            else if (strcmp(v, "apart") == 0)
                o->pin = PIN_APART;
            else if (strcmp(v, "same") == 0)
                o->pin = PIN_SAME;
            else
                usage_error("--pin wants none, apart or same, not '%s'", v);
        } else if (strcmp(a, "--t1") == 0) {
            o->role.t1 = (unsigned)parse_u64(a, v, 1, 60000);
        } else if (strcmp(a, "--t4") == 0) {
            o->role.t4 = (unsigned)parse_u64(a, v, 1, 600000);
        } else if (strcmp(a, "--port") == 0) {
            o->role.port = (uint16_t)parse_u64(a, v, 1, 65535);
        } else if (strcmp(a, "--tick-ms") == 0) {
            o->role.tick_ms = (unsigned)parse_u64(a, v, 0, 3600000);
        } else if (strcmp(a, "--deadline") == 0) {
            o->role.deadline = (unsigned)parse_u64(a, v, 1, 86400);
        } else {
            usage_error("unknown option %s", a);
        }
    }
    if (!only_set)
        for (int p = 0; p < PAIR_COUNT; p++)
            o->only[p] = true;
    if (o->long_mode) {
        if (!o->seconds_set)
            o->role.seconds = 60;
        for (int p = 0; p < PAIR_COUNT; p++)
            o->only[p] = p == PAIR_PARLEY;
        o->windows[0] = 64;
        o->nwindows = 1;
    }
}

/* ------------------------------------------------------------------ roles */

static int run_role(const opts *o)
{
    static const struct {
        const char *name;
        int (*fn)(const role_opts *);
        bool client;
    } roles[] = {
        {"parley-server", parley_server, false}, {"server", parley_server, false},
        {"parley-client", parley_client, true},  {"client", parley_client, true},
        {"libre-server", libre_server, false},   {"libre-client", libre_client, true},
        {"echo-server", echo_server, false},     {"echo-client", echo_client, true},
    };
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        if (strcmp(o->role.role, roles[i].name) != 0)
            continue;
        if (roles[i].client && !o->role.port)
            usage_error("--role %s needs --port", o->role.role);
        bt_role_init(&o->role);
        return roles[i].fn(&o->role);
    }
    usage_error("unknown role '%s'", o->role.role);
}

/* ------------------------------------------------------------------ children */

typedef struct child {
    const char *name;
    pid_t pid;
    int out_fd; /* its stdout: reports */
    int in_fd;  /* its stdin: commands (-1 for a client) */
    char buf[8192];
    size_t len;
    bool eof;
} child;

static child *live_children[2];
static char self_exe[PATH_MAX];

static void kill_children(void)
{
    for (int i = 0; i < 2; i++) {
        child *c = live_children[i];
        if (c && c->pid > 0) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, NULL, 0);
            c->pid = -1;
        }
    }
}

static void on_signal(int sig)
{
    for (int i = 0; i < 2; i++) {
        child *c = live_children[i];
        if (c && c->pid > 0)
            kill(c->pid, SIGKILL);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void spawn(child *c, int slot, const char *name, char **argv, bool with_stdin, int cpu)
{
    int out[2], in[2] = {-1, -1};
    if (pipe(out) != 0 || (with_stdin && pipe(in) != 0)) {
        fprintf(stderr, "bench-txn: pipe: %s\n", strerror(errno));
        exit(1);
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "bench-txn: fork: %s\n", strerror(errno));
        exit(1);
    }
    if (pid == 0) {
        if (cpu >= 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(cpu, &set);
            if (sched_setaffinity(0, sizeof(set), &set) != 0)
                fprintf(stderr, "bench-txn: cannot pin %s to CPU %d: %s\n", name, cpu,
                        strerror(errno));
        }
        dup2(out[1], 1);
        if (with_stdin) {
            dup2(in[0], 0);
        } else {
            /* Not closed: a socket must not become fd 0 (libuv refuses to close it). */
            int null = open("/dev/null", O_RDONLY);
            if (null > 0) {
                dup2(null, 0);
                close(null);
            }
        }
        close(out[0]);
        close(out[1]);
        if (with_stdin) {
            close(in[0]);
            close(in[1]);
        }
        execv(self_exe, argv);
        fprintf(stderr, "bench-txn: cannot run %s: %s\n", self_exe, strerror(errno));
        _exit(127);
    }
    close(out[1]);
    if (with_stdin)
        close(in[0]);
    memset(c, 0, sizeof(*c));
    c->name = name;
    c->pid = pid;
    c->out_fd = out[0];
    c->in_fd = with_stdin ? in[1] : -1;
    live_children[slot] = c;
}

/* The next whole line from c, or false. */
static bool next_line(child *c, char *line, size_t cap)
{
    char *nl = memchr(c->buf, '\n', c->len);
    if (!nl)
        return false;
    size_t n = (size_t)(nl - c->buf);
    size_t k = n < cap - 1 ? n : cap - 1;
    memcpy(line, c->buf, k);
    line[k] = '\0';
    memmove(c->buf, nl + 1, c->len - n - 1);
    c->len -= n + 1;
    return true;
}

static void fill(child *c)
{
    if (c->len == sizeof(c->buf))
        c->len = 0;
    ssize_t r = read(c->out_fd, c->buf + c->len, sizeof(c->buf) - c->len);
    if (r > 0)
        c->len += (size_t)r;
    else if (r == 0 || (errno != EINTR && errno != EAGAIN))
        c->eof = true;
}

static void send_cmd(child *c, const char *cmd)
{
    if (c->in_fd < 0)
        return;
    size_t n = strlen(cmd);
    if (write(c->in_fd, cmd, n) != (ssize_t)n) {
        /* The server is gone: its pipe's end of file will say so. */
    }
}

static uint64_t mono_ms(void)
{
    return bt_now_ns() / 1000000u;
}

/* Wait for a child to exit by itself (it has reported done), at most ms. */
static int reap(child *c, unsigned ms)
{
    int status = 0;
    for (unsigned waited = 0; c->pid > 0; waited += 10) {
        pid_t r = waitpid(c->pid, &status, WNOHANG);
        if (r == c->pid) {
            c->pid = -1;
            break;
        }
        if (waited >= ms) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, &status, 0);
            c->pid = -1;
            return -1;
        }
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    close_fd(&c->out_fd);
    close_fd(&c->in_fd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static const char *exit_text(child *c)
{
    static char buf[128];
    int status = 0;
    pid_t r = 0;
    /* Its pipe closed: give it a second to be reaped, to say how it ended. */
    for (int i = 0; c->pid > 0 && i < 100 && r == 0; i++) {
        r = waitpid(c->pid, &status, WNOHANG);
        if (r == 0) {
            struct timespec ts = {0, 10 * 1000000};
            nanosleep(&ts, NULL);
        }
    }
    if (r == c->pid && c->pid > 0) {
        c->pid = -1;
        if (WIFEXITED(status))
            snprintf(buf, sizeof(buf), "exited with status %d", WEXITSTATUS(status));
        else
            snprintf(buf, sizeof(buf), "was killed by signal %d (%s)", WTERMSIG(status),
                     strsignal(WTERMSIG(status)));
        return buf;
    }
    return "closed its report pipe";
}

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

static _Noreturn void run_failed(const result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench-txn: %s W=%u FAILED: ", pair_label[r->pair], r->window);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    kill_children();
    exit(1);
}

static const char *role_name(int pair, bool server)
{
    static const char *const names[PAIR_COUNT][2] = {
        {"echo-client", "echo-server"},
        {"parley-client", "parley-server"},
        {"libre-client", "libre-server"},
    };
    return names[pair][server];
}

static void run_pair(const opts *o, int pair, unsigned window, result *r)
{
    memset(r, 0, sizeof(*r));
    r->pair = pair;
    r->window = window;
    bool parley = pair == PAIR_PARLEY;
    /* Timer J (server) and K (client), as each side will run them. */
    uint64_t j_ms = 64u * (parley ? o->role.t1 : 500u), k_ms = parley ? o->role.t4 : 5000u;
    if (pair == PAIR_ECHO)
        j_ms = k_ms = 0;
    double traffic_s = o->role.count ? 600 : o->role.seconds;
    unsigned deadline = (unsigned)(traffic_s + (double)j_ms / 1000 + 120);

    char s_deadline[32], s_port[16], s_window[16], s_seconds[32], s_count[32], s_t1[16], s_t4[16],
        s_tick[16];
    snprintf(s_deadline, sizeof(s_deadline), "%u", deadline);
    snprintf(s_window, sizeof(s_window), "%u", window);
    snprintf(s_seconds, sizeof(s_seconds), "%.3f", o->role.seconds);
    snprintf(s_count, sizeof(s_count), "%llu", (unsigned long long)o->role.count);
    snprintf(s_t1, sizeof(s_t1), "%u", o->role.t1);
    snprintf(s_t4, sizeof(s_t4), "%u", o->role.t4);
    snprintf(s_tick, sizeof(s_tick), "%u", o->long_mode ? 5000u : 0u);

    fprintf(stderr, "bench-txn: %s W=%u: starting\n", pair_label[pair], window);
    static child server, client;
    char *sargv[] = {self_exe,     "--role",   (char *)role_name(pair, true),
                     "--deadline", s_deadline, "--t1",
                     s_t1,         "--t4",     s_t4,
                     NULL};
    spawn(&server, 0, "server", sargv, true, o->pin == PIN_APART ? 1 : o->pin == PIN_SAME ? 0 : -1);

    char line[512];
    uint64_t until = mono_ms() + 10000;
    unsigned port = 0;
    while (!port) {
        while (!port && next_line(&server, line, sizeof(line))) {
            if (sscanf(line, "ready %u", &port) != 1 && strncmp(line, "error", 5) == 0)
                run_failed(r, "server: %s", line + 6);
        }
        if (port)
            break;
        if (server.eof)
            run_failed(r, "the server %s before it was ready", exit_text(&server));
        int64_t left = (int64_t)(until - mono_ms());
        if (left <= 0)
            run_failed(r, "the server was not ready within 10 s");
        struct pollfd p = {server.out_fd, POLLIN, 0};
        if (poll(&p, 1, (int)left) > 0)
            fill(&server);
    }
    snprintf(s_port, sizeof(s_port), "%u", port);
    char *cargv[] = {self_exe,
                     "--role",
                     (char *)role_name(pair, false),
                     "--port",
                     s_port,
                     "--window",
                     s_window,
                     "--deadline",
                     s_deadline,
                     "--t1",
                     s_t1,
                     "--t4",
                     s_t4,
                     "--tick-ms",
                     s_tick,
                     o->role.count ? "--count" : "--seconds",
                     o->role.count ? s_count : s_seconds,
                     NULL};
    spawn(&client, 1, "client", cargv, false, o->pin == PIN_NONE ? -1 : 0);

    enum { VERIFY, ACTIVE, DRAIN } phase = VERIFY;
    bool c_done = false, s_done = false, s_stopped = false;
    uint64_t c_until = mono_ms() + 10000, s_until = UINT64_MAX;
    uint64_t t_active = 0;
    tick pending = {0};
    while (!c_done || !s_done) {
        child *kids[2] = {&client, &server};
        for (int k = 0; k < 2; k++) {
            child *c = kids[k];
            bool is_server = c == &server;
            while (next_line(c, line, sizeof(line))) {
                if (strncmp(line, "error", 5) == 0)
                    run_failed(r, "%s: %s", c->name, line + 6);
                unsigned long long a = 0, b = 0, d = 0, e = 0, f = 0, g = 0;
                if (!is_server) {
                    if (sscanf(line, "verified %llu %llu", &a, &b) == 2) {
                        r->req_bytes = a;
                        r->resp_bytes = b;
                        phase = ACTIVE;
                        c_until = mono_ms() + (uint64_t)(traffic_s * 1000) + j_ms + 15000;
                        fprintf(stderr,
                                "bench-txn: %s W=%u: verified (request %llu bytes, response "
                                "%llu); timing %s\n",
                                pair_label[pair], window, a, b,
                                o->role.count ? "a fixed count" : "a fixed duration");
                    } else if (sscanf(line, "tick %llu %llu %llu %llu", &a, &b, &d, &e) == 4) {
                        pending.t_ms = a;
                        pending.c_done = b;
                        pending.c_cpu = d;
                        pending.c_live = e;
                        send_cmd(&server, "tick\n");
                    } else if (sscanf(line, "active %llu %llu %llu %llu %llu %llu", &a, &b, &d, &e,
                                      &f, &g) == 6) {
                        r->ok = a;
                        r->fail = b;
                        r->ns = d;
                        r->c_cpu_traffic = e;
                        r->c_live_end = f;
                        r->c_retx = g;
                        phase = DRAIN;
                        t_active = mono_ms();
                        send_cmd(&server, "stop\n");
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
                run_failed(r, "the %s %s", c->name, exit_text(c));
        }
        if (c_done && s_done)
            break;
        uint64_t now = mono_ms();
        if (!c_done && now >= c_until)
            run_failed(r, "the client sent no %s report in time",
                       phase == VERIFY   ? "verification"
                       : phase == ACTIVE ? "end-of-traffic"
                                         : "drained");
        if (!s_done && now >= s_until)
            run_failed(r, "the server did not finish within %.0f s of the end of traffic",
                       (double)(s_until - t_active) / 1000);
        uint64_t until_next = c_until < s_until ? c_until : s_until;
        if (until_next > now + 1000)
            until_next = now + 1000;
        struct pollfd p[2];
        nfds_t n = 0;
        if (!client.eof)
            p[n++] = (struct pollfd){client.out_fd, POLLIN, 0};
        if (!server.eof)
            p[n++] = (struct pollfd){server.out_fd, POLLIN, 0};
        if (poll(p, n, (int)(until_next - now)) > 0) {
            for (nfds_t i = 0; i < n; i++) {
                if (p[i].revents)
                    fill(p[i].fd == client.out_fd ? &client : &server);
            }
        }
    }
    (void)s_stopped;
    int cs = reap(&client, 5000), ss = reap(&server, 5000);
    live_children[0] = live_children[1] = NULL;
    if (cs != 0 || ss != 0)
        run_failed(r, "client exit status %d, server %d", cs, ss);
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
    return r->ns ? (double)r->ok * 1e9 / (double)r->ns : 0;
}

/* Per transaction: the client's count includes its verification transaction. */
static double per_txn(uint64_t us, uint64_t n)
{
    return n ? (double)us / (double)n : 0;
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
               per_txn(r->c_cpu_traffic, cn), per_txn(r->c_cpu_total, cn),
               per_txn(r->s_cpu_traffic, sn), per_txn(r->s_cpu_total, sn),
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
               per_txn(t->c_cpu - (p ? p->c_cpu : 0), dn),
               per_txn(t->s_cpu - (p ? p->s_cpu : 0), ds), (unsigned long long)t->c_live,
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
    if (o.role.role)
        return run_role(&o);

    static char libre_label[48];
    snprintf(libre_label, sizeof(libre_label), "libre %s", libre_version());
    pair_label[PAIR_LIBRE] = libre_label;

    ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
    if (n > 0)
        self_exe[n] = '\0';
    else
        snprintf(self_exe, sizeof(self_exe), "%s", argv[0]);
    atexit(kill_children);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    signal(SIGPIPE, SIG_IGN);

    result res[PAIR_COUNT * MAX_WINDOWS];
    size_t nres = 0;
    for (size_t w = 0; w < o.nwindows; w++) {
        for (int p = 0; p < PAIR_COUNT; p++) {
            if (!o.only[p])
                continue;
            run_pair(&o, p, o.windows[w], &res[nres]);
            nres++;
        }
    }
    print_table(res, nres);
    if (o.long_mode)
        print_long(&res[0]);

    /* The headline lines, at the largest W that was run (64 by default). */
    unsigned wmax = 0;
    for (size_t w = 0; w < o.nwindows; w++)
        wmax = o.windows[w] > wmax ? o.windows[w] : wmax;
    const result *at[PAIR_COUNT] = {NULL, NULL, NULL};
    for (size_t i = 0; i < nres; i++)
        if (res[i].window == wmax)
            at[res[i].pair] = &res[i];
    if (at[PAIR_PARLEY] && (at[PAIR_LIBRE] || at[PAIR_ECHO]))
        printf("\n");
    if (at[PAIR_PARLEY] && at[PAIR_LIBRE])
        printf("transactions speedup vs libre: %.1fx\n",
               rate_of(at[PAIR_PARLEY]) / rate_of(at[PAIR_LIBRE]));
    if (at[PAIR_PARLEY] && at[PAIR_ECHO])
        printf("transactions vs udp floor: %.0f%%\n",
               100 * rate_of(at[PAIR_PARLEY]) / rate_of(at[PAIR_ECHO]));
    return 0;
}
