/*
 * audit_verify.h — checking an audit trail: the hash chain, the sequence and
 * the signed checkpoints (audit.h; docs/audit.md), and the export format.
 *
 * The verifier is a streaming state machine: records are fed one at a time,
 * in trail order, as the raw AuditRecord bytes (exactly as published), so
 * the same code checks an exported file and the live topic. It decodes the
 * protobuf wire format itself (it trusts neither the gateway's encoder nor
 * protobuf-c's re-encoding): this_hash is checked against SHA-256 of the
 * record's own bytes with field 14 cut out, so any changed byte shows.
 *
 * It stops at the FIRST break and describes it (struct dg_audit_finding):
 * the record's seq, its position in the trail, and what is wrong. A gap
 * (seq jumps) is only classified when the next record arrives: if the
 * missing seq shows up next, the records were reordered, otherwise deleted
 * (dg_audit_verify_record returns DG_AUDIT_STEP_PENDING meanwhile, and
 * dg_audit_verify_finish settles it).
 *
 * A record with seq 1 and an all-zero prev_hash after other records starts
 * a new chain (this version restarts the chain at each gateway start; see
 * docs/audit.md): it is accepted and counted as a new segment unless
 * opts.no_restart is set. The records after the last checkpoint of each
 * segment are "unsigned": a verifier cannot tell whether records were cut
 * off after them, so they are reported, and are a failure with
 * opts.require_signed_tail.
 *
 * A trail is "closed" when a gateway.stop comes after its last
 * gateway.start: a clean stop, which the gateway signs at once, so nothing
 * can be missing after it. With opts.require_stop a trail that is not closed
 * (a running gateway's, a killed one's, or one cut after a checkpoint) is a
 * failure: DG_AUDIT_OPEN_END. dosegate-audit verify FILE asks for both
 * (signed tail and closed end) unless told --allow-open-end.
 *
 * No allocation, no globals, no I/O; one verifier per trail, one thread.
 */
#ifndef DG_AUDIT_VERIFY_H
#define DG_AUDIT_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"

/* What is wrong with a trail (the first break). */
enum dg_audit_fault {
    DG_AUDIT_INTACT = 0,
    DG_AUDIT_MALFORMED,         /* not a decodable AuditRecord (or a bad export line) */
    DG_AUDIT_EDITED,            /* this_hash does not match the record's bytes */
    DG_AUDIT_TRUNCATED_START,   /* the first record is not seq 1 (nor opts.from_seq) */
    DG_AUDIT_GAP,               /* seq jumps: records missing (deleted) */
    DG_AUDIT_REORDERED,         /* a record out of place: seq goes backwards */
    DG_AUDIT_DUPLICATE,         /* a record appears twice */
    DG_AUDIT_CHAIN,             /* prev_hash is not the previous record's this_hash */
    DG_AUDIT_GATEWAY_CHANGED,   /* gateway_id differs within one chain */
    DG_AUDIT_RESTART,           /* a new chain starts (seq 1) and opts.no_restart is set */
    DG_AUDIT_MISSING_SIGNATURE, /* a checkpoint without a signature */
    DG_AUDIT_BAD_SIGNATURE,     /* a checkpoint whose signature does not verify */
    DG_AUDIT_FORGED_CHECKPOINT, /* a checkpoint whose count/head disagree with the chain */
    DG_AUDIT_STRAY_SIGNATURE,   /* a signature on a record that is not a checkpoint */
    DG_AUDIT_UNSIGNED_TAIL,     /* records after the last checkpoint (require_signed_tail) */
    DG_AUDIT_EMPTY,             /* no record at all */
    DG_AUDIT_OPEN_END,          /* no gateway.stop after the last gateway.start (require_stop) */
    DG_AUDIT_FAULT__COUNT
};

/* Static short name: "edited", "gap", "bad-signature", ... */
const char *dg_audit_fault_name(enum dg_audit_fault f);

struct dg_audit_finding {
    enum dg_audit_fault fault;
    uint64_t seq;   /* of the record at fault; 0 if it could not be decoded */
    uint64_t index; /* its 1-based position in the trail (line of an export) */
    char what[400]; /* one line for a human */
};

struct dg_audit_verify_opts {
    const dg_audit_key *pubkey; /* required: checks every checkpoint's signature */
    uint64_t from_seq;          /* 0: the trail must start at seq 1; N: at seq N */
    bool any_start;             /* accept whatever seq comes first (following a live topic) */
    bool skip_duplicates;       /* a record seen again (same seq and hash) is skipped, not a
                                   break: QoS 1 redelivery on a live topic */
    bool no_restart;            /* a new chain (seq 1 again) is a break */
    bool require_signed_tail;   /* records after the last checkpoint are a break */
    bool require_stop;          /* the trail must end closed: gateway.stop after the last
                                   gateway.start */
};

#define DG_AUDIT_RECENT 1024 /* records remembered to recognise duplicates */

struct dg_audit_verifier {
    struct dg_audit_verify_opts opts;
    /* progress */
    uint64_t index;          /* records fed so far (duplicates included) */
    uint64_t records;        /* accepted, checkpoints included */
    uint64_t checkpoints;    /* verified checkpoints */
    uint64_t segments;       /* chains seen (1 + restarts) */
    uint64_t duplicates;     /* skipped (skip_duplicates) */
    uint64_t unsigned_total; /* records after the last checkpoint of finished segments */
    uint64_t unsigned_first; /* first unsigned seq of the first segment that ended unsigned */
    uint64_t unsigned_first_segment;
    uint64_t unsigned_first_index;
    /* closed end: seq of a gateway.stop with no gateway.start after it; 0 = none */
    uint64_t stop_seq;
    /* the current segment */
    bool have_last;
    uint64_t seg_first_seq, last_seq, last_checkpoint_seq, last_index;
    uint64_t tail_index; /* position of its first record after its last checkpoint; 0 = none */
    uint8_t last_hash[32];
    char gateway_id[DG_AUDIT_ID_MAX + 1];
    size_t gateway_id_len;
    struct {
        uint64_t seq;
        uint8_t hash[32];
    } recent[DG_AUDIT_RECENT];
    uint64_t n_recent;
    /* the verdict */
    bool pending; /* a gap waiting for the next record to be classified */
    uint64_t pending_expected;
    bool broken;
    bool finished;
    struct dg_audit_finding finding;
};

/* What one record did to the trail. */
enum dg_audit_step {
    DG_AUDIT_STEP_BROKEN = -1,    /* v->finding says where and why; feed no more */
    DG_AUDIT_STEP_RECORD = 0,     /* an ordinary record, chained correctly */
    DG_AUDIT_STEP_CHECKPOINT = 1, /* a checkpoint whose signature verified */
    DG_AUDIT_STEP_RESTART = 2,    /* seq 1 again: a new chain (gateway restart) */
    DG_AUDIT_STEP_DUPLICATE = 3,  /* skipped (skip_duplicates) */
    DG_AUDIT_STEP_PENDING = 4,    /* a gap; classified by the next record or finish */
};

/* Start a verifier; opts is copied (pubkey is borrowed for its lifetime). */
void dg_audit_verifier_init(struct dg_audit_verifier *v, const struct dg_audit_verify_opts *opts);

/*
 * Feed the next record (buf[len], borrowed, only read during the call). Once
 * BROKEN, every further call returns BROKEN and changes nothing.
 */
enum dg_audit_step dg_audit_verify_record(struct dg_audit_verifier *v, const uint8_t *buf,
                                          size_t len);

/* Record a break that is not about a record's bytes (e.g. an unreadable
   export line), at the next position. Returns DG_AUDIT_STEP_BROKEN. */
enum dg_audit_step dg_audit_verify_fail(struct dg_audit_verifier *v, enum dg_audit_fault fault,
                                        const char *what);

struct dg_audit_summary {
    uint64_t records, checkpoints, segments, duplicates;
    uint64_t first_seq, last_seq;    /* of the last segment */
    uint64_t last_checkpoint_seq;    /* of the last segment; 0 = none */
    uint64_t unsigned_records;       /* after the last checkpoint, all segments */
    uint64_t tail_first_seq;         /* the last segment's unsigned tail; 0 = none */
    uint64_t unsigned_first_seq;     /* first unsigned seq (earliest segment) */
    uint64_t unsigned_first_segment; /* 1-based segment it is in */
    uint64_t stop_seq;               /* the closing gateway.stop; 0 = the trail is open */
};

/*
 * End of the trail: settle a pending gap, count the unsigned tail, and
 * fill *sum. Returns DG_AUDIT_INTACT, or the fault (also in v->finding):
 * the first break, DG_AUDIT_EMPTY, DG_AUDIT_UNSIGNED_TAIL when
 * opts.require_signed_tail and some records are unsigned, or
 * DG_AUDIT_OPEN_END when opts.require_stop and the trail is not closed
 * (checked in that order).
 */
enum dg_audit_fault dg_audit_verify_finish(struct dg_audit_verifier *v,
                                           struct dg_audit_summary *sum);

/* ------------------------------------------------------------ records */

/* The fields of one AuditRecord, as slices of the bytes it was parsed from. */
struct dg_audit_slice {
    const uint8_t *p;
    size_t len;
};
struct dg_audit_view {
    uint64_t schema_version, seq, time_ms;
    struct dg_audit_slice gateway_id, event_type, action, participant_id, object_type, object_id,
        detail, prev_hash, this_hash, signature;
    /* Where field 14 (this_hash, tag included) sits in the bytes; len 0 = absent. */
    size_t hash_field_off, hash_field_len;
};

/*
 * Parse buf[len] as an AuditRecord at the wire level into *v (slices point
 * into buf). Unknown fields are skipped; a known field twice, a wrong wire
 * type, a truncated field or a group is refused. Returns 0, or -DG_EINVAL
 * with a reason in why[whylen].
 */
int dg_audit_record_parse(const uint8_t *buf, size_t len, struct dg_audit_view *v, char *why,
                          size_t whylen);

/* SHA-256 of buf[len] without field 14: what this_hash must be. 0 or -DG_EIO. */
int dg_audit_record_hash(const uint8_t *buf, size_t len, const struct dg_audit_view *v,
                         uint8_t out[32]);

/* ------------------------------------------------------------ export format */

/*
 * An exported trail is text: one record per line, the record's bytes in
 * standard base64 (RFC 4648, with padding), then '\n'. Nothing else.
 *
 * dg_audit_line_encode: buf[len] as base64 + '\n' + NUL into *out
 * (dg_malloc'd, caller frees), *outlen without the NUL. 0 or -DG_ENOMEM.
 * dg_audit_line_decode: line[len] (no '\n') into *out (dg_malloc'd, caller
 * frees) of *outlen bytes. 0, -DG_EINVAL (not canonical base64, or empty)
 * or -DG_ENOMEM.
 */
int dg_audit_line_encode(const uint8_t *buf, size_t len, char **out, size_t *outlen);
int dg_audit_line_decode(const char *line, size_t len, uint8_t **out, size_t *outlen);

/* Longest line (without its '\n') read as a record: a record is a few hundred bytes. */
#define DG_AUDIT_LINE_MAX (1u << 20)

/*
 * Feed the next line of an exported trail to v: line[len] (borrowed) as
 * getline() returns it, with its '\n'; lineno is its 1-based number, for the
 * finding's text. A line that decodes (dg_audit_line_decode) is fed as a
 * record (dg_audit_verify_record); a line without its '\n' (the export was
 * cut off mid-record), one longer than DG_AUDIT_LINE_MAX, or one that is not
 * canonical base64 is a DG_AUDIT_MALFORMED break (dg_audit_verify_fail).
 * Returns 0 with the step in *step, or -DG_ENOMEM (nothing fed: the trail
 * could not be checked). This is what `dosegate-audit verify FILE` does
 * with each line.
 */
int dg_audit_verify_line(struct dg_audit_verifier *v, const char *line, size_t len, uint64_t lineno,
                         enum dg_audit_step *step);

#endif
