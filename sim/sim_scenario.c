/*
 * sim_scenario.c — the scenario table and the per-bed plan (see
 * sim_scenario.h).
 *
 * Why these numbers (the contract's defaults; docs/simulator.md has the
 * timelines):
 *  - Vital-sign excursions start 10 min into the infusion, when a standard
 *    session is well under way, and hold each tier long enough past its
 *    condition delay (60 s HR, 15 s SpO2, 30 s RR) before moving on, at
 *    values a few units inside the tier, never on a boundary: HR 130 then
 *    160 (> 120 / >= 150), SpO2 89 then 84 (<= 90 / <= 85), RR 8 then 5
 *    (< 10 / <= 6), two warnings HR 125 + SpO2 89.
 *  - hypertension-during plateaus at 188/115: above 180/110 on both values
 *    and well below the 200/120 that would stop instead of pause.
 *  - overdose infuses at 1.0 mg/kg/h, below the 1.125 soft rate limit, so
 *    only the dose rules see it; second-session-same-day programs 0.7 mg/kg
 *    (below the 0.75 programmed-dose soft limit) on top of 0.5 delivered.
 *  - command-ignored runs at 3x (2.25 mg/kg/h, well past 1.5) rather than
 *    10x, so the pump is still running long after the gateway's 5 s
 *    command timeout at any speed up to ~150x (10x empties the syringe in
 *    4 simulated minutes, 4 real seconds at 60x).
 */
#include "sim_scenario.h"

#include <math.h>
#include <string.h>

#include "core/error.h"

#define MIN_S 60u

const struct dg_sim_scenario dg_sim_scenarios[] = {
    {
        .name = "normal",
        .help = "0.5 mg/kg over 40 min at 1 mg/mL (0.75 mg/kg/h);\n"
                "stays inside every limit: nothing may fire",
    },
    {
        .name = "overrate",
        .help = "decimal slip: rate entered 10x (7.5 mg/kg/h)\n"
                "-> rate-hard at the start (pause)",
        .rate_factor = 10.0,
    },
    {
        .name = "overdose",
        .help = "0.5 mg/kg over 30 min (1.0 mg/kg/h), but the pump\n"
                "does not stop at the VTBI: 0.75 mg/kg at +45 min\n"
                "(dose-soft), 1.0 at +60 min (dose-hard, stop);\n"
                "runs 75 min",
        .duration_min = 30,
        .run_min = 75,
        .overrun = true,
    },
    {
        .name = "bolus",
        .help = "a 0.1 mg/kg bolus at +10 min (bolus_count 1,\n"
                "bolus_dose_mg 7 at 70 kg, in the dose) -> bolus (pause)",
        .bolus_at_s = 10 * MIN_S,
        .bolus_mg_per_kg = 0.1,
    },
    {
        .name = "wrong-concentration",
        .help = "50 mg/mL syringe, rate still 0.75 mg/kg/h (1.05 mL/h)\n"
                "-> concentration-hard (stop on start)",
        .conc_mg_per_ml = 50.0,
    },
    {
        .name = "no-weight",
        .help = "weight not entered (program says 0 kg; 52.5 mL/h)\n"
                "-> weight (stop on start)",
        .weight_missing = true,
    },
    {
        .name = "second-session-same-day",
        .help = "a normal session, then the same patient again 60 min\n"
                "after its start: new session, 0.7 mg/kg programmed,\n"
                "0.5 + 0.7 > 1.0 -> dose-24h (stop on start) and\n"
                "sessions (advisory)",
        .second_after_s = 60 * MIN_S,
        .second_dose_mg_per_kg = 0.7,
    },
    {
        .name = "hypertension-baseline",
        .help = "baseline NIBP 185/112 before the start -> baseline-bp\n"
                "(stop on start); NIBP every 10 min after the start",
        .base_sbp_mmhg = 185,
        .base_dbp_mmhg = 112,
        .nibp_interval_s = 10 * MIN_S,
    },
    {
        .name = "hypertension-during",
        .help = "BP climbs from +5 min to 188/115 at +12 min: bp-rise\n"
                "at +10 min (~171/105), > 180/110 at +15 and +17:30\n"
                "(NIBP every 2.5 min while high) -> bp-high (pause)",
        .nibp_alarm_interval_s = 150,
        .profile[DG_SIM_SBP] = {2, {5 * MIN_S, 12 * MIN_S}, {0, 188}},
        .profile[DG_SIM_DBP] = {2, {5 * MIN_S, 12 * MIN_S}, {0, 115}},
    },
    {
        .name = "tachycardia",
        .help = "HR 130 from +11 min (hr-warn ~+11:50), 160 at +14 min\n"
                "-> hr-crit ~+13:40 (pause)",
        .profile[DG_SIM_HR] = {4,
                               {10 * MIN_S, 11 * MIN_S, 13 * MIN_S, 14 * MIN_S},
                               {0, 130, 130, 160}},
    },
    {
        .name = "desaturation",
        .help = "SpO2 89 from +10:30 (spo2-warn ~+10:40), 84 at +12 min\n"
                "-> spo2-crit ~+11:50 (pause)",
        .profile[DG_SIM_SPO2] = {4,
                                 {10 * MIN_S, 10 * MIN_S + 30, 11 * MIN_S + 30, 12 * MIN_S},
                                 {0, 89, 89, 84}},
    },
    {
        .name = "bradypnea",
        .help = "RR 8 from +10:30 (rr-warn ~+10:50), 5 at +12:30\n"
                "-> rr-crit ~+12:15 (pause)",
        .profile[DG_SIM_RR] = {4,
                               {10 * MIN_S, 10 * MIN_S + 30, 12 * MIN_S, 12 * MIN_S + 30},
                               {0, 8, 8, 5}},
    },
    {
        .name = "two-warnings",
        .help = "HR 125 from +11 min and SpO2 89 from +10:30, warnings\n"
                "only -> spo2-warn, hr-warn, two-warnings ~+11:55 (pause)",
        .profile[DG_SIM_HR] = {2, {10 * MIN_S, 11 * MIN_S}, {0, 125}},
        .profile[DG_SIM_SPO2] = {2, {10 * MIN_S, 10 * MIN_S + 30}, {0, 89}},
    },
    {
        .name = "monitor-silent",
        .help = "the monitor publishes nothing from +10 min on\n"
                "-> vitals-silent (> 10 s, then > 60 s real time)",
        .monitor_silent_at_s = 10 * MIN_S,
    },
    {
        .name = "pump-silent",
        .help = "the pump publishes nothing from +10 min on but keeps\n"
                "running -> pump-silent (> 5 s, then > 30 s real time)",
        .pump_silent_at_s = 10 * MIN_S,
    },
    {
        .name = "command-ignored",
        .help = "rate 3x (2.25 mg/kg/h) and the pump ignores PAUSE,\n"
                "STOP and permits -> rate-hard (pause) at the start,\n"
                "then command-not-honoured; runs ~13 min",
        .rate_factor = 3.0,
        .ignore_commands = true,
    },
    {
        .name = "clock-skew",
        .help = "both device clocks 120 s ahead from the start\n"
                "-> clock-skew (advisory)",
        .clock_offset_s = 120,
    },
    {
        .name = "dose-mismatch",
        .help = "the pump reports 70 % of the dose it gives\n"
                "-> dose-mismatch at ~+13:20 (0.05 mg/kg apart)",
        .dose_report_factor = 0.7,
    },
    {
        .name = "gateway-gone",
        .help = "normal, but permits are required even with --no-permit:\n"
                "if the gateway dies the pump pauses itself once its\n"
                "permit lapses",
        .permit_forced = true,
    },
    {0},
};

const struct dg_sim_scenario *dg_sim_scenario_find(const char *name)
{
    for (const struct dg_sim_scenario *s = dg_sim_scenarios; s->name; s++)
        if (strcmp(s->name, name) == 0) return s;
    return NULL;
}

static double or_default(double v, double dflt)
{
    return v > 0 ? v : dflt;
}

int dg_sim_scenario_plan(const struct dg_sim_scenario *sc, const struct dg_sim_setup *setup,
                         struct dg_sim_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    double pre_s = round(setup->pre_min * 60.0);
    double session_s = round(fmax(setup->session_min, sc->run_min) * 60.0);
    if (!(pre_s >= 0 && pre_s < 1e8 && session_s >= 1 && session_s < 1e8)) return -DG_EINVAL;

    struct dg_sim_pump_params *pp = &plan->pump;
    pp->weight_kg = setup->weight_kg;
    pp->dose_mg_per_kg = or_default(sc->dose_mg_per_kg, 0.5);
    pp->conc_mg_per_ml = or_default(sc->conc_mg_per_ml, 1.0);
    pp->duration_min = or_default(sc->duration_min, setup->session_min);
    pp->rate_factor = or_default(sc->rate_factor, 1.0);
    pp->pre_s = (uint32_t)pre_s;
    pp->session_s = (uint32_t)session_s;
    pp->weight_missing = sc->weight_missing;
    pp->overrun = sc->overrun;
    pp->bolus_at_s = sc->bolus_at_s;
    pp->bolus_mg_per_kg = sc->bolus_mg_per_kg;
    pp->dose_report_factor = sc->dose_report_factor;
    pp->ignore_commands = sc->ignore_commands;
    pp->permit_required = setup->permit || sc->permit_forced;
    pp->permit_grace_ms = setup->permit_grace_ms;
    plan->phase_s = pp->session_s;
    if (sc->second_after_s) {
        /* After the first window and a fresh pre phase, however long those are. */
        uint32_t after = sc->second_after_s;
        if (after < pp->pre_s + pp->session_s) after = pp->pre_s + pp->session_s;
        pp->second_start_s = pp->pre_s + after;
        pp->second_dose_mg_per_kg = sc->second_dose_mg_per_kg;
        plan->phase_s = after + pp->session_s;
    }

    struct dg_sim_monitor_params *mp = &plan->monitor;
    mp->seed = setup->seed;
    mp->stream = setup->bed;
    mp->pre_s = pp->pre_s;
    mp->nibp_interval_s = sc->nibp_interval_s ? sc->nibp_interval_s : 300;
    mp->nibp_alarm_interval_s = sc->nibp_alarm_interval_s;
    mp->second_start_s = pp->second_start_s;
    mp->base_sbp_mmhg = sc->base_sbp_mmhg;
    mp->base_dbp_mmhg = sc->base_dbp_mmhg;
    memcpy(mp->profile, sc->profile, sizeof mp->profile);

    plan->pump_silent_from_s =
        sc->pump_silent_at_s ? pp->pre_s + sc->pump_silent_at_s : DG_SIM_NEVER;
    plan->monitor_silent_from_s =
        sc->monitor_silent_at_s ? pp->pre_s + sc->monitor_silent_at_s : DG_SIM_NEVER;
    plan->clock_offset_ms = (int64_t)sc->clock_offset_s * 1000;
    return 0;
}
