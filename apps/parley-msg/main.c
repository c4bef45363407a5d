/*
 * parley-msg - parse, print and answer SIP messages from the command line.
 *
 *   parley-msg parse [--stream] [FILE|-]       the message as JSON
 *   parley-msg print [--stream] [FILE|-]       the message printed back
 *   parley-msg reply CODE [FILE|-] [--reason TEXT] [--tag TAG] [--stream]
 *
 * Exit status: 0 success, 1 invalid message (one line "error: REASON at
 * offset N" on stderr), 2 usage or I/O error. See docs/parley-msg.md.
 */
#include "input.h"
#include "msgjson.h"

#include <parley/msg.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PARLEY_MSG_VERSION
#define PARLEY_MSG_VERSION "0.1.0"
#endif

enum { EXIT_OKAY = 0, EXIT_INVALID = 1, EXIT_USAGE = 2 };

typedef enum command { CMD_NONE = 0, CMD_PARSE, CMD_PRINT, CMD_REPLY } command;

typedef struct options {
    command cmd;
    const char *file;   /* NULL or "-": standard input */
    bool stream;        /* --stream */
    uint16_t code;      /* reply */
    const char *reason; /* reply --reason */
    const char *tag;    /* reply --tag */
} options;

/* ---------------------------------------------------------------- help */

static const char main_help[] =
    "Usage: parley-msg COMMAND [OPTIONS] [FILE|-]\n"
    "       parley-msg --help | --version\n"
    "\n"
    "Parse, print and answer SIP messages (RFC 3261) with the Parley parser.\n"
    "FILE is read whole, as bytes; '-' or no FILE reads standard input.\n"
    "\n"
    "Commands:\n"
    "  parse [FILE|-]         parse one message and print it as JSON\n"
    "  print [FILE|-]         parse one message and print it back, byte for byte\n"
    "  reply CODE [FILE|-]    parse a request and print the response CODE to it\n"
    "  help [COMMAND]         show this help, or a command's help\n"
    "\n"
    "Options:\n"
    "  --stream               frame the input as a TCP/TLS stream message\n"
    "                         (Content-Length required and exact) instead of\n"
    "                         parsing it as a UDP datagram (the default)\n"
    "  -h, --help             show help (after a command: that command's help)\n"
    "  --version              show the version and exit\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  1  invalid message: one line \"error: REASON at offset N\" on standard error\n"
    "  2  usage or I/O error (bad option, unreadable file, write error)\n"
    "\n"
    "Run 'parley-msg COMMAND --help' for more about a command.\n";

static const char parse_help[] =
    "Usage: parley-msg parse [--stream] [FILE|-]\n"
    "\n"
    "Parse one SIP message and print it as JSON (indented by 2) on standard\n"
    "output: the start line, every header in order (name as sent, canonical\n"
    "name, raw value), the parsed key headers (Via, From, To, Call-ID, CSeq,\n"
    "Max-Forwards, Contact, Route, Record-Route, Content-Length, Content-Type,\n"
    "Expires), the body length, and \"check\": the result of the RFC 3261\n"
    "section 8.2 checks ({\"ok\": true} or {\"ok\": false, \"code\", \"reason\"}).\n"
    "A failed check still exits 0: the message parsed.\n"
    "\n"
    "Options:\n"
    "  --stream     frame the input as a stream message (pl_framer_next) and\n"
    "               parse the first message found; the default is a datagram\n"
    "  -h, --help   show this help\n"
    "\n"
    "Exit status:\n"
    "  0  the message parsed; JSON on standard output\n"
    "  1  invalid message: one line \"error: REASON at offset N\" on standard\n"
    "     error and nothing on standard output\n"
    "  2  usage or I/O error\n";

static const char print_help[] =
    "Usage: parley-msg print [--stream] [FILE|-]\n"
    "\n"
    "Parse one SIP message and print it back on standard output, as the\n"
    "parser's printer writes it: byte for byte what was read, from the start\n"
    "line to the end of the body (CRLFs before the start line and datagram\n"
    "bytes past Content-Length are not part of the message).\n"
    "\n"
    "Options:\n"
    "  --stream     frame the input as a stream message instead of a datagram\n"
    "  -h, --help   show this help\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  1  invalid message: one line \"error: REASON at offset N\" on standard error\n"
    "  2  usage or I/O error\n";

static const char reply_help[] =
    "Usage: parley-msg reply CODE [FILE|-] [--reason TEXT] [--tag TAG] [--stream]\n"
    "\n"
    "Parse a SIP request and print the response a UAS would send to it\n"
    "(RFC 3261 section 8.2.6): the status line, every Via, From, To (with a\n"
    "tag added above 100), Call-ID, CSeq, Timestamp on a 100, and\n"
    "Content-Length: 0.\n"
    "\n"
    "Arguments:\n"
    "  CODE            the status code, 100 to 699\n"
    "\n"
    "Options:\n"
    "  --reason TEXT   the reason phrase (default: the RFC's phrase for CODE)\n"
    "  --tag TAG       the To tag to add when the request's To has none\n"
    "                  (default: a random tag)\n"
    "  --stream        frame the input as a stream message instead of a datagram\n"
    "  -h, --help      show this help\n"
    "\n"
    "Exit status:\n"
    "  0  success; the response on standard output\n"
    "  1  invalid message: one line \"error: REASON at offset N\" on standard\n"
    "     error (or \"error: cannot build the response: REASON\")\n"
    "  2  usage or I/O error, including a CODE outside 100..699 and an input\n"
    "     that is a response rather than a request\n";

static const char *command_help(command c)
{
    switch (c) {
    case CMD_PARSE:
        return parse_help;
    case CMD_PRINT:
        return print_help;
    case CMD_REPLY:
        return reply_help;
    case CMD_NONE:
    default:
        return main_help;
    }
}

static const char *command_name(command c)
{
    switch (c) {
    case CMD_PARSE:
        return "parse";
    case CMD_PRINT:
        return "print";
    case CMD_REPLY:
        return "reply";
    case CMD_NONE:
    default:
        return "";
    }
}

static command command_from_name(const char *s)
{
    if (strcmp(s, "parse") == 0)
        return CMD_PARSE;
    if (strcmp(s, "print") == 0)
        return CMD_PRINT;
    if (strcmp(s, "reply") == 0)
        return CMD_REPLY;
    return CMD_NONE;
}

/* A usage error: the message, a hint, status 2. */
static int usage_error(command c, const char *what, const char *arg)
{
    if (arg != NULL)
        fprintf(stderr, "parley-msg: %s '%s'\n", what, arg);
    else
        fprintf(stderr, "parley-msg: %s\n", what);
    if (c == CMD_NONE)
        fputs("Try 'parley-msg --help'.\n", stderr);
    else
        fprintf(stderr, "Try 'parley-msg %s --help'.\n", command_name(c));
    return EXIT_USAGE;
}

/* ---------------------------------------------------------------- arguments */

static bool parse_code(const char *s, uint16_t *out)
{
    uint32_t v;

    if (pl_str_to_u32(pl_str_c(s), 699u, &v) != PL_OK || v < 100u || strlen(s) != 3)
        return false;
    *out = (uint16_t)v;
    return true;
}

/* A reason phrase: no control characters but HTAB (no CR or LF). */
static bool valid_reason(const char *s)
{
    const unsigned char *p;

    for (p = (const unsigned char *)s; *p != '\0'; p++) {
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return false;
    }
    return true;
}

/* A token (RFC 3261 section 25.1), as a tag must be. */
static bool valid_token(const char *s)
{
    const char *p;

    if (*s == '\0')
        return false;
    for (p = s; *p != '\0'; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  strchr("-.!%*_+`'~", c) != NULL;
        if (!ok)
            return false;
    }
    return true;
}

/*
 * The value of option name (e.g. "--reason") at argv[*i]: "--reason=X" or
 * "--reason X". Returns NULL when arg is not this option; sets *missing when
 * it is but has no value.
 */
static const char *option_value(int argc, char **argv, int *i, const char *name, bool *missing)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);

    *missing = false;
    if (strncmp(arg, name, n) != 0)
        return NULL;
    if (arg[n] == '=')
        return arg + n + 1;
    if (arg[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    (*i)++;
    return argv[*i];
}

/*
 * Parse the arguments after the command name. Returns -1 to go on, or an exit
 * status (help printed: 0; usage error: 2).
 */
static int parse_args(int argc, char **argv, options *o)
{
    const char *pos[2];
    int npos = 0, maxpos = o->cmd == CMD_REPLY ? 2 : 1;
    bool only_pos = false;
    int i;

    for (i = 2; i < argc; i++) {
        const char *arg = argv[i];
        bool missing = false;
        const char *v;

        if (!only_pos && strcmp(arg, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (only_pos || arg[0] != '-' || arg[1] == '\0') {
            if (npos >= maxpos)
                return usage_error(o->cmd, "unexpected argument", arg);
            pos[npos++] = arg;
            continue;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(command_help(o->cmd), stdout);
            return EXIT_OKAY;
        }
        if (strcmp(arg, "--stream") == 0) {
            o->stream = true;
            continue;
        }
        if (o->cmd == CMD_REPLY) {
            v = option_value(argc, argv, &i, "--reason", &missing);
            if (missing)
                return usage_error(o->cmd, "option needs a value:", arg);
            if (v != NULL) {
                if (!valid_reason(v))
                    return usage_error(o->cmd, "invalid reason phrase (control characters)", NULL);
                o->reason = v;
                continue;
            }
            v = option_value(argc, argv, &i, "--tag", &missing);
            if (missing)
                return usage_error(o->cmd, "option needs a value:", arg);
            if (v != NULL) {
                if (!valid_token(v))
                    return usage_error(o->cmd, "invalid tag (must be a non-empty token):", v);
                o->tag = v;
                continue;
            }
        }
        return usage_error(o->cmd, "unknown option", arg);
    }

    if (o->cmd == CMD_REPLY) {
        if (npos < 1)
            return usage_error(o->cmd, "reply needs a status CODE", NULL);
        if (!parse_code(pos[0], &o->code))
            return usage_error(o->cmd, "invalid status code (must be 100..699):", pos[0]);
        o->file = npos > 1 ? pos[1] : NULL;
    } else {
        o->file = npos > 0 ? pos[0] : NULL;
    }
    return -1;
}

/* ---------------------------------------------------------------- parsing */

static void report(const char *reason, int code, size_t offset)
{
    if (reason == NULL || *reason == '\0')
        reason = pl_err_str(code);
    if (reason == NULL)
        reason = "invalid message";
    fprintf(stderr, "error: %s at offset %zu\n", reason, offset);
}

/*
 * Parse the input as one message (datagram, or the first stream message).
 * Returns EXIT_OKAY, or EXIT_INVALID after the one error line.
 */
static int parse_input(const options *o, const char *buf, size_t len, pl_msg *msg, pl_arena *arena)
{
    pl_parse_opts popts;
    pl_error err;
    size_t base = 0, mlen = len;
    int rc;

    memset(&popts, 0, sizeof popts);
    memset(&err, 0, sizeof err);
    popts.framing = o->stream ? PL_FRAMING_STREAM : PL_FRAMING_DGRAM;
    popts.limits = NULL;

    if (o->stream) {
        pl_framer framer;
        pl_frame frame;

        memset(&frame, 0, sizeof frame);
        pl_framer_init(&framer, NULL);
        rc = pl_framer_next(&framer, buf, len, &frame, &err);
        if (rc == PL_ENEEDMORE) {
            if (frame.skip >= len)
                report("no message in the input", rc, len);
            else
                report("incomplete message: the input ends before the message does", rc, len);
            return EXIT_INVALID;
        }
        if (rc != PL_OK) {
            report(err.reason, rc, err.offset);
            return EXIT_INVALID;
        }
        if (frame.skip > len || frame.len > len - frame.skip) {
            report("stream framing went past the end of the input", PL_EPARSE, len);
            return EXIT_INVALID;
        }
        base = frame.skip;
        mlen = frame.len;
        memset(&err, 0, sizeof err);
    }

    rc = pl_msg_parse(msg, buf + base, mlen, arena, &popts, &err);
    if (rc != PL_OK) {
        report(err.reason, rc, base + err.offset);
        return EXIT_INVALID;
    }
    return EXIT_OKAY;
}

/* ---------------------------------------------------------------- output */

static int finish_output(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fputs("parley-msg: error writing to standard output\n", stderr);
        return EXIT_USAGE;
    }
    return EXIT_OKAY;
}

/* Print msg to standard output as pl_msg_print() writes it. */
static int print_msg(const pl_msg *msg)
{
    size_t cap = pl_msg_print_len(msg), written = 0;
    char *out = malloc(cap == 0 ? 1 : cap);
    int rc;

    if (out == NULL) {
        fputs("parley-msg: out of memory\n", stderr);
        return EXIT_USAGE;
    }
    rc = pl_msg_print(msg, out, cap, &written);
    if (rc != PL_OK || written > cap) {
        fprintf(stderr, "parley-msg: cannot print the message: %s\n", pl_err_str(rc));
        free(out);
        return EXIT_USAGE;
    }
    if (written > 0 && fwrite(out, 1, written, stdout) != written) {
        free(out);
        fputs("parley-msg: error writing to standard output\n", stderr);
        return EXIT_USAGE;
    }
    free(out);
    return finish_output();
}

/* ---------------------------------------------------------------- commands */

static int cmd_parse(const pl_msg *msg)
{
    json_t *root = pm_msg_to_json(msg);
    pl_error err;
    uint16_t code = 0;
    int rc, status;

    memset(&err, 0, sizeof err);
    rc = pl_msg_check(msg, &code, &err);
    if (rc == PL_OK)
        json_object_set_new(root, "check", pm_check_to_json(true, 0, NULL));
    else
        json_object_set_new(
            root, "check",
            pm_check_to_json(false, code, err.reason != NULL ? err.reason : pl_err_str(rc)));

    if (json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
        fputc('\n', stdout) == EOF) {
        json_decref(root);
        fputs("parley-msg: error writing to standard output\n", stderr);
        return EXIT_USAGE;
    }
    json_decref(root);
    status = finish_output();
    return status;
}

static int cmd_reply(const options *o, const pl_msg *req, pl_arena *arena)
{
    pl_msg resp;
    pl_error err;
    int rc;

    if (!req->is_request) {
        fputs("parley-msg: reply: the input is a response, not a request\n", stderr);
        return EXIT_USAGE;
    }
    memset(&resp, 0, sizeof resp);
    memset(&err, 0, sizeof err);
    rc = pl_msg_build_response(&resp, arena, req, o->code,
                               o->reason != NULL ? pl_str_c(o->reason) : PL_STR_NULL,
                               o->tag != NULL ? pl_str_c(o->tag) : PL_STR_NULL, &err);
    if (rc != PL_OK) {
        fprintf(stderr, "error: cannot build the response: %s\n",
                err.reason != NULL ? err.reason : pl_err_str(rc));
        return rc == PL_ENOMEM ? EXIT_USAGE : EXIT_INVALID;
    }
    return print_msg(&resp);
}

/* Aligned first block for the arena: one parse of a typical message fits. */
static max_align_t arena_block[65536 / sizeof(max_align_t)];

static int run(const options *o)
{
    pl_arena arena;
    pl_msg msg;
    char *buf = NULL;
    size_t len = 0;
    int status;

    if (pm_read_input(o->file, &buf, &len) != 0)
        return EXIT_USAGE;

    pl_arena_init(&arena, arena_block, sizeof arena_block, 0);
    memset(&msg, 0, sizeof msg);
    status = parse_input(o, buf, len, &msg, &arena);
    if (status == EXIT_OKAY) {
        switch (o->cmd) {
        case CMD_PARSE:
            status = cmd_parse(&msg);
            break;
        case CMD_PRINT:
            status = print_msg(&msg);
            break;
        case CMD_REPLY:
            status = cmd_reply(o, &msg, &arena);
            break;
        case CMD_NONE:
        default:
            status = EXIT_USAGE;
            break;
        }
    }
    pl_arena_free(&arena);
    free(buf);
    return status;
}

int main(int argc, char **argv)
{
    options o;
    const char *first;
    int status;

    memset(&o, 0, sizeof o);
    if (argc < 2) {
        fputs(main_help, stderr);
        return EXIT_USAGE;
    }
    first = argv[1];
    if (strcmp(first, "-h") == 0 || strcmp(first, "--help") == 0) {
        fputs(main_help, stdout);
        return EXIT_OKAY;
    }
    if (strcmp(first, "--version") == 0) {
        fputs("parley-msg " PARLEY_MSG_VERSION "\n", stdout);
        return EXIT_OKAY;
    }
    if (strcmp(first, "help") == 0) {
        command c = CMD_NONE;
        if (argc > 3)
            return usage_error(CMD_NONE, "help takes at most one command", NULL);
        if (argc == 3) {
            c = command_from_name(argv[2]);
            if (c == CMD_NONE)
                return usage_error(CMD_NONE, "unknown command", argv[2]);
        }
        fputs(command_help(c), stdout);
        return EXIT_OKAY;
    }
    if (first[0] == '-')
        return usage_error(CMD_NONE, "unknown option", first);
    o.cmd = command_from_name(first);
    if (o.cmd == CMD_NONE)
        return usage_error(CMD_NONE, "unknown command", first);

    status = parse_args(argc, argv, &o);
    if (status >= 0)
        return status;
    return run(&o);
}
