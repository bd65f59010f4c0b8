/*
 * sim_device.c — a simulated bed's two devices on the wire: the links
 * (one per device, each with its own client certificate, client id = device
 * id), PumpTelemetry / VitalsSample encoding, and PumpCommand decoding.
 *
 * Outgoing messages are built on the stack and packed into a stack buffer:
 * they are small (well under 512 bytes) and the link copies the payload.
 * Incoming commands are unpacked with the project allocator and freed before
 * the callback returns.
 *
 * A command is obeyed only if it decodes, has schema version 1, is addressed
 * to this pump (pump_id equals ours) and is not retained: the contract says
 * commands are never retained, so a retained one is a stale or forged leftover
 * that must not pause a new session.
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "dosegate.pb-c.h"
#include "io/log.h"
#include "io/util.h"
#include "sim.h"

#define MOD      "sim"
#define PACK_MAX 512

/* ---------------------------------------------------------------- callbacks */

static void on_connected(void *ctx, dg_link *link)
{
    (void)ctx;
    DG_INFO(MOD, "device=%s msg=\"connected\"", dg_link_name(link));
}

static void on_disconnected(void *ctx, dg_link *link, const char *cause)
{
    struct dg_sim_bed *bed = ctx;
    /* The link logs the cause and reconnects; we only count. */
    (void)link;
    (void)cause;
    bed->disconnects++;
}

static void on_pump_done(void *ctx, dg_link *link, uint64_t token, int rc)
{
    struct dg_sim_bed *bed = ctx;
    if (rc == 0) {
        bed->telemetry_acked++;
        return;
    }
    bed->publish_failed++;
    DG_WARN(MOD, "device=%s msg=\"telemetry not delivered\" seq=%llu err=\"%s\"",
            dg_link_name(link), (unsigned long long)token, dg_strerror(rc));
}

static void on_monitor_done(void *ctx, dg_link *link, uint64_t token, int rc)
{
    struct dg_sim_bed *bed = ctx;
    if (rc == 0) {
        bed->vitals_acked++;
        return;
    }
    bed->publish_failed++;
    DG_WARN(MOD, "device=%s msg=\"vitals not delivered\" seq=%llu err=\"%s\"", dg_link_name(link),
            (unsigned long long)token, dg_strerror(rc));
}

static const char *action_upper(enum dg_command_action a)
{
    switch (a) {
    case DG_CMD_PAUSE:
        return "PAUSE";
    case DG_CMD_STOP:
        return "STOP";
    case DG_CMD_PERMIT:
        return "PERMIT";
    default:
        return "UNKNOWN";
    }
}

static void reject_command(struct dg_sim_bed *bed, const char *why)
{
    char q[160];
    bed->commands_rejected++;
    DG_WARN(MOD, "device=%s msg=\"command ignored\" reason=%s", bed->pump_id,
            dg_log_q(q, sizeof q, why));
}

static void on_pump_message(void *ctx, dg_link *link, const char *topic, const uint8_t *payload,
                            size_t len, int retained)
{
    struct dg_sim_bed *bed = ctx;
    (void)link;
    if (strcmp(topic, bed->command_topic) != 0) {
        reject_command(bed, "unexpected topic");
        return;
    }
    if (retained) {
        reject_command(bed, "retained command (commands are never retained)");
        return;
    }
    Dosegate__V1__PumpCommand *cmd =
        dosegate__v1__pump_command__unpack(&dg_pb_allocator, len, payload);
    if (!cmd) {
        reject_command(bed, "undecodable PumpCommand");
        return;
    }
    char why[DG_TEXT_MAX];
    enum dg_command_action action;
    switch (cmd->action) {
    case DOSEGATE__V1__COMMAND_ACTION__COMMAND_ACTION_PAUSE:
        action = DG_CMD_PAUSE;
        break;
    case DOSEGATE__V1__COMMAND_ACTION__COMMAND_ACTION_STOP:
        action = DG_CMD_STOP;
        break;
    case DOSEGATE__V1__COMMAND_ACTION__COMMAND_ACTION_PERMIT:
        action = DG_CMD_PERMIT;
        break;
    default:
        snprintf(why, sizeof why, "unknown action %d", (int)cmd->action);
        reject_command(bed, why);
        goto done;
    }
    if (cmd->schema_version != 1) {
        snprintf(why, sizeof why, "schema_version %u", (unsigned)cmd->schema_version);
        reject_command(bed, why);
        goto done;
    }
    if (strcmp(cmd->pump_id, bed->pump_id) != 0) {
        snprintf(why, sizeof why, "addressed to pump %.60s", cmd->pump_id);
        reject_command(bed, why);
        goto done;
    }
    if (action != DG_CMD_PERMIT && cmd->command_id[0] &&
        strncmp(cmd->command_id, bed->pump.last_command_id, DG_ID_MAX - 1) == 0) {
        DG_INFO(MOD, "device=%s msg=\"duplicate command ignored (QoS 1 redelivery)\"",
                bed->pump_id);
        goto done;
    }
    /* A permit is valid for permit_valid_for_ms after we receive it, on the
       pump's own clock (the real one: permits are about real time). */
    uint64_t valid_until_ms = action == DG_CMD_PERMIT ? dg_wall_ms() + cmd->permit_valid_for_ms : 0;
    dg_sim_pump_command(&bed->pump, action, cmd->command_id, valid_until_ms);
    if (action == DG_CMD_PERMIT) {
        DG_DEBUG(MOD, "device=%s msg=\"permit\" valid_for_ms=%u", bed->pump_id,
                 (unsigned)cmd->permit_valid_for_ms);
        goto done;
    }
    char text[DG_TEXT_MAX * 2], q[DG_TEXT_MAX * 2 + 8];
    bool ignored = bed->pump.p.ignore_commands;
    snprintf(text, sizeof text, "%s %s: %s received (command %.64s, reason alert %.64s)%s",
             bed->bed_id, bed->pump_id, action_upper(action), cmd->command_id,
             cmd->reason_alert_id[0] ? cmd->reason_alert_id : "none",
             ignored ? " and ignored (scenario command-ignored)" : "");
    /* Logged at warn so it shows even with --quiet: the gateway stopping an
       infusion is the event the operator of a demo or test is looking for. */
    DG_WARN(MOD, "msg=%s state=%s", dg_log_q(q, sizeof q, text),
            dg_sim_pump_state_name(bed->pump.state));
    /* The pump reports the new state (and the command id it acted on) at
       once; a pump that ignored it says nothing new until its next second. */
    if (!ignored) dg_sim_bed_send_telemetry(bed, dg_sim_clock_ms(bed->sim));
done:
    dosegate__v1__pump_command__free_unpacked(cmd, &dg_pb_allocator);
}

/* ---------------------------------------------------------------- links */

static int open_link(dg_link **out, uv_loop_t *loop, const struct dg_sim_opts *opts,
                     const char *device_id, const struct dg_link_callbacks *cb)
{
    char ca[DG_SIM_PATH_MAX], cert[DG_SIM_PATH_MAX], key[DG_SIM_PATH_MAX];
    int n1 = snprintf(ca, sizeof ca, "%s/ca.pem", opts->certs_dir);
    int n2 = snprintf(cert, sizeof cert, "%s/%s.pem", opts->certs_dir, device_id);
    int n3 = snprintf(key, sizeof key, "%s/%s.key", opts->certs_dir, device_id);
    if (n1 < 0 || n2 < 0 || n3 < 0 || (size_t)n1 >= sizeof ca || (size_t)n2 >= sizeof cert ||
        (size_t)n3 >= sizeof key)
        return -DG_EINVAL;
    struct dg_link_config cfg = {
        .name = device_id,
        .url = opts->url,
        .client_id = device_id,
        .ca_file = ca,
        .cert_file = cert,
        .key_file = key,
        .keepalive_s = 10,
    };
    return dg_link_open(out, loop, &cfg, cb);
}

int dg_sim_bed_open(struct dg_sim_bed *bed, uv_loop_t *loop, const struct dg_sim_opts *opts)
{
    const struct dg_link_callbacks pump_cb = {
        .ctx = bed,
        .message = on_pump_message,
        .connected = on_connected,
        .disconnected = on_disconnected,
        .done = on_pump_done,
    };
    const struct dg_link_callbacks monitor_cb = {
        .ctx = bed,
        .message = NULL,
        .connected = on_connected,
        .disconnected = on_disconnected,
        .done = on_monitor_done,
    };
    int rc = open_link(&bed->pump_link, loop, opts, bed->pump_id, &pump_cb);
    if (rc < 0) goto fail;
    rc = dg_link_subscribe(bed->pump_link, bed->command_topic, 1);
    if (rc < 0) goto fail;
    rc = open_link(&bed->monitor_link, loop, opts, bed->monitor_id, &monitor_cb);
    if (rc < 0) goto fail;
    return 0;
fail:
    DG_ERROR(MOD, "bed=%s msg=\"cannot open device links\" err=\"%s\"", bed->bed_id,
             dg_strerror(rc));
    return rc;
}

bool dg_sim_bed_connected(const struct dg_sim_bed *bed)
{
    return bed->pump_link && bed->monitor_link && dg_link_is_connected(bed->pump_link) &&
           dg_link_is_connected(bed->monitor_link);
}

static void link_closed(void *arg)
{
    dg_sim_link_closed(arg);
}

int dg_sim_bed_close(struct dg_sim_bed *bed, int timeout_ms)
{
    int started = 0;
    if (bed->pump_link) {
        dg_link_close(bed->pump_link, timeout_ms, link_closed, bed->sim);
        bed->pump_link = NULL;
        started++;
    }
    if (bed->monitor_link) {
        dg_link_close(bed->monitor_link, timeout_ms, link_closed, bed->sim);
        bed->monitor_link = NULL;
        started++;
    }
    return started;
}

/* ---------------------------------------------------------------- publishing */

static int publish(dg_link *link, const char *topic, const ProtobufCMessage *msg, uint64_t token)
{
    uint8_t buf[PACK_MAX];
    size_t len = protobuf_c_message_get_packed_size(msg);
    if (len > sizeof buf) return -DG_EINVAL;
    protobuf_c_message_pack(msg, buf);
    return dg_link_publish(link, topic, buf, len, 1, 0, token);
}

/* The device's clock: the simulated one plus the scenario's offset. */
static uint64_t device_ms(const struct dg_sim_bed *bed, uint64_t time_ms)
{
    return (uint64_t)((int64_t)time_ms + bed->plan.clock_offset_ms);
}

int dg_sim_bed_send_telemetry(struct dg_sim_bed *bed, uint64_t time_ms)
{
    if (!bed->pump_link) return -DG_ECLOSED;
    if (bed->pump_silent) return 0;
    const struct dg_sim_pump *p = &bed->pump;
    Dosegate__V1__InfusionProgram prog = DOSEGATE__V1__INFUSION_PROGRAM__INIT;
    prog.drug_code = (char *)"ketamine-trd";
    prog.care_area = (char *)"infusion-clinic";
    prog.concentration_mg_per_ml = p->p.conc_mg_per_ml;
    prog.patient_weight_kg = dg_sim_pump_program_weight(p);
    prog.dose_mg_per_kg = p->p.dose_mg_per_kg;
    prog.duration_min = p->p.duration_min;
    prog.rate_ml_per_h = p->program_rate_ml_per_h;

    Dosegate__V1__PumpTelemetry t = DOSEGATE__V1__PUMP_TELEMETRY__INIT;
    t.schema_version = 1;
    t.pump_id = bed->pump_id;
    t.incarnation = bed->pump_incarnation;
    t.seq = bed->telemetry_seq + 1;
    t.device_time_ms = device_ms(bed, time_ms);
    t.bed_id = bed->bed_id;
    t.patient_ref = bed->patient_ref;
    t.session_id = bed->session_id;
    /* dg_pump_state uses the wire numbering (types.h mirrors the proto). */
    t.state = (Dosegate__V1__PumpState)p->state;
    t.program = &prog;
    t.rate_ml_per_h = p->rate_ml_per_h;
    t.volume_infused_ml = p->volume_ml;
    t.dose_infused_mg = dg_sim_pump_reported_dose(p);
    t.bolus_count = p->bolus_count;
    t.bolus_dose_mg = p->bolus_mg;
    t.pump_alarm_code = 0;
    t.last_command_id = (char *)p->last_command_id;
    t.permit_required = p->p.permit_required;
    int rc = publish(bed->pump_link, bed->telemetry_topic, &t.base, t.seq);
    if (rc < 0) {
        bed->publish_failed++;
        DG_WARN(MOD, "device=%s msg=\"cannot queue telemetry\" err=\"%s\"", bed->pump_id,
                dg_strerror(rc));
        return rc;
    }
    bed->telemetry_seq = t.seq;
    bed->telemetry_sent++;
    return 0;
}

static void measure(Dosegate__V1__Measurement *m, double value)
{
    Dosegate__V1__Measurement init = DOSEGATE__V1__MEASUREMENT__INIT;
    *m = init;
    m->value = value;
    m->valid = 1;
}

int dg_sim_bed_send_vitals(struct dg_sim_bed *bed, const struct dg_sim_vitals *v, uint64_t time_ms)
{
    if (!bed->monitor_link) return -DG_ECLOSED;
    if (bed->monitor_silent) return 0;
    Dosegate__V1__Measurement hr, spo2, rr, etco2, sys, dia, mean;
    measure(&hr, v->heart_rate_bpm);
    measure(&spo2, v->spo2_pct);
    measure(&rr, v->resp_rate_bpm);
    measure(&etco2, v->etco2_mmhg);
    Dosegate__V1__VitalsSample s = DOSEGATE__V1__VITALS_SAMPLE__INIT;
    s.schema_version = 1;
    s.monitor_id = bed->monitor_id;
    s.incarnation = bed->monitor_incarnation;
    s.seq = bed->vitals_seq + 1;
    s.device_time_ms = device_ms(bed, time_ms);
    s.bed_id = bed->bed_id;
    s.heart_rate_bpm = &hr;
    s.spo2_pct = &spo2;
    s.resp_rate_bpm = &rr;
    s.etco2_mmhg = &etco2;
    if (v->has_nibp) {
        measure(&sys, v->systolic_mmhg);
        measure(&dia, v->diastolic_mmhg);
        measure(&mean, v->mean_mmhg);
        s.systolic_mmhg = &sys;
        s.diastolic_mmhg = &dia;
        s.mean_mmhg = &mean;
    }
    int rc = publish(bed->monitor_link, bed->vitals_topic, &s.base, s.seq);
    if (rc < 0) {
        bed->publish_failed++;
        DG_WARN(MOD, "device=%s msg=\"cannot queue vitals\" err=\"%s\"", bed->monitor_id,
                dg_strerror(rc));
        return rc;
    }
    bed->vitals_seq = s.seq;
    bed->vitals_sent++;
    return 0;
}
