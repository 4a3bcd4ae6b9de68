/* Pattern 14, double-checked locking with early publication: the fast
 * path reads the shared pointer without the lock; the slow path locks,
 * re-checks, allocates, publishes the pointer and only then fills the
 * object in (load_config takes a while: usleep). A second thread taking
 * the fast path after publication and before the fill uses a half-made
 * object. Under sequential consistency this needs the publication to come
 * first in program order, as here; with a correct order the bug exists
 * only on weak memory, out of scope for weft. Depth 1. Verdict: data race
 * on the pointer, else assertion (abort). -DFIXED: fill in, then publish
 * through an atomic pointer (fast path: atomic load). */
#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

struct config {
    int version;
    int limit;
};

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
#ifdef FIXED
static _Atomic(struct config *) instance;
#define LOAD()   atomic_load(&instance)
#define STORE(p) atomic_store(&instance, (p))
#else
static struct config *instance;
#define LOAD()   instance
#define STORE(p) (instance = (p))
#endif

static void load_config(struct config *c)
{
    usleep(100); /* reading the configuration file */
    c->version = 2;
    c->limit = 64;
}

static struct config *get_config(void)
{
    struct config *c = LOAD();
    if (c == NULL) {
        pthread_mutex_lock(&m);
        c = LOAD();
        if (c == NULL) {
            c = calloc(1, sizeof *c);
#ifdef FIXED
            load_config(c);
            STORE(c);
#else
            STORE(c); /* published before it is filled in */
            load_config(c);
#endif
        }
        pthread_mutex_unlock(&m);
    }
    return c;
}

static void *user(void *arg)
{
    (void)arg;
    struct config *c = get_config();
    assert(c->version == 2 && c->limit == 64 && "half-made configuration");
    return NULL;
}

int main(void)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, user, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    free(LOAD());
    return 0;
}
