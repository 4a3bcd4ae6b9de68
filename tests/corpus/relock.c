/* Pattern 18, a lock left held: two threads run the same body: lock,
 * update, unlock, then lock again for a second update and return without
 * unlocking. The first thread to finish exits holding the mutex; the
 * other blocks on it forever. Happens in every schedule. Verdict: lock
 * misuse (a thread exited holding a mutex), else deadlock. -DFIXED: the
 * second critical section unlocks too. */
#include <pthread.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int hits;

static void *body(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
    hits++;
    pthread_mutex_unlock(&m);
    pthread_mutex_lock(&m);
    hits++;
#ifdef FIXED
    pthread_mutex_unlock(&m);
#endif
    return NULL;
}

int main(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, body, NULL);
    pthread_create(&b, NULL, body, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    return hits == 4 ? 0 : 1;
}
