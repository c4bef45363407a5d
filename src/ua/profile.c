/*
 * profile.c - user and master profiles: an identity, credentials and
 * capabilities, with fall-back to the parent for whatever a profile leaves
 * unset, and a small "key = value" file format for the command line tools.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ua_int.h"

#define DEFAULT_ANSWER_CODE 480
#define DEFAULT_ANSWER_MS   16000u

pl_ua_profile *pl_ua_profile_new(const pl_ua_profile *parent)
{
    pl_ua_profile *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->parent = parent;
    p->follow_redirects = -1;
    p->check_ctype = -1;
    return p;
}

static void list_free(ua_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

void pl_ua_profile_free(pl_ua_profile *p)
{
    if (!p)
        return;
    free(p->aor);
    free(p->display);
    free(p->outbound_proxy);
    free(p->user_agent);
    list_free(&p->routes);
    list_free(&p->methods);
    list_free(&p->tags);
    list_free(&p->mimes);
    list_free(&p->encodings);
    list_free(&p->languages);
    for (size_t i = 0; i < p->ncreds; i++) {
        free(p->creds[i].realm);
        free(p->creds[i].user);
        free(p->creds[i].password);
        free(p->creds[i].ha1);
    }
    free(p->creds);
    free(p);
}

/* A value fit for a header: no CR, LF or NUL, not empty. */
static bool text_ok(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (*s == '\r' || *s == '\n')
            return false;
    return true;
}

static int set_str(char **dst, const char *s)
{
    if (!text_ok(s))
        return PL_EINVAL;
    char *d = strdup(s);
    if (!d)
        return PL_ENOMEM;
    free(*dst);
    *dst = d;
    return PL_OK;
}

static int list_add(ua_list *l, const char *s)
{
    if (!text_ok(s) || strchr(s, ','))
        return PL_EINVAL;
    char **v = realloc(l->v, (l->n + 1) * sizeof(*v));
    if (!v)
        return PL_ENOMEM;
    l->v = v;
    if (!(v[l->n] = strdup(s)))
        return PL_ENOMEM;
    l->n++;
    l->set = true;
    return PL_OK;
}

static bool uri_ok(const char *s)
{
    pl_uri u;
    return text_ok(s) && pl_uri_parse(&u, pl_str_c(s), NULL) == PL_OK &&
           (u.scheme == PL_URI_SIP || u.scheme == PL_URI_SIPS || u.scheme == PL_URI_TEL);
}

int pl_ua_profile_set_aor(pl_ua_profile *p, const char *uri)
{
    return uri_ok(uri) ? set_str(&p->aor, uri) : PL_EINVAL;
}

int pl_ua_profile_set_display_name(pl_ua_profile *p, const char *name)
{
    if (name && strchr(name, '"'))
        return PL_EINVAL;
    return set_str(&p->display, name);
}

static int cred_add(pl_ua_profile *p, const char *realm, const char *user, const char *pw,
                    const char *ha1, pl_digest_alg alg)
{
    if (!text_ok(user) || (realm && !text_ok(realm)))
        return PL_EINVAL;
    ua_cred *v = realloc(p->creds, (p->ncreds + 1) * sizeof(*v));
    if (!v)
        return PL_ENOMEM;
    p->creds = v;
    ua_cred *c = &v[p->ncreds];
    memset(c, 0, sizeof(*c));
    c->alg = alg;
    bool wild = !realm || strcmp(realm, "*") == 0;
    c->realm = wild ? NULL : strdup(realm);
    c->user = strdup(user);
    c->password = pw ? strdup(pw) : NULL;
    c->ha1 = ha1 ? strdup(ha1) : NULL;
    if ((!wild && !c->realm) || !c->user || (pw && !c->password) || (ha1 && !c->ha1)) {
        free(c->realm);
        free(c->user);
        free(c->password);
        free(c->ha1);
        return PL_ENOMEM;
    }
    p->ncreds++;
    return PL_OK;
}

int pl_ua_profile_add_credential(pl_ua_profile *p, const char *realm, const char *user,
                                 const char *password)
{
    if (!password)
        return PL_EINVAL;
    return cred_add(p, realm, user, password, NULL, PL_DIGEST_MD5);
}

int pl_ua_profile_add_credential_ha1(pl_ua_profile *p, const char *realm, const char *user,
                                     pl_digest_alg alg, const char *ha1)
{
    size_t want = alg == PL_DIGEST_MD5 ? 32 : 64;
    if (!ha1 || strlen(ha1) != want || alg >= PL_DIGEST_ALG_COUNT_)
        return PL_EINVAL;
    for (const char *s = ha1; *s; s++)
        if (!isxdigit((unsigned char)*s))
            return PL_EINVAL;
    return cred_add(p, realm, user, NULL, ha1, alg);
}

int pl_ua_profile_set_outbound_proxy(pl_ua_profile *p, const char *uri)
{
    return uri_ok(uri) ? set_str(&p->outbound_proxy, uri) : PL_EINVAL;
}

int pl_ua_profile_add_route(pl_ua_profile *p, const char *uri)
{
    return uri_ok(uri) ? list_add(&p->routes, uri) : PL_EINVAL;
}

int pl_ua_profile_set_user_agent(pl_ua_profile *p, const char *text)
{
    return set_str(&p->user_agent, text);
}

static bool token_ok(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-.!%*_+`'~", *s))
            return false;
    return true;
}

int pl_ua_profile_add_method(pl_ua_profile *p, const char *method)
{
    return token_ok(method) ? list_add(&p->methods, method) : PL_EINVAL;
}

int pl_ua_profile_add_option_tag(pl_ua_profile *p, const char *tag)
{
    return token_ok(tag) ? list_add(&p->tags, tag) : PL_EINVAL;
}

int pl_ua_profile_add_mime_type(pl_ua_profile *p, const char *type)
{
    return list_add(&p->mimes, type);
}

int pl_ua_profile_add_encoding(pl_ua_profile *p, const char *encoding)
{
    return token_ok(encoding) ? list_add(&p->encodings, encoding) : PL_EINVAL;
}

int pl_ua_profile_add_language(pl_ua_profile *p, const char *language)
{
    return token_ok(language) ? list_add(&p->languages, language) : PL_EINVAL;
}

int pl_ua_profile_set_check_content_type(pl_ua_profile *p, bool on)
{
    p->check_ctype = on;
    return PL_OK;
}

int pl_ua_profile_set_default_answer(pl_ua_profile *p, uint16_t code, uint32_t after_ms)
{
    if (code < 200 || code > 699 || after_ms == 0)
        return PL_EINVAL;
    p->default_code = code;
    p->default_after_ms = after_ms;
    return PL_OK;
}

int pl_ua_profile_set_follow_redirects(pl_ua_profile *p, bool on)
{
    p->follow_redirects = on;
    return PL_OK;
}

/* ---- the fall-back chain */

#define PROF_STR(fn, field)                                                                        \
    const char *fn(const pl_ua_profile *p)                                                         \
    {                                                                                              \
        for (; p; p = p->parent)                                                                   \
            if (p->field)                                                                          \
                return p->field;                                                                   \
        return NULL;                                                                               \
    }
#define PROF_LIST(fn, field)                                                                       \
    const ua_list *fn(const pl_ua_profile *p)                                                      \
    {                                                                                              \
        static const ua_list empty = {NULL, 0, false};                                             \
        for (; p; p = p->parent)                                                                   \
            if (p->field.set)                                                                      \
                return &p->field;                                                                  \
        return &empty;                                                                             \
    }

PROF_STR(pl__ua_prof_aor, aor)
PROF_STR(pl__ua_prof_display, display)
PROF_STR(pl__ua_prof_outbound, outbound_proxy)
PROF_STR(pl__ua_prof_user_agent, user_agent)
PROF_LIST(pl__ua_prof_routes, routes)
PROF_LIST(pl__ua_prof_methods, methods)
PROF_LIST(pl__ua_prof_tags, tags)
PROF_LIST(pl__ua_prof_mimes, mimes)
PROF_LIST(pl__ua_prof_encodings, encodings)
PROF_LIST(pl__ua_prof_languages, languages)

const ua_cred *pl__ua_prof_cred(const pl_ua_profile *p, pl_str realm)
{
    for (const pl_ua_profile *q = p; q; q = q->parent)
        for (size_t i = 0; i < q->ncreds; i++)
            if (q->creds[i].realm && pl_str_eq(pl_str_c(q->creds[i].realm), realm))
                return &q->creds[i];
    for (const pl_ua_profile *q = p; q; q = q->parent)
        for (size_t i = 0; i < q->ncreds; i++)
            if (!q->creds[i].realm)
                return &q->creds[i];
    return NULL;
}

const char *pl_ua_profile_aor(const pl_ua_profile *p)
{
    return pl__ua_prof_aor(p);
}

void pl__ua_prof_default_answer(const pl_ua_profile *p, uint16_t *code, uint32_t *after_ms)
{
    for (; p; p = p->parent)
        if (p->default_code) {
            *code = p->default_code;
            *after_ms = p->default_after_ms;
            return;
        }
    *code = DEFAULT_ANSWER_CODE;
    *after_ms = DEFAULT_ANSWER_MS;
}

bool pl__ua_prof_follow(const pl_ua_profile *p)
{
    for (; p; p = p->parent)
        if (p->follow_redirects >= 0)
            return p->follow_redirects;
    return false;
}

bool pl__ua_prof_check_ctype(const pl_ua_profile *p)
{
    for (; p; p = p->parent)
        if (p->check_ctype >= 0)
            return p->check_ctype;
    return false;
}

bool pl__ua_list_join(const ua_list *l, char *out, size_t cap, size_t *len)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) {
        size_t k = strlen(l->v[i]);
        if (n + k + 2 >= cap)
            return false;
        if (i) {
            memcpy(out + n, ", ", 2);
            n += 2;
        }
        memcpy(out + n, l->v[i], k);
        n += k;
    }
    *len = n;
    return true;
}

/* ---- the file format */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

typedef struct load_state {
    char user[256], password[256], realm[256];
} load_state;

static int load_kv(pl_ua_profile *p, load_state *st, const char *k, char *v)
{
    if (strcmp(k, "aor") == 0)
        return pl_ua_profile_set_aor(p, v);
    if (strcmp(k, "display_name") == 0)
        return pl_ua_profile_set_display_name(p, v);
    if (strcmp(k, "outbound_proxy") == 0)
        return pl_ua_profile_set_outbound_proxy(p, v);
    if (strcmp(k, "route") == 0)
        return pl_ua_profile_add_route(p, v);
    if (strcmp(k, "user_agent") == 0)
        return pl_ua_profile_set_user_agent(p, v);
    if (strcmp(k, "method") == 0)
        return pl_ua_profile_add_method(p, v);
    if (strcmp(k, "option_tag") == 0)
        return pl_ua_profile_add_option_tag(p, v);
    if (strcmp(k, "mime_type") == 0)
        return pl_ua_profile_add_mime_type(p, v);
    if (strcmp(k, "encoding") == 0)
        return pl_ua_profile_add_encoding(p, v);
    if (strcmp(k, "language") == 0)
        return pl_ua_profile_add_language(p, v);
    if (strcmp(k, "follow_redirects") == 0) {
        bool yes = strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
        bool no = strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "0") == 0;
        return yes || no ? pl_ua_profile_set_follow_redirects(p, yes) : PL_EINVAL;
    }
    if (strcmp(k, "default_answer") == 0) {
        char *end;
        unsigned long code = strtoul(v, &end, 10);
        unsigned long ms = *trim(end) ? strtoul(end, &end, 10) : DEFAULT_ANSWER_MS;
        if (*trim(end) || code > 699 || ms > UINT32_MAX)
            return PL_EINVAL;
        return pl_ua_profile_set_default_answer(p, (uint16_t)code, (uint32_t)ms);
    }
    char *dst = strcmp(k, "user") == 0       ? st->user
                : strcmp(k, "password") == 0 ? st->password
                : strcmp(k, "realm") == 0    ? st->realm
                                             : NULL;
    if (!dst)
        return PL_ENOTFOUND;
    if (strlen(v) >= sizeof(st->user))
        return PL_EINVAL;
    strcpy(dst, v);
    return PL_OK;
}

int pl_ua_profile_load(pl_ua_profile *p, const char *path, pl_error *err)
{
    FILE *f = fopen(path, "r");
    pl_error dummy;
    if (!err)
        err = &dummy;
    err->code = PL_OK;
    err->offset = 0;
    err->reason = NULL;
    if (!f) {
        err->code = PL_ENOTFOUND;
        err->reason = "cannot open the profile file";
        return PL_ENOTFOUND;
    }
    load_state st = {{0}, {0}, {0}};
    char line[1024];
    size_t lineno = 0;
    int rc = PL_OK;
    while (rc == PL_OK && fgets(line, sizeof(line), f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = PL_EPARSE;
            err->reason = "expected 'key = value'";
            break;
        }
        *eq = '\0';
        int r = load_kv(p, &st, trim(s), trim(eq + 1));
        if (r == PL_ENOTFOUND) {
            rc = PL_EPARSE;
            err->reason = "unknown key";
        } else if (r != PL_OK) {
            rc = PL_EPARSE;
            err->reason = "bad value";
        }
    }
    fclose(f);
    if (rc == PL_OK && st.user[0] && st.password[0])
        rc = pl_ua_profile_add_credential(p, st.realm[0] ? st.realm : NULL, st.user, st.password);
    else if (rc == PL_OK && (st.user[0] || st.password[0])) {
        rc = PL_EPARSE;
        err->reason = "user and password go together";
    }
    if (rc != PL_OK) {
        err->code = rc;
        err->offset = lineno;
    }
    return rc;
}
