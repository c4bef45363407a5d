/*
 * reject.c - an answer to a request that does not parse.
 *
 * RFC 3261 (8.2, 16.3) and RFC 4475 want a 400 for a malformed request
 * wherever the sender can be told, but a message the parser refused has no
 * index to build a response from. This builder works on the raw bytes: a
 * start line that reads as a request line (a method token other than ACK,
 * a Request-URI, SIP/2.0), then the Via, From, To, Call-ID and CSeq lines
 * (long or compact names, any case, folds kept) copied as they came, so
 * that the sender's transaction can match the answer. Anything else is not
 * answered: a response, an ACK, bytes that do not look like SIP, or a
 * request missing one of those headers, or with a control byte in one.
 */
#include <string.h>

#include "chars.h"
#include "msg_int.h"

enum { H_VIA, H_FROM, H_TO, H_CALLID, H_CSEQ, H_N };

static int header_kind(const char *p, const char *colon)
{
    const char *e = colon;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    pl_str name = {p, (size_t)(e - p)};
    switch (pl_hdr_id_from_name(name)) {
    case PL_HDR_VIA:
        return H_VIA;
    case PL_HDR_FROM:
        return H_FROM;
    case PL_HDR_TO:
        return H_TO;
    case PL_HDR_CALL_ID:
        return H_CALLID;
    case PL_HDR_CSEQ:
        return H_CSEQ;
    default:
        return -1;
    }
}

/* The end of the field starting at p: past its CRLF and any folded lines. */
static const char *field_end(const char *p, const char *end)
{
    for (;;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return end;
        p = nl + 1;
        if (p == end || (*p != ' ' && *p != '\t'))
            return p;
    }
}

/* A request line: token SP something SP "SIP/2.0"; not ACK. */
static bool request_line(const char *p, const char *eol)
{
    const char *sp = memchr(p, ' ', (size_t)(eol - p));
    if (!sp || sp == p || (sp - p == 3 && memcmp(p, "ACK", 3) == 0))
        return false;
    for (const char *q = p; q < sp; q++)
        if (!cc_is((unsigned char)*q, CC_TOKEN))
            return false;
    if (sp - p == 7 && memcmp(p, "SIP/2.0", 7) == 0)
        return false; /* a response */
    const char *v = eol;
    while (v > sp && (v[-1] == '\r' || v[-1] == ' '))
        v--;
    return v - sp > 8 && memcmp(v - 7, "SIP/2.0", 7) == 0 && v[-8] == ' ';
}

static bool printable_field(const char *p, const char *e)
{
    for (const char *q = p; q < e; q++) {
        unsigned char c = (unsigned char)*q;
        if (c < 0x20 && c != '\t' && c != '\r' && c != '\n')
            return false;
    }
    return true;
}

int pl_msg_reject_raw(const char *buf, size_t len, uint16_t code, const char *reason, char *out,
                      size_t cap, size_t *written)
{
    const char *p = buf, *end = buf + len;
    while (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
        p += 2; /* keep-alive CRLFs before the start line (7.5) */
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl || !request_line(p, nl) || code < 300 || code > 699)
        return PL_EINVAL;
    /* Where each wanted header is, in order, up to 16 lines. */
    struct {
        const char *p;
        size_t body; /* the line's bytes without its final CRLF (or LF) */
        bool add_tag;
        int kind;
    } keep[16];
    size_t nkeep = 0;
    int seen[H_N] = {0};
    for (p = nl + 1; p < end && *p != '\r' && *p != '\n';) {
        const char *e = field_end(p, end);
        const char *colon = memchr(p, ':', (size_t)(e - p));
        int kind = colon ? header_kind(p, colon) : -1;
        if (kind >= 0 && nkeep < 16) {
            if (!printable_field(p, e) || e[-1] != '\n')
                return PL_EINVAL;
            size_t body = (size_t)(e - p);
            while (body > 0 && (p[body - 1] == '\r' || p[body - 1] == '\n'))
                body--;
            /* A To without a tag gets one (8.2.6.2), before the line's end.
             * The tag is a header parameter: look past the '>' of a
             * name-addr, else past the first ';' (not in the URI's user). */
            bool add_tag = kind == H_TO;
            const char *params = add_tag ? memrchr(p, '>', body) : NULL;
            if (add_tag && !params)
                params = memchr(colon, ';', (size_t)(p + body - colon));
            size_t from = params ? (size_t)(params - p) : body;
            for (size_t k = from; add_tag && k + 4 <= body; k++)
                if (pl_str_case_eq((pl_str){p + k, 4}, PL_STR_LIT("tag=")))
                    add_tag = false;
            keep[nkeep].p = p;
            keep[nkeep].body = body;
            keep[nkeep].add_tag = add_tag;
            keep[nkeep++].kind = kind;
            seen[kind]++;
        }
        p = e;
    }
    for (int k = 0; k < H_N; k++)
        if (!seen[k])
            return PL_EINVAL;
    /* The reason phrase: the code's, then why, kept to phrase bytes. */
    char phrase[160];
    size_t pl = 0;
    const char *std = pl_status_reason(code);
    for (const char *s = std; *s && pl < sizeof(phrase) - 1; s++)
        phrase[pl++] = *s;
    if (reason && *reason && pl + 3 < sizeof(phrase)) {
        phrase[pl++] = ' ';
        phrase[pl++] = '(';
        for (const char *s = reason; *s && pl < sizeof(phrase) - 2; s++)
            phrase[pl++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
        phrase[pl++] = ')';
    }
    size_t o = 0;
    char num[4] = {(char)('0' + code / 100), (char)('0' + code / 10 % 10), (char)('0' + code % 10),
                   ' '};
    const char *tag = ";tag=pl400x";
    size_t taglen = strlen(tag);
    size_t need = 8 + 4 + pl + 2 + 21;
    for (size_t i = 0; i < nkeep; i++)
        need += keep[i].body + 2 + (keep[i].add_tag ? taglen : 0);
    if (need > cap)
        return PL_ENOSPC;
    memcpy(out + o, "SIP/2.0 ", 8);
    o += 8;
    memcpy(out + o, num, 4);
    o += 4;
    memcpy(out + o, phrase, pl);
    o += pl;
    memcpy(out + o, "\r\n", 2);
    o += 2;
    for (size_t i = 0; i < nkeep; i++) {
        memcpy(out + o, keep[i].p, keep[i].body);
        o += keep[i].body;
        if (keep[i].add_tag) {
            memcpy(out + o, tag, taglen);
            o += taglen;
        }
        memcpy(out + o, "\r\n", 2);
        o += 2;
    }
    memcpy(out + o, "Content-Length: 0\r\n\r\n", 21);
    o += 21;
    *written = o;
    return PL_OK;
}
