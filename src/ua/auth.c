/*
 * auth.c - answering 401 and 407 from the profile's credentials (RFC 3261
 * 22.2 and 22.3, RFC 7616, RFC 8760).
 *
 * Each challenge of a response is parsed; per realm the first one whose
 * algorithm this stack knows is taken (a server lists its challenges in
 * order of preference, RFC 7616 3.7), provided the profile has credentials
 * for that realm. Several realms at once (a 407 aggregated by a forking
 * proxy, 16.7 step 7) are each answered. Challenges are kept with the
 * request so that the next transmission carries every answer, with the
 * nonce count advanced (RFC 7616 3.4). A realm that challenges again with
 * a new nonce but without stale=true refused the credentials: no retry.
 */
#include <string.h>

#include "ua_int.h"

#define MAX_AUTH_ROUNDS 5

static ua_auth *auth_find(ua_client *c, pl_str realm, bool proxy)
{
    for (unsigned i = 0; i < c->nauth; i++)
        if (c->auth[i].proxy == proxy && pl_str_eq(c->auth[i].ch.realm, realm))
            return &c->auth[i];
    return NULL;
}

/* Copy the challenge into the request's arena and parse it there. */
static int keep(ua_client *c, ua_auth *a, pl_str value, bool proxy)
{
    char *d = pl_arena_alloc(&c->arena, value.len);
    if (!d)
        return PL_ENOMEM;
    memcpy(d, value.p, value.len);
    a->value = (pl_str){d, value.len};
    a->proxy = proxy;
    a->nc = 0;
    a->answered = false;
    return pl_digest_challenge_parse(&a->ch, a->value, NULL);
}

int pl__ua_auth_learn(ua_client *c, const pl_msg *resp)
{
    pl_ua *ua = c->ua;
    bool proxy = resp->status == 407;
    if (c->auth_rounds >= MAX_AUTH_ROUNDS) {
        pl__ua_log(ua, PL_UA_LOG_WARN, resp->call_id, "%u after %u answers: giving up",
                   resp->status, c->auth_rounds);
        return PL_ELIMIT;
    }
    pl_hdr_id id = proxy ? PL_HDR_PROXY_AUTHENTICATE : PL_HDR_WWW_AUTHENTICATE;
    pl_str seen[UA_MAX_AUTH];
    unsigned nseen = 0, fresh = 0;
    for (int32_t i = pl_msg_hdr_find(resp, id, 0); i >= 0;
         i = pl_msg_hdr_find(resp, id, (uint32_t)i + 1)) {
        pl_str value = resp->hdrs[i].value;
        pl_digest_challenge ch;
        pl_error err = {0, 0, NULL};
        int rc = pl_digest_challenge_parse(&ch, value, &err);
        if (rc == PL_ENOTSUP) {
            pl__ua_log(ua, PL_UA_LOG_INFO, resp->call_id,
                       "realm \"%.*s\": unsupported algorithm, next challenge", (int)ch.realm.len,
                       ch.realm.p);
            continue;
        }
        if (rc != PL_OK) {
            pl__ua_log(ua, PL_UA_LOG_WARN, resp->call_id, "malformed challenge ignored: %s",
                       err.reason ? err.reason : pl_err_str(rc));
            continue;
        }
        bool dup = false;
        for (unsigned k = 0; k < nseen; k++)
            dup = dup || pl_str_eq(seen[k], ch.realm);
        if (dup || nseen == UA_MAX_AUTH)
            continue; /* this realm's preferred challenge was taken already */
        const ua_cred *cred = pl__ua_prof_cred(c->profile, ch.realm);
        if (!cred) {
            pl__ua_log(ua, PL_UA_LOG_WARN, resp->call_id, "no credentials for realm \"%.*s\"",
                       (int)ch.realm.len, ch.realm.p);
            continue;
        }
        if (!cred->password && cred->alg != ch.alg)
            continue; /* an HA1 made for another algorithm */
        seen[nseen++] = ch.realm;
        ua_auth *a = auth_find(c, ch.realm, proxy);
        if (a && a->answered && !ch.stale) {
            pl__ua_log(ua, PL_UA_LOG_WARN, resp->call_id,
                       "realm \"%.*s\" refused the credentials of user %s", (int)ch.realm.len,
                       ch.realm.p, cred->user);
            continue;
        }
        if (!a) {
            if (c->nauth == UA_MAX_AUTH)
                continue;
            a = &c->auth[c->nauth++];
        }
        if (keep(c, a, value, proxy) != PL_OK) {
            c->nauth--;
            continue;
        }
        fresh++;
    }
    return fresh ? PL_OK : PL_ENOTFOUND;
}

int pl__ua_auth_apply(ua_client *c)
{
    if (c->nauth == 0)
        return PL_OK;
    pl_msg_hdr_remove_id(&c->msg, PL_HDR_AUTHORIZATION);
    pl_msg_hdr_remove_id(&c->msg, PL_HDR_PROXY_AUTHORIZATION);
    for (unsigned i = 0; i < c->nauth; i++) {
        ua_auth *a = &c->auth[i];
        const ua_cred *cred = pl__ua_prof_cred(c->profile, a->ch.realm);
        if (!cred)
            continue;
        char ha1[129];
        pl_str pw = pl_str_c(cred->password);
        pl_str h1 = pl_str_c(cred->ha1);
        if (cred->password && pl_digest_ha1(a->ch.alg, pl_str_c(cred->user), a->ch.realm, pw, ha1,
                                            sizeof(ha1)) == PL_OK) {
            h1 = pl_str_c(ha1);
            pw = PL_STR_NULL;
        }
        pl_digest_answer_in in;
        memset(&in, 0, sizeof(in));
        in.ch = &a->ch;
        in.user = pl_str_c(cred->user);
        in.password = pw;
        in.ha1 = h1;
        in.method = c->msg.method;
        in.uri = c->msg.ruri_raw;
        in.body = c->msg.body;
        in.nc = ++a->nc;
        char value[2048];
        size_t len;
        int rc = pl_digest_answer(&in, value, sizeof(value), &len);
        if (rc != PL_OK) {
            pl__ua_log(c->ua, PL_UA_LOG_WARN, c->msg.call_id, "cannot answer realm \"%.*s\": %s",
                       (int)a->ch.realm.len, a->ch.realm.p, pl_err_str(rc));
            continue;
        }
        rc = pl_msg_hdr_append(
            &c->msg, a->proxy ? PL_STR_LIT("Proxy-Authorization") : PL_STR_LIT("Authorization"),
            (pl_str){value, len});
        if (rc != PL_OK)
            return rc;
        a->answered = true;
    }
    return PL_OK;
}
