/*
 * challenge.c - the WWW-Authenticate / Proxy-Authenticate value: parsed on
 * the client side, written on the server side (RFC 3261 sections 22.4 and
 * 25.1, RFC 7616 section 3.3, RFC 8760 section 2).
 *
 * A known parameter given twice is refused, whatever it is: two realms or
 * two nonces leave no right answer, and two algorithms would let whoever
 * added the second one choose which the client believes.
 */
#include "auth_int.h"

enum {
    C_REALM = 1 << 0,
    C_NONCE = 1 << 1,
    C_OPAQUE = 1 << 2,
    C_DOMAIN = 1 << 3,
    C_ALG = 1 << 4,
    C_QOP = 1 << 5,
    C_STALE = 1 << 6,
    C_USERHASH = 1 << 7,
};

static const pl__ap_known challenge_params[] = {
    {"realm", C_REALM, "duplicate realm", "realm longer than 1024 bytes", false},
    {"nonce", C_NONCE, "duplicate nonce", "nonce longer than 1024 bytes", false},
    {"opaque", C_OPAQUE, "duplicate opaque", "opaque longer than 1024 bytes", false},
    {"domain", C_DOMAIN, "duplicate domain", NULL, false},
    {"algorithm", C_ALG, "duplicate algorithm", NULL, false},
    {"qop", C_QOP, "duplicate qop", NULL, false},
    {"stale", C_STALE, "duplicate stale", NULL, false},
    {"userhash", C_USERHASH, "duplicate userhash", NULL, false},
};

/* The qop options of a challenge: a comma-separated list of tokens inside
 * the quotes (RFC 7616 section 3.3); unknown tokens are skipped. */
static void qop_options(pl_str v, bool *auth, bool *auth_int)
{
    const char *p = v.p, *end = v.p + v.len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        const char *s = p;
        while (p < end && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        pl_str t = {s, (size_t)(p - s)};
        if (pl__ap_is(t, "auth"))
            *auth = true;
        else if (pl__ap_is(t, "auth-int"))
            *auth_int = true;
    }
}

int pl_digest_challenge_parse(pl_digest_challenge *ch, pl_str value, pl_error *err)
{
    memset(ch, 0, sizeof(*ch));
    ch->alg = PL_DIGEST_MD5;
    pl__ap_scan sc;
    int rc = pl__ap_scan_begin(&sc, challenge_params,
                               sizeof(challenge_params) / sizeof(challenge_params[0]), value, err);
    if (rc != PL_OK)
        return rc;
    const char *base = sc.it.base;

    bool alg_known = true;
    const char *alg_at = NULL, *qop_at = NULL;
    pl__ap ap;
    const pl__ap_known *k;
    while ((rc = pl__ap_scan_next(&sc, &ap, &k, err)) == 1) {
        switch (k->bit) {
        case C_REALM:
            ch->realm = ap.value;
            break;
        case C_NONCE:
            ch->nonce = ap.value;
            break;
        case C_OPAQUE:
            ch->opaque = ap.value;
            ch->has_opaque = true;
            break;
        case C_DOMAIN:
            ch->domain = ap.value;
            break;
        case C_ALG:
            ch->algorithm = ap.value;
            alg_at = ap.value.p;
            alg_known = pl__dg_alg_parse(ap.value, &ch->alg, &ch->sess);
            if (!alg_known)
                ch->alg = PL_DIGEST_MD5;
            break;
        case C_QOP:
            qop_at = ap.value.p;
            qop_options(ap.value, &ch->qop_auth, &ch->qop_auth_int);
            break;
        case C_STALE:
            /* RFC 2617 section 3.2.1: anything but "true" means false. */
            ch->stale = pl__ap_is(ap.value, "true");
            break;
        case C_USERHASH:
            ch->userhash = pl__ap_is(ap.value, "true");
            break;
        default:
            break;
        }
    }
    if (rc < 0)
        return rc;
    unsigned seen = sc.seen;
    const char *end = sc.it.end;
    if (!(seen & C_REALM))
        return pl__auth_fail(err, PL_EPARSE, base, end, "Digest challenge without a realm");
    if (!(seen & C_NONCE))
        return pl__auth_fail(err, PL_EPARSE, base, end, "Digest challenge without a nonce");
    if (!alg_known)
        return pl__auth_fail(err, PL_ENOTSUP, base, alg_at, "unknown Digest algorithm");
    if ((seen & C_QOP) && !ch->qop_auth && !ch->qop_auth_int)
        return pl__auth_fail(err, PL_ENOTSUP, base, qop_at, "qop offers neither auth nor auth-int");
    return PL_OK;
}

int pl_digest_challenge_print(const pl_digest_challenge_out *c, char *out, size_t cap, size_t *len)
{
    if (!c || (!out && cap))
        return PL_EINVAL;
    const char *alg = pl_digest_alg_name(c->alg);
    pl_str realm = dg_nn(c->realm), nonce = dg_nn(c->nonce), opaque = dg_nn(c->opaque);
    if (!alg || nonce.len == 0 || !pl__dg_quotable(realm) || !pl__dg_quotable(nonce) ||
        !pl__dg_quotable(opaque))
        return PL_EINVAL;

    pl__wr w = {out, cap, 0};
    wr_c(&w, "Digest ");
    wr_quoted(&w, "realm", realm);
    wr_c(&w, ", ");
    wr_quoted(&w, "nonce", nonce);
    wr_c(&w, ", algorithm=");
    wr_c(&w, alg);
    if (c->sess)
        wr_c(&w, "-sess");
    if (c->qop_auth || c->qop_auth_int) {
        wr_c(&w, ", qop=\"");
        if (c->qop_auth)
            wr_c(&w, c->qop_auth_int ? "auth,auth-int" : "auth");
        else
            wr_c(&w, "auth-int");
        wr_c(&w, "\"");
    }
    if (c->stale)
        wr_c(&w, ", stale=true");
    if (opaque.len) {
        wr_c(&w, ", ");
        wr_quoted(&w, "opaque", opaque);
    }
    if (c->userhash)
        wr_c(&w, ", userhash=true");
    return wr_done(&w, len);
}
