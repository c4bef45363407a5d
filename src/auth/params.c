/*
 * params.c - the auth-param list of a Digest challenge or credentials
 * (RFC 3261 section 25.1, RFC 7235 section 2.1, RFC 7616 section 3.3):
 *
 *   "Digest" LWS [ auth-param *( COMMA auth-param ) ]
 *   auth-param = token EQUAL ( token / quoted-string )
 *
 * with LWS (folds included) allowed around EQUAL and COMMA, and empty list
 * elements skipped as RFC 7230 section 7 asks of a recipient. An unquoted
 * value is taken a little more widely than a token (any visible ASCII but
 * '"', ',' and '\'), since some servers send a base64 nonce bare. Inside a
 * quoted-string every control character but HTAB is refused; a quoted-pair
 * is honoured and flagged so that the caller can refuse it where it reads
 * the value.
 */
#include "auth_int.h"

int pl__auth_fail(pl_error *err, int code, const char *base, const char *at, const char *why)
{
    if (err) {
        err->code = code;
        err->offset = (size_t)(at - base);
        err->reason = why;
    }
    return code;
}

static bool is_lws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static const char *skip_lws(const char *p, const char *end)
{
    while (p < end && is_lws(*p))
        p++;
    return p;
}

/* tchar (RFC 7230 section 3.2.6), a superset of the SIP token. */
static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

static bool is_bare_value(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '"' && c != ',' && c != '\\';
}

bool pl__ap_is(pl_str s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c | 0x20);
        if (c != (unsigned char)lit[i])
            return false;
    }
    return true;
}

/* The scheme must be "Digest" (any case) followed by LWS. PL_OK or PL_EPARSE. */
static int ap_begin(pl__ap_iter *it, pl_str value, pl_error *err)
{
    value = dg_nn(value);
    const char *base = value.p, *end = value.p + value.len;
    it->base = base;
    it->end = end;
    const char *p = skip_lws(base, end);
    const char *s = p;
    while (p < end && is_tchar((unsigned char)*p))
        p++;
    if (p == s)
        return pl__auth_fail(err, PL_EPARSE, base, s, "no authentication scheme");
    if (!pl__ap_is((pl_str){s, (size_t)(p - s)}, "digest"))
        return pl__auth_fail(err, PL_EPARSE, base, s, "not the Digest scheme");
    if (p < end && !is_lws(*p))
        return pl__auth_fail(err, PL_EPARSE, base, p, "no space after the Digest scheme");
    it->p = p;
    return PL_OK;
}

/* The next auth-param: 1 with *out, 0 at the end of the list, PL_EPARSE. */
static int ap_next(pl__ap_iter *it, pl__ap *out, pl_error *err)
{
    const char *base = it->base, *end = it->end;
    const char *p = it->p;
    /* Empty list elements: LWS and commas. */
    for (;;) {
        p = skip_lws(p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        break;
    }
    if (p == end) {
        it->p = p;
        return 0;
    }

    const char *n = p;
    while (p < end && is_tchar((unsigned char)*p))
        p++;
    if (p == n)
        return pl__auth_fail(err, PL_EPARSE, base, n, "bad parameter name");
    out->name = (pl_str){n, (size_t)(p - n)};
    p = skip_lws(p, end);
    if (p == end || *p != '=')
        return pl__auth_fail(err, PL_EPARSE, base, p, "parameter without '='");
    p = skip_lws(p + 1, end);

    out->quoted = false;
    out->escaped = false;
    if (p < end && *p == '"') {
        const char *v = ++p;
        for (;;) {
            if (p == end)
                return pl__auth_fail(err, PL_EPARSE, base, v - 1, "unterminated quoted string");
            unsigned char c = (unsigned char)*p;
            if (c == '"')
                break;
            if (c == '\\') {
                if (end - p < 2 || p[1] == '\r' || p[1] == '\n')
                    return pl__auth_fail(err, PL_EPARSE, base, p, "bad quoted-pair");
                out->escaped = true;
                p += 2;
                continue;
            }
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return pl__auth_fail(err, PL_EPARSE, base, p,
                                     "control character in a quoted string");
            p++;
        }
        out->value = (pl_str){v, (size_t)(p - v)};
        out->quoted = true;
        p++;
    } else {
        const char *v = p;
        while (p < end && is_bare_value((unsigned char)*p))
            p++;
        if (p == v)
            return pl__auth_fail(err, PL_EPARSE, base, v, "empty or bad parameter value");
        out->value = (pl_str){v, (size_t)(p - v)};
    }

    const char *q = skip_lws(p, end);
    if (q < end && *q != ',')
        return pl__auth_fail(err, PL_EPARSE, base, q, "expected ',' after a parameter");
    it->p = q;
    return 1;
}

int pl__ap_scan_begin(pl__ap_scan *s, const pl__ap_known *known, size_t nknown, pl_str value,
                      pl_error *err)
{
    s->known = known;
    s->nknown = nknown;
    s->seen = 0;
    return ap_begin(&s->it, value, err);
}

int pl__ap_scan_next(pl__ap_scan *s, pl__ap *ap, const pl__ap_known **k, pl_error *err)
{
    const char *base = s->it.base;
    int rc;
    while ((rc = ap_next(&s->it, ap, err)) == 1) {
        const pl__ap_known *kp = NULL;
        for (size_t i = 0; i < s->nknown; i++) {
            if (pl__ap_is(ap->name, s->known[i].name)) {
                kp = &s->known[i];
                break;
            }
        }
        if (!kp)
            continue; /* RFC 7616 section 3.3: unknown parameters are ignored */
        if (s->seen & kp->bit)
            return pl__auth_fail(err, PL_EPARSE, base, ap->name.p, kp->dup_reason);
        s->seen |= kp->bit;
        if (ap->escaped && !kp->escape_ok)
            return pl__auth_fail(err, PL_EPARSE, base, ap->value.p,
                                 "backslash escape in a Digest parameter value (not supported)");
        if (kp->long_reason && ap->value.len > PL_DIGEST_MAX_VALUE)
            return pl__auth_fail(err, PL_EPARSE, base, ap->value.p, kp->long_reason);
        *k = kp;
        return 1;
    }
    return rc;
}

bool pl__dg_quotable(pl_str s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == '"' || c == '\\' || (c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

bool pl__dg_is_hex(pl_str s, size_t n)
{
    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}
