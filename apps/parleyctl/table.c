/*
 * table.c - parleyctl's readable output. Tables are built whole before
 * printing so that each column is as wide as its widest cell; the last
 * column is not padded (no trailing blanks).
 */
#include <stdlib.h>
#include <string.h>

#include "table.h"

struct ctl_table {
    size_t ncols, nrows, cap;
    char **cells; /* (nrows + 1) * ncols: the header first */
};

ctl_table *ctl_table_new(const char *const *headers)
{
    ctl_table *t = calloc(1, sizeof(*t));
    if (!t)
        abort();
    while (headers[t->ncols])
        t->ncols++;
    ctl_table_row(t, headers);
    t->nrows = 0; /* the header is row -1 */
    return t;
}

void ctl_table_row(ctl_table *t, const char *const *cells)
{
    size_t have = t->cells ? t->nrows + 1 : 0;
    if (have + 1 > t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = realloc(t->cells, t->cap * t->ncols * sizeof(char *));
        if (!t->cells)
            abort();
    }
    for (size_t c = 0; c < t->ncols; c++) {
        t->cells[have * t->ncols + c] = strdup(cells[c] ? cells[c] : "-");
        if (!t->cells[have * t->ncols + c])
            abort();
    }
    if (have)
        t->nrows++;
}

void ctl_table_row_json(ctl_table *t, json_t *const *cells)
{
    char **text = calloc(t->ncols, sizeof(char *));
    char buf[512];
    for (size_t c = 0; c < t->ncols; c++)
        text[c] = strdup(ctl_text(cells[c], buf, sizeof(buf)));
    ctl_table_row(t, (const char *const *)text);
    for (size_t c = 0; c < t->ncols; c++)
        free(text[c]);
    free(text);
}

size_t ctl_table_rows(const ctl_table *t)
{
    return t->nrows;
}

void ctl_table_print(const ctl_table *t, FILE *out)
{
    size_t *w = calloc(t->ncols, sizeof(size_t));
    for (size_t r = 0; r <= t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t l = strlen(t->cells[r * t->ncols + c]);
            if (l > w[c])
                w[c] = l;
        }
    for (size_t r = 0; r <= t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * t->ncols + c];
            if (c + 1 < t->ncols)
                fprintf(out, "%-*s  ", (int)w[c], s);
            else
                fprintf(out, "%s\n", s);
        }
    }
    free(w);
}

void ctl_table_free(ctl_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < (t->nrows + 1) * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

const char *ctl_text(json_t *v, char *buf, size_t cap)
{
    if (!v || json_is_null(v)) {
        snprintf(buf, cap, "-");
    } else if (json_is_string(v)) {
        snprintf(buf, cap, "%s", json_string_value(v));
    } else if (json_is_integer(v)) {
        snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_real(v)) {
        snprintf(buf, cap, "%g", json_real_value(v));
    } else if (json_is_boolean(v)) {
        snprintf(buf, cap, "%s", json_is_true(v) ? "yes" : "no");
    } else if (json_is_array(v)) {
        size_t i, n = 0;
        json_t *e;
        buf[0] = '\0';
        json_array_foreach(v, i, e)
        {
            char one[256];
            ctl_text(e, one, sizeof(one));
            int w = snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", one);
            if (w < 0 || (size_t)w >= cap - n)
                break;
            n += (size_t)w;
        }
        if (!n)
            snprintf(buf, cap, "-");
    } else {
        char *s = json_dumps(v, JSON_COMPACT);
        snprintf(buf, cap, "%s", s ? s : "?");
        free(s);
    }
    return buf;
}

const char *ctl_duration(json_t *v, char *buf, size_t cap)
{
    if (!json_is_number(v) || json_number_value(v) < 0) {
        snprintf(buf, cap, "-");
        return buf;
    }
    long long s = (long long)json_number_value(v);
    if (s < 60)
        snprintf(buf, cap, "%llds", s);
    else if (s < 3600)
        snprintf(buf, cap, "%lldm%02llds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, cap, "%lldh%02lldm", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, cap, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
    return buf;
}

/* Printed on its key's line: a scalar, an array of scalars, an empty object. */
static bool is_inline(json_t *v)
{
    if (json_is_object(v))
        return json_object_size(v) == 0;
    if (json_is_array(v))
        return !json_is_object(json_array_get(v, 0));
    return true;
}

/* An array of objects as a table: columns from the first element's keys. */
static void print_object_array(json_t *a, int indent, FILE *out)
{
    json_t *first = json_array_get(a, 0);
    size_t n = json_object_size(first);
    const char **hdr = calloc(n + 1, sizeof(char *));
    char **upper = calloc(n, sizeof(char *));
    const char **keys = calloc(n, sizeof(char *));
    const char *k;
    json_t *v;
    size_t c = 0;
    json_object_foreach(first, k, v)
    {
        keys[c] = k;
        upper[c] = strdup(k);
        for (char *p = upper[c]; *p; p++)
            *p = *p == '_' ? '-' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        hdr[c] = upper[c];
        c++;
    }
    ctl_table *t = ctl_table_new(hdr);
    json_t **cells = calloc(n, sizeof(json_t *));
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        for (c = 0; c < n; c++)
            cells[c] = json_object_get(e, keys[c]);
        ctl_table_row_json(t, cells);
    }
    /* Indent every line of the table. */
    char *text;
    size_t len;
    FILE *mem = open_memstream(&text, &len);
    ctl_table_print(t, mem);
    fclose(mem);
    for (char *l = text; *l;) {
        char *nl = strchr(l, '\n');
        fprintf(out, "%*s%.*s\n", indent, "", (int)(nl - l), l);
        l = nl + 1;
    }
    free(text);
    ctl_table_free(t);
    for (c = 0; c < n; c++)
        free(upper[c]);
    free(upper);
    free(hdr);
    free(keys);
    free(cells);
}

void ctl_print_tree(json_t *v, int indent, FILE *out)
{
    char buf[1024];
    if (json_is_array(v)) {
        if (json_array_size(v) && json_is_object(json_array_get(v, 0))) {
            print_object_array(v, indent, out);
            return;
        }
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            fprintf(out, "%*s%s\n", indent, "", ctl_text(e, buf, sizeof(buf)));
        }
        return;
    }
    if (!json_is_object(v)) {
        fprintf(out, "%*s%s\n", indent, "", ctl_text(v, buf, sizeof(buf)));
        return;
    }
    int w = 0;
    const char *k;
    json_t *e;
    json_object_foreach(v, k, e)
    {
        if (is_inline(e) && (int)strlen(k) > w)
            w = (int)strlen(k);
    }
    json_object_foreach(v, k, e)
    {
        if (is_inline(e)) {
            const char *text = json_is_object(e) ? "-" : ctl_text(e, buf, sizeof(buf));
            fprintf(out, "%*s%s:%*s %s\n", indent, "", k, w - (int)strlen(k), "", text);
        } else {
            fprintf(out, "%*s%s:\n", indent, "", k);
            ctl_print_tree(e, indent + 2, out);
        }
    }
}
