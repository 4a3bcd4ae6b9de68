/*
 * snapshot.c: snapshot executions (WEFT_ISOLATE=snapshot, the default):
 * every execution of an unmodified program runs in this one process, from
 * the state the program had when main was entered.
 *
 * weftcc_snapshot_take, at main's entry, records what an execution may
 * change, and weftcc_snapshot_restore, at the start of every execution,
 * puts it back:
 *   - the writable segments of the executable and of the program's own
 *     shared libraries (not the system's), less RELRO and less weft's own
 *     data, which the build moved to the sections weft_data and weft_bss
 *     (the Makefile's objcopy step) so that it survives;
 *   - the heap: during an execution the program's malloc is served from an
 *     arena that is emptied (and zeroed) between executions, so addresses
 *     repeat; allocations libc makes for itself (a stdio buffer, the time
 *     zone, what strdup returns) stay with glibc, whose own state is never
 *     rewound; blocks the program allocated before main are copied and
 *     put back, and freeing one during an execution is deferred for good;
 *   - FILEs and file descriptors opened during an execution (closed),
 *     atexit handlers it registered (run when it ends, then dropped),
 *     signal dispositions, the working directory, the umask, and the state
 *     of rand(), random() and drand48() (each execution draws the same
 *     numbers; getrandom too);
 *   - thread-local storage, the virtual clock, keys and weft's side
 *     tables start afresh with every execution anyway.
 * What cannot be put back is caught where it happens (weftcc_taint): a
 * file mapped, a process forked or executed, a library loaded, the
 * environment or a resource limit changed, a file descriptor the execution
 * did not open written or closed. weft then says once what it saw and
 * where, and the exploration goes on in forked processes (main.c).
 */
#include "weftcc.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

bool weftcc_snapshot_on;

/* weft's own writable data (kept): see the Makefile's weft-cc rules. */
extern char __start_weft_data[] __attribute__((weak));
extern char __stop_weft_data[] __attribute__((weak));
extern char __start_weft_bss[] __attribute__((weak));
extern char __stop_weft_bss[] __attribute__((weak));
extern char __start_weft_text[] __attribute__((weak));
extern char __stop_weft_text[] __attribute__((weak));

/* ------------------------------------------------------------- segments */

struct region {
    char *lo;
    size_t len;
    char *copy;
};
static struct region *regions;
static unsigned nregions, regions_cap;
static size_t snapshot_bytes;

/* The program's code: the executable's and its own libraries' (for the
 * allocator: a call from there is the program's). */
struct span {
    uintptr_t lo, hi;
};
static struct span code[64];
static unsigned ncode;

static bool system_object(const char *path)
{
    static const char *const dirs[] = { "/lib/", "/lib64/", "/usr/lib/",
                                        "/usr/lib64/", "/usr/libexec/" };
    /* the C and compiler runtimes, wherever they are installed (a cross
     * or Nix prefix): their state is the process's, never restored */
    static const char *const runtimes[] = {
        "libc.so",     "libm.so",      "libpthread.so", "libdl.so",
        "librt.so",    "libgcc_s.so",  "libstdc++.so",  "libresolv.so",
        "libnss_",     "libanl.so",    "libutil.so",    "libcrypt.so",
        "libubsan.so", "libatomic.so", "libclang_rt.",  "ld-linux",
        "ld64.so",     "linux-vdso",   "linux-gate"
    };
    if (path[0] == '\0')
        return false; /* the executable */
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    for (size_t i = 0; i < sizeof runtimes / sizeof runtimes[0]; i++)
        if (strncmp(base, runtimes[i], strlen(runtimes[i])) == 0)
            return true;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (strncmp(path, dirs[i], strlen(dirs[i])) == 0)
            return true;
    return false;
}

static int add_region(char *lo, char *hi)
{
    if (hi <= lo)
        return 0;
    if (nregions == regions_cap) {
        unsigned cap = regions_cap ? 2 * regions_cap : 16;
        struct region *r = weftcc_real_realloc(regions, cap * sizeof *r);
        if (r == NULL)
            return -1;
        regions = r;
        regions_cap = cap;
    }
    regions[nregions++] = (struct region){ lo, (size_t)(hi - lo), NULL };
    snapshot_bytes += (size_t)(hi - lo);
    return 0;
}

/* [lo, hi) without weft's own sections. */
static int add_program_range(char *lo, char *hi)
{
    char *cut[2][2] = { { __start_weft_data, __stop_weft_data },
                        { __start_weft_bss, __stop_weft_bss } };
    for (int i = 0; i < 2; i++) {
        char *a = cut[i][0], *b = cut[i][1];
        if (a == NULL || b == NULL || b <= lo || a >= hi)
            continue;
        if (add_program_range(lo, a > lo ? a : lo) != 0)
            return -1;
        lo = b < hi ? b : hi;
    }
    return add_region(lo, hi);
}

static int segments_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    int *rc = data;
    if (system_object(info->dlpi_name))
        return 0;
    uintptr_t relro_lo = 0, relro_hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        if (p->p_type == PT_GNU_RELRO) {
            relro_lo = info->dlpi_addr + p->p_vaddr;
            relro_hi = relro_lo + p->p_memsz;
        }
    }
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        if (p->p_type != PT_LOAD)
            continue;
        uintptr_t lo = info->dlpi_addr + p->p_vaddr, hi = lo + p->p_memsz;
        if (p->p_flags & PF_X)
            continue;
        if (!(p->p_flags & PF_W))
            continue;
        /* RELRO (the GOT, .init_array, .dynamic) is read-only by now */
        if (relro_hi > lo && relro_lo < hi)
            lo = relro_hi > lo ? relro_hi : lo;
        if (add_program_range((char *)lo, (char *)hi) != 0)
            *rc = -1;
    }
    return 0;
}

static int code_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    if (system_object(info->dlpi_name))
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + p->p_vaddr, hi = lo + p->p_memsz;
        if (p->p_type == PT_LOAD && (p->p_flags & PF_X) &&
            ncode < sizeof code / sizeof code[0])
            code[ncode++] = (struct span){ lo, hi };
    }
    return 0;
}

/* The program's code: its executable's and its own libraries' (loaded by
 * then; one dlopen'ed later makes the exploration go on in fork mode). */
void weftcc_code_init(void)
{
    if (ncode == 0)
        dl_iterate_phdr(code_cb, NULL);
}

/* weft's own code sits in the executable's text, in its own section. */
bool weftcc_own_code(const void *ra)
{
    uintptr_t a = (uintptr_t)ra;
    return a >= (uintptr_t)__start_weft_text && a < (uintptr_t)__stop_weft_text;
}

bool weftcc_program_code(const void *ra)
{
    uintptr_t a = (uintptr_t)ra;
    if (weftcc_own_code(ra))
        return false;
    if (WEFT__UNLIKELY(ncode == 0))
        weftcc_code_init(); /* a constructor's first malloc */
    for (unsigned i = 0; i < ncode; i++)
        if (a >= code[i].lo && a < code[i].hi)
            return true;
    return false;
}

/* ----------------------------------------------------------------- heap */

/*
 * The arena: one large reservation, taken by a bump pointer, with free
 * lists by size class, emptied between executions. Each block has a
 * 16-byte header: its class, and its usable size. Classes: 16-byte steps
 * up to 1 KiB, then powers of two.
 *
 *   [ hdr | payload ... ][ hdr | payload ... ] ...      top ->
 *   base                                                      end
 */
#define ARENA_RESERVE ((size_t)64 << 30)
#define SMALL_MAX     1024
#define NCLASS        (SMALL_MAX / 16 + 48)
struct hdr {
    uint32_t cls;
    uint32_t align_pad; /* bytes of padding before the header */
    size_t size;        /* usable bytes */
};
_Static_assert(sizeof(struct hdr) == 16, "the header keeps 16-byte payloads");
static char *base, *top, *end, *high;
static void *bins[NCLASS];

static unsigned class_of(size_t n, size_t *size)
{
    if (n <= SMALL_MAX) {
        size_t k = (n + 15) / 16;
        if (k == 0)
            k = 1;
        *size = k * 16;
        return (unsigned)k - 1;
    }
    unsigned c = SMALL_MAX / 16;
    size_t s = 2 * SMALL_MAX;
    while (s < n && c + 1 < NCLASS) {
        s *= 2;
        c++;
    }
    *size = s;
    return c;
}

bool weftcc_arena_owns(const void *p)
{
    return (const char *)p >= base && (const char *)p < end;
}

static size_t arena_reserve;

/* The largest reservation the address space allows (a `ulimit -v` counts
 * reserved space too), from 64 GiB down to 256 MiB. */
static int arena_init(void)
{
    if (base != NULL)
        return 0;
    for (size_t want = ARENA_RESERVE; want >= ((size_t)256 << 20); want /= 2) {
        void *m = mmap(NULL, want, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED)
            continue;
        base = top = high = m;
        end = base + want;
        arena_reserve = want;
        return 0;
    }
    return -1;
}

size_t weftcc_arena_size(void)
{
    return arena_reserve;
}

void *weftcc_arena_alloc(size_t n, size_t align)
{
    size_t size;
    if (n > arena_reserve)
        return NULL;
    unsigned c = class_of(n, &size);
    if (align <= 16 && bins[c] != NULL) {
        void *p = bins[c];
        bins[c] = *(void **)p;
        return p;
    }
    char *h = top;
    size_t pad = 0;
    if (align > 16) {
        uintptr_t pay = ((uintptr_t)(h + sizeof(struct hdr)) + align - 1) &
                        ~(uintptr_t)(align - 1);
        pad = pay - sizeof(struct hdr) - (uintptr_t)h;
        h += pad;
    }
    if ((size_t)(end - h) < sizeof(struct hdr) + size) {
        errno = ENOMEM;
        return NULL;
    }
    struct hdr *hd = (struct hdr *)(void *)h;
    hd->cls = c;
    hd->align_pad = (uint32_t)pad;
    hd->size = size;
    top = h + sizeof(struct hdr) + size;
    if (top > high)
        high = top;
    return hd + 1;
}

size_t weftcc_arena_usable(const void *p)
{
    return ((const struct hdr *)p - 1)->size;
}

void weftcc_arena_free(void *p)
{
    const struct hdr *hd = (const struct hdr *)p - 1;
    if (hd->align_pad != 0)
        return; /* an aligned block: not reused, freed with the arena */
    *(void **)p = bins[hd->cls];
    bins[hd->cls] = p;
}

/* Empty it, and zero what this execution used: a program that reads
 * memory it did not write sees what a fresh process would, zeros, so a
 * replay elsewhere behaves the same. Zeroing in place is several times
 * cheaper than faulting the pages in again, so the first ARENA_KEEP bytes
 * stay resident; beyond, pages go back to the kernel, which zeroes them
 * lazily. */
#define ARENA_KEEP ((size_t)64 << 20)
static void arena_reset(void)
{
    size_t used = (size_t)(high - base);
    if (used > ARENA_KEEP) {
        madvise(base + ARENA_KEEP, used - ARENA_KEEP, MADV_DONTNEED);
        used = ARENA_KEEP;
    }
    memset(base, 0, used);
    top = high = base;
    memset(bins, 0, sizeof bins);
}

/* Blocks the program allocated before main: their contents are part of
 * the snapshot. An open-addressing table by address. */
struct pre {
    void *p;
    size_t size;
    char *copy;
};
static struct pre *pre;
static size_t npre, pre_cap;

static size_t pre_slot(const void *p, size_t cap)
{
    return (size_t)weft__mix((uintptr_t)p) & (cap - 1);
}

void weftcc_pre_add(void *p, size_t size)
{
    if (weftcc_snapshot_on || p == NULL)
        return;
    if (2 * (npre + 1) > pre_cap) {
        size_t cap = pre_cap ? 2 * pre_cap : 256;
        struct pre *t = weftcc_real_calloc(cap, sizeof *t);
        if (t == NULL)
            return;
        for (size_t i = 0; i < pre_cap; i++)
            if (pre[i].p != NULL) {
                size_t j = pre_slot(pre[i].p, cap);
                while (t[j].p != NULL)
                    j = (j + 1) & (cap - 1);
                t[j] = pre[i];
            }
        weftcc_real_free(pre);
        pre = t;
        pre_cap = cap;
    }
    size_t j = pre_slot(p, pre_cap);
    while (pre[j].p != NULL && pre[j].p != p)
        j = (j + 1) & (pre_cap - 1);
    if (pre[j].p == NULL)
        npre++;
    pre[j] = (struct pre){ p, size, NULL };
}

static struct pre *pre_find(const void *p)
{
    if (pre_cap == 0)
        return NULL;
    size_t j = pre_slot(p, pre_cap);
    while (pre[j].p != NULL) {
        if (pre[j].p == p)
            return &pre[j];
        j = (j + 1) & (pre_cap - 1);
    }
    return NULL;
}

/* Before the snapshot: forget a freed block (open addressing: the run
 * after it is re-inserted). After: whether it is one. */
bool weftcc_pre_known(void *p, bool freed)
{
    struct pre *e = p != NULL ? pre_find(p) : NULL;
    if (e == NULL)
        return false;
    if (!freed || weftcc_snapshot_on)
        return true;
    e->p = NULL;
    npre--;
    size_t j = (size_t)(e - pre);
    for (j = (j + 1) & (pre_cap - 1); pre[j].p != NULL;
         j = (j + 1) & (pre_cap - 1)) {
        struct pre x = pre[j];
        pre[j].p = NULL;
        npre--;
        weftcc_pre_add(x.p, x.size);
    }
    return true;
}

size_t weftcc_pre_size(const void *p)
{
    struct pre *e = pre_find(p);
    return e != NULL ? e->size : 0;
}

/* ------------------------------------------------ files and descriptors */

#define FD_BASE 1000 /* weft's own long-lived descriptors live above */
static unsigned char fd_open[FD_BASE / 8]; /* open at the snapshot */
static int fd_max;                         /* highest open then */
static bool fds_dirty;
static FILE **files;
static unsigned nfiles, files_cap;
static int cwd_fd = -1;
static bool cwd_dirty;
static mode_t umask_was;
static bool umask_dirty;

/* Internal calls go straight to the kernel: this file's interposers
 * below would take weft's own work for the program's. */
static int sys_close(int fd)
{
    return (int)syscall(SYS_close, fd);
}

static int sys_fcntl(int fd, int cmd, long arg)
{
    return (int)syscall(SYS_fcntl, fd, cmd, arg);
}

static bool fd_in_snapshot(int fd)
{
    return fd >= 0 && fd < FD_BASE && (fd_open[fd / 8] >> (fd % 8) & 1);
}

int weftcc_fd_high(int fd)
{
    if (fd < 0 || fd >= FD_BASE)
        return fd;
    int h = sys_fcntl(fd, F_DUPFD_CLOEXEC, FD_BASE);
    if (h < 0)
        return fd;
    sys_close(fd);
    return h;
}

static void fds_snapshot(void)
{
    fd_max = -1;
    memset(fd_open, 0, sizeof fd_open);
    for (int fd = 0; fd < FD_BASE; fd++)
        if (sys_fcntl(fd, F_GETFD, 0) >= 0) {
            fd_open[fd / 8] |= (unsigned char)(1u << (fd % 8));
            fd_max = fd;
        }
}

static void fds_restore(void)
{
    for (unsigned i = nfiles; i-- > 0;)
        if (files[i] != NULL)
            weftcc_real_fclose(files[i]);
    nfiles = 0;
    if (!fds_dirty)
        return;
    fds_dirty = false;
    /* Everything below FD_BASE the snapshot did not have: a few calls. */
    for (int fd = 0; fd < FD_BASE;) {
        if (fd_in_snapshot(fd)) {
            fd++;
            continue;
        }
        int last = fd;
        while (last + 1 < FD_BASE && !fd_in_snapshot(last + 1))
            last++;
        if (syscall(SYS_close_range, (unsigned)fd, (unsigned)last, 0) != 0)
            for (int k = fd; k <= last; k++)
                sys_close(k);
        fd = last + 1;
    }
}

static void fd_opened(void)
{
    fds_dirty = true;
}

static void file_opened(FILE *f)
{
    fds_dirty = true;
    if (f == NULL)
        return;
    if (nfiles == files_cap) {
        unsigned cap = files_cap ? 2 * files_cap : 16;
        FILE **t = weftcc_real_realloc(files, cap * sizeof *t);
        if (t == NULL)
            return;
        files = t;
        files_cap = cap;
    }
    files[nfiles++] = f;
}

static void file_closed(FILE *f)
{
    for (unsigned i = 0; i < nfiles; i++)
        if (files[i] == f) {
            files[i] = files[--nfiles];
            return;
        }
}

/* A descriptor the snapshot had, and that the execution changes (other
 * than writing to stdout and stderr): the next execution would not find
 * it as it was. */
static bool fd_shared(int fd, bool write)
{
    if (!fd_in_snapshot(fd))
        return false;
    return !(write && (fd == 1 || fd == 2));
}

static void cwd_changed(void)
{
    cwd_dirty = true;
}

static void umask_changed(mode_t old)
{
    if (!umask_dirty)
        umask_was = old;
    umask_dirty = true;
}

/* ------------------------------------------------------- atexit, signals */

struct handler {
    int kind; /* 0: atexit, 1: on_exit, 2: __cxa_atexit */
    void (*fn)(void);
    void (*fn2)(int, void *);
    void (*fn3)(void *);
    void *arg;
};
static struct handler *handlers;
static unsigned nhandlers, handlers_cap;

static int atexit_add(int kind, void *fn, void *arg)
{
    if (nhandlers == handlers_cap) {
        unsigned cap = handlers_cap ? 2 * handlers_cap : 16;
        struct handler *t = weftcc_real_realloc(handlers, cap * sizeof *t);
        if (t == NULL)
            return -1;
        handlers = t;
        handlers_cap = cap;
    }
    struct handler *h = &handlers[nhandlers++];
    memset(h, 0, sizeof *h);
    h->kind = kind;
    h->arg = arg;
    if (kind == 0)
        h->fn = (void (*)(void))fn;
    else if (kind == 1)
        h->fn2 = (void (*)(int, void *))fn;
    else
        h->fn3 = (void (*)(void *))fn;
    return 0;
}

void weftcc_atexit_run(int status)
{
    while (nhandlers > 0) {
        struct handler h = handlers[--nhandlers];
        if (h.kind == 0)
            h.fn();
        else if (h.kind == 1)
            h.fn2(status, h.arg);
        else
            h.fn3(h.arg);
    }
}

static struct sigaction sig_was[NSIG];
static unsigned char sig_dirty[NSIG];
static bool mask_dirty, any_sig_dirty;

static void sig_changed(int sig, const struct sigaction *old)
{
    if (sig <= 0 || sig >= NSIG || sig_dirty[sig])
        return;
    sig_was[sig] = *old;
    sig_dirty[sig] = 1;
    any_sig_dirty = true;
}

/* The signal mask main started with (all tasks run on one OS thread:
 * a mask one execution set would block signals in the next). */
static uint64_t mask_was;

static void sigs_restore(void)
{
    if (mask_dirty)
        syscall(SYS_rt_sigprocmask, SIG_SETMASK, &mask_was, NULL,
                sizeof mask_was);
    mask_dirty = false;
    if (!any_sig_dirty)
        return;
    any_sig_dirty = false;
    for (int s = 1; s < NSIG; s++)
        if (sig_dirty[s]) {
            weftcc_real_sigaction(s, &sig_was[s], NULL);
            sig_dirty[s] = 0;
        }
}

/* ---------------------------------------------------------- mappings */

/* The private anonymous mappings the program made in this execution, as
 * page ranges: unmapped at the restore, as its heap is emptied. */
static struct span *maps;
static unsigned nmaps, maps_cap;

static uintptr_t page_up(uintptr_t a)
{
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    return (a + pg - 1) & ~(pg - 1);
}

static void maps_add(uintptr_t lo, size_t len)
{
    if (nmaps == maps_cap) {
        unsigned cap = maps_cap ? 2 * maps_cap : 16;
        struct span *m = weftcc_real_realloc(maps, cap * sizeof *m);
        if (m == NULL) {
            weftcc_taint("a mapping weft could not note (out of memory)", NULL);
            return;
        }
        maps = m;
        maps_cap = cap;
    }
    maps[nmaps++] = (struct span){ lo, page_up(lo + len) };
}

/* [lo, lo + len) unmapped: cut out of every noted range. */
static void maps_cut(uintptr_t lo, size_t len)
{
    uintptr_t hi = page_up(lo + len);
    for (unsigned i = 0; i < nmaps; i++) {
        struct span m = maps[i];
        if (hi <= m.lo || lo >= m.hi)
            continue;
        if (lo > m.lo && hi < m.hi) { /* a hole in the middle: two */
            maps[i].hi = lo;
            maps_add(hi, m.hi - hi);
        } else if (lo > m.lo) {
            maps[i].hi = lo;
        } else if (hi < m.hi) {
            maps[i].lo = hi;
        } else {
            maps[i--] = maps[--nmaps];
        }
    }
}

static void maps_restore(void)
{
    for (unsigned i = 0; i < nmaps; i++)
        syscall(SYS_munmap, maps[i].lo, maps[i].hi - maps[i].lo);
    nmaps = 0;
}

/* ---------------------------------------------------------- taint */

void weftcc_taint(const char *what, const void *ra)
{
    if (!weftcc_snapshot_on || weft__stop_why != NULL)
        return;
    char site[200] = "";
    int line = weftcc_pc_line(ra);
    if (line != 0 && weft__pc_site_fmt != NULL)
        snprintf(site, sizeof site, " at %s", weft__pc_site_fmt(line));
    if (!weftcc_sh->tainted) {
        snprintf(weftcc_sh->taint_what, sizeof weftcc_sh->taint_what, "%s%s",
                 what, site);
        weftcc_sh->tainted = 1;
    }
    weft__stop_why = "an execution did what a snapshot cannot undo";
}

/* ---------------------------------------------------------- the snapshot */

int weftcc_snapshot_take(char *why, size_t len)
{
    if (arena_init() != 0) {
        snprintf(why, len, "cannot reserve the heap arena: %s",
                 strerror(errno));
        return -1;
    }
    int rc = 0;
    dl_iterate_phdr(segments_cb, &rc);
    if (rc != 0) {
        snprintf(why, len, "out of memory");
        return -1;
    }
    for (unsigned i = 0; i < nregions; i++) {
        regions[i].copy = weftcc_real_malloc(regions[i].len);
        if (regions[i].copy == NULL) {
            snprintf(why, len, "out of memory");
            return -1;
        }
        memcpy(regions[i].copy, regions[i].lo, regions[i].len);
    }
    for (size_t i = 0; i < pre_cap; i++)
        if (pre[i].p != NULL) {
            pre[i].copy = weftcc_real_malloc(pre[i].size ? pre[i].size : 1);
            if (pre[i].copy == NULL) {
                snprintf(why, len, "out of memory");
                return -1;
            }
            memcpy(pre[i].copy, pre[i].p, pre[i].size);
        }
    fflush(NULL);
    fds_snapshot();
    cwd_fd = weftcc_fd_high((int)syscall(SYS_openat, AT_FDCWD, ".",
                                         O_PATH | O_DIRECTORY | O_CLOEXEC, 0));
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &mask_was, sizeof mask_was);
    umask_was = (mode_t)syscall(SYS_umask, 022);
    syscall(SYS_umask, umask_was);
    weftcc_snapshot_on = true;
    return 0;
}

size_t weftcc_snapshot_size(void)
{
    size_t n = snapshot_bytes;
    for (size_t i = 0; i < pre_cap; i++)
        if (pre[i].p != NULL)
            n += pre[i].size;
    return n;
}

/* rand(), random(), drand48(): glibc's generators, with their state here,
 * set back to a fresh process's at every execution. */
static int32_t rnd_state[34];
static int rnd_f, rnd_r;
static unsigned short d48[3];
static bool rnd_seeded, d48_seeded;
static uint64_t getrandom_ctr;

static long random_next(void);

static void srandom_seed(unsigned seed)
{
    /* glibc's TYPE_3 additive generator: Park-Miller seeding, then 310
     * outputs dropped (srandom_r) */
    int32_t word = (int32_t)(seed == 0 ? 1 : seed);
    rnd_state[0] = word;
    for (int i = 1; i < 31; i++) {
        long hi = word / 127773, lo = word % 127773;
        word = (int32_t)(16807 * lo - 2836 * hi);
        if (word < 0)
            word += 2147483647;
        rnd_state[i] = word;
    }
    rnd_f = 3;
    rnd_r = 0;
    rnd_seeded = true;
    for (int i = 0; i < 310; i++)
        (void)random_next();
}

static long random_next(void)
{
    if (!rnd_seeded)
        srandom_seed(1);
    uint32_t v = (uint32_t)rnd_state[rnd_f] + (uint32_t)rnd_state[rnd_r];
    rnd_state[rnd_f] = (int32_t)v;
    long result = v >> 1;
    if (++rnd_f >= 31) {
        rnd_f = 0;
        ++rnd_r;
    } else if (++rnd_r >= 31) {
        rnd_r = 0;
    }
    return result;
}

/* drand48's 48-bit linear congruence: X = (a X + c) mod 2^48, with
 * glibc's initial X, 0x1234abcd330e, until srand48 sets it. */
static uint64_t d48_next(void)
{
    if (!d48_seeded) {
        d48[0] = 0x330e;
        d48[1] = 0xabcd;
        d48[2] = 0x1234;
        d48_seeded = true;
    }
    uint64_t x = (uint64_t)d48[2] << 32 | (uint64_t)d48[1] << 16 | d48[0];
    x = (0x5deece66dULL * x + 0xb) & ((1ULL << 48) - 1);
    d48[0] = (unsigned short)x;
    d48[1] = (unsigned short)(x >> 16);
    d48[2] = (unsigned short)(x >> 32);
    return x;
}

static void srand48_seed(long seed)
{
    d48[0] = 0x330e;
    d48[1] = (unsigned short)seed;
    d48[2] = (unsigned short)((unsigned long)seed >> 16);
    d48_seeded = true;
}

static void random_bytes(void *buf, size_t n)
{
    unsigned char *b = buf;
    /* the same bytes in every execution: a systematic search replays
     * prefixes, which must run the same (so not drawn from the seed) */
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = weft__mix(++getrandom_ctr ^ 0x6a09e667f3bcc909ULL);
        memcpy(b + i, &v, n - i < 8 ? n - i : 8);
    }
}

/* At the start of every execution, in every mode: the generators above
 * start as a fresh process's (a fork child's is fresh anyway). */
void weftcc_execution_start(void)
{
    rnd_seeded = d48_seeded = false;
    getrandom_ctr = 0;
}

void weftcc_snapshot_restore(void)
{
    if (!weftcc_snapshot_on)
        return;
    fflush(NULL);
    fds_restore();
    sigs_restore();
    if (cwd_dirty && cwd_fd >= 0) {
        syscall(SYS_fchdir, cwd_fd);
        cwd_dirty = false;
    }
    if (umask_dirty) {
        syscall(SYS_umask, umask_was);
        umask_dirty = false;
    }
    nhandlers = 0;
    for (unsigned i = 0; i < nregions; i++)
        memcpy(regions[i].lo, regions[i].copy, regions[i].len);
    for (size_t i = 0; i < pre_cap; i++)
        if (pre[i].p != NULL)
            memcpy(pre[i].p, pre[i].copy, pre[i].size);
    arena_reset();
    maps_restore();
}

/* =================================================== the interposers */

#define RA __builtin_return_address(0)

int weftcc_real_sigaction(int sig, const struct sigaction *a,
                          struct sigaction *old)
{
    PASS(sigaction, sig, a, old);
}

int weftcc_real_fclose(FILE *f)
{
    PASS(fclose, f);
}

/* In an execution of the snapshot engine, called by the program (weft's
 * own calls, like the symbolizer's pipes and processes, pass through). */
static inline bool snap(const void *ra)
{
    return weftcc_snapshot_on && weft_running() && !weftcc_own_code(ra);
}

/* ---------------------------------------------------- numbers drawn */

int rand(void)
{
    if (!weft_running())
        PASS(rand);
    return (int)random_next();
}

void srand(unsigned seed)
{
    if (!weft_running())
        PASS(srand, seed);
    srandom_seed(seed);
}

long random(void)
{
    if (!weft_running())
        PASS(random);
    return random_next();
}

void srandom(unsigned seed)
{
    if (!weft_running())
        PASS(srandom, seed);
    srandom_seed(seed);
}

double drand48(void)
{
    if (!weft_running())
        PASS(drand48);
    return (double)d48_next() / (double)(1ULL << 48);
}

long lrand48(void)
{
    if (!weft_running())
        PASS(lrand48);
    return (long)(d48_next() >> 17);
}

long mrand48(void)
{
    if (!weft_running())
        PASS(mrand48);
    return (long)(int32_t)(d48_next() >> 16);
}

void srand48(long seed)
{
    if (!weft_running())
        PASS(srand48, seed);
    srand48_seed(seed);
}

/* The same bytes in every execution: nothing nondeterministic may reach
 * the program from outside weft. */
ssize_t getrandom(void *buf, size_t n, unsigned flags)
{
    if (!weft_running())
        PASS(getrandom, buf, n, flags);
    random_bytes(buf, n);
    return (ssize_t)n;
}

int getentropy(void *buf, size_t n)
{
    if (!weft_running())
        PASS(getentropy, buf, n);
    if (n > 256) {
        errno = EIO;
        return -1;
    }
    random_bytes(buf, n);
    return 0;
}

/* -------------------------------------------------- files and descriptors */

/* The mode argument of open and openat, when the flags say there is one. */
#define OPEN_MODE(flags, mode)                 \
    do {                                       \
        if ((flags) & (O_CREAT | O_TMPFILE)) { \
            va_list ap_;                       \
            va_start(ap_, flags);              \
            mode = (mode_t)va_arg(ap_, int);   \
            va_end(ap_);                       \
        }                                      \
    } while (0)

static int open_for(const char *path, int flags, mode_t mode, const void *ra)
{
    static int (*real_)(const char *, int, ...);
    if (real_ == NULL)
        real_ = (int (*)(const char *, int, ...))weftcc_real("open");
    if (snap(ra))
        fd_opened();
    return real_(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    OPEN_MODE(flags, mode);
    return open_for(path, flags, mode, RA);
}

int open64(const char *path, int flags, ...)
{
    mode_t mode = 0;
    OPEN_MODE(flags, mode);
    return open_for(path, flags, mode, RA);
}

int openat(int dir, const char *path, int flags, ...)
{
    static int (*real_)(int, const char *, int, ...);
    mode_t mode = 0;
    OPEN_MODE(flags, mode);
    if (real_ == NULL)
        real_ = (int (*)(int, const char *, int, ...))weftcc_real("openat");
    if (snap(RA))
        fd_opened();
    return real_(dir, path, flags, mode);
}

int creat(const char *path, mode_t mode)
{
    if (snap(RA))
        fd_opened();
    PASS(creat, path, mode);
}

int socket(int domain, int type, int protocol)
{
    if (snap(RA))
        fd_opened();
    PASS(socket, domain, type, protocol);
}

int socketpair(int domain, int type, int protocol, int sv[2])
{
    if (snap(RA))
        fd_opened();
    PASS(socketpair, domain, type, protocol, sv);
}

int pipe(int fds[2])
{
    if (snap(RA))
        fd_opened();
    PASS(pipe, fds);
}

int pipe2(int fds[2], int flags)
{
    if (snap(RA))
        fd_opened();
    PASS(pipe2, fds, flags);
}

int dup(int fd)
{
    if (snap(RA))
        fd_opened();
    PASS(dup, fd);
}

int dup2(int fd, int to)
{
    if (snap(RA)) {
        fd_opened();
        if (fd_shared(to, false))
            weftcc_taint("dup2 onto a file descriptor open before main", RA);
    }
    PASS(dup2, fd, to);
}

int dup3(int fd, int to, int flags)
{
    if (snap(RA)) {
        fd_opened();
        if (fd_shared(to, false))
            weftcc_taint("dup3 onto a file descriptor open before main", RA);
    }
    PASS(dup3, fd, to, flags);
}

int accept(int fd, struct sockaddr *a, socklen_t *len)
{
    if (snap(RA))
        fd_opened();
    PASS(accept, fd, a, len);
}

int accept4(int fd, struct sockaddr *a, socklen_t *len, int flags)
{
    if (snap(RA))
        fd_opened();
    PASS(accept4, fd, a, len, flags);
}

int close(int fd)
{
    if (snap(RA) && fd_shared(fd, false))
        weftcc_taint("close of a file descriptor open before main", RA);
    PASS(close, fd);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    if (snap(RA) && fd_shared(fd, true))
        weftcc_taint("a write to a file descriptor open before main", RA);
    PASS(write, fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    if (snap(RA) && fd_shared(fd, true))
        weftcc_taint("a write to a file descriptor open before main", RA);
    PASS(pwrite, fd, buf, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    if (snap(RA) && fd_shared(fd, true))
        weftcc_taint("a write to a file descriptor open before main", RA);
    PASS(writev, fd, iov, n);
}

FILE *fopen(const char *path, const char *mode)
{
    static __typeof__(&fopen) real_;
    if (real_ == NULL)
        real_ = (__typeof__(&fopen))weftcc_real("fopen");
    FILE *f = real_(path, mode);
    if (snap(RA))
        file_opened(f);
    return f;
}

FILE *fopen64(const char *path, const char *mode)
{
    static __typeof__(&fopen) real_;
    if (real_ == NULL)
        real_ = (__typeof__(&fopen))weftcc_real("fopen64");
    FILE *f = real_(path, mode);
    if (snap(RA))
        file_opened(f);
    return f;
}

FILE *fdopen(int fd, const char *mode)
{
    static __typeof__(&fdopen) real_;
    if (real_ == NULL)
        real_ = (__typeof__(&fdopen))weftcc_real("fdopen");
    FILE *f = real_(fd, mode);
    if (snap(RA))
        file_opened(f);
    return f;
}

FILE *tmpfile(void)
{
    static __typeof__(&tmpfile) real_;
    if (real_ == NULL)
        real_ = (__typeof__(&tmpfile))weftcc_real("tmpfile");
    FILE *f = real_();
    if (snap(RA))
        file_opened(f);
    return f;
}

FILE *fmemopen(void *buf, size_t size, const char *mode)
{
    static __typeof__(&fmemopen) real_;
    if (real_ == NULL)
        real_ = (__typeof__(&fmemopen))weftcc_real("fmemopen");
    FILE *f = real_(buf, size, mode);
    if (snap(RA))
        file_opened(f);
    return f;
}

FILE *open_memstream(char **buf, size_t *size)
{
    static __typeof__(&open_memstream) real_;
    if (real_ == NULL)
        real_ = (__typeof__(&open_memstream))weftcc_real("open_memstream");
    FILE *f = real_(buf, size);
    if (snap(RA))
        file_opened(f);
    return f;
}

FILE *freopen(const char *path, const char *mode, FILE *f)
{
    if (snap(RA) && (f == stdin || f == stdout || f == stderr))
        weftcc_taint("freopen of a standard stream", RA);
    PASS(freopen, path, mode, f);
}

int fclose(FILE *f)
{
    if (snap(RA))
        file_closed(f);
    PASS(fclose, f);
}

/* ------------------------------------------------- process and environment */

pid_t fork(void)
{
    if (snap(RA))
        weftcc_taint("fork", RA);
    PASS(fork);
}

pid_t vfork(void)
{
    /* vfork's child would share the explorer's memory: a fork is safe */
    if (snap(RA))
        weftcc_taint("vfork", RA);
    PASS(fork);
}

int system(const char *cmd)
{
    if (snap(RA))
        weftcc_taint("system", RA);
    PASS(system, cmd);
}

FILE *popen(const char *cmd, const char *mode)
{
    if (snap(RA))
        weftcc_taint("popen", RA);
    PASS(popen, cmd, mode);
}

/* An exec would replace the explorer: the execution is abandoned here
 * and run again, from the start, in a forked process. */
#define EXEC_GUARD(name)                   \
    do {                                   \
        if (snap(RA)) {                    \
            weftcc_taint(name, RA);        \
            weftcc_sh->taint_abandons = 1; \
            weft__abandon(weft__current);  \
        }                                  \
    } while (0)

int execve(const char *path, char *const argv[], char *const envp[])
{
    EXEC_GUARD("execve");
    PASS(execve, path, argv, envp);
}

int execv(const char *path, char *const argv[])
{
    EXEC_GUARD("execv");
    PASS(execv, path, argv);
}

int execvp(const char *file, char *const argv[])
{
    EXEC_GUARD("execvp");
    PASS(execvp, file, argv);
}

int execvpe(const char *file, char *const argv[], char *const envp[])
{
    EXEC_GUARD("execvpe");
    PASS(execvpe, file, argv, envp);
}

int fexecve(int fd, char *const argv[], char *const envp[])
{
    EXEC_GUARD("fexecve");
    PASS(fexecve, fd, argv, envp);
}

void *dlopen(const char *file, int mode)
{
    if (snap(RA))
        weftcc_taint("dlopen", RA);
    static __typeof__(&dlopen) real_;
    if (real_ == NULL)
        real_ = (__typeof__(&dlopen))weftcc_real("dlopen");
    void *h = real_(file, mode);
    /* a library with static TLS: every task's block gets its image */
    if (weft__per_task_tls)
        weft__tls_sync();
    return h;
}

int setenv(const char *name, const char *value, int overwrite)
{
    if (snap(RA))
        weftcc_taint("setenv", RA);
    PASS(setenv, name, value, overwrite);
}

int unsetenv(const char *name)
{
    if (snap(RA))
        weftcc_taint("unsetenv", RA);
    PASS(unsetenv, name);
}

int putenv(char *s)
{
    if (snap(RA))
        weftcc_taint("putenv", RA);
    PASS(putenv, s);
}

int clearenv(void)
{
    if (snap(RA))
        weftcc_taint("clearenv", RA);
    PASS(clearenv);
}

int setrlimit(__rlimit_resource_t res, const struct rlimit *r)
{
    if (snap(RA))
        weftcc_taint("setrlimit", RA);
    PASS(setrlimit, res, r);
}

int chdir(const char *path)
{
    if (snap(RA))
        cwd_changed();
    PASS(chdir, path);
}

int fchdir(int fd)
{
    if (snap(RA))
        cwd_changed();
    PASS(fchdir, fd);
}

mode_t umask(mode_t mask)
{
    static __typeof__(&umask) real_;
    if (real_ == NULL)
        real_ = (__typeof__(&umask))weftcc_real("umask");
    mode_t old = real_(mask);
    if (snap(RA))
        umask_changed(old);
    return old;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    static __typeof__(&mmap) real_;
    if (real_ == NULL)
        real_ = (__typeof__(&mmap))weftcc_real("mmap");
    if (!snap(RA))
        return real_(addr, len, prot, flags, fd, off);
    if (fd >= 0 || (flags & MAP_SHARED))
        weftcc_taint("mmap of a file or of shared memory", RA);
    else if (flags & MAP_FIXED)
        weftcc_taint("mmap at a fixed address", RA);
    void *m = real_(addr, len, prot, flags, fd, off);
    if (m != MAP_FAILED && fd < 0 && !(flags & (MAP_SHARED | MAP_FIXED)))
        maps_add((uintptr_t)m, len);
    return m;
}

int munmap(void *addr, size_t len)
{
    if (weftcc_snapshot_on && weft_running())
        maps_cut((uintptr_t)addr, len);
    PASS(munmap, addr, len);
}

void *mremap(void *old, size_t old_len, size_t len, int flags, ...);
void *mremap(void *old, size_t old_len, size_t len, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    void *to = (flags & MREMAP_FIXED) ? va_arg(ap, void *) : NULL;
    va_end(ap);
    if (snap(RA))
        weftcc_taint("mremap", RA);
    return (void *)syscall(SYS_mremap, old, old_len, len, flags, to);
}

int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
    if (set != NULL && snap(RA))
        mask_dirty = true;
    PASS(sigprocmask, how, set, old);
}

int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    if (set != NULL && snap(RA))
        mask_dirty = true;
    PASS(pthread_sigmask, how, set, old);
}

int sigaction(int sig, const struct sigaction *a, struct sigaction *old)
{
    if (snap(RA) && a != NULL) {
        struct sigaction was;
        if (weftcc_real_sigaction(sig, NULL, &was) == 0)
            sig_changed(sig, &was);
    }
    return weftcc_real_sigaction(sig, a, old);
}

sighandler_t signal(int sig, sighandler_t h)
{
    if (snap(RA)) {
        struct sigaction was;
        if (weftcc_real_sigaction(sig, NULL, &was) == 0)
            sig_changed(sig, &was);
    }
    PASS(signal, sig, h);
}

/* ---------------------------------------------------------------- atexit */

int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);

/* glibc's atexit lives in libc_nonshared.a and calls __cxa_atexit. */
int atexit(void (*fn)(void))
{
    if (snap(RA))
        return atexit_add(0, (void *)fn, NULL) == 0 ? 0 : -1;
    static __typeof__(&__cxa_atexit) real_;
    if (real_ == NULL)
        real_ = (__typeof__(&__cxa_atexit))weftcc_real("__cxa_atexit");
    return real_((void (*)(void *))(void (*)(void))fn, NULL, NULL);
}

int on_exit(void (*fn)(int, void *), void *arg)
{
    if (snap(RA))
        return atexit_add(1, (void *)fn, arg) == 0 ? 0 : -1;
    PASS(on_exit, fn, arg);
}

int __cxa_atexit(void (*fn)(void *), void *arg, void *dso)
{
    if (snap(RA))
        return atexit_add(2, (void *)fn, arg) == 0 ? 0 : -1;
    PASS(__cxa_atexit, fn, arg, dso);
}

/* --------------------------------------- libweft's own calls (see weftcc.h) */

int weftcc_real_atexit(void (*fn)(void));
int weftcc_real_atexit(void (*fn)(void))
{
    static __typeof__(&__cxa_atexit) real_;
    if (real_ == NULL)
        real_ = (__typeof__(&__cxa_atexit))weftcc_real("__cxa_atexit");
    return real_((void (*)(void *))(void (*)(void))fn, NULL, NULL);
}

int weftcc_real_close(int fd);
int weftcc_real_close(int fd)
{
    PASS(close, fd);
}

FILE *weftcc_real_fopen(const char *path, const char *mode);
FILE *weftcc_real_fopen(const char *path, const char *mode)
{
    PASS(fopen, path, mode);
}

FILE *weftcc_real_fdopen(int fd, const char *mode);
FILE *weftcc_real_fdopen(int fd, const char *mode)
{
    PASS(fdopen, fd, mode);
}

ssize_t weftcc_real_write(int fd, const void *buf, size_t n);
ssize_t weftcc_real_write(int fd, const void *buf, size_t n)
{
    PASS(write, fd, buf, n);
}

int weftcc_real_pipe(int fds[2]);
int weftcc_real_pipe(int fds[2])
{
    PASS(pipe, fds);
}

int weftcc_real_pipe2(int fds[2], int flags);
int weftcc_real_pipe2(int fds[2], int flags)
{
    PASS(pipe2, fds, flags);
}

int weftcc_real_sigprocmask(int how, const sigset_t *set, sigset_t *old);
int weftcc_real_sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
    PASS(sigprocmask, how, set, old);
}

int weftcc_real_pthread_sigmask(int how, const sigset_t *set, sigset_t *old);
int weftcc_real_pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    PASS(pthread_sigmask, how, set, old);
}

pid_t weftcc_real_fork(void);
pid_t weftcc_real_fork(void)
{
    PASS(fork);
}

void *weftcc_real_mmap(void *addr, size_t len, int prot, int flags, int fd,
                       off_t off);
void *weftcc_real_mmap(void *addr, size_t len, int prot, int flags, int fd,
                       off_t off)
{
    PASS(mmap, addr, len, prot, flags, fd, off);
}

int weftcc_real_munmap(void *addr, size_t len);
int weftcc_real_munmap(void *addr, size_t len)
{
    PASS(munmap, addr, len);
}

int weftcc_real_open(const char *path, int flags, ...);
int weftcc_real_open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    OPEN_MODE(flags, mode);
    /* weft's own call: an address in weft's code */
    return open_for(path, flags, mode, (const void *)weftcc_real_open);
}

int weftcc_real_setenv(const char *name, const char *value, int overwrite);
int weftcc_real_setenv(const char *name, const char *value, int overwrite)
{
    PASS(setenv, name, value, overwrite);
}

sighandler_t weftcc_real_signal(int sig, sighandler_t h);
sighandler_t weftcc_real_signal(int sig, sighandler_t h)
{
    PASS(signal, sig, h);
}
