/*
 * test_net_wire.c - the libuv transports (parley/transport.h) on real
 * loopback sockets: UDP and TCP over IPv4 and IPv6, stream framing (one
 * write, one byte at a time, coalesced, CRLF keep-alives and the RFC 5626
 * pong), size limits, connecting out and reusing the connection,
 * unreachable targets, the connection caps, the idle and read-deadline
 * timers, garbage, an application's own poll() loop, pl_net_post from
 * other threads and pl_net_free with everything open.
 *
 * The peer is a plain POSIX socket driven by the test. Every wait runs the
 * pl_net's loop (UV_RUN_ONCE, woken by a 2 ms uv timer) until a condition
 * holds or a wall-clock bound passes, so a failure cannot hang.
 */
#include "testutil.h"

#include <parley/transport.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

/* ------------------------------------ fixture */

#define MAX_RX      512
#define MAX_UNREACH 16
#define MAX_FDS     64
#define MAX_PEERS   16
#define MAX_ALLOCS  64

typedef struct rx {
    char *buf;
    size_t len;
    pl_target src;
    pl_framing framing;
} rx;

typedef struct rec {
    rx msg[MAX_RX];
    size_t n;
    pl_target unreach[MAX_UNREACH];
    size_t n_unreach;
    /* When set, every message is answered with these bytes to its source. */
    const char *reply;
    size_t reply_len;
    int reply_rc;
    size_t replies;
} rec;

typedef struct wnet {
    pl_net *net;
    rec r;
    size_t nlisteners;
} wnet;

typedef struct wpeer {
    int fd;
    char *in; /* everything read so far */
    size_t in_len, in_cap;
    bool closed; /* EOF or an error */
    int err;     /* 0 for EOF, else errno (ECONNRESET...) */
} wpeer;

typedef struct fx {
    wnet nets[2];
    size_t nnets;
    int fds[MAX_FDS];
    size_t nfds;
    wpeer peers[MAX_PEERS];
    size_t npeers;
    void *allocs[MAX_ALLOCS];
    size_t nallocs;
} fx;

static bool have_v6;

/* A test (or pl_net_free) that never returns would hang ctest: fail it instead. */
static void on_watchdog(int sig)
{
    static const char msg[] = "test_net_wire: a test ran over 10 s (a wait that never ends, "
                              "or pl_net_free not returning)\n";
    (void)sig;
    ssize_t n = write(2, msg, sizeof(msg) - 1);
    (void)n;
    _exit(1);
}

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    signal(SIGALRM, on_watchdog);
    alarm(10);
    return 0;
}

static void rec_clear(rec *r)
{
    for (size_t i = 0; i < r->n && i < MAX_RX; i++)
        free(r->msg[i].buf);
    r->n = 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;
    for (size_t i = 0; i < f->nnets; i++) {
        pl_net_free(f->nets[i].net);
        rec_clear(&f->nets[i].r);
    }
    for (size_t i = 0; i < f->nfds; i++)
        if (f->fds[i] >= 0)
            close(f->fds[i]);
    for (size_t i = 0; i < f->npeers; i++)
        free(f->peers[i].in);
    for (size_t i = 0; i < f->nallocs; i++)
        free(f->allocs[i]);
    free(f);
    alarm(0);
    return 0;
}

static void *fx_alloc(fx *f, size_t n)
{
    assert_true(f->nallocs < MAX_ALLOCS);
    void *p = malloc(n ? n : 1);
    assert_non_null(p);
    f->allocs[f->nallocs++] = p;
    return p;
}

static int fx_fd(fx *f, int fd)
{
    if (fd < 0)
        fail_msg("socket call failed: %s", strerror(errno));
    assert_true(f->nfds < MAX_FDS);
    f->fds[f->nfds++] = fd;
    return fd;
}

static void fx_close_fd(fx *f, int fd)
{
    for (size_t i = 0; i < f->nfds; i++) {
        if (f->fds[i] == fd) {
            close(fd);
            f->fds[i] = -1;
            return;
        }
    }
    fail_msg("fd %d is not the fixture's", fd);
}

static wpeer *fx_peer(fx *f, int fd)
{
    assert_true(f->npeers < MAX_PEERS);
    wpeer *p = &f->peers[f->npeers++];
    memset(p, 0, sizeof(*p));
    p->fd = fd;
    return p;
}

/* ------------------------------------ pl_net */

static void on_msg(pl_net *net, const char *buf, size_t len, const pl_target *src,
                   pl_framing framing, void *user)
{
    rec *r = user;
    if (r->n < MAX_RX) {
        rx *m = &r->msg[r->n];
        m->buf = malloc(len ? len : 1);
        if (m->buf && len)
            memcpy(m->buf, buf, len);
        m->len = len;
        m->src = *src;
        m->framing = framing;
    }
    r->n++;
    if (r->reply) {
        pl_sender *s = pl_net_sender(net);
        r->reply_rc = s->send(s, src, r->reply, r->reply_len);
        r->replies++;
    }
}

static void on_unreach(pl_net *net, const pl_target *dst, void *user)
{
    rec *r = user;
    (void)net;
    if (r->n_unreach < MAX_UNREACH)
        r->unreach[r->n_unreach] = *dst;
    r->n_unreach++;
}

static wnet *net_new(fx *f, const pl_net_config *base)
{
    assert_true(f->nnets < 2);
    wnet *w = &f->nets[f->nnets];
    memset(w, 0, sizeof(*w));
    pl_net_config c;
    if (base)
        c = *base;
    else
        memset(&c, 0, sizeof(c));
    c.on_message = on_msg;
    c.on_unreachable = on_unreach;
    c.user = &w->r;
    w->net = pl_net_new(&c);
    assert_non_null(w->net);
    f->nnets++;
    return w;
}

static pl_target net_listen(wnet *w, const char *addr)
{
    int rc = pl_net_listen(w->net, addr);
    if (rc != PL_OK)
        fail_msg("pl_net_listen(\"%s\") = %d", addr, rc);
    pl_target t;
    assert_int_equal(pl_net_listen_target(w->net, w->nlisteners++, &t), PL_OK);
    if (pl_target_port(&t) == 0)
        fail_msg("pl_net_listen_target(\"%s\") has port 0, want the kernel's port", addr);
    return t;
}

static pl_net_stats stats(wnet *w)
{
    pl_net_stats s;
    pl_net_get_stats(w->net, &s);
    return s;
}

static int psend(wnet *w, const pl_target *dst, const char *buf, size_t len)
{
    pl_sender *s = pl_net_sender(w->net);
    return s->send(s, dst, buf, len);
}

/* ------------------------------------ bounded waits */

typedef struct waiter {
    uv_timer_t tick;
    uv_loop_t *loop;
    uint64_t deadline_ns;
    unsigned long iters;
} waiter;

static void tick_cb(uv_timer_t *t)
{
    (void)t;
}

static void waiter_begin(waiter *w, pl_net *net, unsigned ms)
{
    w->loop = pl_net_loop(net);
    uv_timer_init(w->loop, &w->tick);
    uv_timer_start(&w->tick, tick_cb, 2, 2); /* so that UV_RUN_ONCE never blocks long */
    w->deadline_ns = uv_hrtime() + (uint64_t)ms * 1000000u;
    w->iters = 0;
}

static bool waiter_step(waiter *w)
{
    if (uv_hrtime() >= w->deadline_ns || ++w->iters > 200000)
        return false;
    uv_run(w->loop, UV_RUN_ONCE);
    return true;
}

static void waiter_end(waiter *w)
{
    uv_close((uv_handle_t *)&w->tick, NULL);
    uv_run(w->loop, UV_RUN_NOWAIT);
}

/* Run wn's loop until cond holds or ms have passed. */
#define WAIT_UNTIL(wn, ms, cond)                                                                   \
    do {                                                                                           \
        waiter w_;                                                                                 \
        waiter_begin(&w_, (wn)->net, (ms));                                                        \
        while (!(cond) && waiter_step(&w_)) {                                                      \
        }                                                                                          \
        waiter_end(&w_);                                                                           \
    } while (0)

/* Run the loop for about ms (the condition never holds). */
static void run_for(wnet *w, unsigned ms)
{
    WAIT_UNTIL(w, ms, false);
}

static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000u;
}

/* ------------------------------------ raw peers */

static pl_target sock_target(int fd, pl_transport tp, bool remote)
{
    pl_target t;
    memset(&t, 0, sizeof(t));
    t.transport = tp;
    socklen_t n = sizeof(t.addr);
    int rc = remote ? getpeername(fd, (struct sockaddr *)&t.addr, &n)
                    : getsockname(fd, (struct sockaddr *)&t.addr, &n);
    if (rc != 0)
        fail_msg("getsockname: %s", strerror(errno));
    t.len = n;
    return t;
}

static void loopback(int family, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        *len = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof(*a);
    }
}

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL, 0);
    assert_true(fl >= 0);
    assert_int_equal(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

/* A UDP socket on the loopback address of family, port 0, non-blocking. */
static int udp_peer(fx *f, int family)
{
    int fd = fx_fd(f, socket(family, SOCK_DGRAM, 0));
    struct sockaddr_storage ss;
    socklen_t len;
    loopback(family, &ss, &len);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0)
        fail_msg("bind: %s", strerror(errno));
    set_nonblock(fd);
    return fd;
}

/* A TCP client connected to `to` (from local_ip when not NULL), then non-blocking. */
static wpeer *tcp_client_from(fx *f, const pl_target *to, const char *local_ip)
{
    int fd = fx_fd(f, socket(to->addr.ss_family, SOCK_STREAM, 0));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (local_ip) {
        struct sockaddr_in a;
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, local_ip, &a.sin_addr), 1);
        if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
            return NULL;
    }
    if (connect(fd, (const struct sockaddr *)&to->addr, to->len) != 0)
        fail_msg("connect: %s", strerror(errno));
    set_nonblock(fd);
    return fx_peer(f, fd);
}

static wpeer *tcp_client(fx *f, const pl_target *to)
{
    return tcp_client_from(f, to, NULL);
}

/* A listening TCP socket on loopback, port 0, non-blocking; *out its tcp: target. */
static int tcp_listener(fx *f, int family, pl_target *out)
{
    int fd = fx_fd(f, socket(family, SOCK_STREAM, 0));
    struct sockaddr_storage ss;
    socklen_t len;
    loopback(family, &ss, &len);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0)
        fail_msg("bind: %s", strerror(errno));
    assert_int_equal(listen(fd, 16), 0);
    set_nonblock(fd);
    *out = sock_target(fd, PL_TP_TCP, false);
    return fd;
}

/* Read what is there; true once the peer saw EOF or an error. Never blocks. */
static bool peer_pump(wpeer *p)
{
    for (;;) {
        if (p->closed)
            return true;
        char tmp[16384];
        ssize_t n = recv(p->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
        if (n > 0) {
            if (p->in_len + (size_t)n > p->in_cap) {
                size_t cap = p->in_cap ? p->in_cap * 2 : 4096;
                while (cap < p->in_len + (size_t)n)
                    cap *= 2;
                char *b = realloc(p->in, cap);
                if (!b)
                    abort();
                p->in = b;
                p->in_cap = cap;
            }
            memcpy(p->in + p->in_len, tmp, (size_t)n);
            p->in_len += (size_t)n;
            continue;
        }
        if (n == 0) {
            p->closed = true;
            p->err = 0;
            return true;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return false;
        p->closed = true;
        p->err = errno;
        return true;
    }
}

static bool peer_has(wpeer *p, size_t n)
{
    peer_pump(p);
    return p->in_len >= n;
}

/* Write all of buf, running w's loop while the socket buffer is full. False on error. */
static bool peer_write(wnet *w, wpeer *p, const void *buf, size_t len)
{
    const char *b = buf;
    size_t off = 0;
    bool ok = true;
    waiter wt;
    waiter_begin(&wt, w->net, 3000);
    while (off < len) {
        ssize_t n = send(p->fd, b + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!waiter_step(&wt)) {
                ok = false;
                break;
            }
            continue;
        }
        ok = false;
        break;
    }
    waiter_end(&wt);
    return ok;
}

static void peer_write_ok(wnet *w, wpeer *p, const void *buf, size_t len)
{
    if (!peer_write(w, p, buf, len))
        fail_msg("the peer could not write %zu bytes: %s", len, strerror(errno));
}

/* ------------------------------------ messages */

/* An OPTIONS request with a body of body_len bytes (a pattern), in a fixture allocation. */
static char *sip_msg(fx *f, const char *tag, size_t body_len, size_t *len)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "OPTIONS sip:bob@example.com SIP/2.0\r\n"
                     "Via: SIP/2.0/TCP 127.0.0.1:5062;branch=z9hG4bK-%s\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:alice@example.com>;tag=%s\r\n"
                     "To: <sip:bob@example.com>\r\n"
                     "Call-ID: %s@wire.test\r\n"
                     "CSeq: 1 OPTIONS\r\n"
                     "Content-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n"
                     "\r\n",
                     tag, tag, tag, body_len);
    assert_true(n > 0 && (size_t)n < sizeof(head));
    char *m = fx_alloc(f, (size_t)n + body_len);
    memcpy(m, head, (size_t)n);
    for (size_t i = 0; i < body_len; i++)
        m[(size_t)n + i] = (char)('a' + (i * 7 + (unsigned char)tag[0]) % 26);
    *len = (size_t)n + body_len;
    return m;
}

/* An OPTIONS request of exactly total bytes. */
static char *sip_msg_exact(fx *f, const char *tag, size_t total, size_t *len)
{
    size_t body = 0, n;
    (void)sip_msg(f, tag, body, &n);
    while (n != total) {
        assert_true(n < total || body > 0);
        body = body + total - n;
        (void)sip_msg(f, tag, body, &n);
    }
    char *m = sip_msg(f, tag, body, len);
    assert_int_equal(*len, total);
    return m;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static void check_rx(const rec *r, size_t i, const char *want, size_t len, pl_framing fr)
{
    assert_true(i < r->n);
    const rx *m = &r->msg[i];
    if (m->len != len)
        fail_msg("message %zu: %zu bytes, want %zu", i, m->len, len);
    if (len && memcmp(m->buf, want, len) != 0)
        fail_msg("message %zu: the bytes differ from those sent", i);
    assert_int_equal(m->framing, fr);
}

static void check_src(const pl_target *got, const pl_target *want)
{
    if (!pl_target_eq(got, want)) {
        char a[80], b[80];
        pl_target_print(got, a, sizeof(a));
        pl_target_print(want, b, sizeof(b));
        fail_msg("src is %s, want %s", a, b);
    }
    assert_int_equal(got->len, want->len);
}

/* ==================================== 1. UDP */

static void udp_roundtrip(fx *f, const char *listen_addr, int family)
{
    wnet *w = net_new(f, NULL);
    pl_target lt = net_listen(w, listen_addr);
    assert_int_equal(lt.transport, PL_TP_UDP);
    assert_int_equal(lt.addr.ss_family, family);
    int pfd = udp_peer(f, family);
    pl_target pt = sock_target(pfd, PL_TP_UDP, false);

    size_t len;
    char *m = sip_msg(f, "udp1", 11, &len);
    assert_int_equal(sendto(pfd, m, len, 0, (struct sockaddr *)&lt.addr, lt.len), (ssize_t)len);
    WAIT_UNTIL(w, 1000, w->r.n >= 1);
    assert_int_equal(w->r.n, 1);
    check_rx(&w->r, 0, m, len, PL_FRAMING_DGRAM);
    assert_int_equal(w->r.msg[0].src.transport, PL_TP_UDP);
    check_src(&w->r.msg[0].src, &pt);
    assert_int_equal(stats(w).datagrams_in, 1);

    /* Out through the sender: the peer gets the exact bytes, from the listener's port. */
    size_t len2;
    char *m2 = sip_msg(f, "udp2", 300, &len2);
    assert_int_equal(psend(w, &pt, m2, len2), PL_OK);
    char got[4096];
    ssize_t n = -1;
    struct sockaddr_storage from;
    socklen_t fromlen = sizeof(from);
    WAIT_UNTIL(w, 1000,
               (fromlen = sizeof(from),
                (n = recvfrom(pfd, got, sizeof(got), 0, (struct sockaddr *)&from, &fromlen)) >= 0));
    assert_int_equal(n, (ssize_t)len2);
    assert_memory_equal(got, m2, len2);
    pl_target ft;
    memset(&ft, 0, sizeof(ft));
    ft.transport = PL_TP_UDP;
    ft.len = fromlen;
    memcpy(&ft.addr, &from, fromlen);
    check_src(&ft, &lt); /* sent from the listening socket (RFC 3261 18.1.1, 18.2.2) */
    assert_int_equal(stats(w).datagrams_out, 1);
}

static void test_udp_v4(void **state)
{
    udp_roundtrip(*state, "udp:127.0.0.1:0", AF_INET);
}

static void test_udp_v6(void **state)
{
    if (!have_v6)
        skip();
    udp_roundtrip(*state, "udp:[::1]:0", AF_INET6);
}

/* ==================================== 2. TCP framing */

static void tcp_one_write(fx *f, const char *listen_addr, int family)
{
    wnet *w = net_new(f, NULL);
    pl_target lt = net_listen(w, listen_addr);
    assert_int_equal(lt.transport, PL_TP_TCP);
    assert_int_equal(lt.addr.ss_family, family);
    wpeer *p = tcp_client(f, &lt);
    pl_target pt = sock_target(p->fd, PL_TP_TCP, false);

    size_t len;
    char *m = sip_msg(f, "tcp1", 42, &len);
    peer_write_ok(w, p, m, len);
    WAIT_UNTIL(w, 1000, w->r.n >= 1);
    run_for(w, 20); /* nothing more may come */
    assert_int_equal(w->r.n, 1);
    check_rx(&w->r, 0, m, len, PL_FRAMING_STREAM);
    check_src(&w->r.msg[0].src, &pt);
    pl_net_stats s = stats(w);
    assert_int_equal(s.stream_messages_in, 1);
    assert_int_equal(s.connections, 1);
    assert_int_equal(s.framing_errors, 0);
    assert_false(peer_pump(p));
    assert_int_equal(p->in_len, 0);
}

static void test_tcp_v4_one_write(void **state)
{
    tcp_one_write(*state, "tcp:127.0.0.1:0", AF_INET);
}

static void test_tcp_v6_one_write(void **state)
{
    if (!have_v6)
        skip();
    tcp_one_write(*state, "tcp:[::1]:0", AF_INET6);
}

static void tcp_split(fx *f, const char *listen_addr)
{
    wnet *w = net_new(f, NULL);
    pl_target lt = net_listen(w, listen_addr);
    wpeer *p = tcp_client(f, &lt);
    size_t len;
    char *m = sip_msg(f, "split", 17, &len);
    for (size_t i = 0; i < len; i++) {
        peer_write_ok(w, p, m + i, 1);
        for (int k = 0; k < 3; k++)
            uv_run(pl_net_loop(w->net), UV_RUN_NOWAIT);
        if (i + 1 < len && w->r.n != 0)
            fail_msg("a message was delivered after %zu of %zu bytes", i + 1, len);
    }
    WAIT_UNTIL(w, 1000, w->r.n >= 1);
    run_for(w, 20);
    assert_int_equal(w->r.n, 1);
    check_rx(&w->r, 0, m, len, PL_FRAMING_STREAM);
    assert_int_equal(stats(w).connections, 1);
}

static void test_tcp_v4_split_bytes(void **state)
{
    tcp_split(*state, "tcp:127.0.0.1:0");
}

static void test_tcp_v6_split_bytes(void **state)
{
    if (!have_v6)
        skip();
    tcp_split(*state, "tcp:[::1]:0");
}

static void tcp_coalesced(fx *f, const char *listen_addr)
{
    wnet *w = net_new(f, NULL);
    pl_target lt = net_listen(w, listen_addr);
    wpeer *p = tcp_client(f, &lt);
    size_t l1, l2, l3;
    char *m1 = sip_msg(f, "one", 0, &l1);
    char *m2 = sip_msg(f, "two", 1000, &l2);
    /* The third uses the compact form of Content-Length (RFC 3261 7.3.3). */
    static const char m3[] = "MESSAGE sip:bob@example.com SIP/2.0\r\n"
                             "Via: SIP/2.0/TCP 127.0.0.1:5062;branch=z9hG4bK-three\r\n"
                             "From: <sip:alice@example.com>;tag=3\r\n"
                             "To: <sip:bob@example.com>\r\n"
                             "Call-ID: three@wire.test\r\n"
                             "CSeq: 3 MESSAGE\r\n"
                             "l: 5\r\n"
                             "\r\n"
                             "hello";
    l3 = sizeof(m3) - 1;
    char *all = fx_alloc(f, l1 + l2 + l3);
    memcpy(all, m1, l1);
    memcpy(all + l1, m2, l2);
    memcpy(all + l1 + l2, m3, l3);
    peer_write_ok(w, p, all, l1 + l2 + l3);
    WAIT_UNTIL(w, 1000, w->r.n >= 3);
    run_for(w, 20);
    assert_int_equal(w->r.n, 3);
    check_rx(&w->r, 0, m1, l1, PL_FRAMING_STREAM);
    check_rx(&w->r, 1, m2, l2, PL_FRAMING_STREAM);
    check_rx(&w->r, 2, m3, l3, PL_FRAMING_STREAM);
    assert_int_equal(stats(w).stream_messages_in, 3);
}

static void test_tcp_v4_coalesced(void **state)
{
    tcp_coalesced(*state, "tcp:127.0.0.1:0");
}

static void test_tcp_v6_coalesced(void **state)
{
    if (!have_v6)
        skip();
    tcp_coalesced(*state, "tcp:[::1]:0");
}

/* Single CRLFs between messages (RFC 3261 7.5 / RFC 5626 pongs) are skipped, not answered. */
static void test_tcp_crlf_between_messages(void **state)
{
    fx *f = *state;
    wnet *w = net_new(f, NULL);
    pl_target lt = net_listen(w, "tcp:127.0.0.1:0");
    wpeer *p = tcp_client(f, &lt);
    size_t l1, l2;
    char *m1 = sip_msg(f, "c1", 3, &l1);
    char *m2 = sip_msg(f, "c2", 4, &l2);
    peer_write_ok(w, p, "\r\n", 2);
    peer_write_ok(w, p, m1, l1);
    peer_write_ok(w, p, "\r\n", 2);
    WAIT_UNTIL(w, 1000, w->r.n >= 1);
    peer_write_ok(w, p, m2, l2);
    peer_write_ok(w, p, "\r\n", 2);
    WAIT_UNTIL(w, 1000, w->r.n >= 2);
    run_for(w, 30);
    assert_int_equal(w->r.n, 2);
    check_rx(&w->r, 0, m1, l1, PL_FRAMING_STREAM);
    check_rx(&w->r, 1, m2, l2, PL_FRAMING_STREAM);
    assert_false(peer_pump(p));
    if (p->in_len != 0)
        fail_msg("%zu bytes came back for single CRLFs, want none", p->in_len);
    assert_int_equal(stats(w).keepalive_pings, 0);
    assert_int_equal(stats(w).connections, 1);
}

/* RFC 5626 3.5.1: a double CRLF between messages is a ping, answered with one CRLF. */
static void test_tcp_ping_pong(void **state)
{
    fx *f = *state;
    wnet *w = net_new(f, NULL);
    pl_target lt = net_listen(w, "tcp:127.0.0.1:0");
    wpeer *p = tcp_client(f, &lt);

    peer_write_ok(w, p, "\r\n\r\n", 4);
    WAIT_UNTIL(w, 1000, peer_has(p, 2));
    run_for(w, 20);
    peer_pump(p);
    assert_false(p->closed);
    assert_int_equal(p->in_len, 2);
    assert_memory_equal(p->in, "\r\n", 2);
    assert_int_equal(stats(w).keepalive_pings, 1);
    assert_int_equal(w->r.n, 0);

    /* A ping split into single bytes is still one ping. */
    for (int i = 0; i < 4; i++) {
        peer_write_ok(w, p, i % 2 ? "\n" : "\r", 1);
        for (int k = 0; k < 3; k++)
            uv_run(pl_net_loop(w->net), UV_RUN_NOWAIT);
    }
    WAIT_UNTIL(w, 1000, peer_has(p, 4));
    run_for(w, 20);
    peer_pump(p);
    assert_int_equal(p->in_len, 4);
    assert_memory_equal(p->in, "\r\n\r\n", 4);
    assert_int_equal(stats(w).keepalive_pings, 2);

    /* A ping between two messages written at once: two messages, one pong. */
    size_t l1, l2;
    char *m1 = sip_msg(f, "p1", 5, &l1);
    char *m2 = sip_msg(f, "p2", 6, &l2);
    char *all = fx_alloc(f, l1 + 4 + l2);
    memcpy(all, m1, l1);
    memcpy(all + l1, "\r\n\r\n", 4);
    memcpy(all + l1 + 4, m2, l2);
    peer_write_ok(w, p, all, l1 + 4 + l2);
    WAIT_UNTIL(w, 1000, w->r.n >= 2 && peer_has(p, 6));
    run_for(w, 20);
    peer_pump(p);
    assert_int_equal(w->r.n, 2);
    check_rx(&w->r, 0, m1, l1, PL_FRAMING_STREAM);
    check_rx(&w->r, 1, m2, l2, PL_FRAMING_STREAM);
    assert_int_equal(p->in_len, 6);
    assert_int_equal(stats(w).keepalive_pings, 3);
    assert_false(p->closed);
}

/* A response goes back on the connection the request came in on (RFC 3261 18.2.2). */
static void test_tcp_reply_same_connection(void **state)
{
    fx *f = *state;
    wnet *w = net_new(f, NULL);
    pl_target lt = net_listen(w, "tcp:127.0.0.1:0");
    static const char resp[] = "SIP/2.0 200 OK\r\n"
                               "Via: SIP/2.0/TCP 127.0.0.1:5062;branch=z9hG4bK-r\r\n"
                               "From: <sip:alice@example.com>;tag=1\r\n"
                               "To: <sip:bob@example.com>;tag=2\r\n"
                               "Call-ID: r@wire.test\r\n"
                               "CSeq: 1 OPTIONS\r\n"
                               "Content-Length: 0\r\n\r\n";
    w->r.reply = resp;
    w->r.reply_len = sizeof(resp) - 1;
    wpeer *p = tcp_client(f, &lt);
    size_t len;
    char *m = sip_msg(f, "req", 0, &len);
    peer_write_ok(w, p, m, len);
    WAIT_UNTIL(w, 1000, peer_has(p, sizeof(resp) - 1));
    assert_int_equal(w->r.n, 1);
    assert_int_equal(w->r.reply_rc, PL_OK);
    assert_int_equal(p->in_len, sizeof(resp) - 1);
    assert_memory_equal(p->in, resp, sizeof(resp) - 1);
    assert_int_equal(stats(w).connections, 1); /* no second connection was opened */
    assert_int_equal(stats(w).stream_messages_out, 1);
}

/* ==================================== 3, 4. sizes and framing errors */

static void test_tcp_large_message(void **state)
{
    fx *f = *state;
    pl_net_config c = {.max_msg_size = 65535};
    wnet *w = net_new(f, &c);
    pl_target lt = net_listen(w, "tcp:127.0.0.1:0");
    wpeer *p = tcp_client(f, &lt);
    size_t len;
    char *m = sip_msg(f, "large", 60000, &len);
    assert_true(len < 65535);
    /* Twice back to back, so the second starts in the buffer the first filled. */
    char *two = fx_alloc(f, 2 * len);
    memcpy(two, m, len);
    memcpy(two + len, m, len);
    peer_write_ok(w, p, two, 2 * len);
    WAIT_UNTIL(w, 2000, w->r.n >= 2);
    assert_int_equal(w->r.n, 2);
    check_rx(&w->r, 0, m, len, PL_FRAMING_STREAM);
    check_rx(&w->r, 1, m, len, PL_FRAMING_STREAM);
    assert_false(peer_pump(p));
    assert_int_equal(stats(w).oversized, 0);
}

/* A message of exactly max_msg_size is taken; one byte more closes the connection. */
static void test_tcp_max_size_boundary(void **state)
{
    fx *f = *state;
    pl_net_config c = {.max_msg_size = 2000};
    wnet *w = net_new(f, &c);
    pl_target lt = net_listen(w, "tcp:127.0.0.1:0");
    size_t len;
    char *m = sip_msg_exact(f, "bnd", 2000, &len);
    wpeer *p = tcp_client(f, &lt);
    peer_write_ok(w, p, m, len);
    WAIT_UNTIL(w, 1000, w->r.n >= 1 || peer_pump(p));
    assert_int_equal(w->r.n, 1);
    check_rx(&w->r, 0, m, len, PL_FRAMING_STREAM);
    assert_false(peer_pump(p));

    size_t len2;
    char *m2 = sip_msg_exact(f, "bnd", 2001, &len2);
    wpeer *q = tcp_client(f, &lt);
    peer_write(w, q, m2, len2);
    WAIT_UNTIL(w, 3000, peer_pump(q));
    assert_true(q->closed);
    assert_int_equal(w->r.n, 1);
    assert_int_equal(stats(w).oversized, 1);
    assert_int_equal(stats(w).framing_errors, 1);
}

static void test_tcp_content_length_too_big(void **state)
{
    fx *f = *state;
    pl_net_config c = {.max_msg_size = 65535};
    wnet *w = net_new(f, &c);
    pl_target lt = net_listen(w, "tcp:127.0.0.1:0");
    wpeer *p = tcp_client(f, &lt);
    static const char head[] = "MESSAGE sip:bob@example.com SIP/2.0\r\n"
                               "Via: SIP/2.0/TCP 127.0.0.1:5062;branch=z9hG4bK-big\r\n"
                               "Call-ID: big@wire.test\r\n"
                               "CSeq: 1 MESSAGE\r\n"
                               "Content-Length: 70000\r\n"
                               "\r\n";
    peer_write_ok(w, p, head, sizeof(head) - 1);
    peer_write(w, p, "some of the body", 16); /* may fail once closed */
    WAIT_UNTIL(w, 3000, peer_pump(p));
    if (!p->closed)
        fail_msg("Content-Length 70000 over max_msg_size 65535: the connection stayed open");
    /* EOF, or a reset when the body bytes were still unread at close. */
    if (p->err != 0 && p->err != ECONNRESET)
        fail_msg("unexpected error on the peer: %s", strerror(p->err));
    pl_net_stats s = stats(w);
    assert_int_equal(s.oversized, 1);
    assert_int_equal(s.framing_errors, 1);
    assert_int_equal(s.connections, 0);
    assert_int_equal(w->r.n, 0);
}

static void test_tcp_header_never_ends(void **state)
{
    fx *f = *state;
    pl_net_config c = {.max_msg_size = 65535};
    wnet *w = net_new(f, &c);
    pl_target lt = net_listen(w, "tcp:127.0.0.1:0");
    wpeer *p = tcp_client(f, &lt);
    size_t total = 80000;
    char *h = fx_alloc(f, total);
    static const char start[] = "OPTIONS sip:bob@example.com SIP/2.0\r\n";
    memcpy(h, start, sizeof(start) - 1);
    size_t off = sizeof(start) - 1;
    unsigned line = 0;
    while (off < total) {
        char l[64];
        int n = snprintf(l, sizeof(l), "X-Filler-%u: %040u\r\n", line, line);
        line++;
        size_t k = (size_t)n < total - off ? (size_t)n : total - off;
        memcpy(h + off, l, k);
        off += k;
    }
    peer_write(w, p, h, total); /* the far end may close before all is written */
    WAIT_UNTIL(w, 3000, peer_pump(p));
    if (!p->closed)
        fail_msg("an 80 KB header section with no end stayed open (max_msg_size 65535)");
    pl_net_stats s = stats(w);
    assert_int_equal(s.oversized, 1);
    assert_int_equal(s.framing_errors, 1);
    assert_int_equal(s.connections, 0);
    assert_int_equal(w->r.n, 0);
}

/* RFC 3261 18.3: Content-Length is mandatory on a stream. */
static void test_tcp_no_content_length(void **state)
{
    fx *f = *state;
    wnet *w = net_new(f, NULL);
    pl_target lt = net_listen(w, "tcp:127.0.0.1:0");
    wpeer *p = tcp_client(f, &lt);
    static const char m[] = "OPTIONS sip:bob@example.com SIP/2.0\r\n"
                            "Via: SIP/2.0/TCP 127.0.0.1:5062;branch=z9hG4bK-nocl\r\n"
                            "From: <sip:alice@example.com>;tag=1\r\n"
                            "To: <sip:bob@example.com>\r\n"
                            "Call-ID: nocl@wire.test\r\n"
                            "CSeq: 1 OPTIONS\r\n"
                            "\r\n";
    peer_write_ok(w, p, m, sizeof(m) - 1);
    WAIT_UNTIL(w, 3000, peer_pump(p));
    assert_true(p->closed);
    pl_net_stats s = stats(w);
    assert_int_equal(s.framing_errors, 1);
    assert_int_equal(s.oversized, 0);
    assert_int_equal(s.connections, 0);
    assert_int_equal(w->r.n, 0);
}

/* ==================================== 5, 6. sending over TCP */

static int accept_nb(int lfd)
{
    return accept(lfd, NULL, NULL);
}

static void tcp_send_reuse(fx *f, int family)
{
    wnet *w = net_new(f, NULL);
    pl_target tgt;
    int lfd = tcp_listener(f, family, &tgt);
    size_t l1, l2, l3;
    char *m1 = sip_msg(f, "s1", 10, &l1);
    char *m2 = sip_msg(f, "s2", 20, &l2);
    char *m3 = sip_msg(f, "s3", 30, &l3);

    /* Two sends before the connection is up: one connection, both in order. */
    assert_int_equal(psend(w, &tgt, m1, l1), PL_OK);
    assert_int_equal(psend(w, &tgt, m2, l2), PL_OK);
    int afd = -1;
    WAIT_UNTIL(w, 1000, (afd = accept_nb(lfd)) >= 0);
    if (afd < 0)
        fail_msg("no connection came for the send");
    fx_fd(f, afd);
    set_nonblock(afd);
    wpeer *a = fx_peer(f, afd);
    WAIT_UNTIL(w, 1000, peer_has(a, l1 + l2));
    assert_int_equal(a->in_len, l1 + l2);
    assert_memory_equal(a->in, m1, l1);
    assert_memory_equal(a->in + l1, m2, l2);

    /* A third once it is up: the same connection. */
    assert_int_equal(psend(w, &tgt, m3, l3), PL_OK);
    WAIT_UNTIL(w, 1000, peer_has(a, l1 + l2 + l3));
    assert_int_equal(a->in_len, l1 + l2 + l3);
    assert_memory_equal(a->in + l1 + l2, m3, l3);
    run_for(w, 20);
    int extra = accept_nb(lfd);
    if (extra >= 0) {
        close(extra);
        fail_msg("a second connection was opened to the same target");
    }
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    assert_int_equal(stats(w).connections, 1);
    assert_int_equal(stats(w).stream_messages_out, 3);

    /* The peer's reply on that connection comes in from the target. */
    static const char resp[] = "SIP/2.0 200 OK\r\n"
                               "Via: SIP/2.0/TCP 127.0.0.1:5062;branch=z9hG4bK-s1\r\n"
                               "From: <sip:alice@example.com>;tag=s1\r\n"
                               "To: <sip:bob@example.com>;tag=x\r\n"
                               "Call-ID: s1@wire.test\r\n"
                               "CSeq: 1 OPTIONS\r\n"
                               "Content-Length: 0\r\n\r\n";
    peer_write_ok(w, a, resp, sizeof(resp) - 1);
    WAIT_UNTIL(w, 1000, w->r.n >= 1);
    assert_int_equal(w->r.n, 1);
    check_rx(&w->r, 0, resp, sizeof(resp) - 1, PL_FRAMING_STREAM);
    check_src(&w->r.msg[0].src, &tgt);
    assert_int_equal(w->r.n_unreach, 0);
}

static void test_tcp_send_v4(void **state)
{
    tcp_send_reuse(*state, AF_INET);
}

static void test_tcp_send_v6(void **state)
{
    if (!have_v6)
        skip();
    tcp_send_reuse(*state, AF_INET6);
}

static void test_tcp_send_closed_port(void **state)
{
    fx *f = *state;
    wnet *w = net_new(f, NULL);
    /* A bound socket that does not listen: the port is ours, and connects are refused. */
    int fd = fx_fd(f, socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_storage ss;
    socklen_t sl;
    loopback(AF_INET, &ss, &sl);
    assert_int_equal(bind(fd, (struct sockaddr *)&ss, sl), 0);
    pl_target tgt = sock_target(fd, PL_TP_TCP, false);

    size_t len;
    char *m = sip_msg(f, "closed", 0, &len);
    assert_int_equal(psend(w, &tgt, m, len), PL_OK); /* asynchronous */
    assert_int_equal(w->r.n_unreach, 0);             /* not from inside send() */
    WAIT_UNTIL(w, 1000, w->r.n_unreach >= 1);
    run_for(w, 20);
    assert_int_equal(w->r.n_unreach, 1);
    check_src(&w->r.unreach[0], &tgt);
    assert_int_equal(stats(w).connections, 0);

    /* Again: a fresh attempt, a fresh report. */
    assert_int_equal(psend(w, &tgt, m, len), PL_OK);
    WAIT_UNTIL(w, 1000, w->r.n_unreach >= 2);
    assert_int_equal(w->r.n_unreach, 2);
    check_src(&w->r.unreach[1], &tgt);
    assert_int_equal(stats(w).connections, 0);
}

/* ==================================== 7. limits */

static void test_limit_per_ip(void **state)
{
    fx *f = *state;
    pl_net_config c = {.max_connections_per_ip = 2};
    wnet *w = net_new(f, &c);
    pl_target lt = net_listen(w, "tcp:127.0.0.1:0");
    size_t len;
    char *m = sip_msg(f, "ip", 0, &len);

    wpeer *c1 = tcp_client(f, &lt);
    peer_write_ok(w, c1, m, len);
    WAIT_UNTIL(w, 1000, w->r.n >= 1 || peer_pump(c1));
    assert_int_equal(w->r.n, 1);

    wpeer *c2 = tcp_client(f, &lt);
    peer_write_ok(w, c2, m, len);
    WAIT_UNTIL(w, 1000, w->r.n >= 2 || peer_pump(c2));
    if (c2->closed || w->r.n != 2)
        fail_msg("max_connections_per_ip = 2: the 2nd connection from 127.0.0.1 was refused "
                 "(connections_refused = %llu, open = %zu)",
                 (unsigned long long)stats(w).connections_refused, stats(w).connections);
    assert_int_equal(stats(w).connections, 2);

    wpeer *c3 = tcp_client(f, &lt);
    WAIT_UNTIL(w, 1000, peer_pump(c3));
    if (!c3->closed)
        fail_msg("the 3rd connection from 127.0.0.1 stayed open");
    assert_int_equal(stats(w).connections_refused, 1);
    assert_int_equal(stats(w).connections, 2);

    /* Another address is not counted against 127.0.0.1. */
    wpeer *c4 = tcp_client_from(f, &lt, "127.0.0.2");
    if (c4) {
        peer_write_ok(w, c4, m, len);
        WAIT_UNTIL(w, 1000, w->r.n >= 3 || peer_pump(c4));
        assert_false(c4->closed);
        assert_int_equal(w->r.n, 3);
        assert_int_equal(stats(w).connections, 3);
    }

    /* The first two still work. */
    size_t before = w->r.n;
    peer_write_ok(w, c1, m, len);
    peer_write_ok(w, c2, m, len);
    WAIT_UNTIL(w, 1000, w->r.n >= before + 2);
    assert_int_equal(w->r.n, before + 2);
    assert_int_equal(stats(w).connections_refused, 1);
}

static void test_limit_total(void **state)
{
    fx *f = *state;
    pl_net_config c = {.max_connections = 3};
    wnet *w = net_new(f, &c);
    pl_target lt = net_listen(w, "tcp:127.0.0.1:0");
    size_t len;
    char *m = sip_msg(f, "tot", 0, &len);
    wpeer *cs[3];
    for (size_t i = 0; i < 3; i++) {
        cs[i] = tcp_client(f, &lt);
        peer_write_ok(w, cs[i], m, len);
        WAIT_UNTIL(w, 1000, w->r.n >= i + 1 || peer_pump(cs[i]));
        if (w->r.n != i + 1)
            fail_msg("max_connections = 3: connection %zu was not served", i + 1);
    }
    assert_int_equal(stats(w).connections, 3);
    wpeer *c4 = tcp_client(f, &lt);
    WAIT_UNTIL(w, 1000, peer_pump(c4));
    if (!c4->closed)
        fail_msg("max_connections = 3: the 4th connection stayed open");
    assert_int_equal(stats(w).connections_refused, 1);
    assert_int_equal(stats(w).connections, 3);
    for (size_t i = 0; i < 3; i++)
        peer_write_ok(w, cs[i], m, len);
    WAIT_UNTIL(w, 1000, w->r.n >= 6);
    assert_int_equal(w->r.n, 6);

    /* One closes: room for a new one. */
    fx_close_fd(f, cs[0]->fd);
    WAIT_UNTIL(w, 1000, stats(w).connections == 2);
    assert_int_equal(stats(w).connections, 2);
    wpeer *c5 = tcp_client(f, &lt);
    peer_write_ok(w, c5, m, len);
    WAIT_UNTIL(w, 1000, w->r.n >= 7 || peer_pump(c5));
    assert_int_equal(w->r.n, 7);
    assert_int_equal(stats(w).connections_refused, 1);
}

static void test_idle_close(void **state)
{
    fx *f = *state;
    pl_net_config c = {.idle_ms = 100};
    wnet *w = net_new(f, &c);
    pl_target lt = net_listen(w, "tcp:127.0.0.1:0");
    uint64_t t0 = now_ms();
    wpeer *p = tcp_client(f, &lt);
    WAIT_UNTIL(w, 2000, peer_pump(p));
    uint64_t dt = now_ms() - t0;
    if (!p->closed)
        fail_msg("idle_ms = 100: an idle connection was still open after 2 s");
    assert_int_equal(p->err, 0);
    if (dt < 90)
        fail_msg("idle_ms = 100: closed after %llu ms", (unsigned long long)dt);
    assert_int_equal(stats(w).idle_closed, 1);
    assert_int_equal(stats(w).deadline_closed, 0);
    assert_int_equal(stats(w).connections, 0);
}

/* Traffic (here keep-alive pings) keeps a connection from being idle. */
static void test_idle_reset_by_traffic(void **state)
{
    fx *f = *state;
    pl_net_config c = {.idle_ms = 150};
    wnet *w = net_new(f, &c);
    pl_target lt = net_listen(w, "tcp:127.0.0.1:0");
    wpeer *p = tcp_client(f, &lt);
    for (int i = 0; i < 5; i++) {
        run_for(w, 60);
        peer_write_ok(w, p, "\r\n\r\n", 4);
    }
    run_for(w, 60); /* 360 ms in all, never 150 without a read */
    if (peer_pump(p))
        fail_msg("a connection with a ping every 60 ms was closed (idle_ms = 150)");
    assert_int_equal(stats(w).idle_closed, 0);
    assert_int_equal(p->in_len, 10); /* five pongs */
    uint64_t t0 = now_ms();
    WAIT_UNTIL(w, 2000, peer_pump(p));
    uint64_t dt = now_ms() - t0;
    assert_true(p->closed);
    assert_true(dt < 1000);
    assert_int_equal(stats(w).idle_closed, 1);
}

static void test_deadline_half_message(void **state)
{
    fx *f = *state;
    pl_net_config c = {.read_deadline_ms = 100};
    wnet *w = net_new(f, &c);
    pl_target lt = net_listen(w, "tcp:127.0.0.1:0");
    wpeer *p = tcp_client(f, &lt);
    size_t len;
    char *m = sip_msg(f, "half", 100, &len);
    uint64_t t0 = now_ms();
    peer_write_ok(w, p, m, len / 2);
    WAIT_UNTIL(w, 2000, peer_pump(p));
    uint64_t dt = now_ms() - t0;
    if (!p->closed)
        fail_msg("read_deadline_ms = 100: half a message kept the connection 2 s");
    if (dt < 90)
        fail_msg("read_deadline_ms = 100: closed after %llu ms", (unsigned long long)dt);
    assert_int_equal(stats(w).deadline_closed, 1);
    assert_int_equal(stats(w).idle_closed, 0);
    assert_int_equal(stats(w).connections, 0);
    assert_int_equal(w->r.n, 0);
}

/* A slow sender: a byte every 10 ms keeps the connection busy but never finishes. */
static void test_deadline_slow_sender(void **state)
{
    fx *f = *state;
    pl_net_config c = {.read_deadline_ms = 150};
    wnet *w = net_new(f, &c);
    pl_target lt = net_listen(w, "tcp:127.0.0.1:0");
    wpeer *p = tcp_client(f, &lt);
    size_t len;
    char *m = sip_msg(f, "slow", 500, &len);
    uint64_t t0 = now_ms();
    size_t i = 0;
    while (i < len && now_ms() - t0 < 1500) {
        if (peer_pump(p) || !peer_write(w, p, m + i, 1))
            break;
        i++;
        run_for(w, 10);
    }
    WAIT_UNTIL(w, 500, peer_pump(p));
    uint64_t dt = now_ms() - t0;
    if (!p->closed)
        fail_msg("a byte every 10 ms kept the connection open %llu ms (read_deadline_ms = 150)",
                 (unsigned long long)dt);
    if (dt < 140 || dt > 1000)
        fail_msg("read_deadline_ms = 150: the slow sender was closed after %llu ms",
                 (unsigned long long)dt);
    assert_int_equal(stats(w).deadline_closed, 1);
    assert_int_equal(w->r.n, 0);
}

/*
 * The deadline is per message: pipelined messages, each whole within 80 ms
 * of its first byte, where every read ends inside the next message, must
 * not trip a 200 ms deadline however long the stream runs.
 */
static void test_deadline_per_message(void **state)
{
    fx *f = *state;
    pl_net_config c = {.read_deadline_ms = 200};
    wnet *w = net_new(f, &c);
    pl_target lt = net_listen(w, "tcp:127.0.0.1:0");
    wpeer *p = tcp_client(f, &lt);
    enum { N = 6 };
    char *m[N];
    size_t len[N];
    for (int i = 0; i < N; i++) {
        char tag[16];
        snprintf(tag, sizeof(tag), "pm%d", i);
        m[i] = sip_msg(f, tag, 200, &len[i]);
    }
    char *chunk = fx_alloc(f, 2 * len[0] + 16);
    peer_write_ok(w, p, m[0], len[0] / 2);
    for (int i = 0; i < N; i++) {
        run_for(w, 80);
        if (peer_pump(p))
            break;
        /* The rest of message i, and the first half of message i + 1, in one write. */
        size_t a = len[i] - len[i] / 2, b = i + 1 < N ? len[i + 1] / 2 : 0;
        memcpy(chunk, m[i] + len[i] / 2, a);
        if (b)
            memcpy(chunk + a, m[i + 1], b);
        peer_write(w, p, chunk, a + b);
    }
    WAIT_UNTIL(w, 1000, w->r.n >= N || peer_pump(p));
    if (p->closed || w->r.n != N)
        fail_msg("pipelined messages each whole within 80 ms: connection closed after %zu of %d "
                 "(deadline_closed = %llu, read_deadline_ms = 200)",
                 w->r.n, N, (unsigned long long)stats(w).deadline_closed);
    for (int i = 0; i < N; i++)
        check_rx(&w->r, (size_t)i, m[i], len[i], PL_FRAMING_STREAM);
    assert_int_equal(stats(w).deadline_closed, 0);
}

/* ==================================== 8. garbage */

static void test_udp_garbage(void **state)
{
    fx *f = *state;
    wnet *w = net_new(f, NULL);
    pl_target lt = net_listen(w, "udp:127.0.0.1:0");
    int pfd = udp_peer(f, AF_INET);
    enum { N = 32 };
    char *d[N];
    size_t dl[N];
    for (int i = 0; i < N; i++) {
        dl[i] = 1 + rng() % 1400;
        d[i] = fx_alloc(f, dl[i]);
        for (size_t k = 0; k < dl[i]; k++)
            d[i][k] = (char)rng();
        if (i == 5)
            memcpy(d[i], "\r\n\r\n", dl[i] < 4 ? dl[i] : 4); /* a ping means nothing on UDP */
        assert_int_equal(sendto(pfd, d[i], dl[i], 0, (struct sockaddr *)&lt.addr, lt.len),
                         (ssize_t)dl[i]);
        if (i == 10) /* an empty datagram: delivered or dropped, no crash */
            assert_int_equal(sendto(pfd, "", 0, 0, (struct sockaddr *)&lt.addr, lt.len), 0);
    }
    WAIT_UNTIL(w, 1000, w->r.n >= N);
    run_for(w, 20);
    size_t j = 0;
    for (size_t i = 0; i < w->r.n && i < MAX_RX; i++) {
        if (w->r.msg[i].len == 0)
            continue; /* the empty one, if delivered */
        assert_true(j < N);
        check_rx(&w->r, i, d[j], dl[j], PL_FRAMING_DGRAM);
        j++;
    }
    assert_int_equal(j, N);
    assert_int_equal(stats(w).oversized, 0);
}

static void test_udp_oversized(void **state)
{
    fx *f = *state;
    pl_net_config c = {.max_msg_size = 1000};
    wnet *w = net_new(f, &c);
    pl_target lt = net_listen(w, "udp:127.0.0.1:0");
    int pfd = udp_peer(f, AF_INET);
    size_t big = 60000;
    char *b = fx_alloc(f, big);
    memset(b, 'x', big);
    const struct sockaddr *to = (const struct sockaddr *)&lt.addr;
    assert_int_equal(sendto(pfd, b, 1001, 0, to, lt.len), 1001);
    assert_int_equal(sendto(pfd, b, 1000, 0, to, lt.len), 1000);
    assert_int_equal(sendto(pfd, b, big, 0, to, lt.len), (ssize_t)big);
    assert_int_equal(sendto(pfd, "end", 3, 0, to, lt.len), 3);
    WAIT_UNTIL(w, 1000, w->r.n >= 2 && stats(w).oversized >= 2);
    run_for(w, 20);
    assert_int_equal(w->r.n, 2);
    check_rx(&w->r, 0, b, 1000, PL_FRAMING_DGRAM);
    check_rx(&w->r, 1, "end", 3, PL_FRAMING_DGRAM);
    assert_int_equal(stats(w).oversized, 2);
    assert_int_equal(stats(w).datagrams_in, 2);

    /* Sending more than max_msg_size is refused, not truncated. */
    pl_target pt = sock_target(pfd, PL_TP_UDP, false);
    assert_int_not_equal(psend(w, &pt, b, 1001), PL_OK);
}

static void fill_garbage(char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = (char)rng();
        b[i] = ch == '\r' ? 'R' : ch; /* no CR: no end of headers, by construction */
    }
}

static void test_tcp_garbage_deadline(void **state)
{
    fx *f = *state;
    pl_net_config c = {.read_deadline_ms = 100};
    wnet *w = net_new(f, &c);
    pl_target lt = net_listen(w, "tcp:127.0.0.1:0");
    wpeer *p = tcp_client(f, &lt);
    size_t n = 10240;
    char *g = fx_alloc(f, n);
    fill_garbage(g, n);
    peer_write_ok(w, p, g, n);
    WAIT_UNTIL(w, 2000, peer_pump(p));
    if (!p->closed)
        fail_msg("10 KB of garbage kept the connection open (read_deadline_ms = 100)");
    assert_int_equal(stats(w).deadline_closed, 1);
    assert_int_equal(stats(w).connections, 0);
    assert_int_equal(w->r.n, 0);
}

static void test_tcp_garbage_over_limit(void **state)
{
    fx *f = *state;
    pl_net_config c = {.max_msg_size = 4096};
    wnet *w = net_new(f, &c);
    pl_target lt = net_listen(w, "tcp:127.0.0.1:0");
    wpeer *p = tcp_client(f, &lt);
    size_t n = 10240;
    char *g = fx_alloc(f, n);
    fill_garbage(g, n);
    peer_write(w, p, g, n);
    WAIT_UNTIL(w, 3000, peer_pump(p)); /* well before the 10 s default deadline */
    if (!p->closed)
        fail_msg("10 KB of garbage over max_msg_size 4096 kept the connection open");
    pl_net_stats s = stats(w);
    assert_int_equal(s.oversized, 1);
    assert_int_equal(s.framing_errors, 1);
    assert_int_equal(s.deadline_closed, 0);
    assert_int_equal(s.connections, 0);
    assert_int_equal(w->r.n, 0);
}

/* A message, then bytes that cannot be framed: the stream stops being
 * read, but an answer to the message sent after that (as a worker it was
 * handed to would send it) still goes out before the connection closes. */
static void test_tcp_answer_after_framing_error(void **state)
{
    fx *f = *state;
    wnet *w = net_new(f, NULL);
    pl_target lt = net_listen(w, "tcp:127.0.0.1:0");
    wpeer *p = tcp_client(f, &lt);
    size_t len;
    char *m = sip_msg(f, "late", 0, &len);
    static const char junk[] = "INVITE sip:x SIP/2.0\r\nContent-Length: -5\r\n\r\n";
    char *both = fx_alloc(f, len + sizeof(junk) - 1);
    memcpy(both, m, len);
    memcpy(both + len, junk, sizeof(junk) - 1);
    peer_write_ok(w, p, both, len + sizeof(junk) - 1);
    WAIT_UNTIL(w, 3000, stats(w).framing_errors == 1);
    assert_int_equal(w->r.n, 1);
    assert_false(p->closed);
    static const char resp[] = "SIP/2.0 200 OK\r\n"
                               "Via: SIP/2.0/TCP 127.0.0.1:5062;branch=z9hG4bK-late\r\n"
                               "From: <sip:alice@example.com>;tag=1\r\n"
                               "To: <sip:bob@example.com>;tag=2\r\n"
                               "Call-ID: late@wire.test\r\n"
                               "CSeq: 1 OPTIONS\r\n"
                               "Content-Length: 0\r\n\r\n";
    pl_sender *s = pl_net_sender(w->net);
    assert_int_equal(s->send(s, &w->r.msg[0].src, resp, sizeof(resp) - 1), PL_OK);
    WAIT_UNTIL(w, 3000, peer_has(p, sizeof(resp) - 1));
    assert_int_equal(p->in_len, sizeof(resp) - 1);
    WAIT_UNTIL(w, 3000, peer_pump(p));
    assert_true(p->closed);
    pl_net_stats st = stats(w);
    assert_int_equal(st.connections, 0);
    assert_int_equal(st.deadline_closed, 0);
    assert_int_equal(st.stream_messages_in, 1);
}

/* ==================================== 9. an application's own loop */

/*
 * The documented use: poll pl_net_fd() for reading, at most
 * pl_net_timeout_ms(), then pl_net_process(). A datagram already waiting
 * must make the fd readable, from the first poll on.
 */
static void test_external_loop_datagram(void **state)
{
    fx *f = *state;
    wnet *w = net_new(f, NULL);
    pl_target lt = net_listen(w, "udp:127.0.0.1:0");
    int fd = pl_net_fd(w->net);
    assert_true(fd >= 0);
    int t = pl_net_timeout_ms(w->net);
    assert_true(t >= -1);
    int pfd = udp_peer(f, AF_INET);
    assert_int_equal(sendto(pfd, "hello", 5, 0, (struct sockaddr *)&lt.addr, lt.len), 5);

    /* The application's loop, each poll bounded by the test at 100 ms. */
    int blocked_t = 0, polls = 0;
    bool would_block = false;
    for (int i = 0; i < 10 && w->r.n == 0; i++) {
        t = pl_net_timeout_ms(w->net);
        assert_true(t >= -1);
        int cap = t < 0 || t > 100 ? 100 : t;
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int pr = poll(&pf, 1, cap);
        polls++;
        if (pr == 0 && cap != t) { /* the application would still be waiting */
            would_block = true;
            blocked_t = t;
        }
        pl_net_process(w->net);
    }
    assert_int_equal(w->r.n, 1);
    check_rx(&w->r, 0, "hello", 5, PL_FRAMING_DGRAM);
    if (would_block)
        fail_msg("a datagram was waiting, pl_net_fd() was not readable and pl_net_timeout_ms() "
                 "was %d: an application following the contract would block (delivered "
                 "after %d bounded polls)",
                 blocked_t, polls);

    /* Idle now: the fd wakes the application when the next datagram comes. */
    for (int i = 0; i < 5; i++)
        pl_net_process(w->net);
    t = pl_net_timeout_ms(w->net);
    assert_true(t >= -1);
    assert_int_equal(sendto(pfd, "again", 5, 0, (struct sockaddr *)&lt.addr, lt.len), 5);
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    int pr = poll(&pf, 1, 500);
    if (pr != 1)
        fail_msg("a datagram came but pl_net_fd() did not become readable (poll = %d)", pr);
    pl_net_process(w->net);
    assert_int_equal(w->r.n, 2);
    check_rx(&w->r, 1, "again", 5, PL_FRAMING_DGRAM);
}

/* The wheel's timers show in pl_net_timeout_ms(): an idle close happens on time. */
static void test_external_loop_timers(void **state)
{
    fx *f = *state;
    pl_net_config c = {.idle_ms = 100};
    wnet *w = net_new(f, &c);
    pl_target lt = net_listen(w, "tcp:127.0.0.1:0");
    int fd = pl_net_fd(w->net);
    assert_true(fd >= 0);
    pl_net_process(w->net); /* let the loop register its sockets */
    uint64_t t0 = now_ms();
    wpeer *p = tcp_client(f, &lt);
    while (!peer_pump(p) && now_ms() - t0 < 2500) {
        int t = pl_net_timeout_ms(w->net);
        assert_true(t >= -1);
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        poll(&pf, 1, t < 0 || t > 1000 ? 1000 : t);
        pl_net_process(w->net);
    }
    uint64_t dt = now_ms() - t0;
    assert_true(p->closed);
    if (dt < 90 || dt > 800)
        fail_msg("idle_ms = 100 in an external poll loop: closed after %llu ms",
                 (unsigned long long)dt);
    assert_int_equal(stats(w).idle_closed, 1);
}

/* ==================================== 10. pl_net_post */

typedef struct post_ctx {
    pl_net *net;
    pthread_t loop_thread;
    int count;
    int wrong_thread;
    int rc;
} post_ctx;

static void posted(void *arg)
{
    post_ctx *c = arg;
    if (!pthread_equal(pthread_self(), c->loop_thread))
        c->wrong_thread++;
    c->count++;
}

static void *poster(void *arg)
{
    post_ctx *c = arg;
    c->rc = pl_net_post(c->net, posted, c);
    return NULL;
}

static void test_post_from_thread(void **state)
{
    fx *f = *state;
    wnet *w = net_new(f, NULL);
    post_ctx c = {.net = w->net, .loop_thread = pthread_self()};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, poster, &c), 0);
    WAIT_UNTIL(w, 1000, c.count >= 1);
    pthread_join(th, NULL);
    run_for(w, 20);
    assert_int_equal(c.rc, PL_OK);
    assert_int_equal(c.count, 1);
    assert_int_equal(c.wrong_thread, 0);
}

enum { POST_THREADS = 4, POST_EACH = 100 };

typedef struct post_item {
    struct post_many *pm;
    int thread, seq;
} post_item;

typedef struct post_many {
    pthread_t loop_thread;
    pl_net *net;
    post_item items[POST_THREADS][POST_EACH];
    int next[POST_THREADS];
    int total, out_of_order, wrong_thread, failed;
} post_many;

static void posted_item(void *arg)
{
    post_item *it = arg;
    post_many *pm = it->pm;
    if (!pthread_equal(pthread_self(), pm->loop_thread))
        pm->wrong_thread++;
    if (pm->next[it->thread] != it->seq)
        pm->out_of_order++;
    pm->next[it->thread] = it->seq + 1;
    pm->total++;
}

typedef struct poster_arg {
    post_many *pm;
    int thread;
} poster_arg;

static void *poster_many(void *arg)
{
    poster_arg *a = arg;
    for (int i = 0; i < POST_EACH; i++)
        if (pl_net_post(a->pm->net, posted_item, &a->pm->items[a->thread][i]) != PL_OK)
            __atomic_add_fetch(&a->pm->failed, 1, __ATOMIC_RELAXED);
    return NULL;
}

static void test_post_many_threads(void **state)
{
    fx *f = *state;
    wnet *w = net_new(f, NULL);
    post_many *pm = fx_alloc(f, sizeof(*pm));
    memset(pm, 0, sizeof(*pm));
    pm->loop_thread = pthread_self();
    pm->net = w->net;
    for (int t = 0; t < POST_THREADS; t++)
        for (int i = 0; i < POST_EACH; i++)
            pm->items[t][i] = (post_item){pm, t, i};
    pthread_t th[POST_THREADS];
    poster_arg args[POST_THREADS];
    for (int t = 0; t < POST_THREADS; t++) {
        args[t] = (poster_arg){pm, t};
        assert_int_equal(pthread_create(&th[t], NULL, poster_many, &args[t]), 0);
    }
    WAIT_UNTIL(w, 1500, pm->total >= POST_THREADS * POST_EACH);
    for (int t = 0; t < POST_THREADS; t++)
        pthread_join(th[t], NULL);
    run_for(w, 20);
    assert_int_equal(pm->failed, 0);
    assert_int_equal(pm->total, POST_THREADS * POST_EACH);
    assert_int_equal(pm->wrong_thread, 0);
    assert_int_equal(pm->out_of_order, 0); /* each thread's posts run in its order */
}

/* ==================================== 11. pl_net_free */

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own fd */
}

static void never_run(void *arg)
{
    (void)arg;
}

static void test_free_with_everything_open(void **state)
{
    fx *f = *state;
    int fds0 = count_fds();
    pl_net_config c = {0};
    wnet *w = net_new(f, &c);
    pl_target lu = net_listen(w, "udp:127.0.0.1:0");
    pl_target lt = net_listen(w, "tcp:127.0.0.1:0");
    if (have_v6) {
        net_listen(w, "udp:[::1]:0");
        net_listen(w, "tcp:[::1]:0");
    }
    size_t len;
    char *m = sip_msg(f, "free", 1000, &len);

    /* In: one connection with a whole message, one halfway through a message. */
    wpeer *in1 = tcp_client(f, &lt);
    peer_write_ok(w, in1, m, len);
    wpeer *in2 = tcp_client(f, &lt);
    peer_write_ok(w, in2, m, len / 2);
    WAIT_UNTIL(w, 1000, w->r.n >= 1 && stats(w).connections >= 2);
    assert_int_equal(stats(w).connections, 2);

    /* Out: one connected with data queued, one still connecting, one refused. */
    pl_target t1;
    int lfd = tcp_listener(f, AF_INET, &t1);
    (void)lfd;
    assert_int_equal(psend(w, &t1, m, len), PL_OK);
    run_for(w, 20);
    pl_target t2;
    (void)tcp_listener(f, AF_INET, &t2);
    assert_int_equal(psend(w, &t2, m, len), PL_OK); /* no loop run: still connecting */
    int cfd = fx_fd(f, socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_storage ss;
    socklen_t sl;
    loopback(AF_INET, &ss, &sl);
    assert_int_equal(bind(cfd, (struct sockaddr *)&ss, sl), 0);
    pl_target t3 = sock_target(cfd, PL_TP_TCP, false);
    assert_int_equal(psend(w, &t3, m, len), PL_OK);
    /* A datagram waiting, and a post that never gets to run. */
    int pfd = udp_peer(f, AF_INET);
    assert_int_equal(sendto(pfd, m, len, 0, (struct sockaddr *)&lu.addr, lu.len), (ssize_t)len);
    assert_int_equal(pl_net_post(w->net, never_run, NULL), PL_OK);

    pl_net_free(w->net);
    w->net = NULL;
    f->nnets--; /* freed here: not again in the teardown */
    rec_clear(&w->r);

    /* Every socket pl_net had is closed: the peers see EOF, the ports refuse. */
    assert_true(peer_pump(in1));
    assert_true(peer_pump(in2));
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(probe >= 0);
    int rc = connect(probe, (struct sockaddr *)&lt.addr, lt.len);
    int e = errno;
    close(probe);
    if (rc == 0 || e != ECONNREFUSED)
        fail_msg("the TCP listener is still there after pl_net_free");
    int fds1 = count_fds();
    int mine = 0;
    for (size_t i = 0; i < f->nfds; i++)
        mine += f->fds[i] >= 0;
    if (fds0 >= 0 && fds1 >= 0 && fds1 != fds0 + mine)
        fail_msg("pl_net_free left %d file descriptors open", fds1 - fds0 - mine);
}

/* ==================================== SIGPIPE */

/*
 * A peer that goes away while a response is on its way must not kill the
 * process: writing to a reset connection raises SIGPIPE unless the library
 * prevents it. Run in a child with the default SIGPIPE action.
 */
static void test_no_sigpipe(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        rec r;
        memset(&r, 0, sizeof(r));
        pl_net_config c = {.on_message = on_msg, .user = &r};
        pl_net *net = pl_net_new(&c);
        if (!net || pl_net_listen(net, "tcp:127.0.0.1:0") != PL_OK)
            _exit(2);
        pl_target lt;
        pl_net_listen_target(net, 0, &lt);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&lt.addr, lt.len) != 0)
            _exit(3);
        static const char m[] = "OPTIONS sip:b@example.com SIP/2.0\r\nContent-Length: 0\r\n\r\n";
        if (write(fd, m, sizeof(m) - 1) != (ssize_t)(sizeof(m) - 1))
            _exit(4);
        for (int i = 0; i < 1000 && r.n == 0; i++)
            uv_run(pl_net_loop(net), UV_RUN_NOWAIT);
        if (r.n != 1)
            _exit(5);
        pl_target src = r.msg[0].src;
        close(fd); /* gone before the answer */
        pl_sender *s = pl_net_sender(net);
        /* The first write draws a reset from the closed socket, the next ones EPIPE. */
        for (int i = 0; i < 5; i++)
            s->send(s, &src, m, sizeof(m) - 1);
        for (int i = 0; i < 10; i++)
            uv_run(pl_net_loop(net), UV_RUN_NOWAIT);
        _exit(0);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (WIFSIGNALED(st))
        fail_msg("the process was killed by signal %d (%s) writing to a closed peer", WTERMSIG(st),
                 strsignal(WTERMSIG(st)));
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* ==================================== main */

int main(void)
{
    /* The tests write to peers that close; keep SIGPIPE out of their way (see test_no_sigpipe). */
    signal(SIGPIPE, SIG_IGN);
    int s6 = socket(AF_INET6, SOCK_DGRAM, 0);
    if (s6 >= 0) {
        struct sockaddr_in6 a;
        memset(&a, 0, sizeof(a));
        a.sin6_family = AF_INET6;
        a.sin6_addr = in6addr_loopback;
        have_v6 = bind(s6, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(s6);
    }
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_udp_v4),
        T(test_udp_v6),
        T(test_tcp_v4_one_write),
        T(test_tcp_v6_one_write),
        T(test_tcp_v4_split_bytes),
        T(test_tcp_v6_split_bytes),
        T(test_tcp_v4_coalesced),
        T(test_tcp_v6_coalesced),
        T(test_tcp_crlf_between_messages),
        T(test_tcp_ping_pong),
        T(test_tcp_reply_same_connection),
        T(test_tcp_large_message),
        T(test_tcp_max_size_boundary),
        T(test_tcp_content_length_too_big),
        T(test_tcp_header_never_ends),
        T(test_tcp_no_content_length),
        T(test_tcp_send_v4),
        T(test_tcp_send_v6),
        T(test_tcp_send_closed_port),
        T(test_limit_per_ip),
        T(test_limit_total),
        T(test_idle_close),
        T(test_idle_reset_by_traffic),
        T(test_deadline_half_message),
        T(test_deadline_slow_sender),
        T(test_deadline_per_message),
        T(test_udp_garbage),
        T(test_udp_oversized),
        T(test_tcp_garbage_deadline),
        T(test_tcp_garbage_over_limit),
        T(test_tcp_answer_after_framing_error),
        T(test_external_loop_datagram),
        T(test_external_loop_timers),
        T(test_post_from_thread),
        T(test_post_many_threads),
        T(test_free_with_everything_open),
        T(test_no_sigpipe),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
