/*
 * fuzz.c: weft_fuzz_one, one execution whose every choice comes from a
 * fuzzer's input (strategy_fuzz.c), reported like weft_explore reports.
 *
 * A fuzzer calls it millions of times, so what can outlive a call does:
 * each OS thread keeps one run (its task structs, ready set, trace ring
 * and decision log, all with their capacity) and one fuzz strategy state,
 * made on the first call and freed at exit (atexit for the main thread,
 * a thread-specific destructor for the others). Task stacks come from the
 * process's stack pool, so a warm call under a fuzzer makes no system
 * call and no allocation (see the crash handlers below).
 *
 * A finding is not shrunk: the input is the replay, and the fuzzers have
 * their own minimisers (libFuzzer -minimize_crash=1, afl-tmin), which keep
 * it one. The report says so; with WEFT_SCHEDULE_OUT the execution's
 * schedule is also written, for a weft_explore test to replay
 * (WEFT_REPLAY). WEFT_PERFETTO runs the input once more with the whole
 * trace kept and writes it; WEFT_JSON writes the result of every call.
 */
#include "weft/fuzz.h"

#include "explore/explore.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

/*
 * Crash capture (core/signal.c) installs five handlers and an alternate stack
 * per weft_explore: seven system calls and a 64 KiB allocation, more than
 * a short execution costs. So the handlers stay installed from the first
 * call to exit. Between two calls of a test, anything (cmocka does, per
 * test) may replace them: each call checks, with one sigaction query,
 * that they are still weft's, and installs them again if not. Under a
 * fuzzer (weft_fuzz_driven) only the fuzzer runs between calls, and it
 * leaves handlers alone once started: no check, no system call at all.
 * Outside a task the handlers hand a signal back to the previous handler
 * (the fuzzer's), so the fuzzer still sees its own crashes.
 */
#ifndef WEFT_FUZZ_KEEP_SIGNALS
#define WEFT_FUZZ_KEEP_SIGNALS 1
#endif

struct fuzz_cache {
    weft_config_t cfg;   /* the run reads its configuration here */
    weft_config_t given; /* the caller's, that cfg was resolved from */
    uint64_t env_sig;    /* and the WEFT_* environment's signature */
    bool resolved;
    struct weft__run r;
    void *state;
    bool signals; /* our handlers are installed and kept */
    void (*handler)(int, siginfo_t *, void *); /* ours, for the check */
};

static WEFT__TLS struct fuzz_cache *cache;
static WEFT__TLS bool driven; /* weft_fuzz_driven */
static WEFT__TLS uint8_t *features;
static WEFT__TLS size_t nfeatures;

void weft_fuzz_driven(uint8_t *counters, size_t n)
{
    driven = true;
    features = n > 0 ? counters : NULL;
    nfeatures = counters != NULL ? n : 0;
}
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static bool key_ok;

static void cache_free(struct fuzz_cache *c)
{
    if (c == NULL)
        return;
    if (c->signals)
        weft__signals_restore();
    weft__run_teardown(&c->r);
    if (c->state != NULL)
        weft__strategy_fuzz.destroy(c->state);
    weft__free(c);
}

/* A thread that called weft_fuzz_one ends: free its cache. */
static void thread_end(void *p)
{
    if (p == cache)
        cache = NULL;
    cache_free(p);
}

/* The process exits (the main thread never runs key destructors). Not in
 * the middle of an execution: a body that calls exit() leaves it be. */
static void process_end(void)
{
    struct fuzz_cache *c = cache;
    if (c == NULL || weft__current != NULL)
        return;
    cache = NULL;
    if (key_ok)
        pthread_setspecific(key, NULL);
    cache_free(c);
}

static void make_key(void)
{
    key_ok = pthread_key_create(&key, thread_end) == 0;
    atexit(process_end);
}

static struct fuzz_cache *cache_get(const weft_config_t *cfg)
{
    if (cache != NULL)
        return cache;
    pthread_once(&key_once, make_key);
    struct fuzz_cache *c = weft__alloc(sizeof *c);
    if (c == NULL)
        return NULL;
    memset(c, 0, sizeof *c);
    c->cfg = *cfg;
    char err[1];
    if (weft__run_prepare(&c->r, &c->cfg) != 0 ||
        weft__strategy_fuzz.create(&c->state, &c->cfg, err, sizeof err) != 0) {
        weft__run_teardown(&c->r);
        weft__free(c);
        return NULL;
    }
    c->r.strategy = &weft__strategy_fuzz;
    c->r.strategy_state = c->state;
    cache = c;
    if (key_ok)
        pthread_setspecific(key, c);
    return c;
}

/* Drop this thread's cache (after an error: start afresh next time). */
static void cache_drop(void)
{
    struct fuzz_cache *c = cache;
    cache = NULL;
    if (key_ok)
        pthread_setspecific(key, NULL);
    cache_free(c);
}

/* A hash of every WEFT_* variable: the environment part of a
 * configuration, checked with one pass over environ where applying it
 * takes a getenv per variable. */
static uint64_t env_signature(void)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (char **e = environ; e != NULL && *e != NULL; e++) {
        const char *v = *e;
        if (v[0] != 'W' || strncmp(v, "WEFT_", 5) != 0)
            continue;
        for (; *v; v++)
            h = (h ^ (uint8_t)*v) * 0x100000001b3ULL;
        h = (h ^ 0xff) * 0x100000001b3ULL;
    }
    return h;
}

/* Make sure weft's crash handlers are installed: 0, or -1. */
static int signals_on(struct fuzz_cache *c)
{
    struct sigaction now;
    if (c->signals && driven)
        return 0; /* only the fuzzer runs between calls */
    if (c->signals) {
        if (sigaction(SIGSEGV, NULL, &now) == 0 &&
            (now.sa_flags & SA_SIGINFO) && now.sa_sigaction == c->handler)
            return 0;
        weft__signals_restore(); /* replaced: install them again */
        c->signals = false;
    }
    if (weft__signals_install() != 0)
        return -1;
    c->signals = true;
    c->handler = NULL;
    if (sigaction(SIGSEGV, NULL, &now) == 0 && (now.sa_flags & SA_SIGINFO))
        c->handler = now.sa_sigaction;
    return 0;
}

/* Grow the trace ring to at least `events` (a power of two, at most
 * 2^22); keeps the old ring if memory is short. */
static void ring_reserve(struct weft__run *r, uint64_t events)
{
    uint32_t cap = r->ring_cap ? r->ring_cap : 1;
    while (cap < events && cap < (1u << 22))
        cap *= 2;
    if (cap == r->ring_cap)
        return;
    struct weft__event *ring = weft__realloc(r->ring, cap * sizeof *ring);
    if (ring == NULL)
        return;
    r->ring = ring;
    r->ring_cap = cap;
}

/* argv[0] of this program, for the replay line (glibc's copy: right
 * even when the program was started through the dynamic loader). */
static void program_name(struct weft__buf *b)
{
    const char *p = program_invocation_name;
    weft__buf_shell_word(b, p != NULL && p[0] ? p : "<this program>");
}

static unsigned preemptions(const struct weft__run *r)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < r->ndecisions; i++)
        n += weft__is_preemption(&r->decisions[i]);
    return n;
}

static void fill_result(weft_result_t *res, const struct weft__run *r)
{
    res->finding = r->failed ? r->finding.kind : WEFT_FINDING_NONE;
    res->executions = 1;
    res->seed = r->seed;
    res->steps = r->step;
    res->time = r->now;
    res->trace_hash = weft__mix(r->hash);
    res->total_steps = r->step;
    res->distinct = 1;
    res->failures = r->failed ? 1 : 0;
    res->shrunk_steps = r->step;
    res->preemptions = preemptions(r);
    res->shrunk_preemptions = res->preemptions;
    if (r->failed)
        snprintf(res->message, sizeof res->message, "%s", r->finding.message);
}

/* The report of a failed execution, with its replay lines. */
static void report(struct fuzz_cache *c, size_t size, weft_result_t *res)
{
    struct weft__run *r = &c->r;
    const weft_config_t *cfg = &c->cfg;
    int w = -1;
    if (cfg->schedule_out != NULL) {
        w = weft__schedule_write(cfg->schedule_out, r);
        if (w != 0 && !cfg->quiet)
            fprintf(stderr, "weft: cannot write %s: %s\n", cfg->schedule_out,
                    strerror(-w));
    }
    struct weft__buf rep = { 0 };
    weft__report(r, 1, &rep);
    size_t used = weft__fuzz_used(c->state);
    weft__buf_printf(&rep,
                     "  input:     %zu byte%s, %zu read by %u choice%s, "
                     "%u preemption%s\n",
                     size, size == 1 ? "" : "s", used, r->ndecisions,
                     r->ndecisions == 1 ? "" : "s", res->preemptions,
                     res->preemptions == 1 ? "" : "s");
    if (cfg->replay_hint != NULL) {
        weft__buf_printf(&rep, "  replay:    %s\n", cfg->replay_hint);
    } else {
        weft__buf_printf(&rep, "  replay:    ");
        program_name(&rep);
        weft__buf_printf(&rep, " <crash-file>  (the input the fuzzer saved; a "
                               "build without a fuzzer replays it too)\n");
    }
    if (w == 0) {
        weft__buf_printf(&rep,
                         "  schedule:  %s (WEFT_REPLAY=", cfg->schedule_out);
        weft__buf_shell_word(&rep, cfg->schedule_out);
        weft__buf_printf(&rep, " replays it under weft_explore)\n");
        /* too long for the field: left out, never cut short */
        if (strlen(cfg->schedule_out) < sizeof res->schedule_file)
            memcpy(res->schedule_file, cfg->schedule_out,
                   strlen(cfg->schedule_out) + 1);
    }
    if (!cfg->quiet && rep.s != NULL) {
        fputs(rep.s, stderr);
        fflush(stderr);
    }
    res->report = rep.s;
}

int weft_fuzz_one(const weft_config_t *cfg_in, const uint8_t *data, size_t size,
                  weft_body_fn *body, void *arg, weft_result_t *res)
{
    weft_result_t dummy;
    weft_config_t cfg;
    if (res == NULL)
        res = &dummy;
    memset(res, 0, sizeof *res);
    if (weft__current != NULL)
        weft__misuse("weft_fuzz_one", "called inside an exploration");
    if (body == NULL || (data == NULL && size > 0))
        return -EINVAL;
    if (cfg_in != NULL)
        cfg = *cfg_in;
    else
        weft_config_init(&cfg);
    /* Resolving the environment costs more than a short execution: reuse
     * the last resolution while the configuration and the WEFT_*
     * variables are the same. */
    struct fuzz_cache *c = cache;
    uint64_t sig = cfg.use_env ? env_signature() : 0;
    if (c != NULL && c->resolved && c->env_sig == sig &&
        memcmp(&c->given, &cfg, sizeof cfg) == 0) {
        cfg = c->cfg;
    } else {
        weft_config_t given = cfg;
        if (cfg.use_env) {
            char err[512];
            if (weft_config_from_env(&cfg, err, sizeof err) != 0) {
                fprintf(stderr, "weft: %s\n", err);
                exit(2);
            }
        }
        if (cfg.max_steps == 0 || cfg.stack_size < 16384) {
            fprintf(stderr, "weft: invalid configuration: max_steps must "
                            "be positive, stack_size >= 16k\n");
            return -EINVAL;
        }
        c = cache_get(&cfg);
        if (c == NULL)
            return -ENOMEM;
        c->given = given;
        c->env_sig = sig;
        c->resolved = true;
    }

    struct weft__run *r = &c->r;
    c->cfg = cfg;
    if (r->ring_cap < cfg.trace_tail)
        ring_reserve(r, cfg.trace_tail);
    r->max_steps = cfg.max_steps;
    r->seed = cfg.seed;
    weft__fuzz_input(c->state, data, size);
    weft__fuzz_counters(c->state, features, nfeatures);

    if (signals_on(c) != 0) {
        cache_drop();
        return -ENOMEM;
    }
    int rc = weft__run_one(r, body, arg);
    if (rc == 0 && r->failed && cfg.trace_out != NULL) {
        /* Again, keeping every event: the input replays the execution. */
        ring_reserve(r, 4 * r->step + 4 * (uint64_t)r->ndecisions + 64);
        rc = weft__run_one(r, body, arg);
        if (rc == 0)
            (void)weft__export_trace(cfg.trace_out, r); /* it says why */
    }
    if (!WEFT_FUZZ_KEEP_SIGNALS) {
        weft__signals_restore();
        c->signals = false;
    }
    if (rc != 0) {
        cache_drop();
        return rc;
    }

    fill_result(res, r);
    if (r->failed) {
        report(c, size, res);
        rc = 1;
    }
    if (cfg.json_out != NULL) {
        int e = weft__export_json(cfg.json_out, &cfg, "fuzz", res, rc, NULL);
        if (e != 0 && rc == 0)
            rc = e;
    }
    if (res == &dummy)
        weft_result_destroy(res);
    return rc;
}

/* ------------------------------------------------ replaying saved inputs */

/* The whole of f, malloc'd (NULL and *len 0 for an empty stream); -errno
 * in *err on failure. */
static uint8_t *read_all(FILE *f, size_t *len, int *err)
{
    size_t cap = 0, n = 0;
    uint8_t *buf = NULL;
    *err = 0;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            uint8_t *b = ncap > cap ? weft__realloc(buf, ncap) : NULL;
            if (b == NULL) {
                weft__free(buf);
                *err = -ENOMEM;
                return NULL;
            }
            buf = b;
            cap = ncap;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0)
            break;
    }
    if (ferror(f)) {
        weft__free(buf);
        *err = -EIO;
        return NULL;
    }
    *len = n;
    return buf;
}

/* s, shell-quoted unless it is plain. */
static void quoted(struct weft__buf *b, const char *s)
{
    size_t n = strlen(s);
    if (n > 0 && strspn(s, "abcdefghijklmnopqrstuvwxyz"
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                           "0123456789_-+=./:,@%") == n) {
        weft__buf_printf(b, "%s", s);
        return;
    }
    weft__buf_printf(b, "'");
    for (; *s; s++)
        weft__buf_printf(b, *s == '\'' ? "'\\''" : "%c", *s);
    weft__buf_printf(b, "'");
}

int weft_fuzz_main(int argc, char **argv, const weft_config_t *cfg_in,
                   weft_body_fn *body, void *arg, unsigned flags)
{
    weft_config_t cfg;
    if (cfg_in != NULL)
        cfg = *cfg_in;
    else
        weft_config_init(&cfg);
    const char *prog = argc > 0 && argv[0] ? argv[0] : "fuzz-target";
    weft_args(&argc, argv);

    if (cfg.use_env) {
        char err[512];
        if (weft_config_from_env(&cfg, err, sizeof err) != 0) {
            fprintf(stderr, "weft: %s\n", err);
            exit(2);
        }
        cfg.use_env = false;
    }

    /* The file names, moved down to argv[1..nfiles]. */
    int nfiles = 0;
    bool dashdash = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!dashdash && strcmp(a, "--") == 0) {
            dashdash = true;
            continue;
        }
        if (!dashdash && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
            printf("usage: %s [--weft-NAME=VALUE...] [FILE...]\n"
                   "Runs each FILE (standard input if none, or '-') "
                   "once as a weft fuzz input:\nthe schedule of one "
                   "execution of the test body. Prints the report of a "
                   "finding\nand exits 1; 0 if every input passed, 2 if "
                   "an input could not be read.\nThis build has no "
                   "fuzzer: include/weft/fuzz.h says how to build one.\n",
                   prog);
            return 0;
        }
        if (!dashdash && a[0] == '-' && a[1] != '\0') {
            fprintf(stderr,
                    "weft: %s: option '%s' ignored: this build replays "
                    "inputs and has no fuzzer (build it with "
                    "-fsanitize=fuzzer for libFuzzer's options)\n",
                    prog, a);
            continue;
        }
        argv[1 + nfiles++] = argv[i];
    }
    static const char *const std_in[] = { "-" };
    const char *const *list = (const char *const *)argv + 1;
    if (nfiles == 0) {
        list = std_in;
        nfiles = 1;
    }

    /* Nothing runs between the inputs: no per-call handler check. */
    bool was_driven = driven;
    driven = true;
    int status = 0;
    for (int i = 0; i < nfiles; i++) {
        const char *name = list[i];
        bool in = strcmp(name, "-") == 0;
        if (in)
            clearerr(stdin); /* AFL++'s persistent mode rewinds it */
        FILE *f = in ? stdin : fopen(name, "rb");
        int err = 0;
        size_t len = 0;
        uint8_t *data = NULL;
        if (f == NULL) {
            err = -errno;
        } else {
            data = read_all(f, &len, &err);
            if (!in)
                fclose(f);
        }
        if (err != 0) {
            fprintf(stderr, "weft: %s: cannot read %s: %s\n", prog,
                    in ? "standard input" : name, strerror(-err));
            status = 2;
            continue;
        }
        struct weft__buf hint = { 0 };
        quoted(&hint, prog);
        if (in)
            weft__buf_printf(&hint, " < <input-file>");
        else {
            weft__buf_printf(&hint, " ");
            quoted(&hint, name);
        }
        weft_config_t c = cfg;
        if (c.replay_hint == NULL)
            c.replay_hint = hint.s;
        weft_result_t res;
        int rc = weft_fuzz_one(&c, data, len, body, arg, &res);
        if (rc == 0 && !c.quiet)
            fprintf(stderr,
                    "weft: %s: no failure (%zu bytes, %llu steps, %u "
                    "preemptions, trace hash %016llx)\n",
                    in ? "standard input" : name, len,
                    (unsigned long long)res.steps, res.preemptions,
                    (unsigned long long)res.trace_hash);
        else if (rc < 0)
            fprintf(stderr, "weft: %s: cannot run %s: %s\n", prog,
                    in ? "standard input" : name, weft_strerror(rc));
        weft_result_destroy(&res);
        weft__free(hint.s);
        weft__free(data);
        if (rc == 1 && (flags & WEFT_FUZZ_ABORT)) {
            fflush(NULL);
            abort();
        }
        if (rc == 1 && status == 0)
            status = 1;
        else if (rc < 0)
            status = 2;
    }
    driven = was_driven;
    return status;
}
