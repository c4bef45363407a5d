/*
 * role.c - the roles' side: clocks, CPU accounting, the report pipe,
 * commands on stdin, and a role's set-up and end.
 */
#include "bench_common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
           (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
}

uint64_t bench_csw(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)ru.ru_nvcsw + (uint64_t)ru.ru_nivcsw;
}

uint64_t bench_minflt(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)ru.ru_minflt;
}

uint64_t bench_maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)ru.ru_maxrss;
}

void bench_usage_mark(bench_usage *u)
{
    u->cpu_us = bench_cpu_us();
    u->csw = bench_csw();
    u->minflt = bench_minflt();
}

void bench_report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

void bench_fail(const char *role, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s %s: %s\n", bench_prog.name, role, msg);
    printf("error %s: %s\n", role, msg);
    bench_exit(2);
}

void bench_exit(int status)
{
    fflush(stdout);
    fflush(stderr);
    _exit(status);
}

int bench_read_cmd(char *cmd, size_t cap)
{
    static char buf[256];
    static size_t len;
    static bool nonblock;
    if (!nonblock) {
        int fl = fcntl(0, F_GETFL);
        if (fl >= 0)
            fcntl(0, F_SETFL, fl | O_NONBLOCK);
        nonblock = true;
    }
    for (;;) {
        char *nl = memchr(buf, '\n', len);
        if (nl) {
            size_t n = (size_t)(nl - buf);
            size_t c = n < cap - 1 ? n : cap - 1;
            memcpy(cmd, buf, c);
            cmd[c] = '\0';
            memmove(buf, nl + 1, len - n - 1);
            len -= n + 1;
            return 1;
        }
        if (len == sizeof(buf))
            len = 0; /* a line too long for any command: drop it */
        ssize_t r = read(0, buf + len, sizeof(buf) - len);
        if (r > 0) {
            len += (size_t)r;
            continue;
        }
        if (r == 0)
            return -1;
        if (errno == EINTR)
            continue;
        return 0; /* EAGAIN: nothing yet */
    }
}

void bench_loop_begin(bench_loop *l, const role_opts *o)
{
    l->o = o;
    l->timing = true;
    l->t0 = bench_now_ns();
    l->deadline_ns = l->t0 + (uint64_t)(o->seconds * 1e9);
}

bool bench_loop_more(const bench_loop *l)
{
    if (l->o->count)
        return l->started < l->o->count;
    return bench_now_ns() < l->deadline_ns;
}

void bench_loop_sent(bench_loop *l)
{
    if (l->timing)
        l->started++;
}

int bench_loop_final(bench_loop *l, bool good, int status)
{
    if (good) {
        l->ok++;
    } else {
        if (!l->fail)
            l->bad_status = status;
        l->fail++;
    }
    if (bench_loop_more(l))
        return BENCH_LOOP_NEXT;
    if (l->ok + l->fail == l->started && !l->ended) {
        l->ended = true;
        l->t_end = bench_now_ns();
        return BENCH_LOOP_END;
    }
    return BENCH_LOOP_WAIT;
}

void bench_take_cmds(void (*on)(const char *cmd))
{
    char cmd[64];
    int r;
    while ((r = bench_read_cmd(cmd, sizeof(cmd))) == 1)
        on(cmd);
    if (r < 0)
        bench_exit(3); /* the orchestrator is gone */
}

int bench_run_role(const role_opts *o, const bench_role *roles, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(o->role, roles[i].name) != 0)
            continue;
        if (roles[i].needs_port && !o->port)
            bench_usage_error("--role %s needs --port", o->role);
        /* Die with the orchestrator, and never outlive the deadline. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1)
            exit(3);
        if (o->deadline)
            alarm(o->deadline);
        signal(SIGPIPE, SIG_IGN);
        return roles[i].fn(o);
    }
    bench_usage_error("unknown role '%s'", o->role);
}
