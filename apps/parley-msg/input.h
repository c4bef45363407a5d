/*
 * input.h - read a whole file or standard input as bytes, for parley-msg.
 */
#ifndef PARLEY_MSG_APP_INPUT_H
#define PARLEY_MSG_APP_INPUT_H

#include <stddef.h>

/* The most parley-msg reads; a bigger input is refused as an I/O error. */
#define PM_INPUT_MAX ((size_t)256 * 1024 * 1024)

/*
 * Read all of path (NULL or "-": standard input) into a new malloc'd buffer
 * (*buf, *len bytes; *buf is never NULL on success and has one spare byte).
 * Returns 0, or -1 after writing "parley-msg: ..." on standard error.
 */
int pm_read_input(const char *path, char **buf, size_t *len);

/* The name to print for path: "<stdin>" for NULL or "-". */
const char *pm_input_name(const char *path);

#endif
