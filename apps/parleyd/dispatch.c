/*
 * dispatch.c - the Call-ID of a raw message, for choosing its worker.
 *
 * This runs on every message before the parse (which happens on the
 * owner), so it only looks for line starts and compares one header name;
 * it stops at the blank line that ends the header section. It must find
 * the same Call-ID as the parser for every message of a call, whatever
 * the sender's spelling: the name in any case (RFC 3261 7.3.1), the
 * compact form "i", blanks before the colon, and a value folded onto the
 * next line.
 */
#include "dispatch.h"

#include <parley/dialog.h>

static bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

/* Does the header line at p (up to end) name Call-ID? Sets *colon past the ':'. */
static bool names_call_id(const char *p, const char *end, const char **colon)
{
    static const char name[] = "call-id";
    size_t n = 0;
    while (p + n < end && n < 7 && (p[n] | 0x20) == name[n])
        n++;
    if (n != 7) {
        if (!(p < end && (p[0] | 0x20) == 'i'))
            return false;
        n = 1; /* the compact form */
    }
    const char *q = p + n;
    while (q < end && is_ws(*q))
        q++;
    if (q == end || *q != ':')
        return false;
    *colon = q + 1;
    return true;
}

bool pd_call_id(const char *buf, size_t len, pl_str *out)
{
    const char *p = buf, *end = buf + len;
    /* CRLFs before the start line are skipped, as the parser does (RFC
     * 3261 7.5); then the start line. */
    while (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
        p += 2;
    while (p < end && *p != '\n')
        p++;
    while (p < end) {
        p++; /* past the '\n': p starts a line */
        if (p == end || *p == '\r' || *p == '\n')
            return false; /* the blank line: no Call-ID */
        const char *v;
        if (!is_ws(*p) && names_call_id(p, end, &v)) {
            /* Blanks, and folds (CRLF then a blank), before the value. */
            for (;;) {
                while (v < end && is_ws(*v))
                    v++;
                const char *f = v;
                if (f < end && *f == '\r')
                    f++;
                if (f < end && *f == '\n' && f + 1 < end && is_ws(f[1])) {
                    v = f + 1;
                    continue;
                }
                break;
            }
            const char *e = v;
            while (e < end && !is_ws(*e) && *e != '\r' && *e != '\n')
                e++;
            if (e == v)
                return false;
            *out = (pl_str){v, (size_t)(e - v)};
            return true;
        }
        while (p < end && *p != '\n')
            p++;
    }
    return false;
}

uint32_t pd_call_id_hash(pl_str call_id)
{
    /* The dialog module's hash: a dialog lives in the table of the worker
     * that owns its Call-ID, and finds it from its id alone. */
    return pl_dlg_hash(call_id);
}

int pd_owner(const char *buf, size_t len, unsigned n)
{
    pl_str id;
    if (n <= 1 || !pd_call_id(buf, len, &id))
        return -1;
    return (int)(pd_call_id_hash(id) % n);
}
