/*
 * core.c — the interlock core's inputs and its clock (see core.h).
 *
 * Each input is deduplicated, bookkept (pump session, the gateway's own dose
 * integration, the patient's session history, the bed's NIBP history), then
 * handed to the rules (rules_pump.c, rules_vitals.c). dg_core_tick() runs
 * what depends on time passing rather than on a message: silent pumps and
 * monitors, stale NIBP, commands not honoured, two warnings, and permits.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "internal.h"

static const struct dg_liveness *live(const dg_core *c)
{
    return &c->lib->liveness;
}

double dg_pump_session_dose_mg(const struct dg_pump *p, const struct dg_telemetry *t)
{
    double own = p->integrated_mg + t->bolus_dose_mg;
    return t->dose_infused_mg > own ? t->dose_infused_mg : own;
}

/* ------------------------------------------------------------ clock skew */

static int check_skew(dg_core *c, struct dg_bed *b, const char *device_id, bool *checked,
                      uint64_t device_ms, struct dg_now now)
{
    /* A simulator compresses time: its clock is right only at its first
       message, so that is the only one judged. */
    if (c->device_time_scale > 1 && *checked) return 0;
    *checked = true;
    double skew_s = ((double)device_ms - (double)now.wall_ms) / 1000.0;
    double lim = live(c)->clock_skew_s;
    if (lim <= 0 || fabs(skew_s) <= lim)
        return dg_alert_set(c, b, "clock-skew", device_id, NULL, now);
    char msg[DG_TEXT_MAX];
    snprintf(msg, sizeof msg, "%s clock is %.0f s %s the gateway's (limit %.0f s)", device_id,
             fabs(skew_s), skew_s > 0 ? "ahead of" : "behind", lim);
    struct dg_finding f = {.kind = DG_KIND_ADVISORY,
                           .priority = DG_PRIO_LOW,
                           .value = skew_s,
                           .limit = lim,
                           .unit = "s",
                           .limit_source = "liveness.clock_skew_s",
                           .message = msg,
                           .device_time_ms = device_ms};
    return dg_alert_set(c, b, "clock-skew", device_id, &f, now);
}

/* ------------------------------------------------------------ two warnings */

static int eval_two_warnings(dg_core *c, struct dg_bed *b, struct dg_now now)
{
    enum dg_alert_action act = c->lib->vitals.two_warnings_action;
    int n = dg_alert_count_warnings(b);
    if (act == DG_ACTION_NONE || n < 2) return dg_alert_set(c, b, "two-warnings", b->id, NULL, now);
    char msg[DG_TEXT_MAX];
    snprintf(msg, sizeof msg, "%d warnings active at once on %s", n, b->id);
    struct dg_finding f = {.kind = DG_KIND_PHYSIOLOGICAL,
                           .priority = DG_PRIO_HIGH,
                           .action = act,
                           .value = n,
                           .limit = 2,
                           .unit = "warnings",
                           .limit_source = "vitals.two_warnings_action",
                           .message = msg};
    return dg_alert_set(c, b, "two-warnings", b->id, &f, now);
}

/* ------------------------------------------------------------ telemetry */

/* A new session on this pump: forget the previous one's bookkeeping. */
static void session_reset(struct dg_pump *p, const struct dg_telemetry *t)
{
    dg_copy_str(p->session_id, sizeof p->session_id, t->session_id);
    dg_copy_str(p->patient_ref, sizeof p->patient_ref, t->patient_ref);
    p->session_known = true;
    p->started = false;
    p->refused = false;
    p->start_device_ms = p->end_device_ms = 0;
    p->integrated_mg = 0;
    p->integ_device_ms = 0;
    p->integ_rate_mg_per_h = 0;
    p->pending.active = false;
}

/* Integrate rate x time on the device timeline: the previous rate held from
   the previous sample to this one. */
static void integrate(struct dg_pump *p, const struct dg_telemetry *t)
{
    if (p->integ_device_ms && t->device_time_ms > p->integ_device_ms)
        p->integrated_mg +=
            p->integ_rate_mg_per_h * (double)(t->device_time_ms - p->integ_device_ms) / 3.6e6;
    if (t->state == DG_PUMP_RUNNING && t->has_program) {
        if (!p->integ_device_ms) {
            /* First sight of this session running (or the gateway started
               mid-session): start from what the pump says it gave. */
            double base = t->dose_infused_mg - t->bolus_dose_mg;
            p->integrated_mg = base > 0 ? base : 0;
        }
        p->integ_rate_mg_per_h = t->rate_ml_per_h * t->program.concentration_mg_per_ml;
        p->integ_device_ms = t->device_time_ms;
    } else if (p->integ_device_ms) {
        p->integ_rate_mg_per_h = 0;
        p->integ_device_ms = t->device_time_ms;
    }
}

/* The patient's record of this session, created when it starts running. */
static int record_session(dg_core *c, struct dg_pump *p, const struct dg_telemetry *t)
{
    if (!t->patient_ref[0] || !p->started) return 0;
    struct dg_patient *pt = dg_patient_get(c, t->patient_ref);
    if (!pt) return -DG_ENOMEM;
    struct dg_session_rec *r = NULL;
    for (size_t i = 0; i < pt->n_sessions; i++)
        if (strcmp(pt->sessions[i].session_id, t->session_id) == 0) r = &pt->sessions[i];
    if (!r) {
        if (pt->n_sessions == DG_SESSIONS_KEPT) {
            memmove(&pt->sessions[0], &pt->sessions[1],
                    (DG_SESSIONS_KEPT - 1) * sizeof pt->sessions[0]);
            pt->n_sessions--;
        }
        r = &pt->sessions[pt->n_sessions++];
        memset(r, 0, sizeof *r);
        dg_copy_str(r->session_id, sizeof r->session_id, t->session_id);
        r->start_device_ms = p->start_device_ms;
    }
    double w = t->has_program ? t->program.patient_weight_kg : 0;
    if (w > 0) r->dose_mg_per_kg = dg_pump_session_dose_mg(p, t) / w;
    return 0;
}

int dg_core_telemetry(dg_core *c, const struct dg_telemetry *t, struct dg_now now)
{
    struct dg_pump *p = dg_pump_get(c, t->pump_id);
    if (!p) return -DG_ENOMEM;
    bool same_session = p->session_known && strcmp(p->session_id, t->session_id) == 0;
    /* Duplicate: not newer than the last message recorded for this session
       (a message that failed is not recorded, so its redelivery is not one). */
    if (p->have_last && strcmp(p->last.session_id, t->session_id) == 0 && t->seq <= p->last_seq) {
        c->duplicates++;
        return -DG_EDUP;
    }
    struct dg_bed *b = dg_bed_get(c, t->bed_id);
    if (!b) return -DG_ENOMEM;
    if (!same_session) session_reset(p, t);
    p->state = t->state;
    if (p->bed_id[0] && strcmp(p->bed_id, t->bed_id) != 0) {
        /* The pump moved beds: what it said about the old bed no longer
           holds there (latched alerts stay until a clinician resets them). */
        struct dg_bed *old = dg_bed_find(c, p->bed_id);
        for (size_t i = 0; old && i < old->n_alerts;) {
            struct dg_alert *a = old->alerts[i];
            char cond[DG_ID_MAX];
            dg_copy_str(cond, sizeof cond, a->condition);
            if (!a->latched && strcmp(a->source_id, p->id) == 0) {
                int r = dg_alert_set(c, old, cond, p->id, NULL, now);
                if (r != 0) return r;
                continue; /* the array shifted */
            }
            i++;
        }
        b = dg_bed_get(c, t->bed_id); /* the table may have moved */
        if (!b) return -DG_ENOMEM;
    }
    dg_copy_str(p->bed_id, sizeof p->bed_id, t->bed_id);
    dg_copy_str(b->pump_id, sizeof b->pump_id, p->id);

    int rc = check_skew(c, b, p->id, &p->skew_checked, t->device_time_ms, now);
    integrate(p, t);

    bool was_running = p->have_last && same_session && p->last.state == DG_PUMP_RUNNING;
    bool running = t->state == DG_PUMP_RUNNING;
    if (running && !p->started) {
        p->started = true;
        p->start_device_ms = t->device_time_ms;
    }
    if (running && !was_running) b->running_since_mono_ms = now.mono_ms;
    if (p->started && (t->state == DG_PUMP_COMPLETE || t->state == DG_PUMP_STOPPED))
        p->end_device_ms = t->device_time_ms;
    if (rc == 0) rc = record_session(c, p, t);

    /* A pause or stop we asked for, now honoured: a paused pump honours a
       pause; a stop needs the pump stopped, complete, idle or in its own
       alarm (a programmed pump that was told to stop must say stopped). */
    bool honoured = p->pending.action == DG_CMD_PAUSE
                        ? !running
                        : !running && t->state != DG_PUMP_PROGRAMMED && t->state != DG_PUMP_PAUSED;
    if (p->pending.active && honoured) {
        char detail[DG_TEXT_MAX];
        snprintf(detail, sizeof detail, "%s honoured: pump %s reports %s", p->pending.command_id,
                 p->id, t->state == DG_PUMP_PAUSED ? "paused" : "not running");
        dg_audit_emit(c, "command.honoured", "E", DG_OUTCOME_SUCCESS, DG_PART_DEVICE, p->id, "pump",
                      p->id, detail);
        p->pending.active = false;
    }

    /* Rules see the previous message in p->last and the new one in t. */
    if (rc == 0) rc = dg_rules_pump(c, p, b, t, now);

    if (running) {
        b->infusing = true;
        b->observe_until_ms =
            t->device_time_ms + (uint64_t)(c->lib->vitals.observation_min * 60000.0);
    } else if (was_running) {
        b->infusing = false;
    }
    p->last_seen_mono_ms = now.mono_ms;
    if (rc == 0) rc = dg_alert_set(c, b, "pump-silent", p->id, NULL, now);
    if (rc != 0) return rc; /* not recorded: a redelivery is processed again */
    p->last = *t;
    p->have_last = true;
    p->last_seq = t->seq;
    return 0;
}

/* ------------------------------------------------------------ vitals */

static bool usable(const struct dg_measurement *m)
{
    return m->present && m->valid;
}

int dg_core_vitals(dg_core *c, const struct dg_vitals *v, struct dg_now now)
{
    struct dg_monitor *m = dg_monitor_get(c, v->monitor_id);
    if (!m) return -DG_ENOMEM;
    if (m->have_last && v->seq <= m->last_seq) {
        c->duplicates++;
        return -DG_EDUP;
    }
    struct dg_bed *b = dg_bed_get(c, v->bed_id);
    if (!b) return -DG_ENOMEM;
    dg_copy_str(m->bed_id, sizeof m->bed_id, v->bed_id);
    dg_copy_str(b->monitor_id, sizeof b->monitor_id, m->id);

    int rc = check_skew(c, b, m->id, &m->skew_checked, v->device_time_ms, now);
    if (usable(&v->heart_rate_bpm) || usable(&v->spo2_pct)) {
        m->last_continuous_mono_ms = now.mono_ms;
        if (rc == 0) rc = dg_alert_set(c, b, "vitals-silent", m->id, NULL, now);
    }
    if (usable(&v->systolic_mmhg) && usable(&v->diastolic_mmhg)) {
        if (b->n_nibp == DG_NIBP_KEPT) {
            memmove(&b->nibp[0], &b->nibp[1], (DG_NIBP_KEPT - 1) * sizeof b->nibp[0]);
            b->n_nibp--;
        }
        struct dg_nibp *n = &b->nibp[b->n_nibp++];
        n->device_ms = v->device_time_ms;
        n->mono_ms = now.mono_ms;
        n->sys = v->systolic_mmhg.value;
        n->dia = v->diastolic_mmhg.value;
        n->mean = usable(&v->mean_mmhg) ? v->mean_mmhg.value : NAN;
        if (rc == 0) rc = dg_alert_set(c, b, "nibp-stale", b->id, NULL, now);
    }
    if (rc == 0) rc = dg_rules_vitals(c, m, b, v, now);
    if (rc == 0) rc = eval_two_warnings(c, b, now);
    m->last_seen_mono_ms = now.mono_ms;
    if (rc != 0) return rc; /* not recorded: a redelivery is processed again */
    m->last = *v;
    m->have_last = true;
    m->last_seq = v->seq;
    return 0;
}

int dg_core_ack(dg_core *c, const struct dg_ack *a, struct dg_now now)
{
    return dg_alert_ack(c, a, now);
}

/* ------------------------------------------------------------ tick */

/* A technical finding for a timeout: medium past warn_s, high past crit_s. */
static const struct dg_finding *silence(struct dg_finding *f, double age_s, double warn_s,
                                        double crit_s, const char *what, const char *who,
                                        const char *src_warn, const char *src_crit, char *msg,
                                        size_t msglen)
{
    if (crit_s > 0 && age_s > crit_s) {
        f->priority = DG_PRIO_HIGH;
        f->limit = crit_s;
        f->limit_source = src_crit;
    } else if (warn_s > 0 && age_s > warn_s) {
        f->priority = DG_PRIO_MEDIUM;
        f->limit = warn_s;
        f->limit_source = src_warn;
    } else {
        return NULL;
    }
    f->kind = DG_KIND_TECHNICAL;
    f->value = floor(age_s);
    f->unit = "s";
    snprintf(msg, msglen, "no %s from %s for %.0f s", what, who, age_s);
    f->message = msg;
    return f;
}

static int tick_pump(dg_core *c, struct dg_pump *p, struct dg_now now)
{
    struct dg_bed *b = dg_bed_find(c, p->bed_id);
    if (!b) return 0;
    const struct dg_liveness *l = live(c);
    bool running = p->last.state == DG_PUMP_RUNNING;
    double age_s = (double)(now.mono_ms - p->last_seen_mono_ms) / 1000.0;
    char msg[DG_TEXT_MAX];
    struct dg_finding f = {.pump_id = p->id, .patient_ref = p->patient_ref};
    const struct dg_finding *fp =
        running
            ? silence(&f, age_s, l->pump_silent_warn_s, l->pump_silent_crit_s, "telemetry", p->id,
                      "liveness.pump_silent_warn_s", "liveness.pump_silent_crit_s", msg, sizeof msg)
            : NULL;
    int rc = dg_alert_set(c, b, "pump-silent", p->id, fp, now);
    if (rc != 0) return rc;

    /* Command not honoured: a report after the command still says running. */
    struct dg_pending_cmd *pc = &p->pending;
    if (pc->active && !pc->escalated && running && p->last_seen_mono_ms > pc->issued_mono_ms &&
        (double)(now.mono_ms - pc->issued_mono_ms) >= l->command_timeout_s * 1000.0) {
        char cmd_id[DG_ID_MAX];
        dg_copy_str(cmd_id, sizeof cmd_id, pc->command_id);
        snprintf(msg, sizeof msg, "command not honoured: %s still running %.0f s after %s %s",
                 p->id, (double)(now.mono_ms - pc->issued_mono_ms) / 1000.0,
                 pc->action == DG_CMD_STOP ? "stop" : "pause", cmd_id);
        dg_audit_emit(c, "command.not_honoured", "E", DG_OUTCOME_SERIOUS, DG_PART_DEVICE, p->id,
                      "pump", p->id, msg);
        struct dg_bed *ab = NULL;
        struct dg_alert *a = dg_alert_by_id(c, pc->alert_id, &ab);
        if (a) dg_alert_escalate(c, ab, a, msg, DG_ACTION_STOP, now);
        /* A stop sent by the escalation is a new pending command. */
        if (strcmp(pc->command_id, cmd_id) == 0) pc->escalated = true;
    }

    /* Permit-to-infuse: each running pump, every permit_period_s, unless a
       latched alert asks to let it lapse or the pump has gone quiet. */
    if (c->permit_to_infuse && running) {
        bool withhold = dg_alert_latched_for_pump(b, p->id) ||
                        (l->pump_silent_crit_s > 0 && age_s > l->pump_silent_crit_s);
        if (withhold != p->permit_withheld) {
            snprintf(msg, sizeof msg, "permits to %s %s", p->id,
                     withhold ? "withheld (latched alert or silent pump)" : "resumed");
            dg_audit_emit(c, withhold ? "permit.withheld" : "permit.resumed", "E",
                          DG_OUTCOME_SUCCESS, DG_PART_GATEWAY, c->gateway_id, "pump", p->id, msg);
            p->permit_withheld = withhold;
        }
        if (!withhold &&
            (p->last_permit_mono_ms == 0 ||
             (double)(now.mono_ms - p->last_permit_mono_ms) >= l->permit_period_s * 1000.0)) {
            p->last_permit_mono_ms = now.mono_ms;
            dg_command_send(c, p, DG_CMD_PERMIT, NULL, "permit-to-infuse", now,
                            (uint32_t)(l->permit_valid_s * 1000.0));
        }
    }
    return 0;
}

static int tick_bed(dg_core *c, struct dg_bed *b, struct dg_now now)
{
    const struct dg_liveness *l = live(c);
    struct dg_pump *p = b->pump_id[0] ? dg_pump_find(c, b->pump_id) : NULL;
    bool running = p && p->have_last && p->last.state == DG_PUMP_RUNNING;
    char msg[DG_TEXT_MAX];
    const char *src = b->monitor_id[0] ? b->monitor_id : b->id;

    /* Continuous vitals silent while the bed's pump runs. */
    const struct dg_finding *fp = NULL;
    struct dg_finding f = {.pump_id = b->pump_id};
    if (running) {
        uint64_t since = b->running_since_mono_ms;
        if (b->monitor_id[0]) {
            for (size_t i = 0; i < c->n_monitors; i++)
                if (strcmp(c->monitors[i].id, b->monitor_id) == 0 &&
                    c->monitors[i].last_continuous_mono_ms > since)
                    since = c->monitors[i].last_continuous_mono_ms;
        }
        double age_s = (double)(now.mono_ms - since) / 1000.0;
        fp = silence(&f, age_s, l->vitals_silent_warn_s, l->vitals_silent_crit_s,
                     "continuous vitals", b->monitor_id[0] ? b->monitor_id : "any monitor",
                     "liveness.vitals_silent_warn_s", "liveness.vitals_silent_crit_s", msg,
                     sizeof msg);
    }
    int rc = dg_alert_set(c, b, "vitals-silent", src, fp, now);
    if (rc != 0) return rc;

    /* NIBP older than nibp_stale_min while running (a low technical alert). */
    fp = NULL;
    struct dg_finding fs = {.pump_id = b->pump_id};
    char smsg[DG_TEXT_MAX];
    if (running && l->nibp_stale_min > 0) {
        uint64_t last = b->n_nibp ? b->nibp[b->n_nibp - 1].mono_ms : 0;
        uint64_t since = last > b->running_since_mono_ms ? last : b->running_since_mono_ms;
        double age_min = (double)(now.mono_ms - since) / 60000.0;
        if (age_min > l->nibp_stale_min) {
            fs.kind = DG_KIND_TECHNICAL;
            fs.priority = DG_PRIO_LOW;
            fs.value = floor(age_min);
            fs.limit = l->nibp_stale_min;
            fs.unit = "min";
            fs.limit_source = "liveness.nibp_stale_min";
            snprintf(smsg, sizeof smsg, "last blood pressure on %s is %.0f min old", b->id,
                     age_min);
            fs.message = smsg;
            fp = &fs;
        }
    }
    rc = dg_alert_set(c, b, "nibp-stale", b->id, fp, now);
    if (rc != 0) return rc;
    return eval_two_warnings(c, b, now);
}

int dg_core_tick(dg_core *c, struct dg_now now)
{
    int rc = 0, r;
    for (size_t i = 0; i < c->n_pumps; i++)
        if (c->pumps[i].have_last && (r = tick_pump(c, &c->pumps[i], now)) != 0 && rc == 0) rc = r;
    for (size_t i = 0; i < c->n_beds; i++)
        if ((r = tick_bed(c, &c->beds[i], now)) != 0 && rc == 0) rc = r;
    return rc;
}

int dg_core_gateway_alert(dg_core *c, const char *condition, const char *source,
                          const char *message, struct dg_now now)
{
    struct dg_bed *b = dg_bed_get(c, c->gateway_id);
    if (!b) return -DG_ENOMEM;
    const char *src = source ? source : c->gateway_id;
    if (!message) return dg_alert_set(c, b, condition, src, NULL, now);
    struct dg_finding f = {.kind = DG_KIND_TECHNICAL,
                           .priority = DG_PRIO_HIGH,
                           .unit = "",
                           .limit_source = "gateway",
                           .message = message};
    return dg_alert_set(c, b, condition, src, &f, now);
}
