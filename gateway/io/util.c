/*
 * util.c — see util.h.
 */
#include "util.h"

#include <time.h>

#include "../core/alloc.h"

static void *pb_alloc(void *data, size_t n)
{
    (void)data;
    return dg_malloc(n);
}

static void pb_free(void *data, void *p)
{
    (void)data;
    dg_free(p);
}

ProtobufCAllocator dg_pb_allocator = {pb_alloc, pb_free, NULL};

uint64_t dg_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void close_one(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

void dg_uv_close_all(uv_loop_t *loop)
{
    uv_walk(loop, close_one, NULL);
}
