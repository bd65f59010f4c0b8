/*
 * alerts.c — the alert lifecycle (IHE ACM / IEC 60601-1-8 style), the
 * retained per-bed snapshot, and the commands alerts cause.
 *
 * One alert per identity (bed, condition, source device), with a stable id
 * for its whole life: raise -> (update | escalate | deescalate)* ->
 * acknowledge? -> clear. Rules report findings through dg_alert_set(); this
 * file decides which phase that is. An alert that requested a pause or stop
 * latches: it stays active, whatever the condition does, until a clinician
 * acknowledges it with reset. Every phase goes out as an alert event and an
 * audit event, followed by a fresh snapshot of the bed's active alerts, so
 * the retained snapshot always equals the set of active alerts.
 *
 * The gateway only ever pauses or stops a pump (or lets a permit lapse); it
 * never starts, resumes or speeds one up, so no command here can do that.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "internal.h"

/* An update is news at most once a minute (gateway clock): a value that
   keeps moving must not flood the dashboards. */
#define DG_UPDATE_MIN_INTERVAL_MS 60000u

static const char *const phase_names[] = {"",           "raise",       "update", "escalate",
                                          "deescalate", "acknowledge", "clear"};
static const char *const prio_names[] = {"none", "low", "medium", "high"};
static const char *const action_names[] = {"", "pause", "stop", "permit"};

/* ------------------------------------------------------------ emitting */

static void emit_snapshot(dg_core *c, struct dg_bed *b, struct dg_now now)
{
    struct dg_alarm_snapshot s = {
        .bed_id = b->id,
        .seq = ++b->snapshot_seq,
        .gateway_time_ms = now.wall_ms,
        .n_alerts = b->n_alerts,
        .alerts = (const struct dg_alert *const *)b->alerts,
        .highest = DG_PRIO_NONE,
    };
    for (size_t i = 0; i < b->n_alerts; i++)
        if (b->alerts[i]->priority > s.highest) s.highest = b->alerts[i]->priority;
    if (c->sink.alarms) c->sink.alarms(c->sink.ctx, &s);
}

void dg_audit_emit(dg_core *c, const char *type, const char *action, enum dg_audit_outcome outcome,
                   enum dg_participant pk, const char *pid, const char *otype, const char *oid,
                   const char *detail)
{
    if (!c->sink.audit) return;
    struct dg_audit_event au = {
        .event_type = type,
        .action = action,
        .outcome = outcome,
        .participant_kind = pk,
        .participant_id = pid,
        .object_type = otype,
        .object_id = oid,
        .detail = detail,
    };
    c->sink.audit(c->sink.ctx, &au);
}

/* One lifecycle step: alert event, then its audit record. The caller emits
   the bed snapshot once it has finished changing the bed. */
static void emit_phase(dg_core *c, struct dg_alert *a, enum dg_alert_phase phase, struct dg_now now,
                       const char *user)
{
    a->last_step_mono_ms = now.mono_ms;
    struct dg_alert_event ev = {
        .phase = phase, .seq = ++c->event_seq, .gateway_time_ms = now.wall_ms, .alert = a};
    if (c->sink.alert) c->sink.alert(c->sink.ctx, &ev);
    char type[32], detail[DG_TEXT_MAX + 160];
    snprintf(type, sizeof type, "alert.%s", phase_names[phase]);
    snprintf(detail, sizeof detail,
             "%s %s %s bed=%s pump=%s source=%s value=%.3f limit=%.3f %s: %s", a->alert_id,
             a->condition, prio_names[a->priority], a->bed_id, a->pump_id, a->source_id, a->value,
             a->limit, a->unit, a->message);
    dg_audit_emit(c, type, phase == DG_PHASE_RAISE ? "C" : (phase == DG_PHASE_CLEAR ? "D" : "U"),
                  DG_OUTCOME_SUCCESS, user ? DG_PART_USER : DG_PART_GATEWAY,
                  user ? user : c->gateway_id, "alert", a->alert_id, detail);
}

void dg_command_send(dg_core *c, struct dg_pump *p, enum dg_command_action action,
                     const struct dg_alert *alert, const char *reason, struct dg_now now,
                     uint32_t permit_valid_for_ms)
{
    struct dg_command cmd;
    memset(&cmd, 0, sizeof cmd);
    snprintf(cmd.command_id, sizeof cmd.command_id, "%s-c%llu", c->id_prefix,
             (unsigned long long)++c->next_command);
    dg_copy_str(cmd.pump_id, sizeof cmd.pump_id, p->id);
    cmd.action = action;
    dg_copy_str(cmd.reason_alert_id, sizeof cmd.reason_alert_id, alert ? alert->alert_id : "");
    cmd.issue_time_ms = now.wall_ms;
    cmd.permit_valid_for_ms = permit_valid_for_ms;
    dg_copy_str(cmd.reason, sizeof cmd.reason, reason);
    if (c->sink.command) c->sink.command(c->sink.ctx, &cmd);
    if (action == DG_CMD_PERMIT) return; /* once a second per pump: not audited one by one */

    p->pending.active = true;
    p->pending.action = action;
    p->pending.escalated = false;
    p->pending.issued_mono_ms = now.mono_ms;
    dg_copy_str(p->pending.command_id, sizeof p->pending.command_id, cmd.command_id);
    dg_copy_str(p->pending.alert_id, sizeof p->pending.alert_id, cmd.reason_alert_id);
    char type[32], detail[DG_TEXT_MAX + 96];
    snprintf(type, sizeof type, "command.%s", action_names[action]);
    snprintf(detail, sizeof detail, "%s %s pump=%s alert=%s: %s", cmd.command_id,
             action_names[action], cmd.pump_id, cmd.reason_alert_id, cmd.reason);
    dg_audit_emit(c, type, "E", DG_OUTCOME_SUCCESS, DG_PART_GATEWAY, c->gateway_id, "pump",
                  cmd.pump_id, detail);
}

/* ------------------------------------------------------------ lookups */

struct dg_alert *dg_alert_find(struct dg_bed *b, const char *condition, const char *source)
{
    for (size_t i = 0; i < b->n_alerts; i++) {
        struct dg_alert *a = b->alerts[i];
        if (strcmp(a->condition, condition) == 0 && strcmp(a->source_id, source) == 0) return a;
    }
    return NULL;
}

struct dg_alert *dg_alert_by_id(dg_core *c, const char *alert_id, struct dg_bed **bed_out)
{
    for (size_t i = 0; i < c->n_beds; i++) {
        struct dg_bed *b = &c->beds[i];
        for (size_t j = 0; j < b->n_alerts; j++) {
            if (strcmp(b->alerts[j]->alert_id, alert_id) == 0) {
                *bed_out = b;
                return b->alerts[j];
            }
        }
    }
    return NULL;
}

/* Conditions that count towards "two warnings at once" (contract: vital-sign
   warnings, and silent continuous vitals, which "counts as a warning"). */
static bool is_warning_family(const char *condition)
{
    static const char *const families[] = {"heart-rate", "spo2", "resp-rate", "bp-rise",
                                           "vitals-silent"};
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (strcmp(condition, families[i]) == 0) return true;
    return false;
}

int dg_alert_count_warnings(const struct dg_bed *b)
{
    int n = 0;
    for (size_t i = 0; i < b->n_alerts; i++)
        if (b->alerts[i]->priority == DG_PRIO_MEDIUM && is_warning_family(b->alerts[i]->condition))
            n++;
    return n;
}

/* ------------------------------------------------------------ targets and latches */

static bool has_target(const struct dg_alert *a, const char *pump_id)
{
    for (size_t i = 0; i < a->n_targets; i++)
        if (strcmp(a->targets[i], pump_id) == 0) return true;
    return false;
}

/* pump_id is the first target once there is one (before that it only names
   the pump the alert concerns, which may since have left the bed). */
static void add_target(struct dg_alert *a, const char *pump_id)
{
    if (has_target(a, pump_id) || a->n_targets == DG_TARGETS_MAX) return;
    if (a->n_targets == 0) dg_copy_str(a->pump_id, sizeof a->pump_id, pump_id);
    dg_copy_str(a->targets[a->n_targets++], DG_ID_MAX, pump_id);
}

struct dg_alert *dg_hold_of(dg_core *c, const struct dg_pump *p, struct dg_bed **bed_out)
{
    struct dg_alert *best = NULL;
    for (size_t i = 0; i < c->n_beds; i++) {
        struct dg_bed *b = &c->beds[i];
        bool home = strcmp(b->id, p->bed_id) == 0;
        for (size_t j = 0; j < b->n_alerts; j++) {
            struct dg_alert *a = b->alerts[j];
            if (!a->latched || a->action == DG_ACTION_NONE) continue;
            if (!has_target(a, p->id) && !(a->bed_wide && home)) continue;
            if (!best || a->action > best->action) {
                best = a;
                if (bed_out) *bed_out = b;
            }
        }
    }
    return best;
}

/* Can p act on action? A pump-specific action (drug rules, stop on start)
   reaches a pump that runs, is programmed or idle, or a paused one for a
   stop; a bed-wide (vital-sign) action reaches only a pump that runs (or a
   paused one it already holds, for a stop). */
static bool actionable(const struct dg_pump *p, enum dg_alert_action action, bool bed_wide,
                       const struct dg_alert *a)
{
    switch (p->state) {
    case DG_PUMP_RUNNING:
        return true;
    case DG_PUMP_PROGRAMMED:
    case DG_PUMP_IDLE:
        return !bed_wide;
    case DG_PUMP_PAUSED:
        return action == DG_ACTION_STOP && (!bed_wide || has_target(a, p->id));
    default:
        return false;
    }
}

/* a's action reaches p: p becomes a target, a latches, and the command goes
   out unless one as strong is already waiting to be honoured (several rules
   firing on one message latch on one command). */
static void deliver(dg_core *c, struct dg_alert *a, struct dg_pump *p, enum dg_alert_action action,
                    struct dg_now now)
{
    add_target(a, p->id);
    a->latched = true;
    if (action > a->action) a->action = action;
    enum dg_command_action cmd = action == DG_ACTION_STOP ? DG_CMD_STOP : DG_CMD_PAUSE;
    if (p->pending.active && p->pending.action >= cmd) return;
    char reason[DG_TEXT_MAX];
    snprintf(reason, sizeof reason, "%s: %s", a->condition, a->message);
    dg_command_send(c, p, cmd, a, reason, now, 0);
}

/* Ask for a's action: the finding's pump, or every pump of the bed that
   can act on it. a keeps the action only where it was delivered. */
static void request_action(dg_core *c, struct dg_bed *b, struct dg_alert *a,
                           const struct dg_finding *f, enum dg_alert_action action,
                           struct dg_now now)
{
    if (action > a->action_wanted) a->action_wanted = action;
    if (f->pump_id && f->pump_id[0]) {
        struct dg_pump *p = dg_pump_find(c, f->pump_id);
        if (p && actionable(p, action, false, a)) deliver(c, a, p, action, now);
        return;
    }
    a->bed_wide = true;
    for (size_t i = 0; i < c->n_pumps; i++) {
        struct dg_pump *p = &c->pumps[i];
        bool member = strcmp(p->bed_id, b->id) == 0;
        if ((member || has_target(a, p->id)) && actionable(p, action, true, a))
            deliver(c, a, p, action, now);
    }
}

void dg_latch_enforce(dg_core *c, struct dg_pump *p, struct dg_now now)
{
    if (p->state != DG_PUMP_RUNNING) return;
    struct dg_bed *b = NULL;
    struct dg_alert *a = dg_hold_of(c, p, &b);
    if (!a) return;
    enum dg_command_action cmd = a->action == DG_ACTION_STOP ? DG_CMD_STOP : DG_CMD_PAUSE;
    if (p->pending.active && p->pending.action >= cmd) {
        /* Waiting for it to be honoured (the tick escalates if it is not):
           it must name a latch that still stands. */
        struct dg_bed *pb = NULL;
        if (!dg_alert_by_id(c, p->pending.alert_id, &pb))
            dg_copy_str(p->pending.alert_id, sizeof p->pending.alert_id, a->alert_id);
        return;
    }
    char msg[DG_TEXT_MAX];
    if (!has_target(a, p->id)) {
        /* A pump that started on a bed under a bed-wide latch. */
        snprintf(msg, sizeof msg, "%s started on %s while %s is latched: %s requested", p->id,
                 b->id, a->condition, cmd == DG_CMD_STOP ? "stop" : "pause");
        dg_copy_str(a->message, sizeof a->message, msg);
        deliver(c, a, p, a->action, now);
        emit_phase(c, a, DG_PHASE_UPDATE, now, NULL);
        emit_snapshot(c, b, now);
        return;
    }
    /* It was held and runs again with nothing waiting: resumed at the pump
       without a reset. Paused again; the second time, stopped. */
    a->resumes++;
    enum dg_alert_action act = a->resumes >= 2 ? DG_ACTION_STOP : a->action;
    snprintf(msg, sizeof msg, "%s running again under latched %s without a reset (%u): %s", p->id,
             a->condition, (unsigned)a->resumes,
             act == DG_ACTION_STOP ? "stop requested" : "paused again");
    dg_copy_str(a->message, sizeof a->message, msg);
    a->priority = DG_PRIO_HIGH;
    if (act > a->action) a->action = act;
    if (act > a->action_wanted) a->action_wanted = act;
    char reason[DG_TEXT_MAX];
    snprintf(reason, sizeof reason, "%s: %s", a->condition, msg);
    dg_command_send(c, p, act == DG_ACTION_STOP ? DG_CMD_STOP : DG_CMD_PAUSE, a, reason, now, 0);
    emit_phase(c, a, DG_PHASE_ESCALATE, now, NULL);
    emit_snapshot(c, b, now);
}

/* ------------------------------------------------------------ changes */

static void fill(struct dg_alert *a, const struct dg_finding *f)
{
    a->kind = f->kind;
    a->priority = f->priority;
    a->value = f->value;
    a->limit = f->limit;
    dg_copy_str(a->unit, sizeof a->unit, f->unit);
    dg_copy_str(a->limit_source, sizeof a->limit_source, f->limit_source);
    dg_copy_str(a->message, sizeof a->message, f->message);
    if (f->device_time_ms) a->device_time_ms = f->device_time_ms;
    if (f->patient_ref && f->patient_ref[0])
        dg_copy_str(a->patient_ref, sizeof a->patient_ref, f->patient_ref);
}

static int alert_raise(dg_core *c, struct dg_bed *b, const char *condition, const char *source,
                       const struct dg_finding *f, struct dg_now now)
{
    if (b->n_alerts + 1 > b->cap_alerts) {
        size_t ncap = b->cap_alerts ? b->cap_alerts * 2 : 8;
        void *p = dg_realloc(b->alerts, ncap * sizeof *b->alerts);
        if (!p) return -DG_ENOMEM;
        b->alerts = p;
        b->cap_alerts = ncap;
    }
    struct dg_alert *a = dg_calloc(1, sizeof *a);
    if (!a) return -DG_ENOMEM;
    snprintf(a->alert_id, sizeof a->alert_id, "%s-a%llu", c->id_prefix,
             (unsigned long long)++c->next_alert);
    dg_copy_str(a->condition, sizeof a->condition, condition);
    dg_copy_str(a->bed_id, sizeof a->bed_id, b->id);
    dg_copy_str(a->source_id, sizeof a->source_id, source);
    dg_copy_str(a->pump_id, sizeof a->pump_id, f->pump_id);
    if (!a->pump_id[0] && f->kind != DG_KIND_ADVISORY) {
        /* A bed-wide finding names the pump running on the bed, if any, so
           a dashboard sees which infusion it concerns. */
        for (size_t i = 0; i < c->n_pumps && !a->pump_id[0]; i++)
            if (c->pumps[i].state == DG_PUMP_RUNNING && strcmp(c->pumps[i].bed_id, b->id) == 0)
                dg_copy_str(a->pump_id, sizeof a->pump_id, c->pumps[i].id);
    }
    fill(a, f);
    a->raised_time_ms = now.wall_ms;
    b->alerts[b->n_alerts++] = a;

    /* The command goes out with the alert's action set, before the raise
       event, so the event says what was requested. */
    if (f->action != DG_ACTION_NONE) request_action(c, b, a, f, f->action, now);
    emit_phase(c, a, DG_PHASE_RAISE, now, NULL);
    emit_snapshot(c, b, now);
    return 0;
}

static void alert_remove(struct dg_bed *b, struct dg_alert *a)
{
    for (size_t i = 0; i < b->n_alerts; i++) {
        if (b->alerts[i] == a) {
            memmove(&b->alerts[i], &b->alerts[i + 1], (b->n_alerts - i - 1) * sizeof *b->alerts);
            b->n_alerts--;
            dg_free(a);
            return;
        }
    }
}

static void alert_clear(dg_core *c, struct dg_bed *b, struct dg_alert *a, struct dg_now now,
                        const char *user)
{
    emit_phase(c, a, DG_PHASE_CLEAR, now, user);
    alert_remove(b, a);
    emit_snapshot(c, b, now);
}

void dg_alert_drop(dg_core *c, struct dg_bed *b, struct dg_alert *a, struct dg_now now)
{
    if (!a->latched) alert_clear(c, b, a, now, NULL);
}

/* Has the measured value moved enough since the last step to be worth an
   update? 10 % of the limit (or of the value when there is no limit). */
static bool moved(double last, double now_value, double limit)
{
    if (isnan(last) != isnan(now_value)) return true;
    if (isnan(now_value)) return false;
    double scale = fabs(limit) > 0 ? fabs(limit) : fabs(last);
    if (scale <= 0) return now_value != last;
    return fabs(now_value - last) >= 0.10 * scale;
}

int dg_alert_set(dg_core *c, struct dg_bed *b, const char *condition, const char *source,
                 const struct dg_finding *f, struct dg_now now)
{
    struct dg_alert *a = dg_alert_find(b, condition, source);
    if (!f) {
        if (a && !a->latched) alert_clear(c, b, a, now, NULL);
        return 0;
    }
    if (!a) return alert_raise(c, b, condition, source, f, now);

    enum dg_alert_action had = a->action;
    if (f->priority > a->priority || f->action > a->action_wanted) {
        enum dg_priority prio = f->priority > a->priority ? f->priority : a->priority;
        fill(a, f);
        a->priority = prio;
        a->action = had;
        if (f->action > had) request_action(c, b, a, f, f->action, now);
        emit_phase(c, a, DG_PHASE_ESCALATE, now, NULL);
        emit_snapshot(c, b, now);
    } else if (f->priority < a->priority && !a->latched) {
        fill(a, f);
        emit_phase(c, a, DG_PHASE_DEESCALATE, now, NULL);
        emit_snapshot(c, b, now);
    } else if (f->action != DG_ACTION_NONE && had < f->action) {
        /* The action found no pump to act on when it was asked for (none
           ran on the bed): a pump that can act on it now gets it. */
        request_action(c, b, a, f, f->action, now);
        if (a->action != had) {
            fill(a, f);
            emit_phase(c, a, DG_PHASE_ESCALATE, now, NULL);
            emit_snapshot(c, b, now);
        }
    } else if (f->priority == a->priority && moved(a->value, f->value, f->limit) &&
               now.mono_ms >= a->last_step_mono_ms + DG_UPDATE_MIN_INTERVAL_MS) {
        /* Same tier, a value worth telling: update (a latched alert keeps
           its action and limit source). */
        a->value = f->value;
        if (!a->latched) fill(a, f);
        emit_phase(c, a, DG_PHASE_UPDATE, now, NULL);
        emit_snapshot(c, b, now);
    }
    return 0;
}

void dg_alert_escalate(dg_core *c, struct dg_bed *b, struct dg_alert *a, const char *message,
                       enum dg_alert_action action, struct dg_now now)
{
    dg_copy_str(a->message, sizeof a->message, message);
    a->priority = DG_PRIO_HIGH;
    if (action > a->action) {
        /* To every pump it already holds (and, bed-wide, the bed's running
           pumps). */
        if (action > a->action_wanted) a->action_wanted = action;
        for (size_t i = 0; i < a->n_targets; i++) {
            struct dg_pump *p = dg_pump_find(c, a->targets[i]);
            if (p && actionable(p, action, a->bed_wide, a)) deliver(c, a, p, action, now);
        }
        if (a->bed_wide) {
            struct dg_finding f = {.kind = a->kind, .priority = a->priority, .action = action};
            request_action(c, b, a, &f, action, now);
        }
    }
    emit_phase(c, a, DG_PHASE_ESCALATE, now, NULL);
    emit_snapshot(c, b, now);
}

int dg_alert_ack(dg_core *c, const struct dg_ack *ack, struct dg_now now)
{
    if (ack->ack_id[0]) {
        for (size_t i = 0; i < DG_ACK_IDS_KEPT; i++)
            if (strcmp(c->ack_ids[i], ack->ack_id) == 0) return -DG_EDUP;
        dg_copy_str(c->ack_ids[c->ack_next], DG_ID_MAX, ack->ack_id);
        c->ack_next = (c->ack_next + 1) % DG_ACK_IDS_KEPT;
    }
    struct dg_bed *b = NULL;
    struct dg_alert *a = dg_alert_by_id(c, ack->alert_id, &b);
    if (!a) return -DG_ENOTFOUND;
    /* Who, for the audit trail: the user the dashboard names (a claim) and
       the dashboard certificate it came through (the shell took it from the
       topic, which the broker binds to the certificate's CN). */
    char who[2 * DG_ID_MAX + 8];
    if (ack->dashboard_id[0])
        snprintf(who, sizeof who, "%s via %s", ack->user_id, ack->dashboard_id);
    else
        dg_copy_str(who, sizeof who, ack->user_id);
    if (!a->acknowledged) {
        a->acknowledged = true;
        emit_phase(c, a, DG_PHASE_ACKNOWLEDGE, now, who);
    }
    if (ack->reset && a->latched) {
        /* The clinician takes over: the latch is released and the alert
           cleared; the pump stays as it is (the gateway never resumes it).
           If the condition still holds, the next evaluation raises a new
           alert. A pump another latch still holds keeps a command in force:
           its pending command now answers to that latch. */
        char alert_id[DG_ID_MAX], condition[DG_ID_MAX], source[DG_ID_MAX];
        size_t n_targets = a->n_targets;
        char targets[DG_TARGETS_MAX][DG_ID_MAX];
        memcpy(targets, a->targets, sizeof targets);
        dg_copy_str(alert_id, sizeof alert_id, a->alert_id);
        dg_copy_str(condition, sizeof condition, a->condition);
        dg_copy_str(source, sizeof source, a->source_id);
        char detail[DG_TEXT_MAX];
        snprintf(detail, sizeof detail, "latch of %s (%s) reset by %s", a->alert_id, a->condition,
                 who);
        dg_audit_emit(c, "alert.reset", "U", DG_OUTCOME_SUCCESS, DG_PART_USER, who, "alert",
                      a->alert_id, detail);
        alert_clear(c, b, a, now, who);
        for (size_t i = 0; i < n_targets; i++) {
            struct dg_pump *p = dg_pump_find(c, targets[i]);
            if (!p) continue;
            struct dg_alert *h = dg_hold_of(c, p, NULL);
            if (!h)
                p->pending.active = false; /* permits resume on the next tick */
            else if (strcmp(p->pending.alert_id, alert_id) == 0)
                dg_copy_str(p->pending.alert_id, sizeof p->pending.alert_id, h->alert_id);
        }
        /* A reset weight change of the pump's current session: the
           clinician confirms the new weight (a reset of an earlier session's
           says nothing about this one's). */
        if (strcmp(condition, "weight-change") == 0) {
            struct dg_pump *p = dg_pump_find(c, source);
            if (p && strcmp(p->weight_alert_id, alert_id) == 0) {
                p->weight_adopt = true;
                p->weight_alert_id[0] = '\0';
            }
        }
        return 0;
    }
    emit_snapshot(c, b, now);
    return 0;
}
