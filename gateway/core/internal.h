/*
 * internal.h — the interlock core's private state and the seams between its
 * files. Nothing outside gateway/core/ includes this, except tests that
 * forge or read saved states (tests/unit/test_core.c,
 * tests/fuzz/fuzz_state_load.c).
 *
 * Files
 *   state.c        tables of pumps, monitors, beds and patients; new/free/stats
 *   trust.c        what a device says that the core checks before believing
 *                  it: sequence numbers per incarnation, and each device's
 *                  clock against the gateway's own timeline
 *   alerts.c       the alert lifecycle, bed snapshots, commands, latches and
 *                  their enforcement, audit events
 *   core.c         inputs (telemetry, vitals, ack), bed membership, and the
 *                  tick (liveness, permits, command-not-honoured, two
 *                  warnings, baseline grace, data-quality advisories)
 *   rules_pump.c   drug-library rules on pump telemetry (pre-start, running,
 *                  program re-checks)
 *   rules_vitals.c vital-sign rules on monitor samples (baseline, during,
 *                  observation)
 *
 * Alerts are identified by (bed, condition, source device). A rule reports a
 * condition's state with dg_alert_set(): a finding (the condition holds, at
 * this priority, with this action) or NULL (it does not). alerts.c turns the
 * sequence of findings into lifecycle phases, commands and snapshots.
 *
 * Time (docs/rules.md, "Time"): within one device, clinical windows and
 * condition delays use that device's own clock (device_time_ms). Anything
 * compared across devices (a bed's NIBP readings and observation window, a
 * patient's sessions) uses corrected times on the gateway's timeline
 * ("clin" ms): a device time minus that device's estimated offset
 * (trust.c). now.mono_ms drives liveness; now.wall_ms stamps outputs.
 */
#ifndef DG_CORE_INTERNAL_H
#define DG_CORE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"

#define DG_NIBP_KEPT         8  /* recent NIBP readings kept per bed */
#define DG_SESSIONS_KEPT     16 /* sessions kept per patient (7 days is enough) */
#define DG_ACK_IDS_KEPT      64 /* recent ack ids remembered for dedup */
#define DG_INCARNATIONS_KEPT 4  /* incarnations a device has left, remembered */

/* A pause or stop the gateway sent and is waiting to see honoured. */
struct dg_pending_cmd {
    bool active;
    enum dg_command_action action;
    char command_id[DG_ID_MAX];
    char alert_id[DG_ID_MAX];
    uint64_t issued_mono_ms;
    bool escalated; /* command-not-honoured already reported */
};

/* Sequence numbers of one device (trust.c). */
struct dg_seq {
    bool have;
    uint64_t incarnation;
    uint64_t last_seq;
    size_t n_retired;
    uint64_t retired[DG_INCARNATIONS_KEPT]; /* newest first */
};

/* One device's clock against the gateway's timeline (trust.c). */
struct dg_devclock {
    bool have;
    uint64_t last_device_ms;    /* device time of the last accepted message */
    uint64_t last_recv_clin_ms; /* its receipt on the gateway's timeline */
    int64_t offset_ms;          /* device - gateway timeline, estimated */
    uint64_t last_jump_mono_ms; /* the last jump (clock-jump advisory); 0 = none */
    uint64_t last_gap_mono_ms;  /* the last big sequence gap (seq-gap advisory) */
};

/* What trust.c made of one message, for the rest of its processing. */
struct dg_trust {
    enum dg_dup_reason dup;
    uint64_t gap_missing;
    bool reboot;
    bool first;            /* the first message ever seen from the device */
    int64_t jump_ms;       /* 0, or the step judged a jump (device ms) */
    int64_t credit_ms;     /* device time this step may count for (dose, delays) */
    uint64_t clin_ms;      /* the message's device time, corrected */
    uint64_t recv_clin_ms; /* its receipt on the gateway's timeline */
};

struct dg_pump {
    char id[DG_ID_MAX];
    char bed_id[DG_ID_MAX]; /* the bed it last reported: its bed */
    char session_id[DG_ID_MAX];
    char patient_ref[DG_ID_MAX];
    struct dg_seq seq;
    struct dg_devclock clock;
    bool have_last;
    struct dg_telemetry last; /* last accepted telemetry (the previous one while rules run) */
    enum dg_pump_state state; /* state in the newest accepted telemetry (also while rules run) */
    bool permit_required;     /* the newest telemetry says it pauses without permits */
    uint64_t last_seen_mono_ms;

    /* This session. */
    bool session_known; /* session_id above is the current one */
    bool started;       /* seen RUNNING in this session */
    bool refused;       /* a pre-start rule stopped it */
    uint64_t start_device_ms;
    uint64_t start_clin_ms; /* the start, corrected (cross-device comparisons) */
    uint64_t end_device_ms; /* when it left RUNNING for good (complete/stopped) */
    /* The weight the session started with. The rate and dose rules use it
       until a clinician resets a weight-change alert (weight_adopt). */
    double trusted_weight_kg;
    bool weight_adopt;
    char weight_alert_id[DG_ID_MAX]; /* this session's weight-change alert, if any */
    /* The gateway's own integration of rate x time (device timeline). */
    double integrated_mg;
    uint64_t integ_device_ms; /* time of the last sample integrated; 0 = none */
    double integ_rate_mg_per_h;

    struct dg_pending_cmd pending;
    bool permit_withheld; /* a latch or silence withholds permits */
    uint64_t last_permit_mono_ms;
    bool skew_checked; /* first message judged (scaled device time) */
};

struct dg_monitor {
    char id[DG_ID_MAX];
    char bed_id[DG_ID_MAX]; /* the bed it last reported: its bed */
    struct dg_seq seq;
    struct dg_devclock clock;
    bool have_last;
    struct dg_vitals last;
    uint64_t last_seen_mono_ms;
    uint64_t last_continuous_mono_ms; /* last sample with HR or SpO2; 0 = never */
    /* Condition delays, on this monitor's own clock: device time since
       which a warning condition has held continuously; 0 = it does not. */
    uint64_t hr_warn_since_ms, spo2_warn_since_ms, rr_warn_since_ms;
    bool skew_checked;
};

struct dg_nibp {
    uint64_t clin_ms; /* corrected time of the reading */
    uint64_t mono_ms;
    double sys, dia, mean;
};

struct dg_bed {
    char id[DG_ID_MAX];
    uint64_t snapshot_seq;
    size_t n_alerts, cap_alerts;
    struct dg_alert **alerts; /* owned; the active alerts of the bed */

    /* Membership: how many pumps and monitors last reported this bed, and
       how many of those pumps run now. */
    uint32_t n_pumps, n_running, n_monitors;
    char patient_ref[DG_ID_MAX]; /* of the pump that last ran here */
    uint64_t last_vitals_device_ms;

    /* NIBP history, newest last. */
    size_t n_nibp;
    struct dg_nibp nibp[DG_NIBP_KEPT];
    /* Baseline: the latest NIBP before the infusion started, or the first
       one within the grace after a start without one. */
    bool have_baseline;
    struct dg_nibp baseline;
    uint64_t baseline_due_clin_ms;    /* waiting for a baseline until then; 0 = not */
    char baseline_pump[DG_ID_MAX];    /* the pump whose start waits for it ... */
    char baseline_session[DG_ID_MAX]; /* ... in this session */
    char baseline_patient[DG_ID_MAX];

    /* Vitals rules apply while a pump runs on the bed, and until this
       corrected time (the end of the observation period); 0 = never ran. */
    uint64_t observe_until_clin_ms;
    uint64_t running_since_mono_ms; /* when a pump last started running here */
};

struct dg_session_rec {
    char session_id[DG_ID_MAX];
    uint64_t start_clin_ms; /* corrected: comparable across pumps */
    double dose_mg_per_kg;  /* delivered (the larger of reported and integrated) */
};

struct dg_patient {
    char ref[DG_ID_MAX];
    size_t n_sessions;
    struct dg_session_rec sessions[DG_SESSIONS_KEPT]; /* oldest first */
};

struct dg_core {
    struct dg_sink sink;
    const struct dg_druglib *lib;
    char gateway_id[DG_ID_MAX];
    char id_prefix[24];
    bool permit_to_infuse;
    double device_time_scale;
    /* The gateway's timeline: clin = anchor_clin + scale x (mono - anchor_mono);
       never goes back, also across restarts (persist.c). */
    bool tl_have;
    uint64_t tl_anchor_clin_ms, tl_anchor_mono_ms;
    struct dg_now last_now;  /* the latest time the core was called with */
    uint64_t loaded_wall_ms; /* wall clock of the saved state it was loaded from; 0 = none */
    uint64_t next_alert, next_command, event_seq;
    struct dg_core_stats counters; /* the counting part of dg_core_stats */
    struct dg_input_note note;
    size_t n_pumps, cap_pumps;
    struct dg_pump *pumps;
    size_t n_monitors, cap_monitors;
    struct dg_monitor *monitors;
    size_t n_beds, cap_beds;
    struct dg_bed *beds;
    size_t n_patients, cap_patients;
    struct dg_patient *patients;
    char ack_ids[DG_ACK_IDS_KEPT][DG_ID_MAX];
    size_t ack_next;
};

/* ------------------------------------------------------------ persist.c */

/* The head of a saved state (persist.c has the format). Here so that tests
   can forge saved states field by field. */
struct dg_persist_header {
    char magic[4];
    uint32_t version;
    uint32_t sz_pump, sz_monitor, sz_bed, sz_patient, sz_alert;
    uint64_t n_pumps, n_monitors, n_beds, n_patients;
    uint64_t next_alert, next_command, event_seq, ack_next;
    /* The gateway's timeline where it stood at the save, and the wall
       clock then: a restart continues it from there (trust.c). */
    uint64_t tl_have, tl_clin_ms, tl_wall_ms;
    struct dg_core_stats counters;
};

/* The checksum that ends a saved state (FNV-1a 64 of the bytes before it),
   for tests that forge one. */
uint64_t dg_persist_checksum(const uint8_t *p, size_t n);

/* ------------------------------------------------------------ state.c */

void dg_copy_str(char *dst, size_t n, const char *src);
/* Find or create; NULL when out of memory. Pointers stay valid until the
   next *_get of the same kind (tables grow by realloc). */
struct dg_bed *dg_bed_get(dg_core *c, const char *id);
struct dg_pump *dg_pump_get(dg_core *c, const char *id);
struct dg_monitor *dg_monitor_get(dg_core *c, const char *id);
struct dg_patient *dg_patient_get(dg_core *c, const char *ref);
/* Free every table (beds with their alerts, pumps, monitors, patients) and
   leave them empty. */
void dg_core_free_tables(dg_core *c);
/* Find only; NULL when absent. */
struct dg_bed *dg_bed_find(dg_core *c, const char *id);
struct dg_pump *dg_pump_find(dg_core *c, const char *id);
struct dg_monitor *dg_monitor_find(dg_core *c, const char *id);
const struct dg_patient *dg_patient_find(const dg_core *c, const char *ref);

/* ------------------------------------------------------------ trust.c */

/* Start the gateway's timeline at now if it has not started. */
void dg_timeline_start(dg_core *c, struct dg_now now);
/* The gateway's timeline at monotonic time mono_ms (started). */
uint64_t dg_clin_ms(const dg_core *c, uint64_t mono_ms);
/*
 * Judge a message's incarnation and seq against s, without changing s.
 * Fills tr->dup, tr->gap_missing, tr->reboot, tr->first.
 */
void dg_seq_judge(const struct dg_seq *s, uint64_t incarnation, uint64_t seq, struct dg_trust *tr);
/* Record an accepted message in s. */
void dg_seq_commit(struct dg_seq *s, uint64_t incarnation, uint64_t seq);
/*
 * Judge a message's device time against the device's clock k (receipt at
 * recv_mono_ms), and record it: fills tr->jump_ms, tr->credit_ms,
 * tr->clin_ms, tr->recv_clin_ms; updates k (offset, last times).
 */
void dg_clock_judge(dg_core *c, struct dg_devclock *k, uint64_t device_ms, uint64_t recv_mono_ms,
                    struct dg_trust *tr);
/* Count, audit and (past the threshold) advise on what tr says about the
   device's message: duplicates, gaps, reboots, clock jumps. b is the bed the
   device reports (advisories go there). 0 or -DG_ENOMEM. */
int dg_trust_report(dg_core *c, struct dg_bed *b, const char *kind, const char *device_id,
                    struct dg_devclock *k, uint64_t incarnation, uint64_t seq,
                    const struct dg_seq *s, const struct dg_trust *tr, struct dg_now now);

/* ------------------------------------------------------------ alerts.c */

/* What a rule says about one condition right now. */
struct dg_finding {
    enum dg_alert_kind kind;
    enum dg_priority priority;
    enum dg_alert_action action; /* pause/stop requested at the pump(s) (latches) */
    double value, limit;
    const char *unit;
    const char *limit_source; /* drug-library key, e.g. "ketamine-trd.rate_mg_per_kg_h.hard" */
    const char *message;
    /* The pump the action goes to; NULL/"" = every pump running on the bed
       (a vital-sign finding: the alert then holds the whole bed). */
    const char *pump_id;
    const char *patient_ref;
    uint64_t device_time_ms;
};

/*
 * Make the bed's alert for (condition, source) agree with f (NULL = the
 * condition does not hold):
 *   absent, f             raise (and send f->action to the pump(s))
 *   present, f, higher    escalate (and send a stronger action)
 *   present, f, lower     deescalate (not when latched)
 *   present, f, value moved >= 10 % from the last step   update
 *   present, NULL         clear (not when latched)
 * An action that found no pump to act on is sent when one appears (a pump
 * starts running on the bed while the condition holds).
 * Returns 0 or -DG_ENOMEM.
 */
int dg_alert_set(dg_core *c, struct dg_bed *b, const char *condition, const char *source,
                 const struct dg_finding *f, struct dg_now now);
struct dg_alert *dg_alert_find(struct dg_bed *b, const char *condition, const char *source);
struct dg_alert *dg_alert_by_id(dg_core *c, const char *alert_id, struct dg_bed **bed_out);
/* Clear an alert that is not latched (no-op for a latched one). */
void dg_alert_drop(dg_core *c, struct dg_bed *b, struct dg_alert *a, struct dg_now now);
/* Escalate an existing alert in place (same priority allowed): phase
   escalate with a new message, and optionally a stronger action. */
void dg_alert_escalate(dg_core *c, struct dg_bed *b, struct dg_alert *a, const char *message,
                       enum dg_alert_action action, struct dg_now now);
/* Acknowledge / reset (ack path). */
int dg_alert_ack(dg_core *c, const struct dg_ack *ack, struct dg_now now);
/* Count active medium physiological alerts (and vitals-silent medium) on b. */
int dg_alert_count_warnings(const struct dg_bed *b);
/*
 * The latched alert holding pump p with the strongest action (NULL = none):
 * one whose pause/stop went to p, or a bed-wide (vital-sign) one on p's
 * bed. *bed_out gets its bed.
 */
struct dg_alert *dg_hold_of(dg_core *c, const struct dg_pump *p, struct dg_bed **bed_out);
/*
 * Latches hold (contract: "while the latch stands, a pump that runs again
 * is paused again and the alert escalates"): p reports running; if a latch
 * holds it and no command as strong is waiting to be honoured, send one: to
 * a pump the latch already commanded that is a resume (escalate; the second
 * resume stops it), to a pump new to a bed-wide latch the latch's own
 * action.
 */
void dg_latch_enforce(dg_core *c, struct dg_pump *p, struct dg_now now);
/* Send a command to a pump (and audit it); records it as pending for
   pause/stop. alert may be NULL (permits). */
void dg_command_send(dg_core *c, struct dg_pump *p, enum dg_command_action action,
                     const struct dg_alert *alert, const char *reason, struct dg_now now,
                     uint32_t permit_valid_for_ms);
/* A shell-visible audit event made by a rule (no alert). */
void dg_audit_emit(dg_core *c, const char *type, const char *action, enum dg_audit_outcome outcome,
                   enum dg_participant pk, const char *pid, const char *otype, const char *oid,
                   const char *detail);

/* ------------------------------------------------------------ rules */

/* Pump rules on one accepted telemetry message (rules_pump.c). p->last is
   the previous message (if p->have_last), t the new one; the caller updates
   p->last after the call. tr is what trust.c made of it. */
int dg_rules_pump(dg_core *c, struct dg_pump *p, struct dg_bed *b, const struct dg_telemetry *t,
                  const struct dg_trust *tr, struct dg_now now);
/* Vital-sign rules on one accepted sample (rules_vitals.c). */
int dg_rules_vitals(dg_core *c, struct dg_monitor *m, struct dg_bed *b, const struct dg_vitals *v,
                    const struct dg_trust *tr, struct dg_now now);
/* Baseline blood-pressure check at the moment a pump is about to start or
   has just started (rules_vitals.c): raises baseline-bp as needed (the
   critical tier's action stops the pump: stop on start); with no baseline
   at the start, waits vitals.baseline_grace_min for one. 0 or -DG_ENOMEM. */
int dg_rules_baseline(dg_core *c, struct dg_bed *b, struct dg_pump *p, const struct dg_telemetry *t,
                      uint64_t clin_ms, struct dg_now now);
/* An NIBP reading (the newest in b->nibp) arrived while the bed waits for a
   baseline: judge it as the baseline (rules_vitals.c). */
int dg_rules_baseline_late(dg_core *c, struct dg_bed *b, const char *monitor_id, uint64_t device_ms,
                           struct dg_now now);
/* The grace ran out without a baseline: the "no baseline" warning. */
int dg_rules_baseline_missing(dg_core *c, struct dg_bed *b, struct dg_now now);

/* Dose delivered this session in mg (the larger of the pump's report and the
   gateway's own integration plus boluses). */
double dg_pump_session_dose_mg(const struct dg_pump *p, const struct dg_telemetry *t);
/* The weight the rate and dose rules use: the session's trusted weight once
   it has started, else the program's (0 = none). */
double dg_pump_weight_kg(const struct dg_pump *p, const struct dg_telemetry *t);

#endif
