/*
 * loop.c - the pl_net object: the libuv loop (owned or borrowed), the timing
 * wheel driven by one uv_timer, the thread-safe post queue, UDP listeners
 * and the sender that routes each message to UDP or to a stream connection.
 *
 * The wheel's clock is the loop's (uv_now, milliseconds). Every libuv
 * callback that may start timers ends by re-arming the uv_timer for the
 * wheel's next deadline, so an idle process wakes for nothing.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net_int.h"

#define UDP_BATCH (16u * 65536u)

void pl__net_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("parley: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void on_wheel_timer(uv_timer_t *t)
{
    pl__net_tick(t->data);
}

void pl__net_rearm(pl_net *net)
{
    uint64_t next = pl_wheel_next_ms(&net->wheel);
    if (next == UINT64_MAX) {
        uv_timer_stop(&net->wheel_timer);
        return;
    }
    /* next counts from the wheel's clock, which may lag the loop's: aim at
     * the absolute deadline, so that re-arming again never pushes it back. */
    uint64_t at = net->wheel.now + next, now = uv_now(net->loop);
    uv_timer_start(&net->wheel_timer, on_wheel_timer, at > now ? at - now : 0, 0);
}

void pl__net_tick(pl_net *net)
{
    uv_update_time(net->loop);
    pl_wheel_advance(&net->wheel, uv_now(net->loop));
    pl__net_rearm(net);
}

/* Code outside our callbacks (an application's timer, a posted function, a
 * call before pl_net_run) may arm wheel timers; re-arm before every block
 * so that none waits for an unrelated event. */
static void on_prepare(uv_prepare_t *p)
{
    pl__net_rearm(p->data);
}

static void on_async(uv_async_t *a)
{
    pl_net *net = a->data;
    pthread_mutex_lock(&net->post_lock);
    net_post *list = net->posts;
    net->posts = NULL;
    pthread_mutex_unlock(&net->post_lock);
    /* Run in the order they were posted. */
    net_post *rev = NULL;
    while (list) {
        net_post *n = list->next;
        list->next = rev;
        rev = list;
        list = n;
    }
    while (rev) {
        net_post *n = rev->next;
        rev->fn(rev->arg);
        free(rev);
        rev = n;
    }
    pl__net_tick(net);
}

int pl_net_post(pl_net *net, void (*fn)(void *arg), void *arg)
{
    net_post *p = malloc(sizeof(*p));
    if (!p)
        return PL_ENOMEM;
    p->fn = fn;
    p->arg = arg;
    pthread_mutex_lock(&net->post_lock);
    p->next = net->posts;
    net->posts = p;
    pthread_mutex_unlock(&net->post_lock);
    uv_async_send(&net->async);
    return PL_OK;
}

static int net_send(pl_sender *s, const pl_target *dst, const char *buf, size_t len)
{
    pl_net *net = (pl_net *)((char *)s - offsetof(pl_net, sender));
    if (len > net->cfg.max_msg_size) {
        net->stats.send_errors++;
        return PL_ELIMIT;
    }
    if (dst->transport != PL_TP_UDP)
        return pl__net_tcp_send(net, dst, buf, len);
    for (size_t i = 0; i < net->nlisteners; i++) {
        net_listener *l = &net->listeners[i];
        if (l->transport != PL_TP_UDP || l->local.addr.ss_family != dst->addr.ss_family)
            continue;
        uv_buf_t b = uv_buf_init((char *)(uintptr_t)buf, (unsigned)len);
        int rc = uv_udp_try_send(&l->h.udp, &b, 1, (const struct sockaddr *)&dst->addr);
        if (rc >= 0) {
            net->stats.datagrams_out++;
            return PL_OK;
        }
        net->stats.send_errors++;
        return PL_EINVAL;
    }
    net->stats.send_errors++;
    return PL_EINVAL; /* no UDP socket of that family */
}

pl_net *pl_net_new(const pl_net_config *cfg)
{
    pl_net *net = calloc(1, sizeof(*net));
    if (!net)
        return NULL;
    net->cfg = *cfg;
    if (!net->cfg.max_msg_size)
        net->cfg.max_msg_size = PL_MSG_DEFAULT_MAX_SIZE;
    if (!net->cfg.max_connections)
        net->cfg.max_connections = 2048;
    if (!net->cfg.max_connections_per_ip)
        net->cfg.max_connections_per_ip = 256;
    if (!net->cfg.idle_ms)
        net->cfg.idle_ms = 120000;
    if (!net->cfg.read_deadline_ms)
        net->cfg.read_deadline_ms = 10000;
    net->udp_buf = malloc(UDP_BATCH);
    if (!net->udp_buf) {
        free(net);
        return NULL;
    }
    if (cfg->loop) {
        net->loop = cfg->loop;
    } else {
        if (uv_loop_init(&net->own_loop) != 0) {
            free(net->udp_buf);
            free(net);
            return NULL;
        }
        net->loop = &net->own_loop;
        net->owns_loop = true;
    }
    pthread_mutex_init(&net->post_lock, NULL);
    uv_update_time(net->loop);
    pl_wheel_init(&net->wheel, uv_now(net->loop));
    uv_timer_init(net->loop, &net->wheel_timer);
    net->wheel_timer.data = net;
    uv_prepare_init(net->loop, &net->prepare);
    net->prepare.data = net;
    uv_prepare_start(&net->prepare, on_prepare);
    uv_unref((uv_handle_t *)&net->prepare);
    uv_async_init(net->loop, &net->async, on_async);
    net->async.data = net;
    net->sender.send = net_send;
    /* A write to a peer that has gone raises SIGPIPE, which would kill the
     * process: ignore it unless the application chose a disposition. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL &&
        !(sa.sa_flags & SA_SIGINFO))
        signal(SIGPIPE, SIG_IGN);
    if (pl__net_tls_init(net) != PL_OK) {
        pl__net_log("TLS set-up failed: tls listeners and targets are unavailable");
        pl__net_tls_free(net);
    }
    return net;
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

void pl_net_free(pl_net *net)
{
    if (!net)
        return;
    pl__net_tcp_close_all(net);
    for (size_t i = 0; i < net->nlisteners; i++)
        uv_close(&net->listeners[i].h.handle, on_closed);
    uv_close((uv_handle_t *)&net->wheel_timer, on_closed);
    uv_close((uv_handle_t *)&net->prepare, on_closed);
    uv_close((uv_handle_t *)&net->async, on_closed);
    /* Let every close callback run. */
    uv_run(net->loop, UV_RUN_NOWAIT);
    while (uv_run(net->loop, UV_RUN_NOWAIT))
        ;
    if (net->owns_loop)
        uv_loop_close(net->loop);
    pthread_mutex_destroy(&net->post_lock);
    while (net->posts) {
        net_post *n = net->posts->next;
        free(net->posts);
        net->posts = n;
    }
    pl_wheel_clear(&net->wheel);
    pl__net_tls_free(net);
    free(net->udp_buf);
    free(net);
}

/* ---- UDP */

static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    pl_net *net = ((net_listener *)h->data)->net;
    (void)suggested;
    *buf = uv_buf_init(net->udp_buf, UDP_BATCH);
}

static void udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                     unsigned flags)
{
    net_listener *l = h->data;
    pl_net *net = l->net;
    (void)buf;
    if (nread <= 0 || !addr)
        return; /* nothing, or the end of a recvmmsg batch */
    if ((flags & UV_UDP_PARTIAL) || (size_t)nread > net->cfg.max_msg_size) {
        net->stats.oversized++;
        if (!net->size_logged) {
            pl__net_log("UDP datagram over %zu bytes dropped (logged once)", net->cfg.max_msg_size);
            net->size_logged = true;
        }
        return;
    }
    net->stats.datagrams_in++;
    pl_target src;
    memset(&src, 0, sizeof(src));
    src.transport = PL_TP_UDP;
    src.len =
        addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    memcpy(&src.addr, addr, src.len);
    uv_update_time(net->loop);
    pl_wheel_advance(&net->wheel, uv_now(net->loop));
    net->cfg.on_message(net, buf->base, (size_t)nread, &src, PL_FRAMING_DGRAM, net->cfg.user);
    pl__net_rearm(net);
}

/*
 * libuv 1.44 (Debian 12) has no UV_UDP_REUSEPORT, and uv_tcp_bind sets only
 * SO_REUSEADDR: the socket is made and bound here, then handed to libuv
 * with uv_udp_open or uv_tcp_open.
 */
int pl__net_bind_reuseport(const pl_target *local, int type, uv_os_sock_t *fd)
{
    int s = socket(local->addr.ss_family, type | SOCK_CLOEXEC, 0);
    if (s < 0)
        return uv_translate_sys_error(errno);
    int on = 1;
    /* SO_REUSEADDR too for a stream listener: a restart must not wait for
     * the last run's connections in TIME_WAIT (what uv_tcp_bind does). */
    if (setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0 ||
        (type == SOCK_STREAM && setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0) ||
        bind(s, (const struct sockaddr *)&local->addr, local->len) != 0) {
        int e = errno;
        close(s);
        return uv_translate_sys_error(e);
    }
    *fd = s;
    return 0;
}

static int udp_listen(pl_net *net, net_listener *l)
{
    /* With a family, uv_udp_init_ex makes a socket; uv_udp_open wants none. */
    unsigned family = net->cfg.reuseport ? AF_UNSPEC : l->local.addr.ss_family;
    int rc = uv_udp_init_ex(net->loop, &l->h.udp, family | UV_UDP_RECVMMSG);
    if (rc != 0)
        return rc;
    l->h.udp.data = l;
    if (net->cfg.reuseport) {
        uv_os_sock_t fd;
        rc = pl__net_bind_reuseport(&l->local, SOCK_DGRAM, &fd);
        if (rc == 0 && (rc = uv_udp_open(&l->h.udp, fd)) != 0)
            close(fd);
    } else {
        rc = uv_udp_bind(&l->h.udp, (const struct sockaddr *)&l->local.addr, 0);
    }
    if (rc == 0)
        rc = uv_udp_recv_start(&l->h.udp, udp_alloc, udp_recv);
    if (rc == 0) {
        int n = (int)sizeof(l->local.addr);
        uv_udp_getsockname(&l->h.udp, (struct sockaddr *)&l->local.addr, &n);
        l->local.len = (socklen_t)n;
    }
    return rc;
}

int pl_net_listen(pl_net *net, const char *addr)
{
    if (net->nlisteners == NET_MAX_LISTENERS)
        return PL_ELIMIT;
    net_listener *l = &net->listeners[net->nlisteners];
    memset(l, 0, sizeof(*l));
    l->net = net;
    /* Port 0 asks the kernel for one: parse with a placeholder, then clear it. */
    char buf[128];
    size_t n = strlen(addr);
    bool any_port = n > 2 && n < sizeof(buf) && strcmp(addr + n - 2, ":0") == 0;
    if (any_port) {
        memcpy(buf, addr, n - 1);
        buf[n - 1] = '1';
        buf[n] = '\0';
        addr = buf;
    }
    if (pl_target_parse(&l->local, addr) != PL_OK)
        return PL_EINVAL;
    if (any_port) {
        if (l->local.addr.ss_family == AF_INET6)
            ((struct sockaddr_in6 *)&l->local.addr)->sin6_port = 0;
        else
            ((struct sockaddr_in *)&l->local.addr)->sin_port = 0;
    }
    l->transport = l->local.transport;
    int rc;
    if (l->transport == PL_TP_UDP)
        rc = udp_listen(net, l);
    else if (l->transport == PL_TP_TCP)
        rc = pl__net_tcp_listen(net, l);
    else if (l->transport == PL_TP_TLS && net->tls_server)
        rc = pl__net_tcp_listen(net, l);
    else
        return PL_EINVAL; /* tls without a certificate; WS: not yet */
    if (rc != 0) {
        uv_close(&l->h.handle, on_closed);
        uv_run(net->loop, UV_RUN_NOWAIT);
        return rc;
    }
    net->nlisteners++;
    return PL_OK;
}

int pl_net_listen_target(const pl_net *net, size_t index, pl_target *out)
{
    if (index >= net->nlisteners)
        return PL_ENOTFOUND;
    *out = net->listeners[index].local;
    return PL_OK;
}

bool pl_net_connected(const pl_net *net, const pl_target *peer)
{
    for (const net_conn *c = net->conns; c; c = c->next)
        if (!c->closing && pl_target_eq(&c->peer, peer))
            return true;
    return false;
}

pl_sender *pl_net_sender(pl_net *net)
{
    return &net->sender;
}

pl_wheel *pl_net_wheel(pl_net *net)
{
    return &net->wheel;
}

uv_loop_t *pl_net_loop(pl_net *net)
{
    return net->loop;
}

void pl_net_get_stats(const pl_net *net, pl_net_stats *out)
{
    *out = net->stats;
    out->connections = net->nconns;
}

int pl_net_run(pl_net *net)
{
    pl__net_rearm(net);
    return uv_run(net->loop, UV_RUN_DEFAULT);
}

void pl_net_stop(pl_net *net)
{
    uv_stop(net->loop);
}

int pl_net_fd(const pl_net *net)
{
    return uv_backend_fd(net->loop);
}

int pl_net_timeout_ms(const pl_net *net)
{
    /* The wheel may hold a deadline armed since the last process call. */
    int t = uv_backend_timeout(net->loop);
    uint64_t w = pl_wheel_next_ms(&net->wheel);
    if (w != UINT64_MAX) {
        uint64_t at = net->wheel.now + w, now = uv_now(net->loop);
        w = at > now ? at - now : 0;
        if (t < 0 || w < (uint64_t)t)
            t = w > INT32_MAX ? INT32_MAX : (int)w;
    }
    return t;
}

void pl_net_process(pl_net *net)
{
    uv_run(net->loop, UV_RUN_NOWAIT);
    pl__net_tick(net);
}
