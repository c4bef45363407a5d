/*
 * tcp.c - stream connections: listening, accepting within the caps,
 * connecting on demand, framing what arrives with the message layer's
 * framer (RFC 3261 18.3), answering keep-alive pings (RFC 5626 3.5.1), and
 * closing connections that idle too long or take too long over a message.
 *
 * One connection per remote address and transport is reused for every
 * message to it (RFC 3261 18): the sender looks the peer up first.
 */
#include <netinet/in.h>
#include <openssl/x509_vfy.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net_int.h"

static void conn_close(net_conn *c);

/* Tell the application a connection is up (once), for its registry. */
static void conn_announce(net_conn *c)
{
    pl_net *net = c->net;
    c->announced = true;
    if (net->cfg.on_connection)
        net->cfg.on_connection(net, &c->peer, true, net->cfg.user);
}

static pl_target peer_of(uv_tcp_t *t)
{
    pl_target p;
    memset(&p, 0, sizeof(p));
    p.transport = PL_TP_TCP;
    int n = (int)sizeof(p.addr);
    if (uv_tcp_getpeername(t, (struct sockaddr *)&p.addr, &n) == 0)
        p.len = (socklen_t)n;
    return p;
}

static bool same_ip(const pl_target *a, const pl_target *b)
{
    pl_target x = *a, y = *b;
    x.transport = y.transport = PL_TP_TCP;
    if (x.addr.ss_family == AF_INET6) {
        ((struct sockaddr_in6 *)&x.addr)->sin6_port = 0;
        ((struct sockaddr_in6 *)&y.addr)->sin6_port = 0;
    } else {
        ((struct sockaddr_in *)&x.addr)->sin_port = 0;
        ((struct sockaddr_in *)&y.addr)->sin_port = 0;
    }
    return pl_target_eq(&x, &y);
}

static void on_idle(pl_timer *t, void *arg)
{
    net_conn *c = arg;
    (void)t;
    c->net->stats.idle_closed++;
    conn_close(c);
}

static void on_deadline(pl_timer *t, void *arg)
{
    net_conn *c = arg;
    (void)t;
    if (!c->draining)
        c->net->stats.deadline_closed++;
    conn_close(c);
}

/*
 * Bytes a stream cannot be framed by end it (RFC 3261 18.3 leaves no way
 * to find the next message), but the messages before them may still be
 * being answered, here or by a worker they were handed to: stop reading,
 * keep the connection for sends a little longer, then close it.
 */
#define FRAMING_GRACE_MS 1000

static void conn_drain(net_conn *c)
{
    pl_net *net = c->net;
    c->draining = true;
    uv_read_stop((uv_stream_t *)&c->tcp);
    pl_timer_stop(&net->wheel, &c->t_idle);
    pl_timer_start(&net->wheel, &c->t_deadline, FRAMING_GRACE_MS);
}

static net_conn *conn_new(pl_net *net)
{
    net_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->net = net;
    uv_tcp_init(net->loop, &c->tcp);
    c->tcp.data = c;
    pl_framer_init(&c->framer, &(pl_msg_limits){.max_msg_size = net->cfg.max_msg_size});
    pl_timer_init(&c->t_idle, on_idle, c);
    pl_timer_init(&c->t_deadline, on_deadline, c);
    c->next = net->conns;
    if (net->conns)
        net->conns->prev = c;
    net->conns = c;
    net->nconns++;
    return c;
}

static void free_writes(net_write *w)
{
    while (w) {
        net_write *n = w->next;
        free(w);
        w = n;
    }
}

static void conn_free_cb(uv_handle_t *h)
{
    net_conn *c = h->data;
    free_writes(c->pending);
    free_writes(c->tls_pending);
    SSL_free(c->ssl); /* and its BIOs */
    free(c->buf);
    free(c);
}

static void conn_close(net_conn *c)
{
    if (c->closing)
        return;
    pl_net *net = c->net;
    c->closing = true;
    pl_timer_stop(&net->wheel, &c->t_idle);
    pl_timer_stop(&net->wheel, &c->t_deadline);
    if (c->prev)
        c->prev->next = c->next;
    else
        net->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    net->nconns--;
    if (c->announced && net->cfg.on_connection)
        net->cfg.on_connection(net, &c->peer, false, net->cfg.user);
    uv_close((uv_handle_t *)&c->tcp, conn_free_cb);
}

void pl__net_tcp_close_all(pl_net *net)
{
    while (net->conns)
        conn_close(net->conns);
}

static void on_written(uv_write_t *req, int status)
{
    net_write *w = req->data;
    (void)status;
    free(w);
}

static net_write *write_new(const char *buf, size_t len)
{
    net_write *w = malloc(sizeof(*w) + len);
    if (w) {
        memcpy(w->data, buf, len);
        w->len = len;
        w->next = NULL;
    }
    return w;
}

static void append(net_write **list, net_write *w)
{
    while (*list)
        list = &(*list)->next;
    *list = w;
}

/* Bytes onto the socket (ciphertext for TLS). */
static int raw_write(net_conn *c, const char *buf, size_t len)
{
    net_write *w = malloc(sizeof(*w) + len);
    if (!w)
        return PL_ENOMEM;
    memcpy(w->data, buf, len);
    w->len = len;
    w->req.data = w;
    w->next = NULL;
    if (c->connecting) {
        net_write **pp = &c->pending;
        while (*pp)
            pp = &(*pp)->next;
        *pp = w;
        return PL_OK;
    }
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (rc != 0) {
        free(w);
        c->net->stats.send_errors++;
        return PL_EINVAL;
    }
    return PL_OK;
}

/* What the TLS engine has to send, onto the socket. */
static int flush_tls(net_conn *c)
{
    char out[16384];
    int n;
    while ((n = BIO_read(c->wbio, out, sizeof(out))) > 0) {
        if (raw_write(c, out, (size_t)n) != PL_OK)
            return PL_EINVAL;
    }
    return PL_OK;
}

/* Plaintext from the layers above: encrypted for TLS (held until the
 * handshake is done), as it is otherwise. */
static int conn_write(net_conn *c, const char *buf, size_t len)
{
    if (!c->ssl)
        return raw_write(c, buf, len);
    if (!c->handshaked) {
        net_write *w = write_new(buf, len);
        if (!w)
            return PL_ENOMEM;
        append(&c->tls_pending, w);
        return PL_OK;
    }
    if (SSL_write(c->ssl, buf, (int)len) <= 0) {
        c->net->stats.send_errors++;
        return PL_EINVAL;
    }
    return flush_tls(c);
}

static int tls_start(net_conn *c, bool server)
{
    pl_net *net = c->net;
    c->ssl = SSL_new(server ? net->tls_server : net->tls_client);
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    if (!c->ssl || !c->rbio || !c->wbio) {
        BIO_free(c->rbio);
        BIO_free(c->wbio);
        c->rbio = c->wbio = NULL;
        return PL_ENOMEM;
    }
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    if (server) {
        SSL_set_accept_state(c->ssl);
        return PL_OK;
    }
    SSL_set_connect_state(c->ssl);
    X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
    if (c->peer.name[0]) {
        /* RFC 5922: the certificate must name the host we looked up, and
         * the server learns it through SNI (RFC 6066). */
        SSL_set_tlsext_host_name(c->ssl, c->peer.name);
        X509_VERIFY_PARAM_set1_host(vp, c->peer.name, 0);
        return PL_OK;
    }
    /* A numeric target: the certificate must name the address. */
    if (c->peer.addr.ss_family == AF_INET6)
        X509_VERIFY_PARAM_set1_ip(
            vp, (const unsigned char *)&((struct sockaddr_in6 *)&c->peer.addr)->sin6_addr, 16);
    else
        X509_VERIFY_PARAM_set1_ip(
            vp, (const unsigned char *)&((struct sockaddr_in *)&c->peer.addr)->sin_addr, 4);
    return PL_OK;
}

/* Ciphertext in: drive the handshake, then decrypt into c->buf. */
static int tls_input(net_conn *c, const char *in, size_t n)
{
    if (BIO_write(c->rbio, in, (int)n) != (int)n)
        return PL_ENOMEM;
    if (!c->handshaked) {
        int rc = SSL_do_handshake(c->ssl);
        flush_tls(c);
        if (rc != 1) {
            int e = SSL_get_error(c->ssl, rc);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                return PL_OK;
            pl__net_log("TLS handshake with a peer failed (%d)", e);
            return PL_EPARSE;
        }
        c->handshaked = true;
        net_write *w = c->tls_pending;
        c->tls_pending = NULL;
        while (w) {
            net_write *next = w->next;
            conn_write(c, w->data, w->len);
            free(w);
            w = next;
        }
    }
    size_t max = c->net->cfg.max_msg_size + 4096;
    for (;;) {
        if (c->cap - c->len < 4096 && c->cap < max) {
            size_t cap = c->cap ? c->cap * 2 : 8192;
            char *b = realloc(c->buf, cap > max ? max : cap);
            if (!b)
                return PL_ENOMEM;
            c->buf = b;
            c->cap = cap > max ? max : cap;
        }
        if (c->cap == c->len)
            break; /* full: the framer will refuse what cannot fit */
        int got = SSL_read(c->ssl, c->buf + c->len, (int)(c->cap - c->len));
        if (got > 0) {
            c->len += (size_t)got;
            continue;
        }
        int e = SSL_get_error(c->ssl, got);
        flush_tls(c);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            break;
        return PL_EPARSE; /* closed or broken */
    }
    return PL_OK;
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    net_conn *c = h->data;
    if (c->ssl) {
        (void)suggested;
        *buf = uv_buf_init(c->net->tls_in, sizeof(c->net->tls_in));
        return;
    }
    size_t max = c->net->cfg.max_msg_size + 4096;
    (void)suggested;
    if (c->cap - c->len < 4096 && c->cap < max) {
        size_t cap = c->cap ? c->cap * 2 : 8192;
        if (cap > max)
            cap = max;
        char *b = realloc(c->buf, cap);
        if (b) {
            c->buf = b;
            c->cap = cap;
        }
    }
    *buf = uv_buf_init(c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    net_conn *c = s->data;
    pl_net *net = c->net;
    (void)buf;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (nread == 0)
        return;
    uv_update_time(net->loop);
    pl_wheel_advance(&net->wheel, uv_now(net->loop));
    if (c->ssl) {
        if (tls_input(c, buf->base, (size_t)nread) != PL_OK) {
            pl_target peer = c->peer;
            bool report = c->outbound && !c->handshaked && net->cfg.on_unreachable;
            conn_close(c);
            if (report)
                net->cfg.on_unreachable(net, &peer, net->cfg.user);
            pl__net_rearm(net);
            return;
        }
    } else {
        c->len += (size_t)nread;
    }
    pl_timer_start(&net->wheel, &c->t_idle, net->cfg.idle_ms);
    size_t off = 0;
    bool framed = false;
    for (;;) {
        pl_frame fr;
        pl_error err;
        int rc = pl_framer_next(&c->framer, c->buf + off, c->len - off, &fr, &err);
        off += fr.skip;
        for (uint32_t i = 0; i < fr.pings; i++) {
            net->stats.keepalive_pings++;
            conn_write(c, "\r\n", 2); /* RFC 5626 3.5.1: the pong */
        }
        if (rc == PL_ENEEDMORE)
            break;
        if (rc != PL_OK) {
            net->stats.framing_errors++;
            if (rc == PL_ELIMIT)
                net->stats.oversized++;
            pl__net_log("closing a TCP connection: %s", err.reason ? err.reason : "framing");
            conn_drain(c);
            pl__net_rearm(net);
            return;
        }
        net->stats.stream_messages_in++;
        framed = true;
        net->cfg.on_message(net, c->buf + off, fr.len, &c->peer, PL_FRAMING_STREAM, net->cfg.user);
        off += fr.len;
        if (c->closing)
            break;
    }
    if (!c->closing) {
        if (off) /* (no buffer yet before a TLS handshake ends) */
            memmove(c->buf, c->buf + off, c->len - off);
        c->len -= off;
        /* Each message must be whole within the read deadline from its
         * first byte: the clock restarts when one is done and another begun. */
        if (c->len == 0)
            pl_timer_stop(&net->wheel, &c->t_deadline);
        else if (framed || !pl_timer_running(&c->t_deadline))
            pl_timer_start(&net->wheel, &c->t_deadline, net->cfg.read_deadline_ms);
    }
    pl__net_rearm(net);
}

/* Would accepting fresh (already in the list) exceed a cap? */
static bool over_caps(pl_net *net, const net_conn *fresh)
{
    if (net->nconns > net->cfg.max_connections)
        return true;
    uint32_t same = 0;
    for (net_conn *c = net->conns; c; c = c->next)
        if (c != fresh && !c->closing && same_ip(&c->peer, &fresh->peer))
            same++;
    return same >= net->cfg.max_connections_per_ip;
}

static void on_accept(uv_stream_t *server, int status)
{
    net_listener *l = server->data;
    pl_net *net = l->net;
    if (status != 0)
        return;
    net_conn *c = conn_new(net);
    if (!c)
        return;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    c->peer = peer_of(&c->tcp);
    c->peer.transport = l->transport;
    if (l->transport == PL_TP_TLS && tls_start(c, true) != PL_OK) {
        conn_close(c);
        return;
    }
    bool refuse = over_caps(net, c);
    if (refuse) {
        net->stats.connections_refused++;
        if (!net->cap_logged) {
            pl__net_log("TCP connection refused: connection cap reached (logged once)");
            net->cap_logged = true;
        }
        conn_close(c);
        return;
    }
    conn_announce(c);
    uv_update_time(net->loop);
    pl_wheel_advance(&net->wheel, uv_now(net->loop));
    pl_timer_start(&net->wheel, &c->t_idle, net->cfg.idle_ms);
    uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
    pl__net_rearm(net);
}

int pl__net_tcp_listen(pl_net *net, net_listener *l)
{
    int rc = uv_tcp_init(net->loop, &l->h.tcp);
    if (rc != 0)
        return rc;
    l->h.tcp.data = l;
    if (net->cfg.reuseport) {
        uv_os_sock_t fd;
        rc = pl__net_bind_reuseport(&l->local, SOCK_STREAM, &fd);
        if (rc == 0 && (rc = uv_tcp_open(&l->h.tcp, fd)) != 0)
            close(fd);
    } else {
        rc = uv_tcp_bind(&l->h.tcp, (const struct sockaddr *)&l->local.addr, 0);
    }
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&l->h.tcp, 128, on_accept);
    if (rc == 0) {
        int n = (int)sizeof(l->local.addr);
        uv_tcp_getsockname(&l->h.tcp, (struct sockaddr *)&l->local.addr, &n);
        l->local.len = (socklen_t)n;
    }
    return rc;
}

static void on_connected(uv_connect_t *req, int status)
{
    net_conn *c = req->data;
    pl_net *net = c->net;
    free(req);
    if (c->closing)
        return;
    c->connecting = false;
    if (status != 0) {
        net->stats.send_errors++;
        pl_target peer = c->peer;
        conn_close(c);
        if (net->cfg.on_unreachable) {
            uv_update_time(net->loop);
            pl_wheel_advance(&net->wheel, uv_now(net->loop));
            net->cfg.on_unreachable(net, &peer, net->cfg.user);
            pl__net_rearm(net);
        }
        return;
    }
    net_write *w = c->pending;
    c->pending = NULL;
    while (w) {
        net_write *next = w->next;
        raw_write(c, w->data, w->len);
        free(w);
        w = next;
    }
    if (c->ssl) {
        SSL_do_handshake(c->ssl); /* the ClientHello */
        flush_tls(c);
    }
    uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
    uv_update_time(net->loop);
    pl_wheel_advance(&net->wheel, uv_now(net->loop));
    pl_timer_start(&net->wheel, &c->t_idle, net->cfg.idle_ms);
    pl__net_rearm(net);
}

int pl__net_tcp_send(pl_net *net, const pl_target *dst, const char *buf, size_t len)
{
    if (dst->transport != PL_TP_TCP && dst->transport != PL_TP_TLS) {
        net->stats.send_errors++;
        return PL_EINVAL; /* WS and SCTP are not there yet */
    }
    for (net_conn *c = net->conns; c; c = c->next) {
        if (!c->closing && pl_target_eq(&c->peer, dst)) {
            int rc = conn_write(c, buf, len);
            if (rc == PL_OK)
                net->stats.stream_messages_out++;
            return rc;
        }
    }
    if (net->nconns >= net->cfg.max_connections) {
        net->stats.send_errors++;
        return PL_ELIMIT;
    }
    net_conn *c = conn_new(net);
    uv_connect_t *req = malloc(sizeof(*req));
    if (!c || !req) {
        free(req);
        if (c)
            conn_close(c);
        return PL_ENOMEM;
    }
    c->peer = *dst;
    c->connecting = true;
    c->outbound = true;
    req->data = c;
    if (dst->transport == PL_TP_TLS && tls_start(c, false) != PL_OK) {
        free(req);
        conn_close(c);
        return PL_ENOMEM;
    }
    if (uv_tcp_connect(req, &c->tcp, (const struct sockaddr *)&dst->addr, on_connected) != 0) {
        free(req);
        net->stats.send_errors++;
        conn_close(c);
        return PL_EINVAL;
    }
    conn_announce(c);
    int rc = conn_write(c, buf, len);
    if (rc == PL_OK)
        net->stats.stream_messages_out++;
    return rc;
}
