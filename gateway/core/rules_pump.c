/*
 * rules_pump.c — drug-library rules evaluated on pump telemetry.
 *
 * Pre-start checks run while a session is programmed and at the moment it
 * starts; the drug limits run while it infuses. Each rule family reports its
 * state through dg_alert_set(), which turns it into lifecycle phases.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "internal.h"

/* Infusion rate in mg/kg/h, or NAN if the program does not say. */
static double rate_mg_per_kg_h(const struct dg_telemetry *t)
{
    const struct dg_program *p = &t->program;
    if (!t->has_program || p->patient_weight_kg <= 0 || p->concentration_mg_per_ml <= 0) return NAN;
    return t->rate_ml_per_h * p->concentration_mg_per_ml / p->patient_weight_kg;
}

/* rate: soft (medium) and hard (high + the entry's action) while running. */
static int rule_rate(dg_core *c, struct dg_pump *p, struct dg_bed *b, const struct dg_telemetry *t,
                     const struct dg_drug *d, struct dg_now now)
{
    double rate = t->state == DG_PUMP_RUNNING ? rate_mg_per_kg_h(t) : NAN;
    const struct dg_limit *lim = &d->rate_mg_per_kg_h;
    bool hard = !isnan(rate) && lim->hard > 0 && rate > lim->hard;
    bool soft = !isnan(rate) && !hard && lim->soft > 0 && rate > lim->soft;
    if (!hard && !soft) return dg_alert_set(c, b, "rate", p->id, NULL, now);

    char src[DG_ID_MAX * 2], msg[DG_TEXT_MAX];
    snprintf(src, sizeof src, "%s.rate_mg_per_kg_h.%s", d->id, hard ? "hard" : "soft");
    snprintf(msg, sizeof msg, "infusion rate %.3f mg/kg/h above %s limit %.3f", rate,
             hard ? "hard" : "soft", hard ? lim->hard : lim->soft);
    struct dg_finding f = {
        .kind = DG_KIND_PHYSIOLOGICAL,
        .priority = hard ? DG_PRIO_HIGH : DG_PRIO_MEDIUM,
        .action = hard ? d->rate_hard_action : DG_ACTION_NONE,
        .value = rate,
        .limit = hard ? lim->hard : lim->soft,
        .unit = "mg/kg/h",
        .limit_source = src,
        .message = msg,
        .pump_id = p->id,
        .patient_ref = t->patient_ref,
        .device_time_ms = t->device_time_ms,
    };
    return dg_alert_set(c, b, "rate", p->id, &f, now);
}

int dg_rules_pump(dg_core *c, struct dg_pump *p, struct dg_bed *b, const struct dg_telemetry *t,
                  struct dg_now now)
{
    const struct dg_drug *d =
        t->has_program ? dg_druglib_find(c->lib, t->program.drug_code, t->program.care_area) : NULL;
    if (!d) return 0;
    return rule_rate(c, p, b, t, d, now);
}
