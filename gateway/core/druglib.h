/*
 * druglib.h — the drug-library model the interlock core evaluates.
 *
 * Filled by the shell's YAML loader (gateway/io/config.c) from the file a
 * biomedical engineer or pharmacist edits; the core only reads it. The
 * contract's rules (contract.md) map onto these fields one to one; the rule
 * ids used in alerts, audit and docs/rules.md are given with each field.
 *
 * Conventions: a limit of 0 means "no such limit" unless a field says
 * otherwise. Units are in the names. "soft" crossings raise a medium alert
 * with no action; "hard" crossings raise a high alert and request the
 * entry's action. Delays are condition delays (IEC 60601-1-8): the condition
 * must hold continuously that long, on the device timeline, before the
 * alert is raised.
 */
#ifndef DG_DRUGLIB_H
#define DG_DRUGLIB_H

#include <stddef.h>

#include "types.h"

#define DG_DRUGS_MAX 32

/* A soft/hard upper limit pair; the unit is in the owning field's name. */
struct dg_limit {
    double soft; /* > soft: medium alert, no action; 0 = none */
    double hard; /* > hard: high alert + the rule's action; 0 = none */
};

struct dg_drug {
    char id[DG_ID_MAX];        /* drug code the pump sends, e.g. "ketamine-trd" */
    char care_area[DG_ID_MAX]; /* care area it applies to; "" = any */
    char name[DG_ID_MAX];      /* display name */

    /* rate-soft / rate-hard: current rate in mg/kg/h while running. */
    struct dg_limit rate_mg_per_kg_h;
    enum dg_alert_action rate_hard_action; /* default pause */

    /* dose-soft / dose-hard: dose delivered this session, mg/kg (the larger
       of the pump's report and the gateway's own integration). */
    struct dg_limit session_dose_mg_per_kg;
    enum dg_alert_action session_dose_hard_action; /* default stop */

    /* dose-24h: the patient's dose over the last 24 h (all sessions), mg/kg.
       Hard only: > hard stops a running pump and refuses a new session
       (stop on start). */
    double rolling_24h_dose_mg_per_kg_hard;
    enum dg_alert_action rolling_24h_hard_action; /* default stop */

    /* bolus: any bolus (count > 0 or bolus dose > 0) when bolus_allowed is
       false raises high + bolus_action. */
    int bolus_allowed;                 /* default 0 */
    enum dg_alert_action bolus_action; /* default pause */

    /* concentration-soft: outside [soft_min, soft_max] mg/mL (medium);
       concentration-hard: > hard_max mg/mL (high + action, checked at start
       and while running). */
    double concentration_soft_min_mg_per_ml;
    double concentration_soft_max_mg_per_ml;
    double concentration_hard_max_mg_per_ml;
    enum dg_alert_action concentration_hard_action; /* default stop */

    /* weight: missing (0), < hard_min or > hard_max kg -> high, stop on start. */
    double weight_hard_min_kg;
    double weight_hard_max_kg;

    /* programmed-dose-soft / -hard: programmed session dose, mg/kg, checked
       before any drug flows: hard -> stop on start. */
    struct dg_limit programmed_dose_mg_per_kg;

    /* sessions: more than max_per_7d sessions in 7 days, or fewer than
       min_hours_between hours since the last one started: medium advisory.
       0 = not checked. */
    int sessions_max_per_7d;
    double sessions_min_hours_between;
};

/* Vital-sign rules and liveness timeouts: per site (one set per library). */
struct dg_vitals_rules {
    /* baseline-bp: before start, the latest NIBP no older than
       baseline_max_age_min; >= warn (either value) or none -> medium;
       >= crit -> high, stop on start. */
    double baseline_max_age_min;
    double baseline_warn_sys_mmhg, baseline_warn_dia_mmhg;
    double baseline_crit_sys_mmhg, baseline_crit_dia_mmhg;
    enum dg_alert_action baseline_crit_action; /* default stop */
    /* A pump that starts without a baseline waits this long (gateway
       timeline) for one: the first NIBP in that time is judged as the
       baseline (its critical tier stops the pump); none by then -> the
       medium "no baseline" alert. Default 2; 0 = judge at the start only. */
    double baseline_grace_min;

    /* bp-rise: SBP rise >= rise_sys or DBP rise >= rise_dia over baseline
       -> medium (a warning). bp-high: > high_sys or > high_dia on two NIBP
       readings within high_window_min -> high, pause. bp-severe: > severe_sys
       or > severe_dia once -> high, stop. */
    double bp_rise_sys_mmhg, bp_rise_dia_mmhg;
    double bp_high_sys_mmhg, bp_high_dia_mmhg, bp_high_window_min;
    double bp_severe_sys_mmhg, bp_severe_dia_mmhg;
    enum dg_alert_action bp_high_action;   /* default pause */
    enum dg_alert_action bp_severe_action; /* default stop */

    /* hr-warn: < warn_low or > warn_high sustained warn_delay_s -> medium;
       hr-crit: <= crit_low or >= crit_high -> high, pause. */
    double hr_warn_low_bpm, hr_warn_high_bpm, hr_warn_delay_s;
    double hr_crit_low_bpm, hr_crit_high_bpm;
    enum dg_alert_action hr_crit_action; /* default pause */

    /* spo2-warn: <= warn sustained warn_delay_s -> medium;
       spo2-crit: <= crit -> high, pause. */
    double spo2_warn_pct, spo2_warn_delay_s, spo2_crit_pct;
    enum dg_alert_action spo2_crit_action; /* default pause */

    /* rr-warn: < warn_low or > warn_high sustained warn_delay_s -> medium;
       rr-crit: <= crit_low -> high, pause. */
    double rr_warn_low_bpm, rr_warn_high_bpm, rr_warn_delay_s, rr_crit_low_bpm;
    enum dg_alert_action rr_crit_action; /* default pause */

    /* two-warnings: two or more warnings (medium physiological alerts, and
       vitals-silent) active at once on one bed -> high + action (default
       pause; none = off). */
    enum dg_alert_action two_warnings_action;

    /* The observation period after an infusion ends, during which the vital
       rules still apply (minutes). */
    double observation_min;
};

struct dg_liveness {
    /* vitals-silent: no continuous vitals while a pump runs: > warn_s
       technical medium (counts as a warning), > crit_s high. Gateway
       monotonic clock. */
    double vitals_silent_warn_s, vitals_silent_crit_s;
    /* nibp-stale: NIBP older than stale_min while running: technical low. */
    double nibp_stale_min;
    /* pump-silent: no telemetry from a running pump: > warn_s medium,
       > crit_s high. */
    double pump_silent_warn_s, pump_silent_crit_s;
    /* command-not-honoured: pump still running command_timeout_s after a
       pause/stop: the alert escalates. */
    double command_timeout_s;
    /* dose-mismatch: pump-reported vs integrated dose differ by more than
       rel_pct % and more than abs_mg_per_kg: medium. */
    double dose_mismatch_rel_pct, dose_mismatch_abs_mg_per_kg;
    /* clock-skew: device clock more than skew_s from the gateway's: advisory. */
    double clock_skew_s;
    /* permit-to-infuse validity (s, after the pump receives it) and period
       (s), when the site enables it. */
    double permit_valid_s, permit_period_s;
    /* clock-jump: a device time that steps forward more than
       device_time_scale x (gateway time elapsed between the two receipts +
       clock_jump_tolerance_s), or backwards more than device_time_scale x
       clock_jump_tolerance_s, is a jump: the step adds no dose, satisfies
       no condition delay, and raises a low advisory. Default 5. */
    double clock_jump_tolerance_s;
    /* seq-gap: a sequence gap of at least seq_gap_advisory_missing messages
       raises a low advisory (every gap is counted and audited). Default 5;
       0 = never. */
    double seq_gap_advisory_missing;
    /* clock-jump and seq-gap advisories clear after this long (gateway
       clock) without another jump or gap. Default 60. */
    double data_quality_clear_s;
};

struct dg_druglib {
    char id[DG_ID_MAX];      /* library id, e.g. "clinic-default" */
    char version[DG_ID_MAX]; /* library version, e.g. "2026.11.1" */
    char sha256_hex[65];     /* of the file's bytes, filled by the loader */
    size_t n_drugs;
    struct dg_drug drugs[DG_DRUGS_MAX];
    struct dg_vitals_rules vitals;
    struct dg_liveness liveness;
};

/* The entry for (drug code, care area), or NULL. An entry with an empty
   care_area matches any care area; an exact care area wins over it. */
const struct dg_drug *dg_druglib_find(const struct dg_druglib *lib, const char *drug_code,
                                      const char *care_area);

/* Fill lib->vitals and lib->liveness with the contract's defaults and every
   drug field that is not a limit value with its default action. Used by the
   loader before it applies the file, and by tests. */
void dg_druglib_defaults(struct dg_druglib *lib);
/* Defaults of one drug entry's actions (and the ketamine-trd limits when
   ketamine_defaults is nonzero: the contract's table, for tests). */
void dg_drug_defaults(struct dg_drug *d, int ketamine_defaults);

#endif
