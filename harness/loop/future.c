/*
 * future.c: the one future type, awaited by coroutines, waited on by
 * threads, completed from anywhere; task outcomes and cancellation.
 *
 * A future's waiters are ordinary wait-queue entries: completing it wakes
 * them all, and the core routes a woken coroutine through its loop's queue
 * (an await resumes on the loop, never on the completer's stack). Done
 * callbacks remember the loop that registered them and are queued there;
 * waits on several futures use internal callbacks that wake a private
 * wait object. Every task spawned with a future is listed in the run, so
 * a task that failed and whose outcome nobody took is reported when the
 * execution ends.
 */
#include "loop/loop.h"

#include <errno.h>
#include <string.h>

enum { PENDING, DONE, FAILED, CANCELLED };

struct weft__callback {
    struct weft__callback *next;
    weft_future_fn *fn;
    void *arg;
    struct weft__loop *loop; /* NULL: run in the completing task */
};

static void touch(struct weft__run *r, weft_future_t *f)
{
    if (weft__obj_touch(r, &f->o)) {
        f->state = PENDING;
        f->err = 0;
        f->value = NULL;
        f->task = NULL;
        f->callbacks = NULL;
        f->observed = false;
    }
}

int weft_future_init_at(weft_future_t *f, const char *file, int line)
{
    if (f == NULL)
        return -EINVAL;
    memset(f, 0, sizeof *f);
    weft__obj_init(weft__current, &f->o, file, line);
    return 0;
}

weft_future_t *weft_future_new_at(const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_future_new");
    weft_future_t *f = weft__run_alloc(r, sizeof *f);
    if (f != NULL)
        weft__obj_init(r, &f->o, file, line);
    return f;
}

bool weft_future_done(const weft_future_t *f)
{
    struct weft__run *r = weft__current;
    if (r != NULL && f->o.epoch != r->epoch)
        return false;
    return f->state != PENDING;
}

static int outcome(weft_future_t *f, void **value)
{
    f->observed = true;
    switch (f->state) {
    case DONE:
        if (value != NULL)
            *value = f->value;
        return 0;
    case FAILED:
        return f->err;
    case CANCELLED:
        return -ECANCELED;
    default:
        return -EAGAIN;
    }
}

int weft_future_result(weft_future_t *f, void **value)
{
    struct weft__run *r = weft__run_get("weft_future_result");
    touch(r, f);
    return outcome(f, value);
}

/* Complete f (no visible operation: the caller made it). */
static void complete(struct weft__run *r, weft_future_t *f, int state, int err,
                     void *v)
{
    f->state = state;
    f->err = err;
    f->value = v;
    weft__wake(r, &f->o, WEFT__WAKE_ALL);
    struct weft__callback *cb = f->callbacks;
    f->callbacks = NULL;
    while (cb != NULL) {
        struct weft__callback *next = cb->next;
        if (cb->loop != NULL)
            weft__loop_callback(r, cb->loop, cb->fn, f, cb->arg);
        else
            cb->fn(f, cb->arg);
        cb = next;
    }
}

int weft_future_complete_at(weft_future_t *f, int state, int err, void *v,
                            const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_future_complete");
    touch(r, f);
    weft__visible(r, state == CANCELLED ? WEFT__OP_CANCEL : WEFT__OP_COMPLETE,
                  &f->o, file, line);
    if (f->state != PENDING)
        return -EINVAL;
    if (state == FAILED && err >= 0)
        return -EINVAL;
    if (state == CANCELLED && f->task != NULL && f->task->state != WEFT__DONE) {
        /* A task's future: cancel the task; the future ends cancelled
         * when the task does. */
        weft__cancel_task(r, f->task);
        return 0;
    }
    complete(r, f, state, state == CANCELLED ? -ECANCELED : err, v);
    return 0;
}

void weft__task_done(struct weft__run *r, struct weft__task *t, void *ret,
                     int err)
{
    weft_future_t *f = t->x != NULL ? t->x->future : NULL;
    if (f == NULL || f->state != PENDING)
        return;
    /* asyncio's rule: a task that was cancelled, handled it and then
     * returned normally ends with its value; one that ends while its
     * cancellation was never delivered (no cancellation point reached,
     * or all of them shielded) ends cancelled, as does
     * weft_task_fail(-ECANCELED), the way to let a cancellation
     * through. */
    if (err != 0 && err != -ECANCELED)
        complete(r, f, FAILED, err, NULL);
    else if (err == -ECANCELED || t->cancel_pending)
        complete(r, f, CANCELLED, -ECANCELED, NULL);
    else
        complete(r, f, DONE, 0, ret);
}

int weft__task_future(struct weft__run *r, struct weft__task *t,
                      weft_future_t **out)
{
    weft_future_t *f = weft__run_alloc(r, sizeof *f);
    if (f == NULL)
        return -ENOMEM;
    weft__obj_init(r, &f->o, t->spawn_file, t->spawn_line);
    struct weft__runx *rx = weft__rx_make(r);
    struct weft__taskx *x = weft__tx_make(r, t);
    if (rx == NULL || x == NULL ||
        weft__rx_push(r, &rx->task_futures, &rx->ntask_futures,
                      &rx->task_futures_cap, f) != 0)
        return -ENOMEM;
    f->task = t;
    x->future = f;
    *out = f;
    return 0;
}

bool weft__unobserved(struct weft__run *r)
{
    /* a plain thread ended by weft_task_fail that nobody joined */
    for (uint32_t i = 0; i < r->ntasks; i++) {
        struct weft__task *t = r->tasks[i];
        if (t->fail_err == 0 || t->joined ||
            (t->x != NULL && (t->x->future != NULL || t->x->pool_of != NULL)))
            continue;
        struct weft__finding *fd = &r->finding;
        fd->kind = WEFT_FINDING_UNOBSERVED;
        fd->task = t->id;
        fd->step = r->step;
        fd->time = r->now;
        fd->file = t->file;
        fd->line = t->line;
        snprintf(fd->message, sizeof fd->message,
                 "%s failed with %d (%s) and nobody joined it",
                 weft__task_name(t), t->fail_err, weft_strerror(t->fail_err));
        return true;
    }
    for (uint32_t i = 0; r->x != NULL && i < r->x->ntask_futures; i++) {
        weft_future_t *f = r->x->task_futures[i];
        if (f->state != FAILED || f->observed)
            continue;
        struct weft__finding *fd = &r->finding;
        struct weft__task *t = f->task;
        fd->kind = WEFT_FINDING_UNOBSERVED;
        fd->task = t ? t->id : 0;
        fd->step = r->step;
        fd->time = r->now;
        fd->file = t ? t->file : NULL;
        fd->line = t ? t->line : 0;
        snprintf(fd->message, sizeof fd->message,
                 "%s failed with %d (%s) and nobody awaited or waited for "
                 "its future",
                 weft__task_name(t), f->err, weft_strerror(f->err));
        return true;
    }
    return false;
}

/* ---------------------------------------------------------------- waiting */

int weft_await_at(weft_future_t *f, void **value, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_await");
    struct weft__task *t = r->cur;
    if (weft__co_loop(t) == NULL)
        return weft_future_wait_at(f, value, WEFT_FOREVER, file, line);
    touch(r, f);
    weft__visible(r, WEFT__OP_AWAIT, &f->o, file, line);
    while (f->state == PENDING) {
        int rc = weft__suspend(r, WEFT__OP_AWAIT, &f->o, WEFT_FOREVER);
        if (rc == -ECANCELED && t->deadline_cancel && f->state != PENDING) {
            /* The reply and the deadline came at the same instant and the
             * reply ran first: it wins, and the scope did not fire. */
            weft__scope_unhit(t);
            break;
        }
        if (rc != 0)
            return rc;
    }
    return outcome(f, value);
}

int weft_future_wait_at(weft_future_t *f, void **value, int64_t deadline,
                        const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_future_wait");
    struct weft__task *t = r->cur;
    touch(r, f);
    weft__visible(r, WEFT__OP_FUTURE_WAIT, &f->o, file, line);
    while (f->state == PENDING) {
        if (deadline != WEFT_FOREVER && deadline <= r->now)
            return -ETIMEDOUT;
        int rc = weft__block(r, WEFT__OP_FUTURE_WAIT, &f->o, deadline);
        if (rc != 0)
            return rc;
        if (t->timed_out && f->state == PENDING)
            return -ETIMEDOUT;
    }
    return outcome(f, value);
}

static int add_callback(struct weft__run *r, weft_future_t *f,
                        weft_future_fn *fn, void *arg, struct weft__loop *loop)
{
    struct weft__callback *cb = weft__run_alloc(r, sizeof *cb);
    if (cb == NULL)
        return -ENOMEM;
    cb->fn = fn;
    cb->arg = arg;
    cb->loop = loop;
    /* keep registration order: append */
    struct weft__callback **p = &f->callbacks;
    while (*p != NULL)
        p = &(*p)->next;
    *p = cb;
    return 0;
}

int weft__future_on_done_inline(struct weft__run *r, weft_future_t *f,
                                weft_future_fn *fn, void *arg)
{
    if (f->state != PENDING) {
        fn(f, arg);
        return 0;
    }
    return add_callback(r, f, fn, arg, NULL);
}

int weft_future_on_done(weft_future_t *f, weft_future_fn *fn, void *arg)
{
    struct weft__run *r = weft__run_get("weft_future_on_done");
    struct weft__task *t = r->cur;
    touch(r, f);
    if (fn == NULL)
        return -EINVAL;
    f->observed = true;
    struct weft__loop *loop = weft__any_loop(t);
    if (f->state != PENDING) {
        if (loop != NULL)
            weft__loop_callback(r, loop, fn, f, arg);
        else
            fn(f, arg);
        return 0;
    }
    return add_callback(r, f, fn, arg, loop);
}

int weft_future_remove_done(weft_future_t *f, weft_future_fn *fn, void *arg)
{
    struct weft__run *r = weft__run_get("weft_future_remove_done");
    touch(r, f);
    if (fn == NULL)
        return -EINVAL;
    /* Only what f still holds: once f completed, its callbacks are
     * queued on their loops or have run (asyncio's rule too). */
    int n = 0;
    for (struct weft__callback **p = &f->callbacks; *p != NULL;) {
        if ((*p)->fn == fn && (*p)->arg == arg) {
            *p = (*p)->next;
            n++;
        } else {
            p = &(*p)->next;
        }
    }
    return n;
}

/* A private wait object that completions of the futures wake. */
struct waitset {
    weft__obj_t o;
};

static void wake_set(weft_future_t *f, void *arg)
{
    struct waitset *ws = arg;
    (void)f;
    weft__wake(weft__current, &ws->o, WEFT__WAKE_ALL);
}

static bool ready(weft_future_t *const *fs, size_t n, bool all, size_t *index)
{
    size_t done = 0;
    for (size_t i = 0; i < n; i++)
        if (fs[i]->state != PENDING) {
            if (!all) {
                if (index)
                    *index = i;
                return true;
            }
            done++;
        }
    return all && done == n;
}

int weft_wait_many_at(weft_future_t *const *fs, size_t n, bool all,
                      int64_t deadline, size_t *index, const char *file,
                      int line)
{
    struct weft__run *r = weft__run_get("weft_wait_many");
    struct weft__task *t = r->cur;
    if (fs == NULL || n == 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        touch(r, fs[i]);
    struct waitset *ws = weft__run_alloc(r, sizeof *ws);
    if (ws == NULL)
        return -ENOMEM;
    weft__obj_init(r, &ws->o, file, line);
    weft__visible(r, WEFT__OP_AWAIT, &ws->o, file, line);
    for (size_t i = 0; i < n; i++)
        if (fs[i]->state == PENDING &&
            add_callback(r, fs[i], wake_set, ws, NULL) != 0)
            return -ENOMEM;
    while (!ready(fs, n, all, index)) {
        if (deadline != WEFT_FOREVER && deadline <= r->now)
            return -ETIMEDOUT;
        int rc = weft__co_loop(t) != NULL
                     ? weft__suspend(r, WEFT__OP_AWAIT, &ws->o, deadline)
                     : weft__block(r, WEFT__OP_FUTURE_WAIT, &ws->o, deadline);
        if (rc != 0)
            return rc;
        if (t->timed_out && !ready(fs, n, all, index))
            return -ETIMEDOUT;
    }
    /* whose outcome was delivered: the done ones */
    for (size_t i = 0; i < n; i++)
        if (fs[i]->state != PENDING)
            fs[i]->observed = true;
    return 0;
}

/* ------------------------------------------------------------ cancellation */
