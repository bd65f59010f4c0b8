/*
 * throttle.h — a token bucket per device, so one device flooding the broker
 * cannot starve the loop or the others (verification.md, "message flood").
 *
 * Each device may send rate_per_s messages a second on average, with bursts
 * of burst_s seconds' worth. A message beyond that is throttled (the caller
 * drops it, counts it, and on the first one of an episode raises an alert
 * and audits a security event). Telemetry is cumulative, so a dropped
 * message hides no dose. Loop thread only.
 *
 * A reconnect is not a flood. While the gateway (or its device link) was
 * away, the broker queued what every device sent, and delivers it in one
 * burst on return. A device within its rate sent at most rate x away
 * messages meanwhile, so dg_throttle_backlog() gives every bucket that much
 * extra credit (at most DG_THROTTLE_BACKLOG_MAX_S of rate), usable for a
 * while after the reconnect (DG_THROTTLE_BACKLOG_WINDOW_MS plus a tenth of
 * the time away); credit left after that is dropped. A device that sends
 * faster than its rate still empties its bucket and is throttled.
 */
#ifndef DG_THROTTLE_H
#define DG_THROTTLE_H

#include <stdint.h>

typedef struct dg_throttle dg_throttle;

/* rate_per_s > 0, burst_s > 0. 0 or -DG_ENOMEM. */
int dg_throttle_new(dg_throttle **out, double rate_per_s, double burst_s);
void dg_throttle_free(dg_throttle *t);

/*
 * Take one token for device_id at now_ms (monotonic). Returns 1 when the
 * message may pass, 0 when it is throttled (or -DG_ENOMEM: then it passes
 * unthrottled rather than be lost). *edge is set to +1 when this message
 * starts a flood episode (the first throttled one), -1 when a device that
 * was flooding has a full bucket again (the episode is over), else 0.
 */
int dg_throttle_take(dg_throttle *t, const char *device_id, uint64_t now_ms, int *edge);

#define DG_THROTTLE_BACKLOG_MAX_S     600u   /* credit for at most 10 min away */
#define DG_THROTTLE_BACKLOG_WINDOW_MS 30000u /* and usable this long after the return */

/*
 * The device messages queued while the gateway was away for away_ms are
 * about to arrive (a reconnect at now_ms): give every bucket, and every one
 * made before the window ends, rate x min(away, 600 s) extra tokens.
 */
void dg_throttle_backlog(dg_throttle *t, uint64_t away_ms, uint64_t now_ms);

#endif
