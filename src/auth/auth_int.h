/*
 * auth_int.h - what the files of src/auth share: the auth-param scanner
 * (params.c), hashing to hex over OpenSSL EVP (hash.c), the bounded writer
 * every printer uses, and small checks. Private to src/auth.
 */
#ifndef PARLEY_AUTH_INT_H
#define PARLEY_AUTH_INT_H

#include <parley/auth.h>

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Record err (when not NULL) and return code; offset is at - base. */
int pl__auth_fail(pl_error *err, int code, const char *base, const char *at, const char *why);

/* A caller's empty string may be {NULL, 0}: give it a real address so that
 * p + len is defined. */
static inline pl_str dg_nn(pl_str s)
{
    if (!s.p) {
        s.p = "";
        s.len = 0;
    }
    return s;
}

/* ------------------------------------------------------------ auth-params */

/* One auth-param: name, and value without its quotes. */
typedef struct pl__ap {
    pl_str name;
    pl_str value;
    bool quoted;  /* the value was a quoted-string */
    bool escaped; /* ... holding at least one quoted-pair */
} pl__ap;

typedef struct pl__ap_iter {
    const char *base; /* the start of the whole value, for offsets */
    const char *p;
    const char *end;
} pl__ap_iter;

/* A parameter that a challenge or credentials parser reads; the others are
 * skipped (RFC 7616 section 3.3). */
typedef struct pl__ap_known {
    const char *name; /* lower case */
    unsigned bit;     /* its bit in pl__ap_scan.seen */
    const char *dup_reason;
    const char *long_reason; /* NULL: no length limit */
    bool escape_ok;          /* a quoted-pair in the value is the caller's to judge */
} pl__ap_known;

/* The known auth-params of one value, each at most once. */
typedef struct pl__ap_scan {
    pl__ap_iter it;
    const pl__ap_known *known;
    size_t nknown;
    unsigned seen; /* the bits of the known parameters read so far */
} pl__ap_scan;

/* Start on a credentials or challenge value, with its table of known
 * parameters: the scheme must be "Digest" (any case) followed by LWS.
 * PL_OK or PL_EPARSE. */
int pl__ap_scan_begin(pl__ap_scan *s, const pl__ap_known *known, size_t nknown, pl_str value,
                      pl_error *err);
/* The next known auth-param: 1 with *ap and *k (its bit now in s->seen), 0
 * at the end of the list, or PL_EPARSE: bad syntax, a known parameter given
 * twice (its dup_reason), a backslash escape in a value that is not
 * escape_ok, a value longer than PL_DIGEST_MAX_VALUE (its long_reason). */
int pl__ap_scan_next(pl__ap_scan *s, pl__ap *ap, const pl__ap_known **k, pl_error *err);

/* s equals the lower-case literal lit, ignoring the case of s. */
bool pl__ap_is(pl_str s, const char *lit);

/* "MD5", "SHA-256", "SHA-512-256", each optionally with "-sess", any case. */
bool pl__dg_alg_parse(pl_str s, pl_digest_alg *alg, bool *sess);

/* True when s can sit between double quotes as it is: no '"', no '\', no
 * control character but HTAB (RFC 3261 qdtext). */
bool pl__dg_quotable(pl_str s);

/* True when s is exactly n hex digits (either case). */
bool pl__dg_is_hex(pl_str s, size_t n);

/* ------------------------------------------------------------ hashing */

/* One EVP context, reused for every hash of one top-level call. */
typedef struct pl__dg {
    EVP_MD_CTX *ctx;
    const EVP_MD *md;
    size_t hex_len;
} pl__dg;

/* PL_OK, PL_EINVAL (alg out of range), PL_ENOMEM or PL_ENOTSUP. */
int pl__dg_open(pl__dg *h, pl_digest_alg alg);
void pl__dg_close(pl__dg *h);
/* Lowercase hex of H(parts[0] ":" parts[1] ":" ...), NUL-terminated, into
 * out (at least hex_len + 1 bytes). PL_OK or PL_ENOTSUP. */
int pl__dg_hex(pl__dg *h, char *out, size_t nparts, const pl_str *parts);

/* ------------------------------------------------------------ the writer */

/* A bounded writer: counts every byte asked for, stores those that fit. */
typedef struct pl__wr {
    char *buf;
    size_t cap;
    size_t len;
} pl__wr;

static inline void wr_mem(pl__wr *w, const char *p, size_t n)
{
    if (n && w->len < w->cap) {
        size_t room = w->cap - w->len;
        memcpy(w->buf + w->len, p, n < room ? n : room);
    }
    w->len += n;
}

static inline void wr_str(pl__wr *w, pl_str s)
{
    wr_mem(w, s.p, s.len);
}

static inline void wr_c(pl__wr *w, const char *s)
{
    wr_mem(w, s, strlen(s));
}

/* name="value" */
static inline void wr_quoted(pl__wr *w, const char *name, pl_str v)
{
    wr_c(w, name);
    wr_mem(w, "=\"", 2);
    wr_str(w, v);
    wr_mem(w, "\"", 1);
}

/* PL_OK with *len, NUL-terminated when there is room; or PL_ENOSPC with
 * *len the size needed. */
static inline int wr_done(pl__wr *w, size_t *len)
{
    if (len)
        *len = w->len;
    if (w->len > w->cap)
        return PL_ENOSPC;
    if (w->len < w->cap)
        w->buf[w->len] = '\0';
    return PL_OK;
}

#endif
