/*
 * test_rules_vitals.c — the vital-sign rule families (heart-rate, spo2,
 * resp-rate, bp-rise, blood-pressure, baseline-bp) through the core's public
 * inputs: every threshold at, just below and just above its contract
 * default, every condition delay, the lifecycle of a family (escalate,
 * deescalate, clear, latch), the observation period and two-warnings.
 * Time is passed in (fx_advance); no sleeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "core_fixture.h"

#define MIN_MS 60000ull

/* ------------------------------------------------------------ helpers */

enum which { HR, SPO2, RR };

static const char *const family_of[] = {[HR] = "heart-rate", [SPO2] = "spo2", [RR] = "resp-rate"};

static struct fx *world(void)
{
    struct fx *f = fx_new();
    fx_start(f);
    return f;
}

static void done(struct fx *f)
{
    void *st = f;
    fx_teardown(&st);
}

static void send_tele(struct fx *f, enum dg_pump_state st)
{
    struct dg_telemetry t = fx_tele(f, st, st == DG_PUMP_RUNNING ? 0.75 : 0);
    assert_int_equal(fx_send_tele(f, &t), 0);
}

static void send_nibp(struct fx *f, double sys, double dia)
{
    struct dg_vitals v = fx_vitals(f);
    fx_nibp(&v, sys, dia);
    assert_int_equal(fx_send_vitals(f, &v), 0);
}

static void send_value(struct fx *f, enum which w, double value)
{
    struct dg_vitals v = fx_vitals(f);
    struct dg_measurement m = {true, true, value};
    if (w == HR) v.heart_rate_bpm = m;
    if (w == SPO2) v.spo2_pct = m;
    if (w == RR) v.resp_rate_bpm = m;
    assert_int_equal(fx_send_vitals(f, &v), 0);
}

static void send_normal(struct fx *f)
{
    struct dg_vitals v = fx_vitals(f);
    assert_int_equal(fx_send_vitals(f, &v), 0);
}

/* A baseline NIBP of sys/dia, the session programmed, then running at
   0.75 mg/kg/h: the bed is infusing. */
static void start_with(struct fx *f, double sys, double dia)
{
    send_nibp(f, sys, dia);
    fx_advance(f, 1000);
    send_tele(f, DG_PUMP_PROGRAMMED);
    fx_advance(f, 1000);
    send_tele(f, DG_PUMP_RUNNING);
    fx_advance(f, 1000);
}

static void start(struct fx *f)
{
    start_with(f, 120, 80);
}

/* The priority of the active alert of condition (NONE when cleared/never). */
static enum dg_priority prio(const struct fx *f, const char *condition)
{
    enum dg_alert_phase ph = 0;
    const struct dg_alert *a = fx_last(f, condition, &ph);
    if (!a || ph == DG_PHASE_CLEAR) return DG_PRIO_NONE;
    assert_true(fx_active(f, "bed-1", condition)); /* the snapshot agrees */
    return a->priority;
}

static void expect_prio(const struct fx *f, const char *condition, enum dg_priority want,
                        const char *what, double value)
{
    enum dg_priority got = prio(f, condition);
    if (got != want)
        fail_msg("%s %s %.1f: priority %d, want %d", condition, what, value, got, want);
}

/* ------------------------------------------------------------ continuous: thresholds */

/* One value held from first sample to past its condition delay. */
struct band_row {
    enum which w;
    double value;
    enum dg_priority first, under_delay, at_delay;
    const char *key; /* limit source of the alert at the delay (NULL = none) */
};

static void run_band(const struct band_row *rows, size_t n, uint64_t delay_ms)
{
    for (size_t i = 0; i < n; i++) {
        const struct band_row *r = &rows[i];
        const char *fam = family_of[r->w];
        struct fx *f = world();
        start(f);
        send_value(f, r->w, r->value);
        expect_prio(f, fam, r->first, "first sample", r->value);
        fx_advance(f, delay_ms - 1);
        send_value(f, r->w, r->value);
        expect_prio(f, fam, r->under_delay, "just under the delay", r->value);
        fx_advance(f, 1);
        send_value(f, r->w, r->value);
        expect_prio(f, fam, r->at_delay, "at the delay", r->value);
        int pauses = r->at_delay == DG_PRIO_HIGH ? 1 : 0;
        if (fx_cmds(f, "pump-1", DG_CMD_PAUSE) != pauses)
            fail_msg("%s %.1f: %d pause commands, want %d", fam, r->value,
                     fx_cmds(f, "pump-1", DG_CMD_PAUSE), pauses);
        assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), 0);
        if (r->key) {
            const struct dg_alert *a = fx_last(f, fam, NULL);
            assert_non_null(a);
            assert_string_equal(a->limit_source, r->key);
            assert_int_equal(a->kind, DG_KIND_PHYSIOLOGICAL);
            assert_int_equal(a->action,
                             r->at_delay == DG_PRIO_HIGH ? DG_ACTION_PAUSE : DG_ACTION_NONE);
        }
        /* one alert per identity, never one per sample */
        assert_true(fx_count(f, fam, DG_PHASE_RAISE) <= 1);
        done(f);
    }
}

#define N_ROWS(a) (sizeof(a) / sizeof((a)[0]))
#define NONE      DG_PRIO_NONE
#define MED       DG_PRIO_MEDIUM
#define HIGH      DG_PRIO_HIGH

static void heart_rate_thresholds(void **state)
{
    (void)state;
    /* warn < 50 or > 120 sustained 60 s; crit <= 40 or >= 150 -> pause */
    static const struct band_row rows[] = {
        {HR, 39, HIGH, HIGH, HIGH, "vitals.heart_rate.crit_low_bpm"},
        {HR, 40, HIGH, HIGH, HIGH, "vitals.heart_rate.crit_low_bpm"},
        {HR, 41, NONE, NONE, MED, "vitals.heart_rate.warn_low_bpm"},
        {HR, 49, NONE, NONE, MED, "vitals.heart_rate.warn_low_bpm"},
        {HR, 50, NONE, NONE, NONE, NULL},
        {HR, 51, NONE, NONE, NONE, NULL},
        {HR, 119, NONE, NONE, NONE, NULL},
        {HR, 120, NONE, NONE, NONE, NULL},
        {HR, 121, NONE, NONE, MED, "vitals.heart_rate.warn_high_bpm"},
        {HR, 149, NONE, NONE, MED, "vitals.heart_rate.warn_high_bpm"},
        {HR, 150, HIGH, HIGH, HIGH, "vitals.heart_rate.crit_high_bpm"},
        {HR, 151, HIGH, HIGH, HIGH, "vitals.heart_rate.crit_high_bpm"},
    };
    run_band(rows, N_ROWS(rows), 60 * 1000);
}

static void spo2_thresholds(void **state)
{
    (void)state;
    /* warn <= 90 sustained 15 s; crit <= 85 -> pause */
    static const struct band_row rows[] = {
        {SPO2, 84, HIGH, HIGH, HIGH, "vitals.spo2.crit_pct"},
        {SPO2, 85, HIGH, HIGH, HIGH, "vitals.spo2.crit_pct"},
        {SPO2, 86, NONE, NONE, MED, "vitals.spo2.warn_pct"},
        {SPO2, 89, NONE, NONE, MED, "vitals.spo2.warn_pct"},
        {SPO2, 90, NONE, NONE, MED, "vitals.spo2.warn_pct"},
        {SPO2, 91, NONE, NONE, NONE, NULL},
        {SPO2, 100, NONE, NONE, NONE, NULL},
    };
    run_band(rows, N_ROWS(rows), 15 * 1000);
}

static void resp_rate_thresholds(void **state)
{
    (void)state;
    /* warn < 10 or > 30 sustained 30 s; crit <= 6 -> pause (no high crit) */
    static const struct band_row rows[] = {
        {RR, 5, HIGH, HIGH, HIGH, "vitals.resp_rate.crit_low_bpm"},
        {RR, 6, HIGH, HIGH, HIGH, "vitals.resp_rate.crit_low_bpm"},
        {RR, 7, NONE, NONE, MED, "vitals.resp_rate.warn_low_bpm"},
        {RR, 9, NONE, NONE, MED, "vitals.resp_rate.warn_low_bpm"},
        {RR, 10, NONE, NONE, NONE, NULL},
        {RR, 11, NONE, NONE, NONE, NULL},
        {RR, 29, NONE, NONE, NONE, NULL},
        {RR, 30, NONE, NONE, NONE, NULL},
        {RR, 31, NONE, NONE, MED, "vitals.resp_rate.warn_high_bpm"},
        {RR, 60, NONE, NONE, MED, "vitals.resp_rate.warn_high_bpm"},
    };
    run_band(rows, N_ROWS(rows), 30 * 1000);
}

/* ------------------------------------------------------------ continuous: delays */

/* A normal sample inside the delay restarts it: the warning needs a whole
   delay of unbroken violation after the normal sample. */
static void normal_sample_resets_delay(void **state)
{
    (void)state;
    static const struct {
        enum which w;
        double bad;
        uint64_t delay_ms;
    } cases[] = {
        {HR, 125, 60000}, {HR, 45, 60000}, {SPO2, 88, 15000}, {RR, 8, 30000}, {RR, 35, 30000}};
    for (size_t i = 0; i < N_ROWS(cases); i++) {
        const char *fam = family_of[cases[i].w];
        uint64_t d = cases[i].delay_ms;
        struct fx *f = world();
        start(f);
        send_value(f, cases[i].w, cases[i].bad);
        fx_advance(f, d / 2);
        send_normal(f); /* resets */
        fx_advance(f, 1000);
        send_value(f, cases[i].w, cases[i].bad); /* the run starts again here */
        fx_advance(f, d - 1);
        send_value(f, cases[i].w, cases[i].bad);
        expect_prio(f, fam, NONE, "delay restarted, just under", cases[i].bad);
        fx_advance(f, 1);
        send_value(f, cases[i].w, cases[i].bad);
        expect_prio(f, fam, MED, "delay restarted, at", cases[i].bad);
        done(f);
    }
}

/* An absent or invalid measurement neither raises, clears nor restarts. */
static void absent_or_invalid_changes_nothing(void **state)
{
    (void)state;
    struct fx *f = world();
    start(f);
    send_value(f, HR, 125);
    fx_advance(f, 20000);
    struct dg_vitals v = fx_vitals(f);
    v.heart_rate_bpm.valid = false;
    v.heart_rate_bpm.value = 72;
    assert_int_equal(fx_send_vitals(f, &v), 0);
    fx_advance(f, 20000);
    v = fx_vitals(f);
    v.heart_rate_bpm = (struct dg_measurement){false, false, 0};
    assert_int_equal(fx_send_vitals(f, &v), 0);
    fx_advance(f, 20000);
    send_value(f, HR, 125); /* 60 s after the first: the delay was not restarted */
    expect_prio(f, "heart-rate", MED, "after absent/invalid", 125);
    int n = f->rec.n_alerts;

    /* An invalid critical value raises nothing; an absent one clears nothing. */
    v = fx_vitals(f);
    v.heart_rate_bpm = (struct dg_measurement){true, false, 200};
    assert_int_equal(fx_send_vitals(f, &v), 0);
    v = fx_vitals(f);
    v.heart_rate_bpm = (struct dg_measurement){false, true, 0};
    assert_int_equal(fx_send_vitals(f, &v), 0);
    v = fx_vitals(f);
    v.heart_rate_bpm = (struct dg_measurement){true, true, NAN};
    assert_int_equal(fx_send_vitals(f, &v), 0);
    assert_int_equal(f->rec.n_alerts, n);
    expect_prio(f, "heart-rate", MED, "still", 125);
    assert_int_equal(f->rec.n_cmds, 0);
    done(f);
}

/* ------------------------------------------------------------ lifecycle */

/* Warning -> critical within one alert id; the pause goes to the bed's pump
   and names that alert; the latch outlives the value, until a reset. */
static void escalates_pauses_and_latches(void **state)
{
    (void)state;
    struct fx *f = world();
    start(f);
    send_value(f, HR, 125);
    fx_advance(f, 60000);
    send_value(f, HR, 125);
    enum dg_alert_phase ph;
    const struct dg_alert *a = fx_last(f, "heart-rate", &ph);
    assert_non_null(a);
    assert_int_equal(ph, DG_PHASE_RAISE);
    assert_int_equal(a->priority, DG_PRIO_MEDIUM);
    assert_int_equal(a->kind, DG_KIND_PHYSIOLOGICAL);
    assert_string_equal(a->source_id, "monitor-1");
    assert_string_equal(a->bed_id, "bed-1");
    assert_string_equal(a->pump_id, "pump-1");
    assert_string_equal(a->patient_ref, "pt-1");
    assert_string_equal(a->unit, "bpm");
    assert_true(a->value == 125 && a->limit == 120);
    assert_false(a->latched);
    char id[DG_ID_MAX];
    snprintf(id, sizeof id, "%s", a->alert_id);
    assert_int_equal(f->rec.n_cmds, 0);

    fx_advance(f, 1000);
    send_value(f, HR, 155);
    a = fx_last(f, "heart-rate", &ph);
    assert_int_equal(ph, DG_PHASE_ESCALATE);
    assert_string_equal(a->alert_id, id);
    assert_int_equal(a->priority, DG_PRIO_HIGH);
    assert_int_equal(a->action, DG_ACTION_PAUSE);
    assert_true(a->latched);
    assert_string_equal(a->limit_source, "vitals.heart_rate.crit_high_bpm");
    assert_int_equal(f->rec.n_cmds, 1);
    assert_int_equal(f->rec.cmds[0].action, DG_CMD_PAUSE);
    assert_string_equal(f->rec.cmds[0].pump_id, "pump-1");
    assert_string_equal(f->rec.cmds[0].reason_alert_id, id);
    assert_int_equal(fx_count(f, "heart-rate", DG_PHASE_RAISE), 1);

    /* The pump obeys; the heart rate normalises; the alert stays latched. */
    send_tele(f, DG_PUMP_PAUSED);
    for (int i = 0; i < 5; i++) {
        fx_advance(f, 1000);
        send_value(f, HR, 72);
    }
    expect_prio(f, "heart-rate", HIGH, "latched after normal", 72);
    assert_int_equal(fx_count(f, "heart-rate", DG_PHASE_CLEAR), 0);
    assert_int_equal(f->rec.n_cmds, 1); /* no command storm */

    struct dg_ack ack = {.reset = true};
    snprintf(ack.alert_id, sizeof ack.alert_id, "%s", id);
    snprintf(ack.user_id, sizeof ack.user_id, "nurse-7");
    snprintf(ack.ack_id, sizeof ack.ack_id, "ack-1");
    assert_int_equal(dg_core_ack(f->core, &ack, f->now), 0);
    expect_prio(f, "heart-rate", NONE, "after reset", 72);
    /* the paused bed is still in its window: a normal sample raises nothing */
    fx_advance(f, 1000);
    send_value(f, HR, 72);
    expect_prio(f, "heart-rate", NONE, "normal after reset", 72);
    done(f);
}

/* Critical tiers without an action do not latch: critical -> warning
   deescalates (the delay kept counting through the critical values) and a
   normal value clears, all within one alert id. */
static void unlatched_family_deescalates_and_clears(void **state)
{
    (void)state;
    static const struct {
        enum which w;
        double warn, crit;
        uint64_t delay_ms;
    } cases[] = {{HR, 130, 155, 60000}, {SPO2, 88, 80, 15000}, {RR, 8, 5, 30000}};
    for (size_t i = 0; i < N_ROWS(cases); i++) {
        struct fx *f = fx_new();
        f->lib.vitals.hr_crit_action = DG_ACTION_NONE;
        f->lib.vitals.spo2_crit_action = DG_ACTION_NONE;
        f->lib.vitals.rr_crit_action = DG_ACTION_NONE;
        fx_start(f);
        const char *fam = family_of[cases[i].w];
        start(f);
        send_value(f, cases[i].w, cases[i].warn);
        fx_advance(f, cases[i].delay_ms);
        send_value(f, cases[i].w, cases[i].warn);
        fx_advance(f, 1000);
        send_value(f, cases[i].w, cases[i].crit);
        fx_advance(f, 1000);
        send_value(f, cases[i].w, cases[i].warn);
        fx_advance(f, 1000);
        send_normal(f);
        /* raise, escalate, deescalate, clear — one id */
        int k = 0;
        enum dg_alert_phase want[] = {DG_PHASE_RAISE, DG_PHASE_ESCALATE, DG_PHASE_DEESCALATE,
                                      DG_PHASE_CLEAR};
        const char *id = NULL;
        for (int j = 0; j < f->rec.n_alerts; j++) {
            if (strcmp(f->rec.alerts[j].condition, fam) != 0) continue;
            assert_true(k < 4);
            assert_int_equal(f->rec.phases[j], want[k]);
            if (!id) id = f->rec.alerts[j].alert_id;
            assert_string_equal(f->rec.alerts[j].alert_id, id);
            assert_false(f->rec.alerts[j].latched);
            k++;
        }
        assert_int_equal(k, 4);
        assert_int_equal(f->rec.n_cmds, 0);
        done(f);
    }
}

/* ------------------------------------------------------------ applicability */

static void not_applied_before_infusion(void **state)
{
    (void)state;
    struct fx *f = world();
    send_value(f, HR, 160); /* no pump at all */
    send_nibp(f, 150, 95);
    fx_advance(f, 1000);
    send_tele(f, DG_PUMP_PROGRAMMED); /* 150/95: a baseline warning, nothing else */
    for (int i = 0; i < 70; i++) {
        fx_advance(f, 1000);
        struct dg_vitals v = fx_vitals(f);
        v.heart_rate_bpm.value = 160;
        v.spo2_pct.value = 80;
        v.resp_rate_bpm.value = 4;
        assert_int_equal(fx_send_vitals(f, &v), 0);
    }
    send_nibp(f, 230, 130);
    /* the pre-start baseline warning is dg_rules_baseline's: samples before
       the start leave it alone */
    expect_prio(f, "baseline-bp", MED, "programmed", 150);
    assert_int_equal(fx_count(f, "baseline-bp", DG_PHASE_CLEAR), 0);
    assert_int_equal(fx_count(f, "heart-rate", 0), 0);
    assert_int_equal(fx_count(f, "spo2", 0), 0);
    assert_int_equal(fx_count(f, "resp-rate", 0), 0);
    assert_int_equal(fx_count(f, "blood-pressure", 0), 0);
    assert_int_equal(fx_count(f, "bp-rise", 0), 0);
    assert_int_equal(fx_count(f, "two-warnings", 0), 0);
    assert_int_equal(f->rec.n_cmds, 0);
    done(f);
}

/* After the pump completes the rules keep applying (without a running pump
   to pause nothing latches) until observation_min after the last running
   report; then a non-latched alert clears and nothing new is raised. */
static void observation_period(void **state)
{
    (void)state;
    struct fx *f = world();
    start(f);
    fx_advance(f, 10 * MIN_MS);
    send_tele(f, DG_PUMP_RUNNING);
    uint64_t last_running = f->device_ms;
    fx_advance(f, 1000);
    send_tele(f, DG_PUMP_COMPLETE);

    fx_advance(f, 60 * MIN_MS);
    send_value(f, HR, 155);
    expect_prio(f, "heart-rate", HIGH, "observation, critical", 155);
    assert_false(fx_last(f, "heart-rate", NULL)->latched);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PAUSE), 0);
    send_normal(f);
    expect_prio(f, "heart-rate", NONE, "observation, normal", 72);

    /* A warning held to the last millisecond of the period. */
    fx_advance(f, last_running + 120 * MIN_MS - 60000 - f->device_ms);
    send_value(f, SPO2, 89);
    fx_advance(f, 60000);
    assert_int_equal(f->device_ms, last_running + 120 * MIN_MS);
    send_value(f, SPO2, 89);
    expect_prio(f, "spo2", MED, "end of observation", 89);

    /* One millisecond later: outside, cleared; nothing raises any more. */
    fx_advance(f, 1);
    send_value(f, SPO2, 89);
    expect_prio(f, "spo2", NONE, "after observation", 89);
    send_value(f, HR, 155);
    send_nibp(f, 230, 130);
    fx_advance(f, 60000);
    send_value(f, SPO2, 80);
    expect_prio(f, "heart-rate", NONE, "after observation", 155);
    expect_prio(f, "spo2", NONE, "after observation", 80);
    assert_int_equal(fx_count(f, "blood-pressure", 0), 0);
    assert_int_equal(f->rec.n_cmds, 0);
    done(f);
}

/* The end of the observation period restarts the condition delays (a run
   of low SpO2 does not carry over into the next infusion) and ends the
   infusion's baseline warning. */
static void window_end_resets_delays_and_baseline(void **state)
{
    (void)state;
    struct fx *f = world();
    start_with(f, 150, 95);
    expect_prio(f, "baseline-bp", MED, "baseline warning", 150);
    send_tele(f, DG_PUMP_RUNNING);
    uint64_t last_running = f->device_ms;
    fx_advance(f, 1000);
    send_tele(f, DG_PUMP_COMPLETE);
    fx_advance(f, last_running + 120 * MIN_MS - 10000 - f->device_ms);
    send_value(f, SPO2, 89); /* a run starts 10 s before the end */
    expect_prio(f, "baseline-bp", MED, "observation", 150);
    fx_advance(f, 20000);
    send_value(f, SPO2, 89); /* outside: not evaluated, the run is forgotten */
    expect_prio(f, "spo2", NONE, "outside", 89);
    expect_prio(f, "baseline-bp", NONE, "after observation", 150);

    /* The next session starts (a fresh baseline) with SpO2 still at 89: the
       delay counts from the first sample inside the new infusion. */
    fx_advance(f, 1000);
    send_nibp(f, 120, 80);
    struct dg_telemetry t = fx_tele(f, DG_PUMP_PROGRAMMED, 0);
    snprintf(t.session_id, sizeof t.session_id, "s-2");
    assert_int_equal(fx_send_tele(f, &t), 0);
    fx_advance(f, 1000);
    t = fx_tele(f, DG_PUMP_RUNNING, 0.75);
    snprintf(t.session_id, sizeof t.session_id, "s-2");
    assert_int_equal(fx_send_tele(f, &t), 0);
    send_value(f, SPO2, 89);
    expect_prio(f, "spo2", NONE, "new infusion, first sample", 89);
    fx_advance(f, 14999);
    send_value(f, SPO2, 89);
    expect_prio(f, "spo2", NONE, "new infusion, under the delay", 89);
    fx_advance(f, 1);
    send_value(f, SPO2, 89);
    expect_prio(f, "spo2", MED, "new infusion, at the delay", 89);
    expect_prio(f, "baseline-bp", NONE, "new session, normal baseline", 120);
    done(f);
}

/* A pause (not the end of the infusion) keeps the rules applying. */
static void paused_pump_still_watched(void **state)
{
    (void)state;
    struct fx *f = world();
    start(f);
    send_tele(f, DG_PUMP_PAUSED);
    fx_advance(f, 1000);
    send_value(f, RR, 8);
    fx_advance(f, 30000);
    send_value(f, RR, 8);
    expect_prio(f, "resp-rate", MED, "paused", 8);
    const struct dg_alert *a = fx_last(f, "resp-rate", NULL);
    assert_string_equal(a->unit, "breaths/min");
    assert_string_equal(a->limit_source, "vitals.resp_rate.warn_low_bpm");
    done(f);
}

/* ------------------------------------------------------------ blood pressure */

/* One reading above severe stops at once; at severe, nothing. */
static void bp_severe_once_stops(void **state)
{
    (void)state;
    static const struct {
        double sys, dia;
        bool stop;
        const char *key;
    } rows[] = {
        {199, 100, false, NULL},
        {200, 100, false, NULL}, /* above high 180 but single: nothing yet */
        {201, 100, true, "vitals.blood_pressure.severe_sys_mmhg"},
        {150, 119, false, NULL},
        {150, 120, false, NULL},
        {150, 121, true, "vitals.blood_pressure.severe_dia_mmhg"},
    };
    for (size_t i = 0; i < N_ROWS(rows); i++) {
        struct fx *f = world();
        start(f);
        send_nibp(f, rows[i].sys, rows[i].dia);
        expect_prio(f, "blood-pressure", rows[i].stop ? HIGH : NONE, "single reading", rows[i].sys);
        assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), rows[i].stop ? 1 : 0);
        assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PAUSE), 0);
        if (rows[i].stop) {
            const struct dg_alert *a = fx_last(f, "blood-pressure", NULL);
            assert_string_equal(a->limit_source, rows[i].key);
            assert_string_equal(a->unit, "mmHg");
            assert_int_equal(a->action, DG_ACTION_STOP);
            assert_true(a->latched);
            assert_string_equal(f->rec.cmds[f->rec.n_cmds - 1].reason_alert_id, a->alert_id);
        }
        done(f);
    }
}

/* Two readings above high within 5 min pause; at high, nothing. */
static void bp_high_twice_pauses(void **state)
{
    (void)state;
    static const struct {
        double sys1, dia1, sys2, dia2;
        bool pause;
        const char *key;
    } rows[] = {
        {180, 100, 180, 100, false, NULL},
        {181, 100, 181, 100, true, "vitals.blood_pressure.high_sys_mmhg"},
        {150, 110, 150, 110, false, NULL},
        {150, 111, 150, 111, true, "vitals.blood_pressure.high_dia_mmhg"},
        {181, 100, 150, 111, true, "vitals.blood_pressure.high_dia_mmhg"}, /* either value */
        {181, 100, 180, 110, false, NULL},                                 /* second not above */
        {179, 109, 181, 100, false, NULL},                                 /* first not above */
        {200, 120, 200, 120, true, "vitals.blood_pressure.high_sys_mmhg"},
    };
    for (size_t i = 0; i < N_ROWS(rows); i++) {
        struct fx *f = world();
        start(f);
        send_nibp(f, rows[i].sys1, rows[i].dia1);
        expect_prio(f, "blood-pressure", NONE, "first reading", rows[i].sys1);
        fx_advance(f, 3 * MIN_MS);
        send_nibp(f, rows[i].sys2, rows[i].dia2);
        expect_prio(f, "blood-pressure", rows[i].pause ? HIGH : NONE, "second reading",
                    rows[i].sys2);
        assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PAUSE), rows[i].pause ? 1 : 0);
        assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), 0);
        if (rows[i].pause) {
            const struct dg_alert *a = fx_last(f, "blood-pressure", NULL);
            assert_string_equal(a->limit_source, rows[i].key);
            assert_int_equal(a->action, DG_ACTION_PAUSE);
        }
        done(f);
    }
}

/* The window is inclusive at 5 min; one millisecond more and the second
   reading stands alone. A third reading pairs with the second. */
static void bp_high_window(void **state)
{
    (void)state;
    struct fx *f = world();
    start(f);
    send_nibp(f, 185, 100);
    fx_advance(f, 5 * MIN_MS);
    send_nibp(f, 185, 100);
    expect_prio(f, "blood-pressure", HIGH, "exactly 5 min", 185);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PAUSE), 1);
    done(f);

    f = world();
    start(f);
    send_nibp(f, 185, 100);
    fx_advance(f, 5 * MIN_MS + 1);
    send_nibp(f, 185, 100);
    expect_prio(f, "blood-pressure", NONE, "5 min + 1 ms", 185);
    assert_int_equal(f->rec.n_cmds, 0);
    /* an intervening normal reading does not hide the earlier high one */
    fx_advance(f, 2 * MIN_MS);
    send_nibp(f, 130, 80);
    fx_advance(f, 2 * MIN_MS);
    send_nibp(f, 185, 100);
    expect_prio(f, "blood-pressure", HIGH, "third within 5 min of second", 185);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PAUSE), 1);
    /* severe afterwards upgrades the latched pause to a stop, same alert */
    const char *id = fx_last(f, "blood-pressure", NULL)->alert_id;
    char pause_id[DG_ID_MAX];
    snprintf(pause_id, sizeof pause_id, "%s", id);
    fx_advance(f, 1000);
    send_tele(f, DG_PUMP_PAUSED);
    send_nibp(f, 210, 100);
    enum dg_alert_phase ph;
    const struct dg_alert *a = fx_last(f, "blood-pressure", &ph);
    assert_int_equal(ph, DG_PHASE_ESCALATE);
    assert_string_equal(a->alert_id, pause_id);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), 1);
    /* and a normal reading does not clear the latch */
    send_nibp(f, 120, 80);
    expect_prio(f, "blood-pressure", HIGH, "latched", 120);
    done(f);
}

/* The same reading delivered twice (same device time) is one reading. */
static void bp_high_same_reading_twice_is_one(void **state)
{
    (void)state;
    struct fx *f = world();
    start(f);
    send_nibp(f, 190, 115);
    send_nibp(f, 190, 115); /* new sequence number, same device time */
    expect_prio(f, "blood-pressure", NONE, "repeated reading", 190);
    assert_int_equal(f->rec.n_cmds, 0);
    fx_advance(f, 1);
    send_nibp(f, 190, 115);
    expect_prio(f, "blood-pressure", HIGH, "a later reading", 190);
    done(f);
}

/* Readings outside the window never pair, however many. */
static void bp_high_spaced_readings_never_pause(void **state)
{
    (void)state;
    struct fx *f = world();
    start(f);
    for (int i = 0; i < 10; i++) {
        send_nibp(f, 190, 115);
        fx_advance(f, 6 * MIN_MS);
    }
    assert_int_equal(fx_count(f, "blood-pressure", 0), 0);
    assert_int_equal(f->rec.n_cmds, 0);
    done(f);
}

/* bp-rise over the baseline taken before start: a warning, clears. */
static void bp_rise_over_baseline(void **state)
{
    (void)state;
    static const struct {
        double sys, dia;
        enum dg_priority want;
        const char *key;
    } rows[] = {
        {159, 80, NONE, NULL},
        {160, 80, MED, "vitals.blood_pressure.rise_sys_mmhg"},
        {161, 80, MED, "vitals.blood_pressure.rise_sys_mmhg"},
        {120, 104, NONE, NULL},
        {120, 105, MED, "vitals.blood_pressure.rise_dia_mmhg"},
        {120, 106, MED, "vitals.blood_pressure.rise_dia_mmhg"},
        {100, 60, NONE, NULL},
    };
    for (size_t i = 0; i < N_ROWS(rows); i++) {
        struct fx *f = world();
        start_with(f, 120, 80);
        send_nibp(f, rows[i].sys, rows[i].dia);
        expect_prio(f, "bp-rise", rows[i].want, "rise", rows[i].sys);
        if (rows[i].key) {
            const struct dg_alert *a = fx_last(f, "bp-rise", NULL);
            assert_string_equal(a->limit_source, rows[i].key);
            assert_int_equal(a->action, DG_ACTION_NONE);
            assert_string_equal(a->unit, "mmHg");
            /* back under the rise: cleared */
            fx_advance(f, 5 * MIN_MS);
            send_nibp(f, 125, 82);
            expect_prio(f, "bp-rise", NONE, "after", 125);
        }
        assert_int_equal(f->rec.n_cmds, 0);
        done(f);
    }
}

/* Without a baseline there is nothing to rise over. */
static void bp_rise_needs_baseline(void **state)
{
    (void)state;
    struct fx *f = world();
    send_tele(f, DG_PUMP_PROGRAMMED);
    fx_advance(f, 1000);
    send_tele(f, DG_PUMP_RUNNING);
    fx_advance(f, 1000);
    send_nibp(f, 175, 105);
    assert_int_equal(fx_count(f, "bp-rise", 0), 0);
    done(f);
}

/* The baseline is the one before the drug first flowed: a resume after a
   pause does not take a new one. */
static void resume_keeps_baseline(void **state)
{
    (void)state;
    struct fx *f = world();
    start_with(f, 120, 80);
    send_tele(f, DG_PUMP_PAUSED);
    fx_advance(f, 60000);
    send_nibp(f, 150, 90); /* rise 30/10: nothing */
    expect_prio(f, "bp-rise", NONE, "paused", 150);
    fx_advance(f, 60000);
    send_tele(f, DG_PUMP_RUNNING);
    fx_advance(f, 60000);
    send_nibp(f, 165, 90); /* +45 over the first baseline (+15 over 150) */
    expect_prio(f, "bp-rise", MED, "after resume", 165);
    done(f);
}

/* ------------------------------------------------------------ baseline */

/* The latest NIBP before start: >= 140/90 warning, >= 180/110 stop on
   start, sent to the programmed pump. */
static void baseline_thresholds(void **state)
{
    (void)state;
    static const struct {
        double sys, dia;
        enum dg_priority want;
        const char *key;
    } rows[] = {
        {139, 89, NONE, NULL},
        {140, 80, MED, "vitals.baseline.warn_sys_mmhg"},
        {141, 80, MED, "vitals.baseline.warn_sys_mmhg"},
        {120, 90, MED, "vitals.baseline.warn_dia_mmhg"},
        {179, 109, MED, "vitals.baseline.warn_sys_mmhg"},
        {180, 100, HIGH, "vitals.baseline.crit_sys_mmhg"},
        {181, 100, HIGH, "vitals.baseline.crit_sys_mmhg"},
        {150, 110, HIGH, "vitals.baseline.crit_dia_mmhg"},
    };
    for (size_t i = 0; i < N_ROWS(rows); i++) {
        struct fx *f = world();
        send_nibp(f, 200, 120); /* an older reading: only the latest counts */
        fx_advance(f, 60000);
        send_nibp(f, rows[i].sys, rows[i].dia);
        fx_advance(f, 60000);
        send_tele(f, DG_PUMP_PROGRAMMED);
        expect_prio(f, "baseline-bp", rows[i].want, "programmed", rows[i].sys);
        bool crit = rows[i].want == HIGH;
        assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), crit ? 1 : 0);
        assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PAUSE), 0);
        if (rows[i].key) {
            const struct dg_alert *a = fx_last(f, "baseline-bp", NULL);
            assert_string_equal(a->limit_source, rows[i].key);
            assert_string_equal(a->source_id, "bed-1"); /* a baseline is the bed's */
            assert_string_equal(a->pump_id, "pump-1");
            assert_int_equal(a->kind, DG_KIND_PHYSIOLOGICAL);
            assert_int_equal(a->action, crit ? DG_ACTION_STOP : DG_ACTION_NONE);
            assert_int_equal(a->latched, crit);
        }
        if (crit) {
            const struct dg_command *cmd = &f->rec.cmds[f->rec.n_cmds - 1];
            assert_string_equal(cmd->reason_alert_id, fx_last(f, "baseline-bp", NULL)->alert_id);
        }
        /* More programmed reports change nothing (no second command). */
        int n = f->rec.n_alerts;
        fx_advance(f, 1000);
        send_tele(f, DG_PUMP_PROGRAMMED);
        assert_int_equal(f->rec.n_alerts, n);
        assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), crit ? 1 : 0);
        done(f);
    }
}

/* No baseline: not an alert while programmed, nor at the start, which waits
   baseline_grace_min (2 min) for one: a medium one once the grace is over
   without a reading. */
static void baseline_missing_on_start(void **state)
{
    (void)state;
    struct fx *f = world();
    send_normal(f); /* a monitor, but no NIBP */
    send_tele(f, DG_PUMP_PROGRAMMED);
    fx_advance(f, 1000);
    send_tele(f, DG_PUMP_PROGRAMMED);
    assert_int_equal(fx_count(f, "baseline-bp", 0), 0);
    fx_advance(f, 1000);
    send_tele(f, DG_PUMP_RUNNING);
    expect_prio(f, "baseline-bp", NONE, "start without baseline, in the grace", 0);
    fx_advance(f, 2 * MIN_MS);
    send_normal(f);
    fx_tick(f);
    expect_prio(f, "baseline-bp", NONE, "at the end of the grace", 0);
    fx_advance(f, 1);
    send_normal(f);
    fx_tick(f);
    expect_prio(f, "baseline-bp", MED, "start without baseline", 0);
    const struct dg_alert *a = fx_last(f, "baseline-bp", NULL);
    assert_string_equal(a->limit_source, "vitals.baseline.max_age_min");
    assert_int_equal(a->action, DG_ACTION_NONE);
    assert_int_equal(f->rec.n_cmds, 0);
    /* A baseline warning is not a vital-sign warning: alone with one other
       warning it does not make two. */
    send_value(f, SPO2, 89);
    fx_advance(f, 15000);
    send_value(f, SPO2, 89);
    expect_prio(f, "spo2", MED, "with missing baseline", 89);
    assert_int_equal(fx_count(f, "two-warnings", 0), 0);
    done(f);
}

/* A reading counts up to max_age_min (15 min) before the report, inclusive. */
static void baseline_max_age(void **state)
{
    (void)state;
    struct fx *f = world();
    send_nibp(f, 150, 95);
    fx_advance(f, 15 * MIN_MS);
    send_tele(f, DG_PUMP_PROGRAMMED);
    expect_prio(f, "baseline-bp", MED, "15 min old", 150);
    /* 1 ms later the same reading is too old: while programmed, not an
       alert any more; on start, a missing baseline */
    fx_advance(f, 1);
    send_tele(f, DG_PUMP_PROGRAMMED);
    expect_prio(f, "baseline-bp", NONE, "15 min + 1 ms old", 150);
    fx_advance(f, 1000);
    send_tele(f, DG_PUMP_RUNNING);
    expect_prio(f, "baseline-bp", NONE, "start with a stale reading, in the grace", 150);
    fx_advance(f, 2 * MIN_MS + 1);
    fx_tick(f);
    expect_prio(f, "baseline-bp", MED, "start with a stale reading", 150);
    assert_string_equal(fx_last(f, "baseline-bp", NULL)->limit_source,
                        "vitals.baseline.max_age_min");
    /* and no baseline was recorded: no bp-rise */
    fx_advance(f, 1000);
    send_nibp(f, 200, 100);
    assert_int_equal(fx_count(f, "bp-rise", 0), 0);
    done(f);
}

/* Stop on start also when the reading arrives between programming and the
   start: the start itself is stopped. */
static void baseline_crit_on_start(void **state)
{
    (void)state;
    struct fx *f = world();
    send_tele(f, DG_PUMP_PROGRAMMED);
    fx_advance(f, 1000);
    send_nibp(f, 185, 100);
    fx_advance(f, 1000);
    send_tele(f, DG_PUMP_RUNNING);
    expect_prio(f, "baseline-bp", HIGH, "on start", 185);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), 1);
    done(f);
}

/* ------------------------------------------------------------ two warnings */

/* HR warning and SpO2 warning at once: two-warnings, high, pause. */
static void two_warnings_pause(void **state)
{
    (void)state;
    struct fx *f = world();
    start(f);
    struct dg_vitals v = fx_vitals(f);
    v.heart_rate_bpm.value = 125;
    v.spo2_pct.value = 89;
    assert_int_equal(fx_send_vitals(f, &v), 0);
    fx_advance(f, 15000);
    v = fx_vitals(f);
    v.heart_rate_bpm.value = 125;
    v.spo2_pct.value = 89;
    assert_int_equal(fx_send_vitals(f, &v), 0);
    expect_prio(f, "spo2", MED, "15 s", 89);
    expect_prio(f, "heart-rate", NONE, "15 s", 125);
    assert_int_equal(fx_count(f, "two-warnings", 0), 0);
    fx_advance(f, 45000);
    v = fx_vitals(f);
    v.heart_rate_bpm.value = 125;
    v.spo2_pct.value = 89;
    assert_int_equal(fx_send_vitals(f, &v), 0);
    expect_prio(f, "heart-rate", MED, "60 s", 125);
    expect_prio(f, "two-warnings", HIGH, "60 s", 2);
    const struct dg_alert *a = fx_last(f, "two-warnings", NULL);
    assert_int_equal(a->action, DG_ACTION_PAUSE);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PAUSE), 1);
    assert_string_equal(f->rec.cmds[f->rec.n_cmds - 1].reason_alert_id, a->alert_id);
    /* the warnings themselves stay medium and unlatched */
    assert_false(fx_last(f, "heart-rate", NULL)->latched);
    assert_false(fx_last(f, "spo2", NULL)->latched);
    done(f);
}

/* ------------------------------------------------------------ robustness */

static void out_of_memory_is_reported(void **state)
{
    (void)state;
    for (uint64_t n = 1; n < 6; n++) {
        struct fx *f = world();
        start(f);
        dg_alloc_fail_after(n);
        struct dg_vitals v = fx_vitals(f);
        v.heart_rate_bpm.value = 160;
        fx_nibp(&v, 210, 125);
        int rc = fx_send_vitals(f, &v);
        dg_alloc_fail_after(0);
        assert_true(rc == 0 || rc == -DG_ENOMEM);
        done(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(heart_rate_thresholds),
        cmocka_unit_test(spo2_thresholds),
        cmocka_unit_test(resp_rate_thresholds),
        cmocka_unit_test(normal_sample_resets_delay),
        cmocka_unit_test(absent_or_invalid_changes_nothing),
        cmocka_unit_test(escalates_pauses_and_latches),
        cmocka_unit_test(unlatched_family_deescalates_and_clears),
        cmocka_unit_test(not_applied_before_infusion),
        cmocka_unit_test(observation_period),
        cmocka_unit_test(window_end_resets_delays_and_baseline),
        cmocka_unit_test(paused_pump_still_watched),
        cmocka_unit_test(bp_severe_once_stops),
        cmocka_unit_test(bp_high_twice_pauses),
        cmocka_unit_test(bp_high_window),
        cmocka_unit_test(bp_high_same_reading_twice_is_one),
        cmocka_unit_test(bp_high_spaced_readings_never_pause),
        cmocka_unit_test(bp_rise_over_baseline),
        cmocka_unit_test(bp_rise_needs_baseline),
        cmocka_unit_test(resume_keeps_baseline),
        cmocka_unit_test(baseline_thresholds),
        cmocka_unit_test(baseline_missing_on_start),
        cmocka_unit_test(baseline_max_age),
        cmocka_unit_test(baseline_crit_on_start),
        cmocka_unit_test(two_warnings_pause),
        cmocka_unit_test(out_of_memory_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
