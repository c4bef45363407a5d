/*
 * nameaddr.c - name-addr and addr-spec values with header parameters
 * (RFC 3261 section 20.10 and 25.1): From, To, Contact, Route, Record-Route
 * and every header built the same way.
 *
 * In the addr-spec form (no angle brackets) a ';' ends the URI: what follows
 * is a header parameter, not a URI parameter (section 20.10). A display name
 * is either a quoted-string or a run of tokens separated by LWS, and is told
 * from an addr-spec by the '<' that must follow it.
 */
#include <string.h>

#include "chars.h"
#include "msg_int.h"

static int na_param(void *ctx, const pl_param *prm, const char *base, pl_error *err)
{
    pl_nameaddr *na = ctx;
    pl_str n = prm->name;
    if (n.len == 3 && (memcmp(n.p, "tag", 3) == 0 || STR_IS(n, "tag"))) {
        /* An empty or doubled tag breaks dialog matching (RFC 4475, CVE-2018-14767). */
        if (!prm->has_value || prm->value.p[0] == '"')
            return pl__fail(err, PL_EPARSE, base, n.p, "empty or bad tag");
        if (na->has_tag)
            return pl__fail(err, PL_EPARSE, base, n.p, "duplicate tag");
        na->tag = prm->value;
        na->has_tag = true;
    } else if (n.len == 7 && STR_IS(n, "expires")) {
        int rc = prm->has_value ? pl_str_to_u32(prm->value, UINT32_MAX, &na->expires) : PL_EPARSE;
        if (rc != PL_OK)
            return pl__fail(err, rc, base, n.p, "bad expires parameter");
        na->has_expires = true;
    } else if (n.len == 1 && (n.p[0] == 'q' || n.p[0] == 'Q')) {
        /* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
        pl_str v = prm->value;
        bool ok = prm->has_value && v.len >= 1 && v.len <= 5 && (v.p[0] == '0' || v.p[0] == '1');
        if (ok && v.len > 1) {
            ok = v.p[1] == '.';
            for (size_t i = 2; ok && i < v.len; i++)
                ok = v.p[0] == '0' ? cc_is((unsigned char)v.p[i], CC_DIGIT) : v.p[i] == '0';
        }
        if (!ok)
            return pl__fail(err, PL_EPARSE, base, n.p, "bad q value");
        na->q = v;
    }
    return PL_OK;
}

const char *pl__nameaddr_scan(pl_nameaddr *na, const char *p, const char *end, bool in_list,
                              uint32_t max_params, const char *base, pl_error *err)
{
    memset(na, 0, sizeof(*na));
    p = skip_lws(p, end);
    const char *start = p;
    if (p == end) {
        pl__fail(err, PL_EPARSE, base, p, "empty address");
        return NULL;
    }
    if (*p == '"') {
        const char *q = skip_quoted(p, end);
        if (!q) {
            pl__fail(err, PL_EPARSE, base, p, "unterminated quoted display name");
            return NULL;
        }
        na->display.p = p;
        na->display.len = (size_t)(q - p);
        p = skip_lws(q, end);
        if (p == end || *p != '<') {
            pl__fail(err, PL_EPARSE, base, p, "display name not followed by '<'");
            return NULL;
        }
    } else if (*p != '<') {
        /* Tokens then '<' make a display name; otherwise this is an addr-spec. */
        const char *q = p, *last = p;
        for (;;) {
            const char *t = skip_class(q, end, CC_TOKEN);
            if (t == q)
                break;
            last = t;
            q = skip_lws(t, end);
        }
        if (last > p && q < end && *q == '<') {
            na->display.p = p;
            na->display.len = (size_t)(last - p);
            p = q;
        }
    }
    if (*p == '<') {
        const char *close = memchr(p + 1, '>', (size_t)(end - p - 1));
        if (!close) {
            pl__fail(err, PL_EPARSE, base, p, "unterminated '<' in address");
            return NULL;
        }
        na->uri_raw.p = p + 1;
        na->uri_raw.len = (size_t)(close - p - 1);
        na->angle = true;
        p = close + 1;
    } else {
        const char *u = p;
        while (p < end && *p != ';' && !cc_lws(*p) && !(in_list && *p == ','))
            p++;
        na->uri_raw.p = u;
        na->uri_raw.len = (size_t)(p - u);
        /* RFC 3261 20: a URI with ',', ';' or '?' must be in angle brackets. */
        const char *qm = memchr(u, '?', na->uri_raw.len);
        if (qm) {
            pl__fail(err, PL_EPARSE, base, qm, "URI with '?' outside '<>'");
            return NULL;
        }
    }
    pl_error uerr;
    if (pl_uri_parse(&na->uri, na->uri_raw, &uerr) != PL_OK) {
        pl__fail(err, PL_EPARSE, base, na->uri_raw.p + uerr.offset, uerr.reason);
        return NULL;
    }
    if (pl__hparams_scan(&p, end, max_params, "too many header parameters", na_param, na, base, err,
                         &na->params) != PL_OK)
        return NULL;
    na->raw.p = start;
    na->raw.len = (size_t)(p - start);
    return p;
}

int pl_nameaddr_parse(pl_nameaddr *na, pl_str value, uint32_t max_params, pl_error *err)
{
    value = str_nn(value);
    const char *end = value.p + value.len;
    if (!max_params)
        max_params = PL_MSG_DEFAULT_MAX_PARAMS;
    const char *p = pl__nameaddr_scan(na, value.p, end, false, max_params, value.p, err);
    if (!p)
        return err ? err->code : PL_EPARSE;
    p = skip_lws(p, end);
    if (p != end)
        return pl__fail(err, PL_EPARSE, value.p, p, "unexpected character after address");
    return PL_OK;
}

int pl_display_name_decode(pl_str d, char *out, size_t cap, size_t *out_len)
{
    size_t o = 0;
    if (d.len == 0 || d.p[0] != '"') {
        if (d.len > cap)
            return PL_ENOSPC;
        if (d.len)
            memcpy(out, d.p, d.len);
        *out_len = d.len;
        return PL_OK;
    }
    if (d.len < 2 || d.p[d.len - 1] != '"')
        return PL_EPARSE;
    for (size_t i = 1; i + 1 < d.len; i++) {
        char c = d.p[i];
        if (c == '\\') {
            if (i + 2 >= d.len)
                return PL_EPARSE;
            c = d.p[++i];
        }
        if (o >= cap)
            return PL_ENOSPC;
        out[o++] = c;
    }
    *out_len = o;
    return PL_OK;
}
