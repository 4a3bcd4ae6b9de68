/* Pattern 5, a stack whose size check is outside the pop's critical
 * section: one pusher pushes one item, two poppers each pop one item if
 * the stack is not empty. Both poppers can see size 1, then both pop: the
 * second pops from an empty stack. Every access holds the mutex (no data
 * race); depth 2 (both checks between the push and the first pop).
 * Verdict: assertion (abort) in pop. -DFIXED: check and pop in one
 * critical section. */
#include <assert.h>
#include <pthread.h>
#include <stdint.h>

#define CAP 4

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int stack[CAP], top;
static int popped[2];

static void push(int v)
{
    pthread_mutex_lock(&m);
    assert(top < CAP);
    stack[top++] = v;
    pthread_mutex_unlock(&m);
}

#ifndef FIXED
static int size(void)
{
    pthread_mutex_lock(&m);
    int n = top;
    pthread_mutex_unlock(&m);
    return n;
}

static int pop(void)
{
    pthread_mutex_lock(&m);
    assert(top > 0 && "pop from an empty stack");
    int v = stack[--top];
    pthread_mutex_unlock(&m);
    return v;
}
#endif

/* Pop one item if there is one; 0 if the stack was empty. */
static int try_pop(void)
{
#ifdef FIXED
    pthread_mutex_lock(&m);
    int v = top > 0 ? stack[--top] : 0;
    pthread_mutex_unlock(&m);
    return v;
#else
    return size() > 0 ? pop() : 0;
#endif
}

static void *pusher(void *arg)
{
    (void)arg;
    push(7);
    return NULL;
}

static void *popper(void *arg)
{
    int i = (int)(intptr_t)arg;
    popped[i] = try_pop();
    return NULL;
}

int main(void)
{
    pthread_t p, c[2];
    pthread_create(&p, NULL, pusher, NULL);
    for (int i = 0; i < 2; i++)
        pthread_create(&c[i], NULL, popper, (void *)(intptr_t)i);
    pthread_join(p, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(c[i], NULL);
    /* the item was popped once, or is still there */
    assert(popped[0] + popped[1] + (top == 1 ? stack[0] : 0) == 7);
    return 0;
}
