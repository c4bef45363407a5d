/*
 * credentials.c - the Authorization / Proxy-Authorization value a server
 * receives (RFC 3261 section 25.1 "credentials", RFC 7616 section 3.4).
 * Everything pl_digest_verify needs is checked here, so that a parsed
 * value can always be hashed: the response is hex of the algorithm's
 * length, nc is exactly 8 hex digits, and the values that go into the hash
 * hold no escapes. As for challenges, a known parameter given twice is
 * refused.
 */
#include "auth_int.h"

enum {
    K_USER = 1 << 0,
    K_REALM = 1 << 1,
    K_NONCE = 1 << 2,
    K_URI = 1 << 3,
    K_RESPONSE = 1 << 4,
    K_ALG = 1 << 5,
    K_CNONCE = 1 << 6,
    K_OPAQUE = 1 << 7,
    K_QOP = 1 << 8,
    K_NC = 1 << 9,
    K_USERHASH = 1 << 10,
    K_USERSTAR = 1 << 11,
};

static const pl__ap_known credential_params[] = {
    {"username", K_USER, "duplicate username", "username longer than 1024 bytes", false},
    {"realm", K_REALM, "duplicate realm", "realm longer than 1024 bytes", false},
    {"nonce", K_NONCE, "duplicate nonce", "nonce longer than 1024 bytes", false},
    {"uri", K_URI, "duplicate uri", NULL, false},
    {"response", K_RESPONSE, "duplicate response", NULL, false},
    {"algorithm", K_ALG, "duplicate algorithm", NULL, false},
    {"cnonce", K_CNONCE, "duplicate cnonce", "cnonce longer than 1024 bytes", false},
    {"opaque", K_OPAQUE, "duplicate opaque", "opaque longer than 1024 bytes", false},
    {"qop", K_QOP, "duplicate qop", NULL, false},
    {"nc", K_NC, "duplicate nc", NULL, false},
    {"userhash", K_USERHASH, "duplicate userhash", NULL, false},
    /* Never read (RFC 8187 encoding is not supported): an escape in it is no error. */
    {"username*", K_USERSTAR, "duplicate username*", NULL, true},
};

static unsigned hexval(char c)
{
    if (c >= '0' && c <= '9')
        return (unsigned)(c - '0');
    if (c >= 'a' && c <= 'f')
        return (unsigned)(c - 'a' + 10);
    return (unsigned)(c - 'A' + 10);
}

int pl_digest_credentials_parse(pl_digest_credentials *c, pl_str value, pl_error *err)
{
    memset(c, 0, sizeof(*c));
    c->alg = PL_DIGEST_MD5;
    pl__ap_scan sc;
    int rc =
        pl__ap_scan_begin(&sc, credential_params,
                          sizeof(credential_params) / sizeof(credential_params[0]), value, err);
    if (rc != PL_OK)
        return rc;
    const char *base = sc.it.base;

    bool alg_known = true, qop_known = true;
    const char *alg_at = NULL, *qop_at = NULL;
    pl__ap ap;
    const pl__ap_known *k;
    while ((rc = pl__ap_scan_next(&sc, &ap, &k, err)) == 1) {
        switch (k->bit) {
        case K_USER:
            c->user = ap.value;
            break;
        case K_REALM:
            c->realm = ap.value;
            break;
        case K_NONCE:
            c->nonce = ap.value;
            break;
        case K_URI:
            c->uri = ap.value;
            break;
        case K_RESPONSE:
            c->response = ap.value;
            break;
        case K_ALG:
            c->algorithm = ap.value;
            alg_at = ap.value.p;
            alg_known = pl__dg_alg_parse(ap.value, &c->alg, &c->sess);
            if (!alg_known)
                c->alg = PL_DIGEST_MD5;
            break;
        case K_CNONCE:
            c->cnonce = ap.value;
            break;
        case K_OPAQUE:
            c->opaque = ap.value;
            c->has_opaque = true;
            break;
        case K_QOP:
            qop_at = ap.value.p;
            if (pl__ap_is(ap.value, "auth"))
                c->qop_auth = true;
            else if (pl__ap_is(ap.value, "auth-int"))
                c->qop_auth_int = true;
            else
                qop_known = false;
            break;
        case K_NC:
            if (!pl__dg_is_hex(ap.value, 8))
                return pl__auth_fail(err, PL_EPARSE, base, ap.value.p, "nc is not 8 hex digits");
            c->nc_str = ap.value;
            for (size_t i = 0; i < 8; i++)
                c->nc = (c->nc << 4) | hexval(ap.value.p[i]);
            break;
        case K_USERHASH:
            c->userhash = pl__ap_is(ap.value, "true");
            break;
        default:
            break;
        }
    }
    if (rc < 0)
        return rc;
    unsigned seen = sc.seen;
    const char *end = sc.it.end;

    static const struct {
        unsigned bit;
        const char *reason;
    } required[] = {
        {K_REALM, "Digest credentials without a realm"},
        {K_NONCE, "Digest credentials without a nonce"},
        {K_URI, "Digest credentials without a uri"},
        {K_RESPONSE, "Digest credentials without a response"},
    };
    if (!(seen & K_USER)) {
        if (seen & K_USERSTAR)
            return pl__auth_fail(err, PL_ENOTSUP, base, end,
                                 "username* (RFC 8187 encoding) is not supported");
        return pl__auth_fail(err, PL_EPARSE, base, end, "Digest credentials without a username");
    }
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if (!(seen & required[i].bit))
            return pl__auth_fail(err, PL_EPARSE, base, end, required[i].reason);
    if ((seen & K_QOP) && qop_known && !(seen & K_CNONCE))
        return pl__auth_fail(err, PL_EPARSE, base, qop_at, "qop without a cnonce");
    if ((seen & K_QOP) && qop_known && !(seen & K_NC))
        return pl__auth_fail(err, PL_EPARSE, base, qop_at, "qop without a nonce count (nc)");
    if (c->sess && !(seen & K_CNONCE))
        return pl__auth_fail(err, PL_EPARSE, base, alg_at, "a -sess algorithm without a cnonce");
    if (!alg_known)
        return pl__auth_fail(err, PL_ENOTSUP, base, alg_at, "unknown Digest algorithm");
    if (!qop_known)
        return pl__auth_fail(err, PL_ENOTSUP, base, qop_at, "unknown qop");
    if (!pl__dg_is_hex(c->response, pl_digest_hex_len(c->alg)))
        return pl__auth_fail(err, PL_EPARSE, base, c->response.p,
                             "response is not hex of the algorithm's length");
    return PL_OK;
}
