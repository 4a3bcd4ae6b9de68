/*
 * mutex.c: mutexes (normal, recursive, error-checking) and condition
 * variables.
 *
 * Unlock wakes one waiter, the one the strategy picks, so the schedules
 * where a late waiter overtakes an early one get explored; it then
 * competes with any running task that locks first. Each owner keeps a list of
 * the mutexes it holds, so exiting with a lock held is caught and a deadlock
 * report can say who holds what. Misuse that POSIX leaves undefined for a
 * normal mutex (relock, foreign unlock) is a finding; the error-checking type
 * returns the POSIX errors instead, and the recursive type counts.
 */
#include "sync/sync.h"

#include <errno.h>

static inline void touch(struct weft__run *r, weft_mutex_t *m)
{
    if (weft__obj_touch(r, &m->o)) {
        m->owner = NULL;
        m->count = 0;
        m->held_prev = m->held_next = NULL;
    }
}

/* lo: WEFT__LO_TRY for a trylock, else 0 (for the lock-order detector) */
static void acquire(struct weft_mutex *m, struct weft__task *t, unsigned n,
                    unsigned lo)
{
    weft__lockorder_lock(t, &m->o, lo);
    m->owner = t;
    m->count = n;
    m->lock_file = t->file;
    m->lock_line = t->line;
    m->held_prev = NULL;
    m->held_next = t->held;
    if (t->held)
        t->held->held_prev = m;
    t->held = m;
    t->hooked = true; /* its end is checked for mutexes still held */
}

static void release(struct weft__run *r, weft_mutex_t *m)
{
    struct weft__task *t = m->owner;
    if (m->held_prev)
        m->held_prev->held_next = m->held_next;
    else
        t->held = m->held_next;
    if (m->held_next)
        m->held_next->held_prev = m->held_prev;
    m->owner = NULL;
    m->count = 0;
    weft__wake(r, &m->o, WEFT__WAKE_ONE);
}

int weft_mutex_init_at(weft_mutex_t *m, weft_mutex_type_t type,
                       const char *file, int line)
{
    if (m == NULL || (unsigned)type > WEFT_MUTEX_ERRORCHECK)
        return -EINVAL;
    weft__obj_init(weft__current, &m->o, file, line);
    m->type = type;
    m->owner = NULL;
    m->count = 0;
    m->held_prev = m->held_next = NULL;
    return 0;
}

int weft_mutex_destroy_at(weft_mutex_t *m, const char *file, int line)
{
    struct weft__run *r = weft__current;
    if (r == NULL || r->cur == &r->sched)
        return 0;
    touch(r, m);
    weft__access(r, &m->o, WEFT__ACC_WRITE, NULL, 0, WEFT__WAIT_NONE, NULL);
    weft__visible(r, WEFT__OP_MUTEX_DESTROY, &m->o, file, line);
    if (m->owner != NULL)
        weft__finding(r, WEFT_FINDING_LOCK_MISUSE, file, line,
                      "%s destroys mutex M%u while %s holds it (locked at "
                      "%s)",
                      weft__task_name(r->cur), m->o.id,
                      weft__task_name(m->owner),
                      weft__site(m->lock_file, m->lock_line));
    m->o.epoch = 0;
    return 0;
}

int weft_mutex_timedlock_at(weft_mutex_t *m, int64_t deadline, const char *file,
                            int line)
{
    struct weft__run *r = weft__run_get("weft_mutex_lock");
    struct weft__task *self = r->cur;
    touch(r, m);
    if (deadline == WEFT_FOREVER)
        weft__access(r, &m->o, WEFT__ACC_LOCK, NULL, 0, WEFT__WAIT_OWNER,
                     &m->owner);
    else /* a trylock goes on, and a timed lock may time out */
        weft__access(r, &m->o, WEFT__ACC_WRITE, NULL, 0, WEFT__WAIT_NONE, NULL);
    weft__visible(r, WEFT__OP_LOCK, &m->o, file, line);
    for (;;) {
        if (m->owner == NULL) {
            acquire(m, self, 1, deadline == 0 ? WEFT__LO_TRY : 0);
            return 0;
        }
        if (m->owner == self) {
            if (m->type == WEFT_MUTEX_RECURSIVE) {
                m->count++;
                return 0;
            }
            if (deadline == 0) /* trylock: busy, whatever the type */
                return -EBUSY;
            if (m->type == WEFT_MUTEX_ERRORCHECK)
                return -EDEADLK;
            weft__finding(r, WEFT_FINDING_LOCK_MISUSE, file, line,
                          "%s relocks mutex M%u it already holds (locked at "
                          "%s): a normal mutex deadlocks here",
                          weft__task_name(self), m->o.id,
                          weft__site(m->lock_file, m->lock_line));
        }
        if (deadline == 0)
            return -EBUSY;
        if (deadline != WEFT_FOREVER && deadline <= r->now)
            return -ETIMEDOUT;
        if (weft__block(r, WEFT__OP_LOCK, &m->o, deadline) != 0)
            return -ECANCELED;
        if (self->timed_out && m->owner != NULL)
            return -ETIMEDOUT;
    }
}

int weft_mutex_unlock_at(weft_mutex_t *m, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_mutex_unlock");
    struct weft__task *self = r->cur;
    touch(r, m);
    weft__access(r, &m->o, WEFT__ACC_UNLOCK, NULL, 0, WEFT__WAIT_NONE, NULL);
    weft__visible(r, WEFT__OP_UNLOCK, &m->o, file, line);
    if (m->owner != self) {
        if (m->type != WEFT_MUTEX_NORMAL)
            return -EPERM;
        if (m->owner == NULL)
            weft__finding(r, WEFT_FINDING_LOCK_MISUSE, file, line,
                          "%s unlocks mutex M%u, which is not locked",
                          weft__task_name(self), m->o.id);
        weft__finding(r, WEFT_FINDING_LOCK_MISUSE, file, line,
                      "%s unlocks mutex M%u owned by %s (locked at %s)",
                      weft__task_name(self), m->o.id, weft__task_name(m->owner),
                      weft__site(m->lock_file, m->lock_line));
    }
    if (--m->count == 0)
        release(r, m);
    return 0;
}

/* A thread that ends while holding a mutex: nobody can ever unlock it. */
static void task_ending(struct weft__run *r, struct weft__task *t, void *ret,
                        int err)
{
    (void)ret;
    (void)err;
    weft_mutex_t *m = t->held;
    if (m == NULL)
        return;
    weft__finding(r, WEFT_FINDING_LOCK_MISUSE, t->file, t->line,
                  "%s exits while holding mutex M%u (locked at %s)",
                  weft__task_name(t), m->o.id,
                  weft__site(m->lock_file, m->lock_line));
}

const struct weft__hooks weft__sync_hooks = {
    .ending = task_ending,
};

/* ------------------------------------------------- condition variables */

int weft_cond_init_at(weft_cond_t *c, const char *file, int line)
{
    if (c == NULL)
        return -EINVAL;
    weft__obj_init(weft__current, &c->o, file, line);
    return 0;
}

int weft_cond_destroy_at(weft_cond_t *c, const char *file, int line)
{
    struct weft__run *r = weft__current;
    if (r == NULL || r->cur == &r->sched)
        return 0;
    weft__obj_touch(r, &c->o);
    if (c->o.wait_head != NULL)
        weft__finding(r, WEFT_FINDING_LOCK_MISUSE, file, line,
                      "%s destroys condition variable C%u while %s waits "
                      "on it",
                      weft__task_name(r->cur), c->o.id,
                      weft__task_name(c->o.wait_head));
    c->o.epoch = 0;
    return 0;
}

int weft_cond_timedwait_at(weft_cond_t *c, weft_mutex_t *m, int64_t deadline,
                           const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_cond_wait");
    struct weft__task *self = r->cur;
    weft__obj_touch(r, &c->o);
    touch(r, m);
    weft__access(r, &c->o, WEFT__ACC_WRITE, &m->o, WEFT__ACC_UNLOCK,
                 WEFT__WAIT_NONE, NULL);
    weft__visible(r, WEFT__OP_COND_WAIT, &c->o, file, line);
    if (m->owner != self) {
        if (m->type == WEFT_MUTEX_ERRORCHECK)
            return -EPERM;
        weft__finding(r, WEFT_FINDING_LOCK_MISUSE, file, line,
                      "%s waits on condition variable C%u without holding "
                      "mutex M%u",
                      weft__task_name(self), c->o.id, m->o.id);
    }
    unsigned count = m->count;
    release(r, m);

    int rc = 0;
    bool spurious = false;
    if (r->spurious_left > 0 &&
        weft__choose_value(r, 2, WEFT__OP_COND_WAIT) == 1) {
        r->spurious_left--;
        spurious = true;
    } else if (deadline != WEFT_FOREVER && deadline <= r->now) {
        rc = -ETIMEDOUT;
    } else {
        rc = weft__block(r, WEFT__OP_COND_WAIT, &c->o, deadline);
        if (rc == 0 && self->timed_out)
            rc = -ETIMEDOUT;
    }
    /* Take the mutex back, whatever ended the wait. After a spurious
     * wake-up others may run first: that is when one would happen. */
    if (spurious) {
        weft__access(r, &m->o, WEFT__ACC_LOCK, NULL, 0, WEFT__WAIT_OWNER,
                     &m->owner);
        weft__visible(r, WEFT__OP_LOCK, &m->o, file, line);
    }
    while (m->owner != NULL)
        weft__block_uncancellable(r, WEFT__OP_LOCK, &m->o, WEFT_FOREVER);
    acquire(m, self, count, 0);
    m->lock_file = file;
    m->lock_line = line;
    return rc;
}

int weft_cond_signal_at(weft_cond_t *c, bool all, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_cond_signal");
    weft__obj_touch(r, &c->o);
    weft__access(r, &c->o, WEFT__ACC_WRITE, NULL, 0, WEFT__WAIT_NONE, NULL);
    weft__visible(r, all ? WEFT__OP_COND_BROADCAST : WEFT__OP_COND_SIGNAL,
                  &c->o, file, line);
    weft__wake(r, &c->o, all ? WEFT__WAKE_ALL : WEFT__WAKE_OLDEST);
    return 0;
}
