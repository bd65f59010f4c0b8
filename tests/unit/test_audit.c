/*
 * test_audit.c — the audit trail: hash chain and signed checkpoints
 * (gateway/io/audit.c), the verifier and the export format
 * (gateway/io/audit_verify.c), and the config's `audit:` section.
 *
 * Trails are built in memory with the real chain and a fresh Ed25519 key,
 * then damaged the way an attacker or an accident would (a changed byte, a
 * deleted, swapped or duplicated record, a cut tail or start, a checkpoint
 * without or with a foreign signature, a forged count) and fed to the
 * verifier, which must name the exact seq and position of the first break.
 * The signed byte string is rebuilt here by hand from docs/audit.md and
 * checked with OpenSSL directly, so the documentation cannot drift from the
 * code. Every test ends with the allocations it started with.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/audit.h"
#include "io/audit_verify.h"
#include "io/config.h"

#define GW      "gw-test"
#define T0      1767225600000ULL /* 2026-01-01T00:00:00Z */
#define MAX_REC 128

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

/* A trail in memory: the records' bytes, in order. */
struct trail {
    uint8_t *rec[MAX_REC];
    size_t len[MAX_REC];
    size_t n;
    struct dg_audit_chain chain;
    uint64_t t0; /* time of seq 1 minus 1 ms; 0 = T0 */
};

static uint64_t when(const struct trail *t)
{
    return (t->t0 ? t->t0 : T0) + t->chain.seq;
}

static void trail_free(struct trail *t)
{
    for (size_t i = 0; i < t->n; i++)
        dg_free(t->rec[i]);
    t->n = 0;
}

static void push(struct trail *t, uint8_t *buf, size_t len)
{
    assert_true(t->n < MAX_REC);
    t->rec[t->n] = buf;
    t->len[t->n] = len;
    t->n++;
}

/* One ordinary record; detail "detail-<seq, 3 digits>" (unique, findable). */
static void add_event(struct trail *t)
{
    char detail[32];
    snprintf(detail, sizeof detail, "detail-%03u", (unsigned)(t->chain.seq + 1));
    struct dg_audit_event ev = {.event_type = "alert.raise",
                                .action = "C",
                                .outcome = DG_OUTCOME_SUCCESS,
                                .participant_kind = DG_PART_GATEWAY,
                                .participant_id = GW,
                                .object_type = "alert",
                                .object_id = "a-1",
                                .detail = detail};
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(dg_audit_chain_append(&t->chain, GW, when(t), &ev, &buf, &len), 0);
    push(t, buf, len);
}

static void add_checkpoint(struct trail *t, const dg_audit_key *key)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(dg_audit_chain_checkpoint(&t->chain, GW, when(t), key, &buf, &len), 0);
    push(t, buf, len);
}

/* A record a correct gateway never makes: event_type and detail as given,
   with signature sig (NULL = none). */
static void add_raw(struct trail *t, const char *type, const char *detail, const uint8_t *sig,
                    size_t siglen)
{
    struct dg_audit_event ev = {.event_type = type,
                                .action = "E",
                                .outcome = DG_OUTCOME_SUCCESS,
                                .participant_kind = DG_PART_GATEWAY,
                                .participant_id = GW,
                                .object_type = "audit",
                                .object_id = GW,
                                .detail = detail};
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(
        dg_audit_chain_append_signed(&t->chain, GW, when(t), &ev, sig, siglen, &buf, &len), 0);
    push(t, buf, len);
}

/*
 * The standard trail: 12 records with a checkpoint after every 4 ordinary
 * ones. seq: 1-4 events, 5 checkpoint, 6-9 events, 10 checkpoint, 11-12
 * events, 13 checkpoint (15 with `extra` more events and a checkpoint).
 */
static void build_at(struct trail *t, const dg_audit_key *key, uint64_t t0)
{
    memset(t, 0, sizeof *t);
    t->t0 = t0;
    dg_audit_chain_init(&t->chain);
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < (i < 2 ? 4 : 2); j++)
            add_event(t);
        add_checkpoint(t, key);
    }
    assert_int_equal(t->n, 13);
}

static void build(struct trail *t, const dg_audit_key *key)
{
    build_at(t, key, T0);
}

/* Remove record i (0-based) from the trail (freeing it). */
static void drop(struct trail *t, size_t i)
{
    dg_free(t->rec[i]);
    memmove(&t->rec[i], &t->rec[i + 1], (t->n - i - 1) * sizeof t->rec[0]);
    memmove(&t->len[i], &t->len[i + 1], (t->n - i - 1) * sizeof t->len[0]);
    t->n--;
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

static uint8_t *find(uint8_t *buf, size_t len, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(buf + i, s, n) == 0) return buf + i;
    return NULL;
}

/* Feed the whole trail; the verdict of dg_audit_verify_finish. */
static enum dg_audit_fault verify(const struct trail *t, const struct dg_audit_verify_opts *o,
                                  struct dg_audit_verifier *v, struct dg_audit_summary *sum)
{
    dg_audit_verifier_init(v, o);
    for (size_t i = 0; i < t->n; i++)
        if (dg_audit_verify_record(v, t->rec[i], t->len[i]) == DG_AUDIT_STEP_BROKEN) break;
    return dg_audit_verify_finish(v, sum);
}

static struct dg_audit_verifier verifier; /* large: not on the stack */

static void expect_break(const struct trail *t, const dg_audit_key *pub, enum dg_audit_fault fault,
                         uint64_t seq, uint64_t index)
{
    struct dg_audit_verify_opts o = {.pubkey = pub};
    struct dg_audit_summary sum;
    enum dg_audit_fault f = verify(t, &o, &verifier, &sum);
    if (f != fault || verifier.finding.seq != seq || verifier.finding.index != index)
        fail_msg("want %s at seq %llu record %llu, got %s at seq %llu record %llu: %s",
                 dg_audit_fault_name(fault), (unsigned long long)seq, (unsigned long long)index,
                 dg_audit_fault_name(f), (unsigned long long)verifier.finding.seq,
                 (unsigned long long)verifier.finding.index, verifier.finding.what);
}

/* ---------------------------------------------------------------- chain */

static void test_chain_links_and_hashes(void **state)
{
    (void)state;
    dg_audit_key *key = NULL;
    assert_int_equal(dg_audit_key_generate(&key), 0);
    struct trail t;
    build(&t, key);
    uint8_t prev[32] = {0};
    for (size_t i = 0; i < t.n; i++) {
        struct dg_audit_view v;
        char why[120];
        assert_int_equal(dg_audit_record_parse(t.rec[i], t.len[i], &v, why, sizeof why), 0);
        assert_int_equal(v.seq, i + 1);
        assert_int_equal(v.schema_version, 1);
        assert_int_equal(v.prev_hash.len, 32);
        assert_memory_equal(v.prev_hash.p, prev, 32);
        /* this_hash = SHA-256 of the bytes with field 14 (0x72 0x20 + 32) cut out. */
        assert_int_equal(v.hash_field_len, 34);
        assert_int_equal(t.rec[i][v.hash_field_off], 0x72);
        assert_int_equal(t.rec[i][v.hash_field_off + 1], 0x20);
        uint8_t cut[1024], h[32];
        assert_true(t.len[i] - 34 <= sizeof cut);
        memcpy(cut, t.rec[i], v.hash_field_off);
        memcpy(cut + v.hash_field_off, t.rec[i] + v.hash_field_off + 34,
               t.len[i] - v.hash_field_off - 34);
        assert_int_equal(dg_sha256(cut, t.len[i] - 34, h), 0);
        assert_memory_equal(h, v.this_hash.p, 32);
        memcpy(prev, v.this_hash.p, 32);
    }
    assert_int_equal(t.chain.seq, 13);
    assert_int_equal(t.chain.checkpoint_seq, 13);
    assert_memory_equal(t.chain.head, prev, 32);
    trail_free(&t);
    dg_audit_key_free(key);
}

/* An Ed25519 key made with OpenSSL, and the same key as a dg_audit_key. */
static EVP_PKEY *openssl_key(dg_audit_key **key)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(k);
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL), 1);
    char pem[512];
    int n = BIO_read(b, pem, sizeof pem);
    assert_true(n > 0);
    BIO_free(b);
    assert_int_equal(dg_audit_key_from_pem(key, pem, (size_t)n, 1), 0);
    return k;
}

/* The signed bytes, built here from docs/audit.md, verify with OpenSSL alone. */
static void test_checkpoint_signs_documented_bytes(void **state)
{
    (void)state;
    dg_audit_key *key = NULL;
    EVP_PKEY *pk = openssl_key(&key);
    struct trail t;
    build(&t, key);

    struct dg_audit_view v, before;
    char why[120];
    assert_int_equal(dg_audit_record_parse(t.rec[9], t.len[9], &v, why, sizeof why), 0);
    assert_int_equal(dg_audit_record_parse(t.rec[8], t.len[8], &before, why, sizeof why), 0);
    assert_int_equal(v.seq, 10);
    assert_true(v.event_type.len == 16 && memcmp(v.event_type.p, "audit.checkpoint", 16) == 0);
    char want[96], hex[65];
    dg_hex(hex, before.this_hash.p, 32);
    snprintf(want, sizeof want, "count=9 head=%s", hex);
    assert_int_equal(v.detail.len, strlen(want));
    assert_memory_equal(v.detail.p, want, strlen(want));
    assert_int_equal(v.signature.len, 64);

    /* "dosegate-audit-checkpoint" 0x00 gateway_id 0x00 u64be(count) head */
    uint8_t msg[128];
    size_t n = 0;
    memcpy(msg, "dosegate-audit-checkpoint", 25);
    n = 25;
    msg[n++] = 0;
    memcpy(msg + n, GW, strlen(GW));
    n += strlen(GW);
    msg[n++] = 0;
    for (int i = 0; i < 7; i++)
        msg[n++] = 0;
    msg[n++] = 9;
    memcpy(msg + n, before.this_hash.p, 32);
    n += 32;
    uint8_t lib[DG_AUDIT_SIGNED_MAX];
    size_t libn = 0;
    assert_int_equal(
        dg_audit_checkpoint_message(lib, sizeof lib, &libn, GW, strlen(GW), 9, before.this_hash.p),
        0);
    assert_int_equal(libn, n);
    assert_memory_equal(lib, msg, n);

    /* Ed25519 over exactly these bytes, checked by OpenSSL directly. */
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk), 1);
    assert_int_equal(EVP_DigestVerify(ctx, v.signature.p, v.signature.len, msg, n), 1);
    EVP_MD_CTX_free(ctx);
    ctx = EVP_MD_CTX_new();
    msg[n - 33] = 10; /* another count */
    assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk), 1);
    assert_int_not_equal(EVP_DigestVerify(ctx, v.signature.p, v.signature.len, msg, n), 1);
    EVP_MD_CTX_free(ctx);

    /* The fingerprint is SHA-256 of the raw public key. */
    uint8_t raw[32], md[32];
    size_t rawlen = sizeof raw;
    assert_int_equal(EVP_PKEY_get_raw_public_key(pk, raw, &rawlen), 1);
    assert_int_equal(dg_sha256(raw, rawlen, md), 0);
    char fp[65], want_fp[65];
    dg_hex(want_fp, md, 32);
    assert_int_equal(dg_audit_key_fingerprint(key, fp), 0);
    assert_string_equal(fp, want_fp);
    EVP_PKEY_free(pk);
    trail_free(&t);
    dg_audit_key_free(key);
}

/* A PEM round trip: private key file -> public key PEM -> verification. */
static void test_keys(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(k);
    char priv[512], pub[512];
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL), 1);
    int pn = BIO_read(b, priv, sizeof priv);
    assert_true(pn > 0);
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
    int un = BIO_read(b, pub, sizeof pub);
    assert_true(un > 0);
    BIO_free(b);

    dg_audit_key *sk = NULL, *vk = NULL, *vk2 = NULL, *bad = NULL;
    assert_int_equal(dg_audit_key_from_pem(&sk, priv, (size_t)pn, 1), 0);
    assert_int_equal(dg_audit_key_from_pem(&vk, pub, (size_t)un, 0), 0);
    assert_int_equal(dg_audit_key_from_pem(&vk2, priv, (size_t)pn, 0), 0); /* its public half */
    assert_int_equal(dg_audit_key_from_pem(&bad, pub, (size_t)un, 1), -DG_EINVAL);
    assert_null(bad);
    char f1[65], f2[65];
    assert_int_equal(dg_audit_key_fingerprint(sk, f1), 0);
    assert_int_equal(dg_audit_key_fingerprint(vk, f2), 0);
    assert_string_equal(f1, f2);

    uint8_t sig[64];
    const uint8_t msg[] = "message";
    assert_int_equal(dg_audit_sign(sk, msg, sizeof msg, sig), 0);
    assert_int_equal(dg_audit_sign(vk, msg, sizeof msg, sig), -DG_EINVAL); /* public only */
    assert_int_equal(dg_audit_verify_signature(vk, msg, sizeof msg, sig, 64), 0);
    assert_int_equal(dg_audit_verify_signature(vk2, msg, sizeof msg, sig, 64), 0);
    assert_int_equal(dg_audit_verify_signature(vk, msg, sizeof msg - 1, sig, 64), -DG_EINVAL);
    sig[0] ^= 1;
    assert_int_equal(dg_audit_verify_signature(vk, msg, sizeof msg, sig, 64), -DG_EINVAL);
    assert_int_equal(dg_audit_verify_signature(vk, msg, sizeof msg, sig, 63), -DG_EINVAL);

    /* An EC key is not an audit key. */
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(b, ec, NULL, NULL, 0, NULL, NULL), 1);
    char ecpem[512];
    int en = BIO_read(b, ecpem, sizeof ecpem);
    BIO_free(b);
    assert_int_equal(dg_audit_key_from_pem(&bad, ecpem, (size_t)en, 1), -DG_EINVAL);
    assert_int_equal(dg_audit_key_from_pem(&bad, "junk", 4, 0), -DG_EINVAL);
    char err[256];
    assert_int_equal(dg_audit_key_load(&bad, "/nonexistent/audit.key", 1, err, sizeof err),
                     -DG_EIO);
    assert_non_null(strstr(err, "/nonexistent/audit.key"));

    EVP_PKEY_free(ec);
    EVP_PKEY_free(k);
    dg_audit_key_free(sk);
    dg_audit_key_free(vk);
    dg_audit_key_free(vk2);
}

/* ---------------------------------------------------------------- verify */

static void test_intact(void **state)
{
    (void)state;
    dg_audit_key *key = NULL;
    assert_int_equal(dg_audit_key_generate(&key), 0);
    struct trail t;
    build(&t, key);
    struct dg_audit_verify_opts o = {.pubkey = key, .require_signed_tail = true};
    struct dg_audit_summary s;
    dg_audit_verifier_init(&verifier, &o);
    int checkpoints = 0;
    for (size_t i = 0; i < t.n; i++) {
        enum dg_audit_step st = dg_audit_verify_record(&verifier, t.rec[i], t.len[i]);
        assert_int_equal(st, (i == 4 || i == 9 || i == 12) ? DG_AUDIT_STEP_CHECKPOINT
                                                           : DG_AUDIT_STEP_RECORD);
        checkpoints += st == DG_AUDIT_STEP_CHECKPOINT;
    }
    assert_int_equal(dg_audit_verify_finish(&verifier, &s), DG_AUDIT_INTACT);
    assert_int_equal(checkpoints, 3);
    assert_int_equal(s.records, 13);
    assert_int_equal(s.checkpoints, 3);
    assert_int_equal(s.segments, 1);
    assert_int_equal(s.first_seq, 1);
    assert_int_equal(s.last_seq, 13);
    assert_int_equal(s.last_checkpoint_seq, 13);
    assert_int_equal(s.unsigned_records, 0);
    assert_int_equal(s.tail_first_seq, 0);
    trail_free(&t);
    dg_audit_key_free(key);
}

static void test_edited_byte(void **state)
{
    (void)state;
    dg_audit_key *key = NULL;
    assert_int_equal(dg_audit_key_generate(&key), 0);
    struct trail t;
    build(&t, key);
    uint8_t *p = find(t.rec[6], t.len[6], "detail-007");
    assert_non_null(p);
    p[9] = '8'; /* detail-008: one byte */
    expect_break(&t, key, DG_AUDIT_EDITED, 7, 7);
    p[9] = '7';
    /* ... and the hash itself, or the prev_hash, or the seq. */
    struct dg_audit_view v;
    char why[120];
    assert_int_equal(dg_audit_record_parse(t.rec[6], t.len[6], &v, why, sizeof why), 0);
    t.rec[6][v.hash_field_off + 5] ^= 0x40;
    expect_break(&t, key, DG_AUDIT_EDITED, 7, 7);
    t.rec[6][v.hash_field_off + 5] ^= 0x40;
    uint8_t *prev = (uint8_t *)v.prev_hash.p;
    prev[0] ^= 1;
    expect_break(&t, key, DG_AUDIT_EDITED, 7, 7);
    prev[0] ^= 1;
    expect_break(&t, key, DG_AUDIT_INTACT, 0, 0);
    trail_free(&t);
    dg_audit_key_free(key);
}

static void test_deleted_record(void **state)
{
    (void)state;
    dg_audit_key *key = NULL;
    assert_int_equal(dg_audit_key_generate(&key), 0);
    struct trail t;
    build(&t, key);
    drop(&t, 6); /* seq 7 */
    expect_break(&t, key, DG_AUDIT_GAP, 8, 7);
    assert_non_null(strstr(verifier.finding.what, "seq 7 missing"));
    trail_free(&t);

    /* A deleted checkpoint is a gap as well. */
    build(&t, key);
    drop(&t, 4);
    expect_break(&t, key, DG_AUDIT_GAP, 6, 5);
    trail_free(&t);

    /* Two deleted: the range is named; the gap at the very end is settled by finish. */
    build(&t, key);
    drop(&t, 11);
    drop(&t, 10);
    expect_break(&t, key, DG_AUDIT_GAP, 13, 11);
    assert_non_null(strstr(verifier.finding.what, "seq 11..12 missing"));
    trail_free(&t);
    dg_audit_key_free(key);
}

static void test_swapped_records(void **state)
{
    (void)state;
    dg_audit_key *key = NULL;
    assert_int_equal(dg_audit_key_generate(&key), 0);
    struct trail t;
    build(&t, key);
    swap(&t, 5, 6); /* seq 6 and 7: the trail reads 5, 7, 6, 8 */
    expect_break(&t, key, DG_AUDIT_REORDERED, 7, 6);
    assert_non_null(strstr(verifier.finding.what, "seq 7 comes before seq 6"));
    trail_free(&t);

    /* The first two swapped: the trail no longer starts at seq 1. */
    build(&t, key);
    swap(&t, 0, 1);
    expect_break(&t, key, DG_AUDIT_TRUNCATED_START, 2, 1);
    trail_free(&t);

    /* seq goes backwards: another seq 5 after seq 6. */
    memset(&t, 0, sizeof t);
    for (int i = 0; i < 6; i++)
        add_event(&t);
    struct trail u;
    memset(&u, 0, sizeof u);
    for (int i = 0; i < 4; i++)
        add_event(&u);
    add_raw(&u, "alert.raise", "another seq 5", NULL, 0);
    push(&t, u.rec[4], u.len[4]);
    u.n = 4;
    trail_free(&u);
    expect_break(&t, key, DG_AUDIT_REORDERED, 5, 7);
    assert_non_null(strstr(verifier.finding.what, "seq 5 comes after seq 6"));
    trail_free(&t);
    dg_audit_key_free(key);
}

static void test_truncated_tail(void **state)
{
    (void)state;
    dg_audit_key *key = NULL;
    assert_int_equal(dg_audit_key_generate(&key), 0);
    struct trail t;
    build(&t, key);
    drop(&t, 12); /* the last checkpoint: seq 11, 12 are now unsigned */

    struct dg_audit_verify_opts o = {.pubkey = key};
    struct dg_audit_summary s;
    assert_int_equal(verify(&t, &o, &verifier, &s), DG_AUDIT_INTACT);
    assert_int_equal(s.records, 12);
    assert_int_equal(s.checkpoints, 2);
    assert_int_equal(s.unsigned_records, 2);
    assert_int_equal(s.unsigned_first_seq, 11);
    assert_int_equal(s.tail_first_seq, 11);
    assert_int_equal(s.last_checkpoint_seq, 10);

    o.require_signed_tail = true;
    assert_int_equal(verify(&t, &o, &verifier, &s), DG_AUDIT_UNSIGNED_TAIL);
    assert_int_equal(verifier.finding.seq, 11);
    assert_int_equal(verifier.finding.index, 11);
    assert_non_null(strstr(verifier.finding.what, "2 records after the last checkpoint"));
    assert_non_null(strstr(verifier.finding.what, "seq 11..12"));

    /* A trail with no checkpoint at all is unsigned from seq 1. */
    trail_free(&t);
    memset(&t, 0, sizeof t);
    for (int i = 0; i < 3; i++)
        add_event(&t);
    assert_int_equal(verify(&t, &o, &verifier, &s), DG_AUDIT_UNSIGNED_TAIL);
    assert_int_equal(verifier.finding.seq, 1);
    assert_int_equal(s.unsigned_records, 3);
    trail_free(&t);
    dg_audit_key_free(key);
}

/* One ordinary record of the given type (gateway.start, gateway.stop, ...). */
static void add_typed(struct trail *t, const char *type)
{
    struct dg_audit_event ev = {.event_type = type,
                                .action = "E",
                                .outcome = DG_OUTCOME_SUCCESS,
                                .participant_kind = DG_PART_GATEWAY,
                                .participant_id = GW,
                                .object_type = "gateway",
                                .object_id = GW,
                                .detail = type};
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(dg_audit_chain_append(&t->chain, GW, when(t), &ev, &buf, &len), 0);
    push(t, buf, len);
}

/*
 * A closed trail ends with a clean stop: gateway.stop after the last
 * gateway.start, everything signed. require_stop makes any other end a
 * failure (open-end, at the last record): a trail cut after a checkpoint,
 * a run that never stopped, a stop followed by another start. The unsigned
 * tail is reported first when both apply.
 */
static void test_open_end(void **state)
{
    (void)state;
    dg_audit_key *key = NULL;
    assert_int_equal(dg_audit_key_generate(&key), 0);
    struct dg_audit_verify_opts closed = {
        .pubkey = key, .require_signed_tail = true, .require_stop = true};
    struct dg_audit_verify_opts open = {.pubkey = key};
    struct dg_audit_summary s;

    /* seq 1 start, 2-3 events, 4 checkpoint, 5 event, 6 stop, 7 checkpoint. */
    struct trail t;
    memset(&t, 0, sizeof t);
    dg_audit_chain_init(&t.chain);
    add_typed(&t, "gateway.start");
    add_event(&t);
    add_event(&t);
    add_checkpoint(&t, key);
    add_event(&t);
    add_typed(&t, "gateway.stop");
    add_checkpoint(&t, key);
    assert_int_equal(verify(&t, &closed, &verifier, &s), DG_AUDIT_INTACT);
    assert_int_equal(s.stop_seq, 6);
    assert_int_equal(s.unsigned_records, 0);

    /* The last checkpoint gone: the stop is there but unsigned. */
    uint8_t *last = t.rec[6];
    size_t last_len = t.len[6];
    t.n = 6;
    assert_int_equal(verify(&t, &closed, &verifier, &s), DG_AUDIT_UNSIGNED_TAIL);
    assert_int_equal(verifier.finding.seq, 5);
    struct dg_audit_verify_opts stop_only = {.pubkey = key, .require_stop = true};
    assert_int_equal(verify(&t, &stop_only, &verifier, &s), DG_AUDIT_INTACT);
    assert_int_equal(s.stop_seq, 6);

    /* Cut right after the checkpoint at seq 4: all signed, but open. */
    t.n = 4;
    assert_int_equal(verify(&t, &closed, &verifier, &s), DG_AUDIT_OPEN_END);
    assert_int_equal(verifier.finding.seq, 4);
    assert_int_equal(verifier.finding.index, 4);
    assert_string_equal(dg_audit_fault_name(DG_AUDIT_OPEN_END), "open-end");
    assert_non_null(strstr(verifier.finding.what, "no gateway.stop after the last gateway.start"));
    assert_int_equal(verify(&t, &open, &verifier, &s), DG_AUDIT_INTACT);
    assert_int_equal(s.stop_seq, 0);
    assert_int_equal(s.unsigned_records, 0);

    /* Stopped, then started again and signed, but not stopped: open. */
    t.n = 6;
    push(&t, last, last_len);
    add_typed(&t, "gateway.start");
    add_event(&t);
    add_checkpoint(&t, key);
    assert_int_equal(verify(&t, &closed, &verifier, &s), DG_AUDIT_OPEN_END);
    assert_int_equal(verifier.finding.seq, 10);
    assert_int_equal(verifier.finding.index, 10);
    /* ... and stopped again: closed. */
    add_typed(&t, "gateway.stop");
    add_checkpoint(&t, key);
    assert_int_equal(verify(&t, &closed, &verifier, &s), DG_AUDIT_INTACT);
    assert_int_equal(s.stop_seq, 11);
    trail_free(&t);

    /* A trail with no start or stop at all (the standard test trail). */
    build(&t, key);
    assert_int_equal(verify(&t, &closed, &verifier, &s), DG_AUDIT_OPEN_END);
    assert_int_equal(verifier.finding.seq, 13);
    assert_int_equal(verify(&t, &open, &verifier, &s), DG_AUDIT_INTACT);
    trail_free(&t);
    dg_audit_key_free(key);
}

static void test_truncated_start(void **state)
{
    (void)state;
    dg_audit_key *key = NULL;
    assert_int_equal(dg_audit_key_generate(&key), 0);
    struct trail t;
    build(&t, key);
    drop(&t, 0);
    drop(&t, 0);
    drop(&t, 0); /* starts at seq 4 */
    expect_break(&t, key, DG_AUDIT_TRUNCATED_START, 4, 1);
    assert_non_null(strstr(verifier.finding.what, "seq 1..3"));

    struct dg_audit_verify_opts o = {.pubkey = key, .from_seq = 4, .require_signed_tail = true};
    struct dg_audit_summary s;
    assert_int_equal(verify(&t, &o, &verifier, &s), DG_AUDIT_INTACT);
    assert_int_equal(s.first_seq, 4);
    assert_int_equal(s.records, 10);
    assert_int_equal(s.checkpoints, 3);
    o.from_seq = 3;
    assert_int_equal(verify(&t, &o, &verifier, &s), DG_AUDIT_TRUNCATED_START);
    assert_int_equal(verifier.finding.seq, 4);
    /* Following a live topic: any start. */
    o.from_seq = 0;
    o.any_start = true;
    assert_int_equal(verify(&t, &o, &verifier, &s), DG_AUDIT_INTACT);
    trail_free(&t);
    dg_audit_key_free(key);
}

/* Right count and head, signed with another key. */
static void test_checkpoint_other_key(void **state)
{
    (void)state;
    dg_audit_key *key = NULL, *other = NULL;
    assert_int_equal(dg_audit_key_generate(&key), 0);
    assert_int_equal(dg_audit_key_generate(&other), 0);
    struct trail t;
    memset(&t, 0, sizeof t);
    for (int i = 0; i < 4; i++)
        add_event(&t);
    add_checkpoint(&t, key);
    for (int i = 0; i < 4; i++)
        add_event(&t);
    add_checkpoint(&t, other); /* seq 10 */
    add_event(&t);
    expect_break(&t, key, DG_AUDIT_BAD_SIGNATURE, 10, 10);
    assert_non_null(strstr(verifier.finding.what, "does not verify"));
    /* The whole trail checked against the wrong key fails at the first checkpoint. */
    expect_break(&t, other, DG_AUDIT_BAD_SIGNATURE, 5, 5);
    trail_free(&t);
    dg_audit_key_free(key);
    dg_audit_key_free(other);
}

static void test_checkpoint_missing_signature(void **state)
{
    (void)state;
    dg_audit_key *key = NULL;
    assert_int_equal(dg_audit_key_generate(&key), 0);
    struct trail t;
    memset(&t, 0, sizeof t);
    for (int i = 0; i < 4; i++)
        add_event(&t);
    char detail[96];
    assert_int_equal(dg_audit_checkpoint_detail(detail, sizeof detail, t.chain.seq, t.chain.head),
                     0);
    add_raw(&t, DG_AUDIT_CHECKPOINT_EVENT, detail, NULL, 0); /* seq 5 */
    add_event(&t);
    expect_break(&t, key, DG_AUDIT_MISSING_SIGNATURE, 5, 5);
    trail_free(&t);
    dg_audit_key_free(key);
}

/* A checkpoint whose detail disagrees with the chain, signed with the right key. */
static void test_checkpoint_forged_count(void **state)
{
    (void)state;
    dg_audit_key *key = NULL;
    assert_int_equal(dg_audit_key_generate(&key), 0);
    struct trail t;
    memset(&t, 0, sizeof t);
    for (int i = 0; i < 6; i++)
        add_event(&t);
    /* Claims count=4 (as if seq 5 and 6 did not exist), signed over what it claims. */
    uint8_t msg[DG_AUDIT_SIGNED_MAX], sig[64];
    size_t n = 0;
    assert_int_equal(
        dg_audit_checkpoint_message(msg, sizeof msg, &n, GW, strlen(GW), 4, t.chain.head), 0);
    assert_int_equal(dg_audit_sign(key, msg, n, sig), 0);
    char detail[96];
    assert_int_equal(dg_audit_checkpoint_detail(detail, sizeof detail, 4, t.chain.head), 0);
    add_raw(&t, DG_AUDIT_CHECKPOINT_EVENT, detail, sig, sizeof sig); /* seq 7 */
    expect_break(&t, key, DG_AUDIT_FORGED_CHECKPOINT, 7, 7);
    assert_non_null(strstr(verifier.finding.what, "count=4"));
    assert_non_null(strstr(verifier.finding.what, "count=6"));
    trail_free(&t);

    /* The detail is right but the signature covers another count. */
    memset(&t, 0, sizeof t);
    for (int i = 0; i < 6; i++)
        add_event(&t);
    assert_int_equal(dg_audit_checkpoint_detail(detail, sizeof detail, 6, t.chain.head), 0);
    add_raw(&t, DG_AUDIT_CHECKPOINT_EVENT, detail, sig, sizeof sig);
    expect_break(&t, key, DG_AUDIT_BAD_SIGNATURE, 7, 7);
    trail_free(&t);

    /* A signature on an ordinary record. */
    memset(&t, 0, sizeof t);
    add_event(&t);
    add_raw(&t, "alert.raise", "x", sig, sizeof sig);
    expect_break(&t, key, DG_AUDIT_STRAY_SIGNATURE, 2, 2);
    trail_free(&t);
    dg_audit_key_free(key);
}

/*
 * An attacker edits seq 3 and recomputes every hash after it (the hash is
 * unkeyed): each record checks out on its own and links to the one before,
 * but the next checkpoint's signature was over the old head.
 */
static void test_rehashed_edit_caught_at_checkpoint(void **state)
{
    (void)state;
    dg_audit_key *key = NULL;
    assert_int_equal(dg_audit_key_generate(&key), 0);
    struct trail good, bad;
    build(&good, key);
    struct dg_audit_view cp;
    char why[120];
    assert_int_equal(dg_audit_record_parse(good.rec[4], good.len[4], &cp, why, sizeof why), 0);

    memset(&bad, 0, sizeof bad);
    add_event(&bad);
    add_event(&bad);
    struct dg_audit_event ev = {.event_type = "alert.raise",
                                .action = "C",
                                .outcome = DG_OUTCOME_SUCCESS,
                                .participant_kind = DG_PART_GATEWAY,
                                .participant_id = GW,
                                .object_type = "alert",
                                .object_id = "a-1",
                                .detail = "nothing happened"};
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(dg_audit_chain_append(&bad.chain, GW, T0 + 2, &ev, &buf, &len), 0);
    push(&bad, buf, len);
    add_event(&bad);
    /* The old signature, with the detail rewritten to the new head. */
    char detail[96];
    assert_int_equal(
        dg_audit_checkpoint_detail(detail, sizeof detail, bad.chain.seq, bad.chain.head), 0);
    add_raw(&bad, DG_AUDIT_CHECKPOINT_EVENT, detail, cp.signature.p, cp.signature.len);
    expect_break(&bad, key, DG_AUDIT_BAD_SIGNATURE, 5, 5);
    trail_free(&bad);
    trail_free(&good);
    dg_audit_key_free(key);
}

static void test_duplicates_and_restarts(void **state)
{
    (void)state;
    dg_audit_key *key = NULL;
    assert_int_equal(dg_audit_key_generate(&key), 0);
    struct trail t;
    build(&t, key);
    /* seq 6 delivered twice (QoS 1). */
    uint8_t *copy = dg_malloc(t.len[5]);
    assert_non_null(copy);
    memcpy(copy, t.rec[5], t.len[5]);
    memmove(&t.rec[7], &t.rec[6], (t.n - 6) * sizeof t.rec[0]);
    memmove(&t.len[7], &t.len[6], (t.n - 6) * sizeof t.len[0]);
    t.rec[6] = copy;
    t.len[6] = t.len[5];
    t.n++;
    expect_break(&t, key, DG_AUDIT_DUPLICATE, 6, 7);
    struct dg_audit_verify_opts o = {.pubkey = key, .skip_duplicates = true};
    struct dg_audit_summary s;
    assert_int_equal(verify(&t, &o, &verifier, &s), DG_AUDIT_INTACT);
    assert_int_equal(s.duplicates, 1);
    assert_int_equal(s.records, 13);
    trail_free(&t);

    /* Two gateway runs: the chain restarts at seq 1. The first run was
       killed (seq 11, 12 unsigned); the second stopped cleanly. */
    build(&t, key);
    drop(&t, 12);
    struct trail second;
    build_at(&second, key, T0 + 60000); /* the gateway started again a minute later */
    for (size_t i = 0; i < second.n; i++)
        push(&t, second.rec[i], second.len[i]);
    second.n = 0;
    o.skip_duplicates = false;
    dg_audit_verifier_init(&verifier, &o);
    int restarts = 0;
    for (size_t i = 0; i < t.n; i++)
        restarts += dg_audit_verify_record(&verifier, t.rec[i], t.len[i]) == DG_AUDIT_STEP_RESTART;
    assert_int_equal(restarts, 1);
    assert_int_equal(dg_audit_verify_finish(&verifier, &s), DG_AUDIT_INTACT);
    assert_int_equal(s.segments, 2);
    assert_int_equal(s.records, 25);
    assert_int_equal(s.unsigned_records, 2);
    assert_int_equal(s.unsigned_first_seq, 11);
    assert_int_equal(s.unsigned_first_segment, 1);
    assert_int_equal(s.tail_first_seq, 0); /* the last chain ends signed */
    o.require_signed_tail = true;
    assert_int_equal(verify(&t, &o, &verifier, &s), DG_AUDIT_UNSIGNED_TAIL);
    assert_int_equal(verifier.finding.seq, 11);
    assert_int_equal(verifier.finding.index, 11);
    o.require_signed_tail = false;
    o.no_restart = true;
    assert_int_equal(verify(&t, &o, &verifier, &s), DG_AUDIT_RESTART);
    assert_int_equal(verifier.finding.index, 13);
    trail_free(&t);
    dg_audit_key_free(key);
}

/* A followed trail with --require-signed-tail: the unsigned tail is reported
   at its first record's position, redeliveries skipped on the way counting
   as positions (found by fuzz_audit_verify: the position was computed as
   the last record's minus the tail's length, one off per redelivery). */
static void test_unsigned_tail_position_with_redelivery(void **state)
{
    (void)state;
    dg_audit_key *key = NULL;
    assert_int_equal(dg_audit_key_generate(&key), 0);
    struct trail t;
    build(&t, key); /* seq 1-4, 5 checkpoint, 6-9, 10 checkpoint, 11-12, 13 checkpoint */
    drop(&t, 12);   /* seq 11-12 unsigned, at positions 11 and 12 ... */
    uint8_t *again = dg_malloc(t.len[10]);
    assert_non_null(again);
    memcpy(again, t.rec[10], t.len[10]);
    push(&t, again, t.len[10]); /* ... and seq 11 redelivered at position 13 */
    swap(&t, 11, 12);           /* 11, 11 again, 12 */
    struct dg_audit_verify_opts o = {
        .pubkey = key, .skip_duplicates = true, .require_signed_tail = true};
    struct dg_audit_summary s;
    assert_int_equal(verify(&t, &o, &verifier, &s), DG_AUDIT_UNSIGNED_TAIL);
    assert_int_equal(s.duplicates, 1);
    assert_int_equal(s.unsigned_records, 2);
    assert_int_equal(verifier.finding.seq, 11);
    assert_int_equal(verifier.finding.index, 11);
    trail_free(&t);
    dg_audit_key_free(key);
}

static void test_malformed_and_empty(void **state)
{
    (void)state;
    dg_audit_key *key = NULL;
    assert_int_equal(dg_audit_key_generate(&key), 0);
    struct dg_audit_verify_opts o = {.pubkey = key};
    struct dg_audit_summary s;
    dg_audit_verifier_init(&verifier, &o);
    assert_int_equal(dg_audit_verify_finish(&verifier, &s), DG_AUDIT_EMPTY);

    struct trail t;
    build(&t, key);
    t.len[2] = 7; /* cut mid-field */
    expect_break(&t, key, DG_AUDIT_MALFORMED, 0, 3);
    trail_free(&t);

    const uint8_t group[] = {0x0b, 0x0c};             /* field 1, start group */
    const uint8_t twice[] = {0x10, 0x01, 0x10, 0x02}; /* seq twice */
    const uint8_t huge[] = {0x6a, 0xff, 0xff, 0xff, 0xff, 0x0f};
    struct dg_audit_view v;
    char why[120];
    assert_int_equal(dg_audit_record_parse(group, sizeof group, &v, why, sizeof why), -DG_EINVAL);
    assert_int_equal(dg_audit_record_parse(twice, sizeof twice, &v, why, sizeof why), -DG_EINVAL);
    assert_non_null(strstr(why, "twice"));
    assert_int_equal(dg_audit_record_parse(huge, sizeof huge, &v, why, sizeof why), -DG_EINVAL);
    dg_audit_key_free(key);
}

/* ---------------------------------------------------------------- export */

static void test_export_lines(void **state)
{
    (void)state;
    const uint8_t rec[] = {0x08, 0x01, 0x10, 0x2a, 0xff};
    char *line = NULL;
    size_t n = 0;
    assert_int_equal(dg_audit_line_encode(rec, sizeof rec, &line, &n), 0);
    assert_string_equal(line, "CAEQKv8=\n");
    assert_int_equal(n, 9);
    uint8_t *back = NULL;
    size_t blen = 0;
    assert_int_equal(dg_audit_line_decode(line, n - 1, &back, &blen), 0);
    assert_int_equal(blen, sizeof rec);
    assert_memory_equal(back, rec, sizeof rec);
    dg_free(back);
    dg_free(line);

    /* Only canonical base64: length, alphabet, padding, stray bits, spaces. */
    const char *bad[] = {"", "CAEQKv8", "CAEQKv9=", "CAEQ Kv8=", "CAE=Kv8=", "CA*QKv8=", "===="};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        back = NULL;
        if (dg_audit_line_decode(bad[i], strlen(bad[i]), &back, &blen) != -DG_EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_null(back);
    }
}

/* What `dosegate-audit verify FILE` does with each line (dg_audit_verify_line):
   a good line is its record; a cut, oversized or non-base64 line is a
   malformed break at that line. */
static void test_export_verify_lines(void **state)
{
    (void)state;
    dg_audit_key *key = NULL;
    assert_int_equal(dg_audit_key_generate(&key), 0);
    struct trail t;
    build(&t, key);
    struct dg_audit_verify_opts o = {.pubkey = key, .require_signed_tail = true};
    struct dg_audit_summary s;
    enum dg_audit_step step;

    /* The whole trail, line by line: intact, as fed record by record. */
    dg_audit_verifier_init(&verifier, &o);
    for (size_t i = 0; i < t.n; i++) {
        char *line = NULL;
        size_t n = 0;
        assert_int_equal(dg_audit_line_encode(t.rec[i], t.len[i], &line, &n), 0);
        assert_int_equal(dg_audit_verify_line(&verifier, line, n, i + 1, &step), 0);
        assert_true(step == DG_AUDIT_STEP_RECORD || step == DG_AUDIT_STEP_CHECKPOINT);
        dg_free(line);
    }
    assert_int_equal(dg_audit_verify_finish(&verifier, &s), DG_AUDIT_INTACT);
    assert_int_equal(s.records, t.n);
    assert_int_equal(s.checkpoints, 3);

    /* Line 2 bad in each way: the break is there, named as such. */
    static const struct {
        const char *line;
        const char *what;
    } bad[] = {
        {"CAEQKv8=", "line 2 is incomplete (no newline)"},
        {"CAEQ Kv8=\n", "line 2 is not a base64-encoded record"},
        {"\n", "line 2 is not a base64-encoded record"},
        {"CAEQKv8=\n", "not an AuditRecord"}, /* base64 of bytes that are not a record */
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        dg_audit_verifier_init(&verifier, &o);
        char *line = NULL;
        size_t n = 0;
        assert_int_equal(dg_audit_line_encode(t.rec[0], t.len[0], &line, &n), 0);
        assert_int_equal(dg_audit_verify_line(&verifier, line, n, 1, &step), 0);
        dg_free(line);
        assert_int_equal(step, DG_AUDIT_STEP_RECORD);
        assert_int_equal(
            dg_audit_verify_line(&verifier, bad[k].line, strlen(bad[k].line), 2, &step), 0);
        assert_int_equal(step, DG_AUDIT_STEP_BROKEN);
        assert_int_equal(dg_audit_verify_finish(&verifier, &s), DG_AUDIT_MALFORMED);
        assert_int_equal(verifier.finding.index, 2);
        if (!strstr(verifier.finding.what, bad[k].what))
            fail_msg("line \"%s\": \"%s\", want \"%s\"", bad[k].line, verifier.finding.what,
                     bad[k].what);
    }

    /* A line longer than DG_AUDIT_LINE_MAX is refused unread. */
    size_t big = DG_AUDIT_LINE_MAX + 5;
    char *huge = malloc(big);
    assert_non_null(huge);
    memset(huge, 'A', big - 1);
    huge[big - 1] = '\n';
    dg_audit_verifier_init(&verifier, &o);
    assert_int_equal(dg_audit_verify_line(&verifier, huge, big, 1, &step), 0);
    free(huge);
    assert_int_equal(step, DG_AUDIT_STEP_BROKEN);
    assert_non_null(strstr(verifier.finding.what, "line 1 is too long"));

    /* Out of memory decoding the line: nothing is fed. */
    char *line = NULL;
    size_t n = 0;
    assert_int_equal(dg_audit_line_encode(t.rec[0], t.len[0], &line, &n), 0);
    dg_audit_verifier_init(&verifier, &o);
    dg_alloc_fail_after(1);
    assert_int_equal(dg_audit_verify_line(&verifier, line, n, 1, &step), -DG_ENOMEM);
    dg_alloc_fail_after(0);
    assert_int_equal(verifier.index, 0);
    dg_free(line);
    trail_free(&t);
    dg_audit_key_free(key);
}

/* ---------------------------------------------------------------- config */

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static unsigned char buf[64 * 1024];
    *len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

static int parse(struct dg_config *cfg, const char *audit, char *err, size_t errlen)
{
    char text[2048];
    snprintf(text, sizeof text,
             "gateway:\n"
             "  id: gw-1\n"
             "  site: s\n"
             "device_link:\n"
             "  url: ssl://127.0.0.1:8883\n"
             "  ca_file: ca.pem\n"
             "  cert_file: gw.pem\n"
             "  key_file: gw.key\n"
             "drug_library: lib.yaml\n"
             "%s",
             audit);
    size_t liblen = 0;
    const unsigned char *lib = read_file(DG_SOURCE_DIR "/gateway/etc/drug-library.yaml", &liblen);
    return dg_config_parse(cfg, "site.yaml", (const unsigned char *)text, strlen(text), "lib.yaml",
                           lib, liblen, err, errlen);
}

static void test_config_section(void **state)
{
    (void)state;
    static struct dg_config cfg;
    char err[512];
    /* Signed by default: no key is an error unless the file opts out
       (test_config.c has the file and line of every case). */
    assert_int_equal(parse(&cfg, "", err, sizeof err), -DG_ECONFIG);
    assert_non_null(strstr(err, "audit.key_file: required key is missing"));
    assert_int_equal(parse(&cfg, "audit:\n  unsigned: true\n", err, sizeof err), 0);
    assert_string_equal(cfg.audit.key_file, "");
    assert_true(cfg.audit.allow_unsigned);
    assert_int_equal(cfg.audit.checkpoint_every, 100);
    assert_int_equal(cfg.audit.checkpoint_interval_s, 60);
    dg_config_free(&cfg);

    assert_int_equal(parse(&cfg,
                           "audit:\n"
                           "  key_file: audit.key\n"
                           "  checkpoint_every: 5\n"
                           "  checkpoint_interval_s: 86400\n",
                           err, sizeof err),
                     0);
    assert_string_equal(cfg.audit.key_file, "audit.key");
    assert_int_equal(cfg.audit.checkpoint_every, 5);
    assert_int_equal(cfg.audit.checkpoint_interval_s, 86400);
    dg_config_free(&cfg);

    static const struct {
        const char *text, *err;
    } bad[] = {
        {"audit:\n  checkpoint_every: 0\n",
         "site.yaml:11: audit.checkpoint_every: must be between 1 and 100000, got 0"},
        {"audit:\n  checkpoint_every: 100001\n", "site.yaml:11: audit.checkpoint_every:"},
        {"audit:\n  checkpoint_interval_s: 86401\n", "site.yaml:11: audit.checkpoint_interval_s:"},
        {"audit:\n  signing_key: a.key\n", "site.yaml:11: audit.signing_key:"},
        {"audit: yes\n", "site.yaml:10: audit:"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(&cfg, bad[i].text, err, sizeof err);
        if (rc != -DG_ECONFIG || strncmp(err, bad[i].err, strlen(bad[i].err)) != 0)
            fail_msg("%s: rc %d, err \"%s\", want \"%s\"", bad[i].text, rc, err, bad[i].err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chain_links_and_hashes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_signs_documented_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edited_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swapped_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_other_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_missing_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_forged_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rehashed_edit_caught_at_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_and_restarts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsigned_tail_position_with_redelivery, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_malformed_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_verify_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_section, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
