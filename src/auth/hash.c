/*
 * hash.c - the digest algorithms of RFC 7616 section 6.1 and RFC 8760
 * (MD5, SHA-256, SHA-512/256) over OpenSSL 3 EVP, always to lowercase hex,
 * since every Digest computation feeds the hex of one hash into the next.
 * Also the algorithm names and H(user:realm:password), H(user:realm).
 */
#include "auth_int.h"

static const char *const alg_names[PL_DIGEST_ALG_COUNT_] = {"MD5", "SHA-256", "SHA-512-256"};

const char *pl_digest_alg_name(pl_digest_alg alg)
{
    if ((unsigned)alg >= (unsigned)PL_DIGEST_ALG_COUNT_)
        return NULL;
    return alg_names[alg];
}

size_t pl_digest_hex_len(pl_digest_alg alg)
{
    switch (alg) {
    case PL_DIGEST_MD5:
        return 32;
    case PL_DIGEST_SHA256:
    case PL_DIGEST_SHA512_256:
        return 64;
    case PL_DIGEST_ALG_COUNT_:
    default:
        return 0;
    }
}

bool pl__dg_alg_parse(pl_str s, pl_digest_alg *alg, bool *sess)
{
    static const char *const lower[PL_DIGEST_ALG_COUNT_] = {"md5", "sha-256", "sha-512-256"};
    static const char suffix[] = "-sess";
    const size_t sl = sizeof(suffix) - 1;
    *sess = false;
    if (s.len > sl && pl__ap_is((pl_str){s.p + s.len - sl, sl}, suffix)) {
        *sess = true;
        s.len -= sl;
    }
    for (unsigned i = 0; i < (unsigned)PL_DIGEST_ALG_COUNT_; i++) {
        if (pl__ap_is(s, lower[i])) {
            *alg = (pl_digest_alg)i;
            return true;
        }
    }
    *sess = false;
    return false;
}

int pl__dg_open(pl__dg *h, pl_digest_alg alg)
{
    h->ctx = NULL;
    h->md = NULL;
    h->hex_len = pl_digest_hex_len(alg);
    switch (alg) {
    case PL_DIGEST_MD5:
        h->md = EVP_md5();
        break;
    case PL_DIGEST_SHA256:
        h->md = EVP_sha256();
        break;
    case PL_DIGEST_SHA512_256:
        h->md = EVP_sha512_256();
        break;
    case PL_DIGEST_ALG_COUNT_:
    default:
        return PL_EINVAL;
    }
    if (!h->md)
        return PL_ENOTSUP;
    h->ctx = EVP_MD_CTX_new();
    return h->ctx ? PL_OK : PL_ENOMEM;
}

void pl__dg_close(pl__dg *h)
{
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
}

int pl__dg_hex(pl__dg *h, char *out, size_t nparts, const pl_str *parts)
{
    static const char hexd[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1)
        return PL_ENOTSUP;
    for (size_t i = 0; i < nparts; i++) {
        if (i > 0 && EVP_DigestUpdate(h->ctx, ":", 1) != 1)
            return PL_ENOTSUP;
        if (parts[i].len && EVP_DigestUpdate(h->ctx, parts[i].p, parts[i].len) != 1)
            return PL_ENOTSUP;
    }
    if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || (size_t)n * 2 != h->hex_len)
        return PL_ENOTSUP;
    for (unsigned int i = 0; i < n; i++) {
        out[2 * i] = hexd[md[i] >> 4];
        out[2 * i + 1] = hexd[md[i] & 15];
    }
    out[2 * n] = '\0';
    return PL_OK;
}

/* H(parts) for alg into out, with the checks of the public functions. */
static int hash_public(pl_digest_alg alg, char *out, size_t cap, size_t nparts, const pl_str *parts)
{
    size_t hl = pl_digest_hex_len(alg);
    if (hl == 0)
        return PL_EINVAL;
    if (!out || cap < hl + 1)
        return PL_ENOSPC;
    pl__dg h;
    int rc = pl__dg_open(&h, alg);
    if (rc == PL_OK)
        rc = pl__dg_hex(&h, out, nparts, parts);
    pl__dg_close(&h);
    return rc;
}

int pl_digest_ha1(pl_digest_alg alg, pl_str user, pl_str realm, pl_str password, char *out,
                  size_t cap)
{
    pl_str parts[3] = {dg_nn(user), dg_nn(realm), dg_nn(password)};
    return hash_public(alg, out, cap, 3, parts);
}

int pl_digest_userhash(pl_digest_alg alg, pl_str user, pl_str realm, char *out, size_t cap)
{
    pl_str parts[2] = {dg_nn(user), dg_nn(realm)};
    return hash_public(alg, out, cap, 2, parts);
}
