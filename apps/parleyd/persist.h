/*
 * persist.h - parleyd's dialogs and registrations through the store
 * (include/parley/store.h): the write hooks, loading at start, writing
 * everything at a shutdown-mode stop.
 */
#ifndef PARLEYD_PERSIST_H
#define PARLEYD_PERSIST_H

#include <parley/store.h>

#include "config.h"
#include "worker.h"

typedef struct pd_persist pd_persist;

/* Open the configured store (store = "none": an object that stores nothing). NULL with err. */
pd_persist *pd_persist_open(pd_shared *sh, const pd_config *c, char *err, size_t cap);
/* The store, or NULL when none. */
pl_store *pd_persist_store(const pd_persist *p);
/* Set the location table's change hook (before pl_location_new). */
void pd_persist_location_hook(pd_persist *p, pl_location_config *lc);
/* The dialog module's on_change (on the dialog's worker). */
void pd_persist_dialog_change(pd_persist *p, pl_dlg *d, pl_dlg_change what);
/* With the workers running: restore every stored dialog on its owner. Returns how many, or < 0. */
long pd_persist_load_dialogs(pd_persist *p, size_t *skipped);
/* Registrations back into sh->location (before the workers start). */
long pd_persist_load_bindings(pd_persist *p);
/* Queue every confirmed dialog (workers running). Returns how many. */
long pd_persist_write_all(pd_persist *p);
/* Write what is queued (in shutdown mode: every dialog still live), close. After the workers
 * stopped. */
void pd_persist_close(pd_persist *p);

#endif
