/*
 * explore.c: the explorer: many executions of a test body, then a report.
 *
 * weft_explore resolves the configuration, replays the failures persisted
 * by earlier runs, searches (here, or in forked workers: workers.c), and
 * turns each distinct failure into a report: shrink its schedule, replay
 * the result once more with the whole trace kept, write the schedule to a
 * file before anything is printed, then print. Execution i of a search
 * uses seed weft__exec_seed(cfg->seed, i), whoever runs it, so shards and
 * workers split
 * the same sequence and their union is the unsharded run.
 */
#include "explore/explore.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_FOUND     16
#define SHRINK_BUDGET 400

void weft_result_destroy(weft_result_t *res)
{
    if (res == NULL)
        return;
    weft__free(res->report);
    res->report = NULL;
}

double weft__wall(void)
{
    struct timespec ts;
    /* The coarse clock costs a few ns, so budgets and progress can be
     * checked after every execution; a millisecond resolution is plenty. */
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int weft__run_prepare(struct weft__run *r, const weft_config_t *cfg)
{
    int rc = weft__run_setup(r, cfg);
    if (rc != 0)
        return rc;
    /* In this order: a thread that ends holding a mutex is reported
     * before its future completes (sync before loop). */
    weft__run_hooks(r, &weft__sync_hooks);
    weft__run_hooks(r, &weft__loop_hooks);
    weft__run_hooks(r, &weft__report_hooks);
    return 0;
}

static double wall_precise(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The coarse clock lags by up to a tick: it only says when to look at
 * the precise one, so a budget never ends early. */
bool weft__out_of_time(struct weft__search *s)
{
    double b = s->cfg->time_budget;
    return b > 0 && weft__wall() - s->t0 >= b - 0.02 &&
           wall_precise() - s->t0p >= b;
}

/* ------------------------------------------------------ distinct hashes */

/* ------------------------------------------------------------- progress */

void weft__progress(struct weft__search *s, bool last)
{
    const weft_config_t *cfg = s->cfg;
    if (cfg->quiet || !s->progress_on)
        return;
    double now = weft__wall();
    double interval = s->tty ? 0.1 : 10.0;
    if (!last && now - s->last_draw < interval)
        return;
    if (last && !s->drawn)
        return;
    s->last_draw = now;
    s->drawn = true;
    if (s->distinct != NULL && s->st != NULL && !s->parallel)
        s->nset = weft__distinct_count(s->distinct, &s->set_full);
    double el = now - s->t0;
    fprintf(stderr,
            "%sweft: %s%s%llu executions, %.0f/s, %llu distinct, %u "
            "failure%s, %.1fs%s",
            s->tty ? "\r" : "", cfg->name ? cfg->name : "",
            cfg->name ? ": " : "", (unsigned long long)s->executions,
            el > 0 ? (double)s->executions / el : 0.0,
            (unsigned long long)s->nset, s->nfound, s->nfound == 1 ? "" : "s",
            el, s->tty ? (last ? "\n" : "\033[K") : "\n");
}

/* ------------------------------------------------------- the search loop */

/* Remember a failure unless one like it is known. */
int weft__search_found(struct weft__search *s, uint64_t index)
{
    struct weft__run *r = s->r;
    for (unsigned i = 0; i < s->nfound; i++)
        if (weft__same_failure(&s->found[i].f, &r->finding))
            return 0;
    if (s->nfound == MAX_FOUND)
        return 0;
    struct weft__found *f = &s->found[s->nfound];
    memset(f, 0, sizeof *f);
    f->f = r->finding;
    f->f.detail.s = NULL;
    f->f.detail.len = f->f.detail.cap = 0;
    f->index = index;
    f->seed = r->seed;
    if (weft__schedule_snapshot(&f->s, r) != 0)
        return -ENOMEM;
    f->orig_steps = r->step;
    f->orig_pre = weft__schedule_preemptions(&f->s);
    if (r->finding.kind == WEFT_FINDING_NONDETERMINISM ||
        r->finding.kind == WEFT_FINDING_HANG) {
        struct weft__buf b = { 0 };
        weft__report(r, index == UINT64_MAX ? 0 : index + 1 + weft__exec_offset,
                     &b);
        f->report = b.s;
        f->time = r->now;
        f->hash = weft__mix(r->hash);
        f->no_rerun = r->finding.kind == WEFT_FINDING_HANG;
    }
    s->nfound++;
    if (weft__found_hook != NULL)
        weft__found_hook(r->seed);
    return 1;
}

bool weft__lean_off;

/* The lean run failed, its full re-run did not fail alike: the body
 * depends on something weft does not control. */
static void lean_diverged(struct weft__run *r, weft_finding_t kind,
                          uint64_t hash, uint64_t steps)
{
    char was[200];
    snprintf(was, sizeof was, "%.190s", r->failed ? r->finding.message : "");
    const char *then =
        r->failed ? weft_finding_name(r->finding.kind) : "passed";
    r->failed = true;
    r->finding.kind = WEFT_FINDING_NONDETERMINISM;
    r->finding.task = 0;
    r->finding.step = r->step;
    r->finding.time = r->now;
    r->finding.file = NULL;
    r->finding.line = 0;
    snprintf(r->finding.message, sizeof r->finding.message,
             "re-run from its seed to record its trace, the execution ran "
             "otherwise: first %s after %llu steps (trace hash %016llx), "
             "then %s after %llu steps (trace hash %016llx%s%s); the body "
             "depends on something weft does not control",
             weft_finding_name(kind), (unsigned long long)steps,
             (unsigned long long)weft__mix(hash), then,
             (unsigned long long)r->step,
             (unsigned long long)weft__mix(r->hash), was[0] ? ": " : "", was);
}

int weft__search_run(struct weft__search *s)
{
    struct weft__run *r = s->r;
    r->interruptible = true;
    r->lean = s->lean;
    int e = weft__interrupt != 0 ? -EINTR : weft__run_one(r, s->body, s->arg);
    r->lean = false;
    if (e == 0 && s->lean && r->failed && !r->abandoned) {
        /* Again with the trace ring and decision log: the same seed
         * makes the same decisions (a hang waits for the watchdog
         * again). A body that depends on something weft does not control
         * (state kept across executions, an allocation made to fail) may
         * run otherwise: its re-run is reported if it fails alike, as the
         * report's own replay would be; if it does not, that is said. */
        weft_finding_t kind = r->finding.kind;
        uint64_t hash = r->hash, steps = r->step;
        e = weft__interrupt != 0 ? -EINTR : weft__run_one(r, s->body, s->arg);
        if (e == 0 && !r->abandoned && (!r->failed || r->finding.kind != kind))
            lean_diverged(r, kind, hash, steps);
    }
    r->interruptible = false;
    return e;
}

/* Run the executions of this shard, here. */
static int search_serial(struct weft__search *s)
{
    const weft_config_t *cfg = s->cfg;
    struct weft__run *r = s->r;
    for (uint64_t i = s->first; i < cfg->iterations; i += s->stride) {
        if (s->halt != NULL) {
            if (__atomic_load_n(s->halt, __ATOMIC_RELAXED) < s->worker)
                break; /* a lower worker's failure is the one reported */
            __atomic_add_fetch(s->beat, 1, __ATOMIC_RELAXED);
        }
        if (s->executions > 0 && (cfg->time_budget > 0 || s->progress_on)) {
            if (weft__out_of_time(s)) {
                s->out_of_time = true;
                break;
            }
            weft__progress(s, false);
        }
        r->seed = weft__exec_seed(cfg->seed, i);
        int e = weft__search_run(s);
        if (e == -EINTR) {
            /* SIGINT or SIGTERM: execution i did not end, resume there */
            s->interrupted = weft__interrupt;
            s->resume = i;
            break;
        }
        if (r->abandoned) { /* it did not run here: stop before it */
            s->stopped = weft__stop_why;
            break;
        }
        if (e != 0)
            return e;       /* not run to its end: not counted */
        if (r->redundant) { /* a repeat of others: not counted, nor
                               taken from the budget */
            s->redundant++;
            if (!s->st->next(s->state, r->step)) {
                s->exhausted = true;
                break;
            }
            i -= s->stride;
            continue;
        }
        s->executions++;
        s->total_steps += r->step;
        weft__distinct_add(s->distinct, r->hash, false);
        if (r->failed) {
            int k = weft__search_found(s, i);
            if (k < 0)
                return k;
            if (s->halt != NULL && !cfg->keep_going)
                __atomic_store_n((uint32_t *)s->halt,
                                 s->worker < *s->halt ? s->worker : *s->halt,
                                 __ATOMIC_RELAXED);
            if (!cfg->keep_going || s->nfound == MAX_FOUND)
                break;
        }
        if (!s->st->next(s->state, r->step)) {
            s->exhausted = s->st != &weft__strategy_replay;
            if (s->st == &weft__strategy_dfs) {
                int level;
                bool complete;
                weft__dfs_level(s->state, &level, &complete);
                s->exhausted = complete;
            }
            break;
        }
        if (WEFT__UNLIKELY(weft__stop_why != NULL)) {
            s->stopped = weft__stop_why;
            break;
        }
        /* An execution that made no choice at all is the only one there
         * is: every other would run the same (weft-cc: a program that
         * starts no thread runs once, as it would without weft). */
        if (weft__once_if_unchosen && r->ndecisions == 0 &&
            !r->decisions_full && s->st->seed_replays) {
            s->exhausted = true;
            break;
        }
    }
    return 0;
}

/* ------------------------------------------------- a split search (dpor) */

/* What a worker of a split search hands back. */
#define SPLIT_FOUND 4
struct split_slot {
    uint64_t beat; /* executions begun: the parent's sign of progress */
    uint64_t executions, steps, redundant;
    bool exhausted, out_of_time, ended;
    int rc, interrupted;
    unsigned nfound;
    struct {
        struct weft__finding f; /* without detail */
        uint64_t index, seed, orig_steps;
        unsigned orig_pre;
        char path[200]; /* its schedule, written by the worker */
    } found[SPLIT_FOUND];
};

struct split_shared {
    uint32_t halt; /* the lowest worker that found a failure */
    struct split_slot w[];
};

static WEFT__NORETURN void split_worker(struct weft__search *s,
                                        struct split_shared *sh, unsigned w,
                                        unsigned jobs, pid_t parent)
{
    weft__worker_start(parent);
    struct split_slot *me = &sh->w[w];
    /* part (k - 1) J + w of n J: this shard's part, split again */
    weft_config_t c = *s->cfg;
    c.shard_index = (s->cfg->shard_index - 1) * jobs + w + 1;
    c.shard_count = s->cfg->shard_count * jobs;
    c.jobs = 1;
    char err[300];
    void *state = NULL;
    me->rc = s->st->create(&state, &c, err, sizeof err);
    if (me->rc != 0)
        _exit(3);
    struct weft__search ws = *s;
    ws.cfg = &c;
    ws.state = state;
    ws.first = 0;
    ws.stride = 1;
    ws.nfound = 0;
    ws.progress_on = false;
    ws.halt = &sh->halt;
    ws.worker = w;
    ws.beat = &me->beat;
    ws.r->strategy_state = state;
    /* no watchdog thread here (a thread made in a child forked from a
     * process with threads can wait forever on a lock held at the fork):
     * the parent watches the beat instead */
    me->rc = search_serial(&ws);
    me->executions = ws.executions;
    me->steps = ws.total_steps;
    me->redundant = ws.redundant;
    me->exhausted = ws.exhausted;
    me->out_of_time = ws.out_of_time;
    me->interrupted = ws.interrupted ? ws.interrupted : (int)weft__interrupt;
    const char *tmp = getenv("TMPDIR");
    for (unsigned k = 0; k < ws.nfound && k < SPLIT_FOUND; k++) {
        struct weft__found *f = &ws.found[k];
        snprintf(me->found[k].path, sizeof me->found[k].path,
                 "%s/weft-dpor-%ld-%u-%u.schedule",
                 tmp != NULL && tmp[0] == '/' && strlen(tmp) < 100 ? tmp
                                                                   : "/tmp",
                 (long)parent, w, k);
        if (weft__schedule_write_s(me->found[k].path, &f->s, "dpor") != 0)
            break;
        me->found[k].f = f->f;
        me->found[k].index = f->index;
        me->found[k].seed = f->seed;
        me->found[k].orig_steps = f->orig_steps;
        me->found[k].orig_pre = f->orig_pre;
        me->nfound = k + 1;
    }
    me->ended = true;
    weft__gcov_flush();
    fflush(NULL);
    _exit(0);
}

/* dpor over WEFT_JOBS forked workers: worker w searches part w of this
 * shard's tree (strategy_dpor.c splits it), and the parent takes their
 * failures in worker order, the lowest worker's first: the same failure
 * whatever the timing. A worker stops early only when a lower one has
 * found a failure (its own could not be the one reported). */
static int search_split(struct weft__search *s)
{
    const weft_config_t *cfg = s->cfg;
    unsigned jobs = cfg->jobs;
    size_t size =
        sizeof(struct split_shared) + jobs * sizeof(struct split_slot);
    struct split_shared *sh = mmap(NULL, size, PROT_READ | PROT_WRITE,
                                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        snprintf(s->error, sizeof s->error,
                 "cannot map the workers' shared memory: %s", strerror(errno));
        return -errno;
    }
    sh->halt = UINT32_MAX;
    pid_t parent = getpid(), pids[64];
    if (jobs > 64)
        jobs = 64;
    unsigned started = 0;
    int rc = 0;
    fflush(NULL);
    for (unsigned w = 0; w < jobs; w++) {
        pid_t p = fork();
        if (p == 0)
            split_worker(s, sh, w, jobs, parent);
        if (p < 0) {
            rc = -errno;
            snprintf(s->error, sizeof s->error,
                     "cannot fork worker %u of %u: %s", w + 1, jobs,
                     strerror(errno));
            break;
        }
        pids[started++] = p;
    }
    bool passed_on = false;
    uint64_t beats[64] = { 0 };
    double since[64];
    for (unsigned w = 0; w < started; w++)
        since[w] = weft__wall();
    for (unsigned left = started; left > 0;) {
        /* a worker whose execution makes no progress for the hang
         * timeout is stopped: its part cannot be finished here */
        for (unsigned w = 0; w < started && cfg->hang_timeout > 0; w++) {
            uint64_t b = __atomic_load_n(&sh->w[w].beat, __ATOMIC_RELAXED);
            if (pids[w] <= 0 || b != beats[w]) {
                beats[w] = b;
                since[w] = weft__wall();
            } else if (weft__wall() - since[w] > cfg->hang_timeout) {
                kill(pids[w], SIGKILL);
                if (rc == 0) {
                    rc = -ETIMEDOUT;
                    snprintf(s->error, sizeof s->error,
                             "worker %u of the split search ran one execution "
                             "for over %u s (a hang in its part of the tree: "
                             "run without WEFT_JOBS to have it reported)",
                             w + 1, cfg->hang_timeout);
                }
                since[w] = weft__wall();
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
            if (pids[w] <= 0 || waitpid(pids[w], &status, WNOHANG) <= 0)
                continue;
            pids[w] = 0;
            left--;
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && sh->w[w].ended)
                continue;
            if (rc == 0 && sh->w[w].interrupted == 0 && !weft__interrupt) {
                rc = sh->w[w].rc < 0 ? sh->w[w].rc : -ECHILD;
                snprintf(s->error, sizeof s->error,
                         "worker %u of the split search %s %d%s", w + 1,
                         WIFSIGNALED(status) ? "died of signal"
                                             : "exited with status",
                         WIFSIGNALED(status) ? WTERMSIG(status)
                                             : WEXITSTATUS(status),
                         sh->w[w].rc < 0 ? ": could not start its part" : "");
            }
        }
        if (left > 0) {
            struct timespec ts = { 0, 5 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
    }
    s->exhausted = started == jobs;
    for (unsigned w = 0; w < started; w++) {
        struct split_slot *sl = &sh->w[w];
        s->executions += sl->executions;
        s->total_steps += sl->steps;
        s->redundant += sl->redundant;
        s->exhausted = s->exhausted && sl->exhausted && sl->ended;
        s->out_of_time |= sl->out_of_time;
        if (sl->interrupted != 0 && s->interrupted == 0)
            s->interrupted = sl->interrupted;
        for (unsigned k = 0; k < sl->nfound; k++) {
            bool take = rc == 0 && s->nfound < MAX_FOUND &&
                        (cfg->keep_going || s->nfound == 0);
            for (unsigned i = 0; take && i < s->nfound; i++)
                take = !weft__same_failure(&s->found[i].f, &sl->found[k].f);
            struct weft__found *f = &s->found[s->nfound];
            char err[300];
            if (take) {
                memset(f, 0, sizeof *f);
                if (weft__schedule_read(sl->found[k].path, &f->s, err,
                                        sizeof err) != 0) {
                    rc = -EIO;
                    snprintf(s->error, sizeof s->error,
                             "a worker's failure cannot be read back: %s", err);
                } else {
                    f->f = sl->found[k].f;
                    f->index = sl->found[k].index;
                    f->seed = sl->found[k].seed;
                    f->orig_steps = sl->found[k].orig_steps;
                    f->orig_pre = sl->found[k].orig_pre;
                    s->nfound++;
                }
            }
            unlink(sl->found[k].path);
        }
    }
    if (s->nfound > 0 && !cfg->keep_going)
        s->exhausted = false;
    if (weft__interrupt != 0 && s->interrupted == 0)
        s->interrupted = weft__interrupt;
    munmap(sh, size);
    return rc;
}

/* ------------------------------------------------------ persisted failures */

/* DIR/<name>: the test's folder of persisted failures, allocated (NULL
 * when out of memory). The name is one path component: slashes, blanks
 * and backslashes become '_', and "", "." or ".." get a '_' in front, so
 * no name leads out of DIR. */
static char *failure_dir_path(const weft_config_t *cfg)
{
    char *name = weft__strdup(cfg->name);
    if (name == NULL)
        return NULL;
    for (char *p = name; *p; p++)
        if (*p == '/' || *p == ' ' || *p == '\\')
            *p = '_';
    bool dots = strspn(name, ".") == strlen(name) && strlen(name) <= 2;
    char *dir =
        weft__aprintf("%s/%s%s", cfg->failure_dir, dots ? "_" : "", name);
    weft__free(name);
    return dir;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replay each schedule persisted for this test, in name order. A failure
 * that still fails is found again; one that passes or no longer replays
 * is said so. */
static int replay_persisted(struct weft__search *s)
{
    const weft_config_t *cfg = s->cfg;
    if (cfg->failure_dir == NULL || cfg->name == NULL)
        return 0;
    char *dir = failure_dir_path(cfg);
    if (dir == NULL)
        return -ENOMEM;
    DIR *d = opendir(dir);
    if (d == NULL) {
        weft__free(dir);
        return 0;
    }
    char **names = NULL;
    uint32_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 10 || strcmp(e->d_name + l - 9, ".schedule") != 0)
            continue;
        if (weft__grow(&names, &cap, n + 1, sizeof *names) != 0)
            break;
        names[n] = weft__alloc(l + 1);
        if (names[n] == NULL)
            break;
        memcpy(names[n++], e->d_name, l + 1);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    int rc = 0;
    for (uint32_t i = 0; i < n; i++) {
        char err[512];
        struct weft__schedule sch;
        if (rc != 0 || (s->nfound > 0 && !cfg->keep_going))
            continue;
        char *path = weft__aprintf("%s/%s", dir, names[i]);
        if (path == NULL) {
            rc = -ENOMEM;
            continue;
        }
        if (weft__schedule_read(path, &sch, err, sizeof err) != 0) {
            if (!cfg->quiet)
                fprintf(stderr, "weft: %s: skipping persisted failure: %s\n",
                        cfg->name, err);
            weft__free(path);
            continue;
        }
        /* a persisted failure that passes now is fixed, not diverged */
        sch.finding = 0;
        void *st = NULL;
        if (weft__replay_create(&st, &sch) != 0) {
            weft__schedule_free(&sch);
            weft__free(path);
            rc = -ENOMEM;
            continue;
        }
        struct weft__run *r = s->r;
        r->strategy = &weft__strategy_replay;
        r->strategy_state = st;
        r->seed = sch.seed;
        r->max_steps = sch.max_steps;
        r->interruptible = true;
        int e2 =
            weft__interrupt != 0 ? -EINTR : weft__run_one(r, s->body, s->arg);
        r->interruptible = false;
        s->persisted++;
        if (e2 == -EINTR) {
            s->interrupted = weft__interrupt;
            s->resume = s->first;
            rc = -EINTR; /* no more of them, and no search */
        } else if (e2 != 0) {
            rc = e2;
        } else if (r->failed &&
                   r->finding.kind != WEFT_FINDING_NONDETERMINISM) {
            if (!cfg->quiet)
                fprintf(stderr, "weft: %s: persisted failure %s still fails\n",
                        cfg->name, path);
            int k = weft__search_found(s, UINT64_MAX);
            if (k < 0)
                rc = k;
            else if (k > 0) {
                s->found[s->nfound - 1].path = path; /* it keeps it */
                path = NULL;
            }
        } else if (!cfg->quiet) {
            fprintf(stderr, "weft: %s: persisted failure %s %s\n", cfg->name,
                    path,
                    r->failed ? "no longer replays (the program changed?)"
                              : "passes now");
        }
        r->strategy = s->st;
        r->strategy_state = s->state;
        r->max_steps = cfg->max_steps;
        weft__free(st);
        weft__schedule_free(&sch);
        weft__free(path);
    }
    for (uint32_t i = 0; i < n; i++)
        weft__free(names[i]);
    weft__free(names);
    weft__free(dir);
    return rc;
}

/* ---------------------------------------------------------------- reports */

static void quoted(struct weft__buf *b, const char *arg, bool first)
{
    if (!first)
        weft__buf_printf(b, " ");
    weft__buf_shell_word(b, arg);
}

/* This program's command line, shell-quoted, for the replay line. */
static void command_line(struct weft__buf *b)
{
    if (weft__args_argv != NULL) {
        for (int i = 0; i < weft__args_argc; i++)
            quoted(b, weft__args_argv[i], i == 0);
        return;
    }
    FILE *f = fopen("/proc/self/cmdline", "r");
    if (f == NULL) {
        weft__buf_printf(b, "<this program>");
        return;
    }
    struct weft__buf arg = { 0 };
    int c;
    bool first = true;
    /* Started through the dynamic loader (ld.so prog args), the command
     * line begins with the loader's own arguments: start at the program,
     * which glibc names in program_invocation_name. */
    bool started = program_invocation_name == NULL;
    while ((c = fgetc(f)) != EOF) {
        if (c != '\0') {
            weft__buf_printf(&arg, "%c", c);
            continue;
        }
        const char *a = arg.s != NULL ? arg.s : "";
        if (started || strcmp(a, program_invocation_name) == 0) {
            started = true;
            quoted(b, a, first);
            first = false;
        }
        arg.len = 0;
        if (arg.s != NULL)
            arg.s[0] = '\0';
    }
    weft__free(arg.s);
    if (first) /* the program's name was not found: fall back */
        quoted(b,
               program_invocation_name ? program_invocation_name
                                       : "<this program>",
               true);
    fclose(f);
}

/* The settings beyond the seed that shape an execution. */
static void settings_line(struct weft__search *s, struct weft__buf *out)
{
    const weft_config_t *cfg = s->cfg;
    weft_config_t def;
    weft_config_init(&def);
    if (cfg->max_steps != def.max_steps)
        weft__buf_printf(out, " WEFT_MAX_STEPS=%llu",
                         (unsigned long long)cfg->max_steps);
    if (cfg->spurious != def.spurious)
        weft__buf_printf(out, " WEFT_SPURIOUS=%u", cfg->spurious);
    if (cfg->stack_size != def.stack_size)
        weft__buf_printf(out, " WEFT_STACK_SIZE=%zu", cfg->stack_size);
    if (!cfg->shrink)
        weft__buf_printf(out, " WEFT_SHRINK=0");
    s->st->describe(s->state, out);
}

static void seed_line(struct weft__search *s, uint64_t seed,
                      struct weft__buf *out)
{
    weft__buf_printf(out, "WEFT_SEED=%llu WEFT_ITERATIONS=1",
                     (unsigned long long)seed);
    settings_line(s, out);
}

/* The line that runs the rest of an interrupted search: execution i0
 * on, as the seed of i0 is where a search from it starts (a shard's
 * stride stays, as shard 1 of the same count). */
static void resume_line(struct weft__search *s, struct weft__buf *out)
{
    const weft_config_t *cfg = s->cfg;
    uint64_t i0 = s->resume;
    if (!s->st->seed_replays) {
        weft__buf_printf(out,
                         "  resume:    none: a %s search does not resume "
                         "from a seed; run it again\n",
                         s->st->name);
        return;
    }
    if (i0 >= cfg->iterations) {
        weft__buf_printf(out, "  resume:    nothing is left to run\n");
        return;
    }
    weft__buf_printf(out, "  resume:    WEFT_SEED=%llu WEFT_ITERATIONS=%llu",
                     (unsigned long long)weft__exec_seed(cfg->seed, i0),
                     (unsigned long long)(cfg->iterations - i0));
    if (s->stride > 1)
        weft__buf_printf(out, " WEFT_SHARD=1/%llu",
                         (unsigned long long)s->stride);
    settings_line(s, out);
    weft__buf_printf(out, " ");
    if (cfg->replay_hint)
        weft__buf_printf(out, "%s", cfg->replay_hint);
    else
        command_line(out);
    weft__buf_printf(out, "\n");
}

/* Write a failure's schedule where it goes: back to the persisted file it
 * came from, else the persisted failure directory (one file per distinct
 * failure, named by its trace hash, so runs sharing the folder agree),
 * else WEFT_SCHEDULE_OUT (the first failure), else a new file of its own
 * in the temporary directory. *path gets its name (allocated), also when
 * the write fails, for the message; 0 or -errno. */
static int write_schedule(struct weft__search *s, struct weft__found *f,
                          const struct weft__schedule *rec, unsigned k,
                          uint64_t hash, char **path)
{
    const weft_config_t *cfg = s->cfg;
    struct weft__out o;
    int rc;
    *path = NULL;
    if (f->path != NULL) {
        *path = weft__strdup(f->path);
    } else if (cfg->failure_dir != NULL && cfg->name != NULL) {
        char *dir = failure_dir_path(cfg);
        if (dir == NULL)
            return -ENOMEM;
        mkdir(cfg->failure_dir, 0777);
        mkdir(dir, 0777);
        char kind[64];
        snprintf(kind, sizeof kind, "%s", weft_finding_name(f->f.kind));
        for (char *p = kind; *p; p++)
            if (*p == ' ')
                *p = '-';
        *path = weft__aprintf("%s/%s-%016llx.schedule", dir, kind,
                              (unsigned long long)hash);
        weft__free(dir);
    } else if (cfg->schedule_out != NULL && k == 0) {
        *path = weft__strdup(cfg->schedule_out);
    } else {
        /* A name nobody can guess or plant beforehand (mkstemps, mode
         * 0600): the temporary directory is shared. */
        const char *tmp = getenv("TMPDIR");
        char prefix[64];
        snprintf(prefix, sizeof prefix, "weft-%ld-%u-", (long)getpid(), k);
        rc = weft__out_open_unique(&o, tmp && *tmp ? tmp : "/tmp", prefix,
                                   ".schedule");
        if (rc != 0) {
            *path = weft__aprintf("%s/%sXXXXXX.schedule",
                                  tmp && *tmp ? tmp : "/tmp", prefix);
            return rc;
        }
        *path = weft__strdup(o.path);
        if (*path == NULL) {
            weft__out_discard(&o);
            return -ENOMEM;
        }
        return weft__schedule_put(&o, rec, s->st->name);
    }
    if (*path == NULL)
        return -ENOMEM;
    rc = weft__out_open(&o, *path);
    if (rc != 0)
        return rc;
    return weft__schedule_put(&o, rec, s->st->name);
}

/* The search this process is running (weft__replay_now). */
static struct weft__search *current_search;

int weft__replay_now(struct weft__buf *out)
{
    struct weft__search *s = current_search;
    if (s == NULL || s->r == NULL)
        return -1;
    const weft_config_t *cfg = s->cfg;
    struct weft__run *r = s->r;
    struct weft__buf cmd = { 0 };
    if (cfg->replay_hint)
        weft__buf_printf(&cmd, "%s", cfg->replay_hint);
    else
        command_line(&cmd);
    int rc = 0;
    if (s->st->seed_replays && r->strategy == s->st) {
        seed_line(s, r->seed, out);
        weft__buf_printf(out, " %s", cmd.s ? cmd.s : "");
    } else {
        /* the decisions so far: the execution replays up to here */
        static unsigned n;
        char path[400];
        const char *tmp = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/weft-%ld-now%u.schedule",
                 tmp && *tmp ? tmp : "/tmp", (long)getpid(), n++);
        rc = weft__schedule_write(path, r);
        if (rc == 0)
            weft__buf_printf(out, "WEFT_REPLAY=%s %s", path,
                             cmd.s ? cmd.s : "");
    }
    weft__free(cmd.s);
    return rc;
}

const char *weft__stop_why;
bool weft__quiet_pass;
bool weft__once_if_unchosen;
void (*weft__rerun_quiet)(bool on);
bool (*weft__confirm)(const char *schedule, weft_finding_t kind, uint64_t hash,
                      char *note, size_t len);

/* Set by weft-cc: report a failure from the execution that found it,
 * without replaying it (the program's globals are no longer fresh in that
 * process). */
bool weft__report_first_run;
void (*weft__found_hook)(uint64_t seed);
/* Set by weft-cc's isolated children: executions before this one (each
 * child runs one execution of the parent's exploration). */
uint64_t weft__exec_offset;

/* Shrink, replay with the whole trace, write the schedule, report. */
static int report_found(struct weft__search *s, unsigned k, weft_result_t *res)
{
    const weft_config_t *cfg = s->cfg;
    struct weft__run *r = s->r;
    struct weft__found *f = &s->found[k];
    uint64_t shrink_runs = 0;
    /* Shrinking and the replay re-run executions already counted:
     * synchronization coverage counts each execution of the search once. */
    struct weft__cov *cov = r->cov;
    r->cov = NULL;
    /* A hang is reported as it was found: each run of it would hang for
     * as long again. */
    bool rerun = !f->no_rerun;
    if (f->report != NULL && rerun) {
        r->cov = cov;
        if (!cfg->quiet)
            fputs(f->report, stderr);
        if (k == 0) {
            res->finding = f->f.kind;
            res->seed = f->seed;
            res->execution =
                f->index == UINT64_MAX ? 0 : f->index + 1 + weft__exec_offset;
            res->steps = res->shrunk_steps = f->orig_steps;
            res->time = f->time;
            res->trace_hash = f->hash;
            snprintf(res->message, sizeof res->message, "%s", f->f.message);
            res->report = f->report;
            f->report = NULL;
        }
        return 0;
    }
    if (weft__rerun_quiet != NULL)
        weft__rerun_quiet(true);
    if (rerun && cfg->shrink && f->path == NULL)
        shrink_runs =
            weft__shrink(r, s->body, s->arg, &f->s, &f->f, SHRINK_BUDGET);

    /* The final replay keeps every event if a trace file wants them. */
    if (rerun && cfg->trace_out != NULL && k == 0) {
        uint32_t cap = r->ring_cap;
        while (cap < 4 * f->s.n + 4 * f->orig_steps + 64 && cap < (1u << 22))
            cap *= 2;
        struct weft__event *ring = weft__realloc(r->ring, cap * sizeof *ring);
        if (ring != NULL) {
            r->ring = ring;
            r->ring_cap = cap;
        }
    }
    /* Report the execution as it ran, when asked and still at hand. */
    bool in_place = weft__report_first_run && shrink_runs == 0 &&
                    cfg->trace_out == NULL && r->failed && r->seed == f->seed &&
                    r->step == f->orig_steps &&
                    weft__same_failure(&r->finding, &f->f);
    if (rerun && !in_place) {
        void *st = NULL;
        if (weft__replay_create(&st, &f->s) != 0) {
            if (weft__rerun_quiet != NULL)
                weft__rerun_quiet(false);
            r->cov = cov;
            return -ENOMEM;
        }
        r->strategy = &weft__strategy_replay;
        r->strategy_state = st;
        r->seed = f->seed;
        int e = weft__run_one(r, s->body, s->arg);
        r->strategy = s->st;
        r->strategy_state = s->state;
        weft__free(st);
        if (e != 0) {
            if (weft__rerun_quiet != NULL)
                weft__rerun_quiet(false);
            r->cov = cov;
            return e;
        }
    }
    if (weft__rerun_quiet != NULL)
        weft__rerun_quiet(false);
    r->cov = cov;

    /* A file only where it is asked for, or where the seed cannot
     * replay the execution (a systematic search): the seed replays the
     * same report, shrinking included, and leaves no files behind. */
    char *path = NULL;
    int w = -ENOENT;
    bool want_file = f->path != NULL || cfg->schedule_out != NULL ||
                     (cfg->failure_dir != NULL && cfg->name != NULL) ||
                     !s->st->seed_replays || f->index == UINT64_MAX ||
                     weft__confirm != NULL;
    if (want_file) {
        /* with what it ended: a replay that passes has diverged (a hang
         * is not run again: as it was found) */
        struct weft__schedule rec = f->s;
        rec.finding = rerun && r->failed ? r->finding.kind : f->f.kind;
        rec.hash = rerun ? (r->failed ? weft__mix(r->hash) : 0) : f->hash;
        w = write_schedule(s, f, &rec, k, rerun ? weft__mix(r->hash) : f->hash,
                           &path);
        if (w != 0 && !cfg->quiet)
            fprintf(stderr, "weft: cannot write the schedule file %s: %s\n",
                    path ? path : "(out of memory)", strerror(-w));
    }

    /* Confirmed in a fresh process before it is told (weft-cc's snapshot
     * executions: nothing an earlier execution left behind may make a
     * finding). */
    char confirm_note[600] = "";
    bool confirmed = true;
    if (weft__confirm != NULL && w == 0 && (r->failed || !rerun))
        confirmed = weft__confirm(path, rerun ? r->finding.kind : f->f.kind,
                                  rerun ? weft__mix(r->hash) : f->hash,
                                  confirm_note, sizeof confirm_note);

    struct weft__buf rep = { 0 };
    uint64_t exec_no =
        f->index == UINT64_MAX ? 0 : f->index + 1 + weft__exec_offset;
    if (!confirmed)
        weft__buf_printf(&rep,
                         "weft: NOT CONFIRMED: the failure below did not "
                         "happen again when its schedule was replayed in a "
                         "fresh process, so an earlier execution may have "
                         "left state behind that weft did not undo: %s\n",
                         confirm_note);
    if (rerun) {
        weft__report(r, exec_no, &rep);
    } else if (f->report != NULL) {
        weft__buf_printf(&rep, "%s", f->report);
        weft__free(f->report);
        f->report = NULL;
    }
    if (confirmed && confirm_note[0] != '\0')
        weft__buf_printf(&rep, "  confirmed: %s\n", confirm_note);
    unsigned pre = weft__schedule_preemptions(&f->s);
    if (shrink_runs > 0)
        weft__buf_printf(&rep,
                         "  shrunk:    %llu steps, %u preemption%s (from %llu "
                         "steps, %u; %llu tries)\n",
                         (unsigned long long)r->step, pre, pre == 1 ? "" : "s",
                         (unsigned long long)f->orig_steps, f->orig_pre,
                         (unsigned long long)shrink_runs);
    if (rerun && (!r->failed || !weft__same_failure(&r->finding, &f->f)))
        weft__buf_printf(&rep,
                         "  note:      replaying the schedule did not fail "
                         "the same way: the program is nondeterministic "
                         "outside weft's control\n");
    struct weft__buf cmd = { 0 };
    if (cfg->replay_hint)
        weft__buf_printf(&cmd, "%s", cfg->replay_hint);
    else
        command_line(&cmd);
    /* The seed reproduces this very report (shrinking is deterministic);
     * the schedule file replays the execution shown, directly. */
    bool by_seed = s->st->seed_replays && f->index != UINT64_MAX;
    if (by_seed) {
        weft__buf_printf(&rep, "  replay:    ");
        seed_line(s, f->seed, &rep);
        weft__buf_printf(&rep, " %s\n", cmd.s ? cmd.s : "");
    }
    if (w == 0) {
        weft__buf_printf(
            &rep, "  %s WEFT_REPLAY=", by_seed ? "or:       " : "replay:   ");
        weft__buf_shell_word(&rep, path);
        weft__buf_printf(&rep, " %s\n", cmd.s ? cmd.s : "");
    } else if (want_file && !by_seed) {
        /* no line replays it: say why, in the report itself */
        weft__buf_printf(&rep,
                         "  replay:    none: the schedule file could not be "
                         "written (%s: %s)\n",
                         path ? path : "(out of memory)", strerror(-w));
    }
    weft__free(cmd.s);
    if (!cfg->quiet && rep.s != NULL)
        fputs(rep.s, stderr);

    if (k == 0) {
        res->finding = f->f.kind;
        res->seed = f->seed;
        res->execution = exec_no;
        res->steps = rerun ? r->step : f->orig_steps;
        res->time = rerun ? r->now : f->time;
        res->trace_hash = rerun ? weft__mix(r->hash) : f->hash;
        res->shrunk_steps = f->orig_steps;
        res->preemptions = pre;
        res->shrunk_preemptions = f->orig_pre;
        /* The message of the execution shown, if it failed the same way;
         * else the original's (the program is not deterministic). */
        bool same =
            rerun && r->failed && weft__same_failure(&r->finding, &f->f);
        snprintf(res->message, sizeof res->message, "%s",
                 same ? r->finding.message : f->f.message);
        /* a path too long for the field is left out, never cut short
         * (the report has it whole) */
        if (w == 0 && strlen(path) < sizeof res->schedule_file)
            memcpy(res->schedule_file, path, strlen(path) + 1);
        res->report = rep.s;
        /* r still holds a hang only if nothing ran after it */
        bool held = rerun || (r->failed && r->seed == f->seed &&
                              r->finding.kind == f->f.kind);
        if (cfg->trace_out != NULL && held) {
            int e = weft__export_trace(cfg->trace_out, r);
            if (e != 0 && s->out_err == 0)
                s->out_err = e;
        }
    } else {
        weft__free(rep.s);
    }
    weft__free(path);
    return 0;
}

/* --------------------------------------------------------- the entry point */

static const struct weft__strategy *const strategies[] = {
    &weft__strategy_random, &weft__strategy_pct, &weft__strategy_dfs,
    &weft__strategy_dpor,   &weft__strategy_pos, &weft__strategy_replay,
};

static int resolve(weft_config_t *cfg, const struct weft__strategy **out,
                   bool *from_env)
{
    char err[512];
    *from_env = false;
    if (cfg->use_env) {
        const char *before = cfg->replay_file;
        if (weft_config_from_env(cfg, err, sizeof err) != 0) {
            fprintf(stderr, "weft: %s\n", err);
            exit(2);
        }
        *from_env = cfg->replay_file != before;
    }
    if (cfg->iterations == 0 || cfg->max_steps == 0 ||
        cfg->stack_size < 16384 || cfg->shard_count == 0 ||
        cfg->shard_index == 0 || cfg->shard_index > cfg->shard_count) {
        fprintf(stderr, "weft: invalid configuration: iterations and "
                        "max_steps must be positive, stack_size >= 16k, "
                        "shard k/n with 1 <= k <= n\n");
        return -EINVAL;
    }
    const char *want = cfg->replay_file ? "replay"
                       : cfg->strategy  ? cfg->strategy
                                        : "random";
    for (size_t i = 0; i < sizeof strategies / sizeof *strategies; i++)
        if (strcmp(want, strategies[i]->name) == 0) {
            *out = strategies[i];
            return 0;
        }
    fprintf(
        stderr,
        "weft: unknown strategy '%s' (random, pct, dfs, dpor, pos, replay)\n",
        want);
    return -EINVAL;
}

/* Why the exploration could not go on (rc < 0), as one line on stderr,
 * quiet or not: an error must never read like a pass. */
static void explain_error(struct weft__search *s, int rc)
{
    const weft_config_t *cfg = s->cfg;
    char buf[200];
    const char *why = s->error;
    if (why[0] == '\0' && s->r != NULL && s->r->error[0] != '\0')
        why = s->r->error;
    if (why[0] == '\0') {
        if (s->out_err != 0 && rc == s->out_err)
            why = "an output file could not be written (above); the "
                  "executions themselves ran";
        else if (rc == -ENOMEM && s->r != NULL && s->r->oom)
            why = "out of memory inside an execution";
        else {
            snprintf(buf, sizeof buf, "%s", strerror(-rc));
            why = buf;
        }
    }
    fprintf(stderr,
            "weft: %s%serror: %s; stopped after %llu execution%s, without a "
            "verdict\n",
            cfg->name ? cfg->name : "", cfg->name ? ": " : "", why,
            (unsigned long long)s->executions, s->executions == 1 ? "" : "s");
}

static void summary(struct weft__search *s, weft_result_t *res, int rc)
{
    const weft_config_t *cfg = s->cfg;
    if (!s->parallel)
        s->nset = weft__distinct_count(s->distinct, &s->set_full);
    res->executions = s->executions;
    res->total_steps = s->total_steps;
    res->exhausted = s->exhausted;
    res->distinct = s->nset;
    res->failures = s->nfound;
    bool iterated = s->st == &weft__strategy_dfs &&
                    cfg->preemption_bound == WEFT_PREEMPTIONS_ITERATE &&
                    s->executions > 0;
    if (s->st == &weft__strategy_dfs && s->executions > 0) {
        bool complete;
        weft__dfs_level(s->state, &res->preemption_level, &complete);
    }
    if (s->interrupted != 0 && rc >= 0) {
        struct weft__buf b = { 0 };
        weft__buf_printf(
            &b,
            "weft: %s%sinterrupted by %s after %llu "
            "execution%s (%s%llu distinct, %llu steps)%s\n",
            cfg->name ? cfg->name : "", cfg->name ? ": " : "",
            s->interrupted == SIGINT ? "SIGINT" : "SIGTERM",
            (unsigned long long)s->executions, s->executions == 1 ? "" : "s",
            s->set_full ? "about " : "", (unsigned long long)s->nset,
            (unsigned long long)s->total_steps,
            s->nfound > 0 ? "; the failures found are reported "
                            "below"
                          : ", no failure so far");
        resume_line(s, &b);
        if (b.s != NULL)
            fputs(b.s, stderr); /* quiet or not: the run did not finish */
        weft__free(b.s);
    }
    if (s->nfound > 0 || rc < 0 || s->interrupted != 0)
        return;
    struct weft__run *r = s->r;
    res->seed = r->seed;
    res->steps = r->step;
    res->time = r->now;
    res->trace_hash = weft__mix(r->hash);
    if (cfg->quiet || weft__quiet_pass)
        return;
    if (r->error[0] != '\0')
        fprintf(stderr, "weft: %s%snote: %s (the body went on without it)\n",
                cfg->name ? cfg->name : "", cfg->name ? ": " : "", r->error);
    fprintf(stderr,
            "weft: %s%s%llu execution%s%s, no failure (strategy %s, %s%llu "
            "distinct, %llu steps",
            cfg->name ? cfg->name : "", cfg->name ? ": " : "",
            (unsigned long long)s->executions, s->executions == 1 ? "" : "s",
            !s->exhausted ? ""
            : s->st != &weft__strategy_dpor
                ? " (the search is exhausted: that is all of them)"
            : cfg->preemption_bound < 0
                ? " (the search is exhausted: they cover every interleaving "
                  "of the visible operations, under the step bound, up to "
                  "the order of independent ones)"
                : " (the search is exhausted within its preemption bound: "
                  "WEFT_PREEMPTIONS=-1 covers every interleaving)",
            s->st->name, s->set_full ? "about " : "",
            (unsigned long long)s->nset, (unsigned long long)s->total_steps);
    if (iterated)
        fprintf(stderr, "; preemption bounds iterated up to %d%s",
                res->preemption_level, s->exhausted ? "; exhausted" : "");
    if (s->out_of_time)
        fprintf(stderr, "; stopped by the %.1fs time budget", cfg->time_budget);
    if (s->stopped != NULL)
        fprintf(stderr, "; stopped: %s", s->stopped);
    if (s->redundant > 0)
        fprintf(stderr, "; %llu redundant executions cut short",
                (unsigned long long)s->redundant);
    if (s->stride > 1)
        fprintf(stderr, "; shard %u/%u", cfg->shard_index, cfg->shard_count);
    if (s->executions == 1)
        fprintf(stderr, "; trace hash %016llx)\n",
                (unsigned long long)res->trace_hash);
    else
        fprintf(stderr, ")\n");
}

int weft_explore(const weft_config_t *cfg_in, weft_body_fn *body, void *arg,
                 weft_result_t *res)
{
    weft_config_t cfg;
    weft_result_t dummy;
    char err[512];
    if (res == NULL)
        res = &dummy;
    memset(res, 0, sizeof *res);
    res->preemption_level = -1;
    if (weft__current != NULL)
        weft__misuse("weft_explore", "called inside an exploration");
    if (body == NULL)
        return -EINVAL;
    if (cfg_in != NULL)
        cfg = *cfg_in;
    else
        weft_config_init(&cfg);

    const struct weft__strategy *st = NULL;
    bool replay_from_env;
    int rc = resolve(&cfg, &st, &replay_from_env);
    if (rc != 0) {
        if (cfg.json_out != NULL)
            (void)weft__export_json(cfg.json_out, &cfg, "none", res, rc, NULL);
        return rc;
    }
    void *state = NULL;
    snprintf(err, sizeof err, "cannot start the %s strategy: %s", st->name,
             "out of memory");
    rc = st->create(&state, &cfg, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr,
                "weft: %s%serror: %s; stopped after 0 executions, without a "
                "verdict\n",
                cfg.name ? cfg.name : "", cfg.name ? ": " : "", err);
        if (replay_from_env && rc == -EINVAL)
            exit(2);
        if (cfg.json_out != NULL)
            (void)weft__export_json(cfg.json_out, &cfg, st->name, res, rc,
                                    NULL);
        return rc;
    }
    if (st == &weft__strategy_replay) {
        /* A schedule carries the configuration that shaped it. */
        const struct weft__schedule *sch = weft__replay_schedule(state);
        cfg.seed = sch->seed;
        cfg.max_steps = sch->max_steps;
        cfg.spurious = sch->spurious;
        cfg.iterations = 1;
        cfg.shard_index = cfg.shard_count = 1;
        cfg.shrink = false;
        cfg.failure_dir = NULL;
    }

    struct weft__search s;
    bool json_done = false;
    memset(&s, 0, sizeof s);
    s.cfg = &cfg;
    s.st = st;
    s.state = state;
    s.body = body;
    s.arg = arg;
    s.first = cfg.shard_index - 1;
    s.stride = cfg.shard_count;
    s.t0 = s.last_draw = weft__wall();
    s.t0p = wall_precise();
    s.tty = isatty(2);
    s.progress_on = cfg.progress > 0 || (cfg.progress < 0 && s.tty);
    s.r = weft__zalloc(sizeof *s.r); /* torn down on every path */
    s.distinct = weft__zalloc(weft__distinct_size());
    if (s.r == NULL || s.distinct == NULL ||
        weft__run_prepare(s.r, &cfg) != 0) {
        rc = -ENOMEM;
        goto out;
    }
    s.r->strategy = st;
    s.r->strategy_state = state;
    /* Searches whose seed replays an execution record lean: a failure is
     * re-run in full from its seed. Not with coverage (it would count the
     * re-run), nor where a failure is reported as it ran (weft-cc's
     * snapshot children: no fresh globals to re-run on). */
    {
        const char *lean = getenv("WEFT_LEAN");
        if (lean != NULL && lean[0] != '\0' && strcmp(lean, "0") != 0 &&
            strcmp(lean, "1") != 0) {
            fprintf(stderr,
                    "weft: WEFT_LEAN must be 0 (record every execution in "
                    "full) or 1, not '%s'\n",
                    lean);
            rc = -EINVAL;
            goto out;
        }
        s.lean = (st == &weft__strategy_random || st == &weft__strategy_pct) &&
                 cfg.sync_coverage == NULL && !weft__report_first_run &&
                 !weft__lean_off && !(lean != NULL && strcmp(lean, "0") == 0);
    }
    if (cfg.sync_coverage != NULL) {
        if (weft__cov_measure(cfg.sync_measure ? cfg.sync_measure
                                               : "contended") < 0) {
            fprintf(stderr, "weft: unknown sync coverage measure '%s'\n",
                    cfg.sync_measure);
            rc = -EINVAL;
            goto out;
        }
        s.r->cov = weft__cov_get();
        s.r->cov_ops = &weft__cov_ops;
    }
    if (weft__signals_install() != 0) {
        rc = -ENOMEM;
        goto out;
    }
    s.resume = UINT64_MAX;
    weft__hang_start(s.r, cfg.hang_timeout);

    current_search = &s;
    rc = replay_persisted(&s);
    if (rc == -EINTR)
        rc = 0; /* s.interrupted says it */
    if (st == &weft__strategy_dpor) {
        /* dpor splits its own tree between the shards (strategy_dpor.c):
         * each runs its part of the search from execution 0 */
        s.first = 0;
        s.stride = 1;
    } else if (st == &weft__strategy_dfs && cfg.shard_count > 1) {
        /* A systematic search is one sequence: it is not split. */
        if (!cfg.quiet)
            fprintf(stderr,
                    "weft: %s is not sharded: shard 1/%u runs the "
                    "whole search, the others nothing\n",
                    st->name, cfg.shard_count);
        s.first = cfg.shard_index == 1 ? 0 : cfg.iterations;
        s.stride = 1;
    }
    if (rc == 0 && st == &weft__strategy_pct && cfg.pct_steps == 0 &&
        (s.first != 0 || cfg.jobs > 1)) {
        /* pct learns its k from execution 0: run it first, uncounted,
         * where this process will not run it in order. */
        struct weft__cov *cov = s.r->cov;
        s.r->cov = NULL; /* not an execution of this shard */
        s.r->seed = weft__exec_seed(cfg.seed, 0);
        s.r->interruptible = true;
        rc = weft__interrupt ? -EINTR : weft__run_one(s.r, body, arg);
        s.r->interruptible = false;
        s.r->cov = cov;
        if (rc == -EINTR) {
            s.interrupted = weft__interrupt;
            s.resume = s.first;
            rc = 0;
        }
        if (rc == 0)
            st->next(state, s.r->step);
    }
    if (rc == 0 && !s.interrupted && (s.nfound == 0 || cfg.keep_going)) {
        if (cfg.jobs > 1 && st->seed_replays)
            rc = weft__search_parallel(&s);
        else if (cfg.jobs > 1 && st == &weft__strategy_dpor)
            rc = search_split(&s);
        else
            rc = search_serial(&s);
    }
    weft__progress(&s, true);
    summary(&s, res, rc);
    for (unsigned k = 0; rc == 0 && k < s.nfound; k++)
        rc = report_found(&s, k, res);
    if (rc == 0 && s.nfound > 1 && !cfg.quiet)
        fprintf(stderr, "weft: %s%s%u distinct failures (reported above)\n",
                cfg.name ? cfg.name : "", cfg.name ? ": " : "", s.nfound);
    if (cfg.sync_coverage != NULL && s.parallel) {
        if (!cfg.quiet)
            fprintf(stderr,
                    "weft: sync coverage: each worker wrote %s.worker<pid>; "
                    "merge them with scripts/weft-coverage.sh sync\n",
                    cfg.sync_coverage);
    } else if (s.r->cov != NULL) {
        weft__cov_schedules(s.nset);
        int e = weft__cov_write(&cfg, false);
        if (e != 0 && s.out_err == 0)
            s.out_err = e;
    }
    /* An output that was asked for and could not be written makes a
     * clean exploration an error (a finding stays the verdict). */
    if (rc == 0 && s.nfound == 0 && s.out_err != 0)
        rc = s.out_err;
    if (cfg.json_out != NULL) {
        json_done = true;
        int e = weft__export_json(cfg.json_out, &cfg, st->name, res, rc,
                                  s.interrupted ? "interrupted" : NULL);
        if (e != 0 && rc == 0 && s.nfound == 0)
            rc = s.out_err = e;
    }
    weft__hang_stop();
    weft__signals_restore();
    if (rc == 0 && s.nfound > 0)
        rc = 1;
out:
    current_search = NULL;
    weft__hang_stop();
    if (rc < 0) {
        res->executions = s.executions;
        explain_error(&s, rc);
        if (cfg.json_out != NULL && !json_done)
            (void)weft__export_json(cfg.json_out, &cfg, st->name, res, rc,
                                    NULL);
    }
    for (unsigned k = 0; k < s.nfound; k++) {
        weft__schedule_free(&s.found[k].s);
        weft__free(s.found[k].report);
        weft__free(s.found[k].path);
    }
    weft__free(s.distinct);
    if (s.r != NULL)
        weft__run_teardown(s.r);
    weft__free(s.r);
    st->destroy(state);
    weft__stack_trim(64);
    if (res == &dummy)
        weft_result_destroy(res);
    /* Interrupted: all is said and written; end as the signal would
     * have, with the status a shell expects (130, 143). */
    if (s.interrupted != 0)
        weft__interrupt_exit(s.interrupted);
    return rc;
}
