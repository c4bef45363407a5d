/*
 * test_net_workers.c - what parleyd's workers need from the transports:
 * several pl_net listening on one address with SO_REUSEPORT (UDP and
 * TCP), datagrams from many sources spread over them, a datagram sent
 * from any of them leaving from the shared address, a port taken by a
 * socket without SO_REUSEPORT refused; and the connection events
 * (on_connection: accepted, connected out, closed by the peer, closed by
 * pl_net_free) with pl_net_connected agreeing with them.
 *
 * Two pl_net run on one thread here: a wait steps both loops without
 * blocking until a condition holds or a wall-clock bound passes.
 */
#include "testutil.h"

#include <parley/transport.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS 32

typedef struct conn_event {
    pl_target peer;
    bool open;
} conn_event;

typedef struct side {
    pl_net *net;
    size_t messages;
    pl_target last_src;
    conn_event ev[MAX_EVENTS];
    size_t nev;
} side;

static void on_watchdog(int sig)
{
    static const char msg[] = "test_net_workers: a test ran over 10 s\n";
    (void)sig;
    ssize_t n = write(2, msg, sizeof(msg) - 1);
    (void)n;
    _exit(1);
}

static int setup(void **state)
{
    (void)state;
    signal(SIGALRM, on_watchdog);
    alarm(10);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    alarm(0);
    return 0;
}

static void on_msg(pl_net *net, const char *buf, size_t len, const pl_target *src,
                   pl_framing framing, void *user)
{
    side *s = user;
    (void)net;
    (void)buf;
    (void)len;
    (void)framing;
    s->messages++;
    s->last_src = *src;
}

static void on_conn(pl_net *net, const pl_target *peer, bool open, void *user)
{
    side *s = user;
    (void)net;
    if (s->nev < MAX_EVENTS)
        s->ev[s->nev] = (conn_event){*peer, open};
    s->nev++;
}

static void side_new(side *s, bool reuseport)
{
    memset(s, 0, sizeof(*s));
    pl_net_config c;
    memset(&c, 0, sizeof(c));
    c.on_message = on_msg;
    c.on_connection = on_conn;
    c.reuseport = reuseport;
    c.user = s;
    s->net = pl_net_new(&c);
    assert_non_null(s->net);
}

static pl_target listen_ok(side *s, const char *addr, size_t index)
{
    int rc = pl_net_listen(s->net, addr);
    if (rc != PL_OK)
        fail_msg("pl_net_listen(\"%s\") = %d", addr, rc);
    pl_target t;
    assert_int_equal(pl_net_listen_target(s->net, index, &t), PL_OK);
    return t;
}

/* One step of each loop (b may be NULL), without blocking. */
static void step(side *a, side *b)
{
    uv_run(pl_net_loop(a->net), UV_RUN_NOWAIT);
    if (b)
        uv_run(pl_net_loop(b->net), UV_RUN_NOWAIT);
    poll(NULL, 0, 1);
}

/* Step both loops until cond holds or 3 s have passed. */
#define WAIT_UNTIL(a, b, cond)                                                                     \
    do {                                                                                           \
        uint64_t end_ = uv_hrtime() + 3000000000u;                                                 \
        while (!(cond) && uv_hrtime() < end_)                                                      \
            step((a), (b));                                                                        \
    } while (0)

static const char OPTIONS[] = "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK1\r\n"
                              "Content-Length: 0\r\n\r\n";

static int udp_peer(struct sockaddr_in *me)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t n = sizeof(*me);
    getsockname(fd, (struct sockaddr *)me, &n);
    return fd;
}

/* Two pl_net on one UDP and TCP port: both bind, datagrams from 32 source
 * ports reach both (the kernel hashes the source), and a datagram the second
 * sends comes from the port they share. */
static void test_reuseport_shared_port(void **state)
{
    (void)state;
    side a, b;
    side_new(&a, true);
    side_new(&b, true);
    pl_target ta = listen_ok(&a, "udp:127.0.0.1:0", 0);
    uint16_t port = pl_target_port(&ta);
    char addr[64];
    snprintf(addr, sizeof(addr), "udp:127.0.0.1:%u", port);
    pl_target tb = listen_ok(&b, addr, 0);
    assert_true(pl_target_eq(&ta, &tb));
    snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%u", port);
    listen_ok(&a, addr, 1);
    listen_ok(&b, addr, 1);

    int fds[32];
    for (size_t i = 0; i < 32; i++) {
        struct sockaddr_in me;
        fds[i] = udp_peer(&me);
        sendto(fds[i], OPTIONS, sizeof(OPTIONS) - 1, 0, (struct sockaddr *)&ta.addr, ta.len);
    }
    WAIT_UNTIL(&a, &b, a.messages + b.messages == 32);
    assert_int_equal(a.messages + b.messages, 32);
    assert_true(a.messages > 0);
    assert_true(b.messages > 0);

    /* A reply from b's sender, to a source a received from. */
    struct sockaddr_in me;
    int peer = udp_peer(&me);
    pl_target dst;
    memset(&dst, 0, sizeof(dst));
    dst.transport = PL_TP_UDP;
    dst.len = sizeof(me);
    memcpy(&dst.addr, &me, sizeof(me));
    pl_sender *s = pl_net_sender(b.net);
    assert_int_equal(s->send(s, &dst, OPTIONS, sizeof(OPTIONS) - 1), PL_OK);
    struct pollfd p = {.fd = peer, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 3000), 1);
    char buf[512];
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    ssize_t n = recvfrom(peer, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
    assert_int_equal(n, (ssize_t)sizeof(OPTIONS) - 1);
    assert_int_equal(ntohs(from.sin_port), port);

    close(peer);
    for (size_t i = 0; i < 32; i++)
        close(fds[i]);
    pl_net_free(a.net);
    pl_net_free(b.net);
}

/* Without SO_REUSEPORT on both sides the second bind fails: a port held by
 * another program is refused, as is one held by a pl_net without the flag. */
static void test_reuseport_port_in_use(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t n = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &n);
    char addr[64];
    snprintf(addr, sizeof(addr), "udp:127.0.0.1:%u", ntohs(a.sin_port));
    side s, plain;
    side_new(&s, true);
    assert_int_equal(pl_net_listen(s.net, addr), UV_EADDRINUSE);
    close(fd);

    side_new(&plain, false);
    pl_target t = listen_ok(&plain, "tcp:127.0.0.1:0", 0);
    snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%u", pl_target_port(&t));
    assert_int_equal(pl_net_listen(s.net, addr), UV_EADDRINUSE);
    pl_net_free(plain.net);
    pl_net_free(s.net);
}

static pl_target fd_target(int fd, bool remote)
{
    pl_target t;
    memset(&t, 0, sizeof(t));
    t.transport = PL_TP_TCP;
    socklen_t n = sizeof(t.addr);
    if (remote)
        getpeername(fd, (struct sockaddr *)&t.addr, &n);
    else
        getsockname(fd, (struct sockaddr *)&t.addr, &n);
    t.len = n;
    return t;
}

/* An accepted connection: open with the client's address, connected; the
 * client closes it: closed, no longer connected. */
static void test_connection_events_accepted(void **state)
{
    (void)state;
    side s;
    side_new(&s, false);
    pl_target t = listen_ok(&s, "tcp:127.0.0.1:0", 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(c, (struct sockaddr *)&t.addr, t.len), 0);
    pl_target me = fd_target(c, false);
    WAIT_UNTIL(&s, NULL, s.nev == 1);
    assert_int_equal(s.nev, 1);
    assert_true(s.ev[0].open);
    assert_true(pl_target_eq(&s.ev[0].peer, &me));
    assert_true(pl_net_connected(s.net, &me));
    /* The same address over another transport is another connection. */
    pl_target other = me;
    other.transport = PL_TP_TLS;
    assert_false(pl_net_connected(s.net, &other));

    close(c);
    WAIT_UNTIL(&s, NULL, s.nev == 2);
    assert_int_equal(s.nev, 2);
    assert_false(s.ev[1].open);
    assert_true(pl_target_eq(&s.ev[1].peer, &me));
    assert_false(pl_net_connected(s.net, &me));
    pl_net_free(s.net);
    assert_int_equal(s.nev, 2); /* nothing more to close */
}

/* A connection opened by a send: open at once (before it is up), and
 * closed by pl_net_free; a refused one: open, then closed. */
static void test_connection_events_outbound(void **state)
{
    (void)state;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(l, 4), 0);
    pl_target dst = fd_target(l, false);

    side s;
    side_new(&s, false);
    assert_false(pl_net_connected(s.net, &dst));
    pl_sender *snd = pl_net_sender(s.net);
    assert_int_equal(snd->send(snd, &dst, OPTIONS, sizeof(OPTIONS) - 1), PL_OK);
    assert_int_equal(s.nev, 1);
    assert_true(s.ev[0].open);
    assert_true(pl_target_eq(&s.ev[0].peer, &dst));
    assert_true(pl_net_connected(s.net, &dst));
    int c = accept(l, NULL, NULL);
    assert_true(c >= 0);
    pl_net_free(s.net);
    assert_int_equal(s.nev, 2);
    assert_false(s.ev[1].open);
    assert_true(pl_target_eq(&s.ev[1].peer, &dst));
    close(c);

    /* Refused: the listening socket is gone. */
    close(l);
    side_new(&s, false);
    snd = pl_net_sender(s.net);
    snd->send(snd, &dst, OPTIONS, sizeof(OPTIONS) - 1);
    WAIT_UNTIL(&s, NULL, s.nev == 2);
    assert_int_equal(s.nev, 2);
    assert_true(s.ev[0].open);
    assert_false(s.ev[1].open);
    assert_false(pl_net_connected(s.net, &dst));
    pl_net_free(s.net);
    assert_int_equal(s.nev, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reuseport_shared_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reuseport_port_in_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_events_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_events_outbound, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
