/*
 * fuzz_audit_verify.c — libFuzzer harness for the audit-trail verifier
 * (gateway/io/audit_verify.c): the AuditRecord wire parser and hash, the
 * chain, sequence, duplicate, restart and open/closed-end checks, the
 * checkpoints' Ed25519 signatures, and the export-line reader that
 * `dosegate-audit verify FILE` uses (dg_audit_verify_line, with the
 * base64 line codec).
 *
 * Input layout:
 *   byte 0   options: bit 0 require_signed_tail, 1 require_stop,
 *            2 no_restart, 3 skip_duplicates, 4 any_start, 5 from_seq =
 *            byte 1, 7 the rest is an export file; else records
 *   byte 1   from_seq (with bit 5; 0 = none)
 *   records  each a 2-byte big-endian length L then L bytes (a short last
 *            one takes what is left); L = 0xffff feeds
 *            dg_audit_verify_fail (a line that could not be read) instead
 *   export   the rest is a file's text, fed line by line as getline()
 *            splits it (a last line without '\n' is fed as such: an export
 *            cut off mid-record)
 * Checkpoints are checked with the public half of tests/fuzz/audit_key.h,
 * whose private half signs the seeds (make_audit_seeds.c), so a mutated seed
 * exercises real signatures: valid, broken, or over the wrong count or head.
 *
 * Properties checked (a broken one aborts), besides the sanitizers:
 *   - the parser's slices lie inside the record, and so does field 14;
 *   - every step is one of enum dg_audit_step; once BROKEN, every later
 *     record or failure is BROKEN and changes neither the finding nor a
 *     counter; a PENDING gap is settled as BROKEN by whatever comes next;
 *   - each step moves the counters as documented: a record, checkpoint or
 *     restart is one more record (a checkpoint one more checkpoint, a
 *     restart one more segment, only without no_restart), a duplicate only
 *     with skip_duplicates and one more duplicate, the position +1 per call;
 *     an accepted record's seq is the previous one + 1, or 1 for a restart,
 *     or for the first one from_seq (1 without it) unless any_start;
 *   - a finding names a position fed so far, a known fault and a
 *     terminated text;
 *   - finish: the same answer twice; INTACT only with no break, at least
 *     one record, no unsigned record if require_signed_tail and a closing
 *     gateway.stop if require_stop; otherwise the fault is the finding's,
 *     GAP when a gap was pending, EMPTY exactly when nothing was accepted
 *     and nothing broke;
 *   - the summary agrees with what the harness counted from the steps
 *     (records, checkpoints, segments, duplicates, first and last seq, the
 *     unsigned records of every finished segment and the first of them,
 *     the closing stop) and with itself (checkpoints <= records, last
 *     checkpoint and unsigned tail inside the last segment); an unsigned
 *     tail is reported at its first record, by seq and position;
 *   - records mode: each record, exported as a line (dg_audit_line_encode)
 *     and read back, is the same bytes, and a second verifier fed those
 *     lines through dg_audit_verify_line takes the same steps to the same
 *     verdict, finding position and summary.
 *
 * What it found (fixed, with a test in tests/unit/test_audit.c): with
 * skip_duplicates and require_signed_tail, an unsigned tail holding a
 * redelivery was reported one position late per redelivery
 * (test_unsigned_tail_position_with_redelivery; seed
 * follow-unsigned-redelivery).
 *
 * Build: -DDG_FUZZ=ON with clang (tests/fuzz/CMakeLists.txt). Seeds:
 * tests/fuzz/corpus/audit_verify (written by make_audit_seeds).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_key.h"
#include "core/alloc.h"
#include "core/error.h"
#include "io/audit.h"
#include "io/audit_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static dg_audit_key *pub;

/* DG_FUZZ_AUDIT_TRACE=1 prints each input's verdict on stderr (to read the
   seeds or a crash input: fuzz_audit_verify -runs=0 DIR). */
static bool trace;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_audit_verify: property violated: %s\n", what);
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    check(dg_audit_key_from_pem(&pub, fuzz_audit_public_pem, strlen(fuzz_audit_public_pem), 0) == 0,
          "the fixture's public key loads");
    const char *e = getenv("DG_FUZZ_AUDIT_TRACE");
    trace = e && e[0] == '1';
    return 0;
}

/* ---------------------------------------------------------------- the harness's own count */

/* What the harness concludes from the steps alone. */
struct tally {
    uint64_t records, checkpoints, segments, duplicates;
    uint64_t first_seq, last_seq;  /* of the current segment */
    uint64_t since_checkpoint;     /* records of this segment after its last checkpoint */
    uint64_t tail_seq, tail_index; /* the first of them: its seq and position */
    uint64_t unsigned_closed;      /* of the segments a restart closed */
    /* The first unsigned record of all (of the earliest chain that ended
       unsigned): seq, position, chain; 0 = none yet. */
    uint64_t unsigned_seq, unsigned_index, unsigned_segment;
    uint64_t stop_seq; /* last gateway.stop with no gateway.start after it */
    bool broke;        /* a step was BROKEN */
    bool pending;      /* the last step was PENDING */
};

/* The current chain ends: count its unsigned records. */
static void close_tally(struct tally *t)
{
    if (t->since_checkpoint == 0) return;
    if (t->unsigned_closed == 0) {
        t->unsigned_seq = t->tail_seq;
        t->unsigned_index = t->tail_index;
        t->unsigned_segment = t->segments;
    }
    t->unsigned_closed += t->since_checkpoint;
}

/* Two verifiers, both large: not on the stack. */
static struct dg_audit_verifier v_main, v_lines;
static struct tally t_main, t_lines;

static bool slice_in(struct dg_audit_slice s, const uint8_t *buf, size_t len)
{
    if (s.len == 0) return true;
    return s.p >= buf && s.len <= len && (size_t)(s.p - buf) <= len - s.len;
}

static bool event_is(struct dg_audit_slice s, const char *name)
{
    return s.len == strlen(name) && memcmp(s.p, name, s.len) == 0;
}

/* The parser on its own: slices and field 14 inside the bytes. */
static void check_parse(const uint8_t *buf, size_t len, struct dg_audit_view *view, bool *ok)
{
    char why[160];
    why[0] = '\0';
    *ok = dg_audit_record_parse(buf, len, view, why, sizeof why) == 0;
    if (!*ok) {
        check(memchr(why, '\0', sizeof why) != NULL && why[0] != '\0', "a refusal says why");
        return;
    }
    const struct dg_audit_slice all[] = {
        view->gateway_id,  view->event_type, view->action, view->participant_id,
        view->object_type, view->object_id,  view->detail, view->prev_hash,
        view->this_hash,   view->signature,
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        check(slice_in(all[i], buf, len), "a parsed field lies inside the record");
    if (view->hash_field_len)
        check(view->hash_field_off <= len && view->hash_field_len <= len - view->hash_field_off,
              "field 14 lies inside the record");
    else
        check(view->this_hash.len == 0, "this_hash without field 14's place");
}

struct snap {
    uint64_t index, records, checkpoints, segments, duplicates, last_seq, last_checkpoint_seq;
    bool have_last, broken, pending;
    struct dg_audit_finding finding;
};

static void take_snap(const struct dg_audit_verifier *v, struct snap *s)
{
    s->index = v->index;
    s->records = v->records;
    s->checkpoints = v->checkpoints;
    s->segments = v->segments;
    s->duplicates = v->duplicates;
    s->last_seq = v->last_seq;
    s->last_checkpoint_seq = v->last_checkpoint_seq;
    s->have_last = v->have_last;
    s->broken = v->broken;
    s->pending = v->pending;
    s->finding = v->finding;
}

static void check_finding(const struct dg_audit_verifier *v)
{
    const struct dg_audit_finding *f = &v->finding;
    check(f->fault > DG_AUDIT_INTACT && f->fault < DG_AUDIT_FAULT__COUNT, "a break names a fault");
    check(strcmp(dg_audit_fault_name(f->fault), "unknown") != 0, "every fault has a name");
    check(memchr(f->what, '\0', sizeof f->what) != NULL, "the finding's text is terminated");
    check(f->index >= 1 && f->index <= v->index, "a finding names a position fed so far");
}

/*
 * One step of v, seen against the snapshot before it. rec/len: the record
 * fed (NULL for a failure or a line that is not one), for the harness's
 * own view of its seq and event type.
 */
static void check_step(const struct dg_audit_verifier *v, const struct snap *b,
                       enum dg_audit_step step, const uint8_t *rec, size_t len, struct tally *t)
{
    const struct dg_audit_verify_opts *o = &v->opts;
    check(step >= DG_AUDIT_STEP_BROKEN && step <= DG_AUDIT_STEP_PENDING, "a known step");
    if (b->broken) {
        check(step == DG_AUDIT_STEP_BROKEN, "once BROKEN, stays BROKEN");
        check(v->index == b->index && v->records == b->records &&
                  v->checkpoints == b->checkpoints && v->segments == b->segments &&
                  v->duplicates == b->duplicates,
              "a broken verifier counts nothing more");
        check(memcmp(&v->finding, &b->finding, sizeof b->finding) == 0,
              "a broken verifier keeps its first finding");
        return;
    }
    check(v->index == b->index + 1, "one position per record or failure");
    if (b->pending) check(step == DG_AUDIT_STEP_BROKEN, "a pending gap is settled as a break");
    t->pending = step == DG_AUDIT_STEP_PENDING;
    if (step == DG_AUDIT_STEP_BROKEN) {
        t->broke = true;
        check(v->broken && !v->pending, "BROKEN is broken");
        check_finding(v);
        check(v->records == b->records && v->checkpoints == b->checkpoints &&
                  v->duplicates == b->duplicates,
              "a break accepts nothing");
        return;
    }
    check(!v->broken, "only BROKEN breaks");
    if (step == DG_AUDIT_STEP_PENDING) {
        check(v->pending && v->records == b->records, "a gap waits, accepting nothing");
        check(v->finding.fault == DG_AUDIT_GAP, "a pending gap is a gap");
        return;
    }
    if (step == DG_AUDIT_STEP_DUPLICATE) {
        check(o->skip_duplicates, "duplicates are skipped only when asked");
        check(v->duplicates == b->duplicates + 1 && v->records == b->records,
              "a skipped duplicate is counted, not accepted");
        t->duplicates++;
        return;
    }
    /* Accepted: a record, a checkpoint or a restart. */
    check(v->records == b->records + 1, "an accepted record is counted once");
    check(v->have_last, "an accepted record is the last one");
    struct dg_audit_view view;
    bool parsed = false;
    check(rec != NULL, "an accepted step comes from a record");
    check_parse(rec, len, &view, &parsed);
    check(parsed && view.seq == v->last_seq, "the accepted record is the last seq");
    t->records++;
    if (!b->have_last) {
        check(v->segments == 1 && step != DG_AUDIT_STEP_RESTART, "the first record starts chain 1");
        if (!o->any_start)
            check(v->last_seq == (o->from_seq ? o->from_seq : 1),
                  "the trail starts at from_seq (1 without it)");
        t->segments = 1;
        t->first_seq = v->last_seq;
        t->since_checkpoint = 0;
    } else if (step == DG_AUDIT_STEP_RESTART) {
        check(!o->no_restart, "no restart with no_restart");
        check(v->last_seq == 1 && v->segments == b->segments + 1, "a restart starts at seq 1");
        close_tally(t);
        t->segments++;
        t->first_seq = 1;
        t->since_checkpoint = 0;
    } else {
        check(v->segments == b->segments, "only a restart starts a chain");
        check(v->last_seq == b->last_seq + 1, "an accepted record follows the last one");
    }
    t->last_seq = v->last_seq;
    if (step == DG_AUDIT_STEP_CHECKPOINT) {
        check(v->checkpoints == b->checkpoints + 1 && v->last_checkpoint_seq == v->last_seq,
              "a verified checkpoint is counted");
        check(event_is(view.event_type, DG_AUDIT_CHECKPOINT_EVENT) &&
                  view.signature.len == DG_AUDIT_SIG_LEN,
              "a verified checkpoint is a signed checkpoint record");
        t->checkpoints++;
        t->since_checkpoint = 0;
    } else {
        check(v->checkpoints == b->checkpoints, "only CHECKPOINT counts a checkpoint");
        check(view.signature.len == 0, "an accepted ordinary record carries no signature");
        if (t->since_checkpoint++ == 0) {
            t->tail_seq = v->last_seq;
            t->tail_index = v->index;
        }
    }
    if (event_is(view.event_type, "gateway.stop"))
        t->stop_seq = view.seq;
    else if (event_is(view.event_type, "gateway.start"))
        t->stop_seq = 0;
}

static void check_summary(const struct dg_audit_summary *s, const struct tally *t)
{
    check(s->records == t->records && s->checkpoints == t->checkpoints &&
              s->segments == t->segments && s->duplicates == t->duplicates,
          "the summary counts what the steps said");
    check(s->checkpoints <= s->records && s->segments <= s->records,
          "checkpoints and chains are records");
    if (s->records) {
        check(s->first_seq == t->first_seq && s->last_seq == t->last_seq,
              "the summary's last chain is the steps'");
        check(s->first_seq <= s->last_seq, "a chain's seqs go up");
        check(s->last_checkpoint_seq == 0 ||
                  (s->last_checkpoint_seq >= s->first_seq && s->last_checkpoint_seq <= s->last_seq),
              "the last checkpoint is in the last chain");
        check(s->tail_first_seq == 0 ||
                  (s->tail_first_seq > s->last_checkpoint_seq &&
                   s->tail_first_seq >= s->first_seq && s->tail_first_seq <= s->last_seq),
              "the unsigned tail is in the last chain, after its last checkpoint");
        check((s->tail_first_seq == 0) == (t->since_checkpoint == 0),
              "an unsigned tail exactly when records follow the last checkpoint");
    } else {
        check(s->first_seq == 0 && s->last_seq == 0 && s->segments == 0, "no record, no chain");
    }
    check(s->unsigned_records == t->unsigned_closed,
          "unsigned records: those after the last checkpoint of every finished chain");
    check(s->unsigned_records <= s->records, "unsigned records are records");
    if (s->unsigned_records)
        check(s->unsigned_first_seq == t->unsigned_seq &&
                  s->unsigned_first_segment == t->unsigned_segment,
              "the first unsigned record is the first after the last checkpoint of its chain");
    check(s->stop_seq == t->stop_seq, "the closing stop is the last gateway.stop after any start");
}

/* End of the trail: the verdict and its consistency. */
static enum dg_audit_fault finish(struct dg_audit_verifier *v, struct tally *t,
                                  struct dg_audit_summary *s)
{
    const struct dg_audit_verify_opts *o = &v->opts;
    bool was_pending = v->pending;
    enum dg_audit_fault f = dg_audit_verify_finish(v, s);
    struct dg_audit_summary again;
    check(dg_audit_verify_finish(v, &again) == f, "finish answers the same twice");
    check(memcmp(s, &again, sizeof again) == 0, "finish sums up the same twice");
    check(f >= DG_AUDIT_INTACT && f < DG_AUDIT_FAULT__COUNT, "a known verdict");
    check(was_pending == t->pending, "the harness saw the gap pending");
    bool closed = !t->broke && !was_pending;
    if (closed) close_tally(t);
    check_summary(s, t);
    if (trace)
        fprintf(stderr, "verdict %s: seq=%llu record=%llu: %s (records %llu, checkpoints %llu)\n",
                dg_audit_fault_name(f), (unsigned long long)v->finding.seq,
                (unsigned long long)v->finding.index, f ? v->finding.what : "",
                (unsigned long long)s->records, (unsigned long long)s->checkpoints);
    if (f == DG_AUDIT_INTACT) {
        check(closed && !v->broken, "INTACT only without a break");
        check(s->records > 0, "INTACT only with records");
        check(!o->require_signed_tail || s->unsigned_records == 0,
              "INTACT with require_signed_tail: every record signed");
        check(!o->require_stop || s->stop_seq != 0, "INTACT with require_stop: closed");
        return f;
    }
    check(v->finding.fault == f, "the verdict is the finding");
    check(memchr(v->finding.what, '\0', sizeof v->finding.what) != NULL,
          "the finding's text is terminated");
    if (was_pending)
        check(f == DG_AUDIT_GAP, "a gap at the end is a gap");
    else if (!t->broke)
        check(f == (t->records == 0                                     ? DG_AUDIT_EMPTY
                    : o->require_signed_tail && s->unsigned_records > 0 ? DG_AUDIT_UNSIGNED_TAIL
                                                                        : DG_AUDIT_OPEN_END),
              "without a break: empty, unsigned tail or open end, in that order");
    if (f == DG_AUDIT_UNSIGNED_TAIL)
        check(v->finding.seq == t->unsigned_seq && v->finding.index == t->unsigned_index,
              "an unsigned tail is found at its first record (seq and position)");
    if (f == DG_AUDIT_OPEN_END)
        check(v->finding.seq == t->last_seq && v->finding.index == v->last_index,
              "an open end is found at the last record");
    return f;
}

/* ---------------------------------------------------------------- input */

static void feed_record(struct dg_audit_verifier *v, struct tally *t, const uint8_t *rec,
                        size_t len, enum dg_audit_step *out)
{
    struct snap b;
    take_snap(v, &b);
    struct dg_audit_view view;
    bool parsed;
    check_parse(rec, len, &view, &parsed);
    enum dg_audit_step step = dg_audit_verify_record(v, rec, len);
    check_step(v, &b, step, rec, len, t);
    *out = step;
}

static void feed_fail(struct dg_audit_verifier *v, struct tally *t, enum dg_audit_step *out)
{
    struct snap b;
    take_snap(v, &b);
    enum dg_audit_step step = dg_audit_verify_fail(v, DG_AUDIT_MALFORMED, "unreadable line");
    check(step == DG_AUDIT_STEP_BROKEN, "a failure breaks the trail");
    check_step(v, &b, step, NULL, 0, t);
    *out = step;
}

/* A line as dosegate-audit verify FILE reads it. */
static void feed_line(struct dg_audit_verifier *v, struct tally *t, const char *line, size_t len,
                      uint64_t lineno, enum dg_audit_step *out)
{
    struct snap b;
    take_snap(v, &b);
    enum dg_audit_step step;
    int rc = dg_audit_verify_line(v, line, len, lineno, &step);
    check(rc == 0, "a line is read (no allocation fails here)");
    /* What the line held, for the harness's view of an accepted record. */
    uint8_t *rec = NULL;
    size_t rlen = 0;
    if (len > 0 && line[len - 1] == '\n') (void)dg_audit_line_decode(line, len - 1, &rec, &rlen);
    check_step(v, &b, step, rec, rlen, t);
    dg_free(rec);
    *out = step;
}

static void run_records(const struct dg_audit_verify_opts *o, const uint8_t *p, size_t n)
{
    dg_audit_verifier_init(&v_main, o);
    dg_audit_verifier_init(&v_lines, o);
    uint64_t lineno = 0;
    while (n >= 2) {
        size_t len = (size_t)p[0] << 8 | p[1];
        p += 2;
        n -= 2;
        enum dg_audit_step s1, s2;
        lineno++;
        if (len == LEN_FAIL) {
            feed_fail(&v_main, &t_main, &s1);
            feed_fail(&v_lines, &t_lines, &s2);
        } else {
            if (len > n) len = n;
            feed_record(&v_main, &t_main, p, len, &s1);
            /* The same record as a line of an export. */
            char *line = NULL;
            size_t llen = 0;
            check(dg_audit_line_encode(p, len, &line, &llen) == 0, "a record exports");
            check(llen >= 1 && line[llen - 1] == '\n' && line[llen] == '\0',
                  "an exported line ends with its newline");
            if (len > 0) {
                uint8_t *back = NULL;
                size_t blen = 0;
                check(dg_audit_line_decode(line, llen - 1, &back, &blen) == 0 && blen == len &&
                          memcmp(back, p, len) == 0,
                      "an exported line reads back as the record");
                dg_free(back);
            }
            feed_line(&v_lines, &t_lines, line, llen, lineno, &s2);
            dg_free(line);
            p += len;
            n -= len;
        }
        check(s1 == s2, "a record and its export line take the same step");
    }
    struct dg_audit_summary s1, s2;
    enum dg_audit_fault f1 = finish(&v_main, &t_main, &s1);
    enum dg_audit_fault f2 = finish(&v_lines, &t_lines, &s2);
    check(f1 == f2, "a trail and its export get the same verdict");
    check(memcmp(&s1, &s2, sizeof s1) == 0, "a trail and its export sum up the same");
    if (f1 != DG_AUDIT_INTACT)
        check(v_main.finding.seq == v_lines.finding.seq &&
                  v_main.finding.index == v_lines.finding.index,
              "a trail and its export break at the same place");
}

static void run_export(const struct dg_audit_verify_opts *o, const uint8_t *p, size_t n)
{
    dg_audit_verifier_init(&v_main, o);
    uint64_t lineno = 0;
    while (n > 0) {
        const uint8_t *nl = memchr(p, '\n', n);
        size_t len = nl ? (size_t)(nl - p) + 1 : n;
        enum dg_audit_step step;
        feed_line(&v_main, &t_main, (const char *)p, len, ++lineno, &step);
        p += len;
        n -= len;
        /* verify FILE stops reading at the first break; read on anyway,
           to hold the verifier to "BROKEN stays BROKEN". */
    }
    struct dg_audit_summary s;
    finish(&v_main, &t_main, &s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    int64_t live = dg_alloc_live();
    uint8_t flags = data[0];
    struct dg_audit_verify_opts o = {
        .pubkey = pub,
        .from_seq = (flags & OPT_FROM_SEQ) ? data[1] : 0,
        .any_start = (flags & OPT_ANY_START) != 0,
        .skip_duplicates = (flags & OPT_SKIP_DUP) != 0,
        .no_restart = (flags & OPT_NO_RESTART) != 0,
        .require_signed_tail = (flags & OPT_SIGNED_TAIL) != 0,
        .require_stop = (flags & OPT_STOP) != 0,
    };
    memset(&t_main, 0, sizeof t_main);
    memset(&t_lines, 0, sizeof t_lines);
    if (flags & OPT_EXPORT)
        run_export(&o, data + 2, size - 2);
    else
        run_records(&o, data + 2, size - 2);
    check(dg_alloc_live() == live, "nothing allocated is kept");
    return 0;
}
