/*
 * tsan.c: weft's own handlers of the compiler's ThreadSanitizer hooks, and
 * the happens-before data-race detector they feed.
 *
 * weft-cc compiles the user's files with -fsanitize=thread but links this
 * file instead of the sanitizer runtime. The instrumented code calls
 * __tsan_readN/__tsan_writeN before each plain access, __tsan_atomicN_*
 * instead of each C11 atomic operation (the instruction is no longer in
 * the code: weft performs it), and __tsan_func_entry/exit around each
 * function. weft's own code is never instrumented.
 *
 * Scheduling (WEFT_GRANULARITY): which of those are visible operations,
 * i.e. points where the strategy may switch tasks:
 *   sync     only the interposed calls (locks, condition variables, ...);
 *   atomics  also every C11 atomic and every volatile access (default);
 *   memory   also every plain access outside the task's own stack.
 * "atomics" is the default because of the theorem that makes loom and
 * CHESS practical: in a program without data races, every behaviour is
 * reached by interleaving at synchronization operations alone; the race
 * detector below reports the programs where that does not hold. "memory"
 * explores racy programs' interleavings too, at a much larger search space.
 * A loop that makes no visible operation for SPIN_LIMIT accesses in a row
 * (a spin on a plain flag) gets a visible operation, so it cannot hang the
 * execution; the count is deterministic, like every decision.
 *
 * Race detection (WEFT_RACE=fail|report|off): vector clocks in the style
 * of FastTrack. Each task has a vector clock; synchronization joins clocks
 * (a lock's release into the lock, its acquisition out of it; thread
 * creation and join; atomics by the C11 rules: release sequences,
 * read-modify-writes continuing them, acquire and release fences; see
 * struct sync and atomic_post). Each 8-byte granule
 * of memory keeps up to CELLS recent accesses (task, its clock then, which
 * bytes, read/write/atomic, its call stack). An access races with a
 * recorded one of another task when their bytes overlap, one is a write,
 * not both are atomic, and the recorded access does not happen before the
 * current one (its clock is beyond what the current task has seen of that
 * task). fail ends the execution with WEFT_FINDING_DATA_RACE; report
 * prints each distinct race once (by its pair of sites) and goes on, and
 * makes the two sites scheduling points for the executions after it (race
 * points: see below).
 * Freeing a block is a write to all of it (a free racing with a use is
 * reported); malloc forgets what the reused memory held.
 *
 * Call stacks: func_entry/exit keep a per-task stack of call sites; an
 * access records it as a node of a trie (the stack depot), interned lazily
 * when a frame first makes a checked access.
 *
 * Determinism: addresses are only keys of tables; eviction among a
 * granule's cells and everything else the scheduler sees depend on task
 * ids and clocks. State is per execution: it is dropped when an execution
 * with a new epoch starts.
 *
 * Limits: accesses inside libc functions (memcpy, memset, string
 * functions, I/O) are not seen; a granule remembers CELLS accesses, so a
 * race with an evicted one can be missed, never invented.
 */
#include "weftcc.h"

#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int weftcc_granularity = WEFTCC_GRAN_ATOMICS;
int weftcc_race_mode = WEFTCC_RACE_FAIL;

/* The __tsan_* entry points are the compilers' ABI: no header declares
 * them. */
#pragma GCC diagnostic ignored "-Wmissing-prototypes"

#define WEFT__NOINLINE __attribute__((noinline))
#define SPIN_LIMIT     100000u
#define CELLS          4
#define PAGE_SHIFT     12
#define GRANULES       (1u << (PAGE_SHIFT - 3))
#define MAX_DEPTH      256

/* ------------------------------------------------------- program image */

static uintptr_t exe_bias, exe_lo, exe_hi;
static char exe_path[4096];

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    /* The first object is the program itself. */
    exe_bias = info->dlpi_addr;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        if (p->p_type != PT_LOAD)
            continue;
        if (p->p_vaddr < lo)
            lo = p->p_vaddr;
        if (p->p_vaddr + p->p_memsz > hi)
            hi = p->p_vaddr + p->p_memsz;
    }
    exe_lo = info->dlpi_addr + lo;
    exe_hi = info->dlpi_addr + hi;
    /* When the dynamic loader was run as the command (ld.so ./prog, as
     * under qemu-user), /proc/self/exe is the loader: then the program is
     * the file argv[0] names. */
    const char *base = strrchr(exe_path, '/');
    base = base != NULL ? base + 1 : exe_path;
    char b[4096];
    if (strncmp(base, "ld-", 3) == 0 && strstr(base, ".so") != NULL &&
        realpath(program_invocation_name, b) != NULL)
        snprintf(exe_path, sizeof exe_path, "%s", b);
    return 1;
}

static void image_init(void)
{
    if (exe_hi != 0)
        return;
    ssize_t n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
    exe_path[n > 0 ? n : 0] = '\0';
    dl_iterate_phdr(phdr_cb, NULL);
}

/* The program's shared libraries (and any other loaded object), for code
 * addresses outside the executable: numbered in the loader's order, which
 * is the same in every run of the same binary. */
#define MOD_SHIFT 24 /* an offset of up to 16 MiB in a library */
#define MOD_MAX   127
struct module {
    char *path;
    uintptr_t bias, lo, hi;
};
static struct module mods[MOD_MAX + 1]; /* [0]: unused */
static unsigned nmods;

static int mods_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    unsigned *i = data;
    if ((*i)++ == 0 || info->dlpi_name == NULL || info->dlpi_name[0] == '\0' ||
        nmods == MOD_MAX)
        return 0; /* the program itself, the vdso */
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int k = 0; k < info->dlpi_phnum; k++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[k];
        if (p->p_type != PT_LOAD || !(p->p_flags & PF_X))
            continue;
        if (p->p_vaddr < lo)
            lo = p->p_vaddr;
        if (p->p_vaddr + p->p_memsz > hi)
            hi = p->p_vaddr + p->p_memsz;
    }
    if (hi == 0)
        return 0;
    for (unsigned k = 1; k <= nmods; k++)
        if (mods[k].bias == info->dlpi_addr &&
            mods[k].lo == lo + info->dlpi_addr)
            return 0; /* known */
    struct module *m = &mods[++nmods];
    m->path = strdup(info->dlpi_name);
    m->bias = info->dlpi_addr;
    m->lo = info->dlpi_addr + lo;
    m->hi = info->dlpi_addr + hi;
    return 0;
}

static unsigned module_of(uintptr_t pc)
{
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned k = 1; k <= nmods; k++)
            if (pc >= mods[k].lo && pc < mods[k].hi)
                return k;
        unsigned i = 0; /* not known yet: loaded since (dlopen) */
        dl_iterate_phdr(mods_cb, &i);
    }
    return 0;
}

/* A code address as a site line: its offset in the program's image (the
 * call instruction before a return address); in a shared library, minus
 * (library number << MOD_SHIFT | offset); 0 when unknown. Stable between
 * runs of the same binary, whatever ASLR does. */
int weftcc_pc_line(const void *ra)
{
    uintptr_t pc = (uintptr_t)ra - 1;
    if (WEFT__UNLIKELY(exe_hi == 0))
        image_init();
    if (WEFT__LIKELY(pc >= exe_lo && pc < exe_hi && pc - exe_bias <= INT32_MAX))
        return (int)(pc - exe_bias);
    unsigned k = module_of(pc);
    if (k == 0 || pc - mods[k].bias >= (1u << MOD_SHIFT))
        return 0;
    return -(int)(k << MOD_SHIFT | (unsigned)(pc - mods[k].bias));
}

/* --------------------------------------------------------- race points */

/*
 * Race-directed exploration (WEFT_RACE=report): the two sites of every
 * race the detector finds become visible operations (scheduling points)
 * for the executions after it, whatever the granularity, so a race's
 * consequence (a lost update, data read before it is published) is
 * explored too, at about the cost of granularity atomics. A site is a pc
 * line (weftcc_pc_line: an offset in its module, stable under ASLR). What
 * an execution learns waits in `pending` until the next execution starts
 * (weftcc_points_promote): the set an execution schedules by is fixed
 * from its start, and a replay line carries it (WEFT_RACE_POINTS).
 */
#define POINTS_MAX  256
#define POINTS_HASH 1024 /* a power of two, at most a quarter full */
static int32_t points_tab[POINTS_HASH]; /* the active set; 0: empty */
static int32_t points_list[POINTS_MAX]; /* the same, in learning order */
static int32_t pending[POINTS_MAX];
static unsigned npoints, npending, nlearnt;
bool weftcc_points_learn;

static inline uint32_t point_slot(int32_t pc)
{
    return ((uint32_t)pc * 0x9e3779b1u) >> 22; /* 10 bits: POINTS_HASH */
}

static bool point_known(int32_t pc)
{
    for (uint32_t i = point_slot(pc);; i = (i + 1) & (POINTS_HASH - 1)) {
        if (points_tab[i] == pc)
            return true;
        if (points_tab[i] == 0)
            return false;
    }
}

static void point_add(int32_t pc)
{
    if (pc == 0 || npoints == POINTS_MAX || point_known(pc))
        return;
    uint32_t i = point_slot(pc);
    while (points_tab[i] != 0)
        i = (i + 1) & (POINTS_HASH - 1);
    points_tab[i] = pc;
    points_list[npoints++] = pc;
}

/* A race's site, learnt for the executions to come. */
static void point_learn(int32_t pc)
{
    if (!weftcc_points_learn || pc == 0 || point_known(pc))
        return;
    for (unsigned i = 0; i < npending; i++)
        if (pending[i] == pc)
            return;
    if (npoints + npending < POINTS_MAX)
        pending[npending++] = pc;
}

bool weftcc_points_promote(void)
{
    if (npending == 0)
        return false;
    for (unsigned i = 0; i < npending; i++)
        point_add(pending[i]);
    nlearnt += npending;
    npending = 0;
    return true;
}

static unsigned ngiven; /* points WEFT_RACE_POINTS gave */
static bool given_done; /* WEFT_RACE_POINTS parsed (the first parse) */

unsigned weftcc_points_learnt(void)
{
    return nlearnt + npending;
}

unsigned weftcc_points_given(void)
{
    return ngiven;
}

int weftcc_points_set(const char *text, char *err, size_t len)
{
    memset(points_tab, 0, sizeof points_tab);
    npoints = npending = 0;
    int rc = weftcc_points_parse(text, err, len);
    nlearnt = npoints > ngiven ? npoints - ngiven : 0;
    return rc;
}

int weftcc_points_set_given(const char *text, char *err, size_t len)
{
    int rc = weftcc_points_set(text, err, len);
    ngiven = npoints;
    nlearnt = 0;
    return rc;
}

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b != NULL ? b + 1 : path;
}

size_t weftcc_points_text(char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < npoints && n + 1 < len; i++) {
        int32_t pc = points_list[i];
        const char *mod = "exe";
        uint32_t off = (uint32_t)pc;
        if (pc < 0) {
            uint32_t v = (uint32_t)-pc;
            unsigned k = v >> MOD_SHIFT;
            off = v & ((1u << MOD_SHIFT) - 1);
            mod = k <= nmods && mods[k].path ? base_name(mods[k].path) : "?";
        }
        int w = snprintf(out + n, len - n, "%s%s+0x%x", i ? "," : "", mod,
                         (unsigned)off);
        if (w < 0 || (size_t)w >= len - n) {
            out[n] = '\0'; /* cut at a whole entry */
            break;
        }
        n += (size_t)w;
    }
    return n;
}

int weftcc_points_parse(const char *s, char *err, size_t len)
{
    bool first = !given_done;
    given_done = true;
    if (s == NULL)
        return 0;
    image_init();
    while (*s != '\0') {
        size_t n = strcspn(s, ",");
        const char *plus = memchr(s, '+', n);
        const char *hex = plus != NULL ? plus + 1 : NULL;
        size_t hn = hex != NULL ? n - (size_t)(hex - s) : 0;
        bool ok = plus != NULL && plus > s && hn > 2 && hn <= 10 &&
                  hex[0] == '0' && hex[1] == 'x' &&
                  strspn(hex + 2, "0123456789abcdefABCDEF") == hn - 2;
        unsigned long off = ok ? strtoul(hex + 2, NULL, 16) : 0;
        int32_t pc = 0;
        if (ok && (size_t)(plus - s) == 3 && strncmp(s, "exe", 3) == 0) {
            if (off > 0 && off <= INT32_MAX)
                pc = (int32_t)off;
        } else if (ok && off > 0 && off < (1u << MOD_SHIFT)) {
            unsigned i = 0;
            dl_iterate_phdr(mods_cb, &i);
            for (unsigned k = 1; k <= nmods && pc == 0; k++)
                if (strlen(base_name(mods[k].path)) == (size_t)(plus - s) &&
                    strncmp(base_name(mods[k].path), s, (size_t)(plus - s)) ==
                        0)
                    pc = -(int32_t)(k << MOD_SHIFT | (unsigned)off);
        }
        if (pc == 0 || npoints == POINTS_MAX) {
            snprintf(err, len,
                     "WEFT_RACE_POINTS must be a comma-separated list of "
                     "module+0xoffset (exe for the program, else a loaded "
                     "library's file name; at most %u), not '%.*s'%s",
                     POINTS_MAX, (int)n, s,
                     pc != 0 ? " (too many)"
                     : ok    ? " (no such module, or the offset is out of "
                               "range)"
                             : "");
            return -1;
        }
        point_add(pc);
        s += n;
        if (*s == ',' && (s[1] == '\0' || s[1] == ',')) {
            snprintf(err, len, "WEFT_RACE_POINTS has an empty entry");
            return -1;
        }
        if (*s == ',')
            s++;
    }
    if (first)
        ngiven = npoints;
    return 0;
}

/* ---------------------------------------------------------- symbolizer */

static void symtab_load(void);

/* addr2line as a coprocess per object (the program, or a library),
 * started on first use: one query per address, with -i for the inlined
 * callers, then a sentinel address whose unknown answer ends them. */
struct symproc {
    FILE *in, *out;
    bool failed;
};
static struct symproc procs[MOD_MAX + 1]; /* [0]: the program */

static bool sym_start(unsigned k)
{
    struct symproc *sp = &procs[k];
    if (sp->in != NULL || sp->failed)
        return sp->in != NULL;
    sp->failed = true;
    image_init();
    const char *path = k == 0 ? exe_path : mods[k].path;
    int to[2], from[2];
    if (path == NULL || path[0] == '\0' || pipe(to) != 0)
        return false;
    if (pipe(from) != 0) {
        close(to[0]);
        close(to[1]);
        return false;
    }
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 2);
        for (int fd = 3; fd < 64; fd++)
            close(fd);
        execlp("addr2line", "addr2line", "-f", "-i", "-C", "-e", path,
               (char *)NULL);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    /* Above the program's descriptors: snapshot executions close what
     * the program opened, and this may have started during one. */
    to[1] = weftcc_fd_high(to[1]);
    from[0] = weftcc_fd_high(from[0]);
    fcntl(to[1], F_SETFD, FD_CLOEXEC);
    fcntl(from[0], F_SETFD, FD_CLOEXEC);
    sp->in = fdopen(to[1], "w");
    sp->out = fdopen(from[0], "r");
    if (sp->in == NULL || sp->out == NULL)
        return false;
    sp->failed = false;
    return true;
}

/* "file.c:12 (fn)" from addr2line's two lines; "" when it knows nothing.
 * Paths under the current directory print relative to it. */
static void frame_text(char *fn, char *loc, char *out, size_t len)
{
    fn[strcspn(fn, "\n")] = '\0';
    loc[strcspn(loc, "\n")] = '\0';
    char *disc = strstr(loc, " (discriminator");
    if (disc != NULL)
        *disc = '\0';
    char cwd[1024];
    const char *l = loc;
    if (getcwd(cwd, sizeof cwd) != NULL) {
        size_t n = strlen(cwd);
        if (strncmp(l, cwd, n) == 0 && l[n] == '/')
            l += n + 1;
    }
    bool f = fn[0] && fn[0] != '?', at = l[0] && l[0] != '?';
    if (at && f)
        snprintf(out, len, "%s (%s)", l, fn);
    else if (at)
        snprintf(out, len, "%s", l);
    else if (f)
        snprintf(out, len, "(%s)", fn);
    else
        out[0] = '\0';
}

struct sym {
    int line;
    char *text;
};
static struct sym syms[512];
static unsigned nsyms;

/* "file.c:12 (function)" for a site line, with the callers it was
 * inlined into ("..., inlined into file.c:30 (caller)"), cached;
 * "<program>+0x..." or "<library>+0x..." when addr2line knows nothing. */
static const char *symbolize(int line)
{
    for (unsigned i = 0; i < nsyms; i++)
        if (syms[i].line == line)
            return syms[i].text;
    unsigned k = 0, off = (unsigned)line;
    if (line < 0) {
        k = (unsigned)-line >> MOD_SHIFT;
        off = (unsigned)-line & ((1u << MOD_SHIFT) - 1);
    }
    char out[1400] = "", fn[256], loc[1024], frame[1300];
    struct symproc *sp = &procs[k];
    if (line != 0 && (k == 0 || k <= nmods) && sym_start(k)) {
        fprintf(sp->in, "0x%x\n0\n", off);
        fflush(sp->in);
        size_t n = 0;
        for (int i = 0; fgets(fn, sizeof fn, sp->out) != NULL &&
                        fgets(loc, sizeof loc, sp->out) != NULL;
             i++) {
            /* The first pair answers the address; then its inlined
             * callers, until the sentinel's unknown pair. */
            if (i > 0 && fn[0] == '?' && loc[0] == '?')
                break;
            frame_text(fn, loc, frame, sizeof frame);
            if (frame[0] != '\0' && n < sizeof out)
                n += (size_t)snprintf(out + n, sizeof out - n, "%s%s",
                                      n ? ", inlined into " : "", frame);
            if (i == 0 && frame[0] == '\0') {
                /* unknown: the sentinel's pair comes next */
                if (fgets(fn, sizeof fn, sp->out) == NULL ||
                    fgets(loc, sizeof loc, sp->out) == NULL)
                    break;
                break;
            }
        }
    }
    if (out[0] == '\0' || out[0] == '(') {
        char fnpart[300];
        snprintf(fnpart, sizeof fnpart, "%s%s", out[0] ? " " : "", out);
        if (k == 0)
            snprintf(frame, sizeof frame, "<program>+0x%x%s", off, fnpart);
        else {
            const char *b = strrchr(mods[k].path ? mods[k].path : "?", '/');
            snprintf(frame, sizeof frame, "<%s>+0x%x%s",
                     b ? b + 1 : mods[k].path, off, fnpart);
        }
        snprintf(out, sizeof out, "%s", frame);
    }
    char *text = strdup(out);
    if (text == NULL)
        return "<program>";
    if (nsyms < sizeof syms / sizeof syms[0])
        syms[nsyms++] = (struct sym){ line, text };
    return text;
}

/* weft__crash_pc_line: the program's frames, not weft's or libc's. */
static int crash_pc_line(const void *pc)
{
    return weftcc_program_code(pc) ? weftcc_pc_line(pc) : 0;
}

void weftcc_symbolizer_install(void)
{
    image_init();
    symtab_load();
    weftcc_code_init();
    weft__pc_site_fmt = symbolize;
    weft__crash_pc_line = crash_pc_line;
}

/* ------------------------------------------------------ per-execution arena */

/* Everything the detector keeps lives in one arena of mmap'ed chunks,
 * dropped when a new execution starts. Never malloc: this file serves
 * the program's malloc hooks. */
struct chunk {
    struct chunk *next;
    size_t size, used;
    size_t high; /* bytes ever used: beyond, the memory is still zero */
};
static struct chunk *chunks, *chunk_cur;

/* n bytes; *dirty: how many of them were handed out before (since the
 * chunk was mapped) and may not be zero. */
static void *arena_take(size_t n, size_t *dirty)
{
    n = (n + 15) & ~(size_t)15;
    for (;;) {
        struct chunk *c = chunk_cur;
        if (c != NULL && c->size - c->used >= n) {
            size_t off = c->used;
            *dirty = c->high > off ? c->high - off : 0;
            if (*dirty > n)
                *dirty = n;
            c->used = off + n;
            if (c->used > c->high)
                c->high = c->used;
            return (char *)c + off;
        }
        if (c != NULL && c->next != NULL) {
            chunk_cur = c->next;
            chunk_cur->used = sizeof(struct chunk) + 16;
            continue;
        }
        size_t size = (size_t)1 << 22;
        while (size < n + 64)
            size *= 2;
        struct chunk *nc = mmap(NULL, size, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (nc == MAP_FAILED) {
            static const char msg[] =
                "weft: the race detector is out of memory\n";
            (void)!write(2, msg, sizeof msg - 1);
            abort();
        }
        nc->size = size;
        nc->used = nc->high = sizeof(struct chunk) + 16;
        nc->next = NULL;
        if (c == NULL)
            chunks = nc;
        else
            c->next = nc;
        chunk_cur = nc;
    }
}

static void *arena_alloc(size_t n)
{
    size_t dirty;
    return arena_take(n, &dirty);
}

/* Zeroed memory: what a chunk never handed out is still zero from mmap
 * (an isolated child's arena always is), so only reused bytes are
 * cleared and no page is touched before the detector uses it. */
static void *arena_zalloc(size_t n)
{
    size_t dirty;
    void *p = arena_take(n, &dirty);
    memset(p, 0, dirty);
    return p;
}

/* ------------------------------------------------------- vector clocks */

struct vc {
    uint32_t n;
    uint32_t *c;
};

static inline uint32_t vc_get(const struct vc *v, uint32_t i)
{
    return i < v->n ? v->c[i] : 0;
}

static void vc_grow(struct vc *v, uint32_t n)
{
    if (n <= v->n)
        return;
    uint32_t cap = v->n ? v->n : 8;
    while (cap < n)
        cap *= 2;
    uint32_t *c = arena_zalloc(cap * sizeof *c);
    if (v->n)
        memcpy(c, v->c, v->n * sizeof *c);
    v->c = c;
    v->n = cap;
}

static void vc_join(struct vc *into, const struct vc *from)
{
    vc_grow(into, from->n);
    for (uint32_t i = 0; i < from->n; i++)
        if (from->c[i] > into->c[i])
            into->c[i] = from->c[i];
}

/* into = from (entries beyond from's are zeroed). */
static void vc_copy(struct vc *into, const struct vc *from)
{
    vc_grow(into, from->n);
    if (from->n)
        memcpy(into->c, from->c, from->n * sizeof *into->c);
    if (into->n > from->n)
        memset(into->c + from->n, 0, (into->n - from->n) * sizeof *into->c);
}

static void vc_clear(struct vc *v)
{
    if (v->n)
        memset(v->c, 0, v->n * sizeof *v->c);
}

/* ----------------------------------------------------------- the state */

struct tstate {
    bool live;
    struct vc vc;
    /* fences: the clock at the task's last release fence (empty: none),
     * which its later relaxed stores release; and what its relaxed loads
     * read from release sequences, which its next acquire fence takes */
    struct vc frel, facq;
    uint32_t depth; /* call depth (frames beyond MAX_DEPTH counted) */
    uint32_t valid; /* frames [0, valid) have ids[] interned */
    uint32_t pcs[MAX_DEPTH];
    uint32_t ids[MAX_DEPTH + 1]; /* ids[k]: depot node of frames [0, k) */
};

struct cell {
    uint32_t clock; /* 0: empty */
    uint16_t tid;
    uint8_t mask; /* bytes of the granule */
    uint8_t flags;
    uint32_t stack; /* depot node of the call stack */
    uint32_t pc;    /* site line of the access */
};
enum { C_WRITE = 1, C_ATOMIC = 2, C_FREE = 4 };

struct spage {
    struct cell g[GRANULES][CELLS];
};

struct keyed { /* an open-addressing table entry */
    uint64_t key;
    void *val;
};

struct table {
    struct keyed *e;
    uint32_t cap, n;
};

struct node {
    uint32_t parent, pc;
};

static struct det {
    uint64_t epoch;
    struct tstate **tasks;
    uint32_t ntasks;
    struct table pages; /* page number -> struct spage */
    struct table syncs; /* object key -> struct vc */
    struct table depot; /* parent << 32 | pc -> node id + 1 */
    struct node *nodes;
    uint32_t nnodes, nodes_cap;
    uint64_t last_pn;
    struct spage *last_page;
} D;

static void **table_find(struct table *t, uint64_t key, bool create)
{
    if (create && (t->n + 1) * 2 > t->cap) {
        struct table nt = { .cap = t->cap ? t->cap * 2 : 256 };
        nt.e = arena_zalloc(nt.cap * sizeof *nt.e);
        for (uint32_t i = 0; i < t->cap; i++) {
            if (t->e[i].val == NULL)
                continue;
            uint32_t j = (uint32_t)weft__mix(t->e[i].key) & (nt.cap - 1);
            while (nt.e[j].val != NULL)
                j = (j + 1) & (nt.cap - 1);
            nt.e[j] = t->e[i];
            nt.n++;
        }
        *t = nt;
    }
    if (t->cap == 0)
        return NULL;
    uint32_t j = (uint32_t)weft__mix(key) & (t->cap - 1);
    while (t->e[j].val != NULL) {
        if (t->e[j].key == key)
            return &t->e[j].val;
        j = (j + 1) & (t->cap - 1);
    }
    if (!create)
        return NULL;
    t->e[j].key = key;
    t->n++;
    return &t->e[j].val;
}

/* The span of every task stack seen this execution: a quick test before
 * looking for the stack an access falls in. */
static uintptr_t stacks_lo = UINTPTR_MAX, stacks_hi;

static void stack_seen(const struct weft__task *t)
{
    if (t == NULL || t->stack == NULL)
        return;
    uintptr_t lo = (uintptr_t)t->stack->lo, hi = lo + t->stack->size;
    if (lo < stacks_lo)
        stacks_lo = lo;
    if (hi > stacks_hi)
        stacks_hi = hi;
}

/* A new execution: drop everything. */
static void det_reset(uint64_t epoch)
{
    if (chunks != NULL) {
        chunk_cur = chunks;
        chunks->used = sizeof(struct chunk) + 16;
    }
    memset(&D, 0, sizeof D);
    D.epoch = epoch;
    stacks_lo = UINTPTR_MAX;
    stacks_hi = 0;
    D.last_pn = UINT64_MAX;
    D.nodes_cap = 1024;
    D.nodes = arena_zalloc(D.nodes_cap * sizeof *D.nodes);
    D.nnodes = 1; /* node 0: the empty stack */
}

static struct tstate *tstate(uint32_t id)
{
    if (id >= D.ntasks) {
        uint32_t n = D.ntasks ? D.ntasks : 16;
        while (n <= id)
            n *= 2;
        struct tstate **t = arena_zalloc(n * sizeof *t);
        if (D.ntasks)
            memcpy(t, D.tasks, D.ntasks * sizeof *t);
        D.tasks = t;
        D.ntasks = n;
    }
    struct tstate *s = D.tasks[id];
    if (s == NULL) {
        s = arena_zalloc(sizeof *s);
        D.tasks[id] = s;
    }
    if (!s->live) {
        s->live = true;
        vc_grow(&s->vc, id + 1);
        s->vc.c[id] = 1;
        struct weft__run *r = weft__current;
        if (r != NULL && id < r->ntasks)
            stack_seen(r->tasks[id]);
    }
    return s;
}

/* The current run and task if instrumented code runs in a task of an
 * exploration, else NULL. */
static inline struct weft__task *cur_task(struct weft__run **rp)
{
    struct weft__run *r = weft__current;
    if (r == NULL || r->cur == &r->sched)
        return NULL;
    *rp = r;
    return r->cur;
}

/* An access to the task's own stack needs no check, until another task
 * has accessed that stack (a local whose address was handed out): from
 * then on the owner's accesses to it are checked too. */
static inline bool in_stack(const struct weft__task *t, uintptr_t a)
{
    const struct weft__stack *s = t->stack;
    return s != NULL && a - (uintptr_t)s->lo < s->size;
}

static inline bool on_own_stack(const struct weft__task *t, uintptr_t a)
{
    return in_stack(t, a) && !t->stack_escaped;
}

/* An access by t to another task's stack marks that stack escaped. */
/* The live task whose stack holds a, or NULL. */
static struct weft__task *stack_owner_scan(struct weft__run *r, uintptr_t a)
{
    for (uint32_t i = 0; i < r->ntasks; i++) {
        struct weft__task *o = r->tasks[i];
        if (o != NULL && o->state != WEFT__DONE && in_stack(o, a))
            return o;
    }
    return NULL;
}

/* Whose stack holds a (NULL: none), by page, through a direct-mapped
 * cache: accesses between the task stacks' bounds that are no stack's
 * (heap mappings lie between stacks) would scan every task each time.
 * The set of stacks is the same while the execution, its task count and
 * its live count are (tasks are only ever added; an exit lowers live). */
#define OWNER_SLOTS 512
static WEFT__TLS struct owner_slot {
    uintptr_t page;
    uint64_t epoch;
    uint32_t ntasks, live;
    struct weft__task *t;
} owner_cache[OWNER_SLOTS];

static struct weft__task *stack_owner(struct weft__run *r, uintptr_t a)
{
    uintptr_t page = a >> 12;
    struct owner_slot *c = &owner_cache[(page ^ (page >> 9)) % OWNER_SLOTS];
    if (c->page == page && c->epoch == r->epoch && c->ntasks == r->ntasks &&
        c->live == r->live)
        return c->t;
    struct weft__task *t = stack_owner_scan(r, a);
    *c = (struct owner_slot){ page, r->epoch, r->ntasks, r->live, t };
    return t;
}

static WEFT__NOINLINE void stack_escape(struct weft__run *r,
                                        struct weft__task *t, uintptr_t a)
{
    struct weft__task *o = in_stack(t, a) ? NULL : stack_owner(r, a);
    if (o != NULL)
        o->stack_escaped = true;
}

static inline void det_enter(struct weft__run *r)
{
    if (WEFT__UNLIKELY(D.epoch != r->epoch))
        det_reset(r->epoch);
}

/* ------------------------------------------------------- call stacks */

static uint32_t depot_intern(uint32_t parent, uint32_t pc)
{
    uint64_t key = (uint64_t)parent << 32 | pc;
    void **v = table_find(&D.depot, key, true);
    if (*v != NULL)
        return (uint32_t)(uintptr_t)*v - 1;
    if (D.nnodes == D.nodes_cap) {
        struct node *n = arena_alloc(2 * D.nodes_cap * sizeof *n);
        memcpy(n, D.nodes, D.nnodes * sizeof *n);
        D.nodes = n;
        D.nodes_cap *= 2;
    }
    uint32_t id = D.nnodes++;
    D.nodes[id] = (struct node){ parent, pc };
    *v = (void *)(uintptr_t)(id + 1);
    return id;
}

static uint32_t stack_id(struct tstate *s)
{
    uint32_t d = s->depth < MAX_DEPTH ? s->depth : MAX_DEPTH;
    while (s->valid < d) {
        s->ids[s->valid + 1] = depot_intern(s->ids[s->valid], s->pcs[s->valid]);
        s->valid++;
    }
    return s->ids[d];
}

/* The call stack of the running task, or NULL outside an exploration or
 * with the detector off (stacks serve only its reports). */
static inline struct tstate *frames(void)
{
    struct weft__run *r;
    struct weft__task *t = cur_task(&r);
    if (t == NULL || weftcc_race_mode == WEFTCC_RACE_OFF)
        return NULL;
    det_enter(r);
    return tstate(t->id);
}

void __tsan_func_entry(void *ra)
{
    struct tstate *s = frames();
    if (s == NULL)
        return;
    if (s->depth < MAX_DEPTH)
        s->pcs[s->depth] = (uint32_t)weftcc_pc_line(ra);
    s->depth++;
}

void __tsan_func_exit(void)
{
    struct tstate *s = frames();
    if (s == NULL)
        return;
    if (s->depth > 0)
        s->depth--;
    if (s->valid > s->depth)
        s->valid = s->depth;
}

void __tsan_init(void)
{
}

/* --------------------------------------------------------- race reports */

/* The program's symbol table, mapped once (in the fork server, before any
 * child): names for globals in race reports and for threads. */
static const ElfW(Sym) * syms_tab;
static size_t nsyms_tab;
static const char *strs_tab;
static size_t strs_len;

static void symtab_load(void)
{
    int fd = open(exe_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    off_t size = lseek(fd, 0, SEEK_END);
    const unsigned char *m =
        size > 0 ? mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0)
                 : MAP_FAILED;
    close(fd);
    if (m == MAP_FAILED)
        return;
    const ElfW(Ehdr) *eh = (const void *)m;
    if ((size_t)size < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
        eh->e_shoff + (size_t)eh->e_shnum * sizeof(ElfW(Shdr)) > (size_t)size)
        return;
    const ElfW(Shdr) *sh = (const void *)(m + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
            continue;
        const ElfW(Shdr) *str = &sh[sh[i].sh_link];
        if (sh[i].sh_offset + sh[i].sh_size > (size_t)size ||
            str->sh_offset + str->sh_size > (size_t)size)
            continue;
        syms_tab = (const void *)(m + sh[i].sh_offset);
        nsyms_tab = sh[i].sh_size / sizeof *syms_tab;
        strs_tab = (const char *)m + str->sh_offset;
        strs_len = str->sh_size;
        return;
    }
}

/* The symbol of `type` (STT_OBJECT, STT_FUNC) holding image offset off,
 * and how far into it off is; NULL if none. */
static const char *symbol_at(uintptr_t off, int type, uintptr_t *into)
{
    for (size_t k = 0; k < nsyms_tab; k++) {
        const ElfW(Sym) *y = &syms_tab[k];
        if (ELF64_ST_TYPE(y->st_info) != type || off < y->st_value ||
            off >= y->st_value + (y->st_size ? y->st_size : 1) ||
            y->st_name >= strs_len || strs_tab[y->st_name] == '$')
            continue; /* $d, $x: aarch64's mapping symbols */
        *into = off - y->st_value;
        return strs_tab + y->st_name;
    }
    return NULL;
}

const char *weftcc_func_name(const void *fn)
{
    uintptr_t a = (uintptr_t)fn, into;
    if (a < exe_lo || a >= exe_hi)
        return NULL;
    return symbol_at(a - exe_bias, STT_FUNC, &into);
}

/* Which memory: a global of the program, a task's stack, or other. */
static void describe_memory(struct weft__run *r, uintptr_t a,
                            struct weft__buf *b)
{
    if (a >= exe_lo && a < exe_hi) {
        uintptr_t into;
        const char *name = symbol_at(a - exe_bias, STT_OBJECT, &into);
        if (name != NULL && into == 0)
            weft__buf_printf(b, "global '%s'", name);
        else if (name != NULL)
            weft__buf_printf(b, "global '%s' + %lu", name, (unsigned long)into);
        else
            weft__buf_printf(b,
                             "a global of the program (image offset "
                             "0x%lx)",
                             (unsigned long)(a - exe_bias));
        return;
    }
    struct weft__task *t = stack_owner(r, a);
    if (t != NULL) {
        weft__buf_printf(b, "the stack of %s", weft__task_name(t));
        return;
    }
    /* thread-local storage (each task has its own: a race here is on a
     * variable whose address was handed to another thread). A task that
     * ended gave its block back, but its saved thread pointer still names
     * it; live tasks first, in case an ended one's block was reused. */
    for (uint32_t k = 0; k < 2 * r->ntasks; k++) {
        struct weft__task *o = r->tasks[k % r->ntasks];
        if ((o->state == WEFT__DONE) != (k >= r->ntasks) || !r->tls)
            continue;
        size_t off;
        bool is_errno;
        const char *mod =
            weft__tls_locate(o->ctx.tp, (void *)a, &off, &is_errno);
        if (mod == NULL)
            continue;
        uintptr_t into;
        const char *name =
            mod[0] == '\0' ? symbol_at(off, STT_TLS, &into) : NULL;
        const char *ended = o->state == WEFT__DONE ? " (ended)" : "";
        if (is_errno)
            weft__buf_printf(b, "errno of %s%s", weft__task_name(o), ended);
        else if (name != NULL && into == 0)
            weft__buf_printf(b, "thread-local variable '%s' of %s%s", name,
                             weft__task_name(o), ended);
        else if (name != NULL)
            weft__buf_printf(b, "thread-local variable '%s' + %lu of %s%s",
                             name, (unsigned long)into, weft__task_name(o),
                             ended);
        else
            weft__buf_printf(b, "thread-local storage of %s%s (%s)",
                             weft__task_name(o), ended,
                             mod[0] ? mod : "the program");
        return;
    }
    weft__buf_printf(b, "heap (or other) memory");
}

static const char *what(uint8_t flags)
{
    if (flags & C_FREE)
        return "free";
    if (flags & C_ATOMIC)
        return flags & C_WRITE ? "atomic write" : "atomic read";
    return flags & C_WRITE ? "write" : "read";
}

static void print_stack(struct weft__buf *b, uint32_t pc, uint32_t node)
{
    unsigned k = 0;
    weft__buf_printf(b, "      #%u %s\n", k++, symbolize((int)pc));
    /* The outermost frame is where weft called the thread's function (or
     * main): weft's own code, not the program's. */
    for (; node != 0 && D.nodes[node].parent != 0 && k < 32;
         node = D.nodes[node].parent)
        weft__buf_printf(b, "      #%u %s\n", k++,
                         symbolize((int)D.nodes[node].pc));
}

/* Pairs of sites already reported (report mode), this process. */
static uint64_t reported[256];
static unsigned nreported;

/* FNV-1a over n bytes of t. */
static uint64_t hash_str(const char *t, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)t[i]) * 0x100000001b3ULL;
    return h;
}

/* A site's source line ("file:line"), hashed: two accesses on one line
 * (the load and the store of x++) are one site to a reader. */
static uint64_t line_hash(uint32_t pc)
{
    const char *t = symbolize((int)pc);
    return hash_str(t, strcspn(t, " "));
}

/* Has this race been printed (report mode)? A race is its memory when
 * that is a named global (the load and the store of `x = x + 1` racing
 * with another thread's are one race on x), else its pair of lines. */
static bool seen_race(uint32_t pa, uint32_t pb, const char *memory)
{
    uint64_t a = line_hash(pa), b = line_hash(pb);
    uint64_t k = a < b ? a * 31 + b : b * 31 + a;
    if (strncmp(memory, "global '", 8) == 0)
        k = hash_str(memory, 8 + strcspn(memory + 8, "'"));
    for (unsigned i = 0; i < nreported; i++)
        if (reported[i] == k)
            return true;
    struct weftcc_shared *sh = weftcc_sh;
    if (sh != NULL) { /* across processes: forked children and workers */
        for (unsigned i = 0; i < sh->npairs && i < WEFTCC_MAX_PAIRS; i++)
            if (sh->pairs[i] == k)
                return true;
        if (sh->npairs < WEFTCC_MAX_PAIRS)
            sh->pairs[sh->npairs++] = k;
    }
    if (nreported < sizeof reported / sizeof reported[0])
        reported[nreported++] = k;
    return false;
}

static void race(struct weft__run *r, struct weft__task *t, uintptr_t a,
                 unsigned size, uint8_t flags, uint32_t pc, uint32_t stack,
                 const struct cell *prev)
{
    point_learn((int32_t)pc);
    point_learn((int32_t)prev->pc);
    struct weft__buf mem = { 0 };
    describe_memory(r, a, &mem);
    if (weftcc_race_mode == WEFTCC_RACE_REPORT &&
        seen_race(pc, prev->pc, mem.s ? mem.s : "")) {
        weft__free(mem.s);
        return;
    }
    struct weft__task *o = prev->tid < r->ntasks ? r->tasks[prev->tid] : NULL;
    char other[64];
    snprintf(other, sizeof other, "%s", weft__task_name(o));
    struct weft__buf b = { 0 };
    weft__buf_printf(&b, "  access:    %s of %u byte%s by %s:\n", what(flags),
                     size, size == 1 ? "" : "s", weft__task_name(t));
    print_stack(&b, pc, stack);
    weft__buf_printf(&b, "  previous:  %s by %s, not ordered before it:\n",
                     what(prev->flags), other);
    print_stack(&b, prev->pc, prev->stack);
    weft__buf_printf(&b, "  memory:    %s\n", mem.s ? mem.s : "?");
    weft__free(mem.s);
    char msg[400];
    snprintf(msg, sizeof msg, "%s: %s at %s, unordered with %s's %s at %s",
             weft__task_name(t), what(flags), symbolize((int)pc), other,
             what(prev->flags), symbolize((int)prev->pc));
    if (weftcc_race_mode == WEFTCC_RACE_REPORT) {
        if (weftcc_sh != NULL)
            __atomic_add_fetch(&weftcc_sh->races, 1, __ATOMIC_RELAXED);
        struct weft__buf line = { 0 };
        if (weft__replay_now(&line) == 0)
            weft__buf_printf(&b, "  replay:    %s\n", line.s ? line.s : "");
        weft__free(line.s);
        fprintf(stderr, "weft: data race: %s\n%s", msg, b.s ? b.s : "");
        weft__free(b.s);
        return;
    }
    struct weft__buf *d = &r->finding.detail;
    weft__buf_printf(d, "%s", b.s ? b.s : "");
    weft__free(b.s);
    weft__finding(r, WEFT_FINDING_DATA_RACE, weft__pc_site, (int)pc, "%s", msg);
}

/* ------------------------------------------------------------- shadow */

static struct spage *page_of(uint64_t pn, bool create)
{
    if (pn == D.last_pn)
        return D.last_page;
    void **v = table_find(&D.pages, pn, create);
    if (v == NULL || (*v == NULL && !create))
        return NULL;
    if (*v == NULL)
        *v = arena_zalloc(sizeof(struct spage));
    D.last_pn = pn;
    D.last_page = *v;
    return *v;
}

/* One access to bytes `mask` of the granule at `a` (8-aligned). */
static void check_granule(struct weft__run *r, struct weft__task *t,
                          struct tstate *s, uintptr_t a, uint8_t mask,
                          uint8_t flags, uint32_t pc, uintptr_t at,
                          unsigned size)
{
    struct spage *p = page_of(a >> PAGE_SHIFT, true);
    struct cell *c = p->g[(a >> 3) & (GRANULES - 1)];
    uint32_t tid = t->id;
    uint32_t now = s->vc.c[tid];
    /* The same access again in the same epoch (no release since) has
     * nothing new to check: a race with anything recorded after it was
     * reported then (FastTrack's fast path). */
    for (int i = 0; i < CELLS; i++)
        if (c[i].clock == now && c[i].tid == tid &&
            (c[i].mask & mask) == mask &&
            (c[i].flags == flags || (c[i].flags == C_WRITE && flags == 0)))
            return;
    bool write = flags & (C_WRITE | C_FREE);
    int slot = -1;
    for (int i = 0; i < CELLS; i++) {
        struct cell *x = &c[i];
        if (x->clock == 0) {
            if (slot < 0)
                slot = i;
            continue;
        }
        if (x->tid == tid) {
            /* Our own earlier access: replace it if it is the same kind
             * over the same bytes, or weaker (a read under a write). */
            if (x->mask == mask &&
                (x->flags == flags || (write && !(x->flags & C_FREE))))
                slot = i;
            continue;
        }
        bool ordered = x->clock <= vc_get(&s->vc, x->tid);
        if (!ordered && (x->mask & mask) &&
            (write || (x->flags & (C_WRITE | C_FREE))) &&
            !((x->flags & C_ATOMIC) && (flags & C_ATOMIC)))
            race(r, t, at, size, flags, pc, stack_id(s), x);
        /* An ordered earlier access that this one covers can go: a later
         * access racing with it races with this one too (FastTrack). */
        if (ordered && (x->mask & ~mask) == 0 &&
            (write || !(x->flags & (C_WRITE | C_FREE)))) {
            x->clock = 0;
            if (slot < 0)
                slot = i;
        }
    }
    if (slot < 0) /* evict: deterministic, never by address */
        slot = (int)((s->vc.c[tid] + tid) % CELLS);
    c[slot] = (struct cell){ .clock = s->vc.c[tid],
                             .tid = (uint16_t)tid,
                             .mask = mask,
                             .flags = flags,
                             .stack = stack_id(s),
                             .pc = pc };
}

static void check_access(struct weft__run *r, struct weft__task *t, uintptr_t a,
                         unsigned size, uint8_t flags, uint32_t pc)
{
    if (WEFT__UNLIKELY(t->id > UINT16_MAX))
        return; /* a cell names its task in 16 bits: beyond, unchecked */
    det_enter(r);
    struct tstate *s = tstate(t->id);
    if (WEFT__UNLIKELY(a >= stacks_lo && a < stacks_hi))
        stack_escape(r, t, a);
    uintptr_t at = a, end = a + size;
    while (a < end) {
        uintptr_t g = a & ~(uintptr_t)7;
        uintptr_t e = g + 8 < end ? g + 8 : end;
        uint8_t mask = (uint8_t)(((1u << (e - a)) - 1) << (a - g));
        check_granule(r, t, s, g, mask, flags, pc, at, size);
        a = e;
    }
}

/* Forget what [a, a + n) held, or (free) record a free by the current
 * task over it. Forgetting touches only pages that exist: the program's
 * malloc runs all the time, also on memory no instrumented code ever saw.
 * A free is recorded over blocks up to FREE_SHADOW bytes whole (a later
 * use by a task that did not see the free races with it), over larger
 * ones where shadow exists. */
#define FREE_SHADOW 65536
static void range_existing(struct weft__run *r, struct weft__task *t,
                           uintptr_t a, size_t n, bool free_, uint32_t pc)
{
    det_enter(r);
    if (n == 0 || (D.pages.n == 0 && !(free_ && n <= FREE_SHADOW)))
        return;
    uintptr_t end = a + n;
    struct tstate *s = free_ ? tstate(t->id) : NULL;
    while (a < end) {
        uintptr_t pe = ((a >> PAGE_SHIFT) + 1) << PAGE_SHIFT;
        if (pe > end || pe == 0)
            pe = end;
        struct spage *p = page_of(a >> PAGE_SHIFT, free_ && n <= FREE_SHADOW);
        if (p != NULL) {
            for (uintptr_t g = a & ~(uintptr_t)7; g < pe; g += 8) {
                struct cell *c = p->g[(g >> 3) & (GRANULES - 1)];
                bool used = free_ && n <= FREE_SHADOW;
                for (int i = 0; i < CELLS; i++)
                    used = used || c[i].clock != 0;
                if (!used)
                    continue;
                if (!free_) {
                    memset(c, 0, CELLS * sizeof *c);
                    continue;
                }
                uintptr_t lo = g < a ? a : g, hi = g + 8 < end ? g + 8 : end;
                uint8_t mask = (uint8_t)(((1u << (hi - lo)) - 1) << (lo - g));
                check_granule(r, t, s, g, mask, C_FREE, pc, lo,
                              (unsigned)(hi - lo));
            }
        }
        a = pe;
    }
}

/* ---------------------------------------------------- plain accesses */

/* One OS thread runs every task of the exploration, and a task switch is
 * always a visible operation (the step moves): one counter serves all. */
static uint64_t spin_step;
static uint32_t spin;

static inline void spin_guard(struct weft__run *r, const void *ra)
{
    if (spin_step != r->step) {
        spin_step = r->step;
        spin = 0;
    }
    if (WEFT__UNLIKELY(++spin >= SPIN_LIMIT)) {
        spin = 0;
        weft__access(r, NULL, WEFT__ACC_NONE, NULL, 0, WEFT__WAIT_NONE, NULL);
        weft__visible(r, WEFT__OP_YIELD, NULL, weft__pc_site,
                      weftcc_pc_line(ra));
    }
}

static void volatile_hb(struct weft__run *r, struct weft__task *t, uintptr_t a,
                        bool write);

/* What an access of size bytes at a touches, for dpor: the 8-byte words
 * of its first and last byte; anything when it spans more than two words
 * or its size is unknown (0). */
static WEFT__NOINLINE void track(struct weft__run *r, uintptr_t a,
                                 unsigned size, bool write)
{
    if (size == 0 || size > 16) {
        weft__access(r, NULL, WEFT__ACC_ALL, NULL, 0, WEFT__WAIT_NONE, NULL);
        return;
    }
    int kind = write ? WEFT__ACC_WRITE : WEFT__ACC_READ;
    uintptr_t lo = a & ~(uintptr_t)7, hi = (a + size - 1) & ~(uintptr_t)7;
    if (hi - lo > 8) { /* three words: say anything */
        weft__access(r, NULL, WEFT__ACC_ALL, NULL, 0, WEFT__WAIT_NONE, NULL);
        return;
    }
    weft__access(r, (const void *)lo, kind, hi != lo ? (const void *)hi : NULL,
                 hi != lo ? kind : 0, WEFT__WAIT_NONE, NULL);
}

/* A plain or volatile access made a visible operation: a read that finds
 * what the task read last time, nobody else having run, is a spin (a
 * yield: core.h). */
static void access_visible(struct weft__run *r, uintptr_t a, unsigned size,
                           uint8_t flags, uint32_t pc)
{
    const void *key = (const void *)a;
    if (WEFT__UNLIKELY(r->track))
        track(r, a, size, flags & C_WRITE);
    if (flags & C_WRITE) {
        weft__visible(r, WEFT__OP_WRITE, NULL, weft__pc_site, (int)pc);
        weft__spin_wrote(r, key);
        return;
    }
    bool spins = weft__spinning(r, key);
    if (WEFT__UNLIKELY(spins))
        weft__spin_wait(r);
    weft__visible(r, spins ? WEFT__OP_YIELD : WEFT__OP_READ, NULL,
                  weft__pc_site, (int)pc);
    weft__spin_saw(r, key);
}

static WEFT__NOINLINE void access_slow(struct weft__run *r,
                                       struct weft__task *t, uintptr_t a,
                                       unsigned size, uint8_t flags,
                                       const void *ra, bool vol)
{
    uint32_t pc = (uint32_t)weftcc_pc_line(ra);
    if (weftcc_granularity == WEFTCC_GRAN_MEMORY ||
        (vol && weftcc_granularity == WEFTCC_GRAN_ATOMICS) ||
        (WEFT__UNLIKELY(npoints != 0) && point_known((int32_t)pc)))
        access_visible(r, a, size, flags, pc);
    else
        spin_guard(r, ra);
    if (weftcc_race_mode == WEFTCC_RACE_OFF)
        return;
    if (vol) /* a marked access: see volatile_hb */
        flags |= C_ATOMIC;
    check_access(r, t, a, size, flags, pc);
    if (vol)
        volatile_hb(r, t, a, flags & C_WRITE);
}

/* An access to the task's own stack needs no race check, but a volatile
 * one is still a scheduling point (MCS and CLH locks publish a node on
 * the waiter's stack and spin on its flag until another task writes it),
 * and a plain one counts towards the spin guard. */
static WEFT__NOINLINE void own_stack_access(struct weft__run *r,
                                            struct weft__task *t, uintptr_t a,
                                            uint8_t flags, const void *ra,
                                            bool vol)
{
    if (vol && weftcc_granularity >= WEFTCC_GRAN_ATOMICS)
        access_visible(r, a, 0, flags, (uint32_t)weftcc_pc_line(ra));
    else
        spin_guard(r, ra);
    if (vol && weftcc_race_mode != WEFTCC_RACE_OFF)
        volatile_hb(r, t, a, flags & C_WRITE);
}

static inline void mem_access(const volatile void *p, unsigned size,
                              uint8_t flags, const void *ra, bool vol)
{
    struct weft__run *r;
    struct weft__task *t = cur_task(&r);
    if (WEFT__LIKELY(t == NULL))
        return;
    if (on_own_stack(t, (uintptr_t)p)) {
        if (WEFT__UNLIKELY(vol))
            own_stack_access(r, t, (uintptr_t)p, flags, ra, vol);
        return;
    }
    if (weftcc_race_mode == WEFTCC_RACE_OFF && !vol &&
        weftcc_granularity != WEFTCC_GRAN_MEMORY && npoints == 0) {
        spin_guard(r, ra); /* not a visible operation, nothing to check */
        return;
    }
    access_slow(r, t, (uintptr_t)p, size, flags, ra, vol);
}

#define RA __builtin_return_address(0)
/* One entry point: an access of n bytes (fl: C_WRITE or 0; vol: a
 * volatile access, a visible operation at granularity atomics). */
#define HOOK(name, n, fl, vol)         \
    void name(void *p)                 \
    {                                  \
        mem_access(p, n, fl, RA, vol); \
    }
#define HOOK_PC(name, n, fl)                         \
    void name(void *p, void *pc)                     \
    {                                                \
        mem_access(p, n, fl, (char *)pc + 1, false); \
    }
#define PLAIN(N)                                               \
    HOOK(__tsan_read##N, N, 0, false)                          \
    HOOK(__tsan_write##N, N, C_WRITE, false)                   \
    HOOK(__tsan_unaligned_read##N, N, 0, false)                \
    HOOK(__tsan_unaligned_write##N, N, C_WRITE, false)         \
    HOOK(__tsan_volatile_read##N, N, 0, true)                  \
    HOOK(__tsan_volatile_write##N, N, C_WRITE, true)           \
    HOOK(__tsan_unaligned_volatile_read##N, N, 0, true)        \
    HOOK(__tsan_unaligned_volatile_write##N, N, C_WRITE, true) \
    HOOK_PC(__tsan_read##N##_pc, N, 0)                         \
    HOOK_PC(__tsan_write##N##_pc, N, C_WRITE)

PLAIN(1)
PLAIN(2)
PLAIN(4)
PLAIN(8)
PLAIN(16)

void __tsan_read_range(void *p, unsigned long n)
{
    if (n > 0)
        mem_access(p, (unsigned)(n < 4096 ? n : 4096), 0, RA, false);
}

void __tsan_write_range(void *p, unsigned long n)
{
    if (n > 0)
        mem_access(p, (unsigned)(n < 4096 ? n : 4096), C_WRITE, RA, false);
}

void __tsan_vptr_update(void **p, void *v)
{
    (void)v;
    mem_access(p, sizeof *p, C_WRITE, RA, false);
}

void __tsan_vptr_read(void **p)
{
    mem_access(p, sizeof *p, 0, RA, false);
}

/* ------------------------------------------------- happens-before edges */

/*
 * A synchronization object's clock: what an acquire of it learns. For
 * locks, semaphores, once and the like it is the join of every release.
 * For an atomic location it is the release sequence (C11 7.17.3) that its
 * latest write belongs to, since under weft's interleavings a load reads
 * the latest write: a release store starts a new sequence (the clock is
 * replaced); a read-modify-write continues the sequence, and adds its own
 * release to it; a relaxed store by the task that headed the sequence
 * continues it (C11's same-thread rule), one by another task ends it.
 * head: the task whose release store started the sequence, NO_HEAD when
 * none, MIXED_HEAD when read-modify-writes of several tasks released into
 * it (then a relaxed store keeps the clock: it may end some of their
 * sequences, but which part belongs to whom is not kept, and a missed
 * race is better than a false one).
 */
#define NO_HEAD    UINT32_MAX
#define MIXED_HEAD (UINT32_MAX - 1)
struct sync {
    struct vc vc;
    uint32_t head;
};

static inline struct weft__task *hb_task(struct weft__run **rp)
{
    if (weftcc_race_mode == WEFTCC_RACE_OFF)
        return NULL;
    struct weft__task *t = cur_task(rp);
    if (t != NULL)
        det_enter(*rp);
    return t;
}

static struct sync *sync_get(uint64_t key)
{
    void **v = table_find(&D.syncs, key, true);
    if (*v == NULL) {
        struct sync *y = arena_zalloc(sizeof *y);
        y->head = NO_HEAD;
        *v = y;
    }
    return *v;
}

static struct sync *sync_find(uint64_t key)
{
    void **v = table_find(&D.syncs, key, false);
    return v != NULL ? *v : NULL;
}

static void acquire_key(struct weft__task *t, uint64_t key)
{
    struct sync *y = sync_find(key);
    if (y != NULL)
        vc_join(&tstate(t->id)->vc, &y->vc);
}

static void release_key(struct weft__task *t, uint64_t key)
{
    struct tstate *s = tstate(t->id);
    vc_join(&sync_get(key)->vc, &s->vc);
    s->vc.c[t->id]++;
}

void weftcc_hb_acquire(const void *obj)
{
    struct weft__run *r;
    struct weft__task *t = hb_task(&r);
    if (t != NULL)
        acquire_key(t, (uintptr_t)obj);
}

void weftcc_hb_release(const void *obj)
{
    struct weft__run *r;
    struct weft__task *t = hb_task(&r);
    if (t != NULL)
        release_key(t, (uintptr_t)obj);
}

void weftcc_hb_spawned(uint32_t child)
{
    struct weft__run *r;
    struct weft__task *t = hb_task(&r);
    if (t == NULL)
        return;
    struct tstate *p = tstate(t->id);
    struct tstate *c = tstate(child);
    vc_join(&c->vc, &p->vc);
    p->vc.c[t->id]++;
    /* Its stack may have been another task's in this execution: forget
     * what other tasks did there. */
    struct weft__task *ct = child < r->ntasks ? r->tasks[child] : NULL;
    if (ct != NULL && ct->stack != NULL)
        range_existing(r, t, (uintptr_t)ct->stack->lo, ct->stack->size, false,
                       0);
    /* And so may its thread-local storage (a pooled block). */
    if (ct != NULL && ct->tls != NULL) {
        uintptr_t lo, hi;
        weft__tls_area(ct->tls, &lo, &hi);
        range_existing(r, t, lo, hi - lo, false, 0);
    }
}

void weftcc_hb_joined(uint32_t child)
{
    struct weft__run *r;
    struct weft__task *t = hb_task(&r);
    if (t != NULL && child < D.ntasks && D.tasks[child] != NULL)
        vc_join(&tstate(t->id)->vc, &D.tasks[child]->vc);
}

/* ------------------------------------------------------------ atomics */

static inline bool mo_acquire(int mo)
{
    mo &= 0xff;
    return mo == __ATOMIC_CONSUME || mo == __ATOMIC_ACQUIRE ||
           mo == __ATOMIC_ACQ_REL || mo == __ATOMIC_SEQ_CST;
}

static inline bool mo_release(int mo)
{
    mo &= 0xff;
    return mo == __ATOMIC_RELEASE || mo == __ATOMIC_ACQ_REL ||
           mo == __ATOMIC_SEQ_CST;
}

/* Before an atomic operation takes effect: its decision point. An atomic
 * on the task's own stack is still one: its address may have been handed
 * to another thread, which then spins on it. A load or compare-exchange
 * that re-reads what the task found unchanged, nobody else having run, is
 * a spins: a yield (core.h). */
static WEFT__NOINLINE void atomic_pre(struct weft__run *r, const void *ra,
                                      const volatile void *a, unsigned size,
                                      bool reads)
{
    if (weftcc_granularity >= WEFTCC_GRAN_ATOMICS) {
        /* for dpor, a write (loads too: `reads` covers a
         * compare-exchange); a fence (size 0) touches anything */
        if (WEFT__UNLIKELY(r->track))
            track(r, (uintptr_t)a, size, true);
        bool spins = reads && weft__spinning(r, (const void *)a);
        if (WEFT__UNLIKELY(spins))
            weft__spin_wait(r);
        weft__visible(r, spins ? WEFT__OP_YIELD : WEFT__OP_ATOMIC, NULL,
                      weft__pc_site, weftcc_pc_line(ra));
    }
}

/* What an atomic operation does (POST's how): A_LOAD, A_STORE, or A_RMW,
 * a read-modify-write: both, and it continues the release sequence it
 * reads from. */
enum { A_LOAD = 1, A_STORE = 2, A_CONT = 4, A_RMW = A_LOAD | A_STORE | A_CONT };

/* A write to an atomic location by t, after its access was recorded:
 * what the location's release sequence becomes (see struct sync). */
static void atomic_write(struct tstate *s, uint32_t tid, uintptr_t p, bool rmw,
                         bool release)
{
    struct sync *y = sync_get(p);
    if (release && !rmw) {
        vc_copy(&y->vc, &s->vc);
        y->head = tid;
    } else if (release) {
        vc_join(&y->vc, &s->vc);
        y->head = y->head == NO_HEAD || y->head == tid ? tid : MIXED_HEAD;
    } else if (!rmw && y->head != tid && y->head != MIXED_HEAD) {
        vc_clear(&y->vc); /* another task's relaxed store ends it */
        y->head = NO_HEAD;
    }
    /* After a release fence, a relaxed write releases what the task had
     * at the fence (C11 7.17.4). */
    if (!release && s->frel.n != 0) {
        vc_join(&y->vc, &s->frel);
        y->head = y->head == NO_HEAD || y->head == tid ? tid : MIXED_HEAD;
    }
    if (release)
        s->vc.c[tid]++; /* later accesses are not covered by it */
}

/*
 * A volatile access is a marked access, as the Linux kernel's memory model
 * and KCSAN treat it: code written before C11 (and lock-free libraries
 * that still build that way) synchronizes with volatile flags and fences.
 * So it is handled as a relaxed atomic: two volatile accesses never race
 * with each other (a volatile and a plain one do), and they take part in
 * fence synchronization like relaxed loads and stores (atomic_post).
 */
static void volatile_hb(struct weft__run *r, struct weft__task *t, uintptr_t a,
                        bool write)
{
    det_enter(r);
    struct tstate *s = tstate(t->id);
    if (write) {
        atomic_write(s, t->id, a, false, false);
        return;
    }
    struct sync *y = sync_find(a);
    if (y != NULL)
        vc_join(&s->facq, &y->vc);
}

/* After the operation took effect: its happens-before edges and shadow
 * record, in the order the memory model gives them: the read side
 * (acquire, or for a relaxed read, what a later acquire fence takes),
 * then the access itself, recorded in the epoch that a release publishes,
 * then the write side. A failed compare-exchange is a load with the
 * failure order. */
static WEFT__NOINLINE void atomic_post(struct weft__run *r,
                                       struct weft__task *t, const void *p,
                                       unsigned size, unsigned how, int mo,
                                       const void *ra)
{
    bool store = how & A_STORE;
    if (store)
        weft__spin_wrote(r, p);
    else
        weft__spin_saw(r, p); /* a load, or a failed compare-exchange */
    if (weftcc_race_mode == WEFTCC_RACE_OFF)
        return;
    det_enter(r);
    struct tstate *s = tstate(t->id);
    uintptr_t a = (uintptr_t)p;
    if (how & A_LOAD) {
        struct sync *y = sync_find(a);
        if (y != NULL)
            vc_join(mo_acquire(mo) ? &s->vc : &s->facq, &y->vc);
    }
    if (!on_own_stack(t, a))
        check_access(r, t, a, size, (uint8_t)(C_ATOMIC | (store ? C_WRITE : 0)),
                     (uint32_t)weftcc_pc_line(ra));
    if (store)
        atomic_write(s, t->id, a, (how & A_CONT) != 0, mo_release(mo));
}

/* PRE(a, reads): reads is true for a load or compare-exchange. */
#define PRE(a, reads) PRE_SIZED(a, sizeof *(a), reads)
#define PRE_SIZED(a, size, reads)          \
    struct weft__run *r_ = NULL;           \
    struct weft__task *t_ = cur_task(&r_); \
    if (t_ != NULL)                        \
    atomic_pre(r_, RA, a, size, reads)
#define POST(p, how, mo)                                                      \
    do {                                                                      \
        if (t_ != NULL)                                                       \
            atomic_post(r_, t_, (const void *)(p), sizeof *(p), how, mo, RA); \
    } while (0)

#define RMW(N, T, name, builtin)                            \
    T __tsan_atomic##N##_##name(volatile T *a, T v, int mo) \
    {                                                       \
        PRE(a, false);                                      \
        T old = builtin((T *)a, v, __ATOMIC_SEQ_CST);       \
        POST(a, A_RMW, mo);                                 \
        return old;                                         \
    }

#define ATOMICS(N, T)                                                          \
    T __tsan_atomic##N##_load(const volatile T *a, int mo)                     \
    {                                                                          \
        PRE(a, true);                                                          \
        T v = __atomic_load_n((T *)a, __ATOMIC_SEQ_CST);                       \
        POST(a, A_LOAD, mo);                                                   \
        return v;                                                              \
    }                                                                          \
    void __tsan_atomic##N##_store(volatile T *a, T v, int mo)                  \
    {                                                                          \
        PRE(a, false);                                                         \
        __atomic_store_n((T *)a, v, __ATOMIC_SEQ_CST);                         \
        POST(a, A_STORE, mo);                                                  \
    }                                                                          \
    RMW(N, T, exchange, __atomic_exchange_n)                                   \
    RMW(N, T, fetch_add, __atomic_fetch_add)                                   \
    RMW(N, T, fetch_sub, __atomic_fetch_sub)                                   \
    RMW(N, T, fetch_and, __atomic_fetch_and)                                   \
    RMW(N, T, fetch_or, __atomic_fetch_or)                                     \
    RMW(N, T, fetch_xor, __atomic_fetch_xor)                                   \
    RMW(N, T, fetch_nand, __atomic_fetch_nand)                                 \
    /* Inlined into both entry points, so RA is the program's call. A          \
     * weak one never fails spuriously: one thread runs at a time. */          \
    static inline __attribute__((always_inline)) int cas##N(                   \
        volatile T *a, T *c, T v, int mo, int fmo)                             \
    {                                                                          \
        /* under dpor, one that would swap is no spin (atomic.c) */            \
        PRE(a, !r_->track || *(a) != *(c));                                    \
        bool ok = __atomic_compare_exchange_n(                                 \
            (T *)a, c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);          \
        POST(a, ok ? A_RMW : A_LOAD, ok ? mo : fmo);                           \
        return ok;                                                             \
    }                                                                          \
    int __tsan_atomic##N##_compare_exchange_strong(volatile T *a, T *c, T v,   \
                                                   int mo, int fmo)            \
    {                                                                          \
        return cas##N(a, c, v, mo, fmo);                                       \
    }                                                                          \
    int __tsan_atomic##N##_compare_exchange_weak(volatile T *a, T *c, T v,     \
                                                 int mo, int fmo)              \
    {                                                                          \
        return cas##N(a, c, v, mo, fmo);                                       \
    }                                                                          \
    T __tsan_atomic##N##_compare_exchange_val(volatile T *a, T c, T v, int mo, \
                                              int fmo)                         \
    {                                                                          \
        PRE(a, true);                                                          \
        bool ok = __atomic_compare_exchange_n(                                 \
            (T *)a, &c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);         \
        POST(a, ok ? A_RMW : A_LOAD, ok ? mo : fmo);                           \
        return c;                                                              \
    }

ATOMICS(8, uint8_t)
ATOMICS(16, uint16_t)
ATOMICS(32, uint32_t)
ATOMICS(64, uint64_t)
#ifdef __SIZEOF_INT128__
/* 16-byte atomics: one task runs at a time, so a plain access is atomic
 * with respect to every other task; outside an exploration this is not
 * atomic across real threads (weft-cc programs run one OS thread). */
typedef unsigned __int128 u128;
static u128 x128(volatile u128 *a, u128 v, int op)
{
    u128 o = *a;
    switch (op) {
    case 0:
        *a = v;
        break;
    case 1:
        *a = o + v;
        break;
    case 2:
        *a = o - v;
        break;
    case 3:
        *a = o & v;
        break;
    case 4:
        *a = o | v;
        break;
    case 5:
        *a = o ^ v;
        break;
    default:
        *a = ~(o & v);
        break;
    }
    return o;
}
#define RMW128(name, op)                                           \
    u128 __tsan_atomic128_##name(volatile u128 *a, u128 v, int mo) \
    {                                                              \
        PRE(a, false);                                             \
        u128 old = x128(a, v, op);                                 \
        POST(a, A_RMW, mo);                                        \
        return old;                                                \
    }
u128 __tsan_atomic128_load(const volatile u128 *a, int mo)
{
    PRE(a, true);
    u128 v = *a;
    POST(a, A_LOAD, mo);
    return v;
}
void __tsan_atomic128_store(volatile u128 *a, u128 v, int mo)
{
    PRE(a, false);
    *a = v;
    POST(a, A_STORE, mo);
}
RMW128(exchange, 0)
RMW128(fetch_add, 1)
RMW128(fetch_sub, 2)
RMW128(fetch_and, 3)
RMW128(fetch_or, 4)
RMW128(fetch_xor, 5)
RMW128(fetch_nand, 6)
static bool cas128(volatile u128 *a, u128 *c, u128 v)
{
    if (*a == *c) {
        *a = v;
        return true;
    }
    *c = *a;
    return false;
}
static inline __attribute__((always_inline)) int
cas128_at(volatile u128 *a, u128 *c, u128 v, int mo, int fmo)
{
    PRE(a, true);
    bool ok = cas128(a, c, v);
    POST(a, ok ? A_RMW : A_LOAD, ok ? mo : fmo);
    return ok;
}
int __tsan_atomic128_compare_exchange_strong(volatile u128 *a, u128 *c, u128 v,
                                             int mo, int fmo)
{
    return cas128_at(a, c, v, mo, fmo);
}
int __tsan_atomic128_compare_exchange_weak(volatile u128 *a, u128 *c, u128 v,
                                           int mo, int fmo)
{
    return cas128_at(a, c, v, mo, fmo);
}

u128 __tsan_atomic128_compare_exchange_val(volatile u128 *a, u128 c, u128 v,
                                           int mo, int fmo)
{
    PRE(a, true);
    bool ok = cas128(a, &c, v);
    POST(a, ok ? A_RMW : A_LOAD, ok ? mo : fmo);
    return c;
}
#endif

/* A fence (C11 7.17.4): an acquire fence takes what the task's earlier
 * relaxed loads read from release sequences; a release fence makes its
 * later relaxed stores release what it has now. seq_cst and acq_rel are
 * both (a seq_cst fence orders values, not happens-before, beyond that;
 * weft's interleavings are sequentially consistent anyway). */
void __tsan_atomic_thread_fence(int mo)
{
    PRE_SIZED(NULL, 0, false);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (t_ == NULL || weftcc_race_mode == WEFTCC_RACE_OFF)
        return;
    det_enter(r_);
    struct tstate *s = tstate(t_->id);
    if (mo_acquire(mo))
        vc_join(&s->vc, &s->facq);
    if (mo_release(mo)) {
        vc_copy(&s->frel, &s->vc);
        s->vc.c[t_->id]++;
    }
}

void __tsan_atomic_signal_fence(int mo)
{
    (void)mo;
}

/* ----------------------------------------------------------- the program */

const char *weftcc_exe_path(void)
{
    image_init();
    return exe_path;
}

/* ------------------------------------------------------------- malloc */

/* The program's allocator, served by glibc's, with the detector told:
 * memory malloc hands out starts with no history; free is a write to the
 * whole block. */
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void __libc_free(void *);
void *__libc_memalign(size_t, size_t);

static inline struct weft__task *mem_task(struct weft__run **rp)
{
    if (weftcc_race_mode == WEFTCC_RACE_OFF)
        return NULL;
    return cur_task(rp);
}

static void *fresh(void *p)
{
    struct weft__run *r;
    struct weft__task *t;
    if (p != NULL && (t = mem_task(&r)) != NULL)
        range_existing(r, t, (uintptr_t)p, malloc_usable_size(p), false, 0);
    return p;
}

/*
 * Who serves an allocation. Snapshot executions (snapshot.c): the
 * program's own calls during an execution take the arena, emptied between
 * executions; libc's calls for itself (a stdio buffer, the time zone, what
 * strdup returns) stay with glibc, whose state is never rewound; before
 * the snapshot, the program's blocks are recorded (they are part of it).
 * A block is freed by whoever made it: the arena's by the arena, one made
 * before the snapshot never during an execution (the next one finds it
 * again), the others by glibc.
 */
static void *alloc(size_t n, size_t align, bool zero, const void *ra)
{
    void *p;
    if (weftcc_snapshot_on && weft_running() && weftcc_program_code(ra)) {
        p = weftcc_arena_alloc(n, align);
        if (p != NULL) {
            if (zero)
                memset(p, 0, n);
            return fresh(p);
        }
        /* glibc's then, as outside weft; the arena is full: this execution
         * cannot be undone, the next ones fork */
        weftcc_taint("a heap larger than the snapshot's arena", ra);
    }
    if (align > 16)
        p = __libc_memalign(align, n);
    else
        p = zero ? __libc_calloc(1, n) : __libc_malloc(n);
    if (weftcc_own_code(ra))
        return p; /* weft's own: no program memory, no history */
    if (!weftcc_snapshot_on && p != NULL && weftcc_program_code(ra))
        weftcc_pre_add(p, malloc_usable_size(p));
    return fresh(p);
}

static size_t usable(void *p)
{
    return weftcc_arena_owns(p) ? weftcc_arena_usable(p)
                                : malloc_usable_size(p);
}

void *malloc(size_t n)
{
    return alloc(n, 0, false, RA);
}

void *calloc(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return alloc(n * size, 0, true, RA);
}

void free(void *p)
{
    struct weft__run *r;
    struct weft__task *t;
    if (p == NULL)
        return;
    bool arena = weftcc_arena_owns(p);
    /* weft's own blocks (a thread's start record) are no program memory */
    if (!weftcc_own_code(RA) && (t = mem_task(&r)) != NULL)
        range_existing(r, t, (uintptr_t)p, usable(p), true,
                       (uint32_t)weftcc_pc_line(RA));
    if (arena) {
        if (weft_running())
            weftcc_arena_free(p);
        return;
    }
    if (weftcc_pre_known(p, true) && weftcc_snapshot_on)
        return; /* part of the snapshot: it lives on */
    __libc_free(p);
}

static void *realloc_at(void *p, size_t n, const void *ra)
{
    if (p == NULL)
        return alloc(n, 0, false, ra);
    struct weft__run *r = NULL;
    struct weft__task *t = mem_task(&r);
    bool arena = weftcc_arena_owns(p);
    bool pre = !arena && weftcc_snapshot_on && weftcc_pre_known(p, false);
    size_t old = arena || pre || t != NULL ? usable(p) : 0;
    if (pre)
        old = weftcc_pre_size(p);
    void *q;
    if (arena || pre) {
        /* a new block; the old one is the arena's, or the snapshot's */
        q = alloc(n, 0, false, ra);
        if (q != NULL) {
            memcpy(q, p, old < n ? old : n);
            if (arena && weft_running())
                weftcc_arena_free(p);
        }
        if (t != NULL && q != NULL)
            range_existing(r, t, (uintptr_t)p, old, true,
                           (uint32_t)weftcc_pc_line(ra));
        return q;
    }
    if (!weftcc_snapshot_on)
        weftcc_pre_known(p, true);
    q = __libc_realloc(p, n);
    if (!weftcc_snapshot_on && q != NULL && weftcc_program_code(ra))
        weftcc_pre_add(q, malloc_usable_size(q));
    if (t != NULL && q != NULL && q != p)
        range_existing(r, t, (uintptr_t)p, old, true,
                       (uint32_t)weftcc_pc_line(ra));
    if (q != p)
        return fresh(q);
    /* Grown in place: the new tail held other blocks, freed by others;
     * it starts with no history, as fresh memory does. */
    size_t now = t != NULL && q != NULL ? malloc_usable_size(q) : 0;
    if (now > old)
        range_existing(r, t, (uintptr_t)q + old, now - old, false, 0);
    return q;
}

void *realloc(void *p, size_t n)
{
    return realloc_at(p, n, RA);
}

void *reallocarray(void *p, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc_at(p, n * size, RA);
}

void *memalign(size_t align, size_t n)
{
    return alloc(n, align, false, RA);
}

void *aligned_alloc(size_t align, size_t n)
{
    return alloc(n, align, false, RA);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    void *p = alloc(n, align, false, RA);
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}

void *valloc(size_t n)
{
    return alloc(n, (size_t)sysconf(_SC_PAGESIZE), false, RA);
}

size_t malloc_usable_size(void *p)
{
    static size_t (*real_)(void *);
    if (p != NULL && weftcc_arena_owns(p))
        return weftcc_arena_usable(p);
    if (real_ == NULL)
        real_ = (size_t(*)(void *))weftcc_real("malloc_usable_size");
    return p != NULL ? real_(p) : 0;
}

/* libweft's own allocations bypass the detector (see the Makefile's
 * weft-cc rule: its references are renamed to these). */
void *weftcc_real_malloc(size_t n)
{
    return __libc_malloc(n);
}

void *weftcc_real_calloc(size_t n, size_t size)
{
    return __libc_calloc(n, size);
}

void *weftcc_real_realloc(void *p, size_t n)
{
    return __libc_realloc(p, n);
}

void weftcc_real_free(void *p)
{
    /* a block glibc got from the program's malloc during an execution
     * (dynamic TLS): the arena's, gone with it */
    if (p == NULL || weftcc_arena_owns(p))
        return;
    __libc_free(p);
}

int weftcc_real_posix_memalign(void **out, size_t align, size_t n)
{
    void *p = __libc_memalign(align, n);
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}
