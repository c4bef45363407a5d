/*
 * values.c - the small header grammars (CSeq, media types, token with
 * parameters, single integers) and the splitting of comma-separated lists
 * (RFC 3261 section 7.3.1), which honours quoted strings and angle brackets
 * so that a comma inside either does not split a value.
 */
#include <string.h>

#include "chars.h"
#include "msg_int.h"

int pl_cseq_parse(pl_cseq *cseq, pl_str value, pl_error *err)
{
    value = str_nn(value);
    const char *p = value.p, *end = value.p + value.len, *base = value.p;
    memset(cseq, 0, sizeof(*cseq));
    p = skip_lws(p, end);
    const char *d = p;
    p = skip_class(p, end, CC_DIGIT);
    /* RFC 4475 scalarlg: 2^32-1 is legal here; scalar02: more is not. */
    int rc = pl_str_to_u32((pl_str){d, (size_t)(p - d)}, UINT32_MAX, &cseq->num);
    if (rc != PL_OK)
        return pl__fail(err, rc, base, d, "bad CSeq number");
    if (p == end || !cc_lws(*p))
        return pl__fail(err, PL_EPARSE, base, p, "missing space in CSeq");
    p = skip_lws(p, end);
    const char *m = p;
    p = skip_class(p, end, CC_TOKEN);
    if (p == m)
        return pl__fail(err, PL_EPARSE, base, m, "missing CSeq method");
    cseq->method.p = m;
    cseq->method.len = (size_t)(p - m);
    cseq->method_id = pl_method_from_str(cseq->method);
    p = skip_lws(p, end);
    if (p != end)
        return pl__fail(err, PL_EPARSE, base, p, "unexpected character after CSeq method");
    return PL_OK;
}

static int params_tail(const char *p, const char *end, uint32_t max, const char *base,
                       pl_error *err, pl_str *params)
{
    pl_str span;
    int rc = pl__hparams_scan(&p, end, max, "too many parameters", NULL, NULL, base, err, &span);
    if (rc != PL_OK)
        return rc;
    if (params)
        *params = span;
    p = skip_lws(p, end);
    if (p != end)
        return pl__fail(err, PL_EPARSE, base, p, "unexpected character after value");
    return PL_OK;
}

int pl_media_type_parse(pl_media_type *mt, pl_str value, pl_error *err)
{
    return pl__media_type_parse(mt, value, PL_MSG_DEFAULT_MAX_PARAMS, err);
}

int pl__media_type_parse(pl_media_type *mt, pl_str value, uint32_t max_params, pl_error *err)
{
    value = str_nn(value);
    const char *p = value.p, *end = value.p + value.len, *base = value.p;
    memset(mt, 0, sizeof(*mt));
    p = skip_lws(p, end);
    const char *t = p;
    p = skip_class(p, end, CC_TOKEN);
    if (p == t)
        return pl__fail(err, PL_EPARSE, base, t, "missing media type");
    mt->type.p = t;
    mt->type.len = (size_t)(p - t);
    p = skip_lws(p, end);
    if (p == end || *p != '/')
        return pl__fail(err, PL_EPARSE, base, p, "missing '/' in media type");
    p = skip_lws(p + 1, end);
    const char *s = p;
    p = skip_class(p, end, CC_TOKEN);
    if (p == s)
        return pl__fail(err, PL_EPARSE, base, s, "missing media subtype");
    mt->subtype.p = s;
    mt->subtype.len = (size_t)(p - s);
    return params_tail(p, end, max_params, base, err, &mt->params);
}

int pl_token_params_parse(pl_str value, pl_str *token, pl_str *params, pl_error *err)
{
    value = str_nn(value);
    const char *p = value.p, *end = value.p + value.len, *base = value.p;
    p = skip_lws(p, end);
    const char *t = p;
    p = skip_class(p, end, CC_TOKEN);
    if (p == t)
        return pl__fail(err, PL_EPARSE, base, t, "missing token");
    if (token) {
        token->p = t;
        token->len = (size_t)(p - t);
    }
    return params_tail(p, end, PL_MSG_DEFAULT_MAX_PARAMS, base, err, params);
}

int pl_hdr_uint_parse(pl_str value, uint32_t max, uint32_t *out, pl_error *err)
{
    value = str_nn(value);
    pl_str v = pl_str_trim(value);
    int rc = pl_str_to_u32(v, max, out);
    if (rc != PL_OK)
        return pl__fail(err, rc, value.p, v.p ? v.p : value.p,
                        rc == PL_ELIMIT ? "number out of range" : "not a number");
    return PL_OK;
}

bool pl_list_next(pl_str *rest, pl_str *item)
{
    *rest = str_nn(*rest);
    const char *p = rest->p, *end = rest->p + rest->len;
    for (;;) {
        while (p < end && (cc_lws(*p) || *p == ','))
            p++;
        if (p >= end) {
            rest->p = end;
            rest->len = 0;
            return false;
        }
        const char *s = p;
        int angle = 0;
        while (p < end) {
            p = skip_class(p, end, CC_LISTPLAIN);
            if (p == end)
                break;
            char c = *p;
            if (c == '"') {
                const char *q = skip_quoted(p, end);
                p = q ? q : end;
                continue;
            }
            if (c == '<')
                angle++;
            else if (c == '>' && angle > 0)
                angle--;
            else if (c == ',' && angle == 0)
                break;
            p++;
        }
        pl_str it = pl_str_trim((pl_str){s, (size_t)(p - s)});
        rest->p = p;
        rest->len = (size_t)(end - p);
        if (it.len) {
            *item = it;
            return true;
        }
    }
}

void pl_value_iter_init(pl_value_iter *it, const pl_msg *msg, pl_hdr_id id)
{
    it->msg = msg;
    it->id = id;
    it->next_hdr = 0;
    it->rest.p = NULL;
    it->rest.len = 0;
}

bool pl_value_iter_next(pl_value_iter *it, pl_str *value)
{
    bool list = pl_hdr_is_list(it->id);
    for (;;) {
        if (list && it->rest.len && pl_list_next(&it->rest, value))
            return true;
        int32_t i = pl_msg_hdr_find(it->msg, it->id, it->next_hdr);
        if (i < 0)
            return false;
        it->next_hdr = (uint32_t)i + 1;
        pl_str v = it->msg->hdrs[i].value;
        if (!list) {
            *value = v;
            return true;
        }
        it->rest = v;
        if (it->rest.len == 0)
            it->rest.p = v.p;
    }
}

bool pl_msg_has_option(const pl_msg *msg, pl_hdr_id id, const char *tag)
{
    pl_value_iter it;
    pl_str v, t = pl_str_c(tag);
    pl_value_iter_init(&it, msg, id);
    while (pl_value_iter_next(&it, &v)) {
        if (pl_str_case_eq(v, t))
            return true;
    }
    return false;
}

int32_t pl_msg_hdr_find(const pl_msg *msg, pl_hdr_id id, uint32_t from)
{
    for (uint32_t i = from; i < msg->hdr_count; i++) {
        if (msg->hdrs[i].id == id)
            return (int32_t)i;
    }
    return -1;
}

int32_t pl_msg_hdr_find_name(const pl_msg *msg, pl_str name, uint32_t from)
{
    pl_hdr_id id = pl_hdr_id_from_name(name);
    if (id != PL_HDR_OTHER)
        return pl_msg_hdr_find(msg, id, from);
    for (uint32_t i = from; i < msg->hdr_count; i++) {
        if (msg->hdrs[i].id == PL_HDR_OTHER && pl_str_case_eq(msg->hdrs[i].name, name))
            return (int32_t)i;
    }
    return -1;
}
