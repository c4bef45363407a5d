/*
 * parse.c - the message parser: start line, header fields, body framing
 * (RFC 3261 sections 7, 18.3, 20 and 25).
 *
 * One pass over the header section finds each field's extent; a word-at-a-
 * time scan skips the plain bytes and stops only at control bytes, which are
 * where a field ends, folds, or goes wrong (a bare CR or LF, a NUL). Each
 * field is recorded as (pointer, length) pairs and, if it is one of the
 * headers every layer needs, parsed at once into the typed view. Nothing is
 * copied and nothing relies on a NUL after the buffer.
 */
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "chars.h"
#include "msg_int.h"

#define HDRS_INITIAL 48u

static void limits_fill(pl_msg_limits *l, const pl_msg_limits *src)
{
    if (src)
        *l = *src;
    else
        memset(l, 0, sizeof(*l));
    if (!l->max_msg_size)
        l->max_msg_size = PL_MSG_DEFAULT_MAX_SIZE;
    if (!l->max_headers)
        l->max_headers = PL_MSG_DEFAULT_MAX_HEADERS;
    if (!l->max_line)
        l->max_line = PL_MSG_DEFAULT_MAX_LINE;
    if (!l->max_vias)
        l->max_vias = PL_MSG_DEFAULT_MAX_VIAS;
    if (!l->max_params)
        l->max_params = PL_MSG_DEFAULT_MAX_PARAMS;
    if (!l->max_values)
        l->max_values = PL_MSG_DEFAULT_MAX_VALUES;
}

/*
 * The first control byte (0x00-0x1f, 0x7f) at or after p, or end: where a
 * header field ends, folds or goes wrong. Sixteen bytes at a time with SSE2
 * (every x86-64 has it): a byte is plain when max(byte, 0x20) == byte
 * (unsigned) and it is not 0x7f. Elsewhere, eight at a time in a register.
 * Never reads at or past end.
 */
static const char *scan_ctl(const char *p, const char *end)
{
#if defined(__SSE2__)
    const __m128i space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i plain = _mm_cmpeq_epi8(_mm_max_epu8(x, space), x);
        __m128i ctl =
            _mm_or_si128(_mm_andnot_si128(plain, _mm_set1_epi8(-1)), _mm_cmpeq_epi8(x, del));
        unsigned mask = (unsigned)_mm_movemask_epi8(ctl);
        if (mask)
            return p + __builtin_ctz(mask);
        p += 16;
    }
#else
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    while (end - p >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        uint64_t lt20 = (x - ones * 0x20) & ~x;
        uint64_t y = x ^ (ones * 0x7f);
        uint64_t eq7f = (y - ones) & ~y;
        if ((lt20 | eq7f) & highs)
            break;
        p += 8;
    }
#endif
    while (p < end && !cc_is((unsigned char)*p, CC_CTL))
        p++;
    return p;
}

/* SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT ("SIP" in any case, 7.1) */
static bool version_ok(pl_str v)
{
    if (v.len < 7 || !str_is_n(v.p, 4, "sip/", 4))
        return false;
    const char *p = v.p + 4, *end = v.p + v.len;
    const char *d = p;
    while (p < end && cc_is((unsigned char)*p, CC_DIGIT))
        p++;
    if (p == d || p == end || *p != '.')
        return false;
    d = ++p;
    while (p < end && cc_is((unsigned char)*p, CC_DIGIT))
        p++;
    return p != d && p == end;
}

static int parse_start_line(pl_msg *m, const char *p, const char *end, const char *base,
                            pl_error *err)
{
    m->start_line.p = p;
    m->start_line.len = (size_t)(end - p);
    /* HTAB may stand in a Reason-Phrase; anywhere else on the line the
     * grammar below refuses it. */
    const char *ctl = scan_ctl(p, end);
    while (ctl < end && *ctl == '\t')
        ctl = scan_ctl(ctl + 1, end);
    if (ctl < end)
        return pl__fail(err, PL_EPARSE, base, ctl, "control character in start line");
    if (end - p >= 4 && str_is_n(p, 4, "sip/", 4)) {
        /* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase */
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        if (!sp)
            return pl__fail(err, PL_EPARSE, base, end, "missing status code");
        m->version.p = p;
        m->version.len = (size_t)(sp - p);
        if (!version_ok(m->version))
            return pl__fail(err, PL_EPARSE, base, p, "bad SIP version");
        const char *c = sp + 1;
        const char *ce = skip_class(c, end, CC_DIGIT);
        uint32_t code;
        if (ce - c != 3 || pl_str_to_u32((pl_str){c, 3}, 699, &code) != PL_OK || code < 100)
            return pl__fail(err, PL_EPARSE, base, c, "bad status code");
        if (ce == end || *ce != ' ')
            return pl__fail(err, PL_EPARSE, base, ce, "missing space after status code");
        m->status = (uint16_t)code;
        m->reason.p = ce + 1;
        m->reason.len = (size_t)(end - ce - 1);
        m->is_request = false;
        return PL_OK;
    }
    /* Request-Line = Method SP Request-URI SP SIP-Version */
    const char *q = skip_class(p, end, CC_TOKEN);
    if (q == p)
        return pl__fail(err, PL_EPARSE, base, p, "bad method");
    if (q == end || *q != ' ')
        return pl__fail(err, PL_EPARSE, base, q, "bad character after method");
    m->method.p = p;
    m->method.len = (size_t)(q - p);
    m->method_id = pl_method_from_str(m->method);
    const char *u = q + 1;
    const char *ue = memchr(u, ' ', (size_t)(end - u));
    if (!ue)
        return pl__fail(err, PL_EPARSE, base, end, "missing SIP version in request line");
    if (ue == u)
        return pl__fail(err, PL_EPARSE, base, u, "extra space before Request-URI");
    m->ruri_raw.p = u;
    m->ruri_raw.len = (size_t)(ue - u);
    m->version.p = ue + 1;
    m->version.len = (size_t)(end - ue - 1);
    if (!version_ok(m->version))
        return pl__fail(err, PL_EPARSE, base, ue + 1, "bad SIP version in request line");
    pl_error uerr;
    if (pl_uri_parse(&m->ruri, m->ruri_raw, &uerr) != PL_OK)
        return pl__fail(err, PL_EPARSE, base, u + uerr.offset, uerr.reason);
    m->is_request = true;
    return PL_OK;
}

int pl__msg_hdrs_reserve(pl_msg *m, uint32_t n)
{
    if (n <= m->hdr_cap)
        return PL_OK;
    uint32_t cap = m->hdr_cap ? m->hdr_cap * 2 : HDRS_INITIAL;
    while (cap < n)
        cap *= 2;
    pl_hdr *h = pl_arena_alloc(m->arena, sizeof(pl_hdr) * cap);
    if (!h)
        return PL_ENOMEM;
    if (m->hdr_count)
        memcpy(h, m->hdrs, sizeof(pl_hdr) * m->hdr_count);
    m->hdrs = h;
    m->hdr_cap = cap;
    return PL_OK;
}

/*
 * Where quoted strings are, found only when a control byte turns up (rare):
 * RFC 3261 lets a quoted-pair escape any byte but CR and LF, so "\<NUL>"
 * inside quotes is legal (RFC 4475 intmeth) while a bare NUL is not. The
 * state advances monotonically, so a line full of them is still linear.
 */
typedef struct quote_state {
    const char *pos;
    bool in_quotes;
    bool escaped;
} quote_state;

static bool quoted_pair_at(quote_state *qs, const char *ctl)
{
    for (const char *p = qs->pos; p < ctl; p++) {
        if (qs->escaped)
            qs->escaped = false;
        else if (*p == '\\' && qs->in_quotes)
            qs->escaped = true;
        else if (*p == '"')
            qs->in_quotes = !qs->in_quotes;
    }
    qs->pos = ctl + 1;
    if (qs->in_quotes && qs->escaped) {
        qs->escaped = false;
        return true;
    }
    return false;
}

/*
 * One header field at p. Finds the CRLF that ends it (folds continue it),
 * checks its name, and fills *h. Returns the start of the next line, or NULL.
 */
static const char *scan_field(pl_hdr *h, const char *p, const char *end, uint32_t max_line,
                              const char *base, pl_error *err)
{
    const char *n = p;
    const char *q = skip_class(p, end, CC_TOKEN);
    if (q == n) {
        pl__fail(err, PL_EPARSE, base, n,
                 (*n == ' ' || *n == '\t') ? "folded line without a header" : "bad header name");
        return NULL;
    }
    h->name.p = n;
    h->name.len = (size_t)(q - n);
    /* Only SP and HTAB may stand between the name and the colon (AST-2016-009). */
    while (q < end && (*q == ' ' || *q == '\t'))
        q++;
    if (q == end || *q != ':') {
        pl__fail(err, PL_EPARSE, base, q, "bad character in header name");
        return NULL;
    }
    const char *colon = q++;
    const char *line_end;
    quote_state qs = {colon + 1, false, false};
    for (;;) {
        q = scan_ctl(q, end);
        if (q == end) {
            pl__fail(err, PL_EPARSE, base, q, "header not ended by CRLF");
            return NULL;
        }
        if (*q == '\t') {
            q++;
            continue;
        }
        if (*q == '\n') {
            pl__fail(err, PL_EPARSE, base, q, "bare LF in header");
            return NULL;
        }
        if (*q != '\r') {
            if (quoted_pair_at(&qs, q)) {
                q++;
                continue;
            }
            pl__fail(err, PL_EPARSE, base, q, "control character in header");
            return NULL;
        }
        if (end - q < 2 || q[1] != '\n') {
            pl__fail(err, PL_EPARSE, base, q, "bare CR in header");
            return NULL;
        }
        if (end - q >= 3 && (q[2] == ' ' || q[2] == '\t')) {
            q += 3; /* a fold: the field goes on */
            continue;
        }
        line_end = q;
        break;
    }
    if ((size_t)(line_end - n) > max_line) {
        pl__fail(err, PL_ELIMIT, base, n, "header line too long");
        return NULL;
    }
    const char *v = skip_lws(colon + 1, line_end);
    const char *ve = line_end;
    while (ve > v && cc_lws(ve[-1]))
        ve--;
    h->value.p = v;
    h->value.len = (size_t)(ve - v);
    h->line.p = n;
    h->line.len = (size_t)(line_end + 2 - n);
    h->id = pl_hdr_id_from_name(h->name);
    return line_end + 2;
}

int pl_msg_parse(pl_msg *m, const char *buf, size_t len, pl_arena *arena, const pl_parse_opts *opts,
                 pl_error *err)
{
    memset(m, 0, sizeof(*m));
    limits_fill(&m->limits, opts ? opts->limits : NULL);
    pl_framing framing = opts ? opts->framing : PL_FRAMING_DGRAM;
    m->arena = arena;
    if (!buf || !arena)
        return pl__fail(err, PL_EINVAL, buf, buf, "no buffer or arena");
    const char *p = buf, *end = buf + len;
    /* RFC 3261 7.5: CRLFs before the start line are ignored. */
    while (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
        p += 2;
    m->skipped = (size_t)(p - buf);
    if (p == end)
        return pl__fail(err, PL_EPARSE, buf, p, "empty message");
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl)
        return pl__fail(err, PL_EPARSE, buf, end, "start line not ended by CRLF");
    if (nl == p || nl[-1] != '\r')
        return pl__fail(err, PL_EPARSE, buf, nl, "bare LF after start line");
    if ((size_t)(nl - 1 - p) > m->limits.max_line) /* CRLF not counted, as for headers */
        return pl__fail(err, PL_ELIMIT, buf, p, "start line too long");
    int rc = parse_start_line(m, p, nl - 1, buf, err);
    if (rc != PL_OK)
        return rc;
    const char *msg_start = p;
    m->buf = msg_start; /* m->len stays 0 until the message is whole */
    p = nl + 1;
    rc = pl__msg_hdrs_reserve(m, HDRS_INITIAL);
    if (rc != PL_OK)
        return pl__fail(err, rc, buf, p, "out of memory");
    for (;;) {
        if (p == end)
            return pl__fail(err, PL_EPARSE, buf, p, "no blank line after headers");
        if (*p == '\r') {
            if (end - p >= 2 && p[1] == '\n') {
                p += 2;
                break;
            }
            return pl__fail(err, PL_EPARSE, buf, p, "bare CR in header");
        }
        if (m->hdr_count >= m->limits.max_headers)
            return pl__fail(err, PL_ELIMIT, buf, p, "too many headers");
        if (m->hdr_count == m->hdr_cap) {
            rc = pl__msg_hdrs_reserve(m, m->hdr_count + 1);
            if (rc != PL_OK)
                return pl__fail(err, rc, buf, p, "out of memory");
        }
        pl_hdr *h = &m->hdrs[m->hdr_count];
        const char *next = scan_field(h, p, end, m->limits.max_line, buf, err);
        if (!next)
            return err ? err->code : PL_EPARSE;
        m->hdr_count++;
        if (h->id != PL_HDR_OTHER) {
            rc = pl__msg_parse_eager(m, m->hdr_count - 1, err);
            if (rc != PL_OK)
                return rc;
        }
        p = next;
    }
    /* Body framing, RFC 3261 18.3. */
    size_t rest = (size_t)(end - p);
    size_t body_len;
    if (m->has_content_length) {
        body_len = m->content_length;
        if (body_len > rest) {
            int32_t i = pl_msg_hdr_find(m, PL_HDR_CONTENT_LENGTH, 0);
            return pl__fail(err, PL_EPARSE, buf, i >= 0 ? m->hdrs[i].value.p : p,
                            "Content-Length larger than the body received");
        }
        if (framing == PL_FRAMING_STREAM && body_len < rest)
            return pl__fail(err, PL_EPARSE, buf, p + body_len, "bytes after the body");
    } else {
        if (framing == PL_FRAMING_STREAM)
            return pl__fail(err, PL_EPARSE, buf, p, "no Content-Length on a stream");
        body_len = rest;
    }
    m->body.p = p;
    m->body.len = body_len;
    m->buf = msg_start;
    m->len = (size_t)(p + body_len - msg_start);
    m->trailing = rest - body_len;
    if (m->len > m->limits.max_msg_size)
        return pl__fail(err, PL_ELIMIT, buf, msg_start + m->limits.max_msg_size,
                        "message too large");
    return PL_OK;
}
