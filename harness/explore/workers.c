/*
 * workers.c: a search split over forked worker processes.
 *
 * Worker w of n runs this shard's executions w, w + n, w + 2n, ... in its
 * own copy of the process, so no state is shared but a small anonymous
 * shared mapping: per-worker counters, the failing execution indices, the
 * lowest failing index (workers stop past it unless collecting every
 * failure) and the distinct-execution counter (distinct.c). The parent then
 * re-runs the failing executions from their seeds, in index order, so the
 * result does not depend on which worker was faster. Only strategies whose
 * executions replay from a seed run in parallel; their state is frozen at
 * fork (pct stops learning its step estimate), so the parent's re-run is
 * the worker's execution exactly.
 */
#include "explore/explore.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FAILS_PER_WORKER 16

struct slot {
    uint64_t executions, steps, last;
    uint32_t nfail;
    uint64_t fail[FAILS_PER_WORKER];
    bool out_of_time;
    uint64_t next;    /* the index it would have run next (set when a signal
                         stopped it, for the resume line), or UINT64_MAX */
    uint64_t current; /* the execution under way (the parent's watch) */
    int rc;           /* the error it stopped with, or 0 */
    int interrupted;  /* SIGINT or SIGTERM that stopped it, or 0 */
    char error[300];  /* why it could not go on, or "" */
};

struct shared {
    uint64_t best;  /* lowest failing index so far */
    struct slot *w; /* jobs slots, then the distinct counter */
    struct weft__distinct *distinct;
};

void weft__worker_start(pid_t parent)
{
    /* Die with the parent, whatever kills it (a second Ctrl-C, SIGKILL):
     * no worker runs its share on, orphaned. Its passing SIGINT or
     * SIGTERM on is a request to stop, not a second signal. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(0); /* it died before the line above */
    weft__interrupt_parent = parent;
}

static WEFT__NORETURN void worker(struct weft__search *s, struct shared *sh,
                                  unsigned w, unsigned jobs, pid_t parent)
{
    const weft_config_t *cfg = s->cfg;
    struct weft__run *r = s->r;
    struct slot *me = &sh->w[w];
    weft__worker_start(parent);
    r->pid = getpid();
    me->next = me->current = UINT64_MAX;
    if (r->cov != NULL) { /* count this worker's executions only */
        weft_sync_reset();
        r->cov = weft__cov_get();
        r->cov_ops = &weft__cov_ops;
    }
    for (uint64_t m = w;; m += jobs) {
        uint64_t i = s->first + m * s->stride;
        if (i >= cfg->iterations)
            break;
        if (!cfg->keep_going &&
            i > __atomic_load_n(&sh->best, __ATOMIC_RELAXED))
            break;
        if (weft__out_of_time(s)) {
            me->out_of_time = true;
            break;
        }
        r->seed = weft__exec_seed(cfg->seed, i);
        __atomic_store_n(&me->current, i, __ATOMIC_RELAXED);
        r->interruptible = true;
        r->lean = s->lean; /* the parent re-runs a failure in full */
        int e = weft__interrupt ? -EINTR : weft__run_one(r, s->body, s->arg);
        r->lean = false;
        r->interruptible = false;
        if (e == -EINTR) {
            me->next = i; /* not run to its end: the resume starts here */
            break;
        }
        if (e != 0) {
            me->rc = e;
            snprintf(me->error, sizeof me->error, "%.290s",
                     r->error[0] ? r->error : strerror(-e));
            weft__gcov_flush();
            _exit(3);
        }
        if (r->abandoned) /* it cannot run here (weft__stop_why says) */
            break;
        __atomic_store_n(&me->executions, me->executions + 1, __ATOMIC_RELAXED);
        me->steps += r->step;
        me->last = i;
        weft__distinct_add(sh->distinct, r->hash, true);
        if (r->failed) {
            if (me->nfail < FAILS_PER_WORKER)
                me->fail[me->nfail++] = i;
            uint64_t b = __atomic_load_n(&sh->best, __ATOMIC_RELAXED);
            while (i < b && !__atomic_compare_exchange_n(
                                &sh->best, &b, i, false, __ATOMIC_RELAXED,
                                __ATOMIC_RELAXED))
                ;
            if (!cfg->keep_going || me->nfail == FAILS_PER_WORKER)
                break;
        }
        if (WEFT__UNLIKELY(weft__stop_why != NULL))
            break;
        if (weft__once_if_unchosen && r->ndecisions == 0 && !r->decisions_full)
            break; /* the only execution there is */
    }
    /* A Ctrl-C reaches the whole process group: this worker may see it
     * before its parent does, or alone. It tells the parent, who stops
     * the others and reports the search as interrupted. */
    __atomic_store_n(&me->interrupted, (int)weft__interrupt, __ATOMIC_RELAXED);
    if (r->cov != NULL)
        (void)weft__cov_write(cfg, true); /* it says why */
    weft__gcov_flush();
    fflush(NULL);
    _exit(0);
}

/* A worker leaves with _exit: in a build with --coverage, its line
 * counts must be written first or they are lost. */
extern void __gcov_dump(void) __attribute__((weak));

void weft__gcov_flush(void)
{
    if (__gcov_dump != NULL)
        __gcov_dump();
}

/* The parent watches its workers for hangs (they have no watchdog of
 * their own: a process with a second thread cannot fork safely under
 * qemu-user). A worker is a copy of the parent, so its run sits at the
 * same address: the parent reads its execution, step and running task
 * with process_vm_readv. */
struct watch {
    uint64_t epoch, step;
    double since;
    bool killed;    /* a hang: killed by the parent */
    uint64_t hung;  /* the execution that hung */
    bool unwatched; /* its memory cannot be read here: watched from /proc */
    bool seen;      /* epoch, step and since hold a first look */
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Is process pid blocked in a system call? (/proc/<pid>/syscall starts
 * with its number then; "running" or -1 otherwise.) */
static bool in_syscall(pid_t pid)
{
    char path[64], text[32];
    snprintf(path, sizeof path, "/proc/%ld/syscall", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    return n > 0 && text[0] >= '0' && text[0] <= '9';
}

static void watch_worker(struct weft__search *s, struct watch *wt, pid_t pid,
                         const struct slot *sl)
{
    struct weft__run *r = s->r;
    uint64_t epoch, step;
    struct weft__task *cur;
    struct iovec local[3] = { { &epoch, sizeof epoch },
                              { &step, sizeof step },
                              { &cur, sizeof cur } };
    struct iovec remote[3] = { { &r->epoch, sizeof epoch },
                               { &r->step, sizeof step },
                               { &r->cur, sizeof cur } };
    if (wt->killed)
        return;
    if (wt->unwatched ||
        process_vm_readv(pid, local, 3, remote, 3, 0) !=
            (ssize_t)(sizeof epoch + sizeof step + sizeof cur)) {
        /* Its memory cannot be read here (qemu-user, a ptrace policy):
         * a worker that finishes no execution while it sits in a system
         * call is as good a sign, for blocking calls (not for loops). */
        wt->unwatched = true;
        epoch = __atomic_load_n(&sl->executions, __ATOMIC_RELAXED);
        step = 0;
        /* "in a step": any pointer but the scheduler's */
        cur = in_syscall(pid) ? (struct weft__task *)(void *)wt : &r->sched;
    }
    double now = mono();
    if (cur == &r->sched || cur == NULL || !wt->seen || epoch != wt->epoch ||
        step != wt->step) {
        wt->seen = true;
        wt->epoch = epoch;
        wt->step = step;
        wt->since = now;
        return;
    }
    if (now - wt->since < s->cfg->hang_timeout)
        return;
    /* re-run here, where the watchdog reports it in full */
    wt->hung = __atomic_load_n(&sl->current, __ATOMIC_RELAXED);
    wt->killed = true;
    kill(pid, SIGKILL);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int weft__search_parallel(struct weft__search *s)
{
    const weft_config_t *cfg = s->cfg;
    unsigned jobs = cfg->jobs;
    size_t size = sizeof(struct shared) + jobs * sizeof(struct slot) +
                  weft__distinct_size() + 64;
    struct shared *sh = weft__alloc_should_fail()
                            ? MAP_FAILED
                            : mmap(NULL, size, PROT_READ | PROT_WRITE,
                                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        return -ENOMEM;
    sh->best = UINT64_MAX;
    s->parallel = true;
    sh->w = (struct slot *)(sh + 1);
    sh->distinct =
        (struct weft__distinct *)(void *)((char *)(sh->w + jobs) +
                                          (64 -
                                           ((uintptr_t)(sh->w + jobs) & 63)));
    pid_t *pids = weft__alloc(jobs * sizeof *pids);
    if (pids == NULL) {
        munmap(sh, size);
        return -ENOMEM;
    }
    fflush(NULL);
    int rc = 0;
    unsigned started = 0;
    pid_t parent = getpid();
    for (unsigned w = 0; w < jobs; w++) {
        /* A process is an allocation too: the seam can refuse it. */
        pid_t p = weft__alloc_should_fail() ? (errno = EAGAIN, -1) : fork();
        if (p == 0) {
            weft__free(pids); /* the parent's; the worker never returns */
            worker(s, sh, w, jobs, parent);
        }
        if (p < 0) {
            rc = -errno;
            snprintf(s->error, sizeof s->error,
                     "cannot fork worker %u of %u: %s", w + 1, jobs,
                     strerror(errno));
            break;
        }
        pids[started++] = p;
    }
    /* Each worker by its pid: waitpid(-1) would reap children of the
     * program's own. */
    unsigned left = started;
    bool passed_on = false;
    struct watch *wt = weft__zalloc(jobs * sizeof *wt);
    while (left > 0) {
        bool reaped = false;
        /* SIGINT or SIGTERM here or in a worker: pass it on (a
         * terminal's Ctrl-C reached them already; timeout's SIGTERM
         * reached this process alone; a worker may have seen it first). */
        if (weft__interrupt == 0)
            for (unsigned w = 0; w < started; w++) {
                int sig =
                    __atomic_load_n(&sh->w[w].interrupted, __ATOMIC_RELAXED);
                if (sig != 0) {
                    weft__interrupt = sig;
                    break;
                }
            }
        if (weft__interrupt != 0 && !passed_on) {
            for (unsigned w = 0; w < started; w++)
                if (pids[w] > 0)
                    kill(pids[w], SIGTERM);
            passed_on = true;
        }
        for (unsigned w = 0; w < started; w++) {
            int status;
            if (pids[w] <= 0)
                continue;
            pid_t p = waitpid(pids[w], &status, WNOHANG);
            if (p == 0 || (p < 0 && errno == EINTR))
                continue;
            pids[w] = 0;
            left--;
            reaped = true;
            if (p < 0 || (WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
                (wt != NULL && wt[w].killed))
                continue;
            const struct slot *sl = &sh->w[w];
            if (rc == 0 && s->error[0] == '\0') {
                if (sl->error[0] != '\0')
                    snprintf(s->error, sizeof s->error, "worker %u: %s", w + 1,
                             sl->error);
                else
                    snprintf(s->error, sizeof s->error,
                             "worker %u (pid %ld) %s %d outside any task: "
                             "its executions are lost",
                             w + 1, (long)p,
                             WIFSIGNALED(status) ? "died of signal"
                                                 : "exited with status",
                             WIFSIGNALED(status) ? WTERMSIG(status)
                                                 : WEXITSTATUS(status));
            }
            if (rc == 0)
                rc = sl->rc < 0 ? sl->rc : -ECHILD;
        }
        if (reaped || left == 0)
            continue;
        if (wt != NULL && cfg->hang_timeout > 0)
            for (unsigned w = 0; w < started; w++)
                if (pids[w] > 0)
                    watch_worker(s, &wt[w], pids[w], &sh->w[w]);
        uint64_t n = 0;
        for (unsigned w = 0; w < jobs; w++)
            n += __atomic_load_n(&sh->w[w].executions, __ATOMIC_RELAXED);
        s->executions = n;
        s->nset = weft__distinct_count(sh->distinct, &s->set_full);
        weft__progress(s, false);
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    weft__free(pids);

    uint64_t fails[FAILS_PER_WORKER * 64];
    unsigned nf = 0;
    uint64_t last = 0;
    for (unsigned w = 0; w < jobs; w++)
        if (sh->w[w].executions > 0 && sh->w[w].last > last)
            last = sh->w[w].last;
    s->executions = s->total_steps = 0;
    for (unsigned w = 0; w < jobs; w++) {
        struct slot *sl = &sh->w[w];
        s->executions += sl->executions;
        s->total_steps += sl->steps;
        s->out_of_time |= sl->out_of_time;
        for (uint32_t k = 0; k < sl->nfail && nf < sizeof fails / 8; k++)
            fails[nf++] = sl->fail[k];
        if (wt != NULL && wt[w].killed && wt[w].hung != UINT64_MAX &&
            nf < sizeof fails / 8)
            fails[nf++] = wt[w].hung;
    }
    weft__free(wt);
    s->nset = weft__distinct_count(sh->distinct, &s->set_full);
    if (weft__interrupt != 0) {
        /* Resume from the first execution a worker left undone: some
         * after it may run twice, none is skipped. */
        s->interrupted = weft__interrupt;
        s->resume = UINT64_MAX;
        for (unsigned w = 0; w < started; w++) {
            uint64_t next = sh->w[w].next;
            if (next == UINT64_MAX) /* stopped between executions */
                next = sh->w[w].executions > 0
                           ? sh->w[w].last + (uint64_t)jobs * s->stride
                           : s->first + w * s->stride;
            if (next < s->resume)
                s->resume = next;
        }
    }
    munmap(sh, size);
    qsort(fails, nf, sizeof *fails, cmp_u64);
    /* The executions below ran in the workers already, output and all. */
    if (weft__rerun_quiet != NULL)
        weft__rerun_quiet(true);
    if (nf == 0 && rc == 0 && s->executions > 0 && !s->interrupted) {
        /* The result describes the last execution: run it here. */
        s->r->seed = weft__exec_seed(cfg->seed, last);
        int e = weft__run_one(s->r, s->body, s->arg);
        if (e != 0)
            rc = e;
    }
    /* Re-run the failures here, lowest index first: the same executions,
     * since each depends on its seed alone. The workers counted them for
     * synchronization coverage already. */
    s->r->cov = NULL;
    for (unsigned k = 0; k < nf && rc == 0; k++) {
        struct weft__run *r = s->r;
        r->seed = weft__exec_seed(cfg->seed, fails[k]);
        int e = weft__run_one(r, s->body, s->arg);
        if (e != 0) {
            rc = e;
            break;
        }
        if (r->failed && weft__search_found(s, fails[k]) < 0) {
            rc = -ENOMEM;
            break;
        }
        if (!cfg->keep_going && s->nfound > 0)
            break;
    }
    if (weft__rerun_quiet != NULL)
        weft__rerun_quiet(false);
    return rc;
}
