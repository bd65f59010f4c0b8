/*
 * alloc.c — counting allocator with failure injection (see alloc.h).
 */
#include "alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_llong live;
static atomic_ullong fail_countdown;

static int should_fail(void)
{
    unsigned long long n = atomic_load(&fail_countdown);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &n, n - 1)) return n == 1;
    }
    return 0;
}

void *dg_malloc(size_t n)
{
    if (should_fail()) return NULL;
    void *p = malloc(n ? n : 1);
    if (p) atomic_fetch_add(&live, 1);
    return p;
}

void *dg_calloc(size_t count, size_t n)
{
    if (should_fail()) return NULL;
    void *p = calloc(count ? count : 1, n ? n : 1);
    if (p) atomic_fetch_add(&live, 1);
    return p;
}

void *dg_realloc(void *p, size_t n)
{
    if (!p) return dg_malloc(n);
    if (should_fail()) return NULL;
    return realloc(p, n ? n : 1);
}

void dg_free(void *p)
{
    if (!p) return;
    atomic_fetch_sub(&live, 1);
    free(p);
}

char *dg_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = dg_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

int64_t dg_alloc_live(void)
{
    return (int64_t)atomic_load(&live);
}

void dg_alloc_fail_after(uint64_t n)
{
    atomic_store(&fail_countdown, (unsigned long long)n);
}
