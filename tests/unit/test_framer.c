/*
 * test_framer.c - the stream framer (RFC 3261 section 18.3, RFC 5626 3.5.1
 * keep-alives) and parsing of framed messages with PL_FRAMING_STREAM.
 *
 * A simulated reader receives a stream in chunks - whole, split at every
 * byte boundary into two, one byte at a time, and in random sizes with a
 * fixed seed - appends each chunk to its buffer, calls pl_framer_next()
 * until PL_ENEEDMORE and drops skip + len after each PL_OK. Whatever the
 * chunking, the framed messages must be the same byte sequences and the
 * pings counted the same. Then the framer's errors and limits.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int teardown(void **state)
{
    (void)state;
    tu_free_all();
    return 0;
}

/* ------------------------------------------------------------- the reader */

/* Where each expected message lies in the stream. */
typedef struct expect {
    size_t n;
    size_t off[64];
    size_t len[64];
    uint32_t pings; /* total double-CRLF keep-alives */
} expect;

typedef enum reader_kind {
    /* A reader that keeps the keep-alive bytes until a message is framed
     * (drops skip only with a PL_OK). msg.h asks readers to drop skip on
     * every return, so this one may count pings more than once; it is run
     * to show that the framing itself does not depend on it. */
    READER_DROP_ON_OK,
    /* The reader msg.h describes: drops frame->skip after every return and
     * adds up the pings of every return. Its ping count must be exact. */
    READER_DROP_SKIP_ALWAYS,
} reader_kind;

typedef struct reader {
    reader_kind kind;
    bool exact;         /* hand the framer an exact-size copy (ASan catches over-reads) */
    const char *stream; /* every byte of the stream */
    size_t received;    /* bytes of the stream delivered so far */
    size_t consumed;    /* bytes of the stream dropped so far */
    pl_framer f;
    const pl_msg_limits *limits;
    size_t framed; /* messages framed so far */
    uint32_t pings;
    const expect *want;
    const char *mode; /* for failure messages */
} reader;

static void reader_init(reader *r, reader_kind kind, bool exact, const char *stream,
                        const expect *want, const char *mode)
{
    memset(r, 0, sizeof(*r));
    r->kind = kind;
    r->exact = exact;
    r->stream = stream;
    r->want = want;
    r->mode = mode;
    pl_framer_init(&r->f, NULL);
}

/* One framer call on the unconsumed bytes. */
static int reader_call(reader *r, pl_frame *fr, pl_error *err)
{
    size_t n = r->received - r->consumed;
    const char *p = r->stream + r->consumed;
    char *copy = NULL;
    if (r->exact) {
        copy = malloc(n ? n : 1);
        assert_non_null(copy);
        if (n)
            memcpy(copy, p, n);
        p = copy;
    }
    memset(fr, 0xa5, sizeof(*fr));
    int rc = pl_framer_next(&r->f, p, n, fr, err);
    free(copy);
    if (rc == PL_OK || rc == PL_ENEEDMORE)
        assert_true(fr->skip <= n);
    if (rc == PL_OK)
        assert_true(fr->len > 0 && fr->skip + fr->len <= n);
    return rc;
}

/* Deliver `len` more bytes and frame everything that is whole. */
static void reader_feed(reader *r, size_t len)
{
    r->received += len;
    for (;;) {
        pl_frame fr;
        pl_error err = {0};
        int rc = reader_call(r, &fr, &err);
        if (rc == PL_ENEEDMORE) {
            if (r->kind == READER_DROP_SKIP_ALWAYS) {
                r->pings += fr.pings;
                r->consumed += fr.skip;
            }
            return;
        }
        if (rc != PL_OK)
            fail_msg("%s: framer error %d (%s) at stream offset %zu", r->mode, rc,
                     err.reason ? err.reason : "", r->consumed);
        size_t i = r->framed;
        size_t start = r->consumed + fr.skip;
        if (i >= r->want->n)
            fail_msg("%s: an extra message framed at %zu (len %zu)", r->mode, start, fr.len);
        if (start != r->want->off[i] || fr.len != r->want->len[i])
            fail_msg("%s: message %zu framed at %zu len %zu, want %zu len %zu", r->mode, i, start,
                     fr.len, r->want->off[i], r->want->len[i]);
        r->framed++;
        r->pings += fr.pings;
        r->consumed += fr.skip + fr.len;
    }
}

/* The end of the stream: nothing but keep-alives may be left. */
static void reader_finish(reader *r)
{
    pl_frame fr;
    pl_error err = {0};
    int rc = reader_call(r, &fr, &err);
    if (rc != PL_ENEEDMORE)
        fail_msg("%s: at the end of the stream got %d, want PL_ENEEDMORE", r->mode, rc);
    r->pings += fr.pings;
    if (r->framed != r->want->n)
        fail_msg("%s: framed %zu messages, want %zu", r->mode, r->framed, r->want->n);
    if (r->consumed + fr.skip != r->received)
        fail_msg("%s: %zu bytes left over at the end", r->mode,
                 r->received - r->consumed - fr.skip);
    if (r->kind == READER_DROP_SKIP_ALWAYS && r->pings != r->want->pings)
        fail_msg("%s: counted %u pings, want %u", r->mode, r->pings, r->want->pings);
}

/* Run one chunking of the stream through a reader. */
static void run_chunks(reader_kind kind, bool exact, const char *stream, size_t len,
                       const expect *want, const size_t *chunks, size_t n_chunks, const char *mode)
{
    reader r;
    reader_init(&r, kind, exact, stream, want, mode);
    size_t total = 0;
    for (size_t i = 0; i < n_chunks; i++) {
        reader_feed(&r, chunks[i]);
        total += chunks[i];
    }
    assert_int_equal(total, len);
    reader_finish(&r);
}

/* A small deterministic generator (fixed seeds, same on every run). */
static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}

/* Every chunking the brief asks for: whole, two chunks at every boundary,
 * 1-byte chunks, random chunk sizes. */
static void all_chunkings(reader_kind kind, bool exact, const char *stream, size_t len,
                          const expect *want, bool every_split)
{
    char mode[96];
    size_t one = len;
    run_chunks(kind, exact, stream, len, want, &one, 1, "whole");
    if (every_split) {
        for (size_t k = 0; k <= len; k++) {
            size_t two[2] = {k, len - k};
            snprintf(mode, sizeof(mode), "split at %zu", k);
            run_chunks(kind, exact, stream, len, want, two, 2, mode);
        }
    }
    size_t *chunks = malloc(sizeof(size_t) * (len ? len : 1));
    assert_non_null(chunks);
    for (size_t i = 0; i < len; i++)
        chunks[i] = 1;
    run_chunks(kind, exact, stream, len, want, chunks, len, "1-byte chunks");
    for (uint32_t seed = 1; seed <= 20; seed++) {
        uint32_t s = seed;
        size_t n = 0, left = len;
        uint32_t maxc = seed <= 10 ? 8 : 200;
        while (left) {
            size_t c = 1 + lcg(&s) % maxc;
            if (c > left)
                c = left;
            chunks[n++] = c;
            left -= c;
        }
        snprintf(mode, sizeof(mode), "random chunks (seed %u)", seed);
        run_chunks(kind, exact, stream, len, want, chunks, n, mode);
    }
    free(chunks);
}

/* ------------------------------------------------------- the test stream */

static const char m_invite[] =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\n"
    "Via: SIP/2.0/TCP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\n"
    "Max-Forwards: 70\n"
    "To: Bob <sip:bob@biloxi.example.com>\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\n"
    "CSeq: 314159 INVITE\n"
    "Contact: <sip:alice@pc33.atlanta.example.com;transport=tcp>\n"
    "Content-Type: application/sdp\n"
    "Content-Length: 138\n"
    "\n"
    /* 138 bytes, with an empty line inside: only Content-Length ends it */
    "v=0\n"
    "o=alice 2890844526 2890844526 IN IP4 192.0.2.101\n"
    "s=-\n"
    "\n"
    "c=IN IP4 192.0.2.101\n"
    "t=0 0\n"
    "m=audio 49170 RTP/AVP 0\n"
    "a=rtpmap:0 PCMU/8000\n";

static const char m_options[] =
    "OPTIONS sip:carol@chicago.example.com SIP/2.0\n"
    "v: SIP/2.0/TCP pc33.atlanta.example.com;branch=z9hG4bKhjhs8ass877\n"
    "Max-Forwards: 70\n"
    "t: <sip:carol@chicago.example.com>\n"
    "f: Alice <sip:alice@atlanta.example.com>;tag=1928301774\n"
    "i: a84b4c76e66710\n"
    "CSeq: 63104 OPTIONS\n"
    "Accept: application/sdp\n"
    "l: 0\n"
    "\n";

static const char m_ok[] = "SIP/2.0 200 OK\n"
                           "Via: SIP/2.0/TCP pc33.atlanta.example.com;branch=z9hG4bKhjhs8ass877\n"
                           "To: <sip:carol@chicago.example.com>;tag=93810874\n"
                           "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\n"
                           "Call-ID: a84b4c76e66710\n"
                           "CSeq: 63104 OPTIONS\n"
                           "Content-Length:\n"
                           "  30\n"
                           "Content-Type: text/plain\n"
                           "\n"
                           "\r\n\r\nbody with CRLFs\r\n\r\n\r\n\r\nend";

/* Append s to a growing buffer. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void sb_msg(sbuf *b, expect *e, const char *s, size_t n)
{
    e->off[e->n] = b->len;
    e->len[e->n] = n;
    e->n++;
    sb_add(b, s, n);
}

/* The stream: pings before, between and after the messages, and a lone CRLF. */
static char *make_stream(size_t *len, expect *e)
{
    memset(e, 0, sizeof(*e));
    sbuf b = {0};
    size_t n1, n2, n3;
    const char *s1 = tu_crlf(m_invite, &n1);
    const char *s2 = tu_crlf(m_options, &n2);
    /* m_ok already holds CRLFs in its body: tu_crlf keeps them */
    const char *s3 = tu_crlf(m_ok, &n3);
    sb_add(&b, "\r\n\r\n", 4); /* 1 ping */
    sb_msg(&b, e, s1, n1);
    sb_add(&b, "\r\n\r\n", 4); /* 1 ping */
    sb_msg(&b, e, s2, n2);
    sb_add(&b, "\r\n", 2); /* a lone CRLF: no ping */
    sb_msg(&b, e, s3, n3);
    sb_msg(&b, e, s1, n1);             /* back to back, no keep-alive */
    sb_add(&b, "\r\n\r\n\r\n\r\n", 8); /* 2 pings */
    sb_msg(&b, e, s2, n2);
    sb_add(&b, "\r\n\r\n\r\n", 6); /* 1 ping, then a lone CRLF at the end */
    e->pings = 5;
    char *out = tu_dup(b.p, b.len);
    *len = b.len;
    free(b.p);
    return out;
}

static void test_stream_messages_parse(void **state)
{
    (void)state;
    size_t len;
    expect e;
    char *stream = make_stream(&len, &e);
    assert_int_equal(e.n, 5);
    for (size_t i = 0; i < e.n; i++) {
        pl_msg m;
        pl_error err = {0};
        pl_parse_opts opts = {PL_FRAMING_STREAM, NULL};
        char *copy = tu_dup(stream + e.off[i], e.len[i]);
        int rc = pl_msg_parse(&m, copy, e.len[i], tu_arena(), &opts, &err);
        if (rc != PL_OK)
            fail_msg("message %zu: %d (%s at %zu)", i, rc, err.reason, err.offset);
        assert_int_equal(m.len, e.len[i]);
        assert_int_equal(m.body.len, m.content_length);
        /* one byte short or one byte over is refused on a stream */
        assert_int_not_equal(pl_msg_parse(&m, copy, e.len[i] - 1, tu_arena(), &opts, NULL), PL_OK);
        char *over = tu_dup(stream + e.off[i], e.len[i] + 1);
        assert_int_not_equal(pl_msg_parse(&m, over, e.len[i] + 1, tu_arena(), &opts, NULL), PL_OK);
    }
    pl_msg m;
    pl_parse_opts opts = {PL_FRAMING_STREAM, NULL};
    char *c = tu_dup(stream + e.off[0], e.len[0]);
    assert_int_equal(pl_msg_parse(&m, c, e.len[0], tu_arena(), &opts, NULL), PL_OK);
    assert_int_equal(m.content_length, 138);
    assert_int_equal(m.method_id, PL_METHOD_INVITE);
    c = tu_dup(stream + e.off[2], e.len[2]);
    assert_int_equal(pl_msg_parse(&m, c, e.len[2], tu_arena(), &opts, NULL), PL_OK);
    assert_int_equal(m.status, 200);
    assert_int_equal(m.content_length, 30);
    assert_int_equal(m.body.len, 30);
}

static void test_stream_chunkings(void **state)
{
    (void)state;
    size_t len;
    expect e;
    char *stream = make_stream(&len, &e);
    all_chunkings(READER_DROP_ON_OK, true, stream, len, &e, true);
}

/*
 * The header allows dropping frame->skip after PL_ENEEDMORE. A reader that
 * does must see the same messages and count the same pings.
 */
static void test_stream_chunkings_drop_skip(void **state)
{
    (void)state;
    size_t len;
    expect e;
    char *stream = make_stream(&len, &e);
    all_chunkings(READER_DROP_SKIP_ALWAYS, true, stream, len, &e, true);
}

/* Minimal cases of the above, named so that a failure says which. */
static void test_ping_split_drop_skip(void **state)
{
    (void)state;
    /* "\r\n" | "\r\n" then a message: one ping in all */
    size_t n;
    char *msg = tu_crlf(m_options, &n);
    sbuf b = {0};
    expect e = {0};
    sb_add(&b, "\r\n\r\n", 4);
    sb_msg(&b, &e, msg, n);
    e.pings = 1;
    char *stream = tu_dup(b.p, b.len);
    free(b.p);
    size_t two[2] = {2, b.len - 2};
    run_chunks(READER_DROP_ON_OK, true, stream, b.len, &e, two, 2, "keep bytes, split in ping");
    run_chunks(READER_DROP_SKIP_ALWAYS, true, stream, b.len, &e, two, 2,
               "drop skip, split in ping");
}

static void test_eoh_split_after_skip_drop_skip(void **state)
{
    (void)state;
    /* "\r\n\r\n" + headers up to "\r\n\r" | "\n" + the rest: the first call
     * reports skip 4 with PL_ENEEDMORE; after dropping it, the end of the
     * header section must still be found. */
    size_t n;
    char *msg = tu_crlf(m_invite, &n);
    sbuf b = {0};
    expect e = {0};
    sb_add(&b, "\r\n\r\n", 4);
    sb_msg(&b, &e, msg, n);
    e.pings = 1;
    char *stream = tu_dup(b.p, b.len);
    size_t eoh = 0;
    for (size_t i = 4; i + 4 <= b.len; i++)
        if (memcmp(b.p + i, "\r\n\r\n", 4) == 0) {
            eoh = i;
            break;
        }
    assert_true(eoh > 4);
    free(b.p);
    for (size_t k = eoh; k <= eoh + 4; k++) {
        size_t two[2] = {k, b.len - k};
        char mode[64];
        snprintf(mode, sizeof(mode), "keep bytes, split at %zu", k);
        run_chunks(READER_DROP_ON_OK, true, stream, b.len, &e, two, 2, mode);
        snprintf(mode, sizeof(mode), "drop skip, split at %zu", k);
        run_chunks(READER_DROP_SKIP_ALWAYS, true, stream, b.len, &e, two, 2, mode);
    }
}

/* ------------------------------------------------ RFC 4475 in a stream */

/* True when the header section (up to the first empty line) has a
 * Content-Length or "l" field. */
static bool has_cl_field(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t e = i;
        while (e < n && p[e] != '\n')
            e++;
        size_t le = e;
        if (le > i && p[le - 1] == '\r')
            le--;
        if (le == i && i > 0)
            break; /* the empty line */
        size_t k = i;
        while (k < le && p[k] != ':' && p[k] != ' ' && p[k] != '\t')
            k++;
        size_t c = k;
        while (c < le && (p[c] == ' ' || p[c] == '\t'))
            c++;
        if (c < le && p[c] == ':' && k > i) {
            pl_str name = {p + i, k - i};
            if (pl_str_case_eq_c(name, "content-length") || pl_str_case_eq_c(name, "l"))
                return true;
        }
        i = e + 1;
    }
    return false;
}

typedef struct rfc_file {
    char name[64];
    char *buf;
    size_t len;
} rfc_file;

static size_t list_rfc4475(rfc_file *files, size_t cap)
{
    size_t len;
    char *t = tu_read_file("rfc4475/expected.tsv", &len);
    size_t n = 0;
    const char *p = t, *end = t + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (le > p && *p != '#') {
            const char *tab = memchr(p, '\t', (size_t)(le - p));
            assert_non_null(tab);
            assert_true(n < cap);
            snprintf(files[n].name, sizeof(files[n].name), "%.*s", (int)(tab - p), p);
            char path[128];
            snprintf(path, sizeof(path), "rfc4475/%s", files[n].name);
            files[n].buf = tu_read_file(path, &files[n].len);
            n++;
        }
        p = le + 1;
    }
    return n;
}

/* Each file alone as a stream. */
static void test_rfc4475_each(void **state)
{
    (void)state;
    rfc_file files[64];
    size_t nf = list_rfc4475(files, 64);
    assert_int_equal(nf, 49);
    size_t whole = 0, no_cl = 0;
    for (size_t i = 0; i < nf; i++) {
        const rfc_file *f = &files[i];
        pl_framer fr;
        pl_framer_init(&fr, NULL);
        pl_frame fm;
        pl_error err = {0};
        int rc = pl_framer_next(&fr, f->buf, f->len, &fm, &err);
        if (!has_cl_field(f->buf, f->len)) {
            no_cl++;
            if (rc != PL_EPARSE || !err.reason || !strstr(err.reason, "Content-Length"))
                fail_msg("%s has no Content-Length: got %d (%s), want PL_EPARSE", f->name, rc,
                         err.reason ? err.reason : "");
            continue;
        }
        if (strcmp(f->name, "ncl.dat") == 0 || strcmp(f->name, "mcl01.dat") == 0) {
            /* Content-Length -999; two Content-Lengths that disagree */
            if (rc != PL_EPARSE)
                fail_msg("%s: got %d, want PL_EPARSE", f->name, rc);
            continue;
        }
        if (strcmp(f->name, "clerr.dat") == 0 || strcmp(f->name, "baddn.dat") == 0) {
            /* 9999 bytes announced, fewer sent; no empty line after the
             * headers: a stream can only wait for more */
            if (rc != PL_ENEEDMORE)
                fail_msg("%s: got %d, want PL_ENEEDMORE", f->name, rc);
            continue;
        }
        if (strcmp(f->name, "dblreq.dat") == 0) {
            /* a REGISTER, then (after a CRLF) an INVITE whose body is longer
             * than its Content-Length: the extra bytes are no message */
            assert_int_equal(rc, PL_OK);
            assert_int_equal(fm.skip, 0);
            assert_int_equal(fm.len, 300);
            size_t off = 300;
            rc = pl_framer_next(&fr, f->buf + off, f->len - off, &fm, &err);
            assert_int_equal(rc, PL_OK);
            assert_int_equal(fm.skip, 2);
            off += fm.skip;
            assert_memory_equal(f->buf + off, "INVITE ", 7);
            off += fm.len;
            rc = pl_framer_next(&fr, f->buf + off, f->len - off, &fm, &err);
            assert_int_equal(rc, PL_EPARSE);
            continue;
        }
        if (rc != PL_OK || fm.skip != 0 || fm.len != f->len)
            fail_msg("%s: got %d skip %zu len %zu, want the whole file (%zu)", f->name, rc, fm.skip,
                     fm.len, f->len);
        whole++;
    }
    assert_int_equal(no_cl, 1); /* inv2543 */
    assert_int_equal(whole, 49 - 1 - 5);
}

/* The files that frame whole, concatenated, split at every boundary. */
static void test_rfc4475_stream(void **state)
{
    (void)state;
    rfc_file files[64];
    size_t nf = list_rfc4475(files, 64);
    sbuf b = {0};
    expect e = {0};
    for (size_t i = 0; i < nf; i++) {
        const rfc_file *f = &files[i];
        if (!has_cl_field(f->buf, f->len))
            continue;
        pl_framer fr;
        pl_framer_init(&fr, NULL);
        pl_frame fm;
        if (pl_framer_next(&fr, f->buf, f->len, &fm, NULL) != PL_OK || fm.len != f->len)
            continue;
        assert_true(e.n < 64);
        sb_msg(&b, &e, f->buf, f->len);
        if (e.n % 3 == 0)
            sb_add(&b, "\r\n\r\n", 4), e.pings++;
    }
    assert_int_equal(e.n, 43);
    char *stream = tu_dup(b.p, b.len);
    size_t len = b.len;
    free(b.p);
    /* not exact copies here: the stream is long and every split is O(n) */
    all_chunkings(READER_DROP_ON_OK, false, stream, len, &e, true);
    /* the messages of the stream that parse as datagrams parse framed too */
    size_t parsed = 0;
    for (size_t i = 0; i < e.n; i++) {
        pl_msg dg, st;
        char *c = tu_dup(stream + e.off[i], e.len[i]);
        pl_parse_opts opts = {PL_FRAMING_STREAM, NULL};
        int rd = pl_msg_parse(&dg, c, e.len[i], tu_arena(), NULL, NULL);
        int rs = pl_msg_parse(&st, c, e.len[i], tu_arena(), &opts, NULL);
        assert_int_equal(rd, rs);
        if (rs == PL_OK) {
            assert_int_equal(st.len, e.len[i]);
            parsed++;
        }
        pl_arena_reset(tu_arena());
    }
    assert_true(parsed >= 30);
}

/* ---------------------------------------------------------------- errors */

/* Frame text (converted to CRLF) as a whole stream. */
static int frame_text(const char *text, const pl_msg_limits *lim, pl_frame *fm, pl_error *err,
                      size_t *len)
{
    size_t n;
    char *b = tu_crlf(text, &n);
    pl_framer f;
    pl_framer_init(&f, lim);
    if (len)
        *len = n;
    return pl_framer_next(&f, b, n, fm, err);
}

static void test_no_content_length(void **state)
{
    (void)state;
    pl_frame fm;
    pl_error err = {0};
    const char *t = "OPTIONS sip:b@example.com SIP/2.0\n"
                    "Via: SIP/2.0/TCP a.example.com;branch=z9hG4bK1\n"
                    "X-Content-Length: 0\n"
                    "Subject: x\n"
                    " Content-Length: 0\n"
                    "\n";
    assert_int_equal(frame_text(t, NULL, &fm, &err, NULL), PL_EPARSE);
    assert_non_null(err.reason);
    assert_non_null(strstr(err.reason, "Content-Length"));
    /* before the header section ends, there is nothing to say yet */
    assert_int_equal(
        frame_text("OPTIONS sip:b@example.com SIP/2.0\nVia: x\n", NULL, &fm, &err, NULL),
        PL_ENEEDMORE);
    /* and pl_msg_parse agrees */
    pl_msg m;
    pl_parse_opts opts = {PL_FRAMING_STREAM, NULL};
    assert_int_equal(tu_parse_opts("OPTIONS sip:b@example.com SIP/2.0\n"
                                   "Via: SIP/2.0/TCP a.example.com;branch=z9hG4bK1\n"
                                   "\n",
                                   &m, &opts, NULL),
                     PL_EPARSE);
}

static void test_conflicting_content_length(void **state)
{
    (void)state;
    pl_frame fm;
    pl_error err = {0};
    const char *t = "OPTIONS sip:b@example.com SIP/2.0\n"
                    "Content-Length: 5\n"
                    "l: 6\n"
                    "\n"
                    "123456";
    assert_int_equal(frame_text(t, NULL, &fm, &err, NULL), PL_EPARSE);
    assert_non_null(err.reason);
    const char *t2 = "OPTIONS sip:b@example.com SIP/2.0\n"
                     "l: 6\n"
                     "CONTENT-LENGTH: 5\n"
                     "\n"
                     "123456";
    assert_int_equal(frame_text(t2, NULL, &fm, &err, NULL), PL_EPARSE);
    /* malformed values */
    const char *bad[] = {"-1", "5x", "", "0x10", "5 5", "+5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "OPTIONS sip:b@example.com SIP/2.0\nContent-Length: %s\n\n",
                 bad[i]);
        int rc = frame_text(text, NULL, &fm, &err, NULL);
        if (rc != PL_EPARSE)
            fail_msg("Content-Length \"%s\": got %d, want PL_EPARSE", bad[i], rc);
    }
}

static void test_content_length_too_big(void **state)
{
    (void)state;
    pl_msg_limits lim = {0};
    lim.max_msg_size = 1000;
    pl_frame fm;
    pl_error err = {0};
    /* refused as soon as the header section is there, before any body */
    const char *t = "INVITE sip:b@example.com SIP/2.0\n"
                    "Content-Length: 5000\n"
                    "\n";
    assert_int_equal(frame_text(t, &lim, &fm, &err, NULL), PL_ELIMIT);
    assert_non_null(err.reason);
    /* headers + body just over the limit, the body alone under it */
    const char *t2 = "INVITE sip:b@example.com SIP/2.0\n"
                     "Content-Length: 990\n"
                     "\n";
    assert_int_equal(frame_text(t2, &lim, &fm, &err, NULL), PL_ELIMIT);
    /* exactly at the limit is fine: the framer waits for the body */
    size_t n;
    char *h = tu_crlf("INVITE sip:b@example.com SIP/2.0\nContent-Length: 000\n\n", &n);
    assert_non_null(h);
    char text[128];
    snprintf(text, sizeof(text), "INVITE sip:b@example.com SIP/2.0\nContent-Length: %03zu\n\n",
             (size_t)1000 - n);
    size_t tn;
    assert_int_equal(frame_text(text, &lim, &fm, &err, &tn), PL_ENEEDMORE);
    assert_int_equal(tn, n);
    /* the default limit, and a value that overflows 32 and 64 bits */
    assert_int_equal(frame_text("INVITE sip:b@example.com SIP/2.0\nContent-Length: 65536\n\n", NULL,
                                &fm, &err, NULL),
                     PL_ELIMIT);
    assert_int_equal(
        frame_text("INVITE sip:b@example.com SIP/2.0\nl: 4294967296\n\n", NULL, &fm, &err, NULL),
        PL_ELIMIT);
    assert_int_equal(frame_text("INVITE sip:b@example.com SIP/2.0\nl: 99999999999999999999999\n\n",
                                NULL, &fm, &err, NULL),
                     PL_ELIMIT);
}

static void test_endless_headers(void **state)
{
    (void)state;
    pl_msg_limits lim = {0};
    lim.max_msg_size = 1000;
    /* header lines that never end in an empty line, fed a byte at a time */
    size_t total = 1200;
    char *src = malloc(total);
    assert_non_null(src);
    const char *start = "INVITE sip:b@example.com SIP/2.0\r\n";
    size_t o = strlen(start);
    memcpy(src, start, o);
    while (o < total) {
        const char *l = "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        size_t k = strlen(l);
        if (k > total - o)
            k = total - o;
        memcpy(src + o, l, k);
        o += k;
    }
    pl_framer f;
    pl_framer_init(&f, &lim);
    size_t limit_at = 0;
    for (size_t n = 1; n <= total && !limit_at; n++) {
        char *b = malloc(n);
        assert_non_null(b);
        memcpy(b, src, n);
        pl_frame fm;
        pl_error err = {0};
        int rc = pl_framer_next(&f, b, n, &fm, &err);
        free(b);
        if (rc == PL_ELIMIT) {
            assert_non_null(err.reason);
            limit_at = n;
        } else if (rc != PL_ENEEDMORE) {
            fail_msg("at %zu bytes: got %d", n, rc);
        }
    }
    free(src);
    if (!limit_at)
        fail_msg("no PL_ELIMIT after %zu bytes with max_msg_size 1000", total);
    /* not before a message of max_msg_size bytes is impossible, not much after */
    assert_true(limit_at > 1000 - 4);
    assert_true(limit_at <= 1001);
}

static void test_folded_and_compact(void **state)
{
    (void)state;
    pl_frame fm;
    pl_error err = {0};
    size_t n;
    const char *texts[] = {
        "MESSAGE sip:b@example.com SIP/2.0\n"
        "Content-Length:\n"
        "   5\n"
        "\n"
        "hello",
        "MESSAGE sip:b@example.com SIP/2.0\n"
        "Content-Length: \n"
        "\t\n"
        " 5\n"
        "\n"
        "hello",
        "MESSAGE sip:b@example.com SIP/2.0\n"
        "l: 5\n"
        "\n"
        "hello",
        "MESSAGE sip:b@example.com SIP/2.0\n"
        "L :5\n"
        "\n"
        "hello",
        "MESSAGE sip:b@example.com SIP/2.0\n"
        "content-length:\t5   \n"
        "\n"
        "hello",
        "MESSAGE sip:b@example.com SIP/2.0\n"
        "Content-Length: 0005\n"
        "Subject: with\n"
        " Content-Length: 99 folded in, not a header\n"
        "\n"
        "hello",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        int rc = frame_text(texts[i], NULL, &fm, &err, &n);
        if (rc != PL_OK)
            fail_msg("text %zu: got %d (%s)", i, rc, rc == PL_ENEEDMORE ? "" : err.reason);
        assert_int_equal(fm.skip, 0);
        assert_int_equal(fm.len, n);
        /* with one more message behind it, the first is cut at the same place */
        size_t n1;
        char *one = tu_crlf(texts[i], &n1);
        char *two = malloc(2 * n1);
        memcpy(two, one, n1);
        memcpy(two + n1, one, n1);
        pl_framer f;
        pl_framer_init(&f, NULL);
        assert_int_equal(pl_framer_next(&f, two, 2 * n1, &fm, &err), PL_OK);
        assert_int_equal(fm.len, n1);
        assert_int_equal(pl_framer_next(&f, two + n1, n1, &fm, &err), PL_OK);
        assert_int_equal(fm.len, n1);
        free(two);
    }
    /* the folded value parses to the same length */
    pl_msg m;
    pl_parse_opts opts = {PL_FRAMING_STREAM, NULL};
    assert_int_equal(tu_parse_opts(texts[0], &m, &opts, NULL), PL_OK);
    assert_int_equal(m.content_length, 5);
    assert_int_equal(tu_parse_opts(texts[2], &m, &opts, NULL), PL_OK);
    assert_int_equal(m.content_length, 5);
}

static void test_body_trickle(void **state)
{
    (void)state;
    size_t n;
    char *msg = tu_crlf(m_invite, &n);
    size_t hdr = 0;
    for (size_t i = 0; i + 4 <= n; i++)
        if (memcmp(msg + i, "\r\n\r\n", 4) == 0) {
            hdr = i + 4;
            break;
        }
    assert_true(hdr > 0 && hdr < n);
    assert_int_equal(n - hdr, 138);
    pl_framer f;
    pl_framer_init(&f, NULL);
    for (size_t k = hdr; k <= n; k++) {
        char *b = malloc(k);
        assert_non_null(b);
        memcpy(b, msg, k);
        pl_frame fm;
        pl_error err = {0};
        int rc = pl_framer_next(&f, b, k, &fm, &err);
        free(b);
        if (k < n) {
            if (rc != PL_ENEEDMORE)
                fail_msg("with %zu of %zu bytes: got %d, want PL_ENEEDMORE", k, n, rc);
        } else {
            assert_int_equal(rc, PL_OK);
            assert_int_equal(fm.skip, 0);
            assert_int_equal(fm.len, n);
        }
    }
    /* the same with the following message's first bytes already there */
    pl_framer_init(&f, NULL);
    for (size_t k = hdr; k <= n; k++) {
        char *b = malloc(k + 10);
        assert_non_null(b);
        memcpy(b, msg, k);
        size_t len = k;
        if (k == n) {
            memcpy(b + k, "OPTIONS si", 10);
            len += 10;
        }
        pl_frame fm;
        int rc = pl_framer_next(&f, b, len, &fm, NULL);
        free(b);
        assert_int_equal(rc, k < n ? PL_ENEEDMORE : PL_OK);
        if (rc == PL_OK)
            assert_int_equal(fm.len, n);
    }
}

static void test_only_keepalives(void **state)
{
    (void)state;
    pl_framer f;
    pl_framer_init(&f, NULL);
    pl_frame fm;
    assert_int_equal(pl_framer_next(&f, "", 0, &fm, NULL), PL_ENEEDMORE);
    assert_int_equal(fm.skip, 0);
    assert_int_equal(fm.pings, 0);
    assert_int_equal(pl_framer_next(&f, "\r\n\r\n", 4, &fm, NULL), PL_ENEEDMORE);
    assert_int_equal(fm.skip, 4);
    assert_int_equal(fm.pings, 1);
    assert_int_equal(pl_framer_next(&f, "\r\n", 2, &fm, NULL), PL_ENEEDMORE);
    assert_int_equal(fm.skip, 2);
    assert_int_equal(fm.pings, 0);
    assert_int_equal(pl_framer_next(&f, "\r\n\r\n\r\n\r\n\r", 9, &fm, NULL), PL_ENEEDMORE);
    assert_int_equal(fm.skip, 8);
    assert_int_equal(fm.pings, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_stream_messages_parse, teardown),
        cmocka_unit_test_teardown(test_stream_chunkings, teardown),
        cmocka_unit_test_teardown(test_stream_chunkings_drop_skip, teardown),
        cmocka_unit_test_teardown(test_ping_split_drop_skip, teardown),
        cmocka_unit_test_teardown(test_eoh_split_after_skip_drop_skip, teardown),
        cmocka_unit_test_teardown(test_rfc4475_each, teardown),
        cmocka_unit_test_teardown(test_rfc4475_stream, teardown),
        cmocka_unit_test_teardown(test_no_content_length, teardown),
        cmocka_unit_test_teardown(test_conflicting_content_length, teardown),
        cmocka_unit_test_teardown(test_content_length_too_big, teardown),
        cmocka_unit_test_teardown(test_endless_headers, teardown),
        cmocka_unit_test_teardown(test_folded_and_compact, teardown),
        cmocka_unit_test_teardown(test_body_trickle, teardown),
        cmocka_unit_test_teardown(test_only_keepalives, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
