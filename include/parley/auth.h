/*
 * parley/auth.h - HTTP Digest authentication as SIP uses it (RFC 3261
 * sections 22 and 25.1, RFC 7616, RFC 8760): MD5, SHA-256 and SHA-512/256,
 * each also in its "-sess" form, qop "auth" and "auth-int", and the RFC 2069
 * form with no qop.
 *
 * The client side parses a WWW-Authenticate or Proxy-Authenticate value and
 * writes the Authorization or Proxy-Authorization value that answers it. The
 * server side writes challenges, parses credentials, checks a response in
 * constant time, and makes stateless nonces that carry their own time and an
 * HMAC, so that a registrar or proxy keeps no per-nonce state.
 *
 * Parsers allocate nothing: every pl_str they fill points into the value
 * they were given, without the quotes of a quoted-string. A quoted value that
 * the caller reads (realm, nonce, opaque, domain, username, uri, response,
 * cnonce, nc, qop, algorithm, stale, userhash) must not hold a backslash
 * escape (quoted-pair): no real server or client needs one, and refusing it
 * keeps every field a plain slice of the input. Such a value is refused with
 * PL_EPARSE and a reason; an escape in a parameter this stack ignores is
 * skipped correctly.
 * In the same spirit the writers refuse (PL_EINVAL) any value that could not
 * be written without an escape: a '"', a '\' or a control character.
 *
 * Hashing and HMAC go through OpenSSL 3 (EVP); nothing here reads a clock.
 */
#ifndef PARLEY_AUTH_H
#define PARLEY_AUTH_H

#include <parley/base.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The digest algorithms (RFC 7616 section 6.1). The "-sess" variant of each
 * is a separate flag, not a separate value. */
typedef enum pl_digest_alg {
    PL_DIGEST_MD5 = 0,
    PL_DIGEST_SHA256,
    PL_DIGEST_SHA512_256,
    PL_DIGEST_ALG_COUNT_
} pl_digest_alg;

/* Longest value of any single parsed realm, nonce, opaque, username or
 * cnonce; anything longer is refused as absurd. */
#define PL_DIGEST_MAX_VALUE 1024
/* A buffer for any hex digest of this module, with its NUL. */
#define PL_DIGEST_HEX_SIZE 129

/* "MD5", "SHA-256", "SHA-512-256", or NULL for a value outside the enum. */
const char *pl_digest_alg_name(pl_digest_alg alg);

/* Length of a hex digest of alg: 32 for MD5, 64 for the others, 0 for a
 * value outside the enum. */
size_t pl_digest_hex_len(pl_digest_alg alg);

/* ------------------------------------------------------------------ client */

/*
 * A parsed WWW-Authenticate / Proxy-Authenticate value (RFC 3261 sections
 * 22.4 and 25.1, RFC 7616 section 3.3, RFC 8760). Strings point into the
 * parsed value, without quotes.
 */
typedef struct pl_digest_challenge {
    pl_str realm, nonce, opaque, domain;
    pl_digest_alg alg;           /* MD5 when the algorithm parameter is absent */
    bool sess;                   /* "-sess" variant */
    bool qop_auth, qop_auth_int; /* qop options offered */
    bool stale;
    bool userhash;
    bool has_opaque;  /* an opaque parameter was present (it may be empty) */
    pl_str algorithm; /* the algorithm parameter as written; empty when absent */
} pl_digest_challenge;

/*
 * Parse one challenge: the scheme "Digest" (any case), LWS, then a comma-
 * separated list of auth-params, each token "=" (token / quoted-string),
 * with LWS allowed around "=" and "," and empty list elements skipped
 * (RFC 7230 section 7). Parameter names and the algorithm, qop, stale and
 * userhash values are compared without case; unknown parameters are
 * ignored, and so are unknown qop options.
 *
 * Returns PL_OK; PL_EPARSE for: not the Digest scheme, bad syntax (an
 * unterminated quote, an empty value, a parameter without "="), a quoted-pair
 * in a value this stack reads, a missing realm or nonce, a known parameter
 * given twice, or a realm, nonce or opaque longer than PL_DIGEST_MAX_VALUE;
 * PL_ENOTSUP for a well-formed challenge this stack cannot answer: an
 * algorithm it does not know, or a qop list offering neither "auth" nor
 * "auth-int" (the whole value is still parsed and ch filled, so the caller
 * can log the realm and move on to the next challenge). err may be NULL; its
 * offset is relative to value.p.
 */
int pl_digest_challenge_parse(pl_digest_challenge *ch, pl_str value, pl_error *err);

/* What the client answers with. */
typedef struct pl_digest_answer_in {
    const pl_digest_challenge *ch;
    pl_str user;
    pl_str password;    /* or empty, then ha1 is used */
    pl_str ha1;         /* hex H(user:realm:password) for ch->alg, precomputed */
    pl_str method;      /* request method */
    pl_str uri;         /* the Request-URI as written (digest-uri) */
    pl_str body;        /* the message body, for auth-int */
    uint32_t nc;        /* nonce count, 1 for the first use of a nonce */
    pl_str cnonce;      /* empty: a random one (pl_random_token) is made */
    bool want_auth_int; /* use auth-int when the challenge offers both */
} pl_digest_answer_in;

/*
 * Write the Authorization / Proxy-Authorization header value answering
 * in->ch into out (cap bytes):
 *
 *   Digest username="..", realm="..", nonce="..", uri="..", response="..",
 *   algorithm=SHA-256, cnonce="..", opaque="..", qop=auth, nc=00000001
 *
 * followed by ", userhash=true" when the challenge asked for it (the
 * username is then H(user:realm), RFC 7616 section 3.4.4). opaque is echoed
 * when the challenge had one; algorithm is always written.
 *
 * qop: "auth" when offered (unless want_auth_int and "auth-int" is offered
 * too), else "auth-int" when only that is offered, else none: the RFC 2069
 * form response = H(HA1:nonce:HA2) (RFC 2617 section 3.2.2.1). A "-sess"
 * algorithm takes HA1 = H(H(user:realm:password):nonce:cnonce) (RFC 7616
 * section 3.4.2); it needs a cnonce, so cnonce is written for "-sess" even
 * when there is no qop. nc and cnonce are written only when they are used.
 *
 * The ha1 given may be upper or lower case. The random cnonce is 16
 * alphanumerics. out is NUL-terminated when there is room (not counted in
 * *len).
 *
 * Returns PL_OK and *len; PL_ENOSPC when cap is too small (*len is then
 * the size needed; a random cnonce does not change it); PL_EINVAL for no
 * password and no ha1, an ha1 that is not hex of the algorithm's length,
 * an empty method or uri, nc 0 where a nonce count is sent, or a value that
 * cannot be written without an escape ('"', '\' or a control character in
 * user, uri, cnonce, or in the challenge's realm, nonce or opaque);
 * PL_ENOTSUP when hashing is not available (MD5 in a FIPS-only OpenSSL).
 */
int pl_digest_answer(const pl_digest_answer_in *in, char *out, size_t cap, size_t *len);

/*
 * Lowercase hex of H(user:realm:password) for alg, NUL-terminated, into out
 * (cap at least pl_digest_hex_len(alg) + 1; PL_DIGEST_HEX_SIZE always
 * suffices). Returns PL_OK, PL_ENOSPC, PL_EINVAL (alg out of range) or
 * PL_ENOTSUP (hash not available).
 */
int pl_digest_ha1(pl_digest_alg alg, pl_str user, pl_str realm, pl_str password, char *out,
                  size_t cap);

/*
 * Lowercase hex of H(user:realm) for alg, NUL-terminated: the username a
 * client sends with userhash=true (RFC 7616 section 3.4.4), and what a
 * server indexes its users by to find one. Same returns as pl_digest_ha1.
 */
int pl_digest_userhash(pl_digest_alg alg, pl_str user, pl_str realm, char *out, size_t cap);

/* ------------------------------------------------------------------ server */

/* A parsed Authorization / Proxy-Authorization value. */
typedef struct pl_digest_credentials {
    pl_str user, realm, nonce, uri, response, cnonce, opaque, nc_str;
    pl_digest_alg alg;
    bool sess;
    bool qop_auth, qop_auth_int; /* which qop was used (neither: no qop) */
    uint32_t nc;                 /* 0 when nc is absent */
    bool userhash;               /* user is H(user:realm), not the name */
    bool has_opaque;
    pl_str algorithm; /* the algorithm parameter as written; empty when absent */
} pl_digest_credentials;

/*
 * Parse credentials: "Digest" and an auth-param list, as for a challenge.
 * username, realm, nonce, uri and response are required; response must be
 * hex of the algorithm's length (either case). With a qop, cnonce and nc
 * (exactly 8 hex digits) are required; a "-sess" algorithm needs a cnonce.
 * username* (RFC 8187 encoding) is not supported: this stack writes UTF-8
 * in username, as SIP allows.
 *
 * Returns PL_OK; PL_EPARSE (as for a challenge, or a field above missing or
 * malformed; username and cnonce are limited to PL_DIGEST_MAX_VALUE too);
 * PL_ENOTSUP for an unknown algorithm or qop, with the fields parsed. err
 * may be NULL.
 */
int pl_digest_credentials_parse(pl_digest_credentials *c, pl_str value, pl_error *err);

/* What a server challenges with. */
typedef struct pl_digest_challenge_out {
    pl_str realm;
    pl_str nonce;
    pl_str opaque; /* empty: no opaque parameter */
    pl_digest_alg alg;
    bool qop_auth, qop_auth_int; /* neither: no qop (RFC 2069 form) */
    bool stale;
    bool sess;     /* offer the "-sess" variant of alg */
    bool userhash; /* ask for a hashed username (RFC 7616 section 3.4.4) */
} pl_digest_challenge_out;

/*
 * Write a challenge value:
 *
 *   Digest realm="..", nonce="..", algorithm=SHA-256, qop="auth,auth-int"
 *
 * then ", stale=true" when stale, ", opaque=\"..\"" when there is one and
 * ", userhash=true" when asked. Returns PL_OK and *len; PL_ENOSPC (*len is
 * then the size needed); PL_EINVAL for an empty nonce, alg out of range,
 * or a realm, nonce or opaque holding '"', '\' or a control character. out
 * is NUL-terminated when there is room (not counted in *len).
 */
int pl_digest_challenge_print(const pl_digest_challenge_out *c, char *out, size_t cap, size_t *len);

/*
 * Check parsed credentials against a password (or, when password is empty,
 * a hex ha1 = H(user:realm:password) for c->alg). method is the request's
 * method and body its body (used with auth-int only). The response is
 * compared in constant time. True when it is right.
 *
 * This checks the response only: the caller checks the realm, the nonce
 * (pl_digest_nonce_check), the nonce count against replays and that c->uri
 * names the Request-URI. With userhash, c->user is a hash: find the user by
 * it (pl_digest_userhash) and pass that user's ha1, or set c->user to the
 * real name before calling with the password.
 */
bool pl_digest_verify(const pl_digest_credentials *c, pl_str method, pl_str body, pl_str password,
                      pl_str ha1);

/*
 * Stateless nonces: 16 lowercase hex digits of now_ms, then the first 128
 * bits of HMAC-SHA256(secret, those 16 digits | realm) in lowercase hex, 48
 * characters in all (PL_DIGEST_NONCE_LEN). A nonce made for one realm does
 * not check for another. pl_digest_nonce_make returns PL_OK and *len
 * (always PL_DIGEST_NONCE_LEN; out is NUL-terminated when there is room),
 * PL_ENOSPC, PL_EINVAL (no secret) or PL_ENOTSUP (HMAC not available).
 */
#define PL_DIGEST_NONCE_LEN 48
int pl_digest_nonce_make(const uint8_t *secret, size_t secret_len, pl_str realm, uint64_t now_ms,
                         char *out, size_t cap, size_t *len);

typedef enum pl_nonce_status {
    PL_NONCE_OK,    /* made with this secret and realm, age <= max_age_ms */
    PL_NONCE_STALE, /* made with this secret and realm, but too old (or from
                       more than max_age_ms in the future): answer stale=true */
    PL_NONCE_BAD,   /* not one of ours: wrong secret, realm, length or bytes */
} pl_nonce_status;

/* Check a nonce made by pl_digest_nonce_make (the HMAC is compared in
 * constant time). */
pl_nonce_status pl_digest_nonce_check(const uint8_t *secret, size_t secret_len, pl_str realm,
                                      pl_str nonce, uint64_t now_ms, uint64_t max_age_ms);

#ifdef __cplusplus
}
#endif
#endif
