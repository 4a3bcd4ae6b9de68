/*
 * locals.c: task-local storage with context-variable semantics.
 *
 * A task's values are a small array of (key, value) pairs in the
 * execution's arena, kept in the task's loop-layer state. A child task
 * (and a to_thread job) starts with a copy of its creator's values, so a
 * set in one is never seen by the other: what Python's contextvars do
 * for asyncio tasks, and what thread-locals cannot do for coroutines that
 * share one thread.
 */
#include "loop/loop.h"

#include <errno.h>
#include <string.h>

struct weft__locals {
    uint32_t n, cap;
    struct {
        weft_local_t *key;
        void *value;
    } e[];
};

static struct weft__locals *locals_of(const struct weft__task *t)
{
    return t->x != NULL ? t->x->locals : NULL;
}

void *weft_local_get(weft_local_t *key)
{
    struct weft__run *r = weft__run_get("weft_local_get");
    struct weft__locals *ls = locals_of(r->cur);
    for (uint32_t i = 0; ls != NULL && i < ls->n; i++)
        if (ls->e[i].key == key)
            return ls->e[i].value;
    return NULL;
}

static struct weft__locals *copy(struct weft__run *r,
                                 const struct weft__locals *from, uint32_t cap)
{
    struct weft__locals *ls =
        weft__run_alloc(r, sizeof *ls + cap * sizeof ls->e[0]);
    if (ls == NULL)
        return NULL;
    ls->cap = cap;
    if (from != NULL) {
        ls->n = from->n;
        memcpy(ls->e, from->e, from->n * sizeof ls->e[0]);
    }
    return ls;
}

int weft_local_set(weft_local_t *key, void *value)
{
    struct weft__run *r = weft__run_get("weft_local_set");
    struct weft__task *t = r->cur;
    struct weft__locals *ls = locals_of(t);
    for (uint32_t i = 0; ls != NULL && i < ls->n; i++)
        if (ls->e[i].key == key) {
            ls->e[i].value = value;
            return 0;
        }
    if (ls == NULL || ls->n == ls->cap) {
        struct weft__taskx *x = weft__tx_make(r, t);
        ls = x != NULL ? copy(r, ls, ls ? 2 * ls->cap : 4) : NULL;
        if (ls == NULL)
            return -ENOMEM;
        x->locals = ls;
    }
    ls->e[ls->n].key = key;
    ls->e[ls->n].value = value;
    ls->n++;
    return 0;
}

void weft__locals_inherit(struct weft__run *r, struct weft__task *child,
                          struct weft__task *parent)
{
    /* A copy: the child's later sets are its own, and so are the
     * parent's. */
    struct weft__locals *from = locals_of(parent);
    if (from == NULL)
        return;
    struct weft__taskx *x = weft__tx_make(r, child);
    if (x == NULL || (x->locals = copy(r, from, from->cap)) == NULL)
        r->oom = true;
}

struct weft__locals *weft__locals_copy(struct weft__run *r,
                                       struct weft__task *t)
{
    struct weft__locals *from = locals_of(t);
    return from != NULL ? copy(r, from, from->cap) : NULL;
}
