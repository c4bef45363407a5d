/*
 * cmd_other.c - parleyctl's commands besides dlg: version, methods,
 * stats, reload, call, and the profile, reg and store groups. Each is one
 * method of docs/mgmt.md; this file builds its params and prints its
 * result for a person.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "table.h"

/* Call and print: --json, or the printer given. */
static int call_print(ctl *c, const char *method, json_t *params, void (*print)(json_t *r))
{
    json_t *result;
    int rc = ctl_call(c, method, params, &result);
    if (rc)
        return rc;
    if (c->json || !print)
        ctl_print_json(result);
    else
        print(result);
    json_decref(result);
    return 0;
}

/* A count out of a result, for sentences. */
static json_int_t count(json_t *r, const char *key)
{
    return json_integer_value(json_object_get(r, key));
}

/* ------------------------------------------------------------ top level */

static void print_version(json_t *r)
{
    char up[32];
    printf("version:  %s\n", json_string_value(json_object_get(r, "version"))
                                 ? json_string_value(json_object_get(r, "version"))
                                 : "-");
    printf("uptime:   %s\n", ctl_duration(json_object_get(r, "uptime_s"), up, sizeof(up)));
    printf("started:  %s\n", json_string_value(json_object_get(r, "started"))
                                 ? json_string_value(json_object_get(r, "started"))
                                 : "-");
}

static int cmd_version(ctl *c, const ctl_command *cmd, int argc, char **argv)
{
    int n, rc = ctl_args(cmd, argc, argv, NULL, NULL, 0, 0, &n);
    return rc ? rc : call_print(c, "core.version", json_object(), print_version);
}

static void print_lines(json_t *r)
{
    size_t i;
    json_t *v;
    json_array_foreach(r, i, v)
    {
        printf("%s\n", json_string_value(v));
    }
}

static int cmd_methods(ctl *c, const ctl_command *cmd, int argc, char **argv)
{
    int n, rc = ctl_args(cmd, argc, argv, NULL, NULL, 0, 0, &n);
    return rc ? rc : call_print(c, "core.methods", json_object(), print_lines);
}

static void print_stats(json_t *r)
{
    ctl_print_tree(r, 0, stdout);
}

static int cmd_stats(ctl *c, const ctl_command *cmd, int argc, char **argv)
{
    int n, rc = ctl_args(cmd, argc, argv, NULL, NULL, 0, 0, &n);
    return rc ? rc : call_print(c, "stats", json_object(), print_stats);
}

static void print_reload(json_t *r)
{
    printf("reloaded the script on %" JSON_INTEGER_FORMAT " workers\n", count(r, "workers"));
}

static int cmd_reload(ctl *c, const ctl_command *cmd, int argc, char **argv)
{
    int n, rc = ctl_args(cmd, argc, argv, NULL, NULL, 0, 0, &n);
    return rc ? rc : call_print(c, "script.reload", json_object(), print_reload);
}

/* call METHOD [JSON_PARAMS | -]: params as given (an object or an array). */
static int cmd_call(ctl *c, const ctl_command *cmd, int argc, char **argv)
{
    const char *pos[2];
    int npos, rc = ctl_args(cmd, argc, argv, NULL, pos, 1, 2, &npos);
    if (rc)
        return rc;
    json_t *params = NULL;
    if (npos == 2) {
        json_error_t e;
        params = strcmp(pos[1], "-") == 0 ? json_loadf(stdin, JSON_DECODE_ANY, &e)
                                          : json_loads(pos[1], JSON_DECODE_ANY, &e);
        if (!params)
            return ctl_usage(cmd, "JSON_PARAMS: %s", e.text);
        if (!json_is_object(params) && !json_is_array(params)) {
            json_decref(params);
            return ctl_usage(cmd, "JSON_PARAMS must be an object or an array");
        }
    }
    return call_print(c, pos[0], params, NULL);
}

/* ------------------------------------------------------------ profile */

/* {"name": NAME, "value": VALUE?} from NAME [VALUE]; NULL after a usage error. */
static json_t *name_value(const ctl_command *cmd, int argc, char **argv, int *rc)
{
    const char *pos[2];
    int npos;
    *rc = ctl_args(cmd, argc, argv, NULL, pos, 1, 2, &npos);
    if (*rc)
        return NULL;
    json_t *p = json_pack("{s:s}", "name", pos[0]);
    if (npos == 2)
        json_object_set_new(p, "value", json_string(pos[1]));
    return p;
}

static void print_size(json_t *r)
{
    printf("%" JSON_INTEGER_FORMAT "\n", count(r, "size"));
}

static int profile_size(ctl *c, const ctl_command *cmd, int argc, char **argv)
{
    int rc;
    json_t *p = name_value(cmd, argc, argv, &rc);
    return p ? call_print(c, "profile.size", p, print_size) : rc;
}

static void print_profile_list(json_t *r)
{
    json_t *ids = json_object_get(r, "dialogs");
    if (!json_array_size(ids))
        printf("no dialogs\n");
    print_lines(ids);
}

static int profile_list(ctl *c, const ctl_command *cmd, int argc, char **argv)
{
    int rc;
    json_t *p = name_value(cmd, argc, argv, &rc);
    return p ? call_print(c, "profile.list", p, print_profile_list) : rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void print_values(json_t *r)
{
    json_t *values = json_object_get(r, "values");
    size_t n = json_object_size(values);
    if (!n) {
        printf("no values\n");
        return;
    }
    const char **keys = calloc(n, sizeof(char *));
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(values, k, v)
    {
        keys[i++] = k;
    }
    qsort(keys, n, sizeof(*keys), cmp_str);
    static const char *const hdr[] = {"VALUE", "DIALOGS", NULL};
    ctl_table *t = ctl_table_new(hdr);
    for (i = 0; i < n; i++) {
        json_t *cells[] = {json_string(keys[i]), json_object_get(values, keys[i])};
        ctl_table_row_json(t, cells);
        json_decref(cells[0]);
    }
    ctl_table_print(t, stdout);
    ctl_table_free(t);
    free(keys);
}

static int profile_values(ctl *c, const ctl_command *cmd, int argc, char **argv)
{
    const char *pos[1];
    int npos, rc = ctl_args(cmd, argc, argv, NULL, pos, 1, 1, &npos);
    return rc ? rc
              : call_print(c, "profile.values", json_pack("{s:s}", "name", pos[0]), print_values);
}

static void print_profiles(json_t *r)
{
    json_t *list = json_object_get(r, "profiles");
    if (!json_array_size(list)) {
        printf("no profiles\n");
        return;
    }
    static const char *const hdr[] = {"NAME", "VALUES", "SIZE", NULL};
    ctl_table *t = ctl_table_new(hdr);
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p)
    {
        json_t *cells[] = {json_object_get(p, "name"), json_object_get(p, "has_value"),
                           json_object_get(p, "size")};
        ctl_table_row_json(t, cells);
    }
    ctl_table_print(t, stdout);
    ctl_table_free(t);
}

static int profile_all(ctl *c, const ctl_command *cmd, int argc, char **argv)
{
    int n, rc = ctl_args(cmd, argc, argv, NULL, NULL, 0, 0, &n);
    return rc ? rc : call_print(c, "profile.list_all", json_object(), print_profiles);
}

static void print_ended(json_t *r)
{
    json_int_t n = count(r, "ended");
    printf("ended %" JSON_INTEGER_FORMAT " dialog%s\n", n, n == 1 ? "" : "s");
}

static int profile_end(ctl *c, const ctl_command *cmd, int argc, char **argv)
{
    int rc;
    json_t *p = name_value(cmd, argc, argv, &rc);
    return p ? call_print(c, "profile.end", p, print_ended) : rc;
}

/* ------------------------------------------------------------ reg */

static void print_bindings(json_t *r)
{
    json_t *list = json_object_get(r, "bindings");
    if (!json_array_size(list)) {
        printf("no bindings\n");
        return;
    }
    static const char *const hdr[] = {"AOR",    "CONTACT",    "EXPIRES", "Q",
                                      "SOURCE", "USER-AGENT", NULL};
    ctl_table *t = ctl_table_new(hdr);
    size_t i;
    json_t *b;
    json_array_foreach(list, i, b)
    {
        char aor[256], contact[512], exp[32], q[32], src[128], ua[256];
        const char *row[] = {
            ctl_text(json_object_get(b, "aor"), aor, sizeof(aor)),
            ctl_text(json_object_get(b, "contact"), contact, sizeof(contact)),
            ctl_duration(json_object_get(b, "expires_in_s"), exp, sizeof(exp)),
            ctl_text(json_object_get(b, "q"), q, sizeof(q)),
            ctl_text(json_object_get(b, "source"), src, sizeof(src)),
            ctl_text(json_object_get(b, "user_agent"), ua, sizeof(ua)),
        };
        ctl_table_row(t, row);
    }
    ctl_table_print(t, stdout);
    ctl_table_free(t);
}

static int reg_list(ctl *c, const ctl_command *cmd, int argc, char **argv)
{
    const char *pos[1];
    int npos, rc = ctl_args(cmd, argc, argv, NULL, pos, 0, 1, &npos);
    if (rc)
        return rc;
    json_t *p = json_object();
    if (npos)
        json_object_set_new(p, "aor", json_string(pos[0]));
    return call_print(c, "reg.list", p, print_bindings);
}

static void print_removed(json_t *r)
{
    json_int_t n = count(r, "removed");
    printf("removed %" JSON_INTEGER_FORMAT " binding%s\n", n, n == 1 ? "" : "s");
}

static int reg_remove(ctl *c, const ctl_command *cmd, int argc, char **argv)
{
    const char *pos[2];
    int npos, rc = ctl_args(cmd, argc, argv, NULL, pos, 1, 2, &npos);
    if (rc)
        return rc;
    json_t *p = json_pack("{s:s}", "aor", pos[0]);
    if (npos == 2)
        json_object_set_new(p, "contact", json_string(pos[1]));
    return call_print(c, "reg.remove", p, print_removed);
}

/* ------------------------------------------------------------ store */

static void print_loaded(json_t *r)
{
    printf("loaded %" JSON_INTEGER_FORMAT " records from the store\n", count(r, "loaded"));
}

static void print_written(json_t *r)
{
    printf("wrote %" JSON_INTEGER_FORMAT " records to the store\n", count(r, "written"));
}

static int store_cmd(ctl *c, const ctl_command *cmd, int argc, char **argv)
{
    int n, rc = ctl_args(cmd, argc, argv, NULL, NULL, 0, 0, &n);
    if (rc)
        return rc;
    bool sync = strcmp(cmd->name, "sync") == 0;
    return call_print(c, sync ? "store.sync" : "store.restore", json_object(),
                      sync ? print_loaded : print_written);
}

const ctl_command ctl_other_commands[] = {
    {NULL, "version", "", cmd_version},
    {NULL, "methods", "", cmd_methods},
    {NULL, "stats", "", cmd_stats},
    {NULL, "reload", "", cmd_reload},
    {NULL, "call", "METHOD [JSON_PARAMS | -]", cmd_call},
    {"profile", "size", "NAME [VALUE]", profile_size},
    {"profile", "list", "NAME [VALUE]", profile_list},
    {"profile", "values", "NAME", profile_values},
    {"profile", "all", "", profile_all},
    {"profile", "end", "NAME [VALUE]", profile_end},
    {"reg", "list", "[AOR]", reg_list},
    {"reg", "remove", "AOR [CONTACT]", reg_remove},
    {"store", "sync", "", store_cmd},
    {"store", "restore", "", store_cmd},
    {NULL, NULL, NULL, NULL},
};
