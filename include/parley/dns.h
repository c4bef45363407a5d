/*
 * parley/dns.h - finding the address of a host name (RFC 3263's last step:
 * A and AAAA records), with c-ares on the libuv loop.
 *
 * pl_dns_resolve() looks up a host name (the hosts file first, then DNS) and
 * calls back, from the loop, with every address found, IPv4 first, each as a
 * pl_target with the transport and port asked for. A numeric host is
 * answered without a lookup, also from the loop. NAPTR and SRV (RFC 3263
 * sections 4.1 and 4.2) come later.
 */
#ifndef PARLEY_DNS_H
#define PARLEY_DNS_H

#include <parley/net.h>
#include <parley/uri.h>

#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pl_dns pl_dns;

/*
 * The outcome of a lookup: status PL_OK with n >= 1 targets, or
 * PL_ENOTFOUND (no such name, no address), PL_EINVAL (a malformed name) or
 * PL_ENOMEM. The array is valid during the call only.
 */
typedef void (*pl_dns_cb)(void *arg, int status, const pl_target *targets, size_t n);

/* A resolver on loop, or NULL. */
pl_dns *pl_dns_new(uv_loop_t *loop);
/* Cancel every pending lookup (their callbacks run with PL_ENOTFOUND) and free. */
void pl_dns_free(pl_dns *dns);

/* Look up host (a name, an IPv4 address or an IPv6 address with or without brackets). */
int pl_dns_resolve(pl_dns *dns, const char *host, uint16_t port, pl_transport transport,
                   pl_dns_cb cb, void *arg);

/*
 * Where a request for uri goes (RFC 3263 4.1 and 4.2 without NAPTR and
 * SRV, as RFC 3263 allows when the URI names a transport or a port, and as
 * a fallback otherwise): the transport from the transport parameter, else
 * TLS for sips: (RFC 3261 26.2), else forced (pass PL_TP_COUNT_ for none),
 * else UDP; the host from maddr if present, else the host (RFC 3261
 * 18.1.1); the port from the URI, else 5061 for TLS and 5060 otherwise.
 * Returns PL_OK and calls back as pl_dns_resolve does; PL_EINVAL for a URI
 * that is not sip: or sips:, or a transport this stack does not have.
 */
int pl_dns_resolve_uri(pl_dns *dns, const pl_uri *uri, pl_transport forced, pl_dns_cb cb,
                       void *arg);

/*
 * The same choice made at once, with no lookup: the transport into
 * t->transport, the host (maddr or host, NUL-terminated) into host (cap
 * bytes) and the port into *port. Returns PL_OK with t complete when the
 * host is a numeric address, PL_ENOTFOUND when it is a name (look it up
 * with pl_dns_resolve), or PL_EINVAL as pl_dns_resolve_uri.
 */
int pl_dns_uri_target(const pl_uri *uri, pl_transport forced, pl_target *t, char *host, size_t cap,
                      uint16_t *port);

#ifdef __cplusplus
}
#endif
#endif
