/*
 * nonce.c - stateless server nonces (RFC 7616 section 3.3 and section 5.4
 * on nonce design): the time the nonce was made and a MAC over that time
 * and the realm,
 *
 *   nonce = hex16(now_ms) hex32(HMAC-SHA256(secret, hex16(now_ms) realm))
 *
 * so a server can tell its own fresh nonces from stale ones and from
 * forgeries without keeping any state. The time is fixed-width, so time
 * and realm cannot be shifted into each other. Replay of a fresh nonce is
 * the caller's concern (nonce counts, or a short max age).
 */
#include "auth_int.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#define TIME_HEX 16
#define MAC_HEX  32

static const char hexd[] = "0123456789abcdef";

/* The 32 hex digits of the truncated MAC over time16 and realm into out. */
static int nonce_mac(const uint8_t *secret, size_t secret_len, const char *time16, pl_str realm,
                     char *out)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!mac)
        return PL_ENOTSUP;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    int rc = PL_ENOTSUP;
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t n = 0;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (ctx && EVP_MAC_init(ctx, secret, secret_len, params) == 1 &&
        EVP_MAC_update(ctx, (const unsigned char *)time16, TIME_HEX) == 1 &&
        (realm.len == 0 || EVP_MAC_update(ctx, (const unsigned char *)realm.p, realm.len) == 1) &&
        EVP_MAC_final(ctx, md, &n, sizeof(md)) == 1 && n >= MAC_HEX / 2) {
        for (size_t i = 0; i < MAC_HEX / 2; i++) {
            out[2 * i] = hexd[md[i] >> 4];
            out[2 * i + 1] = hexd[md[i] & 15];
        }
        rc = PL_OK;
    }
    OPENSSL_cleanse(md, sizeof(md));
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return rc;
}

int pl_digest_nonce_make(const uint8_t *secret, size_t secret_len, pl_str realm, uint64_t now_ms,
                         char *out, size_t cap, size_t *len)
{
    if (!secret || secret_len == 0 || (!out && cap))
        return PL_EINVAL;
    char nonce[PL_DIGEST_NONCE_LEN];
    for (int i = 0; i < TIME_HEX; i++)
        nonce[i] = hexd[(now_ms >> (4 * (TIME_HEX - 1 - i))) & 15];
    int rc = nonce_mac(secret, secret_len, nonce, dg_nn(realm), nonce + TIME_HEX);
    if (rc != PL_OK)
        return rc;
    pl__wr w = {out, cap, 0};
    wr_mem(&w, nonce, sizeof(nonce));
    return wr_done(&w, len);
}

pl_nonce_status pl_digest_nonce_check(const uint8_t *secret, size_t secret_len, pl_str realm,
                                      pl_str nonce, uint64_t now_ms, uint64_t max_age_ms)
{
    if (!secret || secret_len == 0 || nonce.len != PL_DIGEST_NONCE_LEN || !nonce.p)
        return PL_NONCE_BAD;
    uint64_t t = 0;
    for (int i = 0; i < TIME_HEX; i++) {
        char c = nonce.p[i];
        unsigned v;
        if (c >= '0' && c <= '9')
            v = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = (unsigned)(c - 'a' + 10);
        else
            return PL_NONCE_BAD;
        t = (t << 4) | v;
    }
    char want[MAC_HEX];
    if (nonce_mac(secret, secret_len, nonce.p, dg_nn(realm), want) != PL_OK)
        return PL_NONCE_BAD;
    if (CRYPTO_memcmp(want, nonce.p + TIME_HEX, MAC_HEX) != 0)
        return PL_NONCE_BAD;
    uint64_t age = now_ms >= t ? now_ms - t : t - now_ms;
    return age <= max_age_ms ? PL_NONCE_OK : PL_NONCE_STALE;
}
