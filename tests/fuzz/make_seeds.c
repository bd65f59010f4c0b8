/*
 * make_seeds.c — writes the seed corpus of fuzz_decode into a directory:
 *   make_seeds tests/fuzz/corpus/decode
 *
 * Each seed is one selector byte (see fuzz_decode.c) followed by a payload
 * built with the generated protobuf-c API: valid messages of every kind and
 * state, messages just past a limit, and topic strings of every shape. The
 * committed corpus is this program's output; rerun it (target fuzz_seeds)
 * when proto/dosegate.proto changes.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dosegate.pb-c.h"

#define T_2026 1767225600123ULL

enum { SEL_TELEMETRY = 0, SEL_VITALS = 1, SEL_ACK = 2, SEL_TOPIC = 3, SEL_WITH_ID = 4 };

static const char *outdir;
static int failed;

static void write_seed(const char *name, unsigned sel, const uint8_t *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", outdir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        failed = 1;
        return;
    }
    uint8_t b = (uint8_t)sel;
    if (fwrite(&b, 1, 1, f) != 1 || (n && fwrite(p, 1, n, f) != n)) failed = 1;
    if (fclose(f) != 0) failed = 1;
}

static void write_msg(const char *name, unsigned sel, const ProtobufCMessage *m)
{
    uint8_t buf[4096];
    size_t n = protobuf_c_message_get_packed_size(m);
    if (n > sizeof buf) {
        fprintf(stderr, "%s: %zu bytes\n", name, n);
        failed = 1;
        return;
    }
    protobuf_c_message_pack(m, buf);
    write_seed(name, sel, buf, n);
}

static void telemetry(Dosegate__V1__PumpTelemetry *m, Dosegate__V1__InfusionProgram *p)
{
    dosegate__v1__infusion_program__init(p);
    p->drug_code = "ketamine-trd";
    p->care_area = "infusion-clinic";
    p->concentration_mg_per_ml = 1.0;
    p->patient_weight_kg = 72.5;
    p->dose_mg_per_kg = 0.5;
    p->duration_min = 40;
    p->rate_ml_per_h = 54.375;
    dosegate__v1__pump_telemetry__init(m);
    m->schema_version = 1;
    m->pump_id = "pump-07";
    m->seq = 42;
    m->device_time_ms = T_2026;
    m->bed_id = "bed-3";
    m->patient_ref = "pt-9f2c";
    m->session_id = "s-2026-0001";
    m->state = DOSEGATE__V1__PUMP_STATE__PUMP_STATE_RUNNING;
    m->program = p;
    m->rate_ml_per_h = 54.375;
    m->volume_infused_ml = 17.25;
    m->dose_infused_mg = 17.25;
    m->bolus_count = 1;
    m->bolus_dose_mg = 2.5;
    m->pump_alarm_code = 7;
    m->last_command_id = "cmd-5";
    m->permit_required = 1;
}

static void telemetry_seeds(void)
{
    Dosegate__V1__PumpTelemetry m;
    Dosegate__V1__InfusionProgram p;
    char name[64];
    for (int s = 0; s <= 8; s++) {
        telemetry(&m, &p);
        m.state = (Dosegate__V1__PumpState)s;
        if (s == DOSEGATE__V1__PUMP_STATE__PUMP_STATE_IDLE) {
            m.program = NULL;
            m.session_id = m.patient_ref = "";
        }
        snprintf(name, sizeof name, "tel-state-%d", s);
        write_msg(name, SEL_TELEMETRY | SEL_WITH_ID, &m.base);
    }
    telemetry(&m, &p);
    write_msg("tel-no-id-check", SEL_TELEMETRY, &m.base);
    m.pump_id = "pump-08";
    write_msg("tel-id-mismatch", SEL_TELEMETRY | SEL_WITH_ID, &m.base);
    telemetry(&m, &p);
    p.patient_weight_kg = NAN;
    write_msg("tel-weight-nan", SEL_TELEMETRY | SEL_WITH_ID, &m.base);
    telemetry(&m, &p);
    m.rate_ml_per_h = 2000.5;
    write_msg("tel-rate-ceiling", SEL_TELEMETRY | SEL_WITH_ID, &m.base);
    telemetry(&m, &p);
    m.bed_id = "bed/3";
    write_msg("tel-bed-slash", SEL_TELEMETRY | SEL_WITH_ID, &m.base);
    telemetry(&m, &p);
    m.schema_version = 2;
    write_msg("tel-schema-2", SEL_TELEMETRY, &m.base);
    telemetry(&m, &p);
    write_msg("tel-oom-3", SEL_TELEMETRY | (3u << 3), &m.base);
}

static void vitals_seeds(void)
{
    Dosegate__V1__VitalsSample m = DOSEGATE__V1__VITALS_SAMPLE__INIT;
    Dosegate__V1__Measurement ms[7];
    static const double vals[7] = {72, 97, 131, 84, 99.5, 14, 38};
    for (int i = 0; i < 7; i++) {
        dosegate__v1__measurement__init(&ms[i]);
        ms[i].value = vals[i];
        ms[i].valid = 1;
    }
    m.schema_version = 1;
    m.monitor_id = "mon-1";
    m.seq = 9001;
    m.device_time_ms = T_2026;
    m.bed_id = "bed-3";
    m.heart_rate_bpm = &ms[0];
    m.spo2_pct = &ms[1];
    write_msg("vit-continuous", SEL_VITALS | SEL_WITH_ID, &m.base);
    m.systolic_mmhg = &ms[2];
    m.diastolic_mmhg = &ms[3];
    m.mean_mmhg = &ms[4];
    m.resp_rate_bpm = &ms[5];
    m.etco2_mmhg = &ms[6];
    write_msg("vit-all", SEL_VITALS | SEL_WITH_ID, &m.base);
    ms[1].valid = 0;
    ms[5].value = 151;
    write_msg("vit-invalid", SEL_VITALS | SEL_WITH_ID, &m.base);
    ms[0].value = -INFINITY;
    write_msg("vit-hr-neg-inf", SEL_VITALS, &m.base);
    ms[0].value = 72;
    write_msg("vit-oom-5", SEL_VITALS | (5u << 3), &m.base);
}

static void ack_seeds(void)
{
    Dosegate__V1__AlertAck m = DOSEGATE__V1__ALERT_ACK__INIT;
    m.schema_version = 1;
    m.alert_id = "al-bed-3-rate-hard-17";
    m.user_id = "nurse.okafor";
    m.reset = 1;
    m.time_ms = T_2026;
    m.ack_id = "ack-0005";
    m.comment = "pump checked";
    write_msg("ack-reset", SEL_ACK, &m.base);
    m.user_id = "";
    write_msg("ack-no-user", SEL_ACK, &m.base);
}

static void topic_seeds(void)
{
    static const char *const topics[] = {
        "dosegate/v1/site1/pump/pump-07/telemetry",
        "dosegate/v1/site1/pump/pump-07/command",
        "dosegate/v1/site1/monitor/mon-1/vitals",
        "dosegate/v1/site1/alert/bed-3",
        "dosegate/v1/site1/alarms/bed-3",
        "dosegate/v1/site1/ack",
        "dosegate/v1/site1/audit",
        "dosegate/v1/site1/gateway/gw-1/status",
        "dosegate/v1/site1/pump/+/telemetry",
    };
    char name[32];
    for (size_t i = 0; i < sizeof topics / sizeof topics[0]; i++) {
        snprintf(name, sizeof name, "topic-%zu", i);
        write_seed(name, SEL_TOPIC, (const uint8_t *)topics[i], strlen(topics[i]));
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    outdir = argv[1];
    telemetry_seeds();
    vitals_seeds();
    ack_seeds();
    topic_seeds();
    return failed ? 1 : 0;
}
