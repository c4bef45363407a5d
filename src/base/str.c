/*
 * str.c - pl_str helpers and the one checked integer converter.
 *
 * Every number Parley reads off the wire (Content-Length, CSeq, ports,
 * Max-Forwards, Expires, status codes) comes through pl_str_to_u64(), which
 * accepts digits only and refuses a value above the caller's maximum before
 * it can overflow or be truncated to a narrower type.
 */
#include <parley/base.h>

#include <string.h>

const char *pl_err_str(int err)
{
    switch (err) {
    case PL_OK:
        return "ok";
    case PL_ENEEDMORE:
        return "incomplete input";
    case PL_EPARSE:
        return "malformed input";
    case PL_ELIMIT:
        return "limit exceeded";
    case PL_ENOSPC:
        return "buffer too small";
    case PL_ENOMEM:
        return "out of memory";
    case PL_EINVAL:
        return "invalid argument";
    case PL_ENOTFOUND:
        return "not found";
    case PL_ENOTSUP:
        return "not supported";
    case PL_ESTALE:
        return "stale handle";
    case PL_ESTATE:
        return "not allowed in this state";
    default:
        return "unknown error";
    }
}

pl_str pl_str_c(const char *s)
{
    pl_str r = {s, s ? strlen(s) : 0};
    return r;
}

bool pl_str_eq(pl_str a, pl_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

bool pl_str_case_eq(pl_str a, pl_str b)
{
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++) {
        if (lower((unsigned char)a.p[i]) != lower((unsigned char)b.p[i]))
            return false;
    }
    return true;
}

bool pl_str_case_eq_c(pl_str a, const char *c)
{
    return pl_str_case_eq(a, pl_str_c(c));
}

static inline bool is_lws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

pl_str pl_str_trim(pl_str s)
{
    while (s.len > 0 && is_lws(s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len > 0 && is_lws(s.p[s.len - 1]))
        s.len--;
    return s;
}

int pl_str_to_u64(pl_str s, uint64_t max, uint64_t *out)
{
    if (s.len == 0)
        return PL_EPARSE;
    uint64_t v = 0;
    if (s.len <= 19) {
        /* Nineteen digits cannot overflow 64 bits: no checks per digit. */
        for (size_t i = 0; i < s.len; i++) {
            unsigned d = (unsigned)(unsigned char)s.p[i] - '0';
            if (d > 9)
                return PL_EPARSE;
            v = v * 10 + d;
        }
        if (v > max)
            return PL_ELIMIT;
        *out = v;
        return PL_OK;
    }
    bool over = false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned)(unsigned char)s.p[i] - '0';
        if (d > 9)
            return PL_EPARSE;
        /* Keep scanning after an overflow so that "99...9x" is still a parse error. */
        over |= __builtin_mul_overflow(v, 10u, &v);
        over |= __builtin_add_overflow(v, d, &v);
    }
    if (over || v > max)
        return PL_ELIMIT;
    *out = v;
    return PL_OK;
}

int pl_str_to_u32(pl_str s, uint32_t max, uint32_t *out)
{
    uint64_t v;
    int rc = pl_str_to_u64(s, max, &v);
    if (rc == PL_OK)
        *out = (uint32_t)v;
    return rc;
}

size_t pl_u32_print(uint32_t v, char *out)
{
    char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}
