/*
 * test_rules_pump.c — the drug-library rules on pump telemetry
 * (gateway/core/rules_pump.c): every family at, just below and just above
 * its thresholds with the contract's ketamine-trd defaults, stop on start,
 * escalation within one alert, what clears and what latches, the 24 h and
 * 7 day windows, dose discrepancy, bolus, unknown drug and care area.
 * Time is moved with fx_advance(); no sleeps. fx_teardown() checks leaks.
 *
 * Each world has a normal blood pressure on record before a pump starts,
 * so the baseline check (rules_vitals.c) stays out of the way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "core_fixture.h"

#define MIN_MS  60000ull
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS  (24 * HOUR_MS)

/* ------------------------------------------------------------ helpers */

static struct fx *world(void)
{
    struct fx *f = fx_new();
    fx_start(f);
    return f;
}

static void world_end(struct fx *f)
{
    void *state = f;
    fx_teardown(&state);
}

/* A normal blood pressure, so the pre-start baseline check passes. */
static void nibp_ok(struct fx *f)
{
    struct dg_vitals v = fx_vitals(f);
    fx_nibp(&v, 120, 78);
    assert_int_equal(fx_send_vitals(f, &v), 0);
}

/* pump-1 / bed-1 / pt-1 telemetry of session, 70 kg, 1 mg/mL, 0.5 mg/kg
   programmed, 0.75 mg/kg/h. */
static struct dg_telemetry tl(struct fx *f, enum dg_pump_state st, const char *session)
{
    struct dg_telemetry t = fx_tele(f, st, 0.75);
    snprintf(t.session_id, sizeof t.session_id, "%s", session);
    return t;
}

/* The same for patient pt-2. */
static struct dg_telemetry tlp(struct fx *f, enum dg_pump_state st, const char *session)
{
    struct dg_telemetry t = tl(f, st, session);
    snprintf(t.patient_ref, sizeof t.patient_ref, "pt-2");
    return t;
}

static void tx(struct fx *f, const struct dg_telemetry *t)
{
    assert_int_equal(fx_send_tele(f, t), 0);
}

/* The priority condition has now (DG_PRIO_NONE: never raised, or cleared),
   checked against the bed's snapshot. */
static enum dg_priority prio(const struct fx *f, const char *condition)
{
    enum dg_alert_phase ph = 0;
    const struct dg_alert *a = fx_last(f, condition, &ph);
    enum dg_priority p = a && ph != DG_PHASE_CLEAR ? a->priority : DG_PRIO_NONE;
    assert_int_equal(fx_active(f, a ? a->bed_id : "bed-1", condition), p != DG_PRIO_NONE);
    return p;
}

/*
 * A session of pt-1 on pump-1 that starts now, delivers dose_mg_per_kg over
 * 40 min (the pump's report and the gateway's integration agree) and
 * completes. Returns its start, device time.
 */
static uint64_t past_session(struct fx *f, const char *session, double dose_mg_per_kg)
{
    nibp_ok(f);
    struct dg_telemetry t = tl(f, DG_PUMP_PROGRAMMED, session);
    t.program.dose_mg_per_kg = dose_mg_per_kg;
    tx(f, &t);
    uint64_t start = f->device_ms;
    t = tl(f, DG_PUMP_RUNNING, session);
    t.program.dose_mg_per_kg = dose_mg_per_kg;
    t.rate_ml_per_h = dose_mg_per_kg * 70.0 * 1.5; /* mg/h at 1 mg/mL: the dose in 40 min */
    tx(f, &t);
    fx_advance(f, 40 * MIN_MS);
    t = tl(f, DG_PUMP_COMPLETE, session);
    t.program.dose_mg_per_kg = dose_mg_per_kg;
    t.rate_ml_per_h = 0;
    t.dose_infused_mg = dose_mg_per_kg * 70.0;
    tx(f, &t);
    return start;
}

/* Move the clocks to start + ms. */
static void advance_to(struct fx *f, uint64_t start, uint64_t ms)
{
    assert_true(start + ms >= f->device_ms);
    fx_advance(f, start + ms - f->device_ms);
}

/* ------------------------------------------------------------ programmed-dose */

struct tier_case {
    double value;
    enum dg_priority want;
};

/* Programmed dose: > 0.75 medium, > 1.0 high + stop on start, to pump-1. */
static void programmed_dose_thresholds(void **state)
{
    (void)state;
    static const struct tier_case cases[] = {
        {0.74, DG_PRIO_NONE},   {0.75, DG_PRIO_NONE},   {0.76, DG_PRIO_MEDIUM},
        {0.99, DG_PRIO_MEDIUM}, {1.00, DG_PRIO_MEDIUM}, {1.01, DG_PRIO_HIGH},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fx *f = world();
        nibp_ok(f);
        struct dg_telemetry t = tl(f, DG_PUMP_PROGRAMMED, "s-1");
        t.program.dose_mg_per_kg = cases[i].value;
        tx(f, &t);
        assert_int_equal(prio(f, "programmed-dose"), cases[i].want);
        bool hard = cases[i].want == DG_PRIO_HIGH;
        assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), hard ? 1 : 0);
        if (cases[i].want != DG_PRIO_NONE) {
            const struct dg_alert *a = fx_last(f, "programmed-dose", NULL);
            assert_int_equal(a->kind, DG_KIND_PHYSIOLOGICAL);
            assert_string_equal(a->source_id, "pump-1");
            assert_string_equal(a->pump_id, "pump-1");
            assert_string_equal(a->patient_ref, "pt-1");
            assert_string_equal(a->unit, "mg/kg");
            assert_true(a->value == cases[i].value);
            assert_true(a->limit == (hard ? 1.0 : 0.75));
            assert_string_equal(a->limit_source,
                                hard ? "ketamine-trd.programmed_dose_mg_per_kg.hard"
                                     : "ketamine-trd.programmed_dose_mg_per_kg.soft");
            assert_int_equal(a->action, hard ? DG_ACTION_STOP : DG_ACTION_NONE);
            assert_int_equal(a->latched, hard);
            assert_non_null(strstr(a->message, "programmed dose"));
        }
        if (hard)
            assert_string_equal(f->rec.cmds[f->rec.n_cmds - 1].reason_alert_id,
                                fx_last(f, "programmed-dose", NULL)->alert_id);
        world_end(f);
    }
}

/* Soft then hard in one alert: raise medium, escalate high with the stop;
   the stop goes out once, however often the pump repeats itself. */
static void programmed_dose_escalates_in_one_alert(void **state)
{
    struct fx *f = *state;
    nibp_ok(f);
    struct dg_telemetry t = tl(f, DG_PUMP_PROGRAMMED, "s-1");
    t.program.dose_mg_per_kg = 0.8;
    tx(f, &t);
    enum dg_alert_phase ph;
    const struct dg_alert *a = fx_last(f, "programmed-dose", &ph);
    assert_int_equal(ph, DG_PHASE_RAISE);
    char id[DG_ID_MAX];
    snprintf(id, sizeof id, "%s", a->alert_id);
    for (int i = 0; i < 3; i++) {
        t = tl(f, DG_PUMP_PROGRAMMED, "s-1");
        t.program.dose_mg_per_kg = 1.1;
        tx(f, &t);
    }
    a = fx_last(f, "programmed-dose", &ph);
    assert_int_equal(ph, DG_PHASE_ESCALATE);
    assert_string_equal(a->alert_id, id);
    assert_int_equal(a->priority, DG_PRIO_HIGH);
    assert_int_equal(fx_count(f, "programmed-dose", 0), 2);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), 1);
    /* the pump stops: the latched alert stays until reset */
    t = tl(f, DG_PUMP_STOPPED, "s-1");
    tx(f, &t);
    assert_int_equal(prio(f, "programmed-dose"), DG_PRIO_HIGH);
}

/* A soft programmed dose is judged before start and kept as it was while
   the session runs; the session's end (idle) clears it. */
static void prestart_alert_kept_while_running_cleared_when_idle(void **state)
{
    struct fx *f = *state;
    nibp_ok(f);
    struct dg_telemetry t = tl(f, DG_PUMP_PROGRAMMED, "s-1");
    t.program.dose_mg_per_kg = 0.8;
    tx(f, &t);
    assert_int_equal(prio(f, "programmed-dose"), DG_PRIO_MEDIUM);
    t = tl(f, DG_PUMP_RUNNING, "s-1");
    t.program.dose_mg_per_kg = 0.8;
    tx(f, &t);
    fx_advance(f, 1000);
    t = tl(f, DG_PUMP_RUNNING, "s-1");
    t.program.dose_mg_per_kg = 0.8;
    tx(f, &t);
    t = tl(f, DG_PUMP_COMPLETE, "s-1");
    t.program.dose_mg_per_kg = 0.8;
    tx(f, &t);
    assert_int_equal(fx_count(f, "programmed-dose", 0), 1);
    assert_int_equal(prio(f, "programmed-dose"), DG_PRIO_MEDIUM);
    t = tl(f, DG_PUMP_IDLE, "s-1");
    t.has_program = false;
    tx(f, &t);
    assert_int_equal(prio(f, "programmed-dose"), DG_PRIO_NONE);
    assert_int_equal(fx_count(f, "programmed-dose", DG_PHASE_CLEAR), 1);
    assert_int_equal(f->rec.n_cmds, 0);
}

/* ------------------------------------------------------------ weight */

static void weight_thresholds(void **state)
{
    (void)state;
    static const struct tier_case cases[] = {
        {0, DG_PRIO_HIGH},      {29.99, DG_PRIO_HIGH},  {30, DG_PRIO_NONE},
        {30.01, DG_PRIO_NONE},  {249.99, DG_PRIO_NONE}, {250, DG_PRIO_NONE},
        {250.01, DG_PRIO_HIGH},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fx *f = world();
        nibp_ok(f);
        struct dg_telemetry t = tl(f, DG_PUMP_PROGRAMMED, "s-1");
        t.program.patient_weight_kg = cases[i].value;
        tx(f, &t);
        bool hard = cases[i].want == DG_PRIO_HIGH;
        assert_int_equal(prio(f, "weight"), cases[i].want);
        assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), hard ? 1 : 0);
        if (hard) {
            const struct dg_alert *a = fx_last(f, "weight", NULL);
            assert_int_equal(a->kind, DG_KIND_PHYSIOLOGICAL);
            assert_int_equal(a->action, DG_ACTION_STOP);
            assert_true(a->latched);
            assert_string_equal(a->unit, "kg");
            bool high = cases[i].value > 250;
            assert_true(a->limit == (high ? 250 : 30));
            assert_string_equal(a->limit_source, high ? "ketamine-trd.weight_kg.hard_max"
                                                      : "ketamine-trd.weight_kg.hard_min");
            if (cases[i].value == 0) assert_non_null(strstr(a->message, "missing"));
        }
        world_end(f);
    }
}

/* Stop on start also when the pump goes straight to running. */
static void weight_missing_on_start_stops(void **state)
{
    struct fx *f = *state;
    nibp_ok(f);
    struct dg_telemetry t = tl(f, DG_PUMP_RUNNING, "s-1");
    t.program.patient_weight_kg = 0;
    tx(f, &t);
    assert_int_equal(prio(f, "weight"), DG_PRIO_HIGH);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), 1);
}

/* Two pumps on one bed: the refused one gets the stop, the other nothing. */
static void stop_on_start_goes_to_programmed_pump(void **state)
{
    struct fx *f = *state;
    nibp_ok(f);
    struct dg_telemetry t = tl(f, DG_PUMP_RUNNING, "s-1");
    tx(f, &t);
    t = tl(f, DG_PUMP_PROGRAMMED, "s-9");
    snprintf(t.pump_id, sizeof t.pump_id, "pump-2");
    snprintf(t.patient_ref, sizeof t.patient_ref, "pt-2");
    t.program.patient_weight_kg = 0;
    tx(f, &t);
    t = tl(f, DG_PUMP_RUNNING, "s-1");
    tx(f, &t);
    assert_int_equal(fx_cmds(f, "pump-2", DG_CMD_STOP), 1);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), 0);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PAUSE), 0);
    const struct dg_alert *a = fx_last(f, "weight", NULL);
    assert_string_equal(a->source_id, "pump-2");
    assert_string_equal(a->pump_id, "pump-2");
    assert_string_equal(a->patient_ref, "pt-2");
    assert_string_equal(f->rec.cmds[0].reason_alert_id, a->alert_id);
}

/* ------------------------------------------------------------ concentration */

static void concentration_thresholds(void **state)
{
    (void)state;
    static const struct tier_case cases[] = {
        {0.49, DG_PRIO_MEDIUM}, {0.5, DG_PRIO_NONE},    {0.51, DG_PRIO_NONE},
        {1.99, DG_PRIO_NONE},   {2.0, DG_PRIO_NONE},    {2.01, DG_PRIO_MEDIUM},
        {9.99, DG_PRIO_MEDIUM}, {10.0, DG_PRIO_MEDIUM}, {10.01, DG_PRIO_HIGH},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fx *f = world();
        nibp_ok(f);
        struct dg_telemetry t = tl(f, DG_PUMP_PROGRAMMED, "s-1");
        t.program.concentration_mg_per_ml = cases[i].value;
        tx(f, &t);
        bool hard = cases[i].want == DG_PRIO_HIGH;
        assert_int_equal(prio(f, "concentration"), cases[i].want);
        assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), hard ? 1 : 0);
        if (cases[i].want != DG_PRIO_NONE) {
            const struct dg_alert *a = fx_last(f, "concentration", NULL);
            assert_int_equal(a->kind, DG_KIND_PHYSIOLOGICAL);
            assert_string_equal(a->unit, "mg/mL");
            assert_true(a->value == cases[i].value);
            const char *src = hard ? "ketamine-trd.concentration_mg_per_ml.hard_max"
                              : cases[i].value < 0.5
                                  ? "ketamine-trd.concentration_mg_per_ml.soft_min"
                                  : "ketamine-trd.concentration_mg_per_ml.soft_max";
            assert_string_equal(a->limit_source, src);
        }
        world_end(f);
    }
}

/* While running: soft then hard escalates the one alert and stops the
   running pump with the entry's action (here configured to pause). */
static void concentration_escalates_while_running(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    f->lib.drugs[0].concentration_hard_action = DG_ACTION_PAUSE;
    fx_start(f);
    nibp_ok(f);
    struct dg_telemetry t = tl(f, DG_PUMP_RUNNING, "s-1");
    tx(f, &t);
    fx_advance(f, 1000);
    t = tl(f, DG_PUMP_RUNNING, "s-1");
    t.program.concentration_mg_per_ml = 3;
    t.rate_ml_per_h = 0.75 * 70 / 3; /* same mg/kg/h */
    tx(f, &t);
    assert_int_equal(prio(f, "concentration"), DG_PRIO_MEDIUM);
    char id[DG_ID_MAX];
    snprintf(id, sizeof id, "%s", fx_last(f, "concentration", NULL)->alert_id);
    fx_advance(f, 1000);
    t = tl(f, DG_PUMP_RUNNING, "s-1");
    t.program.concentration_mg_per_ml = 12;
    t.rate_ml_per_h = 0.75 * 70 / 12;
    tx(f, &t);
    enum dg_alert_phase ph;
    const struct dg_alert *a = fx_last(f, "concentration", &ph);
    assert_int_equal(ph, DG_PHASE_ESCALATE);
    assert_string_equal(a->alert_id, id);
    assert_int_equal(a->priority, DG_PRIO_HIGH);
    assert_int_equal(a->action, DG_ACTION_PAUSE);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PAUSE), 1);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), 0);
    world_end(f);
}

/* ------------------------------------------------------------ unknown drug, no program */

static void unknown_drug_and_care_area(void **state)
{
    (void)state;
    static const struct {
        const char *drug, *area;
    } cases[] = {{"midazolam", "infusion-clinic"}, {"ketamine-trd", "icu"}};
    for (size_t i = 0; i < 2; i++) {
        struct fx *f = world();
        nibp_ok(f);
        struct dg_telemetry t = tl(f, DG_PUMP_PROGRAMMED, "s-1");
        snprintf(t.program.drug_code, sizeof t.program.drug_code, "%s", cases[i].drug);
        snprintf(t.program.care_area, sizeof t.program.care_area, "%s", cases[i].area);
        tx(f, &t);
        assert_int_equal(prio(f, "unknown-drug"), DG_PRIO_HIGH);
        const struct dg_alert *a = fx_last(f, "unknown-drug", NULL);
        assert_int_equal(a->kind, DG_KIND_TECHNICAL);
        assert_int_equal(a->action, DG_ACTION_STOP);
        assert_true(a->value == 0 && a->limit == 0);
        assert_non_null(strstr(a->message, cases[i].drug));
        assert_non_null(strstr(a->message, cases[i].area));
        assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), 1);
        /* no drug limit can be judged: nothing else is raised */
        assert_int_equal(f->rec.n_alerts, 1);
        world_end(f);
    }
}

/* An entry without a care area covers every area; an exact one wins. */
static void any_area_entry_is_known(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    f->lib.drugs[0].care_area[0] = '\0';
    fx_start(f);
    nibp_ok(f);
    struct dg_telemetry t = tl(f, DG_PUMP_PROGRAMMED, "s-1");
    snprintf(t.program.care_area, sizeof t.program.care_area, "icu");
    tx(f, &t);
    assert_int_equal(fx_count(f, "unknown-drug", 0), 0);
    assert_int_equal(f->rec.n_cmds, 0);
    world_end(f);
}

static void no_program_stops(void **state)
{
    (void)state;
    static const enum dg_pump_state states[] = {DG_PUMP_PROGRAMMED, DG_PUMP_RUNNING};
    for (size_t i = 0; i < 2; i++) {
        struct fx *f = world();
        nibp_ok(f);
        struct dg_telemetry t = tl(f, states[i], "s-1");
        t.has_program = false;
        memset(&t.program, 0, sizeof t.program);
        tx(f, &t);
        assert_int_equal(prio(f, "no-program"), DG_PRIO_HIGH);
        const struct dg_alert *a = fx_last(f, "no-program", NULL);
        assert_int_equal(a->kind, DG_KIND_TECHNICAL);
        assert_true(a->latched);
        assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), 1);
        world_end(f);
    }
    /* idle without a program is normal */
    struct fx *f = world();
    struct dg_telemetry t = tl(f, DG_PUMP_IDLE, "s-1");
    t.has_program = false;
    tx(f, &t);
    assert_int_equal(f->rec.n_alerts, 0);
    world_end(f);
}

/* ------------------------------------------------------------ dose-24h */

/* Prior session 0.5 mg/kg today: a new program of 0.49 / 0.5 passes, 0.51
   is refused (stop on start). */
static void dose_24h_prestart_thresholds(void **state)
{
    (void)state;
    static const struct tier_case cases[] = {
        {0.49, DG_PRIO_NONE}, {0.5, DG_PRIO_NONE}, {0.51, DG_PRIO_HIGH}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fx *f = world();
        uint64_t t0 = past_session(f, "s-1", 0.5);
        advance_to(f, t0, 2 * HOUR_MS);
        nibp_ok(f);
        struct dg_telemetry t = tl(f, DG_PUMP_PROGRAMMED, "s-2");
        t.program.dose_mg_per_kg = cases[i].value;
        tx(f, &t);
        bool hard = cases[i].want == DG_PRIO_HIGH;
        assert_int_equal(prio(f, "dose-24h"), cases[i].want);
        assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), hard ? 1 : 0);
        if (hard) {
            const struct dg_alert *a = fx_last(f, "dose-24h", NULL);
            assert_int_equal(a->kind, DG_KIND_PHYSIOLOGICAL);
            assert_int_equal(a->action, DG_ACTION_STOP);
            assert_true(fabs(a->value - 1.01) < 1e-9);
            assert_true(a->limit == 1.0);
            assert_string_equal(a->unit, "mg/kg");
            assert_string_equal(a->limit_source, "ketamine-trd.rolling_24h_dose_mg_per_kg.hard");
        }
        /* the same-day session is also too soon: an advisory, no action */
        assert_int_equal(prio(f, "sessions"), DG_PRIO_MEDIUM);
        world_end(f);
    }
}

/* The window: a session started 24 h + 1 min ago no longer counts; 24 h
   ago exactly (and 1 min less) still does. */
static void dose_24h_window_edge(void **state)
{
    (void)state;
    static const struct {
        uint64_t after_ms;
        enum dg_priority want;
    } cases[] = {
        {DAY_MS - MIN_MS, DG_PRIO_HIGH}, {DAY_MS, DG_PRIO_HIGH}, {DAY_MS + MIN_MS, DG_PRIO_NONE}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fx *f = world();
        uint64_t t0 = past_session(f, "s-1", 0.5);
        advance_to(f, t0, cases[i].after_ms);
        nibp_ok(f);
        struct dg_telemetry t = tl(f, DG_PUMP_PROGRAMMED, "s-2");
        t.program.dose_mg_per_kg = 0.6;
        tx(f, &t);
        assert_int_equal(prio(f, "dose-24h"), cases[i].want);
        assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), cases[i].want == DG_PRIO_HIGH);
        world_end(f);
    }
}

/* Running: the earlier session plus what this one has delivered; > 1.0
   stops the pump with the entry's action. */
static void dose_24h_while_running(void **state)
{
    struct fx *f = *state;
    uint64_t t0 = past_session(f, "s-1", 0.5);
    advance_to(f, t0, 3 * HOUR_MS);
    nibp_ok(f);
    struct dg_telemetry t = tl(f, DG_PUMP_PROGRAMMED, "s-2");
    t.program.dose_mg_per_kg = 0.4;
    tx(f, &t);
    t = tl(f, DG_PUMP_RUNNING, "s-2");
    t.program.dose_mg_per_kg = 0.4;
    tx(f, &t);
    static const struct tier_case cases[] = {
        {0.49, DG_PRIO_NONE}, {0.5, DG_PRIO_NONE}, {0.51, DG_PRIO_HIGH}};
    for (size_t i = 0; i < 3; i++) {
        t = tl(f, DG_PUMP_RUNNING, "s-2");
        t.program.dose_mg_per_kg = 0.4;
        t.dose_infused_mg = cases[i].value * 70;
        tx(f, &t);
        assert_int_equal(prio(f, "dose-24h"), cases[i].want);
    }
    const struct dg_alert *a = fx_last(f, "dose-24h", NULL);
    assert_int_equal(fx_count(f, "dose-24h", 0), 1);
    assert_int_equal(a->action, DG_ACTION_STOP);
    assert_true(fabs(a->value - 1.01) < 1e-9);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), 1);
    /* the dose stays given: stopped, the alert stays (latched) */
    t = tl(f, DG_PUMP_STOPPED, "s-2");
    t.dose_infused_mg = 0.51 * 70;
    tx(f, &t);
    assert_int_equal(prio(f, "dose-24h"), DG_PRIO_HIGH);
}

/* A refused program comes back as a new session while the first refusal
   is still latched: the stop goes out again (once per session), and again
   if the pump starts anyway. */
static void dose_24h_refusal_repeats_for_new_session(void **state)
{
    struct fx *f = *state;
    uint64_t t0 = past_session(f, "s-1", 0.5);
    advance_to(f, t0, 2 * HOUR_MS);
    nibp_ok(f);
    struct dg_telemetry t = tl(f, DG_PUMP_PROGRAMMED, "s-2");
    t.program.dose_mg_per_kg = 0.6;
    tx(f, &t);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), 1);
    const char *id = fx_last(f, "dose-24h", NULL)->alert_id;
    char alert_id[DG_ID_MAX];
    snprintf(alert_id, sizeof alert_id, "%s", id);
    t = tl(f, DG_PUMP_STOPPED, "s-2");
    tx(f, &t);
    assert_int_equal(prio(f, "dose-24h"), DG_PRIO_HIGH); /* latched */

    for (int i = 0; i < 2; i++) {
        t = tl(f, DG_PUMP_PROGRAMMED, "s-3");
        t.program.dose_mg_per_kg = 0.6;
        tx(f, &t);
    }
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), 2);
    assert_string_equal(f->rec.cmds[f->rec.n_cmds - 1].reason_alert_id, alert_id);
    for (int i = 0; i < 2; i++) {
        t = tl(f, DG_PUMP_RUNNING, "s-3");
        t.program.dose_mg_per_kg = 0.6;
        tx(f, &t);
    }
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), 3);
    assert_int_equal(fx_count(f, "dose-24h", DG_PHASE_RAISE), 1);
}

/* ------------------------------------------------------------ sessions */

/* Three earlier sessions 48 h apart; the fourth within 7 days is one too
   many (medium advisory, no action); a week + 1 min after the first it is
   not. */
static void sessions_per_7_days(void **state)
{
    (void)state;
    static const struct {
        uint64_t after_ms;
        enum dg_priority want;
    } cases[] = {{6 * DAY_MS, DG_PRIO_MEDIUM},
                 {7 * DAY_MS - MIN_MS, DG_PRIO_MEDIUM},
                 {7 * DAY_MS, DG_PRIO_MEDIUM},
                 {7 * DAY_MS + MIN_MS, DG_PRIO_NONE}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fx *f = world();
        uint64_t t0 = past_session(f, "s-1", 0.5);
        advance_to(f, t0, 2 * DAY_MS);
        past_session(f, "s-2", 0.5);
        advance_to(f, t0, 4 * DAY_MS);
        past_session(f, "s-3", 0.5);
        assert_int_equal(fx_count(f, "sessions", 0), 0); /* the third is fine */
        advance_to(f, t0, cases[i].after_ms);
        nibp_ok(f);
        struct dg_telemetry t = tl(f, DG_PUMP_PROGRAMMED, "s-4");
        tx(f, &t);
        assert_int_equal(prio(f, "sessions"), cases[i].want);
        if (cases[i].want != DG_PRIO_NONE) {
            const struct dg_alert *a = fx_last(f, "sessions", NULL);
            assert_int_equal(a->kind, DG_KIND_ADVISORY);
            assert_int_equal(a->action, DG_ACTION_NONE);
            assert_false(a->latched);
            assert_true(a->value == 4 && a->limit == 3);
            assert_string_equal(a->unit, "sessions");
            assert_string_equal(a->limit_source, "ketamine-trd.sessions.max_per_7d");
            assert_non_null(strstr(a->message, "7 days"));
        }
        assert_int_equal(f->rec.n_cmds, 0);
        world_end(f);
    }
}

/* Fewer than 44 h since the last session started: medium advisory. */
static void sessions_min_hours_between(void **state)
{
    (void)state;
    static const struct {
        uint64_t after_ms;
        enum dg_priority want;
    } cases[] = {{44 * HOUR_MS - MIN_MS, DG_PRIO_MEDIUM},
                 {44 * HOUR_MS, DG_PRIO_NONE},
                 {44 * HOUR_MS + MIN_MS, DG_PRIO_NONE}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fx *f = world();
        uint64_t t0 = past_session(f, "s-1", 0.5);
        advance_to(f, t0, cases[i].after_ms);
        nibp_ok(f);
        struct dg_telemetry t = tl(f, DG_PUMP_PROGRAMMED, "s-2");
        tx(f, &t);
        assert_int_equal(prio(f, "sessions"), cases[i].want);
        if (cases[i].want != DG_PRIO_NONE) {
            const struct dg_alert *a = fx_last(f, "sessions", NULL);
            assert_int_equal(a->kind, DG_KIND_ADVISORY);
            assert_string_equal(a->unit, "h");
            assert_true(fabs(a->value - (44.0 - 1.0 / 60)) < 1e-9);
            assert_true(a->limit == 44);
            assert_string_equal(a->limit_source, "ketamine-trd.sessions.min_hours_between");
            assert_non_null(strstr(a->message, "since the last session"));
        }
        /* advisory only: the session may start */
        t = tl(f, DG_PUMP_RUNNING, "s-2");
        tx(f, &t);
        assert_int_equal(f->rec.n_cmds, 0);
        assert_int_equal(prio(f, "sessions"), cases[i].want);
        world_end(f);
    }
}

/* ------------------------------------------------------------ session-dose */

static void session_dose_thresholds(void **state)
{
    (void)state;
    static const struct tier_case cases[] = {
        {0.74, DG_PRIO_NONE},   {0.75, DG_PRIO_NONE},   {0.751, DG_PRIO_MEDIUM},
        {0.99, DG_PRIO_MEDIUM}, {1.00, DG_PRIO_MEDIUM}, {1.001, DG_PRIO_HIGH},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fx *f = world();
        nibp_ok(f);
        struct dg_telemetry t = tl(f, DG_PUMP_RUNNING, "s-1");
        tx(f, &t);
        t = tl(f, DG_PUMP_RUNNING, "s-1");
        t.dose_infused_mg = cases[i].value * 70;
        tx(f, &t);
        bool hard = cases[i].want == DG_PRIO_HIGH;
        assert_int_equal(prio(f, "session-dose"), cases[i].want);
        assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), hard ? 1 : 0);
        if (cases[i].want != DG_PRIO_NONE) {
            const struct dg_alert *a = fx_last(f, "session-dose", NULL);
            assert_int_equal(a->kind, DG_KIND_PHYSIOLOGICAL);
            assert_string_equal(a->unit, "mg/kg");
            assert_true(fabs(a->value - cases[i].value) < 1e-9);
            assert_true(a->limit == (hard ? 1.0 : 0.75));
            assert_string_equal(a->limit_source, hard ? "ketamine-trd.session_dose_mg_per_kg.hard"
                                                      : "ketamine-trd.session_dose_mg_per_kg.soft");
            assert_int_equal(a->action, hard ? DG_ACTION_STOP : DG_ACTION_NONE);
        }
        world_end(f);
    }
}

/* The dose integrated by the gateway counts when it is the larger. */
static void session_dose_uses_integration(void **state)
{
    struct fx *f = *state;
    nibp_ok(f);
    struct dg_telemetry t = tl(f, DG_PUMP_RUNNING, "s-1");
    t.rate_ml_per_h = 70; /* 1 mg/kg/h */
    tx(f, &t);
    fx_advance(f, 46 * MIN_MS); /* 0.7667 mg/kg by rate x time */
    t = tl(f, DG_PUMP_RUNNING, "s-1");
    t.rate_ml_per_h = 70;
    t.dose_infused_mg = 0; /* the pump says nothing was given */
    tx(f, &t);
    assert_int_equal(prio(f, "session-dose"), DG_PRIO_MEDIUM);
}

/* Soft then hard within one alert; paused, completed and stopped it stays
   (dose given stays given); a soft one clears only when the session ends
   or a new one starts. */
static void session_dose_escalates_and_outlives_running(void **state)
{
    struct fx *f = *state;
    nibp_ok(f);
    struct dg_telemetry t = tl(f, DG_PUMP_RUNNING, "s-1");
    tx(f, &t);
    t = tl(f, DG_PUMP_RUNNING, "s-1");
    t.dose_infused_mg = 0.8 * 70;
    tx(f, &t);
    enum dg_alert_phase ph;
    const struct dg_alert *a = fx_last(f, "session-dose", &ph);
    assert_int_equal(ph, DG_PHASE_RAISE);
    char id[DG_ID_MAX];
    snprintf(id, sizeof id, "%s", a->alert_id);
    static const enum dg_pump_state after[] = {DG_PUMP_PAUSED, DG_PUMP_ALARM, DG_PUMP_COMPLETE};
    for (size_t i = 0; i < 3; i++) {
        t = tl(f, after[i], "s-1");
        t.dose_infused_mg = 0.8 * 70;
        tx(f, &t);
        assert_int_equal(prio(f, "session-dose"), DG_PRIO_MEDIUM);
    }
    assert_int_equal(fx_count(f, "session-dose", 0), 1);
    /* a new session on the pump (another patient, so no 24 h dose): cleared */
    nibp_ok(f);
    t = tlp(f, DG_PUMP_PROGRAMMED, "s-2");
    tx(f, &t);
    assert_int_equal(prio(f, "session-dose"), DG_PRIO_NONE);
    a = fx_last(f, "session-dose", &ph);
    assert_int_equal(ph, DG_PHASE_CLEAR);
    assert_string_equal(a->alert_id, id);

    /* s-2: soft, then hard: escalate the same alert, stop */
    t = tlp(f, DG_PUMP_RUNNING, "s-2");
    tx(f, &t);
    t = tlp(f, DG_PUMP_RUNNING, "s-2");
    t.dose_infused_mg = 0.8 * 70;
    tx(f, &t);
    snprintf(id, sizeof id, "%s", fx_last(f, "session-dose", NULL)->alert_id);
    t = tlp(f, DG_PUMP_RUNNING, "s-2");
    t.dose_infused_mg = 1.05 * 70;
    tx(f, &t);
    a = fx_last(f, "session-dose", &ph);
    assert_int_equal(ph, DG_PHASE_ESCALATE);
    assert_string_equal(a->alert_id, id);
    assert_int_equal(a->action, DG_ACTION_STOP);
    assert_true(a->latched);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), 1);
    /* latched: stopped, idle, even a new session: it stays until reset */
    t = tlp(f, DG_PUMP_STOPPED, "s-2");
    t.dose_infused_mg = 1.05 * 70;
    tx(f, &t);
    t = tlp(f, DG_PUMP_IDLE, "s-2");
    tx(f, &t);
    assert_int_equal(prio(f, "session-dose"), DG_PRIO_HIGH);
    struct dg_ack ack = {.reset = true};
    snprintf(ack.alert_id, sizeof ack.alert_id, "%s", id);
    snprintf(ack.user_id, sizeof ack.user_id, "nurse-1");
    assert_int_equal(dg_core_ack(f->core, &ack, f->now), 0);
    assert_int_equal(prio(f, "session-dose"), DG_PRIO_NONE);
    t = tlp(f, DG_PUMP_IDLE, "s-2");
    tx(f, &t);
    assert_int_equal(prio(f, "session-dose"), DG_PRIO_NONE);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), 1);
}

/* ------------------------------------------------------------ rate */

/* rate is judged only while running: a pause clears a soft one. */
static void rate_clears_when_not_running(void **state)
{
    struct fx *f = *state;
    nibp_ok(f);
    struct dg_telemetry t = fx_tele(f, DG_PUMP_RUNNING, 1.2);
    tx(f, &t);
    assert_int_equal(prio(f, "rate"), DG_PRIO_MEDIUM);
    t = fx_tele(f, DG_PUMP_PAUSED, 1.2);
    tx(f, &t);
    assert_int_equal(prio(f, "rate"), DG_PRIO_NONE);
    assert_int_equal(f->rec.n_cmds, 0);
}

/* ------------------------------------------------------------ bolus */

static void bolus_pauses_once(void **state)
{
    struct fx *f = *state;
    nibp_ok(f);
    struct dg_telemetry t = tl(f, DG_PUMP_RUNNING, "s-1");
    tx(f, &t);
    assert_int_equal(fx_count(f, "bolus", 0), 0);
    t = tl(f, DG_PUMP_RUNNING, "s-1");
    t.bolus_count = 1;
    t.bolus_dose_mg = 3.5;
    t.dose_infused_mg = 3.5;
    tx(f, &t);
    assert_int_equal(prio(f, "bolus"), DG_PRIO_HIGH);
    const struct dg_alert *a = fx_last(f, "bolus", NULL);
    assert_int_equal(a->kind, DG_KIND_PHYSIOLOGICAL);
    assert_int_equal(a->action, DG_ACTION_PAUSE);
    assert_true(a->latched);
    assert_true(fabs(a->value - 0.05) < 1e-12);
    assert_string_equal(a->unit, "mg/kg");
    assert_string_equal(a->limit_source, "ketamine-trd.bolus.allowed");
    char id[DG_ID_MAX];
    snprintf(id, sizeof id, "%s", a->alert_id);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PAUSE), 1);
    /* the same totals again, running or paused: nothing new */
    for (int i = 0; i < 3; i++) {
        t = tl(f, i == 2 ? DG_PUMP_PAUSED : DG_PUMP_RUNNING, "s-1");
        t.bolus_count = 1;
        t.bolus_dose_mg = 3.5;
        t.dose_infused_mg = 3.5;
        tx(f, &t);
    }
    assert_int_equal(fx_count(f, "bolus", 0), 1);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PAUSE), 1);
    /* reset: the same bolus does not come back ... */
    struct dg_ack ack = {.reset = true};
    snprintf(ack.alert_id, sizeof ack.alert_id, "%s", id);
    snprintf(ack.user_id, sizeof ack.user_id, "nurse-1");
    assert_int_equal(dg_core_ack(f->core, &ack, f->now), 0);
    for (int i = 0; i < 2; i++) {
        t = tl(f, DG_PUMP_RUNNING, "s-1");
        t.bolus_count = 1;
        t.bolus_dose_mg = 3.5;
        t.dose_infused_mg = 3.5;
        tx(f, &t);
    }
    assert_int_equal(prio(f, "bolus"), DG_PRIO_NONE);
    assert_int_equal(fx_count(f, "bolus", DG_PHASE_RAISE), 1);
    /* ... a second one does */
    t = tl(f, DG_PUMP_RUNNING, "s-1");
    t.bolus_count = 2;
    t.bolus_dose_mg = 7;
    t.dose_infused_mg = 7;
    tx(f, &t);
    assert_int_equal(prio(f, "bolus"), DG_PRIO_HIGH);
    assert_int_equal(fx_count(f, "bolus", DG_PHASE_RAISE), 2);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PAUSE), 2);
}

/* A bolus first reported once the pump has completed: nothing left to
   pause, so the alert does not latch; it stays for the rest of the session
   and ends with it. */
static void bolus_after_the_infusion_stays_until_session_ends(void **state)
{
    struct fx *f = *state;
    nibp_ok(f);
    struct dg_telemetry t = tl(f, DG_PUMP_RUNNING, "s-1");
    tx(f, &t);
    for (int i = 0; i < 3; i++) {
        t = tl(f, DG_PUMP_COMPLETE, "s-1");
        t.bolus_count = 1;
        t.bolus_dose_mg = 3.5;
        t.dose_infused_mg = 3.5;
        tx(f, &t);
        assert_int_equal(prio(f, "bolus"), DG_PRIO_HIGH);
    }
    assert_false(fx_last(f, "bolus", NULL)->latched);
    assert_int_equal(fx_count(f, "bolus", 0), 1);
    assert_int_equal(f->rec.n_cmds, 0);
    t = tl(f, DG_PUMP_IDLE, "s-1");
    tx(f, &t);
    assert_int_equal(prio(f, "bolus"), DG_PRIO_NONE);
}

/* Count alone, or dose alone, is a bolus; allowed, none is an alert. */
static void bolus_count_or_dose_and_allowed(void **state)
{
    (void)state;
    static const struct {
        uint32_t count;
        double dose_mg;
        int allowed;
        enum dg_priority want;
    } cases[] = {{1, 0, 0, DG_PRIO_HIGH},
                 {0, 0.7, 0, DG_PRIO_HIGH},
                 {0, 0, 0, DG_PRIO_NONE},
                 {3, 7, 1, DG_PRIO_NONE}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fx *f = fx_new();
        f->lib.drugs[0].bolus_allowed = cases[i].allowed;
        fx_start(f);
        nibp_ok(f);
        struct dg_telemetry t = tl(f, DG_PUMP_RUNNING, "s-1");
        tx(f, &t);
        t = tl(f, DG_PUMP_RUNNING, "s-1");
        t.bolus_count = cases[i].count;
        t.bolus_dose_mg = cases[i].dose_mg;
        t.dose_infused_mg = cases[i].dose_mg;
        tx(f, &t);
        assert_int_equal(prio(f, "bolus"), cases[i].want);
        assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_PAUSE), cases[i].want == DG_PRIO_HIGH);
        if (cases[i].want == DG_PRIO_HIGH)
            assert_true(fabs(fx_last(f, "bolus", NULL)->value - cases[i].dose_mg / 70) < 1e-12);
        world_end(f);
    }
}

/* ------------------------------------------------------------ dose-mismatch */

/* Running one hour at mL/h (1 mg/mL): the gateway has integrated mL/h mg.
   Then reports at the same device time change nothing in the integration. */
static struct fx *mismatch_world(double ml_per_h)
{
    struct fx *f = fx_new();
    f->lib.drugs[0].bolus_allowed = 1;
    fx_start(f);
    nibp_ok(f);
    struct dg_telemetry t = tl(f, DG_PUMP_RUNNING, "s-1");
    t.rate_ml_per_h = ml_per_h;
    tx(f, &t);
    fx_advance(f, HOUR_MS);
    return f;
}

static void mismatch_report(struct fx *f, double ml_per_h, double reported_mg, double bolus_mg)
{
    struct dg_telemetry t = tl(f, DG_PUMP_RUNNING, "s-1");
    t.rate_ml_per_h = ml_per_h;
    t.dose_infused_mg = reported_mg;
    t.bolus_dose_mg = bolus_mg;
    tx(f, &t);
}

/* Integrated 40 mg (70 kg): 10 % of the larger is 4 mg, above the absolute
   3.5 mg, so the relative margin decides. */
static void dose_mismatch_relative(void **state)
{
    (void)state;
    struct fx *f = mismatch_world(40);
    mismatch_report(f, 40, 36.1, 0); /* 3.9 mg: past abs, within 10 % */
    assert_int_equal(prio(f, "dose-mismatch"), DG_PRIO_NONE);
    mismatch_report(f, 40, 36.0, 0); /* 4 mg: at 10 % */
    assert_int_equal(prio(f, "dose-mismatch"), DG_PRIO_NONE);
    mismatch_report(f, 40, 35.9, 0); /* 4.1 mg: past both */
    assert_int_equal(prio(f, "dose-mismatch"), DG_PRIO_MEDIUM);
    const struct dg_alert *a = fx_last(f, "dose-mismatch", NULL);
    assert_int_equal(a->kind, DG_KIND_TECHNICAL);
    assert_int_equal(a->action, DG_ACTION_NONE);
    assert_string_equal(a->unit, "mg/kg");
    assert_true(fabs(a->value - 4.1 / 70) < 1e-9);
    assert_true(fabs(a->limit - 4.0 / 70) < 1e-9);
    assert_string_equal(a->limit_source, "liveness.dose_mismatch_rel_pct");
    mismatch_report(f, 40, 38, 0); /* back within */
    assert_int_equal(prio(f, "dose-mismatch"), DG_PRIO_NONE);
    assert_int_equal(fx_count(f, "dose-mismatch", DG_PHASE_CLEAR), 1);
    assert_int_equal(f->rec.n_cmds, 0);
    world_end(f);
}

/* Integrated 20 mg: the absolute 0.05 mg/kg (3.5 mg) decides. */
static void dose_mismatch_absolute(void **state)
{
    (void)state;
    struct fx *f = mismatch_world(20);
    mismatch_report(f, 20, 23.4, 0); /* 14.5 % but 0.0486 mg/kg */
    assert_int_equal(prio(f, "dose-mismatch"), DG_PRIO_NONE);
    mismatch_report(f, 20, 23.5, 0); /* 0.05 mg/kg exactly */
    assert_int_equal(prio(f, "dose-mismatch"), DG_PRIO_NONE);
    mismatch_report(f, 20, 23.6, 0); /* past both */
    assert_int_equal(prio(f, "dose-mismatch"), DG_PRIO_MEDIUM);
    const struct dg_alert *a = fx_last(f, "dose-mismatch", NULL);
    assert_true(fabs(a->limit - 0.05) < 1e-12);
    assert_string_equal(a->limit_source, "liveness.dose_mismatch_abs_mg_per_kg");
    /* boluses are not the infusion: 25.1 reported with 5 of bolus is 20.1 */
    mismatch_report(f, 20, 25.1, 5);
    assert_int_equal(prio(f, "dose-mismatch"), DG_PRIO_NONE);
    mismatch_report(f, 20, 28.6, 5);
    assert_int_equal(prio(f, "dose-mismatch"), DG_PRIO_MEDIUM);
    assert_int_equal(fx_count(f, "dose-mismatch", DG_PHASE_RAISE), 2);
    world_end(f);
}

/* ------------------------------------------------------------ whole flows */

/* A normal session from program to idle raises nothing at all. */
static void normal_session_raises_nothing(void **state)
{
    struct fx *f = *state;
    nibp_ok(f);
    struct dg_telemetry t = tl(f, DG_PUMP_PROGRAMMED, "s-1");
    tx(f, &t);
    t = tl(f, DG_PUMP_RUNNING, "s-1");
    t.rate_ml_per_h = 52.5;
    tx(f, &t);
    for (int i = 1; i <= 40; i++) {
        fx_advance(f, MIN_MS);
        t = tl(f, i == 40 ? DG_PUMP_COMPLETE : DG_PUMP_RUNNING, "s-1");
        t.rate_ml_per_h = i == 40 ? 0 : 52.5;
        t.dose_infused_mg = 52.5 * i / 60.0;
        tx(f, &t);
    }
    t = tl(f, DG_PUMP_IDLE, "s-1");
    t.has_program = false;
    tx(f, &t);
    for (int i = 0; i < f->rec.n_alerts; i++)
        fail_msg("unexpected alert %s: %s", f->rec.alerts[i].condition, f->rec.alerts[i].message);
    assert_int_equal(f->rec.n_cmds, 0);
}

/* Each session has its own alerts: the same finding in the next session
   is a new alert (the old one clears), not an update of the old one. */
static void next_session_gets_its_own_alert(void **state)
{
    struct fx *f = *state;
    nibp_ok(f);
    struct dg_telemetry t = tl(f, DG_PUMP_PROGRAMMED, "s-1");
    t.program.dose_mg_per_kg = 0.8;
    tx(f, &t);
    char id[DG_ID_MAX];
    snprintf(id, sizeof id, "%s", fx_last(f, "programmed-dose", NULL)->alert_id);
    t = tlp(f, DG_PUMP_PROGRAMMED, "s-2");
    t.program.dose_mg_per_kg = 0.9;
    tx(f, &t);
    assert_int_equal(fx_count(f, "programmed-dose", DG_PHASE_UPDATE), 0);
    assert_int_equal(fx_count(f, "programmed-dose", DG_PHASE_CLEAR), 1);
    assert_int_equal(fx_count(f, "programmed-dose", DG_PHASE_RAISE), 2);
    enum dg_alert_phase ph;
    const struct dg_alert *a = fx_last(f, "programmed-dose", &ph);
    assert_int_equal(ph, DG_PHASE_RAISE);
    assert_string_not_equal(a->alert_id, id);
    assert_string_equal(a->patient_ref, "pt-2");
}

/* A refused session that the pump stops before it runs: what is not
   latched clears with it. */
static void refused_session_over_clears_unlatched(void **state)
{
    struct fx *f = *state;
    nibp_ok(f);
    struct dg_telemetry t = tl(f, DG_PUMP_PROGRAMMED, "s-1");
    t.program.patient_weight_kg = 0;
    t.program.concentration_mg_per_ml = 3;
    tx(f, &t);
    assert_int_equal(prio(f, "weight"), DG_PRIO_HIGH);
    assert_int_equal(prio(f, "concentration"), DG_PRIO_MEDIUM);
    t = tl(f, DG_PUMP_STOPPED, "s-1");
    t.program.patient_weight_kg = 0;
    t.program.concentration_mg_per_ml = 3;
    tx(f, &t);
    assert_int_equal(prio(f, "weight"), DG_PRIO_HIGH);
    assert_int_equal(prio(f, "concentration"), DG_PRIO_NONE);
    assert_int_equal(fx_cmds(f, "pump-1", DG_CMD_STOP), 1);
}

/* Out of memory anywhere in a busy message: an error, never a crash or a
   leak (fx_teardown counts allocations). */
static void out_of_memory_is_an_error(void **state)
{
    (void)state;
    for (uint64_t n = 1; n < 24; n++) {
        struct fx *f = world();
        uint64_t t0 = past_session(f, "s-1", 0.5);
        advance_to(f, t0, 2 * HOUR_MS);
        nibp_ok(f);
        dg_alloc_fail_after(n);
        struct dg_telemetry t = tl(f, DG_PUMP_RUNNING, "s-2");
        t.program.dose_mg_per_kg = 1.2;
        t.program.patient_weight_kg = 0;
        t.program.concentration_mg_per_ml = 12;
        t.bolus_count = 1;
        int rc = fx_send_tele(f, &t);
        dg_alloc_fail_after(0);
        assert_true(rc == 0 || rc == -DG_ENOMEM);
        world_end(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(programmed_dose_thresholds),
        cmocka_unit_test_setup_teardown(programmed_dose_escalates_in_one_alert, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(prestart_alert_kept_while_running_cleared_when_idle,
                                        fx_setup, fx_teardown),
        cmocka_unit_test(weight_thresholds),
        cmocka_unit_test_setup_teardown(weight_missing_on_start_stops, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(stop_on_start_goes_to_programmed_pump, fx_setup,
                                        fx_teardown),
        cmocka_unit_test(concentration_thresholds),
        cmocka_unit_test(concentration_escalates_while_running),
        cmocka_unit_test(unknown_drug_and_care_area),
        cmocka_unit_test(any_area_entry_is_known),
        cmocka_unit_test(no_program_stops),
        cmocka_unit_test(dose_24h_prestart_thresholds),
        cmocka_unit_test(dose_24h_window_edge),
        cmocka_unit_test_setup_teardown(dose_24h_while_running, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(dose_24h_refusal_repeats_for_new_session, fx_setup,
                                        fx_teardown),
        cmocka_unit_test(sessions_per_7_days),
        cmocka_unit_test(sessions_min_hours_between),
        cmocka_unit_test(session_dose_thresholds),
        cmocka_unit_test_setup_teardown(session_dose_uses_integration, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(session_dose_escalates_and_outlives_running, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(rate_clears_when_not_running, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(bolus_pauses_once, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(bolus_after_the_infusion_stays_until_session_ends, fx_setup,
                                        fx_teardown),
        cmocka_unit_test(bolus_count_or_dose_and_allowed),
        cmocka_unit_test(dose_mismatch_relative),
        cmocka_unit_test(dose_mismatch_absolute),
        cmocka_unit_test_setup_teardown(normal_session_raises_nothing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(next_session_gets_its_own_alert, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(refused_session_over_clears_unlatched, fx_setup,
                                        fx_teardown),
        cmocka_unit_test(out_of_memory_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
