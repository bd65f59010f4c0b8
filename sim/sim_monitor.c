/*
 * sim_monitor.c — the simulated patient's vital signs (see sim_monitor.h).
 *
 * The plasma level uses the exact solution of dL/dt = k (r / r_ref - L)
 * over one second, so the result does not depend on the step size and a
 * steady infusion at the reference rate tends to L = 1. The effect is
 * L / L_ref, where L_ref = 1 - exp(-k * 2400 s) is the level a standard
 * session reaches at 40 min; that makes the end of a standard infusion the
 * peak, with the nominal rises of the patient.
 *
 * Random draws happen in the same order whatever the scenario, so a
 * scenario changes only what it scripts: the same seed gives the same
 * patient and the same noise.
 */
#include "sim_monitor.h"

#include <math.h>
#include <string.h>

#define NIBP_NOISE_MMHG 1.0

static double k_per_s(void)
{
    return log(2.0) / DG_SIM_EFFECT_HALF_LIFE_S;
}

void dg_sim_monitor_init(struct dg_sim_monitor *mon, const struct dg_sim_monitor_params *p)
{
    memset(mon, 0, sizeof *mon);
    mon->p = *p;
    if (mon->p.nibp_interval_s == 0) mon->p.nibp_interval_s = 300;
    mon->next_cycle_s = mon->p.pre_s + mon->p.nibp_interval_s;
    dg_sim_rng_init(&mon->rng, p->seed, p->stream);
    struct dg_sim_rng *r = &mon->rng;
    mon->base_sbp = dg_sim_rng_uniform(r, 117.0, 122.0);
    mon->base_dbp = dg_sim_rng_uniform(r, 74.0, 78.0);
    mon->base_hr = dg_sim_rng_uniform(r, 68.0, 76.0);
    mon->base_spo2 = dg_sim_rng_uniform(r, 97.6, 98.4);
    mon->base_rr = dg_sim_rng_uniform(r, 13.0, 15.0);
    mon->base_etco2 = dg_sim_rng_uniform(r, 36.5, 38.5);
    mon->rise_sbp = dg_sim_rng_uniform(r, 14.0, 16.0);
    mon->rise_dbp = dg_sim_rng_uniform(r, 8.0, 9.5);
    mon->rise_hr = dg_sim_rng_uniform(r, 7.0, 9.0);
    if (p->base_sbp_mmhg > 0) mon->base_sbp = p->base_sbp_mmhg;
    if (p->base_dbp_mmhg > 0) mon->base_dbp = p->base_dbp_mmhg;
}

void dg_sim_monitor_step(struct dg_sim_monitor *mon, double dose_rate_mg_per_kg_h)
{
    double target = 0.0;
    if (isfinite(dose_rate_mg_per_kg_h) && dose_rate_mg_per_kg_h > 0)
        target = dose_rate_mg_per_kg_h / DG_SIM_REF_RATE_MG_PER_KG_H;
    double decay = exp(-k_per_s());
    mon->level = mon->level * decay + target * (1.0 - decay);
    if (target > 0)
        mon->excursion = 1.0;
    else
        mon->excursion = fmax(0.0, mon->excursion - 1.0 / DG_SIM_RECOVERY_S);
    mon->t_s++;
    uint32_t r = mon->p.reboot_s;
    if (r && mon->t_s == r) mon->off = true;
    if (r && mon->off && (uint64_t)mon->t_s == (uint64_t)r + mon->p.reboot_off_s) {
        mon->off = false;
        mon->boots++;
    }
}

double dg_sim_monitor_effect(const struct dg_sim_monitor *mon)
{
    double ref = 1.0 - exp(-k_per_s() * (double)DG_SIM_REF_DURATION_S);
    double e = mon->level / ref;
    return e > DG_SIM_EFFECT_MAX ? DG_SIM_EFFECT_MAX : e;
}

/* Is t the pre-start reading of an infusion starting at start? */
static bool before_start(const struct dg_sim_monitor *mon, uint32_t t, uint32_t start)
{
    uint32_t pre = mon->p.pre_s;
    uint32_t lead = pre >= 60 ? 30 : pre - pre / 2;
    return start >= lead && t == start - lead;
}

bool dg_sim_monitor_nibp_due(const struct dg_sim_monitor *mon)
{
    uint32_t t = mon->t_s;
    if (t == 0 || t == mon->next_cycle_s) return true;
    if (before_start(mon, t, mon->p.pre_s)) return true;
    return mon->p.second_start_s && before_start(mon, t, mon->p.second_start_s);
}

/* Point i's value: 0 (and point 0's, always) is the patient's own. */
static double point(const struct dg_sim_profile *pr, unsigned i, double own)
{
    return i == 0 || pr->value[i] == 0 ? own : pr->value[i];
}

double dg_sim_profile_value(const struct dg_sim_profile *pr, double t_s, double own)
{
    if (pr->n == 0 || t_s <= pr->t_s[0]) return own;
    for (unsigned i = 1; i < pr->n; i++) {
        if (t_s >= pr->t_s[i]) continue;
        double from = point(pr, i - 1, own), to = point(pr, i, own);
        double a = (t_s - pr->t_s[i - 1]) / (double)(pr->t_s[i] - pr->t_s[i - 1]);
        return from + (to - from) * a;
    }
    return point(pr, pr->n - 1, own);
}

/* The patient's value of vital v: own course, or the scenario's excursion. */
static double course(const struct dg_sim_monitor *mon, enum dg_sim_vital v, double own)
{
    const struct dg_sim_profile *pr = &mon->p.profile[v];
    if (pr->n == 0 || mon->excursion <= 0) return own;
    double t = (double)mon->t_s - (double)mon->p.pre_s;
    return own + mon->excursion * (dg_sim_profile_value(pr, t, own) - own);
}

/* AR(1) noise bounded by amp: a convex mix of the old value and a fresh draw. */
static double wander(struct dg_sim_rng *r, double *n, double amp)
{
    *n = 0.8 * *n + 0.2 * dg_sim_rng_uniform(r, -amp, amp);
    return *n;
}

void dg_sim_monitor_sample(struct dg_sim_monitor *mon, struct dg_sim_vitals *out)
{
    struct dg_sim_rng *r = &mon->rng;
    double e = dg_sim_monitor_effect(mon);
    memset(out, 0, sizeof *out);
    double hr = course(mon, DG_SIM_HR, mon->base_hr + mon->rise_hr * e);
    out->heart_rate_bpm = round(hr + wander(r, &mon->n_hr, 2.0));
    double spo2 = round(course(mon, DG_SIM_SPO2, mon->base_spo2) + wander(r, &mon->n_spo2, 0.6));
    out->spo2_pct = spo2 > 100.0 ? 100.0 : spo2;
    out->resp_rate_bpm = round(course(mon, DG_SIM_RR, mon->base_rr) + wander(r, &mon->n_rr, 1.0));
    out->etco2_mmhg = round(mon->base_etco2 + wander(r, &mon->n_etco2, 1.5));
    if (dg_sim_monitor_nibp_due(mon)) {
        double sbp = course(mon, DG_SIM_SBP, mon->base_sbp + mon->rise_sbp * e);
        double dbp = course(mon, DG_SIM_DBP, mon->base_dbp + mon->rise_dbp * e);
        out->has_nibp = true;
        out->systolic_mmhg = round(sbp + dg_sim_rng_uniform(r, -NIBP_NOISE_MMHG, NIBP_NOISE_MMHG));
        out->diastolic_mmhg = round(dbp + dg_sim_rng_uniform(r, -NIBP_NOISE_MMHG, NIBP_NOISE_MMHG));
        out->mean_mmhg =
            round(out->diastolic_mmhg + (out->systolic_mmhg - out->diastolic_mmhg) / 3.0);
        mon->nibp_count++;
        if (mon->t_s == mon->next_cycle_s) {
            bool high = out->systolic_mmhg > DG_SIM_NIBP_ALARM_SYS_MMHG ||
                        out->diastolic_mmhg > DG_SIM_NIBP_ALARM_DIA_MMHG;
            uint32_t alarm = mon->p.nibp_alarm_interval_s;
            mon->next_cycle_s += high && alarm ? alarm : mon->p.nibp_interval_s;
        }
    }
}
