/*
 * sim_scenario.h — the simulator's scenarios: what each bed's pump and
 * patient do, as data, and the plan that turns a scenario and the run's
 * options into the pure models' parameters. No I/O, no clock.
 *
 * Every scenario is the standard session (sim_pump.h) with one thing changed,
 * chosen so that exactly one rule of the contract's defaults fires, clearly
 * past its threshold, and everything else stays inside every limit. The
 * issue-7 scenarios (pump-reboot ... foreign-identity) change what the
 * devices are rather than what the patient does: a reboot, a second pump or
 * bed, a clock step, a program edit, a clinician's resume, a certificate
 * writing another kind's topic; the rule they test is the gateway's handling
 * of that, with one clinical rule as the probe. Times are simulated seconds
 * after the (first) infusion start unless said otherwise; docs/simulator.md
 * lists each scenario's timeline and what a correct gateway does.
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
    /* Device identity and topology events (issue 7); zero = none. */
    uint32_t pump_reboot_at_s;    /* the pump reboots (off DG_SIM_REBOOT_OFF_S) */
    double reboot_rate_factor;    /* and comes back with its rate x this */
    uint32_t monitor_reboot_at_s; /* the monitor reboots (off DG_SIM_REBOOT_OFF_S) */
    bool second_pump;             /* an idle pump-i-2 on bed-i, reporting after pump-i */
    bool second_bed;              /* bed-i-b with monitor-i-b and its own patient */
    uint32_t pump_moves_at_s;     /* pump-i reports bed-i-b from here (second_bed) */
    struct dg_sim_profile profile_b[DG_SIM_VITALS]; /* monitor-i-b's patient */
    uint32_t pump_clock_step_at_s;    /* the pump's clock steps by clock_step_s here */
    uint32_t monitor_clock_step_at_s; /* the monitor's clock steps by clock_step_s here */
    int32_t clock_step_s;             /* and stays stepped */
    uint32_t edit_at_s;               /* the program is edited in the same session: */
    double edit_weight_kg;            /* its weight (0 = unchanged) */
    double edit_rate_mg_per_kg_h;     /* its rate, as a dose rate for the true weight */
    uint32_t resume_after_s;          /* a clinician resumes a gateway-paused pump */
    uint32_t resumes_max;             /* at most this many times */
    uint32_t foreign_at_s;            /* monitor-i's certificate also sends PumpTelemetry */
    double foreign_rate_factor;       /* claiming the prescribed rate x this */
};

/* A device reboot: silent this many simulated seconds, then a new boot. */
#define DG_SIM_REBOOT_OFF_S 5u

/*
 * The device and bed ids of bed `bed` (1-based) under scenario sc. Kinds are
 * in the id prefixes (pump-, monitor-), as the gateway and broker require:
 * bed-i has pump-i and monitor-i; a second pump is pump-i-2; a second bed is
 * bed-i-b with monitor-i-b. Ids the scenario does not use are "".
 */
struct dg_sim_ids {
    char bed[DG_ID_MAX], pump[DG_ID_MAX], monitor[DG_ID_MAX];
    char pump2[DG_ID_MAX];                       /* second_pump */
    char bed_b[DG_ID_MAX], monitor_b[DG_ID_MAX]; /* second_bed */
};
void dg_sim_scenario_ids(const struct dg_sim_scenario *sc, unsigned bed, struct dg_sim_ids *out);

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
    /* Clock steps: clock_step_ms is added to a device's timestamps from its
       run second on (DG_SIM_NEVER = never). */
    uint32_t pump_clock_step_from_s, monitor_clock_step_from_s;
    int64_t clock_step_ms;
    /* Extra devices. */
    bool second_pump;                       /* pump2: an idle pump on bed-i */
    struct dg_sim_pump_params pump2;        /* for dg_sim_pump_init_idle */
    bool second_bed;                        /* monitor_b on bed-i-b */
    struct dg_sim_monitor_params monitor_b; /* its patient (own stream) */
    uint32_t pump_moves_from_s;             /* run second pump-i reports bed-i-b (DG_SIM_NEVER) */
    /* monitor-i's certificate publishes PumpTelemetry as "pump" monitor-i
       from this run second (DG_SIM_NEVER), claiming this rate. */
    uint32_t foreign_from_s;
    double foreign_rate_ml_per_h;
};

/*
 * Fill plan for scenario sc under setup. Returns 0, or -DG_EINVAL if the
 * options make no sense for the models (dg_sim_pump_init refuses them).
 */
int dg_sim_scenario_plan(const struct dg_sim_scenario *sc, const struct dg_sim_setup *setup,
                         struct dg_sim_plan *plan);
/*
 * The dose rate (mg/kg/h) the second bed's patient gets during the second
 * that ends at run second t_s: the pump's once the pump reports that bed,
 * else none. (Both patients follow pump-i: the first keeps its scripted
 * excursion while pump-i runs, wherever it is.)
 */
double dg_sim_plan_rate_b(const struct dg_sim_plan *plan, uint32_t t_s, double pump_rate);
/* The offset (ms) added to a pump's / monitor's timestamps at run second t_s. */
int64_t dg_sim_plan_pump_clock_ms(const struct dg_sim_plan *plan, uint32_t t_s);
int64_t dg_sim_plan_monitor_clock_ms(const struct dg_sim_plan *plan, uint32_t t_s);

#endif
