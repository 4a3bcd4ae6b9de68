/*
 * explore.h: the explore layer (harness/explore/): many executions of one
 * body. explore.c runs the search (budgets, stop at the first failure or
 * collect distinct ones, persisted failures first, reports), workers.c
 * splits it over forked processes and shards, shrink.c minimises a failing
 * schedule, schedule.c reads and writes schedule files, distinct.c counts
 * distinct executions, fuzz.c runs one execution per fuzzer input, and each
 * strategy_<name>.c is one strategy: a const table the core calls at its
 * decision point, never calling back.
 *
 * A run is set up here (weft__run_prepare) with the hooks of every layer
 * below. Uses: report, loop, sync, core, platform.
 */
#ifndef WEFT_EXPLORE_H
#define WEFT_EXPLORE_H

#include "report/report.h"

/* Set a run up for cfg with every layer's hooks; -ENOMEM. */
WEFT__HIDDEN int weft__run_prepare(struct weft__run *r,
                                   const weft_config_t *cfg);

/* ------------------------------------------------------------ strategies */

WEFT__HIDDEN extern const struct weft__strategy weft__strategy_random;
WEFT__HIDDEN extern const struct weft__strategy weft__strategy_replay;
WEFT__HIDDEN extern const struct weft__strategy weft__strategy_pct;
WEFT__HIDDEN extern const struct weft__strategy weft__strategy_dfs;
/* A dfs state's preemption level: that of its last execution (iterating),
 * its bound (fixed) or -1 (none); complete is false when the search lost
 * a path it cut (out of memory, or the path diverged when it was run
 * again): not exhausted then. */
WEFT__HIDDEN void weft__dfs_level(void *state, int *level, bool *complete);
WEFT__HIDDEN extern const struct weft__strategy weft__strategy_dpor;
/* dpor's dependence of two accesses (strategy_dpor.c): 0 independent, 1
 * dependent and reorderable (a race), 2 dependent, the second needing the
 * first (an exit and its join). */
WEFT__HIDDEN int weft__acc_dep(const struct weft__access *a,
                               const struct weft__access *b);
/* Could t's pending operation go on now (no lock held by another, no join
 * of a running task)? */
WEFT__HIDDEN bool weft__acc_enabled(const struct weft__task *t);
/* Partial-order sampling (strategy_pos.c): seed-replayed, like random. */
WEFT__HIDDEN extern const struct weft__strategy weft__strategy_pos;

/*
 * The fuzz strategy (strategy_fuzz.c), shared with weft_fuzz_one (fuzz.c).
 * It reads every choice from a byte string, a fuzzer's input: a choice
 * among n options takes 1 byte when n <= 256, 2 when n <= 65536, else 4
 * (little-endian), and a value v picks option (d + v % m) % n, where d is
 * the default option: the running task when it can go on (so zero bytes
 * never preempt), the next ready task at a yield (where m = n - 1: the
 * yielder is no option, so spin loops make progress whatever the input),
 * the first ready task when the running one blocked or ended, and 0 for a
 * value choice; elsewhere m = n. Once the input runs out every choice takes its
 * default: an empty or all-zero input runs the non-preemptive schedule
 * (the first execution of `dfs`). Choices with one option take no byte.
 * Nothing but the input decides: no seed, address or time.
 */
WEFT__HIDDEN extern const struct weft__strategy weft__strategy_fuzz;
/* Give a fuzz strategy state the input of the next execution(s); the
 * bytes are borrowed and must outlive them. begin() rewinds to byte 0. */
WEFT__HIDDEN void weft__fuzz_input(void *state, const uint8_t *data,
                                   size_t size);
/* Count each decision's interleaving feature (strategy_fuzz.c) in
 * counters[0..n), saturating; NULL turns it off. */
WEFT__HIDDEN void weft__fuzz_counters(void *state, uint8_t *counters, size_t n);
/* Bytes the execution just run consumed (<= size). */
WEFT__HIDDEN size_t weft__fuzz_used(const void *state);

/* ------------------------------------------------------------- schedules */

/* Schedules (schedule.c) */
WEFT__HIDDEN int weft__schedule_write(const char *path, struct weft__run *r);
struct weft__schedule {
    uint64_t seed;
    uint64_t steps; /* of the execution it records (0: unknown) */
    uint64_t max_steps;
    unsigned spurious;
    struct weft__decision *d;
    uint32_t n;
    /* what the recorded execution ended with (0: passed or unknown), and
     * its trace hash (0: unknown): a replay that passes where the record
     * failed has diverged */
    unsigned finding;
    uint64_t hash;
};
/* Set by weft-cc: a schedule file also records the race points its
 * execution scheduled by ("race_points" line, written when get gives a
 * non-empty value); reading one makes them the points (0, or -1 and why,
 * in err). NULL elsewhere: a race_points line is an unknown key. */
WEFT__HIDDEN extern size_t (*weft__schedule_points_get)(char *out, size_t len);
WEFT__HIDDEN extern int (*weft__schedule_points_set)(const char *v, char *err,
                                                     size_t len);
WEFT__HIDDEN int weft__schedule_read(const char *path, struct weft__schedule *s,
                                     char *err, size_t err_len);
WEFT__HIDDEN int weft__schedule_write_s(const char *path,
                                        const struct weft__schedule *s,
                                        const char *strategy);
/* Parse a schedule from f (name for messages): what weft__schedule_read
 * does once the file is open; the parser fuzz target calls it. */
WEFT__HIDDEN int weft__schedule_parse(FILE *f, const char *name,
                                      struct weft__schedule *s, char *err,
                                      size_t err_len);
/* The text form of s (weft__schedule_parse reads it back). */
WEFT__HIDDEN void weft__schedule_print(FILE *f, const struct weft__schedule *s,
                                       const char *strategy);
/* Write s into o (just opened) and close it; 0 or -errno. */
WEFT__HIDDEN int weft__schedule_put(struct weft__out *o,
                                    const struct weft__schedule *s,
                                    const char *strategy);
/* Copy the decisions of the execution just run; -ENOMEM. */
WEFT__HIDDEN int weft__schedule_snapshot(struct weft__schedule *s,
                                         const struct weft__run *r);
WEFT__HIDDEN void weft__schedule_free(struct weft__schedule *s);
WEFT__HIDDEN unsigned
weft__schedule_preemptions(const struct weft__schedule *s);

/* A replay strategy state that follows s (borrowed: s outlives it). */
WEFT__HIDDEN int weft__replay_create(void **state,
                                     const struct weft__schedule *s);
/* The schedule a replay state follows. */
WEFT__HIDDEN const struct weft__schedule *weft__replay_schedule(void *state);

/* ------------------------------------------------------------ the search */

/* explore.c: report a failure from the execution that found it (weft-cc),
 * and the number of executions run before this process started. */
WEFT__HIDDEN extern bool weft__report_first_run;
/* Set by weft-cc: told the seed of each distinct failure the search keeps
 * (right after its execution), before its report re-runs it. */
WEFT__HIDDEN extern void (*weft__found_hook)(uint64_t seed);
WEFT__HIDDEN extern uint64_t weft__exec_offset;
/* Set by a layer above during an execution: the search stops after it,
 * saying why (weft-cc: a snapshot that cannot undo what it did). */
WEFT__HIDDEN extern const char *weft__stop_why;
/* Set by a layer above: print no summary for an exploration that found
 * nothing (the caller prints its own). */
WEFT__HIDDEN extern bool weft__quiet_pass;
/* Set by a layer above: an execution that made no choice ends the search,
 * exhausted (every other would run the same). */
WEFT__HIDDEN extern bool weft__once_if_unchosen;
/* Set by a layer above: confirm a failure before it is reported, by
 * replaying its schedule file in a fresh process. Returns true when it
 * failed there the same way; writes a line for the report into note
 * (what was seen, or why it could not be confirmed). */
WEFT__HIDDEN extern bool (*weft__confirm)(const char *schedule,
                                          weft_finding_t kind, uint64_t hash,
                                          char *note, size_t len);
/* Set by a layer above: called with true before the executions a report
 * re-runs (shrinking, the final replay) and false after (weft-cc hides
 * the program's own output there: it was seen when the failure was). */
WEFT__HIDDEN extern void (*weft__rerun_quiet)(bool on);
/* The replay line of the execution under way, up to here (a finding told
 * and let go on, like weft-cc's WEFT_RACE=report): the seed where the
 * strategy replays by seed, else a schedule file of its decisions so far.
 * Appends to out; -1 outside a search. */
WEFT__HIDDEN int weft__replay_now(struct weft__buf *out);

/* One distinct failure found by a search. */
struct weft__found {
    struct weft__finding f; /* without detail */
    uint64_t index;         /* execution index, UINT64_MAX: persisted */
    uint64_t seed;
    struct weft__schedule s;
    uint64_t orig_steps;
    unsigned orig_pre;
    char *path;    /* the persisted file it came from, or NULL */
    char *report;  /* rendered at once (a replay that diverged: running
                      it again would not show the same thing) */
    bool no_rerun; /* a hang: report it as found, replay lines added,
                      never run again to shrink or replay it (each run
                      would hang as long) */
    int64_t time;
    uint64_t hash;
};

struct weft__search {
    const weft_config_t *cfg;
    const struct weft__strategy *st;
    void *state;
    struct weft__run *r;
    weft_body_fn *body;
    void *arg;
    uint64_t first, stride; /* this shard's execution indices */
    uint64_t executions, total_steps, persisted;
    uint64_t redundant; /* executions the strategy cut short (dpor) */
    bool exhausted, out_of_time;
    const char *stopped; /* why a layer above stopped the search */
    struct weft__found found[16];
    unsigned nfound;
    struct weft__distinct *distinct; /* distinct trace hashes */
    uint64_t nset;
    bool set_full; /* nset is an estimate */
    bool parallel; /* workers count distinct executions in shared memory */
    bool lean;     /* search executions record lean (weft__search_run) */
    double t0, t0p, last_draw; /* coarse and precise start times */
    bool tty, progress_on, drawn;
    int out_err;     /* the first output file that could not be written */
    int interrupted; /* SIGINT or SIGTERM stopped the search, or 0 */
    uint64_t resume; /* then: the first execution index not run */
    char error[400]; /* why the search could not go on (a worker's
                        fork, its death), or "" */
    /* a worker of a split search (dpor with WEFT_JOBS): it stops once a
     * worker of a lower number has found a failure (*halt < worker) */
    const uint32_t *halt;
    uint32_t worker;
    uint64_t *beat; /* counts its executions, for the parent's watch */
};

/* Distinct executions (distinct.c): exact up to 2048, then estimated. */
struct weft__distinct;
WEFT__HIDDEN size_t weft__distinct_size(void);
WEFT__HIDDEN void weft__distinct_add(struct weft__distinct *d, uint64_t h,
                                     bool atomic);
WEFT__HIDDEN uint64_t weft__distinct_count(const struct weft__distinct *d,
                                           bool *estimate);
WEFT__HIDDEN double weft__wall(void);
WEFT__HIDDEN bool weft__out_of_time(struct weft__search *s);
WEFT__HIDDEN void weft__progress(struct weft__search *s, bool last);
/* Run the search execution whose seed is in r->seed, interruptible.
 * With s->lean it runs with lean recording (core.h) and, if it fails,
 * again from its seed with full recording, so that what follows sees the
 * trace and decision log it would have seen (a re-run that does not
 * fail alike is reported as nondeterminism). Returns as weft__run_one. */
WEFT__HIDDEN int weft__search_run(struct weft__search *s);
/* Set by tests (or WEFT_LEAN=0): no search execution runs lean. */
WEFT__HIDDEN extern bool weft__lean_off;
/* Record r's failure of execution `index` unless a like one is known:
 * 1 new, 0 known, -ENOMEM. */
WEFT__HIDDEN int weft__search_found(struct weft__search *s, uint64_t index);
/* First thing in a forked worker of `parent`: it dies with its parent
 * and takes only the first SIGINT or SIGTERM (workers.c). */
WEFT__HIDDEN void weft__worker_start(pid_t parent);
/* The search split over cfg->jobs forked workers (workers.c). */
WEFT__HIDDEN int weft__search_parallel(struct weft__search *s);
/* A forked process leaves with _exit: write its gcov counts first. */
WEFT__HIDDEN void weft__gcov_flush(void);

/* Shrinking (shrink.c): minimise *s, a schedule failing like `like`,
 * within `budget` executions. Replaces *s with the smaller schedule and
 * returns how many executions it ran. */
WEFT__HIDDEN uint64_t weft__shrink(struct weft__run *r, weft_body_fn *body,
                                   void *arg, struct weft__schedule *s,
                                   const struct weft__finding *like,
                                   uint64_t budget);
WEFT__HIDDEN bool weft__same_failure(const struct weft__finding *a,
                                     const struct weft__finding *b);

#endif /* WEFT_EXPLORE_H */
