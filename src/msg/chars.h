/*
 * chars.h - character classes of the RFC 3261 grammar (section 25.1), one
 * table lookup per byte, and the small cursor helpers every header parser
 * shares. Private to src/msg.
 */
#ifndef PARLEY_MSG_CHARS_H
#define PARLEY_MSG_CHARS_H

#include <stdbool.h>
#include <stddef.h>

#include <parley/base.h>
#include <stdint.h>

enum {
    CC_TOKEN = 1 << 0,      /* token */
    CC_UNRESERVED = 1 << 1, /* alphanum / mark */
    CC_USER = 1 << 2,       /* user-unreserved: & = + $ , ; ? / */
    CC_PASSWORD = 1 << 3,   /* & = + $ , */
    CC_PARAM = 1 << 4,      /* param-unreserved: [ ] / : & + $ */
    CC_HNV = 1 << 5,        /* hnv-unreserved: [ ] / ? : + $ */
    CC_WORD = 1 << 6,       /* word (Call-ID) */
    CC_HOST = 1 << 7,       /* hostname characters: alphanum - . */
    CC_DIGIT = 1 << 8,
    CC_HEX = 1 << 9,
    CC_ALPHA = 1 << 10,
    CC_CTL = 1 << 11,       /* 0x00-0x1f and 0x7f */
    CC_TELSUB = 1 << 12,    /* tel: number characters (RFC 3966) */
    CC_SCHEME = 1 << 13,    /* ALPHA / DIGIT / + - . */
    CC_GENVAL = 1 << 14,    /* gen-value without quotes: token / host (adds : [ ]) */
    CC_LISTPLAIN = 1 << 15, /* not special when splitting a list: all but , " < > */
};

extern const uint16_t pl_cc[256];

static inline bool cc_is(unsigned char c, uint16_t cls)
{
    return (pl_cc[c] & cls) != 0;
}

static inline unsigned char cc_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

/* A caller's empty string may be {NULL, 0}: give it a real address so that
 * p + len is defined (NULL + 0 is undefined behaviour in C). */
static inline pl_str str_nn(pl_str s)
{
    if (!s.p) {
        s.p = "";
        s.len = 0;
    }
    return s;
}

/* s equals the lower-case literal lit, ignoring the case of s; no strlen. */
static inline bool str_is_n(const char *p, size_t len, const char *lit, size_t n)
{
    if (len != n)
        return false;
    for (size_t k = 0; k < n; k++) {
        if (cc_lower((unsigned char)p[k]) != (unsigned char)lit[k])
            return false;
    }
    return true;
}
#define STR_IS(s, lit) str_is_n((s).p, (s).len, (lit), sizeof(lit) - 1)

/* LWS inside a header value: SP, HTAB, and the CRLF of a fold (the header
 * scanner has already refused any CR or LF that is not part of a fold). */
static inline bool cc_lws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static inline const char *skip_lws(const char *p, const char *end)
{
    while (p < end && cc_lws(*p))
        p++;
    return p;
}

/* Skip bytes of class cls. */
static inline const char *skip_class(const char *p, const char *end, uint16_t cls)
{
    while (p < end && cc_is((unsigned char)*p, cls))
        p++;
    return p;
}

/* End of a quoted-string starting at p (which is '"'): the byte after the
 * closing quote, or NULL if it never closes. Quoted-pairs are honoured. */
static inline const char *skip_quoted(const char *p, const char *end)
{
    p++;
    while (p < end) {
        if (*p == '"')
            return p + 1;
        if (*p == '\\') {
            if (end - p < 2)
                return NULL;
            p += 2;
            continue;
        }
        p++;
    }
    return NULL;
}

#endif
