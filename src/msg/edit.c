/*
 * edit.c - changes to a parsed message that print without a re-parse.
 *
 * Original bytes are never touched: a changed or new header field gets a
 * fresh line in the arena, and the header array is shifted. After a change
 * to a header that the typed view covers (Via, Route, Contact...), that one
 * kind is derived again from its lines, so msg->via and friends always
 * agree with what will be printed.
 */
#include <stdio.h>
#include <string.h>

#include "chars.h"
#include "msg_int.h"

/* A header value must not be able to end the line or start a new field. */
static bool value_ok(pl_str v)
{
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.p[i];
        if (c == '\r' || c == '\n' || c == 0)
            return false;
    }
    return true;
}

static bool name_ok(pl_str n)
{
    return n.len > 0 && skip_class(n.p, n.p + n.len, CC_TOKEN) == n.p + n.len;
}

/* "name: value\r\n" in the arena. */
static int make_line(pl_msg *m, pl_hdr *h, pl_str name, pl_str value)
{
    size_t n = name.len + 2 + value.len + 2;
    char *b = pl_arena_alloc(m->arena, n);
    if (!b)
        return PL_ENOMEM;
    memcpy(b, name.p, name.len);
    memcpy(b + name.len, ": ", 2);
    if (value.len)
        memcpy(b + name.len + 2, value.p, value.len);
    memcpy(b + n - 2, "\r\n", 2);
    h->name.p = b;
    h->name.len = name.len;
    h->value.p = b + name.len + 2;
    h->value.len = value.len;
    h->line.p = b;
    h->line.len = n;
    h->id = pl_hdr_id_from_name(name);
    return PL_OK;
}

static bool has_view(pl_hdr_id id)
{
    switch (id) {
    case PL_HDR_VIA:
    case PL_HDR_FROM:
    case PL_HDR_TO:
    case PL_HDR_CALL_ID:
    case PL_HDR_CSEQ:
    case PL_HDR_MAX_FORWARDS:
    case PL_HDR_CONTENT_LENGTH:
    case PL_HDR_CONTENT_TYPE:
    case PL_HDR_EXPIRES:
    case PL_HDR_CONTACT:
    case PL_HDR_ROUTE:
    case PL_HDR_RECORD_ROUTE:
    case PL_HDR_REQUIRE:
    case PL_HDR_PROXY_REQUIRE:
    case PL_HDR_SUPPORTED:
        return true;
    default:
        return false;
    }
}

static void remove_at(pl_msg *m, uint32_t idx)
{
    memmove(&m->hdrs[idx], &m->hdrs[idx + 1], sizeof(pl_hdr) * (m->hdr_count - idx - 1));
    m->hdr_count--;
}

static int insert_line(pl_msg *m, uint32_t pos, const pl_hdr *h)
{
    int rc = pl__msg_hdrs_reserve(m, m->hdr_count + 1);
    if (rc != PL_OK)
        return rc;
    memmove(&m->hdrs[pos + 1], &m->hdrs[pos], sizeof(pl_hdr) * (m->hdr_count - pos));
    m->hdrs[pos] = *h;
    m->hdr_count++;
    return PL_OK;
}

int pl_msg_hdr_insert(pl_msg *m, uint32_t pos, pl_str name, pl_str value)
{
    if (pos > m->hdr_count || !name_ok(name) || !value_ok(value))
        return PL_EINVAL;
    pl_hdr h;
    int rc = make_line(m, &h, name, value);
    if (rc == PL_OK)
        rc = insert_line(m, pos, &h);
    if (rc != PL_OK || !has_view(h.id))
        return rc;
    rc = pl__msg_reindex(m, h.id, NULL);
    if (rc != PL_OK) {
        /* The new value does not fit (a second From, a bad Via...): undo. */
        remove_at(m, pos);
        pl__msg_reindex(m, h.id, NULL);
        return PL_EINVAL;
    }
    return PL_OK;
}

int pl_msg_hdr_append(pl_msg *m, pl_str name, pl_str value)
{
    return pl_msg_hdr_insert(m, m->hdr_count, name, value);
}

int pl_msg_hdr_remove(pl_msg *m, uint32_t idx)
{
    if (idx >= m->hdr_count)
        return PL_EINVAL;
    pl_hdr_id id = m->hdrs[idx].id;
    remove_at(m, idx);
    return has_view(id) ? pl__msg_reindex(m, id, NULL) : PL_OK;
}

int pl_msg_hdr_remove_id(pl_msg *m, pl_hdr_id id)
{
    int n = 0;
    uint32_t w = 0;
    for (uint32_t i = 0; i < m->hdr_count; i++) {
        if (m->hdrs[i].id == id && id != PL_HDR_OTHER)
            n++;
        else
            m->hdrs[w++] = m->hdrs[i];
    }
    m->hdr_count = w;
    if (n && has_view(id)) {
        int rc = pl__msg_reindex(m, id, NULL);
        if (rc != PL_OK)
            return rc;
    }
    return n;
}

int pl_msg_hdr_replace(pl_msg *m, uint32_t idx, pl_str value)
{
    if (idx >= m->hdr_count || !value_ok(value))
        return PL_EINVAL;
    pl_hdr old = m->hdrs[idx];
    int rc = make_line(m, &m->hdrs[idx], old.name, value);
    if (rc != PL_OK)
        return rc;
    if (!has_view(old.id))
        return PL_OK;
    rc = pl__msg_reindex(m, old.id, NULL);
    if (rc != PL_OK) {
        m->hdrs[idx] = old;
        pl__msg_reindex(m, old.id, NULL);
        return PL_EINVAL;
    }
    return PL_OK;
}

int pl_msg_via_prepend(pl_msg *m, pl_str value)
{
    int32_t first = pl_msg_hdr_find(m, PL_HDR_VIA, 0);
    return pl_msg_hdr_insert(m, first < 0 ? 0 : (uint32_t)first, PL_STR_LIT("Via"), value);
}

/* Drop the first value of the first header with this id: the whole field if
 * it holds one value, else the value and its comma. */
static int remove_top_value(pl_msg *m, pl_hdr_id id, pl_str top_raw)
{
    int32_t i = pl_msg_hdr_find(m, id, 0);
    if (i < 0)
        return PL_ENOTFOUND;
    pl_hdr *h = &m->hdrs[i];
    const char *end = h->value.p + h->value.len;
    const char *after = top_raw.p + top_raw.len;
    if (after < h->value.p || after > end)
        return PL_EINVAL;
    const char *rest = pl__list_sep(after, end);
    if (!rest || rest == end)
        return pl_msg_hdr_remove(m, (uint32_t)i);
    return pl_msg_hdr_replace(m, (uint32_t)i, (pl_str){rest, (size_t)(end - rest)});
}

int pl_msg_via_remove_top(pl_msg *m)
{
    if (!m->via)
        return PL_ENOTFOUND;
    return remove_top_value(m, PL_HDR_VIA, m->via->raw);
}

int pl_msg_route_pop(pl_msg *m)
{
    if (!m->route)
        return PL_ENOTFOUND;
    return remove_top_value(m, PL_HDR_ROUTE, m->route->raw);
}

int pl_msg_set_ruri(pl_msg *m, pl_str uri)
{
    if (!m->is_request || uri.len == 0)
        return PL_EINVAL;
    for (size_t i = 0; i < uri.len; i++) {
        unsigned char c = (unsigned char)uri.p[i];
        if (c <= ' ' || c == 0x7f)
            return PL_EINVAL;
    }
    size_t n = m->method.len + 1 + uri.len + 1 + m->version.len;
    char *b = pl_arena_alloc(m->arena, n);
    if (!b)
        return PL_ENOMEM;
    char *w = b;
    memcpy(w, m->method.p, m->method.len);
    w += m->method.len;
    *w++ = ' ';
    memcpy(w, uri.p, uri.len);
    pl_str ruri = {w, uri.len};
    w += uri.len;
    *w++ = ' ';
    memcpy(w, m->version.p, m->version.len);
    pl_uri parsed;
    if (pl_uri_parse(&parsed, ruri, NULL) != PL_OK)
        return PL_EINVAL;
    m->method.p = b;
    m->version.p = b + n - m->version.len;
    m->ruri_raw = ruri;
    m->ruri = parsed;
    m->start_line.p = b;
    m->start_line.len = n;
    m->edited_start = true;
    return PL_OK;
}

int pl_msg_set_body(pl_msg *m, pl_str type, pl_str body)
{
    if (!value_ok(type) || body.len > m->limits.max_msg_size)
        return PL_EINVAL;
    pl_media_type mt;
    if (type.len && pl_media_type_parse(&mt, type, NULL) != PL_OK)
        return PL_EINVAL; /* checked before anything changes */
    pl_str copy = pl_arena_strdup(m->arena, body);
    if (body.len && !copy.p)
        return PL_ENOMEM;
    char num[24];
    int k = snprintf(num, sizeof(num), "%zu", body.len);
    pl_str cl = {num, (size_t)k};
    /* Content-Length keeps its place if there is one (and loses duplicates). */
    int32_t i = pl_msg_hdr_find(m, PL_HDR_CONTENT_LENGTH, 0);
    int rc;
    if (i >= 0) {
        int32_t j;
        while ((j = pl_msg_hdr_find(m, PL_HDR_CONTENT_LENGTH, (uint32_t)i + 1)) >= 0)
            remove_at(m, (uint32_t)j);
        rc = pl_msg_hdr_replace(m, (uint32_t)i, cl);
    } else {
        rc = pl_msg_hdr_append(m, PL_STR_LIT("Content-Length"), cl);
    }
    if (rc != PL_OK)
        return rc;
    if (type.len == 0) {
        rc = pl_msg_hdr_remove_id(m, PL_HDR_CONTENT_TYPE);
        if (rc < 0)
            return rc;
    } else {
        i = pl_msg_hdr_find(m, PL_HDR_CONTENT_TYPE, 0);
        rc = i >= 0 ? pl_msg_hdr_replace(m, (uint32_t)i, type)
                    : pl_msg_hdr_append(m, PL_STR_LIT("Content-Type"), type);
        if (rc != PL_OK)
            return rc;
    }
    m->body = copy;
    m->edited_body = true;
    return PL_OK;
}
