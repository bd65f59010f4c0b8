/*
 * test_sim_models.c — the simulator's pure pump and patient models
 * (sim/sim_pump.c, sim/sim_monitor.c): dose integration, the overrate slip,
 * obeying pause/stop, and physiology that a correct gateway must not alarm on.
 * No sockets, no clock: time is stepped one simulated second at a time.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/error.h"
#include "sim_monitor.h"
#include "sim_pump.h"

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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
