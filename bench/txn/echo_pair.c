/*
 * echo_pair.c - the physical floor: a bare UDP echo over loopback, with no
 * parsing, no state and no event loop. The server receives a datagram and
 * sends it straight back (recvfrom, sendto); the client keeps W datagrams
 * in flight (sendto, recv), each the size of the OPTIONS request the Parley
 * client sends. Both use unconnected sockets like the SIP stacks do, one
 * system call per datagram each way (no recvmmsg/sendmmsg batching).
 */
#include "bench_txn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int udp_socket(const char *role, uint16_t *port, unsigned timeout_ms)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        bt_fail(role, "socket: %s", strerror(errno));
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        bt_fail(role, "bind 127.0.0.1:0: %s", strerror(errno));
    socklen_t n = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &n);
    *port = ntohs(a.sin_port);
    struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

int echo_server(const role_opts *o)
{
    (void)o;
    uint16_t port;
    int fd = udp_socket("echo-server", &port, 100);
    static char buf[65536];
    uint64_t n = 0, cpu0 = bt_cpu_us(), stop_ns = 0;
    bt_report("ready %u", port);
    for (;;) {
        struct sockaddr_storage src;
        socklen_t sl = sizeof(src);
        ssize_t r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&src, &sl);
        if (r > 0) {
            n++;
            if (sendto(fd, buf, (size_t)r, 0, (struct sockaddr *)&src, sl) < 0)
                bt_fail("echo-server", "sendto: %s", strerror(errno));
            continue;
        }
        if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            bt_fail("echo-server", "recvfrom: %s", strerror(errno));
        /* Idle for 100 ms: look at the commands. */
        char cmd[64];
        int c;
        while ((c = bt_read_cmd(cmd, sizeof(cmd))) == 1) {
            if (strcmp(cmd, "tick") == 0) {
                bt_report("tick %llu %llu 0", (unsigned long long)n,
                          (unsigned long long)(bt_cpu_us() - cpu0));
            } else if (strcmp(cmd, "stop") == 0) {
                stop_ns = bt_now_ns();
                bt_report("stopped %llu %llu 0", (unsigned long long)n,
                          (unsigned long long)(bt_cpu_us() - cpu0));
                bt_report("done %llu %llu %llu %llu 0", (unsigned long long)n,
                          (unsigned long long)(bt_cpu_us() - cpu0),
                          (unsigned long long)((bt_now_ns() - stop_ns) / 1000000u),
                          (unsigned long long)bt_maxrss_kb());
                close(fd);
                return 0;
            }
        }
        if (c < 0)
            exit(3);
    }
}

int echo_client(const role_opts *o)
{
    uint16_t lport;
    int fd = udp_socket("echo-client", &lport, 1000);
    static char msg[65536], buf[65536];
    size_t len = parley_sample_request(msg, sizeof(msg), o->port);
    if (len == 0)
        bt_fail("echo-client", "cannot build the sample request");
    struct sockaddr_in dst;
    memset(&dst, 0, sizeof(dst));
    dst.sin_family = AF_INET;
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    dst.sin_port = htons(o->port);
    uint64_t cpu0 = bt_cpu_us();

    /* Verify: one round trip, the same bytes back. */
    if (sendto(fd, msg, len, 0, (struct sockaddr *)&dst, sizeof(dst)) != (ssize_t)len)
        bt_fail("echo-client", "sendto: %s", strerror(errno));
    ssize_t r = recv(fd, buf, sizeof(buf), 0);
    if (r != (ssize_t)len || memcmp(buf, msg, len) != 0)
        bt_fail("echo-client", "verification: %s", r < 0 ? "no echo within 1 s" : "bad echo");
    bt_report("verified %zu %zu", len, (size_t)r);

    uint64_t t0 = bt_now_ns(), deadline = t0 + (uint64_t)(o->seconds * 1e9);
    uint64_t started = 0, done = 0, lost = 0, t_end = t0;
    bool more = true;
    for (unsigned i = 0; i < o->window; i++) {
        if (sendto(fd, msg, len, 0, (struct sockaddr *)&dst, sizeof(dst)) != (ssize_t)len)
            bt_fail("echo-client", "sendto: %s", strerror(errno));
        started++;
    }
    while (done + lost < started) {
        r = recv(fd, buf, sizeof(buf), 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                bt_fail("echo-client", "recv: %s", strerror(errno));
            /* Nothing for 1 s: what is still out is lost. */
            lost = started - done;
            break;
        }
        done++;
        t_end = bt_now_ns();
        if (more)
            more = o->count ? started < o->count : bt_now_ns() < deadline;
        if (more) {
            if (sendto(fd, msg, len, 0, (struct sockaddr *)&dst, sizeof(dst)) != (ssize_t)len)
                bt_fail("echo-client", "sendto: %s", strerror(errno));
            started++;
        }
    }
    if (lost)
        fprintf(stderr, "bench-txn echo-client: %llu datagrams lost\n", (unsigned long long)lost);
    uint64_t cpu = bt_cpu_us() - cpu0;
    bt_report("active %llu %llu %llu %llu 0 0", (unsigned long long)done, (unsigned long long)lost,
              (unsigned long long)(t_end - t0), (unsigned long long)cpu);
    bt_report("done %llu 0 %llu", (unsigned long long)cpu, (unsigned long long)bt_maxrss_kb());
    close(fd);
    return 0;
}
