/*
 * sim_device.c — a simulated bed's devices on the wire: the links (one per
 * device, each with its own client certificate, client id = device id),
 * PumpTelemetry / VitalsSample encoding, PumpCommand decoding, boot ids, and
 * foreign-identity's PumpTelemetry sent through a monitor's link.
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
 *
 * Publish tokens: a device's own messages carry their seq; a foreign publish
 * carries FOREIGN_TOKEN | its seq, so its PUBACK (or failure) is counted
 * apart and never fails the run.
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "dosegate.pb-c.h"
#include "io/log.h"
#include "io/util.h"
#include "sim.h"

#define MOD           "sim"
#define PACK_MAX      512
#define FOREIGN_TOKEN (1ULL << 63)

unsigned dg_sim_bed_devs(struct dg_sim_bed *bed, struct dg_sim_dev *out[DG_SIM_BED_DEVS])
{
    struct dg_sim_dev *all[DG_SIM_BED_DEVS] = {&bed->monitor_dev, &bed->monitor_b_dev,
                                               &bed->pump_dev, &bed->pump2_dev};
    unsigned n = 0;
    for (unsigned i = 0; i < DG_SIM_BED_DEVS; i++)
        if (all[i]->used) out[n++] = all[i];
    return n;
}

/* ---------------------------------------------------------------- callbacks */

static void on_connected(void *ctx, dg_link *link)
{
    (void)ctx;
    DG_INFO(MOD, "device=%s msg=\"connected\"", dg_link_name(link));
}

static void on_disconnected(void *ctx, dg_link *link, const char *cause)
{
    struct dg_sim_dev *dev = ctx;
    /* The link logs the cause and reconnects; we only count. */
    (void)link;
    (void)cause;
    dev->disconnects++;
}

static void on_done(void *ctx, dg_link *link, uint64_t token, int rc)
{
    struct dg_sim_dev *dev = ctx;
    if (token & FOREIGN_TOKEN) {
        if (rc == 0) {
            dev->foreign_acked++;
            return;
        }
        dev->foreign_failed++;
        DG_INFO(MOD, "device=%s msg=\"foreign pump telemetry not delivered\" seq=%llu err=\"%s\"",
                dg_link_name(link), (unsigned long long)(token & ~FOREIGN_TOKEN), dg_strerror(rc));
        return;
    }
    if (rc == 0) {
        dev->acked++;
        return;
    }
    dev->publish_failed++;
    DG_WARN(MOD, "device=%s msg=\"%s not delivered\" seq=%llu err=\"%s\"", dg_link_name(link),
            dev->kind == DG_SIM_DEV_PUMP ? "telemetry" : "vitals", (unsigned long long)token,
            dg_strerror(rc));
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

static void reject_command(struct dg_sim_dev *dev, const char *why)
{
    char q[160];
    dev->commands_rejected++;
    DG_WARN(MOD, "device=%s msg=\"command ignored\" reason=%s", dev->id,
            dg_log_q(q, sizeof q, why));
}

static void on_pump_message(void *ctx, dg_link *link, const char *topic, const uint8_t *payload,
                            size_t len, int retained)
{
    struct dg_sim_dev *dev = ctx;
    struct dg_sim_pump *pump = dev->pump;
    (void)link;
    if (strcmp(topic, dev->command_topic) != 0) {
        reject_command(dev, "unexpected topic");
        return;
    }
    if (retained) {
        reject_command(dev, "retained command (commands are never retained)");
        return;
    }
    Dosegate__V1__PumpCommand *cmd =
        dosegate__v1__pump_command__unpack(&dg_pb_allocator, len, payload);
    if (!cmd) {
        reject_command(dev, "undecodable PumpCommand");
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
        reject_command(dev, why);
        goto done;
    }
    if (cmd->schema_version != 1) {
        snprintf(why, sizeof why, "schema_version %u", (unsigned)cmd->schema_version);
        reject_command(dev, why);
        goto done;
    }
    if (strcmp(cmd->pump_id, dev->id) != 0) {
        snprintf(why, sizeof why, "addressed to pump %.60s", cmd->pump_id);
        reject_command(dev, why);
        goto done;
    }
    /* The persistent session may hold a pause or stop from an earlier run
       of the simulator (same client id): a command issued before this run
       started is a stale leftover, not ours to obey. */
    if (action != DG_CMD_PERMIT && cmd->issue_time_ms &&
        cmd->issue_time_ms < dg_sim_started_ms(dev->bed->sim)) {
        reject_command(dev, "issued before this run started (a stale queued command)");
        goto done;
    }
    if (action != DG_CMD_PERMIT && cmd->command_id[0] &&
        strncmp(cmd->command_id, pump->last_command_id, DG_ID_MAX - 1) == 0) {
        DG_INFO(MOD, "device=%s msg=\"duplicate command ignored (QoS 1 redelivery)\"", dev->id);
        goto done;
    }
    /* A permit is valid for permit_valid_for_ms after we receive it, on the
       pump's own clock (the real one: permits are about real time). */
    uint64_t valid_until_ms = action == DG_CMD_PERMIT ? dg_wall_ms() + cmd->permit_valid_for_ms : 0;
    dg_sim_pump_command(pump, action, cmd->command_id, valid_until_ms);
    if (action == DG_CMD_PERMIT) {
        DG_DEBUG(MOD, "device=%s msg=\"permit\" valid_for_ms=%u", dev->id,
                 (unsigned)cmd->permit_valid_for_ms);
        goto done;
    }
    char text[DG_TEXT_MAX * 2], q[DG_TEXT_MAX * 2 + 8];
    bool ignored = pump->p.ignore_commands;
    snprintf(text, sizeof text, "%s %s: %s received (command %.64s, reason alert %.64s)%s",
             dev->bed_id, dev->id, action_upper(action), cmd->command_id,
             cmd->reason_alert_id[0] ? cmd->reason_alert_id : "none",
             ignored ? " and ignored (scenario command-ignored)" : "");
    /* Logged at warn so it shows even with --quiet: the gateway stopping an
       infusion is the event the operator of a demo or test is looking for. */
    DG_WARN(MOD, "msg=%s state=%s", dg_log_q(q, sizeof q, text),
            dg_sim_pump_state_name(pump->state));
    /* The pump reports the new state (and the command id it acted on) at
       once; a pump that ignored it says nothing new until its next second. */
    if (!ignored) dg_sim_dev_send_telemetry(dev, dg_sim_clock_ms(dev->bed->sim));
done:
    dosegate__v1__pump_command__free_unpacked(cmd, &dg_pb_allocator);
}

/* ---------------------------------------------------------------- devices */

static int fmt(char *buf, size_t size, const char *root, const char *kind, const char *id,
               const char *leaf)
{
    int n = snprintf(buf, size, "%s/%s/%s/%s", root, kind, id, leaf);
    return n < 0 || (size_t)n >= size ? -DG_EINVAL : 0;
}

int dg_sim_dev_init(struct dg_sim_dev *dev, struct dg_sim_bed *bed, enum dg_sim_dev_kind kind,
                    const char *id, const char *bed_id, const char *root, uint64_t nonce,
                    uint64_t stream)
{
    memset(dev, 0, sizeof *dev);
    dev->bed = bed;
    dev->kind = kind;
    dev->used = true;
    dev->bed_id = bed_id;
    snprintf(dev->id, sizeof dev->id, "%s", id);
    int rc;
    if (kind == DG_SIM_DEV_PUMP) {
        if ((rc = fmt(dev->topic, sizeof dev->topic, root, "pump", id, "telemetry")) < 0 ||
            (rc = fmt(dev->command_topic, sizeof dev->command_topic, root, "pump", id, "command")) <
                0)
            return rc;
    } else {
        /* The foreign topic: a pump topic under the monitor's own id, which
           the broker's per-kind ACL (and the gateway's kind rule) refuses. */
        if ((rc = fmt(dev->topic, sizeof dev->topic, root, "monitor", id, "vitals")) < 0 ||
            (rc = fmt(dev->foreign_topic, sizeof dev->foreign_topic, root, "pump", id,
                      "telemetry")) < 0)
            return rc;
    }
    /* Boot ids: a real device draws a random one at boot; ours come from a
       per-run nonce, so they differ from run to run and device to device. */
    dg_sim_rng_init(&dev->boot_rng, nonce, stream);
    dev->incarnation = dg_sim_rng_incarnation(&dev->boot_rng, 0);
    return 0;
}

void dg_sim_dev_reboot(struct dg_sim_dev *dev)
{
    dev->incarnation = dg_sim_rng_incarnation(&dev->boot_rng, dev->incarnation);
    dev->seq = 0;
    dev->boots++;
}

/* ---------------------------------------------------------------- links */

/* A pump's link keeps a persistent MQTT session, as a real pump's would: a
   pause or stop the gateway sends while the pump is away (a broker restart,
   a reconnect race) is queued by the broker and delivered when it is back.
   Permits are QoS 0 and never queued. */
static int open_link(dg_link **out, uv_loop_t *loop, const struct dg_sim_opts *opts,
                     const char *device_id, const struct dg_link_callbacks *cb, int persistent)
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
        .persistent_session = persistent,
    };
    return dg_link_open(out, loop, &cfg, cb);
}

int dg_sim_bed_open(struct dg_sim_bed *bed, uv_loop_t *loop, const struct dg_sim_opts *opts)
{
    struct dg_sim_dev *devs[DG_SIM_BED_DEVS];
    unsigned n = dg_sim_bed_devs(bed, devs);
    int rc = 0;
    /* pumps first, as before: their subscriptions are the slowest part */
    for (int pass = 0; pass < 2; pass++)
        for (unsigned i = 0; i < n; i++) {
            struct dg_sim_dev *dev = devs[i];
            bool pump = dev->kind == DG_SIM_DEV_PUMP;
            if (pump != (pass == 0)) continue;
            const struct dg_link_callbacks cb = {
                .ctx = dev,
                .message = pump ? on_pump_message : NULL,
                .connected = on_connected,
                .disconnected = on_disconnected,
                .done = on_done,
            };
            rc = open_link(&dev->link, loop, opts, dev->id, &cb, pump);
            if (rc < 0) goto fail;
            if (pump && (rc = dg_link_subscribe(dev->link, dev->command_topic, 1)) < 0) goto fail;
        }
    return 0;
fail:
    DG_ERROR(MOD, "bed=%s msg=\"cannot open device links\" err=\"%s\"", bed->ids.bed,
             dg_strerror(rc));
    return rc;
}

bool dg_sim_bed_connected(struct dg_sim_bed *bed)
{
    struct dg_sim_dev *devs[DG_SIM_BED_DEVS];
    unsigned n = dg_sim_bed_devs(bed, devs);
    for (unsigned i = 0; i < n; i++)
        if (!devs[i]->link || !dg_link_is_connected(devs[i]->link)) return false;
    return true;
}

int dg_sim_bed_links(struct dg_sim_bed *bed)
{
    struct dg_sim_dev *devs[DG_SIM_BED_DEVS];
    unsigned n = dg_sim_bed_devs(bed, devs);
    int links = 0;
    for (unsigned i = 0; i < n; i++)
        links += devs[i]->link != NULL;
    return links;
}

static void link_closed(void *arg)
{
    dg_sim_link_closed(arg);
}

int dg_sim_bed_close(struct dg_sim_bed *bed, int timeout_ms)
{
    struct dg_sim_dev *devs[DG_SIM_BED_DEVS];
    unsigned n = dg_sim_bed_devs(bed, devs);
    int started = 0;
    /* pump-i, then monitor-i, then the extras: the order links were closed before */
    for (int pass = 0; pass < 2; pass++)
        for (unsigned i = 0; i < n; i++) {
            struct dg_sim_dev *dev = devs[i];
            if (!dev->link || (dev->kind == DG_SIM_DEV_PUMP) != (pass == 0)) continue;
            dg_link_close(dev->link, timeout_ms, link_closed, bed->sim);
            dev->link = NULL;
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

/* The device's clock: the simulated one plus its offset now. */
static uint64_t device_ms(const struct dg_sim_dev *dev, uint64_t time_ms)
{
    return (uint64_t)((int64_t)time_ms + dev->clock_ms);
}

static void program_of(Dosegate__V1__InfusionProgram *prog, const struct dg_sim_pump *p)
{
    Dosegate__V1__InfusionProgram init = DOSEGATE__V1__INFUSION_PROGRAM__INIT;
    *prog = init;
    prog->drug_code = (char *)"ketamine-trd";
    prog->care_area = (char *)"infusion-clinic";
    prog->concentration_mg_per_ml = p->p.conc_mg_per_ml;
    prog->patient_weight_kg = dg_sim_pump_program_weight(p);
    prog->dose_mg_per_kg = p->p.dose_mg_per_kg;
    prog->duration_min = p->p.duration_min;
    prog->rate_ml_per_h = p->program_rate_ml_per_h;
}

int dg_sim_dev_send_telemetry(struct dg_sim_dev *dev, uint64_t time_ms)
{
    if (!dev->link) return -DG_ECLOSED;
    if (dev->silent) return 0;
    const struct dg_sim_pump *p = dev->pump;
    /* An idle pump has no program, no session and no patient. */
    bool idle = p->state == DG_PUMP_IDLE;
    Dosegate__V1__InfusionProgram prog;
    program_of(&prog, p);

    Dosegate__V1__PumpTelemetry t = DOSEGATE__V1__PUMP_TELEMETRY__INIT;
    t.schema_version = 1;
    t.pump_id = dev->id;
    t.incarnation = dev->incarnation;
    t.seq = dev->seq + 1;
    t.device_time_ms = device_ms(dev, time_ms);
    t.bed_id = (char *)dev->bed_id;
    t.patient_ref = idle ? (char *)"" : dev->bed->patient_ref;
    t.session_id = idle ? (char *)"" : dev->bed->session_id;
    /* dg_pump_state uses the wire numbering (types.h mirrors the proto). */
    t.state = (Dosegate__V1__PumpState)p->state;
    t.program = idle ? NULL : &prog;
    t.rate_ml_per_h = p->rate_ml_per_h;
    t.volume_infused_ml = p->volume_ml;
    t.dose_infused_mg = dg_sim_pump_reported_dose(p);
    t.bolus_count = p->bolus_count;
    t.bolus_dose_mg = p->bolus_mg;
    t.pump_alarm_code = 0;
    t.last_command_id = (char *)p->last_command_id;
    t.permit_required = p->p.permit_required;
    int rc = publish(dev->link, dev->topic, &t.base, t.seq);
    if (rc < 0) {
        dev->publish_failed++;
        DG_WARN(MOD, "device=%s msg=\"cannot queue telemetry\" err=\"%s\"", dev->id,
                dg_strerror(rc));
        return rc;
    }
    dev->seq = t.seq;
    dev->sent++;
    return 0;
}

static void measure(Dosegate__V1__Measurement *m, double value)
{
    Dosegate__V1__Measurement init = DOSEGATE__V1__MEASUREMENT__INIT;
    *m = init;
    m->value = value;
    m->valid = 1;
}

int dg_sim_dev_send_vitals(struct dg_sim_dev *dev, const struct dg_sim_vitals *v, uint64_t time_ms)
{
    if (!dev->link) return -DG_ECLOSED;
    if (dev->silent) return 0;
    Dosegate__V1__Measurement hr, spo2, rr, etco2, sys, dia, mean;
    measure(&hr, v->heart_rate_bpm);
    measure(&spo2, v->spo2_pct);
    measure(&rr, v->resp_rate_bpm);
    measure(&etco2, v->etco2_mmhg);
    Dosegate__V1__VitalsSample s = DOSEGATE__V1__VITALS_SAMPLE__INIT;
    s.schema_version = 1;
    s.monitor_id = dev->id;
    s.incarnation = dev->incarnation;
    s.seq = dev->seq + 1;
    s.device_time_ms = device_ms(dev, time_ms);
    s.bed_id = (char *)dev->bed_id;
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
    int rc = publish(dev->link, dev->topic, &s.base, s.seq);
    if (rc < 0) {
        dev->publish_failed++;
        DG_WARN(MOD, "device=%s msg=\"cannot queue vitals\" err=\"%s\"", dev->id, dg_strerror(rc));
        return rc;
    }
    dev->seq = s.seq;
    dev->sent++;
    return 0;
}

int dg_sim_dev_send_foreign(struct dg_sim_dev *dev, double rate_ml_per_h, uint64_t time_ms)
{
    if (!dev->link) return -DG_ECLOSED;
    if (dev->silent) return 0;
    const struct dg_sim_bed *bed = dev->bed;
    const struct dg_sim_pump *real = &bed->pump;
    /* What a pump running at rate_ml_per_h since the first foreign message
       would report; the program is the bed's, at the claimed rate. */
    Dosegate__V1__InfusionProgram prog;
    program_of(&prog, real);
    prog.rate_ml_per_h = rate_ml_per_h;
    dev->foreign_volume_ml += rate_ml_per_h / 3600.0;

    Dosegate__V1__PumpTelemetry t = DOSEGATE__V1__PUMP_TELEMETRY__INIT;
    t.schema_version = 1;
    t.pump_id = dev->id; /* consistent with the topic: the kind is what is wrong */
    t.incarnation = dev->incarnation;
    t.seq = dev->foreign_seq + 1;
    t.device_time_ms = device_ms(dev, time_ms);
    t.bed_id = (char *)dev->bed_id;
    t.patient_ref = (char *)bed->patient_ref;
    t.session_id = (char *)bed->foreign_session_id;
    t.state = DOSEGATE__V1__PUMP_STATE__PUMP_STATE_RUNNING;
    t.program = &prog;
    t.rate_ml_per_h = rate_ml_per_h;
    t.volume_infused_ml = dev->foreign_volume_ml;
    t.dose_infused_mg = dev->foreign_volume_ml * real->p.conc_mg_per_ml;
    t.last_command_id = (char *)"";
    t.permit_required = real->p.permit_required;
    int rc = publish(dev->link, dev->foreign_topic, &t.base, FOREIGN_TOKEN | t.seq);
    if (rc < 0) {
        dev->foreign_failed++;
        DG_INFO(MOD, "device=%s msg=\"cannot queue foreign pump telemetry\" err=\"%s\"", dev->id,
                dg_strerror(rc));
        return rc;
    }
    dev->foreign_seq = t.seq;
    dev->foreign_sent++;
    return 0;
}
