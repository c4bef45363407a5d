/*
 * fuzz_digest.c - Digest authentication (include/parley/auth.h): challenge
 * and credentials parsing, the answer, the check, the nonces.
 *
 * The input is parsed as a challenge and as credentials. Every result is
 * PL_OK, PL_EPARSE or PL_ENOTSUP, an error comes with a reason and an
 * offset inside the input, and every field lies inside the input and can be
 * written back between quotes as it is (no '"', '\' or control byte).
 *
 * For a challenge that parses, the client answers it (user, password or
 * ha1, the input as the body; the last input byte picks auth-int, ha1, a
 * random cnonce and the nonce count). The answer:
 *
 *   - fits the fixed buffer, is the same into an exactly sized one, and one
 *     byte less gives PL_ENOSPC with the size needed;
 *   - parses as credentials that say what the challenge said (realm, nonce,
 *     opaque, algorithm, -sess, userhash) and the qop the rules pick;
 *   - verifies with the password and the ha1, and not with another
 *     password, another method or (auth-int) another body.
 *
 * The challenge is also printed back with pl_digest_challenge_print and
 * re-parsed to the same fields. For credentials that parse, the response
 * has the algorithm's length, nc is 8 hex digits when there is a qop, and
 * pl_digest_verify and pl_digest_nonce_check run (a nonce from the input
 * can never check as one of ours). Finally a nonce is made with the input
 * as realm and checked: fresh, stale, and bad for another realm.
 */
#include "fuzz_util.h"

#include <parley/auth.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t SECRET[] = "fuzz secret";

static bool quotable(pl_str s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == '"' || c == '\\' || (c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

static bool is_hex(pl_str s, size_t n)
{
    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

static void field(pl_str s, fuzz_bounds b)
{
    fuzz_str_in(s, b);
    FUZZ_CHECK(quotable(s));
}

static void check_error(int rc, const pl_error *err, size_t size)
{
    FUZZ_CHECK(rc == PL_EPARSE || rc == PL_ENOTSUP);
    FUZZ_CHECK(err->code == rc);
    FUZZ_CHECK(err->reason != NULL);
    FUZZ_CHECK(err->offset <= size);
}

static void challenge_fields(const pl_digest_challenge *ch, fuzz_bounds b)
{
    field(ch->realm, b);
    field(ch->nonce, b);
    field(ch->opaque, b);
    field(ch->domain, b);
    field(ch->algorithm, b);
    FUZZ_CHECK(ch->realm.len <= PL_DIGEST_MAX_VALUE);
    FUZZ_CHECK(ch->nonce.len <= PL_DIGEST_MAX_VALUE);
    FUZZ_CHECK(ch->opaque.len <= PL_DIGEST_MAX_VALUE);
    FUZZ_CHECK((unsigned)ch->alg < (unsigned)PL_DIGEST_ALG_COUNT_);
    FUZZ_CHECK(ch->has_opaque || ch->opaque.len == 0);
}

/* Print the challenge back; it must parse to the same. */
static void reprint(const pl_digest_challenge *ch)
{
    pl_digest_challenge_out co;
    memset(&co, 0, sizeof(co));
    co.realm = ch->realm;
    co.nonce = ch->nonce;
    co.opaque = ch->opaque;
    co.alg = ch->alg;
    co.sess = ch->sess;
    co.qop_auth = ch->qop_auth;
    co.qop_auth_int = ch->qop_auth_int;
    co.stale = ch->stale;
    co.userhash = ch->userhash;
    char buf[4096];
    size_t n = 0;
    int rc = pl_digest_challenge_print(&co, buf, sizeof(buf), &n);
    if (ch->nonce.len == 0) {
        FUZZ_CHECK(rc == PL_EINVAL);
        return;
    }
    FUZZ_CHECK(rc == PL_OK && n < sizeof(buf));
    char *exact = fuzz_dup(buf, n);
    pl_digest_challenge back;
    pl_error err;
    memset(&err, 0, sizeof(err));
    rc = pl_digest_challenge_parse(&back, (pl_str){exact, n}, &err);
    if (rc != PL_OK)
        fprintf(stderr, "printed challenge refused: %.*s: %s\n", (int)n, buf,
                err.reason ? err.reason : "?");
    FUZZ_CHECK(rc == PL_OK);
    FUZZ_CHECK(fuzz_str_eq(back.realm, ch->realm));
    FUZZ_CHECK(fuzz_str_eq(back.nonce, ch->nonce));
    FUZZ_CHECK(fuzz_str_eq(back.opaque, ch->opaque));
    FUZZ_CHECK(back.alg == ch->alg && back.sess == ch->sess);
    FUZZ_CHECK(back.qop_auth == ch->qop_auth && back.qop_auth_int == ch->qop_auth_int);
    FUZZ_CHECK(back.stale == ch->stale && back.userhash == ch->userhash);
    free(exact);
}

/* Answer the challenge and check the answer as a server would. */
static void answer(const pl_digest_challenge *ch, pl_str body, uint8_t sel)
{
    static const pl_str user = PL_STR_LIT("alice");
    static const pl_str password = PL_STR_LIT("pass word");
    char ha1[PL_DIGEST_HEX_SIZE];
    FUZZ_CHECK(pl_digest_ha1(ch->alg, user, ch->realm, password, ha1, sizeof(ha1)) == PL_OK);

    pl_digest_answer_in in;
    memset(&in, 0, sizeof(in));
    in.ch = ch;
    in.user = user;
    if (sel & 2)
        in.ha1 = pl_str_c(ha1);
    else
        in.password = password;
    in.method = PL_STR_LIT("INVITE");
    in.uri = PL_STR_LIT("sip:bob@example.com");
    in.body = body;
    in.nc = 1u + (uint32_t)(sel >> 3);
    in.cnonce = (sel & 4) ? PL_STR_NULL : PL_STR_LIT("fuzzcnonce0123456");
    in.want_auth_int = (sel & 1) != 0;

    /* realm, nonce and opaque are at most 1 KiB each: the answer fits. */
    char out[4096];
    size_t len = 0;
    int rc = pl_digest_answer(&in, out, sizeof(out), &len);
    FUZZ_CHECK(rc == PL_OK);
    FUZZ_CHECK(len < sizeof(out) && out[len] == '\0');

    /* The same into an exactly sized buffer; one byte less: ENOSPC. */
    if (in.cnonce.len) {
        char *exact = fuzz_alloc(len);
        size_t n2 = 0;
        FUZZ_CHECK(pl_digest_answer(&in, exact, len, &n2) == PL_OK && n2 == len);
        FUZZ_CHECK(memcmp(exact, out, len) == 0);
        free(exact);
    }
    char *small = fuzz_alloc(len - 1);
    size_t n3 = 0;
    FUZZ_CHECK(pl_digest_answer(&in, small, len - 1, &n3) == PL_ENOSPC && n3 == len);
    free(small);

    /* The server's side. */
    char *copy = fuzz_dup(out, len);
    pl_digest_credentials c;
    pl_error err;
    memset(&err, 0, sizeof(err));
    rc = pl_digest_credentials_parse(&c, (pl_str){copy, len}, &err);
    if (rc != PL_OK)
        fprintf(stderr, "answer refused: %.*s: %s at %zu\n", (int)len, out,
                err.reason ? err.reason : "?", err.offset);
    FUZZ_CHECK(rc == PL_OK);
    FUZZ_CHECK(fuzz_str_eq(c.realm, ch->realm));
    FUZZ_CHECK(fuzz_str_eq(c.nonce, ch->nonce));
    FUZZ_CHECK(fuzz_str_eq(c.opaque, ch->opaque));
    FUZZ_CHECK(c.has_opaque == ch->has_opaque);
    FUZZ_CHECK(c.alg == ch->alg && c.sess == ch->sess && c.userhash == ch->userhash);
    bool want_int = ch->qop_auth_int && (!ch->qop_auth || in.want_auth_int);
    bool want_auth = ch->qop_auth && !want_int;
    FUZZ_CHECK(c.qop_auth == want_auth && c.qop_auth_int == want_int);
    if (want_auth || want_int)
        FUZZ_CHECK(c.nc == in.nc);
    if (ch->userhash) {
        char uh[PL_DIGEST_HEX_SIZE];
        FUZZ_CHECK(pl_digest_userhash(ch->alg, user, ch->realm, uh, sizeof(uh)) == PL_OK);
        FUZZ_CHECK(fuzz_str_eq(c.user, pl_str_c(uh)));
        c.user = user;
    } else {
        FUZZ_CHECK(fuzz_str_eq(c.user, user));
    }
    FUZZ_CHECK(pl_digest_verify(&c, in.method, body, password, PL_STR_NULL));
    FUZZ_CHECK(pl_digest_verify(&c, in.method, body, PL_STR_NULL, pl_str_c(ha1)));
    FUZZ_CHECK(!pl_digest_verify(&c, in.method, body, PL_STR_LIT("pass word!"), PL_STR_NULL));
    FUZZ_CHECK(!pl_digest_verify(&c, PL_STR_LIT("BYE"), body, password, PL_STR_NULL));
    if (want_int) {
        char *other = fuzz_alloc(body.len + 1);
        if (body.len)
            memcpy(other, body.p, body.len);
        other[body.len] = 'x';
        FUZZ_CHECK(
            !pl_digest_verify(&c, in.method, (pl_str){other, body.len + 1}, password, PL_STR_NULL));
        free(other);
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_dup(data, size);
    pl_str value = {in, size};
    fuzz_bounds b = {in, size};
    uint8_t sel = size ? data[size - 1] : 0;

    /* As a challenge. */
    pl_digest_challenge ch;
    pl_error err;
    memset(&err, 0, sizeof(err));
    int rc = pl_digest_challenge_parse(&ch, value, &err);
    if (rc != PL_OK)
        check_error(rc, &err, size);
    if (rc == PL_OK || rc == PL_ENOTSUP)
        challenge_fields(&ch, b);
    if (rc == PL_OK) {
        reprint(&ch);
        answer(&ch, value, sel);
    }
    /* err may be NULL, with the same verdict. */
    pl_digest_challenge ch2;
    FUZZ_CHECK(pl_digest_challenge_parse(&ch2, value, NULL) == rc);

    /* As credentials. */
    pl_digest_credentials c;
    memset(&err, 0, sizeof(err));
    rc = pl_digest_credentials_parse(&c, value, &err);
    if (rc != PL_OK)
        check_error(rc, &err, size);
    if (rc == PL_OK || rc == PL_ENOTSUP) {
        field(c.user, b);
        field(c.realm, b);
        field(c.nonce, b);
        field(c.uri, b);
        field(c.response, b);
        field(c.cnonce, b);
        field(c.opaque, b);
        field(c.nc_str, b);
        field(c.algorithm, b);
        FUZZ_CHECK((unsigned)c.alg < (unsigned)PL_DIGEST_ALG_COUNT_);
    }
    if (rc == PL_OK) {
        FUZZ_CHECK(is_hex(c.response, pl_digest_hex_len(c.alg)));
        FUZZ_CHECK(!(c.qop_auth && c.qop_auth_int));
        if (c.qop_auth || c.qop_auth_int)
            FUZZ_CHECK(is_hex(c.nc_str, 8));
        (void)pl_digest_verify(&c, PL_STR_LIT("REGISTER"), value, PL_STR_LIT("pw"), PL_STR_NULL);
        FUZZ_CHECK(pl_digest_nonce_check(SECRET, sizeof(SECRET), c.realm, c.nonce, 0, UINT64_MAX) ==
                   PL_NONCE_BAD);
    }

    /* A nonce for the input as realm. */
    char nonce[PL_DIGEST_NONCE_LEN];
    size_t nl = 0;
    uint64_t t = (uint64_t)size * 1000003u;
    FUZZ_CHECK(pl_digest_nonce_make(SECRET, sizeof(SECRET), value, t, nonce, sizeof(nonce), &nl) ==
               PL_OK);
    FUZZ_CHECK(nl == PL_DIGEST_NONCE_LEN);
    pl_str n = {nonce, nl};
    FUZZ_CHECK(pl_digest_nonce_check(SECRET, sizeof(SECRET), value, n, t + 10, 10) == PL_NONCE_OK);
    FUZZ_CHECK(pl_digest_nonce_check(SECRET, sizeof(SECRET), value, n, t + 11, 10) ==
               PL_NONCE_STALE);
    if (size)
        FUZZ_CHECK(pl_digest_nonce_check(SECRET, sizeof(SECRET), (pl_str){in, size - 1}, n, t,
                                         10) == PL_NONCE_BAD);
    FUZZ_CHECK(pl_digest_nonce_check(SECRET, sizeof(SECRET), value, value, t, UINT64_MAX) !=
               PL_NONCE_OK);

    free(in);
    return 0;
}
