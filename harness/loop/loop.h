/*
 * loop.h: the loop layer (harness/loop/): event loops and coroutines
 * (loop.c), futures (future.c), task groups (group.c), channels (chan.c)
 * and task-local storage (locals.c).
 *
 * A coroutine is a task bound to a loop; it suspends only in an await and
 * then gives its loop's thread back. The core knows none of this: the
 * layer keeps its per-task state in struct weft__taskx (t->x) and its
 * per-execution state in struct weft__runx (r->x), both in the execution's
 * arena, and reaches the core only through its hooks (weft__loop_hooks, a
 * task's on_wake and on_block). Uses: sync, core, platform.
 */
#ifndef WEFT_LOOP_H
#define WEFT_LOOP_H

#include "sync/sync.h"

struct weft__loop;
struct weft__locals;

/* A task's loop-layer state (t->x), made on first need. */
struct weft__taskx {
    struct weft__loop *loop;      /* a coroutine's loop; NULL: a thread */
    struct weft__loop *runs_loop; /* the loop this thread runs, or NULL */
    struct weft__task *co_next;   /* in its loop's ready queue */
    bool in_callback;             /* a loop thread running callbacks */
    bool warned;                  /* made a blocking call in a loop (warn) */
    struct weft__loop *pool_of;   /* a to_thread worker of this loop */
    weft_future_t *future;        /* its outcome, or NULL */
    struct weft__locals *locals;  /* task-local values (copy on spawn) */
    const char *block_file;       /* a blocking call inside a loop */
    int block_line;
    const char *job_file; /* a to_thread worker's current job: */
    int job_line;         /* where it was submitted */
    /* loop debug mode: where and after how many operations of its own a
     * coroutine last got its loop's thread */
    uint64_t resumed_ops;
    const char *resumed_file;
    int resumed_line;
};

/* The execution's loop-layer state (r->x), made on first need. */
struct weft__runx {
    /* every task future, for the unobserved-failure check */
    weft_future_t **task_futures;
    uint32_t ntask_futures, task_futures_cap;
    /* records of the groups touched this execution (the groups
     * themselves may be gone: they live in tasks' frames) */
    struct weft__grec **groups;
    uint32_t ngroups, groups_cap;
};

/* t's loop-layer state, or NULL when it has none (nothing to read). */
static inline struct weft__taskx *weft__tx(const struct weft__task *t)
{
    return t->x;
}
/* The same, made if missing; NULL only when out of memory. */
WEFT__HIDDEN struct weft__taskx *weft__tx_make(struct weft__run *r,
                                               struct weft__task *t);
/* The execution's loop-layer state, made if missing; NULL: no memory. */
WEFT__HIDDEN struct weft__runx *weft__rx_make(struct weft__run *r);
/* Append p to an arena array (*arr, *n, *cap); -ENOMEM. */
WEFT__HIDDEN int weft__rx_push(struct weft__run *r, void *arr, uint32_t *n,
                               uint32_t *cap, void *p);

/* A coroutine's loop, or NULL for a thread. */
static inline struct weft__loop *weft__co_loop(const struct weft__task *t)
{
    return t->x != NULL ? t->x->loop : NULL;
}
/* The loop a thread runs, or NULL. */
static inline struct weft__loop *weft__runs_loop(const struct weft__task *t)
{
    return t->x != NULL ? t->x->runs_loop : NULL;
}
/* The loop a task belongs to: its own as a coroutine, else the one its
 * thread runs; NULL for a plain thread. */
static inline struct weft__loop *weft__any_loop(const struct weft__task *t)
{
    if (t->x == NULL)
        return NULL;
    return t->x->loop != NULL ? t->x->loop : t->x->runs_loop;
}

/* What the loop layer adds to the life of tasks and executions. */
WEFT__HIDDEN extern const struct weft__hooks weft__loop_hooks;

/* Suspend the current task (a coroutine gives its loop's thread back,
 * a thread blocks), with no blocking-in-loop check: awaits and the loop
 * thread's own waits. Returns 0 or -ECANCELED. */
WEFT__HIDDEN int weft__suspend(struct weft__run *r, int op, weft__obj_t *obj,
                               int64_t deadline);
/* As weft__wait, but not a cancellation point. */
WEFT__HIDDEN int weft__wait_uncancellable(struct weft__run *r, int op,
                                          weft__obj_t *obj, int64_t deadline);
/* Wait for obj as the current task can: a coroutine awaits (only it
 * suspends), a thread blocks. 0 or -ECANCELED. */
static inline int weft__wait(struct weft__run *r, int op, weft__obj_t *obj,
                             int64_t deadline)
{
    return weft__co_loop(r->cur) != NULL ? weft__suspend(r, op, obj, deadline)
                                         : weft__block(r, op, obj, deadline);
}

/* Loops (loop.c): queue an awaiting coroutine on its loop. */
WEFT__HIDDEN void weft__loop_enqueue(struct weft__run *r, struct weft__task *t);
/* Queue fn(f, arg) on a loop (done-callbacks). */
WEFT__HIDDEN void weft__loop_callback(struct weft__run *r, struct weft__loop *l,
                                      weft_future_fn *fn, weft_future_t *f,
                                      void *arg);
/* A loop's name in reports: L<id>. */
WEFT__HIDDEN uint32_t weft__loop_id(const struct weft__loop *l);
/* The coroutine holding a loop's thread, and how many are queued. */
WEFT__HIDDEN struct weft__task *weft__loop_running(const struct weft__loop *l,
                                                   uint32_t *queued);
/* The running loops of this execution, in the order of their threads'
 * task ids: the first after NULL, NULL after the last (reports). Only a
 * running loop can hold to_thread jobs: its pool drains before it
 * returns. */
WEFT__HIDDEN struct weft__loop *weft__loop_next(const struct weft__run *r,
                                                const struct weft__loop *L);
/* Reports: a loop's to_thread pool as it stands. */
struct weft__pool_view {
    unsigned workers; /* started and not ended */
    unsigned max;     /* the most it may have (WEFT_LOOP_WORKERS) */
    unsigned idle;    /* waiting for a job; the others run one */
    uint32_t queued;  /* jobs no worker has taken yet */
};
WEFT__HIDDEN void weft__pool_view(const struct weft__run *r,
                                  const struct weft__loop *L,
                                  struct weft__pool_view *v);
/* The i-th job queued on L's pool: its future, where and by which task
 * it was submitted; false past the last. */
WEFT__HIDDEN bool weft__pool_queued(const struct weft__loop *L, uint32_t i,
                                    weft_future_t **f, const char **file,
                                    int *line, uint32_t *by);
/* The loop whose pool holds f as a job not started yet, or NULL. */
WEFT__HIDDEN struct weft__loop *weft__job_queued_on(const struct weft__run *r,
                                                    const weft_future_t *f);
/* A to_thread worker died in a job (loop.c). */
WEFT__HIDDEN void weft__pool_worker_died(struct weft__run *r,
                                         struct weft__task *t);

/* Futures (future.c): a task ended with ret or error err. */
WEFT__HIDDEN void weft__task_done(struct weft__run *r, struct weft__task *t,
                                  void *ret, int err);
/* Give t a future for its outcome, listed for the unobserved check. */
WEFT__HIDDEN int weft__task_future(struct weft__run *r, struct weft__task *t,
                                   weft_future_t **out);
/* fn(f, arg) runs in the task that completes f (internal bookkeeping). */
WEFT__HIDDEN int weft__future_on_done_inline(struct weft__run *r,
                                             weft_future_t *f,
                                             weft_future_fn *fn, void *arg);
/* After an execution: a failed task nobody observed (future.c). */
WEFT__HIDDEN bool weft__unobserved(struct weft__run *r);
/* After an execution: a group left with live children (group.c). */
WEFT__HIDDEN bool weft__group_leaks(struct weft__run *r);

/* Task-locals (locals.c): the child starts with a copy of the parent's. */
WEFT__HIDDEN void weft__locals_inherit(struct weft__run *r,
                                       struct weft__task *child,
                                       struct weft__task *parent);
/* A copy of t's locals for a to_thread job (NULL: none, or no memory). */
WEFT__HIDDEN struct weft__locals *weft__locals_copy(struct weft__run *r,
                                                    struct weft__task *t);

#endif /* WEFT_LOOP_H */
