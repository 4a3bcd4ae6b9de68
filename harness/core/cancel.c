/*
 * cancel.c: cancellation of waits: cancel scopes (trio's move-on-after and
 * fail-after, with virtual deadlines, nesting and shields) and the
 * cancellation of a whole task.
 *
 * Every cancellable wait (weft__block_raw) consults the scopes of its task
 * before it blocks and after it wakes: the nearest scope deadline bounds
 * the wait, and a cancelled scope or a pending task cancellation ends it
 * with -ECANCELED. A shield keeps outer cancellation out. Scopes live in
 * the frames of the tasks that entered them, so they work for threads and
 * coroutines alike; the loop layer builds its cancellation of coroutines
 * and futures on weft__cancel_task.
 *
 * Task cancellation is asyncio's: each request is delivered once (the
 * next cancellation point returns -ECANCELED, later ones go on), and the
 * requests are counted until withdrawn (weft_cancelling, weft_uncancel).
 * Scope cancellation is trio's: level-triggered, every cancellation point
 * inside a cancelled scope returns -ECANCELED until the scope is left.
 */
#include "core/core.h"

#include <errno.h>

/* Deliver cancellation to a task: its current cancellable wait ends. */
void weft__cancel_task(struct weft__run *r, struct weft__task *t)
{
    if (t->state == WEFT__DONE)
        return;
    t->cancel_requests++;
    t->cancel_pending = true;
    if (t->state == WEFT__BLOCKED && t->cancellable && !weft__shielded(t))
        weft__wake_task(r, t);
}

void weft_scope_enter(weft_scope_t *s, int64_t deadline, unsigned flags)
{
    struct weft__run *r = weft__run_get("weft_scope_enter");
    struct weft__task *t = r->cur;
    s->deadline = deadline;
    s->flags = flags;
    s->cancelled = false;
    s->hit = false;
    s->parent = t->scope;
    s->owner = t;
    t->scope = s;
}

int weft_scope_exit(weft_scope_t *s)
{
    struct weft__run *r = weft__run_get("weft_scope_exit");
    struct weft__task *t = r->cur;
    if (t->scope != s)
        weft__misuse("weft_scope_exit",
                     "not the innermost scope of the calling task");
    t->scope = s->parent;
    /* fail-after: only when its deadline really ended a wait inside */
    if ((s->flags & WEFT_SCOPE_FAIL) && s->hit && s->deadline != WEFT_FOREVER &&
        s->deadline <= r->now)
        return -ETIMEDOUT;
    return 0;
}

/* Does the scope chain of t, up to the nearest shield, contain s? */
static bool covers(struct weft__task *t, const weft_scope_t *s)
{
    for (weft_scope_t *x = t->scope; x != NULL; x = x->parent) {
        if (x == s)
            return true;
        if (x->flags & WEFT_SCOPE_SHIELD)
            return false;
    }
    return false;
}

void weft_scope_cancel(weft_scope_t *s)
{
    struct weft__run *r = weft__run_get("weft_scope_cancel");
    weft__visible(r, WEFT__OP_CANCEL, NULL, r->cur->file, r->cur->line);
    s->cancelled = true;
    struct weft__task *t = s->owner;
    if (t != NULL && t != r->cur && t->state == WEFT__BLOCKED &&
        t->cancellable && covers(t, s))
        weft__wake_task(r, t);
}

int64_t weft__scope_deadline(struct weft__task *t, bool *cancelled)
{
    int64_t d = WEFT_FOREVER;
    for (weft_scope_t *s = t->scope; s != NULL; s = s->parent) {
        if (s->cancelled)
            *cancelled = true;
        if (s->deadline != WEFT_FOREVER &&
            (d == WEFT_FOREVER || s->deadline < d))
            d = s->deadline;
        if (s->flags & WEFT_SCOPE_SHIELD)
            break;
    }
    return d;
}

bool weft__shielded(struct weft__task *t)
{
    for (weft_scope_t *s = t->scope; s != NULL; s = s->parent)
        if (s->flags & WEFT_SCOPE_SHIELD)
            return true;
    return false;
}

void weft__scope_hit(struct weft__task *t)
{
    for (weft_scope_t *s = t->scope; s != NULL; s = s->parent) {
        if (s->cancelled)
            s->hit = true;
        if (s->flags & WEFT_SCOPE_SHIELD)
            break;
    }
}

void weft__scope_unhit(struct weft__task *t)
{
    for (weft_scope_t *s = t->scope; s != NULL; s = s->parent) {
        s->hit = false;
        if (s->flags & WEFT_SCOPE_SHIELD)
            break;
    }
}

void weft__scope_expired(struct weft__task *t, int64_t now)
{
    for (weft_scope_t *s = t->scope; s != NULL; s = s->parent) {
        if (s->deadline != WEFT_FOREVER && s->deadline <= now) {
            s->cancelled = true;
            s->hit = true;
        }
        if (s->flags & WEFT_SCOPE_SHIELD)
            break;
    }
}

/* Does cancellation reach t where it stands: a task cancellation request
 * or a cancelled (or expired) scope, not kept out by a shield? */
static bool reaches(struct weft__run *r, struct weft__task *t)
{
    bool cancelled = false;
    int64_t d = weft__scope_deadline(t, &cancelled);
    if (cancelled || (d != WEFT_FOREVER && d <= r->now))
        return true;
    return t->cancel_requests > 0 && !weft__shielded(t);
}

unsigned weft_cancelling(void)
{
    return weft__run_get("weft_cancelling")->cur->cancel_requests;
}

bool weft_cancel_requested(void)
{
    struct weft__run *r = weft__run_get("weft_cancel_requested");
    return reaches(r, r->cur);
}

unsigned weft_uncancel(void)
{
    struct weft__task *t = weft__run_get("weft_uncancel")->cur;
    if (t->cancel_requests > 0 && --t->cancel_requests == 0)
        t->cancel_pending = false; /* not delivered yet: withdrawn */
    return t->cancel_requests;
}

bool weft_scope_cancel_called(const weft_scope_t *s)
{
    struct weft__run *r = weft__run_get("weft_scope_cancel_called");
    return s->cancelled ||
           (s->deadline != WEFT_FOREVER && s->deadline <= r->now);
}

bool weft_scope_cancelled_caught(const weft_scope_t *s)
{
    (void)weft__run_get("weft_scope_cancelled_caught");
    return s->hit;
}
