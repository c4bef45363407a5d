/*
 * common.c - clocks, CPU accounting and the report pipe for every role.
 */
#include "bench_txn.h"

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

uint64_t bt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bt_cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
           (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
}

uint64_t bt_maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)ru.ru_maxrss;
}

void bt_report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

void bt_fail(const char *role, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "bench-txn %s: %s\n", role, msg);
    printf("error %s: %s\n", role, msg);
    fflush(stdout);
    exit(2);
}

int bt_read_cmd(char *cmd, size_t cap)
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

void bt_role_init(const role_opts *o)
{
    /* Die with the orchestrator, and never outlive the deadline. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
        exit(3);
    if (o->deadline)
        alarm(o->deadline);
    signal(SIGPIPE, SIG_IGN);
}
