/*
 * timer.c - a hierarchical timing wheel (Varghese and Lauck's scheme, as in
 * the classic Linux kernel timers).
 *
 * Level 0 has 256 slots of 1 ms; levels 1 to 4 have 64 slots, each 64 times
 * wider than a slot of the level below (256 ms, 16 s, 17 min, 18 h). A
 * timer goes into the lowest level whose span covers its delay, in the slot
 * its deadline falls in. When the clock crosses a multiple of a level's slot
 * width, that level's current slot is cascaded: its timers move down to the
 * level (and slot) that now fits them, higher levels first. Start and stop
 * are O(1); advance visits only non-empty slots, found through one bit per
 * slot, so a virtual clock may jump hours in a few steps.
 */
#include <parley/timer.h>

#include <string.h>

#define L0_BITS 8u
#define LN_BITS 6u
#define LEVELS  5u

/* First slot number of each level in the flat slot array. */
static unsigned level_base(unsigned level)
{
    return level == 0 ? 0 : 256 + (level - 1) * 64;
}

/* The bit position where a level's index starts within a deadline. */
static unsigned level_shift(unsigned level)
{
    return level == 0 ? 0 : L0_BITS + (level - 1) * LN_BITS;
}

static void busy_set(pl_wheel *w, unsigned slot)
{
    w->busy[slot >> 6] |= (uint64_t)1 << (slot & 63);
}

static void busy_clear(pl_wheel *w, unsigned slot)
{
    w->busy[slot >> 6] &= ~((uint64_t)1 << (slot & 63));
}

static bool busy(const pl_wheel *w, unsigned slot)
{
    return (w->busy[slot >> 6] >> (slot & 63)) & 1u;
}

static void list_init(pl_timer *head)
{
    head->next = head;
    head->prev = head;
}

void pl_wheel_init(pl_wheel *w, uint64_t now)
{
    memset(w, 0, sizeof(*w));
    w->now = now;
    for (unsigned i = 0; i < PL_WHEEL_SLOTS; i++)
        list_init(&w->slots[i]);
}

void pl_timer_init(pl_timer *t, pl_timer_cb cb, void *arg)
{
    memset(t, 0, sizeof(*t));
    t->cb = cb;
    t->arg = arg;
}

bool pl_timer_running(const pl_timer *t)
{
    return t->next != NULL;
}

static void unlink_timer(pl_wheel *w, pl_timer *t)
{
    t->prev->next = t->next;
    t->next->prev = t->prev;
    pl_timer *head = &w->slots[t->slot];
    if (t->slot < PL_WHEEL_SLOTS && head->next == head)
        busy_clear(w, t->slot);
    t->next = NULL;
    t->prev = NULL;
}

/* Put t (expires set) in its slot, with ref the time that slot choice is
 * measured from: the current time, or the tick being cascaded. */
static void place(pl_wheel *w, pl_timer *t, uint64_t ref)
{
    uint64_t delta = t->expires - ref;
    unsigned level = 0;
    while (level < LEVELS - 1 && delta >= ((uint64_t)1 << (level_shift(level + 1))))
        level++;
    unsigned width = level == 0 ? L0_BITS : LN_BITS;
    unsigned index = (unsigned)((t->expires >> level_shift(level)) & ((1u << width) - 1));
    unsigned slot = level_base(level) + index;
    pl_timer *head = &w->slots[slot];
    t->slot = (uint16_t)slot;
    t->prev = head->prev;
    t->next = head;
    head->prev->next = t;
    head->prev = t;
    busy_set(w, slot);
}

void pl_timer_start(pl_wheel *w, pl_timer *t, uint64_t delay_ms)
{
    if (t->next) {
        unlink_timer(w, t);
        w->armed--;
    }
    /* The horizon: the top level spans 2^32 ms from now. */
    const uint64_t horizon = ((uint64_t)1 << (L0_BITS + (LEVELS - 1) * LN_BITS)) - 1;
    if (delay_ms == 0)
        delay_ms = 1;
    if (delay_ms > horizon)
        delay_ms = horizon;
    t->expires = w->now + delay_ms;
    place(w, t, w->now);
    w->armed++;
}

void pl_timer_stop(pl_wheel *w, pl_timer *t)
{
    if (!t->next)
        return;
    unlink_timer(w, t);
    w->armed--;
}

void pl_wheel_clear(pl_wheel *w)
{
    for (unsigned i = 0; i < PL_WHEEL_SLOTS; i++) {
        pl_timer *head = &w->slots[i];
        while (head->next != head)
            unlink_timer(w, head->next);
    }
    w->armed = 0;
}

/* Move the timers of one slot down, measured from tick. */
static void cascade_slot(pl_wheel *w, unsigned slot, uint64_t tick)
{
    pl_timer *head = &w->slots[slot];
    pl_timer list;
    if (head->next == head)
        return;
    /* Detach the whole list, then place each timer anew. */
    list.next = head->next;
    list.prev = head->prev;
    list.next->prev = &list;
    list.prev->next = &list;
    list_init(head);
    busy_clear(w, slot);
    while (list.next != &list) {
        pl_timer *t = list.next;
        list.next = t->next;
        t->next->prev = &list;
        place(w, t, tick);
    }
}

/* At tick (a multiple of 256): cascade every level whose slot width divides
 * it, the highest first, so that timers falling through two levels land. */
static void cascade(pl_wheel *w, uint64_t tick)
{
    unsigned top = 1;
    while (top < LEVELS - 1 && (tick & (((uint64_t)1 << level_shift(top + 1)) - 1)) == 0)
        top++;
    for (unsigned level = top; level >= 1; level--) {
        unsigned index = (unsigned)((tick >> level_shift(level)) & 63u);
        cascade_slot(w, level_base(level) + index, tick);
    }
}

/* The first busy level-0 slot at or after index from, or -1. */
static int next_busy0(const pl_wheel *w, unsigned from)
{
    for (unsigned word = from >> 6; word < 4; word++) {
        uint64_t bits = w->busy[word];
        if (word == (from >> 6))
            bits &= ~(uint64_t)0 << (from & 63);
        if (bits)
            return (int)(word * 64 + (unsigned)__builtin_ctzll(bits));
    }
    return -1;
}

static size_t fire_slot(pl_wheel *w, unsigned slot)
{
    pl_timer *head = &w->slots[slot];
    pl_timer list;
    size_t fired = 0;
    list.next = head->next;
    list.prev = head->prev;
    list.next->prev = &list;
    list.prev->next = &list;
    list_init(head);
    busy_clear(w, slot);
    /* Callbacks may stop timers still on the detached list: they unlink
     * from it like from any slot (their slot number is kept, and the busy
     * bit of a slot whose list is the local one is left alone). */
    for (pl_timer *t = list.next; t != &list; t = list.next) {
        list.next = t->next;
        t->next->prev = &list;
        t->next = NULL;
        t->prev = NULL;
        w->armed--;
        if (t->expires > w->now) {
            /* Not due in this turn of the wheel after all (cannot happen for
             * level 0, kept as a guard): put it back. */
            place(w, t, w->now);
            w->armed++;
            continue;
        }
        fired++;
        t->cb(t, t->arg);
    }
    return fired;
}

size_t pl_wheel_advance(pl_wheel *w, uint64_t target)
{
    size_t fired = 0;
    while (w->now < target) {
        uint64_t tick = w->now + 1;
        if ((tick & 255u) == 0)
            cascade(w, tick);
        uint64_t base = tick & ~(uint64_t)255;
        int n = next_busy0(w, (unsigned)(tick & 255u));
        if (n < 0) {
            /* Nothing left in this turn: on to its last tick. */
            uint64_t last = base + 255;
            w->now = last < target ? last : target;
            continue;
        }
        uint64_t due = base + (unsigned)n;
        if (due > target) {
            w->now = target;
            break;
        }
        w->now = due;
        fired += fire_slot(w, (unsigned)n);
    }
    return fired;
}

uint64_t pl_wheel_next_ms(const pl_wheel *w)
{
    if (w->armed == 0)
        return UINT64_MAX;
    uint64_t tick = w->now + 1;
    /* Level 0, this turn and then the next. */
    int n = next_busy0(w, (unsigned)(tick & 255u));
    if (n >= 0)
        return (tick & ~(uint64_t)255) + (unsigned)n - w->now;
    /* Otherwise the next cascade that brings something down. */
    uint64_t best = UINT64_MAX;
    for (unsigned level = 1; level < LEVELS; level++) {
        unsigned shift = level_shift(level);
        for (unsigned k = 1; k <= 64; k++) {
            uint64_t at = ((w->now >> shift) + k) << shift;
            unsigned index = (unsigned)((at >> shift) & 63u);
            if (busy(w, level_base(level) + index)) {
                if (at < best)
                    best = at;
                break;
            }
            if (at - w->now > best - w->now)
                break;
        }
    }
    /* Level-0 slots before the current index belong to the next turn. */
    n = next_busy0(w, 0);
    if (n >= 0) {
        uint64_t at = (tick & ~(uint64_t)255) + 256 + (unsigned)n;
        if (at < best)
            best = at;
    }
    return best == UINT64_MAX ? UINT64_MAX : best - w->now;
}
