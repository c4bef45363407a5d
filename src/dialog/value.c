/*
 * value.c - key/value data on a dialog: strings and integers, replaced by
 * name, read as a view, into a caller's buffer, or as a copy.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialog_int.h"

static dlg_val *find(const pl_dlg *d, pl_str name)
{
    for (dlg_val *v = d->vals; v; v = v->next)
        if (pl_str_eq(v->name, name))
            return v;
    return NULL;
}

static int set(pl_dlg *d, pl_str name, pl_dlg_vtype type, pl_str s, int64_t i)
{
    if (!name.len)
        return PL_EINVAL;
    size_t slen = type == PL_DLG_V_STR ? s.len : 0;
    dlg_val *v = malloc(sizeof(*v) + name.len + slen);
    if (!v)
        return PL_ENOMEM;
    char *p = (char *)(v + 1);
    memcpy(p, name.p, name.len);
    if (slen)
        memcpy(p + name.len, s.p, slen);
    v->name = (pl_str){p, name.len};
    v->v.type = type;
    v->v.s = type == PL_DLG_V_STR ? (pl_str){p + name.len, slen} : PL_STR_NULL;
    v->v.i = type == PL_DLG_V_INT ? i : 0;
    /* Replace in place, keeping the order values were first stored in. */
    for (dlg_val **pp = &d->vals; *pp; pp = &(*pp)->next) {
        if (pl_str_eq((*pp)->name, name)) {
            v->next = (*pp)->next;
            free(*pp);
            *pp = v;
            return PL_OK;
        }
    }
    v->next = NULL;
    dlg_val **pp = &d->vals;
    while (*pp)
        pp = &(*pp)->next;
    *pp = v;
    return PL_OK;
}

int pl_dlg_value_set_str(pl_dlg *d, pl_str name, pl_str value)
{
    int rc = set(d, name, PL_DLG_V_STR, value, 0);
    if (rc == PL_OK)
        pl__dlg_changed(d, PL_DLG_CHANGE_UPDATED);
    return rc;
}

int pl_dlg_value_set_int(pl_dlg *d, pl_str name, int64_t value)
{
    int rc = set(d, name, PL_DLG_V_INT, PL_STR_NULL, value);
    if (rc == PL_OK)
        pl__dlg_changed(d, PL_DLG_CHANGE_UPDATED);
    return rc;
}

int pl_dlg_value_unset(pl_dlg *d, pl_str name)
{
    for (dlg_val **pp = &d->vals; *pp; pp = &(*pp)->next) {
        if (pl_str_eq((*pp)->name, name)) {
            dlg_val *v = *pp;
            *pp = v->next;
            free(v);
            pl__dlg_changed(d, PL_DLG_CHANGE_UPDATED);
            return PL_OK;
        }
    }
    return PL_ENOTFOUND;
}

int pl_dlg_value_get(const pl_dlg *d, pl_str name, pl_dlg_value *out)
{
    dlg_val *v = find(d, name);
    if (!v)
        return PL_ENOTFOUND;
    *out = v->v;
    return PL_OK;
}

/* The value as text into buf (cap bytes, NUL added); *len the text's length. */
static int print(const dlg_val *v, char *buf, size_t cap, size_t *len)
{
    char num[24];
    pl_str s = v->v.s;
    if (v->v.type == PL_DLG_V_INT) {
        int n = snprintf(num, sizeof(num), "%" PRId64, v->v.i);
        s = (pl_str){num, (size_t)n};
    }
    *len = s.len;
    if (!buf || cap < s.len + 1)
        return PL_ENOSPC;
    if (s.len)
        memcpy(buf, s.p, s.len);
    buf[s.len] = '\0';
    return PL_OK;
}

int pl_dlg_value_fetch(const pl_dlg *d, pl_str name, char *buf, size_t cap, size_t *len)
{
    dlg_val *v = find(d, name);
    if (!v)
        return PL_ENOTFOUND;
    size_t n;
    int rc = print(v, buf, cap, &n);
    if (len)
        *len = n;
    return rc;
}

char *pl_dlg_value_dup(const pl_dlg *d, pl_str name)
{
    dlg_val *v = find(d, name);
    if (!v)
        return NULL;
    size_t n;
    print(v, NULL, 0, &n);
    char *out = malloc(n + 1);
    if (out)
        print(v, out, n + 1, &n);
    return out;
}

void pl_dlg_value_each(const pl_dlg *d, void (*fn)(pl_str name, const pl_dlg_value *v, void *arg),
                       void *arg)
{
    for (const dlg_val *v = d->vals; v; v = v->next)
        fn(v->name, &v->v, arg);
}

void pl__dlg_values_free(pl_dlg *d)
{
    while (d->vals) {
        dlg_val *v = d->vals;
        d->vals = v->next;
        free(v);
    }
}
