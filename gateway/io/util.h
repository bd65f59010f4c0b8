/*
 * util.h — small pieces the gateway, simulator and cli share.
 */
#ifndef DG_UTIL_H
#define DG_UTIL_H

#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* protobuf-c allocator backed by dg_malloc/dg_free (counted, injectable). */
extern ProtobufCAllocator dg_pb_allocator;

/* Wall clock, UTC milliseconds since the Unix epoch. */
uint64_t dg_wall_ms(void);

#endif
