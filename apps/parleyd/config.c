/*
 * config.c - parleyd's configuration: one table of keys drives the file
 * reader, the command line's overrides and the printout, so that the
 * three can never disagree about a name, a unit or a range.
 *
 * The file is "key = value" lines; '#' starts a comment at the start of a
 * line or after a blank; a value may be put in double quotes (to keep a
 * '#' or blanks). Every error names the file and the line.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <parley/dialog.h>
#include <parley/net.h>

typedef enum key_type {
    K_LISTEN,
    K_ALIAS,
    K_UINT,     /* a count or seconds, plain digits */
    K_DURATION, /* milliseconds, or with a unit: ms, s, m, h */
    K_BOOL,
    K_LOGLEVEL,
    K_PATH_FILE, /* relative to the configuration file's folder */
    K_PATH_CWD,  /* relative to the working directory */
    K_STRING,
} key_type;

typedef struct key_def {
    const char *name;
    key_type type;
    size_t off;
    uint32_t min, max;
} key_def;

#define OFF(f) offsetof(pd_config, f)

static const key_def KEYS[] = {
    {"listen", K_LISTEN, 0, 0, 0},
    {"workers", K_UINT, OFF(workers), 0, 256},
    {"script", K_PATH_FILE, OFF(script), 0, 0},
    {"state_dir", K_PATH_CWD, OFF(state_dir), 0, 0},
    {"log_level", K_LOGLEVEL, 0, 0, 0},
    {"t1", K_DURATION, OFF(t1), 1, 60000},
    {"t2", K_DURATION, OFF(t2), 1, 600000},
    {"t4", K_DURATION, OFF(t4), 1, 600000},
    {"timer_c", K_DURATION, OFF(timer_c), 1000, 86400000},
    {"max_message_size", K_UINT, OFF(max_message_size), 1024, 1u << 24},
    {"udp_buffer", K_UINT, OFF(udp_buffer), 0, 1u << 30},
    {"max_connections", K_UINT, OFF(max_connections), 1, 1000000},
    {"max_connections_per_ip", K_UINT, OFF(max_connections_per_ip), 1, 1000000},
    {"tcp_idle", K_DURATION, OFF(tcp_idle), 1000, 86400000},
    {"min_expires", K_UINT, OFF(min_expires), 1, 86400 * 365},
    {"max_expires", K_UINT, OFF(max_expires), 1, 86400 * 365},
    {"default_expires", K_UINT, OFF(default_expires), 1, 86400 * 365},
    {"max_contacts", K_UINT, OFF(max_contacts), 1, 1024},
    {"alias", K_ALIAS, 0, 0, 0},
    {"loop_detect", K_BOOL, OFF(loop_detect), 0, 0},
    {"server_header", K_STRING, OFF(server_header), 0, sizeof(((pd_config *)0)->server_header)},
    {"tls_cert", K_PATH_FILE, OFF(tls_cert), 0, 0},
    {"tls_key", K_PATH_FILE, OFF(tls_key), 0, 0},
    {"tls_ca", K_PATH_FILE, OFF(tls_ca), 0, 0},
    {"dialogs", K_BOOL, OFF(dialogs), 0, 0},
    {"dialog_lifetime", K_DURATION, OFF(dialog_lifetime), 1000, 30u * 86400000u},
    {"dialog_ping_interval", K_DURATION, OFF(dialog_ping_interval), 1000, 86400000},
    {"dialog_early_timeout", K_DURATION, OFF(dialog_early_timeout), 1000, 86400000},
    {"dialog_noack_timeout", K_DURATION, OFF(dialog_noack_timeout), 1000, 86400000},
    {"dialog_delete_delay", K_DURATION, OFF(dialog_delete_delay), 0, 86400000},
    {"dialog_match", K_STRING, OFF(dialog_match), 0, sizeof(((pd_config *)0)->dialog_match)},
    {"dialog_rr_param", K_STRING, OFF(dialog_rr_param), 0,
     sizeof(((pd_config *)0)->dialog_rr_param)},
    {"dialog_max", K_UINT, OFF(dialog_max), 0, 100000000},
    {"profiles_with_value", K_STRING, OFF(profiles_with_value), 0,
     sizeof(((pd_config *)0)->profiles_with_value)},
    {"profiles_no_value", K_STRING, OFF(profiles_no_value), 0,
     sizeof(((pd_config *)0)->profiles_no_value)},
    {"caller_limit", K_UINT, OFF(caller_limit), 0, 1000000},
    {"store", K_STRING, OFF(store), 0, sizeof(((pd_config *)0)->store)},
    {"store_mode", K_STRING, OFF(store_mode), 0, sizeof(((pd_config *)0)->store_mode)},
    {"store_flush", K_DURATION, OFF(store_flush), 1000, 86400000},
    {"mgmt", K_STRING, OFF(mgmt), 0, sizeof(((pd_config *)0)->mgmt)},
    {"mgmt_token", K_STRING, OFF(mgmt_token), 0, sizeof(((pd_config *)0)->mgmt_token)},
};

#define NKEYS (sizeof(KEYS) / sizeof(KEYS[0]))

static int fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -1;
}

void pd_config_defaults(pd_config *c, const char *script)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->listen[0], PD_ADDR_MAX, "udp:127.0.0.1:5060");
    snprintf(c->listen[1], PD_ADDR_MAX, "tcp:127.0.0.1:5060");
    c->n_listen = 2;
    c->workers = 0;
    snprintf(c->script, sizeof(c->script), "%s", script);
    snprintf(c->state_dir, sizeof(c->state_dir), "parleyd-state");
    c->log_level = PL_PROXY_LOG_INFO;
    c->t1 = 500;
    c->t2 = 4000;
    c->t4 = 5000;
    c->timer_c = 180000;
    c->max_message_size = 65535;
    c->udp_buffer = 8u << 20;
    c->max_connections = 2048;
    c->max_connections_per_ip = 256;
    c->tcp_idle = 120000;
    c->min_expires = 60;
    c->max_expires = 86400;
    c->default_expires = 3600;
    c->max_contacts = 16;
    c->loop_detect = false;
    snprintf(c->server_header, sizeof(c->server_header), "parleyd/" PARLEYD_VERSION);
    c->dialogs = true;
    c->dialog_lifetime = 12u * 3600000u;
    c->dialog_ping_interval = 30000;
    c->dialog_early_timeout = 300000;
    c->dialog_noack_timeout = 60000;
    c->dialog_delete_delay = 0;
    snprintf(c->dialog_match, sizeof(c->dialog_match), "did-fallback");
    snprintf(c->dialog_rr_param, sizeof(c->dialog_rr_param), "did");
    c->dialog_max = 0;
    snprintf(c->profiles_with_value, sizeof(c->profiles_with_value), "caller");
    c->profiles_no_value[0] = '\0';
    c->caller_limit = 10;
    c->store[0] = '\0';
    snprintf(c->store_mode, sizeof(c->store_mode), "realtime");
    c->store_flush = 60000;
    snprintf(c->mgmt, sizeof(c->mgmt), "127.0.0.1:8080");
    c->mgmt_token[0] = '\0';
}

void pd_config_store_url(const pd_config *c, char *out, size_t cap)
{
    if (c->store[0])
        snprintf(out, cap, "%s", c->store);
    else
        snprintf(out, cap, "sqlite:%s/parley.db", c->state_dir);
}

int pd_config_match_mode(const pd_config *c)
{
    if (strcmp(c->dialog_match, "did-fallback") == 0)
        return PL_DLG_MATCH_DID_FALLBACK;
    if (strcmp(c->dialog_match, "did-only") == 0)
        return PL_DLG_MATCH_DID_ONLY;
    if (strcmp(c->dialog_match, "sip-only") == 0)
        return PL_DLG_MATCH_SIP_ONLY;
    return -1;
}

/* "a;b" of letters, digits, '_' and '-': a profile list. */
static bool profile_list_ok(const char *s)
{
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '-' || *s == ';' || *s == ' '))
            return false;
    return true;
}

static const char *LEVELS[] = {"?", "error", "warn", "info", "debug"};

pl_proxy_log_level pd_log_level_parse(const char *s)
{
    for (int i = PL_PROXY_LOG_ERROR; i <= PL_PROXY_LOG_DEBUG; i++)
        if (strcmp(s, LEVELS[i]) == 0)
            return (pl_proxy_log_level)i;
    return (pl_proxy_log_level)0;
}

const char *pd_log_level_name(pl_proxy_log_level l)
{
    return l >= PL_PROXY_LOG_ERROR && l <= PL_PROXY_LOG_DEBUG ? LEVELS[l] : "?";
}

/* "500", "500ms", "4s", "3m", "1h" -> milliseconds. */
static int parse_duration(const char *v, uint64_t *ms)
{
    size_t n = 0;
    while (isdigit((unsigned char)v[n]))
        n++;
    static const struct {
        const char *unit;
        uint64_t mul;
    } units[] = {{"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    uint64_t x;
    if (n == 0 || pl_str_to_u64((pl_str){v, n}, UINT32_MAX, &x) != PL_OK)
        return -1;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(v + n, units[i].unit) == 0) {
            *ms = x * units[i].mul;
            return 0;
        }
    }
    return -1;
}

static int parse_bool(const char *v, bool *out)
{
    static const char *yes[] = {"yes", "true", "on", "1"}, *no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* "udp:IP:PORT", "tcp:[IPv6]:PORT", "tls:IP:PORT"; port 0 asks the kernel for one. */
static int check_listen(const char *v, char *err, size_t cap)
{
    char buf[PD_ADDR_MAX];
    size_t n = strlen(v);
    if (n >= sizeof(buf))
        return fail(err, cap, "listen address too long");
    memcpy(buf, v, n + 1);
    /* pl_target_parse refuses port 0, which pl_net_listen accepts. */
    if (n > 2 && strcmp(buf + n - 2, ":0") == 0)
        buf[n - 1] = '1';
    pl_target t;
    if (pl_target_parse(&t, buf) != PL_OK ||
        (t.transport != PL_TP_UDP && t.transport != PL_TP_TCP && t.transport != PL_TP_TLS))
        return fail(err, cap,
                    "bad listen address '%s' (want udp:IP:PORT, tcp:IP:PORT or tls:IP:PORT, "
                    "a numeric IP, IPv6 in brackets)",
                    v);
    return 0;
}

static int set_path(char *dst, const char *v, const char *base, char *err, size_t cap)
{
    int n;
    if (!v[0] || v[0] == '/' || !base)
        n = snprintf(dst, PATH_MAX, "%s", v);
    else
        n = snprintf(dst, PATH_MAX, "%s/%s", base, v);
    if (n < 0 || n >= PATH_MAX)
        return fail(err, cap, "path too long");
    return 0;
}

int pd_config_set(pd_config *c, const char *key, const char *value, const char *base, bool append,
                  char *err, size_t errcap)
{
    const key_def *k = NULL;
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(KEYS[i].name, key) == 0)
            k = &KEYS[i];
    if (!k)
        return fail(err, errcap, "unknown key '%s'", key);
    char *field = (char *)c + k->off;
    switch (k->type) {
    case K_LISTEN:
        if (check_listen(value, err, errcap) != 0)
            return -1;
        if (!append)
            c->n_listen = 0;
        if (c->n_listen == PD_MAX_LISTEN)
            return fail(err, errcap, "more than %d listen addresses", PD_MAX_LISTEN);
        snprintf(c->listen[c->n_listen++], PD_ADDR_MAX, "%s", value);
        return 0;
    case K_ALIAS:
        if (!value[0] || strlen(value) >= sizeof(c->alias[0]) || strpbrk(value, " \t;<>"))
            return fail(err, errcap, "bad alias '%s' (want a host or host:port, at most %zu bytes)",
                        value, sizeof(c->alias[0]) - 1);
        if (!append)
            c->n_alias = 0;
        if (c->n_alias == PL_PROXY_MAX_ALIASES)
            return fail(err, errcap, "more than %d aliases", PL_PROXY_MAX_ALIASES);
        snprintf(c->alias[c->n_alias++], sizeof(c->alias[0]), "%s", value);
        return 0;
    case K_UINT:
    case K_DURATION: {
        uint64_t x;
        int rc = k->type == K_UINT
                     ? (pl_str_to_u64(pl_str_c(value), UINT32_MAX, &x) == PL_OK ? 0 : -1)
                     : parse_duration(value, &x);
        if (rc != 0)
            return fail(err, errcap, "bad value '%s' for %s (want %s)", value, key,
                        k->type == K_UINT ? "a whole number" : "a duration: 500ms, 4s, 3m, 1h");
        if (x < k->min || x > k->max)
            return fail(err, errcap, "%s = %s is out of range (%u to %u%s)", key, value, k->min,
                        k->max, k->type == K_DURATION ? " ms" : "");
        *(uint32_t *)(void *)field = (uint32_t)x;
        return 0;
    }
    case K_BOOL:
        if (parse_bool(value, (bool *)field) != 0)
            return fail(err, errcap, "bad value '%s' for %s (want yes or no)", value, key);
        return 0;
    case K_LOGLEVEL: {
        pl_proxy_log_level l = pd_log_level_parse(value);
        if (!l)
            return fail(err, errcap, "bad log level '%s' (want error, warn, info or debug)", value);
        c->log_level = l;
        return 0;
    }
    case K_PATH_FILE:
    case K_PATH_CWD:
        if (set_path(field, value, k->type == K_PATH_FILE ? base : NULL, err, errcap) != 0)
            return -1;
        if ((field == c->script || field == c->state_dir) && !value[0])
            return fail(err, errcap, "%s must not be empty", key);
        return 0;
    case K_STRING:
        if (strlen(value) >= k->max || strpbrk(value, "\r\n"))
            return fail(err, errcap, "bad value for %s (at most %u bytes, one line)", key,
                        k->max - 1);
        snprintf(field, k->max, "%s", value);
        return 0;
    }
    return fail(err, errcap, "internal error");
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* Cut a comment: '#' at the start or after a blank, outside double quotes. */
static void cut_comment(char *s)
{
    bool quoted = false;
    for (char *p = s; *p; p++) {
        if (*p == '"')
            quoted = !quoted;
        else if (*p == '#' && !quoted && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            return;
        }
    }
}

int pd_config_load(pd_config *c, const char *path, char *err, size_t errcap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return fail(err, errcap, "%s: cannot read: %s", path, strerror(errno));
    /* Paths in the file are taken from its folder, made absolute, so that
     * they mean the same whatever the working directory. */
    char base[PATH_MAX];
    if (!realpath(path, base))
        snprintf(base, sizeof(base), "%s", path);
    char *slash = strrchr(base, '/');
    if (slash == base)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(base, sizeof(base), ".");
    char line[4096], why[512];
    bool seen_listen = false, seen_alias = false;
    int rc = 0;
    for (unsigned lineno = 1; rc == 0 && fgets(line, sizeof(line), f); lineno++) {
        if (!strchr(line, '\n') && !feof(f)) {
            rc = fail(err, errcap, "%s:%u: line too long", path, lineno);
            break;
        }
        cut_comment(line);
        char *s = trim(line);
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = fail(err, errcap, "%s:%u: expected 'key = value'", path, lineno);
            break;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        size_t vn = strlen(value);
        if (vn >= 2 && value[0] == '"' && value[vn - 1] == '"') {
            value[vn - 1] = '\0';
            value++;
        } else if (strchr(value, '"')) {
            rc = fail(err, errcap, "%s:%u: unbalanced quote", path, lineno);
            break;
        }
        bool append = false;
        if (strcmp(key, "listen") == 0) {
            append = seen_listen;
            seen_listen = true;
        } else if (strcmp(key, "alias") == 0) {
            append = seen_alias;
            seen_alias = true;
        }
        if (pd_config_set(c, key, value, base, append, why, sizeof(why)) != 0)
            rc = fail(err, errcap, "%s:%u: %s", path, lineno, why);
    }
    fclose(f);
    return rc;
}

int pd_config_check(const pd_config *c, char *err, size_t errcap)
{
    if (c->n_listen == 0)
        return fail(err, errcap, "no listen address");
    if (c->min_expires > c->default_expires || c->default_expires > c->max_expires)
        return fail(err, errcap,
                    "want min_expires <= default_expires <= max_expires (have %u, %u, %u)",
                    c->min_expires, c->default_expires, c->max_expires);
    if (c->t1 > c->t2)
        return fail(err, errcap, "t1 (%u ms) is longer than t2 (%u ms)", c->t1, c->t2);
    bool tls = false;
    for (size_t i = 0; i < c->n_listen; i++)
        tls |= strncmp(c->listen[i], "tls:", 4) == 0;
    if (tls && (!c->tls_cert[0] || !c->tls_key[0]))
        return fail(err, errcap, "a tls: listen address needs tls_cert and tls_key");
    if ((c->tls_cert[0] != 0) != (c->tls_key[0] != 0))
        return fail(err, errcap, "tls_cert and tls_key go together");
    for (size_t i = 0; i < c->n_listen; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->listen[i], c->listen[j]) == 0)
                return fail(err, errcap, "listen address %s given twice", c->listen[i]);
    if (pd_config_match_mode(c) < 0)
        return fail(err, errcap, "dialog_match is did-fallback, did-only or sip-only, not \"%s\"",
                    c->dialog_match);
    if (!c->dialog_rr_param[0] || !profile_list_ok(c->dialog_rr_param) ||
        strchr(c->dialog_rr_param, ';') || strchr(c->dialog_rr_param, ' '))
        return fail(err, errcap, "dialog_rr_param must be a token (letters, digits, _ and -)");
    static const char *const modes[] = {"none", "realtime", "delayed", "shutdown"};
    bool mode_ok = false;
    for (size_t i = 0; i < 4; i++)
        mode_ok |= strcmp(c->store_mode, modes[i]) == 0;
    if (!mode_ok)
        return fail(err, errcap, "store_mode is none, realtime, delayed or shutdown, not \"%s\"",
                    c->store_mode);
    if (c->store[0] && strcmp(c->store, "none") != 0 && strncmp(c->store, "sqlite:", 7) != 0 &&
        strncmp(c->store, "postgresql://", 13) != 0 && strncmp(c->store, "postgres://", 11) != 0)
        return fail(err, errcap,
                    "store is a URL: sqlite:PATH, sqlite:///ABSOLUTE/PATH, postgresql://..., or "
                    "none");
    if (strcmp(c->mgmt, "off") != 0 && c->mgmt[0]) {
        /* A numeric address (the management server binds it as given). */
        const char *colon = strrchr(c->mgmt, ':');
        char host[INET6_ADDRSTRLEN + 2] = "";
        unsigned char a[sizeof(struct in6_addr)];
        size_t hl = colon ? (size_t)(colon - c->mgmt) : 0;
        bool ok = colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1) &&
                  hl > 0 && hl < sizeof(host);
        if (ok) {
            memcpy(host, c->mgmt, hl);
            host[hl] = '\0';
            if (host[0] == '[' && host[hl - 1] == ']') {
                host[hl - 1] = '\0';
                ok = inet_pton(AF_INET6, host + 1, a) == 1;
            } else {
                ok = inet_pton(AF_INET, host, a) == 1;
            }
        }
        if (!ok)
            return fail(err, errcap,
                        "mgmt is a numeric IP:PORT (\"127.0.0.1:8080\", \"[::1]:8080\") or off, "
                        "not \"%s\"",
                        c->mgmt);
    }
    if (!profile_list_ok(c->profiles_with_value) || !profile_list_ok(c->profiles_no_value))
        return fail(err, errcap,
                    "profile names are letters, digits, '_' and '-', separated by ';'");
    return 0;
}

/* A duration the way a person writes it. */
static void print_duration(FILE *out, const char *key, uint32_t ms)
{
    if (ms == 0)
        fprintf(out, "%s = 0s\n", key);
    else if (ms % 3600000 == 0)
        fprintf(out, "%s = %uh\n", key, ms / 3600000);
    else if (ms % 60000 == 0 && ms >= 600000)
        fprintf(out, "%s = %um\n", key, ms / 60000);
    else if (ms % 1000 == 0)
        fprintf(out, "%s = %us\n", key, ms / 1000);
    else
        fprintf(out, "%s = %ums\n", key, ms);
}

void pd_config_print(const pd_config *c, FILE *out)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const key_def *k = &KEYS[i];
        const char *field = (const char *)c + k->off;
        switch (k->type) {
        case K_LISTEN:
            for (size_t j = 0; j < c->n_listen; j++)
                fprintf(out, "listen = %s\n", c->listen[j]);
            break;
        case K_ALIAS:
            for (size_t j = 0; j < c->n_alias; j++)
                fprintf(out, "alias = %s\n", c->alias[j]);
            break;
        case K_UINT:
            fprintf(out, "%s = %u\n", k->name, *(const uint32_t *)(const void *)field);
            break;
        case K_DURATION:
            print_duration(out, k->name, *(const uint32_t *)(const void *)field);
            break;
        case K_BOOL:
            fprintf(out, "%s = %s\n", k->name, *(const bool *)field ? "yes" : "no");
            break;
        case K_LOGLEVEL:
            fprintf(out, "log_level = %s\n", pd_log_level_name(c->log_level));
            break;
        case K_PATH_FILE:
        case K_PATH_CWD:
        case K_STRING:
            fprintf(out, "%s = \"%s\"\n", k->name, field);
            break;
        }
    }
}
