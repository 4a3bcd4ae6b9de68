/*
 * loop.c: event loops, coroutines, callbacks, the to_thread pool, cancel
 * scopes and task-local storage.
 *
 * A coroutine is a task bound to a loop. The loop's thread and its
 * coroutines take turns: at most one of them is in the scheduler's ready
 * set at any moment, so other threads may preempt a running coroutine but
 * another coroutine of its loop may not. The loop thread hands its thread
 * to the coroutine it picks (it blocks in WEFT__OP_LOOP, the coroutine
 * becomes ready); the coroutine gives it back when it suspends in an await
 * or ends (weft__loop_release). A woken coroutine is not made ready: it is
 * queued on its loop (weft__loop_enqueue), which resumes queued coroutines
 * first-in first-out, or in the strategy's order with WEFT_LOOP_SHUFFLE.
 * The core knows none of this: a suspended coroutine's on_wake hook sends
 * its wake-up to the loop's queue, its on_block hook applies the
 * blocking-in-loop policy (a coroutine, or a loop's thread running a
 * callback, that blocks holds the whole loop), and weft__loop_hooks do the
 * rest at a task's end and the execution's. Loop state lives in the
 * execution's arena, as does each task's loop-layer state (t->x).
 */
#include "loop/loop.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct weft__cb {
    struct weft__cb *next;
    int64_t when;
    uint64_t seq;
    weft_fn *fn;
    weft_future_fn *ffn;
    weft_future_t *f;
    void *arg;
    const char *file;
    int line;
    bool timed; /* it waited in the loop's timer heap */
};

struct weft__job {
    struct weft__job *next;
    weft_thread_fn *fn;
    void *arg;
    weft_future_t *f;
    struct weft__locals *locals; /* a copy of the submitter's */
    const char *file;            /* where it was submitted, by whom */
    int line;
    uint32_t by;
};

struct weft__loop {
    weft_loop_t *pub;
    uint32_t id;                /* its object id: L<id> in reports */
    unsigned debug;             /* WEFT_LOOP_DEBUG, at hand (0: off) */
    struct weft__task *thread;  /* running it, or NULL */
    struct weft__task *running; /* the coroutine holding its thread */
    struct weft__task *qhead, *qtail;
    uint32_t nq;
    struct weft__cb *soon_head, *soon_tail;
    struct weft__cb **timers; /* heap by (when, seq) */
    uint32_t ntimers, timers_cap;
    uint64_t seq;
    /* the to_thread pool */
    weft__obj_t pool;
    struct weft__job *jobs_head, *jobs_tail;
    struct weft__task **workers;
    unsigned nworkers, idle;
    bool shutdown;
};

/* ------------------------------------------- the layer's state and hooks */

struct weft__taskx *weft__tx_make(struct weft__run *r, struct weft__task *t)
{
    if (t->x == NULL) {
        t->x = weft__run_alloc(r, sizeof *t->x);
        t->hooked = t->x != NULL; /* the layer's task hooks must run */
    }
    return t->x;
}

struct weft__runx *weft__rx_make(struct weft__run *r)
{
    if (r->x == NULL)
        r->x = weft__run_alloc(r, sizeof *r->x);
    return r->x;
}

int weft__rx_push(struct weft__run *r, void *arr, uint32_t *n, uint32_t *cap,
                  void *p)
{
    void ***a = arr;
    if (*n == *cap) {
        /* Arena memory: the old array stays until the execution ends. */
        uint32_t c = *cap ? 2 * *cap : 16;
        void **grown = weft__run_alloc(r, c * sizeof *grown);
        if (grown == NULL)
            return -ENOMEM;
        if (*n > 0)
            memcpy(grown, *a, *n * sizeof *grown);
        *a = grown;
        *cap = c;
    }
    (*a)[(*n)++] = p;
    return 0;
}

static void loop_release(struct weft__run *r, struct weft__task *t);

/* A suspended coroutine's wake-up goes to the back of its loop's queue. */
static void co_woken(struct weft__run *r, struct weft__task *t)
{
    weft__loop_enqueue(r, t);
}

/* A coroutine has left the ready set: its loop's thread goes on, and one
 * that only yields goes to the back of the queue. */
static void co_parked(struct weft__run *r, struct weft__task *t)
{
    loop_release(r, t);
    if (t->wait_op == WEFT__OP_QUEUED)
        weft__loop_enqueue(r, t);
}

int weft__suspend(struct weft__run *r, int op, weft__obj_t *obj,
                  int64_t deadline)
{
    struct weft__task *t = r->cur;
    bool coroutine = weft__co_loop(t) != NULL;
    /* Only the coroutine suspends: its loop's thread goes on. */
    if (coroutine)
        t->on_wake = co_woken;
    int rc = weft__block_raw(r, op, obj, deadline,
                             op != WEFT__OP_LOOP && op != WEFT__OP_LOOP_IDLE,
                             coroutine ? co_parked : NULL);
    t->on_wake = NULL;
    return rc;
}

int weft__wait_uncancellable(struct weft__run *r, int op, weft__obj_t *obj,
                             int64_t deadline)
{
    struct weft__task *t = r->cur;
    if (weft__co_loop(t) == NULL)
        return weft__block_uncancellable(r, op, obj, deadline);
    t->on_wake = co_woken;
    weft__block_raw(r, op, obj, deadline, false, co_parked);
    t->on_wake = NULL;
    return 0;
}

/* The blocking-in-loop policy (a coroutine's on_block, and a loop
 * thread's while it runs a callback): blocking holds the loop's thread. */
static void blocking_in_loop(struct weft__run *r, struct weft__task *t, int op)
{
    int policy = r->cfg->blocking;
    struct weft__taskx *x = t->x;
    if (policy == WEFT_BLOCKING_ALLOW)
        return;
    if (policy == WEFT_BLOCKING_ERROR)
        weft__finding(r, WEFT_FINDING_BLOCKING_IN_LOOP, t->file, t->line,
                      "blocking call inside a loop: %s %s of loop L%u %s %s "
                      "at %s:%d, which blocks the loop's whole thread "
                      "(await instead)",
                      x->loop ? "coroutine" : "the thread", weft__task_name(t),
                      weft__loop_id(x->loop ? x->loop : x->runs_loop),
                      x->loop ? "calls" : "runs a callback that calls",
                      weft__op_name(op), t->file ? t->file : "?", t->line);
    x->warned = true;
    x->block_file = t->file;
    x->block_line = t->line;
}

static void task_spawned(struct weft__run *r, struct weft__task *t,
                         struct weft__task *parent)
{
    if (parent->x != NULL && parent->x->locals != NULL)
        weft__locals_inherit(r, t, parent);
}

static void task_ending(struct weft__run *r, struct weft__task *t, void *ret,
                        int err)
{
    weft__task_done(r, t, ret, err);
    if (err != 0 && t->x != NULL && t->x->pool_of != NULL)
        weft__pool_worker_died(r, t);
}

static __attribute__((cold, noinline)) void
slow_coroutine(struct weft__run *r, struct weft__task *t);

static void task_ended(struct weft__run *r, struct weft__task *t)
{
    struct weft__loop *L = weft__co_loop(t);
    if (L == NULL)
        return;
    if (WEFT__UNLIKELY(L->debug != 0))
        slow_coroutine(r, t); /* its last stretch */
    loop_release(r, t);       /* the loop's thread goes on */
}

static bool execution_check(struct weft__run *r)
{
    return weft__group_leaks(r) || weft__unobserved(r);
}

/* ------------------------------------------------------------ debug mode */

/* asyncio's debug mode (WEFT_LOOP_DEBUG): warnings, never findings, each
 * given once per site in an exploration (the sites seen so far, reset
 * when the run is torn down). They depend only on the execution, so a
 * replay gives the same ones. */
static _Thread_local struct warned {
    const char *file;
    int line;
} * warned;
static _Thread_local uint32_t nwarned, warned_cap;

static bool first_warning(const char *file, int line)
{
    for (uint32_t i = 0; i < nwarned; i++)
        if (warned[i].line == line &&
            (warned[i].file == file ||
             (file && warned[i].file && strcmp(warned[i].file, file) == 0)))
            return false;
    if (weft__grow(&warned, &warned_cap, nwarned + 1, sizeof *warned) == 0)
        warned[nwarned++] = (struct warned){ file, line };
    return true;
}

static void warn(struct weft__run *r, const char *file, int line,
                 const char *fmt, ...) WEFT__PRINTF(4, 5);

static void warn(struct weft__run *r, const char *file, int line,
                 const char *fmt, ...)
{
    if (r->cfg->quiet || !first_warning(file, line))
        return;
    struct weft__buf b = { 0 };
    va_list ap;
    va_start(ap, fmt);
    weft__buf_vprintf(&b, fmt, ap);
    va_end(ap);
    fprintf(stderr, "weft: warning: %s (WEFT_LOOP_DEBUG=%u)\n", b.s ? b.s : "?",
            r->cfg->loop_debug);
    weft__free(b.s);
}

static void debug_teardown(struct weft__run *r)
{
    (void)r;
    weft__free(warned);
    warned = NULL;
    nwarned = warned_cap = 0;
}

/* Did coroutine t keep its loop's thread too long, from its last resume
 * to the await where it gave it back (or its end)? Asked when the loop
 * resumes it next, when its count and site are still those of that
 * await, or when it ends: so the hot path only tests L->debug once per
 * resume. */
static __attribute__((cold, noinline)) void slow_coroutine(struct weft__run *r,
                                                           struct weft__task *t)
{
    struct weft__taskx *x = t->x;
    uint64_t n = t->ops - x->resumed_ops;
    if (x->resumed_file == NULL || n <= r->cfg->loop_debug)
        return; /* not resumed yet: no stretch to judge */
    warn(r, t->file, t->line,
         "coroutine %s ran %llu visible operations without awaiting, from "
         "%s to %s, holding loop L%u's thread all along: a slow callback, "
         "in asyncio's words",
         weft__task_name(t), (unsigned long long)n,
         weft__site(x->resumed_file, x->resumed_line),
         weft__site(t->file, t->line), weft__loop_id(x->loop));
}

const struct weft__hooks weft__loop_hooks = {
    .spawned = task_spawned,
    .ending = task_ending,
    .ended = task_ended,
    .check = execution_check,
    .teardown = debug_teardown,
};

static struct weft__loop *impl(struct weft__run *r, weft_loop_t *l)
{
    if (weft__obj_touch(r, &l->o) || l->impl == NULL) {
        l->impl = weft__run_alloc(r, sizeof *l->impl);
        if (l->impl == NULL)
            return NULL;
        l->impl->pub = l;
        l->impl->id = l->o.id;
        l->impl->debug = r->cfg->loop_debug;
        weft__obj_init(r, &l->impl->pool, l->o.file, l->o.line);
    }
    return l->impl;
}

int weft_loop_init_at(weft_loop_t *l, unsigned flags, const char *file,
                      int line)
{
    if (l == NULL || (flags & ~WEFT_LOOP_SHUFFLE) != 0)
        return -EINVAL;
    l->flags = flags;
    l->impl = NULL;
    weft__obj_init(weft__current, &l->o, file, line);
    if (weft__current != NULL && weft__current->cur != &weft__current->sched)
        return impl(weft__current, l) ? 0 : -ENOMEM;
    return 0;
}

uint32_t weft__loop_id(const struct weft__loop *l)
{
    /* Kept in the arena: the loop object may live in a frame that is
     * gone by the time a report names it. */
    return l ? l->id : 0;
}

struct weft__task *weft__loop_running(const struct weft__loop *l,
                                      uint32_t *queued)
{
    *queued = l->nq;
    return l->running;
}

weft_loop_t *weft_loop_current(void)
{
    struct weft__run *r = weft__run_get("weft_loop_current");
    struct weft__loop *L = weft__any_loop(r->cur);
    return L ? L->pub : NULL;
}

bool weft_in_coroutine(void)
{
    return weft__co_loop(weft__run_get("weft_in_coroutine")->cur) != NULL;
}

/* ------------------------------------------------- the loop's two queues */

static void wake_idle_thread(struct weft__run *r, struct weft__loop *L)
{
    struct weft__task *t = L->thread;
    if (t != NULL && t->state == WEFT__BLOCKED &&
        t->wait_op == WEFT__OP_LOOP_IDLE)
        weft__wake_task(r, t);
}

void weft__loop_enqueue(struct weft__run *r, struct weft__task *t)
{
    struct weft__loop *L = t->x->loop;
    /* Queued means woken: its timer and cancellation wake are spent. */
    t->wait_op = WEFT__OP_QUEUED;
    t->wait_gen++;
    t->cancellable = false;
    t->x->co_next = NULL;
    if (L->qtail)
        L->qtail->x->co_next = t;
    else
        L->qhead = t;
    L->qtail = t;
    L->nq++;
    wake_idle_thread(r, L);
}

/* A coroutine suspends or ends: give the loop's thread back. */
static void loop_release(struct weft__run *r, struct weft__task *t)
{
    struct weft__loop *L = t->x->loop;
    struct weft__task *th = L->thread;
    if (L->running == t)
        L->running = NULL;
    if (th != NULL && th->state == WEFT__BLOCKED &&
        th->wait_op == WEFT__OP_LOOP)
        weft__ready(r, th);
}

static struct weft__task *dequeue(struct weft__run *r, struct weft__loop *L)
{
    uint64_t k = 0;
    if ((L->pub->flags & WEFT_LOOP_SHUFFLE) && L->nq > 1)
        k = weft__choose_value(r, L->nq, WEFT__OP_QUEUED);
    struct weft__task **p = &L->qhead, *prev = NULL;
    for (; k > 0; k--) {
        prev = *p;
        p = &(*p)->x->co_next;
    }
    struct weft__task *t = *p;
    *p = t->x->co_next;
    if (L->qtail == t)
        L->qtail = prev;
    L->nq--;
    t->x->co_next = NULL;
    return t;
}

static bool cb_before(const struct weft__cb *a, const struct weft__cb *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static int timer_add(struct weft__run *r, struct weft__loop *L,
                     struct weft__cb *cb)
{
    if (L->ntimers == L->timers_cap) {
        uint32_t cap = L->timers_cap ? 2 * L->timers_cap : 8;
        struct weft__cb **t = weft__run_alloc(r, cap * sizeof *t);
        if (t == NULL)
            return -ENOMEM;
        if (L->ntimers)
            memcpy(t, L->timers, L->ntimers * sizeof *t);
        L->timers = t;
        L->timers_cap = cap;
    }
    uint32_t i = L->ntimers++;
    while (i > 0 && cb_before(cb, L->timers[(i - 1) / 2])) {
        L->timers[i] = L->timers[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    L->timers[i] = cb;
    return 0;
}

static struct weft__cb *timer_take(struct weft__loop *L)
{
    struct weft__cb *top = L->timers[0], *last = L->timers[--L->ntimers];
    uint32_t i = 0, n = L->ntimers;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && cb_before(L->timers[c + 1], L->timers[c]))
            c++;
        if (!cb_before(L->timers[c], last))
            break;
        L->timers[i] = L->timers[c];
        i = c;
    }
    if (n > 0)
        L->timers[i] = last;
    return top;
}

static void soon_push(struct weft__loop *L, struct weft__cb *cb)
{
    cb->next = NULL;
    if (L->soon_tail)
        L->soon_tail->next = cb;
    else
        L->soon_head = cb;
    L->soon_tail = cb;
}

int weft_call_at_at(weft_loop_t *l, int64_t when, weft_fn *fn, void *arg,
                    const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_call_soon");
    if (l == NULL || fn == NULL)
        return -EINVAL;
    struct weft__loop *L = impl(r, l);
    struct weft__cb *cb = L ? weft__run_alloc(r, sizeof *cb) : NULL;
    if (cb == NULL)
        return -ENOMEM;
    weft__visible(r, WEFT__OP_CALL, &l->o, file, line);
    cb->fn = fn;
    cb->arg = arg;
    cb->when = when;
    cb->seq = L->seq++;
    cb->file = file;
    cb->line = line;
    cb->timed = when >= 0 && when > r->now;
    if (!cb->timed)
        soon_push(L, cb);
    else if (timer_add(r, L, cb) != 0)
        return -ENOMEM;
    wake_idle_thread(r, L);
    return 0;
}

void weft__loop_callback(struct weft__run *r, struct weft__loop *L,
                         weft_future_fn *fn, weft_future_t *f, void *arg)
{
    struct weft__cb *cb = weft__run_alloc(r, sizeof *cb);
    if (cb == NULL) {
        r->oom = true;
        return;
    }
    cb->ffn = fn;
    cb->f = f;
    cb->arg = arg;
    cb->seq = L->seq++;
    soon_push(L, cb);
    wake_idle_thread(r, L);
}

/* -------------------------------------------------------------- coroutines */

weft_future_t *weft_spawn_on_at(weft_loop_t *l, const char *name,
                                weft_thread_fn *fn, void *arg, const char *file,
                                int line)
{
    struct weft__run *r = weft__run_get("weft_spawn");
    struct weft__task *self = r->cur;
    struct weft__loop *L;
    if (fn == NULL)
        return NULL;
    if (l != NULL)
        L = impl(r, l);
    else
        L = weft__any_loop(self);
    if (L == NULL)
        return NULL;
    weft__visible(r, WEFT__OP_SPAWN, &L->pub->o, file, line);
    struct weft__task *t = weft__task_new(r, name, fn, arg);
    weft_future_t *f;
    if (t == NULL)
        return NULL;
    struct weft__taskx *x = weft__tx_make(r, t);
    if (x == NULL || weft__task_future(r, t, &f) != 0) {
        r->oom = true;
        weft__finding(r, WEFT_FINDING_NONE, file, line, "out of memory");
    }
    /* It starts queued on its loop, not ready, and runs on its loop's
     * thread: with that thread's thread-local storage. */
    weft__unready(r, t);
    weft__task_share_tls(t, L->thread != NULL ? L->thread : self);
    x->loop = L;
    t->on_block = blocking_in_loop;
    t->on_wake = co_woken;
    weft__loop_enqueue(r, t);
    return f;
}

/* Run one callback on the loop's thread: blocking in it blocks the loop. */
static void run_callback(struct weft__run *r, struct weft__task *self,
                         struct weft__cb *cb)
{
    uint64_t ops = self->ops;
    self->x->in_callback = true;
    self->on_block = blocking_in_loop;
    if (cb->ffn != NULL)
        cb->ffn(cb->f, cb->arg);
    else
        cb->fn(cb->arg);
    self->on_block = NULL;
    self->x->in_callback = false;
    uint64_t n = self->ops - ops;
    if (WEFT__UNLIKELY(n > r->cfg->loop_debug && r->cfg->loop_debug != 0)) {
        /* a done-callback is named by its future */
        const char *file = cb->ffn ? cb->f->o.file : cb->file;
        int line = cb->ffn ? cb->f->o.line : cb->line;
        warn(r, file, line,
             "%s %s ran %llu visible operations, holding loop L%u's thread "
             "all along: a slow callback, in asyncio's words",
             cb->ffn ? "a done-callback of the future made at"
                     : "the callback queued at",
             weft__site(file, line), (unsigned long long)n,
             weft__loop_id(self->x->runs_loop));
    }
}

/* Callbacks run before queued coroutines, except at a timer tie: a
 * callback from the loop's timer heap and a coroutine woken by its own
 * timer, due at the same instant, have no order of their own (asyncio's
 * timer heap promises none, trio shuffles), so which goes first is the
 * strategy's choice, recorded like every timer tie. Only the coroutine the
 * loop would resume next counts (any queued one on a shuffled loop). */
static bool coroutine_first(struct weft__run *r, struct weft__loop *L)
{
    const struct weft__cb *cb = L->soon_head;
    if (!cb->timed || L->qhead == NULL)
        return false;
    bool tie = false;
    for (struct weft__task *c = L->qhead; c != NULL && !tie;
         c = (L->pub->flags & WEFT_LOOP_SHUFFLE) ? c->x->co_next : NULL)
        tie = c->timed_out && c->deadline == cb->when;
    return tie && weft__choose_value(r, 2, WEFT__OP_TIMEOUT) == 1;
}

/* One turn of the loop: a due callback, else a queued coroutine, else
 * wait for work. Returns false when there is nothing at all to wait for
 * (no coroutine, callback or timer: only another thread could bring work,
 * and the loop waits for that too). */
static void turn(struct weft__run *r, struct weft__loop *L,
                 struct weft__task *self)
{
    while (L->ntimers > 0 && L->timers[0]->when <= r->now)
        soon_push(L, timer_take(L));
    if (L->soon_head != NULL && !coroutine_first(r, L)) {
        struct weft__cb *cb = L->soon_head;
        L->soon_head = cb->next;
        if (L->soon_head == NULL)
            L->soon_tail = NULL;
        run_callback(r, self, cb);
        return;
    }
    if (L->qhead != NULL) {
        struct weft__task *c = dequeue(r, L);
        c->on_wake = NULL;
        c->wait_op = 0;
        L->running = c;
        if (WEFT__UNLIKELY(L->debug != 0)) {
            slow_coroutine(r, c); /* the stretch before its await */
            c->x->resumed_ops = c->ops;
            c->x->resumed_file = c->file;
            c->x->resumed_line = c->line;
        }
        weft__ready(r, c);
        weft__suspend(r, WEFT__OP_LOOP, NULL, WEFT_FOREVER);
        return;
    }
    int64_t next = L->ntimers > 0 ? L->timers[0]->when : WEFT_FOREVER;
    weft__suspend(r, WEFT__OP_LOOP_IDLE, &L->pub->o, next);
}

/* ------------------------------------------------------ the to_thread pool */

static struct weft__task *spawn_worker(struct weft__run *r,
                                       struct weft__loop *L);

/* A worker ended by weft_task_fail in a job: the job's future failed with
 * it (its own future, then); the pool forgets it and, if jobs wait,
 * starts a replacement. */
void weft__pool_worker_died(struct weft__run *r, struct weft__task *t)
{
    struct weft__loop *L = t->x->pool_of;
    for (unsigned i = 0; i < L->nworkers; i++)
        if (L->workers[i] == t) {
            L->workers[i] = L->workers[--L->nworkers];
            break;
        }
    if (L->jobs_head != NULL && !L->shutdown)
        spawn_worker(r, L);
}

static void *worker(void *arg)
{
    struct weft__loop *L = arg;
    struct weft__run *r = weft__current;
    struct weft__task *self = r->cur;
    struct weft__taskx *x = self->x; /* made by spawn_worker */
    for (;;) {
        if (L->jobs_head != NULL) {
            struct weft__job *j = L->jobs_head;
            L->jobs_head = j->next;
            if (L->jobs_head == NULL)
                L->jobs_tail = NULL;
            if (j->f->state != 0)
                continue; /* cancelled before it started: never runs */
            x->locals = j->locals;
            x->job_file = j->file;
            x->job_line = j->line;
            /* While it runs the job, the job's future is the worker's
             * own: cancelling it cancels the worker's waits, and
             * weft_task_fail fails it. */
            x->future = j->f;
            j->f->task = self;
            self->cancel_requests = 0;
            self->cancel_pending = false;
            void *ret = j->fn(j->arg);
            /* A cancelled job's future ends cancelled whatever the job
             * returns (asyncio: a cancelled executor future drops what
             * the thread returns), and the worker lives on. */
            weft__task_done(r, self, ret,
                            self->cancel_requests > 0 ? -ECANCELED : 0);
            x->future = NULL;
            x->job_file = NULL;
            continue;
        }
        if (L->shutdown)
            break;
        L->idle++;
        weft__block_uncancellable(r, WEFT__OP_LOOP_IDLE, &L->pool,
                                  WEFT_FOREVER);
        L->idle--;
    }
    return NULL;
}

weft_future_t *weft_to_thread_at(weft_thread_fn *fn, void *arg,
                                 const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_to_thread");
    struct weft__task *self = r->cur;
    struct weft__loop *L = weft__any_loop(self);
    if (L == NULL || fn == NULL)
        return NULL;
    weft__visible(r, WEFT__OP_TO_THREAD, &L->pub->o, file, line);
    struct weft__job *j = weft__run_alloc(r, sizeof *j);
    weft_future_t *f = weft__run_alloc(r, sizeof *f);
    if (j == NULL || f == NULL)
        return NULL;
    weft__obj_init(r, &f->o, file, line);
    struct weft__runx *rx = weft__rx_make(r);
    if (rx == NULL || weft__rx_push(r, &rx->task_futures, &rx->ntask_futures,
                                    &rx->task_futures_cap, f) != 0)
        return NULL;
    j->fn = fn;
    j->arg = arg;
    j->f = f;
    j->locals = weft__locals_copy(r, self);
    j->file = file;
    j->line = line;
    j->by = self->id;
    if (L->jobs_tail)
        L->jobs_tail->next = j;
    else
        L->jobs_head = j;
    L->jobs_tail = j;
    unsigned max = r->cfg->loop_workers ? r->cfg->loop_workers : 1;
    if (L->idle > 0) {
        weft__wake(r, &L->pool, WEFT__WAKE_OLDEST);
    } else if (L->nworkers < max && spawn_worker(r, L) == NULL) {
        return NULL;
    }
    return f;
}

static struct weft__task *spawn_worker(struct weft__run *r,
                                       struct weft__loop *L)
{
    unsigned max = r->cfg->loop_workers ? r->cfg->loop_workers : 1;
    if (L->workers == NULL)
        L->workers = weft__run_alloc(r, max * sizeof *L->workers);
    struct weft__task *w =
        L->workers ? weft__task_new(r, "to_thread worker", worker, L) : NULL;
    if (w == NULL || weft__tx_make(r, w) == NULL)
        return NULL;
    w->x->pool_of = L;
    L->workers[L->nworkers++] = w;
    return w;
}

void weft__pool_view(const struct weft__run *r, const struct weft__loop *L,
                     struct weft__pool_view *v)
{
    v->workers = L->nworkers;
    v->max = r->cfg->loop_workers ? r->cfg->loop_workers : 1;
    v->idle = L->idle;
    v->queued = 0;
    for (const struct weft__job *j = L->jobs_head; j != NULL; j = j->next)
        v->queued += j->f->state == 0; /* a cancelled one never runs */
}

bool weft__pool_queued(const struct weft__loop *L, uint32_t i,
                       weft_future_t **f, const char **file, int *line,
                       uint32_t *by)
{
    for (const struct weft__job *j = L->jobs_head; j != NULL; j = j->next) {
        if (j->f->state != 0 || i-- > 0)
            continue;
        *f = j->f;
        *file = j->file;
        *line = j->line;
        *by = j->by;
        return true;
    }
    return false;
}

struct weft__loop *weft__job_queued_on(const struct weft__run *r,
                                       const weft_future_t *f)
{
    for (struct weft__loop *L = weft__loop_next(r, NULL); L != NULL;
         L = weft__loop_next(r, L))
        for (const struct weft__job *j = L->jobs_head; j != NULL; j = j->next)
            if (j->f == f)
                return L;
    return NULL;
}

struct weft__loop *weft__loop_next(const struct weft__run *r,
                                   const struct weft__loop *L)
{
    uint32_t i = L != NULL ? L->thread->id + 1 : 0;
    for (; i < r->ntasks; i++) {
        struct weft__loop *next = weft__runs_loop(r->tasks[i]);
        if (next != NULL && next->thread == r->tasks[i])
            return next;
    }
    return NULL;
}

/* Stop the pool and wait for its workers to end. */
static inline __attribute__((always_inline)) void
pool_shutdown(struct weft__run *r, struct weft__loop *L,
              struct weft__task *self)
{
    L->shutdown = true;
    weft__wake(r, &L->pool, WEFT__WAKE_ALL);
    for (unsigned i = 0; i < L->nworkers; i++) {
        struct weft__task *w = L->workers[i];
        while (w->state != WEFT__DONE) {
            w->joiner = self;
            self->wait_task = w;
            weft__block_uncancellable(r, WEFT__OP_JOIN, NULL, WEFT_FOREVER);
            self->wait_task = NULL;
        }
        w->joined = true;
    }
}

/* ------------------------------------------------------------------- run */

/* Debug mode: the main coroutine returned; what else was still to do is
 * cancelled (coroutines) or dropped (timer callbacks) on the way out. */
static void pending_at_end(struct weft__run *r, struct weft__loop *L,
                           const char *file, int line)
{
    struct weft__buf b = { 0 };
    unsigned n = 0;
    for (uint32_t i = 0; i < r->ntasks; i++) {
        struct weft__task *t = r->tasks[i];
        if (weft__co_loop(t) != L || t->state == WEFT__DONE)
            continue;
        if (n++ == 0)
            weft__buf_printf(&b, "coroutines still pending, cancelled on the "
                                 "way out: ");
        if (n <= 4)
            weft__buf_printf(&b, "%s%s spawned at %s", n > 1 ? ", " : "",
                             weft__task_name(t),
                             weft__site(t->spawn_file, t->spawn_line));
    }
    if (n > 4)
        weft__buf_printf(&b, " and %u more", n - 4);
    if (L->ntimers > 0) {
        const struct weft__cb *first = L->timers[0]; /* the heap's top */
        weft__buf_printf(&b,
                         "%s%u timer callback%s that will never run, the "
                         "first queued at %s",
                         n ? "; " : "", L->ntimers, L->ntimers == 1 ? "" : "s",
                         weft__site(first->file, first->line));
    }
    if (b.len > 0)
        warn(r, file, line,
             "loop L%u run at %s: its main coroutine returned, and left %s; "
             "in asyncio's words, a task was destroyed but it is pending",
             weft__loop_id(L), weft__site(file, line), b.s);
    weft__free(b.s);
}

static inline __attribute__((always_inline)) int
loop_run(weft_loop_t *l, weft_thread_fn *main, void *arg,
         weft_future_t **main_future, void **ret, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_loop_run");
    struct weft__task *self = r->cur;
    if (main == NULL || main_future == NULL)
        return -EINVAL;
    if (weft__any_loop(self) != NULL)
        return -EBUSY; /* no loop inside a loop, as asyncio.run */
    if (l == NULL) {
        l = weft__run_alloc(r, sizeof *l);
        if (l == NULL)
            return -ENOMEM;
        weft__obj_init(r, &l->o, file, line);
    }
    struct weft__loop *L = impl(r, l);
    if (L == NULL)
        return -ENOMEM;
    if (L->thread != NULL)
        return -EBUSY;
    /* A loop may run again: its pool starts afresh (the old workers were
     * joined when the last run ended). */
    L->shutdown = false;
    L->nworkers = 0;
    L->idle = 0;
    if (weft__tx_make(r, self) == NULL)
        return -ENOMEM;
    L->thread = self;
    self->x->runs_loop = L;
    weft_future_t *mf =
        weft_spawn_on_at(l, "main coroutine", main, arg, file, line);
    if (mf == NULL) {
        L->thread = NULL;
        self->x->runs_loop = NULL;
        return -ENOMEM;
    }
    *main_future = mf;
    while (mf->state == 0)
        turn(r, L, self);
    if (WEFT__UNLIKELY(L->debug != 0))
        pending_at_end(r, L, file, line);
    /* asyncio.run's epilogue: cancel what is left, let it finish. */
    for (uint32_t i = 0; i < r->ntasks; i++) {
        struct weft__task *t = r->tasks[i];
        if (weft__co_loop(t) == L && t->state != WEFT__DONE)
            weft__cancel_task(r, t);
    }
    for (;;) {
        bool left = false;
        for (uint32_t i = 0; i < r->ntasks && !left; i++)
            left = weft__co_loop(r->tasks[i]) == L &&
                   r->tasks[i]->state != WEFT__DONE;
        if (!left && L->soon_head == NULL)
            break;
        turn(r, L, self);
    }
    pool_shutdown(r, L, self);
    L->thread = NULL;
    self->x->runs_loop = NULL;
    return weft_future_result(mf, ret);
}

int weft_loop_run_at(weft_loop_t *l, weft_thread_fn *main, void *arg,
                     void **ret, const char *file, int line)
{
    weft_future_t *mf;
    return loop_run(l, main, arg, &mf, ret, file, line);
}

int weft_loop_run_future_at(weft_loop_t *l, weft_thread_fn *main, void *arg,
                            weft_future_t **main_future, void **ret,
                            const char *file, int line)
{
    return loop_run(l, main, arg, main_future, ret, file, line);
}

int weft_await_sleep_until_at(int64_t deadline, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_await_sleep");
    struct weft__task *t = r->cur;
    if (weft__co_loop(t) == NULL)
        return weft_sleep_until_at(deadline, file, line);
    weft__visible(r, WEFT__OP_AWAIT, NULL, file, line);
    if (deadline == WEFT_FOREVER || deadline > r->now)
        return weft__suspend(r, WEFT__OP_AWAIT, NULL, deadline);
    /* A deadline already passed: yield to the loop's other coroutines. */
    return weft__suspend(r, WEFT__OP_QUEUED, NULL, WEFT_FOREVER);
}
