/*
 * sched.c: the core: tasks, the ready set, the decision point, the virtual
 * clock and the trace.
 *
 * All tasks of an execution run on one OS thread; exactly one runs at a
 * time. A task gives up the processor only inside weft__visible() (when
 * the strategy picks another ready task) or weft__block(); it then switches
 * straight to the next task's stack, without a trip through the scheduler,
 * which only starts the execution and receives control when it ends (all
 * tasks done, or a finding). The ready set is an array whose order depends
 * only on the history of the execution, never on addresses, so a strategy
 * that picks an index is deterministic. Time moves only in dispatch(): when
 * nothing is ready it jumps to the earliest deadline of the timer heap.
 * What the layers above add (a coroutine's loop, a task's future, the
 * deadlock explanation) comes in through their hooks (core.h), so nothing
 * here knows who is behind them.
 */
#include "core/core.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_ASAN 1
#endif
#endif
#ifdef WEFT_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

WEFT__TLS struct weft__run *weft__current;
bool weft__per_task_tls;
bool weft__lone_task_unbounded;

/* Process-wide execution counter: an object's epoch never matches a later
 * execution by accident. */
static WEFT__TLS uint64_t epoch_counter;

static const char *const op_names[WEFT__OP__COUNT] = {
    [WEFT__OP_START] = "start",
    [WEFT__OP_SPAWN] = "spawn",
    [WEFT__OP_JOIN] = "join",
    [WEFT__OP_DETACH] = "detach",
    [WEFT__OP_EXIT] = "exit",
    [WEFT__OP_YIELD] = "yield",
    [WEFT__OP_LOCK] = "lock",
    [WEFT__OP_UNLOCK] = "unlock",
    [WEFT__OP_MUTEX_DESTROY] = "mutex destroy",
    [WEFT__OP_COND_WAIT] = "cond wait",
    [WEFT__OP_COND_SIGNAL] = "cond signal",
    [WEFT__OP_COND_BROADCAST] = "cond broadcast",
    [WEFT__OP_RDLOCK] = "read lock",
    [WEFT__OP_WRLOCK] = "write lock",
    [WEFT__OP_RWUNLOCK] = "rwlock unlock",
    [WEFT__OP_SEM_WAIT] = "sem wait",
    [WEFT__OP_SEM_POST] = "sem post",
    [WEFT__OP_BARRIER] = "barrier wait",
    [WEFT__OP_ONCE] = "once",
    [WEFT__OP_ATOMIC] = "atomic",
    [WEFT__OP_READ] = "read",
    [WEFT__OP_WRITE] = "write",
    [WEFT__OP_SLEEP] = "sleep",
    [WEFT__OP_CHOOSE] = "choose",
    [WEFT__OP_AWAIT] = "await",
    [WEFT__OP_COMPLETE] = "complete",
    [WEFT__OP_LOOP] = "run coroutine",
    [WEFT__OP_LOOP_IDLE] = "loop idle",
    [WEFT__OP_QUEUED] = "queued",
    [WEFT__OP_CALL] = "call soon",
    [WEFT__OP_FUTURE_WAIT] = "future wait",
    [WEFT__OP_CANCEL] = "cancel",
    [WEFT__OP_GROUP] = "group",
    [WEFT__OP_CHAN_PUT] = "chan put",
    [WEFT__OP_CHAN_GET] = "chan get",
    [WEFT__OP_CHAN_CLOSE] = "chan close",
    [WEFT__OP_BLOCK] = "blocks",
    [WEFT__OP_WAKEUP] = "woken",
    [WEFT__OP_TIMEOUT] = "timeout",
    [WEFT__OP_TO_THREAD] = "to_thread",
};

char weft__op_letter(int op)
{
    switch (op) {
    case WEFT__OP_LOCK:
    case WEFT__OP_UNLOCK:
    case WEFT__OP_MUTEX_DESTROY:
        return 'M';
    case WEFT__OP_COND_WAIT:
    case WEFT__OP_COND_SIGNAL:
    case WEFT__OP_COND_BROADCAST:
        return 'C';
    case WEFT__OP_RDLOCK:
    case WEFT__OP_WRLOCK:
    case WEFT__OP_RWUNLOCK:
        return 'R';
    case WEFT__OP_SEM_WAIT:
    case WEFT__OP_SEM_POST:
        return 'S';
    case WEFT__OP_BARRIER:
        return 'B';
    case WEFT__OP_ONCE:
        return 'O';
    case WEFT__OP_AWAIT:
    case WEFT__OP_COMPLETE:
    case WEFT__OP_FUTURE_WAIT:
    case WEFT__OP_CANCEL:
        return 'F';
    case WEFT__OP_LOOP:
    case WEFT__OP_LOOP_IDLE:
    case WEFT__OP_CALL:
    case WEFT__OP_TO_THREAD:
        return 'L';
    case WEFT__OP_GROUP:
        return 'G';
    case WEFT__OP_CHAN_PUT:
    case WEFT__OP_CHAN_GET:
    case WEFT__OP_CHAN_CLOSE:
        return 'Q';
    default:
        return '#';
    }
}

const char *weft__op_name(int op)
{
    if (op < 0 || op >= WEFT__OP__COUNT)
        return "?";
    return op_names[op];
}

const char *weft__task_name(struct weft__task *t)
{
    static WEFT__TLS char buf[4][48];
    static WEFT__TLS unsigned k;
    if (t == NULL)
        return "nobody";
    char *b = buf[k++ % 4];
    if (t->name[0] == '\0')
        snprintf(b, sizeof buf[0], "task %u", t->id);
    else
        snprintf(b, sizeof buf[0], "task %u \"%s\"", t->id, t->name);
    return b;
}

const char weft__pc_site[] = "<pc>";
const char *(*weft__pc_site_fmt)(int line);

bool weft__pc_source(int pc, char *file, size_t len, int *line)
{
    if (weft__pc_site_fmt == NULL)
        return false;
    /* "file:line (function)[, inlined into ...]": the first file:line */
    const char *s = weft__pc_site_fmt(pc);
    size_t n = strcspn(s, " ,");
    const char *colon = NULL;
    for (const char *p = s; p < s + n; p++)
        if (*p == ':')
            colon = p;
    if (colon == NULL || colon[1] < '1' || colon[1] > '9' ||
        (size_t)(colon - s) >= len)
        return false;
    snprintf(file, len, "%.*s", (int)(colon - s), s);
    *line = atoi(colon + 1);
    return true;
}

const char *weft__site(const char *file, int line)
{
    static WEFT__TLS char buf[4][160];
    static WEFT__TLS unsigned k;
    char *b = buf[k++ % 4];
    if (file == NULL)
        return "?";
    if (file == weft__pc_site && weft__pc_site_fmt != NULL)
        return weft__pc_site_fmt(line);
    if (file == weft__pc_site)
        snprintf(b, sizeof buf[0], "<program>+0x%x", (unsigned)line);
    else if (line <= 0) /* a place with no line: "main returns" */
        snprintf(b, sizeof buf[0], "%s", file);
    else
        snprintf(b, sizeof buf[0], "%s:%d", file, line);
    return b;
}

void weft__run_error(struct weft__run *r, const char *fmt, ...)
{
    if (r->error[0] != '\0')
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
}

void weft__run_hooks(struct weft__run *r, const struct weft__hooks *h)
{
    if (r->nhooks == WEFT__MAX_HOOKS)
        weft__misuse("weft__run_hooks", "more than %d hook tables",
                     WEFT__MAX_HOOKS);
    r->hooks[r->nhooks++] = h;
    if (h->spawned != NULL)
        r->on.spawned[r->on.nspawned++] = h->spawned;
    if (h->ending != NULL)
        r->on.ending[r->on.nending++] = h->ending;
    if (h->ended != NULL)
        r->on.ended[r->on.nended++] = h->ended;
    if (h->check != NULL)
        r->on.check[r->on.ncheck++] = h->check;
}

/* ---------------------------------------------------------------- arena */

struct weft__chunk {
    struct weft__chunk *next;
    size_t used, size;
    _Alignas(16) char data[];
};

void *weft__run_alloc(struct weft__run *r, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    struct weft__chunk **pc = &r->arena;
    while (*pc != NULL && (*pc)->used + size > (*pc)->size)
        pc = &(*pc)->next;
    if (*pc == NULL) {
        size_t n = size > 4096 ? size : 4096;
        struct weft__chunk *c = weft__alloc(sizeof *c + n);
        if (c == NULL)
            return NULL;
        c->next = NULL;
        c->used = 0;
        c->size = n;
        *pc = c;
    }
    void *p = (*pc)->data + (*pc)->used;
    (*pc)->used += size;
    memset(p, 0, size);
    return p;
}

/* Chunks are kept for the next execution, emptied. */
static void arena_reset(struct weft__run *r)
{
    for (struct weft__chunk *c = r->arena; c != NULL; c = c->next)
        c->used = 0;
}

static void arena_free(struct weft__run *r)
{
    while (r->arena != NULL) {
        struct weft__chunk *c = r->arena;
        r->arena = c->next;
        weft__free(c);
    }
}

/* ------------------------------------------------------------ switching */

/* A task's stack and TLS block go back to their pools. */
static void task_release(struct weft__task *t)
{
    weft__stack_put(t->stack);
    t->stack = NULL;
    if (t->tls != NULL) {
        weft__tls_put(t->tls);
        t->tls = NULL;
    }
}

static inline void release_dead(struct weft__run *r)
{
    if (r->dead != NULL) {
        task_release(r->dead);
        r->dead = NULL;
    }
}

void weft__task_share_tls(struct weft__task *t, const struct weft__task *with)
{
    if (t->tls != NULL) {
        weft__tls_put(t->tls);
        t->tls = NULL;
    }
    t->ctx.tp = with->ctx.tp;
}

/* Suspend the running task and resume `to`. Returns when the caller's task
 * is resumed again. */
static void switch_to(struct weft__run *r, struct weft__task *to)
{
    struct weft__task *from = r->cur;
    if (from == to)
        return;
    r->cur = to;
    r->switches++;
#ifdef WEFT_ASAN
    __sanitizer_start_switch_fiber(from->dying ? NULL : &from->asan_fake,
                                   to->stack ? to->stack->lo : r->main_lo,
                                   to->stack ? to->stack->size : r->main_size);
#endif
    if (WEFT__UNLIKELY(r->tls))
        weft__tls_switch(&from->ctx, &to->ctx);
    else
        weft__ctx_switch(&from->ctx, &to->ctx);
#ifdef WEFT_ASAN
    __sanitizer_finish_switch_fiber(from->asan_fake, NULL, NULL);
#endif
    release_dead(r);
}

/* ------------------------------------------------------------ ready set */

static inline uint64_t id_hash(uint32_t id)
{
    return weft__mix(id + 0x9e3779b97f4a7c15ULL);
}

/* Add a task that cannot be in the set (a new one). */
static inline void ready_push(struct weft__run *r, struct weft__task *t)
{
    uint32_t i = r->nready++;
    r->ready[i] = t;
    r->ready_ids[i] = t->id;
    if (!r->lean)
        r->ready_hash ^= id_hash(t->id);
    t->ready_pos = i;
    t->state = WEFT__READY;
}

static void ready_add(struct weft__run *r, struct weft__task *t)
{
    /* A task in the set twice would be chosen twice and left behind once
     * it blocks: a false deadlock, or a blocked task run. */
    WEFT__ASSERT(t->state != WEFT__READY);
    ready_push(r, t);
}

void weft__ready(struct weft__run *r, struct weft__task *t)
{
    ready_add(r, t);
}

static void ready_remove(struct weft__run *r, struct weft__task *t);

void weft__unready(struct weft__run *r, struct weft__task *t)
{
    ready_remove(r, t);
    t->state = WEFT__BLOCKED;
}

static void ready_remove(struct weft__run *r, struct weft__task *t)
{
    uint32_t i = t->ready_pos, last = --r->nready;
    if (i != last) {
        struct weft__task *m = r->ready[last];
        r->ready[i] = m;
        r->ready_ids[i] = m->id;
        m->ready_pos = i;
    }
    if (!r->lean)
        r->ready_hash ^= id_hash(t->id);
}

/* ---------------------------------------------------------------- trace */

static inline void trace(struct weft__run *r, int op, int wait_op, uint32_t obj,
                         uint32_t task, const char *file, int line)
{
    if (!r->lean) {
        struct weft__event *e = &r->ring[r->nevents++ & (r->ring_cap - 1)];
        e->step = r->step;
        e->time = r->now;
        e->task = task;
        e->obj = obj;
        e->op = (uint16_t)op;
        e->wait_op = (uint16_t)wait_op;
        e->file = file;
        e->line = line;
    }
    /* FNV-style: one multiply per event; addresses never enter it. */
    uint64_t v = (uint64_t)op | (uint64_t)task << 8 | (uint64_t)obj << 28 |
                 (uint64_t)(uint32_t)line << 44;
    r->hash = (r->hash ^ v ^ (uint64_t)r->now) * 0x100000001b3ULL;
}

/* ------------------------------------------------------------- decisions */

static void log_full(struct weft__run *r, const struct weft__choice *c,
                     uint32_t chosen)
{
    if (WEFT__UNLIKELY(r->ndecisions == r->decisions_cap)) {
        if (weft__grow(&r->decisions, &r->decisions_cap, r->ndecisions + 1,
                       sizeof *r->decisions) != 0) {
            /* Without its log the execution cannot be replayed, shrunk
             * or checked: the exploration ends with -ENOMEM. */
            r->decisions_full = true;
            r->oom = true;
            weft__run_error(r,
                            "out of memory growing the decision log past "
                            "%u decisions",
                            r->ndecisions);
            return;
        }
    }
    struct weft__decision *d = &r->decisions[r->ndecisions++];
    d->step = c->step;
    d->set_hash = c->set_hash;
    d->n = c->n;
    d->chosen = chosen;
    d->cur = c->kind == WEFT__CHOOSE_TASK && c->current < c->n
                 ? c->ids[c->current]
                 : WEFT__NO_TASK;
    d->kind = (uint8_t)c->kind;
    d->op = (uint8_t)c->op;
}

/* A tracking run logs what the task that goes on touches. */
static void acc_log(struct weft__run *r, const struct weft__task *t,
                    const struct weft__access *a, uint32_t from)
{
    if (WEFT__UNLIKELY(r->acc.n == r->acc.cap) &&
        weft__grow(&r->acc.v, &r->acc.cap, r->acc.n + 1, sizeof *r->acc.v)) {
        r->oom = true;
        weft__run_error(r, "out of memory growing the access log past %u",
                        r->acc.n);
        return;
    }
    struct weft__accrec *e = &r->acc.v[r->acc.n++];
    e->task = t->id;
    e->from = from;
    e->a = *a;
}

static const struct weft__access acc_all = {
    { NULL, NULL }, { WEFT__ACC_ALL, 0 }, WEFT__WAIT_NONE, NULL
};

static inline void log_decision(struct weft__run *r,
                                const struct weft__choice *c, uint32_t chosen)
{
    if (r->lean) /* counted, not logged */
        r->ndecisions++;
    else
        log_full(r, c, chosen);
}

/* A task choice comes before its operation (step + 1); a value choice
 * belongs to the operation under way (step). */
static WEFT__NORETURN void diverged(struct weft__run *r, unsigned ahead)
{
    char why[400];
    r->strategy->explain(r->strategy_state, why, sizeof why);
    weft__finding(r, WEFT_FINDING_NONDETERMINISM, r->cur->file, r->cur->line,
                  "replay diverged at step %llu: %s",
                  (unsigned long long)r->step + ahead, why);
}

/* The one place where a strategy answers: which ready task runs next. */
static __attribute__((noinline)) uint32_t
decide_strategy(struct weft__run *r, int op, uint32_t current)
{
    struct weft__choice c = {
        .kind = WEFT__CHOOSE_TASK,
        .n = r->nready,
        .ids = r->ready_ids,
        .current = current,
        .step = r->step,
        .op = op,
        .set_hash = r->ready_hash,
    };
    if (WEFT__UNLIKELY(r->track)) {
        c.tasks = r->ready;
        c.log = &r->acc;
    }
    uint64_t i = r->strategy->choose(r->strategy_state, &c);
    if (WEFT__UNLIKELY(i >= c.n)) {
        if (i == WEFT__REDUNDANT) {
            r->redundant = true;
            weft__end(r);
        }
        diverged(r, 1);
    }
    log_decision(r, &c, r->ready_ids[i]);
    return (uint32_t)i;
}

/* A lean decision of a uniform strategy is drawn here, as its choose()
 * would draw it; any other goes to the strategy. */
static inline uint32_t decide_task(struct weft__run *r, int op,
                                   uint32_t current)
{
    if (r->rng != NULL) {
        r->ndecisions++;
        return (uint32_t)weft__rng_below(r->rng, r->nready);
    }
    return decide_strategy(r, op, current);
}

uint64_t weft__choose_value(struct weft__run *r, uint64_t n, int op)
{
    if (n <= 1)
        return 0;
    if (r->rng != NULL) {
        uint64_t v = weft__rng_below(r->rng, n > UINT32_MAX ? UINT32_MAX : n);
        r->ndecisions++;
        r->hash = (r->hash ^ (v + 0x51)) * 0x100000001b3ULL;
        return v;
    }
    struct weft__choice c = {
        .kind = WEFT__CHOOSE_VALUE,
        .n = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n,
        .ids = NULL,
        .current = 0,
        .step = r->step,
        .op = op,
        .set_hash = 0,
    };
    if (WEFT__UNLIKELY(r->track))
        c.log = &r->acc;
    uint64_t v = r->strategy->choose(r->strategy_state, &c);
    if (WEFT__UNLIKELY(v >= c.n))
        diverged(r, 0);
    log_decision(r, &c, (uint32_t)v);
    r->hash = (r->hash ^ (v + 0x51)) * 0x100000001b3ULL; /* values matter */
    return v;
}

/* --------------------------------------------------------------- timers */

static inline bool timer_before(const struct weft__timer *a,
                                const struct weft__timer *b)
{
    return a->deadline < b->deadline ||
           (a->deadline == b->deadline && a->seq < b->seq);
}

static int timer_push(struct weft__run *r, struct weft__task *t)
{
    if (weft__grow(&r->timers, &r->timers_cap, r->ntimers + 1,
                   sizeof *r->timers) != 0)
        return -ENOMEM;
    struct weft__timer e = { t->deadline, r->timer_seq++, t, t->wait_gen };
    uint32_t i = r->ntimers++;
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (!timer_before(&e, &r->timers[p]))
            break;
        r->timers[i] = r->timers[p];
        i = p;
    }
    r->timers[i] = e;
    return 0;
}

static void timer_pop(struct weft__run *r)
{
    struct weft__timer e = r->timers[--r->ntimers];
    uint32_t i = 0, n = r->ntimers;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && timer_before(&r->timers[c + 1], &r->timers[c]))
            c++;
        if (!timer_before(&r->timers[c], &e))
            break;
        r->timers[i] = r->timers[c];
        i = c;
    }
    if (n > 0)
        r->timers[i] = e;
}

static inline bool timer_stale(const struct weft__timer *e)
{
    return e->task->state != WEFT__BLOCKED || e->task->wait_gen != e->gen;
}

/* Nothing is ready: jump to the earliest live deadline and wake every task
 * due then (the strategy orders them, as they are all ready at once).
 * Returns false when no timer is pending. */
static __attribute__((noinline)) bool fire_timers(struct weft__run *r)
{
    while (r->ntimers > 0 && timer_stale(&r->timers[0]))
        timer_pop(r);
    if (r->ntimers == 0)
        return false;
    int64_t t = r->timers[0].deadline;
    if (t > r->now)
        r->now = t;
    /* Collect every task due now, then wake them in an order the
     * strategy picks: same-instant timers have no order of their own. */
    uint32_t n = 0;
    while (r->ntimers > 0 && r->timers[0].deadline <= t) {
        struct weft__timer e = r->timers[0];
        timer_pop(r);
        if (timer_stale(&e))
            continue;
        if (weft__grow(&r->due, &r->due_cap, n + 1, sizeof *r->due) != 0) {
            r->oom = true;
            weft__run_error(r, "out of memory firing %u timers", n + 1);
            weft__finding(r, WEFT_FINDING_NONE, e.task->file, e.task->line,
                          "out of memory firing timers");
        }
        r->due[n++] = e;
    }
    struct weft__timer *due = r->due;
    bool recheck = false;
    for (uint32_t i = 0; i < n; i++) {
        /* A wake-up that goes through a layer's hook can wake another
         * task due now (a coroutine queued on its loop wakes the loop's
         * idle thread): that task's entry is stale by then, and waking it
         * again would put it in the ready set twice. Drop such entries
         * before the next choice, keeping the others' order. */
        if (recheck) {
            uint32_t live = i;
            for (uint32_t j = i; j < n; j++)
                if (!timer_stale(&due[j]))
                    due[live++] = due[j];
            n = live;
            if (i == n)
                break;
        }
        uint32_t k =
            i + (uint32_t)weft__choose_value(r, n - i, WEFT__OP_TIMEOUT);
        struct weft__timer e = due[k];
        due[k] = due[i];
        due[i] = e;
        e.task->timed_out = true;
        trace(r, WEFT__OP_TIMEOUT, e.task->wait_op, 0, e.task->id, e.task->file,
              e.task->line);
        recheck = e.task->on_wake != NULL;
        weft__wake_task(r, e.task);
    }
    return true;
}

/* ---------------------------------------------------- wait queue indexes */

/*
 * A wait queue is a FIFO list threaded through its tasks. Waking the
 * waiter the strategy picks (WEFT__WAKE_ONE) takes the k-th of n in FIFO
 * order: walking the list for it costs O(n), and n releases of n waiters
 * were quadratic (30,000 tasks blocked on one semaphore took seconds). A
 * queue found longer than weft__waitidx_min at such a wake-up gets an index for
 * the rest of the execution: each arrival takes the next slot, a Fenwick
 * tree over the slots counts the waiters still there, and the k-th is
 * found in O(log n). The order is the list's, so the choice means the
 * same task with or without the index. Out of memory, a queue simply goes
 * on without one.
 */
/* Not static: a test sets it to 0 or UINT32_MAX to check that indexed
 * and walked queues choose alike. */
WEFT__HIDDEN uint32_t weft__waitidx_min = 32;

struct weft__waitidx {
    uint32_t cap;             /* slots, a power of two */
    uint32_t next;            /* the next arrival's slot */
    uint32_t live;            /* waiters in the queue */
    uint32_t *tree;           /* Fenwick tree over the slots, [1..cap] */
    struct weft__task **slot; /* slot -> waiter, NULL once it left */
};

static inline struct weft__waitidx *widx_of(struct weft__run *r,
                                            const weft__obj_t *obj)
{
    return obj->id < r->widx_cap ? r->widx[obj->id] : NULL;
}

static void widx_free(struct weft__waitidx *ix)
{
    weft__free(ix->tree);
    weft__free(ix->slot);
    weft__free(ix);
}

static void widx_drop(struct weft__run *r, const weft__obj_t *obj)
{
    widx_free(r->widx[obj->id]);
    r->widx[obj->id] = NULL;
}

/* Forget every index: a new execution, or the teardown. */
static void widx_reset(struct weft__run *r)
{
    for (uint32_t i = 0; i < r->nwidx; i++) {
        uint32_t id = r->widx_ids[i];
        if (r->widx[id] != NULL) {
            widx_free(r->widx[id]);
            r->widx[id] = NULL;
        }
    }
    r->nwidx = 0;
}

/* Lay the queue of obj out again in slots 0..live-1, with room for as
 * many arrivals again; -ENOMEM leaves ix as it was. */
static int widx_layout(struct weft__waitidx *ix, const weft__obj_t *obj)
{
    uint32_t live = 0;
    for (struct weft__task *w = obj->wait_head; w != NULL; w = w->wait_next)
        live++;
    uint32_t cap = 64;
    while (cap < 2 * live + 2)
        cap *= 2;
    uint32_t *tree = weft__zalloc((cap + 1) * sizeof *tree);
    struct weft__task **slot = weft__alloc(cap * sizeof *slot);
    if (tree == NULL || slot == NULL) {
        weft__free(tree);
        weft__free(slot);
        return -ENOMEM;
    }
    uint32_t i = 0;
    for (struct weft__task *w = obj->wait_head; w != NULL; w = w->wait_next) {
        slot[i] = w;
        w->wait_slot = i;
        tree[++i] = 1;
    }
    for (uint32_t j = 1; j <= cap; j++) { /* the linear Fenwick build */
        uint32_t up = j + (j & -j);
        if (up <= cap)
            tree[up] += tree[j];
    }
    weft__free(ix->tree);
    weft__free(ix->slot);
    ix->tree = tree;
    ix->slot = slot;
    ix->cap = cap;
    ix->next = live;
    ix->live = live;
    return 0;
}

/* An index for obj's queue, or NULL when out of memory. */
static struct weft__waitidx *widx_make(struct weft__run *r,
                                       const weft__obj_t *obj)
{
    uint32_t id = obj->id;
    if (id >= r->widx_cap) {
        uint32_t cap = r->widx_cap ? r->widx_cap : 64;
        while (cap <= id)
            cap *= 2;
        struct weft__waitidx **a = weft__realloc(r->widx, cap * sizeof *a);
        if (a == NULL)
            return NULL;
        memset(a + r->widx_cap, 0, (cap - r->widx_cap) * sizeof *a);
        r->widx = a;
        r->widx_cap = cap;
    }
    if (weft__grow(&r->widx_ids, &r->widx_ids_cap, r->nwidx + 1,
                   sizeof *r->widx_ids) != 0)
        return NULL;
    struct weft__waitidx *ix = weft__zalloc(sizeof *ix);
    if (ix == NULL)
        return NULL;
    if (widx_layout(ix, obj) != 0) {
        weft__free(ix);
        return NULL;
    }
    r->widx[id] = ix;
    r->widx_ids[r->nwidx++] = id;
    return ix;
}

static inline void widx_add(struct weft__waitidx *ix, uint32_t pos, int d)
{
    for (uint32_t j = pos + 1; j <= ix->cap; j += j & -j)
        ix->tree[j] += (uint32_t)d;
}

/* t has just joined the tail of obj's indexed queue. */
static void widx_arrive(struct weft__run *r, struct weft__waitidx *ix,
                        const weft__obj_t *obj, struct weft__task *t)
{
    if (ix->next == ix->cap) {
        /* out of slots: compact (t is in the list already) */
        if (widx_layout(ix, obj) != 0)
            widx_drop(r, obj);
        return;
    }
    ix->slot[ix->next] = t;
    t->wait_slot = ix->next;
    widx_add(ix, ix->next, 1);
    ix->next++;
    ix->live++;
}

static void widx_leave(struct weft__waitidx *ix, struct weft__task *t)
{
    widx_add(ix, t->wait_slot, -1);
    ix->slot[t->wait_slot] = NULL;
    ix->live--;
}

/* The k-th waiter (from 0) in FIFO order. */
static struct weft__task *widx_kth(const struct weft__waitidx *ix, uint32_t k)
{
    uint32_t pos = 0, rem = k + 1;
    for (uint32_t step = ix->cap; step > 0; step >>= 1)
        if (pos + step <= ix->cap && ix->tree[pos + step] < rem) {
            pos += step;
            rem -= ix->tree[pos];
        }
    return ix->slot[pos];
}

/* --------------------------------------------------------------- blocking */

/* No task can run and no timer is pending: the finding, explained by the
 * first layer that can (the report layer lists who waits for what). */
static void deadlock(struct weft__run *r)
{
    struct weft__finding *f = &r->finding;
    f->kind = WEFT_FINDING_DEADLOCK;
    f->task = r->cur->id;
    f->step = r->step;
    f->time = r->now;
    f->file = r->cur->file;
    f->line = r->cur->line;
    snprintf(f->message, sizeof f->message,
             "deadlock: %u task%s blocked, none can run and no timer is "
             "pending",
             r->live, r->live == 1 ? "" : "s");
    for (unsigned i = 0; i < r->nhooks; i++)
        if (r->hooks[i]->deadlock != NULL) {
            r->hooks[i]->deadlock(r);
            return;
        }
}

/* The current task can no longer run (blocked or done): pick the next one,
 * moving time forward if needed. Returns when the current task runs again
 * (never, if it is done). */
static void dispatch(struct weft__run *r, int op)
{
    for (;;) {
        if (r->nready > 0) {
            uint32_t i = r->nready == 1 ? 0 : decide_task(r, op, r->nready);
            switch_to(r, r->ready[i]);
            return;
        }
        if (r->live == 0) {
            switch_to(r, &r->sched);
            return;
        }
        if (!fire_timers(r)) {
            deadlock(r);
            r->failed = true;
            r->cur->dying = true;
            switch_to(r, &r->sched);
            abort(); /* the scheduler never resumes a failed execution */
        }
    }
}

/* Block the current task; cancellable waits consult its cancel scopes
 * and pending task cancellation. */
int weft__block_raw(struct weft__run *r, int op, weft__obj_t *obj,
                    int64_t deadline, bool cancellable, weft__task_hook *parked)
{
    struct weft__task *t = r->cur;
    bool by_scope = false;
    t->deadline_cancel = false;
    if (cancellable) {
        bool cancelled = false;
        int64_t sd = weft__scope_deadline(t, &cancelled);
        if (t->cancel_pending && !weft__shielded(t)) {
            t->cancel_pending = false;
            return -ECANCELED;
        }
        if (cancelled) {
            weft__scope_hit(t);
            return -ECANCELED;
        }
        if (sd != WEFT_FOREVER && (deadline == WEFT_FOREVER || sd < deadline)) {
            if (sd <= r->now) {
                weft__scope_expired(t, r->now);
                t->deadline_cancel = true;
                return -ECANCELED;
            }
            deadline = sd;
            by_scope = true;
        }
    }
    t->wait_op = op;
    t->wait_obj = obj;
    t->deadline = deadline;
    t->timed_out = false;
    t->signalled = false;
    t->cancellable = cancellable;
    t->wait_gen++;
    ready_remove(r, t);
    t->state = WEFT__BLOCKED;
    trace(r, WEFT__OP_BLOCK, op, obj ? obj->id : 0, t->id, t->file, t->line);
    if (WEFT__UNLIKELY(r->cov != NULL) && obj != NULL) {
        r->cov_ops->count(r->cov, WEFT__COV_BLOCKED, t->file, t->line);
        r->cov_ops->count(r->cov, WEFT__COV_CONTENDED, t->file, t->line);
    }
    if (obj != NULL) {
        t->wait_next = NULL;
        t->wait_prev = obj->wait_tail;
        if (obj->wait_tail)
            obj->wait_tail->wait_next = t;
        else
            obj->wait_head = t;
        obj->wait_tail = t;
        struct weft__waitidx *ix = widx_of(r, obj);
        if (WEFT__UNLIKELY(ix != NULL))
            widx_arrive(r, ix, obj, t);
    }
    if (deadline != WEFT_FOREVER && timer_push(r, t) != 0) {
        r->oom = true;
        weft__run_error(r, "out of memory arming timer %u", r->ntimers + 1);
        weft__finding(r, WEFT_FINDING_NONE, t->file, t->line,
                      "out of memory arming a timer");
    }
    if (parked != NULL)
        parked(r, t);
    if (WEFT__UNLIKELY(r->track)) {
        t->acc = acc_all; /* what it does once woken is unknown */
        t->acc_set = true;
    }
    dispatch(r, op);
    if (WEFT__UNLIKELY(r->track)) {
        acc_log(r, t, &acc_all, UINT32_MAX);
        t->acc_set = false;
    }
    t->cancellable = false;
    if (!cancellable)
        return 0;
    int rc = 0;
    bool scope_cancelled = false;
    weft__scope_deadline(t, &scope_cancelled);
    if (by_scope && t->timed_out) {
        weft__scope_expired(t, r->now);
        t->deadline_cancel = true;
        rc = -ECANCELED;
    } else if (scope_cancelled) {
        weft__scope_hit(t);
        rc = -ECANCELED;
    } else if (t->cancel_pending && !weft__shielded(t)) {
        t->cancel_pending = false;
        rc = -ECANCELED;
    }
    if (rc != 0) {
        t->timed_out = false;
        /* A wake-up meant for one waiter must not be lost with us. */
        if (t->signalled && obj != NULL)
            weft__wake(r, obj, WEFT__WAKE_ONE);
    }
    return rc;
}

void weft__wake_task(struct weft__run *r, struct weft__task *t)
{
    weft__obj_t *o = t->wait_obj;
    if (o != NULL) {
        struct weft__waitidx *ix = widx_of(r, o);
        if (WEFT__UNLIKELY(ix != NULL))
            widx_leave(ix, t);
        if (t->wait_prev)
            t->wait_prev->wait_next = t->wait_next;
        else
            o->wait_head = t->wait_next;
        if (t->wait_next)
            t->wait_next->wait_prev = t->wait_prev;
        else
            o->wait_tail = t->wait_prev;
        t->wait_obj = NULL;
    }
    if (WEFT__UNLIKELY(t->on_wake != NULL))
        t->on_wake(r, t);
    else
        ready_add(r, t);
}

static void wake_one(struct weft__run *r, weft__obj_t *obj,
                     struct weft__task *t)
{
    if (WEFT__UNLIKELY(r->cov != NULL) && r->cur != &r->sched) {
        r->cov_ops->count(r->cov, WEFT__COV_WOKE, r->cur->file, r->cur->line);
        r->cov_ops->count(r->cov, WEFT__COV_CONTENDED, r->cur->file,
                          r->cur->line);
    }
    t->signalled = true;
    trace(r, WEFT__OP_WAKEUP, t->wait_op, obj->id, t->id, r->cur->file,
          r->cur->line);
    weft__wake_task(r, t);
}

unsigned weft__wake(struct weft__run *r, weft__obj_t *obj, int mode)
{
    struct weft__task *t = obj->wait_head;
    if (t == NULL)
        return 0;
    if (mode == WEFT__WAKE_OLDEST) {
        wake_one(r, obj, t);
        return 1;
    }
    if (mode == WEFT__WAKE_ONE) {
        /* Which waiter gets the freed unit is the strategy's choice: no
         * order among waiters is promised, so every one is explored.
         * Waking one is enough: whoever takes the unit, the next release
         * wakes the next waiter. */
        struct weft__waitidx *ix = widx_of(r, obj);
        uint64_t n = 0;
        if (ix == NULL) {
            for (struct weft__task *w = t; w != NULL; w = w->wait_next)
                n++;
            if (n > weft__waitidx_min)
                ix = widx_make(r, obj);
        }
        if (ix != NULL) {
            uint64_t k = weft__choose_value(r, ix->live, WEFT__OP_WAKEUP);
            wake_one(r, obj, widx_kth(ix, (uint32_t)k));
            return 1;
        }
        for (uint64_t k = weft__choose_value(r, n, WEFT__OP_WAKEUP); k > 0; k--)
            t = t->wait_next;
        wake_one(r, obj, t);
        return 1;
    }
    unsigned n = 0;
    while (obj->wait_head != NULL) {
        wake_one(r, obj, obj->wait_head);
        n++;
    }
    return n;
}

/* ------------------------------------------------------- the decision point */

void weft__spin_wait(struct weft__run *r)
{
    struct weft__task *t = r->cur;
    if (++t->spin_run < WEFT__SPIN_PATIENCE || r->nready != 1 ||
        r->ntimers == 0)
        return;
    t->spin_run = 0;
    fire_timers(r);
}

/* SIGINT or SIGTERM: give up this execution here (it is not counted; the
 * explorer says where to resume). */
static WEFT__NORETURN void interrupted(struct weft__run *r)
{
    r->interrupted = true;
    r->cur->dying = true;
    switch_to(r, &r->sched);
    abort(); /* the scheduler never resumes an interrupted execution */
}

void weft__visible(struct weft__run *r, int op, weft__obj_t *obj,
                   const char *file, int line)
{
    struct weft__task *t = r->cur;
    t->file = file;
    t->line = line;
    if (WEFT__UNLIKELY(weft__interrupt != 0) && r->interruptible)
        interrupted(r);
    if (WEFT__UNLIKELY(r->step >= r->max_steps) &&
        !(weft__lone_task_unbounded && r->ntasks == 1))
        weft__finding(r, WEFT_FINDING_STEP_BOUND, file, line,
                      "step bound exceeded: %llu visible operations and the "
                      "execution has not ended (a livelock, or a loop that "
                      "never ends?); WEFT_MAX_STEPS raises the bound",
                      (unsigned long long)r->max_steps);
    if (WEFT__UNLIKELY(r->track) && !t->acc_set) {
        t->acc = acc_all;
        t->acc_set = true;
    }
    if (r->nready > 1 && t->atomic_depth == 0) {
        uint32_t i = decide_task(r, op, t->ready_pos);
        struct weft__task *next = r->ready[i];
        if (WEFT__UNLIKELY(r->cov != NULL) && next != t) {
            r->cov_ops->count(r->cov, WEFT__COV_PREEMPTED, file, line);
            r->cov_ops->pair(r->cov, file, line, next->file, next->line);
        }
        switch_to(r, next);
    }
    /* Traced now, when it takes effect, not when it was reached: the
     * trace then reads in the order things happened. */
    ++r->step;
    t->ops++;
    if (WEFT__UNLIKELY(r->track)) {
        acc_log(r, t, &t->acc, UINT32_MAX);
        t->acc_set = false;
    }
    trace(r, op, 0, obj ? obj->id : 0, t->id, file, line);
    if (WEFT__UNLIKELY(r->cov != NULL) && op != WEFT__OP_EXIT)
        r->cov_ops->count(r->cov, WEFT__COV_REACHED, file, line);
}

void weft__obj_init(struct weft__run *r, weft__obj_t *o, const char *file,
                    int line)
{
    o->file = file;
    o->line = line;
    o->epoch = 0;
    if (r != NULL)
        weft__obj_touch(r, o);
}

/* ------------------------------------------------------------- findings */

void weft__vfinding(struct weft__run *r, weft_finding_t kind, const char *file,
                    int line, const char *fmt, va_list ap)
{
    struct weft__finding *f = &r->finding;
    f->kind = kind;
    f->task = r->cur->id;
    f->step = r->step;
    f->time = r->now;
    f->file = file;
    f->line = line;
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    r->failed = true;
    r->cur->dying = true;
    switch_to(r, &r->sched);
    abort(); /* the scheduler never resumes a failed execution */
}

void weft__end(struct weft__run *r)
{
    r->ended = true;
    r->cur->dying = true;
    switch_to(r, &r->sched);
    abort(); /* the scheduler never resumes an ended execution */
}

void weft__abandon(struct weft__run *r)
{
    r->abandoned = true;
    weft__end(r);
}

void weft__finding(struct weft__run *r, weft_finding_t kind, const char *file,
                   int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    weft__vfinding(r, kind, file, line, fmt, ap);
}

void weft__assert_fail(const char *file, int line, const char *expr,
                       const char *fmt, ...)
{
    struct weft__run *r = weft__run_get(expr ? "weft_assert" : "weft_fail");
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (expr != NULL)
        weft__finding(r, WEFT_FINDING_ASSERTION, file, line,
                      "assertion failed: %s: %s", expr, msg);
    weft__finding(r, WEFT_FINDING_ASSERTION, file, line, "failure: %s", msg);
}

/* ---------------------------------------------------------------- tasks */

static void task_entry(void *p)
{
    struct weft__task *t = p;
    struct weft__run *r = t->run;
#ifdef WEFT_ASAN
    __sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
    release_dead(r);
    if (WEFT__UNLIKELY(r->track)) {
        acc_log(r, t, &t->acc, t->acc_from);
        t->acc_set = false;
    }
    void *ret = t->fn(t->arg);
    weft__task_exit(r, ret);
}

struct weft__task *weft__task_new(struct weft__run *r, const char *name,
                                  weft_thread_fn *fn, void *arg)
{
    if (WEFT__UNLIKELY(r->ntasks == UINT32_MAX - 1)) {
        weft__run_error(r, "cannot create task %u: task ids are 32 bits",
                        r->ntasks);
        return NULL;
    }
    /* Every task may be ready at once (a broadcast wakes them all), so
     * the ready set holds as many entries as there are tasks. */
    if (WEFT__UNLIKELY(r->ntasks >= r->tasks_cap || r->ntasks >= r->ready_cap ||
                       r->ntasks >= r->ready_ids_cap) &&
        (weft__grow(&r->tasks, &r->tasks_cap, r->ntasks + 1,
                    sizeof *r->tasks) != 0 ||
         weft__grow(&r->ready, &r->ready_cap, r->ntasks + 1,
                    sizeof *r->ready) != 0 ||
         weft__grow(&r->ready_ids, &r->ready_ids_cap, r->ntasks + 1,
                    sizeof *r->ready_ids) != 0)) {
        weft__run_error(r, "out of memory growing the task table to %u tasks",
                        r->ntasks + 1);
        return NULL;
    }
    struct weft__task *t;
    if (r->ntasks < r->tasks_alloc) {
        t = r->tasks[r->ntasks];
    } else {
        /* Zeroed, as it is kept from now on: if its stack cannot be
         * had below, the teardown frees it with no stack to release. */
        t = weft__zalloc(sizeof *t);
        if (t == NULL) {
            weft__run_error(r, "out of memory making the record of task %u",
                            r->ntasks);
            return NULL;
        }
        r->tasks[r->tasks_alloc++] = t;
    }
    int err;
    struct weft__stack *s = weft__stack_get_err(r->cfg->stack_size, &err);
    if (s == NULL) {
        if (r->error[0] == '\0') {
            char why[300];
            weft__stack_why(err, r->cfg->stack_size, why, sizeof why);
            weft__run_error(r, "task %u (%u alive): %s", r->ntasks, r->live,
                            why);
        }
        return NULL;
    }
    struct weft__tls *tls = NULL;
    if (r->tls) {
        /* the execution's first task runs the program's main: its TLS is
         * what the initial thread's was */
        tls = weft__tls_get(s->lo, s->size, r->ntasks == 0);
        if (tls == NULL) {
            weft__run_error(r,
                            "task %u: out of memory for its thread-local "
                            "storage",
                            r->ntasks);
            weft__stack_put(s);
            return NULL;
        }
    }
    memset(t, 0, offsetof(struct weft__task, name));
    t->run = r;
    t->tls = tls;
    t->id = r->ntasks++;
    t->stack = s;
    t->fn = fn;
    t->arg = arg;
    t->deadline = WEFT_FOREVER;
    t->file = r->cur ? r->cur->file : NULL;
    t->line = r->cur ? r->cur->line : 0;
    t->spawn_file = t->file;
    t->spawn_line = t->line;
    /* A plain copy: snprintf here costs more than the rest of a spawn.
     * An unnamed task is named in reports by its id alone. */
    size_t i = 0;
    if (name != NULL)
        for (; i + 1 < sizeof t->name && name[i] != '\0'; i++)
            t->name[i] = name[i];
    t->name[i] = '\0';
    struct weft__task *parent = r->cur;
    if (WEFT__UNLIKELY(parent != NULL && parent->hooked))
        for (unsigned k = 0; k < r->on.nspawned; k++)
            r->on.spawned[k](r, t, parent);
    weft__ctx_make(&t->ctx, s->lo, s->size, task_entry, t);
    if (tls != NULL)
        t->ctx.tp = weft__tls_tp(tls);
    t->acc_set = true; /* its start touches nothing (acc is zeroed) */
    t->acc_from = parent != NULL && parent != &r->sched && r->acc.n > 0
                      ? r->acc.n - 1
                      : UINT32_MAX;
    ready_push(r, t); /* new: BLOCKED (0) until now */
    r->live++;
    return t;
}

static WEFT__NORETURN void task_end(struct weft__run *r, void *ret, int err)
{
    struct weft__task *t = r->cur;
    /* Traced, but no choice: whether others run just before a task's
     * exit or just after it cannot be told apart (it only makes a joiner
     * ready), so a systematic search would repeat itself. */
    t->atomic_depth++;
    weft__access(r, t, WEFT__ACC_EXIT, NULL, 0, WEFT__WAIT_NONE, NULL);
    weft__visible(r, WEFT__OP_EXIT, NULL, t->file, t->line);
    t->atomic_depth--;
    t->ret = ret;
    t->fail_err = err;
    if (WEFT__UNLIKELY(t->hooked))
        for (unsigned i = 0; i < r->on.nending; i++)
            r->on.ending[i](r, t, ret, err);
    ready_remove(r, t);
    t->state = WEFT__DONE;
    r->live--;
    if (t->joiner != NULL && t->joiner->state == WEFT__BLOCKED &&
        t->joiner->wait_task == t) {
        trace(r, WEFT__OP_WAKEUP, WEFT__OP_JOIN, 0, t->joiner->id, t->file,
              t->line);
        weft__wake_task(r, t->joiner);
    }
    if (WEFT__UNLIKELY(t->hooked))
        for (unsigned i = 0; i < r->on.nended; i++)
            r->on.ended[i](r, t);
    t->dying = true;
    r->dead = t;
    dispatch(r, WEFT__OP_EXIT);
    abort(); /* a finished task is never resumed */
}

void weft__task_exit(struct weft__run *r, void *ret)
{
    task_end(r, ret, 0);
}

void weft_task_fail_at(int err, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_task_fail");
    r->cur->file = file;
    r->cur->line = line;
    task_end(r, NULL, err < 0 ? err : err > 0 ? -err : -ECANCELED);
}

/* ------------------------------------------------------------ executions */

static void *main_fn(void *arg)
{
    struct weft__run *r = arg;
    r->body(r->body_arg);
    return NULL;
}

/* The main thread's stack, for AddressSanitizer's fiber bookkeeping. */
static void main_stack(struct weft__run *r)
{
#ifdef WEFT_ASAN
    pthread_attr_t a;
    void *lo = NULL;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
        pthread_attr_getstack(&a, &lo, &size);
        pthread_attr_destroy(&a);
    }
    r->main_lo = lo;
    r->main_size = size;
#else
    (void)r;
#endif
}

int weft__run_setup(struct weft__run *r, const weft_config_t *cfg)
{
    memset(r, 0, sizeof *r);
    r->cfg = cfg;
    r->max_steps = cfg->max_steps;
    r->tls = weft__per_task_tls && weft__tls_active();
    uint32_t cap = 1;
    while (cap < cfg->trace_tail)
        cap *= 2;
    r->ring_cap = cap;
    r->ring = weft__alloc(cap * sizeof *r->ring);
    if (r->ring == NULL)
        return -ENOMEM;
    strcpy(r->sched.name, "scheduler");
    r->sched.id = UINT32_MAX;
    r->pid = getpid();
    main_stack(r);
    return 0;
}

void weft__run_teardown(struct weft__run *r)
{
    for (uint32_t i = 0; i < r->tasks_alloc; i++) {
        if (r->tasks[i]->stack != NULL)
            task_release(r->tasks[i]);
        weft__free(r->tasks[i]);
    }
    weft__free(r->tasks);
    weft__free(r->ready);
    weft__free(r->ready_ids);
    weft__free(r->timers);
    weft__free(r->ring);
    weft__free(r->decisions);
    weft__free(r->acc.v);
    weft__free(r->finding.detail.s);
    weft__free(r->due);
    widx_reset(r);
    weft__free(r->widx);
    weft__free(r->widx_ids);
    for (unsigned i = 0; i < r->nhooks; i++)
        if (r->hooks[i]->teardown != NULL)
            r->hooks[i]->teardown(r);
    arena_free(r);
    memset(r, 0, sizeof *r);
}

int weft__run_one(struct weft__run *r, weft_body_fn *body, void *arg)
{
    /* Reset what belongs to one execution; keep the arrays' capacity. */
    for (uint32_t i = 0; i < r->ntasks; i++)
        if (r->tasks[i]->stack != NULL)
            task_release(r->tasks[i]);
    widx_reset(r); /* object ids start again */
    r->epoch = ++epoch_counter;
    r->step = 0;
    r->now = 0;
    r->spurious_left = r->cfg->spurious;
    r->ntasks = 0;
    r->live = 0;
    r->nready = 0;
    r->ready_hash = 0;
    r->ntimers = 0;
    r->timer_seq = 0;
    r->next_obj_id = 0;
    r->hash = 0xcbf29ce484222325ULL;
    r->nevents = 0;
    r->ndecisions = 0;
    r->decisions_full = false;
    r->track = r->strategy->tracks;
    r->acc.n = 0;
    r->failed = false;
    r->oom = false;
    r->ended = r->abandoned = r->redundant = false;
    r->interrupted = false;
    r->dead = NULL;
    r->finding.kind = WEFT_FINDING_NONE;
    r->finding.message[0] = '\0';
    arena_reset(r);
    r->x = NULL; /* the layers' state lived in the arena */
    r->finding.detail.len = 0;
    if (r->finding.detail.s)
        r->finding.detail.s[0] = '\0';
    r->strategy->begin(r->strategy_state, r->seed);
    r->rng =
        r->lean && r->strategy->uniform ? (uint64_t *)r->strategy_state : NULL;

    r->cur = &r->sched;
    r->body = body;
    r->body_arg = arg;
    struct weft__task *m = weft__task_new(r, "main", main_fn, r);
    if (m == NULL)
        return -ENOMEM;
    m->file = m->spawn_file = "(body)";
    weft__current = r;
    /* No signal mask saved: that would be a system call per execution.
     * The handler runs with SA_NODEFER, so nothing is left blocked. */
    int how = sigsetjmp(r->escape, 0);
    if (how == 0) {
        switch_to(r, m);
    } else {
        /* A crash (1) or a hang (2) in a task: the signal handler filled
         * r->finding and jumped here, off the task's stack; with the
         * task's TLS too. */
#ifdef WEFT_ASAN
        __sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
        if (r->tls)
            weft__tls_set_tp(r->sched.ctx.tp);
        r->cur = &r->sched;
        if (how == 2)
            weft__hang_describe(r);
        else
            weft__crash_describe(r);
    }
    weft__current = NULL;
    release_dead(r);
    if (r->interrupted)
        return -EINTR;
    if (r->oom)
        return -ENOMEM;
    /* An execution the program ended (exit, main returning) dropped its
     * other tasks where they were: nothing is left to check. */
    for (unsigned i = 0; i < r->on.ncheck && !r->failed && !r->ended; i++)
        if (r->on.check[i](r))
            r->failed = true;
    if (WEFT__UNLIKELY(r->track) && r->strategy->redundant != NULL &&
        r->strategy->redundant(r->strategy_state)) {
        r->redundant = true;
        return 0;
    }
    if (!r->failed && !r->decisions_full) {
        char why[400];
        if (!r->strategy->finished(r->strategy_state, why, sizeof why)) {
            r->failed = true;
            r->finding.kind = WEFT_FINDING_NONDETERMINISM;
            r->finding.task = 0;
            r->finding.step = r->step;
            r->finding.time = r->now;
            r->finding.file = NULL;
            r->finding.line = 0;
            snprintf(r->finding.message, sizeof r->finding.message,
                     "replay diverged: %s", why);
        }
    }
    return 0;
}

/* ---------------------------------------------------- small public calls */

bool weft_running(void)
{
    struct weft__run *r = weft__current;
    return r != NULL && r->cur != &r->sched;
}

int64_t weft_now(void)
{
    return weft__run_get("weft_now")->now;
}

uint64_t weft_choose_at(uint64_t n, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_choose");
    if (n == 0)
        weft__misuse("weft_choose", "n must be at least 1");
    weft__access(r, NULL, WEFT__ACC_NONE, NULL, 0, WEFT__WAIT_NONE, NULL);
    weft__visible(r, WEFT__OP_CHOOSE, NULL, file, line);
    return weft__choose_value(r, n, WEFT__OP_CHOOSE);
}

void weft_atomic_begin(void)
{
    weft__run_get("weft_atomic_begin")->cur->atomic_depth++;
}

void weft_atomic_end(void)
{
    struct weft__run *r = weft__run_get("weft_atomic_end");
    if (r->cur->atomic_depth == 0)
        weft__misuse("weft_atomic_end", "no atomic block is open");
    r->cur->atomic_depth--;
}

int weft_sleep_until_at(int64_t deadline, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_sleep_until");
    weft__access(r, NULL, WEFT__ACC_NONE, NULL, 0, WEFT__WAIT_NONE, NULL);
    weft__visible(r, WEFT__OP_SLEEP, NULL, file, line);
    if (deadline == WEFT_FOREVER || deadline > r->now)
        return weft__block(r, WEFT__OP_SLEEP, NULL, deadline);
    return 0;
}
