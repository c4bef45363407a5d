/*
 * check.c - what a message must satisfy before a transaction layer or a
 * UAS acts on it (RFC 3261 sections 8.1.3.1, 8.2.1, 8.2.2, 16.3), and the
 * response a request that fails earns.
 */
#include <string.h>

#include "msg_int.h"

static int refuse(uint16_t *code, pl_error *err, uint16_t c, const char *why)
{
    if (code)
        *code = c;
    if (err) {
        err->code = PL_EPARSE;
        err->offset = 0;
        err->reason = why;
    }
    return PL_EPARSE;
}

/* An IPv4 broadcast or multicast address (224.0.0.0/4, 255.255.255.255), or
 * an IPv6 multicast one (ff00::/8): never a unicast response's next hop. */
static bool unsafe_target(pl_str host)
{
    if (host.len >= 3 && host.p[0] == '[')
        return (host.p[1] == 'f' || host.p[1] == 'F') && (host.p[2] == 'f' || host.p[2] == 'F');
    if (pl_str_eq(host, PL_STR_LIT("255.255.255.255")))
        return true;
    uint32_t first;
    const char *dot = host.len ? memchr(host.p, '.', host.len) : NULL;
    if (!dot || pl_str_to_u32((pl_str){host.p, (size_t)(dot - host.p)}, 255, &first) != PL_OK)
        return false;
    return first >= 224 && first <= 239;
}

bool pl_msg_unsupported(const pl_msg *m, pl_hdr_id id, const char *const *supported, pl_str *tag)
{
    pl_value_iter it;
    pl_str v;
    pl_value_iter_init(&it, m, id);
    while (pl_value_iter_next(&it, &v)) {
        bool known = false;
        for (const char *const *s = supported; s && *s && !known; s++)
            known = pl_str_case_eq_c(v, *s);
        if (!known) {
            if (tag)
                *tag = v;
            return true;
        }
    }
    return false;
}

int pl_msg_check(const pl_msg *m, uint16_t *code, pl_error *err)
{
    if (code)
        *code = 0;
    if (!pl_str_case_eq(m->version, PL_STR_LIT("SIP/2.0")))
        return refuse(code, err, 505, "Version Not Supported");
    if (!m->via)
        return refuse(code, err, 400, "Missing Via header");
    if (!m->from)
        return refuse(code, err, 400, "Missing From header");
    if (!m->to)
        return refuse(code, err, 400, "Missing To header");
    if (!m->call_id.len)
        return refuse(code, err, 400, "Missing Call-ID header");
    if (!m->has_cseq)
        return refuse(code, err, 400, "Missing CSeq header");
    if (!m->is_request) {
        const pl_via *next = m->via->next;
        if (next && (unsafe_target(next->host) || unsafe_target(next->received) ||
                     unsafe_target(next->maddr)))
            return refuse(code, err, 0, "response routed to a broadcast or multicast address");
        return PL_OK;
    }
    if (m->ruri.scheme == PL_URI_OTHER)
        return refuse(code, err, 416, "Unsupported URI Scheme");
    if (m->ruri.headers.len)
        return refuse(code, err, 400, "Request-URI with headers");
    /* RFC 3261 8.2.2 / 12.2.1.1: the CSeq method must be the request's. An
     * unknown method is refused as such first (501), as a UAS would. */
    if (!pl_str_eq(m->cseq.method, m->method)) {
        if (m->method_id == PL_METHOD_OTHER)
            return refuse(code, err, 501, "Not Implemented");
        return refuse(code, err, 400, "CSeq method does not match the request method");
    }
    return PL_OK;
}
