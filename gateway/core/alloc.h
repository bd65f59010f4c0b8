/*
 * alloc.h — the one allocator every dosegate module uses (and hands to
 * protobuf-c), so tests can count allocations and inject failures.
 *
 * Thread-safe: counters are atomics, so the Paho bridge may allocate on Paho's
 * threads. Failure injection is for single-threaded unit tests.
 */
#ifndef DG_ALLOC_H
#define DG_ALLOC_H

#include <stddef.h>
#include <stdint.h>

/* Return NULL on failure (or injected failure); dg_free(NULL) is a no-op. */
void *dg_malloc(size_t n);
void *dg_calloc(size_t count, size_t n);
void *dg_realloc(void *p, size_t n);
void dg_free(void *p);
/* Copy of s in dg_malloc'd memory (caller frees), or NULL. */
char *dg_strdup(const char *s);

/* Live allocations (malloc - free) since start: leak checks in tests. */
int64_t dg_alloc_live(void);
/* Fail the n-th allocation from now (1 = the next one); 0 disables. */
void dg_alloc_fail_after(uint64_t n);

#endif
