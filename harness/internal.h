/*
 * internal.h: what the harness's files share and users never see.
 *
 * One execution is a `struct weft__run`: its tasks, the ready set, the
 * virtual clock and timer heap, the trace and the decision log. Every public
 * visible operation calls weft__visible() (record, then the ONE decision
 * point), and a blocking one then calls weft__block(); objects wake waiters
 * with weft__wake_*(). Strategies live behind `struct weft__strategy` and
 * never call back into the runtime. Layers (DESIGN.md 6): context.h and
 * stack.c are the platform; sched.c the core; the primitive files sit on
 * the core; report.c and explore.c are the front.
 */
#ifndef WEFT_INTERNAL_H
#define WEFT_INTERNAL_H

#include "context.h"
#include "weft.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#define WEFT__HIDDEN      __attribute__((visibility("hidden")))
#define WEFT__LIKELY(x)   __builtin_expect(!!(x), 1)
#define WEFT__UNLIKELY(x) __builtin_expect(!!(x), 0)

/* --------------------------------------------------------- allocation */

/* The one allocation seam (alloc.c): fails the n-th call on request. */
WEFT__HIDDEN void *weft__alloc(size_t size);
WEFT__HIDDEN void *weft__zalloc(size_t size);
WEFT__HIDDEN void *weft__realloc(void *p, size_t size);
WEFT__HIDDEN void weft__free(void *p);
/* True if the next allocation should fail (counts it): for mmap users. */
WEFT__HIDDEN bool weft__alloc_should_fail(void);

/* Grow *arr (of elem-sized items, capacity *cap) to hold n; -ENOMEM. */
WEFT__HIDDEN int weft__grow(void *arr, uint32_t *cap, uint32_t n, size_t elem);

/* A growable text buffer; on allocation failure it stops growing and keeps
 * what fits (reports must never fail). */
struct weft__buf {
    char *s;
    size_t len, cap;
};
WEFT__HIDDEN void weft__buf_printf(struct weft__buf *b, const char *fmt, ...)
    WEFT__PRINTF(2, 3);
WEFT__HIDDEN void weft__buf_vprintf(struct weft__buf *b, const char *fmt,
                                    va_list ap) WEFT__PRINTF(2, 0);

/* Misuse of weft itself: one greppable sentence, then abort. */
WEFT__HIDDEN WEFT__NORETURN void weft__misuse(const char *fn, const char *fmt,
                                              ...) WEFT__PRINTF(2, 3);

/* ------------------------------------------------------------- stacks */

struct weft__stack {
    struct weft__stack *next; /* pool free list */
    char *lo;                 /* lowest usable byte (above the guard) */
    size_t size;              /* usable bytes */
    char *map;                /* mapping, guard page first */
    size_t map_size;
    unsigned valgrind_id;
};

WEFT__HIDDEN struct weft__stack *weft__stack_get(size_t size);
WEFT__HIDDEN void weft__stack_put(struct weft__stack *s);
WEFT__HIDDEN void weft__stack_trim(unsigned keep);
WEFT__HIDDEN size_t weft__page_size(void);

/* -------------------------------------------------------- operations */

/* Visible operations, as recorded in the trace and decision log. */
enum weft__op {
    WEFT__OP_START,
    WEFT__OP_SPAWN,
    WEFT__OP_JOIN,
    WEFT__OP_DETACH,
    WEFT__OP_EXIT,
    WEFT__OP_YIELD,
    WEFT__OP_LOCK,
    WEFT__OP_UNLOCK,
    WEFT__OP_MUTEX_DESTROY,
    WEFT__OP_COND_WAIT,
    WEFT__OP_COND_SIGNAL,
    WEFT__OP_COND_BROADCAST,
    WEFT__OP_RDLOCK,
    WEFT__OP_WRLOCK,
    WEFT__OP_RWUNLOCK,
    WEFT__OP_SEM_WAIT,
    WEFT__OP_SEM_POST,
    WEFT__OP_BARRIER,
    WEFT__OP_ONCE,
    WEFT__OP_ATOMIC,
    WEFT__OP_SLEEP,
    WEFT__OP_CHOOSE,
    WEFT__OP_AWAIT,       /* a coroutine suspends until woken */
    WEFT__OP_COMPLETE,    /* a future completes */
    WEFT__OP_LOOP,        /* a loop thread lends itself to a coroutine */
    WEFT__OP_LOOP_IDLE,   /* a loop thread waits for work */
    WEFT__OP_QUEUED,      /* a coroutine waits in its loop's queue */
    WEFT__OP_CALL,        /* a callback is queued on a loop */
    WEFT__OP_FUTURE_WAIT, /* a thread waits for a future */
    WEFT__OP_CANCEL,      /* a task or scope is cancelled */
    WEFT__OP_GROUP,       /* a task group: spawn into, wait for */
    WEFT__OP_CHAN_PUT,
    WEFT__OP_CHAN_GET,
    WEFT__OP_CHAN_CLOSE,
    WEFT__OP_READ,  /* a plain memory access (weft-cc, granularity memory) */
    WEFT__OP_WRITE, /* the same, a store */
    /* traced only, never a decision: */
    WEFT__OP_BLOCK,   /* the task starts waiting */
    WEFT__OP_WAKEUP,  /* another task's operation ended its wait */
    WEFT__OP_TIMEOUT, /* its deadline ended its wait */
    WEFT__OP__COUNT
};

WEFT__HIDDEN const char *weft__op_name(int op);

/* Sites: a (file, line) pair names where an operation happened. A site
 * whose file is weft__pc_site has no source position yet: its line is an
 * offset into the program's code (weft-cc: the caller of an interposed
 * function, or an instrumented access), turned into "file:line
 * (function)" by weft__pc_site_fmt when weft-cc installs a symbolizer. */
WEFT__HIDDEN extern const char weft__pc_site[];
WEFT__HIDDEN extern const char *(*weft__pc_site_fmt)(int line);
/* explore.c: report a failure from the execution that found it (weft-cc). */
WEFT__HIDDEN extern bool weft__report_first_run;
WEFT__HIDDEN extern uint64_t weft__exec_offset;

/* signal.c: the message of a crash the handler caught (after it). */
struct weft__run;
WEFT__HIDDEN void weft__crash_describe(struct weft__run *r);

/* A site as reports print it (one of four rotating buffers). */
WEFT__HIDDEN const char *weft__site(const char *file, int line);
/* The letter naming an operation's object in reports: M, C, L, S, B, O. */
WEFT__HIDDEN char weft__op_letter(int op);

/* -------------------------------------------------------------- tasks */

enum weft__state {
    WEFT__READY,   /* running or runnable: in run->ready */
    WEFT__BLOCKED, /* waiting on wait_obj and/or a deadline */
    WEFT__DONE,
};

struct weft__task {
    struct weft__ctx ctx; /* first: the switch reads it */
    struct weft__run *run;
    uint32_t id;
    uint32_t ready_pos; /* index in run->ready while READY */
    uint8_t state;
    bool detached, joined, timed_out, signalled, dying;
    unsigned atomic_depth;

    weft_thread_fn *fn;
    void *arg;
    void *ret;
    struct weft__stack *stack;
    void *asan_fake;

    /* what it waits for (while BLOCKED) */
    int wait_op;
    weft__obj_t *wait_obj;
    struct weft__task *wait_task; /* join target */
    int64_t deadline;
    uint32_t wait_gen; /* bumps each block: stale timers are skipped */
    struct weft__task *wait_next, *wait_prev;

    struct weft__task *joiner;
    weft_mutex_t *held; /* mutexes it owns, most recent first */

    const char *file; /* site of its latest visible operation */
    int line;
    const char *spawn_file;
    int spawn_line;

    /* loops and coroutines (loop.c, future.c) */
    struct weft__loop *loop;      /* a coroutine's loop; NULL: a thread */
    struct weft__loop *runs_loop; /* the loop this thread runs, or NULL */
    struct weft__task *co_next;   /* in its loop's ready queue */
    bool awaiting;                /* suspended in an await, not blocked */
    bool in_callback;             /* a loop thread running callbacks */
    bool cancel_pending;          /* weft_cancel not yet delivered */
    bool cancel_requested;        /* weft_cancel was called */
    bool warned;                  /* made a blocking call in a loop (warn) */
    bool cancellable;             /* its current wait is a cancel point */
    bool deadline_cancel;         /* its last wait ended by a scope deadline */
    struct weft__loop *pool_of;   /* a to_thread worker of this loop */
    int fail_err;                 /* weft_task_fail's error, or 0 */
    int cancel_hit;               /* -ECANCELED: last wait was cancelled */
    weft_future_t *future;        /* its outcome, or NULL */
    struct weft_scope *scope;     /* innermost cancel scope */
    struct weft__locals *locals;  /* task-local values (copy on spawn) */
    const char *block_file;       /* a blocking call inside a loop */
    int block_line;
    bool stack_escaped; /* weft-cc: another task accessed its stack */

    char name[32];
};

/* ---------------------------------------------------------- strategies */

enum weft__choice_kind {
    WEFT__CHOOSE_TASK,  /* which ready task runs next: returns an index */
    WEFT__CHOOSE_VALUE, /* a value in [0, n) */
};

struct weft__choice {
    int kind;
    uint32_t n;          /* options: ready tasks, or values */
    const uint32_t *ids; /* ready task ids (kind TASK), else NULL */
    uint32_t current;    /* index of the running task in ids, or n */
    uint64_t step;
    int op;            /* the operation about to happen */
    uint64_t set_hash; /* order-free hash of ids */
};

/* One entry of the decision log: enough to replay and to check a replay. */
struct weft__decision {
    uint64_t step;
    uint64_t set_hash;
    uint32_t n;
    uint32_t chosen; /* task id (TASK) or value (VALUE) */
    uint32_t cur;    /* the running task's id if it could go on, else
                        WEFT__NO_TASK (not stored in schedule files) */
    uint8_t kind;
    uint8_t op;
};

#define WEFT__NO_TASK UINT32_MAX

/* A decision that switched away from a task that could have gone on, other
 * than at a yield: what a preemption bound counts. */
static inline bool weft__is_preemption(const struct weft__decision *d)
{
    return d->kind == WEFT__CHOOSE_TASK && d->cur != WEFT__NO_TASK &&
           d->chosen != d->cur && d->op != WEFT__OP_YIELD;
}

#define WEFT__DIVERGED UINT64_MAX

struct weft__strategy {
    const char *name;
    bool seed_replays; /* the seed (plus describe()) replays an execution */
    /* Make the state for a whole exploration; -errno on failure. */
    int (*create)(void **state, const weft_config_t *cfg, char *err,
                  size_t err_len);
    void (*destroy)(void *state);
    /* A new execution with this seed. */
    void (*begin)(void *state, uint64_t seed);
    /* Returns an index into ids (TASK) or a value (VALUE), or
     * WEFT__DIVERGED with a reason written by explain(). */
    uint64_t (*choose)(void *state, const struct weft__choice *c);
    /* After an execution: did it leave recorded choices unused? */
    bool (*finished)(void *state, char *why, size_t len);
    void (*explain)(void *state, char *why, size_t len);
    /* After an execution of `steps` steps: false when the strategy has
     * nothing left to explore (a systematic search is exhausted). */
    bool (*next)(void *state, uint64_t steps);
    /* The WEFT_* settings, beyond the seed, that replay the execution
     * just run (for the replay line), e.g. "WEFT_STRATEGY=pct ...". */
    void (*describe)(void *state, struct weft__buf *out);
};

WEFT__HIDDEN extern const struct weft__strategy weft__strategy_random;
WEFT__HIDDEN extern const struct weft__strategy weft__strategy_replay;
WEFT__HIDDEN extern const struct weft__strategy weft__strategy_pct;
WEFT__HIDDEN extern const struct weft__strategy weft__strategy_dfs;

/* ------------------------------------------------------------ the run */

struct weft__event {
    uint64_t step;
    int64_t time;
    uint32_t task;
    uint32_t obj;
    uint16_t op;
    uint16_t wait_op; /* for BLOCK and WAKEUP: what the wait was */
    int line;
    const char *file;
};

struct weft__timer {
    int64_t deadline;
    uint64_t seq; /* ties broken by arming order, never by address */
    struct weft__task *task;
    uint32_t gen;
};

struct weft__finding {
    weft_finding_t kind;
    uint32_t task;
    uint64_t step;
    int64_t time;
    const char *file;
    int line;
    char message[512];
    struct weft__buf detail; /* extra report lines (deadlock analysis) */
};

struct weft__run {
    const weft_config_t *cfg;
    const struct weft__strategy *strategy;
    void *strategy_state;
    uint64_t epoch; /* unique per execution in this process */
    uint64_t seed;
    uint64_t step;
    uint64_t max_steps;
    int64_t now;
    unsigned spurious_left;

    struct weft__task *cur;
    struct weft__task sched; /* the scheduler's own context (main stack) */
    struct weft__task *dead; /* exited task whose stack awaits release */
    weft_body_fn *body;
    void *body_arg;
    void *main_lo; /* the OS thread's stack, for AddressSanitizer */
    size_t main_size;

    struct weft__task **tasks; /* by id; structs reused across executions */
    uint32_t ntasks, tasks_cap, tasks_alloc;
    uint32_t live; /* tasks not DONE */

    struct weft__task **ready;
    uint32_t *ready_ids;
    uint32_t nready, ready_cap, ready_ids_cap;
    uint64_t ready_hash;

    struct weft__timer *timers; /* binary heap by (deadline, seq) */
    uint32_t ntimers, timers_cap;
    uint64_t timer_seq;
    struct weft__timer *due; /* timers firing at one instant */
    uint32_t due_cap;

    uint32_t next_obj_id;

    struct weft__event *ring; /* the last trace_tail events */
    uint32_t ring_cap;
    uint64_t nevents; /* events recorded, the ring's write index */
    uint64_t hash;    /* of the whole trace */

    struct weft__decision *decisions;
    uint32_t ndecisions, decisions_cap;
    bool decisions_full; /* the log could not grow: replay file partial */

    bool failed;
    bool oom;
    struct weft__finding finding;
    struct weft__cov *cov; /* synchronization coverage, when asked for */

    /* memory that lives until the execution ends (weft__run_alloc) */
    struct weft__chunk *arena;
    /* every task future, for the unobserved-failure check */
    weft_future_t **task_futures;
    uint32_t ntask_futures, task_futures_cap;
    struct weft__grec **groups; /* records of the groups touched this
                                   execution (the groups themselves may
                                   be gone: they live in tasks' frames) */
    uint32_t ngroups, groups_cap;
    uint64_t blocking_warnings; /* policy warn: calls seen */
    const char *warn_file;
    int warn_line;
    /* lock-order detector (lockorder.c): its state, attached by the first
     * lock it sees and so reset with the run at each weft_explore; and the
     * rwlock holds it tracks over all tasks (a mutex lock looks further
     * only when its task holds a mutex or this is not 0) */
    struct weft__lockorder *lockorder;
    uint32_t lockorder_rw;
    sigjmp_buf escape; /* crash handler jumps here, on the main stack */
};

/* Zeroed memory freed when the execution ends (futures, loop state,
 * callbacks); NULL when out of memory. */
WEFT__HIDDEN void *weft__run_alloc(struct weft__run *r, size_t size);

/* Make a task ready as it is (no wait queue, no loop): for loops. */
WEFT__HIDDEN void weft__ready(struct weft__run *r, struct weft__task *t);
/* Block without the blocking-in-loop policy: awaits (the loop thread
 * resumes) and the loop thread's own waits. Returns 0 or -ECANCELED. */
WEFT__HIDDEN int weft__suspend(struct weft__run *r, int op, weft__obj_t *obj,
                               int64_t deadline);
/* Effective cancellation deadline of the current task's scopes, and
 * whether it is already cancelled (loop.c). */
WEFT__HIDDEN int64_t weft__scope_deadline(struct weft__task *t,
                                          bool *cancelled);
WEFT__HIDDEN void weft__pool_worker_died(struct weft__run *r,
                                         struct weft__task *t);
/* Is a shield scope active in t (outer cancellation kept out)? */
WEFT__HIDDEN bool weft__shielded(struct weft__task *t);
/* Mark the cancelled scopes of t as having ended a wait. */
WEFT__HIDDEN void weft__scope_hit(struct weft__task *t);
/* An await that ended by a deadline returned its outcome after all. */
WEFT__HIDDEN void weft__scope_unhit(struct weft__task *t);
/* Called when a scope's deadline ended a wait. */
WEFT__HIDDEN void weft__scope_expired(struct weft__task *t, int64_t now);
/* Loops (loop.c): queue an awaiting coroutine on its loop; a coroutine
 * ends (give the loop's thread back). */
WEFT__HIDDEN void weft__loop_enqueue(struct weft__run *r, struct weft__task *t);
WEFT__HIDDEN void weft__loop_release(struct weft__run *r, struct weft__task *t);
/* Futures (future.c): a task ended with ret or error err. */
WEFT__HIDDEN void weft__task_done(struct weft__run *r, struct weft__task *t,
                                  void *ret, int err);
/* Give t a future for its outcome, listed for the unobserved check. */
WEFT__HIDDEN int weft__task_future(struct weft__run *r, struct weft__task *t,
                                   weft_future_t **out);
WEFT__HIDDEN void weft__cancel_task(struct weft__run *r, struct weft__task *t);
/* fn(f, arg) runs in the task that completes f (internal bookkeeping). */
WEFT__HIDDEN int weft__future_on_done_inline(struct weft__run *r,
                                             weft_future_t *f,
                                             weft_future_fn *fn, void *arg);
/* Queue fn(f, arg) on a loop (done-callbacks). */
WEFT__HIDDEN void weft__loop_callback(struct weft__run *r, struct weft__loop *l,
                                      weft_future_fn *fn, weft_future_t *f,
                                      void *arg);
/* A loop's name in reports: L<id>. */
WEFT__HIDDEN uint32_t weft__loop_id(const struct weft__loop *l);
/* The coroutine holding a loop's thread, and how many are queued. */
WEFT__HIDDEN struct weft__task *weft__loop_running(const struct weft__loop *l,
                                                   uint32_t *queued);
/* Take a just-created task out of the ready set (it starts queued). */
WEFT__HIDDEN void weft__unready(struct weft__run *r, struct weft__task *t);
/* After an execution: a group left with live children (group.c). */
WEFT__HIDDEN bool weft__group_leaks(struct weft__run *r);
/* After an execution: a failed task nobody observed (future.c). */
WEFT__HIDDEN bool weft__unobserved(struct weft__run *r);
WEFT__HIDDEN void weft__locals_inherit(struct weft__run *r,
                                       struct weft__task *child,
                                       struct weft__task *parent);

/* The current run of this OS thread, or NULL. */
WEFT__HIDDEN extern _Thread_local struct weft__run *weft__current;

/* The current run; misuse (abort) when called outside an exploration. */
static inline struct weft__run *weft__run_get(const char *fn)
{
    struct weft__run *r = weft__current;
    if (WEFT__UNLIKELY(r == NULL || r->cur == &r->sched))
        weft__misuse(fn, "called outside an exploration");
    return r;
}

/* Bring an object into this execution: a stale or zero epoch means the
 * object starts again as initialised. Returns true if it was reset. */
static inline bool weft__obj_touch(struct weft__run *r, weft__obj_t *o)
{
    if (WEFT__LIKELY(o->epoch == r->epoch))
        return false;
    o->epoch = r->epoch;
    o->id = ++r->next_obj_id;
    o->wait_head = o->wait_tail = NULL;
    return true;
}

WEFT__HIDDEN void weft__obj_init(struct weft__run *r, weft__obj_t *o,
                                 const char *file, int line);

/* The decision point: record op, then let the strategy pick who runs. */
WEFT__HIDDEN void weft__visible(struct weft__run *r, int op, weft__obj_t *obj,
                                const char *file, int line);

/*
 * Block the current task on obj (may be NULL) until woken or until
 * deadline (WEFT_FOREVER: none). Returns when it runs again; then
 * cur->timed_out says whether the deadline ended the wait. Returns
 * -ECANCELED when a cancel scope or task cancellation ended it (it is a
 * cancellation point); the caller returns that, after any cleanup. Called
 * by a coroutine, it applies the blocking-in-loop policy first.
 */
WEFT__HIDDEN int weft__block(struct weft__run *r, int op, weft__obj_t *obj,
                             int64_t deadline);
/* The same, but not a cancellation point (a condition wait taking its
 * mutex back). */
WEFT__HIDDEN int weft__block_uncancellable(struct weft__run *r, int op,
                                           weft__obj_t *obj, int64_t deadline);
/* Which waiters a wake-up makes ready. */
enum weft__wake_mode {
    WEFT__WAKE_ALL,    /* every waiter (broadcast, barrier, once) */
    WEFT__WAKE_OLDEST, /* the longest waiter (cond signal) */
    WEFT__WAKE_ONE,    /* one waiter the strategy picks (unlock, post) */
};
/* Make waiters of obj ready; returns how many. */
WEFT__HIDDEN unsigned weft__wake(struct weft__run *r, weft__obj_t *obj,
                                 int mode);
/* Make one blocked task ready (it leaves any wait queue). */
WEFT__HIDDEN void weft__wake_task(struct weft__run *r, struct weft__task *t);

/* A strategy-chosen value in [0, n), recorded like any decision. */
WEFT__HIDDEN uint64_t weft__choose_value(struct weft__run *r, uint64_t n,
                                         int op);

/* End the execution with a finding raised by the current task. */
WEFT__HIDDEN WEFT__NORETURN void
weft__finding(struct weft__run *r, weft_finding_t kind, const char *file,
              int line, const char *fmt, ...) WEFT__PRINTF(5, 6);
WEFT__HIDDEN WEFT__NORETURN void
weft__vfinding(struct weft__run *r, weft_finding_t kind, const char *file,
               int line, const char *fmt, va_list ap) WEFT__PRINTF(5, 0);

/* Task lifecycle (thread.c and sched.c) */
WEFT__HIDDEN struct weft__task *weft__task_new(struct weft__run *r,
                                               const char *name,
                                               weft_thread_fn *fn, void *arg);
WEFT__HIDDEN WEFT__NORETURN void weft__task_exit(struct weft__run *r,
                                                 void *ret);
/* Held-mutex bookkeeping (mutex.c), used by thread exit and reports. */
WEFT__HIDDEN void weft__mutex_exit_check(struct weft__run *r,
                                         struct weft__task *t);

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

/* Describe what a blocked task waits for; returns the task it waits on
 * (for the wait-for graph), or NULL. */
WEFT__HIDDEN struct weft__task *weft__describe_wait(struct weft__run *r,
                                                    struct weft__task *t,
                                                    struct weft__buf *b);
/* Deadlock analysis into r->finding. */
WEFT__HIDDEN void weft__deadlock_report(struct weft__run *r);

/* Run one execution (sched.c). Returns 0, or -ENOMEM. */
WEFT__HIDDEN int weft__run_one(struct weft__run *r, weft_body_fn *body,
                               void *arg);
WEFT__HIDDEN int weft__run_setup(struct weft__run *r, const weft_config_t *cfg);
WEFT__HIDDEN void weft__run_teardown(struct weft__run *r);

/* Signals (signal.c): crash capture around an exploration. */
WEFT__HIDDEN int weft__signals_install(void);
WEFT__HIDDEN void weft__signals_restore(void);

/* Reports (report.c) */
WEFT__HIDDEN void weft__report(struct weft__run *r, uint64_t execution,
                               struct weft__buf *out);
WEFT__HIDDEN const char *weft__task_name(struct weft__task *t);

/* Schedules (schedule.c) */
WEFT__HIDDEN int weft__schedule_write(const char *path, struct weft__run *r);
struct weft__schedule {
    uint64_t seed;
    uint64_t steps; /* of the execution it records (0: unknown) */
    uint64_t max_steps;
    unsigned spurious;
    struct weft__decision *d;
    uint32_t n;
};
WEFT__HIDDEN int weft__schedule_read(const char *path, struct weft__schedule *s,
                                     char *err, size_t err_len);
WEFT__HIDDEN int weft__schedule_write_s(const char *path,
                                        const struct weft__schedule *s,
                                        const char *strategy);
/* Copy the decisions of the execution just run; -ENOMEM. */
WEFT__HIDDEN int weft__schedule_snapshot(struct weft__schedule *s,
                                         const struct weft__run *r);
WEFT__HIDDEN void weft__schedule_free(struct weft__schedule *s);
WEFT__HIDDEN unsigned
weft__schedule_preemptions(const struct weft__schedule *s);

/* A replay strategy state that follows s (borrowed: s outlives it). */
WEFT__HIDDEN int weft__replay_create(void **state,
                                     const struct weft__schedule *s);
/* The schedule a replay state follows. */
WEFT__HIDDEN const struct weft__schedule *weft__replay_schedule(void *state);

/* ------------------------------------------------------------ the search */

/* One distinct failure found by a search. */
struct weft__found {
    struct weft__finding f; /* without detail */
    uint64_t index;         /* execution index, UINT64_MAX: persisted */
    uint64_t seed;
    struct weft__schedule s;
    uint64_t orig_steps;
    unsigned orig_pre;
    char path[512]; /* the persisted file it came from, or "" */
    char *report;   /* rendered at once (a replay that diverged: running
                       it again would not show the same thing) */
    int64_t time;
    uint64_t hash;
};

struct weft__search {
    const weft_config_t *cfg;
    const struct weft__strategy *st;
    void *state;
    struct weft__run *r;
    weft_body_fn *body;
    void *arg;
    uint64_t first, stride; /* this shard's execution indices */
    uint64_t executions, total_steps, persisted;
    bool exhausted, out_of_time;
    struct weft__found found[16];
    unsigned nfound;
    struct weft__distinct *distinct; /* distinct trace hashes */
    uint64_t nset;
    bool set_full; /* nset is an estimate */
    bool parallel; /* workers count distinct executions in shared memory */
    double t0, t0p, last_draw; /* coarse and precise start times */
    bool tty, progress_on, drawn;
};

/* Distinct executions (distinct.c): exact up to 2048, then estimated. */
struct weft__distinct;
WEFT__HIDDEN size_t weft__distinct_size(void);
WEFT__HIDDEN void weft__distinct_add(struct weft__distinct *d, uint64_t h,
                                     bool atomic);
WEFT__HIDDEN uint64_t weft__distinct_count(const struct weft__distinct *d,
                                           bool *estimate);
WEFT__HIDDEN double weft__wall(void);
WEFT__HIDDEN bool weft__out_of_time(struct weft__search *s);
WEFT__HIDDEN void weft__progress(struct weft__search *s, bool last);
/* Record r's failure of execution `index` unless a like one is known:
 * 1 new, 0 known, -ENOMEM. */
WEFT__HIDDEN int weft__search_found(struct weft__search *s, uint64_t index);
/* The search split over cfg->jobs forked workers (workers.c). */
WEFT__HIDDEN int weft__search_parallel(struct weft__search *s);

/* Exports (export.c) */
WEFT__HIDDEN void weft__export_trace(const char *path, struct weft__run *r);
WEFT__HIDDEN void weft__export_json(const char *path, const weft_config_t *cfg,
                                    const char *strategy,
                                    const weft_result_t *res, int rc);

/* Shrinking (shrink.c): minimise *s, a schedule failing like `like`,
 * within `budget` executions. Replaces *s with the smaller schedule and
 * returns how many executions it ran. */
WEFT__HIDDEN uint64_t weft__shrink(struct weft__run *r, weft_body_fn *body,
                                   void *arg, struct weft__schedule *s,
                                   const struct weft__finding *like,
                                   uint64_t budget);
WEFT__HIDDEN bool weft__same_failure(const struct weft__finding *a,
                                     const struct weft__finding *b);

/* Synchronization coverage (coverage.c) */
enum {
    WEFT__COV_REACHED,
    WEFT__COV_CONTENDED,
    WEFT__COV_BLOCKED,
    WEFT__COV_PREEMPTED,
    WEFT__COV_WOKE,
    WEFT__COV__COUNT
};
struct weft__cov;
WEFT__HIDDEN struct weft__cov *weft__cov_get(void);
WEFT__HIDDEN int weft__cov_measure(const char *name);
WEFT__HIDDEN void weft__cov_count(struct weft__cov *c, int measure,
                                  const char *file, int line);
WEFT__HIDDEN void weft__cov_pair(struct weft__cov *c, const char *f1, int l1,
                                 const char *f2, int l2);
WEFT__HIDDEN void weft__cov_schedules(uint64_t n);
WEFT__HIDDEN void weft__cov_write(const weft_config_t *cfg, bool worker);
WEFT__HIDDEN void weft__gcov_flush(void);
WEFT__HIDDEN void weft__cov_stats(uint64_t *sites, uint64_t *pairs,
                                  uint64_t *never);

/* The seed of execution i of an exploration started at `seed`: seed
 * itself for the first, then steps of the golden ratio, so explorations
 * from neighbouring seeds run unrelated executions, and the seed of any
 * execution, alone, replays it. */
static inline uint64_t weft__exec_seed(uint64_t seed, uint64_t i)
{
    return seed + i * 0x9e3779b97f4a7c15ULL;
}

WEFT__HIDDEN extern char **weft__args_argv;
WEFT__HIDDEN extern int weft__args_argc;

/* Hash helpers: deterministic, never fed an address. */
static inline uint64_t weft__mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* The random stream strategies share (splitmix64): seeded per execution,
 * so an execution replays from its seed. */
static inline uint64_t weft__rng_next(uint64_t *s)
{
    return weft__mix(*s += 0x9e3779b97f4a7c15ULL);
}

/* Uniform in [0, n) by multiply-high. */
static inline uint64_t weft__rng_below(uint64_t *s, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)weft__rng_next(s) * n) >> 64);
}

/* As weft__wait, but not a cancellation point. */
WEFT__HIDDEN int weft__wait_uncancellable(struct weft__run *r, int op,
                                          weft__obj_t *obj, int64_t deadline);
/* Wait for obj as the current task can: a coroutine awaits (only it
 * suspends), a thread blocks. 0 or -ECANCELED. */
static inline int weft__wait(struct weft__run *r, int op, weft__obj_t *obj,
                             int64_t deadline)
{
    return r->cur->loop != NULL ? weft__suspend(r, op, obj, deadline)
                                : weft__block(r, op, obj, deadline);
}
#endif /* WEFT_INTERNAL_H */
