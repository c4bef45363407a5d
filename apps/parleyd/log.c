/*
 * log.c - log lines with a UTC timestamp, the level, the worker and the
 * Call-ID, written to stderr with one write(2) each.
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"

static atomic_int max_level = PL_PROXY_LOG_INFO;

void pd_log_set_level(pl_proxy_log_level level)
{
    atomic_store(&max_level, (int)level);
}

bool pd_log_enabled(pl_proxy_log_level level)
{
    return (int)level <= atomic_load(&max_level);
}

void pd_log_line(pl_proxy_log_level level, int worker, pl_str call_id, const char *line)
{
    if (!pd_log_enabled(level))
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[32], who[16], buf[2048];
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    if (worker == PD_MAIN)
        snprintf(who, sizeof(who), "main");
    else
        snprintf(who, sizeof(who), "w%d", worker);
    int n;
    if (call_id.len)
        n = snprintf(buf, sizeof(buf), "%s.%03ldZ %s %s call-id=%.*s: %s\n", stamp,
                     ts.tv_nsec / 1000000, pd_log_level_name(level), who,
                     (int)(call_id.len > 256 ? 256 : call_id.len), call_id.p, line);
    else
        n = snprintf(buf, sizeof(buf), "%s.%03ldZ %s %s: %s\n", stamp, ts.tv_nsec / 1000000,
                     pd_log_level_name(level), who, line);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
    if (len == sizeof(buf) - 1)
        buf[len - 1] = '\n'; /* cut: still one line */
    ssize_t w = write(2, buf, len);
    (void)w;
}

void pd_log(pl_proxy_log_level level, int worker, pl_str call_id, const char *fmt, ...)
{
    if (!pd_log_enabled(level))
        return;
    char line[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    pd_log_line(level, worker, call_id, line);
}
