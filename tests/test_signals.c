/*
 * test_signals.c: an exploration as signals, exits and real blocking meet
 * it. SIGINT and SIGTERM stop it with a summary, the line that resumes it
 * and a JSON status, and the process then dies of the signal (a second one
 * at once); forked workers stop with it instead of running their share
 * orphaned. exit(), _exit() and _Exit() in a task are findings with a
 * replay line, not the end of the process. A step that blocks for real
 * (read on an empty pipe, poll, select, epoll_wait, accept) or spins with
 * no weft call is reported as a hang after WEFT_HANG_TIMEOUT seconds.
 *
 * Every scenario runs in a forked child, whose stderr comes back through
 * a pipe; this program is a child subreaper, so a worker orphaned by its
 * explorer's death comes back to it, where the tests look for it.
 */
#include "weft.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* ------------------------------------------------------------- helpers */

static char tmp_root[256];
static int ready_fd = -1; /* the child's end: the body says it runs */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

#define assert_contains(hay, needle) \
    contains_at((hay), (needle), __FILE__, __LINE__)

static void contains_at(const char *hay, const char *needle, const char *file,
                        int line)
{
    if (hay == NULL || strstr(hay, needle) == NULL) {
        print_error("%s:%d: expected \"%s\" in:\n%s\n", file, line, needle,
                    hay ? hay : "(null)");
        _fail(file, line);
    }
}

static void tell_ready(void)
{
    if (ready_fd >= 0) {
        (void)!write(ready_fd, "r", 1);
        close(ready_fd);
        ready_fd = -1;
    }
}

struct proc {
    pid_t pid;
    int err;   /* read end of its stderr */
    int ready; /* read end of its ready pipe */
    int status;
    char out[65536];
};

static void exit_now(int status, void *arg)
{
    (void)arg;
    _exit(status);
}

static void start(struct proc *p, int (*fn)(void *), void *arg)
{
    int e[2], r[2];
    assert_int_equal(pipe(e), 0);
    assert_int_equal(pipe(r), 0);
    fflush(NULL);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        close(e[0]);
        close(r[0]);
        dup2(e[1], 2);
        close(e[1]);
        ready_fd = r[1];
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGSEGV, SIG_DFL);
        signal(SIGABRT, SIG_DFL);
        on_exit(exit_now, NULL);
        alarm(120);
        _exit(fn(arg));
    }
    close(e[1]);
    close(r[1]);
    p->err = e[0];
    p->ready = r[0];
    fcntl(p->err, F_SETFL, O_NONBLOCK);
    p->out[0] = '\0';
}

/* Wait until the child's body says it runs. */
static void wait_ready(struct proc *p)
{
    struct pollfd pf = { p->ready, POLLIN, 0 };
    if (poll(&pf, 1, 30000) != 1)
        fail_msg("the child's body never started");
}

static void drain(struct proc *p)
{
    size_t n = strlen(p->out);
    ssize_t k;
    while (n + 1 < sizeof p->out &&
           (k = read(p->err, p->out + n, sizeof p->out - 1 - n)) > 0)
        n += (size_t)k;
    p->out[n] = '\0';
}

/* Wait up to `seconds` for the child; its status in p->status (-1 if it
 * did not end: it is killed). Its stderr in p->out. */
static void finish(struct proc *p, double seconds)
{
    double t0 = now_s();
    int st = 0;
    pid_t got = 0;
    while ((got = waitpid(p->pid, &st, WNOHANG)) == 0 &&
           now_s() - t0 < seconds) {
        drain(p);
        sleep_ms(10);
    }
    if (got == 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, &st, 0);
        p->status = -1;
    } else {
        p->status = st;
    }
    drain(p);
    close(p->err);
    close(p->ready);
}

/* Children of this process other than those the tests know: orphaned
 * workers come back here (this program is a child subreaper). Waits up
 * to `seconds` for them to end; returns how many were still running
 * (they are killed). */
static int orphans_left(double seconds)
{
    double t0 = now_s();
    for (;;) {
        int st;
        while (waitpid(-1, &st, WNOHANG) > 0)
            ;
        int alive = 0;
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d != NULL && (e = readdir(d)) != NULL) {
            char path[300], text[512];
            if (e->d_name[0] < '0' || e->d_name[0] > '9')
                continue;
            snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
            FILE *f = fopen(path, "r");
            if (f == NULL)
                continue;
            size_t n = fread(text, 1, sizeof text - 1, f);
            fclose(f);
            text[n] = '\0';
            char *close_paren = strrchr(text, ')');
            char state;
            long ppid;
            if (close_paren == NULL ||
                sscanf(close_paren + 1, " %c %ld", &state, &ppid) != 2)
                continue;
            if (ppid == (long)getpid() && state != 'Z') {
                alive++;
                if (now_s() - t0 >= seconds)
                    kill((pid_t)atol(e->d_name), SIGKILL);
            }
        }
        if (d != NULL)
            closedir(d);
        if (alive == 0 || now_s() - t0 >= seconds) {
            while (waitpid(-1, &st, WNOHANG) > 0)
                ;
            return alive;
        }
        sleep_ms(20);
    }
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void pinned(weft_config_t *c, uint64_t seed, uint64_t iterations)
{
    weft_config_init(c);
    c->use_env = false;
    c->progress = 0;
    c->strategy = "random";
    c->seed = seed;
    c->iterations = iterations;
}

static int status_of(int rc)
{
    return rc >= 0 ? rc : 100 + (-rc & 0x1f);
}

/* ------------------------------------------------- SIGINT and SIGTERM */

static void *busy_worker(void *arg)
{
    weft_mutex_t *m = arg;
    for (int i = 0; i < 30; i++) {
        weft_mutex_lock(m);
        weft_yield();
        weft_mutex_unlock(m);
    }
    return NULL;
}

/* A correct body with plenty of visible operations. */
static void busy_body(void *arg)
{
    (void)arg;
    tell_ready();
    weft_mutex_t m = WEFT_MUTEX_INITIALIZER;
    weft_thread_t a, b;
    weft_thread_spawn(&a, "a", busy_worker, &m);
    weft_thread_spawn(&b, "b", busy_worker, &m);
    weft_thread_join(a, NULL);
    weft_thread_join(b, NULL);
}

struct endless {
    unsigned jobs;
    char json[300];
    bool own_group; /* a process group of its own, as a shell's job */
};

#define ENDLESS 1000000000000ULL

static int run_endless(void *arg)
{
    struct endless *k = arg;
    if (k->own_group)
        setpgid(0, 0);
    weft_config_t c;
    pinned(&c, 7, ENDLESS);
    c.jobs = k->jobs;
    c.json_out = k->json;
    c.name = "endless";
    return status_of(weft_explore(&c, busy_body, NULL, NULL));
}

/* "after N executions", as printed */
static unsigned long long executions_in(const char *text)
{
    const char *p = strstr(text, "interrupted by ");
    p = p ? strstr(p, " after ") : NULL;
    if (p == NULL)
        fail_msg("no \"interrupted by ... after\" in:\n%s", text);
    return strtoull(p + 7, NULL, 10);
}

/* SIGTERM to an explorer with two workers (what `timeout --foreground`
 * sends: to the explorer alone). It passes the signal on, the workers
 * stop after their current execution, and it prints how far the search
 * got, the line that resumes it, writes the JSON with status
 * "interrupted", then dies of SIGTERM (status 143 in a shell). The old
 * explorer died at once, silent, and its workers ran their share on,
 * orphaned. */
static void sigterm_stops_the_workers_and_says_where_to_resume(void **state)
{
    (void)state;
    static struct endless k = { 2, "", false };
    static struct proc p;
    snprintf(k.json, sizeof k.json, "%s/endless.json", tmp_root);
    start(&p, run_endless, &k);
    wait_ready(&p);
    sleep_ms(300);
    kill(p.pid, SIGTERM);
    finish(&p, 20);
    int orphans = orphans_left(3);
    if (p.status == -1 || !WIFSIGNALED(p.status) ||
        WTERMSIG(p.status) != SIGTERM)
        fail_msg("status %#x (want death by SIGTERM):\n%s", p.status, p.out);
    assert_contains(p.out, "weft: endless: interrupted by SIGTERM after ");
    assert_contains(p.out, "no failure so far");
    assert_contains(p.out, "  resume:    WEFT_SEED=");
    assert_true(executions_in(p.out) > 0);
    const char *j = slurp(k.json);
    assert_contains(j, "\"status\": \"interrupted\"");
    assert_contains(j, "\"executions\": ");
    if (orphans != 0)
        fail_msg("%d worker(s) still running after their explorer died:\n%s",
                 orphans, p.out);
}

/* Send sig to every child of `parent` (its workers), not to it. */
static int signal_children(pid_t parent, int sig)
{
    int n = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        char path[300], text[512];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t len = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[len] = '\0';
        char *close_paren = strrchr(text, ')');
        char state;
        long ppid;
        if (close_paren != NULL &&
            sscanf(close_paren + 1, " %c %ld", &state, &ppid) == 2 &&
            ppid == (long)parent && kill((pid_t)atol(e->d_name), sig) == 0)
            n++;
    }
    if (d != NULL)
        closedir(d);
    return n;
}

/* What a Ctrl-C in a terminal does to an explorer with two workers: the
 * signal reaches all three processes (`which` says how: the whole group,
 * or the workers alone, the order a loaded machine can give). Either way
 * the search is reported as interrupted, with its resume line, the
 * explorer dies of SIGINT, and no worker is said to have died. Before,
 * a worker hit by the parent's SIGTERM and then the terminal's SIGINT
 * died "without a verdict", and workers stopped by a signal their parent
 * had not seen yet made a cut-short search pass. */
static void ctrl_c_with_workers(const char *which)
{
    static struct endless k = { 2, "", true };
    static struct proc p;
    snprintf(k.json, sizeof k.json, "%s/ctrlc-%s.json", tmp_root, which);
    start(&p, run_endless, &k);
    wait_ready(&p);
    sleep_ms(300);
    if (strcmp(which, "group") == 0)
        assert_int_equal(kill(-p.pid, SIGINT), 0);
    else
        assert_int_equal(signal_children(p.pid, SIGINT), 2);
    finish(&p, 20);
    int orphans = orphans_left(3);
    if (p.status == -1 || !WIFSIGNALED(p.status) ||
        WTERMSIG(p.status) != SIGINT)
        fail_msg("%s: status %#x (want death by SIGINT):\n%s", which, p.status,
                 p.out);
    assert_contains(p.out, "weft: endless: interrupted by SIGINT after ");
    assert_contains(p.out, "  resume:    WEFT_SEED=");
    if (strstr(p.out, "died") != NULL || strstr(p.out, "verdict") != NULL)
        fail_msg("%s: a worker is said to have died:\n%s", which, p.out);
    assert_true(executions_in(p.out) > 0);
    assert_contains(slurp(k.json), "\"status\": \"interrupted\"");
    assert_int_equal(orphans, 0);
}

static void ctrl_c_to_the_group_stops_workers_without_a_death(void **state)
{
    (void)state;
    ctrl_c_with_workers("group");
}

static void sigint_seen_by_workers_alone_is_still_an_interruption(void **state)
{
    (void)state;
    ctrl_c_with_workers("workers");
}

/* SIGINT to a serial explorer: the execution under way is given up at its
 * next visible operation, and the resume line starts exactly there: the
 * seed of execution N (seed + N * the golden-ratio step) and the
 * executions left. */
static void sigint_resumes_at_the_execution_it_stopped(void **state)
{
    (void)state;
    static struct endless k = { 1, "", false };
    static struct proc p;
    snprintf(k.json, sizeof k.json, "%s/serial.json", tmp_root);
    start(&p, run_endless, &k);
    wait_ready(&p);
    sleep_ms(300);
    kill(p.pid, SIGINT);
    finish(&p, 20);
    if (p.status == -1 || !WIFSIGNALED(p.status) ||
        WTERMSIG(p.status) != SIGINT)
        fail_msg("status %#x (want death by SIGINT):\n%s", p.status, p.out);
    unsigned long long n = executions_in(p.out);
    assert_true(n > 0);
    char want[200];
    snprintf(want, sizeof want,
             "  resume:    WEFT_SEED=%llu WEFT_ITERATIONS=%llu ",
             (unsigned long long)(7 + n * 0x9e3779b97f4a7c15ULL),
             (unsigned long long)(ENDLESS - n));
    assert_contains(p.out, want);
    assert_contains(slurp(k.json), "\"status\": \"interrupted\"");
}

static void *spin_forever(void *arg)
{
    (void)arg;
    tell_ready();
    volatile unsigned long x = 0;
    double t0 = now_s();
    while (now_s() - t0 < 60) /* no visible operation: no place to stop */
        x++;
    return NULL;
}

static void spin_body(void *arg)
{
    (void)arg;
    weft_thread_t t;
    weft_thread_spawn(&t, "spinner", spin_forever, NULL);
    weft_thread_join(t, NULL);
}

static int run_spin(void *arg)
{
    (void)arg;
    weft_config_t c;
    pinned(&c, 1, 10);
    c.hang_timeout = 0; /* this test is about Ctrl-C, not the watchdog */
    return status_of(weft_explore(&c, spin_body, NULL, NULL));
}

/* The first SIGINT waits for the next visible operation, which a task
 * spinning in its own code never reaches; a second one ends the process
 * at once, as Ctrl-C does everywhere. */
static void a_second_sigint_ends_the_process_at_once(void **state)
{
    (void)state;
    static struct proc p;
    start(&p, run_spin, NULL);
    wait_ready(&p);
    sleep_ms(100);
    kill(p.pid, SIGINT);
    sleep_ms(400);
    int st;
    if (waitpid(p.pid, &st, WNOHANG) != 0)
        fail_msg("the first SIGINT ended the process (status %#x)", st);
    double t0 = now_s();
    kill(p.pid, SIGINT);
    finish(&p, 5);
    if (p.status == -1 || !WIFSIGNALED(p.status) ||
        WTERMSIG(p.status) != SIGINT)
        fail_msg("status %#x after the second SIGINT:\n%s", p.status, p.out);
    assert_true(now_s() - t0 < 2);
}

static volatile sig_atomic_t own_handler_ran;

static void own_handler(int sig)
{
    (void)sig;
    own_handler_ran = 1;
}

static bool raised;

static void raise_body(void *arg)
{
    (void)arg;
    if (!raised) {
        raised = true;
        raise(SIGINT);
    }
    weft_yield();
}

static int run_own_handler(void *arg)
{
    (void)arg;
    signal(SIGINT, own_handler);
    weft_config_t c;
    pinned(&c, 1, 300);
    int rc = weft_explore(&c, raise_body, NULL, NULL);
    return rc == 0 && own_handler_ran ? 0 : 10 + status_of(rc);
}

/* A program that handles SIGINT itself keeps its handler: weft catches
 * only signals whose action is the default. */
static void a_programs_own_sigint_handler_is_left_alone(void **state)
{
    (void)state;
    static struct proc p;
    start(&p, run_own_handler, NULL);
    finish(&p, 20);
    if (p.status == -1 || !WIFEXITED(p.status) || WEXITSTATUS(p.status) != 0)
        fail_msg("status %#x:\n%s", p.status, p.out);
    assert_contains(p.out, "300 executions, no failure");
}

/* ------------------------------------------------------ exits in tasks */

static int exit_how;

static void *quitter(void *arg)
{
    (void)arg;
    weft_yield();
    switch (exit_how) {
    case 0:
        exit(0);
    case 1:
        _exit(3);
    default:
        _Exit(0);
    }
}

static void exit_body(void *arg)
{
    (void)arg;
    weft_thread_t t;
    weft_thread_spawn(&t, "quitter", quitter, NULL);
    weft_thread_join(t, NULL);
}

struct exit_case {
    int how;
    uint64_t seed; /* 0: explore; else replay this seed */
};

static int run_exit(void *arg)
{
    struct exit_case *k = arg;
    exit_how = k->how;
    weft_config_t c;
    pinned(&c, k->seed ? k->seed : 3, k->seed ? 1 : 100);
    weft_result_t r;
    int rc = weft_explore(&c, exit_body, NULL, &r);
    if (rc == 1 && r.finding != WEFT_FINDING_EXIT)
        rc = 5;
    weft_result_destroy(&r);
    return status_of(rc);
}

/* exit(), _exit() and _Exit() in a task end that execution with an exit
 * finding (the task, the site, a replay line that reproduces it); the old
 * process simply ended, exit(0) with status 0 and no word. */
static void exit_in_a_task_is_a_finding(void **state)
{
    (void)state;
    static const char *const calls[] = { "exit(0)", "_exit(3)", "_Exit(0)" };
    for (int how = 0; how < 3; how++) {
        static struct proc p;
        struct exit_case k = { how, 0 };
        start(&p, run_exit, &k);
        finish(&p, 30);
        if (p.status == -1 || !WIFEXITED(p.status) ||
            WEXITSTATUS(p.status) != 1)
            fail_msg("%s: status %#x:\n%s", calls[how], p.status, p.out);
        assert_contains(p.out, "  kind:      exit");
        char want[128];
        snprintf(want, sizeof want, "task 1 \"quitter\" called %s", calls[how]);
        assert_contains(p.out, want);
        assert_contains(p.out, "a test body must return");
        const char *seed = strstr(p.out, "replay:    WEFT_SEED=");
        assert_non_null(seed);
        /* the seed reproduces it */
        struct exit_case again = { how, strtoull(seed + 21, NULL, 10) };
        start(&p, run_exit, &again);
        finish(&p, 30);
        if (p.status == -1 || !WIFEXITED(p.status) ||
            WEXITSTATUS(p.status) != 1)
            fail_msg("%s replayed: status %#x:\n%s", calls[how], p.status,
                     p.out);
        assert_contains(p.out, want);
    }
}

static void say_bye(void)
{
    fputs("atexit handler ran\n", stderr);
}

static int run_exit_outside(void *arg)
{
    (void)arg;
    atexit(say_bye);
    weft_config_t c;
    pinned(&c, 1, 5);
    c.quiet = true;
    exit_how = 0;
    weft_explore(&c, busy_body, NULL, NULL); /* weft has run, and left */
    fputs("buffered", stdout);               /* flushed by the real exit */
    exit(7);
}

/* Outside an exploration they are the C library's own. */
static void exit_outside_an_exploration_is_the_real_one(void **state)
{
    (void)state;
    static struct proc p;
    start(&p, run_exit_outside, NULL);
    finish(&p, 30);
    if (p.status == -1 || !WIFEXITED(p.status) || WEXITSTATUS(p.status) != 7)
        fail_msg("status %#x:\n%s", p.status, p.out);
    assert_contains(p.out, "atexit handler ran");
}

/* ------------------------------------------------------------ the watchdog */

enum block { READ, POLL, SELECT, EPOLL, ACCEPT, SPIN, NBLOCKS };
static const char *const block_names[NBLOCKS] = { "read",   "poll",
                                                  "select", "epoll_wait",
                                                  "accept", "spin" };
/* What the report says the task was doing. */
static const char *const block_says[NBLOCKS] = {
    "blocked in the system call read(fd ",
    "poll",
    "select",
    "epoll",
    "accept",
    "busy in the program's own code, in no system call",
};

static enum block blocking;

static void *blocker(void *arg)
{
    (void)arg;
    int p[2] = { -1, -1 };
    if (blocking != ACCEPT && blocking != SPIN && pipe(p) != 0)
        return NULL;
    char c;
    switch (blocking) {
    case READ:
        (void)!read(p[0], &c, 1);
        break;
    case POLL: {
        struct pollfd pf = { p[0], POLLIN, 0 };
        poll(&pf, 1, -1);
        break;
    }
    case SELECT: {
        fd_set set;
        FD_ZERO(&set);
        FD_SET(p[0], &set);
        select(p[0] + 1, &set, NULL, NULL, NULL);
        break;
    }
    case EPOLL: {
        int ep = epoll_create1(0);
        struct epoll_event ev = { .events = EPOLLIN };
        epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
        epoll_wait(ep, &ev, 1, -1);
        break;
    }
    case ACCEPT: {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(s, (struct sockaddr *)&a, sizeof a);
        listen(s, 1);
        accept(s, NULL, NULL);
        break;
    }
    case SPIN: {
        volatile unsigned long x = 0;
        for (;;)
            x++;
    }
    case NBLOCKS:
        break;
    }
    return NULL;
}

static void block_body(void *arg)
{
    (void)arg;
    weft_thread_t t;
    weft_thread_spawn(&t, "blocker", blocker, NULL);
    weft_yield();
    weft_thread_join(t, NULL);
}

struct hang_case {
    enum block how;
    unsigned jobs;
    const char *env; /* WEFT_HANG_TIMEOUT from the environment, or NULL */
};

static int run_hang(void *arg)
{
    struct hang_case *k = arg;
    blocking = k->how;
    weft_config_t c;
    pinned(&c, 5, 20);
    c.hang_timeout = 1;
    c.jobs = k->jobs;
    c.name = "hang";
    if (k->env != NULL) {
        c.use_env = true;
        setenv("WEFT_HANG_TIMEOUT", k->env, 1);
    }
    weft_result_t r;
    int rc = weft_explore(&c, block_body, NULL, &r);
    if (rc == 1 && r.finding != WEFT_FINDING_HANG)
        rc = 5;
    weft_result_destroy(&r);
    return status_of(rc);
}

/* A task blocked for real, or spinning with no weft call, stops the one
 * OS thread every task runs on: the old exploration hung forever, with
 * no output. The watchdog turns a step that makes no progress for
 * hang_timeout seconds into a hang finding: the task, its last site,
 * what it was doing, a replay line; the exploration ends with status 1.
 * The cases run side by side. */
static void a_step_blocked_for_real_is_reported_as_a_hang(void **state)
{
    (void)state;
    static struct proc p[NBLOCKS + 1];
    static struct hang_case k[NBLOCKS + 1];
    for (int i = 0; i <= NBLOCKS; i++) {
        /* the last case: read, in a forked worker */
        k[i].how = i < NBLOCKS ? (enum block)i : READ;
        k[i].jobs = i < NBLOCKS ? 1 : 2;
        start(&p[i], run_hang, &k[i]);
    }
    for (int i = 0; i <= NBLOCKS; i++) {
        const char *name = i < NBLOCKS ? block_names[i] : "read in a worker";
        finish(&p[i], 20);
        if (p[i].status == -1 || !WIFEXITED(p[i].status) ||
            WEXITSTATUS(p[i].status) != 1)
            fail_msg("%s: status %#x (-1: still hanging after 20 s):\n%s", name,
                     p[i].status, p[i].out);
        assert_contains(p[i].out, "weft: FAILED: hang: task 1 \"blocker\" "
                                  "made no progress for 1 s after its "
                                  "operation at ");
        assert_contains(p[i].out, "  kind:      hang");
        assert_contains(p[i].out, "  replay:    WEFT_SEED=");
        /* under qemu-user, /proc shows the host's system call numbers */
        if (getenv("TEST_UNDER_QEMU") != NULL)
            continue;
        /* valgrind runs one thread at a time: a spinning thread may be
         * caught waiting for valgrind's lock, in a read of its pipe */
        if (k[i].how == SPIN && getenv("TEST_UNDER_VALGRIND") != NULL)
            continue;
        assert_contains(p[i].out, block_says[k[i].how]);
        if (k[i].how == READ)
            assert_contains(p[i].out, "pipe:[");
    }
}

/* WEFT_HANG_TIMEOUT: 0 turns the watchdog off; a bad value stops the
 * program with the variable's name, status 2. */
static void weft_hang_timeout_sets_or_disables_the_watchdog(void **state)
{
    (void)state;
    static struct proc p;
    struct hang_case bad = { SPIN, 1, "1s" };
    start(&p, run_hang, &bad);
    finish(&p, 20);
    assert_true(p.status != -1 && WIFEXITED(p.status) &&
                WEXITSTATUS(p.status) == 2);
    assert_contains(p.out, "WEFT_HANG_TIMEOUT='1s' is not valid");
    /* off: a spinning task is not reported (the child is killed) */
    struct hang_case off = { SPIN, 1, "0" };
    start(&p, run_hang, &off);
    finish(&p, 3);
    if (p.status != -1)
        fail_msg("with WEFT_HANG_TIMEOUT=0, status %#x:\n%s", p.status, p.out);
}

/* ---------------------------------------------------------------- main */

int main(void)
{
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    const char *tmp = getenv("TMPDIR");
    snprintf(tmp_root, sizeof tmp_root, "%s/weft-test-signals-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(tmp_root) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sigterm_stops_the_workers_and_says_where_to_resume),
        cmocka_unit_test(ctrl_c_to_the_group_stops_workers_without_a_death),
        cmocka_unit_test(sigint_seen_by_workers_alone_is_still_an_interruption),
        cmocka_unit_test(sigint_resumes_at_the_execution_it_stopped),
        cmocka_unit_test(a_second_sigint_ends_the_process_at_once),
        cmocka_unit_test(a_programs_own_sigint_handler_is_left_alone),
        cmocka_unit_test(exit_in_a_task_is_a_finding),
        cmocka_unit_test(exit_outside_an_exploration_is_the_real_one),
        cmocka_unit_test(a_step_blocked_for_real_is_reported_as_a_hang),
        cmocka_unit_test(weft_hang_timeout_sets_or_disables_the_watchdog),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0)
        failed++;
    return failed;
}
