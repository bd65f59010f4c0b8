/*
 * gateway.h — the I/O shell that runs the interlock core: one libuv loop,
 * the device and clinic links, decoding, publishing, status and audit.
 */
#ifndef DG_GATEWAY_H
#define DG_GATEWAY_H

#include "config.h"

/*
 * Run the gateway with a loaded, validated configuration until SIGINT or
 * SIGTERM, then shut down cleanly: offline status published, backlog given
 * a few seconds to drain, links closed, every libuv handle closed.
 * Returns the process exit code (0 on a clean stop).
 */
int dg_gateway_run(const struct dg_config *cfg);

#endif
