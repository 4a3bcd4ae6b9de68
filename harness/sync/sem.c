/*
 * sem.c: counting semaphores, barriers and once.
 *
 * All three keep their initial configuration (value, count) beside their
 * state, so an object reused by a later execution restarts as initialised.
 * A post wakes one waiter, which the strategy picks.
 */
#include "sync/sync.h"

#include <errno.h>

/* ---------------------------------------------------------- semaphores */

static inline void sem_touch(struct weft__run *r, weft_sem_t *s)
{
    if (weft__obj_touch(r, &s->o))
        s->value = s->initial;
}

int weft_sem_init_at(weft_sem_t *s, unsigned value, const char *file, int line)
{
    if (s == NULL)
        return -EINVAL;
    s->initial = s->value = value;
    weft__obj_init(weft__current, &s->o, file, line);
    return 0;
}

int weft_sem_destroy_at(weft_sem_t *s, const char *file, int line)
{
    struct weft__run *r = weft__current;
    if (r == NULL || r->cur == &r->sched)
        return 0;
    sem_touch(r, s);
    if (s->o.wait_head != NULL)
        weft__finding(r, WEFT_FINDING_LOCK_MISUSE, file, line,
                      "%s destroys semaphore S%u while %s waits on it",
                      weft__task_name(r->cur), s->o.id,
                      weft__task_name(s->o.wait_head));
    s->o.epoch = 0;
    return 0;
}

int weft_sem_post_at(weft_sem_t *s, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_sem_post");
    sem_touch(r, s);
    weft__access(r, &s->o, WEFT__ACC_WRITE, NULL, 0, WEFT__WAIT_NONE, NULL);
    weft__visible(r, WEFT__OP_SEM_POST, &s->o, file, line);
    if (s->value == UINT32_MAX)
        return -EOVERFLOW;
    s->value++;
    weft__wake(r, &s->o, WEFT__WAKE_ONE);
    return 0;
}

int weft_sem_timedwait_at(weft_sem_t *s, int64_t deadline, const char *file,
                          int line)
{
    struct weft__run *r = weft__run_get("weft_sem_wait");
    struct weft__task *self = r->cur;
    sem_touch(r, s);
    weft__access(r, &s->o, WEFT__ACC_WRITE, NULL, 0, WEFT__WAIT_NONE, NULL);
    weft__visible(r, WEFT__OP_SEM_WAIT, &s->o, file, line);
    for (;;) {
        if (s->value > 0) {
            s->value--;
            return 0;
        }
        if (deadline == 0)
            return -EAGAIN;
        if (deadline != WEFT_FOREVER && deadline <= r->now)
            return -ETIMEDOUT;
        if (weft__block(r, WEFT__OP_SEM_WAIT, &s->o, deadline) != 0)
            return -ECANCELED;
        if (self->timed_out && s->value == 0)
            return -ETIMEDOUT;
    }
}

unsigned weft_sem_value(const weft_sem_t *s)
{
    struct weft__run *r = weft__current;
    if (r != NULL && s->o.epoch != r->epoch)
        return s->initial;
    return s->value;
}

/* ------------------------------------------------------------ barriers */

static inline void barrier_touch(struct weft__run *r, weft_barrier_t *b)
{
    if (weft__obj_touch(r, &b->o)) {
        b->arrived = 0;
        b->generation = 0;
    }
}

int weft_barrier_init_at(weft_barrier_t *b, unsigned count, const char *file,
                         int line)
{
    if (b == NULL || count == 0)
        return -EINVAL;
    b->count = count;
    b->arrived = 0;
    b->generation = 0;
    weft__obj_init(weft__current, &b->o, file, line);
    return 0;
}

int weft_barrier_destroy_at(weft_barrier_t *b, const char *file, int line)
{
    struct weft__run *r = weft__current;
    if (r == NULL || r->cur == &r->sched)
        return 0;
    barrier_touch(r, b);
    if (b->arrived > 0)
        weft__finding(r, WEFT_FINDING_LOCK_MISUSE, file, line,
                      "%s destroys barrier B%u while %u tasks wait at it",
                      weft__task_name(r->cur), b->o.id, b->arrived);
    b->o.epoch = 0;
    return 0;
}

int weft_barrier_wait_at(weft_barrier_t *b, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_barrier_wait");
    barrier_touch(r, b);
    weft__access(r, &b->o, WEFT__ACC_WRITE, NULL, 0, WEFT__WAIT_NONE, NULL);
    weft__visible(r, WEFT__OP_BARRIER, &b->o, file, line);
    if (b->count == 0)
        weft__misuse("weft_barrier_wait", "barrier used before init");
    if (++b->arrived == b->count) {
        b->arrived = 0;
        b->generation++;
        weft__wake(r, &b->o, WEFT__WAKE_ALL);
        return WEFT_BARRIER_SERIAL;
    }
    uint64_t gen = b->generation;
    while (b->generation == gen)
        weft__block_uncancellable(r, WEFT__OP_BARRIER, &b->o, WEFT_FOREVER);
    return 0;
}

/* ---------------------------------------------------------------- once */

int weft_once_at(weft_once_t *o, weft_once_fn *fn, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_once");
    if (weft__obj_touch(r, &o->o))
        o->state = 0;
    weft__access(r, &o->o, WEFT__ACC_WRITE, NULL, 0, WEFT__WAIT_NONE, NULL);
    weft__visible(r, WEFT__OP_ONCE, &o->o, file, line);
    if (o->state == 0) {
        o->state = 1;
        fn();
        o->state = 2;
        weft__wake(r, &o->o, WEFT__WAKE_ALL);
        return 0;
    }
    while (o->state == 1)
        weft__block_uncancellable(r, WEFT__OP_ONCE, &o->o, WEFT_FOREVER);
    return 0;
}
