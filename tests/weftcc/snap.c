/*
 * snap.c: what weft-cc's snapshot executions must put back, and what they
 * must notice they cannot. One program, a scenario per argument:
 *
 *   fresh          each execution checks that it starts as the first did
 *                  (globals, a static local, main's thread-local, the heap,
 *                  the lowest free file descriptor, the umask, the working
 *                  directory, a signal's disposition, the signal mask,
 *                  rand's sequence),
 *                  then changes them all. Correct in snapshot and fork
 *                  modes; fails in none (nothing is reset there).
 *   alternate      two threads take a lock five times each; a bug only when
 *                  all ten critical sections strictly alternate (a global
 *                  streak reaches 10). alternate_fixed: no such check.
 *   leak_write     writes to a file opened before main (in a constructor):
 *                  a snapshot cannot undo it (noticed, then fork mode).
 *   leak_shared    maps shared memory: the same.
 *   mmap_private   maps 64 MiB privately in every execution and never
 *                  unmaps it, under a 4 GiB address-space limit: correct
 *                  only if each execution's mappings go with it.
 *   renamed        a bug that only kernel state no snapshot covers (the
 *                  thread's name, left by the execution before) can cause:
 *                  a replay in a fresh process does not fail, so it is
 *                  NOT CONFIRMED.
 *   input          fails when SNAP_FAIL is set, after its threads are done:
 *                  a schedule recorded with it replays without it as a
 *                  divergence, never as a pass.
 *   order          prints the order in which two threads took a lock, one
 *                  line per execution (for the shards test).
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *mode = "fresh";

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "snap: %s\n", what);
        abort();
    }
}

/* ------------------------------------------------------------ fresh */

static int counter;
static int initialised = 7;
static char *list;
static __thread int main_tls = 3;
static int lowest_fd = -1;
static mode_t ctor_umask;
static char ctor_cwd[PATH_MAX];
static int log_fd = -1;
static int *ctor_block; /* allocated by a constructor: part of the snapshot */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((constructor)) static void ctor(int argc, char **argv)
{
    if (argc > 1)
        mode = argv[1];
    ctor_block = malloc(64 * sizeof *ctor_block);
    for (int i = 0; i < 64; i++)
        ctor_block[i] = i;
    lowest_fd = dup(0);
    close(lowest_fd);
    ctor_umask = umask(022);
    umask(ctor_umask);
    check(getcwd(ctor_cwd, sizeof ctor_cwd) != NULL, "getcwd");
    if (strcmp(mode, "leak_write") == 0) {
        char path[] = "/tmp/weft-snap-log-XXXXXX";
        log_fd = mkstemp(path);
        unlink(path);
    }
    if (strcmp(mode, "mmap_private") == 0) {
        struct rlimit r = { (rlim_t)4 << 30, (rlim_t)4 << 30 };
        check(setrlimit(RLIMIT_AS, &r) == 0, "setrlimit");
    }
}

static void on_usr1(int sig)
{
    (void)sig;
}

static void *fresh_worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    counter++;
    pthread_mutex_unlock(&lock);
    char *p = malloc(4096); /* never freed: the next execution's heap is new */
    check(p != NULL, "malloc");
    memset(p, 'x', 4096);
    return NULL;
}

static int fresh(void)
{
    static int calls;
    check(counter == 0, "a global kept the last execution's value");
    check(initialised == 7, "an initialised global kept its last value");
    check(list == NULL, "a global pointer kept the last execution's block");
    check(calls == 0, "a static local kept its last value");
    check(main_tls == 3, "main's thread-local kept its last value");
    for (int i = 0; i < 64; i++)
        check(ctor_block[i] == i, "a constructor's block kept the last "
                                  "execution's contents");
    ctor_block[7] = -1;
    int fd = open("/dev/null", O_RDONLY);
    check(fd == lowest_fd, "a file descriptor of the last execution is open");
    FILE *f = fopen("/dev/null", "r"); /* never closed */
    check(f != NULL, "fopen");
    check(umask(077) == ctor_umask, "the umask was left changed");
    char cwd[PATH_MAX];
    check(getcwd(cwd, sizeof cwd) != NULL && strcmp(cwd, ctor_cwd) == 0,
          "the working directory was left changed");
    check(chdir("/") == 0, "chdir");
    struct sigaction sa;
    check(sigaction(SIGUSR1, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL,
          "a signal handler was left installed");
    signal(SIGUSR1, on_usr1);
    sigset_t set;
    check(sigprocmask(SIG_BLOCK, NULL, &set) == 0 &&
              !sigismember(&set, SIGUSR2),
          "a signal was left blocked");
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    check(rand() == 1804289383, "rand did not start as in a fresh process");
    calls++;
    free(ctor_block); /* a block of the snapshot: it lives on */
    initialised = 99;
    main_tls = 99;
    list = malloc(1 << 20);
    check(list != NULL, "malloc");
    memset(list, 1, 1 << 20);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, fresh_worker, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    check(counter == 2, "lost update");
    return 0;
}

/* -------------------------------------------------------- alternate */

static int last = -1, streak, sections;
static int fixed;

static void *alternate_worker(void *arg)
{
    int me = (int)(long)arg;
    for (int i = 0; i < 5; i++) {
        pthread_mutex_lock(&lock);
        streak = last != me ? streak + 1 : 1;
        last = me;
        sections++;
        if (!fixed && streak == 10)
            abort(); /* ten critical sections, strictly alternating */
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static int alternate(void)
{
    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, alternate_worker, (void *)i);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    check(sections == 10, "a critical section was lost");
    return 0;
}

/* ------------------------------------------------------------ leaks */

static void *noop(void *arg)
{
    return arg;
}

static int with_a_thread(void)
{
    pthread_t t;
    pthread_create(&t, NULL, noop, NULL);
    pthread_join(t, NULL);
    return 0;
}

static int leak_write(void)
{
    check(write(log_fd, "x\n", 2) == 2, "write");
    return with_a_thread();
}

static int leak_shared(void)
{
    void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    check(m != MAP_FAILED, "mmap");
    return with_a_thread();
}

static void *map_worker(void *arg)
{
    (void)arg;
    size_t len = (size_t)64 << 20;
    char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(m != MAP_FAILED, "mmap failed: the earlier executions' mappings "
                           "were not unmapped");
    check(m[0] == 0 && m[len - 1] == 0, "a new mapping is not zeroed");
    m[0] = m[len - 1] = 1;
    return NULL;
}

static int mmap_private(void)
{
    pthread_t t;
    pthread_create(&t, NULL, map_worker, NULL);
    pthread_join(t, NULL);
    return 0;
}

/* The thread's name is the kernel's, which no snapshot covers: the first
 * execution renames the OS thread, the next finds a name a fresh process
 * never has. */
static int renamed(void)
{
    char name[32] = "";
    prctl(PR_GET_NAME, name);
    check(strcmp(name, "renamed") != 0,
          "the thread kept the name an earlier execution gave it");
    prctl(PR_SET_NAME, "renamed");
    return with_a_thread();
}

/* ------------------------------------------------------------ order */

static char order_seen[64];
static int order_n;

static void *order_worker(void *arg)
{
    for (int i = 0; i < 4; i++) {
        pthread_mutex_lock(&lock);
        order_seen[order_n++] = (char)(long)arg;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static int order(void)
{
    pthread_t t[3];
    for (long i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, order_worker, (void *)('a' + i));
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    printf("%s\n", order_seen);
    return 0;
}

int main(void)
{
    if (strcmp(mode, "fresh") == 0)
        return fresh();
    if (strcmp(mode, "alternate") == 0)
        return alternate();
    if (strcmp(mode, "alternate_fixed") == 0) {
        fixed = 1;
        return alternate();
    }
    if (strcmp(mode, "leak_write") == 0)
        return leak_write();
    if (strcmp(mode, "leak_shared") == 0)
        return leak_shared();
    if (strcmp(mode, "mmap_private") == 0)
        return mmap_private();
    if (strcmp(mode, "renamed") == 0)
        return renamed();
    if (strcmp(mode, "order") == 0)
        return order();
    if (strcmp(mode, "input") == 0) {
        with_a_thread();
        if (getenv("SNAP_FAIL") != NULL)
            abort();
        return 0;
    }
    fprintf(stderr, "snap: unknown scenario '%s'\n", mode);
    return 2;
}
