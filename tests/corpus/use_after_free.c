/* Pattern 29, free while another thread still uses the object: two
 * workers fill their slots of a shared queue, then report "done" (an
 * active count under the queue's mutex, and a signal); main waits for the
 * count to reach zero and destroys the queue (frees its data, destroys
 * its mutex, frees it), joining the workers only afterwards. But each
 * worker makes one last access after reporting done (it adds to the
 * queue's statistics, under the queue's mutex): if main is destroying the
 * queue by then, the worker locks a destroyed mutex in freed memory, or
 * main destroys the mutex while the worker holds it. Depth 1. Verdict:
 * data race (the free against the worker's access, not ordered by the
 * mutex), or lock misuse (destroying a held mutex), else a crash.
 * -DFIXED: main joins the workers before it destroys the queue. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define WORKERS 2

struct queue {
    pthread_mutex_t lock;
    pthread_cond_t idle;
    int active, items;
    char *data; /* one slot per worker */
};

struct job {
    struct queue *q;
    int id;
};

static void *worker(void *arg)
{
    struct job *j = arg;
    struct queue *q = j->q;
    pthread_mutex_lock(&q->lock);
    q->data[j->id] = 'w';
    pthread_mutex_unlock(&q->lock);

    pthread_mutex_lock(&q->lock);
    if (--q->active == 0)
        pthread_cond_signal(&q->idle);
    pthread_mutex_unlock(&q->lock);

    /* the last access, after reporting done: the worker's statistics */
    pthread_mutex_lock(&q->lock);
    q->items++;
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

static void destroy(struct queue *q)
{
    free(q->data);
    q->data = NULL;
    pthread_cond_destroy(&q->idle);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

int main(void)
{
    struct queue *q = malloc(sizeof *q);
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->idle, NULL);
    q->active = WORKERS;
    q->items = 0;
    q->data = calloc(WORKERS, 1);
    struct job jobs[WORKERS];
    pthread_t t[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        jobs[i] = (struct job){ q, i };
        pthread_create(&t[i], NULL, worker, &jobs[i]);
    }
    pthread_mutex_lock(&q->lock);
    while (q->active > 0)
        pthread_cond_wait(&q->idle, &q->lock);
    pthread_mutex_unlock(&q->lock);
#ifdef FIXED
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    if (q->items != WORKERS)
        return 1;
    destroy(q);
#else
    destroy(q);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
#endif
    return 0;
}
