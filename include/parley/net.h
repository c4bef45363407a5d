/*
 * parley/net.h - where messages go: transports, addresses, and the small
 * interface through which the I/O-free core hands bytes out.
 *
 * A pl_target names one end of a hop: a transport and a socket address.
 * The transaction layer never opens a socket; it calls a pl_sender, which
 * the net layer implements on libuv and tests implement as an in-memory
 * network.
 */
#ifndef PARLEY_NET_H
#define PARLEY_NET_H

#include <parley/base.h>

#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pl_transport {
    PL_TP_UDP = 0,
    PL_TP_TCP,
    PL_TP_TLS,
    PL_TP_SCTP,
    PL_TP_WS,
    PL_TP_WSS,
    PL_TP_COUNT_
} pl_transport;

/* "UDP", "TCP", ... as written in a Via. */
const char *pl_transport_name(pl_transport tp);
/* The transport a Via or a transport= parameter names (any case); false if unknown. */
bool pl_transport_from_str(pl_str s, pl_transport *tp);
/* Reliable transports need no retransmission (RFC 3261 17.1.1.2). */
bool pl_transport_reliable(pl_transport tp);

/* One end of a hop. */
typedef struct pl_target {
    pl_transport transport;
    socklen_t len; /* of addr: 0 when unset */
    struct sockaddr_storage addr;
    /* The host name the address was found for, NUL-terminated, or empty:
     * TLS sends it as SNI and checks the server's certificate against it
     * (RFC 5922), else against the address. Not part of equality. */
    char name[64];
} pl_target;

/*
 * Parse "udp:127.0.0.1:5060", "tcp:[::1]:5060" or "tls:127.0.0.1:5061"
 * (numeric hosts only; a missing port is 5060, or 5061 for tls). Returns
 * PL_OK or PL_EPARSE.
 */
int pl_target_parse(pl_target *t, const char *s);
/* Write "udp:127.0.0.1:5060" into out (cap bytes, NUL-terminated). */
int pl_target_print(const pl_target *t, char *out, size_t cap);
/* Same transport, address and port. */
bool pl_target_eq(const pl_target *a, const pl_target *b);
/* The port of the address (host order). */
uint16_t pl_target_port(const pl_target *t);

/*
 * The way out: send len bytes of one SIP message to dst. Returns PL_OK, or
 * a negative error when the transport could not take them (no route, no
 * connection): the transaction layer then reports a 503 to its user
 * (RFC 3261 8.1.3.1).
 */
typedef struct pl_sender pl_sender;
struct pl_sender {
    int (*send)(pl_sender *s, const pl_target *dst, const char *buf, size_t len);
};

#ifdef __cplusplus
}
#endif
#endif
