/*
 * cmd_dlg.c - parleyctl dlg ...: the dialog commands, over the dlg.*
 * methods of docs/mgmt.md. A dialog in a result is the object D there;
 * list and list-ctx print a table of them, show prints one in full.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "table.h"

/* The states by number (include/parley/dialog.h) and by name. */
static const char *const STATES[] = {NULL,        "unconfirmed", "early", "confirmed-not-acked",
                                     "confirmed", "deleted"};

/* "4", "confirmed", "confirmed_na" -> 4; 0 when it is none of them. */
static int state_number(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (*s && !*end)
        return n >= 1 && n <= 5 ? (int)n : 0;
    if (strcmp(s, "confirmed_na") == 0 || strcmp(s, "confirmed-na") == 0)
        return 3;
    for (int i = 1; i <= 5; i++)
        if (strcmp(s, STATES[i]) == 0)
            return i;
    return 0;
}

/* A whole number in [min, max] or false. */
static bool whole(const char *s, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || !*s || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* ------------------------------------------------------------ list */

static void print_extras(json_t *d)
{
    char buf[512];
    json_t *values = json_object_get(d, "values");
    json_t *profiles = json_object_get(d, "profiles");
    json_t *context = json_object_get(d, "context");
    const char *k;
    json_t *v;
    if (json_object_size(values)) {
        printf("    values:");
        json_object_foreach(values, k, v)
        {
            printf(" %s=%s", k, ctl_text(v, buf, sizeof(buf)));
        }
        printf("\n");
    }
    if (json_array_size(profiles)) {
        printf("    profiles:");
        size_t i;
        json_array_foreach(profiles, i, v)
        {
            json_t *val = json_object_get(v, "value");
            printf(" %s%s%s", json_string_value(json_object_get(v, "name")),
                   json_is_string(val) ? "=" : "",
                   json_is_string(val) ? json_string_value(val) : "");
        }
        printf("\n");
    }
    if (json_object_size(context)) {
        printf("    context:");
        json_object_foreach(context, k, v)
        {
            printf(" %s=%s", k, ctl_text(v, buf, sizeof(buf)));
        }
        printf("\n");
    }
}

/* The table of a dlg.list / dlg.list_ctx result; with_ctx adds each dialog's extras. */
static void print_dialogs(json_t *result, bool with_ctx)
{
    json_t *dialogs = json_object_get(result, "dialogs");
    size_t n = json_array_size(dialogs);
    json_int_t count = json_integer_value(json_object_get(result, "count"));
    if (n == 0) {
        printf("no dialogs\n");
        return;
    }
    static const char *const hdr[] = {"ID", "STATE", "CALL-ID", "FROM", "TO", "AGE", "LEFT", NULL};
    ctl_table *t = ctl_table_new(hdr);
    size_t i;
    json_t *d;
    json_array_foreach(dialogs, i, d)
    {
        char id[64], state[32], cid[256], from[256], to[256], age[32], left[32];
        const char *row[] = {
            ctl_text(json_object_get(d, "id"), id, sizeof(id)),
            ctl_text(json_object_get(d, "state_name"), state, sizeof(state)),
            ctl_text(json_object_get(d, "callid"), cid, sizeof(cid)),
            ctl_text(json_object_get(d, "from_uri"), from, sizeof(from)),
            ctl_text(json_object_get(d, "to_uri"), to, sizeof(to)),
            ctl_duration(json_object_get(d, "age_s"), age, sizeof(age)),
            ctl_duration(json_object_get(d, "lifetime_left_s"), left, sizeof(left)),
        };
        ctl_table_row(t, row);
    }
    if (!with_ctx) {
        ctl_table_print(t, stdout);
    } else {
        /* Print the aligned table line by line, each dialog's extras under it. */
        char *text;
        size_t len;
        FILE *mem = open_memstream(&text, &len);
        ctl_table_print(t, mem);
        fclose(mem);
        char *line = text;
        for (size_t r = 0; *line; r++) {
            char *nl = strchr(line, '\n');
            printf("%.*s\n", (int)(nl - line), line);
            if (r > 0)
                print_extras(json_array_get(dialogs, r - 1));
            line = nl + 1;
        }
        free(text);
    }
    ctl_table_free(t);
    if (count > (json_int_t)n)
        printf("(%zu of %" JSON_INTEGER_FORMAT " dialogs shown: --limit)\n", n, count);
}

static int dlg_list(ctl *c, const ctl_command *cmd, int argc, char **argv)
{
    const char *state = NULL, *callid = NULL, *profile = NULL, *value = NULL, *limit = NULL;
    const ctl_opt opts[] = {{"--state", &state, NULL, NULL},     {"--callid", &callid, NULL, NULL},
                            {"--profile", &profile, NULL, NULL}, {"--value", &value, NULL, NULL},
                            {"--limit", &limit, NULL, NULL},     {NULL, NULL, NULL, NULL}};
    int npos, rc = ctl_args(cmd, argc, argv, opts, NULL, 0, 0, &npos);
    if (rc)
        return rc;
    json_t *params = json_object();
    if (state) {
        int s = state_number(state);
        if (!s) {
            json_decref(params);
            return ctl_usage(cmd,
                             "bad --state '%s' (1-5, or unconfirmed, early, "
                             "confirmed-not-acked, confirmed, deleted)",
                             state);
        }
        json_object_set_new(params, "state", json_integer(s));
    }
    if (callid)
        json_object_set_new(params, "callid", json_string(callid));
    if (value && !profile) {
        json_decref(params);
        return ctl_usage(cmd, "--value needs --profile");
    }
    if (profile)
        json_object_set_new(params, "profile", json_string(profile));
    if (value)
        json_object_set_new(params, "value", json_string(value));
    if (limit) {
        long long n;
        if (!whole(limit, 1, 100000000, &n)) {
            json_decref(params);
            return ctl_usage(cmd, "bad --limit '%s' (a whole number, at least 1)", limit);
        }
        json_object_set_new(params, "limit", json_integer(n));
    }
    bool ctx = strcmp(cmd->name, "list-ctx") == 0;
    json_t *result;
    rc = ctl_call(c, ctx ? "dlg.list_ctx" : "dlg.list", params, &result);
    if (rc)
        return rc;
    if (c->json)
        ctl_print_json(result);
    else
        print_dialogs(result, ctx);
    json_decref(result);
    return 0;
}

/* ------------------------------------------------------------ show */

static void print_dialog(json_t *d)
{
    static const struct {
        const char *key, *label;
        int kind; /* 0 text, 1 duration, 2 state */
    } fields[] = {
        {"id", "id", 0},
        {"state", "state", 2},
        {"callid", "call-id", 0},
        {"from_uri", "from", 0},
        {"to_uri", "to", 0},
        {"caller_tag", "caller tag", 0},
        {"callee_tag", "callee tag", 0},
        {"caller_contact", "caller contact", 0},
        {"callee_contact", "callee contact", 0},
        {"caller_cseq", "caller cseq", 0},
        {"callee_cseq", "callee cseq", 0},
        {"flags", "flags", 0},
        {"age_s", "age", 1},
        {"lifetime_left_s", "lifetime left", 1},
        {"end_reason", "end reason", 0},
        {"worker", "worker", 0},
    };
    char buf[1024];
    size_t nf = sizeof(fields) / sizeof(*fields);
    for (size_t i = 0; i < nf; i++) {
        json_t *v = json_object_get(d, fields[i].key);
        const char *text;
        if (fields[i].kind == 1) {
            text = ctl_duration(v, buf, sizeof(buf));
        } else if (fields[i].kind == 2) {
            snprintf(buf, sizeof(buf), "%s (%" JSON_INTEGER_FORMAT ")",
                     json_string_value(json_object_get(d, "state_name"))
                         ? json_string_value(json_object_get(d, "state_name"))
                         : "?",
                     json_integer_value(v));
            text = buf;
        } else {
            text = ctl_text(v, buf, sizeof(buf));
        }
        char label[32];
        snprintf(label, sizeof(label), "%s:", fields[i].label);
        printf("%-16s%s\n", label, text);
    }
    /* Anything else the daemon adds, after the known fields. */
    const char *k;
    json_t *v;
    json_object_foreach(d, k, v)
    {
        bool known = strcmp(k, "state_name") == 0 || strcmp(k, "values") == 0 ||
                     strcmp(k, "profiles") == 0 || strcmp(k, "context") == 0;
        for (size_t i = 0; i < nf && !known; i++)
            known = strcmp(k, fields[i].key) == 0;
        if (!known) {
            char label[64];
            snprintf(label, sizeof(label), "%s:", k);
            printf("%-16s%s\n", label, ctl_text(v, buf, sizeof(buf)));
        }
    }
    json_t *values = json_object_get(d, "values");
    printf("values:%s\n", json_object_size(values) ? "" : " -");
    json_object_foreach(values, k, v)
    {
        printf("  %s = %s\n", k, ctl_text(v, buf, sizeof(buf)));
    }
    json_t *profiles = json_object_get(d, "profiles");
    printf("profiles:%s\n", json_array_size(profiles) ? "" : " -");
    size_t i;
    json_array_foreach(profiles, i, v)
    {
        json_t *val = json_object_get(v, "value");
        printf("  %s%s%s\n", json_string_value(json_object_get(v, "name")),
               json_is_string(val) ? " = " : "", json_is_string(val) ? json_string_value(val) : "");
    }
    json_t *context = json_object_get(d, "context");
    printf("context:%s\n", json_object_size(context) ? "" : " -");
    json_object_foreach(context, k, v)
    {
        printf("  %s = %s\n", k, ctl_text(v, buf, sizeof(buf)));
    }
}

static int dlg_show(ctl *c, const ctl_command *cmd, int argc, char **argv)
{
    const char *pos[1];
    int npos, rc = ctl_args(cmd, argc, argv, NULL, pos, 1, 1, &npos);
    if (rc)
        return rc;
    json_t *result;
    rc = ctl_call(c, "dlg.show", json_pack("{s:s}", "id", pos[0]), &result);
    if (rc)
        return rc;
    if (c->json)
        ctl_print_json(result);
    else
        print_dialog(result);
    json_decref(result);
    return 0;
}

/* ------------------------------------------------------------ end */

static int dlg_end(ctl *c, const ctl_command *cmd, int argc, char **argv)
{
    const char *callid = NULL, *reason = NULL, *pos[1];
    json_t *headers = json_array();
    const ctl_opt opts[] = {{"--callid", &callid, NULL, NULL},
                            {"--reason", &reason, NULL, NULL},
                            {"--header", NULL, NULL, headers},
                            {"-H", NULL, NULL, headers},
                            {NULL, NULL, NULL, NULL}};
    int npos, rc = ctl_args(cmd, argc, argv, opts, pos, 0, 1, &npos);
    if (!rc && (npos == 1) == (callid != NULL))
        rc = ctl_usage(cmd, npos ? "give an ID or --callid, not both" : "missing ID or --callid");
    /* Each header a "Name: value" line; joined with CRLF for the daemon. */
    size_t i;
    json_t *h;
    char *joined = NULL;
    size_t jlen = 0;
    FILE *mem = open_memstream(&joined, &jlen);
    json_array_foreach(headers, i, h)
    {
        const char *s = json_string_value(h);
        const char *colon = strchr(s, ':');
        if (!rc && (!colon || colon == s || strpbrk(s, "\r\n")))
            rc = ctl_usage(cmd, "bad --header '%s' (want 'Name: value')", s);
        fprintf(mem, "%s\r\n", s);
    }
    fclose(mem);
    json_decref(headers);
    if (rc) {
        free(joined);
        return rc;
    }
    json_t *params = json_object();
    if (npos)
        json_object_set_new(params, "id", json_string(pos[0]));
    else
        json_object_set_new(params, "callid", json_string(callid));
    if (reason)
        json_object_set_new(params, "reason", json_string(reason));
    if (jlen)
        json_object_set_new(params, "headers", json_string(joined));
    free(joined);
    json_t *result;
    rc = ctl_call(c, "dlg.end", params, &result);
    if (rc)
        return rc;
    if (c->json)
        ctl_print_json(result);
    else
        printf("ended dialog %s\n", json_string_value(json_object_get(result, "ended"))
                                        ? json_string_value(json_object_get(result, "ended"))
                                        : (npos ? pos[0] : callid));
    json_decref(result);
    return 0;
}

/* ------------------------------------------------------------ profiles and values */

static int dlg_profile(ctl *c, const ctl_command *cmd, int argc, char **argv)
{
    bool set = strcmp(cmd->name, "set-profile") == 0;
    bool clear = false;
    const char *pos[3];
    const ctl_opt set_opts[] = {{"--clear", NULL, &clear, NULL}, {NULL, NULL, NULL, NULL}};
    int npos, rc = ctl_args(cmd, argc, argv, set ? set_opts : NULL, pos, 2, 3, &npos);
    if (rc)
        return rc;
    json_t *params = json_pack("{s:s, s:s}", "id", pos[0], "profile", pos[1]);
    if (npos == 3)
        json_object_set_new(params, "value", json_string(pos[2]));
    if (clear)
        json_object_set_new(params, "clear", json_true());
    json_t *result;
    rc = ctl_call(c, set ? "dlg.set_profile" : "dlg.unset_profile", params, &result);
    if (rc)
        return rc;
    if (c->json)
        ctl_print_json(result);
    else
        printf("dialog %s %s profile %s%s%s\n", pos[0], set ? "added to" : "removed from", pos[1],
               npos == 3 ? " with value " : "", npos == 3 ? pos[2] : "");
    json_decref(result);
    return 0;
}

static int dlg_push_value(ctl *c, const ctl_command *cmd, int argc, char **argv)
{
    bool as_int = false;
    const char *pos[3];
    const ctl_opt opts[] = {{"--int", NULL, &as_int, NULL}, {NULL, NULL, NULL, NULL}};
    int npos, rc = ctl_args(cmd, argc, argv, opts, pos, 3, 3, &npos);
    if (rc)
        return rc;
    json_t *value;
    if (as_int) {
        long long n;
        if (!whole(pos[2], INT64_MIN, INT64_MAX, &n))
            return ctl_usage(cmd, "--int: '%s' is not a whole number", pos[2]);
        value = json_integer(n);
    } else {
        value = json_string(pos[2]);
    }
    json_t *params = json_pack("{s:s, s:s, s:o}", "id", pos[0], "name", pos[1], "value", value);
    json_t *result;
    rc = ctl_call(c, "dlg.push_value", params, &result);
    if (rc)
        return rc;
    if (c->json)
        ctl_print_json(result);
    else
        printf("dialog %s: %s = %s\n", pos[0], pos[1], pos[2]);
    json_decref(result);
    return 0;
}

const ctl_command ctl_dlg_commands[] = {
    {"dlg", "list", "[--state S] [--callid X] [--profile NAME [--value V]] [--limit N]", dlg_list},
    {"dlg", "list-ctx", "[--state S] [--callid X] [--profile NAME [--value V]] [--limit N]",
     dlg_list},
    {"dlg", "show", "ID", dlg_show},
    {"dlg", "end", "ID | --callid X [--reason R] [--header 'Name: value']...", dlg_end},
    {"dlg", "set-profile", "ID NAME [VALUE] [--clear]", dlg_profile},
    {"dlg", "unset-profile", "ID NAME [VALUE]", dlg_profile},
    {"dlg", "push-value", "ID NAME VALUE [--int]", dlg_push_value},
    {NULL, NULL, NULL, NULL},
};
