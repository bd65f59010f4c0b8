/*
 * gateway.c — the shell around the interlock core (see gateway.h).
 *
 * Threading: everything here runs on the libuv loop thread. Paho's threads
 * only ever touch the links' event queues (link.c); messages, connection
 * changes and publish results reach this file as loop callbacks. The core is
 * called only from here, so the core's state has exactly one thread.
 *
 * Data path:  device link message -> dg_topic_parse -> dg_codec_decode_* ->
 * dg_core_* -> sink (alert / alarms / command / audit) -> dg_codec_encode_*
 * -> dg_link_publish on the clinic link (alerts, alarms, audit) or the device
 * link (commands). Rejected input is counted by reason, logged with the
 * offending field, and audited; nothing that arrives is dropped silently.
 *
 * Audit: every record goes through audit(), which hash-chains it
 * (audit.c) and publishes it on <root>/audit. With the audit key
 * (audit.key_file; running without one takes audit.unsigned: true, which
 * is itself audited) a signed checkpoint follows every
 * audit.checkpoint_every records, every audit.checkpoint_interval_s seconds
 * while records are unsigned, and at a clean stop right after
 * gateway.stop, so a cleanly stopped trail ends signed (docs/audit.md).
 *
 * Time: the core gets the monotonic clock (uv_hrtime) for liveness and the
 * wall clock for stamps; the clinical windows use the devices' own times,
 * which travel inside the messages.
 */
#include "gateway.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

#include "../core/alloc.h"
#include "../core/core.h"
#include "../core/error.h"
#include "audit.h"
#include "codec.h"
#include "courier.h"
#include "identity.h"
#include "link.h"
#include "log.h"
#include "storehealth.h"
#include "store.h"
#include "throttle.h"
#include "util.h"

#define DRAIN_TIMEOUT_MS 3000 /* shutdown: time the backlog gets to be acknowledged */
#define TOPIC_MAX        320

enum token_kind { TK_ALERT = 1, TK_ALARMS, TK_COMMAND, TK_AUDIT, TK_STATUS };

struct gw {
    const struct dg_config *cfg;
    uv_loop_t loop;
    dg_core *core;
    /* Durable state (docs/store.md): the outbox every publish goes through,
       and the core's state and the audit chain head, saved at the end of
       each loop turn that changed them, in the same transaction. */
    dg_store *store;
    dg_courier *courier;
    dg_throttle *throttle; /* token bucket per device (flood) */
    /* Since when the device link is down (monotonic ms; 0 = up), and the
       wall clock of the saved state at start: how long devices' messages
       queued at the broker for us, so their burst on return is not a flood. */
    uint64_t device_down_mono_ms;
    uint64_t start_away_ms;
    uv_prepare_t turn_end;
    int dirty;                       /* core or audit chain changed this turn */
    int store_failing;               /* the state-store alert is up */
    enum dg_store_cause store_cause; /* what raised it (storehealth.h) */
    uint64_t store_errors;
    struct dg_store_turn turn; /* what this loop turn did with the store */
    dg_link *device, *clinic;
    int links_open;
    uv_signal_t sigint, sigterm;
    uv_timer_t status_timer, drain_timer, tick_timer;
    uint64_t drain_started_ms;
    int stopping;
    int exit_code;
    struct dg_audit_chain chain;
    dg_audit_key *audit_key; /* NULL: no checkpoints (audit.unsigned: true) */
    uv_timer_t checkpoint_timer;
    uint64_t start_wall_ms;
    char id_prefix[24];
    char status_topic[TOPIC_MAX];
    /* Status (and its Will) goes on the clinic link, and on the device link
       too when that is a different broker (contract: "both"). One broker
       gets it once. */
    int status_on_device;
    uint8_t *offline_status;
    size_t offline_status_len;

    /* Counters (docs/operations: the status message and the stop summary). */
    uint64_t accepted, duplicates, rejected_total;
    uint64_t rejected[DG_REJECT__COUNT];
    uint64_t published, publish_failed;
    uint64_t alerts_out, commands_out, audit_out, checkpoints_out;
    uint64_t identity_refused;
    uint64_t permits_sent, permits_dropped;
};

/* ------------------------------------------------------------ time */

static struct dg_now now_get(void)
{
    struct dg_now n = {.mono_ms = uv_hrtime() / 1000000u, .wall_ms = dg_wall_ms()};
    return n;
}

/* ------------------------------------------------------------ publishing */

static void store_problem(struct gw *g, int rc, const char *what);

/* Queue an encoded message for a link through the outbox; buf is consumed
   (freed here). Durable before visible: it goes out when the turn commits. */
static void publish(struct gw *g, dg_link *link, const char *topic, uint8_t *buf, size_t len,
                    int retained, enum token_kind kind)
{
    if (!link || !g->courier) {
        dg_free(buf);
        return;
    }
    static const enum dg_outbox_kind kinds[] = {
        [TK_ALERT] = DG_OUTBOX_ALERT,     [TK_ALARMS] = DG_OUTBOX_ALARMS,
        [TK_COMMAND] = DG_OUTBOX_COMMAND, [TK_AUDIT] = DG_OUTBOX_AUDIT,
        [TK_STATUS] = DG_OUTBOX_STATUS,
    };
    int rc =
        dg_courier_send(g->courier, kinds[kind], dg_link_name(link), topic, buf, len, retained);
    dg_free(buf);
    if (rc != 0)
        store_problem(g, rc, "outbox");
    else
        g->turn.outbox_stored = true;
}

static void topic_for(struct gw *g, char *buf, enum dg_topic_kind kind, const char *id)
{
    if (dg_topic_format(buf, TOPIC_MAX, g->cfg->topic_root, kind, id) != 0) buf[0] = '\0';
}

/* Publish one encoded audit record on <root>/audit; buf is consumed. */
static void audit_publish(struct gw *g, uint8_t *buf, size_t len)
{
    char topic[TOPIC_MAX];
    topic_for(g, topic, DG_TOPIC_AUDIT, "");
    g->audit_out++;
    g->dirty = 1; /* the chain head moved */
    publish(g, g->clinic, topic, buf, len, 0, TK_AUDIT);
}

/*
 * Sign the chain as it stands with a checkpoint record, if there is a key
 * and anything unsigned. why: "count", "interval" or "stop" (for the log).
 */
static void audit_checkpoint(struct gw *g, const char *why)
{
    if (!g->audit_key || g->chain.seq == g->chain.checkpoint_seq) return;
    uint64_t count = g->chain.seq;
    char head[65];
    dg_hex(head, g->chain.head, 32);
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = dg_audit_chain_checkpoint(&g->chain, g->cfg->gateway_id, dg_wall_ms(), g->audit_key,
                                       &buf, &len);
    if (rc != 0) {
        DG_ERROR("audit", "msg=\"checkpoint could not be made\" count=%" PRIu64 " error=\"%s\"",
                 count, dg_strerror(rc));
        return;
    }
    DG_INFO("audit", "seq=%" PRIu64 " event=%s count=%" PRIu64 " head=%s reason=%s", g->chain.seq,
            DG_AUDIT_CHECKPOINT_EVENT, count, head, why);
    g->checkpoints_out++;
    audit_publish(g, buf, len);
}

static void audit(struct gw *g, const struct dg_audit_event *ev)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = dg_audit_chain_append(&g->chain, g->cfg->gateway_id, dg_wall_ms(), ev, &buf, &len);
    if (rc != 0) {
        DG_ERROR("audit", "msg=\"audit record could not be made\" event=%s error=\"%s\"",
                 ev->event_type, dg_strerror(rc));
        return;
    }
    char q[DG_TEXT_MAX + 64], qp[2 * DG_ID_MAX + 16];
    /* A user's acknowledgement names "<user> via <dashboard>": quoted, so the
       line stays one key=value per field. */
    const char *who = ev->participant_id;
    if (who && strchr(who, ' ')) who = dg_log_q(qp, sizeof qp, who);
    DG_INFO("audit", "seq=%" PRIu64 " event=%s outcome=%d participant=%s object=%s:%s detail=%s",
            g->chain.seq, ev->event_type, (int)ev->outcome, who, ev->object_type, ev->object_id,
            dg_log_q(q, sizeof q, ev->detail));
    audit_publish(g, buf, len);
    /* While stopping (e.g. a link event during the drain), sign at once:
       the trail must still end with a checkpoint. */
    if (g->stopping)
        audit_checkpoint(g, "stop");
    else if (g->chain.seq - g->chain.checkpoint_seq >= (uint64_t)g->cfg->audit.checkpoint_every)
        audit_checkpoint(g, "count");
}

/* An audit event made by the shell itself (not the core). */
static void audit_gw(struct gw *g, const char *type, const char *action,
                     enum dg_audit_outcome outcome, enum dg_participant pk, const char *pid,
                     const char *otype, const char *oid, const char *detail)
{
    struct dg_audit_event ev = {.event_type = type,
                                .action = action,
                                .outcome = outcome,
                                .participant_kind = pk,
                                .participant_id = pid,
                                .object_type = otype,
                                .object_id = oid,
                                .detail = detail};
    audit(g, &ev);
}

static int encode_status(struct gw *g, int online, uint8_t **buf, size_t *len)
{
    struct dg_core_stats st;
    memset(&st, 0, sizeof st);
    if (g->core) dg_core_stats(g->core, &st);
    struct dg_status s = {
        .online = online,
        .gateway_id = g->cfg->gateway_id,
        .software_version = DG_VERSION,
        .config_sha256 = g->cfg->sha256_hex,
        .drug_library_id = g->cfg->druglib.id,
        .drug_library_version = g->cfg->druglib.version,
        .drug_library_sha256 = g->cfg->druglib.sha256_hex,
        .start_time_ms = g->start_wall_ms,
        .status_time_ms = dg_wall_ms(),
        .pumps_known = st.pumps,
        .beds_known = st.beds,
        .messages_accepted = g->accepted,
        .messages_rejected = g->rejected_total,
        .active_alerts = st.active_alerts,
        .store_errors = g->store_errors,
        .duplicates_repeated = st.dup_repeated,
        .duplicates_backwards = st.dup_backwards,
        .duplicates_stale_incarnation = st.dup_stale_incarnation,
        .seq_gaps = st.seq_gaps,
        .seq_missing = st.seq_missing,
        .device_reboots = st.reboots,
        .clock_jumps = st.clock_jumps,
        .identity_refused = g->identity_refused,
        .permits_sent = g->permits_sent,
        .permits_dropped = g->permits_dropped,
    };
    if (g->courier) {
        struct dg_courier_stats cs;
        dg_courier_stats(g->courier, &cs);
        s.outbox_backlog = cs.backlog;
    }
    return dg_codec_encode_status(&s, buf, len);
}

static void publish_status(struct gw *g, dg_link *link, int online)
{
    if (link == g->device && !g->status_on_device) return;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (encode_status(g, online, &buf, &len) != 0) {
        DG_ERROR("gateway", "msg=\"status could not be encoded\"");
        return;
    }
    publish(g, link, g->status_topic, buf, len, 1, TK_STATUS);
}

/* ------------------------------------------------------------ core sink */

static const char *const phase_names[] = {"",           "raise",       "update", "escalate",
                                          "deescalate", "acknowledge", "clear"};
static const char *const prio_names[] = {"none", "low", "medium", "high"};

static void sink_alert(void *ctx, const struct dg_alert_event *ev)
{
    struct gw *g = ctx;
    const struct dg_alert *a = ev->alert;
    char q[DG_TEXT_MAX + 8];
    DG_WARN("alert",
            "phase=%s id=%s condition=%s priority=%s bed=%s pump=%s value=%.3f limit=%.3f "
            "unit=%s message=%s",
            phase_names[ev->phase], a->alert_id, a->condition, prio_names[a->priority], a->bed_id,
            a->pump_id, a->value, a->limit, a->unit, dg_log_q(q, sizeof q, a->message));
    uint8_t *buf = NULL;
    size_t len = 0;
    if (dg_codec_encode_alert(ev, &buf, &len) != 0) {
        DG_ERROR("gateway", "msg=\"alert could not be encoded\" id=%s", a->alert_id);
        return;
    }
    char topic[TOPIC_MAX];
    topic_for(g, topic, DG_TOPIC_ALERT, a->bed_id);
    g->alerts_out++;
    publish(g, g->clinic, topic, buf, len, 0, TK_ALERT);
}

static void sink_alarms(void *ctx, const struct dg_alarm_snapshot *s)
{
    struct gw *g = ctx;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (dg_codec_encode_alarms(s, &buf, &len) != 0) {
        DG_ERROR("gateway", "msg=\"alarm snapshot could not be encoded\" bed=%s", s->bed_id);
        return;
    }
    char topic[TOPIC_MAX];
    topic_for(g, topic, DG_TOPIC_ALARMS, s->bed_id);
    DG_INFO("alarms", "bed=%s active=%zu highest=%s", s->bed_id, s->n_alerts,
            prio_names[s->highest]);
    publish(g, g->clinic, topic, buf, len, 1, TK_ALARMS);
}

/*
 * A permit is sent now or never (contract: permits are ephemeral): QoS 0,
 * straight to the device link, never through the durable outbox, so one
 * that could not be sent is not replayed after a reconnect or a restart
 * ahead of newer commands. Its absence is the fail-safe: the pump pauses
 * itself. Counted as sent or dropped.
 */
static void send_permit(struct gw *g, const char *topic, const uint8_t *buf, size_t len,
                        const char *pump_id)
{
    int rc = g->device ? dg_link_publish_now(g->device, topic, buf, len, 0) : -DG_ECLOSED;
    if (rc == 0) {
        g->permits_sent++;
        return;
    }
    g->permits_dropped++;
    DG_DEBUG("command", "msg=\"permit not sent (never replayed)\" pump=%s error=\"%s\"", pump_id,
             dg_strerror(rc));
}

static void sink_command(void *ctx, const struct dg_command *cmd)
{
    struct gw *g = ctx;
    static const char *const names[] = {"", "pause", "stop", "permit"};
    if (cmd->action != DG_CMD_PERMIT)
        DG_WARN("command", "action=%s id=%s pump=%s alert=%s", names[cmd->action], cmd->command_id,
                cmd->pump_id, cmd->reason_alert_id);
    uint8_t *buf = NULL;
    size_t len = 0;
    if (dg_codec_encode_command(cmd, &buf, &len) != 0) {
        DG_ERROR("gateway", "msg=\"command could not be encoded\" id=%s", cmd->command_id);
        return;
    }
    char topic[TOPIC_MAX];
    topic_for(g, topic, DG_TOPIC_COMMAND, cmd->pump_id);
    if (cmd->action == DG_CMD_PERMIT) {
        send_permit(g, topic, buf, len, cmd->pump_id);
        dg_free(buf);
        return;
    }
    g->commands_out++;
    publish(g, g->device, topic, buf, len, 0, TK_COMMAND);
}

static void sink_audit(void *ctx, const struct dg_audit_event *ev)
{
    audit(ctx, ev);
}

/* ------------------------------------------------------------ inbound */

static void reject(struct gw *g, const char *topic, const char *device_id,
                   const struct dg_decode_error *err)
{
    if (err->reason == DG_REJECT_NONE) {
        /* The decoder ran out of memory: the message was fine but is lost. */
        g->rejected_total++;
        DG_ERROR("input", "msg=\"message not processed: out of memory\" topic=%s", topic);
        audit_gw(g, "message.not_processed", "R", DG_OUTCOME_MAJOR, DG_PART_DEVICE,
                 device_id && device_id[0] ? device_id : "unknown", "message", topic,
                 "out of memory while decoding");
        return;
    }
    enum dg_reject r = err->reason < DG_REJECT__COUNT ? err->reason : DG_REJECT_DECODE;
    g->rejected[r]++;
    g->rejected_total++;
    char qt[TOPIC_MAX + 8], qd[DG_TEXT_MAX + 8];
    DG_WARN("input", "msg=\"message rejected\" reason=%s field=%s topic=%s detail=%s",
            dg_reject_name(r), err->field[0] ? err->field : "-", dg_log_q(qt, sizeof qt, topic),
            dg_log_q(qd, sizeof qd, err->detail));
    char detail[DG_TEXT_MAX + TOPIC_MAX + 64];
    snprintf(detail, sizeof detail, "%s field=%s topic=%s: %s", dg_reject_name(r),
             err->field[0] ? err->field : "-", topic, err->detail);
    int security = r == DG_REJECT_ID_MISMATCH;
    audit_gw(g, security ? "security.identity_mismatch" : "message.rejected", "R",
             security ? DG_OUTCOME_SERIOUS : DG_OUTCOME_MINOR, DG_PART_DEVICE,
             device_id && device_id[0] ? device_id : "unknown", "message", topic, detail);
}

/*
 * A device the identity rules refuse (identity.h): counted, logged and
 * audited as a security event; nothing of it reaches the core, so no
 * state, alert or command ever exists for it.
 */
static void refuse_identity(struct gw *g, const char *topic, const char *id,
                            enum dg_identity_verdict v, const char *why)
{
    g->identity_refused++;
    g->rejected[DG_REJECT_IDENTITY]++;
    g->rejected_total++;
    char qt[TOPIC_MAX + 8], qw[DG_TEXT_MAX + 8];
    DG_WARN("input", "msg=\"device refused\" reason=identity rule=%s device=%s topic=%s detail=%s",
            dg_identity_verdict_name(v), id, dg_log_q(qt, sizeof qt, topic),
            dg_log_q(qw, sizeof qw, why));
    char detail[DG_TEXT_MAX + TOPIC_MAX + 32];
    snprintf(detail, sizeof detail, "%s (topic %s): %s", dg_identity_verdict_name(v), topic, why);
    audit_gw(g, "security.identity", "R", DG_OUTCOME_SERIOUS, DG_PART_DEVICE,
             id[0] ? id : "unknown", "device", id[0] ? id : "unknown", detail);
}

/* What the core noticed about a device message it processed: a reboot, a
   sequence gap, a clock jump (each also counted and audited by the core). */
static void log_note(const char *topic, const char *id, const struct dg_input_note *n)
{
    if (n->reboot) DG_INFO("input", "msg=\"device restarted (new incarnation)\" device=%s", id);
    if (n->gap_missing)
        DG_WARN("input",
                "msg=\"sequence gap\" device=%s missing=%" PRIu64 " last_seq=%" PRIu64 " topic=%s",
                id, n->gap_missing, n->last_seq, topic);
    if (n->jump_ms)
        DG_WARN("input", "msg=\"device clock jumped\" device=%s jump_s=%.1f topic=%s", id,
                (double)n->jump_ms / 1000.0, topic);
}

static void on_message(void *ctx, dg_link *link, const char *topic, const uint8_t *payload,
                       size_t len, int retained)
{
    (void)retained;
    struct gw *g = ctx;
    if (g->stopping) return;
    g->dirty = 1; /* the core may change: saved at the end of the turn */
    char id[DG_ID_MAX] = "";
    struct dg_decode_error err;
    memset(&err, 0, sizeof err);
    struct dg_now now = now_get();
    enum dg_topic_kind kind = dg_topic_parse(g->cfg->topic_root, topic, id, sizeof id);
    int rc = 0;

    /* Identity by kind: a pump id on a telemetry topic, a monitor id on a
       vitals topic, listed in the inventory if there is one; checked before
       anything is decoded or kept, not even a flood bucket. */
    if ((kind == DG_TOPIC_TELEMETRY || kind == DG_TOPIC_VITALS) && link == g->device) {
        char why[DG_TEXT_MAX];
        enum dg_identity_verdict v = dg_identity_check(
            &g->cfg->devices, kind == DG_TOPIC_TELEMETRY ? DG_DEVICE_PUMP : DG_DEVICE_MONITOR, id,
            why, sizeof why);
        if (v != DG_IDENTITY_OK) {
            refuse_identity(g, topic, id, v, why);
            return;
        }
    }

    /* Flood: each device gets its token bucket before anything is decoded. */
    if ((kind == DG_TOPIC_TELEMETRY || kind == DG_TOPIC_VITALS) && g->throttle) {
        int edge = 0;
        uint64_t recv_ms = dg_link_message_mono_ms(link);
        int pass = dg_throttle_take(g->throttle, id, recv_ms ? recv_ms : now.mono_ms, &edge);
        char detail[DG_TEXT_MAX];
        if (edge > 0) {
            snprintf(detail, sizeof detail,
                     "%s sends more than %d messages/s (x%g device time): throttled", id,
                     g->cfg->max_msgs_per_s_per_device, g->cfg->device_time_scale);
            DG_WARN("input", "msg=\"device flooding: throttled\" device=%s", id);
            audit_gw(g, "security.flood", "R", DG_OUTCOME_SERIOUS, DG_PART_DEVICE, id, "device", id,
                     detail);
            (void)dg_core_gateway_alert(g->core, "flood", id, detail, now);
        } else if (edge < 0) {
            snprintf(detail, sizeof detail, "%s back under its message rate", id);
            DG_INFO("input", "msg=\"device flood over\" device=%s", id);
            audit_gw(g, "security.flood_over", "R", DG_OUTCOME_SUCCESS, DG_PART_DEVICE, id,
                     "device", id, detail);
            (void)dg_core_gateway_alert(g->core, "flood", id, NULL, now);
        }
        if (pass == 0) {
            g->rejected[DG_REJECT_FLOOD]++;
            g->rejected_total++;
            return;
        }
    }

    if (kind == DG_TOPIC_TELEMETRY && link == g->device) {
        struct dg_telemetry t;
        if (dg_codec_decode_telemetry(payload, len, id, &t, &err) != 0) {
            reject(g, topic, id, &err);
            return;
        }
        char why[DG_TEXT_MAX];
        enum dg_identity_verdict v =
            dg_identity_check_bed(&g->cfg->devices, id, t.bed_id, why, sizeof why);
        if (v != DG_IDENTITY_OK) {
            refuse_identity(g, topic, id, v, why);
            return;
        }
        t.recv_mono_ms = dg_link_message_mono_ms(link);
        rc = dg_core_telemetry(g->core, &t, now);
    } else if (kind == DG_TOPIC_VITALS && link == g->device) {
        struct dg_vitals v;
        if (dg_codec_decode_vitals(payload, len, id, &v, &err) != 0) {
            reject(g, topic, id, &err);
            return;
        }
        char why[DG_TEXT_MAX];
        enum dg_identity_verdict iv =
            dg_identity_check_bed(&g->cfg->devices, id, v.bed_id, why, sizeof why);
        if (iv != DG_IDENTITY_OK) {
            refuse_identity(g, topic, id, iv, why);
            return;
        }
        v.recv_mono_ms = dg_link_message_mono_ms(link);
        rc = dg_core_vitals(g->core, &v, now);
    } else if (kind == DG_TOPIC_ACK && link == g->clinic) {
        /* <root>/ack/<dashboard_id>: the broker lets a dashboard certificate
           write only under its own CN, so the id says which certificate
           acknowledged; it must be a dashboard's (a too-wide ACL must not
           let a pump or a made-up name acknowledge). Checked before decoding. */
        char why[DG_TEXT_MAX];
        enum dg_identity_verdict v =
            dg_identity_check(&g->cfg->devices, DG_DEVICE_DASHBOARD, id, why, sizeof why);
        if (v != DG_IDENTITY_OK) {
            refuse_identity(g, topic, id, v, why);
            return;
        }
        struct dg_ack a;
        if (dg_codec_decode_ack(payload, len, &a, &err) != 0) {
            reject(g, topic, id, &err);
            return;
        }
        snprintf(a.dashboard_id, sizeof a.dashboard_id, "%s", id);
        rc = dg_core_ack(g->core, &a, now);
        if (rc == -DG_ENOTFOUND) {
            char detail[DG_TEXT_MAX], who[2 * DG_ID_MAX + 8];
            snprintf(who, sizeof who, "%s via %s", a.user_id, a.dashboard_id);
            snprintf(detail, sizeof detail, "acknowledgement for alert %s, which is not active",
                     a.alert_id);
            DG_WARN("input",
                    "msg=\"ack for an alert that is not active\" alert=%s user=%s dashboard=%s",
                    a.alert_id, a.user_id, a.dashboard_id);
            audit_gw(g, "ack.rejected", "U", DG_OUTCOME_MINOR, DG_PART_USER, who, "alert",
                     a.alert_id, detail);
            g->rejected_total++;
            return;
        }
    } else {
        err.reason = DG_REJECT_TOPIC;
        snprintf(err.detail, sizeof err.detail, "topic not handled on the %s link",
                 dg_link_name(link));
        reject(g, topic, id, &err);
        return;
    }

    const struct dg_input_note *note = dg_core_note(g->core);
    if (kind != DG_TOPIC_TELEMETRY && kind != DG_TOPIC_VITALS) note = NULL;
    if (rc == 0) {
        g->accepted++;
        if (note) log_note(topic, id, note);
    } else if (rc == -DG_EDUP) {
        g->duplicates++;
        /* Counted and audited by the core, with its reason. */
        DG_INFO("input",
                "msg=\"duplicate ignored\" device=%s reason=%s last_seq=%" PRIu64 " topic=%s", id,
                note ? dg_dup_reason_name(note->dup) : "ack", note ? note->last_seq : 0, topic);
    } else {
        err.reason = DG_REJECT_BAD_VALUE;
        snprintf(err.detail, sizeof err.detail, "not processed: %s", dg_strerror(rc));
        reject(g, topic, id, &err);
    }
}

/* ------------------------------------------------------------ the state store */

/*
 * The store could not take something (disk budget reached, disk full,
 * read-only, I/O error): what it refused went out without it (courier.c).
 * Raise the high technical "state-store" alert on the gateway's own bed and
 * audit it, once per outage; interlocks go on evaluating regardless.
 */
static void store_problem(struct gw *g, int rc, const char *what)
{
    g->store_errors++;
    g->turn.errors++;
    if (g->store_failing) return;
    g->store_failing = 1; /* first: raising the alert publishes, which may fail again */
    /* What must be stored again before the alert may clear (storehealth.h):
       a failed turn is the disk's doing whatever was being stored. */
    g->store_cause = g->store && dg_store_turn_error(g->store) ? DG_STORE_CAUSE_TURN
                     : strcmp(what, "outbox") == 0             ? DG_STORE_CAUSE_OUTBOX
                     : strcmp(what, "state") == 0              ? DG_STORE_CAUSE_STATE
                                                               : DG_STORE_CAUSE_TURN;
    char msg[DG_TEXT_MAX];
    snprintf(msg, sizeof msg, "state store failing (%s: %s): %s; messages go out undurably", what,
             dg_strerror(rc), g->store ? dg_store_errmsg(g->store) : "");
    DG_ERROR("store", "msg=\"state store failing\" what=%s error=\"%s\" detail=\"%s\"", what,
             dg_strerror(rc), g->store ? dg_store_errmsg(g->store) : "");
    int r = dg_core_gateway_alert(g->core, "state-store", NULL, msg, now_get());
    if (r != 0) DG_ERROR("store", "msg=\"state-store alert could not be raised\"");
    audit_gw(g, "store.failing", "U", DG_OUTCOME_MAJOR, DG_PART_GATEWAY, g->cfg->gateway_id,
             "store", g->cfg->state_dir, msg);
}

/* Save the core's state and the audit chain head in the current turn. */
static void save_state(struct gw *g)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    dg_courier_turn(g->courier);
    int rc = dg_core_save(g->core, &blob, &len);
    if (rc == 0) rc = dg_store_put(g->store, "core", blob, len);
    dg_free(blob);
    if (rc == 0) rc = dg_store_put(g->store, "audit", &g->chain, sizeof g->chain);
    if (rc != 0)
        store_problem(g, rc, "state");
    else
        g->turn.state_saved = true;
}

/* The end of a loop turn (uv_prepare runs before the loop waits): save what
   changed, commit, then hand the committed messages to the links. */
static void on_turn_end(uv_prepare_t *h)
{
    struct gw *g = h->data;
    if (!g->store) return;
    if (g->dirty) {
        g->dirty = 0;
        save_state(g);
    }
    int rc = dg_courier_end_turn(g->courier);
    if (rc != 0) store_problem(g, rc, "commit");
    struct dg_store_turn turn = g->turn;
    memset(&g->turn, 0, sizeof g->turn);
    if (rc == 0 && dg_store_turn_error(g->store)) turn.errors++;
    struct dg_courier_stats cs = {0};
    dg_courier_stats(g->courier, &cs);
    turn.backlog_bytes = cs.backlog_bytes;
    turn.budget_bytes = (uint64_t)g->cfg->disk_budget_mb * 1024u * 1024u;
    if (g->store_failing && dg_store_recovered(g->store_cause, &turn)) {
        /* A turn stored again what the store had refused, without error. */
        g->store_failing = 0;
        DG_INFO("store", "msg=\"state store works again\" errors=%" PRIu64, g->store_errors);
        (void)dg_core_gateway_alert(g->core, "state-store", NULL, NULL, now_get());
        audit_gw(g, "store.recovered", "U", DG_OUTCOME_SUCCESS, DG_PART_GATEWAY, g->cfg->gateway_id,
                 "store", g->cfg->state_dir, "state store writes again");
        g->dirty = 1; /* save everything that happened meanwhile */
    }
}

/* Open the store and resume from it. Refuses (non-zero) rather than start
   with an empty state over one it cannot read: a restart must never reset a
   dose ceiling. */
static int open_store(struct gw *g)
{
    char err[512];
    uint64_t budget = (uint64_t)g->cfg->disk_budget_mb * 1024u * 1024u;
    int rc = dg_store_open(&g->store, g->cfg->state_dir, budget, err, sizeof err);
    if (rc != 0) {
        DG_ERROR("store", "msg=\"cannot open the state store; refusing to start\" error=\"%s\"",
                 err);
        return rc;
    }
    const struct dg_store_found *found = dg_store_found(g->store);
    void *blob = NULL;
    size_t len = 0;
    rc = dg_store_get(g->store, "core", &blob, &len);
    if (rc == 0) {
        struct dg_now load_now = now_get();
        rc = dg_core_load(g->core, blob, len, load_now);
        dg_free(blob);
        uint64_t saved = rc == 0 ? dg_core_saved_wall_ms(g->core) : 0;
        if (saved && load_now.wall_ms > saved) g->start_away_ms = load_now.wall_ms - saved;
        if (rc != 0) {
            DG_ERROR("store",
                     "msg=\"the saved interlock state cannot be read (another build, or damaged); "
                     "refusing to start rather than forget doses: move %s away to start afresh\" "
                     "error=\"%s\"",
                     g->cfg->state_dir, dg_strerror(rc));
            return rc;
        }
    } else if (rc != -DG_ENOTFOUND) {
        DG_ERROR("store", "msg=\"cannot read the saved state\" error=\"%s\" detail=\"%s\"",
                 dg_strerror(rc), dg_store_errmsg(g->store));
        return rc;
    }
    rc = dg_store_get(g->store, "audit", &blob, &len);
    if (rc == 0) {
        if (len == sizeof g->chain) memcpy(&g->chain, blob, len);
        dg_free(blob);
    }
    struct dg_core_stats st;
    dg_core_stats(g->core, &st);
    DG_INFO("store",
            "msg=\"state store open\" dir=%s created=%d pumps=%u beds=%u active_alerts=%u "
            "audit_seq=%" PRIu64 " outbox=%" PRIu64,
            g->cfg->state_dir, found->created, st.pumps, st.beds, st.active_alerts, g->chain.seq,
            found->outbox_items);
    return dg_courier_new(&g->courier, g->store, 32);
}

/* ------------------------------------------------------------ link events */

static void on_connected(void *ctx, dg_link *link)
{
    struct gw *g = ctx;
    if (link == g->device && g->throttle) {
        /* What the devices sent while we were away arrives now, in a burst. */
        uint64_t now_ms = now_get().mono_ms;
        uint64_t away_ms =
            g->device_down_mono_ms ? now_ms - g->device_down_mono_ms : g->start_away_ms;
        g->device_down_mono_ms = 0;
        g->start_away_ms = 0;
        if (away_ms) {
            dg_throttle_backlog(g->throttle, away_ms, now_ms);
            DG_INFO("input", "msg=\"backlog credit for the reconnect\" away_s=%.1f",
                    (double)away_ms / 1000.0);
        }
    }
    if (g->courier) dg_courier_on_connected(g->courier, link);
    publish_status(g, link, 1);
    audit_gw(g, "link.up", "E", DG_OUTCOME_SUCCESS, DG_PART_GATEWAY, g->cfg->gateway_id, "link",
             dg_link_name(link), "broker connection established");
}

static void on_disconnected(void *ctx, dg_link *link, const char *cause)
{
    struct gw *g = ctx;
    if (link == g->device && !g->device_down_mono_ms) g->device_down_mono_ms = now_get().mono_ms;
    if (g->courier) dg_courier_on_disconnected(g->courier, link);
    char detail[DG_TEXT_MAX];
    snprintf(detail, sizeof detail, "broker connection down: %s", cause ? cause : "");
    audit_gw(g, "link.down", "E", DG_OUTCOME_SERIOUS, DG_PART_GATEWAY, g->cfg->gateway_id, "link",
             dg_link_name(link), detail);
}

static void on_done(void *ctx, dg_link *link, uint64_t token, int rc)
{
    struct gw *g = ctx;
    if (g->courier) dg_courier_on_done(g->courier, link, token, rc);
    if (rc == 0) {
        g->published++;
        return;
    }
    g->publish_failed++;
    DG_WARN("gateway",
            "msg=\"message not acknowledged; it stays in the outbox\" link=%s id=%" PRIu64
            " error=\"%s\"",
            dg_link_name(link), token, dg_strerror(rc));
}

/* ------------------------------------------------------------ lifecycle */

/* Unsigned records wait at most audit.checkpoint_interval_s for a checkpoint. */
static void on_checkpoint_timer(uv_timer_t *t)
{
    audit_checkpoint(t->data, "interval");
}

static void on_status_timer(uv_timer_t *t)
{
    struct gw *g = t->data;
    publish_status(g, g->device, 1);
    publish_status(g, g->clinic, 1);
}

/* Time passing: liveness, command-not-honoured, permits (core.h). */
static void on_tick_timer(uv_timer_t *t)
{
    struct gw *g = t->data;
    g->dirty = 1;
    int rc = dg_core_tick(g->core, now_get());
    if (rc != 0)
        DG_ERROR("gateway",
                 "msg=\"interlock clock could not raise an alert; retrying\" error=\"%s\"",
                 dg_strerror(rc));
}

static void on_link_closed(void *arg)
{
    struct gw *g = arg;
    if (--g->links_open > 0) return;
    g->device = g->clinic = NULL;
    if (g->courier) dg_courier_detach_all(g->courier);
    dg_uv_close_all(&g->loop);
}

static void close_links(struct gw *g)
{
    uv_timer_stop(&g->drain_timer);
    dg_link *dev = g->device, *cli = g->clinic;
    if (dev) dg_link_close(dev, 1000, on_link_closed, g);
    if (cli && cli != dev) dg_link_close(cli, 1000, on_link_closed, g);
    if (!dev && !cli) dg_uv_close_all(&g->loop);
}

static void on_drain_timer(uv_timer_t *t)
{
    struct gw *g = t->data;
    struct dg_courier_stats cs = {0};
    if (g->courier) dg_courier_stats(g->courier, &cs);
    uint64_t backlog = cs.backlog;
    uint64_t waited = uv_now(&g->loop) - g->drain_started_ms;
    if (backlog == 0 || waited >= DRAIN_TIMEOUT_MS) {
        if (backlog)
            DG_WARN("gateway",
                    "msg=\"stopping with messages not acknowledged; they stay in the outbox for "
                    "the next start\" backlog=%" PRIu64,
                    backlog);
        close_links(g);
    }
}

static void begin_stop(struct gw *g, const char *why)
{
    if (g->stopping) return;
    DG_INFO("gateway", "msg=\"stopping\" reason=%s", why);
    audit_gw(g, "gateway.stop", "E", DG_OUTCOME_SUCCESS, DG_PART_GATEWAY, g->cfg->gateway_id,
             "gateway", g->cfg->gateway_id, why);
    /* Sign the trail now; a record made later while stopping (a link event
       during the drain) gets its own checkpoint in audit(), so a clean stop
       always leaves a trail that ends signed. */
    audit_checkpoint(g, "stop");
    g->stopping = 1;
    uv_signal_stop(&g->sigint);
    uv_signal_stop(&g->sigterm);
    uv_timer_stop(&g->status_timer);
    uv_timer_stop(&g->tick_timer);
    uv_timer_stop(&g->checkpoint_timer);
    publish_status(g, g->device, 0);
    publish_status(g, g->clinic, 0);
    g->drain_started_ms = uv_now(&g->loop);
    uv_timer_start(&g->drain_timer, on_drain_timer, 0, 50);
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct gw *g = s->data;
    begin_stop(g, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

static int open_link(struct gw *g, dg_link **out, const char *name,
                     const struct dg_link_settings *ls, int with_status)
{
    struct dg_link_config lc = {
        .name = name,
        .url = ls->url,
        .client_id = ls->client_id,
        .ca_file = ls->ca_file,
        .cert_file = ls->cert_file,
        .key_file = ls->key_file,
        .keepalive_s = ls->keepalive_s,
        .will_topic = with_status ? g->status_topic : NULL,
        .will_payload = g->offline_status,
        .will_len = g->offline_status_len,
        .will_retained = 1,
        .persistent_session = 1,
    };
    struct dg_link_callbacks cb = {.ctx = g,
                                   .message = on_message,
                                   .connected = on_connected,
                                   .disconnected = on_disconnected,
                                   .done = on_done};
    return dg_link_open(out, &g->loop, &lc, &cb);
}

static void log_summary(struct gw *g)
{
    struct dg_core_stats st;
    dg_core_stats(g->core, &st);
    struct dg_courier_stats cs = {0};
    if (g->courier) dg_courier_stats(g->courier, &cs);
    DG_INFO("gateway",
            "msg=\"outbox\" queued=%" PRIu64 " delivered=%" PRIu64 " resent=%" PRIu64
            " undurable=%" PRIu64 " backlog=%" PRIu64 " backlog_bytes=%" PRIu64
            " store_errors=%" PRIu64,
            cs.queued, cs.delivered, cs.resent, cs.undurable, cs.backlog, cs.backlog_bytes,
            g->store_errors);
    DG_INFO("gateway",
            "msg=\"summary\" accepted=%" PRIu64 " duplicates=%" PRIu64 " rejected=%" PRIu64
            " alerts=%" PRIu64 " commands=%" PRIu64 " audit=%" PRIu64 " checkpoints=%" PRIu64
            " published=%" PRIu64 " publish_failed=%" PRIu64
            " pumps=%u monitors=%u beds=%u active_alerts=%u",
            g->accepted, g->duplicates, g->rejected_total, g->alerts_out, g->commands_out,
            g->audit_out, g->checkpoints_out, g->published, g->publish_failed, st.pumps,
            st.monitors, st.beds, st.active_alerts);
    DG_INFO("gateway",
            "msg=\"devices\" duplicates_repeated=%" PRIu64 " duplicates_backwards=%" PRIu64
            " duplicates_stale_incarnation=%" PRIu64 " seq_gaps=%" PRIu64 " seq_missing=%" PRIu64
            " reboots=%" PRIu64 " clock_jumps=%" PRIu64 " identity_refused=%" PRIu64
            " permits_sent=%" PRIu64 " permits_dropped=%" PRIu64,
            st.dup_repeated, st.dup_backwards, st.dup_stale_incarnation, st.seq_gaps,
            st.seq_missing, st.reboots, st.clock_jumps, g->identity_refused, g->permits_sent,
            g->permits_dropped);
    for (int r = 1; r < DG_REJECT__COUNT; r++)
        if (g->rejected[r])
            DG_INFO("gateway", "msg=\"rejected by reason\" reason=%s count=%" PRIu64,
                    dg_reject_name((enum dg_reject)r), g->rejected[r]);
}

/*
 * The audit signing key, if configured: loaded once at start (the config
 * check already proved it is an Ed25519 private key). Returns 0 (also when
 * there is none), or -DG_ECONFIG with the reason logged.
 */
static int load_audit_key(struct gw *g)
{
    const char *path = g->cfg->audit.key_file;
    if (!path[0]) return 0;
    char err[DG_PATH_MAX + 96];
    int rc = dg_audit_key_load(&g->audit_key, path, 1, err, sizeof err);
    if (rc != 0) {
        DG_ERROR("audit", "msg=\"cannot load the audit key\" error=\"%s\"", err);
        return -DG_ECONFIG;
    }
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        DG_WARN("audit",
                "msg=\"audit key is readable by others: anyone who can read it can forge "
                "checkpoints; chmod 600\" key=%s mode=%03o",
                path, (unsigned)(st.st_mode & 0777));
    return 0;
}

/* The first audit records after gateway.start: how the trail is signed. */
static void audit_signing(struct gw *g)
{
    const struct dg_config *cfg = g->cfg;
    char detail[DG_TEXT_MAX * 2];
    if (!g->audit_key) {
        /* Only with audit.unsigned: true (the config refuses a file with
           neither a key nor the opt-out). */
        DG_WARN("audit", "msg=\"audit.unsigned: true: the audit trail will carry no signed "
                         "checkpoints\"");
        audit_gw(g, "audit.unsigned", "E", DG_OUTCOME_MINOR, DG_PART_GATEWAY, cfg->gateway_id,
                 "audit", cfg->gateway_id,
                 "audit.unsigned: true (no audit.key_file): no signed checkpoints; edits, "
                 "deletions and truncation can only be detected as far as the hash chain goes");
        return;
    }
    char fp[65] = "?";
    dg_audit_key_fingerprint(g->audit_key, fp);
    snprintf(detail, sizeof detail,
             "checkpoints signed with Ed25519 key sha256 %s (%s) every %d records or %d s", fp,
             cfg->audit.key_file, cfg->audit.checkpoint_every, cfg->audit.checkpoint_interval_s);
    DG_INFO("audit", "msg=\"signing checkpoints\" key=%s key_sha256=%s every=%d interval_s=%d",
            cfg->audit.key_file, fp, cfg->audit.checkpoint_every, cfg->audit.checkpoint_interval_s);
    audit_gw(g, "audit.signing", "E", DG_OUTCOME_SUCCESS, DG_PART_GATEWAY, cfg->gateway_id, "audit",
             cfg->gateway_id, detail);
}

int dg_gateway_run(const struct dg_config *cfg)
{
    struct gw *g = dg_calloc(1, sizeof *g);
    if (!g) return 1;
    int rc;
    g->cfg = cfg;
    g->exit_code = 0;
    g->start_wall_ms = dg_wall_ms();
    dg_audit_chain_init(&g->chain);
    /* Alert and command ids stay unique across restarts: prefix with the
       gateway id and its start time (ms, base 36). */
    {
        char b36[16];
        uint64_t v = g->start_wall_ms;
        int n = 0;
        do {
            b36[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
            v /= 36;
        } while (v && n < 15);
        for (int i = 0; i < n; i++)
            g->id_prefix[i] = b36[n - 1 - i];
        g->id_prefix[n] = '\0';
    }
    if (dg_topic_format(g->status_topic, sizeof g->status_topic, cfg->topic_root, DG_TOPIC_STATUS,
                        cfg->gateway_id) != 0) {
        DG_ERROR("gateway", "msg=\"topic root too long\" root=%s", cfg->topic_root);
        dg_free(g);
        return 1;
    }
    g->status_on_device = strcmp(cfg->device_link.url, cfg->clinic_link.url) != 0;
    if ((rc = uv_loop_init(&g->loop)) != 0) {
        DG_ERROR("gateway", "msg=\"uv_loop_init failed\" error=\"%s\"", uv_strerror(rc));
        dg_free(g);
        return 1;
    }

    struct dg_core_config cc = {.gateway_id = cfg->gateway_id,
                                .id_prefix = g->id_prefix,
                                .druglib = &cfg->druglib,
                                .permit_to_infuse = cfg->permit_to_infuse,
                                .device_time_scale = cfg->device_time_scale};
    struct dg_sink sink = {g, sink_alert, sink_alarms, sink_command, sink_audit};
    if ((rc = load_audit_key(g)) != 0) goto fail;
    if ((rc = dg_core_new(&g->core, &cc, &sink)) != 0) goto fail;
    if ((rc = encode_status(g, 0, &g->offline_status, &g->offline_status_len)) != 0) goto fail;
    if ((rc = open_store(g)) != 0) goto fail;
    if ((rc = dg_throttle_new(&g->throttle, cfg->max_msgs_per_s_per_device * cfg->device_time_scale,
                              2.0)) != 0)
        goto fail;

    uv_signal_init(&g->loop, &g->sigint);
    uv_signal_init(&g->loop, &g->sigterm);
    g->sigint.data = g->sigterm.data = g;
    uv_signal_start(&g->sigint, on_signal, SIGINT);
    uv_signal_start(&g->sigterm, on_signal, SIGTERM);
    uv_timer_init(&g->loop, &g->status_timer);
    uv_timer_init(&g->loop, &g->drain_timer);
    uv_timer_init(&g->loop, &g->tick_timer);
    uv_timer_init(&g->loop, &g->checkpoint_timer);
    g->status_timer.data = g->drain_timer.data = g->tick_timer.data = g;
    uv_prepare_init(&g->loop, &g->turn_end);
    g->turn_end.data = g;
    uv_prepare_start(&g->turn_end, on_turn_end);
    g->checkpoint_timer.data = g;

    DG_INFO("gateway",
            "msg=\"starting\" version=%s gateway=%s site=%s root=%s config=%s config_sha256=%s "
            "drug_library=%s@%s drug_library_sha256=%s",
            DG_VERSION, cfg->gateway_id, cfg->site, cfg->topic_root, cfg->path, cfg->sha256_hex,
            cfg->druglib.id, cfg->druglib.version, cfg->druglib.sha256_hex);

    if ((rc = open_link(g, &g->device, "device", &cfg->device_link, g->status_on_device)) != 0)
        goto fail_handles;
    g->links_open = 1;
    if ((rc = open_link(g, &g->clinic, "clinic", &cfg->clinic_link, 1)) != 0) {
        g->clinic = NULL;
        goto fail_links;
    }
    g->links_open = 2;
    dg_courier_attach(g->courier, "device", g->device);
    dg_courier_attach(g->courier, "clinic", g->clinic);

    /* The first audit records, now that the clinic link exists to queue them
       (it sends them once connected): an audit record made with no link
       would be lost, and the trail would not start at seq 1. */
    {
        char detail[DG_TEXT_MAX * 2];
        snprintf(detail, sizeof detail, "version %s config %s sha256 %s", DG_VERSION, cfg->path,
                 cfg->sha256_hex);
        audit_gw(g, "gateway.start", "E", DG_OUTCOME_SUCCESS, DG_PART_GATEWAY, cfg->gateway_id,
                 "gateway", cfg->gateway_id, detail);
        snprintf(detail, sizeof detail, "drug library %s version %s sha256 %s (%zu entries)",
                 cfg->druglib.id, cfg->druglib.version, cfg->druglib.sha256_hex,
                 cfg->druglib.n_drugs);
        audit_gw(g, "config.drug_library_loaded", "R", DG_OUTCOME_SUCCESS, DG_PART_GATEWAY,
                 cfg->gateway_id, "config", cfg->drug_library_path, detail);
        audit_signing(g);
    }

    char t[TOPIC_MAX];
    snprintf(t, sizeof t, "%s/pump/+/telemetry", cfg->topic_root);
    dg_link_subscribe(g->device, t, 1);
    snprintf(t, sizeof t, "%s/monitor/+/vitals", cfg->topic_root);
    dg_link_subscribe(g->device, t, 1);
    /* Acks arrive on <root>/ack/<dashboard_id>. The filter is ack/# rather
       than ack/+ so that a message on the bare <root>/ack (the old topic) or
       deeper is seen and refused as `topic` (counted, audited) when a broker
       ACL lets it through, instead of missed in silence; the shipped ACL
       lets the gateway read only ack/+. */
    snprintf(t, sizeof t, "%s/ack/#", cfg->topic_root);
    dg_link_subscribe(g->clinic, t, 1);
    uint64_t every = (uint64_t)cfg->status_interval_s * 1000u;
    uv_timer_start(&g->status_timer, on_status_timer, every, every);
    uv_timer_start(&g->tick_timer, on_tick_timer, 250, 250);
    if (g->audit_key) {
        uint64_t cp = (uint64_t)cfg->audit.checkpoint_interval_s * 1000u;
        uv_timer_start(&g->checkpoint_timer, on_checkpoint_timer, cp, cp);
    }

    uv_run(&g->loop, UV_RUN_DEFAULT);
    goto done;

fail_links:
    DG_ERROR("gateway", "msg=\"cannot open broker links\" error=\"%s\"", dg_strerror(rc));
    g->exit_code = 1;
    g->stopping = 1;
    close_links(g);
    uv_run(&g->loop, UV_RUN_DEFAULT);
    goto done;
fail_handles:
    DG_ERROR("gateway", "msg=\"cannot open broker links\" error=\"%s\"", dg_strerror(rc));
    g->exit_code = 1;
    dg_uv_close_all(&g->loop);
    uv_run(&g->loop, UV_RUN_DEFAULT);
done:
    if (g->store) {
        /* The last turn: what the stop changed, and deliveries marked. */
        save_state(g);
        if (dg_courier_end_turn(g->courier) != 0) g->exit_code = 1;
    }
    log_summary(g);
    rc = uv_loop_close(&g->loop);
    if (rc != 0) {
        DG_ERROR("gateway", "msg=\"loop closed with handles still open\" error=\"%s\"",
                 uv_strerror(rc));
        g->exit_code = 1;
    } else {
        DG_INFO("gateway", "msg=\"stopped cleanly\"");
    }
    int code = g->exit_code;
    dg_throttle_free(g->throttle);
    dg_courier_free(g->courier);
    dg_store_close(g->store);
    dg_audit_key_free(g->audit_key);
    dg_core_free(g->core);
    dg_free(g->offline_status);
    dg_free(g);
    return code;

fail:
    DG_ERROR("gateway", "msg=\"cannot start\" error=\"%s\"", dg_strerror(rc));
    dg_throttle_free(g->throttle);
    dg_courier_free(g->courier);
    dg_store_close(g->store);
    dg_audit_key_free(g->audit_key);
    dg_core_free(g->core);
    dg_free(g->offline_status);
    uv_loop_close(&g->loop);
    dg_free(g);
    return 1;
}
