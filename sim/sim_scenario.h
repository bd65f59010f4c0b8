/*
 * sim_scenario.h — the simulator's scenarios: what each bed's pump and
 * patient do, as data, and the plan that turns a scenario and the run's
 * options into the pure models' parameters. No I/O, no clock.
 *
 * Every scenario is the standard session (sim_pump.h) with one thing changed,
 * chosen so that exactly one rule of the contract's defaults fires, clearly
 * past its threshold, and everything else stays inside every limit. Times are
 * simulated seconds after the (first) infusion start unless said otherwise;
 * docs/simulator.md lists each scenario's timeline and what a correct
 * gateway does.
 */
#ifndef DG_SIM_SCENARIO_H
#define DG_SIM_SCENARIO_H

#include <stdbool.h>
#include <stdint.h>

#include "sim_monitor.h"
#include "sim_pump.h"

/* A silence that never starts. */
#define DG_SIM_NEVER UINT32_MAX

struct dg_sim_scenario {
    const char *name;
    const char *help; /* for --help; lines separated by '\n' */
    /* The program (0 = the standard one). */
    double rate_factor;    /* programmed rate x this */
    double dose_mg_per_kg; /* 0.5 */
    double conc_mg_per_ml; /* 1 */
    double duration_min;   /* --session-min */
    double run_min;        /* infusion window, at least --session-min */
    bool weight_missing;   /* weight not entered at the pump */
    /* Pump events and faults. */
    bool overrun;                 /* keeps infusing past the VTBI */
    uint32_t bolus_at_s;          /* a bolus of bolus_mg_per_kg */
    double bolus_mg_per_kg;       /* */
    double dose_report_factor;    /* reported dose = delivered x this */
    bool ignore_commands;         /* ignores PAUSE, STOP and permits */
    bool permit_forced;           /* requires permits even with --no-permit */
    uint32_t second_after_s;      /* a second session starts this long after the first */
    double second_dose_mg_per_kg; /* its programmed dose */
    uint32_t pump_silent_at_s;    /* the pump publishes nothing from here on (0 = never) */
    uint32_t monitor_silent_at_s; /* the monitor publishes nothing from here on (0 = never) */
    int32_t clock_offset_s;       /* both devices' clocks are this far ahead */
    /* The patient and the monitor. */
    double base_sbp_mmhg, base_dbp_mmhg; /* fixed baseline BP */
    uint32_t nibp_interval_s;            /* 300 */
    uint32_t nibp_alarm_interval_s;      /* NIBP cycle while above 180/110 */
    struct dg_sim_profile profile[DG_SIM_VITALS];
};

/* NULL-terminated by a zero entry (name == NULL). */
extern const struct dg_sim_scenario dg_sim_scenarios[];

/* The scenario called name, or NULL. */
const struct dg_sim_scenario *dg_sim_scenario_find(const char *name);

/* The run's options that shape every bed. */
struct dg_sim_setup {
    uint64_t seed;
    unsigned bed; /* 1-based; the patient's random stream */
    double weight_kg;
    double pre_min, session_min;
    bool permit; /* pumps require permits (--permit, the default) */
    uint32_t permit_grace_ms;
};

/* One bed's models and the shell's part of the scenario. */
struct dg_sim_plan {
    struct dg_sim_pump_params pump;
    struct dg_sim_monitor_params monitor;
    uint32_t phase_s;               /* first start to the end of the last infusion window */
    uint32_t pump_silent_from_s;    /* run second from which telemetry stops (DG_SIM_NEVER) */
    uint32_t monitor_silent_from_s; /* run second from which vitals stop (DG_SIM_NEVER) */
    int64_t clock_offset_ms;        /* added to both devices' timestamps */
};

/*
 * Fill plan for scenario sc under setup. Returns 0, or -DG_EINVAL if the
 * options make no sense for the models (dg_sim_pump_init refuses them).
 */
int dg_sim_scenario_plan(const struct dg_sim_scenario *sc, const struct dg_sim_setup *setup,
                         struct dg_sim_plan *plan);

#endif
