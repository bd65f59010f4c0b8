/*
 * make_state_seeds.c — writes the seed corpus of fuzz_state_load:
 *   make_state_seeds tests/fuzz/corpus/state_load
 *
 * Each seed is a real saved state (dg_core_save) of the gateway's core
 * (state_world.h: the shipped config and drug library), saved along one
 * clinic day driven through the real codec: an empty core; vitals and a
 * session running; an overrate latched with its pause pending, then
 * acknowledged, not honoured and escalated, and reset; a session completed
 * into the patient's history and a second one refused on the 24 h dose; two
 * pumps on one bed, one moved to another bed; device reboots (every
 * remembered incarnation used), a clock jump and a sequence gap with their
 * advisories; a vital-sign latch held bed-wide; a start waiting for its
 * baseline; a full NIBP history; a gateway alert; the ack-id ring wrapped;
 * a patient with every session slot used; and one state whose load fails
 * for want of memory (see fuzz_state_load's "OOM" trailer). Deterministic:
 * rerunning it (target fuzz_seeds) rewrites the same files, for this
 * build's struct layout (the blob is native: a build whose layout differs
 * refuses them).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/core.h"
#include "core/error.h"
#include "dosegate.pb-c.h"
#include "io/codec.h"
#include "state_world.h"

#define T0       1767225600000ULL /* 2026-01-01T00:00:00Z */
#define SESSIONS 18               /* a patient's sessions: two more than the core keeps (16) */

static const char *outdir;
static struct dg_config cfg;
static dg_core *core;
static struct dg_now now = {1000, T0};
static char last_alert[DG_ID_MAX]; /* id of the last alert raised */

static void die(const char *what)
{
    fprintf(stderr, "make_state_seeds: %s\n", what);
    exit(1);
}

static void on_alert(void *ctx, const struct dg_alert_event *ev)
{
    (void)ctx;
    if (ev->phase == DG_PHASE_RAISE)
        snprintf(last_alert, sizeof last_alert, "%s", ev->alert->alert_id);
}

static void write_blob(const char *name, const uint8_t *blob, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", outdir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(blob, 1, len, f) != len || fclose(f) != 0) die(path);
}

/* The state as it stands; with oom_k >= 0 also NAME-oom, whose trailer
   asks fuzz_state_load to fail the (1 + oom_k)-th allocation of the load. */
static void save_oom(const char *name, int oom_k)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    if (dg_core_save(core, &blob, &len) != 0) die("save");
    write_blob(name, blob, len);
    if (oom_k >= 0) {
        char oom[256];
        snprintf(oom, sizeof oom, "%s-oom", name);
        memcpy(blob + len - 8, "OOM", 3);
        blob[len - 5] = (uint8_t)oom_k;
        write_blob(oom, blob, len);
    }
    dg_free(blob);
}

static void save(const char *name)
{
    save_oom(name, -1);
}

static void advance(uint64_t ms)
{
    now.mono_ms += ms;
    now.wall_ms += ms;
}

static void tick(void)
{
    (void)dg_core_tick(core, now);
}

/* ------------------------------------------------------------ devices */

struct pump {
    const char *id, *bed, *patient, *session;
    uint64_t incarnation, seq;
    int64_t clock_ms; /* device clock - gateway wall clock */
    double weight_kg, rate_mg_kg_h, dose_mg;
    uint32_t boluses;
};

static void telemetry(struct pump *p, Dosegate__V1__PumpState state)
{
    Dosegate__V1__PumpTelemetry m;
    Dosegate__V1__InfusionProgram pg;
    dosegate__v1__pump_telemetry__init(&m);
    dosegate__v1__infusion_program__init(&pg);
    pg.drug_code = "ketamine-trd";
    pg.care_area = "infusion-clinic";
    pg.concentration_mg_per_ml = 1;
    pg.patient_weight_kg = p->weight_kg;
    pg.dose_mg_per_kg = 0.5;
    pg.duration_min = 40;
    pg.rate_ml_per_h = 0.75 * p->weight_kg;
    m.schema_version = DG_SCHEMA_VERSION;
    m.pump_id = (char *)p->id;
    m.incarnation = p->incarnation;
    m.seq = ++p->seq;
    m.device_time_ms = (uint64_t)((int64_t)now.wall_ms + p->clock_ms);
    m.bed_id = (char *)p->bed;
    m.patient_ref = (char *)p->patient;
    m.session_id = (char *)p->session;
    m.state = state;
    if (state != DOSEGATE__V1__PUMP_STATE__PUMP_STATE_IDLE) m.program = &pg;
    m.rate_ml_per_h =
        state == DOSEGATE__V1__PUMP_STATE__PUMP_STATE_RUNNING ? p->rate_mg_kg_h * p->weight_kg : 0;
    m.volume_infused_ml = p->dose_mg;
    m.dose_infused_mg = p->dose_mg;
    m.bolus_count = p->boluses;
    m.bolus_dose_mg = p->boluses;
    m.permit_required = 1;
    uint8_t buf[DG_MAX_PAYLOAD];
    size_t n = protobuf_c_message_get_packed_size(&m.base);
    protobuf_c_message_pack(&m.base, buf);
    struct dg_telemetry t;
    struct dg_decode_error err;
    if (dg_codec_decode_telemetry(buf, n, p->id, &t, &err) != 0) die(err.detail);
    int rc = dg_core_telemetry(core, &t, now);
    if (rc != 0 && rc != -DG_EDUP) die("telemetry");
}

struct monitor {
    const char *id, *bed;
    uint64_t incarnation, seq;
};

static void measurement(Dosegate__V1__Measurement *x, double v)
{
    dosegate__v1__measurement__init(x);
    x->value = v;
    x->valid = 1;
}

/* sys 0: no blood pressure in this sample. */
static void vitals(struct monitor *mo, double hr, double spo2, double rr, double sys, double dia)
{
    Dosegate__V1__VitalsSample m;
    Dosegate__V1__Measurement mhr, mspo2, mrr, msys, mdia, mmean;
    dosegate__v1__vitals_sample__init(&m);
    m.schema_version = DG_SCHEMA_VERSION;
    m.monitor_id = (char *)mo->id;
    m.incarnation = mo->incarnation;
    m.seq = ++mo->seq;
    m.device_time_ms = now.wall_ms;
    m.bed_id = (char *)mo->bed;
    measurement(&mhr, hr);
    measurement(&mspo2, spo2);
    measurement(&mrr, rr);
    m.heart_rate_bpm = &mhr;
    m.spo2_pct = &mspo2;
    m.resp_rate_bpm = &mrr;
    if (sys > 0) {
        measurement(&msys, sys);
        measurement(&mdia, dia);
        measurement(&mmean, (sys + 2 * dia) / 3);
        m.systolic_mmhg = &msys;
        m.diastolic_mmhg = &mdia;
        m.mean_mmhg = &mmean;
    }
    uint8_t buf[DG_MAX_PAYLOAD];
    size_t n = protobuf_c_message_get_packed_size(&m.base);
    protobuf_c_message_pack(&m.base, buf);
    struct dg_vitals v;
    struct dg_decode_error err;
    if (dg_codec_decode_vitals(buf, n, mo->id, &v, &err) != 0) die(err.detail);
    int rc = dg_core_vitals(core, &v, now);
    if (rc != 0 && rc != -DG_EDUP) die("vitals");
}

static void ack(const char *alert_id, int reset)
{
    static unsigned n;
    struct dg_ack a;
    memset(&a, 0, sizeof a);
    snprintf(a.alert_id, sizeof a.alert_id, "%s", alert_id);
    snprintf(a.user_id, sizeof a.user_id, "nurse-%u", n % 3 + 1);
    snprintf(a.dashboard_id, sizeof a.dashboard_id, "dashboard-1");
    snprintf(a.ack_id, sizeof a.ack_id, "ack-%u", ++n);
    a.reset = reset != 0;
    a.time_ms = now.wall_ms;
    (void)dg_core_ack(core, &a, now);
}

/* Running, sampled every 5 s for s seconds, with vitals from mo. */
static void run_for(struct pump *p, struct monitor *mo, int s)
{
    for (int i = 0; i < s; i += 5) {
        advance(5000);
        p->dose_mg += p->rate_mg_kg_h * p->weight_kg * 5.0 / 3600.0;
        telemetry(p, DOSEGATE__V1__PUMP_STATE__PUMP_STATE_RUNNING);
        if (mo) vitals(mo, 72, 97, 14, 0, 0);
        tick();
    }
}

/* ------------------------------------------------------------ the day */

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_state_seeds DIR\n");
        return 2;
    }
    outdir = argv[1];
    world_config(&cfg);
    struct dg_sink sink = {NULL, on_alert, NULL, NULL, NULL};
    if (world_core(&core, &cfg, &sink, WORLD_SEED_PREFIX) != 0) die("core");
    save("empty");

    struct monitor m1 = {"monitor-1", "bed-1", 0x2001, 0};
    struct pump p1 = {"pump-1", "bed-1", "pt-1", "s-1", 0x1001, 0, 0, 70, 0.75, 0, 0};
    vitals(&m1, 70, 98, 14, 122, 78); /* the baseline */
    advance(1000);
    telemetry(&p1, DOSEGATE__V1__PUMP_STATE__PUMP_STATE_PROGRAMMED);
    run_for(&p1, &m1, 60);
    save("session-running");

    /* Over the hard rate: latched, pause sent; the pump ignores it. */
    p1.rate_mg_kg_h = 2.0;
    run_for(&p1, &m1, 5);
    save("overrate-latched");
    char rate_alert[DG_ID_MAX];
    snprintf(rate_alert, sizeof rate_alert, "%s", last_alert);
    ack(rate_alert, 0);
    save("overrate-acknowledged");
    run_for(&p1, &m1, 15); /* not honoured: escalated to a stop */
    save("not-honoured");
    telemetry(&p1, DOSEGATE__V1__PUMP_STATE__PUMP_STATE_STOPPED);
    ack(rate_alert, 1);
    save("reset");

    /* The session completes into the patient's history; a second session
       the same day would pass the 24 h ceiling: refused at its start. */
    p1.rate_mg_kg_h = 0.75;
    run_for(&p1, &m1, 30);
    p1.dose_mg = 0.8 * p1.weight_kg;
    telemetry(&p1, DOSEGATE__V1__PUMP_STATE__PUMP_STATE_COMPLETE);
    advance(3600000);
    vitals(&m1, 70, 98, 14, 121, 79);
    p1.session = "s-2";
    p1.dose_mg = 0;
    telemetry(&p1, DOSEGATE__V1__PUMP_STATE__PUMP_STATE_PROGRAMMED);
    save("second-session-refused");

    /* Two pumps on bed-2, one of them moves to bed-3 while running. */
    struct monitor m2 = {"monitor-2", "bed-2", 0x2002, 0};
    struct pump p2 = {"pump-2", "bed-2", "pt-2", "s-21", 0x1002, 0, 0, 82, 0.75, 0, 0};
    struct pump p3 = {"pump-3", "bed-2", "pt-2", "s-22", 0x1003, 0, 0, 82, 0.5, 0, 0};
    vitals(&m2, 80, 96, 16, 130, 85);
    telemetry(&p2, DOSEGATE__V1__PUMP_STATE__PUMP_STATE_PROGRAMMED);
    telemetry(&p3, DOSEGATE__V1__PUMP_STATE__PUMP_STATE_PROGRAMMED);
    run_for(&p2, &m2, 20);
    run_for(&p3, NULL, 10);
    p3.bed = "bed-3";
    run_for(&p3, NULL, 10);
    save("two-pumps-one-moved");

    /* Reboots (every remembered incarnation), a clock jump, a gap. */
    for (int i = 0; i < 6; i++) {
        p2.incarnation++;
        p2.seq = 0;
        run_for(&p2, &m2, 5);
    }
    p2.clock_ms = 600000; /* ten minutes ahead at once */
    run_for(&p2, &m2, 5);
    p2.seq += 9;
    run_for(&p2, &m2, 5);
    save("reboots-jump-gap");

    /* A vital-sign latch on bed-2, held bed-wide. */
    advance(5000);
    vitals(&m2, 160, 96, 16, 0, 0);
    run_for(&p2, NULL, 5);
    save_oom("vitals-latched", 6);

    /* A start waiting for its baseline on bed-4; bed-3's NIBP history full. */
    struct pump p4 = {"pump-4", "bed-4", "pt-4", "s-41", 0x1004, 0, 0, 55, 0.75, 0, 0};
    telemetry(&p4, DOSEGATE__V1__PUMP_STATE__PUMP_STATE_PROGRAMMED);
    run_for(&p4, NULL, 10);
    struct monitor m3 = {"monitor-3", "bed-3", 0x2003, 0};
    for (int i = 0; i < 10; i++) {
        advance(60000);
        vitals(&m3, 75, 97, 15, 118 + i, 76);
    }
    save("baseline-wait-nibp-full");

    /* Silence: every device quiet for minutes. A gateway alert. */
    for (int i = 0; i < 8; i++) {
        advance(15000);
        tick();
    }
    (void)dg_core_gateway_alert(core, "state-store", NULL, "state store failing (state: I/O error)",
                                now);
    save("silent-gateway-alert");

    /* The ack-id ring wraps; a patient fills every session slot. */
    for (int i = 0; i < 70; i++)
        ack("no-such-alert", 0);
    struct pump p5 = {"pump-5", "bed-5", "pt-5", "s-50", 0x1005, 0, 0, 60, 0.3, 0, 0};
    char sess[SESSIONS][16];
    for (int i = 0; i < SESSIONS; i++) {
        snprintf(sess[i], sizeof sess[i], "s-5%02d", i);
        p5.session = sess[i];
        p5.dose_mg = 0;
        telemetry(&p5, DOSEGATE__V1__PUMP_STATE__PUMP_STATE_PROGRAMMED);
        run_for(&p5, NULL, 5);
        telemetry(&p5, DOSEGATE__V1__PUMP_STATE__PUMP_STATE_COMPLETE);
        advance(48 * 3600000ULL);
    }
    tick();
    save("acks-wrapped-sessions-full");

    dg_core_free(core);
    return 0;
}
