/*
 * fuzz_core.c — libFuzzer harness for the interlock core: one dg_core per
 * input, driven by a sequence of operations, watched through its sink and
 * held to a mirror of what the documentation promises (core.h, trust.c,
 * core.c, alerts.c; docs/rules.md "What the gateway believes" and "Latches
 * and the alert lifecycle").
 *
 * Input layout: a sequence of operations, each one op byte and its operands.
 *   op bits 0-1  0 telemetry, 1 vitals, 2 ack, 3 tick (no operand)
 *   op bit  2    1: the operand is a length byte L and L bytes of protobuf,
 *                   decoded and validated by the real codec (a rejected
 *                   message is not fed to the core; a tick has no operand);
 *                0: the operand is a few bytes picking fields from small
 *                   sets (see structured_*), so ids collide, limits are
 *                   crossed, devices reboot and their clocks jump, and acks
 *                   name live alerts
 *   op bit  3    a byte k follows: fail the (1 + k % 16)-th allocation from
 *                now on (decode + core call), to walk the out-of-memory paths
 *   op bits 4-7  v: the clocks advance by v * v * 50 ms before the call
 * Missing operand bytes at the end of the input read as 0.
 *
 * The drug library has the contract's vital-sign and liveness rules
 * (dg_druglib_defaults: condition delays, baseline grace 2 min, clock-jump
 * tolerance 5 s, permits every 1 s valid 5 s), and the drugs ketamine-trd
 * rate soft 1.125 hard 1.5 mg/kg/h with pause (any care area), ketamine-trd
 * in "icu" 1.0 / 1.25 with stop, propofol hard 4 with no action, saline
 * without limits and midazolam soft 0.1 only; every entry refuses boluses
 * (pause) and a missing weight (stop on start). Permits-to-infuse are on.
 *
 * Properties checked (a broken one aborts), besides the sanitizers:
 *   - alert events: seq +1 each; a raise has a new id (ids only grow), and
 *     its bed has no other active alert for the same (condition, source);
 *     every other phase names an active alert and keeps its (bed,
 *     condition, source); acknowledge only inside an ack, once; an alert
 *     that requested an action is latched, stays latched, and clears only
 *     inside an ack with reset; targets: at most DG_TARGETS_MAX, unique,
 *     pumps that sent telemetry, never dropped while the alert lives,
 *     named by pump_id (the first of them); a
 *     latched alert has one; resumes count up one per telemetry call, and
 *     an alert a held pump resumed under twice asks for a stop;
 *   - each ActiveAlarms snapshot lists exactly the bed's alerts raised and
 *     not cleared, as their last event left them (priority, action, latch,
 *     acknowledgement), with the right count, highest priority and seq (+1
 *     per bed);
 *   - commands: PAUSE, STOP or PERMIT, a new id, to a pump that sent
 *     telemetry; a PAUSE/STOP cites an active alert (or one cleared in the
 *     same call) with that action, goes to one of its targets, and every
 *     alert that requests an action gets a command within the same call;
 *     bounded: per call and pump at most one PAUSE and one STOP, never a
 *     PAUSE after a STOP, at most one PERMIT; an ack sends none; a
 *     telemetry's commands go to its own pump; a vitals sample's go only to
 *     pumps on its bed or already held by the alert (for the baseline's
 *     stop); a vital-sign (bed-wide)
 *     action goes to a pump whose latest telemetry said RUNNING on that bed,
 *     or one the alert already held (running anywhere, or paused, for a
 *     stop), and at its raise or escalation reaches every pump running on
 *     the bed;
 *   - permits: only from the tick, only to a running pump whose latest
 *     telemetry says permit_required, not held by a latch, not silent past
 *     pump_silent_crit_s, at most once per permit_period_s, valid
 *     permit_valid_s (relative), citing no alert; and every such pump due
 *     one gets it;
 *   - sequence numbers per (device, incarnation), mirrored (trust.c): a
 *     message is -DG_EDUP exactly when the mirror calls it a duplicate, and
 *     dg_core_note() gives the mirror's reason, last seq, reboot, gap and
 *     clock jump; dg_core_stats agrees with the mirror (active alerts,
 *     duplicates by reason; reboots, gaps, missing and clock jumps while no
 *     allocation has failed);
 *   - return codes: ack dedup exactly as documented (mirrored here),
 *     -DG_ENOTFOUND only for an alert that is not active, -DG_ENOMEM only
 *     under an injected failure; a message refused with -DG_ENOMEM is not
 *     recorded: its redelivery is processed (strict, below);
 *   - the rate rule, judged with the session's trusted weight (the program
 *     weight at the session's first RUNNING report, replaced by the
 *     program's at the pump's next telemetry after a weight-change alert of
 *     it was reset): after accepted telemetry, the pump's bed has a high
 *     rate alert when the rate is above hard, at least a medium one between
 *     soft and hard, and (when the drug has an entry) no unlatched one once
 *     it is back under; see also DG_FUZZ_CORE_STRICT below;
 *   - weight-change: a session that ran and whose program weight differs
 *     from the trusted one has a high weight-change alert, latched with a
 *     pause when the pump runs or is programmed; none unlatched otherwise;
 *   - latches hold: after accepted RUNNING telemetry of a pump that a latch
 *     holds, a command as strong as the latch is waiting for the pump
 *     (mirrored: commands sent, honoured, new sessions, resets);
 *   - bed membership: an unlatched alert a pump or monitor is the source of
 *     is on the bed that device last reported;
 *   - a critical heart rate, SpO2 or resp rate on a bed where a pump's
 *     latest telemetry says it runs is a high alert of its monitor there;
 *   - condition delays: a medium heart-rate, spo2 or resp-rate alert comes
 *     only from a sample of its own monitor whose warning condition has
 *     held, on that monitor's clock, for the delay, counted from no earlier
 *     than the mirror's start of the run (which restarts on a jump, a move
 *     or a normal value);
 *   - the "no baseline" warning comes only from the tick;
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
#define ACK_RING   64 /* alerts.c DG_ACK_IDS_KEPT: ack ids remembered for dedup */
#define INC_KEPT   4  /* internal.h DG_INCARNATIONS_KEPT: incarnations left, remembered */
#define MAX_ALERTS 4096
#define MAX_DEV    512  /* pumps, monitors, beds the mirror tracks */
#define CALL_MAX   1024 /* outputs of one core call the harness keeps */
#define N_STRUCT   4    /* pumps, monitors, beds of the structured operations */

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
 *     so its redelivery is processed again (not a duplicate): the harness
 *     redelivers it at once (the injected failure is spent) and the mirror
 *     counts the pair as that one message;
 *   - docs/operations.md: an unlatched rate alert lasts only while the rate
 *     is over a limit on the bed the pump is on: it clears when the pump
 *     stops running, loses its program, or moves to another bed.
 * Without them, a device refused with -DG_ENOMEM is not redelivered and the
 * mirror stops judging what it cannot know about it.
 *
 * The strict checks also hold the core to promises this harness found it
 * breaking (each fixed, each with its seed, each a regression test in
 * tests/unit/test_devices.c):
 *   - core.h / trust.c (seed oom-jump): a message refused with -DG_ENOMEM is
 *     not recorded, its device's clock included, so its redelivery is judged
 *     as the message was: the same clock jump, satisfying no condition delay;
 *   - docs/rules.md "Beds: membership" (seed baseline-moved): a vitals
 *     sample's actions reach only pumps of its bed; a start's wait for a
 *     baseline ends when its pump leaves the bed or its session ends;
 *   - types.h (seed pump-id-target): alert.pump_id is the first of the
 *     alert's targets once it has any;
 *   - docs/rules.md "Programs: checked on every change" (seed
 *     weight-adopt-other-session): only the reset of the weight-change alert
 *     of the pump's current session adopts the program's weight.
 * and one promise the harness itself had wrong (the campaign of 2026-12-02,
 * seed weight-change-two-beds): of two weight-change alerts of one session
 * (the pump moved beds with the edit outstanding), only the reset of the one
 * on the pump's bed now adopts the weight; the core was right.
 */
static bool strict;

/* DG_FUZZ_CORE_TRACE=1 prints every call and output on stderr (to read a
   crash input: fuzz_core -runs=1 FILE). */
static bool trace;

/* DG_FUZZ_CORE_OOM=1 arms an allocation failure for every operation: the
   op's own k when bit 3 is set, else the (1 + i % 16)-th allocation of the
   i-th operation. */
static bool oom_all;

/* ---------------------------------------------------------------- drug library */

static struct dg_druglib lib;

static void add_drug(const char *id, const char *area, double soft, double hard,
                     enum dg_alert_action action)
{
    struct dg_drug *d = &lib.drugs[lib.n_drugs++];
    memset(d, 0, sizeof *d);
    dg_drug_defaults(d, 0); /* actions only: no limit but the rate's */
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
    memset(&lib, 0, sizeof lib);
    dg_druglib_defaults(&lib);
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
    e = getenv("DG_FUZZ_CORE_OOM");
    oom_all = e && e[0] == '1';
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
    bool bed_wide;
    uint32_t resumes;
    size_t n_targets;
    char targets[DG_TARGETS_MAX][DG_ID_MAX];
    uint64_t target_call[DG_TARGETS_MAX]; /* the call in which each was first seen */
};

/* Sequence numbers of one device, as trust.c documents them. */
struct mirror_seq {
    bool have;
    uint64_t incarnation, last_seq;
    size_t n_retired;
    uint64_t retired[INC_KEPT]; /* newest first */
};

/* A device clock, as trust.c judges it (device_time_scale 1). */
struct mirror_clock {
    bool have;
    bool known; /* false after -DG_ENOMEM: the core may have recorded it */
    uint64_t last_device_ms, last_recv_ms;
};

struct mirror_pump {
    char id[DG_ID_MAX];
    struct mirror_seq seq;
    bool seq_exact; /* false after -DG_ENOMEM when not redelivered (not strict) */
    struct mirror_clock clock;
    /* What the core believes of it: exact unless a message of it was
       refused with -DG_ENOMEM and not redelivered (not strict). */
    bool known;
    bool have_last;
    enum dg_pump_state state;
    char bed[DG_ID_MAX];
    bool permit_required;
    uint64_t last_seen_mono_ms;
    bool session_known;
    char session[DG_ID_MAX];
    bool started;
    double trusted_kg;
    bool adopt; /* a weight-change alert of it was reset: adopt at the next telemetry */
    /* The trusted weight is known (false only without strict checks, after
       the reset of a weight-change alert of another session). */
    bool weight_known;
    /* The weight-change alerts this session's edits are on. */
    size_t n_wc;
    char wc_ids[4][DG_ID_MAX];
    /* The one that speaks for the session now (rules_pump.c
       weight_alert_id): the alert on the pump's bed when an edit was last
       judged. Only its reset adopts the weight; the reset of one left on a
       bed the pump has left adopts nothing (seed weight-change-two-beds). */
    char wc_current[DG_ID_MAX];
    bool pending;
    enum dg_command_action pending_action;
    enum dg_command_action strongest; /* strongest PAUSE/STOP ever sent to it */
    uint64_t last_permit_mono_ms;
    /* The call in progress. */
    unsigned call_pause, call_stop, call_permit;
    bool held_at_start; /* a latch held it when the call began */
    bool permit_due;    /* a tick must send it a permit */
};

struct mirror_monitor {
    char id[DG_ID_MAX];
    struct mirror_seq seq;
    bool seq_exact;
    struct mirror_clock clock;
    bool known;
    char bed[DG_ID_MAX];
    /* Condition delays (heart rate, SpO2, resp rate): device time at which
       the current unbroken run of warning samples began (0 = none), and
       whether the core's run can be no older than it. */
    uint64_t since_ms[3];
    bool since_known[3];
};

struct mirror_bed {
    char id[DG_ID_MAX];
    uint64_t snapshot_seq;
};

enum call { CALL_NONE, CALL_TELEMETRY, CALL_VITALS, CALL_ACK, CALL_TICK };

/* Everything the harness knows about the core; reset per input. The tables
   are small and searched linearly, like the core's. */
struct mirror {
    enum call in_call;
    uint64_t call_no;               /* +1 per core call */
    const struct dg_ack *ack;       /* the ack being fed, in CALL_ACK */
    const struct dg_telemetry *tel; /* the telemetry being fed, in CALL_TELEMETRY */
    const struct dg_vitals *vit;    /* the sample being fed, in CALL_VITALS */
    bool encode;                    /* no failure injected: encoders must succeed */
    bool any_oom;                   /* an allocation failed in this input */
    struct dg_now now;              /* of the call in progress */
    uint64_t event_seq;
    uint64_t last_alert_no, last_command_no;
    uint64_t dup_repeated, dup_backwards, dup_stale;
    uint64_t reboots, seq_gaps, seq_missing, clock_jumps;

    size_t n_active;
    struct mirror_alert active[MAX_ALERTS];

    /* The call in progress: alerts that requested an action, PAUSE/STOP
       commands, and alerts cleared; matched up in end_call(), so the core
       may emit a command before or after the alert event it cites. */
    size_t n_need_command, n_commands, n_cleared;
    char need_command[CALL_MAX][DG_ID_MAX];
    struct dg_command commands[CALL_MAX];
    struct mirror_alert cleared[CALL_MAX];

    size_t n_pumps, n_monitors, n_beds;
    struct mirror_pump pumps[MAX_DEV];
    struct mirror_monitor monitors[MAX_DEV];
    struct mirror_bed beds[MAX_DEV];

    char ack_ids[ACK_RING][DG_ID_MAX];
    size_t ack_next;
};

static struct mirror m;

/* The structured operations' devices: each one's clock offset from the
   gateway's wall clock (it jumps when an operation says so). */
static int64_t pump_offset_ms[N_STRUCT], monitor_offset_ms[N_STRUCT];

static void mirror_reset(void)
{
    m.in_call = CALL_NONE;
    m.call_no = 0;
    m.ack = NULL;
    m.tel = NULL;
    m.vit = NULL;
    m.encode = false;
    m.any_oom = false;
    m.event_seq = m.last_alert_no = m.last_command_no = 0;
    m.dup_repeated = m.dup_backwards = m.dup_stale = 0;
    m.reboots = m.seq_gaps = m.seq_missing = m.clock_jumps = 0;
    m.n_active = 0;
    m.n_need_command = m.n_commands = m.n_cleared = 0;
    m.n_pumps = m.n_monitors = m.n_beds = 0;
    memset(m.ack_ids, 0, sizeof m.ack_ids);
    m.ack_next = 0;
    memset(pump_offset_ms, 0, sizeof pump_offset_ms);
    memset(monitor_offset_ms, 0, sizeof monitor_offset_ms);
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

static int target_index(const struct mirror_alert *a, const char *pump_id)
{
    for (size_t i = 0; i < a->n_targets; i++)
        if (strcmp(a->targets[i], pump_id) == 0) return (int)i;
    return -1;
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
    check(m.n_pumps < MAX_DEV, "harness: pump table");
    p = &m.pumps[m.n_pumps++];
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", id);
    p->seq_exact = true;
    p->clock.known = true;
    p->known = true;
    p->weight_known = true;
    return p;
}

static struct mirror_monitor *monitor_find(const char *id)
{
    for (size_t i = 0; i < m.n_monitors; i++)
        if (strcmp(m.monitors[i].id, id) == 0) return &m.monitors[i];
    return NULL;
}

static struct mirror_monitor *monitor_add(const char *id)
{
    struct mirror_monitor *mo = monitor_find(id);
    if (mo) return mo;
    check(m.n_monitors < MAX_DEV, "harness: monitor table");
    mo = &m.monitors[m.n_monitors++];
    memset(mo, 0, sizeof *mo);
    snprintf(mo->id, sizeof mo->id, "%s", id);
    mo->seq_exact = true;
    mo->clock.known = true;
    mo->known = true;
    for (int i = 0; i < 3; i++)
        mo->since_known[i] = true;
    return mo;
}

static struct mirror_bed *bed_add(const char *id)
{
    for (size_t i = 0; i < m.n_beds; i++)
        if (strcmp(m.beds[i].id, id) == 0) return &m.beds[i];
    check(m.n_beds < MAX_DEV, "harness: bed table");
    struct mirror_bed *b = &m.beds[m.n_beds++];
    memset(b, 0, sizeof *b);
    snprintf(b->id, sizeof b->id, "%s", id);
    return b;
}

static enum dg_command_action cmd_of(enum dg_alert_action a)
{
    return a == DG_ACTION_STOP ? DG_CMD_STOP : DG_CMD_PAUSE;
}

/* The strongest action of a latch holding p (alerts.c dg_hold_of): a latched
   alert with an action that went to p, or a bed-wide one on p's bed. */
static enum dg_alert_action hold_of(const struct mirror_pump *p)
{
    enum dg_alert_action best = DG_ACTION_NONE;
    for (size_t i = 0; i < m.n_active; i++) {
        const struct mirror_alert *a = &m.active[i];
        if (!a->latched || a->action == DG_ACTION_NONE) continue;
        if (target_index(a, p->id) < 0 && !(a->bed_wide && strcmp(a->bed, p->bed) == 0)) continue;
        if (a->action > best) best = a->action;
    }
    return best;
}

/* ---------------------------------------------------------------- trust mirror */

/* trust.c's table (docs/rules.md, "Sequence numbers: per incarnation"). */
static enum dg_dup_reason seq_judge(const struct mirror_seq *s, uint64_t incarnation, uint64_t seq,
                                    bool *reboot, uint64_t *gap)
{
    *reboot = false;
    *gap = 0;
    if (!s->have) return DG_DUP_NONE;
    if (incarnation == s->incarnation) {
        if (seq == s->last_seq) return DG_DUP_REPEATED;
        if (seq < s->last_seq) return DG_DUP_BACKWARDS;
        if (seq > s->last_seq + 1) *gap = seq - s->last_seq - 1;
        return DG_DUP_NONE;
    }
    for (size_t i = 0; i < s->n_retired; i++)
        if (s->retired[i] == incarnation) return DG_DUP_STALE_INCARNATION;
    *reboot = true;
    if (seq > 1) *gap = seq - 1;
    return DG_DUP_NONE;
}

static void seq_commit(struct mirror_seq *s, uint64_t incarnation, uint64_t seq)
{
    if (s->have && incarnation != s->incarnation) {
        size_t n = s->n_retired < INC_KEPT ? s->n_retired : INC_KEPT - 1;
        memmove(&s->retired[1], &s->retired[0], n * sizeof s->retired[0]);
        s->retired[0] = s->incarnation;
        s->n_retired = n + 1;
    }
    s->have = true;
    s->incarnation = incarnation;
    s->last_seq = seq;
}

/* The jump trust.c judges on a step of k to device_ms received at recv_ms
   (gateway monotonic = its timeline, scale 1): more forward than the
   gateway time between the receipts + tolerance, or more back than the
   tolerance. */
static int64_t clock_judge(const struct mirror_clock *k, uint64_t device_ms, uint64_t recv_ms)
{
    if (!k->have) return 0;
    int64_t step = (int64_t)device_ms - (int64_t)k->last_device_ms;
    int64_t seen = (int64_t)recv_ms - (int64_t)k->last_recv_ms;
    if (seen < 0) seen = 0;
    double tol = lib.liveness.clock_jump_tolerance_s * 1000.0;
    if ((double)step > (double)seen + tol || (double)step < -tol) return step;
    return 0;
}

static void clock_commit(struct mirror_clock *k, uint64_t device_ms, uint64_t recv_ms)
{
    k->have = true;
    k->known = true;
    k->last_device_ms = device_ms;
    k->last_recv_ms = recv_ms;
}

/* What the mirror makes of one device message. */
struct verdict {
    enum dg_dup_reason dup;
    bool reboot;
    uint64_t gap;
    bool jump_known;
    int64_t jump_ms;
    uint64_t last_seq;
};

static void judge(struct verdict *vd, const struct mirror_seq *s, const struct mirror_clock *k,
                  uint64_t incarnation, uint64_t seq, uint64_t device_ms, uint64_t recv_ms)
{
    vd->dup = seq_judge(s, incarnation, seq, &vd->reboot, &vd->gap);
    vd->last_seq = s->last_seq;
    vd->jump_known = k->known;
    vd->jump_ms = vd->dup == DG_DUP_NONE ? clock_judge(k, device_ms, recv_ms) : 0;
}

/* The core's note and return code agree with the mirror's verdict. */
static void check_verdict(dg_core *core, int rc, const struct verdict *vd, bool exact)
{
    const struct dg_input_note *n = dg_core_note(core);
    if (rc == -DG_EDUP) {
        check(!exact || vd->dup != DG_DUP_NONE, "-DG_EDUP only for a duplicate");
        check(n->dup != DG_DUP_NONE, "note: a duplicate has a reason");
        if (n->dup == DG_DUP_REPEATED) m.dup_repeated++;
        if (n->dup == DG_DUP_BACKWARDS) m.dup_backwards++;
        if (n->dup == DG_DUP_STALE_INCARNATION) m.dup_stale++;
        if (!exact) return;
        check(n->dup == vd->dup, "note: the duplicate's reason is the mirror's");
        check(n->last_seq == vd->last_seq, "note: the device's last seq");
        return;
    }
    check(rc == 0, "a device message returns 0, -DG_EDUP or -DG_ENOMEM");
    check(!exact || vd->dup == DG_DUP_NONE, "a duplicate is dropped");
    check(n->dup == DG_DUP_NONE, "note: processed, no duplicate reason");
    if (!exact) return;
    check(n->reboot == vd->reboot, "note: a reboot exactly at a new incarnation of a known device");
    check(n->gap_missing == vd->gap, "note: the messages missing in a gap");
    if (vd->jump_known) check(n->jump_ms == vd->jump_ms, "note: the clock jump is trust.c's");
    if (vd->reboot) m.reboots++;
    if (vd->gap) {
        m.seq_gaps++;
        m.seq_missing += vd->gap;
    }
    if (vd->jump_known && vd->jump_ms) m.clock_jumps++;
}

/* ---------------------------------------------------------------- vitals bands */

struct band {
    const char *condition;
    double warn_low, warn_high, delay_s;
    bool low_inclusive;
};

static void bands(struct band out[3])
{
    const struct dg_vitals_rules *v = &lib.vitals;
    out[0] = (struct band){"heart-rate", v->hr_warn_low_bpm, v->hr_warn_high_bpm,
                           v->hr_warn_delay_s, false};
    out[1] = (struct band){"spo2", v->spo2_warn_pct, 0, v->spo2_warn_delay_s, true};
    out[2] = (struct band){"resp-rate", v->rr_warn_low_bpm, v->rr_warn_high_bpm, v->rr_warn_delay_s,
                           false};
}

static const struct dg_measurement *band_value(const struct dg_vitals *v, int i)
{
    return i == 0 ? &v->heart_rate_bpm : i == 1 ? &v->spo2_pct : &v->resp_rate_bpm;
}

static bool usable(const struct dg_measurement *x)
{
    return x->present && x->valid && isfinite(x->value);
}

static bool violates(const struct band *b, double val)
{
    bool low = b->warn_low > 0 && (b->low_inclusive ? val <= b->warn_low : val < b->warn_low);
    bool high = b->warn_high > 0 && val > b->warn_high;
    return low || high;
}

static int band_of(const char *condition)
{
    struct band bs[3];
    bands(bs);
    for (int i = 0; i < 3; i++)
        if (strcmp(bs[i].condition, condition) == 0) return i;
    return -1;
}

/* ---------------------------------------------------------------- call bookkeeping */

static void need_command(const char *alert_id)
{
    check(m.n_need_command < CALL_MAX, "harness: need_command table");
    snprintf(m.need_command[m.n_need_command++], DG_ID_MAX, "%s", alert_id);
}

static void begin_call(enum call kind)
{
    m.in_call = kind;
    m.call_no++;
    for (size_t i = 0; i < m.n_pumps; i++) {
        struct mirror_pump *p = &m.pumps[i];
        p->call_pause = p->call_stop = p->call_permit = 0;
        p->held_at_start = hold_of(p) != DG_ACTION_NONE;
        p->permit_due = false;
    }
}

/* The pump's state as the core has it, or NULL when the mirror cannot know. */
static const struct mirror_pump *known_pump(const char *id)
{
    const struct mirror_pump *p = pump_find(id);
    return p && p->known && p->have_last ? p : NULL;
}

/* A command citing a bed-wide (vital-sign) alert a. */
static void check_bed_wide_target(const struct mirror_alert *a, const struct dg_command *cmd)
{
    const struct mirror_pump *p = known_pump(cmd->pump_id);
    if (!p) return;
    int ti = target_index(a, cmd->pump_id);
    bool held_before = ti >= 0 && a->target_call[ti] < m.call_no;
    if (!held_before)
        check(p->state == DG_PUMP_RUNNING && strcmp(p->bed, a->bed) == 0,
              "a vital-sign action goes only to a pump whose latest telemetry says running on "
              "its bed");
    else
        check(p->state == DG_PUMP_RUNNING ||
                  (cmd->action == DG_CMD_STOP && p->state == DG_PUMP_PAUSED),
              "a vital-sign action reaches a pump it holds only while it runs (or is paused, "
              "for a stop)");
}

/* After each core call: every PAUSE/STOP cites an alert that is active or
   was cleared in the call, goes to one of its targets, with its action;
   every alert that asked for an action got a command. */
static void end_call(void)
{
    for (size_t i = 0; i < m.n_commands; i++) {
        const struct dg_command *cmd = &m.commands[i];
        const struct mirror_alert *a = active_by_id(cmd->reason_alert_id);
        for (size_t j = 0; !a && j < m.n_cleared; j++)
            if (strcmp(m.cleared[j].id, cmd->reason_alert_id) == 0) a = &m.cleared[j];
        check(a != NULL, "command cites an alert");
        int ti = target_index(a, cmd->pump_id);
        check(ti >= 0, "a command goes to one of its alert's targets");
        check((cmd->action == DG_CMD_PAUSE && a->action == DG_ACTION_PAUSE) ||
                  (cmd->action == DG_CMD_STOP && a->action == DG_ACTION_STOP),
              "command action is the alert's");
        check(m.in_call != CALL_ACK, "an ack sends no command");
        if (m.in_call == CALL_TELEMETRY)
            check(strcmp(cmd->pump_id, m.tel->pump_id) == 0,
                  "a telemetry's commands go to its own pump");
        if (m.in_call == CALL_VITALS && (a->bed_wide || strict)) {
            const struct mirror_pump *p = known_pump(cmd->pump_id);
            bool held_before = a->target_call[ti] < m.call_no;
            check(!p || held_before || strcmp(p->bed, m.vit->bed_id) == 0,
                  "a vitals sample's commands go to pumps on its bed (or held by the alert)");
        }
        if (a->bed_wide) check_bed_wide_target(a, cmd);
    }
    for (size_t i = 0; i < m.n_need_command; i++) {
        bool sent = false;
        for (size_t j = 0; j < m.n_commands && !sent; j++)
            sent = strcmp(m.commands[j].reason_alert_id, m.need_command[i]) == 0;
        /* Or the alert latched on an equal or stronger command already sent
           to one of its pumps (the core sends one command per pump at a
           time). */
        const struct mirror_alert *na = active_by_id(m.need_command[i]);
        for (size_t t = 0; !sent && na && t < na->n_targets; t++) {
            const struct mirror_pump *np = pump_find(na->targets[t]);
            sent = np && np->strongest >= cmd_of(na->action);
        }
        check(sent, "an alert that requests an action gets its command in the same call");
    }
    m.n_need_command = m.n_commands = m.n_cleared = 0;
    m.in_call = CALL_NONE;
}

/* ---------------------------------------------------------------- sink */

static uint64_t id_number(const char *id, const char *kind)
{
    char prefix[16];
    snprintf(prefix, sizeof prefix, "%s-%s", ID_PREFIX, kind);
    size_t n = strlen(prefix);
    check(strncmp(id, prefix, n) == 0 && id[n] >= '1' && id[n] <= '9',
          "an id is the prefix and a number");
    return strtoull(id + n, NULL, 10);
}

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
    check(a->n_targets <= DG_TARGETS_MAX, "alert.n_targets <= DG_TARGETS_MAX");
    for (size_t i = 0; i < a->n_targets; i++) {
        check(terminated(a->targets[i], DG_ID_MAX) && a->targets[i][0], "alert.targets[]");
        check(pump_find(a->targets[i]) != NULL, "an alert's targets are pumps that sent telemetry");
        for (size_t j = 0; j < i; j++)
            check(strcmp(a->targets[i], a->targets[j]) != 0, "an alert lists a target once");
    }
    check(a->n_targets == 0 || a->pump_id[0], "an alert that holds a pump names one");
    check(!strict || a->n_targets == 0 || strcmp(a->pump_id, a->targets[0]) == 0,
          "alert.pump_id is the first target");
    check(!a->latched || a->n_targets > 0, "a latched alert holds a pump");
    check(a->resumes < 2 || a->action == DG_ACTION_STOP,
          "the second resume under a latch asks for a stop");
}

/* Take what the core says of an alert's targets (never fewer). */
static void absorb(struct mirror_alert *ma, const struct dg_alert *a)
{
    for (size_t i = 0; i < ma->n_targets; i++) {
        bool kept = false;
        for (size_t j = 0; j < a->n_targets && !kept; j++)
            kept = strcmp(ma->targets[i], a->targets[j]) == 0;
        check(kept, "an alert keeps every pump it holds until it clears");
    }
    for (size_t j = 0; j < a->n_targets; j++) {
        if (target_index(ma, a->targets[j]) >= 0) continue;
        check(ma->n_targets < DG_TARGETS_MAX, "harness: targets");
        snprintf(ma->targets[ma->n_targets], DG_ID_MAX, "%s", a->targets[j]);
        ma->target_call[ma->n_targets++] = m.call_no;
    }
    check(!ma->bed_wide || a->bed_wide, "a bed-wide alert stays bed-wide");
    ma->bed_wide = a->bed_wide;
    check(a->resumes >= ma->resumes && a->resumes <= ma->resumes + 1,
          "resumes count up, one per call");
    check(a->resumes == ma->resumes || m.in_call == CALL_TELEMETRY,
          "a resume under a latch is seen in the pump's telemetry");
    ma->resumes = a->resumes;
}

static bool is_running_on(const struct mirror_pump *p, const char *bed)
{
    return p->known && p->have_last && p->state == DG_PUMP_RUNNING && strcmp(p->bed, bed) == 0;
}

/* A bed-wide action, as it is asked for (raise or a stronger action),
   reaches every pump running on the bed. */
static void check_bed_wide_reach(const struct dg_alert *a)
{
    for (size_t i = 0; i < m.n_pumps; i++) {
        const struct mirror_pump *p = &m.pumps[i];
        if (!is_running_on(p, a->bed_id)) continue;
        bool reached = false;
        for (size_t j = 0; j < a->n_targets && !reached; j++)
            reached = strcmp(a->targets[j], p->id) == 0;
        check(reached, "a vital-sign action reaches every pump running on the bed");
    }
}

static void on_alert(void *ctx, const struct dg_alert_event *ev)
{
    (void)ctx;
    const struct dg_alert *a = ev->alert;
    if (trace) {
        fprintf(stderr,
                "  alert phase=%d %s %s bed=%s src=%s pump=%s prio=%d action=%d latched=%d "
                "value=%g targets=",
                (int)ev->phase, a->alert_id, a->condition, a->bed_id, a->source_id, a->pump_id,
                (int)a->priority, (int)a->action, (int)a->latched, a->value);
        for (size_t i = 0; i < a->n_targets && i < DG_TARGETS_MAX; i++)
            fprintf(stderr, "%s%s", i ? "," : "", a->targets[i]);
        fprintf(stderr, "%s\n", a->bed_wide ? " (bed-wide)" : "");
    }
    check(m.in_call != CALL_NONE, "alert event outside a core call");
    check(ev->seq == ++m.event_seq, "alert event seq +1");
    check(ev->gateway_time_ms == m.now.wall_ms, "alert event stamped with now");
    check(a->raised_time_ms <= m.now.wall_ms, "alert raised in the past");
    check(ev->phase >= DG_PHASE_RAISE && ev->phase <= DG_PHASE_CLEAR, "alert phase");
    check_alert_struct(a);
    struct mirror_alert *ma = active_by_id(a->alert_id);
    bool live = ev->phase != DG_PHASE_CLEAR && ev->phase != DG_PHASE_ACKNOWLEDGE;

    /* Condition delays and the baseline grace. */
    int bi = band_of(a->condition);
    if (bi >= 0 && live && a->priority == DG_PRIO_MEDIUM) {
        check(m.in_call == CALL_VITALS && strcmp(m.vit->monitor_id, a->source_id) == 0,
              "a vital-sign warning comes from a sample of its own monitor");
        const struct dg_measurement *x = band_value(m.vit, bi);
        struct band bs[3];
        bands(bs);
        check(usable(x) && violates(&bs[bi], x->value),
              "a vital-sign warning only while its value is in the warning band");
        const struct mirror_monitor *mo = monitor_find(a->source_id);
        if (mo && mo->since_known[bi])
            check(mo->since_ms[bi] != 0 &&
                      (double)(m.vit->device_time_ms - mo->since_ms[bi]) >= bs[bi].delay_s * 1000,
                  "a vital-sign warning only after its condition delay, on the monitor's clock, "
                  "with no jump in it");
    }
    if (strcmp(a->condition, "baseline-bp") == 0 && live &&
        strcmp(a->limit_source, "vitals.baseline.max_age_min") == 0)
        check(m.in_call == CALL_TICK, "the \"no baseline\" warning comes from the tick");

    if (ev->phase == DG_PHASE_RAISE) {
        uint64_t no = id_number(a->alert_id, "a");
        check(no > m.last_alert_no, "a raise has a new alert id");
        m.last_alert_no = no;
        check(!active_find(a->bed_id, a->condition, a->source_id),
              "one active alert per (bed, condition, source)");
        check(m.n_active < MAX_ALERTS, "harness: alert tables");
        ma = &m.active[m.n_active++];
        memset(ma, 0, sizeof *ma);
        snprintf(ma->id, sizeof ma->id, "%s", a->alert_id);
        snprintf(ma->bed, sizeof ma->bed, "%s", a->bed_id);
        snprintf(ma->condition, sizeof ma->condition, "%s", a->condition);
        snprintf(ma->source, sizeof ma->source, "%s", a->source_id);
        absorb(ma, a);
        ma->priority = a->priority;
        ma->action = a->action;
        ma->latched = a->latched;
        check(!a->acknowledged, "a new alert is not acknowledged");
        check(a->raised_time_ms == m.now.wall_ms, "raised now");
        if (a->action != DG_ACTION_NONE) {
            need_command(a->alert_id);
            if (a->bed_wide) check_bed_wide_reach(a);
        }
    } else {
        check(ma != NULL, "event for an active alert");
        check(!strcmp(ma->bed, a->bed_id) && !strcmp(ma->condition, a->condition) &&
                  !strcmp(ma->source, a->source_id),
              "an alert keeps its identity (bed, condition, source)");
        absorb(ma, a);
        if (ev->phase != DG_PHASE_CLEAR) {
            check(!ma->latched || a->latched, "a latched alert stays latched");
            if (a->action != DG_ACTION_NONE && a->action != ma->action) {
                need_command(a->alert_id);
                if (a->bed_wide && m.in_call != CALL_TELEMETRY) check_bed_wide_reach(a);
            }
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
        struct mirror_alert *ma = active_by_id(a->alert_id);
        check(ma != NULL, "snapshot lists only alerts raised and not cleared");
        check(strcmp(ma->bed, s->bed_id) == 0 && strcmp(a->bed_id, s->bed_id) == 0,
              "snapshot lists only its bed's alerts");
        check(a->acknowledged == ma->acknowledged, "snapshot shows the acknowledgement");
        check(a->priority == ma->priority && a->action == ma->action && a->latched == ma->latched,
              "every change of priority, action or latch is an alert event");
        absorb(ma, a);
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
        fprintf(stderr, "  command %s action=%d pump=%s alert=%s valid=%u\n", cmd->command_id,
                (int)cmd->action, cmd->pump_id, cmd->reason_alert_id,
                (unsigned)cmd->permit_valid_for_ms);
    check(m.in_call != CALL_NONE, "command outside a core call");
    check(cmd->action == DG_CMD_PAUSE || cmd->action == DG_CMD_STOP || cmd->action == DG_CMD_PERMIT,
          "command is PAUSE, STOP or PERMIT");
    check(terminated(cmd->command_id, sizeof cmd->command_id), "command id");
    uint64_t no = id_number(cmd->command_id, "c");
    check(no > m.last_command_no, "command id set and new");
    m.last_command_no = no;
    check(cmd->issue_time_ms == m.now.wall_ms, "command stamped with now");
    check(terminated(cmd->reason, sizeof cmd->reason), "command.reason");
    check(terminated(cmd->pump_id, sizeof cmd->pump_id), "command.pump_id");
    check(terminated(cmd->reason_alert_id, sizeof cmd->reason_alert_id), "command.reason_alert_id");
    struct mirror_pump *p = pump_find(cmd->pump_id);
    check(p != NULL, "command names a pump that sent telemetry");

    if (cmd->action == DG_CMD_PERMIT) {
        check(m.in_call == CALL_TICK, "permits come only from the tick");
        check(!cmd->reason_alert_id[0], "a permit cites no alert");
        check((double)cmd->permit_valid_for_ms == lib.liveness.permit_valid_s * 1000.0,
              "a permit is valid permit_valid_s after the pump receives it");
        check(p->call_permit++ == 0, "one permit per pump per tick");
        if (p->known && p->have_last) {
            check(p->state == DG_PUMP_RUNNING && p->permit_required,
                  "permits only to a running pump whose telemetry says permit_required");
            check(!p->held_at_start, "no permit to a pump a latch holds");
            check((double)(m.now.mono_ms - p->last_seen_mono_ms) <=
                      lib.liveness.pump_silent_crit_s * 1000.0,
                  "no permit to a pump silent past pump_silent_crit_s");
            check(p->last_permit_mono_ms == 0 || (double)(m.now.mono_ms - p->last_permit_mono_ms) >=
                                                     lib.liveness.permit_period_s * 1000.0,
                  "at most one permit per permit_period_s");
        }
        p->last_permit_mono_ms = m.now.mono_ms;
    } else {
        check(cmd->permit_valid_for_ms == 0, "a pause or stop carries no permit validity");
        check(m.n_commands < CALL_MAX, "harness: command table");
        m.commands[m.n_commands++] = *cmd;
        if (cmd->action == DG_CMD_PAUSE) {
            check(p->call_pause++ == 0, "at most one pause per pump per call");
            check(p->call_stop == 0, "never a pause after a stop to the same pump in one call");
        } else {
            check(p->call_stop++ == 0, "at most one stop per pump per call");
        }
        if (cmd->action > p->strongest) p->strongest = cmd->action;
        p->pending = true;
        p->pending_action = cmd->action;
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
/* The codec accepts a concentration above 0 only, a weight of 0 (not entered). */
static const double concs[] = {1, 1e-300, 0.5, 2, 10, 1000, 1e-3, 5};
static const double weights[] = {70, 0, 10, 50, 100, 500, 1e-300, 3};
/* Boot ids: few, so devices come back to incarnations they have left (a
   stale one while remembered, a reboot once forgotten). Never 0. */
static const uint64_t incarnations[] = {1, 2, 3, 4, 5, 6, 0x8000000000000000ULL, UINT64_MAX};

/*
 * The trust byte of a structured device message:
 *   bits 0-2  incarnation (boot id, incarnations[])
 *   bits 3-5  clock: 0-3 in step; 4 jumps 10 min forward, 5 jumps 10 min
 *             back (the device keeps the new time); 6 steps 7 s forward
 *             (just past the tolerance); 7 this message only 1 h ahead
 *   bit  6    queued: received 3 s before the call (recv_mono_ms), stamped
 *             3 s earlier
 * Device clocks otherwise follow the gateway's wall clock, each with its own
 * offset (*offset_ms).
 */
static void trust_byte(uint8_t s, int64_t *offset_ms, struct dg_now now, uint64_t *incarnation,
                       uint64_t *device_ms, uint64_t *recv_mono_ms)
{
    *incarnation = incarnations[s & 7u];
    unsigned clock = (s >> 3) & 7u;
    if (clock == 4) *offset_ms += 600000;
    if (clock == 5) *offset_ms -= 600000;
    if (clock == 6) *offset_ms += 7000;
    int64_t t = (int64_t)now.wall_ms + *offset_ms + (clock == 7 ? 3600000 : 0);
    *recv_mono_ms = 0;
    if ((s >> 6) & 1u && now.mono_ms > 3000) {
        *recv_mono_ms = now.mono_ms - 3000;
        t -= 3000;
    }
    *device_ms = (uint64_t)t;
}

/*
 * Telemetry from 6 bytes, within what the codec accepts:
 *   s0: pump (bits 0-1), bed (2-3), session (4-5), has_program (6), care area icu (7)
 *   s1: seq - 1
 *   s2: state (bits 0-2, 1 + v % 7), drug (3-5, v % 5), care area "ward" (6), +0.5 mL/h (7)
 *   s3: rate mL/h
 *   s4: concentration (bits 0-2), weight (3-5), permit_required (6), a bolus (7)
 *   s5: the trust byte (trust_byte)
 */
static void structured_telemetry(struct reader *r, struct dg_telemetry *t, struct dg_now now)
{
    uint8_t s0 = next(r), s1 = next(r), s2 = next(r), s3 = next(r), s4 = next(r), s5 = next(r);
    memset(t, 0, sizeof *t);
    snprintf(t->pump_id, sizeof t->pump_id, "pump-%u", s0 & 3u);
    snprintf(t->bed_id, sizeof t->bed_id, "bed-%u", (s0 >> 2) & 3u);
    t->seq = 1u + s1;
    trust_byte(s5, &pump_offset_ms[s0 & 3u], now, &t->incarnation, &t->device_time_ms,
               &t->recv_mono_ms);
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
    t->permit_required = (s4 >> 6) & 1u;
    if ((s4 >> 7) & 1u) {
        t->bolus_count = 1;
        t->bolus_dose_mg = 1;
    }
}

/* Vital-sign values by class: normal, warning low, warning high (or the
   warning edge), critical. */
static const double hr_values[] = {72, 45, 130, 155};
static const double spo2_values[] = {98, 88, 90, 80};
static const double rr_values[] = {14, 8, 35, 5};
/* NIBP systolic/diastolic: none, normal, baseline warning, high (and a
   baseline critical), severe, low, high by systolic, high by diastolic. */
static const double nibp_values[8][2] = {{0, 0},     {120, 80}, {150, 95},  {190, 115},
                                         {210, 125}, {100, 60}, {185, 100}, {175, 112}};

/*
 * Vitals from 4 bytes:
 *   s0: monitor (bits 0-1), bed (2-3), heart rate / SpO2 / resp rate present (4-6), valid (7)
 *   s1: seq - 1
 *   s2: heart rate (bits 0-1), SpO2 (2-3), resp rate (4-5) classes, NIBP (6-7, low bits)
 *   s3: the trust byte (trust_byte); bit 7 is the NIBP's high bit
 * NIBP (systolic, diastolic, mean) is present when its index is not 0,
 * valid as the others.
 */
static void structured_vitals(struct reader *r, struct dg_vitals *v, struct dg_now now)
{
    uint8_t s0 = next(r), s1 = next(r), s2 = next(r), s3 = next(r);
    memset(v, 0, sizeof *v);
    snprintf(v->monitor_id, sizeof v->monitor_id, "mon-%u", s0 & 3u);
    snprintf(v->bed_id, sizeof v->bed_id, "bed-%u", (s0 >> 2) & 3u);
    v->seq = 1u + s1;
    trust_byte(s3 & 0x7fu, &monitor_offset_ms[s0 & 3u], now, &v->incarnation, &v->device_time_ms,
               &v->recv_mono_ms);
    bool valid = (s0 >> 7) & 1u;
    struct dg_measurement *ms[] = {&v->heart_rate_bpm, &v->spo2_pct, &v->resp_rate_bpm};
    const double *tables[] = {hr_values, spo2_values, rr_values};
    for (unsigned i = 0; i < 3; i++) {
        if (!((s0 >> (4 + i)) & 1u)) continue;
        ms[i]->present = true;
        ms[i]->value = tables[i][(s2 >> (2 * i)) & 3u];
        ms[i]->valid = valid;
    }
    unsigned nibp = ((s2 >> 6) & 3u) | ((s3 >> 7) & 1u) << 2;
    if (nibp) {
        double sys = nibp_values[nibp][0], dia = nibp_values[nibp][1];
        v->systolic_mmhg = (struct dg_measurement){true, valid, sys};
        v->diastolic_mmhg = (struct dg_measurement){true, valid, dia};
        v->mean_mmhg = (struct dg_measurement){true, valid, round((sys + 2 * dia) / 3)};
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

/* ---------------------------------------------------------------- after-call checks */

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

/* The weight the rate and dose rules use (core.c dg_pump_weight_kg): the
   session's trusted weight once it has run, else the program's. */
static double rule_weight(const struct mirror_pump *p, const struct dg_telemetry *t)
{
    if (p->started && p->trusted_kg > 0) return p->trusted_kg;
    return t->has_program && t->program.patient_weight_kg > 0 ? t->program.patient_weight_kg : 0;
}

/*
 * After accepted telemetry: the pump's rate alerts in its bed agree with the
 * rate rule (docs/operations.md), judged with the weight the core trusts:
 * above hard a high alert, between soft and hard at least a medium one, and
 * once the rate is back under (for a drug with an entry) no unlatched one;
 * an unlatched high one only above hard.
 */
static void check_rate_rule(const struct mirror_pump *mp, const struct dg_telemetry *t)
{
    const struct dg_drug *d =
        t->has_program ? dg_druglib_find(&lib, t->program.drug_code, t->program.care_area) : NULL;
    const struct dg_program *p = &t->program;
    double w = rule_weight(mp, t);
    bool hard = false, soft = false;
    if (d && t->state == DG_PUMP_RUNNING && w > 0 && p->concentration_mg_per_ml > 0) {
        double rate = t->rate_ml_per_h * p->concentration_mg_per_ml / w;
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

/* weight-change (rules_pump.c): a session that ran, whose program weight is
   not the trusted one. */
static void check_weight_change(struct mirror_pump *mp, const struct dg_telemetry *t)
{
    const struct dg_drug *d =
        t->has_program ? dg_druglib_find(&lib, t->program.drug_code, t->program.care_area) : NULL;
    if (!d) return; /* the drug rules did not run: the alert stays as it was */
    bool judged = t->state != DG_PUMP_IDLE; /* else the session is over: cleared */
    bool differs = mp->started && mp->trusted_kg > 0 &&
                   fabs(t->program.patient_weight_kg - mp->trusted_kg) >= 1e-9;
    const struct mirror_alert *a = active_find(t->bed_id, "weight-change", t->pump_id);
    if (judged && differs) {
        check(a && a->priority == DG_PRIO_HIGH,
              "a weight edited mid-session is a high weight-change alert");
        bool listed = false;
        for (size_t i = 0; i < mp->n_wc && !listed; i++)
            listed = strcmp(mp->wc_ids[i], a->id) == 0;
        if (!listed && mp->n_wc < 4) snprintf(mp->wc_ids[mp->n_wc++], DG_ID_MAX, "%s", a->id);
        if (!listed && mp->n_wc == 4) mp->weight_known = false; /* harness: table full */
        snprintf(mp->wc_current, sizeof mp->wc_current, "%s", a->id);
        if (t->state == DG_PUMP_RUNNING || t->state == DG_PUMP_PROGRAMMED)
            check(a->latched && a->action >= DG_ACTION_PAUSE && target_index(a, t->pump_id) >= 0,
                  "a weight-change pauses the pump and latches");
    } else {
        check(!a || a->latched, "no unlatched weight-change alert while the weight is trusted");
    }
}

/* Latches hold: a held pump that reports running has a command as strong as
   the latch waiting for it. */
static void check_latch_holds(const struct mirror_pump *mp)
{
    if (mp->state != DG_PUMP_RUNNING) return;
    enum dg_alert_action h = hold_of(mp);
    if (h == DG_ACTION_NONE) return;
    check(mp->pending && mp->pending_action >= cmd_of(h),
          "a held pump running again is paused (or stopped) again");
}

static bool is_bed_id(const char *id)
{
    for (size_t i = 0; i < m.n_beds; i++)
        if (strcmp(m.beds[i].id, id) == 0) return true;
    return false;
}

/* Bed membership: what a device said on a bed it has left has cleared,
   unless latched. (Decoded messages may give a pump, a monitor and a bed
   one id: such a source is not judged.) */
static void check_membership(void)
{
    for (size_t i = 0; i < m.n_active; i++) {
        const struct mirror_alert *a = &m.active[i];
        if (a->latched || is_bed_id(a->source)) continue;
        if (pump_find(a->source) && monitor_find(a->source)) continue;
        const struct mirror_pump *p = pump_find(a->source);
        if (p && p->known && p->have_last)
            check(strcmp(p->bed, a->bed) == 0,
                  "an unlatched alert a pump is the source of is on the pump's bed");
        const struct mirror_monitor *mo = monitor_find(a->source);
        if (mo && mo->known && mo->seq.have)
            check(strcmp(mo->bed, a->bed) == 0,
                  "an unlatched alert a monitor is the source of is on the monitor's bed");
    }
}

/* A critical continuous value on a bed where a pump runs (its latest
   telemetry says so) is a high alert of its monitor there: the vital-sign
   rules apply while a pump runs on the bed (the bed's membership counts). */
static void check_vital_crit(const struct dg_vitals *v)
{
    bool running = false;
    for (size_t i = 0; i < m.n_pumps && !running; i++) {
        const struct mirror_pump *p = &m.pumps[i];
        if (!p->known && p->seq.have) return; /* a pump the mirror cannot place */
        running = is_running_on(p, v->bed_id);
    }
    if (!running) return;
    const struct dg_vitals_rules *vr = &lib.vitals;
    const struct dg_measurement *hr = &v->heart_rate_bpm, *spo2 = &v->spo2_pct,
                                *rr = &v->resp_rate_bpm;
    bool crit[3] = {
        usable(hr) && ((vr->hr_crit_low_bpm > 0 && hr->value <= vr->hr_crit_low_bpm) ||
                       (vr->hr_crit_high_bpm > 0 && hr->value >= vr->hr_crit_high_bpm)),
        usable(spo2) && vr->spo2_crit_pct > 0 && spo2->value <= vr->spo2_crit_pct,
        usable(rr) && vr->rr_crit_low_bpm > 0 && rr->value <= vr->rr_crit_low_bpm,
    };
    struct band bs[3];
    bands(bs);
    for (int i = 0; i < 3; i++) {
        if (!crit[i]) continue;
        const struct mirror_alert *a = active_find(v->bed_id, bs[i].condition, v->monitor_id);
        check(a && a->priority == DG_PRIO_HIGH,
              "a critical vital sign on a bed where a pump runs is a high alert");
    }
}

/* ---------------------------------------------------------------- calls */

/* What the core does with accepted telemetry before and around its rules
   (core.c, rules_pump.c), for the mirror: a new session forgets the last
   one; the first RUNNING report of a session fixes its trusted weight; a
   command is honoured; a reset weight change is adopted. Applied before
   the call (the call's commands come after it) and again before a
   redelivery (it is idempotent as the core's is). */
static void pump_accepting(struct mirror_pump *p, const struct dg_telemetry *t, uint64_t now_ms)
{
    bool same = p->session_known && strcmp(p->session, t->session_id) == 0;
    if (!same) {
        snprintf(p->session, sizeof p->session, "%s", t->session_id);
        p->session_known = true;
        p->started = false;
        p->trusted_kg = 0;
        p->adopt = false;
        p->weight_known = true;
        p->n_wc = 0;
        p->wc_current[0] = '\0';
        p->pending = false;
    }
    p->state = t->state;
    snprintf(p->bed, sizeof p->bed, "%s", t->bed_id);
    p->permit_required = t->permit_required;
    bool running = t->state == DG_PUMP_RUNNING;
    double w =
        t->has_program && t->program.patient_weight_kg > 0 ? t->program.patient_weight_kg : 0;
    if (running && !p->started) {
        p->started = true;
        p->trusted_kg = w;
    }
    bool honoured = p->pending_action == DG_CMD_PAUSE
                        ? !running
                        : !running && t->state != DG_PUMP_PROGRAMMED && t->state != DG_PUMP_PAUSED;
    if (p->pending && honoured) p->pending = false;
    if (p->adopt) {
        p->adopt = false;
        if (w > 0) p->trusted_kg = w;
    }
    p->last_seen_mono_ms = now_ms;
}

static void feed_telemetry(dg_core *core, const struct dg_telemetry *t, struct dg_now now,
                           bool injected)
{
    struct mirror_pump *p = pump_add(t->pump_id);
    uint64_t recv = t->recv_mono_ms ? t->recv_mono_ms : now.mono_ms;
    struct verdict vd;
    judge(&vd, &p->seq, &p->clock, t->incarnation, t->seq, t->device_time_ms, recv);
    bool exact = p->seq_exact;
    if (trace)
        fprintf(stderr,
                "telemetry pump=%s bed=%s session=%s inc=%llx seq=%llu dev=%+lld recv=%llu "
                "state=%d drug=%s/%s rate=%g mL/h conc=%g weight=%g permit=%d bolus=%u%s\n"
                "  mirror: dup=%d reboot=%d gap=%llu jump=%lld%s\n",
                t->pump_id, t->bed_id, t->session_id, (unsigned long long)t->incarnation,
                (unsigned long long)t->seq, (long long)t->device_time_ms - (long long)now.wall_ms,
                (unsigned long long)t->recv_mono_ms, (int)t->state,
                t->has_program ? t->program.drug_code : "-", t->program.care_area, t->rate_ml_per_h,
                t->program.concentration_mg_per_ml, t->program.patient_weight_kg,
                (int)t->permit_required, (unsigned)t->bolus_count,
                injected ? " (allocation failure armed)" : "", (int)vd.dup, (int)vd.reboot,
                (unsigned long long)vd.gap, (long long)vd.jump_ms,
                vd.jump_known ? "" : " (clock unknown)");
    bool accepting = exact && vd.dup == DG_DUP_NONE;
    if (accepting) pump_accepting(p, t, now.mono_ms);
    begin_call(CALL_TELEMETRY);
    m.tel = t;
    int rc = dg_core_telemetry(core, t, now);
    end_call();
    if (trace) fprintf(stderr, "  -> %d\n", rc);
    if (rc == -DG_ENOMEM) {
        check(injected, "telemetry -DG_ENOMEM only under injected failure");
        m.any_oom = true;
        if (!strict) {
            /* The core may have judged and recorded its time (see strict). */
            p->clock.known = false;
            vd.jump_known = false;
        }
        if (!strict) {
            p->seq_exact = false;
            p->known = false;
            m.tel = NULL;
            return;
        }
        /* "the message is then not processed": the same message again (the
           injected failure is spent) must not be a duplicate. */
        if (accepting) pump_accepting(p, t, now.mono_ms);
        begin_call(CALL_TELEMETRY);
        rc = dg_core_telemetry(core, t, now);
        end_call();
        if (trace) fprintf(stderr, "  retry -> %d\n", rc);
        check(rc != -DG_EDUP, "strict: telemetry refused with -DG_ENOMEM was not processed");
        check(rc == 0, "telemetry retry after -DG_ENOMEM is taken");
    }
    m.tel = NULL;
    check_verdict(core, rc, &vd, exact);
    if (rc == -DG_EDUP) return;
    if (!exact) {
        /* Back in step with the core: the message is recorded. The rest of
           what the core believes of the pump stays unknown. */
        p->seq_exact = true;
        p->known = false;
    }
    seq_commit(&p->seq, t->incarnation, t->seq);
    clock_commit(&p->clock, t->device_time_ms, recv);
    p->have_last = true;
    bed_add(t->bed_id);
    if (!p->known) return;
    if (p->weight_known) {
        check_rate_rule(p, t);
        check_weight_change(p, t);
    }
    check_latch_holds(p);
}

/* The vitals counterpart of pump_accepting: the monitor's bed (a move
   restarts its condition delays) and the delays themselves. */
static void monitor_accepting(struct mirror_monitor *mo, const struct dg_vitals *v,
                              const struct verdict *vd)
{
    if (mo->seq.have && strcmp(mo->bed, v->bed_id) != 0) {
        for (int i = 0; i < 3; i++) {
            mo->since_ms[i] = 0;
            mo->since_known[i] = true;
        }
    }
    snprintf(mo->bed, sizeof mo->bed, "%s", v->bed_id);
    struct band bs[3];
    bands(bs);
    uint64_t t = v->device_time_ms;
    for (int i = 0; i < 3; i++) {
        const struct dg_measurement *x = band_value(v, i);
        if (!usable(x)) continue; /* changes nothing */
        if (!violates(&bs[i], x->value)) {
            mo->since_ms[i] = 0;
            mo->since_known[i] = true;
            continue;
        }
        if (!vd->jump_known) mo->since_known[i] = false;
        if (mo->since_ms[i] == 0 || t < mo->since_ms[i] || (vd->jump_known && vd->jump_ms))
            mo->since_ms[i] = t;
    }
}

static void feed_vitals(dg_core *core, const struct dg_vitals *v, struct dg_now now, bool injected)
{
    struct mirror_monitor *mo = monitor_add(v->monitor_id);
    uint64_t recv = v->recv_mono_ms ? v->recv_mono_ms : now.mono_ms;
    struct verdict vd;
    judge(&vd, &mo->seq, &mo->clock, v->incarnation, v->seq, v->device_time_ms, recv);
    bool exact = mo->seq_exact;
    bool accepting = exact && vd.dup == DG_DUP_NONE;
    if (trace)
        fprintf(stderr,
                "vitals monitor=%s bed=%s inc=%llx seq=%llu dev=%+lld recv=%llu hr=%g%s spo2=%g%s "
                "rr=%g%s nibp=%g/%g%s%s\n  mirror: dup=%d reboot=%d gap=%llu jump=%lld%s\n",
                v->monitor_id, v->bed_id, (unsigned long long)v->incarnation,
                (unsigned long long)v->seq, (long long)v->device_time_ms - (long long)now.wall_ms,
                (unsigned long long)v->recv_mono_ms, v->heart_rate_bpm.value,
                usable(&v->heart_rate_bpm) ? "" : "(-)", v->spo2_pct.value,
                usable(&v->spo2_pct) ? "" : "(-)", v->resp_rate_bpm.value,
                usable(&v->resp_rate_bpm) ? "" : "(-)", v->systolic_mmhg.value,
                v->diastolic_mmhg.value, usable(&v->systolic_mmhg) ? "" : "(-)",
                injected ? " (allocation failure armed)" : "", (int)vd.dup, (int)vd.reboot,
                (unsigned long long)vd.gap, (long long)vd.jump_ms,
                vd.jump_known ? "" : " (clock unknown)");
    if (accepting) monitor_accepting(mo, v, &vd);
    begin_call(CALL_VITALS);
    m.vit = v;
    int rc = dg_core_vitals(core, v, now);
    end_call();
    if (trace) fprintf(stderr, "  -> %d\n", rc);
    if (rc == -DG_ENOMEM) {
        check(injected, "vitals -DG_ENOMEM only under injected failure");
        m.any_oom = true;
        if (!strict) {
            mo->clock.known = false;
            vd.jump_known = false;
        }
        if (!strict) {
            mo->seq_exact = false;
            mo->known = false;
            m.vit = NULL;
            return;
        }
        if (accepting) monitor_accepting(mo, v, &vd);
        begin_call(CALL_VITALS);
        rc = dg_core_vitals(core, v, now);
        end_call();
        if (trace) fprintf(stderr, "  retry -> %d\n", rc);
        check(rc != -DG_EDUP, "strict: vitals refused with -DG_ENOMEM was not processed");
        check(rc == 0, "vitals retry after -DG_ENOMEM is taken");
    }
    m.vit = NULL;
    check_verdict(core, rc, &vd, exact);
    if (rc == -DG_EDUP) return;
    if (!exact) {
        mo->seq_exact = true;
        mo->known = false;
    }
    seq_commit(&mo->seq, v->incarnation, v->seq);
    clock_commit(&mo->clock, v->device_time_ms, recv);
    bed_add(v->bed_id);
    if (mo->known) check_vital_crit(v);
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
    begin_call(CALL_ACK);
    m.ack = k;
    int rc = dg_core_ack(core, k, now);
    /* The reset alert's pumps: a pump no other latch holds has no command
       in force any more; a reset weight change is adopted next time. */
    for (size_t i = 0; i < m.n_cleared; i++) {
        const struct mirror_alert *c = &m.cleared[i];
        if (strcmp(c->id, id) != 0) continue;
        for (size_t j = 0; j < c->n_targets; j++) {
            struct mirror_pump *p = pump_find(c->targets[j]);
            if (p && p->known && hold_of(p) == DG_ACTION_NONE) p->pending = false;
        }
        /* A reset weight change: "the clinician confirms the new weight",
           adopted at the pump's next telemetry, for the session whose edit
           the alert is about, and only by the alert that speaks for it now;
           the reset of an earlier session's alert (still latched), or of one
           left on a bed the pump has left, adopts nothing. */
        if (strcmp(c->condition, "weight-change") == 0) {
            struct mirror_pump *p = pump_find(c->source);
            bool ours = false;
            for (size_t w = 0; p && w < p->n_wc && !ours; w++)
                ours = strcmp(p->wc_ids[w], c->id) == 0;
            bool current = ours && strcmp(p->wc_current, c->id) == 0;
            if (p && p->seq.have && current) {
                p->adopt = true;
                p->wc_current[0] = '\0';
            }
            if (p && p->seq.have && !ours && !strict) p->weight_known = false;
        }
    }
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

static void feed_tick(dg_core *core, struct dg_now now, bool injected)
{
    if (trace) fprintf(stderr, "tick%s\n", injected ? " (allocation failure armed)" : "");
    begin_call(CALL_TICK);
    const struct dg_liveness *l = &lib.liveness;
    for (size_t i = 0; i < m.n_pumps; i++) {
        struct mirror_pump *p = &m.pumps[i];
        p->permit_due =
            p->known && p->have_last && p->state == DG_PUMP_RUNNING && p->permit_required &&
            !p->held_at_start &&
            (double)(now.mono_ms - p->last_seen_mono_ms) <= l->pump_silent_crit_s * 1000 &&
            (p->last_permit_mono_ms == 0 ||
             (double)(now.mono_ms - p->last_permit_mono_ms) >= l->permit_period_s * 1000);
    }
    int rc = dg_core_tick(core, now);
    if (trace) fprintf(stderr, "  -> %d\n", rc);
    check(rc == 0 || (rc == -DG_ENOMEM && injected), "tick returns 0, or -DG_ENOMEM when injected");
    if (rc == -DG_ENOMEM) m.any_oom = true;
    if (!injected)
        for (size_t i = 0; i < m.n_pumps; i++)
            check(!m.pumps[i].permit_due || m.pumps[i].call_permit == 1,
                  "every running pump that asks for permits, unheld and heard from, gets one "
                  "each permit_period_s");
    end_call();
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
    struct dg_core_config cc = {.gateway_id = "gw-fuzz",
                                .id_prefix = ID_PREFIX,
                                .druglib = &lib,
                                .permit_to_infuse = true,
                                .device_time_scale = 1};
    struct dg_sink sink = {NULL, on_alert, on_alarms, on_command, on_audit};
    dg_core *core = NULL;
    check(dg_core_new(&core, &cc, &sink) == 0, "dg_core_new");
    struct dg_now now = {.mono_ms = 1000, .wall_ms = T_2026};
    struct reader r = {data, size};

    for (unsigned op_no = 0; r.n > 0; op_no++) {
        uint8_t op = next(&r);
        unsigned kind = op & 3u;
        bool decoded = (op >> 2) & 1u;
        bool inject = (op >> 3) & 1u;
        uint64_t step = (uint64_t)(op >> 4);
        now.mono_ms += step * step * 50u;
        now.wall_ms += step * step * 50u;
        m.now = now;
        unsigned fail_n = inject ? 1u + next(&r) % 16u : 0;
        if (oom_all && !inject) {
            inject = true;
            fail_n = 1u + op_no % 16u;
        }

        union {
            struct dg_telemetry t;
            struct dg_vitals v;
            struct dg_ack k;
        } in;
        struct dg_decode_error err;
        int rc = 0;
        uint8_t *buf = NULL;
        size_t len = 0;
        if (decoded && kind != 3) buf = chunk(&r, &len);

        m.encode = !inject;
        if (inject) dg_alloc_fail_after(fail_n);
        if (kind == 0) {
            if (decoded)
                rc = dg_codec_decode_telemetry(buf, len, NULL, &in.t, &err);
            else
                structured_telemetry(&r, &in.t, now);
            if (rc == 0) feed_telemetry(core, &in.t, now, inject);
        } else if (kind == 1) {
            if (decoded)
                rc = dg_codec_decode_vitals(buf, len, NULL, &in.v, &err);
            else
                structured_vitals(&r, &in.v, now);
            if (rc == 0) feed_vitals(core, &in.v, now, inject);
        } else if (kind == 2) {
            if (decoded)
                rc = dg_codec_decode_ack(buf, len, &in.k, &err);
            else
                structured_ack(&r, &in.k, now.wall_ms);
            if (rc == 0) feed_ack(core, &in.k, now);
        } else {
            feed_tick(core, now, inject);
        }
        dg_alloc_fail_after(0);
        check(rc == 0 || rc == -DG_EINVAL || (rc == -DG_ENOMEM && inject),
              "decoder returns 0, -DG_EINVAL, or -DG_ENOMEM when injected");
        free(buf);

        check_membership();
        struct dg_core_stats st;
        dg_core_stats(core, &st);
        check(st.active_alerts == m.n_active, "stats.active_alerts == alerts raised, not cleared");
        check(st.dup_repeated == m.dup_repeated && st.dup_backwards == m.dup_backwards &&
                  st.dup_stale_incarnation == m.dup_stale,
              "stats: duplicates by reason == duplicates returned");
        check(st.duplicates == m.dup_repeated + m.dup_backwards + m.dup_stale,
              "stats.duplicates == duplicates returned");
        if (!m.any_oom)
            check(st.reboots == m.reboots && st.seq_gaps == m.seq_gaps &&
                      st.seq_missing == m.seq_missing && st.clock_jumps == m.clock_jumps,
                  "stats: reboots, gaps, missing messages and clock jumps are the mirror's");
        check(st.beds >= m.n_beds && st.pumps <= m.n_pumps && st.monitors <= m.n_monitors,
              "stats count the devices and beds");
    }

    dg_core_free(core);
    check(dg_alloc_live() == live, "dg_core_free releases everything");
    return 0;
}
