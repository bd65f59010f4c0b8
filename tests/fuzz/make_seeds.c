/*
 * make_seeds.c — writes the seed corpora of fuzz_decode and fuzz_core:
 *   make_seeds tests/fuzz/corpus/decode [tests/fuzz/corpus/core]
 *
 * Each decode seed is one selector byte (see fuzz_decode.c) followed by a
 * payload built with the generated protobuf-c API: valid messages of every
 * kind and state, messages just past a limit, and topic strings of every
 * shape. Each core seed is a short session of operations (see fuzz_core.c):
 * a rate that climbs through the soft and hard limits, the pause or stop
 * command, the acknowledgement with reset; repeated and backwards sequence
 * numbers, gaps, reboots mid-session and stale-incarnation redeliveries;
 * device clocks that jump forward and back, and queued messages; two pumps
 * on one bed and a pump moving beds (also under a latch); a weight edited
 * mid-session; resumes under a latch; the baseline grace; permits; a
 * command not honoured; injected allocation failures; some in structured
 * form, some as real protobuf messages. The committed corpora are this program's output; rerun
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
        "dosegate/v1/site1/ack/dashboard-1",
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
    uint8_t b[4096];
    size_t n;
};

enum { K_TEL = 0, K_VIT = 1, K_ACK = 2, K_TICK = 3 };

static void put(struct ops *o, unsigned v)
{
    if (o->n < sizeof o->b)
        o->b[o->n++] = (uint8_t)v;
    else
        failed = 1;
}

/* Op byte: kind, decoded, inject, clock step (the clocks advance by
   step * step * 50 ms first; see fuzz_core.c). */
static void op(struct ops *o, unsigned kind, int decoded, int inject, unsigned step)
{
    put(o, kind | (decoded ? 4u : 0u) | (inject ? 8u : 0u) | (step << 4));
}

/* Clock steps: 4 = 0.8 s (a device's message interval), 15 = 11.25 s. */
enum { STEP_MSG = 4, STEP_LONG = 15 };

/* The trust byte (fuzz_core.c trust_byte): incarnation index, clock. */
enum { CLK_STEP = 0, CLK_FWD_10MIN = 4, CLK_BACK_10MIN = 5, CLK_FWD_7S = 6, CLK_ONE_HOUR = 7 };
static unsigned trust(unsigned inc, unsigned clock, int queued)
{
    return inc | clock << 3 | (queued ? 1u << 6 : 0u);
}

/* Pump states (fuzz_core.c: 1 + v % 7). */
enum { S_IDLE = 0, S_PROGRAMMED = 1, S_RUNNING = 2, S_PAUSED = 3, S_STOPPED = 4 };

/* Everything one structured telemetry says. Defaults (tel_default): a
   running pump with a ketamine-trd program (no care area: pause at hard),
   1 mg/mL, 70 kg, incarnation index 0, clock in step. Rates in mL/h: 54 =
   0.77, 90 = 1.29, 120 = 1.71 mg/kg/h at 70 kg. */
struct tel_spec {
    unsigned step, pump, bed, session, seq, state, rate;
    int program, icu;
    unsigned conc, weight; /* indices into fuzz_core.c's concs[], weights[] */
    int permit, bolus;
    unsigned inc, clock;
    int queued;
    int inject;
    unsigned inject_k;
};

static struct tel_spec tel_default(unsigned pump, unsigned bed, unsigned session, unsigned seq,
                                   unsigned rate)
{
    struct tel_spec s = {.step = STEP_MSG,
                         .pump = pump,
                         .bed = bed,
                         .session = session,
                         .seq = seq,
                         .state = S_RUNNING,
                         .rate = rate,
                         .program = 1};
    return s;
}

/* Weight indices (fuzz_core.c weights[]). */
enum { W_70 = 0, W_NONE = 1, W_50 = 3, W_100 = 4 };

static void tel_put(struct ops *o, const struct tel_spec *s)
{
    op(o, K_TEL, 0, s->inject, s->step);
    if (s->inject) put(o, s->inject_k);
    put(o, s->pump | s->bed << 2 | s->session << 4 | (s->program ? 1u << 6 : 0u) |
               (s->icu ? 1u << 7 : 0u));
    put(o, s->seq - 1);
    put(o, s->state);
    put(o, s->rate);
    put(o, s->conc | s->weight << 3 | (s->permit ? 1u << 6 : 0u) | (s->bolus ? 1u << 7 : 0u));
    put(o, trust(s->inc, s->clock, s->queued));
}

/* Structured telemetry, the defaults but pump, bed, session, seq, rate. */
static void tel(struct ops *o, unsigned pump, unsigned bed, unsigned session, unsigned seq,
                unsigned rate, int icu)
{
    struct tel_spec s = tel_default(pump, bed, session, seq, rate);
    s.icu = icu;
    tel_put(o, &s);
}

/* Structured telemetry of an idle pump: no program, no session. */
static void tel_idle(struct ops *o, unsigned pump, unsigned bed, unsigned seq)
{
    struct tel_spec s = tel_default(pump, bed, 0, seq, 0);
    s.state = S_IDLE;
    s.program = 0;
    tel_put(o, &s);
}

static void ack(struct ops *o, unsigned which, int reset, unsigned ack_n)
{
    op(o, K_ACK, 0, 0, 2);
    put(o, which | (reset ? 1u << 4 : 0u) | ack_n << 5);
    put(o, 1);
}

static void tick(struct ops *o, unsigned step)
{
    op(o, K_TICK, 0, 0, step);
}

/* Vital-sign classes (fuzz_core.c hr_values[], spo2_values[], rr_values[]):
   0 normal, 1 warning low, 2 warning high / edge, 3 critical. NIBP
   (nibp_values[]): 0 none, 1 120/80, 2 150/95, 3 190/115, 4 210/125. */
struct vit_spec {
    unsigned step, mon, bed, seq;
    unsigned hr, spo2, rr, nibp;
    unsigned present; /* bits: HR, SpO2, RR */
    int invalid;
    unsigned inc, clock;
    int queued;
};

static struct vit_spec vit_default(unsigned mon, unsigned bed, unsigned seq)
{
    struct vit_spec s = {.step = STEP_MSG, .mon = mon, .bed = bed, .seq = seq, .present = 7};
    return s;
}

static void vit_put(struct ops *o, const struct vit_spec *s)
{
    op(o, K_VIT, 0, 0, s->step);
    put(o, s->mon | s->bed << 2 | s->present << 4 | (s->invalid ? 0u : 1u << 7));
    put(o, s->seq - 1);
    put(o, s->hr | s->spo2 << 2 | s->rr << 4 | (s->nibp & 3u) << 6);
    put(o, trust(s->inc, s->clock, s->queued) | ((s->nibp >> 2) & 1u) << 7);
}

/* Normal continuous vitals of monitor mon on bed (and NIBP class nibp). */
static void vit(struct ops *o, unsigned mon, unsigned bed, unsigned seq, unsigned nibp)
{
    struct vit_spec s = vit_default(mon, bed, seq);
    s.nibp = nibp;
    vit_put(o, &s);
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
    struct tel_spec t;
    struct vit_spec v;

    /* Below, over soft, over hard (pause), back under; ack with reset. */
    o.n = 0;
    vit(&o, 0, 0, 1, 1);
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

    /* Sequence numbers per incarnation: a redelivery (repeated), an older
       seq (backwards), a gap of 10, a new session that keeps counting in
       the same incarnation, a reboot mid-session (incarnation 2, seq 1), a
       late redelivery from the incarnation it left (stale), a second
       reboot, then incarnation 1 again while remembered (stale); vitals
       repeated and rebooted. */
    o.n = 0;
    tel(&o, 2, 2, 1, 7, 90, 0);
    tel(&o, 2, 2, 1, 7, 90, 0);
    tel(&o, 2, 2, 1, 6, 90, 0);
    tel(&o, 2, 2, 1, 18, 90, 0);
    tel(&o, 2, 2, 2, 19, 54, 0);
    t = tel_default(2, 2, 2, 1, 54);
    t.inc = 1;
    tel_put(&o, &t);
    t = tel_default(2, 2, 2, 20, 54);
    tel_put(&o, &t); /* incarnation 1, seq 20: stale */
    t = tel_default(2, 2, 2, 1, 54);
    t.inc = 2;
    tel_put(&o, &t);
    t = tel_default(2, 2, 2, 2, 54);
    t.inc = 0;
    tel_put(&o, &t); /* incarnation 1 again: stale */
    vit(&o, 0, 2, 3, 0);
    vit(&o, 0, 2, 3, 0);
    v = vit_default(0, 2, 1);
    v.inc = 3;
    vit_put(&o, &v);
    vit(&o, 1, 3, 1, 0);
    write_ops("duplicates", &o);

    /* Five reboots: incarnation 1 is forgotten (four are remembered), so
       coming back to it is a reboot, not a stale redelivery. */
    o.n = 0;
    for (unsigned i = 0; i < 6; i++) {
        t = tel_default(0, 1, 1, 1 + i, 54);
        t.inc = i;
        tel_put(&o, &t);
    }
    t = tel_default(0, 1, 1, 1, 54);
    t.inc = 0;
    tel_put(&o, &t);
    t = tel_default(0, 1, 1, 2, 54);
    t.inc = 4;
    tel_put(&o, &t); /* remembered: stale */
    write_ops("incarnations-forgotten", &o);

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

    /* A pump running on bed 0 under a latched vital-sign pause moves to bed
       1: the latch keeps holding it; a critical SpO2 on bed 0 afterwards
       reaches only the pump left there. */
    o.n = 0;
    vit(&o, 0, 0, 1, 1);
    tel(&o, 0, 0, 1, 1, 54, 0);
    tel(&o, 1, 0, 1, 1, 54, 0);
    v = vit_default(0, 0, 2);
    v.spo2 = 3;
    vit_put(&o, &v);
    tel(&o, 0, 1, 1, 2, 54, 0); /* still running, now on bed 1: the pause still waits */
    t = tel_default(1, 0, 1, 2, 54);
    t.state = S_PAUSED;
    tel_put(&o, &t);
    v = vit_default(0, 0, 3);
    v.spo2 = 3;
    vit_put(&o, &v);
    v = vit_default(1, 1, 1);
    v.rr = 3;
    vit_put(&o, &v);
    write_ops("move-bed-latched", &o);

    /* Two pumps on one bed: a critical heart rate pauses both; one resumes
       under the latch (paused again, escalated), resumes again (stopped);
       the other stays paused; reset. */
    o.n = 0;
    vit(&o, 1, 3, 1, 1);
    tel(&o, 2, 3, 1, 1, 54, 0);
    tel(&o, 3, 3, 2, 1, 54, 0);
    v = vit_default(1, 3, 2);
    v.hr = 3;
    vit_put(&o, &v);
    t = tel_default(2, 3, 1, 2, 54);
    t.state = S_PAUSED;
    tel_put(&o, &t);
    t = tel_default(3, 3, 2, 2, 54);
    t.state = S_PAUSED;
    tel_put(&o, &t);
    tel(&o, 2, 3, 1, 3, 54, 0);
    t = tel_default(2, 3, 1, 4, 54);
    t.state = S_PAUSED;
    tel_put(&o, &t);
    tel(&o, 2, 3, 1, 5, 54, 0);
    ack(&o, 0, 1, 1);
    ack(&o, 1, 1, 2);
    ack(&o, 2, 1, 3);
    tel(&o, 2, 3, 1, 6, 54, 0);
    write_ops("two-pumps-one-bed", &o);

    /* The patient weight edited mid-session (70 -> 100 kg): weight-change
       pauses; the rate is judged with 70 kg (90 mL/h: 1.29, soft) until
       the reset; then 100 kg is adopted (0.9: no rate alert). */
    o.n = 0;
    vit(&o, 0, 1, 1, 1);
    tel(&o, 0, 1, 1, 1, 54, 0);
    t = tel_default(0, 1, 1, 2, 90);
    t.weight = W_100;
    tel_put(&o, &t);
    t.seq = 3;
    t.state = S_PAUSED;
    tel_put(&o, &t);
    t.seq = 4;
    t.state = S_RUNNING;
    tel_put(&o, &t); /* resumed under the latch */
    ack(&o, 0, 1, 1);
    ack(&o, 1, 1, 2);
    ack(&o, 2, 1, 3);
    t.seq = 5;
    tel_put(&o, &t);
    t.seq = 6;
    tel_put(&o, &t);
    write_ops("weight-edit", &o);

    /* Session s-1's weight edit latches a weight-change on bed 0; the pump
       moves to bed 1 for session s-2 (70 kg, held by that latch), whose own
       weight edit latches a second weight-change. Resetting s-1's alert
       must not make s-2 adopt its edited weight: 90 mL/h stays 1.29
       mg/kg/h at 70 kg (rate-soft) until s-2's alert is reset
       (DG_FUZZ_CORE_STRICT=2: the core adopts 100 kg and clears it). */
    o.n = 0;
    vit(&o, 0, 0, 1, 1);
    tel(&o, 0, 0, 1, 1, 54, 0);
    t = tel_default(0, 0, 1, 2, 54);
    t.weight = W_100;
    tel_put(&o, &t);
    t.seq = 3;
    t.state = S_PAUSED;
    tel_put(&o, &t);
    vit(&o, 1, 1, 1, 1);
    t = tel_default(0, 1, 2, 4, 90);
    t.state = S_PAUSED;
    tel_put(&o, &t);
    tel(&o, 0, 1, 2, 5, 90, 0);
    t = tel_default(0, 1, 2, 6, 90);
    t.state = S_PAUSED;
    tel_put(&o, &t);
    t.seq = 7;
    t.weight = W_100;
    tel_put(&o, &t);
    t.seq = 8;
    t.state = S_RUNNING;
    tel_put(&o, &t);
    ack(&o, 0, 1, 1); /* the first active alert: s-1's weight-change */
    t.seq = 9;
    tel_put(&o, &t);
    write_ops("weight-adopt-other-session", &o);

    /* Device clocks: a pump's clock jumps 10 min forward, back, 7 s
       forward, one message an hour ahead; a queued message; a monitor's
       low heart rate held for 60 s of device time, with a jump in the
       middle that must not count. */
    o.n = 0;
    vit(&o, 2, 0, 1, 1);
    tel(&o, 1, 0, 1, 1, 54, 0);
    static const unsigned clocks[] = {CLK_FWD_10MIN, CLK_STEP,     CLK_BACK_10MIN,
                                      CLK_FWD_7S,    CLK_ONE_HOUR, CLK_STEP};
    for (unsigned i = 0; i < 6; i++) {
        t = tel_default(1, 0, 1, 2 + i, 54);
        t.clock = clocks[i];
        t.queued = i == 5;
        tel_put(&o, &t);
    }
    for (unsigned i = 0; i < 8; i++) {
        v = vit_default(2, 0, 2 + i);
        v.step = STEP_LONG;
        v.hr = 1;
        v.clock = i == 3 ? CLK_FWD_10MIN : CLK_STEP;
        vit_put(&o, &v);
        t = tel_default(1, 0, 1, 8 + i, 54);
        t.step = 0;
        tel_put(&o, &t);
    }
    write_ops("clock-jumps", &o);

    /* Baseline grace: a start without a blood pressure waits 2 min and
       ticks raise "no baseline"; on another bed the first reading in the
       grace is critical and stops the pump. */
    o.n = 0;
    vit(&o, 0, 0, 1, 0);
    tel(&o, 0, 0, 1, 1, 54, 0);
    vit(&o, 1, 1, 1, 0);
    tel(&o, 1, 1, 1, 1, 54, 0);
    for (unsigned i = 0; i < 4; i++) {
        tick(&o, STEP_LONG);
        vit(&o, 0, 0, 2 + i, 0);
        tel(&o, 0, 0, 1, 2 + i, 54, 0);
        tel(&o, 1, 1, 1, 2 + i, 54, 0);
    }
    vit(&o, 1, 1, 2, 3);
    for (unsigned i = 0; i < 8; i++) {
        tick(&o, STEP_LONG);
        vit(&o, 0, 0, 6 + i, 0);
        tel(&o, 0, 0, 1, 6 + i, 54, 0);
    }
    write_ops("baseline-grace", &o);

    /* A pump starts on bed 0 without a blood pressure (the bed waits the
       grace for one), moves to bed 1 and goes idle; bed 0's first reading
       is critical. Its stop must not reach the pump on bed 1
       (DG_FUZZ_CORE_STRICT=2: the core sends it). */
    o.n = 0;
    vit(&o, 0, 0, 1, 0);
    tel(&o, 0, 0, 1, 1, 54, 0);
    tel(&o, 0, 0, 1, 2, 54, 0);
    tel_idle(&o, 0, 1, 3);
    vit(&o, 0, 0, 2, 3);
    tick(&o, 5);
    tel(&o, 0, 1, 2, 4, 54, 0);
    write_ops("baseline-moved", &o);

    /* baseline-bp raised naming a pump that left the bed and stopped (no
       action possible), then pump 1 starts on the bed and is stopped by
       it: the alert's pump_id must name pump 1, its first target
       (DG_FUZZ_CORE_STRICT=2: it keeps naming pump 0). */
    o.n = 0;
    vit(&o, 2, 0, 1, 0);
    tel(&o, 0, 0, 1, 1, 54, 0);
    t = tel_default(0, 2, 1, 2, 54);
    t.state = S_STOPPED;
    tel_put(&o, &t);
    vit(&o, 2, 0, 2, 3);
    tel(&o, 1, 0, 2, 1, 54, 0);
    write_ops("pump-id-target", &o);

    /* Permits: a running pump that asks for them gets one a second; a
       latch withholds them; a pump that does not ask gets none. */
    o.n = 0;
    vit(&o, 0, 2, 1, 1);
    t = tel_default(0, 2, 1, 1, 54);
    t.permit = 1;
    tel_put(&o, &t);
    tel(&o, 1, 2, 2, 1, 54, 0);
    for (unsigned i = 0; i < 3; i++)
        tick(&o, 5);
    t = tel_default(0, 2, 1, 2, 120);
    t.permit = 1;
    tel_put(&o, &t);
    for (unsigned i = 0; i < 3; i++)
        tick(&o, 5);
    ack(&o, 0, 1, 1);
    tick(&o, 5);
    write_ops("permits", &o);

    /* A pause not honoured: the pump keeps running; the tick after 5 s
       escalates to a stop; it still runs (paused again under the latch is
       not needed: a stop is waiting). */
    o.n = 0;
    vit(&o, 0, 3, 1, 1);
    tel(&o, 0, 3, 1, 1, 120, 0);
    tel(&o, 0, 3, 1, 2, 120, 0);
    tick(&o, 8);
    tel(&o, 0, 3, 1, 3, 120, 0);
    tick(&o, 3);
    tick(&o, 3);
    write_ops("command-not-honoured", &o);

    /* Injected allocation failures in the core and in a decoder. */
    o.n = 0;
    t = tel_default(0, 0, 1, 1, 54);
    t.step = 1;
    t.inject = 1;
    t.inject_k = 0; /* fail the first allocation: the pump table */
    tel_put(&o, &t);
    tel(&o, 0, 0, 1, 2, 90, 0);
    t = tel_default(0, 0, 1, 3, 120);
    t.step = 1;
    t.inject = 1;
    t.inject_k = 0; /* the raise of rate-hard, after rate-soft */
    tel_put(&o, &t);
    tel(&o, 0, 0, 1, 4, 120, 0);
    op(&o, K_TICK, 0, 1, 8);
    put(&o, 0);
    write_ops("oom", &o);

    /* The first raise of a pump's rate alert fails (the bed's alert table). */
    o.n = 0;
    tel(&o, 1, 1, 1, 1, 54, 0);
    t = tel_default(1, 1, 1, 2, 120);
    t.inject = 1;
    t.inject_k = 0;
    tel_put(&o, &t);
    tel(&o, 1, 1, 1, 3, 120, 0);
    tel(&o, 1, 1, 1, 4, 120, 0);
    write_ops("oom-first-raise", &o);

    /* A jumped clock on a message refused for memory, then redelivered. */
    o.n = 0;
    vit(&o, 0, 1, 1, 1);
    tel(&o, 2, 1, 1, 1, 54, 0);
    t = tel_default(2, 1, 1, 2, 120);
    t.clock = CLK_FWD_10MIN;
    t.inject = 1;
    t.inject_k = 2;
    tel_put(&o, &t);
    v = vit_default(0, 1, 2);
    v.hr = 1;
    vit_put(&o, &v);
    op(&o, K_VIT, 0, 1, STEP_LONG);
    put(&o, 1);
    v = vit_default(0, 1, 3);
    v.hr = 1;
    v.clock = CLK_FWD_10MIN;
    put(&o, v.mon | v.bed << 2 | v.present << 4 | 1u << 7);
    put(&o, v.seq - 1);
    put(&o, v.hr);
    put(&o, trust(0, v.clock, 0));
    write_ops("oom-jump", &o);

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
    Dosegate__V1__VitalsSample vs = DOSEGATE__V1__VITALS_SAMPLE__INIT;
    Dosegate__V1__Measurement hr = DOSEGATE__V1__MEASUREMENT__INIT;
    hr.value = 72;
    hr.valid = 1;
    vs.schema_version = 1;
    vs.monitor_id = "mon-1";
    vs.incarnation = 0x5eed00000001ULL;
    vs.seq = 1;
    vs.device_time_ms = T_2026;
    vs.bed_id = "bed-3";
    vs.heart_rate_bpm = &hr;
    pb(&o, K_VIT, 0, &vs.base);
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
    telemetry(&m, &p);
    m.incarnation = 0x5eed00000008ULL;
    m.seq = 1;
    pb(&o, K_TEL, 0, &m.base); /* a reboot */
    telemetry(&m, &p);
    m.seq = 5; /* the incarnation it left: stale */
    pb(&o, K_TEL, 0, &m.base);
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
