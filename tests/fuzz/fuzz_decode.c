/*
 * fuzz_decode.c — libFuzzer harness for everything the gateway reads from the
 * network before the core sees it: the telemetry, vitals and ack decoders
 * (protobuf-c unpack + validation) and the topic parser.
 *
 * Input layout: byte 0 selects, the rest is the payload (or topic string).
 *   bits 0-1  target: 0 telemetry, 1 vitals, 2 ack, 3 topic
 *   bit  2    pass the topic's device id ("pump-07" / "mon-1") as expected_id
 *   bits 3-5  if non-zero, fail the n-th allocation (dg_alloc_fail_after)
 *
 * Besides the sanitizers, the harness checks what the core relies on: an
 * accepted struct holds only terminated, well-formed ids and finite numbers
 * within the documented ceilings, a non-zero incarnation, a program
 * concentration above 0; a rejection names a reason; -DG_ENOMEM only
 * when a failure was injected; no allocation outlives the call; a parsed
 * topic formats back to the same string. A broken property aborts.
 *
 * Build: -DDG_FUZZ=ON with clang (tests/fuzz/CMakeLists.txt). Seeds:
 * tests/fuzz/corpus/decode (regenerate with the fuzz_seeds target).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/codec.h"

#define ROOT "dosegate/v1/site1"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_decode: property violated: %s\n", what);
        abort();
    }
}

static int id_ok(const char *s, size_t cap, int required)
{
    size_t n = strnlen(s, cap);
    if (n == cap || (required && n == 0)) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || c == '/' || c == '+' || c == '#') return 0;
    }
    return 1;
}

static int num_ok(double v, double max)
{
    return isfinite(v) && v >= 0 && v <= max;
}

static void check_telemetry(const struct dg_telemetry *t, const char *expected)
{
    check(id_ok(t->pump_id, DG_ID_MAX, 1), "telemetry.pump_id");
    check(!expected || strcmp(t->pump_id, expected) == 0, "telemetry.pump_id == topic id");
    check(id_ok(t->bed_id, DG_ID_MAX, 1), "telemetry.bed_id");
    int session = t->state >= DG_PUMP_PROGRAMMED && t->state <= DG_PUMP_COMPLETE;
    check(id_ok(t->session_id, DG_ID_MAX, session), "telemetry.session_id");
    check(id_ok(t->patient_ref, DG_ID_MAX, session), "telemetry.patient_ref");
    check(id_ok(t->last_command_id, DG_ID_MAX, 0), "telemetry.last_command_id");
    check(t->incarnation != 0, "telemetry.incarnation (boot id) is non-zero");
    check(t->seq >= 1, "telemetry.seq");
    check(t->device_time_ms >= 946684800000ULL && t->device_time_ms <= 7258118400000ULL,
          "telemetry.device_time_ms");
    check(t->state >= DG_PUMP_IDLE && t->state <= DG_PUMP_ALARM, "telemetry.state");
    check(num_ok(t->rate_ml_per_h, 10000) && num_ok(t->volume_infused_ml, 1e6) &&
              num_ok(t->dose_infused_mg, 1e6) && num_ok(t->bolus_dose_mg, 1e6) &&
              t->bolus_count <= 10000,
          "telemetry numbers");
    const struct dg_program *p = &t->program;
    check(id_ok(p->drug_code, DG_ID_MAX, 0) && id_ok(p->care_area, DG_ID_MAX, 0), "program ids");
    check(num_ok(p->concentration_mg_per_ml, 1000) && num_ok(p->patient_weight_kg, 500) &&
              num_ok(p->dose_mg_per_kg, 100) && num_ok(p->duration_min, 10080) &&
              num_ok(p->rate_ml_per_h, 10000),
          "program numbers");
    check(!t->has_program || p->concentration_mg_per_ml > 0,
          "an accepted program has a concentration above 0");
    check(t->recv_mono_ms == 0, "the decoder leaves the receipt time to the shell");
}

static void check_measurement(const struct dg_measurement *m, double ceiling)
{
    if (!m->present) {
        check(!m->valid && m->value == 0, "absent measurement is empty");
        return;
    }
    check(isfinite(m->value) && m->value >= 0, "present measurement finite, >= 0");
    check(!m->valid || m->value <= ceiling, "valid measurement within its ceiling");
}

static void check_vitals(const struct dg_vitals *v, const char *expected)
{
    check(id_ok(v->monitor_id, DG_ID_MAX, 1), "vitals.monitor_id");
    check(!expected || strcmp(v->monitor_id, expected) == 0, "vitals.monitor_id == topic id");
    check(id_ok(v->bed_id, DG_ID_MAX, 1), "vitals.bed_id");
    check(v->incarnation != 0, "vitals.incarnation (boot id) is non-zero");
    check(v->seq >= 1, "vitals.seq");
    check(v->recv_mono_ms == 0, "the decoder leaves the receipt time to the shell");
    check_measurement(&v->heart_rate_bpm, 350);
    check_measurement(&v->spo2_pct, 100);
    check_measurement(&v->systolic_mmhg, 350);
    check_measurement(&v->diastolic_mmhg, 350);
    check_measurement(&v->mean_mmhg, 350);
    check_measurement(&v->resp_rate_bpm, 150);
    check_measurement(&v->etco2_mmhg, 200);
}

static void check_ack(const struct dg_ack *k)
{
    check(id_ok(k->alert_id, DG_ID_MAX, 1), "ack.alert_id");
    check(id_ok(k->user_id, DG_ID_MAX, 1), "ack.user_id");
    check(id_ok(k->ack_id, DG_ID_MAX, 0), "ack.ack_id");
}

static void check_rejected(int rc, const struct dg_decode_error *err, int injected)
{
    check(strnlen(err->field, sizeof err->field) < sizeof err->field, "err.field terminated");
    check(strnlen(err->detail, sizeof err->detail) < sizeof err->detail, "err.detail terminated");
    if (rc == -DG_ENOMEM) {
        check(injected, "-DG_ENOMEM only under injected failure");
        check(err->reason == DG_REJECT_NONE, "out of memory is not a reject reason");
        return;
    }
    check(rc == -DG_EINVAL, "decoder returns 0, -DG_EINVAL or -DG_ENOMEM");
    check(err->reason > DG_REJECT_NONE && err->reason < DG_REJECT_TOPIC, "reject reason set");
    check(err->detail[0] != '\0', "reject has a detail line");
}

static void fuzz_topic(const uint8_t *data, size_t size)
{
    char topic[512];
    if (size >= sizeof topic) size = sizeof topic - 1;
    memcpy(topic, data, size);
    topic[size] = '\0';
    char id[DG_ID_MAX];
    enum dg_topic_kind k = dg_topic_parse(ROOT, topic, id, sizeof id);
    if (k == DG_TOPIC_UNKNOWN) {
        check(id[0] == '\0', "unknown topic leaves id empty");
        return;
    }
    check(id_ok(id, sizeof id, k != DG_TOPIC_AUDIT), "topic id");
    char again[sizeof topic + 64];
    check(dg_topic_format(again, sizeof again, ROOT, k, id) == 0, "parsed topic formats");
    check(strcmp(again, topic) == 0, "topic round trip");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned sel = data[0];
    data++;
    size--;
    unsigned target = sel & 3u;
    int with_id = (sel >> 2) & 1u;
    unsigned fail_n = (sel >> 3) & 7u;

    if (target == 3) {
        fuzz_topic(data, size);
        return 0;
    }

    /* An exact-size heap copy, so ASan catches any read past the payload. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);

    int64_t live = dg_alloc_live();
    struct dg_decode_error err;
    int rc;
    if (fail_n) dg_alloc_fail_after(fail_n);
    switch (target) {
    case 0: {
        struct dg_telemetry t;
        const char *expected = with_id ? "pump-07" : NULL;
        rc = dg_codec_decode_telemetry(buf, size, expected, &t, &err);
        if (rc == 0) check_telemetry(&t, expected);
        break;
    }
    case 1: {
        struct dg_vitals v;
        const char *expected = with_id ? "mon-1" : NULL;
        rc = dg_codec_decode_vitals(buf, size, expected, &v, &err);
        if (rc == 0) check_vitals(&v, expected);
        break;
    }
    default: {
        struct dg_ack k;
        rc = dg_codec_decode_ack(buf, size, &k, &err);
        if (rc == 0) check_ack(&k);
        break;
    }
    }
    dg_alloc_fail_after(0);
    if (rc == 0)
        check(err.reason == DG_REJECT_NONE, "accepted without a reason");
    else
        check_rejected(rc, &err, fail_n != 0);
    check(dg_alloc_live() == live, "no allocation outlives a decode");
    free(buf);
    return 0;
}
