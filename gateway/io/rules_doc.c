/*
 * rules_doc.c — render the rules reference table (see rules_doc.h).
 *
 * One row per rule id, in the order of contract.md: drug-library rules,
 * vital-sign rules, liveness. Values come from the library and are printed
 * with %g (1.125, 1, 0.05), so a change in the file changes the table; a limit
 * of 0 (no such limit) prints as "off" and its action as "—". Everything
 * else in a row is fixed text here: the rule's meaning, priority and kind,
 * when it is evaluated, its library keys and its source. The sources are the
 * same as in the comments of gateway/etc/drug-library.yaml (contract.md's
 * source column).
 *
 * The "alert" column is the priority and kind the interlock core raises
 * (gateway/core/, contract.md "Messages"); "when" is pre-start (the first
 * telemetry of a session that is programmed or running, before any drug
 * flows), grace (vitals.baseline.grace_min after a start without a
 * baseline), running (while the pump reports running), observation (the
 * observation period after the infusion ends) or always.
 */
#include "rules_doc.h"

#include <stdarg.h>
#include <string.h>

#include "../core/error.h"

#define CELL 192 /* longest generated cell, with room to spare */

struct row {
    const char *id;
    const char *condition;
    char value[CELL]; /* default as shipped: from the library */
    const char *alert;
    char action[CELL]; /* from the library where it has an action key */
    const char *when;
    const char *keys;
    const char *source;
};

static const char *action_name(enum dg_alert_action a)
{
    switch (a) {
    case DG_ACTION_NONE:
        return "none";
    case DG_ACTION_PAUSE:
        return "pause";
    case DG_ACTION_STOP:
        return "stop";
    }
    return "?";
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
cell(char buf[CELL], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, CELL, fmt, ap);
    va_end(ap);
}

/*
 * The alert a rule raises. Tiers of one quantity (soft/hard, warning/
 * critical) are one alert condition, so the alert escalates and deescalates
 * rather than being replaced (gateway/core/alerts.c); AlertEvent.condition
 * and ActiveAlert.condition carry this name. Rules without an alert of their
 * own say "—".
 */
static const char *alert_condition(const char *id)
{
    static const char *const map[][2] = {
        {"rate-soft", "rate"},
        {"rate-hard", "rate"},
        {"dose-soft", "session-dose"},
        {"dose-hard", "session-dose"},
        {"concentration-soft", "concentration"},
        {"concentration-hard", "concentration"},
        {"programmed-dose-soft", "programmed-dose"},
        {"programmed-dose-hard", "programmed-dose"},
        {"sessions-7d", "sessions"},
        {"sessions-interval", "sessions"},
        {"baseline-bp-warn", "baseline-bp"},
        {"baseline-bp-missing", "baseline-bp"},
        {"baseline-bp-crit", "baseline-bp"},
        {"bp-high", "blood-pressure"},
        {"bp-severe", "blood-pressure"},
        {"hr-warn", "heart-rate"},
        {"hr-crit", "heart-rate"},
        {"spo2-warn", "spo2"},
        {"spo2-crit", "spo2"},
        {"rr-warn", "resp-rate"},
        {"rr-crit", "resp-rate"},
        {"command-not-honoured", "(escalates the alert that asked)"},
        {"observation", "—"},
        {"permit-to-infuse", "—"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], id) == 0) return map[i][1];
    return id;
}

static int put(FILE *out, const struct row *r)
{
    return fprintf(out, "| `%s` | %s | %s | %s | %s | %s | %s | %s | %s |\n", r->id,
                   alert_condition(r->id), r->condition, r->value, r->alert, r->action, r->when,
                   r->keys, r->source) < 0
               ? -DG_EIO
               : 0;
}

/* value and action of an upper limit: "> V unit" and the action, or off. */
static void upper(struct row *r, double v, const char *unit, const char *action)
{
    if (v > 0) {
        cell(r->value, "> %g %s", v, unit);
        cell(r->action, "%s", action);
    } else {
        cell(r->value, "off");
        cell(r->action, "—");
    }
}

/* The entry drug_id for any care area, else the first entry with that id. */
static const struct dg_drug *entry(const struct dg_druglib *lib, const char *drug_id)
{
    const struct dg_drug *d = dg_druglib_find(lib, drug_id, NULL);
    for (size_t i = 0; !d && i < lib->n_drugs; i++)
        if (strcmp(lib->drugs[i].id, drug_id) == 0) d = &lib->drugs[i];
    return d;
}

static int drug_rows(FILE *out, const struct dg_drug *d)
{
    struct row r;
    char on_start[CELL];
    int rc = 0;

    r = (struct row){"rate-soft",
                     "running rate above soft (mg/kg/h = mL/h × mg/mL ÷ kg)",
                     "",
                     "medium, physiological",
                     "",
                     "running",
                     "`drugs[].rate_mg_per_kg_h.soft`",
                     "derived: 0.75 mg/kg over 40 min (Andrade 2017's top dose)"};
    upper(&r, d->rate_mg_per_kg_h.soft, "mg/kg/h", "none");
    rc = rc ? rc : put(out, &r);

    r = (struct row){"rate-hard",
                     "running rate above hard",
                     "",
                     "high, physiological",
                     "",
                     "running",
                     "`drugs[].rate_mg_per_kg_h.hard`, `.hard_action`",
                     "derived: 1.0 mg/kg over 40 min (Fava 2018's highest arm)"};
    upper(&r, d->rate_mg_per_kg_h.hard, "mg/kg/h", action_name(d->rate_hard_action));
    rc = rc ? rc : put(out, &r);

    r = (struct row){"dose-soft",
                     "dose delivered this session (the larger of the pump's report and the "
                     "gateway's rate × time integration) above soft",
                     "",
                     "medium, physiological",
                     "",
                     "running",
                     "`drugs[].session_dose_mg_per_kg.soft`",
                     "Andrade 2017 (range 0.1–0.75 mg/kg)"};
    upper(&r, d->session_dose_mg_per_kg.soft, "mg/kg", "none");
    rc = rc ? rc : put(out, &r);

    r = (struct row){"dose-hard",
                     "dose delivered this session above hard",
                     "",
                     "high, physiological",
                     "",
                     "running",
                     "`drugs[].session_dose_mg_per_kg.hard`, `.hard_action`",
                     "Fava 2018 (highest arm 1.0 mg/kg/40 min)"};
    upper(&r, d->session_dose_mg_per_kg.hard, "mg/kg", action_name(d->session_dose_hard_action));
    rc = rc ? rc : put(out, &r);

    cell(on_start, "%s; a new session: stop on start", action_name(d->rolling_24h_hard_action));
    r = (struct row){"dose-24h",
                     "the patient's dose over the last 24 h, all sessions, above hard",
                     "",
                     "high, physiological",
                     "",
                     "pre-start, running",
                     "`drugs[].rolling_24h_dose_mg_per_kg.hard`, `.hard_action`",
                     "derived: a second session the same day must not slip past the session "
                     "ceiling"};
    upper(&r, d->rolling_24h_dose_mg_per_kg_hard, "mg/kg in 24 h", on_start);
    rc = rc ? rc : put(out, &r);

    r = (struct row){"bolus",
                     "any bolus (count or bolus dose > 0) when boluses are not allowed",
                     "",
                     "high, physiological",
                     "",
                     "running",
                     "`drugs[].bolus.allowed`, `.action`",
                     "no bolus in published TRD protocols"};
    if (d->bolus_allowed) {
        cell(r.value, "off (allowed)");
        cell(r.action, "—");
    } else {
        cell(r.value, "any bolus");
        cell(r.action, "%s", action_name(d->bolus_action));
    }
    rc = rc ? rc : put(out, &r);

    r = (struct row){"concentration-soft",
                     "programmed concentration outside soft_min–soft_max",
                     "",
                     "medium, physiological",
                     "none",
                     "pre-start, running",
                     "`drugs[].concentration_mg_per_ml.soft_min`, `.soft_max`",
                     "standard 1 mg/mL (CHEO, Alaris data sets)"};
    double lo = d->concentration_soft_min_mg_per_ml, hi = d->concentration_soft_max_mg_per_ml;
    if (lo > 0 && hi > 0)
        cell(r.value, "outside %g–%g mg/mL", lo, hi);
    else if (lo > 0)
        cell(r.value, "< %g mg/mL", lo);
    else if (hi > 0)
        cell(r.value, "> %g mg/mL", hi);
    else {
        cell(r.value, "off");
        cell(r.action, "—");
    }
    rc = rc ? rc : put(out, &r);

    cell(on_start, "%s", action_name(d->concentration_hard_action));
    r = (struct row){"concentration-hard",
                     "programmed concentration above hard_max",
                     "",
                     "high, physiological",
                     "",
                     "pre-start, running",
                     "`drugs[].concentration_mg_per_ml.hard_max`, `.hard_action`",
                     "100 mg/mL is never given IV undiluted (label)"};
    upper(&r, d->concentration_hard_max_mg_per_ml, "mg/mL", on_start);
    rc = rc ? rc : put(out, &r);

    r = (struct row){"weight",
                     "programmed patient weight missing or outside hard_min–hard_max",
                     "",
                     "high, physiological",
                     "stop on start",
                     "pre-start",
                     "`drugs[].weight_kg.hard_min`, `.hard_max`",
                     "IHE PIV rejects a missing or mismatched weight"};
    if (d->weight_hard_min_kg > 0 && d->weight_hard_max_kg > 0)
        cell(r.value, "missing, < %g or > %g kg", d->weight_hard_min_kg, d->weight_hard_max_kg);
    else if (d->weight_hard_min_kg > 0)
        cell(r.value, "missing or < %g kg", d->weight_hard_min_kg);
    else if (d->weight_hard_max_kg > 0)
        cell(r.value, "missing or > %g kg", d->weight_hard_max_kg);
    else
        cell(r.value, "missing");
    rc = rc ? rc : put(out, &r);

    r = (struct row){"weight-change",
                     "the patient weight is edited while the session is under way; the rate and "
                     "dose rules keep using the weight the session started with until a clinician "
                     "resets the alert",
                     "any change",
                     "high, technical",
                     "pause (latched)",
                     "running",
                     "—",
                     "contract.md \"Interlocks\": a program changed mid-session is checked again; "
                     "verification.md (program edited mid-session)"};
    rc = rc ? rc : put(out, &r);

    r = (struct row){"programmed-dose-soft",
                     "programmed session dose above soft",
                     "",
                     "medium, physiological",
                     "",
                     "pre-start",
                     "`drugs[].programmed_dose_mg_per_kg.soft`",
                     "as session dose (Andrade 2017), checked before any drug flows"};
    upper(&r, d->programmed_dose_mg_per_kg.soft, "mg/kg", "none");
    rc = rc ? rc : put(out, &r);

    r = (struct row){"programmed-dose-hard",
                     "programmed session dose above hard",
                     "",
                     "high, physiological",
                     "",
                     "pre-start",
                     "`drugs[].programmed_dose_mg_per_kg.hard`",
                     "as session dose (Fava 2018), checked before any drug flows"};
    upper(&r, d->programmed_dose_mg_per_kg.hard, "mg/kg", "stop on start");
    rc = rc ? rc : put(out, &r);

    r = (struct row){"unknown-drug",
                     "the program's drug code has no entry for its care area, nor one for any "
                     "area",
                     "any code not in the library",
                     "high, technical",
                     "stop on start",
                     "pre-start",
                     "`drugs[].id`, `drugs[].care_area`",
                     "IHE PIV (program verification); verification.md"};
    rc = rc ? rc : put(out, &r);

    r = (struct row){
        "no-program", "a running pump reports no program, so no drug rule can be checked",
        "always",     "high, technical",
        "stop",       "running",
        "—",          "IHE PIV: a program that cannot be verified is rejected"};
    rc = rc ? rc : put(out, &r);

    r = (struct row){"sessions-7d",
                     "more sessions started in the last 7 days than max_per_7d, this one included",
                     "",
                     "medium, advisory",
                     "",
                     "pre-start",
                     "`drugs[].sessions.max_per_7d`",
                     "Murrough 2013, Singh 2016 (2–3 sessions a week)"};
    if (d->sessions_max_per_7d > 0) {
        cell(r.value, "> %d in 7 days", d->sessions_max_per_7d);
        cell(r.action, "none");
    } else {
        cell(r.value, "off");
        cell(r.action, "—");
    }
    rc = rc ? rc : put(out, &r);

    r = (struct row){"sessions-interval",
                     "fewer than min_hours_between hours since the patient's last session "
                     "started",
                     "",
                     "medium, advisory",
                     "",
                     "pre-start",
                     "`drugs[].sessions.min_hours_between`",
                     "Murrough 2013, Singh 2016 (2–3 sessions a week)"};
    if (d->sessions_min_hours_between > 0) {
        cell(r.value, "< %g h", d->sessions_min_hours_between);
        cell(r.action, "none");
    } else {
        cell(r.value, "off");
        cell(r.action, "—");
    }
    rc = rc ? rc : put(out, &r);
    return rc;
}

static int vitals_rows(FILE *out, const struct dg_vitals_rules *v)
{
    struct row r;
    int rc = 0;
#define DURING "running, observation"

#define BASELINE      "latest NIBP before start (without one, the first within the grace after it)"
#define BASELINE_WHEN "pre-start, grace"
    r = (struct row){"baseline-bp-warn",
                     BASELINE " at or above warn (either value)",
                     "",
                     "medium, physiological",
                     "none",
                     BASELINE_WHEN,
                     "`vitals.baseline.warn_sys_mmhg`, `.warn_dia_mmhg`, `.grace_min`",
                     "Spravato label advisory"};
    cell(r.value, "≥ %g/%g mmHg", v->baseline_warn_sys_mmhg, v->baseline_warn_dia_mmhg);
    rc = rc ? rc : put(out, &r);

    r = (struct row){"baseline-bp-missing",
                     "no NIBP reading recent enough before start, nor one within the grace after "
                     "it (raised when the grace ends; a grace of 0 judges at the start only)",
                     "",
                     "medium, technical",
                     "none",
                     BASELINE_WHEN,
                     "`vitals.baseline.max_age_min`, `.grace_min`",
                     "Spravato label (blood pressure before dosing); grace: a BP cycle takes "
                     "30–60 s, a cuff started at the start reads within 2 min"};
    if (v->baseline_grace_min > 0)
        cell(r.value, "none in the last %g min, nor in %g min after the start",
             v->baseline_max_age_min, v->baseline_grace_min);
    else
        cell(r.value, "none in the last %g min", v->baseline_max_age_min);
    rc = rc ? rc : put(out, &r);

    r = (struct row){"baseline-bp-crit",
                     BASELINE " at or above crit (either value)",
                     "",
                     "high, physiological",
                     "",
                     BASELINE_WHEN,
                     "`vitals.baseline.crit_sys_mmhg`, `.crit_dia_mmhg`, `.crit_action`, "
                     "`.grace_min`",
                     "ICU trial exclusion SBP > 180"};
    cell(r.value, "≥ %g/%g mmHg", v->baseline_crit_sys_mmhg, v->baseline_crit_dia_mmhg);
    if (v->baseline_crit_action == DG_ACTION_NONE)
        cell(r.action, "none");
    else
        cell(r.action, "%s on start", action_name(v->baseline_crit_action));
    rc = rc ? rc : put(out, &r);
#undef BASELINE
#undef BASELINE_WHEN

    r = (struct row){"bp-rise",
                     "SBP or DBP rise over the baseline at or above rise (a warning)",
                     "",
                     "medium, physiological",
                     "none",
                     DURING,
                     "`vitals.blood_pressure.rise_sys_mmhg`, `.rise_dia_mmhg`",
                     "Spravato label; Del Sant 2020"};
    cell(r.value, "SBP +%g or DBP +%g mmHg", v->bp_rise_sys_mmhg, v->bp_rise_dia_mmhg);
    rc = rc ? rc : put(out, &r);

    r = (struct row){"bp-high",
                     "NIBP above high (either value) on two readings within the window",
                     "",
                     "high, physiological",
                     "",
                     DURING,
                     "`vitals.blood_pressure.high_sys_mmhg`, `.high_dia_mmhg`, "
                     "`.high_window_min`, `.high_action`",
                     "Spravato label; Del Sant 2020; clinic protocols"};
    cell(r.value, "> %g/%g mmHg twice within %g min", v->bp_high_sys_mmhg, v->bp_high_dia_mmhg,
         v->bp_high_window_min);
    cell(r.action, "%s", action_name(v->bp_high_action));
    rc = rc ? rc : put(out, &r);

    r = (struct row){"bp-severe",
                     "one NIBP reading above severe (either value)",
                     "",
                     "high, physiological",
                     "",
                     DURING,
                     "`vitals.blood_pressure.severe_sys_mmhg`, `.severe_dia_mmhg`, "
                     "`.severe_action`",
                     "clinic protocols"};
    cell(r.value, "> %g/%g mmHg once", v->bp_severe_sys_mmhg, v->bp_severe_dia_mmhg);
    cell(r.action, "%s", action_name(v->bp_severe_action));
    rc = rc ? rc : put(out, &r);

    r = (struct row){"hr-warn",
                     "heart rate below warn_low or above warn_high, sustained",
                     "",
                     "medium, physiological",
                     "none",
                     DURING,
                     "`vitals.heart_rate.warn_low_bpm`, `.warn_high_bpm`, `.warn_delay_s`",
                     "ICU trial criteria; OpenICE warning 40–140"};
    cell(r.value, "< %g or > %g bpm for %g s", v->hr_warn_low_bpm, v->hr_warn_high_bpm,
         v->hr_warn_delay_s);
    rc = rc ? rc : put(out, &r);

    r = (struct row){"hr-crit",
                     "heart rate at or below crit_low, or at or above crit_high",
                     "",
                     "high, physiological",
                     "",
                     DURING,
                     "`vitals.heart_rate.crit_low_bpm`, `.crit_high_bpm`, `.crit_action`",
                     "ICU trial criteria; OpenICE critical 20–160"};
    cell(r.value, "≤ %g or ≥ %g bpm", v->hr_crit_low_bpm, v->hr_crit_high_bpm);
    cell(r.action, "%s", action_name(v->hr_crit_action));
    rc = rc ? rc : put(out, &r);

    r = (struct row){"spo2-warn",
                     "SpO2 at or below warn, sustained",
                     "",
                     "medium, physiological",
                     "none",
                     DURING,
                     "`vitals.spo2.warn_pct`, `.warn_delay_s`",
                     "OpenICE (warn ≤ 90); a 15 s delay cuts nuisance alarms by 60 %"};
    cell(r.value, "≤ %g %% for %g s", v->spo2_warn_pct, v->spo2_warn_delay_s);
    rc = rc ? rc : put(out, &r);

    r = (struct row){"spo2-crit",
                     "SpO2 at or below crit",
                     "",
                     "high, physiological",
                     "",
                     DURING,
                     "`vitals.spo2.crit_pct`, `.crit_action`",
                     "OpenICE"};
    cell(r.value, "≤ %g %%", v->spo2_crit_pct);
    cell(r.action, "%s", action_name(v->spo2_crit_action));
    rc = rc ? rc : put(out, &r);

    r = (struct row){"rr-warn",
                     "respiratory rate below warn_low or above warn_high, sustained",
                     "",
                     "medium, physiological",
                     "none",
                     DURING,
                     "`vitals.resp_rate.warn_low_bpm`, `.warn_high_bpm`, `.warn_delay_s`",
                     "OpenICE 10–16 warn; ICU trial 10–30"};
    cell(r.value, "< %g or > %g /min for %g s", v->rr_warn_low_bpm, v->rr_warn_high_bpm,
         v->rr_warn_delay_s);
    rc = rc ? rc : put(out, &r);

    r = (struct row){"rr-crit",
                     "respiratory rate at or below crit_low",
                     "",
                     "high, physiological",
                     "",
                     DURING,
                     "`vitals.resp_rate.crit_low_bpm`, `.crit_action`",
                     "OpenICE; ICU trial"};
    cell(r.value, "≤ %g /min", v->rr_crit_low_bpm);
    cell(r.action, "%s", action_name(v->rr_crit_action));
    rc = rc ? rc : put(out, &r);

    r = (struct row){"two-warnings",
                     "two or more warnings (medium physiological alerts, or vitals-silent) "
                     "active at once on one bed",
                     "",
                     "high, physiological",
                     "",
                     DURING,
                     "`vitals.two_warnings_action`",
                     "OpenICE \"two warnings become an alarm\""};
    if (v->two_warnings_action == DG_ACTION_NONE) {
        cell(r.value, "off");
        cell(r.action, "—");
    } else {
        cell(r.value, "2 warnings");
        cell(r.action, "%s", action_name(v->two_warnings_action));
    }
    rc = rc ? rc : put(out, &r);

    r = (struct row){"observation",
                     "after an infusion ends, the vital-sign rules keep applying this long (no "
                     "alert of its own)",
                     "",
                     "—",
                     "—",
                     "observation",
                     "`vitals.observation_min`",
                     "product.md: patients are \"watched for 1–2 hours after\""};
    cell(r.value, "%g min", v->observation_min);
    rc = rc ? rc : put(out, &r);
#undef DURING
    return rc;
}

static int liveness_rows(FILE *out, const struct dg_liveness *l)
{
    struct row r;
    int rc = 0;

    r = (struct row){"vitals-silent",
                     "no continuous vitals (HR, SpO2) from a monitor of a bed where a pump runs "
                     "(per monitor; the bed is the source when no monitor reports it); the "
                     "medium alert counts as a warning",
                     "",
                     "medium → high, technical",
                     "none",
                     "running",
                     "`liveness.vitals_silent_warn_s`, `.vitals_silent_crit_s`",
                     "OpenICE 5 s lease, \"no source\" is a warning"};
    cell(r.value, "> %g s medium, > %g s high", l->vitals_silent_warn_s, l->vitals_silent_crit_s);
    rc = rc ? rc : put(out, &r);

    r = (struct row){"nibp-stale",
                     "the latest NIBP reading is older than this while running",
                     "",
                     "low, technical",
                     "none",
                     "running",
                     "`liveness.nibp_stale_min`",
                     "BP cycles every 5–10 min in published series"};
    cell(r.value, "> %g min", l->nibp_stale_min);
    rc = rc ? rc : put(out, &r);

    r = (struct row){"pump-silent",
                     "no telemetry from a pump whose last state was running",
                     "",
                     "medium → high, technical",
                     "none",
                     "running",
                     "`liveness.pump_silent_warn_s`, `.pump_silent_crit_s`",
                     "OpenICE lease; IPEC communication status"};
    cell(r.value, "> %g s medium, > %g s high", l->pump_silent_warn_s, l->pump_silent_crit_s);
    rc = rc ? rc : put(out, &r);

    r = (struct row){"command-not-honoured",
                     "the pump still reports running after a pause or stop the gateway sent",
                     "",
                     "high, technical",
                     "escalate the alert that asked",
                     "running",
                     "`liveness.command_timeout_s`",
                     "OpenICE stop-and-confirm"};
    cell(r.value, "%g s after the command", l->command_timeout_s);
    rc = rc ? rc : put(out, &r);

    r = (struct row){"dose-mismatch",
                     "the pump's reported dose and the gateway's rate × time integration differ "
                     "by more than both the relative and the absolute margin",
                     "",
                     "medium, technical",
                     "none",
                     "running",
                     "`liveness.dose_mismatch_rel_pct`, `.dose_mismatch_abs_mg_per_kg`",
                     "independent check of the pump"};
    cell(r.value, "> %g %% and > %g mg/kg", l->dose_mismatch_rel_pct,
         l->dose_mismatch_abs_mg_per_kg);
    rc = rc ? rc : put(out, &r);

    r = (struct row){"clock-skew",
                     "a device's clock is this far from the gateway's (with "
                     "`gateway.device_time_scale` > 1, only its first message is judged)",
                     "",
                     "low, advisory",
                     "none",
                     "always",
                     "`liveness.clock_skew_s`; site: `gateway.device_time_scale`",
                     "contract.md \"Time\""};
    cell(r.value, "> %g s", l->clock_skew_s);
    rc = rc ? rc : put(out, &r);

    r = (struct row){"clock-jump",
                     "a device's time steps forward more than scale × (gateway time between the "
                     "two receipts + tolerance), or backwards more than scale × tolerance "
                     "(scale: `gateway.device_time_scale`); the step adds no dose and satisfies "
                     "no condition delay",
                     "",
                     "low, advisory",
                     "none",
                     "always",
                     "`liveness.clock_jump_tolerance_s`, `.data_quality_clear_s`; site: "
                     "`gateway.device_time_scale`",
                     "contract.md \"Time\": a device time that jumps forward further than the "
                     "gateway's own elapsed time allows"};
    cell(r.value,
         "forward > scale × (gateway time + %g s), backward > scale × %g s; clears after %g s "
         "quiet",
         l->clock_jump_tolerance_s, l->clock_jump_tolerance_s, l->data_quality_clear_s);
    rc = rc ? rc : put(out, &r);

    r = (struct row){"seq-gap",
                     "a device's sequence number skips messages within one incarnation; every gap "
                     "is counted and audited, one of at least this many missing messages also "
                     "raises the advisory",
                     "",
                     "low, advisory",
                     "",
                     "always",
                     "`liveness.seq_gap_advisory_missing`, `.data_quality_clear_s`",
                     "Sparkplug B sequence numbers and gap detection"};
    if (l->seq_gap_advisory_missing > 0) {
        cell(r.value, "≥ %g messages missing; clears after %g s quiet", l->seq_gap_advisory_missing,
             l->data_quality_clear_s);
        cell(r.action, "none");
    } else {
        cell(r.value, "off (every gap still counted and audited)");
        cell(r.action, "—");
    }
    rc = rc ? rc : put(out, &r);

    r = (struct row){"permit-to-infuse",
                     "when the site sets `gateway.permit_to_infuse`: a permit to each running "
                     "pump; a pump that stops hearing it pauses itself (no alert of its own)",
                     "",
                     "—",
                     "the pump pauses itself",
                     "running",
                     "`liveness.permit_period_s`, `.permit_valid_s`; site: "
                     "`gateway.permit_to_infuse`",
                     "contract.md \"Interlocks\": the fail-safe when the gateway or network dies"};
    cell(r.value, "every %g s, valid %g s", l->permit_period_s, l->permit_valid_s);
    rc = rc ? rc : put(out, &r);
    return rc;
}

int dg_rules_doc_write(FILE *out, const struct dg_druglib *lib, const char *drug_id)
{
    if (!out || !lib || !drug_id) return -DG_EINVAL;
    const struct dg_drug *d = entry(lib, drug_id);
    if (!d) return -DG_EINVAL;

    if (fprintf(out,
                "Drug rules show the `%s` entry; vital-sign and liveness rules apply to every "
                "bed. Library `%s` version `%s`.\n\n"
                "| rule id | alert condition | condition | default | alert | action | when | "
                "library keys | "
                "source |\n"
                "|---|---|---|---|---|---|---|---|---|\n",
                d->id, lib->id, lib->version) < 0)
        return -DG_EIO;
    int rc = drug_rows(out, d);
    if (rc == 0) rc = vitals_rows(out, &lib->vitals);
    if (rc == 0) rc = liveness_rows(out, &lib->liveness);
    if (rc == 0 && (fflush(out) != 0 || ferror(out))) rc = -DG_EIO;
    return rc;
}
