/*
 * test_codec.c — the codec (gateway/io/codec.c) and topic tree (topic.c).
 *
 * Messages are built with the generated protobuf-c API, packed and fed to the
 * decoders; encoder output is read back with the generated unpackers. Every
 * rejection reason is checked with the field it must name. Each test starts
 * and ends with the same dg_alloc_live() (teardown), and the allocation
 * failure tests fail every allocation in turn.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/alloc.h"
#include "core/error.h"
#include "dosegate.pb-c.h"
#include "io/codec.h"

#define A8  "aaaaaaaa"
#define A63 A8 A8 A8 A8 A8 A8 A8 "aaaaaaa"
#define A64 A8 A8 A8 A8 A8 A8 A8 A8

#define T_2026 1767225600123ULL /* 2026-01-01T00:00:00.123Z */
#define T_MIN  946684800000ULL  /* 2000-01-01T00:00:00Z */
#define T_MAX  7258118400000ULL /* 2200-01-01T00:00:00Z */

#define assert_double_eq(a, b) assert_true((a) == (b))

/* ---------------------------------------------------------------- fixtures */

static int64_t live_at_start;

static int setup(void **state)
{
    (void)state;
    dg_alloc_fail_after(0);
    live_at_start = dg_alloc_live();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dg_alloc_fail_after(0);
    assert_int_equal(dg_alloc_live(), live_at_start);
    return 0;
}

static size_t pack_msg(const ProtobufCMessage *m, uint8_t *buf, size_t cap)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    assert_true(n <= cap);
    assert_int_equal(protobuf_c_message_pack(m, buf), n);
    return n;
}

/*
 * Set the field at path ("seq", "program.rate_ml_per_h",
 * "spo2_pct.value") from s, d or u according to its type. A MESSAGE field is
 * set to NULL (absent).
 */
static void set_field(ProtobufCMessage *msg, const char *path, const char *s, double d, uint64_t u)
{
    const char *dot = strchr(path, '.');
    char head[48];
    size_t hl = dot ? (size_t)(dot - path) : strlen(path);
    assert_true(hl < sizeof head);
    memcpy(head, path, hl);
    head[hl] = '\0';
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, head);
    if (!f) fail_msg("no field %s in %s", head, msg->descriptor->name);
    void *p = (char *)msg + f->offset;
    if (dot) {
        assert_int_equal(f->type, PROTOBUF_C_TYPE_MESSAGE);
        ProtobufCMessage *sub = *(ProtobufCMessage **)p;
        assert_non_null(sub);
        set_field(sub, dot + 1, s, d, u);
        return;
    }
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        *(char **)p = (char *)s;
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        *(double *)p = d;
        break;
    case PROTOBUF_C_TYPE_UINT64:
        *(uint64_t *)p = u;
        break;
    case PROTOBUF_C_TYPE_UINT32:
        *(uint32_t *)p = (uint32_t)u;
        break;
    case PROTOBUF_C_TYPE_ENUM:
        *(int *)p = (int)(int64_t)u;
        break;
    case PROTOBUF_C_TYPE_BOOL:
        *(protobuf_c_boolean *)p = u != 0;
        break;
    case PROTOBUF_C_TYPE_MESSAGE:
        *(void **)p = NULL;
        break;
    default:
        fail_msg("field %s: type %d not handled", path, (int)f->type);
    }
}

/* One table row: set `set` to s/d/u, expect reason naming `field`. */
struct reject_case {
    const char *set;
    const char *s;
    double d;
    uint64_t u;
    enum dg_reject reason;
    const char *field;
    const char *detail_has; /* substring of err.detail, or NULL */
};

static void expect_reject(int rc, const struct dg_decode_error *err, const struct reject_case *c,
                          size_t i)
{
    if (rc != -DG_EINVAL || err->reason != c->reason || strcmp(err->field, c->field) != 0)
        fail_msg("case %zu (set %s): rc %d reason %s field \"%s\" detail \"%s\"; want %s \"%s\"", i,
                 c->set, rc, dg_reject_name(err->reason), err->field, err->detail,
                 dg_reject_name(c->reason), c->field);
    if (err->detail[0] == '\0') fail_msg("case %zu (set %s): empty detail", i, c->set);
    if (c->detail_has && !strstr(err->detail, c->detail_has))
        fail_msg("case %zu (set %s): detail \"%s\" lacks \"%s\"", i, c->set, err->detail,
                 c->detail_has);
}

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i]) return 0;
    return 1;
}

/* ---------------------------------------------------------------- builders */

/* A complete, valid RUNNING telemetry message with every field non-default. */
static void telemetry_init(Dosegate__V1__PumpTelemetry *m, Dosegate__V1__InfusionProgram *p)
{
    dosegate__v1__infusion_program__init(p);
    p->drug_code = "ketamine-trd";
    p->care_area = "infusion-clinic";
    p->concentration_mg_per_ml = 1.0;
    p->patient_weight_kg = 72.5;
    p->dose_mg_per_kg = 0.5;
    p->duration_min = 40.0;
    p->rate_ml_per_h = 54.375;

    dosegate__v1__pump_telemetry__init(m);
    m->schema_version = 1;
    m->pump_id = "pump-07";
    m->incarnation = 0x5eed0007;
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
    m->pump_alarm_code = 0x31;
    m->last_command_id = "cmd-5";
    m->permit_required = 1;
}

static void measurement_init(Dosegate__V1__Measurement *x, double v, int valid)
{
    dosegate__v1__measurement__init(x);
    x->value = v;
    x->valid = valid;
}

/* A complete, valid vitals sample; ms[7] provides the measurements. */
static void vitals_init(Dosegate__V1__VitalsSample *m, Dosegate__V1__Measurement ms[7])
{
    dosegate__v1__vitals_sample__init(m);
    m->schema_version = 1;
    m->monitor_id = "mon-1";
    m->incarnation = 0x5eed0001;
    m->seq = 9001;
    m->device_time_ms = T_2026 + 7;
    m->bed_id = "bed-3";
    measurement_init(&ms[0], 72, 1);
    measurement_init(&ms[1], 97, 1);
    measurement_init(&ms[2], 131, 1);
    measurement_init(&ms[3], 84, 1);
    measurement_init(&ms[4], 99.5, 1);
    measurement_init(&ms[5], 14, 1);
    measurement_init(&ms[6], 38, 1);
    m->heart_rate_bpm = &ms[0];
    m->spo2_pct = &ms[1];
    m->systolic_mmhg = &ms[2];
    m->diastolic_mmhg = &ms[3];
    m->mean_mmhg = &ms[4];
    m->resp_rate_bpm = &ms[5];
    m->etco2_mmhg = &ms[6];
}

static void ack_init(Dosegate__V1__AlertAck *m)
{
    dosegate__v1__alert_ack__init(m);
    m->schema_version = 1;
    m->alert_id = "al-bed-3-rate-hard-17";
    m->user_id = "nurse.okafor@clinic";
    m->reset = 1;
    m->time_ms = T_2026 + 99;
    m->ack_id = "ack-0005";
    m->comment = "pump checked, rate re-entered";
}

/* ---------------------------------------------------------------- names */

static void test_reject_names(void **state)
{
    (void)state;
    static const char *const want[] = {"none",    "oversize",  "decode",    "schema_version",
                                       "missing", "too_long",  "bad_value", "id_mismatch",
                                       "topic",   "duplicate", "flood",     "identity"};
    assert_int_equal(sizeof want / sizeof want[0], DG_REJECT__COUNT);
    for (int r = 0; r < DG_REJECT__COUNT; r++)
        assert_string_equal(dg_reject_name((enum dg_reject)r), want[r]);
    assert_string_equal(dg_reject_name(DG_REJECT__COUNT), "unknown");
    assert_string_equal(dg_reject_name((enum dg_reject) - 1), "unknown");
}

/* ---------------------------------------------------------------- telemetry */

static void test_telemetry_roundtrip(void **state)
{
    (void)state;
    Dosegate__V1__PumpTelemetry m;
    Dosegate__V1__InfusionProgram p;
    telemetry_init(&m, &p);
    uint8_t buf[512];
    size_t n = pack_msg(&m.base, buf, sizeof buf);

    struct dg_telemetry t;
    struct dg_decode_error err;
    assert_int_equal(dg_codec_decode_telemetry(buf, n, "pump-07", &t, &err), 0);
    assert_int_equal(err.reason, DG_REJECT_NONE);
    assert_string_equal(t.pump_id, "pump-07");
    assert_int_equal(t.incarnation, 0x5eed0007);
    assert_int_equal(t.seq, 42);
    assert_int_equal(t.device_time_ms, T_2026);
    assert_string_equal(t.bed_id, "bed-3");
    assert_string_equal(t.patient_ref, "pt-9f2c");
    assert_string_equal(t.session_id, "s-2026-0001");
    assert_int_equal(t.state, DG_PUMP_RUNNING);
    assert_true(t.has_program);
    assert_string_equal(t.program.drug_code, "ketamine-trd");
    assert_string_equal(t.program.care_area, "infusion-clinic");
    assert_double_eq(t.program.concentration_mg_per_ml, 1.0);
    assert_double_eq(t.program.patient_weight_kg, 72.5);
    assert_double_eq(t.program.dose_mg_per_kg, 0.5);
    assert_double_eq(t.program.duration_min, 40.0);
    assert_double_eq(t.program.rate_ml_per_h, 54.375);
    assert_double_eq(t.rate_ml_per_h, 54.375);
    assert_double_eq(t.volume_infused_ml, 17.25);
    assert_double_eq(t.dose_infused_mg, 17.25);
    assert_int_equal(t.bolus_count, 1);
    assert_double_eq(t.bolus_dose_mg, 2.5);
    assert_int_equal(t.pump_alarm_code, 0x31);
    assert_string_equal(t.last_command_id, "cmd-5");
    assert_true(t.permit_required);

    /* NULL expected_id skips the topic check; NULL err is allowed. */
    assert_int_equal(dg_codec_decode_telemetry(buf, n, NULL, &t, NULL), 0);
    assert_string_equal(t.pump_id, "pump-07");
}

static void test_telemetry_without_program(void **state)
{
    (void)state;
    Dosegate__V1__PumpTelemetry m;
    Dosegate__V1__InfusionProgram p;
    telemetry_init(&m, &p);
    m.program = NULL;
    uint8_t buf[512];
    size_t n = pack_msg(&m.base, buf, sizeof buf);
    struct dg_telemetry t;
    memset(&t, 0xa5, sizeof t);
    assert_int_equal(dg_codec_decode_telemetry(buf, n, "pump-07", &t, NULL), 0);
    assert_false(t.has_program);
    assert_true(all_zero(&t.program, sizeof t.program));
}

/* Idle and pump-alarm states carry no session: only pump_id and bed_id are required. */
static void test_telemetry_idle_minimal(void **state)
{
    (void)state;
    static const int states[] = {DOSEGATE__V1__PUMP_STATE__PUMP_STATE_IDLE,
                                 DOSEGATE__V1__PUMP_STATE__PUMP_STATE_PUMP_ALARM};
    for (size_t i = 0; i < 2; i++) {
        Dosegate__V1__PumpTelemetry m = DOSEGATE__V1__PUMP_TELEMETRY__INIT;
        m.schema_version = 1;
        m.pump_id = "p1";
        m.bed_id = "b1";
        m.incarnation = 1;
        m.seq = 1;
        m.device_time_ms = T_2026;
        m.state = (Dosegate__V1__PumpState)states[i];
        uint8_t buf[128];
        size_t n = pack_msg(&m.base, buf, sizeof buf);
        struct dg_telemetry t;
        struct dg_decode_error err;
        int rc = dg_codec_decode_telemetry(buf, n, "p1", &t, &err);
        if (rc)
            fail_msg("state %d: %s %s %s", states[i], dg_reject_name(err.reason), err.field,
                     err.detail);
        assert_int_equal((int)t.state, states[i]);
        assert_string_equal(t.session_id, "");
        assert_string_equal(t.patient_ref, "");
        assert_false(t.has_program);
        assert_double_eq(t.rate_ml_per_h, 0.0);
    }
}

/* Every state 1..7 decodes (with a session) and maps 1:1. */
static void test_telemetry_states(void **state)
{
    (void)state;
    for (int s = 1; s <= 7; s++) {
        Dosegate__V1__PumpTelemetry m;
        Dosegate__V1__InfusionProgram p;
        telemetry_init(&m, &p);
        m.state = (Dosegate__V1__PumpState)s;
        uint8_t buf[512];
        size_t n = pack_msg(&m.base, buf, sizeof buf);
        struct dg_telemetry t;
        assert_int_equal(dg_codec_decode_telemetry(buf, n, "pump-07", &t, NULL), 0);
        assert_int_equal((int)t.state, s);
    }
}

/* Values exactly at a limit are accepted. */
static void test_telemetry_edges_accepted(void **state)
{
    (void)state;
    static const struct reject_case ok[] = {
        {.set = "program.patient_weight_kg", .d = 0},
        {.set = "program.patient_weight_kg", .d = 500},
        {.set = "program.concentration_mg_per_ml", .d = 1000},
        {.set = "program.dose_mg_per_kg", .d = 100},
        {.set = "program.duration_min", .d = 10080},
        {.set = "program.rate_ml_per_h", .d = 10000},
        {.set = "program.drug_code", .s = ""},
        {.set = "program.care_area", .s = ""},
        {.set = "rate_ml_per_h", .d = 10000},
        {.set = "rate_ml_per_h", .d = 0},
        {.set = "volume_infused_ml", .d = 1e6},
        {.set = "dose_infused_mg", .d = 1e6},
        {.set = "bolus_dose_mg", .d = 1e6},
        {.set = "bolus_count", .u = 10000},
        {.set = "pump_alarm_code", .u = UINT32_MAX},
        {.set = "device_time_ms", .u = T_MIN},
        {.set = "device_time_ms", .u = T_MAX},
        {.set = "seq", .u = UINT64_MAX},
        {.set = "last_command_id", .s = ""},
        {.set = "last_command_id", .s = A63},
        {.set = "bed_id", .s = A63},
        {.set = "session_id", .s = "~!\"$%&'()*,-.:;<=>?@[\\]^_`{|}"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        Dosegate__V1__PumpTelemetry m;
        Dosegate__V1__InfusionProgram p;
        telemetry_init(&m, &p);
        set_field(&m.base, ok[i].set, ok[i].s, ok[i].d, ok[i].u);
        uint8_t buf[512];
        size_t n = pack_msg(&m.base, buf, sizeof buf);
        struct dg_telemetry t;
        struct dg_decode_error err;
        if (dg_codec_decode_telemetry(buf, n, "pump-07", &t, &err) != 0)
            fail_msg("case %zu (set %s): rejected %s %s: %s", i, ok[i].set,
                     dg_reject_name(err.reason), err.field, err.detail);
    }
    /* A 63-byte pump id fits (the topic then carries the same id). */
    Dosegate__V1__PumpTelemetry m;
    Dosegate__V1__InfusionProgram p;
    telemetry_init(&m, &p);
    m.pump_id = A63;
    uint8_t buf[512];
    size_t n = pack_msg(&m.base, buf, sizeof buf);
    struct dg_telemetry t;
    assert_int_equal(dg_codec_decode_telemetry(buf, n, A63, &t, NULL), 0);
    assert_string_equal(t.pump_id, A63);
}

static const struct reject_case telemetry_rejects[] = {
    {.set = "schema_version",
     .u = 0,
     .reason = DG_REJECT_SCHEMA_VERSION,
     .field = "schema_version"},
    {.set = "schema_version",
     .u = 2,
     .reason = DG_REJECT_SCHEMA_VERSION,
     .field = "schema_version",
     .detail_has = "= 2"},
    {.set = "pump_id", .s = "", .reason = DG_REJECT_MISSING, .field = "pump_id"},
    {.set = "pump_id",
     .s = A64,
     .reason = DG_REJECT_TOO_LONG,
     .field = "pump_id",
     .detail_has = "64 bytes"},
    {.set = "pump_id",
     .s = "pump/07",
     .reason = DG_REJECT_BAD_VALUE,
     .field = "pump_id",
     .detail_has = "pump/07"},
    {.set = "pump_id", .s = "pump+", .reason = DG_REJECT_BAD_VALUE, .field = "pump_id"},
    {.set = "pump_id", .s = "pump#", .reason = DG_REJECT_BAD_VALUE, .field = "pump_id"},
    {.set = "pump_id", .s = "pump 07", .reason = DG_REJECT_BAD_VALUE, .field = "pump_id"},
    {.set = "pump_id",
     .s = "pump\x01",
     .reason = DG_REJECT_BAD_VALUE,
     .field = "pump_id",
     .detail_has = "0x01"},
    {.set = "pump_id", .s = "pump\x7f", .reason = DG_REJECT_BAD_VALUE, .field = "pump_id"},
    {.set = "pump_id", .s = "pump\xc3\xa9", .reason = DG_REJECT_BAD_VALUE, .field = "pump_id"},
    {.set = "pump_id",
     .s = "pump-08",
     .reason = DG_REJECT_ID_MISMATCH,
     .field = "pump_id",
     .detail_has = "pump-08"},
    {.set = "pump_id", .s = "pump-07x", .reason = DG_REJECT_ID_MISMATCH, .field = "pump_id"},
    {.set = "bed_id", .s = "", .reason = DG_REJECT_MISSING, .field = "bed_id"},
    {.set = "bed_id", .s = "bed/3", .reason = DG_REJECT_BAD_VALUE, .field = "bed_id"},
    {.set = "bed_id", .s = A64, .reason = DG_REJECT_TOO_LONG, .field = "bed_id"},
    {.set = "seq", .u = 0, .reason = DG_REJECT_MISSING, .field = "seq"},
    {.set = "incarnation",
     .u = 0,
     .reason = DG_REJECT_MISSING,
     .field = "incarnation",
     .detail_has = "boot id"},
    {.set = "device_time_ms", .u = 0, .reason = DG_REJECT_MISSING, .field = "device_time_ms"},
    {.set = "device_time_ms",
     .u = T_MIN - 1,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "device_time_ms",
     .detail_has = "946684799999"},
    {.set = "device_time_ms",
     .u = T_MAX + 1,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "device_time_ms"},
    {.set = "device_time_ms",
     .u = UINT64_MAX,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "device_time_ms"},
    {.set = "state", .u = 0, .reason = DG_REJECT_MISSING, .field = "state"},
    {.set = "state", .u = 8, .reason = DG_REJECT_BAD_VALUE, .field = "state", .detail_has = "8"},
    {.set = "state",
     .u = (uint64_t)-1,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "state",
     .detail_has = "-1"},
    {.set = "session_id", .s = "", .reason = DG_REJECT_MISSING, .field = "session_id"},
    {.set = "session_id", .s = A64, .reason = DG_REJECT_TOO_LONG, .field = "session_id"},
    {.set = "patient_ref", .s = "", .reason = DG_REJECT_MISSING, .field = "patient_ref"},
    {.set = "patient_ref", .s = "pt#1", .reason = DG_REJECT_BAD_VALUE, .field = "patient_ref"},
    {.set = "last_command_id",
     .s = "cmd/1",
     .reason = DG_REJECT_BAD_VALUE,
     .field = "last_command_id"},
    {.set = "last_command_id", .s = A64, .reason = DG_REJECT_TOO_LONG, .field = "last_command_id"},
    {.set = "program.drug_code",
     .s = "ket/amine",
     .reason = DG_REJECT_BAD_VALUE,
     .field = "program.drug_code"},
    {.set = "program.drug_code",
     .s = A64,
     .reason = DG_REJECT_TOO_LONG,
     .field = "program.drug_code"},
    {.set = "program.care_area",
     .s = A64,
     .reason = DG_REJECT_TOO_LONG,
     .field = "program.care_area"},
    {.set = "program.care_area",
     .s = "icu ward",
     .reason = DG_REJECT_BAD_VALUE,
     .field = "program.care_area"},
    {.set = "program.concentration_mg_per_ml",
     .d = NAN,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "program.concentration_mg_per_ml",
     .detail_has = "NaN"},
    {.set = "program.concentration_mg_per_ml",
     .d = 0,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "program.concentration_mg_per_ml",
     .detail_has = "no dose can be computed"},
    {.set = "program.concentration_mg_per_ml",
     .d = -1,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "program.concentration_mg_per_ml",
     .detail_has = "negative"},
    {.set = "program.concentration_mg_per_ml",
     .d = 1000.5,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "program.concentration_mg_per_ml",
     .detail_has = "1000.5"},
    {.set = "program.patient_weight_kg",
     .d = NAN,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "program.patient_weight_kg"},
    {.set = "program.patient_weight_kg",
     .d = INFINITY,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "program.patient_weight_kg",
     .detail_has = "infinite"},
    {.set = "program.patient_weight_kg",
     .d = -70,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "program.patient_weight_kg",
     .detail_has = "-70"},
    {.set = "program.patient_weight_kg",
     .d = 612,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "program.patient_weight_kg",
     .detail_has = "612 kg"},
    {.set = "program.dose_mg_per_kg",
     .d = -INFINITY,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "program.dose_mg_per_kg",
     .detail_has = "-infinite"},
    {.set = "program.dose_mg_per_kg",
     .d = 100.1,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "program.dose_mg_per_kg"},
    {.set = "program.duration_min",
     .d = NAN,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "program.duration_min"},
    {.set = "program.duration_min",
     .d = 10081,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "program.duration_min"},
    {.set = "program.rate_ml_per_h",
     .d = -0.1,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "program.rate_ml_per_h"},
    {.set = "program.rate_ml_per_h",
     .d = 10001,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "program.rate_ml_per_h"},
    {.set = "rate_ml_per_h", .d = NAN, .reason = DG_REJECT_BAD_VALUE, .field = "rate_ml_per_h"},
    {.set = "rate_ml_per_h",
     .d = INFINITY,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "rate_ml_per_h"},
    {.set = "rate_ml_per_h", .d = -1, .reason = DG_REJECT_BAD_VALUE, .field = "rate_ml_per_h"},
    {.set = "rate_ml_per_h",
     .d = 10000.01,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "rate_ml_per_h",
     .detail_has = "mL/h"},
    {.set = "volume_infused_ml",
     .d = -1,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "volume_infused_ml"},
    {.set = "volume_infused_ml",
     .d = 1.1e6,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "volume_infused_ml"},
    {.set = "volume_infused_ml",
     .d = NAN,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "volume_infused_ml"},
    {.set = "dose_infused_mg", .d = NAN, .reason = DG_REJECT_BAD_VALUE, .field = "dose_infused_mg"},
    {.set = "dose_infused_mg",
     .d = -INFINITY,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "dose_infused_mg"},
    {.set = "dose_infused_mg", .d = 2e6, .reason = DG_REJECT_BAD_VALUE, .field = "dose_infused_mg"},
    {.set = "bolus_dose_mg", .d = -0.5, .reason = DG_REJECT_BAD_VALUE, .field = "bolus_dose_mg"},
    {.set = "bolus_dose_mg", .d = NAN, .reason = DG_REJECT_BAD_VALUE, .field = "bolus_dose_mg"},
    {.set = "bolus_dose_mg", .d = 1e7, .reason = DG_REJECT_BAD_VALUE, .field = "bolus_dose_mg"},
    {.set = "bolus_count",
     .u = 10001,
     .reason = DG_REJECT_BAD_VALUE,
     .field = "bolus_count",
     .detail_has = "10001"},
};

static void test_telemetry_rejects(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof telemetry_rejects / sizeof telemetry_rejects[0]; i++) {
        const struct reject_case *c = &telemetry_rejects[i];
        Dosegate__V1__PumpTelemetry m;
        Dosegate__V1__InfusionProgram p;
        telemetry_init(&m, &p);
        set_field(&m.base, c->set, c->s, c->d, c->u);
        uint8_t buf[512];
        size_t n = pack_msg(&m.base, buf, sizeof buf);
        struct dg_telemetry t;
        memset(&t, 0xa5, sizeof t);
        struct dg_decode_error err;
        int rc = dg_codec_decode_telemetry(buf, n, "pump-07", &t, &err);
        expect_reject(rc, &err, c, i);
        if (!all_zero(&t, sizeof t))
            fail_msg("case %zu (set %s): output not zeroed on reject", i, c->set);
    }
}

/* The security check comes before the other field checks. */
static void test_telemetry_mismatch_first(void **state)
{
    (void)state;
    Dosegate__V1__PumpTelemetry m;
    Dosegate__V1__InfusionProgram p;
    telemetry_init(&m, &p);
    m.pump_id = "pump-99";
    m.bed_id = "";
    m.rate_ml_per_h = NAN;
    uint8_t buf[512];
    size_t n = pack_msg(&m.base, buf, sizeof buf);
    struct dg_telemetry t;
    struct dg_decode_error err;
    assert_int_equal(dg_codec_decode_telemetry(buf, n, "pump-07", &t, &err), -DG_EINVAL);
    assert_int_equal(err.reason, DG_REJECT_ID_MISMATCH);
    assert_string_equal(err.field, "pump_id");
    assert_non_null(strstr(err.detail, "pump-99"));
    assert_non_null(strstr(err.detail, "pump-07"));
}

/* ---------------------------------------------------------------- hostile bytes */

typedef int (*decode_fn)(const uint8_t *buf, size_t len, const char *id,
                         struct dg_decode_error *err);

static int dec_telemetry(const uint8_t *buf, size_t len, const char *id,
                         struct dg_decode_error *err)
{
    struct dg_telemetry t;
    return dg_codec_decode_telemetry(buf, len, id, &t, err);
}

static int dec_vitals(const uint8_t *buf, size_t len, const char *id, struct dg_decode_error *err)
{
    struct dg_vitals v;
    return dg_codec_decode_vitals(buf, len, id, &v, err);
}

static int dec_ack(const uint8_t *buf, size_t len, const char *id, struct dg_decode_error *err)
{
    (void)id;
    struct dg_ack k;
    return dg_codec_decode_ack(buf, len, &k, err);
}

static const decode_fn decoders[] = {dec_telemetry, dec_vitals, dec_ack};

/* Pack the valid base message of decoder i into buf. */
static size_t pack_base(size_t i, uint8_t *buf, size_t cap)
{
    Dosegate__V1__PumpTelemetry tm;
    Dosegate__V1__InfusionProgram tp;
    Dosegate__V1__VitalsSample vm;
    Dosegate__V1__Measurement ms[7];
    Dosegate__V1__AlertAck am;
    switch (i) {
    case 0:
        telemetry_init(&tm, &tp);
        return pack_msg(&tm.base, buf, cap);
    case 1:
        vitals_init(&vm, ms);
        return pack_msg(&vm.base, buf, cap);
    default:
        ack_init(&am);
        return pack_msg(&am.base, buf, cap);
    }
}

static const char *const base_ids[] = {"pump-07", "mon-1", NULL};

static void test_truncated(void **state)
{
    (void)state;
    for (size_t d = 0; d < 3; d++) {
        uint8_t buf[512];
        size_t n = pack_base(d, buf, sizeof buf);
        struct dg_decode_error err;
        assert_int_equal(decoders[d](buf, n, base_ids[d], &err), 0);
        size_t decode_rejects = 0;
        for (size_t cut = 0; cut < n; cut++) {
            /* A heap copy of exactly cut bytes, so ASan sees any over-read. */
            uint8_t *copy = malloc(cut ? cut : 1);
            assert_non_null(copy);
            memcpy(copy, buf, cut);
            int rc = decoders[d](copy, cut, base_ids[d], &err);
            free(copy);
            if (rc == 0) continue; /* cut at a field boundary: a shorter valid message */
            assert_int_equal(rc, -DG_EINVAL);
            assert_int_not_equal(err.reason, DG_REJECT_NONE);
            decode_rejects += err.reason == DG_REJECT_DECODE;
        }
        assert_true(decode_rejects > n / 2);
        /* Cut inside the last field: not a message. */
        assert_int_equal(decoders[d](buf, n - 1, base_ids[d], &err), -DG_EINVAL);
        assert_int_equal(err.reason, DG_REJECT_DECODE);
        assert_string_equal(err.field, "");
        /* Nothing at all: every field at its default, so no schema version. */
        assert_int_equal(decoders[d](buf, 0, base_ids[d], &err), -DG_EINVAL);
        assert_int_equal(err.reason, DG_REJECT_SCHEMA_VERSION);
        assert_int_equal(decoders[d](NULL, 0, base_ids[d], &err), -DG_EINVAL);
        assert_int_equal(err.reason, DG_REJECT_SCHEMA_VERSION);
        assert_int_equal(decoders[d](NULL, 5, base_ids[d], &err), -DG_EINVAL);
        assert_int_equal(err.reason, DG_REJECT_DECODE);
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static void test_garbage(void **state)
{
    (void)state;
    static const uint8_t ff[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    /* Wire type mismatch: field 2 (a string) sent as a varint. */
    static const uint8_t wrong_type[] = {0x08, 0x01, 0x10, 0x05};
    /* A length prefix far beyond the buffer. */
    static const uint8_t long_len[] = {0x08, 0x01, 0x12, 0xff, 0xff, 0x03, 'p'};
    /* Field number 0 is invalid. */
    static const uint8_t field0[] = {0x00, 0x01};
    for (size_t d = 0; d < 3; d++) {
        struct dg_decode_error err;
        assert_int_equal(decoders[d](ff, sizeof ff, NULL, &err), -DG_EINVAL);
        assert_int_equal(err.reason, DG_REJECT_DECODE);
        assert_int_equal(decoders[d](wrong_type, sizeof wrong_type, NULL, &err), -DG_EINVAL);
        assert_int_equal(err.reason, DG_REJECT_DECODE);
        assert_int_equal(decoders[d](long_len, sizeof long_len, NULL, &err), -DG_EINVAL);
        assert_int_equal(err.reason, DG_REJECT_DECODE);
        assert_int_equal(decoders[d](field0, sizeof field0, NULL, &err), -DG_EINVAL);
        assert_int_equal(err.reason, DG_REJECT_DECODE);
    }
    /* Random bytes and randomly corrupted valid messages: never a crash or a leak. */
    for (int it = 0; it < 3000; it++) {
        size_t d = (size_t)(rng() % 3);
        uint8_t buf[512];
        size_t n;
        if (it % 2) {
            n = (size_t)(rng() % 96);
            for (size_t i = 0; i < n; i++)
                buf[i] = (uint8_t)rng();
        } else {
            n = pack_base(d, buf, sizeof buf);
            for (int k = 0; k < 3; k++)
                buf[rng() % n] = (uint8_t)rng();
        }
        uint8_t *copy = malloc(n ? n : 1);
        assert_non_null(copy);
        memcpy(copy, buf, n);
        struct dg_decode_error err;
        int rc = decoders[d](copy, n, base_ids[d], &err);
        free(copy);
        assert_true(rc == 0 || (rc == -DG_EINVAL && err.reason != DG_REJECT_NONE));
        assert_int_equal(dg_alloc_live(), live_at_start);
    }
}

/* A message padded with an unknown field to exactly `total` bytes. */
static size_t padded(uint8_t *buf, size_t cap, size_t d, size_t total)
{
    size_t n = pack_base(d, buf, cap);
    /* field 100, wire type 2: tag varint 0xa2 0x06, then a 2-byte length. */
    size_t body = total - n - 4;
    assert_true(total <= cap && body >= 128 && body < 16384);
    buf[n] = 0xa2;
    buf[n + 1] = 0x06;
    buf[n + 2] = (uint8_t)(0x80 | (body & 0x7f));
    buf[n + 3] = (uint8_t)(body >> 7);
    memset(buf + n + 4, 'x', body);
    return total;
}

static void test_oversize(void **state)
{
    (void)state;
    static uint8_t buf[DG_MAX_PAYLOAD + 8];
    for (size_t d = 0; d < 3; d++) {
        struct dg_decode_error err;
        size_t n = padded(buf, sizeof buf, d, DG_MAX_PAYLOAD);
        int rc = decoders[d](buf, n, base_ids[d], &err);
        if (rc)
            fail_msg("decoder %zu at the limit: %s %s", d, dg_reject_name(err.reason), err.detail);
        n = padded(buf, sizeof buf, d, DG_MAX_PAYLOAD + 1);
        assert_int_equal(decoders[d](buf, n, base_ids[d], &err), -DG_EINVAL);
        assert_int_equal(err.reason, DG_REJECT_OVERSIZE);
        assert_string_equal(err.field, "");
        assert_non_null(strstr(err.detail, "4097"));
        /* Rejected unread: even a NULL buffer with a huge length. */
        assert_int_equal(decoders[d](NULL, SIZE_MAX, base_ids[d], &err), -DG_EINVAL);
        assert_int_equal(err.reason, DG_REJECT_OVERSIZE);
    }
}

static void test_null_out(void **state)
{
    (void)state;
    uint8_t buf[512];
    size_t n = pack_base(0, buf, sizeof buf);
    struct dg_decode_error err;
    assert_int_equal(dg_codec_decode_telemetry(buf, n, NULL, NULL, &err), -DG_EINVAL);
    assert_int_equal(dg_codec_decode_vitals(buf, n, NULL, NULL, &err), -DG_EINVAL);
    assert_int_equal(dg_codec_decode_ack(buf, n, NULL, &err), -DG_EINVAL);
}

/* ---------------------------------------------------------------- vitals */

static void test_vitals_roundtrip(void **state)
{
    (void)state;
    Dosegate__V1__VitalsSample m;
    Dosegate__V1__Measurement ms[7];
    vitals_init(&m, ms);
    uint8_t buf[512];
    size_t n = pack_msg(&m.base, buf, sizeof buf);
    struct dg_vitals v;
    struct dg_decode_error err;
    assert_int_equal(dg_codec_decode_vitals(buf, n, "mon-1", &v, &err), 0);
    assert_string_equal(v.monitor_id, "mon-1");
    assert_int_equal(v.seq, 9001);
    assert_int_equal(v.device_time_ms, T_2026 + 7);
    assert_string_equal(v.bed_id, "bed-3");
    const struct dg_measurement *got[7] = {&v.heart_rate_bpm, &v.spo2_pct,  &v.systolic_mmhg,
                                           &v.diastolic_mmhg, &v.mean_mmhg, &v.resp_rate_bpm,
                                           &v.etco2_mmhg};
    for (int i = 0; i < 7; i++) {
        assert_true(got[i]->present);
        assert_true(got[i]->valid);
        assert_double_eq(got[i]->value, ms[i].value);
    }
}

/* Absent stays absent; a value the monitor marked invalid stays present && !valid. */
static void test_vitals_absent_vs_invalid(void **state)
{
    (void)state;
    Dosegate__V1__VitalsSample m;
    Dosegate__V1__Measurement ms[7];
    vitals_init(&m, ms);
    m.heart_rate_bpm = NULL;          /* absent */
    measurement_init(&ms[1], 97, 0);  /* spo2: marked invalid by the monitor */
    measurement_init(&ms[5], 151, 1); /* rr: above 150, flagged invalid by us */
    measurement_init(&ms[2], 350, 1); /* systolic: at the ceiling, valid */
    measurement_init(&ms[6], 0, 1);   /* etco2 0: apnoea is a real reading */
    m.mean_mmhg = NULL;
    uint8_t buf[512];
    size_t n = pack_msg(&m.base, buf, sizeof buf);
    struct dg_vitals v;
    assert_int_equal(dg_codec_decode_vitals(buf, n, "mon-1", &v, NULL), 0);
    assert_false(v.heart_rate_bpm.present);
    assert_false(v.heart_rate_bpm.valid);
    assert_double_eq(v.heart_rate_bpm.value, 0);
    assert_true(v.spo2_pct.present);
    assert_false(v.spo2_pct.valid);
    assert_double_eq(v.spo2_pct.value, 97);
    assert_true(v.resp_rate_bpm.present);
    assert_false(v.resp_rate_bpm.valid);
    assert_double_eq(v.resp_rate_bpm.value, 151);
    assert_true(v.systolic_mmhg.present);
    assert_true(v.systolic_mmhg.valid);
    assert_true(v.etco2_mmhg.present);
    assert_true(v.etco2_mmhg.valid);
    assert_double_eq(v.etco2_mmhg.value, 0);
    assert_false(v.mean_mmhg.present);
    assert_true(v.diastolic_mmhg.present && v.diastolic_mmhg.valid);

    /* A sample with no measurement at all is still a valid sample. */
    vitals_init(&m, ms);
    m.heart_rate_bpm = m.spo2_pct = m.systolic_mmhg = m.diastolic_mmhg = NULL;
    m.mean_mmhg = m.resp_rate_bpm = m.etco2_mmhg = NULL;
    n = pack_msg(&m.base, buf, sizeof buf);
    assert_int_equal(dg_codec_decode_vitals(buf, n, "mon-1", &v, NULL), 0);
    assert_false(v.heart_rate_bpm.present || v.spo2_pct.present || v.systolic_mmhg.present ||
                 v.diastolic_mmhg.present || v.mean_mmhg.present || v.resp_rate_bpm.present ||
                 v.etco2_mmhg.present);
}

/* Each ceiling: at it valid, just above it present but invalid. */
static void test_vitals_ceilings(void **state)
{
    (void)state;
    static const double ceiling[7] = {350, 100, 350, 350, 350, 150, 200};
    for (int i = 0; i < 7; i++) {
        for (int above = 0; above < 2; above++) {
            Dosegate__V1__VitalsSample m;
            Dosegate__V1__Measurement ms[7];
            vitals_init(&m, ms);
            ms[i].value = ceiling[i] + (above ? 0.5 : 0);
            uint8_t buf[512];
            size_t n = pack_msg(&m.base, buf, sizeof buf);
            struct dg_vitals v;
            assert_int_equal(dg_codec_decode_vitals(buf, n, "mon-1", &v, NULL), 0);
            const struct dg_measurement *got[7] = {
                &v.heart_rate_bpm, &v.spo2_pct,      &v.systolic_mmhg, &v.diastolic_mmhg,
                &v.mean_mmhg,      &v.resp_rate_bpm, &v.etco2_mmhg};
            assert_true(got[i]->present);
            if (got[i]->valid != !above)
                fail_msg("measurement %d value %g: valid %d", i, ms[i].value, got[i]->valid);
            assert_double_eq(got[i]->value, ms[i].value);
        }
    }
}

static const char *const vital_fields[7] = {"heart_rate_bpm", "spo2_pct",  "systolic_mmhg",
                                            "diastolic_mmhg", "mean_mmhg", "resp_rate_bpm",
                                            "etco2_mmhg"};

static void test_vitals_rejects(void **state)
{
    (void)state;
    static const struct reject_case fixed[] = {
        {.set = "schema_version",
         .u = 0,
         .reason = DG_REJECT_SCHEMA_VERSION,
         .field = "schema_version"},
        {.set = "schema_version",
         .u = 7,
         .reason = DG_REJECT_SCHEMA_VERSION,
         .field = "schema_version"},
        {.set = "monitor_id", .s = "", .reason = DG_REJECT_MISSING, .field = "monitor_id"},
        {.set = "monitor_id",
         .s = "mon-2",
         .reason = DG_REJECT_ID_MISMATCH,
         .field = "monitor_id",
         .detail_has = "mon-2"},
        {.set = "monitor_id", .s = A64, .reason = DG_REJECT_TOO_LONG, .field = "monitor_id"},
        {.set = "monitor_id", .s = "mon+1", .reason = DG_REJECT_BAD_VALUE, .field = "monitor_id"},
        {.set = "bed_id", .s = "", .reason = DG_REJECT_MISSING, .field = "bed_id"},
        {.set = "bed_id", .s = "bed#", .reason = DG_REJECT_BAD_VALUE, .field = "bed_id"},
        {.set = "seq", .u = 0, .reason = DG_REJECT_MISSING, .field = "seq"},
        {.set = "incarnation", .u = 0, .reason = DG_REJECT_MISSING, .field = "incarnation"},
        {.set = "device_time_ms", .u = 0, .reason = DG_REJECT_MISSING, .field = "device_time_ms"},
        {.set = "device_time_ms", .u = 1, .reason = DG_REJECT_BAD_VALUE, .field = "device_time_ms"},
    };
    size_t i = 0;
    for (; i < sizeof fixed / sizeof fixed[0]; i++) {
        Dosegate__V1__VitalsSample m;
        Dosegate__V1__Measurement ms[7];
        vitals_init(&m, ms);
        set_field(&m.base, fixed[i].set, fixed[i].s, fixed[i].d, fixed[i].u);
        uint8_t buf[512];
        size_t n = pack_msg(&m.base, buf, sizeof buf);
        struct dg_vitals v;
        struct dg_decode_error err;
        expect_reject(dg_codec_decode_vitals(buf, n, "mon-1", &v, &err), &err, &fixed[i], i);
    }
    /* NaN, infinities and negatives reject the whole sample, valid flag or not. */
    static const double bad[] = {NAN, INFINITY, -INFINITY, -1, -1e-9};
    for (int f = 0; f < 7; f++) {
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
            for (int valid = 0; valid < 2; valid++, i++) {
                char path[48], field[48];
                snprintf(path, sizeof path, "%s.value", vital_fields[f]);
                snprintf(field, sizeof field, "%s.value", vital_fields[f]);
                Dosegate__V1__VitalsSample m;
                Dosegate__V1__Measurement ms[7];
                vitals_init(&m, ms);
                ms[f].valid = valid;
                set_field(&m.base, path, NULL, bad[b], 0);
                uint8_t buf[512];
                size_t n = pack_msg(&m.base, buf, sizeof buf);
                struct dg_vitals v;
                memset(&v, 0xa5, sizeof v);
                struct dg_decode_error err;
                struct reject_case c = {.set = path, .reason = DG_REJECT_BAD_VALUE, .field = field};
                expect_reject(dg_codec_decode_vitals(buf, n, "mon-1", &v, &err), &err, &c, i);
                assert_true(all_zero(&v, sizeof v));
            }
        }
    }
}

/* ---------------------------------------------------------------- ack */

static void test_ack_roundtrip(void **state)
{
    (void)state;
    Dosegate__V1__AlertAck m;
    ack_init(&m);
    uint8_t buf[256];
    size_t n = pack_msg(&m.base, buf, sizeof buf);
    struct dg_ack k;
    struct dg_decode_error err;
    assert_int_equal(dg_codec_decode_ack(buf, n, &k, &err), 0);
    assert_string_equal(k.alert_id, "al-bed-3-rate-hard-17");
    assert_string_equal(k.user_id, "nurse.okafor@clinic");
    assert_string_equal(k.ack_id, "ack-0005");
    assert_true(k.reset);
    assert_int_equal(k.time_ms, T_2026 + 99);

    /* Optional parts absent: ack_id, time, reset, comment. */
    m.ack_id = "";
    m.time_ms = 0;
    m.reset = 0;
    m.comment = "";
    n = pack_msg(&m.base, buf, sizeof buf);
    assert_int_equal(dg_codec_decode_ack(buf, n, &k, &err), 0);
    assert_string_equal(k.ack_id, "");
    assert_int_equal(k.time_ms, 0);
    assert_false(k.reset);
}

static void test_ack_rejects(void **state)
{
    (void)state;
    static const struct reject_case cases[] = {
        {.set = "schema_version",
         .u = 0,
         .reason = DG_REJECT_SCHEMA_VERSION,
         .field = "schema_version"},
        {.set = "schema_version",
         .u = 2,
         .reason = DG_REJECT_SCHEMA_VERSION,
         .field = "schema_version"},
        {.set = "alert_id", .s = "", .reason = DG_REJECT_MISSING, .field = "alert_id"},
        {.set = "alert_id", .s = A64, .reason = DG_REJECT_TOO_LONG, .field = "alert_id"},
        {.set = "alert_id", .s = "al/1", .reason = DG_REJECT_BAD_VALUE, .field = "alert_id"},
        {.set = "user_id", .s = "", .reason = DG_REJECT_MISSING, .field = "user_id"},
        {.set = "user_id",
         .s = "nurse jones",
         .reason = DG_REJECT_BAD_VALUE,
         .field = "user_id",
         .detail_has = "nurse jones"},
        {.set = "user_id", .s = A64, .reason = DG_REJECT_TOO_LONG, .field = "user_id"},
        {.set = "ack_id", .s = "a/b", .reason = DG_REJECT_BAD_VALUE, .field = "ack_id"},
        {.set = "ack_id", .s = A64, .reason = DG_REJECT_TOO_LONG, .field = "ack_id"},
        {.set = "time_ms", .u = 5, .reason = DG_REJECT_BAD_VALUE, .field = "time_ms"},
        {.set = "time_ms", .u = T_MAX + 1, .reason = DG_REJECT_BAD_VALUE, .field = "time_ms"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Dosegate__V1__AlertAck m;
        ack_init(&m);
        set_field(&m.base, cases[i].set, cases[i].s, cases[i].d, cases[i].u);
        uint8_t buf[256];
        size_t n = pack_msg(&m.base, buf, sizeof buf);
        struct dg_ack k;
        struct dg_decode_error err;
        expect_reject(dg_codec_decode_ack(buf, n, &k, &err), &err, &cases[i], i);
    }
}

/* ---------------------------------------------------------------- encoders */

static void alert_fill(struct dg_alert *a, int variant)
{
    memset(a, 0, sizeof *a);
    snprintf(a->alert_id, sizeof a->alert_id, "al-%d", variant);
    snprintf(a->condition, sizeof a->condition, "rate-hard");
    a->kind = DG_KIND_PHYSIOLOGICAL;
    a->priority = DG_PRIO_HIGH;
    snprintf(a->bed_id, sizeof a->bed_id, "bed-3");
    snprintf(a->pump_id, sizeof a->pump_id, "pump-%d", variant);
    snprintf(a->patient_ref, sizeof a->patient_ref, "pt-9f2c");
    snprintf(a->source_id, sizeof a->source_id, "mon-%d", variant);
    a->value = 1.6 + variant;
    a->limit = 1.5;
    snprintf(a->unit, sizeof a->unit, "mg/kg/h");
    snprintf(a->limit_source, sizeof a->limit_source, "ketamine-trd.rate.hard");
    a->action = DG_ACTION_PAUSE;
    a->latched = true;
    a->acknowledged = variant % 2;
    a->raised_time_ms = T_2026 + (uint64_t)variant;
    a->device_time_ms = T_2026 - 5 + (uint64_t)variant;
    snprintf(a->message, sizeof a->message, "rate %d above hard limit", variant);
}

static void test_encode_alert(void **state)
{
    (void)state;
    struct dg_alert a;
    alert_fill(&a, 4);
    struct dg_alert_event ev = {
        .phase = DG_PHASE_ESCALATE, .seq = 77, .gateway_time_ms = T_2026 + 1000, .alert = &a};
    uint8_t *buf = NULL;
    size_t n = 0;
    assert_int_equal(dg_codec_encode_alert(&ev, &buf, &n), 0);
    assert_non_null(buf);
    Dosegate__V1__AlertEvent *m = dosegate__v1__alert_event__unpack(NULL, n, buf);
    assert_non_null(m);
    assert_int_equal(m->schema_version, 1);
    assert_string_equal(m->alert_id, "al-4");
    assert_int_equal(m->phase, DOSEGATE__V1__ALERT_PHASE__ALERT_PHASE_ESCALATE);
    assert_string_equal(m->condition, "rate-hard");
    assert_int_equal(m->kind, DOSEGATE__V1__ALERT_KIND__ALERT_KIND_PHYSIOLOGICAL);
    assert_int_equal(m->priority, DOSEGATE__V1__ALERT_PRIORITY__ALERT_PRIORITY_HIGH);
    assert_string_equal(m->bed_id, "bed-3");
    assert_string_equal(m->pump_id, "pump-4");
    assert_string_equal(m->patient_ref, "pt-9f2c");
    assert_double_eq(m->value, 5.6);
    assert_double_eq(m->limit, 1.5);
    assert_string_equal(m->unit, "mg/kg/h");
    assert_string_equal(m->limit_source, "ketamine-trd.rate.hard");
    assert_int_equal(m->action, DOSEGATE__V1__ALERT_ACTION__ALERT_ACTION_PAUSE_REQUESTED);
    assert_int_equal(m->gateway_time_ms, T_2026 + 1000);
    assert_int_equal(m->device_time_ms, T_2026 - 1);
    assert_int_equal(m->seq, 77);
    assert_string_equal(m->message, "rate 4 above hard limit");
    assert_true(m->latched);
    assert_string_equal(m->source_id, "mon-4");
    dosegate__v1__alert_event__free_unpacked(m, NULL);
    dg_free(buf);
}

/* Every enum value maps 1:1 by value; values outside the core enums are refused. */
static void test_encode_alert_enums(void **state)
{
    (void)state;
    struct dg_alert a;
    alert_fill(&a, 1);
    struct dg_alert_event ev = {.phase = DG_PHASE_RAISE, .seq = 1, .alert = &a};
    for (int ph = 1; ph <= 6; ph++)
        for (int k = 1; k <= 3; k++)
            for (int pr = 0; pr <= 3; pr++)
                for (int ac = 0; ac <= 2; ac++) {
                    ev.phase = (enum dg_alert_phase)ph;
                    a.kind = (enum dg_alert_kind)k;
                    a.priority = (enum dg_priority)pr;
                    a.action = (enum dg_alert_action)ac;
                    uint8_t *buf;
                    size_t n;
                    assert_int_equal(dg_codec_encode_alert(&ev, &buf, &n), 0);
                    Dosegate__V1__AlertEvent *m = dosegate__v1__alert_event__unpack(NULL, n, buf);
                    assert_non_null(m);
                    assert_int_equal((int)m->phase, ph);
                    assert_int_equal((int)m->kind, k);
                    assert_int_equal((int)m->priority, pr);
                    assert_int_equal((int)m->action, ac);
                    dosegate__v1__alert_event__free_unpacked(m, NULL);
                    dg_free(buf);
                }
    uint8_t *buf = (uint8_t *)&a; /* must be reset to NULL on failure */
    size_t n = 99;
    ev.phase = (enum dg_alert_phase)0;
    assert_int_equal(dg_codec_encode_alert(&ev, &buf, &n), -DG_EINVAL);
    assert_null(buf);
    assert_int_equal(n, 0);
    ev.phase = DG_PHASE_RAISE;
    a.kind = (enum dg_alert_kind)4;
    assert_int_equal(dg_codec_encode_alert(&ev, &buf, &n), -DG_EINVAL);
    a.kind = DG_KIND_TECHNICAL;
    a.priority = (enum dg_priority)9;
    assert_int_equal(dg_codec_encode_alert(&ev, &buf, &n), -DG_EINVAL);
    a.priority = DG_PRIO_LOW;
    a.action = (enum dg_alert_action)3;
    assert_int_equal(dg_codec_encode_alert(&ev, &buf, &n), -DG_EINVAL);
    a.action = DG_ACTION_STOP;
    /* An unterminated fixed-size string is refused, not over-read. */
    memset(a.unit, 'u', sizeof a.unit);
    assert_int_equal(dg_codec_encode_alert(&ev, &buf, &n), -DG_EINVAL);
    a.unit[0] = '\0';
    ev.alert = NULL;
    assert_int_equal(dg_codec_encode_alert(&ev, &buf, &n), -DG_EINVAL);
    assert_int_equal(dg_codec_encode_alert(NULL, &buf, &n), -DG_EINVAL);
    ev.alert = &a;
    assert_int_equal(dg_codec_encode_alert(&ev, NULL, &n), -DG_EINVAL);
    assert_int_equal(dg_codec_encode_alert(&ev, &buf, NULL), -DG_EINVAL);
}

static void test_encode_alarms(void **state)
{
    (void)state;
    /* Empty snapshot: the bed has no active alert. */
    struct dg_alarm_snapshot snap = {.bed_id = "bed-3",
                                     .seq = 12,
                                     .gateway_time_ms = T_2026 + 5,
                                     .n_alerts = 0,
                                     .alerts = NULL,
                                     .highest = DG_PRIO_NONE};
    uint8_t *buf;
    size_t n;
    assert_int_equal(dg_codec_encode_alarms(&snap, &buf, &n), 0);
    Dosegate__V1__ActiveAlarms *m = dosegate__v1__active_alarms__unpack(NULL, n, buf);
    assert_non_null(m);
    assert_int_equal(m->schema_version, 1);
    assert_string_equal(m->bed_id, "bed-3");
    assert_int_equal(m->seq, 12);
    assert_int_equal(m->gateway_time_ms, T_2026 + 5);
    assert_int_equal(m->n_alerts, 0);
    assert_int_equal(m->highest_priority, DOSEGATE__V1__ALERT_PRIORITY__ALERT_PRIORITY_UNSPECIFIED);
    dosegate__v1__active_alarms__free_unpacked(m, NULL);
    dg_free(buf);

    struct dg_alert al[3];
    const struct dg_alert *list[3];
    for (int i = 0; i < 3; i++) {
        alert_fill(&al[i], i);
        list[i] = &al[i];
    }
    al[1].kind = DG_KIND_TECHNICAL;
    al[1].priority = DG_PRIO_MEDIUM;
    al[1].action = DG_ACTION_NONE;
    al[1].latched = false;
    al[2].kind = DG_KIND_ADVISORY;
    al[2].priority = DG_PRIO_LOW;
    al[2].action = DG_ACTION_STOP;
    snap.n_alerts = 3;
    snap.alerts = list;
    snap.highest = DG_PRIO_HIGH;
    assert_int_equal(dg_codec_encode_alarms(&snap, &buf, &n), 0);
    m = dosegate__v1__active_alarms__unpack(NULL, n, buf);
    assert_non_null(m);
    assert_int_equal(m->n_alerts, 3);
    assert_int_equal(m->highest_priority, DOSEGATE__V1__ALERT_PRIORITY__ALERT_PRIORITY_HIGH);
    for (size_t i = 0; i < 3; i++) {
        const Dosegate__V1__ActiveAlert *it = m->alerts[i];
        const struct dg_alert *a = &al[i];
        assert_string_equal(it->alert_id, a->alert_id);
        assert_string_equal(it->condition, a->condition);
        assert_int_equal((int)it->kind, (int)a->kind);
        assert_int_equal((int)it->priority, (int)a->priority);
        assert_string_equal(it->pump_id, a->pump_id);
        assert_double_eq(it->value, a->value);
        assert_double_eq(it->limit, a->limit);
        assert_string_equal(it->unit, a->unit);
        assert_int_equal((int)it->action, (int)a->action);
        assert_int_equal(!!it->latched, a->latched);
        assert_int_equal(!!it->acknowledged, a->acknowledged);
        assert_int_equal(it->raised_time_ms, a->raised_time_ms);
        assert_string_equal(it->message, a->message);
        assert_string_equal(it->source_id, a->source_id);
    }
    dosegate__v1__active_alarms__free_unpacked(m, NULL);
    dg_free(buf);

    /* Bad input frees what it built. */
    list[1] = NULL;
    assert_int_equal(dg_codec_encode_alarms(&snap, &buf, &n), -DG_EINVAL);
    list[1] = &al[1];
    al[2].kind = (enum dg_alert_kind)0;
    assert_int_equal(dg_codec_encode_alarms(&snap, &buf, &n), -DG_EINVAL);
    al[2].kind = DG_KIND_ADVISORY;
    memset(al[2].message, 'm', sizeof al[2].message);
    assert_int_equal(dg_codec_encode_alarms(&snap, &buf, &n), -DG_EINVAL);
    al[2].message[0] = '\0';
    snap.alerts = NULL;
    assert_int_equal(dg_codec_encode_alarms(&snap, &buf, &n), -DG_EINVAL);
    snap.alerts = list;
    snap.highest = (enum dg_priority)5;
    assert_int_equal(dg_codec_encode_alarms(&snap, &buf, &n), -DG_EINVAL);
    snap.highest = DG_PRIO_HIGH;
    snap.bed_id = NULL; /* NULL string -> "" */
    assert_int_equal(dg_codec_encode_alarms(&snap, &buf, &n), 0);
    m = dosegate__v1__active_alarms__unpack(NULL, n, buf);
    assert_non_null(m);
    assert_string_equal(m->bed_id, "");
    dosegate__v1__active_alarms__free_unpacked(m, NULL);
    dg_free(buf);
}

static void test_encode_command(void **state)
{
    (void)state;
    static const struct {
        enum dg_command_action a;
        int want;
    } acts[] = {{DG_CMD_PAUSE, DOSEGATE__V1__COMMAND_ACTION__COMMAND_ACTION_PAUSE},
                {DG_CMD_STOP, DOSEGATE__V1__COMMAND_ACTION__COMMAND_ACTION_STOP},
                {DG_CMD_PERMIT, DOSEGATE__V1__COMMAND_ACTION__COMMAND_ACTION_PERMIT}};
    for (size_t i = 0; i < 3; i++) {
        struct dg_command c;
        memset(&c, 0, sizeof c);
        snprintf(c.command_id, sizeof c.command_id, "cmd-%zu", i);
        snprintf(c.pump_id, sizeof c.pump_id, "pump-07");
        c.action = acts[i].a;
        snprintf(c.reason_alert_id, sizeof c.reason_alert_id, "al-%zu", i);
        c.issue_time_ms = T_2026 + i;
        c.permit_valid_for_ms = (uint32_t)(3000 + i);
        snprintf(c.reason, sizeof c.reason, "rate above hard limit (%zu)", i);
        uint8_t *buf;
        size_t n;
        assert_int_equal(dg_codec_encode_command(&c, &buf, &n), 0);
        Dosegate__V1__PumpCommand *m = dosegate__v1__pump_command__unpack(NULL, n, buf);
        assert_non_null(m);
        assert_int_equal(m->schema_version, 1);
        assert_string_equal(m->command_id, c.command_id);
        assert_string_equal(m->pump_id, "pump-07");
        assert_int_equal((int)m->action, acts[i].want);
        assert_string_equal(m->reason_alert_id, c.reason_alert_id);
        assert_int_equal(m->issue_time_ms, c.issue_time_ms);
        assert_int_equal(m->permit_valid_for_ms, c.permit_valid_for_ms);
        assert_string_equal(m->reason, c.reason);
        dosegate__v1__pump_command__free_unpacked(m, NULL);
        dg_free(buf);
    }
    struct dg_command c;
    memset(&c, 0, sizeof c);
    uint8_t *buf;
    size_t n;
    c.action = (enum dg_command_action)0; /* the gateway has no "start" */
    assert_int_equal(dg_codec_encode_command(&c, &buf, &n), -DG_EINVAL);
    c.action = (enum dg_command_action)4;
    assert_int_equal(dg_codec_encode_command(&c, &buf, &n), -DG_EINVAL);
    c.action = DG_CMD_STOP;
    memset(c.pump_id, 'p', sizeof c.pump_id);
    assert_int_equal(dg_codec_encode_command(&c, &buf, &n), -DG_EINVAL);
}

static void test_encode_status(void **state)
{
    (void)state;
    struct dg_status st = {.online = 1,
                           .gateway_id = "gw-1",
                           .software_version = "0.1.0",
                           .config_sha256 = "ab12",
                           .drug_library_id = "clinic-lib",
                           .drug_library_version = "2026.01",
                           .drug_library_sha256 = "cd34",
                           .start_time_ms = T_2026,
                           .status_time_ms = T_2026 + 30000,
                           .pumps_known = 12,
                           .beds_known = 6,
                           .messages_accepted = 123456789,
                           .messages_rejected = 17,
                           .active_alerts = 3};
    uint8_t *buf;
    size_t n;
    assert_int_equal(dg_codec_encode_status(&st, &buf, &n), 0);
    Dosegate__V1__GatewayStatus *m = dosegate__v1__gateway_status__unpack(NULL, n, buf);
    assert_non_null(m);
    assert_int_equal(m->schema_version, 1);
    assert_true(m->online);
    assert_string_equal(m->gateway_id, "gw-1");
    assert_string_equal(m->software_version, "0.1.0");
    assert_string_equal(m->config_sha256, "ab12");
    assert_string_equal(m->drug_library_id, "clinic-lib");
    assert_string_equal(m->drug_library_version, "2026.01");
    assert_string_equal(m->drug_library_sha256, "cd34");
    assert_int_equal(m->start_time_ms, T_2026);
    assert_int_equal(m->status_time_ms, T_2026 + 30000);
    assert_int_equal(m->pumps_known, 12);
    assert_int_equal(m->beds_known, 6);
    assert_int_equal(m->messages_accepted, 123456789);
    assert_int_equal(m->messages_rejected, 17);
    assert_int_equal(m->active_alerts, 3);
    dosegate__v1__gateway_status__free_unpacked(m, NULL);
    dg_free(buf);

    /* The MQTT Will: offline, and NULL strings become "". */
    struct dg_status will = {.online = 0, .gateway_id = "gw-1"};
    assert_int_equal(dg_codec_encode_status(&will, &buf, &n), 0);
    m = dosegate__v1__gateway_status__unpack(NULL, n, buf);
    assert_non_null(m);
    assert_int_equal(m->schema_version, 1);
    assert_false(m->online);
    assert_string_equal(m->gateway_id, "gw-1");
    assert_string_equal(m->software_version, "");
    assert_string_equal(m->drug_library_sha256, "");
    dosegate__v1__gateway_status__free_unpacked(m, NULL);
    dg_free(buf);
    assert_int_equal(dg_codec_encode_status(NULL, &buf, &n), -DG_EINVAL);
}

static void audit_fill(struct dg_audit_record *rec, struct dg_audit_event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->event_type = "command.pause";
    ev->action = "E";
    ev->outcome = DG_OUTCOME_SERIOUS;
    ev->participant_kind = DG_PART_DEVICE;
    ev->participant_id = "pump-07";
    ev->object_type = "pump";
    ev->object_id = "pump-07";
    ev->detail = "rate 1.6 mg/kg/h > hard 1.5";
    memset(rec, 0, sizeof *rec);
    rec->seq = 1001;
    rec->time_ms = T_2026 + 42;
    rec->gateway_id = "gw-1";
    rec->ev = ev;
    for (int i = 0; i < 32; i++) {
        rec->prev_hash[i] = (uint8_t)i;
        rec->this_hash[i] = (uint8_t)(0xa0 + i);
    }
}

static void test_encode_audit(void **state)
{
    (void)state;
    struct dg_audit_record rec;
    struct dg_audit_event ev;
    audit_fill(&rec, &ev);
    uint8_t *h0, *h1;
    size_t n0, n1;
    assert_int_equal(dg_codec_encode_audit(&rec, 0, &h0, &n0), 0);
    assert_int_equal(dg_codec_encode_audit(&rec, 1, &h1, &n1), 0);
    for (int with = 0; with < 2; with++) {
        Dosegate__V1__AuditRecord *m =
            dosegate__v1__audit_record__unpack(NULL, with ? n1 : n0, with ? h1 : h0);
        assert_non_null(m);
        assert_int_equal(m->schema_version, 1);
        assert_int_equal(m->seq, 1001);
        assert_int_equal(m->time_ms, T_2026 + 42);
        assert_string_equal(m->gateway_id, "gw-1");
        assert_string_equal(m->event_type, "command.pause");
        assert_string_equal(m->action, "E");
        assert_int_equal(m->outcome, DOSEGATE__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_SERIOUS_FAILURE);
        assert_int_equal(m->participant_kind,
                         DOSEGATE__V1__PARTICIPANT_KIND__PARTICIPANT_KIND_DEVICE);
        assert_string_equal(m->participant_id, "pump-07");
        assert_string_equal(m->object_type, "pump");
        assert_string_equal(m->object_id, "pump-07");
        assert_string_equal(m->detail, "rate 1.6 mg/kg/h > hard 1.5");
        assert_int_equal(m->prev_hash.len, 32);
        assert_memory_equal(m->prev_hash.data, rec.prev_hash, 32);
        if (with) {
            assert_int_equal(m->this_hash.len, 32);
            assert_memory_equal(m->this_hash.data, rec.this_hash, 32);
        } else {
            assert_int_equal(m->this_hash.len, 0);
        }
        assert_int_equal(m->signature.len, 0);
        dosegate__v1__audit_record__free_unpacked(m, NULL);
    }
    /* The hashed bytes are the full record minus this_hash (field 14, 0x72 0x20). */
    assert_int_equal(n1, n0 + 34);
    assert_memory_equal(h1, h0, n0);
    assert_int_equal(h1[n0], 0x72);
    assert_int_equal(h1[n0 + 1], 0x20);
    assert_memory_equal(h1 + n0 + 2, rec.this_hash, 32);
    /* Deterministic: the same record gives the same bytes (the hash depends on it). */
    uint8_t *again;
    size_t na;
    assert_int_equal(dg_codec_encode_audit(&rec, 0, &again, &na), 0);
    assert_int_equal(na, n0);
    assert_memory_equal(again, h0, n0);
    dg_free(again);
    dg_free(h0);
    dg_free(h1);

    /* A checkpoint carries its signature. */
    static const uint8_t sig[64] = {1, 2, 3, [63] = 0x7f};
    rec.signature = sig;
    rec.signature_len = sizeof sig;
    ev.outcome = DG_OUTCOME_SUCCESS;
    ev.participant_kind = DG_PART_GATEWAY;
    assert_int_equal(dg_codec_encode_audit(&rec, 1, &h1, &n1), 0);
    Dosegate__V1__AuditRecord *m = dosegate__v1__audit_record__unpack(NULL, n1, h1);
    assert_non_null(m);
    assert_int_equal(m->signature.len, 64);
    assert_memory_equal(m->signature.data, sig, 64);
    assert_int_equal(m->outcome, DOSEGATE__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_SUCCESS);
    assert_int_equal(m->participant_kind, DOSEGATE__V1__PARTICIPANT_KIND__PARTICIPANT_KIND_GATEWAY);
    dosegate__v1__audit_record__free_unpacked(m, NULL);
    dg_free(h1);

    /* Every outcome and participant maps by value. */
    static const int outcomes[] = {0, 4, 8, 12};
    for (int o = 0; o < 4; o++)
        for (int p = 1; p <= 3; p++) {
            ev.outcome = (enum dg_audit_outcome)outcomes[o];
            ev.participant_kind = (enum dg_participant)p;
            assert_int_equal(dg_codec_encode_audit(&rec, 0, &h0, &n0), 0);
            m = dosegate__v1__audit_record__unpack(NULL, n0, h0);
            assert_non_null(m);
            assert_int_equal((int)m->outcome, outcomes[o]);
            assert_int_equal((int)m->participant_kind, p);
            dosegate__v1__audit_record__free_unpacked(m, NULL);
            dg_free(h0);
        }

    /* Refused: unknown outcome (never recorded as success), unknown participant, no event. */
    ev.outcome = (enum dg_audit_outcome)3;
    assert_int_equal(dg_codec_encode_audit(&rec, 0, &h0, &n0), -DG_EINVAL);
    assert_null(h0);
    ev.outcome = DG_OUTCOME_MAJOR;
    ev.participant_kind = (enum dg_participant)0;
    assert_int_equal(dg_codec_encode_audit(&rec, 0, &h0, &n0), -DG_EINVAL);
    ev.participant_kind = DG_PART_USER;
    rec.signature = NULL; /* length without bytes */
    assert_int_equal(dg_codec_encode_audit(&rec, 0, &h0, &n0), -DG_EINVAL);
    rec.signature_len = 0;
    rec.ev = NULL;
    assert_int_equal(dg_codec_encode_audit(&rec, 0, &h0, &n0), -DG_EINVAL);
    /* NULL event strings become "". */
    rec.ev = &ev;
    ev.detail = NULL;
    ev.object_id = NULL;
    rec.gateway_id = NULL;
    assert_int_equal(dg_codec_encode_audit(&rec, 0, &h0, &n0), 0);
    m = dosegate__v1__audit_record__unpack(NULL, n0, h0);
    assert_non_null(m);
    assert_string_equal(m->detail, "");
    assert_string_equal(m->object_id, "");
    assert_string_equal(m->gateway_id, "");
    dosegate__v1__audit_record__free_unpacked(m, NULL);
    dg_free(h0);
}

/* ---------------------------------------------------------------- allocation failure */

/* Fail the 1st, 2nd, ... allocation of op until it succeeds; never a leak. */
static void fail_each_alloc(const char *what, int (*op)(void))
{
    int64_t base = dg_alloc_live();
    int failures = 0;
    for (uint64_t k = 1; k < 500; k++) {
        dg_alloc_fail_after(k);
        int rc = op();
        dg_alloc_fail_after(0);
        if (dg_alloc_live() != base)
            fail_msg("%s: failing allocation %llu leaked %lld", what, (unsigned long long)k,
                     (long long)(dg_alloc_live() - base));
        if (rc == 0) {
            if (failures == 0) fail_msg("%s: no allocation to fail", what);
            return;
        }
        if (rc != -DG_ENOMEM)
            fail_msg("%s: failing allocation %llu gave %d, want -DG_ENOMEM", what,
                     (unsigned long long)k, rc);
        failures++;
    }
    fail_msg("%s: never succeeded", what);
}

static int op_decode_telemetry(void)
{
    uint8_t buf[512];
    size_t n = pack_base(0, buf, sizeof buf);
    struct dg_telemetry t;
    struct dg_decode_error err;
    int rc = dg_codec_decode_telemetry(buf, n, "pump-07", &t, &err);
    if (rc == -DG_ENOMEM) {
        assert_int_equal(err.reason, DG_REJECT_NONE); /* not counted as a reject */
        assert_non_null(strstr(err.detail, "out of memory"));
    }
    return rc;
}

static int op_decode_vitals(void)
{
    uint8_t buf[512];
    size_t n = pack_base(1, buf, sizeof buf);
    struct dg_vitals v;
    struct dg_decode_error err;
    int rc = dg_codec_decode_vitals(buf, n, "mon-1", &v, &err);
    if (rc == -DG_ENOMEM) assert_int_equal(err.reason, DG_REJECT_NONE);
    return rc;
}

static int op_decode_ack(void)
{
    uint8_t buf[512];
    size_t n = pack_base(2, buf, sizeof buf);
    struct dg_ack k;
    struct dg_decode_error err;
    int rc = dg_codec_decode_ack(buf, n, &k, &err);
    if (rc == -DG_ENOMEM) assert_int_equal(err.reason, DG_REJECT_NONE);
    return rc;
}

/* A valid message carrying unknown fields (kept by protobuf-c: more allocations). */
static int op_decode_padded(void)
{
    static uint8_t buf[DG_MAX_PAYLOAD];
    size_t n = padded(buf, sizeof buf, 0, 1000);
    struct dg_telemetry t;
    return dg_codec_decode_telemetry(buf, n, "pump-07", &t, NULL);
}

static int op_encode_alert(void)
{
    struct dg_alert a;
    alert_fill(&a, 1);
    struct dg_alert_event ev = {.phase = DG_PHASE_RAISE, .seq = 1, .alert = &a};
    uint8_t *buf;
    size_t n;
    int rc = dg_codec_encode_alert(&ev, &buf, &n);
    if (rc == 0)
        dg_free(buf);
    else
        assert_null(buf);
    return rc;
}

static int op_encode_alarms(void)
{
    struct dg_alert al[3];
    const struct dg_alert *list[3];
    for (int i = 0; i < 3; i++) {
        alert_fill(&al[i], i);
        list[i] = &al[i];
    }
    struct dg_alarm_snapshot snap = {
        .bed_id = "bed-3", .seq = 1, .n_alerts = 3, .alerts = list, .highest = DG_PRIO_HIGH};
    uint8_t *buf;
    size_t n;
    int rc = dg_codec_encode_alarms(&snap, &buf, &n);
    if (rc == 0)
        dg_free(buf);
    else
        assert_null(buf);
    return rc;
}

static int op_encode_command(void)
{
    struct dg_command c;
    memset(&c, 0, sizeof c);
    snprintf(c.pump_id, sizeof c.pump_id, "pump-07");
    c.action = DG_CMD_PERMIT;
    uint8_t *buf;
    size_t n;
    int rc = dg_codec_encode_command(&c, &buf, &n);
    if (rc == 0) dg_free(buf);
    return rc;
}

static int op_encode_status(void)
{
    struct dg_status st = {.online = 1, .gateway_id = "gw-1"};
    uint8_t *buf;
    size_t n;
    int rc = dg_codec_encode_status(&st, &buf, &n);
    if (rc == 0) dg_free(buf);
    return rc;
}

static int op_encode_audit(void)
{
    struct dg_audit_record rec;
    struct dg_audit_event ev;
    audit_fill(&rec, &ev);
    uint8_t *buf;
    size_t n;
    int rc = dg_codec_encode_audit(&rec, 1, &buf, &n);
    if (rc == 0) dg_free(buf);
    return rc;
}

static void test_alloc_failure(void **state)
{
    (void)state;
    fail_each_alloc("decode_telemetry", op_decode_telemetry);
    fail_each_alloc("decode_vitals", op_decode_vitals);
    fail_each_alloc("decode_ack", op_decode_ack);
    fail_each_alloc("decode_padded", op_decode_padded);
    fail_each_alloc("encode_alert", op_encode_alert);
    fail_each_alloc("encode_alarms", op_encode_alarms);
    fail_each_alloc("encode_command", op_encode_command);
    fail_each_alloc("encode_status", op_encode_status);
    fail_each_alloc("encode_audit", op_encode_audit);
}

/* ---------------------------------------------------------------- topics */

#define ROOT "dosegate/v1/site1"

static void test_topic_parse(void **state)
{
    (void)state;
    static const struct {
        const char *root, *topic;
        enum dg_topic_kind kind;
        const char *id;
    } cases[] = {
        {ROOT, ROOT "/pump/p1/telemetry", DG_TOPIC_TELEMETRY, "p1"},
        {ROOT, ROOT "/pump/p1/command", DG_TOPIC_COMMAND, "p1"},
        {ROOT, ROOT "/monitor/mon-1/vitals", DG_TOPIC_VITALS, "mon-1"},
        {ROOT, ROOT "/alert/bed-3", DG_TOPIC_ALERT, "bed-3"},
        {ROOT, ROOT "/alarms/bed-3", DG_TOPIC_ALARMS, "bed-3"},
        {ROOT, ROOT "/ack/dashboard-1", DG_TOPIC_ACK, "dashboard-1"},
        {ROOT, ROOT "/audit", DG_TOPIC_AUDIT, ""},
        {ROOT, ROOT "/gateway/gw-1/status", DG_TOPIC_STATUS, "gw-1"},
        {ROOT "/", ROOT "/pump/p1/telemetry", DG_TOPIC_TELEMETRY, "p1"},
        {"r", "r/pump/" A63 "/telemetry", DG_TOPIC_TELEMETRY, A63},
        {"r", "r/pump/telemetry/telemetry", DG_TOPIC_TELEMETRY, "telemetry"},
        {"r", "r/pump/" A64 "/telemetry", DG_TOPIC_UNKNOWN, ""},
        {ROOT, "dosegate/v1/site2/ack/dashboard-1", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "x/ack", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT, DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/", DG_TOPIC_UNKNOWN, ""},
        {ROOT, "", DG_TOPIC_UNKNOWN, ""},
        {ROOT, "/" ROOT "/ack", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "//ack", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/pump//telemetry", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/pump/p1/telemetry/", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/pump/p1/telemetry/x", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/pump/p1", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/pump/p1/vitals", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/monitor/m1/telemetry", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/pump/a/b/telemetry", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/pump/+/telemetry", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/pump/#", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/pump/p+1/telemetry", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/pump/p 1/telemetry", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/pump/p\x7f/telemetry", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/pump/p\xc3\xa9/telemetry", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/alert/", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/alert/b/c", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/alarms", DG_TOPIC_UNKNOWN, ""},
        /* The bare ack topic is no longer in the tree: every ack names its
           dashboard, exactly one level. */
        {ROOT, ROOT "/ack", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/ack/", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/ack/a/b", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/ack/dashboard-1/", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/ack/+", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/ack/#", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/ack/d 1", DG_TOPIC_UNKNOWN, ""},
        {"r", "r/ack/" A64, DG_TOPIC_UNKNOWN, ""},
        {"r", "r/ack/" A63, DG_TOPIC_ACK, A63},
        {ROOT, ROOT "/acks", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/audit/", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/gateway/gw-1/status/x", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/gateway/gw-1", DG_TOPIC_UNKNOWN, ""},
        {ROOT, ROOT "/PUMP/p1/telemetry", DG_TOPIC_UNKNOWN, ""},
        {"", "/ack", DG_TOPIC_UNKNOWN, ""},
        {"/", "/ack", DG_TOPIC_UNKNOWN, ""},
        {"a/+", "a/+/ack", DG_TOPIC_UNKNOWN, ""},
        {"a/#", "a/#/ack", DG_TOPIC_UNKNOWN, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char id[DG_ID_MAX];
        memset(id, 'z', sizeof id);
        enum dg_topic_kind k = dg_topic_parse(cases[i].root, cases[i].topic, id, sizeof id);
        if (k != cases[i].kind || strcmp(id, cases[i].id) != 0)
            fail_msg("case %zu (%s): kind %d id \"%s\"; want %d \"%s\"", i, cases[i].topic, k, id,
                     cases[i].kind, cases[i].id);
    }
    char id[8];
    assert_int_equal(dg_topic_parse(ROOT, ROOT "/pump/p123456/telemetry", id, sizeof id),
                     DG_TOPIC_TELEMETRY);
    assert_string_equal(id, "p123456");
    assert_int_equal(dg_topic_parse(ROOT, ROOT "/pump/p1234567/telemetry", id, sizeof id),
                     DG_TOPIC_UNKNOWN);
    assert_string_equal(id, "");
    assert_int_equal(dg_topic_parse(NULL, ROOT "/ack/d1", id, sizeof id), DG_TOPIC_UNKNOWN);
    assert_int_equal(dg_topic_parse(ROOT, NULL, id, sizeof id), DG_TOPIC_UNKNOWN);
    assert_int_equal(dg_topic_parse(ROOT, ROOT "/ack/d1", NULL, 0), DG_TOPIC_UNKNOWN);
    assert_int_equal(dg_topic_parse(ROOT, ROOT "/ack/d1", id, 0), DG_TOPIC_UNKNOWN);
}

static void test_topic_format(void **state)
{
    (void)state;
    static const struct {
        enum dg_topic_kind kind;
        const char *id, *want;
    } cases[] = {
        {DG_TOPIC_TELEMETRY, "p1", ROOT "/pump/p1/telemetry"},
        {DG_TOPIC_VITALS, "mon-1", ROOT "/monitor/mon-1/vitals"},
        {DG_TOPIC_COMMAND, "p1", ROOT "/pump/p1/command"},
        {DG_TOPIC_ALERT, "bed-3", ROOT "/alert/bed-3"},
        {DG_TOPIC_ALARMS, "bed-3", ROOT "/alarms/bed-3"},
        {DG_TOPIC_ACK, "dashboard-1", ROOT "/ack/dashboard-1"},
        {DG_TOPIC_AUDIT, NULL, ROOT "/audit"},
        {DG_TOPIC_STATUS, "gw-1", ROOT "/gateway/gw-1/status"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[256], id[DG_ID_MAX];
        assert_int_equal(dg_topic_format(buf, sizeof buf, ROOT, cases[i].kind, cases[i].id), 0);
        assert_string_equal(buf, cases[i].want);
        /* and back */
        assert_int_equal(dg_topic_parse(ROOT, buf, id, sizeof id), cases[i].kind);
        if (cases[i].kind != DG_TOPIC_AUDIT) assert_string_equal(id, cases[i].id);
        /* A trailing '/' on the root changes nothing. */
        assert_int_equal(dg_topic_format(buf, sizeof buf, ROOT "/", cases[i].kind, cases[i].id), 0);
        assert_string_equal(buf, cases[i].want);
    }
    char buf[64];
    static const char *const bad_ids[] = {NULL, "", "a/b", "a+b", "a#", "a b", "\x01", A64};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        if (dg_topic_format(buf, sizeof buf, "r", DG_TOPIC_TELEMETRY, bad_ids[i]) != -DG_EINVAL)
            fail_msg("bad id %zu accepted: \"%s\"", i, buf);
        assert_string_equal(buf, "");
    }
    /* An ack topic names its dashboard: no id, no topic. */
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        if (dg_topic_format(buf, sizeof buf, "r", DG_TOPIC_ACK, bad_ids[i]) != -DG_EINVAL)
            fail_msg("bad ack id %zu accepted: \"%s\"", i, buf);
        assert_string_equal(buf, "");
    }
    /* Exact fit: "r/ack/d1" needs 9 bytes, "r/audit" 8. */
    assert_int_equal(dg_topic_format(buf, 9, "r", DG_TOPIC_ACK, "d1"), 0);
    assert_string_equal(buf, "r/ack/d1");
    assert_int_equal(dg_topic_format(buf, 8, "r", DG_TOPIC_ACK, "d1"), -DG_EINVAL);
    assert_string_equal(buf, "");
    assert_int_equal(dg_topic_format(buf, 8, "r", DG_TOPIC_AUDIT, NULL), 0);
    assert_string_equal(buf, "r/audit");
    assert_int_equal(dg_topic_format(buf, 7, "r", DG_TOPIC_AUDIT, NULL), -DG_EINVAL);
    assert_string_equal(buf, "");
    assert_int_equal(dg_topic_format(buf, sizeof buf, "r", DG_TOPIC_UNKNOWN, "x"), -DG_EINVAL);
    assert_int_equal(dg_topic_format(buf, sizeof buf, "r", (enum dg_topic_kind)99, "x"),
                     -DG_EINVAL);
    assert_int_equal(dg_topic_format(buf, sizeof buf, "", DG_TOPIC_AUDIT, NULL), -DG_EINVAL);
    assert_int_equal(dg_topic_format(buf, sizeof buf, "//", DG_TOPIC_AUDIT, NULL), -DG_EINVAL);
    assert_int_equal(dg_topic_format(buf, sizeof buf, NULL, DG_TOPIC_AUDIT, NULL), -DG_EINVAL);
    assert_int_equal(dg_topic_format(buf, sizeof buf, "a/#", DG_TOPIC_AUDIT, NULL), -DG_EINVAL);
    assert_int_equal(dg_topic_format(buf, sizeof buf, "a/+/b", DG_TOPIC_AUDIT, NULL), -DG_EINVAL);
    assert_int_equal(dg_topic_format(NULL, 10, "r", DG_TOPIC_AUDIT, NULL), -DG_EINVAL);
    assert_int_equal(dg_topic_format(buf, 0, "r", DG_TOPIC_AUDIT, NULL), -DG_EINVAL);
}

/* ---------------------------------------------------------------- main */

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_reject_names),
        T(test_telemetry_roundtrip),
        T(test_telemetry_without_program),
        T(test_telemetry_idle_minimal),
        T(test_telemetry_states),
        T(test_telemetry_edges_accepted),
        T(test_telemetry_rejects),
        T(test_telemetry_mismatch_first),
        T(test_truncated),
        T(test_garbage),
        T(test_oversize),
        T(test_null_out),
        T(test_vitals_roundtrip),
        T(test_vitals_absent_vs_invalid),
        T(test_vitals_ceilings),
        T(test_vitals_rejects),
        T(test_ack_roundtrip),
        T(test_ack_rejects),
        T(test_encode_alert),
        T(test_encode_alert_enums),
        T(test_encode_alarms),
        T(test_encode_command),
        T(test_encode_status),
        T(test_encode_audit),
        T(test_alloc_failure),
        T(test_topic_parse),
        T(test_topic_format),
    };
    return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
