/*
 * table.h - parleyctl's readable output: aligned tables with a header
 * line, "key: value" blocks, and JSON values as short text.
 */
#ifndef PARLEYCTL_TABLE_H
#define PARLEYCTL_TABLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct ctl_table ctl_table;

/* A table with ncols columns named by the NULL-terminated header list. */
ctl_table *ctl_table_new(const char *const *headers);
/* Add a row of ncols cells (copied). */
void ctl_table_row(ctl_table *t, const char *const *cells);
/* Add a row of ncols cells, each a JSON value (see ctl_text). */
void ctl_table_row_json(ctl_table *t, json_t *const *cells);
size_t ctl_table_rows(const ctl_table *t);
/* Print: the header line, then each row, columns two spaces apart. */
void ctl_table_print(const ctl_table *t, FILE *out);
void ctl_table_free(ctl_table *t);

/*
 * A JSON value as text into buf: strings as they are, numbers in decimal,
 * true/false as yes/no, null or absent as "-", arrays joined with ", ",
 * objects as compact JSON. Returns buf.
 */
const char *ctl_text(json_t *v, char *buf, size_t cap);

/* Seconds as "45s", "12m03s", "2h05m", "3d04h"; null or negative: "-". */
const char *ctl_duration(json_t *v, char *buf, size_t cap);

/*
 * Print any JSON value for a person: an object as "key: value" lines
 * (keys aligned; nested objects indented under their key; an array of
 * objects as a table whose columns are the first element's keys), an
 * array of scalars one per line.
 */
void ctl_print_tree(json_t *v, int indent, FILE *out);

#endif
