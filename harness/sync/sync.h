/*
 * sync.h: the sync layer (harness/sync/): threads, mutexes and condition
 * variables, rwlocks, semaphores, barriers, once, atomics, and the
 * lock-order detector that watches every lock they take.
 *
 * Each public call checks its arguments, records its operation and passes
 * through the core's decision point (weft__visible); a call that must wait
 * blocks with weft__block and is woken by weft__wake. The layer hooks into
 * the core with weft__sync_hooks: a thread that ends while holding a
 * mutex is a finding. Uses: core, platform.
 */
#ifndef WEFT_SYNC_H
#define WEFT_SYNC_H

#include "core/core.h"

/* What the sync layer adds to the life of a task (register it on every
 * run: weft__run_hooks). */
WEFT__HIDDEN extern const struct weft__hooks weft__sync_hooks;

/*
 * Lock-order detector (lockorder.c). Every lock acquisition passes through
 * weft__lockorder_lock(): a test when the task holds nothing else (and no
 * rwlock is held); lockorder.c does nothing more when cfg->lock_order is 0.
 * A cycle ends the execution with WEFT_FINDING_LOCK_ORDER from inside the
 * call.
 */
#define WEFT__LO_RWLOCK 1u /* the object is an rwlock (else a mutex) */
#define WEFT__LO_READ   2u /* a shared (read) acquisition */
#define WEFT__LO_TRY    4u /* a trylock: it never waits, so no edge into it */
WEFT__HIDDEN void weft__lockorder_acquire(struct weft__run *r,
                                          struct weft__task *t, weft__obj_t *o,
                                          unsigned flags);
WEFT__HIDDEN void weft__lockorder_rw_release(struct weft__run *r,
                                             struct weft__task *t,
                                             weft__obj_t *o);

/* t takes lock o (file:line in t->file, t->line), before it is recorded as
 * held. Rwlock acquisitions always go in: their holders are tracked there. */
static inline void weft__lockorder_lock(struct weft__task *t, weft__obj_t *o,
                                        unsigned flags)
{
    struct weft__run *r = t->run;
    if (WEFT__UNLIKELY(t->held != NULL || r->lockorder_rw != 0 ||
                       (flags & WEFT__LO_RWLOCK) != 0))
        weft__lockorder_acquire(r, t, o, flags);
}

/* The current task releases rwlock o. */
static inline void weft__lockorder_unlock_rw(struct weft__run *r,
                                             weft__obj_t *o)
{
    if (WEFT__UNLIKELY(r->lockorder_rw != 0))
        weft__lockorder_rw_release(r, r->cur, o);
}

#endif /* WEFT_SYNC_H */
