/*
 * echo_pair.c - the physical floor: bench/common/echo.c's bare UDP echo
 * over loopback, with bench-txn's reports. The client's datagram is the
 * size of the OPTIONS request the Parley client sends.
 */
#include "bench_txn.h"

#include <string.h>

static bool server_command(const char *cmd, uint64_t n, const bench_usage *u0)
{
    if (strcmp(cmd, "tick") == 0) {
        bench_report("tick %llu %llu 0", (unsigned long long)n,
                     (unsigned long long)(bench_cpu_us() - u0->cpu_us));
        return false;
    }
    if (strcmp(cmd, "stop") != 0)
        return false;
    uint64_t stop_ns = bench_now_ns();
    bench_report("stopped %llu %llu 0", (unsigned long long)n,
                 (unsigned long long)(bench_cpu_us() - u0->cpu_us));
    bench_report("done %llu %llu %llu %llu 0", (unsigned long long)n,
                 (unsigned long long)(bench_cpu_us() - u0->cpu_us),
                 (unsigned long long)((bench_now_ns() - stop_ns) / 1000000u),
                 (unsigned long long)bench_maxrss_kb());
    return true;
}

static void client_end(uint64_t done, uint64_t lost, uint64_t ns, const bench_usage *u0)
{
    uint64_t cpu = bench_cpu_us() - u0->cpu_us;
    bench_report("active %llu %llu %llu %llu 0 0", (unsigned long long)done,
                 (unsigned long long)lost, (unsigned long long)ns, (unsigned long long)cpu);
    bench_report("done %llu 0 %llu", (unsigned long long)cpu,
                 (unsigned long long)bench_maxrss_kb());
}

static const bench_echo_reports REPORTS = {
    .first_size = false, .command = server_command, .tick = NULL, .end = client_end};

int echo_server(const role_opts *o)
{
    (void)o;
    return bench_echo_server("echo-server", &REPORTS);
}

int echo_client(const role_opts *o)
{
    static char msg[65536];
    size_t len = parley_sample_request(msg, sizeof(msg), o->port);
    if (len == 0)
        bench_fail("echo-client", "cannot build the sample request");
    return bench_echo_client("echo-client", o, msg, len, &REPORTS);
}
