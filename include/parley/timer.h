/*
 * parley/timer.h - timers for the I/O-free core: a hierarchical timing wheel
 * and the clock that drives it.
 *
 * The layers from msg to dialog never read a clock. They arm pl_timer
 * handles on a wheel; whoever owns the wheel tells it the time with
 * pl_wheel_advance(), which fires every timer that is due. Tests advance a
 * virtual clock (thirty-two seconds of Timer B take microseconds, the same
 * every run); the net layer advances it from a libuv timer armed for
 * pl_wheel_next_ms(). Starting and stopping a timer cost O(1) however many
 * are armed, and an idle wheel costs nothing.
 *
 * Resolution is one millisecond. The wheel has five levels, one of 256 slots
 * and four of 64, which covers about 50 days; a later deadline is clamped to
 * the horizon and fires at it. A delay of 0 fires at the next millisecond.
 */
#ifndef PARLEY_TIMER_H
#define PARLEY_TIMER_H

#include <parley/base.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pl_timer pl_timer;
typedef struct pl_wheel pl_wheel;

/* Called when a timer fires; the timer is already stopped and may be restarted. */
typedef void (*pl_timer_cb)(pl_timer *timer, void *arg);

/* A timer handle, embedded in its owner's struct; its fields are private. */
struct pl_timer {
    pl_timer *next; /* NULL while stopped */
    pl_timer *prev;
    uint64_t expires; /* absolute, in wheel milliseconds */
    pl_timer_cb cb;
    void *arg;
    uint16_t slot; /* which wheel slot holds it */
};

/* Slots: 256 for the first level (1 ms each), then 4 levels of 64. */
#define PL_WHEEL_SLOTS (256 + 4 * 64)

struct pl_wheel {
    uint64_t now;                       /* the time of the last advance, in milliseconds */
    size_t armed;                       /* timers running */
    uint64_t busy[PL_WHEEL_SLOTS / 64]; /* one bit per non-empty slot */
    pl_timer slots[PL_WHEEL_SLOTS];     /* list sentinels */
};

/* Set up a wheel whose clock starts at now (milliseconds, any epoch). */
void pl_wheel_init(pl_wheel *w, uint64_t now);
/* Stop every timer (without firing them). */
void pl_wheel_clear(pl_wheel *w);

/* Prepare a timer handle; it starts stopped. */
void pl_timer_init(pl_timer *t, pl_timer_cb cb, void *arg);
/* Arm (or re-arm) t to fire delay_ms after the wheel's current time. */
void pl_timer_start(pl_wheel *w, pl_timer *t, uint64_t delay_ms);
/* Disarm t; harmless when it is not running. */
void pl_timer_stop(pl_wheel *w, pl_timer *t);
/* True while t is armed. */
bool pl_timer_running(const pl_timer *t);

/*
 * Move the wheel's clock to now (never backwards) and fire, in deadline
 * order, every timer due at or before it. Callbacks may start and stop any
 * timer, this one included. Returns the number fired.
 */
size_t pl_wheel_advance(pl_wheel *w, uint64_t now);

/*
 * Milliseconds from the wheel's current time until the next deadline (0 if
 * one is due), or UINT64_MAX when nothing is armed. Exact for deadlines
 * within 256 ms; for later ones it may be earlier than the deadline (when a
 * slot of a higher level must be cascaded), never later.
 */
uint64_t pl_wheel_next_ms(const pl_wheel *w);

#ifdef __cplusplus
}
#endif
#endif
