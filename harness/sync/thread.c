/*
 * thread.c: the thread API: spawn, join, detach, exit, yield, self.
 *
 * A thread is a task (core/sched.c) named by its creation order in the
 * execution; a handle also carries the execution's epoch, so a handle kept
 * from an earlier execution is caught (-ESRCH) rather than followed. Joins
 * are waits on the target task, which wakes its joiner when it ends.
 */
#include "sync/sync.h"

#include <errno.h>

static struct weft__task *lookup(struct weft__run *r, weft_thread_t t)
{
    if (t.epoch != (uint32_t)r->epoch || t.id >= r->ntasks)
        return NULL;
    return r->tasks[t.id];
}

int weft_thread_spawn_at(weft_thread_t *t, const char *name, weft_thread_fn *fn,
                         void *arg, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_thread_spawn");
    if (t == NULL || fn == NULL)
        return -EINVAL;
    weft__access(r, NULL, WEFT__ACC_NONE, NULL, 0, WEFT__WAIT_NONE, NULL);
    weft__visible(r, WEFT__OP_SPAWN, NULL, file, line);
    struct weft__task *n = weft__task_new(r, name, fn, arg);
    if (n == NULL)
        return -ENOMEM;
    t->id = n->id;
    t->epoch = (uint32_t)r->epoch;
    return 0;
}

int weft_thread_timedjoin_at(weft_thread_t t, void **ret, int64_t deadline,
                             const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_thread_join");
    struct weft__task *self = r->cur;
    struct weft__task *x = lookup(r, t);
    if (x != NULL && x != self && deadline == WEFT_FOREVER)
        weft__access(r, x, WEFT__ACC_JOIN, NULL, 0, WEFT__WAIT_DONE, x);
    else if (x != NULL && x != self) /* it may time out: a race with the
                                        exit */
        weft__access(r, x, WEFT__ACC_WRITE, NULL, 0, WEFT__WAIT_NONE, NULL);
    weft__visible(r, WEFT__OP_JOIN, NULL, file, line);
    if (x == NULL)
        return -ESRCH;
    if (x == self)
        return -EDEADLK;
    if (x->detached || x->joined || (x->joiner != NULL && x->joiner != self))
        return -EINVAL;
    while (x->state != WEFT__DONE) {
        if (deadline != WEFT_FOREVER && deadline <= r->now)
            return -ETIMEDOUT;
        x->joiner = self;
        self->wait_task = x;
        int rc = weft__block(r, WEFT__OP_JOIN, NULL, deadline);
        self->wait_task = NULL;
        if (rc != 0) {
            x->joiner = NULL;
            return rc;
        }
        if (self->timed_out && x->state != WEFT__DONE) {
            x->joiner = NULL;
            return -ETIMEDOUT;
        }
    }
    x->joined = true;
    if (ret != NULL)
        *ret = x->ret;
    return x->fail_err; /* 0, or what it passed to weft_task_fail */
}

int weft_thread_detach_at(weft_thread_t t, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_thread_detach");
    weft__visible(r, WEFT__OP_DETACH, NULL, file, line);
    struct weft__task *x = lookup(r, t);
    if (x == NULL)
        return -ESRCH;
    if (x->detached || x->joined || x->joiner != NULL)
        return -EINVAL;
    x->detached = true;
    return 0;
}

void weft_thread_exit_at(void *ret, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_thread_exit");
    r->cur->file = file;
    r->cur->line = line;
    weft__task_exit(r, ret);
}

void weft_yield_at(const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_yield");
    weft__access(r, NULL, WEFT__ACC_NONE, NULL, 0, WEFT__WAIT_NONE, NULL);
    weft__visible(r, WEFT__OP_YIELD, NULL, file, line);
}

weft_thread_t weft_thread_self(void)
{
    struct weft__run *r = weft__run_get("weft_thread_self");
    weft_thread_t t = { r->cur->id, (uint32_t)r->epoch };
    return t;
}

bool weft_thread_equal(weft_thread_t a, weft_thread_t b)
{
    return a.id == b.id && a.epoch == b.epoch;
}
