/*
 * internal.h — the interlock core's private state and the seams between its
 * files. Nothing outside gateway/core/ includes this.
 *
 * Files
 *   state.c        tables of pumps, monitors, beds and patients; new/free/stats
 *   alerts.c       the alert lifecycle, bed snapshots, commands, audit events
 *   core.c         inputs (telemetry, vitals, ack) and the tick (liveness,
 *                  permits, command-not-honoured, two warnings)
 *   rules_pump.c   drug-library rules on pump telemetry (pre-start, running)
 *   rules_vitals.c vital-sign rules on monitor samples (baseline, during,
 *                  observation)
 *
 * Alerts are identified by (bed, condition, source device). A rule reports a
 * condition's state with dg_alert_set(): a finding (the condition holds, at
 * this priority, with this action) or NULL (it does not). alerts.c turns the
 * sequence of findings into lifecycle phases, commands and snapshots.
 *
 * Time: device_time_ms (from messages) drives clinical windows and condition
 * delays; now.mono_ms drives liveness; now.wall_ms stamps outputs.
 */
#ifndef DG_CORE_INTERNAL_H
#define DG_CORE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"

#define DG_NIBP_KEPT     8  /* recent NIBP readings kept per bed */
#define DG_SESSIONS_KEPT 16 /* sessions kept per patient (7 days is enough) */
#define DG_ACK_IDS_KEPT  64 /* recent ack ids remembered for dedup */

/* A pause or stop the gateway sent and is waiting to see honoured. */
struct dg_pending_cmd {
    bool active;
    enum dg_command_action action;
    char command_id[DG_ID_MAX];
    char alert_id[DG_ID_MAX];
    uint64_t issued_mono_ms;
    bool escalated; /* command-not-honoured already reported */
};

struct dg_pump {
    char id[DG_ID_MAX];
    char bed_id[DG_ID_MAX];
    char session_id[DG_ID_MAX];
    char patient_ref[DG_ID_MAX];
    uint64_t last_seq;
    bool have_last;
    struct dg_telemetry last; /* last accepted telemetry (the previous one while rules run) */
    enum dg_pump_state state; /* state in the newest accepted telemetry (also while rules run) */
    uint64_t last_seen_mono_ms;

    /* This session. */
    bool session_known; /* session_id above is the current one */
    bool started;       /* seen RUNNING in this session */
    bool refused;       /* a pre-start rule stopped it */
    uint64_t start_device_ms;
    uint64_t end_device_ms; /* when it left RUNNING for good (complete/stopped) */
    /* The gateway's own integration of rate x time (device timeline). */
    double integrated_mg;
    uint64_t integ_device_ms; /* time of the last sample integrated; 0 = none */
    double integ_rate_mg_per_h;

    struct dg_pending_cmd pending;
    bool permit_withheld; /* a latched alert withholds permits */
    uint64_t last_permit_mono_ms;
    bool skew_checked; /* first message judged (scaled device time) */
};

struct dg_monitor {
    char id[DG_ID_MAX];
    char bed_id[DG_ID_MAX];
    uint64_t last_seq;
    bool have_last;
    struct dg_vitals last;
    uint64_t last_seen_mono_ms;
    uint64_t last_continuous_mono_ms; /* last sample with HR or SpO2 */
    bool skew_checked;
};

struct dg_nibp {
    uint64_t device_ms;
    uint64_t mono_ms;
    double sys, dia, mean;
};

struct dg_bed {
    char id[DG_ID_MAX];
    uint64_t snapshot_seq;
    size_t n_alerts, cap_alerts;
    struct dg_alert **alerts; /* owned; the active alerts of the bed */

    char pump_id[DG_ID_MAX];    /* the bed's most recent pump */
    char monitor_id[DG_ID_MAX]; /* the bed's most recent monitor */

    /* NIBP history, newest last. */
    size_t n_nibp;
    struct dg_nibp nibp[DG_NIBP_KEPT];
    /* Baseline: the latest NIBP before the infusion started. */
    bool have_baseline;
    struct dg_nibp baseline;

    /* Condition delays: device time since which a warning condition has
       held continuously; 0 = it does not hold. */
    uint64_t hr_warn_since_ms, spo2_warn_since_ms, rr_warn_since_ms;

    /* Vitals rules apply while a pump runs and until this device time
       (the end of the observation period); 0 = no infusion yet. */
    bool infusing;
    uint64_t observe_until_ms;
    uint64_t running_since_mono_ms; /* when the bed's pump last started running */
};

struct dg_session_rec {
    char session_id[DG_ID_MAX];
    uint64_t start_device_ms;
    double dose_mg_per_kg; /* delivered (the larger of reported and integrated) */
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
    uint64_t next_alert, next_command, event_seq;
    uint64_t duplicates;
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

/* ------------------------------------------------------------ alerts.c */

/* What a rule says about one condition right now. */
struct dg_finding {
    enum dg_alert_kind kind;
    enum dg_priority priority;
    enum dg_alert_action action; /* pause/stop requested at the pump (latches) */
    double value, limit;
    const char *unit;
    const char *limit_source; /* drug-library key, e.g. "ketamine-trd.rate_mg_per_kg_h.hard" */
    const char *message;
    const char *pump_id; /* pump the action goes to; NULL/"" = the bed's pump */
    const char *patient_ref;
    uint64_t device_time_ms;
};

/*
 * Make the bed's alert for (condition, source) agree with f (NULL = the
 * condition does not hold):
 *   absent, f             raise (and send f->action to the pump)
 *   present, f, higher    escalate (and send a stronger action)
 *   present, f, lower     deescalate (not when latched)
 *   present, f, value moved >= 10 % from the last step   update
 *   present, NULL         clear (not when latched)
 * Returns 0 or -DG_ENOMEM.
 */
int dg_alert_set(dg_core *c, struct dg_bed *b, const char *condition, const char *source,
                 const struct dg_finding *f, struct dg_now now);
struct dg_alert *dg_alert_find(struct dg_bed *b, const char *condition, const char *source);
struct dg_alert *dg_alert_by_id(dg_core *c, const char *alert_id, struct dg_bed **bed_out);
/* Escalate an existing alert in place (same priority allowed): phase
   escalate with a new message, and optionally a stronger action. */
void dg_alert_escalate(dg_core *c, struct dg_bed *b, struct dg_alert *a, const char *message,
                       enum dg_alert_action action, struct dg_now now);
/* Acknowledge / reset (ack path). */
int dg_alert_ack(dg_core *c, const struct dg_ack *ack, struct dg_now now);
/* Count active medium physiological alerts (and vitals-silent medium) on b. */
int dg_alert_count_warnings(const struct dg_bed *b);
/* True when an active latched alert of the bed targets pump_id. */
bool dg_alert_latched_for_pump(const struct dg_bed *b, const char *pump_id);
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
   p->last after the call. */
int dg_rules_pump(dg_core *c, struct dg_pump *p, struct dg_bed *b, const struct dg_telemetry *t,
                  struct dg_now now);
/* Vital-sign rules on one accepted sample (rules_vitals.c). */
int dg_rules_vitals(dg_core *c, struct dg_monitor *m, struct dg_bed *b, const struct dg_vitals *v,
                    struct dg_now now);
/* Baseline blood-pressure check at the moment a pump is about to start or
   has just started (rules_vitals.c): raises baseline-bp as needed (the
   critical tier's action stops the pump: stop on start). 0 or -DG_ENOMEM. */
int dg_rules_baseline(dg_core *c, struct dg_bed *b, struct dg_pump *p, const struct dg_telemetry *t,
                      struct dg_now now);

/* Dose delivered this session in mg (the larger of the pump's report and the
   gateway's own integration plus boluses). */
double dg_pump_session_dose_mg(const struct dg_pump *p, const struct dg_telemetry *t);

#endif
