/*
 * types.h — the plain structs that cross the boundary between the I/O shell
 * and the pure interlock core.
 *
 * The codec (gateway/io/codec.c) turns protobuf into these and back; the core
 * never sees protobuf, MQTT or a clock. Strings are fixed-size, NUL-terminated
 * arrays so the structs can be copied by value and live on the stack; the
 * codec rejects any input string that does not fit (DG_ID_MAX - 1 bytes).
 *
 * Units are in the names. Times: *_time_ms is UTC wall-clock milliseconds;
 * *_mono_ms is the gateway's monotonic clock in milliseconds.
 */
#ifndef DG_CORE_TYPES_H
#define DG_CORE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DG_ID_MAX   64  /* device, bed, patient, session, alert and command ids */
#define DG_TEXT_MAX 160 /* one human-readable line */

enum dg_pump_state {
    DG_PUMP_UNSPECIFIED = 0,
    DG_PUMP_IDLE = 1,
    DG_PUMP_PROGRAMMED = 2,
    DG_PUMP_RUNNING = 3,
    DG_PUMP_PAUSED = 4,
    DG_PUMP_STOPPED = 5,
    DG_PUMP_COMPLETE = 6,
    DG_PUMP_ALARM = 7,
};

struct dg_program {
    char drug_code[DG_ID_MAX];
    char care_area[DG_ID_MAX];
    double concentration_mg_per_ml;
    double patient_weight_kg; /* 0 = not entered */
    double dose_mg_per_kg;
    double duration_min;
    double rate_ml_per_h;
};

/* One validated PumpTelemetry. */
struct dg_telemetry {
    char pump_id[DG_ID_MAX];
    uint64_t incarnation; /* boot id, non-zero; seq is per incarnation */
    uint64_t seq;
    uint64_t device_time_ms;
    char bed_id[DG_ID_MAX];
    char patient_ref[DG_ID_MAX];
    char session_id[DG_ID_MAX];
    enum dg_pump_state state;
    bool has_program;
    struct dg_program program;
    double rate_ml_per_h;
    double volume_infused_ml;
    double dose_infused_mg;
    uint32_t bolus_count;
    double bolus_dose_mg;
    uint32_t pump_alarm_code;
    char last_command_id[DG_ID_MAX];
    bool permit_required;
    /* Gateway monotonic ms when the message reached the gateway (set by the
       shell at receipt, before any queueing); 0 = the call's now.mono_ms. */
    uint64_t recv_mono_ms;
};

/* One measurement; present = the monitor sent it, valid = it trusts it. */
struct dg_measurement {
    bool present;
    bool valid;
    double value;
};

/* One validated VitalsSample. */
struct dg_vitals {
    char monitor_id[DG_ID_MAX];
    uint64_t incarnation; /* boot id, non-zero; seq is per incarnation */
    uint64_t seq;
    uint64_t device_time_ms;
    char bed_id[DG_ID_MAX];
    struct dg_measurement heart_rate_bpm;
    struct dg_measurement spo2_pct;
    struct dg_measurement systolic_mmhg;
    struct dg_measurement diastolic_mmhg;
    struct dg_measurement mean_mmhg;
    struct dg_measurement resp_rate_bpm;
    struct dg_measurement etco2_mmhg;
    uint64_t recv_mono_ms; /* as dg_telemetry.recv_mono_ms */
};

/* One validated AlertAck. */
struct dg_ack {
    char alert_id[DG_ID_MAX];
    char user_id[DG_ID_MAX]; /* who, as the dashboard says (a claim) */
    /* Which dashboard certificate sent it: the id in its topic
       (<root>/ack/<dashboard_id>), which the broker ACL binds to the
       certificate's CN. Set by the shell, not the codec; "" = unknown. */
    char dashboard_id[DG_ID_MAX];
    char ack_id[DG_ID_MAX];
    bool reset;
    uint64_t time_ms;
};

/* ---------------------------------------------------------------- outputs */

enum dg_alert_phase {
    DG_PHASE_RAISE = 1,
    DG_PHASE_UPDATE = 2,
    DG_PHASE_ESCALATE = 3,
    DG_PHASE_DEESCALATE = 4,
    DG_PHASE_ACKNOWLEDGE = 5,
    DG_PHASE_CLEAR = 6,
};

enum dg_alert_kind {
    DG_KIND_PHYSIOLOGICAL = 1,
    DG_KIND_TECHNICAL = 2,
    DG_KIND_ADVISORY = 3,
};

enum dg_priority {
    DG_PRIO_NONE = 0,
    DG_PRIO_LOW = 1,
    DG_PRIO_MEDIUM = 2,
    DG_PRIO_HIGH = 3,
};

enum dg_alert_action {
    DG_ACTION_NONE = 0,
    DG_ACTION_PAUSE = 1,
    DG_ACTION_STOP = 2,
};

#define DG_TARGETS_MAX 8 /* pumps one alert's action can reach (pumps on one bed) */

/* The state of one active alert; also one lifecycle step when emitted. */
struct dg_alert {
    char alert_id[DG_ID_MAX];
    char condition[DG_ID_MAX]; /* rule id, e.g. "rate-hard" */
    enum dg_alert_kind kind;
    enum dg_priority priority;
    char bed_id[DG_ID_MAX];
    char pump_id[DG_ID_MAX]; /* the pump concerned (the first target, if any) */
    char patient_ref[DG_ID_MAX];
    char source_id[DG_ID_MAX]; /* device whose data triggered it */
    /* Every pump its pause/stop went to. A latched alert holds each of them
       (they are paused again if they run) until it is reset. */
    size_t n_targets;
    char targets[DG_TARGETS_MAX][DG_ID_MAX];
    double value;
    double limit;
    char unit[16];
    char limit_source[DG_ID_MAX * 2];
    enum dg_alert_action action;        /* what was requested from the pump */
    enum dg_alert_action action_wanted; /* the strongest action a rule asked for (core use) */
    uint64_t last_step_mono_ms;         /* gateway clock of the last phase (core use) */
    bool latched;
    bool acknowledged;
    uint32_t resumes; /* times a held pump ran again under this latch (core use) */
    bool bed_wide;    /* its action goes to every pump running on the bed (core use) */
    uint64_t raised_time_ms;
    uint64_t device_time_ms;
    char message[DG_TEXT_MAX];
};

struct dg_alert_event {
    enum dg_alert_phase phase;
    uint64_t seq; /* +1 per event from this core */
    uint64_t gateway_time_ms;
    const struct dg_alert *alert;
};

/* The retained per-bed snapshot: every active alert of the bed. */
struct dg_alarm_snapshot {
    const char *bed_id;
    uint64_t seq; /* +1 per snapshot of this bed */
    uint64_t gateway_time_ms;
    size_t n_alerts;
    const struct dg_alert *const *alerts;
    enum dg_priority highest;
};

enum dg_command_action {
    DG_CMD_PAUSE = 1,
    DG_CMD_STOP = 2,
    DG_CMD_PERMIT = 3,
};

struct dg_command {
    char command_id[DG_ID_MAX];
    char pump_id[DG_ID_MAX];
    enum dg_command_action action;
    char reason_alert_id[DG_ID_MAX];
    uint64_t issue_time_ms;
    uint32_t permit_valid_for_ms; /* PERMIT: valid this long after the pump receives it */
    char reason[DG_TEXT_MAX];
};

enum dg_audit_outcome {
    DG_OUTCOME_SUCCESS = 0,
    DG_OUTCOME_MINOR = 4,
    DG_OUTCOME_SERIOUS = 8,
    DG_OUTCOME_MAJOR = 12,
};

enum dg_participant {
    DG_PART_GATEWAY = 1,
    DG_PART_DEVICE = 2,
    DG_PART_USER = 3,
};

/* One audit event; the shell sequences, hash-chains and publishes it. */
struct dg_audit_event {
    const char *event_type; /* "alert.raise", "command.pause", "ack", ... */
    const char *action;     /* RFC 3881: "C", "R", "U", "D", "E" */
    enum dg_audit_outcome outcome;
    enum dg_participant participant_kind;
    const char *participant_id;
    const char *object_type; /* "alert", "pump", "bed", ... */
    const char *object_id;
    const char *detail;
};

/*
 * Where the core sends what it decides. Every callback is invoked
 * synchronously from inside a dg_core_* call, on the caller's thread; the
 * pointers it receives are valid only for the duration of the call (copy what
 * you keep). The callbacks must not call back into the core.
 */
struct dg_sink {
    void *ctx;
    void (*alert)(void *ctx, const struct dg_alert_event *ev);
    void (*alarms)(void *ctx, const struct dg_alarm_snapshot *snap);
    void (*command)(void *ctx, const struct dg_command *cmd);
    void (*audit)(void *ctx, const struct dg_audit_event *ev);
};

#endif
