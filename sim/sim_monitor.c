/*
 * sim_monitor.c — the simulated patient's vital signs (see sim_monitor.h).
 *
 * The plasma level uses the exact solution of dL/dt = k (r / r_ref - L)
 * over one second, so the result does not depend on the step size and a
 * steady infusion at the reference rate tends to L = 1. The effect is
 * L / L_ref, where L_ref = 1 - exp(-k * 2400 s) is the level a standard
 * session reaches at 40 min; that makes the end of a standard infusion the
 * peak, with the nominal rises of the patient.
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
}

void dg_sim_monitor_step(struct dg_sim_monitor *mon, double dose_rate_mg_per_kg_h)
{
    double target = 0.0;
    if (isfinite(dose_rate_mg_per_kg_h) && dose_rate_mg_per_kg_h > 0)
        target = dose_rate_mg_per_kg_h / DG_SIM_REF_RATE_MG_PER_KG_H;
    double decay = exp(-k_per_s());
    mon->level = mon->level * decay + target * (1.0 - decay);
    mon->t_s++;
}

double dg_sim_monitor_effect(const struct dg_sim_monitor *mon)
{
    double ref = 1.0 - exp(-k_per_s() * (double)DG_SIM_REF_DURATION_S);
    double e = mon->level / ref;
    return e > DG_SIM_EFFECT_MAX ? DG_SIM_EFFECT_MAX : e;
}

bool dg_sim_monitor_nibp_due(const struct dg_sim_monitor *mon)
{
    uint32_t t = mon->t_s, pre = mon->p.pre_s;
    if (t == 0) return true;
    uint32_t before_start = pre >= 60 ? pre - 30 : pre / 2;
    if (t < pre) return t == before_start;
    uint32_t since = t - pre;
    return since > 0 && since % mon->p.nibp_interval_s == 0;
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
    out->heart_rate_bpm = round(mon->base_hr + mon->rise_hr * e + wander(r, &mon->n_hr, 2.0));
    double spo2 = round(mon->base_spo2 + wander(r, &mon->n_spo2, 0.6));
    out->spo2_pct = spo2 > 100.0 ? 100.0 : spo2;
    out->resp_rate_bpm = round(mon->base_rr + wander(r, &mon->n_rr, 1.0));
    out->etco2_mmhg = round(mon->base_etco2 + wander(r, &mon->n_etco2, 1.5));
    if (dg_sim_monitor_nibp_due(mon)) {
        out->has_nibp = true;
        out->systolic_mmhg = round(mon->base_sbp + mon->rise_sbp * e +
                                   dg_sim_rng_uniform(r, -NIBP_NOISE_MMHG, NIBP_NOISE_MMHG));
        out->diastolic_mmhg = round(mon->base_dbp + mon->rise_dbp * e +
                                    dg_sim_rng_uniform(r, -NIBP_NOISE_MMHG, NIBP_NOISE_MMHG));
        out->mean_mmhg =
            round(out->diastolic_mmhg + (out->systolic_mmhg - out->diastolic_mmhg) / 3.0);
        mon->nibp_count++;
    }
}
