/*
 * sim_monitor.h — the simulated patient monitor: a pure model of a patient's
 * vital signs during a low-dose ketamine infusion. No I/O, no clock.
 *
 * Physiology (docs/simulator.md has the reasoning and sources):
 *  - Each patient gets seeded baselines: SBP 117-122, DBP 74-78 mmHg,
 *    HR 68-76 /min, SpO2 ~98 %, RR 13-15 /min, EtCO2 36.5-38.5 mmHg.
 *  - Ketamine's sympathomimetic effect follows a one-compartment plasma
 *    level driven by the pump's actual dose rate, half-life 10 min. It is
 *    normalised so that a standard session (0.75 mg/kg/h for 40 min) reaches
 *    effect 1.0 at 40 min. At effect 1.0 SBP is up 14-16, DBP 8-9.5 and HR
 *    7-9 (seeded per patient); the effect scales with the level, so a 10x
 *    rate raises BP within minutes, and a paused pump lets it fall back.
 *  - After the infusion the level decays with the same half-life: vitals
 *    return toward baseline during observation.
 *  - SpO2, RR and EtCO2 are not depressed at these doses (ketamine preserves
 *    respiratory drive); they only carry noise.
 *  - Noise is seeded and bounded: continuous values wander (AR(1)) within
 *    +-2 /min HR, +-0.6 % SpO2, +-1 /min RR, +-1.5 mmHg EtCO2; each NIBP
 *    reading has +-1 mmHg. Values are reported rounded to whole units, as a
 *    bedside monitor shows them.
 *  NIBP cycles: at t = 0, just before each infusion starts (30 s before, or
 *  half-way through a pre phase shorter than a minute) and then every
 *  nibp_interval_s from the start of the first infusion; every
 *  nibp_alarm_interval_s instead while the last cycle read above 180/110
 *  (the monitor's own alarm limit), when that is set.
 *
 * A reboot (reboot_s, a run second; 0 = none): the monitor is off for
 * reboot_off_s (the shell publishes nothing), then boots (boots + 1: the
 * shell draws a new incarnation and restarts seq at 1). The patient goes on
 * meanwhile: the model steps and samples as usual, so the same seed gives
 * the same numbers with or without a reboot.
 *
 * Scenarios (sim_scenario.h) add an abnormal patient: a fixed baseline blood
 * pressure, and excursions: a vital sign that follows a scripted profile
 * (seconds after the infusion start -> value) instead of its normal course.
 * An excursion is the drug's doing: it is in full while the pump infuses and
 * fades out linearly over DG_SIM_RECOVERY_S once the pump stops delivering
 * (paused, stopped, complete). Noise rides on top of it as on the normal
 * value.
 */
#ifndef DG_SIM_MONITOR_H
#define DG_SIM_MONITOR_H

#include <stdbool.h>
#include <stdint.h>

#include "sim_rng.h"

/* The standard session the effect is normalised to. */
#define DG_SIM_REF_RATE_MG_PER_KG_H 0.75
#define DG_SIM_REF_DURATION_S       2400u
#define DG_SIM_EFFECT_HALF_LIFE_S   600.0
#define DG_SIM_EFFECT_MAX           3.0
/* An excursion fades out over this long once the drug stops flowing. */
#define DG_SIM_RECOVERY_S 300.0
/* The monitor's own NIBP alarm limit (above either value). */
#define DG_SIM_NIBP_ALARM_SYS_MMHG 180.0
#define DG_SIM_NIBP_ALARM_DIA_MMHG 110.0
#define DG_SIM_PROFILE_MAX         4

enum dg_sim_vital {
    DG_SIM_HR = 0,
    DG_SIM_SPO2,
    DG_SIM_RR,
    DG_SIM_SBP,
    DG_SIM_DBP,
    DG_SIM_VITALS, /* count */
};

/*
 * A scripted course of one vital sign: n points (0 = none), t_s seconds after
 * the infusion start, increasing. Before t_s[0] the value is the patient's
 * own; from t_s[0] to t_s[1] it moves linearly from the patient's own value
 * to value[1] (value[0] is not used); then linearly from point to point, and
 * it stays at the last value. A value of 0 (no vital sign here is ever 0)
 * means the patient's own value: {4, {a, a+1, b, b+1}, {0, v, v, 0}} is v
 * from a+1 to b and the patient's own course again from b+1.
 */
struct dg_sim_profile {
    unsigned n;
    uint32_t t_s[DG_SIM_PROFILE_MAX];
    double value[DG_SIM_PROFILE_MAX];
};

struct dg_sim_monitor_params {
    uint64_t seed;            /* run seed */
    uint64_t stream;          /* independent stream per patient (bed index) */
    uint32_t pre_s;           /* when the infusion is due to start */
    uint32_t nibp_interval_s; /* 0 = 300 s */
    /* Scenario; zero = none. */
    uint32_t nibp_alarm_interval_s;      /* NIBP cycle while above the alarm limit */
    uint32_t second_start_s;             /* a second infusion: another pre-start NIBP */
    double base_sbp_mmhg, base_dbp_mmhg; /* a fixed baseline instead of a drawn one */
    struct dg_sim_profile profile[DG_SIM_VITALS];
    uint32_t reboot_s;     /* the monitor goes off at this run second (0 = none) */
    uint32_t reboot_off_s; /* and boots this long after (0 = at once) */
};

struct dg_sim_vitals {
    double heart_rate_bpm;
    double spo2_pct;
    double resp_rate_bpm;
    double etco2_mmhg;
    bool has_nibp; /* a cuff cycle completed at this second */
    double systolic_mmhg;
    double diastolic_mmhg;
    double mean_mmhg;
};

struct dg_sim_monitor {
    struct dg_sim_monitor_params p;
    struct dg_sim_rng rng;
    uint32_t t_s; /* simulated seconds since the start of the run */
    /* the patient */
    double base_sbp, base_dbp, base_hr, base_spo2, base_rr, base_etco2;
    double rise_sbp, rise_dbp, rise_hr; /* at effect 1.0 */
    /* state */
    double level;                       /* plasma level relative to the standard steady state */
    double n_hr, n_spo2, n_rr, n_etco2; /* AR(1) noise */
    double excursion;                   /* 1 while the drug flows, fading to 0 after */
    uint32_t next_cycle_s;              /* the next periodic NIBP */
    uint32_t nibp_count;
    bool off;       /* rebooting: the shell publishes nothing */
    unsigned boots; /* reboots completed */
};

/* Draw the patient from (seed, stream). t = 0, no drug yet. */
void dg_sim_monitor_init(struct dg_sim_monitor *mon, const struct dg_sim_monitor_params *p);
/* Advance one simulated second during which the pump delivered dose_rate
   mg/kg/h; then apply a reboot due at the new second. */
void dg_sim_monitor_step(struct dg_sim_monitor *mon, double dose_rate_mg_per_kg_h);
/* Is an NIBP reading due at the current second? */
bool dg_sim_monitor_nibp_due(const struct dg_sim_monitor *mon);
/* The vitals at the current second (draws noise, so call once per second). */
void dg_sim_monitor_sample(struct dg_sim_monitor *mon, struct dg_sim_vitals *out);
/* Drug effect now: 0 = none, 1.0 = end of a standard session. */
double dg_sim_monitor_effect(const struct dg_sim_monitor *mon);
/*
 * The value of a profile at t_s seconds after the infusion start for a
 * patient whose own value is own (no noise). A profile with n = 0 gives own.
 */
double dg_sim_profile_value(const struct dg_sim_profile *pr, double t_s, double own);

#endif
