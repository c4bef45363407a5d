/*
 * testutil.h - helpers shared by the unit tests.
 *
 * Messages in tests are written with "\n" line ends for legibility;
 * tu_crlf() turns them into the CRLF form on the wire, in a heap block of
 * exactly the message's size so that AddressSanitizer catches a read one
 * byte past the end. Every tu_ allocation is freed by tu_free_all().
 */
#ifndef PARLEY_TESTUTIL_H
#define PARLEY_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <parley/msg.h>

/* s with every "\n" made "\r\n" (an existing "\r\n" is kept); *len gets the size. */
char *tu_crlf(const char *s, size_t *len);
/* An exact-size heap copy of n bytes. */
char *tu_dup(const void *p, size_t n);
/* The whole file at path (relative to tests/data when not absolute). */
char *tu_read_file(const char *path, size_t *len);
/* Free everything the tu_ functions handed out, and the test arena's chunks. */
void tu_free_all(void);

/* The arena every test parse uses (reset by tu_free_all). */
pl_arena *tu_arena(void);

/* Parse CRLF-converted text as a datagram; returns pl_msg_parse's code. */
int tu_parse(const char *text, pl_msg *msg, pl_error *err);
/* The same with given options (framing, limits). */
int tu_parse_opts(const char *text, pl_msg *msg, const pl_parse_opts *opts, pl_error *err);

/* Assert that a pl_str equals a C string. */
#define assert_str(s, c)                                                                           \
    do {                                                                                           \
        pl_str _s = (s);                                                                           \
        const char *_c = (c);                                                                      \
        if (!pl_str_eq(_s, pl_str_c(_c)))                                                          \
            fail_msg("%s: got \"%.*s\", want \"%s\"", #s, (int)_s.len, _s.p ? _s.p : "", _c);      \
    } while (0)

#endif
