/*
 * digest.c - the Digest response (RFC 7616 section 3.4.1, RFC 2617 section
 * 3.2.2, RFC 3261 section 22.4), computed the same way for the client that
 * writes it (pl_digest_answer) and the server that checks it
 * (pl_digest_verify):
 *
 *   HA1 = H(user:realm:password), or for "-sess" H(H(user:realm:password):
 *         nonce:cnonce) (RFC 7616 section 3.4.2)
 *   HA2 = H(method:uri), or for auth-int H(method:uri:H(body))
 *   response = H(HA1:nonce:nc:cnonce:qop:HA2) with a qop,
 *              H(HA1:nonce:HA2) without (the RFC 2069 form)
 *
 * every H() written as lowercase hex before it is hashed again. The server
 * compares the response in constant time.
 */
#include "auth_int.h"

#include <openssl/crypto.h>
#include <stdio.h>

enum { QOP_NONE = 0, QOP_AUTH, QOP_AUTH_INT };

typedef struct calc {
    bool sess;
    int qop;
    pl_str ha1; /* lowercase hex H(user:realm:password) */
    pl_str nonce, nc, cnonce, method, uri, body;
} calc;

/* The response for c into out (hex, NUL-terminated). */
static int response(pl__dg *h, const calc *c, char *out)
{
    char ha1[PL_DIGEST_HEX_SIZE], ha2[PL_DIGEST_HEX_SIZE], hbody[PL_DIGEST_HEX_SIZE];
    int rc;
    pl_str a1 = c->ha1;
    if (c->sess) {
        pl_str p[3] = {c->ha1, c->nonce, c->cnonce};
        if ((rc = pl__dg_hex(h, ha1, 3, p)) != PL_OK)
            return rc;
        a1 = (pl_str){ha1, h->hex_len};
    }
    if (c->qop == QOP_AUTH_INT) {
        if ((rc = pl__dg_hex(h, hbody, 1, &c->body)) != PL_OK)
            return rc;
        pl_str p[3] = {c->method, c->uri, {hbody, h->hex_len}};
        rc = pl__dg_hex(h, ha2, 3, p);
    } else {
        pl_str p[2] = {c->method, c->uri};
        rc = pl__dg_hex(h, ha2, 2, p);
    }
    if (rc != PL_OK)
        return rc;
    pl_str a2 = {ha2, h->hex_len};
    if (c->qop == QOP_NONE) {
        pl_str p[3] = {a1, c->nonce, a2};
        return pl__dg_hex(h, out, 3, p);
    }
    pl_str qop = c->qop == QOP_AUTH ? PL_STR_LIT("auth") : PL_STR_LIT("auth-int");
    pl_str p[6] = {a1, c->nonce, c->nc, c->cnonce, qop, a2};
    return pl__dg_hex(h, out, 6, p);
}

/* HA1 from a password, or a caller's hex ha1 checked and lowercased; out
 * has PL_DIGEST_HEX_SIZE bytes. PL_OK, PL_EINVAL or a hashing error. */
static int base_ha1(pl__dg *h, pl_str user, pl_str realm, pl_str password, pl_str ha1, char *out)
{
    if (password.len) {
        pl_str p[3] = {user, realm, password};
        return pl__dg_hex(h, out, 3, p);
    }
    if (!pl__dg_is_hex(ha1, h->hex_len))
        return PL_EINVAL;
    for (size_t i = 0; i < ha1.len; i++)
        out[i] = (char)(ha1.p[i] | 0x20); /* hex digits: lowercase, branch-free */
    out[ha1.len] = '\0';
    return PL_OK;
}

int pl_digest_answer(const pl_digest_answer_in *in, char *out, size_t cap, size_t *len)
{
    if (!in || !in->ch || (!out && cap))
        return PL_EINVAL;
    const pl_digest_challenge *ch = in->ch;
    if (pl_digest_hex_len(ch->alg) == 0)
        return PL_EINVAL;
    pl_str user = dg_nn(in->user), realm = dg_nn(ch->realm), nonce = dg_nn(ch->nonce);
    pl_str opaque = dg_nn(ch->opaque), uri = dg_nn(in->uri), method = dg_nn(in->method);
    pl_str cnonce = dg_nn(in->cnonce);
    if (!in->password.len && !in->ha1.len)
        return PL_EINVAL;
    if (!method.len || !uri.len || !pl__dg_quotable(user) || !pl__dg_quotable(realm) ||
        !pl__dg_quotable(nonce) || !pl__dg_quotable(opaque) || !pl__dg_quotable(uri) ||
        !pl__dg_quotable(cnonce))
        return PL_EINVAL;

    calc c;
    memset(&c, 0, sizeof(c));
    c.sess = ch->sess;
    if (ch->qop_auth && !(in->want_auth_int && ch->qop_auth_int))
        c.qop = QOP_AUTH;
    else if (ch->qop_auth_int)
        c.qop = QOP_AUTH_INT;
    else
        c.qop = QOP_NONE;
    if (c.qop != QOP_NONE && in->nc == 0)
        return PL_EINVAL;

    char rnd[17];
    if (!cnonce.len) {
        pl_random_token(rnd, 16);
        cnonce = (pl_str){rnd, 16};
    }
    char nc[9];
    snprintf(nc, sizeof(nc), "%08x", (unsigned)in->nc);
    c.nonce = nonce;
    c.nc = (pl_str){nc, 8};
    c.cnonce = cnonce;
    c.method = method;
    c.uri = uri;
    c.body = dg_nn(in->body);

    pl__dg h;
    char ha1[PL_DIGEST_HEX_SIZE], resp[PL_DIGEST_HEX_SIZE], uhash[PL_DIGEST_HEX_SIZE];
    int rc = pl__dg_open(&h, ch->alg);
    if (rc == PL_OK)
        rc = base_ha1(&h, user, realm, dg_nn(in->password), dg_nn(in->ha1), ha1);
    if (rc == PL_OK) {
        c.ha1 = (pl_str){ha1, h.hex_len};
        rc = response(&h, &c, resp);
    }
    if (rc == PL_OK && ch->userhash) {
        pl_str p[2] = {user, realm};
        rc = pl__dg_hex(&h, uhash, 2, p);
        user = (pl_str){uhash, h.hex_len};
    }
    size_t hl = h.hex_len;
    pl__dg_close(&h);
    if (rc != PL_OK)
        return rc;

    pl__wr w = {out, cap, 0};
    wr_c(&w, "Digest ");
    wr_quoted(&w, "username", user);
    wr_c(&w, ", ");
    wr_quoted(&w, "realm", realm);
    wr_c(&w, ", ");
    wr_quoted(&w, "nonce", nonce);
    wr_c(&w, ", ");
    wr_quoted(&w, "uri", uri);
    wr_c(&w, ", ");
    wr_quoted(&w, "response", (pl_str){resp, hl});
    wr_c(&w, ", algorithm=");
    wr_c(&w, pl_digest_alg_name(ch->alg));
    if (ch->sess)
        wr_c(&w, "-sess");
    if (c.qop != QOP_NONE || c.sess) {
        wr_c(&w, ", ");
        wr_quoted(&w, "cnonce", cnonce);
    }
    if (ch->has_opaque || opaque.len) {
        wr_c(&w, ", ");
        wr_quoted(&w, "opaque", opaque);
    }
    if (c.qop != QOP_NONE) {
        wr_c(&w, c.qop == QOP_AUTH ? ", qop=auth, nc=" : ", qop=auth-int, nc=");
        wr_mem(&w, nc, 8);
    }
    if (ch->userhash)
        wr_c(&w, ", userhash=true");
    return wr_done(&w, len);
}

bool pl_digest_verify(const pl_digest_credentials *c, pl_str method, pl_str body, pl_str password,
                      pl_str ha1)
{
    if (!c)
        return false;
    size_t hl = pl_digest_hex_len(c->alg);
    if (hl == 0 || !pl__dg_is_hex(dg_nn(c->response), hl))
        return false;
    if (!password.len && !ha1.len)
        return false;
    calc k;
    memset(&k, 0, sizeof(k));
    k.sess = c->sess;
    k.qop = c->qop_auth_int ? QOP_AUTH_INT : c->qop_auth ? QOP_AUTH : QOP_NONE;
    k.nonce = dg_nn(c->nonce);
    k.nc = dg_nn(c->nc_str);
    k.cnonce = dg_nn(c->cnonce);
    k.method = dg_nn(method);
    k.uri = dg_nn(c->uri);
    k.body = dg_nn(body);

    pl__dg h;
    char a1[PL_DIGEST_HEX_SIZE], want[PL_DIGEST_HEX_SIZE], got[PL_DIGEST_HEX_SIZE];
    int rc = pl__dg_open(&h, c->alg);
    if (rc == PL_OK)
        rc = base_ha1(&h, dg_nn(c->user), dg_nn(c->realm), dg_nn(password), dg_nn(ha1), a1);
    if (rc == PL_OK) {
        k.ha1 = (pl_str){a1, hl};
        rc = response(&h, &k, want);
    }
    pl__dg_close(&h);
    if (rc != PL_OK)
        return false;
    for (size_t i = 0; i < hl; i++)
        got[i] = (char)(c->response.p[i] | 0x20);
    return CRYPTO_memcmp(want, got, hl) == 0;
}
