/*
 * ctl.h - what parleyctl's files share: the connection settings, the
 * exit statuses, argument parsing, and the JSON-RPC call.
 */
#ifndef PARLEYCTL_CTL_H
#define PARLEYCTL_CTL_H

#include <jansson.h>
#include <stdbool.h>

/* Exit statuses (docs/parleyctl.md). */
enum {
    CTL_EXIT_OK = 0,
    CTL_EXIT_ERROR = 1,   /* the daemon answered with an error */
    CTL_EXIT_USAGE = 2,   /* a bad command line */
    CTL_EXIT_CONNECT = 3, /* the daemon cannot be reached */
    CTL_EXIT_AUTH = 4,    /* wrong or missing token */
};

typedef struct ctl {
    const char *addr;
    const char *token;
    bool json;
    double timeout_s;
} ctl;

/* A command: its group ("dlg", or NULL at the top), name, and runner. */
typedef struct ctl_command {
    const char *group;
    const char *name;
    const char *args; /* its arguments, for messages: "ID NAME [VALUE] [--clear]" */
    int (*run)(ctl *c, const struct ctl_command *cmd, int argc, char **argv);
} ctl_command;

/*
 * An option a command takes: "--state" with a value (value set), a flag
 * (flag set), or a repeatable value (list: each one appended as a string).
 */
typedef struct ctl_opt {
    const char *name;
    const char **value;
    bool *flag;
    json_t *list;
} ctl_opt;

/*
 * Split argv into opts (NULL-name-terminated) and positionals; between
 * min and max positionals are wanted ("--" ends the options). Returns 0,
 * or CTL_EXIT_USAGE after saying why.
 */
int ctl_args(const ctl_command *cmd, int argc, char **argv, const ctl_opt *opts, const char **pos,
             int min, int max, int *npos);

/* "parleyctl: GROUP NAME: MESSAGE" and a pointer to --help; returns CTL_EXIT_USAGE. */
int ctl_usage(const ctl_command *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Call method with params (taken; NULL: none). On success *result holds
 * the result (a new reference) and 0 is returned; otherwise the failure
 * is printed and its exit status returned.
 */
int ctl_call(ctl *c, const char *method, json_t *params, json_t **result);

/* Print result as JSON (--json). */
void ctl_print_json(json_t *result);

/* The commands of each file. */
extern const ctl_command ctl_dlg_commands[];
extern const ctl_command ctl_other_commands[];

#endif
