/*
 * target.c - transports and hop addresses: "udp:127.0.0.1:5060" and friends.
 */
#include <parley/net.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const names[PL_TP_COUNT_] = {"UDP", "TCP", "TLS", "SCTP", "WS", "WSS"};

const char *pl_transport_name(pl_transport tp)
{
    return (unsigned)tp < PL_TP_COUNT_ ? names[tp] : "UDP";
}

bool pl_transport_from_str(pl_str s, pl_transport *tp)
{
    for (int i = 0; i < PL_TP_COUNT_; i++) {
        if (pl_str_case_eq_c(s, names[i])) {
            *tp = (pl_transport)i;
            return true;
        }
    }
    return false;
}

bool pl_transport_reliable(pl_transport tp)
{
    return tp != PL_TP_UDP;
}

static int parse_port(const char *s, uint16_t *port)
{
    uint32_t v;
    if (pl_str_to_u32(pl_str_c(s), 65535, &v) != PL_OK || v == 0)
        return PL_EPARSE;
    *port = (uint16_t)v;
    return PL_OK;
}

int pl_target_parse(pl_target *t, const char *s)
{
    memset(t, 0, sizeof(*t));
    const char *colon = s ? strchr(s, ':') : NULL;
    if (!colon)
        return PL_EPARSE;
    if (!pl_transport_from_str((pl_str){s, (size_t)(colon - s)}, &t->transport))
        return PL_EPARSE;
    const char *h = colon + 1;
    char host[INET6_ADDRSTRLEN];
    const char *port_s = NULL;
    uint16_t port = t->transport == PL_TP_TLS || t->transport == PL_TP_WSS ? 5061 : 5060;
    if (*h == '[') {
        const char *close = strchr(h, ']');
        if (!close || (size_t)(close - h - 1) >= sizeof(host))
            return PL_EPARSE;
        memcpy(host, h + 1, (size_t)(close - h - 1));
        host[close - h - 1] = '\0';
        if (close[1] == ':')
            port_s = close + 2;
        else if (close[1] != '\0')
            return PL_EPARSE;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&t->addr;
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
            return PL_EPARSE;
        a6->sin6_family = AF_INET6;
        t->len = sizeof(*a6);
    } else {
        const char *pc = strchr(h, ':');
        size_t n = pc ? (size_t)(pc - h) : strlen(h);
        if (n == 0 || n >= sizeof(host))
            return PL_EPARSE;
        memcpy(host, h, n);
        host[n] = '\0';
        if (pc)
            port_s = pc + 1;
        struct sockaddr_in *a4 = (struct sockaddr_in *)&t->addr;
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
            return PL_EPARSE;
        a4->sin_family = AF_INET;
        t->len = sizeof(*a4);
    }
    if (port_s && parse_port(port_s, &port) != PL_OK) {
        t->len = 0;
        return PL_EPARSE;
    }
    if (t->addr.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&t->addr)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)&t->addr)->sin_port = htons(port);
    return PL_OK;
}

uint16_t pl_target_port(const pl_target *t)
{
    if (t->addr.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&t->addr)->sin6_port);
    if (t->addr.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&t->addr)->sin_port);
    return 0;
}

int pl_target_print(const pl_target *t, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "";
    const char *tp = pl_transport_name(t->transport);
    char lower[8];
    size_t i = 0;
    for (; tp[i] && i + 1 < sizeof(lower); i++)
        lower[i] = (char)(tp[i] | 0x20);
    lower[i] = '\0';
    int n;
    if (t->addr.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&t->addr)->sin6_addr, host,
                  sizeof(host));
        n = snprintf(out, cap, "%s:[%s]:%u", lower, host, pl_target_port(t));
    } else {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)&t->addr)->sin_addr, host, sizeof(host));
        n = snprintf(out, cap, "%s:%s:%u", lower, host, pl_target_port(t));
    }
    return n < 0 || (size_t)n >= cap ? PL_ENOSPC : PL_OK;
}

bool pl_target_eq(const pl_target *a, const pl_target *b)
{
    if (a->transport != b->transport || a->addr.ss_family != b->addr.ss_family)
        return false;
    if (a->addr.ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)&a->addr, *y = (const void *)&b->addr;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
    }
    const struct sockaddr_in *x = (const void *)&a->addr, *y = (const void *)&b->addr;
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
}
