/*
 * codec.h — protobuf <-> core structs, with validation, and the topic tree.
 *
 * The only gateway module that includes the generated dosegate.pb-c.h.
 * Decoders validate everything the core relies on (schema version, required
 * ids, id in payload == id in topic, string lengths, finite and in-range
 * numbers) and say why they reject: a reason code (counted by the gateway)
 * and the offending field. Encoders return a dg_malloc'd buffer.
 */
#ifndef DG_CODEC_H
#define DG_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "../core/types.h"

#define DG_SCHEMA_VERSION 1
#define DG_MAX_PAYLOAD    4096 /* bytes; larger inbound payloads are rejected unread */

enum dg_reject {
    DG_REJECT_NONE = 0,
    DG_REJECT_OVERSIZE,       /* payload > DG_MAX_PAYLOAD */
    DG_REJECT_DECODE,         /* not a valid protobuf message of the expected type */
    DG_REJECT_SCHEMA_VERSION, /* schema_version unknown */
    DG_REJECT_MISSING,        /* a required field is absent or empty */
    DG_REJECT_TOO_LONG,       /* a string does not fit DG_ID_MAX */
    DG_REJECT_BAD_VALUE,      /* NaN, infinite, negative or absurd number; bad enum */
    DG_REJECT_ID_MISMATCH,    /* device id in payload != id in topic (security event) */
    DG_REJECT_TOPIC,          /* topic not in the tree */
    DG_REJECT_DUPLICATE, /* already processed (QoS 1 redelivery) — set by the core's caller */
    DG_REJECT_FLOOD, /* the device sends faster than its token bucket allows — set by the shell */
    DG_REJECT_IDENTITY, /* the device id's kind or the inventory refuses it — set by the shell */
    DG_REJECT__COUNT
};

/* Static short name of a reason ("oversize", "decode", ...), for logs/metrics. */
const char *dg_reject_name(enum dg_reject r);

struct dg_decode_error {
    enum dg_reject reason;
    char field[48];           /* offending field, "" if none */
    char detail[DG_TEXT_MAX]; /* one line for a human */
};

/*
 * Decoders: parse buf[0..len) into *out. expected_id is the device id taken
 * from the topic (pump or monitor id); NULL skips the check. Return 0, or
 * -DG_EINVAL with *err filled.
 */
int dg_codec_decode_telemetry(const uint8_t *buf, size_t len, const char *expected_id,
                              struct dg_telemetry *out, struct dg_decode_error *err);
int dg_codec_decode_vitals(const uint8_t *buf, size_t len, const char *expected_id,
                           struct dg_vitals *out, struct dg_decode_error *err);
int dg_codec_decode_ack(const uint8_t *buf, size_t len, struct dg_ack *out,
                        struct dg_decode_error *err);

/* What the gateway says about itself (GatewayStatus). */
struct dg_status {
    int online;
    const char *gateway_id;
    const char *software_version;
    const char *config_sha256;
    const char *drug_library_id;
    const char *drug_library_version;
    const char *drug_library_sha256;
    uint64_t start_time_ms;
    uint64_t status_time_ms;
    uint32_t pumps_known;
    uint32_t beds_known;
    uint64_t messages_accepted;
    uint64_t messages_rejected;
    uint32_t active_alerts;
    uint64_t outbox_backlog;
    uint64_t store_errors;
    uint64_t duplicates_repeated, duplicates_backwards, duplicates_stale_incarnation;
    uint64_t seq_gaps, seq_missing, device_reboots, clock_jumps;
    uint64_t identity_refused;
    uint64_t permits_sent, permits_dropped;
};

/* One sequenced, hash-chained audit record (AuditRecord). */
struct dg_audit_record {
    uint64_t seq;
    uint64_t time_ms;
    const char *gateway_id;
    const struct dg_audit_event *ev;
    uint8_t prev_hash[32];
    uint8_t this_hash[32];    /* ignored when encoding for hashing (see dg_codec_encode_audit) */
    const uint8_t *signature; /* NULL = none */
    size_t signature_len;
};

/*
 * Encoders: on success return 0 and *out (dg_malloc'd, caller dg_free()s) of
 * *len bytes; -DG_ENOMEM otherwise.
 * dg_codec_encode_audit(): with_hash = 0 encodes this_hash empty (the bytes
 * the hash is computed over); 1 includes it.
 */
int dg_codec_encode_alert(const struct dg_alert_event *ev, uint8_t **out, size_t *len);
int dg_codec_encode_alarms(const struct dg_alarm_snapshot *snap, uint8_t **out, size_t *len);
int dg_codec_encode_command(const struct dg_command *cmd, uint8_t **out, size_t *len);
int dg_codec_encode_status(const struct dg_status *st, uint8_t **out, size_t *len);
int dg_codec_encode_audit(const struct dg_audit_record *rec, int with_hash, uint8_t **out,
                          size_t *len);

/* ---------------------------------------------------------------- topics */

enum dg_topic_kind {
    DG_TOPIC_UNKNOWN = 0,
    DG_TOPIC_TELEMETRY, /* <root>/pump/<id>/telemetry */
    DG_TOPIC_VITALS,    /* <root>/monitor/<id>/vitals */
    DG_TOPIC_COMMAND,   /* <root>/pump/<id>/command */
    DG_TOPIC_ALERT,     /* <root>/alert/<bed> */
    DG_TOPIC_ALARMS,    /* <root>/alarms/<bed> */
    DG_TOPIC_ACK,       /* <root>/ack/<dashboard_id> */
    DG_TOPIC_AUDIT,     /* <root>/audit */
    DG_TOPIC_STATUS,    /* <root>/gateway/<id>/status */
};

/*
 * Classify topic under root; copy the id segment (pump, monitor, bed,
 * dashboard or gateway id; "" for audit) into id[idlen]. Returns the kind, or
 * DG_TOPIC_UNKNOWN (also when the id is empty or does not fit).
 */
enum dg_topic_kind dg_topic_parse(const char *root, const char *topic, char *id, size_t idlen);
/* Write the topic of kind for id under root into buf. Returns 0, or -DG_EINVAL if it does not fit.
 */
int dg_topic_format(char *buf, size_t buflen, const char *root, enum dg_topic_kind kind,
                    const char *id);

#endif
