/*
 * echo.c - the physical floor: a bare UDP echo over loopback (see
 * bench_echo_server in bench_common.h). The benchmark says what is
 * reported (bench_echo_reports) and which datagram is bounced.
 */
#include "bench_common.h"

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
        bench_fail(role, "socket: %s", strerror(errno));
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        bench_fail(role, "bind 127.0.0.1:0: %s", strerror(errno));
    socklen_t n = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &n);
    *port = ntohs(a.sin_port);
    struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

int bench_echo_server(const char *role, const bench_echo_reports *rep)
{
    uint16_t port;
    int fd = udp_socket(role, &port, 100);
    static char buf[65536];
    uint64_t n = 0;
    bench_usage u0;
    bench_usage_mark(&u0);
    bench_report("ready %u", port);
    for (;;) {
        struct sockaddr_storage src;
        socklen_t sl = sizeof(src);
        ssize_t r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&src, &sl);
        if (r > 0) {
            if (n++ == 0 && rep->first_size)
                bench_report("request %zd", r);
            if (sendto(fd, buf, (size_t)r, 0, (struct sockaddr *)&src, sl) < 0)
                bench_fail(role, "sendto: %s", strerror(errno));
            continue;
        }
        if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            bench_fail(role, "recvfrom: %s", strerror(errno));
        /* Idle for 100 ms: look at the commands. */
        char cmd[64];
        int c;
        while ((c = bench_read_cmd(cmd, sizeof(cmd))) == 1) {
            if (rep->command(cmd, n, &u0)) {
                close(fd);
                return 0;
            }
        }
        if (c < 0)
            bench_exit(3);
    }
}

int bench_echo_client(const char *role, const role_opts *o, const char *msg, size_t len,
                      const bench_echo_reports *rep)
{
    uint16_t lport;
    int fd = udp_socket(role, &lport, 1000);
    static char buf[65536];
    struct sockaddr_in dst;
    memset(&dst, 0, sizeof(dst));
    dst.sin_family = AF_INET;
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    dst.sin_port = htons(o->port);
    bench_usage u0;
    bench_usage_mark(&u0);

    /* Verify: one round trip, the same bytes back. */
    if (sendto(fd, msg, len, 0, (struct sockaddr *)&dst, sizeof(dst)) != (ssize_t)len)
        bench_fail(role, "sendto: %s", strerror(errno));
    ssize_t r = recv(fd, buf, sizeof(buf), 0);
    if (r != (ssize_t)len || memcmp(buf, msg, len) != 0)
        bench_fail(role, "verification: %s", r < 0 ? "no echo within 1 s" : "bad echo");
    bench_report("verified %zu %zd", len, r);

    uint64_t t0 = bench_now_ns(), deadline = t0 + (uint64_t)(o->seconds * 1e9);
    uint64_t tick_ns = rep->tick ? (uint64_t)o->tick_ms * 1000000u : 0, next_tick = t0 + tick_ns;
    uint64_t started = 0, done = 0, lost = 0, t_end = t0;
    bool more = true;
    for (unsigned i = 0; i < o->window; i++) {
        if (sendto(fd, msg, len, 0, (struct sockaddr *)&dst, sizeof(dst)) != (ssize_t)len)
            bench_fail(role, "sendto: %s", strerror(errno));
        started++;
    }
    while (done + lost < started) {
        r = recv(fd, buf, sizeof(buf), 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                bench_fail(role, "recv: %s", strerror(errno));
            /* Nothing for 1 s: what is still out is lost. */
            lost = started - done;
            break;
        }
        done++;
        uint64_t now = bench_now_ns();
        t_end = now;
        if (tick_ns && now >= next_tick) {
            rep->tick((now - t0) / 1000000u, done, &u0);
            next_tick += tick_ns;
        }
        if (more)
            more = o->count ? started < o->count : now < deadline;
        if (more) {
            if (sendto(fd, msg, len, 0, (struct sockaddr *)&dst, sizeof(dst)) != (ssize_t)len)
                bench_fail(role, "sendto: %s", strerror(errno));
            started++;
        }
    }
    if (lost)
        fprintf(stderr, "%s %s: %llu datagrams lost\n", bench_prog.name, role,
                (unsigned long long)lost);
    rep->end(done, lost, t_end - t0, &u0);
    close(fd);
    return 0;
}
