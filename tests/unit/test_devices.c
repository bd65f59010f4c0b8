/*
 * test_devices.c — the interlock core against devices that behave like real
 * hardware (issue 7): reboots, duplicates and gaps, pumps that move beds or
 * share one, clocks that are off or jump, programs edited mid-session,
 * pumps resumed under a latch, permits, and the fields of a two-warnings
 * alert. Each case is a measured failure of the earlier core; thresholds
 * are tried at, below and above. Time passed in, no sleeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core_fixture.h"

#define MIN_MS  60000ull
#define HOUR_MS 3600000ull

/* One simulated device: its id, bed, boot id, last seq and clock offset. */
struct dev {
    const char *id;
    const char *bed;
    uint64_t inc, seq;
    int64_t clock_off_ms;
    const char *session;
    const char *patient;
    double weight_kg, conc;
    bool permit;
};

static struct dev pump_dev(const char *id, const char *bed)
{
    struct dev d = {.id = id,
                    .bed = bed,
                    .inc = 0x100,
                    .session = "s-1",
                    .patient = "pt-1",
                    .weight_kg = 70,
                    .conc = 1,
                    .permit = true};
    return d;
}

static struct dev monitor_dev(const char *id, const char *bed)
{
    struct dev d = {.id = id, .bed = bed, .inc = 0x200};
    return d;
}

static struct dg_telemetry tele(struct fx *f, struct dev *d, enum dg_pump_state st, double mg_kg_h)
{
    struct dg_telemetry t = fx_tele(f, st, mg_kg_h);
    snprintf(t.pump_id, sizeof t.pump_id, "%s", d->id);
    snprintf(t.bed_id, sizeof t.bed_id, "%s", d->bed);
    snprintf(t.session_id, sizeof t.session_id, "%s", d->session);
    snprintf(t.patient_ref, sizeof t.patient_ref, "%s", d->patient);
    t.incarnation = d->inc;
    t.seq = ++d->seq;
    t.device_time_ms = (uint64_t)((int64_t)f->device_ms + d->clock_off_ms);
    t.program.patient_weight_kg = d->weight_kg;
    t.program.concentration_mg_per_ml = d->conc;
    /* mg/kg/h -> mL/h for the program's weight and concentration */
    t.rate_ml_per_h = mg_kg_h * d->weight_kg / d->conc;
    t.program.rate_ml_per_h = t.rate_ml_per_h;
    t.permit_required = d->permit;
    return t;
}

static int send_tele(struct fx *f, struct dev *d, enum dg_pump_state st, double mg_kg_h)
{
    struct dg_telemetry t = tele(f, d, st, mg_kg_h);
    return fx_send_tele(f, &t);
}

static struct dg_vitals vit(struct fx *f, struct dev *d)
{
    struct dg_vitals v = fx_vitals(f);
    snprintf(v.monitor_id, sizeof v.monitor_id, "%s", d->id);
    snprintf(v.bed_id, sizeof v.bed_id, "%s", d->bed);
    v.incarnation = d->inc;
    v.seq = ++d->seq;
    v.device_time_ms = (uint64_t)((int64_t)f->device_ms + d->clock_off_ms);
    return v;
}

static int send_vit(struct fx *f, struct dev *d, double hr, double spo2)
{
    struct dg_vitals v = vit(f, d);
    v.heart_rate_bpm.value = hr;
    v.spo2_pct.value = spo2;
    return fx_send_vitals(f, &v);
}

static int send_nibp(struct fx *f, struct dev *d, double sys, double dia)
{
    struct dg_vitals v = vit(f, d);
    fx_nibp(&v, sys, dia);
    return fx_send_vitals(f, &v);
}

/* How many commands of action went to pump, for the alert of condition. */
static int cmds_for(const struct fx *f, const char *pump, enum dg_command_action action,
                    const char *condition)
{
    int n = 0;
    for (int i = 0; i < f->rec.n_cmds; i++) {
        const struct dg_command *c = &f->rec.cmds[i];
        if (strcmp(c->pump_id, pump) != 0 || c->action != action) continue;
        if (!condition) {
            n++;
            continue;
        }
        for (int j = 0; j < f->rec.n_alerts; j++)
            if (strcmp(f->rec.alerts[j].alert_id, c->reason_alert_id) == 0) {
                if (strcmp(f->rec.alerts[j].condition, condition) == 0) n++;
                break;
            }
    }
    return n;
}

static int audits(const struct fx *f, const char *type)
{
    int n = 0;
    for (int i = 0; i < f->rec.n_audit; i++)
        if (strcmp(f->rec.audit_types[i], type) == 0) n++;
    return n;
}

/* Is condition (from source) active on bed? The latest recorded step of it
   is not a clear. */
static bool active(const struct fx *f, const char *bed, const char *condition, const char *source)
{
    for (int i = f->rec.n_alerts - 1; i >= 0; i--) {
        const struct dg_alert *a = &f->rec.alerts[i];
        if (strcmp(a->bed_id, bed) != 0 || strcmp(a->condition, condition) != 0) continue;
        if (source && strcmp(a->source_id, source) != 0) continue;
        return f->rec.phases[i] != DG_PHASE_CLEAR;
    }
    return false;
}

static const struct dg_alert *last_of(const struct fx *f, const char *condition,
                                      enum dg_alert_phase *ph)
{
    return fx_last(f, condition, ph);
}

static void ack_reset(struct fx *f, const char *alert_id, const char *ack_id)
{
    struct dg_ack a = {.reset = true};
    snprintf(a.alert_id, sizeof a.alert_id, "%s", alert_id);
    snprintf(a.user_id, sizeof a.user_id, "nurse-1");
    snprintf(a.ack_id, sizeof a.ack_id, "%s", ack_id);
    assert_int_equal(dg_core_ack(f->core, &a, f->now), 0);
}

/* A normal start on bed-1: baseline, programmed, running at 0.75. */
static void start(struct fx *f, struct dev *p, struct dev *m)
{
    assert_int_equal(send_nibp(f, m, 120, 78), 0);
    fx_advance(f, 1000);
    assert_int_equal(send_tele(f, p, DG_PUMP_PROGRAMMED, 0), 0);
    fx_advance(f, 1000);
    assert_int_equal(send_tele(f, p, DG_PUMP_RUNNING, 0.75), 0);
}

/* ------------------------------------------------------------ reboots and sequences */

/* A pump that reboots mid-session (seq 1 after 122, same session, newer
   device time) at 10x the hard rate is judged at once: rate alarm, pause. */
static void pump_reboot_is_never_a_duplicate(void **state)
{
    struct fx *f = *state;
    struct dev p = pump_dev("pump-1", "bed-1"), m = monitor_dev("monitor-1", "bed-1");
    start(f, &p, &m);
    while (p.seq < 122) {
        fx_advance(f, 1000);
        assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 0.75), 0);
    }
    assert_int_equal(f->rec.n_cmds, 0);
    fx_advance(f, 5000);
    p.inc = 0x101; /* reboot */
    p.seq = 0;
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 7.5), 0);
    assert_int_equal(cmds_for(f, "pump-1", DG_CMD_PAUSE, "rate"), 1);
    assert_int_equal(dg_core_note(f->core)->reboot, true);
    assert_int_equal(audits(f, "device.reboot"), 1);
    struct dg_core_stats st;
    dg_core_stats(f->core, &st);
    assert_int_equal(st.reboots, 1);
    assert_int_equal(st.duplicates, 0);
    /* A late redelivery from before the reboot: a duplicate, by reason. */
    struct dg_telemetry old = tele(f, &p, DG_PUMP_RUNNING, 0.75);
    old.incarnation = 0x100;
    old.seq = 123;
    assert_int_equal(fx_send_tele(f, &old), -DG_EDUP);
    assert_int_equal(dg_core_note(f->core)->dup, DG_DUP_STALE_INCARNATION);
    dg_core_stats(f->core, &st);
    assert_int_equal(st.dup_stale_incarnation, 1);
    assert_int_equal(audits(f, "message.duplicate"), 1);
}

static void monitor_reboot_is_never_a_duplicate(void **state)
{
    struct fx *f = *state;
    struct dev p = pump_dev("pump-1", "bed-1"), m = monitor_dev("monitor-1", "bed-1");
    start(f, &p, &m);
    for (int i = 0; i < 50; i++) {
        fx_advance(f, 1000);
        assert_int_equal(send_vit(f, &m, 72, 98), 0);
    }
    m.inc = 0x201;
    m.seq = 0;
    fx_advance(f, 5000);
    assert_int_equal(send_vit(f, &m, 72, 84), 0);
    assert_int_equal(cmds_for(f, "pump-1", DG_CMD_PAUSE, "spo2"), 1);
    struct dg_core_stats st;
    dg_core_stats(f->core, &st);
    assert_int_equal(st.reboots, 1);
    assert_int_equal(st.duplicates, 0);
}

/* Repeated and backwards seqs are counted and audited by reason; a gap is
   counted and audited, and from seq_gap_advisory_missing (5) on raises a
   low advisory that clears after a quiet data_quality_clear_s (60 s). */
static void duplicates_and_gaps_by_reason(void **state)
{
    struct fx *f = *state;
    struct dev p = pump_dev("pump-1", "bed-1"), m = monitor_dev("monitor-1", "bed-1");
    start(f, &p, &m);
    struct dg_telemetry t = tele(f, &p, DG_PUMP_RUNNING, 0.75);
    assert_int_equal(fx_send_tele(f, &t), 0);
    assert_int_equal(fx_send_tele(f, &t), -DG_EDUP);
    assert_int_equal(dg_core_note(f->core)->dup, DG_DUP_REPEATED);
    t.seq -= 2;
    assert_int_equal(fx_send_tele(f, &t), -DG_EDUP);
    assert_int_equal(dg_core_note(f->core)->dup, DG_DUP_BACKWARDS);
    assert_int_equal(audits(f, "message.duplicate"), 2);

    /* a gap of 4 (below the threshold): counted, audited, no advisory */
    p.seq += 4;
    fx_advance(f, 1000);
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 0.75), 0);
    assert_int_equal(dg_core_note(f->core)->gap_missing, 4);
    assert_int_equal(audits(f, "message.gap"), 1);
    assert_false(active(f, "bed-1", "seq-gap", "pump-1"));
    /* a gap of 5 (at it): advisory */
    p.seq += 5;
    fx_advance(f, 1000);
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 0.75), 0);
    assert_true(active(f, "bed-1", "seq-gap", "pump-1"));
    const struct dg_alert *a = last_of(f, "seq-gap", NULL);
    assert_int_equal(a->kind, DG_KIND_ADVISORY);
    assert_int_equal(a->priority, DG_PRIO_LOW);
    assert_true(a->value == 5);
    struct dg_core_stats st;
    dg_core_stats(f->core, &st);
    assert_int_equal(st.dup_repeated, 1);
    assert_int_equal(st.dup_backwards, 1);
    assert_int_equal(st.seq_gaps, 2);
    assert_int_equal(st.seq_missing, 9);
    /* quiet for 60 s: still there; 1 ms more: cleared */
    for (int i = 0; i < 60; i++) {
        fx_advance(f, 1000);
        send_tele(f, &p, DG_PUMP_RUNNING, 0.75);
        send_vit(f, &m, 72, 98);
        fx_tick(f);
    }
    assert_true(active(f, "bed-1", "seq-gap", "pump-1"));
    fx_advance(f, 1);
    fx_tick(f);
    assert_false(active(f, "bed-1", "seq-gap", "pump-1"));
    assert_int_equal(f->rec.n_cmds, 0);
}

/* ------------------------------------------------------------ beds */

/* Two pumps on one bed, the idle one reporting last: SpO2 84 pauses the
   running pump, never the idle one. */
static void vital_action_reaches_only_running_pumps(void **state)
{
    struct fx *f = *state;
    struct dev p = pump_dev("pump-1", "bed-1"), q = pump_dev("pump-1-2", "bed-1");
    struct dev m = monitor_dev("monitor-1", "bed-1");
    q.session = "s-q";
    start(f, &p, &m);
    for (int i = 0; i < 5; i++) {
        fx_advance(f, 1000);
        assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 0.75), 0);
        assert_int_equal(send_tele(f, &q, DG_PUMP_IDLE, 0), 0);
        assert_int_equal(send_vit(f, &m, 72, 98), 0);
    }
    assert_int_equal(send_vit(f, &m, 72, 84), 0);
    assert_int_equal(cmds_for(f, "pump-1", DG_CMD_PAUSE, "spo2"), 1);
    assert_int_equal(cmds_for(f, "pump-1-2", DG_CMD_PAUSE, NULL), 0);
    const struct dg_alert *a = last_of(f, "spo2", NULL);
    assert_int_equal(a->n_targets, 1);
    assert_string_equal(a->targets[0], "pump-1");
    /* The second pump starts on the bed while the latch stands: paused too. */
    fx_advance(f, 1000);
    assert_int_equal(send_tele(f, &p, DG_PUMP_PAUSED, 0), 0);
    assert_int_equal(send_tele(f, &q, DG_PUMP_RUNNING, 0.75), 0);
    assert_int_equal(cmds_for(f, "pump-1-2", DG_CMD_PAUSE, "spo2"), 1);
    assert_int_equal(cmds_for(f, "pump-1", DG_CMD_PAUSE, NULL), 1);
}

/* Both pumps running: both paused by one vital-sign alert. */
static void vital_action_reaches_every_running_pump(void **state)
{
    struct fx *f = *state;
    struct dev p = pump_dev("pump-1", "bed-1"), q = pump_dev("pump-1-2", "bed-1");
    struct dev m = monitor_dev("monitor-1", "bed-1");
    q.session = "s-q";
    start(f, &p, &m);
    fx_advance(f, 1000);
    assert_int_equal(send_tele(f, &q, DG_PUMP_RUNNING, 0.75), 0);
    assert_int_equal(send_vit(f, &m, 72, 84), 0);
    assert_int_equal(cmds_for(f, "pump-1", DG_CMD_PAUSE, "spo2"), 1);
    assert_int_equal(cmds_for(f, "pump-1-2", DG_CMD_PAUSE, "spo2"), 1);
    assert_int_equal(last_of(f, "spo2", NULL)->n_targets, 2);
}

/* A pump moved from bed-1 to bed-2 while running is bed-2's: bed-1's
   monitor (another patient) never pauses it, bed-2's does. */
static void moved_pump_belongs_to_its_new_bed(void **state)
{
    struct fx *f = *state;
    struct dev p = pump_dev("pump-1", "bed-1");
    struct dev m1 = monitor_dev("monitor-1", "bed-1"), m2 = monitor_dev("monitor-2", "bed-2");
    m2.inc = 0x300;
    start(f, &p, &m1);
    assert_int_equal(send_vit(f, &m2, 70, 98), 0);
    fx_advance(f, 1000);
    p.bed = "bed-2";
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 0.75), 0);
    assert_int_equal(audits(f, "pump.moved"), 1);
    fx_advance(f, 1000);
    assert_int_equal(send_vit(f, &m1, 72, 84), 0);
    /* bed-1's patient is still watched (observation): a high alert, but no
       pump runs there to pause */
    assert_true(active(f, "bed-1", "spo2", "monitor-1"));
    assert_int_equal(cmds_for(f, "pump-1", DG_CMD_PAUSE, NULL), 0);
    fx_advance(f, 1000);
    assert_int_equal(send_vit(f, &m2, 72, 84), 0);
    assert_int_equal(cmds_for(f, "pump-1", DG_CMD_PAUSE, "spo2"), 1);
    const struct dg_alert *a = last_of(f, "spo2", NULL);
    assert_string_equal(a->bed_id, "bed-2");
}

/* Condition delays are per monitor: a second monitor on the bed does not
   reset monitor-1's sustained HR 135. */
static void condition_delays_are_per_monitor(void **state)
{
    struct fx *f = *state;
    struct dev p = pump_dev("pump-1", "bed-1");
    struct dev m1 = monitor_dev("monitor-1", "bed-1"), m2 = monitor_dev("monitor-2", "bed-1");
    m2.inc = 0x300;
    start(f, &p, &m1);
    for (int s = 0; s <= 60; s++) {
        assert_int_equal(send_vit(f, &m1, 135, 98), 0);
        assert_int_equal(send_vit(f, &m2, 72, 98), 0);
        if (s < 60) assert_false(active(f, "bed-1", "heart-rate", "monitor-1"));
        fx_advance(f, 1000);
    }
    assert_true(active(f, "bed-1", "heart-rate", "monitor-1"));
    assert_false(active(f, "bed-1", "heart-rate", "monitor-2"));
}

/* "vitals silent" raised before any monitor reported (source: the bed)
   clears when one does, so it never counts as a warning afterwards. */
static void vitals_silent_of_a_bed_clears_when_a_monitor_reports(void **state)
{
    struct fx *f = *state;
    struct dev p = pump_dev("pump-1", "bed-1"), m = monitor_dev("monitor-1", "bed-1");
    assert_int_equal(send_tele(f, &p, DG_PUMP_PROGRAMMED, 0), 0);
    fx_advance(f, 1000);
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 0.75), 0);
    for (int i = 0; i < 11; i++) {
        fx_advance(f, 1000);
        send_tele(f, &p, DG_PUMP_RUNNING, 0.75);
        fx_tick(f);
    }
    assert_true(active(f, "bed-1", "vitals-silent", "bed-1"));
    assert_int_equal(send_vit(f, &m, 72, 98), 0);
    assert_false(active(f, "bed-1", "vitals-silent", "bed-1"));
    /* One real warning (SpO2 89 for 15 s) is one warning: no pause. */
    for (int s = 0; s <= 16; s++) {
        send_vit(f, &m, 72, 89);
        send_tele(f, &p, DG_PUMP_RUNNING, 0.75);
        fx_tick(f);
        fx_advance(f, 1000);
    }
    assert_true(active(f, "bed-1", "spo2", "monitor-1"));
    assert_int_equal(fx_count(f, "two-warnings", 0), 0);
    assert_int_equal(f->rec.n_cmds - fx_cmds(f, "pump-1", DG_CMD_PERMIT), 0);
}

/* ------------------------------------------------------------ clocks */

/* A pump whose clock is years off: its session still counts in the next
   pump's 24 h dose and 44 h checks (corrected times). */
static void history_uses_corrected_times(void **state)
{
    struct fx *f = *state;
    struct dev a = pump_dev("pump-1", "bed-1"), m = monitor_dev("monitor-1", "bed-1");
    a.clock_off_ms = -(int64_t)(3 * 365 * 24 * HOUR_MS);
    start(f, &a, &m);
    /* 0.75 mg/kg/h for 48 min = 0.6 mg/kg */
    for (int i = 0; i < 48; i++) {
        fx_advance(f, MIN_MS);
        assert_int_equal(send_tele(f, &a, DG_PUMP_RUNNING, 0.75), 0);
    }
    assert_int_equal(send_tele(f, &a, DG_PUMP_COMPLETE, 0), 0);
    fx_advance(f, 2 * HOUR_MS);
    struct dev b = pump_dev("pump-2", "bed-1");
    b.session = "s-2";
    b.inc = 0x500;
    assert_int_equal(send_nibp(f, &m, 120, 78), 0);
    struct dg_telemetry t = tele(f, &b, DG_PUMP_PROGRAMMED, 0);
    assert_int_equal(fx_send_tele(f, &t), 0);
    /* 0.6 earlier + 0.5 programmed > 1.0: refused; < 44 h since: advisory */
    assert_true(active(f, "bed-1", "dose-24h", "pump-2"));
    assert_true(active(f, "bed-1", "sessions", "pump-2"));
    assert_int_equal(cmds_for(f, "pump-2", DG_CMD_STOP, "dose-24h"), 1);
}

/* One telemetry stamped an hour ahead adds no dose, raises no session-dose
   alert, does not inflate the history, and raises a clock-jump advisory. */
static void forward_jump_adds_no_dose(void **state)
{
    struct fx *f = *state;
    struct dev p = pump_dev("pump-1", "bed-1"), m = monitor_dev("monitor-1", "bed-1");
    start(f, &p, &m);
    for (int i = 0; i < 10; i++) {
        fx_advance(f, 1000);
        assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 0.75), 0);
    }
    fx_advance(f, 1000);
    p.clock_off_ms = (int64_t)HOUR_MS;
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 0.75), 0);
    assert_true(dg_core_note(f->core)->jump_ms > 0);
    fx_advance(f, 1000);
    p.clock_off_ms = 0;
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 0.75), 0);
    assert_true(dg_core_note(f->core)->jump_ms < 0);
    assert_int_equal(fx_count(f, "session-dose", 0), 0);
    assert_true(active(f, "bed-1", "clock-jump", "pump-1"));
    const struct dg_alert *a = last_of(f, "clock-jump", NULL);
    assert_int_equal(a->priority, DG_PRIO_LOW);
    assert_int_equal(a->kind, DG_KIND_ADVISORY);
    struct dg_core_stats st;
    dg_core_stats(f->core, &st);
    assert_int_equal(st.clock_jumps, 2);
    /* 13 s at 0.75 mg/kg/h = 0.0027 mg/kg: the next session of the patient
       sees ~0.003, not 0.75 */
    assert_int_equal(send_tele(f, &p, DG_PUMP_COMPLETE, 0), 0);
    struct dev b = pump_dev("pump-2", "bed-1");
    b.session = "s-2";
    b.inc = 0x500;
    struct dg_telemetry t = tele(f, &b, DG_PUMP_PROGRAMMED, 0);
    t.program.dose_mg_per_kg = 0.99;
    assert_int_equal(fx_send_tele(f, &t), 0);
    assert_false(active(f, "bed-1", "dose-24h", "pump-2"));
}

/* The jump tolerance: a step of scale x (gateway elapsed + 5 s) is not a
   jump; 1 ms more is. Backwards: 5 s is not, 5 s + 1 ms is. */
static void jump_tolerance_at_below_above(void **state)
{
    struct fx *f = *state;
    struct dev p = pump_dev("pump-1", "bed-1"), m = monitor_dev("monitor-1", "bed-1");
    start(f, &p, &m);
    fx_advance(f, 1000);
    p.clock_off_ms += 5000; /* 1 s elapsed, 6 s stepped */
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 0.75), 0);
    assert_int_equal(dg_core_note(f->core)->jump_ms, 0);
    fx_advance(f, 1000);
    p.clock_off_ms += 5001;
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 0.75), 0);
    assert_int_equal(dg_core_note(f->core)->jump_ms, 6001);
    fx_advance(f, 0);
    p.clock_off_ms -= 5000;
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 0.75), 0);
    assert_int_equal(dg_core_note(f->core)->jump_ms, 0);
    p.clock_off_ms -= 5001;
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 0.75), 0);
    assert_int_equal(dg_core_note(f->core)->jump_ms, -5001);
}

/* A burst of messages queued while the gateway was away (each one device
   second after the last, arriving at once) is not a jump. */
static void backlog_burst_is_not_a_jump(void **state)
{
    struct fx *f = *state;
    struct dev p = pump_dev("pump-1", "bed-1"), m = monitor_dev("monitor-1", "bed-1");
    start(f, &p, &m);
    int64_t back = 60000;
    p.clock_off_ms = -back; /* sent a minute ago */
    fx_advance(f, (uint64_t)back);
    for (int i = 0; i < 60; i++) {
        p.clock_off_ms += 1000;
        assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 0.75), 0);
        assert_int_equal(dg_core_note(f->core)->jump_ms, 0);
    }
    struct dg_core_stats st;
    dg_core_stats(f->core, &st);
    assert_int_equal(st.clock_jumps, 0);
}

/* A monitor clock jump never satisfies a condition delay: HR 130 for 35 s
   across a +2 h jump raises no warning; held 60 s after the jump it does. */
static void jump_never_satisfies_a_delay(void **state)
{
    struct fx *f = *state;
    struct dev p = pump_dev("pump-1", "bed-1"), m = monitor_dev("monitor-1", "bed-1");
    start(f, &p, &m);
    for (int s = 0; s < 15; s++) {
        assert_int_equal(send_vit(f, &m, 130, 98), 0);
        fx_advance(f, 1000);
    }
    m.clock_off_ms = (int64_t)(2 * HOUR_MS);
    for (int s = 0; s < 20; s++) {
        assert_int_equal(send_vit(f, &m, 130, 98), 0);
        fx_advance(f, 1000);
    }
    assert_false(active(f, "bed-1", "heart-rate", "monitor-1"));
    assert_true(active(f, "bed-1", "clock-jump", "monitor-1"));
    for (int s = 0; s <= 40; s++) {
        assert_int_equal(send_vit(f, &m, 130, 98), 0);
        fx_advance(f, 1000);
    }
    assert_true(active(f, "bed-1", "heart-rate", "monitor-1"));
}

/* ------------------------------------------------------------ programs */

/* Weight 70 -> 250 kg while running at 2.0 mg/kg/h (hard for 70 kg):
   weight-change (high, pause) and the rate judged for 70 kg; the reset
   adopts 250 kg. */
static void weight_edit_mid_session(void **state)
{
    struct fx *f = *state;
    struct dev p = pump_dev("pump-1", "bed-1"), m = monitor_dev("monitor-1", "bed-1");
    start(f, &p, &m);
    fx_advance(f, 1000);
    struct dg_telemetry t = tele(f, &p, DG_PUMP_RUNNING, 0.75);
    t.program.patient_weight_kg = 250;
    t.rate_ml_per_h = 140; /* 2.0 mg/kg/h for 70 kg, 0.56 for 250 */
    assert_int_equal(fx_send_tele(f, &t), 0);
    assert_true(active(f, "bed-1", "weight-change", "pump-1"));
    const struct dg_alert *wc = last_of(f, "weight-change", NULL);
    assert_int_equal(wc->priority, DG_PRIO_HIGH);
    assert_true(wc->value == 250 && wc->limit == 70);
    assert_true(active(f, "bed-1", "rate", "pump-1"));
    assert_true(last_of(f, "rate", NULL)->value > 1.99);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PAUSE), 1);
    char wc_id[DG_ID_MAX], rate_id[DG_ID_MAX];
    snprintf(wc_id, sizeof wc_id, "%s", wc->alert_id);
    snprintf(rate_id, sizeof rate_id, "%s", last_of(f, "rate", NULL)->alert_id);
    /* paused; a clinician resets both: 250 kg is trusted now */
    fx_advance(f, 1000);
    t = tele(f, &p, DG_PUMP_PAUSED, 0);
    t.program.patient_weight_kg = 250;
    assert_int_equal(fx_send_tele(f, &t), 0);
    ack_reset(f, wc_id, "a1");
    ack_reset(f, rate_id, "a2");
    fx_advance(f, 1000);
    t = tele(f, &p, DG_PUMP_RUNNING, 0);
    t.program.patient_weight_kg = 250;
    t.rate_ml_per_h = 140;
    assert_int_equal(fx_send_tele(f, &t), 0);
    assert_false(active(f, "bed-1", "weight-change", "pump-1"));
    assert_false(active(f, "bed-1", "rate", "pump-1"));
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PAUSE), 1);
}

/* A weight edit back and forth below the trusted value is the same rule;
   an unchanged weight raises nothing. */
static void weight_unchanged_raises_nothing(void **state)
{
    struct fx *f = *state;
    struct dev p = pump_dev("pump-1", "bed-1"), m = monitor_dev("monitor-1", "bed-1");
    start(f, &p, &m);
    for (int i = 0; i < 5; i++) {
        fx_advance(f, 1000);
        assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 0.75), 0);
    }
    assert_int_equal(fx_count(f, "weight-change", 0), 0);
    fx_advance(f, 1000);
    p.weight_kg = 69.9; /* below; same rate in mL/h would be ~0.75 */
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 0.75), 0);
    assert_true(active(f, "bed-1", "weight-change", "pump-1"));
}

/* A concentration edited mid-session is re-checked like a new program:
   50 mg/mL is above the hard 10: stop. */
static void concentration_edit_is_rechecked(void **state)
{
    struct fx *f = *state;
    struct dev p = pump_dev("pump-1", "bed-1"), m = monitor_dev("monitor-1", "bed-1");
    start(f, &p, &m);
    fx_advance(f, 1000);
    struct dg_telemetry t = tele(f, &p, DG_PUMP_RUNNING, 0.75);
    t.program.concentration_mg_per_ml = 10; /* at the hard limit: soft only */
    assert_int_equal(fx_send_tele(f, &t), 0);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), 0);
    fx_advance(f, 1000);
    t = tele(f, &p, DG_PUMP_RUNNING, 0.75);
    t.program.concentration_mg_per_ml = 50;
    assert_int_equal(fx_send_tele(f, &t), 0);
    assert_int_equal(cmds_for(f, "pump-1", DG_CMD_STOP, "concentration"), 1);
    /* the programmed dose edited above the hard 1.0: stop too (new alert) */
    struct dev q = pump_dev("pump-2", "bed-2");
    q.session = "s-q";
    q.patient = "pt-2";
    q.inc = 0x900;
    struct dev m2 = monitor_dev("monitor-2", "bed-2");
    m2.inc = 0x901;
    start(f, &q, &m2);
    fx_advance(f, 1000);
    t = tele(f, &q, DG_PUMP_RUNNING, 0.75);
    t.program.dose_mg_per_kg = 1.2;
    assert_int_equal(fx_send_tele(f, &t), 0);
    assert_int_equal(cmds_for(f, "pump-2", DG_CMD_STOP, "programmed-dose"), 1);
}

/* ------------------------------------------------------------ latches */

/* A pump that honours the pause and is resumed at the pump at the same
   over-rate without a reset is paused again and the alert escalates; the
   second time it is stopped. */
static void resume_under_latch(void **state)
{
    struct fx *f = *state;
    struct dev p = pump_dev("pump-1", "bed-1"), m = monitor_dev("monitor-1", "bed-1");
    start(f, &p, &m);
    fx_advance(f, 1000);
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 7.5), 0);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PAUSE), 1);
    fx_advance(f, 1000);
    assert_int_equal(send_tele(f, &p, DG_PUMP_PAUSED, 0), 0);
    assert_int_equal(audits(f, "command.honoured"), 1);
    fx_advance(f, 30000);
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 7.5), 0);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PAUSE), 2);
    enum dg_alert_phase ph;
    const struct dg_alert *a = last_of(f, "rate", &ph);
    assert_int_equal(ph, DG_PHASE_ESCALATE);
    assert_true(a->latched);
    /* still running at its next report within the command timeout: no
       third command */
    fx_advance(f, 1000);
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 7.5), 0);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PAUSE), 2);
    fx_advance(f, 1000);
    assert_int_equal(send_tele(f, &p, DG_PUMP_PAUSED, 0), 0);
    fx_advance(f, 30000);
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 7.5), 0);
    assert_int_equal(cmds_for(f, "pump-1", DG_CMD_STOP, "rate"), 1);
    a = last_of(f, "rate", &ph);
    assert_int_equal(ph, DG_PHASE_ESCALATE);
    assert_int_equal(a->action, DG_ACTION_STOP);
    /* resumed at a correct rate: the latch still holds it */
    fx_advance(f, 1000);
    assert_int_equal(send_tele(f, &p, DG_PUMP_STOPPED, 0), 0);
    assert_int_equal(fx_count(f, "rate", DG_PHASE_ESCALATE), 2);
}

/* Two alerts latched on one pump; one reset: the other keeps a command in
   force (escalation on not honoured names it) and permits stay withheld. */
static void second_latch_keeps_its_command(void **state)
{
    struct fx *f = *state;
    f->permit_to_infuse = true;
    dg_core_free(f->core);
    fx_start(f);
    struct dev p = pump_dev("pump-1", "bed-1"), m = monitor_dev("monitor-1", "bed-1");
    start(f, &p, &m);
    fx_advance(f, 1000);
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 7.5), 0); /* rate: pause */
    assert_int_equal(send_vit(f, &m, 72, 84), 0);                /* spo2: latches on it */
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PAUSE), 1);
    const struct dg_alert *r = last_of(f, "rate", NULL);
    const struct dg_alert *s = last_of(f, "spo2", NULL);
    assert_true(r->latched && s->latched);
    char rate_id[DG_ID_MAX], spo2_id[DG_ID_MAX];
    snprintf(rate_id, sizeof rate_id, "%s", r->alert_id);
    snprintf(spo2_id, sizeof spo2_id, "%s", s->alert_id);
    ack_reset(f, rate_id, "a1");
    /* the pump ignores the pause: not honoured -> the spo2 alert escalates */
    for (int i = 0; i < 6; i++) {
        fx_advance(f, 1000);
        assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 0.75), 0);
        fx_tick(f);
    }
    enum dg_alert_phase ph;
    s = last_of(f, "spo2", &ph);
    assert_int_equal(ph, DG_PHASE_ESCALATE);
    assert_string_equal(s->alert_id, spo2_id);
    assert_int_equal(cmds_for(f, "pump-1", DG_CMD_STOP, "spo2"), 1);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PERMIT), 0);
}

/* A baseline NIBP that arrives a second after the start is judged as the
   baseline (critical: stop), within the grace. */
static void late_baseline_is_judged(void **state)
{
    struct fx *f = *state;
    struct dev p = pump_dev("pump-1", "bed-1"), m = monitor_dev("monitor-1", "bed-1");
    assert_int_equal(send_vit(f, &m, 72, 98), 0);
    assert_int_equal(send_tele(f, &p, DG_PUMP_PROGRAMMED, 0), 0);
    fx_advance(f, 1000);
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 0.75), 0);
    fx_advance(f, 1000);
    assert_int_equal(send_nibp(f, &m, 185, 112), 0);
    assert_true(active(f, "bed-1", "baseline-bp", "bed-1"));
    assert_int_equal(last_of(f, "baseline-bp", NULL)->priority, DG_PRIO_HIGH);
    assert_int_equal(cmds_for(f, "pump-1", DG_CMD_STOP, "baseline-bp"), 1);
    /* later readings are not baselines any more */
    fx_advance(f, 1000);
    assert_int_equal(send_tele(f, &p, DG_PUMP_STOPPED, 0), 0);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), 1);
}

/* A reading at the end of the grace (2 min) is the baseline; one after it
   is not (the missing-baseline warning is raised by then). */
static void baseline_grace_edges(void **state)
{
    struct fx *f = *state;
    struct dev p = pump_dev("pump-1", "bed-1"), m = monitor_dev("monitor-1", "bed-1");
    assert_int_equal(send_vit(f, &m, 72, 98), 0);
    assert_int_equal(send_tele(f, &p, DG_PUMP_PROGRAMMED, 0), 0);
    fx_advance(f, 1000);
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 0.75), 0);
    fx_advance(f, 2 * MIN_MS);
    assert_int_equal(send_nibp(f, &m, 150, 80), 0);
    assert_int_equal(last_of(f, "baseline-bp", NULL)->priority, DG_PRIO_MEDIUM);
    assert_string_equal(last_of(f, "baseline-bp", NULL)->limit_source,
                        "vitals.baseline.warn_sys_mmhg");
}

/* ------------------------------------------------------------ found by fuzz_core */

/* A start's wait for a baseline ends when its pump leaves the bed: a
   critical reading on the old bed then stops nobody (seed baseline-moved). */
static void baseline_wait_ends_when_the_pump_leaves(void **state)
{
    struct fx *f = *state;
    struct dev p = pump_dev("pump-1", "bed-1"), m = monitor_dev("monitor-1", "bed-1");
    assert_int_equal(send_vit(f, &m, 72, 98), 0);
    assert_int_equal(send_tele(f, &p, DG_PUMP_PROGRAMMED, 0), 0);
    fx_advance(f, 1000);
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 0.75), 0);
    fx_advance(f, 1000);
    p.bed = "bed-2";
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 0.75), 0);
    fx_advance(f, 1000);
    assert_int_equal(send_nibp(f, &m, 190, 115), 0);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), 0);
    assert_int_equal(fx_count(f, "baseline-bp", 0), 0);
    /* ... and when its session ends (a new one on the same bed) */
    struct dev q = pump_dev("pump-2", "bed-3"), m3 = monitor_dev("monitor-3", "bed-3");
    q.inc = 0x800;
    m3.inc = 0x801;
    assert_int_equal(send_vit(f, &m3, 72, 98), 0);
    assert_int_equal(send_tele(f, &q, DG_PUMP_PROGRAMMED, 0), 0);
    fx_advance(f, 1000);
    assert_int_equal(send_tele(f, &q, DG_PUMP_RUNNING, 0.75), 0);
    fx_advance(f, 1000);
    q.session = "s-next";
    assert_int_equal(send_tele(f, &q, DG_PUMP_IDLE, 0), 0);
    assert_int_equal(send_nibp(f, &m3, 190, 115), 0);
    assert_int_equal(fx_cmds(f, "pump-2", DG_CMD_STOP), 0);
}

/* Only the reset of the current session's weight-change alert adopts the
   edited weight; the reset of an earlier session's (still latched) adopts
   nothing (seed weight-adopt-other-session). */
static void weight_reset_of_another_session_adopts_nothing(void **state)
{
    struct fx *f = *state;
    struct dev p = pump_dev("pump-1", "bed-1"), m = monitor_dev("monitor-1", "bed-1");
    start(f, &p, &m);
    fx_advance(f, 1000);
    p.weight_kg = 100; /* session s-1: an edit, alert A (latched) */
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 0.75), 0);
    char a_id[DG_ID_MAX];
    snprintf(a_id, sizeof a_id, "%s", last_of(f, "weight-change", NULL)->alert_id);
    /* session s-2 on bed-2, 70 kg, then an edit to 100 kg: alert B */
    struct dev m2 = monitor_dev("monitor-2", "bed-2");
    m2.inc = 0x300;
    p.bed = "bed-2";
    p.session = "s-2";
    p.weight_kg = 70;
    assert_int_equal(send_nibp(f, &m2, 120, 78), 0);
    assert_int_equal(send_tele(f, &p, DG_PUMP_PROGRAMMED, 0), 0);
    fx_advance(f, 1000);
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 0.75), 0);
    fx_advance(f, 1000);
    struct dg_telemetry t = tele(f, &p, DG_PUMP_RUNNING, 0.75);
    t.program.patient_weight_kg = 100;
    t.rate_ml_per_h = 90; /* 1.29 mg/kg/h for 70 kg (soft), 0.9 for 100 */
    assert_int_equal(fx_send_tele(f, &t), 0);
    assert_true(active(f, "bed-2", "weight-change", "pump-1"));
    assert_true(active(f, "bed-2", "rate", "pump-1"));
    char b_id[DG_ID_MAX];
    snprintf(b_id, sizeof b_id, "%s", last_of(f, "weight-change", NULL)->alert_id);
    assert_string_not_equal(a_id, b_id);
    ack_reset(f, a_id, "a1");
    fx_advance(f, 1000);
    t = tele(f, &p, DG_PUMP_RUNNING, 0.75);
    t.program.patient_weight_kg = 100;
    t.rate_ml_per_h = 90;
    assert_int_equal(fx_send_tele(f, &t), 0);
    assert_true(active(f, "bed-2", "rate", "pump-1")); /* still judged for 70 kg */
    ack_reset(f, b_id, "a2");
    fx_advance(f, 1000);
    t = tele(f, &p, DG_PUMP_RUNNING, 0.75);
    t.program.patient_weight_kg = 100;
    t.rate_ml_per_h = 90;
    assert_int_equal(fx_send_tele(f, &t), 0);
    assert_false(active(f, "bed-2", "rate", "pump-1")); /* 100 kg adopted: 0.9 */
}

/* A message refused for memory is not recorded, its device's clock
   included: the redelivery is judged the same jump, and the jump satisfies
   no condition delay (seed oom-jump). */
static void refused_message_keeps_its_clock_jump(void **state)
{
    struct fx *f = *state;
    struct dev p = pump_dev("pump-1", "bed-1"), m = monitor_dev("monitor-1", "bed-1");
    start(f, &p, &m);
    for (int s = 0; s < 15; s++) {
        assert_int_equal(send_vit(f, &m, 130, 98), 0);
        fx_advance(f, 1000);
    }
    m.clock_off_ms = (int64_t)(10 * MIN_MS);
    struct dg_vitals v = vit(f, &m);
    v.heart_rate_bpm.value = 130;
    dg_alloc_fail_after(1); /* the clock-jump advisory cannot be allocated */
    assert_int_equal(fx_send_vitals(f, &v), -DG_ENOMEM);
    dg_alloc_fail_after(0);
    assert_int_equal(fx_send_vitals(f, &v), 0);
    assert_true(dg_core_note(f->core)->jump_ms > 0);
    assert_false(active(f, "bed-1", "heart-rate", "monitor-1"));
}

/* alert.pump_id is the alert's first target once it has one: a baseline
   alert raised naming a pump that then left, whose stop reaches the next
   pump, names that pump (seed pump-id-target). */
static void alert_pump_is_its_first_target(void **state)
{
    struct fx *f = *state;
    struct dev p = pump_dev("pump-1", "bed-1"), m = monitor_dev("monitor-1", "bed-1");
    assert_int_equal(send_nibp(f, &m, 150, 95), 0);
    assert_int_equal(send_tele(f, &p, DG_PUMP_PROGRAMMED, 0), 0);
    assert_string_equal(last_of(f, "baseline-bp", NULL)->pump_id, "pump-1");
    fx_advance(f, 1000);
    p.bed = "bed-9";
    assert_int_equal(send_tele(f, &p, DG_PUMP_PROGRAMMED, 0), 0);
    struct dev q = pump_dev("pump-2", "bed-1");
    q.inc = 0x600;
    q.session = "s-q";
    fx_advance(f, 1000);
    assert_int_equal(send_tele(f, &q, DG_PUMP_PROGRAMMED, 0), 0);
    assert_string_equal(last_of(f, "baseline-bp", NULL)->pump_id, "pump-1");
    fx_advance(f, 1000);
    assert_int_equal(send_nibp(f, &m, 190, 115), 0);
    assert_int_equal(send_tele(f, &q, DG_PUMP_PROGRAMMED, 0), 0);
    assert_int_equal(fx_cmds(f, "pump-2", DG_CMD_STOP), 1);
    const struct dg_alert *a = last_of(f, "baseline-bp", NULL);
    assert_int_equal(a->n_targets, 1);
    assert_string_equal(a->targets[0], "pump-2");
    assert_string_equal(a->pump_id, "pump-2");
}

/* ------------------------------------------------------------ permits and fields */

/* Permits go only to running pumps that say they need them, carry a
   relative validity, and stop at once for a latched pump. */
static void permits_only_when_required(void **state)
{
    struct fx *f = *state;
    f->permit_to_infuse = true;
    dg_core_free(f->core);
    fx_start(f);
    struct dev p = pump_dev("pump-1", "bed-1"), q = pump_dev("pump-2", "bed-2");
    struct dev m = monitor_dev("monitor-1", "bed-1");
    q.permit = false;
    q.session = "s-q";
    q.inc = 0x700;
    start(f, &p, &m);
    assert_int_equal(send_tele(f, &q, DG_PUMP_RUNNING, 0.75), 0);
    fx_tick(f);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PERMIT), 1);
    assert_int_equal(fx_cmds(f, "pump-2", DG_CMD_PERMIT), 0);
    assert_int_equal(f->rec.cmds[f->rec.n_cmds - 1].permit_valid_for_ms, 5000);
    fx_advance(f, 1000);
    assert_int_equal(send_tele(f, &p, DG_PUMP_RUNNING, 7.5), 0); /* latched */
    fx_advance(f, 1000);
    fx_tick(f);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PERMIT), 1);
}

/* The two-warnings alert names the patient and the device time of the
   sample that made it. */
static void two_warnings_has_patient_and_time(void **state)
{
    struct fx *f = *state;
    struct dev p = pump_dev("pump-1", "bed-1"), m = monitor_dev("monitor-1", "bed-1");
    start(f, &p, &m);
    uint64_t t_ms = 0;
    for (int s = 0; s <= 60; s++) {
        struct dg_vitals v = vit(f, &m);
        v.heart_rate_bpm.value = 125;
        v.spo2_pct.value = 89;
        t_ms = v.device_time_ms;
        assert_int_equal(fx_send_vitals(f, &v), 0);
        fx_advance(f, 1000);
    }
    const struct dg_alert *a = last_of(f, "two-warnings", NULL);
    assert_non_null(a);
    assert_string_equal(a->patient_ref, "pt-1");
    assert_true(a->device_time_ms > 0 && a->device_time_ms <= t_ms);
    assert_string_equal(a->pump_id, "pump-1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(pump_reboot_is_never_a_duplicate, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(monitor_reboot_is_never_a_duplicate, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(duplicates_and_gaps_by_reason, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(vital_action_reaches_only_running_pumps, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(vital_action_reaches_every_running_pump, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(moved_pump_belongs_to_its_new_bed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(condition_delays_are_per_monitor, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(vitals_silent_of_a_bed_clears_when_a_monitor_reports,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(history_uses_corrected_times, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(forward_jump_adds_no_dose, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(jump_tolerance_at_below_above, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(backlog_burst_is_not_a_jump, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(jump_never_satisfies_a_delay, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(weight_edit_mid_session, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(weight_unchanged_raises_nothing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(concentration_edit_is_rechecked, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(resume_under_latch, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(second_latch_keeps_its_command, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(late_baseline_is_judged, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(baseline_grace_edges, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(baseline_wait_ends_when_the_pump_leaves, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(weight_reset_of_another_session_adopts_nothing, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(refused_message_keeps_its_clock_jump, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(alert_pump_is_its_first_target, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(permits_only_when_required, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(two_warnings_has_patient_and_time, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
