/*
 * cli.c — dosegate-cli: a decoding subscriber and an acknowledgement sender,
 * for the demo, the integration tests and dashboards under development.
 *
 *   dosegate-cli watch ...   subscribe (QoS 1) and print every message,
 *                            decoded by the kind of its topic: one readable
 *                            line, or one JSON object per line (--json)
 *   dosegate-cli ack ...     publish one AlertAck and wait for its PUBACK
 *
 * Both use one dg_link (Paho MQTTAsync over mutual TLS, bridged into a libuv
 * loop), so everything here runs on the loop thread.
 *
 * Output is built in a memory stream and written with one fwrite + fflush
 * per message, so a reader (a test reading a pipe line by line) always sees
 * whole lines, at once. JSON is written by hand: strings escaped per RFC 8259
 * with invalid UTF-8 replaced by U+FFFD, non-finite numbers as null, enums as
 * lowercase names, bytes as lowercase hex, absent sub-messages as null.
 *
 * Exit codes: 0 done; 1 runtime failure (cannot open the link, never
 * connected, ack not acknowledged); 2 usage error; 3 watch --count N given
 * and fewer than N messages decoded before --timeout.
 */
#include <getopt.h>
#include <math.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "core/alloc.h"
#include "core/error.h"
#include "dosegate.pb-c.h"
#include "io/link.h"
#include "io/log.h"
#include "io/util.h"

#define MOD              "cli"
#define MAX_FILTERS      32
#define ACK_TIMEOUT_MS   10000
#define CLOSE_TIMEOUT_MS 1000
#define HEX_MAX_BYTES    4096 /* of an undecodable payload, in an error line */

enum kind {
    K_UNKNOWN = 0,
    K_TELEMETRY,
    K_VITALS,
    K_COMMAND,
    K_ALERT,
    K_ALARMS,
    K_ACK,
    K_AUDIT,
    K_STATUS,
};

/* The message each topic kind carries: the "type" of a decoded object. */
static const char *const kind_messages[] = {"unknown",     "PumpTelemetry", "VitalsSample",
                                            "PumpCommand", "AlertEvent",    "ActiveAlarms",
                                            "AlertAck",    "AuditRecord",   "GatewayStatus"};

struct cli {
    uv_loop_t loop;
    dg_link *link;    /* owned until closed */
    uv_timer_t timer; /* --timeout (watch) or the PUBACK deadline (ack) */
    uv_signal_t sigint, sigterm;
    /* options */
    bool ack_mode;
    const char *url, *ca, *cert, *key, *root, *client_id;
    const char *filters[MAX_FILTERS];
    int n_filters;
    long count;       /* -1: not given */
    double timeout_s; /* 0: none */
    bool json;
    const char *alert_id, *user, *comment;
    bool reset;
    /* state */
    char client_id_buf[64];
    char ack_id[64];
    long decoded;
    bool ever_connected, published, stopping;
    int exit_code;
};

/* 8 random bytes as hex into buf (17 bytes); falls back to clock and pid. */
static void random_hex(char *buf, size_t buflen)
{
    unsigned char r[8];
    if (RAND_bytes(r, sizeof r) != 1) {
        uint64_t x = uv_hrtime() ^ ((uint64_t)getpid() << 32);
        for (size_t i = 0; i < sizeof r; i++)
            r[i] = (unsigned char)(x >> (8 * i));
    }
    size_t o = 0;
    for (size_t i = 0; i < sizeof r && o + 2 < buflen; i++, o += 2)
        snprintf(buf + o, buflen - o, "%02x", r[i]);
}

/* ---------------------------------------------------------------- end */

static void on_link_closed(void *arg)
{
    struct cli *c = arg;
    dg_uv_close_all(&c->loop);
}

/* Stop with exit code rc: close the link, then every handle. */
static void stop(struct cli *c, int rc)
{
    if (c->stopping) return;
    c->stopping = true;
    c->exit_code = rc;
    uv_timer_stop(&c->timer);
    if (c->link) {
        dg_link *l = c->link;
        c->link = NULL;
        dg_link_close(l, CLOSE_TIMEOUT_MS, on_link_closed, c);
    } else {
        dg_uv_close_all(&c->loop);
    }
}

static void on_signal(uv_signal_t *h, int signum)
{
    (void)signum;
    stop(h->data, 0);
}

/* ---------------------------------------------------------------- topics */

/*
 * Classify topic by its segments under root: pump/<id>/telemetry,
 * pump/<id>/command, monitor/<id>/vitals, alert/<bed>, alarms/<bed>, ack,
 * audit, gateway/<id>/status. A topic outside root (a --filter with another
 * root) is classified by the same patterns at its tail.
 */
static enum kind classify(const char *root, const char *topic)
{
    size_t rl = strlen(root);
    const char *rest = NULL;
    if (strncmp(topic, root, rl) == 0 && topic[rl] == '/') rest = topic + rl + 1;
    const char *seg[4];
    size_t len[4];
    int n = 0;
    const char *p = rest ? rest : topic;
    const char *all[64];
    size_t alllen[64];
    int nall = 0;
    while (nall < 64) {
        const char *slash = strchr(p, '/');
        all[nall] = p;
        alllen[nall] = slash ? (size_t)(slash - p) : strlen(p);
        nall++;
        if (!slash) break;
        p = slash + 1;
    }
    for (int tail = 3; tail >= 1; tail--) {
        if (rest && nall != tail) continue;
        if (nall < tail) continue;
        n = tail;
        for (int i = 0; i < n; i++) {
            seg[i] = all[nall - n + i];
            len[i] = alllen[nall - n + i];
        }
#define SEG(i, s) (len[i] == sizeof(s) - 1 && memcmp(seg[i], s, sizeof(s) - 1) == 0)
        if (n == 3 && len[1] > 0) {
            if (SEG(0, "pump") && SEG(2, "telemetry")) return K_TELEMETRY;
            if (SEG(0, "pump") && SEG(2, "command")) return K_COMMAND;
            if (SEG(0, "monitor") && SEG(2, "vitals")) return K_VITALS;
            if (SEG(0, "gateway") && SEG(2, "status")) return K_STATUS;
        }
        if (n == 2 && len[1] > 0) {
            if (SEG(0, "alert")) return K_ALERT;
            if (SEG(0, "alarms")) return K_ALARMS;
        }
        if (n == 1) {
            if (SEG(0, "ack")) return K_ACK;
            if (SEG(0, "audit")) return K_AUDIT;
        }
#undef SEG
    }
    return K_UNKNOWN;
}

/* ---------------------------------------------------------------- enums */

/*
 * The wire name of an enum value, lowercase and without the enum's prefix:
 * ALERT_ACTION_PAUSE_REQUESTED -> "pause_requested", PUMP_STATE_PUMP_ALARM ->
 * "pump_alarm". Taken from the generated descriptor, so it follows the .proto.
 * A value the schema does not know gives "unknown_<n>". Returns buf.
 */
static const char *enum_name(const ProtobufCEnumDescriptor *d, int v, char *buf, size_t buflen)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
    if (!ev) {
        snprintf(buf, buflen, "unknown_%d", v);
        return buf;
    }
    /* The prefix is the enum's short name in UPPER_SNAKE plus '_'. */
    char prefix[64];
    size_t o = 0;
    for (const char *c = d->short_name; *c && o + 2 < sizeof prefix; c++) {
        if (*c >= 'A' && *c <= 'Z' && c != d->short_name) prefix[o++] = '_';
        prefix[o++] = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
    }
    prefix[o++] = '_';
    prefix[o] = '\0';
    const char *name = ev->name;
    if (strncmp(name, prefix, o) == 0) name += o;
    size_t i = 0;
    for (; name[i] && i + 1 < buflen; i++)
        buf[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
    buf[i] = '\0';
    return buf;
}

#define ENUM_BUF        48
#define E(type, v, buf) enum_name(&dosegate__v1__##type##__descriptor, (int)(v), buf, sizeof buf)

/* In readable lines the requested action is just "pause"/"stop"/"none". */
static const char *short_action(int v)
{
    static const char *const n[] = {"none", "pause", "stop"};
    return v >= 0 && v < 3 ? n[v] : "unknown";
}

/* ---------------------------------------------------------------- JSON */

struct jw {
    FILE *f;
    bool first; /* no member written yet in the current object/array */
};

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80) return 1;
    if ((c & 0xe0) == 0xc0) {
        len = 2;
        min = 0x80;
        c &= 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3;
        min = 0x800;
        c &= 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4;
        min = 0x10000;
        c &= 0x07;
    } else {
        return 0;
    }
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return 0;
    return len;
}

static void json_string(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p);
    fputc('"', f);
    while (n > 0) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc((int)c, f);
        } else if (c == '\n') {
            fputs("\\n", f);
        } else if (c == '\r') {
            fputs("\\r", f);
        } else if (c == '\t') {
            fputs("\\t", f);
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(f, "\\u%04x", c);
        } else if (c < 0x80) {
            fputc((int)c, f);
        } else {
            size_t l = utf8_len(p, n);
            if (l == 0) {
                fputs("\\ufffd", f);
                l = 1;
            } else {
                fwrite(p, 1, l, f);
            }
            p += l;
            n -= l;
            continue;
        }
        p++;
        n--;
    }
    fputc('"', f);
}

static void jw_key(struct jw *w, const char *key)
{
    if (!w->first) fputc(',', w->f);
    w->first = false;
    if (key) {
        json_string(w->f, key);
        fputc(':', w->f);
    }
}

static void jw_str(struct jw *w, const char *key, const char *v)
{
    jw_key(w, key);
    json_string(w->f, v);
}

static void jw_u64(struct jw *w, const char *key, uint64_t v)
{
    jw_key(w, key);
    fprintf(w->f, "%llu", (unsigned long long)v);
}

static void jw_bool(struct jw *w, const char *key, int v)
{
    jw_key(w, key);
    fputs(v ? "true" : "false", w->f);
}

static void jw_null(struct jw *w, const char *key)
{
    jw_key(w, key);
    fputs("null", w->f);
}

/* Shortest of %.15g / %.17g that reads back exactly; null if not finite. */
static void jw_num(struct jw *w, const char *key, double v)
{
    jw_key(w, key);
    if (!isfinite(v)) {
        fputs("null", w->f);
        return;
    }
    char buf[40];
    snprintf(buf, sizeof buf, "%.15g", v);
    if (strtod(buf, NULL) != v) snprintf(buf, sizeof buf, "%.17g", v);
    fputs(buf, w->f);
}

static void jw_enum(struct jw *w, const char *key, const ProtobufCEnumDescriptor *d, int v)
{
    char buf[ENUM_BUF];
    jw_str(w, key, enum_name(d, v, buf, sizeof buf));
}

#define JW_ENUM(w, key, type, v) jw_enum(w, key, &dosegate__v1__##type##__descriptor, (int)(v))

static void jw_hex(struct jw *w, const char *key, const uint8_t *b, size_t n)
{
    jw_key(w, key);
    fputc('"', w->f);
    for (size_t i = 0; i < n; i++)
        fprintf(w->f, "%02x", b[i]);
    fputc('"', w->f);
}

static void jw_open(struct jw *w, const char *key, char brace)
{
    jw_key(w, key);
    fputc(brace, w->f);
    w->first = true;
}

static void jw_close(struct jw *w, char brace)
{
    fputc(brace, w->f);
    w->first = false;
}

static void jw_measurement(struct jw *w, const char *key, const Dosegate__V1__Measurement *m)
{
    if (!m) {
        jw_null(w, key);
        return;
    }
    jw_open(w, key, '{');
    jw_num(w, "value", m->value);
    jw_bool(w, "valid", m->valid);
    jw_close(w, '}');
}

static void json_telemetry(struct jw *w, const Dosegate__V1__PumpTelemetry *m)
{
    jw_u64(w, "schema_version", m->schema_version);
    jw_str(w, "pump_id", m->pump_id);
    jw_u64(w, "seq", m->seq);
    jw_u64(w, "device_time_ms", m->device_time_ms);
    jw_str(w, "bed_id", m->bed_id);
    jw_str(w, "patient_ref", m->patient_ref);
    jw_str(w, "session_id", m->session_id);
    JW_ENUM(w, "state", pump_state, m->state);
    if (m->program) {
        const Dosegate__V1__InfusionProgram *p = m->program;
        jw_open(w, "program", '{');
        jw_str(w, "drug_code", p->drug_code);
        jw_str(w, "care_area", p->care_area);
        jw_num(w, "concentration_mg_per_ml", p->concentration_mg_per_ml);
        jw_num(w, "patient_weight_kg", p->patient_weight_kg);
        jw_num(w, "dose_mg_per_kg", p->dose_mg_per_kg);
        jw_num(w, "duration_min", p->duration_min);
        jw_num(w, "rate_ml_per_h", p->rate_ml_per_h);
        jw_close(w, '}');
    } else {
        jw_null(w, "program");
    }
    jw_num(w, "rate_ml_per_h", m->rate_ml_per_h);
    jw_num(w, "volume_infused_ml", m->volume_infused_ml);
    jw_num(w, "dose_infused_mg", m->dose_infused_mg);
    jw_u64(w, "bolus_count", m->bolus_count);
    jw_num(w, "bolus_dose_mg", m->bolus_dose_mg);
    jw_u64(w, "pump_alarm_code", m->pump_alarm_code);
    jw_str(w, "last_command_id", m->last_command_id);
    jw_bool(w, "permit_required", m->permit_required);
    jw_u64(w, "incarnation", m->incarnation);
}

static void json_vitals(struct jw *w, const Dosegate__V1__VitalsSample *m)
{
    jw_u64(w, "schema_version", m->schema_version);
    jw_str(w, "monitor_id", m->monitor_id);
    jw_u64(w, "seq", m->seq);
    jw_u64(w, "device_time_ms", m->device_time_ms);
    jw_str(w, "bed_id", m->bed_id);
    jw_measurement(w, "heart_rate_bpm", m->heart_rate_bpm);
    jw_measurement(w, "spo2_pct", m->spo2_pct);
    jw_measurement(w, "systolic_mmhg", m->systolic_mmhg);
    jw_measurement(w, "diastolic_mmhg", m->diastolic_mmhg);
    jw_measurement(w, "mean_mmhg", m->mean_mmhg);
    jw_measurement(w, "resp_rate_bpm", m->resp_rate_bpm);
    jw_measurement(w, "etco2_mmhg", m->etco2_mmhg);
    jw_u64(w, "incarnation", m->incarnation);
}

static void json_command(struct jw *w, const Dosegate__V1__PumpCommand *m)
{
    jw_u64(w, "schema_version", m->schema_version);
    jw_str(w, "command_id", m->command_id);
    jw_str(w, "pump_id", m->pump_id);
    JW_ENUM(w, "action", command_action, m->action);
    jw_str(w, "reason_alert_id", m->reason_alert_id);
    jw_u64(w, "issue_time_ms", m->issue_time_ms);
    jw_u64(w, "permit_valid_for_ms", m->permit_valid_for_ms);
    jw_str(w, "reason", m->reason);
}

static void json_alert(struct jw *w, const Dosegate__V1__AlertEvent *m)
{
    jw_u64(w, "schema_version", m->schema_version);
    jw_str(w, "alert_id", m->alert_id);
    JW_ENUM(w, "phase", alert_phase, m->phase);
    jw_str(w, "condition", m->condition);
    JW_ENUM(w, "kind", alert_kind, m->kind);
    JW_ENUM(w, "priority", alert_priority, m->priority);
    jw_str(w, "bed_id", m->bed_id);
    jw_str(w, "pump_id", m->pump_id);
    jw_str(w, "patient_ref", m->patient_ref);
    jw_num(w, "value", m->value);
    jw_num(w, "limit", m->limit);
    jw_str(w, "unit", m->unit);
    jw_str(w, "limit_source", m->limit_source);
    JW_ENUM(w, "action", alert_action, m->action);
    jw_u64(w, "gateway_time_ms", m->gateway_time_ms);
    jw_u64(w, "device_time_ms", m->device_time_ms);
    jw_u64(w, "seq", m->seq);
    jw_str(w, "message", m->message);
    jw_bool(w, "latched", m->latched);
    jw_str(w, "source_id", m->source_id);
}

static void json_alarms(struct jw *w, const Dosegate__V1__ActiveAlarms *m)
{
    jw_u64(w, "schema_version", m->schema_version);
    jw_str(w, "bed_id", m->bed_id);
    jw_u64(w, "gateway_time_ms", m->gateway_time_ms);
    jw_u64(w, "seq", m->seq);
    jw_open(w, "alerts", '[');
    for (size_t i = 0; i < m->n_alerts; i++) {
        const Dosegate__V1__ActiveAlert *a = m->alerts[i];
        jw_open(w, NULL, '{');
        jw_str(w, "alert_id", a->alert_id);
        jw_str(w, "condition", a->condition);
        JW_ENUM(w, "kind", alert_kind, a->kind);
        JW_ENUM(w, "priority", alert_priority, a->priority);
        jw_str(w, "pump_id", a->pump_id);
        jw_num(w, "value", a->value);
        jw_num(w, "limit", a->limit);
        jw_str(w, "unit", a->unit);
        JW_ENUM(w, "action", alert_action, a->action);
        jw_bool(w, "latched", a->latched);
        jw_bool(w, "acknowledged", a->acknowledged);
        jw_u64(w, "raised_time_ms", a->raised_time_ms);
        jw_str(w, "message", a->message);
        jw_str(w, "source_id", a->source_id);
        jw_close(w, '}');
    }
    jw_close(w, ']');
    JW_ENUM(w, "highest_priority", alert_priority, m->highest_priority);
}

static void json_ack(struct jw *w, const Dosegate__V1__AlertAck *m)
{
    jw_u64(w, "schema_version", m->schema_version);
    jw_str(w, "alert_id", m->alert_id);
    jw_str(w, "user_id", m->user_id);
    jw_bool(w, "reset", m->reset);
    jw_u64(w, "time_ms", m->time_ms);
    jw_str(w, "ack_id", m->ack_id);
    jw_str(w, "comment", m->comment);
}

static void json_audit(struct jw *w, const Dosegate__V1__AuditRecord *m)
{
    jw_u64(w, "schema_version", m->schema_version);
    jw_u64(w, "seq", m->seq);
    jw_u64(w, "time_ms", m->time_ms);
    jw_str(w, "gateway_id", m->gateway_id);
    jw_str(w, "event_type", m->event_type);
    jw_str(w, "action", m->action);
    JW_ENUM(w, "outcome", audit_outcome, m->outcome);
    JW_ENUM(w, "participant_kind", participant_kind, m->participant_kind);
    jw_str(w, "participant_id", m->participant_id);
    jw_str(w, "object_type", m->object_type);
    jw_str(w, "object_id", m->object_id);
    jw_str(w, "detail", m->detail);
    jw_hex(w, "prev_hash", m->prev_hash.data, m->prev_hash.len);
    jw_hex(w, "this_hash", m->this_hash.data, m->this_hash.len);
    jw_hex(w, "signature", m->signature.data, m->signature.len);
}

static void json_status(struct jw *w, const Dosegate__V1__GatewayStatus *m)
{
    jw_u64(w, "schema_version", m->schema_version);
    jw_bool(w, "online", m->online);
    jw_str(w, "gateway_id", m->gateway_id);
    jw_str(w, "software_version", m->software_version);
    jw_str(w, "config_sha256", m->config_sha256);
    jw_str(w, "drug_library_id", m->drug_library_id);
    jw_str(w, "drug_library_version", m->drug_library_version);
    jw_str(w, "drug_library_sha256", m->drug_library_sha256);
    jw_u64(w, "start_time_ms", m->start_time_ms);
    jw_u64(w, "status_time_ms", m->status_time_ms);
    jw_u64(w, "pumps_known", m->pumps_known);
    jw_u64(w, "beds_known", m->beds_known);
    jw_u64(w, "messages_accepted", m->messages_accepted);
    jw_u64(w, "messages_rejected", m->messages_rejected);
    jw_u64(w, "active_alerts", m->active_alerts);
    jw_u64(w, "outbox_backlog", m->outbox_backlog);
    jw_u64(w, "store_errors", m->store_errors);
}

/* ---------------------------------------------------------------- readable lines */

/* Strings from the network, made safe for one terminal line: control bytes
   -> '?', empty -> "-" (so the words of a line stay in place). */
static const char *san(char *buf, size_t buflen, const char *s)
{
    if (!s || !*s) return "-";
    size_t o = 0;
    for (; s && *s && o + 1 < buflen; s++)
        buf[o++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
    buf[o] = '\0';
    return buf;
}

static void upper(char *buf, size_t buflen, const char *s)
{
    size_t o = 0;
    for (; s && *s && o + 1 < buflen; s++)
        buf[o++] = (*s >= 'a' && *s <= 'z') ? (char)(*s - 'a' + 'A') : *s;
    buf[o] = '\0';
}

static void text_telemetry(FILE *f, const Dosegate__V1__PumpTelemetry *m)
{
    char b1[DG_TEXT_MAX], b2[DG_TEXT_MAX], b3[DG_TEXT_MAX], e1[ENUM_BUF];
    fprintf(f, "TELEM  %s #%llu %s %s rate=%.2f mL/h vol=%.2f mL dose=%.2f mg bolus=%u",
            san(b1, sizeof b1, m->pump_id), (unsigned long long)m->seq,
            san(b2, sizeof b2, m->bed_id), E(pump_state, m->state, e1), m->rate_ml_per_h,
            m->volume_infused_ml, m->dose_infused_mg, m->bolus_count);
    if (m->program) fprintf(f, " program=%.2f mL/h", m->program->rate_ml_per_h);
    if (m->last_command_id[0])
        fprintf(f, " last_command=%s", san(b3, sizeof b3, m->last_command_id));
}

static void text_measure(FILE *f, const char *name, const Dosegate__V1__Measurement *m)
{
    if (m) fprintf(f, " %s=%.0f%s", name, m->value, m->valid ? "" : "?");
}

static void text_vitals(FILE *f, const Dosegate__V1__VitalsSample *m)
{
    char b1[DG_TEXT_MAX], b2[DG_TEXT_MAX];
    fprintf(f, "VITALS %s #%llu %s", san(b1, sizeof b1, m->monitor_id), (unsigned long long)m->seq,
            san(b2, sizeof b2, m->bed_id));
    text_measure(f, "hr", m->heart_rate_bpm);
    text_measure(f, "spo2", m->spo2_pct);
    text_measure(f, "rr", m->resp_rate_bpm);
    text_measure(f, "etco2", m->etco2_mmhg);
    if (m->systolic_mmhg && m->diastolic_mmhg)
        fprintf(f, " nibp=%.0f/%.0f(%.0f)%s", m->systolic_mmhg->value, m->diastolic_mmhg->value,
                m->mean_mmhg ? m->mean_mmhg->value : NAN,
                m->systolic_mmhg->valid && m->diastolic_mmhg->valid ? "" : "?");
}

static void text_command(FILE *f, const Dosegate__V1__PumpCommand *m)
{
    char b1[DG_TEXT_MAX], b2[DG_TEXT_MAX], b3[DG_TEXT_MAX], b4[DG_TEXT_MAX], e1[ENUM_BUF],
        act[ENUM_BUF];
    upper(act, sizeof act, E(command_action, m->action, e1));
    fprintf(f, "CMD    %s %s id=%s", act, san(b1, sizeof b1, m->pump_id),
            san(b2, sizeof b2, m->command_id));
    if (m->action == DOSEGATE__V1__COMMAND_ACTION__COMMAND_ACTION_PERMIT)
        fprintf(f, " valid_for_ms=%u", (unsigned)m->permit_valid_for_ms);
    else
        fprintf(f, " reason=%s", san(b3, sizeof b3, m->reason_alert_id));
    if (m->reason[0]) fprintf(f, " \"%s\"", san(b4, sizeof b4, m->reason));
}

static void text_alert(FILE *f, const Dosegate__V1__AlertEvent *m)
{
    char b1[DG_TEXT_MAX], b2[DG_TEXT_MAX], b3[DG_TEXT_MAX], b4[DG_TEXT_MAX], b5[DG_TEXT_MAX],
        b6[DG_TEXT_MAX], e1[ENUM_BUF], e2[ENUM_BUF], e3[ENUM_BUF], ph[ENUM_BUF];
    upper(ph, sizeof ph, E(alert_phase, m->phase, e1));
    fprintf(f, "ALERT  %-6s %s %s %s %s %s value=%.2f limit=%.2f %s action=%s%s id=%s \"%s\"", ph,
            E(alert_priority, m->priority, e2), E(alert_kind, m->kind, e3),
            san(b1, sizeof b1, m->condition), san(b2, sizeof b2, m->bed_id),
            san(b3, sizeof b3, m->pump_id), m->value, m->limit, san(b4, sizeof b4, m->unit),
            short_action((int)m->action), m->latched ? " latched" : "",
            san(b5, sizeof b5, m->alert_id), san(b6, sizeof b6, m->message));
}

static void text_alarms(FILE *f, const Dosegate__V1__ActiveAlarms *m)
{
    char b1[DG_TEXT_MAX], b2[DG_TEXT_MAX], e1[ENUM_BUF];
    fprintf(f, "ALARMS %s: %zu active", san(b1, sizeof b1, m->bed_id), m->n_alerts);
    if (m->n_alerts == 0) return;
    fprintf(f, " (%s):", E(alert_priority, m->highest_priority, e1));
    for (size_t i = 0; i < m->n_alerts; i++) {
        const Dosegate__V1__ActiveAlert *a = m->alerts[i];
        fprintf(f, "%s %s", i ? "," : "", san(b2, sizeof b2, a->condition));
        if (a->latched && a->acknowledged)
            fputs("[latched,acked]", f);
        else if (a->latched)
            fputs("[latched]", f);
        else if (a->acknowledged)
            fputs("[acked]", f);
    }
}

static void text_ack(FILE *f, const Dosegate__V1__AlertAck *m)
{
    char b1[DG_TEXT_MAX], b2[DG_TEXT_MAX], b3[DG_TEXT_MAX], b4[DG_TEXT_MAX];
    fprintf(f, "ACK    alert=%s user=%s%s ack_id=%s", san(b1, sizeof b1, m->alert_id),
            san(b2, sizeof b2, m->user_id), m->reset ? " reset" : "",
            san(b3, sizeof b3, m->ack_id));
    if (m->comment[0]) fprintf(f, " \"%s\"", san(b4, sizeof b4, m->comment));
}

static void text_audit(FILE *f, const Dosegate__V1__AuditRecord *m)
{
    char b1[DG_TEXT_MAX], b2[DG_TEXT_MAX], b3[DG_TEXT_MAX], b4[DG_TEXT_MAX], b5[DG_TEXT_MAX],
        b6[DG_TEXT_MAX], e1[ENUM_BUF], e2[ENUM_BUF];
    fprintf(f, "AUDIT  #%llu %s %s %s %s:%s %s:%s \"%s\"", (unsigned long long)m->seq,
            san(b1, sizeof b1, m->event_type), san(b2, sizeof b2, m->action),
            E(audit_outcome, m->outcome, e1), E(participant_kind, m->participant_kind, e2),
            san(b3, sizeof b3, m->participant_id), san(b4, sizeof b4, m->object_type),
            san(b5, sizeof b5, m->object_id), san(b6, sizeof b6, m->detail));
}

static void text_status(FILE *f, const Dosegate__V1__GatewayStatus *m)
{
    char b1[DG_TEXT_MAX], b2[DG_TEXT_MAX], b3[DG_TEXT_MAX], b4[DG_TEXT_MAX], b5[16];
    fprintf(f,
            "STATUS %s %s version=%s drug-library=%s@%s config=%s pumps=%u beds=%u alerts=%u "
            "outbox=%llu",
            san(b1, sizeof b1, m->gateway_id), m->online ? "online" : "offline",
            san(b2, sizeof b2, m->software_version), san(b3, sizeof b3, m->drug_library_id),
            san(b4, sizeof b4, m->drug_library_version), san(b5, sizeof b5, m->config_sha256),
            m->pumps_known, m->beds_known, m->active_alerts, (unsigned long long)m->outbox_backlog);
}

/* ---------------------------------------------------------------- watch */

static void emit_line(FILE *mem, char **buf, size_t *len)
{
    fputc('\n', mem);
    fclose(mem);
    fwrite(*buf, 1, *len, stdout);
    fflush(stdout);
    free(*buf); /* open_memstream memory comes from libc malloc */
}

static void print_error(struct cli *c, const char *topic, int retained, enum kind k,
                        const char *why, const uint8_t *payload, size_t len)
{
    char *buf = NULL;
    size_t blen = 0;
    FILE *mem = open_memstream(&buf, &blen);
    if (!mem) return;
    if (c->json) {
        struct jw w = {mem, true};
        jw_open(&w, NULL, '{');
        jw_str(&w, "topic", topic);
        jw_bool(&w, "retained", retained);
        jw_str(&w, "type", "error");
        jw_str(&w, "expected", kind_messages[k]);
        jw_str(&w, "error", why);
        jw_u64(&w, "payload_len", len);
        jw_hex(&w, "payload_hex", payload, len < HEX_MAX_BYTES ? len : HEX_MAX_BYTES);
        jw_close(&w, '}');
    } else {
        char b[256];
        fprintf(mem, "ERROR  %s: %s (%zu bytes)", san(b, sizeof b, topic), why, len);
    }
    emit_line(mem, &buf, &blen);
}

/* Decode payload as kind k; NULL if it does not decode. */
static ProtobufCMessage *decode(enum kind k, const uint8_t *p, size_t n)
{
    ProtobufCAllocator *a = &dg_pb_allocator;
    switch (k) {
    case K_TELEMETRY:
        return (ProtobufCMessage *)dosegate__v1__pump_telemetry__unpack(a, n, p);
    case K_VITALS:
        return (ProtobufCMessage *)dosegate__v1__vitals_sample__unpack(a, n, p);
    case K_COMMAND:
        return (ProtobufCMessage *)dosegate__v1__pump_command__unpack(a, n, p);
    case K_ALERT:
        return (ProtobufCMessage *)dosegate__v1__alert_event__unpack(a, n, p);
    case K_ALARMS:
        return (ProtobufCMessage *)dosegate__v1__active_alarms__unpack(a, n, p);
    case K_ACK:
        return (ProtobufCMessage *)dosegate__v1__alert_ack__unpack(a, n, p);
    case K_AUDIT:
        return (ProtobufCMessage *)dosegate__v1__audit_record__unpack(a, n, p);
    case K_STATUS:
        return (ProtobufCMessage *)dosegate__v1__gateway_status__unpack(a, n, p);
    default:
        return NULL;
    }
}

static void print_message(struct cli *c, const char *topic, int retained, enum kind k,
                          const ProtobufCMessage *msg)
{
    char *buf = NULL;
    size_t blen = 0;
    FILE *mem = open_memstream(&buf, &blen);
    if (!mem) return;
    if (c->json) {
        struct jw w = {mem, true};
        jw_open(&w, NULL, '{');
        jw_str(&w, "topic", topic);
        jw_bool(&w, "retained", retained);
        jw_str(&w, "type", kind_messages[k]);
        switch (k) {
        case K_TELEMETRY:
            json_telemetry(&w, (const void *)msg);
            break;
        case K_VITALS:
            json_vitals(&w, (const void *)msg);
            break;
        case K_COMMAND:
            json_command(&w, (const void *)msg);
            break;
        case K_ALERT:
            json_alert(&w, (const void *)msg);
            break;
        case K_ALARMS:
            json_alarms(&w, (const void *)msg);
            break;
        case K_ACK:
            json_ack(&w, (const void *)msg);
            break;
        case K_AUDIT:
            json_audit(&w, (const void *)msg);
            break;
        case K_STATUS:
            json_status(&w, (const void *)msg);
            break;
        default:
            break;
        }
        jw_close(&w, '}');
    } else {
        switch (k) {
        case K_TELEMETRY:
            text_telemetry(mem, (const void *)msg);
            break;
        case K_VITALS:
            text_vitals(mem, (const void *)msg);
            break;
        case K_COMMAND:
            text_command(mem, (const void *)msg);
            break;
        case K_ALERT:
            text_alert(mem, (const void *)msg);
            break;
        case K_ALARMS:
            text_alarms(mem, (const void *)msg);
            break;
        case K_ACK:
            text_ack(mem, (const void *)msg);
            break;
        case K_AUDIT:
            text_audit(mem, (const void *)msg);
            break;
        case K_STATUS:
            text_status(mem, (const void *)msg);
            break;
        default:
            break;
        }
        if (retained) fputs(" (retained)", mem);
    }
    emit_line(mem, &buf, &blen);
}

static void on_message(void *ctx, dg_link *link, const char *topic, const uint8_t *payload,
                       size_t len, int retained)
{
    struct cli *c = ctx;
    (void)link;
    if (c->stopping) return;
    enum kind k = classify(c->root, topic);
    if (k == K_UNKNOWN) {
        print_error(c, topic, retained, k, "topic not in the dosegate tree", payload, len);
        return;
    }
    if (len == 0) {
        /* An empty retained message is how a retained topic is cleared. */
        print_error(c, topic, retained, k, "empty payload", payload, len);
        return;
    }
    ProtobufCMessage *msg = decode(k, payload, len);
    if (!msg) {
        char why[80];
        snprintf(why, sizeof why, "cannot decode %s", kind_messages[k]);
        print_error(c, topic, retained, k, why, payload, len);
        return;
    }
    print_message(c, topic, retained, k, msg);
    protobuf_c_message_free_unpacked(msg, &dg_pb_allocator);
    c->decoded++;
    if (c->count >= 0 && c->decoded >= c->count) stop(c, 0);
}

static void on_watch_timeout(uv_timer_t *h)
{
    struct cli *c = h->data;
    if (!c->ever_connected) {
        fprintf(stderr, "dosegate-cli: never connected to %s within %g s\n", c->url, c->timeout_s);
        stop(c, 1);
        return;
    }
    if (c->count >= 0 && c->decoded < c->count) {
        fprintf(stderr, "dosegate-cli: %ld of %ld messages within %g s\n", c->decoded, c->count,
                c->timeout_s);
        stop(c, 3);
        return;
    }
    stop(c, 0);
}

/* ---------------------------------------------------------------- ack */

static void on_done(void *ctx, dg_link *link, uint64_t token, int rc)
{
    struct cli *c = ctx;
    (void)link;
    (void)token;
    if (!c->ack_mode || c->stopping) return;
    if (rc == 0) {
        printf("ack sent alert=%s user=%s%s ack_id=%s\n", c->alert_id, c->user,
               c->reset ? " reset" : "", c->ack_id);
        fflush(stdout);
        stop(c, 0);
    } else {
        fprintf(stderr, "dosegate-cli: ack not delivered to %s: %s\n", c->url, dg_strerror(rc));
        stop(c, 1);
    }
}

static int send_ack(struct cli *c)
{
    char topic[512];
    int n = snprintf(topic, sizeof topic, "%s/ack", c->root);
    if (n < 0 || (size_t)n >= sizeof topic) return -DG_EINVAL;
    Dosegate__V1__AlertAck a = DOSEGATE__V1__ALERT_ACK__INIT;
    a.schema_version = 1;
    a.alert_id = (char *)c->alert_id;
    a.user_id = (char *)c->user;
    a.reset = c->reset;
    a.time_ms = dg_wall_ms();
    a.ack_id = c->ack_id;
    a.comment = (char *)(c->comment ? c->comment : "");
    size_t len = dosegate__v1__alert_ack__get_packed_size(&a);
    uint8_t *buf = dg_malloc(len);
    if (!buf) return -DG_ENOMEM;
    dosegate__v1__alert_ack__pack(&a, buf);
    int rc = dg_link_publish(c->link, topic, buf, len, 1, 0, 1);
    dg_free(buf);
    return rc;
}

static void on_ack_timeout(uv_timer_t *h)
{
    struct cli *c = h->data;
    if (!c->ever_connected)
        fprintf(stderr, "dosegate-cli: could not connect to %s within %d s\n", c->url,
                ACK_TIMEOUT_MS / 1000);
    else
        fprintf(stderr, "dosegate-cli: no PUBACK for the ack from %s within %d s\n", c->url,
                ACK_TIMEOUT_MS / 1000);
    stop(c, 1);
}

/* ---------------------------------------------------------------- link */

static void on_connected(void *ctx, dg_link *link)
{
    struct cli *c = ctx;
    (void)link;
    c->ever_connected = true;
    if (!c->ack_mode) return; /* the link logs msg="subscribed" for each filter on its SUBACK */
    if (c->published) return;
    c->published = true;
    int rc = send_ack(c);
    if (rc < 0) {
        fprintf(stderr, "dosegate-cli: cannot queue the ack: %s\n", dg_strerror(rc));
        stop(c, 1);
    }
}

/* ---------------------------------------------------------------- CLI */

static void usage(FILE *f)
{
    fprintf(f, "usage: dosegate-cli watch --url URL --ca FILE --cert FILE --key FILE --root ROOT\n"
               "                          [--filter TOPICFILTER]... [--count N] [--timeout SEC]\n"
               "                          [--json] [--client-id ID]\n"
               "       dosegate-cli ack   --url URL --ca FILE --cert FILE --key FILE --root ROOT\n"
               "                          --alert-id ID --user USER [--reset] [--comment TEXT]\n"
               "                          [--client-id ID]\n"
               "       dosegate-cli --help\n"
               "\n"
               "watch: subscribe (QoS 1) and print each message decoded by its topic kind\n"
               "  (telemetry, vitals, command, alert, alarms, ack, audit, status): one line\n"
               "  per message on stdout, flushed at once. Default filters: ROOT/alert/+,\n"
               "  ROOT/alarms/+, ROOT/gateway/+/status, ROOT/pump/+/command, ROOT/audit.\n"
               "  --json       one JSON object per line: \"topic\", \"retained\", \"type\" and\n"
               "               every field of the message (enums as lowercase names, bytes as\n"
               "               hex); undecodable payloads give \"type\":\"error\"\n"
               "  --count N    exit 0 after N decoded messages\n"
               "  --timeout S  exit after S seconds: 0, or 3 if --count was not reached\n"
               "ack: publish one AlertAck to ROOT/ack (QoS 1) and wait for the broker's\n"
               "  acknowledgement (10 s at most). --reset also resets a latched pause/stop.\n"
               "\n"
               "  --url URL        broker, ssl://host:port\n"
               "  --ca/--cert/--key FILE   trust store, client certificate and key (PEM)\n"
               "  --root ROOT      topic root, e.g. dosegate/v1/demo-clinic\n"
               "  --client-id ID   MQTT client id (default dosegate-cli-<random>); watch\n"
               "                   with it keeps a persistent session: the broker queues\n"
               "                   what arrives while the watcher is away\n"
               "\n"
               "Exit: 0 ok, 1 failure (link, connect, ack), 2 usage, 3 --count not reached.\n"
               "See docs/simulator.md.\n");
}

enum {
    O_URL = 256,
    O_CA,
    O_CERT,
    O_KEY,
    O_ROOT,
    O_FILTER,
    O_COUNT,
    O_TIMEOUT,
    O_JSON,
    O_CLIENT,
    O_ALERT,
    O_USER,
    O_RESET,
    O_COMMENT,
};

static int usage_error(const char *msg)
{
    fprintf(stderr, "dosegate-cli: %s (see --help)\n", msg);
    return -DG_EINVAL;
}

/* Returns 0, 1 for --help, or -DG_EINVAL with a message printed. */
static int parse_args(int argc, char **argv, struct cli *c)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, O_URL},
        {"ca", required_argument, NULL, O_CA},
        {"cert", required_argument, NULL, O_CERT},
        {"key", required_argument, NULL, O_KEY},
        {"root", required_argument, NULL, O_ROOT},
        {"filter", required_argument, NULL, O_FILTER},
        {"count", required_argument, NULL, O_COUNT},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"json", no_argument, NULL, O_JSON},
        {"client-id", required_argument, NULL, O_CLIENT},
        {"alert-id", required_argument, NULL, O_ALERT},
        {"user", required_argument, NULL, O_USER},
        {"reset", no_argument, NULL, O_RESET},
        {"comment", required_argument, NULL, O_COMMENT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) return 1;
    if (argc < 2) return usage_error("a command is required: watch or ack");
    if (strcmp(argv[1], "ack") == 0)
        c->ack_mode = true;
    else if (strcmp(argv[1], "watch") != 0)
        return usage_error("unknown command (watch or ack)");
    c->count = -1;
    optind = 2;
    int o;
    char *end;
    while ((o = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (o) {
        case O_URL:
            c->url = optarg;
            break;
        case O_CA:
            c->ca = optarg;
            break;
        case O_CERT:
            c->cert = optarg;
            break;
        case O_KEY:
            c->key = optarg;
            break;
        case O_ROOT:
            /* A trailing '/' is ignored, as the gateway does. */
            for (size_t n = strlen(optarg); n > 1 && optarg[n - 1] == '/'; n--)
                optarg[n - 1] = '\0';
            c->root = optarg;
            break;
        case O_FILTER:
            if (c->n_filters == MAX_FILTERS) return usage_error("too many --filter");
            c->filters[c->n_filters++] = optarg;
            break;
        case O_COUNT:
            c->count = strtol(optarg, &end, 10);
            if (end == optarg || *end || c->count < 1)
                return usage_error("--count must be a positive integer");
            break;
        case O_TIMEOUT:
            c->timeout_s = strtod(optarg, &end);
            if (end == optarg || *end || !isfinite(c->timeout_s) || c->timeout_s <= 0 ||
                c->timeout_s > 1e6)
                return usage_error("--timeout must be a positive number of seconds");
            break;
        case O_JSON:
            c->json = true;
            break;
        case O_CLIENT:
            c->client_id = optarg;
            break;
        case O_ALERT:
            c->alert_id = optarg;
            break;
        case O_USER:
            c->user = optarg;
            break;
        case O_RESET:
            c->reset = true;
            break;
        case O_COMMENT:
            c->comment = optarg;
            break;
        case 'h':
            return 1;
        default:
            return usage_error("unknown option");
        }
    }
    if (optind < argc) return usage_error("unexpected argument");
    if (!c->url || !c->ca || !c->cert || !c->key || !c->root)
        return usage_error("--url, --ca, --cert, --key and --root are required");
    if (c->ack_mode) {
        if (!c->alert_id || !c->alert_id[0] || !c->user || !c->user[0])
            return usage_error("ack needs --alert-id and --user");
        if (c->n_filters || c->count >= 0 || c->timeout_s > 0 || c->json)
            return usage_error("--filter/--count/--timeout/--json are for watch");
    } else if (c->alert_id || c->user || c->reset || c->comment) {
        return usage_error("--alert-id/--user/--reset/--comment are for ack");
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct cli c;
    int rc = parse_args(argc, argv, &c);
    if (rc == 1) {
        usage(stdout);
        return 0;
    }
    if (rc < 0) return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);

    char rnd[17] = "";
    random_hex(rnd, sizeof rnd);
    if (!c.client_id) {
        snprintf(c.client_id_buf, sizeof c.client_id_buf, "dosegate-cli-%s", rnd);
        c.client_id = c.client_id_buf;
    }
    snprintf(c.ack_id, sizeof c.ack_id, "ack-%llx-%s", (unsigned long long)dg_wall_ms(), rnd);

    char defaults[5][512];
    if (!c.ack_mode && c.n_filters == 0) {
        const char *fmt[5] = {"%s/alert/+", "%s/alarms/+", "%s/gateway/+/status",
                              "%s/pump/+/command", "%s/audit"};
        for (int i = 0; i < 5; i++) {
            int n = snprintf(defaults[i], sizeof defaults[i], fmt[i], c.root);
            if (n < 0 || (size_t)n >= sizeof defaults[i]) {
                usage_error("--root too long");
                return 2;
            }
            c.filters[c.n_filters++] = defaults[i];
        }
    }

    if (uv_loop_init(&c.loop) != 0) {
        fprintf(stderr, "dosegate-cli: uv_loop_init failed\n");
        return 1;
    }
    uv_timer_init(&c.loop, &c.timer);
    uv_signal_init(&c.loop, &c.sigint);
    uv_signal_init(&c.loop, &c.sigterm);
    c.timer.data = c.sigint.data = c.sigterm.data = &c;
    uv_signal_start(&c.sigint, on_signal, SIGINT);
    uv_signal_start(&c.sigterm, on_signal, SIGTERM);

    struct dg_link_config cfg = {
        .name = c.ack_mode ? "cli-ack" : "cli-watch",
        .url = c.url,
        .client_id = c.client_id,
        .ca_file = c.ca,
        .cert_file = c.cert,
        .key_file = c.key,
        .keepalive_s = 10,
        /* As dosegate-audit record: a watcher given a client id keeps a
           persistent session, so the broker queues what arrives while it is
           away (a broker restart, a reconnect). */
        .persistent_session = !c.ack_mode && c.client_id != c.client_id_buf,
    };
    struct dg_link_callbacks cb = {
        .ctx = &c,
        .message = on_message,
        .connected = on_connected,
        .disconnected = NULL,
        .done = on_done,
    };
    rc = dg_link_open(&c.link, &c.loop, &cfg, &cb);
    if (rc < 0) {
        fprintf(stderr, "dosegate-cli: cannot open the link to %s: %s\n", c.url, dg_strerror(rc));
        c.link = NULL;
        stop(&c, 1);
    } else if (c.ack_mode) {
        uv_timer_start(&c.timer, on_ack_timeout, ACK_TIMEOUT_MS, 0);
    } else {
        for (int i = 0; i < c.n_filters && rc == 0; i++)
            rc = dg_link_subscribe(c.link, c.filters[i], 1);
        if (rc < 0) {
            fprintf(stderr, "dosegate-cli: cannot subscribe: %s\n", dg_strerror(rc));
            stop(&c, 1);
        } else if (c.timeout_s > 0) {
            uv_timer_start(&c.timer, on_watch_timeout, (uint64_t)llround(c.timeout_s * 1000.0), 0);
        }
    }

    uv_run(&c.loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(&c.loop);
    if (rc != 0) {
        fprintf(stderr, "dosegate-cli: loop did not close cleanly: %s\n", uv_strerror(rc));
        return 1;
    }
    return c.exit_code;
}
