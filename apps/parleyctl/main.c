/*
 * parleyctl - operate a running parleyd through its management interface
 * (JSON-RPC 2.0 over HTTP, docs/mgmt.md).
 *
 *   parleyctl [--mgmt ADDR] [--token TOKEN] [--json] [--timeout S] COMMAND ...
 *
 * Each command is one JSON-RPC call; its result is printed as a table or
 * as "key: value" lines, or as JSON with --json. The global options may
 * come anywhere before a "--"; PARLEYCTL_MGMT and PARLEYCTL_TOKEN give
 * their defaults. Exit status: 0 ok, 1 the daemon answered with an error,
 * 2 usage, 3 the daemon cannot be reached, 4 wrong or missing token.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "http.h"

#define VERSION      "0.1.0"
#define DEFAULT_ADDR "127.0.0.1:8080"

static const char HELP[] =
    "usage: parleyctl [--mgmt ADDR] [--token TOKEN] [--json] [--timeout S] COMMAND ...\n"
    "       parleyctl GROUP --help | --help | --version\n"
    "\n"
    "Operate a running parleyd through its management interface (JSON-RPC 2.0\n"
    "over HTTP; docs/mgmt.md). Output is a table or 'key: value' lines, or the\n"
    "method's result as JSON with --json.\n"
    "\n"
    "options (anywhere before '--'):\n"
    "  --mgmt ADDR      the daemon's management address, HOST:PORT or [IPV6]:PORT\n"
    "                   (default $PARLEYCTL_MGMT, else " DEFAULT_ADDR ")\n"
    "  --token TOKEN    the bearer token (default $PARLEYCTL_TOKEN)\n"
    "  --json           print the result as JSON\n"
    "  --timeout S      give up after S seconds (default 10)\n"
    "  -h, --help       this text; after a group, the group's commands\n"
    "  --version        parleyctl's version\n"
    "\n"
    "commands:\n"
    "  version                      the daemon's version, uptime and start time\n"
    "  methods                      the management methods the daemon offers\n"
    "  stats                        dialog, profile, proxy, store and worker counters\n"
    "  reload                       reload the routing script on every worker\n"
    "  call METHOD [JSON_PARAMS]    call any method; prints its result as JSON\n"
    "  dlg list|list-ctx|show|end|set-profile|unset-profile|push-value ...\n"
    "                               dialogs (parleyctl dlg --help)\n"
    "  profile size|list|values|all|end ...\n"
    "                               dialog profiles (parleyctl profile --help)\n"
    "  reg list|remove ...          registrations (parleyctl reg --help)\n"
    "  store sync|restore           the dialog store (parleyctl store --help)\n"
    "\n"
    "exit status: 0 ok, 1 the daemon answered with an error, 2 usage,\n"
    "3 the daemon cannot be reached, 4 wrong or missing token.\n";

static const char HELP_DLG[] =
    "usage: parleyctl dlg COMMAND ...\n"
    "\n"
    "  dlg list [--state S] [--callid X] [--profile NAME [--value V]] [--limit N]\n"
    "      the dialogs, as a table: ID STATE CALL-ID FROM TO AGE LEFT.\n"
    "      --state S     only dialogs in state S: 1 unconfirmed, 2 early,\n"
    "                    3 confirmed-not-acked, 4 confirmed, 5 deleted (number or name)\n"
    "      --callid X    only the dialogs of Call-ID X\n"
    "      --profile NAME, --value V   only the dialogs in that profile (with that value)\n"
    "      --limit N     at most N dialogs\n"
    "  dlg list-ctx [same filters]\n"
    "      the same, each dialog followed by its values, profiles and context\n"
    "  dlg show ID\n"
    "      one dialog, every field\n"
    "  dlg end ID | --callid X [--reason R] [--header 'Name: value']...\n"
    "      end a dialog (CANCEL or BYE both ways), by id or by Call-ID; each\n"
    "      --header is added to the requests parleyd sends\n"
    "  dlg set-profile ID NAME [VALUE] [--clear]\n"
    "      add the dialog to a profile (with a value for a profile with values);\n"
    "      --clear first removes its other values in that profile\n"
    "  dlg unset-profile ID NAME [VALUE]\n"
    "      remove the dialog from a profile (without VALUE: every value)\n"
    "  dlg push-value ID NAME VALUE [--int]\n"
    "      store a value on the dialog (a string, or an integer with --int)\n";

static const char HELP_PROFILE[] =
    "usage: parleyctl profile COMMAND ...\n"
    "\n"
    "  profile size NAME [VALUE]    the number of dialogs in the profile (with VALUE)\n"
    "  profile list NAME [VALUE]    their dialog ids, one per line\n"
    "  profile values NAME          each value of a profile with values, and its count\n"
    "  profile all                  every profile: NAME VALUES SIZE\n"
    "  profile end NAME [VALUE]     end every dialog in the profile (with VALUE)\n";

static const char HELP_REG[] =
    "usage: parleyctl reg COMMAND ...\n"
    "\n"
    "  reg list [AOR]               the registrar's bindings (of one address of record):\n"
    "                               AOR CONTACT EXPIRES Q SOURCE USER-AGENT\n"
    "  reg remove AOR [CONTACT]     remove one binding, or every binding of AOR\n";

static const char HELP_STORE[] =
    "usage: parleyctl store COMMAND ...\n"
    "\n"
    "  store sync                   load the dialogs and registrations from the store\n"
    "                               again (those missing in memory come back)\n"
    "  store restore                write every dialog and registration in memory to\n"
    "                               the store again\n";

static const struct {
    const char *name;
    const char *help;
    const ctl_command *commands;
} GROUPS[] = {
    {"dlg", HELP_DLG, ctl_dlg_commands},
    {"profile", HELP_PROFILE, ctl_other_commands},
    {"reg", HELP_REG, ctl_other_commands},
    {"store", HELP_STORE, ctl_other_commands},
};

/* ------------------------------------------------------------ arguments */

static const char *group_of(const ctl_command *cmd)
{
    return cmd && cmd->group ? cmd->group : NULL;
}

int ctl_usage(const ctl_command *cmd, const char *fmt, ...)
{
    fprintf(stderr, "parleyctl: ");
    if (cmd)
        fprintf(stderr, "%s%s%s: ", cmd->group ? cmd->group : "", cmd->group ? " " : "", cmd->name);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (cmd)
        fprintf(stderr, "\nusage: parleyctl %s%s%s%s%s", cmd->group ? cmd->group : "",
                cmd->group ? " " : "", cmd->name, cmd->args[0] ? " " : "", cmd->args);
    fprintf(stderr, "\nTry 'parleyctl %s%s--help'.\n", group_of(cmd) ? group_of(cmd) : "",
            group_of(cmd) ? " " : "");
    return CTL_EXIT_USAGE;
}

/* "--name" or "--name=VALUE"; *inline_value gets VALUE (or NULL). */
static bool opt_match(const char *arg, const char *name, const char **inline_value)
{
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return false;
    if (arg[n] == '\0') {
        *inline_value = NULL;
        return true;
    }
    if (arg[n] == '=') {
        *inline_value = arg + n + 1;
        return true;
    }
    return false;
}

int ctl_args(const ctl_command *cmd, int argc, char **argv, const ctl_opt *opts, const char **pos,
             int min, int max, int *npos)
{
    bool dashdash = false;
    *npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!dashdash && strcmp(a, "--") == 0) {
            dashdash = true;
            continue;
        }
        /* "-5" is a value (push-value --int), not an option. */
        if (!dashdash && a[0] == '-' && a[1] != '\0' && !(a[1] >= '0' && a[1] <= '9')) {
            const ctl_opt *o = opts;
            const char *v = NULL;
            while (o && o->name && !opt_match(a, o->name, &v))
                o++;
            if (!o || !o->name)
                return ctl_usage(cmd, "unknown option %s", a);
            if (o->flag) {
                if (v)
                    return ctl_usage(cmd, "%s takes no value", o->name);
                *o->flag = true;
                continue;
            }
            if (!v) {
                if (i + 1 >= argc)
                    return ctl_usage(cmd, "%s needs a value", o->name);
                v = argv[++i];
            }
            if (o->list)
                json_array_append_new(o->list, json_string(v));
            else
                *o->value = v;
            continue;
        }
        if (*npos >= max)
            return ctl_usage(cmd, "unexpected argument '%s'", a);
        pos[(*npos)++] = a;
    }
    if (*npos < min)
        return ctl_usage(cmd, "missing argument%s", min - *npos > 1 ? "s" : "");
    return 0;
}

/* ------------------------------------------------------------ the call */

void ctl_print_json(json_t *result)
{
    char *s = json_dumps(result, JSON_INDENT(2) | JSON_ENCODE_ANY);
    if (s) {
        printf("%s\n", s);
        free(s);
    }
}

/* The JSON-RPC error of a 200 (or 401/413) body: code and message, or false. */
static bool rpc_error(json_t *resp, int *code, const char **message)
{
    json_t *e = json_object_get(resp, "error");
    if (!json_is_object(e))
        return false;
    *code = (int)json_integer_value(json_object_get(e, "code"));
    *message = json_string_value(json_object_get(e, "message"));
    if (!*message)
        *message = "error";
    return true;
}

int ctl_call(ctl *c, const char *method, json_t *params, json_t **result)
{
    *result = NULL;
    json_t *req = json_pack("{s:s, s:s, s:i}", "jsonrpc", "2.0", "method", method, "id", 1);
    if (params)
        json_object_set_new(req, "params", params);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    ctl_http_resp r;
    char err[256];
    int rc =
        ctl_http_post(c->addr, c->token, body, strlen(body), c->timeout_s, &r, err, sizeof(err));
    free(body);
    switch (rc) {
    case CTL_HTTP_OK:
        break;
    case CTL_HTTP_ADDRESS:
        fprintf(stderr, "parleyctl: bad management address '%s': %s\n", c->addr, err);
        return CTL_EXIT_USAGE;
    case CTL_HTTP_TIMEOUT:
        fprintf(stderr, "parleyctl: no answer from %s within %g s (is parleyd busy or stopped?)\n",
                c->addr, c->timeout_s);
        return CTL_EXIT_CONNECT;
    case CTL_HTTP_CONNECT:
        fprintf(stderr, "parleyctl: cannot connect to %s: %s (is parleyd running with mgmt on?)\n",
                c->addr, err);
        return CTL_EXIT_CONNECT;
    default:
        fprintf(stderr, "parleyctl: %s: %s (is that parleyd's management address?)\n", c->addr,
                err);
        return CTL_EXIT_CONNECT;
    }
    if (r.status == 401) {
        ctl_http_resp_free(&r);
        fprintf(stderr,
                "parleyctl: %s: unauthorized: wrong or missing token (--token, PARLEYCTL_TOKEN)\n",
                c->addr);
        return CTL_EXIT_AUTH;
    }
    json_error_t jerr;
    json_t *resp = r.body_len ? json_loadb(r.body, r.body_len, 0, &jerr) : NULL;
    int code;
    const char *message;
    int exit_code = CTL_EXIT_OK;
    if (resp && rpc_error(resp, &code, &message)) {
        fprintf(stderr, "parleyctl: %s (code %d)\n", message, code);
        exit_code = CTL_EXIT_ERROR;
    } else if (r.status == 200 && json_is_object(resp) && json_object_get(resp, "result")) {
        *result = json_incref(json_object_get(resp, "result"));
    } else if (r.status == 200 || r.status == 204) {
        fprintf(stderr, "parleyctl: %s: an answer that is not JSON-RPC: %.200s\n", c->addr,
                r.body_len ? r.body : "(empty)");
        exit_code = CTL_EXIT_ERROR;
    } else {
        size_t n = strcspn(r.body, "\r\n");
        fprintf(stderr, "parleyctl: %s answered HTTP %d%s%.*s\n", c->addr, r.status, n ? ": " : "",
                (int)(n > 200 ? 200 : n), r.body);
        exit_code = CTL_EXIT_ERROR;
    }
    json_decref(resp);
    ctl_http_resp_free(&r);
    return exit_code;
}

/* ------------------------------------------------------------ dispatch */

static const ctl_command *find(const ctl_command *list, const char *group, const char *name)
{
    for (const ctl_command *c = list; c->name; c++) {
        bool same_group = group ? c->group && strcmp(c->group, group) == 0 : !c->group;
        if (same_group && strcmp(c->name, name) == 0)
            return c;
    }
    return NULL;
}

static int show_help(const char *group)
{
    for (size_t i = 0; group && i < sizeof(GROUPS) / sizeof(*GROUPS); i++)
        if (strcmp(GROUPS[i].name, group) == 0) {
            fputs(GROUPS[i].help, stdout);
            return CTL_EXIT_OK;
        }
    fputs(HELP, stdout);
    return CTL_EXIT_OK;
}

/* Take the global options out of argv (before any "--"); the rest stays in order. */
static int global_options(ctl *c, int *argc, char **argv, bool *help, bool *version)
{
    int out = 0;
    bool dashdash = false;
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (strcmp(a, "--") == 0)
            dashdash = true;
        if (dashdash) {
            argv[out++] = argv[i];
            continue;
        }
        const char **slot = NULL;
        const char *timeout = NULL;
        if (strcmp(a, "--json") == 0) {
            c->json = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            *help = true;
        } else if (strcmp(a, "--version") == 0) {
            *version = true;
        } else if (opt_match(a, "--mgmt", &v)) {
            slot = &c->addr;
        } else if (opt_match(a, "--token", &v)) {
            slot = &c->token;
        } else if (opt_match(a, "--timeout", &v)) {
            slot = &timeout;
        } else {
            argv[out++] = argv[i];
            continue;
        }
        if (slot && !v) {
            if (i + 1 >= *argc)
                return ctl_usage(NULL, "%s needs a value", a);
            v = argv[++i];
        }
        if (slot)
            *slot = v;
        if (timeout) {
            char *end;
            errno = 0;
            c->timeout_s = strtod(timeout, &end);
            if (errno || *end || end == timeout || !(c->timeout_s > 0) || c->timeout_s > 86400)
                return ctl_usage(NULL, "bad --timeout '%s' (seconds, more than 0)", timeout);
        }
    }
    *argc = out;
    return 0;
}

int main(int argc, char **argv)
{
    ctl c = {getenv("PARLEYCTL_MGMT"), getenv("PARLEYCTL_TOKEN"), false, 10.0};
    if (!c.addr || !*c.addr)
        c.addr = DEFAULT_ADDR;
    bool help = false, version = false;
    argc--, argv++;
    int rc = global_options(&c, &argc, argv, &help, &version);
    if (rc)
        return rc;
    if (version) {
        printf("parleyctl " VERSION "\n");
        return CTL_EXIT_OK;
    }
    if (argc > 0 && strcmp(argv[0], "help") == 0)
        return show_help(argc > 1 ? argv[1] : NULL);
    if (help)
        return show_help(argc > 0 ? argv[0] : NULL);
    if (argc == 0) {
        fputs(HELP, stderr);
        return CTL_EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof(GROUPS) / sizeof(*GROUPS); i++) {
        if (strcmp(argv[0], GROUPS[i].name) != 0)
            continue;
        if (argc < 2) {
            fprintf(stderr, "parleyctl: %s: missing command\n%s", argv[0], GROUPS[i].help);
            return CTL_EXIT_USAGE;
        }
        const ctl_command *cmd = find(GROUPS[i].commands, argv[0], argv[1]);
        if (!cmd) {
            fprintf(stderr, "parleyctl: %s: unknown command '%s'\nTry 'parleyctl %s --help'.\n",
                    argv[0], argv[1], argv[0]);
            return CTL_EXIT_USAGE;
        }
        return cmd->run(&c, cmd, argc - 2, argv + 2);
    }
    const ctl_command *cmd = find(ctl_other_commands, NULL, argv[0]);
    if (!cmd) {
        fprintf(stderr, "parleyctl: unknown command '%s'\nTry 'parleyctl --help'.\n", argv[0]);
        return CTL_EXIT_USAGE;
    }
    return cmd->run(&c, cmd, argc - 1, argv + 1);
}
