/*
 * parley/transport.h - the real transports, on libuv: UDP and TCP
 * listeners and connections, the timing wheel driven by the loop's clock,
 * and the pl_sender the transaction layer sends through.
 *
 * A pl_net owns (or borrows) a libuv loop. Messages arrive whole: datagrams
 * as they are, streams cut by the message layer's framer (which also
 * answers RFC 5626 CRLF keep-alive pings). Limits are explicit: maximum
 * message size, connections in all and per remote address, idle time and
 * the time a half-received message may take. Hitting one is logged once and
 * counted.
 *
 * Threads: everything runs on the loop's thread, except pl_net_post(),
 * which any thread may call to have a function run there.
 *
 * Signals: a peer that closes a connection while we write to it raises
 * SIGPIPE, which kills a process by default. pl_net_new() sets SIGPIPE to
 * be ignored when its disposition is still the default; an application
 * that handles SIGPIPE itself keeps its handler.
 */
#ifndef PARLEY_TRANSPORT_H
#define PARLEY_TRANSPORT_H

#include <parley/msg.h>
#include <parley/net.h>
#include <parley/timer.h>

#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pl_net pl_net;

/* One whole message from src (datagram, or one framed stream message). */
typedef void (*pl_net_message_cb)(pl_net *net, const char *buf, size_t len, const pl_target *src,
                                  pl_framing framing, void *user);

typedef struct pl_net_config {
    uv_loop_t *loop; /* NULL: the pl_net makes and owns one */
    pl_net_message_cb on_message;
    /* dst turned out unreachable after a send was accepted (a TCP connect
     * refused or failed): hand it to pl_txn_transport_error. May be NULL. */
    void (*on_unreachable)(pl_net *net, const pl_target *dst, void *user);
    void *user;
    size_t max_msg_size;             /* default 65535 */
    uint32_t max_connections;        /* default 2048 */
    uint32_t max_connections_per_ip; /* default 256 */
    uint32_t idle_ms;                /* close a connection idle this long, default 120000 */
    uint32_t read_deadline_ms; /* a started message must be whole within this, default 10000 */
    /* TLS (OpenSSL 3): a "tls:" listener needs a certificate and its key
     * (PEM files). tls_ca (a PEM file of trusted CAs) makes the client
     * side verify servers, and the server side verify clients when
     * tls_verify_client is set. Without tls_ca a client does not verify. */
    const char *tls_cert;
    const char *tls_key;
    const char *tls_ca;
    bool tls_verify_client;
    /* Listeners bind with SO_REUSEPORT, so that several pl_net (one per
     * thread, each on its own loop) can listen on the same address: the
     * kernel spreads datagrams (by source address) and accepted
     * connections among them, and a datagram sent from any of them leaves
     * from the same address. Each must set it, the first one too. */
    bool reuseport;
    /* SO_RCVBUF and SO_SNDBUF of UDP sockets, in bytes: a burst the loop
     * has not read yet waits here instead of being dropped by the kernel.
     * 0: the kernel's default (about 208 KiB). A process that may
     * (CAP_NET_ADMIN) gets the size asked for; others get at most
     * net.core.rmem_max / wmem_max. */
    uint32_t udp_buffer;
    /* A stream connection opened (accepted, or a connect started: open
     * true) or closed (open false), with the peer as a send to it names
     * it. Every open is followed by exactly one close, at the latest in
     * pl_net_free. For a registry of which thread owns which connection.
     * May be NULL. */
    void (*on_connection)(pl_net *net, const pl_target *peer, bool open, void *user);
} pl_net_config;

typedef struct pl_net_stats {
    uint64_t datagrams_in, datagrams_out;
    uint64_t stream_messages_in, stream_messages_out;
    uint64_t keepalive_pings; /* CRLFCRLF answered with CRLF */
    uint64_t oversized;       /* datagrams or stream messages over max_msg_size */
    /* Streams closed because they could not be framed: reading stops at
     * once, sends (answers to the messages before the bad bytes) still go
     * out for one second, then the connection closes. */
    uint64_t framing_errors;
    uint64_t connections_refused; /* over the total or per-address cap */
    uint64_t idle_closed;
    uint64_t deadline_closed;
    uint64_t send_errors;
    size_t connections; /* open now */
} pl_net_stats;

/* A pl_net, or NULL (out of memory, or no loop could be made). */
pl_net *pl_net_new(const pl_net_config *cfg);
/* Close every socket and free everything (runs the loop until handles close). */
void pl_net_free(pl_net *net);

/* Listen on "udp:127.0.0.1:5060", "tcp:[::1]:5060", "tls:127.0.0.1:5061".
 * Returns PL_OK, PL_EINVAL (a bad address; tls without a certificate) or a
 * negative libuv error. */
int pl_net_listen(pl_net *net, const char *addr);
/* The address a listener got (its port when 0 was asked for): index in order of pl_net_listen. */
int pl_net_listen_target(const pl_net *net, size_t index, pl_target *out);

/* True when a stream connection to peer (transport and address) is open
 * or being opened: a send to it would use that connection. */
bool pl_net_connected(const pl_net *net, const pl_target *peer);

/* The sender that puts messages on the wire (for pl_txn_config.sender). */
pl_sender *pl_net_sender(pl_net *net);
/* The wheel the loop drives (for pl_txn_config.wheel). */
pl_wheel *pl_net_wheel(pl_net *net);
uv_loop_t *pl_net_loop(pl_net *net);
void pl_net_get_stats(const pl_net *net, pl_net_stats *out);

/* Run the loop until pl_net_stop() (or nothing is left to do). */
int pl_net_run(pl_net *net);
void pl_net_stop(pl_net *net);

/* Run fn(arg) on the loop's thread soon. Thread-safe. Returns PL_OK or PL_ENOMEM. */
int pl_net_post(pl_net *net, void (*fn)(void *arg), void *arg);

/*
 * For an application with its own event loop: poll this file descriptor
 * for reading, wait at most pl_net_timeout_ms() (-1: no timeout), then call
 * pl_net_process(), which handles what is ready without blocking.
 */
int pl_net_fd(const pl_net *net);
int pl_net_timeout_ms(const pl_net *net);
void pl_net_process(pl_net *net);

#ifdef __cplusplus
}
#endif
#endif
