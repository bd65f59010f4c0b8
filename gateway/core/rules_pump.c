/*
 * rules_pump.c — drug-library rules evaluated on pump telemetry.
 *
 * Every rule is an alert family: one condition per rule, identified by
 * (bed, condition, pump id), whose tiers (medium, then high) move one alert
 * through raise/escalate/deescalate/clear in dg_alert_set(). What a family
 * looks at depends on where the pump's session is:
 *
 *   pre-start  the pump reports PROGRAMMED, or this message is the one that
 *              says RUNNING after a message that did not (a start or a
 *              resume), or the program changed during the session (drug,
 *              care area, concentration, programmed dose or weight: a
 *              re-check, judged like a new program). programmed-dose,
 *              weight, concentration,
 *              unknown-drug, no-program, dose-24h (prior sessions plus the
 *              programmed dose), sessions and the baseline blood pressure
 *              (rules_vitals.c) are judged here. Their hard tiers stop the
 *              pump before any drug flows: "stop on start", which also sets
 *              p->refused.
 *   running    RUNNING: rate, session-dose, dose-24h (prior sessions plus the
 *              dose delivered), bolus, dose-mismatch; concentration keeps
 *              being judged.
 *   after      the session has run and the pump now reports PAUSED, STOPPED,
 *              COMPLETE or a pump alarm: the dose given stays given, so
 *              session-dose, dose-24h, bolus and dose-mismatch are still
 *              judged; rate clears; programmed-dose, weight, concentration
 *              and sessions keep the state they had when the pump started.
 *   always     (but over) unknown-drug and no-program: a program that cannot
 *              be checked is stopped whatever the pump is doing.
 *   over       IDLE, or stopped/paused before ever running (a refused
 *              session): every family is told the condition no longer holds.
 *              A new session on the pump does the same before it is judged,
 *              so one session's alerts never become the next one's updates.
 *
 * weight-change: a patient weight edited once the session has run. The
 * weight belongs to the patient and the dose already given was computed for
 * the old one, so a mid-infusion edit is a typo or the wrong patient: high
 * technical, pause. The rate and dose rules keep using the weight the
 * session started with (dg_pump_weight_kg) until a clinician resets the
 * alert; the reset adopts the program's weight and re-checks it.
 *
 * A latched alert (one whose pause or stop went out) ignores all of this
 * until a clinician resets it (alerts.c), and holds its pump meanwhile.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "internal.h"

#define DAY_MS  86400000.0
#define HOUR_MS 3600000.0

/* One telemetry message being judged. */
struct eval {
    dg_core *c;
    struct dg_pump *p;
    struct dg_bed *b;
    const struct dg_telemetry *t;
    const struct dg_drug *d; /* NULL: no program, or no library entry for it */
    const struct dg_trust *tr;
    struct dg_now now;
    double weight_kg;  /* what the rate and dose rules divide by (0 = none) */
    bool running;      /* the pump reports RUNNING */
    bool starting;     /* ... and the previous message of this session did not */
    bool prestart;     /* PROGRAMMED, or starting, or a re-check */
    bool recheck;      /* the program changed during the session */
    bool live;         /* the session has run and the pump still reports it */
    uint64_t cmd_mark; /* c->next_command when the message arrived */
    int rc;            /* the first error */
};

/* Every condition this file reports, for the "over" and new-session clear. */
static const char *const families[] = {
    "rate",          "session-dose",  "dose-24h",        "bolus",
    "dose-mismatch", "concentration", "programmed-dose", "weight",
    "unknown-drug",  "no-program",    "sessions",        "weight-change",
};

static void keep_error(struct eval *x, int rc)
{
    if (rc != 0 && x->rc == 0) x->rc = rc;
}

/* A finding of this file: the pump is the source and the target. */
static struct dg_finding finding(const struct eval *x, enum dg_alert_kind kind,
                                 enum dg_priority prio, enum dg_alert_action action, double value,
                                 double limit, const char *unit, const char *limit_source,
                                 const char *message)
{
    struct dg_finding f = {
        .kind = kind,
        .priority = prio,
        .action = action,
        .value = value,
        .limit = limit,
        .unit = unit,
        .limit_source = limit_source,
        .message = message,
        .pump_id = x->p->id,
        .patient_ref = x->t->patient_ref,
        .device_time_ms = x->t->device_time_ms,
    };
    return f;
}

/* "<drug id>.<library key path>" */
static const char *key(const struct eval *x, char *buf, size_t n, const char *path)
{
    snprintf(buf, n, "%s.%s", x->d->id, path);
    return buf;
}

static void set(struct eval *x, const char *condition, const struct dg_finding *f)
{
    keep_error(x, dg_alert_set(x->c, x->b, condition, x->p->id, f, x->now));
}

/* A pause or stop at least as strong as want went to this pump while this
   message was being judged. */
static bool requested_now(const struct eval *x, enum dg_command_action want)
{
    return x->c->next_command != x->cmd_mark && x->p->pending.active &&
           x->p->pending.action >= want;
}

/*
 * A pre-start finding: its action refuses the session (stop on start).
 * dg_alert_set() requests the action when the alert is raised or escalated;
 * an alert still latched from an earlier session of this pump (or from
 * before a resume) asks nothing, so the request is repeated here once per
 * session and again on each start, unless a command as strong already went
 * to the pump for this message.
 */
static void set_prestart(struct eval *x, const char *condition, const struct dg_finding *f)
{
    uint64_t before = x->c->next_command;
    set(x, condition, f);
    if (!f || f->action == DG_ACTION_NONE || !x->prestart) return;
    enum dg_command_action want = f->action == DG_ACTION_STOP ? DG_CMD_STOP : DG_CMD_PAUSE;
    if (x->c->next_command == before && (!x->p->refused || x->starting) &&
        !requested_now(x, want)) {
        struct dg_alert *a = dg_alert_find(x->b, condition, x->p->id);
        if (a && a->latched) {
            char reason[DG_TEXT_MAX];
            snprintf(reason, sizeof reason, "%s: %s", condition, f->message);
            x->p->permit_withheld = true;
            dg_command_send(x->c, x->p, want, a, reason, x->now, 0);
        }
    }
    x->p->refused = true;
}

/* ------------------------------------------------------------ history */

/* The patient's other sessions, seen from this message's corrected time
   (every pump's clock on the gateway's timeline, trust.c). A session counts
   in a window when it started no longer ago than the window (a start after
   this message's time counts too). */
struct history {
    double dose_24h_mg_per_kg; /* sum over sessions started in the last 24 h */
    int n_7d;                  /* sessions started in the last 7 days */
    bool have_last;
    double hours_since_last; /* since the latest start */
};

static void patient_history(const dg_core *c, const struct dg_telemetry *t, uint64_t clin_ms,
                            struct history *h)
{
    memset(h, 0, sizeof *h);
    if (!t->patient_ref[0]) return;
    const struct dg_patient *pt = dg_patient_find(c, t->patient_ref);
    if (!pt) return;
    for (size_t i = 0; i < pt->n_sessions; i++) {
        const struct dg_session_rec *r = &pt->sessions[i];
        if (strcmp(r->session_id, t->session_id) == 0) continue;
        double age_ms = (double)clin_ms - (double)r->start_clin_ms;
        if (age_ms <= DAY_MS) h->dose_24h_mg_per_kg += r->dose_mg_per_kg;
        if (age_ms <= 7 * DAY_MS) h->n_7d++;
        double hours = age_ms > 0 ? age_ms / HOUR_MS : 0;
        if (!h->have_last || hours < h->hours_since_last) h->hours_since_last = hours;
        h->have_last = true;
    }
}

/* ------------------------------------------------------------ pre-start */

/* no-program: RUNNING or PROGRAMMED without a program: no drug rule can be
   checked, so the pump is stopped. */
static void rule_no_program(struct eval *x)
{
    const struct dg_telemetry *t = x->t;
    if (t->has_program || !(x->running || t->state == DG_PUMP_PROGRAMMED)) {
        set(x, "no-program", NULL);
        return;
    }
    char msg[DG_TEXT_MAX];
    snprintf(msg, sizeof msg, "pump %s reports %s without a program: no drug rule can be checked",
             x->p->id, x->running ? "running" : "programmed");
    struct dg_finding f =
        finding(x, DG_KIND_TECHNICAL, DG_PRIO_HIGH, DG_ACTION_STOP, 0, 0, "", "", msg);
    set_prestart(x, "no-program", &f);
}

/* unknown-drug: a program whose (drug code, care area) has no library
   entry, so no limit can be checked: high technical, stop (on start). */
static void rule_unknown_drug(struct eval *x)
{
    const struct dg_telemetry *t = x->t;
    if (!t->has_program || x->d) {
        set(x, "unknown-drug", NULL);
        return;
    }
    char msg[DG_TEXT_MAX], src[DG_ID_MAX * 2];
    snprintf(msg, sizeof msg, "no drug-library entry for drug '%s' in care area '%s'",
             t->program.drug_code, t->program.care_area);
    snprintf(src, sizeof src, "%s.drugs", x->c->lib->id);
    struct dg_finding f =
        finding(x, DG_KIND_TECHNICAL, DG_PRIO_HIGH, DG_ACTION_STOP, 0, 0, "", src, msg);
    set_prestart(x, "unknown-drug", &f);
}

/* programmed-dose: > soft medium; > hard high, stop on start. */
static void rule_programmed_dose(struct eval *x)
{
    if (!x->prestart) return;
    const struct dg_limit *lim = &x->d->programmed_dose_mg_per_kg;
    double dose = x->t->program.dose_mg_per_kg;
    bool hard = lim->hard > 0 && dose > lim->hard;
    bool soft = !hard && lim->soft > 0 && dose > lim->soft;
    if (!hard && !soft) {
        set_prestart(x, "programmed-dose", NULL);
        return;
    }
    double limit = hard ? lim->hard : lim->soft;
    char src[DG_ID_MAX * 2], msg[DG_TEXT_MAX];
    snprintf(msg, sizeof msg, "programmed dose %.3f mg/kg above %s limit %.3f mg/kg%s", dose,
             hard ? "hard" : "soft", limit, hard ? ": session refused" : "");
    struct dg_finding f =
        finding(x, DG_KIND_PHYSIOLOGICAL, hard ? DG_PRIO_HIGH : DG_PRIO_MEDIUM,
                hard ? DG_ACTION_STOP : DG_ACTION_NONE, dose, limit, "mg/kg",
                key(x, src, sizeof src,
                    hard ? "programmed_dose_mg_per_kg.hard" : "programmed_dose_mg_per_kg.soft"),
                msg);
    set_prestart(x, "programmed-dose", &f);
}

/* weight: missing, < hard_min or > hard_max: high, stop on start. */
static void rule_weight(struct eval *x)
{
    if (!x->prestart) return;
    const struct dg_drug *d = x->d;
    double w = x->t->program.patient_weight_kg;
    bool missing = !(w > 0);
    bool low = !missing && d->weight_hard_min_kg > 0 && w < d->weight_hard_min_kg;
    bool high = !missing && d->weight_hard_max_kg > 0 && w > d->weight_hard_max_kg;
    if (!missing && !low && !high) {
        set_prestart(x, "weight", NULL);
        return;
    }
    double limit = high ? d->weight_hard_max_kg : d->weight_hard_min_kg;
    char src[DG_ID_MAX * 2], msg[DG_TEXT_MAX];
    if (missing)
        snprintf(msg, sizeof msg, "patient weight missing from the program: session refused");
    else
        snprintf(msg, sizeof msg, "patient weight %.1f kg %s hard %s %.1f kg: session refused", w,
                 high ? "above" : "below", high ? "maximum" : "minimum", limit);
    struct dg_finding f = finding(
        x, DG_KIND_PHYSIOLOGICAL, DG_PRIO_HIGH, DG_ACTION_STOP, missing ? 0 : w, limit, "kg",
        key(x, src, sizeof src, high ? "weight_kg.hard_max" : "weight_kg.hard_min"), msg);
    set_prestart(x, "weight", &f);
}

/* concentration: outside [soft_min, soft_max] medium; > hard_max high +
   the entry's action. Judged before start and while running. */
static void rule_concentration(struct eval *x)
{
    if (!x->prestart && !x->running) return;
    const struct dg_drug *d = x->d;
    double conc = x->t->program.concentration_mg_per_ml;
    bool hard =
        d->concentration_hard_max_mg_per_ml > 0 && conc > d->concentration_hard_max_mg_per_ml;
    bool above = !hard && d->concentration_soft_max_mg_per_ml > 0 &&
                 conc > d->concentration_soft_max_mg_per_ml;
    bool below =
        d->concentration_soft_min_mg_per_ml > 0 && conc < d->concentration_soft_min_mg_per_ml;
    if (!hard && !above && !below) {
        set_prestart(x, "concentration", NULL);
        return;
    }
    const char *path = hard    ? "concentration_mg_per_ml.hard_max"
                       : above ? "concentration_mg_per_ml.soft_max"
                               : "concentration_mg_per_ml.soft_min";
    double limit = hard    ? d->concentration_hard_max_mg_per_ml
                   : above ? d->concentration_soft_max_mg_per_ml
                           : d->concentration_soft_min_mg_per_ml;
    char src[DG_ID_MAX * 2], msg[DG_TEXT_MAX];
    snprintf(msg, sizeof msg, "concentration %.2f mg/mL %s %s limit %.2f mg/mL", conc,
             below ? "below" : "above", hard ? "hard" : "soft", limit);
    struct dg_finding f = finding(x, DG_KIND_PHYSIOLOGICAL, hard ? DG_PRIO_HIGH : DG_PRIO_MEDIUM,
                                  hard ? d->concentration_hard_action : DG_ACTION_NONE, conc, limit,
                                  "mg/mL", key(x, src, sizeof src, path), msg);
    if (x->prestart)
        set_prestart(x, "concentration", &f);
    else
        set(x, "concentration", &f);
}

/* sessions: more than max_per_7d sessions in 7 days (this one included), or
   fewer than min_hours_between hours since the latest other session
   started: medium advisory, no action. Judged before start. */
static void rule_sessions(struct eval *x, const struct history *h)
{
    if (!x->prestart) return;
    const struct dg_drug *d = x->d;
    int n = h->n_7d + 1;
    bool too_many = d->sessions_max_per_7d > 0 && n > d->sessions_max_per_7d;
    bool too_soon = d->sessions_min_hours_between > 0 && h->have_last &&
                    h->hours_since_last < d->sessions_min_hours_between;
    if (!too_many && !too_soon) {
        set(x, "sessions", NULL);
        return;
    }
    char src[DG_ID_MAX * 2], msg[DG_TEXT_MAX];
    char many[80] = "", soon[80] = "";
    if (too_many)
        snprintf(many, sizeof many, "%d sessions in 7 days (limit %d)", n, d->sessions_max_per_7d);
    if (too_soon)
        snprintf(soon, sizeof soon, "%.1f h since the last session started (minimum %.1f h)",
                 h->hours_since_last, d->sessions_min_hours_between);
    snprintf(msg, sizeof msg, "%s%s%s", many, too_many && too_soon ? "; " : "", soon);
    struct dg_finding f = too_many
                              ? finding(x, DG_KIND_ADVISORY, DG_PRIO_MEDIUM, DG_ACTION_NONE, n,
                                        d->sessions_max_per_7d, "sessions",
                                        key(x, src, sizeof src, "sessions.max_per_7d"), msg)
                              : finding(x, DG_KIND_ADVISORY, DG_PRIO_MEDIUM, DG_ACTION_NONE,
                                        h->hours_since_last, d->sessions_min_hours_between, "h",
                                        key(x, src, sizeof src, "sessions.min_hours_between"), msg);
    set(x, "sessions", &f);
}

/* ------------------------------------------------------------ dose */

/* dose-24h: the patient's other sessions started in the last 24 h plus
   this one > hard. Before start "this one" is the programmed dose and the
   session is refused (stop on start); once it has run it is the dose
   delivered, and the entry's action applies. With no earlier dose in the
   window the 24 h dose is this session's own: when the session's own hard
   tier (programmed-dose before start, session-dose after) already says so,
   dose-24h stays quiet rather than raise a second alert and stop for the
   same milligrams. */
static void rule_dose_24h(struct eval *x, const struct history *h)
{
    const struct dg_drug *d = x->d;
    double hard = d->rolling_24h_dose_mg_per_kg_hard;
    double w = x->weight_kg;
    double prog = x->t->program.dose_mg_per_kg;
    double session = x->live && w > 0 ? dg_pump_session_dose_mg(x->p, x->t) / w : 0;
    double planned = h->dose_24h_mg_per_kg + prog;
    double given = h->dose_24h_mg_per_kg + session;
    bool alone = !(h->dose_24h_mg_per_kg > 0);
    const struct dg_limit *pl = &d->programmed_dose_mg_per_kg, *sl = &d->session_dose_mg_per_kg;
    bool refuse =
        hard > 0 && x->prestart && planned > hard && !(alone && pl->hard > 0 && prog > pl->hard);
    bool over =
        hard > 0 && x->live && given > hard && !(alone && sl->hard > 0 && session > sl->hard);
    if (!refuse && !over) {
        set(x, "dose-24h", NULL);
        return;
    }
    char src[DG_ID_MAX * 2], msg[DG_TEXT_MAX];
    key(x, src, sizeof src, "rolling_24h_dose_mg_per_kg.hard");
    if (refuse) {
        snprintf(msg, sizeof msg,
                 "24 h dose would be %.3f mg/kg (%.3f earlier + %.3f programmed), above hard "
                 "limit %.3f mg/kg: session refused",
                 planned, h->dose_24h_mg_per_kg, x->t->program.dose_mg_per_kg, hard);
        struct dg_finding f = finding(x, DG_KIND_PHYSIOLOGICAL, DG_PRIO_HIGH, DG_ACTION_STOP,
                                      planned, hard, "mg/kg", src, msg);
        set_prestart(x, "dose-24h", &f);
        return;
    }
    snprintf(msg, sizeof msg,
             "24 h dose %.3f mg/kg (%.3f earlier + %.3f this session) above hard limit %.3f mg/kg",
             given, h->dose_24h_mg_per_kg, given - h->dose_24h_mg_per_kg, hard);
    struct dg_finding f = finding(x, DG_KIND_PHYSIOLOGICAL, DG_PRIO_HIGH,
                                  d->rolling_24h_hard_action, given, hard, "mg/kg", src, msg);
    set(x, "dose-24h", &f);
}

/* session-dose: dose delivered this session (mg/kg) > soft medium; > hard
   high + the entry's action. Judged while the session lives. */
static void rule_session_dose(struct eval *x)
{
    const struct dg_limit *lim = &x->d->session_dose_mg_per_kg;
    double w = x->weight_kg;
    double dose = x->live && w > 0 ? dg_pump_session_dose_mg(x->p, x->t) / w : 0;
    bool hard = lim->hard > 0 && dose > lim->hard;
    bool soft = !hard && lim->soft > 0 && dose > lim->soft;
    if (!hard && !soft) {
        set(x, "session-dose", NULL);
        return;
    }
    double limit = hard ? lim->hard : lim->soft;
    char src[DG_ID_MAX * 2], msg[DG_TEXT_MAX];
    snprintf(msg, sizeof msg, "session dose %.3f mg/kg delivered, above %s limit %.3f mg/kg", dose,
             hard ? "hard" : "soft", limit);
    struct dg_finding f =
        finding(x, DG_KIND_PHYSIOLOGICAL, hard ? DG_PRIO_HIGH : DG_PRIO_MEDIUM,
                hard ? x->d->session_dose_hard_action : DG_ACTION_NONE, dose, limit, "mg/kg",
                key(x, src, sizeof src,
                    hard ? "session_dose_mg_per_kg.hard" : "session_dose_mg_per_kg.soft"),
                msg);
    set(x, "session-dose", &f);
}

/*
 * bolus: a bolus (count or dose) when the entry allows none: high + the
 * entry's action. The totals are cumulative for the session, so the alert
 * is raised when they grow (a new bolus, or the first sight of one) and
 * then kept, unchanged, until the session ends; once a clinician resets it,
 * only a further bolus raises it again.
 */
static void rule_bolus(struct eval *x)
{
    const struct dg_telemetry *t = x->t;
    const struct dg_telemetry *prev =
        x->p->have_last && strcmp(x->p->last.session_id, t->session_id) == 0 ? &x->p->last : NULL;
    bool any = t->bolus_count > 0 || t->bolus_dose_mg > 0;
    bool grew = any && (!prev || t->bolus_count > prev->bolus_count ||
                        t->bolus_dose_mg > prev->bolus_dose_mg);
    if (x->d->bolus_allowed || !any || (!grew && !dg_alert_find(x->b, "bolus", x->p->id))) {
        set(x, "bolus", NULL);
        return;
    }
    double w = x->weight_kg;
    double mg_per_kg = w > 0 ? t->bolus_dose_mg / w : 0;
    char src[DG_ID_MAX * 2], msg[DG_TEXT_MAX];
    snprintf(msg, sizeof msg, "%u bolus(es), %.3f mg/kg, this session: no bolus allowed",
             (unsigned)t->bolus_count, mg_per_kg);
    struct dg_finding f =
        finding(x, DG_KIND_PHYSIOLOGICAL, DG_PRIO_HIGH, grew ? x->d->bolus_action : DG_ACTION_NONE,
                mg_per_kg, 0, "mg/kg", key(x, src, sizeof src, "bolus.allowed"), msg);
    set(x, "bolus", &f);
}

/*
 * dose-mismatch: the pump's infusion dose (dose infused minus boluses) and
 * the gateway's own rate x time integration differ by more than rel_pct %
 * of the larger AND by more than abs_mg_per_kg: medium technical; clears
 * when back within either margin. value is the difference and limit the
 * binding margin, both in mg/kg.
 */
static void rule_dose_mismatch(struct eval *x)
{
    const struct dg_liveness *l = &x->c->lib->liveness;
    double w = x->weight_kg;
    bool judged =
        x->live && w > 0 && (l->dose_mismatch_rel_pct > 0 || l->dose_mismatch_abs_mg_per_kg > 0);
    double pump = x->t->dose_infused_mg - x->t->bolus_dose_mg;
    double own = x->p->integrated_mg;
    double diff = fabs(pump - own);
    double larger = pump > own ? pump : own;
    /* Compared as diff x 100 > pct x larger: exact for round figures. */
    bool rel = diff * 100.0 > l->dose_mismatch_rel_pct * larger;
    bool abs_ = judged && diff / w > l->dose_mismatch_abs_mg_per_kg;
    if (!judged || !rel || !abs_) {
        set(x, "dose-mismatch", NULL);
        return;
    }
    double rel_mg_per_kg = l->dose_mismatch_rel_pct / 100.0 * larger / w;
    bool rel_binds = rel_mg_per_kg > l->dose_mismatch_abs_mg_per_kg;
    char msg[DG_TEXT_MAX];
    snprintf(msg, sizeof msg,
             "pump reports %.2f mg infused, gateway integrated %.2f mg: %.3f mg/kg apart "
             "(limits %.0f %% and %.3f mg/kg)",
             pump, own, diff / w, l->dose_mismatch_rel_pct, l->dose_mismatch_abs_mg_per_kg);
    struct dg_finding f = finding(
        x, DG_KIND_TECHNICAL, DG_PRIO_MEDIUM, DG_ACTION_NONE, diff / w,
        rel_binds ? rel_mg_per_kg : l->dose_mismatch_abs_mg_per_kg, "mg/kg",
        rel_binds ? "liveness.dose_mismatch_rel_pct" : "liveness.dose_mismatch_abs_mg_per_kg", msg);
    set(x, "dose-mismatch", &f);
}

/* ------------------------------------------------------------ rate */

/* Infusion rate in mg/kg/h for weight_kg, or NAN if it cannot be computed. */
static double rate_mg_per_kg_h(const struct dg_telemetry *t, double weight_kg)
{
    const struct dg_program *p = &t->program;
    if (!t->has_program || !(weight_kg > 0) || !(p->concentration_mg_per_ml > 0)) return NAN;
    return t->rate_ml_per_h * p->concentration_mg_per_ml / weight_kg;
}

/* rate: soft (medium) and hard (high + the entry's action) while running. */
static void rule_rate(struct eval *x)
{
    const struct dg_drug *d = x->d;
    if (!d || !x->running) {
        /* Not infusing, or nothing to judge against: no rate alert. */
        set(x, "rate", NULL);
        return;
    }
    double rate = rate_mg_per_kg_h(x->t, x->weight_kg);
    const struct dg_limit *lim = &d->rate_mg_per_kg_h;
    bool hard = !isnan(rate) && lim->hard > 0 && rate > lim->hard;
    bool soft = !isnan(rate) && !hard && lim->soft > 0 && rate > lim->soft;
    if (!hard && !soft) {
        set(x, "rate", NULL);
        return;
    }
    char src[DG_ID_MAX * 2], msg[DG_TEXT_MAX];
    snprintf(msg, sizeof msg, "infusion rate %.3f mg/kg/h above %s limit %.3f", rate,
             hard ? "hard" : "soft", hard ? lim->hard : lim->soft);
    struct dg_finding f = finding(
        x, DG_KIND_PHYSIOLOGICAL, hard ? DG_PRIO_HIGH : DG_PRIO_MEDIUM,
        hard ? d->rate_hard_action : DG_ACTION_NONE, rate, hard ? lim->hard : lim->soft, "mg/kg/h",
        key(x, src, sizeof src, hard ? "rate_mg_per_kg_h.hard" : "rate_mg_per_kg_h.soft"), msg);
    set(x, "rate", &f);
}

/* ------------------------------------------------------------ program edits */

/* Did the program change between the previous message of this session and
   this one, in anything a pre-start check looks at? */
static bool program_changed(const struct dg_telemetry *a, const struct dg_telemetry *b)
{
    if (a->has_program != b->has_program) return true;
    if (!a->has_program) return false;
    const struct dg_program *x = &a->program, *y = &b->program;
    return strcmp(x->drug_code, y->drug_code) != 0 || strcmp(x->care_area, y->care_area) != 0 ||
           x->concentration_mg_per_ml != y->concentration_mg_per_ml ||
           x->dose_mg_per_kg != y->dose_mg_per_kg || x->patient_weight_kg != y->patient_weight_kg;
}

/* weight-change (see the top of the file). */
static void rule_weight_change(struct eval *x)
{
    const struct dg_telemetry *t = x->t;
    double trusted = x->p->trusted_weight_kg;
    double w = t->has_program ? t->program.patient_weight_kg : 0;
    if (!x->p->started || !(trusted > 0) || !t->has_program || fabs(w - trusted) < 1e-9) {
        set(x, "weight-change", NULL);
        return;
    }
    char msg[DG_TEXT_MAX];
    snprintf(msg, sizeof msg,
             "patient weight edited from %.1f to %.1f kg during the session: rate and dose rules "
             "keep %.1f kg until a clinician resets this alert",
             trusted, w, trusted);
    struct dg_finding f = finding(x, DG_KIND_TECHNICAL, DG_PRIO_HIGH, DG_ACTION_PAUSE, w, trusted,
                                  "kg", "program.patient_weight_kg", msg);
    set(x, "weight-change", &f);
    /* Remember which alert speaks for this session: only its reset adopts
       the new weight. */
    const struct dg_alert *a = dg_alert_find(x->b, "weight-change", x->p->id);
    if (a) dg_copy_str(x->p->weight_alert_id, sizeof x->p->weight_alert_id, a->alert_id);
}

/* ------------------------------------------------------------ entry */

static void clear_all(struct eval *x)
{
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        set(x, families[i], NULL);
}

int dg_rules_pump(dg_core *c, struct dg_pump *p, struct dg_bed *b, const struct dg_telemetry *t,
                  const struct dg_trust *tr, struct dg_now now)
{
    bool same_session = p->have_last && strcmp(p->last.session_id, t->session_id) == 0;
    struct eval x = {
        .c = c, .p = p, .b = b, .t = t, .tr = tr, .now = now, .cmd_mark = c->next_command};
    x.running = t->state == DG_PUMP_RUNNING;
    x.starting = x.running && !(same_session && p->last.state == DG_PUMP_RUNNING);
    /* A re-check needs a program to check, on a session that is still on. */
    bool on = t->has_program && t->state != DG_PUMP_IDLE && t->state != DG_PUMP_UNSPECIFIED;
    x.recheck = on && p->started && same_session && program_changed(&p->last, t);
    if (p->weight_adopt) {
        /* A clinician reset the weight change: the program's weight is the
           patient's now, checked like a new program. */
        p->weight_adopt = false;
        if (t->has_program && t->program.patient_weight_kg > 0)
            p->trusted_weight_kg = t->program.patient_weight_kg;
        x.recheck = on && p->started;
    }
    x.prestart = t->state == DG_PUMP_PROGRAMMED || x.starting || x.recheck;
    x.weight_kg = dg_pump_weight_kg(p, t);
    x.live = p->started && t->state != DG_PUMP_IDLE && t->state != DG_PUMP_UNSPECIFIED;
    x.d =
        t->has_program ? dg_druglib_find(c->lib, t->program.drug_code, t->program.care_area) : NULL;

    /* A new session starts clean; a session that is over keeps nothing
       (except latched alerts, which wait for a reset). */
    if (p->have_last && !same_session) clear_all(&x);
    if (!x.prestart && !x.live) {
        clear_all(&x);
        return x.rc;
    }

    rule_no_program(&x);
    rule_unknown_drug(&x);
    if (x.prestart) {
        uint64_t before = c->next_command;
        keep_error(&x, dg_rules_baseline(c, b, p, t, tr->clin_ms, now));
        if (c->next_command != before && p->pending.active && p->pending.action == DG_CMD_STOP)
            p->refused = true;
    }
    if (!x.d) {
        /* No limits to judge against: a rate is only news while it can be
           judged; the rest stays as it is. */
        rule_rate(&x);
        return x.rc;
    }

    struct history h;
    patient_history(c, t, tr->clin_ms, &h);
    rule_weight_change(&x);
    rule_programmed_dose(&x);
    rule_weight(&x);
    rule_concentration(&x);
    rule_dose_24h(&x, &h);
    rule_sessions(&x, &h);
    rule_rate(&x);
    rule_session_dose(&x);
    rule_bolus(&x);
    rule_dose_mismatch(&x);
    return x.rc;
}
