/*
 * codec.c — protobuf <-> core structs, with validation (see codec.h).
 *
 * Design. This is the only gateway file that includes the generated
 * dosegate.pb-c.h; everything behind it sees plain structs from types.h.
 *
 * Decoding is three steps: a size check (nothing larger than DG_MAX_PAYLOAD is
 * handed to protobuf-c), protobuf_c unpack with an allocator that wraps
 * dg_malloc/dg_free (so tests count and fail its allocations), then a
 * validation pass that copies each field into the core struct only after it
 * has passed its check. The first failing check decides the reason and the
 * field named in the error; the order is schema_version, the device id (so a
 * spoofed id is reported as a security event even when other fields are
 * also wrong), the other required fields, then numbers. *out is written only
 * on success and zeroed on failure, so a half-validated struct can never
 * reach the core.
 *
 * Limits (docs/schema.md is the reference, keep the two in step): ids are
 * 1..DG_ID_MAX-1 bytes of printable ASCII without space, '/', '+' and '#'
 * (they are used as MQTT topic segments and in logs); every double must be
 * finite, not negative and at most a ceiling far beyond any clinical value,
 * so a ceiling rejects only encoder bugs, unit mix-ups and attacks, never a
 * real but alarming value (that is the interlock core's job).
 *
 * Vitals: a measurement that is absent stays absent. A present value that is
 * NaN, infinite or negative rejects the whole sample (no monitor encodes
 * that; the sender is broken). A finite value above its physiological ceiling
 * is kept but marked invalid (present && !valid), like an artefact the
 * monitor flagged itself, so one broken probe does not blind the gateway to
 * the other measurements of the sample.
 *
 * Encoders build the outgoing message on the stack (protobuf-c style; string
 * fields point into the caller's structs, which pack only reads), size it,
 * and pack into one dg_malloc'd buffer. Only ActiveAlarms allocates while
 * building (its repeated field), and frees that before returning.
 *
 * Threading: no global state; safe to call from any thread.
 */
#include "codec.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../core/alloc.h"
#include "../core/error.h"
#include "dosegate.pb-c.h"

/* ---------------------------------------------------------------- limits */

/* Device clocks: 2000-01-01T00:00:00Z .. 2200-01-01T00:00:00Z, UTC ms. */
#define TIME_MIN_MS 946684800000ULL
#define TIME_MAX_MS 7258118400000ULL

/* Ceilings of PumpTelemetry / InfusionProgram numbers (all also >= 0). */
#define MAX_RATE_ML_PER_H                                                                          \
    10000.0 /* far beyond any volumetric infusion pump (<= 2000): a real                           \
                overrate must still reach the rate rules */
#define MAX_CONC_MG_PER_ML 1000.0
#define MAX_WEIGHT_KG      500.0
#define MAX_DOSE_MG_PER_KG 100.0
#define MAX_DURATION_MIN   10080.0 /* 7 days */
#define MAX_AMOUNT         1e6     /* cumulative mL or mg of one session */
#define MAX_BOLUS_COUNT    10000u

/* Physiological ceilings of VitalsSample values; above = marked invalid. */
#define MAX_HEART_RATE_BPM 350.0
#define MAX_SPO2_PCT       100.0
#define MAX_BP_MMHG        350.0
#define MAX_RESP_RATE_BPM  150.0
#define MAX_ETCO2_MMHG     200.0

/* ---------------------------------------------------------------- names */

static const char *const reject_names[DG_REJECT__COUNT] = {
    [DG_REJECT_NONE] = "none",           [DG_REJECT_OVERSIZE] = "oversize",
    [DG_REJECT_DECODE] = "decode",       [DG_REJECT_SCHEMA_VERSION] = "schema_version",
    [DG_REJECT_MISSING] = "missing",     [DG_REJECT_TOO_LONG] = "too_long",
    [DG_REJECT_BAD_VALUE] = "bad_value", [DG_REJECT_ID_MISMATCH] = "id_mismatch",
    [DG_REJECT_TOPIC] = "topic",         [DG_REJECT_DUPLICATE] = "duplicate",
    [DG_REJECT_FLOOD] = "flood",         [DG_REJECT_IDENTITY] = "identity",
};

const char *dg_reject_name(enum dg_reject r)
{
    if ((int)r < 0 || r >= DG_REJECT__COUNT) return "unknown";
    return reject_names[r];
}

/* ---------------------------------------------------------------- allocator */

/*
 * protobuf-c returns NULL both for bad bytes and for a failed allocation;
 * the flag tells the two apart so that out-of-memory is not counted (and
 * audited) as a malformed message.
 */
struct pb_alloc_ctx {
    bool failed;
};

static void *pb_alloc(void *data, size_t size)
{
    void *p = dg_malloc(size);
    if (!p) ((struct pb_alloc_ctx *)data)->failed = true;
    return p;
}

static void pb_free(void *data, void *p)
{
    (void)data;
    dg_free(p);
}

/* ---------------------------------------------------------------- errors */

static void err_clear(struct dg_decode_error *err)
{
    err->reason = DG_REJECT_NONE;
    err->field[0] = '\0';
    err->detail[0] = '\0';
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int
reject(struct dg_decode_error *err, enum dg_reject reason, const char *field, const char *fmt, ...)
{
    err->reason = reason;
    snprintf(err->field, sizeof err->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof err->detail, fmt, ap);
    va_end(ap);
    return -DG_EINVAL;
}

/*
 * Copy untrusted s into dst for a human line: at most 32 bytes, non-printable
 * bytes and '"' shown as '?', "..." when cut. dst must hold 40 bytes.
 */
static const char *shown(char dst[40], const char *s)
{
    size_t i = 0;
    for (; s[i] && i < 32; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[i] = (c >= 0x20 && c < 0x7f && c != '"') ? (char)c : '?';
    }
    if (s[i]) {
        memcpy(dst + i, "...", 4);
    } else {
        dst[i] = '\0';
    }
    return dst;
}

/* ---------------------------------------------------------------- checks */

static bool id_char_ok(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '/' && c != '+' && c != '#';
}

/*
 * Validate an id string and copy it into dst (DG_ID_MAX bytes). An empty id
 * is MISSING when required, else copied as "".
 */
static int check_id(const char *s, const char *field, bool required, char dst[DG_ID_MAX],
                    struct dg_decode_error *err)
{
    char q[40];
    if (!s) s = "";
    size_t n = strlen(s);
    if (n == 0) {
        dst[0] = '\0';
        if (required) return reject(err, DG_REJECT_MISSING, field, "%s is empty or absent", field);
        return 0;
    }
    if (n > DG_ID_MAX - 1)
        return reject(err, DG_REJECT_TOO_LONG, field, "%s \"%s\" is %zu bytes; at most %d allowed",
                      field, shown(q, s), n, DG_ID_MAX - 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!id_char_ok(c))
            return reject(err, DG_REJECT_BAD_VALUE, field,
                          "%s \"%s\" has byte 0x%02x at offset %zu; ids are printable ASCII "
                          "without space, '/', '+' or '#'",
                          field, shown(q, s), c, i);
    }
    memcpy(dst, s, n + 1);
    return 0;
}

/* v must be finite, >= 0 and <= max (unit for the message only). */
static int check_num(double v, double max, const char *field, const char *unit,
                     struct dg_decode_error *err)
{
    if (isnan(v)) return reject(err, DG_REJECT_BAD_VALUE, field, "%s is NaN", field);
    if (isinf(v))
        return reject(err, DG_REJECT_BAD_VALUE, field, "%s is %sinfinite", field,
                      v < 0 ? "-" : "+");
    if (v < 0)
        return reject(err, DG_REJECT_BAD_VALUE, field, "%s = %g %s is negative", field, v, unit);
    if (v > max)
        return reject(err, DG_REJECT_BAD_VALUE, field, "%s = %g %s is above the ceiling %g %s",
                      field, v, unit, max, unit);
    return 0;
}

/* A device or dashboard clock: required (!= 0) and within 2000..2200. */
static int check_time(uint64_t t_ms, const char *field, bool required, struct dg_decode_error *err)
{
    if (t_ms == 0) {
        if (required) return reject(err, DG_REJECT_MISSING, field, "%s is 0 or absent", field);
        return 0;
    }
    if (t_ms < TIME_MIN_MS || t_ms > TIME_MAX_MS)
        return reject(err, DG_REJECT_BAD_VALUE, field,
                      "%s = %llu ms is outside 2000-01-01..2200-01-01 UTC", field,
                      (unsigned long long)t_ms);
    return 0;
}

static int check_schema(uint32_t v, struct dg_decode_error *err)
{
    if (v != DG_SCHEMA_VERSION)
        return reject(err, DG_REJECT_SCHEMA_VERSION, "schema_version",
                      "schema_version = %u; this gateway reads %d", v, DG_SCHEMA_VERSION);
    return 0;
}

static int check_seq(uint64_t seq, struct dg_decode_error *err)
{
    if (seq == 0)
        return reject(err, DG_REJECT_MISSING, "seq", "seq is 0 or absent; sequences start at 1");
    return 0;
}

/* The payload's device id must equal the id the topic named. */
/* Sequence numbers are per incarnation: without one a reboot could not be
   told from a duplicate, so it is required. */
static int check_incarnation(uint64_t incarnation, struct dg_decode_error *err)
{
    if (incarnation == 0)
        return reject(err, DG_REJECT_MISSING, "incarnation",
                      "incarnation is 0 or absent; a device must send its boot id");
    return 0;
}

static int check_expected(const char *id, const char *expected_id, const char *field,
                          struct dg_decode_error *err)
{
    char q1[40], q2[40];
    if (expected_id && strcmp(id, expected_id) != 0)
        return reject(err, DG_REJECT_ID_MISMATCH, field,
                      "%s \"%s\" differs from the topic's \"%s\"", field, shown(q1, id),
                      shown(q2, expected_id));
    return 0;
}

/* Common start of the decoders: arguments and size. */
static int decode_begin(const uint8_t *buf, size_t len, void *out, size_t outsize,
                        struct dg_decode_error *err)
{
    err_clear(err);
    if (!out) {
        snprintf(err->detail, sizeof err->detail, "no output struct");
        return -DG_EINVAL;
    }
    memset(out, 0, outsize);
    if (len > DG_MAX_PAYLOAD)
        return reject(err, DG_REJECT_OVERSIZE, "", "payload is %zu bytes; at most %d accepted", len,
                      DG_MAX_PAYLOAD);
    if (!buf && len > 0)
        return reject(err, DG_REJECT_DECODE, "", "no payload buffer for %zu bytes", len);
    return 0;
}

static int unpack_failed(const struct pb_alloc_ctx *actx, size_t len, const char *type,
                         struct dg_decode_error *err)
{
    if (actx->failed) {
        /* Not the sender's fault: reason stays NONE so it is not counted as a reject. */
        err->reason = DG_REJECT_NONE;
        snprintf(err->detail, sizeof err->detail, "out of memory decoding %s", type);
        return -DG_ENOMEM;
    }
    return reject(err, DG_REJECT_DECODE, "", "%zu bytes are not a valid %s", len, type);
}

/* protobuf-c wants a non-NULL pointer even for zero bytes. */
static const uint8_t empty_payload[1];

/* ---------------------------------------------------------------- telemetry */

/* States in which a session exists: session_id and patient_ref are required. */
static bool state_has_session(int state)
{
    return state == DG_PUMP_PROGRAMMED || state == DG_PUMP_RUNNING || state == DG_PUMP_PAUSED ||
           state == DG_PUMP_STOPPED || state == DG_PUMP_COMPLETE;
}

static int program_from_pb(const Dosegate__V1__InfusionProgram *p, struct dg_program *out,
                           struct dg_decode_error *err)
{
    int rc;
    if ((rc = check_id(p->drug_code, "program.drug_code", false, out->drug_code, err)) ||
        (rc = check_id(p->care_area, "program.care_area", false, out->care_area, err)) ||
        (rc = check_num(p->concentration_mg_per_ml, MAX_CONC_MG_PER_ML,
                        "program.concentration_mg_per_ml", "mg/mL", err)) ||
        (rc = check_num(p->patient_weight_kg, MAX_WEIGHT_KG, "program.patient_weight_kg", "kg",
                        err)) ||
        (rc = check_num(p->dose_mg_per_kg, MAX_DOSE_MG_PER_KG, "program.dose_mg_per_kg", "mg/kg",
                        err)) ||
        (rc = check_num(p->duration_min, MAX_DURATION_MIN, "program.duration_min", "min", err)) ||
        (rc = check_num(p->rate_ml_per_h, MAX_RATE_ML_PER_H, "program.rate_ml_per_h", "mL/h", err)))
        return rc;
    /* The concentration turns every mL into mg (rate, dose): 0 is not a
       drug, and would blind the rate rule. (Weight 0 is "not entered",
       which the weight rule refuses at the start.) */
    if (!(p->concentration_mg_per_ml > 0))
        return reject(err, DG_REJECT_BAD_VALUE, "program.concentration_mg_per_ml",
                      "program.concentration_mg_per_ml = 0 mg/mL: no dose can be computed");
    out->concentration_mg_per_ml = p->concentration_mg_per_ml;
    out->patient_weight_kg = p->patient_weight_kg;
    out->dose_mg_per_kg = p->dose_mg_per_kg;
    out->duration_min = p->duration_min;
    out->rate_ml_per_h = p->rate_ml_per_h;
    return 0;
}

static int telemetry_from_pb(const Dosegate__V1__PumpTelemetry *m, const char *expected_id,
                             struct dg_telemetry *t, struct dg_decode_error *err)
{
    int rc;
    if ((rc = check_schema(m->schema_version, err)) ||
        (rc = check_id(m->pump_id, "pump_id", true, t->pump_id, err)) ||
        (rc = check_expected(t->pump_id, expected_id, "pump_id", err)) ||
        (rc = check_id(m->bed_id, "bed_id", true, t->bed_id, err)) ||
        (rc = check_incarnation(m->incarnation, err)) || (rc = check_seq(m->seq, err)) ||
        (rc = check_time(m->device_time_ms, "device_time_ms", true, err)))
        return rc;

    int state = (int)m->state;
    if (state == DG_PUMP_UNSPECIFIED)
        return reject(err, DG_REJECT_MISSING, "state", "state is UNSPECIFIED or absent");
    if (state < DG_PUMP_IDLE || state > DG_PUMP_ALARM)
        return reject(err, DG_REJECT_BAD_VALUE, "state", "state = %d is not a known PumpState",
                      state);
    bool session = state_has_session(state);
    if ((rc = check_id(m->session_id, "session_id", session, t->session_id, err)) ||
        (rc = check_id(m->patient_ref, "patient_ref", session, t->patient_ref, err)) ||
        (rc = check_id(m->last_command_id, "last_command_id", false, t->last_command_id, err)))
        return rc;

    if (m->program) {
        if ((rc = program_from_pb(m->program, &t->program, err))) return rc;
        t->has_program = true;
    }

    if ((rc = check_num(m->rate_ml_per_h, MAX_RATE_ML_PER_H, "rate_ml_per_h", "mL/h", err)) ||
        (rc = check_num(m->volume_infused_ml, MAX_AMOUNT, "volume_infused_ml", "mL", err)) ||
        (rc = check_num(m->dose_infused_mg, MAX_AMOUNT, "dose_infused_mg", "mg", err)) ||
        (rc = check_num(m->bolus_dose_mg, MAX_AMOUNT, "bolus_dose_mg", "mg", err)))
        return rc;
    if (m->bolus_count > MAX_BOLUS_COUNT)
        return reject(err, DG_REJECT_BAD_VALUE, "bolus_count",
                      "bolus_count = %u is above the ceiling %u", m->bolus_count, MAX_BOLUS_COUNT);

    t->incarnation = m->incarnation;
    t->seq = m->seq;
    t->device_time_ms = m->device_time_ms;
    t->state = (enum dg_pump_state)state;
    t->rate_ml_per_h = m->rate_ml_per_h;
    t->volume_infused_ml = m->volume_infused_ml;
    t->dose_infused_mg = m->dose_infused_mg;
    t->bolus_count = m->bolus_count;
    t->bolus_dose_mg = m->bolus_dose_mg;
    t->pump_alarm_code = m->pump_alarm_code;
    t->permit_required = m->permit_required != 0;
    return 0;
}

int dg_codec_decode_telemetry(const uint8_t *buf, size_t len, const char *expected_id,
                              struct dg_telemetry *out, struct dg_decode_error *err)
{
    struct dg_decode_error scratch;
    if (!err) err = &scratch;
    int rc = decode_begin(buf, len, out, sizeof *out, err);
    if (rc) return rc;

    struct pb_alloc_ctx actx = {false};
    ProtobufCAllocator a = {pb_alloc, pb_free, &actx};
    Dosegate__V1__PumpTelemetry *m =
        dosegate__v1__pump_telemetry__unpack(&a, len, buf ? buf : empty_payload);
    if (!m) return unpack_failed(&actx, len, "PumpTelemetry", err);

    struct dg_telemetry t;
    memset(&t, 0, sizeof t);
    rc = telemetry_from_pb(m, expected_id, &t, err);
    dosegate__v1__pump_telemetry__free_unpacked(m, &a);
    if (rc == 0) *out = t;
    return rc;
}

/* ---------------------------------------------------------------- vitals */

static int measurement_from_pb(const Dosegate__V1__Measurement *pm, double ceiling,
                               const char *field, const char *unit, struct dg_measurement *out,
                               struct dg_decode_error *err)
{
    if (!pm) return 0; /* absent: present = valid = false */
    double v = pm->value;
    int rc = check_num(v, INFINITY, field, unit, err);
    if (rc) return rc;
    out->present = true;
    out->value = v;
    out->valid = pm->valid && v <= ceiling;
    return 0;
}

static int vitals_from_pb(const Dosegate__V1__VitalsSample *m, const char *expected_id,
                          struct dg_vitals *v, struct dg_decode_error *err)
{
    int rc;
    if ((rc = check_schema(m->schema_version, err)) ||
        (rc = check_id(m->monitor_id, "monitor_id", true, v->monitor_id, err)) ||
        (rc = check_expected(v->monitor_id, expected_id, "monitor_id", err)) ||
        (rc = check_id(m->bed_id, "bed_id", true, v->bed_id, err)) ||
        (rc = check_incarnation(m->incarnation, err)) || (rc = check_seq(m->seq, err)) ||
        (rc = check_time(m->device_time_ms, "device_time_ms", true, err)) ||
        (rc = measurement_from_pb(m->heart_rate_bpm, MAX_HEART_RATE_BPM, "heart_rate_bpm.value",
                                  "/min", &v->heart_rate_bpm, err)) ||
        (rc = measurement_from_pb(m->spo2_pct, MAX_SPO2_PCT, "spo2_pct.value", "%", &v->spo2_pct,
                                  err)) ||
        (rc = measurement_from_pb(m->systolic_mmhg, MAX_BP_MMHG, "systolic_mmhg.value", "mmHg",
                                  &v->systolic_mmhg, err)) ||
        (rc = measurement_from_pb(m->diastolic_mmhg, MAX_BP_MMHG, "diastolic_mmhg.value", "mmHg",
                                  &v->diastolic_mmhg, err)) ||
        (rc = measurement_from_pb(m->mean_mmhg, MAX_BP_MMHG, "mean_mmhg.value", "mmHg",
                                  &v->mean_mmhg, err)) ||
        (rc = measurement_from_pb(m->resp_rate_bpm, MAX_RESP_RATE_BPM, "resp_rate_bpm.value",
                                  "/min", &v->resp_rate_bpm, err)) ||
        (rc = measurement_from_pb(m->etco2_mmhg, MAX_ETCO2_MMHG, "etco2_mmhg.value", "mmHg",
                                  &v->etco2_mmhg, err)))
        return rc;
    v->incarnation = m->incarnation;
    v->seq = m->seq;
    v->device_time_ms = m->device_time_ms;
    return 0;
}

int dg_codec_decode_vitals(const uint8_t *buf, size_t len, const char *expected_id,
                           struct dg_vitals *out, struct dg_decode_error *err)
{
    struct dg_decode_error scratch;
    if (!err) err = &scratch;
    int rc = decode_begin(buf, len, out, sizeof *out, err);
    if (rc) return rc;

    struct pb_alloc_ctx actx = {false};
    ProtobufCAllocator a = {pb_alloc, pb_free, &actx};
    Dosegate__V1__VitalsSample *m =
        dosegate__v1__vitals_sample__unpack(&a, len, buf ? buf : empty_payload);
    if (!m) return unpack_failed(&actx, len, "VitalsSample", err);

    struct dg_vitals v;
    memset(&v, 0, sizeof v);
    rc = vitals_from_pb(m, expected_id, &v, err);
    dosegate__v1__vitals_sample__free_unpacked(m, &a);
    if (rc == 0) *out = v;
    return rc;
}

/* ---------------------------------------------------------------- ack */

static int ack_from_pb(const Dosegate__V1__AlertAck *m, struct dg_ack *k,
                       struct dg_decode_error *err)
{
    int rc;
    if ((rc = check_schema(m->schema_version, err)) ||
        (rc = check_id(m->alert_id, "alert_id", true, k->alert_id, err)) ||
        (rc = check_id(m->user_id, "user_id", true, k->user_id, err)) ||
        (rc = check_id(m->ack_id, "ack_id", false, k->ack_id, err)) ||
        (rc = check_time(m->time_ms, "time_ms", false, err)))
        return rc;
    /* comment is free text for the dashboard's own log; the core does not use it. */
    k->reset = m->reset != 0;
    k->time_ms = m->time_ms;
    return 0;
}

int dg_codec_decode_ack(const uint8_t *buf, size_t len, struct dg_ack *out,
                        struct dg_decode_error *err)
{
    struct dg_decode_error scratch;
    if (!err) err = &scratch;
    int rc = decode_begin(buf, len, out, sizeof *out, err);
    if (rc) return rc;

    struct pb_alloc_ctx actx = {false};
    ProtobufCAllocator a = {pb_alloc, pb_free, &actx};
    Dosegate__V1__AlertAck *m = dosegate__v1__alert_ack__unpack(&a, len, buf ? buf : empty_payload);
    if (!m) return unpack_failed(&actx, len, "AlertAck", err);

    struct dg_ack k;
    memset(&k, 0, sizeof k);
    rc = ack_from_pb(m, &k, err);
    dosegate__v1__alert_ack__free_unpacked(m, &a);
    if (rc == 0) *out = k;
    return rc;
}

/* ---------------------------------------------------------------- encoders */

/*
 * protobuf-c's message structs hold char * but pack only reads through them;
 * NULL becomes "" (an absent proto3 string).
 */
static char *str_in(const char *s)
{
    return (char *)(s ? s : "");
}

/* A fixed-size core string must be NUL-terminated inside its array. */
#define FIXED_OK(arr) (memchr((arr), '\0', sizeof(arr)) != NULL)

static bool alert_strings_ok(const struct dg_alert *a)
{
    return FIXED_OK(a->alert_id) && FIXED_OK(a->condition) && FIXED_OK(a->bed_id) &&
           FIXED_OK(a->pump_id) && FIXED_OK(a->patient_ref) && FIXED_OK(a->source_id) &&
           FIXED_OK(a->unit) && FIXED_OK(a->limit_source) && FIXED_OK(a->message);
}

/* Enum maps: 1:1 by value; a value outside the core's enum is a caller bug (-1). */
static int map_kind(enum dg_alert_kind k)
{
    switch (k) {
    case DG_KIND_PHYSIOLOGICAL:
        return DOSEGATE__V1__ALERT_KIND__ALERT_KIND_PHYSIOLOGICAL;
    case DG_KIND_TECHNICAL:
        return DOSEGATE__V1__ALERT_KIND__ALERT_KIND_TECHNICAL;
    case DG_KIND_ADVISORY:
        return DOSEGATE__V1__ALERT_KIND__ALERT_KIND_ADVISORY;
    }
    return -1;
}

static int map_priority(enum dg_priority p)
{
    switch (p) {
    case DG_PRIO_NONE:
        return DOSEGATE__V1__ALERT_PRIORITY__ALERT_PRIORITY_UNSPECIFIED;
    case DG_PRIO_LOW:
        return DOSEGATE__V1__ALERT_PRIORITY__ALERT_PRIORITY_LOW;
    case DG_PRIO_MEDIUM:
        return DOSEGATE__V1__ALERT_PRIORITY__ALERT_PRIORITY_MEDIUM;
    case DG_PRIO_HIGH:
        return DOSEGATE__V1__ALERT_PRIORITY__ALERT_PRIORITY_HIGH;
    }
    return -1;
}

static int map_alert_action(enum dg_alert_action a)
{
    switch (a) {
    case DG_ACTION_NONE:
        return DOSEGATE__V1__ALERT_ACTION__ALERT_ACTION_NONE;
    case DG_ACTION_PAUSE:
        return DOSEGATE__V1__ALERT_ACTION__ALERT_ACTION_PAUSE_REQUESTED;
    case DG_ACTION_STOP:
        return DOSEGATE__V1__ALERT_ACTION__ALERT_ACTION_STOP_REQUESTED;
    }
    return -1;
}

static int map_phase(enum dg_alert_phase p)
{
    switch (p) {
    case DG_PHASE_RAISE:
        return DOSEGATE__V1__ALERT_PHASE__ALERT_PHASE_RAISE;
    case DG_PHASE_UPDATE:
        return DOSEGATE__V1__ALERT_PHASE__ALERT_PHASE_UPDATE;
    case DG_PHASE_ESCALATE:
        return DOSEGATE__V1__ALERT_PHASE__ALERT_PHASE_ESCALATE;
    case DG_PHASE_DEESCALATE:
        return DOSEGATE__V1__ALERT_PHASE__ALERT_PHASE_DEESCALATE;
    case DG_PHASE_ACKNOWLEDGE:
        return DOSEGATE__V1__ALERT_PHASE__ALERT_PHASE_ACKNOWLEDGE;
    case DG_PHASE_CLEAR:
        return DOSEGATE__V1__ALERT_PHASE__ALERT_PHASE_CLEAR;
    }
    return -1;
}

static int map_command(enum dg_command_action a)
{
    switch (a) {
    case DG_CMD_PAUSE:
        return DOSEGATE__V1__COMMAND_ACTION__COMMAND_ACTION_PAUSE;
    case DG_CMD_STOP:
        return DOSEGATE__V1__COMMAND_ACTION__COMMAND_ACTION_STOP;
    case DG_CMD_PERMIT:
        return DOSEGATE__V1__COMMAND_ACTION__COMMAND_ACTION_PERMIT;
    }
    return -1;
}

static int map_outcome(enum dg_audit_outcome o)
{
    switch (o) {
    case DG_OUTCOME_SUCCESS:
        return DOSEGATE__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_SUCCESS;
    case DG_OUTCOME_MINOR:
        return DOSEGATE__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_MINOR_FAILURE;
    case DG_OUTCOME_SERIOUS:
        return DOSEGATE__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_SERIOUS_FAILURE;
    case DG_OUTCOME_MAJOR:
        return DOSEGATE__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_MAJOR_FAILURE;
    }
    return -1;
}

static int map_participant(enum dg_participant p)
{
    switch (p) {
    case DG_PART_GATEWAY:
        return DOSEGATE__V1__PARTICIPANT_KIND__PARTICIPANT_KIND_GATEWAY;
    case DG_PART_DEVICE:
        return DOSEGATE__V1__PARTICIPANT_KIND__PARTICIPANT_KIND_DEVICE;
    case DG_PART_USER:
        return DOSEGATE__V1__PARTICIPANT_KIND__PARTICIPANT_KIND_USER;
    }
    return -1;
}

/* Pack msg into a new dg_malloc'd buffer (ownership to the caller). */
static int pack_out(const ProtobufCMessage *msg, uint8_t **out, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *b = dg_malloc(n);
    if (!b) return -DG_ENOMEM;
    size_t w = protobuf_c_message_pack(msg, b);
    if (w != n) { /* cannot happen: protobuf-c sizes what it packs */
        dg_free(b);
        return -DG_EINVAL;
    }
    *out = b;
    *len = n;
    return 0;
}

static int encode_begin(const void *in, uint8_t **out, size_t *len)
{
    if (!out || !len) return -DG_EINVAL;
    *out = NULL;
    *len = 0;
    return in ? 0 : -DG_EINVAL;
}

/* a's targets as the repeated string field (pointers into a). */
static size_t target_list(const struct dg_alert *a, char *out[DG_TARGETS_MAX])
{
    size_t n = a->n_targets <= DG_TARGETS_MAX ? a->n_targets : DG_TARGETS_MAX;
    for (size_t i = 0; i < n; i++)
        out[i] = str_in(a->targets[i]);
    return n;
}

int dg_codec_encode_alert(const struct dg_alert_event *ev, uint8_t **out, size_t *len)
{
    int rc = encode_begin(ev, out, len);
    if (rc) return rc;
    const struct dg_alert *a = ev->alert;
    if (!a || !alert_strings_ok(a)) return -DG_EINVAL;
    int phase = map_phase(ev->phase), kind = map_kind(a->kind);
    int prio = map_priority(a->priority), action = map_alert_action(a->action);
    if (phase < 0 || kind < 0 || prio < 0 || action < 0) return -DG_EINVAL;

    Dosegate__V1__AlertEvent m = DOSEGATE__V1__ALERT_EVENT__INIT;
    m.schema_version = DG_SCHEMA_VERSION;
    m.alert_id = str_in(a->alert_id);
    m.phase = (Dosegate__V1__AlertPhase)phase;
    m.condition = str_in(a->condition);
    m.kind = (Dosegate__V1__AlertKind)kind;
    m.priority = (Dosegate__V1__AlertPriority)prio;
    m.bed_id = str_in(a->bed_id);
    m.pump_id = str_in(a->pump_id);
    m.patient_ref = str_in(a->patient_ref);
    m.value = a->value;
    m.limit = a->limit;
    m.unit = str_in(a->unit);
    m.limit_source = str_in(a->limit_source);
    m.action = (Dosegate__V1__AlertAction)action;
    m.gateway_time_ms = ev->gateway_time_ms;
    m.device_time_ms = a->device_time_ms;
    m.seq = ev->seq;
    m.message = str_in(a->message);
    m.latched = a->latched;
    m.source_id = str_in(a->source_id);
    char *targets[DG_TARGETS_MAX];
    m.n_target_pump_ids = target_list(a, targets);
    m.target_pump_ids = targets;
    return pack_out(&m.base, out, len);
}

int dg_codec_encode_alarms(const struct dg_alarm_snapshot *snap, uint8_t **out, size_t *len)
{
    int rc = encode_begin(snap, out, len);
    if (rc) return rc;
    size_t n = snap->n_alerts;
    if (n > 0 && !snap->alerts) return -DG_EINVAL;
    int highest = map_priority(snap->highest);
    if (highest < 0) return -DG_EINVAL;

    /* Owned here, freed below: the repeated field's items and pointer array. */
    Dosegate__V1__ActiveAlert *items = NULL;
    Dosegate__V1__ActiveAlert **ptrs = NULL;
    char **targets = NULL; /* DG_TARGETS_MAX per item */
    if (n > 0) {
        items = dg_calloc(n, sizeof *items);
        ptrs = dg_calloc(n, sizeof *ptrs);
        targets = dg_calloc(n * DG_TARGETS_MAX, sizeof *targets);
        if (!items || !ptrs || !targets) {
            rc = -DG_ENOMEM;
            goto fail;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const struct dg_alert *a = snap->alerts[i];
        if (!a || !alert_strings_ok(a)) {
            rc = -DG_EINVAL;
            goto fail;
        }
        int kind = map_kind(a->kind), prio = map_priority(a->priority);
        int action = map_alert_action(a->action);
        if (kind < 0 || prio < 0 || action < 0) {
            rc = -DG_EINVAL;
            goto fail;
        }
        Dosegate__V1__ActiveAlert *it = &items[i];
        dosegate__v1__active_alert__init(it);
        it->alert_id = str_in(a->alert_id);
        it->condition = str_in(a->condition);
        it->kind = (Dosegate__V1__AlertKind)kind;
        it->priority = (Dosegate__V1__AlertPriority)prio;
        it->pump_id = str_in(a->pump_id);
        it->value = a->value;
        it->limit = a->limit;
        it->unit = str_in(a->unit);
        it->action = (Dosegate__V1__AlertAction)action;
        it->latched = a->latched;
        it->acknowledged = a->acknowledged;
        it->raised_time_ms = a->raised_time_ms;
        it->message = str_in(a->message);
        it->source_id = str_in(a->source_id);
        it->target_pump_ids = &targets[i * DG_TARGETS_MAX];
        it->n_target_pump_ids = target_list(a, it->target_pump_ids);
        ptrs[i] = it;
    }

    Dosegate__V1__ActiveAlarms m = DOSEGATE__V1__ACTIVE_ALARMS__INIT;
    m.schema_version = DG_SCHEMA_VERSION;
    m.bed_id = str_in(snap->bed_id);
    m.gateway_time_ms = snap->gateway_time_ms;
    m.seq = snap->seq;
    m.n_alerts = n;
    m.alerts = ptrs;
    m.highest_priority = (Dosegate__V1__AlertPriority)highest;
    rc = pack_out(&m.base, out, len);
fail:
    dg_free(targets);
    dg_free(ptrs);
    dg_free(items);
    return rc;
}

int dg_codec_encode_command(const struct dg_command *cmd, uint8_t **out, size_t *len)
{
    int rc = encode_begin(cmd, out, len);
    if (rc) return rc;
    int action = map_command(cmd->action);
    if (action < 0 || !FIXED_OK(cmd->command_id) || !FIXED_OK(cmd->pump_id) ||
        !FIXED_OK(cmd->reason_alert_id) || !FIXED_OK(cmd->reason))
        return -DG_EINVAL;

    Dosegate__V1__PumpCommand m = DOSEGATE__V1__PUMP_COMMAND__INIT;
    m.schema_version = DG_SCHEMA_VERSION;
    m.command_id = str_in(cmd->command_id);
    m.pump_id = str_in(cmd->pump_id);
    m.action = (Dosegate__V1__CommandAction)action;
    m.reason_alert_id = str_in(cmd->reason_alert_id);
    m.issue_time_ms = cmd->issue_time_ms;
    m.permit_valid_for_ms = cmd->permit_valid_for_ms;
    m.reason = str_in(cmd->reason);
    return pack_out(&m.base, out, len);
}

int dg_codec_encode_status(const struct dg_status *st, uint8_t **out, size_t *len)
{
    int rc = encode_begin(st, out, len);
    if (rc) return rc;
    Dosegate__V1__GatewayStatus m = DOSEGATE__V1__GATEWAY_STATUS__INIT;
    m.schema_version = DG_SCHEMA_VERSION;
    m.online = st->online != 0;
    m.gateway_id = str_in(st->gateway_id);
    m.software_version = str_in(st->software_version);
    m.config_sha256 = str_in(st->config_sha256);
    m.drug_library_id = str_in(st->drug_library_id);
    m.drug_library_version = str_in(st->drug_library_version);
    m.drug_library_sha256 = str_in(st->drug_library_sha256);
    m.start_time_ms = st->start_time_ms;
    m.status_time_ms = st->status_time_ms;
    m.pumps_known = st->pumps_known;
    m.beds_known = st->beds_known;
    m.messages_accepted = st->messages_accepted;
    m.messages_rejected = st->messages_rejected;
    m.active_alerts = st->active_alerts;
    m.outbox_backlog = st->outbox_backlog;
    m.store_errors = st->store_errors;
    m.duplicates_repeated = st->duplicates_repeated;
    m.duplicates_backwards = st->duplicates_backwards;
    m.duplicates_stale_incarnation = st->duplicates_stale_incarnation;
    m.seq_gaps = st->seq_gaps;
    m.seq_missing = st->seq_missing;
    m.device_reboots = st->device_reboots;
    m.clock_jumps = st->clock_jumps;
    m.identity_refused = st->identity_refused;
    m.permits_sent = st->permits_sent;
    m.permits_dropped = st->permits_dropped;
    return pack_out(&m.base, out, len);
}

int dg_codec_encode_audit(const struct dg_audit_record *rec, int with_hash, uint8_t **out,
                          size_t *len)
{
    int rc = encode_begin(rec, out, len);
    if (rc) return rc;
    const struct dg_audit_event *ev = rec->ev;
    if (!ev || (rec->signature_len > 0 && !rec->signature)) return -DG_EINVAL;
    int outcome = map_outcome(ev->outcome), part = map_participant(ev->participant_kind);
    if (outcome < 0 || part < 0) return -DG_EINVAL;

    Dosegate__V1__AuditRecord m = DOSEGATE__V1__AUDIT_RECORD__INIT;
    m.schema_version = DG_SCHEMA_VERSION;
    m.seq = rec->seq;
    m.time_ms = rec->time_ms;
    m.gateway_id = str_in(rec->gateway_id);
    m.event_type = str_in(ev->event_type);
    m.action = str_in(ev->action);
    m.outcome = (Dosegate__V1__AuditOutcome)outcome;
    m.participant_kind = (Dosegate__V1__ParticipantKind)part;
    m.participant_id = str_in(ev->participant_id);
    m.object_type = str_in(ev->object_type);
    m.object_id = str_in(ev->object_id);
    m.detail = str_in(ev->detail);
    /* pack only reads these bytes. */
    m.prev_hash.len = sizeof rec->prev_hash;
    m.prev_hash.data = (uint8_t *)rec->prev_hash;
    if (with_hash) {
        m.this_hash.len = sizeof rec->this_hash;
        m.this_hash.data = (uint8_t *)rec->this_hash;
    }
    if (rec->signature && rec->signature_len > 0) {
        m.signature.len = rec->signature_len;
        m.signature.data = (uint8_t *)rec->signature;
    }
    return pack_out(&m.base, out, len);
}
