/*
 * config.h - parleyd's settings: the built-in defaults (equal to the
 * shipped etc/parleyd.conf), the configuration file's "key = value"
 * lines, the command line's overrides, and the checks across keys.
 */
#ifndef PARLEYD_CONFIG_H
#define PARLEYD_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <parley/proxy.h>

#define PD_MAX_LISTEN 16
#define PD_ADDR_MAX   128

typedef struct pd_config {
    char listen[PD_MAX_LISTEN][PD_ADDR_MAX]; /* "udp:127.0.0.1:5060"... */
    size_t n_listen;
    uint32_t workers; /* 0: one per core */
    char script[PATH_MAX];
    char state_dir[PATH_MAX];
    pl_proxy_log_level log_level;
    uint32_t t1, t2, t4, timer_c; /* milliseconds */
    uint32_t max_message_size;
    uint32_t udp_buffer; /* bytes, each way, per UDP socket; 0: the kernel's default */
    uint32_t max_connections, max_connections_per_ip;
    uint32_t tcp_idle;                                                /* milliseconds */
    uint32_t min_expires, max_expires, default_expires, max_contacts; /* seconds, count */
    char alias[PL_PROXY_MAX_ALIASES][64];
    size_t n_alias;
    bool loop_detect;
    char server_header[128]; /* empty: no Server header */
    char tls_cert[PATH_MAX], tls_key[PATH_MAX], tls_ca[PATH_MAX];
    /* Dialog tracking (docs/dialog.md). */
    bool dialogs;
    uint32_t dialog_lifetime, dialog_ping_interval, dialog_early_timeout; /* milliseconds */
    uint32_t dialog_noack_timeout, dialog_delete_delay;                   /* milliseconds */
    char dialog_match[16]; /* "did-fallback", "did-only", "sip-only" */
    char dialog_rr_param[33];
    uint32_t dialog_max; /* per worker; 0: no limit */
    char profiles_with_value[512], profiles_no_value[512];
    uint32_t caller_limit; /* the default script's concurrent calls per caller */
    /* Persistence (docs/store.md) and management (docs/mgmt.md). */
    char store[PATH_MAX + 16]; /* a store URL, "none", or empty: sqlite in state_dir */
    char store_mode[16];       /* none, realtime, delayed, shutdown */
    uint32_t store_flush;      /* milliseconds, delayed mode */
    char mgmt[PD_ADDR_MAX];    /* "127.0.0.1:8080", or "off" */
    char mgmt_token[128];
} pd_config;

/* The built-in defaults; script is the default script's path. */
void pd_config_defaults(pd_config *c, const char *script);

/*
 * Read path over c: each key given replaces the default; the first listen
 * or alias line replaces the default list and later ones add to it.
 * Relative script and tls_* paths are taken from the file's folder,
 * state_dir from the working directory. Returns 0, or -1 with a message
 * "path:line: ..." in err.
 */
int pd_config_load(pd_config *c, const char *path, char *err, size_t errcap);

/*
 * One setting, as a file line or a command-line option gives it. base is
 * the folder relative paths are taken from (NULL: the working directory);
 * append adds a listen or alias instead of replacing the list. Returns 0
 * or -1 with the reason in err.
 */
int pd_config_set(pd_config *c, const char *key, const char *value, const char *base, bool append,
                  char *err, size_t errcap);

/* The checks across keys (expiries in order, tls listeners with a certificate...). */
int pd_config_check(const pd_config *c, char *err, size_t errcap);

/* Every setting as a configuration file would give it. */
void pd_config_print(const pd_config *c, FILE *out);

/* The store URL in effect: store, or "sqlite:<state_dir>/parley.db" when empty. */
void pd_config_store_url(const pd_config *c, char *out, size_t cap);

/* dialog_match as the dialog module's mode; -1 when unknown. */
int pd_config_match_mode(const pd_config *c);

/* "error", "warn", "info", "debug" -> level; 0 when unknown. */
pl_proxy_log_level pd_log_level_parse(const char *s);
const char *pd_log_level_name(pl_proxy_log_level l);

#endif
