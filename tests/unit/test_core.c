/*
 * test_core.c — the interlock core's lifecycle and clock: alert phases,
 * latches and acknowledgements, dedup, liveness, commands not honoured,
 * permits and clock skew. Table-driven where it helps, time passed in, no
 * sleeps. Rule thresholds are in test_rules_pump.c and test_rules_vitals.c.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/internal.h" /* the saved state's layout, to forge one */
#include "core_fixture.h"

#define teardown fx_teardown

/* Every test starts with a normal baseline blood pressure on bed-1. */
static int setup(void **state)
{
    fx_setup(state);
    fx_baseline(*state);
    return 0;
}

static int feed(struct fx *f, enum dg_pump_state st, double rate)
{
    struct dg_telemetry t = fx_tele(f, st, rate);
    return fx_send_tele(f, &t);
}

/* The snapshot of bed-1 as last published. */
#define SNAP (f->rec.snaps[0])

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
    assert_int_equal(SNAP.n, 1);
    assert_string_equal(SNAP.conditions[0], "rate");
    assert_true(SNAP.latched[0]);
    assert_int_equal(SNAP.highest, DG_PRIO_HIGH);
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
    /* a move of 10 % of the limit or more is an update, at most once a minute */
    feed(f, DG_PUMP_RUNNING, 1.25);
    assert_int_equal(f->rec.n_alerts, 1);
    fx_advance(f, 60000);
    feed(f, DG_PUMP_RUNNING, 1.25);
    assert_int_equal(f->rec.n_alerts, 2);
    assert_int_equal(f->rec.phases[1], DG_PHASE_UPDATE);
    /* back under: cleared, snapshot empty */
    assert_int_equal(feed(f, DG_PUMP_RUNNING, 1.0), 0);
    assert_int_equal(f->rec.n_alerts, 3);
    assert_int_equal(f->rec.phases[2], DG_PHASE_CLEAR);
    assert_string_equal(f->rec.alerts[2].alert_id, f->rec.alerts[0].alert_id);
    assert_int_equal(SNAP.n, 0);
    assert_int_equal(SNAP.highest, DG_PRIO_NONE);
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
    assert_int_equal(SNAP.n, 1);
    assert_int_equal(f->rec.n_cmds, 1); /* no command storm */
    int before = f->rec.n_alerts;

    /* ack without reset: acknowledged, still active */
    struct dg_ack ack = {.reset = false};
    snprintf(ack.alert_id, sizeof ack.alert_id, "%s", id);
    snprintf(ack.user_id, sizeof ack.user_id, "nurse-7");
    snprintf(ack.ack_id, sizeof ack.ack_id, "ack-1");
    assert_int_equal(dg_core_ack(f->core, &ack, f->now), 0);
    assert_int_equal(f->rec.phases[before], DG_PHASE_ACKNOWLEDGE);
    assert_int_equal(SNAP.n, 1);
    assert_true(SNAP.acked[0]);
    /* redelivered ack: processed once */
    assert_int_equal(dg_core_ack(f->core, &ack, f->now), -DG_EDUP);

    /* ack with reset: cleared, by that user, audited */
    ack.reset = true;
    snprintf(ack.ack_id, sizeof ack.ack_id, "ack-2");
    assert_int_equal(dg_core_ack(f->core, &ack, f->now), 0);
    assert_int_equal(f->rec.phases[f->rec.n_alerts - 1], DG_PHASE_CLEAR);
    assert_int_equal(SNAP.n, 0);
    assert_string_equal(f->rec.audit_types[f->rec.n_audit - 2], "alert.reset");
    assert_string_equal(f->rec.audit_types[f->rec.n_audit - 1], "alert.clear");
    assert_string_equal(f->rec.audit_participants[f->rec.n_audit - 1], "nurse-7");
    /* unknown alert */
    snprintf(ack.ack_id, sizeof ack.ack_id, "ack-3");
    assert_int_equal(dg_core_ack(f->core, &ack, f->now), -DG_ENOTFOUND);
}

/* The audit trail says which user acknowledged and through which dashboard
   certificate (the id the shell took from the ack's topic): both on the
   acknowledge, the reset and the clear. The alert events stay as they were. */
static void ack_audit_names_user_and_dashboard(void **state)
{
    struct fx *f = *state;
    feed(f, DG_PUMP_RUNNING, 7.5);
    char id[DG_ID_MAX];
    snprintf(id, sizeof id, "%s", f->rec.alerts[0].alert_id);
    feed(f, DG_PUMP_PAUSED, 0);
    int audits = f->rec.n_audit, alerts = f->rec.n_alerts;

    struct dg_ack ack = {.reset = true};
    snprintf(ack.alert_id, sizeof ack.alert_id, "%s", id);
    snprintf(ack.user_id, sizeof ack.user_id, "nurse-7");
    snprintf(ack.dashboard_id, sizeof ack.dashboard_id, "dashboard-1");
    snprintf(ack.ack_id, sizeof ack.ack_id, "ack-1");
    assert_int_equal(dg_core_ack(f->core, &ack, f->now), 0);

    assert_int_equal(f->rec.n_audit, audits + 3);
    assert_string_equal(f->rec.audit_types[audits], "alert.acknowledge");
    assert_string_equal(f->rec.audit_types[audits + 1], "alert.reset");
    assert_string_equal(f->rec.audit_types[audits + 2], "alert.clear");
    for (int i = audits; i < audits + 3; i++)
        assert_string_equal(f->rec.audit_participants[i], "nurse-7 via dashboard-1");
    char want[DG_TEXT_MAX];
    snprintf(want, sizeof want, "latch of %s (rate) reset by nurse-7 via dashboard-1", id);
    assert_string_equal(f->rec.audit_details[audits + 1], want);
    /* The alert's own lifecycle: acknowledge, then clear, as before. */
    assert_int_equal(f->rec.n_alerts, alerts + 2);
    assert_int_equal(f->rec.phases[alerts], DG_PHASE_ACKNOWLEDGE);
    assert_int_equal(f->rec.phases[alerts + 1], DG_PHASE_CLEAR);

    /* No dashboard id (a caller that has none): the user alone, as before. */
    feed(f, DG_PUMP_RUNNING, 7.5);
    snprintf(id, sizeof id, "%s", f->rec.alerts[f->rec.n_alerts - 1].alert_id);
    audits = f->rec.n_audit;
    snprintf(ack.alert_id, sizeof ack.alert_id, "%s", id);
    ack.dashboard_id[0] = '\0';
    ack.reset = false;
    snprintf(ack.ack_id, sizeof ack.ack_id, "ack-2");
    assert_int_equal(dg_core_ack(f->core, &ack, f->now), 0);
    assert_string_equal(f->rec.audit_types[audits], "alert.acknowledge");
    assert_string_equal(f->rec.audit_participants[audits], "nurse-7");
}

static void duplicate_sequence_processed_once(void **state)
{
    struct fx *f = *state;
    struct dg_telemetry t = fx_tele(f, DG_PUMP_RUNNING, 7.5);
    assert_int_equal(fx_send_tele(f, &t), 0);
    assert_int_equal(fx_send_tele(f, &t), -DG_EDUP);
    t.seq--; /* out of order, older */
    assert_int_equal(fx_send_tele(f, &t), -DG_EDUP);
    assert_int_equal(f->rec.n_cmds, 1);
    struct dg_core_stats st;
    dg_core_stats(f->core, &st);
    assert_int_equal(st.duplicates, 2);
    /* a new session does not restart numbering: sequence numbers are per
       incarnation (a boot), so seq 1 again is a duplicate ... */
    t.seq = 1;
    snprintf(t.session_id, sizeof t.session_id, "s-2");
    assert_int_equal(fx_send_tele(f, &t), -DG_EDUP);
    /* ... and a reboot (a new incarnation) does, even within the session */
    t.incarnation = 0x1002;
    assert_int_equal(fx_send_tele(f, &t), 0);
    dg_core_stats(f->core, &st);
    assert_int_equal(st.duplicates, 3);
    assert_int_equal(st.dup_repeated, 2);  /* seq 1 twice more */
    assert_int_equal(st.dup_backwards, 1); /* seq 0 after 1 */
    assert_int_equal(st.reboots, 1);
}

static void alerts_are_per_bed(void **state)
{
    struct fx *f = *state;
    feed(f, DG_PUMP_RUNNING, 7.5);
    struct dg_vitals v = fx_vitals(f);
    snprintf(v.monitor_id, sizeof v.monitor_id, "monitor-2");
    snprintf(v.bed_id, sizeof v.bed_id, "bed-2");
    fx_nibp(&v, 118, 76);
    assert_int_equal(fx_send_vitals(f, &v), 0);
    struct dg_telemetry t = fx_tele(f, DG_PUMP_RUNNING, 0.75);
    snprintf(t.pump_id, sizeof t.pump_id, "pump-2");
    snprintf(t.bed_id, sizeof t.bed_id, "bed-2");
    snprintf(t.patient_ref, sizeof t.patient_ref, "pt-2");
    assert_int_equal(fx_send_tele(f, &t), 0);
    struct dg_core_stats st;
    dg_core_stats(f->core, &st);
    assert_int_equal(st.pumps, 2);
    assert_int_equal(st.monitors, 2);
    assert_int_equal(st.beds, 2);
    assert_int_equal(st.active_alerts, 1);
    assert_string_equal(f->rec.snaps[0].bed, "bed-1");
    assert_string_equal(f->rec.snaps[1].bed, "");
}

static void out_of_memory_is_reported_not_crashed(void **state)
{
    struct fx *f = *state;
    for (uint64_t n = 1; n < 12; n++) {
        dg_alloc_fail_after(n);
        struct dg_telemetry t = fx_tele(f, DG_PUMP_RUNNING, 7.5);
        snprintf(t.pump_id, sizeof t.pump_id, "pump-oom-%llu", (unsigned long long)n);
        int rc = fx_send_tele(f, &t);
        assert_true(rc == 0 || rc == -DG_ENOMEM);
        dg_alloc_fail_after(0);
    }
}

/* A hard tier without an action does not latch: it deescalates and clears. */
static void unlatched_alert_deescalates_then_clears(void **state)
{
    struct fx *f = fx_new();
    f->lib.drugs[0].rate_hard_action = DG_ACTION_NONE;
    fx_start(f);
    *state = f;
    fx_baseline(f);
    feed(f, DG_PUMP_RUNNING, 2.0);
    feed(f, DG_PUMP_RUNNING, 1.2);
    feed(f, DG_PUMP_RUNNING, 1.0);
    assert_int_equal(f->rec.n_alerts, 3);
    assert_int_equal(f->rec.phases[0], DG_PHASE_RAISE);
    assert_int_equal(f->rec.alerts[0].priority, DG_PRIO_HIGH);
    assert_false(f->rec.alerts[0].latched);
    assert_int_equal(f->rec.phases[1], DG_PHASE_DEESCALATE);
    assert_int_equal(f->rec.alerts[1].priority, DG_PRIO_MEDIUM);
    assert_int_equal(f->rec.phases[2], DG_PHASE_CLEAR);
    assert_int_equal(f->rec.n_cmds, 0);
    assert_int_equal(SNAP.n, 0);
}

/* Pump telemetry silent while running: medium after 5 s, high after 30 s
   (gateway monotonic clock), cleared by the next message. */
static void pump_silent_tiers(void **state)
{
    struct fx *f = *state;
    feed(f, DG_PUMP_RUNNING, 0.75);
    fx_advance(f, 5000);
    fx_tick(f);
    assert_int_equal(fx_count(f, "pump-silent", 0), 0); /* at 5 s: not yet */
    fx_advance(f, 1);
    fx_tick(f);
    enum dg_alert_phase ph;
    const struct dg_alert *a = fx_last(f, "pump-silent", &ph);
    assert_non_null(a);
    assert_int_equal(ph, DG_PHASE_RAISE);
    assert_int_equal(a->priority, DG_PRIO_MEDIUM);
    assert_int_equal(a->kind, DG_KIND_TECHNICAL);
    fx_advance(f, 25000);
    fx_tick(f);
    assert_int_equal(fx_count(f, "pump-silent", DG_PHASE_ESCALATE), 1);
    assert_int_equal(fx_last(f, "pump-silent", NULL)->priority, DG_PRIO_HIGH);
    feed(f, DG_PUMP_RUNNING, 0.75);
    fx_last(f, "pump-silent", &ph);
    assert_int_equal(ph, DG_PHASE_CLEAR);
    assert_false(fx_active(f, "bed-1", "pump-silent"));
    /* a pump that is not running is not expected to talk */
    feed(f, DG_PUMP_COMPLETE, 0);
    fx_advance(f, 60000);
    fx_tick(f);
    assert_int_equal(fx_count(f, "pump-silent", DG_PHASE_RAISE), 1);
}

/* Continuous vitals silent while the bed's pump runs: 10 s medium, 60 s high. */
static void vitals_silent_tiers(void **state)
{
    struct fx *f = *state;
    feed(f, DG_PUMP_RUNNING, 0.75);
    struct dg_vitals v = fx_vitals(f);
    fx_send_vitals(f, &v);
    for (int i = 0; i < 10; i++) { /* pump keeps talking; vitals do not */
        fx_advance(f, 1000);
        feed(f, DG_PUMP_RUNNING, 0.75);
        fx_tick(f);
    }
    assert_int_equal(fx_count(f, "vitals-silent", 0), 0); /* exactly 10 s */
    fx_advance(f, 1);
    fx_tick(f);
    assert_int_equal(fx_count(f, "vitals-silent", DG_PHASE_RAISE), 1);
    assert_int_equal(fx_last(f, "vitals-silent", NULL)->priority, DG_PRIO_MEDIUM);
    for (int i = 0; i < 50; i++) {
        fx_advance(f, 1000);
        feed(f, DG_PUMP_RUNNING, 0.75);
        fx_tick(f);
    }
    assert_int_equal(fx_count(f, "vitals-silent", DG_PHASE_ESCALATE), 1);
    assert_int_equal(fx_last(f, "vitals-silent", NULL)->priority, DG_PRIO_HIGH);
    v = fx_vitals(f);
    fx_send_vitals(f, &v);
    assert_int_equal(fx_count(f, "vitals-silent", DG_PHASE_CLEAR), 1);
}

/* No NIBP for more than 15 min while running: a low technical alert. */
static void nibp_stale(void **state)
{
    struct fx *f = *state;
    struct dg_vitals v = fx_vitals(f);
    fx_nibp(&v, 120, 78);
    fx_send_vitals(f, &v);
    feed(f, DG_PUMP_RUNNING, 0.75);
    for (int s = 0; s < 15 * 60; s += 5) {
        fx_advance(f, 5000);
        feed(f, DG_PUMP_RUNNING, 0.75);
        v = fx_vitals(f);
        fx_send_vitals(f, &v);
        fx_tick(f);
    }
    assert_int_equal(fx_count(f, "nibp-stale", 0), 0); /* 15 min exactly */
    fx_advance(f, 1000);
    fx_tick(f);
    const struct dg_alert *a = fx_last(f, "nibp-stale", NULL);
    assert_non_null(a);
    assert_int_equal(a->priority, DG_PRIO_LOW);
    v = fx_vitals(f);
    fx_nibp(&v, 121, 79);
    fx_send_vitals(f, &v);
    assert_int_equal(fx_count(f, "nibp-stale", DG_PHASE_CLEAR), 1);
}

/* A pause the pump does not obey: 5 s after the command, a report that it
   still runs escalates the alert and asks for a stop. */
static void command_not_honoured_escalates_to_stop(void **state)
{
    struct fx *f = *state;
    feed(f, DG_PUMP_RUNNING, 7.5);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PAUSE), 1);
    fx_advance(f, 4999);
    feed(f, DG_PUMP_RUNNING, 7.5);
    fx_tick(f);
    assert_int_equal(fx_count(f, "rate", DG_PHASE_ESCALATE), 0);
    fx_advance(f, 1);
    fx_tick(f);
    assert_int_equal(fx_count(f, "rate", DG_PHASE_ESCALATE), 1);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), 1);
    assert_int_equal(fx_last(f, "rate", NULL)->action, DG_ACTION_STOP);
    bool audited = false;
    for (int i = 0; i < f->rec.n_audit; i++)
        audited |= strcmp(f->rec.audit_types[i], "command.not_honoured") == 0;
    assert_true(audited);
    /* no storm: the stop gets its own 5 s, escalation happens once more at most */
    for (int i = 0; i < 20; i++) {
        fx_advance(f, 1000);
        feed(f, DG_PUMP_RUNNING, 7.5);
        fx_tick(f);
    }
    assert_int_equal(fx_count(f, "rate", DG_PHASE_ESCALATE), 2);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), 1);
    /* honoured at last */
    feed(f, DG_PUMP_STOPPED, 0);
    audited = false;
    for (int i = 0; i < f->rec.n_audit; i++)
        audited |= strcmp(f->rec.audit_types[i], "command.honoured") == 0;
    assert_true(audited);
}

static int setup_permits(void **state)
{
    struct fx *f = fx_new();
    f->permit_to_infuse = true;
    fx_start(f);
    *state = f;
    fx_baseline(f);
    return 0;
}

/* Permits: every second to each running pump, valid 5 s; withheld while a
   latched alert stands for the pump; never to a pump that is not running. */
static void permits_follow_running_and_latches(void **state)
{
    struct fx *f = *state;
    feed(f, DG_PUMP_PROGRAMMED, 0.75);
    fx_tick(f);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PERMIT), 0);
    feed(f, DG_PUMP_RUNNING, 0.75);
    fx_tick(f);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PERMIT), 1);
    const struct dg_command *c = &f->rec.cmds[f->rec.n_cmds - 1];
    assert_int_equal(c->permit_valid_for_ms, 5000);
    fx_advance(f, 999);
    fx_tick(f);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PERMIT), 1);
    fx_advance(f, 1);
    fx_tick(f);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PERMIT), 2);
    /* overrate: latched pause; the permit is let lapse */
    feed(f, DG_PUMP_RUNNING, 7.5);
    for (int i = 0; i < 5; i++) {
        fx_advance(f, 1000);
        fx_tick(f);
    }
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PERMIT), 2);
    bool withheld = false;
    for (int i = 0; i < f->rec.n_audit; i++)
        withheld |= strcmp(f->rec.audit_types[i], "permit.withheld") == 0;
    assert_true(withheld);
    /* reset by a clinician, restarted at the pump: permits again */
    feed(f, DG_PUMP_PAUSED, 0);
    const struct dg_alert *a = fx_last(f, "rate", NULL);
    struct dg_ack ack = {.reset = true};
    snprintf(ack.alert_id, sizeof ack.alert_id, "%s", a->alert_id);
    snprintf(ack.user_id, sizeof ack.user_id, "nurse-1");
    assert_int_equal(dg_core_ack(f->core, &ack, f->now), 0);
    feed(f, DG_PUMP_RUNNING, 0.75);
    fx_advance(f, 1000);
    fx_tick(f);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PERMIT), 3);
}

/* A device clock more than 30 s off raises a low advisory; back in line, it clears. */
static void clock_skew_advisory(void **state)
{
    struct fx *f = *state;
    struct dg_telemetry t = fx_tele(f, DG_PUMP_PROGRAMMED, 0.75);
    t.device_time_ms = f->now.wall_ms + 30000; /* at the limit */
    fx_send_tele(f, &t);
    assert_int_equal(fx_count(f, "clock-skew", 0), 0);
    t = fx_tele(f, DG_PUMP_PROGRAMMED, 0.75);
    t.device_time_ms = f->now.wall_ms + 30001;
    fx_send_tele(f, &t);
    const struct dg_alert *a = fx_last(f, "clock-skew", NULL);
    assert_non_null(a);
    assert_int_equal(a->kind, DG_KIND_ADVISORY);
    assert_int_equal(a->priority, DG_PRIO_LOW);
    t = fx_tele(f, DG_PUMP_PROGRAMMED, 0.75);
    t.device_time_ms = f->now.wall_ms - 1000;
    fx_send_tele(f, &t);
    assert_int_equal(fx_count(f, "clock-skew", DG_PHASE_CLEAR), 1);
}

/* With a simulator's compressed clock, only the first message is judged. */
static void clock_skew_scaled_first_message_only(void **state)
{
    struct fx *f = fx_new();
    struct dg_sink sink = {&f->rec, fx_on_alert, fx_on_alarms, fx_on_command, fx_on_audit};
    struct dg_core_config cfg = {
        .gateway_id = "gw-t", .id_prefix = "t1", .druglib = &f->lib, .device_time_scale = 60};
    assert_int_equal(dg_core_new(&f->core, &cfg, &sink), 0);
    *state = f;
    fx_baseline(f);
    struct dg_telemetry t = fx_tele(f, DG_PUMP_PROGRAMMED, 0.75);
    fx_send_tele(f, &t);
    t = fx_tele(f, DG_PUMP_PROGRAMMED, 0.75);
    t.device_time_ms = f->now.wall_ms + 3600000; /* an hour ahead: 60x time */
    fx_send_tele(f, &t);
    assert_int_equal(fx_count(f, "clock-skew", 0), 0);
}

/* Save, then load into a new core (a restart): the latched alert, its
   acknowledgement path and the dedup state survive. */
static void restart_keeps_latched_alert(void **state)
{
    struct fx *f = *state;
    feed(f, DG_PUMP_RUNNING, 7.5);
    feed(f, DG_PUMP_PAUSED, 0);
    char id[DG_ID_MAX];
    snprintf(id, sizeof id, "%s", fx_last(f, "rate", NULL)->alert_id);
    uint8_t *blob = NULL;
    size_t len = 0;
    assert_int_equal(dg_core_save(f->core, &blob, &len), 0);
    dg_core_free(f->core);
    fx_start(f); /* a new process */
    fx_advance(f, 3600000);
    assert_int_equal(dg_core_load(f->core, blob, len, f->now), 0);
    dg_free(blob);
    struct dg_core_stats st;
    dg_core_stats(f->core, &st);
    assert_int_equal(st.active_alerts, 1);
    assert_int_equal(st.pumps, 1);
    /* the last message before the restart is still a duplicate */
    struct dg_telemetry t = fx_tele(f, DG_PUMP_PAUSED, 0);
    t.seq = f->pump_seq - 1;
    assert_int_equal(fx_send_tele(f, &t), -DG_EDUP);
    /* the loaded alert is acknowledged and reset by its old id */
    struct dg_ack ack = {.reset = true};
    snprintf(ack.alert_id, sizeof ack.alert_id, "%s", id);
    snprintf(ack.user_id, sizeof ack.user_id, "nurse-2");
    assert_int_equal(dg_core_ack(f->core, &ack, f->now), 0);
    dg_core_stats(f->core, &st);
    assert_int_equal(st.active_alerts, 0);
    /* liveness timers restart from the load, not from the old clock */
    fx_tick(f);
    assert_int_equal(fx_count(f, "pump-silent", 0), 0);
}

/* A dose ceiling is never reset by a restart: the first session's dose is
   remembered, and a second session the same day that would pass the 24 h
   ceiling is refused at its start. */
static void restart_never_resets_24h_dose(void **state)
{
    struct fx *f = *state;
    struct dg_telemetry t = fx_tele(f, DG_PUMP_RUNNING, 0.75);
    fx_send_tele(f, &t);
    fx_advance(f, 40 * 60000);
    t = fx_tele(f, DG_PUMP_COMPLETE, 0);
    t.dose_infused_mg = 35.0; /* 0.5 mg/kg at 70 kg */
    t.volume_infused_ml = 35.0;
    fx_send_tele(f, &t);
    uint8_t *blob = NULL;
    size_t len = 0;
    assert_int_equal(dg_core_save(f->core, &blob, &len), 0);
    dg_core_free(f->core);
    fx_start(f);
    fx_advance(f, 60 * 60000);
    assert_int_equal(dg_core_load(f->core, blob, len, f->now), 0);
    dg_free(blob);
    fx_baseline(f);
    t = fx_tele(f, DG_PUMP_PROGRAMMED, 0.75);
    snprintf(t.session_id, sizeof t.session_id, "s-2");
    t.program.dose_mg_per_kg = 0.7;
    fx_send_tele(f, &t);
    const struct dg_alert *a = fx_last(f, "dose-24h", NULL);
    assert_non_null(a);
    assert_int_equal(a->priority, DG_PRIO_HIGH);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), 1);
}

/* A damaged or foreign blob is refused and the core keeps its state. */
static void damaged_state_is_refused(void **state)
{
    struct fx *f = *state;
    feed(f, DG_PUMP_RUNNING, 7.5);
    uint8_t *blob = NULL;
    size_t len = 0;
    assert_int_equal(dg_core_save(f->core, &blob, &len), 0);
    blob[len / 2] ^= 0x01;
    assert_int_equal(dg_core_load(f->core, blob, len, f->now), -DG_EINVAL);
    blob[len / 2] ^= 0x01;
    assert_int_equal(dg_core_load(f->core, blob, len - 1, f->now), -DG_EINVAL);
    assert_int_equal(dg_core_load(f->core, blob, 3, f->now), -DG_EINVAL);
    struct dg_core_stats st;
    dg_core_stats(f->core, &st);
    assert_int_equal(st.active_alerts, 1);
    /* out of memory while loading: refused, nothing leaks, state kept */
    for (uint64_t n = 1; n < 8; n++) {
        dg_alloc_fail_after(n);
        int rc = dg_core_load(f->core, blob, len, f->now);
        dg_alloc_fail_after(0);
        assert_true(rc == 0 || rc == -DG_ENOMEM);
        dg_core_stats(f->core, &st);
        assert_int_equal(st.active_alerts, 1);
    }
    dg_free(blob);
}

/* ------------------------------------------------------------ forged states */

/*
 * A saved state taken apart into its structs (persist.c's layout: header,
 * ack ids, pumps, monitors, patients, beds each followed by its alerts,
 * FNV-1a trailer), to be edited one field at a time and put back together
 * with a right checksum: what someone who can write the state directory
 * can make. The state: pump-1 on bed-1 over its hard rate (a latched rate
 * alert, a pause pending), monitor-1 there with a baseline and a heart rate
 * over its critical limit (a second alert), an acknowledgement, and pump-2
 * running on bed-2 for another patient.
 */
#define FG_PUMPS    2
#define FG_BEDS     2
#define FG_PATIENTS 2
#define FG_ALERTS   8

struct forge {
    struct dg_persist_header h;
    char ack_ids[DG_ACK_IDS_KEPT][DG_ID_MAX];
    struct dg_pump pumps[FG_PUMPS];
    struct dg_monitor monitor;
    struct dg_patient patients[FG_PATIENTS];
    struct dg_bed beds[FG_BEDS];
    struct dg_alert alerts[FG_BEDS][FG_ALERTS];
};

static void forged_world(struct fx *f)
{
    struct dg_telemetry t = fx_tele(f, DG_PUMP_RUNNING, 7.5);
    assert_int_equal(fx_send_tele(f, &t), 0);
    struct dg_vitals v = fx_vitals(f);
    v.heart_rate_bpm.value = 160; /* over the critical 150 while a pump runs */
    assert_int_equal(fx_send_vitals(f, &v), 0);
    struct dg_ack ack = {.reset = false};
    snprintf(ack.alert_id, sizeof ack.alert_id, "%s", fx_last(f, "rate", NULL)->alert_id);
    snprintf(ack.user_id, sizeof ack.user_id, "nurse-1");
    snprintf(ack.ack_id, sizeof ack.ack_id, "k-1");
    assert_int_equal(dg_core_ack(f->core, &ack, f->now), 0);
    t = fx_tele(f, DG_PUMP_RUNNING, 0.75);
    snprintf(t.pump_id, sizeof t.pump_id, "pump-2");
    snprintf(t.bed_id, sizeof t.bed_id, "bed-2");
    snprintf(t.patient_ref, sizeof t.patient_ref, "pt-2");
    snprintf(t.session_id, sizeof t.session_id, "s-9");
    t.incarnation = 0x1002;
    t.seq = 1;
    assert_int_equal(fx_send_tele(f, &t), 0);
}

/* blob[len] into g; the layout must be the one this test knows. */
static void forge_parse(const uint8_t *blob, size_t len, struct forge *g)
{
    memset(g, 0, sizeof *g);
    size_t off = 0;
#define TAKE(dst, n)                                                                               \
    do {                                                                                           \
        assert_true(off + (n) <= len);                                                             \
        memcpy((dst), blob + off, (n));                                                            \
        off += (n);                                                                                \
    } while (0)
    TAKE(&g->h, sizeof g->h);
    assert_int_equal(g->h.n_pumps, FG_PUMPS);
    assert_int_equal(g->h.n_monitors, 1);
    assert_int_equal(g->h.n_patients, FG_PATIENTS);
    assert_int_equal(g->h.n_beds, FG_BEDS);
    TAKE(g->ack_ids, sizeof g->ack_ids);
    TAKE(g->pumps, sizeof g->pumps);
    TAKE(&g->monitor, sizeof g->monitor);
    TAKE(g->patients, sizeof g->patients);
    for (size_t i = 0; i < FG_BEDS; i++) {
        TAKE(&g->beds[i], sizeof g->beds[i]);
        assert_true(g->beds[i].n_alerts <= FG_ALERTS);
        for (size_t j = 0; j < g->beds[i].n_alerts; j++)
            TAKE(&g->alerts[i][j], sizeof g->alerts[i][j]);
    }
#undef TAKE
    assert_int_equal(off + 8, len);
}

/* g back into blob (the same length), with the checksum of the result. */
static void forge_build(const struct forge *g, uint8_t *blob, size_t len)
{
    size_t off = 0;
#define PUT(src, n)                                                                                \
    do {                                                                                           \
        memcpy(blob + off, (src), (n));                                                            \
        off += (n);                                                                                \
    } while (0)
    PUT(&g->h, sizeof g->h);
    PUT(g->ack_ids, sizeof g->ack_ids);
    PUT(g->pumps, sizeof g->pumps);
    PUT(&g->monitor, sizeof g->monitor);
    PUT(g->patients, sizeof g->patients);
    for (size_t i = 0; i < FG_BEDS; i++) {
        PUT(&g->beds[i], sizeof g->beds[i]);
        for (size_t j = 0; j < g->beds[i].n_alerts; j++)
            PUT(&g->alerts[i][j], sizeof g->alerts[i][j]);
    }
#undef PUT
    assert_int_equal(off + 8, len);
    uint64_t sum = dg_persist_checksum(blob, off);
    memcpy(blob + off, &sum, 8);
}

/* A bool holding another byte than 0 or 1 (written as a byte). */
static void set_flag(bool *b, unsigned char v)
{
    memcpy(b, &v, 1);
}

/* The alert of condition on bed 0 (bed-1). */
static struct dg_alert *forge_alert(struct forge *g, const char *condition)
{
    for (size_t j = 0; j < g->beds[0].n_alerts; j++)
        if (strcmp(g->alerts[0][j].condition, condition) == 0) return &g->alerts[0][j];
    fail_msg("no %s alert on bed-1", condition);
    return NULL;
}

/* One forgery each, every one a state the core cannot have written and
   that the harness tests/fuzz/fuzz_state_load.c found to crash or corrupt
   the core once loaded (or, for n_nibp and n_sessions, checked before). */
static void fg_ack_id_unterminated(struct forge *g)
{
    memset(g->ack_ids[0], 'k', DG_ID_MAX);
}
static void fg_pump_id_unterminated(struct forge *g)
{
    memset(g->pumps[0].id, 'p', DG_ID_MAX);
}
static void fg_pump_bed_unterminated(struct forge *g)
{
    memset(g->pumps[0].bed_id, 'b', DG_ID_MAX);
}
static void fg_program_drug_unterminated(struct forge *g)
{
    memset(g->pumps[0].last.program.drug_code, 'd', DG_ID_MAX);
}
static void fg_pump_bool(struct forge *g)
{
    set_flag(&g->pumps[0].started, 2);
}
static void fg_pump_have_last_bool(struct forge *g)
{
    set_flag(&g->pumps[0].have_last, 0x77);
}
static void fg_pending_active_bool(struct forge *g)
{
    set_flag(&g->pumps[0].pending.active, 0x40);
}
static void fg_pump_state(struct forge *g)
{
    g->pumps[0].state = (enum dg_pump_state)42;
}
static void fg_last_state(struct forge *g)
{
    g->pumps[0].last.state = (enum dg_pump_state)99;
}
static void fg_pending_action(struct forge *g)
{
    g->pumps[0].pending.action = (enum dg_command_action)7;
}
static void fg_pending_without_action(struct forge *g)
{
    g->pumps[0].pending.action = (enum dg_command_action)0;
}
static void fg_retired_beyond_array(struct forge *g)
{
    g->pumps[0].seq.n_retired = DG_INCARNATIONS_KEPT + 1;
}
static void fg_clock_offset(struct forge *g)
{
    g->pumps[0].clock.offset_ms = INT64_MIN;
}
static void fg_clock_time(struct forge *g)
{
    g->pumps[0].clock.last_device_ms = UINT64_MAX;
}
static void fg_integrated_nan(struct forge *g)
{
    g->pumps[0].integrated_mg = NAN;
}
static void fg_weight_negative(struct forge *g)
{
    g->pumps[0].trusted_weight_kg = -70;
}
static void fg_last_rate_nan(struct forge *g)
{
    g->pumps[0].last.rate_ml_per_h = NAN;
}
static void fg_pump_id_twice(struct forge *g)
{
    memcpy(g->pumps[1].id, g->pumps[0].id, DG_ID_MAX);
}
static void fg_monitor_id_unterminated(struct forge *g)
{
    memset(g->monitor.id, 'm', DG_ID_MAX);
}
static void fg_measurement_bool(struct forge *g)
{
    set_flag(&g->monitor.last.heart_rate_bpm.present, 3);
}
static void fg_measurement_nan(struct forge *g)
{
    g->monitor.last.spo2_pct.value = NAN;
}
static void fg_monitor_since(struct forge *g)
{
    g->monitor.hr_warn_since_ms = UINT64_MAX;
}
static void fg_patient_ref_twice(struct forge *g)
{
    memcpy(g->patients[1].ref, g->patients[0].ref, DG_ID_MAX);
}
static void fg_sessions_beyond_array(struct forge *g)
{
    g->patients[0].n_sessions = DG_SESSIONS_KEPT + 1;
}
static void fg_session_dose_nan(struct forge *g)
{
    g->patients[0].sessions[0].dose_mg_per_kg = NAN;
}
static void fg_session_id_unterminated(struct forge *g)
{
    memset(g->patients[0].sessions[0].session_id, 's', DG_ID_MAX);
}
static void fg_bed_id_unterminated(struct forge *g)
{
    memset(g->beds[0].id, 'b', DG_ID_MAX);
}
static void fg_bed_id_twice(struct forge *g)
{
    memcpy(g->beds[1].id, g->beds[0].id, DG_ID_MAX);
}
static void fg_nibp_beyond_array(struct forge *g)
{
    g->beds[0].n_nibp = DG_NIBP_KEPT + 1;
}
static void fg_baseline_nan(struct forge *g)
{
    g->beds[0].baseline.sys = NAN;
}
static void fg_baseline_bool(struct forge *g)
{
    set_flag(&g->beds[0].have_baseline, 5);
}
static void fg_targets_beyond_array(struct forge *g)
{
    forge_alert(g, "rate")->n_targets = DG_TARGETS_MAX + 1;
}
static void fg_alert_kind(struct forge *g)
{
    forge_alert(g, "rate")->kind = (enum dg_alert_kind)9;
}
static void fg_alert_priority(struct forge *g)
{
    forge_alert(g, "rate")->priority = (enum dg_priority)4;
}
static void fg_alert_action(struct forge *g)
{
    forge_alert(g, "rate")->action = (enum dg_alert_action)3;
}
static void fg_alert_latched_bool(struct forge *g)
{
    set_flag(&forge_alert(g, "rate")->latched, 2);
}
static void fg_alert_message_unterminated(struct forge *g)
{
    struct dg_alert *a = forge_alert(g, "rate");
    memset(a->message, 'x', sizeof a->message);
}
static void fg_alert_target_unterminated(struct forge *g)
{
    memset(forge_alert(g, "rate")->targets[0], 't', DG_ID_MAX);
}
static void fg_alert_other_bed(struct forge *g)
{
    snprintf(forge_alert(g, "rate")->bed_id, DG_ID_MAX, "bed-2");
}
static void fg_alert_twice(struct forge *g)
{
    struct dg_alert *a = forge_alert(g, "rate"), *b = forge_alert(g, "heart-rate");
    memcpy(b->condition, a->condition, DG_ID_MAX);
    memcpy(b->source_id, a->source_id, DG_ID_MAX);
}
static void fg_bed_running(struct forge *g)
{
    g->beds[1].n_running = 3; /* bed-2 has one pump, running */
}
static void fg_bed_monitors(struct forge *g)
{
    g->beds[1].n_monitors = 1; /* bed-2 has none */
}
static void fg_pump_bed_unknown(struct forge *g)
{
    snprintf(g->pumps[1].bed_id, DG_ID_MAX, "bed-9"); /* and bed-2 counts it no more */
    g->beds[1].n_pumps = 0;
    g->beds[1].n_running = 0;
}
static void fg_monitor_bed_unknown(struct forge *g)
{
    snprintf(g->monitor.bed_id, DG_ID_MAX, "bed-9");
    g->beds[0].n_monitors = 0;
}
static void fg_timeline(struct forge *g)
{
    g->h.tl_clin_ms = UINT64_MAX;
}

/* Each forged field is refused (-DG_EINVAL) and the core keeps its state. */
static void forged_state_is_refused(void **state)
{
    struct fx *f = *state;
    forged_world(f);
    uint8_t *blob = NULL, *again = NULL;
    size_t len = 0, alen = 0;
    assert_int_equal(dg_core_save(f->core, &blob, &len), 0);
    static struct forge g;
    forge_parse(blob, len, &g);
    assert_true(forge_alert(&g, "rate")->n_targets == 1);
    assert_true(g.pumps[0].pending.active);
    assert_true(g.beds[0].have_baseline);
    assert_true(g.patients[0].n_sessions >= 1);
    static const struct {
        const char *name;
        void (*edit)(struct forge *);
    } rows[] = {
        {"ack id unterminated", fg_ack_id_unterminated},
        {"pump id unterminated", fg_pump_id_unterminated},
        {"pump bed id unterminated", fg_pump_bed_unterminated},
        {"program drug code unterminated", fg_program_drug_unterminated},
        {"pump bool not 0 or 1", fg_pump_bool},
        {"pump have_last not 0 or 1", fg_pump_have_last_bool},
        {"pending command active not 0 or 1", fg_pending_active_bool},
        {"pump state out of range", fg_pump_state},
        {"last telemetry state out of range", fg_last_state},
        {"pending command action out of range", fg_pending_action},
        {"pending command without an action", fg_pending_without_action},
        {"retired incarnations beyond their array", fg_retired_beyond_array},
        {"device clock offset beyond any clock", fg_clock_offset},
        {"device clock time beyond any clock", fg_clock_time},
        {"integrated dose NaN", fg_integrated_nan},
        {"trusted weight negative", fg_weight_negative},
        {"last telemetry rate NaN", fg_last_rate_nan},
        {"two pumps with one id", fg_pump_id_twice},
        {"monitor id unterminated", fg_monitor_id_unterminated},
        {"measurement bool not 0 or 1", fg_measurement_bool},
        {"measurement NaN", fg_measurement_nan},
        {"condition delay start beyond any clock", fg_monitor_since},
        {"two patients with one ref", fg_patient_ref_twice},
        {"sessions beyond their array", fg_sessions_beyond_array},
        {"session dose NaN", fg_session_dose_nan},
        {"session id unterminated", fg_session_id_unterminated},
        {"bed id unterminated", fg_bed_id_unterminated},
        {"two beds with one id", fg_bed_id_twice},
        {"NIBP readings beyond their array", fg_nibp_beyond_array},
        {"baseline NaN", fg_baseline_nan},
        {"have_baseline not 0 or 1", fg_baseline_bool},
        {"alert targets beyond their array", fg_targets_beyond_array},
        {"alert kind out of range", fg_alert_kind},
        {"alert priority out of range", fg_alert_priority},
        {"alert action out of range", fg_alert_action},
        {"alert latched not 0 or 1", fg_alert_latched_bool},
        {"alert message unterminated", fg_alert_message_unterminated},
        {"alert target unterminated", fg_alert_target_unterminated},
        {"alert of another bed", fg_alert_other_bed},
        {"two alerts for one condition and source", fg_alert_twice},
        {"bed running more pumps than run there", fg_bed_running},
        {"bed counting a monitor it does not have", fg_bed_monitors},
        {"pump on a bed the state does not have", fg_pump_bed_unknown},
        {"monitor on a bed the state does not have", fg_monitor_bed_unknown},
        {"timeline beyond any clock", fg_timeline},
    };
    uint8_t *forged = dg_malloc(len);
    assert_non_null(forged);
    /* The forge itself: put back unedited, the state loads. */
    forge_build(&g, forged, len);
    assert_memory_equal(forged, blob, len);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        static struct forge e;
        e = g;
        rows[i].edit(&e);
        forge_build(&e, forged, len);
        int rc = dg_core_load(f->core, forged, len, f->now);
        if (rc != -DG_EINVAL) fail_msg("%s: loaded (%d), not refused", rows[i].name, rc);
        assert_int_equal(dg_core_save(f->core, &again, &alen), 0);
        if (alen != len || memcmp(again, blob, len) != 0)
            fail_msg("%s: the core changed", rows[i].name);
        dg_free(again);
    }
    /* Unedited, after all that: it loads. */
    forge_build(&g, forged, len);
    assert_int_equal(dg_core_load(f->core, forged, len, f->now), 0);
    dg_free(forged);
    dg_free(blob);
}

/* What a core saves holds no heap address: a bed's alerts pointer and
   capacity are saved as zeros, and a state loaded and saved again is the
   same bytes (found by tests/fuzz/fuzz_state_load.c: the saved pointer made
   every save of a bed with alerts differ). */
static void saved_state_holds_no_address(void **state)
{
    struct fx *f = *state;
    forged_world(f);
    uint8_t *a = NULL, *b = NULL, *c = NULL;
    size_t alen = 0, blen = 0, clen = 0;
    assert_int_equal(dg_core_save(f->core, &a, &alen), 0);
    static struct forge g;
    forge_parse(a, alen, &g);
    uint8_t *rebuilt = dg_malloc(alen);
    assert_non_null(rebuilt);
    forge_build(&g, rebuilt, alen); /* the layout is the one this test knows */
    assert_memory_equal(rebuilt, a, alen);
    dg_free(rebuilt);
    for (size_t i = 0; i < FG_BEDS; i++) {
        assert_null(g.beds[i].alerts);
        assert_int_equal(g.beds[i].cap_alerts, 0);
    }
    assert_true(g.beds[0].n_alerts >= 2);
    dg_core *c1 = NULL, *c2 = NULL;
    struct dg_core_config cfg = {
        .gateway_id = "gw-t", .id_prefix = "t2", .druglib = &f->lib, .device_time_scale = 1};
    struct dg_sink sink = {&f->rec, fx_on_alert, fx_on_alarms, fx_on_command, fx_on_audit};
    assert_int_equal(dg_core_new(&c1, &cfg, &sink), 0);
    assert_int_equal(dg_core_new(&c2, &cfg, &sink), 0);
    assert_int_equal(dg_core_load(c1, a, alen, f->now), 0);
    assert_int_equal(dg_core_save(c1, &b, &blen), 0);
    assert_int_equal(dg_core_load(c2, b, blen, f->now), 0);
    assert_int_equal(dg_core_save(c2, &c, &clen), 0);
    assert_int_equal(blen, clen);
    assert_memory_equal(b, c, blen);
    dg_core_free(c1);
    dg_core_free(c2);
    dg_free(a);
    dg_free(b);
    dg_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(normal_rate_raises_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(rate_hard_threshold, setup, teardown),
        cmocka_unit_test_setup_teardown(rate_soft_threshold_and_clear, setup, teardown),
        cmocka_unit_test_setup_teardown(hard_alert_latches_until_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(ack_audit_names_user_and_dashboard, setup, teardown),
        cmocka_unit_test_setup_teardown(duplicate_sequence_processed_once, setup, teardown),
        cmocka_unit_test_setup_teardown(alerts_are_per_bed, setup, teardown),
        cmocka_unit_test_setup_teardown(out_of_memory_is_reported_not_crashed, setup, teardown),
        cmocka_unit_test_teardown(unlatched_alert_deescalates_then_clears, teardown),
        cmocka_unit_test_setup_teardown(pump_silent_tiers, setup, teardown),
        cmocka_unit_test_setup_teardown(vitals_silent_tiers, setup, teardown),
        cmocka_unit_test_setup_teardown(nibp_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(command_not_honoured_escalates_to_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(permits_follow_running_and_latches, setup_permits,
                                        teardown),
        cmocka_unit_test_setup_teardown(clock_skew_advisory, setup, teardown),
        cmocka_unit_test_teardown(clock_skew_scaled_first_message_only, teardown),
        cmocka_unit_test_setup_teardown(restart_keeps_latched_alert, setup, teardown),
        cmocka_unit_test_setup_teardown(restart_never_resets_24h_dose, setup, teardown),
        cmocka_unit_test_setup_teardown(damaged_state_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(forged_state_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(saved_state_holds_no_address, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
