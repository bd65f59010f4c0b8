/*
 * druglib.c — look-ups in the drug-library model (see druglib.h).
 */
#include "druglib.h"

#include <string.h>

const struct dg_drug *dg_druglib_find(const struct dg_druglib *lib, const char *drug_code,
                                      const char *care_area)
{
    const struct dg_drug *any_area = NULL;
    for (size_t i = 0; i < lib->n_drugs; i++) {
        const struct dg_drug *d = &lib->drugs[i];
        if (strcmp(d->id, drug_code) != 0) continue;
        if (d->care_area[0] == '\0')
            any_area = d;
        else if (care_area && strcmp(d->care_area, care_area) == 0)
            return d;
    }
    return any_area;
}

void dg_drug_defaults(struct dg_drug *d, int ketamine_defaults)
{
    d->rate_hard_action = DG_ACTION_PAUSE;
    d->session_dose_hard_action = DG_ACTION_STOP;
    d->rolling_24h_hard_action = DG_ACTION_STOP;
    d->bolus_allowed = 0;
    d->bolus_action = DG_ACTION_PAUSE;
    d->concentration_hard_action = DG_ACTION_STOP;
    if (!ketamine_defaults) return;
    /* contract.md, "Default drug-library entry ketamine-trd". */
    d->rate_mg_per_kg_h.soft = 1.125;
    d->rate_mg_per_kg_h.hard = 1.5;
    d->session_dose_mg_per_kg.soft = 0.75;
    d->session_dose_mg_per_kg.hard = 1.0;
    d->rolling_24h_dose_mg_per_kg_hard = 1.0;
    d->concentration_soft_min_mg_per_ml = 0.5;
    d->concentration_soft_max_mg_per_ml = 2.0;
    d->concentration_hard_max_mg_per_ml = 10.0;
    d->weight_hard_min_kg = 30.0;
    d->weight_hard_max_kg = 250.0;
    d->programmed_dose_mg_per_kg.soft = 0.75;
    d->programmed_dose_mg_per_kg.hard = 1.0;
    d->sessions_max_per_7d = 3;
    d->sessions_min_hours_between = 44.0;
}

void dg_druglib_defaults(struct dg_druglib *lib)
{
    struct dg_vitals_rules *v = &lib->vitals;
    /* contract.md, "Default vital-sign rules". */
    v->baseline_max_age_min = 15;
    v->baseline_warn_sys_mmhg = 140;
    v->baseline_warn_dia_mmhg = 90;
    v->baseline_crit_sys_mmhg = 180;
    v->baseline_crit_dia_mmhg = 110;
    v->baseline_crit_action = DG_ACTION_STOP;
    v->baseline_grace_min = 2;
    v->bp_rise_sys_mmhg = 40;
    v->bp_rise_dia_mmhg = 25;
    v->bp_high_sys_mmhg = 180;
    v->bp_high_dia_mmhg = 110;
    v->bp_high_window_min = 5;
    v->bp_severe_sys_mmhg = 200;
    v->bp_severe_dia_mmhg = 120;
    v->bp_high_action = DG_ACTION_PAUSE;
    v->bp_severe_action = DG_ACTION_STOP;
    v->hr_warn_low_bpm = 50;
    v->hr_warn_high_bpm = 120;
    v->hr_warn_delay_s = 60;
    v->hr_crit_low_bpm = 40;
    v->hr_crit_high_bpm = 150;
    v->hr_crit_action = DG_ACTION_PAUSE;
    v->spo2_warn_pct = 90;
    v->spo2_warn_delay_s = 15;
    v->spo2_crit_pct = 85;
    v->spo2_crit_action = DG_ACTION_PAUSE;
    v->rr_warn_low_bpm = 10;
    v->rr_warn_high_bpm = 30;
    v->rr_warn_delay_s = 30;
    v->rr_crit_low_bpm = 6;
    v->rr_crit_action = DG_ACTION_PAUSE;
    v->two_warnings_action = DG_ACTION_PAUSE;
    v->observation_min = 120;

    struct dg_liveness *l = &lib->liveness;
    l->vitals_silent_warn_s = 10;
    l->vitals_silent_crit_s = 60;
    l->nibp_stale_min = 15;
    l->pump_silent_warn_s = 5;
    l->pump_silent_crit_s = 30;
    l->command_timeout_s = 5;
    l->dose_mismatch_rel_pct = 10;
    l->dose_mismatch_abs_mg_per_kg = 0.05;
    l->clock_skew_s = 30;
    l->permit_valid_s = 5;
    l->permit_period_s = 1;
    l->clock_jump_tolerance_s = 5;
    l->seq_gap_advisory_missing = 5;
    l->data_quality_clear_s = 60;
}
