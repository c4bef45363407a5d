/*
 * test_digest.c - Digest authentication (include/parley/auth.h): challenge
 * and credentials parsing, the client's answer, the server's check and its
 * stateless nonces.
 *
 * Every expected hash below comes from outside this code: the examples of
 * RFC 2617 section 3.5 and RFC 7616 section 3.9.1 as printed there, and,
 * where no RFC prints one (SHA-512/256, -sess, auth-int, no qop), values
 * worked out with the openssl command line when the test was written, by
 * the formulas of RFC 7616 section 3.4, e.g.
 *
 *   H() { printf '%s' "$2" | openssl dgst -$1 -r | cut -d' ' -f1; }
 *   ha1=$(H sha256 "Mufasa:http-auth@example.org:Circle of Life")
 *   ha2=$(H sha256 "GET:/dir/index.html")
 *   H sha256 "$ha1:7ypf/...:00000001:f2/wE4...:auth:$ha2"
 *
 * Every input is parsed from an exact-size heap copy (tu_dup) so that
 * AddressSanitizer catches a read one byte past the end.
 */
#include "testutil.h"

#include <parley/auth.h>

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ vectors */

/* RFC 7616 section 3.9.1. */
#define R7616_REALM  "http-auth@example.org"
#define R7616_NONCE  "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
#define R7616_OPAQUE "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
#define R7616_CNONCE "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
#define R7616_USER   "Mufasa"
#define R7616_PASS   "Circle of Life"
#define R7616_URI    "/dir/index.html"
#define R7616_MD5    "8ca523f5e9506fed4657c9700eebdbec"
#define R7616_SHA256 "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"

/* RFC 2617 section 3.5 (note "Circle Of Life" with a capital O there). */
#define R2617_CHALLENGE                                                                            \
    "Digest\r\n realm=\"testrealm@host.com\",\r\n qop=\"auth,auth-int\",\r\n "                     \
    "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\r\n "                                           \
    "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""
#define R2617_AUTHORIZATION                                                                        \
    "Digest username=\"Mufasa\",\r\n realm=\"testrealm@host.com\",\r\n "                           \
    "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\r\n uri=\"/dir/index.html\",\r\n "              \
    "qop=auth,\r\n nc=00000001,\r\n cnonce=\"0a4f113b\",\r\n "                                     \
    "response=\"6629fae49393a05397450978507c4ef1\",\r\n "                                          \
    "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""
#define R2617_RESPONSE "6629fae49393a05397450978507c4ef1"

/*
 * Computed with openssl 3.0 dgst (see the top of this file) from the RFC
 * 7616 section 3.9.1 inputs, and for auth-int with the body SDP_BODY.
 */
#define SDP_BODY "v=0\no=- 1 1 IN IP4 192.0.2.1\n"

typedef struct vec {
    pl_digest_alg alg;
    bool sess;
    int qop; /* 0 none, 1 auth, 2 auth-int */
    const char *ha1;
    const char *response;
} vec;

static const vec openssl_vectors[] = {
    {PL_DIGEST_MD5, false, 0, "3d78807defe7de2157e2b0b6573a855f",
     "7b2cc3b30e75b4777ea31027084363fd"},
    {PL_DIGEST_MD5, false, 2, NULL, "02cf5b3164fe865132b6749482fd0cab"},
    {PL_DIGEST_MD5, true, 1, NULL, "e783283f46242139c486a698fec7211d"},
    {PL_DIGEST_MD5, true, 2, NULL, "47f13ef7fb86aa5942fc99b3797a36c7"},
    {PL_DIGEST_MD5, true, 0, NULL, "37a7f42db2090a3fcac4e26e747d4fc8"},
    {PL_DIGEST_SHA256, false, 0, "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232",
     "a1306b0595a6c7fe96c448631fb5cfbd5107bd1fe1da729d978dd7446b812363"},
    {PL_DIGEST_SHA256, false, 2, NULL,
     "61c22b5f7d4ed38b9c773a25ce72059ddc7ced629061c3e40d8b30d9fd921575"},
    {PL_DIGEST_SHA256, true, 1, NULL,
     "2fd51b3a77ad75bad6afad6003e818d767133c46d9e2749e7f5232ae1ea3efd7"},
    {PL_DIGEST_SHA256, true, 2, NULL,
     "7b08a6e5c472b218c7d5054747a7f596495c64448898209a4ff7600fda395563"},
    {PL_DIGEST_SHA256, true, 0, NULL,
     "30bc0742357e535c85094121d22cf826b794be0667e19537beb7b28f2251c274"},
    {PL_DIGEST_SHA512_256, false, 0,
     "fb174f5c3c7802721517cae13b98e2b8dae2e0118cb705d94ee29946319204ce",
     "93e9122020ea0624d2ca801426d5bfbeb93d10ff4cc24cb410af3920fa4730e7"},
    {PL_DIGEST_SHA512_256, false, 2, NULL,
     "758c5f5414abf9f24da76a159fbb771b330d808f01d4fee3007cd646af4dfef0"},
    {PL_DIGEST_SHA512_256, true, 1, NULL,
     "3f2a34f923c38b0fb26dce2fdfc2ce326c23cecf86fbb1444f3e51fbbc2cb92e"},
    {PL_DIGEST_SHA512_256, true, 2, NULL,
     "af5a514f550fbdffd9221c10d8b9c171c4c8e01a58fae7470cac21fde38fe813"},
    {PL_DIGEST_SHA512_256, true, 0, NULL,
     "7c70dbd9f483cbccedbd3e92ac246a9f2b712bed77914b52c3ae2254fdb2edba"},
};

/*
 * The inputs of RFC 7616 section 3.9.2 (SHA-512-256, userhash). The hashes
 * printed in that section do not follow from its inputs (a reported erratum),
 * so these were computed with openssl dgst -sha512-256:
 *   userhash = H("J\xc3\xa4s\xc3\xb8n Doe:api@example.org")
 *   response = H(H(user:realm:pw):nonce:00000001:cnonce:auth:H(GET:/doe.json))
 */
#define R7616B_USER     "J\xc3\xa4s\xc3\xb8n Doe"
#define R7616B_REALM    "api@example.org"
#define R7616B_PASS     "Secret, or not?"
#define R7616B_NONCE    "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK"
#define R7616B_OPAQUE   "HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS"
#define R7616B_CNONCE   "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v"
#define R7616B_HA1      "2d3d9f12c9f3d30011259dc5fecee005ae24de40e3e1f61806d03e65f1e6024f"
#define R7616B_USERHASH "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b"
#define R7616B_RESPONSE "3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5"

/* ------------------------------------------------------------------ helpers */

static int ch_parse(pl_digest_challenge *ch, const char *s, pl_error *err)
{
    size_t n = strlen(s);
    const char *b = tu_dup(s, n);
    return pl_digest_challenge_parse(ch, (pl_str){b, n}, err);
}

static void ch_ok(pl_digest_challenge *ch, const char *s)
{
    pl_error err = {0, 0, NULL};
    int rc = ch_parse(ch, s, &err);
    if (rc != PL_OK)
        fail_msg("\"%s\": rc %d (%s at %zu), want PL_OK", s, rc, err.reason ? err.reason : "?",
                 err.offset);
}

/* s must be refused with code and a reason. */
static void ch_bad(const char *s, int code)
{
    pl_digest_challenge ch;
    pl_error err = {0, 12345, NULL};
    int rc = ch_parse(&ch, s, &err);
    if (rc != code)
        fail_msg("\"%.60s\": rc %d, want %d", s, rc, code);
    if (!err.reason || err.code != code)
        fail_msg("\"%.60s\": no reason or wrong err.code %d", s, err.code);
    if (err.offset > strlen(s))
        fail_msg("\"%.60s\": offset %zu past the end", s, err.offset);
}

static int cr_parse(pl_digest_credentials *c, const char *s, pl_error *err)
{
    size_t n = strlen(s);
    const char *b = tu_dup(s, n);
    return pl_digest_credentials_parse(c, (pl_str){b, n}, err);
}

static void cr_ok(pl_digest_credentials *c, const char *s)
{
    pl_error err = {0, 0, NULL};
    int rc = cr_parse(c, s, &err);
    if (rc != PL_OK)
        fail_msg("\"%s\": rc %d (%s at %zu), want PL_OK", s, rc, err.reason ? err.reason : "?",
                 err.offset);
}

static void cr_bad(const char *s, int code)
{
    pl_digest_credentials c;
    pl_error err = {0, 12345, NULL};
    int rc = cr_parse(&c, s, &err);
    if (rc != code)
        fail_msg("\"%.80s\": rc %d, want %d", s, rc, code);
    if (!err.reason || err.code != code)
        fail_msg("\"%.80s\": no reason or wrong err.code %d", s, err.code);
}

/* The value of name="..." or name=... in a written header value. */
static pl_str param_of(const char *text, size_t len, const char *name)
{
    size_t nl = strlen(name);
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *hit = memmem(p, (size_t)(end - p), name, nl);
        if (!hit)
            break;
        bool starts = hit == text || hit[-1] == ' ' || hit[-1] == ',';
        if (starts && hit + nl < end && hit[nl] == '=') {
            const char *v = hit + nl + 1;
            if (v < end && *v == '"') {
                const char *q = memchr(v + 1, '"', (size_t)(end - v - 1));
                assert_non_null(q);
                return (pl_str){v + 1, (size_t)(q - v - 1)};
            }
            const char *q = v;
            while (q < end && *q != ',')
                q++;
            return (pl_str){v, (size_t)(q - v)};
        }
        p = hit + 1;
    }
    return PL_STR_NULL;
}

static bool has_param(const char *text, size_t len, const char *name)
{
    return param_of(text, len, name).p != NULL;
}

/* A challenge struct as the RFC 7616 section 3.9.1 server would send it. */
static pl_digest_challenge rfc7616_challenge(pl_digest_alg alg, bool sess, int qop)
{
    pl_digest_challenge ch;
    memset(&ch, 0, sizeof(ch));
    ch.realm = PL_STR_LIT(R7616_REALM);
    ch.nonce = PL_STR_LIT(R7616_NONCE);
    ch.opaque = PL_STR_LIT(R7616_OPAQUE);
    ch.has_opaque = true;
    ch.alg = alg;
    ch.sess = sess;
    ch.qop_auth = qop == 1;
    ch.qop_auth_int = qop == 2;
    return ch;
}

static pl_digest_answer_in rfc7616_in(const pl_digest_challenge *ch)
{
    pl_digest_answer_in in;
    memset(&in, 0, sizeof(in));
    in.ch = ch;
    in.user = PL_STR_LIT(R7616_USER);
    in.password = PL_STR_LIT(R7616_PASS);
    in.method = PL_STR_LIT("GET");
    in.uri = PL_STR_LIT(R7616_URI);
    in.body = PL_STR_LIT(SDP_BODY);
    in.nc = 1;
    in.cnonce = PL_STR_LIT(R7616_CNONCE);
    return in;
}

static int teardown(void **state)
{
    (void)state;
    tu_free_all();
    return 0;
}

/* ------------------------------------------------------------------ names */

static void test_alg_names(void **state)
{
    (void)state;
    assert_string_equal(pl_digest_alg_name(PL_DIGEST_MD5), "MD5");
    assert_string_equal(pl_digest_alg_name(PL_DIGEST_SHA256), "SHA-256");
    assert_string_equal(pl_digest_alg_name(PL_DIGEST_SHA512_256), "SHA-512-256");
    assert_null(pl_digest_alg_name(PL_DIGEST_ALG_COUNT_));
    assert_int_equal(pl_digest_hex_len(PL_DIGEST_MD5), 32);
    assert_int_equal(pl_digest_hex_len(PL_DIGEST_SHA256), 64);
    assert_int_equal(pl_digest_hex_len(PL_DIGEST_SHA512_256), 64);
    assert_int_equal(pl_digest_hex_len(PL_DIGEST_ALG_COUNT_), 0);
}

/* ------------------------------------------------------------------ RFC vectors */

static void check_rfc7616(const char *challenge, pl_digest_alg alg, const char *want)
{
    pl_digest_challenge ch;
    ch_ok(&ch, challenge);
    assert_int_equal(ch.alg, alg);
    assert_false(ch.sess);
    assert_true(ch.qop_auth);
    assert_true(ch.qop_auth_int);
    assert_str(ch.realm, R7616_REALM);
    assert_str(ch.nonce, R7616_NONCE);
    assert_str(ch.opaque, R7616_OPAQUE);

    pl_digest_answer_in in = rfc7616_in(&ch);
    char out[1024];
    size_t len = 0;
    assert_int_equal(pl_digest_answer(&in, out, sizeof(out), &len), PL_OK);
    assert_str(param_of(out, len, "response"), want);
    assert_str(param_of(out, len, "qop"), "auth");
    assert_str(param_of(out, len, "nc"), "00000001");
    assert_str(param_of(out, len, "cnonce"), R7616_CNONCE);
    assert_str(param_of(out, len, "opaque"), R7616_OPAQUE);
    assert_str(param_of(out, len, "username"), R7616_USER);
    assert_str(param_of(out, len, "uri"), R7616_URI);
    assert_str(param_of(out, len, "algorithm"), pl_digest_alg_name(alg));
    assert_int_equal(strlen(out), len);
}

static void test_rfc7616_md5(void **state)
{
    (void)state;
    check_rfc7616("Digest realm=\"" R7616_REALM "\", qop=\"auth, auth-int\", algorithm=MD5, "
                  "nonce=\"" R7616_NONCE "\", opaque=\"" R7616_OPAQUE "\"",
                  PL_DIGEST_MD5, R7616_MD5);
}

static void test_rfc7616_sha256(void **state)
{
    (void)state;
    check_rfc7616("Digest\r\n    realm=\"" R7616_REALM "\",\r\n    qop=\"auth, auth-int\",\r\n"
                  "    algorithm=SHA-256,\r\n    nonce=\"" R7616_NONCE "\",\r\n"
                  "    opaque=\"" R7616_OPAQUE "\"",
                  PL_DIGEST_SHA256, R7616_SHA256);
}

/* The server side of RFC 7616 section 3.9.1: the Authorization values as
 * the RFC prints them verify with the password, and not with another. */
static void test_rfc7616_verify(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        pl_digest_alg alg;
    } cases[] = {
        {"Digest username=\"Mufasa\",\r\n    realm=\"http-auth@example.org\",\r\n"
         "    uri=\"/dir/index.html\",\r\n    algorithm=MD5,\r\n"
         "    nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\r\n    nc=00000001,\r\n"
         "    cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\",\r\n    qop=auth,\r\n"
         "    response=\"8ca523f5e9506fed4657c9700eebdbec\",\r\n"
         "    opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
         PL_DIGEST_MD5},
        {"Digest username=\"Mufasa\",\r\n    realm=\"http-auth@example.org\",\r\n"
         "    uri=\"/dir/index.html\",\r\n    algorithm=SHA-256,\r\n"
         "    nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\r\n    nc=00000001,\r\n"
         "    cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\",\r\n    qop=auth,\r\n"
         "    response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\",\r\n"
         "    opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
         PL_DIGEST_SHA256},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pl_digest_credentials c;
        cr_ok(&c, cases[i].value);
        assert_int_equal(c.alg, cases[i].alg);
        assert_false(c.sess);
        assert_true(c.qop_auth);
        assert_false(c.qop_auth_int);
        assert_int_equal(c.nc, 1);
        assert_str(c.nc_str, "00000001");
        assert_str(c.user, R7616_USER);
        assert_str(c.realm, R7616_REALM);
        assert_str(c.uri, R7616_URI);
        assert_str(c.cnonce, R7616_CNONCE);
        assert_str(c.opaque, R7616_OPAQUE);
        assert_true(pl_digest_verify(&c, PL_STR_LIT("GET"), PL_STR_NULL, PL_STR_LIT(R7616_PASS),
                                     PL_STR_NULL));
        assert_false(pl_digest_verify(&c, PL_STR_LIT("GET"), PL_STR_NULL,
                                      PL_STR_LIT("Circle Of Life"), PL_STR_NULL));
        assert_false(pl_digest_verify(&c, PL_STR_LIT("PUT"), PL_STR_NULL, PL_STR_LIT(R7616_PASS),
                                      PL_STR_NULL));
    }
}

static void test_rfc2617_example(void **state)
{
    (void)state;
    pl_digest_challenge ch;
    ch_ok(&ch, R2617_CHALLENGE);
    assert_int_equal(ch.alg, PL_DIGEST_MD5);
    assert_str(ch.realm, "testrealm@host.com");
    assert_str(ch.nonce, "dcd98b7102dd2f0e8b11d0f600bfb0c093");
    assert_str(ch.opaque, "5ccc069c403ebaf9f0171e9517f40e41");
    assert_true(ch.qop_auth && ch.qop_auth_int);

    pl_digest_answer_in in;
    memset(&in, 0, sizeof(in));
    in.ch = &ch;
    in.user = PL_STR_LIT("Mufasa");
    in.password = PL_STR_LIT("Circle Of Life");
    in.method = PL_STR_LIT("GET");
    in.uri = PL_STR_LIT("/dir/index.html");
    in.nc = 1;
    in.cnonce = PL_STR_LIT("0a4f113b");
    char out[512];
    size_t len;
    assert_int_equal(pl_digest_answer(&in, out, sizeof(out), &len), PL_OK);
    assert_str(param_of(out, len, "response"), R2617_RESPONSE);

    /* And the server side, from the RFC's own Authorization value. */
    pl_digest_credentials c;
    cr_ok(&c, R2617_AUTHORIZATION);
    assert_str(c.response, R2617_RESPONSE);
    assert_true(pl_digest_verify(&c, PL_STR_LIT("GET"), PL_STR_NULL, PL_STR_LIT("Circle Of Life"),
                                 PL_STR_NULL));
    assert_false(pl_digest_verify(&c, PL_STR_LIT("GET"), PL_STR_NULL, PL_STR_LIT("Circle of Life"),
                                  PL_STR_NULL));
}

/* SHA-512/256 with userhash, on the inputs of RFC 7616 section 3.9.2. */
static void test_sha512_256_userhash(void **state)
{
    (void)state;
    pl_digest_challenge ch;
    ch_ok(&ch, "Digest\r\n    realm=\"" R7616B_REALM "\",\r\n    qop=\"auth\",\r\n"
               "    algorithm=SHA-512-256,\r\n    nonce=\"" R7616B_NONCE "\",\r\n"
               "    opaque=\"" R7616B_OPAQUE "\",\r\n    charset=UTF-8,\r\n    userhash=true");
    assert_int_equal(ch.alg, PL_DIGEST_SHA512_256);
    assert_true(ch.userhash);
    assert_true(ch.qop_auth);
    assert_false(ch.qop_auth_int);

    char ha1[PL_DIGEST_HEX_SIZE];
    assert_int_equal(pl_digest_ha1(PL_DIGEST_SHA512_256, PL_STR_LIT(R7616B_USER),
                                   PL_STR_LIT(R7616B_REALM), PL_STR_LIT(R7616B_PASS), ha1,
                                   sizeof(ha1)),
                     PL_OK);
    assert_string_equal(ha1, R7616B_HA1);
    char uh[PL_DIGEST_HEX_SIZE];
    assert_int_equal(pl_digest_userhash(PL_DIGEST_SHA512_256, PL_STR_LIT(R7616B_USER),
                                        PL_STR_LIT(R7616B_REALM), uh, sizeof(uh)),
                     PL_OK);
    assert_string_equal(uh, R7616B_USERHASH);

    pl_digest_answer_in in;
    memset(&in, 0, sizeof(in));
    in.ch = &ch;
    in.user = PL_STR_LIT(R7616B_USER);
    in.password = PL_STR_LIT(R7616B_PASS);
    in.method = PL_STR_LIT("GET");
    in.uri = PL_STR_LIT("/doe.json");
    in.nc = 1;
    in.cnonce = PL_STR_LIT(R7616B_CNONCE);
    char out[1024];
    size_t len;
    assert_int_equal(pl_digest_answer(&in, out, sizeof(out), &len), PL_OK);
    assert_str(param_of(out, len, "response"), R7616B_RESPONSE);
    assert_str(param_of(out, len, "username"), R7616B_USERHASH);
    assert_str(param_of(out, len, "userhash"), "true");
    assert_str(param_of(out, len, "algorithm"), "SHA-512-256");

    /* The server finds the user by the hash and checks with the ha1. */
    pl_digest_credentials c;
    assert_int_equal(pl_digest_credentials_parse(&c, (pl_str){out, len}, NULL), PL_OK);
    assert_true(c.userhash);
    assert_str(c.user, R7616B_USERHASH);
    assert_true(
        pl_digest_verify(&c, PL_STR_LIT("GET"), PL_STR_NULL, PL_STR_NULL, PL_STR_LIT(R7616B_HA1)));
    /* The hash is not the name: with the password it fails... */
    assert_false(
        pl_digest_verify(&c, PL_STR_LIT("GET"), PL_STR_NULL, PL_STR_LIT(R7616B_PASS), PL_STR_NULL));
    /* ...until the server puts the real name back. */
    c.user = PL_STR_LIT(R7616B_USER);
    assert_true(
        pl_digest_verify(&c, PL_STR_LIT("GET"), PL_STR_NULL, PL_STR_LIT(R7616B_PASS), PL_STR_NULL));
}

/* Every algorithm x (no qop, auth-int) x sess against openssl's numbers. */
static void test_openssl_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(openssl_vectors) / sizeof(openssl_vectors[0]); i++) {
        const vec *v = &openssl_vectors[i];
        pl_digest_challenge ch = rfc7616_challenge(v->alg, v->sess, v->qop);
        pl_digest_answer_in in = rfc7616_in(&ch);
        char out[1024];
        size_t len;
        assert_int_equal(pl_digest_answer(&in, out, sizeof(out), &len), PL_OK);
        pl_str resp = param_of(out, len, "response");
        if (!pl_str_eq(resp, pl_str_c(v->response)))
            fail_msg("vector %zu (%s%s qop %d): response %.*s, want %s", i,
                     pl_digest_alg_name(v->alg), v->sess ? "-sess" : "", v->qop, (int)resp.len,
                     resp.p, v->response);
        if (v->ha1) {
            char ha1[PL_DIGEST_HEX_SIZE];
            assert_int_equal(pl_digest_ha1(v->alg, PL_STR_LIT(R7616_USER), PL_STR_LIT(R7616_REALM),
                                           PL_STR_LIT(R7616_PASS), ha1, sizeof(ha1)),
                             PL_OK);
            assert_string_equal(ha1, v->ha1);
        }
        /* What the answer says about the qop, nc and cnonce. */
        assert_int_equal(has_param(out, len, "qop"), v->qop != 0);
        assert_int_equal(has_param(out, len, "nc"), v->qop != 0);
        assert_int_equal(has_param(out, len, "cnonce"), v->qop != 0 || v->sess);
        if (v->qop == 2)
            assert_str(param_of(out, len, "qop"), "auth-int");
        char alg[32];
        snprintf(alg, sizeof(alg), "%s%s", pl_digest_alg_name(v->alg), v->sess ? "-sess" : "");
        assert_str(param_of(out, len, "algorithm"), alg);

        /* The server computes the same from what was written. */
        pl_digest_credentials c;
        assert_int_equal(pl_digest_credentials_parse(&c, (pl_str){out, len}, NULL), PL_OK);
        assert_true(pl_digest_verify(&c, PL_STR_LIT("GET"), PL_STR_LIT(SDP_BODY),
                                     PL_STR_LIT(R7616_PASS), PL_STR_NULL));
    }
}

/* ------------------------------------------------------------------ challenge parsing */

static void test_challenge_compact(void **state)
{
    (void)state;
    pl_digest_challenge ch;
    ch_ok(&ch, "Digest realm=\"r\",nonce=\"n\",qop=\"auth\",algorithm=SHA-256,opaque=\"o\"");
    assert_str(ch.realm, "r");
    assert_str(ch.nonce, "n");
    assert_str(ch.opaque, "o");
    assert_true(ch.has_opaque);
    assert_int_equal(ch.alg, PL_DIGEST_SHA256);
    assert_true(ch.qop_auth);
    assert_false(ch.qop_auth_int);
    assert_false(ch.stale);
    assert_false(ch.userhash);
    assert_false(ch.sess);

    /* No algorithm: MD5; no qop: neither. */
    ch_ok(&ch, "Digest realm=\"a.com\", nonce=\"x\"");
    assert_int_equal(ch.alg, PL_DIGEST_MD5);
    assert_false(ch.qop_auth || ch.qop_auth_int);
    assert_false(ch.has_opaque);
    assert_int_equal(ch.algorithm.len, 0);
}

static void test_challenge_whitespace(void **state)
{
    (void)state;
    pl_digest_challenge ch;
    ch_ok(&ch, "  dIgEsT \t realm = \"r 1\" ,\tnonce= \"n\" , , qop = \" auth-int ,auth \" ,"
               "algorithm = sha-512-256-SESS ,\r\n\tstale = TRUE  ");
    assert_str(ch.realm, "r 1");
    assert_str(ch.nonce, "n");
    assert_int_equal(ch.alg, PL_DIGEST_SHA512_256);
    assert_true(ch.sess);
    assert_true(ch.qop_auth && ch.qop_auth_int);
    assert_true(ch.stale);
    assert_str(ch.algorithm, "sha-512-256-SESS");

    /* Leading and trailing empty list elements. */
    ch_ok(&ch, "Digest , realm=r ,, nonce=n,");
    assert_str(ch.realm, "r");
    assert_str(ch.nonce, "n");

    /* Folded lines between the parameters. */
    ch_ok(&ch, "Digest\r\n realm=\"x\"\r\n ,\r\n nonce=\"y\"");
    assert_str(ch.realm, "x");
    assert_str(ch.nonce, "y");
}

static void test_challenge_values(void **state)
{
    (void)state;
    pl_digest_challenge ch;
    /* Tokens where the RFC wants quotes, and quotes where it wants tokens. */
    ch_ok(&ch, "Digest realm=example.com, nonce=abc/def+==, qop=auth, algorithm=\"MD5-sess\", "
               "stale=\"true\", userhash=TRUE, domain=\"sip:a.example sip:b.example\"");
    assert_str(ch.realm, "example.com");
    assert_str(ch.nonce, "abc/def+==");
    assert_true(ch.qop_auth);
    assert_int_equal(ch.alg, PL_DIGEST_MD5);
    assert_true(ch.sess);
    assert_true(ch.stale);
    assert_true(ch.userhash);
    assert_str(ch.domain, "sip:a.example sip:b.example");

    /* stale: anything but true is false (RFC 2617 section 3.2.1). */
    ch_ok(&ch, "Digest realm=\"r\", nonce=\"n\", stale=FALSE");
    assert_false(ch.stale);
    ch_ok(&ch, "Digest realm=\"r\", nonce=\"n\", stale=yes");
    assert_false(ch.stale);

    /* Empty quoted values are values. */
    ch_ok(&ch, "Digest realm=\"\", nonce=\"\", opaque=\"\"");
    assert_int_equal(ch.realm.len, 0);
    assert_non_null(ch.realm.p);
    assert_true(ch.has_opaque);

    /* UTF-8 in a quoted realm is qdtext. */
    ch_ok(&ch, "Digest realm=\"caf\xc3\xa9\", nonce=\"n\"");
    assert_str(ch.realm, "caf\xc3\xa9");
}

static void test_challenge_qop_lists(void **state)
{
    (void)state;
    pl_digest_challenge ch;
    ch_ok(&ch, "Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"");
    assert_false(ch.qop_auth);
    assert_true(ch.qop_auth_int);
    ch_ok(&ch, "Digest realm=\"r\", nonce=\"n\", qop=\"auth,auth-int\"");
    assert_true(ch.qop_auth && ch.qop_auth_int);
    ch_ok(&ch, "Digest realm=\"r\", nonce=\"n\", qop=\"AUTH-INT, , x-other, Auth\"");
    assert_true(ch.qop_auth && ch.qop_auth_int);
    ch_ok(&ch, "Digest realm=\"r\", nonce=\"n\", qop=\"x-other,auth\"");
    assert_true(ch.qop_auth);
    assert_false(ch.qop_auth_int);
    /* "auth-intx" and "authx" are other tokens. */
    ch_bad("Digest realm=\"r\", nonce=\"n\", qop=\"authx,auth-intx\"", PL_ENOTSUP);
    ch_bad("Digest realm=\"r\", nonce=\"n\", qop=\"\"", PL_ENOTSUP);
}

static void test_challenge_unknown_params(void **state)
{
    (void)state;
    pl_digest_challenge ch;
    ch_ok(&ch, "Digest x-foo=bar, realm=\"r\", charset=UTF-8, x-esc=\"a\\\"b,c\", nonce=\"n\", "
               "REALMX=\"no\", y=\"\"");
    assert_str(ch.realm, "r");
    assert_str(ch.nonce, "n");
    /* Parameter names in any case. */
    ch_ok(&ch, "Digest REALM=\"r\", Nonce=\"n\", ALGORITHM=sha-256, QOP=\"auth\", Opaque=\"o\"");
    assert_str(ch.realm, "r");
    assert_str(ch.opaque, "o");
    assert_int_equal(ch.alg, PL_DIGEST_SHA256);
    assert_true(ch.qop_auth);
}

static void test_challenge_unknown_algorithm(void **state)
{
    (void)state;
    static const char *const algs[] = {"AKAv1-MD5", "SHA-1", "MD5-SESSION",
                                       "sha-512",   "-sess", "SHA-256-sess-sess"};
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        char v[256];
        snprintf(v, sizeof(v), "Digest realm=\"office\", algorithm=%s, nonce=\"n\"", algs[i]);
        pl_digest_challenge ch;
        pl_error err = {0, 0, NULL};
        assert_int_equal(ch_parse(&ch, v, &err), PL_ENOTSUP);
        assert_int_equal(err.code, PL_ENOTSUP);
        assert_non_null(err.reason);
        assert_int_equal(err.offset, strstr(v, algs[i]) - v);
        assert_str(ch.realm, "office"); /* for the log line */
        assert_str(ch.nonce, "n");
        assert_str(ch.algorithm, algs[i]);
    }
    /* err may be NULL. */
    pl_digest_challenge ch;
    assert_int_equal(pl_digest_challenge_parse(&ch,
                                               PL_STR_LIT("Digest realm=r,nonce=n,"
                                                          "algorithm=x"),
                                               NULL),
                     PL_ENOTSUP);
}

static void test_challenge_missing(void **state)
{
    (void)state;
    ch_bad("Digest nonce=\"n\", qop=\"auth\"", PL_EPARSE);
    ch_bad("Digest realm=\"r\", qop=\"auth\"", PL_EPARSE);
    ch_bad("Digest", PL_EPARSE);
    ch_bad("Digest   ", PL_EPARSE);
    /* A missing realm is a parse error even when the algorithm is unknown. */
    ch_bad("Digest nonce=\"n\", algorithm=AKAv1-MD5", PL_EPARSE);
    pl_digest_challenge ch;
    pl_error err = {0, 0, NULL};
    assert_int_equal(ch_parse(&ch, "Digest nonce=\"n\"", &err), PL_EPARSE);
    assert_non_null(strstr(err.reason, "realm"));
}

static void test_challenge_long_values(void **state)
{
    (void)state;
    static char buf[6000];
    /* A 5000-byte nonce. */
    int n = snprintf(buf, sizeof(buf), "Digest realm=\"r\", nonce=\"%05000d\"", 0);
    assert_true(n > 5000);
    pl_digest_challenge ch;
    pl_error err = {0, 0, NULL};
    assert_int_equal(ch_parse(&ch, buf, &err), PL_EPARSE);
    assert_non_null(strstr(err.reason, "nonce"));
    assert_non_null(strstr(err.reason, "1024"));
    assert_int_equal(err.offset, strlen("Digest realm=\"r\", nonce=\""));

    /* 1024 bytes is still fine; 1025 is not. */
    snprintf(buf, sizeof(buf), "Digest realm=\"r\", nonce=\"%01024d\"", 7);
    ch_ok(&ch, buf);
    assert_int_equal(ch.nonce.len, 1024);
    snprintf(buf, sizeof(buf), "Digest realm=\"r\", nonce=\"%01025d\"", 7);
    ch_bad(buf, PL_EPARSE);

    snprintf(buf, sizeof(buf), "Digest realm=\"%01025d\", nonce=\"n\"", 1);
    assert_int_equal(ch_parse(&ch, buf, &err), PL_EPARSE);
    assert_non_null(strstr(err.reason, "realm"));
    snprintf(buf, sizeof(buf), "Digest realm=r, nonce=n, opaque=%02000d", 1);
    assert_int_equal(ch_parse(&ch, buf, &err), PL_EPARSE);
    assert_non_null(strstr(err.reason, "opaque"));
    /* An unknown parameter may be long. */
    snprintf(buf, sizeof(buf), "Digest realm=r, nonce=n, x=\"%04000d\"", 1);
    ch_ok(&ch, buf);
}

static void test_challenge_bad_syntax(void **state)
{
    (void)state;
    ch_bad("Digest realm=\"r, nonce=\"n\"x", PL_EPARSE);  /* the quote closes late */
    ch_bad("Digest realm=\"r\", nonce=\"n", PL_EPARSE);   /* unterminated */
    ch_bad("Digest realm=\"r\", nonce=\"n\\", PL_EPARSE); /* backslash at the end */
    ch_bad("Digest realm=\"r\", nonce=", PL_EPARSE);      /* empty value */
    ch_bad("Digest realm=\"r\", nonce= , qop=auth", PL_EPARSE);
    ch_bad("Digest realm=\"r\", nonce", PL_EPARSE);      /* no '=' */
    ch_bad("Digest realm=\"r\", =\"n\"", PL_EPARSE);     /* no name */
    ch_bad("Digest realm=\"r\" nonce=\"n\"", PL_EPARSE); /* no comma */
    ch_bad("Digest realm=\"r\"\"\", nonce=\"n\"", PL_EPARSE);
    ch_bad("Digest realm=a b, nonce=n", PL_EPARSE);
    ch_bad("Digest realm=\"a\x01\", nonce=n", PL_EPARSE); /* control character */
    ch_bad("Digest realm=\"a\r\nb\", nonce=n", PL_EPARSE);
    ch_bad("Digest realm=\"r\", nonce=\"n\", realm=\"s\"", PL_EPARSE); /* duplicates */
    ch_bad("Digest realm=\"r\", nonce=\"n\", NONCE=\"m\"", PL_EPARSE);
    ch_bad("Digest realm=\"r\", nonce=\"n\", algorithm=MD5, algorithm=SHA-256", PL_EPARSE);
    ch_bad("Digest realm=\"r\\\"s\", nonce=\"n\"", PL_EPARSE); /* escape in a read value */
    ch_bad("", PL_EPARSE);
    ch_bad("   ", PL_EPARSE);
    ch_bad("Basic realm=\"r\"", PL_EPARSE);
    ch_bad("Digestrealm=\"r\", nonce=\"n\"", PL_EPARSE);
    ch_bad("Digest,realm=\"r\", nonce=\"n\"", PL_EPARSE);
    ch_bad("\"Digest\" realm=\"r\", nonce=\"n\"", PL_EPARSE);
    ch_bad("Digest realm=\"r\", nonce=\"n\", Basic realm=\"x\"", PL_EPARSE);

    /* The offset points at the trouble. */
    pl_digest_challenge ch;
    pl_error err = {0, 0, NULL};
    const char *s = "Digest realm=\"r\", nonce=\"abc";
    assert_int_equal(ch_parse(&ch, s, &err), PL_EPARSE);
    assert_int_equal(err.offset, strlen("Digest realm=\"r\", nonce="));
    s = "Basic realm=\"r\"";
    assert_int_equal(ch_parse(&ch, s, &err), PL_EPARSE);
    assert_int_equal(err.offset, 0);

    /* A NULL, empty value. */
    assert_int_equal(pl_digest_challenge_parse(&ch, PL_STR_NULL, NULL), PL_EPARSE);
}

/* ------------------------------------------------------------------ printing challenges */

static void test_challenge_print(void **state)
{
    (void)state;
    pl_digest_challenge_out co;
    memset(&co, 0, sizeof(co));
    co.realm = PL_STR_LIT("atlanta.com");
    co.nonce = PL_STR_LIT("abc123");
    co.alg = PL_DIGEST_SHA256;
    co.qop_auth = true;
    co.qop_auth_int = true;
    char out[256];
    size_t len;
    assert_int_equal(pl_digest_challenge_print(&co, out, sizeof(out), &len), PL_OK);
    assert_string_equal(out, "Digest realm=\"atlanta.com\", nonce=\"abc123\", "
                             "algorithm=SHA-256, qop=\"auth,auth-int\"");
    assert_int_equal(len, strlen(out));

    co.alg = PL_DIGEST_MD5;
    co.sess = true;
    co.qop_auth = false;
    co.stale = true;
    co.opaque = PL_STR_LIT("op");
    co.userhash = true;
    assert_int_equal(pl_digest_challenge_print(&co, out, sizeof(out), &len), PL_OK);
    assert_string_equal(out, "Digest realm=\"atlanta.com\", nonce=\"abc123\", "
                             "algorithm=MD5-sess, qop=\"auth-int\", stale=true, opaque=\"op\", "
                             "userhash=true");

    /* What is printed parses back to the same. */
    pl_digest_challenge ch;
    ch_ok(&ch, out);
    assert_str(ch.realm, "atlanta.com");
    assert_str(ch.nonce, "abc123");
    assert_str(ch.opaque, "op");
    assert_int_equal(ch.alg, PL_DIGEST_MD5);
    assert_true(ch.sess && ch.stale && ch.userhash && ch.qop_auth_int);
    assert_false(ch.qop_auth);

    /* No qop at all: the RFC 2069 form. */
    memset(&co, 0, sizeof(co));
    co.realm = PL_STR_LIT("r");
    co.nonce = PL_STR_LIT("n");
    co.alg = PL_DIGEST_SHA512_256;
    assert_int_equal(pl_digest_challenge_print(&co, out, sizeof(out), &len), PL_OK);
    assert_string_equal(out, "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256");

    /* Values that would need escapes, an empty nonce, a bad algorithm. */
    co.realm = PL_STR_LIT("a\"b");
    assert_int_equal(pl_digest_challenge_print(&co, out, sizeof(out), &len), PL_EINVAL);
    co.realm = PL_STR_LIT("a\\b");
    assert_int_equal(pl_digest_challenge_print(&co, out, sizeof(out), &len), PL_EINVAL);
    co.realm = PL_STR_LIT("r");
    co.opaque = PL_STR_LIT("x\r\ny");
    assert_int_equal(pl_digest_challenge_print(&co, out, sizeof(out), &len), PL_EINVAL);
    co.opaque = PL_STR_NULL;
    co.nonce = PL_STR_NULL;
    assert_int_equal(pl_digest_challenge_print(&co, out, sizeof(out), &len), PL_EINVAL);
    co.nonce = PL_STR_LIT("n");
    co.alg = PL_DIGEST_ALG_COUNT_;
    assert_int_equal(pl_digest_challenge_print(&co, out, sizeof(out), &len), PL_EINVAL);
}

/* ------------------------------------------------------------------ answers */

static void test_answer_qop_choice(void **state)
{
    (void)state;
    struct {
        const char *qop;
        bool want_int;
        const char *expect; /* NULL: no qop */
    } cases[] = {
        {"auth,auth-int", false, "auth"},
        {"auth,auth-int", true, "auth-int"},
        {"auth-int,auth", false, "auth"},
        {"auth", true, "auth"},
        {"auth-int", false, "auth-int"},
        {"auth-int", true, "auth-int"},
        {NULL, false, NULL},
        {NULL, true, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char v[128];
        if (cases[i].qop)
            snprintf(v, sizeof(v), "Digest realm=\"r\", nonce=\"n\", qop=\"%s\"", cases[i].qop);
        else
            snprintf(v, sizeof(v), "Digest realm=\"r\", nonce=\"n\"");
        pl_digest_challenge ch;
        ch_ok(&ch, v);
        pl_digest_answer_in in;
        memset(&in, 0, sizeof(in));
        in.ch = &ch;
        in.user = PL_STR_LIT("alice");
        in.password = PL_STR_LIT("pw");
        in.method = PL_STR_LIT("INVITE");
        in.uri = PL_STR_LIT("sip:bob@example.com");
        in.nc = 7;
        in.want_auth_int = cases[i].want_int;
        char out[512];
        size_t len;
        assert_int_equal(pl_digest_answer(&in, out, sizeof(out), &len), PL_OK);
        if (cases[i].expect) {
            assert_str(param_of(out, len, "qop"), cases[i].expect);
            assert_str(param_of(out, len, "nc"), "00000007");
            assert_int_equal(param_of(out, len, "cnonce").len, 16); /* made up */
        } else {
            assert_false(has_param(out, len, "qop"));
            assert_false(has_param(out, len, "nc"));
            assert_false(has_param(out, len, "cnonce"));
        }
        assert_false(has_param(out, len, "opaque")); /* none was offered */
        assert_false(has_param(out, len, "userhash"));
    }
}

static void test_answer_format(void **state)
{
    (void)state;
    pl_digest_challenge ch;
    ch_ok(&ch, "Digest realm=\"biloxi.com\", nonce=\"n1\", qop=\"auth\", opaque=\"\"");
    pl_digest_answer_in in;
    memset(&in, 0, sizeof(in));
    in.ch = &ch;
    in.user = PL_STR_LIT("bob");
    in.password = PL_STR_LIT("zanzibar");
    in.method = PL_STR_LIT("REGISTER");
    in.uri = PL_STR_LIT("sip:biloxi.com");
    in.nc = 0xabcdef12u;
    in.cnonce = PL_STR_LIT("c1");
    char out[512];
    size_t len;
    assert_int_equal(pl_digest_answer(&in, out, sizeof(out), &len), PL_OK);
    /* The shape of the header, the response taken as computed. */
    pl_str resp = param_of(out, len, "response");
    assert_int_equal(resp.len, 32);
    char want[512];
    snprintf(want, sizeof(want),
             "Digest username=\"bob\", realm=\"biloxi.com\", nonce=\"n1\", uri=\"sip:biloxi.com\", "
             "response=\"%.*s\", algorithm=MD5, cnonce=\"c1\", opaque=\"\", qop=auth, "
             "nc=abcdef12",
             (int)resp.len, resp.p);
    assert_string_equal(out, want);
    /* nc as the server reads it. */
    pl_digest_credentials c;
    assert_int_equal(pl_digest_credentials_parse(&c, (pl_str){out, len}, NULL), PL_OK);
    assert_int_equal(c.nc, 0xabcdef12u);
    assert_true(c.has_opaque);
    assert_int_equal(c.opaque.len, 0);
    assert_true(pl_digest_verify(&c, PL_STR_LIT("REGISTER"), PL_STR_NULL, PL_STR_LIT("zanzibar"),
                                 PL_STR_NULL));
}

static void test_answer_einval(void **state)
{
    (void)state;
    pl_digest_challenge ch = rfc7616_challenge(PL_DIGEST_SHA256, false, 1);
    pl_digest_answer_in in = rfc7616_in(&ch);
    char out[1024];
    size_t len;

    in.password = PL_STR_NULL; /* and no ha1 */
    assert_int_equal(pl_digest_answer(&in, out, sizeof(out), &len), PL_EINVAL);
    in.ha1 = PL_STR_LIT("3d78807defe7de2157e2b0b6573a855f"); /* an MD5 ha1 for SHA-256 */
    assert_int_equal(pl_digest_answer(&in, out, sizeof(out), &len), PL_EINVAL);
    in.ha1 = PL_STR_LIT("7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b479423g");
    assert_int_equal(pl_digest_answer(&in, out, sizeof(out), &len), PL_EINVAL);
    in.ha1 = PL_STR_LIT("7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232");
    assert_int_equal(pl_digest_answer(&in, out, sizeof(out), &len), PL_OK);

    in = rfc7616_in(&ch);
    in.nc = 0;
    assert_int_equal(pl_digest_answer(&in, out, sizeof(out), &len), PL_EINVAL);
    in = rfc7616_in(&ch);
    in.user = PL_STR_LIT("a\"b");
    assert_int_equal(pl_digest_answer(&in, out, sizeof(out), &len), PL_EINVAL);
    in = rfc7616_in(&ch);
    in.uri = PL_STR_LIT("sip:a\r\nb");
    assert_int_equal(pl_digest_answer(&in, out, sizeof(out), &len), PL_EINVAL);
    in = rfc7616_in(&ch);
    in.cnonce = PL_STR_LIT("a\\b");
    assert_int_equal(pl_digest_answer(&in, out, sizeof(out), &len), PL_EINVAL);
    in = rfc7616_in(&ch);
    in.uri = PL_STR_NULL;
    assert_int_equal(pl_digest_answer(&in, out, sizeof(out), &len), PL_EINVAL);
    in = rfc7616_in(&ch);
    in.method = PL_STR_NULL;
    assert_int_equal(pl_digest_answer(&in, out, sizeof(out), &len), PL_EINVAL);
    in = rfc7616_in(&ch);
    in.ch = NULL;
    assert_int_equal(pl_digest_answer(&in, out, sizeof(out), &len), PL_EINVAL);

    /* A hand-made challenge whose values would need escapes. */
    pl_digest_challenge bad = ch;
    bad.opaque = PL_STR_LIT("o\"pq");
    in = rfc7616_in(&bad);
    assert_int_equal(pl_digest_answer(&in, out, sizeof(out), &len), PL_EINVAL);
    bad = ch;
    bad.realm = PL_STR_LIT("r\\");
    in = rfc7616_in(&bad);
    assert_int_equal(pl_digest_answer(&in, out, sizeof(out), &len), PL_EINVAL);
    bad = ch;
    bad.nonce = PL_STR_LIT("n\x7f");
    in = rfc7616_in(&bad);
    assert_int_equal(pl_digest_answer(&in, out, sizeof(out), &len), PL_EINVAL);
    bad = ch;
    bad.alg = PL_DIGEST_ALG_COUNT_;
    in = rfc7616_in(&bad);
    assert_int_equal(pl_digest_answer(&in, out, sizeof(out), &len), PL_EINVAL);

    /* nc 0 is fine when no nonce count is sent. */
    pl_digest_challenge none = rfc7616_challenge(PL_DIGEST_SHA256, false, 0);
    in = rfc7616_in(&none);
    in.nc = 0;
    assert_int_equal(pl_digest_answer(&in, out, sizeof(out), &len), PL_OK);
}

/* The ha1 path gives exactly the bytes of the password path, in every mode. */
static void test_ha1_equals_password(void **state)
{
    (void)state;
    for (int alg = 0; alg < PL_DIGEST_ALG_COUNT_; alg++) {
        for (int qop = 0; qop < 3; qop++) {
            for (int sess = 0; sess < 2; sess++) {
                pl_digest_challenge ch = rfc7616_challenge((pl_digest_alg)alg, sess, qop);
                pl_digest_answer_in in = rfc7616_in(&ch);
                char a[1024], b[1024], u[1024];
                size_t al, bl, ul;
                assert_int_equal(pl_digest_answer(&in, a, sizeof(a), &al), PL_OK);

                char ha1[PL_DIGEST_HEX_SIZE];
                assert_int_equal(pl_digest_ha1((pl_digest_alg)alg, in.user, ch.realm, in.password,
                                               ha1, sizeof(ha1)),
                                 PL_OK);
                assert_int_equal(strlen(ha1), pl_digest_hex_len((pl_digest_alg)alg));
                in.password = PL_STR_NULL;
                in.ha1 = pl_str_c(ha1);
                assert_int_equal(pl_digest_answer(&in, b, sizeof(b), &bl), PL_OK);
                assert_int_equal(al, bl);
                assert_memory_equal(a, b, al);

                /* An upper-case ha1 is the same ha1. */
                for (char *p = ha1; *p; p++)
                    if (*p >= 'a' && *p <= 'f')
                        *p = (char)(*p - 32);
                assert_int_equal(pl_digest_answer(&in, u, sizeof(u), &ul), PL_OK);
                assert_int_equal(al, ul);
                assert_memory_equal(a, u, al);
            }
        }
    }
}

/* ------------------------------------------------------------------ round trips */

static const char *const BODY = "v=0\r\no=alice 1 1 IN IP4 192.0.2.5\r\ns=-\r\n";

static void round_trip(pl_digest_alg alg, int qop, bool sess, bool use_ha1, bool userhash)
{
    /* The server writes a challenge... */
    char nonce[PL_DIGEST_NONCE_LEN + 1];
    size_t nl;
    static const uint8_t secret[] = "registrar secret";
    assert_int_equal(pl_digest_nonce_make(secret, sizeof(secret) - 1, PL_STR_LIT("example.com"),
                                          1000000, nonce, sizeof(nonce), &nl),
                     PL_OK);
    pl_digest_challenge_out co;
    memset(&co, 0, sizeof(co));
    co.realm = PL_STR_LIT("example.com");
    co.nonce = (pl_str){nonce, nl};
    co.opaque = PL_STR_LIT("op-aque");
    co.alg = alg;
    co.sess = sess;
    co.qop_auth = qop == 1;
    co.qop_auth_int = qop == 2;
    co.userhash = userhash;
    char chal[512];
    size_t cl;
    assert_int_equal(pl_digest_challenge_print(&co, chal, sizeof(chal), &cl), PL_OK);

    /* ...the client parses it and answers... */
    pl_digest_challenge ch;
    ch_ok(&ch, chal);
    assert_int_equal(ch.alg, alg);
    assert_int_equal(ch.sess, sess);
    assert_int_equal(ch.userhash, userhash);
    char ha1[PL_DIGEST_HEX_SIZE];
    assert_int_equal(
        pl_digest_ha1(alg, PL_STR_LIT("alice"), ch.realm, PL_STR_LIT("s3cret"), ha1, sizeof(ha1)),
        PL_OK);
    pl_digest_answer_in in;
    memset(&in, 0, sizeof(in));
    in.ch = &ch;
    in.user = PL_STR_LIT("alice");
    if (use_ha1)
        in.ha1 = pl_str_c(ha1);
    else
        in.password = PL_STR_LIT("s3cret");
    in.method = PL_STR_LIT("INVITE");
    in.uri = PL_STR_LIT("sip:bob@example.com;transport=tcp");
    in.body = pl_str_c(BODY);
    in.nc = 3;
    char ans[1024];
    size_t al;
    assert_int_equal(pl_digest_answer(&in, ans, sizeof(ans), &al), PL_OK);

    /* ...and the server checks it. */
    const char *b = tu_dup(ans, al);
    pl_digest_credentials c;
    pl_error err = {0, 0, NULL};
    int rc = pl_digest_credentials_parse(&c, (pl_str){b, al}, &err);
    if (rc != PL_OK)
        fail_msg("%.*s: rc %d (%s at %zu)", (int)al, ans, rc, err.reason, err.offset);
    assert_int_equal(c.alg, alg);
    assert_int_equal(c.sess, sess);
    assert_int_equal(c.qop_auth, qop == 1);
    assert_int_equal(c.qop_auth_int, qop == 2);
    assert_int_equal(c.nc, qop ? 3 : 0);
    assert_int_equal(c.userhash, userhash);
    assert_str(c.realm, "example.com");
    assert_str(c.opaque, "op-aque");
    assert_str(c.uri, "sip:bob@example.com;transport=tcp");
    assert_true(pl_str_eq(c.nonce, (pl_str){nonce, nl}));
    assert_int_equal(
        pl_digest_nonce_check(secret, sizeof(secret) - 1, c.realm, c.nonce, 1000500, 30000),
        PL_NONCE_OK);
    if (userhash) {
        char uh[PL_DIGEST_HEX_SIZE];
        assert_int_equal(pl_digest_userhash(alg, PL_STR_LIT("alice"), c.realm, uh, sizeof(uh)),
                         PL_OK);
        assert_str(c.user, uh);
        c.user = PL_STR_LIT("alice"); /* found by the hash */
    } else {
        assert_str(c.user, "alice");
    }

    pl_str m = PL_STR_LIT("INVITE"), body = pl_str_c(BODY);
    assert_true(pl_digest_verify(&c, m, body, PL_STR_LIT("s3cret"), PL_STR_NULL));
    assert_true(pl_digest_verify(&c, m, body, PL_STR_NULL, pl_str_c(ha1)));
    /* Wrong password, wrong ha1, wrong method. */
    assert_false(pl_digest_verify(&c, m, body, PL_STR_LIT("s3creT"), PL_STR_NULL));
    ha1[0] = ha1[0] == '0' ? '1' : '0';
    assert_false(pl_digest_verify(&c, m, body, PL_STR_NULL, pl_str_c(ha1)));
    assert_false(pl_digest_verify(&c, PL_STR_LIT("BYE"), body, PL_STR_LIT("s3cret"), PL_STR_NULL));
    assert_false(pl_digest_verify(&c, m, body, PL_STR_NULL, PL_STR_NULL));
    /* A changed body matters with auth-int only. */
    pl_str body2 = PL_STR_LIT("v=0\r\no=mallory 1 1 IN IP4 192.0.2.66\r\ns=-\r\n");
    assert_int_equal(pl_digest_verify(&c, m, body2, PL_STR_LIT("s3cret"), PL_STR_NULL), qop != 2);
    assert_int_equal(pl_digest_verify(&c, m, PL_STR_NULL, PL_STR_LIT("s3cret"), PL_STR_NULL),
                     qop != 2);
    /* The response read in upper case is the same response. */
    char upper[PL_DIGEST_HEX_SIZE];
    for (size_t i = 0; i < c.response.len; i++) {
        char x = c.response.p[i];
        upper[i] = (char)(x >= 'a' && x <= 'f' ? x - 32 : x);
    }
    pl_digest_credentials cu = c;
    cu.response = (pl_str){upper, c.response.len};
    assert_true(pl_digest_verify(&cu, m, body, PL_STR_LIT("s3cret"), PL_STR_NULL));
    /* One changed digit of the response: the first, one inside, the last. */
    size_t at[3] = {0, 5, c.response.len - 1};
    for (size_t i = 0; i < 3; i++) {
        char keep = upper[at[i]];
        upper[at[i]] = keep == '0' ? '1' : '0';
        assert_false(pl_digest_verify(&cu, m, body, PL_STR_LIT("s3cret"), PL_STR_NULL));
        upper[at[i]] = keep;
    }
    /* Another nonce count, uri or cnonce: another response. */
    if (qop) {
        pl_digest_credentials cn = c;
        cn.nc_str = PL_STR_LIT("00000004");
        assert_false(pl_digest_verify(&cn, m, body, PL_STR_LIT("s3cret"), PL_STR_NULL));
    }
    pl_digest_credentials cx = c;
    cx.uri = PL_STR_LIT("sip:bob@example.com");
    assert_false(pl_digest_verify(&cx, m, body, PL_STR_LIT("s3cret"), PL_STR_NULL));
    if (qop || sess) {
        cx = c;
        cx.cnonce = PL_STR_LIT("other");
        assert_false(pl_digest_verify(&cx, m, body, PL_STR_LIT("s3cret"), PL_STR_NULL));
    }
    /* The algorithm the server believes matters. */
    cx = c;
    cx.sess = !sess;
    assert_false(pl_digest_verify(&cx, m, body, PL_STR_LIT("s3cret"), PL_STR_NULL));
}

static void test_round_trips(void **state)
{
    (void)state;
    for (int alg = 0; alg < PL_DIGEST_ALG_COUNT_; alg++)
        for (int qop = 0; qop < 3; qop++)
            for (int sess = 0; sess < 2; sess++)
                for (int ha1 = 0; ha1 < 2; ha1++)
                    round_trip((pl_digest_alg)alg, qop, sess, ha1, false);
}

static void test_round_trips_userhash(void **state)
{
    (void)state;
    for (int alg = 0; alg < PL_DIGEST_ALG_COUNT_; alg++)
        for (int qop = 0; qop < 3; qop++)
            round_trip((pl_digest_alg)alg, qop, alg == 1, qop == 1, true);
}

/* Two answers without a given cnonce make two cnonces. */
static void test_random_cnonce(void **state)
{
    (void)state;
    pl_digest_challenge ch = rfc7616_challenge(PL_DIGEST_SHA256, false, 1);
    pl_digest_answer_in in = rfc7616_in(&ch);
    in.cnonce = PL_STR_NULL;
    char a[1024], b[1024];
    size_t al, bl;
    assert_int_equal(pl_digest_answer(&in, a, sizeof(a), &al), PL_OK);
    assert_int_equal(pl_digest_answer(&in, b, sizeof(b), &bl), PL_OK);
    pl_str ca = param_of(a, al, "cnonce"), cb = param_of(b, bl, "cnonce");
    assert_int_equal(ca.len, 16);
    assert_int_equal(cb.len, 16);
    assert_false(pl_str_eq(ca, cb));
    assert_int_equal(al, bl);
    for (size_t i = 0; i < ca.len; i++)
        assert_true((ca.p[i] >= '0' && ca.p[i] <= '9') || (ca.p[i] >= 'a' && ca.p[i] <= 'z') ||
                    (ca.p[i] >= 'A' && ca.p[i] <= 'Z'));
    pl_digest_credentials c;
    assert_int_equal(pl_digest_credentials_parse(&c, (pl_str){a, al}, NULL), PL_OK);
    assert_true(pl_digest_verify(&c, in.method, PL_STR_NULL, in.password, PL_STR_NULL));
}

/* ------------------------------------------------------------------ credentials parsing */

static void test_credentials_bad(void **state)
{
    (void)state;
#define CR_OK_TAIL "realm=\"r\", nonce=\"n\", uri=\"sip:a\", response=\"" R2617_RESPONSE "\""
    pl_digest_credentials c;
    cr_ok(&c, "Digest username=\"u\", " CR_OK_TAIL);
    assert_false(c.qop_auth || c.qop_auth_int);
    assert_int_equal(c.nc, 0);
    assert_int_equal(c.cnonce.len, 0);
    assert_int_equal(c.alg, PL_DIGEST_MD5);

    cr_bad("Digest " CR_OK_TAIL, PL_EPARSE); /* no username */
    cr_bad("Digest username=\"u\", nonce=\"n\", uri=\"sip:a\", response=\"" R2617_RESPONSE "\"",
           PL_EPARSE);
    cr_bad("Digest username=\"u\", realm=\"r\", uri=\"sip:a\", response=\"" R2617_RESPONSE "\"",
           PL_EPARSE);
    cr_bad("Digest username=\"u\", realm=\"r\", nonce=\"n\", response=\"" R2617_RESPONSE "\"",
           PL_EPARSE);
    cr_bad("Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"sip:a\"", PL_EPARSE);
    /* A response of the wrong length or not hex. */
    cr_bad("Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"sip:a\", response=\"abc\"",
           PL_EPARSE);
    cr_bad("Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"sip:a\", algorithm=SHA-256, "
           "response=\"" R2617_RESPONSE "\"",
           PL_EPARSE);
    cr_bad("Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"sip:a\", "
           "response=\"6629fae49393a05397450978507c4efg\"",
           PL_EPARSE);
    /* qop without cnonce or nc; nc not 8 hex digits. */
    cr_bad("Digest username=\"u\", " CR_OK_TAIL ", qop=auth, nc=00000001", PL_EPARSE);
    cr_bad("Digest username=\"u\", " CR_OK_TAIL ", qop=auth, cnonce=\"c\"", PL_EPARSE);
    cr_bad("Digest username=\"u\", " CR_OK_TAIL ", qop=auth, cnonce=\"c\", nc=1", PL_EPARSE);
    cr_bad("Digest username=\"u\", " CR_OK_TAIL ", qop=auth, cnonce=\"c\", nc=0000000x", PL_EPARSE);
    cr_bad("Digest username=\"u\", " CR_OK_TAIL ", qop=auth, cnonce=\"c\", nc=000000001",
           PL_EPARSE);
    /* -sess without cnonce. */
    cr_bad("Digest username=\"u\", " CR_OK_TAIL ", algorithm=MD5-sess", PL_EPARSE);
    /* Duplicates, escapes. */
    cr_bad("Digest username=\"u\", username=\"v\", " CR_OK_TAIL, PL_EPARSE);
    cr_bad("Digest username=\"u\", " CR_OK_TAIL ", Response=\"" R2617_RESPONSE "\"", PL_EPARSE);
    cr_bad("Digest username=\"u\\\\v\", " CR_OK_TAIL, PL_EPARSE);
    /* Not supported: an unknown algorithm or qop, username*. */
    cr_bad("Digest username=\"u\", " CR_OK_TAIL ", algorithm=AKAv1-MD5", PL_ENOTSUP);
    cr_bad("Digest username=\"u\", " CR_OK_TAIL ", qop=auth-conf, cnonce=\"c\", nc=00000001",
           PL_ENOTSUP);
    cr_bad("Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, " CR_OK_TAIL, PL_ENOTSUP);
    /* Not Digest, bad syntax. */
    cr_bad("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", PL_EPARSE);
    cr_bad("Digest username=\"u, " CR_OK_TAIL, PL_EPARSE);
    cr_bad("", PL_EPARSE);
    static char big[2200];
    snprintf(big, sizeof(big), "Digest username=\"%01500d\", " CR_OK_TAIL, 1);
    cr_bad(big, PL_EPARSE);

    /* Unknown parameters are ignored; quoted qop and nc are tolerated. */
    cr_ok(&c, "Digest x=y, username=\"u\", " CR_OK_TAIL
              ", qop=\"auth-int\", nc=\"0000000A\", cnonce=c, userhash=false, algorithm=md5");
    assert_true(c.qop_auth_int);
    assert_int_equal(c.nc, 10);
    assert_str(c.nc_str, "0000000A");
    assert_str(c.cnonce, "c");
    assert_false(c.userhash);
#undef CR_OK_TAIL
}

/* verify refuses what it cannot have parsed. */
static void test_verify_defensive(void **state)
{
    (void)state;
    pl_digest_credentials c;
    cr_ok(&c, R2617_AUTHORIZATION);
    pl_digest_credentials x = c;
    x.alg = PL_DIGEST_ALG_COUNT_;
    assert_false(pl_digest_verify(&x, PL_STR_LIT("GET"), PL_STR_NULL, PL_STR_LIT("Circle Of Life"),
                                  PL_STR_NULL));
    x = c;
    x.response = PL_STR_LIT("6629fae4");
    assert_false(pl_digest_verify(&x, PL_STR_LIT("GET"), PL_STR_NULL, PL_STR_LIT("Circle Of Life"),
                                  PL_STR_NULL));
    x = c;
    x.alg = PL_DIGEST_SHA256; /* a 32-digit response for a 64-digit algorithm */
    assert_false(pl_digest_verify(&x, PL_STR_LIT("GET"), PL_STR_NULL, PL_STR_LIT("Circle Of Life"),
                                  PL_STR_NULL));
    assert_false(pl_digest_verify(NULL, PL_STR_LIT("GET"), PL_STR_NULL,
                                  PL_STR_LIT("Circle Of Life"), PL_STR_NULL));
    /* A bad ha1. */
    assert_false(
        pl_digest_verify(&c, PL_STR_LIT("GET"), PL_STR_NULL, PL_STR_NULL, PL_STR_LIT("not hex")));
}

/* ------------------------------------------------------------------ buffers */

static void test_enospc(void **state)
{
    (void)state;
    pl_digest_challenge ch = rfc7616_challenge(PL_DIGEST_SHA512_256, true, 2);
    pl_digest_answer_in in = rfc7616_in(&ch);
    char big[1024];
    size_t need;
    assert_int_equal(pl_digest_answer(&in, big, sizeof(big), &need), PL_OK);
    assert_true(need > 100);

    /* Too small by one: ENOSPC, the size needed, nothing written past cap. */
    char small[1024];
    memset(small, '#', sizeof(small));
    size_t len = 0;
    assert_int_equal(pl_digest_answer(&in, small, need - 1, &len), PL_ENOSPC);
    assert_int_equal(len, need);
    for (size_t i = need - 1; i < sizeof(small); i++)
        assert_int_equal(small[i], '#');
    /* Exactly enough: no room for the NUL, none written. */
    memset(small, '#', sizeof(small));
    assert_int_equal(pl_digest_answer(&in, small, need, &len), PL_OK);
    assert_int_equal(len, need);
    assert_memory_equal(small, big, need);
    assert_int_equal(small[need], '#');
    /* Nothing at all. */
    assert_int_equal(pl_digest_answer(&in, NULL, 0, &len), PL_ENOSPC);
    assert_int_equal(len, need);
    assert_int_equal(pl_digest_answer(&in, small, 10, &len), PL_ENOSPC);

    /* A random cnonce does not change the length. */
    in.cnonce = PL_STR_NULL;
    pl_digest_answer_in in16 = in;
    in16.cnonce = PL_STR_LIT("0123456789abcdef");
    size_t n16;
    assert_int_equal(pl_digest_answer(&in16, NULL, 0, &n16), PL_ENOSPC);
    char *exact = tu_dup(big, n16);
    assert_int_equal(pl_digest_answer(&in, exact, n16, &len), PL_OK);
    assert_int_equal(len, n16);

    /* Challenge printing. */
    pl_digest_challenge_out co;
    memset(&co, 0, sizeof(co));
    co.realm = PL_STR_LIT("example.com");
    co.nonce = PL_STR_LIT("0123456789");
    co.alg = PL_DIGEST_SHA256;
    co.qop_auth = true;
    co.stale = true;
    co.opaque = PL_STR_LIT("xyz");
    assert_int_equal(pl_digest_challenge_print(&co, big, sizeof(big), &need), PL_OK);
    memset(small, '#', sizeof(small));
    assert_int_equal(pl_digest_challenge_print(&co, small, need - 1, &len), PL_ENOSPC);
    assert_int_equal(len, need);
    assert_int_equal(small[need - 1], '#');
    assert_int_equal(pl_digest_challenge_print(&co, small, need, &len), PL_OK);
    assert_memory_equal(small, big, need);

    /* ha1 and the nonce. */
    char ha1[PL_DIGEST_HEX_SIZE];
    assert_int_equal(
        pl_digest_ha1(PL_DIGEST_MD5, PL_STR_LIT("u"), PL_STR_LIT("r"), PL_STR_LIT("p"), ha1, 32),
        PL_ENOSPC);
    assert_int_equal(
        pl_digest_ha1(PL_DIGEST_MD5, PL_STR_LIT("u"), PL_STR_LIT("r"), PL_STR_LIT("p"), ha1, 33),
        PL_OK);
    assert_int_equal(
        pl_digest_ha1(PL_DIGEST_SHA256, PL_STR_LIT("u"), PL_STR_LIT("r"), PL_STR_LIT("p"), ha1, 64),
        PL_ENOSPC);
    assert_int_equal(pl_digest_ha1(PL_DIGEST_ALG_COUNT_, PL_STR_LIT("u"), PL_STR_LIT("r"),
                                   PL_STR_LIT("p"), ha1, sizeof(ha1)),
                     PL_EINVAL);
    static const uint8_t k[] = {1, 2, 3};
    char nonce[PL_DIGEST_NONCE_LEN + 1];
    memset(nonce, '#', sizeof(nonce));
    assert_int_equal(pl_digest_nonce_make(k, sizeof(k), PL_STR_LIT("r"), 5, nonce,
                                          PL_DIGEST_NONCE_LEN - 1, &len),
                     PL_ENOSPC);
    assert_int_equal(nonce[PL_DIGEST_NONCE_LEN - 1], '#');
    assert_int_equal(
        pl_digest_nonce_make(k, sizeof(k), PL_STR_LIT("r"), 5, nonce, PL_DIGEST_NONCE_LEN, &len),
        PL_OK);
    assert_int_equal(len, PL_DIGEST_NONCE_LEN);
}

/* ------------------------------------------------------------------ nonces */

static void test_nonce(void **state)
{
    (void)state;
    static const uint8_t secret[] = "0123456789abcdef0123456789abcdef";
    static const uint8_t other[] = "0123456789abcdef0123456789abcdeF";
    const size_t sl = sizeof(secret) - 1;
    pl_str realm = PL_STR_LIT("atlanta.com");
    uint64_t t0 = 1700000000123ull;
    char n[PL_DIGEST_NONCE_LEN + 1];
    size_t len;
    assert_int_equal(pl_digest_nonce_make(secret, sl, realm, t0, n, sizeof(n), &len), PL_OK);
    assert_int_equal(len, PL_DIGEST_NONCE_LEN);
    assert_int_equal(strlen(n), PL_DIGEST_NONCE_LEN);
    /* The time is readable in the first 16 digits. */
    assert_memory_equal(n, "0000018bcfe5687b", 16);
    for (size_t i = 0; i < len; i++)
        assert_true((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f'));
    pl_str nonce = {n, len};

    /* Fresh, at the limit, stale. */
    assert_int_equal(pl_digest_nonce_check(secret, sl, realm, nonce, t0, 30000), PL_NONCE_OK);
    assert_int_equal(pl_digest_nonce_check(secret, sl, realm, nonce, t0 + 30000, 30000),
                     PL_NONCE_OK);
    assert_int_equal(pl_digest_nonce_check(secret, sl, realm, nonce, t0 + 30001, 30000),
                     PL_NONCE_STALE);
    /* From the future: a little is clock skew, a lot is stale. */
    assert_int_equal(pl_digest_nonce_check(secret, sl, realm, nonce, t0 - 1000, 30000),
                     PL_NONCE_OK);
    assert_int_equal(pl_digest_nonce_check(secret, sl, realm, nonce, t0 - 30001, 30000),
                     PL_NONCE_STALE);

    /* Wrong realm, wrong secret. */
    assert_int_equal(pl_digest_nonce_check(secret, sl, PL_STR_LIT("atlanta.co"), nonce, t0, 30000),
                     PL_NONCE_BAD);
    assert_int_equal(pl_digest_nonce_check(secret, sl, PL_STR_LIT("Atlanta.com"), nonce, t0, 30000),
                     PL_NONCE_BAD);
    assert_int_equal(pl_digest_nonce_check(other, sl, realm, nonce, t0, 30000), PL_NONCE_BAD);

    /* Forged: each digit changed in turn (a later time, a changed MAC). */
    for (size_t i = 0; i < len; i++) {
        char f[PL_DIGEST_NONCE_LEN];
        memcpy(f, n, len);
        f[i] = f[i] == 'a' ? 'b' : 'a';
        assert_int_equal(pl_digest_nonce_check(secret, sl, realm, (pl_str){f, len}, t0, 30000),
                         PL_NONCE_BAD);
    }
    /* Upper case, short, long, empty, garbage. */
    char u[PL_DIGEST_NONCE_LEN];
    memcpy(u, n, len);
    for (size_t i = 0; i < len; i++)
        if (u[i] >= 'a' && u[i] <= 'f')
            u[i] = (char)(u[i] - 32);
    if (memcmp(u, n, len) != 0)
        assert_int_equal(pl_digest_nonce_check(secret, sl, realm, (pl_str){u, len}, t0, 30000),
                         PL_NONCE_BAD);
    assert_int_equal(pl_digest_nonce_check(secret, sl, realm, (pl_str){n, len - 1}, t0, 30000),
                     PL_NONCE_BAD);
    char longer[PL_DIGEST_NONCE_LEN + 1];
    memcpy(longer, n, len);
    longer[len] = '0';
    assert_int_equal(pl_digest_nonce_check(secret, sl, realm, (pl_str){longer, len + 1}, t0, 30000),
                     PL_NONCE_BAD);
    assert_int_equal(pl_digest_nonce_check(secret, sl, realm, PL_STR_NULL, t0, 30000),
                     PL_NONCE_BAD);
    assert_int_equal(pl_digest_nonce_check(
                         secret, sl, realm,
                         PL_STR_LIT("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"), t0, 30000),
                     PL_NONCE_BAD);

    /* Two times, two nonces; two realms, two nonces. */
    char n2[PL_DIGEST_NONCE_LEN + 1], n3[PL_DIGEST_NONCE_LEN + 1];
    assert_int_equal(pl_digest_nonce_make(secret, sl, realm, t0 + 1, n2, sizeof(n2), &len), PL_OK);
    assert_int_equal(
        pl_digest_nonce_make(secret, sl, PL_STR_LIT("b.com"), t0, n3, sizeof(n3), &len), PL_OK);
    assert_memory_not_equal(n, n2, PL_DIGEST_NONCE_LEN);
    assert_memory_not_equal(n + 16, n3 + 16, PL_DIGEST_NONCE_LEN - 16);
    assert_int_equal(pl_digest_nonce_check(secret, sl, PL_STR_LIT("b.com"),
                                           (pl_str){n3, PL_DIGEST_NONCE_LEN}, t0, 0),
                     PL_NONCE_OK);

    /* No secret. */
    assert_int_equal(pl_digest_nonce_make(secret, 0, realm, t0, n, sizeof(n), &len), PL_EINVAL);
    assert_int_equal(pl_digest_nonce_make(NULL, 5, realm, t0, n, sizeof(n), &len), PL_EINVAL);
    assert_int_equal(pl_digest_nonce_check(secret, 0, realm, nonce, t0, 30000), PL_NONCE_BAD);
}

/* The MAC is HMAC-SHA256 as documented: checked against openssl's
 *   printf '%s' '00000000000003e8example.com' |
 *       openssl dgst -sha256 -mac HMAC -macopt key:k3y | cut -c1-32   */
static void test_nonce_hmac(void **state)
{
    (void)state;
    static const uint8_t key[] = "k3y";
    char n[PL_DIGEST_NONCE_LEN + 1];
    size_t len;
    assert_int_equal(
        pl_digest_nonce_make(key, 3, PL_STR_LIT("example.com"), 1000, n, sizeof(n), &len), PL_OK);
    assert_string_equal(n, "00000000000003e8"
                           "26b1785bcd4d0f279acc32c4ae85412a");
    assert_int_equal(
        pl_digest_nonce_check(key, 3, PL_STR_LIT("example.com"), (pl_str){n, len}, 1000, 0),
        PL_NONCE_OK);
}

#define T(f) cmocka_unit_test_teardown(f, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_alg_names),
        T(test_rfc7616_md5),
        T(test_rfc7616_sha256),
        T(test_rfc7616_verify),
        T(test_rfc2617_example),
        T(test_sha512_256_userhash),
        T(test_openssl_vectors),
        T(test_challenge_compact),
        T(test_challenge_whitespace),
        T(test_challenge_values),
        T(test_challenge_qop_lists),
        T(test_challenge_unknown_params),
        T(test_challenge_unknown_algorithm),
        T(test_challenge_missing),
        T(test_challenge_long_values),
        T(test_challenge_bad_syntax),
        T(test_challenge_print),
        T(test_answer_qop_choice),
        T(test_answer_format),
        T(test_answer_einval),
        T(test_ha1_equals_password),
        T(test_round_trips),
        T(test_round_trips_userhash),
        T(test_random_cnonce),
        T(test_credentials_bad),
        T(test_verify_defensive),
        T(test_enospc),
        T(test_nonce),
        T(test_nonce_hmac),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
