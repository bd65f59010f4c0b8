/*
 * core_fixture.h — a recording sink and a small world (one drug library,
 * one core, a clock) for unit tests of the interlock core. Header-only:
 * include it after <cmocka.h> in one test file.
 *
 * Time is one value moved by fx_advance(): the monotonic clock, the gateway's
 * wall clock and the device clocks all advance together, so device times
 * stay within the clock-skew limit unless a test says otherwise.
 */
#ifndef DG_TEST_CORE_FIXTURE_H
#define DG_TEST_CORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/core.h"
#include "core/error.h"

#define FX_MAXREC 512

struct fx_rec {
    int n_alerts, n_snaps, n_cmds, n_audit;
    struct dg_alert alerts[FX_MAXREC]; /* the alert as it was at each step */
    enum dg_alert_phase phases[FX_MAXREC];
    struct dg_command cmds[FX_MAXREC];
    char audit_types[FX_MAXREC][32];
    char audit_participants[FX_MAXREC][DG_ID_MAX];
    char audit_details[FX_MAXREC][DG_TEXT_MAX + 160];
    /* the last snapshot of each of the first 8 beds seen */
    struct {
        char bed[DG_ID_MAX];
        size_t n;
        char conditions[8][DG_ID_MAX];
        char alert_ids[8][DG_ID_MAX];
        bool latched[8];
        bool acked[8];
        enum dg_priority highest;
        uint64_t seq;
    } snaps[8];
};

struct fx {
    struct dg_druglib lib;
    struct fx_rec rec;
    dg_core *core;
    int64_t live_before;
    struct dg_now now;
    uint64_t device_ms; /* device clocks (same as wall unless a test skews it) */
    uint64_t pump_seq, monitor_seq;
    uint64_t pump_inc, monitor_inc; /* incarnations (boot ids) of pump-1, monitor-1 */
    bool permit_to_infuse;
};

static inline void fx_on_alert(void *ctx, const struct dg_alert_event *ev)
{
    struct fx_rec *r = ctx;
    assert_true(r->n_alerts < FX_MAXREC);
    r->phases[r->n_alerts] = ev->phase;
    r->alerts[r->n_alerts++] = *ev->alert;
}

static inline void fx_on_alarms(void *ctx, const struct dg_alarm_snapshot *s)
{
    struct fx_rec *r = ctx;
    r->n_snaps++;
    int k = 0;
    while (k < 8 && r->snaps[k].bed[0] && strcmp(r->snaps[k].bed, s->bed_id) != 0)
        k++;
    if (k == 8) return;
    snprintf(r->snaps[k].bed, DG_ID_MAX, "%s", s->bed_id);
    r->snaps[k].n = s->n_alerts;
    r->snaps[k].highest = s->highest;
    r->snaps[k].seq = s->seq;
    for (size_t i = 0; i < s->n_alerts && i < 8; i++) {
        snprintf(r->snaps[k].conditions[i], DG_ID_MAX, "%s", s->alerts[i]->condition);
        snprintf(r->snaps[k].alert_ids[i], DG_ID_MAX, "%s", s->alerts[i]->alert_id);
        r->snaps[k].latched[i] = s->alerts[i]->latched;
        r->snaps[k].acked[i] = s->alerts[i]->acknowledged;
    }
}

static inline void fx_on_command(void *ctx, const struct dg_command *cmd)
{
    struct fx_rec *r = ctx;
    assert_true(r->n_cmds < FX_MAXREC);
    r->cmds[r->n_cmds++] = *cmd;
}

static inline void fx_on_audit(void *ctx, const struct dg_audit_event *ev)
{
    struct fx_rec *r = ctx;
    assert_true(r->n_audit < FX_MAXREC);
    snprintf(r->audit_types[r->n_audit], 32, "%s", ev->event_type);
    snprintf(r->audit_participants[r->n_audit], DG_ID_MAX, "%s", ev->participant_id);
    snprintf(r->audit_details[r->n_audit], sizeof r->audit_details[0], "%s", ev->detail);
    r->n_audit++;
}

/* A core with the contract's ketamine-trd entry (care area infusion-clinic)
   and default vitals/liveness rules. Tests may edit f->lib before
   fx_start(); fx_setup() calls both. */
static inline struct fx *fx_new(void)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->live_before = dg_alloc_live();
    dg_druglib_defaults(&f->lib);
    f->lib.n_drugs = 1;
    struct dg_drug *d = &f->lib.drugs[0];
    snprintf(d->id, sizeof d->id, "ketamine-trd");
    snprintf(d->care_area, sizeof d->care_area, "infusion-clinic");
    dg_drug_defaults(d, 1);
    f->now.mono_ms = 1000;
    f->now.wall_ms = 1763700000000ull;
    f->device_ms = f->now.wall_ms;
    f->pump_inc = 0x1001;
    f->monitor_inc = 0x2001;
    return f;
}

static inline void fx_start(struct fx *f)
{
    struct dg_sink sink = {&f->rec, fx_on_alert, fx_on_alarms, fx_on_command, fx_on_audit};
    struct dg_core_config cfg = {.gateway_id = "gw-t",
                                 .id_prefix = "t1",
                                 .druglib = &f->lib,
                                 .permit_to_infuse = f->permit_to_infuse,
                                 .device_time_scale = 1};
    assert_int_equal(dg_core_new(&f->core, &cfg, &sink), 0);
}

static inline int fx_setup(void **state)
{
    struct fx *f = fx_new();
    fx_start(f);
    *state = f;
    return 0;
}

static inline int fx_teardown(void **state)
{
    struct fx *f = *state;
    dg_core_free(f->core);
    assert_int_equal(dg_alloc_live(), f->live_before);
    free(f);
    return 0;
}

/* Move every clock forward by ms (no tick: call fx_tick for that). */
static inline void fx_advance(struct fx *f, uint64_t ms)
{
    f->now.mono_ms += ms;
    f->now.wall_ms += ms;
    f->device_ms += ms;
}

static inline void fx_tick(struct fx *f)
{
    (void)dg_core_tick(f->core, f->now);
}

/* Telemetry of pump-1 on bed-1 for patient pt-1, session s-1: ketamine-trd,
   1 mg/mL, 70 kg, 0.5 mg/kg over 40 min, at rate_mg_kg_h (mL/h = x 70). */
static inline struct dg_telemetry fx_tele(struct fx *f, enum dg_pump_state st, double rate_mg_kg_h)
{
    struct dg_telemetry t;
    memset(&t, 0, sizeof t);
    snprintf(t.pump_id, sizeof t.pump_id, "pump-1");
    snprintf(t.bed_id, sizeof t.bed_id, "bed-1");
    snprintf(t.patient_ref, sizeof t.patient_ref, "pt-1");
    snprintf(t.session_id, sizeof t.session_id, "s-1");
    t.incarnation = f->pump_inc;
    t.seq = ++f->pump_seq;
    t.device_time_ms = f->device_ms;
    t.state = st;
    t.has_program = true;
    snprintf(t.program.drug_code, sizeof t.program.drug_code, "ketamine-trd");
    snprintf(t.program.care_area, sizeof t.program.care_area, "infusion-clinic");
    t.program.concentration_mg_per_ml = 1.0;
    t.program.patient_weight_kg = 70.0;
    t.program.dose_mg_per_kg = 0.5;
    t.program.duration_min = 40;
    t.rate_ml_per_h = rate_mg_kg_h * 70.0;
    t.program.rate_ml_per_h = t.rate_ml_per_h;
    t.permit_required = true;
    return t;
}

static inline int fx_send_tele(struct fx *f, const struct dg_telemetry *t)
{
    return dg_core_telemetry(f->core, t, f->now);
}

/* Vitals of monitor-1 on bed-1 with normal continuous values (HR 72,
   SpO2 98, RR 14, EtCO2 37) and no NIBP. */
static inline struct dg_vitals fx_vitals(struct fx *f)
{
    struct dg_vitals v;
    memset(&v, 0, sizeof v);
    snprintf(v.monitor_id, sizeof v.monitor_id, "monitor-1");
    snprintf(v.bed_id, sizeof v.bed_id, "bed-1");
    v.incarnation = f->monitor_inc;
    v.seq = ++f->monitor_seq;
    v.device_time_ms = f->device_ms;
    v.heart_rate_bpm = (struct dg_measurement){true, true, 72};
    v.spo2_pct = (struct dg_measurement){true, true, 98};
    v.resp_rate_bpm = (struct dg_measurement){true, true, 14};
    v.etco2_mmhg = (struct dg_measurement){true, true, 37};
    return v;
}

static inline void fx_nibp(struct dg_vitals *v, double sys, double dia)
{
    v->systolic_mmhg = (struct dg_measurement){true, true, sys};
    v->diastolic_mmhg = (struct dg_measurement){true, true, dia};
    v->mean_mmhg = (struct dg_measurement){true, true, (sys + 2 * dia) / 3};
}

static inline int fx_send_vitals(struct fx *f, const struct dg_vitals *v)
{
    return dg_core_vitals(f->core, v, f->now);
}

/* A normal baseline blood pressure (120/78) for bed-1, so a pump can start
   without the "no baseline" warning. */
static inline void fx_baseline(struct fx *f)
{
    struct dg_vitals v = fx_vitals(f);
    fx_nibp(&v, 120, 78);
    assert_int_equal(fx_send_vitals(f, &v), 0);
}

/* How many recorded steps of condition have this phase (0 = any phase). */
static inline int fx_count(const struct fx *f, const char *condition, enum dg_alert_phase phase)
{
    int n = 0;
    for (int i = 0; i < f->rec.n_alerts; i++)
        if (strcmp(f->rec.alerts[i].condition, condition) == 0 &&
            (phase == 0 || f->rec.phases[i] == phase))
            n++;
    return n;
}

/* The last recorded step of condition, or NULL. */
static inline const struct dg_alert *fx_last(const struct fx *f, const char *condition,
                                             enum dg_alert_phase *phase)
{
    for (int i = f->rec.n_alerts - 1; i >= 0; i--) {
        if (strcmp(f->rec.alerts[i].condition, condition) == 0) {
            if (phase) *phase = f->rec.phases[i];
            return &f->rec.alerts[i];
        }
    }
    return NULL;
}

/* Is condition active on bed (per the last snapshot of that bed)? */
static inline bool fx_active(const struct fx *f, const char *bed, const char *condition)
{
    for (int k = 0; k < 8; k++) {
        if (strcmp(f->rec.snaps[k].bed, bed) != 0) continue;
        for (size_t i = 0; i < f->rec.snaps[k].n && i < 8; i++)
            if (strcmp(f->rec.snaps[k].conditions[i], condition) == 0) return true;
    }
    return false;
}

/* How many commands of this action went to pump. */
static inline int fx_cmds(const struct fx *f, const char *pump, enum dg_command_action action)
{
    int n = 0;
    for (int i = 0; i < f->rec.n_cmds; i++)
        if (strcmp(f->rec.cmds[i].pump_id, pump) == 0 && f->rec.cmds[i].action == action) n++;
    return n;
}

#endif
