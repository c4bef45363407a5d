/*
 * Count heap allocations by interposing the allocator.
 *
 * The executable defines malloc, calloc, realloc, free and the aligned
 * allocators, so every call in the process (Parley, which is linked in
 * statically, as well as libosip2, sofia-sip and libc itself) lands here.
 * Each forwards to glibc's own allocator through its __libc_* entry point
 * and, while counting is switched on, counts the call.
 *
 * The detour costs a shared library one more indirect jump per call (about
 * a nanosecond), which is 5-8% of libosip2's parse time: it makes nearly 200
 * allocations a message. So that the timing does not charge them for the
 * counter, alloc_count_detach() rewrites the GOT entries through which
 * those libraries reach malloc, calloc, realloc and free to point straight
 * at glibc's allocator, once the counting is done.
 */
#include "bench_parse.h"

/* A sanitizer brings its own allocator: leave malloc alone there. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define BENCH_INTERPOSE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||                         \
    __has_feature(memory_sanitizer)
#define BENCH_INTERPOSE 0
#endif
#endif
#ifndef BENCH_INTERPOSE
#define BENCH_INTERPOSE 1
#endif

#include <errno.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* glibc's allocator under its own names (exported by libc.so.6). */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);
extern void *__libc_memalign(size_t align, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

/* Declared here rather than through <malloc.h>, which -std=c11 hides. */
void *memalign(size_t align, size_t size);
void *valloc(size_t size);
void *pvalloc(size_t size);

static bool counting;
static alloc_counts counts;

static inline void count_alloc(size_t size)
{
    if (counting) {
        counts.allocs++;
        counts.bytes += size;
    }
}

void alloc_count_start(void)
{
    counts = (alloc_counts){0, 0, 0};
    counting = true;
}

alloc_counts alloc_count_stop(void)
{
    counting = false;
    return counts;
}

bool alloc_count_available(void)
{
    return BENCH_INTERPOSE;
}

#if BENCH_INTERPOSE

void *malloc(size_t size)
{
    count_alloc(size);
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    count_alloc(n * size);
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    count_alloc(size);
    return __libc_realloc(p, size);
}

void free(void *p)
{
    if (counting && p != NULL)
        counts.frees++;
    __libc_free(p);
}

void *memalign(size_t align, size_t size)
{
    count_alloc(size);
    return __libc_memalign(align, size);
}

void *aligned_alloc(size_t align, size_t size)
{
    count_alloc(size);
    return __libc_memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    count_alloc(size);
    void *p = __libc_memalign(align, size);
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}

void *valloc(size_t size)
{
    count_alloc(size);
    return __libc_valloc(size);
}

void *pvalloc(size_t size)
{
    count_alloc(size);
    return __libc_pvalloc(size);
}

/* ----------------------------------------------------------------- detach */

#if defined(__x86_64__) && defined(__linux__)

static const struct {
    const char *name;
    void *target;
} redirects[] = {
    {"malloc", (void *)__libc_malloc},
    {"calloc", (void *)__libc_calloc},
    {"realloc", (void *)__libc_realloc},
    {"free", (void *)__libc_free},
};

typedef struct detach_ctx {
    const char *const *libs; /* substrings of the objects' file names */
    int patched;
    int failed;
} detach_ctx;

/* Dynamic entries hold addresses, relocated by ld.so on this platform or
 * not: accept both. */
static uintptr_t dyn_addr(const struct dl_phdr_info *info, ElfW(Addr) v)
{
    return v < info->dlpi_addr ? info->dlpi_addr + v : v;
}

static int patch_slot(const struct dl_phdr_info *info, void **slot, void *target)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)slot & ~((uintptr_t)page - 1);
    bool relro = false;

    if (*slot == target)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_GNU_RELRO && (uintptr_t)slot >= lo &&
            (uintptr_t)slot < lo + ph->p_memsz)
            relro = true;
    }
    if (relro && mprotect((void *)a, (size_t)page, PROT_READ | PROT_WRITE) != 0)
        return -1;
    *slot = target;
    if (relro)
        (void)mprotect((void *)a, (size_t)page, PROT_READ);
    return 1;
}

static void patch_relocs(const struct dl_phdr_info *info, const ElfW(Rela) * rel, size_t bytes,
                         const ElfW(Sym) * symtab, const char *strtab, detach_ctx *ctx)
{
    for (size_t i = 0; i < bytes / sizeof *rel; i++) {
        unsigned type = (unsigned)ELF64_R_TYPE(rel[i].r_info);
        if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
            continue;
        const char *name = strtab + symtab[ELF64_R_SYM(rel[i].r_info)].st_name;
        for (size_t k = 0; k < sizeof redirects / sizeof redirects[0]; k++) {
            if (strcmp(name, redirects[k].name) != 0)
                continue;
            void **slot = (void **)(info->dlpi_addr + rel[i].r_offset);
            int rc = patch_slot(info, slot, redirects[k].target);
            if (rc < 0)
                ctx->failed++;
            else
                ctx->patched += rc;
        }
    }
}

static int detach_object(struct dl_phdr_info *info, size_t size, void *data)
{
    detach_ctx *ctx = data;
    bool wanted = false;

    (void)size;
    for (const char *const *l = ctx->libs; *l != NULL; l++)
        if (info->dlpi_name != NULL && strstr(info->dlpi_name, *l) != NULL)
            wanted = true;
    if (!wanted)
        return 0;

    const ElfW(Dyn) *dyn = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    if (dyn == NULL) {
        ctx->failed++;
        return 0;
    }

    const ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    const ElfW(Rela) *jmprel = NULL, *rela = NULL;
    size_t jmprel_size = 0, rela_size = 0;
    bool pltrel_is_rela = true;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_SYMTAB:
            symtab = (const ElfW(Sym) *)dyn_addr(info, dyn->d_un.d_ptr);
            break;
        case DT_STRTAB:
            strtab = (const char *)dyn_addr(info, dyn->d_un.d_ptr);
            break;
        case DT_JMPREL:
            jmprel = (const ElfW(Rela) *)dyn_addr(info, dyn->d_un.d_ptr);
            break;
        case DT_PLTRELSZ:
            jmprel_size = dyn->d_un.d_val;
            break;
        case DT_PLTREL:
            pltrel_is_rela = dyn->d_un.d_val == DT_RELA;
            break;
        case DT_RELA:
            rela = (const ElfW(Rela) *)dyn_addr(info, dyn->d_un.d_ptr);
            break;
        case DT_RELASZ:
            rela_size = dyn->d_un.d_val;
            break;
        default:
            break;
        }
    }
    if (symtab == NULL || strtab == NULL || !pltrel_is_rela) {
        ctx->failed++;
        return 0;
    }
    if (jmprel != NULL)
        patch_relocs(info, jmprel, jmprel_size, symtab, strtab, ctx);
    if (rela != NULL)
        patch_relocs(info, rela, rela_size, symtab, strtab, ctx);
    return 0;
}

int alloc_count_detach(const char *const *libs)
{
    detach_ctx ctx = {libs, 0, 0};
    dl_iterate_phdr(detach_object, &ctx);
    return ctx.failed != 0 ? -1 : ctx.patched;
}

#endif /* __x86_64__ && __linux__ */
#endif /* BENCH_INTERPOSE */

#if !BENCH_INTERPOSE || !(defined(__x86_64__) && defined(__linux__))

int alloc_count_detach(const char *const *libs)
{
    (void)libs;
    return -1;
}

#endif
