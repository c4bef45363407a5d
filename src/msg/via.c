/*
 * via.c - the Via header field (RFC 3261 section 20.42, RFC 3581 rport).
 *
 * via-parm = sent-protocol LWS sent-by *( SEMI via-params ), where the
 * slashes of sent-protocol and the colon of sent-by may carry LWS and folds
 * (RFC 4475 wsinv). The parameters that transactions and response routing
 * act on are picked out: branch, received, rport, maddr, ttl.
 */
#include <string.h>

#include "chars.h"
#include "msg_int.h"

/* token SWS "/" SWS: returns the byte after the slash's trailing LWS. */
static const char *scan_proto_part(const char *p, const char *end, pl_str *tok, bool slash)
{
    const char *t = p;
    p = skip_class(p, end, CC_TOKEN);
    if (p == t)
        return NULL;
    tok->p = t;
    tok->len = (size_t)(p - t);
    if (!slash)
        return p;
    p = skip_lws(p, end);
    if (p == end || *p != '/')
        return NULL;
    return skip_lws(p + 1, end);
}

/* received = IPv4address / IPv6address (RFC 3261 20.42); RFC 5118 also
 * shows the bare IPv6 form, without brackets. */
static bool received_ok(pl_str v)
{
    pl_host_type t = PL_HOST_NONE;
    const char *why = NULL;
    const char *end = v.p + v.len;
    const char *e = pl__host_scan(v.p, end, &t, &why);
    if (e == end && (t == PL_HOST_IPV4 || t == PL_HOST_IPV6))
        return true;
    if (v.len < 2 || !memchr(v.p, ':', v.len))
        return false;
    for (size_t i = 0; i < v.len; i++) {
        if (!cc_is((unsigned char)v.p[i], CC_HEX) && v.p[i] != ':' && v.p[i] != '.')
            return false;
    }
    return true;
}

static int via_param(void *ctx, const pl_param *prm, const char *base, pl_error *err)
{
    pl_via *v = ctx;
    pl_str n = prm->name;
    if (n.len == 6 && (memcmp(n.p, "branch", 6) == 0 || STR_IS(n, "branch"))) {
        if (!prm->has_value || prm->value.p[0] == '"')
            return pl__fail(err, PL_EPARSE, base, n.p, "bad Via branch");
        if (v->has_branch)
            return pl__fail(err, PL_EPARSE, base, n.p, "duplicate Via branch");
        v->branch = prm->value;
        v->has_branch = true;
    } else if (n.len == 8 && STR_IS(n, "received")) {
        if (!prm->has_value || !received_ok(prm->value))
            return pl__fail(err, PL_EPARSE, base, n.p, "bad Via received address");
        v->received = prm->value;
        v->has_received = true;
    } else if (n.len == 5 && (memcmp(n.p, "rport", 5) == 0 || STR_IS(n, "rport"))) {
        uint32_t port;
        if (prm->has_value && (pl_str_to_u32(prm->value, 65535, &port) != PL_OK || port == 0))
            return pl__fail(err, PL_EPARSE, base, n.p, "bad Via rport");
        v->has_rport = true;
        v->rport_value = prm->value;
    } else if (n.len == 5 && STR_IS(n, "maddr")) {
        pl_host_type t;
        const char *why = NULL;
        if (!prm->has_value || pl__host_scan(prm->value.p, prm->value.p + prm->value.len, &t,
                                             &why) != prm->value.p + prm->value.len)
            return pl__fail(err, PL_EPARSE, base, n.p, "bad Via maddr");
        v->maddr = prm->value;
    } else if (n.len == 3 && STR_IS(n, "ttl")) {
        uint32_t ttl;
        if (!prm->has_value || prm->value.len > 3 || pl_str_to_u32(prm->value, 255, &ttl) != PL_OK)
            return pl__fail(err, PL_EPARSE, base, n.p, "bad Via ttl");
        v->ttl = prm->value;
    }
    return PL_OK;
}

const char *pl__via_scan(pl_via *v, const char *p, const char *end, uint32_t max_params,
                         const char *base, pl_error *err)
{
    memset(v, 0, sizeof(*v));
    p = skip_lws(p, end);
    const char *start = p;
    pl_str name, version;
    const char *q;
    if (end - p > 8 && memcmp(p, "SIP/2.0/", 8) == 0) {
        /* The form nearly every Via has: no blanks, upper case. */
        name.p = p;
        name.len = 3;
        version.p = p + 4;
        version.len = 3;
        q = scan_proto_part(skip_lws(p + 8, end), end, &v->transport, false);
    } else {
        q = scan_proto_part(p, end, &name, true);
        if (q)
            q = scan_proto_part(q, end, &version, true);
        if (q)
            q = scan_proto_part(q, end, &v->transport, false);
    }
    if (!q) {
        pl__fail(err, PL_EPARSE, base, p, "bad Via sent-protocol");
        return NULL;
    }
    v->protocol.p = name.p;
    v->protocol.len = (size_t)(version.p + version.len - name.p);
    p = q;
    if (p == end || !cc_lws(*p)) {
        pl__fail(err, PL_EPARSE, base, p, "missing space before Via sent-by");
        return NULL;
    }
    p = skip_lws(p, end);
    const char *h = p, *why = NULL;
    p = pl__host_scan(p, end, &v->host_type, &why);
    if (!p) {
        pl__fail(err, PL_EPARSE, base, h, why);
        return NULL;
    }
    v->host.p = h;
    v->host.len = (size_t)(p - h);
    q = skip_lws(p, end);
    if (q < end && *q == ':') {
        q = skip_lws(q + 1, end);
        const char *ps = q;
        q = skip_class(q, end, CC_DIGIT);
        v->port_str.p = ps;
        v->port_str.len = (size_t)(q - ps);
        uint32_t port;
        if (pl_str_to_u32(v->port_str, 65535, &port) != PL_OK || port == 0) {
            pl__fail(err, PL_EPARSE, base, ps, "bad Via port");
            return NULL;
        }
        v->port = (uint16_t)port;
        p = q;
    }
    if (pl__hparams_scan(&p, end, max_params, "too many Via parameters", via_param, v, base, err,
                         &v->params) != PL_OK)
        return NULL;
    v->raw.p = start;
    v->raw.len = (size_t)(p - start);
    return p;
}

int pl_via_parse(pl_via *via, pl_str value, uint32_t max_params, pl_error *err)
{
    value = str_nn(value);
    const char *end = value.p + value.len;
    if (!max_params)
        max_params = PL_MSG_DEFAULT_MAX_PARAMS;
    const char *p = pl__via_scan(via, value.p, end, max_params, value.p, err);
    if (!p)
        return err ? err->code : PL_EPARSE;
    p = skip_lws(p, end);
    if (p != end)
        return pl__fail(err, PL_EPARSE, value.p, p, "unexpected character after Via value");
    return PL_OK;
}
