/*
 * hparam.c - header parameters and list separators (RFC 3261 section 25.1:
 * SEMI, EQUAL and COMMA carry optional LWS on both sides, folds included),
 * and the error recorder every parser in src/msg uses.
 */
#include "chars.h"
#include "msg_int.h"

int pl__fail(pl_error *err, int code, const char *base, const char *at, const char *why)
{
    if (err) {
        err->code = code;
        err->offset = (size_t)(at - base);
        err->reason = why;
    }
    return code;
}

/* gen-value = token / host / quoted-string; host adds ':' '[' ']' to token. */
static const char *scan_gen_value(const char *p, const char *end)
{
    if (p < end && *p == '"')
        return skip_quoted(p, end);
    const char *s = p;
    p = skip_class(p, end, CC_GENVAL);
    return p == s ? NULL : p;
}

int pl__hparam_next(const char **pp, const char *end, pl_param *out, const char *base,
                    pl_error *err)
{
    const char *p = *pp;
    /* The usual shape first: ";name" or ";name=value" with no blanks. */
    if (p < end && *p == ';') {
        const char *n = p + 1;
        const char *q = skip_class(n, end, CC_TOKEN);
        if (q > n && (q == end || !cc_lws(*q))) {
            if (q < end && *q == '=' && q + 1 < end && q[1] != '"') {
                const char *v = q + 1;
                const char *e = skip_class(v, end, CC_GENVAL);
                if (e > v && (e == end || !cc_lws(*e))) {
                    out->name.p = n;
                    out->name.len = (size_t)(q - n);
                    out->value.p = v;
                    out->value.len = (size_t)(e - v);
                    out->has_value = true;
                    *pp = e;
                    return 1;
                }
            } else if (q == end || *q != '=') {
                out->name.p = n;
                out->name.len = (size_t)(q - n);
                out->value.p = NULL;
                out->value.len = 0;
                out->has_value = false;
                *pp = q;
                return 1;
            }
        }
    }
    p = skip_lws(p, end);
    if (p == end || *p != ';')
        return 0;
    p = skip_lws(p + 1, end);
    const char *n = p;
    p = skip_class(p, end, CC_TOKEN);
    if (p == n)
        return pl__fail(err, PL_EPARSE, base, n, "empty or bad parameter name");
    out->name.p = n;
    out->name.len = (size_t)(p - n);
    out->value.p = NULL;
    out->value.len = 0;
    out->has_value = false;
    const char *q = skip_lws(p, end);
    if (q < end && *q == '=') {
        q = skip_lws(q + 1, end);
        const char *v = q;
        if (q < end && *q == '"' && !skip_quoted(q, end))
            return pl__fail(err, PL_EPARSE, base, q, "unterminated quoted parameter value");
        q = scan_gen_value(q, end);
        if (!q)
            return pl__fail(err, PL_EPARSE, base, v, "empty or bad parameter value");
        out->value.p = v;
        out->value.len = (size_t)(q - v);
        out->has_value = true;
        p = q;
    }
    *pp = p;
    return 1;
}

const char *pl__list_sep(const char *p, const char *end)
{
    p = skip_lws(p, end);
    if (p == end)
        return end;
    if (*p != ',')
        return NULL;
    p = skip_lws(p + 1, end);
    return p == end ? NULL : p; /* a trailing comma leaves an empty element */
}
