/*
 * make_audit_seeds.c — writes the seed corpus of fuzz_audit_verify:
 *   make_audit_seeds tests/fuzz/corpus/audit_verify
 *
 * Each seed is fuzz_audit_verify's two option bytes followed by a trail,
 * as length-prefixed records or as an export file (see that harness).
 * Trails are made with the gateway's own encoder and chain
 * (gateway/io/audit.c: dg_audit_chain_append, dg_audit_chain_checkpoint),
 * checkpoints signed with the fixture key of audit_key.h, so the seeds are
 * real: a clean session that ends closed (gateway.stop, then a
 * checkpoint), as records and as the export `dosegate-audit record`
 * writes; an open one with an unsigned tail; two chains; a trail followed
 * mid-way (from a seq, redeliveries). Then the same damaged the ways
 * docs/audit.md lists: an edited byte, an edit with its hash redone, a
 * deleted, swapped or repeated record, a cut start or end, a checkpoint
 * without, with a broken, or with a forged signature, a stray signature, a
 * change of gateway, an unreadable line, a cut or non-canonical export
 * line. Everything is deterministic (Ed25519 signatures are), so rerunning
 * it (target fuzz_seeds) rewrites the same files.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_key.h"
#include "core/alloc.h"
#include "core/error.h"
#include "io/audit.h"
#include "io/audit_verify.h"

#define GW       "gw-fuzz"
#define T0       1767225600000ULL /* 2026-01-01T00:00:00Z */
#define MAX_REC  64
#define OPT_FILE (OPT_SIGNED_TAIL | OPT_STOP) /* what verify FILE asks */

static const char *outdir;
static int failed;
static dg_audit_key *key;

static void die(const char *what)
{
    fprintf(stderr, "make_audit_seeds: %s\n", what);
    exit(1);
}

/* A trail: records in order; a NULL record is an unreadable line. */
struct trail {
    uint8_t *rec[MAX_REC];
    size_t len[MAX_REC];
    size_t n;
    struct dg_audit_chain ch;
    uint64_t t0; /* wall clock of seq 0 (UTC ms); a record every second */
};

static void push(struct trail *t, uint8_t *buf, size_t len)
{
    if (t->n == MAX_REC) die("trail too long");
    t->rec[t->n] = buf;
    t->len[t->n] = len;
    t->n++;
}

static void add_as(struct trail *t, const char *gw, const char *type, const char *action,
                   enum dg_participant pk, const char *who, const char *otype, const char *oid,
                   const char *detail, const uint8_t *sig, size_t siglen)
{
    struct dg_audit_event ev = {.event_type = type,
                                .action = action,
                                .outcome = DG_OUTCOME_SUCCESS,
                                .participant_kind = pk,
                                .participant_id = who,
                                .object_type = otype,
                                .object_id = oid,
                                .detail = detail};
    uint8_t *buf = NULL;
    size_t len = 0;
    if (dg_audit_chain_append_signed(&t->ch, gw, t->t0 + 1000 * (t->ch.seq + 1), &ev, sig, siglen,
                                     &buf, &len) != 0)
        die("append");
    push(t, buf, len);
}

static void add(struct trail *t, const char *type, const char *action, enum dg_participant pk,
                const char *who, const char *otype, const char *oid, const char *detail)
{
    add_as(t, GW, type, action, pk, who, otype, oid, detail, NULL, 0);
}

static void checkpoint(struct trail *t)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (dg_audit_chain_checkpoint(&t->ch, GW, t->t0 + 1000 * (t->ch.seq + 1), key, &buf, &len) != 0)
        die("checkpoint");
    push(t, buf, len);
}

static void start(struct trail *t)
{
    add(t, "gateway.start", "E", DG_PART_GATEWAY, GW, "gateway", GW,
        "dosegate 0.1.0 config sha256 4f1c... drug library demo-2026.1");
    add(t, "audit.signing", "E", DG_PART_GATEWAY, GW, "audit", GW,
        "checkpoints signed with Ed25519 key sha256 9a0e... (audit.key) every 100 records or 60 s");
}

/* A session on one pump: an overrate, its pause, the acknowledgement and
   reset, a redelivery refused, a checkpoint in the middle. */
static void session(struct trail *t)
{
    add(t, "alert.raise", "C", DG_PART_GATEWAY, GW, "alert", "fz-a1",
        "fz-a1 rate high bed=bed-1 pump=pump-1 source=pump-1 value=1.600 limit=1.500 mg/kg/h: "
        "rate above the hard limit");
    add(t, "command.pause", "E", DG_PART_GATEWAY, GW, "pump", "pump-1",
        "fz-c1 pause pump=pump-1 alert=fz-a1: rate: rate above the hard limit");
    checkpoint(t);
    add(t, "alert.acknowledge", "U", DG_PART_USER, "nurse-1 via dash-1", "alert", "fz-a1",
        "fz-a1 rate high bed=bed-1 pump=pump-1 source=pump-1 value=1.600 limit=1.500 mg/kg/h");
    add(t, "alert.reset", "U", DG_PART_USER, "nurse-1 via dash-1", "alert", "fz-a1",
        "latch of fz-a1 (rate) reset by nurse-1 via dash-1");
    add(t, "message.duplicate", "R", DG_PART_DEVICE, "pump-1", "pump", "pump-1",
        "pump pump-1 incarnation 7 seq 41 not processed: repeated (last seq 41 of incarnation 7)");
}

static void stop(struct trail *t)
{
    add(t, "gateway.stop", "E", DG_PART_GATEWAY, GW, "gateway", GW, "clean stop");
    checkpoint(t);
}

static void begin(struct trail *t)
{
    memset(t, 0, sizeof *t);
    dg_audit_chain_init(&t->ch);
    t->t0 = T0;
}

/* start, session, stop: 10 records (seq 1-10), checkpoints at 5 and 10. */
static void closed(struct trail *t)
{
    begin(t);
    start(t);
    session(t);
    stop(t);
}

static void trail_free(struct trail *t)
{
    for (size_t i = 0; i < t->n; i++)
        dg_free(t->rec[i]);
    t->n = 0;
}

/* Recompute a record's this_hash after an edit (so only the chain, or a
   checkpoint, can show it). */
static void rehash(uint8_t *buf, size_t len)
{
    struct dg_audit_view v;
    char why[160];
    uint8_t h[32];
    if (dg_audit_record_parse(buf, len, &v, why, sizeof why) != 0 || v.this_hash.len != 32 ||
        dg_audit_record_hash(buf, len, &v, h) != 0)
        die(why);
    memcpy(buf + (v.this_hash.p - buf), h, 32);
}

static uint8_t *find(uint8_t *buf, size_t len, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(buf + i, s, n) == 0) return buf + i;
    die(s);
    return NULL;
}

/* ------------------------------------------------------------ output */

static FILE *open_seed(const char *name, uint8_t flags, uint8_t from_seq)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", outdir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    if (fputc(flags, f) == EOF || fputc(from_seq, f) == EOF) failed = 1;
    return f;
}

static void close_seed(FILE *f)
{
    if (ferror(f) || fclose(f) != 0) failed = 1;
}

static void write_records(const char *name, uint8_t flags, uint8_t from_seq, const struct trail *t)
{
    FILE *f = open_seed(name, flags, from_seq);
    for (size_t i = 0; i < t->n; i++) {
        size_t len = t->rec[i] ? t->len[i] : LEN_FAIL;
        if (len >= LEN_FAIL && t->rec[i]) die("record too long");
        fputc((int)(len >> 8), f);
        fputc((int)(len & 0xff), f);
        if (t->rec[i] && fwrite(t->rec[i], 1, len, f) != len) failed = 1;
    }
    close_seed(f);
}

/* As `dosegate-audit record` writes it; cut: the last line loses its second
   half and its newline (an export cut off mid-record). */
static void write_export(const char *name, uint8_t flags, const struct trail *t, int cut)
{
    FILE *f = open_seed(name, flags | OPT_EXPORT, 0);
    for (size_t i = 0; i < t->n; i++) {
        char *line = NULL;
        size_t n = 0;
        if (dg_audit_line_encode(t->rec[i], t->len[i], &line, &n) != 0) die("line");
        if (cut && i + 1 == t->n) n /= 2;
        if (fwrite(line, 1, n, f) != n) failed = 1;
        dg_free(line);
    }
    close_seed(f);
}

/* ------------------------------------------------------------ damage */

static void drop(struct trail *t, size_t i)
{
    dg_free(t->rec[i]);
    memmove(&t->rec[i], &t->rec[i + 1], (t->n - i - 1) * sizeof t->rec[0]);
    memmove(&t->len[i], &t->len[i + 1], (t->n - i - 1) * sizeof t->len[0]);
    t->n--;
}

static void insert(struct trail *t, size_t i, uint8_t *buf, size_t len)
{
    if (t->n == MAX_REC) die("trail too long");
    memmove(&t->rec[i + 1], &t->rec[i], (t->n - i) * sizeof t->rec[0]);
    memmove(&t->len[i + 1], &t->len[i], (t->n - i) * sizeof t->len[0]);
    t->rec[i] = buf;
    t->len[i] = len;
    t->n++;
}

static uint8_t *copy(const uint8_t *p, size_t n)
{
    uint8_t *c = dg_malloc(n);
    if (!c) die("out of memory");
    memcpy(c, p, n);
    return c;
}

static void swap(struct trail *t, size_t i, size_t j)
{
    uint8_t *r = t->rec[i];
    size_t l = t->len[i];
    t->rec[i] = t->rec[j];
    t->len[i] = t->len[j];
    t->rec[j] = r;
    t->len[j] = l;
}

/* ------------------------------------------------------------ seeds */

static void intact_seeds(void)
{
    struct trail t;
    closed(&t);
    write_records("closed", OPT_FILE, 0, &t);
    write_records("closed-no-restart", OPT_FILE | OPT_NO_RESTART, 0, &t);
    write_export("export-closed", OPT_FILE, &t, 0);
    write_export("export-cut", OPT_FILE, &t, 1);
    write_records("closed-as-open", 0, 0, &t);
    trail_free(&t);

    /* A running gateway's trail: records after the last checkpoint, no stop. */
    begin(&t);
    start(&t);
    session(&t);
    add(&t, "device.reboot", "E", DG_PART_DEVICE, "pump-1", "pump", "pump-1",
        "pump pump-1 restarted: incarnation 7 -> 8, seq 1");
    write_records("open-tail", 0, 0, &t);
    write_records("open-tail-signed", OPT_SIGNED_TAIL, 0, &t);
    write_records("open-end", OPT_STOP, 0, &t);
    trail_free(&t);

    /* Two chains (a new state directory: seq 1 again). */
    closed(&t);
    dg_audit_chain_init(&t.ch);
    t.t0 = T0 + 3600000; /* an hour later */
    start(&t);
    session(&t);
    stop(&t);
    write_records("restart", OPT_FILE, 0, &t);
    write_records("restart-refused", OPT_FILE | OPT_NO_RESTART, 0, &t);
    write_export("export-restart", OPT_FILE, &t, 0);
    /* The first chain open at its end: its tail is unsigned. */
    drop(&t, 9);
    drop(&t, 8);
    write_records("restart-unsigned-first", OPT_SIGNED_TAIL, 0, &t);
    trail_free(&t);

    /* An unknown field (a newer schema), hashed like the rest: intact. */
    begin(&t);
    start(&t);
    {
        static const uint8_t extra[] = {0xa0, 0x01, 0x2a}; /* field 20, varint 42 */
        size_t n = t.len[1] + sizeof extra;
        uint8_t *r = dg_realloc(t.rec[1], n);
        if (!r) die("out of memory");
        memcpy(r + t.len[1], extra, sizeof extra);
        rehash(r, n);
        t.rec[1] = r;
        t.len[1] = n;
        struct dg_audit_view v;
        char why[160];
        if (dg_audit_record_parse(r, n, &v, why, sizeof why) != 0) die(why);
        memcpy(t.ch.head, v.this_hash.p, 32);
    }
    session(&t);
    stop(&t);
    write_records("unknown-field", OPT_FILE, 0, &t);
    trail_free(&t);
}

static void following_seeds(void)
{
    /* Following the live topic from seq 4, with QoS 1 redeliveries. */
    struct trail t;
    closed(&t);
    insert(&t, 6, copy(t.rec[5], t.len[5]), t.len[5]);
    insert(&t, 3, copy(t.rec[2], t.len[2]), t.len[2]);
    drop(&t, 0);
    drop(&t, 0);
    drop(&t, 0);
    write_records("follow", OPT_ANY_START | OPT_SKIP_DUP, 0, &t);
    write_records("from-seq", OPT_FROM_SEQ | OPT_SKIP_DUP | OPT_FILE, 3, &t);
    write_records("from-seq-wrong", OPT_FROM_SEQ | OPT_SKIP_DUP, 4, &t);
    write_records("truncated-start", OPT_SKIP_DUP, 0, &t);
    write_records("duplicate", OPT_ANY_START, 0, &t);
    trail_free(&t);

    /* Followed with --require-signed-tail: a redelivery inside the
       unsigned tail (records 6-8 after the checkpoint at 5). */
    closed(&t);
    drop(&t, 9);
    drop(&t, 8);
    insert(&t, 6, copy(t.rec[5], t.len[5]), t.len[5]);
    write_records("follow-unsigned-redelivery", OPT_SKIP_DUP | OPT_SIGNED_TAIL, 0, &t);
    trail_free(&t);
}

static void damaged_seeds(void)
{
    struct trail t;

    closed(&t);
    drop(&t, 3);
    write_records("deleted", OPT_FILE, 0, &t);
    trail_free(&t);

    closed(&t);
    drop(&t, 8);
    write_records("deleted-before-last", OPT_FILE, 0, &t);
    drop(&t, 8);
    write_records("cut-end", OPT_FILE, 0, &t);
    trail_free(&t);

    closed(&t);
    swap(&t, 2, 3);
    write_records("swapped", OPT_FILE, 0, &t);
    trail_free(&t);

    closed(&t);
    swap(&t, 2, 6);
    write_records("moved", OPT_FILE, 0, &t);
    trail_free(&t);

    closed(&t);
    find(t.rec[2], t.len[2], "1.600")[2] = '9';
    write_records("edited", OPT_FILE, 0, &t);
    rehash(t.rec[2], t.len[2]);
    write_records("edited-rehashed", OPT_FILE, 0, &t);
    trail_free(&t);

    /* A checkpoint whose signature no longer verifies. */
    closed(&t);
    {
        struct dg_audit_view v;
        char why[160];
        if (dg_audit_record_parse(t.rec[4], t.len[4], &v, why, sizeof why) != 0) die(why);
        t.rec[4][v.signature.p - t.rec[4] + 7] ^= 0x10;
        rehash(t.rec[4], t.len[4]);
    }
    write_records("bad-signature", OPT_FILE, 0, &t);
    trail_free(&t);

    /* A checkpoint over the wrong count, correctly signed: forged. A
       checkpoint without a signature. A signature on an ordinary record. */
    begin(&t);
    start(&t);
    add(&t, "alert.raise", "C", DG_PART_GATEWAY, GW, "alert", "fz-a1", "fz-a1 rate high");
    {
        uint8_t msg[DG_AUDIT_SIGNED_MAX], sig[DG_AUDIT_SIG_LEN];
        size_t mlen = 0;
        char detail[96];
        uint64_t wrong = t.ch.seq - 1;
        if (dg_audit_checkpoint_message(msg, sizeof msg, &mlen, GW, strlen(GW), wrong, t.ch.head) !=
                0 ||
            dg_audit_sign(key, msg, mlen, sig) != 0 ||
            dg_audit_checkpoint_detail(detail, sizeof detail, wrong, t.ch.head) != 0)
            die("forged checkpoint");
        struct trail f = t;
        add_as(&f, GW, DG_AUDIT_CHECKPOINT_EVENT, "E", DG_PART_GATEWAY, GW, "audit", GW, detail,
               sig, sizeof sig);
        write_records("forged-checkpoint", OPT_FILE, 0, &f);
        dg_free(f.rec[f.n - 1]);
        /* The right detail, no signature. */
        if (dg_audit_checkpoint_detail(detail, sizeof detail, t.ch.seq, t.ch.head) != 0)
            die("detail");
        f = t;
        add_as(&f, GW, DG_AUDIT_CHECKPOINT_EVENT, "E", DG_PART_GATEWAY, GW, "audit", GW, detail,
               NULL, 0);
        write_records("missing-signature", OPT_FILE, 0, &f);
        dg_free(f.rec[f.n - 1]);
        /* The right detail, the signature of a 63-byte scheme. */
        f = t;
        add_as(&f, GW, DG_AUDIT_CHECKPOINT_EVENT, "E", DG_PART_GATEWAY, GW, "audit", GW, detail,
               sig, sizeof sig - 1);
        write_records("short-signature", OPT_FILE, 0, &f);
        dg_free(f.rec[f.n - 1]);
        /* A signature on a record that is no checkpoint. */
        f = t;
        add_as(&f, GW, "alert.clear", "D", DG_PART_GATEWAY, GW, "alert", "fz-a1", "fz-a1 cleared",
               sig, sizeof sig);
        write_records("stray-signature", OPT_FILE, 0, &f);
        dg_free(f.rec[f.n - 1]);
        /* Another gateway continues the chain. */
        f = t;
        add_as(&f, "gw-other", "alert.clear", "D", DG_PART_GATEWAY, "gw-other", "alert", "fz-a1",
               "fz-a1 cleared", NULL, 0);
        write_records("gateway-changed", OPT_FILE, 0, &f);
        dg_free(f.rec[f.n - 1]);
    }
    trail_free(&t);

    /* An unreadable line in the middle; a record cut short. */
    closed(&t);
    insert(&t, 5, NULL, 0);
    write_records("unreadable-line", OPT_FILE, 0, &t);
    drop(&t, 5);
    t.len[6] = 9;
    write_records("cut-record", OPT_FILE, 0, &t);
    trail_free(&t);

    /* Nothing at all. */
    begin(&t);
    write_records("empty", OPT_FILE, 0, &t);
}

/* An export with one line that is not canonical base64 (a space). */
static void export_bad_line(void)
{
    struct trail t;
    closed(&t);
    FILE *f = open_seed("export-bad-line", OPT_FILE | OPT_EXPORT, 0);
    for (size_t i = 0; i < t.n; i++) {
        char *line = NULL;
        size_t n = 0;
        if (dg_audit_line_encode(t.rec[i], t.len[i], &line, &n) != 0) die("line");
        if (i == 3) line[8] = ' ';
        if (fwrite(line, 1, n, f) != n) failed = 1;
        dg_free(line);
    }
    close_seed(f);
    trail_free(&t);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_audit_seeds DIR\n");
        return 2;
    }
    outdir = argv[1];
    if (dg_audit_key_from_pem(&key, fuzz_audit_private_pem, strlen(fuzz_audit_private_pem), 1) != 0)
        die("fixture key");
    intact_seeds();
    following_seeds();
    damaged_seeds();
    export_bad_line();
    dg_audit_key_free(key);
    if (failed) fprintf(stderr, "make_audit_seeds: some seeds could not be written\n");
    return failed;
}
