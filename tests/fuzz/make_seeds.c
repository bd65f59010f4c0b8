/*
 * make_seeds.c — writes the seed corpora of fuzz_decode and fuzz_core:
 *   make_seeds tests/fuzz/corpus/decode [tests/fuzz/corpus/core]
 *
 * Each decode seed is one selector byte (see fuzz_decode.c) followed by a
 * payload built with the generated protobuf-c API: valid messages of every
 * kind and state, messages just past a limit, and topic strings of every
 * shape. Each core seed is a short session of operations (see fuzz_core.c):
 * a rate that climbs through the soft and hard limits, the pause or stop
 * command, the acknowledgement with reset, duplicates, vitals, a pump moving
 * beds, injected allocation failures; some in structured form, some as real
 * protobuf messages. The committed corpora are this program's output; rerun
 * it (target fuzz_seeds) when proto/dosegate.proto or an operation's layout
 * changes.
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
    m->incarnation = 0x5eed00000007ULL;
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
    telemetry(&m, &p);
    m.incarnation = 0;
    write_msg("tel-no-incarnation", SEL_TELEMETRY | SEL_WITH_ID, &m.base);
    telemetry(&m, &p);
    m.incarnation = UINT64_MAX;
    m.seq = 1;
    write_msg("tel-incarnation-max", SEL_TELEMETRY | SEL_WITH_ID, &m.base);
    telemetry(&m, &p);
    p.concentration_mg_per_ml = 0;
    write_msg("tel-conc-zero", SEL_TELEMETRY | SEL_WITH_ID, &m.base);
    telemetry(&m, &p);
    p.patient_weight_kg = 0;
    write_msg("tel-weight-zero", SEL_TELEMETRY | SEL_WITH_ID, &m.base);
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
    m.incarnation = 0x5eed00000001ULL;
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
    m.incarnation = 0;
    write_msg("vit-no-incarnation", SEL_VITALS | SEL_WITH_ID, &m.base);
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

/* ---------------------------------------------------------------- fuzz_core */

/* One fuzz_core input under construction. */
struct ops {
    uint8_t b[2048];
    size_t n;
};

enum { K_TEL = 0, K_VIT = 1, K_ACK = 2 };

static void put(struct ops *o, unsigned v)
{
    if (o->n < sizeof o->b)
        o->b[o->n++] = (uint8_t)v;
    else
        failed = 1;
}

/* Op byte: kind, decoded, inject, clock step (see fuzz_core.c). */
static void op(struct ops *o, unsigned kind, int decoded, int inject, unsigned step)
{
    put(o, kind | (decoded ? 4u : 0u) | (inject ? 8u : 0u) | (step << 4));
}

/* Structured telemetry: pump, bed, session 0..3; running state; drug 0
   (ketamine-trd); concentration 1 mg/mL, weight 70 kg unless conc/weight
   name other entries; rate in mL/h (54 = 0.77, 90 = 1.29, 120 = 1.71
   mg/kg/h). */
static void tel(struct ops *o, unsigned pump, unsigned bed, unsigned session, unsigned seq,
                unsigned rate, int icu)
{
    op(o, K_TEL, 0, 0, 4);
    put(o, pump | bed << 2 | session << 4 | 1u << 6 | (icu ? 1u << 7 : 0u));
    put(o, seq - 1);
    put(o, 2u /* running */);
    put(o, rate);
    put(o, 0);
}

/* Structured telemetry of an idle pump: no program, no session. */
static void tel_idle(struct ops *o, unsigned pump, unsigned bed, unsigned seq)
{
    op(o, K_TEL, 0, 0, 4);
    put(o, pump | bed << 2);
    put(o, seq - 1);
    put(o, 0 /* idle */);
    put(o, 0);
    put(o, 0);
}

static void ack(struct ops *o, unsigned which, int reset, unsigned ack_n)
{
    op(o, K_ACK, 0, 0, 2);
    put(o, which | (reset ? 1u << 4 : 0u) | ack_n << 5);
    put(o, 1);
}

static void vit(struct ops *o, unsigned mon, unsigned bed, unsigned seq)
{
    op(o, K_VIT, 0, 0, 1);
    put(o, mon | bed << 2 | 7u << 4 | 1u << 7);
    put(o, seq - 1);
    put(o, 72);
}

static void pb(struct ops *o, unsigned kind, int inject, const ProtobufCMessage *msg)
{
    uint8_t buf[255];
    size_t n = protobuf_c_message_get_packed_size(msg);
    if (n > sizeof buf) {
        fprintf(stderr, "core seed: message of %zu bytes\n", n);
        failed = 1;
        return;
    }
    protobuf_c_message_pack(msg, buf);
    op(o, kind, 1, inject, 3);
    if (inject) put(o, 2);
    put(o, (unsigned)n);
    for (size_t i = 0; i < n; i++)
        put(o, buf[i]);
}

static void write_ops(const char *name, const struct ops *o)
{
    /* write_seed() puts a selector byte first: the first op byte here. */
    if (o->n == 0) return;
    write_seed(name, o->b[0], o->b + 1, o->n - 1);
}

static void core_seeds(void)
{
    struct ops o;

    /* Below, over soft, over hard (pause), back under; ack with reset. */
    o.n = 0;
    tel(&o, 0, 0, 1, 1, 54, 0);
    tel(&o, 0, 0, 1, 2, 90, 0);
    tel(&o, 0, 0, 1, 3, 120, 0);
    tel(&o, 0, 0, 1, 4, 54, 0);
    ack(&o, 0, 0, 1);
    ack(&o, 0, 1, 2);
    tel(&o, 0, 0, 1, 5, 54, 0);
    write_ops("escalate-pause", &o);

    /* The icu entry: stop; the same ack id twice; an unknown alert. */
    o.n = 0;
    tel(&o, 1, 1, 2, 1, 120, 1);
    ack(&o, 0, 0, 3);
    ack(&o, 0, 1, 3);
    ack(&o, 9, 1, 4);
    ack(&o, 0, 1, 5);
    write_ops("icu-stop", &o);

    /* Redelivery, an older seq, a new session restarting at 1. */
    o.n = 0;
    tel(&o, 2, 2, 1, 7, 90, 0);
    tel(&o, 2, 2, 1, 7, 90, 0);
    tel(&o, 2, 2, 1, 6, 90, 0);
    tel(&o, 2, 2, 2, 1, 54, 0);
    vit(&o, 0, 2, 3);
    vit(&o, 0, 2, 3);
    vit(&o, 1, 3, 1);
    write_ops("duplicates", &o);

    /* Over soft in bed 0, then the same pump in bed 1. */
    o.n = 0;
    tel(&o, 3, 0, 1, 1, 90, 0);
    tel(&o, 3, 1, 1, 2, 54, 0);
    tel(&o, 3, 1, 1, 3, 120, 0);
    write_ops("move-bed", &o);

    /* Over soft, then idle without a program; ack with reset; idle. */
    o.n = 0;
    tel(&o, 0, 0, 1, 1, 90, 0);
    tel_idle(&o, 0, 0, 2);
    ack(&o, 0, 1, 1);
    tel_idle(&o, 0, 0, 3);
    write_ops("idle-after-soft", &o);

    /* Injected allocation failures in the core and in a decoder. */
    o.n = 0;
    op(&o, K_TEL, 0, 1, 1);
    put(&o, 0); /* fail the first allocation: the pump table */
    put(&o, 0 | 0u << 2 | 1u << 4 | 1u << 6);
    put(&o, 0);
    put(&o, 2);
    put(&o, 54);
    put(&o, 0);
    tel(&o, 0, 0, 1, 2, 90, 0);
    op(&o, K_TEL, 0, 1, 1);
    put(&o, 0); /* the raise of rate-hard, after rate-soft cleared */
    put(&o, 0 | 0u << 2 | 1u << 4 | 1u << 6);
    put(&o, 2);
    put(&o, 2);
    put(&o, 120);
    put(&o, 0);
    tel(&o, 0, 0, 1, 3, 120, 0);
    write_ops("oom", &o);

    /* The first raise of a pump's rate alert fails (the bed's alert table). */
    o.n = 0;
    tel(&o, 1, 1, 1, 1, 54, 0);
    op(&o, K_TEL, 0, 1, 4);
    put(&o, 0); /* fail the first allocation */
    put(&o, 1 | 1u << 2 | 1u << 4 | 1u << 6);
    put(&o, 1);
    put(&o, 2);
    put(&o, 120);
    put(&o, 0);
    tel(&o, 1, 1, 1, 2, 120, 0);
    tel(&o, 1, 1, 1, 3, 120, 0);
    write_ops("oom-first-raise", &o);

    /* Real protobuf: telemetry over hard, vitals, an ack by id. */
    Dosegate__V1__PumpTelemetry m;
    Dosegate__V1__InfusionProgram p;
    o.n = 0;
    telemetry(&m, &p);
    m.seq = 1;
    pb(&o, K_TEL, 0, &m.base);
    telemetry(&m, &p);
    m.seq = 2;
    m.rate_ml_per_h = p.rate_ml_per_h = 90;
    pb(&o, K_TEL, 0, &m.base);
    telemetry(&m, &p);
    m.seq = 3;
    m.rate_ml_per_h = p.rate_ml_per_h = 120;
    pb(&o, K_TEL, 0, &m.base);
    Dosegate__V1__VitalsSample v = DOSEGATE__V1__VITALS_SAMPLE__INIT;
    Dosegate__V1__Measurement hr = DOSEGATE__V1__MEASUREMENT__INIT;
    hr.value = 72;
    hr.valid = 1;
    v.schema_version = 1;
    v.monitor_id = "mon-1";
    v.seq = 1;
    v.device_time_ms = T_2026;
    v.bed_id = "bed-3";
    v.heart_rate_bpm = &hr;
    pb(&o, K_VIT, 0, &v.base);
    Dosegate__V1__AlertAck a = DOSEGATE__V1__ALERT_ACK__INIT;
    a.schema_version = 1;
    a.alert_id = "fz-a2"; /* fuzz_core's id prefix; a1 was rate-soft */
    a.user_id = "nurse.okafor";
    a.reset = 1;
    a.time_ms = T_2026;
    a.ack_id = "ack-0005";
    pb(&o, K_ACK, 0, &a.base);
    telemetry(&m, &p);
    m.seq = 4;
    pb(&o, K_TEL, 1, &m.base);
    write_ops("protobuf", &o);
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: %s DECODE_DIR [CORE_DIR]\n", argv[0]);
        return 2;
    }
    outdir = argv[1];
    telemetry_seeds();
    vitals_seeds();
    ack_seeds();
    topic_seeds();
    if (argc == 3) {
        outdir = argv[2];
        core_seeds();
    }
    return failed ? 1 : 0;
}
