/*
 * parleyd - the Parley SIP proxy and registrar, routed by a Lua script.
 *
 *   parleyd [-c FILE] [--listen ADDR]... [--script FILE] [--workers N]
 *           [--log-level LEVEL] [--check] [--print-config]
 *
 * The main thread reads the configuration (built-in defaults, then the
 * file, then the command line), checks it, makes every worker (each binds
 * every listen address, loads the script and makes its proxy) so that
 * every start-up failure is reported before anything runs, starts the
 * worker threads and waits for SIGTERM or SIGINT. Then it stops every
 * worker, joins them, frees everything and exits 0.
 *
 * Exit status: 0 done, 1 a runtime failure (an address in use, no
 * memory), 2 a usage, configuration or script error.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <parley/script.h>

#include "config.h"
#include "control.h"
#include "log.h"
#include "persist.h"
#include "worker.h"

static const char *prog = "parleyd";

static void usage(FILE *out)
{
    fprintf(out, "usage: parleyd [-c FILE] [--listen ADDR]... [--script FILE] [--workers N]\n"
                 "               [--log-level LEVEL] [--store URL] [--mgmt ADDR]\n"
                 "               [--mgmt-token TOKEN] [--check] [--print-config]\n"
                 "       parleyd --help | --version\n"
                 "\n"
                 "The Parley SIP proxy and registrar: RFC 3261 stateful proxy routed by a Lua\n"
                 "script. Without arguments it runs on the built-in defaults (those of the\n"
                 "shipped etc/parleyd.conf): UDP and TCP on 127.0.0.1:5060, the shipped\n"
                 "script, state in ./parleyd-state. Options override the file.\n"
                 "\n"
                 "  -c, --config FILE     read settings from FILE (key = value lines)\n"
                 "  -l, --listen ADDR     listen on ADDR: udp:IP:PORT, tcp:IP:PORT, tls:IP:PORT\n"
                 "                        (repeatable; replaces the file's listen lines)\n"
                 "  -s, --script FILE     the Lua routing script\n"
                 "  -w, --workers N       worker threads (0: one per core)\n"
                 "  -L, --log-level LEVEL error, warn, info or debug\n"
                 "      --store URL       where dialogs and registrations are kept: sqlite:PATH,\n"
                 "                        postgresql://..., or none (docs/store.md)\n"
                 "      --mgmt ADDR       the management interface (JSON-RPC over HTTP, metrics):\n"
                 "                        HOST:PORT, or off (docs/mgmt.md)\n"
                 "      --mgmt-token TOKEN  require \"Authorization: Bearer TOKEN\"\n"
                 "      --check           check the configuration and the script, then exit\n"
                 "      --print-config    print the settings in effect, then exit\n"
                 "  -h, --help            this text\n"
                 "  -V, --version         the version\n"
                 "\n"
                 "Signals: SIGTERM or SIGINT stops parleyd cleanly; SIGUSR1 logs the dialog\n"
                 "counters and profile sizes (\"stats: dialogs live=...\").\n"
                 "Exit status: 0 success, 1 runtime failure (e.g. an address in use),\n"
                 "2 usage, configuration or script error.\n"
                 "Environment: PARLEYD_STORE, PARLEYD_MGMT and PARLEYD_MGMT_TOKEN override the\n"
                 "configuration file's store, mgmt and mgmt_token (the options override them).\n"
                 "Manual: docs/parleyd.md.\n");
}

/*
 * The shipped script: from the source tree when this program runs from its
 * build tree, else where `make install` put it.
 */
static void default_script(char *out, size_t cap)
{
    char exe[PATH_MAX], bin[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    const char *b = realpath(PARLEY_BINARY_DIR, bin);
    if (n > 0 && b) {
        exe[n] = '\0';
        size_t bl = strlen(bin);
        if (strncmp(exe, bin, bl) == 0 && exe[bl] == '/') {
            snprintf(out, cap, "%s/etc/parley.lua", PARLEY_SOURCE_DIR);
            return;
        }
    }
    snprintf(out, cap, "%s/parley/parley.lua", PARLEY_SYSCONFDIR);
}

/* Is addr free? Workers bind with SO_REUSEPORT, which another parleyd on
 * the same address would share without a word: a plain bind first finds
 * anyone already there. Returns 0, or an errno. */
static int probe(const char *addr)
{
    pl_target t;
    size_t n = strlen(addr);
    if (n > 2 && strcmp(addr + n - 2, ":0") == 0)
        return 0; /* the kernel picks a free port */
    if (pl_target_parse(&t, addr) != PL_OK)
        return EINVAL;
    int fd = socket(t.addr.ss_family, t.transport == PL_TP_UDP ? SOCK_DGRAM : SOCK_STREAM, 0);
    if (fd < 0)
        return errno;
    int on = 1, rc = 0;
    if (t.transport != PL_TP_UDP)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)); /* TIME_WAIT is no user */
    if (bind(fd, (const struct sockaddr *)&t.addr, t.len) != 0 ||
        (t.transport != PL_TP_UDP && listen(fd, 1) != 0))
        rc = errno;
    close(fd);
    return rc;
}

static unsigned cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

static int make_state_dir(const char *path)
{
    if (mkdir(path, 0750) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            return 0;
        errno = ENOTDIR;
    }
    fprintf(stderr, "%s: state_dir %s: %s\n", prog, path, strerror(errno));
    return -1;
}

typedef struct cli {
    const char *config;
    const char *listen[PD_MAX_LISTEN];
    size_t n_listen;
    const char *script, *workers, *log_level;
    const char *store, *mgmt, *mgmt_token;
    bool check, print;
} cli;

/* 0 to go on, else the exit status + 1 (so that 0 can mean "go on"). */
static int parse_args(int argc, char **argv, cli *a)
{
    enum { OPT_CHECK = 256, OPT_PRINT, OPT_STORE, OPT_MGMT, OPT_TOKEN };
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'},
        {"script", required_argument, NULL, 's'},
        {"workers", required_argument, NULL, 'w'},
        {"log-level", required_argument, NULL, 'L'},
        {"check", no_argument, NULL, OPT_CHECK},
        {"print-config", no_argument, NULL, OPT_PRINT},
        {"store", required_argument, NULL, OPT_STORE},
        {"mgmt", required_argument, NULL, OPT_MGMT},
        {"mgmt-token", required_argument, NULL, OPT_TOKEN},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, ":c:l:s:w:L:hV", opts, NULL)) != -1) {
        switch (o) {
        case 'c':
            a->config = optarg;
            break;
        case 'l':
            if (a->n_listen == PD_MAX_LISTEN) {
                fprintf(stderr, "%s: more than %d --listen\n", prog, PD_MAX_LISTEN);
                return 3;
            }
            a->listen[a->n_listen++] = optarg;
            break;
        case 's':
            a->script = optarg;
            break;
        case 'w':
            a->workers = optarg;
            break;
        case 'L':
            a->log_level = optarg;
            break;
        case OPT_CHECK:
            a->check = true;
            break;
        case OPT_PRINT:
            a->print = true;
            break;
        case OPT_STORE:
            a->store = optarg;
            break;
        case OPT_MGMT:
            a->mgmt = optarg;
            break;
        case OPT_TOKEN:
            a->mgmt_token = optarg;
            break;
        case 'h':
            usage(stdout);
            return 1;
        case 'V':
            printf("parleyd %s\n", PARLEYD_VERSION);
            return 1;
        case ':':
            fprintf(stderr, "%s: %s needs a value (see parleyd --help)\n", prog, argv[optind - 1]);
            return 3;
        default:
            fprintf(stderr, "%s: unknown option %s (see parleyd --help)\n", prog, argv[optind - 1]);
            return 3;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s' (see parleyd --help)\n", prog, argv[optind]);
        return 3;
    }
    return 0;
}

/* Defaults, the file, then the command line. Returns 0 or 2. */
static int build_config(const cli *a, pd_config *c)
{
    char script[PATH_MAX], err[1024];
    default_script(script, sizeof(script));
    pd_config_defaults(c, script);
    if (a->config && pd_config_load(c, a->config, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 2;
    }
    /* The environment (PARLEYD_STORE, PARLEYD_MGMT, PARLEYD_MGMT_TOKEN)
     * over the file, the command line over both. */
    const char *env_store = getenv("PARLEYD_STORE"), *env_mgmt = getenv("PARLEYD_MGMT"),
               *env_token = getenv("PARLEYD_MGMT_TOKEN");
    /* An empty variable is no override. */
    if (env_store && !*env_store)
        env_store = NULL;
    if (env_mgmt && !*env_mgmt)
        env_mgmt = NULL;
    if (env_token && !*env_token)
        env_token = NULL;
    struct {
        const char *key, *value, *opt;
    } over[] = {
        {"store", env_store, "PARLEYD_STORE"},
        {"mgmt", env_mgmt, "PARLEYD_MGMT"},
        {"mgmt_token", env_token, "PARLEYD_MGMT_TOKEN"},
        {"script", a->script, "--script"},
        {"workers", a->workers, "--workers"},
        {"log_level", a->log_level, "--log-level"},
        {"store", a->store, "--store"},
        {"mgmt", a->mgmt, "--mgmt"},
        {"mgmt_token", a->mgmt_token, "--mgmt-token"},
    };
    for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
        if (over[i].value &&
            pd_config_set(c, over[i].key, over[i].value, NULL, false, err, sizeof(err)) != 0) {
            fprintf(stderr, "%s: %s: %s\n", prog, over[i].opt, err);
            return 2;
        }
    }
    for (size_t i = 0; i < a->n_listen; i++) {
        if (pd_config_set(c, "listen", a->listen[i], NULL, i > 0, err, sizeof(err)) != 0) {
            fprintf(stderr, "%s: --listen: %s\n", prog, err);
            return 2;
        }
    }
    if (pd_config_check(c, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s%s%s\n", prog, a->config ? a->config : "", a->config ? ": " : "",
                err);
        return 2;
    }
    return 0;
}

int pd_check_script(const pd_config *c, char *err, size_t cap)
{
    pl_error e = {0, 0, NULL};
    /* The variables the workers give the script (config.caller_limit). */
    char limit[32];
    snprintf(limit, sizeof(limit), "caller_limit=%u", (unsigned)c->caller_limit);
    const char *const vars[] = {limit, NULL};
    pl_script_config scfg = {.vars = vars};
    if (pl_script_check_config(c->script, &scfg, &e) != PL_OK) {
        snprintf(err, cap, "script %s: %s", c->script, e.reason ? e.reason : "cannot load");
        return -1;
    }
    return 0;
}

static int check_script(const pd_config *c)
{
    char err[1024];
    if (pd_check_script(c, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 2;
    }
    return 0;
}

static const pl_str NO_CALL = {NULL, 0};

/* Make n workers; worker 0 binds the configured addresses, the rest bind
 * what worker 0 got (a port 0 becomes one port for all). */
static int make_workers(pd_shared *sh, const pd_config *c)
{
    char err[1024];
    int code = 1;
    char(*addrs)[PD_ADDR_MAX] = calloc(c->n_listen, PD_ADDR_MAX);
    if (!addrs)
        return 1;
    memcpy(addrs, c->listen, c->n_listen * PD_ADDR_MAX);
    for (unsigned i = 0; i < sh->n; i++) {
        sh->workers[i] = pd_worker_new(sh, i, (const char(*)[PD_ADDR_MAX])addrs, c->n_listen, err,
                                       sizeof(err), &code);
        if (!sh->workers[i]) {
            fprintf(stderr, "%s: %s\n", prog, err);
            free(addrs);
            return code;
        }
        if (i == 0)
            for (size_t j = 0; j < c->n_listen; j++)
                pd_worker_listen_addr(sh->workers[0], j, addrs[j], PD_ADDR_MAX);
    }
    for (size_t j = 0; j < c->n_listen; j++)
        pd_log(PL_PROXY_LOG_INFO, PD_MAIN, NO_CALL, "listening on %s", addrs[j]);
    free(addrs);
    return 0;
}

static void dlg_change(pl_dlg *d, pl_dlg_change what, void *user)
{
    pd_shared *sh = user;
    pd_persist_dialog_change(sh->persist, d, what);
}

static void dlg_log(pl_proxy_log_level level, pl_str call_id, const char *line, void *user)
{
    (void)user;
    pd_log_line(level, PD_MAIN, call_id, line);
}

/* The dialog module, shared by the workers (one table each), with the configured profiles. */
static pl_dlg_module *make_dialogs(pd_shared *sh, const pd_config *c)
{
    pl_dlg_config dc;
    memset(&dc, 0, sizeof(dc));
    dc.n_tables = sh->n;
    dc.default_lifetime_s = c->dialog_lifetime / 1000;
    dc.ping_interval_s = c->dialog_ping_interval / 1000;
    dc.early_timeout_s = c->dialog_early_timeout / 1000;
    dc.noack_timeout_s = c->dialog_noack_timeout / 1000;
    dc.delete_delay_s = c->dialog_delete_delay / 1000;
    dc.match_mode = (pl_dlg_match_mode)pd_config_match_mode(c);
    dc.rr_param = c->dialog_rr_param;
    dc.max_dialogs = c->dialog_max;
    dc.post = pd_worker_post;
    dc.log = dlg_log;
    dc.on_change = dlg_change;
    dc.log_level = c->log_level;
    dc.user = sh;
    pl_dlg_module *m = pl_dlg_module_new(&dc);
    if (!m)
        return NULL;
    if ((c->profiles_with_value[0] &&
         pl_dlg_profile_define(m, c->profiles_with_value, true) != PL_OK) ||
        (c->profiles_no_value[0] &&
         pl_dlg_profile_define(m, c->profiles_no_value, false) != PL_OK)) {
        /* pd_config_check vetted the names: only a name in both lists gets here. */
        fprintf(stderr, "%s: a profile is in both profiles_with_value and profiles_no_value\n",
                prog);
        pl_dlg_module_free(m);
        return NULL;
    }
    return m;
}

static void free_workers(pd_shared *sh)
{
    for (unsigned i = 0; i < sh->n; i++) {
        if (!sh->workers[i])
            continue;
        pd_worker_stats s;
        pd_worker_get_stats(sh->workers[i], &s);
        pd_log(PL_PROXY_LOG_INFO, PD_MAIN, NO_CALL,
               "worker %u: %llu received, %llu handed to their owner, %llu handed in, "
               "%llu stream sends handed out, %llu made for others",
               i, (unsigned long long)s.received, (unsigned long long)s.handed_out,
               (unsigned long long)s.handed_in, (unsigned long long)s.sends_out,
               (unsigned long long)s.sends_in);
        pd_worker_free(sh->workers[i]);
    }
}

/* One line per profile size, for log_stats. */
typedef struct stats_buf {
    char line[1024];
    size_t len;
} stats_buf;

static void add_profile(pl_dlg_profile *p, void *arg)
{
    stats_buf *b = arg;
    pl_str n = pl_dlg_profile_name(p);
    if (b->len < sizeof(b->line)) {
        int k = snprintf(b->line + b->len, sizeof(b->line) - b->len, " %.*s=%zu", (int)n.len, n.p,
                         pl_dlg_profile_size(p, (pl_str){NULL, 0}));
        if (k > 0)
            b->len += (size_t)k;
    }
}

/* SIGUSR1: the dialog counters and profile sizes, one log line. */
static void log_stats(pd_shared *sh)
{
    if (!sh->dialogs) {
        pd_log(PL_PROXY_LOG_INFO, PD_MAIN, NO_CALL, "stats: dialog tracking is off");
        return;
    }
    pl_dlg_stats s;
    pl_dlg_get_stats(sh->dialogs, &s);
    stats_buf b = {.len = 0};
    b.line[0] = '\0';
    pl_dlg_profile_each(sh->dialogs, add_profile, &b);
    pd_log(PL_PROXY_LOG_INFO, PD_MAIN, NO_CALL,
           "stats: dialogs live=%llu active=%llu early=%llu processed=%llu expired=%llu "
           "failed=%llu terminated=%llu profiles%s",
           (unsigned long long)s.live, (unsigned long long)s.active, (unsigned long long)s.early,
           (unsigned long long)s.processed, (unsigned long long)s.expired,
           (unsigned long long)s.failed, (unsigned long long)s.terminated, b.line);
}

/* Start the workers, restore the stored dialogs, serve management, wait
 * for SIGTERM or SIGINT, stop them. Returns the exit status. */
static int run(pd_shared *sh, const sigset_t *sigs)
{
    pd_control *control = NULL;
    unsigned started = 0;
    int status = 0;
    for (; started < sh->n; started++) {
        if (pd_worker_start(sh->workers[started]) != PL_OK) {
            fprintf(stderr, "%s: cannot start worker %u\n", prog, started);
            status = 1;
            break;
        }
    }
    if (status == 0 && sh->dialogs)
        pd_persist_load_dialogs(sh->persist, NULL);
    if (status == 0 && strcmp(sh->cfg->mgmt, "off") != 0 && sh->cfg->mgmt[0]) {
        char err[1024];
        control = pd_control_start(sh, sh->cfg, sh->persist, err, sizeof(err));
        if (!control) {
            fprintf(stderr, "%s: %s\n", prog, err);
            status = 1;
        }
    }
    if (status == 0) {
        pd_log(PL_PROXY_LOG_INFO, PD_MAIN, NO_CALL, "parleyd %s running, %u worker(s), script %s",
               PARLEYD_VERSION, sh->n, sh->cfg->script);
        for (;;) {
            int sig = 0;
            if (sigwait(sigs, &sig) != 0)
                continue;
            if (sig == SIGUSR1) {
                log_stats(sh);
                continue;
            }
            if (sig == SIGHUP) {
                pd_log(PL_PROXY_LOG_WARN, PD_MAIN, NO_CALL, "SIGHUP ignored (no reload yet)");
                continue;
            }
            pd_log(PL_PROXY_LOG_INFO, PD_MAIN, NO_CALL, "%s: shutting down",
                   sig == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
    }
    /* No method may run on a worker being torn down. */
    pd_control_free(control);
    /* No hand-over may reach a worker being torn down: stop them all and
     * wait for every thread before anything is freed. */
    atomic_store(&sh->stopping, true);
    for (unsigned i = 0; i < started; i++)
        pd_worker_stop(sh->workers[i]);
    for (unsigned i = 0; i < started; i++)
        pd_worker_join(sh->workers[i]);
    return status;
}

int main(int argc, char **argv)
{
    cli a;
    memset(&a, 0, sizeof(a));
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc - 1;
    static pd_config cfg;
    if ((rc = build_config(&a, &cfg)) != 0)
        return rc;
    if (a.print) {
        pd_config_print(&cfg, stdout);
        return 0;
    }
    if (a.check) {
        if ((rc = check_script(&cfg)) != 0)
            return rc;
        printf("%s: configuration%s%s and script %s OK\n", prog, a.config ? " " : " (built-in)",
               a.config ? a.config : "", cfg.script);
        return 0;
    }
    pd_log_set_level(cfg.log_level);
    for (size_t i = 0; i < cfg.n_listen; i++) {
        int e = probe(cfg.listen[i]);
        if (e) {
            fprintf(stderr, "%s: cannot listen on %s: %s\n", prog, cfg.listen[i], strerror(e));
            return 1;
        }
    }
    if (make_state_dir(cfg.state_dir) != 0)
        return 1;

    /* Every thread inherits this mask: the signals wait for main's sigwait. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    pd_shared *sh = calloc(1, sizeof(*sh));
    if (!sh)
        return 1;
    sh->cfg = &cfg;
    sh->n = cfg.workers ? cfg.workers : cores();
    char err[2048];
    sh->persist = pd_persist_open(sh, &cfg, err, sizeof(err));
    if (!sh->persist) {
        fprintf(stderr, "%s: %s\n", prog, err);
        free(sh);
        return 1;
    }
    pl_location_config lc = {.min_expires = cfg.min_expires,
                             .max_expires = cfg.max_expires,
                             .default_expires = cfg.default_expires,
                             .max_contacts = cfg.max_contacts};
    pd_persist_location_hook(sh->persist, &lc);
    sh->location = pl_location_new(&lc);
    if (sh->location)
        pd_persist_load_bindings(sh->persist);
    sh->conns = pd_connreg_new();
    sh->workers = calloc(sh->n, sizeof(*sh->workers));
    int status = 1;
    if (cfg.dialogs)
        sh->dialogs = make_dialogs(sh, &cfg);
    if (!sh->location || !sh->conns || !sh->workers || (cfg.dialogs && !sh->dialogs))
        fprintf(stderr, "%s: out of memory\n", prog);
    else if ((status = make_workers(sh, &cfg)) == 0)
        status = run(sh, &sigs);
    /* The workers have stopped: what they queued goes to the store now
     * (the dialogs still up stay stored for the next start). */
    pd_persist_close(sh->persist);
    sh->persist = NULL;
    if (sh->workers)
        free_workers(sh);
    free(sh->workers);
    pl_dlg_module_free(sh->dialogs);
    pd_connreg_free(sh->conns);
    pl_location_free(sh->location);
    free(sh);
    if (status == 0)
        pd_log(PL_PROXY_LOG_INFO, PD_MAIN, NO_CALL, "stopped");
    return status;
}
