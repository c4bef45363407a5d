/*
 * input.c - read a whole file or standard input as bytes. Nothing here
 * treats the bytes as text: NUL bytes and non-UTF-8 bytes come through.
 */
#include "input.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *pm_input_name(const char *path)
{
    if (path == NULL || strcmp(path, "-") == 0)
        return "<stdin>";
    return path;
}

int pm_read_input(const char *path, char **buf, size_t *len)
{
    const char *name = pm_input_name(path);
    bool is_stdin = path == NULL || strcmp(path, "-") == 0;
    FILE *f;
    char *data = NULL;
    size_t cap = 0, n = 0;
    int saved;

    *buf = NULL;
    *len = 0;
    if (is_stdin) {
        f = stdin;
    } else {
        f = fopen(path, "rb");
        if (f == NULL) {
            fprintf(stderr, "parley-msg: cannot open %s: %s\n", name, strerror(errno));
            return -1;
        }
    }

    for (;;) {
        size_t got;
        if (cap - n < 2) { /* keep one spare byte past the data */
            size_t ncap = cap == 0 ? 65536 : cap * 2;
            char *p;
            if (ncap > PM_INPUT_MAX + 1)
                ncap = PM_INPUT_MAX + 1;
            if (ncap <= cap) {
                fprintf(stderr, "parley-msg: %s: input larger than %zu bytes\n", name,
                        PM_INPUT_MAX);
                goto fail;
            }
            p = realloc(data, ncap);
            if (p == NULL) {
                fprintf(stderr, "parley-msg: %s: out of memory\n", name);
                goto fail;
            }
            data = p;
            cap = ncap;
        }
        errno = 0;
        got = fread(data + n, 1, cap - n - 1, f);
        n += got;
        if (ferror(f)) {
            saved = errno;
            fprintf(stderr, "parley-msg: cannot read %s: %s\n", name,
                    saved != 0 ? strerror(saved) : "read error");
            goto fail;
        }
        if (got == 0 || feof(f))
            break;
    }

    if (!is_stdin)
        fclose(f);
    data[n] = '\0'; /* not relied on; keeps debuggers and printf("%s") safe */
    *buf = data;
    *len = n;
    return 0;

fail:
    if (!is_stdin)
        fclose(f);
    free(data);
    return -1;
}
