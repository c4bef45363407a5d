/*
 * framer.c - cutting a byte stream (TCP, TLS) into messages, RFC 3261
 * section 18.3: the header section ends at the first empty line and the
 * body is exactly Content-Length bytes, which a stream message must carry.
 *
 * Bytes may arrive split anywhere. The framer remembers how far it looked
 * for the empty line and, once found, the message's total length, so a
 * message trickled in one byte at a time costs linear time. CRLFs between
 * messages are keep-alives (RFC 5626 section 3.5.1): each double CRLF is a
 * ping, counted so that the transport can answer with a single CRLF.
 */
#include <string.h>

#include "chars.h"
#include "msg_int.h"

void pl_framer_init(pl_framer *f, const pl_msg_limits *limits)
{
    memset(f, 0, sizeof(*f));
    if (limits)
        f->limits = *limits;
    if (!f->limits.max_msg_size)
        f->limits.max_msg_size = PL_MSG_DEFAULT_MAX_SIZE;
}

/* Content-Length (or "l") from the header section [p, end): the value, or
 * -1 when absent, -2 when malformed or conflicting, -3 when above max. */
static long long find_content_length(const char *p, const char *end, size_t max, const char **where)
{
    long long found = -1;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl + 1 : end;
        if (*p != ' ' && *p != '\t') {
            const char *n = p;
            const char *q = skip_class(p, line_end, CC_TOKEN);
            pl_str name = {n, (size_t)(q - n)};
            while (q < line_end && (*q == ' ' || *q == '\t'))
                q++;
            if (q < line_end && *q == ':' && pl_hdr_id_from_name(name) == PL_HDR_CONTENT_LENGTH) {
                /* The value may be folded onto the next lines. */
                const char *v = q + 1, *ve = line_end;
                while (ve < end && (*ve == ' ' || *ve == '\t')) {
                    const char *nl2 = memchr(ve, '\n', (size_t)(end - ve));
                    ve = nl2 ? nl2 + 1 : end;
                }
                pl_str val = pl_str_trim((pl_str){v, (size_t)(ve - v)});
                uint32_t cl;
                *where = val.len ? val.p : v; /* the value, as the parser reports it */
                int rc = pl_str_to_u32(val, max > UINT32_MAX ? UINT32_MAX : (uint32_t)max, &cl);
                if (rc == PL_ELIMIT)
                    return -3;
                if (rc != PL_OK || (found >= 0 && found != (long long)cl))
                    return -2;
                found = cl;
                line_end = ve;
            }
        }
        p = line_end;
    }
    return found;
}

int pl_framer_next(pl_framer *f, const char *buf, size_t len, pl_frame *fr, pl_error *err)
{
    fr->skip = 0;
    fr->len = 0;
    fr->pings = 0;
    size_t s = 0;
    while (len - s >= 2 && buf[s] == '\r' && buf[s + 1] == '\n') {
        s += 2;
        f->crlf_odd = !f->crlf_odd;
        if (!f->crlf_odd)
            fr->pings++; /* RFC 5626 3.5.1: a double CRLF is a ping */
    }
    fr->skip = s;
    if (s == len || (len - s == 1 && buf[s] == '\r'))
        return PL_ENEEDMORE;
    f->crlf_odd = false; /* a message starts here */
    const char *msg = buf + s;
    size_t avail = len - s;
    if (f->total == 0) {
        size_t from = f->scanned > 3 ? f->scanned - 3 : 0;
        const char *eoh = from < avail ? memmem(msg + from, avail - from, "\r\n\r\n", 4) : NULL;
        if (!eoh) {
            f->scanned = avail;
            if (avail > f->limits.max_msg_size)
                return pl__fail(err, PL_ELIMIT, buf, msg, "message too large");
            return PL_ENEEDMORE;
        }
        size_t hdr_len = (size_t)(eoh + 4 - msg);
        if (hdr_len > f->limits.max_msg_size)
            return pl__fail(err, PL_ELIMIT, buf, msg, "message too large");
        const char *where = msg;
        long long cl = find_content_length(msg, eoh + 2, f->limits.max_msg_size, &where);
        if (cl == -1)
            return pl__fail(err, PL_EPARSE, buf, eoh, "no Content-Length on a stream");
        if (cl == -2)
            return pl__fail(err, PL_EPARSE, buf, where, "bad Content-Length");
        if (cl == -3 || hdr_len + (size_t)cl > f->limits.max_msg_size)
            return pl__fail(err, PL_ELIMIT, buf, where, "message too large");
        f->total = hdr_len + (size_t)cl;
    }
    if (f->total > avail)
        return PL_ENEEDMORE;
    fr->len = f->total;
    f->total = 0;
    f->scanned = 0;
    return PL_OK;
}
