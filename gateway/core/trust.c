/*
 * trust.c — what a device says that the core checks before it believes it:
 * which message is new (sequence numbers per incarnation) and what time it
 * is (each device's clock against the gateway's own timeline).
 *
 * Sequence numbers (Sparkplug B's bdSeq idea). A device draws a new
 * incarnation (boot id) at every boot and numbers its messages 1, 2, ...
 * within it. Per device the core keeps the current incarnation, its last
 * seq, and the last DG_INCARNATIONS_KEPT incarnations it has left:
 *   same incarnation, seq > last      new (seq > last + 1: a gap)
 *   same incarnation, seq == last     duplicate "repeated" (QoS 1 redelivery)
 *   same incarnation, seq <  last     duplicate "backwards"
 *   an incarnation it has left        duplicate "stale_incarnation" (a late
 *                                     redelivery from before a reboot)
 *   any other incarnation             a reboot: new, seq counts afresh (a
 *                                     first seq > 1 is a gap)
 * So a rebooted device is never taken for a duplicate, and nothing a device
 * repeats is processed twice. Every duplicate and every gap is counted and
 * audited; a gap of liveness.seq_gap_advisory_missing messages or more is a
 * low "seq-gap" advisory.
 *
 * Time. The gateway keeps its own timeline, clin = a wall-clock anchor +
 * device_time_scale x monotonic time elapsed, which never steps and runs as
 * fast as the (possibly simulated) device clocks. For each device it keeps
 * obs = device time - receipt on that timeline: transit only ever makes obs
 * smaller than the device's true offset, so the largest obs seen since the
 * last jump is the offset estimate, and device time - offset ("corrected",
 * clin) puts every device on one timeline. Between two messages of a device
 * its time may advance by at most scale x (the gateway time between their
 * receipts + liveness.clock_jump_tolerance_s); more is a forward jump, and a
 * step back of more than scale x tolerance is a backward jump. A jumped step
 * is credited with no more device time than the gateway saw pass (forward)
 * or none (backward): it adds no dose and satisfies no condition delay. The
 * offset is re-anchored at the jump, so the device's later messages are
 * judged from its new clock, and a low "clock-jump" advisory is raised.
 * Messages queued while the gateway was away arrive in a burst but each is
 * one message interval after the previous, so a burst is not a jump.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "internal.h"

/* ------------------------------------------------------------ timeline */

void dg_timeline_start(dg_core *c, struct dg_now now)
{
    c->last_now = now;
    if (c->tl_have) return;
    c->tl_have = true;
    c->tl_anchor_clin_ms = now.wall_ms;
    c->tl_anchor_mono_ms = now.mono_ms;
}

uint64_t dg_clin_ms(const dg_core *c, uint64_t mono_ms)
{
    if (mono_ms >= c->tl_anchor_mono_ms)
        return c->tl_anchor_clin_ms +
               (uint64_t)(c->device_time_scale * (double)(mono_ms - c->tl_anchor_mono_ms));
    /* A receipt stamped just before the timeline started. */
    uint64_t back = (uint64_t)(c->device_time_scale * (double)(c->tl_anchor_mono_ms - mono_ms));
    return back < c->tl_anchor_clin_ms ? c->tl_anchor_clin_ms - back : 0;
}

/* ------------------------------------------------------------ sequence numbers */

void dg_seq_judge(const struct dg_seq *s, uint64_t incarnation, uint64_t seq, struct dg_trust *tr)
{
    tr->dup = DG_DUP_NONE;
    tr->gap_missing = 0;
    tr->reboot = false;
    tr->first = !s->have;
    if (!s->have) return; /* first contact: the gateway may join mid-stream */
    if (incarnation == s->incarnation) {
        if (seq == s->last_seq)
            tr->dup = DG_DUP_REPEATED;
        else if (seq < s->last_seq)
            tr->dup = DG_DUP_BACKWARDS;
        else if (seq > s->last_seq + 1)
            tr->gap_missing = seq - s->last_seq - 1;
        return;
    }
    for (size_t i = 0; i < s->n_retired; i++) {
        if (s->retired[i] == incarnation) {
            tr->dup = DG_DUP_STALE_INCARNATION;
            return;
        }
    }
    tr->reboot = true;
    if (seq > 1) tr->gap_missing = seq - 1;
}

void dg_seq_commit(struct dg_seq *s, uint64_t incarnation, uint64_t seq)
{
    if (s->have && incarnation != s->incarnation) {
        size_t n = s->n_retired < DG_INCARNATIONS_KEPT ? s->n_retired : DG_INCARNATIONS_KEPT - 1;
        memmove(&s->retired[1], &s->retired[0], n * sizeof s->retired[0]);
        s->retired[0] = s->incarnation;
        s->n_retired = n + 1;
    }
    s->have = true;
    s->incarnation = incarnation;
    s->last_seq = seq;
}

const char *dg_dup_reason_name(enum dg_dup_reason r)
{
    switch (r) {
    case DG_DUP_NONE:
        return "none";
    case DG_DUP_REPEATED:
        return "repeated";
    case DG_DUP_BACKWARDS:
        return "backwards";
    case DG_DUP_STALE_INCARNATION:
        return "stale_incarnation";
    }
    return "?";
}

/* ------------------------------------------------------------ clocks */

void dg_clock_judge(dg_core *c, struct dg_devclock *k, uint64_t device_ms, uint64_t recv_mono_ms,
                    struct dg_trust *tr)
{
    uint64_t recv = dg_clin_ms(c, recv_mono_ms);
    int64_t obs = (int64_t)device_ms - (int64_t)recv;
    tr->recv_clin_ms = recv;
    tr->jump_ms = 0;
    tr->credit_ms = 0;
    if (!k->have) {
        k->have = true;
        k->offset_ms = obs;
    } else {
        int64_t step = (int64_t)device_ms - (int64_t)k->last_device_ms;
        int64_t seen = (int64_t)recv - (int64_t)k->last_recv_clin_ms;
        if (seen < 0) seen = 0;
        double tol = c->device_time_scale * c->lib->liveness.clock_jump_tolerance_s * 1000.0;
        if ((double)step > (double)seen + tol) {
            tr->jump_ms = step;
            tr->credit_ms = seen;
            k->offset_ms = obs;
        } else if ((double)step < -tol) {
            tr->jump_ms = step;
            k->offset_ms = obs;
        } else {
            tr->credit_ms = step > 0 ? step : 0;
            if (obs > k->offset_ms) k->offset_ms = obs;
        }
    }
    k->last_device_ms = device_ms;
    k->last_recv_clin_ms = recv;
    int64_t clin = (int64_t)device_ms - k->offset_ms;
    tr->clin_ms = clin > 0 ? (uint64_t)clin : 0;
}

/* ------------------------------------------------------------ reporting */

static int advisory(dg_core *c, struct dg_bed *b, const char *condition, const char *device_id,
                    double value, double limit, const char *unit, const char *key,
                    const char *message, uint64_t device_ms, struct dg_now now)
{
    struct dg_finding f = {
        .kind = DG_KIND_ADVISORY,
        .priority = DG_PRIO_LOW,
        .value = value,
        .limit = limit,
        .unit = unit,
        .limit_source = key,
        .message = message,
        .pump_id = "",
        .patient_ref = b->patient_ref,
        .device_time_ms = device_ms,
    };
    return dg_alert_set(c, b, condition, device_id, &f, now);
}

int dg_trust_report(dg_core *c, struct dg_bed *b, const char *kind, const char *device_id,
                    struct dg_devclock *k, uint64_t incarnation, uint64_t seq,
                    const struct dg_seq *s, const struct dg_trust *tr, struct dg_now now)
{
    struct dg_core_stats *n = &c->counters;
    char detail[DG_TEXT_MAX + 64];
    if (tr->dup != DG_DUP_NONE) {
        n->duplicates++;
        if (tr->dup == DG_DUP_REPEATED) n->dup_repeated++;
        if (tr->dup == DG_DUP_BACKWARDS) n->dup_backwards++;
        if (tr->dup == DG_DUP_STALE_INCARNATION) n->dup_stale_incarnation++;
        snprintf(detail, sizeof detail,
                 "%s %s incarnation %" PRIu64 " seq %" PRIu64
                 " not processed: %s (last seq %" PRIu64 " of incarnation %" PRIu64 ")",
                 kind, device_id, incarnation, seq, dg_dup_reason_name(tr->dup), s->last_seq,
                 s->incarnation);
        dg_audit_emit(c, "message.duplicate", "R", DG_OUTCOME_MINOR, DG_PART_DEVICE, device_id,
                      kind, device_id, detail);
        return 0;
    }
    int rc = 0;
    if (tr->reboot) {
        n->reboots++;
        snprintf(detail, sizeof detail,
                 "%s %s restarted: incarnation %" PRIu64 " -> %" PRIu64 ", seq %" PRIu64, kind,
                 device_id, s->incarnation, incarnation, seq);
        dg_audit_emit(c, "device.reboot", "E", DG_OUTCOME_SUCCESS, DG_PART_DEVICE, device_id, kind,
                      device_id, detail);
    }
    if (tr->gap_missing) {
        n->seq_gaps++;
        n->seq_missing += tr->gap_missing;
        snprintf(detail, sizeof detail,
                 "%s %s incarnation %" PRIu64 ": %" PRIu64
                 " message(s) missing before seq %" PRIu64,
                 kind, device_id, incarnation, tr->gap_missing, seq);
        dg_audit_emit(c, "message.gap", "R", DG_OUTCOME_MINOR, DG_PART_DEVICE, device_id, kind,
                      device_id, detail);
        double limit = c->lib->liveness.seq_gap_advisory_missing;
        if (limit > 0 && (double)tr->gap_missing >= limit) {
            k->last_gap_mono_ms = now.mono_ms ? now.mono_ms : 1;
            rc = advisory(c, b, "seq-gap", device_id, (double)tr->gap_missing, limit, "messages",
                          "liveness.seq_gap_advisory_missing", detail, 0, now);
        }
    }
    if (tr->jump_ms != 0) {
        n->clock_jumps++;
        double jump_s = (double)tr->jump_ms / 1000.0;
        double tol_s = c->lib->liveness.clock_jump_tolerance_s;
        snprintf(detail, sizeof detail,
                 "%s %s clock jumped %s %.0f s (device time) between two messages; the step adds "
                 "no dose and satisfies no condition delay",
                 kind, device_id, jump_s > 0 ? "forward" : "back", jump_s > 0 ? jump_s : -jump_s);
        dg_audit_emit(c, "device.clock_jump", "R", DG_OUTCOME_MINOR, DG_PART_DEVICE, device_id,
                      kind, device_id, detail);
        k->last_jump_mono_ms = now.mono_ms ? now.mono_ms : 1;
        if (rc == 0)
            rc = advisory(c, b, "clock-jump", device_id, jump_s, tol_s * c->device_time_scale, "s",
                          "liveness.clock_jump_tolerance_s", detail, k->last_device_ms, now);
    }
    return rc;
}
