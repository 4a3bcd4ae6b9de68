/* Pattern 13 (with a lock): lazy initialisation whose check and whose
 * initialisation are two critical sections. Both threads can see "not
 * initialised" before either initialises: it runs twice. Verdict:
 * assertion. -DFIXED: check and initialise in one critical section. */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int initialised, init_count;
static int *table;

static void init_once(void)
{
    table = calloc(16, sizeof *table);
    init_count++;
    initialised = 1;
}

static void *user(void *arg)
{
    (void)arg;
#ifdef FIXED
    pthread_mutex_lock(&m);
    if (!initialised)
        init_once();
    pthread_mutex_unlock(&m);
#else
    pthread_mutex_lock(&m);
    int need = !initialised;
    pthread_mutex_unlock(&m);
    if (need) {
        pthread_mutex_lock(&m);
        init_once();
        pthread_mutex_unlock(&m);
    }
#endif
    return NULL;
}

int main(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, user, NULL);
    pthread_create(&b, NULL, user, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    assert(init_count == 1);
    free(table);
    return 0;
}
