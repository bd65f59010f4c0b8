/*
 * audit_verify.c — audit trail verification and the export format (see
 * audit_verify.h and docs/audit.md).
 *
 * Order of the checks on each record, so that the finding names the most
 * specific cause: the bytes parse; the record's own hash (an edit shows at
 * the edited record); redelivery; the sequence (start, gap, order, restart);
 * the link to the previous record (prev_hash); the gateway id; then, for a
 * checkpoint, its count and head against the chain and its signature.
 */
#include "audit_verify.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../core/alloc.h"
#include "../core/error.h"

static const char *const fault_names[DG_AUDIT_FAULT__COUNT] = {
    [DG_AUDIT_INTACT] = "intact",
    [DG_AUDIT_MALFORMED] = "malformed",
    [DG_AUDIT_EDITED] = "edited",
    [DG_AUDIT_TRUNCATED_START] = "truncated-start",
    [DG_AUDIT_GAP] = "gap",
    [DG_AUDIT_REORDERED] = "reordered",
    [DG_AUDIT_DUPLICATE] = "duplicate",
    [DG_AUDIT_CHAIN] = "chain",
    [DG_AUDIT_GATEWAY_CHANGED] = "gateway-changed",
    [DG_AUDIT_RESTART] = "restart",
    [DG_AUDIT_MISSING_SIGNATURE] = "missing-signature",
    [DG_AUDIT_BAD_SIGNATURE] = "bad-signature",
    [DG_AUDIT_FORGED_CHECKPOINT] = "forged-checkpoint",
    [DG_AUDIT_STRAY_SIGNATURE] = "stray-signature",
    [DG_AUDIT_UNSIGNED_TAIL] = "unsigned-tail",
    [DG_AUDIT_EMPTY] = "empty",
    [DG_AUDIT_OPEN_END] = "open-end",
};

/* The events that open and close a gateway run (gateway.c). */
#define START_EVENT "gateway.start"
#define STOP_EVENT  "gateway.stop"

const char *dg_audit_fault_name(enum dg_audit_fault f)
{
    return f >= 0 && f < DG_AUDIT_FAULT__COUNT && fault_names[f] ? fault_names[f] : "unknown";
}

/* ------------------------------------------------------------ wire format */

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

static int get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*pos >= len) return -1;
        uint8_t b = p[(*pos)++];
        if (shift == 63 && b > 1) return -1; /* more than 64 bits */
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

static int parse_fail(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return -DG_EINVAL;
}

int dg_audit_record_parse(const uint8_t *buf, size_t len, struct dg_audit_view *v, char *why,
                          size_t whylen)
{
    memset(v, 0, sizeof *v);
    if (!buf || len == 0) return parse_fail(why, whylen, "empty");
    uint32_t seen = 0;
    size_t pos = 0;
    while (pos < len) {
        size_t start = pos;
        uint64_t tag, val = 0;
        if (get_varint(buf, len, &pos, &tag) != 0)
            return parse_fail(why, whylen, "bad tag at byte %zu", start);
        uint64_t field = tag >> 3;
        unsigned wt = (unsigned)(tag & 7);
        if (field == 0 || field > 0x1fffffff)
            return parse_fail(why, whylen, "bad field number at byte %zu", start);
        struct dg_audit_slice s = {NULL, 0};
        switch (wt) {
        case WT_VARINT:
            if (get_varint(buf, len, &pos, &val) != 0)
                return parse_fail(why, whylen, "field %" PRIu64 ": bad varint", field);
            break;
        case WT_I64:
        case WT_I32: {
            size_t n = wt == WT_I64 ? 8 : 4;
            if (len - pos < n)
                return parse_fail(why, whylen, "field %" PRIu64 ": truncated", field);
            pos += n;
            break;
        }
        case WT_LEN:
            if (get_varint(buf, len, &pos, &val) != 0 || val > len - pos)
                return parse_fail(why, whylen, "field %" PRIu64 ": bad or truncated length", field);
            s.p = buf + pos;
            s.len = (size_t)val;
            pos += (size_t)val;
            break;
        default:
            return parse_fail(why, whylen, "field %" PRIu64 ": wire type %u not allowed", field,
                              wt);
        }
        if (field > 15) continue; /* unknown: skipped, but covered by the hash */
        if (seen & (1u << field))
            return parse_fail(why, whylen, "field %" PRIu64 " appears twice", field);
        seen |= 1u << field;
        int want_len = !(field == 1 || field == 2 || field == 3 || field == 7 || field == 8);
        if ((unsigned)want_len * WT_LEN != wt)
            return parse_fail(why, whylen, "field %" PRIu64 ": wrong wire type %u", field, wt);
        switch (field) {
        case 1:
            v->schema_version = val;
            break;
        case 2:
            v->seq = val;
            break;
        case 3:
            v->time_ms = val;
            break;
        case 4:
            v->gateway_id = s;
            break;
        case 5:
            v->event_type = s;
            break;
        case 6:
            v->action = s;
            break;
        case 9:
            v->participant_id = s;
            break;
        case 10:
            v->object_type = s;
            break;
        case 11:
            v->object_id = s;
            break;
        case 12:
            v->detail = s;
            break;
        case 13:
            v->prev_hash = s;
            break;
        case 14:
            v->this_hash = s;
            v->hash_field_off = start;
            v->hash_field_len = pos - start;
            break;
        case 15:
            v->signature = s;
            break;
        default:
            break; /* 7 outcome, 8 participant_kind: not needed to verify */
        }
    }
    return 0;
}

int dg_audit_record_hash(const uint8_t *buf, size_t len, const struct dg_audit_view *v,
                         uint8_t out[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) return -DG_EIO;
    size_t off = v->hash_field_len ? v->hash_field_off : len;
    size_t after = v->hash_field_len ? off + v->hash_field_len : len;
    unsigned int n = 0;
    int ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, buf, off) == 1 &&
             EVP_DigestUpdate(ctx, buf + after, len - after) == 1 &&
             EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == 32;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -DG_EIO;
}

/* ------------------------------------------------------------ verifier */

static const uint8_t zero_hash[32];

void dg_audit_verifier_init(struct dg_audit_verifier *v, const struct dg_audit_verify_opts *opts)
{
    memset(v, 0, sizeof *v);
    v->opts = *opts;
}

#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static enum dg_audit_step
brk(struct dg_audit_verifier *v, enum dg_audit_fault fault, uint64_t seq, uint64_t index,
    const char *fmt, ...)
{
    v->broken = true;
    v->pending = false;
    v->finding.fault = fault;
    v->finding.seq = seq;
    v->finding.index = index;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->finding.what, sizeof v->finding.what, fmt, ap);
    va_end(ap);
    return DG_AUDIT_STEP_BROKEN;
}

enum dg_audit_step dg_audit_verify_fail(struct dg_audit_verifier *v, enum dg_audit_fault fault,
                                        const char *what)
{
    if (v->broken) return DG_AUDIT_STEP_BROKEN;
    v->index++;
    if (v->pending) {
        /* Nothing to classify the gap with: it stays a gap. */
        v->broken = true;
        v->pending = false;
        return DG_AUDIT_STEP_BROKEN;
    }
    return brk(v, fault, 0, v->index, "%s", what);
}

static bool slice_eq(struct dg_audit_slice s, const void *p, size_t n)
{
    return s.len == n && (n == 0 || memcmp(s.p, p, n) == 0);
}

static bool recently_seen(const struct dg_audit_verifier *v, uint64_t seq, const uint8_t *hash)
{
    uint64_t n = v->n_recent < DG_AUDIT_RECENT ? v->n_recent : DG_AUDIT_RECENT;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t k = (v->n_recent - 1 - i) % DG_AUDIT_RECENT;
        if (v->recent[k].seq == seq && memcmp(v->recent[k].hash, hash, 32) == 0) return true;
    }
    return false;
}

static void remember(struct dg_audit_verifier *v, uint64_t seq, const uint8_t *hash)
{
    uint64_t k = v->n_recent % DG_AUDIT_RECENT;
    v->recent[k].seq = seq;
    memcpy(v->recent[k].hash, hash, 32);
    v->n_recent++;
}

/* Count the current segment's unsigned tail into the totals. */
static void close_segment(struct dg_audit_verifier *v)
{
    if (!v->have_last) return;
    uint64_t signed_to = v->last_checkpoint_seq > v->seg_first_seq - 1 ? v->last_checkpoint_seq
                                                                       : v->seg_first_seq - 1;
    uint64_t n = v->last_seq - signed_to;
    if (n == 0) return;
    if (v->unsigned_total == 0) {
        v->unsigned_first = signed_to + 1;
        v->unsigned_first_segment = v->segments;
        /* Its position, not last_index - n + 1: skipped redeliveries
           have positions too. */
        v->unsigned_first_index = v->tail_index;
    }
    v->unsigned_total += n;
}

static void start_segment(struct dg_audit_verifier *v, const struct dg_audit_view *r)
{
    v->segments++;
    v->seg_first_seq = r->seq;
    v->last_checkpoint_seq = 0;
    v->tail_index = 0;
    v->n_recent = 0;
    memcpy(v->gateway_id, r->gateway_id.p, r->gateway_id.len);
    v->gateway_id[r->gateway_id.len] = '\0';
    v->gateway_id_len = r->gateway_id.len;
}

/* "seq A" or "seq A..B" into buf. */
static const char *seq_range(char *buf, size_t buflen, uint64_t a, uint64_t b)
{
    if (a == b)
        snprintf(buf, buflen, "seq %" PRIu64, a);
    else
        snprintf(buf, buflen, "seq %" PRIu64 "..%" PRIu64, a, b);
    return buf;
}

/* The pending gap, classified by the record that came after it (r, or NULL
   if that record could not be parsed or the trail ended). */
static enum dg_audit_step settle_gap(struct dg_audit_verifier *v, const struct dg_audit_view *r)
{
    uint64_t jumped = v->finding.seq, expected = v->pending_expected;
    if (r && r->seq >= expected && r->seq < jumped)
        return brk(v, DG_AUDIT_REORDERED, jumped, v->finding.index,
                   "seq %" PRIu64 " comes before seq %" PRIu64 ": records out of order", jumped,
                   r->seq);
    v->broken = true;
    v->pending = false;
    return DG_AUDIT_STEP_BROKEN;
}

static enum dg_audit_step check_checkpoint(struct dg_audit_verifier *v,
                                           const struct dg_audit_view *r, uint64_t idx)
{
    char hex[65], expect[96], got[120];
    if (r->signature.len == 0)
        return brk(v, DG_AUDIT_MISSING_SIGNATURE, r->seq, idx,
                   "checkpoint without a signature: seq ..%" PRIu64 " are not signed", r->seq - 1);
    if (r->seq < 2)
        return brk(v, DG_AUDIT_FORGED_CHECKPOINT, r->seq, idx,
                   "a checkpoint at seq 1 has nothing to sign");
    /* count and head must be the chain's: the previous record's seq and
       this_hash (== this record's prev_hash, already checked against it). */
    if (dg_audit_checkpoint_detail(expect, sizeof expect, r->seq - 1, r->prev_hash.p) != 0)
        return brk(v, DG_AUDIT_MALFORMED, r->seq, idx, "cannot format the checkpoint detail");
    if (!slice_eq(r->detail, expect, strlen(expect))) {
        size_t n = r->detail.len < sizeof got - 1 ? r->detail.len : sizeof got - 1;
        for (size_t i = 0; i < n; i++) {
            uint8_t c = r->detail.p[i];
            got[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
        }
        got[n] = '\0';
        return brk(v, DG_AUDIT_FORGED_CHECKPOINT, r->seq, idx,
                   "checkpoint detail \"%s\" disagrees with the chain, which has \"%s\"", got,
                   expect);
    }
    uint8_t msg[DG_AUDIT_SIGNED_MAX];
    size_t mlen = 0;
    if (dg_audit_checkpoint_message(msg, sizeof msg, &mlen, (const char *)r->gateway_id.p,
                                    r->gateway_id.len, r->seq - 1, r->prev_hash.p) != 0)
        return brk(v, DG_AUDIT_MALFORMED, r->seq, idx, "cannot build the signed bytes");
    if (r->signature.len != DG_AUDIT_SIG_LEN)
        return brk(v, DG_AUDIT_BAD_SIGNATURE, r->seq, idx,
                   "checkpoint signature is %zu bytes, not %d (Ed25519)", r->signature.len,
                   DG_AUDIT_SIG_LEN);
    if (dg_audit_verify_signature(v->opts.pubkey, msg, mlen, r->signature.p, r->signature.len) !=
        0) {
        if (dg_audit_key_fingerprint(v->opts.pubkey, hex) != 0) snprintf(hex, sizeof hex, "?");
        return brk(v, DG_AUDIT_BAD_SIGNATURE, r->seq, idx,
                   "checkpoint signature over seq ..%" PRIu64
                   " does not verify with the public key (sha256 %.16s...): signed with another "
                   "key, or the checkpoint or a record before it was altered",
                   r->seq - 1, hex);
    }
    return DG_AUDIT_STEP_CHECKPOINT;
}

enum dg_audit_step dg_audit_verify_record(struct dg_audit_verifier *v, const uint8_t *buf,
                                          size_t len)
{
    if (v->broken) return DG_AUDIT_STEP_BROKEN;
    if (!v->opts.pubkey) return brk(v, DG_AUDIT_MALFORMED, 0, v->index, "no public key given");
    uint64_t idx = ++v->index;
    struct dg_audit_view r;
    char why[160], a[64], hex[65];
    int prc = dg_audit_record_parse(buf, len, &r, why, sizeof why);
    if (v->pending) return settle_gap(v, prc == 0 ? &r : NULL);
    if (prc != 0) return brk(v, DG_AUDIT_MALFORMED, 0, idx, "not an AuditRecord: %s", why);

    /* The record on its own. */
    if (r.schema_version != 1)
        return brk(v, DG_AUDIT_MALFORMED, r.seq, idx, "schema_version %" PRIu64 " is not 1",
                   r.schema_version);
    if (r.seq == 0) return brk(v, DG_AUDIT_MALFORMED, 0, idx, "no seq");
    if (r.prev_hash.len != 32 || r.this_hash.len != 32)
        return brk(v, DG_AUDIT_MALFORMED, r.seq, idx,
                   "prev_hash is %zu bytes and this_hash %zu: both must be 32", r.prev_hash.len,
                   r.this_hash.len);
    if (r.gateway_id.len == 0 || r.gateway_id.len > DG_AUDIT_ID_MAX ||
        memchr(r.gateway_id.p, '\0', r.gateway_id.len))
        return brk(v, DG_AUDIT_MALFORMED, r.seq, idx, "gateway_id missing, too long or has NUL");
    uint8_t h[32];
    if (dg_audit_record_hash(buf, len, &r, h) != 0)
        return brk(v, DG_AUDIT_MALFORMED, r.seq, idx, "SHA-256 failed");
    if (memcmp(h, r.this_hash.p, 32) != 0)
        return brk(v, DG_AUDIT_EDITED, r.seq, idx,
                   "this_hash does not match the record's bytes: the record was altered");

    enum dg_audit_step step = DG_AUDIT_STEP_RECORD;
    if (v->have_last && r.seq <= v->last_seq && recently_seen(v, r.seq, r.this_hash.p)) {
        if (v->opts.skip_duplicates) {
            v->duplicates++;
            return DG_AUDIT_STEP_DUPLICATE;
        }
        return brk(v, DG_AUDIT_DUPLICATE, r.seq, idx, "seq %" PRIu64 " appears a second time",
                   r.seq);
    }

    /* Its place in the trail. */
    bool zero_prev = memcmp(r.prev_hash.p, zero_hash, 32) == 0;
    if (!v->have_last) {
        if (!v->opts.any_start) {
            uint64_t want = v->opts.from_seq ? v->opts.from_seq : 1;
            if (r.seq != want && v->opts.from_seq)
                return brk(v, DG_AUDIT_TRUNCATED_START, r.seq, idx,
                           "the trail starts at seq %" PRIu64 ", not at --from-seq %" PRIu64, r.seq,
                           want);
            if (r.seq != want)
                return brk(v, DG_AUDIT_TRUNCATED_START, r.seq, idx,
                           "the trail starts at seq %" PRIu64 ": %s cut off at the start "
                           "(--from-seq %" PRIu64 " accepts a trail that starts there)",
                           r.seq, seq_range(a, sizeof a, 1, r.seq - 1), r.seq);
        }
        if (r.seq == 1 && !zero_prev)
            return brk(v, DG_AUDIT_CHAIN, r.seq, idx, "seq 1 must have an all-zero prev_hash");
        start_segment(v, &r);
    } else if (r.seq == 1 && zero_prev) {
        if (v->opts.no_restart)
            return brk(v, DG_AUDIT_RESTART, r.seq, idx,
                       "a new chain starts after seq %" PRIu64 " (gateway restart)", v->last_seq);
        close_segment(v);
        start_segment(v, &r);
        step = DG_AUDIT_STEP_RESTART;
    } else {
        uint64_t expected = v->last_seq + 1;
        if (r.seq > expected) {
            brk(v, DG_AUDIT_GAP, r.seq, idx, "%s missing before it (deleted, or moved)",
                seq_range(a, sizeof a, expected, r.seq - 1));
            v->broken = false;
            v->pending = true;
            v->pending_expected = expected;
            return DG_AUDIT_STEP_PENDING;
        }
        if (r.seq < expected)
            return brk(v, DG_AUDIT_REORDERED, r.seq, idx,
                       "seq %" PRIu64 " comes after seq %" PRIu64 ": records out of order", r.seq,
                       v->last_seq);
        if (memcmp(r.prev_hash.p, v->last_hash, 32) != 0) {
            dg_hex(hex, v->last_hash, 32);
            return brk(v, DG_AUDIT_CHAIN, r.seq, idx,
                       "prev_hash is not the this_hash of seq %" PRIu64
                       " (%.16s...): that record was replaced, or this one was",
                       v->last_seq, hex);
        }
        if (!slice_eq(r.gateway_id, v->gateway_id, v->gateway_id_len))
            return brk(v, DG_AUDIT_GATEWAY_CHANGED, r.seq, idx,
                       "gateway_id differs from the chain's (%s)", v->gateway_id);
    }

    /* Checkpoints. */
    if (slice_eq(r.event_type, DG_AUDIT_CHECKPOINT_EVENT, strlen(DG_AUDIT_CHECKPOINT_EVENT))) {
        enum dg_audit_step c = check_checkpoint(v, &r, idx);
        if (c == DG_AUDIT_STEP_BROKEN) return c;
        v->checkpoints++;
        v->last_checkpoint_seq = r.seq;
        v->tail_index = 0;
        if (step == DG_AUDIT_STEP_RECORD) step = c;
    } else if (r.signature.len > 0) {
        return brk(v, DG_AUDIT_STRAY_SIGNATURE, r.seq, idx,
                   "a signature on a record that is not a checkpoint");
    } else if (v->tail_index == 0) {
        v->tail_index = idx; /* the first record the next checkpoint must sign */
    }
    /* Open and closed: a clean stop closes the trail until the next start. */
    if (slice_eq(r.event_type, STOP_EVENT, strlen(STOP_EVENT)))
        v->stop_seq = r.seq;
    else if (slice_eq(r.event_type, START_EVENT, strlen(START_EVENT)))
        v->stop_seq = 0;

    v->have_last = true;
    v->last_seq = r.seq;
    v->last_index = idx;
    memcpy(v->last_hash, r.this_hash.p, 32);
    remember(v, r.seq, r.this_hash.p);
    v->records++;
    return step;
}

enum dg_audit_fault dg_audit_verify_finish(struct dg_audit_verifier *v,
                                           struct dg_audit_summary *sum)
{
    if (v->pending) settle_gap(v, NULL);
    if (!v->finished && !v->broken) close_segment(v);
    v->finished = true;
    if (sum) {
        memset(sum, 0, sizeof *sum);
        sum->records = v->records;
        sum->checkpoints = v->checkpoints;
        sum->segments = v->segments;
        sum->duplicates = v->duplicates;
        sum->first_seq = v->have_last ? v->seg_first_seq : 0;
        sum->last_seq = v->have_last ? v->last_seq : 0;
        sum->last_checkpoint_seq = v->last_checkpoint_seq;
        sum->unsigned_records = v->unsigned_total;
        if (v->have_last && v->last_seq > v->last_checkpoint_seq &&
            v->last_seq >= v->seg_first_seq) {
            uint64_t from = v->last_checkpoint_seq >= v->seg_first_seq ? v->last_checkpoint_seq + 1
                                                                       : v->seg_first_seq;
            sum->tail_first_seq = from;
        }
        sum->unsigned_first_seq = v->unsigned_first;
        sum->unsigned_first_segment = v->unsigned_first_segment;
        sum->stop_seq = v->stop_seq;
    }
    if (v->broken) return v->finding.fault;
    if (v->records == 0) {
        brk(v, DG_AUDIT_EMPTY, 0, 0, "no audit record at all");
        return DG_AUDIT_EMPTY;
    }
    if (v->opts.require_signed_tail && v->unsigned_total > 0) {
        char a[64];
        const char *tail = "records cut off after them could not be detected";
        if (v->segments == 1)
            brk(v, DG_AUDIT_UNSIGNED_TAIL, v->unsigned_first, v->unsigned_first_index,
                "%" PRIu64 " record%s after the last checkpoint (%s) %s not signed: %s",
                v->unsigned_total, v->unsigned_total == 1 ? "" : "s",
                seq_range(a, sizeof a, v->unsigned_first, v->last_seq),
                v->unsigned_total == 1 ? "is" : "are", tail);
        else
            brk(v, DG_AUDIT_UNSIGNED_TAIL, v->unsigned_first, v->unsigned_first_index,
                "%" PRIu64 " record%s after the last checkpoint of %s chain %s not signed, the "
                "first at seq %" PRIu64 " (chain %" PRIu64 " of %" PRIu64 "): %s",
                v->unsigned_total, v->unsigned_total == 1 ? "" : "s",
                v->unsigned_total == 1 ? "its" : "their", v->unsigned_total == 1 ? "is" : "are",
                v->unsigned_first, v->unsigned_first_segment, v->segments, tail);
        return DG_AUDIT_UNSIGNED_TAIL;
    }
    if (v->opts.require_stop && v->stop_seq == 0) {
        brk(v, DG_AUDIT_OPEN_END, v->last_seq, v->last_index,
            "the trail ends at seq %" PRIu64 " with no " STOP_EVENT " after the last " START_EVENT
            ": the gateway was still running or did not stop cleanly, or the trail was cut; "
            "records after seq %" PRIu64 " may be missing",
            v->last_seq, v->last_seq);
        return DG_AUDIT_OPEN_END;
    }
    return DG_AUDIT_INTACT;
}

/* ------------------------------------------------------------ export lines */

int dg_audit_line_encode(const uint8_t *buf, size_t len, char **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (len > (size_t)1 << 28) return -DG_EINVAL;
    size_t n = 4 * ((len + 2) / 3);
    char *s = dg_malloc(n + 2);
    if (!s) return -DG_ENOMEM;
    int w = EVP_EncodeBlock((unsigned char *)s, buf, (int)len);
    if (w < 0 || (size_t)w != n) {
        dg_free(s);
        return -DG_EINVAL;
    }
    s[n] = '\n';
    s[n + 1] = '\0';
    *out = s;
    *outlen = n + 1;
    return 0;
}

int dg_audit_line_decode(const char *line, size_t len, uint8_t **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (len == 0 || len % 4 != 0 || len > (size_t)1 << 28) return -DG_EINVAL;
    size_t pad = line[len - 1] == '=' ? (line[len - 2] == '=' ? 2 : 1) : 0;
    size_t n = len / 4 * 3;
    uint8_t *b = dg_malloc(n + 1);
    if (!b) return -DG_ENOMEM;
    int got = EVP_DecodeBlock(b, (const unsigned char *)line, (int)len);
    if (got < 0 || (size_t)got != n) {
        dg_free(b);
        return -DG_EINVAL;
    }
    /* Canonical only: re-encoding must give the line back, byte for byte
       (no whitespace, no stray bits in the last character). */
    char *again = NULL;
    size_t alen = 0;
    int rc = dg_audit_line_encode(b, n - pad, &again, &alen);
    if (rc != 0 || alen != len + 1 || memcmp(again, line, len) != 0) {
        dg_free(again);
        dg_free(b);
        return rc == -DG_ENOMEM ? rc : -DG_EINVAL;
    }
    dg_free(again);
    *out = b;
    *outlen = n - pad;
    return 0;
}

int dg_audit_verify_line(struct dg_audit_verifier *v, const char *line, size_t len, uint64_t lineno,
                         enum dg_audit_step *step)
{
    char what[160];
    if (len == 0 || line[len - 1] != '\n') {
        snprintf(what, sizeof what,
                 "line %" PRIu64 " is incomplete (no newline): the export was cut off mid-record",
                 lineno);
        *step = dg_audit_verify_fail(v, DG_AUDIT_MALFORMED, what);
        return 0;
    }
    if (len - 1 > DG_AUDIT_LINE_MAX) {
        snprintf(what, sizeof what, "line %" PRIu64 " is too long to be a record", lineno);
        *step = dg_audit_verify_fail(v, DG_AUDIT_MALFORMED, what);
        return 0;
    }
    uint8_t *rec = NULL;
    size_t rlen = 0;
    int rc = dg_audit_line_decode(line, len - 1, &rec, &rlen);
    if (rc == -DG_ENOMEM) return rc;
    if (rc != 0) {
        snprintf(what, sizeof what,
                 "line %" PRIu64 " is not a base64-encoded record (export format)", lineno);
        *step = dg_audit_verify_fail(v, DG_AUDIT_MALFORMED, what);
        return 0;
    }
    *step = dg_audit_verify_record(v, rec, rlen);
    dg_free(rec);
    return 0;
}
