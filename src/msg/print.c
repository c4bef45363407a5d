/*
 * print.c - a message back to bytes: the start line, each header field's
 * line as it stands (original bytes, or the arena line an edit made), the
 * blank line and the body. Nothing is re-encoded, so an unchanged message
 * prints exactly as it was received; the length is known before the first
 * byte is written, and a short buffer is refused, never overrun.
 */
#include <string.h>

#include <parley/msg.h>

size_t pl_msg_print_len(const pl_msg *m)
{
    size_t n = m->start_line.len + 2;
    for (uint32_t i = 0; i < m->hdr_count; i++)
        n += m->hdrs[i].line.len;
    return n + 2 + m->body.len;
}

static char *put(char *w, pl_str s)
{
    if (s.len)
        memcpy(w, s.p, s.len);
    return w + s.len;
}

int pl_msg_print(const pl_msg *m, char *out, size_t cap, size_t *written)
{
    size_t n = pl_msg_print_len(m);
    if (n > cap)
        return PL_ENOSPC;
    char *w = out;
    w = put(w, m->start_line);
    w = put(w, PL_STR_LIT("\r\n"));
    for (uint32_t i = 0; i < m->hdr_count; i++)
        w = put(w, m->hdrs[i].line);
    w = put(w, PL_STR_LIT("\r\n"));
    w = put(w, m->body);
    if (written)
        *written = (size_t)(w - out);
    return PL_OK;
}
