/*
 * client.c - out-of-dialog requests the application sends.
 *
 * A request is built from a profile, handed to the application to edit,
 * then sent: the next hop is the first Route, else the Request-URI (RFC
 * 3261 8.1.2), found at once for numeric hosts and through c-ares for
 * names; the Via (with a fresh branch and rport, RFC 3581) is written at
 * each send, so that retries after a 401/407 (with CSeq one higher, 8.1.3.5
 * and 22.2) or a 3xx (8.1.3.4) are new transactions. The application sees
 * one final outcome. A failure found before anything reached the network
 * becomes a synthesized response, delivered from the loop on the next
 * wheel tick, never from inside the call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ua_int.h"

#define MAX_REDIRECTS 5

static void on_later(pl_timer *t, void *arg);

/* ---- building */

/* The first address a guess can start from: the next hop when numeric. */
static void guess_local(pl_ua *ua, const pl_uri *hop, char *out, size_t cap)
{
    pl_target t;
    char host[256];
    uint16_t port;
    if (pl_dns_uri_target(hop, PL_TP_COUNT_, &t, host, sizeof(host), &port) != PL_OK) {
        /* A name: any IPv4 destination gives the usual source address. */
        memset(&t, 0, sizeof(t));
        pl_target_parse(&t, "udp:192.0.2.1:5060");
    }
    if (pl__ua_local_for(ua, &t, out, cap) != PL_OK)
        snprintf(out, cap, "127.0.0.1:5060");
}

/* A bounded string builder: the per-request text is joined without printf. */
typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool over;
} sbuf;

static void sput(sbuf *b, pl_str s)
{
    if (b->over || s.len >= b->cap - b->n) {
        b->over = true;
        return;
    }
    if (s.len)
        memcpy(b->p + b->n, s.p, s.len);
    b->n += s.len;
    b->p[b->n] = '\0';
}

static void sputc(sbuf *b, const char *s)
{
    sput(b, pl_str_c(s));
}

/* "<sip:user@hostport[;transport=x]>" for a request to tp. */
static int contact_value(const pl_ua_profile *p, const char *hostport, pl_transport tp, char *out,
                         size_t cap)
{
    pl_uri aor;
    const char *a = pl__ua_prof_aor(p);
    pl_str user = PL_STR_NULL;
    if (a && pl_uri_parse(&aor, pl_str_c(a), NULL) == PL_OK && aor.scheme != PL_URI_TEL)
        user = aor.user;
    sbuf b = {out, 0, cap, cap == 0};
    sputc(&b, tp == PL_TP_TLS ? "<sips:" : "<sip:");
    if (user.len) {
        sput(&b, user);
        sputc(&b, "@");
    }
    sputc(&b, hostport);
    sputc(&b, tp == PL_TP_TCP ? ";transport=tcp>" : ">");
    return b.over ? PL_ENOSPC : PL_OK;
}

/* The route set of the profile: "<uri;lr>" values, outbound proxy first. */
static int add_routes(ua_client *c, pl_str *extra, size_t *n, size_t max)
{
    const char *ob = pl__ua_prof_outbound(c->profile);
    const ua_list *routes = pl__ua_prof_routes(c->profile);
    for (size_t i = 0; i <= routes->n && *n + 2 <= max; i++) {
        const char *u = i == 0 ? ob : routes->v[i - 1];
        if (!u)
            continue;
        pl_uri uri;
        if (pl_uri_parse(&uri, pl_str_c(u), NULL) != PL_OK)
            return PL_EINVAL;
        /* A configured outbound proxy is a loose router (RFC 3261 8.1.2). */
        bool lr = uri.lr || i > 0;
        size_t len = strlen(u) + 6;
        char *v = pl_arena_alloc(&c->arena, len);
        if (!v)
            return PL_ENOMEM;
        int k = snprintf(v, len, "<%s%s>", u, lr ? "" : ";lr");
        extra[(*n)++] = PL_STR_LIT("Route");
        extra[(*n)++] = (pl_str){v, (size_t)k};
    }
    return PL_OK;
}

static pl_str arena_str(pl_arena *a, const char *s, size_t n)
{
    char *d = pl_arena_alloc(a, n);
    if (!d)
        return PL_STR_NULL;
    memcpy(d, s, n);
    return (pl_str){d, n};
}

/* The header fields a target URI carries (RFC 3261 19.1.5): "?Refer-To=...&Subject=...". */
static int uri_headers(ua_client *c, pl_str hdrs, pl_str *extra, size_t *n, size_t max)
{
    pl_str rest = hdrs;
    while (rest.len && *n + 2 <= max) {
        const char *amp = memchr(rest.p, '&', rest.len);
        pl_str item = {rest.p, amp ? (size_t)(amp - rest.p) : rest.len};
        rest = amp ? (pl_str){amp + 1, rest.len - item.len - 1} : PL_STR_NULL;
        const char *eq = memchr(item.p, '=', item.len);
        if (!eq || eq == item.p)
            return PL_EINVAL;
        char *name = pl_arena_alloc(&c->arena, item.len + 1);
        if (!name)
            return PL_ENOMEM;
        size_t nl, vl;
        char *val = name + (eq - item.p) + 1;
        if (pl_uri_unescape((pl_str){item.p, (size_t)(eq - item.p)}, name, (size_t)(eq - item.p),
                            &nl) != PL_OK ||
            pl_uri_unescape((pl_str){eq + 1, item.len - (size_t)(eq - item.p) - 1}, val,
                            item.len - (size_t)(eq - item.p) - 1 + 1, &vl) != PL_OK)
            return PL_EINVAL;
        if (nl == 4 && strncasecmp(name, "body", 4) == 0)
            continue; /* "body" is the message body, not a header: not supported here */
        extra[(*n)++] = (pl_str){name, nl};
        extra[(*n)++] = (pl_str){val, vl};
    }
    return PL_OK;
}

static ua_client *client_get(pl_ua *ua, pl_ua_client id)
{
    return pl__ua_handle_get(&ua->clients, id);
}

static ua_client *client_alloc(pl_ua *ua, const pl_ua_profile *p)
{
    ua_client *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->ua = ua;
    c->profile = p ? p : ua->cfg.master;
    pl_arena_init(&c->arena, c->block, sizeof(c->block), 0);
    pl_timer_init(&c->later, on_later, c);
    c->id = pl__ua_handle_add(&ua->clients, c);
    if (!c->id) {
        free(c);
        return NULL;
    }
    c->next = ua->client_list;
    if (c->next)
        c->next->prev = c;
    ua->client_list = c;
    return c;
}

void pl__ua_client_free(ua_client *c)
{
    pl_ua *ua = c->ua;
    pl_timer_stop(ua->wheel, &c->later);
    if (c->txn)
        pl_txn_client_abandon(c->txn);
    if (c->prev)
        c->prev->next = c->next;
    else
        ua->client_list = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pl__ua_handle_del(&ua->clients, c->id);
    if (c->app_free)
        c->app_free(c->app);
    pl_arena_free(&c->arena);
    free(c);
}

int pl_ua_request_new(pl_ua *ua, const pl_ua_profile *profile, const char *method,
                      const char *target, void *app, void (*app_free)(void *app), pl_ua_client *out)
{
    *out = 0;
    if (!method || !target)
        return PL_EINVAL;
    pl_str m = pl_str_c(method);
    pl_method mid = pl_method_from_str(m);
    /* ACK and CANCEL belong to a transaction the UA runs itself. */
    if (mid == PL_METHOD_ACK || mid == PL_METHOD_CANCEL)
        return PL_EINVAL;
    const ua_handler *h = pl__ua_handler_find(ua, m);
    if (!h || !h->h.on_success || !h->h.on_failure) {
        pl__ua_log(ua, PL_UA_LOG_ERROR, PL_STR_NULL,
                   "%s: no handler with on_success and on_failure for this method", method);
        return PL_EINVAL;
    }
    pl_nameaddr to;
    if (pl_nameaddr_parse(&to, pl_str_c(target), 16, NULL) != PL_OK ||
        (to.uri.scheme != PL_URI_SIP && to.uri.scheme != PL_URI_SIPS &&
         to.uri.scheme != PL_URI_TEL))
        return PL_EINVAL;
    ua_client *c = client_alloc(ua, profile);
    if (!c)
        return PL_ENOMEM;
    c->h = *h;
    c->h.method = NULL;
    c->app = app;
    c->is_refer = mid == PL_METHOD_REFER;

    /* The Request-URI without its headers, which become header fields. */
    pl_str ruri = to.uri_raw;
    pl_str extra[64];
    size_t n = 0;
    int rc = PL_OK;
    if (to.uri.headers.len) {
        ruri.len = (size_t)(to.uri.headers.p - 1 - ruri.p);
        rc = uri_headers(c, to.uri.headers, extra, &n, 32);
    }
    char hostport[128], contact[256], from[512], tov[1024], allow[512], tags[512];
    pl_uri hop = to.uri;
    const char *ob = pl__ua_prof_outbound(c->profile);
    const ua_list *routes = pl__ua_prof_routes(c->profile);
    if (ob || routes->n)
        pl_uri_parse(&hop, pl_str_c(ob ? ob : routes->v[0]), NULL);
    guess_local(ua, &hop, hostport, sizeof(hostport));
    pl_transport tp = hop.scheme == PL_URI_SIPS ? PL_TP_TLS : PL_TP_UDP;
    if (hop.transport.len)
        pl_transport_from_str(hop.transport, &tp);
    if (rc == PL_OK)
        rc = contact_value(c->profile, hostport, tp, contact, sizeof(contact));
    const char *aor = pl__ua_prof_aor(c->profile);
    const char *disp = pl__ua_prof_display(c->profile);
    sbuf fb = {from, 0, sizeof(from), false};
    if (disp) {
        sputc(&fb, "\"");
        sputc(&fb, disp);
        sputc(&fb, "\" ");
    }
    sputc(&fb, "<");
    sputc(&fb, aor ? aor : "sip:anonymous@anonymous.invalid");
    sputc(&fb, ">");
    /* To: the target as written; an addr-spec gets angle brackets (20.10),
     * and URI headers are dropped from it as from the Request-URI. */
    sbuf tb = {tov, 0, sizeof(tov), false};
    if (to.angle && !to.uri.headers.len) {
        sput(&tb, to.raw);
    } else {
        sput(&tb, to.angle ? to.display : PL_STR_NULL);
        sputc(&tb, "<");
        sput(&tb, ruri);
        sputc(&tb, ">");
        sput(&tb, to.angle ? to.params : PL_STR_NULL);
    }
    if (fb.over || tb.over)
        rc = PL_EINVAL;
    if (rc == PL_OK)
        rc = add_routes(c, extra, &n, 48);
    size_t alen = 0, tlen = 0;
    if (rc == PL_OK && pl__ua_allow(ua, c->profile, allow, sizeof(allow), &alen) && alen) {
        extra[n++] = PL_STR_LIT("Allow");
        extra[n++] = (pl_str){allow, alen};
    }
    if (rc == PL_OK && pl__ua_list_join(pl__ua_prof_tags(c->profile), tags, sizeof(tags), &tlen) &&
        tlen) {
        extra[n++] = PL_STR_LIT("Supported");
        extra[n++] = (pl_str){tags, tlen};
    }
    if (rc == PL_OK) {
        pl_request_spec spec;
        memset(&spec, 0, sizeof(spec));
        spec.method = m;
        spec.ruri = ruri;
        spec.from = pl_str_c(from);
        spec.to = pl_str_c(tov);
        spec.via_transport = pl_str_c(pl_transport_name(tp));
        spec.via_sent_by = pl_str_c(hostport);
        spec.contact = pl_str_c(contact);
        spec.extra = extra;
        spec.n_extra = n / 2;
        pl_error err;
        rc = pl_msg_build_request(&c->msg, &c->arena, &spec, &err);
        if (rc != PL_OK)
            pl__ua_log(ua, PL_UA_LOG_ERROR, PL_STR_NULL, "cannot build %s to %s: %s", method,
                       target, err.reason ? err.reason : pl_err_str(rc));
    }
    if (rc == PL_OK && c->msg.contact) {
        c->contact_auto = arena_str(&c->arena, c->msg.contact->raw.p, c->msg.contact->raw.len);
        snprintf(c->contact_hp, sizeof(c->contact_hp), "%s", hostport);
        c->contact_tp = tp;
    }
    if (rc != PL_OK) {
        pl__ua_client_free(c);
        return rc;
    }
    c->app_free =
        app_free; /* only once the request exists: a failed new frees nothing of the app's */
    *out = c->id;
    return PL_OK;
}

pl_msg *pl_ua_request_msg(pl_ua *ua, pl_ua_client req)
{
    ua_client *c = client_get(ua, req);
    return c && c->state == UC_NEW ? &c->msg : NULL;
}

void *pl_ua_request_app(pl_ua *ua, pl_ua_client req)
{
    ua_client *c = client_get(ua, req);
    return c ? c->app : NULL;
}

/* ---- sending */

static void fail_later(ua_client *c, uint16_t code, const char *reason)
{
    c->fail_code = code;
    c->fail_reason = reason;
    pl_timer_start(c->ua->wheel, &c->later, 0);
}

static void deliver_final(ua_client *c, const pl_msg *resp)
{
    pl_ua *ua = c->ua;
    if (c->internal) {
        c->internal(ua, c, resp);
    } else {
        void *app = c->app ? c->app : c->h.user;
        pl_ua_response_cb cb = resp->status < 300 ? c->h.h.on_success : c->h.h.on_failure;
        c->state = UC_SENT;
        c->delivering = true;
        cb(ua, c->id, resp, app);
    }
    if (c->is_refer && resp->status >= 300)
        pl__ua_watch_drop(ua, c->msg.call_id, c->msg.from->tag);
    pl__ua_client_free(c);
}

static void on_later(pl_timer *t, void *arg)
{
    (void)t;
    ua_client *c = arg;
    pl_arena a;
    pl_arena_init(&a, NULL, 0, 0);
    pl_msg resp;
    pl__ua_log(c->ua, PL_UA_LOG_INFO, c->msg.call_id, "%.*s failed locally: %u %s",
               (int)c->msg.method.len, c->msg.method.p, c->fail_code, c->fail_reason);
    if (pl_msg_build_response(&resp, &a, &c->msg, c->fail_code, pl_str_c(c->fail_reason),
                              PL_STR_NULL, NULL) == PL_OK) {
        resp.synthesized = true;
        deliver_final(c, &resp);
    } else {
        /* No memory even for the synthesized answer: end without a message is
         * impossible by contract, so try the smallest one once more later. */
        pl_timer_start(c->ua->wheel, &c->later, 100);
    }
    pl_arena_free(&a);
}

static int set_cseq(ua_client *c, uint32_t num)
{
    int32_t i = pl_msg_hdr_find(&c->msg, PL_HDR_CSEQ, 0);
    if (i < 0)
        return PL_EINVAL;
    char v[64];
    int k =
        snprintf(v, sizeof(v), "%u %.*s", num, (int)c->msg.cseq.method.len, c->msg.cseq.method.p);
    return pl_msg_hdr_replace(&c->msg, (uint32_t)i, (pl_str){v, (size_t)k});
}

static void on_txn_response(pl_txn *ct, const pl_msg *resp, bool final, void *arg);

/* Via, Contact, User-Agent and Authorization for dst, then the transaction. */
static int send_to(ua_client *c, const pl_target *dst)
{
    pl_ua *ua = c->ua;
    char hostport[128], via[256];
    int rc = pl__ua_local_for(ua, dst, hostport, sizeof(hostport));
    if (rc != PL_OK)
        return rc;
    /* "SIP/2.0/UDP host:port;branch=z9hG4bK<16>;rport", without printf */
    const char *tp = pl_transport_name(dst->transport);
    size_t tl = strlen(tp), hl = strlen(hostport), k = 0;
    memcpy(via, "SIP/2.0/", 8);
    k = 8;
    memcpy(via + k, tp, tl);
    k += tl;
    via[k++] = ' ';
    memcpy(via + k, hostport, hl);
    k += hl;
    memcpy(via + k, ";branch=z9hG4bK", 15);
    k += 15;
    pl_random_token(via + k, 16);
    k += 16;
    memcpy(via + k, ";rport", 6);
    k += 6;
    if (c->msg.via_count)
        pl_msg_via_remove_top(&c->msg);
    rc = pl_msg_via_prepend(&c->msg, (pl_str){via, k});
    /* The Contact the UA made: to the address this request really leaves from. */
    int32_t ci = pl_msg_hdr_find(&c->msg, PL_HDR_CONTACT, 0);
    bool moved = c->contact_tp != dst->transport || strcmp(c->contact_hp, hostport) != 0;
    if (rc == PL_OK && moved && ci >= 0 && c->contact_auto.len &&
        pl_str_eq(c->msg.hdrs[ci].value, c->contact_auto)) {
        char cv[256];
        if (contact_value(c->profile, hostport, dst->transport, cv, sizeof(cv)) == PL_OK &&
            !pl_str_eq(pl_str_c(cv), c->contact_auto)) {
            rc = pl_msg_hdr_replace(&c->msg, (uint32_t)ci, pl_str_c(cv));
            if (rc == PL_OK)
                c->contact_auto = arena_str(&c->arena, cv, strlen(cv));
        }
        snprintf(c->contact_hp, sizeof(c->contact_hp), "%s", hostport);
        c->contact_tp = dst->transport;
    }
    const char *uagent = pl__ua_prof_user_agent(c->profile);
    if (rc == PL_OK && uagent && pl_msg_hdr_find(&c->msg, PL_HDR_USER_AGENT, 0) < 0)
        rc = pl_msg_hdr_append(&c->msg, PL_STR_LIT("User-Agent"), pl_str_c(uagent));
    if (rc == PL_OK)
        rc = pl__ua_auth_apply(c);
    if (rc != PL_OK)
        return rc;
    c->dst = *dst;
    return pl_txn_client_start(ua->layer, &c->msg, dst, on_txn_response, c, &c->txn);
}

typedef struct dns_wait {
    pl_ua *ua;
    pl_ua_client id;
} dns_wait;

static void on_resolved(void *arg, int status, const pl_target *targets, size_t n)
{
    dns_wait *w = arg;
    pl_ua *ua = w->ua;
    ua_client *c = ua->closing ? NULL : client_get(ua, w->id);
    free(w);
    if (!c || c->state != UC_RESOLVING)
        return; /* abandoned meanwhile */
    c->state = UC_SENT;
    if (status != PL_OK || n == 0) {
        pl__ua_log(ua, PL_UA_LOG_WARN, c->msg.call_id, "next hop lookup failed: %s",
                   pl_err_str(status));
        fail_later(c, 503, "DNS Lookup Failed");
        return;
    }
    if (send_to(c, &targets[0]) != PL_OK)
        fail_later(c, 503, "Transport Failure");
}

int pl__ua_client_transmit(ua_client *c)
{
    pl_ua *ua = c->ua;
    const pl_uri *hop = c->msg.route_count ? &c->msg.route->uri : &c->msg.ruri;
    pl_target dst;
    char host[256];
    uint16_t port;
    int rc = pl_dns_uri_target(hop, PL_TP_COUNT_, &dst, host, sizeof(host), &port);
    c->state = UC_SENT;
    if (rc == PL_OK) {
        if (send_to(c, &dst) != PL_OK)
            fail_later(c, 503, "Transport Failure");
        return PL_OK;
    }
    if (rc == PL_EINVAL) {
        /* tel: or another scheme with no route to carry it (RFC 3261 8.1.2) */
        fail_later(c, 416, "No Route For This URI Scheme");
        return PL_OK;
    }
    if (!ua->dns) {
        fail_later(c, 503, "No DNS Resolver");
        return PL_OK;
    }
    dns_wait *w = malloc(sizeof(*w));
    if (!w) {
        fail_later(c, 503, "Out Of Memory");
        return PL_OK;
    }
    w->ua = ua;
    w->id = c->id;
    c->state = UC_RESOLVING;
    if (pl_dns_resolve(ua->dns, host, port, dst.transport, on_resolved, w) != PL_OK) {
        free(w);
        c->state = UC_SENT;
        fail_later(c, 503, "DNS Lookup Failed");
    }
    return PL_OK;
}

int pl_ua_request_send(pl_ua *ua, pl_ua_client req)
{
    ua_client *c = client_get(ua, req);
    if (!c)
        return PL_ESTALE;
    if (c->state != UC_NEW)
        return PL_ESTATE;
    if (pl_msg_check(&c->msg, NULL, NULL) != PL_OK || !c->msg.from || !c->msg.from->has_tag) {
        c->state = UC_SENT;
        fail_later(c, 400, "Request Edited Into An Invalid One");
        return PL_OK;
    }
    if (c->is_refer)
        pl__ua_watch_add(ua, &c->msg);
    return pl__ua_client_transmit(c);
}

int pl_ua_request_abandon(pl_ua *ua, pl_ua_client req)
{
    ua_client *c = client_get(ua, req);
    if (!c)
        return PL_ESTALE;
    if (c->delivering)
        return PL_ESTATE; /* it ends when its final callback returns */
    if (c->is_refer)
        pl__ua_watch_drop(ua, c->msg.call_id, c->msg.from->tag);
    pl__ua_client_free(c);
    return PL_OK;
}

/* ---- responses */

/* The best untried Contact of a 3xx: highest q first, in order for equal q. */
static int redirect(ua_client *c, const pl_msg *resp)
{
    if (c->redirects >= MAX_REDIRECTS || !pl__ua_prof_follow(c->profile))
        return PL_ENOTFOUND;
    const pl_nameaddr *best = NULL;
    double best_q = -1;
    for (const pl_nameaddr *na = resp->contact; na; na = na->next) {
        if (na->uri.scheme != PL_URI_SIP && na->uri.scheme != PL_URI_SIPS)
            continue;
        if (pl_uri_equal(&na->uri, &c->msg.ruri))
            continue; /* a loop back to where it came from */
        double q = na->q.len ? strtod(na->q.p, NULL) : 1.0;
        if (q > best_q) {
            best_q = q;
            best = na;
        }
    }
    if (!best)
        return PL_ENOTFOUND;
    pl_str u = arena_str(&c->arena, best->uri_raw.p, best->uri_raw.len);
    if (!u.p || pl_msg_set_ruri(&c->msg, u) != PL_OK)
        return PL_ENOMEM;
    c->redirects++;
    c->ua->stats.redirects++;
    pl__ua_log(c->ua, PL_UA_LOG_INFO, c->msg.call_id, "%u: redirected to %.*s", resp->status,
               (int)u.len, u.p);
    return PL_OK;
}

/*
 * The ACK of a 2xx to an INVITE is the UA's, not the transaction's (RFC
 * 3261 13.2.2.4): to the 2xx's Contact, through the route set its
 * Record-Route gives (in reverse, 12.1.2), CSeq number of the INVITE, a
 * new branch. The session itself is the application's.
 */
static void ack_2xx(ua_client *c, const pl_msg *resp)
{
    pl_ua *ua = c->ua;
    pl_arena a;
    pl_arena_init(&a, NULL, 0, 0);
    pl_str routes[32];
    size_t nr = 0;
    for (const pl_nameaddr *rr = resp->record_route; rr && nr < 32; rr = rr->next)
        routes[nr++] = rr->raw;
    pl_str extra[64];
    size_t n = 0;
    for (size_t i = nr; i-- > 0;) {
        extra[n++] = PL_STR_LIT("Route");
        extra[n++] = routes[i];
    }
    if (nr == 0)
        for (const pl_nameaddr *r = c->msg.route; r && n < 62; r = r->next) {
            extra[n++] = PL_STR_LIT("Route");
            extra[n++] = r->raw;
        }
    pl_str target = resp->contact ? resp->contact->uri_raw : c->msg.ruri_raw;
    pl_uri hop_uri;
    const pl_uri *hop = NULL;
    pl_nameaddr first;
    if (n) {
        if (pl_nameaddr_parse(&first, extra[1], 16, NULL) == PL_OK)
            hop = &first.uri;
    } else if (pl_uri_parse(&hop_uri, target, NULL) == PL_OK) {
        hop = &hop_uri;
    }
    pl_target dst;
    char host[256], hostport[128];
    uint16_t port;
    if (!hop ||
        pl_dns_uri_target(hop, c->dst.transport, &dst, host, sizeof(host), &port) != PL_OK ||
        pl__ua_local_for(ua, &dst, hostport, sizeof(hostport)) != PL_OK) {
        pl__ua_log(ua, PL_UA_LOG_WARN, resp->call_id, "cannot ACK the 2xx: no numeric next hop");
        pl_arena_free(&a);
        return;
    }
    pl_request_spec spec;
    memset(&spec, 0, sizeof(spec));
    spec.method = PL_STR_LIT("ACK");
    spec.ruri = target;
    spec.from = c->msg.from->raw; /* keeps its tag */
    spec.to = resp->to->raw;      /* the 2xx's, with the callee's tag */
    spec.call_id = c->msg.call_id;
    spec.cseq = c->msg.cseq.num;
    spec.via_transport = pl_str_c(pl_transport_name(dst.transport));
    spec.via_sent_by = pl_str_c(hostport);
    spec.extra = extra;
    spec.n_extra = n / 2;
    pl_msg ack;
    if (pl_msg_build_request(&ack, &a, &spec, NULL) == PL_OK)
        pl_txn_send_stateless(ua->layer, &ack, &dst);
    pl_arena_free(&a);
}

static void on_txn_response(pl_txn *ct, const pl_msg *resp, bool final, void *arg)
{
    (void)ct;
    ua_client *c = arg;
    pl_ua *ua = c->ua;
    if (!final) {
        if (c->h.h.on_provisional && !c->internal)
            c->h.h.on_provisional(ua, c->id, resp, c->app ? c->app : c->h.user);
        return;
    }
    bool invite_2xx = c->msg.method_id == PL_METHOD_INVITE && resp->status < 300;
    if (invite_2xx) {
        /* Kept, so that freeing the request silences its 2xx retransmissions. */
        ack_2xx(c, resp);
    } else {
        c->txn = NULL; /* the transaction reports nothing after its final response */
    }
    bool retry = false;
    if ((resp->status == 401 || resp->status == 407) && pl__ua_auth_learn(c, resp) == PL_OK) {
        c->auth_rounds++;
        ua->stats.auth_retries++;
        retry = true;
    } else if (resp->status >= 300 && resp->status < 400 && !c->internal &&
               redirect(c, resp) == PL_OK) {
        retry = true;
    }
    if (retry) {
        /* A new transaction: the same Call-ID and From tag, CSeq one higher (8.1.3.5). */
        if (set_cseq(c, c->msg.cseq.num + 1) == PL_OK && pl__ua_client_transmit(c) == PL_OK)
            return;
    }
    deliver_final(c, resp);
}

int pl__ua_client_internal(pl_ua *ua, const pl_request_spec *spec, const pl_ua_profile *p,
                           ua_client_done done, void *arg)
{
    ua_client *c = client_alloc(ua, p);
    if (!c)
        return PL_ENOMEM;
    c->internal = done;
    c->internal_arg = arg;
    int rc = pl_msg_build_request(&c->msg, &c->arena, spec, NULL);
    if (rc != PL_OK) {
        pl__ua_client_free(c);
        return rc;
    }
    return pl__ua_client_transmit(c);
}
