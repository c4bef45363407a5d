/*
 * ua.c - the pl_ua object: its transports (a pl_net of its own in real
 * mode, or the application's wheel and sender in virtual mode), the
 * transaction layer under it, the handler registry that Allow is derived
 * from, the local address that goes into Via and Contact, and log lines.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ua_int.h"

void pl__ua_log(const pl_ua *ua, pl_ua_log_level level, pl_str call_id, const char *fmt, ...)
{
    pl_ua_log_level max = ua->cfg.log_level ? ua->cfg.log_level : PL_UA_LOG_WARN;
    if (level > max)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (ua->cfg.log) {
        ua->cfg.log(level, call_id, line, ua->cfg.user);
        return;
    }
    static const char *names[] = {"?", "error", "warning", "info", "debug"};
    if (call_id.len)
        fprintf(stderr, "parley: ua %s: call-id %.*s: %s\n", names[level], (int)call_id.len,
                call_id.p, line);
    else
        fprintf(stderr, "parley: ua %s: %s\n", names[level], line);
}

/* ---- transport glue */

static void on_txn_request(pl_txn_layer *l, pl_txn *st, const pl_msg *req, const pl_target *src,
                           void *user)
{
    (void)l;
    pl__ua_server_request(user, st, req, src);
}

static void on_txn_stray(pl_txn_layer *l, const pl_msg *m, const pl_target *src, void *user)
{
    /* An ACK for a 2xx, or a response after its transaction ended: a UA
     * with no sessions has nothing to do with either. */
    (void)l;
    (void)src;
    pl__ua_log(user, PL_UA_LOG_DEBUG, m->call_id, "stray %s dropped",
               m->is_request ? "request" : "response");
}

static void on_txn_done(pl_txn_layer *l, pl_txn *st, bool timed_out, void *user)
{
    (void)l;
    (void)timed_out;
    pl__ua_server_done(user, st);
}

static void on_net_message(pl_net *net, const char *buf, size_t len, const pl_target *src,
                           pl_framing framing, void *user)
{
    (void)net;
    pl_ua *ua = user;
    pl_txn_receive(ua->layer, buf, len, src, framing);
}

static void on_net_unreachable(pl_net *net, const pl_target *dst, void *user)
{
    (void)net;
    pl_ua *ua = user;
    pl_txn_transport_error(ua->layer, dst);
}

pl_ua *pl_ua_new(const pl_ua_config *cfg)
{
    if (!cfg || !cfg->master)
        return NULL;
    bool virt = cfg->wheel || cfg->sender;
    if (virt && (!cfg->wheel || !cfg->sender || !cfg->local))
        return NULL;
    pl_ua *ua = calloc(1, sizeof(*ua));
    if (!ua)
        return NULL;
    ua->cfg = *cfg;
    if (virt) {
        if (pl_target_parse(&ua->local, cfg->local) != PL_OK) {
            free(ua);
            return NULL;
        }
        ua->wheel = cfg->wheel;
        ua->sender = cfg->sender;
    } else {
        pl_net_config nc;
        memset(&nc, 0, sizeof(nc));
        nc.loop = cfg->loop;
        nc.on_message = on_net_message;
        nc.on_unreachable = on_net_unreachable;
        nc.user = ua;
        nc.tls_cert = cfg->tls_cert;
        nc.tls_key = cfg->tls_key;
        nc.tls_ca = cfg->tls_ca;
        nc.tls_verify_client = cfg->tls_verify_client;
        ua->net = pl_net_new(&nc);
        ua->dns = ua->net ? pl_dns_new(pl_net_loop(ua->net)) : NULL;
        if (!ua->dns) {
            pl_net_free(ua->net);
            free(ua);
            return NULL;
        }
        ua->wheel = pl_net_wheel(ua->net);
        ua->sender = pl_net_sender(ua->net);
    }
    pl_txn_config tc;
    memset(&tc, 0, sizeof(tc));
    tc.wheel = ua->wheel;
    tc.sender = ua->sender;
    tc.timers = cfg->timers;
    tc.detect_merged = true; /* a UAS answers merged requests 482 (RFC 3261 8.2.2.2) */
    tc.on_request = on_txn_request;
    tc.on_stray = on_txn_stray;
    tc.on_server_done = on_txn_done;
    tc.user = ua;
    ua->layer = pl_txn_layer_new(&tc);
    if (!ua->layer) {
        pl_dns_free(ua->dns);
        pl_net_free(ua->net);
        free(ua);
        return NULL;
    }
    return ua;
}

void pl_ua_free(pl_ua *ua)
{
    if (!ua)
        return;
    ua->closing = true;
    /* Pending lookups call back now, and find the UA closing. */
    pl_dns_free(ua->dns);
    ua->dns = NULL;
    while (ua->server_list) {
        ua_server *s = ua->server_list;
        if (!s->final_sent && s->st) {
            pl_arena a;
            pl_arena_init(&a, NULL, 0, 0);
            pl_msg resp;
            if (pl__ua_build_response(ua, s->profile, s->req, &s->src, 503, "Shutting Down",
                                      pl_str_c(s->to_tag), &a, &resp) == PL_OK)
                pl_txn_respond(s->st, &resp);
            pl_arena_free(&a);
        }
        pl__ua_server_free(s);
    }
    while (ua->client_list)
        pl__ua_client_free(ua->client_list);
    pl__ua_watches_free(ua);
    pl_txn_layer_free(ua->layer);
    pl_net_free(ua->net);
    for (size_t i = 0; i < ua->nhandlers; i++)
        free(ua->handlers[i].method);
    free(ua->handlers);
    pl__ua_handles_free(&ua->clients);
    pl__ua_handles_free(&ua->servers);
    free(ua);
}

int pl_ua_listen(pl_ua *ua, const char *addr)
{
    memset(ua->local_cache, 0, sizeof(ua->local_cache));
    return ua->net ? pl_net_listen(ua->net, addr) : PL_EINVAL;
}

pl_net *pl_ua_net(pl_ua *ua)
{
    return ua->net;
}

int pl_ua_run(pl_ua *ua)
{
    return ua->net ? pl_net_run(ua->net) : PL_EINVAL;
}

void pl_ua_stop(pl_ua *ua)
{
    if (ua->net)
        pl_net_stop(ua->net);
}

int pl_ua_post(pl_ua *ua, void (*fn)(void *arg), void *arg)
{
    return ua->net ? pl_net_post(ua->net, fn, arg) : PL_ENOTSUP;
}

int pl_ua_receive(pl_ua *ua, const char *buf, size_t len, const pl_target *src, pl_framing framing)
{
    return pl_txn_receive(ua->layer, buf, len, src, framing);
}

void pl_ua_transport_error(pl_ua *ua, const pl_target *dst)
{
    pl_txn_transport_error(ua->layer, dst);
}

void pl_ua_get_stats(const pl_ua *ua, pl_ua_stats *out)
{
    *out = ua->stats;
    out->clients = ua->clients.live;
    out->servers = ua->servers.live;
}

/* ---- handlers */

static bool method_ok(const char *m)
{
    if (!m || !*m)
        return false;
    for (const char *s = m; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("-.!%*_+`'~", *s)))
            return false;
    return true;
}

const ua_handler *pl__ua_handler_find(const pl_ua *ua, pl_str method)
{
    for (size_t i = 0; i < ua->nhandlers; i++) {
        const ua_handler *h = &ua->handlers[i];
        if (h->len == method.len && memcmp(h->method, method.p, method.len) == 0)
            return h;
    }
    return NULL;
}

int pl_ua_set_handler(pl_ua *ua, const char *method, const pl_ua_handler *h, void *user)
{
    if (!method_ok(method))
        return PL_EINVAL;
    ua_handler *cur = (ua_handler *)pl__ua_handler_find(ua, pl_str_c(method));
    if (!h) {
        if (!cur)
            return PL_ENOTFOUND;
        free(cur->method);
        *cur = ua->handlers[--ua->nhandlers];
        return PL_OK;
    }
    if (cur) {
        cur->h = *h;
        cur->user = user;
        return PL_OK;
    }
    ua_handler *v = realloc(ua->handlers, (ua->nhandlers + 1) * sizeof(*v));
    if (!v)
        return PL_ENOMEM;
    ua->handlers = v;
    ua_handler *n = &v[ua->nhandlers];
    n->method = strdup(method);
    if (!n->method)
        return PL_ENOMEM;
    n->len = strlen(method);
    n->h = *h;
    n->user = user;
    ua->nhandlers++;
    return PL_OK;
}

static bool allow_add(char *out, size_t cap, size_t *n, const char *m, size_t mlen)
{
    /* Each method once. */
    for (size_t i = 0; i < *n;) {
        size_t j = i;
        while (j < *n && out[j] != ',')
            j++;
        if (j - i == mlen && memcmp(out + i, m, mlen) == 0)
            return true;
        i = j + 2;
    }
    if (*n + mlen + 2 >= cap)
        return false;
    if (*n) {
        memcpy(out + *n, ", ", 2);
        *n += 2;
    }
    memcpy(out + *n, m, mlen);
    *n += mlen;
    return true;
}

bool pl__ua_allow(const pl_ua *ua, const pl_ua_profile *p, char *out, size_t cap, size_t *len)
{
    size_t n = 0;
    bool ok = allow_add(out, cap, &n, "OPTIONS", 7) && allow_add(out, cap, &n, "ACK", 3) &&
              allow_add(out, cap, &n, "CANCEL", 6);
    for (size_t i = 0; ok && i < ua->nhandlers; i++)
        if (ua->handlers[i].h.on_request)
            ok = allow_add(out, cap, &n, ua->handlers[i].method, ua->handlers[i].len);
    const ua_list *l = pl__ua_prof_methods(p);
    for (size_t i = 0; ok && i < l->n; i++)
        ok = allow_add(out, cap, &n, l->v[i], strlen(l->v[i]));
    *len = n;
    return ok;
}

/* ---- the local address */

static int ip_print(const struct sockaddr_storage *a, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];
    const void *p = a->ss_family == AF_INET6
                        ? (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr
                        : (const void *)&((const struct sockaddr_in *)a)->sin_addr;
    if (!inet_ntop(a->ss_family, p, ip, sizeof(ip)))
        return PL_EINVAL;
    int k =
        a->ss_family == AF_INET6 ? snprintf(out, cap, "[%s]", ip) : snprintf(out, cap, "%s", ip);
    return k > 0 && (size_t)k < cap ? PL_OK : PL_ENOSPC;
}

static bool unspecified(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)a)->sin6_addr);
    return ((const struct sockaddr_in *)a)->sin_addr.s_addr == htonl(INADDR_ANY);
}

/* The address the kernel picks to reach dst. */
static int route_source(const pl_target *dst, struct sockaddr_storage *me)
{
    int fd = socket(dst->addr.ss_family, SOCK_DGRAM, 0);
    if (fd < 0)
        return PL_ENOTFOUND;
    socklen_t n = sizeof(*me);
    int rc = connect(fd, (const struct sockaddr *)&dst->addr, dst->len);
    if (rc == 0)
        rc = getsockname(fd, (struct sockaddr *)me, &n);
    close(fd);
    return rc == 0 ? PL_OK : PL_ENOTFOUND;
}

int pl__ua_local_for(pl_ua *ua, const pl_target *dst, char *hostport, size_t cap)
{
    int fam = dst->addr.ss_family == AF_INET6;
    unsigned tp = dst->transport < PL_TP_COUNT_ ? dst->transport : 0;
    if (ua->local_cache[fam][tp].valid) {
        size_t n = strlen(ua->local_cache[fam][tp].hp);
        if (n >= cap)
            return PL_ENOSPC;
        memcpy(hostport, ua->local_cache[fam][tp].hp, n + 1);
        return PL_OK;
    }
    bool cacheable = true;
    pl_target best;
    memset(&best, 0, sizeof(best));
    if (!ua->net) {
        best = ua->local;
    } else {
        /* A listener of the same transport and family, else of the same family. */
        int score = -1;
        pl_target t;
        for (size_t i = 0; pl_net_listen_target(ua->net, i, &t) == PL_OK; i++) {
            int s = (t.addr.ss_family == dst->addr.ss_family ? 2 : 0) +
                    (t.transport == dst->transport ? 1 : 0);
            if (s > score) {
                score = s;
                best = t;
            }
        }
        if (score < 0)
            return PL_ENOTFOUND;
        if (unspecified(&best.addr) || best.addr.ss_family != dst->addr.ss_family) {
            cacheable = false; /* the kernel's choice for this destination */
            struct sockaddr_storage me;
            if (route_source(dst, &me) != PL_OK)
                return PL_ENOTFOUND;
            uint16_t port = pl_target_port(&best);
            best.addr = me;
            if (me.ss_family == AF_INET6)
                ((struct sockaddr_in6 *)&best.addr)->sin6_port = htons(port);
            else
                ((struct sockaddr_in *)&best.addr)->sin_port = htons(port);
        }
    }
    char host[INET6_ADDRSTRLEN + 2];
    if (ip_print(&best.addr, host, sizeof(host)) != PL_OK)
        return PL_EINVAL;
    int k = snprintf(hostport, cap, "%s:%u", host, (unsigned)pl_target_port(&best));
    if (k <= 0 || (size_t)k >= cap)
        return PL_ENOSPC;
    if (cacheable && (size_t)k < sizeof(ua->local_cache[fam][tp].hp)) {
        memcpy(ua->local_cache[fam][tp].hp, hostport, (size_t)k + 1);
        ua->local_cache[fam][tp].valid = true;
    }
    return PL_OK;
}
