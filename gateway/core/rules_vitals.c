/*
 * rules_vitals.c — vital-sign rules evaluated on monitor samples, and the
 * baseline blood-pressure check at the start of an infusion.
 *
 * Each rule is an alert family: one condition per bed and monitor whose
 * tiers are a warning (medium, no action) and a critical (high, with the
 * library's action, which latches in alerts.c). A family reports its state
 * on every sample that carries its measurement; dg_alert_set() turns that
 * into raise / escalate / deescalate / update / clear.
 *
 *   heart-rate, spo2, resp-rate   continuous (about 1 Hz): the critical tier
 *                                 is immediate; the warning tier needs its
 *                                 condition to hold for a condition delay
 *   bp-rise, blood-pressure       on each new NIBP reading
 *   baseline-bp                   before start (dg_rules_baseline)
 *
 * Applicability: while a pump runs on the bed, and during the observation
 * period after it (b->observe_until_clin_ms, corrected times). Outside it
 * the non-latched families clear and the condition delays start again.
 *
 * Sources and actions: each monitor is its own source (its own alerts and
 * condition delays); a critical tier's pause or stop goes to every pump
 * running on the bed, never an idle one, never another bed's (alerts.c).
 *
 * Time: condition delays are measured on the monitor's own clock (message
 * timestamps), never on the gateway's, so a simulator running faster than
 * real time exercises them faithfully; a step of that clock judged a jump
 * (trust.c) restarts a delay instead of satisfying it. The two-readings
 * window, the baseline's age and the observation period compare readings
 * and starts of different devices, so they use corrected times.
 * An absent or invalid measurement changes nothing: it neither raises,
 * clears nor restarts a condition delay.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Families this file owns on a monitor (two-warnings is core.c's). */
static const char *const vitals_families[] = {"heart-rate", "spo2", "resp-rate", "bp-rise",
                                              "blood-pressure"};

/* What every finding of one sample shares. */
struct sample_ctx {
    dg_core *c;
    struct dg_bed *b;
    const char *source;      /* the monitor id */
    const char *patient_ref; /* of the pump that last ran on the bed, "" if none */
    uint64_t device_ms;      /* the sample's device time */
    uint64_t clin_ms;        /* ... corrected */
    bool jumped;             /* the monitor's clock jumped on this sample */
    struct dg_now now;
};

static bool usable(const struct dg_measurement *m)
{
    return m->present && m->valid && isfinite(m->value);
}

/* A vitals finding; the action (if any) goes to every pump running on the bed. */
static struct dg_finding finding(const struct sample_ctx *x, enum dg_priority prio,
                                 enum dg_alert_kind kind, enum dg_alert_action action, double value,
                                 double limit, const char *unit, const char *key, const char *msg)
{
    struct dg_finding f = {
        .kind = kind,
        .priority = prio,
        .action = prio == DG_PRIO_HIGH ? action : DG_ACTION_NONE,
        .value = value,
        .limit = limit,
        .unit = unit,
        .limit_source = key,
        .message = msg,
        .pump_id = "",
        .patient_ref = x->patient_ref,
        .device_time_ms = x->device_ms,
    };
    return f;
}

/*
 * Condition delay: *since_ms is the device time of the first sample of the
 * current unbroken run of violating samples (0 = none). True once the run
 * has lasted delay_s. A clock that jumped (either way) restarts the run at
 * this sample: a jump never satisfies a delay.
 */
static bool held(uint64_t *since_ms, bool violates, uint64_t t_ms, double delay_s, bool jumped)
{
    if (!violates) {
        *since_ms = 0;
        return false;
    }
    if (*since_ms == 0 || t_ms < *since_ms || jumped) *since_ms = t_ms;
    return (double)(t_ms - *since_ms) >= delay_s * 1000.0;
}

/* ------------------------------------------------------------ continuous */

/*
 * A continuous family with a critical band and a sustained warning band.
 * Limits of 0 are "no such limit" (druglib.h); the loader refuses them for
 * vitals, but the core must not misread a hand-built library either.
 */
struct band {
    const char *condition; /* family id */
    const char *what;      /* for messages */
    const char *unit;
    double crit_low, crit_high; /* value <= crit_low or >= crit_high: critical */
    double warn_low, warn_high; /* value < warn_low or > warn_high: warning */
    bool warn_low_inclusive;    /* value <= warn_low (SpO2 "<= 90") */
    double warn_delay_s;
    enum dg_alert_action crit_action;
    const char *crit_low_key, *crit_high_key, *warn_low_key, *warn_high_key;
};

static int eval_band(const struct sample_ctx *x, const struct band *r,
                     const struct dg_measurement *m, uint64_t *since_ms)
{
    if (!usable(m)) return 0;
    double val = m->value;
    bool crit_low = r->crit_low > 0 && val <= r->crit_low;
    bool crit_high = r->crit_high > 0 && val >= r->crit_high;
    bool warn_low =
        r->warn_low > 0 && (r->warn_low_inclusive ? val <= r->warn_low : val < r->warn_low);
    bool warn_high = r->warn_high > 0 && val > r->warn_high;
    /* The delay keeps counting through a critical value (it violates the
       warning band too), so a value falling back from critical to warning
       after the delay deescalates instead of clearing. */
    bool warned = held(since_ms, warn_low || warn_high, x->device_ms, r->warn_delay_s, x->jumped);

    char msg[DG_TEXT_MAX];
    struct dg_finding f;
    if (crit_low || crit_high) {
        double lim = crit_low ? r->crit_low : r->crit_high;
        snprintf(msg, sizeof msg, "%s %.0f %s at or %s critical limit %.0f", r->what, val, r->unit,
                 crit_low ? "below" : "above", lim);
        f = finding(x, DG_PRIO_HIGH, DG_KIND_PHYSIOLOGICAL, r->crit_action, val, lim, r->unit,
                    crit_low ? r->crit_low_key : r->crit_high_key, msg);
    } else if (warned) {
        double lim = warn_low ? r->warn_low : r->warn_high;
        snprintf(msg, sizeof msg, "%s %.0f %s %s warning limit %.0f for %.0f s", r->what, val,
                 r->unit, warn_low ? (r->warn_low_inclusive ? "at or below" : "below") : "above",
                 lim, (double)(x->device_ms - *since_ms) / 1000.0);
        f = finding(x, DG_PRIO_MEDIUM, DG_KIND_PHYSIOLOGICAL, DG_ACTION_NONE, val, lim, r->unit,
                    warn_low ? r->warn_low_key : r->warn_high_key, msg);
    } else {
        /* Normal, or a warning still inside its condition delay. */
        return dg_alert_set(x->c, x->b, r->condition, x->source, NULL, x->now);
    }
    return dg_alert_set(x->c, x->b, r->condition, x->source, &f, x->now);
}

static int rules_continuous(const struct sample_ctx *x, const struct dg_vitals_rules *vr,
                            struct dg_monitor *m, const struct dg_vitals *v)
{
    const struct band hr = {
        .condition = "heart-rate",
        .what = "heart rate",
        .unit = "bpm",
        .crit_low = vr->hr_crit_low_bpm,
        .crit_high = vr->hr_crit_high_bpm,
        .warn_low = vr->hr_warn_low_bpm,
        .warn_high = vr->hr_warn_high_bpm,
        .warn_delay_s = vr->hr_warn_delay_s,
        .crit_action = vr->hr_crit_action,
        .crit_low_key = "vitals.heart_rate.crit_low_bpm",
        .crit_high_key = "vitals.heart_rate.crit_high_bpm",
        .warn_low_key = "vitals.heart_rate.warn_low_bpm",
        .warn_high_key = "vitals.heart_rate.warn_high_bpm",
    };
    const struct band spo2 = {
        .condition = "spo2",
        .what = "SpO2",
        .unit = "%",
        .crit_low = vr->spo2_crit_pct,
        .warn_low = vr->spo2_warn_pct,
        .warn_low_inclusive = true,
        .warn_delay_s = vr->spo2_warn_delay_s,
        .crit_action = vr->spo2_crit_action,
        .crit_low_key = "vitals.spo2.crit_pct",
        .warn_low_key = "vitals.spo2.warn_pct",
    };
    const struct band rr = {
        .condition = "resp-rate",
        .what = "respiratory rate",
        .unit = "breaths/min",
        .crit_low = vr->rr_crit_low_bpm,
        .warn_low = vr->rr_warn_low_bpm,
        .warn_high = vr->rr_warn_high_bpm,
        .warn_delay_s = vr->rr_warn_delay_s,
        .crit_action = vr->rr_crit_action,
        .crit_low_key = "vitals.resp_rate.crit_low_bpm",
        .warn_low_key = "vitals.resp_rate.warn_low_bpm",
        .warn_high_key = "vitals.resp_rate.warn_high_bpm",
    };
    int rc = eval_band(x, &hr, &v->heart_rate_bpm, &m->hr_warn_since_ms);
    if (rc == 0) rc = eval_band(x, &spo2, &v->spo2_pct, &m->spo2_warn_since_ms);
    if (rc == 0) rc = eval_band(x, &rr, &v->resp_rate_bpm, &m->rr_warn_since_ms);
    return rc;
}

/* ------------------------------------------------------------ NIBP */

/* bp-rise: a warning when the reading has risen over the session's baseline
   by rise_sys (systolic) or rise_dia (diastolic) or more. */
static int rule_bp_rise(const struct sample_ctx *x, const struct dg_vitals_rules *vr, double sys,
                        double dia)
{
    const struct dg_bed *b = x->b;
    if (!b->have_baseline) return dg_alert_set(x->c, x->b, "bp-rise", x->source, NULL, x->now);
    double rise_sys = sys - b->baseline.sys, rise_dia = dia - b->baseline.dia;
    bool by_sys = vr->bp_rise_sys_mmhg > 0 && rise_sys >= vr->bp_rise_sys_mmhg;
    bool by_dia = vr->bp_rise_dia_mmhg > 0 && rise_dia >= vr->bp_rise_dia_mmhg;
    if (!by_sys && !by_dia) return dg_alert_set(x->c, x->b, "bp-rise", x->source, NULL, x->now);

    char msg[DG_TEXT_MAX];
    snprintf(msg, sizeof msg,
             "blood pressure %.0f/%.0f mmHg: %s +%.0f mmHg over baseline %.0f/%.0f", sys, dia,
             by_sys ? "systolic" : "diastolic", by_sys ? rise_sys : rise_dia, b->baseline.sys,
             b->baseline.dia);
    struct dg_finding f = finding(
        x, DG_PRIO_MEDIUM, DG_KIND_PHYSIOLOGICAL, DG_ACTION_NONE, by_sys ? rise_sys : rise_dia,
        by_sys ? vr->bp_rise_sys_mmhg : vr->bp_rise_dia_mmhg, "mmHg",
        by_sys ? "vitals.blood_pressure.rise_sys_mmhg" : "vitals.blood_pressure.rise_dia_mmhg",
        msg);
    return dg_alert_set(x->c, x->b, "bp-rise", x->source, &f, x->now);
}

static bool above_high(const struct dg_vitals_rules *vr, double sys, double dia)
{
    return (vr->bp_high_sys_mmhg > 0 && sys > vr->bp_high_sys_mmhg) ||
           (vr->bp_high_dia_mmhg > 0 && dia > vr->bp_high_dia_mmhg);
}

/*
 * blood-pressure: one reading above severe -> high + severe action (stop);
 * a reading above high with an earlier one also above high no more than
 * high_window_min before it (corrected times: the readings may come from
 * different monitors) -> high + high action (pause).
 * A single reading above high but not severe raises nothing: it needs
 * confirming by a second reading (the monitor cycles again within minutes),
 * so a cuff artefact cannot pause an infusion.
 */
static int rule_blood_pressure(const struct sample_ctx *x, const struct dg_vitals_rules *vr,
                               double sys, double dia)
{
    const struct dg_bed *b = x->b;
    bool sev_sys = vr->bp_severe_sys_mmhg > 0 && sys > vr->bp_severe_sys_mmhg;
    bool sev_dia = vr->bp_severe_dia_mmhg > 0 && dia > vr->bp_severe_dia_mmhg;
    char msg[DG_TEXT_MAX];
    struct dg_finding f;
    if (sev_sys || sev_dia) {
        snprintf(msg, sizeof msg, "blood pressure %.0f/%.0f mmHg above severe limit %.0f/%.0f", sys,
                 dia, vr->bp_severe_sys_mmhg, vr->bp_severe_dia_mmhg);
        f = finding(x, DG_PRIO_HIGH, DG_KIND_PHYSIOLOGICAL, vr->bp_severe_action,
                    sev_sys ? sys : dia, sev_sys ? vr->bp_severe_sys_mmhg : vr->bp_severe_dia_mmhg,
                    "mmHg",
                    sev_sys ? "vitals.blood_pressure.severe_sys_mmhg"
                            : "vitals.blood_pressure.severe_dia_mmhg",
                    msg);
        return dg_alert_set(x->c, x->b, "blood-pressure", x->source, &f, x->now);
    }
    if (!above_high(vr, sys, dia))
        return dg_alert_set(x->c, x->b, "blood-pressure", x->source, NULL, x->now);

    /* b->nibp ends with this reading (core.c pushes it first): look for a
       strictly earlier one within the window, newest first. */
    const struct dg_nibp *prev = NULL;
    double window_ms = vr->bp_high_window_min * 60000.0;
    for (size_t i = b->n_nibp > 0 ? b->n_nibp - 1 : 0; i-- > 0;) {
        const struct dg_nibp *n = &b->nibp[i];
        if (n->clin_ms >= x->clin_ms) continue;
        if ((double)(x->clin_ms - n->clin_ms) > window_ms) break;
        if (above_high(vr, n->sys, n->dia)) {
            prev = n;
            break;
        }
    }
    if (!prev) return dg_alert_set(x->c, x->b, "blood-pressure", x->source, NULL, x->now);

    bool hi_sys = vr->bp_high_sys_mmhg > 0 && sys > vr->bp_high_sys_mmhg;
    snprintf(msg, sizeof msg,
             "blood pressure %.0f/%.0f mmHg above %.0f/%.0f on two readings %.1f min apart", sys,
             dia, vr->bp_high_sys_mmhg, vr->bp_high_dia_mmhg,
             (double)(x->clin_ms - prev->clin_ms) / 60000.0);
    f = finding(x, DG_PRIO_HIGH, DG_KIND_PHYSIOLOGICAL, vr->bp_high_action, hi_sys ? sys : dia,
                hi_sys ? vr->bp_high_sys_mmhg : vr->bp_high_dia_mmhg, "mmHg",
                hi_sys ? "vitals.blood_pressure.high_sys_mmhg"
                       : "vitals.blood_pressure.high_dia_mmhg",
                msg);
    return dg_alert_set(x->c, x->b, "blood-pressure", x->source, &f, x->now);
}

/* ------------------------------------------------------------ entry points */

/* True when a pump of the bed is about to start (programmed): then
   baseline-bp belongs to dg_rules_baseline(), not to the window's end. */
static bool pre_start(dg_core *c, const struct dg_bed *b)
{
    for (size_t i = 0; i < c->n_pumps; i++) {
        const struct dg_pump *p = &c->pumps[i];
        if (strcmp(p->bed_id, b->id) == 0 &&
            (p->state == DG_PUMP_PROGRAMMED || p->state == DG_PUMP_IDLE))
            return true;
    }
    return false;
}

/* Outside the infusion and its observation period: clear what is not
   latched (a latched interlock waits for its reset) and restart the
   condition delays. */
static int leave_window(dg_core *c, struct dg_monitor *m, struct dg_bed *b, struct dg_now now)
{
    m->hr_warn_since_ms = m->spo2_warn_since_ms = m->rr_warn_since_ms = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof vitals_families / sizeof vitals_families[0]; i++)
        rc = dg_alert_set(c, b, vitals_families[i], m->id, NULL, now);
    /* A baseline warning belongs to the infusion it preceded; it ends with
       its observation period. */
    if (rc == 0 && !pre_start(c, b) && !b->baseline_due_clin_ms)
        rc = dg_alert_set(c, b, "baseline-bp", b->id, NULL, now);
    return rc;
}

int dg_rules_vitals(dg_core *c, struct dg_monitor *m, struct dg_bed *b, const struct dg_vitals *v,
                    const struct dg_trust *tr, struct dg_now now)
{
    const struct dg_vitals_rules *vr = &c->lib->vitals;
    bool applies = b->n_running > 0 ||
                   (b->observe_until_clin_ms != 0 && tr->clin_ms <= b->observe_until_clin_ms);
    if (!applies) return leave_window(c, m, b, now);

    struct sample_ctx x = {
        .c = c,
        .b = b,
        .source = m->id,
        .patient_ref = b->patient_ref,
        .device_ms = v->device_time_ms,
        .clin_ms = tr->clin_ms,
        .jumped = tr->jump_ms != 0,
        .now = now,
    };
    int rc = rules_continuous(&x, vr, m, v);
    if (rc == 0 && usable(&v->systolic_mmhg) && usable(&v->diastolic_mmhg)) {
        double sys = v->systolic_mmhg.value, dia = v->diastolic_mmhg.value;
        rc = rule_bp_rise(&x, vr, sys, dia);
        if (rc == 0) rc = rule_blood_pressure(&x, vr, sys, dia);
    }
    return rc;
}

/* ------------------------------------------------------------ baseline */

/*
 * Judge reading n as the baseline of the start of pump_id (source: the
 * bed). No reading: the "no baseline" warning. Critical: high + the
 * library's action (stop: the session is refused), sent to pump_id.
 */
static int judge_baseline(dg_core *c, struct dg_bed *b, const struct dg_nibp *n, struct dg_pump *p,
                          const char *pump_id, const char *patient_ref, uint64_t device_ms,
                          struct dg_now now)
{
    const struct dg_vitals_rules *vr = &c->lib->vitals;
    struct sample_ctx x = {
        .c = c,
        .b = b,
        .source = b->id,
        .patient_ref = patient_ref,
        .device_ms = device_ms,
        .now = now,
    };
    char msg[DG_TEXT_MAX];
    struct dg_finding f;
    if (!n) {
        snprintf(msg, sizeof msg,
                 "infusion started without a blood pressure in the last %.0f min%s",
                 vr->baseline_max_age_min, vr->baseline_grace_min > 0 ? " or soon after" : "");
        f = finding(&x, DG_PRIO_MEDIUM, DG_KIND_TECHNICAL, DG_ACTION_NONE, 0,
                    vr->baseline_max_age_min, "min", "vitals.baseline.max_age_min", msg);
    } else {
        bool crit_sys = vr->baseline_crit_sys_mmhg > 0 && n->sys >= vr->baseline_crit_sys_mmhg;
        bool crit_dia = vr->baseline_crit_dia_mmhg > 0 && n->dia >= vr->baseline_crit_dia_mmhg;
        bool warn_sys = vr->baseline_warn_sys_mmhg > 0 && n->sys >= vr->baseline_warn_sys_mmhg;
        bool warn_dia = vr->baseline_warn_dia_mmhg > 0 && n->dia >= vr->baseline_warn_dia_mmhg;
        if (crit_sys || crit_dia) {
            snprintf(msg, sizeof msg,
                     "baseline blood pressure %.0f/%.0f mmHg at or above %.0f/%.0f: not started",
                     n->sys, n->dia, vr->baseline_crit_sys_mmhg, vr->baseline_crit_dia_mmhg);
            f = finding(
                &x, DG_PRIO_HIGH, DG_KIND_PHYSIOLOGICAL, vr->baseline_crit_action,
                crit_sys ? n->sys : n->dia,
                crit_sys ? vr->baseline_crit_sys_mmhg : vr->baseline_crit_dia_mmhg, "mmHg",
                crit_sys ? "vitals.baseline.crit_sys_mmhg" : "vitals.baseline.crit_dia_mmhg", msg);
            /* Stop on start: the session is refused before (or as) the drug
               flows. */
            if (p && vr->baseline_crit_action != DG_ACTION_NONE) p->refused = true;
        } else if (warn_sys || warn_dia) {
            snprintf(msg, sizeof msg,
                     "baseline blood pressure %.0f/%.0f mmHg at or above %.0f/%.0f", n->sys, n->dia,
                     vr->baseline_warn_sys_mmhg, vr->baseline_warn_dia_mmhg);
            f = finding(
                &x, DG_PRIO_MEDIUM, DG_KIND_PHYSIOLOGICAL, DG_ACTION_NONE,
                warn_sys ? n->sys : n->dia,
                warn_sys ? vr->baseline_warn_sys_mmhg : vr->baseline_warn_dia_mmhg, "mmHg",
                warn_sys ? "vitals.baseline.warn_sys_mmhg" : "vitals.baseline.warn_dia_mmhg", msg);
        } else {
            return dg_alert_set(c, b, "baseline-bp", b->id, NULL, now);
        }
    }
    f.pump_id = pump_id; /* the action goes to the pump about to start */
    return dg_alert_set(c, b, "baseline-bp", b->id, &f, now);
}

/*
 * baseline-bp. Called by the pump rules while a session is programmed and
 * when it starts running. Only the session's first start counts (p->started
 * was set by this very message): a resume after a pause keeps the baseline
 * taken before the drug first flowed, and calling again for the same start
 * changes nothing. A start without a reading waits baseline_grace_min
 * (gateway timeline) for one before it warns.
 */
int dg_rules_baseline(dg_core *c, struct dg_bed *b, struct dg_pump *p, const struct dg_telemetry *t,
                      uint64_t clin_ms, struct dg_now now)
{
    const struct dg_vitals_rules *vr = &c->lib->vitals;
    bool starting = t->state == DG_PUMP_RUNNING;
    if (starting && !(p->started && p->start_device_ms == t->device_time_ms)) return 0;
    if (!starting && t->state != DG_PUMP_PROGRAMMED) return 0;

    /* The latest NIBP, if no older than max_age_min before this message (a
       reading stamped after it counts: it was taken around the start). */
    const struct dg_nibp *n = b->n_nibp ? &b->nibp[b->n_nibp - 1] : NULL;
    double max_age_ms = vr->baseline_max_age_min * 60000.0;
    if (n && max_age_ms > 0 && n->clin_ms < clin_ms && (double)(clin_ms - n->clin_ms) > max_age_ms)
        n = NULL;
    if (starting) {
        b->have_baseline = n != NULL;
        if (n) b->baseline = *n;
        b->baseline_due_clin_ms = 0;
        if (!n && vr->baseline_grace_min > 0) {
            /* Wait for one: the first reading in the grace is the baseline. */
            b->baseline_due_clin_ms = clin_ms + (uint64_t)(vr->baseline_grace_min * 60000.0);
            dg_copy_str(b->baseline_pump, sizeof b->baseline_pump, p->id);
            dg_copy_str(b->baseline_session, sizeof b->baseline_session, t->session_id);
            dg_copy_str(b->baseline_patient, sizeof b->baseline_patient, t->patient_ref);
            return dg_alert_set(c, b, "baseline-bp", b->id, NULL, now);
        }
    } else if (!n) {
        /* While programmed there may still be time to take one: only a start
           without a baseline is an alert. */
        return dg_alert_set(c, b, "baseline-bp", b->id, NULL, now);
    }
    return judge_baseline(c, b, n, p, p->id, t->patient_ref, t->device_time_ms, now);
}

/* Is the pump whose start waits for a baseline on b still that start's
   pump: on this bed, in that session? NULL if not. */
static struct dg_pump *baseline_waiter(dg_core *c, const struct dg_bed *b)
{
    struct dg_pump *p = dg_pump_find(c, b->baseline_pump);
    if (!p || strcmp(p->bed_id, b->id) != 0 || strcmp(p->session_id, b->baseline_session) != 0)
        return NULL;
    return p;
}

int dg_rules_baseline_late(dg_core *c, struct dg_bed *b, const char *monitor_id, uint64_t device_ms,
                           struct dg_now now)
{
    (void)monitor_id;
    const struct dg_nibp *n = &b->nibp[b->n_nibp - 1];
    b->baseline_due_clin_ms = 0;
    struct dg_pump *p = baseline_waiter(c, b);
    if (!p) return 0; /* that start is over, or its pump has left the bed */
    b->have_baseline = true;
    b->baseline = *n;
    return judge_baseline(c, b, n, p, p->id, b->baseline_patient, device_ms, now);
}

int dg_rules_baseline_missing(dg_core *c, struct dg_bed *b, struct dg_now now)
{
    b->baseline_due_clin_ms = 0;
    struct dg_pump *p = baseline_waiter(c, b);
    if (!p) return 0;
    return judge_baseline(c, b, NULL, p, p->id, b->baseline_patient, 0, now);
}
