/*
 * util.h — small pieces the gateway, simulator and cli share.
 */
#ifndef DG_UTIL_H
#define DG_UTIL_H

#include <stdint.h>

#include <protobuf-c/protobuf-c.h>
#include <uv.h>

/* protobuf-c allocator backed by dg_malloc/dg_free (counted, injectable). */
extern ProtobufCAllocator dg_pb_allocator;

/* Close every handle of loop that is not closing yet (no close callback):
   the last step of a clean stop, after which uv_run returns. */
void dg_uv_close_all(uv_loop_t *loop);

/* Wall clock, UTC milliseconds since the Unix epoch. */
uint64_t dg_wall_ms(void);

#endif
