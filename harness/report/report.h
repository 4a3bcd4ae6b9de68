/*
 * report.h: the report layer (harness/report/): turning executions into
 * what people and machines read. report.c writes the text report of a
 * finding (and explains a deadlock: who waits for what, who holds it, the
 * wait-for cycle), export.c the JSON result and the Perfetto trace,
 * coverage.c synchronization coverage as an lcov tracefile.
 *
 * It reads the state of every layer below (tasks, mutex owners, loops and
 * their queues) but changes none of it. It hooks into the core with
 * weft__report_hooks (the deadlock explanation) and counts coverage through
 * weft__cov_ops. Uses: loop, sync, core, platform.
 */
#ifndef WEFT_REPORT_H
#define WEFT_REPORT_H

#include "loop/loop.h"

/* The deadlock explanation, for the core (register it on every run). */
WEFT__HIDDEN extern const struct weft__hooks weft__report_hooks;

/* Reports (report.c) */
WEFT__HIDDEN void weft__report(struct weft__run *r, uint64_t execution,
                               struct weft__buf *out);
/* Describe what a blocked task waits for; returns the task it waits on
 * (for the wait-for graph), or NULL. */
WEFT__HIDDEN struct weft__task *weft__describe_wait(struct weft__run *r,
                                                    struct weft__task *t,
                                                    struct weft__buf *b);

/* Exports (export.c) */
/* Each writes its file whole or not at all (the older one stays), says
 * why on stderr when it cannot, and returns 0 or -errno. The JSON status
 * is `status` if not NULL, else error (rc < 0), failed or passed. */
WEFT__HIDDEN int weft__export_trace(const char *path, struct weft__run *r);
WEFT__HIDDEN int weft__export_json(const char *path, const weft_config_t *cfg,
                                   const char *strategy,
                                   const weft_result_t *res, int rc,
                                   const char *status);

/* Synchronization coverage (coverage.c): the counter of this OS thread,
 * the calls the core makes on it, and its output. */
WEFT__HIDDEN struct weft__cov *weft__cov_get(void);
WEFT__HIDDEN extern const struct weft__cov_ops weft__cov_ops;
WEFT__HIDDEN void weft__cov_schedules(uint64_t n);
/* Write the tracefile (PATH.worker<pid> for a worker); 0 or -errno, with
 * a message. */
WEFT__HIDDEN int weft__cov_write(const weft_config_t *cfg, bool worker);
WEFT__HIDDEN void weft__cov_stats(uint64_t *sites, uint64_t *pairs,
                                  uint64_t *never);

#endif /* WEFT_REPORT_H */
