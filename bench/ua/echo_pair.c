/*
 * echo_pair.c - the physical floor: bench/common/echo.c's bare UDP echo
 * over loopback, with bench-ua's reports. The sender's datagram is the
 * MESSAGE request the Parley sender sends, byte for byte.
 */
#include "bench_ua.h"

#include <string.h>

static bool receiver_command(const char *cmd, uint64_t n, const bench_usage *u0)
{
    if (strcmp(cmd, "stop") != 0)
        return false;
    bench_report("stopped %llu %llu %llu 0 %llu %llu", (unsigned long long)n,
                 (unsigned long long)(bench_cpu_us() - u0->cpu_us),
                 (unsigned long long)bench_maxrss_kb(), (unsigned long long)(bench_csw() - u0->csw),
                 (unsigned long long)(bench_minflt() - u0->minflt));
    return true;
}

static void sender_tick(uint64_t t_ms, uint64_t done, const bench_usage *u0)
{
    bench_report("tick %llu %llu %llu", (unsigned long long)t_ms, (unsigned long long)done,
                 (unsigned long long)(bench_cpu_us() - u0->cpu_us));
}

static void sender_end(uint64_t done, uint64_t lost, uint64_t ns, const bench_usage *u0)
{
    bench_report("active %llu %llu %llu %llu %llu 0 %llu %llu", (unsigned long long)done,
                 (unsigned long long)lost, (unsigned long long)ns,
                 (unsigned long long)(bench_cpu_us() - u0->cpu_us),
                 (unsigned long long)bench_maxrss_kb(), (unsigned long long)(bench_csw() - u0->csw),
                 (unsigned long long)(bench_minflt() - u0->minflt));
}

static const bench_echo_reports REPORTS = {
    .first_size = true, .command = receiver_command, .tick = sender_tick, .end = sender_end};

int echo_receiver(const role_opts *o)
{
    (void)o;
    return bench_echo_server("echo-receiver", &REPORTS);
}

int echo_sender(const role_opts *o)
{
    static char msg[65536];
    size_t resp_len = 0;
    size_t len = parley_sample_request(msg, sizeof(msg), o->port, &resp_len);
    if (len == 0)
        bench_fail("echo-sender", "cannot build the sample request");
    return bench_echo_client("echo-sender", o, msg, len, &REPORTS);
}
