# Makefile: builds libweft (static and shared), its cmocka tests,
# benchmarks and examples, and the variant builds.
#
# Everything lands in $(BUILD) (default build/). Variants call make again
# with their own build folder and flags: asan -> build-asan/, valgrind ->
# build-valgrind/, clang -> build-clang/, aarch64 -> build-aarch64/,
# ucontext -> build-ucontext/. Sources are found by wildcard:
#   harness/<layer>/*.c *.S  the library, one folder per layer (every file,
#                            every build; harness/cc/ is weft-cc's runtime)
#   tests/test_*.c           one cmocka test program each
#   tests/bench_*.c          one benchmark program each
#   tests/*.c (other names)  helpers linked into every test program
#   examples/*.c             one example program each (`make demo`)
# `make help` lists the targets. Knobs: CC, BUILD, SWITCH=asm|ucontext,
# OPT (default -O2 -g), CFLAGS/CPPFLAGS/LDFLAGS/LDLIBS (appended, so they
# win), RUN (a prefix for running built programs, e.g. valgrind or qemu),
# TEST_TIMEOUT (seconds per program, 0 = none), V=1 (show commands),
# CI=true (adds -Werror).

CC ?= cc
AR ?= ar
NM ?= nm
BUILD ?= build
SWITCH ?= asm
OPT ?= -O2 -g
RUN ?=
TEST_TIMEOUT ?= 600
CLANG_FORMAT ?= clang-format
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
BINDIR ?= $(PREFIX)/bin

# TEST_UNDER_VALGRIND tells the tests that valgrind serialises the
# program's threads: a spinning thread can be seen waiting for valgrind's
# own lock (a read on its pipe), so what a spin was doing is not checked.
VALGRIND = env TEST_UNDER_VALGRIND=1 valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \
	--errors-for-leak-kinds=definite -q
# The loader is named explicitly instead of `qemu-aarch64 -L sysroot`:
# with -L, fork() in a dynamically linked guest hangs in qemu 7.2.
# TEST_UNDER_QEMU tells the tests what qemu-user cannot do: limits on the
# guest's address space, running a foreign binary again, the guest's
# system call numbers in /proc.
QEMU_AARCH64 = qemu-aarch64 -E TEST_UNDER_QEMU=1 \
	/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 \
	--library-path /usr/aarch64-linux-gnu/lib:/usr/lib/aarch64-linux-gnu
ASAN_CFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
ASAN_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# ------------------------------------------------------------------ flags

WARNINGS = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wundef
ifeq ($(CI),true)
WARNINGS += -Werror
endif

ifeq ($(SWITCH),asm)
SWITCH_DEFS =
else ifeq ($(SWITCH),ucontext)
SWITCH_DEFS = -DWEFT_SWITCH_UCONTEXT
else
$(error SWITCH must be asm or ucontext, not '$(SWITCH)')
endif

# No -fvisibility=hidden: weft.h marks nothing, so it would hide the public
# API too. Internals are hidden one by one with WEFT__HIDDEN (platform.h);
# `make check-exports` fails if anything but weft_* leaks from libweft.so.
# SANITIZE is for variants (asan); it goes to compile and link lines.
ALL_CPPFLAGS = -D_GNU_SOURCE -Iinclude -Iharness $(SWITCH_DEFS) $(CPPFLAGS)
ALL_CFLAGS = -std=c11 $(OPT) $(WARNINGS) $(SANITIZE) $(CFLAGS)
ALL_ASFLAGS = -g $(ASFLAGS)
ALL_LDFLAGS = $(SANITIZE) $(LDFLAGS)
ALL_LDLIBS = $(LDLIBS) -pthread
LIB_FLAGS = -DWEFT_BUILD -fPIC
DEP_FLAGS = -MMD -MP

# Catch undefined references when linking the shared library, except in
# sanitizer builds where clang leaves the runtime's symbols unresolved.
ifeq ($(strip $(SANITIZE)),)
SO_LDFLAGS = -Wl,--no-undefined
endif

ifeq ($(V),1)
Q =
quiet = @:
else
Q = @
quiet = @printf '  %-7s %s\n'
endif

ifneq ($(filter-out 0,$(TEST_TIMEOUT)),)
TIMEOUT_CMD = timeout --foreground -k 10 $(TEST_TIMEOUT)
endif

# ---------------------------------------------------------------- sources

# The layers, bottom up: each may include only its own header and those of
# the layers before it (make check-layers). harness/cc/ is built apart.
LAYERS = platform core sync loop report explore
LIB_SRCS := $(sort $(foreach l,$(LAYERS),$(wildcard harness/$(l)/*.c \
	harness/$(l)/*.S)))
LIB_OBJS := $(LIB_SRCS:%=$(BUILD)/obj/%.o)

# TEST_NATIVE_ONLY: test programs that build and run other native
# programs thousands of times (weft-cc's corpus: a fork per execution);
# the sanitizer, valgrind, ucontext and qemu variants leave them out, as
# they test the library itself, which the other programs cover.
TEST_NATIVE_ONLY = test_weftcc test_tsan test_realcode test_snapshot \
	test_cclimits
TEST_SRCS := $(sort $(wildcard tests/test_*.c))
ifneq ($(VARIANT),)
TEST_SRCS := $(filter-out $(TEST_NATIVE_ONLY:%=tests/%.c),$(TEST_SRCS))
endif
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
TEST_HELPER_SRCS := $(sort $(filter-out tests/test_% tests/bench_%, \
	$(wildcard tests/*.c)))
TEST_HELPER_OBJS := $(TEST_HELPER_SRCS:%=$(BUILD)/obj/%.o)

BENCH_SRCS := $(sort $(wildcard tests/bench_*.c))
BENCH_BINS := $(BENCH_SRCS:tests/%.c=$(BUILD)/tests/%)

EXAMPLE_SRCS := $(sort $(wildcard examples/*.c))
EXAMPLE_BINS := $(EXAMPLE_SRCS:examples/%.c=$(BUILD)/examples/%)

FORMAT_SRCS := $(sort $(wildcard harness/*/*.[ch] \
	include/*.h examples/fuzz/*.c \
	include/weft/*.h tests/*.c tests/*.h tests/weftcc/*.c tests/corpus/*.c \
	tests/fuzz/*.c \
	tests/bench-weftcc/*.c tests/realcode/*.c examples/*.c \
	examples/*.h))
PUBLIC_SUB_HDRS := $(sort $(wildcard include/weft/*.h))

LIBA = $(BUILD)/libweft.a
LIBSO = $(BUILD)/libweft.so
FLAGS_FILE = $(BUILD)/.flags

# --------------------------------------------------------- build targets

.DEFAULT_GOAL := all
.PHONY: all lib tests benches examples deps-check test soak demo bench asan \
	valgrind clang aarch64 ucontext check-exports check-layers install \
	install-check \
	uninstall \
	format check-format clean help FORCE

all: lib examples tests benches

lib: $(LIBA) $(LIBSO)
tests: $(TEST_BINS)
benches: $(BENCH_BINS)
examples: $(EXAMPLE_BINS)

# Everything is rebuilt when the compiler or a flag changes, so switching
# SWITCH or CFLAGS in one build folder never mixes objects.
FLAGS_SIG = $(subst ','\'',$(CC) | $(ALL_CPPFLAGS) | $(ALL_CFLAGS) | \
	$(ALL_ASFLAGS) | $(ALL_LDFLAGS) | $(ALL_LDLIBS))
$(FLAGS_FILE): FORCE
	@mkdir -p $(@D)
	@echo '$(FLAGS_SIG)' | cmp -s - $@ || echo '$(FLAGS_SIG)' > $@

$(BUILD)/obj/harness/%.c.o: harness/%.c $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(quiet) CC $<
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LIB_FLAGS) $(DEP_FLAGS) \
		-c -o $@ $<

$(BUILD)/obj/harness/%.S.o: harness/%.S $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(quiet) AS $<
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_ASFLAGS) $(LIB_FLAGS) $(DEP_FLAGS) \
		-c -o $@ $<

# Test sources include <cmocka.h>: check for it first, so a missing
# package is reported with the command that installs it.
$(BUILD)/obj/tests/%.c.o: tests/%.c $(FLAGS_FILE) | deps-check
	@mkdir -p $(@D)
	$(quiet) CC $<
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(DEP_FLAGS) -c -o $@ $<

$(BUILD)/obj/examples/%.c.o: examples/%.c $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(quiet) CC $<
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(DEP_FLAGS) -c -o $@ $<

# Benchmarks are always optimised, whatever OPT says (-O2 comes last).
$(BENCH_SRCS:%=$(BUILD)/obj/%.o): $(BUILD)/obj/tests/%.c.o: tests/%.c \
		$(FLAGS_FILE)
	@mkdir -p $(@D)
	$(quiet) CC $<
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -O2 $(DEP_FLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJS)
	@mkdir -p $(@D)
	$(quiet) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $(LIB_OBJS)

$(LIBSO): $(LIB_OBJS) $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(quiet) LD $@
	$(Q)$(CC) -shared $(ALL_LDFLAGS) $(SO_LDFLAGS) -o $@ $(LIB_OBJS) \
		$(ALL_LDLIBS)

$(TEST_BINS): $(BUILD)/tests/%: $(BUILD)/obj/tests/%.c.o \
		$(TEST_HELPER_OBJS) $(LIBA) | deps-check
	@mkdir -p $(@D)
	$(quiet) LD $@
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(TEST_HELPER_OBJS) $(LIBA) \
		-lcmocka $(ALL_LDLIBS)

$(BENCH_BINS): $(BUILD)/tests/%: $(BUILD)/obj/tests/%.c.o $(LIBA)
	@mkdir -p $(@D)
	$(quiet) LD $@
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBA) $(ALL_LDLIBS)

$(EXAMPLE_BINS): $(BUILD)/examples/%: $(BUILD)/obj/examples/%.c.o $(LIBA)
	@mkdir -p $(@D)
	$(quiet) LD $@
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBA) $(ALL_LDLIBS)

-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/obj/*/*/*.d)

deps-check:
	@sh scripts/deps.sh --check

# ---------------------------------------------------------------- running

# $(call run_tests,PROGRAMS): run each program under $(RUN) with its output
# shown and kept in PROGRAM.log, add up cmocka's own summary lines, and end
# with one line "tests: N passed, N failed, N skipped" (test cases). A
# program that exits non-zero without reporting a failed case (a crash, a
# timeout, a valgrind or sanitizer error) counts as one failed case; one
# that prints no cmocka summary and exits 0 counts as one passed case.
define run_tests
unset WEFT_QUIET; \
progs=0; bad=0; passed=0; failed=0; skipped=0; badlist=; \
for t in $(1); do \
	progs=$$((progs + 1)); \
	printf '\n==> %s\n' "$$t"; \
	{ $(TIMEOUT_CMD) $(RUN) $$t 2>&1; echo $$? > $$t.rc; } | tee $$t.log; \
	rc=$$(cat $$t.rc); \
	set -- $$(awk ' \
		/^\[  PASSED  \] [0-9]+ test[(]s[)]\.$$/ { p += $$4 } \
		/^\[  FAILED  \] [0-9]+ test[(]s[)], listed below:/ { f += $$4 } \
		/^\[  SKIPPED \] [0-9]+ test[(]s[)], listed below:/ { s += $$4 } \
		/^\[==========\] [0-9]+ test[(]s[)] run\./ { r = 1 } \
		END { print p + 0, f + 0, s + 0, r + 0 }' $$t.log); \
	p=$$1; f=$$2; s=$$3; r=$$4; \
	if [ "$$rc" -ne 0 ] && [ "$$f" -eq 0 ]; then \
		f=1; \
		echo "==> $$t exited with status $$rc but reported no failed test (crash, timeout, or a valgrind/sanitizer error?)"; \
	elif [ "$$rc" -eq 0 ] && [ "$$r" -eq 0 ]; then \
		p=1; \
	fi; \
	if [ "$$rc" -ne 0 ] || [ "$$f" -ne 0 ]; then \
		bad=$$((bad + 1)); badlist="$$badlist $$t"; \
	fi; \
	passed=$$((passed + p)); failed=$$((failed + f)); \
	skipped=$$((skipped + s)); \
done; \
echo; \
if [ "$$progs" -eq 0 ]; then \
	echo "==> no test programs (tests/test_*.c) found"; \
elif [ "$$bad" -eq 0 ]; then \
	echo "==> $$progs test programs, all passed"; \
else \
	echo "==> $$progs test programs, $$bad failed:$$badlist"; \
fi; \
echo "tests: $$passed passed, $$failed failed, $$skipped skipped"; \
[ "$$bad" -eq 0 ]
endef

test: deps-check $(TEST_BINS)
	@$(call run_tests,$(TEST_BINS))

# The generated-program soundness test on thousands of larger programs
# (tests/test_gen.c; WEFT_GEN_COUNT, WEFT_GEN_STRATEGY as there).
soak: $(BUILD)/tests/test_gen
	WEFT_GEN_COUNT=$${WEFT_GEN_COUNT:-3000} WEFT_GEN_OPS=$${WEFT_GEN_OPS:-4} \
		WEFT_GEN_CAP=$${WEFT_GEN_CAP:-20000} $(RUN) $(BUILD)/tests/test_gen

demo: lib $(EXAMPLE_BINS)
	@unset WEFT_QUIET; n=0; bad=0; badlist=; \
	for e in $(EXAMPLE_BINS); do \
		n=$$((n + 1)); \
		printf '\n================ example: %s ================\n' \
			"$${e##*/}"; \
		$(TIMEOUT_CMD) $(RUN) $$e; rc=$$?; \
		if [ "$$rc" -ne 0 ]; then \
			echo "==> $${e##*/} exited with status $$rc"; \
			bad=$$((bad + 1)); badlist="$$badlist $${e##*/}"; \
		fi; \
	done; \
	echo; \
	if [ "$$bad" -ne 0 ]; then echo "==> failed examples:$$badlist"; fi; \
	echo "examples: $$((n - bad)) passed, $$bad failed"; \
	[ "$$bad" -eq 0 ]

# scripts/bench-weftcc.sh (weft-cc benchmarks) and scripts/bench-racepoints.sh
# (race points against the granularities) run after the programs and count
# as one benchmark each.
bench: $(BENCH_BINS) weft-cc
	@mkdir -p $(BUILD)/bench
	@unset WEFT_QUIET; WEFT_BENCH_DIR='$(abspath $(BUILD)/bench)'; \
	export WEFT_BENCH_DIR; n=0; bad=0; \
	for b in $(BENCH_BINS); do \
		n=$$((n + 1)); \
		printf '\n================ bench: %s ================\n' \
			"$${b##*/}"; \
		$(TIMEOUT_CMD) $(RUN) $$b; rc=$$?; \
		if [ "$$rc" -ne 0 ]; then \
			echo "==> $${b##*/} exited with status $$rc"; \
			bad=$$((bad + 1)); \
		fi; \
	done; \
	n=$$((n + 1)); \
	printf '\n================ bench: %s ================\n' bench-weftcc.sh; \
	$(TIMEOUT_CMD) bash scripts/bench-weftcc.sh '$(BUILD)'; rc=$$?; \
	if [ "$$rc" -ne 0 ]; then \
		echo "==> bench-weftcc.sh exited with status $$rc"; \
		bad=$$((bad + 1)); \
	fi; \
	n=$$((n + 1)); \
	printf '\n================ bench: %s ================\n' bench-racepoints.sh; \
	$(TIMEOUT_CMD) bash scripts/bench-racepoints.sh '$(BUILD)'; rc=$$?; \
	if [ "$$rc" -ne 0 ]; then \
		echo "==> bench-racepoints.sh exited with status $$rc"; \
		bad=$$((bad + 1)); \
	fi; \
	echo; echo "==> $$n benchmarks, $$bad failed; JSON in $$WEFT_BENCH_DIR"; \
	[ "$$bad" -eq 0 ]

# Fails if libweft.so exports anything but the public API: weft_* names,
# weft__* names that the public headers use (macros call them), and the
# three process exits weft defines so that a task calling them is a
# finding (harness/core/exit.c: exit, _exit, _Exit).
check-exports: $(LIBSO)
	@public=$$(cat include/weft.h $(PUBLIC_SUB_HDRS) | \
		grep -o 'weft__[A-Za-z0-9_]*' | sort -u | tr '\n' ' '); \
	leaked=$$($(NM) -D --defined-only $(LIBSO) | \
		awk -v public="$$public" ' \
		BEGIN { n = split(public, a, " "); \
			for (i = 1; i <= n; i++) ok[a[i]] = 1 } \
		$$3 == "" || $$3 in ok { next } \
		$$3 ~ /^(_init|_fini|_edata|_end|__bss_start)$$/ { next } \
		$$3 ~ /^(exit|_exit|_Exit)$$/ { next } \
		$$3 !~ /^weft_[a-z0-9]/ { print "    " $$3 }'); \
	if [ -n "$$leaked" ]; then \
		echo "check-exports: $(LIBSO) exports internal symbols (mark them WEFT__HIDDEN or static):"; \
		echo "$$leaked"; exit 1; \
	fi; \
	echo "check-exports: $(LIBSO) exports only the public API ($$($(NM) -D --defined-only $(LIBSO) | grep -c ' weft_') symbols)"

# Fails if a file of harness/ includes (or names an internal of) a layer
# above its own: see scripts/check-layers.sh for the layers and the rule.
check-layers:
	@sh scripts/check-layers.sh

# --------------------------------------------------------------- variants

asan:
	$(ASAN_ENV) $(MAKE) BUILD=build-asan SANITIZE='$(ASAN_CFLAGS)' VARIANT=asan test

valgrind:
	$(MAKE) BUILD=build-valgrind RUN='$(VALGRIND)' VARIANT=valgrind test

clang:
	$(MAKE) CC=clang BUILD=build-clang all test

ucontext:
	$(MAKE) BUILD=build-ucontext SWITCH=ucontext VARIANT=ucontext all test

# The cross build runs the tests (Debian's arm64 cmocka, multiarch) and
# the examples under qemu.
aarch64:
	@sh scripts/deps.sh --check cross
	$(MAKE) CC=aarch64-linux-gnu-gcc AR=aarch64-linux-gnu-ar \
		NM=aarch64-linux-gnu-nm OBJCOPY=aarch64-linux-gnu-objcopy \
		BUILD=build-aarch64 \
		RUN='$(QEMU_AARCH64)' VARIANT=aarch64 test demo weft-cc
	bash scripts/weftcc-smoke.sh build-aarch64/cc $(QEMU_AARCH64)

# ---- coverage ---------------------------------------------------------
#
# `make coverage`: line, function and branch coverage (gcov, lcov,
# genhtml) of libweft and of the examples (the demo's code under test)
# over `make test` and `make demo`, in a gcc --coverage -O0 -g build in
# build-coverage/. Then the synchronization coverage of the examples: each
# runs again with WEFT_SYNC_COVERAGE=build-coverage/sync/<example>.info;
# the tracefiles are merged and rendered as a report of their own, never
# merged into line coverage (their counts are not line hits). One example
# runs once more with WEFT_JOBS=2, and the target checks that the forked
# workers' counts were kept (workers.c's worker() has calls; see
# gcov_fork.o below).
#
# lcov and genhtml run through scripts/weft-coverage.sh, the recipe users
# follow for their own code; every lcov and genhtml call gets
# --rc lcov_branch_coverage=1, without which branch data is silently
# dropped. System headers (/usr/*) and tests/ are removed from the line
# report. Failing tests or examples still leave a report; the target fails
# at the end. Results in build-coverage/:
#   coverage.info, html/index.html        line, function, branch coverage
#   sync/<example>.info[.worker<pid>], sync.info, sync-html/index.html
#   sync/<example>.log, jobs-check.log    what those runs printed
# Knobs: SYNC_MEASURE (contended; reached, blocked, preempted, woke),
# COV_JOBS_EXAMPLE (task_group), COV_CC (gcc: lcov reads gcc's gcov).

COV_BUILD = build-coverage
COV_CC ?= gcc
SYNC_MEASURE ?= contended
COV_JOBS_EXAMPLE ?= task_group
COV_LCOV = lcov --rc lcov_branch_coverage=1 --quiet
COV_SCRIPT = sh scripts/weft-coverage.sh
# Forked processes: the tests run explorations in forked children that end
# with _exit() or abort() (misuse), and weft's workers (WEFT_JOBS) are
# forked too. gcov writes counts only at exit(), and a child inherits its
# parent's counts. So every program of this build is linked with a small
# generated object, gcov_fork.o, and -Wl,--wrap: fork() resets the
# counters in the child (counts are neither lost nor counted twice),
# _exit() writes them first, abort() writes and resets them (weft may
# catch the SIGABRT and go on). It also pulls libgcov's __gcov_dump into
# the link, which the weak reference in workers.c alone does not do (a
# weak reference never takes a member out of a static archive). Only the
# calls made by weft's and the tests' own code are wrapped.
COV_WRAP_OBJ = $(COV_BUILD)/gcov_fork.o
COV_LDLIBS = -Wl,--wrap=fork -Wl,--wrap=_exit -Wl,--wrap=abort \
	$(abspath $(COV_WRAP_OBJ))
COV_MAKE = $(MAKE) --no-print-directory CC=$(COV_CC) BUILD=$(COV_BUILD) VARIANT=coverage \
	OPT='-O0 -g' SANITIZE=--coverage LDLIBS='$(LDLIBS) $(COV_LDLIBS)'
COV_EXAMPLES = $(EXAMPLE_SRCS:examples/%.c=$(COV_BUILD)/examples/%)
# `test` and `demo` run what the build step built, even if a source
# changed meanwhile: a rebuilt object would no longer match the counts.
COV_BUILT = $(patsubst tests/%.c,$(COV_BUILD)/tests/%,$(filter-out $(TEST_NATIVE_ONLY:%=tests/%.c),$(TEST_SRCS))) $(COV_EXAMPLES) \
	$(COV_BUILD)/libweft.a $(COV_BUILD)/libweft.so
COV_RUN = $(COV_MAKE) $(addprefix -o ,$(COV_BUILT))

.PHONY: coverage
coverage:
	@sh scripts/deps.sh --check coverage
	@rm -rf $(COV_BUILD)/html $(COV_BUILD)/sync $(COV_BUILD)/sync-html \
		$(COV_BUILD)/*.info $(COV_BUILD)/jobs-check.log
	@if [ -d $(COV_BUILD) ]; then \
		find $(COV_BUILD) -name '*.gcda' -exec rm -f {} +; fi
	@mkdir -p $(COV_BUILD)
	@printf '%s\n' \
		'/* generated by make coverage: see the Makefile */' \
		'#include <sys/types.h>' \
		'void __gcov_dump(void);' \
		'void __gcov_reset(void);' \
		'pid_t __real_fork(void);' \
		'void __real__exit(int) __attribute__((noreturn));' \
		'void __real_abort(void) __attribute__((noreturn));' \
		'pid_t __wrap_fork(void);' \
		'void __wrap__exit(int) __attribute__((noreturn));' \
		'void __wrap_abort(void) __attribute__((noreturn));' \
		'pid_t __wrap_fork(void)' \
		'{' \
		'    pid_t pid = __real_fork();' \
		'    if (pid == 0)' \
		'        __gcov_reset();' \
		'    return pid;' \
		'}' \
		'void __wrap__exit(int status)' \
		'{' \
		'    __gcov_dump();' \
		'    __real__exit(status);' \
		'}' \
		'void __wrap_abort(void)' \
		'{' \
		'    __gcov_dump();' \
		'    __gcov_reset();' \
		'    __real_abort();' \
		'}' > $(COV_BUILD)/gcov_fork.c.tmp
	@cmp -s $(COV_BUILD)/gcov_fork.c.tmp $(COV_BUILD)/gcov_fork.c || { \
		mv $(COV_BUILD)/gcov_fork.c.tmp $(COV_BUILD)/gcov_fork.c; \
		rm -f $(COV_BUILD)/.flags; }
	@rm -f $(COV_BUILD)/gcov_fork.c.tmp
	$(COV_CC) -std=c11 -O2 -fPIC $(WARNINGS) -c -o $(COV_WRAP_OBJ) \
		$(COV_BUILD)/gcov_fork.c
	$(COV_MAKE) lib tests examples
	@unset WEFT_QUIET; status=0; \
	$(COV_RUN) test || status=1; \
	$(COV_RUN) demo || status=1; \
	printf '\n================ synchronization coverage (%s) ================\n' \
		'$(SYNC_MEASURE)'; \
	mkdir -p $(COV_BUILD)/sync; \
	for e in $(COV_EXAMPLES); do \
		n=$${e##*/}; \
		WEFT_SYNC_COVERAGE=$(COV_BUILD)/sync/$$n.info \
		WEFT_SYNC_MEASURE='$(SYNC_MEASURE)' \
			$(TIMEOUT_CMD) $(RUN) $$e > $(COV_BUILD)/sync/$$n.log 2>&1; \
		rc=$$?; \
		printf '  %-20s ' "$$n"; \
		grep '^weft: sync coverage' $(COV_BUILD)/sync/$$n.log | tail -n 1 | \
			sed 's/^weft: sync coverage ([a-z]*) in [^ ]*: //'; \
		if [ "$$rc" -ne 0 ]; then \
			echo "==> $$n exited with status $$rc (see $(COV_BUILD)/sync/$$n.log)"; \
			status=1; \
		fi; \
	done; \
	je=$(COV_BUILD)/examples/$(COV_JOBS_EXAMPLE); \
	[ -x "$$je" ] || je=$(firstword $(COV_EXAMPLES)); \
	printf '\n==> %s with WEFT_JOBS=2 (forked workers)\n' "$${je##*/}"; \
	WEFT_JOBS=2 $(TIMEOUT_CMD) $(RUN) $$je > $(COV_BUILD)/jobs-check.log 2>&1 || { \
		echo "==> $${je##*/} with WEFT_JOBS=2 failed (see $(COV_BUILD)/jobs-check.log)"; \
		status=1; }; \
	echo; \
	$(COV_SCRIPT) capture $(COV_BUILD)/obj $(COV_BUILD)/coverage.info \
		'$(CURDIR)/tests/*' || exit 1; \
	$(COV_SCRIPT) html $(COV_BUILD)/coverage.info $(COV_BUILD)/html \
		'weft line coverage (make test, make demo)' >/dev/null || exit 1; \
	$(COV_SCRIPT) sync $(COV_BUILD)/sync.info $(COV_BUILD)/sync/*.info \
		|| exit 1; \
	$(COV_SCRIPT) html $(COV_BUILD)/sync.info $(COV_BUILD)/sync-html \
		'weft synchronization coverage ($(SYNC_MEASURE))' >/dev/null \
		|| exit 1; \
	calls=$$(awk -v f='$(CURDIR)/harness/explore/workers.c' \
		'/^SF:/ { in_f = (substr($$0, 4) == f) } \
		in_f && /^FNDA:[0-9]+,worker$$/ { split($$0, a, /[:,]/); print a[2] }' \
		$(COV_BUILD)/coverage.info); \
	if [ "$${calls:-0}" -gt 0 ]; then \
		echo "workers: worker() ran $$calls times in forked processes: their counts are kept"; \
	else \
		echo "==> harness/explore/workers.c worker() shows no calls: the forked workers' gcov counts were lost"; \
		status=1; \
	fi; \
	$(COV_LCOV) -e $(COV_BUILD)/coverage.info '$(CURDIR)/harness/*' \
		-o $(COV_BUILD)/harness.info || exit 1; \
	echo; echo 'line coverage, harness/ and examples/:'; \
	$(COV_SCRIPT) summary $(COV_BUILD)/coverage.info; \
	echo 'line coverage, harness/ only:'; \
	$(COV_SCRIPT) summary $(COV_BUILD)/harness.info; \
	echo; \
	echo 'line coverage: $(CURDIR)/$(COV_BUILD)/html/index.html'; \
	echo 'sync coverage: $(CURDIR)/$(COV_BUILD)/sync-html/index.html'; \
	if [ "$$status" -ne 0 ]; then \
		echo '==> coverage written, but tests, examples or checks failed (above)'; \
	fi; \
	exit $$status

# ---- end of coverage --------------------------------------------------

# ---------------------------------------------------------------- install

VERSION = $(shell sed -n 's/^\#define WEFT_VERSION "\(.*\)"$$/\1/p' \
	include/weft.h)

install: lib weft-cc
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(LIBDIR)/weft-cc/notsan
	install -m 644 $(WEFTCC_OBJ) $(WEFTCC_LIB) $(WEFTCC_DIR)/config \
		$(WEFTCC_DIR)/exports.list $(DESTDIR)$(LIBDIR)/weft-cc/
	install -m 644 $(WEFTCC_DIR)/notsan/libtsan.a \
		$(DESTDIR)$(LIBDIR)/weft-cc/notsan/
	sed -e 's|^	installed=$$|	installed="$(LIBDIR)/weft-cc"|' scripts/weft-cc \
		> $(BUILD)/weft-cc.installed
	install -m 755 $(BUILD)/weft-cc.installed $(DESTDIR)$(BINDIR)/weft-cc
	install -m 644 include/weft.h $(DESTDIR)$(INCLUDEDIR)/weft.h
ifneq ($(PUBLIC_SUB_HDRS),)
	install -d $(DESTDIR)$(INCLUDEDIR)/weft
	install -m 644 $(PUBLIC_SUB_HDRS) $(DESTDIR)$(INCLUDEDIR)/weft/
endif
	install -m 644 $(LIBA) $(DESTDIR)$(LIBDIR)/libweft.a
	install -m 755 $(LIBSO) $(DESTDIR)$(LIBDIR)/libweft.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
		-e 's|@VERSION@|$(VERSION)|g' scripts/weft.pc.in > $(BUILD)/weft.pc
	install -m 644 $(BUILD)/weft.pc $(DESTDIR)$(PKGCONFIGDIR)/weft.pc

# `make install` into a scratch prefix, then a program outside the tree
# built with the installed weft-cc through make CC=weft-cc (separate
# compile and link steps, two sources): its race is found, its fixed
# build is clean; and pkg-config finds libweft.
install-check:
	@d=$$(mktemp -d) && trap 'rm -rf "$$d"' EXIT && \
	$(MAKE) --no-print-directory install PREFIX=$$d/prefix >/dev/null && \
	mkdir $$d/proj && \
	printf '%s\n' '#include <pthread.h>' 'int counter;' \
		'pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;' \
		'void *work(void *a) {' \
		'#ifdef FIXED' '  pthread_mutex_lock(&m);' '#endif' \
		'  counter++;' \
		'#ifdef FIXED' '  pthread_mutex_unlock(&m);' '#endif' \
		'  return a; }' > $$d/proj/work.c && \
	printf '%s\n' '#include <pthread.h>' 'void *work(void *);' \
		'int main(void) { pthread_t a, b;' \
		'  pthread_create(&a, 0, work, 0); pthread_create(&b, 0, work, 0);' \
		'  pthread_join(a, 0); pthread_join(b, 0); return 0; }' \
		> $$d/proj/main.c && \
	printf 'prog: main.o work.o\n\t$$(CC) -o $$@ main.o work.o -pthread\n' \
		> $$d/proj/Makefile && \
	PATH=$$d/prefix/bin:$$PATH $(MAKE) --no-print-directory -s -C $$d/proj \
		CC=weft-cc CFLAGS=-O1 && \
	{ WEFT_SEED=1 $$d/proj/prog 2>$$d/err; test $$? -eq 1 && \
	  grep -q 'kind:      data race' $$d/err && \
	  grep -q "global 'counter'" $$d/err; } && \
	rm -f $$d/proj/*.o $$d/proj/prog && \
	PATH=$$d/prefix/bin:$$PATH $(MAKE) --no-print-directory -s -C $$d/proj \
		CC=weft-cc CFLAGS='-O1 -DFIXED' && \
	WEFT_ITERATIONS=300 $$d/proj/prog 2>$$d/err && \
	PKG_CONFIG_PATH=$$d/prefix/lib/pkgconfig pkg-config --exists weft && \
	printf '%s\n' '#include <weft.h>' 'static int n;' \
		'static void *inc(void *a) { int v = n; weft_yield(); n = v + 1; return a; }' \
		'static void body(void *a) { weft_thread_t t; n = 0;' \
		'  weft_thread_spawn(&t, "t", inc, 0); inc(a);' \
		'  weft_thread_join(t, 0); weft_assert(n == 2, "n is %d", n); }' \
		'int main(void) { weft_config_t c; weft_config_init(&c);' \
		'  return weft_explore(&c, body, 0, 0) == 1 ? 0 : 1; }' \
		> $$d/proj/test.c && \
	cc -std=c11 $$d/proj/test.c $$(PKG_CONFIG_PATH=$$d/prefix/lib/pkgconfig \
		pkg-config --cflags --libs weft) -o $$d/proj/test && \
	(cd $$d/proj && env -u LD_LIBRARY_PATH ./test 2>$$d/err) && \
	grep -q 'assertion failed: n == 2' $$d/err && \
	echo "install-check: installed weft-cc finds the race, fixed build clean; a weft.h test built with pkg-config runs as ./test" \
	|| { echo "install-check FAILED"; cat $$d/err 2>/dev/null; exit 1; }

uninstall:
	rm -rf $(DESTDIR)$(LIBDIR)/weft-cc
	rm -f $(DESTDIR)$(BINDIR)/weft-cc
	rm -f $(DESTDIR)$(INCLUDEDIR)/weft.h \
		$(PUBLIC_SUB_HDRS:include/%=$(DESTDIR)$(INCLUDEDIR)/%) \
		$(DESTDIR)$(LIBDIR)/libweft.a $(DESTDIR)$(LIBDIR)/libweft.so \
		$(DESTDIR)$(PKGCONFIGDIR)/weft.pc
	rmdir $(DESTDIR)$(INCLUDEDIR)/weft 2>/dev/null || true

# ------------------------------------------------------------ format, misc

format:
	@sh scripts/deps.sh --check format
	$(if $(FORMAT_SRCS),$(CLANG_FORMAT) -i $(FORMAT_SRCS))

check-format:
	@sh scripts/deps.sh --check format
	$(if $(FORMAT_SRCS),$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_SRCS))

clean:
	rm -rf build build-*

help:
	@echo 'make [all]        libweft.a/.so, examples, tests, benchmarks'
	@echo 'make test         run tests/test_*.c (cmocka); checks deps first'
	@echo 'make soak         tests/test_gen on thousands of generated programs'
	@echo 'make demo         run every examples/*.c, in order'
	@echo 'make bench        run tests/bench_*.c; JSON in $$BUILD/bench/'
	@echo 'make asan         tests with ASan+UBSan in build-asan/'
	@echo 'make valgrind     tests under valgrind in build-valgrind/'
	@echo 'make clang        everything + tests with clang in build-clang/'
	@echo 'make ucontext     everything + tests with SWITCH=ucontext'
	@echo 'make aarch64      cross-build, run tests and examples under qemu'
	@echo 'make coverage     gcov line/branch + sync coverage HTML in build-coverage/'
	@echo 'make fuzz         libFuzzer on examples/fuzz/*.c, then replay the crash'
	@echo 'make fuzz-afl     the same with AFL++'
	@echo 'make fuzz-parser  libFuzzer, ASan and UBSan on the schedule file parser'
	@echo 'make weftcc-ubsan | weftcc-valgrind  weft-cc runtime under UBSan / valgrind'
	@echo 'make fuzz-parser  libFuzzer+ASan+UBSan on the schedule file parser (FUZZ_PARSER_TIME)'
	@echo 'make check-exports  libweft.so exports only weft_*'
	@echo 'make check-layers   no file of harness/ reaches into a layer above it'
	@echo 'make install      PREFIX=/usr/local, DESTDIR honoured'
	@echo 'make install-check  install to a scratch prefix, build a pthread program with weft-cc'
	@echo 'make format | check-format | clean | uninstall'

FORCE:

# ---- fuzzing (strategy_fuzz.c)
#
# Schedule fuzzing of the targets in examples/fuzz/ (not examples/: `make
# demo` runs each of those). Each target is a body wrapped by
# WEFT_FUZZ_TARGET (include/weft/fuzz.h) with a bug that its fuzzer must
# find within FUZZ_TIME seconds:
#   make fuzz      clang -fsanitize=fuzzer build in $(BUILD)/fuzz/NAME, run
#                  by libFuzzer; the crash file it writes must replay with
#                  a plain build ($(BUILD)/fuzz/NAME-replay): exit status
#                  1, weft's report, and the same trace hash as the run
#                  that found it. Work files: $(BUILD)/fuzz/NAME.libfuzzer/
#   make fuzz-afl  the same with AFL++ (afl-clang-fast, afl-fuzz in file
#                  mode, @@), in $(BUILD)/fuzz/NAME.afl/
# Knobs: FUZZ_TIME (20), FUZZ_CC (clang), AFL_CC (afl-clang-fast),
# LIBFUZZER_OPTS (extra libFuzzer flags). Packages: deps.sh group fuzz.

FUZZ_TIME ?= 20
FUZZ_CC ?= clang
AFL_CC ?= afl-clang-fast
LIBFUZZER_OPTS ?=
FUZZ_DIR = $(BUILD)/fuzz
FUZZ_SRCS := $(sort $(wildcard examples/fuzz/*.c))
FUZZ_NAMES = $(FUZZ_SRCS:examples/fuzz/%.c=%)
FUZZ_LF_BINS = $(FUZZ_NAMES:%=$(FUZZ_DIR)/%)
FUZZ_AFL_BINS = $(FUZZ_NAMES:%=$(FUZZ_DIR)/%-afl)
FUZZ_REPLAY_BINS = $(FUZZ_NAMES:%=$(FUZZ_DIR)/%-replay)
FUZZ_HDRS = include/weft.h include/weft/fuzz.h
FUZZ_CFLAGS = -std=c11 -O1 -g -D_GNU_SOURCE -Iinclude $(WARNINGS)
# libFuzzer grows inputs from 4 bytes by default, and a weft input is a
# schedule whose late choices need long inputs: start at full length.
LIBFUZZER_FLAGS = -len_control=0 -max_len=256 -print_final_stats=1 \
	$(LIBFUZZER_OPTS)
AFL_ENV = AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 \
	AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_BENCH_UNTIL_CRASH=1 \
	AFL_QUIET=1

.PHONY: fuzz fuzz-afl fuzz-deps

fuzz-deps:
	@sh scripts/deps.sh --check fuzz

$(FUZZ_LF_BINS): $(FUZZ_DIR)/%: examples/fuzz/%.c $(FUZZ_HDRS) $(LIBA) \
		| fuzz-deps
	@mkdir -p $(@D)
	$(quiet) FUZZCC $@
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -DWEFT_FUZZ_LIBFUZZER \
		-o $@ $< $(LIBA) -pthread

$(FUZZ_AFL_BINS): $(FUZZ_DIR)/%-afl: examples/fuzz/%.c $(FUZZ_HDRS) $(LIBA) \
		| fuzz-deps
	@mkdir -p $(@D)
	$(quiet) AFLCC $@
	$(Q)AFL_QUIET=1 $(AFL_CC) $(FUZZ_CFLAGS) -o $@ $< $(LIBA) -pthread

$(FUZZ_REPLAY_BINS): $(FUZZ_DIR)/%-replay: examples/fuzz/%.c $(FUZZ_HDRS) \
		$(LIBA)
	@mkdir -p $(@D)
	$(quiet) LD $@
	$(Q)$(CC) $(FUZZ_CFLAGS) -o $@ $< $(LIBA) -pthread

# $(call fuzz_check,NAME,DIR,CRASH,FOUND-LOG): replay CRASH with the plain
# build; 1 with weft's report and FOUND-LOG's trace hash, else a message.
define fuzz_check
rrc=0; $(FUZZ_DIR)/$(1)-replay "$(3)" > $(2)/replay.log 2>&1 || rrc=$$?; \
cat $(2)/replay.log; \
want=$$(grep -m 1 '^  trace hash:' $(4) | awk '{print $$3}'); \
got=$$(grep -m 1 '^  trace hash:' $(2)/replay.log | awk '{print $$3}'); \
if [ "$$rrc" -ne 1 ] || ! grep -q '^weft: FAILED: ' $(2)/replay.log || \
	! grep -q '^  replay: ' $(2)/replay.log || [ -z "$$got" ] || \
	[ "$$got" != "$$want" ]; then \
	echo "==> $(1): the plain replay of $(3) did not report the finding (status $$rrc, trace hash '$$got', the fuzzer's '$$want')"; \
	bad=$$((bad + 1)); \
else \
	echo "==> $(1): the plain build replays $(3): status 1, same report, trace hash $$got"; \
fi
endef

fuzz: $(FUZZ_LF_BINS) $(FUZZ_REPLAY_BINS)
	@unset WEFT_QUIET; n=0; bad=0; \
	for name in $(FUZZ_NAMES); do \
		n=$$((n + 1)); dir=$(FUZZ_DIR)/$$name.libfuzzer; \
		rm -rf $$dir; mkdir -p $$dir/corpus $$dir/crashes; \
		printf '\n================ fuzz (libFuzzer, %ss): %s ================\n' \
			'$(FUZZ_TIME)' "$$name"; \
		rc=0; timeout -k 10 $$(($(FUZZ_TIME) + 60)) $(FUZZ_DIR)/$$name \
			-max_total_time=$(FUZZ_TIME) $(LIBFUZZER_FLAGS) \
			-artifact_prefix=$$dir/crashes/ $$dir/corpus \
			> $$dir/fuzz.log 2>&1 || rc=$$?; \
		crash=$$(ls $$dir/crashes/crash-* 2>/dev/null | head -n 1); \
		if [ "$$rc" -eq 0 ] || [ -z "$$crash" ]; then \
			tail -n 20 $$dir/fuzz.log; \
			echo "==> $$name: libFuzzer found no bug in $(FUZZ_TIME)s (status $$rc; log $$dir/fuzz.log)"; \
			bad=$$((bad + 1)); continue; \
		fi; \
		echo "==> $$name: libFuzzer found it after $$(grep -o 'number_of_executed_units: [0-9]*' $$dir/fuzz.log | awk '{print $$2}') inputs: $$crash"; \
		$(call fuzz_check,$$name,$$dir,$$crash,$$dir/fuzz.log); \
	done; \
	echo; echo "fuzz: $$((n - bad)) passed, $$bad failed"; \
	[ "$$bad" -eq 0 ]

fuzz-afl: $(FUZZ_AFL_BINS) $(FUZZ_REPLAY_BINS)
	@unset WEFT_QUIET; n=0; bad=0; \
	for name in $(FUZZ_NAMES); do \
		n=$$((n + 1)); dir=$(FUZZ_DIR)/$$name.afl; \
		rm -rf $$dir; mkdir -p $$dir/in; printf '\000' > $$dir/in/zero; \
		printf '\n================ fuzz (AFL++, %ss): %s ================\n' \
			'$(FUZZ_TIME)' "$$name"; \
		rc=0; $(AFL_ENV) timeout -k 10 $$(($(FUZZ_TIME) + 60)) \
			afl-fuzz -i $$dir/in -o $$dir/out -V $(FUZZ_TIME) \
			-- $(FUZZ_DIR)/$$name-afl @@ > $$dir/afl.log 2>&1 || rc=$$?; \
		crash=$$(ls $$dir/out/default/crashes/id:* 2>/dev/null | head -n 1); \
		if [ -z "$$crash" ]; then \
			tail -n 20 $$dir/afl.log; \
			echo "==> $$name: AFL++ found no bug in $(FUZZ_TIME)s (status $$rc; log $$dir/afl.log)"; \
			bad=$$((bad + 1)); continue; \
		fi; \
		echo "==> $$name: AFL++ found it after $$(echo "$$crash" | sed -n 's/.*,execs:\([0-9]*\),.*/\1/p') inputs: $$crash"; \
		$(FUZZ_DIR)/$$name-afl "$$crash" > $$dir/found.log 2>&1 || true; \
		$(call fuzz_check,$$name,$$dir,$$crash,$$dir/found.log); \
	done; \
	echo; echo "fuzz-afl: $$((n - bad)) passed, $$bad failed"; \
	[ "$$bad" -eq 0 ]

# ---- weft-cc's runtime under UBSan and valgrind -------------------------
#
# `make asan` and `make valgrind` test the library; weft-cc's runtime
# (harness/cc: interposers, fork server, race detector) runs only in the
# programs weft-cc builds, which these leave out. Two targets cover it:
#   make weftcc-ubsan     weft-cc and its tests (test_weftcc, test_tsan,
#                         test_cclimits) built with UBSan in
#                         build-ccubsan/: the runtime, libweft-cc.a and
#                         every program the tests build with it (the
#                         link flags go through cc/config) stop at the
#                         first undefined behaviour.
#   make weftcc-valgrind  scripts/weftcc-valgrind.sh: programs built with
#                         weft-cc run under valgrind, isolated and
#                         in-process, verdicts checked, no valgrind error.
# AddressSanitizer cannot share a program with weft-cc: both must own
# malloc and the pthread entry points of the executable.
CCUBSAN_BUILD = build-ccubsan
UBSAN_CFLAGS = -fsanitize=undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
CCUBSAN_TESTS = $(TEST_NATIVE_ONLY:%=$(CCUBSAN_BUILD)/tests/%)

.PHONY: weftcc-ubsan weftcc-valgrind
# The flags go in CFLAGS, not SANITIZE, which cc/config would hand to
# every program weft-cc builds: the programs stay as the tests expect
# them (inlining, stacks), only weft's runtime in them is checked. They
# link $(CC)'s UBSan library by name (clang, told by weft-cc to link no
# sanitizer runtime, would not).
weftcc-ubsan:
	$(MAKE) BUILD=$(CCUBSAN_BUILD) CFLAGS='$(CFLAGS) $(UBSAN_CFLAGS)' \
		LDFLAGS='$(LDFLAGS) -Wl,--no-as-needed $(shell $(CC) \
		-print-file-name=libubsan.so) -Wl,--as-needed' \
		weft-cc $(CCUBSAN_TESTS)
	@export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1; \
	$(call run_tests,$(CCUBSAN_TESTS))

weftcc-valgrind: weft-cc
	bash scripts/weftcc-valgrind.sh $(BUILD)

# ---- fuzzing the schedule parser ---------------------------------------
#
# `make fuzz-parser`: libFuzzer on tests/fuzz/schedule_parser.c, the
# schedule file parser (what WEFT_REPLAY and failure directories hand
# weft), built with clang -fsanitize=fuzzer,address,undefined over every
# source of the library, for FUZZ_PARSER_TIME seconds (30) from the seed
# corpus tests/fuzz/schedule_corpus/. Any crash, sanitizer report or
# abort (a refusal without a message, a schedule that does not print and
# parse back the same, a replay that crashes) fails the target, with the
# input in $(BUILD)/fuzz/schedule_parser.work/crashes/. Package: deps.sh
# group libfuzzer. .ci/run runs it.
FUZZ_PARSER_TIME ?= 30
FUZZ_PARSER = $(BUILD)/fuzz/schedule_parser
FUZZ_PARSER_FLAGS = -std=c11 -O1 -g -D_GNU_SOURCE -Iinclude -Iharness \
	$(SWITCH_DEFS) $(WARNINGS) -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer

.PHONY: fuzz-parser libfuzzer-deps
libfuzzer-deps:
	@sh scripts/deps.sh --check libfuzzer

$(FUZZ_PARSER): tests/fuzz/schedule_parser.c $(LIB_SRCS) \
		$(wildcard harness/*/*.h) include/weft.h | libfuzzer-deps
	@mkdir -p $(@D)
	$(quiet) FUZZCC $@
	$(Q)$(FUZZ_CC) $(FUZZ_PARSER_FLAGS) -o $@ tests/fuzz/schedule_parser.c \
		$(LIB_SRCS) -pthread

fuzz-parser: $(FUZZ_PARSER)
	@unset WEFT_QUIET; dir=$(BUILD)/fuzz/schedule_parser.work; \
	rm -rf $$dir; mkdir -p $$dir/corpus $$dir/crashes; \
	cp tests/fuzz/schedule_corpus/* $$dir/corpus/; \
	printf '\n================ fuzz-parser (libFuzzer, %ss) ================\n' \
		'$(FUZZ_PARSER_TIME)'; \
	rc=0; ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	timeout -k 10 $$(($(FUZZ_PARSER_TIME) + 120)) $(FUZZ_PARSER) \
		-max_total_time=$(FUZZ_PARSER_TIME) -max_len=4096 \
		-print_final_stats=1 -artifact_prefix=$$dir/crashes/ \
		$$dir/corpus > $$dir/fuzz.log 2>&1 || rc=$$?; \
	tail -n 12 $$dir/fuzz.log; \
	runs=$$(grep -o 'stat::number_of_executed_units: *[0-9]*' $$dir/fuzz.log | \
		grep -o '[0-9]*$$'); \
	if [ "$$rc" -ne 0 ] || ls $$dir/crashes/* >/dev/null 2>&1; then \
		echo "==> fuzz-parser: FAILED (status $$rc): inputs in $$dir/crashes/, log $$dir/fuzz.log"; \
		exit 1; \
	fi; \
	echo "==> fuzz-parser: $${runs:-?} inputs in $(FUZZ_PARSER_TIME)s, no crash"

# ---- weft-cc (harness/cc) ----------------------------------------------
#
# weft-cc's copy of the library is compiled apart, with WEFT_SINGLE_THREAD
# (platform.h): there each task has its own thread-local storage, so
# weft's own per-OS-thread state must be plain globals.
#
# `make weft-cc`: what scripts/weft-cc links into an unmodified pthread
# program: $(BUILD)/cc/weftcc.o (every harness/cc/*.c: the interposers,
# the main takeover and fork server, the ThreadSanitizer hooks and race
# detector, linked as one object) and $(BUILD)/cc/libweft-cc.a, a copy
# of libweft.a whose own references to interposed functions (pthread_once,
# clock_gettime, exit, ...) are renamed to weftcc_real_* so that weft never
# calls its own interposers; the rule fails if libweft references an
# interposed name that has no weftcc_real_ twin. $(BUILD)/cc/config tells
# the script which compiler and link flags this build used.
WEFTCC_DIR = $(BUILD)/cc
WEFTCC_PARTS = $(patsubst harness/cc/%.c,$(WEFTCC_DIR)/%.o, \
	$(sort $(wildcard harness/cc/*.c)))
WEFTCC_OBJ = $(WEFTCC_DIR)/weftcc.o
WEFTCC_LIB = $(WEFTCC_DIR)/libweft-cc.a
OBJCOPY ?= objcopy
LD_R ?= $(CC) -nostdlib -r

.PHONY: weft-cc
weft-cc: $(WEFTCC_OBJ) $(WEFTCC_LIB) $(WEFTCC_DIR)/config \
	$(WEFTCC_DIR)/notsan/libtsan.a $(WEFTCC_DIR)/exports.list

# The symbols a weft-cc program exports (ld --dynamic-list): every
# interposer and hook weftcc.o defines, so that the program's shared
# libraries, linked or dlopen'ed, call them rather than glibc's.
$(WEFTCC_DIR)/exports.list: $(WEFTCC_OBJ)
	$(quiet) GEN $@
	$(Q){ echo '{'; $(NM) -g --defined-only $(WEFTCC_OBJ) | \
		awk '$$3 !~ /^weft/ { print "  " $$3 ";" }' | sort -u; \
		echo '};'; } > $@.tmp && mv $@.tmp $@

# An empty libtsan.a: gcc links -ltsan when -fsanitize=thread is on a link
# line; weft-cc puts this first in the search path (tsan.c replaces it).
$(WEFTCC_DIR)/notsan/libtsan.a:
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rc $@

# One relocatable object: what scripts/weft-cc links, whatever files
# harness/cc/ holds.
# weft's own writable data goes to sections of its own, weft_data and
# weft_bss (the linker gathers them, __start_/__stop_ symbols bound
# them): snapshot executions put the program's data back before every
# execution and must leave weft's alone (harness/cc/snapshot.c).
WEFT_SECTIONS = --rename-section .data=weft_data \
	--rename-section .data.rel=weft_data \
	--rename-section .data.rel.local=weft_data \
	--rename-section .bss=weft_bss \
	--rename-section .text=weft_text \
	--rename-section .text.unlikely=weft_text \
	--rename-section .text.hot=weft_text \
	--rename-section .text.startup=weft_text

$(WEFTCC_OBJ): $(WEFTCC_PARTS)
	$(quiet) LD $@
	$(Q)$(LD_R) -o $@.tmp $(WEFTCC_PARTS) && \
		$(OBJCOPY) $(WEFT_SECTIONS) $@.tmp $@ && rm -f $@.tmp

$(WEFTCC_DIR)/%.o: harness/cc/%.c harness/cc/weftcc.h include/weft.h \
		$(FLAGS_FILE)
	@mkdir -p $(@D)
	$(quiet) CC $<
	$(Q)$(CC) $(ALL_CPPFLAGS) -DWEFT_SINGLE_THREAD $(ALL_CFLAGS) -fPIC \
		$(DEP_FLAGS) -c -o $@ $<

WEFTCC_ST_OBJS := $(LIB_SRCS:%=$(WEFTCC_DIR)/st/%.o)
WEFTCC_ST = $(WEFTCC_DIR)/libweft-st.a

$(WEFTCC_DIR)/st/harness/%.c.o: harness/%.c $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(quiet) CC $< '(weft-cc)'
	$(Q)$(CC) $(ALL_CPPFLAGS) -DWEFT_SINGLE_THREAD $(ALL_CFLAGS) $(LIB_FLAGS) \
		$(DEP_FLAGS) -c -o $@ $<

$(WEFTCC_DIR)/st/harness/%.S.o: harness/%.S $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(quiet) AS $< '(weft-cc)'
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_ASFLAGS) $(LIB_FLAGS) $(DEP_FLAGS) \
		-c -o $@ $<

$(WEFTCC_ST): $(WEFTCC_ST_OBJS)
	$(quiet) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $(WEFTCC_ST_OBJS)

-include $(wildcard $(WEFTCC_DIR)/st/harness/*/*.d)

$(WEFTCC_LIB): $(WEFTCC_ST) $(WEFTCC_OBJ)
	$(quiet) OBJCOPY $@
	$(Q)defined=$$($(NM) -g --defined-only $(WEFTCC_OBJ) 2>/dev/null | \
		awk '{print $$3}'); \
	used=$$($(NM) -u $(WEFTCC_ST) 2>/dev/null | awk 'NF == 2 {print $$2}' | sort -u); \
	map=; missing=; \
	for s in $$used; do \
		echo "$$defined" | grep -qx "$$s" || continue; \
		if echo "$$defined" | grep -qx "weftcc_real_$$s"; then \
			map="$$map --redefine-sym $$s=weftcc_real_$$s"; \
		else missing="$$missing $$s"; fi; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "weft-cc: libweft calls interposed functions with no weftcc_real_ twin in harness/cc:$$missing"; \
		exit 1; \
	fi; \
	$(OBJCOPY) $$map $(WEFT_SECTIONS) $(WEFTCC_ST) $@.tmp && mv $@.tmp $@

$(WEFTCC_DIR)/config: $(FLAGS_FILE)
	@mkdir -p $(@D)
	@printf 'WEFT_CC_DEFAULT='\''%s'\''\nWEFT_LDFLAGS_BUILD='\''%s'\''\n' \
		'$(CC)' '$(ALL_LDFLAGS)' > $@

-include $(wildcard $(WEFTCC_DIR)/*.d)

# The test builds the corpus (tests/corpus/*.c) with scripts/weft-cc.
$(BUILD)/tests/test_weftcc $(BUILD)/tests/test_tsan $(BUILD)/tests/test_snapshot \
	$(BUILD)/tests/test_cclimits: | weft-cc
