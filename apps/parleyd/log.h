/*
 * log.h - parleyd's log lines on stderr, one write each so that workers
 * never interleave:
 *
 *   2025-01-02T03:04:05.678Z info w1 call-id=a84b4c76e66710: text
 *
 * time in UTC (ISO 8601, milliseconds), level, the worker ("main" for
 * the main thread), the Call-ID when there is one, then the text.
 */
#ifndef PARLEYD_LOG_H
#define PARLEYD_LOG_H

#include <parley/proxy.h>

#define PD_MAIN (-1) /* the worker number of the main thread */

/* Lines above level are dropped. */
void pd_log_set_level(pl_proxy_log_level level);
bool pd_log_enabled(pl_proxy_log_level level);

void pd_log(pl_proxy_log_level level, int worker, pl_str call_id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void pd_log_line(pl_proxy_log_level level, int worker, pl_str call_id, const char *line);

#endif
