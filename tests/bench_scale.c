/*
 * bench_scale.c: one execution with many live tasks: 10,000, 30,000 and
 * 100,000 tasks alive at once, each blocked on the same object (a
 * semaphore, a mutex, a condition variable) or on a timer of its own,
 * then all released and joined. What it shows: wall time per task, which
 * must stay flat as the count grows (time linear in the tasks), and the
 * memory mappings (VMAs) and resident memory the live tasks hold, against
 * the kernel's vm.max_map_count.
 *
 * Nothing here asserts on time; the program fails only if an execution
 * fails under weft. Output: a table on stdout and
 * $WEFT_BENCH_DIR/bench_scale.json (default "."). `make bench` runs it;
 * alone: build/tests/bench_scale [N...].
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <weft.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Lines of /proc/self/maps: the memory mappings (VMAs) of this process. */
static long vmas(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL)
        return -1;
    long n = 0;
    int c;
    while ((c = getc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* A field of /proc/self/status in kB (VmRSS, VmHWM), or -1. */
static long status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static long max_map_count(void)
{
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    long v = -1;
    if (f != NULL) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

/* ------------------------------------------------------------ workloads */

enum kind { SEM, MUTEX, COND, SLEEP, NKINDS };
static const char *const kind_names[NKINDS] = { "semaphore", "mutex",
                                                "cond broadcast", "sleepers" };
static const char *const kind_keys[NKINDS] = { "sem", "mutex", "cond",
                                               "sleep" };

struct scale {
    enum kind kind;
    unsigned n;
    weft_thread_t *t;
    weft_sem_t sem;
    weft_mutex_t m;
    weft_cond_t c;
    unsigned waiting; /* COND: tasks inside the wait */
    bool go;
    unsigned done;
    long peak_vmas, peak_rss_kb;
};

static void *member(void *arg)
{
    struct scale *s = arg;
    switch (s->kind) {
    case SEM:
        weft_sem_wait(&s->sem);
        break;
    case MUTEX:
        weft_mutex_lock(&s->m);
        weft_mutex_unlock(&s->m);
        break;
    case COND:
        weft_mutex_lock(&s->m);
        s->waiting++;
        while (!s->go)
            weft_cond_wait(&s->c, &s->m);
        weft_mutex_unlock(&s->m);
        break;
    case SLEEP:
        weft_sleep_for(1 + (int64_t)(weft_thread_self().id % 1000));
        break;
    case NKINDS:
        break;
    }
    s->done++;
    return NULL;
}

static void body(void *arg)
{
    struct scale *s = arg;
    s->done = 0;
    s->waiting = 0;
    s->go = false;
    weft_sem_init(&s->sem, 0);
    weft_mutex_init(&s->m, WEFT_MUTEX_NORMAL);
    weft_cond_init(&s->c);
    if (s->kind == MUTEX)
        weft_mutex_lock(&s->m);
    for (unsigned i = 0; i < s->n; i++) {
        int rc = weft_thread_spawn(&s->t[i], "member", member, s);
        weft_assert(rc == 0, "spawn %u of %u: %s", i + 1, s->n,
                    weft_strerror(rc));
    }
    /* let every member reach its wait: all n alive and blocked */
    if (s->kind == COND) {
        while (s->waiting < s->n)
            weft_yield();
    } else {
        for (unsigned i = 0; i < 4; i++)
            weft_yield();
    }
    s->peak_vmas = vmas();
    s->peak_rss_kb = status_kb("VmRSS");
    switch (s->kind) {
    case SEM:
        for (unsigned i = 0; i < s->n; i++)
            weft_sem_post(&s->sem);
        break;
    case MUTEX:
        weft_mutex_unlock(&s->m);
        break;
    case COND:
        weft_mutex_lock(&s->m);
        s->go = true;
        weft_cond_broadcast(&s->c);
        weft_mutex_unlock(&s->m);
        break;
    case SLEEP:
    case NKINDS:
        break;
    }
    for (unsigned i = 0; i < s->n; i++)
        weft_thread_join(s->t[i], NULL);
    weft_assert(s->done == s->n, "%u of %u members done", s->done, s->n);
}

struct row {
    enum kind kind;
    unsigned n;
    double seconds;
    uint64_t steps;
    long vmas, rss_kb;
    int rc;
};

static struct row run(enum kind kind, unsigned n)
{
    static struct scale s;
    s.kind = kind;
    s.n = n;
    s.t = malloc(n * sizeof *s.t);
    weft_config_t c;
    weft_config_init(&c);
    c.use_env = false;
    c.iterations = 1;
    c.seed = 1;
    c.progress = 0;
    c.max_steps = 100 * (uint64_t)n + 1000;
    c.shrink = false;
    c.quiet = true;
    weft_result_t r;
    double t0 = now_s();
    int rc = s.t == NULL ? -ENOMEM : weft_explore(&c, body, &s, &r);
    double t1 = now_s();
    struct row row = { kind,        n,
                       t1 - t0,     rc >= 0 ? r.total_steps : 0,
                       s.peak_vmas, s.peak_rss_kb,
                       rc };
    if (rc >= 0)
        weft_result_destroy(&r);
    free(s.t);
    return row;
}

int main(int argc, char **argv)
{
    unsigned sizes[8] = { 10000, 30000, 100000 };
    unsigned nsizes = 3;
    if (argc > 1) {
        nsizes = 0;
        for (int i = 1; i < argc && nsizes < 8; i++)
            sizes[nsizes++] = (unsigned)strtoul(argv[i], NULL, 10);
    }
    static struct row rows[NKINDS * 8];
    unsigned nrows = 0;
    int failures = 0;
    printf("live tasks in one execution (random strategy, default 256k "
           "stacks; vm.max_map_count %ld)\n\n",
           max_map_count());
    printf("  %-15s %8s %10s %10s %9s %9s %10s\n", "blocked on", "tasks",
           "seconds", "us/task", "steps", "VMAs", "RSS MiB");
    for (int k = 0; k < NKINDS; k++) {
        for (unsigned i = 0; i < nsizes; i++) {
            struct row w = run((enum kind)k, sizes[i]);
            rows[nrows++] = w;
            if (w.rc != 0) {
                printf("  %-15s %8u  FAILED: weft_explore returned %d\n",
                       kind_names[k], w.n, w.rc);
                failures++;
                continue;
            }
            printf("  %-15s %8u %10.3f %10.2f %9llu %9ld %10.1f\n",
                   kind_names[k], w.n, w.seconds, w.seconds * 1e6 / w.n,
                   (unsigned long long)w.steps, w.vmas,
                   (double)w.rss_kb / 1024);
            fflush(stdout);
        }
    }
    printf("\n  linear time: us/task stays flat from the smallest count to "
           "the largest; a quadratic cost grows it tenfold\n");

    const char *dir = getenv("WEFT_BENCH_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/bench_scale.json", dir && *dir ? dir : ".");
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fprintf(f,
                "{\n  \"bench\": \"scale\",\n  \"max_map_count\": %ld,\n"
                "  \"rows\": [\n",
                max_map_count());
        for (unsigned i = 0; i < nrows; i++)
            fprintf(f,
                    "    {\"workload\": \"%s\", \"tasks\": %u, \"status\": %d, "
                    "\"seconds\": %.6f, \"us_per_task\": %.3f, \"steps\": "
                    "%llu, \"vmas\": %ld, \"rss_kb\": %ld}%s\n",
                    kind_keys[rows[i].kind], rows[i].n, rows[i].rc,
                    rows[i].seconds, rows[i].seconds * 1e6 / rows[i].n,
                    (unsigned long long)rows[i].steps, rows[i].vmas,
                    rows[i].rss_kb, i + 1 < nrows ? "," : "");
        fprintf(f, "  ]\n}\n");
        fclose(f);
        printf("  JSON: %s\n", path);
    }
    return failures == 0 ? 0 : 1;
}
