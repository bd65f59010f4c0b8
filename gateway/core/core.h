/*
 * core.h — the pure interlock core: per-pump and per-bed state, the rules of
 * the drug library, and the alert lifecycle.
 *
 * Pure: libc only, no I/O, no clock reads, no globals. Every input is a plain
 * struct (types.h) plus the current time, passed in; every decision leaves
 * through the sink (alerts, bed alarm snapshots, pump commands, audit
 * events), synchronously, inside the call that caused it. Single-threaded:
 * one core belongs to one thread (the gateway's loop thread).
 *
 * Rules: every rule of contract.md, driven by the drug library
 * (docs/rules.md): pre-start checks, drug limits while running, vital
 * signs with tiers and condition delays, liveness, command-not-honoured,
 * dose discrepancy, clock skew, and permit-to-infuse.
 *
 * Alert identity is (bed, condition, source device): one alert with a stable
 * id for as long as the condition lasts, never one alert per message.
 */
#ifndef DG_CORE_H
#define DG_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "druglib.h"
#include "types.h"

typedef struct dg_core dg_core;

/* Time as the shell sees it when it calls the core. */
struct dg_now {
    uint64_t mono_ms; /* gateway monotonic clock: liveness */
    uint64_t wall_ms; /* gateway wall clock, UTC ms: stamps on outputs */
};

struct dg_core_config {
    const char *gateway_id;
    /* Prefix making alert and command ids unique across gateway runs, e.g.
       the start time in base 36. Copied. */
    const char *id_prefix;
    /* The drug library; borrowed, must outlive the core. */
    const struct dg_druglib *druglib;
    /* Send permits-to-infuse to running pumps (site setting). */
    bool permit_to_infuse;
    /* How much faster than real time device clocks run (simulators only;
       1 = real devices). Above 1 the clock-skew rule judges only a device's
       first message. The gateway's own timeline runs this fast too, so
       device clocks and it can be compared (docs/rules.md, "Time"). */
    double device_time_scale;
};

struct dg_core_stats {
    uint32_t pumps;
    uint32_t monitors;
    uint32_t beds;
    uint32_t active_alerts;
    uint64_t duplicates; /* messages dropped as already processed (all reasons) */
    /* ... by reason (enum dg_dup_reason) */
    uint64_t dup_repeated, dup_backwards, dup_stale_incarnation;
    uint64_t seq_gaps;    /* sequence gaps seen */
    uint64_t seq_missing; /* messages missing in them */
    uint64_t reboots;     /* new incarnations of known devices */
    uint64_t clock_jumps; /* device-time steps judged as jumps */
};

/* Why a device message was not processed as new (dg_core_note). */
enum dg_dup_reason {
    DG_DUP_NONE = 0,
    DG_DUP_REPEATED = 1,          /* seq equal to the last one of its incarnation */
    DG_DUP_BACKWARDS = 2,         /* seq below the last one of its incarnation */
    DG_DUP_STALE_INCARNATION = 3, /* an incarnation the device has since left */
};

/* What the last dg_core_telemetry / dg_core_vitals call saw, for the
   shell's logs (the core has already counted and audited it). */
struct dg_input_note {
    enum dg_dup_reason dup;
    uint64_t last_seq;    /* the device's last seq in that incarnation */
    uint64_t gap_missing; /* messages missing before this one (0 = none) */
    bool reboot;          /* first message of a new incarnation */
    int64_t jump_ms;      /* device-time jump judged on this message (0 = none) */
};

/* The note of the last device message fed to the core. */
const struct dg_input_note *dg_core_note(const dg_core *core);
/* Short name of a duplicate reason: "none", "repeated", "backwards", "stale_incarnation". */
const char *dg_dup_reason_name(enum dg_dup_reason r);

/* Create a core; *out owned by the caller (dg_core_free). 0 or -DG_ENOMEM. */
int dg_core_new(dg_core **out, const struct dg_core_config *cfg, const struct dg_sink *sink);
void dg_core_free(dg_core *core);

/*
 * Feed one validated message. Returns 0 when processed, -DG_EDUP when it was
 * already processed (same device and incarnation, sequence number not newer,
 * or an incarnation the device has left: dg_core_note() says which; the
 * core has counted and audited it),
 * -DG_ENOMEM when state could not grow: the message is then not recorded as
 * processed (some of its effects may already have gone out), so a
 * redelivery is processed again; the caller must count and audit it.
 */
int dg_core_telemetry(dg_core *core, const struct dg_telemetry *t, struct dg_now now);
int dg_core_vitals(dg_core *core, const struct dg_vitals *v, struct dg_now now);
/*
 * An acknowledgement from a dashboard. Returns 0, -DG_ENOTFOUND for an alert
 * that is not active, -DG_EDUP for an ack_id already seen.
 */
int dg_core_ack(dg_core *core, const struct dg_ack *a, struct dg_now now);

/*
 * The passage of time: liveness (silent pumps and monitors, stale NIBP),
 * command-not-honoured, and permits. Call it about every 250 ms. Returns 0,
 * or -DG_ENOMEM when an alert could not be raised (the next tick tries
 * again; the caller logs it).
 */
int dg_core_tick(dg_core *core, struct dg_now now);

void dg_core_stats(const dg_core *core, struct dg_core_stats *out);

/*
 * A condition of the gateway itself (e.g. "state-store": the state store
 * cannot write; "flood": a device floods), as a high technical alert on the
 * pseudo-bed named after the gateway id, so dashboards see it with every
 * other alert; source is the device concerned (NULL = the gateway). message
 * NULL clears it. Returns 0 or -DG_ENOMEM.
 */
int dg_core_gateway_alert(dg_core *core, const char *condition, const char *source,
                          const char *message, struct dg_now now);

/*
 * The whole interlock state (pump sessions and doses, patient histories,
 * bed vitals, active alerts and latches) as one blob, for the state store.
 * dg_core_save: *out is dg_malloc'd (caller frees); 0 or -DG_ENOMEM.
 * dg_core_load: replaces the state of core with the blob's, re-basing
 * monotonic-clock times on now; 0, -DG_EINVAL for a blob of another format
 * or layout or a damaged one (core unchanged), -DG_ENOMEM.
 */
int dg_core_save(const dg_core *core, uint8_t **out, size_t *len);
/* The gateway wall clock (UTC ms) when the state dg_core_load() read was
   saved: how long the gateway was away, for a restart. 0 = no state loaded. */
uint64_t dg_core_saved_wall_ms(const dg_core *core);
int dg_core_load(dg_core *core, const uint8_t *blob, size_t len, struct dg_now now);

#endif
