/*
 * core.h: the core layer (harness/core/): tasks, the ready set, the ONE
 * decision point, blocking and waking, cancellation of waits, the virtual
 * clock and its timers, the trace, crash capture and the configuration.
 *
 * One execution is a `struct weft__run`: its tasks, the ready set, the
 * virtual clock and timer heap, the trace and the decision log. Every public
 * visible operation calls weft__visible() (record, then the decision point),
 * and a blocking one then calls weft__block(); objects wake waiters with
 * weft__wake_*(). Strategies live behind `struct weft__strategy` and never
 * call back into the runtime.
 *
 * The core knows nothing of the layers above it (sync, loop, report,
 * explore, cc). They hook into it in two ways: a table of hooks per layer
 * (`struct weft__hooks`: a task spawned or ending, the end of an execution,
 * a deadlock to explain), registered on the run by whoever sets it up; and
 * two per-task hooks for the loop layer's coroutines (where a wake-up goes,
 * what happens before a task blocks its thread). Per-task and per-execution
 * state of the layers above lives behind opaque pointers (t->x, r->x) that
 * the core only clears. Uses: platform.
 */
#ifndef WEFT_CORE_H
#define WEFT_CORE_H

#include "platform/platform.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>

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
    /* appended, as schedule files hold operation numbers: */
    WEFT__OP_TO_THREAD, /* a job is submitted to a loop's to_thread pool */
    WEFT__OP__COUNT
};

WEFT__HIDDEN const char *weft__op_name(int op);
/* The letter naming an operation's object in reports: M, C, L, S, B, O. */
WEFT__HIDDEN char weft__op_letter(int op);

/* Sites: a (file, line) pair names where an operation happened. A site
 * whose file is weft__pc_site has no source position yet: its line is an
 * offset into the program's code (weft-cc: the caller of an interposed
 * function, or an instrumented access), turned into "file:line
 * (function)" by weft__pc_site_fmt when weft-cc installs a symbolizer. */
WEFT__HIDDEN extern const char weft__pc_site[];
WEFT__HIDDEN extern const char *(*weft__pc_site_fmt)(int line);
/* The source file and line of such a site, where known (true); files
 * lines (coverage) need them apart. */
WEFT__HIDDEN bool weft__pc_source(int pc, char *file, size_t len, int *line);
/* A site as reports print it (one of four rotating buffers). */
WEFT__HIDDEN const char *weft__site(const char *file, int line);

/* ------------------------------------------------------------ accesses */

/*
 * What a visible operation touches, for a strategy that tracks
 * dependencies (dpor): up to two objects (compared by address, never
 * ordered), each with a kind. Filled only when the run tracks (r->track):
 * a site calls weft__access() before weft__visible(); an operation whose
 * site says nothing is WEFT__ACC_ALL (dependent with everything).
 */
enum weft__acc_kind {
    WEFT__ACC_NONE,   /* touches nothing shared (yield, sleep, spawn) */
    WEFT__ACC_ALL,    /* may touch anything (unknown, a wake-up's return) */
    WEFT__ACC_READ,   /* an atomic load */
    WEFT__ACC_WRITE,  /* a store, RMW, or any other object operation */
    WEFT__ACC_LOCK,   /* a blocking lock: waits while another holds it */
    WEFT__ACC_UNLOCK, /* never enabled beside a LOCK of the same mutex */
    WEFT__ACC_EXIT,   /* a task ends (key: the task) */
    WEFT__ACC_JOIN,   /* waits for the EXIT of its key */
};
/* When the operation could not go on (a strategy treats the task as not
 * enabled): wait_on is a mutex's owner field, or a task to be done. */
enum weft__acc_wait { WEFT__WAIT_NONE, WEFT__WAIT_OWNER, WEFT__WAIT_DONE };

struct weft__access {
    const void *key[2]; /* key[1] NULL: one object */
    uint8_t kind[2];
    uint8_t wait;
    const void *wait_on;
};

/* One entry of an execution's access log: a task ran its pending
 * operation (or came back from a wait, or started). */
struct weft__accrec {
    uint32_t task;
    uint32_t from; /* a task's first entry: its spawner's entry, else
                      UINT32_MAX */
    struct weft__access a;
};

struct weft__acclog {
    struct weft__accrec *v;
    uint32_t n, cap;
};

/* -------------------------------------------------------------- tasks */

/* A task is READY exactly while it is in run->ready (ready_add checks
 * it); a task just made is BLOCKED (0) until it is added. */
enum weft__state {
    WEFT__BLOCKED, /* waiting on wait_obj and/or a deadline */
    WEFT__READY,   /* running or runnable: in run->ready */
    WEFT__DONE,
};

struct weft__run;
struct weft__task;
/* A task's state in the layers above the core (the loop layer defines
 * it); NULL until that layer needs it, cleared when the task is made. */
struct weft__taskx;
/* A hook the core calls with a task it is dealing with. */
typedef void weft__task_hook(struct weft__run *r, struct weft__task *t);

/* Locations a task remembers reading unchanged (spin detection): a spin
 * loop reading up to this many distinct locations per turn is seen. */
#define WEFT__SPIN_KEYS 8

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
    struct weft__tls *tls; /* its thread-local storage, or NULL: shared */
    void *asan_fake;

    /* what it waits for (while BLOCKED) */
    int wait_op;
    weft__obj_t *wait_obj;
    struct weft__task *wait_task; /* join target */
    int64_t deadline;
    uint32_t wait_gen; /* bumps each block: stale timers are skipped */
    struct weft__task *wait_next, *wait_prev;
    uint32_t wait_slot; /* its slot in the queue's index, if it has one */

    struct weft__task *joiner;
    weft_mutex_t *held; /* mutexes it owns, most recent first (sync) */

    const char *file; /* site of its latest visible operation */
    int line;
    uint64_t ops; /* visible operations it performed (loop debug mode) */
    const char *spawn_file;
    int spawn_line;
    int fail_err; /* weft_task_fail's error, or 0 */

    /* cancellation of its waits (cancel.c) */
    struct weft_scope *scope; /* innermost cancel scope */
    bool cancel_pending;      /* a cancellation not yet delivered */
    uint32_t cancel_requests; /* cancellations asked for and not withdrawn
                                 (weft_cancel minus weft_uncancel):
                                 asyncio's Task.cancelling() */
    bool cancellable;         /* its current wait is a cancel point */
    bool deadline_cancel;     /* its last wait ended by a scope deadline */

    /* Hooks of the layers above (NULL: none). on_wake: a wake-up goes
     * there instead of into the ready set (a coroutine suspended in an
     * await goes back to its loop's queue). on_block: called before the
     * task blocks its OS thread in weft__block (a coroutine, or a loop's
     * thread running a callback, blocks its whole loop). */
    weft__task_hook *on_wake;
    void (*on_block)(struct weft__run *r, struct weft__task *t, int op);
    struct weft__taskx *x;
    /* A layer above keeps state for this task (set by that layer): only
     * then do the task hooks run for it (and its children), so a task no
     * layer cares about costs the core nothing. */
    bool hooked;
    bool stack_escaped; /* weft-cc: another task accessed its stack */
    /* what its pending operation touches (r->track only; acc_set: the
     * site said), and its spawner's log entry (UINT32_MAX: none) */
    bool acc_set;
    struct weft__access acc;
    uint32_t acc_from;
    /* spin detection (weft__spinning): locations it read and found
     * unchanged since no other task has run (r->switches was spin_sw) */
    uint8_t nspin;
    uint8_t spin_old;  /* when full, the key the next one replaces */
    uint32_t spin_run; /* spins in a row, no other task running between */
    uint64_t spin_sw;
    const void *spin_keys[WEFT__SPIN_KEYS];

    char name[32];
};

/* A task as reports name it: task 3 "worker" (rotating buffers). */
WEFT__HIDDEN const char *weft__task_name(struct weft__task *t);

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
    /* for strategies that track accesses (r->track), else NULL: the ready
     * tasks (kind TASK, as ids; each one's acc is its pending operation)
     * and the access log of the execution so far */
    struct weft__task *const *tasks;
    const struct weft__acclog *log;
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
/* A task choice answered so: the rest of this execution would repeat
 * what others cover (dpor's sleep sets); it ends here, uncounted. */
#define WEFT__REDUNDANT (UINT64_MAX - 1)

struct weft__strategy {
    const char *name;
    bool seed_replays; /* the seed (plus describe()) replays an execution */
    bool replays;      /* it follows a recorded schedule: an execution it
                          runs adds nothing to what earlier executions
                          taught (the lock-order graph) */
    bool tracks;       /* it wants accesses (struct weft__access) logged */
    bool uniform;      /* its state starts with a splitmix64 stream and its
                          every choice is weft__rng_below(stream, n): the
                          core draws lean decisions itself (r->rng) */
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
    /* After an execution, optional: it only repeated others after all
     * (a task the strategy had put to sleep ran with no choice to make):
     * not counted, as if choose() had said WEFT__REDUNDANT. */
    bool (*redundant)(void *state);
    void (*explain)(void *state, char *why, size_t len);
    /* After an execution of `steps` steps: false when the strategy has
     * nothing left to explore (a systematic search is exhausted). */
    bool (*next)(void *state, uint64_t steps);
    /* The WEFT_* settings, beyond the seed, that replay the execution
     * just run (for the replay line), e.g. "WEFT_STRATEGY=pct ...". */
    void (*describe)(void *state, struct weft__buf *out);
};

/* ------------------------------------------------- coverage counting */

/* Synchronization coverage: what the core counts at the site of each
 * visible operation. The counter itself is the report layer's
 * (coverage.c); the core calls it through r->cov_ops when r->cov is set. */
enum {
    WEFT__COV_REACHED,
    WEFT__COV_CONTENDED,
    WEFT__COV_BLOCKED,
    WEFT__COV_PREEMPTED,
    WEFT__COV_WOKE,
    WEFT__COV__COUNT
};
/* The measure named name ("reached", ...), or -1. */
WEFT__HIDDEN int weft__cov_measure(const char *name);
WEFT__HIDDEN extern const char *const weft__cov_names[WEFT__COV__COUNT];

struct weft__cov;
struct weft__cov_ops {
    void (*count)(struct weft__cov *c, int measure, const char *file, int line);
    /* A preemption at (f1, l1) that let (f2, l2) run. */
    void (*pair)(struct weft__cov *c, const char *f1, int l1, const char *f2,
                 int l2);
};

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

/*
 * What a layer above the core adds to the life of tasks and executions.
 * The core calls every table registered on the run (weft__run_hooks), in
 * registration order, without knowing who is behind it: the sync layer
 * checks the mutexes a task still holds when it ends; the loop layer
 * completes a task's future, gives its loop's thread back, and looks for
 * leaked groups and unobserved failures after the execution; the report
 * layer explains a deadlock. Any entry may be NULL.
 */
struct weft__hooks {
    /* A task was made by parent, a hooked task (none for an execution's
     * main task). */
    void (*spawned)(struct weft__run *r, struct weft__task *t,
                    struct weft__task *parent);
    /* The running task t, hooked, ends with ret, or with error err
     * (weft_task_fail): before it is done and its joiner wakes. It may
     * end the execution with a finding. */
    void (*ending)(struct weft__run *r, struct weft__task *t, void *ret,
                   int err);
    /* t, hooked, is done and its joiner woken; no next task is chosen
     * yet. */
    void (*ended)(struct weft__run *r, struct weft__task *t);
    /* After an execution that found nothing: true, with r->finding
     * filled, when something was left wrong. */
    bool (*check)(struct weft__run *r);
    /* No task can run and no timer is pending: describe the deadlock in
     * r->finding (its kind is set already). The first table that has
     * this entry explains it. */
    void (*deadlock)(struct weft__run *r);
    /* The run is torn down: free what the layer kept across executions. */
    void (*teardown)(struct weft__run *r);
};

#define WEFT__MAX_HOOKS 4

/* Per-execution state of the layers above the core (the loop layer
 * defines it), in the execution's arena: NULL at every execution start. */
struct weft__runx;
/* The lock-order detector's state (sync layer), kept across executions. */
struct weft__lockorder;

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
    uint64_t switches; /* times control passed to another task */
    bool tls;          /* each task has its own TLS (weft__per_task_tls) */
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

    /* indexes of long wait queues (sched.c), by object id, for this
     * execution; widx_ids lists the ids that have one */
    struct weft__waitidx **widx;
    uint32_t widx_cap;
    uint32_t *widx_ids;
    uint32_t nwidx, widx_ids_cap;

    uint32_t next_obj_id;

    struct weft__event *ring; /* the last trace_tail events */
    uint32_t ring_cap;
    uint64_t nevents; /* events recorded, the ring's write index */
    uint64_t hash;    /* of the whole trace */

    struct weft__decision *decisions;
    uint32_t ndecisions, decisions_cap;
    /* accesses, logged while the strategy tracks them (r->track) */
    bool track;
    struct weft__acclog acc;
    bool decisions_full; /* the log could not grow: replay file partial */
    /* Lean recording (set by the explorer around a search execution of a
     * strategy whose seed replays it): the trace only feeds r->hash and
     * decisions are only counted (ndecisions), the ring and the log are
     * left alone, and ready_hash is not kept (a choice's set_hash is 0:
     * only the log and the replay strategy read it). Same decisions, same
     * hash; a failure is re-run from its seed with full recording before
     * anything reads them. */
    bool lean;
    uint64_t *rng; /* lean, the stream of a uniform strategy, or NULL */

    bool failed;
    bool oom;
    bool ended;         /* the program ended the execution (weft__end) */
    bool abandoned;     /* the execution cannot count (weft__abandon) */
    bool redundant;     /* the strategy cut it short (WEFT__REDUNDANT) */
    bool interruptible; /* a search execution: SIGINT/SIGTERM may stop it */
    bool interrupted;   /* ... and did (weft__run_one returned -EINTR) */
    pid_t pid;          /* the process exploring (a fork is another) */
    /* What weft itself could not do (a stack it could not map, a table
     * it could not grow), in one sentence: the first such event of the
     * exploration, kept across its executions. The explorer prints it as
     * the reason of an error, or as a note when the body carried on. */
    char error[400];
    struct weft__finding finding;
    struct weft__cov *cov; /* synchronization coverage, when asked for */
    const struct weft__cov_ops *cov_ops;

    /* the layers above: their hooks (as registered, then sorted by
     * event, so the core runs no empty entry), and their state */
    const struct weft__hooks *hooks[WEFT__MAX_HOOKS];
    unsigned nhooks;
    struct {
        void (*spawned[WEFT__MAX_HOOKS])(struct weft__run *,
                                         struct weft__task *,
                                         struct weft__task *);
        void (*ending[WEFT__MAX_HOOKS])(struct weft__run *, struct weft__task *,
                                        void *, int);
        weft__task_hook *ended[WEFT__MAX_HOOKS];
        bool (*check[WEFT__MAX_HOOKS])(struct weft__run *);
        unsigned nspawned, nending, nended, ncheck;
    } on;
    struct weft__runx *x;
    /* lock-order detector (sync layer, lockorder.c): its state, attached
     * by the first lock it sees and so reset with the run at each
     * weft_explore; and the rwlock holds it tracks over all tasks (a
     * mutex lock looks further only when its task holds a mutex or this
     * is not 0) */
    struct weft__lockorder *lockorder;
    uint32_t lockorder_rw;

    /* memory that lives until the execution ends (weft__run_alloc) */
    struct weft__chunk *arena;
    sigjmp_buf escape; /* crash handler jumps here, on the main stack */
};

/* Set before an exploration (weft-cc does, once weft__tls_init agreed):
 * each thread task gets thread-local storage of its own, as real threads
 * have, switched with it (platform/tls.c). Coroutines share their loop
 * thread's (weft__task_share_tls). */
WEFT__HIDDEN extern bool weft__per_task_tls;
/* Set by weft-cc: an execution whose main task has started no other
 * task is a program running as it would without weft (nothing to
 * interleave), so the step bound waits for a second task. */
WEFT__HIDDEN extern bool weft__lone_task_unbounded;
/* t runs on with's thread-local storage instead of its own. */
WEFT__HIDDEN void weft__task_share_tls(struct weft__task *t,
                                       const struct weft__task *with);

/* Record what weft could not do in r->error, unless something is there
 * already (the first cause is the one to show). */
WEFT__HIDDEN void weft__run_error(struct weft__run *r, const char *fmt, ...)
    WEFT__PRINTF(2, 3);

/* Register a layer's hooks on r (after weft__run_setup). */
WEFT__HIDDEN void weft__run_hooks(struct weft__run *r,
                                  const struct weft__hooks *h);

/* Zeroed memory freed when the execution ends (futures, loop state,
 * callbacks); NULL when out of memory. */
WEFT__HIDDEN void *weft__run_alloc(struct weft__run *r, size_t size);

/* Make a task ready as it is (no wait queue, no hook): a loop hands its
 * thread to a coroutine and back this way. */
WEFT__HIDDEN void weft__ready(struct weft__run *r, struct weft__task *t);
/* Take a just-created task out of the ready set (a coroutine starts
 * queued on its loop). */
WEFT__HIDDEN void weft__unready(struct weft__run *r, struct weft__task *t);

/* The current run of this OS thread, or NULL. */
WEFT__HIDDEN extern WEFT__TLS struct weft__run *weft__current;

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

/* Say what the current task's next visible operation touches (only a
 * tracking run keeps it: the others pay one test). */
static inline void weft__access(struct weft__run *r, const void *key, int kind,
                                const void *key2, int kind2, int wait,
                                const void *wait_on)
{
    if (WEFT__LIKELY(!r->track))
        return;
    struct weft__task *t = r->cur;
    t->acc.key[0] = key;
    t->acc.key[1] = key2;
    t->acc.kind[0] = (uint8_t)kind;
    t->acc.kind[1] = (uint8_t)kind2;
    t->acc.wait = (uint8_t)wait;
    t->acc.wait_on = wait_on;
    t->acc_set = true;
}

/*
 * Block the current task on obj (may be NULL) until woken or until
 * deadline (WEFT_FOREVER: none). Returns when it runs again; then
 * cur->timed_out says whether the deadline ended the wait. A cancellable
 * wait returns -ECANCELED when a cancel scope or task cancellation ended
 * it (it is a cancellation point); the caller returns that, after any
 * cleanup. parked, if not NULL, runs once the task is off the ready set
 * and queued on obj, before the next task is chosen (a suspending
 * coroutine gives its loop's thread back there). No on_block hook runs.
 */
WEFT__HIDDEN int weft__block_raw(struct weft__run *r, int op, weft__obj_t *obj,
                                 int64_t deadline, bool cancellable,
                                 weft__task_hook *parked);

/* Block as a thread does: the task's on_block hook first (a coroutine
 * blocking its loop), then a cancellable wait. */
static inline int weft__block(struct weft__run *r, int op, weft__obj_t *obj,
                              int64_t deadline)
{
    struct weft__task *t = r->cur;
    if (WEFT__UNLIKELY(t->on_block != NULL))
        t->on_block(r, t, op);
    return weft__block_raw(r, op, obj, deadline, true, NULL);
}

/* The same, but not a cancellation point (a condition wait taking its
 * mutex back). */
static inline int weft__block_uncancellable(struct weft__run *r, int op,
                                            weft__obj_t *obj, int64_t deadline)
{
    struct weft__task *t = r->cur;
    if (WEFT__UNLIKELY(t->on_block != NULL))
        t->on_block(r, t, op);
    return weft__block_raw(r, op, obj, deadline, false, NULL);
}

/* Which waiters a wake-up makes ready. */
enum weft__wake_mode {
    WEFT__WAKE_ALL,    /* every waiter (broadcast, barrier, once) */
    WEFT__WAKE_OLDEST, /* the longest waiter (cond signal) */
    WEFT__WAKE_ONE,    /* one waiter the strategy picks (unlock, post) */
};
/* A wait queue longer than this is indexed when one of its waiters is
 * woken by choice (sched.c; tests set 0 or UINT32_MAX). */
WEFT__HIDDEN extern uint32_t weft__waitidx_min;

/* Make waiters of obj ready; returns how many. */
WEFT__HIDDEN unsigned weft__wake(struct weft__run *r, weft__obj_t *obj,
                                 int mode);
/* Make one blocked task ready (it leaves any wait queue; its on_wake hook
 * takes it instead, if it has one). */
WEFT__HIDDEN void weft__wake_task(struct weft__run *r, struct weft__task *t);

/*
 * Spin detection. A task that reads a location again, having found it
 * unchanged, while no other task has run since (so nobody can have written
 * it) is spinning: its operation is better recorded as a yield, so that
 * strategies give way (pct would otherwise keep a high-priority spinner
 * running and starve the task it waits for). key names the location (its
 * address: compared, never ordered). A caller asks weft__spinning before
 * its visible operation, and after it reports what it saw: a read that
 * changed nothing (a load, a failed compare-exchange) with weft__spin_saw,
 * a write with weft__spin_wrote.
 */
static inline bool weft__spinning(struct weft__run *r, const void *key)
{
    struct weft__task *t = r->cur;
    if (t->spin_sw != r->switches)
        return false;
    for (unsigned i = 0; i < t->nspin; i++)
        if (t->spin_keys[i] == key)
            return true;
    return false;
}

static inline void weft__spin_saw(struct weft__run *r, const void *key)
{
    struct weft__task *t = r->cur;
    if (t->spin_sw != r->switches) {
        t->nspin = 0;
        t->spin_run = 0;
        t->spin_sw = r->switches;
    }
    for (unsigned i = 0; i < t->nspin; i++)
        if (t->spin_keys[i] == key)
            return;
    /* The latest keys are kept: a spin loop's reads come after whatever
     * the task read before it (a ring buffer's consumer reads five
     * locations, then spins on a sixth: with the first four kept, its
     * spin went unseen and dfs ran it to the step bound). */
    if (t->nspin < WEFT__SPIN_KEYS) {
        t->spin_keys[t->nspin++] = key;
    } else {
        t->spin_keys[t->spin_old] = key;
        t->spin_old = (uint8_t)((t->spin_old + 1) % WEFT__SPIN_KEYS);
    }
}

/* The current task is spinning (weft__spinning said so). Past
 * WEFT__SPIN_PATIENCE spins in a row with no other task able to run, it
 * is waiting for a write, as a blocked task waits for its object: time
 * passes to the next timer (whose task may write what it reads) instead
 * of the spin running to the step bound. (A few re-reads are no wait: a
 * program reading a counter twice does not let a second go by.) */
#define WEFT__SPIN_PATIENCE 1000
WEFT__HIDDEN void weft__spin_wait(struct weft__run *r);

static inline void weft__spin_wrote(struct weft__run *r, const void *key)
{
    struct weft__task *t = r->cur;
    for (unsigned i = 0; i < t->nspin; i++)
        if (t->spin_keys[i] == key)
            t->spin_keys[i] = t->spin_keys[--t->nspin];
}

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

/* The program ends the execution, as a process ends when main returns or
 * exit is called: now, whatever other tasks are doing (they are dropped,
 * not checked). Not a finding. */
WEFT__HIDDEN WEFT__NORETURN void weft__end(struct weft__run *r);
/* End the execution as one that does not count: it cannot be run here
 * (the search stops; the caller runs it elsewhere). */
WEFT__HIDDEN WEFT__NORETURN void weft__abandon(struct weft__run *r);

/* Task lifecycle (sched.c) */
WEFT__HIDDEN struct weft__task *weft__task_new(struct weft__run *r,
                                               const char *name,
                                               weft_thread_fn *fn, void *arg);
WEFT__HIDDEN WEFT__NORETURN void weft__task_exit(struct weft__run *r,
                                                 void *ret);

/* Run one execution (sched.c). Returns 0, or -ENOMEM. */
WEFT__HIDDEN int weft__run_one(struct weft__run *r, weft_body_fn *body,
                               void *arg);
WEFT__HIDDEN int weft__run_setup(struct weft__run *r, const weft_config_t *cfg);
WEFT__HIDDEN void weft__run_teardown(struct weft__run *r);

/* Signals (signal.c): crash capture around an exploration, and the
 * message of a crash the handler caught (after it). */
WEFT__HIDDEN int weft__signals_install(void);
WEFT__HIDDEN void weft__signals_restore(void);
WEFT__HIDDEN void weft__crash_describe(struct weft__run *r);
/* Set by a layer above: the pc line (weft__pc_site) of a pc of the
 * program's own code, 0 for any other (libc, weft): a crash is then told
 * at the program's innermost frame, with its stack. */
WEFT__HIDDEN extern int (*weft__crash_pc_line)(const void *pc);

/* SIGINT/SIGTERM caught during an exploration (signal.c): the signal, or
 * 0. A run with `interruptible` set stops its execution at the next
 * visible operation (weft__run_one returns -EINTR). In a worker,
 * weft__interrupt_parent is the parent's pid: a worker takes only the
 * first signal and leaves the rest to its parent. */
WEFT__HIDDEN extern volatile sig_atomic_t weft__interrupt;
WEFT__HIDDEN extern pid_t weft__interrupt_parent;
/* Restore sig's default action and raise it: the process dies of it, as
 * it would have without weft (the shell sees 128 + sig). */
WEFT__HIDDEN WEFT__NORETURN void weft__interrupt_exit(int sig);

/* Leave the running task for the scheduler from a signal handler on the
 * alternate stack: weft__run_one gets `how` (1 a crash, 2 a hang), with
 * r->finding filled. */
WEFT__HIDDEN WEFT__NORETURN void weft__escape(struct weft__run *r, int how);

/* The watchdog (hang.c): while on, a step of an execution of r on this
 * thread that makes no progress for `seconds` of wall time ends it with
 * a hang finding (0: off). One per process, between start and stop. */
WEFT__HIDDEN void weft__hang_start(struct weft__run *r, unsigned seconds);
WEFT__HIDDEN void weft__hang_stop(void);
WEFT__HIDDEN int weft__hang_signo(void);
/* The message of the hang the watchdog caught (weft__run_one). */
WEFT__HIDDEN void weft__hang_describe(struct weft__run *r);

/* ------------------------------------------------------- cancellation */

/* cancel.c: cancel scopes and task cancellation, consulted by every
 * cancellable wait. */
/* Effective cancellation deadline of t's scopes (WEFT_FOREVER: none),
 * and whether one of them is cancelled already. */
WEFT__HIDDEN int64_t weft__scope_deadline(struct weft__task *t,
                                          bool *cancelled);
/* Is a shield scope active in t (outer cancellation kept out)? */
WEFT__HIDDEN bool weft__shielded(struct weft__task *t);
/* Mark the cancelled scopes of t as having ended a wait. */
WEFT__HIDDEN void weft__scope_hit(struct weft__task *t);
/* An await that ended by a deadline returned its outcome after all. */
WEFT__HIDDEN void weft__scope_unhit(struct weft__task *t);
/* Called when a scope's deadline ended a wait. */
WEFT__HIDDEN void weft__scope_expired(struct weft__task *t, int64_t now);
/* Cancel t: its current (or next) cancellable wait ends with
 * -ECANCELED. */
WEFT__HIDDEN void weft__cancel_task(struct weft__run *r, struct weft__task *t);

/* ------------------------------------------------------------ helpers */

/* The seed of execution i of an exploration started at `seed`: seed
 * itself for the first, then steps of the golden ratio, so explorations
 * from neighbouring seeds run unrelated executions, and the seed of any
 * execution, alone, replays it. */
static inline uint64_t weft__exec_seed(uint64_t seed, uint64_t i)
{
    return seed + i * 0x9e3779b97f4a7c15ULL;
}

/* config.c: the program's arguments, as weft_args() saw them. */
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

#endif /* WEFT_CORE_H */
