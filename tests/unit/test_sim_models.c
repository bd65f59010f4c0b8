/*
 * test_sim_models.c — the simulator's pure pump and patient models and its
 * scenarios (sim/sim_pump.c, sim/sim_monitor.c, sim/sim_scenario.c): dose
 * integration, the overrate slip, obeying pause/stop, physiology that a
 * correct gateway must not alarm on, each scenario firing exactly its rule
 * (read by a small reference of the contract's default rules) at the time
 * the docs give, bolus and overdose accounting, and the permit rule.
 * No sockets, no clock: time is stepped one simulated second at a time and
 * wall-clock times are passed in.
 */
#include <math.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/error.h"
#include "sim_monitor.h"
#include "sim_pump.h"
#include "sim_rng.h"
#include "sim_scenario.h"

#define PRE_S     120u
#define SESSION_S 2400u
#define POST_S    300u

static struct dg_sim_pump_params standard(double rate_factor)
{
    struct dg_sim_pump_params p = {
        .weight_kg = 70,
        .dose_mg_per_kg = 0.5,
        .conc_mg_per_ml = 1.0,
        .duration_min = 40,
        .rate_factor = rate_factor,
        .pre_s = PRE_S,
        .session_s = SESSION_S,
    };
    return p;
}

static void run(struct dg_sim_pump *pump, uint32_t seconds)
{
    for (uint32_t i = 0; i < seconds; i++)
        dg_sim_pump_step(pump);
}

/* 0.5 mg/kg over 40 min at 70 kg: 52.5 mL/h (0.75 mg/kg/h), 35 mg in total. */
static void test_dose_integration(void **state)
{
    (void)state;
    struct dg_sim_pump_params p = standard(1);
    struct dg_sim_pump pump;
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    assert_int_equal(pump.state, DG_PUMP_PROGRAMMED);
    assert_true(fabs(pump.program_rate_ml_per_h - 52.5) < 1e-9);
    assert_true(pump.rate_ml_per_h == 0.0);

    run(&pump, PRE_S - 1);
    assert_int_equal(pump.state, DG_PUMP_PROGRAMMED);
    assert_int_equal(dg_sim_pump_step(&pump), 1); /* t = pre: starts */
    assert_int_equal(pump.state, DG_PUMP_RUNNING);
    assert_true(fabs(pump.rate_ml_per_h - 52.5) < 1e-9);
    assert_true(fabs(dg_sim_pump_dose_rate(&pump) - 0.75) < 1e-9);

    run(&pump, SESSION_S / 2); /* half-way */
    assert_int_equal(pump.state, DG_PUMP_RUNNING);
    assert_true(fabs(pump.dose_mg - 17.5) < 1e-6);

    run(&pump, SESSION_S / 2 - 1);
    assert_int_equal(pump.state, DG_PUMP_RUNNING);
    assert_int_equal(dg_sim_pump_step(&pump), 1); /* the last second completes it */
    assert_int_equal(pump.state, DG_PUMP_COMPLETE);
    assert_int_equal(pump.t_s, PRE_S + SESSION_S);
    assert_true(pump.dose_mg == 35.0);
    assert_true(pump.volume_ml == 35.0);
    assert_true(fabs(pump.dose_mg / p.weight_kg - 0.5) < 1e-12);
    assert_true(pump.rate_ml_per_h == 0.0);

    /* Observation: stays complete, nothing more flows. */
    for (uint32_t i = 0; i < POST_S; i++)
        assert_int_equal(dg_sim_pump_step(&pump), 0);
    assert_int_equal(pump.state, DG_PUMP_COMPLETE);
    assert_true(pump.dose_mg == 35.0);
    assert_int_equal(pump.commands, 0);
}

static void test_weight_scales_rate_not_dose_rate(void **state)
{
    (void)state;
    struct dg_sim_pump_params p = standard(1);
    p.weight_kg = 100;
    struct dg_sim_pump pump;
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    assert_true(fabs(pump.program_rate_ml_per_h - 75.0) < 1e-9);
    run(&pump, PRE_S + SESSION_S);
    assert_int_equal(pump.state, DG_PUMP_COMPLETE);
    assert_true(fabs(pump.dose_mg - 50.0) < 1e-9);
}

static void test_no_pre_phase_starts_at_once(void **state)
{
    (void)state;
    struct dg_sim_pump_params p = standard(1);
    p.pre_s = 0;
    struct dg_sim_pump pump;
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    assert_int_equal(pump.state, DG_PUMP_RUNNING);
}

/* The decimal slip: 525 mL/h = 7.5 mg/kg/h; the VTBI still ends it at 35 mL. */
static void test_overrate(void **state)
{
    (void)state;
    struct dg_sim_pump_params p = standard(10);
    struct dg_sim_pump pump;
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    assert_true(fabs(pump.program_rate_ml_per_h - 525.0) < 1e-9);
    run(&pump, PRE_S);
    assert_int_equal(pump.state, DG_PUMP_RUNNING);
    assert_true(fabs(dg_sim_pump_dose_rate(&pump) - 7.5) < 1e-9);
    run(&pump, 30);
    assert_true(fabs(pump.dose_mg - 525.0 / 3600.0 * 30) < 1e-9); /* 4.375 mg */
    run(&pump, 210);                                              /* 240 s of running: 35 mL */
    assert_int_equal(pump.state, DG_PUMP_COMPLETE);
    assert_true(pump.dose_mg == 35.0);
    run(&pump, 60);
    assert_true(pump.dose_mg == 35.0);
}

static void test_pause_obeyed_never_resumes(void **state)
{
    (void)state;
    struct dg_sim_pump_params p = standard(10);
    struct dg_sim_pump pump;
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    run(&pump, PRE_S + 5);
    double dose = pump.dose_mg;
    assert_true(dose > 0);

    assert_int_equal(dg_sim_pump_command(&pump, DG_CMD_PAUSE, "cmd-1", 0), 1);
    assert_int_equal(pump.state, DG_PUMP_PAUSED);
    assert_true(pump.rate_ml_per_h == 0.0);
    assert_true(dg_sim_pump_dose_rate(&pump) == 0.0);
    assert_string_equal(pump.last_command_id, "cmd-1");
    assert_int_equal(pump.last_cmd, DG_SIM_CMD_PAUSE);
    assert_int_equal(pump.commands, 1);

    /* Through the rest of the session and beyond: still paused, no drug. */
    for (uint32_t i = 0; i < SESSION_S + POST_S; i++)
        assert_int_equal(dg_sim_pump_step(&pump), 0);
    assert_int_equal(pump.state, DG_PUMP_PAUSED);
    assert_true(pump.dose_mg == dose);

    /* A QoS 1 redelivery of the same command is acted on once. */
    assert_int_equal(dg_sim_pump_command(&pump, DG_CMD_PAUSE, "cmd-1", 0), 0);
    assert_int_equal(pump.commands, 1);

    /* STOP after PAUSE: stopped. */
    assert_int_equal(dg_sim_pump_command(&pump, DG_CMD_STOP, "cmd-2", 0), 1);
    assert_int_equal(pump.state, DG_PUMP_STOPPED);
    assert_int_equal(pump.last_cmd, DG_SIM_CMD_STOP);
    assert_string_equal(pump.last_command_id, "cmd-2");
    assert_int_equal(pump.commands, 2);

    /* PAUSE after STOP: recorded, the state stays stopped. */
    assert_int_equal(dg_sim_pump_command(&pump, DG_CMD_PAUSE, "cmd-3", 0), 0);
    assert_int_equal(pump.state, DG_PUMP_STOPPED);
    assert_string_equal(pump.last_command_id, "cmd-3");
    assert_int_equal(pump.commands, 3);
}

static void test_stop_obeyed(void **state)
{
    (void)state;
    struct dg_sim_pump_params p = standard(1);
    struct dg_sim_pump pump;
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    run(&pump, PRE_S + 600);
    assert_int_equal(dg_sim_pump_command(&pump, DG_CMD_STOP, "cmd-s", 0), 1);
    assert_int_equal(pump.state, DG_PUMP_STOPPED);
    double dose = pump.dose_mg;
    assert_true(fabs(dose - 52.5 / 3600.0 * 600) < 1e-9);
    run(&pump, SESSION_S + POST_S);
    /* Not "complete" when the session time ends: it was stopped. */
    assert_int_equal(pump.state, DG_PUMP_STOPPED);
    assert_true(pump.dose_mg == dose);
}

static void test_pause_before_start(void **state)
{
    (void)state;
    struct dg_sim_pump_params p = standard(1);
    struct dg_sim_pump pump;
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    run(&pump, 10);
    assert_int_equal(dg_sim_pump_command(&pump, DG_CMD_PAUSE, "cmd-early", 0), 1);
    run(&pump, PRE_S + SESSION_S);
    assert_int_equal(pump.state, DG_PUMP_PAUSED);
    assert_true(pump.dose_mg == 0.0);
}

static void test_stop_after_complete_keeps_complete(void **state)
{
    (void)state;
    struct dg_sim_pump_params p = standard(1);
    struct dg_sim_pump pump;
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    run(&pump, PRE_S + SESSION_S);
    assert_int_equal(dg_sim_pump_command(&pump, DG_CMD_STOP, "late", 0), 0);
    assert_int_equal(pump.state, DG_PUMP_COMPLETE);
    assert_string_equal(pump.last_command_id, "late");
}

static void test_permit_only_recorded(void **state)
{
    (void)state;
    struct dg_sim_pump_params p = standard(1);
    struct dg_sim_pump pump;
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    run(&pump, PRE_S + 1);
    assert_int_equal(dg_sim_pump_command(&pump, DG_CMD_PERMIT, "permit-1", 1234567), 0);
    assert_int_equal(pump.state, DG_PUMP_RUNNING);
    assert_int_equal(pump.permits, 1);
    assert_true(pump.permit_valid_until_ms == 1234567);
    assert_int_equal(pump.commands, 0);
    assert_string_equal(pump.last_command_id, "");
    assert_int_equal(dg_sim_pump_command(&pump, (enum dg_command_action)99, "x", 0), -DG_EINVAL);
    assert_int_equal(pump.state, DG_PUMP_RUNNING);
}

static void test_bad_params_refused(void **state)
{
    (void)state;
    struct dg_sim_pump pump;
    struct dg_sim_pump_params p = standard(1);
    p.weight_kg = 0;
    assert_int_equal(dg_sim_pump_init(&pump, &p), -DG_EINVAL);
    p = standard(1);
    p.conc_mg_per_ml = NAN;
    assert_int_equal(dg_sim_pump_init(&pump, &p), -DG_EINVAL);
    p = standard(1);
    p.duration_min = -40;
    assert_int_equal(dg_sim_pump_init(&pump, &p), -DG_EINVAL);
}

/* ---------------------------------------------------------------- physiology */

struct session_stats {
    double hr_min, hr_max, spo2_min, spo2_max, rr_min, rr_max, etco2_min, etco2_max;
    double sbp_max, dbp_max;
    double baseline_sbp, baseline_dbp; /* the last NIBP before the start */
    double max_rise_sbp, max_rise_dbp;
    double peak_sbp_time_s;
    double peak_effect, peak_effect_time_s;
    double end_sbp; /* the last NIBP of the observation period */
    unsigned nibp;
    uint32_t nibp_times[32];
};

/* One whole session of pump + patient, coupled as the simulator couples them. */
static void run_session(uint64_t seed, double rate_factor, uint32_t pause_at_s,
                        struct session_stats *st)
{
    struct dg_sim_pump_params p = standard(rate_factor);
    struct dg_sim_pump pump;
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    struct dg_sim_monitor_params mp = {.seed = seed, .stream = 1, .pre_s = PRE_S};
    struct dg_sim_monitor mon;
    dg_sim_monitor_init(&mon, &mp);
    memset(st, 0, sizeof *st);
    st->hr_min = st->spo2_min = st->rr_min = st->etco2_min = 1e9;
    for (uint32_t t = 0; t <= PRE_S + SESSION_S + POST_S; t++) {
        if (t > 0) {
            double rate = dg_sim_pump_dose_rate(&pump);
            dg_sim_pump_step(&pump);
            dg_sim_monitor_step(&mon, rate);
        }
        if (pause_at_s && t == pause_at_s) dg_sim_pump_command(&pump, DG_CMD_PAUSE, "cmd", 0);
        if (dg_sim_monitor_effect(&mon) > st->peak_effect) {
            st->peak_effect = dg_sim_monitor_effect(&mon);
            st->peak_effect_time_s = t;
        }
        struct dg_sim_vitals v;
        dg_sim_monitor_sample(&mon, &v);
        st->hr_min = fmin(st->hr_min, v.heart_rate_bpm);
        st->hr_max = fmax(st->hr_max, v.heart_rate_bpm);
        st->spo2_min = fmin(st->spo2_min, v.spo2_pct);
        st->spo2_max = fmax(st->spo2_max, v.spo2_pct);
        st->rr_min = fmin(st->rr_min, v.resp_rate_bpm);
        st->rr_max = fmax(st->rr_max, v.resp_rate_bpm);
        st->etco2_min = fmin(st->etco2_min, v.etco2_mmhg);
        st->etco2_max = fmax(st->etco2_max, v.etco2_mmhg);
        if (!v.has_nibp) continue;
        if (st->nibp < 32) st->nibp_times[st->nibp] = t;
        st->nibp++;
        assert_true(v.mean_mmhg > v.diastolic_mmhg && v.mean_mmhg < v.systolic_mmhg);
        if (t < PRE_S) {
            st->baseline_sbp = v.systolic_mmhg;
            st->baseline_dbp = v.diastolic_mmhg;
            continue;
        }
        if (v.systolic_mmhg > st->sbp_max) {
            st->sbp_max = v.systolic_mmhg;
            st->peak_sbp_time_s = t;
        }
        st->dbp_max = fmax(st->dbp_max, v.diastolic_mmhg);
        st->max_rise_sbp = fmax(st->max_rise_sbp, v.systolic_mmhg - st->baseline_sbp);
        st->max_rise_dbp = fmax(st->max_rise_dbp, v.diastolic_mmhg - st->baseline_dbp);
        st->end_sbp = v.systolic_mmhg;
    }
}

/* The normal scenario stays well inside every vital-sign rule, for many patients. */
static void test_normal_physiology_within_limits(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 50; seed++) {
        struct session_stats st;
        run_session(seed, 1, 0, &st);
        /* the brief's limits: a correct gateway raises nothing */
        assert_true(st.hr_min >= 50 && st.hr_max <= 120);
        assert_true(st.spo2_min >= 94);
        assert_true(st.rr_min >= 10 && st.rr_max <= 30);
        assert_true(st.sbp_max < 140);
        assert_true(st.dbp_max < 90);
        assert_true(st.baseline_sbp < 140 && st.baseline_dbp < 90);
        assert_true(st.max_rise_sbp < 30);
        assert_true(st.max_rise_dbp < 20);
        /* the documented ranges */
        assert_true(st.spo2_min >= 97 && st.spo2_max <= 99);
        assert_true(st.rr_min >= 12 && st.rr_max <= 16);
        assert_true(st.etco2_min >= 35 && st.etco2_max <= 40);
        assert_true(st.hr_min >= 66 && st.hr_max <= 87);
        /* ketamine's rise is there: the drug effect peaks (1.0) at the end of
           the infusion, the measured BP in its second half (the curve is flat
           near the top and each reading has +-1 mmHg), and it wanes during
           observation */
        assert_true(fabs(st.peak_effect - 1.0) < 1e-9);
        assert_true(st.peak_effect_time_s == PRE_S + SESSION_S);
        assert_true(st.max_rise_sbp >= 10);
        assert_true(st.max_rise_dbp >= 5);
        assert_true(st.peak_sbp_time_s >= PRE_S + SESSION_S / 2 &&
                    st.peak_sbp_time_s <= PRE_S + SESSION_S);
        assert_true(st.end_sbp < st.sbp_max);
    }
}

/* NIBP at the start, 30 s before the infusion, then every 5 min from its start. */
static void test_nibp_schedule(void **state)
{
    (void)state;
    struct session_stats st;
    run_session(7, 1, 0, &st);
    assert_int_equal(st.nibp, 2 + (SESSION_S + POST_S) / 300);
    assert_int_equal(st.nibp_times[0], 0);
    assert_int_equal(st.nibp_times[1], PRE_S - 30);
    for (unsigned i = 2; i < st.nibp && i < 32; i++)
        assert_int_equal(st.nibp_times[i], PRE_S + 300 * (i - 1));
}

static void test_physiology_deterministic_per_seed(void **state)
{
    (void)state;
    struct dg_sim_monitor_params mp = {.seed = 42, .stream = 3, .pre_s = 60};
    struct dg_sim_monitor a, b, c;
    dg_sim_monitor_init(&a, &mp);
    dg_sim_monitor_init(&b, &mp);
    mp.seed = 43;
    dg_sim_monitor_init(&c, &mp);
    int differs = 0;
    for (int t = 0; t < 600; t++) {
        struct dg_sim_vitals va, vb, vc;
        dg_sim_monitor_sample(&a, &va);
        dg_sim_monitor_sample(&b, &vb);
        dg_sim_monitor_sample(&c, &vc);
        assert_memory_equal(&va, &vb, sizeof va);
        differs |= memcmp(&va, &vc, sizeof va) != 0;
        dg_sim_monitor_step(&a, 0.75);
        dg_sim_monitor_step(&b, 0.75);
        dg_sim_monitor_step(&c, 0.75);
    }
    assert_true(differs);
    assert_true(a.base_sbp != c.base_sbp);
}

/* The drug effect follows the dose actually given: a 10x rate raises it fast;
   a pump paused within seconds leaves the patient near baseline. */
static void test_effect_follows_dose(void **state)
{
    (void)state;
    struct dg_sim_monitor_params mp = {.seed = 1, .stream = 1, .pre_s = 0};
    struct dg_sim_monitor fast, paused, normal;
    dg_sim_monitor_init(&fast, &mp);
    dg_sim_monitor_init(&paused, &mp);
    dg_sim_monitor_init(&normal, &mp);
    for (int t = 0; t < 240; t++) {
        dg_sim_monitor_step(&fast, 7.5);
        dg_sim_monitor_step(&paused, t < 10 ? 7.5 : 0.0);
        dg_sim_monitor_step(&normal, 0.75);
    }
    assert_true(dg_sim_monitor_effect(&fast) > 2.0);
    assert_true(dg_sim_monitor_effect(&paused) < 0.15);
    assert_true(dg_sim_monitor_effect(&normal) < 0.3);
    for (int t = 240; t < 2400; t++)
        dg_sim_monitor_step(&normal, 0.75);
    assert_true(fabs(dg_sim_monitor_effect(&normal) - 1.0) < 1e-9);
    /* The unpaused overrate patient is the one a BP rule would catch. */
    struct session_stats st;
    run_session(1, 10, 0, &st);
    assert_true(st.max_rise_sbp >= 30);
    run_session(1, 10, PRE_S + 5, &st);
    assert_true(st.max_rise_sbp < 5);
}

/* ---------------------------------------------------------------- scenarios */

/*
 * A reference reading of the contract's default rules (contract.md), as a
 * gateway would apply them to the devices' messages second by second, and
 * acting as it would (PAUSE / STOP at the second a rule with an action
 * fires). Only what the pure models decide: liveness (silence, clock skew,
 * permits, command timeouts) belongs to the shell and is checked on the
 * plan. It is deliberately simple: it exists to show that each scenario
 * crosses its rule clearly, when the docs say, and nothing else.
 *
 * Two beds at most: bed-i (index 0) and, in pump-moves-bed, bed-i-b (1).
 * Each has its own monitor and vital-sign state; an action goes to the pump
 * only if the pump is on that bed at the time (the bed it last reported).
 * The latch: a pump that runs again after a command is paused again, and
 * stopped the second time. A program whose weight changes mid-session is a
 * weight change (pause); rate and dose rules keep the session-start weight.
 */
enum ref_rule {
    R_RATE_SOFT,
    R_RATE_HARD,
    R_DOSE_SOFT,
    R_DOSE_HARD,
    R_DOSE_24H,
    R_BOLUS,
    R_CONC_SOFT,
    R_CONC_HARD,
    R_WEIGHT,
    R_PROG_SOFT,
    R_PROG_HARD,
    R_SESSIONS,
    R_BASELINE_WARN,
    R_BASELINE_CRIT,
    R_BP_RISE,
    R_BP_HIGH,
    R_BP_SEVERE,
    R_HR_WARN,
    R_HR_CRIT,
    R_SPO2_WARN,
    R_SPO2_CRIT,
    R_RR_WARN,
    R_RR_CRIT,
    R_TWO_WARNINGS,
    R_DOSE_MISMATCH,
    R_WEIGHT_CHANGE,
    R_LATCH, /* ran again under a latched command (the gateway's doing) */
    R_COUNT,
};

static const char *const ref_names[R_COUNT] = {
    "rate-soft",     "rate-hard",     "dose-soft", "dose-hard", "dose-24h",  "bolus",
    "conc-soft",     "conc-hard",     "weight",    "prog-soft", "prog-hard", "sessions",
    "baseline-warn", "baseline-crit", "bp-rise",   "bp-high",   "bp-severe", "hr-warn",
    "hr-crit",       "spo2-warn",     "spo2-crit", "rr-warn",   "rr-crit",   "two-warnings",
    "dose-mismatch", "weight-change", "latch",
};

#define NONE_T (-1)
#define BEDS   2

/* One bed's vital-sign state. */
struct ref_bed {
    int64_t fired[R_COUNT]; /* first second each rule fired on this bed, NONE_T if never */
    int64_t bp_t;           /* latest NIBP */
    double bp_s, bp_d, base_s, base_d;
    int64_t high_t; /* latest NIBP above 180/110 after the start */
    bool rise_now;  /* latest NIBP after the start rose >= 40/25 */
    int64_t hr_since, spo2_since, rr_since;
};

struct ref {
    struct ref_bed bed[BEDS];
    int64_t total_s;
    struct dg_sim_plan plan;
    struct dg_sim_pump pump;
    struct dg_sim_monitor mon, mon_b;
    /* gateway state */
    bool started;     /* the current session has run */
    unsigned session; /* the pump's session seen last */
    double start_weight_kg;
    double integrated_mg, prev_rate_ml_h;
    double history_mg_per_kg; /* earlier sessions, delivered */
    int64_t last_start_t;     /* NONE_T */
    bool was_running;
    bool latched; /* a command was sent */
    int relapses; /* the pump ran again under it */
    bool act;     /* send PAUSE / STOP as a gateway would */
    int commands; /* sent */
};

/* The bed the pump reports at t. */
static int ref_pump_bed(const struct ref *r, int64_t t)
{
    return t >= (int64_t)r->plan.pump_moves_from_s ? 1 : 0;
}

static void ref_command(struct ref *r, enum ref_rule rule, enum dg_command_action action)
{
    char id[32];
    snprintf(id, sizeof id, "ref-%d-%d", (int)rule, r->commands++);
    dg_sim_pump_command(&r->pump, action, id, 0);
    r->latched = true;
}

static void ref_fire(struct ref *r, int bed, enum ref_rule rule, int64_t t,
                     enum dg_command_action action)
{
    if (r->bed[bed].fired[rule] == NONE_T) r->bed[bed].fired[rule] = t;
    if (r->act && action && ref_pump_bed(r, t) == bed && r->pump.state != DG_PUMP_STOPPED &&
        !(action == DG_CMD_PAUSE && r->pump.state == DG_PUMP_PAUSED))
        ref_command(r, rule, action);
}

/* Sustained condition: since when it holds, and has it held delay_s? */
static bool ref_sustained(int64_t *since, bool cond, int64_t t, int64_t delay_s)
{
    if (!cond) {
        *since = NONE_T;
        return false;
    }
    if (*since == NONE_T) *since = t;
    return t - *since >= delay_s;
}

static void ref_vitals(struct ref *r, int bed, const struct dg_sim_vitals *v, int64_t t)
{
    struct ref_bed *b = &r->bed[bed];
    if (v->has_nibp) {
        b->bp_t = t;
        b->bp_s = v->systolic_mmhg;
        b->bp_d = v->diastolic_mmhg;
        if (r->last_start_t != NONE_T) {
            double s = v->systolic_mmhg, d = v->diastolic_mmhg;
            b->rise_now = s - b->base_s >= 40 || d - b->base_d >= 25;
            if (b->rise_now) ref_fire(r, bed, R_BP_RISE, t, 0);
            if (s > 200 || d > 120) ref_fire(r, bed, R_BP_SEVERE, t, DG_CMD_STOP);
            if (s > 180 || d > 110) {
                if (b->high_t != NONE_T && t - b->high_t <= 300)
                    ref_fire(r, bed, R_BP_HIGH, t, DG_CMD_PAUSE);
                b->high_t = t;
            }
        }
    }
    if (r->last_start_t == NONE_T) return; /* vitals rules: from the first start on */
    int warnings = b->rise_now;
    double hr = v->heart_rate_bpm, spo2 = v->spo2_pct, rr = v->resp_rate_bpm;
    if (ref_sustained(&b->hr_since, hr < 50 || hr > 120, t, 60)) {
        ref_fire(r, bed, R_HR_WARN, t, 0);
        warnings++;
    }
    if (hr <= 40 || hr >= 150) ref_fire(r, bed, R_HR_CRIT, t, DG_CMD_PAUSE);
    if (ref_sustained(&b->spo2_since, spo2 <= 90, t, 15)) {
        ref_fire(r, bed, R_SPO2_WARN, t, 0);
        warnings++;
    }
    if (spo2 <= 85) ref_fire(r, bed, R_SPO2_CRIT, t, DG_CMD_PAUSE);
    if (ref_sustained(&b->rr_since, rr < 10 || rr > 30, t, 30)) {
        ref_fire(r, bed, R_RR_WARN, t, 0);
        warnings++;
    }
    if (rr <= 6) ref_fire(r, bed, R_RR_CRIT, t, DG_CMD_PAUSE);
    if (warnings >= 2) ref_fire(r, bed, R_TWO_WARNINGS, t, DG_CMD_PAUSE);
}

static void ref_telemetry(struct ref *r, int64_t t)
{
    const struct dg_sim_pump *p = &r->pump;
    int bed = ref_pump_bed(r, t);
    struct ref_bed *b = &r->bed[bed];
    double w = dg_sim_pump_program_weight(p), conc = p->p.conc_mg_per_ml;
    if (p->session != r->session) { /* a new session: remember the last one */
        r->history_mg_per_kg += r->integrated_mg / p->p.weight_kg;
        r->session = p->session;
        r->started = false;
        r->integrated_mg = r->prev_rate_ml_h = 0;
    }
    bool running = p->state == DG_PUMP_RUNNING;
    if (running && !r->was_running && r->latched && r->act) { /* the latch */
        r->relapses++;
        if (r->bed[bed].fired[R_LATCH] == NONE_T) r->bed[bed].fired[R_LATCH] = t;
        ref_command(r, R_LATCH, r->relapses == 1 ? DG_CMD_PAUSE : DG_CMD_STOP);
    }
    r->was_running = p->state == DG_PUMP_RUNNING;
    /* The gateway's own integration: the last reported rate over the last second. */
    r->integrated_mg += r->prev_rate_ml_h * conc / 3600.0;
    r->prev_rate_ml_h = p->rate_ml_per_h;
    double integrated = r->integrated_mg + p->bolus_mg;
    if (p->state == DG_PUMP_RUNNING && !r->started) { /* pre-start checks */
        r->started = true;
        r->start_weight_kg = w;
        if (w <= 0 || w < 30 || w > 250) ref_fire(r, bed, R_WEIGHT, t, DG_CMD_STOP);
        if (conc > 10)
            ref_fire(r, bed, R_CONC_HARD, t, DG_CMD_STOP);
        else if (conc < 0.5 || conc > 2)
            ref_fire(r, bed, R_CONC_SOFT, t, 0);
        if (p->p.dose_mg_per_kg > 1.0)
            ref_fire(r, bed, R_PROG_HARD, t, DG_CMD_STOP);
        else if (p->p.dose_mg_per_kg > 0.75)
            ref_fire(r, bed, R_PROG_SOFT, t, 0);
        if (b->bp_t == NONE_T || t - b->bp_t > 900)
            ref_fire(r, bed, R_BASELINE_WARN, t, 0);
        else if (b->bp_s >= 180 || b->bp_d >= 110)
            ref_fire(r, bed, R_BASELINE_CRIT, t, DG_CMD_STOP);
        else if (b->bp_s >= 140 || b->bp_d >= 90)
            ref_fire(r, bed, R_BASELINE_WARN, t, 0);
        if (r->history_mg_per_kg + p->p.dose_mg_per_kg > 1.0)
            ref_fire(r, bed, R_DOSE_24H, t, DG_CMD_STOP);
        if (r->last_start_t != NONE_T && t - r->last_start_t < 44 * 3600)
            ref_fire(r, bed, R_SESSIONS, t, 0);
        r->last_start_t = t;
        for (int i = 0; i < BEDS; i++) { /* each bed's baseline: its latest NIBP */
            r->bed[i].base_s = r->bed[i].bp_s;
            r->bed[i].base_d = r->bed[i].bp_d;
        }
    }
    /* One message, one reading: every rule judges what it reported, whatever
       an earlier rule of the same message did to the pump. */
    bool weight_changed = r->started && w != r->start_weight_kg;
    w = r->start_weight_kg; /* rate and dose: the weight the session started with */
    if (p->state == DG_PUMP_RUNNING && w > 0) {
        double rate = p->rate_ml_per_h * conc / w;
        if (rate > 1.5)
            ref_fire(r, bed, R_RATE_HARD, t, DG_CMD_PAUSE);
        else if (rate > 1.125)
            ref_fire(r, bed, R_RATE_SOFT, t, 0);
        double reported = dg_sim_pump_reported_dose(p);
        double dose = fmax(reported, integrated) / w;
        if (dose > 1.0)
            ref_fire(r, bed, R_DOSE_HARD, t, DG_CMD_STOP);
        else if (dose > 0.75)
            ref_fire(r, bed, R_DOSE_SOFT, t, 0);
        if (r->history_mg_per_kg + dose > 1.0) ref_fire(r, bed, R_DOSE_24H, t, DG_CMD_STOP);
        if (p->bolus_count > 0 || p->bolus_mg > 0) ref_fire(r, bed, R_BOLUS, t, DG_CMD_PAUSE);
        double diff = fabs(reported - integrated);
        if (diff > 0.1 * integrated && diff / w > 0.05) ref_fire(r, bed, R_DOSE_MISMATCH, t, 0);
    }
    if (weight_changed) ref_fire(r, bed, R_WEIGHT_CHANGE, t, DG_CMD_PAUSE);
}

/* Run scenario name for seed as the simulator runs it (--pre-min 2,
   --session-min 40, --post-min 5, 70 kg), the reference gateway acting. */
static void ref_run(struct ref *r, const char *name, uint64_t seed, bool act)
{
    const struct dg_sim_scenario *sc = dg_sim_scenario_find(name);
    assert_non_null(sc);
    struct dg_sim_setup setup = {
        .seed = seed,
        .bed = 1,
        .weight_kg = 70,
        .pre_min = 2,
        .session_min = 40,
        .permit = true,
        .permit_grace_ms = 5000,
    };
    memset(r, 0, sizeof *r);
    r->act = act;
    assert_int_equal(dg_sim_scenario_plan(sc, &setup, &r->plan), 0);
    assert_int_equal(dg_sim_pump_init(&r->pump, &r->plan.pump), 0);
    dg_sim_monitor_init(&r->mon, &r->plan.monitor);
    if (r->plan.second_bed) dg_sim_monitor_init(&r->mon_b, &r->plan.monitor_b);
    for (int b = 0; b < BEDS; b++) {
        struct ref_bed *rb = &r->bed[b];
        for (int i = 0; i < R_COUNT; i++)
            rb->fired[i] = NONE_T;
        rb->bp_t = rb->high_t = rb->hr_since = rb->spo2_since = rb->rr_since = NONE_T;
    }
    r->last_start_t = NONE_T;
    r->session = r->pump.session;
    r->total_s = PRE_S + r->plan.phase_s + POST_S;
    for (int64_t t = 0; t <= r->total_s; t++) {
        if (t > 0) {
            dg_sim_pump_step(&r->pump);
            double rate = dg_sim_pump_delivered_rate(&r->pump);
            dg_sim_monitor_step(&r->mon, rate);
            if (r->plan.second_bed)
                dg_sim_monitor_step(&r->mon_b, dg_sim_plan_rate_b(&r->plan, (uint32_t)t, rate));
        }
        struct dg_sim_vitals v;
        dg_sim_monitor_sample(&r->mon, &v);
        ref_vitals(r, 0, &v, t);
        if (r->plan.second_bed) {
            dg_sim_monitor_sample(&r->mon_b, &v);
            ref_vitals(r, 1, &v, t);
        }
        ref_telemetry(r, t);
    }
}

struct expect {
    enum ref_rule rule;
    int64_t lo, hi; /* seconds after the (first) infusion start */
    int bed;        /* 0 = bed-i, 1 = bed-i-b */
};

struct scenario_case {
    const char *name;
    enum dg_pump_state end; /* with the reference gateway acting */
    unsigned n;
    struct expect fired[4];
};

/* What each scenario makes a gateway raise (docs/simulator.md), and when. */
static const struct scenario_case cases[] = {
    {"normal", DG_PUMP_COMPLETE, 0, {{0}}},
    {"overrate", DG_PUMP_PAUSED, 1, {{R_RATE_HARD, 0, 0, 0}}},
    {"overdose",
     DG_PUMP_STOPPED,
     3,
     {{R_DOSE_SOFT, 2700, 2701, 0}, {R_DOSE_HARD, 3600, 3601, 0}, {R_DOSE_24H, 3600, 3601, 0}}},
    {"bolus", DG_PUMP_PAUSED, 1, {{R_BOLUS, 600, 600, 0}}},
    {"wrong-concentration", DG_PUMP_STOPPED, 1, {{R_CONC_HARD, 0, 0, 0}}},
    {"no-weight", DG_PUMP_STOPPED, 1, {{R_WEIGHT, 0, 0, 0}}},
    {"second-session-same-day",
     DG_PUMP_STOPPED,
     2,
     {{R_DOSE_24H, 3600, 3600, 0}, {R_SESSIONS, 3600, 3600, 0}}},
    {"hypertension-baseline", DG_PUMP_STOPPED, 1, {{R_BASELINE_CRIT, 0, 0, 0}}},
    {"hypertension-during",
     DG_PUMP_PAUSED,
     2,
     {{R_BP_RISE, 600, 600, 0}, {R_BP_HIGH, 1050, 1050, 0}}},
    {"tachycardia", DG_PUMP_PAUSED, 2, {{R_HR_WARN, 690, 730, 0}, {R_HR_CRIT, 800, 840, 0}}},
    {"desaturation", DG_PUMP_PAUSED, 2, {{R_SPO2_WARN, 625, 660, 0}, {R_SPO2_CRIT, 700, 725, 0}}},
    {"bradypnea", DG_PUMP_PAUSED, 2, {{R_RR_WARN, 635, 675, 0}, {R_RR_CRIT, 720, 750, 0}}},
    {"two-warnings",
     DG_PUMP_PAUSED,
     3,
     {{R_SPO2_WARN, 625, 660, 0}, {R_HR_WARN, 700, 730, 0}, {R_TWO_WARNINGS, 700, 730, 0}}},
    {"monitor-silent", DG_PUMP_COMPLETE, 0, {{0}}},
    {"pump-silent", DG_PUMP_COMPLETE, 0, {{0}}},
    {"command-ignored", DG_PUMP_COMPLETE, 1, {{R_RATE_HARD, 0, 0, 0}}},
    {"clock-skew", DG_PUMP_COMPLETE, 0, {{0}}},
    {"dose-mismatch", DG_PUMP_COMPLETE, 1, {{R_DOSE_MISMATCH, 795, 805, 0}}},
    {"gateway-gone", DG_PUMP_COMPLETE, 0, {{0}}},
    /* Back from its reboot at +10:05 at 10x. */
    {"pump-reboot", DG_PUMP_PAUSED, 1, {{R_RATE_HARD, 605, 605, 0}}},
    /* Critical at once; the warning is the recovery passing <= 90. */
    {"monitor-reboot", DG_PUMP_PAUSED, 2, {{R_SPO2_CRIT, 660, 660, 0}, {R_SPO2_WARN, 675, 675, 0}}},
    {"two-pumps-one-bed",
     DG_PUMP_PAUSED,
     2,
     {{R_SPO2_CRIT, 600, 600, 0}, {R_SPO2_WARN, 615, 615, 0}}},
    /* bed-i at +8 (the pump is no longer there: nothing to pause), bed-i-b
       at +12 (pause). */
    {"pump-moves-bed",
     DG_PUMP_PAUSED,
     4,
     {{R_SPO2_CRIT, 480, 480, 0},
      {R_SPO2_WARN, 495, 495, 0},
      {R_SPO2_CRIT, 720, 720, 1},
      {R_SPO2_WARN, 735, 735, 1}}},
    /* Clock steps are the shell's; the models see nothing to raise: the HR
       excursion is shorter than its 60 s delay. */
    {"clock-jump", DG_PUMP_COMPLETE, 0, {{0}}},
    {"program-edit",
     DG_PUMP_PAUSED,
     2,
     {{R_WEIGHT_CHANGE, 600, 600, 0}, {R_RATE_HARD, 600, 600, 0}}},
    {"resume-without-reset", DG_PUMP_STOPPED, 2, {{R_RATE_HARD, 0, 0, 0}, {R_LATCH, 30, 30, 0}}},
    /* The foreign publishes are the shell's; the bed itself is normal. */
    {"foreign-identity", DG_PUMP_COMPLETE, 0, {{0}}},
};

static void check_case(const struct scenario_case *c, const struct ref *r, uint64_t seed)
{
    bool expected[BEDS][R_COUNT] = {{0}};
    for (unsigned k = 0; k < c->n; k++) {
        const struct expect *e = &c->fired[k];
        int64_t at = r->bed[e->bed].fired[e->rule];
        int64_t t = at - (int64_t)PRE_S;
        if (at == NONE_T || t < e->lo || t > e->hi)
            fail_msg("%s seed %llu: %s (bed %d) at +%lld s, expected +%lld..+%lld", c->name,
                     (unsigned long long)seed, ref_names[e->rule], e->bed,
                     at == NONE_T ? -1LL : (long long)t, (long long)e->lo, (long long)e->hi);
        expected[e->bed][e->rule] = true;
    }
    for (int b = 0; b < BEDS; b++)
        for (int i = 0; i < R_COUNT; i++)
            if (!expected[b][i] && r->bed[b].fired[i] != NONE_T)
                fail_msg("%s seed %llu: %s fired too (bed %d), at +%lld s", c->name,
                         (unsigned long long)seed, ref_names[i], b,
                         (long long)(r->bed[b].fired[i] - (int64_t)PRE_S));
    if (r->pump.state != c->end)
        fail_msg("%s seed %llu: pump ends %s, expected %s", c->name, (unsigned long long)seed,
                 dg_sim_pump_state_name(r->pump.state), dg_sim_pump_state_name(c->end));
}

/* Every scenario fires exactly its rule(s), when the docs say, for many
   patients; the normal-like ones fire nothing. */
static void test_scenarios_fire_their_rule(void **state)
{
    (void)state;
    size_t n = sizeof cases / sizeof cases[0];
    size_t known = 0;
    for (const struct dg_sim_scenario *sc = dg_sim_scenarios; sc->name; sc++)
        known++;
    assert_int_equal(n, known); /* every scenario has its case */
    static struct ref r;
    for (size_t i = 0; i < n; i++) {
        assert_non_null(dg_sim_scenario_find(cases[i].name));
        for (uint64_t seed = 1; seed <= 20; seed++) {
            ref_run(&r, cases[i].name, seed, true);
            check_case(&cases[i], &r, seed);
        }
    }
}

/* The commands a correct gateway sends: exactly one pause where one pump
   runs on the bed concerned (pump-moves-bed: none for the old bed), and
   pause, pause, stop when the clinician resumes twice under the latch. */
static void test_scenario_commands(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int commands;
        unsigned resumes;
    } want[] = {
        {"pump-reboot", 1, 0},          {"monitor-reboot", 1, 0},   {"two-pumps-one-bed", 1, 0},
        {"pump-moves-bed", 1, 0},       {"clock-jump", 0, 0},       {"program-edit", 1, 0},
        {"resume-without-reset", 3, 2}, {"foreign-identity", 0, 0},
    };
    static struct ref r;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        for (uint64_t seed = 1; seed <= 5; seed++) {
            ref_run(&r, want[i].name, seed, true);
            if (r.commands != want[i].commands || r.pump.resumes != want[i].resumes)
                fail_msg("%s seed %llu: %d commands, %u resumes; expected %d, %u", want[i].name,
                         (unsigned long long)seed, r.commands, r.pump.resumes, want[i].commands,
                         want[i].resumes);
        }
    /* pump-moves-bed: the pause came from bed-i-b's SpO2, at +12:00 */
    ref_run(&r, "pump-moves-bed", 1, true);
    char id[32];
    snprintf(id, sizeof id, "ref-%d-0", (int)R_SPO2_CRIT);
    assert_string_equal(r.pump.last_command_id, id);
    assert_int_equal(r.pump.paused_at_s, PRE_S + 720);
    /* resume-without-reset ends stopped, 0.5 mg/kg far away: a minute of 10x at most */
    ref_run(&r, "resume-without-reset", 1, true);
    assert_int_equal(r.pump.last_cmd, DG_SIM_CMD_STOP);
    assert_true(r.pump.dose_mg < 525.0 / 3600.0 * 5);
}

/* The condition is the model's doing, not the gateway's: with nobody acting,
   each rule still first fires at the same second (the latch aside, which is
   the gateway's by definition). */
static void test_scenarios_fire_without_a_gateway(void **state)
{
    (void)state;
    static struct ref acted, alone;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ref_run(&acted, cases[i].name, 3, true);
        ref_run(&alone, cases[i].name, 3, false);
        for (unsigned k = 0; k < cases[i].n; k++) {
            const struct expect *e = &cases[i].fired[k];
            if (e->rule == R_LATCH) continue;
            assert_true(alone.bed[e->bed].fired[e->rule] == acted.bed[e->bed].fired[e->rule]);
        }
        assert_int_equal(alone.commands, 0);
    }
    /* Unchecked, the hypertensive climb stays a pause case (never > 200/120)
       and the tachycardia stays at 160. */
    ref_run(&alone, "hypertension-during", 3, false);
    assert_true(alone.bed[0].fired[R_BP_SEVERE] == NONE_T);
    assert_int_equal(alone.pump.state, DG_PUMP_COMPLETE);
    ref_run(&alone, "overdose", 3, false);
    assert_int_equal(alone.pump.state, DG_PUMP_COMPLETE);
    assert_true(fabs(alone.pump.dose_mg / 70.0 - 1.25) < 1e-6);
    /* Unchecked, the rebooted pump empties its syringe at 10x: 35 mg, no more. */
    ref_run(&alone, "pump-reboot", 3, false);
    assert_int_equal(alone.pump.state, DG_PUMP_COMPLETE);
    assert_true(alone.pump.dose_mg == 35.0);
    assert_int_equal(alone.pump.boots, 1);
}

/* The continuous excursions sit inside their tier with margin. */
static void test_excursion_values(void **state)
{
    (void)state;
    struct {
        const char *name;
        enum dg_sim_vital v;
        uint32_t from, to; /* after the start */
        double lo, hi;
    } spans[] = {
        {"tachycardia", DG_SIM_HR, 660, 780, 127, 133},     /* > 120, < 150 */
        {"tachycardia", DG_SIM_HR, 840, 900, 157, 163},     /* >= 150 */
        {"desaturation", DG_SIM_SPO2, 630, 690, 88, 90},    /* <= 90, > 85 */
        {"desaturation", DG_SIM_SPO2, 720, 780, 83, 85},    /* <= 85 */
        {"bradypnea", DG_SIM_RR, 630, 720, 7, 9},           /* < 10, > 6 */
        {"bradypnea", DG_SIM_RR, 750, 800, 4, 6},           /* <= 6 */
        {"two-warnings", DG_SIM_HR, 660, 1000, 122, 128},   /* > 120, < 150 */
        {"two-warnings", DG_SIM_SPO2, 630, 1000, 88, 90},   /* <= 90, > 85 */
        {"clock-jump", DG_SIM_HR, 0, 644, 60, 95},          /* normal before */
        {"clock-jump", DG_SIM_HR, 645, 680, 128, 132},      /* > 120 for 35 s only */
        {"clock-jump", DG_SIM_HR, 681, 1200, 60, 95},       /* normal after */
        {"monitor-reboot", DG_SIM_SPO2, 0, 659, 96, 100},   /* normal before */
        {"monitor-reboot", DG_SIM_SPO2, 660, 1000, 83, 85}, /* <= 85 at once */
        {"two-pumps-one-bed", DG_SIM_SPO2, 600, 1000, 83, 85},
        {"pump-moves-bed", DG_SIM_SPO2, 480, 1000, 83, 85},
    };
    for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++)
        for (uint64_t seed = 1; seed <= 20; seed++) {
            struct dg_sim_setup setup = {
                .seed = seed, .bed = 1, .weight_kg = 70, .pre_min = 2, .session_min = 40};
            struct dg_sim_plan plan;
            struct dg_sim_pump pump;
            struct dg_sim_monitor mon;
            assert_int_equal(
                dg_sim_scenario_plan(dg_sim_scenario_find(spans[i].name), &setup, &plan), 0);
            assert_int_equal(dg_sim_pump_init(&pump, &plan.pump), 0);
            dg_sim_monitor_init(&mon, &plan.monitor);
            for (uint32_t t = 0; t <= PRE_S + spans[i].to; t++) {
                if (t > 0) {
                    dg_sim_pump_step(&pump);
                    dg_sim_monitor_step(&mon, dg_sim_pump_delivered_rate(&pump));
                }
                struct dg_sim_vitals v;
                dg_sim_monitor_sample(&mon, &v);
                double x = spans[i].v == DG_SIM_HR     ? v.heart_rate_bpm
                           : spans[i].v == DG_SIM_SPO2 ? v.spo2_pct
                                                       : v.resp_rate_bpm;
                if (t >= PRE_S + spans[i].from && (x < spans[i].lo || x > spans[i].hi))
                    fail_msg("%s seed %llu t=+%u: %.0f outside %.0f..%.0f", spans[i].name,
                             (unsigned long long)seed, t - PRE_S, x, spans[i].lo, spans[i].hi);
            }
        }
}

/* NIBP: hypertension-baseline's high baseline is read before the start and
   then only every 10 min; hypertension-during cycles every 2.5 min while
   above 180/110, and plateaus clear of both 180/110 and 200/120. */
static void test_scenario_nibp(void **state)
{
    (void)state;
    static struct ref r;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        ref_run(&r, "hypertension-baseline", seed, true);
        assert_true(r.bed[0].base_s >= 184 && r.bed[0].base_s <= 186 && r.bed[0].base_d >= 111 &&
                    r.bed[0].base_d <= 113);
    }
    /* the baseline reading is 30 s before the start; then +10 min, +20 min */
    struct dg_sim_setup setup = {
        .seed = 5, .bed = 1, .weight_kg = 70, .pre_min = 2, .session_min = 40};
    struct dg_sim_plan plan;
    struct dg_sim_monitor mon;
    assert_int_equal(
        dg_sim_scenario_plan(dg_sim_scenario_find("hypertension-baseline"), &setup, &plan), 0);
    dg_sim_monitor_init(&mon, &plan.monitor);
    uint32_t times[8], n = 0;
    for (uint32_t t = 0; t <= PRE_S + 1800; t++) {
        if (t > 0) dg_sim_monitor_step(&mon, 0);
        struct dg_sim_vitals v;
        dg_sim_monitor_sample(&mon, &v);
        if (v.has_nibp && n < 8) times[n++] = t;
    }
    assert_int_equal(n, 5);
    uint32_t want[] = {0, PRE_S - 30, PRE_S + 600, PRE_S + 1200, PRE_S + 1800};
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(times[i], want[i]);

    /* hypertension-during, the reference gateway pausing at +17:30 */
    assert_int_equal(
        dg_sim_scenario_plan(dg_sim_scenario_find("hypertension-during"), &setup, &plan), 0);
    struct dg_sim_pump pump;
    assert_int_equal(dg_sim_pump_init(&pump, &plan.pump), 0);
    dg_sim_monitor_init(&mon, &plan.monitor);
    double sys[16], dia[16];
    n = 0;
    for (uint32_t t = 0; t <= PRE_S + 2400; t++) {
        if (t > 0) {
            dg_sim_pump_step(&pump);
            dg_sim_monitor_step(&mon, dg_sim_pump_delivered_rate(&pump));
        }
        struct dg_sim_vitals v;
        dg_sim_monitor_sample(&mon, &v);
        if (t == PRE_S + 1050) dg_sim_pump_command(&pump, DG_CMD_PAUSE, "c", 0);
        if (v.has_nibp && t >= PRE_S && n < 16) {
            times[n < 8 ? n : 7] = t - PRE_S;
            sys[n] = v.systolic_mmhg;
            dia[n] = v.diastolic_mmhg;
            n++;
        }
    }
    uint32_t during[] = {300, 600, 900, 1050, 1200, 1500, 1800};
    for (unsigned i = 0; i < 7; i++)
        assert_int_equal(times[i], during[i]);
    assert_true(sys[1] >= 165 && sys[1] <= 175 && dia[1] < 109); /* +10: rise, not high */
    for (unsigned i = 2; i <= 3; i++)                            /* +15, +17:30: high */
        assert_true(sys[i] >= 186 && sys[i] <= 190 && dia[i] >= 113 && dia[i] <= 117);
    assert_true(sys[4] < 175 && dia[4] < 105); /* falling once paused */
    assert_true(sys[6] < 140);
}

/* What the shell does with each scenario: silences, clock, permits, windows. */
static void test_scenario_plans(void **state)
{
    (void)state;
    struct dg_sim_setup setup = {.seed = 1,
                                 .bed = 2,
                                 .weight_kg = 70,
                                 .pre_min = 2,
                                 .session_min = 40,
                                 .permit = true,
                                 .permit_grace_ms = 5000};
    struct dg_sim_plan plan;
    for (const struct dg_sim_scenario *sc = dg_sim_scenarios; sc->name; sc++) {
        assert_int_equal(dg_sim_scenario_plan(sc, &setup, &plan), 0);
        assert_true(plan.pump.permit_required);
        assert_int_equal(plan.pump.permit_grace_ms, 5000);
        assert_int_equal(plan.monitor.stream, 2);
        bool pump_silent = strcmp(sc->name, "pump-silent") == 0;
        bool monitor_silent = strcmp(sc->name, "monitor-silent") == 0;
        assert_int_equal(plan.pump_silent_from_s, pump_silent ? PRE_S + 600 : DG_SIM_NEVER);
        assert_int_equal(plan.monitor_silent_from_s, monitor_silent ? PRE_S + 600 : DG_SIM_NEVER);
        assert_true(plan.clock_offset_ms == (strcmp(sc->name, "clock-skew") == 0 ? 120000 : 0));
        assert_int_equal(plan.pump.ignore_commands, strcmp(sc->name, "command-ignored") == 0);
        uint32_t phase = strcmp(sc->name, "overdose") == 0                  ? 4500
                         : strcmp(sc->name, "second-session-same-day") == 0 ? 6000
                                                                            : 2400;
        assert_int_equal(plan.phase_s, phase);
    }
    /* --no-permit: only gateway-gone still requires permits */
    setup.permit = false;
    for (const struct dg_sim_scenario *sc = dg_sim_scenarios; sc->name; sc++) {
        assert_int_equal(dg_sim_scenario_plan(sc, &setup, &plan), 0);
        assert_int_equal(plan.pump.permit_required, strcmp(sc->name, "gateway-gone") == 0);
    }
    assert_null(dg_sim_scenario_find("Normal"));
    assert_null(dg_sim_scenario_find(""));
    /* A second session waits for a long first one and a fresh pre phase. */
    setup.session_min = 90;
    assert_int_equal(
        dg_sim_scenario_plan(dg_sim_scenario_find("second-session-same-day"), &setup, &plan), 0);
    assert_int_equal(plan.pump.second_start_s, PRE_S + PRE_S + 5400);
    struct dg_sim_pump pump;
    assert_int_equal(dg_sim_pump_init(&pump, &plan.pump), 0);
}

/* The second session: new program at start - pre, amounts from 0, the
   monitor's baseline NIBP 30 s before it starts. */
static void test_second_session(void **state)
{
    (void)state;
    struct dg_sim_setup setup = {
        .seed = 1, .bed = 1, .weight_kg = 70, .pre_min = 2, .session_min = 40};
    struct dg_sim_plan plan;
    assert_int_equal(
        dg_sim_scenario_plan(dg_sim_scenario_find("second-session-same-day"), &setup, &plan), 0);
    const uint32_t start2 = PRE_S + 3600;
    assert_int_equal(plan.pump.second_start_s, start2);
    struct dg_sim_pump pump;
    struct dg_sim_monitor mon;
    assert_int_equal(dg_sim_pump_init(&pump, &plan.pump), 0);
    dg_sim_monitor_init(&mon, &plan.monitor);
    bool baseline2 = false;
    for (uint32_t t = 1; t <= start2 + 60; t++) {
        int changed = dg_sim_pump_step(&pump);
        dg_sim_monitor_step(&mon, dg_sim_pump_delivered_rate(&pump));
        struct dg_sim_vitals v;
        dg_sim_monitor_sample(&mon, &v);
        if (t == start2 - 30) baseline2 = v.has_nibp;
        if (t == PRE_S + 2400) assert_int_equal(pump.state, DG_PUMP_COMPLETE);
        if (t == start2 - PRE_S - 1) {
            assert_int_equal(pump.session, 1);
            assert_true(pump.dose_mg == 35.0);
        }
        if (t == start2 - PRE_S) {
            assert_int_equal(changed, 1);
            assert_int_equal(pump.session, 2);
            assert_int_equal(pump.state, DG_PUMP_PROGRAMMED);
            assert_true(pump.dose_mg == 0.0 && pump.volume_ml == 0.0);
            assert_true(fabs(pump.p.dose_mg_per_kg - 0.7) < 1e-12);
            assert_true(fabs(dg_sim_pump_dose_rate(&pump)) < 1e-12);
        }
        if (t == start2) {
            assert_int_equal(pump.state, DG_PUMP_RUNNING);
            assert_true(fabs(dg_sim_pump_dose_rate(&pump) - 1.05) < 1e-9);
        }
    }
    assert_true(baseline2);
}

/* A 0.1 mg/kg bolus 10 min in: counted, in the dose and the volume, not in
   the rate, not against the VTBI. */
static void test_bolus_accounting(void **state)
{
    (void)state;
    struct dg_sim_pump_params p = standard(1);
    p.bolus_at_s = 600;
    p.bolus_mg_per_kg = 0.1;
    struct dg_sim_pump pump;
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    run(&pump, PRE_S + 599);
    assert_int_equal(pump.bolus_count, 0);
    double before = pump.dose_mg;
    dg_sim_pump_step(&pump); /* t = start + 600 */
    assert_int_equal(pump.bolus_count, 1);
    assert_true(fabs(pump.bolus_mg - 7.0) < 1e-12);
    assert_true(fabs(pump.dose_mg - before - 7.0 - 52.5 / 3600.0) < 1e-9);
    assert_true(fabs(pump.dose_mg - (52.5 / 6.0 + 7.0)) < 1e-9); /* 8.75 basal + 7 */
    assert_true(fabs(pump.volume_ml - pump.dose_mg) < 1e-9);     /* 1 mg/mL */
    assert_true(fabs(pump.rate_ml_per_h - 52.5) < 1e-12);
    assert_true(fabs(dg_sim_pump_delivered_rate(&pump) - (7.0 + 52.5 / 3600.0) / 70 * 3600) < 1e-6);
    assert_true(dg_sim_pump_reported_dose(&pump) == pump.dose_mg);
    run(&pump, 60);
    assert_int_equal(pump.bolus_count, 1); /* once */
    run(&pump, SESSION_S);
    assert_int_equal(pump.state, DG_PUMP_COMPLETE);
    assert_true(pump.dose_mg == 42.0); /* 35 basal + 7: 0.6 mg/kg */
    assert_true(pump.volume_ml == 42.0);
    assert_true(fabs(pump.bolus_mg - 7.0) < 1e-12);
    /* paused before it, no bolus */
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    run(&pump, PRE_S + 300);
    dg_sim_pump_command(&pump, DG_CMD_PAUSE, "c", 0);
    run(&pump, 600);
    assert_int_equal(pump.bolus_count, 0);
}

/* The overdose fault: 1.0 mg/kg/h past the VTBI until the window ends. */
static void test_overdose_dose_growth(void **state)
{
    (void)state;
    struct dg_sim_setup setup = {
        .seed = 1, .bed = 1, .weight_kg = 70, .pre_min = 2, .session_min = 40};
    struct dg_sim_plan plan;
    assert_int_equal(dg_sim_scenario_plan(dg_sim_scenario_find("overdose"), &setup, &plan), 0);
    struct dg_sim_pump pump;
    assert_int_equal(dg_sim_pump_init(&pump, &plan.pump), 0);
    assert_true(fabs(pump.program_rate_ml_per_h - 70.0) < 1e-9);
    assert_true(fabs(pump.vtbi_ml - 35.0) < 1e-9);
    run(&pump, PRE_S);
    assert_true(fabs(dg_sim_pump_dose_rate(&pump) - 1.0) < 1e-9); /* below 1.125 */
    for (uint32_t m = 5; m <= 75; m += 5) {
        run(&pump, 300);
        assert_true(fabs(pump.dose_mg / 70.0 - m / 60.0) < 1e-6);
        assert_int_equal(pump.state, m < 75 ? DG_PUMP_RUNNING : DG_PUMP_COMPLETE);
    }
    assert_true(fabs(pump.dose_mg - 87.5) < 1e-6); /* 1.25 mg/kg */
    run(&pump, 60);
    assert_true(fabs(pump.dose_mg - 87.5) < 1e-6);
}

/* dose-mismatch: reports 70 % of what it gives; command-ignored: ignores. */
static void test_pump_faults(void **state)
{
    (void)state;
    struct dg_sim_pump_params p = standard(1);
    p.dose_report_factor = 0.7;
    struct dg_sim_pump pump;
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    run(&pump, PRE_S + 1200);
    assert_true(fabs(pump.dose_mg - 17.5) < 1e-6);
    assert_true(fabs(dg_sim_pump_reported_dose(&pump) - 12.25) < 1e-6);
    assert_true(fabs(pump.rate_ml_per_h - 52.5) < 1e-12);

    p = standard(3);
    p.ignore_commands = true;
    p.permit_required = true;
    p.permit_grace_ms = 5000;
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    run(&pump, PRE_S + 1);
    assert_int_equal(dg_sim_pump_command(&pump, DG_CMD_PAUSE, "c1", 0), 0);
    assert_int_equal(dg_sim_pump_command(&pump, DG_CMD_STOP, "c2", 0), 0);
    assert_int_equal(dg_sim_pump_command(&pump, DG_CMD_PERMIT, "p1", 1000), 0);
    assert_int_equal(pump.state, DG_PUMP_RUNNING);
    assert_int_equal(pump.commands, 0);
    assert_int_equal(pump.commands_ignored, 2);
    assert_int_equal(pump.permits, 1);
    assert_string_equal(pump.last_command_id, "");
    /* permits ignored too: no lapse however late */
    assert_int_equal(dg_sim_pump_check_permit(&pump, 1000000), 0);
    assert_int_equal(dg_sim_pump_check_permit(&pump, 9000000), 0);
    assert_int_equal(pump.state, DG_PUMP_RUNNING);
    run(&pump, 800); /* 35 mL at 157.5 mL/h: 13 min 20 s */
    assert_int_equal(pump.state, DG_PUMP_COMPLETE);

    /* no weight entered: the program says 0 kg, the rate is still right */
    p = standard(1);
    p.weight_missing = true;
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    assert_true(dg_sim_pump_program_weight(&pump) == 0.0);
    assert_true(fabs(pump.program_rate_ml_per_h - 52.5) < 1e-9);
}

/* The permit rule as a pure function of the wall clock and the last permit. */
static void test_permit_lapsed_rule(void **state)
{
    (void)state;
    const uint64_t t0 = 1800000000000ULL; /* running since, wall ms */
    /* no permit yet: the grace */
    assert_false(dg_sim_permit_lapsed(t0, t0, 0, 5000));
    assert_false(dg_sim_permit_lapsed(t0 + 5000, t0, 0, 5000));
    assert_true(dg_sim_permit_lapsed(t0 + 5001, t0, 0, 5000));
    /* a permit covers until its validity */
    assert_false(dg_sim_permit_lapsed(t0 + 9000, t0, t0 + 9000, 5000));
    assert_true(dg_sim_permit_lapsed(t0 + 9001, t0, t0 + 9000, 5000));
    /* an old permit does not cut the grace short */
    assert_false(dg_sim_permit_lapsed(t0 + 4000, t0, t0 - 60000, 5000));
    assert_true(dg_sim_permit_lapsed(t0 + 5001, t0, t0 - 60000, 5000));
    /* grace 0: a permit is needed at once */
    assert_true(dg_sim_permit_lapsed(t0 + 1, t0, 0, 0));
}

static void test_permit_pump(void **state)
{
    (void)state;
    const uint64_t t0 = 1800000000000ULL;
    struct dg_sim_pump_params p = standard(1);
    p.permit_required = true;
    p.permit_grace_ms = 5000;
    struct dg_sim_pump pump;
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    /* not running yet: nothing to check, however late */
    assert_int_equal(dg_sim_pump_check_permit(&pump, t0), 0);
    assert_true(pump.running_since_ms == 0);
    run(&pump, PRE_S);
    assert_int_equal(dg_sim_pump_check_permit(&pump, t0), 0); /* first seen running */
    assert_true(pump.running_since_ms == t0);
    /* a gateway permitting every second, each valid 5 s: runs on; simulated
       time does not matter, only the wall clock */
    for (uint64_t s = 1; s <= 30; s++) {
        dg_sim_pump_command(&pump, DG_CMD_PERMIT, "", t0 + s * 1000 + 5000);
        run(&pump, 60);
        assert_int_equal(dg_sim_pump_check_permit(&pump, t0 + s * 1000 + 500), 0);
    }
    assert_int_equal(pump.state, DG_PUMP_RUNNING);
    assert_int_equal(pump.permits, 30);
    /* the gateway dies after the permit valid until t0 + 35 s */
    assert_int_equal(dg_sim_pump_check_permit(&pump, t0 + 35000), 0);
    assert_int_equal(dg_sim_pump_check_permit(&pump, t0 + 35001), 1);
    assert_int_equal(pump.state, DG_PUMP_PAUSED);
    assert_true(pump.permit_lapsed);
    assert_true(pump.rate_ml_per_h == 0.0);
    assert_int_equal(pump.commands, 0);
    double dose = pump.dose_mg;
    /* never resumes, even when permits come back */
    dg_sim_pump_command(&pump, DG_CMD_PERMIT, "", t0 + 99000);
    run(&pump, SESSION_S);
    assert_int_equal(dg_sim_pump_check_permit(&pump, t0 + 40000), 0);
    assert_int_equal(pump.state, DG_PUMP_PAUSED);
    assert_true(pump.dose_mg == dose);

    /* no permit ever: paused once the grace is over */
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    run(&pump, PRE_S);
    assert_int_equal(dg_sim_pump_check_permit(&pump, t0), 0);
    assert_int_equal(dg_sim_pump_check_permit(&pump, t0 + 5000), 0);
    assert_int_equal(dg_sim_pump_check_permit(&pump, t0 + 5001), 1);
    assert_true(pump.permit_lapsed);

    /* not required (--no-permit): never pauses itself */
    p.permit_required = false;
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    run(&pump, PRE_S);
    assert_int_equal(dg_sim_pump_check_permit(&pump, t0), 0);
    assert_int_equal(dg_sim_pump_check_permit(&pump, t0 + 3600000), 0);
    assert_int_equal(pump.state, DG_PUMP_RUNNING);
    assert_false(pump.permit_lapsed);
}

/* ---------------------------------------------------------------- issue 7 */

/* Boot ids: never 0, never the previous boot's, reproducible per stream. */
static void test_incarnation_draw(void **state)
{
    (void)state;
    struct dg_sim_rng a, b;
    dg_sim_rng_init(&a, 99, 7);
    dg_sim_rng_init(&b, 99, 7);
    uint64_t old = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t id = dg_sim_rng_incarnation(&a, old);
        assert_true(id != 0 && id != old);
        assert_true(id == dg_sim_rng_incarnation(&b, old));
        old = id;
    }
    /* The draw that would repeat the old id is skipped. */
    struct dg_sim_rng peek = a;
    uint64_t next = dg_sim_rng_next(&peek);
    uint64_t id = dg_sim_rng_incarnation(&a, next);
    assert_true(id != next && id != 0);
    assert_true(id == dg_sim_rng_next(&peek));
}

/* A reboot at +10:00: off 5 s (nothing flows), then boot 1 with amounts,
   session and state kept, the permit forgotten and the rate x10. */
static void test_pump_reboot(void **state)
{
    (void)state;
    struct dg_sim_pump_params p = standard(1);
    p.reboot_s = PRE_S + 600;
    p.reboot_off_s = 5;
    p.reboot_rate_factor = 10;
    p.permit_required = true;
    p.permit_grace_ms = 5000;
    static const struct {
        uint32_t t; /* run second */
        bool off;
        unsigned boots;
        double rate_ml_per_h;
    } at[] = {
        {PRE_S + 599, false, 0, 52.5},  {PRE_S + 600, true, 0, 0.0},
        {PRE_S + 601, true, 0, 0.0},    {PRE_S + 604, true, 0, 0.0},
        {PRE_S + 605, false, 1, 525.0}, {PRE_S + 606, false, 1, 525.0},
    };
    struct dg_sim_pump pump;
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    const uint64_t wall = 1800000000000ULL;
    run(&pump, PRE_S);
    dg_sim_pump_command(&pump, DG_CMD_PERMIT, "", wall + 10000);
    assert_int_equal(dg_sim_pump_check_permit(&pump, wall), 0);
    double dose_at_off = 0;
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        run(&pump, at[i].t - pump.t_s);
        assert_int_equal(pump.t_s, at[i].t);
        assert_int_equal(pump.off, at[i].off);
        assert_int_equal(pump.boots, at[i].boots);
        assert_int_equal(pump.state, DG_PUMP_RUNNING);
        assert_int_equal(pump.session, 1);
        assert_true(fabs(pump.rate_ml_per_h - at[i].rate_ml_per_h) < 1e-9);
        if (at[i].t == PRE_S + 600) dose_at_off = pump.dose_mg;
        if (at[i].off || at[i].t == PRE_S + 605) /* nothing flowed while off */
            assert_true(pump.dose_mg == dose_at_off);
        if (at[i].off) { /* off is not running: no permit check, a new grace after */
            assert_int_equal(dg_sim_pump_check_permit(&pump, wall + 60000), 0);
            assert_true(pump.running_since_ms == 0);
        }
    }
    assert_true(fabs(dose_at_off - 52.5 / 6.0) < 1e-9); /* 10 min at 52.5 mL/h, kept */
    assert_true(pump.permit_valid_until_ms == 0);
    assert_true(fabs(pump.program_rate_ml_per_h - 525.0) < 1e-9);
    assert_true(fabs(dg_sim_pump_dose_rate(&pump) - 7.5) < 1e-9);
    assert_int_equal(dg_sim_pump_check_permit(&pump, wall + 70000), 0); /* grace starts */
    assert_int_equal(dg_sim_pump_check_permit(&pump, wall + 75001), 1);
    /* Unpaused, the rest of the 35 mL goes in at 525 mL/h: 26.25 mL in 180 s. */
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    run(&pump, PRE_S + 605 + 179);
    assert_int_equal(pump.state, DG_PUMP_RUNNING);
    run(&pump, 1);
    assert_int_equal(pump.state, DG_PUMP_COMPLETE);
    assert_true(pump.dose_mg == 35.0);
    /* A paused pump comes back paused (state is non-volatile), rate 0. */
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    run(&pump, PRE_S + 300);
    dg_sim_pump_command(&pump, DG_CMD_PAUSE, "c", 0);
    run(&pump, 400);
    assert_int_equal(pump.boots, 1);
    assert_int_equal(pump.state, DG_PUMP_PAUSED);
    assert_true(pump.rate_ml_per_h == 0.0);
    /* Bad factor refused. */
    p.reboot_rate_factor = -1;
    assert_int_equal(dg_sim_pump_init(&pump, &p), -DG_EINVAL);
}

/* The clinician resumes resume_after_s after each gateway PAUSE, at most
   resumes_max times; never after a STOP or a lapsed permit. */
static void test_pump_resume(void **state)
{
    (void)state;
    static const struct {
        uint32_t after_s, max;
        uint32_t pause_at; /* after the start */
        uint32_t check_at; /* after the start */
        enum dg_pump_state want;
        uint32_t resumes;
    } rows[] = {
        {30, 2, 1, 30, DG_PUMP_PAUSED, 0},  /* below */
        {30, 2, 1, 31, DG_PUMP_RUNNING, 1}, /* at */
        {30, 2, 1, 90, DG_PUMP_RUNNING, 1}, /* above: runs on until the next pause */
        {30, 0, 1, 90, DG_PUMP_PAUSED, 0},  /* no clinician */
        {0, 2, 1, 90, DG_PUMP_PAUSED, 0},   {10, 1, 5, 14, DG_PUMP_PAUSED, 0},
        {10, 1, 5, 15, DG_PUMP_RUNNING, 1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct dg_sim_pump_params p = standard(10);
        p.resume_after_s = rows[i].after_s;
        p.resumes_max = rows[i].max;
        struct dg_sim_pump pump;
        assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
        run(&pump, PRE_S + rows[i].pause_at);
        assert_int_equal(dg_sim_pump_command(&pump, DG_CMD_PAUSE, "p1", 0), 1);
        assert_int_equal(pump.paused_at_s, PRE_S + rows[i].pause_at);
        run(&pump, rows[i].check_at - rows[i].pause_at);
        if (pump.state != rows[i].want || pump.resumes != rows[i].resumes)
            fail_msg("row %zu: %s, %u resumes", i, dg_sim_pump_state_name(pump.state),
                     pump.resumes);
    }
    /* Twice at most: pause, resume, pause, resume, pause stays. */
    struct dg_sim_pump_params p = standard(10);
    p.resume_after_s = 30;
    p.resumes_max = 2;
    p.permit_required = true;
    p.permit_grace_ms = 5000;
    struct dg_sim_pump pump;
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    run(&pump, PRE_S);
    assert_int_equal(dg_sim_pump_check_permit(&pump, 1000), 0);
    dg_sim_pump_command(&pump, DG_CMD_PAUSE, "p1", 0);
    run(&pump, 30);
    assert_int_equal(pump.state, DG_PUMP_RUNNING);
    /* a resumed pump starts a new permit grace */
    assert_true(pump.running_since_ms == 0);
    assert_int_equal(dg_sim_pump_check_permit(&pump, 900000), 0);
    assert_true(pump.running_since_ms == 900000);
    dg_sim_pump_command(&pump, DG_CMD_PAUSE, "p2", 0);
    run(&pump, 30);
    assert_int_equal(pump.state, DG_PUMP_RUNNING);
    assert_int_equal(pump.resumes, 2);
    dg_sim_pump_command(&pump, DG_CMD_PAUSE, "p3", 0);
    run(&pump, 600);
    assert_int_equal(pump.state, DG_PUMP_PAUSED);
    assert_int_equal(pump.resumes, 2);
    /* A STOP is final. */
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    run(&pump, PRE_S);
    dg_sim_pump_command(&pump, DG_CMD_PAUSE, "p1", 0);
    dg_sim_pump_command(&pump, DG_CMD_STOP, "s1", 0);
    run(&pump, 600);
    assert_int_equal(pump.state, DG_PUMP_STOPPED);
    assert_int_equal(pump.resumes, 0);
    /* A pump that paused itself (permit lapsed) is not the gateway's pause. */
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    run(&pump, PRE_S);
    assert_int_equal(dg_sim_pump_check_permit(&pump, 1000), 0);
    assert_int_equal(dg_sim_pump_check_permit(&pump, 7000), 1);
    run(&pump, 600);
    assert_int_equal(pump.state, DG_PUMP_PAUSED);
    assert_int_equal(pump.resumes, 0);
    /* A redelivered PAUSE does not restart the clock. */
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    run(&pump, PRE_S);
    dg_sim_pump_command(&pump, DG_CMD_PAUSE, "p1", 0);
    run(&pump, 20);
    dg_sim_pump_command(&pump, DG_CMD_PAUSE, "p1", 0);
    run(&pump, 10);
    assert_int_equal(pump.state, DG_PUMP_RUNNING);
}

/* A program edit at +10:00: weight and rate change, the session, amounts,
   VTBI and the patient do not. */
static void test_pump_edit(void **state)
{
    (void)state;
    struct dg_sim_pump_params p = standard(1);
    p.edit_s = PRE_S + 600;
    p.edit_weight_kg = 250;
    p.edit_rate_ml_per_h = 140;
    static const struct {
        uint32_t t;
        double weight, rate;
        bool edited;
    } at[] = {
        {PRE_S + 599, 70, 52.5, false},
        {PRE_S + 600, 250, 140, true},
        {PRE_S + 601, 250, 140, true},
    };
    struct dg_sim_pump pump;
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    assert_true(dg_sim_pump_program_weight(&pump) == 70);
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        int changed = 0;
        while (pump.t_s < at[i].t)
            changed = dg_sim_pump_step(&pump);
        assert_int_equal(changed, at[i].t == PRE_S + 600);
        assert_true(dg_sim_pump_program_weight(&pump) == at[i].weight);
        assert_true(fabs(pump.program_rate_ml_per_h - at[i].rate) < 1e-9);
        assert_true(fabs(pump.rate_ml_per_h - at[i].rate) < 1e-9);
        assert_int_equal(pump.edited, at[i].edited);
        assert_int_equal(pump.state, DG_PUMP_RUNNING);
        assert_int_equal(pump.session, 1);
    }
    /* 2.0 mg/kg/h for the patient's true 70 kg (0.56 for the 250 claimed) */
    assert_true(fabs(dg_sim_pump_dose_rate(&pump) - 2.0) < 1e-9);
    assert_true(fabs(pump.vtbi_ml - 35.0) < 1e-9);
    assert_true(fabs(pump.dose_mg - (52.5 / 6.0 + 140.0 / 3600.0)) < 1e-9);
    /* Edited while paused: the program changes, the rate stays 0. */
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    run(&pump, PRE_S + 100);
    dg_sim_pump_command(&pump, DG_CMD_PAUSE, "c", 0);
    run(&pump, 600);
    assert_true(dg_sim_pump_program_weight(&pump) == 250);
    assert_true(pump.rate_ml_per_h == 0.0);
    /* Weight missing stays missing; bad values refused. */
    p.weight_missing = true;
    assert_int_equal(dg_sim_pump_init(&pump, &p), 0);
    run(&pump, PRE_S + 700);
    assert_true(dg_sim_pump_program_weight(&pump) == 0.0);
    p.weight_missing = false;
    p.edit_weight_kg = NAN;
    assert_int_equal(dg_sim_pump_init(&pump, &p), -DG_EINVAL);
    p.edit_weight_kg = 0;
    p.edit_rate_ml_per_h = -1;
    assert_int_equal(dg_sim_pump_init(&pump, &p), -DG_EINVAL);
}

/* The second pump: idle, no program, for ever; commands only counted. */
static void test_pump_idle(void **state)
{
    (void)state;
    struct dg_sim_pump_params p = standard(1);
    p.permit_required = true;
    p.bolus_at_s = 10;
    p.bolus_mg_per_kg = 0.1;
    struct dg_sim_pump pump;
    assert_int_equal(dg_sim_pump_init_idle(&pump, &p), 0);
    assert_int_equal(pump.state, DG_PUMP_IDLE);
    for (uint32_t t = 0; t < PRE_S + SESSION_S; t++)
        assert_int_equal(dg_sim_pump_step(&pump), 0);
    assert_int_equal(pump.state, DG_PUMP_IDLE);
    assert_true(pump.rate_ml_per_h == 0.0 && pump.dose_mg == 0.0 && pump.volume_ml == 0.0);
    assert_int_equal(pump.bolus_count, 0);
    assert_true(dg_sim_pump_dose_rate(&pump) == 0.0);
    assert_true(dg_sim_pump_delivered_rate(&pump) == 0.0);
    assert_int_equal(dg_sim_pump_check_permit(&pump, 1ULL << 50), 0);
    assert_int_equal(dg_sim_pump_command(&pump, DG_CMD_PAUSE, "wrong", 0), 0);
    assert_int_equal(pump.state, DG_PUMP_IDLE);
    assert_int_equal(pump.commands, 1);
    assert_int_equal(pump.last_cmd, DG_SIM_CMD_PAUSE);
    assert_string_equal(pump.last_command_id, "wrong");
    assert_int_equal(dg_sim_pump_command(&pump, DG_CMD_STOP, "wrong2", 0), 0);
    assert_int_equal(pump.state, DG_PUMP_IDLE);
    p.weight_kg = 0;
    assert_int_equal(dg_sim_pump_init_idle(&pump, &p), -DG_EINVAL);
}

/* The monitor's reboot: off 5 s, then boot 1; the patient goes on
   unchanged (same numbers as without a reboot). */
static void test_monitor_reboot(void **state)
{
    (void)state;
    struct dg_sim_monitor_params mp = {.seed = 4, .stream = 1, .pre_s = PRE_S};
    struct dg_sim_monitor plain, rebooting;
    dg_sim_monitor_init(&plain, &mp);
    mp.reboot_s = PRE_S + 600;
    mp.reboot_off_s = 5;
    dg_sim_monitor_init(&rebooting, &mp);
    for (uint32_t t = 0; t <= PRE_S + 700; t++) {
        if (t > 0) {
            dg_sim_monitor_step(&plain, 0.75);
            dg_sim_monitor_step(&rebooting, 0.75);
        }
        bool off = t >= PRE_S + 600 && t < PRE_S + 605;
        if (rebooting.off != off) fail_msg("t=%u: off %d", t, rebooting.off);
        assert_int_equal(rebooting.boots, t >= PRE_S + 605 ? 1 : 0);
        struct dg_sim_vitals a, b;
        dg_sim_monitor_sample(&plain, &a);
        dg_sim_monitor_sample(&rebooting, &b);
        assert_memory_equal(&a, &b, sizeof a);
    }
    /* off 0: a boot without silence */
    mp.reboot_off_s = 0;
    dg_sim_monitor_init(&rebooting, &mp);
    for (uint32_t t = 1; t <= PRE_S + 600; t++)
        dg_sim_monitor_step(&rebooting, 0);
    assert_false(rebooting.off);
    assert_int_equal(rebooting.boots, 1);
}

/* A profile point of 0 is the patient's own value: a pulse, then back. */
static void test_profile_back_to_own(void **state)
{
    (void)state;
    const struct dg_sim_profile pr = {4, {10, 11, 20, 21}, {0, 130, 130, 0}};
    static const struct {
        double t, want;
    } at[] = {{0, 70},   {10, 70},    {10.5, 100}, {11, 130}, {15, 130},
              {20, 130}, {20.5, 100}, {21, 70},    {100, 70}};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
        assert_true(fabs(dg_sim_profile_value(&pr, at[i].t, 70) - at[i].want) < 1e-9);
    /* a step in one second: own until t_s[0], then the value */
    const struct dg_sim_profile step = {2, {659, 660}, {0, 84}};
    assert_true(dg_sim_profile_value(&step, 659, 98) == 98);
    assert_true(dg_sim_profile_value(&step, 660, 98) == 84);
    assert_true(dg_sim_profile_value(&step, 9999, 98) == 84);
}

/* pump-moves-bed: the second bed's patient is another, normal until its
   SpO2 drops at +12:00, and gets the drug only once the pump is there. */
static void test_second_bed(void **state)
{
    (void)state;
    struct dg_sim_setup setup = {
        .seed = 1, .bed = 3, .weight_kg = 70, .pre_min = 2, .session_min = 40};
    struct dg_sim_plan plan;
    assert_int_equal(dg_sim_scenario_plan(dg_sim_scenario_find("pump-moves-bed"), &setup, &plan),
                     0);
    assert_true(plan.second_bed);
    assert_int_equal(plan.pump_moves_from_s, PRE_S + 300);
    assert_true(plan.monitor_b.stream != plan.monitor.stream);
    assert_true(plan.monitor_b.stream != 1000000u + 3); /* not the patient_ref stream */
    /* the drug reaches the second patient from the move on */
    static const struct {
        uint32_t t;
        double want;
    } at[] = {{0, 0}, {PRE_S + 299, 0}, {PRE_S + 300, 0.75}, {PRE_S + 2000, 0.75}};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
        assert_true(dg_sim_plan_rate_b(&plan, at[i].t, 0.75) == at[i].want);
    struct dg_sim_pump pump;
    struct dg_sim_monitor a, b;
    assert_int_equal(dg_sim_pump_init(&pump, &plan.pump), 0);
    dg_sim_monitor_init(&a, &plan.monitor);
    dg_sim_monitor_init(&b, &plan.monitor_b);
    assert_true(a.base_sbp != b.base_sbp);
    for (uint32_t t = 0; t <= PRE_S + 900; t++) {
        if (t > 0) {
            dg_sim_pump_step(&pump);
            double rate = dg_sim_pump_delivered_rate(&pump);
            dg_sim_monitor_step(&a, rate);
            dg_sim_monitor_step(&b, dg_sim_plan_rate_b(&plan, t, rate));
        }
        struct dg_sim_vitals va, vb;
        dg_sim_monitor_sample(&a, &va);
        dg_sim_monitor_sample(&b, &vb);
        if (t < PRE_S + 300) assert_true(dg_sim_monitor_effect(&b) == 0.0);
        if (t >= PRE_S + 480) assert_true(va.spo2_pct >= 83 && va.spo2_pct <= 85);
        if (t < PRE_S + 720) assert_true(vb.spo2_pct >= 96 && vb.heart_rate_bpm < 100);
        if (t >= PRE_S + 720) assert_true(vb.spo2_pct >= 83 && vb.spo2_pct <= 85);
    }
}

/* What the shell does with the issue-7 scenarios, from the plan: reboots,
   clock steps, extra devices and their ids, the bed change, the edit, the
   clinician, the foreign publishes; every other scenario has none of it. */
static void test_scenario_plans_issue7(void **state)
{
    (void)state;
    const uint32_t N = DG_SIM_NEVER, S = PRE_S;
    static const struct {
        const char *name;
        uint32_t pump_reboot_s, monitor_reboot_s;
        uint32_t pump_step_s, monitor_step_s;
        bool pump2, bed_b;
        uint32_t moves_s, foreign_s, edit_s, resume_after_s, resumes_max;
    } rows[] = {
        {"pump-reboot", S + 600, 0, N, N, false, false, N, N, 0, 0, 0},
        {"monitor-reboot", 0, S + 600, N, N, false, false, N, N, 0, 0, 0},
        {"two-pumps-one-bed", 0, 0, N, N, true, false, N, N, 0, 0, 0},
        {"pump-moves-bed", 0, 0, N, N, false, true, S + 300, N, 0, 0, 0},
        {"clock-jump", 0, 0, S + 600, S + 660, false, false, N, N, 0, 0, 0},
        {"program-edit", 0, 0, N, N, false, false, N, N, S + 600, 0, 0},
        {"resume-without-reset", 0, 0, N, N, false, false, N, N, 0, 30, 2},
        {"foreign-identity", 0, 0, N, N, false, false, N, S + 300, 0, 0, 0},
        {"normal", 0, 0, N, N, false, false, N, N, 0, 0, 0},
    };
    struct dg_sim_setup setup = {
        .seed = 1, .bed = 4, .weight_kg = 70, .pre_min = 2, .session_min = 40, .permit = true};
    struct dg_sim_plan plan;
    size_t seen = 0;
    for (const struct dg_sim_scenario *sc = dg_sim_scenarios; sc->name; sc++) {
        size_t i = 0;
        while (i < sizeof rows / sizeof rows[0] && strcmp(rows[i].name, sc->name) != 0)
            i++;
        size_t k = i < sizeof rows / sizeof rows[0] ? i : sizeof rows / sizeof rows[0] - 1;
        if (k == i) seen++;
        assert_int_equal(dg_sim_scenario_plan(sc, &setup, &plan), 0);
        assert_int_equal(plan.pump.reboot_s, rows[k].pump_reboot_s);
        assert_int_equal(plan.pump.reboot_off_s, rows[k].pump_reboot_s ? 5 : 0);
        assert_int_equal(plan.monitor.reboot_s, rows[k].monitor_reboot_s);
        assert_int_equal(plan.monitor.reboot_off_s, rows[k].monitor_reboot_s ? 5 : 0);
        assert_int_equal(plan.pump_clock_step_from_s, rows[k].pump_step_s);
        assert_int_equal(plan.monitor_clock_step_from_s, rows[k].monitor_step_s);
        assert_int_equal(plan.second_pump, rows[k].pump2);
        assert_int_equal(plan.second_bed, rows[k].bed_b);
        assert_int_equal(plan.pump_moves_from_s, rows[k].moves_s);
        assert_int_equal(plan.foreign_from_s, rows[k].foreign_s);
        assert_int_equal(plan.pump.edit_s, rows[k].edit_s);
        assert_int_equal(plan.pump.resume_after_s, rows[k].resume_after_s);
        assert_int_equal(plan.pump.resumes_max, rows[k].resumes_max);
        struct dg_sim_ids ids;
        dg_sim_scenario_ids(sc, 4, &ids);
        assert_string_equal(ids.bed, "bed-4");
        assert_string_equal(ids.pump, "pump-4");
        assert_string_equal(ids.monitor, "monitor-4");
        assert_string_equal(ids.pump2, rows[k].pump2 ? "pump-4-2" : "");
        assert_string_equal(ids.bed_b, rows[k].bed_b ? "bed-4-b" : "");
        assert_string_equal(ids.monitor_b, rows[k].bed_b ? "monitor-4-b" : "");
        if (plan.second_pump) {
            struct dg_sim_pump idle;
            assert_int_equal(dg_sim_pump_init_idle(&idle, &plan.pump2), 0);
            assert_true(plan.pump2.permit_required);
        }
    }
    assert_int_equal(seen, sizeof rows / sizeof rows[0]);

    /* Each device's clock at, below and above its step (and on top of a
       constant offset, which clock-skew uses). */
    assert_int_equal(dg_sim_scenario_plan(dg_sim_scenario_find("clock-jump"), &setup, &plan), 0);
    static const struct {
        uint32_t t;
        int64_t pump_ms, monitor_ms;
    } clk[] = {
        {0, 0, 0},
        {S + 599, 0, 0},
        {S + 600, 7200000, 0},
        {S + 659, 7200000, 0},
        {S + 660, 7200000, 7200000},
        {S + 9999, 7200000, 7200000},
    };
    for (size_t i = 0; i < sizeof clk / sizeof clk[0]; i++) {
        assert_true(dg_sim_plan_pump_clock_ms(&plan, clk[i].t) == clk[i].pump_ms);
        assert_true(dg_sim_plan_monitor_clock_ms(&plan, clk[i].t) == clk[i].monitor_ms);
    }
    plan.clock_offset_ms = 120000;
    assert_true(dg_sim_plan_pump_clock_ms(&plan, S) == 120000);
    assert_true(dg_sim_plan_pump_clock_ms(&plan, S + 600) == 7320000);
    assert_int_equal(dg_sim_scenario_plan(dg_sim_scenario_find("clock-skew"), &setup, &plan), 0);
    assert_true(dg_sim_plan_pump_clock_ms(&plan, S + 9999) == 120000);
    assert_true(dg_sim_plan_monitor_clock_ms(&plan, 0) == 120000);

    /* The numbers behind the scenarios. */
    assert_int_equal(dg_sim_scenario_plan(dg_sim_scenario_find("pump-reboot"), &setup, &plan), 0);
    assert_true(plan.pump.reboot_rate_factor == 10.0);
    assert_int_equal(dg_sim_scenario_plan(dg_sim_scenario_find("program-edit"), &setup, &plan), 0);
    assert_true(plan.pump.edit_weight_kg == 250.0);
    assert_true(fabs(plan.pump.edit_rate_ml_per_h - 140.0) < 1e-9); /* 2.0 mg/kg/h at 70 kg */
    assert_int_equal(dg_sim_scenario_plan(dg_sim_scenario_find("foreign-identity"), &setup, &plan),
                     0);
    assert_true(fabs(plan.foreign_rate_ml_per_h - 525.0) < 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dose_integration),
        cmocka_unit_test(test_weight_scales_rate_not_dose_rate),
        cmocka_unit_test(test_no_pre_phase_starts_at_once),
        cmocka_unit_test(test_overrate),
        cmocka_unit_test(test_pause_obeyed_never_resumes),
        cmocka_unit_test(test_stop_obeyed),
        cmocka_unit_test(test_pause_before_start),
        cmocka_unit_test(test_stop_after_complete_keeps_complete),
        cmocka_unit_test(test_permit_only_recorded),
        cmocka_unit_test(test_bad_params_refused),
        cmocka_unit_test(test_normal_physiology_within_limits),
        cmocka_unit_test(test_nibp_schedule),
        cmocka_unit_test(test_physiology_deterministic_per_seed),
        cmocka_unit_test(test_effect_follows_dose),
        cmocka_unit_test(test_scenarios_fire_their_rule),
        cmocka_unit_test(test_scenarios_fire_without_a_gateway),
        cmocka_unit_test(test_scenario_commands),
        cmocka_unit_test(test_excursion_values),
        cmocka_unit_test(test_scenario_nibp),
        cmocka_unit_test(test_scenario_plans),
        cmocka_unit_test(test_second_session),
        cmocka_unit_test(test_bolus_accounting),
        cmocka_unit_test(test_overdose_dose_growth),
        cmocka_unit_test(test_pump_faults),
        cmocka_unit_test(test_permit_lapsed_rule),
        cmocka_unit_test(test_permit_pump),
        cmocka_unit_test(test_incarnation_draw),
        cmocka_unit_test(test_pump_reboot),
        cmocka_unit_test(test_pump_resume),
        cmocka_unit_test(test_pump_edit),
        cmocka_unit_test(test_pump_idle),
        cmocka_unit_test(test_monitor_reboot),
        cmocka_unit_test(test_profile_back_to_own),
        cmocka_unit_test(test_second_bed),
        cmocka_unit_test(test_scenario_plans_issue7),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
