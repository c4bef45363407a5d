/*
 * uri.c - SIP, SIPS and tel URIs: parsing in place (RFC 3261 section 19.1,
 * section 25.1 grammar; RFC 3966 for tel), %HH escaping, and the equality
 * rules of RFC 3261 section 19.1.4.
 *
 * The parser finds '@' first: a user part may carry ';', '?' and '/' (the
 * user-unreserved set), while no parameter or header may carry a bare '@',
 * so the first '@' always ends the userinfo (RFC 4475 semiuri).
 */
#include <parley/uri.h>

#include <arpa/inet.h>
#include <string.h>

#include "chars.h"
#include "msg_int.h"

static int fail(pl_error *err, const char *base, const char *at, const char *why)
{
    if (err) {
        err->code = PL_EPARSE;
        err->offset = (size_t)(at - base);
        err->reason = why;
    }
    return PL_EPARSE;
}

/* Scan bytes of class cls or %HH escapes; NULL on a bad escape. */
static const char *skip_escaped(const char *p, const char *end, uint16_t cls)
{
    for (;;) {
        while (p < end && cc_is((unsigned char)*p, cls))
            p++;
        if (p == end || *p != '%')
            return p;
        if (end - p < 3 || !cc_is((unsigned char)p[1], CC_HEX) ||
            !cc_is((unsigned char)p[2], CC_HEX))
            return NULL;
        p += 3;
    }
}

/* IPv6 reference "[...]" (RFC 3261 25.1, RFC 5118): the address inside
 * is checked by inet_pton, the reference implementation of RFC 4291's
 * text forms (with an IPv4 tail allowed). */
static bool parse_ipv6_ref(const char *p, const char *end)
{
    char addr[INET6_ADDRSTRLEN];
    size_t n = (size_t)(end - p);
    if (n < 4 || p[0] != '[' || end[-1] != ']' || n - 2 >= sizeof(addr))
        return false;
    memcpy(addr, p + 1, n - 2);
    addr[n - 2] = '\0';
    if (memchr(addr, '%', n - 2))
        return false; /* no zone ids in SIP */
    struct in6_addr a;
    return inet_pton(AF_INET6, addr, &a) == 1;
}

/* A dotted quad at p (four groups of 1 to 3 digits, each at most 255) not
 * followed by another host character: the byte after it, or NULL. */
static const char *ipv4_scan(const char *p, const char *end)
{
    for (int g = 0; g < 4; g++) {
        if (p == end || (unsigned)(*p - '0') > 9)
            return NULL;
        unsigned v = (unsigned)(*p++ - '0');
        if (p < end && (unsigned)(*p - '0') <= 9) {
            v = v * 10 + (unsigned)(*p++ - '0');
            if (p < end && (unsigned)(*p - '0') <= 9) {
                v = v * 10 + (unsigned)(*p++ - '0');
                if (v > 255)
                    return NULL;
            }
        }
        if (g < 3) {
            if (p == end || *p != '.')
                return NULL;
            p++;
        }
    }
    if (p < end && cc_is((unsigned char)*p, CC_HOST))
        return NULL;
    return p;
}

const char *pl__host_scan(const char *p, const char *end, pl_host_type *type, const char **why)
{
    const char *h = p;
    if (p < end && *p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (!close) {
            *why = "unterminated IPv6 reference";
            return NULL;
        }
        p = close + 1;
        if (!parse_ipv6_ref(h, p)) {
            *why = "bad IPv6 reference";
            return NULL;
        }
        *type = PL_HOST_IPV6;
        return p;
    }
    /* Fast path for the common numeric host. */
    if (p < end && cc_is((unsigned char)*p, CC_DIGIT)) {
        const char *q = ipv4_scan(p, end);
        if (q) {
            *type = PL_HOST_IPV4;
            return q;
        }
    }
    /* Letters and digits run through a tight loop; the separators '.' and
     * '-' (a few per host) are checked for label shape as they come, and so
     * is the dotted quad an all-digit host must be: four groups of 1 to 3
     * digits, each at most 255. */
    const char *label = p;
    uint16_t seen = 0;
    unsigned dots = 0;
    bool quad_ok = true;
    for (;;) {
        while (p < end && (pl_cc[(unsigned char)*p] & (CC_ALPHA | CC_DIGIT)))
            seen |= pl_cc[(unsigned char)*p++];
        if (!(seen & CC_ALPHA) && quad_ok) {
            size_t n = (size_t)(p - label);
            quad_ok = n >= 1 && n <= 3 && (n < 3 || memcmp(label, "255", 3) <= 0);
        }
        if (p == end || (*p != '.' && *p != '-'))
            break;
        if (*p == '.') {
            if (p == label || p[-1] == '-')
                break;
            dots++;
            label = p + 1;
        } else {
            if (p == label)
                break;
            seen |= CC_ALPHA; /* a hyphen makes it a name, not an address */
        }
        p++;
    }
    if (p == h) {
        *why = "missing host";
        return NULL;
    }
    if (p < end && (*p == '.' || *p == '-')) {
        *why = "bad host name";
        return NULL;
    }
    if (!(seen & CC_ALPHA)) {
        if (!quad_ok || dots != 3) {
            *why = "bad IPv4 address";
            return NULL;
        }
        *type = PL_HOST_IPV4;
        return p;
    }
    if (p[-1] == '-') {
        *why = "bad host name";
        return NULL;
    }
    *type = PL_HOST_NAME;
    return p;
}

static int parse_host(pl_uri *u, const char *p, const char *end, const char *base, pl_error *err,
                      const char **out)
{
    const char *h = p, *why = NULL;
    p = pl__host_scan(p, end, &u->host_type, &why);
    if (!p)
        return fail(err, base, h, why);
    u->host.p = h;
    u->host.len = (size_t)(p - h);
    if (p < end && *p == ':') {
        const char *ps = ++p;
        p = skip_class(p, end, CC_DIGIT);
        u->port_str.p = ps;
        u->port_str.len = (size_t)(p - ps);
        uint32_t port;
        if (pl_str_to_u32(u->port_str, 65535, &port) != PL_OK || port == 0)
            return fail(err, base, ps, "bad port");
        u->port = (uint16_t)port;
    }
    *out = p;
    return PL_OK;
}

static void note_uri_param(pl_uri *u, pl_str name, pl_str value, bool has_value)
{
    switch (name.len) {
    case 2:
        if (STR_IS(name, "lr"))
            u->lr = true;
        break;
    case 3:
        if (has_value && STR_IS(name, "ttl"))
            u->ttl = value;
        break;
    case 4:
        if (has_value && STR_IS(name, "user"))
            u->user_param = value;
        break;
    case 5:
        if (has_value && STR_IS(name, "maddr"))
            u->maddr = value;
        break;
    case 6:
        if (has_value && STR_IS(name, "method"))
            u->method = value;
        break;
    case 9:
        if (has_value && STR_IS(name, "transport"))
            u->transport = value;
        break;
    default:
        break;
    }
}

/* The most parameters one URI may carry; past it the URI is refused. */
#define URI_MAX_PARAMS 64

/* uri-parameters = *( ";" pname [ "=" pvalue ] ). RFC 3261 19.1.1: a
 * parameter name must not appear twice (case-insensitive, as compared). */
static int parse_uri_params(pl_uri *u, const char *p, const char *end, const char *base,
                            pl_error *err, const char **out)
{
    const char *start = p;
    pl_str names[URI_MAX_PARAMS];
    unsigned count = 0;
    while (p < end && *p == ';') {
        const char *n = ++p;
        p = skip_escaped(p, end, CC_UNRESERVED | CC_PARAM);
        if (!p)
            return fail(err, base, n, "bad escape in URI parameter");
        if (p == n)
            return fail(err, base, n, "empty URI parameter name");
        pl_str name = {n, (size_t)(p - n)};
        if (count == URI_MAX_PARAMS)
            return fail(err, base, n, "too many URI parameters");
        for (unsigned k = 0; k < count; k++) {
            if (pl_str_case_eq(names[k], name))
                return fail(err, base, n, "duplicate URI parameter");
        }
        names[count++] = name;
        pl_str value = {NULL, 0};
        bool has_value = false;
        if (p < end && *p == '=') {
            const char *v = ++p;
            p = skip_escaped(p, end, CC_UNRESERVED | CC_PARAM);
            if (!p)
                return fail(err, base, v, "bad escape in URI parameter");
            if (p == v)
                return fail(err, base, v, "empty URI parameter value");
            value.p = v;
            value.len = (size_t)(p - v);
            has_value = true;
        }
        note_uri_param(u, name, value, has_value);
    }
    u->params.p = start;
    u->params.len = (size_t)(p - start);
    *out = p;
    return PL_OK;
}

/* headers = "?" header *( "&" header ); header = hname "=" hvalue */
static int parse_uri_headers(pl_uri *u, const char *p, const char *end, const char *base,
                             pl_error *err, const char **out)
{
    const char *start = p;
    unsigned count = 0;
    for (;;) {
        const char *n = p;
        if (++count > URI_MAX_PARAMS)
            return fail(err, base, n, "too many URI headers");
        p = skip_escaped(p, end, CC_UNRESERVED | CC_HNV);
        if (!p || p == n)
            return fail(err, base, n, "bad URI header name");
        if (p == end || *p != '=')
            return fail(err, base, p, "URI header without '='");
        const char *v = ++p;
        p = skip_escaped(p, end, CC_UNRESERVED | CC_HNV);
        if (!p)
            return fail(err, base, v, "bad escape in URI header");
        if (p < end && *p == '&') {
            p++;
            continue;
        }
        break;
    }
    u->headers.p = start;
    u->headers.len = (size_t)(p - start);
    *out = p;
    return PL_OK;
}

static int parse_sip(pl_uri *u, const char *p, const char *end, const char *base, pl_error *err)
{
    /* userinfo: user [":" password] "@". The user set takes in every byte a
     * host, parameter or header may hold except '@' and ':', so one scan
     * tells whether there is a userinfo at all. */
    const char *q = skip_escaped(p, end, CC_UNRESERVED | CC_USER);
    if (!q) {
        /* A bad escape: the user's fault if there is a user, else the
         * host's or a parameter's, reported where it is found below. */
        if (memchr(p, '@', (size_t)(end - p)))
            return fail(err, base, p, "bad escape in URI user");
        q = p;
    }
    const char *at = NULL, *colon = NULL;
    if (q < end && *q == '@') {
        at = q;
    } else if (q < end && *q == ':') {
        const char *w = skip_escaped(q + 1, end, CC_UNRESERVED | CC_PASSWORD);
        if (w && w < end && *w == '@') {
            colon = q;
            at = w;
        }
    }
    if (at) {
        const char *uend = colon ? colon : at;
        if (uend == p)
            return fail(err, base, p, "empty URI user");
        u->user.p = p;
        u->user.len = (size_t)(uend - p);
        if (colon) {
            u->password.p = colon + 1;
            u->password.len = (size_t)(at - colon - 1);
            u->has_password = true;
        }
        p = at + 1;
    }
    int rc = parse_host(u, p, end, base, err, &p);
    if (rc != PL_OK)
        return rc;
    rc = parse_uri_params(u, p, end, base, err, &p);
    if (rc != PL_OK)
        return rc;
    if (p < end && *p == '?') {
        rc = parse_uri_headers(u, p + 1, end, base, err, &p);
        if (rc != PL_OK)
            return rc;
    }
    if (p != end)
        return fail(err, base, p, "unexpected character in URI");
    return PL_OK;
}

/* tel: RFC 3966 telephone-subscriber *par; checked loosely for its characters. */
static int parse_tel(pl_uri *u, const char *p, const char *end, const char *base, pl_error *err)
{
    const char *n = p;
    p = skip_class(p, end, CC_TELSUB);
    if (p == n)
        return fail(err, base, n, "empty tel number");
    u->user.p = n;
    u->user.len = (size_t)(p - n);
    int rc = parse_uri_params(u, p, end, base, err, &p);
    if (rc != PL_OK)
        return rc;
    if (p != end)
        return fail(err, base, p, "unexpected character in tel URI");
    return PL_OK;
}

int pl_uri_parse(pl_uri *u, pl_str s, pl_error *err)
{
    memset(u, 0, sizeof(*u));
    s = str_nn(s);
    const char *p = s.p, *end = s.p + s.len, *base = s.p;
    if (s.len == 0)
        return fail(err, base, p, "empty URI");
    /* The scheme nearly every URI has, in its usual spelling. */
    if (s.len > 4 && memcmp(p, "sip:", 4) == 0) {
        u->scheme = PL_URI_SIP;
        u->scheme_str.p = p;
        u->scheme_str.len = 3;
        return parse_sip(u, p + 4, end, base, err);
    }
    if (!cc_is((unsigned char)*p, CC_ALPHA))
        return fail(err, base, p, "URI does not start with a scheme");
    const char *sc = p;
    p = skip_class(p, end, CC_SCHEME);
    if (p == end || *p != ':')
        return fail(err, base, p, "URI scheme without ':'");
    u->scheme_str.p = sc;
    u->scheme_str.len = (size_t)(p - sc);
    p++;
    if (STR_IS(u->scheme_str, "sip"))
        u->scheme = PL_URI_SIP;
    else if (STR_IS(u->scheme_str, "sips"))
        u->scheme = PL_URI_SIPS;
    else if (STR_IS(u->scheme_str, "tel"))
        u->scheme = PL_URI_TEL;
    else
        u->scheme = PL_URI_OTHER;
    switch (u->scheme) {
    case PL_URI_SIP:
    case PL_URI_SIPS:
        return parse_sip(u, p, end, base, err);
    case PL_URI_TEL:
        return parse_tel(u, p, end, base, err);
    case PL_URI_OTHER:
    default:
        for (const char *q = p; q < end; q++) {
            unsigned char c = (unsigned char)*q;
            if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '"')
                return fail(err, base, q, "bad character in URI");
        }
        if (p == end)
            return fail(err, base, p, "empty URI after scheme");
        u->opaque.p = p;
        u->opaque.len = (size_t)(end - p);
        return PL_OK;
    }
}

/* ---- escaping */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)cc_lower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int pl_uri_unescape(pl_str in, char *out, size_t cap, size_t *out_len)
{
    size_t o = 0;
    for (size_t i = 0; i < in.len; i++) {
        char c = in.p[i];
        if (c == '%') {
            if (in.len - i < 3)
                return PL_EPARSE;
            int hi = hexval(in.p[i + 1]), lo = hexval(in.p[i + 2]);
            if (hi < 0 || lo < 0)
                return PL_EPARSE;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o >= cap)
            return PL_ENOSPC;
        out[o++] = c;
    }
    *out_len = o;
    return PL_OK;
}

static uint16_t part_class(pl_uri_part part)
{
    switch (part) {
    case PL_URI_PART_USER:
        return CC_UNRESERVED | CC_USER;
    case PL_URI_PART_PASSWORD:
        return CC_UNRESERVED | CC_PASSWORD;
    case PL_URI_PART_PARAM:
        return CC_UNRESERVED | CC_PARAM;
    case PL_URI_PART_HEADER:
    default:
        return CC_UNRESERVED | CC_HNV;
    }
}

int pl_uri_escape(pl_str in, pl_uri_part part, char *out, size_t cap, size_t *out_len)
{
    static const char hex[] = "0123456789ABCDEF";
    uint16_t cls = part_class(part);
    size_t o = 0;
    for (size_t i = 0; i < in.len; i++) {
        unsigned char c = (unsigned char)in.p[i];
        if (cc_is(c, cls)) {
            if (o + 1 > cap)
                return PL_ENOSPC;
            out[o++] = (char)c;
        } else {
            if (o + 3 > cap)
                return PL_ENOSPC;
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    *out_len = o;
    return PL_OK;
}

/* ---- parameters */

bool pl_param_next(pl_str *rest, char sep, pl_param *param)
{
    *rest = str_nn(*rest);
    const char *p = rest->p, *end = rest->p + rest->len;
    for (;;) {
        while (p < end && (cc_lws(*p) || *p == sep))
            p++;
        if (p >= end) {
            rest->p = end;
            rest->len = 0;
            return false;
        }
        const char *n = p;
        while (p < end && *p != '=' && *p != sep && !cc_lws(*p))
            p++;
        param->name.p = n;
        param->name.len = (size_t)(p - n);
        param->value.p = NULL;
        param->value.len = 0;
        param->has_value = false;
        const char *q = skip_lws(p, end);
        if (q < end && *q == '=') {
            q = skip_lws(q + 1, end);
            const char *v = q;
            if (q < end && *q == '"') {
                const char *e = skip_quoted(q, end);
                q = e ? e : end;
            } else {
                while (q < end && *q != sep && !cc_lws(*q))
                    q++;
            }
            param->value.p = v;
            param->value.len = (size_t)(q - v);
            param->has_value = true;
            p = q;
        }
        rest->p = p;
        rest->len = (size_t)(end - p);
        if (param->name.len > 0)
            return true;
    }
}

bool pl_param_find(pl_str params, const char *name, pl_str *value)
{
    pl_param prm;
    pl_str n = pl_str_c(name);
    while (pl_param_next(&params, ';', &prm)) {
        if (pl_str_case_eq(prm.name, n)) {
            if (value)
                *value = prm.value;
            return true;
        }
    }
    return false;
}

/* ---- equality, RFC 3261 section 19.1.4 */

/* Next decoded byte of an escaped string; *escaped says whether it came from %HH. */
static bool esc_next(const char **p, const char *end, unsigned char *c, bool *escaped)
{
    if (*p >= end)
        return false;
    if (**p == '%' && end - *p >= 3 && hexval((*p)[1]) >= 0 && hexval((*p)[2]) >= 0) {
        *c = (unsigned char)(hexval((*p)[1]) * 16 + hexval((*p)[2]));
        *escaped = true;
        *p += 3;
    } else {
        *c = (unsigned char)**p;
        *escaped = false;
        *p += 1;
    }
    return true;
}

static bool is_reserved(unsigned char c)
{
    return c && strchr(";/?:@&=+$,", c) != NULL;
}

/* Compare two escaped strings: an escaped unreserved byte equals the bare one,
 * an escaped reserved byte does not (19.1.4). */
static bool esc_eq(pl_str a, pl_str b, bool nocase)
{
    a = str_nn(a);
    b = str_nn(b);
    const char *pa = a.p, *ea = a.p + a.len, *pb = b.p, *eb = b.p + b.len;
    for (;;) {
        unsigned char ca = 0, cb = 0;
        bool xa = false, xb = false;
        bool ha = esc_next(&pa, ea, &ca, &xa), hb = esc_next(&pb, eb, &cb, &xb);
        if (!ha || !hb)
            return ha == hb;
        if (nocase) {
            ca = cc_lower(ca);
            cb = cc_lower(cb);
        }
        if (ca != cb)
            return false;
        if (xa != xb && is_reserved(ca))
            return false;
    }
}

static bool param_lookup(pl_str params, char sep, pl_str name, pl_param *out)
{
    pl_param prm;
    while (pl_param_next(&params, sep, &prm)) {
        if (esc_eq(prm.name, name, true)) {
            *out = prm;
            return true;
        }
    }
    return false;
}

static bool param_values_eq(const pl_param *a, const pl_param *b)
{
    return a->has_value == b->has_value && esc_eq(a->value, b->value, true);
}

static bool is_strict_param(pl_str name)
{
    static const char *const strict[] = {"user", "ttl", "method", "maddr", "transport"};
    for (size_t i = 0; i < sizeof(strict) / sizeof(strict[0]); i++) {
        if (esc_eq(name, pl_str_c(strict[i]), true))
            return true;
    }
    return false;
}

/* Parameters: strict ones must match both ways; others only where both have them. */
static bool params_eq(pl_str pa, pl_str pb)
{
    pl_param x, y;
    pl_str it = pa;
    while (pl_param_next(&it, ';', &x)) {
        if (param_lookup(pb, ';', x.name, &y)) {
            if (!param_values_eq(&x, &y))
                return false;
        } else if (is_strict_param(x.name)) {
            return false;
        }
    }
    it = pb;
    while (pl_param_next(&it, ';', &y)) {
        if (is_strict_param(y.name) && !param_lookup(pa, ';', y.name, &x))
            return false;
    }
    return true;
}

/* How many headers of list equal x (name and value). */
static size_t header_count(pl_str list, const pl_param *x)
{
    pl_param y;
    size_t n = 0;
    while (pl_param_next(&list, '&', &y)) {
        if (esc_eq(y.name, x->name, true) && param_values_eq(&y, x))
            n++;
    }
    return n;
}

/* URI headers: every one must be present in both with equal values. A name
 * may repeat (?Route=a&Route=b), so they compare as multisets. */
static bool headers_eq(pl_str ha, pl_str hb)
{
    pl_param x;
    size_t na = 0, nb = 0;
    pl_str it = ha;
    while (pl_param_next(&it, '&', &x)) {
        na++;
        if (header_count(ha, &x) != header_count(hb, &x))
            return false;
    }
    it = hb;
    while (pl_param_next(&it, '&', &x))
        nb++;
    return na == nb;
}

/* tel numbers: digits and letters compared, visual separators - . ( ) ignored. */
static bool tel_number_eq(pl_str a, pl_str b)
{
    size_t i = 0, j = 0;
    for (;;) {
        while (i < a.len && strchr("-.()", a.p[i]))
            i++;
        while (j < b.len && strchr("-.()", b.p[j]))
            j++;
        if (i == a.len || j == b.len)
            return i == a.len && j == b.len;
        if (cc_lower((unsigned char)a.p[i]) != cc_lower((unsigned char)b.p[j]))
            return false;
        i++;
        j++;
    }
}

static bool tel_params_eq(pl_str pa, pl_str pb)
{
    pl_param x, y;
    size_t na = 0, nb = 0;
    pl_str it = pa;
    while (pl_param_next(&it, ';', &x)) {
        na++;
        if (!param_lookup(pb, ';', x.name, &y) || !param_values_eq(&x, &y))
            return false;
    }
    it = pb;
    while (pl_param_next(&it, ';', &y))
        nb++;
    return na == nb;
}

bool pl_uri_equal(const pl_uri *a, const pl_uri *b)
{
    if (a->scheme != b->scheme)
        return false;
    switch (a->scheme) {
    case PL_URI_TEL:
        return tel_number_eq(a->user, b->user) && tel_params_eq(a->params, b->params);
    case PL_URI_OTHER:
        return pl_str_case_eq(a->scheme_str, b->scheme_str) && pl_str_eq(a->opaque, b->opaque);
    case PL_URI_SIP:
    case PL_URI_SIPS:
    default:
        break;
    }
    if ((a->user.len == 0) != (b->user.len == 0) || !esc_eq(a->user, b->user, false))
        return false;
    if (a->has_password != b->has_password || !esc_eq(a->password, b->password, false))
        return false;
    if (!pl_str_case_eq(a->host, b->host))
        return false;
    if (a->port != b->port)
        return false;
    return params_eq(a->params, b->params) && headers_eq(a->headers, b->headers);
}
