/*
 * rules_vitals.c — vital-sign rules evaluated on monitor samples, and the
 * baseline blood-pressure check at the start of an infusion.
 */
#include "internal.h"

int dg_rules_vitals(dg_core *c, struct dg_monitor *m, struct dg_bed *b, const struct dg_vitals *v,
                    struct dg_now now)
{
    (void)c, (void)m, (void)b, (void)v, (void)now;
    return 0;
}

int dg_rules_baseline(dg_core *c, struct dg_bed *b, struct dg_pump *p, const struct dg_telemetry *t,
                      struct dg_now now)
{
    (void)c, (void)b, (void)p, (void)t, (void)now;
    return 0;
}
