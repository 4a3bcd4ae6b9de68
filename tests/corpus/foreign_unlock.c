/* Pattern 21, unlocking a mutex owned by another thread: a readers'
 * "light switch": the first reader in locks the room mutex (keeping the
 * writer out), the last reader out unlocks it. When the last reader out
 * is not the first one in, it unlocks a mutex another thread owns
 * (undefined for a default mutex; EPERM for an error-checking one), and
 * the first reader may exit while it still owns the room. Depth 1 (the
 * readers' sections overlap and the first one in leaves first). Verdict:
 * lock misuse (a thread exits holding the room, or unlocks it without
 * owning it). The first reader in also takes the counter's mutex while
 * it holds the room, after it took them in the other order: weft's
 * lock-order detector reports that first, as a potential deadlock (the
 * count gates it: it could only deadlock once the room is left locked
 * by the same ownership bug), hence WEFT_LOCK_ORDER=0 in the test.
 * -DFIXED: the room is a binary semaphore, which has no owner. */
#include <assert.h>
#include <pthread.h>
#include <semaphore.h>

static pthread_mutex_t count_m = PTHREAD_MUTEX_INITIALIZER;
static int readers, data;
#ifdef FIXED
static sem_t room;
#define ROOM_ENTER() sem_wait(&room)
#define ROOM_LEAVE() sem_post(&room)
#else
static pthread_mutex_t room = PTHREAD_MUTEX_INITIALIZER;
#define ROOM_ENTER() pthread_mutex_lock(&room)
#define ROOM_LEAVE() pthread_mutex_unlock(&room)
#endif

static void *reader(void *arg)
{
    int *out = arg;
    pthread_mutex_lock(&count_m);
    if (++readers == 1)
        ROOM_ENTER();
    pthread_mutex_unlock(&count_m);
    *out = data;
    pthread_mutex_lock(&count_m);
    if (--readers == 0)
        ROOM_LEAVE();
    pthread_mutex_unlock(&count_m);
    return NULL;
}

static void *writer(void *arg)
{
    (void)arg;
    ROOM_ENTER();
    data++;
    ROOM_LEAVE();
    return NULL;
}

int main(void)
{
#ifdef FIXED
    sem_init(&room, 0, 1);
#endif
    pthread_t r[2], w;
    int seen[2];
    pthread_create(&r[0], NULL, reader, &seen[0]);
    pthread_create(&w, NULL, writer, NULL);
    pthread_create(&r[1], NULL, reader, &seen[1]);
    for (int i = 0; i < 2; i++)
        pthread_join(r[i], NULL);
    pthread_join(w, NULL);
    for (int i = 0; i < 2; i++)
        assert(seen[i] == 0 || seen[i] == 1);
    assert(data == 1);
    return 0;
}
