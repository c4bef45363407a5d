/*
 * orch.c - the orchestrator's side: the options both benchmarks take, the
 * two child processes of a run and their pipes, the order of the runs, and
 * the helpers the tables and the headline lines use.
 */
#include "bench_common.h"

#include <errno.h>
#include <fcntl.h>
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

/* ------------------------------------------------------------------ options */

void bench_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", bench_prog.name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see %s --help)\n", bench_prog.name);
    va_end(ap);
    exit(bench_prog.exit_usage);
}

uint64_t bench_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
        bench_usage_error("%s wants a whole number from %llu to %llu, not '%s'", opt,
                          (unsigned long long)min, (unsigned long long)max, s);
    return v;
}

void bench_opts_init(bench_opts *o, double seconds)
{
    memset(o, 0, sizeof(*o));
    o->role.seconds = seconds;
    o->role.window = 1;
    o->windows[0] = 1;
    o->windows[1] = 64;
    o->nwindows = 2;
}

static void parse_windows(bench_opts *o, const char *a, const char *v)
{
    o->nwindows = 0;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", v);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (o->nwindows == BENCH_MAX_WINDOWS)
            bench_usage_error("--windows takes at most %d values", BENCH_MAX_WINDOWS);
        o->windows[o->nwindows++] = (unsigned)bench_parse_u64(a, tok, 1, 4096);
    }
    if (!o->nwindows)
        bench_usage_error("--windows wants a list such as 1,64");
}

static void parse_only(bench_opts *o, const char *v, const bench_args *spec)
{
    o->only_set = true;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", v);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int k = -1;
        for (int p = 0; p < spec->npairs; p++)
            if (strcmp(tok, spec->pair_keys[p]) == 0)
                k = p;
        if (k < 0) {
            char keys[128] = "";
            for (int p = 0; p < spec->npairs; p++)
                snprintf(keys + strlen(keys), sizeof(keys) - strlen(keys), "%s%s", p ? ", " : "",
                         spec->pair_keys[p]);
            bench_usage_error("--only: unknown pair '%s' (%s)", tok, keys);
        }
        o->only[k] = true;
    }
}

/* One of the shared options with a value: true when a was one. */
static bool parse_option(bench_opts *o, const char *a, const char *v, const bench_args *spec)
{
    if (strcmp(a, "--role") == 0) {
        o->role.role = v;
    } else if (strcmp(a, "--seconds") == 0) {
        char *end;
        o->role.seconds = strtod(v, &end);
        if (end == v || *end || !(o->role.seconds > 0 && o->role.seconds <= 3600))
            bench_usage_error("--seconds wants a number of seconds from 0 to 3600, not '%s'", v);
        o->seconds_set = true;
    } else if (strcmp(a, "--window") == 0) {
        o->role.window = (unsigned)bench_parse_u64(a, v, 1, 4096);
    } else if (strcmp(a, "--windows") == 0) {
        parse_windows(o, a, v);
    } else if (strcmp(a, "--only") == 0) {
        parse_only(o, v, spec);
    } else if (strcmp(a, "--pin") == 0) {
        if (strcmp(v, "none") == 0)
            o->pin = BENCH_PIN_NONE;
        else if (strcmp(v, "apart") == 0)
            o->pin = BENCH_PIN_APART;
        else if (strcmp(v, "same") == 0)
            o->pin = BENCH_PIN_SAME;
        else
            bench_usage_error("--pin wants none, apart or same, not '%s'", v);
    } else if (strcmp(a, "--t1") == 0) {
        o->role.t1 = (unsigned)bench_parse_u64(a, v, 1, 60000);
    } else if (strcmp(a, "--t4") == 0) {
        o->role.t4 = (unsigned)bench_parse_u64(a, v, 1, 600000);
    } else if (strcmp(a, "--port") == 0) {
        o->role.port = (uint16_t)bench_parse_u64(a, v, 1, 65535);
    } else if (strcmp(a, "--tick-ms") == 0) {
        o->role.tick_ms = (unsigned)bench_parse_u64(a, v, 0, 3600000);
    } else if (strcmp(a, "--deadline") == 0) {
        o->role.deadline = (unsigned)bench_parse_u64(a, v, 1, 86400);
    } else {
        return false;
    }
    return true;
}

void bench_parse_args(int argc, char **argv, bench_opts *o, const bench_args *spec)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            spec->usage(stdout);
            exit(0);
        } else if (spec->flag && spec->flag(a, spec->ctx)) {
            continue;
        }
        if (!v)
            bench_usage_error("unknown option or missing value: %s", a);
        i++;
        if (!parse_option(o, a, v, spec) && !(spec->option && spec->option(a, v, spec->ctx)))
            bench_usage_error("unknown option %s", a);
    }
    if (!o->only_set)
        for (int p = 0; p < spec->npairs; p++)
            o->only[p] = true;
}

int bench_pin_cpu(int pin, bool receiver)
{
    if (receiver)
        return pin == BENCH_PIN_APART ? 1 : pin == BENCH_PIN_SAME ? 0 : -1;
    return pin == BENCH_PIN_NONE ? -1 : 0;
}

/* ------------------------------------------------------------------ children */

char bench_self_exe[PATH_MAX];
static bench_child *live_children[2];

void bench_kill_children(void)
{
    for (int i = 0; i < 2; i++) {
        bench_child *c = live_children[i];
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
        bench_child *c = live_children[i];
        if (c && c->pid > 0)
            kill(c->pid, SIGKILL);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

void bench_orch_init(const char *argv0)
{
    ssize_t n = readlink("/proc/self/exe", bench_self_exe, sizeof(bench_self_exe) - 1);
    if (n > 0)
        bench_self_exe[n] = '\0';
    else
        snprintf(bench_self_exe, sizeof(bench_self_exe), "%s", argv0);
    atexit(bench_kill_children);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    signal(SIGPIPE, SIG_IGN);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void bench_spawn(bench_child *c, int slot, const char *name, char **argv, bool with_stdin, int cpu)
{
    int out[2], in[2] = {-1, -1};
    if (pipe(out) != 0 || (with_stdin && pipe(in) != 0)) {
        fprintf(stderr, "%s: pipe: %s\n", bench_prog.name, strerror(errno));
        exit(bench_prog.exit_failed);
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "%s: fork: %s\n", bench_prog.name, strerror(errno));
        exit(bench_prog.exit_failed);
    }
    if (pid == 0) {
        if (cpu >= 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(cpu, &set);
            if (sched_setaffinity(0, sizeof(set), &set) != 0)
                fprintf(stderr, "%s: cannot pin %s to CPU %d: %s\n", bench_prog.name, name, cpu,
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
        execv(bench_self_exe, argv);
        fprintf(stderr, "%s: cannot run %s: %s\n", bench_prog.name, bench_self_exe,
                strerror(errno));
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

bool bench_next_line(bench_child *c, char *line, size_t cap)
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

void bench_fill(bench_child *c)
{
    if (c->len == sizeof(c->buf))
        c->len = 0;
    ssize_t r = read(c->out_fd, c->buf + c->len, sizeof(c->buf) - c->len);
    if (r > 0)
        c->len += (size_t)r;
    else if (r == 0 || (errno != EINTR && errno != EAGAIN))
        c->eof = true;
}

void bench_send_cmd(bench_child *c, const char *cmd)
{
    if (c->in_fd < 0)
        return;
    size_t n = strlen(cmd);
    if (write(c->in_fd, cmd, n) != (ssize_t)n) {
        /* The child is gone: its pipe's end of file will say so. */
    }
}

uint64_t bench_mono_ms(void)
{
    return bench_now_ns() / 1000000u;
}

/* Wait for a child to exit by itself (it has reported), at most ms. */
static int reap(bench_child *c, unsigned ms)
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

const char *bench_exit_text(bench_child *c)
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

void bench_poll_children(bench_child *a, bench_child *b, uint64_t now, uint64_t until)
{
    if (until > now + 1000)
        until = now + 1000;
    struct pollfd p[2];
    bench_child *of[2];
    nfds_t n = 0;
    if (!a->eof) {
        of[n] = a;
        p[n++] = (struct pollfd){a->out_fd, POLLIN, 0};
    }
    if (!b->eof) {
        of[n] = b;
        p[n++] = (struct pollfd){b->out_fd, POLLIN, 0};
    }
    if (poll(p, n, (int)(until - now)) > 0) {
        for (nfds_t i = 0; i < n; i++) {
            if (p[i].revents)
                bench_fill(of[i]);
        }
    }
}

/* ------------------------------------------------------------------ one run */

void bench_run_failed(const char *label, unsigned window, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: %s W=%u FAILED: ", bench_prog.name, label, window);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    bench_kill_children();
    exit(bench_prog.exit_failed);
}

unsigned bench_wait_ready(bench_child *c, const char *label, unsigned window)
{
    char line[512];
    uint64_t until = bench_mono_ms() + 10000;
    unsigned port = 0;
    while (!port) {
        while (!port && bench_next_line(c, line, sizeof(line))) {
            if (sscanf(line, "ready %u", &port) != 1 && strncmp(line, "error", 5) == 0)
                bench_run_failed(label, window, "%s: %s", c->name, line + 6);
        }
        if (port)
            break;
        if (c->eof)
            bench_run_failed(label, window, "the %s %s before it was ready", c->name,
                             bench_exit_text(c));
        int64_t left = (int64_t)(until - bench_mono_ms());
        if (left <= 0)
            bench_run_failed(label, window, "the %s was not ready within 10 s", c->name);
        struct pollfd p = {c->out_fd, POLLIN, 0};
        if (poll(&p, 1, (int)left) > 0)
            bench_fill(c);
    }
    return port;
}

void bench_start_pair(const bench_pair_run *run, bench_child *recv, bench_child *send)
{
    const role_opts *ro = &run->role;
    char r_role[64], s_role[64], s_deadline[32], s_port[16], s_window[16], s_seconds[32],
        s_count[32], s_tick[16], s_t1[16], s_t4[16];
    snprintf(r_role, sizeof(r_role), "%s-%s", run->key, run->recv);
    snprintf(s_role, sizeof(s_role), "%s-%s", run->key, run->send);
    snprintf(s_deadline, sizeof(s_deadline), "%u", ro->deadline);
    snprintf(s_window, sizeof(s_window), "%u", ro->window);
    snprintf(s_seconds, sizeof(s_seconds), "%.3f", ro->seconds);
    snprintf(s_count, sizeof(s_count), "%llu", (unsigned long long)ro->count);
    snprintf(s_tick, sizeof(s_tick), "%u", ro->tick_ms);
    snprintf(s_t1, sizeof(s_t1), "%u", ro->t1);
    snprintf(s_t4, sizeof(s_t4), "%u", ro->t4);

    fprintf(stderr, "%s: %s W=%u: starting\n", bench_prog.name, run->label, ro->window);
    char *rargv[] = {bench_self_exe, "--role", r_role, "--deadline", s_deadline,
                     "--t1",         s_t1,     "--t4", s_t4,         NULL};
    bench_spawn(recv, 0, run->recv, rargv, true, bench_pin_cpu(run->pin, true));

    unsigned port = bench_wait_ready(recv, run->label, ro->window);
    snprintf(s_port, sizeof(s_port), "%u", port);
    char *sargv[] = {bench_self_exe,
                     "--role",
                     s_role,
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
                     ro->count ? "--count" : "--seconds",
                     ro->count ? s_count : s_seconds,
                     NULL};
    bench_spawn(send, 1, run->send, sargv, false, bench_pin_cpu(run->pin, false));
}

void bench_reap_pair(bench_child *a, bench_child *b, const char *label, unsigned window)
{
    int as = reap(a, 5000), bs = reap(b, 5000);
    live_children[0] = live_children[1] = NULL;
    if (as != 0 || bs != 0)
        bench_run_failed(label, window, "%s exit status %d, %s %d", a->name, as, b->name, bs);
}

/* ------------------------------------------------------------------ runs and output */

bool bench_nth_run(const bench_opts *o, int npairs, size_t i, int *pair, unsigned *window)
{
    for (size_t w = 0; w < o->nwindows; w++) {
        for (int p = 0; p < npairs; p++) {
            if (!o->only[p])
                continue;
            if (i-- == 0) {
                *pair = p;
                *window = o->windows[w];
                return true;
            }
        }
    }
    return false;
}

unsigned bench_max_window(const bench_opts *o)
{
    unsigned wmax = 0;
    for (size_t w = 0; w < o->nwindows; w++)
        wmax = o->windows[w] > wmax ? o->windows[w] : wmax;
    return wmax;
}

double bench_rate(uint64_t n, uint64_t ns)
{
    return ns ? (double)n * 1e9 / (double)ns : 0;
}

double bench_per(uint64_t us, uint64_t n)
{
    return n ? (double)us / (double)n : 0;
}

void bench_print_ratio(const char *what, double x)
{
    printf("%s: %.1fx\n", what, x);
}

void bench_print_percent(const char *what, double p)
{
    printf("%s: %.0f%%\n", what, p);
}
