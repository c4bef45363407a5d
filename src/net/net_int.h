/*
 * net_int.h - the libuv transports' private structures.
 */
#ifndef PARLEY_NET_INT_H
#define PARLEY_NET_INT_H

#include <parley/transport.h>

#include <openssl/ssl.h>
#include <pthread.h>

#define NET_MAX_LISTENERS 16

typedef struct net_listener {
    pl_net *net;
    pl_transport transport;
    pl_target local;
    union {
        uv_udp_t udp;
        uv_tcp_t tcp;
        uv_handle_t handle;
    } h;
} net_listener;

typedef struct net_write {
    struct net_write *next;
    uv_write_t req;
    size_t len;
    char data[];
} net_write;

typedef struct net_conn {
    pl_net *net;
    uv_tcp_t tcp;
    pl_target peer;
    char *buf;
    size_t len, cap;
    pl_framer framer;
    pl_timer t_idle;
    pl_timer t_deadline;
    bool connecting;
    bool closing;
    bool draining;      /* unframeable bytes came: no more reading, sends go out until t_deadline */
    net_write *pending; /* queued until the connection is up */
    /* TLS: the session, its memory BIOs, and plaintext held until the
     * handshake is done. */
    SSL *ssl;
    BIO *rbio, *wbio;
    bool handshaked;
    bool outbound;  /* we connected: a failure is reported as unreachable */
    bool announced; /* on_connection was told it opened: tell it it closed */
    net_write *tls_pending;
    struct net_conn *prev, *next;
} net_conn;

typedef struct net_post {
    struct net_post *next;
    void (*fn)(void *arg);
    void *arg;
} net_post;

struct pl_net {
    pl_net_config cfg;
    uv_loop_t own_loop;
    uv_loop_t *loop;
    bool owns_loop;
    pl_wheel wheel;
    uv_timer_t wheel_timer;
    uv_prepare_t prepare; /* re-arms wheel_timer before the loop blocks */
    uv_async_t async;
    pthread_mutex_t post_lock;
    net_post *posts;
    net_listener listeners[NET_MAX_LISTENERS];
    size_t nlisteners;
    net_conn *conns;
    size_t nconns;
    pl_sender sender;
    pl_net_stats stats;
    bool cap_logged, size_logged;
    char *udp_buf; /* recvmmsg batch buffer */
    SSL_CTX *tls_server;
    SSL_CTX *tls_client;
    char tls_in[16384]; /* ciphertext as read from a socket */
};

int pl__net_tls_init(pl_net *net);
void pl__net_tls_free(pl_net *net);

/* Bring the wheel to the loop's time, fire what is due, re-arm the uv timer. */
void pl__net_tick(pl_net *net);
void pl__net_rearm(pl_net *net);

/* A socket of type (SOCK_DGRAM, SOCK_STREAM) with SO_REUSEPORT, bound to
 * local: its descriptor in *fd, or a negative libuv error. */
int pl__net_bind_reuseport(const pl_target *local, int type, uv_os_sock_t *fd);

int pl__net_tcp_listen(pl_net *net, net_listener *l);
int pl__net_tcp_send(pl_net *net, const pl_target *dst, const char *buf, size_t len);
void pl__net_tcp_close_all(pl_net *net);

void pl__net_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
