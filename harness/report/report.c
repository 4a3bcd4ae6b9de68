/*
 * report.c: turning a failed execution into text a person can act on.
 *
 * A report names the finding, where it happened (task, step, virtual time,
 * source line), how to replay it, and the last events of the trace. For a
 * deadlock it lists every blocked task, what it waits for and who holds
 * that, and the wait-for cycle when there is one. Objects are named by
 * kind and creation order (M2 is the second object the execution touched)
 * plus the line that initialised them: never by address.
 */
#include "report/report.h"

#include <stddef.h>
#include <string.h>

#define CONTAINER(p, T, f) ((T *)(void *)((char *)(p)-offsetof(T, f)))

static const char *const finding_names[WEFT_FINDING__COUNT] = {
    [WEFT_FINDING_NONE] = "none",
    [WEFT_FINDING_ASSERTION] = "assertion",
    [WEFT_FINDING_DEADLOCK] = "deadlock",
    [WEFT_FINDING_LOCK_MISUSE] = "lock misuse",
    [WEFT_FINDING_CRASH] = "crash",
    [WEFT_FINDING_STACK_OVERFLOW] = "stack overflow",
    [WEFT_FINDING_STEP_BOUND] = "step bound exceeded",
    [WEFT_FINDING_NONDETERMINISM] = "nondeterminism",
    [WEFT_FINDING_BLOCKING_IN_LOOP] = "blocking call inside a loop",
    [WEFT_FINDING_UNOBSERVED] = "unobserved task failure",
    [WEFT_FINDING_TASK_LEAK] = "task group left with live children",
    [WEFT_FINDING_LOCK_ORDER] = "lock-order inversion",
    [WEFT_FINDING_DATA_RACE] = "data race",
    [WEFT_FINDING_EXIT] = "exit",
    [WEFT_FINDING_HANG] = "hang",
};

const char *weft_finding_name(weft_finding_t kind)
{
    if ((unsigned)kind >= WEFT_FINDING__COUNT)
        return "unknown";
    return finding_names[kind];
}

/* Virtual time as seconds with nanosecond digits: 3600.000000100s. */
static const char *vtime(int64_t t)
{
    static WEFT__TLS char buf[2][32];
    static WEFT__TLS unsigned k;
    char *b = buf[k++ % 2];
    snprintf(b, sizeof buf[0], "%lld.%09llds", (long long)(t / WEFT_SEC),
             (long long)(t % WEFT_SEC));
    return b;
}

struct weft__task *weft__describe_wait(struct weft__run *r,
                                       struct weft__task *t,
                                       struct weft__buf *b)
{
    weft__obj_t *o = t->wait_obj;
    struct weft__taskx *x = weft__tx(t);
    if (x != NULL && x->pool_of != NULL && x->job_file != NULL)
        weft__buf_printf(b, "runs the to_thread job submitted at %s; ",
                         weft__site(x->job_file, x->job_line));
    switch (t->wait_op) {
    case WEFT__OP_LOCK: {
        weft_mutex_t *m = CONTAINER(o, weft_mutex_t, o);
        weft__buf_printf(b, "waits for mutex M%u (%s)", m->o.id,
                         weft__site(m->o.file, m->o.line));
        if (m->owner != NULL)
            weft__buf_printf(b, ", held by %s since %s",
                             weft__task_name(m->owner),
                             weft__site(m->lock_file, m->lock_line));
        return m->owner;
    }
    case WEFT__OP_COND_WAIT:
        weft__buf_printf(b,
                         "waits on condition variable C%u (%s); nobody is "
                         "left to signal it",
                         o->id, weft__site(o->file, o->line));
        return NULL;
    case WEFT__OP_RDLOCK:
    case WEFT__OP_WRLOCK: {
        weft_rwlock_t *rw = CONTAINER(o, weft_rwlock_t, o);
        weft__buf_printf(b, "waits to %s-lock rwlock R%u (%s)",
                         t->wait_op == WEFT__OP_RDLOCK ? "read" : "write",
                         o->id, weft__site(o->file, o->line));
        if (rw->writer != NULL)
            weft__buf_printf(b, ", write-locked by %s",
                             weft__task_name(rw->writer));
        else
            weft__buf_printf(b, ", read-locked %u times", rw->readers);
        return rw->writer;
    }
    case WEFT__OP_SEM_WAIT: {
        weft_sem_t *s = CONTAINER(o, weft_sem_t, o);
        weft__buf_printf(b, "waits on semaphore S%u (%s), value %u", o->id,
                         weft__site(o->file, o->line), s->value);
        return NULL;
    }
    case WEFT__OP_BARRIER: {
        weft_barrier_t *br = CONTAINER(o, weft_barrier_t, o);
        weft__buf_printf(b, "waits at barrier B%u (%s): %u of %u arrived",
                         o->id, weft__site(o->file, o->line), br->arrived,
                         br->count);
        return NULL;
    }
    case WEFT__OP_ONCE:
        weft__buf_printf(b, "waits for once O%u (%s) to finish", o->id,
                         weft__site(o->file, o->line));
        return NULL;
    case WEFT__OP_JOIN:
        weft__buf_printf(b, "waits to join %s", weft__task_name(t->wait_task));
        return t->wait_task;
    case WEFT__OP_SLEEP:
        if (t->deadline == WEFT_FOREVER)
            weft__buf_printf(b, "sleeps forever");
        else
            weft__buf_printf(b, "sleeps until %s", vtime(t->deadline));
        return NULL;
    case WEFT__OP_AWAIT:
    case WEFT__OP_FUTURE_WAIT: {
        bool blocking = t->wait_op == WEFT__OP_FUTURE_WAIT && weft__co_loop(t);
        weft__buf_printf(b, "%s %s%u (%s)",
                         weft__co_loop(t) && !blocking ? "awaits" : "waits for",
                         o ? "future F" : "a deadline", o ? o->id : 0,
                         o ? weft__site(o->file, o->line) : "-");
        struct weft__task *by = NULL;
        if (o != NULL) {
            weft_future_t *f = CONTAINER(o, weft_future_t, o);
            struct weft__loop *pool = weft__job_queued_on(r, f);
            if (f->task != NULL && f->task->state != WEFT__DONE) {
                by = f->task;
                weft__buf_printf(b, ", the outcome of %s", weft__task_name(by));
            } else if (pool != NULL) {
                struct weft__pool_view v;
                weft__pool_view(r, pool, &v);
                weft__buf_printf(b,
                                 ", the outcome of a to_thread job still "
                                 "queued on loop L%u's pool: %u of %u "
                                 "worker%s busy",
                                 weft__loop_id(pool), v.workers - v.idle, v.max,
                                 v.max == 1 ? "" : "s");
            }
        }
        if (blocking)
            weft__buf_printf(b,
                             "\n      a blocking call inside coroutine %s: "
                             "loop L%u's thread is blocked with it, so "
                             "nothing queued on L%u can run",
                             weft__task_name(t),
                             weft__loop_id(weft__co_loop(t)),
                             weft__loop_id(weft__co_loop(t)));
        return by;
    }
    case WEFT__OP_QUEUED: {
        uint32_t q;
        struct weft__task *holder = weft__loop_running(weft__co_loop(t), &q);
        weft__buf_printf(b, "is ready, queued on loop L%u",
                         weft__loop_id(weft__co_loop(t)));
        if (holder != NULL)
            weft__buf_printf(b, ", whose thread %s holds, blocked",
                             weft__task_name(holder));
        return holder;
    }
    case WEFT__OP_LOOP: {
        uint32_t q;
        struct weft__task *holder = weft__loop_running(weft__runs_loop(t), &q);
        weft__buf_printf(b,
                         "runs loop L%u, its thread lent to %s (%u "
                         "coroutine%s queued behind it)",
                         weft__loop_id(weft__runs_loop(t)),
                         weft__task_name(holder), q, q == 1 ? "" : "s");
        return holder;
    }
    case WEFT__OP_LOOP_IDLE:
        weft__buf_printf(b,
                         "runs loop L%u, which waits for work (nothing "
                         "queued, no callback due)",
                         weft__loop_id(weft__runs_loop(t)));
        return NULL;
    default:
        weft__buf_printf(b, "waits in %s", weft__op_name(t->wait_op));
        return NULL;
    }
}

/* Jobs queued on a to_thread pool whose every worker is busy are the
 * explanation of many loop deadlocks (jobs waiting on each other): no
 * blocked task shows them, so they get their own lines. */
static void pools(struct weft__run *r, struct weft__buf *b)
{
    for (struct weft__loop *L = weft__loop_next(r, NULL); L != NULL;
         L = weft__loop_next(r, L)) {
        struct weft__pool_view v;
        weft__pool_view(r, L, &v);
        if (v.queued == 0)
            continue;
        weft__buf_printf(b,
                         "  to_thread pool of loop L%u: %u worker%s of at "
                         "most %u (WEFT_LOOP_WORKERS), %u busy; %u job%s "
                         "queued, never started:\n",
                         weft__loop_id(L), v.workers, v.workers == 1 ? "" : "s",
                         v.max, v.workers - v.idle, v.queued,
                         v.queued == 1 ? "" : "s");
        weft_future_t *f;
        const char *file;
        int line;
        uint32_t by;
        for (uint32_t k = 0; weft__pool_queued(L, k, &f, &file, &line, &by);
             k++)
            weft__buf_printf(
                b, "    job F%u submitted at %s by %s\n", f->o.id,
                weft__site(file, line),
                weft__task_name(by < r->ntasks ? r->tasks[by] : NULL));
    }
}

static void deadlock(struct weft__run *r)
{
    struct weft__finding *f = &r->finding;
    struct weft__buf *b = &f->detail;
    struct weft__task *cycle_from = NULL;
    unsigned blocked = 0;

    weft__buf_printf(b, "  blocked tasks:\n");
    for (uint32_t i = 0; i < r->ntasks; i++) {
        struct weft__task *t = r->tasks[i];
        if (t->state != WEFT__BLOCKED)
            continue;
        blocked++;
        weft__buf_printf(b, "    %s%s at %s\n      ",
                         weft__co_loop(t) ? "coroutine " : "",
                         weft__task_name(t), weft__site(t->file, t->line));
        weft__describe_wait(r, t, b);
        weft__buf_printf(b, "\n");
    }
    /* Each blocked task waits on at most one other: follow the chain from
     * every task and stop at the first one seen twice. Bounded by ntasks
     * steps per start, so no marks are needed. */
    for (uint32_t i = 0; i < r->ntasks && cycle_from == NULL; i++) {
        struct weft__task *t = r->tasks[i];
        struct weft__buf scratch = { 0 };
        for (uint32_t k = 0; k <= r->ntasks && t != NULL; k++) {
            if (t->state != WEFT__BLOCKED)
                break;
            scratch.len = 0;
            t = weft__describe_wait(r, t, &scratch);
            if (t == r->tasks[i] || (k == r->ntasks && t != NULL)) {
                cycle_from = t;
                break;
            }
        }
        weft__free(scratch.s);
    }
    if (cycle_from != NULL) {
        /* Walk once around, from its lowest-numbered task. */
        struct weft__task *lo = cycle_from, *t = cycle_from;
        struct weft__buf scratch = { 0 };
        do {
            if (t->id < lo->id)
                lo = t;
            scratch.len = 0;
            t = weft__describe_wait(r, t, &scratch);
        } while (t != cycle_from);
        weft__buf_printf(b, "  wait-for cycle: ");
        t = lo;
        do {
            weft__buf_printf(b, "%s -> ", weft__task_name(t));
            if (t->wait_op == WEFT__OP_JOIN)
                weft__buf_printf(b, "(join) -> ");
            else if (t->wait_obj != NULL)
                weft__buf_printf(b, "%c%u -> ", weft__op_letter(t->wait_op),
                                 t->wait_obj->id);
            scratch.len = 0;
            t = weft__describe_wait(r, t, &scratch);
        } while (t != lo);
        weft__buf_printf(b, "%s\n", weft__task_name(lo));
        weft__free(scratch.s);
    }
    pools(r, b);
    for (uint32_t i = 0; i < r->ntasks; i++) {
        struct weft__task *t = r->tasks[i];
        struct weft__taskx *x = weft__tx(t);
        if (x != NULL && x->warned && t->state == WEFT__BLOCKED &&
            x->loop != NULL)
            weft__buf_printf(b,
                             "  cause:     coroutine %s made a blocking call "
                             "inside loop L%u at %s (WEFT_BLOCKING=warn); "
                             "await instead\n",
                             weft__task_name(t), weft__loop_id(x->loop),
                             weft__site(x->block_file, x->block_line));
    }
    f->kind = WEFT_FINDING_DEADLOCK;
    f->task = r->cur->id;
    f->step = r->step;
    f->time = r->now;
    f->file = r->cur->file;
    f->line = r->cur->line;
    snprintf(f->message, sizeof f->message,
             "deadlock: %u task%s blocked, none can run and no timer is "
             "pending%s",
             blocked, blocked == 1 ? "" : "s",
             cycle_from ? " (wait-for cycle below)" : "");
}

const struct weft__hooks weft__report_hooks = {
    .deadlock = deadlock,
};

static void trace_tail(struct weft__run *r, struct weft__buf *out)
{
    uint64_t n = r->cfg->trace_tail;
    if (n > r->ring_cap)
        n = r->ring_cap;
    if (n > r->nevents)
        n = r->nevents;
    if (n == 0)
        return;
    weft__buf_printf(out, "  last %llu events:\n", (unsigned long long)n);
    weft__buf_printf(out, "    %6s %20s  %-20s %-18s %s\n", "step",
                     "virtual time", "task", "operation", "where");
    for (uint64_t i = r->nevents - n; i < r->nevents; i++) {
        struct weft__event *e = &r->ring[i & (r->ring_cap - 1)];
        struct weft__task *t = e->task < r->ntasks ? r->tasks[e->task] : NULL;
        char tn[48], op[48];
        snprintf(tn, sizeof tn, "%u %s", e->task, t ? t->name : "?");
        if (e->obj)
            snprintf(op, sizeof op, "%s %c%u", weft__op_name(e->op),
                     weft__op_letter(e->wait_op ? e->wait_op : e->op), e->obj);
        else
            snprintf(op, sizeof op, "%s", weft__op_name(e->op));
        weft__buf_printf(out, "    %6llu %20s  %-20s %-18s %s\n",
                         (unsigned long long)e->step, vtime(e->time), tn, op,
                         weft__site(e->file, e->line));
    }
}

void weft__report(struct weft__run *r, uint64_t execution,
                  struct weft__buf *out)
{
    struct weft__finding *f = &r->finding;
    const weft_config_t *cfg = r->cfg;
    struct weft__task *t = f->task < r->ntasks ? r->tasks[f->task] : NULL;

    weft__buf_printf(out, "weft: FAILED: %s\n", f->message);
    weft__buf_printf(out, "  kind:      %s\n", weft_finding_name(f->kind));
    if (cfg->name)
        weft__buf_printf(out, "  test:      %s\n", cfg->name);
    if (t != NULL)
        weft__buf_printf(out, "  task:      %s at %s\n", weft__task_name(t),
                         weft__site(f->file, f->line));
    weft__buf_printf(out,
                     "  execution: %llu, seed %llu, strategy %s, step %llu, "
                     "virtual time %s\n",
                     (unsigned long long)execution, (unsigned long long)r->seed,
                     r->strategy->name, (unsigned long long)f->step,
                     vtime(f->time));
    if (f->detail.len > 0)
        weft__buf_printf(out, "%s", f->detail.s);
    trace_tail(r, out);
    weft__buf_printf(out, "  trace hash: %016llx\n",
                     (unsigned long long)weft__mix(r->hash));
}
