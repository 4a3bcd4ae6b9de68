/*
 * rwlock.c: reader-writer locks.
 *
 * Readers share, a writer excludes everyone. No preference between readers
 * and writers is built in: when the lock frees, every waiter wakes and the
 * strategy decides who gets it, so both writer- and reader-starving
 * schedules are explored. Read holders are counted, not named.
 */
#include "sync/sync.h"

#include <errno.h>

static inline void touch(struct weft__run *r, weft_rwlock_t *rw)
{
    if (weft__obj_touch(r, &rw->o)) {
        rw->readers = 0;
        rw->writer = NULL;
    }
}

int weft_rwlock_init_at(weft_rwlock_t *rw, const char *file, int line)
{
    if (rw == NULL)
        return -EINVAL;
    weft__obj_init(weft__current, &rw->o, file, line);
    rw->readers = 0;
    rw->writer = NULL;
    return 0;
}

int weft_rwlock_destroy_at(weft_rwlock_t *rw, const char *file, int line)
{
    struct weft__run *r = weft__current;
    if (r == NULL || r->cur == &r->sched)
        return 0;
    touch(r, rw);
    if (rw->writer != NULL || rw->readers > 0)
        weft__finding(r, WEFT_FINDING_LOCK_MISUSE, file, line,
                      "%s destroys rwlock R%u while it is held",
                      weft__task_name(r->cur), rw->o.id);
    rw->o.epoch = 0;
    return 0;
}

int weft_rwlock_lock_at(weft_rwlock_t *rw, bool write, int64_t deadline,
                        const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_rwlock_lock");
    struct weft__task *self = r->cur;
    int op = write ? WEFT__OP_WRLOCK : WEFT__OP_RDLOCK;
    touch(r, rw);
    weft__access(r, &rw->o, WEFT__ACC_WRITE, NULL, 0, WEFT__WAIT_NONE, NULL);
    weft__visible(r, op, &rw->o, file, line);
    for (;;) {
        if (rw->writer == self)
            return -EDEADLK;
        if (rw->writer == NULL && (!write || rw->readers == 0)) {
            unsigned lo = WEFT__LO_RWLOCK | (write ? 0 : WEFT__LO_READ) |
                          (deadline == 0 ? WEFT__LO_TRY : 0);
            weft__lockorder_lock(self, &rw->o, lo);
            if (write)
                rw->writer = self;
            else
                rw->readers++;
            return 0;
        }
        if (deadline == 0)
            return -EBUSY;
        if (deadline != WEFT_FOREVER && deadline <= r->now)
            return -ETIMEDOUT;
        if (weft__block(r, op, &rw->o, deadline) != 0)
            return -ECANCELED;
        if (self->timed_out &&
            !(rw->writer == NULL && (!write || rw->readers == 0)))
            return -ETIMEDOUT;
    }
}

int weft_rwlock_unlock_at(weft_rwlock_t *rw, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_rwlock_unlock");
    touch(r, rw);
    weft__access(r, &rw->o, WEFT__ACC_WRITE, NULL, 0, WEFT__WAIT_NONE, NULL);
    weft__visible(r, WEFT__OP_RWUNLOCK, &rw->o, file, line);
    weft__lockorder_unlock_rw(r, &rw->o);
    if (rw->writer != NULL) {
        if (rw->writer != r->cur)
            weft__finding(r, WEFT_FINDING_LOCK_MISUSE, file, line,
                          "%s unlocks rwlock R%u write-locked by %s",
                          weft__task_name(r->cur), rw->o.id,
                          weft__task_name(rw->writer));
        rw->writer = NULL;
    } else if (rw->readers > 0) {
        rw->readers--;
    } else {
        weft__finding(r, WEFT_FINDING_LOCK_MISUSE, file, line,
                      "%s unlocks rwlock R%u, which is not locked",
                      weft__task_name(r->cur), rw->o.id);
    }
    if (rw->writer == NULL && rw->readers == 0)
        weft__wake(r, &rw->o, WEFT__WAKE_ALL);
    return 0;
}
