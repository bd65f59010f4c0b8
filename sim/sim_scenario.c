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
 *  - The issue-7 probes step in one second (SpO2 own -> 84: critical at
 *    once, no warning first) so the time the gateway acts says which bed
 *    and which boot it acted on. Their times are simulated and hold at any
 *    --speed from 1 to 240 except where real time is involved: a reboot's
 *    5 s silence is 21 ms at 240x and 83 ms at 60x, far below the 5 s
 *    pump-silent / 10 s vitals-silent liveness rules (at --speed 1 it sits
 *    on the pump-silent threshold); resume-without-reset's 30 s are 125 ms
 *    real at 240x, enough for a gateway's pause to land first.
 *  - clock-jump: HR 130 for 35 s (+10:45 .. +11:20), shorter than the 60 s
 *    delay, straddling the monitor's 2 h step at +11:00, so only a gateway
 *    that lets the jump satisfy the delay raises heart-rate. A 2 h step is
 *    far beyond any speed x elapsed time + 5 s (240 x 1 s = 4 min).
 *  - program-edit: 250 kg (the weight rule's upper bound, not above it) and
 *    2.0 mg/kg/h for the true 70 kg: past the 1.5 hard limit at the weight
 *    the session started with, 0.56 at the edited one.
 */
#include "sim_scenario.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

#define MIN_S 60u
/* monitor-i-b's patient stream: far from any bed index (1..1000). */
#define MONITOR_B_STREAM 0x100000000ULL

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
    {
        .name = "pump-reboot",
        .help = "at +10:00 the pump reboots: silent 5 s, back at\n"
                "+10:05 with a new incarnation, seq from 1, session,\n"
                "amounts and state kept, but its rate restored 10x\n"
                "(7.5 mg/kg/h) -> rate (pause) after the reboot",
        .pump_reboot_at_s = 10 * MIN_S,
        .reboot_rate_factor = 10.0,
    },
    {
        .name = "monitor-reboot",
        .help = "at +10:00 the monitor reboots: silent 5 s, back at\n"
                "+10:05 with a new incarnation, seq from 1; SpO2 84\n"
                "from +11:00 -> spo2 critical at once (pause)",
        .monitor_reboot_at_s = 10 * MIN_S,
        .profile[DG_SIM_SPO2] = {2, {11 * MIN_S - 1, 11 * MIN_S}, {0, 84}},
    },
    {
        .name = "two-pumps-one-bed",
        .help = "an idle pump-i-2 (no program) on the same bed reports\n"
                "right after pump-i every second; SpO2 84 from +10:00\n"
                "-> spo2 (pause to pump-i only, never to pump-i-2)",
        .second_pump = true,
        .profile[DG_SIM_SPO2] = {2, {10 * MIN_S - 1, 10 * MIN_S}, {0, 84}},
    },
    {
        .name = "pump-moves-bed",
        .help = "bed-i-b with monitor-i-b (its own, normal patient)\n"
                "from the start; pump-i reports bed-i-b from +5:00;\n"
                "SpO2 84 on monitor-i from +8:00, on monitor-i-b from\n"
                "+12:00 -> spo2 on bed-i (no command), spo2 on bed-i-b\n"
                "(pause pump-i): one pause",
        .second_bed = true,
        .pump_moves_at_s = 5 * MIN_S,
        .profile[DG_SIM_SPO2] = {2, {8 * MIN_S - 1, 8 * MIN_S}, {0, 84}},
        .profile_b[DG_SIM_SPO2] = {2, {12 * MIN_S - 1, 12 * MIN_S}, {0, 84}},
    },
    {
        .name = "clock-jump",
        .help = "the pump's clock steps 2 h ahead at +10:00, the\n"
                "monitor's at +11:00 (both stay ahead); HR 130 only\n"
                "from +10:45 to +11:20 (35 s < 60 s) -> clock-jump per\n"
                "device (advisory); no HR or dose alert; completes",
        .pump_clock_step_at_s = 10 * MIN_S,
        .monitor_clock_step_at_s = 11 * MIN_S,
        .clock_step_s = 2 * 3600,
        .profile[DG_SIM_HR] = {4,
                               {10 * MIN_S + 44, 10 * MIN_S + 45, 11 * MIN_S + 20, 11 * MIN_S + 21},
                               {0, 130, 130, 0}},
    },
    {
        .name = "program-edit",
        .help = "at +10:00, same session, the program's weight is\n"
                "edited 70 -> 250 kg and its rate raised to 140 mL/h\n"
                "(2.0 mg/kg/h for 70 kg, 0.56 for 250)\n"
                "-> weight-change and rate (one pause)",
        .edit_at_s = 10 * MIN_S,
        .edit_weight_kg = 250,
        .edit_rate_mg_per_kg_h = 2.0,
    },
    {
        .name = "resume-without-reset",
        .help = "rate 10x (7.5 mg/kg/h); 30 s after each gateway\n"
                "pause a clinician resumes the pump (no reset), at\n"
                "most twice -> rate (pause), escalate (pause),\n"
                "escalate (stop)",
        .rate_factor = 10.0,
        .resume_after_s = 30,
        .resumes_max = 2,
    },
    {
        .name = "foreign-identity",
        .help = "normal, but from +5:00 monitor-i's certificate also\n"
                "publishes PumpTelemetry as pump monitor-i (bed-i, 10x\n"
                "rate) -> refused by the broker or the gateway: nothing",
        .foreign_at_s = 5 * MIN_S,
        .foreign_rate_factor = 10.0,
    },
    {0},
};

void dg_sim_scenario_ids(const struct dg_sim_scenario *sc, unsigned bed, struct dg_sim_ids *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->bed, sizeof out->bed, "bed-%u", bed);
    snprintf(out->pump, sizeof out->pump, "pump-%u", bed);
    snprintf(out->monitor, sizeof out->monitor, "monitor-%u", bed);
    if (sc->second_pump) snprintf(out->pump2, sizeof out->pump2, "pump-%u-2", bed);
    if (sc->second_bed) {
        snprintf(out->bed_b, sizeof out->bed_b, "bed-%u-b", bed);
        snprintf(out->monitor_b, sizeof out->monitor_b, "monitor-%u-b", bed);
    }
}

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

    /* Issue 7: times after the start become run seconds. */
    if (sc->pump_reboot_at_s) {
        pp->reboot_s = pp->pre_s + sc->pump_reboot_at_s;
        pp->reboot_off_s = DG_SIM_REBOOT_OFF_S;
        pp->reboot_rate_factor = sc->reboot_rate_factor;
    }
    if (sc->monitor_reboot_at_s) {
        mp->reboot_s = pp->pre_s + sc->monitor_reboot_at_s;
        mp->reboot_off_s = DG_SIM_REBOOT_OFF_S;
    }
    if (sc->edit_at_s) {
        pp->edit_s = pp->pre_s + sc->edit_at_s;
        pp->edit_weight_kg = sc->edit_weight_kg;
        pp->edit_rate_ml_per_h = sc->edit_rate_mg_per_kg_h * pp->weight_kg / pp->conc_mg_per_ml;
    }
    pp->resume_after_s = sc->resume_after_s;
    pp->resumes_max = sc->resumes_max;
    plan->pump_clock_step_from_s =
        sc->pump_clock_step_at_s ? pp->pre_s + sc->pump_clock_step_at_s : DG_SIM_NEVER;
    plan->monitor_clock_step_from_s =
        sc->monitor_clock_step_at_s ? pp->pre_s + sc->monitor_clock_step_at_s : DG_SIM_NEVER;
    plan->clock_step_ms = (int64_t)sc->clock_step_s * 1000;
    plan->second_pump = sc->second_pump;
    if (sc->second_pump) {
        plan->pump2 = *pp; /* weight, concentration, permits; idle: no program */
        plan->pump2.reboot_s = plan->pump2.edit_s = plan->pump2.resume_after_s = 0;
    }
    plan->second_bed = sc->second_bed;
    plan->pump_moves_from_s = DG_SIM_NEVER;
    if (sc->second_bed) {
        plan->monitor_b = *mp;
        plan->monitor_b.stream = setup->bed + MONITOR_B_STREAM; /* another patient */
        plan->monitor_b.reboot_s = 0;
        memcpy(plan->monitor_b.profile, sc->profile_b, sizeof plan->monitor_b.profile);
        if (sc->pump_moves_at_s) plan->pump_moves_from_s = pp->pre_s + sc->pump_moves_at_s;
    }
    plan->foreign_from_s = sc->foreign_at_s ? pp->pre_s + sc->foreign_at_s : DG_SIM_NEVER;
    plan->foreign_rate_ml_per_h = dg_sim_pump_prescribed_rate(pp) * sc->foreign_rate_factor;
    return 0;
}

double dg_sim_plan_rate_b(const struct dg_sim_plan *plan, uint32_t t_s, double pump_rate)
{
    return plan->second_bed && t_s >= plan->pump_moves_from_s ? pump_rate : 0.0;
}

int64_t dg_sim_plan_pump_clock_ms(const struct dg_sim_plan *plan, uint32_t t_s)
{
    return plan->clock_offset_ms + (t_s >= plan->pump_clock_step_from_s ? plan->clock_step_ms : 0);
}

int64_t dg_sim_plan_monitor_clock_ms(const struct dg_sim_plan *plan, uint32_t t_s)
{
    return plan->clock_offset_ms +
           (t_s >= plan->monitor_clock_step_from_s ? plan->clock_step_ms : 0);
}
