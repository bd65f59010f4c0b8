/*
 * core.c — the pure interlock core (see core.h).
 *
 * State
 *   pumps[]    last accepted telemetry per pump (dedup by session + seq)
 *   monitors[] last accepted vitals per monitor (dedup by seq)
 *   beds[]     active alerts per bed, each alert owned by its bed
 * Tables are small arrays searched linearly: a clinic has tens of chairs.
 *
 * Alert lifecycle: raise -> (update | escalate | deescalate)* ->
 * acknowledge? -> clear. A condition that goes away clears a non-latched
 * alert. A latched alert (the gateway asked a pump to pause or stop) stays
 * until an acknowledgement with reset; only then is it cleared. Every step is
 * emitted as an alert event, an audit event, and a fresh snapshot of the
 * bed's active alerts (the retained alarm state), in that order.
 */
#include "core.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "error.h"

#define ACK_IDS_KEPT 64 /* recent ack ids remembered for dedup */

struct pump {
    char id[DG_ID_MAX];
    char bed_id[DG_ID_MAX];
    char session_id[DG_ID_MAX];
    uint64_t last_seq;
    struct dg_telemetry last;
};

struct monitor {
    char id[DG_ID_MAX];
    uint64_t last_seq;
    struct dg_vitals last;
};

struct bed {
    char id[DG_ID_MAX];
    uint64_t snapshot_seq;
    size_t n_alerts, cap_alerts;
    struct dg_alert **alerts; /* owned */
};

struct dg_core {
    struct dg_sink sink;
    const struct dg_druglib *lib;
    char gateway_id[DG_ID_MAX];
    char id_prefix[24];
    uint64_t next_alert, next_command, event_seq;
    uint64_t duplicates;
    size_t n_pumps, cap_pumps;
    struct pump *pumps;
    size_t n_monitors, cap_monitors;
    struct monitor *monitors;
    size_t n_beds, cap_beds;
    struct bed *beds;
    char ack_ids[ACK_IDS_KEPT][DG_ID_MAX];
    size_t ack_next;
};

static void copy_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

/* Grow *arr (of elem bytes) so that it holds at least need elements. */
static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    while (ncap < need)
        ncap *= 2;
    void *p = dg_realloc(*arr, ncap * elem);
    if (!p) return -DG_ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

int dg_core_new(dg_core **out, const struct dg_core_config *cfg, const struct dg_sink *sink)
{
    dg_core *c = dg_calloc(1, sizeof *c);
    if (!c) return -DG_ENOMEM;
    c->sink = *sink;
    c->lib = cfg->druglib;
    copy_str(c->gateway_id, sizeof c->gateway_id, cfg->gateway_id);
    copy_str(c->id_prefix, sizeof c->id_prefix, cfg->id_prefix);
    *out = c;
    return 0;
}

void dg_core_free(dg_core *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n_beds; i++) {
        for (size_t j = 0; j < c->beds[i].n_alerts; j++)
            dg_free(c->beds[i].alerts[j]);
        dg_free(c->beds[i].alerts);
    }
    dg_free(c->beds);
    dg_free(c->pumps);
    dg_free(c->monitors);
    dg_free(c);
}

void dg_core_stats(const dg_core *c, struct dg_core_stats *out)
{
    memset(out, 0, sizeof *out);
    out->pumps = (uint32_t)c->n_pumps;
    out->monitors = (uint32_t)c->n_monitors;
    out->beds = (uint32_t)c->n_beds;
    out->duplicates = c->duplicates;
    for (size_t i = 0; i < c->n_beds; i++)
        out->active_alerts += (uint32_t)c->beds[i].n_alerts;
}

/* ------------------------------------------------------------ lookups */

static struct bed *bed_get(dg_core *c, const char *id)
{
    for (size_t i = 0; i < c->n_beds; i++)
        if (strcmp(c->beds[i].id, id) == 0) return &c->beds[i];
    if (grow((void **)&c->beds, &c->cap_beds, c->n_beds + 1, sizeof *c->beds) != 0) return NULL;
    struct bed *b = &c->beds[c->n_beds++];
    memset(b, 0, sizeof *b);
    copy_str(b->id, sizeof b->id, id);
    return b;
}

static struct pump *pump_get(dg_core *c, const char *id)
{
    for (size_t i = 0; i < c->n_pumps; i++)
        if (strcmp(c->pumps[i].id, id) == 0) return &c->pumps[i];
    if (grow((void **)&c->pumps, &c->cap_pumps, c->n_pumps + 1, sizeof *c->pumps) != 0) return NULL;
    struct pump *p = &c->pumps[c->n_pumps++];
    memset(p, 0, sizeof *p);
    copy_str(p->id, sizeof p->id, id);
    return p;
}

static struct monitor *monitor_get(dg_core *c, const char *id)
{
    for (size_t i = 0; i < c->n_monitors; i++)
        if (strcmp(c->monitors[i].id, id) == 0) return &c->monitors[i];
    if (grow((void **)&c->monitors, &c->cap_monitors, c->n_monitors + 1, sizeof *c->monitors) != 0)
        return NULL;
    struct monitor *m = &c->monitors[c->n_monitors++];
    memset(m, 0, sizeof *m);
    copy_str(m->id, sizeof m->id, id);
    return m;
}

static struct dg_alert *alert_find(struct bed *b, const char *condition, const char *source)
{
    for (size_t i = 0; i < b->n_alerts; i++) {
        struct dg_alert *a = b->alerts[i];
        if (strcmp(a->condition, condition) == 0 && strcmp(a->source_id, source) == 0) return a;
    }
    return NULL;
}

static struct dg_alert *alert_by_id(dg_core *c, const char *alert_id, struct bed **bed_out)
{
    for (size_t i = 0; i < c->n_beds; i++) {
        struct bed *b = &c->beds[i];
        for (size_t j = 0; j < b->n_alerts; j++) {
            if (strcmp(b->alerts[j]->alert_id, alert_id) == 0) {
                *bed_out = b;
                return b->alerts[j];
            }
        }
    }
    return NULL;
}

/* ------------------------------------------------------------ emitting */

static const char *const phase_names[] = {"",           "raise",       "update", "escalate",
                                          "deescalate", "acknowledge", "clear"};
static const char *const prio_names[] = {"none", "low", "medium", "high"};

static void emit_snapshot(dg_core *c, struct bed *b, struct dg_now now)
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

/* One lifecycle step: alert event, then its audit record. The caller emits
   the bed snapshot once it has finished changing the bed. */
static void emit_phase(dg_core *c, const struct dg_alert *a, enum dg_alert_phase phase,
                       struct dg_now now, const char *user)
{
    struct dg_alert_event ev = {
        .phase = phase, .seq = ++c->event_seq, .gateway_time_ms = now.wall_ms, .alert = a};
    if (c->sink.alert) c->sink.alert(c->sink.ctx, &ev);
    if (c->sink.audit) {
        char type[32], detail[DG_TEXT_MAX + 128];
        snprintf(type, sizeof type, "alert.%s", phase_names[phase]);
        snprintf(detail, sizeof detail, "%s %s %s bed=%s pump=%s value=%.3f limit=%.3f %s: %s",
                 a->alert_id, a->condition, prio_names[a->priority], a->bed_id, a->pump_id,
                 a->value, a->limit, a->unit, a->message);
        struct dg_audit_event au = {
            .event_type = type,
            .action = phase == DG_PHASE_RAISE ? "C" : (phase == DG_PHASE_CLEAR ? "D" : "U"),
            .outcome = DG_OUTCOME_SUCCESS,
            .participant_kind = user ? DG_PART_USER : DG_PART_GATEWAY,
            .participant_id = user ? user : c->gateway_id,
            .object_type = "alert",
            .object_id = a->alert_id,
            .detail = detail,
        };
        c->sink.audit(c->sink.ctx, &au);
    }
}

static void emit_command(dg_core *c, const struct dg_alert *a, enum dg_command_action action,
                         struct dg_now now)
{
    struct dg_command cmd;
    memset(&cmd, 0, sizeof cmd);
    snprintf(cmd.command_id, sizeof cmd.command_id, "%s-c%llu", c->id_prefix,
             (unsigned long long)++c->next_command);
    copy_str(cmd.pump_id, sizeof cmd.pump_id, a->pump_id);
    cmd.action = action;
    copy_str(cmd.reason_alert_id, sizeof cmd.reason_alert_id, a->alert_id);
    cmd.issue_time_ms = now.wall_ms;
    snprintf(cmd.reason, sizeof cmd.reason, "%s: %s", a->condition, a->message);
    if (c->sink.command) c->sink.command(c->sink.ctx, &cmd);
    if (c->sink.audit) {
        char detail[DG_TEXT_MAX + 96];
        snprintf(detail, sizeof detail, "%s %s pump=%s alert=%s: %s", cmd.command_id,
                 action == DG_CMD_STOP ? "stop" : "pause", cmd.pump_id, a->alert_id, cmd.reason);
        struct dg_audit_event au = {
            .event_type = action == DG_CMD_STOP ? "command.stop" : "command.pause",
            .action = "E",
            .outcome = DG_OUTCOME_SUCCESS,
            .participant_kind = DG_PART_GATEWAY,
            .participant_id = c->gateway_id,
            .object_type = "pump",
            .object_id = cmd.pump_id,
            .detail = detail,
        };
        c->sink.audit(c->sink.ctx, &au);
    }
}

/* ------------------------------------------------------------ alert changes */

/* What a rule says about one condition right now. */
struct finding {
    const char *condition;
    enum dg_alert_kind kind;
    enum dg_priority priority;
    enum dg_alert_action action;
    double value, limit;
    const char *unit;
    const char *limit_source;
    const char *message;
};

static int alert_raise(dg_core *c, struct bed *b, const struct dg_telemetry *t,
                       const struct finding *f, struct dg_now now)
{
    if (grow((void **)&b->alerts, &b->cap_alerts, b->n_alerts + 1, sizeof *b->alerts) != 0)
        return -DG_ENOMEM;
    struct dg_alert *a = dg_calloc(1, sizeof *a);
    if (!a) return -DG_ENOMEM;
    snprintf(a->alert_id, sizeof a->alert_id, "%s-a%llu", c->id_prefix,
             (unsigned long long)++c->next_alert);
    copy_str(a->condition, sizeof a->condition, f->condition);
    a->kind = f->kind;
    a->priority = f->priority;
    copy_str(a->bed_id, sizeof a->bed_id, b->id);
    copy_str(a->pump_id, sizeof a->pump_id, t->pump_id);
    copy_str(a->patient_ref, sizeof a->patient_ref, t->patient_ref);
    copy_str(a->source_id, sizeof a->source_id, t->pump_id);
    a->value = f->value;
    a->limit = f->limit;
    copy_str(a->unit, sizeof a->unit, f->unit);
    copy_str(a->limit_source, sizeof a->limit_source, f->limit_source);
    a->action = f->action;
    a->latched = f->action != DG_ACTION_NONE;
    a->raised_time_ms = now.wall_ms;
    a->device_time_ms = t->device_time_ms;
    copy_str(a->message, sizeof a->message, f->message);
    b->alerts[b->n_alerts++] = a;

    emit_phase(c, a, DG_PHASE_RAISE, now, NULL);
    if (f->action == DG_ACTION_PAUSE)
        emit_command(c, a, DG_CMD_PAUSE, now);
    else if (f->action == DG_ACTION_STOP)
        emit_command(c, a, DG_CMD_STOP, now);
    emit_snapshot(c, b, now);
    return 0;
}

static void alert_remove(struct bed *b, struct dg_alert *a)
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

static void alert_clear(dg_core *c, struct bed *b, struct dg_alert *a, struct dg_now now,
                        const char *user)
{
    emit_phase(c, a, DG_PHASE_CLEAR, now, user);
    alert_remove(b, a);
    emit_snapshot(c, b, now);
}

/*
 * Make the bed's alert for (condition, pump) agree with a finding: raise it
 * if absent, clear it if the condition is gone (unless latched).
 * f == NULL means the condition does not hold.
 */
static int reconcile(dg_core *c, struct bed *b, const struct dg_telemetry *t, const char *condition,
                     const struct finding *f, struct dg_now now)
{
    struct dg_alert *a = alert_find(b, condition, t->pump_id);
    if (f && !a) return alert_raise(c, b, t, f, now);
    if (!f && a && !a->latched) alert_clear(c, b, a, now, NULL);
    return 0;
}

/* ------------------------------------------------------------ rules */

/* Infusion rate in mg/kg/h, or NAN if the program does not say. */
static double rate_mg_per_kg_h(const struct dg_telemetry *t)
{
    const struct dg_program *p = &t->program;
    if (!t->has_program || p->patient_weight_kg <= 0 || p->concentration_mg_per_ml <= 0) return NAN;
    return t->rate_ml_per_h * p->concentration_mg_per_ml / p->patient_weight_kg;
}

static int rule_rate(dg_core *c, struct bed *b, const struct dg_telemetry *t,
                     const struct dg_drug *d, struct dg_now now)
{
    double rate = t->state == DG_PUMP_RUNNING ? rate_mg_per_kg_h(t) : NAN;
    const struct dg_limit *lim = &d->rate_mg_per_kg_h;
    char src_hard[DG_ID_MAX * 2], src_soft[DG_ID_MAX * 2], msg[DG_TEXT_MAX];
    snprintf(src_hard, sizeof src_hard, "%s.rate_mg_per_kg_h.hard", d->id);
    snprintf(src_soft, sizeof src_soft, "%s.rate_mg_per_kg_h.soft", d->id);

    int hard = !isnan(rate) && lim->hard > 0 && rate > lim->hard;
    int soft = !isnan(rate) && !hard && lim->soft > 0 && rate > lim->soft;
    int rc;

    /* Soft first, so that escalating from soft to hard clears the medium
       alert before the high one is raised. */
    struct finding fs = {
        .condition = "rate-soft",
        .kind = DG_KIND_PHYSIOLOGICAL,
        .priority = DG_PRIO_MEDIUM,
        .action = DG_ACTION_NONE,
        .value = rate,
        .limit = lim->soft,
        .unit = "mg/kg/h",
        .limit_source = src_soft,
        .message = msg,
    };
    if (soft)
        snprintf(msg, sizeof msg, "infusion rate %.3f mg/kg/h above soft limit %.3f", rate,
                 lim->soft);
    if ((rc = reconcile(c, b, t, "rate-soft", soft ? &fs : NULL, now)) != 0) return rc;

    struct finding fh = fs;
    fh.condition = "rate-hard";
    fh.priority = DG_PRIO_HIGH;
    fh.action = d->rate_hard_action;
    fh.limit = lim->hard;
    fh.limit_source = src_hard;
    if (hard)
        snprintf(msg, sizeof msg, "infusion rate %.3f mg/kg/h above hard limit %.3f (%s)", rate,
                 lim->hard,
                 d->rate_hard_action == DG_ACTION_STOP
                     ? "stop requested"
                     : (d->rate_hard_action == DG_ACTION_PAUSE ? "pause requested" : "no action"));
    return reconcile(c, b, t, "rate-hard", hard ? &fh : NULL, now);
}

/* ------------------------------------------------------------ inputs */

int dg_core_telemetry(dg_core *c, const struct dg_telemetry *t, struct dg_now now)
{
    struct pump *p = pump_get(c, t->pump_id);
    if (!p) return -DG_ENOMEM;
    int same_session = strcmp(p->session_id, t->session_id) == 0;
    if (p->last_seq && same_session && t->seq <= p->last_seq) {
        c->duplicates++;
        return -DG_EDUP;
    }
    struct bed *b = bed_get(c, t->bed_id);
    if (!b) return -DG_ENOMEM;
    p->last_seq = t->seq;
    copy_str(p->session_id, sizeof p->session_id, t->session_id);
    copy_str(p->bed_id, sizeof p->bed_id, t->bed_id);
    p->last = *t;

    const struct dg_drug *d =
        t->has_program ? dg_druglib_find(c->lib, t->program.drug_code, t->program.care_area) : NULL;
    if (d) return rule_rate(c, b, t, d, now);
    return 0;
}

int dg_core_vitals(dg_core *c, const struct dg_vitals *v, struct dg_now now)
{
    (void)now;
    struct monitor *m = monitor_get(c, v->monitor_id);
    if (!m) return -DG_ENOMEM;
    if (m->last_seq && v->seq <= m->last_seq) {
        c->duplicates++;
        return -DG_EDUP;
    }
    if (!bed_get(c, v->bed_id)) return -DG_ENOMEM;
    m->last_seq = v->seq;
    m->last = *v;
    return 0;
}

int dg_core_ack(dg_core *c, const struct dg_ack *ack, struct dg_now now)
{
    if (ack->ack_id[0]) {
        for (size_t i = 0; i < ACK_IDS_KEPT; i++)
            if (strcmp(c->ack_ids[i], ack->ack_id) == 0) return -DG_EDUP;
        copy_str(c->ack_ids[c->ack_next], DG_ID_MAX, ack->ack_id);
        c->ack_next = (c->ack_next + 1) % ACK_IDS_KEPT;
    }
    struct bed *b = NULL;
    struct dg_alert *a = alert_by_id(c, ack->alert_id, &b);
    if (!a) return -DG_ENOTFOUND;
    if (!a->acknowledged) {
        a->acknowledged = true;
        emit_phase(c, a, DG_PHASE_ACKNOWLEDGE, now, ack->user_id);
    }
    if (ack->reset && a->latched) {
        /* The clinician takes over: the latch is released and the alert
           cleared. If the condition still holds, the next message raises a
           new alert (and a new pause). */
        alert_clear(c, b, a, now, ack->user_id);
        return 0;
    }
    emit_snapshot(c, b, now);
    return 0;
}
