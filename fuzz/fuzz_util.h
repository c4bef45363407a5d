/*
 * fuzz_util.h - checks shared by the libFuzzer targets in fuzz/.
 *
 * Not a fuzz target itself (fuzz/CMakeLists.txt builds fuzz_*.c only).
 * Everything here is static inline so that a target that uses only part of
 * it compiles without unused-function warnings.
 *
 * The helpers follow one rule: every byte a pl_str claims is read (so ASan
 * sees a bad pointer or length), every output buffer is malloc'd at exactly
 * the size the library is told (so ASan sees a write past cap), and any
 * broken invariant ends in abort() with a line saying which one.
 */
#ifndef PARLEY_FUZZ_UTIL_H
#define PARLEY_FUZZ_UTIL_H

#include <parley/base.h>
#include <parley/msg.h>
#include <parley/uri.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_fail(__FILE__, __LINE__, #cond);                                                  \
    } while (0)

static inline void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "\n%s:%d: fuzz check failed: %s\n", file, line, what);
    fflush(stderr);
    abort();
}

/* A copy of n bytes at p in a buffer of exactly n bytes (ASan sees p[n]). */
static inline char *fuzz_dup(const void *p, size_t n)
{
    char *b = malloc(n ? n : 1);
    if (!b)
        abort();
    if (n)
        memcpy(b, p, n);
    /* malloc(1) for n == 0 leaves one accessible byte; poison-free but harmless:
       nothing is ever passed a length above n. */
    return b;
}

/* A buffer of exactly n bytes (n may be 0: a live zero-sized block). */
static inline char *fuzz_alloc(size_t n)
{
    char *b = malloc(n);
    if (!b && n)
        abort();
    return b;
}

static volatile unsigned fuzz_sink_;

/* Read every byte of s; a NULL pointer is only allowed with length 0. */
static inline void fuzz_touch(pl_str s)
{
    FUZZ_CHECK(s.len == 0 || s.p != NULL);
    unsigned h = 0;
    for (size_t i = 0; i < s.len; i++)
        h = h * 31u + (unsigned char)s.p[i];
    fuzz_sink_ += h;
}

static inline bool fuzz_str_eq(pl_str a, pl_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* True when s (if not empty) lies inside [base, base + len). */
static inline bool fuzz_within(pl_str s, const char *base, size_t len)
{
    if (s.len == 0)
        return true;
    if (!base)
        return false;
    uintptr_t p = (uintptr_t)s.p, b = (uintptr_t)base;
    return p >= b && p - b <= len && s.len <= len - (size_t)(p - b);
}

/* Bounds that strings from a parse must respect; base NULL: not checked. */
typedef struct fuzz_bounds {
    const char *base;
    size_t len;
} fuzz_bounds;

static inline void fuzz_str_in(pl_str s, fuzz_bounds b)
{
    fuzz_touch(s);
    if (b.base)
        FUZZ_CHECK(fuzz_within(s, b.base, b.len));
}

static inline bool fuzz_has_byte(pl_str s, char c)
{
    return s.len && memchr(s.p, c, s.len) != NULL;
}

/*
 * pl_uri_unescape on in: with an exact-sized buffer (never ENOSPC: decoding
 * does not grow), in place on a copy (same result), and one byte short of
 * the result (ENOSPC). Returns the rc of the first call.
 */
static inline int fuzz_unescape(pl_str in)
{
    fuzz_touch(in);
    char *out = fuzz_alloc(in.len);
    size_t n = (size_t)-1;
    int rc = pl_uri_unescape(in, out, in.len, &n);
    FUZZ_CHECK(rc == PL_OK || rc == PL_EPARSE);
    if (rc == PL_OK) {
        FUZZ_CHECK(n <= in.len);
        if (!fuzz_has_byte(in, '%'))
            FUZZ_CHECK(n == in.len && (n == 0 || memcmp(out, in.p, n) == 0));
        else
            FUZZ_CHECK(n < in.len);

        char *copy = fuzz_dup(in.p, in.len);
        size_t n2 = (size_t)-1;
        int rc2 = pl_uri_unescape((pl_str){copy, in.len}, copy, in.len, &n2);
        FUZZ_CHECK(rc2 == PL_OK && n2 == n && (n == 0 || memcmp(copy, out, n) == 0));
        free(copy);

        if (n > 0) {
            char *small = fuzz_alloc(n - 1);
            size_t n3 = 0;
            FUZZ_CHECK(pl_uri_unescape(in, small, n - 1, &n3) == PL_ENOSPC);
            free(small);
        }
    }
    free(out);
    return rc;
}

/*
 * pl_display_name_decode on d: with cap d.len (decoding never grows: a
 * quoted string loses its quotes, tokens are returned as written), then one
 * byte short of the result (ENOSPC). must_decode: d came from a successful
 * parse, so the decoder must accept it. Returns the rc.
 */
static inline int fuzz_display(pl_str d, bool must_decode)
{
    fuzz_touch(d);
    char *out = fuzz_alloc(d.len);
    size_t n = (size_t)-1;
    int rc = pl_display_name_decode(d, out, d.len, &n);
    FUZZ_CHECK(rc == PL_OK || rc == PL_EPARSE);
    if (must_decode)
        FUZZ_CHECK(rc == PL_OK);
    if (rc == PL_OK) {
        FUZZ_CHECK(n <= d.len);
        if (n > 0) {
            char *small = fuzz_alloc(n - 1);
            size_t n2 = 0;
            FUZZ_CHECK(pl_display_name_decode(d, small, n - 1, &n2) == PL_ENOSPC);
            free(small);
        }
    }
    free(out);
    return rc;
}

/*
 * Walk a parameter list with pl_param_next: every call that returns true must
 * consume input (or the caller would loop for ever), stay inside the list,
 * and give a name and value inside it. Names and values are unescaped.
 * Returns the number of parameters.
 */
static inline unsigned fuzz_params(pl_str list, char sep)
{
    fuzz_touch(list);
    pl_str rest = list;
    pl_param prm;
    unsigned count = 0;
    for (;;) {
        size_t before = rest.len;
        memset(&prm, 0, sizeof prm);
        if (!pl_param_next(&rest, sep, &prm))
            break;
        FUZZ_CHECK(rest.len < before);
        FUZZ_CHECK(fuzz_within(rest, list.p, list.len));
        FUZZ_CHECK(fuzz_within(prm.name, list.p, list.len));
        fuzz_touch(prm.name);
        if (prm.has_value) {
            FUZZ_CHECK(fuzz_within(prm.value, list.p, list.len));
            fuzz_touch(prm.value);
            (void)fuzz_unescape(prm.value);
        } else {
            FUZZ_CHECK(prm.value.len == 0);
        }
        (void)fuzz_unescape(prm.name);
        count++;
        FUZZ_CHECK(count <= list.len + 1);
    }
    return count;
}

/*
 * Walk a comma list with pl_list_next: progress on every item, items inside
 * the list, non-empty (empty elements are skipped) and trimmed. Calls fn on
 * each item when fn is not NULL. Returns the number of items.
 */
static inline unsigned fuzz_list(pl_str list, void (*fn)(pl_str item, void *ctx), void *ctx)
{
    fuzz_touch(list);
    pl_str rest = list;
    pl_str item;
    unsigned count = 0;
    for (;;) {
        size_t before = rest.len;
        item = PL_STR_NULL;
        if (!pl_list_next(&rest, &item))
            break;
        FUZZ_CHECK(rest.len < before);
        FUZZ_CHECK(fuzz_within(rest, list.p, list.len));
        FUZZ_CHECK(fuzz_within(item, list.p, list.len));
        FUZZ_CHECK(item.len > 0);
        pl_str t = pl_str_trim(item);
        FUZZ_CHECK(t.len == item.len);
        if (fn)
            fn(item, ctx);
        count++;
        FUZZ_CHECK(count <= list.len + 1);
    }
    return count;
}

/*
 * Everything about one parsed URI: strings inside bounds, every component
 * unescaped, parameters and headers walked, reflexive equality.
 */
static inline void fuzz_uri_walk(const pl_uri *u, fuzz_bounds b)
{
    fuzz_str_in(u->scheme_str, b);
    fuzz_str_in(u->user, b);
    fuzz_str_in(u->password, b);
    fuzz_str_in(u->host, b);
    fuzz_str_in(u->port_str, b);
    fuzz_str_in(u->params, b);
    fuzz_str_in(u->headers, b);
    fuzz_str_in(u->opaque, b);
    fuzz_str_in(u->transport, b);
    fuzz_str_in(u->maddr, b);
    fuzz_str_in(u->user_param, b);
    fuzz_str_in(u->method, b);
    fuzz_str_in(u->ttl, b);
    FUZZ_CHECK(u->password.len == 0 || u->has_password);
    if (u->port_str.len == 0)
        FUZZ_CHECK(u->port == 0);

    (void)fuzz_unescape(u->user);
    (void)fuzz_unescape(u->password);
    (void)fuzz_unescape(u->host);
    (void)fuzz_unescape(u->params);
    (void)fuzz_unescape(u->headers);
    (void)fuzz_unescape(u->opaque);
    (void)fuzz_unescape(u->transport);
    (void)fuzz_unescape(u->maddr);
    (void)fuzz_unescape(u->user_param);
    (void)fuzz_unescape(u->method);
    (void)fuzz_unescape(u->ttl);

    (void)fuzz_params(u->params, ';');
    (void)fuzz_params(u->headers, '&');

    if (u->scheme == PL_URI_SIP || u->scheme == PL_URI_SIPS) {
        pl_str v;
        FUZZ_CHECK(u->lr == pl_param_find(u->params, "lr", &v));
    }

    FUZZ_CHECK(pl_uri_equal(u, u));
}

static inline void fuzz_nameaddr_walk(const pl_nameaddr *na, fuzz_bounds b)
{
    fuzz_str_in(na->raw, b);
    fuzz_str_in(na->display, b);
    fuzz_str_in(na->uri_raw, b);
    fuzz_str_in(na->params, b);
    fuzz_str_in(na->tag, b);
    fuzz_str_in(na->q, b);
    fuzz_uri_walk(&na->uri, b);
    if (na->display.len)
        (void)fuzz_display(na->display, true);
    (void)fuzz_params(na->params, ';');
    if (na->has_tag) {
        pl_str v;
        FUZZ_CHECK(pl_param_find(na->params, "tag", &v));
    }
    /* uri was parsed from uri_raw: parsing uri_raw again gives an equal URI. */
    pl_uri again;
    if (pl_uri_parse(&again, na->uri_raw, NULL) == PL_OK)
        FUZZ_CHECK(pl_uri_equal(&again, &na->uri) && pl_uri_equal(&na->uri, &again));
}

static inline void fuzz_via_walk(const pl_via *v, fuzz_bounds b)
{
    fuzz_str_in(v->raw, b);
    fuzz_str_in(v->protocol, b);
    fuzz_str_in(v->transport, b);
    fuzz_str_in(v->host, b);
    fuzz_str_in(v->port_str, b);
    fuzz_str_in(v->params, b);
    fuzz_str_in(v->branch, b);
    fuzz_str_in(v->received, b);
    fuzz_str_in(v->maddr, b);
    fuzz_str_in(v->ttl, b);
    fuzz_str_in(v->rport_value, b);
    FUZZ_CHECK(v->host.len > 0);
    if (v->port_str.len == 0)
        FUZZ_CHECK(v->port == 0);
    (void)fuzz_params(v->params, ';');
    pl_str val;
    if (v->has_branch)
        FUZZ_CHECK(pl_param_find(v->params, "branch", &val));
    if (v->has_rport)
        FUZZ_CHECK(pl_param_find(v->params, "rport", &val));
}

/* The checked integer converters agree with each other. */
static inline void fuzz_ints(pl_str s)
{
    uint64_t u64 = 0;
    uint32_t u32 = 0;
    int r64 = pl_str_to_u64(s, UINT64_MAX, &u64);
    int r32 = pl_str_to_u32(s, UINT32_MAX, &u32);
    FUZZ_CHECK(r64 == PL_OK || r64 == PL_EPARSE || r64 == PL_ELIMIT);
    FUZZ_CHECK(r32 == PL_OK || r32 == PL_EPARSE || r32 == PL_ELIMIT);
    if (r64 == PL_EPARSE)
        FUZZ_CHECK(r32 == PL_EPARSE);
    if (r64 == PL_OK) {
        if (u64 <= UINT32_MAX)
            FUZZ_CHECK(r32 == PL_OK && u32 == u64);
        else
            FUZZ_CHECK(r32 == PL_ELIMIT);
        uint64_t small = 0;
        int rs = pl_str_to_u64(s, 1000, &small);
        FUZZ_CHECK(u64 <= 1000 ? (rs == PL_OK && small == u64) : rs == PL_ELIMIT);
    }
}

/* One byte string through the string helpers of base.h. */
static inline void fuzz_base_str(pl_str s)
{
    FUZZ_CHECK(pl_str_eq(s, s));
    FUZZ_CHECK(pl_str_case_eq(s, s));
    pl_str t = pl_str_trim(s);
    FUZZ_CHECK(fuzz_within(t, s.p, s.len));
    fuzz_ints(s);
}

/*
 * Every typed parser of msg.h on one value: each must return cleanly, and
 * whatever it accepted must be self-consistent.
 */
static inline void fuzz_typed_value(pl_str v, uint32_t max_params)
{
    fuzz_touch(v);
    fuzz_bounds b = {v.p ? v.p : "", v.len};
    pl_error err;

    pl_via via;
    memset(&err, 0, sizeof err);
    int rc = pl_via_parse(&via, v, max_params, &err);
    if (rc == PL_OK)
        fuzz_via_walk(&via, b);
    else
        FUZZ_CHECK(err.reason != NULL && err.offset <= v.len);

    pl_nameaddr na;
    memset(&err, 0, sizeof err);
    rc = pl_nameaddr_parse(&na, v, max_params, &err);
    if (rc == PL_OK)
        fuzz_nameaddr_walk(&na, b);
    else
        FUZZ_CHECK(err.reason != NULL && err.offset <= v.len);

    pl_cseq cs;
    memset(&err, 0, sizeof err);
    rc = pl_cseq_parse(&cs, v, &err);
    if (rc == PL_OK) {
        fuzz_str_in(cs.method, b);
        FUZZ_CHECK(cs.method.len > 0); /* num: any 32-bit value (RFC 3261 20.16) */
        FUZZ_CHECK(cs.method_id == pl_method_from_str(cs.method));
    } else {
        FUZZ_CHECK(err.reason != NULL && err.offset <= v.len);
    }

    pl_media_type mt;
    memset(&err, 0, sizeof err);
    rc = pl_media_type_parse(&mt, v, &err);
    if (rc == PL_OK) {
        fuzz_str_in(mt.type, b);
        fuzz_str_in(mt.subtype, b);
        fuzz_str_in(mt.params, b);
        FUZZ_CHECK(mt.type.len > 0 && mt.subtype.len > 0);
        (void)fuzz_params(mt.params, ';');
    } else {
        FUZZ_CHECK(err.reason != NULL && err.offset <= v.len);
    }

    pl_str tok = PL_STR_NULL, tparams = PL_STR_NULL;
    memset(&err, 0, sizeof err);
    rc = pl_token_params_parse(v, &tok, &tparams, &err);
    if (rc == PL_OK) {
        fuzz_str_in(tok, b);
        fuzz_str_in(tparams, b);
        (void)fuzz_params(tparams, ';');
    } else {
        FUZZ_CHECK(err.reason != NULL && err.offset <= v.len);
    }

    uint32_t u = 0, u_small = 0;
    memset(&err, 0, sizeof err);
    rc = pl_hdr_uint_parse(v, UINT32_MAX, &u, &err);
    FUZZ_CHECK(rc == PL_OK || rc == PL_EPARSE || rc == PL_ELIMIT);
    if (rc == PL_OK) {
        memset(&err, 0, sizeof err);
        int rs = pl_hdr_uint_parse(v, 1000, &u_small, &err);
        FUZZ_CHECK(u <= 1000 ? (rs == PL_OK && u_small == u) : rs == PL_ELIMIT);
    } else {
        FUZZ_CHECK(err.reason != NULL);
    }

    fuzz_base_str(v);
}

#endif
