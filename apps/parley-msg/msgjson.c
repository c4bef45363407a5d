/*
 * msgjson.c - a parsed SIP message as JSON (see docs/parley-msg.md, OUTPUT).
 *
 * Fields that the message does not carry are null (or, for rport, left out),
 * never an empty string, so that a consumer can tell "absent" from "empty".
 */
#include "msgjson.h"

#include <stdio.h>
#include <stdlib.h>

static void out_of_memory(void)
{
    fputs("parley-msg: out of memory\n", stderr);
    exit(2);
}

static json_t *must(json_t *v)
{
    if (v == NULL)
        out_of_memory();
    return v;
}

/* Set key to v (a new reference, which this takes). */
static void set(json_t *obj, const char *key, json_t *v)
{
    if (v == NULL || json_object_set_new(obj, key, v) != 0)
        out_of_memory();
}

static void push(json_t *arr, json_t *v)
{
    if (v == NULL || json_array_append_new(arr, v) != 0)
        out_of_memory();
}

static json_t *new_object(void)
{
    return must(json_object());
}

static json_t *new_array(void)
{
    return must(json_array());
}

static json_t *uint_json(uint64_t v)
{
    return must(json_integer((json_int_t)v));
}

json_t *pm_json_str(pl_str s)
{
    static const char hex[] = "0123456789ABCDEF";
    json_t *j;
    char *buf;
    size_t i, o = 0;

    if (s.p == NULL || s.len == 0)
        return must(json_string(""));
    j = json_stringn(s.p, s.len);
    if (j != NULL)
        return j;

    /* Not valid UTF-8: spell every byte >= 0x80 as \xHH. */
    if (s.len > (((size_t)-1) - 1) / 4)
        out_of_memory();
    buf = malloc(s.len * 4 + 1);
    if (buf == NULL)
        out_of_memory();
    for (i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c >= 0x80) {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[c >> 4];
            buf[o++] = hex[c & 0x0f];
        } else {
            buf[o++] = (char)c;
        }
    }
    j = json_stringn(buf, o);
    free(buf);
    return must(j);
}

/* A string, or null when s is empty. */
static json_t *str_or_null(pl_str s)
{
    if (s.len == 0)
        return must(json_null());
    return pm_json_str(s);
}

static json_t *cstr_or_null(const char *s)
{
    if (s == NULL)
        return must(json_null());
    return pm_json_str(pl_str_c(s));
}

/* A number when s is a decimal of at most max, else the string as written. */
static json_t *number_or_str(pl_str s, uint32_t max)
{
    uint32_t v;

    if (pl_str_to_u32(s, max, &v) == PL_OK)
        return uint_json(v);
    return pm_json_str(s);
}

/* [{"name": ..., "value": ... or null}] from a parameter list (sep ';' or '&'). */
static json_t *params_json(pl_str params, char sep)
{
    json_t *arr = new_array();
    pl_str rest = params;
    pl_param p;
    size_t guard = params.len + 1; /* each parameter takes at least one byte */

    while (guard-- > 0 && pl_param_next(&rest, sep, &p)) {
        json_t *o = new_object();
        set(o, "name", pm_json_str(p.name));
        set(o, "value", p.has_value ? pm_json_str(p.value) : json_null());
        push(arr, o);
    }
    return arr;
}

static const char *host_type_name(pl_host_type t)
{
    switch (t) {
    case PL_HOST_NAME:
        return "name";
    case PL_HOST_IPV4:
        return "ipv4";
    case PL_HOST_IPV6:
        return "ipv6";
    case PL_HOST_NONE:
    default:
        return NULL;
    }
}

static json_t *port_json(pl_str port_str, uint16_t port)
{
    if (port_str.len == 0)
        return must(json_null());
    return uint_json(port);
}

static json_t *uri_json(pl_str raw, const pl_uri *u)
{
    json_t *o = new_object();

    set(o, "raw", pm_json_str(raw));
    set(o, "scheme", pm_json_str(u->scheme_str));
    set(o, "user", str_or_null(u->user));
    if (u->has_password)
        set(o, "password", pm_json_str(u->password));
    set(o, "host", str_or_null(u->host));
    set(o, "host_type", cstr_or_null(host_type_name(u->host_type)));
    set(o, "port", port_json(u->port_str, u->port));
    set(o, "params", params_json(u->params, ';'));
    set(o, "headers", params_json(u->headers, '&'));
    if (u->scheme == PL_URI_OTHER)
        set(o, "opaque", pm_json_str(u->opaque));
    return o;
}

static json_t *display_decoded_json(pl_str display)
{
    json_t *j;
    char *buf;
    size_t n = 0;

    if (display.len == 0)
        return must(json_null());
    buf = malloc(display.len + 1);
    if (buf == NULL)
        out_of_memory();
    if (pl_display_name_decode(display, buf, display.len + 1, &n) == PL_OK &&
        n <= display.len + 1) {
        pl_str s = {buf, n};
        j = pm_json_str(s);
    } else {
        j = must(json_null());
    }
    free(buf);
    return j;
}

/* From and To: display (raw), display_decoded, uri, tag, params. */
static json_t *party_json(const pl_nameaddr *na)
{
    json_t *o;

    if (na == NULL)
        return must(json_null());
    o = new_object();
    set(o, "display", str_or_null(na->display));
    set(o, "display_decoded", display_decoded_json(na->display));
    set(o, "uri", uri_json(na->uri_raw, &na->uri));
    set(o, "tag", na->has_tag ? pm_json_str(na->tag) : json_null());
    set(o, "params", params_json(na->params, ';'));
    return o;
}

/* Contact, Route, Record-Route: an array of {display, uri, params}. */
static json_t *nameaddr_list_json(const pl_nameaddr *first, uint32_t count)
{
    json_t *arr = new_array();
    const pl_nameaddr *na;
    uint32_t n = 0;

    for (na = first; na != NULL && n < count; na = na->next, n++) {
        json_t *o = new_object();
        set(o, "display", str_or_null(na->display));
        set(o, "uri", uri_json(na->uri_raw, &na->uri));
        set(o, "params", params_json(na->params, ';'));
        push(arr, o);
    }
    return arr;
}

static json_t *via_json(const pl_via *v)
{
    json_t *o = new_object();

    set(o, "protocol", pm_json_str(v->protocol));
    set(o, "transport", pm_json_str(v->transport));
    set(o, "host", pm_json_str(v->host));
    set(o, "host_type", cstr_or_null(host_type_name(v->host_type)));
    set(o, "port", port_json(v->port_str, v->port));
    set(o, "branch", v->has_branch ? pm_json_str(v->branch) : json_null());
    set(o, "received", v->has_received ? pm_json_str(v->received) : json_null());
    if (v->has_rport) {
        if (v->rport_value.len == 0)
            set(o, "rport", json_true());
        else
            set(o, "rport", number_or_str(v->rport_value, 65535u));
    }
    set(o, "maddr", str_or_null(v->maddr));
    set(o, "ttl", v->ttl.len == 0 ? json_null() : number_or_str(v->ttl, 255u));
    set(o, "params", params_json(v->params, ';'));
    return o;
}

static json_t *vias_json(const pl_msg *m)
{
    json_t *arr = new_array();
    const pl_via *v;
    uint32_t n = 0;

    for (v = m->via; v != NULL && n < m->via_count; v = v->next, n++)
        push(arr, via_json(v));
    return arr;
}

static json_t *headers_json(const pl_msg *m)
{
    json_t *arr = new_array();
    uint32_t i;

    for (i = 0; i < m->hdr_count; i++) {
        const pl_hdr *h = &m->hdrs[i];
        json_t *o = new_object();
        const char *canon = h->id == PL_HDR_OTHER ? NULL : pl_hdr_canonical_name(h->id);
        set(o, "name", pm_json_str(h->name));
        set(o, "canonical", cstr_or_null(canon));
        set(o, "value", pm_json_str(h->value));
        push(arr, o);
    }
    return arr;
}

json_t *pm_msg_to_json(const pl_msg *m)
{
    json_t *root = new_object();

    if (m->is_request) {
        set(root, "kind", json_string("request"));
        set(root, "method", pm_json_str(m->method));
        set(root, "request_uri", uri_json(m->ruri_raw, &m->ruri));
    } else {
        set(root, "kind", json_string("response"));
        set(root, "status", uint_json(m->status));
        set(root, "reason", pm_json_str(m->reason));
    }
    set(root, "version", pm_json_str(m->version));
    set(root, "headers", headers_json(m));

    set(root, "via", vias_json(m));
    set(root, "from", party_json(m->from));
    set(root, "to", party_json(m->to));
    set(root, "call_id", str_or_null(m->call_id));
    if (m->has_cseq) {
        json_t *cseq = new_object();
        set(cseq, "number", uint_json(m->cseq.num));
        set(cseq, "method", pm_json_str(m->cseq.method));
        set(root, "cseq", cseq);
    } else {
        set(root, "cseq", json_null());
    }
    set(root, "max_forwards", m->has_max_forwards ? uint_json(m->max_forwards) : json_null());
    if (m->contact_star)
        set(root, "contact", json_string("*"));
    else
        set(root, "contact", nameaddr_list_json(m->contact, m->contact_count));
    set(root, "route", nameaddr_list_json(m->route, m->route_count));
    set(root, "record_route", nameaddr_list_json(m->record_route, m->record_route_count));
    set(root, "content_length", m->has_content_length ? uint_json(m->content_length) : json_null());
    if (m->has_content_type) {
        json_t *ct = new_object();
        set(ct, "type", pm_json_str(m->content_type.type));
        set(ct, "subtype", pm_json_str(m->content_type.subtype));
        set(ct, "params", params_json(m->content_type.params, ';'));
        set(root, "content_type", ct);
    } else {
        set(root, "content_type", json_null());
    }
    set(root, "expires", m->has_expires ? uint_json(m->expires) : json_null());
    set(root, "body_length", uint_json(m->body.len));
    return root;
}

json_t *pm_check_to_json(bool ok, uint16_t code, const char *reason)
{
    json_t *o = new_object();

    set(o, "ok", json_boolean(ok));
    if (!ok) {
        set(o, "code", uint_json(code));
        set(o, "reason", pm_json_str(pl_str_c(reason != NULL ? reason : "check failed")));
    }
    return o;
}
