/*
 * control.h - parleyd's management interface (docs/mgmt.md): the
 * JSON-RPC methods and the metrics, served by src/mgmt on the configured
 * address.
 */
#ifndef PARLEYD_CONTROL_H
#define PARLEYD_CONTROL_H

#include "config.h"
#include "persist.h"
#include "worker.h"

typedef struct pd_control pd_control;

/* Start serving (the workers running). NULL with err (an address in use...). */
pd_control *pd_control_start(pd_shared *sh, const pd_config *cfg, pd_persist *persist, char *err,
                             size_t cap);
/* The port bound (for a configured port 0). */
uint16_t pd_control_port(const pd_control *c);
/* Stop serving (waits for methods in progress). */
void pd_control_free(pd_control *c);

/* main.c: load the configured script with the workers' variables, without running it. */
int pd_check_script(const pd_config *c, char *err, size_t cap);

#endif
