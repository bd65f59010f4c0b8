/*
 * test_core.c — the interlock core, table-driven, time passed in, no sleeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/core.h"
#include "core/error.h"

/* ------------------------------------------------------------ recording sink */

#define MAXREC 64

struct rec {
    int n_alerts, n_snaps, n_cmds, n_audit;
    struct dg_alert alerts[MAXREC];
    enum dg_alert_phase phases[MAXREC];
    struct dg_command cmds[MAXREC];
    char audit_types[MAXREC][32];
    char audit_participants[MAXREC][DG_ID_MAX];
    /* last snapshot */
    char snap_bed[DG_ID_MAX];
    size_t snap_n;
    char snap_conditions[8][DG_ID_MAX];
    bool snap_latched[8];
    bool snap_acked[8];
    enum dg_priority snap_highest;
    uint64_t snap_seq;
};

static void on_alert(void *ctx, const struct dg_alert_event *ev)
{
    struct rec *r = ctx;
    assert_true(r->n_alerts < MAXREC);
    r->phases[r->n_alerts] = ev->phase;
    r->alerts[r->n_alerts++] = *ev->alert;
}

static void on_alarms(void *ctx, const struct dg_alarm_snapshot *s)
{
    struct rec *r = ctx;
    r->n_snaps++;
    snprintf(r->snap_bed, sizeof r->snap_bed, "%s", s->bed_id);
    r->snap_n = s->n_alerts;
    r->snap_highest = s->highest;
    r->snap_seq = s->seq;
    for (size_t i = 0; i < s->n_alerts && i < 8; i++) {
        snprintf(r->snap_conditions[i], DG_ID_MAX, "%s", s->alerts[i]->condition);
        r->snap_latched[i] = s->alerts[i]->latched;
        r->snap_acked[i] = s->alerts[i]->acknowledged;
    }
}

static void on_command(void *ctx, const struct dg_command *cmd)
{
    struct rec *r = ctx;
    assert_true(r->n_cmds < MAXREC);
    r->cmds[r->n_cmds++] = *cmd;
}

static void on_audit(void *ctx, const struct dg_audit_event *ev)
{
    struct rec *r = ctx;
    assert_true(r->n_audit < MAXREC);
    snprintf(r->audit_types[r->n_audit], 32, "%s", ev->event_type);
    snprintf(r->audit_participants[r->n_audit], DG_ID_MAX, "%s", ev->participant_id);
    r->n_audit++;
}

/* ------------------------------------------------------------ fixture */

struct fx {
    struct dg_druglib lib;
    struct rec rec;
    dg_core *core;
    int64_t live_before;
    uint64_t seq;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->live_before = dg_alloc_live();
    dg_druglib_defaults(&f->lib);
    f->lib.n_drugs = 1;
    struct dg_drug *d = &f->lib.drugs[0];
    snprintf(d->id, sizeof d->id, "ketamine-trd");
    snprintf(d->care_area, sizeof d->care_area, "infusion-clinic");
    dg_drug_defaults(d, 1);
    struct dg_sink sink = {&f->rec, on_alert, on_alarms, on_command, on_audit};
    struct dg_core_config cfg = {.gateway_id = "gw-t", .id_prefix = "t1", .druglib = &f->lib};
    assert_int_equal(dg_core_new(&f->core, &cfg, &sink), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    dg_core_free(f->core);
    assert_int_equal(dg_alloc_live(), f->live_before);
    free(f);
    return 0;
}

static const struct dg_now NOW = {.mono_ms = 1000, .wall_ms = 1763700000000ull};

/* Telemetry for a 70 kg patient at 1 mg/mL, running at rate_mg_kg_h. */
static struct dg_telemetry tele(struct fx *f, enum dg_pump_state st, double rate_mg_kg_h)
{
    struct dg_telemetry t;
    memset(&t, 0, sizeof t);
    snprintf(t.pump_id, sizeof t.pump_id, "pump-1");
    snprintf(t.bed_id, sizeof t.bed_id, "bed-1");
    snprintf(t.patient_ref, sizeof t.patient_ref, "pt-1");
    snprintf(t.session_id, sizeof t.session_id, "s-1");
    t.seq = ++f->seq;
    t.device_time_ms = 1763700000000ull + t.seq * 100; /* within the skew limit of NOW */
    t.state = st;
    t.has_program = true;
    snprintf(t.program.drug_code, sizeof t.program.drug_code, "ketamine-trd");
    snprintf(t.program.care_area, sizeof t.program.care_area, "infusion-clinic");
    t.program.concentration_mg_per_ml = 1.0;
    t.program.patient_weight_kg = 70.0;
    t.program.dose_mg_per_kg = 0.5;
    t.program.duration_min = 40;
    t.rate_ml_per_h = rate_mg_kg_h * 70.0 / 1.0;
    t.program.rate_ml_per_h = t.rate_ml_per_h;
    return t;
}

static int feed(struct fx *f, enum dg_pump_state st, double rate)
{
    struct dg_telemetry t = tele(f, st, rate);
    return dg_core_telemetry(f->core, &t, NOW);
}

/* ------------------------------------------------------------ tests */

static void normal_rate_raises_nothing(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < 100; i++)
        assert_int_equal(feed(f, DG_PUMP_RUNNING, 0.75), 0);
    assert_int_equal(f->rec.n_alerts, 0);
    assert_int_equal(f->rec.n_cmds, 0);
    assert_int_equal(f->rec.n_snaps, 0);
}

/* The hard limit at, just below and just above its threshold: the rate
   alert escalates from medium to high and the pump is asked to pause. */
static void rate_hard_threshold(void **state)
{
    struct fx *f = *state;
    assert_int_equal(feed(f, DG_PUMP_RUNNING, 1.5), 0); /* at: soft only */
    assert_int_equal(f->rec.n_alerts, 1);
    assert_string_equal(f->rec.alerts[0].condition, "rate");
    assert_int_equal(f->rec.phases[0], DG_PHASE_RAISE);
    assert_int_equal(f->rec.alerts[0].priority, DG_PRIO_MEDIUM);
    assert_string_equal(f->rec.alerts[0].limit_source, "ketamine-trd.rate_mg_per_kg_h.soft");
    assert_int_equal(f->rec.n_cmds, 0);

    assert_int_equal(feed(f, DG_PUMP_RUNNING, 1.5001), 0); /* above: hard */
    assert_int_equal(f->rec.n_cmds, 1);
    assert_int_equal(f->rec.cmds[0].action, DG_CMD_PAUSE);
    assert_string_equal(f->rec.cmds[0].pump_id, "pump-1");
    assert_int_equal(f->rec.n_alerts, 2);
    assert_int_equal(f->rec.phases[1], DG_PHASE_ESCALATE);
    assert_string_equal(f->rec.alerts[1].alert_id, f->rec.alerts[0].alert_id);
    assert_int_equal(f->rec.alerts[1].priority, DG_PRIO_HIGH);
    assert_int_equal(f->rec.alerts[1].action, DG_ACTION_PAUSE);
    assert_true(f->rec.alerts[1].latched);
    assert_string_equal(f->rec.alerts[1].limit_source, "ketamine-trd.rate_mg_per_kg_h.hard");
    assert_int_equal(f->rec.snap_n, 1);
    assert_string_equal(f->rec.snap_conditions[0], "rate");
    assert_true(f->rec.snap_latched[0]);
    assert_int_equal(f->rec.snap_highest, DG_PRIO_HIGH);
    assert_string_equal(f->rec.cmds[0].reason_alert_id, f->rec.alerts[0].alert_id);
}

static void rate_soft_threshold_and_clear(void **state)
{
    struct fx *f = *state;
    assert_int_equal(feed(f, DG_PUMP_RUNNING, 1.125), 0); /* at: nothing */
    assert_int_equal(f->rec.n_alerts, 0);
    assert_int_equal(feed(f, DG_PUMP_RUNNING, 1.1251), 0); /* above */
    assert_int_equal(f->rec.n_alerts, 1);
    assert_int_equal(f->rec.phases[0], DG_PHASE_RAISE);
    assert_false(f->rec.alerts[0].latched);
    /* one alert, not one per message; small moves are not news */
    for (int i = 0; i < 10; i++)
        feed(f, DG_PUMP_RUNNING, 1.13);
    assert_int_equal(f->rec.n_alerts, 1);
    /* a move of 10 % of the limit or more is an update */
    feed(f, DG_PUMP_RUNNING, 1.25);
    assert_int_equal(f->rec.n_alerts, 2);
    assert_int_equal(f->rec.phases[1], DG_PHASE_UPDATE);
    /* back under: cleared, snapshot empty */
    assert_int_equal(feed(f, DG_PUMP_RUNNING, 1.0), 0);
    assert_int_equal(f->rec.n_alerts, 3);
    assert_int_equal(f->rec.phases[2], DG_PHASE_CLEAR);
    assert_string_equal(f->rec.alerts[2].alert_id, f->rec.alerts[0].alert_id);
    assert_int_equal(f->rec.snap_n, 0);
    assert_int_equal(f->rec.snap_highest, DG_PRIO_NONE);
    assert_int_equal(f->rec.n_cmds, 0);
}

static void hard_alert_latches_until_reset(void **state)
{
    struct fx *f = *state;
    feed(f, DG_PUMP_RUNNING, 7.5);
    assert_int_equal(f->rec.n_cmds, 1);
    char id[DG_ID_MAX];
    snprintf(id, sizeof id, "%s", f->rec.alerts[0].alert_id);
    /* pump obeys: paused, rate 0 — the latched alert stays */
    feed(f, DG_PUMP_PAUSED, 0);
    feed(f, DG_PUMP_PAUSED, 0);
    assert_int_equal(f->rec.snap_n, 1);
    assert_int_equal(f->rec.n_cmds, 1); /* no command storm */
    int before = f->rec.n_alerts;

    /* ack without reset: acknowledged, still active */
    struct dg_ack ack = {.reset = false};
    snprintf(ack.alert_id, sizeof ack.alert_id, "%s", id);
    snprintf(ack.user_id, sizeof ack.user_id, "nurse-7");
    snprintf(ack.ack_id, sizeof ack.ack_id, "ack-1");
    assert_int_equal(dg_core_ack(f->core, &ack, NOW), 0);
    assert_int_equal(f->rec.phases[before], DG_PHASE_ACKNOWLEDGE);
    assert_int_equal(f->rec.snap_n, 1);
    assert_true(f->rec.snap_acked[0]);
    /* redelivered ack: processed once */
    assert_int_equal(dg_core_ack(f->core, &ack, NOW), -DG_EDUP);

    /* ack with reset: cleared, by that user, audited */
    ack.reset = true;
    snprintf(ack.ack_id, sizeof ack.ack_id, "ack-2");
    assert_int_equal(dg_core_ack(f->core, &ack, NOW), 0);
    assert_int_equal(f->rec.phases[f->rec.n_alerts - 1], DG_PHASE_CLEAR);
    assert_int_equal(f->rec.snap_n, 0);
    assert_string_equal(f->rec.audit_types[f->rec.n_audit - 2], "alert.reset");
    assert_string_equal(f->rec.audit_types[f->rec.n_audit - 1], "alert.clear");
    assert_string_equal(f->rec.audit_participants[f->rec.n_audit - 1], "nurse-7");
    /* unknown alert */
    snprintf(ack.ack_id, sizeof ack.ack_id, "ack-3");
    assert_int_equal(dg_core_ack(f->core, &ack, NOW), -DG_ENOTFOUND);
}

static void duplicate_sequence_processed_once(void **state)
{
    struct fx *f = *state;
    struct dg_telemetry t = tele(f, DG_PUMP_RUNNING, 7.5);
    assert_int_equal(dg_core_telemetry(f->core, &t, NOW), 0);
    assert_int_equal(dg_core_telemetry(f->core, &t, NOW), -DG_EDUP);
    t.seq--; /* out of order, older */
    assert_int_equal(dg_core_telemetry(f->core, &t, NOW), -DG_EDUP);
    assert_int_equal(f->rec.n_cmds, 1);
    struct dg_core_stats st;
    dg_core_stats(f->core, &st);
    assert_int_equal(st.duplicates, 2);
    /* a new session restarts numbering */
    t.seq = 1;
    snprintf(t.session_id, sizeof t.session_id, "s-2");
    assert_int_equal(dg_core_telemetry(f->core, &t, NOW), 0);
}

static void not_running_or_no_weight_never_alerts(void **state)
{
    struct fx *f = *state;
    feed(f, DG_PUMP_PROGRAMMED, 7.5);
    feed(f, DG_PUMP_PAUSED, 7.5);
    struct dg_telemetry t = tele(f, DG_PUMP_RUNNING, 7.5);
    t.program.patient_weight_kg = 0; /* rate in mg/kg/h unknown */
    dg_core_telemetry(f->core, &t, NOW);
    t = tele(f, DG_PUMP_RUNNING, 7.5);
    snprintf(t.program.drug_code, sizeof t.program.drug_code, "other-drug");
    dg_core_telemetry(f->core, &t, NOW);
    assert_int_equal(f->rec.n_alerts, 0);
}

static void alerts_are_per_bed(void **state)
{
    struct fx *f = *state;
    feed(f, DG_PUMP_RUNNING, 7.5);
    struct dg_telemetry t = tele(f, DG_PUMP_RUNNING, 0.75);
    snprintf(t.pump_id, sizeof t.pump_id, "pump-2");
    snprintf(t.bed_id, sizeof t.bed_id, "bed-2");
    assert_int_equal(dg_core_telemetry(f->core, &t, NOW), 0);
    struct dg_core_stats st;
    dg_core_stats(f->core, &st);
    assert_int_equal(st.pumps, 2);
    assert_int_equal(st.beds, 2);
    assert_int_equal(st.active_alerts, 1);
    assert_string_equal(f->rec.snap_bed, "bed-1");
}

static void out_of_memory_is_reported_not_crashed(void **state)
{
    struct fx *f = *state;
    for (uint64_t n = 1; n < 12; n++) {
        dg_alloc_fail_after(n);
        struct dg_telemetry t = tele(f, DG_PUMP_RUNNING, 7.5);
        snprintf(t.pump_id, sizeof t.pump_id, "pump-oom-%llu", (unsigned long long)n);
        int rc = dg_core_telemetry(f->core, &t, NOW);
        assert_true(rc == 0 || rc == -DG_ENOMEM);
        dg_alloc_fail_after(0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(normal_rate_raises_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(rate_hard_threshold, setup, teardown),
        cmocka_unit_test_setup_teardown(rate_soft_threshold_and_clear, setup, teardown),
        cmocka_unit_test_setup_teardown(hard_alert_latches_until_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(duplicate_sequence_processed_once, setup, teardown),
        cmocka_unit_test_setup_teardown(not_running_or_no_weight_never_alerts, setup, teardown),
        cmocka_unit_test_setup_teardown(alerts_are_per_bed, setup, teardown),
        cmocka_unit_test_setup_teardown(out_of_memory_is_reported_not_crashed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
