/*
 * validate.c - what a proxy checks and rewrites before routing: request
 * validation (RFC 3261 16.3), route preprocessing (16.4), and the question
 * both need answered, "is this URI me?".
 */
#include <stdio.h>
#include <string.h>

#include "proxy_int.h"

/* ---- what is ours */

/* "host" or "host:port" against the URI's host and port. */
static bool name_matches(const char *name, const pl_uri *u, uint16_t port)
{
    const char *colon = strrchr(name, ':');
    size_t hlen = strlen(name);
    uint32_t want = 0;
    if (colon && name[0] != '[') {
        hlen = (size_t)(colon - name);
        if (pl_str_to_u32(pl_str_c(colon + 1), 65535, &want) != PL_OK)
            return false;
    }
    if (!pl_str_case_eq(u->host, (pl_str){name, hlen}))
        return false;
    return !want || want == port;
}

bool pl__proxy_uri_local(const pl_proxy *p, const pl_uri *u)
{
    /* The address and port a request for u would go to (RFC 3263's
     * choice, no lookup): ours when a local has them. */
    pl_target t;
    char host[256];
    uint16_t port;
    int rc = pl_dns_uri_target(u, PL_TP_COUNT_, &t, host, sizeof(host), &port);
    if (rc != PL_OK && rc != PL_ENOTFOUND)
        return false; /* not sip/sips, or a transport we do not have */
    for (size_t i = 0; i < p->cfg.n_locals; i++) {
        const pl_proxy_local *l = &p->cfg.locals[i];
        if (pl_target_port(&l->target) != port)
            continue;
        t.transport = l->target.transport;
        if (rc == PL_OK && pl_target_eq(&t, &l->target))
            return true;
        if (l->host[0] && name_matches(l->host, u, port))
            return true;
    }
    for (size_t i = 0; i < p->cfg.n_aliases; i++)
        if (name_matches(p->cfg.aliases[i], u, port))
            return true;
    return false;
}

const pl_proxy_local *pl__proxy_local_for(const pl_proxy *p, const pl_target *t)
{
    const pl_proxy_local *family = NULL;
    for (size_t i = 0; i < p->cfg.n_locals; i++) {
        const pl_proxy_local *l = &p->cfg.locals[i];
        if (l->target.addr.ss_family != t->addr.ss_family)
            continue;
        if (l->target.transport == t->transport)
            return l;
        if (!family)
            family = l;
    }
    if (family)
        return family;
    return p->cfg.n_locals ? &p->cfg.locals[0] : NULL;
}

size_t pl__proxy_local_hostport(const pl_proxy_local *l, char *out, size_t cap)
{
    int n;
    if (l->host[0]) {
        n = snprintf(out, cap, "%s:%u", l->host, pl_target_port(&l->target));
        return n > 0 && (size_t)n < cap ? (size_t)n : 0;
    }
    /* "udp:[::1]:5060" without its "udp:". */
    char t[96];
    if (pl_target_print(&l->target, t, sizeof(t)) != PL_OK)
        return 0;
    const char *hp = strchr(t, ':') + 1;
    n = snprintf(out, cap, "%s", hp);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* ---- 16.6 step 8 and 16.3 step 4: loops */

static uint64_t fnv(uint64_t h, pl_str s)
{
    for (size_t i = 0; i < s.len; i++) {
        h ^= (unsigned char)s.p[i];
        h *= 0x100000001b3ull;
    }
    return h ^ 0xff; /* a separator, so that "ab"+"c" differs from "a"+"bc" */
}

void pl__proxy_loop_hash(const pl_msg *m, char out[17])
{
    uint64_t h = 0xcbf29ce484222325ull;
    char num[12];
    h = fnv(h, m->ruri_raw);
    h = fnv(h, m->from ? m->from->tag : PL_STR_NULL);
    h = fnv(h, m->to ? m->to->tag : PL_STR_NULL);
    h = fnv(h, m->call_id);
    h = fnv(h, (pl_str){num, pl_u32_print(m->cseq.num, num)});
    pl_value_iter it;
    pl_str v;
    pl_value_iter_init(&it, m, PL_HDR_PROXY_REQUIRE);
    while (pl_value_iter_next(&it, &v))
        h = fnv(h, v);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++)
        out[i] = hex[(h >> (60 - 4 * i)) & 0xf];
    out[16] = '\0';
}

/* A Via this proxy wrote whose loop hash equals the request's: a loop, not
 * a spiral (a spiral changes the Request-URI, so the hash differs). */
static bool looped(const pl_preq *r)
{
    for (const pl_via *v = r->msg.via; v; v = v->next) {
        if (!v->has_branch || v->branch.len < 7 + 2 + 16)
            continue;
        if (memcmp(v->branch.p, "z9hG4bKpl", 9) != 0 || memcmp(v->branch.p + 9, r->loop, 16) != 0)
            continue;
        pl_uri u = {
            .scheme = PL_URI_SIP, .host = v->host, .host_type = v->host_type, .port = v->port};
        if (pl_str_case_eq_c(v->transport, "TLS"))
            u.scheme = PL_URI_SIPS;
        if (pl__proxy_uri_local(r->p, &u))
            return true;
    }
    return false;
}

/* ---- 16.3 */

uint16_t pl__proxy_validate(pl_preq *r)
{
    const pl_msg *m = &r->msg;
    /* Step 3: Max-Forwards. An OPTIONS may be answered by this hop (11). */
    if (m->has_max_forwards && m->max_forwards == 0) {
        if (m->method_id == PL_METHOD_OPTIONS) {
            pl_preq_reply(r, 200, PL_STR_NULL, NULL, 0);
            return 200;
        }
        pl_preq_reply(r, 483, PL_STR_NULL, NULL, 0);
        return 483;
    }
    /* Step 4: loops, when asked for. */
    if (r->p->cfg.loop_detect && looped(r)) {
        pl_preq_reply(r, 482, PL_STR_NULL, NULL, 0);
        return 482;
    }
    /* Step 5: this proxy supports no extension a Proxy-Require can name. */
    static const char *const none[] = {NULL};
    pl_str tag;
    if (pl_msg_unsupported(m, PL_HDR_PROXY_REQUIRE, none, &tag)) {
        pl_str extra[2] = {PL_STR_LIT("Unsupported"), tag};
        pl_preq_reply(r, 420, PL_STR_NULL, extra, 1);
        return 420;
    }
    return 0;
}

/* ---- 16.4 */

/* Remove the last Route value: the Request-URI a strict router replaced. */
static int route_remove_last(pl_msg *m)
{
    int32_t last = -1;
    for (int32_t i = pl_msg_hdr_find(m, PL_HDR_ROUTE, 0); i >= 0;
         i = pl_msg_hdr_find(m, PL_HDR_ROUTE, (uint32_t)i + 1))
        last = i;
    if (last < 0 || !m->route_last_)
        return PL_ENOTFOUND;
    const pl_hdr *h = &m->hdrs[last];
    const char *start = m->route_last_->raw.p;
    if (start <= h->value.p)
        return pl_msg_hdr_remove(m, (uint32_t)last);
    const char *e = start;
    while (e > h->value.p &&
           (e[-1] == ' ' || e[-1] == '\t' || e[-1] == ',' || e[-1] == '\r' || e[-1] == '\n'))
        e--;
    return pl_msg_hdr_replace(m, (uint32_t)last, (pl_str){h->value.p, (size_t)(e - h->value.p)});
}

void pl__proxy_preprocess_routes(pl_preq *r)
{
    pl_msg *m = &r->msg;
    /* A strict router upstream put our Record-Route URI (it has lr) into
     * the Request-URI and the real one at the end of Route: undo that. */
    if (m->route_count && m->ruri.lr && pl__proxy_uri_local(r->p, &m->ruri)) {
        char uri[2048];
        pl_str last = m->route_last_->uri_raw;
        if (last.len < sizeof(uri)) {
            memcpy(uri, last.p, last.len);
            if (route_remove_last(m) == PL_OK)
                pl_msg_set_ruri(m, (pl_str){uri, last.len});
        }
        r->loose = true;
    }
    /* Our own Route entries (two when we record-routed twice) are spent. */
    for (int i = 0; i < 2 && m->route && pl__proxy_uri_local(r->p, &m->route->uri); i++) {
        if (i == 0)
            r->own_route_params = pl_arena_strdup(&r->arena, m->route->uri.params);
        pl_msg_route_pop(m);
        r->loose = true;
    }
    if (m->route_count)
        r->loose = true;
}
