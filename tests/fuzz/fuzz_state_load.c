/*
 * fuzz_state_load.c — libFuzzer harness for loading a saved interlock state
 * (dg_core_load, gateway/core/persist.c): what a restarted gateway reads
 * back from its state store before it acts on a single message.
 *
 * Input: a state blob as dg_core_save() writes it. The harness first
 * rewrites the blob's trailer (its last 8 bytes) with the right FNV-1a
 * checksum: the checksum catches damage, not forgery (anyone who can write
 * the state directory can compute it), so the fields behind it must be
 * checked on their own, and this makes every mutation reach those checks.
 * A trailer that was "OOM" and a byte k fails the (1 + k % 64)-th
 * allocation of the load instead: -DG_ENOMEM, core unchanged.
 *
 * The core is the gateway's (state_world.h: the shipped config and drug
 * library). It first loads a real state made at init (a session with a
 * latched alert, a patient history, vitals), then the input:
 *   - refused: the answer is -DG_EINVAL and the core is unchanged (it saves
 *     the same bytes as before);
 *   - accepted: what the core saves loads into a fresh core, which saves
 *     the same bytes again (no heap address or other per-process byte in a
 *     blob); then the loaded core lives on as the gateway would drive it:
 *     a tick, telemetry from each loaded pump (continuing, running faster,
 *     rebooted, moved to another loaded bed) and vitals from each loaded
 *     monitor, every one built as protobuf and passed through the real
 *     codec first (a device can only send what the codec accepts), an
 *     acknowledgement with reset of every active alert, ticks over an hour,
 *     a gateway alert raised and cleared; and what it then saves loads too.
 * Every alert event, snapshot and command the core emits must encode
 * (dg_codec_encode_*: known enums, terminated strings, at most
 * DG_TARGETS_MAX targets), every audit event too, and nothing allocated is
 * kept after dg_core_free(). With the sanitizers this catches a forged
 * state that passes the load and then reads or writes out of bounds, loads
 * a bool that is neither 0 nor 1, overflows a signed time, or makes the
 * core emit what the shell cannot publish.
 *
 * What it found, each fixed in persist.c with a test in
 * tests/unit/test_core.c: saves held a heap address (a bed's alerts
 * pointer), so one state never saved the same bytes twice
 * (saved_state_holds_no_address); a load took whatever stood behind a right
 * checksum: bools neither 0 nor 1, alerts no snapshot or event could encode
 * (an enum out of range, a string without its terminator), an alert's
 * targets beyond DG_TARGETS_MAX (read past the alert), retired incarnations
 * beyond their array (read past it); and, once every field was checked, a
 * pump or monitor on a bed missing from the bed table, which the core then
 * made anew with no members (its own next save was refused). Each is a row
 * of forged_state_is_refused, with the rows for what the load now checks
 * besides (times that would overflow trust.c's signed arithmetic, NaN or
 * negative doses and weights, which pass every limit, duplicate keys,
 * member counts).
 *
 * Build: -DDG_FUZZ=ON with clang (tests/fuzz/CMakeLists.txt). Seeds:
 * tests/fuzz/corpus/state_load (written by make_state_seeds: real states
 * of this world, saved along scenarios; native byte order and layout).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/core.h"
#include "core/error.h"
#include "core/internal.h"
#include "dosegate.pb-c.h"
#include "io/codec.h"
#include "state_world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define T_LOAD     1767312000000ULL /* 2026-01-02T00:00:00Z: the restart */
#define MONO_LOAD  7200000ULL
#define MAX_DRIVEN 8 /* pumps, monitors driven after a load */
#define MAX_ACKS   32

static struct dg_config cfg;
static uint8_t *base_blob; /* the state loaded before each input */
static size_t base_len;
static uint8_t *base_saved; /* what a core saves after loading it at T_LOAD */
static size_t base_saved_len;

/* DG_FUZZ_STATE_TRACE=1 prints what happens to each input on stderr. */
static bool trace;

/* s (an array of cap bytes) holds a string. The harness reads ids of the
   loaded tables only through this: a forged one must crash the core, not
   the harness. */
static bool term(const char *s, size_t cap)
{
    return s && memchr(s, '\0', cap) != NULL;
}

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_state_load: property violated: %s\n", what);
        abort();
    }
}

/* ---------------------------------------------------------------- the sink */

static void on_alert(void *ctx, const struct dg_alert_event *ev)
{
    (void)ctx;
    uint8_t *buf = NULL;
    size_t len = 0;
    check(dg_codec_encode_alert(ev, &buf, &len) == 0, "every alert event encodes");
    dg_free(buf);
    if (trace)
        fprintf(stderr, "  alert %s %s %s bed=%s\n", ev->alert->alert_id, ev->alert->condition,
                ev->phase == DG_PHASE_RAISE ? "raise" : "step", ev->alert->bed_id);
}

static void on_alarms(void *ctx, const struct dg_alarm_snapshot *s)
{
    (void)ctx;
    uint8_t *buf = NULL;
    size_t len = 0;
    check(dg_codec_encode_alarms(s, &buf, &len) == 0, "every alarm snapshot encodes");
    dg_free(buf);
}

static void on_command(void *ctx, const struct dg_command *cmd)
{
    (void)ctx;
    uint8_t *buf = NULL;
    size_t len = 0;
    check(dg_codec_encode_command(cmd, &buf, &len) == 0, "every command encodes");
    dg_free(buf);
    if (trace) fprintf(stderr, "  command %s to %s\n", cmd->command_id, cmd->pump_id);
}

static void on_audit(void *ctx, const struct dg_audit_event *ev)
{
    (void)ctx;
    check(ev->event_type && ev->action && ev->participant_id && ev->object_type && ev->object_id &&
              ev->detail,
          "an audit event has every field");
    check(term(ev->participant_id, DG_TEXT_MAX * 2) && term(ev->object_id, DG_ID_MAX) &&
              term(ev->detail, 1024),
          "an audit event's ids and detail are short strings");
    struct dg_audit_record rec = {.seq = 1, .time_ms = T_LOAD, .gateway_id = "gw", .ev = ev};
    uint8_t *buf = NULL;
    size_t len = 0;
    check(dg_codec_encode_audit(&rec, 1, &buf, &len) == 0, "every audit event encodes");
    dg_free(buf);
}

static const struct dg_sink sink = {NULL, on_alert, on_alarms, on_command, on_audit};

/* ---------------------------------------------------------------- devices */

/* The real codec decides what a device can send: build the protobuf, decode it. */
static bool feed_telemetry(dg_core *c, Dosegate__V1__PumpTelemetry *m, struct dg_now now)
{
    uint8_t buf[DG_MAX_PAYLOAD];
    size_t n = protobuf_c_message_get_packed_size(&m->base);
    if (n > sizeof buf) return false;
    protobuf_c_message_pack(&m->base, buf);
    struct dg_telemetry t;
    if (dg_codec_decode_telemetry(buf, n, m->pump_id, &t, NULL) != 0) return false;
    int rc = dg_core_telemetry(c, &t, now);
    check(rc == 0 || rc == -DG_EDUP, "telemetry is processed or a duplicate");
    return true;
}

static bool feed_vitals(dg_core *c, Dosegate__V1__VitalsSample *m, struct dg_now now)
{
    uint8_t buf[DG_MAX_PAYLOAD];
    size_t n = protobuf_c_message_get_packed_size(&m->base);
    if (n > sizeof buf) return false;
    protobuf_c_message_pack(&m->base, buf);
    struct dg_vitals v;
    if (dg_codec_decode_vitals(buf, n, m->monitor_id, &v, NULL) != 0) return false;
    int rc = dg_core_vitals(c, &v, now);
    check(rc == 0 || rc == -DG_EDUP, "vitals are processed or a duplicate");
    return true;
}

/* What pump p (loaded) would send next: its last report continued. */
static void pump_message(const struct dg_pump *p, Dosegate__V1__PumpTelemetry *m,
                         Dosegate__V1__InfusionProgram *pg, uint64_t device_ms)
{
    const struct dg_telemetry *l = &p->last;
    dosegate__v1__pump_telemetry__init(m);
    m->schema_version = DG_SCHEMA_VERSION;
    m->pump_id = (char *)p->id;
    m->incarnation = p->seq.have && p->seq.incarnation ? p->seq.incarnation : 1;
    m->seq = p->seq.have ? p->seq.last_seq + 1 : 1;
    m->device_time_ms = device_ms;
    m->bed_id = (char *)(p->bed_id[0] ? p->bed_id : l->bed_id);
    m->patient_ref = (char *)(p->patient_ref[0] ? p->patient_ref : l->patient_ref);
    m->session_id = (char *)(p->session_id[0] ? p->session_id : l->session_id);
    m->state = (Dosegate__V1__PumpState)(p->state ? p->state : DG_PUMP_RUNNING);
    if (l->has_program) {
        dosegate__v1__infusion_program__init(pg);
        pg->drug_code = (char *)l->program.drug_code;
        pg->care_area = (char *)l->program.care_area;
        pg->concentration_mg_per_ml = l->program.concentration_mg_per_ml;
        pg->patient_weight_kg = l->program.patient_weight_kg;
        pg->dose_mg_per_kg = l->program.dose_mg_per_kg;
        pg->duration_min = l->program.duration_min;
        pg->rate_ml_per_h = l->program.rate_ml_per_h;
        m->program = pg;
    }
    m->rate_ml_per_h = l->rate_ml_per_h;
    m->volume_infused_ml = l->volume_infused_ml;
    m->dose_infused_mg = l->dose_infused_mg;
    m->bolus_count = l->bolus_count;
    m->bolus_dose_mg = l->bolus_dose_mg;
    m->last_command_id = (char *)l->last_command_id;
    m->permit_required = l->permit_required;
}

static void drive_pumps(dg_core *c, struct dg_now now)
{
    /* Copies: the core's tables move (realloc) while it is fed. */
    static struct dg_pump pumps[MAX_DRIVEN];
    size_t n = c->n_pumps < MAX_DRIVEN ? c->n_pumps : MAX_DRIVEN;
    if (n) memcpy(pumps, c->pumps, n * sizeof pumps[0]);
    char other_bed[DG_ID_MAX] = "";
    for (size_t i = 0; i < c->n_beds && !other_bed[0]; i++)
        if (n && term(c->beds[i].id, DG_ID_MAX) && term(pumps[0].bed_id, DG_ID_MAX) &&
            strcmp(c->beds[i].id, pumps[0].bed_id) != 0)
            memcpy(other_bed, c->beds[i].id, DG_ID_MAX);
    for (size_t i = 0; i < n; i++) {
        struct dg_pump *p = &pumps[i];
        const struct dg_telemetry *l = &p->last;
        if (!term(p->id, DG_ID_MAX) || !term(p->bed_id, DG_ID_MAX) ||
            !term(p->patient_ref, DG_ID_MAX) || !term(p->session_id, DG_ID_MAX) ||
            !term(l->bed_id, DG_ID_MAX) || !term(l->patient_ref, DG_ID_MAX) ||
            !term(l->session_id, DG_ID_MAX) || !term(l->last_command_id, DG_ID_MAX) ||
            !term(l->program.drug_code, DG_ID_MAX) || !term(l->program.care_area, DG_ID_MAX))
            continue;
        Dosegate__V1__PumpTelemetry m;
        Dosegate__V1__InfusionProgram pg;
        uint64_t dev = now.wall_ms;
        /* Continuing its last report, running. */
        pump_message(p, &m, &pg, dev);
        m.state = DOSEGATE__V1__PUMP_STATE__PUMP_STATE_RUNNING;
        bool ok = feed_telemetry(c, &m, now);
        if (trace) fprintf(stderr, " pump %s continues: %s\n", p->id, ok ? "fed" : "refused");
        if (!ok) continue;
        /* A minute later, twice as fast, a bolus given. */
        now.mono_ms += 60000;
        now.wall_ms += 60000;
        m.seq++;
        m.device_time_ms += 60000;
        m.rate_ml_per_h = m.rate_ml_per_h > 0 ? m.rate_ml_per_h * 2 : 100;
        m.bolus_count++;
        m.bolus_dose_mg += 1;
        feed_telemetry(c, &m, now);
        /* Rebooted: a new incarnation, paused. */
        m.incarnation++;
        m.seq = 1;
        m.device_time_ms += 5000;
        m.state = DOSEGATE__V1__PUMP_STATE__PUMP_STATE_PAUSED;
        feed_telemetry(c, &m, now);
        /* Moved to another loaded bed, running again. */
        if (other_bed[0] && strcmp(other_bed, m.bed_id) != 0) {
            m.seq = 2;
            m.device_time_ms += 1000;
            m.bed_id = other_bed;
            m.state = DOSEGATE__V1__PUMP_STATE__PUMP_STATE_RUNNING;
            feed_telemetry(c, &m, now);
        }
    }
}

static void measurement(Dosegate__V1__Measurement *x, double v)
{
    dosegate__v1__measurement__init(x);
    x->value = v;
    x->valid = 1;
}

static void drive_monitors(dg_core *c, struct dg_now now)
{
    static struct dg_monitor mons[MAX_DRIVEN];
    size_t n = c->n_monitors < MAX_DRIVEN ? c->n_monitors : MAX_DRIVEN;
    if (n) memcpy(mons, c->monitors, n * sizeof mons[0]);
    for (size_t i = 0; i < n; i++) {
        const struct dg_monitor *mo = &mons[i];
        if (!term(mo->id, DG_ID_MAX) || !term(mo->bed_id, DG_ID_MAX) ||
            !term(mo->last.bed_id, DG_ID_MAX))
            continue;
        Dosegate__V1__VitalsSample m;
        Dosegate__V1__Measurement hr, spo2, sys, dia, mean, rr;
        dosegate__v1__vitals_sample__init(&m);
        m.schema_version = DG_SCHEMA_VERSION;
        m.monitor_id = (char *)mo->id;
        m.incarnation = mo->seq.have && mo->seq.incarnation ? mo->seq.incarnation : 1;
        m.seq = mo->seq.have ? mo->seq.last_seq + 1 : 1;
        m.device_time_ms = now.wall_ms;
        m.bed_id = (char *)(mo->bed_id[0] ? mo->bed_id : mo->last.bed_id);
        measurement(&hr, 72);
        measurement(&spo2, 97);
        measurement(&rr, 14);
        m.heart_rate_bpm = &hr;
        m.spo2_pct = &spo2;
        m.resp_rate_bpm = &rr;
        bool ok = feed_vitals(c, &m, now);
        if (trace) fprintf(stderr, " monitor %s: %s\n", mo->id, ok ? "fed" : "refused");
        if (!ok) continue;
        /* Then a blood pressure well above the baseline, a heart rate too high. */
        m.seq++;
        m.device_time_ms += 30000;
        now.mono_ms += 30000;
        now.wall_ms += 30000;
        measurement(&hr, 150);
        measurement(&sys, 190);
        measurement(&dia, 110);
        measurement(&mean, 137);
        m.systolic_mmhg = &sys;
        m.diastolic_mmhg = &dia;
        m.mean_mmhg = &mean;
        feed_vitals(c, &m, now);
    }
}

/* Acknowledge, with reset, every active alert (as a dashboard would). */
static void ack_all(dg_core *c, struct dg_now now)
{
    static char ids[MAX_ACKS][DG_ID_MAX];
    size_t n = 0;
    for (size_t i = 0; i < c->n_beds; i++)
        for (size_t j = 0; j < c->beds[i].n_alerts && n < MAX_ACKS; j++)
            if (term(c->beds[i].alerts[j]->alert_id, DG_ID_MAX))
                memcpy(ids[n++], c->beds[i].alerts[j]->alert_id, DG_ID_MAX);
    for (size_t i = 0; i < n; i++) {
        Dosegate__V1__AlertAck m;
        dosegate__v1__alert_ack__init(&m);
        char ack_id[32];
        snprintf(ack_id, sizeof ack_id, "fz-ack-%zu", i);
        m.schema_version = DG_SCHEMA_VERSION;
        m.alert_id = ids[i];
        m.user_id = "nurse-1";
        m.reset = 1;
        m.time_ms = now.wall_ms;
        m.ack_id = ack_id;
        uint8_t buf[DG_MAX_PAYLOAD];
        size_t len = protobuf_c_message_get_packed_size(&m.base);
        if (len > sizeof buf) continue;
        protobuf_c_message_pack(&m.base, buf);
        struct dg_ack a;
        if (dg_codec_decode_ack(buf, len, &a, NULL) != 0) continue;
        snprintf(a.dashboard_id, sizeof a.dashboard_id, "dashboard-1");
        int rc = dg_core_ack(c, &a, now);
        check(rc == 0 || rc == -DG_ENOTFOUND || rc == -DG_EDUP, "an ack is answered as documented");
    }
}

static struct dg_now at(uint64_t after_ms)
{
    return (struct dg_now){MONO_LOAD + after_ms, T_LOAD + after_ms};
}

/* c saved, loaded into a fresh core at now: 0 and *out (that core's save). */
static void save_load_save(const dg_core *c, struct dg_now now, const char *when, uint8_t **first,
                           size_t *first_len, uint8_t **out, size_t *len)
{
    check(dg_core_save(c, first, first_len) == 0, "a core saves");
    dg_core *d = NULL;
    check(world_core(&d, &cfg, &sink, WORLD_RESTART_PREFIX) == 0, "a core is made");
    int rc = dg_core_load(d, *first, *first_len, now);
    if (rc != 0) fprintf(stderr, "fuzz_state_load: %s: its own save refused (%d)\n", when, rc);
    check(rc == 0, "what a core saves, a core loads");
    check(dg_core_save(d, out, len) == 0, "a reloaded core saves");
    dg_core_free(d);
}

static void same_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                       const char *when)
{
    if (alen == blen && memcmp(a, b, alen) == 0) return;
    size_t i = 0;
    while (i < alen && i < blen && a[i] == b[i])
        i++;
    fprintf(stderr, "fuzz_state_load: %s: %zu and %zu bytes, first difference at %zu\n", when, alen,
            blen, i);
    check(0, "a reloaded state saves the same bytes");
}

/*
 * What c saves loads at now, and the loaded core's save loads and saves
 * again byte for byte (no heap address or other per-process byte in a
 * blob). exact: c itself was just loaded at now (nothing since), so its own
 * save is already that fixed point (a load re-bases monotonic times on now,
 * so only then).
 */
static void check_reload(const dg_core *c, struct dg_now now, bool exact, const char *when)
{
    uint8_t *a = NULL, *b = NULL, *a2 = NULL, *b2 = NULL;
    size_t alen = 0, blen = 0, a2len = 0, b2len = 0;
    save_load_save(c, now, when, &a, &alen, &b, &blen);
    if (exact) same_bytes(a, alen, b, blen, when);
    dg_core *d = NULL;
    check(world_core(&d, &cfg, &sink, WORLD_RESTART_PREFIX) == 0, "a core is made");
    check(dg_core_load(d, b, blen, now) == 0, "a re-saved state loads");
    save_load_save(d, now, when, &a2, &a2len, &b2, &b2len);
    same_bytes(b, blen, b2, b2len, when);
    dg_core_free(d);
    dg_free(a);
    dg_free(b);
    dg_free(a2);
    dg_free(b2);
}

/* ---------------------------------------------------------------- init */

/* The base state: a session on pump-1 and monitor-1 with an overrate
   latched and a completed earlier session in the patient's history. */
static void make_base(void)
{
    dg_core *c = NULL;
    check(world_core(&c, &cfg, &sink, WORLD_SEED_PREFIX) == 0, "the base core is made");
    struct dg_now now = {1000, T_LOAD - 3600000};
    Dosegate__V1__VitalsSample v;
    Dosegate__V1__Measurement hr, spo2, sys, dia;
    dosegate__v1__vitals_sample__init(&v);
    v.schema_version = 1;
    v.monitor_id = "monitor-1";
    v.incarnation = 11;
    v.seq = 1;
    v.device_time_ms = now.wall_ms;
    v.bed_id = "bed-1";
    measurement(&hr, 70);
    measurement(&spo2, 98);
    measurement(&sys, 120);
    measurement(&dia, 78);
    v.heart_rate_bpm = &hr;
    v.spo2_pct = &spo2;
    v.systolic_mmhg = &sys;
    v.diastolic_mmhg = &dia;
    check(feed_vitals(c, &v, now), "the base vitals decode");
    Dosegate__V1__PumpTelemetry m;
    Dosegate__V1__InfusionProgram pg;
    dosegate__v1__pump_telemetry__init(&m);
    dosegate__v1__infusion_program__init(&pg);
    pg.drug_code = "ketamine-trd";
    pg.care_area = "infusion-clinic";
    pg.concentration_mg_per_ml = 1;
    pg.patient_weight_kg = 70;
    pg.dose_mg_per_kg = 0.5;
    pg.duration_min = 40;
    pg.rate_ml_per_h = 52.5;
    m.schema_version = 1;
    m.pump_id = "pump-1";
    m.incarnation = 21;
    m.seq = 1;
    m.device_time_ms = now.wall_ms + 1000;
    m.bed_id = "bed-1";
    m.patient_ref = "pt-1";
    m.session_id = "s-1";
    m.state = DOSEGATE__V1__PUMP_STATE__PUMP_STATE_RUNNING;
    m.program = &pg;
    m.rate_ml_per_h = 52.5;
    m.permit_required = 1;
    now.mono_ms += 1000;
    now.wall_ms += 1000;
    check(feed_telemetry(c, &m, now), "the base telemetry decodes");
    m.seq = 2;
    m.device_time_ms += 60000;
    m.rate_ml_per_h = 140; /* 2 mg/kg/h: over the hard limit */
    m.dose_infused_mg = 1;
    now.mono_ms += 60000;
    now.wall_ms += 60000;
    check(feed_telemetry(c, &m, now), "the base telemetry decodes");
    check(dg_core_tick(c, now) == 0, "the base core ticks");
    check(dg_core_save(c, &base_blob, &base_len) == 0, "the base state saves");
    dg_core_free(c);
    c = NULL;
    check(world_core(&c, &cfg, &sink, WORLD_RESTART_PREFIX) == 0, "a core is made");
    check(dg_core_load(c, base_blob, base_len, at(0)) == 0, "the base state loads");
    check(dg_core_save(c, &base_saved, &base_saved_len) == 0, "the base state saves");
    dg_core_free(c);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *e = getenv("DG_FUZZ_STATE_TRACE");
    trace = e && e[0] == '1';
    world_config(&cfg);
    make_base();
    return 0;
}

/* ---------------------------------------------------------------- one input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t live = dg_alloc_live();
    uint8_t *blob = dg_malloc(size ? size : 1);
    check(blob != NULL, "memory for the blob");
    if (size) memcpy(blob, data, size);
    uint64_t fail_at = 0;
    if (size >= 8) {
        if (memcmp(blob + size - 8, "OOM", 3) == 0) fail_at = 1 + blob[size - 5] % 64;
        uint64_t sum = dg_persist_checksum(blob, size - 8);
        memcpy(blob + size - 8, &sum, 8);
    }

    dg_core *c = NULL;
    check(world_core(&c, &cfg, &sink, WORLD_RESTART_PREFIX) == 0, "a core is made");
    check(dg_core_load(c, base_blob, base_len, at(0)) == 0, "the base state loads");
    dg_alloc_fail_after(fail_at);
    int rc = dg_core_load(c, blob, size, at(0));
    dg_alloc_fail_after(0);
    if (trace) fprintf(stderr, "load: %d\n", rc);
    check(rc == 0 || rc == -DG_EINVAL || (fail_at && rc == -DG_ENOMEM),
          "a blob is loaded, or refused as damaged (or for want of memory)");
    if (rc != 0) {
        uint8_t *again = NULL;
        size_t len = 0;
        check(dg_core_save(c, &again, &len) == 0, "a core saves");
        check(len == base_saved_len && memcmp(again, base_saved, len) == 0,
              "a refused blob leaves the core as it was");
        dg_free(again);
    } else {
        check_reload(c, at(0), true, "after the load");
        check(dg_core_tick(c, at(0)) == 0, "a tick right after the load");
        drive_pumps(c, at(1000));
        drive_monitors(c, at(200000));
        dg_core_tick(c, at(300000));
        ack_all(c, at(310000));
        dg_core_tick(c, at(320000));
        dg_core_tick(c, at(900000));
        dg_core_gateway_alert(c, "state-store", NULL, "state store failing", at(900000));
        dg_core_gateway_alert(c, "state-store", NULL, NULL, at(910000));
        dg_core_tick(c, at(3600000));
        check_reload(c, at(3600000), false, "after an hour");
    }
    dg_core_free(c);
    dg_free(blob);
    check(dg_alloc_live() == live, "nothing allocated is kept");
    return 0;
}
