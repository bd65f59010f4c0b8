/*
 * core.c — the interlock core's inputs and its clock (see core.h).
 *
 * Each device message is first checked (trust.c: is it new for its
 * incarnation, and what does its clock say against the gateway's
 * timeline), then bookkept — bed membership, the pump session, the
 * gateway's own dose integration, the patient's session history, the bed's
 * NIBP history — then handed to the rules (rules_pump.c, rules_vitals.c),
 * and finally the pump's latches are enforced (alerts.c).
 *
 * Bed membership: a pump or monitor belongs to the bed it last reported.
 * Moving releases it from the old bed: what it said there no longer holds,
 * so its alerts there clear (a latched one stays until reset, and keeps
 * holding the pumps it commanded wherever they go), and the old bed counts
 * one pump (running or not) or monitor fewer. A vital-sign action goes to
 * the pumps running on the bed (alerts.c).
 *
 * dg_core_tick() runs what depends on time passing rather than on a
 * message: silent pumps and monitors, stale NIBP, commands not honoured,
 * two warnings, the baseline grace, data-quality advisories clearing, and
 * permits.
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

double dg_pump_weight_kg(const struct dg_pump *p, const struct dg_telemetry *t)
{
    if (p->started && p->trusted_weight_kg > 0) return p->trusted_weight_kg;
    return t->has_program && t->program.patient_weight_kg > 0 ? t->program.patient_weight_kg : 0;
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
                           .patient_ref = b->patient_ref,
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
                           .message = msg,
                           .pump_id = "", /* every pump running on the bed */
                           .patient_ref = b->patient_ref,
                           .device_time_ms = b->last_vitals_device_ms};
    return dg_alert_set(c, b, "two-warnings", b->id, &f, now);
}

/* ------------------------------------------------------------ membership */

/* Clear what device_id said on bed b (it left, or was never there): every
   alert it is the source of, except latched ones. */
static void release_sources(dg_core *c, struct dg_bed *b, const char *device_id, struct dg_now now)
{
    for (size_t i = 0; i < b->n_alerts;) {
        struct dg_alert *a = b->alerts[i];
        if (!a->latched && strcmp(a->source_id, device_id) == 0) {
            dg_alert_drop(c, b, a, now);
            continue; /* the array shifted */
        }
        i++;
    }
}

/* p reports bed_id: leave its old bed if it moved, join the new one, and
   keep the beds' pump and running counts (p->state is still the previous
   report's). Returns the new bed, NULL when out of memory. */
static struct dg_bed *pump_join(dg_core *c, struct dg_pump *p, const char *bed_id,
                                enum dg_pump_state state, struct dg_now now)
{
    bool member = p->bed_id[0] != '\0';
    bool moved = member && strcmp(p->bed_id, bed_id) != 0;
    bool ran = member && p->state == DG_PUMP_RUNNING;
    struct dg_bed *b = dg_bed_get(c, bed_id);
    if (!b) return NULL;
    if (moved) {
        struct dg_bed *old = dg_bed_find(c, p->bed_id);
        if (old) {
            if (old->n_pumps) old->n_pumps--;
            if (ran && old->n_running) old->n_running--;
            char detail[DG_TEXT_MAX];
            snprintf(detail, sizeof detail, "pump %s moved from %s to %s%s", p->id, old->id, bed_id,
                     ran ? " while running" : "");
            dg_audit_emit(c, "pump.moved", "U", DG_OUTCOME_SUCCESS, DG_PART_DEVICE, p->id, "pump",
                          p->id, detail);
            release_sources(c, old, p->id, now);
            /* A start that waited for a baseline there is not waiting any more. */
            if (old->baseline_due_clin_ms && strcmp(old->baseline_pump, p->id) == 0)
                old->baseline_due_clin_ms = 0;
        }
    }
    if (!member || moved) b->n_pumps++;
    bool running = state == DG_PUMP_RUNNING;
    bool ran_here = ran && !moved;
    if (running && !ran_here) {
        b->n_running++;
        b->running_since_mono_ms = now.mono_ms;
    } else if (!running && ran_here && b->n_running) {
        b->n_running--;
    }
    dg_copy_str(p->bed_id, sizeof p->bed_id, bed_id);
    return b;
}

static struct dg_bed *monitor_join(dg_core *c, struct dg_monitor *m, const char *bed_id,
                                   struct dg_now now)
{
    bool member = m->bed_id[0] != '\0';
    bool moved = member && strcmp(m->bed_id, bed_id) != 0;
    struct dg_bed *b = dg_bed_get(c, bed_id);
    if (!b) return NULL;
    if (moved) {
        struct dg_bed *old = dg_bed_find(c, m->bed_id);
        if (old) {
            if (old->n_monitors) old->n_monitors--;
            char detail[DG_TEXT_MAX];
            snprintf(detail, sizeof detail, "monitor %s moved from %s to %s", m->id, old->id,
                     bed_id);
            dg_audit_emit(c, "monitor.moved", "U", DG_OUTCOME_SUCCESS, DG_PART_DEVICE, m->id,
                          "monitor", m->id, detail);
            release_sources(c, old, m->id, now);
        }
        /* Its condition delays were about the other bed's patient. */
        m->hr_warn_since_ms = m->spo2_warn_since_ms = m->rr_warn_since_ms = 0;
    }
    if (!member || moved) b->n_monitors++;
    dg_copy_str(m->bed_id, sizeof m->bed_id, bed_id);
    return b;
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
    p->start_device_ms = p->end_device_ms = p->start_clin_ms = 0;
    p->trusted_weight_kg = 0;
    p->weight_adopt = false;
    p->weight_alert_id[0] = '\0';
    p->integrated_mg = 0;
    p->integ_device_ms = 0;
    p->integ_rate_mg_per_h = 0;
    p->pending.active = false;
}

/* Integrate rate x time on the device timeline: the previous rate held from
   the previous sample to this one, for as long as trust.c credits the step
   (a jumped clock adds no more than the gateway saw pass). */
static void integrate(struct dg_pump *p, const struct dg_telemetry *t, const struct dg_trust *tr)
{
    if (p->integ_device_ms) {
        double dt = (double)tr->credit_ms;
        double span = (double)t->device_time_ms - (double)p->integ_device_ms;
        if (dt > span) dt = span;
        if (dt > 0) p->integrated_mg += p->integ_rate_mg_per_h * dt / 3.6e6;
    }
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
        r->start_clin_ms = p->start_clin_ms;
    }
    double w = dg_pump_weight_kg(p, t);
    if (w > 0) r->dose_mg_per_kg = dg_pump_session_dose_mg(p, t) / w;
    return 0;
}

static void note_trust(dg_core *c, const struct dg_seq *s, const struct dg_trust *tr)
{
    c->note.dup = tr->dup;
    c->note.last_seq = s->last_seq;
    c->note.gap_missing = tr->gap_missing;
    c->note.reboot = tr->reboot;
    c->note.jump_ms = tr->jump_ms;
}

int dg_core_telemetry(dg_core *c, const struct dg_telemetry *t, struct dg_now now)
{
    dg_timeline_start(c, now);
    memset(&c->note, 0, sizeof c->note);
    struct dg_pump *p = dg_pump_get(c, t->pump_id);
    if (!p) return -DG_ENOMEM;
    struct dg_trust tr;
    dg_seq_judge(&p->seq, t->incarnation, t->seq, &tr);
    note_trust(c, &p->seq, &tr);
    if (tr.dup != DG_DUP_NONE) {
        dg_trust_report(c, NULL, "pump", p->id, &p->clock, t->incarnation, t->seq, &p->seq, &tr,
                        now);
        return -DG_EDUP;
    }
    /* Judged on a copy: the device's clock is recorded only if the message
       is processed, so a redelivery after -DG_ENOMEM is judged the same. */
    struct dg_devclock clock = p->clock;
    dg_clock_judge(c, &clock, t->device_time_ms, t->recv_mono_ms ? t->recv_mono_ms : now.mono_ms,
                   &tr);
    c->note.jump_ms = tr.jump_ms;

    bool same_session = p->session_known && strcmp(p->session_id, t->session_id) == 0;
    struct dg_bed *b = pump_join(c, p, t->bed_id, t->state, now);
    if (!b) return -DG_ENOMEM;
    if (!same_session) session_reset(p, t);
    p->state = t->state;
    p->permit_required = t->permit_required;
    bool running = t->state == DG_PUMP_RUNNING;
    if (running && t->patient_ref[0])
        dg_copy_str(b->patient_ref, sizeof b->patient_ref, t->patient_ref);

    int rc = check_skew(c, b, p->id, &p->skew_checked, t->device_time_ms, now);
    if (rc == 0)
        rc =
            dg_trust_report(c, b, "pump", p->id, &clock, t->incarnation, t->seq, &p->seq, &tr, now);
    integrate(p, t, &tr);

    if (running && !p->started) {
        p->started = true;
        p->start_device_ms = t->device_time_ms;
        p->start_clin_ms = tr.clin_ms;
        p->trusted_weight_kg =
            t->has_program && t->program.patient_weight_kg > 0 ? t->program.patient_weight_kg : 0;
    }
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
    if (rc == 0) rc = dg_rules_pump(c, p, b, t, &tr, now);

    if (running)
        b->observe_until_clin_ms =
            tr.clin_ms + (uint64_t)(c->lib->vitals.observation_min * 60000.0);
    /* Latches hold: a pump running under one is paused again. */
    if (rc == 0) dg_latch_enforce(c, p, now);
    p->last_seen_mono_ms = now.mono_ms;
    if (rc == 0) rc = dg_alert_set(c, b, "pump-silent", p->id, NULL, now);
    if (rc != 0) return rc; /* not recorded: a redelivery is processed again */
    p->last = *t;
    p->have_last = true;
    p->clock = clock;
    dg_seq_commit(&p->seq, t->incarnation, t->seq);
    return 0;
}

/* ------------------------------------------------------------ vitals */

static bool usable(const struct dg_measurement *m)
{
    return m->present && m->valid;
}

int dg_core_vitals(dg_core *c, const struct dg_vitals *v, struct dg_now now)
{
    dg_timeline_start(c, now);
    memset(&c->note, 0, sizeof c->note);
    struct dg_monitor *m = dg_monitor_get(c, v->monitor_id);
    if (!m) return -DG_ENOMEM;
    struct dg_trust tr;
    dg_seq_judge(&m->seq, v->incarnation, v->seq, &tr);
    note_trust(c, &m->seq, &tr);
    if (tr.dup != DG_DUP_NONE) {
        dg_trust_report(c, NULL, "monitor", m->id, &m->clock, v->incarnation, v->seq, &m->seq, &tr,
                        now);
        return -DG_EDUP;
    }
    struct dg_devclock clock = m->clock; /* recorded only if processed, as above */
    dg_clock_judge(c, &clock, v->device_time_ms, v->recv_mono_ms ? v->recv_mono_ms : now.mono_ms,
                   &tr);
    c->note.jump_ms = tr.jump_ms;
    struct dg_bed *b = monitor_join(c, m, v->bed_id, now);
    if (!b) return -DG_ENOMEM;
    b->last_vitals_device_ms = v->device_time_ms;

    int rc = check_skew(c, b, m->id, &m->skew_checked, v->device_time_ms, now);
    if (rc == 0)
        rc = dg_trust_report(c, b, "monitor", m->id, &clock, v->incarnation, v->seq, &m->seq, &tr,
                             now);
    if (usable(&v->heart_rate_bpm) || usable(&v->spo2_pct)) {
        m->last_continuous_mono_ms = now.mono_ms;
        if (rc == 0) rc = dg_alert_set(c, b, "vitals-silent", m->id, NULL, now);
    }
    /* The bed has a monitor now: "no monitor at all" no longer holds. */
    if (rc == 0) rc = dg_alert_set(c, b, "vitals-silent", b->id, NULL, now);
    if (usable(&v->systolic_mmhg) && usable(&v->diastolic_mmhg)) {
        if (b->n_nibp == DG_NIBP_KEPT) {
            memmove(&b->nibp[0], &b->nibp[1], (DG_NIBP_KEPT - 1) * sizeof b->nibp[0]);
            b->n_nibp--;
        }
        struct dg_nibp *n = &b->nibp[b->n_nibp++];
        n->clin_ms = tr.clin_ms;
        n->mono_ms = now.mono_ms;
        n->sys = v->systolic_mmhg.value;
        n->dia = v->diastolic_mmhg.value;
        n->mean = usable(&v->mean_mmhg) ? v->mean_mmhg.value : NAN;
        if (rc == 0) rc = dg_alert_set(c, b, "nibp-stale", b->id, NULL, now);
        /* A start without a baseline waits a grace for one: this is it. */
        if (rc == 0 && b->baseline_due_clin_ms && tr.clin_ms <= b->baseline_due_clin_ms)
            rc = dg_rules_baseline_late(c, b, m->id, v->device_time_ms, now);
    }
    if (rc == 0) rc = dg_rules_vitals(c, m, b, v, &tr, now);
    if (rc == 0) rc = eval_two_warnings(c, b, now);
    m->last_seen_mono_ms = now.mono_ms;
    if (rc != 0) return rc; /* not recorded: a redelivery is processed again */
    m->last = *v;
    m->have_last = true;
    m->clock = clock;
    dg_seq_commit(&m->seq, v->incarnation, v->seq);
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

static double age_s(uint64_t now_ms, uint64_t then_ms)
{
    return now_ms > then_ms ? (double)(now_ms - then_ms) / 1000.0 : 0;
}

/* clock-jump and seq-gap advisories clear after a quiet data_quality_clear_s. */
static int clear_data_quality(dg_core *c, struct dg_bed *b, const char *device_id,
                              struct dg_devclock *k, struct dg_now now)
{
    double quiet_s = live(c)->data_quality_clear_s;
    int rc = 0;
    if (k->last_jump_mono_ms && age_s(now.mono_ms, k->last_jump_mono_ms) > quiet_s) {
        k->last_jump_mono_ms = 0;
        rc = dg_alert_set(c, b, "clock-jump", device_id, NULL, now);
    }
    if (rc == 0 && k->last_gap_mono_ms && age_s(now.mono_ms, k->last_gap_mono_ms) > quiet_s) {
        k->last_gap_mono_ms = 0;
        rc = dg_alert_set(c, b, "seq-gap", device_id, NULL, now);
    }
    return rc;
}

static int tick_pump(dg_core *c, struct dg_pump *p, struct dg_now now)
{
    struct dg_bed *b = dg_bed_find(c, p->bed_id);
    if (!b) return 0;
    const struct dg_liveness *l = live(c);
    bool running = p->state == DG_PUMP_RUNNING;
    double age = age_s(now.mono_ms, p->last_seen_mono_ms);
    char msg[DG_TEXT_MAX];
    struct dg_finding f = {.pump_id = p->id, .patient_ref = p->patient_ref};
    const struct dg_finding *fp =
        running
            ? silence(&f, age, l->pump_silent_warn_s, l->pump_silent_crit_s, "telemetry", p->id,
                      "liveness.pump_silent_warn_s", "liveness.pump_silent_crit_s", msg, sizeof msg)
            : NULL;
    int rc = dg_alert_set(c, b, "pump-silent", p->id, fp, now);
    if (rc == 0) rc = clear_data_quality(c, b, p->id, &p->clock, now);
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

    /* Permit-to-infuse: each running pump that says it needs them, every
       permit_period_s, unless a latch holds it or it has gone quiet. */
    if (c->permit_to_infuse && running && p->permit_required) {
        bool withhold = dg_hold_of(c, p, NULL) != NULL ||
                        (l->pump_silent_crit_s > 0 && age > l->pump_silent_crit_s);
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

/* Continuous vitals silent, per monitor, while a pump runs on its bed. */
static int tick_monitor(dg_core *c, struct dg_monitor *m, struct dg_now now)
{
    struct dg_bed *b = dg_bed_find(c, m->bed_id);
    if (!b) return 0;
    const struct dg_liveness *l = live(c);
    int rc = clear_data_quality(c, b, m->id, &m->clock, now);
    if (rc != 0) return rc;
    const struct dg_finding *fp = NULL;
    struct dg_finding f = {.pump_id = "", .patient_ref = b->patient_ref};
    char msg[DG_TEXT_MAX];
    if (b->n_running) {
        uint64_t since = m->last_continuous_mono_ms > b->running_since_mono_ms
                             ? m->last_continuous_mono_ms
                             : b->running_since_mono_ms;
        fp =
            silence(&f, age_s(now.mono_ms, since), l->vitals_silent_warn_s, l->vitals_silent_crit_s,
                    "continuous vitals", m->id, "liveness.vitals_silent_warn_s",
                    "liveness.vitals_silent_crit_s", msg, sizeof msg);
    }
    return dg_alert_set(c, b, "vitals-silent", m->id, fp, now);
}

static int tick_bed(dg_core *c, struct dg_bed *b, uint64_t clin_now, struct dg_now now)
{
    const struct dg_liveness *l = live(c);
    bool running = b->n_running > 0;
    char msg[DG_TEXT_MAX];

    /* A pump runs on a bed no monitor reports at all (per-monitor silence
       is tick_monitor's). */
    const struct dg_finding *fp = NULL;
    struct dg_finding f = {.pump_id = "", .patient_ref = b->patient_ref};
    if (running && b->n_monitors == 0)
        fp = silence(&f, age_s(now.mono_ms, b->running_since_mono_ms), l->vitals_silent_warn_s,
                     l->vitals_silent_crit_s, "continuous vitals", "any monitor",
                     "liveness.vitals_silent_warn_s", "liveness.vitals_silent_crit_s", msg,
                     sizeof msg);
    int rc = dg_alert_set(c, b, "vitals-silent", b->id, fp, now);
    if (rc != 0) return rc;

    /* NIBP older than nibp_stale_min while running (a low technical alert). */
    fp = NULL;
    struct dg_finding fs = {.pump_id = "", .patient_ref = b->patient_ref};
    char smsg[DG_TEXT_MAX];
    if (running && l->nibp_stale_min > 0) {
        uint64_t last = b->n_nibp ? b->nibp[b->n_nibp - 1].mono_ms : 0;
        uint64_t since = last > b->running_since_mono_ms ? last : b->running_since_mono_ms;
        double age_min = age_s(now.mono_ms, since) / 60.0;
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

    /* A start without a baseline: the grace is over and none came. */
    if (b->baseline_due_clin_ms && clin_now > b->baseline_due_clin_ms)
        rc = dg_rules_baseline_missing(c, b, now);
    if (rc != 0) return rc;
    return eval_two_warnings(c, b, now);
}

int dg_core_tick(dg_core *c, struct dg_now now)
{
    dg_timeline_start(c, now);
    uint64_t clin_now = dg_clin_ms(c, now.mono_ms);
    int rc = 0, r;
    for (size_t i = 0; i < c->n_pumps; i++)
        if (c->pumps[i].have_last && (r = tick_pump(c, &c->pumps[i], now)) != 0 && rc == 0) rc = r;
    for (size_t i = 0; i < c->n_monitors; i++)
        if (c->monitors[i].have_last && (r = tick_monitor(c, &c->monitors[i], now)) != 0 && rc == 0)
            rc = r;
    for (size_t i = 0; i < c->n_beds; i++)
        if ((r = tick_bed(c, &c->beds[i], clin_now, now)) != 0 && rc == 0) rc = r;
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
                           .message = message,
                           .pump_id = ""};
    return dg_alert_set(c, b, condition, src, &f, now);
}
