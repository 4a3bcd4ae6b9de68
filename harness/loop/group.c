/*
 * group.c: task groups (structured concurrency).
 *
 * A group's children are coroutines when spawned from a coroutine and
 * threads otherwise; each has a future, and a done-callback run in the
 * ending child does the bookkeeping: count it, record how it ended (every
 * child, uncapped, in the order they end), and on the first failure
 * cancel every sibling. A group stays open until its waiter returns, so
 * children may start siblings while the parent waits (trio's nursery);
 * once cancelled it stays so, and later children start cancelled.
 * Waiting for a group cannot be abandoned half-way: a cancelled waiter
 * cancels the children and still waits for them all. A group spawned
 * into and never waited for is a finding when the execution ends.
 */
#include "loop/loop.h"

#include <errno.h>
#include <string.h>

struct weft__gchild {
    struct weft__gchild *next;
    weft_group_t *g;
    weft_future_t *f;
    weft_outcome_t out; /* filled as it ends */
    char name[32];
};

/* What the end-of-execution leak check needs, kept in the arena. */
struct weft__grec {
    uint32_t id, owner;
    unsigned spawned;
    bool waited;
    const char *file;
    int line;
};

static bool group_touch(struct weft__run *r, weft_group_t *g)
{
    if (!weft__obj_touch(r, &g->o))
        return true;
    g->owner = NULL;
    g->live = g->spawned = 0;
    g->first_error = 0;
    g->nerrors = 0;
    g->children = NULL;
    g->ended = g->failed = NULL;
    g->nended = g->ended_cap = g->nfailed = g->failed_cap = 0;
    g->waited = g->closed = g->cancelled = false;
    g->rec = weft__run_alloc(r, sizeof *g->rec);
    struct weft__runx *rx = weft__rx_make(r);
    if (g->rec == NULL || rx == NULL ||
        weft__rx_push(r, &rx->groups, &rx->ngroups, &rx->groups_cap, g->rec) !=
            0)
        return false;
    g->rec->id = g->o.id;
    g->rec->file = g->o.file;
    g->rec->line = g->o.line;
    return true;
}

int weft_group_init_at(weft_group_t *g, const char *file, int line)
{
    if (g == NULL)
        return -EINVAL;
    memset(g, 0, sizeof *g);
    weft__obj_init(NULL, &g->o, file, line);
    return 0;
}

/* Cancel the live children; later ones start cancelled (trio: the
 * nursery's scope stays cancelled). */
static void cancel_children(struct weft__run *r, weft_group_t *g)
{
    g->cancelled = true;
    for (struct weft__gchild *c = g->children; c != NULL; c = c->next)
        if (c->f->task != NULL && c->f->state == 0)
            weft__cancel_task(r, c->f->task);
}

/* Runs in the ending child, from its future's completion: record how it
 * ended (where: its weft_task_fail, else its last visible operation). */
static void child_done(weft_future_t *f, void *arg)
{
    struct weft__run *r = weft__current;
    struct weft__gchild *c = arg;
    weft_group_t *g = c->g;
    struct weft__task *t = f->task;
    bool failed = f->state == 2;
    g->live--;
    c->out.name = c->name;
    c->out.task = t != NULL ? t->id : 0;
    c->out.err = f->state == 1 ? 0 : f->state == 3 ? -ECANCELED : f->err;
    c->out.value = f->state == 1 ? f->value : NULL;
    c->out.file = t != NULL ? t->file : NULL;
    c->out.line = t != NULL ? t->line : 0;
    if (weft__rx_push(r, &g->ended, &g->nended, &g->ended_cap, c) != 0 ||
        (failed &&
         weft__rx_push(r, &g->failed, &g->nfailed, &g->failed_cap, c) != 0))
        r->oom = true;
    if (failed) {
        g->nerrors++;
        if (g->first_error == 0) {
            g->first_error = f->err;
            cancel_children(r, g);
        }
    }
    weft__wake(r, &g->o, WEFT__WAKE_ALL);
}

int weft_group_spawn_at(weft_group_t *g, const char *name, weft_thread_fn *fn,
                        void *arg, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_group_spawn");
    struct weft__task *self = r->cur;
    if (!group_touch(r, g))
        return -ENOMEM;
    /* Open until its waiter has returned: a child may start siblings
     * while the parent waits (trio's nursery, asyncio's TaskGroup). */
    if (fn == NULL || g->closed)
        return -EINVAL;
    weft__visible(r, WEFT__OP_GROUP, &g->o, file, line);
    struct weft__gchild *c = weft__run_alloc(r, sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    weft_future_t *f = NULL;
    if (weft__co_loop(self) != NULL) {
        f = weft_spawn_on_at(NULL, name, fn, arg, file, line);
        if (f == NULL)
            return -ENOMEM;
    } else {
        struct weft__task *t = weft__task_new(r, name, fn, arg);
        if (t == NULL || weft__task_future(r, t, &f) != 0)
            return -ENOMEM;
        t->detached = true; /* the group, not a join, collects it */
    }
    if (g->owner == NULL) {
        g->owner = self;
        g->rec->owner = self->id;
    }
    g->rec->spawned++;
    f->observed = true; /* the group takes every child's outcome */
    c->g = g;
    c->f = f;
    memcpy(c->name, f->task->name, sizeof c->name);
    c->next = g->children;
    g->children = c;
    g->live++;
    g->spawned++;
    if (g->cancelled)
        weft__cancel_task(r, f->task);
    /* The bookkeeping runs as the child ends, not later on a loop. */
    return weft__future_on_done_inline(r, f, child_done, c);
}

int weft_group_wait_at(weft_group_t *g, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_group_wait");
    if (!group_touch(r, g))
        return -ENOMEM;
    weft__visible(r, WEFT__OP_GROUP, &g->o, file, line);
    g->waited = g->rec->waited = true;
    bool cancelled = false;
    /* Children may start more children meanwhile: wait until none is
     * left, then close the group. */
    while (g->live > 0) {
        int rc = cancelled ? weft__wait_uncancellable(r, WEFT__OP_GROUP, &g->o,
                                                      WEFT_FOREVER)
                           : weft__wait(r, WEFT__OP_GROUP, &g->o, WEFT_FOREVER);
        if (rc == -ECANCELED) {
            cancelled = true;
            cancel_children(r, g);
        }
    }
    g->closed = true;
    return cancelled ? -ECANCELED : g->first_error;
}

static int outcome_at(struct weft__gchild *const *a, uint32_t n, size_t i,
                      weft_outcome_t *out)
{
    if (out == NULL)
        return -EINVAL;
    if (a == NULL || i >= n)
        return -ENOENT;
    *out = a[i]->out;
    return 0;
}

int weft_group_outcome(const weft_group_t *g, size_t i, weft_outcome_t *out)
{
    struct weft__run *r = weft__run_get("weft_group_outcome");
    if (g == NULL || g->o.epoch != r->epoch)
        return g == NULL ? -EINVAL : -ENOENT;
    return outcome_at(g->ended, g->nended, i, out);
}

int weft_group_error(const weft_group_t *g, size_t i, weft_outcome_t *out)
{
    struct weft__run *r = weft__run_get("weft_group_error");
    if (g == NULL || g->o.epoch != r->epoch)
        return g == NULL ? -EINVAL : -ENOENT;
    return outcome_at(g->failed, g->nfailed, i, out);
}

int weft_group_cancel_at(weft_group_t *g, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_group_cancel");
    if (!group_touch(r, g))
        return -ENOMEM;
    weft__visible(r, WEFT__OP_CANCEL, &g->o, file, line);
    cancel_children(r, g);
    return 0;
}

int weft_group_destroy_at(weft_group_t *g, const char *file, int line)
{
    struct weft__run *r = weft__current;
    if (r == NULL || r->cur == &r->sched)
        return 0;
    if (!group_touch(r, g))
        return -ENOMEM;
    if (g->live > 0)
        weft__finding(r, WEFT_FINDING_TASK_LEAK, file, line,
                      "task group G%u is left with %u live child%s "
                      "(structured concurrency: wait for the group first)",
                      g->o.id, g->live, g->live == 1 ? "" : "ren");
    /* reported here, not at the end; and no child may follow */
    g->waited = g->rec->waited = g->closed = true;
    return 0;
}

bool weft__group_leaks(struct weft__run *r)
{
    for (uint32_t i = 0; r->x != NULL && i < r->x->ngroups; i++) {
        struct weft__grec *g = r->x->groups[i];
        if (g->spawned == 0 || g->waited)
            continue;
        struct weft__finding *f = &r->finding;
        f->kind = WEFT_FINDING_TASK_LEAK;
        f->task = g->owner;
        f->step = r->step;
        f->time = r->now;
        f->file = g->file;
        f->line = g->line;
        snprintf(f->message, sizeof f->message,
                 "task group G%u (%s:%d) got %u child%s and was never "
                 "waited for (structured concurrency: wait for the group)",
                 g->id, g->file ? g->file : "?", g->line, g->spawned,
                 g->spawned == 1 ? "" : "ren");
        return true;
    }
    return false;
}
