/*
 * resolver.c - A and AAAA lookups with c-ares, driven by the libuv loop.
 *
 * c-ares tells us which sockets it wants watched (ARES_OPT_SOCK_STATE_CB);
 * each gets a uv_poll_t, and one uv_timer keeps ares_timeout()'s deadline.
 * Numeric hosts skip c-ares but still answer through the loop (a uv_idle
 * turn), so a callback never runs inside pl_dns_resolve().
 */
#include <parley/dns.h>

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SOCKS 16

typedef struct dns_sock {
    ares_socket_t fd;
    uv_poll_t poll;
    bool used;    /* watching fd */
    bool closing; /* poll handle closing: the slot is not free yet */
    struct pl_dns *dns;
} dns_sock;

#define MAX_TARGETS 16

/* An answer held for the next loop turn. */
typedef struct pending {
    struct pending *next;
    pl_dns_cb cb;
    void *arg;
    int status;
    size_t n;
    pl_target targets[MAX_TARGETS];
} pending;

typedef struct query {
    pl_dns *dns;
    pl_dns_cb cb;
    void *arg;
    uint16_t port;
    pl_transport transport;
    char name[64];
} query;

struct pl_dns {
    uv_loop_t *loop;
    ares_channel channel;
    uv_timer_t timer;
    uv_idle_t idle;
    pending *ready; /* answers waiting for the next loop turn */
    dns_sock socks[MAX_SOCKS];
    bool freeing;
    bool in_resolve; /* inside pl_dns_resolve: answers wait for the loop */
    int closing;     /* own handles whose close callback has not run */
};

static void rearm(pl_dns *dns);

static void on_poll(uv_poll_t *h, int status, int events)
{
    dns_sock *s = h->data;
    ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;
    if (status < 0 || (events & UV_READABLE))
        rfd = s->fd;
    if (status < 0 || (events & UV_WRITABLE))
        wfd = s->fd;
    pl_dns *dns = s->dns;
    ares_process_fd(dns->channel, rfd, wfd);
    rearm(dns);
}

static void on_timer(uv_timer_t *t)
{
    pl_dns *dns = t->data;
    ares_process_fd(dns->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    rearm(dns);
}

static void rearm(pl_dns *dns)
{
    struct timeval tv, *tvp = ares_timeout(dns->channel, NULL, &tv);
    if (!tvp) {
        uv_timer_stop(&dns->timer);
        return;
    }
    uint64_t ms = (uint64_t)tvp->tv_sec * 1000u + (uint64_t)tvp->tv_usec / 1000u;
    uv_timer_start(&dns->timer, on_timer, ms ? ms : 1, 0);
}

static void on_poll_closed(uv_handle_t *h)
{
    ((dns_sock *)h->data)->closing = false;
}

static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    pl_dns *dns = data;
    dns_sock *s = NULL, *free_slot = NULL;
    for (int i = 0; i < MAX_SOCKS; i++) {
        if (dns->socks[i].used && dns->socks[i].fd == fd)
            s = &dns->socks[i];
        else if (!dns->socks[i].used && !dns->socks[i].closing && !free_slot)
            free_slot = &dns->socks[i];
    }
    if (!readable && !writable) {
        if (s) {
            uv_poll_stop(&s->poll);
            s->used = false;
            s->closing = true;
            uv_close((uv_handle_t *)&s->poll, on_poll_closed);
        }
        return;
    }
    if (!s) {
        if (!free_slot)
            return; /* c-ares then times the query out */
        s = free_slot;
        s->fd = fd;
        s->dns = dns;
        s->used = true;
        uv_poll_init_socket(dns->loop, &s->poll, fd);
        s->poll.data = s;
    }
    int ev = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);
    uv_poll_start(&s->poll, ev, on_poll);
}

static void on_idle(uv_idle_t *h)
{
    pl_dns *dns = h->data;
    uv_idle_stop(h);
    pending *list = dns->ready;
    dns->ready = NULL;
    /* In the order they were asked. */
    pending *rev = NULL;
    while (list) {
        pending *n = list->next;
        list->next = rev;
        rev = list;
        list = n;
    }
    while (rev) {
        pending *n = rev->next;
        rev->cb(rev->arg, rev->status, rev->n ? rev->targets : NULL, rev->n);
        free(rev);
        rev = n;
    }
}

pl_dns *pl_dns_new(uv_loop_t *loop)
{
    pl_dns *dns = calloc(1, sizeof(*dns));
    if (!dns)
        return NULL;
    dns->loop = loop;
    if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
        free(dns);
        return NULL;
    }
    struct ares_options opts;
    memset(&opts, 0, sizeof(opts));
    opts.sock_state_cb = sock_state;
    opts.sock_state_cb_data = dns;
    opts.timeout = 2000; /* ms per try, with ARES_OPT_TIMEOUTMS */
    opts.tries = 2;
    if (ares_init_options(&dns->channel, &opts,
                          ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) !=
        ARES_SUCCESS) {
        ares_library_cleanup();
        free(dns);
        return NULL;
    }
    uv_timer_init(loop, &dns->timer);
    dns->timer.data = dns;
    uv_idle_init(loop, &dns->idle);
    dns->idle.data = dns;
    return dns;
}

static void set_port(pl_target *t, uint16_t port)
{
    if (t->addr.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&t->addr)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)&t->addr)->sin_port = htons(port);
}

static int defer(pl_dns *dns, pl_dns_cb cb, void *arg, int status, const pl_target *t, size_t n)
{
    pending *p = malloc(sizeof(*p));
    if (!p)
        return PL_ENOMEM;
    p->cb = cb;
    p->arg = arg;
    p->status = status;
    p->n = n;
    if (n)
        memcpy(p->targets, t, n * sizeof(*t));
    p->next = dns->ready;
    dns->ready = p;
    uv_idle_start(&dns->idle, on_idle);
    return PL_OK;
}

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
    query *q = arg;
    (void)timeouts;
    pl_target targets[MAX_TARGETS];
    size_t n = 0;
    if (status == ARES_SUCCESS && res) {
        /* IPv4 first, then IPv6, each in the order the records came. */
        for (int pass = 0; pass < 2; pass++) {
            for (struct ares_addrinfo_node *a = res->nodes; a && n < MAX_TARGETS; a = a->ai_next) {
                if ((pass == 0) != (a->ai_family == AF_INET))
                    continue;
                pl_target *t = &targets[n++];
                memset(t, 0, sizeof(*t));
                t->transport = q->transport;
                memcpy(t->name, q->name, sizeof(t->name));
                memcpy(&t->addr, a->ai_addr, (size_t)a->ai_addrlen);
                t->len = (socklen_t)a->ai_addrlen;
                set_port(t, q->port);
            }
        }
    }
    if (res)
        ares_freeaddrinfo(res);
    int rc = n ? PL_OK : status == ARES_ENOMEM ? PL_ENOMEM : PL_ENOTFOUND;
    /* The hosts file answers at once, inside ares_getaddrinfo: hold it. */
    if (q->dns->in_resolve && defer(q->dns, q->cb, q->arg, rc, targets, n) == PL_OK) {
        free(q);
        return;
    }
    q->cb(q->arg, rc, n ? targets : NULL, n);
    free(q);
}

/* Fill t's address from a numeric host (brackets allowed); false for a name. */
static bool numeric_host(const char *host, uint16_t port, pl_transport transport, pl_target *t)
{
    char bare[256];
    size_t len = strlen(host);
    if (len == 0 || len >= sizeof(bare))
        return false;
    if (host[0] == '[' && host[len - 1] == ']') {
        memcpy(bare, host + 1, len - 2);
        bare[len - 2] = '\0';
    } else {
        memcpy(bare, host, len + 1);
    }
    memset(t, 0, sizeof(*t));
    t->transport = transport;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&t->addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&t->addr;
    if (inet_pton(AF_INET, bare, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        t->len = sizeof(*a4);
    } else if (inet_pton(AF_INET6, bare, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        t->len = sizeof(*a6);
    } else {
        return false;
    }
    set_port(t, port);
    return true;
}

int pl_dns_resolve(pl_dns *dns, const char *host, uint16_t port, pl_transport transport,
                   pl_dns_cb cb, void *arg)
{
    size_t len = host ? strlen(host) : 0;
    if (len == 0 || len >= 256)
        return PL_EINVAL;
    pl_target t;
    if (numeric_host(host, port, transport, &t))
        return defer(dns, cb, arg, PL_OK, &t, 1);
    char bare[256];
    if (host[0] == '[' && host[len - 1] == ']') {
        memcpy(bare, host + 1, len - 2);
        bare[len - 2] = '\0';
    } else {
        memcpy(bare, host, len + 1);
    }
    query *q = malloc(sizeof(*q));
    if (!q)
        return PL_ENOMEM;
    q->dns = dns;
    q->cb = cb;
    q->arg = arg;
    q->port = port;
    q->transport = transport;
    /* Kept for TLS (SNI and the certificate check) when it fits. */
    q->name[0] = '\0';
    if (strlen(bare) < sizeof(q->name))
        memcpy(q->name, bare, strlen(bare) + 1);
    struct ares_addrinfo_hints hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = transport == PL_TP_UDP ? SOCK_DGRAM : SOCK_STREAM;
    dns->in_resolve = true;
    ares_getaddrinfo(dns->channel, bare, NULL, &hints, on_addrinfo, q);
    dns->in_resolve = false;
    rearm(dns);
    return PL_OK;
}

int pl_dns_uri_target(const pl_uri *uri, pl_transport forced, pl_target *t, char *host, size_t cap,
                      uint16_t *port)
{
    if (uri->scheme != PL_URI_SIP && uri->scheme != PL_URI_SIPS)
        return PL_EINVAL;
    pl_transport tp = PL_TP_UDP;
    if (uri->transport.len) {
        if (!pl_transport_from_str(uri->transport, &tp))
            return PL_EINVAL;
    } else if (uri->scheme == PL_URI_SIPS) {
        tp = PL_TP_TLS;
    } else if (forced != PL_TP_COUNT_) {
        tp = forced;
    }
    if (uri->scheme == PL_URI_SIPS && tp != PL_TP_TLS && tp != PL_TP_WSS)
        return PL_EINVAL; /* sips: must be secure all the way (26.2) */
    pl_str h = uri->maddr.len ? uri->maddr : uri->host;
    if (h.len == 0 || h.len >= cap)
        return PL_EINVAL;
    memcpy(host, h.p, h.len);
    host[h.len] = '\0';
    *port = uri->port ? uri->port : (tp == PL_TP_TLS || tp == PL_TP_WSS) ? 5061 : 5060;
    memset(t, 0, sizeof(*t));
    t->transport = tp;
    return numeric_host(host, *port, tp, t) ? PL_OK : PL_ENOTFOUND;
}

int pl_dns_resolve_uri(pl_dns *dns, const pl_uri *uri, pl_transport forced, pl_dns_cb cb, void *arg)
{
    pl_target t;
    char name[256];
    uint16_t port;
    int rc = pl_dns_uri_target(uri, forced, &t, name, sizeof(name), &port);
    if (rc == PL_OK)
        return defer(dns, cb, arg, PL_OK, &t, 1);
    if (rc != PL_ENOTFOUND)
        return rc;
    return pl_dns_resolve(dns, name, port, t.transport, cb, arg);
}

static void on_closed(uv_handle_t *h)
{
    ((pl_dns *)h->data)->closing--;
}

static bool socks_closing(const pl_dns *dns)
{
    for (int i = 0; i < MAX_SOCKS; i++)
        if (dns->socks[i].closing)
            return true;
    return false;
}

void pl_dns_free(pl_dns *dns)
{
    if (!dns)
        return;
    dns->freeing = true;
    ares_cancel(dns->channel); /* pending callbacks run with ARES_ECANCELLED */
    ares_destroy(dns->channel);
    ares_library_cleanup();
    while (dns->ready) {
        pending *n = dns->ready->next;
        dns->ready->cb(dns->ready->arg, PL_ENOTFOUND, NULL, 0); /* cancelled */
        free(dns->ready);
        dns->ready = n;
    }
    for (int i = 0; i < MAX_SOCKS; i++) {
        if (dns->socks[i].used) {
            dns->socks[i].used = false;
            dns->socks[i].closing = true;
            uv_close((uv_handle_t *)&dns->socks[i].poll, on_poll_closed);
        }
    }
    dns->timer.data = dns;
    dns->idle.data = dns;
    dns->closing = 2;
    uv_close((uv_handle_t *)&dns->timer, on_closed);
    uv_close((uv_handle_t *)&dns->idle, on_closed);
    /* Only until our own handles are closed: the loop may be shared (a
     * pl_net's listeners keep it alive for ever). */
    while (dns->closing > 0 || socks_closing(dns))
        uv_run(dns->loop, UV_RUN_NOWAIT);
    free(dns);
}
