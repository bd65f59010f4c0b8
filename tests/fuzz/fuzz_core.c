/*
 * fuzz_core.c — libFuzzer harness for the interlock core: one dg_core per
 * input, driven by a sequence of operations, watched through its sink.
 *
 * Input layout: a sequence of operations, each one op byte and its operands.
 *   op bits 0-1  0 or 3 telemetry, 1 vitals, 2 ack
 *   op bit  2    1: the operand is a length byte L and L bytes of protobuf,
 *                   decoded and validated by the real codec (a rejected
 *                   message is not fed to the core);
 *                0: the operand is a few bytes picking fields from small
 *                   sets (see structured_*), so ids collide, limits are
 *                   crossed and acks name live alerts
 *   op bit  3    a byte k follows: fail the (1 + k % 16)-th allocation from
 *                now on (decode + core call), to walk the out-of-memory paths
 *   op bits 4-7  v: the clocks advance by v * v * 50 ms before the call
 * Missing operand bytes at the end of the input read as 0.
 *
 * The drug library has ketamine-trd soft 1.125 hard 1.5 mg/kg/h with pause
 * (any care area), ketamine-trd in "icu" 1.0 / 1.25 with stop, propofol hard
 * 4 with no action, saline without limits and midazolam soft 0.1 only.
 *
 * Properties checked (a broken one aborts), besides the sanitizers:
 *   - alert events: seq +1 each; a raise has a new id, and its bed has no
 *     other active alert for the same (condition, source); every other phase
 *     names an active alert and keeps its (bed, condition, source);
 *     acknowledge only inside an ack, once; an alert that requested an
 *     action is latched, stays latched, and clears only inside an ack with
 *     reset;
 *   - each ActiveAlarms snapshot lists exactly the bed's alerts raised and
 *     not cleared, with the right count, highest priority and seq (+1 per
 *     bed);
 *   - a command is PAUSE, STOP or PERMIT, names a pump that sent telemetry,
 *     cites an active alert (PAUSE/STOP) of that pump whose action it is,
 *     and every alert that requests an action (raise, or a phase that
 *     changes its action) gets a command within the same call;
 *   - return codes: duplicates and ack dedup are exactly as documented
 *     (mirrored here), -DG_ENOTFOUND only for an alert that is not active,
 *     -DG_ENOMEM only under an injected failure; dg_core_stats agrees with
 *     the mirror (active alerts, duplicates);
 *   - the rate rule: after accepted telemetry, the pump's bed has a high
 *     rate alert when the rate is above hard, at least a medium one between
 *     soft and hard, and (when the drug has an entry) no unlatched one once
 *     it is back under; see also DG_FUZZ_CORE_STRICT below;
 *   - alert events, snapshots and commands carry the call's wall time;
 *   - every alert, snapshot and command encodes (dg_codec_encode_*);
 *   - dg_alloc_live() is back to its start after dg_core_free().
 *
 * Build: -DDG_FUZZ=ON with clang (tests/fuzz/CMakeLists.txt). Seeds:
 * tests/fuzz/corpus/core (written by make_seeds).
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/core.h"
#include "core/error.h"
#include "io/codec.h"

#define T_2026     1767225600000ULL
#define ID_PREFIX  "fz"
#define ACK_RING   64 /* core.c ACK_IDS_KEPT: acks ids remembered for dedup */
#define MAX_ALERTS 4096
#define CALL_MAX   64 /* outputs of one core call the harness keeps */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_core: property violated: %s\n", what);
        abort();
    }
}

/*
 * Strict checks (on by default; DG_FUZZ_CORE_STRICT=0 turns them off) hold
 * the core to two documented promises (seeds oom-first-raise,
 * idle-after-soft, move-bed):
 *   - core.h: a message answered -DG_ENOMEM is not recorded as processed,
 *     so its redelivery is processed again (not a duplicate);
 *   - docs/operations.md: an unlatched rate alert lasts only while the rate
 *     is over a limit on the bed the pump is on: it clears when the pump
 *     stops running, loses its program, or moves to another bed.
 */
static bool strict;

/* DG_FUZZ_CORE_TRACE=1 prints every call and output on stderr (to read a
   crash input: fuzz_core -runs=1 FILE). */
static bool trace;

/* ---------------------------------------------------------------- drug library */

static struct dg_druglib lib;

static void add_drug(const char *id, const char *area, double soft, double hard,
                     enum dg_alert_action action)
{
    struct dg_drug *d = &lib.drugs[lib.n_drugs++];
    snprintf(d->id, sizeof d->id, "%s", id);
    snprintf(d->care_area, sizeof d->care_area, "%s", area);
    snprintf(d->name, sizeof d->name, "%s", id);
    d->rate_mg_per_kg_h.soft = soft;
    d->rate_mg_per_kg_h.hard = hard;
    d->rate_hard_action = action;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(lib.id, sizeof lib.id, "fuzz-lib");
    snprintf(lib.version, sizeof lib.version, "1");
    add_drug("ketamine-trd", "", 1.125, 1.5, DG_ACTION_PAUSE);
    add_drug("ketamine-trd", "icu", 1.0, 1.25, DG_ACTION_STOP);
    add_drug("propofol", "", 0, 4.0, DG_ACTION_NONE);
    add_drug("saline", "", 0, 0, DG_ACTION_PAUSE);
    add_drug("midazolam", "", 0.1, 0, DG_ACTION_PAUSE);
    const char *e = getenv("DG_FUZZ_CORE_STRICT");
    strict = !(e && e[0] == '0');
    e = getenv("DG_FUZZ_CORE_TRACE");
    trace = e && e[0] == '1';
    return 0;
}

/* ---------------------------------------------------------------- mirror */

struct mirror_alert {
    char id[DG_ID_MAX];
    char bed[DG_ID_MAX];
    char condition[DG_ID_MAX];
    char source[DG_ID_MAX];
    char pump[DG_ID_MAX];
    enum dg_priority priority;
    enum dg_alert_action action;
    bool latched;
    bool acknowledged;
};

struct mirror_pump {
    char id[DG_ID_MAX];
    char session[DG_ID_MAX];
    uint64_t last_seq;
    enum dg_command_action strongest; /* strongest PAUSE/STOP ever sent to it */
    bool exact; /* false after -DG_ENOMEM: the core may or may not have taken it */
};

struct mirror_monitor {
    char id[DG_ID_MAX];
    uint64_t last_seq;
    bool exact;
};

struct mirror_bed {
    char id[DG_ID_MAX];
    uint64_t snapshot_seq;
};

enum call { CALL_NONE, CALL_TELEMETRY, CALL_VITALS, CALL_ACK };

/* Everything the harness knows about the core; reset per input. The tables
   are small and searched linearly, like the core's. */
struct mirror {
    enum call in_call;
    const struct dg_ack *ack; /* the ack being fed, in CALL_ACK */
    bool encode;              /* no failure injected: encoders must succeed */
    struct dg_now now;        /* of the call in progress */
    uint64_t event_seq;
    uint64_t duplicates;

    size_t n_active;
    struct mirror_alert active[MAX_ALERTS];
    size_t n_ever;
    char ever[MAX_ALERTS][DG_ID_MAX]; /* every alert id raised */

    /* The call in progress: alerts that requested an action, PAUSE/STOP
       commands, and alerts cleared; matched up in end_call(), so the core
       may emit a command before or after the alert event it cites. */
    size_t n_need_command, n_commands, n_cleared;
    char need_command[CALL_MAX][DG_ID_MAX];
    struct dg_command commands[CALL_MAX];
    struct mirror_alert cleared[CALL_MAX];
    char last_command[DG_ID_MAX];

    size_t n_pumps, n_monitors, n_beds;
    struct mirror_pump pumps[MAX_ALERTS];
    struct mirror_monitor monitors[MAX_ALERTS];
    struct mirror_bed beds[MAX_ALERTS];

    char ack_ids[ACK_RING][DG_ID_MAX];
    size_t ack_next;
};

static struct mirror m;

static void mirror_reset(void)
{
    m.in_call = CALL_NONE;
    m.ack = NULL;
    m.encode = false;
    m.event_seq = m.duplicates = 0;
    m.n_active = m.n_ever = 0;
    m.n_need_command = m.n_commands = m.n_cleared = 0;
    m.last_command[0] = '\0';
    m.n_pumps = m.n_monitors = m.n_beds = 0;
    memset(m.ack_ids, 0, sizeof m.ack_ids);
    m.ack_next = 0;
}

static int terminated(const char *s, size_t cap)
{
    return strnlen(s, cap) < cap;
}

static struct mirror_alert *active_by_id(const char *id)
{
    for (size_t i = 0; i < m.n_active; i++)
        if (strcmp(m.active[i].id, id) == 0) return &m.active[i];
    return NULL;
}

static struct mirror_alert *active_find(const char *bed, const char *condition, const char *src)
{
    for (size_t i = 0; i < m.n_active; i++) {
        struct mirror_alert *a = &m.active[i];
        if (!strcmp(a->bed, bed) && !strcmp(a->condition, condition) && !strcmp(a->source, src))
            return a;
    }
    return NULL;
}

static void need_command(const char *alert_id)
{
    check(m.n_need_command < CALL_MAX, "harness: need_command table");
    snprintf(m.need_command[m.n_need_command++], DG_ID_MAX, "%s", alert_id);
}

static struct mirror_pump *pump_find(const char *id);

/* After each core call: every PAUSE/STOP cites an alert that is active or
   was cleared in the call, of its pump, with its action; every alert that
   asked for an action got a command. */
static void end_call(void)
{
    for (size_t i = 0; i < m.n_commands; i++) {
        const struct dg_command *cmd = &m.commands[i];
        const struct mirror_alert *a = active_by_id(cmd->reason_alert_id);
        for (size_t j = 0; !a && j < m.n_cleared; j++)
            if (strcmp(m.cleared[j].id, cmd->reason_alert_id) == 0) a = &m.cleared[j];
        check(a != NULL, "command cites an alert");
        check(!a->pump[0] || strcmp(a->pump, cmd->pump_id) == 0,
              "command goes to the alert's pump");
        check((cmd->action == DG_CMD_PAUSE && a->action == DG_ACTION_PAUSE) ||
                  (cmd->action == DG_CMD_STOP && a->action == DG_ACTION_STOP),
              "command action is the alert's");
    }
    for (size_t i = 0; i < m.n_need_command; i++) {
        bool sent = false;
        for (size_t j = 0; j < m.n_commands && !sent; j++)
            sent = strcmp(m.commands[j].reason_alert_id, m.need_command[i]) == 0;
        /* Or the alert latched on an equal or stronger command already sent
           to its pump (the core sends one command per pump at a time). */
        const struct mirror_alert *na = active_by_id(m.need_command[i]);
        const struct mirror_pump *np = na && na->pump[0] ? pump_find(na->pump) : NULL;
        if (!sent && np && na)
            sent = np->strongest >= (na->action == DG_ACTION_STOP ? DG_CMD_STOP : DG_CMD_PAUSE);
        check(sent, "an alert that requests an action gets its command in the same call");
    }
    m.n_need_command = m.n_commands = m.n_cleared = 0;
    m.in_call = CALL_NONE;
}

static struct mirror_pump *pump_find(const char *id)
{
    for (size_t i = 0; i < m.n_pumps; i++)
        if (strcmp(m.pumps[i].id, id) == 0) return &m.pumps[i];
    return NULL;
}

static struct mirror_pump *pump_add(const char *id)
{
    struct mirror_pump *p = pump_find(id);
    if (p) return p;
    check(m.n_pumps < MAX_ALERTS, "harness: pump table");
    p = &m.pumps[m.n_pumps++];
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", id);
    p->exact = true;
    return p;
}

static struct mirror_monitor *monitor_add(const char *id)
{
    for (size_t i = 0; i < m.n_monitors; i++)
        if (strcmp(m.monitors[i].id, id) == 0) return &m.monitors[i];
    check(m.n_monitors < MAX_ALERTS, "harness: monitor table");
    struct mirror_monitor *mo = &m.monitors[m.n_monitors++];
    memset(mo, 0, sizeof *mo);
    snprintf(mo->id, sizeof mo->id, "%s", id);
    mo->exact = true;
    return mo;
}

static struct mirror_bed *bed_add(const char *id)
{
    for (size_t i = 0; i < m.n_beds; i++)
        if (strcmp(m.beds[i].id, id) == 0) return &m.beds[i];
    check(m.n_beds < MAX_ALERTS, "harness: bed table");
    struct mirror_bed *b = &m.beds[m.n_beds++];
    memset(b, 0, sizeof *b);
    snprintf(b->id, sizeof b->id, "%s", id);
    return b;
}

/* ---------------------------------------------------------------- sink */

static void check_alert_struct(const struct dg_alert *a)
{
    check(terminated(a->alert_id, sizeof a->alert_id) && a->alert_id[0], "alert.alert_id");
    check(terminated(a->condition, sizeof a->condition) && a->condition[0], "alert.condition");
    check(terminated(a->bed_id, sizeof a->bed_id) && a->bed_id[0], "alert.bed_id");
    check(terminated(a->pump_id, sizeof a->pump_id), "alert.pump_id");
    check(terminated(a->patient_ref, sizeof a->patient_ref), "alert.patient_ref");
    check(terminated(a->source_id, sizeof a->source_id) && a->source_id[0], "alert.source_id");
    check(terminated(a->unit, sizeof a->unit), "alert.unit");
    check(terminated(a->limit_source, sizeof a->limit_source), "alert.limit_source");
    check(terminated(a->message, sizeof a->message), "alert.message");
    check(a->kind >= DG_KIND_PHYSIOLOGICAL && a->kind <= DG_KIND_ADVISORY, "alert.kind");
    check(a->priority >= DG_PRIO_LOW && a->priority <= DG_PRIO_HIGH, "alert.priority");
    check(a->action >= DG_ACTION_NONE && a->action <= DG_ACTION_STOP, "alert.action");
    check(a->action == DG_ACTION_NONE || a->latched, "an alert that requested an action latches");
    check(!isnan(a->value) && isfinite(a->limit), "alert value and limit are numbers");
}

static void on_alert(void *ctx, const struct dg_alert_event *ev)
{
    (void)ctx;
    const struct dg_alert *a = ev->alert;
    if (trace)
        fprintf(stderr, "  alert phase=%d %s %s bed=%s pump=%s prio=%d action=%d value=%g\n",
                (int)ev->phase, a->alert_id, a->condition, a->bed_id, a->pump_id, (int)a->priority,
                (int)a->action, a->value);
    check(m.in_call != CALL_NONE, "alert event outside a core call");
    check(ev->seq == ++m.event_seq, "alert event seq +1");
    check(ev->gateway_time_ms == m.now.wall_ms, "alert event stamped with now");
    check(a->raised_time_ms <= m.now.wall_ms, "alert raised in the past");
    check(ev->phase >= DG_PHASE_RAISE && ev->phase <= DG_PHASE_CLEAR, "alert phase");
    check_alert_struct(a);
    struct mirror_alert *ma = active_by_id(a->alert_id);

    if (ev->phase == DG_PHASE_RAISE) {
        for (size_t i = 0; i < m.n_ever; i++)
            check(strcmp(m.ever[i], a->alert_id) != 0, "a raise has a new alert id");
        check(!active_find(a->bed_id, a->condition, a->source_id),
              "one active alert per (bed, condition, source)");
        check(m.n_active < MAX_ALERTS && m.n_ever < MAX_ALERTS, "harness: alert tables");
        snprintf(m.ever[m.n_ever++], DG_ID_MAX, "%s", a->alert_id);
        ma = &m.active[m.n_active++];
        memset(ma, 0, sizeof *ma);
        snprintf(ma->id, sizeof ma->id, "%s", a->alert_id);
        snprintf(ma->bed, sizeof ma->bed, "%s", a->bed_id);
        snprintf(ma->condition, sizeof ma->condition, "%s", a->condition);
        snprintf(ma->source, sizeof ma->source, "%s", a->source_id);
        snprintf(ma->pump, sizeof ma->pump, "%s", a->pump_id);
        ma->priority = a->priority;
        ma->action = a->action;
        ma->latched = a->latched;
        check(!a->acknowledged, "a new alert is not acknowledged");
        check(a->raised_time_ms == m.now.wall_ms, "raised now");
        if (a->action != DG_ACTION_NONE) need_command(a->alert_id);
    } else {
        check(ma != NULL, "event for an active alert");
        check(!strcmp(ma->bed, a->bed_id) && !strcmp(ma->condition, a->condition) &&
                  !strcmp(ma->source, a->source_id),
              "an alert keeps its identity (bed, condition, source)");
        if (ev->phase != DG_PHASE_CLEAR) {
            check(!ma->latched || a->latched, "a latched alert stays latched");
            if (a->action != DG_ACTION_NONE && a->action != ma->action) need_command(a->alert_id);
            ma->priority = a->priority;
            ma->action = a->action;
            ma->latched = a->latched;
        }
        if (ev->phase == DG_PHASE_ACKNOWLEDGE) {
            check(m.in_call == CALL_ACK, "acknowledge only from an ack");
            check(!ma->acknowledged && a->acknowledged, "acknowledged once");
            ma->acknowledged = true;
        } else if (ev->phase == DG_PHASE_CLEAR) {
            if (ma->latched)
                check(m.in_call == CALL_ACK && m.ack->reset,
                      "a latched alert clears only on an ack with reset");
            check(m.n_cleared < CALL_MAX, "harness: cleared table");
            m.cleared[m.n_cleared++] = *ma;
            *ma = m.active[--m.n_active];
        }
    }

    if (m.encode) {
        uint8_t *out = NULL;
        size_t len = 0;
        check(dg_codec_encode_alert(ev, &out, &len) == 0, "alert event encodes");
        dg_free(out);
    }
}

static void on_alarms(void *ctx, const struct dg_alarm_snapshot *s)
{
    (void)ctx;
    check(m.in_call != CALL_NONE, "snapshot outside a core call");
    check(s->bed_id && terminated(s->bed_id, DG_ID_MAX), "snapshot.bed_id");
    if (trace) fprintf(stderr, "  alarms bed=%s n=%zu\n", s->bed_id, s->n_alerts);
    struct mirror_bed *b = bed_add(s->bed_id);
    check(s->seq == ++b->snapshot_seq, "snapshot seq +1 per bed");
    check(s->gateway_time_ms == m.now.wall_ms, "snapshot stamped with now");
    size_t expected = 0;
    for (size_t i = 0; i < m.n_active; i++)
        if (strcmp(m.active[i].bed, s->bed_id) == 0) expected++;
    check(s->n_alerts == expected, "snapshot lists every active alert of the bed");
    enum dg_priority highest = DG_PRIO_NONE;
    for (size_t i = 0; i < s->n_alerts; i++) {
        const struct dg_alert *a = s->alerts[i];
        check_alert_struct(a);
        const struct mirror_alert *ma = active_by_id(a->alert_id);
        check(ma != NULL, "snapshot lists only alerts raised and not cleared");
        check(strcmp(ma->bed, s->bed_id) == 0 && strcmp(a->bed_id, s->bed_id) == 0,
              "snapshot lists only its bed's alerts");
        check(a->acknowledged == ma->acknowledged, "snapshot shows the acknowledgement");
        for (size_t j = 0; j < i; j++)
            check(strcmp(s->alerts[j]->alert_id, a->alert_id) != 0, "snapshot lists once");
        if (a->priority > highest) highest = a->priority;
    }
    check(s->highest == highest, "snapshot.highest");

    if (m.encode) {
        uint8_t *out = NULL;
        size_t len = 0;
        check(dg_codec_encode_alarms(s, &out, &len) == 0, "snapshot encodes");
        dg_free(out);
    }
}

static void on_command(void *ctx, const struct dg_command *cmd)
{
    (void)ctx;
    if (trace)
        fprintf(stderr, "  command %s action=%d pump=%s alert=%s\n", cmd->command_id,
                (int)cmd->action, cmd->pump_id, cmd->reason_alert_id);
    check(m.in_call != CALL_NONE, "command outside a core call");
    check(cmd->action == DG_CMD_PAUSE || cmd->action == DG_CMD_STOP || cmd->action == DG_CMD_PERMIT,
          "command is PAUSE, STOP or PERMIT");
    check(terminated(cmd->command_id, sizeof cmd->command_id) && cmd->command_id[0] &&
              strcmp(cmd->command_id, m.last_command) != 0,
          "command id set and new");
    snprintf(m.last_command, sizeof m.last_command, "%s", cmd->command_id);
    check(cmd->issue_time_ms == m.now.wall_ms, "command stamped with now");
    check(terminated(cmd->pump_id, sizeof cmd->pump_id) && pump_find(cmd->pump_id) != NULL,
          "command names a pump that sent telemetry");
    check(terminated(cmd->reason, sizeof cmd->reason), "command.reason");
    if (cmd->action != DG_CMD_PERMIT) {
        check(terminated(cmd->reason_alert_id, sizeof cmd->reason_alert_id),
              "command.reason_alert_id");
        check(m.n_commands < CALL_MAX, "harness: command table");
        m.commands[m.n_commands++] = *cmd;
        struct mirror_pump *mp = pump_find(cmd->pump_id);
        if (mp && cmd->action > mp->strongest) mp->strongest = cmd->action;
    }

    if (m.encode) {
        uint8_t *out = NULL;
        size_t len = 0;
        check(dg_codec_encode_command(cmd, &out, &len) == 0, "command encodes");
        dg_free(out);
    }
}

static void on_audit(void *ctx, const struct dg_audit_event *ev)
{
    (void)ctx;
    check(m.in_call != CALL_NONE, "audit outside a core call");
    check(ev->event_type && ev->action && ev->participant_id && ev->object_type && ev->object_id &&
              ev->detail,
          "audit event fields set");
    check(strlen(ev->action) == 1 && strchr("CRUDE", ev->action[0]), "audit action C/R/U/D/E");
    check(ev->participant_kind >= DG_PART_GATEWAY && ev->participant_kind <= DG_PART_USER,
          "audit participant kind");
}

/* ---------------------------------------------------------------- input */

struct reader {
    const uint8_t *p;
    size_t n;
};

static uint8_t next(struct reader *r)
{
    if (r->n == 0) return 0;
    r->n--;
    return *r->p++;
}

static const char *const drugs[] = {"ketamine-trd", "propofol", "saline", "midazolam", "unknown"};
static const char *const areas[] = {"", "icu"};
static const double concs[] = {1, 0, 0.5, 2, 10, 1000, 1e-3, 5};
static const double weights[] = {70, 0, 10, 50, 100, 500, 1e-300, 3};

/*
 * Telemetry from 5 bytes, within what the codec accepts:
 *   s0: pump (bits 0-1), bed (2-3), session (4-5), has_program (6), care area icu (7)
 *   s1: seq - 1
 *   s2: state (bits 0-2, 1 + v % 7), drug (3-5, v % 5), care area "ward" (6), +0.5 mL/h (7)
 *   s3: rate mL/h
 *   s4: concentration (bits 0-2), weight (3-5)
 */
static void structured_telemetry(struct reader *r, struct dg_telemetry *t)
{
    uint8_t s0 = next(r), s1 = next(r), s2 = next(r), s3 = next(r), s4 = next(r);
    memset(t, 0, sizeof *t);
    snprintf(t->pump_id, sizeof t->pump_id, "pump-%u", s0 & 3u);
    snprintf(t->bed_id, sizeof t->bed_id, "bed-%u", (s0 >> 2) & 3u);
    t->seq = 1u + s1;
    t->device_time_ms = T_2026 + t->seq * 1000u;
    t->state = (enum dg_pump_state)(1 + (s2 & 7u) % 7);
    unsigned session = (s0 >> 4) & 3u;
    int needs_session = t->state >= DG_PUMP_PROGRAMMED && t->state <= DG_PUMP_COMPLETE;
    if (session || needs_session) {
        snprintf(t->session_id, sizeof t->session_id, "s-%u", session);
        snprintf(t->patient_ref, sizeof t->patient_ref, "pt-%u", (s0 >> 2) & 3u);
    }
    t->has_program = (s0 >> 6) & 1u;
    if (t->has_program) {
        struct dg_program *p = &t->program;
        snprintf(p->drug_code, sizeof p->drug_code, "%s", drugs[((s2 >> 3) & 7u) % 5]);
        snprintf(p->care_area, sizeof p->care_area, "%s",
                 (s2 >> 6) & 1u ? "ward" : areas[(s0 >> 7) & 1u]);
        p->concentration_mg_per_ml = concs[s4 & 7u];
        p->patient_weight_kg = weights[(s4 >> 3) & 7u];
        p->dose_mg_per_kg = 0.75;
        p->duration_min = 40;
        p->rate_ml_per_h = s3;
    }
    t->rate_ml_per_h = s3 + ((s2 >> 7) & 1u ? 0.5 : 0);
    t->volume_infused_ml = (double)s1;
    t->dose_infused_mg = (double)s1;
}

/*
 * Vitals from 3 bytes:
 *   s0: monitor (bits 0-1), bed (2-3), heart rate / SpO2 / resp rate present (4-6), valid (7)
 *   s1: seq - 1
 *   s2: value of each measurement
 */
static void structured_vitals(struct reader *r, struct dg_vitals *v)
{
    uint8_t s0 = next(r), s1 = next(r), s2 = next(r);
    memset(v, 0, sizeof *v);
    snprintf(v->monitor_id, sizeof v->monitor_id, "mon-%u", s0 & 3u);
    snprintf(v->bed_id, sizeof v->bed_id, "bed-%u", (s0 >> 2) & 3u);
    v->seq = 1u + s1;
    v->device_time_ms = T_2026 + v->seq * 1000u;
    struct dg_measurement *ms[] = {&v->heart_rate_bpm, &v->spo2_pct, &v->resp_rate_bpm};
    for (unsigned i = 0; i < 3; i++) {
        if (!((s0 >> (4 + i)) & 1u)) continue;
        ms[i]->present = true;
        ms[i]->value = (double)(s2 % 100);
        ms[i]->valid = (s0 >> 7) & 1u;
    }
}

/*
 * An ack from 2 bytes:
 *   s0: alert (bits 0-3: the k-th active alert, or "fz-a<k>" past the end),
 *       reset (4), ack id (5-7: 0 none, else "ack-<n>")
 *   s1: user ("u-<s1 % 4>")
 */
static void structured_ack(struct reader *r, struct dg_ack *k, uint64_t wall_ms)
{
    uint8_t s0 = next(r), s1 = next(r);
    memset(k, 0, sizeof *k);
    unsigned which = s0 & 15u;
    if (which < m.n_active)
        snprintf(k->alert_id, sizeof k->alert_id, "%s", m.active[which].id);
    else
        snprintf(k->alert_id, sizeof k->alert_id, ID_PREFIX "-a%u", which);
    k->reset = (s0 >> 4) & 1u;
    unsigned ack = (s0 >> 5) & 7u;
    if (ack) snprintf(k->ack_id, sizeof k->ack_id, "ack-%u", ack);
    snprintf(k->user_id, sizeof k->user_id, "u-%u", s1 % 4u);
    k->time_ms = wall_ms;
}

/* ---------------------------------------------------------------- calls */

/* Conditions of the rate rule start with "rate" ("rate-soft", "rate-hard"). */
static bool is_rate(const struct mirror_alert *a)
{
    return strncmp(a->condition, "rate", 4) == 0;
}

/* An active rate alert of pump in bed with at least priority min (and not
   latched if only_unlatched). */
static bool has_rate_alert(const char *bed, const char *pump, enum dg_priority min,
                           bool only_unlatched)
{
    for (size_t i = 0; i < m.n_active; i++) {
        const struct mirror_alert *a = &m.active[i];
        if (is_rate(a) && !strcmp(a->bed, bed) && !strcmp(a->source, pump) && a->priority >= min &&
            (!only_unlatched || !a->latched))
            return true;
    }
    return false;
}

/*
 * After accepted telemetry: the pump's rate alerts in its bed agree with the
 * rate rule (docs/operations.md): above hard a high alert, between soft and
 * hard at least a medium one, and once the rate is back under (for a drug
 * with an entry) no unlatched one; an unlatched high one only above hard.
 */
static void check_rate_rule(const struct dg_telemetry *t)
{
    const struct dg_drug *d =
        t->has_program ? dg_druglib_find(&lib, t->program.drug_code, t->program.care_area) : NULL;
    const struct dg_program *p = &t->program;
    bool hard = false, soft = false;
    if (d && t->state == DG_PUMP_RUNNING && p->patient_weight_kg > 0 &&
        p->concentration_mg_per_ml > 0) {
        double rate = t->rate_ml_per_h * p->concentration_mg_per_ml / p->patient_weight_kg;
        const struct dg_limit *l = &d->rate_mg_per_kg_h;
        hard = l->hard > 0 && rate > l->hard;
        soft = !hard && l->soft > 0 && rate > l->soft;
    }
    if (hard) check(has_rate_alert(t->bed_id, t->pump_id, DG_PRIO_HIGH, false), "rate-hard raised");
    if (soft)
        check(has_rate_alert(t->bed_id, t->pump_id, DG_PRIO_MEDIUM, false), "rate-soft raised");
    if (d && !soft && !hard)
        check(!has_rate_alert(t->bed_id, t->pump_id, DG_PRIO_LOW, true), "rate alert cleared");
    if (d && !hard)
        check(!has_rate_alert(t->bed_id, t->pump_id, DG_PRIO_HIGH, true),
              "unlatched rate-hard cleared");
    if (!strict) return;
    /* An unlatched rate alert lasts only while the rate is over a limit on
       the pump's latest telemetry: not after the program is gone or names a
       drug without an entry, nor in a bed the pump has left. */
    for (size_t i = 0; i < m.n_active; i++) {
        const struct mirror_alert *a = &m.active[i];
        if (a->latched || !is_rate(a) || strcmp(a->source, t->pump_id) != 0) continue;
        check(strcmp(a->bed, t->bed_id) == 0 && (soft || hard),
              "strict: an unlatched rate alert clears when its condition is gone");
    }
}

static void feed_telemetry(dg_core *core, const struct dg_telemetry *t, struct dg_now now,
                           bool injected)
{
    struct mirror_pump *p = pump_add(t->pump_id);
    bool dup = p->last_seq && strcmp(p->session, t->session_id) == 0 && t->seq <= p->last_seq;
    if (trace)
        fprintf(stderr,
                "telemetry pump=%s bed=%s session=%s seq=%llu state=%d drug=%s/%s "
                "rate=%g mL/h conc=%g weight=%g%s\n",
                t->pump_id, t->bed_id, t->session_id, (unsigned long long)t->seq, (int)t->state,
                t->has_program ? t->program.drug_code : "-", t->program.care_area, t->rate_ml_per_h,
                t->program.concentration_mg_per_ml, t->program.patient_weight_kg,
                injected ? " (allocation failure armed)" : "");
    m.in_call = CALL_TELEMETRY;
    int rc = dg_core_telemetry(core, t, now);
    end_call();
    if (trace) fprintf(stderr, "  -> %d\n", rc);
    if (rc == -DG_ENOMEM) {
        check(injected, "telemetry -DG_ENOMEM only under injected failure");
        p->exact = false;
        if (!strict) return;
        /* "the message is then not processed": the same message again (the
           injected failure is spent) must not be a duplicate. */
        m.in_call = CALL_TELEMETRY;
        rc = dg_core_telemetry(core, t, now);
        end_call();
        if (trace) fprintf(stderr, "  retry -> %d\n", rc);
        check(rc != -DG_EDUP, "strict: telemetry refused with -DG_ENOMEM was not processed");
        check(rc == 0, "telemetry retry after -DG_ENOMEM is taken");
    }
    if (rc == -DG_EDUP) {
        check(!p->exact || dup, "telemetry -DG_EDUP only for a duplicate");
        m.duplicates++;
        return;
    }
    check(rc == 0, "telemetry returns 0, -DG_EDUP or -DG_ENOMEM");
    check(!p->exact || !dup, "a duplicate is dropped");
    p->exact = true;
    p->last_seq = t->seq;
    snprintf(p->session, sizeof p->session, "%s", t->session_id);
    bed_add(t->bed_id);
    check_rate_rule(t);
}

static void feed_vitals(dg_core *core, const struct dg_vitals *v, struct dg_now now, bool injected)
{
    struct mirror_monitor *mo = monitor_add(v->monitor_id);
    bool dup = mo->last_seq && v->seq <= mo->last_seq;
    m.in_call = CALL_VITALS;
    int rc = dg_core_vitals(core, v, now);
    end_call();
    if (trace)
        fprintf(stderr, "vitals monitor=%s bed=%s seq=%llu -> %d\n", v->monitor_id, v->bed_id,
                (unsigned long long)v->seq, rc);
    if (rc == -DG_ENOMEM) {
        check(injected, "vitals -DG_ENOMEM only under injected failure");
        mo->exact = false;
        return;
    }
    if (rc == -DG_EDUP) {
        check(!mo->exact || dup, "vitals -DG_EDUP only for a duplicate");
        m.duplicates++;
        return;
    }
    check(rc == 0, "vitals returns 0, -DG_EDUP or -DG_ENOMEM");
    check(!mo->exact || !dup, "a duplicate sample is dropped");
    mo->exact = true;
    mo->last_seq = v->seq;
    bed_add(v->bed_id);
}

static void feed_ack(dg_core *core, const struct dg_ack *k, struct dg_now now)
{
    bool dup = false;
    if (k->ack_id[0]) {
        for (size_t i = 0; i < ACK_RING; i++)
            if (strcmp(m.ack_ids[i], k->ack_id) == 0) dup = true;
        if (!dup) {
            snprintf(m.ack_ids[m.ack_next], DG_ID_MAX, "%s", k->ack_id);
            m.ack_next = (m.ack_next + 1) % ACK_RING;
        }
    }
    const struct mirror_alert *a = active_by_id(k->alert_id);
    bool clears = a && a->latched && k->reset;
    char id[DG_ID_MAX];
    snprintf(id, sizeof id, "%s", k->alert_id);

    if (trace)
        fprintf(stderr, "ack alert=%s reset=%d ack_id=%s user=%s\n", k->alert_id, (int)k->reset,
                k->ack_id, k->user_id);
    m.in_call = CALL_ACK;
    m.ack = k;
    int rc = dg_core_ack(core, k, now);
    end_call();
    m.ack = NULL;
    if (trace) fprintf(stderr, "  -> %d\n", rc);
    if (dup) {
        check(rc == -DG_EDUP, "an ack id seen among the last 64 is a duplicate");
        return;
    }
    if (!a) {
        check(rc == -DG_ENOTFOUND, "-DG_ENOTFOUND for an alert that is not active");
        return;
    }
    check(rc == 0, "an ack of an active alert is taken");
    a = active_by_id(id);
    if (clears)
        check(a == NULL, "ack with reset clears a latched alert");
    else
        check(a != NULL && a->acknowledged, "ack acknowledges, alert stays");
}

/* The length-prefixed protobuf chunk of a decoded operation, as an
   exact-size heap copy so ASan sees reads past it. */
static uint8_t *chunk(struct reader *r, size_t *len)
{
    size_t n = next(r);
    if (n > r->n) n = r->n;
    uint8_t *b = malloc(n ? n : 1);
    check(b != NULL, "harness: malloc");
    memcpy(b, r->p, n);
    r->p += n;
    r->n -= n;
    *len = n;
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mirror_reset();
    int64_t live = dg_alloc_live();
    struct dg_core_config cc = {.gateway_id = "gw-fuzz", .id_prefix = ID_PREFIX, .druglib = &lib};
    struct dg_sink sink = {NULL, on_alert, on_alarms, on_command, on_audit};
    dg_core *core = NULL;
    check(dg_core_new(&core, &cc, &sink) == 0, "dg_core_new");
    struct dg_now now = {.mono_ms = 1000, .wall_ms = T_2026};
    struct reader r = {data, size};

    while (r.n > 0) {
        uint8_t op = next(&r);
        unsigned kind = op & 3u;
        bool decoded = (op >> 2) & 1u;
        bool inject = (op >> 3) & 1u;
        uint64_t step = (uint64_t)(op >> 4);
        now.mono_ms += step * step * 50u;
        now.wall_ms += step * step * 50u;
        m.now = now;
        unsigned fail_n = inject ? 1u + next(&r) % 16u : 0;

        union {
            struct dg_telemetry t;
            struct dg_vitals v;
            struct dg_ack k;
        } in;
        struct dg_decode_error err;
        int rc = 0;
        uint8_t *buf = NULL;
        size_t len = 0;
        if (decoded) buf = chunk(&r, &len);

        m.encode = !inject;
        if (inject) dg_alloc_fail_after(fail_n);
        if (kind == 0 || kind == 3) {
            if (decoded)
                rc = dg_codec_decode_telemetry(buf, len, NULL, &in.t, &err);
            else
                structured_telemetry(&r, &in.t);
            if (rc == 0) feed_telemetry(core, &in.t, now, inject);
        } else if (kind == 1) {
            if (decoded)
                rc = dg_codec_decode_vitals(buf, len, NULL, &in.v, &err);
            else
                structured_vitals(&r, &in.v);
            if (rc == 0) feed_vitals(core, &in.v, now, inject);
        } else {
            if (decoded)
                rc = dg_codec_decode_ack(buf, len, &in.k, &err);
            else
                structured_ack(&r, &in.k, now.wall_ms);
            if (rc == 0) feed_ack(core, &in.k, now);
        }
        dg_alloc_fail_after(0);
        check(rc == 0 || rc == -DG_EINVAL || (rc == -DG_ENOMEM && inject),
              "decoder returns 0, -DG_EINVAL, or -DG_ENOMEM when injected");
        free(buf);

        struct dg_core_stats st;
        dg_core_stats(core, &st);
        check(st.active_alerts == m.n_active, "stats.active_alerts == alerts raised, not cleared");
        check(st.duplicates == m.duplicates, "stats.duplicates == duplicates returned");
        check(st.beds >= m.n_beds && st.pumps <= m.n_pumps && st.monitors <= m.n_monitors,
              "stats count the devices and beds");
    }

    dg_core_free(core);
    check(dg_alloc_live() == live, "dg_core_free releases everything");
    return 0;
}
