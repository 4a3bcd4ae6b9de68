/*
 * shared_lib.c: a project that builds a shared library and a program that
 * links it, both with weft-cc (as a Makefile or CMake with shared
 * libraries does). Built twice: with -DLIB -shared into libcount.so, then
 * the program against it. The library's bump() races (two threads, no
 * lock): the report must name the library's own file and line, and no
 * sanitizer runtime may be linked anywhere. -DLOCKED: clean.
 */
#include <pthread.h>

#ifdef LIB
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
long counter;

void bump(void)
{
#ifdef LOCKED
    pthread_mutex_lock(&m);
#endif
    counter++;
#ifdef LOCKED
    pthread_mutex_unlock(&m);
#endif
}
#else
extern long counter;
void bump(void);

static void *worker(void *arg)
{
    (void)arg;
    bump();
    return NULL;
}

int main(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, worker, NULL);
    pthread_create(&b, NULL, worker, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    return counter == 2 ? 0 : 1;
}
#endif
