/*
 * listen.c - the management server's listening socket.
 *
 * We open it ourselves and hand it to libmicrohttpd rather than letting
 * the library bind: that way a failure (the port is taken, the address is
 * not ours) comes back with its errno and the caller can say why, and
 * port 0 is read back with getsockname().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mgmt_int.h"

/* Split "HOST:PORT" or "[HOST]:PORT" into a socket address. */
static bool parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *sslen)
{
    char host[64];
    const char *port;
    bool v6 = addr[0] == '[';
    if (v6) {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':' || (size_t)(close - addr - 1) >= sizeof(host))
            return false;
        memcpy(host, addr + 1, (size_t)(close - addr - 1));
        host[close - addr - 1] = '\0';
        port = close + 2;
    } else {
        const char *colon = strrchr(addr, ':');
        if (!colon || (size_t)(colon - addr) >= sizeof(host))
            return false;
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = '\0';
        port = colon + 1;
    }
    uint32_t p;
    if (pl_str_to_u32(pl_str_c(port), 65535, &p) != PL_OK)
        return false;
    memset(ss, 0, sizeof(*ss));
    if (v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)p);
        *sslen = sizeof(*s6);
        return inet_pton(AF_INET6, host, &s6->sin6_addr) == 1;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)p);
    *sslen = sizeof(*s4);
    return inet_pton(AF_INET, host, &s4->sin_addr) == 1;
}

/* A static phrase for the errno of a failed socket(), bind() or listen(). */
static const char *why(int e)
{
    switch (e) {
    case EADDRINUSE:
        return "address already in use";
    case EADDRNOTAVAIL:
        return "address not available on this host";
    case EACCES:
        return "permission denied";
    case EAFNOSUPPORT:
        return "address family not supported";
    case EMFILE:
    case ENFILE:
        return "too many open files";
    default:
        return "cannot listen on the address";
    }
}

int pl__mgmt_listen(const char *addr, uint16_t *port, pl_error *err)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (!addr || !parse_addr(addr, &ss, &sslen)) {
        err->code = PL_EINVAL;
        err->reason = "bad listen address (want HOST:PORT or [HOST]:PORT, numeric)";
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err->code = PL_EINVAL;
        err->reason = why(errno);
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* "[::]:8080" means IPv6 only; IPv4 has its own address. */
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sslen) != 0 || listen(fd, 64) != 0) {
        err->code = PL_EINVAL;
        err->reason = why(errno);
        close(fd);
        return -1;
    }
    struct sockaddr_storage got;
    socklen_t gotlen = sizeof(got);
    if (getsockname(fd, (struct sockaddr *)&got, &gotlen) != 0) {
        err->code = PL_EINVAL;
        err->reason = why(errno);
        close(fd);
        return -1;
    }
    *port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                            : ((struct sockaddr_in *)&got)->sin_port);
    return fd;
}
