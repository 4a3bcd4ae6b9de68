/*
 * weft.h: the public API of weft, a deterministic test harness for
 * concurrent C code.
 *
 * A test body runs under weft_explore(). Every thread it spawns is a
 * user-level task on its own stack; all of them run on one OS thread and a
 * seeded strategy picks which task performs the next visible operation (any
 * call in this header that another task could observe or that can block).
 * Time is virtual: it starts at 0 and jumps to the next deadline when no task
 * can run. The same seed replays the same execution, bit for bit.
 *
 * The header reads as a user's story: errors and findings, configuration and
 * exploration, threads, synchronisation primitives, atomics, time.
 * Functions that capture a call site are macros over a `_at` function that
 * takes __FILE__ and __LINE__ explicitly; take the address of the `_at` form.
 *
 * Deadlines are absolute virtual times in nanoseconds, always the last
 * argument: WEFT_FOREVER (-1) waits forever, a deadline at or before
 * weft_now() (0 included) does not block.
 */
#ifndef WEFT_H
#define WEFT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WEFT_VERSION "0.1.0"

#if defined(__GNUC__)
#define WEFT__PRINTF(f, a) __attribute__((format(printf, f, a)))
#define WEFT__NORETURN     __attribute__((noreturn))
#else
#define WEFT__PRINTF(f, a)
#define WEFT__NORETURN
#endif

/* ---------------------------------------------------------------- errors */

/* Calls that can fail return 0 or a negative errno (-EINVAL, -ETIMEDOUT,
 * -EBUSY, -EPERM, -EDEADLK, -ENOMEM, ...). weft never sets errno. */
const char *weft_strerror(int err);

/* What one execution found. A finding ends the execution it occurs in. */
typedef enum weft_finding {
    WEFT_FINDING_NONE = 0,
    WEFT_FINDING_ASSERTION,        /* weft_assert/weft_fail in any task */
    WEFT_FINDING_DEADLOCK,         /* no task enabled, no timer pending */
    WEFT_FINDING_LOCK_MISUSE,      /* unlock by non-owner, relock, ... */
    WEFT_FINDING_CRASH,            /* SIGSEGV, SIGBUS, SIGFPE, SIGILL, abort */
    WEFT_FINDING_STACK_OVERFLOW,   /* a task hit its stack's guard page */
    WEFT_FINDING_STEP_BOUND,       /* livelock or non-termination */
    WEFT_FINDING_NONDETERMINISM,   /* a replay stopped matching its record */
    WEFT_FINDING_BLOCKING_IN_LOOP, /* a coroutine made a thread-blocking
                                      call (policy "error") */
    WEFT_FINDING_UNOBSERVED,       /* a task failed and nobody awaited it */
    WEFT_FINDING_TASK_LEAK,        /* a task group was left with live
                                      children */
    WEFT_FINDING_LOCK_ORDER,       /* locks taken in orders that form a
                                      cycle: a potential deadlock, seen in
                                      executions that did not deadlock */
    WEFT_FINDING_DATA_RACE,        /* two accesses to the same memory, one
                                      a write, unordered by happens-before
                                      (weft-cc programs: ThreadSanitizer
                                      instrumentation) */
    WEFT_FINDING_EXIT,             /* the process was ended from inside an
                                      execution: a task called exit(),
                                      _exit() or _Exit() (a test body must
                                      return, not end the process); weft-cc:
                                      main returned, or a thread called
                                      exit, with a status other than 0 */
    WEFT_FINDING_HANG,             /* one step made no progress for
                                      hang_timeout seconds of wall time (a
                                      real blocking call, a loop with no
                                      weft call) */
    WEFT_FINDING__COUNT
} weft_finding_t;

/* "assertion", "deadlock", "lock misuse", ... */
const char *weft_finding_name(weft_finding_t kind);

/* ------------------------------------------ configuration and exploration */

/*
 * Every field has a WEFT_* environment variable that overrides it when
 * use_env is set (the default), so a CI job can steer any test. A bad value
 * in the environment prints a message naming the variable and the accepted
 * form and exits with status 2.
 */
#define WEFT_PREEMPTIONS_ITERATE (-2)

typedef struct weft_config {
    uint64_t seed;             /* WEFT_SEED: seed of the first execution; the
                                  others' seeds are derived from it (each
                                  reported seed replays its execution alone) */
    uint64_t iterations;       /* WEFT_ITERATIONS: executions to run (1000) */
    uint64_t max_steps;        /* WEFT_MAX_STEPS: step bound per execution
                                  (100000); exceeding it is a finding */
    size_t stack_size;         /* WEFT_STACK_SIZE: bytes per task stack, k/M
                                  suffixes accepted (256k) */
    unsigned trace_tail;       /* WEFT_TRACE: events shown in a report (24) */
    unsigned spurious;         /* WEFT_SPURIOUS: spurious condition-variable
                                  wake-ups the strategy may inject per
                                  execution (0) */
    const char *strategy;      /* WEFT_STRATEGY: "random" (default),
                                  "pct", "dfs", "dpor", "pos" or "replay" */
    unsigned pct_depth;        /* WEFT_PCT_DEPTH: bug depth d for pct (3) */
    uint64_t pct_steps;        /* WEFT_PCT_STEPS: steps over which pct
                                  spreads its d-1 change points; 0 learns
                                  it from the executions so far (0) */
    int preemption_bound;      /* WEFT_PREEMPTIONS: dfs preemption bound:
                                  WEFT_PREEMPTIONS_ITERATE (default,
                                  "iterate": bound 0, then 1, 2, ..., each
                                  level running only the executions with
                                  exactly that many preemptions), -1 for
                                  none ("none"), or a fixed bound N */
    const char *replay_file;   /* WEFT_REPLAY: schedule file to replay;
                                  setting it selects "replay" */
    double time_budget;        /* WEFT_TIME_BUDGET: stop after this many
                                  seconds of wall time (0: no limit). Only
                                  how many executions run depends on it,
                                  never what one execution does */
    unsigned hang_timeout;     /* WEFT_HANG_TIMEOUT: a step of an
                                  execution that makes no progress for this
                                  many seconds of wall time (a real
                                  blocking call, a loop with no weft call)
                                  ends it with WEFT_FINDING_HANG (10; 0:
                                  no watchdog). Wall time decides only
                                  that a hang is reported, never what an
                                  execution does */
    bool keep_going;           /* WEFT_KEEP_GOING: collect distinct
                                  failures instead of stopping at the first */
    unsigned jobs;             /* WEFT_JOBS: worker processes (1) */
    unsigned shard_index;      /* WEFT_SHARD=k/n: run the executions i with */
    unsigned shard_count;      /* i % n == k - 1 (1/1: all of them) */
    bool shrink;               /* WEFT_SHRINK: minimise a failing schedule
                                  before reporting it (true) */
    const char *failure_dir;   /* WEFT_FAILURE_DIR: failing schedules are
                                  persisted in failure_dir/<name>/ and
                                  replayed first next time (NULL: off) */
    const char *json_out;      /* WEFT_JSON: write the result as JSON */
    const char *trace_out;     /* WEFT_PERFETTO: write the failing
                                  execution as a Chrome/Perfetto trace */
    int progress;              /* WEFT_PROGRESS: 0 off, 1 on, -1 auto: a
                                  bar on a terminal, else a line every 10 s */
    int blocking;              /* WEFT_BLOCKING: what a thread-blocking call
                                  made from a coroutine does: one of
                                  WEFT_BLOCKING_ERROR (default: a finding
                                  at the call), _WARN (block the loop's
                                  thread for real and say so), _ALLOW */
    unsigned loop_workers;     /* WEFT_LOOP_WORKERS: worker threads of each
                                  loop's to_thread pool (4) */
    unsigned loop_debug;       /* WEFT_LOOP_DEBUG: asyncio's debug mode for
                                  loops. 0 (default): off. N: warn on
                                  stderr, once per site, about a coroutine
                                  or callback that runs more than N visible
                                  operations without awaiting (it holds its
                                  loop's thread all along), and about a
                                  loop whose main coroutine returns while
                                  other coroutines or timer callbacks are
                                  still pending. Never a finding */
    int lock_order;            /* WEFT_LOCK_ORDER: the lock-order detector:
                                  0 off, 1 (default) a cycle in the order
                                  locks are taken (A then B here, B then A
                                  there, within one execution or across the
                                  executions of one exploration) is a
                                  finding, WEFT_FINDING_LOCK_ORDER */
    const char *sync_coverage; /* WEFT_SYNC_COVERAGE: write
                                  synchronization coverage to this lcov
                                  tracefile (NULL: not counted) */
    const char *sync_measure;  /* WEFT_SYNC_MEASURE: the line count in it:
                                  reached, contended (default), blocked,
                                  preempted or woke */
    const char *schedule_out;  /* WEFT_SCHEDULE_OUT: where the schedule of
                                  a failing execution is written */
    const char *name;          /* test name shown in reports */
    const char *replay_hint;   /* command shown in the replay line
                                  (default: this program's command line) */
    bool quiet;                /* WEFT_QUIET: print no report */
    bool use_env;              /* read WEFT_* variables (true) */
} weft_config_t;

/* Fill *cfg with the defaults above. */
void weft_config_init(weft_config_t *cfg);

/*
 * Apply the WEFT_* environment to *cfg. On a bad value, writes a message to
 * err (if err_len > 0) and returns -EINVAL; the caller decides. weft_explore
 * calls it when cfg->use_env is set and exits with status 2 on -EINVAL.
 */
int weft_config_from_env(weft_config_t *cfg, char *err, size_t err_len);

/* The outcome of an exploration. The report is owned by the result. */
typedef struct weft_result {
    weft_finding_t finding; /* WEFT_FINDING_NONE if all executions passed */
    uint64_t executions;    /* executions run */
    uint64_t seed;          /* seed of the failing (else last) execution */
    uint64_t execution;     /* which execution failed, from 1 (0: none, or
                               a persisted failure replayed first) */
    uint64_t steps;         /* steps of that execution */
    int64_t time;           /* its virtual time at the end, ns */
    uint64_t trace_hash;    /* hash of that execution's whole trace */
    uint64_t total_steps;   /* steps over all executions */
    bool exhausted;         /* a systematic strategy explored every
                               execution (within its fixed bound; dfs
                               iterating: no level cut a path, so all) */
    uint64_t distinct;      /* distinct executions (by trace hash) */
    unsigned failures;      /* distinct failures found (keep_going) */
    uint64_t shrunk_steps;  /* steps of the failing execution before
                               shrinking (steps holds the shrunk count) */
    unsigned preemptions;   /* preemptions in the reported execution */
    unsigned shrunk_preemptions; /* ... before shrinking */
    int preemption_level;        /* dfs: the preemption bound of the last
                                    execution run (iterating: the level
                                    reached), -1 unbounded or another
                                    strategy */
    char schedule_file[256];     /* where the failing schedule was written
                                    ("" if its path does not fit: the
                                    report has it whole) */
    char message[512];           /* one line: what was found */
    char *report;                /* the whole report text, or NULL */
} weft_result_t;

void weft_result_destroy(weft_result_t *res);

typedef void weft_body_fn(void *arg);

/*
 * Run body(arg) under the scheduler for cfg->iterations executions (or one
 * replay), stopping at the first finding, which is reported on stderr
 * unless quiet. res may be NULL. Returns 0 when no execution failed, 1 when
 * one did, or a negative errno when weft could not run (-ENOMEM, -EINVAL for
 * a bad configuration or an unreadable schedule file, the error of an output
 * file it could not write), said on stderr even when quiet. SIGINT or
 * SIGTERM (unless the program handles them) stops the search: weft reports
 * what ran and how to resume, writes the JSON, and the process dies of the
 * signal. exit(), _exit() and _Exit() called by a task are a finding.
 */
int weft_explore(const weft_config_t *cfg, weft_body_fn *body, void *arg,
                 weft_result_t *res);

/* ---------------------------------------------------------- findings */

#define weft_assert(cond, ...) \
    ((cond) ? (void)0          \
            : weft__assert_fail(__FILE__, __LINE__, #cond, __VA_ARGS__))

#define weft_fail(...) weft__assert_fail(__FILE__, __LINE__, NULL, __VA_ARGS__)

WEFT__NORETURN void weft__assert_fail(const char *file, int line,
                                      const char *expr, const char *fmt, ...)
    WEFT__PRINTF(4, 5);

/*
 * A nondeterministic input from the environment, chosen by the strategy,
 * recorded and replayed like any scheduling choice: returns a value in
 * [0, n). n must be at least 1.
 */
#define weft_choose(n) weft_choose_at((n), __FILE__, __LINE__)
uint64_t weft_choose_at(uint64_t n, const char *file, int line);

/* True while called from a task of a running exploration. */
bool weft_running(void);

/* ------------------------------------------------------------- threads */

struct weft__task;

/* A handle naming one thread of the current execution. */
typedef struct weft_thread {
    uint32_t id;    /* creation order within the execution: main is 0 */
    uint32_t epoch; /* which execution; a stale handle is caught */
} weft_thread_t;

typedef void *weft_thread_fn(void *arg);

/* Spawn a thread running fn(arg). name (copied, may be NULL) shows in
 * reports. Returns 0, -ENOMEM. */
#define weft_thread_spawn(t, name, fn, arg) \
    weft_thread_spawn_at((t), (name), (fn), (arg), __FILE__, __LINE__)
int weft_thread_spawn_at(weft_thread_t *t, const char *name, weft_thread_fn *fn,
                         void *arg, const char *file, int line);

/* Wait for t to end; its return value goes to *ret (ret may be NULL).
 * Returns 0, the error it ended with (weft_task_fail), -ESRCH (no such
 * thread), -EINVAL (detached or already joined), -EDEADLK (joining
 * yourself), -ETIMEDOUT. */
#define weft_thread_join(t, ret) \
    weft_thread_timedjoin_at((t), (ret), WEFT_FOREVER, __FILE__, __LINE__)
#define weft_thread_timedjoin(t, ret, deadline) \
    weft_thread_timedjoin_at((t), (ret), (deadline), __FILE__, __LINE__)
int weft_thread_timedjoin_at(weft_thread_t t, void **ret, int64_t deadline,
                             const char *file, int line);

/* Let t run to its end unjoined. Returns 0, -ESRCH, -EINVAL. */
#define weft_thread_detach(t) weft_thread_detach_at((t), __FILE__, __LINE__)
int weft_thread_detach_at(weft_thread_t t, const char *file, int line);

/* End the calling thread with value ret (like returning it). */
#define weft_thread_exit(ret) weft_thread_exit_at((ret), __FILE__, __LINE__)
WEFT__NORETURN void weft_thread_exit_at(void *ret, const char *file, int line);

/* A scheduling point that does nothing else. */
#define weft_yield() weft_yield_at(__FILE__, __LINE__)
void weft_yield_at(const char *file, int line);

weft_thread_t weft_thread_self(void);
bool weft_thread_equal(weft_thread_t a, weft_thread_t b);

/*
 * Atomic blocks: between begin and end the calling thread is not preempted
 * (it still may block; then others run and the block resumes with it).
 * They nest. Use them to model "this runs indivisibly" in a test.
 */
void weft_atomic_begin(void);
void weft_atomic_end(void);

/* ------------------------------------------- synchronisation primitives */

/*
 * Every object below is allocated by the caller and initialised in place,
 * either with its _init call or with its static initialiser. Its state
 * belongs to one execution: an object used in a later execution without a
 * new _init starts again as initialised (with the same type or count), so
 * globals need no reset between executions. Fields are private.
 */
typedef struct weft__obj {
    const char *file; /* where it was initialised */
    int line;
    uint32_t id;    /* creation order within the execution */
    uint64_t epoch; /* the execution its state belongs to */
    struct weft__task *wait_head, *wait_tail;
} weft__obj_t;

#define WEFT__OBJ_INIT                       \
    {                                        \
        __FILE__, __LINE__, 0, 0, NULL, NULL \
    }

/* mutex */
typedef enum weft_mutex_type {
    WEFT_MUTEX_NORMAL = 0, /* relock and foreign unlock are findings */
    WEFT_MUTEX_RECURSIVE,  /* the owner may lock again; counts */
    WEFT_MUTEX_ERRORCHECK, /* relock: -EDEADLK, foreign unlock: -EPERM */
} weft_mutex_type_t;

typedef struct weft_mutex {
    weft__obj_t o;
    int type;
    unsigned count;
    struct weft__task *owner;
    struct weft_mutex *held_prev, *held_next; /* owner's held list */
    const char *lock_file;                    /* where the owner locked */
    int lock_line;
} weft_mutex_t;

#define WEFT_MUTEX_INITIALIZER                          \
    {                                                   \
        WEFT__OBJ_INIT, 0, 0, NULL, NULL, NULL, NULL, 0 \
    }

#define weft_mutex_init(m, type) \
    weft_mutex_init_at((m), (type), __FILE__, __LINE__)
int weft_mutex_init_at(weft_mutex_t *m, weft_mutex_type_t type,
                       const char *file, int line);
/* Destroying a locked mutex is a finding. */
#define weft_mutex_destroy(m) weft_mutex_destroy_at((m), __FILE__, __LINE__)
int weft_mutex_destroy_at(weft_mutex_t *m, const char *file, int line);

#define weft_mutex_lock(m) \
    weft_mutex_timedlock_at((m), WEFT_FOREVER, __FILE__, __LINE__)
/* Returns 0 or -EBUSY. */
#define weft_mutex_trylock(m) \
    weft_mutex_timedlock_at((m), 0, __FILE__, __LINE__)
/* Returns 0, -ETIMEDOUT (at exactly the deadline), -EDEADLK. */
#define weft_mutex_timedlock(m, deadline) \
    weft_mutex_timedlock_at((m), (deadline), __FILE__, __LINE__)
int weft_mutex_timedlock_at(weft_mutex_t *m, int64_t deadline, const char *file,
                            int line);
#define weft_mutex_unlock(m) weft_mutex_unlock_at((m), __FILE__, __LINE__)
int weft_mutex_unlock_at(weft_mutex_t *m, const char *file, int line);

/* condition variable */
typedef struct weft_cond {
    weft__obj_t o;
} weft_cond_t;

#define WEFT_COND_INITIALIZER \
    {                         \
        WEFT__OBJ_INIT        \
    }

#define weft_cond_init(c) weft_cond_init_at((c), __FILE__, __LINE__)
int weft_cond_init_at(weft_cond_t *c, const char *file, int line);
#define weft_cond_destroy(c) weft_cond_destroy_at((c), __FILE__, __LINE__)
int weft_cond_destroy_at(weft_cond_t *c, const char *file, int line);
/* Wait while holding m; m is held again on return, whatever it returns.
 * Returns 0 (signalled or a spurious wake-up) or -ETIMEDOUT. */
#define weft_cond_wait(c, m) \
    weft_cond_timedwait_at((c), (m), WEFT_FOREVER, __FILE__, __LINE__)
#define weft_cond_timedwait(c, m, deadline) \
    weft_cond_timedwait_at((c), (m), (deadline), __FILE__, __LINE__)
int weft_cond_timedwait_at(weft_cond_t *c, weft_mutex_t *m, int64_t deadline,
                           const char *file, int line);
/* signal wakes the longest waiter; broadcast wakes all. */
#define weft_cond_signal(c) weft_cond_signal_at((c), false, __FILE__, __LINE__)
#define weft_cond_broadcast(c) \
    weft_cond_signal_at((c), true, __FILE__, __LINE__)
int weft_cond_signal_at(weft_cond_t *c, bool all, const char *file, int line);

/* reader-writer lock (readers may share; a writer excludes all) */
typedef struct weft_rwlock {
    weft__obj_t o;
    unsigned readers;
    struct weft__task *writer;
} weft_rwlock_t;

#define WEFT_RWLOCK_INITIALIZER \
    {                           \
        WEFT__OBJ_INIT, 0, NULL \
    }

#define weft_rwlock_init(rw) weft_rwlock_init_at((rw), __FILE__, __LINE__)
int weft_rwlock_init_at(weft_rwlock_t *rw, const char *file, int line);
#define weft_rwlock_destroy(rw) weft_rwlock_destroy_at((rw), __FILE__, __LINE__)
int weft_rwlock_destroy_at(weft_rwlock_t *rw, const char *file, int line);
#define weft_rwlock_rdlock(rw) \
    weft_rwlock_lock_at((rw), false, WEFT_FOREVER, __FILE__, __LINE__)
#define weft_rwlock_wrlock(rw) \
    weft_rwlock_lock_at((rw), true, WEFT_FOREVER, __FILE__, __LINE__)
#define weft_rwlock_tryrdlock(rw) \
    weft_rwlock_lock_at((rw), false, 0, __FILE__, __LINE__)
#define weft_rwlock_trywrlock(rw) \
    weft_rwlock_lock_at((rw), true, 0, __FILE__, __LINE__)
#define weft_rwlock_timedrdlock(rw, deadline) \
    weft_rwlock_lock_at((rw), false, (deadline), __FILE__, __LINE__)
#define weft_rwlock_timedwrlock(rw, deadline) \
    weft_rwlock_lock_at((rw), true, (deadline), __FILE__, __LINE__)
/* Returns 0, -EBUSY (no wait), -ETIMEDOUT, -EDEADLK (writer relocks). */
int weft_rwlock_lock_at(weft_rwlock_t *rw, bool write, int64_t deadline,
                        const char *file, int line);
#define weft_rwlock_unlock(rw) weft_rwlock_unlock_at((rw), __FILE__, __LINE__)
int weft_rwlock_unlock_at(weft_rwlock_t *rw, const char *file, int line);

/* counting semaphore */
typedef struct weft_sem {
    weft__obj_t o;
    unsigned value;
    unsigned initial;
} weft_sem_t;

#define WEFT_SEM_INITIALIZER(value)      \
    {                                    \
        WEFT__OBJ_INIT, (value), (value) \
    }

#define weft_sem_init(s, value) \
    weft_sem_init_at((s), (value), __FILE__, __LINE__)
int weft_sem_init_at(weft_sem_t *s, unsigned value, const char *file, int line);
#define weft_sem_destroy(s) weft_sem_destroy_at((s), __FILE__, __LINE__)
int weft_sem_destroy_at(weft_sem_t *s, const char *file, int line);
#define weft_sem_post(s) weft_sem_post_at((s), __FILE__, __LINE__)
int weft_sem_post_at(weft_sem_t *s, const char *file, int line);
#define weft_sem_wait(s) \
    weft_sem_timedwait_at((s), WEFT_FOREVER, __FILE__, __LINE__)
/* Returns 0 or -EAGAIN. */
#define weft_sem_trywait(s) weft_sem_timedwait_at((s), 0, __FILE__, __LINE__)
#define weft_sem_timedwait(s, deadline) \
    weft_sem_timedwait_at((s), (deadline), __FILE__, __LINE__)
int weft_sem_timedwait_at(weft_sem_t *s, int64_t deadline, const char *file,
                          int line);
unsigned weft_sem_value(const weft_sem_t *s);

/* barrier: count threads meet; one of them gets WEFT_BARRIER_SERIAL */
typedef struct weft_barrier {
    weft__obj_t o;
    unsigned count;
    unsigned arrived;
    uint64_t generation;
} weft_barrier_t;

#define WEFT_BARRIER_SERIAL 1
#define weft_barrier_init(b, count) \
    weft_barrier_init_at((b), (count), __FILE__, __LINE__)
int weft_barrier_init_at(weft_barrier_t *b, unsigned count, const char *file,
                         int line);
#define weft_barrier_destroy(b) weft_barrier_destroy_at((b), __FILE__, __LINE__)
int weft_barrier_destroy_at(weft_barrier_t *b, const char *file, int line);
/* Returns WEFT_BARRIER_SERIAL in one thread, 0 in the others. */
#define weft_barrier_wait(b) weft_barrier_wait_at((b), __FILE__, __LINE__)
int weft_barrier_wait_at(weft_barrier_t *b, const char *file, int line);

/* once */
typedef struct weft_once {
    weft__obj_t o;
    int state; /* 0 not run, 1 running, 2 done */
} weft_once_t;

#define WEFT_ONCE_INIT    \
    {                     \
        WEFT__OBJ_INIT, 0 \
    }
typedef void weft_once_fn(void);
/* Runs fn exactly once per execution; others wait until it returned. */
#define weft_once(o, fn) weft_once_at((o), (fn), __FILE__, __LINE__)
int weft_once_at(weft_once_t *o, weft_once_fn *fn, const char *file, int line);

/* --------------------------------------------------------------- atomics */

/*
 * Atomic integers and pointers. Every call is a visible operation; weft
 * models sequential consistency (weak-memory reorderings are out of scope).
 * compare_exchange stores the value it found into *expected on failure and
 * returns whether it swapped.
 */
typedef struct weft_atomic32 {
    uint32_t v;
} weft_atomic32_t;
typedef struct weft_atomic64 {
    uint64_t v;
} weft_atomic64_t;
typedef struct weft_atomic_ptr {
    void *v;
} weft_atomic_ptr_t;

#define WEFT_ATOMIC_INIT(value) \
    {                           \
        (value)                 \
    }

typedef enum weft_atomic_op {
    WEFT_AOP_LOAD,
    WEFT_AOP_STORE,
    WEFT_AOP_XCHG,
    WEFT_AOP_ADD,
    WEFT_AOP_SUB,
    WEFT_AOP_AND,
    WEFT_AOP_OR,
    WEFT_AOP_XOR,
    WEFT_AOP_CAS,
} weft_atomic_op_t;

/* One entry point per width; the macros below are the everyday names.
 * Returns the value before the operation (for CAS: 1 if swapped). */
uint32_t weft_atomic32_at(weft_atomic32_t *a, weft_atomic_op_t op, uint32_t v,
                          uint32_t *expected, const char *file, int line);
uint64_t weft_atomic64_at(weft_atomic64_t *a, weft_atomic_op_t op, uint64_t v,
                          uint64_t *expected, const char *file, int line);
void *weft_atomic_ptr_at(weft_atomic_ptr_t *a, weft_atomic_op_t op, void *v,
                         void **expected, const char *file, int line);

#define WEFT__A32(a, op, v, e) \
    weft_atomic32_at((a), (op), (v), (e), __FILE__, __LINE__)
#define WEFT__A64(a, op, v, e) \
    weft_atomic64_at((a), (op), (v), (e), __FILE__, __LINE__)
#define WEFT__AP(a, op, v, e) \
    weft_atomic_ptr_at((a), (op), (v), (e), __FILE__, __LINE__)

#define weft_atomic32_load(a) WEFT__A32((a), WEFT_AOP_LOAD, 0, NULL)
#define weft_atomic32_store(a, v) \
    ((void)WEFT__A32((a), WEFT_AOP_STORE, (v), NULL))
#define weft_atomic32_exchange(a, v)  WEFT__A32((a), WEFT_AOP_XCHG, (v), NULL)
#define weft_atomic32_fetch_add(a, v) WEFT__A32((a), WEFT_AOP_ADD, (v), NULL)
#define weft_atomic32_fetch_sub(a, v) WEFT__A32((a), WEFT_AOP_SUB, (v), NULL)
#define weft_atomic32_fetch_and(a, v) WEFT__A32((a), WEFT_AOP_AND, (v), NULL)
#define weft_atomic32_fetch_or(a, v)  WEFT__A32((a), WEFT_AOP_OR, (v), NULL)
#define weft_atomic32_fetch_xor(a, v) WEFT__A32((a), WEFT_AOP_XOR, (v), NULL)
#define weft_atomic32_compare_exchange(a, e, v) \
    ((bool)WEFT__A32((a), WEFT_AOP_CAS, (v), (e)))

#define weft_atomic64_load(a) WEFT__A64((a), WEFT_AOP_LOAD, 0, NULL)
#define weft_atomic64_store(a, v) \
    ((void)WEFT__A64((a), WEFT_AOP_STORE, (v), NULL))
#define weft_atomic64_exchange(a, v)  WEFT__A64((a), WEFT_AOP_XCHG, (v), NULL)
#define weft_atomic64_fetch_add(a, v) WEFT__A64((a), WEFT_AOP_ADD, (v), NULL)
#define weft_atomic64_fetch_sub(a, v) WEFT__A64((a), WEFT_AOP_SUB, (v), NULL)
#define weft_atomic64_fetch_and(a, v) WEFT__A64((a), WEFT_AOP_AND, (v), NULL)
#define weft_atomic64_fetch_or(a, v)  WEFT__A64((a), WEFT_AOP_OR, (v), NULL)
#define weft_atomic64_fetch_xor(a, v) WEFT__A64((a), WEFT_AOP_XOR, (v), NULL)
#define weft_atomic64_compare_exchange(a, e, v) \
    ((bool)WEFT__A64((a), WEFT_AOP_CAS, (v), (e)))

#define weft_atomic_ptr_load(a) WEFT__AP((a), WEFT_AOP_LOAD, NULL, NULL)
#define weft_atomic_ptr_store(a, v) \
    ((void)WEFT__AP((a), WEFT_AOP_STORE, (v), NULL))
#define weft_atomic_ptr_exchange(a, v) WEFT__AP((a), WEFT_AOP_XCHG, (v), NULL)
#define weft_atomic_ptr_compare_exchange(a, e, v) \
    (WEFT__AP((a), WEFT_AOP_CAS, (v), (e)) != NULL)

/* ------------------------------------------------------------------ time */

#define WEFT_FOREVER ((int64_t)-1)
#define WEFT_NSEC    ((int64_t)1)
#define WEFT_USEC    ((int64_t)1000)
#define WEFT_MSEC    ((int64_t)1000000)
#define WEFT_SEC     ((int64_t)1000000000)

/* The virtual time in ns since the execution started. Not a scheduling
 * point: reading the clock changes nothing another task can see. */
int64_t weft_now(void);

/* The deadline ns from now, saturated: a duration past the end of
 * virtual time (INT64_MAX ns) ends there, a negative one means now (it
 * never becomes WEFT_FOREVER). The relative forms below use it. */
static inline int64_t weft__after(int64_t ns)
{
    int64_t now = weft_now();
    if (ns <= 0)
        return now;
    return ns > INT64_MAX - now ? INT64_MAX : now + ns;
}

/* Sleep until the virtual deadline (or for ns). Returns 0. */
#define weft_sleep_until(deadline) \
    weft_sleep_until_at((deadline), __FILE__, __LINE__)
#define weft_sleep_for(ns) \
    weft_sleep_until_at(weft__after(ns), __FILE__, __LINE__)
int weft_sleep_until_at(int64_t deadline, const char *file, int line);

/* ------------------------------------------- futures, loops, coroutines */

/*
 * A loop runs coroutines on the thread that runs it. A coroutine is a task
 * with its own stack that switches only where it awaits: while it runs,
 * other threads may preempt it, other coroutines of its loop may not.
 * The current loop and task are ambient: code deep in a call tree spawns
 * and awaits with no loop argument. ONE future type serves everyone: a
 * coroutine awaits it (only that coroutine suspends), a thread waits on it
 * (the thread blocks), anyone completes it. A thread-blocking call from a
 * coroutine (a lock that must wait, a condition wait, weft_future_wait,
 * join, sleep) would block the whole loop: by default it is a finding at
 * the call site (see weft_config_t.blocking).
 */
#define WEFT_BLOCKING_ERROR 0
#define WEFT_BLOCKING_WARN  1
#define WEFT_BLOCKING_ALLOW 2

struct weft__callback;

typedef struct weft_future {
    weft__obj_t o;
    int state; /* private: pending, done, failed, cancelled */
    int err;
    void *value;
    struct weft__task *task; /* whose result it is, or NULL */
    struct weft__callback *callbacks;
    bool observed; /* someone took its outcome */
} weft_future_t;

#define WEFT_FUTURE_INITIALIZER                       \
    {                                                 \
        WEFT__OBJ_INIT, 0, 0, NULL, NULL, NULL, false \
    }

typedef void weft_fn(void *arg);
typedef void weft_future_fn(weft_future_t *f, void *arg);

#define weft_future_init(f) weft_future_init_at((f), __FILE__, __LINE__)
int weft_future_init_at(weft_future_t *f, const char *file, int line);
/* A future that lives until the execution ends; NULL if out of memory. */
#define weft_future_new() weft_future_new_at(__FILE__, __LINE__)
weft_future_t *weft_future_new_at(const char *file, int line);

/* Complete f, from any thread, coroutine or callback: with a value, with
 * an error (err < 0), or cancelled. Waiters wake; awaiting coroutines are
 * queued on their loops; done-callbacks are queued on the loops that
 * registered them. Returns 0, or -EINVAL if f was already complete.
 * Cancelling a task's future cancels the task (see weft_cancel). */
#define weft_future_set_result(f, v) \
    weft_future_complete_at((f), 1, 0, (v), __FILE__, __LINE__)
#define weft_future_set_error(f, err) \
    weft_future_complete_at((f), 2, (err), NULL, __FILE__, __LINE__)
#define weft_future_cancel(f) \
    weft_future_complete_at((f), 3, -ECANCELED, NULL, __FILE__, __LINE__)
int weft_future_complete_at(weft_future_t *f, int state, int err, void *v,
                            const char *file, int line);

bool weft_future_done(const weft_future_t *f);
/* Its outcome without waiting: 0 and *value, its error, -ECANCELED, or
 * -EAGAIN while pending. value may be NULL. */
int weft_future_result(weft_future_t *f, void **value);

/* Await f from a coroutine: only the coroutine suspends. Returns as
 * weft_future_result, or -ECANCELED when this task or an enclosing cancel
 * scope is cancelled. From a thread it waits like weft_future_wait. */
#define weft_await(f, value) weft_await_at((f), (value), __FILE__, __LINE__)
int weft_await_at(weft_future_t *f, void **value, const char *file, int line);

/* Wait for f from a thread until deadline: -ETIMEDOUT at the deadline.
 * From a coroutine this is a blocking call inside the loop. */
#define weft_future_wait(f, value, deadline) \
    weft_future_wait_at((f), (value), (deadline), __FILE__, __LINE__)
int weft_future_wait_at(weft_future_t *f, void **value, int64_t deadline,
                        const char *file, int line);

/* fn(f, arg) runs once f is complete: on the loop of the coroutine or
 * loop thread that registered it, else in the completing task. Each
 * registration runs once, in registration order. */
int weft_future_on_done(weft_future_t *f, weft_future_fn *fn, void *arg);
/* Undo weft_future_on_done (asyncio's remove_done_callback): every
 * registration of fn with this arg that has not run yet is dropped.
 * Returns how many were (0 once f has completed: its callbacks are queued
 * or have run), or -EINVAL if fn is NULL. */
int weft_future_remove_done(weft_future_t *f, weft_future_fn *fn, void *arg);

/* Wait (in a thread) or await (in a coroutine) until all of fs are done,
 * or the first one is: 0, or -ETIMEDOUT at the deadline, -ECANCELED. */
#define weft_wait_all(fs, n, deadline) \
    weft_wait_many_at((fs), (n), true, (deadline), NULL, __FILE__, __LINE__)
#define weft_wait_any(fs, n, deadline, index) \
    weft_wait_many_at((fs), (n), false, (deadline), (index), __FILE__, __LINE__)
int weft_wait_many_at(weft_future_t *const *fs, size_t n, bool all,
                      int64_t deadline, size_t *index, const char *file,
                      int line);

/* loops */
struct weft__loop;
typedef struct weft_loop {
    weft__obj_t o;
    unsigned flags;
    struct weft__loop *impl;
} weft_loop_t;

/* Ready coroutines resume in an order the strategy chooses (trio-like)
 * instead of first-in first-out (asyncio's promise). */
#define WEFT_LOOP_SHUFFLE 1u

#define WEFT_LOOP_INITIALIZER(flags)  \
    {                                 \
        WEFT__OBJ_INIT, (flags), NULL \
    }
#define weft_loop_init(l, flags) \
    weft_loop_init_at((l), (flags), __FILE__, __LINE__)
int weft_loop_init_at(weft_loop_t *l, unsigned flags, const char *file,
                      int line);

/* Run main(arg) as a coroutine on l, in the calling thread, until it
 * returns (asyncio.run): its return value goes to *ret. Then the loop's
 * worker threads are stopped and joined. Returns 0, the main coroutine's
 * error, -ECANCELED, or -EBUSY if l already runs. */
#define weft_loop_run(l, main, arg, ret) \
    weft_loop_run_at((l), (main), (arg), (ret), __FILE__, __LINE__)
int weft_loop_run_at(weft_loop_t *l, weft_thread_fn *main, void *arg,
                     void **ret, const char *file, int line);
/* The same on a fresh loop. */
#define weft_run(main, arg, ret) \
    weft_loop_run_at(NULL, (main), (arg), (ret), __FILE__, __LINE__)

/*
 * weft_loop_run with a handle on the main coroutine: *main_future is its
 * future from before it first runs until the execution ends, so another
 * thread (or a callback) can cancel it with weft_cancel, wait for it with
 * weft_future_wait, or add done-callbacks (asyncio: loop.create_task(main)
 * then loop.run_until_complete(task)). l may be NULL (a fresh loop, as
 * weft_run). Returns as weft_loop_run; main_future must not be NULL.
 */
#define weft_loop_run_future(l, main, arg, main_future, ret)          \
    weft_loop_run_future_at((l), (main), (arg), (main_future), (ret), \
                            __FILE__, __LINE__)
#define weft_run_future(main, arg, main_future, ret)                   \
    weft_loop_run_future_at(NULL, (main), (arg), (main_future), (ret), \
                            __FILE__, __LINE__)
int weft_loop_run_future_at(weft_loop_t *l, weft_thread_fn *main, void *arg,
                            weft_future_t **main_future, void **ret,
                            const char *file, int line);

/* The loop of the running coroutine, or the loop this thread runs. */
weft_loop_t *weft_loop_current(void);
bool weft_in_coroutine(void);

/* Start a coroutine on the current loop; its future completes with its
 * return value (or its weft_task_fail error). NULL outside a loop or out
 * of memory. */
#define weft_spawn(name, fn, arg) \
    weft_spawn_on_at(NULL, (name), (fn), (arg), __FILE__, __LINE__)
/* Start a coroutine on loop l from anywhere (run_coroutine_threadsafe). */
#define weft_spawn_on(l, name, fn, arg) \
    weft_spawn_on_at((l), (name), (fn), (arg), __FILE__, __LINE__)
weft_future_t *weft_spawn_on_at(weft_loop_t *l, const char *name,
                                weft_thread_fn *fn, void *arg, const char *file,
                                int line);

/* End the calling coroutine or thread with an error: its future fails
 * with err (< 0). */
#define weft_task_fail(err) weft_task_fail_at((err), __FILE__, __LINE__)
WEFT__NORETURN void weft_task_fail_at(int err, const char *file, int line);

/*
 * Cancel the task whose future is f (asyncio's Task.cancel): its current
 * or next cancellation point (an await, a blocking call, a timed wait)
 * returns -ECANCELED, once per request. What f then holds is what the
 * task does about it (asyncio's rule): a task that returns normally after
 * it saw -ECANCELED completes f with its value; one that ends through
 * weft_task_fail(-ECANCELED) (the way to let the cancellation through, as
 * re-raising CancelledError), or that ends before the cancellation reached
 * any cancellation point, leaves f cancelled. Returns 0, or -EINVAL when
 * the task has ended already.
 */
#define weft_cancel(f) weft_future_cancel(f)

/*
 * How many cancellation requests of the calling task are outstanding:
 * weft_cancel calls on it minus weft_uncancel calls (asyncio's
 * Task.cancelling()). Delivering a request (-ECANCELED from a cancellation
 * point) does not withdraw it.
 */
unsigned weft_cancelling(void);

/*
 * Is the calling task being cancelled, where it stands: an outstanding
 * task cancellation request, or an enclosing cancel scope that is
 * cancelled or past its deadline, not kept out by a shield. After an await
 * returned -ECANCELED, true means "I was cancelled" and false means "the
 * future I awaited was cancelled" (trio: the scope's cancel_called;
 * asyncio: cancelling() > 0).
 */
bool weft_cancel_requested(void);

/*
 * Withdraw one cancellation request of the calling task (asyncio's
 * Task.uncancel()), for code that handled a cancellation it caused itself
 * (a timeout of its own) and goes on. When none is left, one not yet
 * delivered is withdrawn too: no cancellation point will report it.
 * Returns the requests still outstanding.
 */
unsigned weft_uncancel(void);

/* Await in a coroutine: sleep until a virtual deadline, or let the other
 * ready coroutines of the loop run first. Return 0 or -ECANCELED. */
#define weft_await_sleep_until(deadline) \
    weft_await_sleep_until_at((deadline), __FILE__, __LINE__)
#define weft_await_sleep_for(ns) \
    weft_await_sleep_until_at(weft__after(ns), __FILE__, __LINE__)
#define weft_await_yield() weft_await_sleep_until_at(0, __FILE__, __LINE__)
int weft_await_sleep_until_at(int64_t deadline, const char *file, int line);

/* bridges: callbacks on a loop, from anywhere (thread-safe). Callbacks
 * run on the loop's thread before its queued coroutines, those due at one
 * instant in the order they were queued; a callback and a coroutine's
 * timer due at the same instant have no order: the strategy picks one
 * (a recorded choice, so a seed replays it). */
#define weft_call_soon(l, fn, arg) \
    weft_call_at_at((l), -1, (fn), (arg), __FILE__, __LINE__)
#define weft_call_at(l, when, fn, arg) \
    weft_call_at_at((l), (when), (fn), (arg), __FILE__, __LINE__)
#define weft_call_later(l, delay, fn, arg) \
    weft_call_at_at((l), weft__after(delay), (fn), (arg), __FILE__, __LINE__)
int weft_call_at_at(weft_loop_t *l, int64_t when, weft_fn *fn, void *arg,
                    const char *file, int line);

/* From a coroutine: run fn(arg) on a worker thread of the loop's bounded
 * pool and return its future to await. With every worker busy the job
 * waits, as with a real executor. NULL outside a loop or out of memory. */
#define weft_to_thread(fn, arg) \
    weft_to_thread_at((fn), (arg), __FILE__, __LINE__)
weft_future_t *weft_to_thread_at(weft_thread_fn *fn, void *arg,
                                 const char *file, int line);

/* cancel scopes (trio's): a deadline and/or an explicit cancel for a
 * stretch of code in one task. Awaits and blocking calls inside return
 * -ECANCELED once the scope is cancelled. The fields are private: read
 * them with weft_scope_cancel_called and weft_scope_cancelled_caught. */
typedef struct weft_scope {
    int64_t deadline;
    unsigned flags;
    bool cancelled; /* cancelled, by its deadline or weft_scope_cancel */
    bool hit;       /* a cancellation point inside returned -ECANCELED */
    struct weft_scope *parent;
    struct weft__task *owner;
} weft_scope_t;

#define WEFT_SCOPE_SHIELD 1u /* cancellation from outside does not reach in */
#define WEFT_SCOPE_FAIL                                \
    2u /* fail-after: exit returns -ETIMEDOUT when the \
          deadline cancelled it (else move-on-after) */
void weft_scope_enter(weft_scope_t *s, int64_t deadline, unsigned flags);
int weft_scope_exit(weft_scope_t *s);
void weft_scope_cancel(weft_scope_t *s);
/* trio's cancel_called: s was cancelled by weft_scope_cancel, or its
 * deadline has passed (whether or not anything inside noticed). */
bool weft_scope_cancel_called(const weft_scope_t *s);
/* trio's cancelled_caught: a cancellation point inside s returned
 * -ECANCELED because of s (or of a scope around it, up to a shield). */
bool weft_scope_cancelled_caught(const weft_scope_t *s);

/* task-local storage with context-variable semantics: a child task starts
 * with a copy of its parent's values. */
typedef struct weft_local {
    const char *name;
} weft_local_t;
#define WEFT_LOCAL_INIT(name) \
    {                         \
        (name)                \
    }
void *weft_local_get(weft_local_t *key);
int weft_local_set(weft_local_t *key, void *value);

/*
 * task groups (structured concurrency, trio's nursery and asyncio's
 * TaskGroup): children are coroutines when spawned from a coroutine,
 * threads otherwise. The first child that fails cancels its siblings;
 * wait collects them all. A group accepts children until its waiter has
 * returned, so children may start siblings into their own group while the
 * parent waits (the nursery idiom: pass the group down). Leaving a group
 * with live children (destroying it, or the execution ending, before
 * wait) is a finding. The fields are private: use the calls below.
 */
typedef struct weft_group {
    weft__obj_t o;
    struct weft__task *owner;
    unsigned live;    /* children not yet ended */
    unsigned spawned; /* children ever started */
    int first_error;  /* 0, or the first child's error */
    unsigned nerrors; /* children that failed */
    struct weft__gchild *children;
    struct weft__gchild **ended; /* children in the order they ended */
    uint32_t nended, ended_cap;
    struct weft__gchild **failed; /* the failed ones, in that order */
    uint32_t nfailed, failed_cap;
    struct weft__grec *rec; /* the execution's record of it */
    bool waited;            /* a wait has started */
    bool closed;            /* its waiter returned: no more children */
    bool cancelled;         /* its children are cancelled, later ones too */
} weft_group_t;

#define weft_group_init(g) weft_group_init_at((g), __FILE__, __LINE__)
int weft_group_init_at(weft_group_t *g, const char *file, int line);
/* Start fn(arg) in g, from the parent or from one of g's children (or
 * any task), until g's waiter has returned. A child started into a group
 * that is being cancelled (a sibling failed, weft_group_cancel, a
 * cancelled waiter) starts cancelled, as in trio. Returns 0, -ENOMEM, or
 * -EINVAL (fn is NULL, or g's wait has returned: the group is closed). */
#define weft_group_spawn(g, name, fn, arg) \
    weft_group_spawn_at((g), (name), (fn), (arg), __FILE__, __LINE__)
int weft_group_spawn_at(weft_group_t *g, const char *name, weft_thread_fn *fn,
                        void *arg, const char *file, int line);
/* Wait (await, in a coroutine) until every child has ended, those the
 * children start meanwhile included; then the group is closed. Returns 0
 * or the first child's error (all of them: weft_group_error);
 * -ECANCELED if the waiting task itself was cancelled (the children are
 * cancelled too and still waited for). */
#define weft_group_wait(g) weft_group_wait_at((g), __FILE__, __LINE__)
int weft_group_wait_at(weft_group_t *g, const char *file, int line);
/* Cancel every live child, and every child started from now on. */
#define weft_group_cancel(g) weft_group_cancel_at((g), __FILE__, __LINE__)
int weft_group_cancel_at(weft_group_t *g, const char *file, int line);
/* A group left with live children is a finding (WEFT_FINDING_TASK_LEAK). */
#define weft_group_destroy(g) weft_group_destroy_at((g), __FILE__, __LINE__)
int weft_group_destroy_at(weft_group_t *g, const char *file, int line);

/* How one child of a group ended. */
typedef struct weft_outcome {
    const char *name; /* its name as spawned ("" if none) */
    unsigned task;    /* its task number, as reports name it ("task 4") */
    int err;          /* 0: it returned; -ECANCELED: cancelled; else the
                         error it failed with (weft_task_fail) */
    void *value;      /* what it returned, when err is 0 */
    const char *file; /* where it ended: its weft_task_fail call, else */
    int line;         /* its last visible operation */
} weft_outcome_t;

/*
 * Walk a group's children once they have ended (asyncio's ExceptionGroup,
 * with every child kept, uncapped): weft_group_outcome gives the i-th
 * child to end, weft_group_error the i-th to fail (cancelled children are
 * not failures), both counting from 0 in the order they ended. Returns 0
 * and fills *out, or -ENOENT past the last. Valid until the execution
 * ends:
 *
 *     weft_outcome_t o;
 *     for (size_t i = 0; weft_group_error(&g, i, &o) == 0; i++)
 *         printf("%s failed with %d at %s:%d\n", o.name, o.err, o.file,
 *                o.line);
 */
int weft_group_outcome(const weft_group_t *g, size_t i, weft_outcome_t *out);
int weft_group_error(const weft_group_t *g, size_t i, weft_outcome_t *out);

/* channels: a bounded queue of pointers; put and get await in a coroutine
 * and block in a thread, until a deadline. */
typedef struct weft_chan {
    weft__obj_t o;     /* getters wait here */
    weft__obj_t space; /* putters wait here */
    void **buf;
    size_t cap, head, len;
    bool closed;
    unsigned senders, receivers; /* open ends (weft_chan_open) */
    bool no_senders;             /* the last send end was closed */
    bool no_receivers;           /* the last receive end was closed */
} weft_chan_t;

/* capacity >= 1; the buffer lives until the execution ends. */
#define weft_chan_init(c, capacity) \
    weft_chan_init_at((c), (capacity), __FILE__, __LINE__)
int weft_chan_init_at(weft_chan_t *c, size_t capacity, const char *file,
                      int line);
/* Returns 0, -EPIPE (closed), -ETIMEDOUT, -EAGAIN (deadline 0, full),
 * -ECANCELED. */
#define weft_chan_put(c, v, deadline) \
    weft_chan_put_at((c), (v), (deadline), __FILE__, __LINE__)
int weft_chan_put_at(weft_chan_t *c, void *v, int64_t deadline,
                     const char *file, int line);
/* Returns 0, -EPIPE (closed and empty), -ETIMEDOUT, -EAGAIN, -ECANCELED. */
#define weft_chan_get(c, v, deadline) \
    weft_chan_get_at((c), (v), (deadline), __FILE__, __LINE__)
int weft_chan_get_at(weft_chan_t *c, void **v, int64_t deadline,
                     const char *file, int line);
/* After close, puts fail with -EPIPE and gets drain what is left. */
#define weft_chan_close(c) weft_chan_close_at((c), __FILE__, __LINE__)
int weft_chan_close_at(weft_chan_t *c, const char *file, int line);

/*
 * Send and receive ends (trio's memory channels): weft_chan_open makes a
 * channel with one send end and one receive end; each end can be cloned,
 * one clone per task that sends or receives, and each clone is closed by
 * its owner when done. When the last send end is closed, receivers drain
 * what is left and then get -EPIPE (trio's EndOfChannel): a consumer loop
 * ends by itself once every producer is done. When the last receive end
 * is closed, what was buffered is dropped and senders get -EPIPE (trio's
 * BrokenResourceError). Using an end that was closed (or one from an
 * earlier execution) returns -EBADF (trio's ClosedResourceError), as does
 * a send or receive blocked on an end that its owner closes meanwhile.
 * The ends are the caller's objects, like the channel; they are plain
 * handles, so cloning one is no visible operation. weft_chan_put/get/close
 * still work on such a channel, as one more anonymous end.
 */
struct weft__chan_end {
    weft_chan_t *chan;
    uint64_t epoch; /* the execution it belongs to */
    bool closed;
};
typedef struct weft_chan_tx {
    struct weft__chan_end end;
} weft_chan_tx_t;
typedef struct weft_chan_rx {
    struct weft__chan_end end;
} weft_chan_rx_t;

/* Initialise c with capacity >= 1 and open its two ends. */
#define weft_chan_open(c, capacity, tx, rx) \
    weft_chan_open_at((c), (capacity), (tx), (rx), __FILE__, __LINE__)
int weft_chan_open_at(weft_chan_t *c, size_t capacity, weft_chan_tx_t *tx,
                      weft_chan_rx_t *rx, const char *file, int line);
/* Another end on the same channel; -EBADF if from is closed. */
int weft_chan_tx_clone(const weft_chan_tx_t *from, weft_chan_tx_t *to);
int weft_chan_rx_clone(const weft_chan_rx_t *from, weft_chan_rx_t *to);
/* As weft_chan_put; -EPIPE once no receive end is left, -EBADF for a
 * closed end. */
#define weft_chan_send(tx, v, deadline) \
    weft_chan_send_at((tx), (v), (deadline), __FILE__, __LINE__)
int weft_chan_send_at(weft_chan_tx_t *tx, void *v, int64_t deadline,
                      const char *file, int line);
/* As weft_chan_get; -EPIPE once empty with no send end left, -EBADF for
 * a closed end. */
#define weft_chan_recv(rx, v, deadline) \
    weft_chan_recv_at((rx), (v), (deadline), __FILE__, __LINE__)
int weft_chan_recv_at(weft_chan_rx_t *rx, void **v, int64_t deadline,
                      const char *file, int line);
/* Close one end: 0, or -EBADF if it was closed already. */
#define weft_chan_tx_close(tx) weft_chan_tx_close_at((tx), __FILE__, __LINE__)
int weft_chan_tx_close_at(weft_chan_tx_t *tx, const char *file, int line);
#define weft_chan_rx_close(rx) weft_chan_rx_close_at((rx), __FILE__, __LINE__)
int weft_chan_rx_close_at(weft_chan_rx_t *rx, const char *file, int line);

/* ---------------------------------------------------------- command line */

/*
 * Take the --weft-NAME=VALUE (or --weft-NAME VALUE) options out of argv
 * before the program reads it: each sets the variable WEFT_NAME (NAME
 * upper-cased, '-' read as '_'), which weft_explore then reads, so
 * `./test --weft-seed=7 --weft-iterations=1` is `WEFT_SEED=7
 * WEFT_ITERATIONS=1 ./test`. --weft-help lists the options and exits 0;
 * an unknown option or a bad value prints a message and exits with
 * status 2. argv[*argc] stays NULL.
 */
void weft_args(int *argc, char **argv);

/* ----------------------------------------------------------------- fuzzing */

/*
 * Run body once with every choice taken from data, a fuzzer's input
 * (strategy "fuzz"): coverage-guided fuzzers (libFuzzer, AFL++) then steer
 * the interleavings. Input that runs out leaves the remaining choices to
 * the running task. Returns like weft_explore (one execution; the report
 * is printed unless cfg->quiet). include/weft/fuzz.h turns a body into a
 * fuzz target that replays crash files in a plain build.
 */
int weft_fuzz_one(const weft_config_t *cfg, const uint8_t *data, size_t size,
                  weft_body_fn *body, void *arg, weft_result_t *res);

/* --------------------------------------------------- coverage */

/* Synchronization coverage counted so far in this process (explorations
 * with sync_coverage set), for the visible operations at file:line:
 * measure is "reached", "contended", "blocked", "preempted" or "woke".
 * file is compared as written in __FILE__. */
uint64_t weft_sync_count(const char *file, int line, const char *measure);
/* Forget the counts. */
void weft_sync_reset(void);

/* --------------------------------------------------- testing the harness */

/* Make the n-th allocation weft makes from now on fail (n >= 1); 0 turns
 * failures off. For out-of-memory tests of weft and of code under test. */
void weft_fail_alloc_after(uint64_t n);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_H */
